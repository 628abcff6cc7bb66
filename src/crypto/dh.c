/* Diffie-Hellman for IKE on OpenSSL 3 EVP_PKEY. See dh.h for the wire
 * formats. Not on the data path: one EVP context per operation. */
#include "crypto/dh.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

enum dh_kind { DH_KIND_MODP, DH_KIND_ECP, DH_KIND_ECX };

struct dh_group {
	uint16_t id;
	enum dh_kind kind;
	const char *name;  /* ours, for logs and config */
	const char *ossl;  /* OpenSSL group / algorithm name, or NULL */
	const char *prime; /* hex prime when OpenSSL has no named group */
	int nid;           /* ECP curve, for dh_new_with_private */
	uint16_t pub_len;  /* bytes on the wire */
	bool weak;
};

/* RFC 2409 6.1 and 6.2 (Oakley groups 1 and 2, generator 2). OpenSSL has
 * no named group for these; the RFC 3526 groups are "modp_*" in OpenSSL
 * (not the RFC 7919 "ffdhe*" groups, which are different primes). */
static const char modp768_p[] = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
                                "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
                                "4FE1356D6D51C245E485B576625E7EC6F44C42E9A63A3620FFFFFFFFFFFFFFFF";
static const char modp1024_p[] = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
                                 "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
                                 "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
                                 "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";

static const struct dh_group groups[] = {
    {DH_MODP_768, DH_KIND_MODP, "modp768", NULL, modp768_p, 0, 96, true},
    {DH_MODP_1024, DH_KIND_MODP, "modp1024", NULL, modp1024_p, 0, 128, true},
    {DH_MODP_1536, DH_KIND_MODP, "modp1536", "modp_1536", NULL, 0, 192, true},
    {DH_MODP_2048, DH_KIND_MODP, "modp2048", "modp_2048", NULL, 0, 256, false},
    {DH_MODP_3072, DH_KIND_MODP, "modp3072", "modp_3072", NULL, 0, 384, false},
    {DH_MODP_4096, DH_KIND_MODP, "modp4096", "modp_4096", NULL, 0, 512, false},
    {DH_MODP_6144, DH_KIND_MODP, "modp6144", "modp_6144", NULL, 0, 768, false},
    {DH_MODP_8192, DH_KIND_MODP, "modp8192", "modp_8192", NULL, 0, 1024, false},
    {DH_ECP_256, DH_KIND_ECP, "ecp256", "P-256", NULL, NID_X9_62_prime256v1, 64, false},
    {DH_ECP_384, DH_KIND_ECP, "ecp384", "P-384", NULL, NID_secp384r1, 96, false},
    {DH_ECP_521, DH_KIND_ECP, "ecp521", "P-521", NULL, NID_secp521r1, 132, false},
    {DH_CURVE25519, DH_KIND_ECX, "curve25519", "X25519", NULL, 0, 32, false},
    {DH_CURVE448, DH_KIND_ECX, "curve448", "X448", NULL, 0, 56, false},
};

struct dh {
	const struct dh_group *g;
	EVP_PKEY *pkey; /* owns the private key */
};

static const struct dh_group *group_find(uint16_t id)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (groups[i].id == id)
			return &groups[i];
	return NULL;
}

size_t dh_public_len(uint16_t group)
{
	const struct dh_group *g = group_find(group);

	return g ? g->pub_len : 0;
}

bool dh_group_supported(uint16_t group) { return group_find(group) != NULL; }

bool dh_group_weak(uint16_t group)
{
	const struct dh_group *g = group_find(group);

	return !g || g->weak;
}

const char *dh_group_name(uint16_t group)
{
	const struct dh_group *g = group_find(group);

	return g ? g->name : NULL;
}

uint16_t dh_group(const struct dh *dh) { return dh->g->id; }

/* ---- building keys and parameters ---- */

/* Push the group's domain parameters (and optionally key parts) and turn
 * them into an EVP_PKEY of `selection`. */
static EVP_PKEY *pkey_from_parts(const struct dh_group *g, const BIGNUM *pub_bn,
                                 const uint8_t *pub_oct, size_t pub_oct_len, const BIGNUM *priv,
                                 int selection)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *p = NULL, *gen = NULL;
	int ok = bld != NULL;

	if (ok && g->kind == DH_KIND_MODP && g->ossl) {
		ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g->ossl, 0);
	} else if (ok && g->kind == DH_KIND_MODP) {
		ok = BN_hex2bn(&p, g->prime) > 0 && (gen = BN_new()) && BN_set_word(gen, 2) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, p) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, gen);
	} else if (ok) {
		ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g->ossl, 0);
	}
	if (ok && pub_bn)
		ok = OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, pub_bn);
	if (ok && pub_oct)
		ok = OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub_oct,
		                                      pub_oct_len);
	if (ok && priv)
		ok = OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
	if (ok)
		ok = (params = OSSL_PARAM_BLD_to_param(bld)) != NULL;
	if (ok)
		ok = (ctx = EVP_PKEY_CTX_new_from_name(NULL, g->kind == DH_KIND_MODP ? "DH" : "EC",
		                                       NULL)) != NULL;
	if (ok)
		ok = EVP_PKEY_fromdata_init(ctx) > 0 &&
		     EVP_PKEY_fromdata(ctx, &pkey, selection, params) > 0;
	if (!ok) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(p);
	BN_free(gen);
	return pkey;
}

