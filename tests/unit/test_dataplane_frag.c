/* frag.c: IPv4 fragmentation before encryption (RFC 791 3.2) and the ICMP
 * "too big" messages (RFC 792/1191, RFC 4443 3.2). Fragments are checked
 * by reassembling them here, header checksums by the reference sum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/internal.h"
#include "lib/cursor.h"
#include "csum_ref.h"

static uint8_t pkt[65536], frag[65536], re[65536];

/* An IPv4 UDP packet of len bytes with the given options, payload i * 13. */
static size_t ip4_packet(uint8_t *d, size_t len, const uint8_t *opt, size_t olen, uint16_t fo)
{
	size_t hl = 20 + olen;

	memset(d, 0, hl);
	d[0] = (uint8_t)(0x40 | hl / 4);
	put_be16(d + 2, (uint16_t)len);
	put_be16(d + 4, 0x1234);
	put_be16(d + 6, fo);
	d[8] = 64;
	d[9] = 17;
	memcpy(d + 12, "\xc6\x13\x01\x02\xc6\x13\x02\x02", 8); /* 198.19.1.2 -> 198.19.2.2 */
	if (olen)
		memcpy(d + 20, opt, olen);
	for (size_t i = hl; i < len; i++)
		d[i] = (uint8_t)(i * 13);
	put_be16(d + 10, (uint16_t)~naive_fold(naive_sum(d, hl, 0)));
	return len;
}

/* Cut pkt (len) for mtu and reassemble: every fragment within mtu, a
 * correct header checksum, the same ID, offsets in 8-byte units, MF on all
 * but the last (unless the packet had it), later fragments carrying only
 * rest_opts; the payload put back together equals the original. */
static void cut_and_check(size_t len, size_t mtu, const uint8_t *rest_opts, size_t rest_olen,
			  size_t off0, bool mf)
{
	struct ip4_frag_plan fp;
	size_t hl = (size_t)(pkt[0] & 0xf) * 4, got = 0;

	assert_true(ip4_frag_plan(pkt, len, mtu, &fp));
	assert_true(fp.nfrag >= 2);
	memset(re, 0, len);
	for (unsigned i = 0; i < fp.nfrag; i++) {
		size_t n = ip4_frag_build(pkt, len, &fp, i, frag), fhl = (size_t)(frag[0] & 0xf) * 4;
		uint16_t fo = get_be16(frag + 6);

		assert_true(n <= mtu);
		assert_int_equal(get_be16(frag + 2), n);
		assert_int_equal(naive_fold(naive_sum(frag, fhl, 0)), 0xffff);
		assert_int_equal(get_be16(frag + 4), 0x1234);
		assert_memory_equal(frag + 12, pkt + 12, 8);
		assert_int_equal(frag[9], 17);
		assert_false(fo & 0x4000);
		if (i + 1 < fp.nfrag || mf)
			assert_true(fo & 0x2000);
		else
			assert_false(fo & 0x2000);
		if (i == 0) {
			assert_int_equal(fhl, hl);
			assert_memory_equal(frag + 20, pkt + 20, hl - 20);
		} else {
			assert_int_equal(fhl, 20 + rest_olen);
			assert_memory_equal(frag + 20, rest_opts, rest_olen);
		}
		if (i + 1 < fp.nfrag)
			assert_int_equal((n - fhl) % 8, 0);
		assert_int_equal((size_t)(fo & 0x1fff) * 8, off0 + got);
		memcpy(re + got, frag + fhl, n - fhl);
		got += n - fhl;
	}
	assert_int_equal(got, len - hl);
	assert_memory_equal(re, pkt + hl, len - hl);
}

