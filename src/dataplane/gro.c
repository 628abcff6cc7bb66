/* Receive coalescing of decrypted TCP segments into TUN superpackets (the
 * reverse of gso.c; what wireguard-go calls "TCP GRO").
 *
 * A receiving gateway decrypts a burst of ESP packets that carry one TCP
 * stream. Written one per write(), every segment costs a syscall and a
 * trip through the kernel's forwarding path. Consecutive in-order
 * segments of one flow are instead written as one packet of up to 64 KB
 * with a virtio_net_hdr saying GSO_TCPV4/6 (virtio 1.x 5.1.6.2): the
 * kernel forwards it as one skb and segments it (or not: veth and real
 * NICs take GSO) on the way out. What Linux's own GRO requires of a
 * segment to merge, we require too (net/ipv4/tcp_offload.c):
 *   - IPv4 without options or fragmentation and with DF, or IPv6 with
 *     TCP as the next header; the same addresses, TOS/traffic class and
 *     TTL/hop limit;
 *   - TCP with ACK and at most PSH besides (no SYN, FIN, RST, URG, ECE,
 *     CWR), the same ports, ack number, window and options (RFC 7323
 *     timestamps of one burst are equal), and a sequence number that
 *     continues the run (RFC 9293 3.4);
 *   - payloads of the first segment's size; a shorter one, or one with
 *     PSH, ends the run.
 * The merged header is the first segment's, with the total (IPv4) or
 * payload (IPv6) length, a new IPv4 header checksum, PSH if any segment
 * had it, and in the TCP checksum field the pseudo-header sum that
 * VIRTIO_NET_HDR_F_NEEDS_CSUM asks for (the kernel completes it).
 *
 * UDP datagrams of one flow (the same addresses, TOS/TTL, ports) are
 * merged the same way into a GSO_UDP_L4 superpacket when the TUN has USO
 * (Linux 6.2, net/ipv4/udp_offload.c does the same on receive): payloads
 * of the first datagram's size, a shorter one ends the run; the merged
 * UDP length field says the whole run and the checksum field holds the
 * pseudo-header sum over it, which the kernel adjusts per datagram when
 * it segments (__udp_gso_segment). The receiving application still reads
 * one datagram at a time. */
#include <arpa/inet.h>
#include <string.h>

#include "dataplane/internal.h"
#include "lib/cursor.h"

enum { TCP_PSH = 0x08, TCP_ACK = 0x10 };

/* IPv4 (RFC 791 3.1) without options, not a fragment, DF set, TCP or UDP. */
static bool parse_ip4(struct cur *c, size_t len, struct gro_seg *s)
{
	uint8_t vihl, tos, ttl, proto;
	uint16_t tot, id, frag;

	if (!cur_u8(c, &vihl) || !cur_u8(c, &tos) || !cur_u16(c, &tot) || !cur_u16(c, &id) ||
	    !cur_u16(c, &frag) || !cur_u8(c, &ttl) || !cur_u8(c, &proto) || !cur_skip(c, 10))
		return false;
	/* options: not merged (Linux neither). TCP: DF and nothing else, so
	 * no IP ID sequence to preserve. UDP: not a fragment; without DF
	 * (what a UDP_SEGMENT sender produces: Linux sets DF only on packets
	 * within the MTU, and a superpacket is not) the IDs must go up by one
	 * along the run, as the kernel will number the datagrams again when it
	 * segments (inet_gro_receive asks the same). */
	if (vihl != 0x45 || tot != len || (proto != 6 && proto != 17))
		return false;
	s->udp = proto == 17;
	if (frag != 0x4000 && !(s->udp && frag == 0))
		return false;
	s->df = frag == 0x4000;
	s->ip_id = id;
	s->l3_len = 20;
	return true;
}

/* IPv6 (RFC 8200 3) with TCP or UDP as the next header (no extension
 * headers). */
static bool parse_ip6(struct cur *c, size_t len, struct gro_seg *s)
{
	uint16_t plen;
	uint8_t nh;

	if (!cur_skip(c, 4) || !cur_u16(c, &plen) || !cur_u8(c, &nh) || !cur_skip(c, 33))
		return false;
	if ((size_t)plen + 40 != len || (nh != 6 && nh != 17))
		return false;
	s->udp = nh == 17;
	s->v6 = true;
	s->l3_len = 40;
	return true;
}

/* A UDP datagram (RFC 768) whose length field matches the packet and
 * that carries data. */
static bool parse_udp(struct cur *c, size_t len, struct gro_seg *s)
{
	uint16_t ulen;

	if (!cur_skip(c, 4) || !cur_u16(c, &ulen))
		return false;
	s->hdr_len = s->l3_len + 8;
	if ((size_t)ulen != len - s->l3_len || s->hdr_len >= len)
		return false;
	s->payload = len - s->hdr_len;
	return true;
}

