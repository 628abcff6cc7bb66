/* Test helper: load an example configuration with its crypto map VPN
 * renamed to the longest name the parser takes. Include after cmocka.h,
 * stdio.h, string.h and config/model.h. */
#ifndef ESPRIT_TEST_LONG_MAP_H
#define ESPRIT_TEST_LONG_MAP_H

#define LONG_MAP "VPN-" "0123456789abcdef0123456789abcdef0123456789abcdef" "0123456789a"
static struct config *load_long_map(const char *path)
{
	struct cfg_error e;
	char text[8192], out[8400];
	FILE *f = fopen(path, "r");
	size_t n, o = 0;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	for (const char *p = text; *p;) {
		if (strncmp(p, "map VPN ", 8) == 0 || strncmp(p, "map VPN\n", 8) == 0) {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "map %s", LONG_MAP);
			p += 7;
		} else {
			out[o++] = *p++;
		}
		assert_true(o < sizeof(out) - 80);
	}
	out[o] = 0;
	struct config *c = config_load_buffer(path, out, &e);
	if (!c) {
		char buf[1024];
		cfg_error_format(&e, buf, sizeof(buf));
		fail_msg("%s", buf);
	}
	return c;
}

#endif
