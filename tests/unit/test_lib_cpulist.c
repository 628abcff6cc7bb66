/* CPU lists (lib/cpulist.h): what `crypto engine cpus` accepts, and the
 * canonical text it is written back as. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/cpulist.h"

static const char *canon(const char *in, char *buf)
{
	uint64_t m[CPULIST_WORDS];

	if (!cpulist_parse(in, m))
		return NULL;
	return cpulist_str(m, buf, CPULIST_STRLEN);
}

static void test_lists_written_as_ranges(void **state)
{
	char b[CPULIST_STRLEN];

	(void)state;
	assert_string_equal(canon("0", b), "0");
	assert_string_equal(canon("3,1,2", b), "1-3");
	assert_string_equal(canon("0-3,6", b), "0-3,6");
	assert_string_equal(canon("7,0-2,2-4,9", b), "0-4,7,9");
	assert_string_equal(canon("5-5", b), "5");
	assert_string_equal(canon("1023", b), "1023");
	assert_string_equal(canon("0-1023", b), "0-1023");
	assert_string_equal(canon("62-65", b), "62-65"); /* across a word */
}

static void test_bad_lists_refused(void **state)
{
	static const char *bad[] = {"", "a", "-1", "1-", "3-1", "1,,2", "1,", ",1", "1024",
				    "0-1024", "1 2", "0x1", "1-2-3", "99999999999999999999"};
	uint64_t m[CPULIST_WORDS];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(m, 0xa5, sizeof(m));
		if (cpulist_parse(bad[i], m))
			fail_msg("accepted \"%s\"", bad[i]);
		for (size_t k = 0; k < CPULIST_WORDS; k++) /* untouched */
			assert_true(m[k] == 0xa5a5a5a5a5a5a5a5ull);
	}
}

static void test_next_and_longest(void **state)
{
	uint64_t m[CPULIST_WORDS] = {0};
	char b[CPULIST_STRLEN];

	(void)state;
	assert_int_equal(cpulist_next(m, 0), -1);
	assert_string_equal(cpulist_str(m, b, sizeof(b)), "");
	cpulist_set(m, 64);
	cpulist_set(m, 1000);
	cpulist_set(m, CPULIST_MAX); /* out of range: ignored */
	assert_int_equal(cpulist_next(m, 0), 64);
	assert_int_equal(cpulist_next(m, 65), 1000);
	assert_int_equal(cpulist_next(m, 1001), -1);
	/* every other CPU: the longest text, whole */
	memset(m, 0x55, sizeof(m));
	cpulist_str(m, b, sizeof(b));
	assert_true(strlen(b) < sizeof(b) - 1);
	assert_non_null(strstr(b, "0,2,4,"));
	assert_non_null(strstr(b, ",1020,1022"));
	assert_int_equal(b[strlen(b) - 1], '2');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists_written_as_ranges),
		cmocka_unit_test(test_bad_lists_refused),
		cmocka_unit_test(test_next_and_longest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
