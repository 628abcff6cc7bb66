/* crypto ipsec transform-set and crypto map (manual keying, RFC 4301
 * section 4.5.1 "manual techniques"): apply and write functions. */
#include <stdio.h>
#include <string.h>

#include "config/cmds.h"
#include "crypto/alg.h"
#include "ipsec/sa.h"
#include "lib/secret.h"

enum xf_kind { XF_CIPHER, XF_AUTH, XF_AH, XF_COMP };

static const struct xf {
	const char *word;
	uint8_t kind; /* enum xf_kind */
	uint16_t id;  /* enum encr_id / enum integ_id */
} xfs[] = {
	{"esp-des", XF_CIPHER, ENCR_DES},
	{"esp-3des", XF_CIPHER, ENCR_3DES},
	{"esp-aes", XF_CIPHER, ENCR_AES_CBC},
	{"esp-aes-ctr", XF_CIPHER, ENCR_AES_CTR},
	{"esp-gcm", XF_CIPHER, ENCR_AES_GCM_16},
	{"esp-gcm-icv8", XF_CIPHER, ENCR_AES_GCM_8},
	{"esp-gcm-icv12", XF_CIPHER, ENCR_AES_GCM_12},
	{"esp-gmac", XF_CIPHER, ENCR_NULL_AUTH_AES_GMAC},
	{"esp-chacha20-poly1305", XF_CIPHER, ENCR_CHACHA20_POLY1305},
	{"esp-null", XF_CIPHER, ENCR_NULL},
	{"esp-md5-hmac", XF_AUTH, AUTH_HMAC_MD5_96},
	{"esp-sha-hmac", XF_AUTH, AUTH_HMAC_SHA1_96},
	{"esp-sha256-hmac", XF_AUTH, AUTH_HMAC_SHA2_256_128},
	{"esp-sha384-hmac", XF_AUTH, AUTH_HMAC_SHA2_384_192},
	{"esp-sha512-hmac", XF_AUTH, AUTH_HMAC_SHA2_512_256},
	{"esp-aes-xcbc-mac", XF_AUTH, AUTH_AES_XCBC_96},
	{"esp-aes-cmac", XF_AUTH, AUTH_AES_CMAC_96},
	{"ah-md5-hmac", XF_AH, AUTH_HMAC_MD5_96},
	{"ah-sha-hmac", XF_AH, AUTH_HMAC_SHA1_96},
	{"ah-sha256-hmac", XF_AH, AUTH_HMAC_SHA2_256_128},
	{"ah-sha384-hmac", XF_AH, AUTH_HMAC_SHA2_384_192},
	{"ah-sha512-hmac", XF_AH, AUTH_HMAC_SHA2_512_256},
	{"comp-deflate", XF_COMP, 0},
};

static const struct xf *xf_find(const char *w)
{
	for (size_t i = 0; i < sizeof(xfs) / sizeof(xfs[0]); i++)
		if (w && strcmp(xfs[i].word, w) == 0)
			return &xfs[i];
	return NULL;
}

/* GCM, GMAC and ChaCha20-Poly1305 carry their own ICV (RFC 4106 section 8.1,
 * RFC 4543 section 3.2, RFC 7634 section 2): no separate integrity. */
static bool encr_is_aead(uint16_t id)
{
	return id == ENCR_AES_GCM_8 || id == ENCR_AES_GCM_12 || id == ENCR_AES_GCM_16 ||
	       id == ENCR_NULL_AUTH_AES_GMAC ||
	       id == ENCR_CHACHA20_POLY1305;
}

static int add_xf(struct pctx *p, struct cfg_transform_set *ts, const struct cmd_match *m,
		  unsigned i, uint16_t bits)
{
	const struct xf *x = xf_find(m->t[i].kw);
	bool dup;

	switch (x->kind) {
	case XF_CIPHER:
		dup = ts->esp_encr != ENCR_NONE;
		ts->esp_encr = x->id;
		ts->esp_key_bits = bits;
		ts->has_esp = true;
		break;
	case XF_AUTH:
		dup = ts->esp_integ != AUTH_NONE;
		ts->esp_integ = x->id;
		ts->has_esp = true;
		break;
	case XF_AH:
		dup = ts->ah_integ != AUTH_NONE;
		ts->ah_integ = x->id;
		break;
	default:
		dup = ts->comp_deflate;
		ts->comp_deflate = true;
		break;
	}
	if (dup)
		return pctx_err(p, (int)i, "a transform set takes one transform of each kind "
					   "(AH, ESP cipher, ESP authenticator, compression)");
	if (encr_is_aead(ts->esp_encr) && ts->esp_integ != AUTH_NONE)
		return pctx_err(p, (int)i, "%s provides its own integrity: it cannot be combined "
					   "with an esp-*-hmac/mac transform",
				m->t[i].kw);
	return 0;
}

