/* IKEv2 exchange tests (STYLE.md 17): two engines in one process, the
 * network, clock, RNG and data plane replaced by test doubles. Each step
 * is annotated with the message flow.
 *
 *   A 198.51.100.1 (initiator)  <---- fake net ---->  B 198.51.100.2
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto/alg.h"
#include "crypto/dh.h"
#include "ikev2/ikev2.h"
#include "ikev2/wire.h"
#include "lib/cursor.h"
#include "lib/log.h"

/* ---- test doubles ---- */

struct inst {
	struct sa_params p;
	uint8_t ek[128], ik[128];
	size_t el, il;
	bool deleted;
	bool retired;   /* deleted later by the data plane (sad_retire) */
	bool activated; /* was standby, then sad_activate */
};

struct peer {
	const char *name;
	struct ikev2 *e;
	struct ip_addr addr;
	uint64_t rng;
	struct inst sa[64];
	unsigned n_sa;
	unsigned ups, downs, last_action, sent;
	unsigned keepalives;
	uint16_t ka_dport;
	unsigned encap_updates;
	uint32_t encap_spi[8];
	uint16_t encap_dport[8];
	size_t max_len; /* longest datagram sent */
	bool fail_install; /* the data plane refuses every SA */
	/* spi_in_use: answer "in use" to the next spi_busy questions, noting
	 * the SPIs refused so */
	unsigned spi_busy, n_busy, spi_queries;
	uint32_t busy_spi[256];
};

struct pkt {
	int to; /* 0 = A, 1 = B */
	uint8_t buf[4096];
	size_t len;
	struct ip_addr src, dst;
	uint16_t sport, dport;
};

static struct {
	struct peer p[2];
	struct pkt q[64];
	unsigned nq;
	uint64_t now;
	unsigned drop_mask; /* bit k: drop the k-th datagram sent (from 0) */
	unsigned sent_total;
	bool nat_a;         /* rewrite A's source as a NAT would */
	uint16_t nat_port;  /* the NAT's port for A's 4500 (0: 44500) */
	bool blackhole_b;   /* B vanished */
	bool no_mbb;        /* env without sa_retire/sa_activate */
	unsigned forge_k;   /* k > 0: before the k-th datagram (an SKF fragment), a forged copy */
} net;

static int t_send(void *ctx, const uint8_t *msg, size_t len, const struct ip_addr *src,
		  uint16_t sport, const struct ip_addr *dst, uint16_t dport)
{
	struct peer *from = ctx;
	int to = from == &net.p[0] ? 1 : 0;
	unsigned k = net.sent_total++;
	struct pkt *q;

	from->sent++;
	if (len > from->max_len)
		from->max_len = len;
	if ((k < 32 && (net.drop_mask >> k) & 1) || (net.blackhole_b && (to == 1 || from == &net.p[1])))
		return 0;
	assert_true(net.nq < 63 && len <= sizeof(q->buf));
	if (net.forge_k && k == net.forge_k) {
		/* an attacker's fragment: the header of this one with a larger
		 * Total Fragments (RFC 7383 2.5: at 28 + 4 + 2), so its ICV fails */
		uint16_t total;

		assert_true(len > 36 && msg[16] == IKEV2_PL_SKF);
		q = &net.q[net.nq++];
		*q = (struct pkt){.to = to, .len = len, .src = *src, .dst = *dst, .sport = sport,
				  .dport = dport};
		memcpy(q->buf, msg, len);
		total = (uint16_t)(q->buf[34] << 8 | q->buf[35]);
		put_be16(q->buf + 32, (uint16_t)(total + 1));
		put_be16(q->buf + 34, (uint16_t)(total + 1));
	}
	q = &net.q[net.nq++];
	q->to = to;
	memcpy(q->buf, msg, len);
	q->len = len;
	q->src = *src;
	q->dst = *dst;
	q->sport = sport;
	q->dport = dport;
	if (net.nat_a && to == 1) { /* A sits behind a NAT: 203.0.113.7:40000+ */
		ip_addr_parse("203.0.113.7", &q->src);
		q->sport = (uint16_t)(sport == 500 ? 40500 : net.nat_port ? net.nat_port : 44500);
	}
	if (net.nat_a && to == 0) {
		q->dst = net.p[0].addr;
		q->dport = (uint16_t)(dport == 40500 ? 500 : 4500);
	}
	return 0;
}

static uint64_t t_now(void *ctx)
{
	(void)ctx;
	return net.now;
}

static int t_random(void *ctx, void *buf, size_t len)
{
	struct peer *p = ctx;
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		p->rng ^= p->rng << 13;
		p->rng ^= p->rng >> 7;
		p->rng ^= p->rng << 17;
		b[i] = (uint8_t)p->rng;
	}
	return 0;
}

static int t_install(void *ctx, const struct sa_params *sp)
{
	struct peer *p = ctx;
	struct inst *s;

	if (p->fail_install)
		return -1;
	assert_true(p->n_sa < 64);
	s = &p->sa[p->n_sa++];
	memset(s, 0, sizeof(*s));
	s->p = *sp;
	if (sp->encr_key) {
		s->el = sp->encr_key->len;
		memcpy(s->ek, sp->encr_key->p, s->el);
	}
	if (sp->integ_key) {
		s->il = sp->integ_key->len;
		memcpy(s->ik, sp->integ_key->p, s->il);
	}
	s->p.encr_key = s->p.integ_key = NULL;
	return 0;
}

static int t_delete(void *ctx, uint32_t spi, uint8_t proto, const struct ip_addr *dst)
{
	struct peer *p = ctx;

	for (unsigned i = 0; i < p->n_sa; i++)
		if (!p->sa[i].deleted && p->sa[i].p.spi == spi && p->sa[i].p.proto == proto &&
		    ip_addr_eq(&p->sa[i].p.dst, dst)) {
			p->sa[i].deleted = true;
			return 0;
		}
	fail_msg("%s: delete of unknown SA %08x", p->name, spi);
	return -1;
}

static struct inst *find_live(struct peer *p, uint32_t spi, uint8_t proto,
			      const struct ip_addr *dst, uint8_t dir)
{
	for (unsigned i = 0; i < p->n_sa; i++)
		if (!p->sa[i].deleted && p->sa[i].p.spi == spi && p->sa[i].p.proto == proto &&
		    p->sa[i].p.dir == dir && ip_addr_eq(&p->sa[i].p.dst, dst))
			return &p->sa[i];
	return NULL;
}

/* As the daemon's SAD: an inbound SA to be deleted in a few seconds (it
 * counts as gone here); a standby outbound SA that now carries traffic. */
static int t_retire(void *ctx, uint32_t spi, uint8_t proto, const struct ip_addr *dst)
{
	struct peer *p = ctx;
	struct inst *s = find_live(p, spi, proto, dst, SA_DIR_IN);

	if (!s)
		fail_msg("%s: retire of unknown inbound SA %08x", p->name, spi);
	s->retired = s->deleted = true;
	return 0;
}

static int t_activate(void *ctx, uint32_t spi, uint8_t proto, const struct ip_addr *dst)
{
	struct peer *p = ctx;
	struct inst *s = find_live(p, spi, proto, dst, SA_DIR_OUT);

	if (!s)
		fail_msg("%s: activate of unknown outbound SA %08x", p->name, spi);
	assert_true(s->p.standby);
	s->p.standby = false;
	s->activated = true;
	return 0;
}

/* As sad_spi_in_use: an inbound SA holds it, also a retiring one. */
static bool t_spi_in_use(void *ctx, uint32_t spi, uint8_t proto)
{
	struct peer *p = ctx;

	p->spi_queries++;
	if (p->spi_busy) {
		p->spi_busy--;
		if (p->n_busy < 256)
			p->busy_spi[p->n_busy++] = spi;
		return true;
	}
	for (unsigned i = 0; i < p->n_sa; i++)
		if (p->sa[i].p.dir == SA_DIR_IN && p->sa[i].p.spi == spi &&
		    p->sa[i].p.proto == proto && (!p->sa[i].deleted || p->sa[i].retired))
			return true;
	return false;
}

static void t_event(void *ctx, const char *conn, bool up, int action)
{
	struct peer *p = ctx;

	(void)conn;
	if (up)
		p->ups++;
	else {
		p->downs++;
		p->last_action = (unsigned)action;
	}
}

static int t_keepalive(void *ctx, const struct ip_addr *src, const struct ip_addr *dst,
		       uint16_t dport)
{
	struct peer *p = ctx;

	assert_true(ip_addr_eq(src, &p->addr));
	(void)dst;
	p->keepalives++;
	p->ka_dport = dport;
	return 0;
}

static int t_update_encap(void *ctx, uint32_t spi, uint8_t proto, uint16_t sport,
			  uint16_t dport)
{
	struct peer *p = ctx;

	(void)proto;
	(void)sport;
	if (p->encap_updates < 8) {
		p->encap_spi[p->encap_updates] = spi;
		p->encap_dport[p->encap_updates] = dport;
	}
	p->encap_updates++;
	return 0;
}

/* Deliver queued datagrams until the network is quiet. */
static unsigned run(void)
{
	unsigned n = 0;

	while (net.nq && n < 100) {
		struct pkt *pk = malloc(sizeof(*pk));

		*pk = net.q[0];
		memmove(net.q, net.q + 1, --net.nq * sizeof(net.q[0]));
		ikev2_input(net.p[pk->to].e, pk->buf, pk->len, &pk->src, pk->sport, &pk->dst,
			    pk->dport);
		free(pk);
		n++;
	}
	return n;
}

/* Let time pass in steps, running timers and the network. */
static void advance(uint64_t ms)
{
	uint64_t end = net.now + ms;

	while (net.now < end) {
		uint64_t t = end;

		for (int i = 0; i < 2; i++) {
			uint64_t n = ikev2_next_timeout(net.p[i].e);
			if (n > net.now && n < t)
				t = n;
		}
		net.now = t;
		for (int i = 0; i < 2; i++)
			ikev2_tick(net.p[i].e);
		run();
	}
}

/* ---- configurations ---- */

static void ts_add(struct ts_list *l, const char *src, const char *dst)
{
	struct ts *t = &l->ts[l->n++];

	memset(t, 0, sizeof(*t));
	assert_true(ip_prefix_parse(src, &t->src));
	assert_true(ip_prefix_parse(dst, &t->dst));
	t->sport_hi = t->dport_hi = 65535;
}

static void conn_base(struct ike_conn *c, int me)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", me ? "to-A" : "to-B");
	c->version = 2;
	c->local = net.p[me].addr;
	c->remote = net.p[!me].addr;
	c->local_id.type = IKE_ID_FQDN;
	c->local_id.len = (uint8_t)strlen(me ? "b.example" : "a.example");
	memcpy(c->local_id.data, me ? "b.example" : "a.example", c->local_id.len);
	c->remote_id.type = IKE_ID_FQDN;
	c->remote_id.len = (uint8_t)strlen(me ? "a.example" : "b.example");
	memcpy(c->remote_id.data, me ? "a.example" : "b.example", c->remote_id.len);
	c->psk_local = secret_from("correct horse battery", 21);
	c->n_ike_props = 1;
	c->ike_props[0] = (struct ike_proposal){
		.n_encr = 1, .encr = {ENCR_AES_GCM_16}, .encr_bits = {256},
		.n_prf = 1, .prf = {PRF_HMAC_SHA2_256},
		.n_dh = 1, .dh = {DH_ECP_256},
	};
	c->child.n_props = 1;
	c->child.props[0] = (struct ike_child_proposal){
		.proto = IPSEC_PROTO_ESP, .n_encr = 1, .encr = {ENCR_AES_CBC}, .encr_bits = {128},
		.n_integ = 1, .integ = {AUTH_HMAC_SHA2_256_128},
	};
	c->child.reqid = 7;
	if (me)
		ts_add(&c->child.sel, "10.2.0.0/16", "10.1.0.0/16");
	else
		ts_add(&c->child.sel, "10.1.0.0/16", "10.2.0.0/16");
}

static void peers_up(const struct ike_conn *ca, const struct ike_conn *cb,
		     const struct ike_global *gb)
{
	for (int i = 0; i < 2; i++) {
		struct ike_env env = {.ctx = &net.p[i], .send = t_send, .now_ms = t_now,
				      .random = t_random, .sa_install = t_install,
				      .sa_delete = t_delete, .conn_event = t_event,
				      .send_keepalive = t_keepalive,
				      .sa_update_encap = t_update_encap,
				      .spi_in_use = t_spi_in_use};
		struct ike_global g = {.cookies_off = true};

		if (!net.no_mbb) {
			env.sa_retire = t_retire;
			env.sa_activate = t_activate;
		}

		net.p[i].e = ikev2_new(&env, i && gb ? gb : &g);
		assert_non_null(net.p[i].e);
		assert_int_equal(ikev2_conn_add(net.p[i].e, i ? cb : ca), 0);
	}
}

