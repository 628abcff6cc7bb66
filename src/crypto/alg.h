/* Algorithm registry keyed by IANA transform IDs (IKEv2 "Transform Type
 * Values", RFC 7296 3.3.2 and the IANA registry). The same IDs are used for
 * manual SAs, IKEv2 proposals and (mapped) IKEv1, so there is one table. */
#ifndef ESPRIT_CRYPTO_ALG_H
#define ESPRIT_CRYPTO_ALG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Transform Type 1: Encryption Algorithm */
enum encr_id {
	ENCR_NONE = 0, /* AH-only SA */
	ENCR_DES_IV64 = 1,
	ENCR_DES = 2,
	ENCR_3DES = 3,
	ENCR_NULL = 11,
	ENCR_AES_CBC = 12,
	ENCR_AES_CTR = 13,
	ENCR_AES_CCM_8 = 14,
	ENCR_AES_CCM_12 = 15,
	ENCR_AES_CCM_16 = 16,
	ENCR_AES_GCM_8 = 18,
	ENCR_AES_GCM_12 = 19,
	ENCR_AES_GCM_16 = 20,
	ENCR_NULL_AUTH_AES_GMAC = 21,
	ENCR_CHACHA20_POLY1305 = 28,
};

/* Transform Type 3: Integrity Algorithm */
enum integ_id {
	AUTH_NONE = 0,
	AUTH_HMAC_MD5_96 = 1,
	AUTH_HMAC_SHA1_96 = 2,
	AUTH_AES_XCBC_96 = 5,
	AUTH_AES_CMAC_96 = 8,
	AUTH_HMAC_SHA2_256_128 = 12,
	AUTH_HMAC_SHA2_384_192 = 13,
	AUTH_HMAC_SHA2_512_256 = 14,
};

/* Transform Type 2: Pseudorandom Function (used by IKE) */
enum prf_id {
	PRF_HMAC_MD5 = 1,
	PRF_HMAC_SHA1 = 2,
	PRF_AES128_XCBC = 4,
	PRF_HMAC_SHA2_256 = 5,
	PRF_HMAC_SHA2_384 = 6,
	PRF_HMAC_SHA2_512 = 7,
	PRF_AES128_CMAC = 8,
};

struct encr_alg {
	uint16_t id;          /* enum encr_id */
	const char *name;     /* "aes-gcm-16" (IKEv2 / show output) */
	uint16_t key_bits[3]; /* allowed key sizes in bits, 0-terminated unless all
			 * three are used; {0} = fixed */
	uint16_t fixed_key_bits; /* for algorithms without a key-length attribute */
	uint8_t salt_len;     /* bytes appended to the key (GCM/GMAC/CTR: 4, ChaCha: 4) */
	uint8_t iv_len;       /* explicit IV on the wire */
	uint8_t block_len;    /* padding alignment for ESP (>= 4) */
	uint8_t icv_len;      /* AEAD tag length, 0 for non-AEAD */
	bool aead;            /* provides integrity itself */
	bool auth_only;       /* GMAC: authenticates, does not encrypt */
	bool weak;            /* warn when configured (DES) */
};

struct integ_alg {
	uint16_t id; /* enum integ_id */
	const char *name;
	uint16_t key_len; /* bytes */
	uint16_t icv_len; /* truncated output, bytes */
	bool weak;
};

const struct encr_alg *encr_alg_find(uint16_t id);
const struct integ_alg *integ_alg_find(uint16_t id);
/* key_bits 0 means "the algorithm's default": the fixed size, or the
 * first listed size (128 for AES). */
bool encr_key_bits_ok(const struct encr_alg *a, uint16_t key_bits);
uint16_t encr_key_bits_default(const struct encr_alg *a);
/* Key bytes for an SA: key_bits/8 + salt (or the fixed size). Also 0 if
 * the key size is not allowed: check encr_key_bits_ok() first (ENCR_NULL
 * legitimately has 0 bytes of keying material). */
size_t encr_keymat_len(const struct encr_alg *a, uint16_t key_bits);

struct prf_alg {
	uint16_t id; /* enum prf_id */
	const char *name;
	uint16_t out_len; /* bytes of one PRF output */
	uint16_t key_len; /* preferred key length (RFC 7296 2.14: SK_d etc.) */
	bool weak;
};

const struct prf_alg *prf_alg_find(uint16_t id);

/* Lookups by the registry names used in `show` output and IKEv2 proposal
 * logs ("aes-cbc", "aes-gcm-16", "hmac-sha256-128", "prf-hmac-sha256").
 * Case-sensitive; NULL if unknown. */
const struct encr_alg *encr_alg_by_name(const char *name);
const struct integ_alg *integ_alg_by_name(const char *name);
const struct prf_alg *prf_alg_by_name(const char *name);

/* Iteration for listings: the n-th entry, or NULL past the end. */
const struct encr_alg *encr_alg_at(size_t n);
const struct integ_alg *integ_alg_at(size_t n);
const struct prf_alg *prf_alg_at(size_t n);

#endif
