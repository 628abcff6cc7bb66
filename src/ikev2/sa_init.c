/* IKE_SA_INIT (RFC 7296 1.2, 2.6 cookies, 2.7 proposals, 2.14 keys,
 * 2.23 NAT detection; RFC 7383 2.3 fragmentation support):
 *
 *   Initiator                         Responder
 *   HDR, [N(COOKIE),] SAi1, KEi, Ni,
 *     N(NAT_D_SRC), N(NAT_D_DST), N(FRAG_SUP)  -->
 *                                <--  HDR, SAr1, KEr, Nr, N(NAT_D..), N(FRAG_SUP)
 *                                <--  HDR, N(COOKIE)                (2.6)
 *                                <--  HDR, N(INVALID_KE_PAYLOAD)    (1.2)
 *                                <--  HDR, N(NO_PROPOSAL_CHOSEN)
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "crypto/dh.h"
#include "ikev2/engine.h"
#include "lib/log.h"

#define NONCE_LEN 32
#define MAX_INIT_RETRIES 4

static const uint8_t zero_spi[8];

void v2_algs_from(const struct ikev2_proposal *p, struct ikev2_algs *a, uint16_t *group)
{
	const struct ikev2_transform *x;

	memset(a, 0, sizeof(*a));
	if ((x = v2_xf_get(p, IKEV2_TRANS_ENCR))) {
		a->encr = x->id;
		a->encr_bits = x->key_bits;
	}
	if ((x = v2_xf_get(p, IKEV2_TRANS_PRF)))
		a->prf = x->id;
	if ((x = v2_xf_get(p, IKEV2_TRANS_INTEG)))
		a->integ = x->id;
	if (group)
		*group = (x = v2_xf_get(p, IKEV2_TRANS_DH)) ? x->id : 0;
}

static void natd_out(struct v2_out *o, const uint8_t *spi_i, const uint8_t *spi_r,
		     const struct ip_addr *src, uint16_t sport, const struct ip_addr *dst,
		     uint16_t dport)
{
	uint8_t h[IKE_NATD_LEN];

	if (!ike_natd_hash(spi_i, spi_r, src, sport, h))
		v2_out_notify(o, IKEV2_N_NAT_DETECTION_SOURCE_IP, 0, NULL, 0, h, sizeof(h));
	if (!ike_natd_hash(spi_i, spi_r, dst, dport, h))
		v2_out_notify(o, IKEV2_N_NAT_DETECTION_DESTINATION_IP, 0, NULL, 0, h, sizeof(h));
}

/* 2.23: is any received NAT_D notify of `type` equal to the hash of
 * (addr, port)? No such notify at all counts as "no NAT" (peer without
 * NAT-T support). */
static bool natd_match(const struct ikev2_msg *m, uint16_t type, const uint8_t *spi_i,
		       const uint8_t *spi_r, const struct ip_addr *a, uint16_t port)
{
	uint8_t h[IKE_NATD_LEN];
	bool seen = false;

	if (ike_natd_hash(spi_i, spi_r, a, port, h))
		return true;
	for (size_t i = 0; i < m->n_pl; i++) {
		const struct ikev2_notify *n = &m->pl[i].u.n;

		if (m->pl[i].type != IKEV2_PL_NOTIFY || n->type != type)
			continue;
		seen = true;
		if (n->data.len == IKE_NATD_LEN && !CRYPTO_memcmp(n->data.p, h, IKE_NATD_LEN))
			return true;
	}
	return !seen;
}

/* Build an unencrypted IKE_SA_INIT message, traced for `debug crypto
 * ikev2` as sent to peer:port. */
