/* Configuration -> IKE connections: one struct ike_conn per applied
 * `crypto map NAME SEQ ipsec-isakmp` entry, built from the entry, its
 * IKEv2 profile and keyring, the IKEv2 policy for the local address and
 * the transform set; and one per protected tunnel interface (`interface
 * TunnelN` with `tunnel protection ipsec profile P`), named after it, with
 * selectors any <-> any and the reqid of its VTI (reconcile_vti_reqid).
 * The IKE engine copies what it is given. */
#ifndef ESPRIT_CONFIG_IKECONN_H
#define ESPRIT_CONFIG_IKECONN_H

#include <stddef.h>

#include "config/model.h"
#include "ike/ike.h"

struct ike_conn_list {
	struct ike_conn *conns; /* owned; PSKs owned (ike_conn_clear) */
	unsigned n;
};

/* Returns 0, or -1 with a message naming the crypto map entry and what
 * is missing (no profile, no key for the peer...). */
int config_ike_conns(const struct config *c, struct ike_conn_list *out, char *err,
		     size_t errlen);
void ike_conn_list_free(struct ike_conn_list *l);
void config_ike_global(const struct config *c, struct ike_global *g);

#endif
