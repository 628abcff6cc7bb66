/* IKEv2 codec: known byte strings (RFC 5903 8 KE payload), builder round
 * trips for every payload, malformed input with the named reason, and the
 * SK/SKF encrypt/decrypt helpers.
 *
 * With ESPRIT_WRITE_CORPUS=<dir> the IKE_SA_INIT messages built here are
 * also written there (that is how tests/fuzz/corpus/msg was made). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/alg.h"
#include "crypto/cipher.h"
#include "crypto/dh.h"
#include "ikev2/msg.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex to bytes into buf, skipping blanks. Returns the length. */
static size_t unhex(const char *s, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (isspace((unsigned char)*s))
			continue;
		v = hexval((unsigned char)*s);
		assert_true(v >= 0);
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			buf[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_true(hi < 0);
	return n;
}

static void write_corpus(const char *name, const uint8_t *p, size_t n)
{
	const char *dir = getenv("ESPRIT_WRITE_CORPUS");
	char path[512];
	FILE *f;

	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* ---- a known string: IKE header + the KEi payload of RFC 5903 8.1 ---- */

/* clang-format off */
static const char rfc5903_ke_msg[] =
	/* IKE header: SPIi, SPIr = 0, next KE, 2.0, IKE_SA_INIT, I, id 0, len 100 */
	"0102030405060708 0000000000000000 22 20 22 08 00000000 00000064"
	/* RFC 5903 8.1 KEi payload, as printed there */
	"00000048 00130000 DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF"
	"945D0C37 72581180 5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58"
	"389E0577 B8990BB3";
/* clang-format on */

static void test_parse_known(void **state)
{
	uint8_t buf[256], out[256];
	size_t n = unhex(rfc5903_ke_msg, buf, sizeof(buf));
	struct wcur w = wcur_init(out, sizeof(out));
	static struct ikev2_msg m;

	(void)state;
	assert_int_equal(n, 100);
	assert_int_equal(ikev2_msg_parse(buf, n, &m), IKEV2_OK);
	assert_int_equal(m.hdr.exchange, IKEV2_EXCH_IKE_SA_INIT);
	assert_int_equal(m.hdr.flags, IKEV2_FLAG_INITIATOR);
	assert_int_equal(m.hdr.version, IKEV2_VERSION);
	assert_int_equal(m.hdr.length, 100);
	assert_int_equal(m.n_pl, 1);
	assert_int_equal(m.pl[0].type, IKEV2_PL_KE);
	assert_int_equal(m.pl[0].u.ke.group, DH_ECP_256);
	assert_int_equal(m.pl[0].u.ke.data.len, 64);
	assert_int_equal(m.pl[0].u.ke.data.p[0], 0xDA);
	assert_int_equal(m.pl[0].u.ke.data.p[63], 0xB3);
	/* and back: the builder produces the same bytes */
	assert_int_equal(ikev2_msg_build(&m, &w), IKEV2_OK);
	assert_int_equal(w.off, n);
	assert_memory_equal(out, buf, n);
}

/* SA with one IKE proposal typed by hand from RFC 7296 3.3:
 * ENCR AES-CBC (key length 256), PRF HMAC-SHA2-256, INTEG HMAC-SHA2-256-128,
 * DH 19. */
/* clang-format off */
static const char sa_msg[] =
	"0102030405060708 0000000000000000 21 20 22 08 00000000 0000004c"
	"00000030"                         /* SA, last payload, length 48 */
	"0000002c 01010004"                /* last proposal, len 44, #1 IKE, SPI 0, 4 xf */
	"0300000c 0100000c 800e0100"       /* ENCR 12, key length 256 */
	"03000008 02000005"                /* PRF 5 */
	"03000008 0300000c"                /* INTEG 12 */
	"00000008 04000013";               /* DH 19, last */
/* clang-format on */

static void test_parse_sa_known(void **state)
{
	uint8_t buf[256], out[256];
	size_t n = unhex(sa_msg, buf, sizeof(buf));
	struct wcur w = wcur_init(out, sizeof(out));
	static struct ikev2_msg m;
	const struct ikev2_proposal *p;

	(void)state;
	assert_int_equal(n, 76);
	assert_int_equal(ikev2_msg_parse(buf, n, &m), IKEV2_OK);
	assert_int_equal(m.n_pl, 1);
	assert_int_equal(m.pl[0].u.sa.n_prop, 1);
	p = &m.pl[0].u.sa.prop[0];
	assert_int_equal(p->num, 1);
	assert_int_equal(p->proto, IKEV2_PROTO_IKE);
	assert_int_equal(p->spi_len, 0);
	assert_int_equal(p->n_xf, 4);
	assert_int_equal(p->xf[0].type, IKEV2_TRANS_ENCR);
	assert_int_equal(p->xf[0].id, ENCR_AES_CBC);
	assert_int_equal(p->xf[0].key_bits, 256);
	assert_int_equal(p->xf[1].type, IKEV2_TRANS_PRF);
	assert_int_equal(p->xf[1].id, PRF_HMAC_SHA2_256);
	assert_int_equal(p->xf[1].key_bits, 0);
	assert_int_equal(p->xf[2].id, AUTH_HMAC_SHA2_256_128);
	assert_int_equal(p->xf[3].type, IKEV2_TRANS_DH);
	assert_int_equal(p->xf[3].id, DH_ECP_256);
	assert_int_equal(ikev2_msg_build(&m, &w), IKEV2_OK);
	assert_int_equal(w.off, n);
	assert_memory_equal(out, buf, n);
}

/* ---- malformed input: each is refused with its reason ---- */

struct bad {
	const char *what;
	const char *hex;
	enum ikev2_err err;
};

#define HDR(next, len) "0102030405060708 0000000000000000 " next " 20 22 08 00000000 " len

/* clang-format off */
static const struct bad bad_msgs[] = {
	{"truncated header", "0102030405060708 0000000000000000 00 20 22 08 00000000 0000", IKEV2_ERR_TRUNCATED_HEADER},
	{"version 1", "0102030405060708 0000000000000000 00 10 22 08 00000000 0000001c",
	 IKEV2_ERR_BAD_VERSION},
	{"length says more", HDR("00", "0000001d"), IKEV2_ERR_LENGTH_MISMATCH},
	{"length says less", HDR("00", "0000001c") "00", IKEV2_ERR_LENGTH_MISMATCH},
	{"payload header cut", HDR("28", "0000001e") "0000", IKEV2_ERR_PAYLOAD_TRUNCATED},
	{"payload length past end", HDR("2b", "00000024") "00000010 01020304",
	 IKEV2_ERR_PAYLOAD_LENGTH},
	{"payload length < 4", HDR("2b", "00000024") "00000003 01020304",
	 IKEV2_ERR_PAYLOAD_LENGTH},
	{"trailing data", HDR("2b", "00000024") "00000004 01020304", IKEV2_ERR_TRAILING_DATA},
	{"critical unknown payload", HDR("c8", "00000024") "00800008 01020304",
	 IKEV2_ERR_UNSUPPORTED_CRITICAL},
	{"nonce too short", HDR("28", "00000024") "00000008 01020304", IKEV2_ERR_BAD_NONCE},
	{"ESP proposal with SPI size 8", HDR("21", "00000050")
	 "00000034 00000030 01030804 0000000000000000"
	 "03000008 0100000c 03000008 0300000c 03000008 05000000 00000008 04000013",
	 IKEV2_ERR_BAD_SPI_SIZE},
	{"transform count wrong", HDR("21", "0000003c")
	 "00000024 00000020 01010004 03000008 01000014 03000008 02000005 00000008 04000013",
	 IKEV2_ERR_BAD_SA},
	{"unknown transform attribute", HDR("21", "00000034")
	 "00000018 00000014 01010001 0000000c 0100000c 80010100", IKEV2_ERR_BAD_SA},
	{"SK not last", HDR("2e", "0000002c") "28000008 aabbccdd 00000008 01020304",
	 IKEV2_ERR_SK_NOT_LAST},
	{"SKF number 0", HDR("35", "00000028") "2900000c 00000002 aabbccdd", IKEV2_ERR_BAD_SKF},
	{"SKF number > total", HDR("35", "00000028") "2900000c 00030002 aabbccdd",
	 IKEV2_ERR_BAD_SKF},
	{"TS length wrong", HDR("2c", "00000034") "00000018 01000000 07000014 0000ffff"
	 "0a000000 0affffff", IKEV2_ERR_BAD_TS},
	{"delete ESP SPI count", HDR("2a", "0000002c") "0000000c 03040002 01020304",
	 IKEV2_ERR_BAD_DELETE},
	{"CP attribute past end", HDR("2f", "0000002c") "00000010 01000000 00010008 0a000001",
	 IKEV2_ERR_BAD_CP},
};
/* clang-format on */

static void test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_msgs) / sizeof(bad_msgs[0]); i++) {
		static struct ikev2_msg m;
		uint8_t buf[512];
		size_t n = unhex(bad_msgs[i].hex, buf, sizeof(buf));
		enum ikev2_err e;

		/* Past the header cases, the header Length is made right here
		 * so that each case tests what it says. */
		if (i > 3)
			put_be32(buf + IKEV2_HDR_OFF_LENGTH, (uint32_t)n);
		e = ikev2_msg_parse(buf, n, &m);

		if (e != bad_msgs[i].err)
			fail_msg("%s: got \"%s\", want \"%s\"", bad_msgs[i].what, ikev2_err_str(e),
			         ikev2_err_str(bad_msgs[i].err));
	}
}

