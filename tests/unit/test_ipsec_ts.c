/* Flows from packets (IPv4, IPv6 with extension headers, fragments) and
 * traffic selector matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/ts.h"
#include "lib/cursor.h"

/* ---- packet builders ---- */

static size_t v4(uint8_t *p, uint8_t proto, const char *src, const char *dst, uint16_t frag,
		 const uint8_t *l4, size_t l4len, size_t optlen)
{
	size_t hlen = 20 + optlen, tot = hlen + l4len;
	memset(p, 0, hlen);
	p[0] = (uint8_t)(0x40 | hlen / 4);
	put_be16(p + 2, (uint16_t)tot);
	put_be16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	if (l4len)
		memcpy(p + hlen, l4, l4len);
	return tot;
}

static size_t v6(uint8_t *p, uint8_t nh, const char *src, const char *dst, const uint8_t *rest,
		 size_t restlen)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	put_be16(p + 4, (uint16_t)restlen);
	p[6] = nh;
	p[7] = 64;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, dst, p + 24);
	if (restlen)
		memcpy(p + 40, rest, restlen);
	return 40 + restlen;
}

static const uint8_t tcp_hdr[20] = {0x04, 0x00, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02};
static const uint8_t udp_hdr[8] = {0x13, 0x88, 0x00, 0x35, 0x00, 0x08, 0, 0};
static const uint8_t icmp_echo[8] = {8, 0, 0, 0, 0, 1, 0, 1};

/* Every strict prefix of a valid packet must be rejected (the length
 * fields then promise more than there is); ASan watches the reads. */
static void assert_prefixes_fail(const uint8_t *p, size_t len)
{
	struct flow f;
	for (size_t k = 0; k < len; k++) {
		uint8_t *copy = malloc(k ? k : 1);
		memcpy(copy, p, k);
		assert_false(flow_from_packet(copy, k, &f));
		free(copy);
	}
}

static void assert_addr(const struct ip_addr *a, const char *s)
{
	struct ip_addr b;
	assert_true(ip_addr_parse(s, &b));
	assert_true(ip_addr_eq(a, &b));
}

static void test_v4_tcp_udp_icmp(void **state)
{
	(void)state;
	uint8_t p[256];
	struct flow f;
	size_t n = v4(p, IPPROTO_TCP, "198.18.1.10", "198.18.2.20", 0, tcp_hdr, sizeof(tcp_hdr), 0);

	assert_true(flow_from_packet(p, n, &f));
	assert_addr(&f.src, "198.18.1.10");
	assert_addr(&f.dst, "198.18.2.20");
	assert_int_equal(f.proto, 6);
	assert_int_equal(f.sport, 1024);
	assert_int_equal(f.dport, 80);
	assert_false(f.opaque);
	assert_prefixes_fail(p, n);
	/* trailing bytes past the total length are ignored */
	assert_true(flow_from_packet(p, n + 10, &f));

	n = v4(p, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 0, udp_hdr, sizeof(udp_hdr), 8);
	assert_true(flow_from_packet(p, n, &f)); /* IHL 7: options skipped */
	assert_int_equal(f.sport, 5000);
	assert_int_equal(f.dport, 53);
	assert_prefixes_fail(p, n);

	n = v4(p, IPPROTO_ICMP, "10.0.0.1", "10.0.0.2", 0, icmp_echo, sizeof(icmp_echo), 0);
	assert_true(flow_from_packet(p, n, &f));
	assert_int_equal(f.proto, 1);
	assert_int_equal(f.sport, 0);
	assert_int_equal(f.dport, 8 << 8);
}