static int parse_transforms(struct pctx *p, const struct cmd_match *m,
			    struct cfg_transform_set *ts)
{
	for (unsigned i = 4; i < m->n; i++) {
		uint16_t bits = 0;
		unsigned first = i;

		if (i + 1 < m->n && !xf_find(m->t[i + 1].kw))
			bits = (uint16_t)strtoul(m->t[++i].kw, NULL, 10);
		if (add_xf(p, ts, m, first, bits) < 0)
			return -1;
		snprintf(ts->words[ts->nwords++], sizeof(ts->words[0]), bits ? "%s %u" : "%s",
			 m->t[first].kw, bits);
	}
	if (!ts->has_esp && ts->ah_integ == AUTH_NONE)
		return pctx_err(p, 4, "a transform set needs an ESP or AH transform");
	/* ESP with an authenticator only is ESP with NULL encryption
	 * (RFC 4303 section 3.2, RFC 2410). */
	if (ts->has_esp && ts->esp_encr == ENCR_NONE)
		ts->esp_encr = ENCR_NULL;
	return 0;
}

CMD_FN(cmd_transform_set)
{
	struct cfg_transform_set ts = {0}, *old;

	if (!have(m, 4))
		return cmd_incomplete(p, m);
	old = cfg_set_get(p->cfg, m->t[3].text, false);
	if (neg) {
		if (old)
			*old = p->cfg->sets[--p->cfg->nsets];
		return 0;
	}
	snprintf(ts.name, sizeof(ts.name), "%.63s", m->t[3].text);
	ts.mode = old ? old->mode : IPSEC_MODE_TUNNEL; /* IOS default: tunnel */
	ts.line = p->line;
	if (parse_transforms(p, m, &ts) < 0)
		return -1;
	old = cfg_set_get(p->cfg, ts.name, true);
	if (!old)
		return pctx_err(p, 0, "out of memory");
	*old = ts;
	p->mode = MODE_TRANS;
	snprintf(p->name, sizeof(p->name), "%.63s", ts.name);
	return 0;
}

WR_FN(wr_transform_set)
{
	(void)obj;
	for (unsigned i = 0; i < c->nsets; i++) {
		const struct cfg_transform_set *ts = &c->sets[i];

		sbuf_printf(b, "crypto ipsec transform-set %s", ts->name);
		for (unsigned k = 0; k < ts->nwords; k++)
			sbuf_printf(b, " %s", ts->words[k]);
		sbuf_printf(b, "\n");
		write_submode(b, c, MODE_TRANS, ts);
		sbuf_printf(b, "!\n");
	}
}

static struct cfg_transform_set *cur_set(struct pctx *p)
{
	return cfg_set_get(p->cfg, p->name, false);
}

CMD_FN(cmd_trans_mode)
{
	struct cfg_transform_set *ts = cur_set(p);

	if (!ts)
		return pctx_err(p, 0, "no current transform set");
	ts->mode = (neg || mtok_find(m, "tunnel") >= 0) ? IPSEC_MODE_TUNNEL : IPSEC_MODE_TRANSPORT;
	return 0;
}

WR_FN(wr_trans_mode)
{
	const struct cfg_transform_set *ts = obj;

	(void)c;
	sbuf_printf(b, " mode %s\n", ts->mode == IPSEC_MODE_TRANSPORT ? "transport" : "tunnel");
}

/* ---- crypto map NAME SEQ ipsec-manual|ipsec-isakmp ------------------ */

