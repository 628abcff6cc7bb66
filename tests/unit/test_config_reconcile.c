/* The reconciler: example configurations -> SAs and policies, mirrored
 * between the two gateways, and reloads that keep unchanged SAs (with
 * their counters and sequence numbers) while replacing changed ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "config/model.h"
#include "config/reconcile.h"
#include "crypto/alg.h"
#include "ipsec/replay.h"
#include "ipsec/sad.h"
#include "ipsec/spd.h"
#include "long_map.h"

static struct config *load(const char *path)
{
	struct cfg_error e;
	struct config *c = config_load_file(path, &e);
	if (!c) {
		char buf[1024];
		cfg_error_format(&e, buf, sizeof(buf));
		fail_msg("%s", buf);
	}
	return c;
}

static const struct sa_params *find(const struct desired *d, uint8_t proto, uint8_t dir)
{
	for (unsigned i = 0; i < d->nsas; i++)
		if (d->sas[i].proto == proto && d->sas[i].dir == dir)
			return &d->sas[i];
	return NULL;
}

static void assert_mirrored(const struct sa_params *a, const struct sa_params *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->spi, b->spi);
	assert_true(ip_addr_eq(&a->src, &b->src));
	assert_true(ip_addr_eq(&a->dst, &b->dst));
	assert_int_equal(a->encr_id, b->encr_id);
	assert_int_equal(a->integ_id, b->integ_id);
	assert_int_equal(a->mode, b->mode);
	if (a->encr_key || b->encr_key) {
		assert_int_equal(a->encr_key->len, b->encr_key->len);
		assert_memory_equal(a->encr_key->p, b->encr_key->p, a->encr_key->len);
	}
	if (a->integ_key || b->integ_key) {
		assert_int_equal(a->integ_key->len, b->integ_key->len);
		assert_memory_equal(a->integ_key->p, b->integ_key->p, a->integ_key->len);
	}
}

/* Every manual example pair: A's outbound SA is B's inbound SA and vice
 * versa, for every protocol of the bundle. */
static void test_examples_mirror(void **state)
{
	(void)state;
	static const char *pairs[] = {"esp-gcm", "esp-cbc-sha256", "3des-sha1", "transport",
				      "ah-tunnel", "ah-esp", "ipcomp", "udp-encap", "ipv6"};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char pa[256], pb[256], err[512];
		struct desired da, db;
		snprintf(pa, sizeof(pa), "examples/manual-%s-gwA.cfg", pairs[i]);
		snprintf(pb, sizeof(pb), "examples/manual-%s-gwB.cfg", pairs[i]);
		struct config *a = load(pa), *b = load(pb);
		assert_int_equal(reconcile_build(a, &da, err, sizeof(err)), 0);
		assert_int_equal(reconcile_build(b, &db, err, sizeof(err)), 0);
		assert_true(da.nsas >= 2);
		assert_int_equal(da.nsas, db.nsas);
		assert_true(da.npols >= 1);
		const uint8_t protos[] = {IPSEC_PROTO_ESP, IPSEC_PROTO_AH, IPSEC_PROTO_COMP};
		for (int k = 0; k < 3; k++) {
			const struct sa_params *ao = find(&da, protos[k], SA_DIR_OUT);
			const struct sa_params *bi = find(&db, protos[k], SA_DIR_IN);
			assert_true((ao == NULL) == (bi == NULL));
			if (ao && protos[k] != IPSEC_PROTO_COMP)
				assert_mirrored(ao, bi);
			if (ao && protos[k] == IPSEC_PROTO_COMP)
				assert_int_equal(ao->spi, bi->spi); /* same derived CPI */
		}
		reconcile_desired_free(&da);
		reconcile_desired_free(&db);
		config_free(a);
		config_free(b);
	}
}

struct count_ctx {
	unsigned n;
	uint64_t packets;
};

static void count_sa(struct sa *sa, void *arg)
{
	struct count_ctx *c = arg;
	struct sa_stats st;
	c->n++;
	sa_stats_sum(sa, &st);
	c->packets += st.packets;
}

static void bump_counters(struct sa *sa, void *arg)
{
	(void)arg;
	sa->stats[0].packets += 7;
	sa->seq_out = 1000;
}

static void check_seq(struct sa *sa, void *arg)
{
	uint64_t *seq = arg;
	if (sa->p.dir == SA_DIR_OUT)
		*seq = sa->seq_out;
}

/* A crypto map name of 63 characters is kept whole in the names of its
 * policy and SAs (show, logs): it used to be cut at 48, so two maps that
 * differ only after that showed as one. */
