/* Whole-config checks: names that must be defined, and manual keying that
 * must match its transform set (RFC 4301 section 4.5.1: a manual SA needs
 * SPIs, keys and algorithms agreed out of band, so we check all of them). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/grammar.h"
#include "crypto/alg.h"
#include "crypto/dh.h"
#include "lib/log.h"

struct vctx {
	const struct config *c;
	const struct cfg_map_entry *e;
	const struct cfg_transform_set *ts;
	struct cfg_error *err;
};

static bool fail(struct cfg_error *err, unsigned line, const char *tok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool fail(struct cfg_error *err, unsigned line, const char *tok, const char *fmt, ...)
{
	va_list ap;

	err->kind = CFG_ERR_SEMANTIC;
	err->line = line;
	err->col = 0;
	err->text[0] = '\0';
	snprintf(err->token, sizeof(err->token), "%s", tok);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return false;
}

static void key_hex(const struct secret *s, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; s && i < s->len && off + 3 <= len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%02x", s->p[i]);
}

static void warn_weak(const struct config *c, const struct cfg_transform_set *ts)
{
	const char *what = NULL;

	if (ts->esp_encr == ENCR_DES || ts->esp_encr == ENCR_DES_IV64)
		what = "esp-des is weak (56-bit key)";
	else if (ts->esp_integ == AUTH_HMAC_MD5_96)
		what = "esp-md5-hmac is weak";
	else if (ts->ah_integ == AUTH_HMAC_MD5_96)
		what = "ah-md5-hmac is weak";
	else if (ts->esp_encr == ENCR_3DES)
		what = "esp-3des is legacy (64-bit block, RFC 8221 says SHOULD NOT)";
	if (what)
		log_warn("%s:%u: transform set %s: %s", c->source_file, ts->line, ts->name, what);
}

/* One key of a manual SA: present iff the algorithm needs it, right size. */
static bool check_len(struct vctx *v, const struct cfg_session_key *k, const struct secret *s,
		      size_t want, const char *what, const char *alg)
{
	char hex[128];

	if (!want && s) {
		key_hex(s, hex, sizeof(hex));
		return fail(v->err, k->line, hex, "transform set %s (%s) takes no %s key", v->ts->name,
			    alg, what);
	}
	if (want && !s)
		return fail(v->err, k->line, "set", "%s needs a %s key of %zu bytes (%zu hex digits)",
			    alg, what, want, want * 2);
	if (want && s->len != want) {
		key_hex(s, hex, sizeof(hex));
		return fail(v->err, k->line, hex,
			    "%s key for %s must be %zu bytes (%zu hex digits), not %zu", what, alg,
			    want, want * 2, s->len);
	}
	return true;
}

static size_t cipher_len(struct vctx *v)
{
	const struct encr_alg *a;

	if (v->ts->esp_encr == ENCR_NULL || v->ts->esp_encr == ENCR_NONE)
		return 0;
	a = encr_alg_find(v->ts->esp_encr);
	if (!a)
		return 0;
	return encr_keymat_len(a, v->ts->esp_key_bits ? v->ts->esp_key_bits
						      : encr_key_bits_default(a));
}

static size_t integ_len(uint16_t id)
{
	const struct integ_alg *a = id ? integ_alg_find(id) : NULL;

	return a ? a->key_len : 0;
}

/* The transform as written ("esp-gcm 256"), for messages. */
static const char *xf_word(const struct cfg_transform_set *ts, bool auth)
{
	for (unsigned i = 0; i < ts->nwords; i++) {
		const char *w = ts->words[i];
		size_t n = strcspn(w, " ");
		bool is_auth = n > 3 && strncmp(w + n - 3, "mac", 3) == 0;

		if (strncmp(w, "esp-", 4) == 0 && is_auth == auth)
			return w;
	}
	return NULL;
}

