/* The IKEv2 part of struct config: the default proposals and policy,
 * lookups, free, deep copy and equality. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/grammar.h"
#include "crypto/alg.h"
#include "crypto/dh.h"
#include "lib/secret.h"

/* ---- defaults --------------------------------------------------------
 * IOS has a `default` proposal and a `default` policy that are used when
 * nothing else is configured. Ours are modern (RFC 8247 MUST/SHOULD+
 * algorithms). An AEAD cipher cannot share a proposal with an integrity
 * algorithm (RFC 5282 section 8), so the modern default is two proposals:
 * `default` (AES-GCM) and `default-cbc` (AES-CBC + HMAC-SHA2).
 * `crypto ikev2 defaults ios-legacy` brings back the IOS default of the
 * vendor guide: encryption aes-cbc-128 3des, integrity sha1 md5, group 5 2. */

static const uint16_t modern_groups[] = {DH_ECP_256, DH_ECP_384, DH_ECP_521, DH_CURVE25519,
					 DH_MODP_2048};

static void fill_groups(struct cfg_ikev2_proposal *p, const uint16_t *g, unsigned n)
{
	memcpy(p->group, g, n * sizeof(*g));
	p->ngroup = n;
}

static bool builtin_proposal(uint8_t defaults, const char *name, struct cfg_ikev2_proposal *p)
{
	static const uint16_t legacy_groups[] = {DH_MODP_1536, DH_MODP_1024};
	static const uint16_t sha2[] = {AUTH_HMAC_SHA2_512_256, AUTH_HMAC_SHA2_384_192,
					AUTH_HMAC_SHA2_256_128};
	static const uint16_t sha2_prf[] = {PRF_HMAC_SHA2_512, PRF_HMAC_SHA2_384,
					    PRF_HMAC_SHA2_256};

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->builtin = true;
	if (defaults == CFG_IKEV2_DEFAULTS_IOS_LEGACY) {
		if (strcmp(name, "default") != 0)
			return false;
		p->encr[0] = ENCR_AES_CBC, p->encr_bits[0] = 128;
		p->encr[1] = ENCR_3DES, p->encr_bits[1] = 192;
		p->integ[0] = AUTH_HMAC_SHA1_96, p->integ[1] = AUTH_HMAC_MD5_96;
		p->nencr = p->ninteg = 2;
		fill_groups(p, legacy_groups, 2);
		cfg_ikev2_prf_derive(p);
		return true;
	}
	if (strcmp(name, "default") == 0) {
		p->encr[0] = ENCR_AES_GCM_16, p->encr_bits[0] = 256;
		p->encr[1] = ENCR_AES_GCM_16, p->encr_bits[1] = 128;
		p->nencr = 2;
		p->aead = true;
		memcpy(p->prf, sha2_prf, sizeof(sha2_prf));
		p->nprf = 3;
		p->prf_set = true;
	} else if (strcmp(name, "default-cbc") == 0) {
		p->encr[0] = ENCR_AES_CBC, p->encr_bits[0] = 256;
		p->encr[1] = ENCR_AES_CBC, p->encr_bits[1] = 128;
		p->nencr = 2;
		memcpy(p->integ, sha2, sizeof(sha2));
		p->ninteg = 3;
		cfg_ikev2_prf_derive(p);
	} else {
		return false;
	}
	fill_groups(p, modern_groups, sizeof(modern_groups) / sizeof(modern_groups[0]));
	return true;
}

static bool builtin_policy(uint8_t defaults, struct cfg_ikev2_policy *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "default");
	p->builtin = true;
	p->fvrf_any = true;
	strcpy(p->proposals[p->nproposals++], "default");
	if (defaults == CFG_IKEV2_DEFAULTS_MODERN)
		strcpy(p->proposals[p->nproposals++], "default-cbc");
	return true;
}


static void proposal_remove(struct config *c, const char *name)
{
	for (unsigned i = 0; i < c->nikev2_proposals; i++) {
		if (strcmp(c->ikev2_proposals[i].name, name) == 0) {
			memmove(&c->ikev2_proposals[i], &c->ikev2_proposals[i + 1],
				(c->nikev2_proposals - i - 1) * sizeof(c->ikev2_proposals[0]));
			c->nikev2_proposals--;
			return;
		}
	}
}

/* Rewrite the builtin entries for c->ikev2.defaults, keeping the ones the
 * operator removed removed. Builtins stay at the front of the arrays. */
