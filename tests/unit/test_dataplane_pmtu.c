/* pmtu.c: parsing the path MTU messages routers send about our packets
 * (RFC 1191 ICMP "fragmentation needed", RFC 4443 3.2 "packet too big"):
 * what each quoted packet maps to (ESP, AH, ESP-in-UDP with and without
 * the SPI quoted, IKE), and the messages that must be refused (bad
 * checksum, lengths, MTU 0, later fragments, other types). The messages
 * are built here byte by byte; checksums by the reference sum. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/internal.h"
#include "lib/cursor.h"
#include "csum_ref.h"

static const uint8_t GA[4] = {198, 18, 1, 2}, GB[4] = {198, 18, 0, 2}, RT[4] = {198, 18, 1, 1};

/* The quoted packet: an IPv4 header gwA -> gwB of protocol proto, then
 * the l4 bytes. */
static size_t quote4(uint8_t *d, uint8_t proto, uint16_t frag, const uint8_t *l4, size_t l4len)
{
	memset(d, 0, 20);
	d[0] = 0x45;
	put_be16(d + 2, 1456);
	put_be16(d + 6, frag);
	d[8] = 63;
	d[9] = proto;
	memcpy(d + 12, GA, 4);
	memcpy(d + 16, GB, 4);
	memcpy(d + 20, l4, l4len);
	return 20 + l4len;
}

/* The whole IPv4 packet a raw ICMP socket returns: router -> gwA, ICMP
 * type/code with mtu, quoting q. */
static size_t icmp4(uint8_t *d, uint8_t type, uint8_t code, uint16_t mtu, const uint8_t *q,
		    size_t qlen)
{
	size_t len = 20 + 8 + qlen;

	memset(d, 0, 28);
	d[0] = 0x45;
	put_be16(d + 2, (uint16_t)len);
	d[8] = 64;
	d[9] = 1;
	memcpy(d + 12, RT, 4);
	memcpy(d + 16, GA, 4);
	put_be16(d + 10, (uint16_t)~naive_fold(naive_sum(d, 20, 0)));
	d[20] = type;
	d[21] = code;
	put_be16(d + 26, mtu);
	memcpy(d + 28, q, qlen);
	put_be16(d + 22, (uint16_t)~naive_fold(naive_sum(d + 20, 8 + qlen, 0)));
	return len;
}

static void test_esp_and_ah(void **state)
{
	uint8_t q[80], d[200];
	const uint8_t esp[8] = {0, 0, 0x10, 0x01, 0, 0, 0, 9};
	const uint8_t ah[8] = {4, 4, 0, 0, 0xab, 0xcd, 0x00, 0x01};
	struct pmtu_msg m;
	char a[IP_ADDR_STRLEN];
	(void)state;

	size_t n = icmp4(d, 3, 4, 1300, q, quote4(q, 50, 0x4000, esp, 8));
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_OK);
	assert_int_equal(m.mtu, 1300);
	assert_int_equal(m.proto, 50);
	assert_false(m.udp);
	assert_int_equal(m.spi, 0x1001);
	assert_string_equal(ip_addr_str(&m.from, a), "198.18.1.1");
	assert_string_equal(ip_addr_str(&m.src, a), "198.18.1.2");
	assert_string_equal(ip_addr_str(&m.dst, a), "198.18.0.2");

	n = icmp4(d, 3, 4, 1280, q, quote4(q, 51, 0, ah, 8));
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_OK);
	assert_int_equal(m.proto, 51);
	assert_int_equal(m.spi, 0xabcd0001);
	/* AH needs 8 bytes for its SPI: a 4-byte quote is malformed */
	n = icmp4(d, 3, 4, 1280, q, quote4(q, 51, 0, ah, 4));
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_BAD);
}