static int setup(void **state)
{
	(void)state;
	memset(&net, 0, sizeof(net));
	net.now = 1000000;
	net.p[0].name = "A";
	net.p[1].name = "B";
	net.p[0].rng = 0x1234567887654321ull;
	net.p[1].rng = 0x0fedcba998765432ull;
	ip_addr_parse("198.51.100.1", &net.p[0].addr);
	ip_addr_parse("198.51.100.2", &net.p[1].addr);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		ikev2_free(net.p[i].e);
	return 0;
}

static void conns_free(struct ike_conn *a, struct ike_conn *b)
{
	ike_conn_clear(a);
	ike_conn_clear(b);
}

static unsigned live(const struct peer *p)
{
	unsigned n = 0;

	for (unsigned i = 0; i < p->n_sa; i++)
		n += !p->sa[i].deleted;
	return n;
}

static const struct inst *find(const struct peer *p, uint32_t spi, uint8_t dir)
{
	for (unsigned i = 0; i < p->n_sa; i++)
		if (!p->sa[i].deleted && p->sa[i].p.spi == spi && p->sa[i].p.dir == dir)
			return &p->sa[i];
	return NULL;
}

/* Every live SA of one peer has its mirror at the other: same SPI, same
 * keys and algorithms, opposite direction, selectors swapped. */
static void assert_mirrored(void)
{
	for (int k = 0; k < 2; k++) {
		const struct peer *me = &net.p[k], *other = &net.p[!k];

		for (unsigned i = 0; i < me->n_sa; i++) {
			const struct inst *a = &me->sa[i], *b;

			if (a->deleted)
				continue;
			b = find(other, a->p.spi, a->p.dir == SA_DIR_IN ? SA_DIR_OUT : SA_DIR_IN);
			assert_non_null(b);
			assert_int_equal(a->p.proto, b->p.proto);
			assert_int_equal(a->p.encr_id, b->p.encr_id);
			assert_int_equal(a->p.integ_id, b->p.integ_id);
			assert_int_equal(a->p.esn, b->p.esn);
			assert_int_equal(a->p.mode, b->p.mode);
			assert_int_equal(a->el, b->el);
			assert_int_equal(a->il, b->il);
			assert_memory_equal(a->ek, b->ek, a->el);
			assert_memory_equal(a->ik, b->ik, a->il);
			assert_true(ip_addr_eq(&a->p.src, &b->p.src) || net.nat_a);
			assert_int_equal(a->p.sel.n, b->p.sel.n);
			for (unsigned t = 0; t < a->p.sel.n; t++) {
				assert_memory_equal(&a->p.sel.ts[t].src, &b->p.sel.ts[t].dst,
						    sizeof(struct ip_prefix));
				assert_memory_equal(&a->p.sel.ts[t].dst, &b->p.sel.ts[t].src,
						    sizeof(struct ip_prefix));
			}
		}
	}
}

static void establish(void)
{
	/* IKE_SA_INIT { SA, KE, Ni, N(NAT_D_SRC), N(NAT_D_DST), N(FRAG_SUP) } --> */
	/* <-- IKE_SA_INIT { SA, KE, Nr, N(NAT_D_SRC), N(NAT_D_DST), N(FRAG_SUP) } */
	/* IKE_AUTH SK { IDi, N(INITIAL_CONTACT), AUTH, SA, TSi, TSr } --> */
	/* <-- IKE_AUTH SK { IDr, AUTH, SA, TSi, TSr } */
	assert_int_equal(ikev2_initiate(net.p[0].e, "to-B"), 0);
	run();
}

/* ---- tests ---- */

static void test_establish(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	assert_int_equal(net.p[0].ups, 1);
	assert_int_equal(net.p[1].ups, 1);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_mirrored();
	assert_int_equal(net.p[0].sa[0].p.encr_id, ENCR_AES_CBC);
	assert_int_equal(net.p[0].sa[0].p.reqid, 7);
	assert_int_equal(ikev2_half_open(net.p[1].e), 0);
	conns_free(&a, &b);
}

static void sa_dh(const struct ikev2_sa_info *i, void *arg)
{
	*(uint16_t *)arg = i->dh;
}

static void test_proposals_invalid_ke(void **state)
{
	struct ike_conn a, b;
	uint16_t dh_a = 0, dh_b = 0;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	/* A: two proposals, prefers Curve25519; B accepts only CBC with
	 * MODP-2048/ECP-384, in that order of preference: B picks A's
	 * proposal 1 by B's order (ECP-384 first) and asks for that group.
	 * (A's CBC proposal is first: msg.c refuses an answer numbered 2.) */
	a.n_ike_props = 2;
	a.ike_props[1] = a.ike_props[0];
	a.ike_props[0] = (struct ike_proposal){
		.n_encr = 2, .encr = {ENCR_AES_CBC, ENCR_AES_CBC}, .encr_bits = {128, 256},
		.n_integ = 1, .integ = {AUTH_HMAC_SHA2_256_128},
		.n_prf = 2, .prf = {PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384},
		.n_dh = 3, .dh = {DH_CURVE25519, DH_MODP_2048, DH_ECP_384},
	};
	b.ike_props[0] = (struct ike_proposal){
		.n_encr = 1, .encr = {ENCR_AES_CBC}, .encr_bits = {256},
		.n_integ = 1, .integ = {AUTH_HMAC_SHA2_256_128},
		.n_prf = 1, .prf = {PRF_HMAC_SHA2_384},
		.n_dh = 2, .dh = {DH_ECP_384, DH_MODP_2048},
	};
	peers_up(&a, &b, NULL);
	/* IKE_SA_INIT { SA(2 proposals), KE(curve25519), Ni } --> */
	/* <-- IKE_SA_INIT { N(INVALID_KE_PAYLOAD, ecp384) } */
	/* IKE_SA_INIT { SA, KE(ecp384), Ni } --> ... IKE_AUTH */
	establish();
	ikev2_foreach_sa(net.p[0].e, sa_dh, &dh_a);
	ikev2_foreach_sa(net.p[1].e, sa_dh, &dh_b);
	assert_int_equal(dh_a, DH_ECP_384);
	assert_int_equal(dh_b, DH_ECP_384);
	assert_int_equal(live(&net.p[0]), 2);
	assert_mirrored();
	conns_free(&a, &b);
}

static void test_psk_mismatch(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	secret_free(b.psk_local);
	b.psk_local = secret_from("wrong horse", 11);
	peers_up(&a, &b, NULL);
	/* IKE_AUTH { IDi, AUTH(bad) } --> <-- { N(AUTHENTICATION_FAILED) } */
	establish();
	advance(1);
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(live(&net.p[1]), 0);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 0);
	conns_free(&a, &b);
}

static void test_no_proposal(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.ike_props[0].encr[0] = ENCR_CHACHA20_POLY1305;
	b.ike_props[0].encr_bits[0] = 0;
	peers_up(&a, &b, NULL);
	/* IKE_SA_INIT --> <-- N(NO_PROPOSAL_CHOSEN) */
	establish();
	advance(1);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 0);
	conns_free(&a, &b);
}

static void test_child_no_proposal(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.child.props[0].encr[0] = ENCR_AES_GCM_16;
	b.child.props[0].n_integ = 0;
	peers_up(&a, &b, NULL);
	/* IKE_AUTH { ..., SA } --> <-- { IDr, AUTH, N(NO_PROPOSAL_CHOSEN) } */
	establish();
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1);
	assert_int_equal(net.p[0].ups, 1);
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(live(&net.p[1]), 0);
	conns_free(&a, &b);
}

/* The initiator cannot take the Child SA the responder made (here its data
 * plane refuses the SAs; a proposal it did not offer or selectors outside
 * its own are the same case): it asks the responder to delete the pair
 * with an INFORMATIONAL DELETE naming the SPI it had offered (RFC 7296
 * section 1.4.1), so no orphan SA stays up on the responder. The IKE SA
 * stays on both sides. */
static void test_refused_child_deleted(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	net.p[0].fail_install = true;
	establish();
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 1);
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(net.p[1].n_sa, 2); /* B installed its pair ... */
	assert_int_equal(live(&net.p[1]), 0); /* ... and deleted it on A's DELETE */
	conns_free(&a, &b);
}

static void test_narrowing(void **state)
{
	struct ike_conn a, b;
	char buf[TS_STRLEN];

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.child.sel.n = 0;
	ts_add(&b.child.sel, "10.2.1.0/24", "10.1.1.0/24");
	peers_up(&a, &b, NULL);
	/* IKE_AUTH { TSi 10.1/16, TSr 10.2/16 } --> <-- { TSi 10.1.1/24, TSr 10.2.1/24 } */
	establish();
	assert_int_equal(live(&net.p[0]), 2);
	assert_mirrored();
	assert_int_equal(net.p[0].sa[0].p.sel.n, 1);
	ts_str(&net.p[0].sa[0].p.sel.ts[0], buf, sizeof(buf));
	assert_string_equal(buf, "10.1.1.0/24 -> 10.2.1.0/24");
	conns_free(&a, &b);
}

/* Two ACL lines, one Child SA: TSi {10.1.1/24, 10.1.11/24}, TSr {10.2.1/24,
 * 10.2.12/24} come back unchanged, and TSi x TSr also names the cross pairs
 * (10.1.1/24 -> 10.2.12/24) that neither side's policy has. The initiator
 * accepted only answers whose every combination was one of its selectors,
 * so it refused ("outside our proposal") and retried without end while the
 * responder kept an SA pair each time. Both ends install the two pairs. */
static void test_two_selectors(void **state)
{
	struct ike_conn a, b;
	char buf[TS_STRLEN];

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.child.sel.n = b.child.sel.n = 0;
	ts_add(&a.child.sel, "10.1.1.0/24", "10.2.1.0/24");
	ts_add(&a.child.sel, "10.1.11.0/24", "10.2.12.0/24");
	ts_add(&b.child.sel, "10.2.1.0/24", "10.1.1.0/24");
	ts_add(&b.child.sel, "10.2.12.0/24", "10.1.11.0/24");
	peers_up(&a, &b, NULL);
	establish();
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_mirrored();
	for (int k = 0; k < 2; k++) {
		const struct ts_list *sel = &net.p[k].sa[0].p.sel;

		assert_int_equal(sel->n, 2);
		ts_str(&sel->ts[0], buf, sizeof(buf));
		assert_string_equal(buf, k ? "10.2.1.0/24 -> 10.1.1.0/24" : "10.1.1.0/24 -> 10.2.1.0/24");
		ts_str(&sel->ts[1], buf, sizeof(buf));
		assert_string_equal(buf, k ? "10.2.12.0/24 -> 10.1.11.0/24"
					   : "10.1.11.0/24 -> 10.2.12.0/24");
	}
	conns_free(&a, &b);
}

static void test_ts_unacceptable(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.child.sel.n = 0;
	ts_add(&b.child.sel, "10.9.0.0/16", "10.8.0.0/16");
	peers_up(&a, &b, NULL);
	/* IKE_AUTH --> <-- { IDr, AUTH, N(TS_UNACCEPTABLE) } */
	establish();
	assert_int_equal(net.p[0].ups, 1);
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(live(&net.p[1]), 0);
	conns_free(&a, &b);
}

static void test_retransmit(void **state)
{
	struct ike_conn a, b;
	unsigned b_sent;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	/* datagrams: 0 SA_INIT req, 1 SA_INIT resp (dropped), 2 SA_INIT retx,
	 * 3 resp (from B's state), 4 AUTH req, 5 AUTH resp (dropped),
	 * 6 AUTH retx, 7 AUTH resp (from B's response cache) */
	net.drop_mask = 1u << 1 | 1u << 5;
	establish();
	assert_int_equal(live(&net.p[0]), 0);
	advance(600); /* first retransmission after 500 ms */
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(live(&net.p[1]), 2);
	b_sent = net.p[1].sent;
	advance(600);
	assert_int_equal(net.p[1].sent, b_sent + 1);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2); /* not installed twice */
	assert_int_equal(net.p[1].n_sa, 2);
	assert_mirrored();
	conns_free(&a, &b);
}

static void test_give_up(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	net.blackhole_b = true;
	establish();
	advance(5 * 60 * 1000);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0);
	assert_int_equal(net.p[0].sent, 6); /* first send + 5 retransmissions */
	conns_free(&a, &b);
}

static void test_cookie(void **state)
{
	struct ike_conn a, b;
	struct ike_global g = {.cookie_threshold = 0};

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, &g);
	/* IKE_SA_INIT --> <-- N(COOKIE); IKE_SA_INIT { N(COOKIE), SA, KE, Ni } --> ... */
	establish();
	assert_int_equal(ikev2_drops(net.p[1].e, V2_DROP_COOKIE), 0);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(net.p[0].sent, 3); /* init, init with cookie, auth */
	assert_mirrored();
	conns_free(&a, &b);
}

