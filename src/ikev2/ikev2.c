/* IKEv2 engine core: connections, the IKE SA life cycle, message I/O
 * (SK encryption, message IDs with window size 1, retransmission and the
 * response cache of RFC 7296 2.1/2.3), dispatch to the exchanges, timers. */
#include "ikev2/engine.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "crypto/dh.h"
#include "lib/log.h"

#define DEF_RETX_BASE_MS 500
#define DEF_RETX_TRIES 5
#define DEF_HALF_OPEN_MS 30000

static struct ratelimit drop_rl = RATELIMIT_INIT(10, 20);

static const char *const state_names[] = {
	[V2_INIT_SENT] = "INIT_SENT", [V2_INIT_DONE] = "INIT_DONE",
	[V2_AUTH_SENT] = "AUTH_SENT", [V2_ESTABLISHED] = "ESTABLISHED",
	[V2_DELETING] = "DELETING",   [V2_REKEY_NEW] = "REKEY_NEW",
	[V2_DEAD] = "DEAD",
};

static void move_children_encap(struct v2_sa *sa);

uint64_t v2_now(const struct ikev2 *e)
{
	return e->env.now_ms(e->env.ctx);
}

int v2_random(struct ikev2 *e, void *buf, size_t len)
{
	return e->env.random(e->env.ctx, buf, len);
}

void v2_drop(struct ikev2 *e, enum ikev2_drop d, const char *why)
{
	e->drops[d]++;
	log_rl(&drop_rl, LOG_LVL_INFO, "ikev2: dropped message: %s", why);
}

uint64_t ikev2_drops(const struct ikev2 *e, enum ikev2_drop d)
{
	return d < V2_DROP__COUNT ? e->drops[d] : 0;
}

const char *ikev2_drop_name(enum ikev2_drop d)
{
	static const char *const n[V2_DROP__COUNT] = {
		[V2_DROP_PARSE] = "malformed",     [V2_DROP_NO_SA] = "unknown-spi",
		[V2_DROP_MSGID] = "message-id",    [V2_DROP_DECRYPT] = "integrity",
		[V2_DROP_UNEXPECTED] = "unexpected", [V2_DROP_COOKIE] = "wrong-cookie",
	};
	return d < V2_DROP__COUNT && n[d] ? n[d] : "?";
}

void ikev2_get_stats(const struct ikev2 *e, struct ikev2_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (const struct v2_sa *sa = e->all; sa; sa = sa->all_next) {
		if (sa->state == V2_DEAD)
			continue;
		st->sas++;
		st->established += sa->state == V2_ESTABLISHED;
	}
	st->half_open = e->tab.half_open;
	st->cookie_threshold = e->g.cookies_off ? 0 : e->g.cookie_threshold;
	st->cookies_sent = e->cookies_sent;
	memcpy(st->drops, e->drops, sizeof(st->drops));
}

/* ---- engine and connections ---- */

struct ikev2 *ikev2_new(const struct ike_env *env, const struct ike_global *g)
{
	struct ikev2 *e = calloc(1, sizeof(*e));
	uint8_t fresh[32];

	if (!e)
		return NULL;
	e->env = *env;
	if (g)
		e->g = *g;
	if (!e->g.retransmit_base_ms)
		e->g.retransmit_base_ms = DEF_RETX_BASE_MS;
	if (!e->g.retransmit_tries)
		e->g.retransmit_tries = DEF_RETX_TRIES;
	if (!e->g.half_open_timeout_ms)
		e->g.half_open_timeout_ms = DEF_HALF_OPEN_MS;
	if (v2_random(e, fresh, sizeof(fresh))) {
		free(e);
		return NULL;
	}
	ike_cookie_rotate(&e->cookie, fresh);
	secret_wipe(fresh, sizeof(fresh));
	return e;
}

static void sa_free(struct v2_sa *sa);

static struct v2_conn *vconn(struct ike_conn *c)
{
	return (struct v2_conn *)(void *)c; /* c is the first member */
}

static void conn_free(struct v2_conn *vc)
{
	ike_conn_clear(&vc->c);
	free(vc);
}

void v2_conn_hold(struct ike_conn *c)
{
	if (c)
		vconn(c)->refs++;
}

void v2_conn_drop(struct ike_conn *c)
{
	if (c)
		vconn(c)->refs--;
}

/* Unlink and free a removed connection once no SA refers to it. */
static void conn_reap(struct ikev2 *e)
{
	for (struct v2_conn **pp = &e->conns; *pp;) {
		struct v2_conn *vc = *pp;

		if (vc->removed && !vc->refs) {
			*pp = vc->next;
			conn_free(vc);
		} else {
			pp = &vc->next;
		}
	}
}

void ikev2_free(struct ikev2 *e)
{
	if (!e)
		return;
	while (e->all) {
		struct v2_sa *sa = e->all;

		v2_sa_dead(sa, "shutdown", false);
		e->all = sa->all_next;
		sa_free(sa);
	}
	while (e->conns) {
		struct v2_conn *vc = e->conns;

		e->conns = vc->next;
		conn_free(vc);
	}
	ike_cookie_wipe(&e->cookie);
	free(e);
}

struct ike_conn *v2_conn_find(struct ikev2 *e, const char *name)
{
	for (struct v2_conn *vc = e->conns; vc; vc = vc->next)
		if (!vc->removed && !strcmp(vc->c.name, name))
			return &vc->c;
	return NULL;
}

bool v2_conn_addr_ok(const struct ike_conn *c, const struct ip_addr *local,
		     const struct ip_addr *remote)
{
	if (c->local.af && !ip_addr_eq(&c->local, local))
		return false;
	return !c->remote.af || ip_addr_eq(&c->remote, remote);
}

/* Responder: the first connection whose addresses fit (remote unset =
 * any). IKE_AUTH chooses again by the peer's identity (auth.c). */
struct ike_conn *v2_conn_for_peer(struct ikev2 *e, const struct ip_addr *local,
				  const struct ip_addr *remote)
{
	for (struct v2_conn *vc = e->conns; vc; vc = vc->next)
		if (!vc->removed && v2_conn_addr_ok(&vc->c, local, remote))
			return &vc->c;
	return NULL;
}

/* Connections are separate allocations, so adding one never moves what
 * SAs point at: allowed at any time (the daemon syncs on every apply). */