void cfg_ikev2_defaults_set(struct config *c)
{
	static const char *const names[] = {"default", "default-cbc"};
	struct cfg_ikev2_proposal bp;
	struct cfg_ikev2_policy bpol;

	for (size_t i = 0; i < 2; i++) {
		struct cfg_ikev2_proposal *p = cfg_ikev2_proposal_get(c, names[i], false);
		bool want = builtin_proposal(c->ikev2.defaults, names[i], &bp) &&
			    !c->ikev2.no_default_proposal;

		if (p && p->builtin && !want)
			proposal_remove(c, names[i]);
		else if (p && p->builtin)
			*p = bp;
		else if (!p && want && config_array_grow((void **)&c->ikev2_proposals, &c->nikev2_proposals,
					    sizeof(bp))) {
			unsigned pos = (unsigned)i < c->nikev2_proposals - 1 ? (unsigned)i
									    : c->nikev2_proposals - 1;

			memmove(&c->ikev2_proposals[pos + 1], &c->ikev2_proposals[pos],
				(c->nikev2_proposals - 1 - pos) * sizeof(bp));
			c->ikev2_proposals[pos] = bp;
		}
	}
	builtin_policy(c->ikev2.defaults, &bpol);
	struct cfg_ikev2_policy *pol = cfg_ikev2_policy_get(c, "default", false);

	if (pol && pol->builtin)
		*pol = bpol;
	else if (!pol && !c->ikev2.no_default_policy &&
		 config_array_grow((void **)&c->ikev2_policies, &c->nikev2_policies, sizeof(bpol))) {
		memmove(&c->ikev2_policies[1], &c->ikev2_policies[0],
			(c->nikev2_policies - 1) * sizeof(bpol));
		c->ikev2_policies[0] = bpol;
	}
}

static bool proposal_eq(const struct cfg_ikev2_proposal *a, const struct cfg_ikev2_proposal *b)
{
	return strcmp(a->name, b->name) == 0 && a->nencr == b->nencr && a->ninteg == b->ninteg &&
	       a->nprf == b->nprf && a->ngroup == b->ngroup && a->prf_set == b->prf_set &&
	       a->aead == b->aead && a->builtin == b->builtin &&
	       memcmp(a->encr, b->encr, a->nencr * sizeof(a->encr[0])) == 0 &&
	       memcmp(a->encr_bits, b->encr_bits, a->nencr * sizeof(a->encr[0])) == 0 &&
	       memcmp(a->integ, b->integ, a->ninteg * sizeof(a->integ[0])) == 0 &&
	       memcmp(a->prf, b->prf, a->nprf * sizeof(a->prf[0])) == 0 &&
	       memcmp(a->group, b->group, a->ngroup * sizeof(a->group[0])) == 0;
}

static bool policy_eq(const struct cfg_ikev2_policy *a, const struct cfg_ikev2_policy *b)
{
	if (strcmp(a->name, b->name) || a->nproposals != b->nproposals || a->nlocal != b->nlocal ||
	    a->fvrf_any != b->fvrf_any || a->builtin != b->builtin)
		return false;
	for (unsigned i = 0; i < a->nproposals; i++)
		if (strcmp(a->proposals[i], b->proposals[i]) != 0)
			return false;
	for (unsigned i = 0; i < a->nlocal; i++)
		if (a->local[i].af != b->local[i].af || !ip_addr_eq(&a->local[i], &b->local[i]))
			return false;
	return true;
}

bool cfg_ikev2_proposal_is_pristine(const struct config *c, const struct cfg_ikev2_proposal *p)
{
	struct cfg_ikev2_proposal b;

	return p->builtin && builtin_proposal(c->ikev2.defaults, p->name, &b) && proposal_eq(p, &b);
}

bool cfg_ikev2_policy_is_pristine(const struct config *c, const struct cfg_ikev2_policy *p)
{
	struct cfg_ikev2_policy b;

	return p->builtin && builtin_policy(c->ikev2.defaults, &b) && policy_eq(p, &b);
}

/* IOS: "If prf is not configured, the integrity algorithm is used as prf"
 * (the PRF of the same hash, RFC 7296 section 3.3.2). */