static void test_udp(void **state)
{
	uint8_t q[80], d[200];
	const uint8_t u[12] = {0x11, 0x94, 0x11, 0x94, 0x05, 0xa0, 0, 0, 0, 0, 0x20, 0x02};
	const uint8_t ike[12] = {0x11, 0x94, 0x11, 0x94, 0x05, 0xa0, 0, 0, 0, 0, 0, 0};
	struct pmtu_msg m;
	(void)state;

	size_t n = icmp4(d, 3, 4, 1300, q, quote4(q, 17, 0x4000, u, 12));
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_OK);
	assert_true(m.udp);
	assert_int_equal(m.proto, 50);
	assert_int_equal(m.sport, 4500);
	assert_int_equal(m.dport, 4500);
	assert_int_equal(m.spi, 0x2002);
	/* only the 8 bytes of RFC 792 quoted: the ports, no SPI */
	n = icmp4(d, 3, 4, 1300, q, quote4(q, 17, 0x4000, u, 8));
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_OK);
	assert_true(m.udp);
	assert_int_equal(m.spi, 0);
	/* the non-ESP marker: an IKE message, not ours to apply */
	n = icmp4(d, 3, 4, 1300, q, quote4(q, 17, 0x4000, ike, 12));
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_FOREIGN);
}

static void test_refused(void **state)
{
	uint8_t q[80], d[200];
	const uint8_t esp[8] = {0, 0, 0x10, 0x01, 0, 0, 0, 9};
	const uint8_t tcp[8] = {0, 22, 0x80, 0, 0, 0, 0, 1};
	struct pmtu_msg m;
	size_t n, ql = quote4(q, 50, 0x4000, esp, 8);
	(void)state;

	/* another destination unreachable (port) */
	n = icmp4(d, 3, 3, 0, q, ql);
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_NOT);
	/* no next-hop MTU (a router older than RFC 1191) */
	n = icmp4(d, 3, 4, 0, q, ql);
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_BAD);
	/* a wrong ICMP checksum */
	n = icmp4(d, 3, 4, 1300, q, ql);
	d[23] ^= 1;
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_BAD);
	/* the IP length field disagrees with what was read */
	n = icmp4(d, 3, 4, 1300, q, ql);
	assert_int_equal(icmp4_pmtu_parse(d, n - 1, &m), PMTU_BAD);
	/* every truncation is refused, none read past the end */
	for (size_t k = 0; k < n; k++)
		assert_int_not_equal(icmp4_pmtu_parse(d, k, &m), PMTU_OK);
	/* a later fragment of a packet: its first bytes are not a header */
	n = icmp4(d, 3, 4, 1300, q, quote4(q, 50, 0x0010, esp, 8));
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_FOREIGN);
	/* about the host's own TCP */
	n = icmp4(d, 3, 4, 1300, q, quote4(q, 6, 0x4000, tcp, 8));
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_FOREIGN);
	/* a quoted header that is not IPv4 */
	ql = quote4(q, 50, 0x4000, esp, 8);
	q[0] = 0x65;
	n = icmp4(d, 3, 4, 1300, q, ql);
	assert_int_equal(icmp4_pmtu_parse(d, n, &m), PMTU_BAD);
}

static void test_ipv6(void **state)
{
	uint8_t d[200];
	struct pmtu_msg m;
	struct ip_addr from;
	char a[IP_ADDR_STRLEN];
	(void)state;

	assert_true(ip_addr_parse("2001:db8:ff::7", &from));
	memset(d, 0, sizeof(d));
	d[0] = 2; /* packet too big */
	put_be32(d + 4, 1400);
	d[8] = 0x60;
	d[8 + 6] = 50;
	inet_pton(AF_INET6, "2001:db8:ff::1", d + 8 + 8);
	inet_pton(AF_INET6, "2001:db8:ff::2", d + 8 + 24);
	put_be32(d + 48, 0x3003);
	assert_int_equal(icmp6_pmtu_parse(d, 56, &from, &m), PMTU_OK);
	assert_int_equal(m.mtu, 1400);
	assert_int_equal(m.spi, 0x3003);
	assert_string_equal(ip_addr_str(&m.from, a), "2001:db8:ff::7");
	assert_string_equal(ip_addr_str(&m.dst, a), "2001:db8:ff::2");
	for (size_t k = 0; k < 52; k++)
		assert_int_not_equal(icmp6_pmtu_parse(d, k, &from, &m), PMTU_OK);
	d[0] = 1; /* destination unreachable */
	assert_int_equal(icmp6_pmtu_parse(d, 56, &from, &m), PMTU_NOT);
	d[0] = 2;
	d[8 + 6] = 6; /* TCP */
	assert_int_equal(icmp6_pmtu_parse(d, 56, &from, &m), PMTU_FOREIGN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esp_and_ah),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_ipv6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