int ikev2_conn_add(struct ikev2 *e, const struct ike_conn *c)
{
	struct v2_conn *vc, **pp;

	if (v2_conn_find(e, c->name) || !c->n_ike_props)
		return -1;
	vc = calloc(1, sizeof(*vc));
	if (!vc)
		return -1;
	if (ike_conn_copy(&vc->c, c)) {
		free(vc);
		return -1;
	}
	for (pp = &e->conns; *pp; pp = &(*pp)->next)
		; /* keep configuration order: the responder picks the first fit */
	*pp = vc;
	return 0;
}

/* The children of entry c living on another entry's IKE SA: DELETE them
 * (they hold c until they are gone). */
static void delete_children_of(struct v2_sa *sa, const struct ike_conn *c)
{
	bool any = false;

	for (struct v2_child *ch = sa->children; ch; ch = ch->next)
		if (ch->conn == c && !ch->rekeyed) {
			ch->rekeyed = true; /* no rekey of its own meanwhile */
			ch->soft_at = 0;
			v2_queue(sa, T_DELETE_CHILD, ch->spi_in);
			any = true;
		}
	if (any)
		v2_queue_run(sa);
}

/* The IKE SA of entry c, which is being removed, also carries children of
 * other entries for the same peer (v2_child_conn_for): it goes on as the
 * IKE SA of the first of them, whose children become its own; c's
 * children become another entry's, for delete_children_of to DELETE. An
 * ISAKMP/IKE SA serves the peer, not one entry (IOS). */
static void hand_over(struct v2_sa *sa, struct ike_conn *c)
{
	struct ike_conn *heir = NULL;

	for (struct v2_child *ch = sa->children; ch && !heir; ch = ch->next)
		if (ch->conn && !vconn(ch->conn)->removed)
			heir = ch->conn;
	if (!heir)
		return;
	log_info("ikev2 %s: removed; its IKE SA goes on for %s, whose children it carries",
		 c->name, heir->name);
	for (struct v2_child *ch = sa->children; ch; ch = ch->next) {
		if (ch->conn == heir) {
			v2_conn_drop(heir);
			ch->conn = NULL;
		} else if (!ch->conn) {
			ch->conn = c;
			v2_conn_hold(c);
		}
	}
	v2_sa_set_conn(sa, heir);
}

/* Delete only this connection's SAs: an established IKE SA gets a DELETE
 * (1.4.1; its Child SAs go at once), the others are dropped. The
 * connection is forgotten now and freed when its last SA is. */
int ikev2_conn_del(struct ikev2 *e, const char *name)
{
	struct ike_conn *c = v2_conn_find(e, name);

	if (!c)
		return -1;
	vconn(c)->removed = true;
	for (struct v2_sa *sa = e->all; sa; sa = sa->all_next) {
		if (sa->conn == c && sa->state == V2_ESTABLISHED && !sa->replaced)
			hand_over(sa, c);
		if (sa->conn != c && sa->state == V2_ESTABLISHED)
			delete_children_of(sa, c);
		if (sa->conn != c || sa->state == V2_DEAD)
			continue;
		sa->quiet = true;
		sa->n_queue = 0;
		if (sa->state != V2_ESTABLISHED) {
			v2_sa_dead(sa, "connection removed", false);
			continue;
		}
		while (sa->children)
			v2_child_remove(sa, sa->children);
		if (sa->task == T_NONE)
			v2_info_start(sa, T_DELETE_IKE, 0);
		else
			v2_queue(sa, T_DELETE_IKE, 0);
	}
	conn_reap(e);
	return 0;
}

/* ---- IKE SAs ---- */

struct v2_sa *v2_sa_new(struct ikev2 *e, struct ike_conn *c, bool initiator)
{
	struct v2_sa *sa = calloc(1, sizeof(*sa));
	uint8_t *spi;

	if (!sa)
		return NULL;
	sa->eng = e;
	sa->conn = c;
	vconn(c)->refs++;
	sa->initiator = initiator;
	spi = initiator ? sa->spi_i : sa->spi_r;
	do { /* our SPI: random, non-zero, unique (2.6) */
		if (v2_random(e, spi, 8)) {
			vconn(c)->refs--;
			free(sa);
			return NULL;
		}
	} while (!memcmp(spi, "\0\0\0\0\0\0\0\0", 8) || ike_sa_table_find(&e->tab, spi));
	memcpy(sa->ent.spi, spi, 8);
	ike_sa_table_add(&e->tab, &sa->ent);
	sa->all_next = e->all;
	e->all = sa;
	sa->created_ms = sa->last_rx_ms = v2_now(e);
	sa->state = initiator ? V2_INIT_SENT : V2_INIT_DONE;
	if (!initiator)
		e->tab.half_open++;
	return sa;
}

struct v2_sa *v2_sa_new_rekey(struct v2_sa *old, bool initiator)
{
	struct ikev2 *e = old->eng;
	struct v2_sa *n = v2_sa_new(e, old->conn, initiator);

	if (!n)
		return NULL;
	if (!initiator && e->tab.half_open)
		e->tab.half_open--; /* v2_sa_new counted it as half-open */
	n->state = V2_REKEY_NEW;
	n->local = old->local;
	n->remote = old->remote;
	n->lport = old->lport;
	n->rport = old->rport;
	n->nat_local = old->nat_local;
	n->nat_remote = old->nat_remote;
	n->frag_ok = old->frag_ok;
	n->initial_contact_sent = true;
	n->peer_id = old->peer_id;
	return n;
}

struct v2_sa *v2_sa_by_spi(struct ikev2 *e, const uint8_t spi[8])
{
	struct v2_sa *sa = (struct v2_sa *)(void *)ike_sa_table_find(&e->tab, spi);

	return sa && sa->state != V2_DEAD ? sa : NULL;
}

void v2_sa_set_conn(struct v2_sa *sa, struct ike_conn *c)
{
	if (sa->conn == c)
		return;
	vconn(sa->conn)->refs--;
	vconn(c)->refs++;
	sa->conn = c;
}

static bool transition_ok(uint8_t from, uint8_t to)
{
	switch (to) {
	case V2_AUTH_SENT: return from == V2_INIT_SENT;
	case V2_ESTABLISHED: return from == V2_AUTH_SENT || from == V2_INIT_DONE ||
				    from == V2_REKEY_NEW; /* rekeyed IKE SAs */
	case V2_DELETING: return from == V2_ESTABLISHED;
	case V2_DEAD: return true;
	default: return false;
	}
}

