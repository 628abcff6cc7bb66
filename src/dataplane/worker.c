/* Worker threads: move packets between the TUN device and the network.
 *
 * Each worker poll()s the stop eventfd, its TUN queue and its receive
 * sockets (its own UDP and raw ESP sockets, steered by SPI; the shared AH
 * and IPv6 raw sockets), and drains up to DP_BATCH reads from each ready
 * fd in turn.
 * Outbound: TUN (a packet, or a TSO superpacket cut by gso.c) -> flow ->
 * SPD -> xform_output -> batch -> sendmmsg / UDP GSO (sock_send_batch).
 * Inbound: raw or UDP socket (recvmmsg; UDP_GRO buffers split back into
 * datagrams) -> xform_input -> TUN. Packets are handled under
 * rcu_read_lock (policies and SAs are RCU-protected, ipsec/sad.h).
 * A worker owns its packet pool, its xform scratch, its send batch, its
 * counters and its steered sockets; it shares the other fds (thread-safe
 * syscalls), the acquire rate limiter and the log rate limits. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <urcu.h>

#include "crypto/mb.h"
#include "dataplane/internal.h"

/* Count a drop. The transforms count their own failures on the SA they
 * were applying (xform.c count_drop), so after xform_* a drop with an SA
 * is only logged here (sa_counted); drops with no SA are global. */
static void count_drop(struct dp_worker *w, const struct sa *sa, enum dp_drop r, const char *dir,
		       bool sa_counted)
{
	if ((unsigned)r >= DROP__COUNT)
		r = DROP_INTERNAL;
	if (!sa)
		stat_add(&w->stats.s.drops[r], 1);
	else if (!sa_counted && w->idx < sa->nworkers)
		sa->stats[w->idx].drops[r]++; /* one slot per worker: no atomics */
	log_rl(&w->dp->rl_drop, LOG_LVL_INFO, "dp: %s drop: %s%s%s", dir, dp_drop_name(r),
	       sa ? " sa " : "", sa ? sa->p.name : "");
}

static void drop(struct dp_worker *w, enum dp_drop r, const char *dir)
{
	count_drop(w, NULL, r, dir, false);
}

/* An outbound packet that matched no PROTECT policy: say which flow. */
static void drop_flow(struct dp_worker *w, enum dp_drop r, const struct flow *f)
{
	char s[IP_ADDR_STRLEN], d[IP_ADDR_STRLEN];

	stat_add(&w->stats.s.drops[r], 1);
	log_rl(&w->dp->rl_drop, LOG_LVL_INFO, "dp: out drop: %s: proto %u %s:%u -> %s:%u",
	       dp_drop_name(r), f->proto, ip_addr_str(&f->src, s), f->sport,
	       ip_addr_str(&f->dst, d), f->dport);
}

/* RFC 4301 5.2 / ARCHITECTURE "acquire": no SA yet; tell IKE, at most
 * once per second per policy. pol and f are valid during the call only. */
static void maybe_acquire(struct dp_worker *w, const struct policy *pol, const struct flow *f)
{
	struct dp *dp = w->dp;

	if (!dp->acquire || !acq_limit_allow(&dp->acq, pol->reqid, now_ns()))
		return;
	stat_add(&w->stats.s.acquires, 1);
	dp->acquire(pol, f, dp->acquire_arg);
}

/* Link-scope multicast the kernel itself sends into the device (MLD
 * reports to ff02::16, IGMP to 224.0.0.22): no policy can protect it, as
 * it must not leave the link (RFC 4291 2.7, RFC 5771 4). Ignored, counted
 * apart from drops so that "no policy" means a real packet. */
static bool link_scope_multicast(const struct flow *f)
{
	if (f->dst.af == AF_INET6)
		return f->dst.b[0] == 0xff && (f->dst.b[1] & 0x0f) <= 2;
	return f->dst.af == AF_INET && f->dst.b[0] == 224 && f->dst.b[1] == 0 &&
	       f->dst.b[2] == 0;
}

/* Seal the packets whose encryption waited for the batch (xform.h,
 * xform_seal_pending); a packet that failed is dropped, never sent. */
static void tx_seal(struct dp_worker *w)
{
	struct tx_batch *b = &w->tx;
	unsigned n = xform_pending(w->scratch), k = 0;

	if (!n)
		return;
	if (n >= MB_MIN_BATCH) {
		stat_add(&w->stats.s.mb_batches, 1);
		stat_add(&w->stats.s.mb_pkts, n);
	}
	if (!xform_seal_pending(w->scratch))
		return;
	for (unsigned i = 0; i < b->n; i++) {
		if (b->e[i].o.seal_failed) {
			count_drop(w, b->e[i].o.sa, DROP_INTERNAL, "out", false);
			pkt_pool_put(&w->pool, b->e[i].p);
		} else {
			b->e[k++] = b->e[i];
		}
	}
	b->n = k;
}

/* A send refused for size (EMSGSIZE: the route to the peer, or the path
 * MTU the kernel learned from ICMP since it was last asked, is below the
 * packet): learn the path MTU, so that the SA's next packets that would
 * not fit are dealt with before they are sealed (xform_output, too_big).
 * Asked again after DP_PMTU_TTL_S, as the kernel's own PMTU entries
 * expire. */
