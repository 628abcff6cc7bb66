/* AF_XDP transmit for native ESP and AH (crypto engine offload xdp-tx).
 *
 * Why: a native ESP packet sent on the raw socket crosses the kernel's
 * whole IP output (route lookup, netfilter, neighbour, qdisc) one packet
 * at a time, and this kernel has no ESP to batch it (docs/dataplane.md
 * "What limits the speed"). An AF_XDP socket in copy mode hands frames
 * straight to the device driver (xsk_generic_xmit, __dev_direct_xmit):
 * measured on veth, 2 to 3 times the packets per second of the raw socket
 * for 1450-byte ESP packets.
 *
 * What it costs: the frames bypass netfilter, traffic control and the
 * packet taps of the sending device (tcpdump on gwA's WAN does not see
 * them; the peer's side does), and we build the Ethernet header ourselves.
 * So the next hop is resolved here, through rtnetlink (libnl): the route
 * to the peer with our fwmark, its gateway, the gateway's neighbour entry
 * and the device's own address. Anything not plainly resolvable (no
 * neighbour entry yet, a neighbour not confirmed lately, not Ethernet, a
 * packet larger than a frame) goes on the raw socket as before, which
 * also has the kernel resolve or confirm the neighbour.
 *
 * Transmit only: receiving stays on the raw sockets. One socket per
 * device, bound to its queue 0 without an XDP program (nothing is
 * redirected to it, so receiving on the device is unchanged), shared by
 * the workers under a mutex. Its UMEM holds XSK_NFRAMES frames; a
 * frame comes back (completion ring) when the kernel has freed its copy. */
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/if_xdp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "dataplane/internal.h"
#include "dataplane/xform_int.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define XSK_FRAME 4096u   /* one packet per frame: Ethernet + up to 4082 bytes */
#define XSK_NFRAMES 2048u /* 8 MiB of UMEM per device */
#define XSK_RING 2048u    /* TX and completion rings (powers of two) */
#define XSK_FILL 64u      /* required by bind, never filled: we receive nothing */
#define XSK_SNDBUF (8 << 20)
#define XSK_BROKEN_S 5 /* after a hard send failure, the raw socket for this long */

struct ring {
	uint32_t *prod, *cons;
	void *desc;
	uint32_t mask;
	void *map;
	size_t map_len;
};

struct xsk_tx {
	int fd, ifindex;
	uint8_t *umem;
	size_t umem_len;
	struct ring tx, cq, fq;
	uint64_t free[XSK_NFRAMES];
	unsigned nfree;
	pthread_mutex_t lock; /* not a spin lock: a kick is a system call */
	/* A kick failed hard (device down or gone): until this time
	 * (now_coarse_s) the workers use the raw socket, then try again. */
	uint64_t broken_until;
};

static int ring_map(int fd, struct ring *r, const struct xdp_ring_offset *off, uint64_t pgoff,
                    size_t entry, uint32_t n)
{
	r->map_len = off->desc + n * entry;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
	              (off_t)pgoff);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return -1;
	}
	r->prod = (uint32_t *)((uint8_t *)r->map + off->producer);
	r->cons = (uint32_t *)((uint8_t *)r->map + off->consumer);
	r->desc = (uint8_t *)r->map + off->desc;
	r->mask = n - 1;
	return 0;
}

static int set_ring(int fd, int opt, uint32_t n)
{
	int v = (int)n;
	return setsockopt(fd, SOL_XDP, opt, &v, sizeof(v));
}