void v2_sa_state(struct v2_sa *sa, enum v2_state to)
{
	if (sa->state == to)
		return;
	if (!transition_ok(sa->state, (uint8_t)to)) {
		log_err("ikev2 %s: refused state change %s -> %s", sa->conn->name,
			state_names[sa->state], state_names[to]);
		return;
	}
	log_debug("ikev2 %s: SA %016llx %s -> %s", sa->conn->name,
		  (unsigned long long)be64toh(*(uint64_t *)(void *)sa->ent.spi),
		  state_names[sa->state], state_names[to]);
	if (sa->state == V2_INIT_DONE && sa->eng->tab.half_open)
		sa->eng->tab.half_open--;
	if (to == V2_ESTABLISHED) {
		bool rekeyed = sa->state == V2_REKEY_NEW;

		sa->state = (uint8_t)to;
		v2_ike_rekey_arm(sa);
		v2_keepalive_arm(sa);
		/* a rekeyed IKE SA continues the connection: no new "up" */
		if (!rekeyed && sa->eng->env.conn_event)
			sa->eng->env.conn_event(sa->eng->env.ctx, sa->conn->name, true, 0);
		return;
	}
	sa->state = (uint8_t)to;
}

void v2_sa_dead(struct v2_sa *sa, const char *why, bool notify_daemon)
{
	bool was_up = sa->state == V2_ESTABLISHED || sa->state == V2_DELETING;
	struct v2_sa *n;

	if (sa->state == V2_DEAD)
		return;
	/* an IKE SA our rekey was creating dies with its parent */
	if (sa->rekey_pending && (n = v2_sa_by_spi(sa->eng, sa->rekey_new_spi)) &&
	    n->state == V2_REKEY_NEW)
		v2_sa_dead(n, "parent IKE SA closed", false);
	/* 2.8.2: the peer's redundant new SA of a rekey collision, left for
	 * the peer to delete (rekey.c collision_resolve): once this SA is
	 * gone the peer can no longer finish that rekey and delete it */
	if ((n = v2_sa_by_spi(sa->eng, sa->rekey_peer_spi)) && n != sa &&
	    n->state == V2_REKEY_NEW && n->replaced)
		v2_sa_dead(n, "redundant IKE SA of a rekey collision", false);
	if (sa->replaced || sa->quiet)
		notify_daemon = false;
	log_info("ikev2 %s: IKE SA closed: %s", sa->conn->name, why);
	while (sa->children)
		v2_child_remove(sa, sa->children);
	ike_retx_stop(&sa->retx);
	sa->task = T_NONE;
	v2_sa_state(sa, V2_DEAD);
	if (notify_daemon && was_up && sa->eng->env.conn_event)
		sa->eng->env.conn_event(sa->eng->env.ctx, sa->conn->name, false,
					sa->conn->dpd_action);
}

static void sa_free(struct v2_sa *sa)
{
	ike_sa_table_del(&sa->eng->tab, &sa->ent);
	while (sa->children)
		v2_child_remove(sa, sa->children);
	dh_free(sa->dh);
	dh_free(sa->creq.dh);
	v2_conn_drop(sa->creq.conn);
	free(sa->msg1);
	free(sa->msg2);
	ikev2_keys_free(&sa->keys);
	cipher_free(sa->enc_out);
	cipher_free(sa->enc_in);
	mac_free(sa->mac_out);
	mac_free(sa->mac_in);
	ike_retx_stop(&sa->retx);
	ike_resp_cache_clear(&sa->rc);
	v2_frag_clear(&sa->frags);
	vconn(sa->conn)->refs--;
	secret_wipe(sa, sizeof(*sa));
	free(sa);
}

int v2_sa_crypto_setup(struct v2_sa *sa)
{
	struct ikev2_keys *k = &sa->keys;
	struct secret *eo = sa->initiator ? k->sk_ei : k->sk_er;
	struct secret *ei = sa->initiator ? k->sk_er : k->sk_ei;
	struct secret *ao = sa->initiator ? k->sk_ai : k->sk_ar;
	struct secret *ai = sa->initiator ? k->sk_ar : k->sk_ai;

	cipher_free(sa->enc_out);
	cipher_free(sa->enc_in);
	mac_free(sa->mac_out);
	mac_free(sa->mac_in);
	sa->mac_out = sa->mac_in = NULL;
	sa->enc_out = cipher_new(sa->algs.encr, sa->algs.encr_bits, eo->p, eo->len, true);
	sa->enc_in = cipher_new(sa->algs.encr, sa->algs.encr_bits, ei->p, ei->len, false);
	if (sa->algs.integ) {
		sa->mac_out = mac_new(sa->algs.integ, ao->p, ao->len);
		sa->mac_in = mac_new(sa->algs.integ, ai->p, ai->len);
		if (!sa->mac_out || !sa->mac_in)
			return -1;
	}
	return sa->enc_out && sa->enc_in ? 0 : -1;
}

/* ---- outgoing payload lists ---- */

struct ikev2_pl *v2_out_add(struct v2_out *o, uint8_t type)
{
	struct ikev2_pl *pl;

	if (o->n >= sizeof(o->pl) / sizeof(o->pl[0])) {
		o->failed = true;
		return &o->pl[0]; /* harmless scratch; build refuses */
	}
	pl = &o->pl[o->n++];
	memset(pl, 0, sizeof(*pl));
	pl->type = type;
	return pl;
}

const uint8_t *v2_out_copy(struct v2_out *o, const void *p, size_t len)
{
	uint8_t *d = o->data + o->data_off;

	if (len > sizeof(o->data) - o->data_off) {
		o->failed = true;
		return o->data;
	}
	if (len)
		memcpy(d, p, len);
	o->data_off += len;
	return d;
}

void v2_out_notify(struct v2_out *o, uint16_t type, uint8_t proto, const void *spi,
		   uint8_t spi_len, const void *data, size_t len)
{
	struct ikev2_pl *pl = v2_out_add(o, IKEV2_PL_NOTIFY);

	pl->u.n.type = type;
	pl->u.n.proto = proto;
	pl->u.n.spi_len = spi_len;
	if (spi_len)
		memcpy(pl->u.n.spi, spi, spi_len);
	pl->u.n.data.p = v2_out_copy(o, data, len);
	pl->u.n.data.len = len;
}

/* ---- sending ---- */

int v2_send_raw(struct v2_sa *sa, const uint8_t *buf, size_t len)
{
	struct ikev2 *e = sa->eng;

	return e->env.send(e->env.ctx, buf, len, &sa->local, sa->lport, &sa->remote, sa->rport);
}