static uint8_t *build_plain(const struct ikev2 *e, const char *conn, const struct ip_addr *peer,
			    uint16_t port, const struct ikev2_hdr *h, const struct v2_out *o,
			    size_t *len)
{
	struct ikev2_msg *m = calloc(1, sizeof(*m));
	uint8_t *buf = malloc(IKEV2_MAX_MSG_LEN);
	struct wcur w = wcur_init(buf, IKEV2_MAX_MSG_LEN);
	bool ok = m && buf && !o->failed;

	if (ok) {
		m->hdr = *h;
		memcpy(m->pl, o->pl, o->n * sizeof(o->pl[0]));
		m->n_pl = o->n;
		ok = ikev2_msg_build(m, &w) == IKEV2_OK;
	}
	free(m);
	if (!ok) {
		free(buf);
		return NULL;
	}
	*len = w.off;
	v2_trace(e, conn, peer, port, true, h, o->pl, o->n, w.off);
	return buf;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
	uint8_t *d = malloc(len);

	if (d)
		memcpy(d, p, len);
	return d;
}

/* ---- initiator ---- */

int v2_init_start(struct v2_sa *sa)
{
	struct ikev2 *e = sa->eng;
	struct v2_out *o = calloc(1, sizeof(*o));
	uint8_t pub[DH_MAX_PUBLIC_LEN];
	size_t pub_len = sizeof(pub), len;
	struct ikev2_hdr h = {.version = IKEV2_VERSION, .exchange = IKEV2_EXCH_IKE_SA_INIT,
			      .flags = IKEV2_FLAG_INITIATOR};
	struct ikev2_pl *pl;
	uint8_t *buf;
	int ret = -1;

	if (!o)
		return -1;
	if (!sa->group)
		sa->group = sa->conn->ike_props[0].dh[0];
	if (!sa->dh && !(sa->dh = dh_new(sa->group)))
		goto out;
	if (!sa->ni_len) {
		sa->ni_len = NONCE_LEN;
		if (v2_random(e, sa->ni, sa->ni_len))
			goto out;
	}
	if (dh_public(sa->dh, pub, &pub_len))
		goto out;
	memcpy(h.spi_i, sa->spi_i, 8);
	/* 2.6: the cookie goes first, everything else unchanged */
	if (sa->cookie_len)
		v2_out_notify(o, IKEV2_N_COOKIE, 0, NULL, 0, sa->cookie, sa->cookie_len);
	v2_ike_props_out(o, sa->conn, NULL, 0);
	pl = v2_out_add(o, IKEV2_PL_KE);
	pl->u.ke.group = sa->group;
	pl->u.ke.data.p = v2_out_copy(o, pub, pub_len);
	pl->u.ke.data.len = pub_len;
	pl = v2_out_add(o, IKEV2_PL_NONCE);
	pl->u.nonce.p = v2_out_copy(o, sa->ni, sa->ni_len);
	pl->u.nonce.len = sa->ni_len;
	natd_out(o, sa->spi_i, zero_spi, &sa->local, sa->lport, &sa->remote, sa->rport);
	/* RFC 7383 2.3: announce it only if we fragment and reassemble */
	if (sa->conn->frag_mtu)
		v2_out_notify(o, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, 0, NULL, 0, NULL, 0);
	buf = build_plain(e, sa->conn->name, &sa->remote, sa->rport, &h, o, &len);
	if (!buf)
		goto out;
	free(sa->msg1);
	sa->msg1 = dup_bytes(buf, len);
	sa->msg1_len = len;
	log_info("ikev2 %s: initiating IKE_SA_INIT to peer, %s, %zu bytes", sa->conn->name,
		 dh_group_name(sa->group) ? dh_group_name(sa->group) : "?", len);
	sa->task = T_SA_INIT;
	sa->retx_msgid = 0;
	sa->msgid_next = 1;
	v2_send_raw(sa, buf, len);
	ike_retx_start(&sa->retx, buf, len, v2_now(e), e->g.retransmit_base_ms);
	ret = sa->msg1 ? 0 : -1;
out:
	free(o);
	return ret;
}

static bool group_offered(const struct ike_conn *c, uint16_t g)
{
	for (uint8_t i = 0; i < c->n_ike_props; i++)
		for (uint8_t k = 0; k < c->ike_props[i].n_dh; k++)
			if (c->ike_props[i].dh[k] == g)
				return true;
	return false;
}

