/* The TUN device: clear packets in (to protect) and out (decapsulated).
 *
 * Opened IFF_TUN | IFF_NO_PI (bare IP packets, no 4-byte packet info). The
 * device is not persistent: it disappears when the last queue fd closes,
 * so a crashed daemon leaves nothing behind. MTU and link state are set
 * over rtnetlink (libnl-route), not by running ip(8).
 *
 * Performance: IFF_MULTI_QUEUE with one queue per worker (the device is
 * opened once per queue with the same name; the kernel steers each flow to
 * one queue), and IFF_VNET_HDR with TUNSETOFFLOAD so that the kernel hands
 * us TCP superpackets (TSO) and partial checksums instead of cutting and
 * summing every packet itself: gso.c does that work, once, in the worker. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <netlink/route/link/inet6.h>

#include "dataplane/internal.h"

static int tun_queue_open(const char *name, short flags, char *actual)
{
	struct ifreq ifr;
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		log_err("tun: open /dev/net/tun: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		log_err("tun: TUNSETIFF %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(actual, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

/* One RTM_NEWLINK change built by fill(). */
static int link_change(struct nl_sock *nl, struct rtnl_link *link,
		       void (*fill)(struct rtnl_link *, uint32_t), uint32_t arg)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int err;

	if (!change)
		return -NLE_NOMEM;
	fill(change, arg);
	err = rtnl_link_change(nl, link, change, 0);
	rtnl_link_put(change);
	return err;
}

static void fill_mtu(struct rtnl_link *c, uint32_t mtu)
{
	rtnl_link_set_mtu(c, mtu);
}

/* No IPv6 link-local address: the kernel then sends no router
 * solicitations into the TUN (MLD reports still come: worker.c ignores
 * link-scope multicast); routing IPv6 into the device and receiving
 * from it still work. Must precede IFF_UP, which generates the address. */
static void fill_no_ll(struct rtnl_link *c, uint32_t unused)
{
	(void)unused;
	rtnl_link_inet6_set_addr_gen_mode(c, IN6_ADDR_GEN_MODE_NONE);
}

static void fill_up(struct rtnl_link *c, uint32_t unused)
{
	(void)unused;
	rtnl_link_set_flags(c, IFF_UP);
}

static int link_configure(const char *name, uint32_t mtu)
{
	struct nl_sock *nl = route_nl_open();
	struct rtnl_link *link = NULL;
	int ret = -1, err;

	if (!nl)
		return -1;
	err = rtnl_link_get_kernel(nl, 0, name, &link);
	if (err < 0) {
		log_err("tun: get link %s: %s", name, nl_geterror(err));
		goto out;
	}
	err = link_change(nl, link, fill_mtu, mtu);
	if (err < 0) {
		log_err("tun: set %s mtu %u: %s", name, mtu, nl_geterror(err));
		goto out;
	}
	err = link_change(nl, link, fill_no_ll, 0);
	if (err < 0) /* IPv6 disabled: nothing to suppress */
		log_debug("tun: %s addr_gen_mode none: %s", name, nl_geterror(err));
	err = link_change(nl, link, fill_up, 0);
	if (err < 0) {
		log_err("tun: set %s up: %s", name, nl_geterror(err));
		goto out;
	}
	ret = 0;
out:
	rtnl_link_put(link);
	nl_socket_free(nl);
	return ret;
}

static void fill_qlen(struct rtnl_link *c, uint32_t qlen)
{
	rtnl_link_set_txqlen(c, qlen);
}

/* The device's txqueuelen is the length of each queue's ring (the kernel
 * resizes live rings when it changes: tun_queue_resize). */
int tun_set_qlen(const struct tun *t, uint32_t qlen)
{
	struct nl_sock *nl = route_nl_open();
	struct rtnl_link *link = NULL;
	int err;

	if (!nl)
		return -1;
	err = rtnl_link_get_kernel(nl, t->ifindex, NULL, &link);
	if (err >= 0)
		err = link_change(nl, link, fill_qlen, qlen);
	if (err < 0)
		log_err("tun: set %s queue length %u: %s", t->name, qlen, nl_geterror(err));
	rtnl_link_put(link);
	nl_socket_free(nl);
	return err < 0 ? -1 : 0;
}

/* UDP segmentation offload for TUN (Linux 6.2); Debian 12's headers
 * predate it. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/* TUN_F_CSUM: we accept partial checksums; TSO4/6 (+ECN): TCP
 * superpackets; USO4/6: UDP superpackets (GSO_UDP_L4). Set on one queue,
 * it applies to the device. A kernel without USO refuses the whole set:
 * then without. Returns the flags in force (0 if none). */
