/* Integrity algorithms for ESP and AH, and the MACs behind the IKE PRFs.
 *
 * HMAC and CMAC are OpenSSL EVP_MACs keyed once in mac_new(); each call
 * re-initialises the context with EVP_MAC_init(ctx, NULL, 0, NULL), which
 * keeps the key and does not allocate. AES-XCBC-MAC (RFC 3566) has no
 * OpenSSL implementation, so it is built here on AES-128-ECB. */
#include "crypto/mac_raw.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define AES_BLOCK 16

struct mac {
	const struct integ_alg *alg; /* NULL for mac_new_raw() */
	enum mac_kind kind;
	size_t out_len; /* untruncated */
	size_t icv_len; /* what mac_compute() writes */
	EVP_MAC_CTX *ctx;    /* HMAC, CMAC: keyed */
	EVP_CIPHER_CTX *ecb; /* XCBC: AES-128-ECB keyed with K1 */
	uint8_t k2[AES_BLOCK], k3[AES_BLOCK];
	uint8_t full[MAC_MAX_LEN]; /* scratch for the untruncated output */
};

static int evp_mac_key(struct mac *m, const char *name, const char *param, const char *value,
		       const uint8_t *key, size_t key_len)
{
	static const uint8_t empty[1];
	OSSL_PARAM params[2];
	EVP_MAC *evp = EVP_MAC_fetch(NULL, name, NULL);

	if (!evp)
		return -1;
	m->ctx = EVP_MAC_CTX_new(evp);
	EVP_MAC_free(evp); /* the context keeps its own reference */
	if (!m->ctx)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(param, (char *)value, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(m->ctx, key_len ? key : empty, key_len, params))
		return -1;
	m->out_len = EVP_MAC_CTX_get_mac_size(m->ctx);
	return m->out_len && m->out_len <= MAC_MAX_LEN ? 0 : -1;
}

static int aes_block(EVP_CIPHER_CTX *ecb, uint8_t b[AES_BLOCK])
{
	int outl = 0;

	return EVP_EncryptUpdate(ecb, b, &outl, b, AES_BLOCK) && outl == AES_BLOCK ? 0 : -1;
}

/* RFC 3566 4, step 1: K1, K2, K3 = AES-K(0x01..), AES-K(0x02..),
 * AES-K(0x03..); the CBC-MAC then runs under K1. */
static int xcbc_key(struct mac *m, const uint8_t *key)
{
	uint8_t k1[AES_BLOCK];
	EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	int ret = -1;

	m->ecb = EVP_CIPHER_CTX_new();
	if (!aes || !m->ecb || !EVP_EncryptInit_ex2(m->ecb, aes, key, NULL, NULL))
		goto out;
	EVP_CIPHER_CTX_set_padding(m->ecb, 0);
	memset(k1, 0x01, AES_BLOCK);
	memset(m->k2, 0x02, AES_BLOCK);
	memset(m->k3, 0x03, AES_BLOCK);
	if (aes_block(m->ecb, k1) < 0 || aes_block(m->ecb, m->k2) < 0 ||
	    aes_block(m->ecb, m->k3) < 0)
		goto out;
	if (!EVP_EncryptInit_ex2(m->ecb, NULL, k1, NULL, NULL))
		goto out;
	m->out_len = AES_BLOCK;
	ret = 0;
out:
	OPENSSL_cleanse(k1, sizeof(k1));
	EVP_CIPHER_free(aes);
	return ret;
}

struct mac *mac_new_raw(enum mac_kind kind, const char *digest, const uint8_t *key,
			size_t key_len)
{
	struct mac *m = calloc(1, sizeof(*m));
	int r = -1;

	if (!m)
		return NULL;
	m->kind = kind;
	switch (kind) {
	case MAC_KIND_HMAC:
		r = evp_mac_key(m, "HMAC", OSSL_MAC_PARAM_DIGEST, digest, key, key_len);
		break;
	case MAC_KIND_CMAC: /* RFC 4493 with AES-128 */
		if (key_len == AES_BLOCK)
			r = evp_mac_key(m, "CMAC", OSSL_MAC_PARAM_CIPHER, "AES-128-CBC", key,
					key_len);
		break;
	case MAC_KIND_XCBC: /* RFC 3566 4.1: 128-bit keys only */
		if (key_len == AES_BLOCK)
			r = xcbc_key(m, key);
		break;
	}
	if (r < 0) {
		log_err("mac: cannot set up %s", kind == MAC_KIND_HMAC ? digest : "AES MAC");
		mac_free(m);
		return NULL;
	}
	m->icv_len = m->out_len;
	return m;
}

static const char *integ_digest(uint16_t id)
{
	switch (id) {
	case AUTH_HMAC_MD5_96:
		return "MD5";
	case AUTH_HMAC_SHA1_96:
		return "SHA1";
	case AUTH_HMAC_SHA2_256_128:
		return "SHA256";
	case AUTH_HMAC_SHA2_384_192:
		return "SHA384";
	case AUTH_HMAC_SHA2_512_256:
		return "SHA512";
	default:
		return NULL;
	}
}

