/* Configuration -> IKE connections (see ikeconn.h): crypto map entries
 * and protected tunnel interfaces. */
#include "config/ikeconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/reconcile.h"
#include "crypto/alg.h"

static void id_from_cfg(struct ike_id *out, const struct cfg_ike_id *in)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	switch (in->type) {
	case CFG_ID_ADDRESS:
		out->type = in->addr.af == AF_INET6 ? IKE_ID_IPV6 : IKE_ID_IPV4;
		out->len = (uint8_t)ip_addr_len(&in->addr);
		memcpy(out->data, in->addr.b, out->len);
		return;
	case CFG_ID_FQDN:
		out->type = IKE_ID_FQDN;
		break;
	case CFG_ID_EMAIL:
		out->type = IKE_ID_RFC822;
		break;
	case CFG_ID_KEY_ID:
		out->type = IKE_ID_KEY_ID;
		break;
	default:
		return; /* IKE_ID_ANY: our address / any peer */
	}
	n = strnlen(in->name, sizeof(in->name));
	if (n > IKE_ID_MAX)
		n = IKE_ID_MAX;
	out->len = (uint8_t)n;
	memcpy(out->data, in->name, n);
}

/* The remote identity the profile requires: the first exact (non-domain,
 * host) `match identity remote`; otherwise any (the profile was already
 * selected by address). */
static void remote_id_from_profile(struct ike_id *out, const struct cfg_ikev2_profile *p)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < p->nmatch; i++) {
		const struct cfg_ikev2_match_id *m = &p->match[i];
		struct cfg_ike_id id;

		memset(&id, 0, sizeof(id));
		if (m->domain)
			continue;
		if (m->type == CFG_ID_ADDRESS) {
			if (m->addr.len != ip_addr_len(&m->addr.addr) * 8)
				continue; /* a subnet: any identity within it */
			id.type = CFG_ID_ADDRESS;
			id.addr = m->addr.addr;
		} else {
			id.type = m->type;
			memcpy(id.name, m->name, sizeof(id.name));
		}
		id_from_cfg(out, &id);
		return;
	}
}

static void proposal_from_cfg(struct ike_proposal *out, const struct cfg_ikev2_proposal *p)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < p->nencr && i < IKE_XF_MAX; i++) {
		out->encr[out->n_encr] = p->encr[i];
		out->encr_bits[out->n_encr++] = p->encr_bits[i];
	}
	for (unsigned i = 0; i < p->ninteg && i < IKE_XF_MAX; i++)
		out->integ[out->n_integ++] = p->integ[i];
	for (unsigned i = 0; i < p->nprf && i < IKE_XF_MAX; i++)
		out->prf[out->n_prf++] = p->prf[i];
	for (unsigned i = 0; i < p->ngroup && i < IKE_XF_MAX; i++)
		out->dh[out->n_dh++] = p->group[i];
}

static int ike_proposals(const struct config *c, const struct ip_addr *local,
			 struct ike_conn *conn, char *err, size_t errlen)
{
	const struct cfg_ikev2_policy *pol = config_ikev2_policy_select(c, local);

	if (!pol) {
		snprintf(err, errlen, "%s: no crypto ikev2 policy matches the local address",
			 conn->name);
		return -1;
	}
	for (unsigned i = 0; i < pol->nproposals && conn->n_ike_props < IKE_MAX_PROPOSALS; i++) {
		const struct cfg_ikev2_proposal *p = config_ikev2_proposal(c, pol->proposals[i]);
		if (p)
			proposal_from_cfg(&conn->ike_props[conn->n_ike_props++], p);
	}
	if (!conn->n_ike_props) {
		snprintf(err, errlen, "%s: crypto ikev2 policy %s has no usable proposal",
			 conn->name, pol->name);
		return -1;
	}
	return 0;
}

