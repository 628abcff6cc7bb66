/* Child SAs (RFC 7296 1.3, 2.9, 2.17, 2.8): negotiation as initiator and
 * responder, KEYMAT, installing both directions through env.sa_install,
 * CREATE_CHILD_SA for new and rekeyed Child SAs:
 *
 *   HDR, SK { SA, Ni, [KEi], TSi, TSr, [N(REKEY_SA)] }  -->
 *                         <--  HDR, SK { SA, Nr, [KEr], TSi, TSr }
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/alg.h"
#include "crypto/dh.h"
#include "ikev2/engine.h"
#include "lib/log.h"

#define NONCE_LEN 32
#define IPCOMP_DEFLATE 2 /* RFC 7296 3.10.1 IPCOMP_SUPPORTED transform ID */

/* The entry of the child request in flight (a rekey keeps the old one's). */
static struct ike_conn *rconn(const struct v2_sa *sa)
{
	return sa->creq.conn ? sa->creq.conn : sa->conn;
}

/* A child that was never installed (v2_child_remove frees installed ones). */
static void child_discard(struct v2_child *ch)
{
	v2_conn_drop(ch->conn);
	free(ch);
}

/* Is v the inbound SPI (the CPI when comp) of a child of ours, installed
 * or offered in a pending request, or of an inbound SA in the data plane
 * (which still holds the retiring ones)? Inbound SAs are found by SPI
 * and protocol alone (RFC 4301 4.1), so a second one would not install. */
static bool spi_taken(struct ikev2 *e, uint32_t v, bool comp)
{
	const struct ike_env *env = &e->env;

	for (const struct v2_sa *s = e->all; s; s = s->all_next) {
		if (v == (comp ? s->creq.cpi_in : s->creq.spi_in))
			return true;
		for (const struct v2_child *ch = s->children; ch; ch = ch->next)
			if (v == (comp ? ch->cpi_in : ch->spi_in))
				return true;
	}
	if (!env->spi_in_use)
		return false;
	if (comp)
		return env->spi_in_use(env->ctx, v, IPSEC_PROTO_COMP);
	return env->spi_in_use(env->ctx, v, IPSEC_PROTO_ESP) ||
	       env->spi_in_use(env->ctx, v, IPSEC_PROTO_AH);
}

/* Tries before giving up: only a broken random source or a full SPI space
 * repeats a taken value this often. */
#define SPI_TRIES 64

static int child_spi(struct v2_sa *sa, uint32_t *spi)
{
	uint8_t b[4];

	for (int i = 0; i < SPI_TRIES; i++) {
		if (v2_random(sa->eng, b, 4))
			return -1;
		uint32_t v = get_be32(b); /* *spi may be the pending request's */
		/* 0..255 are reserved (RFC 4303 2.1) */
		if (v >= 256 && !spi_taken(sa->eng, v, false)) {
			*spi = v;
			return 0;
		}
	}
	log_warn("ikev2 %s: no free inbound SPI after %d random draws", sa->conn->name,
		 SPI_TRIES);
	return -1;
}

static int child_cpi(struct v2_sa *sa, uint16_t *cpi)
{
	uint8_t b[2];

	for (int i = 0; i < SPI_TRIES; i++) {
		if (v2_random(sa->eng, b, 2))
			return -1;
		uint16_t v = get_be16(b);
		/* RFC 3173 3.3: negotiated CPIs are 256..61439 */
		if (v >= 256 && v <= 61439 && !spi_taken(sa->eng, v, true)) {
			*cpi = v;
			return 0;
		}
	}
	log_warn("ikev2 %s: no free IPComp CPI after %d random draws", sa->conn->name,
		 SPI_TRIES);
	return -1;
}

struct v2_child *v2_child_by_in(struct v2_sa *sa, uint32_t spi_in)
{
	for (struct v2_child *ch = sa->children; ch; ch = ch->next)
		if (ch->spi_in == spi_in)
			return ch;
	return NULL;
}

struct v2_child *v2_child_by_out(struct v2_sa *sa, uint32_t spi_out)
{
	for (struct v2_child *ch = sa->children; ch; ch = ch->next)
		if (ch->spi_out == spi_out)
			return ch;
	return NULL;
}

static void ipcomp_notify(struct v2_out *o, uint16_t cpi)
{
	uint8_t d[3] = {(uint8_t)(cpi >> 8), (uint8_t)cpi, IPCOMP_DEFLATE};

	v2_out_notify(o, IKEV2_N_IPCOMP_SUPPORTED, 0, NULL, 0, d, 3);
}

/* 1.3.1 / 2.22 notifies the initiator adds to a child request. */
static void child_notifies(struct v2_sa *sa, struct v2_out *o, uint16_t cpi)
{
	if (rconn(sa)->child.mode == IPSEC_MODE_TRANSPORT)
		v2_out_notify(o, IKEV2_N_USE_TRANSPORT_MODE, 0, NULL, 0, NULL, 0);
	if (cpi)
		ipcomp_notify(o, cpi);
}

/* 2.9: "if the initiator has requested the SA due to a data packet, the
 * initiator SHOULD include as the first Traffic Selector in each of TSi
 * and TSr a very specific Traffic Selector including the addresses in the
 * packet triggering the request": a responder whose policy is narrower
 * than ours then picks the part that carries this packet. Only inside our
 * own selectors, and only once: a rekey keeps the SA's selectors. */
