/* IKE_AUTH with pre-shared keys (RFC 7296 1.2, 2.15) and the first Child
 * SA:
 *
 *   HDR, SK { IDi, [N(INITIAL_CONTACT)], AUTH, SAi2, TSi, TSr,
 *             [N(USE_TRANSPORT_MODE)], [N(IPCOMP_SUPPORTED)] }  -->
 *                  <--  HDR, SK { IDr, AUTH, SAr2, TSi, TSr, [N...] }
 *                  <--  HDR, SK { N(AUTHENTICATION_FAILED) }
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "ikev2/engine.h"
#include "lib/log.h"

#define AUTH_MAX 64

void v2_local_id(const struct v2_sa *sa, struct ike_id *id)
{
	*id = sa->conn->local_id;
	if (!id->type) { /* default: our address */
		id->type = sa->local.af == AF_INET ? IKE_ID_IPV4 : IKE_ID_IPV6;
		id->len = (uint8_t)ip_addr_len(&sa->local);
		memcpy(id->data, sa->local.b, id->len);
	}
}

/* ID payload body (2.15 "IDx'"): type | RESERVED(3) | data. */
static size_t id_body(const struct v2_sa *sa, uint8_t *out, struct ike_id *id)
{
	v2_local_id(sa, id);
	out[0] = id->type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id->data, id->len);
	return 4u + id->len;
}

static const struct secret *psk_for(const struct v2_sa *sa, bool peer)
{
	if (peer && sa->conn->psk_remote)
		return sa->conn->psk_remote;
	return sa->conn->psk_local;
}

/* AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <SignedOctets>) where the
 * signer is the initiator (msg1, Nr, SK_pi) or responder (msg2, Ni, SK_pr). */
static int auth_compute(const struct v2_sa *sa, bool by_initiator, const struct secret *psk,
			const uint8_t *idb, size_t idb_len, uint8_t *out, size_t *out_len)
{
	const uint8_t *msg = by_initiator ? sa->msg1 : sa->msg2;
	size_t msg_len = by_initiator ? sa->msg1_len : sa->msg2_len;
	const uint8_t *nonce = by_initiator ? sa->nr : sa->ni;
	size_t nonce_len = by_initiator ? sa->nr_len : sa->ni_len;
	const struct secret *skp = by_initiator ? sa->keys.sk_pi : sa->keys.sk_pr;

	if (!psk)
		return -1;
	return ikev2_auth_psk(sa->algs.prf, psk->p, psk->len, msg, msg_len, nonce, nonce_len, skp,
			      idb, idb_len, out, out_len);
}

static int add_id_auth(struct v2_sa *sa, struct v2_out *o, bool contact)
{
	uint8_t idb[4 + IKE_ID_MAX], auth[AUTH_MAX];
	size_t idb_len, auth_len = sizeof(auth);
	struct ike_id id;
	struct ikev2_pl *pl;

	idb_len = id_body(sa, idb, &id);
	if (auth_compute(sa, sa->initiator, psk_for(sa, false), idb, idb_len, auth, &auth_len))
		return -1;
	pl = v2_out_add(o, sa->initiator ? IKEV2_PL_IDI : IKEV2_PL_IDR);
	pl->u.id.type = id.type;
	pl->u.id.data.p = v2_out_copy(o, id.data, id.len);
	pl->u.id.data.len = id.len;
	if (contact) /* 2.4: we have no other IKE SA with this peer (only_sa_with_peer) */
		v2_out_notify(o, IKEV2_N_INITIAL_CONTACT, 0, NULL, 0, NULL, 0);
	pl = v2_out_add(o, IKEV2_PL_AUTH);
	pl->u.auth.method = IKEV2_AUTH_SHARED_KEY_MIC;
	pl->u.auth.data.p = v2_out_copy(o, auth, auth_len);
	pl->u.auth.data.len = auth_len;
	secret_wipe(auth, sizeof(auth));
	return 0;
}

/* An IKE SA on which both sides have authenticated (INITIAL_CONTACT, 2.4,
 * speaks of those only). */
static bool authenticated(const struct v2_sa *o)
{
	return o->state == V2_ESTABLISHED || o->state == V2_DELETING || o->state == V2_REKEY_NEW;
}

/* 2.4: INITIAL_CONTACT asserts that this IKE SA is the only one between
 * the two identities: not so while another authenticated one of ours with
 * this peer lives (another crypto map entry or profile for the same peer
 * has its own IKE SA). The peer would otherwise delete that SA and its
 * children (strongSwan does, silently). */
static bool only_sa_with_peer(const struct v2_sa *sa)
{
	for (const struct v2_sa *o = sa->eng->all; o; o = o->all_next)
		if (o != sa && authenticated(o) && ip_addr_eq(&o->remote, &sa->remote))
			return false;
	return true;
}

int v2_auth_start(struct v2_sa *sa)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	int ret = -1;

	if (!o)
		return -1;
	if (!add_id_auth(sa, o, only_sa_with_peer(sa)) && !v2_child_req_out(sa, o, 0))
		ret = v2_send_request(sa, IKEV2_EXCH_IKE_AUTH, T_AUTH, o);
	free(o);
	return ret;
}

