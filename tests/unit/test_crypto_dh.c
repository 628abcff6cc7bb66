/* Diffie-Hellman groups: RFC 5903 8 known answers (groups 19/20/21),
 * Wycheproof ECDH (ecpoint encoding) and X25519 vectors from
 * $ESPRIT_VECTORS, a round trip for every group, and peer-value checks. */
#include <ctype.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/dh.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex to bytes, skipping blanks (vectors are typed as in the RFCs). */
static uint8_t *unhex(const char *s, size_t *len)
{
	uint8_t *out = malloc(strlen(s) / 2 + 1);
	size_t n = 0;
	int hi = -1;

	assert_non_null(out);
	for (; *s; s++) {
		int v;

		if (isspace((unsigned char)*s))
			continue;
		v = hexval((unsigned char)*s);
		assert_true(v >= 0);
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_true(hi < 0);
	*len = n;
	return out;
}

static const uint16_t all_groups[] = {1, 2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 31, 32};

/* ---- round trip: two key pairs agree, in every group ---- */

static void test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(all_groups) / sizeof(all_groups[0]); i++) {
		uint16_t g = all_groups[i];
		uint8_t pa[DH_MAX_PUBLIC_LEN], pb[DH_MAX_PUBLIC_LEN];
		size_t la = sizeof(pa), lb = sizeof(pb);
		struct secret *sa = NULL, *sb = NULL;
		struct dh *a = dh_new(g), *b = dh_new(g);

		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(dh_group(a), g);
		assert_int_equal(dh_public(a, pa, &la), 0);
		assert_int_equal(dh_public(b, pb, &lb), 0);
		assert_int_equal(la, dh_public_len(g));
		assert_int_equal(lb, dh_public_len(g));
		assert_memory_not_equal(pa, pb, la);
		assert_int_equal(dh_shared(a, pb, lb, &sa), 0);
		assert_int_equal(dh_shared(b, pa, la, &sb), 0);
		assert_int_equal(sa->len, sb->len);
		assert_memory_equal(sa->p, sb->p, sa->len);
		/* MODP: g^ir padded to the modulus; ECP: x only (RFC 5903 7). */
		if (g >= 19 && g <= 21)
			assert_int_equal(sa->len, la / 2);
		else
			assert_int_equal(sa->len, la);
		secret_free(sa);
		/* Wrong lengths are refused, whatever the content. */
		assert_int_equal(dh_shared(a, pb, lb - 1, &sa), -1);
		assert_null(sa);
		secret_free(sb);
		dh_free(a);
		dh_free(b);
	}
}

static void test_group_info(void **state)
{
	(void)state;
	assert_int_equal(dh_public_len(14), 256);
	assert_int_equal(dh_public_len(18), 1024);
	assert_int_equal(dh_public_len(19), 64);
	assert_int_equal(dh_public_len(21), 132);
	assert_int_equal(dh_public_len(31), 32);
	assert_int_equal(dh_public_len(32), 56);
	assert_int_equal(dh_public_len(22), 0); /* RFC 5114 groups: not supported */
	assert_null(dh_new(22));
	assert_true(dh_group_weak(1));
	assert_true(dh_group_weak(2));
	assert_true(dh_group_weak(5));
	assert_false(dh_group_weak(14));
	assert_false(dh_group_weak(19));
	assert_false(dh_group_weak(31));
	assert_string_equal(dh_group_name(19), "ecp256");
	assert_true(dh_group_supported(32));
	assert_false(dh_group_supported(3));
}

/* ---- MODP peer value range (RFC 7296 2.14, SP 800-56A 5.6.2.3.1) ---- */

