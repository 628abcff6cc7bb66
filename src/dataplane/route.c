/* Policy routing for the TUN device (libnl-route; no ip(8)).
 *
 * The scheme (also summarised in dp.h):
 *
 *   main table:              PREFIX dev ipsec0      one per dp_route_add
 *
 * as long as no protected prefix covers a peer and the main table has no
 * route of its own for a prefix; from the moment one of those happens
 * (route_set_use_rule, logged, one way):
 *
 *   table T (default 220):   PREFIX dev ipsec0      one per dp_route_add
 *   rule  (pref P = 220):    not fwmark M lookup T  IPv4 and IPv6
 *
 * A clear packet to a protected prefix, from this host or forwarded, has no
 * mark: the route (main, or T through the rule) sends it into the TUN, to a
 * worker. The packets the workers emit (ESP, AH, ESP-in-UDP) and the IKE
 * packets leave sockets with SO_MARK = M: with the rule in, they skip T and
 * the main table routes them to the peer, even if a protected prefix
 * covers the peer's address; without it no prefix covers a peer, so the
 * main table routes them there as well. Decapsulated packets written to
 * the TUN are unmarked; their destinations are local prefixes, not
 * protected ones, so they are routed by main (or delivered).
 *
 * The rule is built with libnl and its header patched with FIB_RULE_INVERT
 * ("not"), which libnl 3.7 has no setter for. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

#include "dataplane/internal.h"

struct nl_sock *route_nl_open(void)
{
	struct nl_sock *nl = nl_socket_alloc();
	int err;

	if (!nl) {
		log_err("route: nl_socket_alloc failed");
		return NULL;
	}
	err = nl_connect(nl, NETLINK_ROUTE);
	if (err < 0) {
		log_err("route: netlink connect: %s", nl_geterror(err));
		nl_socket_free(nl);
		return NULL;
	}
	return nl;
}

int route_links_tx_dropped(const int *ifindex, unsigned n, uint64_t *sum)
{
	struct nl_sock *nl = route_nl_open();

	*sum = 0;
	if (!nl)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		struct rtnl_link *link = NULL;

		if (ifindex[i] <= 0 || rtnl_link_get_kernel(nl, ifindex[i], NULL, &link) < 0)
			continue;
		*sum += rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED);
		rtnl_link_put(link);
	}
	nl_socket_free(nl);
	return 0;
}

/* ---- the "not fwmark" rule --------------------------------------------- */

static int rule_send(struct dp_route_set *rs, int af, bool add)
{
	struct rtnl_rule *r = rtnl_rule_alloc();
	struct nl_msg *msg = NULL;
	struct fib_rule_hdr *frh;
	int err = -NLE_NOMEM;

	if (!r)
		return err;
	rtnl_rule_set_family(r, af);
	rtnl_rule_set_prio(r, rs->pref);
	rtnl_rule_set_mark(r, rs->fwmark);
	rtnl_rule_set_mask(r, 0xffffffff);
	rtnl_rule_set_table(r, rs->table);
	rtnl_rule_set_action(r, FR_ACT_TO_TBL);
	if (add)
		err = rtnl_rule_build_add_request(r, NLM_F_CREATE | NLM_F_EXCL, &msg);
	else
		err = rtnl_rule_build_delete_request(r, 0, &msg);
	if (err < 0)
		goto out;
	frh = nlmsg_data(nlmsg_hdr(msg));
	frh->flags |= FIB_RULE_INVERT;
	err = nl_send_auto_complete(rs->nl, msg);
	if (err >= 0)
		err = nl_wait_for_ack(rs->nl);
out:
	nlmsg_free(msg);
	rtnl_rule_put(r);
	return err;
}

static const char *af_name(int af)
{
	return af == AF_INET ? "ipv4" : "ipv6";
}