static void learn_path_mtu(struct dp_worker *w, const struct tx_ent *e)
{
	const struct sa *sa = e->o.sa;
	uint32_t known, mtu;
	char a[IP_ADDR_STRLEN];

	if (!sa)
		return;
	known = __atomic_load_n(&sa->path_mtu, __ATOMIC_RELAXED);
	if (known && known < e->p->len)
		return; /* learned already: a packet sealed before */
	mtu = sock_path_mtu(&w->dp->socks, &e->o.dst);
	if (!mtu || mtu >= e->p->len)
		return;
	xform_learn_path_mtu(sa, mtu, DP_PMTU_TTL_S);
	log_rl(&w->dp->rl_io, LOG_LVL_INFO,
	       "dp: path MTU to %s is %u (sa %s): larger packets are fragmented, or their "
	       "senders told (ICMP) when they set DF (crypto ipsec fragmentation, df-bit)",
	       ip_addr_str(&e->o.dst, a), mtu, sa->p.name);
}

/* xform_output found e's SA without a current path MTU (o.pmtu_ask: a new
 * SA, or its answer is DP_PMTU_TTL_S old): ask the kernel, once for all
 * the packets of the SA in the batch. A new SA's first packet asks, so the
 * large ones after it are checked before they are sealed instead of one
 * being lost to a send refused for size. A change is logged; a first
 * answer is only shown (show crypto ipsec sa). */
static void ask_path_mtu(struct dp_worker *w, const struct tx_ent *e)
{
	const struct sa *sa = e->o.sa;
	uint32_t prev, mtu;
	char a[IP_ADDR_STRLEN];

	if (!sa || now_coarse_s() < __atomic_load_n(&sa->path_mtu_until, __ATOMIC_RELAXED))
		return; /* answered already: an earlier packet, or a send refused for size */
	prev = __atomic_load_n(&sa->path_mtu, __ATOMIC_RELAXED);
	mtu = sock_path_mtu(&w->dp->socks, &e->o.dst);
	if (!mtu)
		mtu = prev; /* no answer (no route just now): keep what we knew */
	xform_learn_path_mtu(sa, mtu, DP_PMTU_TTL_S);
	if (prev && mtu != prev)
		log_rl(&w->dp->rl_io, LOG_LVL_INFO, "dp: path MTU to %s is now %u, was %u (sa %s)",
		       ip_addr_str(&e->o.dst, a), mtu, prev, sa->p.name);
}

/* e was sealed though the path takes less (o.frag_mtu, xform.c cut_after:
 * an IPv6 packet of at most 1280 bytes, an IPv4 one under fragmentation
 * after-encryption or df-bit clear): as the source of the sealed packet
 * we cut it (RFC 2473 7.1). Native: fragments on the raw socket,
 * IPv4 without DF (RFC 791) or IPv6 with a Fragment header (RFC 8200
 * 4.5); ESP-in-UDP: one datagram, which the kernel fragments. Returns
 * the packets sent, 0 with *r set if none could be. */
static unsigned send_cut(struct dp_worker *w, const struct tx_ent *e, enum dp_drop *r)
{
	const uint8_t *d = pkt_data(e->p);
	size_t len = e->p->len, mtu = e->o.frag_mtu, n;
	struct ip4_frag_plan fp;
	struct pkt *q;
	unsigned sent = 0;

	*r = DROP_NONE;
	if (e->o.udp) {
		*r = sock_send(&w->dp->socks, e->p, &e->o);
		sent = *r == DROP_NONE;
		goto out;
	}
	n = d[0] >> 4 == 4 ? (ip4_frag_plan(d, len, mtu, &fp) ? fp.nfrag : 0)
			   : ip6_frag_count(len, mtu);
	if (!n) {
		*r = DROP_TOO_BIG;
		return 0;
	}
	/* not pkt_get: it would flush the batch this is part of */
	if (!(q = pkt_pool_get(&w->pool))) {
		*r = DROP_INTERNAL;
		return 0;
	}
	w->frag_id++;
	for (unsigned i = 0; i < n && *r == DROP_NONE; i++) {
		q->len = d[0] >> 4 == 4 ? ip4_frag_build(d, len, &fp, i, pkt_data(q))
					: ip6_frag_build(d, len, mtu, w->frag_id, i, pkt_data(q));
		*r = sock_send(&w->dp->socks, q, &e->o);
		sent += *r == DROP_NONE;
	}
	pkt_pool_put(&w->pool, q);
out:
	if (sent)
		stat_add(&w->stats.s.pmtu_fragmented_after, 1);
	return sent;
}

/* Send the batch's packets that are to be cut (send_cut) and take them
 * out of it; the others keep their order. */
static void tx_cut(struct dp_worker *w)
{
	struct tx_batch *b = &w->tx;
	unsigned k = 0;

	while (k < b->n && !b->e[k].o.frag_mtu)
		k++; /* the usual batch: none, nothing moves */
	for (unsigned i = k; i < b->n; i++) {
		struct tx_ent *e = &b->e[i];
		enum dp_drop r;

		if (!e->o.frag_mtu) {
			b->e[k++] = *e;
			continue;
		}
		stat_add(&w->stats.s.net_tx, send_cut(w, e, &r));
		if (r != DROP_NONE)
			count_drop(w, e->o.sa, r, "out", false);
		if (e->o.pmtu_ask)
			ask_path_mtu(w, e);
		pkt_pool_put(&w->pool, e->p);
	}
	b->n = k;
}

/* Seal what waits, send every packet queued in the batch, give the
 * buffers back and the SAs' sending turns (xform_release). Under
 * rcu_read_lock: the entries point at their SAs (RCU-protected) since
 * xform_output, so the lock is held from the TUN read to here (tun_rx). */
