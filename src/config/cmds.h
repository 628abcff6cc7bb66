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

#endif