static void map_remove(struct config *c, const char *name, int64_t seq)
{
	unsigned k = 0;

	for (unsigned i = 0; i < c->nmaps; i++) {
		if (strcmp(c->maps[i].map, name) == 0 && (seq < 0 || c->maps[i].seq == seq))
			cfg_map_entry_clear(&c->maps[i]);
		else
			c->maps[k++] = c->maps[i];
	}
	c->nmaps = k;
}

CMD_FN(cmd_map)
{
	struct cfg_map_entry *e;
	bool manual = mtok_find(m, "ipsec-manual") >= 0;
	uint32_t seq = (uint32_t)tok_u64(m, 3);

	if (!have(m, 3))
		return cmd_incomplete(p, m);
	if (neg) {
		map_remove(p->cfg, m->t[2].text, have(m, 4) ? (int64_t)seq : -1);
		return 0;
	}
	e = cfg_map_get(p->cfg, m->t[2].text, seq, false);
	if (e && m->n == 4) /* re-entering without a type keeps it */
		manual = e->manual;
	if (e && e->manual != manual)
		return pctx_err(p, m->n > 4 ? 4 : 3, "crypto map %s %u already exists as %s",
				e->map, seq, e->manual ? "ipsec-manual" : "ipsec-isakmp");
	if (!e) {
		e = cfg_map_get(p->cfg, m->t[2].text, seq, true);
		if (!e)
			return pctx_err(p, 0, "out of memory");
		e->manual = manual;
		e->line = p->line;
	}
	p->mode = MODE_MAP;
	snprintf(p->name, sizeof(p->name), "%.63s", m->t[2].text);
	p->seq = seq;
	return 0;
}

WR_FN(wr_map)
{
	(void)obj;
	for (unsigned i = 0; i < c->nmaps; i++) {
		const struct cfg_map_entry *e = &c->maps[i];

		sbuf_printf(b, "crypto map %s %u %s\n", e->map, e->seq,
			    e->manual ? "ipsec-manual" : "ipsec-isakmp");
		write_submode(b, c, MODE_MAP, e);
		sbuf_printf(b, "!\n");
	}
}

static struct cfg_map_entry *cur_map(struct pctx *p)
{
	return cfg_map_get(p->cfg, p->name, p->seq, false);
}

#define MAP_OR_FAIL(e)                                                                             \
	struct cfg_map_entry *e = cur_map(p);                                                      \
	if (!e)                                                                                    \
		return pctx_err(p, 0, "no current crypto map entry")

CMD_FN(cmd_set_peer)
{
	MAP_OR_FAIL(e);
	if (neg) {
		memset(&e->peer, 0, sizeof(e->peer));
		return 0;
	}
	ip_addr_parse(m->t[2].text, &e->peer);
	return 0;
}

WR_FN(wr_set_peer)
{
	const struct cfg_map_entry *e = obj;
	char buf[IP_ADDR_STRLEN];

	(void)c;
	if (e->peer.af)
		sbuf_printf(b, " set peer %s\n", ip_addr_str(&e->peer, buf));
}

int ts_list_apply(struct pctx *p, const struct cmd_match *m, unsigned first, bool neg,
		  struct cfg_ts_list *l)
{
	struct cfg_ts_list n = {0};

	for (unsigned i = first; !neg && i < m->n && n.n < CFG_TS_PER_ENTRY; i++) {
		for (unsigned j = 0; j < n.n; j++)
			if (strcmp(n.name[j], m->t[i].text) == 0)
				return pctx_err(p, (int)i, "transform set %s is listed twice",
						m->t[i].text);
		snprintf(n.name[n.n++], sizeof(n.name[0]), "%.63s", m->t[i].text);
	}
	*l = n;
	return 0;
}

void ts_list_write(struct sbuf *b, const struct cfg_ts_list *l)
{
	if (!l->n)
		return;
	sbuf_printf(b, " set transform-set");
	for (unsigned i = 0; i < l->n; i++)
		sbuf_printf(b, " %s", l->name[i]);
	sbuf_printf(b, "\n");
}

CMD_FN(cmd_set_ts)
{
	MAP_OR_FAIL(e);
	if (ts_list_apply(p, m, 2, neg, &e->ts) < 0)
		return -1;
	e->ts_line = neg ? 0 : p->line;
	return 0;
}

