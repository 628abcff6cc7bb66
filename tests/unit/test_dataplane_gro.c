/* gro.c: decrypted TCP segments (and UDP datagrams, at the end) coalesced
 * into one TUN superpacket.
 *
 * The segments are built here with correct checksums (a naive RFC 1071
 * sum, written independently of gso.c). A merged superpacket must:
 *   - carry an IPv4 header checksum that verifies, the right lengths, PSH
 *     if any segment had it, and in the TCP checksum field a seed that,
 *     completed the way the kernel does for NEEDS_CSUM, gives a TCP
 *     checksum that verifies over the whole superpacket;
 *   - cut back (gso.c, as the kernel would on the way out) into exactly
 *     the original segments, byte for byte.
 * And segments that Linux GRO would not merge are not merged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/internal.h"
#include "lib/cursor.h"
#include "csum_ref.h"

static uint32_t pseudo(const uint8_t *ip, bool v6, size_t l4)
{
	uint32_t sum = v6 ? naive_sum(ip + 8, 32, 0) : naive_sum(ip + 12, 8, 0);
	return sum + (uint32_t)l4 + 6;
}

static bool tcp_ok(const uint8_t *ip, size_t len, bool v6)
{
	size_t l3 = v6 ? 40 : 20;
	return naive_fold(naive_sum(ip + l3, len - l3, pseudo(ip, v6, len - l3))) == 0xffff;
}

#define MSS 1000
#define OPT 12 /* NOP NOP timestamps */

/* Segment k of a stream: IPv4 (ID 100 + k, DF) or IPv6, TCP with the
 * timestamp option, seq 5000 + k * MSS, payload plen bytes. */
static size_t seg(uint8_t *d, bool v6, unsigned k, size_t plen, uint8_t flags)
{
	size_t l3 = v6 ? 40 : 20, hl = l3 + 20 + OPT, len = hl + plen;
	uint8_t *tcp = d + l3;
	uint16_t c;

	memset(d, 0, hl);
	if (v6) {
		d[0] = 0x60;
		put_be16(d + 4, (uint16_t)(len - 40));
		d[6] = 6;
		d[7] = 63;
		d[8] = 0x20, d[9] = 0x01, d[10] = 0x0d, d[11] = 0xb8, d[23] = 2;
		d[24] = 0x20, d[25] = 0x01, d[26] = 0x0d, d[27] = 0xb8, d[39] = 2;
	} else {
		d[0] = 0x45;
		put_be16(d + 2, (uint16_t)len);
		put_be16(d + 4, (uint16_t)(100 + k));
		d[6] = 0x40; /* DF */
		d[8] = 63;
		d[9] = 6;
		d[12] = 198, d[13] = 19, d[14] = 1, d[15] = 2;
		d[16] = 198, d[17] = 19, d[18] = 2, d[19] = 2;
		c = (uint16_t)~naive_fold(naive_sum(d, 20, 0));
		put_be16(d + 10, c);
	}
	put_be16(tcp, 5201);
	put_be16(tcp + 2, 40000);
	put_be32(tcp + 4, 5000 + (uint32_t)k * MSS);
	put_be32(tcp + 8, 777);
	tcp[12] = (20 + OPT) / 4 << 4;
	tcp[13] = flags;
	put_be16(tcp + 14, 512);
	tcp[20] = 1, tcp[21] = 1, tcp[22] = 8, tcp[23] = 10;
	put_be32(tcp + 24, 0x11223344);
	put_be32(tcp + 28, 0x55667788);
	for (size_t i = 0; i < plen; i++)
		d[hl + i] = (uint8_t)(k * 31 + i * 7);
	c = (uint16_t)~naive_fold(naive_sum(tcp, len - l3, pseudo(d, v6, len - l3)));
	put_be16(tcp + 16, c);
	return len;
}

/* Merge n segments the way the worker does; returns how many joined the
 * run, with the superpacket in out (header + payloads) and vh filled. */
static unsigned merge(uint8_t segs[][2048], const size_t *lens, unsigned n, uint8_t *out,
		      size_t *out_len, struct virtio_net_hdr *vh)
{
	struct gro_seg s0, s;
	size_t have;
	uint8_t flags;
	unsigned k = 1;

	assert_true(gro_parse(segs[0], lens[0], &s0));
	have = s0.payload;
	flags = s0.flags;
	memcpy(out, segs[0], lens[0]);
	*out_len = lens[0];
	while (k < n && gro_parse(segs[k], lens[k], &s) &&
	       gro_can_append(segs[0], &s0, have, segs[k], &s)) {
		memcpy(out + *out_len, segs[k] + s.hdr_len, s.payload);
		*out_len += s.payload;
		have += s.payload;
		flags |= s.flags;
		k++;
		if (s.payload < s0.payload || (s.flags & 0x08))
			break;
	}
	gro_finish(out, &s0, have, flags, vh);
	return k;
}

