/* Unit tests for the packet transforms (ESP, AH, IPComp, UDP encap) over a
 * real SAD: known answers from draft-mcgrew-gcm-test-01 (parsed from
 * ../shared/vectors), round trips over every algorithm, mode and address
 * family, and every drop reason the transforms own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <urcu.h>

#include "crypto/alg.h"
#include "crypto/cipher.h"
#include "dataplane/dp.h"
#include "dataplane/xform.h"
#include "dataplane/xform_int.h"
#include "ipsec/sad.h"
#include "lib/cursor.h"
#include "lib/log.h"
#include "lib/secret.h"

#define REQID 7
#define SPI_ESP 0x1001
#define SPI_AH 0x2002
#define CPI 0x3003

struct env {
	struct sad *out, *in;
	struct xform_scratch *s;
	struct pkt p;
	uint8_t *buf;
};

/* One SA pair's parameters. */
struct sacfg {
	uint8_t proto, mode;
	uint16_t encr, key_bits, integ;
	bool esn;
	int af_outer;
	uint16_t encap; /* UDP port, 0 = native */
	uint32_t spi;
	int key_seed;   /* differs between the two ends to simulate a wrong key */
	struct ts_list sel;
};

static struct env E;

static int setup(void **state)
{
	(void)state;
	log_setup("test", true, false, LOG_LVL_WARN);
	rcu_register_thread();
	E.out = sad_new(1);
	E.in = sad_new(1);
	E.s = xform_scratch_new();
	E.buf = malloc(PKT_BUF_SIZE);
	assert_non_null(E.out);
	assert_non_null(E.in);
	assert_non_null(E.s);
	E.p.buf = E.buf;
	E.p.cap = PKT_BUF_SIZE;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sad_free(E.out);
	sad_free(E.in);
	xform_scratch_free(E.s);
	free(E.buf);
	rcu_unregister_thread();
	return 0;
}

static void reset_sads(void)
{
	sad_flush(E.out);
	sad_flush(E.in);
}

static struct secret *key_make(size_t len, int seed)
{
	struct secret *k = secret_new(len ? len : 1);

	assert_non_null(k);
	k->len = len;
	for (size_t i = 0; i < len; i++)
		k->p[i] = (uint8_t)(i * 7 + (size_t)seed * 13 + 1);
	return k;
}

static void addr(struct ip_addr *a, const char *s)
{
	assert_true(ip_addr_parse(s, a));
}

static int install(struct sad *sad, const struct sacfg *c, uint8_t dir)
{
	struct sa_params p;
	struct secret *ek = NULL, *ik = NULL;
	const struct encr_alg *ea = encr_alg_find(c->encr);
	const struct integ_alg *ia = integ_alg_find(c->integ);
	int r;

	memset(&p, 0, sizeof(p));
	p.spi = c->spi;
	p.proto = c->proto;
	p.dir = dir;
	p.mode = c->mode;
	if (c->af_outer == 6) {
		addr(&p.src, dir == SA_DIR_OUT ? "2001:db8::1" : "2001:db8::2");
		addr(&p.dst, dir == SA_DIR_OUT ? "2001:db8::2" : "2001:db8::1");
	} else {
		addr(&p.src, dir == SA_DIR_OUT ? "192.0.2.1" : "192.0.2.2");
		addr(&p.dst, dir == SA_DIR_OUT ? "192.0.2.2" : "192.0.2.1");
	}
	p.encap_sport = c->encap;
	p.encap_dport = c->encap;
	p.encr_id = c->proto == IPSEC_PROTO_ESP ? c->encr : 0;
	p.encr_key_bits = c->key_bits;
	if (ea && c->proto == IPSEC_PROTO_ESP) {
		uint16_t kb = c->key_bits ? c->key_bits : encr_key_bits_default(ea);
		ek = key_make(encr_keymat_len(ea, kb), c->key_seed);
		p.encr_key = ek;
		p.encr_key_bits = kb;
	}
	p.integ_id = c->proto == IPSEC_PROTO_COMP ? 0 : c->integ;
	if (ia && c->proto != IPSEC_PROTO_COMP) {
		ik = key_make(ia->key_len, c->key_seed + 100);
		p.integ_key = ik;
	}
	p.esn = c->esn;
	p.replay_window = dir == SA_DIR_IN && c->proto != IPSEC_PROTO_COMP ? 64 : 0;
	p.reqid = REQID;
	p.sel = c->sel;
	snprintf(p.name, sizeof(p.name), "test %u", c->spi);
	r = sad_install(sad, &p);
	secret_free(ek);
	secret_free(ik);
	return r;
}

static void install_pair(const struct sacfg *c)
{
	assert_int_equal(install(E.out, c, SA_DIR_OUT), 0);
	assert_int_equal(install(E.in, c, SA_DIR_IN), 0);
}

/* ---- clear packets ----------------------------------------------------- */

static uint16_t csum(const uint8_t *d, size_t n)
{
	return ip_csum(d, n, 0);
}

/* A UDP packet 10.1.0.1:1000 -> 10.2.0.1:2000 (or 2001:db8:1::1 ->
 * 2001:db8:2::1) with plen payload bytes: compressible text or random. */
static size_t inner_make(uint8_t *d, int af, size_t plen, bool random)
{
	size_t hl = af == 4 ? IPV4_HDR_LEN : IPV6_HDR_LEN, len = hl + 8 + plen;
	uint8_t *u = d + hl;

	memset(d, 0, hl + 8);
	if (af == 4) {
		d[0] = 0x45;
		d[1] = 0x28;
		put_be16(d + 2, (uint16_t)len);
		put_be16(d + 4, 0x1234);
		d[6] = 0x40;
		d[8] = 63;
		d[9] = 17;
		inet_pton(AF_INET, "10.1.0.1", d + 12);
		inet_pton(AF_INET, "10.2.0.1", d + 16);
		put_be16(d + 10, csum(d, 20));
	} else {
		d[0] = 0x60;
		d[1] = 0x01;
		d[3] = 0x05;
		put_be16(d + 4, (uint16_t)(len - 40));
		d[6] = 17;
		d[7] = 63;
		inet_pton(AF_INET6, "2001:db8:1::1", d + 8);
		inet_pton(AF_INET6, "2001:db8:2::1", d + 24);
	}
	put_be16(u, 1000);
	put_be16(u + 2, 2000);
	put_be16(u + 4, (uint16_t)(8 + plen));
	for (size_t i = 0; i < plen; i++)
		u[8 + i] = random ? (uint8_t)rand() : (uint8_t)("esprit "[i % 7]);
	return len;
}

static void pkt_load(const uint8_t *d, size_t len)
{
	E.p.off = PKT_HEADROOM;
	E.p.len = len;
	memcpy(pkt_data(&E.p), d, len);
}

static enum dp_drop out(const struct sacfg *c, const uint8_t *in, size_t len,
			struct xform_out *o)
{
	struct policy pol = {.reqid = REQID, .action = POLICY_PROTECT, .mode = c->mode};
	enum dp_drop r;

	pkt_load(in, len);
	rcu_read_lock();
	r = xform_output(E.out, &pol, NULL, 0, E.s, &E.p, o);
	xform_release(E.s); /* as a worker does once the packet is sent */
	rcu_read_unlock();
	return r;
}

/* Feed (d, len) to xform_input, as native or via UDP as o says. */
static enum dp_drop in(const uint8_t *d, size_t len, const struct xform_out *o, struct sa **sa)
{
	struct xform_in xi = {0};
	enum dp_drop r;

	if (o && o->udp) {
		xi.udp = true;
		xi.src = o->src;
		xi.dst = o->dst;
		xi.sport = o->sport;
		xi.dport = o->dport;
		d += o->udp_payload_off;
		len -= o->udp_payload_off;
	}
	pkt_load(d, len);
	rcu_read_lock();
	r = xform_input(E.in, 0, E.s, &E.p, &xi, sa);
	rcu_read_unlock();
	return r;
}

static struct sa *sa_in(uint32_t spi, uint8_t proto)
{
	struct sa *sa;

	rcu_read_lock();
	sa = sad_lookup_in(E.in, spi, proto);
	rcu_read_unlock();
	return sa; /* the SAD outlives the test: no RCU grace period passes */
}

static struct sa *sa_out(uint8_t proto)
{
	struct sa *sa;

	rcu_read_lock();
	sa = sad_lookup_out(E.out, REQID, proto);
	rcu_read_unlock();
	return sa;
}

/* ---- round trips ------------------------------------------------------- */

struct algs {
	uint16_t encr, key_bits, integ;
};

static const struct algs esp_algs[] = {
	{ENCR_AES_CBC, 128, AUTH_HMAC_SHA1_96},
	{ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_256_128},
	{ENCR_AES_CBC, 192, AUTH_HMAC_SHA2_384_192},
	{ENCR_3DES, 0, AUTH_HMAC_SHA2_512_256},
	{ENCR_AES_CTR, 128, AUTH_AES_XCBC_96},
	{ENCR_AES_CTR, 256, AUTH_AES_CMAC_96},
	{ENCR_AES_CBC, 128, AUTH_HMAC_MD5_96},
	{ENCR_AES_GCM_16, 128, 0},
	{ENCR_AES_GCM_16, 256, 0},
	{ENCR_AES_GCM_12, 192, 0},
	{ENCR_AES_GCM_8, 128, 0},
	{ENCR_NULL_AUTH_AES_GMAC, 128, 0},
	{ENCR_CHACHA20_POLY1305, 0, 0},
	{ENCR_NULL, 0, AUTH_HMAC_SHA2_256_128},
	{ENCR_AES_CBC, 128, 0}, /* encryption without integrity */
};

