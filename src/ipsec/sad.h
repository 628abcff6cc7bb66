/* Security Association Database. Readers (data-plane workers) are
 * lock-free under liburcu (rcu_read_lock held by the caller, and each
 * worker thread registered with rcu_register_thread); writers (the main
 * thread) serialise on an internal mutex and free with call_rcu. */
#ifndef ESPRIT_IPSEC_SAD_H
#define ESPRIT_IPSEC_SAD_H

#include "ipsec/sa.h"

struct sad;

struct sad *sad_new(unsigned nworkers);
void sad_free(struct sad *sad); /* deletes every SA, wipes keys */

/* Copy params (and keys) into a new SA and publish it. Returns 0, or -1
 * with a log line saying why (bad algorithm/key size, duplicate SPI). */
int sad_install(struct sad *sad, const struct sa_params *p);
/* Unlinks every SA (either direction) with this SPI and protocol whose
 * outer destination is dst (dst NULL or af 0: any); freed after a grace
 * period (call_rcu). Returns 0 if one was found, -1 if none. */
int sad_delete(struct sad *sad, uint32_t spi, uint8_t proto, const struct ip_addr *dst);
void sad_flush(struct sad *sad);

/* Make-before-break after a rekey (RFC 7296 2.8), what strongSwan does
 * with delete_rekeyed_delay and its deferred outbound SA:
 * - the old inbound SA stays SAD_RETIRE_DELAY_S after its DELETE, so
 *   that packets the peer sent on it before switching are still read:
 *   sad_retire marks every SA with this SPI/protocol/destination to be
 *   deleted by sad_tick at now_mono_s + delay (0 or -1 if none);
 * - a responder installs its new outbound SA with p.standby: the old one
 *   goes on carrying traffic until the initiator's DELETE of it (then
 *   sad_activate) -- the initiator cannot read the new SA before it has
 *   processed the answer. A standby SA is used anyway when no other
 *   usable SA of its reqid is left. */
#define SAD_RETIRE_DELAY_S 5
int sad_retire(struct sad *sad, uint32_t spi, uint8_t proto, const struct ip_addr *dst,
	       uint64_t now_mono_s);
int sad_activate(struct sad *sad, uint32_t spi, uint8_t proto, const struct ip_addr *dst);
/* The peer's NAT mapping moved (RFC 7296 2.23, RFC 3948): change the UDP
 * encapsulation ports of an SA in place, keeping its sequence numbers,
 * replay window and counters. Readers see the old or the new port.
 * Returns 0, or -1 if no SA has that SPI. */
int sad_set_encap_ports(struct sad *sad, uint32_t spi, uint8_t proto, uint16_t sport,
			uint16_t dport);
/* Remove the SAs of one origin (enum sa_origin), only the inbound ones
 * if in_only. Returns how many. */
unsigned sad_flush_origin(struct sad *sad, uint8_t origin, bool in_only);

/* The path MTU to the peer of the outbound SA installed with p (its
 * reqid, SPI, protocol and peer), known before its first packet (asked
 * when it is installed): set unless the SA has one already (a rekeyed SA
 * inherits its predecessor's, and the data plane may have learned one
 * since). Valid until until_s (now_coarse_s). Returns 0 if set, 1 if the
 * SA had one, -1 if no such outbound SA is installed. */
int sad_seed_path_mtu(struct sad *sad, const struct sa_params *p, uint32_t mtu, uint64_t until_s);

/* Is an inbound SA with this SPI (CPI for IPSEC_PROTO_COMP) installed, in
 * any state (also retiring)? For SPI allocation; takes the writer lock. */
bool sad_spi_in_use(struct sad *sad, uint32_t spi, uint8_t proto);

/* Hot path, under rcu_read_lock: O(1) hash lookups. */
struct sa *sad_lookup_in(struct sad *sad, uint32_t spi, uint8_t proto);
/* Outbound SA of a policy for one protocol (ESP, AH or COMP): the newest
 * one installed that is not hard-expired (after a rekey, the new SA), not
 * standby unless only standby ones are left (then the oldest). */
struct sa *sad_lookup_out(struct sad *sad, uint32_t reqid, uint8_t proto);
/* The same among the SAs whose selectors hold the flow f (outbound
 * orientation), f NULL: any. A policy may have several child SAs, each
 * narrowed by the peer to a part of it (RFC 7296 2.9); a flow outside all
 * of them has no SA yet. */
struct sa *sad_lookup_out_flow(struct sad *sad, uint32_t reqid, uint8_t proto,
			       const struct flow *f);

/* Visit every SA (for show). The callback runs with the SAD's writer lock
 * held (so no SA can be freed meanwhile and the caller needs no RCU
 * registration): it must not install or delete SAs. */
typedef void (*sad_visit_fn)(struct sa *sa, void *arg);
void sad_foreach(struct sad *sad, sad_visit_fn fn, void *arg);
/* Zero every SA's counters (clear crypto sa counters). */
void sad_clear_counters(struct sad *sad);
unsigned sad_count(struct sad *sad);

/* Lifetime events, data plane -> key manager (ARCHITECTURE "expire"). */
enum expire_kind { EXPIRE_SOFT, EXPIRE_HARD };
typedef void (*sad_expire_fn)(const struct sa *sa, enum expire_kind kind, void *arg);
void sad_set_expire_cb(struct sad *sad, sad_expire_fn fn, void *arg);
/* Count one packet of `bytes` against the SA's lifetime (packets and
 * bytes); fires soft and hard expire once each (from the calling worker:
 * the callback must not call sad_delete/sad_install itself, it is inside
 * rcu_read_lock; queue the work to the main thread). The packet that
 * reaches a hard limit exactly still passes; returns false (drop) once the
 * limit is exceeded or the SA is already hard-expired. */
bool sad_account(struct sad *sad, struct sa *sa, uint64_t bytes);
/* Time lifetimes (soft_seconds/hard_seconds since install_time, which is
 * now_ns() / 1e9): call about once a second from a thread registered with
 * RCU (the main thread). Fires the same callbacks, under rcu_read_lock;
 * there the callback may call sad_delete/sad_install. */
void sad_tick(struct sad *sad, uint64_t now_mono_s);

#endif