static void test_v4_fragments_and_garbage(void **state)
{
	(void)state;
	uint8_t p[256];
	struct flow f;
	size_t n;

	/* first fragment (MF, offset 0): ports are there */
	n = v4(p, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 0x2000, udp_hdr, sizeof(udp_hdr), 0);
	assert_true(flow_from_packet(p, n, &f));
	assert_int_equal(f.dport, 53);
	assert_false(f.opaque);
	/* non-initial fragment: bytes where ports would be are data */
	n = v4(p, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 0x0010, udp_hdr, sizeof(udp_hdr), 0);
	assert_true(flow_from_packet(p, n, &f));
	assert_true(f.opaque);
	assert_int_equal(f.proto, 17);
	assert_int_equal(f.sport, 0);
	assert_int_equal(f.dport, 0);
	/* a first fragment too short for the ports is malformed */
	n = v4(p, IPPROTO_TCP, "10.0.0.1", "10.0.0.2", 0x2000, tcp_hdr, 2, 0);
	assert_false(flow_from_packet(p, n, &f));
	/* IHL < 5, total length < IHL, wrong version */
	n = v4(p, IPPROTO_TCP, "10.0.0.1", "10.0.0.2", 0, tcp_hdr, sizeof(tcp_hdr), 0);
	p[0] = 0x44;
	assert_false(flow_from_packet(p, n, &f));
	p[0] = 0x45;
	put_be16(p + 2, 19);
	assert_false(flow_from_packet(p, n, &f));
	put_be16(p + 2, (uint16_t)n);
	p[0] = 0x55;
	assert_false(flow_from_packet(p, n, &f));
	assert_false(flow_from_packet(p, 0, &f));
	/* a protocol without ports needs nothing after the header */
	n = v4(p, 47, "10.0.0.1", "10.0.0.2", 0, NULL, 0, 0);
	assert_true(flow_from_packet(p, n, &f));
	assert_int_equal(f.proto, 47);
}

static void test_v6_ext_headers(void **state)
{
	(void)state;
	uint8_t p[512], rest[256];
	struct flow f;
	size_t r = 0, n;

	/* hop-by-hop (8) -> dest-opts (16) -> routing (8) -> UDP */
	memset(rest, 0, sizeof(rest));
	rest[r] = IPPROTO_DSTOPTS, rest[r + 1] = 0, r += 8;
	rest[r] = IPPROTO_ROUTING, rest[r + 1] = 1, r += 16;
	rest[r] = IPPROTO_UDP, rest[r + 1] = 0, r += 8;
	memcpy(rest + r, udp_hdr, sizeof(udp_hdr)), r += sizeof(udp_hdr);
	n = v6(p, IPPROTO_HOPOPTS, "2001:db8:1::1", "2001:db8:2::2", rest, r);
	assert_true(flow_from_packet(p, n, &f));
	assert_addr(&f.src, "2001:db8:1::1");
	assert_addr(&f.dst, "2001:db8:2::2");
	assert_int_equal(f.proto, 17);
	assert_int_equal(f.sport, 5000);
	assert_int_equal(f.dport, 53);
	assert_prefixes_fail(p, n);

	/* fragment header, offset 0 (first): ports follow */
	r = 0;
	rest[r] = IPPROTO_TCP, rest[r + 1] = 0, put_be16(rest + r + 2, 0x0001), r += 8;
	memcpy(rest + r, tcp_hdr, sizeof(tcp_hdr)), r += sizeof(tcp_hdr);
	n = v6(p, IPPROTO_FRAGMENT, "2001:db8::1", "2001:db8::2", rest, r);
	assert_true(flow_from_packet(p, n, &f));
	assert_int_equal(f.proto, 6);
	assert_int_equal(f.dport, 80);
	assert_false(f.opaque);
	/* offset 1 (8 bytes): non-initial, opaque */
	put_be16(rest + 2, 0x0008);
	n = v6(p, IPPROTO_FRAGMENT, "2001:db8::1", "2001:db8::2", rest, r);
	assert_true(flow_from_packet(p, n, &f));
	assert_true(f.opaque);
	assert_int_equal(f.proto, 6);
	assert_int_equal(f.dport, 0);

	/* ICMPv6 echo request */
	n = v6(p, IPPROTO_ICMPV6, "2001:db8::1", "2001:db8::2", (const uint8_t[]){128, 0, 0, 0}, 4);
	assert_true(flow_from_packet(p, n, &f));
	assert_int_equal(f.proto, 58);
	assert_int_equal(f.dport, 128 << 8);
	/* no next header */
	n = v6(p, 59, "2001:db8::1", "2001:db8::2", NULL, 0);
	assert_true(flow_from_packet(p, n, &f));
	assert_int_equal(f.proto, 59);
	/* an extension header longer than the payload */
	n = v6(p, IPPROTO_DSTOPTS, "2001:db8::1", "2001:db8::2", (const uint8_t[]){17, 4, 0, 0, 0, 0, 0, 0}, 8);
	assert_false(flow_from_packet(p, n, &f));
	/* a chain of 20 empty dest-opts headers is refused */
	memset(rest, 0, sizeof(rest));
	for (int i = 0; i < 20; i++)
		rest[i * 8] = IPPROTO_DSTOPTS;
	n = v6(p, IPPROTO_DSTOPTS, "2001:db8::1", "2001:db8::2", rest, 160);
	assert_false(flow_from_packet(p, n, &f));
}