/* Transport mode over UDP: the receiver rebuilds the IP header from the
 * socket's addresses (TTL, TOS, ID are not carried) and recomputes the
 * UDP checksum (RFC 3948 3.1.2). Addresses, protocol and payload match. */
static void udp_transport_check(const uint8_t *got, const uint8_t *want, size_t len, int af)
{
	size_t hl = af == 4 ? 20 : 40, a = af == 4 ? 12 : 8;
	uint32_t sum = 0;

	assert_int_equal(got[0] >> 4, af);
	assert_int_equal(got[af == 4 ? 9 : 6], want[af == 4 ? 9 : 6]);
	assert_memory_equal(got + a, want + a, af == 4 ? 8 : 32);
	assert_memory_equal(got + hl, want + hl, 6);                /* UDP ports, length */
	assert_memory_equal(got + hl + 8, want + hl + 8, len - hl - 8);
	for (size_t i = a; i < hl; i += 2)
		sum += get_be16(got + i);
	sum += (uint32_t)(len - hl) + 17;
	assert_int_equal(ip_csum(got + hl, len - hl, sum), 0);
	if (af == 4)
		assert_int_equal(ip_csum(got, 20, 0), 0);
}

static void roundtrip(const struct sacfg *c, int af_inner, size_t plen, bool random)
{
	uint8_t clear[2048], wire[4096];
	struct xform_out o;
	struct sa *sa = NULL;
	size_t len = inner_make(clear, af_inner, plen, random), wlen;
	enum dp_drop r;

	r = out(c, clear, len, &o);
	if (r != DROP_NONE)
		fail_msg("output encr %u integ %u mode %u af %d/%d: %s", c->encr, c->integ, c->mode,
			 af_inner, c->af_outer, dp_drop_name(r));
	wlen = E.p.len;
	assert_true(wlen < sizeof(wire));
	memcpy(wire, pkt_data(&E.p), wlen);
	assert_int_equal(wire[0] >> 4, c->mode == IPSEC_MODE_TUNNEL ? c->af_outer : af_inner);
	if (wire[0] >> 4 == 4)
		assert_int_equal(ip_csum(wire, 20, 0), 0);
	r = in(wire, wlen, &o, &sa);
	if (r != DROP_NONE)
		fail_msg("input encr %u integ %u mode %u af %d/%d esn %d: %s", c->encr, c->integ,
			 c->mode, af_inner, c->af_outer, c->esn, dp_drop_name(r));
	assert_non_null(sa);
	assert_int_equal(E.p.len, len);
	if (o.udp && c->mode == IPSEC_MODE_TRANSPORT)
		udp_transport_check(pkt_data(&E.p), clear, len, af_inner);
	else
		assert_memory_equal(pkt_data(&E.p), clear, len);
}

static void test_esp_roundtrip_all(void **state)
{
	(void)state;
	for (size_t a = 0; a < sizeof(esp_algs) / sizeof(esp_algs[0]); a++) {
		for (int mode = 0; mode < 2; mode++) {
			for (int esn = 0; esn < 2; esn++) {
				for (int ai = 4; ai <= 6; ai += 2) {
					for (int ao = 4; ao <= 6; ao += 2) {
						struct sacfg c = {.proto = IPSEC_PROTO_ESP,
								  .mode = (uint8_t)mode,
								  .encr = esp_algs[a].encr,
								  .key_bits = esp_algs[a].key_bits,
								  .integ = esp_algs[a].integ,
								  .esn = esn,
								  .af_outer = ao,
								  .spi = SPI_ESP};
						if (mode == IPSEC_MODE_TRANSPORT && ai != ao)
							continue;
						reset_sads();
						install_pair(&c);
						for (size_t n = 0; n < 40; n += 13)
							roundtrip(&c, ai, n, false);
						roundtrip(&c, ai, 1200, true);
					}
				}
			}
		}
	}
}

static void test_esp_counters(void **state)
{
	(void)state;
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128,
			  .af_outer = 4, .spi = SPI_ESP};
	struct sa_stats st;

	reset_sads();
	install_pair(&c);
	roundtrip(&c, 4, 100, false);
	roundtrip(&c, 4, 100, false);
	sa_stats_sum(sa_out(IPSEC_PROTO_ESP), &st);
	assert_int_equal(st.packets, 2);
	sa_stats_sum(sa_in(SPI_ESP, IPSEC_PROTO_ESP), &st);
	assert_int_equal(st.packets, 2);
	assert_true(st.bytes >= 2 * 128);
}

/* One worker at a time takes sequence numbers of an outbound SA and sends
 * (xform.h): another worker's xform_output answers XFORM_SA_BUSY and
 * leaves the packet as it was until the holder's xform_release; a waiting
 * worker gets the turn when the holder lets go, and the holder then waits
 * behind it. */
static void *turn_waiter(void *arg)
{
	xform_wait_turn(arg, 1);
	return NULL;
}

static void test_send_turn(void **state)
{
	(void)state;
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128,
			  .af_outer = 4, .spi = SPI_ESP, .mode = IPSEC_MODE_TUNNEL};
	struct policy pol = {.reqid = REQID, .action = POLICY_PROTECT, .mode = c.mode};
	struct sad *out2 = sad_new(2);
	struct xform_scratch *s0 = xform_scratch_new(), *s1 = xform_scratch_new();
	uint8_t clear[256];
	size_t len = inner_make(clear, 4, 50, false);
	struct xform_out o;
	struct sa *sa;
	pthread_t t;

	assert_non_null(out2);
	assert_int_equal(install(out2, &c, SA_DIR_OUT), 0);
	rcu_read_lock();
	sa = sad_lookup_out(out2, REQID, IPSEC_PROTO_ESP);
	pkt_load(clear, len);
	assert_int_equal(xform_output(out2, &pol, NULL, 0, s0, &E.p, &o), DROP_NONE);
	pkt_load(clear, len);
	assert_int_equal(xform_output(out2, &pol, NULL, 1, s1, &E.p, &o), XFORM_SA_BUSY);
	assert_int_equal(E.p.len, len);
	assert_memory_equal(pkt_data(&E.p), clear, len);
	assert_int_equal(sa->seq_out, 1); /* no sequence number taken */
	assert_int_equal(xform_output(out2, &pol, NULL, 0, s0, &E.p, &o), DROP_NONE);
	/* worker 1 waits; worker 0's release lets it in */
	assert_int_equal(pthread_create(&t, NULL, turn_waiter, s1), 0);
	usleep(20000);
	assert_int_equal(sa->tx_holder, 1);
	xform_release(s0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(sa->tx_holder, 2);
	pkt_load(clear, len);
	assert_int_equal(xform_output(out2, &pol, NULL, 1, s1, &E.p, &o), DROP_NONE);
	pkt_load(clear, len);
	assert_int_equal(xform_output(out2, &pol, NULL, 0, s0, &E.p, &o), XFORM_SA_BUSY);
	xform_release(s1);
	assert_int_equal(sa->tx_holder, 0);
	assert_int_equal(xform_output(out2, &pol, NULL, 0, s0, &E.p, &o), DROP_NONE);
	assert_int_equal(sa->seq_out, 4);
	xform_release(s0);
	rcu_read_unlock();
	xform_scratch_free(s0);
	xform_scratch_free(s1);
	sad_free(out2);
}

/* The sequence number is the IV for counter and AEAD modes: check it is
 * on the wire, and that CBC IVs differ between packets. */
static void test_esp_iv(void **state)
{
	(void)state;
	uint8_t clear[256], w1[512];
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128,
			  .af_outer = 4, .spi = SPI_ESP, .mode = IPSEC_MODE_TUNNEL};
	struct xform_out o;
	size_t len = inner_make(clear, 4, 50, false);
	uint8_t *e;

	reset_sads();
	install_pair(&c);
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	e = pkt_data(&E.p) + 20;
	assert_int_equal(get_be32(e), SPI_ESP);
	assert_int_equal(get_be32(e + 4), 2);
	assert_int_equal(get_be32(e + 8), 0);
	assert_int_equal(get_be32(e + 12), 2);
	assert_int_equal(pkt_data(&E.p)[9], IPPROTO_NUM_ESP);
	assert_int_equal(pkt_data(&E.p)[8], OUTER_TTL);
	assert_int_equal(pkt_data(&E.p)[6] & 0x40, 0x40); /* DF copied */

	c.encr = ENCR_AES_CBC;
	reset_sads();
	install_pair(&c);
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	memcpy(w1, pkt_data(&E.p), E.p.len);
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	assert_memory_not_equal(w1 + 28, pkt_data(&E.p) + 28, 16);
}

/* ---- drops -------------------------------------------------------------- */

static uint64_t drops_in(uint32_t spi, uint8_t proto, enum dp_drop r)
{
	struct sa_stats st;

	sa_stats_sum(sa_in(spi, proto), &st);
	return st.drops[r];
}

