/* The TUN device: clear packets in (to protect) and out (decapsulated).
 *
 * Opened IFF_TUN | IFF_NO_PI (bare IP packets, no 4-byte packet info). The
 * device is not persistent: it disappears when the last queue fd closes,
 * so a crashed daemon leaves nothing behind. MTU and link state are set
 * over rtnetlink (libnl-route), not by running ip(8).
 *
 * Later (performance): IFF_MULTI_QUEUE with one queue per worker (open the
 * device once per queue with the same name) and IFF_VNET_HDR for GSO/GRO
 * batches; struct tun already holds an array of queue fds. */
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

/* MTU and IFF_UP in one RTM_NEWLINK change. */
static int link_configure(const char *name, uint32_t mtu)
{
	struct nl_sock *nl = route_nl_open();
	struct rtnl_link *link = NULL, *change = NULL;
	int ret = -1, err;

	if (!nl)
		return -1;
	err = rtnl_link_get_kernel(nl, 0, name, &link);
	if (err < 0) {
		log_err("tun: get link %s: %s", name, nl_geterror(err));
		goto out;
	}
	change = rtnl_link_alloc();
	if (!change)
		goto out;
	rtnl_link_set_mtu(change, mtu);
	rtnl_link_set_flags(change, IFF_UP);
	err = rtnl_link_change(nl, link, change, 0);
	if (err < 0) {
		log_err("tun: set %s mtu %u up: %s", name, mtu, nl_geterror(err));
		goto out;
	}
	ret = 0;
out:
	rtnl_link_put(change);
	rtnl_link_put(link);
	nl_socket_free(nl);
	return ret;
}

int tun_open(struct tun *t, const char *name, uint32_t mtu)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < TUN_MAX_QUEUES; i++)
		t->fd[i] = -1;
	t->fd[0] = tun_queue_open(name, IFF_TUN | IFF_NO_PI, t->name);
	if (t->fd[0] < 0)
		return -1;
	t->nqueues = 1;
	t->ifindex = (int)if_nametoindex(t->name);
	if (t->ifindex == 0 || link_configure(t->name, mtu) < 0) {
		tun_close(t);
		return -1;
	}
	log_info("tun: %s up, ifindex %d, mtu %u", t->name, t->ifindex, mtu);
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