static void test_modp_peer_range(void **state)
{
	uint8_t v[128], pub[128];
	size_t len = sizeof(pub);
	struct secret *s = NULL;
	struct dh *dh = dh_new(2);

	(void)state;
	assert_non_null(dh);
	assert_int_equal(dh_public(dh, pub, &len), 0);
	/* 0 and 1 */
	memset(v, 0, sizeof(v));
	assert_int_equal(dh_shared(dh, v, sizeof(v), &s), -1);
	v[127] = 1;
	assert_int_equal(dh_shared(dh, v, sizeof(v), &s), -1);
	/* 2 is fine */
	v[127] = 2;
	assert_int_equal(dh_shared(dh, v, sizeof(v), &s), 0);
	secret_free(s);
	/* p-1, p and all-ones (> p): the 1024-bit prime ends in 64 one bits */
	memset(v, 0xff, sizeof(v));
	assert_int_equal(dh_shared(dh, v, sizeof(v), &s), -1);
	{
		size_t n;
		uint8_t *p =
		    unhex("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
		          "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
		          "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
		          "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
		          &n);
		assert_int_equal(n, 128);
		assert_int_equal(dh_shared(dh, p, n, &s), -1); /* p */
		p[127] = 0xfe;
		assert_int_equal(dh_shared(dh, p, n, &s), -1); /* p-1 */
		p[127] = 0xfd;
		assert_int_equal(dh_shared(dh, p, n, &s), 0); /* p-2 */
		secret_free(s);
		free(p);
	}
	dh_free(dh);
}

/* ---- RFC 5903 8 ---- */

struct ecp_kat {
	uint16_t group;
	const char *i, *gi, *r, *gr, *shared;
};

static const struct ecp_kat ecp_kats[] = {
    {19, "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
     "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180"
     "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
     "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
     "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63"
     "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
     "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE"},
    {20,
     "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655"
     "E35B5380 41E649EE 3FAEF896 783AB194",
     "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6"
     "DE3AC808 ACB4BDB4 C88732AE E95F41AA 9482ED1F C0EEB9CA FC498462 5CCFC23F"
     "65032149 E0E144AD A0241815 35A0F38E EB9FCFF3 C2C947DA E69B4C63 4573A81C",
     "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942"
     "E0308312 916B8ED2 960E4BD5 5A7448FC",
     "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D"
     "0D1AC43A 0336DEF9 6FDA41D0 774A3571 DCFBEC7A ACF31964 72169E83 8430367F"
     "66EEBE3C 6E70C416 DD5F0C68 759DD1FF F83FA401 42209DFF 5EAAD96D B9E6386C",
     "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4"
     "D6031355 69B9E9D0 9CF5D4A2 70F59746"},
    {21,
     "0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0"
     "95AA85A3 0FE1C295 2C6771D9 37BA9777 F5957B26 39BAB072 462F68C2 7A57382D 4A52",
     "0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE"
     "E1E3BF42 E00B8E38 0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C ED3E"
     "017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A"
     "D8A78801 5AC405D7 799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F 9582",
     "0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E"
     "9C677D60 0B343757 A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168 5EB9",
     "00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21"
     "9B97C356 436ADC6E 95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9 460F"
     "015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87"
     "220B6536 C5C408A1 D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F C56A",
     "01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04"
     "D1427E73 CA4BAA24 0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3 DDEA"},
};

static void check_side(uint16_t group, const char *priv_hex, const char *pub_hex,
                       const char *peer_hex, const char *shared_hex)
{
	size_t pl, publ, peerl, shl, outl = DH_MAX_PUBLIC_LEN;
	uint8_t *priv = unhex(priv_hex, &pl), *pub = unhex(pub_hex, &publ);
	uint8_t *peer = unhex(peer_hex, &peerl), *sh = unhex(shared_hex, &shl);
	uint8_t out[DH_MAX_PUBLIC_LEN];
	struct secret *s = NULL;
	struct dh *dh = dh_new_with_private(group, priv, pl);

	assert_non_null(dh);
	assert_int_equal(dh_public(dh, out, &outl), 0);
	assert_int_equal(outl, publ);
	assert_memory_equal(out, pub, publ);
	assert_int_equal(dh_shared(dh, peer, peerl, &s), 0);
	assert_int_equal(s->len, shl);
	assert_memory_equal(s->p, sh, shl);
	secret_free(s);
	dh_free(dh);
	free(priv);
	free(pub);
	free(peer);
	free(sh);
}

static void test_rfc5903(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ecp_kats) / sizeof(ecp_kats[0]); i++) {
		const struct ecp_kat *k = &ecp_kats[i];

		check_side(k->group, k->i, k->gi, k->gr, k->shared);
		check_side(k->group, k->r, k->gr, k->gi, k->shared);
	}
}

