/* Algorithm registry: one row per IANA transform ID (RFC 7296 3.3.2 and
 * the IANA "IKEv2 Transform Type" registries). docs/algorithms.md lists the
 * same table with the IOS transform names that map onto it. */
#include "crypto/alg.h"

#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define AES_SIZES {128, 192, 256}

/* block_len is the ESP padding alignment (RFC 4303 2.4: at least 4).
 * Counter-mode and AEAD ciphers need no block alignment (RFC 3686 3.2,
 * RFC 4106 3.2, RFC 4543 3.2, RFC 7634 2), so they align to 4. */
static const struct encr_alg encr_algs[] = {
	/* RFC 2410: NULL encryption, no IV, no key. */
	{.id = ENCR_NULL, .name = "null", .key_bits = {0}, .fixed_key_bits = 0,
	 .salt_len = 0, .iv_len = 0, .block_len = 4},
	/* RFC 2405: DES-CBC, 8-byte IV. 56-bit key: broken. */
	{.id = ENCR_DES, .name = "des", .key_bits = {0}, .fixed_key_bits = 64,
	 .salt_len = 0, .iv_len = 8, .block_len = 8, .weak = true},
	/* RFC 2451: 3DES-CBC (EDE, three independent keys). */
	{.id = ENCR_3DES, .name = "3des", .key_bits = {0}, .fixed_key_bits = 192,
	 .salt_len = 0, .iv_len = 8, .block_len = 8},
	/* RFC 3602: AES-CBC, 16-byte IV. */
	{.id = ENCR_AES_CBC, .name = "aes-cbc", .key_bits = AES_SIZES,
	 .salt_len = 0, .iv_len = 16, .block_len = 16},
	/* RFC 3686 5.1: key || 4-byte nonce; 8-byte IV. */
	{.id = ENCR_AES_CTR, .name = "aes-ctr", .key_bits = AES_SIZES,
	 .salt_len = 4, .iv_len = 8, .block_len = 4},
	/* RFC 4106 8.1: key || 4-byte salt; 8-byte IV; ICV 8, 12 or 16. */
	{.id = ENCR_AES_GCM_8, .name = "aes-gcm-8", .key_bits = AES_SIZES,
	 .salt_len = 4, .iv_len = 8, .block_len = 4, .icv_len = 8, .aead = true},
	{.id = ENCR_AES_GCM_12, .name = "aes-gcm-12", .key_bits = AES_SIZES,
	 .salt_len = 4, .iv_len = 8, .block_len = 4, .icv_len = 12, .aead = true},
	{.id = ENCR_AES_GCM_16, .name = "aes-gcm-16", .key_bits = AES_SIZES,
	 .salt_len = 4, .iv_len = 8, .block_len = 4, .icv_len = 16, .aead = true},
	/* RFC 4543 3.1/3.2: GCM with empty plaintext; 16-byte ICV. */
	{.id = ENCR_NULL_AUTH_AES_GMAC, .name = "aes-gmac", .key_bits = AES_SIZES,
	 .salt_len = 4, .iv_len = 8, .block_len = 4, .icv_len = 16, .aead = true,
	 .auth_only = true},
	/* RFC 7634 2: 256-bit key || 4-byte salt; 8-byte IV; 16-byte ICV. */
	{.id = ENCR_CHACHA20_POLY1305, .name = "chacha20-poly1305", .key_bits = {0},
	 .fixed_key_bits = 256, .salt_len = 4, .iv_len = 8, .block_len = 4, .icv_len = 16,
	 .aead = true},
};

static const struct integ_alg integ_algs[] = {
	/* RFC 2403 */
	{.id = AUTH_HMAC_MD5_96, .name = "hmac-md5-96", .key_len = 16, .icv_len = 12,
	 .weak = true},
	/* RFC 2404 */
	{.id = AUTH_HMAC_SHA1_96, .name = "hmac-sha1-96", .key_len = 20, .icv_len = 12},
	/* RFC 3566 4.1: 128-bit key */
	{.id = AUTH_AES_XCBC_96, .name = "aes-xcbc-96", .key_len = 16, .icv_len = 12},
	/* RFC 4494 2 */
	{.id = AUTH_AES_CMAC_96, .name = "aes-cmac-96", .key_len = 16, .icv_len = 12},
	/* RFC 4868 2.1.1 and 2.6: key = hash output size, ICV = half of it */
	{.id = AUTH_HMAC_SHA2_256_128, .name = "hmac-sha256-128", .key_len = 32, .icv_len = 16},
	{.id = AUTH_HMAC_SHA2_384_192, .name = "hmac-sha384-192", .key_len = 48, .icv_len = 24},
	{.id = AUTH_HMAC_SHA2_512_256, .name = "hmac-sha512-256", .key_len = 64, .icv_len = 32},
};

