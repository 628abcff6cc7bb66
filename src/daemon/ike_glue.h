/* espritd <-> IKE engine: sockets, timers, and the events that cross from
 * data-plane worker threads to the main thread (acquire, expire, IKE
 * messages on the NAT-T port). */
#ifndef ESPRIT_DAEMON_IKE_GLUE_H
#define ESPRIT_DAEMON_IKE_GLUE_H

#include <stddef.h>

struct daemon;
struct config;
struct ike_glue;
struct flow;
struct policy;

/* Opens UDP 500 (IPv4 and IPv6, marked so it bypasses the protected
 * routes) and creates the engine. NULL with a log line on failure. */
struct ike_glue *ike_glue_new(struct daemon *dd);
void ike_glue_free(struct ike_glue *g);
/* After the data plane started: take IKE messages from its NAT-T socket. */
void ike_glue_attach_dp(struct ike_glue *g);
/* Make the engine's connections match the configuration. 0 or -1 (err). */
int ike_glue_sync(struct ike_glue *g, const struct config *c, char *err, size_t errlen);
struct ikev2 *ike_glue_engine(struct ike_glue *g);

/* Data-plane callbacks (worker threads): queued to the main thread. */
void ike_glue_on_acquire(const struct policy *pol, const struct flow *f, void *arg);

#endif