/* 1.2 / 2.6: restart IKE_SA_INIT after INVALID_KE_PAYLOAD or COOKIE. */
static void init_retry(struct v2_sa *sa, const struct ikev2_notify *n)
{
	ike_retx_stop(&sa->retx);
	sa->task = T_NONE;
	if (sa->msgid_next > MAX_INIT_RETRIES) { /* no endless COOKIE/INVALID_KE ping-pong */
		v2_sa_dead(sa, "too many IKE_SA_INIT retries", true);
		return;
	}
	if (n->type == IKEV2_N_COOKIE) {
		if (!n->data.len || n->data.len > sizeof(sa->cookie)) {
			v2_sa_dead(sa, "bad COOKIE", true);
			return;
		}
		memcpy(sa->cookie, n->data.p, n->data.len);
		sa->cookie_len = n->data.len;
		log_info("ikev2 %s: responder asks for a cookie, retrying", sa->conn->name);
	} else {
		uint16_t g = n->data.len == 2 ? get_be16(n->data.p) : 0;

		if (!group_offered(sa->conn, g) || g == sa->group) {
			log_notice("ikev2 %s: INVALID_KE_PAYLOAD asks for group %u we did not offer",
				   sa->conn->name, g);
			v2_sa_dead(sa, "INVALID_KE_PAYLOAD", true);
			return;
		}
		log_info("ikev2 %s: INVALID_KE_PAYLOAD: retrying with %s", sa->conn->name,
			 dh_group_name(g) ? dh_group_name(g) : "?");
		dh_free(sa->dh);
		sa->dh = NULL;
		sa->group = g;
	}
	sa->msgid_next++; /* counts attempts only; IKE_SA_INIT stays msgid 0 */
	if (v2_init_start(sa))
		v2_sa_dead(sa, "cannot rebuild IKE_SA_INIT", true);
	sa->msgid_next = sa->msgid_next ? sa->msgid_next : 1;
}

static int derive(struct v2_sa *sa, const uint8_t *peer_ke, size_t peer_len)
{
	struct secret *g_ir = NULL;
	int ret = -1;

	if (dh_shared(sa->dh, peer_ke, peer_len, &g_ir))
		return -1;
	if (!ikev2_keys_derive(&sa->algs, g_ir, sa->ni, sa->ni_len, sa->nr, sa->nr_len,
			       sa->spi_i, sa->spi_r, &sa->keys) &&
	    !v2_sa_crypto_setup(sa))
		ret = 0;
	secret_free(g_ir);
	return ret;
}

/* 2.12: forget the private value once used */
static void forget_dh(struct v2_sa *sa)
{
	dh_free(sa->dh);
	sa->dh = NULL;
}

static const struct ikev2_pl *need(const struct ikev2_msg *m, uint8_t type)
{
	return ikev2_msg_find(m, type);
}