static void trigger_first(struct v2_sa *sa, struct ts_list *sel, bool per_host)
{
	char buf[TS_STRLEN];
	struct ts t;

	if (!sa->have_trigger)
		return;
	sa->have_trigger = false;
	for (unsigned k = 0; k < sel->n; k++) {
		if (!ts_match(&sel->ts[k], &sa->trigger))
			continue;
		if (per_host) { /* IOS "level per-host": this host pair alone */
			v2_ts_of_flow(&sel->ts[k], &sa->trigger, false, &t);
			sel->ts[0] = t;
			sel->n = 1;
			log_debug("ikev2 %s: per-host: proposing %s", rconn(sa)->name,
				  ts_str(&t, buf, sizeof(buf)));
			return;
		}
		if (sel->n >= TS_LIST_MAX)
			return;
		v2_ts_of_flow(&sel->ts[k], &sa->trigger, true, &t);
		memmove(sel->ts + 1, sel->ts, sel->n * sizeof(sel->ts[0]));
		sel->ts[0] = t;
		sel->n++;
		log_debug("ikev2 %s: the triggering packet's selector first: %s", rconn(sa)->name,
			  ts_str(&t, buf, sizeof(buf)));
		return;
	}
}

int v2_child_req_out(struct v2_sa *sa, struct v2_out *o, uint16_t pfs)
{
	struct v2_child_req *r = &sa->creq;
	const struct ike_child_cfg *cc = &rconn(sa)->child;

	if (!cc->n_props || !cc->sel.n)
		return 0; /* childless (RFC 6023 style): nothing to add */
	if (child_spi(sa, &r->spi_in) || (cc->ipcomp && child_cpi(sa, &r->cpi_in)))
		return -1;
	if (!cc->ipcomp)
		r->cpi_in = 0;
	if (!r->rekey_spi) {
		r->sel = cc->sel;
		trigger_first(sa, &r->sel, cc->per_host);
	}
	v2_child_props_out(o, cc, r->spi_in, pfs);
	v2_ts_out(o, &r->sel, false);
	child_notifies(sa, o, r->cpi_in);
	return 0;
}

/* ---- install ---- */

static void params_common(struct v2_sa *sa, struct v2_child *ch, struct sa_params *p)
{
	const struct ike_conn *c = v2_child_entry(sa, ch);
	const struct ike_child_cfg *cc = &c->child;

	memset(p, 0, sizeof(*p));
	p->proto = ch->proto;
	p->mode = ch->mode;
	p->encr_id = ch->algs.encr;
	p->encr_key_bits = ch->algs.encr_bits;
	p->integ_id = ch->algs.integ;
	p->esn = ch->esn;
	p->replay_window = cc->replay_window ? cc->replay_window : 64;
	/* time lifetimes are run by the engine (with jitter); the data plane
	 * gets the hard limits as a backstop and the byte limits */
	p->hard_seconds = cc->hard_seconds;
	p->soft_bytes = cc->soft_kbytes * 1024;
	p->hard_bytes = cc->hard_kbytes * 1024;
	p->reqid = cc->reqid;
	p->sel = ch->sel;
	snprintf(p->name, sizeof(p->name), "%s", c->name);
	if (sa->nat_local || sa->nat_remote) { /* RFC 3948 UDP encapsulation */
		p->encap_sport = sa->lport;
		p->encap_dport = sa->rport;
	}
}

static void dir_in(struct v2_sa *sa, struct sa_params *p, uint32_t spi)
{
	uint16_t sp = p->encap_sport;

	p->dir = SA_DIR_IN;
	p->spi = spi;
	p->src = sa->remote;
	p->dst = sa->local;
	p->encap_sport = p->encap_dport;
	p->encap_dport = sp;
}

/* A responder's replacement SA waits for the initiator (2.8): the
 * initiator reads the new SA only once it has processed our answer, so we
 * send on the old one until its DELETE arrives (v2_child_retire). */
static bool out_standby(const struct v2_sa *sa, const struct v2_child *ch)
{
	return ch->rekey_of && !ch->exch_init && sa->eng->env.sa_activate;
}

static void dir_out(struct v2_sa *sa, struct v2_child *ch, struct sa_params *p, uint32_t spi)
{
	p->dir = SA_DIR_OUT;
	p->spi = spi;
	p->src = sa->local;
	p->dst = sa->remote;
	p->standby = out_standby(sa, ch);
}

static int install_comp(struct v2_sa *sa, struct v2_child *ch)
{
	struct sa_params p;
	struct ikev2 *e = sa->eng;

	params_common(sa, ch, &p);
	p.proto = IPSEC_PROTO_COMP;
	p.encr_id = p.integ_id = 0;
	p.encr_key_bits = 0;
	p.replay_window = 0;
	p.esn = false;
	dir_in(sa, &p, ch->cpi_in);
	if (e->env.sa_install(e->env.ctx, &p))
		return -1;
	params_common(sa, ch, &p);
	p.proto = IPSEC_PROTO_COMP;
	p.encr_id = p.integ_id = 0;
	p.encr_key_bits = 0;
	p.replay_window = 0;
	p.esn = false;
	dir_out(sa, ch, &p, ch->cpi_out);
	return e->env.sa_install(e->env.ctx, &p);
}

