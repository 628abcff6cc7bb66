/* Rekeying the IKE SA (RFC 7296 2.18) and simultaneous rekeys (2.8.2):
 *
 *   Initiator of the rekey                    Responder
 *   old SA: CREATE_CHILD_SA SK { SA(IKE, SPIi'), Ni, KEi }  -->
 *                <--  old SA: CREATE_CHILD_SA SK { SA(IKE, SPIr'), Nr, KEr }
 *   both: SKEYSEED' = prf(SK_d (old), g^ir (new) | Ni | Nr); the Child
 *         SAs move to the new IKE SA, whose message IDs start at 0
 *   old SA: INFORMATIONAL SK { D(IKE) }  -->
 *                <--  old SA: INFORMATIONAL SK { }
 *
 * The one who initiated the rekey is the original initiator of the new
 * IKE SA (2.18) and deletes the old one.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/dh.h"
#include "ikev2/engine.h"
#include "lib/log.h"

#define NONCE_LEN 32

static unsigned long long spi64(const uint8_t *spi)
{
	return (unsigned long long)get_be32(spi) << 32 | get_be32(spi + 4);
}

void v2_ike_rekey_arm(struct v2_sa *sa)
{
	uint64_t life = (uint64_t)sa->conn->ike_lifetime_s * 1000;
	uint8_t r = 0;

	sa->rekey_at = 0;
	sa->expire_at = 0;
	if (!life || sa->replaced)
		return;
	/* Lifetimes are local in IKEv2 (2.8): ours ends the SA even when
	 * the rekey at the soft lifetime did not succeed. */
	sa->expire_at = v2_now(sa->eng) + life;
	/* soft lifetime: 90%, minus up to another 10% at random so that the
	 * two ends seldom rekey at the same moment (2.8.2 collisions) */
	v2_random(sa->eng, &r, 1);
	sa->rekey_at = v2_now(sa->eng) + life - life / 10 - life / 10 * r / 255;
}

static void nonce_ke_out(struct v2_out *o, const uint8_t *nonce, size_t nonce_len,
			 uint16_t group, const uint8_t *pub, size_t pub_len)
{
	struct ikev2_pl *pl = v2_out_add(o, IKEV2_PL_NONCE);

	pl->u.nonce.p = v2_out_copy(o, nonce, nonce_len);
	pl->u.nonce.len = nonce_len;
	pl = v2_out_add(o, IKEV2_PL_KE);
	pl->u.ke.group = group;
	pl->u.ke.data.p = v2_out_copy(o, pub, pub_len);
	pl->u.ke.data.len = pub_len;
}

/* g^ir with the new SA's DH, then the new keys from the old SK_d. */
static int rekey_derive(struct v2_sa *old, struct v2_sa *n, const struct ikev2_pl *ke)
{
	struct secret *g_ir = NULL;
	int ret = -1;

	if (!dh_shared(n->dh, ke->u.ke.data.p, ke->u.ke.data.len, &g_ir) &&
	    !ikev2_keys_derive_rekey(&n->algs, old->algs.prf, old->keys.sk_d, g_ir, n->ni,
				     n->ni_len, n->nr, n->nr_len, n->spi_i, n->spi_r, &n->keys) &&
	    !v2_sa_crypto_setup(n))
		ret = 0;
	secret_free(g_ir);
	dh_free(n->dh); /* 2.12: the private value is used once */
	n->dh = NULL;
	return ret;
}

int v2_ike_rekey_start(struct v2_sa *sa)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	uint8_t pub[DH_MAX_PUBLIC_LEN];
	size_t pub_len = sizeof(pub);
	struct v2_sa *n = NULL;
	int ret = -1;

	if (!o || sa->state != V2_ESTABLISHED || sa->replaced || sa->rekey_pending)
		goto out;
	n = v2_sa_new_rekey(sa, true);
	if (!n)
		goto out;
	/* the group we agreed on before (or the one the peer asked for) */
	n->group = sa->rekey_group ? sa->rekey_group : sa->group;
	n->ni_len = NONCE_LEN;
	if (v2_random(sa->eng, n->ni, n->ni_len) || !(n->dh = dh_new(n->group)) ||
	    dh_public(n->dh, pub, &pub_len))
		goto out;
	v2_ike_props_out(o, sa->conn, n->spi_i, 8);
	nonce_ke_out(o, n->ni, n->ni_len, n->group, pub, pub_len);
	ret = v2_send_request(sa, IKEV2_EXCH_CREATE_CHILD_SA, T_IKE_REKEY, o);
	if (!ret) {
		memcpy(sa->rekey_new_spi, n->spi_i, 8);
		sa->rekey_pending = true;
		log_info("ikev2 %s: rekeying IKE SA %016llx, new SPI %016llx", sa->conn->name,
			 spi64(sa->ent.spi), spi64(n->spi_i));
	}