void v2_init_response(struct v2_sa *sa, const struct ikev2_msg *m, const uint8_t *buf,
		      size_t len, uint16_t sport)
{
	const struct ikev2_pl *pa = need(m, IKEV2_PL_SA), *ke = need(m, IKEV2_PL_KE),
			      *nr = need(m, IKEV2_PL_NONCE);
	const struct ikev2_notify *n;

	if ((n = ikev2_msg_find_notify(m, IKEV2_N_COOKIE)) ||
	    (n = ikev2_msg_find_notify(m, IKEV2_N_INVALID_KE_PAYLOAD))) {
		init_retry(sa, n);
		return;
	}
	for (size_t i = 0; i < m->n_pl; i++)
		if (m->pl[i].type == IKEV2_PL_NOTIFY && m->pl[i].u.n.type <= IKEV2_N_ERROR_MAX) {
			log_notice("ikev2 %s: IKE_SA_INIT refused by peer: notify %u%s",
				   sa->conn->name, m->pl[i].u.n.type,
				   m->pl[i].u.n.type == IKEV2_N_NO_PROPOSAL_CHOSEN
					   ? " (NO_PROPOSAL_CHOSEN): the peer accepts none of the IKE "
					     "proposals we offered; compare them with its IKE proposals"
					   : "");
			if (m->pl[i].u.n.type == IKEV2_N_NO_PROPOSAL_CHOSEN)
				v2_local_props_log(sa->conn, false, 0);
			v2_sa_dead(sa, "IKE_SA_INIT failed", true);
			return;
		}
	if (!pa || !ke || !nr || !memcmp(m->hdr.spi_r, zero_spi, 8)) {
		v2_drop(sa->eng, V2_DROP_UNEXPECTED, "IKE_SA_INIT response lacks SA/KE/Nr");
		return;
	}
	if (!v2_ike_prop_accept(sa->conn, &pa->u.sa) || ke->u.ke.group != sa->group) {
		log_notice("ikev2 %s: responder chose something we did not offer", sa->conn->name);
		v2_prop_log("peer", &pa->u.sa.prop[0]);
		v2_sa_dead(sa, "bad IKE_SA_INIT response", true);
		return;
	}
	ike_retx_stop(&sa->retx);
	sa->task = T_NONE;
	memcpy(sa->spi_r, m->hdr.spi_r, 8);
	v2_algs_from(&pa->u.sa.prop[0], &sa->algs, NULL);
	sa->nr_len = nr->u.nonce.len;
	memcpy(sa->nr, nr->u.nonce.p, sa->nr_len);
	if (derive(sa, ke->u.ke.data.p, ke->u.ke.data.len)) {
		v2_sa_dead(sa, "key exchange failed (bad KE or keys)", true);
		return;
	}
	forget_dh(sa);
	sa->nat_local = !natd_match(m, IKEV2_N_NAT_DETECTION_DESTINATION_IP, sa->spi_i, sa->spi_r,
				    &sa->local, sa->lport);
	sa->nat_remote = !natd_match(m, IKEV2_N_NAT_DETECTION_SOURCE_IP, sa->spi_i, sa->spi_r,
				     &sa->remote, sport);
	sa->frag_ok = sa->conn->frag_mtu &&
		      ikev2_msg_find_notify(m, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED);
	free(sa->msg2);
	sa->msg2 = dup_bytes(buf, len);
	sa->msg2_len = len;
	sa->msgid_next = 1;
	if (sa->nat_local || sa->nat_remote) {
		/* 2.23: after NAT is detected, continue on port 4500 */
		log_info("ikev2 %s: NAT detected (%s), moving to port %u", sa->conn->name,
			 sa->nat_local ? "we are behind it" : "peer is behind it", IKE_NATT_PORT);
		sa->lport = IKE_NATT_PORT;
		sa->rport = IKE_NATT_PORT;
	}
	v2_sa_state(sa, V2_AUTH_SENT);
	if (!sa->msg2 || v2_auth_start(sa))
		v2_sa_dead(sa, "cannot build IKE_AUTH", true);
}

/* ---- responder ---- */

static void reply_notify(struct ikev2 *e, const struct ikev2_msg *req, uint16_t type,
			 const void *data, size_t dlen, const struct ip_addr *src, uint16_t sport,
			 const struct ip_addr *dst, uint16_t dport)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	struct ikev2_hdr h = {.version = IKEV2_VERSION, .exchange = IKEV2_EXCH_IKE_SA_INIT,
			      .flags = IKEV2_FLAG_RESPONSE};
	uint8_t *buf;
	size_t len;

	if (!o)
		return;
	memcpy(h.spi_i, req->hdr.spi_i, 8);
	v2_out_notify(o, type, 0, NULL, 0, data, dlen);
	buf = build_plain(e, NULL, src, sport, &h, o, &len);
	if (buf)
		e->env.send(e->env.ctx, buf, len, dst, dport, src, sport);
	free(buf);
	free(o);
}

static bool cookie_needed(struct ikev2 *e)
{
	return !e->g.cookies_off && e->tab.half_open >= e->g.cookie_threshold;
}