static void tx_flush(struct dp_worker *w)
{
	enum dp_drop res[DP_TX_MAX];
	struct tx_batch *b = &w->tx;
	unsigned sent;

	tx_seal(w);
	tx_cut(w);
	if (!b->n) {
		xform_release(w->scratch);
		return;
	}
	sent = w->dp->xdp_tx ? xsk_worker_send(w, b) : 0;
	sent += sock_send_batch(&w->dp->socks, b, &w->gso, res);
	stat_add(&w->stats.s.net_tx, sent);
	for (unsigned i = 0; i < b->n; i++) {
		if (res[i] == DROP_TOO_BIG)
			learn_path_mtu(w, &b->e[i]);
		if (b->e[i].o.pmtu_ask)
			ask_path_mtu(w, &b->e[i]);
		if (res[i] != DROP_NONE)
			count_drop(w, b->e[i].o.sa, res[i], "out", false);
		pkt_pool_put(&w->pool, b->e[i].p);
	}
	b->n = 0;
	xform_release(w->scratch);
}

/* No outbound SA yet for pol: keep a copy of the packet until the SA is
 * up (acquire queue), and tell IKE. origin says where the packet came
 * from (0: the main TUN, i + 1: VTI slot i), so that the flush takes the
 * same path. A full queue drops it, as before the queue existed. */
static void no_out_sa(struct dp_worker *w, const struct policy *pol, const struct flow *f,
		      const struct pkt *p, unsigned origin)
{
	struct dp *dp = w->dp;
	bool was_empty;

	maybe_acquire(w, pol, f);
	if (!acqq_push(&dp->acqq, pol->reqid, origin, pkt_data(p), p->len, now_ns(),
		       &was_empty)) {
		count_drop(w, NULL, DROP_NO_OUT_SA, "out", false);
		return;
	}
	if (was_empty)
		dp_worker_kick(dp, 0); /* worker 0 watches the queue */
}

static bool protect(struct dp_worker *w, const struct policy *pol, const struct flow *f,
		    struct pkt *p, unsigned origin, bool may_queue);
static struct pkt *pkt_get(struct dp_worker *w);

/* ICMP "fragmentation needed" / ICMPv6 "packet too big" to the sender of
 * p, saying fit is the most the tunnel takes (RFC 1191, RFC 8201; at a
 * bounded rate: RFC 1812 4.3.2.8, RFC 4443 2.4 f). */
static void icmp_too_big(struct dp_worker *w, const struct pkt *p, size_t fit)
{
	uint8_t msg[ICMP_TOO_BIG_MAX];
	const uint8_t *d = pkt_data(p);
	struct ip_addr src = {0};
	size_t n;

	if (!ratelimit_ok(&w->dp->rl_icmp))
		return;
	if (d[0] >> 4 == 4) {
		n = icmp4_frag_needed(d, p->len, (uint16_t)fit, msg);
		src.af = AF_INET;
		memcpy(&src.v4, d + 12, 4);
	} else {
		/* IPv6 links carry 1280 (RFC 8200 5): never less */
		n = icmp6_packet_too_big(d, p->len, fit < 1280 ? 1280 : (uint32_t)fit, msg);
		src.af = AF_INET6;
		memcpy(&src.v6, d + 8, 16);
	}
	if (n && sock_icmp_send(&w->dp->socks, &src, msg, n) == 0)
		stat_add(&w->stats.s.pmtu_icmp_sent, 1);
}

/* p does not fit the path MTU once protected (XFORM_TOO_BIG; o->max_inner
 * is the longest packet that does). RFC 4301 8.2: an IPv4 packet without
 * DF is cut into fragments that fit, each protected on its own
 * (fragmentation before encryption, as IOS does by default); any other is
 * dropped and its sender told. p stays the caller's. */
static void too_big(struct dp_worker *w, const struct policy *pol, const struct flow *f,
		    const struct pkt *p, unsigned origin, bool may_queue, const struct xform_out *o)
{
	struct ip4_frag_plan fp;
	const uint8_t *d = pkt_data(p);
	size_t fit = o->max_inner;

	if (!ip4_frag_plan(d, p->len, fit, &fp)) {
		count_drop(w, o->sa, DROP_TOO_BIG, "out", false);
		icmp_too_big(w, p, fit);
		return;
	}
	stat_add(&w->stats.s.pmtu_fragmented, 1);
	for (unsigned i = 0; i < fp.nfrag; i++) {
		struct pkt *q = pkt_get(w);

		if (!q) {
			drop(w, DROP_INTERNAL, "out");
			return;
		}
		q->len = ip4_frag_build(d, p->len, &fp, i, pkt_data(q));
		if (!protect(w, pol, f, q, origin, may_queue))
			pkt_pool_put(&w->pool, q);
		else if (w->tx.n == DP_TX_MAX)
			tx_flush(w);
	}
}

/* Seal p with pol's SAs into the send batch. may_queue: a packet with no
 * SA goes to the acquire queue (false when it comes from there). Under
 * rcu_read_lock. Returns true if p is in the batch (the batch owns it
 * until tx_flush), false if it is still the caller's (dropped or copied). */
static bool protect(struct dp_worker *w, const struct policy *pol, const struct flow *f,
		    struct pkt *p, unsigned origin, bool may_queue)
{
	struct dp *dp = w->dp;
	struct tx_ent *e;
	enum dp_drop r;