static void test_fragments_reassemble(void **state)
{
	/* stream ID (copied), NOP (not), record route (not) */
	static const uint8_t opts[] = {0x88, 4, 0, 1, 1, 7, 7, 4, 0, 0, 0, 0};
	static const uint8_t rest[] = {0x88, 4, 0, 1};

	(void)state;
	cut_and_check(ip4_packet(pkt, 1400, NULL, 0, 0), 1346, NULL, 0, 0, false);
	cut_and_check(ip4_packet(pkt, 1400, NULL, 0, 0), 576, NULL, 0, 0, false);
	cut_and_check(ip4_packet(pkt, 9000, NULL, 0, 0), 1346, NULL, 0, 0, false);
	cut_and_check(ip4_packet(pkt, 65535, NULL, 0, 0), 1346, NULL, 0, 0, false);
	cut_and_check(ip4_packet(pkt, 1401, NULL, 0, 0), 1400, NULL, 0, 0, false); /* 1 byte over */
	cut_and_check(ip4_packet(pkt, 1400, opts, sizeof(opts), 0), 600, rest, sizeof(rest), 0,
		      false);
	/* a fragment itself (offset 800, MF): its pieces keep MF and count
	 * from its offset */
	cut_and_check(ip4_packet(pkt, 1400, NULL, 0, 0x2000 | 100), 700, NULL, 0, 800, true);
	/* the last fragment of a datagram: only its last piece clears MF */
	cut_and_check(ip4_packet(pkt, 1400, NULL, 0, 100), 700, NULL, 0, 800, false);
}

static void test_fragmentation_refused(void **state)
{
	static const uint8_t bad_opt[] = {0x88, 9, 0, 1}; /* length past the options */
	struct ip4_frag_plan fp;

	(void)state;
	ip4_packet(pkt, 1400, NULL, 0, 0x4000); /* DF */
	assert_false(ip4_frag_plan(pkt, 1400, 1000, &fp));
	ip4_packet(pkt, 1400, NULL, 0, 0);
	assert_false(ip4_frag_plan(pkt, 1399, 1000, &fp)); /* length field disagrees */
	assert_false(ip4_frag_plan(pkt, 1400, 27, &fp));   /* no room for 8 bytes */
	ip4_packet(pkt, 20, NULL, 0, 0);
	assert_false(ip4_frag_plan(pkt, 20, 576, &fp)); /* nothing to cut (found by the fuzzer) */
	ip4_packet(pkt, 1400, NULL, 0, 0);
	assert_true(ip4_frag_plan(pkt, 1400, 28, &fp));
	ip4_packet(pkt, 1400, bad_opt, sizeof(bad_opt), 0);
	assert_false(ip4_frag_plan(pkt, 1400, 1000, &fp));
	pkt[0] = 0x60;
	assert_false(ip4_frag_plan(pkt, 1400, 1000, &fp));
	assert_false(ip4_frag_plan(pkt, 10, 1000, &fp));
}

static void test_icmp4_frag_needed(void **state)
{
	uint8_t m[ICMP_TOO_BIG_MAX];
	size_t n;

	(void)state;
	ip4_packet(pkt, 1400, NULL, 0, 0x4000);
	n = icmp4_frag_needed(pkt, 1400, 1346, m);
	assert_int_equal(n, 8 + 20 + 8);
	assert_int_equal(m[0], 3);
	assert_int_equal(m[1], 4);
	assert_int_equal(get_be16(m + 6), 1346);
	assert_memory_equal(m + 8, pkt, 28);
	assert_int_equal(naive_fold(naive_sum(m, n, 0)), 0xffff);
	assert_int_equal(icmp4_frag_needed(pkt, 24, 1346, m), 8 + 24); /* a short packet whole */
	/* not answered: a non-first fragment, an ICMP error, a multicast
	 * destination, an unspecified source */
	ip4_packet(pkt, 1400, NULL, 0, 0x4000 | 5);
	assert_int_equal(icmp4_frag_needed(pkt, 1400, 1346, m), 0);
	ip4_packet(pkt, 1400, NULL, 0, 0x4000);
	pkt[9] = 1;
	pkt[20] = 3; /* destination unreachable */
	assert_int_equal(icmp4_frag_needed(pkt, 1400, 1346, m), 0);
	pkt[20] = 8; /* an echo request is answered */
	assert_int_equal(icmp4_frag_needed(pkt, 1400, 1346, m), 36);
	ip4_packet(pkt, 1400, NULL, 0, 0x4000);
	pkt[16] = 239;
	assert_int_equal(icmp4_frag_needed(pkt, 1400, 1346, m), 0);
	ip4_packet(pkt, 1400, NULL, 0, 0x4000);
	memset(pkt + 12, 0, 4);
	assert_int_equal(icmp4_frag_needed(pkt, 1400, 1346, m), 0);
}

