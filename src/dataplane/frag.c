/* Packets that do not fit the path MTU once protected (RFC 4301 8.2):
 * IPv4 fragmentation before encryption (RFC 791 3.2) for packets without
 * DF, and the ICMP "fragmentation needed" (RFC 792, RFC 1191 4) and
 * ICMPv6 "packet too big" (RFC 4443 3.2) messages for the others. Pure
 * functions over the packet bytes; the worker sends what they build. */
#include <string.h>

#include "dataplane/internal.h"
#include "dataplane/xform_int.h"
#include "lib/cursor.h"

/* The options a fragment after the first carries: those with the copied
 * flag (RFC 791 3.1), padded with end-of-list to 32 bits. Returns their
 * length; false if the options are malformed. */
static bool copied_opts(const uint8_t *opt, size_t len, uint8_t *out, size_t *olen)
{
	struct cur c = cur_init(opt, len);
	size_t n = 0;
	uint8_t t, l;
	const uint8_t *v;

	while (cur_u8(&c, &t) && t != 0 /* end of list */) {
		if (t == 1) /* no-operation: not copied */
			continue;
		if (!cur_u8(&c, &l) || l < 2 || !cur_view(&c, &v, l - 2u))
			return false;
		if (t & 0x80) {
			out[n] = t;
			out[n + 1] = l;
			memcpy(out + n + 2, v, l - 2u);
			n += l;
		}
	}
	while (n % 4)
		out[n++] = 0;
	*olen = n;
	return true;
}

bool ip4_frag_plan(const uint8_t *d, size_t len, size_t mtu, struct ip4_frag_plan *fp)
{
	size_t hl, olen;
	uint16_t fo;

	memset(fp, 0, sizeof(*fp));
	if (len < 20 || d[0] >> 4 != 4)
		return false;
	hl = (size_t)(d[0] & 0x0f) * 4;
	if (hl < 20 || hl >= len || get_be16(d + 2) != len || (get_be16(d + 6) & 0x4000) /* DF */)
		return false; /* also: no payload to cut */
	if (mtu < hl + 8 || mtu > 65535)
		return false;
	if (!copied_opts(d + 20, hl - 20, fp->opts, &olen))
		return false;
	fo = get_be16(d + 6);
	fp->hlen = hl;
	fp->hlen_rest = 20 + olen;
	fp->chunk = (mtu - hl) & ~(size_t)7; /* every fragment but the last: a multiple of 8 */
	fp->off0 = (size_t)(fo & 0x1fff) * 8;
	fp->mf = fo & 0x2000;
	fp->nfrag = (unsigned)((len - hl + fp->chunk - 1) / fp->chunk);
	if (fp->off0 + (len - hl) > 65535 - 20)
		return false;
	return true;
}

size_t ip4_frag_build(const uint8_t *d, size_t len, const struct ip4_frag_plan *fp, unsigned i,
		      uint8_t *out)
{
	size_t start = (size_t)i * fp->chunk, n = len - fp->hlen - start;
	size_t hl = i ? fp->hlen_rest : fp->hlen;
	bool last = i + 1 == fp->nfrag;

	if (n > fp->chunk)
		n = fp->chunk;
	memcpy(out, d, 20);
	if (i)
		memcpy(out + 20, fp->opts, hl - 20);
	else
		memcpy(out + 20, d + 20, hl - 20);
	out[0] = (uint8_t)(0x40 | hl / 4);
	put_be16(out + 6, (uint16_t)((last && !fp->mf ? 0 : 0x2000) | (fp->off0 + start) / 8));
	memcpy(out + hl, d + fp->hlen + start, n);
	iphdr_set_len(out, hl + n); /* and the header checksum */
	return hl + n;
}

size_t ip6_frag_count(size_t len, size_t mtu)
{
	size_t chunk;

	if (len <= IPV6_HDR_LEN || mtu < IPV6_HDR_LEN + 8 + 8 || len - IPV6_HDR_LEN > 65535)
		return 0;
	chunk = (mtu - IPV6_HDR_LEN - 8) & ~(size_t)7;
	return (len - IPV6_HDR_LEN + chunk - 1) / chunk;
}