	for (;;) {
		e = &w->tx.e[w->tx.n];
		/* a crypto map's policy may have several children, each for a
		 * part of it: the flow picks one; a tunnel interface has one
		 * pair for everything routed into it */
		r = xform_output(dp->sad, pol, origin ? NULL : f, w->idx, w->scratch, p, &e->o);
		if (r != XFORM_SA_BUSY)
			break;
		/* another worker is sending on the SA: send ours (holding no
		 * turn while waiting, so two workers never wait on each other),
		 * then wait for it */
		tx_flush(w);
		xform_wait_turn(w->scratch, w->idx);
	}
	if (r == XFORM_TOO_BIG) {
		too_big(w, pol, f, p, origin, may_queue, &e->o);
		return false;
	}
	if (r == DROP_NO_OUT_SA && may_queue) {
		no_out_sa(w, pol, f, p, origin);
		return false;
	}
	if (r != DROP_NONE) {
		count_drop(w, e->o.sa, r, "out", true);
		return false;
	}
	e->p = p;
	e->xdp = false;
	w->tx.n++;
	return true;
}

/* The flow of a clear packet; false (dropped or ignored) if it has none
 * worth protecting. */
static bool outbound_flow(struct dp_worker *w, const struct pkt *p, struct flow *f)
{
	if (!flow_from_packet(pkt_data(p), p->len, f)) {
		drop(w, DROP_MALFORMED, "out");
		return false;
	}
	if (link_scope_multicast(f)) {
		stat_add(&w->stats.s.tun_ignored, 1);
		return false;
	}
	return true;
}

/* A packet from the main TUN: SPD lookup, then protect. Under
 * rcu_read_lock. Returns as protect(). */
static bool outbound(struct dp_worker *w, struct pkt *p, bool may_queue)
{
	struct dp *dp = w->dp;
	const struct policy *pol;
	struct flow f;

	if (!outbound_flow(w, p, &f))
		return false;
	pol = spd_lookup(dp->spd, &f);
	if (!pol) {
		drop_flow(w, DROP_NO_POLICY, &f);
		return false;
	}
	/* A packet reached the TUN because a route of ours sent it here. A
	 * bypass entry cannot send it in the clear from here: writing it
	 * back would route it into the TUN again (the table sends every
	 * unmarked packet to that prefix here). Drop and count it; bypass
	 * works for destinations that are not routed into the TUN. */
	if (pol->action != POLICY_PROTECT) {
		drop_flow(w, pol->action == POLICY_DISCARD ? DROP_DISCARD : DROP_NO_POLICY, &f);
		return false;
	}
	return protect(w, pol, &f, p, 0, may_queue);
}

/* A packet routed into a VTI: its SA pair, no SPD lookup. */
static bool vti_outbound(struct dp_worker *w, const struct dp_vti *v, unsigned slot,
			 struct pkt *p, bool may_queue)
{
	struct flow f;

	if (!outbound_flow(w, p, &f))
		return false;
	return protect(w, &v->pol, &f, p, slot + 1, may_queue);
}

/* One clear packet: to the batch (flushed when full), or back to the pool.
 * Under rcu_read_lock. */
static void outbound_one(struct dp_worker *w, struct pkt *p)
{
	bool queued = outbound(w, p, true);

	if (!queued)
		pkt_pool_put(&w->pool, p);
	else if (w->tx.n == DP_TX_MAX)
		tx_flush(w);
}

/* The same for a packet of VTI slot. */
static void vti_outbound_one(struct dp_worker *w, const struct dp_vti *v, unsigned slot,
			     struct pkt *p)
{
	bool queued = vti_outbound(w, v, slot, p, true);

	if (!queued)
		pkt_pool_put(&w->pool, p);
	else if (w->tx.n == DP_TX_MAX)
		tx_flush(w);
}

/* A buffer for the next packet; when the pool is dry, sending the batch
 * returns its buffers. */
static void gro_flush(struct dp_worker *w);

static struct pkt *pkt_get(struct dp_worker *w)
{
	struct pkt *p = pkt_pool_get(&w->pool);

	if (!p) {
		tx_flush(w);
		gro_flush(w);
		p = pkt_pool_get(&w->pool);
	}
	return p;
}

/* A TSO superpacket (gso.c): each segment into its own buffer, sealed as
 * its own ESP packet. */
static void tun_superpacket(struct dp_worker *w, const struct pkt *p,
			    const struct virtio_net_hdr *vh)
{
	struct gso_info g;

	if (!gso_parse(pkt_data(p), p->len, vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN,
		       vh->gso_size, &g)) {
		drop(w, DROP_MALFORMED, "out");
		return;
	}
	for (unsigned i = 0; i < g.nseg; i++) {
		struct pkt *q = pkt_get(w);

		if (!q) {
			drop(w, DROP_INTERNAL, "out");
			return;
		}
		q->len = gso_segment_build(pkt_data(p), p->len, &g, i, pkt_data(q));
		outbound_one(w, q);
	}
}

/* What the kernel said about packet p in its virtio_net_hdr. Returns true
 * if p itself is to be sealed (else it was consumed here). */
static bool tun_vnet(struct dp_worker *w, struct pkt *p, const struct virtio_net_hdr *vh)
{
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		tun_superpacket(w, p, vh);
		return false;
	}
	if ((vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    !gso_csum_complete(pkt_data(p), p->len, vh->csum_start, vh->csum_offset)) {
		drop(w, DROP_MALFORMED, "out");
		return false;
	}
	return true;
}

/* Up to DP_BATCH reads, then the batch goes out. One RCU read-side
 * section covers policies and SAs from lookup to send (liburcu allows a
 * blocking sendmmsg inside; it only delays grace periods). */