static void test_ecp_off_curve(void **state)
{
	size_t n;
	uint8_t *pub = unhex(ecp_kats[0].gi, &n);
	struct secret *s = NULL;
	struct dh *dh = dh_new(19);

	(void)state;
	pub[n - 1] ^= 1; /* y changed: no longer on the curve */
	assert_int_equal(dh_shared(dh, pub, n, &s), -1);
	assert_null(s);
	memset(pub, 0, n); /* point at infinity has no affine encoding */
	assert_int_equal(dh_shared(dh, pub, n, &s), -1);
	dh_free(dh);
	free(pub);
}

/* ---- Wycheproof ---- */

static struct json_object *load_json(const char *name)
{
	const char *d = getenv("ESPRIT_VECTORS");
	char path[512];
	struct json_object *j;

	snprintf(path, sizeof(path), "%s/wycheproof/testvectors_v1/%s",
	         d && *d ? d : "../shared/vectors", name);
	j = json_object_from_file(path);
	if (!j)
		fail_msg("cannot read %s", path);
	return j;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

/* One Wycheproof test: returns 1 if it was run with the public value in
 * IKE wire format, 0 if its encoding cannot appear in a KE payload (then
 * it was checked to be refused). */
static int wycheproof_one(uint16_t group, bool ecpoint, struct json_object *t)
{
	size_t pl, publ, shl, want = dh_public_len(group);
	uint8_t *priv = unhex(jstr(t, "private"), &pl);
	uint8_t *pub = unhex(jstr(t, "public"), &publ);
	uint8_t *sh = unhex(jstr(t, "shared"), &shl);
	const char *result = jstr(t, "result");
	const uint8_t *wire = pub;
	struct secret *s = NULL;
	struct dh *dh = dh_new_with_private(group, priv, pl);
	int ran = 1, rc;
	bool zero = true;

	assert_non_null(dh);
	if (ecpoint) {
		if (publ == want + 1 && pub[0] == 0x04) {
			wire = pub + 1;
			publ = want;
		} else {
			ran = 0; /* compressed or malformed: cannot be on the wire */
		}
	}
	for (size_t i = 0; i < shl; i++)
		zero = zero && sh[i] == 0;
	rc = dh_shared(dh, wire, publ, &s);
	if (!ran || strcmp(result, "invalid") == 0 || (zero && shl)) {
		if (rc != -1)
			fail_msg("tcId %d: accepted",
			         json_object_get_int(json_object_object_get(t, "tcId")));
	} else {
		if (rc != 0)
			fail_msg("tcId %d: refused",
			         json_object_get_int(json_object_object_get(t, "tcId")));
		assert_int_equal(s->len, shl);
		assert_memory_equal(s->p, sh, shl);
	}
	secret_free(s);
	dh_free(dh);
	free(priv);
	free(pub);
	free(sh);
	return ran;
}

static void run_wycheproof(const char *file, uint16_t group, bool ecpoint, int min_run)
{
	struct json_object *j = load_json(file), *groups_j;
	int ran = 0;

	assert_true(json_object_object_get_ex(j, "testGroups", &groups_j));
	for (size_t gi = 0; gi < json_object_array_length(groups_j); gi++) {
		struct json_object *tests =
		    json_object_object_get(json_object_array_get_idx(groups_j, gi), "tests");

		for (size_t ti = 0; ti < json_object_array_length(tests); ti++)
			ran += wycheproof_one(group, ecpoint, json_object_array_get_idx(tests, ti));
	}
	assert_true(ran >= min_run);
	json_object_put(j);
}

static void test_wycheproof_p256(void **state)
{
	(void)state;
	run_wycheproof("ecdh_secp256r1_ecpoint_test.json", 19, true, 300);
}

static void test_wycheproof_p384(void **state)
{
	(void)state;
	run_wycheproof("ecdh_secp384r1_ecpoint_test.json", 20, true, 100);
}

static void test_wycheproof_p521(void **state)
{
	(void)state;
	run_wycheproof("ecdh_secp521r1_ecpoint_test.json", 21, true, 100);
}

static void test_wycheproof_x25519(void **state)
{
	(void)state;
	run_wycheproof("x25519_test.json", 31, false, 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_group_info),        cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_modp_peer_range),   cmocka_unit_test(test_rfc5903),
	    cmocka_unit_test(test_ecp_off_curve),     cmocka_unit_test(test_wycheproof_p256),
	    cmocka_unit_test(test_wycheproof_p384),   cmocka_unit_test(test_wycheproof_p521),
	    cmocka_unit_test(test_wycheproof_x25519),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