static void test_too_many_payloads(void **state)
{
	static struct ikev2_msg m;
	uint8_t buf[28 + 4 * 70];
	size_t n;

	(void)state;
	for (size_t count = 64; count <= 65; count++) {
		n = 28 + 4 * count;
		memset(buf, 0, sizeof(buf));
		buf[16] = IKEV2_PL_VENDOR;
		buf[17] = IKEV2_VERSION;
		buf[18] = IKEV2_EXCH_INFORMATIONAL;
		put_be32(buf + 24, (uint32_t)n);
		for (size_t i = 0; i < count; i++) {
			uint8_t *p = buf + 28 + 4 * i;

			p[0] = i + 1 < count ? IKEV2_PL_VENDOR : 0;
			p[3] = 4;
		}
		assert_int_equal(ikev2_msg_parse(buf, n, &m),
		                 count == 64 ? IKEV2_OK : IKEV2_ERR_TOO_MANY_PAYLOADS);
	}
}

static void test_too_long(void **state)
{
	static uint8_t buf[70000];
	static struct ikev2_msg m;

	(void)state;
	assert_int_equal(ikev2_msg_parse(buf, sizeof(buf), &m), IKEV2_ERR_TOO_LONG);
	assert_string_equal(ikev2_err_str(IKEV2_ERR_UNSUPPORTED_CRITICAL),
	                    "unsupported critical payload");
}