static void tun_rx(struct dp_worker *w, int fd)
{
	size_t vlen = w->dp->tun.vnet ? TUN_VNET_LEN : 0;

	rcu_read_lock();
	for (unsigned i = 0; i < DP_BATCH; i++) {
		struct pkt *p = pkt_get(w);
		struct virtio_net_hdr vh;
		ssize_t n;

		if (!p)
			break;
		n = read(fd, pkt_data(p) - vlen, PKT_MAX_DATA + vlen);
		if (n <= (ssize_t)vlen) {
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				log_rl(&w->dp->rl_io, LOG_LVL_WARN, "dp: tun read: %s",
				       strerror(errno));
			pkt_pool_put(&w->pool, p);
			break;
		}
		p->len = (size_t)n - vlen;
		stat_add(&w->stats.s.tun_rx, 1);
		if (vlen) {
			memcpy(&vh, pkt_data(p) - vlen, sizeof(vh));
			if (!tun_vnet(w, p, &vh)) {
				pkt_pool_put(&w->pool, p);
				continue;
			}
		}
		outbound_one(w, p);
	}
	tx_flush(w);
	rcu_read_unlock();
}

/* With IFF_VNET_HDR every write starts with a header: all zero says a
 * plain packet with a complete checksum (GSO_NONE, no flags). */
static void tun_write(struct dp_worker *w, const struct tun *t, struct pkt *p)
{
	int fd = tun_fd_for(t, w->idx);
	size_t vlen = t->vnet ? TUN_VNET_LEN : 0;

	if (p->off < vlen) {
		stat_add(&w->stats.s.drops[DROP_INTERNAL], 1);
		return;
	}
	memset(pkt_data(p) - vlen, 0, vlen);
	if (write(fd, pkt_data(p) - vlen, p->len + vlen) != (ssize_t)(p->len + vlen)) {
		log_rl(&w->dp->rl_io, LOG_LVL_WARN, "dp: tun write: %s", strerror(errno));
		stat_add(&w->stats.s.drops[DROP_INTERNAL], 1);
		return;
	}
	stat_add(&w->stats.s.tun_tx, 1);
}

/* ---- receive coalescing (gro.c) ----------------------------------------- */

/* Write held[i] and the segments after it that gro_can_append accepts as
 * one superpacket (writev: header + first packet + later payloads, no
 * copy). Returns how many held packets were written. */
static unsigned gro_write_run(struct dp_worker *w, unsigned i)
{
	const struct gro_held *h = &w->held[i];
	struct iovec iov[1 + GRO_HOLD];
	struct virtio_net_hdr vh;
	struct gro_seg s0, s;
	size_t have, total;
	uint8_t flags;
	unsigned n = 1;
	ssize_t r;

	/* UDP only where the TUN takes UDP superpackets (USO, Linux 6.2) */
	if (!gro_parse(pkt_data(h->p), h->p->len, &s0) || (s0.flags & 0x08 /* PSH */) ||
	    (s0.udp && !(w->gro_udp && h->t->uso))) {
		tun_write(w, h->t, h->p);
		return 1;
	}
	have = s0.payload;
	flags = s0.flags;
	while (i + n < w->nheld) {
		const struct gro_held *x = &w->held[i + n];

		if (x->t != h->t || !gro_parse(pkt_data(x->p), x->p->len, &s) ||
		    !gro_can_append(pkt_data(h->p), &s0, have, pkt_data(x->p), &s))
			break;
		iov[1 + n] = (struct iovec){pkt_data(x->p) + s.hdr_len, s.payload};
		have += s.payload;
		flags |= s.flags;
		n++;
		if (s.payload < s0.payload || (s.flags & 0x08))
			break; /* a short segment or PSH ends the run */
	}
	if (n == 1) {
		tun_write(w, h->t, h->p);
		return 1;
	}
	gro_finish(pkt_data(h->p), &s0, have, flags, &vh);
	iov[0] = (struct iovec){&vh, TUN_VNET_LEN};
	iov[1] = (struct iovec){pkt_data(h->p), h->p->len};
	total = TUN_VNET_LEN + s0.hdr_len + have;
	r = writev(tun_fd_for(h->t, w->idx), iov, (int)n + 1);
	if (r != (ssize_t)total) {
		log_rl(&w->dp->rl_io, LOG_LVL_WARN, "dp: tun write (%u coalesced): %s", n,
		       r < 0 ? strerror(errno) : "short");
		stat_add(&w->stats.s.drops[DROP_INTERNAL], n);
		return n;
	}
	stat_add(&w->stats.s.tun_tx, n);
	stat_add(&w->stats.s.tun_gro_writes, 1);
	stat_add(&w->stats.s.tun_gro_pkts, n);
	return n;
}

/* Write everything held, in order, coalescing runs of one TCP or UDP flow. */
static void gro_flush(struct dp_worker *w)
{
	for (unsigned i = 0; i < w->nheld;)
		i += gro_write_run(w, i);
	for (unsigned i = 0; i < w->nheld; i++)
		if (w->held[i].owned)
			pkt_pool_put(&w->pool, w->held[i].p);
	w->nheld = 0;
}

/* A decrypted packet for TUN t. Held until the end of the receive batch
 * when coalescing is on (owned: the flush returns it to the pool), else
 * written now. */
static void tun_deliver(struct dp_worker *w, const struct tun *t, struct pkt *p, bool owned)
{
	if (!w->gro || !t->vnet) {
		tun_write(w, t, p);
		if (owned)
			pkt_pool_put(&w->pool, p);
		return;
	}
	if (w->nheld == GRO_HOLD)
		gro_flush(w);
	w->held[w->nheld++] = (struct gro_held){p, t, owned};
}

