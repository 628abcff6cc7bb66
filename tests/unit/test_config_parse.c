/* Configuration language: examples round-trip, errors point at the right
 * line/column/token, abbreviations, modes, `no`, help, save. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/model.h"
#include "crypto/alg.h"
#include "dataplane/dp.h"
#include "ipsec/sa.h"

/* load -> write -> load -> write: byte-identical text, equal models. */
static void roundtrip(const char *path)
{
	struct cfg_error err;
	struct config *a = config_load_file(path, &err), *b;
	char *ta, *tb, msg[2048];

	if (!a) {
		cfg_error_format(&err, msg, sizeof(msg));
		fail_msg("%s", msg);
	}
	ta = config_write(a);
	assert_non_null(ta);
	b = config_load_buffer("written", ta, &err);
	if (!b) {
		cfg_error_format(&err, msg, sizeof(msg));
		fail_msg("%s: written text does not reload:\n%s\n%s", path, msg, ta);
	}
	tb = config_write(b);
	assert_string_equal(ta, tb);
	assert_true(config_equal(a, b));
	free(ta);
	free(tb);
	config_free(a);
	config_free(b);
}

static void test_examples_roundtrip(void **state)
{
	DIR *d = opendir("examples");
	struct dirent *de;
	unsigned n = 0;
	char path[512];

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".cfg") != 0)
			continue;
		snprintf(path, sizeof(path), "examples/%s", de->d_name);
		roundtrip(path);
		n++;
	}
	closedir(d);
	assert_true(n >= 19);
}

static void test_example_model(void **state)
{
	struct cfg_error err;
	struct config *c = config_load_file("examples/manual-esp-gcm-gwA.cfg", &err);
	const struct cfg_transform_set *ts;
	const struct cfg_map_entry *e;

	(void)state;
	assert_non_null(c);
	ts = config_transform_set(c, "TS");
	assert_non_null(ts);
	assert_int_equal(ts->esp_encr, ENCR_AES_GCM_16);
	assert_int_equal(ts->esp_key_bits, 256);
	assert_int_equal(ts->esp_integ, AUTH_NONE);
	assert_int_equal(ts->mode, IPSEC_MODE_TUNNEL);
	assert_int_equal(c->nmaps, 1);
	e = &c->maps[0];
	assert_true(e->manual);
	assert_int_equal(e->peer.af, AF_INET);
	assert_int_equal(e->esp_out.cipher->len, 36); /* 256-bit key + 4-byte salt */
	assert_non_null(config_acl(c, "101"));
	assert_int_equal(config_acl(c, "101")->aces[0].ts.src.len, 24);
	assert_string_equal(c->tun_ifname, "ipsec0");
	config_free(c);
}

/* gwA's outbound keys are gwB's inbound keys, for every pair. */
static void test_example_pairs_mirrored(void **state)
{
	static const char *pairs[] = {"manual-esp-gcm", "manual-esp-cbc-sha256", "manual-3des-sha1",
				      "manual-transport", "manual-ah-tunnel", "manual-ah-esp",
				      "manual-ipcomp", "manual-udp-encap", "manual-ipv6"};
	struct cfg_error err;
	char pa[256], pb[256];

	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct config *a, *b;
		const struct cfg_map_entry *ea, *eb;

		snprintf(pa, sizeof(pa), "examples/%s-gwA.cfg", pairs[i]);
		snprintf(pb, sizeof(pb), "examples/%s-gwB.cfg", pairs[i]);
		a = config_load_file(pa, &err);
		b = config_load_file(pb, &err);
		assert_non_null(a);
		assert_non_null(b);
		ea = &a->maps[0];
		eb = &b->maps[0];
		assert_int_equal(ea->esp_out.spi, eb->esp_in.spi);
		assert_int_equal(ea->ah_out.spi, eb->ah_in.spi);
		if (ea->esp_out.cipher)
			assert_memory_equal(ea->esp_out.cipher->p, eb->esp_in.cipher->p,
					    ea->esp_out.cipher->len);
		if (ea->ah_out.auth)
			assert_memory_equal(ea->ah_out.auth->p, eb->ah_in.auth->p,
					    ea->ah_out.auth->len);
		config_free(a);
		config_free(b);
	}
}

