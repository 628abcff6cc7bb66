/* The IKEv2 engine (RFC 7296): what the daemon calls.
 *
 * One struct ikev2 holds the connections and every IKE SA. It runs on the
 * daemon's main thread only (no locks). Time is polled: after any call,
 * ikev2_next_timeout() says when ikev2_tick() wants to run next.
 * Everything the engine does to the outside goes through struct ike_env.
 */
#ifndef ESPRIT_IKEV2_IKEV2_H
#define ESPRIT_IKEV2_IKEV2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/ike.h"
#include "ipsec/ts.h"

struct ikev2;

/* env and g are copied. NULL on allocation failure. */
struct ikev2 *ikev2_new(const struct ike_env *env, const struct ike_global *g);
/* Deletes every Child SA it installed (env.sa_delete), sends nothing. */
void ikev2_free(struct ikev2 *e);

/* Add (copy) a connection; its name must be new. Allowed at any time,
 * also while SAs are up. 0 or -1. */
int ikev2_conn_add(struct ikev2 *e, const struct ike_conn *c);
/* Delete only its SAs (an established IKE SA gets an INFORMATIONAL
 * DELETE, its Child SAs are removed at once; no conn_event is raised)
 * and forget the connection; the name can be added again at once. */
int ikev2_conn_del(struct ikev2 *e, const char *name);

/* Start IKE_SA_INIT for a connection (no-op if an IKE SA for it is being
 * set up or is up). 0 or -1. */
int ikev2_initiate(struct ikev2 *e, const char *conn);

/* One received IKE datagram (non-ESP marker already stripped). src/sport
 * are the peer's as seen on the socket, dst/dport ours. */
void ikev2_input(struct ikev2 *e, const uint8_t *buf, size_t len, const struct ip_addr *src,
		 uint16_t sport, const struct ip_addr *dst, uint16_t dport);

/* Absolute env.now_ms() time of the next timer; UINT64_MAX if none. */
uint64_t ikev2_next_timeout(const struct ikev2 *e);
/* Run every timer that is due (retransmissions, DPD, lifetimes). */
void ikev2_tick(struct ikev2 *e);

/* Data plane -> IKE (ARCHITECTURE "acquire"/"expire"). */
int ikev2_acquire(struct ikev2 *e, uint32_t reqid, const struct flow *f);
void ikev2_expire(struct ikev2 *e, uint32_t spi, uint8_t proto, bool hard);
/* Traffic on a policy since the last call (for on-demand DPD, RFC 7296
 * 2.4: liveness is checked only when traffic goes out and nothing
 * comes back). */
void ikev2_traffic(struct ikev2 *e, uint32_t reqid, bool inbound);

/* Operator actions. */
/* Every IKE SA of conn (with peer, if not NULL): an established one with a
 * DELETE to the peer (its Child SAs go with it), one being set up at once.
 * How many, or -1 if conn is unknown. */
int ikev2_ike_delete(struct ikev2 *e, const char *conn, const struct ip_addr *peer);
int ikev2_child_rekey(struct ikev2 *e, uint32_t spi_in);
int ikev2_child_delete(struct ikev2 *e, uint32_t spi_in);
/* Rekey the connection's IKE SA (RFC 7296 2.18; also run by the engine
 * at ike_lifetime_s minus 10-20% jitter). -1 if it has no IKE SA up. */
int ikev2_ike_rekey(struct ikev2 *e, const char *conn);

/* Message trace (debug crypto ikev2): off, every peer (peer NULL), or one
 * peer. Lines are logged at info level, so a peer filter works without
 * turning on the daemon's debug logging. */
void ikev2_set_trace(struct ikev2 *e, bool on, const struct ip_addr *peer);

/* Read-only view of SAs for show commands and tests. */
struct ikev2_sa_info {
	const char *conn;
	bool initiator, established;
	uint8_t spi_i[8], spi_r[8];
	struct ip_addr local, remote;
	uint16_t lport, rport;
	bool nat; /* NAT detected: port 4500 in use */
	uint16_t encr, encr_bits, integ, prf, dh;
	unsigned n_child;
	struct ike_id local_id;  /* the ID we send (configured, or our address) */
	struct ike_id remote_id; /* the peer's authenticated ID; type 0 = not yet */
};
struct ikev2_child_info {
	const char *conn;
	uint8_t proto;
	uint32_t spi_in, spi_out;
	uint16_t cpi_in, cpi_out;
	uint16_t encr, encr_bits, integ;
	bool esn;
	uint8_t mode;
	struct ts_list sel;
};
typedef void (*ikev2_sa_visit_fn)(const struct ikev2_sa_info *i, void *arg);
typedef void (*ikev2_child_visit_fn)(const struct ikev2_child_info *i, void *arg);
void ikev2_foreach_sa(const struct ikev2 *e, ikev2_sa_visit_fn fn, void *arg);
void ikev2_foreach_child(const struct ikev2 *e, ikev2_child_visit_fn fn, void *arg);
unsigned ikev2_sa_count(const struct ikev2 *e);
unsigned ikev2_half_open(const struct ikev2 *e);

/* Counters of dropped messages, by reason. */
enum ikev2_drop {
	V2_DROP_PARSE,        /* codec refused it */
	V2_DROP_NO_SA,        /* unknown SPI */
	V2_DROP_MSGID,        /* outside the window */
	V2_DROP_DECRYPT,      /* ICV / padding */
	V2_DROP_UNEXPECTED,   /* payloads or state do not fit */
	V2_DROP_COOKIE,       /* missing or wrong cookie */
	V2_DROP__COUNT
};
uint64_t ikev2_drops(const struct ikev2 *e, enum ikev2_drop d);
const char *ikev2_drop_name(enum ikev2_drop d);

/* Engine-wide figures for show crypto ikev2 stats. */
struct ikev2_stats {
	unsigned sas, established, half_open;
	unsigned cookie_threshold; /* 0 = cookies off */
	uint64_t cookies_sent;
	uint64_t drops[V2_DROP__COUNT];
};
void ikev2_get_stats(const struct ikev2 *e, struct ikev2_stats *st);

#endif
