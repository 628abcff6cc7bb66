/* Intel's multi-buffer crypto library (intel-ipsec-mb, Debian's
 * libipsec-mb) for the ESP hot path:
 *   - AES-GCM through its direct API (mb_gcm_*): VAES/AVX-512 code with no
 *     per-call parameter handling; on the bench machine ~100 ns to seal a
 *     1400-byte packet against ~570 ns through OpenSSL 3's EVP layer, whose
 *     OSSL_PARAM lookups (strcmp) cost more than the cipher for small
 *     packets. cipher.c uses it for ENCR_AES_GCM_8/12/16 when present.
 *   - Batch sealing of AES-CBC + HMAC-SHA-1/2 (mb_key, mb_mgr, below).
 * The environment variable ESPRIT_IPSEC_MB=0 turns the library off (every
 * packet then goes through OpenSSL), for debugging and comparison.
 *
 * Batch sealing:
 *
 * CBC encryption is serial within a packet (each block waits for the one
 * before), so one packet leaves the AES unit mostly idle; the library
 * runs up to 16 packets' CBC chains and SHA computations side by side in
 * vector registers. On the bench machine a batch of 16 seals in ~470 ns a
 * 1400-byte packet against ~2300 ns one by one with OpenSSL; a batch of 1
 * is ~3x slower than OpenSSL, so callers use it for batches of
 * MB_MIN_BATCH and more (dataplane/esp.c).
 *
 * Built only where the library is (HAVE_IPSEC_MB, x86-64); elsewhere
 * mb_mgr_new() and mb_key_new() return NULL and callers stay on OpenSSL.
 */
#ifndef ESPRIT_CRYPTO_MB_H
#define ESPRIT_CRYPTO_MB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* AES-GCM (128/192/256-bit key, RFC 4106) for ESP: a 12-byte nonce,
 * AAD of up to MB_GCM_AAD_MAX bytes, an 8, 12 or 16-byte tag. NULL if the
 * library is absent or off: the caller uses OpenSSL. A key is read-only
 * after mb_gcm_new: threads may share it. */
#define MB_GCM_AAD_MAX 32
/* The library's version, or NULL if it is absent or turned off. */
const char *mb_version(void);
/* Turn the library off for this process (`no crypto engine offload
 * ipsec-mb`): everything stays on OpenSSL. Only before the first key or
 * manager is made; later calls change nothing. */
void mb_disable(void);

struct mb_gcm;
struct mb_gcm *mb_gcm_new(const uint8_t *key, size_t key_len);
/* Another owner of g (it is read-only: the workers of one SA share it);
 * each owner calls mb_gcm_free, the last one wipes it. Thread safe. */
struct mb_gcm *mb_gcm_ref(struct mb_gcm *g);
void mb_gcm_free(struct mb_gcm *g);
/* Encrypt len bytes in place, tag to tag. */
void mb_gcm_seal(const struct mb_gcm *g, const uint8_t nonce[12], const uint8_t *aad,
		 size_t aad_len, uint8_t *data, size_t len, uint8_t *tag, size_t tag_len);
/* Decrypt len bytes in place; true if tag (tag_len bytes) verifies
 * (constant-time compare); data is undefined otherwise. */
bool mb_gcm_open(const struct mb_gcm *g, const uint8_t nonce[12], const uint8_t *aad,
		 size_t aad_len, uint8_t *data, size_t len, const uint8_t *tag, size_t tag_len);

#define MB_MIN_BATCH 4 /* measured break-even with OpenSSL is ~3 packets */
#define MB_MAX_JOBS 64 /* in flight per manager between two flushes */

struct mb_key; /* per SA: expanded AES key, HMAC inner/outer states */
struct mb_mgr; /* per worker thread */

/* Keys for encr_id (ENCR_AES_CBC, 128/192/256-bit) with integ_id
 * (AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128/384_192/512_256). NULL if
 * the pair is not supported here (or the library is absent): the caller
 * keeps using cipher_crypt()/mac_compute(). Keys are copied; mb_key_free
 * wipes them. */
struct mb_key *mb_key_new(uint16_t encr_id, const uint8_t *ekey, size_t eklen, uint16_t integ_id,
			  const uint8_t *ikey, size_t iklen);
void mb_key_free(struct mb_key *k);

/* A manager for one thread; NULL if the library or the CPU cannot. */
struct mb_mgr *mb_mgr_new(void);
void mb_mgr_free(struct mb_mgr *m);

/* One seal, in place: CBC-encrypt ct_len bytes at ct under the 16-byte
 * iv, then HMAC the auth_len bytes at auth (which include the ciphertext)
 * and write the truncated ICV to tag. tag may lie inside the
 * authenticated bytes (ESP with ESN puts seq-hi where the ICV goes, RFC
 * 4303 3.3.2.1): it is written after they are read. Nothing is done
 * until mb_flush(). Returns 0, or -1 if MB_MAX_JOBS are already queued. */
int mb_seal_queue(struct mb_mgr *m, const struct mb_key *k, uint8_t *auth, size_t auth_len,
		  uint8_t *ct, size_t ct_len, const uint8_t *iv, uint8_t *tag, void *user);
/* One HMAC alone (an inbound ESP packet's ICV, to be compared by the
 * caller): over len bytes at data, truncated ICV to tag. */
int mb_hmac_queue(struct mb_mgr *m, const struct mb_key *k, const uint8_t *data, size_t len,
		  uint8_t *tag, void *user);

/* Run every queued seal; done(user, ok) is called once for each, in any
 * order. Returns how many were queued. */
unsigned mb_flush(struct mb_mgr *m, void (*done)(void *user, bool ok));

#endif