/* Is d a TCP data segment or UDP datagram that may be merged? Fills s. */
bool gro_parse(const uint8_t *d, size_t len, struct gro_seg *s)
{
	struct cur c = cur_init(d, len);
	uint8_t v, doff;

	memset(s, 0, sizeof(*s));
	if (!cur_peek_u8(&c, 0, &v))
		return false;
	if (!(v >> 4 == 4 ? parse_ip4(&c, len, s) : v >> 4 == 6 ? parse_ip6(&c, len, s) : false))
		return false;
	if (s->udp)
		return parse_udp(&c, len, s);
	/* TCP (RFC 9293 3.1): ports, seq, ack, data offset, flags */
	if (!cur_skip(&c, 4) || !cur_u32(&c, &s->seq) || !cur_skip(&c, 4) || !cur_u8(&c, &doff) ||
	    !cur_u8(&c, &s->flags))
		return false;
	s->hdr_len = s->l3_len + (size_t)(doff >> 4) * 4;
	if (doff >> 4 < 5 || s->hdr_len >= len)
		return false; /* a pure ACK has nothing to merge */
	if (!(s->flags & TCP_ACK) || (s->flags & (uint8_t) ~(TCP_ACK | TCP_PSH)))
		return false;
	s->payload = len - s->hdr_len;
	return true;
}

/* May segment b (parsed as sb) follow the run whose first segment is a
 * (parsed as sa) and which holds `have` payload bytes? */
bool gro_can_append(const uint8_t *a, const struct gro_seg *sa, size_t have,
		    const uint8_t *b, const struct gro_seg *sb)
{
	size_t max_total = sa->v6 ? 65535 + 40 : 65535;

	if (sa->v6 != sb->v6 || sa->udp != sb->udp || sa->hdr_len != sb->hdr_len ||
	    sb->payload > sa->payload)
		return false;
	if (!sa->udp && sb->seq != sa->seq + (uint32_t)have)
		return false;
	if (sa->hdr_len + have + sb->payload > max_total)
		return false;
	if (sa->v6) {
		/* version/class/flow label, then addresses (skip lengths, hop) */
		if (memcmp(a, b, 4) || a[7] != b[7] || memcmp(a + 8, b + 8, 32))
			return false;
	} else {
		/* TOS, TTL, protocol, addresses (skip length, ID, checksum) */
		if (a[1] != b[1] || a[8] != b[8] || memcmp(a + 12, b + 12, 8))
			return false;
		/* no DF (UDP only): the next ID; every earlier one was full size */
		if (sa->df != sb->df ||
		    (!sa->df && sb->ip_id != (uint16_t)(sa->ip_id + have / sa->payload)))
			return false;
	}
	a += sa->l3_len;
	b += sb->l3_len;
	if (sa->udp)
		return !memcmp(a, b, 4); /* ports */
	/* ports; ack number; data offset; window; options (skip seq, flags,
	 * checksum, urgent pointer) */
	return !memcmp(a, b, 4) && !memcmp(a + 8, b + 8, 5) && !memcmp(a + 14, b + 14, 2) &&
	       !memcmp(a + 20, b + 20, sa->hdr_len - sa->l3_len - 20);
}

/* Rewrite the first segment's headers (d, as parsed in s) for a run of
 * total_payload bytes with the OR of the segments' flags, and fill vh. */
void gro_finish(uint8_t *d, const struct gro_seg *s, size_t total_payload, uint8_t flags,
		struct virtio_net_hdr *vh)
{
	size_t l4_len = s->hdr_len - s->l3_len + total_payload;
	uint8_t proto = s->udp ? 17 : 6, pseudo[40];
	uint64_t sum;
	uint16_t v, ck;

	if (s->v6) {
		v = htons((uint16_t)l4_len);
		memcpy(d + 4, &v, 2);
		/* RFC 8200 8.1: addresses, upper-layer length (32), next header */
		memcpy(pseudo, d + 8, 32);
		sum = gso_csum_add(pseudo, 32, 0);
		{
			uint8_t tail[8] = {0, 0, (uint8_t)(l4_len >> 8), (uint8_t)l4_len, 0, 0, 0,
					   proto};
			sum = gso_csum_add(tail, 8, sum);
		}
	} else {
		v = htons((uint16_t)(s->l3_len + l4_len));
		memcpy(d + 2, &v, 2);
		memset(d + 10, 0, 2);
		ck = gso_csum_fold(gso_csum_add(d, 20, 0));
		memcpy(d + 10, &ck, 2);
		/* RFC 9293 3.1: source, destination, zero, PTCL, TCP length */
		memcpy(pseudo, d + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = proto;
		pseudo[10] = (uint8_t)(l4_len >> 8);
		pseudo[11] = (uint8_t)l4_len;
		sum = gso_csum_add(pseudo, 12, 0);
	}
	/* NEEDS_CSUM: the field holds the (uncomplemented) pseudo-header sum */
	ck = (uint16_t)~gso_csum_fold(sum);
	memset(vh, 0, sizeof(*vh));
	if (s->udp) {
		put_be16(d + s->l3_len + 4, (uint16_t)l4_len);
		memcpy(d + s->l3_len + 6, &ck, 2);
		vh->gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
		vh->csum_offset = 6;
	} else {
		d[s->l3_len + 13] = flags;
		memcpy(d + s->l3_len + 16, &ck, 2);
		vh->gso_type = s->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		vh->csum_offset = 16;
	}
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->hdr_len = (uint16_t)s->hdr_len;
	vh->gso_size = (uint16_t)s->payload;
	vh->csum_start = (uint16_t)s->l3_len;
}
