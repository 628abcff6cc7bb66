/* ESP, RFC 4303, with the AEAD rules of RFC 4106 (GCM), RFC 4543 (GMAC)
 * and RFC 7634 (ChaCha20-Poly1305).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               Security Parameters Index (SPI)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Sequence Number                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    IV (iv_len bytes, explicit)                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Payload Data (variable)                    |
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               |     Padding (0-255 bytes)                     |
 * +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |  Pad Length   | Next Header   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Integrity Check Value (variable)                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#include <openssl/crypto.h>
#include <string.h>

#include "crypto/cipher.h"
#include "dataplane/xform_int.h"
#include "lib/cursor.h"

static const struct encr_alg null_alg = {.id = ENCR_NULL, .name = "null", .block_len = 4};

static const struct encr_alg *esp_alg(const struct sa *sa)
{
	const struct encr_alg *a = sa->encr_alg;

	return a ? a : &null_alg; /* ENCR_NONE: integrity-only, as NULL */
}

size_t esp_icv_len(const struct sa *sa)
{
	const struct encr_alg *a = esp_alg(sa);
	const struct integ_alg *i;

	if (a->aead)
		return a->icv_len;
	i = sa->integ_alg;
	return i ? i->icv_len : 0;
}

/* CBC ciphers need an unpredictable IV (RFC 3602 2.4); counter and AEAD
 * modes only need a unique one: the 64-bit sequence number, which never
 * repeats under one key (RFC 4106 3.1, RFC 3686 3.1, RFC 7634 2). */
static bool iv_random(const struct encr_alg *a)
{
	return !a->aead && a->id != ENCR_AES_CTR && a->iv_len > 0;
}

/* Additional authenticated data: SPI || seq, or SPI || seq-hi || seq-lo
 * with ESN (RFC 4106 5, RFC 4543 3.3, RFC 7634 2.1). For GMAC the IV,
 * payload and trailer follow seq-lo (RFC 4543 3.3), contiguous on the wire. */
static void esp_aad(struct aad *aad, const uint8_t *esph, const uint8_t *seq_hi, bool esn,
		    size_t gmac_len)
{
	memset(aad, 0, sizeof(*aad));
	if (esn) {
		aad->p[0] = esph;
		aad->len[0] = 4;
		aad->p[1] = seq_hi;
		aad->len[1] = 4;
		aad->p[2] = esph + 4;
		aad->len[2] = 4 + gmac_len;
		aad->n = 3;
	} else {
		aad->p[0] = esph;
		aad->len[0] = ESP_HDR_LEN + gmac_len;
		aad->n = 1;
	}
}

/* Integrity over ESP header || IV || ciphertext, then seq-hi for ESN
 * (RFC 4303 3.3.2.1: seq-hi is in the ICV but not transmitted). */
static void esp_icv_pieces(struct aad *pc, const uint8_t *esph, size_t len, const uint8_t *seq_hi,
			   bool esn)
{
	memset(pc, 0, sizeof(*pc));
	pc->p[0] = esph;
	pc->len[0] = len;
	pc->n = 1;
	if (esn) {
		pc->p[1] = seq_hi;
		pc->len[1] = 4;
		pc->n = 2;
	}
}

static enum dp_drop esp_seal(struct sa *sa, unsigned worker, const struct encr_alg *a,
			     uint8_t *esph, size_t clen, uint64_t seq)
{
	struct sa_crypto *wk = &sa->wk[worker];
	uint8_t *iv = esph + ESP_HDR_LEN, *data = iv + a->iv_len, seq_hi[4];
	struct aad aad;

	put_be32(seq_hi, (uint32_t)(seq >> 32));
	if (a->aead) {
		if (!wk->cipher)
			return DROP_INTERNAL;
		if (a->auth_only) { /* GMAC: everything authenticated, nothing encrypted */
			esp_aad(&aad, esph, seq_hi, sa->p.esn, a->iv_len + clen);
			if (cipher_aead(wk->cipher, iv, &aad, NULL, 0, data + clen) != 0)
				return DROP_INTERNAL;
			return DROP_NONE;
		}
		esp_aad(&aad, esph, seq_hi, sa->p.esn, 0);
		if (cipher_aead(wk->cipher, iv, &aad, data, clen, data + clen) != 0)
			return DROP_INTERNAL;
		return DROP_NONE;
	}
	if (a->id != ENCR_NULL) {
		if (!wk->cipher || cipher_crypt(wk->cipher, iv, data, clen) != 0)
			return DROP_INTERNAL;
	}
	if (wk->mac) {
		esp_icv_pieces(&aad, esph, ESP_HDR_LEN + a->iv_len + clen, seq_hi, sa->p.esn);
		if (mac_compute(wk->mac, &aad, data + clen) != 0)
			return DROP_INTERNAL;
	}
	return DROP_NONE;
}

/* Keep the packet for esp_seal_pending() if the caller batches seals
 * (s->defer_failed) and the SA has multi-buffer keys. */