/* ESP (and/or AH) child proposal from the transform set. */
static void child_from_set(struct ike_child_cfg *ch, const struct cfg_transform_set *ts)
{
	if (ch->n_props == IKE_MAX_PROPOSALS)
		return;
	if (ts->has_esp) {
		struct ike_child_proposal *p = &ch->props[ch->n_props++];
		memset(p, 0, sizeof(*p));
		p->proto = IPSEC_PROTO_ESP;
		p->encr[0] = ts->esp_encr != ENCR_NONE ? ts->esp_encr : ENCR_NULL;
		p->encr_bits[0] = ts->esp_key_bits;
		if (!p->encr_bits[0] && ts->esp_encr != ENCR_NONE) {
			const struct encr_alg *a = encr_alg_find(ts->esp_encr);
			p->encr_bits[0] = a ? encr_key_bits_default(a) : 0;
			if (a && a->fixed_key_bits)
				p->encr_bits[0] = 0;
		}
		p->n_encr = 1;
		if (ts->esp_integ != AUTH_NONE) {
			p->integ[0] = ts->esp_integ;
			p->n_integ = 1;
		}
	} else if (ts->ah_integ != AUTH_NONE) {
		struct ike_child_proposal *p = &ch->props[ch->n_props++];
		memset(p, 0, sizeof(*p));
		p->proto = IPSEC_PROTO_AH;
		p->integ[0] = ts->ah_integ;
		p->n_integ = 1;
	}
}

/* One child proposal per transform set, in the configured order (RFC 7296
 * section 3.3: proposals in order of preference). Mode and IPComp are
 * the first set's: validation makes the others agree. Returns the first
 * set, or NULL when one is missing. */
static const struct cfg_transform_set *child_from_sets(const struct config *c,
							struct ike_child_cfg *ch,
							const struct cfg_ts_list *l)
{
	const struct cfg_transform_set *first = NULL;

	for (unsigned i = 0; i < l->n; i++) {
		const struct cfg_transform_set *ts = config_transform_set(c, l->name[i]);
		if (!ts)
			return NULL;
		if (!first)
			first = ts;
		child_from_set(ch, ts);
	}
	if (first) {
		ch->mode = first->mode;
		ch->ipcomp = first->comp_deflate;
	}
	return first;
}

static int conn_keys(const struct config *c, const struct cfg_ikev2_profile *prof,
		     struct ike_conn *conn, char *err, size_t errlen)
{
	const struct secret *l = prof->auth_local_psk, *r = prof->auth_remote_psk;
	char *from = conn->psk_remote_from;
	size_t flen = sizeof(conn->psk_remote_from);

	if (r)
		snprintf(from, flen, "ikev2 profile %s (authentication remote)", prof->name);
	if (prof->keyring[0]) {
		const struct cfg_ikev2_keyring *k = config_ikev2_keyring(c, prof->keyring);
		const struct cfg_ikev2_peer *peer =
			k ? config_ikev2_keyring_peer(k, &conn->remote, NULL) : NULL;
		if (peer) {
			if (!l)
				l = peer->psk_local;
			if (!r && (r = peer->psk_remote ? peer->psk_remote : peer->psk_local))
				snprintf(from, flen, "keyring %s peer %s", k->name, peer->name);
		}
	}
	if (!l)
		l = r;
	if (!r && l)
		snprintf(from, flen, "ikev2 profile %s (authentication local)", prof->name);
	if (!l) {
		snprintf(err, errlen,
			 "%s: no pre-shared key for peer (ikev2 profile %s, keyring %s)",
			 conn->name, prof->name, prof->keyring[0] ? prof->keyring : "none");
		return -1;
	}
	conn->psk_local = secret_dup(l);
	conn->psk_remote = r && r != l ? secret_dup(r) : NULL;
	return conn->psk_local ? 0 : -1;
}

static void conn_dpd(const struct config *c, const struct cfg_ikev2_profile *prof,
		     struct ike_conn *conn)
{
	const struct cfg_dpd *d = prof->dpd.interval ? &prof->dpd : &c->ikev2.dpd;
	static const uint8_t mode[] = {IKE_DPD_OFF, IKE_DPD_ON_DEMAND, IKE_DPD_PERIODIC};
	static const uint8_t action[] = {IKE_DPD_CLEAR, IKE_DPD_HOLD, IKE_DPD_RESTART};