static void test_esp_wrong_key(void **state)
{
	(void)state;
	const struct algs tries[] = {{ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128},
				     {ENCR_AES_GCM_16, 256, 0},
				     {ENCR_CHACHA20_POLY1305, 0, 0},
				     {ENCR_NULL_AUTH_AES_GMAC, 128, 0}};
	uint8_t clear[256];
	size_t len = inner_make(clear, 4, 64, false);

	for (size_t i = 0; i < 4; i++) {
		struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = tries[i].encr,
				  .key_bits = tries[i].key_bits, .integ = tries[i].integ,
				  .af_outer = 4, .spi = SPI_ESP};
		struct xform_out o;
		struct sa *sa = NULL;

		reset_sads();
		assert_int_equal(install(E.out, &c, SA_DIR_OUT), 0);
		c.key_seed = 1;
		assert_int_equal(install(E.in, &c, SA_DIR_IN), 0);
		assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
		uint8_t wire[512];
		size_t wlen = E.p.len;
		memcpy(wire, pkt_data(&E.p), wlen);
		assert_int_equal(in(wire, wlen, &o, &sa), DROP_ICV);
		assert_ptr_equal(sa, sa_in(SPI_ESP, IPSEC_PROTO_ESP));
		assert_int_equal(drops_in(SPI_ESP, IPSEC_PROTO_ESP, DROP_ICV), 1);
	}
}

static void test_esp_replay(void **state)
{
	(void)state;
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_CBC, .key_bits = 128,
			  .integ = AUTH_HMAC_SHA1_96, .af_outer = 6, .spi = SPI_ESP};
	uint8_t clear[256], wire[512];
	struct xform_out o;
	struct sa *sa;
	size_t len = inner_make(clear, 4, 64, false), wlen;

	reset_sads();
	install_pair(&c);
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	wlen = E.p.len;
	memcpy(wire, pkt_data(&E.p), wlen);
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_NONE);
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_REPLAY);
	assert_int_equal(drops_in(SPI_ESP, IPSEC_PROTO_ESP, DROP_REPLAY), 1);
}

static void test_esp_unknown_spi(void **state)
{
	(void)state;
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128,
			  .af_outer = 4, .spi = SPI_ESP};
	uint8_t clear[256], wire[512];
	struct xform_out o;
	struct sa *sa = (struct sa *)1;
	size_t len = inner_make(clear, 4, 64, false), wlen;

	reset_sads();
	install_pair(&c);
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	wlen = E.p.len;
	memcpy(wire, pkt_data(&E.p), wlen);
	put_be32(wire + 20, 0xdead);
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_NO_SA);
	assert_null(sa);
}

/* Every truncation of valid packets is dropped, never crashes. */
static void truncate_all(const struct sacfg *c, int af)
{
	uint8_t clear[512], wire[1024];
	struct xform_out o;
	struct sa *sa;
	size_t len = inner_make(clear, af, 150, false), wlen;

	reset_sads();
	install_pair(c);
	assert_int_equal(out(c, clear, len, &o), DROP_NONE);
	wlen = E.p.len;
	memcpy(wire, pkt_data(&E.p), wlen);
	for (size_t n = o.udp ? o.udp_payload_off : 0; n < wlen; n++) {
		enum dp_drop r = in(wire, n, &o, &sa);
		if (r == DROP_NONE)
			fail_msg("truncated to %zu of %zu accepted", n, wlen);
		assert_true(r == DROP_MALFORMED || r == DROP_ICV || r == DROP_NO_SA ||
			    r == DROP_BAD_PAD);
	}
	/* and the whole packet still goes through afterwards */
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_NONE);
}

static void test_truncated(void **state)
{
	(void)state;
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_CBC, .key_bits = 128,
			  .integ = AUTH_HMAC_SHA2_256_128, .af_outer = 4, .spi = SPI_ESP};

	truncate_all(&c, 4);
	c.af_outer = 6;
	truncate_all(&c, 6);
	c.encr = ENCR_AES_GCM_16;
	c.integ = 0;
	truncate_all(&c, 4);
	c.encap = 4500;
	truncate_all(&c, 4);
	c.encap = 0;
	c.proto = IPSEC_PROTO_AH;
	c.integ = AUTH_HMAC_SHA1_96;
	c.spi = SPI_AH;
	truncate_all(&c, 6);
	c.af_outer = 4;
	truncate_all(&c, 4);
}

/* Found by fuzz_dataplane_esp: IPv6 extension headers reaching past the
 * payload length made the protected part's length wrap around. */
static void test_v6_ext_past_length(void **state)
{
	(void)state;
	uint8_t d[128] = {0x60, 0, 0, 0, 0, 8, IPPROTO_NUM_HOPOPTS, 64};
	struct sa *sa;
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_CBC, .key_bits = 128,
			  .integ = AUTH_HMAC_SHA2_256_128, .af_outer = 6, .spi = SPI_ESP};

	reset_sads();
	install_pair(&c);
	d[40] = IPPROTO_NUM_ESP; /* hop-by-hop of 16 bytes, plen says 8 */
	d[41] = 1;
	put_be32(d + 56, SPI_ESP);
	put_be32(d + 60, 1);
	assert_int_equal(in(d, sizeof(d), NULL, &sa), DROP_MALFORMED);
	put_be16(d + 4, 88); /* consistent: goes on to the ICV */
	assert_int_equal(in(d, sizeof(d), NULL, &sa), DROP_ICV);
}

/* ESP NULL with HMAC-SHA256: the trailer is in the clear, so the test can
 * corrupt the padding and compute a valid ICV over it with the key. */
static void reseal(uint8_t *wire, size_t wlen)
{
	struct secret *k = key_make(32, 100);
	struct mac *m = mac_new(AUTH_HMAC_SHA2_256_128, k->p, k->len);
	struct aad pc = {.p = {wire + 20}, .len = {wlen - 20 - 16}, .n = 1};

	assert_non_null(m);
	assert_int_equal(mac_compute(m, &pc, wire + wlen - 16), 0);
	mac_free(m);
	secret_free(k);
}

static void test_bad_padding(void **state)
{
	(void)state;
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_NULL,
			  .integ = AUTH_HMAC_SHA2_256_128, .af_outer = 4, .spi = SPI_ESP};
	uint8_t clear[256], wire[512];
	struct xform_out o;
	struct sa *sa;
	size_t len = inner_make(clear, 4, 33, false), wlen; /* 61 + 2 -> 1 pad byte */

	reset_sads();
	install_pair(&c);
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	wlen = E.p.len;
	memcpy(wire, pkt_data(&E.p), wlen);
	assert_int_equal(wire[wlen - 16 - 2], 1); /* pad length */
	assert_int_equal(wire[wlen - 16 - 3], 1); /* pad byte 1 */
	assert_int_equal(wire[wlen - 16 - 1], IPPROTO_NUM_IPIP);
	wire[wlen - 16 - 3] = 9;
	reseal(wire, wlen);
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_BAD_PAD);
	/* pad length beyond the payload, in a new packet (new number) */
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	memcpy(wire, pkt_data(&E.p), wlen);
	wire[wlen - 16 - 2] = 200;
	reseal(wire, wlen);
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_BAD_PAD);
	assert_int_equal(drops_in(SPI_ESP, IPSEC_PROTO_ESP, DROP_BAD_PAD), 2);
	/* the resealing itself is right: an untouched packet passes */
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	memcpy(wire, pkt_data(&E.p), wlen);
	reseal(wire, wlen);
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_NONE);
}

static void test_policy(void **state)
{
	(void)state;
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128,
			  .af_outer = 4, .spi = SPI_ESP};
	uint8_t clear[256], wire[512];
	struct xform_out o;
	struct sa *sa;
	size_t len = inner_make(clear, 4, 64, false), wlen;

	/* Selectors local -> remote as the receiver writes them: the packet
	 * 10.1.0.1 -> 10.2.0.1 comes from remote 10.1/16 to local 10.2/16. */
	c.sel.n = 1;
	ts_any(&c.sel.ts[0], AF_INET);
	assert_true(ip_prefix_parse("10.2.0.0/16", &c.sel.ts[0].src));
	assert_true(ip_prefix_parse("10.1.0.0/16", &c.sel.ts[0].dst));
	reset_sads();
	assert_int_equal(install(E.in, &c, SA_DIR_IN), 0);
	c.sel.n = 0;
	assert_int_equal(install(E.out, &c, SA_DIR_OUT), 0);
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	wlen = E.p.len;
	memcpy(wire, pkt_data(&E.p), wlen);
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_NONE);

	/* a packet from 10.3.0.1 is not covered */
	inet_pton(AF_INET, "10.3.0.1", clear + 12);
	clear[10] = clear[11] = 0;
	put_be16(clear + 10, csum(clear, 20));
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	wlen = E.p.len;
	memcpy(wire, pkt_data(&E.p), wlen);
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_POLICY);
	assert_int_equal(drops_in(SPI_ESP, IPSEC_PROTO_ESP, DROP_POLICY), 1);
}

/* RFC 4301 5.1: an outbound SA narrower than the policy that chose it (a
 * tunnel interface's any/any narrowed by the peer, RFC 7296 2.9) carries
 * only what its selectors cover; the rest is dropped before sealing. */