void xsk_tx_close(struct xsk_tx *x)
{
	if (!x)
		return;
	if (x->fd >= 0)
		close(x->fd);
	if (x->tx.map)
		munmap(x->tx.map, x->tx.map_len);
	if (x->cq.map)
		munmap(x->cq.map, x->cq.map_len);
	if (x->fq.map)
		munmap(x->fq.map, x->fq.map_len);
	if (x->umem)
		munmap(x->umem, x->umem_len);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

struct xsk_tx *xsk_tx_open(int ifindex, char *why, size_t whylen)
{
	struct xsk_tx *x = calloc(1, sizeof(*x));
	struct xdp_umem_reg reg = {0};
	struct xdp_mmap_offsets off;
	socklen_t ol = sizeof(off);
	struct sockaddr_xdp sx = {0};
	int sb = XSK_SNDBUF;
	const char *step = "memory";

	if (!x) {
		snprintf(why, whylen, "%s", step);
		return NULL;
	}
	x->fd = -1;
	x->ifindex = ifindex;
	pthread_mutex_init(&x->lock, NULL);
	x->umem_len = (size_t)XSK_FRAME * XSK_NFRAMES;
	x->umem = mmap(NULL, x->umem_len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->umem == MAP_FAILED) {
		x->umem = NULL;
		goto fail;
	}
	step = "socket(AF_XDP)";
	x->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (x->fd < 0)
		goto fail;
	reg.addr = (uint64_t)(uintptr_t)x->umem;
	reg.len = x->umem_len;
	reg.chunk_size = XSK_FRAME;
	step = "XDP_UMEM_REG";
	if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)) < 0)
		goto fail;
	step = "XDP rings";
	if (set_ring(x->fd, XDP_UMEM_FILL_RING, XSK_FILL) < 0 ||
	    set_ring(x->fd, XDP_UMEM_COMPLETION_RING, XSK_RING) < 0 ||
	    set_ring(x->fd, XDP_TX_RING, XSK_RING) < 0 ||
	    getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0)
		goto fail;
	step = "mmap of the XDP rings";
	if (ring_map(x->fd, &x->tx, &off.tx, XDP_PGOFF_TX_RING, sizeof(struct xdp_desc), XSK_RING) <
	        0 ||
	    ring_map(x->fd, &x->cq, &off.cr, XDP_UMEM_PGOFF_COMPLETION_RING, sizeof(uint64_t),
	             XSK_RING) < 0 ||
	    ring_map(x->fd, &x->fq, &off.fr, XDP_UMEM_PGOFF_FILL_RING, sizeof(uint64_t), XSK_FILL) <
	        0)
		goto fail;
	/* Copy mode allocates an skb per frame charged to this socket: the
	 * default send buffer (~200 KB) would hold ~140 frames in flight. */
	if (setsockopt(x->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sb, sizeof(sb)) < 0)
		(void)setsockopt(x->fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	sx.sxdp_family = AF_XDP;
	sx.sxdp_ifindex = (uint32_t)ifindex;
	sx.sxdp_queue_id = 0;
	sx.sxdp_flags = XDP_COPY;
	step = "bind to queue 0 (XDP_COPY)";
	if (bind(x->fd, (struct sockaddr *)&sx, sizeof(sx)) < 0)
		goto fail;
	for (unsigned i = 0; i < XSK_NFRAMES; i++)
		x->free[x->nfree++] = (uint64_t)i * XSK_FRAME;
	return x;
fail:
	snprintf(why, whylen, "%s: %s", step, strerror(errno));
	xsk_tx_close(x);
	return NULL;
}

/* Frames the kernel is done with come back to the free list. */
static void reclaim(struct xsk_tx *x)
{
	uint32_t prod = __atomic_load_n(x->cq.prod, __ATOMIC_ACQUIRE);
	uint32_t cons = *x->cq.cons;
	const uint64_t *addr = x->cq.desc;

	for (; cons != prod && x->nfree < XSK_NFRAMES; cons++) {
		uint64_t a = addr[cons & x->cq.mask];

		/* only what we gave: a frame's start inside the UMEM */
		if (a < x->umem_len && a % XSK_FRAME == 0)
			x->free[x->nfree++] = a;
	}
	__atomic_store_n(x->cq.cons, cons, __ATOMIC_RELEASE);
}

/* Copy mode sends at most 32 descriptors per system call and says EAGAIN
 * while more wait (or while its send buffer is full: then the rest go
 * with the next kick, as frames come back). */
