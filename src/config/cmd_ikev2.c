/* crypto ikev2 proposal/policy/keyring/profile, the IKE-wide globals and
 * crypto ipsec profile: apply and write functions. What the words mean is
 * IOS's (IKEv2 configuration guide); the numbers are IANA's (RFC 7296
 * section 3.3.2 transform IDs, src/crypto/alg.h and dh.h). */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config/cmds.h"
#include "config/psk.h"
#include "crypto/alg.h"
#include "crypto/dh.h"
#include "lib/secret.h"

/* ---- algorithm words ------------------------------------------------- */

static const struct ike_encr {
	const char *word;
	uint16_t id, bits; /* bits 0: fixed key length, no Key Length attribute */
	bool aead;
} ike_encrs[] = {
	{"aes-cbc-128", ENCR_AES_CBC, 128, false},
	{"aes-cbc-192", ENCR_AES_CBC, 192, false},
	{"aes-cbc-256", ENCR_AES_CBC, 256, false},
	{"3des", ENCR_3DES, 0, false},
	{"aes-gcm-128", ENCR_AES_GCM_16, 128, true},
	{"aes-gcm-256", ENCR_AES_GCM_16, 256, true},
	/* RFC 4106 section 8 / RFC 5282: the shorter ICVs (ours, not IOS's). */
	{"aes-gcm-128-icv8", ENCR_AES_GCM_8, 128, true},
	{"aes-gcm-128-icv12", ENCR_AES_GCM_12, 128, true},
	{"aes-gcm-256-icv8", ENCR_AES_GCM_8, 256, true},
	{"aes-gcm-256-icv12", ENCR_AES_GCM_12, 256, true},
	{"chacha20-poly1305", ENCR_CHACHA20_POLY1305, 0, true},
};