static uint8_t segs[8][2048];
static size_t lens[8];
static uint8_t big[65536];

static void round_trip(bool v6)
{
	struct virtio_net_hdr vh;
	struct gso_info g;
	size_t blen;
	uint8_t out[2048];

	for (unsigned k = 0; k < 6; k++)
		lens[k] = seg(segs[k], v6, k, k == 5 ? 300 : MSS, k == 5 ? 0x18 : 0x10);
	assert_int_equal(merge(segs, lens, 6, big, &blen, &vh), 6);
	assert_int_equal(vh.gso_type, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.gso_size, MSS);
	assert_int_equal(vh.hdr_len, (v6 ? 40 : 20) + 20 + OPT);
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(blen, vh.hdr_len + 5 * MSS + 300);
	if (v6) {
		assert_int_equal(get_be16(big + 4), blen - 40);
	} else {
		assert_int_equal(get_be16(big + 2), blen);
		assert_int_equal(naive_fold(naive_sum(big, 20, 0)), 0xffff);
	}
	assert_int_equal(big[vh.csum_start + 13], 0x18); /* PSH from the last */
	/* The kernel's NEEDS_CSUM completion: sum from csum_start over the
	 * seed in the field. The result must verify as a TCP checksum. */
	{
		static uint8_t chk[65536];
		memcpy(chk, big, blen);
		assert_true(gso_csum_complete(chk, blen, vh.csum_start, vh.csum_offset));
		assert_true(tcp_ok(chk, blen, v6));
	}
	/* Segmented again (gso.c, as the kernel on output): the originals. */
	assert_true(gso_parse(big, blen, vh.gso_type, vh.gso_size, &g));
	assert_int_equal(g.nseg, 6);
	for (unsigned k = 0; k < 6; k++) {
		size_t l = gso_segment_build(big, blen, &g, k, out);
		assert_int_equal(l, lens[k]);
		assert_memory_equal(out, segs[k], l);
	}
}

static void test_round_trip_v4(void **state)
{
	(void)state;
	round_trip(false);
}

static void test_round_trip_v6(void **state)
{
	(void)state;
	round_trip(true);
}

/* Segment 1 changed by f: it must not join segment 0. */
static void not_merged(void (*f)(uint8_t *d, size_t *len))
{
	struct virtio_net_hdr vh;
	size_t blen;

	lens[0] = seg(segs[0], false, 0, MSS, 0x10);
	lens[1] = seg(segs[1], false, 1, MSS, 0x10);
	f(segs[1], &lens[1]);
	assert_int_equal(merge(segs, lens, 2, big, &blen, &vh), 1);
}

static void seq_gap(uint8_t *d, size_t *len)
{
	(void)len;
	put_be32(d + 24, get_be32(d + 24) + 1);
}
static void other_ack(uint8_t *d, size_t *len)
{
	(void)len;
	put_be32(d + 28, 778);
}
static void other_port(uint8_t *d, size_t *len)
{
	(void)len;
	put_be16(d + 20, 5202);
}
static void other_ttl(uint8_t *d, size_t *len)
{
	(void)len;
	d[8] = 62;
}
static void other_tsval(uint8_t *d, size_t *len)
{
	(void)len;
	d[20 + 24] ^= 1;
}
static void fin(uint8_t *d, size_t *len)
{
	(void)len;
	d[20 + 13] |= 0x01;
}
static void no_df(uint8_t *d, size_t *len)
{
	(void)len;
	d[6] = 0;
}
static void bigger(uint8_t *d, size_t *len)
{
	*len = seg(d, false, 1, MSS + 8, 0x10);
}
static void other_window(uint8_t *d, size_t *len)
{
	(void)len;
	put_be16(d + 20 + 14, 513);
}

static void test_not_merged(void **state)
{
	(void)state;
	not_merged(seq_gap);
	not_merged(other_ack);
	not_merged(other_port);
	not_merged(other_ttl);
	not_merged(other_tsval);
	not_merged(fin);
	not_merged(no_df);
	not_merged(bigger);
	not_merged(other_window);
}

/* A short segment or PSH ends the run; a pure ACK or an option-carrying
 * IPv4 header is never the start of one. */