static bool esp_defer(struct sa *sa, unsigned worker, struct xform_scratch *s, uint8_t *esph,
		      size_t clen, uint64_t seq)
{
	struct esp_pending *e;

	if (!s || !s->defer_failed || !sa->mbk || s->npend >= MB_MAX_JOBS)
		return false;
	e = &s->pend[s->npend++];
	e->sa = sa;
	e->worker = worker;
	e->esph = esph;
	e->clen = clen;
	e->seq = seq;
	e->failed = s->defer_failed;
	return true;
}

/* Payload, padding, pad length and next header: len + 2 rounded up to
 * the cipher's block, at least 4 (RFC 4303 2.4). */
static size_t esp_clen(const struct encr_alg *a, size_t len)
{
	size_t block = a->block_len < 4 ? 4 : a->block_len;

	return (len + 2 + block - 1) / block * block;
}

size_t esp_len_for(const struct sa *sa, size_t len)
{
	const struct encr_alg *a = esp_alg(sa);

	return ESP_HDR_LEN + a->iv_len + esp_clen(a, len) + esp_icv_len(sa);
}

enum dp_drop esp_encap(struct sa *sa, unsigned worker, struct xform_scratch *s, struct pkt *p,
		       uint8_t nh)
{
	const struct encr_alg *a = esp_alg(sa);
	size_t icv = esp_icv_len(sa), front = ESP_HDR_LEN + a->iv_len;
	size_t clen = esp_clen(a, p->len);
	size_t padlen = clen - p->len - 2;
	enum dp_drop r;
	uint64_t seq;
	uint8_t *esph, *tr;

	if (worker >= sa->nworkers)
		return DROP_INTERNAL;
	if (p->off < front || p->off + clen + icv > p->cap || front + clen + icv > PKT_MAX_DATA)
		return DROP_TOO_BIG;
	r = xform_seq_next(sa, &seq);
	if (r != DROP_NONE)
		return r;
	/* Trailer: monotonic padding 1, 2, 3, ... (RFC 4303 2.4), pad length,
	 * next header. */
	tr = pkt_data(p) + p->len;
	for (size_t i = 0; i < padlen; i++)
		tr[i] = (uint8_t)(i + 1);
	tr[padlen] = (uint8_t)padlen;
	tr[padlen + 1] = nh;

	p->off -= front;
	esph = pkt_data(p);
	put_be32(esph, sa->p.spi);
	put_be32(esph + 4, (uint32_t)seq); /* low 32 bits only (RFC 4303 2.2.1) */
	if (iv_random(a)) {
		if (crypto_random(esph + ESP_HDR_LEN, a->iv_len) != 0)
			return DROP_INTERNAL;
	} else if (a->iv_len == 8) {
		put_be32(esph + ESP_HDR_LEN, (uint32_t)(seq >> 32));
		put_be32(esph + ESP_HDR_LEN + 4, (uint32_t)seq);
	}
	p->len = front + clen + icv;
	if (esp_defer(sa, worker, s, esph, clen, seq))
		return DROP_NONE;
	return esp_seal(sa, worker, a, esph, clen, seq);
}

static void mb_done(void *user, bool ok)
{
	struct esp_pending *e = user;

	if (!ok)
		*e->failed = true;
}

/* Queue e on the multi-buffer manager: AES-CBC over the payload, then the
 * HMAC over ESP header || IV || ciphertext. With ESN the ICV also covers
 * seq-hi, which is not sent (RFC 4303 3.3.2.1): it is put where the ICV
 * goes, authenticated, then overwritten by the ICV. */
static int mb_queue(struct mb_mgr *m, const struct esp_pending *e)
{
	const struct sa *sa = e->sa;
	size_t iv_len = sa->encr_alg->iv_len, auth_len = ESP_HDR_LEN + iv_len + e->clen;
	uint8_t *iv = e->esph + ESP_HDR_LEN, *data = iv + iv_len;

	if (sa->p.esn) {
		put_be32(data + e->clen, (uint32_t)(e->seq >> 32));
		auth_len += 4;
	}
	return mb_seal_queue(m, sa->mbk, e->esph, auth_len, data, e->clen, iv, data + e->clen,
			     (void *)e);
}

unsigned esp_seal_pending(struct xform_scratch *s)
{
	unsigned failed = 0, n = s->npend;

	s->npend = 0;
	if (n >= MB_MIN_BATCH && s->mb) {
		for (unsigned i = 0; i < n; i++)
			if (mb_queue(s->mb, &s->pend[i]) != 0)
				*s->pend[i].failed = true;
		mb_flush(s->mb, mb_done);
	} else {
		for (unsigned i = 0; i < n; i++) {
			struct esp_pending *e = &s->pend[i];

			if (esp_seal(e->sa, e->worker, esp_alg(e->sa), e->esph, e->clen, e->seq) !=
			    DROP_NONE)
				*e->failed = true;
		}
	}
	for (unsigned i = 0; i < n; i++)
		failed += *s->pend[i].failed;
	return failed;
}

