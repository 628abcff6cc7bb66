/* Configuration -> IKE connections: the IKEv2 crypto-map example pair
 * gives one connection per side, mirrored (addresses, identities, keys,
 * selectors), with the proposals of the selected IKEv2 policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ikeconn.h"
#include "crypto/alg.h"
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

/* The IKE connection of a 63-character crypto map is named after all of
 * it (show crypto ikev2 sa, clear, logs). */
static void test_long_map_name(void **state)
{
	(void)state;
	struct config *c = load_long_map("examples/ikev2-map-gwA.cfg");
	struct ike_conn_list l;
	char err[512];

	assert_int_equal(config_ike_conns(c, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.conns[0].name, LONG_MAP " 10");
	ike_conn_list_free(&l);
	config_free(c);
}

static void test_map_pair_mirrors(void **state)
{
	(void)state;
	struct config *a = load("examples/ikev2-map-gwA.cfg");
	struct config *b = load("examples/ikev2-map-gwB.cfg");
	struct ike_conn_list la, lb;
	char err[512];

	assert_int_equal(config_ike_conns(a, &la, err, sizeof(err)), 0);
	assert_int_equal(config_ike_conns(b, &lb, err, sizeof(err)), 0);
	assert_int_equal(la.n, 1);
	assert_int_equal(lb.n, 1);
	const struct ike_conn *ca = &la.conns[0], *cb = &lb.conns[0];

	assert_string_equal(ca->name, "VPN 10");
	assert_true(ip_addr_eq(&ca->local, &cb->remote));
	assert_true(ip_addr_eq(&ca->remote, &cb->local));
	assert_true(ike_id_eq(&ca->local_id, &cb->remote_id));
	assert_true(ike_id_eq(&ca->remote_id, &cb->local_id));
	assert_int_equal(ca->local_id.type, IKE_ID_IPV4);
	/* the same PSK on both sides */
	assert_non_null(ca->psk_local);
	assert_int_equal(ca->psk_local->len, cb->psk_local->len);
	assert_memory_equal(ca->psk_local->p, cb->psk_local->p, ca->psk_local->len);
	/* where the key comes from, for AUTHENTICATION_FAILED logs */
	assert_string_equal(ca->psk_remote_from, "keyring KR peer gwB");
	assert_string_equal(cb->psk_remote_from, "keyring KR peer gwA");
	/* proposals from policy POL -> proposal GCM */
	assert_int_equal(ca->n_ike_props, 1);
	assert_int_equal(ca->ike_props[0].encr[0], ENCR_AES_GCM_16);
	assert_int_equal(ca->ike_props[0].encr_bits[0], 256);
	assert_int_equal(ca->ike_props[0].n_integ, 0);
	assert_int_equal(ca->ike_props[0].prf[0], PRF_HMAC_SHA2_384);
	assert_int_equal(ca->ike_props[0].dh[0], 19);
	/* child: selectors mirrored, ESP GCM-256, PFS, lifetime, DPD */
	assert_int_equal(ca->child.sel.n, 1);
	assert_true(ip_addr_eq(&ca->child.sel.ts[0].src.addr, &cb->child.sel.ts[0].dst.addr));
	assert_int_equal(ca->child.n_props, 1);
	assert_int_equal(ca->child.props[0].proto, IPSEC_PROTO_ESP);
	assert_int_equal(ca->child.props[0].encr[0], ENCR_AES_GCM_16);
	assert_int_equal(ca->child.props[0].encr_bits[0], 256);
	assert_int_equal(ca->child.pfs_group, 19);
	assert_int_equal(ca->child.hard_seconds, 3600);
	assert_true(ca->child.soft_seconds < ca->child.hard_seconds);
	assert_int_equal(ca->child.reqid, cb->child.reqid);
	assert_int_equal(ca->dpd_interval_s, 10);
	assert_int_equal(ca->dpd_mode, IKE_DPD_ON_DEMAND);
	assert_int_equal(ca->ike_lifetime_s, 28800);

	ike_conn_list_free(&la);
	ike_conn_list_free(&lb);
	config_free(a);
	config_free(b);
}

/* A profile whose keyring has no key for the peer is an error naming the
 * entry, and builds nothing. */
static void test_missing_key(void **state)
{
	(void)state;
	struct config *a = load("examples/ikev2-map-gwA.cfg");
	struct cfg_error e;
	struct config *c = config_apply_lines(a, "crypto map VPN 10 ipsec-isakmp\n set peer 198.18.7.7\n", &e);
	struct ike_conn_list l;
	char err[512];

	assert_non_null(c);
	assert_int_equal(config_ike_conns(c, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VPN 10"));
	assert_non_null(strstr(err, "pre-shared key"));
	config_free(a);
	config_free(c);
}

/* A dual-stack outside interface and an IPv6 peer: the connection's
 * local address is the interface's IPv6 address, not its IPv4 one (and
 * an IPv4 peer still gets the IPv4 address). */
static void test_dual_stack_local(void **state)
{
	(void)state;
	struct config *a = load("examples/ikev2-map-gwA.cfg");
	struct cfg_error e;
	struct config *c4 = config_apply_lines(a, "interface wan0\n ipv6 address 2001:db8:ff::1/64\n", &e);
	struct config *c6 = c4 ? config_apply_lines(c4, "crypto ikev2 keyring KR\n peer gwB6\n"
							"  address 2001:db8:ff::2/128\n"
							"  pre-shared-key k6\n"
							"crypto map VPN 10 ipsec-isakmp\n"
							" set peer 2001:db8:ff::2\n", &e)
				   : NULL;
	struct ike_conn_list l;
	struct ip_addr want4, want6;
	char err[512];

	assert_non_null(c4);
	assert_non_null(c6);
	assert_true(ip_addr_parse("198.18.0.1", &want4));
	assert_true(ip_addr_parse("2001:db8:ff::1", &want6));
	assert_int_equal(config_ike_conns(c4, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_true(ip_addr_eq(&l.conns[0].local, &want4));
	ike_conn_list_free(&l);
	assert_int_equal(config_ike_conns(c6, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_true(ip_addr_eq(&l.conns[0].local, &want6));
	ike_conn_list_free(&l);
	config_free(a);
	config_free(c4);
	config_free(c6);
}

/* AES-GCM with the 8- and 12-byte ICVs (RFC 4106 section 8, RFC 5282):
 * IKE proposal words and transform-set words become transforms 18/19
 * with their key sizes, AEAD (no integrity), and write back as typed. */
static void test_gcm_short_icv(void **state)
{
	(void)state;
	struct config *a = load("examples/ikev2-map-gwA.cfg");
	struct cfg_error e;
	struct config *c = config_apply_lines(a, "crypto ikev2 proposal GCM\n"
						 " no encryption\n"
						 " encryption aes-gcm-128-icv12 aes-gcm-256-icv8\n"
						 "crypto ipsec transform-set TS esp-gcm-icv8 128\n",
					      &e);
	struct ike_conn_list l;
	char err[512], *t;

	assert_non_null(c);
	assert_int_equal(config_ike_conns(c, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	const struct ike_conn *k = &l.conns[0];
	assert_int_equal(k->ike_props[0].n_encr, 2);
	assert_int_equal(k->ike_props[0].encr[0], ENCR_AES_GCM_12);
	assert_int_equal(k->ike_props[0].encr_bits[0], 128);
	assert_int_equal(k->ike_props[0].encr[1], ENCR_AES_GCM_8);
	assert_int_equal(k->ike_props[0].encr_bits[1], 256);
	assert_int_equal(k->ike_props[0].n_integ, 0);
	assert_int_equal(k->child.props[0].encr[0], ENCR_AES_GCM_8);
	assert_int_equal(k->child.props[0].encr_bits[0], 128);
	assert_int_equal(k->child.props[0].n_integ, 0);
	t = config_write(c);
	assert_non_null(strstr(t, " encryption aes-gcm-128-icv12 aes-gcm-256-icv8\n"));
	assert_non_null(strstr(t, "crypto ipsec transform-set TS esp-gcm-icv8 128\n"));
	free(t);
	/* a short-ICV GCM is AEAD: no integrity transform next to it */
	assert_null(config_apply_lines(a, "crypto ipsec transform-set T2 esp-gcm-icv12 "
					  "esp-sha-hmac\n", &e));
	assert_non_null(strstr(e.msg, "provides its own integrity"));
	ike_conn_list_free(&l);
	config_free(c);
	config_free(a);
}

/* set transform-set T1 T2 (IOS: up to six, in order of preference): one
 * child proposal per set, in that order; written back as one line; the
 * sets must exist, differ, agree on mode, and be one for ipsec-manual. */
static void test_several_transform_sets(void **state)
{
	(void)state;
	struct config *a = load("examples/ikev2-map-gwA.cfg");
	struct cfg_error e;
	struct config *c = config_apply_lines(a, "crypto ipsec transform-set CBC esp-aes 256 "
						 "esp-sha256-hmac\n"
						 " mode tunnel\n"
						 "crypto map VPN 10 ipsec-isakmp\n"
						 " set transform-set TS CBC\n",
					      &e);
	struct ike_conn_list l;
	char err[512], *t;

	assert_non_null(c);
	assert_int_equal(config_ike_conns(c, &l, err, sizeof(err)), 0);
	const struct ike_child_cfg *ch = &l.conns[0].child;
	assert_int_equal(ch->n_props, 2);
	assert_int_equal(ch->props[0].encr[0], ENCR_AES_GCM_16);
	assert_int_equal(ch->props[1].proto, IPSEC_PROTO_ESP);
	assert_int_equal(ch->props[1].encr[0], ENCR_AES_CBC);
	assert_int_equal(ch->props[1].encr_bits[0], 256);
	assert_int_equal(ch->props[1].integ[0], AUTH_HMAC_SHA2_256_128);
	assert_int_equal(ch->mode, IPSEC_MODE_TUNNEL);
	ike_conn_list_free(&l);
	t = config_write(c);
	assert_non_null(strstr(t, " set transform-set TS CBC\n"));
	free(t);

	/* an undefined second set is named */
	assert_null(config_apply_lines(a, "crypto map VPN 10 ipsec-isakmp\n"
					  " set transform-set TS NOPE\n", &e));
	assert_string_equal(e.token, "NOPE");
	assert_non_null(strstr(e.msg, "not defined"));
	/* the same set twice */
	assert_null(config_apply_lines(a, "crypto map VPN 10 ipsec-isakmp\n"
					  " set transform-set TS TS\n", &e));
	assert_non_null(strstr(e.msg, "listed twice"));
	/* a transport-mode set next to a tunnel-mode one */
	assert_null(config_apply_lines(c, "crypto ipsec transform-set CBC esp-aes 256 "
					  "esp-sha256-hmac\n"
					  " mode transport\n", &e));
	assert_string_equal(e.token, "CBC");
	assert_non_null(strstr(e.msg, "must agree"));
	/* seven is one too many (IOS takes six) */
	assert_null(config_apply_lines(a, "crypto map VPN 10 ipsec-isakmp\n"
					  " set transform-set TS TS TS TS TS TS TS\n", &e));
	config_free(c);
	config_free(a);

	/* ipsec-manual: one set */
	a = load("examples/manual-esp-gcm-gwA.cfg");
	c = config_apply_lines(a, "crypto ipsec transform-set T2 esp-aes esp-sha-hmac\n", &e);
	assert_non_null(c);
	for (unsigned i = 0; i < c->nmaps; i++) {
		char line[512];
		snprintf(line, sizeof(line), "crypto map %s %u ipsec-manual\n set transform-set %s T2\n",
			 c->maps[i].map, c->maps[i].seq, c->maps[i].ts.name[0]);
		assert_null(config_apply_lines(c, line, &e));
		assert_non_null(strstr(e.msg, "one transform set"));
		break;
	}
	config_free(c);
	config_free(a);
}

/* Manual entries are not IKE connections. */
static void test_manual_ignored(void **state)
{
	(void)state;
	struct config *a = load("examples/manual-esp-gcm-gwA.cfg");
	struct ike_conn_list l;
	char err[512];
	assert_int_equal(config_ike_conns(a, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 0);
	ike_conn_list_free(&l);
	config_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_pair_mirrors),
		cmocka_unit_test(test_long_map_name),
		cmocka_unit_test(test_missing_key),
		cmocka_unit_test(test_manual_ignored),
		cmocka_unit_test(test_dual_stack_local),
		cmocka_unit_test(test_gcm_short_icv),
		cmocka_unit_test(test_several_transform_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