static const struct ike_integ {
	const char *word;
	uint16_t integ, prf;
} ike_integs[] = {
	{"sha1", AUTH_HMAC_SHA1_96, PRF_HMAC_SHA1},
	{"md5", AUTH_HMAC_MD5_96, PRF_HMAC_MD5},
	{"sha256", AUTH_HMAC_SHA2_256_128, PRF_HMAC_SHA2_256},
	{"sha384", AUTH_HMAC_SHA2_384_192, PRF_HMAC_SHA2_384},
	{"sha512", AUTH_HMAC_SHA2_512_256, PRF_HMAC_SHA2_512},
	{"aes-xcbc-mac", AUTH_AES_XCBC_96, PRF_AES128_XCBC},
	{"aes-cmac", AUTH_AES_CMAC_96, PRF_AES128_CMAC},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct ike_encr *encr_by_word(const char *w)
{
	for (size_t i = 0; i < NELEM(ike_encrs); i++)
		if (w && strcmp(ike_encrs[i].word, w) == 0)
			return &ike_encrs[i];
	return NULL;
}

static const char *encr_word(uint16_t id, uint16_t bits)
{
	for (size_t i = 0; i < NELEM(ike_encrs); i++)
		if (ike_encrs[i].id == id && ike_encrs[i].bits == bits)
			return ike_encrs[i].word;
	return "?";
}

static const struct ike_integ *integ_by_word(const char *w)
{
	for (size_t i = 0; i < NELEM(ike_integs); i++)
		if (w && strcmp(ike_integs[i].word, w) == 0)
			return &ike_integs[i];
	return NULL;
}

static const char *integ_word(uint16_t id, bool prf)
{
	for (size_t i = 0; i < NELEM(ike_integs); i++)
		if ((prf ? ike_integs[i].prf : ike_integs[i].integ) == id)
			return ike_integs[i].word;
	return "?";
}

/* ---- small helpers --------------------------------------------------- */

static void name_copy(char *dst, const char *src)
{
	snprintf(dst, CFG_NAME_MAX, "%.63s", src);
}

static void enter(struct pctx *p, int mode, const char *name)
{
	p->mode = mode;
	name_copy(p->name, name);
}

static int oom(struct pctx *p)
{
	return pctx_err(p, 0, "out of memory");
}

/* identity ... / match identity remote ...: the words after `at`. */
static void id_parse(const struct cmd_match *m, unsigned at, struct cfg_ike_id *id)
{
	memset(id, 0, sizeof(*id));
	if (mtok_is(m, at, "address")) {
		id->type = CFG_ID_ADDRESS;
		ip_addr_parse(m->t[at + 1].text, &id->addr);
		return;
	}
	id->type = mtok_is(m, at, "fqdn")    ? CFG_ID_FQDN
		   : mtok_is(m, at, "email") ? CFG_ID_EMAIL
					     : CFG_ID_KEY_ID;
	snprintf(id->name, sizeof(id->name), "%s", m->t[at + 1].text);
}

static const char *id_kind(uint8_t type)
{
	switch (type) {
	case CFG_ID_ADDRESS: return "address";
	case CFG_ID_FQDN: return "fqdn";
	case CFG_ID_EMAIL: return "email";
	default: return "key-id";
	}
}

static void id_write(struct sbuf *b, const char *pfx, const struct cfg_ike_id *id)
{
	char a[IP_ADDR_STRLEN];

	if (!id->type)
		return;
	sbuf_printf(b, "%s %s %s\n", pfx, id_kind(id->type),
		    id->type == CFG_ID_ADDRESS ? ip_addr_str(&id->addr, a) : id->name);
}

/* address A [M] | address X:X::X/M, from token `at` on. */
static int addr_parse(struct pctx *p, const struct cmd_match *m, unsigned at,
		      struct ip_prefix *out, bool *masked)
{
	struct ip_addr a;
	uint8_t len = 32;

	memset(out, 0, sizeof(*out));
	*masked = false;
	if (m->t[at].type == TT_PREFIX6) {
		ip_prefix_parse(m->t[at].text, out);
		*masked = true;
		return 0;
	}
	if (at + 1 < m->n) {
		if (!ip_mask_to_len(m->t[at + 1].text, false, &len))
			return pctx_err(p, (int)at + 1, "expected a contiguous network mask");
		*masked = true;
	}
	ip_addr_parse(m->t[at].text, &a);
	ip_prefix_set(out, &a, len);
	return 0;
}

static void addr_write(struct sbuf *b, const struct ip_prefix *pf, bool masked)
{
	char a[IP_ADDR_STRLEN], mask[IP_ADDR_STRLEN];

	ip_addr_str(&pf->addr, a);
	if (pf->addr.af == AF_INET6) {
		sbuf_printf(b, " %s/%u", a, pf->len);
	} else if (masked) {
		ip_len_to_mask(pf->len, false, mask);
		sbuf_printf(b, " %s %s", a, mask);
	} else {
		sbuf_printf(b, " %s", a);
	}
}

/* Add an address to a small set (match address local); false if full. */
static bool addr_add(struct ip_addr *arr, unsigned *n, const struct ip_addr *a)
{
	for (unsigned i = 0; i < *n; i++)
		if (arr[i].af == a->af && ip_addr_eq(&arr[i], a))
			return true;
	if (*n == CFG_IKEV2_MAX_LIST)
		return false;
	arr[(*n)++] = *a;
	return true;
}

static void addr_del(struct ip_addr *arr, unsigned *n, const struct ip_addr *a)
{
	unsigned k = 0;

	for (unsigned i = 0; i < *n; i++)
		if (a && !(arr[i].af == a->af && ip_addr_eq(&arr[i], a)))
			arr[k++] = arr[i];
	*n = k;
}

static int local_apply(struct pctx *p, const struct cmd_match *m, bool neg, struct ip_addr *arr,
		       unsigned *n)
{
	struct ip_addr a;

	if (!have(m, 4)) {
		if (!neg)
			return cmd_incomplete(p, m);
		addr_del(arr, n, NULL);
		return 0;
	}
	ip_addr_parse(m->t[3].text, &a);
	if (neg)
		addr_del(arr, n, &a);
	else if (!addr_add(arr, n, &a))
		return pctx_err(p, 3, "at most %d local addresses", CFG_IKEV2_MAX_LIST);
	return 0;
}

static void local_write(struct sbuf *b, const struct ip_addr *arr, unsigned n)
{
	char a[IP_ADDR_STRLEN];

	for (unsigned i = 0; i < n; i++)
		sbuf_printf(b, " match address local %s\n", ip_addr_str(&arr[i], a));
}

/* ---- key config-key password-encrypt / password encryption aes ------- */

CMD_FN(cmd_master_key)
{
	struct config *c = p->cfg;

	secret_free(c->master_key);
	c->master_key = NULL;
	if (neg || !have(m, 4))
		return 0;
	if (strlen(m->t[3].text) < 8)
		return pctx_err(p, 3, "the master key needs at least 8 characters");
	c->master_key = secret_from(m->t[3].text, strlen(m->t[3].text));
	return c->master_key ? 0 : oom(p);
}

/* IOS never shows the master key. esprit has no private NVRAM: the key is
 * written so that the file reloads (docs/configuration.md says where to
 * keep it). */
WR_FN(wr_master_key)
{
	(void)obj;
	if (c->master_key)
		sbuf_printf(b, "key config-key password-encrypt %.*s\n", (int)c->master_key->len,
			    (const char *)c->master_key->p);
}

CMD_FN(cmd_password_encryption)
{
	(void)m;
	p->cfg->password_encryption = !neg;
	return 0;
}

WR_FN(wr_password_encryption)
{
	(void)obj;
	if (c->password_encryption)
		sbuf_printf(b, "password encryption aes\n");
}

/* ---- IKE-wide globals ------------------------------------------------ */

CMD_FN(cmd_ikev2_defaults)
{
	struct config *c = p->cfg;

	c->ikev2.defaults = !neg && mtok_is(m, 3, "ios-legacy") ? CFG_IKEV2_DEFAULTS_IOS_LEGACY
								 : CFG_IKEV2_DEFAULTS_MODERN;
	cfg_ikev2_defaults_set(c);
	return 0;
}

WR_FN(wr_ikev2_defaults)
{
	(void)obj;
	if (c->ikev2.defaults == CFG_IKEV2_DEFAULTS_IOS_LEGACY)
		sbuf_printf(b, "crypto ikev2 defaults ios-legacy\n");
}

CMD_FN(cmd_ikev2_cookie)
{
	p->cfg->ikev2.cookie_challenge = neg ? 0 : (uint32_t)tok_u64(m, 3);
	return 0;
}

WR_FN(wr_ikev2_cookie)
{
	(void)obj;
	if (c->ikev2.cookie_challenge)
		sbuf_printf(b, "crypto ikev2 cookie-challenge %u\n", c->ikev2.cookie_challenge);
}

/* dpd INTERVAL RETRY on-demand|periodic [clear|hold|restart], from `at` */
static void dpd_parse(const struct cmd_match *m, unsigned at, bool neg, struct cfg_dpd *d)
{
	memset(d, 0, sizeof(*d));
	if (neg || !have(m, at + 4))
		return;
	d->interval = (uint32_t)tok_u64(m, at + 1);
	d->retry = (uint32_t)tok_u64(m, at + 2);
	d->mode = mtok_is(m, at + 3, "periodic") ? CFG_DPD_PERIODIC : CFG_DPD_ON_DEMAND;
	d->action = mtok_is(m, at + 4, "hold")	    ? CFG_DPD_HOLD
		    : mtok_is(m, at + 4, "restart") ? CFG_DPD_RESTART
						    : CFG_DPD_CLEAR;
}

static void dpd_write(struct sbuf *b, const char *pfx, const struct cfg_dpd *d)
{
	static const char *const actions[] = {"", " hold", " restart"};

	if (!d->interval)
		return;
	sbuf_printf(b, "%sdpd %u %u %s%s\n", pfx, d->interval, d->retry,
		    d->mode == CFG_DPD_PERIODIC ? "periodic" : "on-demand",
		    d->action < 3 ? actions[d->action] : "");
}

CMD_FN(cmd_ikev2_dpd)
{
	if (!neg && !have(m, 6))
		return cmd_incomplete(p, m);
	dpd_parse(m, 2, neg, &p->cfg->ikev2.dpd);
	return 0;
}

WR_FN(wr_ikev2_dpd)
{
	(void)obj;
	dpd_write(b, "crypto ikev2 ", &c->ikev2.dpd);
}

CMD_FN(cmd_ikev2_nat)
{
	p->cfg->ikev2.nat_keepalive = neg ? 0 : (uint32_t)tok_u64(m, 4);
	return 0;
}

WR_FN(wr_ikev2_nat)
{
	(void)obj;
	if (c->ikev2.nat_keepalive)
		sbuf_printf(b, "crypto ikev2 nat keepalive %u\n", c->ikev2.nat_keepalive);
}

CMD_FN(cmd_ikev2_frag)
{
	p->cfg->ikev2.fragmentation = !neg;
	p->cfg->ikev2.frag_mtu = neg ? 0 : (uint32_t)tok_u64(m, 4);
	return 0;
}

WR_FN(wr_ikev2_frag)
{
	(void)obj;
	if (c->ikev2.fragmentation && c->ikev2.frag_mtu)
		sbuf_printf(b, "crypto ikev2 fragmentation mtu %u\n", c->ikev2.frag_mtu);
	else if (c->ikev2.fragmentation)
		sbuf_printf(b, "crypto ikev2 fragmentation\n");
}

CMD_FN(cmd_ikev2_limit)
{
	p->cfg->ikev2.max_in_negotiation = neg ? 0 : (uint32_t)tok_u64(m, 4);
	return 0;
}

WR_FN(wr_ikev2_limit)
{
	(void)obj;
	if (c->ikev2.max_in_negotiation)
		sbuf_printf(b, "crypto ikev2 limit max-in-negotiation-sa %u\n",
			    c->ikev2.max_in_negotiation);
}

/* ---- crypto ikev2 proposal NAME -------------------------------------- */

static bool is_default_name(const char *n)
{
	return strcmp(n, "default") == 0 || strcmp(n, "default-cbc") == 0;
}

CMD_FN(cmd_ikev2_proposal)
{
	struct config *c = p->cfg;
	struct cfg_ikev2_proposal *pr;

	if (!have(m, 4))
		return cmd_incomplete(p, m);
	pr = cfg_ikev2_proposal_get(c, m->t[3].text, false);
	if (neg) {
		/* `no crypto ikev2 proposal default` disables the defaults */
		if (pr && pr->builtin) {
			c->ikev2.no_default_proposal = true;
			cfg_ikev2_defaults_set(c);
		} else if (pr) {
			*pr = c->ikev2_proposals[--c->nikev2_proposals];
		}
		return 0;
	}
	if (!pr && is_default_name(m->t[3].text) && c->ikev2.no_default_proposal) {
		c->ikev2.no_default_proposal = false;
		cfg_ikev2_defaults_set(c);
		pr = cfg_ikev2_proposal_get(c, m->t[3].text, false);
	}
	if (!pr)
		pr = cfg_ikev2_proposal_get(c, m->t[3].text, true);
	if (!pr)
		return oom(p);
	if (!pr->line)
		pr->line = p->line;
	enter(p, MODE_IKEV2_PROPOSAL, pr->name);
	return 0;
}

WR_FN(wr_ikev2_proposal)
{
	(void)obj;
	if (c->ikev2.no_default_proposal)
		sbuf_printf(b, "no crypto ikev2 proposal default\n");
	for (unsigned i = 0; i < c->nikev2_proposals; i++) {
		const struct cfg_ikev2_proposal *pr = &c->ikev2_proposals[i];

		if (cfg_ikev2_proposal_is_pristine(c, pr))
			continue; /* IOS shows the defaults only when asked */
		sbuf_printf(b, "crypto ikev2 proposal %s\n", pr->name);
		write_submode(b, c, MODE_IKEV2_PROPOSAL, pr);
		sbuf_printf(b, "!\n");
	}
}

#define PROP_OR_FAIL(pr)                                                                           \
	struct cfg_ikev2_proposal *pr = cfg_ikev2_proposal_get(p->cfg, p->name, false);            \
	if (!pr)                                                                                   \
		return pctx_err(p, 0, "no current IKEv2 proposal")

static int dup_check(struct pctx *p, const struct cmd_match *m)
{
	for (unsigned i = 1; i < m->n; i++)
		for (unsigned k = 1; k < i; k++)
			if (strcmp(m->t[i].kw, m->t[k].kw) == 0)
				return pctx_err(p, (int)i, "%s is listed twice", m->t[i].kw);
	return 0;
}

/* Each line replaces the list of its transform type (one canonical line
 * per type in show running-config). */
CMD_FN(cmd_prop_encr)
{
	const struct ike_encr *first;

	PROP_OR_FAIL(pr);
	if (neg) {
		pr->nencr = 0;
		pr->aead = false;
		return 0;
	}
	if (dup_check(p, m) < 0)
		return -1;
	first = encr_by_word(m->t[1].kw);
	for (unsigned i = 1; i < m->n; i++) {
		const struct ike_encr *e = encr_by_word(m->t[i].kw);

		/* RFC 5282 section 8: combined-mode ciphers go in their own
		 * proposal, without an integrity transform. */
		if (e->aead != first->aead)
			return pctx_err(p, (int)i, "%s and %s cannot share a proposal: AEAD "
						   "ciphers need a proposal of their own",
					first->word, e->word);
		pr->encr[i - 1] = e->id;
		pr->encr_bits[i - 1] = e->bits;
	}
	pr->nencr = m->n - 1;
	pr->aead = first->aead;
	pr->encr_line = p->line;
	return 0;
}

WR_FN(wr_prop_encr)
{
	const struct cfg_ikev2_proposal *pr = obj;

	(void)c;
	if (!pr->nencr)
		return;
	sbuf_printf(b, " encryption");
	for (unsigned i = 0; i < pr->nencr; i++)
		sbuf_printf(b, " %s", encr_word(pr->encr[i], pr->encr_bits[i]));
	sbuf_printf(b, "\n");
}

CMD_FN(cmd_prop_integ)
{
	PROP_OR_FAIL(pr);
	pr->ninteg = 0;
	if (!neg) {
		if (dup_check(p, m) < 0)
			return -1;
		for (unsigned i = 1; i < m->n; i++)
			pr->integ[pr->ninteg++] = integ_by_word(m->t[i].kw)->integ;
		pr->integ_line = p->line;
	}
	cfg_ikev2_prf_derive(pr);
	return 0;
}

/* Builtins start from the default's lists: an emptied list must be
 * written as `no ...` to survive a reload. */
static void list_write(struct sbuf *b, const struct cfg_ikev2_proposal *pr, const char *kw,
		       const uint16_t *ids, unsigned n, bool prf)
{
	if (!n) {
		if (pr->builtin)
			sbuf_printf(b, " no %s\n", kw);
		return;
	}
	sbuf_printf(b, " %s", kw);
	for (unsigned i = 0; i < n; i++)
		sbuf_printf(b, " %s", integ_word(ids[i], prf));
	sbuf_printf(b, "\n");
}

WR_FN(wr_prop_integ)
{
	const struct cfg_ikev2_proposal *pr = obj;

	(void)c;
	list_write(b, pr, "integrity", pr->integ, pr->ninteg, false);
}

CMD_FN(cmd_prop_prf)
{
	PROP_OR_FAIL(pr);
	pr->prf_set = !neg;
	pr->nprf = 0;
	if (!neg) {
		if (dup_check(p, m) < 0)
			return -1;
		for (unsigned i = 1; i < m->n; i++)
			pr->prf[pr->nprf++] = integ_by_word(m->t[i].kw)->prf;
	}
	cfg_ikev2_prf_derive(pr);
	return 0;
}

WR_FN(wr_prop_prf)
{
	const struct cfg_ikev2_proposal *pr = obj;

	(void)c;
	if (pr->prf_set)
		list_write(b, pr, "prf", pr->prf, pr->nprf, true);
	else if (pr->builtin)
		sbuf_printf(b, " no prf\n");
}

CMD_FN(cmd_prop_group)
{
	PROP_OR_FAIL(pr);
	pr->ngroup = 0;
	if (neg)
		return 0;
	if (dup_check(p, m) < 0)
		return -1;
	for (unsigned i = 1; i < m->n; i++)
		pr->group[pr->ngroup++] = (uint16_t)tok_u64(m, i);
	return 0;
}

WR_FN(wr_prop_group)
{
	const struct cfg_ikev2_proposal *pr = obj;

	(void)c;
	if (!pr->ngroup)
		return;
	sbuf_printf(b, " group");
	for (unsigned i = 0; i < pr->ngroup; i++)
		sbuf_printf(b, " %u", pr->group[i]);
	sbuf_printf(b, "\n");
}

/* ---- crypto ikev2 policy NAME ---------------------------------------- */

CMD_FN(cmd_ikev2_policy)
{
	struct config *c = p->cfg;
	struct cfg_ikev2_policy *pol;

	if (!have(m, 4))
		return cmd_incomplete(p, m);
	pol = cfg_ikev2_policy_get(c, m->t[3].text, false);
	if (neg) {
		if (pol && pol->builtin) {
			c->ikev2.no_default_policy = true;
			memmove(pol, pol + 1, (size_t)(c->ikev2_policies + c->nikev2_policies - pol - 1) *
						      sizeof(*pol));
			c->nikev2_policies--;
		} else if (pol) {
			memmove(pol, pol + 1, (size_t)(c->ikev2_policies + c->nikev2_policies - pol - 1) *
						      sizeof(*pol));
			c->nikev2_policies--;
		}
		return 0;
	}
	if (!pol && strcmp(m->t[3].text, "default") == 0 && c->ikev2.no_default_policy) {
		c->ikev2.no_default_policy = false;
		cfg_ikev2_defaults_set(c);
		pol = cfg_ikev2_policy_get(c, "default", false);
	}
	if (!pol)
		pol = cfg_ikev2_policy_get(c, m->t[3].text, true);
	if (!pol)
		return oom(p);
	if (!pol->line)
		pol->line = p->line;
	enter(p, MODE_IKEV2_POLICY, pol->name);
	return 0;
}

WR_FN(wr_ikev2_policy)
{
	(void)obj;
	if (c->ikev2.no_default_policy)
		sbuf_printf(b, "no crypto ikev2 policy default\n");
	for (unsigned i = 0; i < c->nikev2_policies; i++) {
		const struct cfg_ikev2_policy *pol = &c->ikev2_policies[i];

		if (cfg_ikev2_policy_is_pristine(c, pol))
			continue;
		sbuf_printf(b, "crypto ikev2 policy %s\n", pol->name);
		write_submode(b, c, MODE_IKEV2_POLICY, pol);
		sbuf_printf(b, "!\n");
	}
}

#define POL_OR_FAIL(pol)                                                                           \
	struct cfg_ikev2_policy *pol = cfg_ikev2_policy_get(p->cfg, p->name, false);               \
	if (!pol)                                                                                  \
		return pctx_err(p, 0, "no current IKEv2 policy")

CMD_FN(cmd_pol_proposal)
{
	unsigned k = 0;

	POL_OR_FAIL(pol);
	for (unsigned i = 0; i < pol->nproposals; i++) {
		if (have(m, 2) && strcmp(pol->proposals[i], m->t[1].text) == 0) {
			if (neg)
				continue;
			return 0; /* already listed */
		}
		if (neg && !have(m, 2))
			continue;
		pol->proposal_line[k] = pol->proposal_line[i];
		memmove(pol->proposals[k++], pol->proposals[i], CFG_NAME_MAX);
	}
	pol->nproposals = k;
	if (neg)
		return 0;
	if (pol->nproposals == CFG_IKEV2_MAX_LIST)
		return pctx_err(p, 1, "at most %d proposals per policy", CFG_IKEV2_MAX_LIST);
	name_copy(pol->proposals[pol->nproposals], m->t[1].text);
	pol->proposal_line[pol->nproposals++] = p->line;
	return 0;
}

WR_FN(wr_pol_proposal)
{
	const struct cfg_ikev2_policy *pol = obj;

	(void)c;
	/* a builtin policy's own list is restored first on reload */
	if (pol->builtin)
		sbuf_printf(b, " no proposal\n");
	for (unsigned i = 0; i < pol->nproposals; i++)
		sbuf_printf(b, " proposal %s\n", pol->proposals[i]);
}

CMD_FN(cmd_pol_local)
{
	POL_OR_FAIL(pol);
	return local_apply(p, m, neg, pol->local, &pol->nlocal);
}

WR_FN(wr_pol_local)
{
	const struct cfg_ikev2_policy *pol = obj;

	(void)c;
	local_write(b, pol->local, pol->nlocal);
}

CMD_FN(cmd_pol_fvrf)
{
	POL_OR_FAIL(pol);
	(void)m;
	pol->fvrf_any = !neg;
	return 0;
}

WR_FN(wr_pol_fvrf)
{
	const struct cfg_ikev2_policy *pol = obj;

	(void)c;
	if (pol->fvrf_any)
		sbuf_printf(b, " match fvrf any\n");
	else if (pol->builtin)
		sbuf_printf(b, " no match fvrf any\n");
}

/* ---- crypto ikev2 keyring NAME / peer NAME ---------------------------- */

CMD_FN(cmd_ikev2_keyring)
{
	struct config *c = p->cfg;
	struct cfg_ikev2_keyring *k;

	if (!have(m, 4))
		return cmd_incomplete(p, m);
	k = cfg_ikev2_keyring_get(c, m->t[3].text, false);
	if (neg) {
		if (k) {
			cfg_ikev2_keyring_clear(k);
			*k = c->ikev2_keyrings[--c->nikev2_keyrings];
		}
		return 0;
	}
	if (!k) {
		k = cfg_ikev2_keyring_get(c, m->t[3].text, true);
		if (!k)
			return oom(p);
		k->line = p->line;
	}
	enter(p, MODE_IKEV2_KEYRING, k->name);
	return 0;
}

WR_FN(wr_ikev2_keyring)
{
	(void)obj;
	for (unsigned i = 0; i < c->nikev2_keyrings; i++) {
		sbuf_printf(b, "crypto ikev2 keyring %s\n", c->ikev2_keyrings[i].name);
		write_submode(b, c, MODE_IKEV2_KEYRING, &c->ikev2_keyrings[i]);
		sbuf_printf(b, "!\n");
	}
}

CMD_FN(cmd_kr_peer)
{
	struct cfg_ikev2_keyring *k = cfg_ikev2_keyring_get(p->cfg, p->name, false);
	struct cfg_ikev2_peer *pe;

	if (!k)
		return pctx_err(p, 0, "no current IKEv2 keyring");
	if (!have(m, 2))
		return cmd_incomplete(p, m);
	pe = cfg_ikev2_peer_get(k, m->t[1].text, false);
	if (neg) {
		if (pe) {
			cfg_ikev2_peer_clear(pe);
			memmove(pe, pe + 1, (size_t)(k->peers + k->npeers - pe - 1) * sizeof(*pe));
			k->npeers--;
		}
		return 0;
	}
	if (!pe) {
		pe = cfg_ikev2_peer_get(k, m->t[1].text, true);
		if (!pe)
			return oom(p);
		pe->line = p->line;
	}
	p->mode = MODE_IKEV2_PEER;
	name_copy(p->sub, pe->name);
	return 0;
}

WR_FN(wr_kr_peer)
{
	const struct cfg_ikev2_keyring *k = obj;

	for (unsigned i = 0; i < k->npeers; i++) {
		sbuf_printf(b, " peer %s\n", k->peers[i].name);
		write_submode(b, c, MODE_IKEV2_PEER, &k->peers[i]);
		sbuf_printf(b, " !\n");
	}
}

static struct cfg_ikev2_peer *cur_peer(struct pctx *p)
{
	struct cfg_ikev2_keyring *k = cfg_ikev2_keyring_get(p->cfg, p->name, false);

	return k ? cfg_ikev2_peer_get(k, p->sub, false) : NULL;
}

#define PEER_OR_FAIL(pe)                                                                           \
	struct cfg_ikev2_peer *pe = cur_peer(p);                                                   \
	if (!pe)                                                                                   \
		return pctx_err(p, 0, "no current keyring peer")

CMD_FN(cmd_peer_addr)
{
	PEER_OR_FAIL(pe);
	memset(&pe->addr, 0, sizeof(pe->addr));
	pe->addr_masked = false;
	if (neg || !have(m, 2))
		return 0;
	return addr_parse(p, m, 1, &pe->addr, &pe->addr_masked);
}

WR_FN(wr_peer_addr)
{
	const struct cfg_ikev2_peer *pe = obj;

	(void)c;
	if (!pe->addr.addr.af)
		return;
	sbuf_printf(b, "  address");
	addr_write(b, &pe->addr, pe->addr_masked);
	sbuf_printf(b, "\n");
}

CMD_FN(cmd_peer_id)
{
	PEER_OR_FAIL(pe);
	memset(&pe->id, 0, sizeof(pe->id));
	if (!neg && have(m, 3))
		id_parse(m, 1, &pe->id);
	return 0;
}

WR_FN(wr_peer_id)
{
	const struct cfg_ikev2_peer *pe = obj;

	(void)c;
	id_write(b, "  identity", &pe->id);
}

/* The key word of `... [0|6] KEY` (the last token): type 0 is the key
 * itself, type 6 is decrypted with the master key (psk.c). */
static int key_arg(struct pctx *p, const struct cmd_match *m, struct secret **out)
{
	unsigned last = m->n - 1;
	int ret;

	if (mtok_is(m, last - 1, "6")) {
		if (!p->cfg->master_key)
			return pctx_err(p, (int)last - 1, "type 6 keys need a master key "
							  "(key config-key password-encrypt)");
		ret = cfg_psk_decrypt(p->cfg->master_key, m->t[last].text, out);
		if (ret < 0)
			return pctx_err(p, (int)last, "not a type 6 key for this master key");
		return 0;
	}
	*out = secret_from(m->t[last].text, strlen(m->t[last].text));
	return *out ? 0 : oom(p);
}

CMD_FN(cmd_peer_psk)
{
	struct secret *k = NULL;
	bool local = mtok_is(m, 1, "local"), remote = mtok_is(m, 1, "remote");

	PEER_OR_FAIL(pe);
	if (!local && !remote)
		local = remote = true;
	if (!neg) {
		if (m->t[m->n - 1].type != TT_KEY)
			return cmd_incomplete(p, m);
		if (key_arg(p, m, &k) < 0)
			return -1;
	}
	if (local) {
		secret_free(pe->psk_local);
		pe->psk_local = k;
	}
	if (remote) {
		secret_free(pe->psk_remote);
		pe->psk_remote = local ? (k ? secret_dup(k) : NULL) : k;
		if (k && !pe->psk_remote)
			return oom(p);
	}
	return 0;
}

static bool key_eq(const struct secret *a, const struct secret *b)
{
	return a && b && a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* A type 0 key that the parser would read as a keyword gets its 0. */
static bool key_needs_type(const struct secret *k)
{
	static const char *const kws[] = {"local", "remote", "0", "6", "key"};

	for (size_t i = 0; i < NELEM(kws); i++)
		if (k->len <= strlen(kws[i]) && strncmp(kws[i], (const char *)k->p, k->len) == 0)
			return true;
	return false;
}

/* Keys are written as IOS writes them: in clear (type 0), or type 6
 * when `password encryption aes` is on. */
static void key_write(struct sbuf *b, const struct config *c, const struct secret *k)
{
	char enc[CFG_PSK_ENC_MAX];

	if (c->password_encryption && c->master_key &&
	    cfg_psk_encrypt(c->master_key, k, enc, sizeof(enc)) == 0) {
		sbuf_printf(b, " 6 %s", enc);
		secret_wipe(enc, sizeof(enc));
		return;
	}
	sbuf_printf(b, "%s %.*s", key_needs_type(k) ? " 0" : "", (int)k->len, (const char *)k->p);
}

WR_FN(wr_peer_psk)
{
	const struct cfg_ikev2_peer *pe = obj;

	if (key_eq(pe->psk_local, pe->psk_remote)) {
		sbuf_printf(b, "  pre-shared-key");
		key_write(b, c, pe->psk_local);
		sbuf_printf(b, "\n");
		return;
	}
	if (pe->psk_local) {
		sbuf_printf(b, "  pre-shared-key local");
		key_write(b, c, pe->psk_local);
		sbuf_printf(b, "\n");
	}
	if (pe->psk_remote) {
		sbuf_printf(b, "  pre-shared-key remote");
		key_write(b, c, pe->psk_remote);
		sbuf_printf(b, "\n");
	}
}

/* ---- crypto ikev2 profile NAME ---------------------------------------- */

CMD_FN(cmd_ikev2_profile_def)
{
	struct config *c = p->cfg;
	struct cfg_ikev2_profile *pf;

	if (!have(m, 4))
		return cmd_incomplete(p, m);
	pf = cfg_ikev2_profile_get(c, m->t[3].text, false);
	if (neg) {
		if (pf) {
			cfg_ikev2_profile_clear(pf);
			memmove(pf, pf + 1, (size_t)(c->ikev2_profiles + c->nikev2_profiles - pf - 1) *
						    sizeof(*pf));
			c->nikev2_profiles--;
		}
		return 0;
	}
	if (!pf) {
		pf = cfg_ikev2_profile_get(c, m->t[3].text, true);
		if (!pf)
			return oom(p);
		pf->line = p->line;
	}
	enter(p, MODE_IKEV2_PROFILE, pf->name);
	return 0;
}

WR_FN(wr_ikev2_profile_def)
{
	(void)obj;
	for (unsigned i = 0; i < c->nikev2_profiles; i++) {
		sbuf_printf(b, "crypto ikev2 profile %s\n", c->ikev2_profiles[i].name);
		write_submode(b, c, MODE_IKEV2_PROFILE, &c->ikev2_profiles[i]);
		sbuf_printf(b, "!\n");
	}
}

#define PROF_OR_FAIL(pf)                                                                           \
	struct cfg_ikev2_profile *pf = cfg_ikev2_profile_get(p->cfg, p->name, false);              \
	if (!pf)                                                                                   \
		return pctx_err(p, 0, "no current IKEv2 profile")

static bool match_same(const struct cfg_ikev2_match_id *a, const struct cfg_ikev2_match_id *b)
{
	return a->type == b->type && a->domain == b->domain && a->addr.len == b->addr.len &&
	       a->addr.addr.af == b->addr.addr.af && ip_addr_eq(&a->addr.addr, &b->addr.addr) &&
	       strcmp(a->name, b->name) == 0;
}

/* match identity remote address A [M] | X::/L | fqdn [domain] N |
 * email [domain] N | key-id N. Lines add to the list; `no` with the full
 * line removes one, `no match identity remote` all. */
CMD_FN(cmd_prof_match_id)
{
	struct cfg_ikev2_match_id mi = {0};
	unsigned k = 0;

	PROF_OR_FAIL(pf);
	if (!have(m, 5)) {
		if (!neg)
			return cmd_incomplete(p, m);
		pf->nmatch = 0;
		return 0;
	}
	if (mtok_is(m, 3, "address")) {
		mi.type = CFG_ID_ADDRESS;
		if (addr_parse(p, m, 4, &mi.addr, &mi.addr_masked) < 0)
			return -1;
	} else {
		mi.type = mtok_is(m, 3, "fqdn")	   ? CFG_ID_FQDN
			  : mtok_is(m, 3, "email") ? CFG_ID_EMAIL
						   : CFG_ID_KEY_ID;
		mi.domain = mtok_is(m, 4, "domain");
		if (mi.domain && !have(m, 6))
			return cmd_incomplete(p, m);
		snprintf(mi.name, sizeof(mi.name), "%s", m->t[m->n - 1].text);
	}
	for (unsigned i = 0; i < pf->nmatch; i++) {
		if (match_same(&pf->match[i], &mi)) {
			if (!neg)
				return 0;
			continue;
		}
		pf->match[k++] = pf->match[i];
	}
	pf->nmatch = k;
	if (neg)
		return 0;
	if (pf->nmatch == CFG_IKEV2_MAX_LIST)
		return pctx_err(p, 3, "at most %d match identity lines", CFG_IKEV2_MAX_LIST);
	pf->match[pf->nmatch++] = mi;
	return 0;
}

WR_FN(wr_prof_match_id)
{
	const struct cfg_ikev2_profile *pf = obj;

	(void)c;
	for (unsigned i = 0; i < pf->nmatch; i++) {
		const struct cfg_ikev2_match_id *mi = &pf->match[i];

		sbuf_printf(b, " match identity remote %s", id_kind(mi->type));
		if (mi->type == CFG_ID_ADDRESS)
			addr_write(b, &mi->addr, mi->addr_masked);
		else
			sbuf_printf(b, "%s %s", mi->domain ? " domain" : "", mi->name);
		sbuf_printf(b, "\n");
	}
}

CMD_FN(cmd_prof_match_cert)
{
	PROF_OR_FAIL(pf);
	name_copy(pf->match_cert, neg || !have(m, 3) ? "" : m->t[2].text);
	return 0;
}

WR_FN(wr_prof_match_cert)
{
	const struct cfg_ikev2_profile *pf = obj;

	(void)c;
	if (pf->match_cert[0])
		sbuf_printf(b, " match certificate %s\n", pf->match_cert);
}

CMD_FN(cmd_prof_local)
{
	PROF_OR_FAIL(pf);
	return local_apply(p, m, neg, pf->local, &pf->nlocal);
}

WR_FN(wr_prof_local)
{
	const struct cfg_ikev2_profile *pf = obj;

	(void)c;
	local_write(b, pf->local, pf->nlocal);
}

CMD_FN(cmd_prof_id)
{
	PROF_OR_FAIL(pf);
	memset(&pf->local_id, 0, sizeof(pf->local_id));
	if (!neg && have(m, 4))
		id_parse(m, 2, &pf->local_id);
	return 0;
}

WR_FN(wr_prof_id)
{
	const struct cfg_ikev2_profile *pf = obj;

	(void)c;
	id_write(b, " identity local", &pf->local_id);
}

/* authentication local|remote pre-share [key [0|6] KEY] | rsa-sig | ecdsa-sig */
CMD_FN(cmd_prof_auth)
{
	bool local = mtok_is(m, 1, "local");
	struct secret *k = NULL;
	uint8_t method = CFG_AUTH_NONE;

	PROF_OR_FAIL(pf);
	if (!neg) {
		if (!have(m, 3) || (mtok_find(m, "key") >= 0 && m->t[m->n - 1].type != TT_KEY))
			return cmd_incomplete(p, m);
		method = mtok_is(m, 2, "pre-share") ? CFG_AUTH_PSK
			 : mtok_is(m, 2, "rsa-sig") ? CFG_AUTH_RSA_SIG
						    : CFG_AUTH_ECDSA_SIG;
		if (mtok_find(m, "key") >= 0 && key_arg(p, m, &k) < 0)
			return -1;
	}
	if (local || !have(m, 2)) {
		pf->auth_local = method;
		secret_free(pf->auth_local_psk);
		pf->auth_local_psk = local ? k : NULL;
	}
	if (!local) {
		pf->auth_remote = method;
		secret_free(pf->auth_remote_psk);
		pf->auth_remote_psk = k;
	}
	return 0;
}

static void auth_write(struct sbuf *b, const struct config *c, const char *side, uint8_t method,
		       const struct secret *k)
{
	static const char *const names[] = {"", "pre-share", "rsa-sig", "ecdsa-sig"};

	if (!method || method > CFG_AUTH_ECDSA_SIG)
		return;
	sbuf_printf(b, " authentication %s %s", side, names[method]);
	if (k) {
		sbuf_printf(b, " key");
		key_write(b, c, k);
	}
	sbuf_printf(b, "\n");
}

WR_FN(wr_prof_auth)
{
	const struct cfg_ikev2_profile *pf = obj;

	auth_write(b, c, "local", pf->auth_local, pf->auth_local_psk);
	auth_write(b, c, "remote", pf->auth_remote, pf->auth_remote_psk);
}

CMD_FN(cmd_prof_keyring)
{
	PROF_OR_FAIL(pf);
	name_copy(pf->keyring, neg || !have(m, 3) ? "" : m->t[2].text);
	pf->keyring_line = neg ? 0 : p->line;
	return 0;
}

WR_FN(wr_prof_keyring)
{
	const struct cfg_ikev2_profile *pf = obj;

	(void)c;
	if (pf->keyring[0])
		sbuf_printf(b, " keyring local %s\n", pf->keyring);
}

CMD_FN(cmd_prof_pki)
{
	PROF_OR_FAIL(pf);
	name_copy(pf->trustpoint, neg || !have(m, 3) ? "" : m->t[2].text);
	return 0;
}

WR_FN(wr_prof_pki)
{
	const struct cfg_ikev2_profile *pf = obj;

	(void)c;
	if (pf->trustpoint[0])
		sbuf_printf(b, " pki trustpoint %s\n", pf->trustpoint);
}

CMD_FN(cmd_prof_dpd)
{
	PROF_OR_FAIL(pf);
	if (!neg && !have(m, 4))
		return cmd_incomplete(p, m);
	dpd_parse(m, 0, neg, &pf->dpd);
	return 0;
}

WR_FN(wr_prof_dpd)
{
	const struct cfg_ikev2_profile *pf = obj;

	(void)c;
	dpd_write(b, " ", &pf->dpd);
}

CMD_FN(cmd_prof_lifetime)
{
	PROF_OR_FAIL(pf);
	pf->lifetime_s = neg || !have(m, 2) ? CFG_IKEV2_DEF_LIFETIME : (uint32_t)tok_u64(m, 1);
	return 0;
}

WR_FN(wr_prof_lifetime)
{
	const struct cfg_ikev2_profile *pf = obj;

	(void)c;
	if (pf->lifetime_s != CFG_IKEV2_DEF_LIFETIME)
		sbuf_printf(b, " lifetime %u\n", pf->lifetime_s);
}

CMD_FN(cmd_prof_nat)
{
	PROF_OR_FAIL(pf);
	pf->nat_keepalive = neg || !have(m, 3) ? 0 : (uint32_t)tok_u64(m, 2);
	return 0;
}

WR_FN(wr_prof_nat)
{
	const struct cfg_ikev2_profile *pf = obj;

	(void)c;
	if (pf->nat_keepalive)
		sbuf_printf(b, " nat keepalive %u\n", pf->nat_keepalive);
}

CMD_FN(cmd_prof_frag)
{
	PROF_OR_FAIL(pf);
	pf->frag_mtu = neg || !have(m, 3) ? 0 : (uint32_t)tok_u64(m, 2);
	return 0;
}

WR_FN(wr_prof_frag)
{
	const struct cfg_ikev2_profile *pf = obj;

	(void)c;
	if (pf->frag_mtu)
		sbuf_printf(b, " fragmentation mtu %u\n", pf->frag_mtu);
}

/* ---- crypto ipsec profile NAME ---------------------------------------- */

CMD_FN(cmd_ipsec_profile)
{
	struct config *c = p->cfg;
	struct cfg_ipsec_profile *ip;

	if (!have(m, 4))
		return cmd_incomplete(p, m);
	ip = cfg_ipsec_profile_get(c, m->t[3].text, false);
	if (neg) {
		if (ip)
			memmove(ip, ip + 1, (size_t)(c->ipsec_profiles + c->nipsec_profiles - ip - 1) *
						    sizeof(*ip)),
				c->nipsec_profiles--;
		return 0;
	}
	if (!ip) {
		ip = cfg_ipsec_profile_get(c, m->t[3].text, true);
		if (!ip)
			return oom(p);
		ip->line = p->line;
	}
	enter(p, MODE_IPSEC_PROFILE, ip->name);
	return 0;
}

WR_FN(wr_ipsec_profile)
{
	(void)obj;
	for (unsigned i = 0; i < c->nipsec_profiles; i++) {
		sbuf_printf(b, "crypto ipsec profile %s\n", c->ipsec_profiles[i].name);
		write_submode(b, c, MODE_IPSEC_PROFILE, &c->ipsec_profiles[i]);
		sbuf_printf(b, "!\n");
	}
}

#define IPP_OR_FAIL(ip)                                                                            \
	struct cfg_ipsec_profile *ip = cfg_ipsec_profile_get(p->cfg, p->name, false);              \
	if (!ip)                                                                                   \
		return pctx_err(p, 0, "no current ipsec profile")

CMD_FN(cmd_ipp_ts)
{
	IPP_OR_FAIL(ip);
	if (ts_list_apply(p, m, 2, neg, &ip->ts) < 0)
		return -1;
	ip->ts_line = neg ? 0 : p->line;
	return 0;
}

WR_FN(wr_ipp_ts)
{
	const struct cfg_ipsec_profile *ip = obj;

	(void)c;
	ts_list_write(b, &ip->ts);
}

CMD_FN(cmd_ipp_ikev2)
{
	IPP_OR_FAIL(ip);
	name_copy(ip->ikev2_profile, neg || !have(m, 3) ? "" : m->t[2].text);
	ip->ikev2_line = neg ? 0 : p->line;
	return 0;
}

WR_FN(wr_ipp_ikev2)
{
	const struct cfg_ipsec_profile *ip = obj;

	(void)c;
	if (ip->ikev2_profile[0])
		sbuf_printf(b, " set ikev2-profile %s\n", ip->ikev2_profile);
}

CMD_FN(cmd_ipp_isakmp)
{
	IPP_OR_FAIL(ip);
	name_copy(ip->isakmp_profile, neg || !have(m, 3) ? "" : m->t[2].text);
	return 0;
}

WR_FN(wr_ipp_isakmp)
{
	const struct cfg_ipsec_profile *ip = obj;

	(void)c;
	if (ip->isakmp_profile[0])
		sbuf_printf(b, " set isakmp-profile %s\n", ip->isakmp_profile);
}

CMD_FN(cmd_ipp_pfs)
{
	IPP_OR_FAIL(ip);
	ip->pfs_group = neg || !have(m, 3) ? 0 : (uint16_t)strtoul(m->t[2].kw + 5, NULL, 10);
	return 0;
}

WR_FN(wr_ipp_pfs)
{
	const struct cfg_ipsec_profile *ip = obj;

	(void)c;
	if (ip->pfs_group)
		sbuf_printf(b, " set pfs group%u\n", ip->pfs_group);
}

CMD_FN(cmd_ipp_sa)
{
	IPP_OR_FAIL(ip);
	if (!have(m, 4)) {
		if (!neg)
			return cmd_incomplete(p, m);
		ip->lifetime_s = ip->lifetime_kb = 0;
		return 0;
	}
	if (mtok_is(m, 3, "seconds"))
		ip->lifetime_s = neg || !have(m, 5) ? 0 : tok_u64(m, 4);
	else
		ip->lifetime_kb = neg || !have(m, 5) ? 0 : tok_u64(m, 4);
	return 0;
}

WR_FN(wr_ipp_sa)
{
	const struct cfg_ipsec_profile *ip = obj;

	(void)c;
	if (ip->lifetime_s)
		sbuf_printf(b, " set security-association lifetime seconds %lu\n",
			    (unsigned long)ip->lifetime_s);
	if (ip->lifetime_kb)
		sbuf_printf(b, " set security-association lifetime kilobytes %lu\n",
			    (unsigned long)ip->lifetime_kb);
}
