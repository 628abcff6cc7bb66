/* Whole-config checks: names that must be defined, and manual keying that
 * must match its transform set (RFC 4301 section 4.5.1: a manual SA needs
 * SPIs, keys and algorithms agreed out of band, so we check all of them). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/grammar.h"
#include "crypto/alg.h"
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
	return check_key(v, &e->esp_in, "inbound", false) &&
	       check_key(v, &e->esp_out, "outbound", false) &&
	       check_key(v, &e->ah_in, "inbound", true) && check_key(v, &e->ah_out, "outbound", true);
}

static bool check_map(struct vctx *v)
{
	const struct cfg_map_entry *e = v->e;

	v->ts = e->transform_set[0] ? config_transform_set(v->c, e->transform_set) : NULL;
	if (e->transform_set[0] && !v->ts)
		return fail(v->err, e->ts_line, e->transform_set,
			    "transform set '%s' is not defined (used by crypto map %s %u at line %u)",
			    e->transform_set, e->map, e->seq, e->line);
	if (e->acl[0] && !config_acl(v->c, e->acl))
		return fail(v->err, e->acl_line, e->acl,
			    "access list '%s' is not defined (used by crypto map %s %u at line %u)",
			    e->acl, e->map, e->seq, e->line);
	if (e->replay_window > 0 && (e->replay_window < 32 || e->replay_window > 65536))
		return fail(v->err, e->line, e->map, "replay window size must be 32..65536");
	return !e->manual || check_manual(v);
}

bool config_validate(const struct config *c, struct cfg_error *err)
{
	struct vctx v = {.c = c, .err = err};

	for (unsigned i = 0; i < c->nsets; i++)
		warn_weak(c, &c->sets[i]);
	if (!c->replay_disabled && (c->replay_window < 32 || c->replay_window > 65536))
		return fail(err, 0, "", "replay window size must be 32..65536");
	for (unsigned i = 0; i < c->nmaps; i++) {
		v.e = &c->maps[i];
		if (!check_map(&v))
			return false;
	}
	return true;
}
