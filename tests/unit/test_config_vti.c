/* Protected tunnel interfaces (route-based VTIs) in the configuration:
 * the reconciler wants one VTI per `interface TunnelN` with `tunnel
 * protection ipsec profile`, with its address, and the `ip route ...
 * TunnelN` routes; config_ike_conns gives one connection per tunnel
 * (any <-> any, tunnel source/destination, the VTI's reqid). The
 * example pair examples/ikev2-vti-gwA.cfg / -gwB.cfg, and edits of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <urcu.h>

#include "config/ikeconn.h"
#include "config/reconcile.h"
#include "crypto/alg.h"

static struct config *load_text(const char *text)
{
	struct cfg_error e;
	struct config *c = config_load_buffer("test", text, &e);
	if (!c) {
		char buf[1024];
		cfg_error_format(&e, buf, sizeof(buf));
		fail_msg("%s", buf);
	}
	return c;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The example with `from` replaced by `to` (once). */
static struct config *load_edit(const char *path, const char *from, const char *to)
{
	char *t = slurp(path), *at, *e;
	struct config *c;

	at = strstr(t, from);
	assert_non_null(at);
	e = calloc(1, strlen(t) + strlen(to) + 1);
	assert_non_null(e);
	memcpy(e, t, (size_t)(at - t));
	strcat(e, to);
	strcat(e, at + strlen(from));
	c = load_text(e);
	free(t);
	free(e);
	return c;
}

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p;
	assert_true(ip_prefix_parse(s, &p));
	return p;
}

static bool addr_is(const struct ip_addr *a, const char *s)
{
	struct ip_prefix p = pfx(s);
	return ip_addr_eq(a, &p.addr);
}

static void test_build_example(void **state)
{
	(void)state;
	struct config *c = load_edit("examples/ikev2-vti-gwA.cfg", "hostname", "hostname");
	struct desired d;
	char err[512];
	struct ip_prefix want = pfx("198.19.2.0/24");

	assert_int_equal(reconcile_build(c, &d, err, sizeof(err)), 0);
	assert_int_equal(d.npols, 0); /* no SPD entries: the VTI needs no lookup */
	assert_int_equal(d.nroutes, 0); /* nothing in table 220 */
	assert_int_equal(d.nvtis, 1);
	assert_string_equal(d.vtis[0].name, "Tunnel101");
	assert_int_equal(d.vtis[0].reqid, reconcile_vti_reqid("Tunnel101"));
	assert_int_equal(d.vtis[0].reqid, reconcile_reqid("Tunnel101", 0));
	assert_int_equal(d.vtis[0].mtu, VTI_MTU_DEFAULT);
	assert_int_equal(d.vtis[0].addr.len, 30);
	assert_true(addr_is(&d.vtis[0].addr.addr, "198.19.255.1/32"));
	assert_int_equal(d.vtis[0].addr6.addr.af, 0);
	assert_int_equal(d.nvroutes, 1);
	assert_string_equal(d.vroutes[0].ifname, "Tunnel101");
	assert_int_equal(d.vroutes[0].dst.len, 24);
	assert_true(ip_addr_eq(&d.vroutes[0].dst.addr, &want.addr));
	reconcile_desired_free(&d);
	config_free(c);
}

static void test_build_skips(void **state)
{
	(void)state;
	struct desired d;
	char err[512];
	struct config *c;

	/* Shut down: no VTI, and its route goes with it. */
	c = load_edit("examples/ikev2-vti-gwA.cfg", " tunnel protection ipsec profile VTI\n",
		      " tunnel protection ipsec profile VTI\n shutdown\n");
	assert_int_equal(reconcile_build(c, &d, err, sizeof(err)), 0);
	assert_int_equal(d.nvtis, 0);
	assert_int_equal(d.nvroutes, 0);
	reconcile_desired_free(&d);
	config_free(c);
	/* No destination yet: not active, not an error. */
	c = load_edit("examples/ikev2-vti-gwA.cfg", " tunnel destination 198.18.0.2\n", "");
	assert_int_equal(reconcile_build(c, &d, err, sizeof(err)), 0);
	assert_int_equal(d.nvtis, 0);
	reconcile_desired_free(&d);
	config_free(c);
}