static void test_policy_out(void **state)
{
	(void)state;
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128,
			  .af_outer = 4, .spi = SPI_ESP};
	uint8_t clear[256];
	struct xform_out o;
	size_t len = inner_make(clear, 4, 64, false);

	/* The sender's view, local -> remote: 10.1/16 -> 10.2/16. */
	c.sel.n = 1;
	ts_any(&c.sel.ts[0], AF_INET);
	assert_true(ip_prefix_parse("10.1.0.0/16", &c.sel.ts[0].src));
	assert_true(ip_prefix_parse("10.2.0.0/16", &c.sel.ts[0].dst));
	reset_sads();
	assert_int_equal(install(E.out, &c, SA_DIR_OUT), 0);
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);

	/* from 10.3.0.1 (the gateway's own tunnel address, say): not sent */
	inet_pton(AF_INET, "10.3.0.1", clear + 12);
	clear[10] = clear[11] = 0;
	put_be16(clear + 10, csum(clear, 20));
	assert_int_equal(out(&c, clear, len, &o), DROP_POLICY);
}

/* A crypto map policy with two child SAs, each narrowed by the peer to a
 * part of the ACL (RFC 7296 2.9): the packet's flow picks the child whose
 * selectors hold it; a flow outside both has no SA yet (a new child: the
 * worker acquires), not a policy drop on whichever SA is newest. */
static void test_out_child_by_flow(void **state)
{
	(void)state;
	struct sacfg c1 = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128,
			   .af_outer = 4, .spi = SPI_ESP};
	struct sacfg c2 = c1;
	struct policy pol = {.reqid = REQID, .action = POLICY_PROTECT};
	uint8_t clear[256];
	struct xform_out o;
	struct flow f;
	size_t len = inner_make(clear, 4, 64, false);

	c1.sel.n = c2.sel.n = 1;
	ts_any(&c1.sel.ts[0], AF_INET);
	ts_any(&c2.sel.ts[0], AF_INET);
	assert_true(ip_prefix_parse("10.1.0.0/16", &c1.sel.ts[0].src));
	assert_true(ip_prefix_parse("10.2.0.0/24", &c1.sel.ts[0].dst));
	assert_true(ip_prefix_parse("10.1.0.0/16", &c2.sel.ts[0].src));
	assert_true(ip_prefix_parse("10.2.7.0/24", &c2.sel.ts[0].dst));
	c2.spi = SPI_ESP + 1;
	reset_sads();
	assert_int_equal(install(E.out, &c1, SA_DIR_OUT), 0);
	assert_int_equal(install(E.out, &c2, SA_DIR_OUT), 0); /* the newest */

	for (int k = 0; k < 3; k++) {
		static const char *const dst[] = {"10.2.0.9", "10.2.7.9", "10.2.9.9"};

		inet_pton(AF_INET, dst[k], clear + 16);
		clear[10] = clear[11] = 0;
		put_be16(clear + 10, csum(clear, 20));
		assert_true(flow_from_packet(clear, len, &f));
		pkt_load(clear, len);
		rcu_read_lock();
		if (k < 2) {
			assert_int_equal(xform_output(E.out, &pol, &f, 0, E.s, &E.p, &o),
					 DROP_NONE);
			assert_int_equal(o.sa->p.spi, k == 0 ? SPI_ESP : SPI_ESP + 1);
		} else {
			assert_int_equal(xform_output(E.out, &pol, &f, 0, E.s, &E.p, &o),
					 DROP_NO_OUT_SA);
		}
		xform_release(E.s);
		rcu_read_unlock();
	}
	/* without a flow (a tunnel interface's pair): the newest, and the
	 * packet outside its selectors is a policy drop counted on it */
	inet_pton(AF_INET, "10.2.0.9", clear + 16);
	clear[10] = clear[11] = 0;
	put_be16(clear + 10, csum(clear, 20));
	assert_int_equal(out(&c1, clear, len, &o), DROP_POLICY);
	assert_int_equal(o.sa->p.spi, SPI_ESP + 1);
}

static void test_seq_overflow(void **state)
{
	(void)state;
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128,
			  .af_outer = 4, .spi = SPI_ESP};
	uint8_t clear[256];
	struct xform_out o;
	struct sa_stats st;
	size_t len = inner_make(clear, 4, 64, false);

	reset_sads();
	install_pair(&c);
	sa_out(IPSEC_PROTO_ESP)->seq_out = UINT32_MAX - 1;
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	assert_int_equal(get_be32(pkt_data(&E.p) + 24), UINT32_MAX);
	struct sa *sa = sa_out(IPSEC_PROTO_ESP);
	assert_int_equal(out(&c, clear, len, &o), DROP_SEQ_OVERFLOW);
	assert_ptr_equal(o.sa, sa);
	sa_stats_sum(sa, &st);
	assert_int_equal(st.drops[DROP_SEQ_OVERFLOW], 1);
	/* the SA is dead: the SAD no longer hands it out */
	assert_int_equal(sa_state_get(sa), SA_DEAD);
	assert_int_equal(out(&c, clear, len, &o), DROP_NO_OUT_SA);
	assert_int_equal(sa->seq_out, UINT32_MAX);

	/* With ESN the counter goes on past 2^32 (RFC 4303 2.2.1). */
	c.esn = true;
	reset_sads();
	install_pair(&c);
	sa_out(IPSEC_PROTO_ESP)->seq_out = UINT32_MAX - 1;
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	assert_int_equal(get_be32(pkt_data(&E.p) + 24), 0); /* low 32 bits of 2^32 */
	sa_out(IPSEC_PROTO_ESP)->seq_out = UINT64_MAX - 1;
	assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
	assert_int_equal(out(&c, clear, len, &o), DROP_SEQ_OVERFLOW);
}

/* ---- AH ----------------------------------------------------------------- */

static void test_ah_roundtrip(void **state)
{
	(void)state;
	const uint16_t integs[] = {AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128,
				   AUTH_HMAC_SHA2_384_192, AUTH_HMAC_SHA2_512_256,
				   AUTH_AES_XCBC_96};
	for (size_t i = 0; i < 5; i++)
		for (int mode = 0; mode < 2; mode++)
			for (int esn = 0; esn < 2; esn++)
				for (int ai = 4; ai <= 6; ai += 2)
					for (int ao = 4; ao <= 6; ao += 2) {
						struct sacfg c = {.proto = IPSEC_PROTO_AH,
								  .mode = (uint8_t)mode,
								  .integ = integs[i], .esn = esn,
								  .af_outer = ao, .spi = SPI_AH};
						if (mode == IPSEC_MODE_TRANSPORT && ai != ao)
							continue;
						reset_sads();
						install_pair(&c);
						roundtrip(&c, ai, 0, false);
						roundtrip(&c, ai, 333, true);
					}
}

/* RFC 4302 3.3.3.1: mutable fields are outside the ICV, the rest is in. */
static void test_ah_mutable(void **state)
{
	(void)state;
	struct sacfg c = {.proto = IPSEC_PROTO_AH, .integ = AUTH_HMAC_SHA2_256_128,
			  .af_outer = 6, .spi = SPI_AH};
	uint8_t clear[256], wire[512];
	struct xform_out o;
	struct sa *sa;
	size_t len, wlen;

	for (int af = 4; af <= 6; af += 2) {
		c.af_outer = af;
		len = inner_make(clear, af, 64, false);
		reset_sads();
		install_pair(&c);
		assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
		wlen = E.p.len;
		memcpy(wire, pkt_data(&E.p), wlen);
		/* AH length: IPv6 needs 64-bit alignment: 12 + 16 + 4 pad */
		assert_int_equal(wire[af == 4 ? 21 : 41], af == 4 ? 5 : 6);
		if (af == 4) {
			wire[8] = 3;     /* TTL */
			wire[1] = 0xb8;  /* TOS */
			put_be16(wire + 10, 0);
			put_be16(wire + 10, csum(wire, 20));
		} else {
			wire[7] = 3;     /* hop limit */
			wire[1] ^= 0x55; /* traffic class / flow label */
		}
		assert_int_equal(in(wire, wlen, &o, &sa), DROP_NONE);
		assert_memory_equal(pkt_data(&E.p), clear, len);
		/* the source address is covered */
		assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
		memcpy(wire, pkt_data(&E.p), wlen);
		wire[af == 4 ? 15 : 23] ^= 1;
		assert_int_equal(in(wire, wlen, &o, &sa), DROP_ICV);
	}
}

static void test_ah_esp_bundle(void **state)
{
	(void)state;
	for (int mode = 0; mode < 2; mode++)
		for (int af = 4; af <= 6; af += 2) {
			struct sacfg e = {.proto = IPSEC_PROTO_ESP, .mode = (uint8_t)mode,
					  .encr = ENCR_AES_CBC, .key_bits = 128,
					  .integ = AUTH_HMAC_SHA1_96, .af_outer = af,
					  .spi = SPI_ESP};
			struct sacfg a = e;
			uint8_t clear[512];
			struct xform_out o;
			size_t hl = af == 4 ? 20 : 40;

			a.proto = IPSEC_PROTO_AH;
			a.spi = SPI_AH;
			a.integ = AUTH_HMAC_SHA2_256_128;
			reset_sads();
			install_pair(&e);
			install_pair(&a);
			roundtrip(&e, af, 100, false);
			/* outer | AH | ESP */
			size_t len = inner_make(clear, af, 100, false);
			assert_int_equal(out(&e, clear, len, &o), DROP_NONE);
			assert_int_equal(pkt_data(&E.p)[af == 4 ? 9 : 6], IPPROTO_NUM_AH);
			assert_int_equal(pkt_data(&E.p)[hl], IPPROTO_NUM_ESP);
			assert_ptr_equal(o.sa, sa_out(IPSEC_PROTO_AH));
		}
}