/* Remove what a previous instance (crashed) may have left, then add. */
static int rule_install(struct dp_route_set *rs, int af)
{
	int err;

	for (int i = 0; i < 8 && rule_send(rs, af, false) >= 0; i++)
		;
	err = rule_send(rs, af, true);
	if (err < 0) {
		log_err("route: %s rule not fwmark 0x%x lookup %u pref %u: %s", af_name(af),
			rs->fwmark, rs->table, rs->pref, nl_geterror(err));
		return -1;
	}
	log_info("route: %s rule pref %u: not fwmark 0x%x lookup %u", af_name(af), rs->pref,
		 rs->fwmark, rs->table);
	return 0;
}

static void rule_remove(struct dp_route_set *rs, int af)
{
	int err = rule_send(rs, af, false);

	if (err < 0)
		log_warn("route: remove %s rule pref %u: %s", af_name(af), rs->pref,
			 nl_geterror(err));
}

/* ---- routes in table T ------------------------------------------------- */

static struct rtnl_route *route_build(uint32_t table, int ifindex, const struct ip_prefix *dst,
				      const struct ip_addr *src)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *a = nl_addr_build(dst->addr.af, dst->addr.b, ip_addr_len(&dst->addr));

	if (!r || !nh || !a)
		goto fail;
	nl_addr_set_prefixlen(a, dst->len);
	rtnl_route_set_family(r, dst->addr.af);
	rtnl_route_set_table(r, table);
	if (rtnl_route_set_dst(r, a) < 0)
		goto fail;
	nl_addr_put(a);
	a = NULL;
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_set_protocol(r, RTPROT_STATIC);
	if (dst->addr.af == AF_INET)
		rtnl_route_set_scope(r, RT_SCOPE_LINK);
	if (src && src->af == dst->addr.af) {
		struct nl_addr *s = nl_addr_build(src->af, src->b, ip_addr_len(src));
		if (!s)
			goto fail;
		rtnl_route_set_pref_src(r, s);
		nl_addr_put(s);
	}
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(r, nh);
	return r;
fail:
	nl_addr_put(a);
	rtnl_route_nh_free(nh);
	rtnl_route_put(r);
	return NULL;
}

/* Adds or deletes PREFIX dev TUN in table (the main table or T). In the
 * main table an add is exclusive: a route of the operator's for the same
 * prefix is never replaced (-NLE_EXIST; the caller moves to table T). */
static int route_send(struct dp_route_set *rs, uint32_t table, const struct ip_prefix *dst,
		      const struct ip_addr *src, bool add)
{
	struct rtnl_route *r = route_build(table, rs->ifindex, dst, add ? src : NULL);
	int flags = NLM_F_CREATE | (table == RT_TABLE_MAIN ? NLM_F_EXCL : NLM_F_REPLACE);
	char buf[IP_ADDR_STRLEN + 4];
	int err;

	if (!r)
		return -NLE_NOMEM;
	if (add)
		err = rtnl_route_add(rs->nl, r, flags);
	else
		err = rtnl_route_delete(rs->nl, r, 0);
	rtnl_route_put(r);
	if (err < 0 && !(add && err == -NLE_EXIST && table == RT_TABLE_MAIN))
		log_err("route: %s %s table %u: %s", add ? "add" : "del",
			ip_prefix_str(dst, buf), table, nl_geterror(err));
	else if (err >= 0)
		log_info("route: %s %s dev ifindex %d table %u", add ? "added" : "deleted",
			 ip_prefix_str(dst, buf), rs->ifindex, table);
	return err;
}

static uint32_t route_table_now(const struct dp_route_set *rs)
{
	return rs->ruled ? rs->table : RT_TABLE_MAIN;
}

/* Add with the preferred source; without it if the kernel refuses it (not
 * a local address). */
static int route_add_in(struct dp_route_set *rs, uint32_t table, const struct dp_route *r)
{
	char b[IP_ADDR_STRLEN];
	int err = route_send(rs, table, &r->dst, &r->src, true);

	if (err >= 0 || err == -NLE_EXIST || !r->src.af)
		return err;
	err = route_send(rs, table, &r->dst, NULL, true);
	if (err >= 0)
		log_warn("route: preferred source %s is not a local address; route added "
			 "without it", ip_addr_str(&r->src, b));
	return err;
}