static void ike_deliver(struct dp_worker *w, const struct pkt *p, const struct xform_in *in)
{
	dp_ike_fn fn = __atomic_load_n(&w->dp->ike_fn, __ATOMIC_ACQUIRE);
	void *arg = __atomic_load_n(&w->dp->ike_arg, __ATOMIC_RELAXED);

	stat_add(&w->stats.s.ike_rx, 1);
	if (fn) /* after the non-ESP marker (udp_classify checked len > 4) */
		fn(pkt_data(p) + 4, p->len - 4, &in->src, in->sport, &in->dst, in->dport, arg);
}

/* Decapsulate one ESP (or take an IKE, keepalive) datagram whose origin
 * is in. Returns the TUN the clear packet goes to, or NULL if p was
 * consumed here (IKE, keepalive, dropped). */
static const struct tun *inbound_decap(struct dp_worker *w, struct pkt *p,
				       const struct xform_in *in)
{
	const struct tun *t = NULL;
	struct sa *sa = NULL;
	enum dp_drop r;

	if (in->udp) {
		switch (udp_classify(pkt_data(p), p->len)) {
		case UDP_KEEPALIVE:
			stat_add(&w->stats.s.natt_keepalive_rx, 1);
			return NULL;
		case UDP_IKE:
			ike_deliver(w, p, in);
			return NULL;
		case UDP_BAD:
			drop(w, DROP_MALFORMED, "in");
			return NULL;
		case UDP_ESP:
			break;
		}
	}
	rcu_read_lock();
	r = xform_input(w->dp->sad, w->idx, w->scratch, p, in, &sa);
	if (r != DROP_NONE) {
		count_drop(w, sa, r, "in", true);
	} else {
		/* An SA of a tunnel interface delivers on that interface (VTI
		 * slots are freed only after every worker passed its loop top,
		 * so t stays valid until this batch is flushed). */
		const struct dp_vti *v = sa ? dp_vti_of_reqid(w->dp, sa->p.reqid) : NULL;
		t = v ? &v->tun : &w->dp->tun;
	}
	rcu_read_unlock();
	return t;
}

/* owned: p is ours to give away (back to the pool here or by gro_flush);
 * otherwise the caller returns it to the pool after gro_flush. */
static void inbound_one(struct dp_worker *w, struct pkt *p, const struct xform_in *in,
			bool owned)
{
	const struct tun *t = inbound_decap(w, p, in);

	if (t)
		tun_deliver(w, t, p, owned);
	else if (owned)
		pkt_pool_put(&w->pool, p);
}

/* Open the queued received packets, in order: first their ICVs together
 * (AES-CBC+HMAC SAs, xform_preverify_*), then each packet as
 * one. One RCU read-side section covers both, so the SAs the ICVs were
 * computed for are the ones the packets are opened with. */
static void rxq_run(struct dp_worker *w)
{
	struct xform_scratch *s = w->scratch;
	int slot[DP_RXQ_MAX];
	unsigned n;

	rcu_read_lock();
	for (unsigned i = 0; i < w->nrxq; i++) {
		const struct rx_ent *e = &w->rxq[i];

		slot[i] = -1;
		if (!e->in.udp || udp_classify(pkt_data(e->p), e->p->len) == UDP_ESP)
			slot[i] = xform_preverify_add(w->dp->sad, s, e->p, &e->in);
	}
	n = xform_preverify_run(s);
	if (n) {
		stat_add(&w->stats.s.mb_in_batches, 1);
		stat_add(&w->stats.s.mb_in_pkts, n);
	}
	for (unsigned i = 0; i < w->nrxq; i++) {
		struct rx_ent *e = &w->rxq[i];

		xform_preverify_use(s, n ? slot[i] : -1);
		inbound_one(w, e->p, &e->in, e->owned);
		xform_preverify_use(s, -1);
	}
	xform_preverify_reset(s);
	rcu_read_unlock();
	w->nrxq = 0;
}

/* A received packet: opened now, or queued for rxq_run with batch crypto. */
static void rxq_push(struct dp_worker *w, struct pkt *p, const struct xform_in *in, bool owned)
{
	if (!w->prever) {
		inbound_one(w, p, in, owned);
		return;
	}
	if (w->nrxq == DP_RXQ_MAX)
		rxq_run(w);
	w->rxq[w->nrxq++] = (struct rx_ent){p, *in, owned};
}

/* UDP_GRO handed us several datagrams of seg bytes (the last shorter) in
 * one buffer: each into its own buffer (decapsulation may prepend an IP
 * header and must not overwrite its neighbour). */
static void inbound_gro(struct dp_worker *w, const struct pkt *p, const struct xform_in *in,
			size_t seg)
{
	for (size_t at = 0; at < p->len; at += seg) {
		size_t len = p->len - at < seg ? p->len - at : seg;
		struct pkt *q = pkt_get(w);

		if (!q) {
			drop(w, DROP_INTERNAL, "in");
			return;
		}
		stat_add(&w->stats.s.net_rx, 1);
		memcpy(pkt_data(q), pkt_data(p) + at, len);
		q->len = len;
		rxq_push(w, q, in, true);
	}
}

/* One datagram from socket kind k. Returns with the packet consumed. */
static void inbound(struct dp_worker *w, enum dp_rxsock k, const struct mmsghdr *m,
		    struct pkt *p)
{
	struct xform_in in;
	size_t seg;

	if (!sock_rx_finish(k, m, p, &in)) {
		stat_add(&w->stats.s.net_rx, 1);
		drop(w, DROP_MALFORMED, "in");
		return;
	}
	if (in.udp) {
		in.dport = w->dp->socks.natt_port;
		seg = sock_rx_gro_size(m);
		if (seg && seg < p->len) {
			inbound_gro(w, p, &in, seg);
			return;
		}
	}
	stat_add(&w->stats.s.net_rx, 1);
	rxq_push(w, p, &in, false);
}