void cfg_ikev2_prf_derive(struct cfg_ikev2_proposal *p)
{
	if (p->prf_set)
		return;
	p->nprf = 0;
	for (unsigned i = 0; i < p->ninteg; i++) {
		uint16_t prf = 0;

		switch (p->integ[i]) {
		case AUTH_HMAC_MD5_96: prf = PRF_HMAC_MD5; break;
		case AUTH_HMAC_SHA1_96: prf = PRF_HMAC_SHA1; break;
		case AUTH_AES_XCBC_96: prf = PRF_AES128_XCBC; break;
		case AUTH_AES_CMAC_96: prf = PRF_AES128_CMAC; break;
		case AUTH_HMAC_SHA2_256_128: prf = PRF_HMAC_SHA2_256; break;
		case AUTH_HMAC_SHA2_384_192: prf = PRF_HMAC_SHA2_384; break;
		case AUTH_HMAC_SHA2_512_256: prf = PRF_HMAC_SHA2_512; break;
		default: break;
		}
		if (prf)
			p->prf[p->nprf++] = prf;
	}
}

/* ---- get / create ---------------------------------------------------- */

#define FIND(arr, n, nm)                                                                           \
	do {                                                                                       \
		for (unsigned i_ = 0; i_ < (n); i_++)                                              \
			if (strcmp((arr)[i_].name, (nm)) == 0)                                     \
				return &(arr)[i_];                                                 \
	} while (0)

const struct cfg_ikev2_proposal *config_ikev2_proposal(const struct config *c, const char *name)
{
	FIND(c->ikev2_proposals, c->nikev2_proposals, name);
	return NULL;
}

const struct cfg_ikev2_policy *config_ikev2_policy(const struct config *c, const char *name)
{
	FIND(c->ikev2_policies, c->nikev2_policies, name);
	return NULL;
}

const struct cfg_ikev2_keyring *config_ikev2_keyring(const struct config *c, const char *name)
{
	FIND(c->ikev2_keyrings, c->nikev2_keyrings, name);
	return NULL;
}

const struct cfg_ikev2_profile *config_ikev2_profile(const struct config *c, const char *name)
{
	FIND(c->ikev2_profiles, c->nikev2_profiles, name);
	return NULL;
}

const struct cfg_ipsec_profile *config_ipsec_profile(const struct config *c, const char *name)
{
	FIND(c->ipsec_profiles, c->nipsec_profiles, name);
	return NULL;
}

#define GET(type, lookup, arr, n)                                                                  \
	do {                                                                                       \
		type *x_ = (type *)lookup(c, name);                                                \
		if (x_ || !create)                                                                 \
			return x_;                                                                 \
		x_ = config_array_grow((void **)&c->arr, &c->n, sizeof(*x_));                                   \
		if (x_)                                                                            \
			snprintf(x_->name, sizeof(x_->name), "%.63s", name);                       \
		return x_;                                                                         \
	} while (0)

struct cfg_ikev2_proposal *cfg_ikev2_proposal_get(struct config *c, const char *name, bool create)
{
	GET(struct cfg_ikev2_proposal, config_ikev2_proposal, ikev2_proposals, nikev2_proposals);
}

struct cfg_ikev2_policy *cfg_ikev2_policy_get(struct config *c, const char *name, bool create)
{
	GET(struct cfg_ikev2_policy, config_ikev2_policy, ikev2_policies, nikev2_policies);
}

struct cfg_ikev2_keyring *cfg_ikev2_keyring_get(struct config *c, const char *name, bool create)
{
	GET(struct cfg_ikev2_keyring, config_ikev2_keyring, ikev2_keyrings, nikev2_keyrings);
}

struct cfg_ikev2_profile *cfg_ikev2_profile_get(struct config *c, const char *name, bool create)
{
	struct cfg_ikev2_profile *p = (struct cfg_ikev2_profile *)config_ikev2_profile(c, name);

	if (p || !create)
		return p;
	p = config_array_grow((void **)&c->ikev2_profiles, &c->nikev2_profiles, sizeof(*p));
	if (p) {
		snprintf(p->name, sizeof(p->name), "%.63s", name);
		p->lifetime_s = CFG_IKEV2_DEF_LIFETIME;
	}
	return p;
}

struct cfg_ipsec_profile *cfg_ipsec_profile_get(struct config *c, const char *name, bool create)
{
	GET(struct cfg_ipsec_profile, config_ipsec_profile, ipsec_profiles, nipsec_profiles);
}

