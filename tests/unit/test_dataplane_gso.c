/* gso.c: TCP superpackets cut into segments, checksums finished, checked
 * against a naive RFC 1071 sum written here independently (16-bit
 * big-endian words, no tricks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/internal.h"
#include "lib/cursor.h"
#include "csum_ref.h"

/* A correct L4 checksum makes the sum over pseudo-header + segment 0xffff. */
static bool l4_ok(const uint8_t *ip, size_t len, bool v6, uint8_t proto)
{
	size_t l3 = v6 ? 40 : (size_t)(ip[0] & 0xf) * 4, l4 = len - l3;
	uint32_t sum = v6 ? naive_sum(ip + 8, 32, 0) : naive_sum(ip + 12, 8, 0);

	sum += (uint32_t)l4 + proto;
	return naive_fold(naive_sum(ip + l3, l4, sum)) == 0xffff;
}

static bool ip4_ok(const uint8_t *ip)
{
	return naive_fold(naive_sum(ip, 20, 0)) == 0xffff;
}

/* IPv4 or IPv6 + 20-byte TCP header + plen payload bytes (i * 7). */
static size_t superpacket(uint8_t *d, bool v6, size_t plen, uint8_t flags)
{
	size_t l3 = v6 ? 40 : 20, len = l3 + 20 + plen;
	uint8_t *tcp = d + l3;

	memset(d, 0, l3 + 20);
	if (v6) {
		d[0] = 0x60;
		put_be16(d + 4, (uint16_t)(len - 40));
		d[6] = 6;
		d[7] = 64;
		d[8] = 0x20, d[9] = 0x01, d[23] = 1;
		d[24] = 0x20, d[25] = 0x01, d[39] = 2;
	} else {
		d[0] = 0x45;
		put_be16(d + 2, (uint16_t)len);
		put_be16(d + 4, 0x1234);
		d[6] = 0x40;
		d[8] = 64;
		d[9] = 6;
		d[12] = 10, d[15] = 1;
		d[16] = 10, d[19] = 2;
	}
	put_be16(tcp, 40000);
	put_be16(tcp + 2, 5201);
	put_be32(tcp + 4, 0xfffff000); /* wraps inside the superpacket */
	put_be32(tcp + 8, 77);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put_be16(tcp + 14, 512);
	tcp[16] = 0xde, tcp[17] = 0xad; /* partial sum from the kernel: overwritten */
	for (size_t i = 0; i < plen; i++)
		d[l3 + 20 + i] = (uint8_t)(i * 7);
	return len;
}

static void check_split(bool v6)
{
	static uint8_t d[70000], out[2000];
	const size_t plen = 2500, mss = 1000, l3 = v6 ? 40 : 20;
	size_t len = superpacket(d, v6, plen, 0x80 | 0x10 | 0x08 | 0x01); /* CWR ACK PSH FIN */
	struct gso_info g;

	assert_true(gso_parse(d, len, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
			      (uint16_t)mss, &g));
	assert_int_equal(g.nseg, 3);
	assert_int_equal(g.hdr_len, l3 + 20);
	for (unsigned i = 0; i < g.nseg; i++) {
		size_t want = i < 2 ? mss : plen - 2 * mss;
		size_t n = gso_segment_build(d, len, &g, i, out);
		uint8_t fl = out[l3 + 13];

		assert_int_equal(n, l3 + 20 + want);
		if (v6) {
			assert_int_equal(get_be16(out + 4), n - 40);
		} else {
			assert_int_equal(get_be16(out + 2), n);
			assert_int_equal(get_be16(out + 4), 0x1234 + i);
			assert_true(ip4_ok(out));
		}
		assert_int_equal(get_be32(out + l3 + 4), (uint32_t)(0xfffff000u + i * mss));
		assert_int_equal(get_be32(out + l3 + 8), 77);
		assert_int_equal(fl & 0x10, 0x10);                   /* ACK everywhere */
		assert_int_equal(fl & 0x80, i == 0 ? 0x80 : 0);      /* CWR first only */
		assert_int_equal(fl & 0x09, i == 2 ? 0x09 : 0);      /* PSH FIN last only */
		assert_memory_equal(out + l3 + 20, d + l3 + 20 + i * mss, want);
		assert_true(l4_ok(out, n, v6, 6));
	}
}