/* RFC 7296 2.4: INITIAL_CONTACT speaks for the authenticated identities,
 * so it closes the receiver's established IKE SAs with the peer, not the
 * ones still in IKE_SA_INIT or IKE_AUTH. A's initiation (SA 1) loses its
 * IKE_SA_INIT request and waits; B initiates (SA 2) meanwhile, with
 * INITIAL_CONTACT: A must keep SA 1 (before, it killed it, and when two
 * initiations crossed each side could be left with the SA the other had
 * killed). */
static void test_initial_contact_spares_unauthenticated(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	/* 0 A's SA_INIT req (dropped); B's: 1 SA_INIT req, 2 resp,
	 * 3 AUTH req { N(INITIAL_CONTACT) }, 4 AUTH resp */
	net.drop_mask = 1u << 0;
	establish();
	assert_int_equal(ikev2_sa_count(net.p[1].e), 0);
	assert_int_equal(ikev2_initiate(net.p[1].e, "to-A"), 0);
	run();
	assert_int_equal(net.p[0].ups, 1);
	assert_int_equal(net.p[1].ups, 1);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 2); /* SA 2, and SA 1 in IKE_SA_INIT */
	/* A's retransmitted IKE_SA_INIT goes on: SA 1 completes too, without
	 * INITIAL_CONTACT (SA 2 is up), so both stay */
	advance(600);
	assert_int_equal(net.p[0].ups, 2);
	assert_int_equal(net.p[1].ups, 2);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 2);
	/* clear crypto ikev2 sa: every IKE SA of the connection goes */
	assert_int_equal(ikev2_ike_delete(net.p[0].e, "to-B", NULL), 2);
	run();
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 0);
	conns_free(&a, &b);
}

/* A half-open SA that B answered (A's IKE_AUTH lost) must not hold back
 * B's own initiation for the half-open timeout: anyone can send an
 * IKE_SA_INIT from A's address (before, ikev2_initiate did nothing). */
static void test_half_open_does_not_block_initiation(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	/* 0 SA_INIT req, 1 resp, 2 AUTH req (dropped) */
	net.drop_mask = 1u << 2;
	establish();
	assert_int_equal(ikev2_half_open(net.p[1].e), 1);
	assert_int_equal(ikev2_initiate(net.p[1].e, "to-A"), 0);
	run();
	assert_int_equal(net.p[1].ups, 1);
	assert_int_equal(net.p[0].ups, 1);
	conns_free(&a, &b);
}

/* RFC 7296 2.4: INITIAL_CONTACT only when no other IKE SA with the peer
 * is up. Two crypto map entries for one peer get an IKE SA each; the
 * second IKE_AUTH must not carry it, or B (one connection covering both
 * entries) closes the first IKE SA and its child (before: it did, and
 * strongSwan does the same). */
static void test_no_initial_contact_beside_another_sa(void **state)
{
	struct ike_conn a, a2, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a2 = a;
	snprintf(a2.name, sizeof(a2.name), "to-B2");
	a2.psk_local = secret_from("correct horse battery", 21);
	a2.child.reqid = 8;
	a2.child.sel.n = 0;
	ts_add(&a2.child.sel, "10.3.0.0/16", "10.4.0.0/16");
	ts_add(&b.child.sel, "10.4.0.0/16", "10.3.0.0/16");
	peers_up(&a, &b, NULL);
	assert_int_equal(ikev2_conn_add(net.p[0].e, &a2), 0);
	establish();
	assert_int_equal(ikev2_initiate(net.p[0].e, "to-B2"), 0);
	run();
	assert_int_equal(net.p[0].ups, 2);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 2);
	assert_int_equal(live(&net.p[1]), 4);
	assert_int_equal(net.p[1].downs, 0);
	assert_mirrored();
	ike_conn_clear(&a2);
	conns_free(&a, &b);
}

static uint32_t first_in(const struct peer *p)
{
	for (unsigned i = 0; i < p->n_sa; i++)
		if (!p->sa[i].deleted && p->sa[i].p.dir == SA_DIR_IN)
			return p->sa[i].p.spi;
	return 0;
}

static void test_child_rekey(void **state)
{
	struct ike_conn a, b;
	uint32_t old;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.child.pfs_group = b.child.pfs_group = DH_ECP_256;
	peers_up(&a, &b, NULL);
	establish();
	old = first_in(&net.p[0]);
	/* CREATE_CHILD_SA { SA, Ni, KEi, TSi, TSr, N(REKEY_SA) } --> <-- { SA, Nr, KEr, TSi, TSr } */
	/* INFORMATIONAL { D(ESP, old) } --> <-- { D(ESP, old peer) } */
	assert_int_equal(ikev2_child_rekey(net.p[0].e, old), 0);
	run();
	assert_int_equal(net.p[0].n_sa, 4);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_null(find(&net.p[0], old, SA_DIR_IN));
	assert_mirrored();
	conns_free(&a, &b);
}

/* Inbound SPIs are drawn at random; one an installed (or retiring) SA
 * holds is drawn again, and a responder that finds none answers
 * TEMPORARY_FAILURE, after which the initiator keeps its SA and tries
 * again later (2.25). */
static void test_spi_in_use(void **state)
{
	struct ike_conn a, b;
	struct peer *pa = &net.p[0], *pb = &net.p[1];
	uint32_t old, cur;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	assert_true(pa->spi_queries >= 1 && pb->spi_queries >= 1);
	/* both ends: the first three SPIs drawn are taken */
	pa->spi_busy = pb->spi_busy = 3;
	old = first_in(pa);
	assert_int_equal(ikev2_child_rekey(pa->e, old), 0);
	run();
	assert_int_equal(pa->n_busy, 3);
	assert_int_equal(pb->n_busy, 3);
	assert_int_equal(live(pa), 2);
	assert_int_equal(live(pb), 2);
	assert_mirrored();
	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < net.p[k].n_busy; i++) {
			assert_null(find(&net.p[k], net.p[k].busy_spi[i], SA_DIR_IN));
			assert_int_not_equal(net.p[k].busy_spi[i], 0);
		}
	/* the responder finds no free SPI: TEMPORARY_FAILURE, nothing new */
	cur = first_in(pa);
	pb->spi_busy = 1000;
	assert_int_equal(ikev2_child_rekey(pa->e, cur), 0);
	run();
	assert_int_equal(pb->spi_busy, 1000 - 64);
	assert_int_equal(live(pa), 2);
	assert_int_equal(live(pb), 2);
	assert_non_null(find(pa, cur, SA_DIR_IN));
	/* 10 s later A asks again, and now B has SPIs */
	pb->spi_busy = 0;
	advance(9000);
	assert_non_null(find(pa, cur, SA_DIR_IN));
	advance(2000);
	assert_null(find(pa, cur, SA_DIR_IN));
	assert_int_equal(live(pa), 2);
	assert_int_equal(live(pb), 2);
	assert_mirrored();
	/* the initiator finds none: no request, the SA stays */
	cur = first_in(pa);
	pa->spi_busy = 1000;
	pa->sent = 0;
	assert_int_equal(ikev2_child_rekey(pa->e, cur), 0);
	run();
	assert_int_equal(pa->spi_busy, 1000 - 64);
	assert_non_null(find(pa, cur, SA_DIR_IN));
	assert_int_equal(live(pa), 2);
	assert_int_equal(pa->downs, 0);
	/* and the IKE SA is not stuck on it: the next rekey goes through */
	pa->spi_busy = 0;
	assert_int_equal(ikev2_child_rekey(pa->e, cur), 0);
	run();
	assert_null(find(pa, cur, SA_DIR_IN));
	assert_int_equal(live(pa), 2);
	assert_mirrored();
	conns_free(&a, &b);
}

static void test_rekey_collision(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	/* both: CREATE_CHILD_SA { SA, Ni, TSi, TSr, N(REKEY_SA) } --> <-- crossing */
	assert_int_equal(ikev2_child_rekey(net.p[0].e, first_in(&net.p[0])), 0);
	assert_int_equal(ikev2_child_rekey(net.p[1].e, first_in(&net.p[1])), 0);
	run();
	advance(10);
	/* 2.8.1: one new pair survives, the redundant one and the old are deleted */
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_int_equal(net.p[0].n_sa, 6);
	assert_mirrored();
	/* make-before-break: every replaced inbound SA -- the old one and the
	 * redundant new one -- is retired, none deleted at once; each side's
	 * surviving outbound SA carries traffic */
	for (int k = 0; k < 2; k++) {
		unsigned retired = 0;

		for (unsigned i = 0; i < net.p[k].n_sa; i++) {
			const struct inst *x = &net.p[k].sa[i];

			retired += x->retired;
			if (x->p.dir == SA_DIR_IN && x->deleted)
				assert_true(x->retired);
			if (x->p.dir == SA_DIR_OUT && !x->deleted)
				assert_false(x->p.standby);
		}
		assert_int_equal(retired, 2);
	}
	conns_free(&a, &b);
}

/* Deliver only the first queued datagram. */
static void run_one(void)
{
	struct pkt *pk = malloc(sizeof(*pk));

	assert_true(net.nq > 0);
	*pk = net.q[0];
	memmove(net.q, net.q + 1, --net.nq * sizeof(net.q[0]));
	ikev2_input(net.p[pk->to].e, pk->buf, pk->len, &pk->src, pk->sport, &pk->dst, pk->dport);
	free(pk);
}

static const struct inst *newest(const struct peer *p, uint8_t dir)
{
	for (unsigned i = p->n_sa; i-- > 0;)
		if (p->sa[i].p.dir == dir)
			return &p->sa[i];
	return NULL;
}

static const struct inst *find_any(const struct peer *p, uint32_t spi, uint8_t dir)
{
	for (unsigned i = 0; i < p->n_sa; i++)
		if (p->sa[i].p.spi == spi && p->sa[i].p.dir == dir)
			return &p->sa[i];
	return NULL;
}

/* Make-before-break, step by step (RFC 7296 2.8; ipsec/sad.h): B, the
 * responder, sends on its old SA until A's DELETE of it arrives (A reads
 * B's new SA only once it has processed the answer); each side's old
 * inbound SA is retired (kept a few seconds for packets in flight), not
 * deleted at once. Without the data plane's support the engine deletes
 * at once and installs nothing standby. */
static void child_rekey_steps(bool mbb)
{
	struct ike_conn a, b;
	uint32_t old_a, old_b;
	const struct inst *bo, *ao;

	net.no_mbb = !mbb;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	old_a = first_in(&net.p[0]);
	old_b = first_in(&net.p[1]);
	assert_int_equal(ikev2_child_rekey(net.p[0].e, old_a), 0);
	run_one(); /* B: CREATE_CHILD_SA request, answered */
	bo = newest(&net.p[1], SA_DIR_OUT);
	assert_int_equal(bo->p.standby, mbb);
	assert_int_equal(live(&net.p[1]), 4);
	run_one(); /* A: the answer; new pair installed, DELETE of old_a sent */
	ao = newest(&net.p[0], SA_DIR_OUT);
	assert_false(ao->p.standby);
	assert_int_equal(ao->p.spi, newest(&net.p[1], SA_DIR_IN)->p.spi);
	run_one(); /* B: the DELETE; its new outbound SA takes over */
	assert_int_equal(bo->p.standby, false);
	assert_int_equal(bo->activated, mbb);
	assert_int_equal(find_any(&net.p[1], old_b, SA_DIR_IN)->retired, mbb);
	assert_true(find_any(&net.p[1], old_b, SA_DIR_IN)->deleted);
	run(); /* A: the DELETE's answer */
	assert_int_equal(find_any(&net.p[0], old_a, SA_DIR_IN)->retired, mbb);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_false(ao->activated);
	assert_mirrored();
	conns_free(&a, &b);
}

static void test_child_rekey_mbb(void **state)
{
	(void)state;
	child_rekey_steps(true);
}

static void test_child_rekey_no_mbb(void **state)
{
	(void)state;
	child_rekey_steps(false);
}

/* Volume lifetimes run out on both ends at about the same time (A's
 * outbound and B's inbound SA carry the same bytes). B answered A's
 * rekey, then its own soft expiry of the replaced SA arrives: B must not
 * rekey it again (2.8: A deletes it); a second CREATE_CHILD_SA would make
 * a redundant pair that neither end deletes. */
static void test_rekey_after_peer_rekeyed(void **state)
{
	struct ike_conn a, b;
	uint32_t old_b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	old_b = first_in(&net.p[1]);
	/* CREATE_CHILD_SA { SA, Ni, TSi, TSr, N(REKEY_SA) } --> B answers */
	assert_int_equal(ikev2_child_rekey(net.p[0].e, first_in(&net.p[0])), 0);
	run_one();
	/* B's data plane: soft byte lifetime of the old inbound SA */
	ikev2_expire(net.p[1].e, old_b, IPSEC_PROTO_ESP, false);
	run();
	advance(10);
	assert_int_equal(net.p[1].n_sa, 4); /* the old pair and one new */
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_null(find(&net.p[1], old_b, SA_DIR_IN));
	assert_mirrored();
	conns_free(&a, &b);
}

