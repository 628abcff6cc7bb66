/* Manual SAs' outbound sequence numbers across restarts (config/seqstate.h):
 * the reservation written while running, the exact number at a clean stop,
 * read back by the next run's first apply; bad lines skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <urcu.h>

#include "config/model.h"
#include "config/reconcile.h"
#include "config/seqstate.h"
#include "ipsec/sad.h"
#include "ipsec/spd.h"

static char path[64];

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/esprit-seqstate-%d.seq", (int)getpid());
	unlink(path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void apply(struct reconcile_target *t, const char *cfgpath)
{
	struct cfg_error e;
	struct config *c = config_load_file(cfgpath, &e);
	struct desired d;
	char err[512];

	assert_non_null(c);
	assert_int_equal(reconcile_build(c, &d, err, sizeof(err)), 0);
	assert_int_equal(reconcile_apply(t, &d, err, sizeof(err)), 0);
	reconcile_desired_free(&d);
	config_free(c);
}

static void set_seq(struct sa *sa, void *arg)
{
	if (sa->p.dir == SA_DIR_OUT)
		sa->seq_out = *(uint64_t *)arg;
}

static void get_seq(struct sa *sa, void *arg)
{
	if (sa->p.dir == SA_DIR_OUT)
		*(uint64_t *)arg = sa->seq_out;
}

/* The number the file holds for ESP SPI 0x1001 to 198.18.0.2, or 0. */
static uint64_t file_seq(void)
{
	char line[256];
	uint64_t v = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "esp 0x00001001 198.18.0.2 %lu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void test_reserve_then_exact(void **state)
{
	(void)state;
	struct reconcile_target t = {0};
	struct seqstate st;
	uint64_t v = 1000, got = 0;

	t.sad = sad_new(1);
	t.spd = spd_new();
	assert_int_equal(seqstate_open(&st, path), 0); /* no file: no state */
	assert_int_equal(st.nsaved, 0);
	apply(&t, "examples/manual-esp-gcm-gwA.cfg");
	sad_foreach(t.sad, set_seq, &v);
	assert_int_equal(seqstate_sync(&st, t.sad, false), 0);
	assert_int_equal(file_seq(), 1000 + SEQSTATE_MARGIN);
	/* Within half the margin: not written again. */
	v = 1000 + SEQSTATE_MARGIN / 2;
	sad_foreach(t.sad, set_seq, &v);
	assert_int_equal(seqstate_sync(&st, t.sad, false), 0);
	assert_int_equal(file_seq(), 1000 + SEQSTATE_MARGIN);
	/* Past it: a new reservation, before the SA reaches the old one. */
	v = 1001 + SEQSTATE_MARGIN / 2;
	sad_foreach(t.sad, set_seq, &v);
	assert_int_equal(seqstate_sync(&st, t.sad, false), 0);
	assert_int_equal(file_seq(), 1001 + SEQSTATE_MARGIN / 2 + SEQSTATE_MARGIN);
	/* A clean stop: the exact number. */
	assert_int_equal(seqstate_sync(&st, t.sad, true), 0);
	assert_int_equal(file_seq(), v);
	seqstate_close(&st);
	sad_free(t.sad);
	spd_free(t.spd);
	free(t.routes);

	/* The next run's first apply goes on from it. */
	t = (struct reconcile_target){0};
	t.sad = sad_new(1);
	t.spd = spd_new();
	assert_int_equal(seqstate_open(&st, path), 0);
	assert_int_equal(st.nsaved, 1);
	t.seq = &st;
	apply(&t, "examples/manual-esp-gcm-gwA.cfg");
	sad_foreach(t.sad, get_seq, &got);
	assert_int_equal(got, v);
	seqstate_close(&st);
	sad_free(t.sad);
	spd_free(t.spd);
	free(t.routes);
}

/* Writes the gwA example to cfgpath with its outbound SPI 4097 and key
 * replaced by spi and key (NULL: kept). */
static void write_variant(const char *cfgpath, const char *spi, const char *key)
{
	static const char out_spi[] = "outbound esp 4097 cipher ";
	static const char out_key[] = "64df77d067448985911c0eacde81053fab88e9543106a446c5c21c386a0c7054"
				      "3808792b";
	char buf[4096], line[512];
	size_t n = 0;
	FILE *in = fopen("examples/manual-esp-gcm-gwA.cfg", "r"), *out;

	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		char *at = strstr(line, out_spi);

		if (at)
			snprintf(at, sizeof(line) - (size_t)(at - line), "outbound esp %s cipher %s\n",
				 spi, key ? key : out_key);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", line);
		assert_true(n < sizeof(buf));
	}
	fclose(in);
	out = fopen(cfgpath, "w");
	assert_non_null(out);
	fputs(buf, out);
	fclose(out);
}

/* One run with the example's SAs stopped at sequence number v; the next run
 * loads cfgpath and returns what its outbound SA starts from. */