static void peer_id(const struct ikev2_pl *pl, struct ike_id *id)
{
	memset(id, 0, sizeof(*id));
	id->type = pl->u.id.type;
	id->len = (uint8_t)(pl->u.id.data.len > IKE_ID_MAX ? IKE_ID_MAX : pl->u.id.data.len);
	memcpy(id->data, pl->u.id.data.p, id->len);
}

/* Check the peer's identity and AUTH payload. Logs what failed, naming
 * the identity and the method (never the key or the AUTH value). */
static bool verify_peer(struct v2_sa *sa, const struct ikev2_msg *m)
{
	const struct ikev2_pl *idp = ikev2_msg_find(m, sa->initiator ? IKEV2_PL_IDR : IKEV2_PL_IDI);
	const struct ikev2_pl *ap = ikev2_msg_find(m, IKEV2_PL_AUTH);
	uint8_t want[AUTH_MAX];
	size_t want_len = sizeof(want);
	char ids[IKE_ID_STRLEN];
	struct ike_id id;

	if (!idp || !ap) {
		log_notice("ikev2 %s: AUTHENTICATION_FAILED: ID or AUTH payload missing",
			   sa->conn->name);
		return false;
	}
	peer_id(idp, &id);
	ike_id_str(&id, ids, sizeof(ids));
	if (sa->conn->remote_id.type && !ike_id_eq(&id, &sa->conn->remote_id)) {
		char want_s[IKE_ID_STRLEN];

		log_notice("ikev2 %s: AUTHENTICATION_FAILED: peer ID %s is not the expected %s",
			   sa->conn->name, ids, ike_id_str(&sa->conn->remote_id, want_s, sizeof(want_s)));
		return false;
	}
	if (ap->u.auth.method != IKEV2_AUTH_SHARED_KEY_MIC) {
		log_notice("ikev2 %s: AUTHENTICATION_FAILED: peer %s uses auth method %u, we "
			   "accept pre-shared key (2)", sa->conn->name, ids, ap->u.auth.method);
		return false;
	}
	/* 2.15: the AUTH is over the ID payload body as received */
	if (auth_compute(sa, !sa->initiator, psk_for(sa, true), idp->body.p, idp->body.len, want,
			 &want_len) ||
	    ap->u.auth.data.len != want_len ||
	    CRYPTO_memcmp(ap->u.auth.data.p, want, want_len)) {
		log_notice("ikev2 %s: AUTHENTICATION_FAILED: peer %s, method pre-shared key: "
			   "AUTH does not verify with the key of %s (different keys?)",
			   sa->conn->name, ids,
			   sa->conn->psk_remote_from[0] ? sa->conn->psk_remote_from : "the connection");
		secret_wipe(want, sizeof(want));
		return false;
	}
	secret_wipe(want, sizeof(want));
	log_info("ikev2 %s: peer %s authenticated with pre-shared key", sa->conn->name, ids);
	sa->peer_id = id;
	return true;
}

/* Would the connection have chosen the algorithms this SA runs with? */
bool v2_conn_algs_fit(const struct ike_conn *c, const struct v2_sa *sa)
{
	struct ikev2_transform xf[4];
	struct ikev2_proposal p = {.num = 1, .proto = IKEV2_PROTO_IKE, .xf = xf};
	struct ikev2_sa s = {.n_prop = 1, .prop = &p};

	xf[p.n_xf++] = (struct ikev2_transform){IKEV2_TRANS_ENCR, sa->algs.encr,
						sa->algs.encr_bits};
	xf[p.n_xf++] = (struct ikev2_transform){IKEV2_TRANS_PRF, sa->algs.prf, 0};
	if (sa->algs.integ)
		xf[p.n_xf++] = (struct ikev2_transform){IKEV2_TRANS_INTEG, sa->algs.integ, 0};
	xf[p.n_xf++] = (struct ikev2_transform){IKEV2_TRANS_DH, sa->group, 0};
	return v2_ike_prop_accept(c, &s);
}

/* Responder: IKE_SA_INIT chose a connection by address only; now that
 * IDi is known, take the connection whose addresses and remote identity
 * both fit, one naming that identity before one accepting any. Among
 * those, the one whose selectors hold the child's first TSi/TSr pair
 * (two crypto map entries for one peer, the peer asking for the second
 * one's traffic), then one whose selectors intersect them, then the first
 * in configuration order. `seen` gets the names considered. */