struct cfg_ikev2_peer *cfg_ikev2_peer_get(struct cfg_ikev2_keyring *k, const char *name,
					  bool create)
{
	struct cfg_ikev2_peer *p;

	for (unsigned i = 0; i < k->npeers; i++)
		if (strcmp(k->peers[i].name, name) == 0)
			return &k->peers[i];
	if (!create)
		return NULL;
	p = config_array_grow((void **)&k->peers, &k->npeers, sizeof(*p));
	if (p)
		snprintf(p->name, sizeof(p->name), "%.63s", name);
	return p;
}

int cfg_mode_parent(int mode)
{
	return mode == MODE_IKEV2_PEER ? MODE_IKEV2_KEYRING : -1;
}

/* ---- engine lookups -------------------------------------------------- */

static bool policy_has_local(const struct cfg_ikev2_policy *p, const struct ip_addr *a)
{
	for (unsigned i = 0; i < p->nlocal; i++)
		if (a && p->local[i].af == a->af && ip_addr_eq(&p->local[i], a))
			return true;
	return false;
}

const struct cfg_ikev2_policy *config_ikev2_policy_select(const struct config *c,
							   const struct ip_addr *local)
{
	const struct cfg_ikev2_policy *any = NULL, *def = NULL;

	for (unsigned i = 0; i < c->nikev2_policies; i++) {
		const struct cfg_ikev2_policy *p = &c->ikev2_policies[i];

		if (p->builtin && !def)
			def = p;
		else if (policy_has_local(p, local))
			return p;
		else if (!p->nlocal && !any)
			any = p;
	}
	return any ? any : def;
}

static bool id_eq(const struct cfg_ike_id *a, const struct cfg_ike_id *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == CFG_ID_ADDRESS)
		return a->addr.af == b->addr.af && ip_addr_eq(&a->addr, &b->addr);
	return strcmp(a->name, b->name) == 0;
}

const struct cfg_ikev2_peer *config_ikev2_keyring_peer(const struct cfg_ikev2_keyring *k,
							const struct ip_addr *addr,
							const struct cfg_ike_id *id)
{
	const struct cfg_ikev2_peer *best = NULL;

	for (unsigned i = 0; i < k->npeers; i++) {
		const struct cfg_ikev2_peer *p = &k->peers[i];

		if (!addr) {
			if (id && p->id.type && id_eq(&p->id, id))
				return p;
			continue;
		}
		if (p->addr.addr.af && ip_prefix_contains(&p->addr, addr) &&
		    (!best || p->addr.len > best->addr.len))
			best = p;
	}
	return best;
}

/* ---- free / dup / equal ---------------------------------------------- */

void cfg_ikev2_peer_clear(struct cfg_ikev2_peer *p)
{
	secret_free(p->psk_local);
	secret_free(p->psk_remote);
	p->psk_local = p->psk_remote = NULL;
}

void cfg_ikev2_keyring_clear(struct cfg_ikev2_keyring *k)
{
	for (unsigned i = 0; i < k->npeers; i++)
		cfg_ikev2_peer_clear(&k->peers[i]);
	free(k->peers);
	k->peers = NULL;
	k->npeers = 0;
}

void cfg_ikev2_profile_clear(struct cfg_ikev2_profile *p)
{
	secret_free(p->auth_local_psk);
	secret_free(p->auth_remote_psk);
	p->auth_local_psk = p->auth_remote_psk = NULL;
}

void cfg_ikev2_free(struct config *c)
{
	for (unsigned i = 0; i < c->nikev2_keyrings; i++)
		cfg_ikev2_keyring_clear(&c->ikev2_keyrings[i]);
	for (unsigned i = 0; i < c->nikev2_profiles; i++)
		cfg_ikev2_profile_clear(&c->ikev2_profiles[i]);
	free(c->ikev2_proposals);
	free(c->ikev2_policies);
	free(c->ikev2_keyrings);
	free(c->ikev2_profiles);
	free(c->ipsec_profiles);
	secret_free(c->master_key);
	c->master_key = NULL;
}

static bool sec_dup(struct secret **s)
{
	struct secret *o = *s;

	*s = o ? secret_dup(o) : NULL;
	return !o || *s;
}

/* d is a shallow copy of c: replace every owned pointer with a copy. On
 * failure d is left freeable (counts match what d owns). */