static void net_rx(struct dp_worker *w, enum dp_rxsock k, int fd)
{
	struct mmsghdr m[DP_BATCH];
	struct iovec iov[DP_BATCH];
	struct rx_meta meta[DP_BATCH];
	struct pkt *pk[DP_BATCH];
	unsigned cnt = 0;
	int n;

	while (cnt < DP_BATCH && (pk[cnt] = pkt_pool_get(&w->pool)) != NULL) {
		sock_rx_prepare(&m[cnt], &iov[cnt], &meta[cnt], pk[cnt]);
		cnt++;
	}
	n = cnt ? recvmmsg(fd, m, cnt, MSG_DONTWAIT, NULL) : 0;
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_rl(&w->dp->rl_io, LOG_LVL_WARN, "dp: recvmmsg: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		inbound(w, k, &m[i], pk[i]);
	rxq_run(w);
	gro_flush(w); /* before pk[] go back to the pool */
	for (unsigned i = 0; i < cnt; i++)
		pkt_pool_put(&w->pool, pk[i]);
}

/* Up to DP_BATCH packets from VTI slot (no vnet header: the kernel did
 * segmentation and checksums). */
static void vti_rx(struct dp_worker *w, unsigned slot, int fd)
{
	const struct dp_vti *v = &w->dp->vti[slot];

	rcu_read_lock();
	for (unsigned i = 0; i < DP_BATCH; i++) {
		struct pkt *p = pkt_get(w);
		ssize_t n;

		if (!p)
			break;
		n = read(fd, pkt_data(p), PKT_MAX_DATA);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				log_rl(&w->dp->rl_io, LOG_LVL_WARN, "dp: %s read: %s", v->tun.name,
				       strerror(errno));
			pkt_pool_put(&w->pool, p);
			break;
		}
		p->len = (size_t)n;
		stat_add(&w->stats.s.tun_rx, 1);
		vti_outbound_one(w, v, slot, p);
	}
	tx_flush(w);
	rcu_read_unlock();
}

/* ---- the acquire queue (worker 0) ---------------------------------------- */

#define ACQQ_LOOK_NS 100000000ull /* a look every 100 ms while packets wait */

/* Is there an SA for the queued packet: of its policy, and for a crypto
 * map (origin 0) one whose selectors hold its flow (the policy's other
 * children do not carry it)? */
static bool acqq_sa_ready(const struct acqq_pkt *e, void *arg)
{
	struct sad *sad = arg;
	struct flow f;
	const struct flow *fp = !e->origin && flow_from_packet(e->data, e->len, &f) ? &f : NULL;

	return sad_lookup_out_flow(sad, e->reqid, IPSEC_PROTO_ESP, fp) ||
	       sad_lookup_out_flow(sad, e->reqid, IPSEC_PROTO_AH, fp);
}

/* One queued packet, now that its SA exists, through the path it came
 * from (the SPD is consulted again: the policy may have changed). */
static void acqq_send_one(struct dp_worker *w, const struct acqq_pkt *e)
{
	struct pkt *p = pkt_get(w);
	bool queued;

	if (!p) {
		drop(w, DROP_INTERNAL, "out");
		return;
	}
	memcpy(pkt_data(p), e->data, e->len);
	p->len = e->len;
	if (!e->origin) {
		queued = outbound(w, p, false);
	} else {
		unsigned slot = e->origin - 1;
		const struct dp_vti *v = &w->dp->vti[slot];
		queued = slot < DP_VTI_MAX && __atomic_load_n(&v->used, __ATOMIC_ACQUIRE) &&
			 v->pol.reqid == e->reqid && vti_outbound(w, v, slot, p, false);
	}
	if (!queued)
		pkt_pool_put(&w->pool, p);
	else if (w->tx.n == DP_TX_MAX)
		tx_flush(w);
}

/* Send what waited for an SA that is now installed; drop what waited too
 * long. */
static void acqq_service(struct dp_worker *w)
{
	struct dp *dp = w->dp;
	unsigned expired = 0;
	struct acqq_pkt *l;

	rcu_read_lock();
	l = acqq_take(&dp->acqq, now_ns(), acqq_sa_ready, dp->sad, &expired);
	for (const struct acqq_pkt *e = l; e; e = e->next)
		acqq_send_one(w, e);
	tx_flush(w);
	rcu_read_unlock();
	acqq_list_free(l);
	if (expired) {
		stat_add(&w->stats.s.drops[DROP_NO_OUT_SA], expired);
		log_rl(&dp->rl_drop, LOG_LVL_INFO,
		       "dp: out drop: %u packet(s) waited %llu s for an SA", expired,
		       ACQQ_TIMEOUT_NS / 1000000000ull);
	}
}

/* ---- the loop -------------------------------------------------------------- */

enum {
	PFD_WAKE, PFD_KICK, PFD_TUN, PFD_ICMP4, PFD_ICMP6, PFD_RX0,
	PFD_VTI0 = PFD_RX0 + RX__COUNT,
	PFD__COUNT = PFD_VTI0 + DP_VTI_MAX
};