/* Child SA rekey collision where the winner's DELETE of the old SA
 * overtakes its answer to the loser (held back, as in
 * ike_collision_delete_first): exactly one new pair must remain. */
static void child_collision_delete_first(int first)
{
	struct ike_conn a, b;
	struct pkt held;

	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	assert_int_equal(ikev2_child_rekey(net.p[0].e, first_in(&net.p[0])), 0);
	assert_int_equal(ikev2_child_rekey(net.p[1].e, first_in(&net.p[1])), 0);
	assert_int_equal(net.nq, 2);
	run_one();
	run_one();
	assert_int_equal(net.nq, 2);
	held = net.q[first ? 0 : 1];
	net.q[0] = net.q[first ? 1 : 0];
	net.nq = 1;
	run();
	net.q[net.nq++] = held;
	run();
	advance(10);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_mirrored();
	conns_free(&a, &b);
}

static void test_rekey_collision_delete_first_a(void **state)
{
	(void)state;
	child_collision_delete_first(0);
}

static void test_rekey_collision_delete_first_b(void **state)
{
	(void)state;
	child_collision_delete_first(1);
}

static void test_delete(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	/* INFORMATIONAL { D(ESP) } --> <-- { D(ESP) } */
	assert_int_equal(ikev2_child_delete(net.p[1].e, first_in(&net.p[1])), 0);
	run();
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(live(&net.p[1]), 0);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1);
	/* INFORMATIONAL { D(IKE) } --> <-- { } */
	assert_int_equal(ikev2_ike_delete(net.p[0].e, "to-B", NULL), 1);
	run();
	advance(1);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 0);
	conns_free(&a, &b);
}

static void test_delete_ike_with_children(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	/* INFORMATIONAL { D(IKE) } --> <-- { }: children go with it (1.4.1) */
	assert_int_equal(ikev2_ike_delete(net.p[1].e, "to-A", NULL), 1);
	run();
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(live(&net.p[1]), 0);
	assert_int_equal(net.p[0].downs, 1);
	conns_free(&a, &b);
}

static void test_dpd_death(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.dpd_interval_s = 10;
	a.dpd_mode = IKE_DPD_PERIODIC;
	a.dpd_action = IKE_DPD_RESTART;
	peers_up(&a, &b, NULL);
	establish();
	/* INFORMATIONAL { } --> <-- { } (alive) */
	advance(11000);
	assert_int_equal(net.p[0].downs, 0);
	assert_int_equal(live(&net.p[0]), 2);
	/* B vanishes: INFORMATIONAL { } --> (x6), then dead, restart */
	net.blackhole_b = true;
	advance(43000); /* DPD at +10 s, 5 retransmissions: 31.5 s */
	assert_int_equal(net.p[0].downs, 1);
	assert_int_equal(net.p[0].last_action, IKE_DPD_RESTART);
	assert_int_equal(live(&net.p[0]), 0);
	/* restart: a new IKE_SA_INIT is being retried */
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1);
	net.blackhole_b = false;
	advance(120000);
	assert_int_equal(net.p[0].ups, 2);
	assert_int_equal(live(&net.p[0]), 2);
	conns_free(&a, &b);
}

/* IOS `dpd 10 2 periodic`: the DPD request is sent five times in all, the
 * gaps growing by 1.5 (RFC 7296 2.4: 0.76, 1.14, 1.71, 2.56 s), and the
 * peer is dead 3.84 s after the last one: 10 + 5 * 2 s after the last
 * message from it (within interval * retry = 20 s). */
static void test_dpd_retry_interval(void **state)
{
	struct ike_conn a, b;
	unsigned sent;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.dpd_interval_s = 10;
	a.dpd_retry_s = 2;
	a.dpd_mode = IKE_DPD_PERIODIC;
	a.dpd_action = IKE_DPD_CLEAR;
	peers_up(&a, &b, NULL);
	establish();
	advance(10500); /* DPD at +10 s, answered */
	assert_int_equal(live(&net.p[0]), 2);
	net.blackhole_b = true; /* last message from B at +10 s */
	sent = net.p[0].sent;
	advance(9600); /* +20.1: the DPD went out */
	assert_int_equal(net.p[0].sent, sent + 1);
	advance(600); /* +20.7: not yet again (+20.76) */
	assert_int_equal(net.p[0].sent, sent + 1);
	advance(1100); /* +21.8: once more; the next at +21.9 */
	assert_int_equal(net.p[0].sent, sent + 2);
	advance(200); /* +22.0 */
	assert_int_equal(net.p[0].sent, sent + 3);
	advance(4300); /* +26.3: and at +23.6, +26.16 */
	assert_int_equal(net.p[0].sent, sent + 5);
	assert_int_equal(net.p[0].downs, 0);
	advance(3600); /* +29.9 */
	assert_int_equal(net.p[0].downs, 0);
	advance(200); /* +30.1: dead, 20 s after the last answer */
	assert_int_equal(net.p[0].downs, 1);
	assert_int_equal(net.p[0].sent, sent + 5);
	assert_int_equal(net.p[0].last_action, IKE_DPD_CLEAR);
	assert_int_equal(live(&net.p[0]), 0);
	conns_free(&a, &b);
}

/* On-demand DPD (2.4): only when traffic went out and nothing came back
 * for the interval; traffic from the peer (ikev2_traffic inbound: an
 * authenticated packet on a Child SA) answers what went out before. */
static void test_dpd_on_demand(void **state)
{
	struct ike_conn a, b;
	unsigned sent;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.dpd_interval_s = 10;
	a.dpd_mode = IKE_DPD_ON_DEMAND;
	a.dpd_action = IKE_DPD_HOLD;
	peers_up(&a, &b, NULL);
	establish();
	sent = net.p[0].sent;
	advance(25000); /* idle: nothing */
	assert_int_equal(net.p[0].sent, sent);
	/* traffic both ways, then idle again: nothing */
	ikev2_traffic(net.p[0].e, a.child.reqid, false);
	ikev2_traffic(net.p[0].e, a.child.reqid, true);
	advance(25000);
	assert_int_equal(net.p[0].sent, sent);
	/* out, nothing back for > 10 s: INFORMATIONAL { } --> <-- { } */
	ikev2_traffic(net.p[0].e, a.child.reqid, false);
	advance(100);
	assert_int_equal(net.p[0].sent, sent + 1);
	assert_int_equal(net.p[0].downs, 0);
	assert_int_equal(live(&net.p[0]), 2);
	/* answered: no further DPD while idle */
	advance(25000);
	assert_int_equal(net.p[0].sent, sent + 1);
	/* B vanishes; traffic out: DPD at once (the answer is 25 s old),
	 * 5 retransmissions, dead 31.5 s later, action hold */
	net.blackhole_b = true;
	ikev2_traffic(net.p[0].e, a.child.reqid, false);
	advance(10);
	assert_int_equal(net.p[0].sent, sent + 2);
	advance(31000);
	assert_int_equal(net.p[0].sent, sent + 2 + 5);
	assert_int_equal(net.p[0].downs, 0);
	advance(1000);
	assert_int_equal(net.p[0].downs, 1);
	assert_int_equal(net.p[0].last_action, IKE_DPD_HOLD);
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0); /* hold: no restart */
	conns_free(&a, &b);
}

static void sa_nat(const struct ikev2_sa_info *i, void *arg)
{
	*(bool *)arg = i->nat && i->lport == 4500;
}

static void test_nat(void **state)
{
	struct ike_conn a, b;
	bool nat_a = false, nat_b = false;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.remote.af = 0; /* any peer: A arrives from its NAT's address */
	net.nat_a = true;
	peers_up(&a, &b, NULL);
	/* IKE_SA_INIT with NAT_D that does not match --> ; IKE_AUTH on 4500 */
	establish();
	ikev2_foreach_sa(net.p[0].e, sa_nat, &nat_a);
	ikev2_foreach_sa(net.p[1].e, sa_nat, &nat_b);
	assert_true(nat_a);
	assert_true(nat_b);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(net.p[0].sa[0].p.encap_sport, 4500);
	assert_int_equal(net.p[1].sa[0].p.dir, SA_DIR_IN);
	assert_int_equal(net.p[1].sa[0].p.encap_sport, 44500); /* the NAT's port */
	assert_mirrored();
	conns_free(&a, &b);
}

/* The NAT in front of A changes its mapping (RFC 7296 2.23): B follows A
 * to the new port for IKE and moves its installed Child SAs there in
 * place (no re-install: sequence numbers and replay windows stay). */
static void test_nat_port_change(void **state)
{
	struct ike_conn a, b;
	uint32_t b_out = 0;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.remote.af = 0;
	net.nat_a = true;
	peers_up(&a, &b, NULL);
	establish();
	for (unsigned i = 0; i < net.p[1].n_sa; i++)
		if (!net.p[1].sa[i].deleted && net.p[1].sa[i].p.dir == SA_DIR_OUT)
			b_out = net.p[1].sa[i].p.spi;
	assert_int_equal(net.p[1].encap_updates, 0);
	net.nat_port = 45123; /* the mapping moves */
	/* CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr } --> from the new port */
	assert_int_equal(ikev2_child_rekey(net.p[0].e, first_in(&net.p[0])), 0);
	run();
	assert_true(net.p[1].encap_updates >= 2);
	bool moved = false;
	for (unsigned i = 0; i < net.p[1].encap_updates && i < 8; i++)
		if (net.p[1].encap_spi[i] == b_out && net.p[1].encap_dport[i] == 45123)
			moved = true;
	assert_true(moved);
	/* and the rekeyed child is installed with the new port */
	bool fresh = false;
	for (unsigned i = 0; i < net.p[1].n_sa; i++)
		if (!net.p[1].sa[i].deleted && net.p[1].sa[i].p.dir == SA_DIR_OUT &&
		    net.p[1].sa[i].p.spi != b_out)
			fresh = net.p[1].sa[i].p.encap_dport == 45123;
	assert_true(fresh);
	net.nat_port = 0;
	conns_free(&a, &b);
}

static void test_transport_esn_ipcomp(void **state)
{
	struct ike_conn a, b;
	unsigned comp = 0;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.child.mode = b.child.mode = IPSEC_MODE_TRANSPORT;
	a.child.esn = b.child.esn = true;
	a.child.ipcomp = b.child.ipcomp = true;
	peers_up(&a, &b, NULL);
	/* IKE_AUTH { ..., SA(ESN, no ESN), TSi, TSr, N(USE_TRANSPORT_MODE),
	 *            N(IPCOMP_SUPPORTED, CPI, DEFLATE) } -->
	 * <-- { ..., SA(ESN), TSi, TSr, N(USE_TRANSPORT_MODE), N(IPCOMP_SUPPORTED) } */
	establish();
	assert_int_equal(live(&net.p[0]), 4); /* ESP and IPComp, both directions */
	for (unsigned i = 0; i < net.p[0].n_sa; i++) {
		const struct sa_params *p = &net.p[0].sa[i].p;

		assert_int_equal(p->mode, IPSEC_MODE_TRANSPORT);
		if (p->proto == IPSEC_PROTO_COMP)
			comp++;
		else
			assert_true(p->esn);
	}
	assert_int_equal(comp, 2);
	assert_mirrored();
	conns_free(&a, &b);
}

/* ---- IKE SA rekey (RFC 7296 2.18, 2.8.2) ---- */

struct sa_view {
	unsigned n, established;
	uint8_t spi_i[8], spi_r[8];
	char conn[IKE_CONN_NAME_MAX];
};

static void sa_view_fn(const struct ikev2_sa_info *i, void *arg)
{
	struct sa_view *v = arg;

	v->n++;
	v->established += i->established;
	memcpy(v->spi_i, i->spi_i, 8);
	memcpy(v->spi_r, i->spi_r, 8);
	snprintf(v->conn, sizeof(v->conn), "%s", i->conn);
}

static struct sa_view view(int k)
{
	struct sa_view v;

	memset(&v, 0, sizeof(v));
	ikev2_foreach_sa(net.p[k].e, sa_view_fn, &v);
	return v;
}

/* Both ends hold exactly one IKE SA, the same one, and it is up. */
static void assert_one_ike_sa(void)
{
	struct sa_view a = view(0), b = view(1);

	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 1);
	assert_int_equal(a.established, 1);
	assert_int_equal(b.established, 1);
	assert_memory_equal(a.spi_i, b.spi_i, 8);
	assert_memory_equal(a.spi_r, b.spi_r, 8);
}

/* The rekeyed IKE SA carries on: its keys agree on both ends (a Child SA
 * rekey and an IKE delete go through it). */
