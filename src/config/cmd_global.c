/* Global commands, interfaces, routes and the opaque blocks: apply and
 * write functions. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config/cmds.h"
#include "dataplane/dp.h"
#include "lib/cpulist.h"

#define DEF_REPLAY 64
#define DEF_LIFE_S 3600
#define DEF_LIFE_KB 4608000

int cmd_incomplete(struct pctx *p, const struct cmd_match *m)
{
	p->err_tok = (int)m->n; /* past the end */
	snprintf(p->err_msg, sizeof(p->err_msg), "incomplete command");
	return -1;
}

CMD_FN(cmd_hostname)
{
	snprintf(p->cfg->hostname, sizeof(p->cfg->hostname), "%.63s",
		 neg || !have(m, 2) ? "" : m->t[1].text);
	return 0;
}

WR_FN(wr_hostname)
{
	(void)obj;
	if (c->hostname[0])
		sbuf_printf(b, "hostname %s\n", c->hostname);
}

CMD_FN(cmd_esprit)
{
	if (!have(m, 2))
		return cmd_incomplete(p, m);
	if (mtok_is(m, 1, "tunnel-interface"))
		snprintf(p->cfg->tun_ifname, sizeof(p->cfg->tun_ifname), "%.63s",
			 neg || !have(m, 3) ? "ipsec0" : m->t[2].text);
	else
		snprintf(p->cfg->control_socket, sizeof(p->cfg->control_socket), "%s",
			 neg || !have(m, 3) ? "/run/esprit/espritd.sock" : m->t[2].text);
	return 0;
}

WR_FN(wr_esprit)
{
	(void)obj;
	if (strcmp(c->tun_ifname, "ipsec0") != 0)
		sbuf_printf(b, "esprit tunnel-interface %s\n", c->tun_ifname);
	if (strcmp(c->control_socket, "/run/esprit/espritd.sock") != 0)
		sbuf_printf(b, "esprit control-socket %s\n", c->control_socket);
}

CMD_FN(cmd_workers)
{
	p->cfg->workers = neg ? 0 : (unsigned)tok_u64(m, 3);
	return 0;
}

WR_FN(wr_workers)
{
	(void)obj;
	if (c->workers)
		sbuf_printf(b, "crypto engine workers %u\n", c->workers);
}

/* [no] crypto engine queue-length N */
CMD_FN(cmd_queue_len)
{
	p->cfg->queue_len = neg || !have(m, 4) ? 0 : (uint32_t)tok_u64(m, 3);
	return 0;
}

WR_FN(wr_queue_len)
{
	(void)obj;
	if (c->queue_len)
		sbuf_printf(b, "crypto engine queue-length %u\n", c->queue_len);
}

/* [no] crypto engine cpus LIST */
CMD_FN(cmd_cpus)
{
	if (neg || !have(m, 4)) {
		memset(p->cfg->cpus, 0, sizeof(p->cfg->cpus));
		return 0;
	}
	if (!cpulist_parse(m->t[3].text, p->cfg->cpus)) {
		p->err_tok = 3;
		snprintf(p->err_msg, sizeof(p->err_msg),
			 "expected a CPU list: numbers 0..%d and ranges joined by commas (0-3,6)",
			 CPULIST_MAX - 1);
		return -1;
	}
	return 0;
}

WR_FN(wr_cpus)
{
	char s[CPULIST_STRLEN];

	(void)obj;
	if (cpulist_str(c->cpus, s, sizeof(s))[0])
		sbuf_printf(b, "crypto engine cpus %s\n", s);
}

const char *const cfg_offload_names[CFG_OFFLOAD_N] = {"multiqueue", "tso", "udp-gso",
							"udp-gro", "tun-gro", "batch-crypto",
							"uso", "ipsec-mb"};

/* [no] crypto engine offload {multiqueue|tso|udp-gso|udp-gro|tun-gro|batch-crypto|uso|ipsec-mb} */
CMD_FN(cmd_offload)
{
	for (unsigned i = 0; i < CFG_OFFLOAD_N; i++)
		if (mtok_is(m, 3, cfg_offload_names[i])) {
			if (neg)
				p->cfg->offload_off |= 1u << i;
			else
				p->cfg->offload_off &= ~(1u << i);
		}
	return 0;
}