/* A non-critical unknown payload is kept raw and skipped over. */
static void test_unknown_noncritical(void **state)
{
	uint8_t buf[128];
	size_t n = unhex(HDR("c8", "00000038") "28000008 01020304"
	                                       "00000014 000102030405060708090a0b0c0d0e0f",
	                 buf, sizeof(buf));
	static struct ikev2_msg m;

	(void)state;
	assert_int_equal(ikev2_msg_parse(buf, n, &m), IKEV2_OK);
	assert_int_equal(m.n_pl, 2);
	assert_int_equal(m.pl[0].type, 200);
	assert_int_equal(m.pl[0].u.nonce.len, 4);
	assert_int_equal(m.pl[1].type, IKEV2_PL_NONCE);
	assert_non_null(ikev2_msg_find(&m, IKEV2_PL_NONCE));
	assert_null(ikev2_msg_find(&m, IKEV2_PL_KE));
}

/* ---- builder round trips for every payload ---- */

static void msg_init(struct ikev2_msg *m, uint8_t exch, uint8_t flags)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < 8; i++) {
		m->hdr.spi_i[i] = (uint8_t)(0xa0 + i);
		m->hdr.spi_r[i] = flags & IKEV2_FLAG_RESPONSE ? (uint8_t)(0xb0 + i) : 0;
	}
	m->hdr.version = IKEV2_VERSION;
	m->hdr.exchange = exch;
	m->hdr.flags = flags;
}

static struct ikev2_pl *add(struct ikev2_msg *m, uint8_t type)
{
	struct ikev2_pl *pl = &m->pl[m->n_pl++];

	memset(pl, 0, sizeof(*pl));
	pl->type = type;
	return pl;
}

static struct ikev2_bytes bytes(const void *p, size_t n)
{
	struct ikev2_bytes b = {p, n};

	return b;
}

static void add_notify(struct ikev2_msg *m, uint16_t type, const void *data, size_t len)
{
	struct ikev2_pl *pl = add(m, IKEV2_PL_NOTIFY);

	pl->u.n.type = type;
	pl->u.n.data = bytes(data, len);
}