static void assert_new_ike_sa_works(void)
{
	unsigned n = net.p[0].n_sa;

	/* CREATE_CHILD_SA { SA, Ni, TSi, TSr, N(REKEY_SA) } --> <-- { SA, Nr, TSi, TSr } */
	/* INFORMATIONAL { D(ESP) } --> <-- { D(ESP) } */
	assert_int_equal(ikev2_child_rekey(net.p[0].e, first_in(&net.p[0])), 0);
	run();
	assert_int_equal(net.p[0].n_sa, n + 2);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_mirrored();
	/* INFORMATIONAL { D(IKE) } --> <-- { } */
	assert_int_equal(ikev2_ike_delete(net.p[0].e, "to-B", NULL), 1);
	run();
	advance(1);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 0);
	assert_int_equal(live(&net.p[1]), 0);
}

static void ike_rekey_by(int k)
{
	struct ike_conn a, b;
	struct sa_view before;

	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	before = view(0);
	/* old SA: CREATE_CHILD_SA { SA(IKE, SPIi'), Ni, KEi } -->
	 *     <-- old SA: CREATE_CHILD_SA { SA(IKE, SPIr'), Nr, KEr }
	 * old SA: INFORMATIONAL { D(IKE) } --> <-- { } */
	assert_int_equal(ikev2_ike_rekey(net.p[k].e, k ? "to-A" : "to-B"), 0);
	run();
	advance(1);
	assert_one_ike_sa();
	assert_memory_not_equal(view(0).spi_i, before.spi_i, 8);
	assert_memory_not_equal(view(0).spi_r, before.spi_r, 8);
	/* the Child SAs moved, untouched; nobody saw the connection go down */
	assert_int_equal(net.p[0].n_sa, 2);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_int_equal(net.p[0].downs + net.p[1].downs, 0);
	assert_int_equal(net.p[0].ups, 1);
	assert_int_equal(net.p[1].ups, 1);
	assert_new_ike_sa_works();
	conns_free(&a, &b);
}

static void test_ike_rekey(void **state)
{
	(void)state;
	ike_rekey_by(0);
}

static void test_ike_rekey_by_responder(void **state)
{
	(void)state;
	/* the original responder rekeys; it becomes the new SA's initiator */
	ike_rekey_by(1);
}

static void test_ike_rekey_lifetime(void **state)
{
	struct ike_conn a, b;
	struct sa_view before;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.ike_lifetime_s = 1000; /* soft: 800..900 s with jitter */
	peers_up(&a, &b, NULL);
	establish();
	before = view(0);
	advance(799 * 1000);
	assert_memory_equal(view(0).spi_i, before.spi_i, 8);
	/* CREATE_CHILD_SA { SA(IKE), Ni, KEi } --> ... D(IKE) on the old SA */
	advance(101 * 1000);
	assert_one_ike_sa();
	assert_memory_not_equal(view(0).spi_i, before.spi_i, 8);
	assert_int_equal(live(&net.p[0]), 2);
	/* and again, lifetime after lifetime */
	before = view(0);
	advance(900 * 1000);
	assert_one_ike_sa();
	assert_memory_not_equal(view(0).spi_i, before.spi_i, 8);
	assert_int_equal(net.p[0].downs + net.p[1].downs, 0);
	assert_new_ike_sa_works();
	conns_free(&a, &b);
}

/* The hard IKE lifetime ends the SA even when the rekey at the soft
 * lifetime gets no answer: lifetime 120 s, soft rekey at 96..108 s into a
 * black hole; retransmissions alone would give up only ~31 s later. */
static void test_ike_hard_lifetime(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.ike_lifetime_s = 120;
	peers_up(&a, &b, NULL);
	establish();
	advance(90 * 1000);
	net.blackhole_b = true;
	advance(29 * 1000);
	/* the old SA and the rekey's new one, still retransmitting */
	assert_int_equal(ikev2_sa_count(net.p[0].e), 2);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(net.p[0].downs, 0);
	advance(2 * 1000); /* 121 s */
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0);
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(net.p[0].downs, 1);
	conns_free(&a, &b);
}

static void test_ike_rekey_collision(void **state)
{
	struct ike_conn a, b;
	struct sa_view before;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	before = view(0);
	/* A: CREATE_CHILD_SA { SA(IKE), Ni1, KEi } --> (crossing)
	 *    <-- B: CREATE_CHILD_SA { SA(IKE), Ni2, KEi }
	 * both answer; 2.8.2: the SA with the lowest of the four nonces is
	 * deleted by its initiator, the other initiator deletes the old SA */
	assert_int_equal(ikev2_ike_rekey(net.p[0].e, "to-B"), 0);
	assert_int_equal(ikev2_ike_rekey(net.p[1].e, "to-A"), 0);
	run();
	advance(10);
	assert_one_ike_sa();
	assert_memory_not_equal(view(0).spi_i, before.spi_i, 8);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_int_equal(net.p[0].downs + net.p[1].downs, 0);
	assert_new_ike_sa_works();
	conns_free(&a, &b);
}

/* Both rekey the IKE SA, the requests cross and both are answered; then
 * side `first` gets its answer, and everything it sends is delivered
 * before the other side's answer (held back). When `first` is the side
 * whose new SA survives (the other's has the lowest nonce), its DELETE of
 * the old SA reaches the other side while that one's own rekey is still
 * unanswered (2.8.2): the Child SAs must move to `first`'s new SA, and
 * the redundant SA must go on both ends. With the roles swapped the
 * ordinary collision path runs. Either way: one IKE SA, children intact. */
static void ike_collision_delete_first(int first)
{
	struct ike_conn a, b;
	struct pkt held;
	uint32_t in_a;

	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	in_a = first_in(&net.p[0]);
	assert_int_equal(ikev2_ike_rekey(net.p[0].e, "to-B"), 0);
	assert_int_equal(ikev2_ike_rekey(net.p[1].e, "to-A"), 0);
	assert_int_equal(net.nq, 2);
	run_one(); /* A's request to B: B answers (queued after B's request) */
	run_one(); /* B's request to A: A answers */
	assert_int_equal(net.nq, 2);
	/* q: [B's answer to A, A's answer to B]; hold back the other one's */
	held = net.q[first ? 0 : 1];
	net.q[0] = net.q[first ? 1 : 0];
	net.nq = 1;
	run();
	assert_true(net.nq < 64);
	net.q[net.nq++] = held;
	run();
	advance(60 * 1000);
	assert_one_ike_sa();
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_non_null(find(&net.p[0], in_a, SA_DIR_IN)); /* inherited, not renegotiated */
	assert_int_equal(net.p[0].downs + net.p[1].downs, 0);
	assert_new_ike_sa_works();
	conns_free(&a, &b);
}

static void test_ike_collision_delete_first_a(void **state)
{
	(void)state;
	ike_collision_delete_first(0);
}

static void test_ike_collision_delete_first_b(void **state)
{
	(void)state;
	ike_collision_delete_first(1);
}

/* ---- Child SA lifetimes ---- */

static void test_child_lifetime(void **state)
{
	struct ike_conn a, b;
	uint32_t old, cur;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.child.soft_seconds = 1000; /* rekey at 900..1000 s (jitter) */
	a.child.hard_seconds = 1200;
	peers_up(&a, &b, NULL);
	establish();
	old = first_in(&net.p[0]);
	advance(899 * 1000);
	assert_int_equal(net.p[0].n_sa, 2);
	/* CREATE_CHILD_SA { SA, Ni, TSi, TSr, N(REKEY_SA) } --> <-- ...; D(ESP old) */
	advance(101 * 1000);
	assert_int_equal(net.p[0].n_sa, 4);
	assert_null(find(&net.p[0], old, SA_DIR_IN));
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_mirrored();
	/* soft expiry from the data plane (bytes): rekey */
	cur = first_in(&net.p[0]);
	ikev2_expire(net.p[0].e, cur, IPSEC_PROTO_ESP, false);
	run();
	assert_int_equal(net.p[0].n_sa, 6);
	assert_null(find(&net.p[0], cur, SA_DIR_IN));
	assert_int_equal(live(&net.p[1]), 2);
	assert_mirrored();
	/* hard expiry: INFORMATIONAL { D(ESP) } --> <-- { D(ESP) } */
	ikev2_expire(net.p[0].e, first_in(&net.p[0]), IPSEC_PROTO_ESP, true);
	run();
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(live(&net.p[1]), 0);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1);
	conns_free(&a, &b);
}

static void test_child_hard_lifetime(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.child.hard_seconds = 500; /* no soft lifetime: nothing replaces it */
	peers_up(&a, &b, NULL);
	establish();
	advance(499 * 1000);
	assert_int_equal(live(&net.p[0]), 2);
	/* INFORMATIONAL { D(ESP) } --> <-- { D(ESP) } */
	advance(2000);
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(live(&net.p[1]), 0);
	assert_int_equal(net.p[0].n_sa, 2);
	conns_free(&a, &b);
}

/* ---- IKE fragmentation (RFC 7383) ---- */

static void frag_conns(struct ike_conn *a, struct ike_conn *b, uint16_t mtu_a, uint16_t mtu_b)
{
	conn_base(a, 0);
	conn_base(b, 1);
	a->frag_mtu = mtu_a;
	b->frag_mtu = mtu_b;
	/* a bigger IKE_AUTH: more Child SA proposals */
	for (int i = 1; i < 4; i++) {
		a->child.props[i] = a->child.props[0];
		a->child.props[i].encr_bits[0] = (uint16_t)(i == 1 ? 192 : 256);
		a->child.props[i].integ[0] = i == 3 ? AUTH_HMAC_SHA2_512_256 : AUTH_HMAC_SHA2_256_128;
	}
	a->child.n_props = 4;
}

static void test_frag(void **state)
{
	struct ike_conn a, b;

	(void)state;
	frag_conns(&a, &b, 300, 300);
	peers_up(&a, &b, NULL);
	/* IKE_SA_INIT { ..., N(FRAG_SUP) } --> <-- { ..., N(FRAG_SUP) }
	 * IKE_AUTH SKF{1/n} --> ... SKF{n/n} -->  (reassembled, then processed)
	 * <-- IKE_AUTH SKF{1/m} ... SKF{m/m} */
	establish();
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_mirrored();
	assert_true(net.p[0].sent >= 3); /* IKE_SA_INIT + at least 2 fragments */
	assert_true(net.p[0].max_len <= 300 - 28);
	assert_int_equal(ikev2_drops(net.p[1].e, V2_DROP_DECRYPT), 0);
	conns_free(&a, &b);
}

static void test_frag_sizes(void **state)
{
	struct ike_conn a, b;
	unsigned before;

	(void)state;
	frag_conns(&a, &b, 300, 300);
	a.ike_props[0].dh[0] = DH_ECP_256; /* IKE_SA_INIT stays below 272 bytes */
	peers_up(&a, &b, NULL);
	establish();
	assert_int_equal(live(&net.p[0]), 2);
	/* every encrypted datagram fits 300 bytes of IPv4 + UDP */
	before = net.p[0].sent;
	net.p[0].max_len = net.p[1].max_len = 0;
	assert_int_equal(ikev2_child_rekey(net.p[0].e, first_in(&net.p[0])), 0);
	run();
	assert_true(net.p[0].sent > before + 2); /* the request was fragmented */
	assert_true(net.p[0].max_len <= 300 - 28);
	assert_true(net.p[1].max_len <= 300 - 28);
	assert_int_equal(live(&net.p[0]), 2);
	assert_mirrored();
	conns_free(&a, &b);
}

static void test_frag_dropped(void **state)
{
	struct ike_conn a, b;
	unsigned a_sent;

	(void)state;
	frag_conns(&a, &b, 300, 300);
	peers_up(&a, &b, NULL);
	/* datagrams: 0 SA_INIT req, 1 SA_INIT resp, 2 AUTH frag 1, 3 AUTH
	 * frag 2 (dropped), ...: B keeps fragment 1 and waits */
	net.drop_mask = 1u << 3;
	establish();
	assert_int_equal(live(&net.p[1]), 0);
	assert_int_equal(live(&net.p[0]), 0);
	a_sent = net.p[0].sent;
	/* A retransmits every fragment; B completes the message */
	advance(600);
	assert_true(net.p[0].sent >= a_sent + 2);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_mirrored();
	conns_free(&a, &b);
}

/* RFC 7383 2.6: a fragment whose ICV does not verify is silently
 * discarded before it changes anything. A forged fragment claiming one
 * more Total Fragments arrives between A's first and second: B must still
 * assemble A's message (before, the forgery threw away fragment 1 and made
 * every real fragment "older" for 30 s: one packet blocked IKE_AUTH). */