WR_FN(wr_offload)
{
	(void)obj;
	for (unsigned i = 0; i < CFG_OFFLOAD_N; i++)
		if (c->offload_off & (1u << i))
			sbuf_printf(b, "no crypto engine offload %s\n", cfg_offload_names[i]);
}

/* [no] crypto engine offload xdp-tx: off unless configured (it takes
 * native ESP/AH past netfilter, the qdisc and packet captures on the
 * sending side: docs/dataplane.md). */
CMD_FN(cmd_offload_xdp_tx)
{
	(void)m;
	p->cfg->xdp_tx = !neg;
	return 0;
}

WR_FN(wr_offload_xdp_tx)
{
	(void)obj;
	if (c->xdp_tx)
		sbuf_printf(b, "crypto engine offload xdp-tx\n");
}

/* crypto ipsec security-association replay window-size N | replay disable
 * | lifetime seconds N | lifetime kilobytes N */
CMD_FN(cmd_ipsec_sa)
{
	struct config *c = p->cfg;

	if (!have(m, 5))
		return cmd_incomplete(p, m);
	if (mtok_is(m, 3, "replay")) {
		c->replay_disabled = !neg && mtok_is(m, 4, "disable");
		if (neg || !have(m, 6))
			c->replay_window = DEF_REPLAY;
		else if (mtok_is(m, 4, "window-size"))
			c->replay_window = (uint32_t)tok_u64(m, 5);
	} else if (mtok_is(m, 4, "seconds")) {
		c->sa_lifetime_s = neg || !have(m, 6) ? DEF_LIFE_S : tok_u64(m, 5);
	} else {
		c->sa_lifetime_kb = neg || !have(m, 6) ? DEF_LIFE_KB : tok_u64(m, 5);
	}
	return 0;
}

WR_FN(wr_ipsec_sa)
{
	(void)obj;
	if (c->replay_disabled)
		sbuf_printf(b, "crypto ipsec security-association replay disable\n");
	else if (c->replay_window != DEF_REPLAY)
		sbuf_printf(b, "crypto ipsec security-association replay window-size %u\n",
			    c->replay_window);
	if (c->sa_lifetime_s != DEF_LIFE_S)
		sbuf_printf(b, "crypto ipsec security-association lifetime seconds %lu\n",
			    (unsigned long)c->sa_lifetime_s);
	if (c->sa_lifetime_kb != DEF_LIFE_KB)
		sbuf_printf(b, "crypto ipsec security-association lifetime kilobytes %lu\n",
			    (unsigned long)c->sa_lifetime_kb);
}

CMD_FN(cmd_nat_t)
{
	(void)m;
	p->cfg->udp_encap = !neg;
	return 0;
}

WR_FN(wr_nat_t)
{
	(void)obj;
	if (c->udp_encap)
		sbuf_printf(b, "crypto ipsec nat-transparency udp-encapsulation\n");
}

/* crypto ipsec df-bit {clear|set|copy}: the outer IPv4 header's DF bit
 * (IOS's global form; copy is the default, as on IOS). */
CMD_FN(cmd_df_bit)
{
	if (!neg && !have(m, 4))
		return cmd_incomplete(p, m);
	p->cfg->df_bit = neg               ? DP_DF_COPY
			 : mtok_is(m, 3, "clear") ? DP_DF_CLEAR
			 : mtok_is(m, 3, "set")   ? DP_DF_SET
						  : DP_DF_COPY;
	return 0;
}

WR_FN(wr_df_bit)
{
	(void)obj;
	if (c->df_bit != DP_DF_COPY)
		sbuf_printf(b, "crypto ipsec df-bit %s\n", dp_df_bit_name((enum dp_df_bit)c->df_bit));
}

/* crypto ipsec fragmentation {before-encryption|after-encryption}
 * (before is the default, as on IOS). */
CMD_FN(cmd_frag)
{
	p->cfg->frag_after = !neg && mtok_is(m, 3, "after-encryption");
	return 0;
}

WR_FN(wr_frag)
{
	(void)obj;
	if (c->frag_after)
		sbuf_printf(b, "crypto ipsec fragmentation after-encryption\n");
}

