/* Internal to src/config: type 6 pre-shared keys (IOS "encrypted
 * preshared key"), encrypted under a key derived from the master key of
 * `key config-key password-encrypt`. */
#ifndef ESPRIT_CONFIG_PSK_H
#define ESPRIT_CONFIG_PSK_H

#include <stddef.h>

#include "lib/secret.h"

/* hex(nonce 12 | ciphertext | tag 16) of a key of up to 128 bytes */
#define CFG_PSK_ENC_MAX (2 * (12 + 128 + 16) + 1)

/* Encrypt k as type 6 text into out. Deterministic for a given master and
 * key (the nonce is synthetic, SIV style), so that show running-config
 * prints the same text every time. 0 or -1 (key too long, crypto error). */
int cfg_psk_encrypt(const struct secret *master, const struct secret *k, char *out, size_t len);
/* Decrypt type 6 text; *out is a new secret. 0 or -1 (not hex, wrong
 * master key, tampered). */
int cfg_psk_decrypt(const struct secret *master, const char *text, struct secret **out);

#endif
