/* The configuration printed in README.md's quick start loads as it is
 * (and round-trips through show running-config), so the front page cannot
 * drift from the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The first ``` block after "## Quick start". */
static char *quick_start_block(const char *md)
{
	const char *s = strstr(md, "## Quick start"), *b, *e;
	char *out;

	if (!s || !(b = strstr(s, "```\n")) || !(e = strstr(b + 4, "```")))
		return NULL;
	b += 4;
	out = calloc(1, (size_t)(e - b) + 1);
	if (out)
		memcpy(out, b, (size_t)(e - b));
	return out;
}

static void test_readme_quick_start_loads(void **state)
{
	(void)state;
	char *md = read_all("README.md");
	assert_non_null(md);
	char *cfg = quick_start_block(md);
	assert_non_null(cfg);
	assert_non_null(strstr(cfg, "crypto map VPN 10 ipsec-manual"));

	struct cfg_error e;
	struct config *c = config_load_buffer("README.md quick start", cfg, &e);
	if (!c) {
		char buf[1024];
		cfg_error_format(&e, buf, sizeof(buf));
		fail_msg("%s", buf);
	}
	assert_int_equal(c->nmaps, 1);
	char *text = config_write(c);
	struct config *again = config_load_buffer("rewritten", text, &e);
	assert_non_null(again);
	assert_true(config_equal(c, again));
	free(text);
	config_free(again);
	config_free(c);
	free(cfg);
	free(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readme_quick_start_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