static int route_find(const struct dp_route_set *rs, const struct ip_prefix *dst)
{
	for (unsigned i = 0; i < rs->n; i++)
		if (rs->routes[i].dst.len == dst->len && ip_addr_eq(&rs->routes[i].dst.addr, &dst->addr))
			return (int)i;
	return -1;
}

static bool prefix_ok(const struct ip_prefix *p)
{
	return (p->addr.af == AF_INET && p->len <= 32) || (p->addr.af == AF_INET6 && p->len <= 128);
}

/* ---- main table or table T behind the rule ----------------------------
 *
 * The rule costs every routing lookup of the host: with a rule of its own
 * in place the kernel walks the rules for each lookup and validates every
 * received packet's source with a full reverse lookup (fib_validate_source:
 * fib4_has_custom_rules), where without one it looks in the main table
 * straight away. On the bench (two gateways forwarding one TCP stream)
 * that was a quarter of the throughput. So the prefixes go into the main
 * table, and the rule is put in only where it is needed: when a protected
 * prefix covers an address esprit's own packets go to (a peer: its ESP and
 * IKE packets would be routed into the TUN; transport mode always does
 * this), or when the main table already has a route for that prefix
 * (ours would replace the operator's). Then every route moves to table T
 * behind the rule, and stays there until the daemon stops. */

/* The move itself, rs->lock held. */
static int use_rule_locked(struct dp_route_set *rs, const char *why)
{
	int ret = 0;

	if (rs->ruled)
		return 0;
	/* Table T first (unused until the rule is in), then the rules, then
	 * out of the main table: no moment without a route. */
	for (unsigned i = 0; i < rs->n; i++)
		if (route_add_in(rs, rs->table, &rs->routes[i]) < 0)
			ret = -1;
	if (rule_install(rs, AF_INET) < 0) {
		for (unsigned i = 0; i < rs->n; i++)
			route_send(rs, rs->table, &rs->routes[i].dst, NULL, false);
		return -1;
	}
	rs->rule4 = true;
	/* IPv6 may be disabled: then only IPv4 prefixes can be protected. */
	rs->rule6 = rule_install(rs, AF_INET6) == 0;
	for (unsigned i = 0; i < rs->n; i++)
		route_send(rs, RT_TABLE_MAIN, &rs->routes[i].dst, NULL, false);
	rs->ruled = true;
	snprintf(rs->why, sizeof(rs->why), "%s", why);
	log_notice("route: protected prefixes moved to table %u behind the rule \"not fwmark "
		   "0x%x\" (%s): it keeps esprit's own packets out of the tunnel, and every "
		   "routing lookup of this host now goes through the rules", rs->table,
		   rs->fwmark, why);
	return ret;
}

int route_set_use_rule(struct dp_route_set *rs, const char *why)
{
	int ret;

	pthread_mutex_lock(&rs->lock);
	ret = use_rule_locked(rs, why);
	pthread_mutex_unlock(&rs->lock);
	return ret;
}

bool route_set_ruled(struct dp_route_set *rs, char *why, size_t whylen)
{
	bool r;

	pthread_mutex_lock(&rs->lock);
	r = rs->ruled;
	if (why && whylen)
		snprintf(why, whylen, "%s", r ? rs->why : "");
	pthread_mutex_unlock(&rs->lock);
	return r;
}

/* The first route that covers addr, or -1. */
static int route_covering(const struct dp_route_set *rs, const struct ip_addr *addr)
{
	for (unsigned i = 0; i < rs->n; i++)
		if (ip_prefix_contains(&rs->routes[i].dst, addr))
			return (int)i;
	return -1;
}

/* The first peer dst covers, or -1. */
static int outer_covered(const struct dp_route_set *rs, const struct ip_prefix *dst)
{
	for (unsigned i = 0; i < rs->nouter; i++)
		if (ip_prefix_contains(dst, &rs->outer[i]))
			return (int)i;
	return -1;
}

