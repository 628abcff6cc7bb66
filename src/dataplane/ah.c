/* AH, RFC 4302.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Header   |  Payload Len  |          RESERVED             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Security Parameters Index (SPI)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Sequence Number Field                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Integrity Check Value-ICV (variable)           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Payload Len is the AH length in 32-bit words minus 2 (RFC 4302 2.2).
 * The ICV covers the IP header with its mutable fields zeroed, the AH
 * header with the ICV zeroed, the payload, and seq-hi with ESN.
 */
#include <string.h>

#include "crypto/cipher.h"
#include "dataplane/xform_int.h"
#include "lib/cursor.h"

/* IPv4 options that are immutable (RFC 4302 Appendix A.1): included in the
 * ICV. Every other option is zeroed whole (3.3.3.1.1.2). */
static bool v4_opt_immutable(uint8_t type)
{
	switch (type) {
	case 0:   /* end of options list */
	case 1:   /* no operation */
	case 130: /* security */
	case 133: /* extended security */
	case 134: /* commercial security */
	case 148: /* router alert */
	case 149: /* sender directed multi-destination delivery */
		return true;
	default:
		return false;
	}
}

static void v4_opts_zero(uint8_t *opt, size_t len)
{
	size_t i = 0;

	while (i < len) {
		struct cur c = cur_init(opt + i, len - i);
		uint8_t type = 0, olen = 0;

		cur_u8(&c, &type);
		if (type == 0) /* EOL: the rest is padding, left as sent */
			return;
		if (type == 1) {
			i++;
			continue;
		}
		if (!cur_u8(&c, &olen) || olen < 2 || olen > len - i) {
			memset(opt + i, 0, len - i); /* malformed: zero the rest */
			return;
		}
		if (!v4_opt_immutable(type))
			memset(opt + i, 0, olen);
		i += olen;
	}
}

/* RFC 4302 3.3.3.1.2.2: options whose type has the "may change" bit (0x20)
 * have their data zeroed; type and length stay in. */
static bool v6_opts_zero(uint8_t *eh, size_t len)
{
	size_t i = 2;

	while (i < len) {
		struct cur c = cur_init(eh + i, len - i);
		uint8_t type = 0, olen = 0;

		cur_u8(&c, &type);
		if (type == 0) { /* Pad1 */
			i++;
			continue;
		}
		if (!cur_u8(&c, &olen) || (size_t)olen + 2 > len - i)
			return false;
		if (type & 0x20)
			memset(eh + i + 2, 0, olen);
		i += 2 + (size_t)olen;
	}
	return true;
}

/* Zero the mutable fields of the header copy h[0..hlen) (RFC 4302
 * 3.3.3.1). IPv6 routing headers are supported only at their final
 * destination (segments left 0), when the header is as the sender saw it
 * at the end of its route computation. */
static bool ip_mutable_zero(uint8_t *h, size_t hlen)
{
	if (hlen < IPV4_HDR_LEN)
		return false;
	if (h[0] >> 4 == 4) {
		h[1] = 0;                 /* TOS (DSCP, ECN) */
		h[6] = h[7] = 0;          /* flags, fragment offset */
		h[8] = 0;                 /* TTL */
		h[10] = h[11] = 0;        /* header checksum */
		v4_opts_zero(h + IPV4_HDR_LEN, hlen - IPV4_HDR_LEN);
		return true;
	}
	if (hlen < IPV6_HDR_LEN)
		return false;
	h[0] &= 0xf0; /* traffic class and flow label */
	h[1] = h[2] = h[3] = 0;
	h[7] = 0;     /* hop limit */
	uint8_t nh = h[6];
	size_t off = IPV6_HDR_LEN;
	while (off < hlen) {
		struct cur c = cur_init(h + off, hlen - off);
		uint8_t next = 0, l = 0, rtype = 0, segs = 0;
		size_t elen;

		if (!cur_u8(&c, &next) || !cur_u8(&c, &l))
			return false;
		elen = ((size_t)l + 1) * 8;
		if (elen > hlen - off)
			return false;
		if (nh == IPPROTO_NUM_HOPOPTS || nh == IPPROTO_NUM_DSTOPTS) {
			if (!v6_opts_zero(h + off, elen))
				return false;
		} else if (nh == IPPROTO_NUM_ROUTING) {
			if (!cur_u8(&c, &rtype) || !cur_u8(&c, &segs) || segs != 0)
				return false;
		} else if (nh != IPPROTO_NUM_FRAGMENT) {
			return false;
		}
		nh = next;
		off += elen;
	}
	return true;
}

static size_t ah_icv_len(const struct sa *sa)
{
	const struct integ_alg *i = sa->integ_alg;

	return i ? i->icv_len : 0;
}

/* AH length: header + ICV padded to 32 bits (IPv4) or 64 bits (IPv6),
 * RFC 4302 2.6 and 3.3.3.2.1. */
static size_t ah_len_for(size_t icv, bool v6)
{
	size_t align = v6 ? 8 : 4;

	return (AH_HDR_LEN + icv + align - 1) / align * align;
}

size_t ah_len(const struct sa *sa, bool v6)
{
	return ah_len_for(ah_icv_len(sa), v6);
}

