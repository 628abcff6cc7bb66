/* IKE pseudorandom functions and prf+ (RFC 7296 2.13). Not on the data
 * path: a MAC context is set up per call (prf) or per expansion (prf+). */
#include <openssl/crypto.h>
#include <string.h>

#include "crypto/mac_raw.h"

#define AES_KEY 16

size_t prf_out_len(uint16_t prf_id)
{
	const struct prf_alg *a = prf_alg_find(prf_id);

	return a ? a->out_len : 0;
}

static const char *prf_digest(uint16_t id)
{
	switch (id) {
	case PRF_HMAC_MD5:
		return "MD5";
	case PRF_HMAC_SHA1:
		return "SHA1";
	case PRF_HMAC_SHA2_256:
		return "SHA256";
	case PRF_HMAC_SHA2_384:
		return "SHA384";
	case PRF_HMAC_SHA2_512:
		return "SHA512";
	default:
		return NULL;
	}
}

/* Bring a key of any length to the 16 bytes AES wants.
 * RFC 4434 2 (XCBC): shorter keys are padded with zeros, longer ones are
 * replaced by AES-XCBC-PRF-128 with a zero key over them.
 * RFC 4615 3 (CMAC): any key that is not 16 bytes is replaced by
 * AES-CMAC with a zero key over it. */
static int aes_prf_key(enum mac_kind kind, const uint8_t *key, size_t key_len,
		       uint8_t out[AES_KEY])
{
	static const uint8_t zero[AES_KEY];
	uint8_t full[MAC_MAX_LEN];
	struct aad piece = {.p = {key}, .len = {key_len}, .n = 1};
	struct mac *m;
	size_t n;

	if (key_len == AES_KEY) {
		memcpy(out, key, AES_KEY);
		return 0;
	}
	if (kind == MAC_KIND_XCBC && key_len < AES_KEY) {
		memset(out, 0, AES_KEY);
		if (key_len)
			memcpy(out, key, key_len);
		return 0;
	}
	m = mac_new_raw(kind, NULL, zero, AES_KEY);
	if (!m)
		return -1;
	n = mac_compute_full(m, &piece, full);
	mac_free(m);
	if (n != AES_KEY)
		return -1;
	memcpy(out, full, AES_KEY);
	OPENSSL_cleanse(full, sizeof(full));
	return 0;
}

static struct mac *prf_mac_new(uint16_t prf_id, const uint8_t *key, size_t key_len)
{
	enum mac_kind kind;
	uint8_t k[AES_KEY];
	struct mac *m;

	if (prf_id == PRF_AES128_XCBC)
		kind = MAC_KIND_XCBC;
	else if (prf_id == PRF_AES128_CMAC)
		kind = MAC_KIND_CMAC;
	else if (prf_digest(prf_id))
		return mac_new_raw(MAC_KIND_HMAC, prf_digest(prf_id), key, key_len);
	else
		return NULL;
	if (aes_prf_key(kind, key, key_len, k) < 0)
		return NULL;
	m = mac_new_raw(kind, NULL, k, AES_KEY);
	OPENSSL_cleanse(k, sizeof(k));
	return m;
}

int prf(uint16_t prf_id, const uint8_t *key, size_t key_len, const uint8_t *data,
	size_t data_len, uint8_t *out)
{
	struct aad piece = {.p = {data}, .len = {data_len}, .n = 1};
	uint8_t full[MAC_MAX_LEN];
	struct mac *m = prf_mac_new(prf_id, key, key_len);
	size_t n;

	if (!m)
		return -1;
	n = mac_compute_full(m, &piece, full);
	mac_free(m);
	if (n == 0 || n != prf_out_len(prf_id)) {
		OPENSSL_cleanse(full, sizeof(full));
		return -1;
	}
	memcpy(out, full, n);
	OPENSSL_cleanse(full, sizeof(full));
	return 0;
}

/* RFC 7296 2.13:
 *   prf+ (K,S) = T1 | T2 | T3 | T4 | ...
 *   T1 = prf (K, S | 0x01)
 *   T2 = prf (K, T1 | S | 0x02)
 *   ...
 * The counter is one octet, so at most 255 blocks. */
int prf_plus(uint16_t prf_id, const uint8_t *key, size_t key_len, const uint8_t *seed,
	     size_t seed_len, uint8_t *out, size_t out_len)
{
	size_t blk = prf_out_len(prf_id), done = 0, tlen = 0;
	uint8_t t[MAC_MAX_LEN];
	struct mac *m;
	int ret = -1;

	if (blk == 0 || out_len > 255 * blk)
		return -1;
	m = prf_mac_new(prf_id, key, key_len);
	if (!m)
		return -1;
	for (unsigned n = 1; done < out_len; n++) {
		uint8_t ctr = (uint8_t)n;
		struct aad pieces = {.p = {t, seed, &ctr}, .len = {tlen, seed_len, 1}, .n = 3};
		size_t take;

		if (mac_compute_full(m, &pieces, t) != blk)
			goto out;
		tlen = blk;
		take = out_len - done < blk ? out_len - done : blk;
		memcpy(out + done, t, take);
		done += take;
	}
	ret = 0;
out:
	OPENSSL_cleanse(t, sizeof(t));
	mac_free(m);
	return ret;
}
