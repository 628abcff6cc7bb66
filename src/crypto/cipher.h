/* Per-SA, per-direction crypto contexts for ESP and AH.
 *
 * Set up once when an SA is installed; the hot path only changes the IV
 * (no allocation per packet). A context is used by one thread at a time:
 * the data plane keeps one per SA per worker.
 */
#ifndef ESPRIT_CRYPTO_CIPHER_H
#define ESPRIT_CRYPTO_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/alg.h"

/* Additional authenticated data in up to three pieces (ESP with ESN has
 * SPI || seq-hi || seq-lo, which is not contiguous on the wire; GMAC also
 * authenticates IV and payload). */
struct aad {
	const uint8_t *p[3];
	size_t len[3];
	int n;
};

struct cipher; /* opaque */

/* key: key bytes followed by the salt (encr_keymat_len() bytes in all).
 * key_bits 0 means the algorithm's default (encr_key_bits_default()).
 * Returns NULL (and logs why) if the algorithm, key size or OpenSSL fails. */
struct cipher *cipher_new(uint16_t encr_id, uint16_t key_bits, const uint8_t *key,
			  size_t key_len, bool encrypt);
void cipher_free(struct cipher *c); /* wipes keys; NULL is fine */
/* Another cipher with c's key and direction, for another thread (a
 * context is single-threaded): read-only key material (intel-ipsec-mb's
 * GCM key schedule) is shared, not copied; each is freed on its own, in
 * any order. c must not have processed a packet yet. NULL on failure. */
struct cipher *cipher_clone(const struct cipher *c);
const struct encr_alg *cipher_alg(const struct cipher *c);

/* Non-AEAD (NULL, DES, 3DES, AES-CBC, AES-CTR): transform `len` bytes in
 * place with the explicit IV `iv` (iv_len bytes). For CBC `len` must be a
 * multiple of block_len. Returns 0, or -1 on error. */
int cipher_crypt(struct cipher *c, const uint8_t *iv, uint8_t *data, size_t len);

/* AEAD (GCM, GMAC, ChaCha20-Poly1305): nonce = salt || iv (RFC 4106 4,
 * RFC 4543, RFC 7634 2). Encrypt: encrypts in place and writes icv_len
 * bytes to icv. Decrypt: verifies icv, decrypts in place; returns -1 if the
 * ICV does not verify (data content then undefined). For GMAC, `data` is
 * authenticated only and is expected to be part of the AAD by the caller:
 * pass len 0 and put everything in aad. (If len > 0 anyway, data is
 * authenticated after the aad pieces and left unchanged.) The tag length
 * is the algorithm's icv_len; aad may be NULL. */
int cipher_aead(struct cipher *c, const uint8_t *iv, const struct aad *aad, uint8_t *data,
		size_t len, uint8_t *icv);

/* Fill buf with len random bytes (IVs, SPIs). Returns 0 or -1. */
int crypto_random(void *buf, size_t len);

/* Integrity: HMAC-*, AES-XCBC-MAC-96 (RFC 3566), AES-CMAC-96 (RFC 4494).
 * key_len must be the algorithm's key_len (RFC 4868 2.1.1 etc.). Like
 * struct cipher, a struct mac is used by one thread at a time. */
struct mac; /* opaque */

struct mac *mac_new(uint16_t integ_id, const uint8_t *key, size_t key_len);
void mac_free(struct mac *m);
const struct integ_alg *mac_alg(const struct mac *m);
/* Compute the truncated ICV over the concatenation of the pieces. */
int mac_compute(struct mac *m, const struct aad *pieces, uint8_t *icv);
/* Constant-time verify (CRYPTO_memcmp). Returns true if it matches. */
bool mac_verify(struct mac *m, const struct aad *pieces, const uint8_t *icv);

/* Untruncated PRF and prf+ (RFC 7296 2.13), for IKE. out_len is the PRF's
 * natural output (or 16 for XCBC/CMAC). */
size_t prf_out_len(uint16_t prf_id);
int prf(uint16_t prf_id, const uint8_t *key, size_t key_len, const uint8_t *data,
	size_t data_len, uint8_t *out);
int prf_plus(uint16_t prf_id, const uint8_t *key, size_t key_len, const uint8_t *seed,
	     size_t seed_len, uint8_t *out, size_t out_len);

#endif
