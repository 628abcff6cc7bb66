/* IKEv2 proposals (RFC 7296 2.7, 3.3): building our offers, choosing
 * from a peer's offers by LOCAL order of preference, checking an answer. */
#include <stdio.h>
#include <string.h>

#include "crypto/alg.h"
#include "crypto/dh.h"
#include "ikev2/engine.h"
#include "lib/log.h"

/* Our candidates of one proposal, in preference order per type. */
struct want {
	uint8_t n;
	struct ikev2_transform xf[5 * IKE_XF_MAX];
};

static void want_add(struct want *w, uint8_t type, uint16_t id, uint16_t bits)
{
	if (w->n < sizeof(w->xf) / sizeof(w->xf[0]))
		w->xf[w->n++] = (struct ikev2_transform){.type = type, .id = id, .key_bits = bits};
}

static void want_ike(struct want *w, const struct ike_proposal *p)
{
	w->n = 0;
	for (uint8_t i = 0; i < p->n_encr; i++)
		want_add(w, IKEV2_TRANS_ENCR, p->encr[i], p->encr_bits[i]);
	for (uint8_t i = 0; i < p->n_prf; i++)
		want_add(w, IKEV2_TRANS_PRF, p->prf[i], 0);
	for (uint8_t i = 0; i < p->n_integ; i++)
		want_add(w, IKEV2_TRANS_INTEG, p->integ[i], 0);
	for (uint8_t i = 0; i < p->n_dh; i++)
		want_add(w, IKEV2_TRANS_DH, p->dh[i], 0);
}

static void want_child(struct want *w, const struct ike_child_proposal *p,
		       const struct ike_child_cfg *cc, uint16_t pfs)
{
	w->n = 0;
	for (uint8_t i = 0; i < p->n_encr; i++)
		want_add(w, IKEV2_TRANS_ENCR, p->encr[i], p->encr_bits[i]);
	for (uint8_t i = 0; i < p->n_integ; i++)
		want_add(w, IKEV2_TRANS_INTEG, p->integ[i], 0);
	if (pfs)
		want_add(w, IKEV2_TRANS_DH, pfs, 0);
	/* 3.3.2: ESN is always a transform of ESP/AH proposals */
	if (cc->esn)
		want_add(w, IKEV2_TRANS_ESN, IKEV2_ESN_YES, 0);
	want_add(w, IKEV2_TRANS_ESN, IKEV2_ESN_NO, 0);
}

static void prop_out(struct v2_out *o, struct ikev2_proposal *pr, const struct want *w)
{
	size_t room = sizeof(o->xf) / sizeof(o->xf[0]) - o->n_xf;

	if (w->n > room) {
		o->failed = true;
		return;
	}
	pr->xf = &o->xf[o->n_xf];
	pr->n_xf = w->n;
	memcpy(pr->xf, w->xf, w->n * sizeof(w->xf[0]));
	o->n_xf += w->n;
}

static struct ikev2_proposal *prop_new(struct v2_out *o, struct ikev2_pl *pl)
{
	struct ikev2_proposal *pr;

	if (o->n_prop >= sizeof(o->props) / sizeof(o->props[0])) {
		o->failed = true;
		return &o->props[0];
	}
	pr = &o->props[o->n_prop++];
	memset(pr, 0, sizeof(*pr));
	if (!pl->u.sa.prop)
		pl->u.sa.prop = pr;
	pl->u.sa.n_prop++;
	pr->num = pl->u.sa.n_prop; /* 3.3.1: numbered from 1 */
	return pr;
}

void v2_ike_props_out(struct v2_out *o, const struct ike_conn *c, const uint8_t *spi,
		      uint8_t spi_len)
{
	struct ikev2_pl *pl = v2_out_add(o, IKEV2_PL_SA);
	struct want w;

	for (uint8_t i = 0; i < c->n_ike_props; i++) {
		struct ikev2_proposal *pr = prop_new(o, pl);

		pr->proto = IKEV2_PROTO_IKE;
		pr->spi_len = spi_len;
		if (spi_len)
			memcpy(pr->spi, spi, spi_len);
		want_ike(&w, &c->ike_props[i]);
		prop_out(o, pr, &w);
	}
}