/* 2.6: under load, answer only requests that carry our cookie. */
static bool cookie_ok(struct ikev2 *e, const struct ikev2_msg *m, const struct ikev2_pl *ni,
		      const struct ip_addr *src, uint16_t sport, const struct ip_addr *dst,
		      uint16_t dport)
{
	const struct ikev2_notify *n = ikev2_msg_find_notify(m, IKEV2_N_COOKIE);
	uint8_t c[IKE_COOKIE_LEN];

	if (!cookie_needed(e))
		return true;
	if (n && ike_cookie_check(&e->cookie, ni->u.nonce.p, ni->u.nonce.len, src, m->hdr.spi_i,
				  n->data.p, n->data.len))
		return true;
	if (n)
		v2_drop(e, V2_DROP_COOKIE, "wrong cookie");
	if (!ike_cookie_make(&e->cookie, ni->u.nonce.p, ni->u.nonce.len, src, m->hdr.spi_i, c)) {
		reply_notify(e, m, IKEV2_N_COOKIE, c, sizeof(c), src, sport, dst, dport);
		e->cookies_sent++;
	}
	return false;
}

static int respond_init(struct v2_sa *sa, const struct ikev2_proposal *chosen, bool frag)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	struct ikev2_hdr h = {.version = IKEV2_VERSION, .exchange = IKEV2_EXCH_IKE_SA_INIT,
			      .flags = IKEV2_FLAG_RESPONSE};
	uint8_t pub[DH_MAX_PUBLIC_LEN];
	size_t pub_len = sizeof(pub), len;
	struct ikev2_pl *pl;
	int ret = -1;

	if (!o || dh_public(sa->dh, pub, &pub_len))
		goto out;
	memcpy(h.spi_i, sa->spi_i, 8);
	memcpy(h.spi_r, sa->spi_r, 8);
	pl = v2_out_add(o, IKEV2_PL_SA);
	o->props[0] = *chosen;
	o->props[0].spi_len = 0;
	pl->u.sa.prop = &o->props[0];
	pl->u.sa.n_prop = 1;
	pl = v2_out_add(o, IKEV2_PL_KE);
	pl->u.ke.group = sa->group;
	pl->u.ke.data.p = v2_out_copy(o, pub, pub_len);
	pl->u.ke.data.len = pub_len;
	pl = v2_out_add(o, IKEV2_PL_NONCE);
	pl->u.nonce.p = v2_out_copy(o, sa->nr, sa->nr_len);
	pl->u.nonce.len = sa->nr_len;
	natd_out(o, sa->spi_i, sa->spi_r, &sa->local, sa->lport, &sa->remote, sa->rport);
	if (frag)
		v2_out_notify(o, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, 0, NULL, 0, NULL, 0);
	sa->msg2 = build_plain(sa->eng, sa->conn->name, &sa->remote, sa->rport, &h, o, &len);
	if (!sa->msg2)
		goto out;
	sa->msg2_len = len;
	ret = v2_send_raw(sa, sa->msg2, len);
out:
	free(o);
	return ret;
}

/* Everything but the reply: keys, NAT detection. */
static int responder_setup(struct v2_sa *sa, const struct ikev2_msg *m, const uint8_t *buf,
			   size_t len, const struct ikev2_pl *ni)
{
	sa->ni_len = ni->u.nonce.len;
	memcpy(sa->ni, ni->u.nonce.p, sa->ni_len);
	sa->nr_len = NONCE_LEN;
	if (v2_random(sa->eng, sa->nr, sa->nr_len) || !(sa->dh = dh_new(sa->group)))
		return -1;
	sa->msg1 = dup_bytes(buf, len);
	sa->msg1_len = len;
	/* the request's hashes were made with SPIr = 0 */
	sa->nat_remote = !natd_match(m, IKEV2_N_NAT_DETECTION_SOURCE_IP, sa->spi_i, zero_spi,
				     &sa->remote, sa->rport);
	sa->nat_local = !natd_match(m, IKEV2_N_NAT_DETECTION_DESTINATION_IP, sa->spi_i, zero_spi,
				    &sa->local, sa->lport);
	sa->msgid_peer = 1;
	return sa->msg1 ? 0 : -1;
}