static EVP_PKEY *keygen(const struct dh_group *g)
{
	EVP_PKEY *params = NULL, *pkey = NULL;
	EVP_PKEY_CTX *ctx;

	if (g->kind == DH_KIND_ECX)
		return EVP_PKEY_Q_keygen(NULL, NULL, g->ossl);
	if (g->kind == DH_KIND_ECP)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", g->ossl);
	params = pkey_from_parts(g, NULL, NULL, 0, NULL, EVP_PKEY_KEY_PARAMETERS);
	if (!params)
		return NULL;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL);
	if (ctx && EVP_PKEY_keygen_init(ctx) > 0 && EVP_PKEY_generate(ctx, &pkey) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(params);
	return pkey;
}

struct dh *dh_new(uint16_t group)
{
	const struct dh_group *g = group_find(group);
	struct dh *dh;

	if (!g) {
		log_warn("dh: group %u not supported", group);
		return NULL;
	}
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return NULL;
	dh->g = g;
	dh->pkey = keygen(g);
	if (!dh->pkey) {
		log_err("dh: key generation failed for %s", g->name);
		free(dh);
		return NULL;
	}
	return dh;
}

void dh_free(struct dh *dh)
{
	if (!dh)
		return;
	EVP_PKEY_free(dh->pkey); /* OpenSSL clears private key material */
	OPENSSL_cleanse(dh, sizeof(*dh));
	free(dh);
}

/* ---- public value ---- */

int dh_public(struct dh *dh, uint8_t *out, size_t *len)
{
	uint8_t buf[DH_MAX_PUBLIC_LEN + 1];
	size_t n = 0, want = dh->g->pub_len;
	BIGNUM *y = NULL;
	int ret = -1;

	if (*len < want)
		return -1;
	switch (dh->g->kind) {
	case DH_KIND_ECX:
		n = want;
		if (EVP_PKEY_get_raw_public_key(dh->pkey, out, &n) > 0 && n == want)
			ret = 0;
		break;
	case DH_KIND_ECP:
		/* Uncompressed point 0x04 || x || y; RFC 5903 7 drops the 0x04. */
		if (EVP_PKEY_get_octet_string_param(dh->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
		                                    buf, sizeof(buf), &n) > 0 &&
		    n == want + 1 && buf[0] == 0x04) {
			memcpy(out, buf + 1, want);
			ret = 0;
		}
		break;
	case DH_KIND_MODP:
		if (EVP_PKEY_get_bn_param(dh->pkey, OSSL_PKEY_PARAM_PUB_KEY, &y) > 0 &&
		    BN_bn2binpad(y, out, (int)want) == (int)want)
			ret = 0;
		BN_free(y);
		break;
	}
	if (ret == 0)
		*len = want;
	return ret;
}

/* ---- peer values ---- */

/* RFC 7296 2.14 / NIST SP 800-56A 5.6.2.3.1: 1 < y < p-1. */
static EVP_PKEY *peer_modp(const struct dh *dh, const uint8_t *peer, size_t len)
{
	BIGNUM *y = BN_bin2bn(peer, (int)len, NULL);
	BIGNUM *p = NULL, *pm1 = NULL;
	EVP_PKEY *pkey = NULL;

	if (y && EVP_PKEY_get_bn_param(dh->pkey, OSSL_PKEY_PARAM_FFC_P, &p) > 0 &&
	    (pm1 = BN_dup(p)) && BN_sub_word(pm1, 1) && BN_cmp(y, BN_value_one()) > 0 &&
	    BN_cmp(y, pm1) < 0)
		pkey = pkey_from_parts(dh->g, y, NULL, 0, NULL, EVP_PKEY_PUBLIC_KEY);
	BN_free(y);
	BN_free(p);
	BN_free(pm1);
	return pkey;
}

/* OpenSSL's EC import checks that the point is on the curve. */
static EVP_PKEY *peer_ecp(const struct dh *dh, const uint8_t *peer, size_t len)
{
	uint8_t oct[DH_MAX_PUBLIC_LEN + 1];

	oct[0] = 0x04;
	memcpy(oct + 1, peer, len);
	return pkey_from_parts(dh->g, NULL, oct, len + 1, NULL, EVP_PKEY_PUBLIC_KEY);
}

