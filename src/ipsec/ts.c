/* Traffic selectors and the flow (selector fields) of a clear packet.
 * RFC 4301 4.4.1.1 (selectors), RFC 7296 3.13.1 (ICMP type/code as a
 * 16-bit "port"). Every packet byte is read through struct cur. */
#include "ipsec/ts.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lib/cursor.h"

#define IPV6_MAX_EXT 16 /* extension headers we walk before giving up */

/* Upper-layer protocols whose first four bytes are source and destination
 * ports: TCP, UDP, DCCP, SCTP, UDP-Lite. */
static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == 33 ||
	       proto == 132 || proto == 136;
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* Ports or ICMP type/code from the start of the upper-layer header. */
static bool parse_l4(struct cur *c, struct flow *f)
{
	uint8_t type, code;

	if (has_ports(f->proto))
		return cur_u16(c, &f->sport) && cur_u16(c, &f->dport);
	if (is_icmp(f->proto)) {
		if (!cur_u8(c, &type) || !cur_u8(c, &code))
			return false;
		f->dport = (uint16_t)(type << 8 | code);
	}
	return true;
}

/*  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * |         Identification        |Flags|      Fragment Offset    |
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * |                       Source Address                          |
 * |                    Destination Address                        |
 * |                    Options (IHL > 5)                          |   RFC 791 */
static bool parse_v4(struct cur *pkt, struct flow *f)
{
	uint8_t vihl, proto;
	uint16_t tot, frag;
	const uint8_t *src, *dst;
	struct cur c = *pkt, l4;
	size_t hlen;

	if (!cur_u8(&c, &vihl) || !cur_skip(&c, 1) || !cur_u16(&c, &tot) || !cur_skip(&c, 2) ||
	    !cur_u16(&c, &frag) || !cur_skip(&c, 1) || !cur_u8(&c, &proto) || !cur_skip(&c, 2) ||
	    !cur_view(&c, &src, 4) || !cur_view(&c, &dst, 4))
		return false;
	hlen = (size_t)(vihl & 0x0f) * 4;
	if (hlen < 20 || tot < hlen || tot > cur_left(pkt))
		return false;
	/* restart from the packet start, bounded by the total length */
	c = *pkt;
	if (!cur_sub(&c, &l4, tot) || !cur_skip(&l4, hlen))
		return false;
	ip_addr_from_raw(&f->src, AF_INET, src);
	ip_addr_from_raw(&f->dst, AF_INET, dst);
	f->proto = proto;
	if (frag & 0x1fff) {
		f->opaque = true; /* non-initial fragment: no ports */
		return true;
	}
	return parse_l4(&l4, f);
}

/* IPv6 extension headers with the generic layout (RFC 8200 4.3-4.6):
 * Next Header, Hdr Ext Len in 8-octet units not counting the first 8. */
static bool is_generic_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS;
}

/* Walk the extension header chain to the upper-layer header. On return
 * *nh is the upper-layer protocol; *opaque is set for a non-initial
 * fragment (RFC 8200 4.5), after which nothing more can be read. */
static bool skip_v6_ext(struct cur *c, uint8_t *nh, bool *opaque)
{
	for (int i = 0; i < IPV6_MAX_EXT; i++) {
		uint8_t next, elen;
		uint16_t offflags;

		if (is_generic_ext(*nh)) {
			if (!cur_u8(c, &next) || !cur_u8(c, &elen) ||
			    !cur_skip(c, (size_t)elen * 8 + 6))
				return false;
		} else if (*nh == IPPROTO_FRAGMENT) {
			/* | Next Header | Reserved | Fragment Offset |Res|M| Identification | */
			if (!cur_u8(c, &next) || !cur_skip(c, 1) || !cur_u16(c, &offflags) ||
			    !cur_skip(c, 4))
				return false;
			if (offflags >> 3) {
				*nh = next;
				*opaque = true;
				return true;
			}
		} else {
			return true;
		}
		*nh = next;
	}
	return false; /* absurd chain: treat as malformed */
}

/* +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * |                 Source Address (16)  Destination Address (16) |  RFC 8200 */
static bool parse_v6(struct cur *pkt, struct flow *f)
{
	uint16_t plen;
	uint8_t nh;
	const uint8_t *src, *dst;
	struct cur c = *pkt, payload;

	if (!cur_skip(&c, 4) || !cur_u16(&c, &plen) || !cur_u8(&c, &nh) || !cur_skip(&c, 1) ||
	    !cur_view(&c, &src, 16) || !cur_view(&c, &dst, 16) || !cur_sub(&c, &payload, plen))
		return false;
	ip_addr_from_raw(&f->src, AF_INET6, src);
	ip_addr_from_raw(&f->dst, AF_INET6, dst);
	if (!skip_v6_ext(&payload, &nh, &f->opaque))
		return false;
	f->proto = nh;
	if (f->opaque)
		return true;
	return parse_l4(&payload, f);
}