void v2_child_props_out(struct v2_out *o, const struct ike_child_cfg *cc, uint32_t spi,
			uint16_t pfs)
{
	struct ikev2_pl *pl = v2_out_add(o, IKEV2_PL_SA);
	struct want w;

	for (uint8_t i = 0; i < cc->n_props; i++) {
		struct ikev2_proposal *pr = prop_new(o, pl);

		pr->proto = cc->props[i].proto == IPSEC_PROTO_AH ? IKEV2_PROTO_AH : IKEV2_PROTO_ESP;
		pr->spi_len = 4;
		put_be32(pr->spi, spi);
		want_child(&w, &cc->props[i], cc, pfs);
		prop_out(o, pr, &w);
	}
}

const struct ikev2_transform *v2_xf_get(const struct ikev2_proposal *p, uint8_t type)
{
	for (uint8_t i = 0; i < p->n_xf; i++)
		if (p->xf[i].type == type)
			return &p->xf[i];
	return NULL;
}

static bool peer_has(const struct ikev2_proposal *p, const struct ikev2_transform *x)
{
	for (uint8_t i = 0; i < p->n_xf; i++)
		if (p->xf[i].type == x->type && p->xf[i].id == x->id &&
		    p->xf[i].key_bits == x->key_bits)
			return true;
	return false;
}

static bool want_has_type(const struct want *w, uint8_t type)
{
	for (uint8_t i = 0; i < w->n; i++)
		if (w->xf[i].type == type)
			return true;
	return false;
}

/* One transform per type that we want, the first in OUR order that the
 * peer offers (2.7). `prefer` (the KE group) wins among DH groups if both
 * sides allow it, which saves an INVALID_KE_PAYLOAD round trip. Types the
 * peer offers and we do not want must allow NONE (DH 0 in IKE_AUTH, 1.2). */
static bool match(const struct want *w, const struct ikev2_proposal *p, uint16_t prefer,
		  struct ikev2_transform *out, uint8_t *n_out)
{
	static const uint8_t types[] = {IKEV2_TRANS_ENCR, IKEV2_TRANS_PRF, IKEV2_TRANS_INTEG,
					IKEV2_TRANS_DH, IKEV2_TRANS_ESN};

	*n_out = 0;
	for (size_t t = 0; t < sizeof(types); t++) {
		const struct ikev2_transform *pick = NULL;

		if (!want_has_type(w, types[t])) {
			const struct ikev2_transform *x = v2_xf_get(p, types[t]);
			struct ikev2_transform none = {.type = types[t], .id = 0};

			if (x && !peer_has(p, &none))
				return false;
			continue;
		}
		for (uint8_t i = 0; i < w->n; i++) {
			if (w->xf[i].type != types[t] || !peer_has(p, &w->xf[i]))
				continue;
			if (!pick || (types[t] == IKEV2_TRANS_DH && w->xf[i].id == prefer))
				pick = &w->xf[i];
		}
		if (!pick)
			return false;
		out[(*n_out)++] = *pick;
	}
	return true;
}

const char *v2_xf_name(const struct ikev2_transform *x, char *buf, size_t len)
{
	const char *n = NULL;

	switch (x->type) {
	case IKEV2_TRANS_ENCR: {
		const struct encr_alg *a = encr_alg_find(x->id);
		n = a ? a->name : NULL;
		break;
	}
	case IKEV2_TRANS_PRF: {
		const struct prf_alg *a = prf_alg_find(x->id);
		n = a ? a->name : NULL;
		break;
	}
	case IKEV2_TRANS_INTEG: {
		const struct integ_alg *a = integ_alg_find(x->id);
		n = a ? a->name : NULL;
		break;
	}
	case IKEV2_TRANS_DH:
		n = x->id ? dh_group_name(x->id) : "none";
		break;
	case IKEV2_TRANS_ESN:
		n = x->id ? "esn" : "no-esn";
		break;
	}
	if (n && x->key_bits)
		snprintf(buf, len, "%s-%u", n, x->key_bits);
	else if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "type%u:%u", x->type, x->id);
	return buf;
}

void v2_prop_log(const char *who, const struct ikev2_proposal *p)
{
	char line[512], nb[48];
	size_t o = 0;

	for (uint8_t i = 0; i < p->n_xf && o < sizeof(line); i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s", i ? "/" : "",
				      v2_xf_name(&p->xf[i], nb, sizeof(nb)));
	if (!p->n_xf)
		line[0] = '\0';
	log_notice("ikev2:   %s proposal %u (proto %u): %s", who, p->num, p->proto, line);
}