	conn->dpd_interval_s = d->interval;
	conn->dpd_retry_s = (uint8_t)(d->retry > 60 ? 60 : d->retry);
	conn->dpd_mode = d->interval && d->mode < 3 ? mode[d->mode] : IKE_DPD_OFF;
	conn->dpd_action = d->action < 3 ? action[d->action] : IKE_DPD_CLEAR;
	conn->nat_keepalive_s = prof->nat_keepalive ? prof->nat_keepalive : c->ikev2.nat_keepalive;
	conn->frag_mtu = (uint16_t)(prof->frag_mtu ? prof->frag_mtu
				    : c->ikev2.fragmentation ? (c->ikev2.frag_mtu ? c->ikev2.frag_mtu : IKE_FRAG_MTU_DEFAULT)
							     : 0);
}

/* The map's outside address; on a dual-stack interface the one of the
 * peer's family (an IPv6 peer is reached from the IPv6 address). */
static int map_local(const struct config *c, const char *map, int peer_af, struct ip_addr *out)
{
	const struct cfg_map_binding *b = config_map_binding(c, map);
	if (b && b->local.af) {
		*out = b->local;
		return 0;
	}
	for (unsigned i = 0; i < c->nifs; i++) {
		const struct cfg_interface *ifc = &c->ifs[i];
		bool match = b && b->ifname[0] ? strcmp(ifc->name, b->ifname) == 0
					       : strcmp(ifc->crypto_map, map) == 0;
		if (match && (ifc->addr.addr.af || ifc->addr6.addr.af)) {
			bool v6 = ifc->addr6.addr.af && (peer_af == AF_INET6 || !ifc->addr.addr.af);

			*out = v6 ? ifc->addr6.addr : ifc->addr.addr;
			return 0;
		}
	}
	return -1;
}

static int build_conn(const struct config *c, const struct cfg_map_entry *e,
		      struct ike_conn *conn, char *err, size_t errlen)
{
	const struct cfg_ikev2_profile *prof = config_ikev2_profile(c, e->ikev2_profile);
	const struct cfg_acl *acl = config_acl(c, e->acl);

	memset(conn, 0, sizeof(*conn));
	snprintf(conn->name, sizeof(conn->name), "%s %u", e->map, e->seq);
	conn->version = 2;
	if (!prof || !child_from_sets(c, &conn->child, &e->ts) || !acl) {
		snprintf(err, errlen, "%s: needs set ikev2-profile, set transform-set and "
			 "match address", conn->name);
		return -1;
	}
	if (map_local(c, e->map, e->peer.af, &conn->local) < 0)
		return 1; /* not applied: not an error, not a connection */
	conn->remote = e->peer;
	id_from_cfg(&conn->local_id, &prof->local_id);
	remote_id_from_profile(&conn->remote_id, prof);
	conn->ike_lifetime_s = prof->lifetime_s ? prof->lifetime_s : CFG_IKEV2_DEF_LIFETIME;
	conn_dpd(c, prof, conn);
	if (ike_proposals(c, &conn->local, conn, err, errlen) < 0)
		return -1;

	struct ike_child_cfg *ch = &conn->child;
	for (unsigned i = 0; i < acl->n && ch->sel.n < TS_LIST_MAX; i++)
		if (acl->aces[i].permit)
			ch->sel.ts[ch->sel.n++] = acl->aces[i].ts;
	ch->pfs_group = e->pfs_group;
	ch->hard_seconds = (uint32_t)(e->lifetime_s ? e->lifetime_s : c->sa_lifetime_s);
	ch->soft_seconds = ch->hard_seconds / 10 * 9;
	ch->hard_kbytes = e->lifetime_kb ? e->lifetime_kb : c->sa_lifetime_kb;
	ch->soft_kbytes = ch->hard_kbytes / 10 * 9;
	ch->reqid = reconcile_reqid(e->map, e->seq);
	ch->replay_window = e->replay_window >= 0 ? (uint32_t)e->replay_window
			    : c->replay_disabled ? 0 : c->replay_window;
	ch->per_host = e->per_host;
	ch->esn = true;
	return conn_keys(c, prof, conn, err, errlen);
}

/* A protected tunnel interface (route-based VTI): local = tunnel source,
 * remote = tunnel destination, the ipsec profile's ikev2-profile and
 * transform-set, and one child with selectors any <-> any of the tunnel's
 * inner address family (everything routed into the interface). Returns 1
 * when the interface is not complete yet (no connection, no error). */