out:
	if (ret && n)
		v2_sa_dead(n, "IKE SA rekey not sent", false);
	free(o);
	return ret;
}

/* The new SA takes over: Child SAs and the Child work still queued move
 * to it; the old one stays only to be deleted (by us if delete_old). */
static void switch_over(struct v2_sa *old, struct v2_sa *n, bool delete_old)
{
	struct v2_child **tail = &n->children;

	while (*tail)
		tail = &(*tail)->next;
	*tail = old->children;
	old->children = NULL;
	for (unsigned i = 0; i < old->n_queue; i++)
		if (old->queue[i].task != T_IKE_REKEY && old->queue[i].task != T_DPD &&
		    old->queue[i].task != T_DELETE_IKE)
			v2_queue(n, (enum v2_task)old->queue[i].task, old->queue[i].spi);
	old->n_queue = 0;
	old->replaced = true;
	old->rekey_at = 0;
	old->rekey_collided = false;
	n->last_rx_ms = v2_now(n->eng);
	v2_sa_state(n, V2_ESTABLISHED);
	log_info("ikev2 %s: IKE SA %016llx rekeyed, now %016llx_i %016llx_r", n->conn->name,
		 spi64(old->ent.spi), spi64(n->spi_i), spi64(n->spi_r));
	if (delete_old)
		v2_queue(old, T_DELETE_IKE, 0);
	v2_queue_run(n);
}

static int nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al < bl ? -1 : al > bl);
}

/* The lower of the two nonces of the exchange that created sa. */
static const uint8_t *min_nonce(const struct v2_sa *sa, size_t *len)
{
	bool i_low = nonce_cmp(sa->ni, sa->ni_len, sa->nr, sa->nr_len) <= 0;

	*len = i_low ? sa->ni_len : sa->nr_len;
	return i_low ? sa->ni : sa->nr;
}

/* 2.8.2: both ends rekeyed the same IKE SA. The new SA created with the
 * lowest of the four nonces is redundant: who initiated it deletes it;
 * who initiated the survivor deletes the old SA. */
static void collision_resolve(struct v2_sa *old, struct v2_sa *mine, struct v2_sa *theirs)
{
	size_t ml, tl;
	const uint8_t *mn = min_nonce(mine, &ml), *tn = min_nonce(theirs, &tl);

	if (nonce_cmp(mn, ml, tn, tl) < 0) {
		log_info("ikev2 %s: IKE rekey collision: ours has the lowest nonce, deleting it",
			 old->conn->name);
		switch_over(old, theirs, false);
		mine->replaced = true;
		v2_sa_state(mine, V2_ESTABLISHED);
		v2_queue(mine, T_DELETE_IKE, 0);
		v2_queue_run(mine);
		return;
	}
	log_info("ikev2 %s: IKE rekey collision: the peer's has the lowest nonce, it deletes it",
		 old->conn->name);
	theirs->replaced = true; /* silent death when the peer deletes it */
	switch_over(old, mine, true);
}

/* The peer's crossing rekey, if it is still there. */
static struct v2_sa *peer_rekey(struct v2_sa *sa)
{
	struct v2_sa *t = sa->rekey_collided ? v2_sa_by_spi(sa->eng, sa->rekey_peer_spi) : NULL;

	sa->rekey_collided = false;
	return t && t->state == V2_REKEY_NEW ? t : NULL;
}

/* 2.8.2: the peer deletes the old IKE SA while our crossing rekey of it
 * is still unanswered (the peer did not see the collision, or it saw it,
 * won, and its DELETE overtook its answer to us): the peer's new SA is the
 * one that survives and MUST inherit the Child SAs; our attempt is
 * forgotten (it dies with the old SA; the peer drops its copy of it, see
 * v2_sa_dead). Without this the Child SAs died with the old SA. */
void v2_ike_rekey_peer_deleted(struct v2_sa *sa)
{
	struct v2_sa *t;

	if (!sa->rekey_pending || sa->replaced)
		return;
	t = peer_rekey(sa);
	if (!t)
		return;
	log_info("ikev2 %s: IKE rekey collision: the peer deleted the old IKE SA first, "
		 "its new one takes over", sa->conn->name);
	switch_over(sa, t, false);
}