/* ---- errors ---------------------------------------------------------- */

static const char base_cfg[] = "crypto ipsec transform-set TS esp-aes esp-sha256-hmac\n"
			       "access-list 101 permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.0.255\n"
			       "crypto map VPN 10 ipsec-manual\n"
			       " set peer 198.18.0.2\n"
			       " set transform-set TS\n"
			       " match address 101\n"
			       " set session-key inbound esp 300 cipher 00112233445566778899aabbccddeeff"
			       " authenticator 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
			       " set session-key outbound esp 301 cipher 00112233445566778899aabbccddeeff"
			       " authenticator 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

static void expect_error(const char *text, unsigned line, unsigned col, const char *token,
			 const char *msg_part, int kind)
{
	struct cfg_error err;
	struct config *c = config_load_buffer("t.cfg", text, &err);
	char out[2048];

	if (c) {
		config_free(c);
		fail_msg("loaded, but expected an error at %u:%u", line, col);
	}
	cfg_error_format(&err, out, sizeof(out));
	print_message("%s", out);
	assert_string_equal(err.file, "t.cfg");
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
	assert_string_equal(err.token, token);
	assert_non_null(strstr(err.msg, msg_part));
	assert_int_equal(err.kind, kind);
}

static void test_base_loads(void **state)
{
	struct cfg_error err;
	struct config *c = config_load_buffer("t.cfg", base_cfg, &err);

	(void)state;
	assert_non_null(c);
	config_free(c);
}

static void test_err_unknown_command(void **state)
{
	(void)state;
	expect_error("hostname gw\n\n  frobnicate now\n", 3, 3, "frobnicate", "expected one of:",
		     CFG_ERR_INVALID);
}

static void test_err_bad_address(void **state)
{
	char buf[2048];

	(void)state;
	snprintf(buf, sizeof(buf), "%s", base_cfg);
	*strstr(buf, "198.18.0.2") = '\0';
	strcat(buf, "198.18.0.x\n");
	expect_error(buf, 4, 11, "198.18.0.x", "expected an IPv4 or IPv6 address",
		     CFG_ERR_INVALID);
}

static void test_err_ambiguous(void **state)
{
	(void)state;
	expect_error("crypto ipsec transform-set T esp-a\n", 1, 30, "esp-a", "esp-aes-ctr",
		     CFG_ERR_AMBIGUOUS);
	expect_error("cr ipsec nat-transparency udp-encapsulation\ni\n", 2, 1, "i", "interface",
		     CFG_ERR_AMBIGUOUS);
}

static void test_err_undefined_transform_set(void **state)
{
	char buf[2048];

	(void)state;
	snprintf(buf, sizeof(buf), "%s", base_cfg);
	memcpy(strstr(buf, "transform-set TS\n"), "transform-set FO", 16);
	expect_error(buf, 5, 20, "FO", "transform set 'FO' is not defined (used by crypto map VPN 10 at line 3)",
		     CFG_ERR_SEMANTIC);
}

static void test_err_key_length(void **state)
{
	(void)state;
	/* esp-gcm 256 needs 36 bytes (key + salt); 16 given */
	expect_error("crypto ipsec transform-set G esp-gcm 256\n"
		     "access-list 101 permit ip any any\n"
		     "crypto map VPN 10 ipsec-manual\n"
		     "set peer 198.18.0.2\n"
		     "set transform-set G\n"
		     "match address 101\n"
		     "set session-key inbound esp 300 cipher 0x00112233445566778899AABBCCDDEEFF\n"
		     "set session-key outbound esp 301 cipher 00112233445566778899aabbccddeeff\n",
		     7, 40, "00112233445566778899aabbccddeeff", "must be 36 bytes", CFG_ERR_SEMANTIC);
	/* an authenticator where the transform set has none */
	expect_error("crypto ipsec transform-set G esp-gcm 128\n"
		     "access-list 101 permit ip any any\n"
		     "crypto map VPN 10 ipsec-manual\n"
		     "set peer 198.18.0.2\n"
		     "set transform-set G\n"
		     "match address 101\n"
		     "set session-key inbound esp 300 cipher 00112233445566778899aabbccddeeff00112233 authenticator 0011\n"
		     "set session-key outbound esp 301 cipher 00112233445566778899aabbccddeeff00112233\n",
		     7, 95, "0011", "takes no authenticator key", CFG_ERR_SEMANTIC);
}

