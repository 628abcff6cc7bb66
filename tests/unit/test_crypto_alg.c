/* Unit tests for the algorithm registry (src/crypto/alg.c): sizes from
 * the RFCs, key size checks, keying material lengths, names, weak flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/alg.h"

static void test_encr_sizes(void **state)
{
	(void)state;
	const struct encr_alg *a;

	a = encr_alg_find(ENCR_AES_CBC); /* RFC 3602 */
	assert_non_null(a);
	assert_int_equal(a->iv_len, 16);
	assert_int_equal(a->block_len, 16);
	assert_false(a->aead);
	a = encr_alg_find(ENCR_AES_CTR); /* RFC 3686 */
	assert_int_equal(a->iv_len, 8);
	assert_int_equal(a->salt_len, 4);
	a = encr_alg_find(ENCR_AES_GCM_8); /* RFC 4106 */
	assert_int_equal(a->icv_len, 8);
	assert_true(a->aead);
	assert_int_equal(encr_alg_find(ENCR_AES_GCM_12)->icv_len, 12);
	assert_int_equal(encr_alg_find(ENCR_AES_GCM_16)->icv_len, 16);
	a = encr_alg_find(ENCR_NULL_AUTH_AES_GMAC); /* RFC 4543 */
	assert_true(a->auth_only);
	assert_int_equal(a->icv_len, 16);
	a = encr_alg_find(ENCR_CHACHA20_POLY1305); /* RFC 7634 */
	assert_int_equal(a->iv_len, 8);
	assert_int_equal(a->icv_len, 16);
	assert_int_equal(encr_alg_find(ENCR_3DES)->iv_len, 8);
	assert_int_equal(encr_alg_find(ENCR_NULL)->iv_len, 0);
	assert_null(encr_alg_find(ENCR_AES_CCM_8)); /* not implemented */
	assert_null(encr_alg_find(999));
	for (size_t i = 0; (a = encr_alg_at(i)); i++)
		assert_true(a->block_len >= 4); /* RFC 4303 2.4 */
}

static void test_encr_keys(void **state)
{
	(void)state;
	const struct encr_alg *cbc = encr_alg_find(ENCR_AES_CBC);
	const struct encr_alg *gcm = encr_alg_find(ENCR_AES_GCM_16);
	const struct encr_alg *ch = encr_alg_find(ENCR_CHACHA20_POLY1305);
	const struct encr_alg *tdes = encr_alg_find(ENCR_3DES);

	assert_true(encr_key_bits_ok(cbc, 128));
	assert_true(encr_key_bits_ok(cbc, 192));
	assert_true(encr_key_bits_ok(cbc, 256));
	assert_false(encr_key_bits_ok(cbc, 64));
	assert_true(encr_key_bits_ok(cbc, 0)); /* default */
	assert_false(encr_key_bits_ok(NULL, 128));
	assert_int_equal(encr_keymat_len(cbc, 256), 32);
	assert_int_equal(encr_keymat_len(cbc, 0), 16);
	assert_int_equal(encr_keymat_len(cbc, 100), 0);
	assert_int_equal(encr_keymat_len(gcm, 128), 20); /* RFC 4106 8.1 */
	assert_int_equal(encr_keymat_len(gcm, 256), 36);
	assert_int_equal(encr_keymat_len(encr_alg_find(ENCR_AES_CTR), 192), 28);
	assert_int_equal(encr_keymat_len(ch, 0), 36); /* RFC 7634 2 */
	assert_int_equal(encr_keymat_len(ch, 256), 36);
	assert_false(encr_key_bits_ok(ch, 128));
	assert_int_equal(encr_keymat_len(tdes, 0), 24);
	assert_int_equal(encr_keymat_len(encr_alg_find(ENCR_DES), 64), 8);
	assert_int_equal(encr_keymat_len(encr_alg_find(ENCR_NULL), 0), 0);
	assert_int_equal(encr_key_bits_default(cbc), 128);
	assert_int_equal(encr_key_bits_default(tdes), 192);
}

static void test_integ_and_prf(void **state)
{
	(void)state;
	static const struct {
		uint16_t id, key, icv;
	} want[] = {
		{AUTH_HMAC_MD5_96, 16, 12},       {AUTH_HMAC_SHA1_96, 20, 12},
		{AUTH_AES_XCBC_96, 16, 12},       {AUTH_AES_CMAC_96, 16, 12},
		{AUTH_HMAC_SHA2_256_128, 32, 16}, {AUTH_HMAC_SHA2_384_192, 48, 24},
		{AUTH_HMAC_SHA2_512_256, 64, 32},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct integ_alg *a = integ_alg_find(want[i].id);

		assert_non_null(a);
		assert_int_equal(a->key_len, want[i].key);
		assert_int_equal(a->icv_len, want[i].icv);
	}
	assert_null(integ_alg_find(AUTH_NONE));
	assert_int_equal(prf_alg_find(PRF_HMAC_SHA2_384)->out_len, 48);
	assert_int_equal(prf_alg_find(PRF_AES128_XCBC)->out_len, 16);
	assert_null(prf_alg_find(3));
}

static void test_names_and_weak(void **state)
{
	(void)state;
	const struct encr_alg *e;
	const struct integ_alg *i;
	const struct prf_alg *p;

	for (size_t n = 0; (e = encr_alg_at(n)); n++) {
		assert_ptr_equal(encr_alg_by_name(e->name), e);
		assert_int_equal(e->weak, e->id == ENCR_DES);
	}
	for (size_t n = 0; (i = integ_alg_at(n)); n++) {
		assert_ptr_equal(integ_alg_by_name(i->name), i);
		assert_int_equal(i->weak, i->id == AUTH_HMAC_MD5_96);
	}
	for (size_t n = 0; (p = prf_alg_at(n)); n++) {
		assert_ptr_equal(prf_alg_by_name(p->name), p);
		assert_int_equal(p->weak, p->id == PRF_HMAC_MD5);
	}
	assert_int_equal(encr_alg_by_name("aes-gcm-16")->id, ENCR_AES_GCM_16);
	assert_int_equal(integ_alg_by_name("hmac-sha256-128")->id, AUTH_HMAC_SHA2_256_128);
	assert_null(encr_alg_by_name("rot13"));
	assert_null(integ_alg_by_name(""));
	assert_null(prf_alg_by_name("prf-hmac-sha3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encr_sizes),
		cmocka_unit_test(test_encr_keys),
		cmocka_unit_test(test_integ_and_prf),
		cmocka_unit_test(test_names_and_weak),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
