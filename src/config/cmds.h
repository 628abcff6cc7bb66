/* Internal to src/config: the apply (cmd_*) and write (wr_*) functions
 * named by the command table in grammar.c. */
#ifndef ESPRIT_CONFIG_CMDS_H
#define ESPRIT_CONFIG_CMDS_H

#include "config/grammar.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t tok_u64(const struct cmd_match *m, unsigned i)
{
	return i < m->n ? strtoull(m->t[i].text, NULL, 10) : 0;
}

/* The `no` form may stop early: the apply functions check they have what
 * they need with this. */
static inline bool have(const struct cmd_match *m, unsigned n)
{
	return m->n >= n;
}

int cmd_incomplete(struct pctx *p, const struct cmd_match *m);

/* set transform-set T1 [T2 ..]: the names from token `first` on (the `no`
 * form empties the list); a name given twice is an error. */
int ts_list_apply(struct pctx *p, const struct cmd_match *m, unsigned first, bool neg,
		  struct cfg_ts_list *l);
void ts_list_write(struct sbuf *b, const struct cfg_ts_list *l);

#define CMD_FN(name) int name(struct pctx *p, const struct cmd_match *m, bool neg)
#define WR_FN(name) void name(struct sbuf *b, const struct config *c, const void *obj)

CMD_FN(cmd_ace);
CMD_FN(cmd_ace6);
CMD_FN(cmd_acl);
CMD_FN(cmd_acl6);
CMD_FN(cmd_acl_numbered);
CMD_FN(cmd_esprit);
CMD_FN(cmd_exit);
CMD_FN(cmd_hostname);
CMD_FN(cmd_if_addr);
CMD_FN(cmd_if_addr6);
CMD_FN(cmd_if_map);
CMD_FN(cmd_ikev2_profile);
CMD_FN(cmd_interface);
CMD_FN(cmd_ipsec_sa);
CMD_FN(cmd_map);
CMD_FN(cmd_map_local);
CMD_FN(cmd_map_sa);
CMD_FN(cmd_match_address);
CMD_FN(cmd_nat_t);
CMD_FN(cmd_df_bit);
CMD_FN(cmd_frag);
CMD_FN(cmd_opaque);
CMD_FN(cmd_pfs);
CMD_FN(cmd_route);
CMD_FN(cmd_route6);
CMD_FN(cmd_session_key);
CMD_FN(cmd_set_peer);
CMD_FN(cmd_set_ts);
CMD_FN(cmd_shutdown);
CMD_FN(cmd_trans_mode);
CMD_FN(cmd_transform_set);
CMD_FN(cmd_tun_dst);
CMD_FN(cmd_tun_mode);
CMD_FN(cmd_tun_prot);
CMD_FN(cmd_tun_src);
CMD_FN(cmd_workers);
CMD_FN(cmd_queue_len);
CMD_FN(cmd_cpus);
CMD_FN(cmd_offload);
CMD_FN(cmd_offload_xdp_tx);

WR_FN(wr_ace);
WR_FN(wr_acl);
WR_FN(wr_acl6);
WR_FN(wr_acl_numbered);
WR_FN(wr_esprit);
WR_FN(wr_hostname);
WR_FN(wr_if_addr);
WR_FN(wr_if_addr6);
WR_FN(wr_if_map);
WR_FN(wr_ikev2_profile);
WR_FN(wr_interface);
WR_FN(wr_ipsec_sa);
WR_FN(wr_map);
WR_FN(wr_map_local);
WR_FN(wr_map_sa);
WR_FN(wr_match_address);
WR_FN(wr_nat_t);
WR_FN(wr_df_bit);
WR_FN(wr_frag);
WR_FN(wr_opaque);
WR_FN(wr_pfs);
WR_FN(wr_route);
WR_FN(wr_route6);
WR_FN(wr_session_key);
WR_FN(wr_set_peer);
WR_FN(wr_set_ts);
WR_FN(wr_shutdown);
WR_FN(wr_trans_mode);
WR_FN(wr_transform_set);
WR_FN(wr_tun_dst);
WR_FN(wr_tun_mode);
WR_FN(wr_tun_prot);
WR_FN(wr_tun_src);
WR_FN(wr_workers);
WR_FN(wr_queue_len);
WR_FN(wr_cpus);
WR_FN(wr_offload);
WR_FN(wr_offload_xdp_tx);