static void test_err_missing_mode_argument(void **state)
{
	(void)state;
	expect_error("crypto ipsec transform-set T esp-aes esp-sha-hmac\n mode\n", 2, 7, "",
		     "tunnel", CFG_ERR_INCOMPLETE);
}

static void test_err_other(void **state)
{
	(void)state;
	expect_error("crypto ipsec transform-set T esp-gcm esp-sha-hmac\n", 1, 38, "esp-sha-hmac",
		     "own integrity", CFG_ERR_SEMANTIC);
	expect_error("crypto ipsec transform-set T esp-aes esp-3des\n", 1, 38, "esp-3des",
		     "one transform of each kind", CFG_ERR_SEMANTIC);
	expect_error("crypto map V 10 ipsec-manual\n set session-key inbound esp 255 cipher 00\n",
		     2, 30, "255", "256..4294967295", CFG_ERR_INVALID);
	expect_error("crypto map V 10 ipsec-manual\n set security-association replay window-size 16\n",
		     2, 46, "16", "32..65536", CFG_ERR_INVALID);
	expect_error("interface wan0\n do show running-config\n", 2, 2, "do", "exec",
		     CFG_ERR_EXEC);
	/* RFC 5114 group 24 (MODP 2048 with a 256-bit subgroup) is not built in */
	expect_error("crypto map V 10 ipsec-isakmp\n set pfs group24\n", 2, 10, "group24",
		     "group14", CFG_ERR_INVALID);
	expect_error("crypto map V 10 ipsec-manual\n", 1, 12, "V", "needs set peer",
		     CFG_ERR_SEMANTIC);
	expect_error("crypto ipsec transform-set T esp-gcm\naccess-list 101 permit ip any any\n"
		     "crypto map V 10 ipsec-manual\n set peer 198.18.0.2\n set transform-set T\n"
		     " match address 101\n set security-association level per-host\n",
		     3, 12, "V", "per-host needs IKE", CFG_ERR_SEMANTIC);
	expect_error("ip route 198.19.0.0 255.0.255.0 wan0\n", 1, 21, "255.0.255.0", "mask",
		     CFG_ERR_SEMANTIC);
}

static void test_error_format(void **state)
{
	struct cfg_error err;
	char out[2048];

	(void)state;
	assert_null(config_load_buffer("gw.cfg", "crypto map V 10 ipsec-manual\n set peer 198.18.0.x\n",
				       &err));
	cfg_error_format(&err, out, sizeof(out));
	assert_string_equal(out, "gw.cfg:2:11: % Invalid input detected at '^' marker.\n"
				 "    set peer 198.18.0.x\n"
				 "             ^\n"
				 "expected an IPv4 or IPv6 address\n");
}

/* ---- parsing behaviour --------------------------------------------- */