static void test_build_errors(void **state)
{
	(void)state;
	struct desired d;
	char err[512];
	struct config *c;

	/* (An undefined ipsec profile is already refused by the parser.) */
	/* A name a Linux device cannot have. */
	c = load_edit("examples/ikev2-vti-gwA.cfg", "interface Tunnel101\n",
		      "interface Tunnel1010101010101\n");
	assert_int_equal(reconcile_build(c, &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	config_free(c);
}

/* Applying without a data plane still records what is installed, so the
 * next apply diffs against it. */
static void test_apply_records(void **state)
{
	(void)state;
	struct config *c = load_edit("examples/ikev2-vti-gwA.cfg", "hostname", "hostname");
	struct reconcile_target *t = calloc(1, sizeof(*t));
	struct desired d;
	char err[512];

	assert_non_null(t);
	rcu_register_thread();
	t->sad = sad_new(1);
	t->spd = spd_new();
	assert_int_equal(reconcile_build(c, &d, err, sizeof(err)), 0);
	assert_int_equal(reconcile_apply(t, &d, err, sizeof(err)), 0);
	assert_int_equal(t->nvtis, 1);
	assert_int_equal(t->nvroutes, 1);
	assert_string_equal(t->vtis[0].name, "Tunnel101");
	reconcile_desired_free(&d);
	config_free(c);
	/* Tunnel removed from the config: nothing recorded any more. */
	c = load_edit("examples/ikev2-vti-gwA.cfg", " tunnel protection ipsec profile VTI\n", "");
	assert_int_equal(reconcile_build(c, &d, err, sizeof(err)), 0);
	assert_int_equal(reconcile_apply(t, &d, err, sizeof(err)), 0);
	assert_int_equal(t->nvtis, 0);
	assert_int_equal(t->nvroutes, 0);
	reconcile_desired_free(&d);
	config_free(c);
	sad_free(t->sad);
	spd_free(t->spd);
	free(t->routes);
	free(t);
	rcu_unregister_thread();
}

static void test_ike_conn_pair(void **state)
{
	(void)state;
	struct config *a = load_edit("examples/ikev2-vti-gwA.cfg", "hostname", "hostname");
	struct config *b = load_edit("examples/ikev2-vti-gwB.cfg", "hostname", "hostname");
	struct ike_conn_list la, lb;
	char err[512];

	assert_int_equal(config_ike_conns(a, &la, err, sizeof(err)), 0);
	assert_int_equal(config_ike_conns(b, &lb, err, sizeof(err)), 0);
	assert_int_equal(la.n, 1);
	assert_int_equal(lb.n, 1);
	const struct ike_conn *ca = &la.conns[0], *cb = &lb.conns[0];

	assert_string_equal(ca->name, "Tunnel101");
	assert_int_equal(ca->version, 2);
	/* tunnel source / destination */
	assert_true(addr_is(&ca->local, "198.18.0.1/32"));
	assert_true(addr_is(&ca->remote, "198.18.0.2/32"));
	assert_true(ip_addr_eq(&ca->local, &cb->remote));
	assert_true(ip_addr_eq(&ca->remote, &cb->local));
	/* the same PSK from the keyring on both sides */
	assert_non_null(ca->psk_local);
	assert_int_equal(ca->psk_local->len, cb->psk_local->len);
	assert_memory_equal(ca->psk_local->p, cb->psk_local->p, ca->psk_local->len);
	/* IKE proposal from policy POL -> GCM */
	assert_true(ca->n_ike_props >= 1);
	assert_int_equal(ca->ike_props[0].encr[0], ENCR_AES_GCM_16);
	/* child: any <-> any IPv4, tunnel mode, ESP GCM-256 from the ipsec
	 * profile's transform set, its PFS group and lifetime, the VTI reqid */
	assert_int_equal(ca->child.sel.n, 1);
	assert_int_equal(ca->child.sel.ts[0].src.addr.af, AF_INET);
	assert_int_equal(ca->child.sel.ts[0].src.len, 0);
	assert_int_equal(ca->child.sel.ts[0].dst.len, 0);
	assert_int_equal(ca->child.sel.ts[0].proto, 0);
	assert_int_equal(ca->child.sel.ts[0].dport_hi, 0xffff);
	assert_int_equal(ca->child.mode, IPSEC_MODE_TUNNEL);
	assert_int_equal(ca->child.n_props, 1);
	assert_int_equal(ca->child.props[0].proto, IPSEC_PROTO_ESP);
	assert_int_equal(ca->child.props[0].encr[0], ENCR_AES_GCM_16);
	assert_int_equal(ca->child.props[0].encr_bits[0], 256);
	assert_int_equal(ca->child.pfs_group, 19);
	assert_int_equal(ca->child.hard_seconds, 3600);
	assert_int_equal(ca->child.reqid, reconcile_vti_reqid("Tunnel101"));
	assert_int_equal(ca->child.reqid, cb->child.reqid);
	/* DPD from the ikev2 profile */
	assert_int_equal(ca->dpd_interval_s, 10);
	ike_conn_list_free(&la);
	ike_conn_list_free(&lb);
	config_free(a);
	config_free(b);
}

static void test_ike_conn_ipv6_and_errors(void **state)
{
	(void)state;
	struct ike_conn_list l;
	char err[512];
	struct config *c;

	c = load_edit("examples/ikev2-vti-gwA.cfg", "tunnel mode ipsec ipv4", "tunnel mode ipsec ipv6");
	assert_int_equal(config_ike_conns(c, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.conns[0].child.sel.ts[0].src.addr.af, AF_INET6);
	assert_int_equal(l.conns[0].child.sel.ts[0].dst.addr.af, AF_INET6);
	ike_conn_list_free(&l);
	config_free(c);
	/* The ipsec profile without an ikev2-profile: an error naming the tunnel. */
	c = load_edit("examples/ikev2-vti-gwA.cfg", " set ikev2-profile PROF\n", "");
	assert_int_equal(config_ike_conns(c, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Tunnel101"));
	config_free(c);
}

static const struct cfg_interface *iface(const struct config *c, const char *name);

/* tunnel mode ipsec dual-overlay (examples/ikev2-vti-dual-gw*.cfg): one
 * child whose selectors are any IPv4 and any IPv6, over an IPv4 transport;
 * the VTI has both addresses and both routes; written back as typed. */
static void test_dual_overlay(void **state)
{
	(void)state;
	struct config *c = load_edit("examples/ikev2-vti-dual-gwA.cfg", "hostname", "hostname");
	const struct cfg_interface *ifc = iface(c, "Tunnel102");
	struct ike_conn_list l;
	struct desired d;
	char err[512], *t;

	assert_non_null(ifc);
	assert_true(ifc->tun_dual);
	assert_int_equal(config_ike_conns(c, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	const struct ike_child_cfg *ch = &l.conns[0].child;
	assert_int_equal(l.conns[0].local.af, AF_INET);
	assert_int_equal(ch->sel.n, 2);
	assert_int_equal(ch->sel.ts[0].src.addr.af, AF_INET);
	assert_int_equal(ch->sel.ts[0].dst.len, 0);
	assert_int_equal(ch->sel.ts[1].src.addr.af, AF_INET6);
	assert_int_equal(ch->sel.ts[1].dst.addr.af, AF_INET6);
	assert_int_equal(ch->sel.ts[1].src.len, 0);
	assert_int_equal(ch->sel.ts[1].dst.len, 0);
	assert_int_equal(ch->mode, IPSEC_MODE_TUNNEL);
	ike_conn_list_free(&l);
	assert_int_equal(reconcile_build(c, &d, err, sizeof(err)), 0);
	assert_int_equal(d.nvtis, 1);
	assert_int_equal(d.vtis[0].addr.addr.af, AF_INET);
	assert_int_equal(d.vtis[0].addr6.addr.af, AF_INET6);
	assert_int_equal(d.nvroutes, 2);
	reconcile_desired_free(&d);
	t = config_write(c);
	assert_non_null(strstr(t, " tunnel mode ipsec dual-overlay\n"));
	free(t);
	config_free(c);
	/* ipv4 again: one selector */
	c = load_edit("examples/ikev2-vti-dual-gwA.cfg", " tunnel mode ipsec dual-overlay\n",
		      " tunnel mode ipsec ipv4\n");
	assert_false(iface(c, "Tunnel102")->tun_dual);
	assert_int_equal(config_ike_conns(c, &l, err, sizeof(err)), 0);
	assert_int_equal(l.conns[0].child.sel.n, 1);
	ike_conn_list_free(&l);
	config_free(c);
}

static const struct cfg_interface *iface(const struct config *c, const char *name)
{
	for (unsigned i = 0; i < c->nifs; i++)
		if (strcmp(c->ifs[i].name, name) == 0)
			return &c->ifs[i];
	fail_msg("no interface %s", name);
	return NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_example),
		cmocka_unit_test(test_build_skips),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_apply_records),
		cmocka_unit_test(test_ike_conn_pair),
		cmocka_unit_test(test_ike_conn_ipv6_and_errors),
		cmocka_unit_test(test_dual_overlay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
