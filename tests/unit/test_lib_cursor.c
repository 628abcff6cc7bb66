/* Unit tests for the bounds-checked cursor, addresses and secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/cursor.h"
#include "lib/secret.h"

static void test_reads_fail_closed(void **state)
{
	(void)state;
	const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05};
	struct cur c = cur_init(b, sizeof(b));
	uint16_t v16;
	uint32_t v32 = 0xdeadbeef;

	assert_true(cur_u16(&c, &v16));
	assert_int_equal(v16, 0x0102);
	assert_false(cur_u32(&c, &v32)); /* only 3 left */
	assert_int_equal(v32, 0xdeadbeef); /* untouched */
	assert_false(cur_ok(&c));
	assert_int_equal(cur_left(&c), 0);
	uint8_t v8;
	assert_false(cur_u8(&c, &v8)); /* stays failed */
}

static void test_sub_cursor(void **state)
{
	(void)state;
	const uint8_t b[] = {0, 3, 'a', 'b', 'c', 9};
	struct cur c = cur_init(b, sizeof(b)), s;
	uint16_t n;
	const uint8_t *v;
	assert_true(cur_u16(&c, &n));
	assert_true(cur_sub(&c, &s, n));
	assert_true(cur_view(&s, &v, 3));
	assert_memory_equal(v, "abc", 3);
	assert_false(cur_skip(&s, 1));
	assert_int_equal(cur_left(&c), 1);
	assert_false(cur_sub(&c, &s, 2));
}

static void test_writer(void **state)
{
	(void)state;
	uint8_t b[6];
	struct wcur w = wcur_init(b, sizeof(b));
	assert_true(wcur_u32(&w, 0x01020304));
	assert_false(wcur_u32(&w, 0));
	assert_true(w.failed);
	assert_int_equal(w.off, 4);
}

static void test_prefix_and_masks(void **state)
{
	(void)state;
	struct ip_prefix p;
	struct ip_addr a;
	uint8_t len;
	char buf[64];

	assert_true(ip_prefix_parse("198.19.1.77/24", &p));
	assert_string_equal(ip_prefix_str(&p, buf), "198.19.1.0/24");
	assert_true(ip_addr_parse("198.19.1.200", &a));
	assert_true(ip_prefix_contains(&p, &a));
	assert_true(ip_addr_parse("198.19.2.1", &a));
	assert_false(ip_prefix_contains(&p, &a));
	/* prefix lengths that end inside a byte, /0, host routes, IPv6 */
	static const struct {
		const char *pfx, *addr;
		bool in;
	} c[] = {
		{"198.19.255.4/30", "198.19.255.7", true}, {"198.19.255.4/30", "198.19.255.8", false},
		{"198.19.255.4/30", "198.19.255.3", false}, {"198.18.0.0/15", "198.19.200.1", true},
		{"198.18.0.0/15", "198.20.0.1", false},     {"0.0.0.0/0", "203.0.113.9", true},
		{"198.19.1.2/32", "198.19.1.2", true},      {"198.19.1.2/32", "198.19.1.3", false},
		{"2001:db8::/33", "2001:db8:7fff::1", true}, {"2001:db8::/33", "2001:db8:8000::1", false},
		{"::/0", "2001:db8::1", true},              {"::/0", "198.19.1.1", false},
		{"2001:db8::1/128", "2001:db8::1", true},   {"2001:db8::1/128", "2001:db8::2", false},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_true(ip_prefix_parse(c[i].pfx, &p));
		assert_true(ip_addr_parse(c[i].addr, &a));
		if (ip_prefix_contains(&p, &a) != c[i].in)
			fail_msg("%s contains %s: expected %d", c[i].pfx, c[i].addr, c[i].in);
	}
	assert_true(ip_mask_to_len("0.0.0.255", true, &len));
	assert_int_equal(len, 24);
	assert_true(ip_mask_to_len("255.255.255.252", false, &len));
	assert_int_equal(len, 30);
	assert_false(ip_mask_to_len("255.0.255.0", false, &len));
	assert_true(ip_prefix_parse("2001:db8:1::5/48", &p));
	assert_string_equal(ip_prefix_str(&p, buf), "2001:db8:1::/48");
	assert_false(ip_prefix_parse("198.19.1.0/33", &p));
	assert_false(ip_prefix_parse("nonsense", &p));
}

static void test_secret_hex(void **state)
{
	(void)state;
	struct secret *s = secret_from_hex("0x00ff10");
	assert_non_null(s);
	assert_int_equal(s->len, 3);
	assert_int_equal(s->p[1], 0xff);
	secret_free(s);
	assert_null(secret_from_hex("abc"));
	assert_null(secret_from_hex("zz"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_fail_closed), cmocka_unit_test(test_sub_cursor),
		cmocka_unit_test(test_writer), cmocka_unit_test(test_prefix_and_masks),
		cmocka_unit_test(test_secret_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