WR_FN(wr_set_ts)
{
	const struct cfg_map_entry *e = obj;

	(void)c;
	ts_list_write(b, &e->ts);
}

CMD_FN(cmd_match_address)
{
	MAP_OR_FAIL(e);
	snprintf(e->acl, sizeof(e->acl), "%.63s", neg ? "" : m->t[2].text);
	e->acl_line = neg ? 0 : p->line;
	return 0;
}

WR_FN(wr_match_address)
{
	const struct cfg_map_entry *e = obj;

	(void)c;
	if (e->acl[0])
		sbuf_printf(b, " match address %s\n", e->acl);
}

static void key_clear(struct cfg_session_key *k)
{
	secret_free(k->cipher);
	secret_free(k->auth);
	memset(k, 0, sizeof(*k));
}

static struct cfg_session_key *key_slot(struct cfg_map_entry *e, bool in, bool ah)
{
	if (ah)
		return in ? &e->ah_in : &e->ah_out;
	return in ? &e->esp_in : &e->esp_out;
}

static int hex_arg(struct pctx *p, const struct cmd_match *m, int i, struct secret **out)
{
	if (i < 0 || (unsigned)i >= m->n)
		return 0;
	*out = secret_from_hex(m->t[i].text);
	if (!*out)
		return pctx_err(p, i, "expected an even number of hex digits");
	return 0;
}

/* set session-key inbound|outbound esp SPI cipher HEX [authenticator HEX]
 *                                  esp SPI authenticator HEX
 *                                  ah SPI HEX */
CMD_FN(cmd_session_key)
{
	struct cfg_session_key k = {0};
	bool in, ah;
	int ci = mtok_find(m, "cipher"), ai = mtok_find(m, "authenticator");

	MAP_OR_FAIL(e);
	if (neg && !have(m, 4)) {
		for (int i = 0; i < 4; i++)
			key_clear(key_slot(e, i & 1, i & 2));
		return 0;
	}
	in = mtok_is(m, 2, "inbound");
	ah = mtok_is(m, 3, "ah");
	if (neg) {
		key_clear(key_slot(e, in, ah));
		return 0;
	}
	if (!e->manual)
		return pctx_err(p, 1, "session keys apply to ipsec-manual crypto maps only");
	k.set = true;
	k.spi = (uint32_t)tok_u64(m, 4);
	k.line = p->line;
	ci = ah ? -1 : ci >= 0 ? ci + 1 : -1;
	ai = ah ? 5 : ai >= 0 ? ai + 1 : -1;
	if (hex_arg(p, m, ci, &k.cipher) < 0 || hex_arg(p, m, ai, &k.auth) < 0) {
		key_clear(&k);
		return -1;
	}
	key_clear(key_slot(e, in, ah));
	*key_slot(e, in, ah) = k;
	return 0;
}

static void hex_out(struct sbuf *b, const struct secret *s)
{
	for (size_t i = 0; i < s->len; i++)
		sbuf_printf(b, "%02x", s->p[i]);
}

static void write_key(struct sbuf *b, const struct cfg_session_key *k, bool in, bool ah)
{
	if (!k->set)
		return;
	sbuf_printf(b, " set session-key %s %s %u ", in ? "inbound" : "outbound", ah ? "ah" : "esp",
		    k->spi);
	if (ah) {
		if (k->auth)
			hex_out(b, k->auth);
		sbuf_printf(b, "\n");
		return;
	}
	if (k->cipher) {
		sbuf_printf(b, "cipher ");
		hex_out(b, k->cipher);
		if (k->auth)
			sbuf_printf(b, " ");
	}
	if (k->auth) {
		sbuf_printf(b, "authenticator ");
		hex_out(b, k->auth);
	}
	sbuf_printf(b, "\n");
}

/* Keys are written in hex: like IOS manual keying, the running config is
 * itself a secret. */
WR_FN(wr_session_key)
{
	const struct cfg_map_entry *e = obj;

	(void)c;
	write_key(b, &e->esp_in, true, false);
	write_key(b, &e->esp_out, false, false);
	write_key(b, &e->ah_in, true, true);
	write_key(b, &e->ah_out, false, true);
}