/* 2.7: several connections may share the peer's address (IKE_AUTH then
 * tells them apart by identity): the first whose proposals fit, starting
 * at `first`. A connection that does not fit logs why. */
static struct ike_conn *conn_for_init(struct ikev2 *e, struct ike_conn *first,
				      const struct ip_addr *local, const struct ip_addr *remote,
				      const struct ikev2_sa *peer, uint16_t ke_group,
				      struct ikev2_proposal *chosen, struct ikev2_transform *xf)
{
	bool from = false;

	for (struct v2_conn *vc = e->conns; vc; vc = vc->next) {
		struct ike_conn *c = &vc->c;

		from |= c == first;
		if (!from || vc->removed || !v2_conn_addr_ok(c, local, remote))
			continue;
		if (v2_ike_prop_select(c, peer, ke_group, chosen, xf))
			return c;
	}
	return NULL;
}

void v2_init_request(struct ikev2 *e, const struct ikev2_msg *m, const uint8_t *buf,
		     size_t len, const struct ip_addr *src, uint16_t sport,
		     const struct ip_addr *dst, uint16_t dport)
{
	const struct ikev2_pl *pa = need(m, IKEV2_PL_SA), *ke = need(m, IKEV2_PL_KE),
			      *ni = need(m, IKEV2_PL_NONCE);
	struct ike_conn *c = v2_conn_for_peer(e, dst, src);
	struct ikev2_transform xf[8];
	struct ikev2_proposal chosen;
	struct v2_sa *sa;
	uint16_t group;
	uint8_t gb[2];

	if (!pa || !ke || !ni || memcmp(m->hdr.spi_r, zero_spi, 8)) {
		v2_drop(e, V2_DROP_UNEXPECTED, "IKE_SA_INIT request lacks SA/KE/Ni");
		return;
	}
	if (!c) {
		v2_drop(e, V2_DROP_UNEXPECTED, "IKE_SA_INIT from a peer we have no connection for");
		return;
	}
	if (!cookie_ok(e, m, ni, src, sport, dst, dport))
		return;
	c = conn_for_init(e, c, dst, src, &pa->u.sa, ke->u.ke.group, &chosen, xf);
	if (!c) {
		reply_notify(e, m, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0, src, sport, dst, dport);
		return;
	}
	v2_algs_from(&chosen, &(struct ikev2_algs){0}, &group);
	if (group != ke->u.ke.group) {
		/* 1.2: tell the initiator which group we want */
		log_info("ikev2 %s: KE is %u, we want %s: INVALID_KE_PAYLOAD", c->name,
			 ke->u.ke.group, dh_group_name(group) ? dh_group_name(group) : "?");
		put_be16(gb, group);
		reply_notify(e, m, IKEV2_N_INVALID_KE_PAYLOAD, gb, 2, src, sport, dst, dport);
		return;
	}
	sa = v2_sa_new(e, c, false);
	if (!sa)
		return;
	memcpy(sa->spi_i, m->hdr.spi_i, 8);
	sa->local = *dst;
	sa->lport = dport;
	sa->remote = *src;
	sa->rport = sport;
	sa->group = group;
	v2_algs_from(&chosen, &sa->algs, NULL);
	sa->frag_ok = c->frag_mtu && ikev2_msg_find_notify(m, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED);
	if (responder_setup(sa, m, buf, len, ni) || derive(sa, ke->u.ke.data.p, ke->u.ke.data.len) ||
	    respond_init(sa, &chosen, sa->frag_ok)) {
		v2_sa_dead(sa, "IKE_SA_INIT setup failed (bad KE?)", false);
		return;
	}
	forget_dh(sa);
	log_info("ikev2 %s: IKE_SA_INIT answered (%s), half-open %u", c->name,
		 dh_group_name(group) ? dh_group_name(group) : "?", e->tab.half_open);
}