/* IPv6 transport mode with extension headers (RFC 4303 3.1.1): ESP/AH go
 * after hop-by-hop; the destination options that follow (no routing
 * header after them) stay inside. */
static size_t v6_ext_make(uint8_t *d)
{
	size_t len = inner_make(d, 6, 40, false), ext = 16;

	memmove(d + 40 + ext, d + 40, len - 40);
	memset(d + 40, 0, ext);
	d[6] = IPPROTO_NUM_HOPOPTS;
	d[40] = IPPROTO_NUM_DSTOPTS; /* hop-by-hop: a "may change" option */
	d[42] = 0x3e;                /* type with bit 0x20 set */
	d[43] = 4;
	memset(d + 44, 0xaa, 4);
	d[48] = 17;                  /* destination options: PadN */
	d[50] = 1;
	d[51] = 4;
	len += ext;
	put_be16(d + 4, (uint16_t)(len - 40));
	return len;
}

static void test_v6_ext_headers(void **state)
{
	(void)state;
	uint8_t clear[512], wire[1024];
	struct xform_out o;
	struct sa *sa;
	size_t len = v6_ext_make(clear), wlen;
	struct sacfg e = {.proto = IPSEC_PROTO_ESP, .mode = IPSEC_MODE_TRANSPORT,
			  .encr = ENCR_AES_GCM_16, .key_bits = 128, .af_outer = 6,
			  .spi = SPI_ESP};
	struct sacfg a = {.proto = IPSEC_PROTO_AH, .mode = IPSEC_MODE_TRANSPORT,
			  .integ = AUTH_HMAC_SHA2_256_128, .af_outer = 6, .spi = SPI_AH};

	reset_sads();
	install_pair(&e);
	assert_int_equal(out(&e, clear, len, &o), DROP_NONE);
	wlen = E.p.len;
	memcpy(wire, pkt_data(&E.p), wlen);
	assert_int_equal(wire[6], IPPROTO_NUM_HOPOPTS);
	assert_int_equal(wire[40], IPPROTO_NUM_ESP);
	assert_int_equal(get_be32(wire + 48), SPI_ESP);
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_NONE);
	assert_int_equal(E.p.len, len);
	assert_memory_equal(pkt_data(&E.p), clear, len);

	reset_sads();
	install_pair(&a);
	assert_int_equal(out(&a, clear, len, &o), DROP_NONE);
	wlen = E.p.len;
	memcpy(wire, pkt_data(&E.p), wlen);
	assert_int_equal(wire[40], IPPROTO_NUM_AH);
	assert_int_equal(wire[48], IPPROTO_NUM_DSTOPTS);
	wire[44] ^= 0xff; /* mutable option data: outside the ICV */
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_NONE);
	assert_int_equal(E.p.len, len);
	assert_memory_equal(pkt_data(&E.p) + 48, clear + 48, len - 48);
	assert_int_equal(out(&a, clear, len, &o), DROP_NONE);
	memcpy(wire, pkt_data(&E.p), wlen);
	wire[42] ^= 0x01; /* option type: inside the ICV */
	assert_int_equal(in(wire, wlen, &o, &sa), DROP_ICV);
}

/* ---- IPComp ------------------------------------------------------------- */

static void test_ipcomp(void **state)
{
	(void)state;
	for (int mode = 0; mode < 2; mode++)
		for (int af = 4; af <= 6; af += 2) {
			struct sacfg e = {.proto = IPSEC_PROTO_ESP, .mode = (uint8_t)mode,
					  .encr = ENCR_AES_GCM_16, .key_bits = 128,
					  .af_outer = af, .spi = SPI_ESP};
			struct sacfg k = e;
			uint8_t clear[2048];
			struct xform_out o;
			struct sa_stats st;
			size_t len, plain_len;

			k.proto = IPSEC_PROTO_COMP;
			k.spi = CPI;
			k.encr = 0;
			reset_sads();
			install_pair(&e);
			/* without IPComp, for the size comparison */
			len = inner_make(clear, af, 1000, false);
			assert_int_equal(out(&e, clear, len, &o), DROP_NONE);
			plain_len = E.p.len;
			install_pair(&k);
			assert_int_equal(out(&e, clear, len, &o), DROP_NONE);
			assert_true(E.p.len < plain_len / 2);
			roundtrip(&e, af, 1000, false); /* compressible */
			roundtrip(&e, af, 1000, true);  /* incompressible: sent as is */
			roundtrip(&e, af, 20, false);   /* too small to try */
			sa_stats_sum(sa_out(IPSEC_PROTO_COMP), &st);
			assert_int_equal(st.compressed, 2);
			assert_int_equal(st.not_compressed, 2);
			sa_stats_sum(sa_in(CPI, IPSEC_PROTO_COMP), &st);
			assert_int_equal(st.packets, 1); /* the one compressed round trip */
		}
}

/* Garbage after a valid IPComp header, and a truncated header: the
 * decompressor refuses both. */
static void test_ipcomp_garbage(void **state)
{
	(void)state;
	struct pkt q = {.buf = E.buf, .cap = PKT_BUF_SIZE, .off = PKT_HEADROOM, .len = 100};
	uint8_t nh, *d = pkt_data(&q);

	d[0] = IPPROTO_NUM_IPIP;
	d[1] = 0;
	put_be16(d + 2, CPI);
	for (size_t i = 4; i < 100; i++)
		d[i] = (uint8_t)(i * 37);
	assert_int_equal(ipcomp_decompress(E.s, &q, 65000, &nh), DROP_COMP);
	q.len = 3;
	assert_int_equal(ipcomp_decompress(E.s, &q, 65000, &nh), DROP_MALFORMED);
	q.len = 4;
	assert_int_equal(ipcomp_decompress(E.s, &q, 65000, &nh), DROP_MALFORMED);
}

/* ---- UDP encapsulation -------------------------------------------------- */

static void test_udp_encap(void **state)
{
	(void)state;
	for (int mode = 0; mode < 2; mode++)
		for (int af = 4; af <= 6; af += 2) {
			struct sacfg c = {.proto = IPSEC_PROTO_ESP, .mode = (uint8_t)mode,
					  .encr = ENCR_AES_GCM_16, .key_bits = 256,
					  .af_outer = af, .spi = SPI_ESP, .encap = 4500};
			uint8_t clear[512];
			struct xform_out o;
			size_t len = inner_make(clear, af, 77, false), hl = af == 4 ? 20 : 40;
			const uint8_t *d;

			reset_sads();
			install_pair(&c);
			assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
			d = pkt_data(&E.p);
			assert_true(o.udp);
			assert_int_equal(o.sport, 4500);
			assert_int_equal(o.dport, 4500);
			assert_int_equal(o.udp_payload_off, hl + 8);
			assert_int_equal(d[af == 4 ? 9 : 6], IPPROTO_NUM_UDP);
			assert_int_equal(get_be16(d + hl + 2), 4500);
			assert_int_equal(get_be16(d + hl + 4), E.p.len - hl);
			assert_int_equal(get_be32(d + hl + 8), SPI_ESP);
			if (af == 4) {
				assert_int_equal(get_be16(d + hl + 6), 0);
			} else { /* the checksum verifies */
				uint32_t sum = 0;
				for (size_t i = 8; i < 40; i += 2)
					sum += get_be16(d + i);
				sum += (uint32_t)(E.p.len - hl) + 17;
				assert_int_equal(ip_csum(d + hl, E.p.len - hl, sum), 0);
			}
			roundtrip(&c, af, 77, false);
			roundtrip(&c, af, 600, true);
		}
}

/* ---- known answers: draft-mcgrew-gcm-test-01 ----------------------------- */

struct gcm_vec {
	bool gmac;
	uint8_t key[32], nonce[12], plain[128], aad[128], packet[256];
	size_t key_len, nonce_len, plain_len, aad_len, packet_len, seq_len;
	uint32_t spi;
	uint64_t seq;
};

/* A path MTU known for the peer (RFC 4301 8.2): a packet that would not
 * fit once sealed is XFORM_TOO_BIG, untouched and uncounted, with the
 * longest packet that fits in max_inner (exactly: it seals within the MTU
 * and one byte more does not). A new SA's packets ask for the MTU
 * (pmtu_ask) until it is known; one past its time is asked again and
 * still applied until the answer comes. */