CMD_FN(cmd_map_sa)
{
	MAP_OR_FAIL(e);
	if (!have(m, 3))
		return cmd_incomplete(p, m);
	if (mtok_is(m, 2, "replay"))
		e->replay_window = neg ? -1 : mtok_find(m, "disable") >= 0 ? 0
									  : (int32_t)tok_u64(m, 4);
	else if (mtok_is(m, 2, "level"))
		e->per_host = !neg;
	else if (!have(m, 4))
		return cmd_incomplete(p, m);
	else if (mtok_is(m, 3, "seconds"))
		e->lifetime_s = neg ? 0 : tok_u64(m, 4);
	else
		e->lifetime_kb = neg ? 0 : tok_u64(m, 4);
	return 0;
}

WR_FN(wr_map_sa)
{
	const struct cfg_map_entry *e = obj;

	(void)c;
	if (e->replay_window == 0)
		sbuf_printf(b, " set security-association replay disable\n");
	else if (e->replay_window > 0)
		sbuf_printf(b, " set security-association replay window-size %d\n",
			    e->replay_window);
	if (e->per_host)
		sbuf_printf(b, " set security-association level per-host\n");
	if (e->lifetime_s)
		sbuf_printf(b, " set security-association lifetime seconds %lu\n",
			    (unsigned long)e->lifetime_s);
	if (e->lifetime_kb)
		sbuf_printf(b, " set security-association lifetime kilobytes %lu\n",
			    (unsigned long)e->lifetime_kb);
}

CMD_FN(cmd_pfs)
{
	MAP_OR_FAIL(e);
	e->pfs_group = neg ? 0 : (uint16_t)strtoul(m->t[2].kw + 5, NULL, 10);
	return 0;
}

WR_FN(wr_pfs)
{
	const struct cfg_map_entry *e = obj;

	(void)c;
	if (e->pfs_group)
		sbuf_printf(b, " set pfs group%u\n", e->pfs_group);
}

CMD_FN(cmd_ikev2_profile)
{
	MAP_OR_FAIL(e);
	snprintf(e->ikev2_profile, sizeof(e->ikev2_profile), "%.63s",
		 neg || !have(m, 3) ? "" : m->t[2].text);
	e->ikev2_line = neg ? 0 : p->line;
	return 0;
}

WR_FN(wr_ikev2_profile)
{
	const struct cfg_map_entry *e = obj;

	(void)c;
	if (e->ikev2_profile[0])
		sbuf_printf(b, " set ikev2-profile %s\n", e->ikev2_profile);
}

/* ---- crypto map NAME local-address IFNAME|ADDR ---------------------- */

CMD_FN(cmd_map_local)
{
	struct config *c = p->cfg;
	struct cfg_map_binding *nb;
	unsigned i;

	if (!have(m, 3))
		return cmd_incomplete(p, m);
	for (i = 0; i < c->nbindings; i++)
		if (strcmp(c->bindings[i].map, m->t[2].text) == 0)
			break;
	if (neg) {
		if (i < c->nbindings)
			c->bindings[i] = c->bindings[--c->nbindings];
		return 0;
	}
	if (i == c->nbindings) {
		nb = realloc(c->bindings, (c->nbindings + 1) * sizeof(*nb));
		if (!nb)
			return pctx_err(p, 0, "out of memory");
		c->bindings = nb;
		c->nbindings++;
	}
	memset(&c->bindings[i], 0, sizeof(c->bindings[i]));
	snprintf(c->bindings[i].map, sizeof(c->bindings[i].map), "%.63s", m->t[2].text);
	if (m->t[4].type == TT_ADDR)
		ip_addr_parse(m->t[4].text, &c->bindings[i].local);
	else
		snprintf(c->bindings[i].ifname, sizeof(c->bindings[i].ifname), "%.63s", m->t[4].text);
	return 0;
}

WR_FN(wr_map_local)
{
	char buf[IP_ADDR_STRLEN];

	(void)obj;
	for (unsigned i = 0; i < c->nbindings; i++) {
		const struct cfg_map_binding *mb = &c->bindings[i];

		sbuf_printf(b, "crypto map %s local-address %s\n", mb->map,
			    mb->local.af ? ip_addr_str(&mb->local, buf) : mb->ifname);
	}
}