static bool check_key(struct vctx *v, const struct cfg_session_key *k, const char *dir, bool ah)
{
	const struct cfg_map_entry *e = v->e;
	const char *words = xf_word(v->ts, false) ? xf_word(v->ts, false) : "esp-null";
	const char *auth = xf_word(v->ts, true) ? xf_word(v->ts, true) : words;
	char spi[16];
	bool need = ah ? v->ts->ah_integ != 0 : v->ts->has_esp;

	if (!need) {
		if (k->set)
			return fail(v->err, k->line, ah ? "ah" : "esp",
				    "transform set %s has no %s transform", v->ts->name,
				    ah ? "AH" : "ESP");
		return true;
	}
	if (!k->set)
		return fail(v->err, e->line, e->map,
			    "crypto map %s %u: missing set session-key %s %s (transform set %s)",
			    e->map, e->seq, dir, ah ? "ah" : "esp", v->ts->name);
	snprintf(spi, sizeof(spi), "%u", k->spi);
	if (k->spi < 256) /* RFC 4303 section 2.1: 1..255 are reserved */
		return fail(v->err, k->line, spi, "SPI %u is reserved (must be >= 256)", k->spi);
	if (ah)
		return check_len(v, k, k->auth, integ_len(v->ts->ah_integ), "AH", "the AH transform");
	if (v->ts->esp_encr != ENCR_NULL && v->ts->esp_encr != ENCR_NONE && !cipher_len(v))
		return fail(v->err, v->ts->line, words, "%s: algorithm not available", words);
	return check_len(v, k, k->cipher, cipher_len(v), "cipher", words) &&
	       check_len(v, k, k->auth, integ_len(v->ts->esp_integ), "authenticator",
			 auth);
}

/* AES-GCM, GMAC, AES-CTR and ChaCha20-Poly1305 take the sequence number as
 * their IV: under a static key it must never repeat. RFC 4106 section 2:
 * "implementations MUST use an automated key management system" for GCM.
 * espritd keeps the counter across restarts (seqstate.h), not across the
 * loss of that file: say so. */
static void warn_counter_iv(const struct vctx *v)
{
	const struct encr_alg *a = v->ts->has_esp ? encr_alg_find(v->ts->esp_encr) : NULL;

	if (!a || !(a->aead || a->id == ENCR_AES_CTR))
		return;
	log_warn("%s:%u: crypto map %s %u (ipsec-manual): %s with static keys takes the sequence "
		 "number as its IV, which must never repeat under the same key (RFC 4106 section 2 "
		 "asks for IKE); espritd keeps the counter in its .seq file (docs/operations.md): "
		 "change the keys if that file is ever lost",
		 v->c->source_file, v->e->line, v->e->map, v->e->seq, a->name);
}

static bool check_manual(struct vctx *v)
{
	const struct cfg_map_entry *e = v->e;

	if (!e->peer.af)
		return fail(v->err, e->line, e->map, "crypto map %s %u (ipsec-manual) needs set peer",
			    e->map, e->seq);
	if (!v->ts)
		return fail(v->err, e->line, e->map,
			    "crypto map %s %u (ipsec-manual) needs set transform-set", e->map,
			    e->seq);
	if (!e->acl[0])
		return fail(v->err, e->line, e->map,
			    "crypto map %s %u (ipsec-manual) needs match address", e->map, e->seq);
	if (e->per_host)
		return fail(v->err, e->line, e->map,
			    "crypto map %s %u (ipsec-manual): set security-association level "
			    "per-host needs IKE (ipsec-isakmp): the manual keys make one SA pair",
			    e->map, e->seq);
	if (!check_key(v, &e->esp_in, "inbound", false) ||
	    !check_key(v, &e->esp_out, "outbound", false) ||
	    !check_key(v, &e->ah_in, "inbound", true) || !check_key(v, &e->ah_out, "outbound", true))
		return false;
	warn_counter_iv(v);
	return true;
}

/* RFC 7296 section 1.7: IKEv2 has no AH+ESP bundles; each Child SA is
 * one protocol. Without this check the AH transform was silently left out
 * of the IKE proposal (ESP only). */
#define AH_ESP_IKE                                                                                 \
	"transform set has AH and ESP: IKEv2 negotiates no AH+ESP bundle (RFC 7296 section "   \
	"1.7); use AH or ESP, or ipsec-manual"

/* The transform sets of one crypto map entry or ipsec profile (`user`,
 * defined at user_line): each defined; with IKE none an AH+ESP bundle and
 * all of one mode and compression (they are proposals for one child SA,
 * whose mode and IPComp are notifies, not transforms: RFC 7296 sections
 * 1.3.1, 2.22). */
