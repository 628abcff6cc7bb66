/* Path MTU messages from routers on the way to a peer (RFC 4301 8.2.1):
 * ICMP "fragmentation needed" (RFC 792, RFC 1191 4) and ICMPv6 "packet
 * too big" (RFC 4443 3.2) that quote one of our ESP, AH or ESP-in-UDP
 * packets. The message is mapped to the outbound SA it names (quoted
 * addresses, protocol or UDP ports, SPI) and the MTU it carries is stored
 * in every outbound SA to that peer at once, so the next packet too big
 * for the path is fragmented before encryption or answered with ICMP to
 * its sender (worker.c too_big) instead of being lost at the router.
 *
 * The kernel applies the same message to its own PMTU cache, which the
 * raw socket enforces by refusing a send (worker.c learn_path_mtu); this
 * is what AF_XDP sends (never refused) and the first packets after the
 * message rely on. Worker 0 reads the messages on the ICMP sockets that
 * also send our "too big" messages (sock.c), at most PMTU_RX_PER_S a
 * second. The parsers are pure functions over the bytes (fuzzed:
 * tests/fuzz/fuzz_dataplane_pmtu.c). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "dataplane/internal.h"
#include "dataplane/xform_int.h"
#include "lib/cursor.h"

/* The smallest MTU a message is taken at, as the kernel does
 * (net.ipv4.route.min_pmtu, 552 by default; IPv6's minimum link MTU,
 * RFC 8200 5): a forged message cannot make our packets tiny. */
#define PMTU_FLOOR4 552u
#define PMTU_FLOOR6 1280u
#define PMTU_RX_PER_S 100u

/* The quoted packet: IPv4 or IPv6 header, then what follows it. */
static enum pmtu_parse quoted(struct cur *c, bool v6, struct pmtu_msg *m)
{
	const uint8_t *h, *l4;
	size_t hl;
	uint8_t proto;

	if (!v6) {
		uint8_t vihl;
		if (!cur_peek_u8(c, 0, &vihl) || vihl >> 4 != 4 || (vihl & 0x0f) < 5)
			return PMTU_BAD;
		hl = (size_t)(vihl & 0x0f) * 4;
		if (!cur_view(c, &h, hl))
			return PMTU_BAD;
		if ((get_be16(h + 6) & 0x1fff) != 0)
			return PMTU_FOREIGN; /* a later fragment: not one of ours */
		proto = h[9];
		ip_addr_from_raw(&m->src, AF_INET, h + 12);
		ip_addr_from_raw(&m->dst, AF_INET, h + 16);
	} else {
		if (!cur_view(c, &h, IPV6_HDR_LEN) || h[0] >> 4 != 6)
			return PMTU_BAD;
		proto = h[6]; /* ours carry no extension header */
		ip_addr_from_raw(&m->src, AF_INET6, h + 8);
		ip_addr_from_raw(&m->dst, AF_INET6, h + 24);
	}
	switch (proto) {
	case IPSEC_PROTO_ESP: /* SPI, sequence number */
		if (!cur_view(c, &l4, 4))
			return PMTU_BAD;
		m->spi = get_be32(l4);
		break;
	case IPSEC_PROTO_AH: /* next header, length, reserved, SPI (RFC 4302 2) */
		if (!cur_view(c, &l4, 8))
			return PMTU_BAD;
		m->spi = get_be32(l4 + 4);
		break;
	case 17: /* UDP: ESP-in-UDP (RFC 3948 2.2) if a non-zero SPI follows */
		if (!cur_view(c, &l4, 8))
			return PMTU_BAD;
		m->udp = true;
		m->sport = get_be16(l4);
		m->dport = get_be16(l4 + 2);
		/* a router need quote only 8 bytes past the header (RFC 792):
		 * then the ports alone name the SAs */
		if (cur_left(c) >= 4 && cur_view(c, &l4, 4)) {
			m->spi = get_be32(l4);
			if (m->spi == 0)
				return PMTU_FOREIGN; /* IKE (the non-ESP marker) */
		}
		proto = IPSEC_PROTO_ESP;
		break;
	default:
		return PMTU_FOREIGN;
	}
	m->proto = proto;
	return PMTU_OK;
}