static int build_vti_conn(const struct config *c, const struct cfg_interface *ifc,
			  struct ike_conn *conn, char *err, size_t errlen)
{
	const struct cfg_ipsec_profile *ip = config_ipsec_profile(c, ifc->tun_protection);
	const struct cfg_ikev2_profile *prof = ip ? config_ikev2_profile(c, ip->ikev2_profile) : NULL;
	struct ike_child_cfg *ch = &conn->child;

	memset(conn, 0, sizeof(*conn));
	snprintf(conn->name, sizeof(conn->name), "%s", ifc->name);
	conn->version = 2;
	conn->route_based = true;
	if (!ip || !prof || !child_from_sets(c, ch, &ip->ts)) {
		snprintf(err, errlen, "interface %s: ipsec profile %s needs set ikev2-profile and "
			 "set transform-set", ifc->name, ifc->tun_protection);
		return -1;
	}
	if (!ifc->tun_src.af || !ifc->tun_dst.af)
		return 1;
	conn->local = ifc->tun_src;
	conn->remote = ifc->tun_dst;
	id_from_cfg(&conn->local_id, &prof->local_id);
	remote_id_from_profile(&conn->remote_id, prof);
	conn->ike_lifetime_s = prof->lifetime_s ? prof->lifetime_s : CFG_IKEV2_DEF_LIFETIME;
	conn_dpd(c, prof, conn);
	if (ike_proposals(c, &conn->local, conn, err, errlen) < 0)
		return -1;
	ts_any(&ch->sel.ts[ch->sel.n++], ifc->tun_mode_af == AF_INET6 ? AF_INET6 : AF_INET);
	/* dual-overlay: IPv4 and IPv6 in the one child SA (two selector pairs
	 * in TSi/TSr, RFC 7296 section 2.9), whatever the outer family */
	if (ifc->tun_dual)
		ts_any(&ch->sel.ts[ch->sel.n++], AF_INET6);
	ch->mode = IPSEC_MODE_TUNNEL; /* a VTI carries whole packets */
	ch->pfs_group = ip->pfs_group;
	ch->hard_seconds = (uint32_t)(ip->lifetime_s ? ip->lifetime_s : c->sa_lifetime_s);
	ch->soft_seconds = ch->hard_seconds / 10 * 9;
	ch->hard_kbytes = ip->lifetime_kb ? ip->lifetime_kb : c->sa_lifetime_kb;
	ch->soft_kbytes = ch->hard_kbytes / 10 * 9;
	ch->reqid = reconcile_vti_reqid(ifc->name);
	ch->replay_window = c->replay_disabled ? 0 : c->replay_window;
	ch->esn = true;
	return conn_keys(c, prof, conn, err, errlen);
}

int config_ike_conns(const struct config *c, struct ike_conn_list *out, char *err,
		     size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->conns = calloc(c->nmaps + c->nifs ? c->nmaps + c->nifs : 1, sizeof(*out->conns));
	if (!out->conns)
		return -1;
	for (unsigned i = 0; i < c->nmaps; i++) {
		const struct cfg_map_entry *e = &c->maps[i];
		int r;
		if (e->manual)
			continue;
		r = build_conn(c, e, &out->conns[out->n], err, errlen);
		if (r < 0) {
			ike_conn_clear(&out->conns[out->n]);
			ike_conn_list_free(out);
			return -1;
		}
		if (r == 0)
			out->n++;
	}
	for (unsigned i = 0; i < c->nifs; i++) {
		int r;
		if (!reconcile_is_vti(&c->ifs[i]))
			continue;
		r = build_vti_conn(c, &c->ifs[i], &out->conns[out->n], err, errlen);
		if (r < 0) {
			ike_conn_clear(&out->conns[out->n]);
			ike_conn_list_free(out);
			return -1;
		}
		if (r == 0)
			out->n++;
	}
	return 0;
}

void ike_conn_list_free(struct ike_conn_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		ike_conn_clear(&l->conns[i]);
	free(l->conns);
	memset(l, 0, sizeof(*l));
}

void config_ike_global(const struct config *c, struct ike_global *g)
{
	memset(g, 0, sizeof(*g));
	g->cookie_threshold = c->ikev2.cookie_challenge;
	g->cookies_off = c->ikev2.cookie_challenge == 0;
}
