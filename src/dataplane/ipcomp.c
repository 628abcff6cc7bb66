/* IPComp, RFC 3173, with DEFLATE (RFC 2394: raw deflate, no zlib header).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Header  |     Flags     | Compression Parameter Index   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Every packet is compressed on its own (RFC 3173 2.1: stateless): the
 * per-worker streams are reset before each packet.
 */
#include <string.h>

#include "dataplane/xform_int.h"
#include "lib/cursor.h"

#define DEFLATE_WINDOW_BITS (-15) /* negative: raw deflate (RFC 2394 2) */

bool ipcomp_init(struct xform_scratch *s)
{
	memset(&s->def, 0, sizeof(s->def));
	memset(&s->inf, 0, sizeof(s->inf));
	if (deflateInit2(&s->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, DEFLATE_WINDOW_BITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	s->def_ok = true;
	if (inflateInit2(&s->inf, DEFLATE_WINDOW_BITS) != Z_OK)
		return false;
	s->inf_ok = true;
	return true;
}

void ipcomp_fini(struct xform_scratch *s)
{
	if (s->def_ok)
		deflateEnd(&s->def);
	if (s->inf_ok)
		inflateEnd(&s->inf);
	s->def_ok = s->inf_ok = false;
}

/* RFC 3173 2.2: if the compressed payload is not smaller, the packet is
 * sent as it was, without an IPComp header. */
bool ipcomp_compress(struct sa *sa, struct xform_scratch *s, struct pkt *p, uint8_t *nh)
{
	size_t out_max, clen;
	uint8_t *d = pkt_data(p);

	if (p->len < IPCOMP_MIN_LEN || !s->def_ok)
		return false;
	out_max = p->len - IPCOMP_HDR_LEN - 1; /* must save at least one byte */
	if (deflateReset(&s->def) != Z_OK)
		return false;
	s->def.next_in = d;
	s->def.avail_in = (uInt)p->len;
	s->def.next_out = s->buf;
	s->def.avail_out = (uInt)out_max;
	if (deflate(&s->def, Z_FINISH) != Z_STREAM_END)
		return false; /* did not fit: incompressible */
	clen = out_max - s->def.avail_out;
	d[0] = *nh;
	d[1] = 0;                              /* flags: reserved, zero */
	put_be16(d + 2, (uint16_t)sa->p.spi);  /* CPI: 16 bits */
	memcpy(d + IPCOMP_HDR_LEN, s->buf, clen);
	p->len = IPCOMP_HDR_LEN + clen;
	*nh = IPPROTO_NUM_COMP;
	return true;
}

enum dp_drop ipcomp_decompress(struct xform_scratch *s, struct pkt *p, size_t room, uint8_t *nh)
{
	struct cur c = cur_init(pkt_data(p), p->len);
	const uint8_t *in;
	uint8_t next = 0, flags = 0;
	uint16_t cpi;
	size_t inlen, outlen;

	if (!cur_u8(&c, &next) || !cur_u8(&c, &flags) || !cur_u16(&c, &cpi))
		return DROP_MALFORMED;
	inlen = cur_left(&c);
	if (!cur_view(&c, &in, inlen) || inlen == 0)
		return DROP_MALFORMED;
	if (!s->inf_ok || inflateReset(&s->inf) != Z_OK)
		return DROP_INTERNAL;
	if (room > sizeof(s->buf))
		room = sizeof(s->buf);
	s->inf.next_in = (Bytef *)(uintptr_t)in;
	s->inf.avail_in = (uInt)inlen;
	s->inf.next_out = s->buf;
	s->inf.avail_out = (uInt)room;
	if (inflate(&s->inf, Z_FINISH) != Z_STREAM_END || s->inf.avail_in != 0)
		return DROP_COMP;
	outlen = room - s->inf.avail_out;
	memcpy(pkt_data(p), s->buf, outlen);
	p->len = outlen;
	*nh = next;
	return DROP_NONE;
}