static void test_frag_forged(void **state)
{
	struct ike_conn a, b;

	(void)state;
	frag_conns(&a, &b, 300, 300);
	peers_up(&a, &b, NULL);
	/* datagrams: 0 SA_INIT req, 1 SA_INIT resp, 2 AUTH frag 1, forged,
	 * 3 AUTH frag 2, ... */
	net.forge_k = 3;
	establish();
	assert_int_equal(ikev2_drops(net.p[1].e, V2_DROP_DECRYPT), 1);
	assert_int_equal(live(&net.p[1]), 2);
	assert_int_equal(live(&net.p[0]), 2);
	assert_mirrored();
	conns_free(&a, &b);
}

static void test_frag_off(void **state)
{
	struct ike_conn a, b;

	(void)state;
	/* A does not fragment: it must not announce it, so B does not either */
	frag_conns(&a, &b, 0, 300);
	peers_up(&a, &b, NULL);
	establish();
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(net.p[0].sent, 2); /* IKE_SA_INIT, IKE_AUTH whole */
	assert_int_equal(net.p[1].sent, 2);
	conns_free(&a, &b);
}

/* ---- NAT keepalives (RFC 3948 4) ---- */

static void test_nat_keepalive(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.remote.af = 0;
	a.nat_keepalive_s = 20;
	net.nat_a = true;
	peers_up(&a, &b, NULL);
	establish();
	/* A is behind the NAT: 0xff --> 4500 every 20 s; B is not */
	advance(61 * 1000);
	assert_int_equal(net.p[0].keepalives, 3);
	assert_int_equal(net.p[0].ka_dport, 4500);
	assert_int_equal(net.p[1].keepalives, 0);
	conns_free(&a, &b);
}

static void test_no_keepalive_without_nat(void **state)
{
	struct ike_conn a, b;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	advance(100 * 1000);
	assert_int_equal(net.p[0].keepalives + net.p[1].keepalives, 0);
	conns_free(&a, &b);
}

/* ---- responder connection choice, connections at run time ---- */

static void id_set(struct ike_id *id, const char *fqdn)
{
	id->type = IKE_ID_FQDN;
	id->len = (uint8_t)strlen(fqdn);
	memcpy(id->data, fqdn, id->len);
}

/* B: "other" (peer x.example, another key) first, then "to-A". */
static void two_conns_at_b(struct ike_conn *a, struct ike_conn *b, struct ike_conn *other)
{
	conn_base(a, 0);
	conn_base(b, 1);
	*other = *b;
	snprintf(other->name, sizeof(other->name), "other");
	id_set(&other->remote_id, "x.example");
	other->psk_local = secret_from("another key", 11);
	peers_up(a, other, NULL);
	assert_int_equal(ikev2_conn_add(net.p[1].e, b), 0);
}

static void test_conn_by_id(void **state)
{
	struct ike_conn a, b, other;

	(void)state;
	two_conns_at_b(&a, &b, &other);
	/* IKE_SA_INIT picks "other" by address; IKE_AUTH { IDi a.example } moves
	 * the SA to "to-A", whose key verifies */
	establish();
	assert_int_equal(live(&net.p[0]), 2);
	assert_string_equal(view(1).conn, "to-A");
	assert_mirrored();
	ike_conn_clear(&other);
	conns_free(&a, &b);
}

static void test_conn_by_id_none(void **state)
{
	struct ike_conn a, b, other;

	(void)state;
	conn_base(&a, 0);
	id_set(&a.local_id, "z.example");
	conn_base(&b, 1);
	other = b;
	snprintf(other.name, sizeof(other.name), "other");
	id_set(&other.remote_id, "x.example");
	other.psk_local = secret_from("another key", 11);
	peers_up(&a, &other, NULL);
	assert_int_equal(ikev2_conn_add(net.p[1].e, &b), 0);
	/* IKE_AUTH { IDi z.example } --> <-- { N(AUTHENTICATION_FAILED) } */
	establish();
	advance(1);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 0);
	assert_int_equal(live(&net.p[1]), 0);
	ike_conn_clear(&other);
	conns_free(&a, &b);
}

static void test_conn_by_proposal(void **state)
{
	struct ike_conn a, b, other;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	other = b;
	snprintf(other.name, sizeof(other.name), "other");
	other.remote_id.type = IKE_ID_ANY;
	other.ike_props[0].encr[0] = ENCR_CHACHA20_POLY1305;
	other.ike_props[0].encr_bits[0] = 0;
	other.psk_local = secret_from("another key", 11);
	peers_up(&a, &other, NULL);
	assert_int_equal(ikev2_conn_add(net.p[1].e, &b), 0);
	/* "other" fits A's address but not its proposals; "to-A" does, and it
	 * stays chosen in IKE_AUTH ("other" would take any ID but not AES-GCM) */
	establish();
	assert_int_equal(live(&net.p[0]), 2);
	assert_string_equal(view(1).conn, "to-A");
	assert_mirrored();
	ike_conn_clear(&other);
	conns_free(&a, &b);
}

static void test_conn_add_del_live(void **state)
{
	struct ike_conn a, b, extra;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	peers_up(&a, &b, NULL);
	establish();
	/* connections come and go while SAs are up (daemon reload) */
	conn_base(&extra, 1);
	snprintf(extra.name, sizeof(extra.name), "extra");
	assert_int_equal(ikev2_conn_add(net.p[1].e, &extra), 0);
	assert_int_equal(ikev2_conn_add(net.p[1].e, &extra), -1); /* name taken */
	assert_int_equal(ikev2_conn_del(net.p[1].e, "extra"), 0);
	run();
	assert_int_equal(live(&net.p[1]), 2);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 1);
	/* removing "to-B" at A deletes its SAs: INFORMATIONAL { D(IKE) } --> <-- { } */
	assert_int_equal(ikev2_conn_del(net.p[0].e, "to-B"), 0);
	assert_int_equal(live(&net.p[0]), 0);
	run();
	advance(1);
	assert_int_equal(live(&net.p[1]), 0);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 0);
	assert_int_equal(net.p[1].downs, 1);
	assert_int_equal(net.p[0].downs, 0); /* the operator removed it */
	/* added back, it works again */
	assert_int_equal(ikev2_conn_add(net.p[0].e, &a), 0);
	establish();
	assert_int_equal(live(&net.p[0]), 2);
	assert_mirrored();
	ike_conn_clear(&extra);
	conns_free(&a, &b);
}

/* ---- what the errors say (issue 3: a refusal names its cause) ----
 * The engine's notices are captured from stderr. */

static int cap_fd = -1;
static FILE *cap_file;
static enum log_level cap_lvl;

static void log_capture_start(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	assert_non_null(cap_file);
	cap_fd = dup(2);
	assert_true(dup2(fileno(cap_file), 2) >= 0);
	cap_lvl = log_get_level();
	if (cap_lvl < LOG_LVL_NOTICE)
		log_set_level(LOG_LVL_NOTICE);
}

/* The captured text (caller frees); also echoed to the real stderr. */
static char *log_capture_stop(void)
{
	long n;
	char *t;

	fflush(stderr);
	dup2(cap_fd, 2);
	close(cap_fd);
	log_set_level(cap_lvl);
	n = ftell(cap_file);
	assert_true(n >= 0);
	t = calloc(1, (size_t)n + 1);
	assert_non_null(t);
	rewind(cap_file);
	assert_int_equal(fread(t, 1, (size_t)n, cap_file), (size_t)n);
	fclose(cap_file);
	if (getenv("V"))
		fputs(t, stderr);
	return t;
}

static void assert_logged(const char *text, const char *what)
{
	if (!strstr(text, what)) {
		print_error("not in the log: \"%s\"\n", what);
		fail();
	}
}

static void test_log_no_proposal(void **state)
{
	struct ike_conn a, b;
	char *t;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.ike_props[0].encr[0] = ENCR_CHACHA20_POLY1305;
	b.ike_props[0].encr_bits[0] = 0;
	peers_up(&a, &b, NULL);
	log_capture_start();
	establish();
	advance(1);
	t = log_capture_stop();
	/* both offers transform by transform, and what does not fit */
	assert_logged(t, "to-A: NO_PROPOSAL_CHOSEN: peer offered 1 proposals, we accept 1");
	assert_logged(t, "peer proposal 1 (proto 1): aes-gcm-16-256/prf-hmac-sha256/ecp256");
	assert_logged(t, "local proposal 1 (proto 1): chacha20-poly1305/prf-hmac-sha256/ecp256");
	assert_logged(t, "peer proposal 1 vs local proposal 1: no common encryption");
	assert_logged(t, "to-B: IKE_SA_INIT refused by peer: notify 14 (NO_PROPOSAL_CHOSEN): the "
			 "peer accepts none of the IKE proposals we offered");
	/* the initiator names what it offered (it never sees the peer's) */
	assert_logged(t, "local proposal 1 (proto 1): aes-gcm-16-256/prf-hmac-sha256/ecp256");
	free(t);
	conns_free(&a, &b);
}

static void test_log_psk_mismatch(void **state)
{
	struct ike_conn a, b;
	char *t;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	secret_free(b.psk_local);
	b.psk_local = secret_from("wrong horse", 11);
	snprintf(b.psk_remote_from, sizeof(b.psk_remote_from), "keyring KR peer A");
	peers_up(&a, &b, NULL);
	log_capture_start();
	establish();
	advance(1);
	t = log_capture_stop();
	/* the responder: which ID, which method, which key (by origin) */
	assert_logged(t, "to-A: AUTHENTICATION_FAILED: peer fqdn:a.example, method pre-shared key: "
			 "AUTH does not verify with the key of keyring KR peer A");
	/* the initiator: refused, as which ID */
	assert_logged(t, "to-B: AUTHENTICATION_FAILED: the peer refused our pre-shared key "
			 "authentication as fqdn:a.example");
	assert_null(strstr(t, "horse"));
	free(t);
	conns_free(&a, &b);
}

static void test_log_wrong_id(void **state)
{
	struct ike_conn a, b;
	char *t;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	id_set(&b.remote_id, "x.example");
	peers_up(&a, &b, NULL);
	log_capture_start();
	establish();
	advance(1);
	t = log_capture_stop();
	assert_logged(t, "to-A: AUTHENTICATION_FAILED: peer ID fqdn:a.example fits no connection "
			 "(considered: to-A (wants fqdn:x.example))");
	free(t);
	conns_free(&a, &b);
}

static void test_log_ts_unacceptable(void **state)
{
	struct ike_conn a, b;
	char *t;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.child.sel.n = 0;
	ts_add(&b.child.sel, "10.9.0.0/16", "10.8.0.0/16");
	peers_up(&a, &b, NULL);
	log_capture_start();
	establish();
	t = log_capture_stop();
	assert_logged(t, "to-A: TS_UNACCEPTABLE");
	assert_logged(t, "to-A:   peer proposed TSi 10.1.0.0/16; TSr 10.2.0.0/16\n");
	assert_logged(t, "to-A:   our selectors (local -> remote): 10.9.0.0/16 -> 10.8.0.0/16\n");
	assert_logged(t, "to-B: Child SA refused by peer: TS_UNACCEPTABLE: the peer's selectors");
	assert_logged(t, "to-B:   we proposed (local -> remote): 10.1.0.0/16 -> 10.2.0.0/16\n");
	free(t);
	conns_free(&a, &b);
}

/* RFC 7296 2.9: A asks for a child because of a packet (an acquire): the
 * packet's selector goes first in TSi and TSr, with its ports. B's answer
 * (here a refusal) logs what A proposed, in order. */
static void test_trigger_first(void **state)
{
	struct ike_conn a, b;
	struct flow f = {.proto = 17, .sport = 1234, .dport = 53};
	char *t;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.child.sel.n = 0;
	ts_add(&b.child.sel, "10.9.0.0/16", "10.8.0.0/16");
	peers_up(&a, &b, NULL);
	ip_addr_parse("10.1.5.5", &f.src);
	ip_addr_parse("10.2.7.7", &f.dst);
	log_capture_start();
	/* IKE_AUTH { ..., TSi (10.1.5.5 udp 1234, 10.1/16), TSr (10.2.7.7 udp 53, 10.2/16) } */
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, &f), 0);
	run();
	t = log_capture_stop();
	assert_logged(t, "to-A:   peer proposed TSi 10.1.5.5/32 proto 17 port 1234-1234, "
			 "10.1.0.0/16; TSr 10.2.7.7/32 proto 17 port 53-53, 10.2.0.0/16\n");
	free(t);
	conns_free(&a, &b);
}

/* B: "to-A" for 10.2.0.0/24 and "second" (reqid 8) for 10.2.7.0/24, both
 * for A's 10.1.0.0/16 (second_id: the peer ID "second" wants, NULL = A's);
 * A: one entry for 10.1/16 <-> 10.2/16. Both engines up; A's packets come
 * from 10.1.5.5 (f). */