bool flow_from_packet(const uint8_t *pkt, size_t len, struct flow *f)
{
	struct cur c = cur_init(pkt, len);
	uint8_t v;

	memset(f, 0, sizeof(*f));
	if (!cur_peek_u8(&c, 0, &v))
		return false;
	switch (v >> 4) {
	case 4:
		return parse_v4(&c, f);
	case 6:
		return parse_v6(&c, f);
	default:
		return false;
	}
}

static bool prefix_match(const struct ip_prefix *p, const struct ip_addr *a)
{
	return p->addr.af == 0 || ip_prefix_contains(p, a);
}

static bool range_full(uint16_t lo, uint16_t hi)
{
	return lo == 0 && hi == 0xffff;
}

static bool in_range(uint16_t v, uint16_t lo, uint16_t hi)
{
	return lo <= v && v <= hi;
}

/* fsport/fdport: the flow's ports already put in the selector's order. */
static bool ports_match(const struct ts *t, const struct flow *f, uint16_t fsport,
			uint16_t fdport)
{
	bool any = range_full(t->sport_lo, t->sport_hi) && range_full(t->dport_lo, t->dport_hi);

	if (any)
		return true;
	if (f->opaque)
		return false; /* RFC 4301 7: no ports in a non-initial fragment */
	if (is_icmp(f->proto)) /* one 16-bit type/code value, never swapped */
		return in_range(f->dport, t->sport_lo, t->sport_hi) &&
		       in_range(f->dport, t->dport_lo, t->dport_hi);
	if (!has_ports(f->proto))
		return false;
	return in_range(fsport, t->sport_lo, t->sport_hi) &&
	       in_range(fdport, t->dport_lo, t->dport_hi);
}

bool ts_match(const struct ts *t, const struct flow *f)
{
	if (t->proto && t->proto != f->proto)
		return false;
	return prefix_match(&t->src, &f->src) && prefix_match(&t->dst, &f->dst) &&
	       ports_match(t, f, f->sport, f->dport);
}

bool ts_match_reverse(const struct ts *t, const struct flow *f)
{
	if (t->proto && t->proto != f->proto)
		return false;
	return prefix_match(&t->src, &f->dst) && prefix_match(&t->dst, &f->src) &&
	       ports_match(t, f, f->dport, f->sport);
}

bool ts_list_match(const struct ts_list *l, const struct flow *f, bool reverse)
{
	unsigned n = l->n < TS_LIST_MAX ? l->n : TS_LIST_MAX;

	for (unsigned i = 0; i < n; i++) {
		if (reverse ? ts_match_reverse(&l->ts[i], f) : ts_match(&l->ts[i], f))
			return true;
	}
	return false;
}

void ts_any(struct ts *t, int af)
{
	memset(t, 0, sizeof(*t));
	t->src.addr.af = (uint8_t)af;
	t->dst.addr.af = (uint8_t)af;
	t->sport_hi = 0xffff;
	t->dport_hi = 0xffff;
}

static const char *prefix_or_any(const struct ip_prefix *p, char *buf)
{
	if (p->addr.af == 0)
		return "any";
	return ip_prefix_str(p, buf);
}

/* " sport 1024-65535" or " dport 80", nothing for the full range. */
static void range_str(const char *what, uint16_t lo, uint16_t hi, char *buf, size_t len)
{
	if (range_full(lo, hi))
		buf[0] = 0;
	else if (lo == hi)
		snprintf(buf, len, " %s %u", what, lo);
	else
		snprintf(buf, len, " %s %u-%u", what, lo, hi);
}

const char *ts_str(const struct ts *t, char *buf, size_t len)
{
	char s[IP_ADDR_STRLEN + 4], d[IP_ADDR_STRLEN + 4], proto[16] = "", sp[24], dp[24];

	if (t->proto)
		snprintf(proto, sizeof(proto), " proto %u", t->proto);
	range_str("sport", t->sport_lo, t->sport_hi, sp, sizeof(sp));
	range_str("dport", t->dport_lo, t->dport_hi, dp, sizeof(dp));
	snprintf(buf, len, "%s -> %s%s%s%s", prefix_or_any(&t->src, s), prefix_or_any(&t->dst, d),
		 proto, sp, dp);
	return buf;
}

const char *flow_str(const struct flow *f, char *buf, size_t len)
{
	char s[IP_ADDR_STRLEN], d[IP_ADDR_STRLEN];

	if (f->opaque || (!has_ports(f->proto) && !is_icmp(f->proto)))
		snprintf(buf, len, "%s -> %s proto %u%s", ip_addr_str(&f->src, s),
			 ip_addr_str(&f->dst, d), f->proto, f->opaque ? " fragment" : "");
	else if (is_icmp(f->proto))
		snprintf(buf, len, "%s -> %s proto %u type %u code %u", ip_addr_str(&f->src, s),
			 ip_addr_str(&f->dst, d), f->proto, f->dport >> 8, f->dport & 0xff);
	else
		snprintf(buf, len, "%s:%u -> %s:%u proto %u", ip_addr_str(&f->src, s), f->sport,
			 ip_addr_str(&f->dst, d), f->dport, f->proto);
	return buf;
}