static bool check_ts_list(const struct config *c, const struct cfg_ts_list *l, unsigned line,
			  bool ike, const char *user, unsigned user_line, struct cfg_error *err)
{
	const struct cfg_transform_set *first = NULL;

	for (unsigned i = 0; i < l->n; i++) {
		const struct cfg_transform_set *ts = config_transform_set(c, l->name[i]);
		if (!ts)
			return fail(err, line, l->name[i],
				    "transform set '%s' is not defined (used by %s at line %u)",
				    l->name[i], user, user_line);
		if (ike && ts->has_esp && ts->ah_integ != AUTH_NONE)
			return fail(err, line, l->name[i], "%s (%s)", AH_ESP_IKE, user);
		if (!first) {
			first = ts;
			continue;
		}
		if (ts->mode != first->mode || ts->comp_deflate != first->comp_deflate)
			return fail(err, line, l->name[i],
				    "transform set %s differs from %s in mode or compression: the "
				    "transform sets of %s are proposals for one SA and must agree",
				    ts->name, first->name, user);
	}
	return true;
}

static bool check_map(struct vctx *v)
{
	const struct cfg_map_entry *e = v->e;
	char user[2 * CFG_NAME_MAX + 32];

	snprintf(user, sizeof(user), "crypto map %s %u", e->map, e->seq);
	if (!check_ts_list(v->c, &e->ts, e->ts_line, !e->manual, user, e->line, v->err))
		return false;
	if (e->manual && e->ts.n > 1)
		return fail(v->err, e->ts_line, e->ts.name[1],
			    "an ipsec-manual entry takes one transform set (its keys are for one)");
	v->ts = e->ts.n ? config_transform_set(v->c, e->ts.name[0]) : NULL;
	if (e->acl[0] && !config_acl(v->c, e->acl))
		return fail(v->err, e->acl_line, e->acl,
			    "access list '%s' is not defined (used by crypto map %s %u at line %u)",
			    e->acl, e->map, e->seq, e->line);
	if (e->replay_window > 0 && (e->replay_window < 32 || e->replay_window > 65536))
		return fail(v->err, e->line, e->map, "replay window size must be 32..65536");
	return !e->manual || check_manual(v);
}

/* ---- IKEv2 ----------------------------------------------------------- */

static bool group_weak(uint16_t g)
{
	/* RFC 8247 section 2.4: groups 1, 2 and 5 MUST NOT / SHOULD NOT */
	return g == DH_MODP_768 || g == DH_MODP_1024 || g == DH_MODP_1536;
}

static void warn_weak_proposal(const struct config *c, const struct cfg_ikev2_proposal *pr)
{
	for (unsigned i = 0; i < pr->nencr; i++)
		if (pr->encr[i] == ENCR_3DES)
			log_warn("%s:%u: IKEv2 proposal %s: 3des is legacy (RFC 8247 section 2.1)",
				 c->source_file, pr->line, pr->name);
	for (unsigned i = 0; i < pr->ninteg; i++)
		if (pr->integ[i] == AUTH_HMAC_MD5_96)
			log_warn("%s:%u: IKEv2 proposal %s: md5 is weak (RFC 8247 section 2.3)",
				 c->source_file, pr->line, pr->name);
	for (unsigned i = 0; i < pr->ngroup; i++)
		if (group_weak(pr->group[i]))
			log_warn("%s:%u: IKEv2 proposal %s: group %u is weak (RFC 8247 section 2.4)",
				 c->source_file, pr->line, pr->name, pr->group[i]);
}

/* RFC 7296 section 3.3.3: an IKE SA proposal needs ENCR, PRF, INTEG
 * (unless the cipher is AEAD, RFC 5282 section 8) and D-H. */
static bool check_proposal(const struct config *c, const struct cfg_ikev2_proposal *pr,
			   struct cfg_error *err)
{
	const char *missing = !pr->nencr		    ? "encryption"
			      : !pr->aead && !pr->ninteg    ? "integrity"
			      : !pr->nprf		    ? "prf"
			      : !pr->ngroup		    ? "group"
							    : NULL;

