/* Type 6 pre-shared keys: AES-256-GCM under a key stretched from the
 * master key with PBKDF2-HMAC-SHA256. The nonce is HMAC-SHA256(K_n, key)
 * cut to 12 bytes (a synthetic IV, as in RFC 5297): the same key always
 * encrypts to the same text, which keeps load -> write -> load the identity
 * and reveals only that two keys are equal. The nonce is checked again
 * after decryption. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "config/psk.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define KEY_MAX 128
#define KDF_ITER 4096

static const char kdf_salt[] = "esprit type 6 psk v1";

/* k[0..31]: AES key, k[32..63]: nonce key */
static int derive(const struct secret *master, uint8_t k[64])
{
	return PKCS5_PBKDF2_HMAC((const char *)master->p, (int)master->len,
				 (const unsigned char *)kdf_salt, sizeof(kdf_salt) - 1, KDF_ITER,
				 EVP_sha256(), 64, k) == 1
		       ? 0
		       : -1;
}

static int synth_nonce(const uint8_t k[64], const uint8_t *p, size_t n, uint8_t nonce[NONCE_LEN])
{
	uint8_t mac[32];
	unsigned int ml = sizeof(mac);

	if (!HMAC(EVP_sha256(), k + 32, 32, p, n, mac, &ml))
		return -1;
	memcpy(nonce, mac, NONCE_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

static int gcm(bool enc, const uint8_t k[64], const uint8_t nonce[NONCE_LEN], const uint8_t *in,
	       size_t n, uint8_t *out, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l = 0, ok;

	ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, k, nonce, enc ? 1 : 0) == 1 &&
	     EVP_CipherUpdate(ctx, out, &l, in, (int)n) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(ctx, out + l, &l) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

int cfg_psk_encrypt(const struct secret *master, const struct secret *k, char *out, size_t len)
{
	uint8_t key[64], buf[NONCE_LEN + KEY_MAX + TAG_LEN];
	size_t n = NONCE_LEN + k->len + TAG_LEN;
	int ret = -1;

	if (k->len > KEY_MAX || len < 2 * n + 1)
		return -1;
	if (derive(master, key) < 0 || synth_nonce(key, k->p, k->len, buf) < 0 ||
	    gcm(true, key, buf, k->p, k->len, buf + NONCE_LEN, buf + NONCE_LEN + k->len) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", buf[i]);
	ret = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

int cfg_psk_decrypt(const struct secret *master, const char *text, struct secret **out)
{
	struct secret *hex = secret_from_hex(text);
	uint8_t key[64], nonce[NONCE_LEN];
	struct secret *pt = NULL;
	size_t n;
	int ret = -1;

	*out = NULL;
	if (!hex || hex->len < NONCE_LEN + 1 + TAG_LEN || hex->len > NONCE_LEN + KEY_MAX + TAG_LEN)
		goto out;
	n = hex->len - NONCE_LEN - TAG_LEN;
	pt = secret_new(n);
	if (!pt || derive(master, key) < 0 ||
	    gcm(false, key, hex->p, hex->p + NONCE_LEN, n, pt->p, hex->p + NONCE_LEN + n) < 0 ||
	    synth_nonce(key, pt->p, n, nonce) < 0 || CRYPTO_memcmp(nonce, hex->p, NONCE_LEN) != 0)
		goto out;
	*out = pt;
	pt = NULL;
	ret = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	secret_free(pt);
	secret_free(hex);
	return ret;
}