static void test_abbreviations_and_modes(void **state)
{
	struct cfg_error err;
	struct config *c;
	const struct cfg_transform_set *ts;

	(void)state;
	c = config_load_buffer("t", "cry ips trans T esp-gcm 192\nmo trans\n"
				    "ip access-l ext L\n10 perm tcp any host 198.18.0.1 eq 443\n"
				    "int wan0\nip addr 198.18.0.1 255.255.255.0\nshut\n"
				    "exit\nhost gw\n",
			       &err);
	assert_non_null(c);
	ts = config_transform_set(c, "T");
	assert_non_null(ts);
	assert_int_equal(ts->esp_encr, ENCR_AES_GCM_16);
	assert_int_equal(ts->esp_key_bits, 192);
	assert_int_equal(ts->mode, IPSEC_MODE_TRANSPORT);
	assert_int_equal(config_acl(c, "L")->aces[0].ts.proto, 6);
	assert_int_equal(config_acl(c, "L")->aces[0].ts.dport_lo, 443);
	assert_int_equal(config_acl(c, "L")->aces[0].ts.dport_hi, 443);
	assert_true(c->ifs[0].shutdown);
	assert_int_equal(c->ifs[0].addr.len, 24);
	assert_string_equal(c->hostname, "gw");
	config_free(c);
}

static void test_acl_seq_roundtrip(void **state)
{
	struct cfg_error err;
	struct config *a, *b;
	char *t;

	(void)state;
	a = config_load_buffer("t", "ip access-list extended X\n"
				    " 15 permit udp host 198.18.0.1 range 500 4500 any gt 1023\n"
				    " permit icmp any any\n 5 deny ip any any\n",
			       &err);
	assert_non_null(a);
	assert_int_equal(config_acl(a, "X")->n, 3);
	assert_int_equal(config_acl(a, "X")->aces[0].seq, 5);
	assert_int_equal(config_acl(a, "X")->aces[2].seq, 25);
	t = config_write(a);
	/* 15 follows 5 by the default step: not written */
	assert_non_null(strstr(t, " 5 deny ip any any\n permit udp host 198.18.0.1 range 500 "
				  "4500 any gt 1023\n permit icmp any any\n"));
	b = config_load_buffer("w", t, &err);
	assert_non_null(b);
	assert_true(config_equal(a, b));
	free(t);
	config_free(a);
	config_free(b);
}

/* no crypto engine offload X turns one off; the plain form turns it on
 * again; written back as the no form. */
static void test_engine_offload(void **state)
{
	struct cfg_error err;
	struct config *a, *b;
	char *t;

	(void)state;
	a = config_load_buffer("t", "crypto engine workers 2\n"
				    "no crypto engine offload tso\n"
				    "no crypto engine offload tun-gro\n"
				    "no crypto engine offload udp-gso\n"
				    "no crypto engine offload batch-crypto\n"
				    "no crypto engine offload uso\n"
				    "no crypto engine offload ipsec-mb\n"
				    "crypto engine offload udp-gso\n",
			       &err);
	assert_non_null(a);
	assert_int_equal(a->offload_off,
			 CFG_OFFLOAD_TSO | CFG_OFFLOAD_TUN_GRO | CFG_OFFLOAD_BATCH_CRYPTO |
				 CFG_OFFLOAD_USO | CFG_OFFLOAD_IPSEC_MB);
	t = config_write(a);
	assert_non_null(strstr(t, "crypto engine workers 2\nno crypto engine offload tso\n"
				  "no crypto engine offload tun-gro\n"
				  "no crypto engine offload batch-crypto\n"
				  "no crypto engine offload uso\n"
				  "no crypto engine offload ipsec-mb\n"));
	assert_null(strstr(t, "udp-gso"));
	b = config_load_buffer("w", t, &err);
	assert_non_null(b);
	assert_true(config_equal(a, b));
	b->offload_off = 0;
	assert_false(config_equal(a, b));
	free(t);
	config_free(a);
	config_free(b);
	expect_error("no crypto engine offload tos\n", 1, 26, "tos", "expected one of:",
		     CFG_ERR_INVALID);
}

/* Load text, write it back (it must hold `line`, or with line NULL not
 * `absent`), load that again: *a is the first load, *b the second, equal
 * to it. The caller frees both. */
static void load_write_load(const char *text, const char *line, const char *absent,
			    struct config **a, struct config **b)
{
	struct cfg_error err;
	char *t;

	*a = config_load_buffer("t", text, &err);
	assert_non_null(*a);
	t = config_write(*a);
	if (line)
		assert_non_null(strstr(t, line));
	if (absent)
		assert_null(strstr(t, absent));
	*b = config_load_buffer("w", t, &err);
	assert_non_null(*b);
	assert_true(config_equal(*a, *b));
	free(t);
}

