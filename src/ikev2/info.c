/* INFORMATIONAL (RFC 7296 1.4): DELETE of Child and IKE SAs, liveness
 * checks (2.4, empty INFORMATIONAL as DPD), and the per-SA timers.
 *
 *   HDR, SK { [N,] [D,] ... }  -->
 *                   <--  HDR, SK { [N,] [D,] ... }
 */
#include <stdlib.h>
#include <string.h>

#include "ikev2/engine.h"
#include "lib/log.h"

static void delete_out(struct v2_out *o, uint8_t proto, const uint32_t *spis, uint16_t n)
{
	struct ikev2_pl *pl = v2_out_add(o, IKEV2_PL_DELETE);
	uint8_t b[4];

	pl->u.d.proto = proto;
	pl->u.d.spi_len = proto == IKEV2_PROTO_IKE ? 0 : 4;
	pl->u.d.n_spi = n;
	pl->u.d.spis.p = o->data + o->data_off;
	for (uint16_t i = 0; i < n; i++) {
		put_be32(b, spis[i]);
		v2_out_copy(o, b, 4);
	}
	pl->u.d.spis.len = (size_t)n * pl->u.d.spi_len;
}

/* 1.4.1: DELETE names the SPI we would receive on; we never installed it,
 * the responder did (as its outbound SA, with its inbound twin). */
int v2_info_delete_refused(struct v2_sa *sa, uint8_t proto, uint32_t spi_in)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	int ret;

	if (!o)
		return -1;
	delete_out(o, proto, &spi_in, 1);
	log_info("ikev2 %s: asking the peer to delete the Child SA we refused (our SPI %08x)",
		 sa->conn->name, spi_in);
	ret = v2_send_request(sa, IKEV2_EXCH_INFORMATIONAL, T_DELETE_REFUSED, o);
	free(o);
	return ret;
}

int v2_info_start(struct v2_sa *sa, enum v2_task task, uint32_t spi)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	struct v2_child *ch;
	int ret = -1;

	if (!o)
		return -1;
	switch (task) {
	case T_DELETE_CHILD:
		ch = v2_child_by_in(sa, spi);
		if (!ch)
			goto out;
		ch->rekeyed = true; /* no rekey of what is being deleted */
		ch->soft_at = 0;
		/* 1.4.1: name our inbound SPI; the peer deletes its outbound one */
		delete_out(o, ch->proto == IPSEC_PROTO_AH ? IKEV2_PROTO_AH : IKEV2_PROTO_ESP,
			   &ch->spi_in, 1);
		sa->del_spi = spi;
		break;
	case T_DELETE_IKE:
		delete_out(o, IKEV2_PROTO_IKE, NULL, 0);
		break;
	case T_DPD:
		break; /* 2.4: an empty INFORMATIONAL request */
	default:
		goto out;
	}
	ret = v2_send_request(sa, IKEV2_EXCH_INFORMATIONAL, task, o);
	if (!ret && task == T_DELETE_IKE)
		v2_sa_state(sa, V2_DELETING);
	if (!ret && task == T_DPD)
		log_debug("ikev2 %s: DPD request sent", sa->conn->name);
out:
	free(o);
	return ret;
}

/* A DELETE for Child SAs: remove ours and answer with our inbound SPIs
 * of the same pairs (1.4.1). */
static void delete_children(struct v2_sa *sa, const struct ikev2_delete *d, struct v2_out *o)
{
	uint32_t ours[64];
	uint16_t n = 0;
	struct cur c = cur_init(d->spis.p, d->spis.len);

	for (uint16_t i = 0; i < d->n_spi && n < 64; i++) {
		uint32_t spi;
		struct v2_child *ch;

		if (!cur_u32(&c, &spi))
			break;
		ch = v2_child_by_out(sa, spi);
		if (!ch)
			continue; /* 1.4.1: already gone (a crossing DELETE) */
		ours[n++] = ch->spi_in;
		v2_child_retire(sa, ch);
	}
	if (n)
		delete_out(o, d->proto, ours, n);
}

void v2_info_request(struct v2_sa *sa, const struct ikev2_msg *m)
{
	struct v2_out *o = calloc(1, sizeof(*o));
	bool ike_deleted = false;

	if (!o)
		return;
	for (size_t i = 0; i < m->n_pl; i++) {
		const struct ikev2_pl *pl = &m->pl[i];

		if (pl->type != IKEV2_PL_DELETE)
			continue;
		if (pl->u.d.proto == IKEV2_PROTO_IKE)
			ike_deleted = true;
		else if (pl->u.d.spi_len == 4)
			delete_children(sa, &pl->u.d, o);
	}
	if (ike_deleted)
		o->n = 0; /* 1.4.1: the response to an IKE SA delete is empty */
	v2_send_response(sa, IKEV2_EXCH_INFORMATIONAL, m->hdr.msgid, o);
	if (ike_deleted) {
		v2_ike_rekey_peer_deleted(sa); /* rekey.c: the children move on */
		v2_sa_dead(sa, "deleted by the peer", true);
	}
	free(o);
}