static void test_long_map_name(void **state)
{
	(void)state;
	struct config *c = load_long_map("examples/manual-esp-gcm-gwA.cfg");
	struct desired d;
	char err[512];

	assert_int_equal(strlen(LONG_MAP), 63);
	assert_int_equal(reconcile_build(c, &d, err, sizeof(err)), 0);
	assert_int_equal(d.npols, 1);
	assert_string_equal(d.pols[0].name, LONG_MAP " 10");
	assert_int_equal(d.nsas, 2);
	for (unsigned i = 0; i < d.nsas; i++)
		assert_string_equal(d.sas[i].name, LONG_MAP " 10");
	reconcile_desired_free(&d);
	config_free(c);
}

static int apply_text(struct reconcile_target *t, const struct config *c)
{
	struct desired d;
	char err[512];
	int ret;
	if (reconcile_build(c, &d, err, sizeof(err)) < 0)
		return -1;
	ret = reconcile_apply(t, &d, err, sizeof(err));
	reconcile_desired_free(&d);
	return ret;
}

/* c with lines applied (as `configure` does), or the test fails. */
static struct config *apply_lines(const struct config *c, const char *lines)
{
	struct cfg_error e;
	struct config *n = config_apply_lines(c, lines, &e);

	if (!n) {
		char buf[1024];
		cfg_error_format(&e, buf, sizeof(buf));
		fail_msg("%s", buf);
	}
	return n;
}

/* A reload of the same configuration keeps every SA (counters, sequence
 * numbers); a changed key replaces only the SAs it belongs to. */