/* crypto engine offload xdp-tx: off by default, on when configured,
 * written back as configured, part of equality; the no form turns it off
 * and writes nothing. */
static void test_engine_offload_xdp_tx(void **state)
{
	struct config *a, *b;

	(void)state;
	load_write_load("hostname g\n", NULL, "xdp-tx", &a, &b);
	assert_false(a->xdp_tx);
	config_free(a);
	config_free(b);
	load_write_load("crypto engine offload xdp-tx\n", "crypto engine offload xdp-tx\n",
			"no crypto engine offload", &a, &b);
	assert_true(a->xdp_tx);
	assert_int_equal(a->offload_off, 0);
	b->xdp_tx = false;
	assert_false(config_equal(a, b));
	config_free(a);
	config_free(b);
	load_write_load("crypto engine offload xdp-tx\nno crypto engine offload xdp-tx\n", NULL,
			"xdp-tx", &a, &b);
	assert_false(a->xdp_tx);
	config_free(a);
	config_free(b);
}

/* crypto ipsec df-bit: copy by default (not written), clear and set kept,
 * written back and part of equality; the no form and copy are the
 * default again; anything else refused at the word with the three
 * choices named. */
static void test_ipsec_df_bit(void **state)
{
	static const char *const back_to_copy[] = {
		"hostname g\n",
		"crypto ipsec df-bit clear\ncrypto ipsec df-bit copy\n",
		"crypto ipsec df-bit set\nno crypto ipsec df-bit\n",
	};
	struct cfg_error err;
	struct config *a, *b;

	(void)state;
	for (unsigned i = 0; i < sizeof(back_to_copy) / sizeof(back_to_copy[0]); i++) {
		load_write_load(back_to_copy[i], NULL, "df-bit", &a, &b);
		assert_int_equal(a->df_bit, DP_DF_COPY);
		config_free(a);
		config_free(b);
	}
	for (int i = 0; i < 2; i++) {
		const char *line = i ? "crypto ipsec df-bit set\n" : "crypto ipsec df-bit clear\n";
		load_write_load(line, line, NULL, &a, &b);
		assert_int_equal(a->df_bit, i ? DP_DF_SET : DP_DF_CLEAR);
		b->df_bit = DP_DF_COPY;
		assert_false(config_equal(a, b));
		config_free(a);
		config_free(b);
	}
	a = config_load_buffer("t", "hostname g\ncrypto ipsec df-bit sometimes\n", &err);
	assert_null(a);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "clear"));
}

/* crypto ipsec fragmentation: before-encryption by default (not
 * written), after-encryption kept, written back, part of equality; the no
 * form and before-encryption are the default again. */
static void test_ipsec_fragmentation(void **state)
{
	struct config *a, *b;

	(void)state;
	load_write_load("crypto ipsec fragmentation after-encryption\n",
			"crypto ipsec fragmentation after-encryption\n", NULL, &a, &b);
	assert_true(a->frag_after);
	b->frag_after = false;
	assert_false(config_equal(a, b));
	config_free(a);
	config_free(b);
	for (int i = 0; i < 2; i++) {
		load_write_load(i ? "crypto ipsec fragmentation after-encryption\n"
				    "no crypto ipsec fragmentation\n"
				  : "crypto ipsec fragmentation after-encryption\n"
				    "crypto ipsec fragmentation before-encryption\n",
				NULL, "fragmentation", &a, &b);
		assert_false(a->frag_after);
		config_free(a);
		config_free(b);
	}
}

/* crypto engine queue-length: kept, written back, part of equality; no
 * form back to the default; out of range refused at the number. */