bool cfg_ikev2_dup(struct config *d, const struct config *c)
{
	bool ok = true;

	d->ikev2_proposals = config_mem_dup(c->ikev2_proposals,
				     c->nikev2_proposals * sizeof(*c->ikev2_proposals));
	d->ikev2_policies = config_mem_dup(c->ikev2_policies,
				    c->nikev2_policies * sizeof(*c->ikev2_policies));
	d->ikev2_keyrings = config_mem_dup(c->ikev2_keyrings,
				    c->nikev2_keyrings * sizeof(*c->ikev2_keyrings));
	d->ikev2_profiles = config_mem_dup(c->ikev2_profiles,
				    c->nikev2_profiles * sizeof(*c->ikev2_profiles));
	d->ipsec_profiles = config_mem_dup(c->ipsec_profiles,
				    c->nipsec_profiles * sizeof(*c->ipsec_profiles));
	d->nikev2_proposals = d->ikev2_proposals ? d->nikev2_proposals : 0;
	d->nikev2_policies = d->ikev2_policies ? d->nikev2_policies : 0;
	d->nikev2_keyrings = d->ikev2_keyrings ? d->nikev2_keyrings : 0;
	d->nikev2_profiles = d->ikev2_profiles ? d->nikev2_profiles : 0;
	d->nipsec_profiles = d->ipsec_profiles ? d->nipsec_profiles : 0;
	ok = d->nikev2_proposals == c->nikev2_proposals &&
	     d->nikev2_policies == c->nikev2_policies &&
	     d->nikev2_keyrings == c->nikev2_keyrings &&
	     d->nikev2_profiles == c->nikev2_profiles && d->nipsec_profiles == c->nipsec_profiles;
	for (unsigned i = 0; i < d->nikev2_keyrings; i++) {
		struct cfg_ikev2_keyring *k = &d->ikev2_keyrings[i];

		k->peers = config_mem_dup(k->peers, k->npeers * sizeof(*k->peers));
		if (!k->peers) {
			ok = ok && k->npeers == 0;
			k->npeers = 0;
		}
		for (unsigned j = 0; j < k->npeers; j++) {
			ok = sec_dup(&k->peers[j].psk_local) && ok;
			ok = sec_dup(&k->peers[j].psk_remote) && ok;
		}
	}
	for (unsigned i = 0; i < d->nikev2_profiles; i++) {
		ok = sec_dup(&d->ikev2_profiles[i].auth_local_psk) && ok;
		ok = sec_dup(&d->ikev2_profiles[i].auth_remote_psk) && ok;
	}
	return sec_dup(&d->master_key) && ok;
}