static struct ike_conn *conn_for_id(struct v2_sa *sa, const struct ike_id *id,
				    const struct ikev2_msg *m, char *seen, size_t len)
{
	struct ike_conn *best = NULL;
	int best_score = -1;
	size_t off = 0;

	seen[0] = '\0';
	for (struct v2_conn *vc = sa->eng->conns; vc; vc = vc->next) {
		struct ike_conn *c = &vc->c;
		int score;

		if (vc->removed || !v2_conn_addr_ok(c, &sa->local, &sa->remote))
			continue;
		if (off < len) {
			char want[IKE_ID_STRLEN];

			off += (size_t)snprintf(seen + off, len - off, "%s%s (wants %s)",
						off ? ", " : "", c->name,
						c->remote_id.type ? ike_id_str(&c->remote_id, want,
									       sizeof(want))
								  : "any ID");
		}
		if (!v2_conn_algs_fit(c, sa))
			continue;
		if (c->remote_id.type && ike_id_eq(id, &c->remote_id))
			score = 3;
		else if (!c->remote_id.type)
			score = 0;
		else
			continue;
		score = score * 3 + v2_ts_fit(&c->child.sel, m);
		if (score > best_score) {
			best = c;
			best_score = score;
		}
	}
	return best;
}

static bool choose_conn(struct v2_sa *sa, const struct ikev2_msg *m)
{
	const struct ikev2_pl *idp = ikev2_msg_find(m, IKEV2_PL_IDI);
	char seen[512], ids[IKE_ID_STRLEN];
	struct ike_conn *c;
	struct ike_id id;

	if (!idp)
		return true; /* verify_peer says what is missing */
	peer_id(idp, &id);
	c = conn_for_id(sa, &id, m, seen, sizeof(seen));
	if (!c) {
		log_notice("ikev2 %s: AUTHENTICATION_FAILED: peer ID %s fits no connection "
			   "(considered: %s)", sa->conn->name, ike_id_str(&id, ids, sizeof(ids)),
			   seen[0] ? seen : "none");
		return false;
	}
	if (c != sa->conn)
		log_info("ikev2 %s: peer ID %s: using connection %s", sa->conn->name,
			 ike_id_str(&id, ids, sizeof(ids)), c->name);
	v2_sa_set_conn(sa, c);
	return true;
}

/* 2.4 INITIAL_CONTACT: "this IKE SA is the only IKE SA currently active
 * between the authenticated identities": our other authenticated IKE SAs
 * of this connection and peer are stale. SAs still in IKE_SA_INIT or
 * IKE_AUTH are not: nobody is authenticated on them yet (a half-open SA
 * from the same address may be another initiator behind one NAT, or the
 * peer's own initiation crossing ours, which would leave each side with
 * the SA the other one killed). */
static void initial_contact(struct v2_sa *sa)
{
	for (struct v2_sa *o = sa->eng->all; o; o = o->all_next)
		if (o != sa && o->conn == sa->conn && authenticated(o) &&
		    ip_addr_eq(&o->remote, &sa->remote))
			v2_sa_dead(o, "INITIAL_CONTACT from the peer", false);
}

void v2_auth_request(struct v2_sa *sa, const struct ikev2_msg *m)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	uint32_t msgid = m->hdr.msgid;

	if (!o)
		return;
	if (!choose_conn(sa, m) || !verify_peer(sa, m)) {
		v2_out_notify(o, IKEV2_N_AUTHENTICATION_FAILED, 0, NULL, 0, NULL, 0);
		v2_send_response(sa, IKEV2_EXCH_IKE_AUTH, msgid, o);
		v2_sa_dead(sa, "authentication failed", false);
		goto out;
	}
	if (ikev2_msg_find_notify(m, IKEV2_N_INITIAL_CONTACT))
		initial_contact(sa);
	v2_sa_state(sa, V2_ESTABLISHED);
	if (add_id_auth(sa, o, false)) {
		v2_sa_dead(sa, "cannot compute AUTH", true);
		goto out;
	}
	/* 1.2: the first Child SA; its failure leaves the IKE SA up (2.21.2) */
	v2_child_respond(sa, sa->conn, m, o, 0, NULL, sa->ni, sa->ni_len, sa->nr, sa->nr_len);
	v2_send_response(sa, IKEV2_EXCH_IKE_AUTH, msgid, o);
out:
	free(o);
}

void v2_auth_response(struct v2_sa *sa, const struct ikev2_msg *m)
{
	if (ikev2_msg_find_notify(m, IKEV2_N_AUTHENTICATION_FAILED)) {
		char ids[IKE_ID_STRLEN];
		struct ike_id id;

		v2_local_id(sa, &id);
		log_notice("ikev2 %s: AUTHENTICATION_FAILED: the peer refused our pre-shared key "
			   "authentication as %s (wrong key, or an ID it does not accept)",
			   sa->conn->name, ike_id_str(&id, ids, sizeof(ids)));
		v2_sa_dead(sa, "authentication failed", true);
		return;
	}
	if (!verify_peer(sa, m)) {
		/* 2.21.2: we could send an INFORMATIONAL with AUTHENTICATION_FAILED;
		 * the SA is simply closed */
		v2_sa_dead(sa, "authentication of the responder failed", true);
		return;
	}
	v2_sa_state(sa, V2_ESTABLISHED);
	v2_child_complete(sa, m, NULL, sa->ni, sa->ni_len, sa->nr, sa->nr_len);
}