static void test_reload_keeps_state(void **state)
{
	(void)state;
	struct reconcile_target t = {0};
	struct count_ctx cc = {0};
	uint64_t seq = 0;

	t.sad = sad_new(2);
	t.spd = spd_new();
	struct config *c = load("examples/manual-esp-cbc-sha256-gwA.cfg");
	assert_int_equal(apply_text(&t, c), 0);
	assert_int_equal(sad_count(t.sad), 2);
	assert_int_equal(spd_count(t.spd), 1);
	sad_foreach(t.sad, bump_counters, NULL);

	/* Same configuration again: nothing replaced. */
	struct config *c2 = config_dup(c);
	assert_int_equal(apply_text(&t, c2), 0);
	sad_foreach(t.sad, count_sa, &cc);
	assert_int_equal(cc.n, 2);
	assert_int_equal(cc.packets, 14);
	sad_foreach(t.sad, check_seq, &seq);
	assert_int_equal(seq, 1000);

	/* Change the outbound key only: the inbound SA keeps its counters. */
	struct config *c3 = apply_lines(
		c2, "crypto map VPN 10 ipsec-manual\n"
		    " set session-key outbound esp 4097 cipher "
		    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
		    "authenticator 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	assert_int_equal(apply_text(&t, c3), 0);
	memset(&cc, 0, sizeof(cc));
	sad_foreach(t.sad, count_sa, &cc);
	assert_int_equal(cc.n, 2);
	assert_int_equal(cc.packets, 7); /* inbound kept, outbound new */
	seq = 0;
	sad_foreach(t.sad, check_seq, &seq);
	assert_int_equal(seq, 0);

	/* An SA negotiated by IKE is not the reconciler's: it survives. */
	struct sa_params ike;
	struct secret *k = secret_new(20);
	memset(&ike, 0, sizeof(ike));
	ike.spi = 0xc0ffee;
	ike.proto = IPSEC_PROTO_ESP;
	ike.dir = SA_DIR_IN;
	ike.encr_id = ENCR_AES_GCM_16;
	ike.encr_key_bits = 128;
	ike.encr_key = k;
	ike.replay_window = 64;
	ip_addr_parse("198.18.0.1", &ike.dst);
	ip_addr_parse("198.18.0.2", &ike.src);
	ike.origin = SA_ORIGIN_KEYMGR;
	assert_int_equal(sad_install(t.sad, &ike), 0);
	secret_free(k);

	/* An empty configuration removes every manual SA and policy. */
	struct config *empty = config_new();
	assert_int_equal(apply_text(&t, empty), 0);
	assert_int_equal(sad_count(t.sad), 1);
	assert_non_null(sad_lookup_in(t.sad, 0xc0ffee, IPSEC_PROTO_ESP));
	assert_int_equal(spd_count(t.spd), 0);

	config_free(c);
	config_free(c2);
	config_free(c3);
	config_free(empty);
	sad_free(t.sad);
	spd_free(t.spd);
	free(t.routes);
}

struct seq_ctx {
	uint64_t seq_out, top;
	unsigned nsel;
};

static void bump_seq(struct sa *sa, void *arg)
{
	(void)arg;
	if (sa->p.dir == SA_DIR_OUT)
		sa->seq_out = 1000;
	else
		assert_true(replay_update(sa->replay, 500));
}

static void read_seq(struct sa *sa, void *arg)
{
	struct seq_ctx *c = arg;
	if (sa->p.dir == SA_DIR_OUT) {
		c->seq_out = sa->seq_out;
		c->nsel = sa->p.sel.n;
	} else {
		c->top = replay_top(sa->replay);
	}
}

/* An ACL line added to a manual map changes its SAs' selectors, so they
 * are reinstalled; with the same SPIs and keys they go on from their
 * sequence numbers (RFC 4303 3.3.3), else the peer's unchanged inbound SA
 * drops every packet as a replay. A new key starts again from 0. */
static void test_selector_change_keeps_sequence(void **state)
{
	(void)state;
	struct reconcile_target t = {0};
	struct seq_ctx sc = {0};
	uint64_t full;

	t.sad = sad_new(2);
	t.spd = spd_new();
	struct config *c = load("examples/manual-esp-gcm-gwA.cfg");
	assert_int_equal(apply_text(&t, c), 0);
	sad_foreach(t.sad, bump_seq, NULL);
	struct config *c2 =
		apply_lines(c, "access-list 101 permit ip 198.19.1.0 0.0.0.255 198.18.0.0 0.0.0.255\n");
	assert_int_equal(apply_text(&t, c2), 0);
	sad_foreach(t.sad, read_seq, &sc);
	assert_int_equal(sc.nsel, 2); /* reinstalled with both lines */
	assert_int_equal(sc.seq_out, 1000);
	assert_int_equal(sc.top, 500);
	struct sa *in = NULL;
	rcu_read_lock();
	for (uint32_t spi = 1; spi < 0x10000 && !in; spi++)
		in = sad_lookup_in(t.sad, spi, IPSEC_PROTO_ESP);
	assert_non_null(in);
	assert_false(replay_check(in->replay, 500, &full)); /* seen before the reload */
	assert_true(replay_check(in->replay, 501, &full));
	rcu_read_unlock();

	/* A new outbound SPI with the same key: the counter goes on (AES-GCM's
	 * nonce is the key's salt and the sequence number, not the SPI: from
	 * 0 again it would repeat nonces, RFC 4106 section 2). */
	struct config *c2b = apply_lines(
		c2, "crypto map VPN 10 ipsec-manual\n"
		    " set session-key outbound esp 4099 cipher "
		    "64df77d067448985911c0eacde81053fab88e9543106a446c5c21c386a0c70543808792b\n");
	assert_int_equal(apply_text(&t, c2b), 0);
	memset(&sc, 0, sizeof(sc));
	sad_foreach(t.sad, read_seq, &sc);
	assert_int_equal(sc.seq_out, 1000);
	rcu_read_lock();
	assert_int_equal(sad_lookup_out(t.sad, sad_lookup_in(t.sad, 8193, IPSEC_PROTO_ESP)->p.reqid,
					IPSEC_PROTO_ESP)->p.spi, 4099);
	rcu_read_unlock();

	/* A new outbound key: a new SA, from 0. */
	struct config *c3 = apply_lines(
		c2, "crypto map VPN 10 ipsec-manual\n"
		    " set session-key outbound esp 4097 cipher "
		    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233\n");
	assert_int_equal(apply_text(&t, c3), 0);
	memset(&sc, 0, sizeof(sc));
	sad_foreach(t.sad, read_seq, &sc);
	assert_int_equal(sc.seq_out, 0);
	assert_int_equal(sc.top, 500); /* the inbound SA was not touched */

	config_free(c);
	config_free(c2);
	config_free(c2b);
	config_free(c3);
	sad_free(t.sad);
	spd_free(t.spd);
	free(t.routes);
}

/* A key of the wrong length is refused before anything changes. */
static void test_bad_key_changes_nothing(void **state)
{
	(void)state;
	struct config *c = load("examples/manual-esp-gcm-gwA.cfg");
	struct desired d;
	char err[512];
	/* Corrupt the model directly (the parser would refuse it too). */
	for (unsigned i = 0; i < c->nmaps; i++)
		if (c->maps[i].esp_out.cipher)
			c->maps[i].esp_out.cipher->len = 5;
	assert_int_equal(reconcile_build(c, &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "wrong length"));
	config_free(c);
}

int main(void)
{
	rcu_register_thread();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_mirror),
		cmocka_unit_test(test_reload_keeps_state),
		cmocka_unit_test(test_selector_change_keeps_sequence),
		cmocka_unit_test(test_long_map_name),
		cmocka_unit_test(test_bad_key_changes_nothing),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return r;
}