static const uint8_t nonce_i[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t natd_src[20] = {0x5a, 0x11, 0x22, 0x33, 0x44};
static const uint8_t natd_dst[20] = {0xd5, 0x66, 0x77, 0x88, 0x99};
static uint8_t ke_data[64];

/* IKE_SA_INIT request: SA (two proposals), KE, Ni, N(NAT_DETECTION_*),
 * N(IKEV2_FRAGMENTATION_SUPPORTED), V. */
static void build_sa_init(struct ikev2_msg *m, bool response)
{
	static struct ikev2_transform xf[2][4] = {
	    {{IKEV2_TRANS_ENCR, ENCR_AES_CBC, 256},
	     {IKEV2_TRANS_PRF, PRF_HMAC_SHA2_256, 0},
	     {IKEV2_TRANS_INTEG, AUTH_HMAC_SHA2_256_128, 0},
	     {IKEV2_TRANS_DH, DH_ECP_256, 0}},
	    {{IKEV2_TRANS_ENCR, ENCR_AES_GCM_16, 128},
	     {IKEV2_TRANS_PRF, PRF_HMAC_SHA2_512, 0},
	     {IKEV2_TRANS_DH, DH_CURVE25519, 0},
	     {IKEV2_TRANS_DH, DH_MODP_2048, 0}},
	};
	static struct ikev2_proposal props[2] = {
	    {.num = 1, .proto = IKEV2_PROTO_IKE, .n_xf = 4, .xf = xf[0]},
	    {.num = 2, .proto = IKEV2_PROTO_IKE, .n_xf = 4, .xf = xf[1]},
	};
	struct ikev2_pl *pl;

	msg_init(m, IKEV2_EXCH_IKE_SA_INIT, response ? IKEV2_FLAG_RESPONSE : IKEV2_FLAG_INITIATOR);
	pl = add(m, IKEV2_PL_SA);
	pl->u.sa.prop = props;
	pl->u.sa.n_prop = response ? 1 : 2;
	pl = add(m, IKEV2_PL_KE);
	for (size_t i = 0; i < sizeof(ke_data); i++)
		ke_data[i] = (uint8_t)(i * 3 + (response ? 1 : 0));
	pl->u.ke.group = DH_ECP_256;
	pl->u.ke.data = bytes(ke_data, sizeof(ke_data));
	pl = add(m, IKEV2_PL_NONCE);
	pl->u.nonce = bytes(nonce_i, sizeof(nonce_i));
	add_notify(m, IKEV2_N_NAT_DETECTION_SOURCE_IP, natd_src, sizeof(natd_src));
	add_notify(m, IKEV2_N_NAT_DETECTION_DESTINATION_IP, natd_dst, sizeof(natd_dst));
	add_notify(m, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	pl = add(m, IKEV2_PL_VENDOR);
	pl->u.nonce = bytes("esprit", 6);
}

static void assert_bytes_eq(const struct ikev2_bytes *a, const struct ikev2_bytes *b)
{
	assert_int_equal(a->len, b->len);
	if (a->len)
		assert_memory_equal(a->p, b->p, a->len);
}

/* Field-by-field comparison of what was built and what was parsed. */
static void assert_pl_eq(const struct ikev2_pl *a, const struct ikev2_pl *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->critical, b->critical);
	switch (a->type) {
	case IKEV2_PL_SA:
		assert_int_equal(a->u.sa.n_prop, b->u.sa.n_prop);
		for (int i = 0; i < a->u.sa.n_prop; i++) {
			const struct ikev2_proposal *x = &a->u.sa.prop[i], *y = &b->u.sa.prop[i];

			assert_int_equal(x->num, y->num);
			assert_int_equal(x->proto, y->proto);
			assert_int_equal(x->spi_len, y->spi_len);
			assert_memory_equal(x->spi, y->spi, x->spi_len);
			assert_int_equal(x->n_xf, y->n_xf);
			assert_memory_equal(x->xf, y->xf, x->n_xf * sizeof(*x->xf));
		}
		break;
	case IKEV2_PL_KE:
		assert_int_equal(a->u.ke.group, b->u.ke.group);
		assert_bytes_eq(&a->u.ke.data, &b->u.ke.data);
		break;
	case IKEV2_PL_IDI:
	case IKEV2_PL_IDR:
		assert_int_equal(a->u.id.type, b->u.id.type);
		assert_bytes_eq(&a->u.id.data, &b->u.id.data);
		break;
	case IKEV2_PL_CERT:
	case IKEV2_PL_CERTREQ:
		assert_int_equal(a->u.cert.encoding, b->u.cert.encoding);
		assert_bytes_eq(&a->u.cert.data, &b->u.cert.data);
		break;
	case IKEV2_PL_AUTH:
		assert_int_equal(a->u.auth.method, b->u.auth.method);
		assert_bytes_eq(&a->u.auth.data, &b->u.auth.data);
		break;
	case IKEV2_PL_NOTIFY:
		assert_int_equal(a->u.n.proto, b->u.n.proto);
		assert_int_equal(a->u.n.spi_len, b->u.n.spi_len);
		assert_memory_equal(a->u.n.spi, b->u.n.spi, a->u.n.spi_len);
		assert_int_equal(a->u.n.type, b->u.n.type);
		assert_bytes_eq(&a->u.n.data, &b->u.n.data);
		break;
	case IKEV2_PL_DELETE:
		assert_int_equal(a->u.d.proto, b->u.d.proto);
		assert_int_equal(a->u.d.spi_len, b->u.d.spi_len);
		assert_int_equal(a->u.d.n_spi, b->u.d.n_spi);
		assert_bytes_eq(&a->u.d.spis, &b->u.d.spis);
		break;
	case IKEV2_PL_TSI:
	case IKEV2_PL_TSR:
		assert_int_equal(a->u.ts.n_ts, b->u.ts.n_ts);
		assert_memory_equal(a->u.ts.ts, b->u.ts.ts, a->u.ts.n_ts * sizeof(struct ikev2_ts));
		break;
	case IKEV2_PL_CP:
		assert_int_equal(a->u.cp.type, b->u.cp.type);
		assert_bytes_eq(&a->u.cp.attrs, &b->u.cp.attrs);
		break;
	default:
		assert_bytes_eq(&a->u.nonce, &b->u.nonce);
		break;
	}
}

/* build -> parse -> compare -> build again gives the same bytes. */
static size_t round_trip(const struct ikev2_msg *m, uint8_t *out, size_t cap, const char *corpus)
{
	static struct ikev2_msg p;
	static uint8_t again[4096];
	struct wcur w = wcur_init(out, cap), w2 = wcur_init(again, sizeof(again));

	assert_int_equal(ikev2_msg_build(m, &w), IKEV2_OK);
	assert_int_equal(ikev2_msg_parse(out, w.off, &p), IKEV2_OK);
	assert_memory_equal(p.hdr.spi_i, m->hdr.spi_i, 8);
	assert_memory_equal(p.hdr.spi_r, m->hdr.spi_r, 8);
	assert_int_equal(p.hdr.exchange, m->hdr.exchange);
	assert_int_equal(p.hdr.flags, m->hdr.flags);
	assert_int_equal(p.hdr.msgid, m->hdr.msgid);
	assert_int_equal(p.hdr.length, w.off);
	assert_int_equal(p.n_pl, m->n_pl);
	for (size_t i = 0; i < m->n_pl; i++)
		assert_pl_eq(&m->pl[i], &p.pl[i]);
	assert_int_equal(ikev2_msg_build(&p, &w2), IKEV2_OK);
	assert_int_equal(w2.off, w.off);
	assert_memory_equal(again, out, w.off);
	if (corpus)
		write_corpus(corpus, out, w.off);
	return w.off;
}

static void test_round_trip_sa_init(void **state)
{
	static struct ikev2_msg m;
	uint8_t out[1024];
	size_t n;

	(void)state;
	build_sa_init(&m, false);
	n = round_trip(&m, out, sizeof(out), "ike_sa_init_req");
	/* 28 + SA(4 + 2 * 44) + KE(8 + 64) + Ni(4 + 32) + 2 * N(8 + 20) + N(8) + V(4 + 6) */
	assert_int_equal(n, 28 + 92 + 72 + 36 + 56 + 8 + 10);
	build_sa_init(&m, true);
	round_trip(&m, out, sizeof(out), "ike_sa_init_resp");
	/* a too small buffer fails closed */
	{
		struct wcur w = wcur_init(out, 100);

		assert_int_equal(ikev2_msg_build(&m, &w), IKEV2_ERR_BUILD);
	}
}

/* A response accepts one proposal under the number it was offered with
 * (RFC 7296 3.3.1): a lone proposal numbered 2 must parse; number 0 not. */
static void test_response_keeps_proposal_number(void **state)
{
	static struct ikev2_msg m;
	static struct ikev2_msg p;
	uint8_t out[1024];

	(void)state;
	build_sa_init(&m, true);
	m.pl[0].u.sa.prop = m.pl[0].u.sa.prop + 1; /* the second offer, num 2 */
	m.pl[0].u.sa.n_prop = 1;
	round_trip(&m, out, sizeof(out), NULL);
	{
		struct wcur w = wcur_init(out, sizeof(out));
		assert_int_equal(ikev2_msg_build(&m, &w), IKEV2_OK);
		/* the proposal number byte: header 28 + SA generic header 4 + 4 */
		assert_int_equal(out[28 + 4 + 4], 2);
		out[28 + 4 + 4] = 0;
		assert_int_equal(ikev2_msg_parse(out, w.off, &p), IKEV2_ERR_BAD_SA);
	}
}

/* COOKIE response and INVALID_KE_PAYLOAD (2.6, 1.3): notifies only. */
static void test_round_trip_cookie(void **state)
{
	static struct ikev2_msg m;
	static const uint8_t cookie[24] = {0xc0, 0x0c, 0x1e};
	static const uint8_t group[2] = {0, DH_ECP_384};
	uint8_t out[256];

	(void)state;
	msg_init(&m, IKEV2_EXCH_IKE_SA_INIT, IKEV2_FLAG_RESPONSE);
	add_notify(&m, IKEV2_N_COOKIE, cookie, sizeof(cookie));
	round_trip(&m, out, sizeof(out), "ike_sa_init_cookie");
	msg_init(&m, IKEV2_EXCH_IKE_SA_INIT, IKEV2_FLAG_RESPONSE);
	add_notify(&m, IKEV2_N_INVALID_KE_PAYLOAD, group, sizeof(group));
	round_trip(&m, out, sizeof(out), "ike_sa_init_invalid_ke");
}

/* Everything IKE_AUTH / CREATE_CHILD_SA / INFORMATIONAL carry inside SK,
 * built here as a plain message to check each payload's round trip. */
static void test_round_trip_all_payloads(void **state)
{
	static struct ikev2_transform esp_xf[3] = {
	    {IKEV2_TRANS_ENCR, ENCR_AES_GCM_16, 256},
	    {IKEV2_TRANS_ESN, IKEV2_ESN_YES, 0},
	    {IKEV2_TRANS_ESN, IKEV2_ESN_NO, 0},
	};
	static struct ikev2_proposal esp = {.num = 1,
	                                    .proto = IKEV2_PROTO_ESP,
	                                    .spi_len = 4,
	                                    .spi = {0xde, 0xad, 0xbe, 0xef},
	                                    .n_xf = 3,
	                                    .xf = esp_xf};
	static struct ikev2_ts ts[2] = {
	    {IKEV2_TS_IPV4_ADDR_RANGE, 0, 0, 65535, {10, 0, 0, 0}, {10, 0, 0, 255}},
	    {IKEV2_TS_IPV6_ADDR_RANGE,
	     17,
	     500,
	     500,
	     {0x20, 0x01, 0x0d, 0xb8},
	     {0x20, 0x01, 0x0d, 0xb8, [15] = 0xff}},
	};
	static const uint8_t spis[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t cp_attrs[] = {0, 1, 0, 0, 0, 3, 0, 0};
	static const uint8_t authd[32] = {0xa0};
	static struct ikev2_msg m;
	struct ikev2_pl *pl;
	uint8_t out[2048];

	(void)state;
	msg_init(&m, IKEV2_EXCH_IKE_AUTH, IKEV2_FLAG_INITIATOR);
	m.hdr.msgid = 1;
	pl = add(&m, IKEV2_PL_IDI);
	pl->u.id.type = IKEV2_ID_FQDN;
	pl->u.id.data = bytes("initiator.example", 17);
	pl = add(&m, IKEV2_PL_CERTREQ);
	pl->u.cert.encoding = IKEV2_CERT_X509_SIG;
	pl->u.cert.data = bytes(authd, 20);
	pl = add(&m, IKEV2_PL_CERT);
	pl->u.cert.encoding = IKEV2_CERT_X509_SIG;
	pl->u.cert.data = bytes("\x30\x82\x01\x00", 4);
	pl = add(&m, IKEV2_PL_IDR);
	pl->u.id.type = IKEV2_ID_IPV4_ADDR;
	pl->u.id.data = bytes("\xc0\x00\x02\x01", 4);
	pl = add(&m, IKEV2_PL_AUTH);
	pl->u.auth.method = IKEV2_AUTH_SHARED_KEY_MIC;
	pl->u.auth.data = bytes(authd, sizeof(authd));
	pl = add(&m, IKEV2_PL_CP);
	pl->u.cp.type = IKEV2_CFG_REQUEST;
	pl->u.cp.attrs = bytes(cp_attrs, sizeof(cp_attrs));
	pl = add(&m, IKEV2_PL_SA);
	pl->u.sa.n_prop = 1;
	pl->u.sa.prop = &esp;
	pl = add(&m, IKEV2_PL_TSI);
	pl->u.ts.n_ts = 2;
	pl->u.ts.ts = ts;
	pl = add(&m, IKEV2_PL_TSR);
	pl->u.ts.n_ts = 1;
	pl->u.ts.ts = ts;
	pl = add(&m, IKEV2_PL_NOTIFY);
	pl->u.n.proto = IKEV2_PROTO_ESP;
	pl->u.n.spi_len = 4;
	memcpy(pl->u.n.spi, spis, 4);
	pl->u.n.type = IKEV2_N_REKEY_SA;
	add_notify(&m, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	add_notify(&m, IKEV2_N_INITIAL_CONTACT, NULL, 0);
	pl = add(&m, IKEV2_PL_DELETE);
	pl->u.d.proto = IKEV2_PROTO_ESP;
	pl->u.d.spi_len = 4;
	pl->u.d.n_spi = 2;
	pl->u.d.spis = bytes(spis, 8);
	pl = add(&m, IKEV2_PL_DELETE);
	pl->u.d.proto = IKEV2_PROTO_IKE;
	pl = add(&m, IKEV2_PL_EAP);
	pl->u.nonce = bytes("\x01\x02\x00\x05\x01", 5);
	round_trip(&m, out, sizeof(out), "ike_auth_plain");
	{
		/* the CP attribute iterator */
		static struct ikev2_msg p;
		const struct ikev2_pl *cp;
		struct ikev2_bytes v;
		struct cur c;
		uint16_t t;
		struct wcur w = wcur_init(out, sizeof(out));

		assert_int_equal(ikev2_msg_build(&m, &w), IKEV2_OK);
		assert_int_equal(ikev2_msg_parse(out, w.off, &p), IKEV2_OK);
		cp = ikev2_msg_find(&p, IKEV2_PL_CP);
		assert_non_null(cp);
		c = cur_init(cp->u.cp.attrs.p, cp->u.cp.attrs.len);
		assert_true(ikev2_cp_attr_next(&c, &t, &v));
		assert_int_equal(t, IKEV2_CFG_INTERNAL_IP4_ADDRESS);
		assert_true(ikev2_cp_attr_next(&c, &t, &v));
		assert_int_equal(t, IKEV2_CFG_INTERNAL_IP4_DNS);
		assert_false(ikev2_cp_attr_next(&c, &t, &v));
		assert_non_null(ikev2_msg_find_notify(&p, IKEV2_N_INITIAL_CONTACT));
		assert_null(ikev2_msg_find_notify(&p, IKEV2_N_COOKIE));
	}
}

/* ---- real strongSwan 5.9 messages (captured between two charon
 * instances in network namespaces, PSK, proposals
 * aes256-sha256-ecp256 and aes128gcm16-prfsha256-x25519-modp2048) ---- */

static size_t read_file(const char *name, uint8_t *buf, size_t cap)
{
	const char *src = getenv("ESPRIT_SRC");
	char path[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/msg/%s", src && *src ? src : ".", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* Parse, check that building gives the very same bytes back. */
static void parse_exact(const char *name, struct ikev2_msg *m, uint8_t *buf, size_t cap)
{
	static uint8_t out[4096];
	size_t n = read_file(name, buf, cap);
	struct wcur w = wcur_init(out, sizeof(out));

	assert_int_equal(ikev2_msg_parse(buf, n, m), IKEV2_OK);
	assert_int_equal(ikev2_msg_build(m, &w), IKEV2_OK);
	assert_int_equal(w.off, n);
	assert_memory_equal(out, buf, n);
}

static void test_strongswan_sa_init(void **state)
{
	static struct ikev2_msg m;
	static uint8_t buf[4096];
	const struct ikev2_pl *pl;
	const struct ikev2_proposal *p;

	(void)state;
	parse_exact("strongswan_ike_sa_init_req", &m, buf, sizeof(buf));
	assert_int_equal(m.hdr.exchange, IKEV2_EXCH_IKE_SA_INIT);
	assert_int_equal(m.hdr.flags, IKEV2_FLAG_INITIATOR);
	pl = ikev2_msg_find(&m, IKEV2_PL_SA);
	assert_non_null(pl);
	assert_int_equal(pl->u.sa.n_prop, 2);
	p = &pl->u.sa.prop[0];
	assert_int_equal(p->n_xf, 4);
	assert_int_equal(p->xf[0].id, ENCR_AES_CBC);
	assert_int_equal(p->xf[0].key_bits, 256);
	assert_int_equal(p->xf[3].id, DH_ECP_256);
	p = &pl->u.sa.prop[1];
	assert_int_equal(p->num, 2);
	assert_int_equal(p->xf[0].id, ENCR_AES_GCM_16);
	assert_int_equal(p->xf[0].key_bits, 128);
	assert_int_equal(p->xf[p->n_xf - 1].id, DH_MODP_2048);
	pl = ikev2_msg_find(&m, IKEV2_PL_KE);
	assert_int_equal(pl->u.ke.group, DH_ECP_256);
	assert_int_equal(pl->u.ke.data.len, dh_public_len(DH_ECP_256));
	assert_int_equal(ikev2_msg_find(&m, IKEV2_PL_NONCE)->u.nonce.len, 32);
	assert_non_null(ikev2_msg_find_notify(&m, IKEV2_N_NAT_DETECTION_SOURCE_IP));
	assert_int_equal(ikev2_msg_find_notify(&m, IKEV2_N_NAT_DETECTION_DESTINATION_IP)->data.len,
	                 20);
	assert_non_null(ikev2_msg_find_notify(&m, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED));
	assert_non_null(ikev2_msg_find_notify(&m, IKEV2_N_SIGNATURE_HASH_ALGORITHMS));

	parse_exact("strongswan_ike_sa_init_resp", &m, buf, sizeof(buf));
	assert_int_equal(m.hdr.flags, IKEV2_FLAG_RESPONSE);
	pl = ikev2_msg_find(&m, IKEV2_PL_SA);
	assert_int_equal(pl->u.sa.n_prop, 1);
	assert_int_equal(pl->u.sa.prop[0].xf[0].id, ENCR_AES_CBC);
	assert_int_equal(ikev2_msg_find(&m, IKEV2_PL_KE)->u.ke.group, DH_ECP_256);
}

static void test_strongswan_ike_auth(void **state)
{
	static const char *const names[] = {"strongswan_ike_auth_req", "strongswan_ike_auth_resp"};
	static struct ikev2_msg m;
	static uint8_t buf[4096];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		const struct ikev2_pl *sk;

		parse_exact(names[i], &m, buf, sizeof(buf));
		assert_int_equal(m.hdr.exchange, IKEV2_EXCH_IKE_AUTH);
		assert_int_equal(m.hdr.msgid, 1);
		assert_int_equal(m.n_pl, 1);
		sk = &m.pl[0];
		assert_int_equal(sk->type, IKEV2_PL_SK);
		assert_int_equal(sk->u.sk.inner_next, i ? IKEV2_PL_IDR : IKEV2_PL_IDI);
		assert_int_equal(sk->u.sk.hdr_off, IKEV2_HDR_LEN);
		assert_int_equal(sk->u.sk.body_off, IKEV2_HDR_LEN + 4);
		assert_int_equal(sk->u.sk.body_off + sk->u.sk.body_len, m.hdr.length);
		/* AES-CBC: 16-byte IV, blocks of 16, HMAC-SHA-256-128 ICV */
		assert_int_equal((sk->u.sk.body_len - 16 - 16) % 16, 0);
	}
}

/* ---- SK / SKF ---- */

struct sk_case {
	const char *what;
	uint16_t encr, bits, integ;
	size_t ekey, ikey;
};

static const struct sk_case sk_cases[] = {
    {"aes-cbc-128 + hmac-sha256-128", ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128, 16, 32},
    {"aes-cbc-256 + hmac-sha1-96", ENCR_AES_CBC, 256, AUTH_HMAC_SHA1_96, 32, 20},
    {"aes-gcm-16-256", ENCR_AES_GCM_16, 256, 0, 36, 0},
    {"chacha20-poly1305", ENCR_CHACHA20_POLY1305, 256, 0, 36, 0},
};

static void sk_one(const struct sk_case *sc, uint16_t frag_num, uint16_t frag_total)
{
	static struct ikev2_msg inner, outer;
	static uint8_t plain[1024], wire[2048], dec[2048];
	uint8_t ekey[64], ikey[64];
	struct cipher *enc, *decr;
	struct mac *mi = NULL, *mv = NULL;
	struct wcur w = wcur_init(plain, sizeof(plain));
	size_t plain_len, dec_len = 0;
	const struct ikev2_pl *sk;

	memset(ekey, 0x42, sizeof(ekey));
	memset(ikey, 0x24, sizeof(ikey));
	enc = cipher_new(sc->encr, sc->bits, ekey, sc->ekey, true);
	decr = cipher_new(sc->encr, sc->bits, ekey, sc->ekey, false);
	assert_non_null(enc);
	assert_non_null(decr);
	if (sc->integ) {
		mi = mac_new(sc->integ, ikey, sc->ikey);
		mv = mac_new(sc->integ, ikey, sc->ikey);
		assert_non_null(mi);
		assert_non_null(mv);
	}
	/* inner payloads: the IKE_SA_INIT ones will do */
	build_sa_init(&inner, false);
	assert_int_equal(ikev2_payloads_build(inner.pl, inner.n_pl, &w), IKEV2_OK);
	plain_len = w.off;
	w = wcur_init(wire, sizeof(wire));
	inner.hdr.exchange = IKEV2_EXCH_IKE_AUTH;
	assert_int_equal(ikev2_sk_encrypt(&inner.hdr, IKEV2_PL_SA, frag_num, frag_total, plain,
	                                  plain_len, enc, mi, &w),
	                 IKEV2_OK);
	if (frag_total == 0)
		write_corpus(sc->integ ? "ike_auth_sk_cbc" : "ike_auth_sk_gcm", wire, w.off);
	/* parse the outer message: one SK/SKF payload */
	assert_int_equal(ikev2_msg_parse(wire, w.off, &outer), IKEV2_OK);
	assert_int_equal(outer.n_pl, 1);
	sk = &outer.pl[0];
	assert_int_equal(sk->type, frag_total ? IKEV2_PL_SKF : IKEV2_PL_SK);
	assert_int_equal(sk->u.sk.inner_next, IKEV2_PL_SA);
	assert_int_equal(sk->u.sk.frag_num, frag_num);
	assert_int_equal(sk->u.sk.frag_total, frag_total);
	assert_int_equal(ikev2_sk_decrypt(wire, w.off, &sk->u.sk, decr, mv, dec, &dec_len),
	                 IKEV2_OK);
	assert_int_equal(dec_len, plain_len);
	assert_memory_equal(dec, plain, plain_len);
	assert_int_equal(ikev2_msg_parse_inner(&outer, dec, dec_len, sk->u.sk.inner_next),
	                 IKEV2_OK);
	assert_int_equal(outer.n_pl, 1 + inner.n_pl);
	for (size_t i = 0; i < inner.n_pl; i++) {
		assert_true(outer.pl[1 + i].inner);
		assert_pl_eq(&inner.pl[i], &outer.pl[1 + i]);
	}
	/* every single-bit flip after the IKE header's SPIs is caught */
	for (size_t i = 16; i < w.off; i += 7) {
		static struct ikev2_msg t;

		wire[i] ^= 0x01;
		if (ikev2_msg_parse(wire, w.off, &t) == IKEV2_OK && t.n_pl == 1)
			assert_int_not_equal(
			    ikev2_sk_decrypt(wire, w.off, &t.pl[0].u.sk, decr, mv, dec, &dec_len),
			    IKEV2_OK);
		wire[i] ^= 0x01;
	}
	cipher_free(enc);
	cipher_free(decr);
	mac_free(mi);
	mac_free(mv);
}

static void test_sk_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sk_cases) / sizeof(sk_cases[0]); i++) {
		sk_one(&sk_cases[i], 0, 0);
		sk_one(&sk_cases[i], 1, 3); /* RFC 7383 SKF */
	}
}

static void test_sk_bad_args(void **state)
{
	static struct ikev2_msg m;
	uint8_t key[36] = {0}, wire[512], plain[8] = {0};
	struct cipher *gcm = cipher_new(ENCR_AES_GCM_16, 256, key, 36, true);
	struct cipher *cbc = cipher_new(ENCR_AES_CBC, 128, key, 16, true);
	struct wcur w = wcur_init(wire, sizeof(wire));

	(void)state;
	msg_init(&m, IKEV2_EXCH_INFORMATIONAL, IKEV2_FLAG_INITIATOR);
	/* non-AEAD without a MAC, fragment number > total */
	assert_int_equal(ikev2_sk_encrypt(&m.hdr, 0, 0, 0, plain, 8, cbc, NULL, &w),
	                 IKEV2_ERR_BUILD);
	assert_int_equal(ikev2_sk_encrypt(&m.hdr, 0, 4, 3, plain, 8, gcm, NULL, &w),
	                 IKEV2_ERR_BUILD);
	w = wcur_init(wire, 40); /* no room */
	assert_int_equal(ikev2_sk_encrypt(&m.hdr, 0, 0, 0, plain, 8, gcm, NULL, &w),
	                 IKEV2_ERR_BUILD);
	cipher_free(gcm);
	cipher_free(cbc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_known),
	    cmocka_unit_test(test_parse_sa_known),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_too_many_payloads),
	    cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_unknown_noncritical),
	    cmocka_unit_test(test_round_trip_sa_init),
		cmocka_unit_test(test_response_keeps_proposal_number),
	    cmocka_unit_test(test_round_trip_cookie),
	    cmocka_unit_test(test_round_trip_all_payloads),
	    cmocka_unit_test(test_strongswan_sa_init),
	    cmocka_unit_test(test_strongswan_ike_auth),
	    cmocka_unit_test(test_sk_round_trip),
	    cmocka_unit_test(test_sk_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