void dp_worker_kick(struct dp *dp, unsigned i)
{
	uint64_t one = 1;

	if (i < dp->nworkers && dp->workers[i].kick_fd >= 0 &&
	    write(dp->workers[i].kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_rl(&dp->rl_io, LOG_LVL_WARN, "dp: kick worker %u: %s", i, strerror(errno));
}

/* The fds this worker polls; the VTI slots as of generation vti_gen (read
 * first, so a change after this is seen at the next loop). */
static void poll_setup(struct dp_worker *w, struct pollfd *pfd)
{
	const struct dp *dp = w->dp;
	unsigned gen = __atomic_load_n(&dp->vti_gen, __ATOMIC_ACQUIRE);

	pfd[PFD_WAKE].fd = dp->wake_fd;
	pfd[PFD_KICK].fd = w->kick_fd;
	pfd[PFD_TUN].fd = tun_fd_for(&dp->tun, w->idx);
	/* path MTU messages: worker 0 reads them (pmtu.c) */
	pfd[PFD_ICMP4].fd = w->idx == 0 ? dp->socks.icmp4 : -1;
	pfd[PFD_ICMP6].fd = w->idx == 0 ? dp->socks.icmp6 : -1;
	for (int k = 0; k < RX__COUNT; k++)
		pfd[PFD_RX0 + k].fd = w->rx[k]; /* -1: poll ignores it */
	for (unsigned i = 0; i < DP_VTI_MAX; i++) {
		const struct dp_vti *v = &dp->vti[i];
		bool used = __atomic_load_n(&v->used, __ATOMIC_ACQUIRE);
		pfd[PFD_VTI0 + i].fd = used && v->tun.nqueues ? tun_fd_for(&v->tun, w->idx) : -1;
	}
	for (int i = 0; i < PFD__COUNT; i++)
		pfd[i].events = POLLIN;
	__atomic_store_n(&w->vti_gen_seen, gen, __ATOMIC_RELEASE);
}

/* An fd in error without data (the TUN device deleted under us): log it
 * once and stop polling it rather than spinning. */
static void poll_check_errors(const struct dp_worker *w, struct pollfd *pfd)
{
	for (int i = PFD_TUN; i < PFD__COUNT; i++) {
		short bad = pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL);
		if (bad && !(pfd[i].revents & POLLIN)) {
			log_err("dp: worker %u: fd %d in error (revents 0x%x), ignoring it",
				w->idx, pfd[i].fd, (unsigned)pfd[i].revents);
			pfd[i].fd = -1;
		}
	}
}

/* Worker 0 looks at the acquire queue when kicked (a first packet queued,
 * an SA installed) and every ACQQ_LOOK_NS while packets wait. */
static int poll_timeout(const struct dp_worker *w)
{
	if (w->xsk_wait)
		return 1; /* AF_XDP descriptors the kernel has not taken yet */
	return w->idx == 0 && acqq_pending(&w->dp->acqq) ? (int)(ACQQ_LOOK_NS / 1000000ull) : -1;
}

static void worker_housekeeping(struct dp_worker *w, struct pollfd *pfd, bool kicked)
{
	uint64_t now;

	if (kicked) {
		uint64_t v;
		if (read(w->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_rl(&w->dp->rl_io, LOG_LVL_WARN, "dp: kick read: %s", strerror(errno));
	}
	if (__atomic_load_n(&w->dp->vti_gen, __ATOMIC_ACQUIRE) != w->vti_gen_seen)
		poll_setup(w, pfd);
	if (w->xsk_wait) {
		xsk_tx_kick(w->xsk_wait);
		if (!xsk_tx_pending(w->xsk_wait))
			w->xsk_wait = NULL;
	}
	if (w->idx != 0 || !acqq_pending(&w->dp->acqq))
		return;
	now = now_ns();
	if (kicked || now >= w->acqq_next_ns) {
		w->acqq_next_ns = now + ACQQ_LOOK_NS;
		acqq_service(w);
	}
}

void *dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct pollfd pfd[PFD__COUNT];

	char name[16];

	snprintf(name, sizeof(name), "espritd-w%u", w->idx);
	pthread_setname_np(pthread_self(), name); /* top -H, ps -L, /proc/PID/task */
	rcu_register_thread();
	poll_setup(w, pfd);
	while (!__atomic_load_n(&w->dp->stopping, __ATOMIC_ACQUIRE)) {
		int n = poll(pfd, PFD__COUNT, poll_timeout(w));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("dp: worker %u: poll: %s", w->idx, strerror(errno));
			break;
		}
		/* The eventfd is never read: it stays readable for every worker. */
		if (pfd[PFD_WAKE].revents)
			break;
		poll_check_errors(w, pfd);
		xform_set_frag_rules(w->scratch, __atomic_load_n(&w->dp->df_bit, __ATOMIC_RELAXED),
				 __atomic_load_n(&w->dp->frag_after, __ATOMIC_RELAXED));
		if (pfd[PFD_TUN].revents & POLLIN)
			tun_rx(w, pfd[PFD_TUN].fd);
		for (int k = 0; k < RX__COUNT; k++)
			if (pfd[PFD_RX0 + k].revents & POLLIN)
				net_rx(w, (enum dp_rxsock)k, pfd[PFD_RX0 + k].fd);
		if (pfd[PFD_ICMP4].revents & POLLIN)
			pmtu_icmp_rx(w, pfd[PFD_ICMP4].fd, false);
		if (pfd[PFD_ICMP6].revents & POLLIN)
			pmtu_icmp_rx(w, pfd[PFD_ICMP6].fd, true);
		for (unsigned i = 0; i < DP_VTI_MAX; i++)
			if (pfd[PFD_VTI0 + i].fd >= 0 && (pfd[PFD_VTI0 + i].revents & POLLIN))
				vti_rx(w, i, pfd[PFD_VTI0 + i].fd);
		/* Last: a VTI removed meanwhile is released only once we are here. */
		worker_housekeeping(w, pfd, pfd[PFD_KICK].revents & POLLIN);
	}
	rcu_unregister_thread();
	return NULL;
}