void v2_send_all(struct v2_sa *sa, const uint8_t *buf, size_t len)
{
	struct cur c = cur_init(buf, len);

	while (cur_left(&c) >= IKEV2_HDR_LEN) {
		const uint8_t *msg = cur_ptr(&c);
		struct cur h = c;
		uint32_t mlen;

		if (!cur_skip(&h, IKEV2_HDR_OFF_LENGTH) || !cur_u32(&h, &mlen) ||
		    mlen < IKEV2_HDR_LEN || !cur_skip(&c, mlen))
			return;
		v2_send_raw(sa, msg, mlen);
	}
}

static void fill_hdr(struct v2_sa *sa, struct ikev2_hdr *h, uint8_t exch, uint32_t msgid,
		     bool response)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->spi_i, sa->spi_i, 8);
	memcpy(h->spi_r, sa->spi_r, 8);
	h->version = IKEV2_VERSION;
	h->exchange = exch;
	h->msgid = msgid;
	/* 3.1: I is set by the original initiator, R in responses */
	h->flags = (uint8_t)((sa->initiator ? IKEV2_FLAG_INITIATOR : 0) |
			     (response ? IKEV2_FLAG_RESPONSE : 0));
}

/* Bytes the SKF framing adds around one fragment's inner payloads:
 * IKE header, SKF header, IV, padding (at most a block), ICV. */
static size_t skf_overhead(const struct v2_sa *sa)
{
	const struct encr_alg *a = cipher_alg(sa->enc_out);
	const struct integ_alg *m = sa->mac_out ? mac_alg(sa->mac_out) : NULL;
	size_t icv = a && a->aead ? a->icv_len : m ? m->icv_len : 32;

	return IKEV2_HDR_LEN + IKEV2_GEN_HDR_LEN + IKEV2_SKF_HDR_LEN + (a ? a->iv_len : 16) +
	       (a && a->block_len ? a->block_len : 16) + icv;
}

/* RFC 7383 2.5: the inner payloads cut into SKF fragments that each fit
 * `mtu`, all with the message's header, written back to back into w.
 * Fragment 1 names the first inner payload, the others 0 (2.5). */
static enum ikev2_err seal_frags(struct v2_sa *sa, const struct ikev2_hdr *h, uint8_t first,
				 const uint8_t *plain, size_t plen, size_t mtu, struct wcur *w)
{
	size_t chunk = mtu - skf_overhead(sa), total = (plen + chunk - 1) / chunk;
	enum ikev2_err err = IKEV2_OK;

	if (!plen || total > V2_FRAG_MAX)
		return IKEV2_ERR_BUILD;
	w->off = 0;
	for (size_t k = 0; k < total && !err; k++) {
		size_t off = k * chunk, n = plen - off < chunk ? plen - off : chunk;

		err = ikev2_sk_encrypt(h, k ? IKEV2_PL_NONE : first, (uint16_t)(k + 1),
				       (uint16_t)total, plain + off, n, sa->enc_out, sa->mac_out, w);
	}
	if (!err)
		log_debug("ikev2 %s: message %u sent as %zu fragments", sa->conn->name, h->msgid,
			  total);
	return err;
}

/* Encrypt o into a new heap buffer (3.14): one message, or its SKF
 * fragments back to back when it exceeds the fragmentation MTU. */
static uint8_t *seal(struct v2_sa *sa, uint8_t exch, uint32_t msgid, bool response,
		     const struct v2_out *o, size_t *out_len)
{
	uint8_t *plain = malloc(IKEV2_MAX_MSG_LEN), *buf = malloc(IKEV2_MAX_MSG_LEN);
	struct wcur pw = wcur_init(plain, IKEV2_MAX_MSG_LEN);
	struct wcur w = wcur_init(buf, IKEV2_MAX_MSG_LEN);
	uint8_t first = o->n ? o->pl[0].type : IKEV2_PL_NONE;
	size_t mtu = v2_frag_mtu(sa);
	struct ikev2_hdr h;
	enum ikev2_err err = IKEV2_ERR_BUILD;

	fill_hdr(sa, &h, exch, msgid, response);
	if (plain && buf && !o->failed)
		err = ikev2_payloads_build(o->pl, o->n, &pw);
	if (!err)
		err = ikev2_sk_encrypt(&h, first, 0, 0, plain, pw.off, sa->enc_out, sa->mac_out, &w);
	if (!err && mtu && w.off > mtu)
		err = seal_frags(sa, &h, first, plain, pw.off, mtu, &w);
	if (plain) {
		secret_wipe(plain, pw.off);
		free(plain);
	}
	if (err) {
		log_err("ikev2 %s: cannot build %u message: %s", sa->conn->name, exch,
			ikev2_err_str(err));
		free(buf);
		return NULL;
	}
	log_debug("ikev2 %s: send %s exch %u msgid %u, %zu payloads, %zu bytes",
		  sa->conn->name, response ? "response" : "request", exch, msgid, o->n, w.off);
	v2_trace(sa->eng, sa->conn->name, &sa->remote, sa->rport, true, &h, o->pl, o->n, w.off);
	*out_len = w.off;
	return buf;
}

int v2_send_request(struct v2_sa *sa, uint8_t exch, enum v2_task task, const struct v2_out *o)
{
	size_t len;
	uint8_t *buf;

	if (sa->task != T_NONE)
		return -1; /* window size 1 (2.3): the caller queues */
	buf = seal(sa, exch, sa->msgid_next, false, o, &len);
	if (!buf)
		return -1;
	sa->task = (uint8_t)task;
	sa->retx_msgid = sa->msgid_next++;
	v2_send_all(sa, buf, len); /* RFC 7383 2.6.1: all fragments, each time */
	ike_retx_start(&sa->retx, buf, len, v2_now(sa->eng),
		       task == T_DPD && sa->conn->dpd_retry_s ? v2_dpd_wait_ms(sa->conn->dpd_retry_s, 1)
							      : sa->eng->g.retransmit_base_ms);
	return 0;
}

int v2_send_response(struct v2_sa *sa, uint8_t exch, uint32_t msgid, const struct v2_out *o)
{
	size_t len;
	uint8_t *buf = seal(sa, exch, msgid, true, o, &len);

	if (!buf)
		return -1;
	v2_send_all(sa, buf, len);
	/* 2.1: remember it, a retransmitted request gets the same answer */
	ike_resp_cache_set(&sa->rc, buf, len, msgid);
	free(buf);
	return 0;
}