struct mac *mac_new(uint16_t integ_id, const uint8_t *key, size_t key_len)
{
	const struct integ_alg *a = integ_alg_find(integ_id);
	enum mac_kind kind = MAC_KIND_HMAC;
	struct mac *m;

	if (!a) {
		log_err("mac: unknown integrity algorithm %u", (unsigned)integ_id);
		return NULL;
	}
	/* IPsec fixes the key length per algorithm (RFC 2403/2404 3, RFC 3566
	 * 4.1, RFC 4494 2, RFC 4868 2.1.1). */
	if (key_len != a->key_len) {
		log_err("mac: %s needs a %u-byte key, got %zu", a->name, (unsigned)a->key_len,
			key_len);
		return NULL;
	}
	if (integ_id == AUTH_AES_XCBC_96)
		kind = MAC_KIND_XCBC;
	else if (integ_id == AUTH_AES_CMAC_96)
		kind = MAC_KIND_CMAC;
	m = mac_new_raw(kind, integ_digest(integ_id), key, key_len);
	if (!m)
		return NULL;
	m->alg = a;
	m->icv_len = a->icv_len;
	return m;
}

void mac_free(struct mac *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->ctx);
	EVP_CIPHER_CTX_free(m->ecb);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

const struct integ_alg *mac_alg(const struct mac *m)
{
	return m->alg;
}

static bool pieces_ok(const struct aad *pieces)
{
	return !pieces || (pieces->n >= 0 && pieces->n <= 3);
}

static size_t evp_mac_run(struct mac *m, const struct aad *pieces, uint8_t *out)
{
	size_t outl = 0;

	if (!EVP_MAC_init(m->ctx, NULL, 0, NULL))
		return 0;
	for (int i = 0; pieces && i < pieces->n; i++)
		if (pieces->len[i] && !EVP_MAC_update(m->ctx, pieces->p[i], pieces->len[i]))
			return 0;
	if (!EVP_MAC_final(m->ctx, out, &outl, MAC_MAX_LEN) || outl != m->out_len)
		return 0;
	return outl;
}

/* Running XCBC state: e = E[i-1], buf = the block not yet processed
 * (held back because it may be the last one, which is treated apart). */
struct xcbc_state {
	uint8_t e[AES_BLOCK];
	uint8_t buf[AES_BLOCK];
	size_t n;
};

static int xcbc_update(struct mac *m, struct xcbc_state *s, const uint8_t *p, size_t len)
{
	while (len) {
		size_t take;

		if (s->n == AES_BLOCK) { /* RFC 3566 4 step 2: not the last block */
			for (int i = 0; i < AES_BLOCK; i++)
				s->e[i] ^= s->buf[i];
			if (aes_block(m->ecb, s->e) < 0)
				return -1;
			s->n = 0;
		}
		take = AES_BLOCK - s->n < len ? AES_BLOCK - s->n : len;
		memcpy(s->buf + s->n, p, take);
		s->n += take;
		p += take;
		len -= take;
	}
	return 0;
}

static size_t xcbc_run(struct mac *m, const struct aad *pieces, uint8_t *out)
{
	struct xcbc_state s = {.n = 0};
	const uint8_t *k = m->k2;
	size_t ret = 0;

	for (int i = 0; pieces && i < pieces->n; i++)
		if (xcbc_update(m, &s, pieces->p[i], pieces->len[i]) < 0)
			goto out;
	/* RFC 3566 4 step 3: a full last block is XORed with K2; a partial
	 * (or empty) one is padded 10* and XORed with K3. */
	if (s.n < AES_BLOCK) {
		s.buf[s.n] = 0x80;
		memset(s.buf + s.n + 1, 0, AES_BLOCK - s.n - 1);
		k = m->k3;
	}
	for (int i = 0; i < AES_BLOCK; i++)
		s.e[i] ^= s.buf[i] ^ k[i];
	if (aes_block(m->ecb, s.e) < 0)
		goto out;
	memcpy(out, s.e, AES_BLOCK);
	ret = AES_BLOCK;
out:
	OPENSSL_cleanse(&s, sizeof(s));
	return ret;
}

size_t mac_compute_full(struct mac *m, const struct aad *pieces, uint8_t *out)
{
	if (!pieces_ok(pieces))
		return 0;
	if (m->kind == MAC_KIND_XCBC)
		return xcbc_run(m, pieces, out);
	return evp_mac_run(m, pieces, out);
}

int mac_compute(struct mac *m, const struct aad *pieces, uint8_t *icv)
{
	if (mac_compute_full(m, pieces, m->full) == 0)
		return -1;
	memcpy(icv, m->full, m->icv_len); /* truncation: RFC 2104 5, RFC 4868 2.6 */
	return 0;
}

bool mac_verify(struct mac *m, const struct aad *pieces, const uint8_t *icv)
{
	if (mac_compute_full(m, pieces, m->full) == 0)
		return false;
	return CRYPTO_memcmp(m->full, icv, m->icv_len) == 0;
}
