/* IKEv2 key derivation (RFC 7296 2.14, 2.17, 2.18) and the shared-key
 * AUTH payload (2.15). Every output is a struct secret the caller frees
 * (ikev2_keys_free / ikev2_child_keys_free wipe them). */
#ifndef ESPRIT_IKEV2_KEYS_H
#define ESPRIT_IKEV2_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secret.h"

/* The negotiated IKE SA (or Child SA) algorithms. integ is 0 with an
 * AEAD cipher (RFC 5282 7.1: no SK_a; SK_e includes the salt). */
struct ikev2_algs {
	uint16_t prf;       /* enum prf_id (unused for a Child SA) */
	uint16_t encr;      /* enum encr_id */
	uint16_t encr_bits; /* Key Length attribute, 0 = algorithm default */
	uint16_t integ;     /* enum integ_id, 0 for AEAD */
};

struct ikev2_keys {
	struct secret *skeyseed;
	struct secret *sk_d;
	struct secret *sk_ai, *sk_ar; /* NULL with AEAD */
	struct secret *sk_ei, *sk_er; /* key || salt */
	struct secret *sk_pi, *sk_pr;
};

/* Keys of one Child SA pair, in KEYMAT order (2.17): initiator-to-
 * responder first, encryption key before integrity key. */
struct ikev2_child_keys {
	struct secret *encr_i, *integ_i; /* integ NULL with AEAD */
	struct secret *encr_r, *integ_r;
};

/* Bytes of one encryption / integrity key for `a` (0 on unknown ids). */
size_t ikev2_encr_key_len(const struct ikev2_algs *a);
size_t ikev2_integ_key_len(const struct ikev2_algs *a);

/* IKE_SA_INIT (2.14):
 *   SKEYSEED = prf(Ni | Nr, g^ir)  (XCBC/CMAC PRF: first 8 bytes of each)
 *   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *                = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 * Returns 0, or -1 (nothing allocated in *k). */
int ikev2_keys_derive(const struct ikev2_algs *a, const struct secret *g_ir, const uint8_t *ni,
                      size_t ni_len, const uint8_t *nr, size_t nr_len, const uint8_t spi_i[8],
                      const uint8_t spi_r[8], struct ikev2_keys *k);

/* Rekeying the IKE SA (2.18): SKEYSEED = prf_old(SK_d (old), g^ir (new) |
 * Ni | Nr), then the seven keys as above with the new SA's algorithms and
 * SPIs. */
int ikev2_keys_derive_rekey(const struct ikev2_algs *a, uint16_t old_prf,
                            const struct secret *old_sk_d, const struct secret *g_ir,
                            const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                            const uint8_t spi_i[8], const uint8_t spi_r[8], struct ikev2_keys *k);

void ikev2_keys_free(struct ikev2_keys *k); /* wipes; fields set to NULL */

/* Child SA KEYMAT (2.17): prf+(SK_d, [g^ir (new) |] Ni | Nr), g_ir NULL
 * without PFS. child->prf is ignored: `prf` is the IKE SA's. */
int ikev2_child_keys_derive(uint16_t prf, const struct secret *sk_d, const struct ikev2_algs *child,
                            const struct secret *g_ir, const uint8_t *ni, size_t ni_len,
                            const uint8_t *nr, size_t nr_len, struct ikev2_child_keys *k);

void ikev2_child_keys_free(struct ikev2_child_keys *k);

/* <SignedOctets> (2.15): RealMessage | Nonce(peer) | prf(SK_p, ID'),
 * where ID' is the ID payload body after the generic header (ID Type,
 * RESERVED, data: for a parsed ID payload that is ikev2_pl.body, reserved
 * bytes as received). The initiator signs its message 1 with Nr and SK_pi;
 * the responder its message 2 with Ni and SK_pr. Returns a new secret
 * (it is only as secret as the handshake, but we keep it tidy) or NULL. */
struct secret *ikev2_auth_octets(uint16_t prf, const uint8_t *msg, size_t msg_len,
                                 const uint8_t *nonce, size_t nonce_len, const struct secret *sk_p,
                                 const uint8_t *id_body, size_t id_len);

/* Shared-key AUTH (2.15):
 *   AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
 * out gets prf_out_len(prf) bytes; *out_len set. Returns 0 or -1. */
int ikev2_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len, const uint8_t *msg,
                   size_t msg_len, const uint8_t *nonce, size_t nonce_len,
                   const struct secret *sk_p, const uint8_t *id_body, size_t id_len, uint8_t *out,
                   size_t *out_len);

#endif