static void set_timers(struct v2_sa *sa, struct v2_child *ch)
{
	const struct ike_child_cfg *cc = &v2_child_entry(sa, ch)->child;
	uint64_t now = v2_now(sa->eng);
	uint8_t r = 0;

	ch->soft_at = ch->hard_at = 0;
	if (cc->soft_seconds) {
		uint64_t soft = (uint64_t)cc->soft_seconds * 1000;

		/* jitter (up to 10% earlier) so both ends do not rekey at once */
		v2_random(sa->eng, &r, 1);
		ch->soft_at = now + soft - soft / 10 * r / 255;
	}
	if (cc->hard_seconds)
		ch->hard_at = now + (uint64_t)cc->hard_seconds * 1000;
}

int v2_child_install(struct v2_sa *sa, struct v2_child *ch, const struct secret *g_ir,
		     const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len)
{
	struct ikev2 *e = sa->eng;
	struct ikev2_child_keys k = {0};
	struct sa_params p;
	int ret = -1;

	/* 2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); initiator-to-
	 * responder keys first */
	if (ikev2_child_keys_derive(sa->algs.prf, sa->keys.sk_d, &ch->algs, g_ir, ni, ni_len, nr,
				    nr_len, &k))
		return -1;
	params_common(sa, ch, &p);
	dir_in(sa, &p, ch->spi_in);
	p.encr_key = ch->exch_init ? k.encr_r : k.encr_i;
	p.integ_key = ch->exch_init ? k.integ_r : k.integ_i;
	if (e->env.sa_install(e->env.ctx, &p))
		goto out;
	params_common(sa, ch, &p);
	dir_out(sa, ch, &p, ch->spi_out);
	p.encr_key = ch->exch_init ? k.encr_i : k.encr_r;
	p.integ_key = ch->exch_init ? k.integ_i : k.integ_r;
	if (e->env.sa_install(e->env.ctx, &p)) {
		e->env.sa_delete(e->env.ctx, ch->spi_in, ch->proto, &sa->local);
		goto out;
	}
	if (ch->cpi_in && ch->cpi_out && install_comp(sa, ch))
		log_warn("ikev2 %s: IPComp SAs not installed", v2_child_entry(sa, ch)->name);
	ch->installed = true;
	set_timers(sa, ch);
	ch->next = sa->children;
	sa->children = ch;
	log_info("ikev2 %s: Child SA %s in %08x out %08x%s%s installed",
		 v2_child_entry(sa, ch)->name, ch->proto == IPSEC_PROTO_AH ? "AH" : "ESP",
		 ch->spi_in, ch->spi_out,
		 ch->mode == IPSEC_MODE_TRANSPORT ? " transport" : " tunnel",
		 ch->cpi_in ? " +IPComp" : "");
	ret = 0;
out:
	ikev2_child_keys_free(&k);
	return ret;
}

/* The inbound SA of a replaced child (or of the redundant one of two
 * crossing rekeys) stays a few seconds (what the peer sent on it before
 * switching is still in flight); the outbound SA of its replacement, if
 * we answered that rekey, now carries the traffic. */
void v2_child_retire(struct v2_sa *sa, struct v2_child *ch)
{
	struct ikev2 *e = sa->eng;
	bool replaced = false;

	for (struct v2_child *c = sa->children; c; c = c->next) {
		if (c == ch || !c->installed)
			continue;
		/* 2.8.1: the redundant one of two crossing rekeys; its twin
		 * carries on, packets sent on it may still be on their way */
		if (ch->rekey_of && c->rekey_of == ch->rekey_of)
			replaced = true;
		if (c->rekey_of != ch->spi_in)
			continue;
		replaced = true;
		if (!out_standby(sa, c))
			continue;
		e->env.sa_activate(e->env.ctx, c->spi_out, c->proto, &sa->remote);
		if (c->cpi_in && c->cpi_out)
			e->env.sa_activate(e->env.ctx, c->cpi_out, IPSEC_PROTO_COMP, &sa->remote);
	}
	if (replaced && ch->installed && e->env.sa_retire &&
	    !e->env.sa_retire(e->env.ctx, ch->spi_in, ch->proto, &sa->local)) {
		if (ch->cpi_in && ch->cpi_out)
			e->env.sa_retire(e->env.ctx, ch->cpi_in, IPSEC_PROTO_COMP, &sa->local);
		ch->retiring = true;
		log_info("ikev2 %s: Child SA in %08x out %08x replaced: its inbound SA stays "
			 "a few seconds for packets in flight", sa->conn->name, ch->spi_in,
			 ch->spi_out);
	}
	v2_child_remove(sa, ch);
}