static uint64_t restart_with(const char *cfgpath, uint64_t v)
{
	struct reconcile_target t = {0};
	struct seqstate st;
	uint64_t got = 0;

	unlink(path);
	t.sad = sad_new(1);
	t.spd = spd_new();
	assert_int_equal(seqstate_open(&st, path), 0);
	apply(&t, "examples/manual-esp-gcm-gwA.cfg");
	sad_foreach(t.sad, set_seq, &v);
	assert_int_equal(seqstate_sync(&st, t.sad, true), 0);
	seqstate_close(&st);
	sad_free(t.sad);
	spd_free(t.spd);
	free(t.routes);

	t = (struct reconcile_target){0};
	t.sad = sad_new(1);
	t.spd = spd_new();
	assert_int_equal(seqstate_open(&st, path), 0);
	t.seq = &st;
	apply(&t, cfgpath);
	sad_foreach(t.sad, get_seq, &got);
	seqstate_close(&st);
	sad_free(t.sad);
	spd_free(t.spd);
	free(t.routes);
	return got;
}

/* The counter belongs to the key (RFC 4303 3.3.3 "until the key is
 * replaced"): a restart that gives the SA a new SPI under the same key goes
 * on from the saved number, else AES-GCM repeats its nonces (the sequence
 * numbers). A new key starts from 1. The file holds a fingerprint, not the
 * key, and only root reads it. */
static void test_counter_follows_key(void **state)
{
	char cfg[64], line[256];
	struct stat sb;
	bool fingerprint = false;
	FILE *f;

	(void)state;
	snprintf(cfg, sizeof(cfg), "/tmp/esprit-seqstate-%d.cfg", (int)getpid());
	write_variant(cfg, "4099", NULL);
	assert_int_equal(restart_with(cfg, 5000), 5000);

	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		assert_null(strstr(line, "64df77d067448985"));
		if (strstr(line, "esp 0x00001001 198.18.0.2 5000 key=") == line &&
		    strlen(line) == strlen("esp 0x00001001 198.18.0.2 5000 key=") + 17)
			fingerprint = true;
	}
	fclose(f);
	assert_true(fingerprint);

	write_variant(cfg, "4099", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
				   "01020304");
	assert_int_equal(restart_with(cfg, 5000), 0);
	unlink(cfg);
}

/* The default control socket keeps its numbers on persistent storage (a
 * reboot empties /run: the manual SAs would start from 1 again under the
 * same keys); another socket (-s) beside it. */
static void test_path(void **state)
{
	char p[256];

	(void)state;
	seqstate_path("/run/esprit/espritd.sock", "/run/esprit/espritd.sock", p, sizeof(p));
	assert_string_equal(p, "/var/lib/esprit/espritd.seq");
	seqstate_path("/tmp/t/gA.sock", "/run/esprit/espritd.sock", p, sizeof(p));
	assert_string_equal(p, "/tmp/t/gA.seq");
	seqstate_path("/tmp/t/ctl", "/run/esprit/espritd.sock", p, sizeof(p));
	assert_string_equal(p, "/tmp/t/ctl.seq");
}

static void test_bad_lines_skipped(void **state)
{
	(void)state;
	struct seqstate st;
	struct sa_params p;
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("# comment\n"
	      "esp 0x00001001 198.18.0.2 777\n"
	      "esp 0x00001002 198.18.0.2 12 trailing\n"
	      "gre 0x00001003 198.18.0.2 5\n"
	      "esp 0x00001004 not-an-address 5\n"
	      "ah 0x00001005 2001:db8::1 99\n"
	      "esp 0x00001006\n"
	      "esp 0x00001007 198.18.0.2 8 key=0011223344556677\n"
	      "esp 0x00001008 198.18.0.2 9 key=00112233\n"
	      "esp 0x00001009 198.18.0.2 9 key=0011223344556677 more\n",
	      f);
	fclose(f);
	assert_int_equal(seqstate_open(&st, path), 0);
	assert_int_equal(st.nsaved, 3);
	memset(&p, 0, sizeof(p));
	p.dir = SA_DIR_OUT;
	p.origin = SA_ORIGIN_MANUAL;
	p.proto = IPSEC_PROTO_ESP;
	p.spi = 0x1001;
	assert_true(ip_addr_parse("198.18.0.2", &p.dst));
	assert_int_equal(seqstate_find(&st, &p), 777);
	p.spi = 0x1002;
	assert_int_equal(seqstate_find(&st, &p), 0);
	p.proto = IPSEC_PROTO_AH;
	p.spi = 0x1005;
	assert_true(ip_addr_parse("2001:db8::1", &p.dst));
	assert_int_equal(seqstate_find(&st, &p), 99);
	p.origin = SA_ORIGIN_KEYMGR; /* negotiated SAs are IKE's */
	assert_int_equal(seqstate_find(&st, &p), 0);
	seqstate_close(&st);
}

int main(void)
{
	rcu_register_thread();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reserve_then_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_follows_key, setup, teardown),
		cmocka_unit_test(test_path),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return r;
}