static void log_want(const char *who, unsigned num, uint8_t proto, const struct want *w)
{
	struct ikev2_proposal p = {.num = (uint8_t)num, .proto = proto, .n_xf = w->n,
				   .xf = (struct ikev2_transform *)(uintptr_t)w->xf};

	v2_prop_log(who, &p);
}

static bool select_from(const struct want *wants, unsigned n_wants, uint8_t proto,
			const struct ikev2_sa *peer, uint16_t prefer,
			struct ikev2_proposal *chosen, struct ikev2_transform *xf)
{
	for (unsigned i = 0; i < n_wants; i++)
		for (uint8_t k = 0; k < peer->n_prop; k++) {
			const struct ikev2_proposal *p = &peer->prop[k];
			uint8_t n;

			if (p->proto != proto && !(proto == IKEV2_PROTO_ESP &&
						   p->proto == IKEV2_PROTO_AH))
				continue;
			if (!match(&wants[i], p, prefer, xf, &n))
				continue;
			*chosen = *p;
			chosen->xf = xf;
			chosen->n_xf = n;
			return true;
		}
	return false;
}

static const char *type_name(uint8_t type)
{
	switch (type) {
	case IKEV2_TRANS_ENCR: return "encryption";
	case IKEV2_TRANS_PRF: return "PRF";
	case IKEV2_TRANS_INTEG: return "integrity";
	case IKEV2_TRANS_DH: return "DH group";
	case IKEV2_TRANS_ESN: return "ESN";
	}
	return "transform";
}

/* Why `w` does not fit the peer's proposal `p` (the first type that
 * fails, in the order match() tries them). */
static void why_not(const struct want *w, uint8_t proto, const struct ikev2_proposal *p,
		    char *buf, size_t len)
{
	static const uint8_t types[] = {IKEV2_TRANS_ENCR, IKEV2_TRANS_PRF, IKEV2_TRANS_INTEG,
					IKEV2_TRANS_DH, IKEV2_TRANS_ESN};
	struct ikev2_transform none = {.id = 0};

	if (p->proto != proto) {
		snprintf(buf, len, "other protocol (%u, ours %u)", p->proto, proto);
		return;
	}
	for (size_t t = 0; t < sizeof(types); t++) {
		bool any = false;

		none.type = types[t];
		if (!want_has_type(w, types[t])) {
			if (v2_xf_get(p, types[t]) && !peer_has(p, &none)) {
				snprintf(buf, len, "the peer requires %s, we use none",
					 type_name(types[t]));
				return;
			}
			continue;
		}
		for (uint8_t i = 0; i < w->n && !any; i++)
			any = w->xf[i].type == types[t] && peer_has(p, &w->xf[i]);
		if (!any) {
			snprintf(buf, len, "no common %s", type_name(types[t]));
			return;
		}
	}
	snprintf(buf, len, "SPI size %u, not 4", p->spi_len);
}

/* Each proposal of the peer and each of ours transform by transform, then
 * for each pair the first transform type without a common choice. */
static void log_no_proposal(const char *conn, const struct want *wants, const uint8_t *protos,
			    unsigned n, const struct ikev2_sa *peer)
{
	char why[96];

	log_notice("ikev2 %s: NO_PROPOSAL_CHOSEN: peer offered %u proposals, we accept %u",
		   conn, peer->n_prop, n);
	for (uint8_t k = 0; k < peer->n_prop; k++)
		v2_prop_log("peer", &peer->prop[k]);
	for (unsigned i = 0; i < n; i++)
		log_want("local", i + 1, protos[i], &wants[i]);
	for (uint8_t k = 0; k < peer->n_prop; k++)
		for (unsigned i = 0; i < n; i++) {
			why_not(&wants[i], protos[i], &peer->prop[k], why, sizeof(why));
			log_notice("ikev2:   peer proposal %u vs local proposal %u: %s",
				   peer->prop[k].num, i + 1, why);
		}
}

/* What we offer, one line per proposal as in a NO_PROPOSAL_CHOSEN log:
 * the initiator's half of a refusal (it never sees the peer's list). */