static void test_path_mtu(void **state)
{
	static const struct {
		struct sacfg c;
		size_t fit; /* 1400 - overhead, by hand */
	} cases[] = {
		/* 20 + 8 ESP + 8 IV + (1346 + 2) + 16 ICV */
		{{.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128, .af_outer = 4,
		  .spi = SPI_ESP},
		 1346},
		/* 20 + 8 + 16 IV + (1326 + 2 -> 1328, 16-byte blocks) + 16 ICV */
		{{.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_CBC, .key_bits = 128,
		  .integ = AUTH_HMAC_SHA2_256_128, .af_outer = 4, .spi = SPI_ESP},
		 1326},
		/* the GCM one in UDP: 8 bytes less */
		{{.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128, .af_outer = 4,
		  .encap = 4500, .spi = SPI_ESP},
		 1338},
		/* over IPv6: 20 bytes less than over IPv4 */
		{{.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128, .af_outer = 6,
		  .spi = SPI_ESP},
		 1326},
	};
	uint8_t d[2000];
	struct xform_out o;
	struct sa_stats st;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct sacfg c = cases[k].c;
		size_t fit = cases[k].fit;
		struct sa *sa;

		c.mode = IPSEC_MODE_TUNNEL;
		reset_sads();
		install_pair(&c);
		sa = sa_out(IPSEC_PROTO_ESP);
		assert_int_equal(out(&c, d, inner_make(d, 4, 1400 - 28, false), &o), DROP_NONE);
		assert_true(o.pmtu_ask); /* not known yet: ask */
		assert_int_equal(out(&c, d, inner_make(d, 4, 100, false), &o), DROP_NONE);
		assert_true(o.pmtu_ask); /* a small packet asks as well */
		xform_learn_path_mtu(sa, 0, 600); /* the kernel did not say */
		assert_int_equal(out(&c, d, inner_make(d, 4, 1400 - 28, false), &o), DROP_NONE);
		assert_false(o.pmtu_ask);
		xform_learn_path_mtu(sa, 1400, 600);
		assert_int_equal(out(&c, d, inner_make(d, 4, 1400 - 28, false), &o), XFORM_TOO_BIG);
		assert_false(o.pmtu_ask);
		assert_int_equal(o.max_inner, fit);
		assert_int_equal(E.p.len, 1400); /* untouched */
		assert_memory_equal(pkt_data(&E.p), d, 1400);
		assert_int_equal(out(&c, d, inner_make(d, 4, fit + 1 - 28, false), &o),
				 XFORM_TOO_BIG);
		assert_int_equal(o.max_inner, fit);
		assert_int_equal(out(&c, d, inner_make(d, 4, fit - 28, false), &o), DROP_NONE);
		assert_true(E.p.len <= 1400);
		assert_true(E.p.len + 16 > 1400); /* within a cipher block of the MTU */
		sa_stats_sum(sa, &st);
		assert_int_equal(st.packets, 4); /* the too-big ones were not counted */
		/* past its time: asked again, and applied until the answer */
		xform_learn_path_mtu(sa, 1400, 0);
		assert_int_equal(out(&c, d, inner_make(d, 4, 1400 - 28, false), &o), XFORM_TOO_BIG);
		assert_true(o.pmtu_ask);
		assert_int_equal(o.max_inner, fit);
		assert_int_equal(out(&c, d, inner_make(d, 4, fit - 28, false), &o), DROP_NONE);
		assert_true(o.pmtu_ask);
		xform_learn_path_mtu(sa, 1500, 600); /* the path grew */
		assert_int_equal(out(&c, d, inner_make(d, 4, 1400 - 28, false), &o), DROP_NONE);
		assert_false(o.pmtu_ask);
	}
}

/* Packets over the path MTU that are sealed whole for the worker to cut
 * (o.frag_mtu, send_cut): an IPv6 packet of at most 1280 bytes always
 * (RFC 8200 5), an IPv4 one without DF under fragmentation
 * after-encryption, one with DF under df-bit clear; their outer header has
 * no DF, and the sealed packet opens. The outer DF of packets that fit
 * follows crypto ipsec df-bit. */
static void test_path_mtu_cut(void **state)
{
	struct sacfg c = {.proto = IPSEC_PROTO_ESP, .encr = ENCR_AES_GCM_16, .key_bits = 128,
			  .af_outer = 4, .spi = SPI_ESP, .mode = IPSEC_MODE_TUNNEL};
	uint8_t d[2000], sealed[2000];
	struct xform_out o;
	struct sa *sa, *got = NULL;
	size_t n;

	(void)state;
	reset_sads();
	install_pair(&c);
	sa = sa_out(IPSEC_PROTO_ESP);
	xform_learn_path_mtu(sa, 1300, 600);
	/* IPv6, 1280 bytes: sealed whole, no DF outside */
	assert_int_equal(out(&c, d, inner_make(d, 6, 1280 - 48, false), &o), DROP_NONE);
	assert_int_equal(o.frag_mtu, 1300);
	assert_true(E.p.len > 1300);
	assert_int_equal(pkt_data(&E.p)[6] & 0x40, 0);
	n = E.p.len;
	memcpy(sealed, pkt_data(&E.p), n);
	assert_int_equal(in(sealed, n, &o, &got), DROP_NONE);
	assert_ptr_equal(got, sa_in(SPI_ESP, IPSEC_PROTO_ESP));
	assert_int_equal(E.p.len, 1280);
	/* IPv6 over 1280: its sender can go lower (told 1280 by the worker) */
	assert_int_equal(out(&c, d, inner_make(d, 6, 1400 - 48, false), &o), XFORM_TOO_BIG);
	assert_int_equal(o.frag_mtu, 0);
	assert_int_equal(o.max_inner, 1300 - 20 - 8 - 8 - 16 - 2);
	/* IPv4 with DF: told, unless df-bit clear */
	assert_int_equal(out(&c, d, inner_make(d, 4, 1400 - 28, false), &o), XFORM_TOO_BIG);
	xform_set_frag_rules(E.s, DP_DF_CLEAR, false);
	assert_int_equal(out(&c, d, inner_make(d, 4, 1400 - 28, false), &o), DROP_NONE);
	assert_int_equal(o.frag_mtu, 1300);
	assert_int_equal(pkt_data(&E.p)[6] & 0x40, 0);
	/* IPv4 without DF: fragmented before encryption (the worker's
	 * XFORM_TOO_BIG path), unless after-encryption */
	inner_make(d, 4, 1400 - 28, false);
	d[6] = 0;
	put_be16(d + 10, 0);
	put_be16(d + 10, csum(d, 20));
	xform_set_frag_rules(E.s, DP_DF_COPY, false);
	assert_int_equal(out(&c, d, 1400, &o), XFORM_TOO_BIG);
	xform_set_frag_rules(E.s, DP_DF_COPY, true);
	assert_int_equal(out(&c, d, 1400, &o), DROP_NONE);
	assert_int_equal(o.frag_mtu, 1300);
	assert_int_equal(out(&c, d, inner_make(d, 4, 1400 - 28, false), &o), XFORM_TOO_BIG);
	/* packets that fit: the outer DF as df-bit says */
	xform_set_frag_rules(E.s, DP_DF_COPY, false);
	assert_int_equal(out(&c, d, inner_make(d, 4, 100, false), &o), DROP_NONE);
	assert_int_equal(o.frag_mtu, 0);
	assert_int_equal(pkt_data(&E.p)[6] & 0x40, 0x40); /* copied */
	assert_int_equal(out(&c, d, inner_make(d, 6, 100, false), &o), DROP_NONE);
	assert_int_equal(pkt_data(&E.p)[6] & 0x40, 0x40); /* set for IPv6 */
	xform_set_frag_rules(E.s, DP_DF_CLEAR, false);
	assert_int_equal(out(&c, d, inner_make(d, 4, 100, false), &o), DROP_NONE);
	assert_int_equal(pkt_data(&E.p)[6] & 0x40, 0);
	xform_set_frag_rules(E.s, DP_DF_SET, false);
	inner_make(d, 4, 100, false);
	d[6] = 0;
	put_be16(d + 10, 0);
	put_be16(d + 10, csum(d, 20));
	assert_int_equal(out(&c, d, 128, &o), DROP_NONE);
	assert_int_equal(pkt_data(&E.p)[6] & 0x40, 0x40);
	xform_set_frag_rules(E.s, DP_DF_COPY, false); /* E.s is shared by the other tests */
}

static bool is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdef", *s))
			return false;
	return true;
}

static void hex_append(uint8_t *out, size_t cap, size_t *n, const char *hex)
{
	for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
		unsigned v;
		assert_true(*n < cap);
		assert_int_equal(sscanf(hex + i, "%2x", &v), 1);
		out[(*n)++] = (uint8_t)v;
	}
}

/* Reads every vector: "name = hex" and continuation lines of hex, each
 * field ending with "(N octets)"; page headers and footers skipped. */