static void two_entries_at_b(struct ike_conn *a, struct ike_conn *b, struct ike_conn *second,
			     struct flow *f, const char *second_id)
{
	conn_base(a, 0);
	conn_base(b, 1);
	b->child.sel.n = 0;
	ts_add(&b->child.sel, "10.2.0.0/24", "10.1.0.0/16");
	*second = *b;
	snprintf(second->name, sizeof(second->name), "second");
	second->psk_local = secret_from("correct horse battery", 21);
	second->child.sel.n = 0;
	second->child.reqid = 8;
	ts_add(&second->child.sel, "10.2.7.0/24", "10.1.0.0/16");
	if (second_id) { /* "second" wants another peer, with another key */
		secret_free(second->psk_local);
		second->psk_local = secret_from("another key", 11);
		id_set(&second->remote_id, second_id);
	}
	peers_up(a, b, NULL);
	assert_int_equal(ikev2_conn_add(net.p[1].e, second), 0);
	*f = (struct flow){.proto = 1};
	ip_addr_parse("10.1.5.5", &f->src);
}

/* Two crypto map entries at B for one peer (same ID): "to-A" protects
 * 10.2.0.0/24, "second" 10.2.7.0/24. A's ACL covers both; a packet to
 * 10.2.7.7 triggers the negotiation. B picks the entry whose ACL holds
 * the packet's selector (2.9), not the first entry in its configuration
 * (which would narrow the child to 10.2.0.0/24, without the packet). The
 * packet's own selector lies inside the narrowed pair: one selector. */
static void test_trigger_picks_entry(void **state)
{
	struct ike_conn a, b, second;
	struct flow f;
	char buf[TS_STRLEN];

	(void)state;
	two_entries_at_b(&a, &b, &second, &f, NULL);
	ip_addr_parse("10.2.7.7", &f.dst);
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, &f), 0);
	run();
	assert_string_equal(view(1).conn, "second");
	assert_int_equal(live(&net.p[0]), 2);
	assert_mirrored();
	assert_int_equal(net.p[0].sa[0].p.sel.n, 1);
	ts_str(&net.p[0].sa[0].p.sel.ts[0], buf, sizeof(buf));
	assert_string_equal(buf, "10.1.0.0/16 -> 10.2.7.0/24");
	assert_int_equal(net.p[1].sa[0].p.reqid, 8);
	ike_conn_clear(&second);
	conns_free(&a, &b);
}

/* The last live SA of a peer in one direction. */
static const struct inst *last_live(const struct peer *p, uint8_t dir)
{
	for (unsigned i = p->n_sa; i-- > 0;)
		if (!p->sa[i].deleted && p->sa[i].p.dir == dir)
			return &p->sa[i];
	return NULL;
}

/* A's data plane acquires for reqid 7 with a packet from f->src to dst;
 * the network runs until it is quiet. */
static void acquire_to(struct flow *f, const char *dst)
{
	ip_addr_parse(dst, &f->dst);
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, f), 0);
	run();
}

/* The selectors of peer k's newest live outbound SA are `want`. */
static void assert_out_sel(int k, const char *want)
{
	char buf[TS_STRLEN];

	ts_str(&last_live(&net.p[k], SA_DIR_OUT)->p.sel.ts[0], buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* A CREATE_CHILD_SA on an IKE SA set up for B's entry "to-A" asks for the
 * traffic of B's other entry for the same peer, "second" (strongSwan asks
 * for every child of a connection on one IKE SA). B answers with a child
 * of "second" (its reqid, its name, its selectors) instead of
 * TS_UNACCEPTABLE; a rekey keeps it in "second"; removing "second"
 * deletes it with a DELETE and leaves the IKE SA up. */
static void test_child_other_entry(void **state)
{
	struct ike_conn a, b, second;
	struct flow f;
	const struct inst *in;

	(void)state;
	two_entries_at_b(&a, &b, &second, &f, NULL);
	/* IKE_AUTH for a packet to 10.2.0.5: IKE SA and child of "to-A" */
	acquire_to(&f, "10.2.0.5");
	assert_string_equal(view(1).conn, "to-A");
	assert_int_equal(last_live(&net.p[1], SA_DIR_IN)->p.reqid, 7);
	/* A's child goes (INFORMATIONAL { D }); a packet to 10.2.7.7 asks again */
	ikev2_expire(net.p[0].e, last_live(&net.p[0], SA_DIR_IN)->p.spi, IPSEC_PROTO_ESP, true);
	run();
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(live(&net.p[1]), 0);
	/* CREATE_CHILD_SA { SA, Ni, TSi (10.1.5.5, 10.1/16), TSr (10.2.7.7, 10.2/16) } -->
	 * <-- { SA, Nr, TSi 10.1/16, TSr 10.2.7.0/24 } of "second" */
	acquire_to(&f, "10.2.7.7");
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_mirrored();
	assert_out_sel(0, "10.1.0.0/16 -> 10.2.7.0/24");
	in = last_live(&net.p[1], SA_DIR_IN);
	assert_int_equal(in->p.reqid, 8);
	assert_string_equal(in->p.name, "second");
	assert_string_equal(view(1).conn, "to-A"); /* the IKE SA stays the entry's it was */
	/* B rekeys it: the new pair is "second"'s too */
	assert_int_equal(ikev2_child_rekey(net.p[1].e, in->p.spi), 0);
	run();
	assert_int_equal(live(&net.p[1]), 2);
	assert_int_not_equal(last_live(&net.p[1], SA_DIR_IN)->p.spi, in->p.spi);
	assert_int_equal(last_live(&net.p[1], SA_DIR_IN)->p.reqid, 8);
	assert_int_equal(last_live(&net.p[1], SA_DIR_OUT)->p.reqid, 8);
	assert_mirrored();
	/* B's "second" removed: INFORMATIONAL { D(ESP) } -->, the IKE SA stays */
	assert_int_equal(ikev2_conn_del(net.p[1].e, "second"), 0);
	run();
	assert_int_equal(live(&net.p[0]), 0);
	assert_int_equal(live(&net.p[1]), 0);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 1);
	ike_conn_clear(&second);
	conns_free(&a, &b);
}

/* "second" fits the request but wants another peer ID: the child stays
 * with the IKE SA's entry, which narrows it to its own ACL (without the
 * packet: RFC 7296 2.9 lets it when its policy does not hold the first
 * selectors). */
static void test_child_other_entry_other_id(void **state)
{
	struct ike_conn a, b, second;
	struct flow f;

	(void)state;
	two_entries_at_b(&a, &b, &second, &f, "x.example");
	acquire_to(&f, "10.2.0.5");
	ikev2_expire(net.p[0].e, last_live(&net.p[0], SA_DIR_IN)->p.spi, IPSEC_PROTO_ESP, true);
	run();
	acquire_to(&f, "10.2.7.7");
	assert_int_equal(live(&net.p[1]), 2);
	assert_int_equal(last_live(&net.p[1], SA_DIR_IN)->p.reqid, 7);
	assert_string_equal(last_live(&net.p[1], SA_DIR_IN)->p.name, "to-A");
	assert_out_sel(0, "10.1.0.0/16 -> 10.2.0.0/24");
	ike_conn_clear(&second);
	conns_free(&a, &b);
}

/* A's ACL (10.1/16 -> 10.2/16) is narrowed by B to one entry's part per
 * child. A packet outside every child of A's policy (the data plane
 * acquires: xform_output found no SA holding its flow) asks for another
 * child on the same IKE SA, with the packet's selector first; a packet a
 * child holds asks for nothing; a child B narrows to what A already has is
 * deleted, and the next acquire waits V2_RETRY_MS. */
static void test_child_per_acquire(void **state)
{
	struct ike_conn a, b, second;
	struct flow f;
	unsigned sent;
	char *t;

	(void)state;
	two_entries_at_b(&a, &b, &second, &f, NULL);
	acquire_to(&f, "10.2.0.5");
	assert_int_equal(live(&net.p[0]), 2);
	/* 10.2.7.7: CREATE_CHILD_SA { TSi (10.1.5.5, 10.1/16), TSr (10.2.7.7, 10.2/16) } -->
	 * <-- { TSi 10.1/16, TSr 10.2.7.0/24 } ("second" at B) */
	acquire_to(&f, "10.2.7.7");
	assert_int_equal(live(&net.p[0]), 4);
	assert_int_equal(live(&net.p[1]), 4);
	assert_mirrored();
	assert_out_sel(0, "10.1.0.0/16 -> 10.2.7.0/24");
	assert_int_equal(last_live(&net.p[0], SA_DIR_OUT)->p.reqid, 7);
	assert_int_equal(last_live(&net.p[1], SA_DIR_OUT)->p.reqid, 8);
	/* 10.2.0.9: the first child holds it, nothing is sent */
	sent = net.p[0].sent;
	acquire_to(&f, "10.2.0.9");
	assert_int_equal(net.p[0].sent, sent);
	/* 10.2.9.9: B's entries hold no part of it; "to-A" narrows it to
	 * 10.2.0.0/24, which A has: A deletes the new pair */
	ip_addr_parse("10.2.9.9", &f.dst);
	log_capture_start();
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, &f), 0);
	run();
	t = log_capture_stop();
	assert_logged(t, "to-B: the peer narrowed the new Child SA to selectors another one holds");
	assert_logged(t, "to-B:   narrowed to (local -> remote): 10.1.0.0/16 -> 10.2.0.0/24\n");
	free(t);
	assert_int_equal(live(&net.p[0]), 4);
	assert_int_equal(live(&net.p[1]), 4);
	/* and not again at once */
	sent = net.p[0].sent;
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, &f), 0);
	run();
	assert_int_equal(net.p[0].sent, sent);
	net.now += 10001;
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, &f), 0);
	run();
	assert_int_equal(net.p[0].sent, sent + 2); /* asked again (and deleted again) */
	assert_int_equal(live(&net.p[0]), 4);
	ike_conn_clear(&second);
	conns_free(&a, &b);
}

/* B's IKE SA belongs to "to-A" and carries a child of "to-A" and one of
 * "second". "to-A" removed: the IKE SA goes on as "second"'s, "to-A"'s
 * child is deleted with a DELETE, "second"'s stays. */
static void test_child_other_entry_heir(void **state)
{
	struct ike_conn a, b, second;
	struct flow f;

	(void)state;
	two_entries_at_b(&a, &b, &second, &f, NULL);
	acquire_to(&f, "10.2.0.5");
	acquire_to(&f, "10.2.7.7");
	assert_int_equal(live(&net.p[1]), 4);
	assert_string_equal(view(1).conn, "to-A");
	/* INFORMATIONAL { D(ESP to-A's child) } --> */
	assert_int_equal(ikev2_conn_del(net.p[1].e, "to-A"), 0);
	run();
	assert_string_equal(view(1).conn, "second");
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 1);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_int_equal(last_live(&net.p[1], SA_DIR_IN)->p.reqid, 8);
	assert_mirrored();
	/* and it still works: B rekeys the child */
	assert_int_equal(ikev2_child_rekey(net.p[1].e, last_live(&net.p[1], SA_DIR_IN)->p.spi), 0);
	run();
	assert_int_equal(live(&net.p[1]), 2);
	assert_int_equal(last_live(&net.p[1], SA_DIR_OUT)->p.reqid, 8);
	assert_mirrored();
	ike_conn_clear(&second);
	conns_free(&a, &b);
}

/* two_entries_at_b, and A gets a second entry too, "a2" (reqid 9) for
 * 10.1/16 -> 10.2.7.0/24 with any peer ID; "to-B" keeps 10.1/16 ->
 * 10.2/16. b2_id: the local ID of B's "second" (NULL: B's). */
static void two_entries_each(struct ike_conn *a, struct ike_conn *a2, struct ike_conn *b,
			     struct ike_conn *second, struct flow *f, const char *b2_id)
{
	two_entries_at_b(a, b, second, f, NULL);
	if (b2_id) { /* B's "second" is a separate connection: its own ID */
		assert_int_equal(ikev2_conn_del(net.p[1].e, "second"), 0);
		id_set(&second->local_id, b2_id);
		assert_int_equal(ikev2_conn_add(net.p[1].e, second), 0);
	}
	*a2 = *a;
	snprintf(a2->name, sizeof(a2->name), "a2");
	a2->psk_local = secret_from("correct horse battery", 21);
	a2->remote_id.type = 0;
	a2->child.reqid = 9;
	a2->child.sel.n = 0;
	ts_add(&a2->child.sel, "10.1.0.0/16", "10.2.7.0/24");
	assert_int_equal(ikev2_conn_add(net.p[0].e, a2), 0);
}

static void two_entries_each_free(struct ike_conn *a, struct ike_conn *a2, struct ike_conn *b,
				  struct ike_conn *second)
{
	ike_conn_clear(a2);
	ike_conn_clear(second);
	conns_free(a, b);
}

/* One IKE SA on each side carrying a child of each entry; the newest is
 * "a2"'s (reqid 9 at A, "second"'s reqid 8 at B) for 10.2.7.0/24. */