static unsigned long tun_offload_set(int fd, bool tso, bool uso)
{
	unsigned long off = TUN_F_CSUM;

	if (tso)
		off |= TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	if (uso) {
		if (ioctl(fd, TUNSETOFFLOAD, off | TUN_F_USO4 | TUN_F_USO6) == 0)
			return off | TUN_F_USO4 | TUN_F_USO6;
		log_info("tun: no UDP segmentation offload (%s; Linux >= 6.2 has it)",
			 strerror(errno));
	}
	if (ioctl(fd, TUNSETOFFLOAD, off) < 0) {
		log_warn("tun: TUNSETOFFLOAD 0x%lx: %s", off, strerror(errno));
		return 0;
	}
	return off;
}

/* Queues 1..n-1 of a multi-queue device; stops at the first refusal. */
static void tun_queues_add(struct tun *t, short flags, unsigned n)
{
	char actual[IFNAMSIZ];

	for (unsigned i = 1; i < n && i < TUN_MAX_QUEUES; i++) {
		t->fd[i] = tun_queue_open(t->name, flags, actual);
		if (t->fd[i] < 0)
			break;
		t->nqueues = i + 1;
	}
}

int tun_open(struct tun *t, const char *name, uint32_t mtu, unsigned nqueues, bool vnet,
	     bool tso, bool uso)
{
	short flags = IFF_TUN | IFF_NO_PI;

	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < TUN_MAX_QUEUES; i++)
		t->fd[i] = -1;
	if (nqueues > 1)
		flags |= IFF_MULTI_QUEUE;
	if (vnet)
		flags |= IFF_VNET_HDR;
	t->fd[0] = tun_queue_open(name, flags, t->name);
	if (t->fd[0] < 0)
		return -1;
	t->nqueues = 1;
	t->vnet = vnet;
	if (vnet) {
		/* Plain header (no num_buffers): 10 bytes. */
		int sz = (int)TUN_VNET_LEN;
		if (ioctl(t->fd[0], TUNSETVNETHDRSZ, &sz) < 0) {
			log_err("tun: TUNSETVNETHDRSZ: %s", strerror(errno));
			tun_close(t);
			return -1;
		}
		unsigned long off = tun_offload_set(t->fd[0], tso, uso);

		t->tso = (off & TUN_F_TSO4) != 0;
		t->uso = (off & TUN_F_USO4) != 0;
	}
	if (nqueues > 1)
		tun_queues_add(t, flags, nqueues);
	t->ifindex = (int)if_nametoindex(t->name);
	if (t->ifindex == 0 || link_configure(t->name, mtu) < 0) {
		tun_close(t);
		return -1;
	}
	log_info("tun: %s up, ifindex %d, mtu %u, %u queue(s)%s%s%s", t->name, t->ifindex, mtu,
		 t->nqueues, t->vnet ? ", vnet header" : "", t->tso ? ", TSO" : "",
		 t->uso ? ", USO" : "");
	return 0;
}

void tun_close(struct tun *t)
{
	for (unsigned i = 0; i < TUN_MAX_QUEUES; i++) {
		if (t->fd[i] >= 0)
			close(t->fd[i]);
		t->fd[i] = -1;
	}
	t->nqueues = 0;
}

int tun_addr_change(int ifindex, const struct ip_prefix *a, bool add)
{
	struct nl_sock *nl = route_nl_open();
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *local = nl_addr_build(a->addr.af, a->addr.b, ip_addr_len(&a->addr));
	char buf[IP_ADDR_STRLEN + 4];
	int err = -NLE_NOMEM;

	if (!nl || !ra || !local)
		goto out;
	nl_addr_set_prefixlen(local, a->len);
	rtnl_addr_set_ifindex(ra, ifindex);
	rtnl_addr_set_family(ra, a->addr.af);
	err = rtnl_addr_set_local(ra, local);
	if (err < 0)
		goto out;
	rtnl_addr_set_prefixlen(ra, a->len);
	err = add ? rtnl_addr_add(nl, ra, NLM_F_CREATE | NLM_F_REPLACE) : rtnl_addr_delete(nl, ra, 0);
	if (!add && err == -NLE_NOADDR)
		err = 0;
out:
	if (err < 0)
		log_err("tun: %s address %s on ifindex %d: %s", add ? "add" : "delete",
			ip_prefix_str(a, buf), ifindex, nl_geterror(err));
	else
		log_info("tun: %s address %s on ifindex %d", add ? "added" : "deleted",
			 ip_prefix_str(a, buf), ifindex);
	nl_addr_put(local);
	rtnl_addr_put(ra);
	if (nl)
		nl_socket_free(nl);
	return err < 0 ? -1 : 0;
}