static size_t ip6_packet(uint8_t *d, size_t len, uint8_t nh)
{
	memset(d, 0, 40);
	d[0] = 0x60;
	put_be16(d + 4, (uint16_t)(len - 40));
	d[6] = nh;
	d[7] = 64;
	d[8] = 0x20, d[9] = 0x01, d[10] = 0x0d, d[11] = 0xb8, d[23] = 2;
	d[24] = 0x20, d[25] = 0x01, d[26] = 0x0d, d[27] = 0xb8, d[28] = 2, d[39] = 2;
	for (size_t i = 40; i < len; i++)
		d[i] = (uint8_t)i;
	return len;
}

static void test_icmp6_packet_too_big(void **state)
{
	uint8_t m[ICMP_TOO_BIG_MAX];
	size_t n;

	(void)state;
	ip6_packet(pkt, 1400, 17);
	n = icmp6_packet_too_big(pkt, 1400, 1326, m);
	assert_int_equal(n, 1240); /* the reply fits 1280 bytes (RFC 4443 3.2) */
	assert_int_equal(m[0], 2);
	assert_int_equal(m[1], 0);
	assert_int_equal(get_be32(m + 4), 1326);
	assert_memory_equal(m + 8, pkt, 1232);
	assert_int_equal(icmp6_packet_too_big(pkt, 300, 1326, m), 308);
	ip6_packet(pkt, 1400, 58);
	pkt[40] = 1; /* an ICMPv6 error: not answered */
	assert_int_equal(icmp6_packet_too_big(pkt, 1400, 1326, m), 0);
	pkt[40] = 128; /* an echo request is */
	assert_int_not_equal(icmp6_packet_too_big(pkt, 1400, 1326, m), 0);
	ip6_packet(pkt, 1400, 17);
	pkt[24] = 0xff; /* multicast destination */
	assert_int_equal(icmp6_packet_too_big(pkt, 1400, 1326, m), 0);
}

/* A sealed IPv6 packet cut by its source (RFC 8200 4.5): every fragment
 * within the MTU, a Fragment header with the packet's next header, the
 * same identification, offsets in 8-octet units, M on all but the last,
 * and the pieces put back together are the packet's payload. */
static void test_ip6_fragments(void **state)
{
	static const size_t lens[] = {41, 48, 1334, 1400, 9000};
	static const size_t mtus[] = {56, 1280, 1300, 1500};

	(void)state;
	for (unsigned a = 0; a < sizeof(lens) / sizeof(lens[0]); a++)
		for (unsigned b = 0; b < sizeof(mtus) / sizeof(mtus[0]); b++) {
			size_t len = ip6_packet(pkt, lens[a], 50), mtu = mtus[b], got = 0;
			size_t n = ip6_frag_count(len, mtu);

			assert_int_not_equal(n, 0);
			for (unsigned i = 0; i < n; i++) {
				size_t fl = ip6_frag_build(pkt, len, mtu, 0xabcd1234, i, frag);
				uint16_t off = get_be16(frag + 42);

				assert_true(fl <= mtu);
				assert_int_equal(get_be16(frag + 4), fl - 40);
				assert_int_equal(frag[6], 44);
				assert_int_equal(frag[40], 50);
				assert_int_equal(get_be32(frag + 44), 0xabcd1234);
				assert_memory_equal(frag + 8, pkt + 8, 32); /* the addresses */
				assert_int_equal(off & 0xfff8, got);
				assert_int_equal(off & 1, i + 1 < n);
				if (i + 1 < n)
					assert_int_equal((fl - 48) % 8, 0);
				memcpy(re + got, frag + 48, fl - 48);
				got += fl - 48;
			}
			assert_int_equal(got, len - 40);
			assert_memory_equal(re, pkt + 40, got);
		}
	/* nothing to cut, or no room for a header and 8 bytes */
	assert_int_equal(ip6_frag_count(40, 1280), 0);
	assert_int_equal(ip6_frag_count(1400, 55), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fragments_reassemble),
		cmocka_unit_test(test_fragmentation_refused),
		cmocka_unit_test(test_icmp4_frag_needed),
		cmocka_unit_test(test_icmp6_packet_too_big),
		cmocka_unit_test(test_ip6_fragments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