static void test_engine_queue_length(void **state)
{
	struct cfg_error err;
	struct config *a, *b;
	char *t;

	(void)state;
	a = config_load_buffer("t", "crypto engine queue-length 4096\n", &err);
	assert_non_null(a);
	assert_int_equal(a->queue_len, 4096);
	t = config_write(a);
	assert_non_null(strstr(t, "crypto engine queue-length 4096\n"));
	b = config_load_buffer("w", t, &err);
	assert_non_null(b);
	assert_true(config_equal(a, b));
	b->queue_len = 500;
	assert_false(config_equal(a, b));
	free(t);
	config_free(a);
	config_free(b);
	a = config_load_buffer("t", "crypto engine queue-length 4096\n"
				    "no crypto engine queue-length\n",
			       &err);
	assert_non_null(a);
	assert_int_equal(a->queue_len, 0);
	t = config_write(a);
	assert_null(strstr(t, "queue-length"));
	free(t);
	config_free(a);
	expect_error("crypto engine queue-length 8\n", 1, 28, "8", "16..65536",
		     CFG_ERR_INVALID);
}

/* crypto engine cpus: a list kept as a mask, written back as ranges, part
 * of equality; no form back to any CPU; a bad list refused at the list. */
static void test_engine_cpus(void **state)
{
	struct cfg_error err;
	struct config *a, *b;
	char *t;

	(void)state;
	a = config_load_buffer("t", "crypto engine cpus 3,0-1,2\n", &err);
	assert_non_null(a);
	assert_int_equal(a->cpus[0], 0xf);
	t = config_write(a);
	assert_non_null(strstr(t, "crypto engine cpus 0-3\n"));
	b = config_load_buffer("w", t, &err);
	assert_non_null(b);
	assert_true(config_equal(a, b));
	b->cpus[0] = 0x7;
	assert_false(config_equal(a, b));
	free(t);
	config_free(a);
	config_free(b);
	a = config_load_buffer("t", "crypto engine cpus 1\nno crypto engine cpus\n", &err);
	assert_non_null(a);
	assert_int_equal(a->cpus[0], 0);
	t = config_write(a);
	assert_null(strstr(t, "cpus"));
	free(t);
	config_free(a);
	expect_error("hostname gw\ncrypto engine cpus 2-1\n", 2, 20, "2-1", "CPU list",
		     CFG_ERR_SEMANTIC);
	expect_error("crypto engine cpus 0,1024\n", 1, 20, "0,1024", "0..1023", CFG_ERR_SEMANTIC);
}

static void test_apply_lines_and_no(void **state)
{
	struct cfg_error err;
	struct config *base = config_load_buffer("t", base_cfg, &err), *c, *d;
	const char *exec;

	(void)state;
	assert_non_null(base);
	c = config_apply_lines(base, "crypto map VPN 10\n no set session-key outbound esp\n", &err);
	assert_null(c); /* missing outbound key now: error */
	assert_true(base->maps[0].esp_out.set); /* base untouched */
	c = config_apply_lines(base, "crypto map VPN 10\n set security-association replay disable\n"
				     "no crypto ipsec transform-set NONE\nhostname x\n",
			       &err);
	assert_non_null(c);
	assert_int_equal(c->maps[0].replay_window, 0);
	assert_int_equal(base->maps[0].replay_window, -1);
	assert_false(config_equal(base, c));
	d = config_apply_lines(c, "no crypto map VPN 10\nno access-list 101\nno hostname\n", &err);
	assert_non_null(d);
	assert_int_equal(d->nmaps, 0);
	assert_int_equal(d->nacls, 0);
	assert_string_equal(d->hostname, "");
	config_free(d);
	d = config_dup(c);
	assert_true(config_equal(c, d));
	config_free(d);
	config_free(c);
	config_free(base);
	assert_true(config_line_is_exec("  do show crypto ipsec sa", &exec));
	assert_string_equal(exec, "show crypto ipsec sa");
	assert_false(config_line_is_exec("domain x", &exec));
}