static bool group_offered(const struct ike_conn *c, uint16_t g)
{
	for (uint8_t i = 0; i < c->n_ike_props; i++)
		for (uint8_t k = 0; k < c->ike_props[i].n_dh; k++)
			if (c->ike_props[i].dh[k] == g)
				return true;
	return false;
}

/* The answer to our request refused the rekey. */
static void rekey_refused(struct v2_sa *sa, struct v2_sa *n, const struct ikev2_msg *m)
{
	const struct ikev2_notify *kn = ikev2_msg_find_notify(m, IKEV2_N_INVALID_KE_PAYLOAD);
	struct v2_sa *t = peer_rekey(sa);
	uint16_t g = kn && kn->data.len == 2 ? get_be16(kn->data.p) : 0;

	v2_sa_dead(n, "IKE SA rekey refused", false);
	if (t) { /* 2.8.2: the peer's rekey stands alone; the peer deletes the old SA */
		switch_over(sa, t, false);
		return;
	}
	if (kn && g != n->group && group_offered(sa->conn, g)) {
		log_info("ikev2 %s: IKE rekey: INVALID_KE_PAYLOAD, retrying with group %u",
			 sa->conn->name, g);
		sa->rekey_group = g;
		v2_queue(sa, T_IKE_REKEY, 0);
		return;
	}
	if (ikev2_msg_find_notify(m, IKEV2_N_TEMPORARY_FAILURE)) {
		sa->rekey_at = v2_now(sa->eng) + V2_RETRY_MS; /* 2.25: not at once */
		log_info("ikev2 %s: IKE rekey: TEMPORARY_FAILURE, retrying later", sa->conn->name);
		return;
	}
	log_notice("ikev2 %s: IKE SA rekey refused by the peer", sa->conn->name);
}

/* Our request's answer: SA(IKE, SPIr'), Nr, KEr. */
static bool rekey_accept(struct v2_sa *sa, struct v2_sa *n, const struct ikev2_msg *m)
{
	const struct ikev2_pl *pa = ikev2_msg_find(m, IKEV2_PL_SA);
	const struct ikev2_pl *nr = ikev2_msg_find(m, IKEV2_PL_NONCE);
	const struct ikev2_pl *ke = ikev2_msg_find(m, IKEV2_PL_KE);
	const struct ikev2_proposal *p;
	uint16_t group;

	if (!pa || !nr || !ke || !v2_ike_prop_accept(sa->conn, &pa->u.sa))
		return false;
	p = &pa->u.sa.prop[0];
	v2_algs_from(p, &n->algs, &group);
	if (p->spi_len != 8 || group != n->group || ke->u.ke.group != n->group ||
	    nr->u.nonce.len > sizeof(n->nr))
		return false;
	memcpy(n->spi_r, p->spi, 8);
	memcpy(n->nr, nr->u.nonce.p, nr->u.nonce.len);
	n->nr_len = nr->u.nonce.len;
	return rekey_derive(sa, n, ke) == 0;
}

void v2_ike_rekey_response(struct v2_sa *sa, const struct ikev2_msg *m)
{
	struct v2_sa *n = sa->rekey_pending ? v2_sa_by_spi(sa->eng, sa->rekey_new_spi) : NULL;
	struct v2_sa *t;
	bool collided;

	sa->rekey_pending = false;
	if (!n || n->state != V2_REKEY_NEW)
		return;
	sa->rekey_group = 0;
	if (!rekey_accept(sa, n, m)) {
		rekey_refused(sa, n, m);
		return;
	}
	collided = sa->rekey_collided;
	t = peer_rekey(sa);
	if (t) {
		collision_resolve(sa, n, t);
		return;
	}
	if (collided) /* the peer's crossing SA is gone: the peer deleted its loser */
		log_info("ikev2 %s: IKE rekey collision resolved", sa->conn->name);
	switch_over(sa, n, true);
}

/* ---- responder ---- */

static void sa_out(struct v2_out *o, const struct ikev2_proposal *chosen, const uint8_t *spi)
{
	struct ikev2_pl *pl = v2_out_add(o, IKEV2_PL_SA);
	struct ikev2_proposal *p;

	if (o->n_prop >= sizeof(o->props) / sizeof(o->props[0]) ||
	    o->n_xf + chosen->n_xf > sizeof(o->xf) / sizeof(o->xf[0])) {
		o->failed = true;
		return;
	}
	p = &o->props[o->n_prop++];
	*p = *chosen;
	p->spi_len = 8;
	memcpy(p->spi, spi, 8);
	p->xf = o->xf + o->n_xf;
	memcpy(p->xf, chosen->xf, chosen->n_xf * sizeof(chosen->xf[0]));
	o->n_xf += chosen->n_xf;
	pl->u.sa.prop = p;
	pl->u.sa.n_prop = 1;
}