void v2_local_props_log(const struct ike_conn *c, bool child, uint16_t pfs)
{
	struct want w;

	if (!child) {
		for (uint8_t i = 0; i < c->n_ike_props; i++) {
			want_ike(&w, &c->ike_props[i]);
			log_want("local", i + 1, IKEV2_PROTO_IKE, &w);
		}
		return;
	}
	for (uint8_t i = 0; i < c->child.n_props; i++) {
		want_child(&w, &c->child.props[i], &c->child, pfs);
		log_want("local", i + 1,
			 c->child.props[i].proto == IPSEC_PROTO_AH ? IKEV2_PROTO_AH : IKEV2_PROTO_ESP,
			 &w);
	}
}

bool v2_ike_prop_select(const struct ike_conn *c, const struct ikev2_sa *peer,
			uint16_t ke_group, struct ikev2_proposal *chosen,
			struct ikev2_transform *xf)
{
	struct want wants[IKE_MAX_PROPOSALS];
	uint8_t protos[IKE_MAX_PROPOSALS];

	for (uint8_t i = 0; i < c->n_ike_props; i++) {
		want_ike(&wants[i], &c->ike_props[i]);
		protos[i] = IKEV2_PROTO_IKE;
	}
	if (select_from(wants, c->n_ike_props, IKEV2_PROTO_IKE, peer, ke_group, chosen, xf))
		return true;
	log_no_proposal(c->name, wants, protos, c->n_ike_props, peer);
	return false;
}

bool v2_child_prop_select(const struct ike_conn *c, const struct ikev2_sa *peer, uint16_t pfs,
			  uint16_t ke_group, struct ikev2_proposal *chosen,
			  struct ikev2_transform *xf)
{
	struct want wants[IKE_MAX_PROPOSALS];
	uint8_t protos[IKE_MAX_PROPOSALS];

	for (uint8_t i = 0; i < c->child.n_props; i++) {
		want_child(&wants[i], &c->child.props[i], &c->child, pfs);
		protos[i] = c->child.props[i].proto == IPSEC_PROTO_AH ? IKEV2_PROTO_AH
								      : IKEV2_PROTO_ESP;
	}
	for (uint8_t i = 0; i < c->child.n_props; i++) {
		uint8_t proto = protos[i];

		for (uint8_t k = 0; k < peer->n_prop; k++) {
			const struct ikev2_proposal *p = &peer->prop[k];
			uint8_t n;

			if (p->proto != proto || p->spi_len != 4 ||
			    !match(&wants[i], p, ke_group, xf, &n))
				continue;
			*chosen = *p;
			chosen->xf = xf;
			chosen->n_xf = n;
			return true;
		}
	}
	log_no_proposal(c->name, wants, protos, c->child.n_props, peer);
	return false;
}

/* The answer has exactly one proposal with one transform of each type,
 * and each is something we offered in that proposal (3.3.6: "the
 * responder MUST accept a single proposal"). */
static bool answer_ok(const struct want *wants, unsigned n, const struct ikev2_sa *resp)
{
	const struct ikev2_proposal *p;

	if (resp->n_prop != 1)
		return false;
	p = &resp->prop[0];
	for (unsigned i = 0; i < n; i++) {
		struct ikev2_transform xf[8];
		uint8_t k;
		bool dup = false;

		if (!match(&wants[i], p, 0, xf, &k) || k != p->n_xf)
			continue;
		for (uint8_t a = 0; a < p->n_xf; a++)
			for (uint8_t b = (uint8_t)(a + 1); b < p->n_xf; b++)
				dup |= p->xf[a].type == p->xf[b].type;
		if (!dup)
			return true;
	}
	return false;
}

bool v2_ike_prop_accept(const struct ike_conn *c, const struct ikev2_sa *resp)
{
	struct want wants[IKE_MAX_PROPOSALS];

	for (uint8_t i = 0; i < c->n_ike_props; i++)
		want_ike(&wants[i], &c->ike_props[i]);
	return resp->n_prop == 1 && resp->prop[0].proto == IKEV2_PROTO_IKE &&
	       answer_ok(wants, c->n_ike_props, resp);
}

bool v2_child_prop_accept(const struct ike_conn *c, const struct ikev2_sa *resp, uint16_t pfs)
{
	struct want wants[IKE_MAX_PROPOSALS];

	for (uint8_t i = 0; i < c->child.n_props; i++)
		want_child(&wants[i], &c->child.props[i], &c->child, pfs);
	return resp->n_prop == 1 && resp->prop[0].spi_len == 4 &&
	       answer_ok(wants, c->child.n_props, resp);
}