void v2_child_remove(struct v2_sa *sa, struct v2_child *ch)
{
	struct ikev2 *e = sa->eng;

	for (struct v2_child **pp = &sa->children; *pp; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	if (ch->installed) {
		if (!ch->retiring)
			e->env.sa_delete(e->env.ctx, ch->spi_in, ch->proto, &sa->local);
		e->env.sa_delete(e->env.ctx, ch->spi_out, ch->proto, &sa->remote);
		if (ch->cpi_in && ch->cpi_out) {
			if (!ch->retiring)
				e->env.sa_delete(e->env.ctx, ch->cpi_in, IPSEC_PROTO_COMP,
						 &sa->local);
			e->env.sa_delete(e->env.ctx, ch->cpi_out, IPSEC_PROTO_COMP, &sa->remote);
		}
		log_info("ikev2 %s: Child SA in %08x out %08x deleted",
			 v2_child_entry(sa, ch)->name, ch->spi_in, ch->spi_out);
	}
	v2_conn_drop(ch->conn);
	secret_wipe(ch, sizeof(*ch));
	free(ch);
}

/* ---- negotiation ---- */

static void child_algs(const struct ikev2_proposal *p, struct v2_child *ch)
{
	const struct ikev2_transform *x;

	ch->proto = p->proto == IKEV2_PROTO_AH ? IPSEC_PROTO_AH : IPSEC_PROTO_ESP;
	if ((x = v2_xf_get(p, IKEV2_TRANS_ENCR))) {
		ch->algs.encr = x->id;
		ch->algs.encr_bits = x->key_bits;
	}
	if ((x = v2_xf_get(p, IKEV2_TRANS_INTEG)))
		ch->algs.integ = x->id;
	ch->esn = (x = v2_xf_get(p, IKEV2_TRANS_ESN)) && x->id == IKEV2_ESN_YES;
}

static void min_nonce(struct v2_child *ch, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		      size_t nr_len)
{
	size_t n = ni_len < nr_len ? ni_len : nr_len;
	int c = memcmp(ni, nr, n);
	bool i_low = c < 0 || (c == 0 && ni_len <= nr_len);

	ch->min_nonce_len = i_low ? ni_len : nr_len;
	memcpy(ch->min_nonce, i_low ? ni : nr, ch->min_nonce_len);
}

static uint16_t ipcomp_peer(const struct ikev2_msg *m)
{
	const struct ikev2_notify *n = ikev2_msg_find_notify(m, IKEV2_N_IPCOMP_SUPPORTED);

	if (!n || n->data.len < 3 || n->data.p[2] != IPCOMP_DEFLATE)
		return 0;
	return get_be16(n->data.p);
}

struct v2_child *v2_child_respond(struct v2_sa *sa, struct ike_conn *conn,
				  const struct ikev2_msg *m, struct v2_out *o, uint32_t rekey_of,
				  const struct secret *g_ir, const uint8_t *ni, size_t ni_len,
				  const uint8_t *nr, size_t nr_len)
{
	const struct ikev2_pl *pa = ikev2_msg_find(m, IKEV2_PL_SA);
	const struct ikev2_pl *tsi = ikev2_msg_find(m, IKEV2_PL_TSI);
	const struct ikev2_pl *tsr = ikev2_msg_find(m, IKEV2_PL_TSR);
	const struct ike_child_cfg *cc = &conn->child;
	struct ikev2_transform xf[8];
	struct ikev2_proposal chosen;
	struct v2_child *ch;
	struct ikev2_pl *pl;
	uint16_t pfs = g_ir ? cc->pfs_group : 0;
	uint16_t peer_cpi = ipcomp_peer(m);

	if (!pa || !tsi || !tsr)
		return NULL; /* childless */
	if (!cc->n_props || !v2_child_prop_select(conn, &pa->u.sa, pfs, pfs, &chosen, xf)) {
		v2_out_notify(o, IKEV2_N_NO_PROPOSAL_CHOSEN, 0, NULL, 0, NULL, 0);
		return NULL;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	if (conn != sa->conn) {
		ch->conn = conn;
		v2_conn_hold(conn);
	}
	if (!v2_ts_narrow(&cc->sel, &tsi->u.ts, &tsr->u.ts, &ch->sel)) {
		log_notice("ikev2 %s: TS_UNACCEPTABLE: the peer's selectors do not intersect ours",
			   conn->name);
		v2_ts_log(conn->name, &cc->sel, &tsi->u.ts, &tsr->u.ts);
		v2_out_notify(o, IKEV2_N_TS_UNACCEPTABLE, 0, NULL, 0, NULL, 0);
		child_discard(ch);
		return NULL;
	}
	child_algs(&chosen, ch);
	ch->spi_out = get_be32(chosen.spi);
	/* 1.3.1: transport mode only if asked for and configured */
	ch->mode = ikev2_msg_find_notify(m, IKEV2_N_USE_TRANSPORT_MODE) &&
				   cc->mode == IPSEC_MODE_TRANSPORT
			   ? IPSEC_MODE_TRANSPORT
			   : IPSEC_MODE_TUNNEL;
	if (cc->mode != ch->mode)
		log_notice("ikev2 %s: peer did not ask for %s mode, using %s", conn->name,
			   cc->mode == IPSEC_MODE_TRANSPORT ? "transport" : "tunnel",
			   ch->mode == IPSEC_MODE_TRANSPORT ? "transport" : "tunnel");
	if (child_spi(sa, &ch->spi_in) || (peer_cpi && cc->ipcomp && child_cpi(sa, &ch->cpi_in))) {
		/* no SPI to give now: the peer may try again later (2.25) */
		v2_out_notify(o, IKEV2_N_TEMPORARY_FAILURE, 0, NULL, 0, NULL, 0);
		child_discard(ch);
		return NULL;
	}
	ch->cpi_out = cc->ipcomp ? peer_cpi : 0;
	if (!ch->cpi_out)
		ch->cpi_in = 0;
	ch->exch_init = false;
	ch->rekey_of = rekey_of;
	min_nonce(ch, ni, ni_len, nr, nr_len);
	pl = v2_out_add(o, IKEV2_PL_SA);
	o->props[o->n_prop] = chosen;
	memcpy(o->xf + o->n_xf, xf, chosen.n_xf * sizeof(xf[0]));
	o->props[o->n_prop].xf = o->xf + o->n_xf;
	o->n_xf += chosen.n_xf;
	put_be32(o->props[o->n_prop].spi, ch->spi_in);
	pl->u.sa.prop = &o->props[o->n_prop++];
	pl->u.sa.n_prop = 1;
	v2_ts_out(o, &ch->sel, true);
	if (ch->mode == IPSEC_MODE_TRANSPORT)
		v2_out_notify(o, IKEV2_N_USE_TRANSPORT_MODE, 0, NULL, 0, NULL, 0);
	if (ch->cpi_in)
		ipcomp_notify(o, ch->cpi_in);
	if (v2_child_install(sa, ch, g_ir, ni, ni_len, nr, nr_len)) {
		log_err("ikev2 %s: cannot install Child SA", conn->name);
		child_discard(ch);
		return NULL;
	}
	return ch;
}

static bool child_error(struct v2_sa *sa, const struct ikev2_msg *m)
{
	for (size_t i = 0; i < m->n_pl; i++) {
		uint16_t t = m->pl[i].u.n.type;

		if (m->pl[i].type != IKEV2_PL_NOTIFY || t > IKEV2_N_ERROR_MAX)
			continue;
		log_notice("ikev2 %s: Child SA refused by peer: %s", rconn(sa)->name,
			   t == IKEV2_N_NO_PROPOSAL_CHOSEN
				   ? "NO_PROPOSAL_CHOSEN: the peer accepts none of the Child SA "
				     "proposals we offered (transform set, PFS group); compare them "
				     "with its ESP/AH proposals"
			   : t == IKEV2_N_TS_UNACCEPTABLE
				   ? "TS_UNACCEPTABLE: the peer's selectors for this tunnel do not "
				     "cover the ones we proposed; compare both sides' ACLs"
			   : t == IKEV2_N_INVALID_KE_PAYLOAD ? "INVALID_KE_PAYLOAD"
			   : t == IKEV2_N_TEMPORARY_FAILURE  ? "TEMPORARY_FAILURE"
							    : "error notify");
		if (t == IKEV2_N_NO_PROPOSAL_CHOSEN)
			v2_local_props_log(rconn(sa), true,
					   sa->creq.dh ? rconn(sa)->child.pfs_group : 0);
		else if (t == IKEV2_N_TS_UNACCEPTABLE)
			v2_ts_log_ours(rconn(sa)->name, "we proposed", &sa->creq.sel);
		return true;
	}
	return false;
}

/* Does every selector of sel lie inside those of a child of conn we
 * have? (A new child the peer narrowed to an old one's part.) */
static bool redundant(const struct v2_sa *sa, const struct ike_conn *conn,
		      const struct ts_list *sel)
{
	for (unsigned k = 0; k < sel->n; k++) {
		bool held = false;

		for (const struct v2_child *c = sa->children; c && !held; c = c->next)
			held = !c->rekeyed && v2_child_entry(sa, c) == conn &&
			       v2_ts_list_holds(&c->sel, &sel->ts[k]);
		if (!held)
			return false;
	}
	return sel->n > 0;
}

struct v2_child *v2_child_complete(struct v2_sa *sa, const struct ikev2_msg *m,
				   const struct secret *g_ir, const uint8_t *ni, size_t ni_len,
				   const uint8_t *nr, size_t nr_len)
{
	const struct ikev2_pl *pa = ikev2_msg_find(m, IKEV2_PL_SA);
	const struct ikev2_pl *tsi = ikev2_msg_find(m, IKEV2_PL_TSI);
	const struct ikev2_pl *tsr = ikev2_msg_find(m, IKEV2_PL_TSR);
	struct ike_conn *conn = rconn(sa);
	struct v2_child *ch;
	uint16_t pfs = g_ir ? conn->child.pfs_group : 0;

	if (child_error(sa, m) || !pa || !tsi || !tsr || !pa->u.sa.n_prop)
		return NULL;
	/* From here on the responder has its SA pair: what we refuse, we ask
	 * it to delete. */
	if (!v2_child_prop_accept(conn, &pa->u.sa, pfs)) {
		log_notice("ikev2 %s: responder chose a Child SA proposal we did not offer",
			   conn->name);
		v2_queue_refused(sa, pa->u.sa.prop[0].proto, sa->creq.spi_in);
		return NULL;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->conn = sa->creq.conn;
	v2_conn_hold(ch->conn);
	/* 2.9: the responder may have narrowed; it must stay inside our offer */
	if (!v2_ts_accept(&sa->creq.sel, &tsi->u.ts, &tsr->u.ts, &ch->sel)) {
		log_notice("ikev2 %s: responder's traffic selectors are outside our proposal",
			   conn->name);
		v2_queue_refused(sa, pa->u.sa.prop[0].proto, sa->creq.spi_in);
		child_discard(ch);
		return NULL;
	}
	if (!sa->creq.rekey_spi && redundant(sa, conn, &ch->sel)) {
		log_notice("ikev2 %s: the peer narrowed the new Child SA to selectors another "
			   "one holds: deleting it; the traffic that asked for it has no SA (the "
			   "peer's policy does not cover it; asking again in %d s)", conn->name,
			   V2_RETRY_MS / 1000);
		v2_ts_log_ours(conn->name, "narrowed to", &ch->sel);
		v2_queue_refused(sa, pa->u.sa.prop[0].proto, sa->creq.spi_in);
		child_discard(ch);
		return NULL;
	}
	child_algs(&pa->u.sa.prop[0], ch);
	ch->spi_in = sa->creq.spi_in;
	ch->spi_out = get_be32(pa->u.sa.prop[0].spi);
	ch->mode = ikev2_msg_find_notify(m, IKEV2_N_USE_TRANSPORT_MODE) ? IPSEC_MODE_TRANSPORT
									: IPSEC_MODE_TUNNEL;
	ch->cpi_out = sa->creq.cpi_in ? ipcomp_peer(m) : 0;
	ch->cpi_in = ch->cpi_out ? sa->creq.cpi_in : 0;
	ch->exch_init = true;
	ch->rekey_of = sa->creq.rekey_spi;
	min_nonce(ch, ni, ni_len, nr, nr_len);
	if (v2_child_install(sa, ch, g_ir, ni, ni_len, nr, nr_len)) {
		log_err("ikev2 %s: cannot install Child SA", conn->name);
		v2_queue_refused(sa, pa->u.sa.prop[0].proto, sa->creq.spi_in);
		child_discard(ch);
		return NULL;
	}
	return ch;
}

bool v2_conn_same_ends(const struct v2_sa *sa, const struct ike_conn *c)
{
	return c->version == 2 && !c->route_based && !sa->conn->route_based && c->child.n_props &&
	       v2_conn_addr_ok(c, &sa->local, &sa->remote) &&
	       ike_id_eq(&c->local_id, &sa->conn->local_id);
}

/* Could c's child live on this IKE SA? Its ends (v2_conn_same_ends), the
 * peer's authenticated ID as c wants it, and c's IKE proposals would have
 * accepted the IKE SA's algorithms. */
bool v2_conn_shares_ike_sa(const struct v2_sa *sa, const struct ike_conn *c)
{
	return v2_conn_same_ends(sa, c) &&
	       (!c->remote_id.type || ike_id_eq(&sa->peer_id, &c->remote_id)) &&
	       v2_conn_algs_fit(c, sa);
}

bool v2_sa_carries(const struct v2_sa *sa, const struct ike_conn *c)
{
	for (const struct v2_child *ch = sa->children; ch; ch = ch->next)
		if (v2_child_entry(sa, ch) == c)
			return true;
	return false;
}

/* The entry a new child asked for in CREATE_CHILD_SA belongs to (2.9): the
 * IKE SA's, unless its ACL does not hold the peer's first TSi/TSr pair
 * and another entry that could share this IKE SA does (strongSwan asks for
 * each child of a connection on one IKE SA; IOS looks the request up in
 * the whole crypto map). */
struct ike_conn *v2_child_conn_for(struct v2_sa *sa, const struct ikev2_msg *m)
{
	if (v2_ts_fit(&sa->conn->child.sel, m) == 2)
		return sa->conn;
	for (struct v2_conn *vc = sa->eng->conns; vc; vc = vc->next) {
		struct ike_conn *c = &vc->c;

		if (vc->removed || c == sa->conn || !v2_conn_shares_ike_sa(sa, c) ||
		    v2_ts_fit(&c->child.sel, m) != 2)
			continue;
		log_info("ikev2 %s: the peer asks for the traffic of %s: Child SA for that entry "
			 "on this IKE SA", sa->conn->name, c->name);
		return c;
	}
	return sa->conn;
}

/* ---- CREATE_CHILD_SA ---- */

int v2_create_child_start(struct v2_sa *sa, uint32_t rekey_spi, struct ike_conn *entry)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	struct v2_child_req *r = &sa->creq;
	struct v2_child *old = rekey_spi ? v2_child_by_in(sa, rekey_spi) : NULL;
	uint16_t pfs;
	uint8_t pub[DH_MAX_PUBLIC_LEN];
	size_t pub_len = sizeof(pub);
	struct ikev2_pl *pl;
	int ret = -1;

	if (!o || (rekey_spi && !old))
		goto out;
	dh_free(r->dh);
	r->dh = NULL;
	r->rekey_spi = rekey_spi;
	v2_conn_drop(r->conn);
	/* a rekey keeps the old child's entry; a new child is the one it is
	 * asked for, another entry's when that one shares this IKE SA */
	r->conn = old ? old->conn : entry == sa->conn ? NULL : entry;
	v2_conn_hold(r->conn);
	pfs = rconn(sa)->child.pfs_group;
	if (old) /* 2.8: the new SA has the old one's selectors */
		r->sel = old->sel;
	r->ni_len = NONCE_LEN;
	if (v2_random(sa->eng, r->ni, r->ni_len) || v2_child_req_out(sa, o, pfs))
		goto out;
	pl = v2_out_add(o, IKEV2_PL_NONCE);
	pl->u.nonce.p = v2_out_copy(o, r->ni, r->ni_len);
	pl->u.nonce.len = r->ni_len;
	if (pfs) {
		if (!(r->dh = dh_new(pfs)) || dh_public(r->dh, pub, &pub_len))
			goto out;
		pl = v2_out_add(o, IKEV2_PL_KE);
		pl->u.ke.group = pfs;
		pl->u.ke.data.p = v2_out_copy(o, pub, pub_len);
		pl->u.ke.data.len = pub_len;
	}
	if (old) { /* 1.3.3: REKEY_SA names the SA being replaced */
		uint8_t spi[4];

		put_be32(spi, old->spi_in);
		v2_out_notify(o, IKEV2_N_REKEY_SA, old->proto == IPSEC_PROTO_AH ? IKEV2_PROTO_AH
									       : IKEV2_PROTO_ESP,
			      spi, 4, NULL, 0);
	}
	ret = v2_send_request(sa, IKEV2_EXCH_CREATE_CHILD_SA, old ? T_CHILD_REKEY : T_CHILD_NEW, o);
	if (!ret)
		log_info("ikev2 %s: CREATE_CHILD_SA %s sent", rconn(sa)->name,
			 old ? "(rekey)" : "(new)");
out:
	free(o);
	return ret;
}

static int child_dh(struct dh *dh, const struct ikev2_pl *ke, struct secret **g_ir)
{
	return dh_shared(dh, ke->u.ke.data.p, ke->u.ke.data.len, g_ir);
}

void v2_create_child_request(struct v2_sa *sa, const struct ikev2_msg *m)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	const struct ikev2_pl *ni = ikev2_msg_find(m, IKEV2_PL_NONCE);
	const struct ikev2_pl *ke = ikev2_msg_find(m, IKEV2_PL_KE);
	const struct ikev2_pl *pa = ikev2_msg_find(m, IKEV2_PL_SA);
	const struct ikev2_notify *rk = ikev2_msg_find_notify(m, IKEV2_N_REKEY_SA);
	struct ike_conn *conn;
	uint16_t pfs;
	struct v2_child *old = NULL, *ch;
	struct secret *g_ir = NULL;
	struct dh *dh = NULL;
	uint8_t nr[NONCE_LEN], pub[DH_MAX_PUBLIC_LEN], gb[2];
	size_t pub_len = sizeof(pub);
	struct ikev2_pl *pl;

	if (!o)
		return;
	if (pa && pa->u.sa.n_prop && pa->u.sa.prop[0].proto == IKEV2_PROTO_IKE) {
		v2_ike_rekey_request(sa, m); /* 2.18, rekey.c */
		free(o);
		return;
	}
	if (sa->state != V2_ESTABLISHED || !ni || !pa) {
		v2_out_notify(o, IKEV2_N_INVALID_SYNTAX, 0, NULL, 0, NULL, 0);
		goto send;
	}
	if (rk && (rk->spi_len != 4 || !(old = v2_child_by_out(sa, get_be32(rk->spi))))) {
		uint8_t proto = rk->proto;

		/* 2.25: the SA is gone (deleted meanwhile) */
		v2_out_notify(o, IKEV2_N_CHILD_SA_NOT_FOUND, proto, rk->spi, rk->spi_len, NULL, 0);
		goto send;
	}
	/* a rekey keeps the old child's entry; a new child may be another's */
	conn = old ? v2_child_entry(sa, old) : v2_child_conn_for(sa, m);
	pfs = conn->child.pfs_group;
	if ((pfs && (!ke || ke->u.ke.group != pfs)) || (!pfs && ke)) {
		put_be16(gb, pfs);
		v2_out_notify(o, pfs ? IKEV2_N_INVALID_KE_PAYLOAD : IKEV2_N_NO_PROPOSAL_CHOSEN, 0,
			      NULL, 0, gb, pfs ? 2 : 0);
		goto send;
	}
	if (v2_random(sa->eng, nr, sizeof(nr)) ||
	    (pfs && (!(dh = dh_new(pfs)) || dh_public(dh, pub, &pub_len) ||
		     child_dh(dh, ke, &g_ir)))) {
		v2_out_notify(o, IKEV2_N_NO_PROPOSAL_CHOSEN, 0, NULL, 0, NULL, 0);
		goto send;
	}
	ch = v2_child_respond(sa, conn, m, o, old ? old->spi_in : 0, g_ir, ni->u.nonce.p,
			      ni->u.nonce.len, nr, sizeof(nr));
	if (ch) {
		pl = v2_out_add(o, IKEV2_PL_NONCE);
		pl->u.nonce.p = v2_out_copy(o, nr, sizeof(nr));
		pl->u.nonce.len = sizeof(nr);
		if (pfs) {
			pl = v2_out_add(o, IKEV2_PL_KE);
			pl->u.ke.group = pfs;
			pl->u.ke.data.p = v2_out_copy(o, pub, pub_len);
			pl->u.ke.data.len = pub_len;
		}
		if (old) {
			/* 2.8.1: we are rekeying the same SA ourselves */
			if (sa->task == T_CHILD_REKEY && sa->creq.rekey_spi == old->spi_in)
				old->collided = true;
			/* 2.8: the peer replaced it and deletes it; a rekey of our
			 * own (its soft lifetime ran out here too, or is queued)
			 * would only make a redundant pair that nobody deletes */
			old->rekeyed = true;
			old->soft_at = 0;
			ch->sel = old->sel;
		}
	}
send:
	v2_send_response(sa, IKEV2_EXCH_CREATE_CHILD_SA, m->hdr.msgid, o);
	secret_free(g_ir);
	dh_free(dh);
	secret_wipe(nr, sizeof(nr));
	free(o);
}

static int nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al < bl ? -1 : al > bl);
}

