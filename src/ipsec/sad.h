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
int sad_delete(struct sad *sad, uint32_t spi, uint8_t proto, const struct ip_addr *dst);
void sad_flush(struct sad *sad);

/* Hot path, under rcu_read_lock: O(1) hash lookups. */
struct sa *sad_lookup_in(struct sad *sad, uint32_t spi, uint8_t proto);
/* Outbound SA of a policy for one protocol (ESP, AH or COMP). */
struct sa *sad_lookup_out(struct sad *sad, uint32_t reqid, uint8_t proto);

/* Visit every SA (for show); the callback runs under rcu_read_lock. */
typedef void (*sad_visit_fn)(struct sa *sa, void *arg);
void sad_foreach(struct sad *sad, sad_visit_fn fn, void *arg);
/* Zero every SA's counters (clear crypto sa counters). */
void sad_clear_counters(struct sad *sad);
unsigned sad_count(struct sad *sad);

/* Lifetime events, data plane -> key manager (ARCHITECTURE "expire"). */
enum expire_kind { EXPIRE_SOFT, EXPIRE_HARD };
typedef void (*sad_expire_fn)(const struct sa *sa, enum expire_kind kind, void *arg);
void sad_set_expire_cb(struct sad *sad, sad_expire_fn fn, void *arg);
/* Count bytes against the SA's lifetime; fires soft/hard expire once each.
 * Returns false if the SA is hard-expired (drop). Called by workers. */
bool sad_account(struct sad *sad, struct sa *sa, uint64_t bytes);

#endif
