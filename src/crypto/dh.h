/* Diffie-Hellman groups for IKE (IANA "Transform Type 4 - Key Exchange
 * Method Transform IDs"), on OpenSSL 3 EVP_PKEY.
 *
 * Wire formats (what goes into a KE payload and what comes out as g^ir):
 *  MODP (RFC 2409 6, RFC 3526): public value big-endian, left-padded with
 *    zeros to the length of the prime; the shared secret likewise
 *    (RFC 7296 2.14: "padded with zeros if necessary to make it the length
 *    of the modulus").
 *  ECP (RFC 5903 7): public value x || y (no 0x04 prefix), each coordinate
 *    padded to the field size; the shared secret is the x coordinate only.
 *  Curve25519/Curve448 (RFC 8031 2): raw 32/56-byte little-endian u.
 *    An all-zero shared secret is rejected (RFC 8031 2.3).
 */
#ifndef ESPRIT_CRYPTO_DH_H
#define ESPRIT_CRYPTO_DH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/secret.h"

enum dh_group_id {
	DH_NONE = 0,
	DH_MODP_768 = 1,
	DH_MODP_1024 = 2,
	DH_MODP_1536 = 5,
	DH_MODP_2048 = 14,
	DH_MODP_3072 = 15,
	DH_MODP_4096 = 16,
	DH_MODP_6144 = 17,
	DH_MODP_8192 = 18,
	DH_ECP_256 = 19,
	DH_ECP_384 = 20,
	DH_ECP_521 = 21,
	DH_CURVE25519 = 31,
	DH_CURVE448 = 32,
};

/* Largest public value of any supported group (MODP 8192). */
#define DH_MAX_PUBLIC_LEN 1024

struct dh; /* opaque; one key pair of one group */

/* Generate a fresh private key in `group`. NULL if the group is not
 * supported or OpenSSL fails (logged). */
struct dh *dh_new(uint16_t group);
/* Wipes and frees the private key; NULL is fine. */
void dh_free(struct dh *dh);
uint16_t dh_group(const struct dh *dh);

/* Our public value in wire format. *len: in = room in out, out = bytes
 * written (always dh_public_len(group)). Returns 0 or -1. */
int dh_public(struct dh *dh, uint8_t *out, size_t *len);

/* g^ir from the peer's public value in wire format. The peer value is
 * validated: exact length; MODP 1 < y < p-1; ECP on the curve; X25519/448
 * shared secret not all zero. On success *out is a new secret the caller
 * frees. Returns 0, or -1 if the value is invalid (nothing allocated). */
int dh_shared(struct dh *dh, const uint8_t *peer, size_t len, struct secret **out);

/* Bytes of the public value on the wire; 0 if the group is unsupported. */
size_t dh_public_len(uint16_t group);
bool dh_group_supported(uint16_t group);
/* Groups that must not be proposed by default: MODP 768/1024 (broken),
 * 1536 (legacy, below 112-bit security; RFC 8247 2.4). */
bool dh_group_weak(uint16_t group);
/* "modp2048", "ecp256", "curve25519", ...; NULL if unknown. */
const char *dh_group_name(uint16_t group);

/* For known-answer tests only: a key pair from a given private value
 * (MODP/ECP: big-endian integer; Curve25519/448: raw scalar). */
struct dh *dh_new_with_private(uint16_t group, const uint8_t *priv, size_t priv_len);

#endif