/* 2.8.1: two rekeys of the same SA crossed. The SA created with the
 * lowest of the four nonces is redundant; whoever created it deletes it,
 * the other side deletes the old SA. */
static void rekey_done(struct v2_sa *sa, struct v2_child *mine, struct v2_child *old)
{
	struct v2_child *theirs = NULL;

	for (struct v2_child *c = sa->children; c; c = c->next)
		if (c != mine && c->rekey_of == old->spi_in && !c->exch_init)
			theirs = c;
	old->rekeyed = true;
	old->soft_at = 0;
	if (old->collided && theirs &&
	    nonce_cmp(mine->min_nonce, mine->min_nonce_len, theirs->min_nonce,
		      theirs->min_nonce_len) < 0) {
		log_info("ikev2 %s: rekey collision: ours has the lowest nonce, deleting it",
			 sa->conn->name);
		mine->rekeyed = true;
		v2_queue(sa, T_DELETE_CHILD, mine->spi_in);
		return;
	}
	if (old->collided && !theirs) /* peer's new SA already deleted: its loss */
		log_info("ikev2 %s: rekey collision resolved", sa->conn->name);
	else if (old->collided)
		log_info("ikev2 %s: rekey collision: the peer's has the lowest nonce, it deletes it",
			 sa->conn->name);
	/* make-before-break: the new SA is installed, now the old goes */
	v2_queue(sa, T_DELETE_CHILD, old->spi_in);
}