void v2_queue(struct v2_sa *sa, enum v2_task task, uint32_t spi)
{
	for (unsigned i = 0; i < sa->n_queue; i++)
		if (sa->queue[i].task == task && sa->queue[i].spi == spi)
			return;
	if (sa->n_queue < V2_MAX_QUEUE)
		sa->queue[sa->n_queue++] = (struct v2_work){.task = (uint8_t)task, .spi = spi};
}

void v2_queue_refused(struct v2_sa *sa, uint8_t proto, uint32_t spi_in)
{
	if (sa->n_queue < V2_MAX_QUEUE)
		sa->queue[sa->n_queue++] = (struct v2_work){
			.task = T_DELETE_REFUSED, .proto = proto, .spi = spi_in};
}

void v2_queue_run(struct v2_sa *sa)
{
	while (sa->task == T_NONE && sa->n_queue && sa->state == V2_ESTABLISHED) {
		struct v2_work w = sa->queue[0];

		memmove(sa->queue, sa->queue + 1, --sa->n_queue * sizeof(sa->queue[0]));
		switch (w.task) {
		case T_CHILD_NEW: {
			struct ike_conn *c = w.spi ? v2_conn_by_reqid(sa->eng, w.spi) : sa->conn;

			if (c) /* not if its entry was removed while queued */
				v2_create_child_start(sa, 0, c);
			break;
		}
		case T_CHILD_REKEY: {
			struct v2_child *ch = v2_child_by_in(sa, w.spi);

			/* not if it was rekeyed (by the peer) while queued */
			if (ch && !ch->rekeyed)
				v2_create_child_start(sa, w.spi, NULL);
			break;
		}
		case T_IKE_REKEY:
			if (!sa->replaced && v2_ike_rekey_start(sa))
				log_err("ikev2 %s: cannot start the IKE SA rekey", sa->conn->name);
			break;
		case T_DELETE_REFUSED:
			v2_info_delete_refused(sa, w.proto, w.spi);
			break;
		default:
			v2_info_start(sa, (enum v2_task)w.task, w.spi);
			break;
		}
	}
}

/* ---- receiving ---- */

static struct v2_sa *lookup(struct ikev2 *e, const struct ikev2_msg *m)
{
	/* the I flag says who sent it; our SPI is the other one */
	bool from_initiator = m->hdr.flags & IKEV2_FLAG_INITIATOR;
	const uint8_t *spi = from_initiator ? m->hdr.spi_r : m->hdr.spi_i;
	struct ike_sa_entry *ent = ike_sa_table_find(&e->tab, spi);
	struct v2_sa *sa = (struct v2_sa *)(void *)ent;

	if (!sa || sa->state == V2_DEAD || sa->initiator == from_initiator)
		return NULL;
	if (from_initiator && memcmp(sa->spi_i, m->hdr.spi_i, 8))
		return NULL;
	if (!from_initiator && sa->state != V2_INIT_SENT && memcmp(sa->spi_r, m->hdr.spi_r, 8))
		return NULL;
	return sa;
}

/* Decrypt SK and append the inner payloads. plain must outlive m's use. */
static bool open_sk(struct v2_sa *sa, struct ikev2_msg *m, const uint8_t *buf, size_t len,
		    uint8_t **plain)
{
	const struct ikev2_pl *sk = ikev2_msg_find(m, IKEV2_PL_SK);
	size_t plen;

	if (!sk || !sa->enc_in) {
		v2_drop(sa->eng, V2_DROP_UNEXPECTED, "no SK payload");
		return false;
	}
	*plain = malloc(sk->u.sk.body_len);
	if (!*plain)
		return false;
	if (ikev2_sk_decrypt(buf, len, &sk->u.sk, sa->enc_in, sa->mac_in, *plain, &plen)) {
		v2_drop(sa->eng, V2_DROP_DECRYPT, "SK does not verify");
		return false;
	}
	if (ikev2_msg_parse_inner(m, *plain, plen, sk->u.sk.inner_next)) {
		v2_drop(sa->eng, V2_DROP_PARSE, "inner payloads malformed");
		return false;
	}
	return true;
}

static void dispatch_request(struct v2_sa *sa, const struct ikev2_msg *m)
{
	switch (m->hdr.exchange) {
	case IKEV2_EXCH_IKE_AUTH:
		if (sa->state == V2_INIT_DONE && !sa->initiator)
			v2_auth_request(sa, m);
		else
			v2_drop(sa->eng, V2_DROP_UNEXPECTED, "IKE_AUTH in wrong state");
		break;
	case IKEV2_EXCH_CREATE_CHILD_SA:
		v2_create_child_request(sa, m);
		break;
	case IKEV2_EXCH_INFORMATIONAL:
		v2_info_request(sa, m);
		break;
	default:
		v2_drop(sa->eng, V2_DROP_UNEXPECTED, "unknown exchange");
	}
}

static void dispatch_response(struct v2_sa *sa, const struct ikev2_msg *m)
{
	uint8_t task = sa->task;

	ike_retx_stop(&sa->retx);
	sa->task = T_NONE;
	sa->done_task = task;
	switch (task) {
	case T_AUTH:
		v2_auth_response(sa, m);
		break;
	case T_CHILD_NEW:
	case T_CHILD_REKEY:
	case T_IKE_REKEY:
		v2_create_child_response(sa, m);
		break;
	default:
		v2_info_response(sa, m);
		break;
	}
	v2_queue_run(sa);
}

static bool msgid_ok(struct v2_sa *sa, const struct ikev2_msg *m)
{
	if (m->hdr.flags & IKEV2_FLAG_RESPONSE) {
		if (sa->task == T_NONE || m->hdr.msgid != sa->retx_msgid) {
			v2_drop(sa->eng, V2_DROP_MSGID, "response to no request");
			return false;
		}
		return true;
	}
	if (m->hdr.msgid == sa->msgid_peer)
		return true;
	/* 2.1: a retransmitted request: send the cached response again;
	 * RFC 7383 2.6.1: for a fragmented one only on fragment 1 */
	if (sa->rc.valid && m->hdr.msgid == sa->rc.msgid) {
		const struct ikev2_pl *skf = ikev2_msg_find(m, IKEV2_PL_SKF);

		if (skf && skf->u.sk.frag_num != 1)
			return false;
		log_debug("ikev2 %s: retransmitted request %u, resending response",
			  sa->conn->name, m->hdr.msgid);
		v2_send_all(sa, sa->rc.buf, sa->rc.len);
		return false;
	}
	v2_drop(sa->eng, V2_DROP_MSGID, "request outside the window");
	return false;
}