static void test_run_ends(void **state)
{
	struct virtio_net_hdr vh;
	struct gro_seg s;
	size_t blen;

	(void)state;
	lens[0] = seg(segs[0], false, 0, MSS, 0x10);
	lens[1] = seg(segs[1], false, 1, 500, 0x10);
	lens[2] = seg(segs[2], false, 2, MSS, 0x10); /* seq would not fit anyway */
	assert_int_equal(merge(segs, lens, 3, big, &blen, &vh), 2);
	lens[1] = seg(segs[1], false, 1, MSS, 0x18);
	lens[2] = seg(segs[2], false, 2, MSS, 0x10);
	assert_int_equal(merge(segs, lens, 3, big, &blen, &vh), 2);
	lens[0] = seg(segs[0], false, 0, 0, 0x10);
	assert_false(gro_parse(segs[0], lens[0], &s));
	lens[0] = seg(segs[0], false, 0, MSS, 0x10);
	segs[0][0] = 0x46;
	assert_false(gro_parse(segs[0], lens[0], &s));
	lens[0] = seg(segs[0], false, 0, MSS, 0x12); /* SYN+ACK */
	assert_false(gro_parse(segs[0], lens[0], &s));
	/* truncated input never reads past the end */
	lens[0] = seg(segs[0], false, 0, MSS, 0x10);
	for (size_t l = 0; l < 60; l++)
		assert_false(gro_parse(segs[0], l, &s));
}

/* At most 64 KB in one superpacket. */
static void test_size_limit(void **state)
{
	struct gro_seg s0, s;
	size_t have;

	(void)state;
	lens[0] = seg(segs[0], false, 0, MSS, 0x10);
	assert_true(gro_parse(segs[0], lens[0], &s0));
	lens[1] = seg(segs[1], false, 65, MSS, 0x10);
	assert_true(gro_parse(segs[1], lens[1], &s));
	have = 65 * MSS; /* 65 segments so far: one more would pass 65535 */
	assert_false(gro_can_append(segs[0], &s0, have, segs[1], &s));
	lens[1] = seg(segs[1], false, 60, MSS, 0x10);
	assert_true(gro_parse(segs[1], lens[1], &s));
	assert_true(gro_can_append(segs[0], &s0, 60 * MSS, segs[1], &s));
}

/* ---- UDP (GSO_UDP_L4) ---------------------------------------------------- */

static bool udp_ok(const uint8_t *ip, size_t len, bool v6)
{
	size_t l3 = v6 ? 40 : 20;
	uint32_t ps = (v6 ? naive_sum(ip + 8, 32, 0) : naive_sum(ip + 12, 8, 0)) +
		      (uint32_t)(len - l3) + 17;
	return naive_fold(naive_sum(ip + l3, len - l3, ps)) == 0xffff;
}

/* Datagram k of a flow 198.19.1.2:40000 -> 198.19.2.2:5201 (IPv4 ID
 * 100 + k, DF unless udp_nodf) or its IPv6 twin, plen payload bytes,
 * checksum set. */
static bool udp_nodf;

static size_t dgram(uint8_t *d, bool v6, unsigned k, size_t plen)
{
	size_t l3 = v6 ? 40 : 20, len = l3 + 8 + plen;
	uint8_t *u = d + l3;
	uint32_t ps;
	uint16_t c;

	(void)seg(d, v6, k, 0, 0x10); /* the IP header of a TCP segment... */
	len = l3 + 8 + plen;
	if (v6) {
		d[6] = 17;
		put_be16(d + 4, (uint16_t)(len - 40));
	} else {
		d[9] = 17;
		put_be16(d + 2, (uint16_t)len);
		if (udp_nodf)
			d[6] = 0; /* what a UDP_SEGMENT sender gets from Linux */
		d[10] = d[11] = 0;
		put_be16(d + 10, (uint16_t)~naive_fold(naive_sum(d, 20, 0)));
	}
	memset(u, 0, 8); /* ...with a UDP header instead */
	put_be16(u, 40000);
	put_be16(u + 2, 5201);
	put_be16(u + 4, (uint16_t)(8 + plen));
	for (size_t i = 0; i < plen; i++)
		u[8 + i] = (uint8_t)(k * 13 + i * 5);
	ps = (v6 ? naive_sum(d + 8, 32, 0) : naive_sum(d + 12, 8, 0)) + (uint32_t)(8 + plen) + 17;
	c = (uint16_t)~naive_fold(naive_sum(u, 8 + plen, ps));
	put_be16(u + 6, c ? c : 0xffff);
	return len;
}

/* Datagrams of one flow merge into a GSO_UDP_L4 superpacket whose
 * completed checksum verifies over the whole, and which gso.c (as the
 * kernel's __udp_gso_segment on the way out) cuts back into exactly the
 * original datagrams, last one shorter. */
