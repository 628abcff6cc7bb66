/* Multi-buffer AES-CBC + HMAC seals with intel-ipsec-mb (see mb.h). */
#include "crypto/mb.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/alg.h"
#include "lib/log.h"
#include "lib/mem.h"

#ifdef HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>
#include <pthread.h>

#define MB_AES_ROUNDKEYS (4 * 15) /* AES-256: 15 round keys of 4 words */
#define MB_HASH_STATE 64          /* SHA-512 state: 8 x 64 bits */
#define MB_HASH_BLOCK 128         /* SHA-384/512 block; SHA-1/256 use 64 */

struct mb_key {
	uint32_t enc[MB_AES_ROUNDKEYS] __attribute__((aligned(16)));
	uint32_t dec[MB_AES_ROUNDKEYS] __attribute__((aligned(16)));
	uint8_t ipad[MB_HASH_STATE] __attribute__((aligned(16)));
	uint8_t opad[MB_HASH_STATE] __attribute__((aligned(16)));
	uint64_t aes_len;    /* 16, 24, 32 */
	IMB_HASH_ALG hash;
	uint64_t icv_len;
};

struct mb_done {
	void *user;
	bool ok;
};

struct mb_mgr {
	IMB_MGR *imb;
	unsigned queued;             /* submitted, not yet reported */
	unsigned ndone;
	struct mb_done done[MB_MAX_JOBS]; /* completed by a submit, reported at flush */
};

/* Key expansion and the HMAC pads need a manager only for its function
 * table; one for the process, set up on first use (the functions keep no
 * state, so threads may share it). */
static IMB_MGR *setup_mgr;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static bool disabled;

void mb_disable(void)
{
	disabled = true;
}

static IMB_MGR *imb_open(void)
{
	const char *env = getenv("ESPRIT_IPSEC_MB");
	IMB_MGR *m;

	if (disabled || (env && strcmp(env, "0") == 0))
		return NULL;
	m = alloc_mb_mgr(0);

	if (!m)
		return NULL;
	init_mb_mgr_auto(m, NULL);
	if (imb_get_errno(m) != 0) {
		free_mb_mgr(m);
		return NULL;
	}
	return m;
}

static void setup_init(void)
{
	setup_mgr = imb_open();
	if (setup_mgr)
		log_info("crypto: intel-ipsec-mb %s for AES-GCM and batched AES-CBC+HMAC",
			 imb_get_version_str());
}

static IMB_MGR *setup(void)
{
	pthread_once(&setup_once, setup_init);
	return setup_mgr;
}

const char *mb_version(void)
{
	return setup() ? imb_get_version_str() : NULL;
}

/* ---- AES-GCM, direct API ------------------------------------------------ */

struct mb_gcm {
	struct gcm_key_data kd __attribute__((aligned(64)));
	size_t key_len;
	unsigned refs; /* atomic */
};

struct mb_gcm *mb_gcm_new(const uint8_t *key, size_t key_len)
{
	IMB_MGR *m = setup();
	struct mb_gcm *g;

	if (!m || (key_len != 16 && key_len != 24 && key_len != 32))
		return NULL;
	g = zalloc_aligned64(sizeof(*g));
	if (!g)
		return NULL;
	if (key_len == 16)
		IMB_AES128_GCM_PRE(m, key, &g->kd);
	else if (key_len == 24)
		IMB_AES192_GCM_PRE(m, key, &g->kd);
	else
		IMB_AES256_GCM_PRE(m, key, &g->kd);
	g->key_len = key_len;
	g->refs = 1;
	return g;
}

struct mb_gcm *mb_gcm_ref(struct mb_gcm *g)
{
	if (g)
		__atomic_add_fetch(&g->refs, 1, __ATOMIC_RELAXED);
	return g;
}

/* Keys are wiped before their memory goes back. */
static void wipe_free(void *p, size_t len)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

void mb_gcm_free(struct mb_gcm *g)
{
	if (g && __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) == 0)
		wipe_free(g, sizeof(*g));
}

/* The functions are looked up in the shared manager's table; they keep
 * their state in ctx (on the stack), so threads may call them at once. */