static void input_sa(struct v2_sa *sa, struct ikev2_msg *m, const uint8_t *buf, size_t len,
		     const struct ip_addr *src, uint16_t sport, uint16_t dport)
{
	uint8_t *plain = NULL;

	if (m->hdr.exchange == IKEV2_EXCH_IKE_SA_INIT) {
		if ((m->hdr.flags & IKEV2_FLAG_RESPONSE) && sa->task == T_SA_INIT)
			v2_init_response(sa, m, buf, len, sport);
		else if (!(m->hdr.flags & IKEV2_FLAG_RESPONSE) && sa->msg2)
			v2_send_raw(sa, sa->msg2, sa->msg2_len); /* 2.1 retransmission */
		else
			v2_drop(sa->eng, V2_DROP_UNEXPECTED, "IKE_SA_INIT in wrong state");
		return;
	}
	if (!msgid_ok(sa, m))
		goto out;
	if (ikev2_msg_find(m, IKEV2_PL_SKF)) {
		/* RFC 7383 2.6: keep fragments until the message is whole */
		if (v2_frag_input(sa, m, buf, len, &plain) <= 0)
			goto out;
	} else if (!open_sk(sa, m, buf, len, &plain)) {
		goto out;
	}
	sa->last_rx_ms = v2_now(sa->eng);
	v2_trace(sa->eng, sa->conn->name, src, sport, false, &m->hdr, m->pl, m->n_pl, len);
	/* 2.23: a peer behind a NAT may change its port; follow it once the
	 * message is authenticated. Only when the peer is the one behind the
	 * NAT: "a host behind a NAT SHOULD NOT do this" (an attacker outside
	 * could redirect our traffic). */
	if (sa->nat_remote &&
	    (!ip_addr_eq(src, &sa->remote) || sport != sa->rport || dport != sa->lport)) {
		bool port_moved = sport != sa->rport || dport != sa->lport;
		log_debug("ikev2 %s: peer moved to port %u (our port %u)", sa->conn->name, sport,
			  dport);
		sa->remote = *src;
		sa->rport = sport;
		sa->lport = dport;
		if (port_moved)
			move_children_encap(sa);
	}
	if (!(m->hdr.flags & IKEV2_FLAG_RESPONSE)) {
		sa->msgid_peer = m->hdr.msgid + 1;
		dispatch_request(sa, m);
	} else {
		dispatch_response(sa, m);
	}
out:
	free(plain);
}

/* RFC 3948 / RFC 7296 2.23: the installed Child SAs follow the peer's new
 * NAT mapping (ports only; an address change needs MOBIKE). Outbound SAs
 * send from lport to rport, inbound ones are the mirror image. */
static void move_children_encap(struct v2_sa *sa)
{
	const struct ike_env *env = &sa->eng->env;

	if (!env->sa_update_encap)
		return;
	for (struct v2_child *ch = sa->children; ch; ch = ch->next) {
		if (!ch->installed)
			continue;
		env->sa_update_encap(env->ctx, ch->spi_out, ch->proto, sa->lport, sa->rport);
		env->sa_update_encap(env->ctx, ch->spi_in, ch->proto, sa->rport, sa->lport);
		log_info("ikev2 %s: Child SA %08x/%08x now encapsulated to port %u", sa->conn->name,
			 ch->spi_in, ch->spi_out, sa->rport);
	}
}

static void run_pending(struct ikev2 *e);

void ikev2_input(struct ikev2 *e, const uint8_t *buf, size_t len, const struct ip_addr *src,
		 uint16_t sport, const struct ip_addr *dst, uint16_t dport)
{
	struct ikev2_msg *m = malloc(sizeof(*m));
	enum ikev2_err err;
	struct v2_sa *sa;

	if (!m)
		return;
	err = ikev2_msg_parse(buf, len, m);
	if (err) {
		v2_drop(e, V2_DROP_PARSE, ikev2_err_str(err));
		goto out;
	}
	log_debug("ikev2: recv exch %u msgid %u flags 0x%02x, %zu payloads, %zu bytes",
		  m->hdr.exchange, m->hdr.msgid, m->hdr.flags, m->n_pl, len);
	if (m->hdr.exchange == IKEV2_EXCH_IKE_SA_INIT) /* the others once decrypted */
		v2_trace(e, NULL, src, sport, false, &m->hdr, m->pl, m->n_pl, len);
	if (m->hdr.exchange == IKEV2_EXCH_IKE_SA_INIT &&
	    !(m->hdr.flags & IKEV2_FLAG_RESPONSE) && m->hdr.msgid == 0) {
		/* a new SA, or a retransmission of a request we answered */
		for (sa = e->all; sa; sa = sa->all_next)
			if (!sa->initiator && sa->state == V2_INIT_DONE &&
			    !memcmp(sa->spi_i, m->hdr.spi_i, 8) && ip_addr_eq(&sa->remote, src))
				break;
		if (sa)
			input_sa(sa, m, buf, len, src, sport, dport);
		else
			v2_init_request(e, m, buf, len, src, sport, dst, dport);
		goto out;
	}
	sa = lookup(e, m);
	if (!sa) {
		v2_drop(e, V2_DROP_NO_SA, "unknown IKE SPI");
		goto out;
	}
	input_sa(sa, m, buf, len, src, sport, dport);
	run_pending(e);
out:
	free(m);
}

/* ---- timers ---- */

uint64_t ikev2_next_timeout(const struct ikev2 *e)
{
	uint64_t t = UINT64_MAX;

	for (const struct v2_sa *sa = e->all; sa; sa = sa->all_next) {
		uint64_t s = sa->state == V2_DEAD ? 0 : v2_sa_next_timer(sa);

		if (s < t)
			t = s;
	}
	return t;
}

void ikev2_tick(struct ikev2 *e)
{
	uint64_t now = v2_now(e);

	for (struct v2_sa *sa = e->all; sa; sa = sa->all_next)
		if (sa->state != V2_DEAD)
			v2_timers(sa, now);
	for (struct v2_sa **pp = &e->all; *pp;) {
		struct v2_sa *sa = *pp;

		if (sa->state == V2_DEAD) {
			*pp = sa->all_next;
			sa_free(sa);
		} else {
			pp = &sa->all_next;
		}
	}
	run_pending(e);
	conn_reap(e);
}

/* ---- operator and data plane entry points ---- */

/* The connection's current IKE SA: an established one if any, else one
 * we are setting up. Rekeyed, deleting and rekey-made SAs do not count,
 * nor the peer's half-open ones. */