	if (pr->aead && pr->ninteg) {
		bool integ_last = pr->integ_line >= pr->encr_line;

		return fail(err, integ_last ? pr->integ_line : pr->encr_line,
			    integ_last ? "integrity" : "encryption",
			    "IKEv2 proposal %s: AEAD encryption (aes-gcm, chacha20-poly1305) has "
			    "its own integrity: no integrity line allowed (RFC 5282 section 8)",
			    pr->name);
	}
	if (missing)
		return fail(err, pr->line, pr->name, "IKEv2 proposal %s is incomplete: no %s%s",
			    pr->name, missing,
			    pr->aead && !pr->nprf ? " (AEAD proposals need a prf line)" : "");
	warn_weak_proposal(c, pr);
	return true;
}

static bool check_policy(const struct config *c, const struct cfg_ikev2_policy *pol,
			 struct cfg_error *err)
{
	if (!pol->nproposals)
		return fail(err, pol->line, pol->name, "IKEv2 policy %s has no proposal", pol->name);
	for (unsigned i = 0; i < pol->nproposals; i++)
		if (!config_ikev2_proposal(c, pol->proposals[i]))
			return fail(err, pol->proposal_line[i], pol->proposals[i],
				    "IKEv2 proposal '%s' is not defined (used by IKEv2 policy %s)",
				    pol->proposals[i], pol->name);
	return true;
}

static bool check_profile(const struct config *c, const struct cfg_ikev2_profile *pf,
			  struct cfg_error *err)
{
	if (pf->keyring[0] && !config_ikev2_keyring(c, pf->keyring))
		return fail(err, pf->keyring_line, pf->keyring,
			    "IKEv2 keyring '%s' is not defined (used by IKEv2 profile %s at line %u)",
			    pf->keyring, pf->name, pf->line);
	if (!pf->auth_local || !pf->auth_remote)
		return fail(err, pf->line, pf->name,
			    "IKEv2 profile %s needs authentication local and authentication remote",
			    pf->name);
	if ((pf->auth_local == CFG_AUTH_PSK && !pf->auth_local_psk && !pf->keyring[0]) ||
	    (pf->auth_remote == CFG_AUTH_PSK && !pf->auth_remote_psk && !pf->keyring[0]))
		return fail(err, pf->line, pf->name,
			    "IKEv2 profile %s: pre-share needs keyring local NAME or a key",
			    pf->name);
	if (!pf->nmatch && !pf->match_cert[0])
		log_warn("%s:%u: IKEv2 profile %s has no match identity: it is only used where "
			 "named (crypto map, ipsec profile)",
			 c->source_file, pf->line, pf->name);
	return true;
}

static bool check_ipsec_profile(const struct config *c, const struct cfg_ipsec_profile *ip,
				struct cfg_error *err)
{
	char user[CFG_NAME_MAX + 32];

	snprintf(user, sizeof(user), "ipsec profile %s", ip->name);
	if (!check_ts_list(c, &ip->ts, ip->ts_line, true, user, ip->line, err))
		return false;
	if (ip->ikev2_profile[0] && !config_ikev2_profile(c, ip->ikev2_profile))
		return fail(err, ip->ikev2_line, ip->ikev2_profile,
			    "IKEv2 profile '%s' is not defined (used by ipsec profile %s at line %u)",
			    ip->ikev2_profile, ip->name, ip->line);
	if (group_weak(ip->pfs_group))
		log_warn("%s:%u: ipsec profile %s: pfs group%u is weak", c->source_file, ip->line,
			 ip->name, ip->pfs_group);
	return true;
}

/* The blocks kept verbatim (`crypto isakmp`, `crypto keyring`, `crypto
 * pki`): accepted so that a guide's configuration loads, but nothing acts
 * on them; say so once per block, and what is used instead. */
static bool has_isakmp(const struct config *c)
{
	for (unsigned i = 0; i < c->nopaque; i++)
		if (strncmp(c->opaque[i], "crypto isakmp", 13) == 0 ||
		    strncmp(c->opaque[i], "crypto keyring", 14) == 0)
			return true;
	return false;
}

/* The first three words of an opaque header: the rest may be a secret
 * (`crypto isakmp key SECRET address A`), which is never logged. */