static EVP_PKEY *peer_pkey(const struct dh *dh, const uint8_t *peer, size_t len)
{
	switch (dh->g->kind) {
	case DH_KIND_MODP:
		return peer_modp(dh, peer, len);
	case DH_KIND_ECP:
		return peer_ecp(dh, peer, len);
	case DH_KIND_ECX:
		return EVP_PKEY_new_raw_public_key_ex(NULL, dh->g->ossl, NULL, peer, len);
	}
	return NULL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Derive into a new secret of the size OpenSSL reports. */
static struct secret *derive(struct dh *dh, EVP_PKEY *peer)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->pkey, NULL);
	struct secret *s = NULL;
	size_t n = 0;
	int ok;

	ok = ctx && EVP_PKEY_derive_init(ctx) > 0;
	/* RFC 7296 2.14: g^ir padded to the length of the modulus. */
	if (ok && dh->g->kind == DH_KIND_MODP)
		ok = EVP_PKEY_CTX_set_dh_pad(ctx, 1) > 0;
	/* MODP: the range check of peer_modp() is the whole check for these
	 * safe-prime groups (the only small subgroup is {1, p-1}); OpenSSL's
	 * full check would cost a second exponentiation per handshake.
	 * ECP: OpenSSL checks the point (on the curve, not infinity). */
	ok = ok && EVP_PKEY_derive_set_peer_ex(ctx, peer, dh->g->kind != DH_KIND_MODP) > 0 &&
	     EVP_PKEY_derive(ctx, NULL, &n) > 0 && (s = secret_new(n)) != NULL &&
	     EVP_PKEY_derive(ctx, s->p, &s->len) > 0;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		secret_free(s);
		return NULL;
	}
	return s;
}

static size_t shared_len(const struct dh_group *g)
{
	return g->kind == DH_KIND_ECP ? g->pub_len / 2u : g->pub_len;
}

int dh_shared(struct dh *dh, const uint8_t *peer, size_t len, struct secret **out)
{
	struct secret *s = NULL;
	EVP_PKEY *pk;

	*out = NULL;
	if (len != dh->g->pub_len)
		return -1;
	pk = peer_pkey(dh, peer, len);
	if (!pk)
		return -1;
	s = derive(dh, pk);
	EVP_PKEY_free(pk);
	if (!s)
		return -1;
	/* RFC 8031 2.3: all-zero output means a low-order point. */
	if (s->len != shared_len(dh->g) || all_zero(s->p, s->len)) {
		secret_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* ---- known-answer tests ---- */

static EVP_PKEY *ecp_with_private(const struct dh_group *g, const BIGNUM *d)
{
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(g->nid);
	EC_POINT *q = grp ? EC_POINT_new(grp) : NULL;
	uint8_t oct[DH_MAX_PUBLIC_LEN + 1];
	EVP_PKEY *pkey = NULL;
	size_t n = 0;

	if (q && EC_POINT_mul(grp, q, d, NULL, NULL, NULL))
		n = EC_POINT_point2oct(grp, q, POINT_CONVERSION_UNCOMPRESSED, oct, sizeof(oct),
		                       NULL);
	if (n)
		pkey = pkey_from_parts(g, NULL, oct, n, d, EVP_PKEY_KEYPAIR);
	EC_POINT_free(q);
	EC_GROUP_free(grp);
	return pkey;
}

static EVP_PKEY *modp_with_private(struct dh *tmp, const BIGNUM *x)
{
	BIGNUM *p = NULL, *y = BN_new(), *two = BN_new();
	BN_CTX *bnc = BN_CTX_new();
	EVP_PKEY *pkey = NULL;

	if (y && two && bnc && BN_set_word(two, 2) &&
	    EVP_PKEY_get_bn_param(tmp->pkey, OSSL_PKEY_PARAM_FFC_P, &p) > 0 &&
	    BN_mod_exp(y, two, x, p, bnc))
		pkey = pkey_from_parts(tmp->g, y, NULL, 0, x, EVP_PKEY_KEYPAIR);
	BN_free(p);
	BN_free(y);
	BN_free(two);
	BN_CTX_free(bnc);
	return pkey;
}

struct dh *dh_new_with_private(uint16_t group, const uint8_t *priv, size_t priv_len)
{
	const struct dh_group *g = group_find(group);
	struct dh *dh = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d;

	if (!g)
		return NULL;
	if (g->kind == DH_KIND_ECX) {
		pkey = EVP_PKEY_new_raw_private_key_ex(NULL, g->ossl, NULL, priv, priv_len);
	} else {
		d = BN_bin2bn(priv, (int)priv_len, NULL);
		if (d && g->kind == DH_KIND_ECP) {
			pkey = ecp_with_private(g, d);
		} else if (d) {
			dh = dh_new(group); /* for the domain parameters */
			if (dh)
				pkey = modp_with_private(dh, d);
			dh_free(dh);
		}
		BN_clear_free(d);
	}
	if (!pkey)
		return NULL;
	dh = calloc(1, sizeof(*dh));
	if (!dh) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	dh->g = g;
	dh->pkey = pkey;
	return dh;
}