CMD_FN(cmd_exit)
{
	(void)m;
	(void)neg;
	p->mode = MODE_GLOBAL;
	return 0;
}

/* ---- interface NAME ------------------------------------------------ */

CMD_FN(cmd_interface)
{
	struct config *c = p->cfg;
	struct cfg_interface *ifc;

	if (!have(m, 2))
		return cmd_incomplete(p, m);
	ifc = cfg_if_get(c, m->t[1].text, false);
	if (neg) {
		if (ifc)
			memmove(ifc, ifc + 1, (size_t)(c->ifs + c->nifs - ifc - 1) * sizeof(*ifc)),
				c->nifs--;
		return 0;
	}
	if (!ifc) {
		ifc = cfg_if_get(c, m->t[1].text, true);
		if (!ifc)
			return pctx_err(p, 0, "out of memory");
		ifc->line = p->line;
	}
	p->mode = MODE_IF;
	snprintf(p->name, sizeof(p->name), "%.63s", ifc->name);
	return 0;
}

WR_FN(wr_interface)
{
	(void)obj;
	for (unsigned i = 0; i < c->nifs; i++) {
		sbuf_printf(b, "interface %s\n", c->ifs[i].name);
		write_submode(b, c, MODE_IF, &c->ifs[i]);
		sbuf_printf(b, "!\n");
	}
}

#define IF_OR_FAIL(ifc)                                                                            \
	struct cfg_interface *ifc = cfg_if_get(p->cfg, p->name, false);                            \
	if (!ifc)                                                                                  \
		return pctx_err(p, 0, "no current interface")

/* ip address A M: the host bits are the interface's address, kept. */
CMD_FN(cmd_if_addr)
{
	uint8_t len;

	IF_OR_FAIL(ifc);
	memset(&ifc->addr, 0, sizeof(ifc->addr));
	if (neg)
		return 0;
	if (!ip_mask_to_len(m->t[3].text, false, &len))
		return pctx_err(p, 3, "expected a contiguous network mask");
	ip_addr_parse(m->t[2].text, &ifc->addr.addr);
	ifc->addr.len = len;
	return 0;
}

WR_FN(wr_if_addr)
{
	const struct cfg_interface *ifc = obj;
	char a[IP_ADDR_STRLEN], mask[IP_ADDR_STRLEN];

	(void)c;
	if (ifc->addr.addr.af != AF_INET)
		return;
	ip_len_to_mask(ifc->addr.len, false, mask);
	sbuf_printf(b, " ip address %s %s\n", ip_addr_str(&ifc->addr.addr, a), mask);
}

/* "2001:db8::1/64" keeping the host bits (ip_prefix_parse clears them). */
static bool addr_len_parse(const char *s, struct ip_prefix *out)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : 0;

	if (!slash || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	out->len = (uint8_t)strtoul(slash + 1, NULL, 10);
	return ip_addr_parse(buf, &out->addr);
}

CMD_FN(cmd_if_addr6)
{
	IF_OR_FAIL(ifc);
	memset(&ifc->addr6, 0, sizeof(ifc->addr6));
	if (!neg)
		addr_len_parse(m->t[2].text, &ifc->addr6);
	return 0;
}

WR_FN(wr_if_addr6)
{
	const struct cfg_interface *ifc = obj;
	char a[IP_ADDR_STRLEN];

	(void)c;
	if (ifc->addr6.addr.af)
		sbuf_printf(b, " ipv6 address %s/%u\n", ip_addr_str(&ifc->addr6.addr, a),
			    ifc->addr6.len);
}

CMD_FN(cmd_if_map)
{
	IF_OR_FAIL(ifc);
	snprintf(ifc->crypto_map, sizeof(ifc->crypto_map), "%.63s", neg ? "" : m->t[2].text);
	return 0;
}

WR_FN(wr_if_map)
{
	const struct cfg_interface *ifc = obj;

	(void)c;
	if (ifc->crypto_map[0])
		sbuf_printf(b, " crypto map %s\n", ifc->crypto_map);
}

CMD_FN(cmd_tun_src)
{
	IF_OR_FAIL(ifc);
	memset(&ifc->tun_src, 0, sizeof(ifc->tun_src));
	if (!neg)
		ip_addr_parse(m->t[2].text, &ifc->tun_src);
	return 0;
}