enum pmtu_parse icmp4_pmtu_parse(const uint8_t *d, size_t len, struct pmtu_msg *m)
{
	struct cur c = cur_init(d, len), icmp;
	uint8_t vihl, type, code;
	uint16_t mtu;
	size_t hl;

	memset(m, 0, sizeof(*m));
	/* a raw IPv4 socket returns the IP header too */
	if (!cur_peek_u8(&c, 0, &vihl) || vihl >> 4 != 4 || (vihl & 0x0f) < 5)
		return PMTU_BAD;
	hl = (size_t)(vihl & 0x0f) * 4;
	if (len < hl + 8 || get_be16(d + 2) != len)
		return PMTU_BAD;
	ip_addr_from_raw(&m->from, AF_INET, d + 12);
	if (!cur_skip(&c, hl) || !cur_sub(&c, &icmp, len - hl))
		return PMTU_BAD;
	/* the kernel hands raw sockets the message before checking it */
	if (ip_csum(cur_ptr(&icmp), cur_left(&icmp), 0) != 0)
		return PMTU_BAD;
	if (!cur_u8(&icmp, &type) || !cur_u8(&icmp, &code) || !cur_skip(&icmp, 4) ||
	    !cur_u16(&icmp, &mtu))
		return PMTU_BAD;
	if (type != 3 || code != 4) /* destination unreachable, fragmentation needed */
		return PMTU_NOT;
	m->mtu = mtu; /* 0 from a router older than RFC 1191: no size to take */
	return mtu ? quoted(&icmp, false, m) : PMTU_BAD;
}

enum pmtu_parse icmp6_pmtu_parse(const uint8_t *d, size_t len, const struct ip_addr *from,
                                 struct pmtu_msg *m)
{
	struct cur c = cur_init(d, len);
	uint8_t type, code;

	memset(m, 0, sizeof(*m));
	m->from = *from;
	/* no IPv6 header (RFC 3542 3); the kernel checked the checksum */
	if (!cur_u8(&c, &type) || !cur_u8(&c, &code) || !cur_skip(&c, 2) || !cur_u32(&c, &m->mtu))
		return PMTU_BAD;
	if (type != 2) /* packet too big */
		return PMTU_NOT;
	return quoted(&c, true, m);
}

/* ---- applying a message (worker 0) ---------------------------------------- */

struct pmtu_match {
	const struct pmtu_msg *m;
	uint32_t mtu;        /* the floor applied */
	const struct sa *sa; /* the SA the message names (first pass) */
	unsigned lowered;    /* SAs to the peer that took the MTU (second pass) */
	uint32_t was;
};

/* Is sa the outbound SA whose packet m quotes? */
static bool names_sa(const struct sa *sa, const struct pmtu_msg *m)
{
	const struct sa_params *p = &sa->p;

	if (p->dir != SA_DIR_OUT || !ip_addr_eq(&p->dst, &m->dst) || !ip_addr_eq(&p->src, &m->src))
		return false;
	if (m->udp) {
		if (!p->encap_dport || p->encap_sport != m->sport || p->encap_dport != m->dport)
			return false;
		return !m->spi || (p->proto == IPSEC_PROTO_ESP && p->spi == m->spi);
	}
	return !p->encap_dport && p->proto == m->proto && p->spi == m->spi;
}

static void find_sa(struct sa *sa, void *arg)
{
	struct pmtu_match *x = arg;

	if (!x->sa && names_sa(sa, x->m))
		x->sa = sa;
}

/* The path is the peer's: every outbound SA to it takes a lower MTU. */
static void lower_peer(struct sa *sa, void *arg)
{
	struct pmtu_match *x = arg;
	uint32_t known;

	if (sa->p.dir != SA_DIR_OUT || !ip_addr_eq(&sa->p.dst, &x->m->dst))
		return;
	known = __atomic_load_n(&sa->path_mtu, __ATOMIC_RELAXED);
	if (known && known <= x->mtu)
		return;
	if (!x->lowered)
		x->was = known;
	xform_learn_path_mtu(sa, x->mtu, DP_PMTU_TTL_S);
	x->lowered++;
}