/* cmd_ikev2.c */
CMD_FN(cmd_master_key);
CMD_FN(cmd_password_encryption);
CMD_FN(cmd_ikev2_defaults);
CMD_FN(cmd_ikev2_proposal);
CMD_FN(cmd_ikev2_policy);
CMD_FN(cmd_ikev2_keyring);
CMD_FN(cmd_ikev2_profile_def);
CMD_FN(cmd_ikev2_cookie);
CMD_FN(cmd_ikev2_dpd);
CMD_FN(cmd_ikev2_nat);
CMD_FN(cmd_ikev2_frag);
CMD_FN(cmd_ikev2_limit);
CMD_FN(cmd_ipsec_profile);
CMD_FN(cmd_prop_encr);
CMD_FN(cmd_prop_integ);
CMD_FN(cmd_prop_prf);
CMD_FN(cmd_prop_group);
CMD_FN(cmd_pol_proposal);
CMD_FN(cmd_pol_local);
CMD_FN(cmd_pol_fvrf);
CMD_FN(cmd_kr_peer);
CMD_FN(cmd_peer_addr);
CMD_FN(cmd_peer_id);
CMD_FN(cmd_peer_psk);
CMD_FN(cmd_prof_match_id);
CMD_FN(cmd_prof_match_cert);
CMD_FN(cmd_prof_local);
CMD_FN(cmd_prof_id);
CMD_FN(cmd_prof_auth);
CMD_FN(cmd_prof_keyring);
CMD_FN(cmd_prof_pki);
CMD_FN(cmd_prof_dpd);
CMD_FN(cmd_prof_lifetime);
CMD_FN(cmd_prof_nat);
CMD_FN(cmd_prof_frag);
CMD_FN(cmd_ipp_ts);
CMD_FN(cmd_ipp_ikev2);
CMD_FN(cmd_ipp_isakmp);
CMD_FN(cmd_ipp_pfs);
CMD_FN(cmd_ipp_sa);
WR_FN(wr_master_key);
WR_FN(wr_password_encryption);
WR_FN(wr_ikev2_defaults);
WR_FN(wr_ikev2_proposal);
WR_FN(wr_ikev2_policy);
WR_FN(wr_ikev2_keyring);
WR_FN(wr_ikev2_profile_def);
WR_FN(wr_ikev2_cookie);
WR_FN(wr_ikev2_dpd);
WR_FN(wr_ikev2_nat);
WR_FN(wr_ikev2_frag);
WR_FN(wr_ikev2_limit);
WR_FN(wr_ipsec_profile);
WR_FN(wr_prop_encr);
WR_FN(wr_prop_integ);
WR_FN(wr_prop_prf);
WR_FN(wr_prop_group);
WR_FN(wr_pol_proposal);
WR_FN(wr_pol_local);
WR_FN(wr_pol_fvrf);
WR_FN(wr_kr_peer);
WR_FN(wr_peer_addr);
WR_FN(wr_peer_id);
WR_FN(wr_peer_psk);
WR_FN(wr_prof_match_id);
WR_FN(wr_prof_match_cert);
WR_FN(wr_prof_local);
WR_FN(wr_prof_id);
WR_FN(wr_prof_auth);
WR_FN(wr_prof_keyring);
WR_FN(wr_prof_pki);
WR_FN(wr_prof_dpd);
WR_FN(wr_prof_lifetime);
WR_FN(wr_prof_nat);
WR_FN(wr_prof_frag);
WR_FN(wr_ipp_ts);
WR_FN(wr_ipp_ikev2);
WR_FN(wr_ipp_isakmp);
WR_FN(wr_ipp_pfs);
WR_FN(wr_ipp_sa);

#endif