static void gcm_run(const struct mb_gcm *g, bool enc, const uint8_t nonce[12], const uint8_t *aad,
		    size_t aad_len, uint8_t *data, size_t len, uint8_t *tag, size_t tag_len)
{
	IMB_MGR *m = setup_mgr;
	struct gcm_context_data ctx;

	if (enc && g->key_len == 16)
		IMB_AES128_GCM_ENC(m, &g->kd, &ctx, data, data, len, nonce, aad, aad_len, tag,
				   tag_len);
	else if (enc && g->key_len == 24)
		IMB_AES192_GCM_ENC(m, &g->kd, &ctx, data, data, len, nonce, aad, aad_len, tag,
				   tag_len);
	else if (enc)
		IMB_AES256_GCM_ENC(m, &g->kd, &ctx, data, data, len, nonce, aad, aad_len, tag,
				   tag_len);
	else if (g->key_len == 16)
		IMB_AES128_GCM_DEC(m, &g->kd, &ctx, data, data, len, nonce, aad, aad_len, tag,
				   tag_len);
	else if (g->key_len == 24)
		IMB_AES192_GCM_DEC(m, &g->kd, &ctx, data, data, len, nonce, aad, aad_len, tag,
				   tag_len);
	else
		IMB_AES256_GCM_DEC(m, &g->kd, &ctx, data, data, len, nonce, aad, aad_len, tag,
				   tag_len);
	OPENSSL_cleanse(&ctx, sizeof(ctx));
}

void mb_gcm_seal(const struct mb_gcm *g, const uint8_t nonce[12], const uint8_t *aad,
		 size_t aad_len, uint8_t *data, size_t len, uint8_t *tag, size_t tag_len)
{
	gcm_run(g, true, nonce, aad, aad_len, data, len, tag, tag_len);
}

