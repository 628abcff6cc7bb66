/* Policy routing for the TUN device (libnl-route; no ip(8)).
 *
 * The scheme (also summarised in dp.h):
 *
 *   table T (default 220):   PREFIX dev ipsec0      one per dp_route_add
 *   rule  (pref P = 220):    not fwmark M lookup T  IPv4 and IPv6
 *
 * A clear packet to a protected prefix, from this host or forwarded, has no
 * mark: the rule sends it through table T, into the TUN, to a worker. What
 * table T does not match falls through to the following rules (main). The
 * packets the workers emit (ESP, AH, ESP-in-UDP) leave sockets with
 * SO_MARK = M: the rule does not apply, the main table routes them to the
 * peer, even if a protected prefix covers the peer's address. Decapsulated
 * packets written to the TUN are unmarked; their destinations are local
 * prefixes, not in table T, so they are routed by main (or delivered).
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

static int route_send(struct dp_route_set *rs, const struct ip_prefix *dst,
		      const struct ip_addr *src, bool add)
{
	struct rtnl_route *r = route_build(rs->table, rs->ifindex, dst, add ? src : NULL);
	char buf[IP_ADDR_STRLEN + 4];
	int err;

	if (!r)
		return -NLE_NOMEM;
	if (add)
		err = rtnl_route_add(rs->nl, r, NLM_F_CREATE | NLM_F_REPLACE);
	else
		err = rtnl_route_delete(rs->nl, r, 0);
	rtnl_route_put(r);
	if (err < 0)
		log_err("route: %s %s table %u: %s", add ? "add" : "del",
			ip_prefix_str(dst, buf), rs->table, nl_geterror(err));
	else
		log_info("route: %s %s dev ifindex %d table %u", add ? "added" : "deleted",
			 ip_prefix_str(dst, buf), rs->ifindex, rs->table);
	return err;
}

static int route_find(const struct dp_route_set *rs, const struct ip_prefix *dst)
{
	for (unsigned i = 0; i < rs->n; i++)
		if (rs->routes[i].len == dst->len && ip_addr_eq(&rs->routes[i].addr, &dst->addr))
			return (int)i;
	return -1;
}

static bool prefix_ok(const struct ip_prefix *p)
{
	return (p->addr.af == AF_INET && p->len <= 32) || (p->addr.af == AF_INET6 && p->len <= 128);
}

int route_set_add(struct dp_route_set *rs, const struct ip_prefix *dst, const struct ip_addr *src)
{
	int ret = -1;

	if (!prefix_ok(dst))
		return -1;
	pthread_mutex_lock(&rs->lock);
	if (rs->n == rs->cap) {
		unsigned cap = rs->cap ? rs->cap * 2 : 16;
		struct ip_prefix *n = realloc(rs->routes, cap * sizeof(*n));
		if (!n)
			goto out;
		rs->routes = n;
		rs->cap = cap;
	}
	if (route_send(rs, dst, src, true) < 0) {
		char b[IP_ADDR_STRLEN];
		if (!src || !src->af || route_send(rs, dst, NULL, true) < 0)
			goto out;
		log_warn("route: preferred source %s is not a local address; route added "
			 "without it", ip_addr_str(src, b));
	}
	if (route_find(rs, dst) < 0)
		rs->routes[rs->n++] = *dst;
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
	err = route_send(rs, dst, NULL, false);
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
		route_send(rs, &rs->routes[i], NULL, false);
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
	if (!rs->nl || rule_install(rs, AF_INET) < 0)
		goto fail;
	rs->rule4 = true;
	/* IPv6 may be disabled: then only IPv4 prefixes can be protected. */
	rs->rule6 = rule_install(rs, AF_INET6) == 0;
	return 0;
fail:
	route_set_destroy(rs);
	return -1;
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