/* Build the pieces: zeroed copy of IP header + AH (ICV field zeroed) in
 * scratch, then the payload, then seq-hi (RFC 4302 3.3.3.2.2). */
static bool ah_pieces(const struct sa *sa, struct xform_scratch *s, const struct pkt *p,
		      size_t hlen, size_t ahlen, const uint8_t *seq_hi, struct aad *pc)
{
	const uint8_t *d = pkt_data(p);

	if (hlen + ahlen > sizeof(s->hdr))
		return false;
	memcpy(s->hdr, d, hlen + AH_HDR_LEN);
	memset(s->hdr + hlen + AH_HDR_LEN, 0, ahlen - AH_HDR_LEN);
	if (!ip_mutable_zero(s->hdr, hlen))
		return false;
	memset(pc, 0, sizeof(*pc));
	pc->p[0] = s->hdr;
	pc->len[0] = hlen + ahlen;
	pc->p[1] = d + hlen + ahlen;
	pc->len[1] = p->len - hlen - ahlen;
	pc->n = 2;
	if (sa->p.esn) {
		pc->p[2] = seq_hi;
		pc->len[2] = 4;
		pc->n = 3;
	}
	return true;
}

enum dp_drop ah_encap(struct sa *sa, unsigned worker, struct xform_scratch *s, struct pkt *p,
		      size_t hlen, size_t nh_off)
{
	uint8_t *d, seq_hi[4], icvbuf[XFORM_ICV_MAX];
	size_t icv = ah_icv_len(sa), ahlen;
	struct aad pc;
	uint64_t seq;
	enum dp_drop r;

	if (worker >= sa->nworkers || !sa->wk[worker].mac || icv == 0 || icv > XFORM_ICV_MAX)
		return DROP_INTERNAL;
	ahlen = ah_len_for(icv, pkt_data(p)[0] >> 4 == 6);
	if (p->off < ahlen || p->len + ahlen > PKT_MAX_DATA)
		return DROP_TOO_BIG;
	r = xform_seq_next(sa, &seq);
	if (r != DROP_NONE)
		return r;
	p->off -= ahlen;
	d = pkt_data(p);
	memmove(d, d + ahlen, hlen);
	p->len += ahlen;
	d[hlen] = d[nh_off];
	d[hlen + 1] = (uint8_t)(ahlen / 4 - 2);
	d[hlen + 2] = d[hlen + 3] = 0;
	put_be32(d + hlen + 4, sa->p.spi);
	put_be32(d + hlen + 8, (uint32_t)seq);
	memset(d + hlen + AH_HDR_LEN, 0, ahlen - AH_HDR_LEN);
	d[nh_off] = IPPROTO_NUM_AH;
	iphdr_set_len(d, p->len);

	put_be32(seq_hi, (uint32_t)(seq >> 32));
	if (!ah_pieces(sa, s, p, hlen, ahlen, seq_hi, &pc))
		return DROP_MALFORMED;
	if (mac_compute(sa->wk[worker].mac, &pc, icvbuf) != 0)
		return DROP_INTERNAL;
	memcpy(d + hlen + AH_HDR_LEN, icvbuf, icv);
	secret_wipe(icvbuf, sizeof(icvbuf));
	return DROP_NONE;
}

enum dp_drop ah_decap(struct sa *sa, unsigned worker, struct xform_scratch *s, struct pkt *p,
		      size_t hlen, size_t nh_off)
{
	uint8_t *d = pkt_data(p), seq_hi[4], next = 0, plen = 0;
	size_t icv = ah_icv_len(sa), ahlen;
	struct cur c;
	uint32_t spi, seq_lo;
	uint64_t seq;
	struct aad pc;
	enum dp_drop r;

	if (worker >= sa->nworkers || !sa->wk[worker].mac || icv == 0)
		return DROP_INTERNAL;
	if (hlen > p->len)
		return DROP_MALFORMED;
	c = cur_init(d + hlen, p->len - hlen);
	if (!cur_u8(&c, &next) || !cur_u8(&c, &plen) || !cur_skip(&c, 2) || !cur_u32(&c, &spi) ||
	    !cur_u32(&c, &seq_lo))
		return DROP_MALFORMED;
	ahlen = ((size_t)plen + 2) * 4;
	if (ahlen != ah_len_for(icv, d[0] >> 4 == 6) || ahlen > p->len - hlen)
		return DROP_MALFORMED;
	r = xform_replay_check(sa, seq_lo, &seq);
	if (r != DROP_NONE)
		return r;
	put_be32(seq_hi, (uint32_t)(seq >> 32));
	if (!ah_pieces(sa, s, p, hlen, ahlen, seq_hi, &pc))
		return DROP_MALFORMED;
	if (!mac_verify(sa->wk[worker].mac, &pc, d + hlen + AH_HDR_LEN))
		return DROP_ICV;
	r = xform_replay_update(sa, seq);
	if (r != DROP_NONE)
		return r;
	/* Remove AH: the header moves up against the payload. */
	d[nh_off] = next;
	memmove(d + ahlen, d, hlen);
	p->off += ahlen;
	p->len -= ahlen;
	iphdr_set_len(pkt_data(p), p->len);
	return DROP_NONE;
}
