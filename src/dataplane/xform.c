/* The bundle: IPComp, ESP, AH and UDP encapsulation put together in the
 * order of RFC 4301 and RFC 3173 2 (outbound: compress, ESP, then AH over
 * the result; inbound: the reverse, layer by layer while an SA exists). */
#include <linux/futex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crypto/cipher.h"
#include "dataplane/dp.h"
#include "dataplane/xform_int.h"
#include "lib/cursor.h"
#include "lib/log.h"

/* ---- IP header helpers ------------------------------------------------- */

uint16_t ip_csum(const uint8_t *d, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get_be16(d + i);
	if (len & 1)
		sum += (uint32_t)d[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void iphdr_set_len(uint8_t *d, size_t len)
{
	if (d[0] >> 4 == 4) {
		size_t ihl = (size_t)(d[0] & 0x0f) * 4;

		put_be16(d + 2, (uint16_t)len);
		d[10] = d[11] = 0;
		put_be16(d + 10, ip_csum(d, ihl, 0));
	} else {
		put_be16(d + 4, (uint16_t)(len - IPV6_HDR_LEN));
	}
}

static bool v4_parse(struct cur *c, size_t len, struct iphdr_info *h)
{
	uint8_t vihl = 0, proto = 0;
	uint16_t tot = 0;

	if (!cur_u8(c, &vihl) || !cur_skip(c, 1) || !cur_u16(c, &tot) || !cur_skip(c, 5) ||
	    !cur_u8(c, &proto))
		return false;
	h->ver = 4;
	h->hlen = (size_t)(vihl & 0x0f) * 4;
	h->nh_off = 9;
	h->nh = proto;
	h->tot_len = tot;
	return h->hlen >= IPV4_HDR_LEN && h->hlen <= len && h->tot_len >= h->hlen;
}

static bool v6_ext(uint8_t nh, bool transport_split)
{
	return nh == IPPROTO_NUM_HOPOPTS || nh == IPPROTO_NUM_ROUTING ||
	       nh == IPPROTO_NUM_DSTOPTS || (transport_split && nh == IPPROTO_NUM_FRAGMENT);
}

static bool v6_parse(struct cur *c, size_t len, bool transport_split, struct iphdr_info *h)
{
	uint16_t plen = 0;
	uint8_t nh = 0;
	size_t off = IPV6_HDR_LEN, last_nh_off = 6;

	if (!cur_skip(c, 4) || !cur_u16(c, &plen) || !cur_u8(c, &nh) || !cur_skip(c, 33))
		return false;
	h->ver = 6;
	h->tot_len = IPV6_HDR_LEN + (size_t)plen;
	h->hlen = off;
	h->nh_off = 6;
	h->nh = nh;
	while (v6_ext(nh, transport_split)) {
		uint8_t next = 0, l = 0;
		size_t elen;

		if (!cur_u8(c, &next) || !cur_u8(c, &l))
			return false;
		elen = nh == IPPROTO_NUM_FRAGMENT ? 8 : ((size_t)l + 1) * 8;
		if (elen > len - off || !cur_skip(c, elen - 2))
			return false;
		last_nh_off = off;
		off += elen;
		/* RFC 4303 3.1.1 / RFC 4302 3.1.1: destination options that
		 * do not precede a routing header go after ESP/AH. */
		if (!transport_split || nh != IPPROTO_NUM_DSTOPTS) {
			h->hlen = off;
			h->nh_off = last_nh_off;
			h->nh = next;
		}
		nh = next;
	}
	return h->hlen <= h->tot_len; /* extension headers inside the payload length */
}

bool iphdr_parse(const uint8_t *d, size_t len, bool transport_split, struct iphdr_info *h)
{
	struct cur c = cur_init(d, len);
	uint8_t v = 0;

	memset(h, 0, sizeof(*h));
	if (!cur_peek_u8(&c, 0, &v))
		return false;
	if (v >> 4 == 4)
		return v4_parse(&c, len, h);
	if (v >> 4 == 6)
		return v6_parse(&c, len, transport_split, h);
	return false;
}

/* ---- sequence numbers and replay --------------------------------------- */

enum dp_drop xform_seq_next(struct sa *sa, uint64_t *seq)
{
	uint64_t max = sa->p.esn ? UINT64_MAX : UINT32_MAX;
	uint64_t cur = __atomic_load_n(&sa->seq_out, __ATOMIC_RELAXED);

	do {
		/* RFC 4303 3.3.3 / RFC 4302 3.3.2: the counter must not
		 * cycle; the SA is dead once it reaches its maximum (the
		 * SAD stops returning it, so the next packet acquires a new
		 * one). */
		if (cur >= max) {
			sa_state_change(sa, SA_DEAD);
			return DROP_SEQ_OVERFLOW;
		}
	} while (!__atomic_compare_exchange_n(&sa->seq_out, &cur, cur + 1, false, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	if (sa_state_get(sa) >= SA_HARD_EXPIRED)
		return DROP_HARD_EXPIRED;
	*seq = cur + 1;
	return DROP_NONE;
}

enum dp_drop xform_replay_check(struct sa *sa, uint32_t seq_lo, uint64_t *seq_full)
{
	bool ok;

	if (!sa->replay) { /* anti-replay disabled: no window to infer seq-hi from */
		*seq_full = seq_lo;
		return DROP_NONE;
	}
	pthread_spin_lock(&sa->replay_lock);
	ok = replay_check(sa->replay, seq_lo, seq_full);
	pthread_spin_unlock(&sa->replay_lock);
	return ok ? DROP_NONE : DROP_REPLAY;
}

enum dp_drop xform_replay_update(struct sa *sa, uint64_t seq_full)
{
	bool ok;

	if (!sa->replay)
		return DROP_NONE;
	pthread_spin_lock(&sa->replay_lock);
	ok = replay_update(sa->replay, seq_full);
	pthread_spin_unlock(&sa->replay_lock);
	return ok ? DROP_NONE : DROP_REPLAY;
}

/* ---- scratch ----------------------------------------------------------- */

struct xform_scratch *xform_scratch_new(void)
{
	struct xform_scratch *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (!ipcomp_init(s)) {
		xform_scratch_free(s);
		return NULL;
	}
	if (crypto_random(&s->ip_id, sizeof(s->ip_id)) != 0)
		s->ip_id = 1;
	return s;
}

void xform_scratch_free(struct xform_scratch *s)
{
	if (!s)
		return;
	ipcomp_fini(s);
	mb_mgr_free(s->mb);
	free(s);
}

bool xform_defer_enable(struct xform_scratch *s)
{
	if (!s->mb)
		s->mb = mb_mgr_new();
	return s->mb != NULL;
}

unsigned xform_pending(const struct xform_scratch *s)
{
	return s->npend;
}

unsigned xform_seal_pending(struct xform_scratch *s)
{
	return s->npend ? esp_seal_pending(s) : 0;
}

/* ---- counting ---------------------------------------------------------- */

static enum dp_drop count_drop(struct sa *sa, unsigned worker, enum dp_drop r)
{
	if (sa && r != DROP_NONE && r < DROP__COUNT && worker < sa->nworkers)
		sa->stats[worker].drops[r]++;
	return r;
}

static void count_ok(struct sa *sa, unsigned worker, size_t bytes)
{
	if (worker < sa->nworkers) {
		sa->stats[worker].packets++;
		sa->stats[worker].bytes += bytes;
	}
}

/* ---- UDP (RFC 768) checksums ------------------------------------------- */

static uint32_t pseudo_sum(const uint8_t *ip, size_t l4len, uint8_t proto)
{
	uint32_t sum = 0;
	size_t alen = ip[0] >> 4 == 4 ? 4 : 16;
	const uint8_t *src = ip + (alen == 4 ? 12 : 8);

	for (size_t i = 0; i < 2 * alen; i += 2)
		sum += get_be16(src + i);
	sum += (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff) + proto;
	return sum;
}

/* Recompute the checksum of a UDP or TCP segment at ip + hlen. */
static void l4_csum_set(uint8_t *ip, size_t hlen, size_t len, uint8_t proto)
{
	size_t at = proto == IPPROTO_NUM_UDP ? 6 : 16;
	uint8_t *l4 = ip + hlen;
	uint16_t c;

	if (len - hlen < at + 2)
		return;
	l4[at] = l4[at + 1] = 0;
	c = ip_csum(l4, len - hlen, pseudo_sum(ip, len - hlen, proto));
	if (proto == IPPROTO_NUM_UDP && c == 0)
		c = 0xffff; /* RFC 768: zero means "no checksum" */
	put_be16(l4 + at, c);
}

/* ---- outbound ---------------------------------------------------------- */

struct bundle {
	struct sa *comp, *esp, *ah;
};

/* Outer header for tunnel mode (RFC 4301 5.1.2): addresses from the SA,
 * DSCP/ECN copied from the inner header, DF as s->df_bit says (by default
 * copied, set for an IPv6 inner packet: RFC 4301 8.1 lets the
 * implementation choose copy, clear or set), TTL/hop limit 64. The inner
 * TTL is left alone: the kernel routed it. */
static size_t outer_build(struct xform_scratch *s, const struct sa *sa, const uint8_t *inner,
			  uint8_t *h, uint8_t nh, bool cut)
{
	uint8_t tos = inner[0] >> 4 == 4 ? inner[1] : (uint8_t)((inner[0] & 0x0f) << 4 | inner[1] >> 4);

	if (sa->p.dst.af == AF_INET) {
		/* cut: the packet is fragmented after sealing (pmtu_check) */
		bool df = !cut && (s->df_bit == DP_DF_SET ||
				   (s->df_bit == DP_DF_COPY &&
				    (inner[0] >> 4 == 6 || (inner[6] & 0x40))));

		memset(h, 0, IPV4_HDR_LEN);
		h[0] = 0x45;
		h[1] = tos;
		put_be16(h + 4, s->ip_id++);
		h[6] = df ? 0x40 : 0;
		h[8] = OUTER_TTL;
		h[9] = nh;
		memcpy(h + 12, &sa->p.src.v4, 4);
		memcpy(h + 16, &sa->p.dst.v4, 4);
		return IPV4_HDR_LEN;
	}
	memset(h, 0, IPV6_HDR_LEN);
	h[0] = (uint8_t)(0x60 | tos >> 4);
	h[1] = (uint8_t)(tos << 4);
	h[6] = nh;
	h[7] = OUTER_TTL;
	memcpy(h + 8, &sa->p.src.v6, 16);
	memcpy(h + 24, &sa->p.dst.v6, 16);
	return IPV6_HDR_LEN;
}

/* IPComp then ESP then UDP over the payload q (RFC 3173 2, RFC 3948 2.1). */
static enum dp_drop protect_payload(const struct bundle *b, unsigned worker,
				    struct xform_scratch *s, struct pkt *q, uint8_t *nh, bool *udp)
{
	enum dp_drop r;

	if (b->comp && worker < b->comp->nworkers) {
		if (ipcomp_compress(b->comp, s, q, nh))
			b->comp->stats[worker].compressed++;
		else
			b->comp->stats[worker].not_compressed++;
	}
	*udp = false;
	if (!b->esp)
		return DROP_NONE;
	r = esp_encap(b->esp, worker, s, q, *nh);
	if (r != DROP_NONE)
		return count_drop(b->esp, worker, r);
	*nh = IPPROTO_NUM_ESP;
	/* AH over UDP-encapsulated ESP is not defined (RFC 3948 covers ESP
	 * only): with AH in the bundle the packet goes native. */
	if (b->esp->p.encap_dport && !b->ah) {
		uint8_t *u;

		if (q->off < UDP_HDR_LEN)
			return count_drop(b->esp, worker, DROP_TOO_BIG);
		q->off -= UDP_HDR_LEN;
		q->len += UDP_HDR_LEN;
		u = pkt_data(q);
		put_be16(u, b->esp->p.encap_sport);
		put_be16(u + 2, b->esp->p.encap_dport);
		put_be16(u + 4, (uint16_t)q->len);
		u[6] = u[7] = 0; /* IPv4: zero checksum (RFC 3948 2.1) */
		*nh = IPPROTO_NUM_UDP;
		*udp = true;
	}
	return DROP_NONE;
}

static enum dp_drop bundle_account(struct sad *sad, const struct bundle *b, unsigned worker,
				   size_t bytes)
{
	struct sa *all[3] = {b->comp, b->esp, b->ah};

	for (int i = 0; i < 3; i++)
		if (all[i] && !sad_account(sad, all[i], bytes))
			return count_drop(all[i], worker, DROP_HARD_EXPIRED);
	return DROP_NONE;
}

static void out_fill(struct xform_out *o, const struct pkt *p, const struct bundle *b, bool udp,
		     size_t hlen)
{
	const uint8_t *d = pkt_data(p);

	if (d[0] >> 4 == 4) {
		ip_addr_from_raw(&o->src, AF_INET, d + 12);
		ip_addr_from_raw(&o->dst, AF_INET, d + 16);
	} else {
		ip_addr_from_raw(&o->src, AF_INET6, d + 8);
		ip_addr_from_raw(&o->dst, AF_INET6, d + 24);
	}
	o->udp = udp;
	if (udp) {
		o->sport = b->esp->p.encap_sport;
		o->dport = b->esp->p.encap_dport;
		o->udp_payload_off = hlen + UDP_HDR_LEN;
	}
}

/* ---- the sending turn of an outbound SA (xform.h) ------------------------ */

static void turn_note(struct xform_scratch *s, struct sa *sa, unsigned worker)
{
	__atomic_store_n(&sa->tx_holder, worker + 1, __ATOMIC_RELAXED);
	s->held[s->nheld++] = sa;
}

/* Take the SA's turn if it is free and nobody waits for it. */
static bool turn_try(struct xform_scratch *s, struct sa *sa, unsigned worker)
{
	uint32_t t;

	if (!sa || __atomic_load_n(&sa->tx_holder, __ATOMIC_RELAXED) == worker + 1)
		return true;
	if (s->nheld == XFORM_HELD_MAX)
		return false;
	t = __atomic_load_n(&sa->tx_serving, __ATOMIC_ACQUIRE);
	if (!__atomic_compare_exchange_n(&sa->tx_next, &t, t + 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return false;
	turn_note(s, sa, worker);
	return true;
}

void xform_wait_turn(struct xform_scratch *s, unsigned worker)
{
	struct sa *sa = s->busy;
	uint32_t t;

	s->busy = NULL;
	if (!sa || s->nheld == XFORM_HELD_MAX)
		return;
	/* seq_cst with xform_release's store and load: either it sees our
	 * ticket and wakes us, or we see its new tx_serving */
	t = __atomic_fetch_add(&sa->tx_next, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t v = __atomic_load_n(&sa->tx_serving, __ATOMIC_SEQ_CST);

		if (v == t)
			break;
		/* Asleep until the holder has sent its batch: spinning with
		 * sched_yield took the CPU the holder and everything else on
		 * this box needed (30-45% less through one SA with many flows). */
		syscall(SYS_futex, &sa->tx_serving, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
	}
	turn_note(s, sa, worker);
}

void xform_release(struct xform_scratch *s)
{
	for (unsigned i = 0; i < s->nheld; i++) {
		struct sa *sa = s->held[i];

		uint32_t next = __atomic_load_n(&sa->tx_serving, __ATOMIC_RELAXED) + 1;

		__atomic_store_n(&sa->tx_holder, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&sa->tx_serving, next, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&sa->tx_next, __ATOMIC_SEQ_CST) != next) /* someone waits */
			syscall(SYS_futex, &sa->tx_serving, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL,
				NULL, 0);
	}
	s->nheld = 0;
}

void xform_set_frag_rules(struct xform_scratch *s, unsigned mode, bool frag_after)
{
	s->df_bit = (uint8_t)mode;
	s->frag_after = frag_after;
}

/* ---- path MTU (RFC 4301 8.2) --------------------------------------------- */

void xform_learn_path_mtu(const struct sa *sa, uint32_t mtu, uint64_t ttl_s)
{
	struct sa *m = (struct sa *)sa; /* atomic fields of a shared SA */

	__atomic_store_n(&m->path_mtu_until, now_coarse_s() + ttl_s, __ATOMIC_RELAXED);
	__atomic_store_n(&m->path_mtu, mtu, __ATOMIC_RELEASE);
}

/* The length a len-byte packet (header h) has on the wire once b applied
 * it: an upper bound, IPComp taken as not shrinking it. */
static size_t wire_len(const struct bundle *b, bool tunnel, const struct iphdr_info *h,
		       size_t len)
{
	const struct sa *top = b->esp ? b->esp : b->ah;
	bool v6 = tunnel ? top->p.dst.af == AF_INET6 : h->ver == 6;
	size_t hdr = tunnel ? (v6 ? IPV6_HDR_LEN : IPV4_HDR_LEN) : h->hlen;
	size_t body = tunnel ? len : len - h->hlen;

	if (b->esp)
		body = esp_len_for(b->esp, body) + (b->esp->p.encap_dport ? UDP_HDR_LEN : 0);
	if (b->ah)
		body += ah_len(b->ah, v6);
	return hdr + body;
}

/* Is a tunnel mode packet over the path MTU sealed whole and the sealed
 * packet cut (send_cut), rather than fragmented before encryption or
 * answered with ICMP? */
static bool cut_after(const struct xform_scratch *s, const struct iphdr_info *h,
		      const struct pkt *p, size_t fit)
{
	const uint8_t *d = pkt_data(p);

	/* An IPv6 packet no longer than the 1280 every IPv6 link carries
	 * cannot be made smaller by its sender (RFC 8200 5): the tunnel sends
	 * it anyway and cuts the sealed packet itself (RFC 2473 7.1). */
	if (h->ver == 6)
		return fit < IPV6_MIN_MTU && p->len <= IPV6_MIN_MTU;
	/* IPv4 with DF: only if the outer DF is cleared (crypto ipsec df-bit
	 * clear: the operator lets the sealed packet be fragmented); without
	 * DF: crypto ipsec fragmentation after-encryption. */
	return (d[6] & 0x40) ? s->df_bit == DP_DF_CLEAR : s->frag_after;
}

/* XFORM_TOO_BIG (with o->max_inner) if p would exceed the path MTU
 * known for its peer, unless it is to be cut after sealing (cut_after:
 * o->frag_mtu). o->pmtu_ask if that MTU was never asked (a new SA:
 * its first packet, usually a small one, has it asked before a large one
 * follows) or is past its time (it is still applied until the answer
 * replaces it). */
static enum dp_drop pmtu_check(const struct xform_scratch *s, const struct bundle *b, bool tunnel,
			       const struct iphdr_info *h, const struct pkt *p,
			       struct xform_out *o)
{
	const struct sa *top = o->sa;
	uint32_t mtu = __atomic_load_n(&top->path_mtu, __ATOMIC_ACQUIRE);
	size_t n, fit;

	o->pmtu_ask = now_coarse_s() >= __atomic_load_n(&top->path_mtu_until, __ATOMIC_RELAXED);
	if (!mtu || (n = wire_len(b, tunnel, h, p->len)) <= mtu)
		return DROP_NONE;
	/* n - mtu too long; the padding to the cipher's block makes the
	 * last few bytes uneven either way */
	fit = p->len > n - mtu ? p->len - (n - mtu) : 0;
	while (fit > h->hlen && wire_len(b, tunnel, h, fit) > mtu)
		fit--;
	while (fit + 1 < p->len && wire_len(b, tunnel, h, fit + 1) <= mtu)
		fit++;
	if (tunnel && cut_after(s, h, p, fit)) {
		o->frag_mtu = mtu; /* the peer's kernel puts it back together */
		return DROP_NONE;
	}
	o->max_inner = fit;
	return XFORM_TOO_BIG;
}

/* The packet against the SA's selectors, which are written local ->
 * remote (sa.h): inbound (decapsulated) packets match them reversed.
 * RFC 4301 5.2: a decapsulated packet that does not match is dropped.
 * RFC 4301 5.1: a packet leaves only on an SA whose selectors match it.
 * The policy that chose an outbound SA may be wider than the SA: a tunnel
 * interface's is any/any (everything routed into it), a crypto map's the
 * ACL line, and the peer may have narrowed the child to a part of it (RFC
 * 7296 2.9). What falls outside would only be discarded by the peer
 * (strongSwan: "discarding inbound IP packet ... due to policy"): it is
 * dropped here, counted on the SA, where `show crypto ipsec sa detail`
 * shows it. */
static enum dp_drop policy_check(const struct sa *sa, const struct pkt *p, bool inbound)
{
	struct flow f;

	if (sa->p.sel.n == 0)
		return DROP_NONE;
	if (!flow_from_packet(pkt_data(p), p->len, &f))
		return DROP_MALFORMED;
	return ts_list_match(&sa->p.sel, &f, inbound) ? DROP_NONE : DROP_POLICY;
}

enum dp_drop xform_output(struct sad *sad, const struct policy *pol, const struct flow *f,
			  unsigned worker, struct xform_scratch *s, struct pkt *p,
			  struct xform_out *o)
{
	struct bundle b = {0};
	struct iphdr_info h;
	struct pkt q;
	uint8_t nh, oh[IPV6_HDR_LEN], *d;
	size_t hlen, nh_off;
	bool tunnel = pol->mode == IPSEC_MODE_TUNNEL, udp = false;
	enum dp_drop r;

	memset(o, 0, sizeof(*o));
	b.esp = sad_lookup_out_flow(sad, pol->reqid, IPSEC_PROTO_ESP, f);
	b.ah = sad_lookup_out_flow(sad, pol->reqid, IPSEC_PROTO_AH, f);
	b.comp = b.esp ? sad_lookup_out_flow(sad, pol->reqid, IPSEC_PROTO_COMP, f) : NULL;
	if (!b.esp && !b.ah)
		return DROP_NO_OUT_SA;
	s->busy = !turn_try(s, b.ah, worker) ? b.ah : !turn_try(s, b.esp, worker) ? b.esp : NULL;
	if (s->busy)
		return XFORM_SA_BUSY;
	o->sa = b.ah ? b.ah : b.esp;
	if (!iphdr_parse(pkt_data(p), p->len, true, &h) || h.tot_len > p->len)
		return count_drop(b.ah ? b.ah : b.esp, worker, DROP_MALFORMED);
	p->len = h.tot_len;
	r = f ? DROP_NONE : policy_check(b.ah ? b.ah : b.esp, p, false); /* f: chosen by it */
	if (r != DROP_NONE)
		return count_drop(b.ah ? b.ah : b.esp, worker, r);
	r = pmtu_check(s, &b, tunnel, &h, p, o);
	if (r != DROP_NONE)
		return r;
	r = bundle_account(sad, &b, worker, p->len);
	if (r != DROP_NONE)
		return r;

	q = *p;
	if (tunnel) {
		nh = h.ver == 4 ? IPPROTO_NUM_IPIP : IPPROTO_NUM_IPV6;
		hlen = outer_build(s, b.esp ? b.esp : b.ah, pkt_data(p), oh, 0, o->frag_mtu != 0);
		nh_off = hlen == IPV4_HDR_LEN ? 9 : 6;
	} else {
		nh = h.nh;
		hlen = h.hlen;
		nh_off = h.nh_off;
		if (hlen > sizeof(s->hdr))
			return count_drop(b.ah ? b.ah : b.esp, worker, DROP_TOO_BIG);
		/* ESP's header will overwrite it: keep a copy */
		memcpy(s->hdr, pkt_data(p), hlen);
		q.off += hlen;
		q.len -= hlen;
	}
	/* The seal may wait for the batch unless something after it reads
	 * the ciphertext: AH over ESP, the UDP checksum over IPv6. */
	s->defer_failed = s->mb && b.esp && !b.ah &&
					  !(b.esp->p.encap_dport && b.esp->p.dst.af == AF_INET6)
				  ? &o->seal_failed
				  : NULL;
	r = protect_payload(&b, worker, s, &q, &nh, &udp);
	s->defer_failed = NULL;
	if (r != DROP_NONE)
		return r;
	if (q.off < hlen || q.len + hlen > PKT_MAX_DATA)
		return count_drop(b.ah ? b.ah : b.esp, worker, DROP_TOO_BIG);
	memcpy(q.buf + q.off - hlen, tunnel ? oh : s->hdr, hlen);
	p->off = q.off - hlen;
	p->len = q.len + hlen;
	d = pkt_data(p);
	d[nh_off] = nh;
	iphdr_set_len(d, p->len);
	if (udp && d[0] >> 4 == 6) /* the UDP checksum is mandatory over IPv6 */
		l4_csum_set(d, hlen, p->len, IPPROTO_NUM_UDP);
	if (b.ah) {
		r = ah_encap(b.ah, worker, s, p, hlen, nh_off);
		if (r != DROP_NONE)
			return count_drop(b.ah, worker, r);
	}
	out_fill(o, p, &b, udp, hlen);
	if (b.esp)
		count_ok(b.esp, worker, p->len);
	if (b.ah)
		count_ok(b.ah, worker, p->len);
	return DROP_NONE;
}

/* ---- inbound ----------------------------------------------------------- */

/* The protected part of p, after the hlen-byte IP header. */
static struct pkt sub_pkt(const struct pkt *p, size_t hlen)
{
	struct pkt q = *p;

	q.off += hlen;
	q.len -= hlen;
	return q;
}

/* Put the header back in front of the payload q and name its protocol. */
static void rejoin(struct pkt *p, const struct pkt *q, size_t hlen, size_t nh_off, uint8_t nh)
{
	memmove(q->buf + q->off - hlen, pkt_data(p), hlen);
	p->off = q->off - hlen;
	p->len = q->len + hlen;
	if (hlen) {
		pkt_data(p)[nh_off] = nh;
		iphdr_set_len(pkt_data(p), p->len);
	}
}

static struct sa *lookup_layer(struct sad *sad, const struct pkt *q, uint8_t nh)
{
	struct cur c = cur_init(pkt_data(q), q->len);
	uint32_t spi = 0;
	uint16_t cpi = 0;

	switch (nh) {
	case IPPROTO_NUM_ESP:
		if (!cur_u32(&c, &spi))
			return NULL;
		return sad_lookup_in(sad, spi, IPSEC_PROTO_ESP);
	case IPPROTO_NUM_AH:
		if (!cur_skip(&c, 4) || !cur_u32(&c, &spi))
			return NULL;
		return sad_lookup_in(sad, spi, IPSEC_PROTO_AH);
	default:
		if (!cur_skip(&c, 2) || !cur_u16(&c, &cpi))
			return NULL;
		return sad_lookup_in(sad, cpi, IPSEC_PROTO_COMP);
	}
}

/* One layer: verify and remove the AH, ESP or IPComp header at hlen. */
static enum dp_drop input_layer(struct sad *sad, unsigned worker, struct xform_scratch *s,
				struct pkt *p, size_t hlen, size_t nh_off, uint8_t *nh,
				struct sa **sa)
{
	struct pkt q = sub_pkt(p, hlen);
	enum dp_drop r;
	size_t room;

	*sa = lookup_layer(sad, &q, *nh);
	if (!*sa)
		return q.len < 8 ? DROP_MALFORMED : DROP_NO_SA;
	if (*nh == IPPROTO_NUM_AH) {
		if (hlen == 0)
			return DROP_MALFORMED;
		r = ah_decap(*sa, worker, s, p, hlen, nh_off);
		if (r == DROP_NONE)
			*nh = pkt_data(p)[nh_off];
		q = sub_pkt(p, hlen);
	} else if (*nh == IPPROTO_NUM_ESP) {
		r = esp_decap(*sa, worker, s, &q, nh);
		if (r == DROP_NONE)
			rejoin(p, &q, hlen, nh_off, *nh);
	} else {
		room = q.cap - q.off;
		if (room > PKT_MAX_DATA - hlen)
			room = PKT_MAX_DATA - hlen;
		r = ipcomp_decompress(s, &q, room, nh);
		if (r == DROP_NONE)
			rejoin(p, &q, hlen, nh_off, *nh);
	}
	if (r == DROP_NONE && !sad_account(sad, *sa, q.len))
		r = DROP_HARD_EXPIRED;
	if (r != DROP_NONE)
		return count_drop(*sa, worker, r);
	count_ok(*sa, worker, q.len);
	return DROP_NONE;
}

static bool is_ipsec(uint8_t nh)
{
	return nh == IPPROTO_NUM_ESP || nh == IPPROTO_NUM_AH || nh == IPPROTO_NUM_COMP;
}

/* Transport mode over UDP: the outer header was consumed by the socket;
 * rebuild one from the addresses it came with, and fix the TCP/UDP
 * checksum that NAT invalidated (RFC 3948 3.1.2). */
static enum dp_drop transport_header(struct pkt *p, const struct xform_in *in, uint8_t nh)
{
	size_t hl = in->src.af == AF_INET ? IPV4_HDR_LEN : IPV6_HDR_LEN;
	uint8_t *d;

	if (in->src.af != in->dst.af || (in->src.af != AF_INET && in->src.af != AF_INET6))
		return DROP_MALFORMED;
	if (p->off < hl || p->len + hl > PKT_MAX_DATA)
		return DROP_TOO_BIG;
	p->off -= hl;
	p->len += hl;
	d = pkt_data(p);
	memset(d, 0, hl);
	if (hl == IPV4_HDR_LEN) {
		d[0] = 0x45;
		d[8] = OUTER_TTL;
		d[9] = nh;
		memcpy(d + 12, &in->src.v4, 4);
		memcpy(d + 16, &in->dst.v4, 4);
	} else {
		d[0] = 0x60;
		d[6] = nh;
		d[7] = OUTER_TTL;
		memcpy(d + 8, &in->src.v6, 16);
		memcpy(d + 24, &in->dst.v6, 16);
	}
	iphdr_set_len(d, p->len);
	if (nh == IPPROTO_NUM_UDP || nh == 6)
		l4_csum_set(d, hl, p->len, nh);
	return DROP_NONE;
}

/* Tunnel mode: strip the outer header, check the inner one. */
static enum dp_drop tunnel_strip(struct pkt *p, size_t hlen, uint8_t nh)
{
	struct iphdr_info h;

	if (nh != IPPROTO_NUM_IPIP && nh != IPPROTO_NUM_IPV6)
		return DROP_MALFORMED;
	p->off += hlen;
	p->len -= hlen;
	if (!iphdr_parse(pkt_data(p), p->len, false, &h) || h.tot_len > p->len ||
	    (nh == IPPROTO_NUM_IPIP) != (h.ver == 4))
		return DROP_MALFORMED;
	p->len = h.tot_len;
	return DROP_NONE;
}

static enum dp_drop outer_parse(struct pkt *p, const struct xform_in *in, size_t *hlen,
				size_t *nh_off, uint8_t *nh)
{
	struct iphdr_info h;

	*hlen = *nh_off = 0;
	*nh = IPPROTO_NUM_ESP;
	if (in->udp)
		return DROP_NONE;
	if (!iphdr_parse(pkt_data(p), p->len, false, &h) || h.tot_len > p->len)
		return DROP_MALFORMED;
	/* Fragments are reassembled before us (RFC 4303 3.4.1). */
	if (h.ver == 4 && (get_be16(pkt_data(p) + 6) & 0x3fff))
		return DROP_MALFORMED;
	p->len = h.tot_len;
	*hlen = h.hlen;
	*nh_off = h.nh_off;
	*nh = h.nh;
	return is_ipsec(h.nh) ? DROP_NONE : DROP_MALFORMED;
}

/* ---- inbound ICVs computed ahead, in batches --------------------------- */

void xform_preverify_reset(struct xform_scratch *s)
{
	for (unsigned i = 0; i < s->nprever; i++)
		s->prever[i] = (struct esp_prever){0};
	s->nprever = 0;
	s->prever_cur = NULL;
}

static void prever_done(void *user, bool ok)
{
	((struct esp_prever *)user)->done = ok;
}

/* RFC 4303 3.4.4: the ICV covers ESP header, IV and ciphertext, and with
 * ESN seq-hi (3.3.2.1), which the replay window infers from seq-lo
 * (Appendix A): asked now, without updating it. */
int xform_preverify_add(struct sad *sad, struct xform_scratch *s, struct pkt *p,
			const struct xform_in *in)
{
	size_t hlen, nh_off, len, front, icv;
	struct esp_prever *v;
	uint64_t seq = 0;
	uint8_t nh, *esph;
	struct sa *sa;

	/* where xform_input will find the ESP header (it trims p the same) */
	if (!s->mb || s->nprever >= XFORM_PREVER_MAX ||
	    outer_parse(p, in, &hlen, &nh_off, &nh) != DROP_NONE || nh != IPPROTO_NUM_ESP)
		return -1;
	esph = pkt_data(p) + hlen;
	len = p->len - hlen;
	if (len < ESP_HDR_LEN)
		return -1;
	sa = sad_lookup_in(sad, get_be32(esph), IPSEC_PROTO_ESP);
	if (!sa || !sa->mbk || !sa->encr_alg || !sa->integ_alg)
		return -1;
	if (sa->p.esn && xform_replay_check(sa, get_be32(esph + 4), &seq) != DROP_NONE)
		return -1; /* a replay: xform_input drops it */
	front = ESP_HDR_LEN + sa->encr_alg->iv_len;
	icv = sa->integ_alg->icv_len;
	if (len < front + icv + 2 || icv > sizeof(v->icv))
		return -1; /* xform_input says why */
	v = &s->prever[s->nprever];
	*v = (struct esp_prever){.sa = sa, .esph = esph, .len = len - icv, .esn = sa->p.esn,
				 .seq_hi = (uint32_t)(seq >> 32)};
	return (int)s->nprever++;
}

/* Fewer than MB_MIN_BATCH: not worth the library (xform_input computes
 * them one by one with OpenSSL). */
unsigned xform_preverify_run(struct xform_scratch *s)
{
	/* With ESN, seq-hi goes where the ICV starts for the computation
	 * (the first 4 of its 12 or more bytes), which is put back after. */
	uint8_t saved[XFORM_PREVER_MAX][4];
	unsigned n = 0;

	if (s->nprever < MB_MIN_BATCH)
		return 0;
	for (unsigned i = 0; i < s->nprever; i++) {
		struct esp_prever *v = &s->prever[i];

		if (v->esn) {
			memcpy(saved[i], v->esph + v->len, 4);
			put_be32(v->esph + v->len, v->seq_hi);
		}
		if (mb_hmac_queue(s->mb, v->sa->mbk, v->esph, v->len + (v->esn ? 4 : 0), v->icv,
				  v) == 0)
			n++;
	}
	mb_flush(s->mb, prever_done);
	for (unsigned i = s->nprever; i-- > 0;) /* last first: the first saved is the original */
		if (s->prever[i].esn)
			memcpy(s->prever[i].esph + s->prever[i].len, saved[i], 4);
	return n;
}

void xform_preverify_use(struct xform_scratch *s, int slot)
{
	s->prever_cur = slot >= 0 && (unsigned)slot < s->nprever ? &s->prever[slot] : NULL;
}

static enum dp_drop input(struct sad *sad, unsigned worker, struct xform_scratch *s, struct pkt *p,
			  const struct xform_in *in, struct sa **sa_out);

enum dp_drop xform_input(struct sad *sad, unsigned worker, struct xform_scratch *s,
			 struct pkt *p, const struct xform_in *in, struct sa **sa_out)
{
	enum dp_drop r = input(sad, worker, s, p, in, sa_out);

	s->prever_cur = NULL; /* good for this packet only */
	return r;
}

static enum dp_drop input(struct sad *sad, unsigned worker, struct xform_scratch *s, struct pkt *p,
			  const struct xform_in *in, struct sa **sa_out)
{
	struct sa *sa = NULL, *last = NULL;
	size_t hlen, nh_off;
	uint8_t nh;
	enum dp_drop r;

	*sa_out = NULL;
	r = outer_parse(p, in, &hlen, &nh_off, &nh);
	if (r != DROP_NONE)
		return r;
	/* AH, then ESP, then IPComp: loop while the next protocol is one of
	 * ours (at most one of each). */
	for (int layer = 0; layer < 3 && is_ipsec(nh); layer++) {
		r = input_layer(sad, worker, s, p, hlen, nh_off, &nh, &sa);
		if (sa)
			*sa_out = sa;
		if (r != DROP_NONE)
			return r;
		if (sa->p.proto != IPSEC_PROTO_COMP)
			last = sa;
	}
	if (!last) /* IPComp alone protects nothing */
		return count_drop(sa, worker, DROP_POLICY);
	*sa_out = last;
	if (last->p.mode == IPSEC_MODE_TUNNEL)
		r = tunnel_strip(p, hlen, nh);
	else if (hlen == 0)
		r = transport_header(p, in, nh);
	if (r == DROP_NONE)
		r = policy_check(last, p, true);
	return count_drop(last, worker, r);
}