static void pmtu_ignored(struct dp_worker *w, const struct pmtu_msg *m, const char *why)
{
	char f[IP_ADDR_STRLEN], d[IP_ADDR_STRLEN];

	stat_add(&w->stats.s.pmtu_icmp_ignored, 1);
	log_rl(&w->dp->rl_drop, LOG_LVL_INFO, "dp: path MTU message from %s ignored: %s%s%s",
	       m->from.af ? ip_addr_str(&m->from, f) : "?", why, m->dst.af ? ", for " : "",
	       m->dst.af ? ip_addr_str(&m->dst, d) : "");
}

static void pmtu_apply(struct dp_worker *w, const struct pmtu_msg *m)
{
	struct pmtu_match x = {.m = m};
	uint32_t floor = m->dst.af == AF_INET6 ? PMTU_FLOOR6 : PMTU_FLOOR4;
	char f[IP_ADDR_STRLEN], d[IP_ADDR_STRLEN];

	sad_foreach(w->dp->sad, find_sa, &x);
	if (!x.sa) {
		pmtu_ignored(w, m,
		             "it quotes no packet of an outbound SA (addresses, protocol, "
		             "ports or SPI)");
		return;
	}
	stat_add(&w->stats.s.pmtu_icmp_rx, 1);
	x.mtu = m->mtu < floor ? floor : m->mtu;
	sad_foreach(w->dp->sad, lower_peer, &x);
	if (x.lowered)
		log_rl(&w->dp->rl_io, LOG_LVL_INFO,
		       "dp: path MTU to %s is %u: ICMP from %s%s (was %u; %u outbound SA(s))",
		       ip_addr_str(&m->dst, d), x.mtu, ip_addr_str(&m->from, f),
		       m->mtu < floor ? ", raised to the floor" : "", x.was, x.lowered);
}

/* May worker w take one more message this second? */
static bool pmtu_budget(struct dp_worker *w)
{
	uint64_t now = now_coarse_s();

	if (now != w->pmtu_sec) {
		w->pmtu_sec = now;
		w->pmtu_left = PMTU_RX_PER_S;
	}
	if (!w->pmtu_left)
		return false;
	w->pmtu_left--;
	return true;
}

void pmtu_icmp_rx(struct dp_worker *w, int fd, bool v6)
{
	uint8_t buf[1500];
	struct sockaddr_storage ss;
	struct pmtu_msg m;
	struct ip_addr from;
	enum pmtu_parse r;

	for (int i = 0; i < DP_BATCH; i++) {
		socklen_t sl = sizeof(ss);
		ssize_t n =
		    recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_rl(&w->dp->rl_io, LOG_LVL_WARN, "dp: ICMP%s receive: %s",
				       v6 ? "v6" : "", strerror(errno));
			return;
		}
		if (v6) {
			if (sl < sizeof(struct sockaddr_in6) ||
			    !ip_addr_from_sockaddr((struct sockaddr *)&ss, &from, NULL))
				memset(&from, 0, sizeof(from));
			r = icmp6_pmtu_parse(buf, (size_t)n, &from, &m);
		} else {
			r = icmp4_pmtu_parse(buf, (size_t)n, &m);
		}
		/* another destination unreachable, or about the host's own
		 * traffic (not an ESP, AH or NAT-T packet): not ours to read */
		if (r == PMTU_NOT || r == PMTU_FOREIGN ||
		    (r == PMTU_OK && m.udp && m.sport != w->dp->socks.natt_port))
			continue;
		if (!pmtu_budget(w))
			pmtu_ignored(w, &m, "more than 100 a second");
		else if (r == PMTU_BAD)
			pmtu_ignored(w, &m,
			             "malformed (length, checksum, quoted header or no MTU)");
		else
			pmtu_apply(w, &m);
	}
}