static size_t gcm_vectors_read(struct gcm_vec *v, size_t max)
{
	const char *dir = getenv("ESPRIT_VECTORS");
	char path[512], line[256], tok[128];
	uint8_t *field = NULL;
	size_t *flen = NULL, fcap = 0, n = 0;
	uint8_t tmp[8];
	size_t tmplen = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/mcgrew-gcm-esp/draft-mcgrew-gcm-test-01.txt",
		 dir ? dir : "../shared/vectors");
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char name[32], val[128];
		if (sscanf(line, " %31s = %127s", name, val) == 2) {
			field = NULL;
			if (!strcmp(name, "algorithm")) {
				if (n == max)
					break;
				memset(&v[n], 0, sizeof(v[n]));
				v[n].gmac = strstr(val, "GMAC") != NULL;
				n++;
				continue;
			}
			struct gcm_vec *c = &v[n - 1];
			tmplen = 0;
			if (!strcmp(name, "key")) {
				field = c->key, flen = &c->key_len, fcap = sizeof(c->key);
			} else if (!strcmp(name, "nonce")) {
				field = c->nonce, flen = &c->nonce_len, fcap = sizeof(c->nonce);
			} else if (!strcmp(name, "plaintext")) {
				field = c->plain, flen = &c->plain_len, fcap = sizeof(c->plain);
			} else if (!strcmp(name, "aad")) {
				field = c->aad, flen = &c->aad_len, fcap = sizeof(c->aad);
			} else if (!strcmp(name, "packet")) {
				field = c->packet, flen = &c->packet_len, fcap = sizeof(c->packet);
			} else if (!strcmp(name, "spi") || !strcmp(name, "seq")) {
				field = tmp, flen = &tmplen, fcap = sizeof(tmp);
			}
			if (field && is_hex(val))
				hex_append(field, fcap, flen, val);
			if (!strcmp(name, "spi"))
				c->spi = get_be32(tmp);
			if (!strcmp(name, "seq")) {
				c->seq_len = tmplen;
				c->seq = tmplen == 8 ? (uint64_t)get_be32(tmp) << 32 | get_be32(tmp + 4)
						     : get_be32(tmp);
				field = NULL;
			}
			continue;
		}
		if (!field || sscanf(line, " %127s", tok) != 1)
			continue;
		if (tok[0] == '(') {
			field = NULL;
			continue;
		}
		if (is_hex(tok))
			hex_append(field, fcap, flen, tok);
	}
	fclose(f);
	return n;
}

static void gcm_vector_check(const struct gcm_vec *v, unsigned idx, unsigned *ip_checked)
{
	struct sa_params p;
	struct secret *k;
	struct sa *sa, *got = NULL;
	struct xform_in xi = {.udp = true};
	const uint8_t *expect = v->gmac ? v->aad + 16 : v->plain;
	size_t elen = v->gmac ? v->aad_len - 16 : v->plain_len, inner;
	enum dp_drop r;
	uint8_t nh;

	assert_true(elen >= 2 && v->key_len >= 16 && v->nonce_len == 12);
	inner = elen - 2 - expect[elen - 2];
	reset_sads();
	memset(&p, 0, sizeof(p));
	/* SPI 0 is reserved (RFC 4303 2.1) and one vector uses it: install
	 * that one under another SPI and check it at the ESP layer (the
	 * wire SPI is what the AAD covers). */
	p.spi = v->spi < 256 ? 0x1000 : v->spi;
	p.proto = IPSEC_PROTO_ESP;
	p.dir = SA_DIR_IN;
	p.mode = IPSEC_MODE_TRANSPORT;
	addr(&p.src, "192.0.2.2");
	addr(&p.dst, "192.0.2.1");
	p.encr_id = v->gmac ? ENCR_NULL_AUTH_AES_GMAC : ENCR_AES_GCM_16;
	p.encr_key_bits = (uint16_t)(v->key_len * 8);
	k = secret_new(v->key_len + 4);
	memcpy(k->p, v->key, v->key_len);
	memcpy(k->p + v->key_len, v->nonce, 4); /* salt = nonce[0..3] */
	p.encr_key = k;
	p.esn = v->seq_len == 8;
	p.replay_window = 64;
	assert_int_equal(sad_install(E.in, &p), 0);
	secret_free(k);
	sa = sa_in(p.spi, IPSEC_PROTO_ESP);
	assert_non_null(sa);
	/* Put the window just below the vector's number, so that ESN infers
	 * the vector's high half (RFC 4303 A2.2). */
	if (v->seq > 1)
		assert_true(replay_update(sa->replay, v->seq - 1));

	pkt_load(v->packet, v->packet_len);
	if (p.spi == v->spi) {
		/* Every vector's next header is 1, whatever the payload, so
		 * the SA is transport mode: xform_input rebuilds an IPv4
		 * header from the UDP socket's addresses in front of the
		 * payload, which must then be the vector's plaintext. */
		addr(&xi.src, "192.0.2.2");
		addr(&xi.dst, "192.0.2.1");
		rcu_read_lock();
		r = xform_input(E.in, 0, E.s, &E.p, &xi, &got);
		rcu_read_unlock();
		if (r == DROP_NONE) {
			assert_ptr_equal(got, sa);
			assert_int_equal(pkt_data(&E.p)[9], expect[elen - 1]);
			assert_int_equal(get_be16(pkt_data(&E.p) + 2), E.p.len);
			E.p.off += 20;
			E.p.len -= 20;
			*ip_checked += expect[0] >> 4 == 4;
		}
	} else {
		r = esp_decap(sa, 0, NULL, &E.p, &nh);
		if (r == DROP_NONE)
			assert_int_equal(nh, expect[elen - 1]);
	}
	if (r != DROP_NONE)
		fail_msg("vector %u (spi %08x, seq %llx): %s", idx, v->spi,
			 (unsigned long long)v->seq, dp_drop_name(r));
	assert_int_equal(E.p.len, inner);
	assert_memory_equal(pkt_data(&E.p), expect, inner);
	/* the same packet again is a replay */
	pkt_load(v->packet, v->packet_len);
	assert_int_equal(esp_decap(sa, 0, NULL, &E.p, &nh), DROP_REPLAY);
}

/* Batch sealing (xform_defer_enable, crypto/mb.h): AES-CBC + HMAC-SHA
 * packets wait for xform_seal_pending, which seals them with the
 * multi-buffer library (batches of MB_MIN_BATCH and more) or one by one
 * with OpenSSL; every packet must then open with the OpenSSL path of the
 * receiving SA. Packets that something reads after ESP (UDP checksum over
 * IPv6) and AEAD SAs are sealed at once. */
static void batch_roundtrip(struct xform_scratch *s, const struct sacfg *c, unsigned n,
			    bool expect_defer)
{
	struct policy pol = {.reqid = REQID, .action = POLICY_PROTECT, .mode = c->mode};
	uint8_t clear[2048];
	struct xform_out o[MB_MAX_JOBS];
	struct pkt q[MB_MAX_JOBS];
	size_t len[MB_MAX_JOBS];
	uint8_t *bufs = malloc((size_t)n * PKT_BUF_SIZE);

	assert_non_null(bufs);
	rcu_read_lock();
	for (unsigned i = 0; i < n; i++) {
		len[i] = inner_make(clear, 4, 100 + 97 * (i % 14), true);
		q[i] = (struct pkt){.buf = bufs + (size_t)i * PKT_BUF_SIZE, .cap = PKT_BUF_SIZE,
				    .off = PKT_HEADROOM, .len = len[i]};
		memcpy(pkt_data(&q[i]), clear, len[i]);
		assert_int_equal(xform_output(E.out, &pol, NULL, 0, s, &q[i], &o[i]), DROP_NONE);
	}
	xform_release(s);
	rcu_read_unlock();
	assert_int_equal(xform_pending(s), expect_defer ? n : 0);
	assert_int_equal(xform_seal_pending(s), 0);
	assert_int_equal(xform_pending(s), 0);
	for (unsigned i = 0; i < n; i++) {
		struct sa *sa = NULL;
		enum dp_drop r;

		assert_false(o[i].seal_failed);
		r = in(pkt_data(&q[i]), q[i].len, &o[i], &sa);
		if (r != DROP_NONE)
			fail_msg("batch of %u, packet %u, integ %u bits %u esn %d udp %u af %d: %s", n,
				 i, c->integ, c->key_bits, c->esn, c->encap, c->af_outer,
				 dp_drop_name(r));
		assert_int_equal(E.p.len, len[i]);
		assert_int_equal(pkt_data(&E.p)[9], 17);
	}
	free(bufs);
}

static void test_esp_batch_seal(void **state)
{
	(void)state;
	const uint16_t integs[] = {AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128,
				   AUTH_HMAC_SHA2_384_192, AUTH_HMAC_SHA2_512_256};
	const uint16_t bits[] = {128, 192, 256};
	const unsigned sizes[] = {1, MB_MIN_BATCH - 1, MB_MIN_BATCH, 17, MB_MAX_JOBS};
	struct xform_scratch *s = xform_scratch_new();

	assert_non_null(s);
	if (!xform_defer_enable(s)) {
		xform_scratch_free(s);
		skip(); /* no intel-ipsec-mb on this platform: nothing is deferred */
	}
	for (size_t ii = 0; ii < 4; ii++)
		for (size_t bi = 0; bi < 3; bi++)
			for (int esn = 0; esn < 2; esn++)
				for (int v = 0; v < 3; v++) {
					/* v: native IPv4, UDP over IPv4, UDP over IPv6 */
					struct sacfg c = {.proto = IPSEC_PROTO_ESP,
							  .mode = IPSEC_MODE_TUNNEL,
							  .encr = ENCR_AES_CBC, .key_bits = bits[bi],
							  .integ = integs[ii], .esn = esn,
							  .af_outer = v == 2 ? 6 : 4,
							  .encap = v ? 4500 : 0, .spi = SPI_ESP};

					reset_sads();
					install_pair(&c);
					for (size_t k = 0; k < 5; k++)
						batch_roundtrip(s, &c, sizes[k], v != 2);
				}
	/* AEAD SAs have no multi-buffer keys: sealed at once. */
	{
		struct sacfg c = {.proto = IPSEC_PROTO_ESP, .mode = IPSEC_MODE_TUNNEL,
				  .encr = ENCR_AES_GCM_16, .key_bits = 128, .af_outer = 4,
				  .spi = SPI_ESP};
		reset_sads();
		install_pair(&c);
		batch_roundtrip(s, &c, MB_MIN_BATCH, false);
	}
	xform_scratch_free(s);
}