static void test_opaque_blocks(void **state)
{
	struct cfg_error err;
	struct config *c, *d;

	(void)state;
	c = config_load_buffer("t", "crypto isakmp policy 10\n encr aes 256\n"
				    " hash sha256\n group 14\n"
				    "crypto pki trustpoint TP\nenrollment url http://198.18.0.9\n"
				    "hostname gw\n",
			       &err);
	assert_non_null(c);
	assert_int_equal(c->nopaque, 6);
	assert_string_equal(c->opaque[0], "crypto isakmp policy 10");
	assert_string_equal(c->opaque[5], " enrollment url http://198.18.0.9");
	assert_string_equal(c->hostname, "gw");
	d = config_apply_lines(c, "no crypto isakmp policy 10\n", &err);
	assert_non_null(d);
	assert_int_equal(d->nopaque, 2);
	config_free(d);
	config_free(c);
}

static bool help_has(const struct cfg_help *h, unsigned n, const char *w)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(h[i].word, w) == 0)
			return true;
	return false;
}

static void test_help(void **state)
{
	struct cfg_help h[64];
	unsigned n;

	(void)state;
	n = config_help("", "", h, 64);
	assert_true(help_has(h, n, "crypto") && help_has(h, n, "hostname") &&
		    help_has(h, n, "no"));
	n = config_help("", "crypto ipsec transform-set T esp-a", h, 64);
	assert_int_equal(n, 4);
	assert_true(help_has(h, n, "esp-aes") && help_has(h, n, "esp-aes-ctr") &&
		    help_has(h, n, "esp-aes-xcbc-mac") && help_has(h, n, "esp-aes-cmac"));
	n = config_help("crypto map VPN 10 ipsec-manual", "set ", h, 64);
	assert_true(help_has(h, n, "peer") && help_has(h, n, "session-key") &&
		    !help_has(h, n, "hostname"));
	n = config_help("crypto map VPN 10 ipsec-manual", "set peer ", h, 64);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].word, "ADDR");
	n = config_help("", "hostname gw ", h, 64);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].word, "<cr>");
	n = config_help("crypto ipsec transform-set T esp-aes", "mode ", h, 64);
	assert_int_equal(n, 2);
}

static void test_save(void **state)
{
	struct cfg_error err;
	char dir[] = "/tmp/esprit-cfg-XXXXXX", path[256], bak[256];
	struct config *a, *b, *r;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/esprit.cfg", dir);
	snprintf(bak, sizeof(bak), "%s/esprit.cfg.bak", dir);
	a = config_load_buffer("a", "hostname one\n", &err);
	b = config_load_buffer("b", "hostname two\n", &err);
	assert_int_equal(config_save(a, path), 0);
	assert_int_equal(config_save(b, path), 0);
	r = config_load_file(path, &err);
	assert_non_null(r);
	assert_string_equal(r->hostname, "two");
	config_free(r);
	r = config_load_file(bak, &err);
	assert_non_null(r);
	assert_string_equal(r->hostname, "one");
	assert_int_equal(stat(path, &st), 0);
	config_free(r);
	config_free(a);
	config_free(b);
	unlink(path);
	unlink(bak);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_roundtrip),
		cmocka_unit_test(test_example_model),
		cmocka_unit_test(test_example_pairs_mirrored),
		cmocka_unit_test(test_base_loads),
		cmocka_unit_test(test_err_unknown_command),
		cmocka_unit_test(test_err_bad_address),
		cmocka_unit_test(test_err_ambiguous),
		cmocka_unit_test(test_err_undefined_transform_set),
		cmocka_unit_test(test_err_key_length),
		cmocka_unit_test(test_err_missing_mode_argument),
		cmocka_unit_test(test_err_other),
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_abbreviations_and_modes),
		cmocka_unit_test(test_acl_seq_roundtrip),
		cmocka_unit_test(test_engine_offload),
		cmocka_unit_test(test_engine_offload_xdp_tx),
		cmocka_unit_test(test_ipsec_df_bit),
		cmocka_unit_test(test_ipsec_fragmentation),
		cmocka_unit_test(test_engine_queue_length),
		cmocka_unit_test(test_engine_cpus),
		cmocka_unit_test(test_apply_lines_and_no),
		cmocka_unit_test(test_opaque_blocks),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_save),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