/* ---- matching ---- */

static struct ts mk(const char *src, const char *dst, uint8_t proto, uint16_t slo, uint16_t shi,
		    uint16_t dlo, uint16_t dhi)
{
	struct ts t;
	memset(&t, 0, sizeof(t));
	if (src)
		assert_true(ip_prefix_parse(src, &t.src));
	if (dst)
		assert_true(ip_prefix_parse(dst, &t.dst));
	t.proto = proto;
	t.sport_lo = slo, t.sport_hi = shi, t.dport_lo = dlo, t.dport_hi = dhi;
	return t;
}

static struct flow fl(const char *src, const char *dst, uint8_t proto, uint16_t sp, uint16_t dp)
{
	struct flow f;
	memset(&f, 0, sizeof(f));
	assert_true(ip_addr_parse(src, &f.src));
	assert_true(ip_addr_parse(dst, &f.dst));
	f.proto = proto, f.sport = sp, f.dport = dp;
	return f;
}

static void test_match(void **state)
{
	(void)state;
	struct ts t = mk("10.1.0.0/16", "10.2.0.0/24", 6, 0, 0xffff, 80, 80);
	struct flow f = fl("10.1.3.4", "10.2.0.9", 6, 40000, 80);

	assert_true(ts_match(&t, &f));
	assert_false(ts_match_reverse(&t, &f));
	f.dport = 81;
	assert_false(ts_match(&t, &f));
	f.dport = 80, f.proto = 17;
	assert_false(ts_match(&t, &f));
	f.proto = 6;
	f.dst.b[2] = 1; /* 10.2.1.9 */
	assert_false(ts_match(&t, &f));

	/* the reply direction: 10.2.0.9:80 -> 10.1.3.4:40000 */
	struct flow r = fl("10.2.0.9", "10.1.3.4", 6, 80, 40000);
	assert_true(ts_match_reverse(&t, &r));
	assert_false(ts_match(&t, &r));

	/* proto any, af wildcard */
	struct ts any;
	memset(&any, 0, sizeof(any));
	any.sport_hi = any.dport_hi = 0xffff;
	assert_true(ts_match(&any, &r));
	struct flow f6 = fl("2001:db8::1", "2001:db8::2", 17, 1, 2);
	assert_true(ts_match(&any, &f6));
	ts_any(&any, AF_INET);
	assert_true(ts_match(&any, &r));
	assert_false(ts_match(&any, &f6));
	ts_any(&any, AF_INET6);
	assert_true(ts_match(&any, &f6));
	assert_true(ts_match_reverse(&any, &f6));

	/* port range edges */
	t = mk("0.0.0.0/0", "0.0.0.0/0", 17, 1000, 2000, 0, 0xffff);
	f = fl("1.1.1.1", "2.2.2.2", 17, 1000, 5);
	assert_true(ts_match(&t, &f));
	f.sport = 2000;
	assert_true(ts_match(&t, &f));
	f.sport = 2001;
	assert_false(ts_match(&t, &f));
	f.sport = 999;
	assert_false(ts_match(&t, &f));
}