/* Our rekey of old_spi was answered, but the old SA is gone: the peer
 * deleted it while our request was out. If the peer rekeyed it too (a
 * new SA of its making replaces it here), two new pairs exist and the
 * peer will not delete the old one or (having deleted the old one, so
 * having kept its own) its own: ours is redundant, we delete it
 * (2.8.1: the peer's DELETE of the old SA overtook its answer to us, or
 * the peer did not see the collision). Without this both pairs stayed. */
static void rekey_done_old_gone(struct v2_sa *sa, struct v2_child *mine, uint32_t old_spi)
{
	for (struct v2_child *c = sa->children; c; c = c->next)
		if (c != mine && c->rekey_of == old_spi && !c->exch_init) {
			log_info("ikev2 %s: rekey collision: the peer deleted the old SA first, "
				 "deleting ours", sa->conn->name);
			mine->rekeyed = true;
			v2_queue(sa, T_DELETE_CHILD, mine->spi_in);
			return;
		}
}

void v2_create_child_response(struct v2_sa *sa, const struct ikev2_msg *m)
{
	const struct ikev2_pl *nr = ikev2_msg_find(m, IKEV2_PL_NONCE);
	const struct ikev2_pl *ke = ikev2_msg_find(m, IKEV2_PL_KE);
	struct v2_child_req *r = &sa->creq;
	struct secret *g_ir = NULL;
	struct v2_child *ch = NULL, *old;

	if (sa->done_task == T_IKE_REKEY) {
		v2_ike_rekey_response(sa, m);
		return;
	}
	if (!child_error(sa, m) && nr && (!r->dh || (ke && !child_dh(r->dh, ke, &g_ir))))
		ch = v2_child_complete(sa, m, g_ir, r->ni, r->ni_len, nr->u.nonce.p,
				       nr->u.nonce.len);
	secret_free(g_ir);
	dh_free(r->dh);
	r->dh = NULL;
	if (!ch && !r->rekey_spi && r->conn && !v2_sa_carries(sa, r->conn))
		v2_share_refused(sa, r->conn); /* the peer keeps that entry apart */
	else if (!ch && !r->rekey_spi) /* a new child refused: not again at once (acquires) */
		sa->child_new_hold_ms = v2_now(sa->eng) + V2_RETRY_MS;
	old = r->rekey_spi ? v2_child_by_in(sa, r->rekey_spi) : NULL;
	if (ch && old)
		rekey_done(sa, ch, old);
	else if (ch && r->rekey_spi)
		rekey_done_old_gone(sa, ch, r->rekey_spi);
	else if (!ch && old && ikev2_msg_find_notify(m, IKEV2_N_CHILD_SA_NOT_FOUND))
		v2_child_remove(sa, old);
	else if (!ch && old && ikev2_msg_find_notify(m, IKEV2_N_TEMPORARY_FAILURE)) {
		/* 2.25: the peer cannot now; rekey again later, not at once */
		old->soft_at = v2_now(sa->eng) + V2_RETRY_MS;
		log_info("ikev2 %s: Child SA rekey: retrying in %d s", sa->conn->name,
			 V2_RETRY_MS / 1000);
	}
	r->rekey_spi = 0;
}