static bool secret_same(const struct secret *a, const struct secret *b)
{
	if (!a || !b)
		return a == b;
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static bool prefix_same(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->len == b->len && a->addr.af == b->addr.af && ip_addr_eq(&a->addr, &b->addr);
}

static bool peer_eq(const struct cfg_ikev2_peer *a, const struct cfg_ikev2_peer *b)
{
	return strcmp(a->name, b->name) == 0 && prefix_same(&a->addr, &b->addr) &&
	       a->addr_masked == b->addr_masked && id_eq(&a->id, &b->id) &&
	       secret_same(a->psk_local, b->psk_local) && secret_same(a->psk_remote, b->psk_remote);
}

static bool keyring_eq(const struct cfg_ikev2_keyring *a, const struct cfg_ikev2_keyring *b)
{
	if (strcmp(a->name, b->name) || a->npeers != b->npeers)
		return false;
	for (unsigned i = 0; i < a->npeers; i++)
		if (!peer_eq(&a->peers[i], &b->peers[i]))
			return false;
	return true;
}

static bool match_eq(const struct cfg_ikev2_match_id *a, const struct cfg_ikev2_match_id *b)
{
	return a->type == b->type && a->domain == b->domain && prefix_same(&a->addr, &b->addr) &&
	       a->addr_masked == b->addr_masked && strcmp(a->name, b->name) == 0;
}

static bool dpd_eq(const struct cfg_dpd *a, const struct cfg_dpd *b)
{
	return a->interval == b->interval && a->retry == b->retry && a->mode == b->mode &&
	       a->action == b->action;
}

static bool profile_eq(const struct cfg_ikev2_profile *a, const struct cfg_ikev2_profile *b)
{
	if (strcmp(a->name, b->name) || a->nmatch != b->nmatch || a->nlocal != b->nlocal)
		return false;
	for (unsigned i = 0; i < a->nmatch; i++)
		if (!match_eq(&a->match[i], &b->match[i]))
			return false;
	for (unsigned i = 0; i < a->nlocal; i++)
		if (a->local[i].af != b->local[i].af || !ip_addr_eq(&a->local[i], &b->local[i]))
			return false;
	return strcmp(a->match_cert, b->match_cert) == 0 && id_eq(&a->local_id, &b->local_id) &&
	       a->auth_local == b->auth_local && a->auth_remote == b->auth_remote &&
	       secret_same(a->auth_local_psk, b->auth_local_psk) &&
	       secret_same(a->auth_remote_psk, b->auth_remote_psk) &&
	       strcmp(a->keyring, b->keyring) == 0 && strcmp(a->trustpoint, b->trustpoint) == 0 &&
	       dpd_eq(&a->dpd, &b->dpd) && a->lifetime_s == b->lifetime_s &&
	       a->nat_keepalive == b->nat_keepalive && a->frag_mtu == b->frag_mtu;
}

static bool ipsec_profile_eq(const struct cfg_ipsec_profile *a, const struct cfg_ipsec_profile *b)
{
	return strcmp(a->name, b->name) == 0 && cfg_ts_list_eq(&a->ts, &b->ts) &&
	       strcmp(a->ikev2_profile, b->ikev2_profile) == 0 &&
	       strcmp(a->isakmp_profile, b->isakmp_profile) == 0 && a->pfs_group == b->pfs_group &&
	       a->lifetime_s == b->lifetime_s && a->lifetime_kb == b->lifetime_kb;
}

static bool global_eq(const struct cfg_ikev2_global *a, const struct cfg_ikev2_global *b)
{
	return a->cookie_challenge == b->cookie_challenge && dpd_eq(&a->dpd, &b->dpd) &&
	       a->nat_keepalive == b->nat_keepalive && a->fragmentation == b->fragmentation &&
	       a->frag_mtu == b->frag_mtu && a->max_in_negotiation == b->max_in_negotiation &&
	       a->defaults == b->defaults && a->no_default_proposal == b->no_default_proposal &&
	       a->no_default_policy == b->no_default_policy;
}

/* Named objects compare by name: the builtins may sit anywhere after a
 * `no ... default` and a re-creation. User policies keep their order
 * (config_ikev2_policy_select depends on it). */
#define SAME_SET(na, nb, arr_a, lookup, eq)                                                        \
	do {                                                                                       \
		if ((na) != (nb))                                                                  \
			return false;                                                              \
		for (unsigned i_ = 0; i_ < (na); i_++) {                                           \
			const __typeof__((arr_a)[0]) *o_ = lookup(b, (arr_a)[i_].name);            \
			if (!o_ || !eq(&(arr_a)[i_], o_))                                          \
				return false;                                                      \
		}                                                                                  \
	} while (0)

bool cfg_ikev2_equal(const struct config *a, const struct config *b)
{
	unsigned ia = 0, ib = 0;

	if (!global_eq(&a->ikev2, &b->ikev2) || a->password_encryption != b->password_encryption ||
	    !secret_same(a->master_key, b->master_key))
		return false;
	SAME_SET(a->nikev2_proposals, b->nikev2_proposals, a->ikev2_proposals,
		 config_ikev2_proposal, proposal_eq);
	SAME_SET(a->nikev2_policies, b->nikev2_policies, a->ikev2_policies, config_ikev2_policy,
		 policy_eq);
	SAME_SET(a->nikev2_keyrings, b->nikev2_keyrings, a->ikev2_keyrings, config_ikev2_keyring,
		 keyring_eq);
	SAME_SET(a->nikev2_profiles, b->nikev2_profiles, a->ikev2_profiles, config_ikev2_profile,
		 profile_eq);
	SAME_SET(a->nipsec_profiles, b->nipsec_profiles, a->ipsec_profiles, config_ipsec_profile,
		 ipsec_profile_eq);
	for (;;) {
		while (ia < a->nikev2_policies && a->ikev2_policies[ia].builtin)
			ia++;
		while (ib < b->nikev2_policies && b->ikev2_policies[ib].builtin)
			ib++;
		if (ia == a->nikev2_policies || ib == b->nikev2_policies)
			return ia == a->nikev2_policies && ib == b->nikev2_policies;
		if (strcmp(a->ikev2_policies[ia++].name, b->ikev2_policies[ib++].name) != 0)
			return false;
	}
}
