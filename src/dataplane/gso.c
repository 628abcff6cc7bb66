/* Segmentation of TCP and UDP superpackets from the TUN device, and
 * checksums.
 *
 * With IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
 * the kernel hands the TUN reader what a NIC with TSO would get: a
 * virtio_net_hdr (virtio 1.x 5.1.6, legacy layout, native byte order)
 * followed by one IP packet of up to 64 KB whose TCP payload is to be cut
 * into gso_size pieces, and whose L4 checksum may be left partial
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM: the field at csum_start + csum_offset holds
 * the pseudo-header sum; the sum from csum_start to the end is to be
 * folded in). We do in software what the NIC would do, segment by segment,
 * so each segment becomes one ESP packet:
 *   - IP: total length (IPv4, with identification + i and a new header
 *     checksum) or payload length (IPv6);
 *   - TCP (RFC 9293 3.1): sequence number + i * gso_size; FIN and PSH only
 *     on the last segment, CWR only on the first (RFC 3168 6.1.2); full
 *     checksum over the pseudo-header (RFC 9293 3.1, RFC 8200 8.1);
 *   - UDP (GSO_UDP_L4, TUN_F_USO4/6, what an application sending with
 *     UDP_SEGMENT produces): each gso_size piece of the payload is one
 *     datagram with the same ports, its own length and a full checksum
 *     (RFC 768; a computed 0 is sent as 0xffff, RFC 768 and RFC 8200 8.1).
 * Headers are read through a cursor; segments are written into buffers
 * the caller owns (no allocation). */
#include <string.h>

#include "dataplane/internal.h"
#include "lib/cursor.h"

enum { TCP_FIN = 0x01, TCP_PSH = 0x08, TCP_CWR = 0x80 };

/* Ones' complement sum (RFC 1071) of d[0..len), added to sum. 32-bit
 * words into a 64-bit accumulator: no carry handling in the loop. */
uint64_t gso_csum_add(const uint8_t *d, size_t len, uint64_t sum)
{
	uint32_t w;

	while (len >= 4) {
		memcpy(&w, d, 4);
		sum += w;
		d += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t h;
		memcpy(&h, d, 2);
		sum += h;
		d += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = {d[0], 0};
		uint16_t h;
		memcpy(&h, last, 2);
		sum += h;
	}
	return sum;
}

/* Fold to 16 bits and complement; the result is in network byte order
 * as memory (store it with memcpy, not put_be16). */
uint16_t gso_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo-header sum (RFC 9293 3.1 for IPv4, RFC 8200 8.1 for IPv6) in
 * memory byte order, for gso_csum_add. */
static uint64_t pseudo_sum(const uint8_t *ip, bool v6, size_t l4len, uint8_t proto)
{
	uint8_t tail[8] = {0};
	uint64_t sum;

	sum = v6 ? gso_csum_add(ip + 8, 32, 0) : gso_csum_add(ip + 12, 8, 0);
	put_be32(tail, (uint32_t)l4len);
	tail[7] = proto;
	return gso_csum_add(tail, 8, sum);
}

bool gso_csum_complete(uint8_t *d, size_t len, size_t csum_start, size_t csum_offset)
{
	uint16_t c;

	if (csum_start > len || csum_offset + 2 > len - csum_start)
		return false;
	/* The field already holds the pseudo-header sum: sum everything. */
	c = gso_csum_fold(gso_csum_add(d + csum_start, len - csum_start, 0));
	memcpy(d + csum_start + csum_offset, &c, 2);
	return true;
}

/* Validate the superpacket before any field is used (STYLE 5): an IPv4 or
 * IPv6 header without options we would have to walk (IPv6 extension
 * headers are not segmented here), TCP with a sane data offset or UDP, a
 * payload larger than one segment. GSO_UDP_L4 says nothing of the IP
 * version: the header does. */
bool gso_parse(const uint8_t *d, size_t len, uint8_t gso_type, uint16_t gso_size,
	       struct gso_info *g)
{
	struct cur c = cur_init(d, len);
	uint8_t vihl = 0, proto = 0, doff = 0;
	bool udp = gso_type == VIRTIO_NET_HDR_GSO_UDP_L4;
	size_t l3;

	memset(g, 0, sizeof(*g));
	if (!cur_peek_u8(&c, 0, &vihl) || gso_size == 0)
		return false;
	if ((gso_type == VIRTIO_NET_HDR_GSO_TCPV4 || udp) && vihl >> 4 == 4) {
		l3 = (size_t)(vihl & 0x0f) * 4;
		if (l3 < 20 || !cur_peek_u8(&c, 9, &proto))
			return false;
	} else if ((gso_type == VIRTIO_NET_HDR_GSO_TCPV6 || udp) && vihl >> 4 == 6) {
		l3 = 40;
		if (!cur_peek_u8(&c, 6, &proto))
			return false;
		g->v6 = true;
	} else {
		return false;
	}
	g->l3_len = l3;
	if (udp) {
		if (proto != 17)
			return false;
		g->udp = true;
		g->hdr_len = l3 + 8;
	} else {
		if (proto != 6 || !cur_peek_u8(&c, l3 + 12, &doff) || (doff >> 4) < 5)
			return false;
		g->hdr_len = l3 + (size_t)(doff >> 4) * 4;
	}
	g->mss = gso_size;
	if (g->hdr_len >= len || g->hdr_len + g->mss > PKT_MAX_DATA)
		return false;
	g->nseg = (unsigned)((len - g->hdr_len + g->mss - 1) / g->mss);
	return true;
}

/* Segment i (0 <= i < g->nseg) of the superpacket d[0..len) into out,
 * which must have room for hdr_len + mss bytes. Returns its length. */
size_t gso_segment_build(const uint8_t *d, size_t len, const struct gso_info *g, unsigned i,
			 uint8_t *out)
{
	size_t at = g->hdr_len + (size_t)i * g->mss, plen = len - at, seglen;
	uint8_t *l4 = out + g->l3_len;
	uint16_t c;

	if (plen > g->mss)
		plen = g->mss;
	seglen = g->hdr_len + plen;
	memcpy(out, d, g->hdr_len);
	memcpy(out + g->hdr_len, d + at, plen);
	if (g->v6) {
		put_be16(out + 4, (uint16_t)(seglen - 40));
	} else {
		put_be16(out + 2, (uint16_t)seglen);
		put_be16(out + 4, (uint16_t)(get_be16(d + 4) + i));
		out[10] = out[11] = 0;
		c = gso_csum_fold(gso_csum_add(out, g->l3_len, 0));
		memcpy(out + 10, &c, 2);
	}
	if (g->udp) {
		put_be16(l4 + 4, (uint16_t)(seglen - g->l3_len));
		l4[6] = l4[7] = 0;
		c = gso_csum_fold(gso_csum_add(l4, seglen - g->l3_len,
					       pseudo_sum(out, g->v6, seglen - g->l3_len, 17)));
		if (c == 0)
			c = 0xffff;
		memcpy(l4 + 6, &c, 2);
		return seglen;
	}
	put_be32(l4 + 4, get_be32(d + g->l3_len + 4) + (uint32_t)(i * g->mss));
	if (i + 1 < g->nseg)
		l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i > 0)
		l4[13] &= (uint8_t)~TCP_CWR;
	l4[16] = l4[17] = 0;
	c = gso_csum_fold(gso_csum_add(l4, seglen - g->l3_len,
				       pseudo_sum(out, g->v6, seglen - g->l3_len, 6)));
	memcpy(l4 + 16, &c, 2);
	return seglen;
}