static int kick(struct xsk_tx *x, unsigned queued)
{
	for (unsigned tries = queued / 32 + 4; tries; tries--) {
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
			if (__atomic_load_n(x->tx.cons, __ATOMIC_ACQUIRE) == *x->tx.prod)
				return 0;
			continue;
		}
		if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS || errno == EINTR)
			continue;
		return -1;
	}
	return 0;
}

unsigned xsk_tx_send(struct xsk_tx *x, const struct xsk_frame *f, unsigned n, int *err)
{
	struct xdp_desc *d = x->tx.desc;
	unsigned k = 0;
	uint32_t prod, room;

	*err = 0;
	pthread_mutex_lock(&x->lock);
	if (now_coarse_s() < x->broken_until) {
		pthread_mutex_unlock(&x->lock);
		*err = ENETDOWN;
		return 0;
	}
	reclaim(x);
	prod = *x->tx.prod;
	room = XSK_RING - (prod - __atomic_load_n(x->tx.cons, __ATOMIC_ACQUIRE));
	for (; k < n && k < room && x->nfree; k++) {
		uint64_t a = x->free[--x->nfree];
		uint8_t *p = x->umem + a;

		if (f[k].len + ETH_HDR_LEN > XSK_FRAME) {
			x->nfree++;
			break;
		}
		memcpy(p, f[k].eth, ETH_HDR_LEN);
		memcpy(p + ETH_HDR_LEN, f[k].data, f[k].len);
		d[prod & x->tx.mask] = (struct xdp_desc){.addr = a, .len = ETH_HDR_LEN + f[k].len};
		prod++;
	}
	__atomic_store_n(x->tx.prod, prod, __ATOMIC_RELEASE);
	if (kick(x, k) < 0) {
		*err = errno;
		if (errno == ENETDOWN || errno == ENXIO || errno == ENODEV)
			__atomic_store_n(&x->broken_until, now_coarse_s() + XSK_BROKEN_S,
			                 __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&x->lock);
	return k;
}

/* ---- next hop (rtnetlink) ------------------------------------------------- */

struct route_res {
	bool ok;
	int ifindex;
	struct ip_addr via;
};

static int route_cb(struct nl_msg *msg, void *arg)
{
	struct route_res *r = arg;
	struct rtnl_route *rt = NULL;
	struct rtnl_nexthop *nh;
	struct nl_addr *gw;

	if (rtnl_route_parse(nlmsg_hdr(msg), &rt) < 0 || !rt)
		return NL_SKIP;
	if (rtnl_route_get_type(rt) == RTN_UNICAST && rtnl_route_get_nnexthops(rt) == 1 &&
	    (nh = rtnl_route_nexthop_n(rt, 0))) {
		r->ifindex = rtnl_route_nh_get_ifindex(nh);
		gw = rtnl_route_nh_get_gateway(nh);
		r->ok = r->ifindex > 0;
		if (gw && nl_addr_get_len(gw) == 4) {
			r->via.af = AF_INET;
			memcpy(&r->via.v4, nl_addr_get_binary_addr(gw), 4);
		} else if (gw && nl_addr_get_len(gw) == 16) {
			r->via.af = AF_INET6;
			memcpy(&r->via.v6, nl_addr_get_binary_addr(gw), 16);
		}
	}
	rtnl_route_put(rt);
	return NL_SKIP;
}

/* A get request of type with header hdr and the address a as attribute
 * attr; NULL if it cannot be built. */
static struct nl_msg *get_request(int type, const void *hdr, size_t hdrlen, int attr,
                                  const struct ip_addr *a)
{
	struct nl_msg *msg = nlmsg_alloc_simple(type, NLM_F_REQUEST);

	if (msg && (nlmsg_append(msg, (void *)hdr, hdrlen, NLMSG_ALIGNTO) < 0 ||
	            nla_put(msg, attr, a->af == AF_INET ? 4 : 16,
	                    a->af == AF_INET ? (const void *)&a->v4 : (const void *)&a->v6) < 0)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

/* Sends msg (freed) and has cb read the answer: false if either failed
 * (an error answer, such as ENOENT for no entry, is a failure). */
static bool ask(struct nl_sock *nl, struct nl_msg *msg, nl_recvmsg_msg_cb_t cb, void *arg)
{
	bool ok;

	if (!msg)
		return false;
	nl_socket_modify_cb(nl, NL_CB_VALID, NL_CB_CUSTOM, cb, arg);
	ok = nl_send_auto(nl, msg) >= 0 && nl_recvmsgs_default(nl) >= 0;
	nlmsg_free(msg);
	return ok;
}

/* `ip route get DST mark M`: the device and gateway our packets to dst
 * take. */
static int route_get(struct nl_sock *nl, const struct ip_addr *dst, uint32_t mark,
                     struct route_res *r)
{
	struct rtmsg rtm = {.rtm_family = (uint8_t)dst->af,
	                    .rtm_dst_len = dst->af == AF_INET ? 32 : 128};
	struct nl_msg *msg = get_request(RTM_GETROUTE, &rtm, sizeof(rtm), RTA_DST, dst);

	memset(r, 0, sizeof(*r));
	if (msg && mark && nla_put_u32(msg, RTA_MARK, mark) < 0) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return ask(nl, msg, route_cb, r) && r->ok ? 0 : -1;
}

struct neigh_res {
	bool ok, confirmed;
	uint8_t mac[6];
};

static int neigh_cb(struct nl_msg *msg, void *arg)
{
	struct neigh_res *r = arg;
	struct rtnl_neigh *ne = NULL;
	struct nl_addr *ll;

	if (rtnl_neigh_parse(nlmsg_hdr(msg), &ne) < 0 || !ne)
		return NL_SKIP;
	ll = rtnl_neigh_get_lladdr(ne);
	/* What the kernel itself would send to (NUD_VALID but for a failed
	 * entry). Not confirmed lately (stale, delay, probe): the caller
	 * sends a packet the raw way, which has the kernel confirm it (or
	 * learn the new address), as our frames never do. */
	if (ll && nl_addr_get_len(ll) == 6 &&
	    (rtnl_neigh_get_state(ne) &
	     (NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP | NUD_STALE | NUD_DELAY | NUD_PROBE))) {
		memcpy(r->mac, nl_addr_get_binary_addr(ll), 6);
		r->ok = true;
		r->confirmed =
		    rtnl_neigh_get_state(ne) & (NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP);
	}
	rtnl_neigh_put(ne);
	return NL_SKIP;
}

static int neigh_get(struct nl_sock *nl, int ifindex, const struct ip_addr *a, struct neigh_res *r)
{
	struct ndmsg ndm = {.ndm_family = (uint8_t)a->af, .ndm_ifindex = ifindex};
	struct nl_msg *msg = get_request(RTM_GETNEIGH, &ndm, sizeof(ndm), NDA_DST, a);

	memset(r, 0, sizeof(*r));
	return ask(nl, msg, neigh_cb, r) && r->ok ? 0 : -1;
}

static int link_mac(struct nl_sock *nl, int ifindex, uint8_t mac[6])
{
	struct rtnl_link *link = NULL;
	struct nl_addr *a;
	int err = -1;

	if (rtnl_link_get_kernel(nl, ifindex, NULL, &link) < 0)
		return -1;
	a = rtnl_link_get_addr(link);
	if (rtnl_link_get_arptype(link) == ARPHRD_ETHER && a && nl_addr_get_len(a) == 6) {
		memcpy(mac, nl_addr_get_binary_addr(a), 6);
		err = 0;
	}
	rtnl_link_put(link);
	return err;
}

int xsk_next_hop(struct nl_sock *nl, const struct ip_addr *dst, uint32_t mark, int *ifindex,
                 uint8_t eth[ETH_HDR_LEN], bool *confirmed, const char **why)
{
	struct route_res r;
	struct neigh_res n;
	const struct ip_addr *hop;

	*why = "no unicast route with one next hop";
	if (route_get(nl, dst, mark, &r) < 0)
		return -1;
	hop = r.via.af == dst->af ? &r.via : dst;
	*why = "the next hop has no neighbour entry (not resolved yet, or failed)";
	if (neigh_get(nl, r.ifindex, hop, &n) < 0)
		return -1;
	*why = "not an Ethernet device";
	if (link_mac(nl, r.ifindex, eth + 6) < 0)
		return -1;
	memcpy(eth, n.mac, 6);
	*confirmed = n.confirmed;
	eth[12] = dst->af == AF_INET ? 0x08 : 0x86;
	eth[13] = dst->af == AF_INET ? 0x00 : 0xdd;
	*ifindex = r.ifindex;
	return 0;
}

bool xsk_tx_pending(struct xsk_tx *x)
{
	return __atomic_load_n(x->tx.cons, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(x->tx.prod, __ATOMIC_RELAXED);
}

void xsk_tx_kick(struct xsk_tx *x)
{
	pthread_mutex_lock(&x->lock);
	if (now_coarse_s() >= x->broken_until && kick(x, 0) < 0 &&
	    (errno == ENETDOWN || errno == ENXIO || errno == ENODEV))
		__atomic_store_n(&x->broken_until, now_coarse_s() + XSK_BROKEN_S, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&x->lock);
}

/* ---- the workers' side ---------------------------------------------------- */

/* The AF_XDP socket of ifindex, opened on first use (one per device,
 * shared by the workers). NULL if it cannot be opened: logged once, and
 * that device's packets go the raw way from then on. */
static struct xsk_tx *dev_xsk(struct dp *dp, int ifindex)
{
	struct xsk_tx *x = NULL;
	char why[128];

	pthread_mutex_lock(&dp->xsk_lock);
	for (unsigned i = 0; i < DP_XSK_DEVS; i++) {
		struct dp_xsk_dev *d = &dp->xsk[i];

		if (d->ifindex == ifindex && (d->x || now_coarse_s() < d->retry_s)) {
			x = d->x;
			goto out;
		}
		if (d->ifindex && d->ifindex != ifindex)
			continue;
		d->ifindex = ifindex;
		d->x = xsk_tx_open(ifindex, why, sizeof(why));
		d->retry_s = now_coarse_s() + DP_XSK_RETRY_S;
		if (d->x)
			log_info(
			    "dp: xdp-tx: native ESP/AH on device %d sent with AF_XDP (copy mode, "
			    "queue 0)",
			    ifindex);
		else
			log_rl(&dp->rl_io, LOG_LVL_WARN,
			       "dp: xdp-tx: no AF_XDP socket on device %d (%s): its packets go on "
			       "the raw socket (tried again in %d s)",
			       ifindex, why, DP_XSK_RETRY_S);
		x = d->x;
		goto out;
	}
	log_rl(&dp->rl_io, LOG_LVL_WARN,
	       "dp: xdp-tx: more than %u devices: device %d uses the raw socket", DP_XSK_DEVS,
	       ifindex);
out:
	pthread_mutex_unlock(&dp->xsk_lock);
	return x;
}

static unsigned hop_slot(const struct ip_addr *a)
{
	const uint8_t *b = a->af == AF_INET ? (const uint8_t *)&a->v4 : (const uint8_t *)&a->v6;
	size_t n = a->af == AF_INET ? 4 : 16;
	unsigned h = 0;

	for (size_t i = 0; i < n; i++)
		h = h * 31 + b[i];
	return h % XSK_HOPS;
}

/* The next hop of dst from the cache, resolved again when its time is up.
 * NULL: the raw way. */
static const struct xsk_hop *hop_of(struct dp_worker *w, const struct ip_addr *dst)
{
	struct xsk_hop *h = &w->hops[hop_slot(dst)];
	uint64_t now = now_coarse_s();
	int ifindex;
	const char *why;
	char a[IP_ADDR_STRLEN];
	bool confirmed;

	if (h->until_s && now < h->until_s && ip_addr_eq(&h->dst, dst))
		return h->x && now >= __atomic_load_n(&h->x->broken_until, __ATOMIC_RELAXED) ? h
		                                                                             : NULL;
	/* The slot is another peer's until its time is up: this peer goes the
	 * raw way meanwhile. Evicting would have two busy peers of one slot
	 * ask netlink at every packet. */
	if (h->until_s && now < h->until_s)
		return NULL;
	h->dst = *dst;
	h->x = NULL;
	h->until_s = now + XSK_HOP_RETRY_S;
	/* One answer per request: the reply, or an error (no entry). libnl
	 * would otherwise ask for an ACK after each reply as well, left
	 * unread for the next request to trip on. */
	if (!w->nl && (w->nl = route_nl_open()))
		nl_socket_disable_auto_ack(w->nl);
	why = "no netlink socket";
	if (!w->nl ||
	    xsk_next_hop(w->nl, dst, w->dp->socks.fwmark, &ifindex, h->eth, &confirmed, &why) < 0) {
		log_debug("dp: xdp-tx: %s goes on the raw socket for now: %s", ip_addr_str(dst, a),
		          why);
		return NULL;
	}
	h->x = dev_xsk(w->dp, ifindex);
	h->until_s = now + (h->x ? XSK_HOP_TTL_S : XSK_HOP_RETRY_S);
	if (h->x && !confirmed)
		return NULL; /* this packet the raw way: the kernel confirms the entry */
	return h->x ? h : NULL;
}

unsigned xsk_worker_send(struct dp_worker *w, struct tx_batch *b)
{
	struct xsk_frame f[DP_TX_MAX];
	unsigned idx[DP_TX_MAX], sent = 0, raw = 0;

	for (unsigned i = 0; i < b->n;) {
		struct xsk_tx *x = NULL;
		uint8_t eth[ETH_HDR_LEN];
		unsigned n = 0, took;
		int err;

		/* a run of native packets to one next hop, in batch order; each
		 * is whole, IPv4 header checksum included (xform_output and
		 * ah_encap end with iphdr_set_len: no kernel fills it in here) */
		for (; i < b->n; i++) {
			struct tx_ent *e = &b->e[i];
			const struct xsk_hop *h;

			e->xdp = false;
			if (e->o.udp || e->p->len < IPV4_HDR_LEN)
				continue;
			if (!(h = hop_of(w, &e->o.dst))) {
				raw++;
				continue;
			}
			if (n && (h->x != x || memcmp(h->eth, eth, ETH_HDR_LEN)))
				break;
			if (!n) {
				x = h->x;
				memcpy(eth, h->eth, ETH_HDR_LEN);
			}
			f[n] = (struct xsk_frame){
			    .eth = eth, .data = pkt_data(e->p), .len = (uint32_t)e->p->len};
			idx[n++] = i;
		}
		if (!n)
			break;
		took = xsk_tx_send(x, f, n, &err);
		if (err)
			log_rl(&w->dp->rl_io, LOG_LVL_WARN,
			       "dp: xdp-tx: AF_XDP send failed (%s): the raw socket takes over for "
			       "%d s",
			       strerror(err), XSK_BROKEN_S);
		/* not taken (no free frame or ring slot): the raw way, after these */
		for (unsigned k = 0; k < took; k++)
			b->e[idx[k]].xdp = true;
		sent += took;
		if (took < n)
			stat_add(&w->stats.s.xdp_tx_busy, n - took);
		if (xsk_tx_pending(x))
			w->xsk_wait = x;
	}
	stat_add(&w->stats.s.xdp_tx, sent);
	stat_add(&w->stats.s.xdp_tx_raw, raw);
	return sent;
}

void xsk_worker_fini(struct dp_worker *w)
{
	if (w->nl)
		nl_socket_free(w->nl);
	w->nl = NULL;
}

void dp_xsk_close_all(struct dp *dp)
{
	for (unsigned i = 0; i < DP_XSK_DEVS; i++) {
		xsk_tx_close(dp->xsk[i].x);
		dp->xsk[i].x = NULL;
		dp->xsk[i].ifindex = 0;
	}
}
