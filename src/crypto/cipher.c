/* ESP ciphers on OpenSSL 3 EVP. A context is fetched and keyed once in
 * cipher_new(); per packet only the IV (or nonce / counter block) is set,
 * so the hot path does not allocate. One context per SA, direction and
 * worker thread: EVP_CIPHER_CTX is not safe for concurrent use. AES-GCM
 * goes through intel-ipsec-mb's direct API where it is (crypto/mb.h: ~5x
 * less per packet); the EVP context is kept for the rest. */
#include "crypto/cipher.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/mb.h"
#include "lib/log.h"

#define SALT_MAX 4
#define BLOCK_MAX 16

struct cipher {
	const struct encr_alg *alg;
	EVP_CIPHER_CTX *ctx; /* keyed; NULL for ENCR_NULL, and with gcm until needed */
	struct mb_gcm *gcm;  /* AES-GCM via intel-ipsec-mb, or NULL: EVP */
	/* With gcm: the key for ctx, made on first use (evp_lazy). */
	uint8_t key[32];
	size_t key_len;
	uint16_t key_bits;
	int enc;             /* 1 encrypt, 0 decrypt */
	uint8_t salt[SALT_MAX];
	uint8_t block[BLOCK_MAX]; /* scratch: nonce, counter block, final output */
};

