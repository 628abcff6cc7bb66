/* Private to src/crypto: MACs outside the ESP/AH integrity table, for the
 * IKE PRFs (prf.c). Not part of the contract with other layers. */
#ifndef ESPRIT_CRYPTO_MAC_RAW_H
#define ESPRIT_CRYPTO_MAC_RAW_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/cipher.h"

#define MAC_MAX_LEN 64 /* HMAC-SHA-512 */

enum mac_kind {
	MAC_KIND_HMAC,
	MAC_KIND_CMAC, /* AES-128-CMAC, RFC 4493 */
	MAC_KIND_XCBC, /* AES-XCBC-MAC, RFC 3566 */
};

/* HMAC takes any key length (digest: "SHA256", ...); CMAC and XCBC take
 * exactly 16 bytes. mac_alg() of the result is NULL; mac_compute() writes
 * the untruncated output. */
struct mac *mac_new_raw(enum mac_kind kind, const char *digest, const uint8_t *key,
			size_t key_len);
/* Untruncated output into out (MAC_MAX_LEN bytes of room); returns its
 * length, or 0 on error. */
size_t mac_compute_full(struct mac *m, const struct aad *pieces, uint8_t *out);

#endif