WR_FN(wr_tun_src)
{
	const struct cfg_interface *ifc = obj;
	char a[IP_ADDR_STRLEN];

	(void)c;
	if (ifc->tun_src.af)
		sbuf_printf(b, " tunnel source %s\n", ip_addr_str(&ifc->tun_src, a));
}

CMD_FN(cmd_tun_dst)
{
	IF_OR_FAIL(ifc);
	memset(&ifc->tun_dst, 0, sizeof(ifc->tun_dst));
	if (!neg)
		ip_addr_parse(m->t[2].text, &ifc->tun_dst);
	return 0;
}

WR_FN(wr_tun_dst)
{
	const struct cfg_interface *ifc = obj;
	char a[IP_ADDR_STRLEN];

	(void)c;
	if (ifc->tun_dst.af)
		sbuf_printf(b, " tunnel destination %s\n", ip_addr_str(&ifc->tun_dst, a));
}

CMD_FN(cmd_tun_mode)
{
	IF_OR_FAIL(ifc);
	ifc->tun_dual = !neg && have(m, 4) && mtok_is(m, 3, "dual-overlay");
	ifc->tun_mode_af = 0;
	if (!neg && have(m, 4) && !ifc->tun_dual)
		ifc->tun_mode_af = mtok_is(m, 3, "ipv6") ? AF_INET6 : AF_INET;
	return 0;
}

WR_FN(wr_tun_mode)
{
	const struct cfg_interface *ifc = obj;

	(void)c;
	if (ifc->tun_dual)
		sbuf_printf(b, " tunnel mode ipsec dual-overlay\n");
	else if (ifc->tun_mode_af)
		sbuf_printf(b, " tunnel mode ipsec %s\n",
			    ifc->tun_mode_af == AF_INET6 ? "ipv6" : "ipv4");
}

CMD_FN(cmd_tun_prot)
{
	IF_OR_FAIL(ifc);
	snprintf(ifc->tun_protection, sizeof(ifc->tun_protection), "%.63s",
		 neg || !have(m, 5) ? "" : m->t[4].text);
	ifc->tun_prot_line = neg ? 0 : p->line;
	return 0;
}

WR_FN(wr_tun_prot)
{
	const struct cfg_interface *ifc = obj;

	(void)c;
	if (ifc->tun_protection[0])
		sbuf_printf(b, " tunnel protection ipsec profile %s\n", ifc->tun_protection);
}

CMD_FN(cmd_shutdown)
{
	IF_OR_FAIL(ifc);
	(void)m;
	ifc->shutdown = !neg;
	return 0;
}

WR_FN(wr_shutdown)
{
	const struct cfg_interface *ifc = obj;

	(void)c;
	if (ifc->shutdown)
		sbuf_printf(b, " shutdown\n");
}

/* ---- ip route / ipv6 route ----------------------------------------- */

static bool route_eq(const struct cfg_route *a, const struct cfg_route *b, bool any_target)
{
	if (a->dst.len != b->dst.len || !ip_addr_eq(&a->dst.addr, &b->dst.addr))
		return false;
	return any_target ||
	       (strcmp(a->ifname, b->ifname) == 0 && ip_addr_eq(&a->nexthop, &b->nexthop));
}

static int route_apply(struct pctx *p, struct cfg_route *r, bool neg, bool any_target)
{
	struct config *c = p->cfg;
	struct cfg_route *nr;
	unsigned k = 0;

	if (neg) {
		for (unsigned i = 0; i < c->nroutes; i++)
			if (!route_eq(&c->routes[i], r, any_target))
				c->routes[k++] = c->routes[i];
		c->nroutes = k;
		return 0;
	}
	for (unsigned i = 0; i < c->nroutes; i++)
		if (route_eq(&c->routes[i], r, false))
			return 0;
	nr = realloc(c->routes, (c->nroutes + 1) * sizeof(*nr));
	if (!nr)
		return pctx_err(p, 0, "out of memory");
	c->routes = nr;
	c->routes[c->nroutes++] = *r;
	return 0;
}