bool mb_gcm_open(const struct mb_gcm *g, const uint8_t nonce[12], const uint8_t *aad,
		 size_t aad_len, uint8_t *data, size_t len, const uint8_t *tag, size_t tag_len)
{
	uint8_t want[16];
	bool ok;

	if (tag_len > sizeof(want))
		return false;
	gcm_run(g, false, nonce, aad, aad_len, data, len, want, tag_len);
	ok = CRYPTO_memcmp(want, tag, tag_len) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

/* ---- batched AES-CBC + HMAC ---------------------------------------------- */

struct hash_desc {
	uint16_t integ_id;
	IMB_HASH_ALG alg;
	size_t block;
};

static const struct hash_desc hashes[] = {
	{AUTH_HMAC_SHA1_96, IMB_AUTH_HMAC_SHA_1, 64},
	{AUTH_HMAC_SHA2_256_128, IMB_AUTH_HMAC_SHA_256, 64},
	{AUTH_HMAC_SHA2_384_192, IMB_AUTH_HMAC_SHA_384, 128},
	{AUTH_HMAC_SHA2_512_256, IMB_AUTH_HMAC_SHA_512, 128},
};

static void one_block(IMB_MGR *m, IMB_HASH_ALG alg, const uint8_t *blk, uint8_t *state)
{
	switch (alg) {
	case IMB_AUTH_HMAC_SHA_1:
		IMB_SHA1_ONE_BLOCK(m, blk, state);
		break;
	case IMB_AUTH_HMAC_SHA_256:
		IMB_SHA256_ONE_BLOCK(m, blk, state);
		break;
	case IMB_AUTH_HMAC_SHA_384:
		IMB_SHA384_ONE_BLOCK(m, blk, state);
		break;
	default:
		IMB_SHA512_ONE_BLOCK(m, blk, state);
		break;
	}
}

/* RFC 2104 2: the hash state after (K xor ipad) and after (K xor opad);
 * keys no longer than a block (every IPsec HMAC key is, RFC 4868 2.1.1). */
static void hmac_pads(IMB_MGR *m, const struct hash_desc *h, const uint8_t *key, size_t len,
		      struct mb_key *k)
{
	uint8_t blk[MB_HASH_BLOCK];

	memset(blk, 0x36, h->block);
	for (size_t i = 0; i < len; i++)
		blk[i] ^= key[i];
	one_block(m, h->alg, blk, k->ipad);
	memset(blk, 0x5c, h->block);
	for (size_t i = 0; i < len; i++)
		blk[i] ^= key[i];
	one_block(m, h->alg, blk, k->opad);
	OPENSSL_cleanse(blk, sizeof(blk));
}

struct mb_key *mb_key_new(uint16_t encr_id, const uint8_t *ekey, size_t eklen, uint16_t integ_id,
			  const uint8_t *ikey, size_t iklen)
{
	const struct integ_alg *ia = integ_alg_find(integ_id);
	const struct hash_desc *h = NULL;
	IMB_MGR *m;
	struct mb_key *k;

	if (encr_id != ENCR_AES_CBC || !ia || (eklen != 16 && eklen != 24 && eklen != 32))
		return NULL;
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (hashes[i].integ_id == integ_id)
			h = &hashes[i];
	if (!h || iklen > h->block || !(m = setup()))
		return NULL;
	k = zalloc_aligned64(sizeof(*k));
	if (!k)
		return NULL;
	if (eklen == 16)
		IMB_AES_KEYEXP_128(m, ekey, k->enc, k->dec);
	else if (eklen == 24)
		IMB_AES_KEYEXP_192(m, ekey, k->enc, k->dec);
	else
		IMB_AES_KEYEXP_256(m, ekey, k->enc, k->dec);
	hmac_pads(m, h, ikey, iklen, k);
	k->aes_len = eklen;
	k->hash = h->alg;
	k->icv_len = ia->icv_len;
	return k;
}

void mb_key_free(struct mb_key *k)
{
	wipe_free(k, sizeof(*k));
}

struct mb_mgr *mb_mgr_new(void)
{
	struct mb_mgr *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->imb = imb_open();
	if (!m->imb) {
		free(m);
		return NULL;
	}
	return m;
}

void mb_mgr_free(struct mb_mgr *m)
{
	if (!m)
		return;
	free_mb_mgr(m->imb);
	free(m);
}

static void collect(struct mb_mgr *m, IMB_JOB *j)
{
	while (j) {
		if (m->ndone < MB_MAX_JOBS) {
			m->done[m->ndone].user = j->user_data;
			m->done[m->ndone].ok = j->status == IMB_STATUS_COMPLETED;
			m->ndone++;
		}
		j = IMB_GET_COMPLETED_JOB(m->imb);
	}
}

/* A job with the HMAC half filled in (k's pads, over len bytes from
 * src, ICV to tag): the caller sets the cipher half, then submit(). */
static IMB_JOB *hmac_job(struct mb_mgr *m, const struct mb_key *k, const uint8_t *src,
			 size_t len, uint8_t *tag, void *user)
{
	IMB_JOB *j = IMB_GET_NEXT_JOB(m->imb);

	j->enc_keys = k->enc;
	j->dec_keys = k->dec;
	j->key_len_in_bytes = k->aes_len;
	j->src = src;
	j->hash_alg = k->hash;
	j->hash_start_src_offset_in_bytes = 0;
	j->msg_len_to_hash_in_bytes = len;
	j->auth_tag_output = tag;
	j->auth_tag_output_len_in_bytes = k->icv_len;
	j->u.HMAC._hashed_auth_key_xor_ipad = k->ipad;
	j->u.HMAC._hashed_auth_key_xor_opad = k->opad;
	j->user_data = user;
	return j;
}

static void submit(struct mb_mgr *m)
{
	m->queued++;
	collect(m, IMB_SUBMIT_JOB(m->imb));
}

int mb_seal_queue(struct mb_mgr *m, const struct mb_key *k, uint8_t *auth, size_t auth_len,
		  uint8_t *ct, size_t ct_len, const uint8_t *iv, uint8_t *tag, void *user)
{
	IMB_JOB *j;

	if (m->queued >= MB_MAX_JOBS || ct < auth || ct + ct_len > auth + auth_len)
		return -1;
	j = hmac_job(m, k, auth, auth_len, tag, user);
	j->cipher_mode = IMB_CIPHER_CBC;
	j->cipher_direction = IMB_DIR_ENCRYPT;
	j->chain_order = IMB_ORDER_CIPHER_HASH; /* ESP: encrypt, then MAC (RFC 4303 3.3.2) */
	j->dst = ct;
	j->cipher_start_src_offset_in_bytes = (uint64_t)(ct - auth);
	j->msg_len_to_cipher_in_bytes = ct_len;
	j->iv = iv;
	j->iv_len_in_bytes = 16;
	submit(m);
	return 0;
}

int mb_hmac_queue(struct mb_mgr *m, const struct mb_key *k, const uint8_t *data, size_t len,
		  uint8_t *tag, void *user)
{
	IMB_JOB *j;

	if (m->queued >= MB_MAX_JOBS)
		return -1;
	j = hmac_job(m, k, data, len, tag, user);
	j->cipher_mode = IMB_CIPHER_NULL;
	j->cipher_direction = IMB_DIR_DECRYPT;
	j->chain_order = IMB_ORDER_HASH_CIPHER;
	j->dst = (uint8_t *)data; /* NULL cipher: nothing is written there */
	j->cipher_start_src_offset_in_bytes = 0;
	j->msg_len_to_cipher_in_bytes = 0;
	j->iv = NULL;
	j->iv_len_in_bytes = 0;
	submit(m);
	return 0;
}

unsigned mb_flush(struct mb_mgr *m, void (*done)(void *user, bool ok))
{
	unsigned n = m->queued;
	IMB_JOB *j;

	while ((j = IMB_FLUSH_JOB(m->imb)) != NULL)
		collect(m, j);
	for (unsigned i = 0; i < m->ndone; i++)
		done(m->done[i].user, m->done[i].ok);
	m->ndone = 0;
	m->queued = 0;
	return n;
}

#else /* !HAVE_IPSEC_MB */

void mb_disable(void)
{
}

const char *mb_version(void)
{
	return NULL;
}

struct mb_gcm *mb_gcm_new(const uint8_t *key, size_t key_len)
{
	(void)key, (void)key_len;
	return NULL;
}

struct mb_gcm *mb_gcm_ref(struct mb_gcm *g)
{
	return g;
}

void mb_gcm_free(struct mb_gcm *g)
{
	(void)g;
}

void mb_gcm_seal(const struct mb_gcm *g, const uint8_t nonce[12], const uint8_t *aad,
		 size_t aad_len, uint8_t *data, size_t len, uint8_t *tag, size_t tag_len)
{
	(void)g, (void)nonce, (void)aad, (void)aad_len, (void)data, (void)len, (void)tag,
		(void)tag_len;
}

bool mb_gcm_open(const struct mb_gcm *g, const uint8_t nonce[12], const uint8_t *aad,
		 size_t aad_len, uint8_t *data, size_t len, const uint8_t *tag, size_t tag_len)
{
	(void)g, (void)nonce, (void)aad, (void)aad_len, (void)data, (void)len, (void)tag,
		(void)tag_len;
	return false;
}

struct mb_key *mb_key_new(uint16_t encr_id, const uint8_t *ekey, size_t eklen, uint16_t integ_id,
			  const uint8_t *ikey, size_t iklen)
{
	(void)encr_id, (void)ekey, (void)eklen, (void)integ_id, (void)ikey, (void)iklen;
	return NULL;
}

void mb_key_free(struct mb_key *k)
{
	(void)k;
}

struct mb_mgr *mb_mgr_new(void)
{
	return NULL;
}

void mb_mgr_free(struct mb_mgr *m)
{
	(void)m;
}

int mb_seal_queue(struct mb_mgr *m, const struct mb_key *k, uint8_t *auth, size_t auth_len,
		  uint8_t *ct, size_t ct_len, const uint8_t *iv, uint8_t *tag, void *user)
{
	(void)m, (void)k, (void)auth, (void)auth_len, (void)ct, (void)ct_len, (void)iv,
		(void)tag, (void)user;
	return -1;
}

int mb_hmac_queue(struct mb_mgr *m, const struct mb_key *k, const uint8_t *data, size_t len,
		  uint8_t *tag, void *user)
{
	(void)m, (void)k, (void)data, (void)len, (void)tag, (void)user;
	return -1;
}

unsigned mb_flush(struct mb_mgr *m, void (*done)(void *user, bool ok))
{
	(void)m, (void)done;
	return 0;
}

#endif
