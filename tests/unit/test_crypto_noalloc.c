/* The per-packet calls (cipher_crypt, cipher_aead, mac_compute,
 * mac_verify) must not allocate (HMAC: see mac_allowed()): contexts are
 * keyed once per SA
 * (cipher.h). OpenSSL's allocator is replaced by a counting one before
 * OpenSSL does anything, and the counter must not move while packets are
 * processed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "crypto/mb.h"

static unsigned long n_alloc;

static void *count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	__atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED);
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	__atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED);
	return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

static const uint16_t encr_ids[] = {ENCR_NULL, ENCR_DES, ENCR_3DES, ENCR_AES_CBC, ENCR_AES_CTR};
static const uint16_t aead_ids[] = {ENCR_AES_GCM_8, ENCR_AES_GCM_16, ENCR_NULL_AUTH_AES_GMAC,
				    ENCR_CHACHA20_POLY1305};
static const uint16_t integ_ids[] = {AUTH_HMAC_MD5_96,      AUTH_HMAC_SHA1_96,
				     AUTH_AES_XCBC_96,      AUTH_AES_CMAC_96,
				     AUTH_HMAC_SHA2_256_128, AUTH_HMAC_SHA2_512_256};

static void test_cipher_no_alloc(void **state)
{
	(void)state;
	uint8_t key[64] = {1}, iv[16] = {2}, buf[256] = {3};

	for (size_t i = 0; i < sizeof(encr_ids) / sizeof(encr_ids[0]); i++) {
		const struct encr_alg *a = encr_alg_find(encr_ids[i]);
		size_t klen = encr_keymat_len(a, 0);
		struct cipher *e = cipher_new(a->id, 0, key, klen, true);
		struct cipher *d = cipher_new(a->id, 0, key, klen, false);
		unsigned long before;

		assert_non_null(e);
		assert_non_null(d);
		cipher_crypt(e, iv, buf, 64); /* warm up */
		before = n_alloc;
		for (int p = 0; p < 50; p++) {
			assert_int_equal(cipher_crypt(e, iv, buf, sizeof(buf)), 0);
			assert_int_equal(cipher_crypt(d, iv, buf, sizeof(buf)), 0);
		}
		if (n_alloc != before)
			fail_msg("%s: %lu allocations in the packet path", a->name, n_alloc - before);
		cipher_free(e);
		cipher_free(d);
	}
}

static void test_aead_no_alloc(void **state)
{
	(void)state;
	uint8_t key[64] = {1}, iv[8] = {2}, buf[256] = {3}, icv[16], spi[8] = {4};
	struct aad aad = {.p = {spi}, .len = {8}, .n = 1};

	for (size_t i = 0; i < sizeof(aead_ids) / sizeof(aead_ids[0]); i++) {
		const struct encr_alg *a = encr_alg_find(aead_ids[i]);
		size_t klen = encr_keymat_len(a, 0);
		struct cipher *e = cipher_new(a->id, 0, key, klen, true);
		struct cipher *d = cipher_new(a->id, 0, key, klen, false);
		unsigned long before;

		assert_non_null(e);
		assert_non_null(d);
		cipher_aead(e, iv, &aad, buf, 64, icv); /* warm up */
		before = n_alloc;
		for (int p = 0; p < 50; p++) {
			assert_int_equal(cipher_aead(e, iv, &aad, buf, sizeof(buf), icv), 0);
			assert_int_equal(cipher_aead(d, iv, &aad, buf, sizeof(buf), icv), 0);
			icv[0] ^= 1; /* a forgery costs no allocation either */
			assert_int_equal(cipher_aead(d, iv, &aad, buf, sizeof(buf), icv), -1);
		}
		if (n_alloc != before)
			fail_msg("%s: %lu allocations in the packet path", a->name, n_alloc - before);
		cipher_free(e);
		cipher_free(d);
	}
}

/* With intel-ipsec-mb, AES-GCM makes no OpenSSL context when the SA is
 * set up (~1.2 KB per SA and worker): ESP's AAD always fits the library.
 * The first packet whose AAD does not (an IKE fragment's 36 bytes) keys
 * one; later ones allocate nothing, and the result is right both ways. */
