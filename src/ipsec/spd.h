/* Security Policy Database: the crypto map entries (and later tunnel
 * interfaces) in order. A lookup returns the first entry whose selector
 * matches (crypto map sequence order, then ACL line order). The table is
 * replaced as a whole on reconfiguration (RCU), so readers never lock. */
#ifndef ESPRIT_IPSEC_SPD_H
#define ESPRIT_IPSEC_SPD_H

#include "ipsec/ts.h"

enum policy_action { POLICY_PROTECT, POLICY_BYPASS, POLICY_DISCARD };

struct policy {
	uint32_t reqid;     /* binds the policy to its SAs */
	uint32_t priority;  /* lower first: map seq << 16 | ACE index */
	uint8_t action;     /* enum policy_action */
	struct ts sel;      /* local (src) -> remote (dst) */
	uint8_t mode;       /* enum ipsec_mode */
	char name[72];      /* "MAP 10" for logs and show (as struct sa_params) */
};

struct spd;

struct spd *spd_new(void);
void spd_free(struct spd *spd);
/* Replace the whole table (copied, then sorted by priority; equal
 * priorities keep the order given). Readers see old or new, never a mix.
 * Waits for a grace period (synchronize_rcu): never call it inside
 * rcu_read_lock. Returns 0, or -1 (out of memory; the old table stays). */
int spd_replace(struct spd *spd, const struct policy *pols, unsigned n);
/* Under rcu_read_lock; the result is valid until rcu_read_unlock. */
const struct policy *spd_lookup(struct spd *spd, const struct flow *f);
unsigned spd_count(struct spd *spd);
/* Visit the policies in lookup order (for show), under the writer lock:
 * the callback must not call spd_replace. */
typedef void (*spd_visit_fn)(const struct policy *pol, void *arg);
void spd_foreach(struct spd *spd, spd_visit_fn fn, void *arg);

/* Packets with no SA yet: data plane -> key manager ("acquire"). */
typedef void (*spd_acquire_fn)(const struct policy *pol, const struct flow *f, void *arg);

#endif