size_t ip6_frag_build(const uint8_t *d, size_t len, size_t mtu, uint32_t id, unsigned i,
		      uint8_t *out)
{
	size_t chunk = (mtu - IPV6_HDR_LEN - 8) & ~(size_t)7, start = (size_t)i * chunk;
	size_t n = len - IPV6_HDR_LEN - start;
	bool last = n <= chunk;

	if (!last)
		n = chunk;
	memcpy(out, d, IPV6_HDR_LEN);
	out[6] = 44; /* a Fragment header follows (RFC 8200 4.5) */
	put_be16(out + 4, (uint16_t)(8 + n));
	out[40] = d[6]; /* the packet's own next header */
	out[41] = 0;
	put_be16(out + 42, (uint16_t)(start | (last ? 0 : 1))); /* offset in 8-octet units << 3, M */
	put_be32(out + 44, id);
	memcpy(out + 48, d + IPV6_HDR_LEN + start, n);
	return 48 + n;
}

/* ICMP errors are not sent about ICMP errors, non-first fragments, or
 * packets from or to addresses that name no single host (RFC 1122
 * 3.2.2, RFC 4443 2.4 e). */
static bool icmp4_may_answer(const uint8_t *d, size_t len, size_t hl)
{
	uint8_t s0 = d[12], d0 = d[16];

	if ((get_be16(d + 6) & 0x1fff) != 0)
		return false;
	if (s0 == 0 || s0 >= 224 || d0 >= 224 || s0 == 127)
		return false;
	if (d[9] == 1 && len > hl) { /* ICMP: only about queries */
		uint8_t t = d[hl];
		return t == 0 || t == 8 || t == 13 || t == 14 || t == 17 || t == 18;
	}
	return true;
}

size_t icmp4_frag_needed(const uint8_t *d, size_t len, uint16_t mtu, uint8_t *out)
{
	size_t hl, quote;

	if (len < 20 || d[0] >> 4 != 4)
		return 0;
	hl = (size_t)(d[0] & 0x0f) * 4;
	if (hl < 20 || hl > len || !icmp4_may_answer(d, len, hl))
		return 0;
	quote = hl + 8 < len ? hl + 8 : len; /* the header and 64 bits (RFC 792) */
	memset(out, 0, 8);
	out[0] = 3; /* destination unreachable */
	out[1] = 4; /* fragmentation needed and DF set */
	put_be16(out + 6, mtu); /* next-hop MTU (RFC 1191 4) */
	memcpy(out + 8, d, quote);
	put_be16(out + 2, ip_csum(out, 8 + quote, 0));
	return 8 + quote;
}

static bool v6_unicast(const uint8_t *a)
{
	static const uint8_t zero[16];

	return a[0] != 0xff && memcmp(a, zero, 16) != 0;
}

size_t icmp6_packet_too_big(const uint8_t *d, size_t len, uint32_t mtu, uint8_t *out)
{
	size_t quote;

	if (len < 40 || d[0] >> 4 != 6 || !v6_unicast(d + 8) || !v6_unicast(d + 24))
		return 0;
	if (d[6] == 58 && len > 40 && d[40] < 128) /* an ICMPv6 error (RFC 4443 2.4 e) */
		return 0;
	/* as much of the packet as fits in the minimum MTU (RFC 4443 3.2) */
	quote = len < 1280 - 40 - 8 ? len : 1280 - 40 - 8;
	memset(out, 0, 8);
	out[0] = 2; /* packet too big; the kernel fills the checksum */
	out[4] = (uint8_t)(mtu >> 24);
	out[5] = (uint8_t)(mtu >> 16);
	out[6] = (uint8_t)(mtu >> 8);
	out[7] = (uint8_t)mtu;
	memcpy(out + 8, d, quote);
	return 8 + quote;
}