void v2_info_response(struct v2_sa *sa, const struct ikev2_msg *m)
{
	struct v2_child *ch;

	(void)m;
	switch (sa->done_task) {
	case T_DELETE_CHILD:
		ch = v2_child_by_in(sa, sa->del_spi);
		if (ch)
			v2_child_retire(sa, ch);
		break;
	case T_DELETE_IKE:
		v2_sa_dead(sa, "deleted", true);
		break;
	case T_DPD:
		log_debug("ikev2 %s: DPD answered", sa->conn->name);
		break;
	default:
		break;
	}
}

uint32_t v2_dpd_wait_ms(unsigned retry_s, unsigned send)
{
	/* cumulative weights of 16, 24, 36, 54, 81 (x1.5 each, sum 211) */
	static const uint16_t cum[V2_DPD_SENDS + 1] = { 0, 16, 40, 76, 130, 211 };
	uint64_t total = (uint64_t)retry_s * 1000u * V2_DPD_SENDS;

	if (send < 1)
		send = 1;
	if (send > V2_DPD_SENDS)
		send = V2_DPD_SENDS;
	return (uint32_t)(total * cum[send] / 211 - total * cum[send - 1] / 211);
}

/* 2.4: no answer after the retransmissions: the peer is dead. */
void v2_peer_dead(struct v2_sa *sa)
{
	struct ike_conn *c = sa->conn;
	struct ikev2 *e = sa->eng;
	uint8_t action = c->dpd_action;

	log_notice("ikev2 %s: peer is not answering, IKE SA declared dead (action %s)", c->name,
		   action == IKE_DPD_RESTART ? "restart" : action == IKE_DPD_HOLD ? "hold" : "clear");
	v2_sa_dead(sa, "peer dead", true);
	if (action == IKE_DPD_RESTART)
		ikev2_initiate(e, c->name);
}

static void retx_timer(struct v2_sa *sa, uint64_t now)
{
	struct ikev2 *e = sa->eng;

	if (!sa->retx.due_ms || now < sa->retx.due_ms)
		return;
	if (sa->task == T_DPD && sa->conn->dpd_retry_s && sa->retx.buf) {
		/* IOS dpd RETRY: five sends within 5 * RETRY s, the gaps
		 * growing exponentially (2.4) */
		if (sa->retx.sent < V2_DPD_SENDS) {
			sa->retx.sent++;
			sa->retx.due_ms = now + v2_dpd_wait_ms(sa->conn->dpd_retry_s, sa->retx.sent);
			log_debug("ikev2 %s: DPD unanswered, retransmitting (try %u)",
				  sa->conn->name, sa->retx.sent);
			v2_send_all(sa, sa->retx.buf, sa->retx.len);
			return;
		}
		v2_peer_dead(sa);
		return;
	}
	if (ike_retx_due(&sa->retx, now, e->g.retransmit_base_ms, e->g.retransmit_tries)) {
		log_debug("ikev2 %s: retransmitting request %u (try %u)", sa->conn->name,
			  sa->retx_msgid, sa->retx.sent);
		v2_send_all(sa, sa->retx.buf, sa->retx.len); /* RFC 7383 2.6.1: every fragment */
		return;
	}
	if (sa->state == V2_ESTABLISHED || sa->state == V2_DELETING)
		v2_peer_dead(sa);
	else
		v2_sa_dead(sa, "no response to IKE_SA_INIT/IKE_AUTH", true);
}

static uint64_t dpd_due(const struct v2_sa *sa)
{
	const struct ike_conn *c = sa->conn;

	if (sa->state != V2_ESTABLISHED || sa->replaced || !c->dpd_interval_s ||
	    c->dpd_mode == IKE_DPD_OFF || sa->task != T_NONE)
		return UINT64_MAX;
	/* on-demand: only when we sent traffic and heard nothing back */
	if (c->dpd_mode == IKE_DPD_ON_DEMAND && !sa->out_traffic)
		return UINT64_MAX;
	return sa->last_rx_ms + (uint64_t)c->dpd_interval_s * 1000;
}