static struct v2_sa *sa_of_conn(struct ikev2 *e, const struct ike_conn *c)
{
	struct v2_sa *setup = NULL;

	for (struct v2_sa *sa = e->all; sa; sa = sa->all_next) {
		/* A half-open SA we answered (INIT_DONE) is the peer's attempt,
		 * perhaps abandoned or forged (anyone can send IKE_SA_INIT from
		 * its address): it must not hold back our own initiation for
		 * the half-open timeout. */
		if (sa->conn != c || sa->replaced || sa->state == V2_DEAD ||
		    sa->state == V2_DELETING || sa->state == V2_REKEY_NEW ||
		    sa->state == V2_INIT_DONE)
			continue;
		if (sa->state == V2_ESTABLISHED)
			return sa;
		setup = setup ? setup : sa;
	}
	return setup;
}

/* A new IKE SA for c; f: the packet that asked for it (an acquire), or NULL. */
static int initiate(struct ikev2 *e, struct ike_conn *c, const struct flow *f)
{
	struct v2_sa *sa;

	if (!c->remote.af)
		return -1;
	sa = v2_sa_new(e, c, true);
	if (!sa)
		return -1;
	sa->local = c->local;
	sa->remote = c->remote;
	sa->lport = c->local_port;
	sa->rport = c->remote_port;
	if (f) {
		sa->trigger = *f;
		sa->have_trigger = true;
	}
	if (v2_init_start(sa)) {
		v2_sa_dead(sa, "cannot build IKE_SA_INIT", false);
		return -1;
	}
	return 0;
}

int ikev2_initiate(struct ikev2 *e, const char *name)
{
	struct ike_conn *c = v2_conn_find(e, name);

	if (!c || !c->remote.af)
		return -1;
	return sa_of_conn(e, c) ? 0 : initiate(e, c, NULL);
}

/* An acquire for c's policy on its established IKE SA: ask for a new
 * child unless one of c's children holds the flow f (any child, without
 * f), one is being asked for, or the last request was refused or narrowed
 * to what a child already holds (not again for V2_RETRY_MS). The data
 * plane acquires when no child of the policy holds a packet's flow: the
 * peer narrowed the first child to a part of the ACL (RFC 7296 2.9). */
static bool wants_child(struct v2_sa *sa, const struct ike_conn *c, const struct flow *f)
{
	if (sa->task == T_CHILD_NEW || v2_now(sa->eng) < sa->child_new_hold_ms)
		return false;
	for (const struct v2_child *ch = sa->children; ch; ch = ch->next)
		if (v2_child_entry(sa, ch) == c && (!f || ts_list_match(&ch->sel, f, false)))
			return false;
	return true;
}

/* An established IKE SA of another entry on which c's children can live:
 * one that carries some already, else the first that could. IOS keeps one
 * IKE SA per peer for all the crypto map entries that name it; so does
 * esprit, unless the peer refused (v2_share_refused). */
static struct v2_sa *shared_sa(struct ikev2 *e, struct ike_conn *c)
{
	struct v2_sa *could = NULL;

	if (vconn(c)->own_ike_sa)
		return NULL;
	for (struct v2_sa *sa = e->all; sa; sa = sa->all_next) {
		if (sa->conn == c || sa->state != V2_ESTABLISHED || sa->replaced)
			continue;
		if (v2_sa_carries(sa, c))
			return sa;
		if (!could && v2_conn_shares_ike_sa(sa, c))
			could = sa;
	}
	return could;
}

/* An IKE SA of another entry that we are setting up with c's peer, which
 * c could share once it is up (the same addresses and IDs; its
 * algorithms are checked then). Packets of several entries for one peer
 * that arrive together (a gateway starting) then get one IKE SA. */
static struct v2_sa *setup_sa(struct ikev2 *e, struct ike_conn *c)
{
	if (vconn(c)->own_ike_sa)
		return NULL;
	for (struct v2_sa *sa = e->all; sa; sa = sa->all_next)
		if (sa->initiator && sa->conn != c &&
		    (sa->state == V2_INIT_SENT || sa->state == V2_AUTH_SENT) &&
		    v2_conn_same_ends(sa, c) &&
		    (!c->remote_id.type || ike_id_eq(&c->remote_id, &sa->conn->remote_id)))
			return sa;
	return NULL;
}

/* Acquires that waited for another entry's IKE SA (setup_sa): now that
 * it is up (or gone), each asks again. */
static void run_pending(struct ikev2 *e)
{
	for (struct v2_conn *vc = e->conns; vc; vc = vc->next) {
		struct flow f = vc->pending_flow;
		bool have = vc->have_pending_flow;

		if (!vc->acquire_pending || vc->removed || setup_sa(e, &vc->c))
			continue;
		vc->acquire_pending = vc->have_pending_flow = false;
		ikev2_acquire(e, vc->c.child.reqid, have ? &f : NULL);
	}
}

struct ike_conn *v2_conn_by_reqid(struct ikev2 *e, uint32_t reqid)
{
	for (struct v2_conn *vc = e->conns; vc; vc = vc->next)
		if (!vc->removed && vc->c.child.reqid == reqid)
			return &vc->c;
	return NULL;
}

void v2_share_refused(struct v2_sa *sa, struct ike_conn *c)
{
	if (vconn(c)->removed)
		return;
	vconn(c)->own_ike_sa = true;
	log_notice("ikev2 %s: the peer did not take this entry's Child SA on the IKE SA of %s "
		   "(its policies for the two are separate connections): %s gets an IKE SA of "
		   "its own", c->name, sa->conn->name, c->name);
	if (!sa_of_conn(sa->eng, c))
		initiate(sa->eng, c, NULL);
}

int ikev2_acquire(struct ikev2 *e, uint32_t reqid, const struct flow *f)
{
	struct ike_conn *c = v2_conn_by_reqid(e, reqid);
	struct v2_sa *sa;

	if (!c)
		return -1;
	sa = sa_of_conn(e, c);
	if (!sa && !(sa = shared_sa(e, c))) {
		if (setup_sa(e, c)) { /* its child goes on that one once it is up */
			vconn(c)->acquire_pending = true;
			if (f) {
				vconn(c)->pending_flow = *f;
				vconn(c)->have_pending_flow = true;
			}
			return 0;
		}
		return initiate(e, c, f);
	}
	if (sa->state == V2_ESTABLISHED && wants_child(sa, c, f)) {
		if (sa->conn != c && !v2_sa_carries(sa, c))
			log_info("ikev2 %s: a Child SA on the IKE SA of %s (the same peer)",
				 c->name, sa->conn->name);
		if (f) {
			sa->trigger = *f;
			sa->have_trigger = true;
		}
		v2_queue(sa, T_CHILD_NEW, sa->conn == c ? 0 : reqid);
		v2_queue_run(sa);
	}
	return 0;
}