static void assert_one_ike_sa_two_children(void)
{
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 1);
	assert_int_equal(live(&net.p[0]), 4);
	assert_int_equal(live(&net.p[1]), 4);
	assert_mirrored();
	assert_int_equal(last_live(&net.p[0], SA_DIR_OUT)->p.reqid, 9);
	assert_string_equal(last_live(&net.p[0], SA_DIR_OUT)->p.name, "a2");
	assert_int_equal(last_live(&net.p[1], SA_DIR_OUT)->p.reqid, 8);
	assert_out_sel(0, "10.1.0.0/16 -> 10.2.7.0/24");
}

/* A's two crypto map entries for one peer share one IKE SA, as IOS does:
 * a packet of "a2" finds "to-B"'s IKE SA up and asks for its child there
 * (CREATE_CHILD_SA), which B gives its entry "second". Removing "to-B"
 * leaves the IKE SA to "a2", whose child it carries. */
static void test_initiator_shares_ike_sa(void **state)
{
	struct ike_conn a, a2, b, second;
	struct flow f;
	unsigned sent;

	(void)state;
	two_entries_each(&a, &a2, &b, &second, &f, NULL);
	acquire_to(&f, "10.2.0.5");
	assert_int_equal(live(&net.p[0]), 2);
	/* CREATE_CHILD_SA { SA, Ni, TSi (10.1.5.5, 10.1/16), TSr (10.2.7.7, 10.2.7/24) } */
	ip_addr_parse("10.2.7.7", &f.dst);
	assert_int_equal(ikev2_acquire(net.p[0].e, 9, &f), 0);
	run();
	assert_one_ike_sa_two_children();
	/* A rekeys it: still "a2"'s */
	assert_int_equal(ikev2_child_rekey(net.p[0].e, last_live(&net.p[0], SA_DIR_IN)->p.spi), 0);
	run();
	assert_int_equal(live(&net.p[0]), 4);
	assert_int_equal(last_live(&net.p[0], SA_DIR_OUT)->p.reqid, 9);
	assert_mirrored();
	/* the IKE SA rekeyed (2.8): both children move to the new one, each
	 * with its entry; a packet of "a2" its child holds asks for nothing */
	assert_int_equal(ikev2_ike_rekey(net.p[0].e, "to-B"), 0);
	run();
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1);
	assert_int_equal(live(&net.p[0]), 4);
	sent = net.p[0].sent;
	assert_int_equal(ikev2_acquire(net.p[0].e, 9, &f), 0);
	run();
	assert_int_equal(net.p[0].sent, sent);
	/* "to-B" removed: its child goes, the IKE SA is "a2"'s now */
	assert_int_equal(ikev2_conn_del(net.p[0].e, "to-B"), 0);
	run();
	assert_string_equal(view(0).conn, "a2");
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1);
	assert_int_equal(live(&net.p[0]), 2);
	assert_int_equal(live(&net.p[1]), 2);
	assert_int_equal(last_live(&net.p[0], SA_DIR_OUT)->p.reqid, 9);
	assert_mirrored();
	two_entries_each_free(&a, &a2, &b, &second);
}

/* B keeps its two entries apart (another local ID for "second": as
 * strongSwan with two connections, it will not put "second"'s child on
 * "to-A"'s IKE SA, and answers TS_UNACCEPTABLE). A then gives "a2" an IKE
 * SA of its own (without INITIAL_CONTACT: the first one lives), and asks
 * on it from then on. */
static void test_share_refused_own_ike_sa(void **state)
{
	struct ike_conn a, a2, b, second;
	struct flow f;
	unsigned sent;
	char *t;

	(void)state;
	two_entries_each(&a, &a2, &b, &second, &f, "b2.example");
	acquire_to(&f, "10.2.0.5");
	log_capture_start();
	ip_addr_parse("10.2.7.7", &f.dst);
	assert_int_equal(ikev2_acquire(net.p[0].e, 9, &f), 0);
	run();
	t = log_capture_stop();
	assert_logged(t, "a2: Child SA refused by peer: TS_UNACCEPTABLE");
	assert_logged(t, "a2: the peer did not take this entry's Child SA on the IKE SA of to-B");
	assert_null(strstr(t, "INITIAL_CONTACT from the peer"));
	free(t);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 2);
	assert_int_equal(ikev2_sa_count(net.p[1].e), 2);
	assert_int_equal(live(&net.p[0]), 4);
	assert_int_equal(live(&net.p[1]), 4);
	assert_mirrored();
	assert_int_equal(last_live(&net.p[0], SA_DIR_OUT)->p.reqid, 9);
	assert_int_equal(last_live(&net.p[1], SA_DIR_OUT)->p.reqid, 8);
	/* a packet "a2"'s child holds asks for nothing */
	sent = net.p[0].sent;
	assert_int_equal(ikev2_acquire(net.p[0].e, 9, &f), 0);
	run();
	assert_int_equal(net.p[0].sent, sent);
	two_entries_each_free(&a, &a2, &b, &second);
}

/* Packets of both of A's entries arrive before any IKE SA is up (a gateway
 * starting): "a2" waits for "to-B"'s IKE SA, then asks for its child on
 * it. One IKE SA, a child of each entry. */
static void test_acquires_together_one_ike_sa(void **state)
{
	struct ike_conn a, a2, b, second;
	struct flow f, f2;

	(void)state;
	two_entries_each(&a, &a2, &b, &second, &f, NULL);
	f2 = f;
	ip_addr_parse("10.2.0.5", &f.dst);
	ip_addr_parse("10.2.7.7", &f2.dst);
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, &f), 0);
	assert_int_equal(ikev2_acquire(net.p[0].e, 9, &f2), 0);
	run();
	assert_one_ike_sa_two_children();
	two_entries_each_free(&a, &a2, &b, &second);
}

/* The IKE SA "a2" waited for never comes up (B silent): once it is given
 * up, "a2" starts one of its own. */
static void test_pending_acquire_after_give_up(void **state)
{
	struct ike_conn a, a2, b, second;
	struct flow f, f2;
	unsigned sent;

	(void)state;
	two_entries_each(&a, &a2, &b, &second, &f, NULL);
	f2 = f;
	ip_addr_parse("10.2.0.5", &f.dst);
	ip_addr_parse("10.2.7.7", &f2.dst);
	net.blackhole_b = true;
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, &f), 0);
	assert_int_equal(ikev2_acquire(net.p[0].e, 9, &f2), 0);
	run();
	assert_int_equal(ikev2_sa_count(net.p[0].e), 1); /* "a2" waits */
	sent = net.p[0].sent;
	advance(5 * 60 * 1000);
	/* "to-B"'s gave up after 6 sends; "a2"'s started then and gave up too */
	assert_int_equal(net.p[0].sent, sent + 5 + 6);
	assert_int_equal(ikev2_sa_count(net.p[0].e), 0);
	two_entries_each_free(&a, &a2, &b, &second);
}

/* A tunnel interface never shares: its child (any <-> any at a real VTI)
 * is told apart from another entry's only by its IKE SA. "a2" as a VTI
 * opens an IKE SA of its own at once, no CREATE_CHILD_SA tried. */
static void test_vti_own_ike_sa(void **state)
{
	struct ike_conn a, a2, b, second;
	struct flow f;

	(void)state;
	two_entries_each(&a, &a2, &b, &second, &f, NULL);
	assert_int_equal(ikev2_conn_del(net.p[0].e, "a2"), 0);
	a2.route_based = true;
	assert_int_equal(ikev2_conn_add(net.p[0].e, &a2), 0);
	acquire_to(&f, "10.2.0.5");
	ip_addr_parse("10.2.7.7", &f.dst);
	assert_int_equal(ikev2_acquire(net.p[0].e, 9, &f), 0);
	run();
	assert_int_equal(ikev2_sa_count(net.p[0].e), 2);
	assert_int_equal(live(&net.p[0]), 4);
	assert_int_equal(last_live(&net.p[0], SA_DIR_OUT)->p.reqid, 9);
	assert_int_equal(last_live(&net.p[1], SA_DIR_OUT)->p.reqid, 8);
	assert_mirrored();
	two_entries_each_free(&a, &a2, &b, &second);
}

/* `set security-association level per-host` on A: each host pair gets
 * its own child (the packet's addresses, the ACL line's protocol and
 * ports); another packet of a host pair that has one asks for nothing. */
static void test_per_host(void **state)
{
	struct ike_conn a, b;
	struct flow f = {.proto = 6, .sport = 40000, .dport = 22};
	unsigned sent;

	(void)state;
	conn_base(&a, 0);
	conn_base(&b, 1);
	a.child.per_host = true;
	peers_up(&a, &b, NULL);
	ip_addr_parse("10.1.5.5", &f.src);
	ip_addr_parse("10.2.0.5", &f.dst);
	/* IKE_AUTH { ..., TSi 10.1.5.5, TSr 10.2.0.5 } */
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, &f), 0);
	run();
	assert_int_equal(live(&net.p[0]), 2);
	assert_out_sel(0, "10.1.5.5/32 -> 10.2.0.5/32");
	/* another host: CREATE_CHILD_SA { TSi 10.1.5.6, TSr 10.2.0.5 } */
	ip_addr_parse("10.1.5.6", &f.src);
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, &f), 0);
	run();
	assert_int_equal(live(&net.p[0]), 4);
	assert_int_equal(live(&net.p[1]), 4);
	assert_mirrored();
	assert_out_sel(0, "10.1.5.6/32 -> 10.2.0.5/32");
	/* the same host pair, another port: it has its child */
	sent = net.p[0].sent;
	f.sport = 40001;
	assert_int_equal(ikev2_acquire(net.p[0].e, 7, &f), 0);
	run();
	assert_int_equal(net.p[0].sent, sent);
	conns_free(&a, &b);
}

/* show crypto ikev2 sa: the IDs each end sent and authenticated. */
struct id_view {
	char local[IKE_ID_STRLEN], remote[IKE_ID_STRLEN];
};

static void id_view_fn(const struct ikev2_sa_info *i, void *arg)
{
	struct id_view *v = arg;

	ike_id_str(&i->local_id, v->local, sizeof(v->local));
	if (i->remote_id.type)
		ike_id_str(&i->remote_id, v->remote, sizeof(v->remote));
}

static void test_ids_shown(void **state)
{
	struct ike_conn a, b;
	struct id_view va, vb;
	char s[IKE_ID_STRLEN];
	struct ike_id k = {.type = IKE_ID_KEY_ID, .len = 3, .data = {'k', '-', '1'}};

	(void)state;
	memset(&va, 0, sizeof(va));
	memset(&vb, 0, sizeof(vb));
	conn_base(&a, 0);
	conn_base(&b, 1);
	b.local_id.type = 0; /* B sends its address */
	a.remote_id.type = 0;
	peers_up(&a, &b, NULL);
	establish();
	ikev2_foreach_sa(net.p[0].e, id_view_fn, &va);
	ikev2_foreach_sa(net.p[1].e, id_view_fn, &vb);
	assert_string_equal(va.local, "fqdn:a.example");
	assert_string_equal(vb.remote, "fqdn:a.example");
	assert_string_equal(va.remote, vb.local);
	assert_memory_equal(vb.local, "ipv4:", 5);
	/* KEY_ID: printable as text, otherwise hex */
	assert_string_equal(ike_id_str(&k, s, sizeof(s)), "key-id:k-1");
	k.data[1] = 0;
	assert_string_equal(ike_id_str(&k, s, sizeof(s)), "key-id:0x6b0031");
	conns_free(&a, &b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_establish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proposals_invalid_ke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_psk_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_proposal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_no_proposal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_child_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_narrowing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_selectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ts_unacceptable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_give_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initial_contact_spares_unauthenticated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_initial_contact_beside_another_sa, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_half_open_does_not_block_initiation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_child_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_rekey_mbb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_rekey_no_mbb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spi_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_collision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_after_peer_rekeyed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_collision_delete_first_a, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_collision_delete_first_b, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_ike_with_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpd_death, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpd_on_demand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpd_retry_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nat_port_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_esn_ipcomp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ike_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ike_rekey_by_responder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ike_rekey_lifetime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ike_rekey_collision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ike_collision_delete_first_a, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ike_collision_delete_first_b, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ike_hard_lifetime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_lifetime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_hard_lifetime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frag_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frag_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frag_forged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frag_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nat_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_keepalive_without_nat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_by_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_by_id_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_by_proposal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_add_del_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_no_proposal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_psk_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_wrong_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_ts_unacceptable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigger_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigger_picks_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_other_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_other_entry_other_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_per_acquire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_other_entry_heir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initiator_shares_ike_sa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_share_refused_own_ike_sa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vti_own_ike_sa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquires_together_one_ike_sa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_acquire_after_give_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_shown, setup, teardown),
	};

	log_setup("test", true, false, getenv("V") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