/* The OpenSSL cipher name for an algorithm and key size. */
static int evp_name(const struct encr_alg *a, uint16_t key_bits, char *buf, size_t len)
{
	int n;

	switch (a->id) {
	case ENCR_DES: /* single DES as 3DES with K1 = K2 = K3, see key_expand() */
	case ENCR_3DES:
		n = snprintf(buf, len, "DES-EDE3-CBC");
		break;
	case ENCR_AES_CBC:
		n = snprintf(buf, len, "AES-%u-CBC", (unsigned)key_bits);
		break;
	case ENCR_AES_CTR:
		n = snprintf(buf, len, "AES-%u-CTR", (unsigned)key_bits);
		break;
	case ENCR_AES_GCM_8:
	case ENCR_AES_GCM_12:
	case ENCR_AES_GCM_16:
	case ENCR_NULL_AUTH_AES_GMAC:
		n = snprintf(buf, len, "AES-%u-GCM", (unsigned)key_bits);
		break;
	case ENCR_CHACHA20_POLY1305:
		n = snprintf(buf, len, "ChaCha20-Poly1305");
		break;
	default:
		return -1;
	}
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Single DES lives in OpenSSL 3's legacy provider. EDE with three equal
 * keys is E(K, D(K, E(K, x))) = E(K, x), i.e. single DES, and needs only
 * the default provider. */
static void key_expand(const struct encr_alg *a, const uint8_t *key, size_t len, uint8_t *out,
		       size_t *out_len)
{
	if (a->id == ENCR_DES && len == 8) {
		for (int i = 0; i < 3; i++)
			memcpy(out + 8 * i, key, 8);
		*out_len = 24;
		return;
	}
	memcpy(out, key, len);
	*out_len = len;
}

static int cipher_key(struct cipher *c, uint16_t key_bits, const uint8_t *key, size_t len)
{
	OSSL_PARAM params[2] = {OSSL_PARAM_END, OSSL_PARAM_END};
	unsigned int nopad = 0;
	EVP_CIPHER *evp = NULL;
	uint8_t k[32];
	size_t klen;
	char name[32];
	int ret = -1;

	if (len > sizeof(k) || evp_name(c->alg, key_bits, name, sizeof(name)) < 0)
		return -1;
	evp = EVP_CIPHER_fetch(NULL, name, NULL);
	c->ctx = EVP_CIPHER_CTX_new();
	if (!evp || !c->ctx) {
		log_err("cipher: %s not available from OpenSSL", name);
		goto out;
	}
	key_expand(c->alg, key, len, k, &klen);
	if ((size_t)EVP_CIPHER_get_key_length(evp) != klen) {
		log_err("cipher: %s wants a %d-byte key, got %zu", name,
			EVP_CIPHER_get_key_length(evp), klen);
		goto out;
	}
	/* ESP does its own padding (RFC 4303 2.4): OpenSSL must not. */
	if (c->alg->id == ENCR_DES || c->alg->id == ENCR_3DES || c->alg->id == ENCR_AES_CBC)
		params[0] = OSSL_PARAM_construct_uint(OSSL_CIPHER_PARAM_PADDING, &nopad);
	if (!EVP_CipherInit_ex2(c->ctx, evp, k, NULL, c->enc, params)) {
		log_err("cipher: cannot key %s", name);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		EVP_CIPHER_CTX_free(c->ctx); /* never an unkeyed context */
		c->ctx = NULL;
	}
	OPENSSL_cleanse(k, sizeof(k));
	EVP_CIPHER_free(evp); /* the context keeps its own reference */
	return ret;
}

static bool is_gcm(const struct encr_alg *a)
{
	return a->id == ENCR_AES_GCM_8 || a->id == ENCR_AES_GCM_12 || a->id == ENCR_AES_GCM_16;
}

/* With intel-ipsec-mb, an AES-GCM cipher needs OpenSSL only for an AAD
 * longer than MB_GCM_AAD_MAX (IKE fragments, RFC 7383: 36 bytes), never
 * for ESP: the context (~1.2 KB, per SA and per worker) is keyed on the
 * first such packet. */
static int evp_lazy(struct cipher *c)
{
	return c->ctx || cipher_key(c, c->key_bits, c->key, c->key_len) == 0 ? 0 : -1;
}

struct cipher *cipher_new(uint16_t encr_id, uint16_t key_bits, const uint8_t *key, size_t key_len,
			  bool encrypt)
{
	const struct encr_alg *a = encr_alg_find(encr_id);
	struct cipher *c;
	size_t want;

	if (!a) {
		log_err("cipher: unknown encryption algorithm %u", (unsigned)encr_id);
		return NULL;
	}
	if (!encr_key_bits_ok(a, key_bits)) {
		log_err("cipher: %s does not take %u-bit keys", a->name, (unsigned)key_bits);
		return NULL;
	}
	if (key_bits == 0)
		key_bits = encr_key_bits_default(a);
	want = encr_keymat_len(a, key_bits);
	if (key_len != want || (want && !key)) {
		log_err("cipher: %s-%u needs %zu bytes of keying material, got %zu", a->name,
			(unsigned)key_bits, want, key_len);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->alg = a;
	c->enc = encrypt ? 1 : 0;
	if (a->id == ENCR_NULL)
		return c;
	/* keying material = key || salt (RFC 3686 5.1, RFC 4106 8.1, RFC 7634 2) */
	memcpy(c->salt, key + key_len - a->salt_len, a->salt_len);
	if (is_gcm(a))
		c->gcm = mb_gcm_new(key, key_len - a->salt_len);
	if (c->gcm && key_len - a->salt_len <= sizeof(c->key)) {
		c->key_len = key_len - a->salt_len;
		c->key_bits = key_bits;
		memcpy(c->key, key, c->key_len);
		return c;
	}
	if (cipher_key(c, key_bits, key, key_len - a->salt_len) < 0) {
		cipher_free(c);
		return NULL;
	}
	return c;
}

struct cipher *cipher_clone(const struct cipher *c)
{
	struct cipher *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	*n = *c;
	n->ctx = NULL;
	n->gcm = mb_gcm_ref(c->gcm);
	if (c->ctx && (!(n->ctx = EVP_CIPHER_CTX_new()) || !EVP_CIPHER_CTX_copy(n->ctx, c->ctx))) {
		log_err("cipher: cannot copy the %s context", c->alg->name);
		cipher_free(n);
		return NULL;
	}
	return n;
}

void cipher_free(struct cipher *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->ctx); /* cleanses the expanded key */
	mb_gcm_free(c->gcm);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

const struct encr_alg *cipher_alg(const struct cipher *c)
{
	return c->alg;
}

/* RFC 3686 4: counter block = nonce (4) || IV (8) || block counter (4),
 * the counter starting at 1 for the first block of each packet. */
static const uint8_t *ctr_block(struct cipher *c, const uint8_t *iv)
{
	memcpy(c->block, c->salt, 4);
	memcpy(c->block + 4, iv, 8);
	c->block[12] = 0;
	c->block[13] = 0;
	c->block[14] = 0;
	c->block[15] = 1;
	return c->block;
}

int cipher_crypt(struct cipher *c, const uint8_t *iv, uint8_t *data, size_t len)
{
	const struct encr_alg *a = c->alg;
	const uint8_t *ivp = iv;
	int outl = 0;

	if (a->aead || len > INT_MAX)
		return -1;
	if (a->id == ENCR_NULL)
		return 0;
	if (a->id != ENCR_AES_CTR && len % a->block_len)
		return -1;
	if (a->id == ENCR_AES_CTR)
		ivp = ctr_block(c, iv);
	if (!EVP_CipherInit_ex2(c->ctx, NULL, NULL, ivp, c->enc, NULL))
		return -1;
	if (len == 0)
		return 0;
	if (!EVP_CipherUpdate(c->ctx, data, &outl, data, (int)len) || outl != (int)len)
		return -1;
	return 0;
}

/* Feed the AAD pieces (ESP: SPI || [seq-hi] || seq, RFC 4106 5). */
static int aead_aad(struct cipher *c, const struct aad *aad)
{
	int outl;

	if (!aad)
		return 0;
	if (aad->n < 0 || aad->n > 3)
		return -1;
	for (int i = 0; i < aad->n; i++) {
		if (aad->len[i] == 0)
			continue;
		if (aad->len[i] > INT_MAX ||
		    !EVP_CipherUpdate(c->ctx, NULL, &outl, aad->p[i], (int)aad->len[i]))
			return -1;
	}
	return 0;
}

/* GMAC (RFC 4543 3.3): the payload is authenticated, not encrypted, so it
 * goes in as AAD after the caller's pieces. */
static int aead_data(struct cipher *c, uint8_t *data, size_t len)
{
	int outl = 0;

	if (len == 0)
		return 0;
	if (len > INT_MAX)
		return -1;
	if (c->alg->auth_only)
		return EVP_CipherUpdate(c->ctx, NULL, &outl, data, (int)len) ? 0 : -1;
	if (!EVP_CipherUpdate(c->ctx, data, &outl, data, (int)len) || outl != (int)len)
		return -1;
	return 0;
}

/* The AAD pieces in one buffer (ESP's are 8 or 12 bytes); -1 if they do
 * not fit. */
static int aad_gather(const struct aad *aad, uint8_t *out, size_t cap, size_t *len)
{
	*len = 0;
	if (!aad)
		return 0;
	if (aad->n < 0 || aad->n > 3)
		return -1;
	for (int i = 0; i < aad->n; i++) {
		if (aad->len[i] > cap - *len)
			return -1;
		if (aad->len[i])
			memcpy(out + *len, aad->p[i], aad->len[i]);
		*len += aad->len[i];
	}
	return 0;
}

/* AES-GCM through intel-ipsec-mb; 1 if the AAD does not fit (use EVP). */
static int gcm_mb(struct cipher *c, const struct aad *aad, uint8_t *data, size_t len,
		  uint8_t *icv)
{
	uint8_t ad[MB_GCM_AAD_MAX];
	size_t adl;

	if (aad_gather(aad, ad, sizeof(ad), &adl) < 0)
		return 1;
	if (c->enc) {
		mb_gcm_seal(c->gcm, c->block, ad, adl, data, len, icv, c->alg->icv_len);
		return 0;
	}
	return mb_gcm_open(c->gcm, c->block, ad, adl, data, len, icv, c->alg->icv_len) ? 0 : -1;
}

int cipher_aead(struct cipher *c, const uint8_t *iv, const struct aad *aad, uint8_t *data,
		size_t len, uint8_t *icv)
{
	const struct encr_alg *a = c->alg;
	int outl = 0;

	if (!a->aead)
		return -1;
	/* nonce = salt || IV (RFC 4106 4, RFC 4543 3.1, RFC 7634 2) */
	memcpy(c->block, c->salt, 4);
	memcpy(c->block + 4, iv, 8);
	if (c->gcm) {
		int r = gcm_mb(c, aad, data, len, icv);

		if (r <= 0)
			return r;
		if (evp_lazy(c) < 0)
			return -1;
	}
	if (!EVP_CipherInit_ex2(c->ctx, NULL, NULL, c->block, c->enc, NULL))
		return -1;
	if (!c->enc && !EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, a->icv_len, icv))
		return -1;
	if (aead_aad(c, aad) < 0 || aead_data(c, data, len) < 0)
		return -1;
	/* Decrypt: Final fails if the tag does not match. */
	if (!EVP_CipherFinal_ex(c->ctx, c->block, &outl))
		return -1;
	if (c->enc && !EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_GET_TAG, a->icv_len, icv))
		return -1;
	return 0;
}

