/* IKEv2 key derivation (RFC 7296 2.14, 2.17, 2.18) and shared-key AUTH
 * (2.15) on prf()/prf_plus() of crypto/cipher.h. See keys.h. */
#include "ikev2/keys.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/alg.h"
#include "crypto/cipher.h"

#define PRF_MAX_OUT 64 /* HMAC-SHA-512 */

size_t ikev2_encr_key_len(const struct ikev2_algs *a)
{
	const struct encr_alg *e = encr_alg_find(a->encr);

	if (!e || !encr_key_bits_ok(e, a->encr_bits))
		return 0;
	return encr_keymat_len(e, a->encr_bits);
}

size_t ikev2_integ_key_len(const struct ikev2_algs *a)
{
	const struct integ_alg *i = a->integ ? integ_alg_find(a->integ) : NULL;

	return i ? i->key_len : 0;
}

/* Concatenation of up to four pieces into one heap buffer (the seeds). */
struct piece {
	const uint8_t *p;
	size_t len;
};

static struct secret *concat(const struct piece *pc, size_t n)
{
	struct secret *s;
	size_t len = 0, off = 0;

	for (size_t i = 0; i < n; i++)
		len += pc[i].len;
	s = secret_new(len);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (pc[i].len)
			memcpy(s->p + off, pc[i].p, pc[i].len);
		off += pc[i].len;
	}
	return s;
}

/* Cut `out` into consecutive secrets of the given lengths; a length of 0
 * gives NULL (an absent key). */
static int split(const struct secret *km, const size_t *lens, struct secret **dst[], size_t n)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		*dst[i] = NULL;
		if (!lens[i])
			continue;
		*dst[i] = secret_from(km->p + off, lens[i]);
		if (!*dst[i])
			return -1;
		off += lens[i];
	}
	return 0;
}

static struct secret *prf_secret(uint16_t prf_id, const uint8_t *key, size_t key_len,
                                 const uint8_t *data, size_t data_len)
{
	struct secret *s = secret_new(prf_out_len(prf_id));

	if (!s || !s->len || prf(prf_id, key, key_len, data, data_len, s->p)) {
		secret_free(s);
		return NULL;
	}
	return s;
}

/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *     = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)            (2.14) */
static int derive_seven(const struct ikev2_algs *a, const uint8_t *ni, size_t ni_len,
                        const uint8_t *nr, size_t nr_len, const uint8_t spi_i[8],
                        const uint8_t spi_r[8], struct ikev2_keys *k)
{
	const struct prf_alg *p = prf_alg_find(a->prf);
	size_t ek = ikev2_encr_key_len(a), ik = ikev2_integ_key_len(a);
	const struct encr_alg *e = encr_alg_find(a->encr);
	struct piece pc[] = {{ni, ni_len}, {nr, nr_len}, {spi_i, 8}, {spi_r, 8}};
	struct secret *seed = NULL, *km = NULL;
	int ret = -1;

	/* RFC 5282 / 7296 3.3.3: AEAD without an integrity transform, any
	 * other cipher with one; GMAC (no encryption) is not for IKE. */
	if (!p || !e || !ek || e->auth_only || (e->aead != (a->integ == 0)) || (a->integ && !ik))
		return -1;
	{
		size_t lens[7] = {p->key_len, ik, ik, ek, ek, p->key_len, p->key_len};
		struct secret **dst[7] = {&k->sk_d,  &k->sk_ai, &k->sk_ar, &k->sk_ei,
		                          &k->sk_er, &k->sk_pi, &k->sk_pr};
		size_t total = 0;

		for (size_t i = 0; i < 7; i++)
			total += lens[i];
		seed = concat(pc, 4);
		km = secret_new(total);
		if (!seed || !km ||
		    prf_plus(a->prf, k->skeyseed->p, k->skeyseed->len, seed->p, seed->len, km->p,
		             total))
			goto out;
		ret = split(km, lens, dst, 7);
	}
out:
	secret_free(seed);
	secret_free(km);
	return ret;
}

int ikev2_keys_derive(const struct ikev2_algs *a, const struct secret *g_ir, const uint8_t *ni,
                      size_t ni_len, const uint8_t *nr, size_t nr_len, const uint8_t spi_i[8],
                      const uint8_t spi_r[8], struct ikev2_keys *k)
{
	/* 2.14: with AES-XCBC-PRF-128 / AES-CMAC-PRF-128 only the first 64
	 * bits of Ni and of Nr key SKEYSEED (the nonces are >= 16 bytes). */
	bool aes = a->prf == PRF_AES128_XCBC || a->prf == PRF_AES128_CMAC;
	struct piece pc[] = {{ni, aes && ni_len > 8 ? 8 : ni_len},
	                     {nr, aes && nr_len > 8 ? 8 : nr_len}};
	struct secret *key;

	memset(k, 0, sizeof(*k));
	key = concat(pc, 2);
	if (!key)
		return -1;
	k->skeyseed = prf_secret(a->prf, key->p, key->len, g_ir->p, g_ir->len);
	secret_free(key);
	if (!k->skeyseed || derive_seven(a, ni, ni_len, nr, nr_len, spi_i, spi_r, k)) {
		ikev2_keys_free(k);
		return -1;
	}
	return 0;
}