static void test_split_tcp4(void **state)
{
	(void)state;
	check_split(false);
}

static void test_split_tcp6(void **state)
{
	(void)state;
	check_split(true);
}

static void test_parse_rejects(void **state)
{
	static uint8_t d[4000];
	struct gso_info g;
	size_t len = superpacket(d, false, 3000, 0x10);

	(void)state;
	assert_false(gso_parse(d, len, VIRTIO_NET_HDR_GSO_TCPV4, 0, &g));     /* no size */
	assert_false(gso_parse(d, len, VIRTIO_NET_HDR_GSO_TCPV6, 1000, &g));  /* wrong family */
	assert_false(gso_parse(d, len, VIRTIO_NET_HDR_GSO_UDP, 1000, &g));    /* not TCP GSO */
	assert_false(gso_parse(d, 30, VIRTIO_NET_HDR_GSO_TCPV4, 1000, &g));   /* truncated */
	d[9] = 17;
	assert_false(gso_parse(d, len, VIRTIO_NET_HDR_GSO_TCPV4, 1000, &g));  /* UDP */
	assert_true(gso_parse(d, len, VIRTIO_NET_HDR_GSO_UDP_L4, 1000, &g));  /* as USO */
	assert_true(g.udp);
	assert_int_equal(g.hdr_len, 28);
	assert_int_equal(g.nseg, (len - 28 + 999) / 1000);
	d[9] = 6;
	assert_false(gso_parse(d, len, VIRTIO_NET_HDR_GSO_UDP_L4, 1000, &g)); /* TCP as USO */
	d[20 + 12] = 4 << 4;
	assert_false(gso_parse(d, len, VIRTIO_NET_HDR_GSO_TCPV4, 1000, &g));  /* doff < 5 */
	d[20 + 12] = 5 << 4;
	d[0] = 0x44;
	assert_false(gso_parse(d, len, VIRTIO_NET_HDR_GSO_TCPV4, 1000, &g));  /* IHL < 5 */
	d[0] = 0x45;
	assert_true(gso_parse(d, len, VIRTIO_NET_HDR_GSO_TCPV4, 1000, &g));
	assert_int_equal(g.nseg, 3);
}

/* NEEDS_CSUM: the kernel leaves the pseudo-header sum in the field. */
static void test_csum_complete(void **state)
{
	static uint8_t d[1500];
	const size_t len = 28 + 333; /* odd length: the last byte is padded */
	uint32_t ps;

	(void)state;
	memset(d, 0, sizeof(d));
	d[0] = 0x45;
	put_be16(d + 2, (uint16_t)len);
	d[9] = 17;
	d[12] = 192, d[13] = 0, d[14] = 2, d[15] = 1;
	d[16] = 198, d[17] = 51, d[18] = 100, d[19] = 7;
	put_be16(d + 20, 1234);
	put_be16(d + 22, 53);
	put_be16(d + 24, (uint16_t)(len - 20));
	for (size_t i = 28; i < len; i++)
		d[i] = (uint8_t)(i * 13 + 1);
	ps = naive_sum(d + 12, 8, 0) + (uint32_t)(len - 20) + 17;
	put_be16(d + 26, naive_fold(ps));
	assert_true(gso_csum_complete(d, len, 20, 6));
	assert_true(l4_ok(d, len, false, 17));
	/* Offsets outside the packet are refused. */
	assert_false(gso_csum_complete(d, len, len, 0));
	assert_false(gso_csum_complete(d, len, 20, len - 21));
}

static void test_csum_matches_naive(void **state)
{
	static uint8_t d[777];

	(void)state;
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(i * 31 + 5);
	for (size_t n = 0; n <= sizeof(d); n += 37) {
		uint16_t fast = gso_csum_fold(gso_csum_add(d, n, 0)), want;
		uint8_t be[2];

		put_be16(be, (uint16_t)~naive_fold(naive_sum(d, n, 0)));
		memcpy(&want, be, 2);
		assert_int_equal(fast, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_tcp4),
		cmocka_unit_test(test_split_tcp6),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_csum_complete),
		cmocka_unit_test(test_csum_matches_naive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