/* Random bytes for IVs, SPIs and nonces. One RAND_bytes call costs about
 * 1.5 us on OpenSSL 3 (DRBG locking and parameter handling) whatever the
 * length, which was a third of an AES-CBC+HMAC seal; so small requests are
 * served from a per-thread pool refilled 4 KiB at a time (6 ns per IV).
 * The bytes still come from OpenSSL's DRBG; each is handed out once and
 * wiped from the pool as it is. Large requests go straight to RAND_bytes. */
#define RAND_POOL 4096
#define RAND_POOL_MAX_REQ 256

static __thread struct {
	uint8_t b[RAND_POOL];
	size_t off; /* bytes before off are used (and wiped) */
	bool filled;
} rand_pool;

int crypto_random(void *buf, size_t len)
{
	if (len > INT_MAX)
		return -1;
	if (len > RAND_POOL_MAX_REQ)
		return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
	if (!rand_pool.filled || RAND_POOL - rand_pool.off < len) {
		if (RAND_bytes(rand_pool.b, RAND_POOL) != 1)
			return -1;
		rand_pool.off = 0;
		rand_pool.filled = true;
	}
	memcpy(buf, rand_pool.b + rand_pool.off, len);
	OPENSSL_cleanse(rand_pool.b + rand_pool.off, len);
	rand_pool.off += len;
	return 0;
}