/* Inbound ICVs computed together (xform_preverify_*): packets of an
 * AES-CBC+HMAC SA (with and without ESN) open with the precomputed ICV,
 * the packets are unchanged by the computation, a tampered one is still
 * dropped, small batches fall back to OpenSSL, and a slot is good for one
 * call only. */
static void preverify_batch(struct xform_scratch *s, const struct sacfg *c, unsigned n,
			    int tamper, bool expect_mb)
{
	uint8_t clear[2048];
	struct xform_out o[XFORM_PREVER_MAX];
	struct pkt q[XFORM_PREVER_MAX];
	int slot[XFORM_PREVER_MAX];
	uint8_t *bufs = malloc((size_t)n * PKT_BUF_SIZE), *copy = malloc((size_t)n * PKT_BUF_SIZE);
	unsigned done;

	assert_non_null(bufs);
	assert_non_null(copy);
	for (unsigned i = 0; i < n; i++) {
		size_t len = inner_make(clear, 4, 60 + 50 * i, true);

		assert_int_equal(out(c, clear, len, &o[i]), DROP_NONE);
		q[i] = (struct pkt){.buf = bufs + (size_t)i * PKT_BUF_SIZE, .cap = PKT_BUF_SIZE,
				    .off = PKT_HEADROOM, .len = E.p.len};
		memcpy(pkt_data(&q[i]), pkt_data(&E.p), E.p.len);
		if (o[i].udp) { /* as the worker has it: from the ESP header */
			q[i].off += o[i].udp_payload_off;
			q[i].len -= o[i].udp_payload_off;
		}
	}
	if (tamper >= 0)
		pkt_data(&q[tamper])[q[tamper].len - 20] ^= 1; /* ciphertext */
	memcpy(copy, bufs, (size_t)n * PKT_BUF_SIZE);
	rcu_read_lock();
	for (unsigned i = 0; i < n; i++) {
		struct xform_in xi = {.udp = o[i].udp, .src = o[i].src, .dst = o[i].dst,
				      .sport = o[i].sport, .dport = o[i].dport};

		slot[i] = xform_preverify_add(E.in, s, &q[i], &xi);
		assert_true(slot[i] >= 0);
	}
	done = xform_preverify_run(s);
	assert_int_equal(done, expect_mb ? n : 0);
	assert_memory_equal(bufs, copy, (size_t)n * PKT_BUF_SIZE); /* ESN: ICV put back */
	for (unsigned i = 0; i < n; i++) {
		struct xform_in xi = {.udp = o[i].udp, .src = o[i].src, .dst = o[i].dst,
				      .sport = o[i].sport, .dport = o[i].dport};
		struct sa *sa = NULL;
		enum dp_drop r;

		xform_preverify_use(s, slot[i]);
		r = xform_input(E.in, 0, s, &q[i], &xi, &sa);
		assert_int_equal(r, (int)i == tamper ? DROP_ICV : DROP_NONE);
	}
	xform_preverify_reset(s);
	rcu_read_unlock();
	free(bufs);
	free(copy);
}

static void test_esp_preverify(void **state)
{
	(void)state;
	const uint16_t integs[] = {AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128,
				   AUTH_HMAC_SHA2_512_256};
	struct xform_scratch *s = xform_scratch_new();

	assert_non_null(s);
	if (!xform_defer_enable(s)) {
		xform_scratch_free(s);
		skip();
	}
	for (size_t ii = 0; ii < 3; ii++)
		for (int v = 0; v < 2; v++) {
			struct sacfg c = {.proto = IPSEC_PROTO_ESP, .mode = IPSEC_MODE_TUNNEL,
					  .encr = ENCR_AES_CBC, .key_bits = 128,
					  .integ = integs[ii], .af_outer = 4,
					  .encap = v ? 4500 : 0, .spi = SPI_ESP};

			reset_sads();
			install_pair(&c);
			preverify_batch(s, &c, XFORM_PREVER_MAX, -1, true);
			preverify_batch(s, &c, 8, 3, true);   /* tampered: still DROP_ICV */
			preverify_batch(s, &c, MB_MIN_BATCH - 1, -1, false);
			c.esn = true; /* seq-hi from the replay window, in the ICV */
			reset_sads();
			install_pair(&c);
			preverify_batch(s, &c, XFORM_PREVER_MAX, -1, true);
			preverify_batch(s, &c, 8, 5, true);
			/* across 2^32: seq-hi 0 then 1 in one batch (RFC 4303
			 * Appendix A infers each from the window before it) */
			reset_sads();
			install_pair(&c);
			sa_out(IPSEC_PROTO_ESP)->seq_out = (1ull << 32) - 20;
			assert_int_equal(xform_replay_update(sa_in(SPI_ESP, IPSEC_PROTO_ESP),
							     (1ull << 32) - 25),
					 DROP_NONE);
			preverify_batch(s, &c, XFORM_PREVER_MAX, -1, true);
			assert_int_equal(sa_out(IPSEC_PROTO_ESP)->seq_out >> 32, 1);
		}
	/* A slot is good for one xform_input call: the next packet at the same
	 * place, with the first one's ICV pasted in (a forgery), is checked in
	 * full and dropped. */
	{
		struct sacfg c = {.proto = IPSEC_PROTO_ESP, .mode = IPSEC_MODE_TUNNEL,
				  .encr = ENCR_AES_CBC, .key_bits = 128,
				  .integ = AUTH_HMAC_SHA2_256_128, .af_outer = 4, .spi = SPI_ESP};
		uint8_t clear[2048], a[4096], b[4096];
		size_t len = inner_make(clear, 4, 100, true), la, lb;
		struct xform_out o;
		struct sa *sa;
		struct xform_in xi = {0};
		int sl[MB_MIN_BATCH];

		reset_sads();
		install_pair(&c);
		assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
		la = E.p.len;
		memcpy(a, pkt_data(&E.p), la);
		assert_int_equal(out(&c, clear, len, &o), DROP_NONE);
		lb = E.p.len;
		memcpy(b, pkt_data(&E.p), lb);
		assert_int_equal(la, lb);
		memcpy(b + lb - 16, a + la - 16, 16); /* a's ICV on b */
		pkt_load(a, la);
		rcu_read_lock();
		for (int i = 0; i < MB_MIN_BATCH; i++)
			sl[i] = xform_preverify_add(E.in, s, &E.p, &xi);
		assert_true(xform_preverify_run(s) > 0);
		xform_preverify_use(s, sl[0]);
		assert_int_equal(xform_input(E.in, 0, s, &E.p, &xi, &sa), DROP_NONE);
		pkt_load(b, lb); /* same buffer, the forgery */
		assert_int_equal(xform_input(E.in, 0, s, &E.p, &xi, &sa), DROP_ICV);
		xform_preverify_reset(s);
		rcu_read_unlock();
	}
	xform_scratch_free(s);
}

static void test_gcm_vectors(void **state)
{
	(void)state;
	static struct gcm_vec v[24];
	size_t n = gcm_vectors_read(v, 24);
	unsigned ip = 0, esn = 0, aes256 = 0, gmac = 0;

	assert_true(n >= 15);
	for (size_t i = 0; i < n; i++) {
		gcm_vector_check(&v[i], (unsigned)i, &ip);
		esn += v[i].seq_len == 8;
		aes256 += v[i].key_len == 32;
		gmac += v[i].gmac;
	}
	assert_true(ip >= 4);
	assert_true(esn >= 1);
	assert_true(aes256 >= 1);
	assert_true(gmac >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_vectors),
		cmocka_unit_test(test_esp_roundtrip_all),
		cmocka_unit_test(test_esp_batch_seal),
		cmocka_unit_test(test_esp_preverify),
		cmocka_unit_test(test_esp_counters),
		cmocka_unit_test(test_send_turn),
		cmocka_unit_test(test_esp_iv),
		cmocka_unit_test(test_esp_wrong_key),
		cmocka_unit_test(test_esp_replay),
		cmocka_unit_test(test_esp_unknown_spi),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_v6_ext_past_length),
		cmocka_unit_test(test_bad_padding),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_policy_out),
		cmocka_unit_test(test_out_child_by_flow),
		cmocka_unit_test(test_seq_overflow),
		cmocka_unit_test(test_ah_roundtrip),
		cmocka_unit_test(test_ah_mutable),
		cmocka_unit_test(test_ah_esp_bundle),
		cmocka_unit_test(test_v6_ext_headers),
		cmocka_unit_test(test_ipcomp),
		cmocka_unit_test(test_ipcomp_garbage),
		cmocka_unit_test(test_udp_encap),
		cmocka_unit_test(test_path_mtu),
		cmocka_unit_test(test_path_mtu_cut),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