/* Make the new SA and the answer's payloads. */
static struct v2_sa *rekey_respond(struct v2_sa *sa, const struct ikev2_proposal *chosen,
				   uint16_t group, const struct ikev2_pl *ni,
				   const struct ikev2_pl *ke, struct v2_out *o)
{
	struct v2_sa *n = v2_sa_new_rekey(sa, false);
	uint8_t pub[DH_MAX_PUBLIC_LEN];
	size_t pub_len = sizeof(pub);

	if (!n)
		return NULL;
	memcpy(n->spi_i, chosen->spi, 8);
	v2_algs_from(chosen, &n->algs, NULL);
	n->group = group;
	n->ni_len = ni->u.nonce.len;
	memcpy(n->ni, ni->u.nonce.p, n->ni_len);
	n->nr_len = NONCE_LEN;
	if (v2_random(sa->eng, n->nr, n->nr_len) || !(n->dh = dh_new(group)) ||
	    dh_public(n->dh, pub, &pub_len) || rekey_derive(sa, n, ke)) {
		v2_sa_dead(n, "IKE SA rekey failed (bad KE?)", false);
		return NULL;
	}
	sa_out(o, chosen, n->spi_r);
	nonce_ke_out(o, n->nr, n->nr_len, group, pub, pub_len);
	return n;
}

/* Why we cannot take a rekey now (2.25.1, 2.25.2), or 0. */
static uint16_t rekey_busy(const struct v2_sa *sa)
{
	if (sa->state != V2_ESTABLISHED || sa->replaced)
		return IKEV2_N_TEMPORARY_FAILURE; /* closing, or rekeyed already */
	switch (sa->task) {
	case T_CHILD_NEW:
	case T_CHILD_REKEY:
	case T_DELETE_CHILD:
	case T_DELETE_IKE:
		return IKEV2_N_TEMPORARY_FAILURE;
	default:
		return 0;
	}
}

void v2_ike_rekey_request(struct v2_sa *sa, const struct ikev2_msg *m)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	const struct ikev2_pl *pa = ikev2_msg_find(m, IKEV2_PL_SA);
	const struct ikev2_pl *ni = ikev2_msg_find(m, IKEV2_PL_NONCE);
	const struct ikev2_pl *ke = ikev2_msg_find(m, IKEV2_PL_KE);
	struct ikev2_transform xf[8];
	struct ikev2_proposal chosen;
	struct v2_sa *n = NULL;
	uint16_t err = rekey_busy(sa), group = 0;
	uint8_t gb[2];

	if (!o)
		return;
	if (!err && (!pa || !ni || !ke))
		err = IKEV2_N_INVALID_SYNTAX;
	if (!err && !v2_ike_prop_select(sa->conn, &pa->u.sa, ke->u.ke.group, &chosen, xf))
		err = IKEV2_N_NO_PROPOSAL_CHOSEN;
	if (!err && chosen.spi_len != 8)
		err = IKEV2_N_INVALID_SYNTAX;
	if (!err) {
		v2_algs_from(&chosen, &(struct ikev2_algs){0}, &group);
		if (group != ke->u.ke.group)
			err = IKEV2_N_INVALID_KE_PAYLOAD; /* 1.3.2: name the group we want */
	}
	if (!err && !(n = rekey_respond(sa, &chosen, group, ni, ke, o)))
		err = IKEV2_N_NO_PROPOSAL_CHOSEN;
	if (err) {
		put_be16(gb, group);
		o->n = 0;
		v2_out_notify(o, err, 0, NULL, 0, gb, err == IKEV2_N_INVALID_KE_PAYLOAD ? 2 : 0);
		log_notice("ikev2 %s: IKE SA rekey by the peer refused (notify %u)",
			   sa->conn->name, err);
	}
	v2_send_response(sa, IKEV2_EXCH_CREATE_CHILD_SA, m->hdr.msgid, o);
	free(o);
	if (!n)
		return;
	if (sa->task == T_IKE_REKEY && sa->rekey_pending) {
		/* 2.25.2: ours crossed it; decided when our answer comes */
		memcpy(sa->rekey_peer_spi, n->spi_r, 8);
		sa->rekey_collided = true;
		return;
	}
	switch_over(sa, n, false); /* the peer deletes the old SA */
}