static void test_match_icmp_and_fragments(void **state)
{
	(void)state;
	/* ICMP echo request only: type 8, any code (RFC 4301 4.4.1.1) */
	struct ts t = mk("10.1.0.0/16", "10.2.0.0/16", 1, 0, 0xffff, 0x0800, 0x08ff);
	struct flow f = fl("10.1.0.1", "10.2.0.1", 1, 0, 0x0800);
	assert_true(ts_match(&t, &f));
	f.dport = 0x0000; /* echo reply */
	assert_false(ts_match(&t, &f));
	/* reverse: addresses swap, the type/code does not */
	struct flow r = fl("10.2.0.1", "10.1.0.1", 1, 0, 0x0800);
	assert_true(ts_match_reverse(&t, &r));
	/* the same selector with the type in the sport range */
	t = mk("10.1.0.0/16", "10.2.0.0/16", 1, 0x0800, 0x08ff, 0, 0xffff);
	f.dport = 0x0803;
	assert_true(ts_match(&t, &f));
	f.dport = 0x0300;
	assert_false(ts_match(&t, &f));

	/* a non-initial fragment matches only port-less selectors */
	struct ts ports = mk("0.0.0.0/0", "0.0.0.0/0", 17, 0, 0xffff, 0, 100);
	struct ts noports = mk("0.0.0.0/0", "0.0.0.0/0", 17, 0, 0xffff, 0, 0xffff);
	struct flow frag = fl("1.1.1.1", "2.2.2.2", 17, 0, 0);
	frag.opaque = true;
	assert_false(ts_match(&ports, &frag));
	assert_true(ts_match(&noports, &frag));
	/* a protocol without ports does not match a port-specific selector */
	struct ts p0 = mk("0.0.0.0/0", "0.0.0.0/0", 0, 0, 0xffff, 0, 100);
	struct flow gre = fl("1.1.1.1", "2.2.2.2", 47, 0, 0);
	assert_false(ts_match(&p0, &gre));
	struct flow udp = fl("1.1.1.1", "2.2.2.2", 17, 7, 7);
	assert_true(ts_match(&noports, &udp));
}

static void test_list_and_str(void **state)
{
	(void)state;
	struct ts_list l;
	char buf[TS_STRLEN];
	memset(&l, 0, sizeof(l));
	l.ts[0] = mk("10.1.0.0/24", "10.2.0.0/24", 6, 0, 0xffff, 22, 22);
	l.ts[1] = mk("10.1.0.0/24", "10.3.0.0/24", 0, 0, 0xffff, 0, 0xffff);
	l.n = 2;
	struct flow f = fl("10.1.0.5", "10.3.0.5", 17, 1, 2);
	assert_true(ts_list_match(&l, &f, false));
	assert_false(ts_list_match(&l, &f, true));
	l.n = 1;
	assert_false(ts_list_match(&l, &f, false));
	l.n = 0;
	assert_false(ts_list_match(&l, &f, false));

	assert_string_equal(ts_str(&l.ts[0], buf, sizeof(buf)),
			    "10.1.0.0/24 -> 10.2.0.0/24 proto 6 dport 22");
	struct ts t = mk("2001:db8::/32", NULL, 17, 1024, 65535, 0, 0xffff);
	assert_string_equal(ts_str(&t, buf, sizeof(buf)), "2001:db8::/32 -> any proto 17 sport 1024-65535");
	assert_string_equal(flow_str(&f, buf, sizeof(buf)), "10.1.0.5:1 -> 10.3.0.5:2 proto 17");
	/* truncation is safe */
	assert_string_equal(ts_str(&t, buf, 5), "2001");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_tcp_udp_icmp),
		cmocka_unit_test(test_v4_fragments_and_garbage),
		cmocka_unit_test(test_v6_ext_headers),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_icmp_and_fragments),
		cmocka_unit_test(test_list_and_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