#define ROUTE_OUTER_MAX 4096 /* peers remembered; more: the rule, unconditionally */

int route_set_outer(struct dp_route_set *rs, const struct ip_addr *addr, const char *what)
{
	char why[sizeof(rs->why)], a[IP_ADDR_STRLEN], p[IP_ADDR_STRLEN + 4];
	bool known = false;
	int k, ret = 0;

	if (!addr->af)
		return 0;
	pthread_mutex_lock(&rs->lock);
	if (rs->ruled)
		goto out;
	for (unsigned i = 0; i < rs->nouter && !known; i++)
		known = ip_addr_eq(&rs->outer[i], addr);
	if (!known && rs->nouter == rs->capouter && rs->capouter < ROUTE_OUTER_MAX) {
		unsigned cap = rs->capouter ? rs->capouter * 2 : 16;
		struct ip_addr *n = realloc(rs->outer, cap * sizeof(*n));
		if (n) {
			rs->outer = n;
			rs->capouter = cap;
		}
	}
	if (!known && rs->nouter == rs->capouter) {
		ret = use_rule_locked(rs, "too many peers to check against the prefixes");
		goto out;
	}
	if (!known)
		rs->outer[rs->nouter++] = *addr;
	k = route_covering(rs, addr);
	if (k >= 0) {
		snprintf(why, sizeof(why), "%s %s is inside protected prefix %s", what,
			 ip_addr_str(addr, a), ip_prefix_str(&rs->routes[k].dst, p));
		ret = use_rule_locked(rs, why);
	}
out:
	pthread_mutex_unlock(&rs->lock);
	return ret;
}

int route_set_add(struct dp_route_set *rs, const struct ip_prefix *dst, const struct ip_addr *src)
{
	struct dp_route r = {.dst = *dst};
	char why[sizeof(rs->why)], a[IP_ADDR_STRLEN], p[IP_ADDR_STRLEN + 4];
	int ret = -1, k, err;

	if (!prefix_ok(dst))
		return -1;
	if (src)
		r.src = *src;
	pthread_mutex_lock(&rs->lock);
	if (rs->n == rs->cap) {
		unsigned cap = rs->cap ? rs->cap * 2 : 16;
		struct dp_route *n = realloc(rs->routes, cap * sizeof(*n));
		if (!n)
			goto out;
		rs->routes = n;
		rs->cap = cap;
	}
	if (!rs->ruled && (k = outer_covered(rs, dst)) >= 0) {
		snprintf(why, sizeof(why), "protected prefix %s covers peer %s",
			 ip_prefix_str(dst, p), ip_addr_str(&rs->outer[k], a));
		if (use_rule_locked(rs, why) < 0)
			goto out;
	}
	err = route_add_in(rs, route_table_now(rs), &r);
	if (err == -NLE_EXIST && !rs->ruled) {
		snprintf(why, sizeof(why), "the main table already routes %s", ip_prefix_str(dst, p));
		if (use_rule_locked(rs, why) < 0)
			goto out;
		err = route_add_in(rs, route_table_now(rs), &r);
	}
	if (err < 0)
		goto out;
	k = route_find(rs, dst);
	if (k < 0)
		rs->routes[rs->n++] = r;
	else
		rs->routes[k] = r;
	ret = 0;
out:
	pthread_mutex_unlock(&rs->lock);
	return ret;
}

int route_set_del(struct dp_route_set *rs, const struct ip_prefix *dst)
{
	int i, err;

	if (!prefix_ok(dst))
		return -1;
	pthread_mutex_lock(&rs->lock);
	err = route_send(rs, route_table_now(rs), dst, NULL, false);
	i = route_find(rs, dst);
	if (i >= 0)
		rs->routes[i] = rs->routes[--rs->n];
	pthread_mutex_unlock(&rs->lock);
	/* Already gone (the device went down with it) counts as deleted. */
	return err < 0 && err != -NLE_OBJ_NOTFOUND ? -1 : 0;
}