static void child_timers(struct v2_sa *sa, uint64_t now)
{
	for (struct v2_child *ch = sa->children; ch; ch = ch->next) {
		if (ch->hard_at && now >= ch->hard_at) {
			ch->hard_at = 0;
			v2_queue(sa, T_DELETE_CHILD, ch->spi_in);
		} else if (ch->soft_at && now >= ch->soft_at && !ch->rekeyed) {
			ch->soft_at = 0;
			v2_queue(sa, T_CHILD_REKEY, ch->spi_in);
		}
	}
}

#define DEF_KEEPALIVE_S 20

/* RFC 3948 4: behind a NAT, keep its mapping alive. */
static bool keepalive_on(const struct v2_sa *sa)
{
	return sa->state == V2_ESTABLISHED && !sa->replaced && sa->nat_local &&
	       sa->eng->env.send_keepalive;
}

static uint64_t keepalive_every(const struct v2_sa *sa)
{
	return (uint64_t)(sa->conn->nat_keepalive_s ? sa->conn->nat_keepalive_s
						    : DEF_KEEPALIVE_S) * 1000;
}

void v2_keepalive_arm(struct v2_sa *sa)
{
	sa->keepalive_at = keepalive_on(sa) ? v2_now(sa->eng) + keepalive_every(sa) : 0;
}

static void keepalive_timer(struct v2_sa *sa, uint64_t now)
{
	uint64_t every = keepalive_every(sa);
	struct ikev2 *e = sa->eng;

	if (!keepalive_on(sa)) {
		sa->keepalive_at = 0;
		return;
	}
	if (!sa->keepalive_at || now < sa->keepalive_at)
		return;
	sa->keepalive_at = now + every;
	e->env.send_keepalive(e->env.ctx, &sa->local, &sa->remote, sa->rport);
}

static void ike_rekey_timer(struct v2_sa *sa, uint64_t now)
{
	if (sa->state == V2_ESTABLISHED && !sa->replaced && sa->expire_at && now >= sa->expire_at) {
		sa->expire_at = 0;
		sa->rekey_at = 0;
		log_notice("ikev2 %s: IKE SA lifetime (%u s) expired before a rekey completed: "
			   "deleting it with its child SAs", sa->conn->name, sa->conn->ike_lifetime_s);
		if (sa->task != T_NONE) /* the peer is not answering: no DELETE either */
			v2_sa_dead(sa, "IKE SA lifetime expired", true);
		else
			v2_queue(sa, T_DELETE_IKE, 0);
		return;
	}
	if (sa->state != V2_ESTABLISHED || sa->replaced || !sa->rekey_at || now < sa->rekey_at)
		return;
	sa->rekey_at = 0;
	log_info("ikev2 %s: IKE SA lifetime (soft) reached, rekeying", sa->conn->name);
	v2_queue(sa, T_IKE_REKEY, 0);
}

void v2_timers(struct v2_sa *sa, uint64_t now)
{
	retx_timer(sa, now);
	if (sa->state == V2_DEAD)
		return;
	if (sa->state == V2_INIT_DONE && now >= sa->created_ms + sa->eng->g.half_open_timeout_ms) {
		v2_sa_dead(sa, "half-open timeout", false);
		return;
	}
	child_timers(sa, now);
	ike_rekey_timer(sa, now);
	keepalive_timer(sa, now);
	if (sa->frags.active && now - sa->frags.started_ms > V2_FRAG_TIMEOUT_MS)
		v2_frag_clear(&sa->frags); /* RFC 7383 2.6: give up on it */
	if (now >= dpd_due(sa)) {
		sa->out_traffic = false;
		v2_queue(sa, T_DPD, 0);
	}
	v2_queue_run(sa);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t v2_sa_next_timer(const struct v2_sa *sa)
{
	uint64_t t = UINT64_MAX;

	if (sa->retx.due_ms)
		t = sa->retx.due_ms;
	if (sa->state == V2_INIT_DONE)
		t = min64(t, sa->created_ms + sa->eng->g.half_open_timeout_ms);
	if (sa->state == V2_ESTABLISHED && !sa->replaced && sa->rekey_at)
		t = min64(t, sa->rekey_at);
	if (sa->state == V2_ESTABLISHED && !sa->replaced && sa->expire_at)
		t = min64(t, sa->expire_at);
	if (keepalive_on(sa) && sa->keepalive_at)
		t = min64(t, sa->keepalive_at);
	if (sa->frags.active)
		t = min64(t, sa->frags.started_ms + V2_FRAG_TIMEOUT_MS + 1);
	for (const struct v2_child *ch = sa->children; ch; ch = ch->next) {
		if (ch->soft_at)
			t = min64(t, ch->soft_at);
		if (ch->hard_at)
			t = min64(t, ch->hard_at);
	}
	return min64(t, dpd_due(sa));
}