static int head_len(const char *h)
{
	int words = 0, i = 0;

	for (; h[i] && words < 3; i++)
		if (h[i] == ' ' && ++words == 3)
			break;
	return i;
}

static void warn_opaque(const struct config *c)
{
	for (unsigned i = 0; i < c->nopaque; i++) {
		const char *h = c->opaque[i];
		if (h[0] == ' ')
			continue;
		log_warn("%s: `%.*s ...` is kept but not used: %s", c->source_file, head_len(h), h,
			 strncmp(h, "crypto pki", 10) == 0
				 ? "certificates are not implemented yet (IKEv2 authenticates "
				   "with pre-shared keys)"
				 : "IKEv1 is not implemented yet (esprit negotiates with "
				   "IKEv2: crypto ikev2 keyring and profile, set ikev2-profile)");
	}
}

/* An ipsec-isakmp entry needs what IKEv2 negotiates with (ikeconn.c would
 * refuse it at apply time, without a line). */
static bool check_isakmp_entry(const struct config *c, const struct cfg_map_entry *e,
			       struct cfg_error *err)
{
	const char *missing = !e->ikev2_profile[0] ? "set ikev2-profile"
			      : !e->ts.n	   ? "set transform-set"
			      : !e->acl[0]	   ? "match address"
						   : NULL;

	if (!missing)
		return true;
	return fail(err, e->line, e->map,
		    "crypto map %s %u ipsec-isakmp has no `%s`: IKEv2 needs a profile, transform "
		    "sets and an access list to negotiate%s",
		    e->map, e->seq, missing,
		    !e->ikev2_profile[0] && has_isakmp(c)
			    ? " (the crypto isakmp lines are IKEv1, which is not implemented yet: "
			      "see examples/ikev2-map-gwA.cfg)"
			    : "");
}

static bool check_ikev2(const struct config *c, struct cfg_error *err)
{
	for (unsigned i = 0; i < c->nikev2_proposals; i++)
		if (!check_proposal(c, &c->ikev2_proposals[i], err))
			return false;
	for (unsigned i = 0; i < c->nikev2_policies; i++)
		if (!check_policy(c, &c->ikev2_policies[i], err))
			return false;
	for (unsigned i = 0; i < c->nikev2_profiles; i++)
		if (!check_profile(c, &c->ikev2_profiles[i], err))
			return false;
	for (unsigned i = 0; i < c->nipsec_profiles; i++)
		if (!check_ipsec_profile(c, &c->ipsec_profiles[i], err))
			return false;
	for (unsigned i = 0; i < c->nifs; i++) {
		const struct cfg_interface *f = &c->ifs[i];

		if (f->tun_protection[0] && !config_ipsec_profile(c, f->tun_protection))
			return fail(err, f->tun_prot_line, f->tun_protection,
				    "ipsec profile '%s' is not defined (used by interface %s)",
				    f->tun_protection, f->name);
	}
	for (unsigned i = 0; i < c->nmaps; i++) {
		const struct cfg_map_entry *e = &c->maps[i];

		if (e->ikev2_profile[0] && !config_ikev2_profile(c, e->ikev2_profile))
			return fail(err, e->ikev2_line, e->ikev2_profile,
				    "IKEv2 profile '%s' is not defined (used by crypto map %s %u at "
				    "line %u)",
				    e->ikev2_profile, e->map, e->seq, e->line);
		if (!e->manual && !check_isakmp_entry(c, e, err))
			return false;
		if (group_weak(e->pfs_group))
			log_warn("%s:%u: crypto map %s %u: pfs group%u is weak", c->source_file,
				 e->line, e->map, e->seq, e->pfs_group);
	}
	return true;
}

bool config_validate(const struct config *c, struct cfg_error *err)
{
	struct vctx v = {.c = c, .err = err};

	for (unsigned i = 0; i < c->nsets; i++)
		warn_weak(c, &c->sets[i]);
	warn_opaque(c);
	if (!c->replay_disabled && (c->replay_window < 32 || c->replay_window > 65536))
		return fail(err, 0, "", "replay window size must be 32..65536");
	for (unsigned i = 0; i < c->nmaps; i++) {
		v.e = &c->maps[i];
		if (!check_map(&v))
			return false;
	}
	return check_ikev2(c, err);
}