static void route_target(struct cfg_route *r, const struct mtok *t)
{
	if (t->type == TT_IPV4 || t->type == TT_IPV6)
		ip_addr_parse(t->text, &r->nexthop);
	else
		snprintf(r->ifname, sizeof(r->ifname), "%.63s", t->text);
}

CMD_FN(cmd_route)
{
	struct cfg_route r;
	struct ip_addr a;
	uint8_t len;

	memset(&r, 0, sizeof(r));
	if (!have(m, 4))
		return cmd_incomplete(p, m);
	if (!ip_mask_to_len(m->t[3].text, false, &len))
		return pctx_err(p, 3, "expected a contiguous network mask");
	ip_addr_parse(m->t[2].text, &a);
	ip_prefix_set(&r.dst, &a, len);
	if (have(m, 5))
		route_target(&r, &m->t[4]);
	return route_apply(p, &r, neg, !have(m, 5));
}

CMD_FN(cmd_route6)
{
	struct cfg_route r;

	memset(&r, 0, sizeof(r));
	if (!have(m, 3))
		return cmd_incomplete(p, m);
	ip_prefix_parse(m->t[2].text, &r.dst);
	if (have(m, 4))
		route_target(&r, &m->t[3]);
	return route_apply(p, &r, neg, !have(m, 4));
}

static void write_routes(struct sbuf *b, const struct config *c, int af)
{
	char a[IP_ADDR_STRLEN], t[IP_ADDR_STRLEN];

	for (unsigned i = 0; i < c->nroutes; i++) {
		const struct cfg_route *r = &c->routes[i];
		const char *target = r->nexthop.af ? ip_addr_str(&r->nexthop, t) : r->ifname;

		if (r->dst.addr.af != af)
			continue;
		if (af == AF_INET6) {
			sbuf_printf(b, "ipv6 route %s/%u %s\n", ip_addr_str(&r->dst.addr, a),
				    r->dst.len, target);
		} else {
			char mask[IP_ADDR_STRLEN];

			ip_len_to_mask(r->dst.len, false, mask);
			sbuf_printf(b, "ip route %s %s %s\n", ip_addr_str(&r->dst.addr, a), mask,
				    target);
		}
	}
}

WR_FN(wr_route)
{
	(void)obj;
	write_routes(b, c, AF_INET);
}

WR_FN(wr_route6)
{
	(void)obj;
	write_routes(b, c, AF_INET6);
}

/* ---- opaque blocks (crypto isakmp, keyring, ikev2, pki, ipsec profile)
 * Kept verbatim until their issues model them: header line at column 0,
 * sub-mode lines indented by one space. */

static void join_tokens(const struct cmd_match *m, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < m->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "",
					m->t[i].kw ? m->t[i].kw : m->t[i].text);
}

static int opaque_find(const struct config *c, const char *hdr)
{
	for (unsigned i = 0; i < c->nopaque; i++)
		if (c->opaque[i][0] != ' ' && strcmp(c->opaque[i], hdr) == 0)
			return (int)i;
	return -1;
}

CMD_FN(cmd_opaque)
{
	char hdr[1024];
	int idx;

	join_tokens(m, neg ? hdr + 3 : hdr, sizeof(hdr) - 3);
	idx = opaque_find(p->cfg, neg ? hdr + 3 : hdr);
	if (neg) {
		if (idx >= 0) {
			cfg_opaque_remove_block(p->cfg, (unsigned)idx);
			return 0;
		}
		memcpy(hdr, "no ", 3); /* kept as written: "no crypto isakmp ..." */
		idx = opaque_find(p->cfg, hdr);
	}
	if (idx < 0)
		idx = cfg_opaque_add(p->cfg, hdr, -1);
	if (idx < 0)
		return pctx_err(p, 0, "out of memory");
	p->mode = neg ? MODE_GLOBAL : MODE_OPAQUE;
	p->opaque_idx = idx;
	return 0;
}

WR_FN(wr_opaque)
{
	(void)obj;
	for (unsigned i = 0; i < c->nopaque; i++) {
		if (c->opaque[i][0] != ' ')
			sbuf_printf(b, "!\n");
		sbuf_printf(b, "%s\n", c->opaque[i]);
	}
}