static void test_gcm_context_on_demand(void **state)
{
	(void)state;
	uint8_t key[20] = {1}, iv[8] = {2}, buf[64] = {3}, ref[64], icv[16], hdr[36] = {4};
	struct aad esp = {.p = {hdr}, .len = {8}, .n = 1}, frag = {.p = {hdr}, .len = {36}, .n = 1};
	unsigned long before;

	if (!mb_version())
		skip(); /* OpenSSL alone: the context is made with the cipher */
	memcpy(ref, buf, sizeof(buf));
	before = n_alloc;
	struct cipher *e = cipher_new(ENCR_AES_GCM_16, 128, key, sizeof(key), true);
	struct cipher *d = cipher_new(ENCR_AES_GCM_16, 128, key, sizeof(key), false);
	assert_non_null(e);
	assert_non_null(d);
	for (int p = 0; p < 10; p++) {
		assert_int_equal(cipher_aead(e, iv, &esp, buf, sizeof(buf), icv), 0);
		assert_int_equal(cipher_aead(d, iv, &esp, buf, sizeof(buf), icv), 0);
	}
	if (n_alloc != before)
		fail_msg("%lu OpenSSL allocations for a GCM SA that only saw ESP", n_alloc - before);
	assert_int_equal(cipher_aead(e, iv, &frag, buf, sizeof(buf), icv), 0);
	assert_true(n_alloc > before); /* the context, keyed now */
	assert_int_equal(cipher_aead(d, iv, &frag, buf, sizeof(buf), icv), 0); /* d's, too */
	assert_memory_equal(buf, ref, sizeof(buf));
	before = n_alloc;
	for (int p = 0; p < 10; p++) {
		assert_int_equal(cipher_aead(e, iv, &frag, buf, sizeof(buf), icv), 0);
		assert_int_equal(cipher_aead(d, iv, &frag, buf, sizeof(buf), icv), 0);
		assert_int_equal(cipher_aead(e, iv, &esp, buf, sizeof(buf), icv), 0);
		assert_int_equal(cipher_aead(d, iv, &esp, buf, sizeof(buf), icv), 0);
	}
	if (n_alloc != before)
		fail_msg("%lu allocations after the context was keyed", n_alloc - before);
	assert_memory_equal(buf, ref, sizeof(buf));
	icv[0] ^= 1;
	assert_int_equal(cipher_aead(d, iv, &frag, buf, sizeof(buf), icv), -1);
	cipher_free(e);
	cipher_free(d);
}

/* HMAC is the exception on OpenSSL 3.0: re-initialising a keyed HMAC
 * context copies the inner and outer digest states, and a provider digest
 * context cannot be copied without dupctx(), which allocates (3.0 has no
 * copyctx). That is 2 small allocations per packet, bounded; the test
 * holds it to that so that any growth shows. XCBC and CMAC allocate
 * nothing. */
static unsigned long mac_allowed(uint16_t id)
{
	return id == AUTH_AES_XCBC_96 || id == AUTH_AES_CMAC_96 ? 0 : 2;
}

static void test_mac_no_alloc(void **state)
{
	(void)state;
	uint8_t key[64] = {1}, buf[256] = {3}, icv[32];
	struct aad p = {.p = {buf, buf + 8, buf + 12}, .len = {8, 4, 200}, .n = 3};

	for (size_t i = 0; i < sizeof(integ_ids) / sizeof(integ_ids[0]); i++) {
		const struct integ_alg *a = integ_alg_find(integ_ids[i]);
		struct mac *m = mac_new(a->id, key, a->key_len);
		unsigned long before;

		assert_non_null(m);
		assert_int_equal(mac_compute(m, &p, icv), 0); /* warm up */
		before = n_alloc;
		for (int n = 0; n < 50; n++) {
			assert_int_equal(mac_compute(m, &p, icv), 0);
			assert_true(mac_verify(m, &p, icv));
		}
		if (n_alloc - before > 100 * mac_allowed(a->id))
			fail_msg("%s: %lu allocations in 100 calls", a->name, n_alloc - before);
		mac_free(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cipher_no_alloc),
		cmocka_unit_test(test_aead_no_alloc),
		cmocka_unit_test(test_gcm_context_on_demand),
		cmocka_unit_test(test_mac_no_alloc),
	};

	/* must come before the first OpenSSL allocation */
	if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