static struct v2_child *child_find(struct ikev2 *e, uint32_t spi, struct v2_sa **owner)
{
	for (struct v2_sa *sa = e->all; sa; sa = sa->all_next)
		for (struct v2_child *ch = sa->children; ch; ch = ch->next)
			if (ch->spi_in == spi || ch->spi_out == spi) {
				*owner = sa;
				return ch;
			}
	return NULL;
}

void ikev2_expire(struct ikev2 *e, uint32_t spi, uint8_t proto, bool hard)
{
	struct v2_sa *sa;
	struct v2_child *ch = child_find(e, spi, &sa);

	(void)proto;
	if (!ch || ch->rekeyed)
		return;
	if (hard) {
		v2_queue(sa, T_DELETE_CHILD, ch->spi_in);
	} else {
		v2_queue(sa, T_CHILD_REKEY, ch->spi_in);
	}
	v2_queue_run(sa);
}

/* Does the IKE SA carry the child SAs of reqid (its entry's, or another
 * entry's child living on it)? */
static bool carries_reqid(const struct v2_sa *sa, uint32_t reqid)
{
	if (sa->conn->child.reqid == reqid)
		return true;
	for (const struct v2_child *ch = sa->children; ch; ch = ch->next)
		if (v2_child_entry(sa, ch)->child.reqid == reqid)
			return true;
	return false;
}

void ikev2_traffic(struct ikev2 *e, uint32_t reqid, bool inbound)
{
	for (struct v2_sa *sa = e->all; sa; sa = sa->all_next)
		if (carries_reqid(sa, reqid)) {
			if (inbound) {
				/* 2.4: authenticated traffic from the peer proves
				 * it alive: what we sent before needs no DPD */
				sa->in_traffic = true;
				sa->out_traffic = false;
				sa->last_rx_ms = v2_now(e);
			} else {
				sa->out_traffic = true;
			}
		}
}

int ikev2_ike_delete(struct ikev2 *e, const char *name, const struct ip_addr *peer)
{
	struct ike_conn *c = v2_conn_find(e, name);
	int n = 0;

	if (!c)
		return -1;
	/* every one: a connection can have several (half-open ones, the
	 * survivor of two crossing initiations) */
	for (struct v2_sa *sa = e->all; sa; sa = sa->all_next) {
		if (sa->conn != c || sa->replaced || sa->state == V2_DEAD ||
		    sa->state == V2_DELETING || (peer && !ip_addr_eq(&sa->remote, peer)))
			continue; /* a rekeyed one is being deleted already */
		n++;
		if (sa->state != V2_ESTABLISHED) {
			v2_sa_dead(sa, "deleted by operator", true);
			continue;
		}
		v2_queue(sa, T_DELETE_IKE, 0);
		v2_queue_run(sa);
	}
	return n;
}

int ikev2_child_rekey(struct ikev2 *e, uint32_t spi_in)
{
	struct v2_sa *sa;
	struct v2_child *ch = child_find(e, spi_in, &sa);

	if (!ch)
		return -1;
	v2_queue(sa, T_CHILD_REKEY, ch->spi_in);
	v2_queue_run(sa);
	return 0;
}

int ikev2_child_delete(struct ikev2 *e, uint32_t spi_in)
{
	struct v2_sa *sa;
	struct v2_child *ch = child_find(e, spi_in, &sa);

	if (!ch)
		return -1;
	v2_queue(sa, T_DELETE_CHILD, ch->spi_in);
	v2_queue_run(sa);
	return 0;
}

int ikev2_ike_rekey(struct ikev2 *e, const char *name)
{
	struct ike_conn *c = v2_conn_find(e, name);
	struct v2_sa *sa = c ? sa_of_conn(e, c) : NULL;

	if (!sa || sa->state != V2_ESTABLISHED)
		return -1;
	v2_queue(sa, T_IKE_REKEY, 0);
	v2_queue_run(sa);
	return 0;
}

/* ---- show ---- */

void ikev2_foreach_sa(const struct ikev2 *e, ikev2_sa_visit_fn fn, void *arg)
{
	for (const struct v2_sa *sa = e->all; sa; sa = sa->all_next) {
		struct ikev2_sa_info i = {0};

		if (sa->state == V2_DEAD)
			continue;
		i.conn = sa->conn->name;
		i.initiator = sa->initiator;
		i.established = sa->state == V2_ESTABLISHED;
		memcpy(i.spi_i, sa->spi_i, 8);
		memcpy(i.spi_r, sa->spi_r, 8);
		i.local = sa->local;
		i.remote = sa->remote;
		i.lport = sa->lport;
		i.rport = sa->rport;
		i.nat = sa->nat_local || sa->nat_remote;
		i.encr = sa->algs.encr;
		i.encr_bits = sa->algs.encr_bits;
		i.integ = sa->algs.integ;
		i.prf = sa->algs.prf;
		i.dh = sa->group;
		v2_local_id(sa, &i.local_id);
		i.remote_id = sa->peer_id;
		for (const struct v2_child *ch = sa->children; ch; ch = ch->next)
			i.n_child++;
		fn(&i, arg);
	}
}

void ikev2_foreach_child(const struct ikev2 *e, ikev2_child_visit_fn fn, void *arg)
{
	for (const struct v2_sa *sa = e->all; sa; sa = sa->all_next)
		for (const struct v2_child *ch = sa->children; ch; ch = ch->next) {
			struct ikev2_child_info i = {
				.conn = sa->conn->name, .proto = ch->proto,
				.spi_in = ch->spi_in, .spi_out = ch->spi_out,
				.cpi_in = ch->cpi_in, .cpi_out = ch->cpi_out,
				.encr = ch->algs.encr, .encr_bits = ch->algs.encr_bits,
				.integ = ch->algs.integ, .esn = ch->esn, .mode = ch->mode,
				.sel = ch->sel,
			};
			fn(&i, arg);
		}
}

unsigned ikev2_sa_count(const struct ikev2 *e)
{
	unsigned n = 0;

	for (const struct v2_sa *sa = e->all; sa; sa = sa->all_next)
		n += sa->state != V2_DEAD;
	return n;
}

unsigned ikev2_half_open(const struct ikev2 *e)
{
	return e->tab.half_open;
}