void route_set_flush(struct dp_route_set *rs)
{
	pthread_mutex_lock(&rs->lock);
	for (unsigned i = 0; i < rs->n; i++)
		route_send(rs, route_table_now(rs), &rs->routes[i].dst, NULL, false);
	rs->n = 0;
	pthread_mutex_unlock(&rs->lock);
}

int route_set_dev(struct dp_route_set *rs, int ifindex, const struct ip_prefix *dst, bool add)
{
	struct rtnl_route *r;
	char buf[IP_ADDR_STRLEN + 4];
	int err;

	if (!prefix_ok(dst))
		return -1;
	r = route_build(RT_TABLE_MAIN, ifindex, dst, NULL);
	if (!r)
		return -1;
	pthread_mutex_lock(&rs->lock);
	if (add)
		err = rtnl_route_add(rs->nl, r, NLM_F_CREATE | NLM_F_REPLACE);
	else
		err = rtnl_route_delete(rs->nl, r, 0);
	pthread_mutex_unlock(&rs->lock);
	rtnl_route_put(r);
	if (!add && err == -NLE_OBJ_NOTFOUND)
		err = 0; /* gone with its device */
	if (err < 0)
		log_err("route: %s %s dev ifindex %d: %s", add ? "add" : "del",
			ip_prefix_str(dst, buf), ifindex, nl_geterror(err));
	else
		log_info("route: %s %s dev ifindex %d (main table)", add ? "added" : "deleted",
			 ip_prefix_str(dst, buf), ifindex);
	return err < 0 ? -1 : 0;
}

int route_set_init(struct dp_route_set *rs, int ifindex, uint32_t table, uint32_t pref,
		   uint32_t fwmark)
{
	memset(rs, 0, sizeof(*rs));
	pthread_mutex_init(&rs->lock, NULL);
	rs->ifindex = ifindex;
	rs->table = table;
	rs->pref = pref;
	rs->fwmark = fwmark;
	rs->nl = route_nl_open();
	if (!rs->nl) {
		route_set_destroy(rs);
		return -1;
	}
	/* What a previous instance (crashed) may have left. */
	for (int af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0)
		for (int i = 0; i < 8 && rule_send(rs, af, false) >= 0; i++)
			;
	return 0;
}

void route_set_destroy(struct dp_route_set *rs)
{
	if (rs->nl) {
		route_set_flush(rs);
		if (rs->rule4)
			rule_remove(rs, AF_INET);
		if (rs->rule6)
			rule_remove(rs, AF_INET6);
		nl_socket_free(rs->nl);
	}
	free(rs->routes);
	free(rs->outer);
	pthread_mutex_destroy(&rs->lock);
	memset(rs, 0, sizeof(*rs));
}

/* ---- sysctls ----------------------------------------------------------- */

static int sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		log_warn("route: open %s: %s", path, strerror(errno));
		return -1;
	}
	n = write(fd, val, strlen(val));
	close(fd);
	if (n < 0) {
		log_warn("route: write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void route_sysctl_setup(const char *tun_name)
{
	char path[128];

	/* A gateway forwards between the LAN and the TUN device. */
	if (sysctl_write("/proc/sys/net/ipv4/ip_forward", "1") == 0)
		log_notice("route: net.ipv4.ip_forward = 1");
	if (sysctl_write("/proc/sys/net/ipv6/conf/all/forwarding", "1") == 0)
		log_notice("route: net.ipv6.conf.all.forwarding = 1");
	/* Decapsulated packets arrive on the TUN with remote sources. The
	 * reverse path through table T already points at the TUN, but a
	 * strict rp_filter must not depend on the fwmark rule. The effective
	 * value is max(all, dev): conf/all is left to the administrator. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", tun_name);
	if (sysctl_write(path, "0") == 0)
		log_info("route: net.ipv4.conf.%s.rp_filter = 0", tun_name);
}