static void udp_round_trip(bool v6, size_t plen)
{
	struct virtio_net_hdr vh;
	struct gso_info g;
	size_t blen, l3 = v6 ? 40 : 20;
	uint8_t out[2048];

	for (unsigned k = 0; k < 8; k++)
		lens[k] = dgram(segs[k], v6, k, k == 7 ? plen / 2 : plen);
	assert_int_equal(merge(segs, lens, 8, big, &blen, &vh), 8);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	assert_int_equal(vh.gso_size, plen);
	assert_int_equal(vh.hdr_len, l3 + 8);
	assert_int_equal(vh.csum_start, l3);
	assert_int_equal(vh.csum_offset, 6);
	assert_int_equal(blen, l3 + 8 + 7 * plen + plen / 2);
	assert_int_equal(get_be16(big + l3 + 4), blen - l3); /* UDP length: the whole run */
	if (!v6)
		assert_int_equal(naive_fold(naive_sum(big, 20, 0)), 0xffff);
	{
		static uint8_t chk[65536];
		memcpy(chk, big, blen);
		assert_true(gso_csum_complete(chk, blen, vh.csum_start, vh.csum_offset));
		assert_true(udp_ok(chk, blen, v6));
	}
	assert_true(gso_parse(big, blen, vh.gso_type, vh.gso_size, &g));
	assert_true(g.udp);
	assert_int_equal(g.nseg, 8);
	for (unsigned k = 0; k < 8; k++) {
		size_t l = gso_segment_build(big, blen, &g, k, out);
		assert_int_equal(l, lens[k]);
		assert_memory_equal(out, segs[k], l);
		assert_true(udp_ok(out, l, v6));
	}
}

static void test_udp_round_trip(void **state)
{
	(void)state;
	udp_round_trip(false, 36); /* 64-byte IPv4 datagrams */
	udp_round_trip(false, 1000);
	udp_round_trip(true, 16);
	udp_round_trip(true, 1200);
	udp_nodf = true;
	udp_round_trip(false, 36);
	udp_round_trip(false, 1000);
	udp_nodf = false;
}

/* What does not join a UDP run: another port, TTL, a bigger datagram, a
 * TCP segment; a datagram whose length field lies is not even parsed. */
static void test_udp_not_merged(void **state)
{
	struct virtio_net_hdr vh;
	struct gro_seg s;
	size_t blen;

	(void)state;
	lens[0] = dgram(segs[0], false, 0, 100);
	lens[1] = dgram(segs[1], false, 1, 100);
	put_be16(segs[1] + 20, 40001);
	assert_int_equal(merge(segs, lens, 2, big, &blen, &vh), 1);
	lens[1] = dgram(segs[1], false, 1, 100);
	segs[1][8] = 62;
	assert_int_equal(merge(segs, lens, 2, big, &blen, &vh), 1);
	lens[1] = dgram(segs[1], false, 1, 101);
	assert_int_equal(merge(segs, lens, 2, big, &blen, &vh), 1);
	lens[1] = seg(segs[1], false, 1, 100, 0x10);
	assert_int_equal(merge(segs, lens, 2, big, &blen, &vh), 1);
	lens[1] = dgram(segs[1], false, 1, 99);  /* shorter: joins and ends the run */
	lens[2] = dgram(segs[2], false, 2, 100);
	assert_int_equal(merge(segs, lens, 3, big, &blen, &vh), 2);
	/* without DF the IDs must count up along the run (the kernel numbers
	 * the datagrams again when it segments); DF and no DF do not mix */
	udp_nodf = true;
	lens[0] = dgram(segs[0], false, 0, 100);
	lens[1] = dgram(segs[1], false, 1, 100);
	lens[2] = dgram(segs[2], false, 3, 100);
	assert_int_equal(merge(segs, lens, 3, big, &blen, &vh), 2);
	udp_nodf = false;
	lens[1] = dgram(segs[1], false, 1, 100);
	assert_int_equal(merge(segs, lens, 2, big, &blen, &vh), 1);
	segs[0][6] = 0x20; /* MF: a fragment is never merged */
	assert_false(gro_parse(segs[0], lens[0], &s));
	lens[0] = dgram(segs[0], false, 0, 100);
	put_be16(segs[0] + 24, 99);
	assert_false(gro_parse(segs[0], lens[0], &s));
	for (size_t l = 0; l < 28; l++)
		assert_false(gro_parse(segs[2], l, &s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_v4),
		cmocka_unit_test(test_round_trip_v6),
		cmocka_unit_test(test_not_merged),
		cmocka_unit_test(test_run_ends),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_udp_round_trip),
		cmocka_unit_test(test_udp_not_merged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