int ikev2_keys_derive_rekey(const struct ikev2_algs *a, uint16_t old_prf,
                            const struct secret *old_sk_d, const struct secret *g_ir,
                            const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                            const uint8_t spi_i[8], const uint8_t spi_r[8], struct ikev2_keys *k)
{
	struct piece pc[] = {{g_ir->p, g_ir->len}, {ni, ni_len}, {nr, nr_len}};
	struct secret *data;

	memset(k, 0, sizeof(*k));
	data = concat(pc, 3);
	if (!data)
		return -1;
	/* 2.18: the rekeying exchange belongs to the old SA: its PRF. */
	k->skeyseed = prf_secret(old_prf, old_sk_d->p, old_sk_d->len, data->p, data->len);
	secret_free(data);
	if (!k->skeyseed || derive_seven(a, ni, ni_len, nr, nr_len, spi_i, spi_r, k)) {
		ikev2_keys_free(k);
		return -1;
	}
	return 0;
}

void ikev2_keys_free(struct ikev2_keys *k)
{
	struct secret **all[] = {&k->skeyseed, &k->sk_d,  &k->sk_ai, &k->sk_ar,
	                         &k->sk_ei,    &k->sk_er, &k->sk_pi, &k->sk_pr};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		secret_free(*all[i]);
		*all[i] = NULL;
	}
}

int ikev2_child_keys_derive(uint16_t prf_id, const struct secret *sk_d,
                            const struct ikev2_algs *child, const struct secret *g_ir,
                            const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
                            struct ikev2_child_keys *k)
{
	const struct encr_alg *e = encr_alg_find(child->encr);
	size_t ek = ikev2_encr_key_len(child), ik = ikev2_integ_key_len(child);
	size_t lens[4] = {ek, ik, ek, ik};
	struct secret **dst[4] = {&k->encr_i, &k->integ_i, &k->encr_r, &k->integ_r};
	struct piece pc[] = {
	    {g_ir ? g_ir->p : NULL, g_ir ? g_ir->len : 0}, {ni, ni_len}, {nr, nr_len}};
	struct secret *seed = NULL, *km = NULL;
	int ret = -1;

	memset(k, 0, sizeof(*k));
	/* ENCR_NULL has no key; AH-only SAs have ENCR_NONE: both fine. */
	if (child->encr && (!e || (!ek && e->id != ENCR_NULL)))
		return -1;
	if (child->integ && !ik)
		return -1;
	seed = concat(pc, 3);
	km = secret_new(2 * (ek + ik));
	/* 2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) */
	if (seed && km &&
	    (!km->len ||
	     prf_plus(prf_id, sk_d->p, sk_d->len, seed->p, seed->len, km->p, km->len) == 0))
		ret = split(km, lens, dst, 4);
	if (ret)
		ikev2_child_keys_free(k);
	secret_free(seed);
	secret_free(km);
	return ret;
}

void ikev2_child_keys_free(struct ikev2_child_keys *k)
{
	secret_free(k->encr_i);
	secret_free(k->integ_i);
	secret_free(k->encr_r);
	secret_free(k->integ_r);
	memset(k, 0, sizeof(*k));
}

struct secret *ikev2_auth_octets(uint16_t prf_id, const uint8_t *msg, size_t msg_len,
                                 const uint8_t *nonce, size_t nonce_len, const struct secret *sk_p,
                                 const uint8_t *id_body, size_t id_len)
{
	uint8_t mac_id[PRF_MAX_OUT];
	size_t n = prf_out_len(prf_id);
	struct secret *out = NULL;

	/* 2.15: MACedIDForI = prf(SK_pi, RestOfInitIDPayload) */
	if (n && n <= sizeof(mac_id) &&
	    prf(prf_id, sk_p->p, sk_p->len, id_body, id_len, mac_id) == 0) {
		struct piece pc[] = {{msg, msg_len}, {nonce, nonce_len}, {mac_id, n}};

		out = concat(pc, 3);
	}
	secret_wipe(mac_id, sizeof(mac_id));
	return out;
}

/* 2.15: the pad string is the 17 ASCII characters, no NUL. */
static const char key_pad[] = "Key Pad for IKEv2";

int ikev2_auth_psk(uint16_t prf_id, const uint8_t *psk, size_t psk_len, const uint8_t *msg,
                   size_t msg_len, const uint8_t *nonce, size_t nonce_len,
                   const struct secret *sk_p, const uint8_t *id_body, size_t id_len, uint8_t *out,
                   size_t *out_len)
{
	uint8_t inner[PRF_MAX_OUT];
	size_t n = prf_out_len(prf_id);
	struct secret *octets;
	int ret = -1;

	if (!n || n > sizeof(inner))
		return -1;
	octets = ikev2_auth_octets(prf_id, msg, msg_len, nonce, nonce_len, sk_p, id_body, id_len);
	if (octets &&
	    prf(prf_id, psk, psk_len, (const uint8_t *)key_pad, sizeof(key_pad) - 1, inner) == 0 &&
	    prf(prf_id, inner, n, octets->p, octets->len, out) == 0) {
		*out_len = n;
		ret = 0;
	}
	secret_wipe(inner, sizeof(inner));
	secret_free(octets);
	return ret;
}