static const struct prf_alg prf_algs[] = {
	{.id = PRF_HMAC_MD5, .name = "prf-hmac-md5", .out_len = 16, .key_len = 16, .weak = true},
	{.id = PRF_HMAC_SHA1, .name = "prf-hmac-sha1", .out_len = 20, .key_len = 20},
	/* RFC 4434 2 */
	{.id = PRF_AES128_XCBC, .name = "prf-aes128-xcbc", .out_len = 16, .key_len = 16},
	/* RFC 4868 2.1.2 */
	{.id = PRF_HMAC_SHA2_256, .name = "prf-hmac-sha256", .out_len = 32, .key_len = 32},
	{.id = PRF_HMAC_SHA2_384, .name = "prf-hmac-sha384", .out_len = 48, .key_len = 48},
	{.id = PRF_HMAC_SHA2_512, .name = "prf-hmac-sha512", .out_len = 64, .key_len = 64},
	/* RFC 4615 */
	{.id = PRF_AES128_CMAC, .name = "prf-aes128-cmac", .out_len = 16, .key_len = 16},
};

const struct encr_alg *encr_alg_find(uint16_t id)
{
	for (size_t i = 0; i < ARRAY_LEN(encr_algs); i++)
		if (encr_algs[i].id == id)
			return &encr_algs[i];
	return NULL;
}

const struct integ_alg *integ_alg_find(uint16_t id)
{
	for (size_t i = 0; i < ARRAY_LEN(integ_algs); i++)
		if (integ_algs[i].id == id)
			return &integ_algs[i];
	return NULL;
}

const struct prf_alg *prf_alg_find(uint16_t id)
{
	for (size_t i = 0; i < ARRAY_LEN(prf_algs); i++)
		if (prf_algs[i].id == id)
			return &prf_algs[i];
	return NULL;
}

const struct encr_alg *encr_alg_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(encr_algs); i++)
		if (strcmp(encr_algs[i].name, name) == 0)
			return &encr_algs[i];
	return NULL;
}

const struct integ_alg *integ_alg_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(integ_algs); i++)
		if (strcmp(integ_algs[i].name, name) == 0)
			return &integ_algs[i];
	return NULL;
}

const struct prf_alg *prf_alg_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(prf_algs); i++)
		if (strcmp(prf_algs[i].name, name) == 0)
			return &prf_algs[i];
	return NULL;
}

const struct encr_alg *encr_alg_at(size_t n)
{
	return n < ARRAY_LEN(encr_algs) ? &encr_algs[n] : NULL;
}

const struct integ_alg *integ_alg_at(size_t n)
{
	return n < ARRAY_LEN(integ_algs) ? &integ_algs[n] : NULL;
}

const struct prf_alg *prf_alg_at(size_t n)
{
	return n < ARRAY_LEN(prf_algs) ? &prf_algs[n] : NULL;
}

uint16_t encr_key_bits_default(const struct encr_alg *a)
{
	return a->key_bits[0] ? a->key_bits[0] : a->fixed_key_bits;
}

bool encr_key_bits_ok(const struct encr_alg *a, uint16_t key_bits)
{
	if (!a)
		return false;
	if (key_bits == 0)
		return true;
	if (a->key_bits[0] == 0)
		return key_bits == a->fixed_key_bits;
	for (size_t i = 0; i < ARRAY_LEN(a->key_bits) && a->key_bits[i]; i++)
		if (a->key_bits[i] == key_bits)
			return true;
	return false;
}

size_t encr_keymat_len(const struct encr_alg *a, uint16_t key_bits)
{
	if (!encr_key_bits_ok(a, key_bits))
		return 0;
	if (key_bits == 0)
		key_bits = encr_key_bits_default(a);
	return (size_t)key_bits / 8 + a->salt_len;
}