/* The ICV computed ahead for this packet (xform_preverify_run), if any. */
static const uint8_t *prever_icv(const struct xform_scratch *s, const struct sa *sa,
				 const uint8_t *esph, uint64_t seq)
{
	const struct esp_prever *v = s ? s->prever_cur : NULL;

	if (!v || !v->done || v->sa != sa || v->esph != esph)
		return NULL;
	if (v->esn && v->seq_hi != (uint32_t)(seq >> 32))
		return NULL; /* the window moved on meanwhile: compute it here */
	return v->icv;
}

/* Verify (and for AEAD, decrypt) the packet at esph. */
static enum dp_drop esp_open(struct sa *sa, unsigned worker, const struct xform_scratch *s,
			     const struct encr_alg *a, uint8_t *esph, size_t clen, uint64_t seq)
{
	struct sa_crypto *wk = &sa->wk[worker];
	uint8_t *iv = esph + ESP_HDR_LEN, *data = iv + a->iv_len, seq_hi[4];
	struct aad aad;

	put_be32(seq_hi, (uint32_t)(seq >> 32));
	if (a->aead) {
		if (!wk->cipher)
			return DROP_INTERNAL;
		if (a->auth_only) {
			esp_aad(&aad, esph, seq_hi, sa->p.esn, a->iv_len + clen);
			return cipher_aead(wk->cipher, iv, &aad, NULL, 0, data + clen) == 0 ? DROP_NONE
											   : DROP_ICV;
		}
		esp_aad(&aad, esph, seq_hi, sa->p.esn, 0);
		return cipher_aead(wk->cipher, iv, &aad, data, clen, data + clen) == 0 ? DROP_NONE
										  : DROP_ICV;
	}
	/* RFC 4303 3.4.4: integrity first, then decrypt. mac_verify is
	 * constant time (CRYPTO_memcmp). */
	if (wk->mac) {
		const uint8_t *want = prever_icv(s, sa, esph, seq);

		if (want) {
			if (CRYPTO_memcmp(want, data + clen, sa->integ_alg->icv_len) != 0)
				return DROP_ICV;
		} else {
			esp_icv_pieces(&aad, esph, ESP_HDR_LEN + a->iv_len + clen, seq_hi,
				       sa->p.esn);
			if (!mac_verify(wk->mac, &aad, data + clen))
				return DROP_ICV;
		}
	}
	if (a->id != ENCR_NULL) {
		if (!wk->cipher || cipher_crypt(wk->cipher, iv, data, clen) != 0)
			return DROP_INTERNAL;
	}
	return DROP_NONE;
}

/* Padding must be 1, 2, 3, ... (RFC 4303 2.4: the receiver should check). */
static bool pad_ok(const uint8_t *data, size_t clen, size_t *padlen)
{
	struct cur c = cur_init(data + clen - 2, 1), pad;
	uint8_t pl = 0, b = 0;

	if (!cur_u8(&c, &pl) || (size_t)pl + 2 > clen)
		return false;
	pad = cur_init(data + clen - 2 - pl, pl);
	for (size_t i = 0; i < pl; i++)
		if (!cur_u8(&pad, &b) || b != (uint8_t)(i + 1))
			return false;
	*padlen = pl;
	return true;
}

enum dp_drop esp_decap(struct sa *sa, unsigned worker, const struct xform_scratch *s,
		       struct pkt *p, uint8_t *nh)
{
	const struct encr_alg *a = esp_alg(sa);
	size_t icv = esp_icv_len(sa), front = ESP_HDR_LEN + a->iv_len, clen, padlen = 0;
	struct cur c = cur_init(pkt_data(p), p->len);
	uint32_t spi, seq_lo;
	uint64_t seq;
	enum dp_drop r;
	uint8_t *esph = pkt_data(p);

	if (worker >= sa->nworkers)
		return DROP_INTERNAL;
	if (!cur_u32(&c, &spi) || !cur_u32(&c, &seq_lo) || cur_left(&c) < a->iv_len + icv + 2)
		return DROP_MALFORMED;
	clen = p->len - front - icv;
	if (!a->aead && a->block_len > 4 && clen % a->block_len)
		return DROP_MALFORMED;
	if (clen % 4)
		return DROP_MALFORMED; /* RFC 4303 2.4: 4-byte alignment */
	/* RFC 4303 3.4.3: replay check before the ICV check. */
	r = xform_replay_check(sa, seq_lo, &seq);
	if (r != DROP_NONE)
		return r;
	r = esp_open(sa, worker, s, a, esph, clen, seq);
	if (r != DROP_NONE)
		return r;
	r = xform_replay_update(sa, seq);
	if (r != DROP_NONE)
		return r;
	if (!pad_ok(esph + front, clen, &padlen))
		return DROP_BAD_PAD;
	*nh = esph[front + clen - 1];
	p->off += front;
	p->len = clen - 2 - padlen;
	return DROP_NONE;
}
