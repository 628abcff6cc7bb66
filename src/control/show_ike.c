/* show crypto ikev2 sa [detail], show crypto session, clear crypto ikev2
 * sa [peer ADDR], clear crypto session, debug crypto ikev2: the IKE side of
 * the CLI, read from the engine's read-only views. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "control/internal.h"
#include "crypto/alg.h"
#include "crypto/dh.h"
#include "ikev2/ikev2.h"
#include "ipsec/sad.h"
#include "lib/log.h"

static struct ikev2 *engine(struct ctl_ctx *x)
{
	return x->ops->ikev2 ? x->ops->ikev2(x->ops->arg) : NULL;
}

static void hex8(const uint8_t *b, char *out)
{
	for (int i = 0; i < 8; i++)
		sprintf(out + 2 * i, "%02X", b[i]);
}

static const char *encr_name(uint16_t id)
{
	const struct encr_alg *a = encr_alg_find(id);
	return a ? a->name : "?";
}

/* The key size; algorithms without a Key Length attribute (3des,
 * chacha20-poly1305) have a fixed one, shown instead of 0. */
static unsigned encr_bits(const struct ikev2_sa_info *i)
{
	const struct encr_alg *a = encr_alg_find(i->encr);
	return i->encr_bits ? i->encr_bits : a ? a->fixed_key_bits : 0;
}

static const char *integ_name(uint16_t id)
{
	const struct integ_alg *a = id ? integ_alg_find(id) : NULL;
	return a ? a->name : "None";
}

static const char *prf_name(uint16_t id)
{
	const struct prf_alg *a = prf_alg_find(id);
	return a ? a->name : "?";
}

struct sa_walk {
	struct ctl_ctx *x;
	bool detail, have_peer;
	struct ip_addr peer;
	unsigned n;
	struct json_object *arr;
};

static void sa_json(struct sa_walk *w, const struct ikev2_sa_info *i)
{
	struct json_object *o = json_object_new_object();
	char a[IP_ADDR_STRLEN], spi[17], ids[IKE_ID_STRLEN];

	json_object_object_add(o, "tunnel_id", json_object_new_int((int)w->n));
	json_object_object_add(o, "connection", json_object_new_string(i->conn ? i->conn : ""));
	json_object_object_add(o, "local", json_object_new_string(ip_addr_str(&i->local, a)));
	json_object_object_add(o, "local_port", json_object_new_int(i->lport));
	json_object_object_add(o, "remote", json_object_new_string(ip_addr_str(&i->remote, a)));
	json_object_object_add(o, "remote_port", json_object_new_int(i->rport));
	json_object_object_add(o, "status",
			       json_object_new_string(i->established ? "READY" : "IN-NEG"));
	json_object_object_add(o, "role",
			       json_object_new_string(i->initiator ? "Initiator" : "Responder"));
	hex8(i->spi_i, spi);
	json_object_object_add(o, "spi_i", json_object_new_string(spi));
	hex8(i->spi_r, spi);
	json_object_object_add(o, "spi_r", json_object_new_string(spi));
	json_object_object_add(o, "encryption", json_object_new_string(encr_name(i->encr)));
	json_object_object_add(o, "keysize", json_object_new_int((int)encr_bits(i)));
	json_object_object_add(o, "prf", json_object_new_string(prf_name(i->prf)));
	json_object_object_add(o, "integrity", json_object_new_string(integ_name(i->integ)));
	json_object_object_add(o, "dh_group", json_object_new_int(i->dh));
	json_object_object_add(o, "nat_t", json_object_new_boolean(i->nat));
	json_object_object_add(o, "child_sas", json_object_new_int((int)i->n_child));
	json_object_object_add(o, "local_id", json_object_new_string(
						      ike_id_str(&i->local_id, ids, sizeof(ids))));
	json_object_object_add(o, "remote_id", json_object_new_string(
		i->remote_id.type ? ike_id_str(&i->remote_id, ids, sizeof(ids)) : ""));
	json_object_array_add(w->arr, o);
}

static void sa_text(struct sa_walk *w, const struct ikev2_sa_info *i)
{
	char l[IP_ADDR_STRLEN + 8], r[IP_ADDR_STRLEN + 8], a[IP_ADDR_STRLEN];
	struct strbuf *o = w->x->out;

	snprintf(l, sizeof(l), "%s/%u", ip_addr_str(&i->local, a), i->lport);
	snprintf(r, sizeof(r), "%s/%u", ip_addr_str(&i->remote, a), i->rport);
	strbuf_printf(o, "%-10u%-22s%-22s%-21s%s\n", w->n, l, r, "none/none",
		      i->established ? "READY" : "IN-NEG");
	strbuf_printf(o, "      Encr: %s, keysize: %u, PRF: %s, Hash: %s, DH Grp:%u, "
			 "Auth sign: PSK, Auth verify: PSK\n",
		      encr_name(i->encr), encr_bits(i), prf_name(i->prf), integ_name(i->integ),
		      i->dh);
	if (!w->detail)
		return;
	char si[17], sr[17];
	hex8(i->spi_i, si);
	hex8(i->spi_r, sr);
	strbuf_printf(o, "      Connection: %s, role: %s\n", i->conn ? i->conn : "-",
		      i->initiator ? "Initiator" : "Responder");
	strbuf_printf(o, "      Local spi: %s       Remote spi: %s\n",
		      i->initiator ? si : sr, i->initiator ? sr : si);
	char ids[IKE_ID_STRLEN];
	strbuf_printf(o, "      Local id: %s\n", ike_id_str(&i->local_id, ids, sizeof(ids)));
	strbuf_printf(o, "      Remote id: %s\n",
		      i->remote_id.type ? ike_id_str(&i->remote_id, ids, sizeof(ids)) : "-");
	strbuf_printf(o, "      NAT-T is %s\n", i->nat ? "detected (port 4500)" : "not detected");
	strbuf_printf(o, "      Child SAs: %u\n", i->n_child);
}

static void visit_sa(const struct ikev2_sa_info *i, void *arg)
{
	struct sa_walk *w = arg;
	if (w->have_peer && !ip_addr_eq(&w->peer, &i->remote))
		return;
	w->n++;
	if (w->x->json)
		sa_json(w, i);
	else
		sa_text(w, i);
}

int ctl_show_crypto_ikev2_sa(struct ctl_ctx *x, const struct ctl_args *a)
{
	struct ikev2 *e = engine(x);
	struct sa_walk w = {.x = x, .detail = ctl_args_has(a, "detail")};

	if (!e) {
		strbuf_printf(x->out, "%% IKEv2 is not running\n");
		return 1;
	}
	if (x->json)
		w.arr = json_object_new_array();
	else
		strbuf_printf(x->out, " IPv4 Crypto IKEv2  SA \n\n%-10s%-22s%-22s%-21s%s\n",
			      "Tunnel-id", "Local", "Remote", "fvrf/ivrf", "Status");
	ikev2_foreach_sa(e, visit_sa, &w);
	if (x->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "ike_sas", w.arr);
		ctl_json_out(x, o);
	}
	return 0;
}

/* ---- show crypto session ------------------------------------------------- */

struct sess_walk {
	struct ctl_ctx *x;
	struct ikev2 *e;
	struct json_object *arr;
};

struct child_walk {
	const char *conn;
	struct strbuf *out;
	struct json_object *arr;
};

static void visit_child(const struct ikev2_child_info *c, void *arg)
{
	struct child_walk *w = arg;
	char buf[160];

	if (!c->conn || strcmp(c->conn, w->conn) != 0)
		return;
	for (unsigned k = 0; k < c->sel.n; k++) {
		ts_str(&c->sel.ts[k], buf, sizeof(buf));
		if (w->arr)
			json_object_array_add(w->arr, json_object_new_string(buf));
		else
			strbuf_printf(w->out, "  IPSEC FLOW: permit %s\n        Active SAs: 2, "
					      "Origin: crypto map\n", buf);
	}
}

static void visit_session(const struct ikev2_sa_info *i, void *arg)
{
	struct sess_walk *w = arg;
	char a[IP_ADDR_STRLEN];
	struct child_walk cw = {.conn = i->conn ? i->conn : "", .out = w->x->out};

	if (w->x->json) {
		struct json_object *o = json_object_new_object();
		cw.arr = json_object_new_array();
		json_object_object_add(o, "peer", json_object_new_string(ip_addr_str(&i->remote, a)));
		json_object_object_add(o, "port", json_object_new_int(i->rport));
		json_object_object_add(o, "status", json_object_new_string(
							    i->established ? "UP-ACTIVE" : "UP-NEGOTIATING"));
		json_object_object_add(o, "connection", json_object_new_string(cw.conn));
		ikev2_foreach_child(w->e, visit_child, &cw);
		json_object_object_add(o, "flows", cw.arr);
		json_object_array_add(w->arr, o);
		return;
	}
	strbuf_printf(w->x->out, "Interface: %s\nSession status: %s\nPeer: %s port %u\n",
		      cw.conn, i->established ? "UP-ACTIVE" : "UP-NEGOTIATING",
		      ip_addr_str(&i->remote, a), i->rport);
	strbuf_printf(w->x->out, "  Session ID: 0\n  IKEv2 SA: local %s/%u remote ",
		      ip_addr_str(&i->local, a), i->lport);
	strbuf_printf(w->x->out, "%s/%u %s\n", ip_addr_str(&i->remote, a), i->rport,
		      i->established ? "Active" : "Inactive");
	ikev2_foreach_child(w->e, visit_child, &cw);
	strbuf_printf(w->x->out, "\n");
}

int ctl_show_crypto_session(struct ctl_ctx *x, const struct ctl_args *a)
{
	struct sess_walk w = {.x = x, .e = engine(x)};
	(void)a;

	if (!w.e) {
		strbuf_printf(x->out, "%% IKEv2 is not running\n");
		return 1;
	}
	if (x->json)
		w.arr = json_object_new_array();
	else
		strbuf_printf(x->out, "Crypto session current status\n\n");
	ikev2_foreach_sa(w.e, visit_session, &w);
	if (x->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "sessions", w.arr);
		ctl_json_out(x, o);
	}
	return 0;
}

/* ---- clear ----------------------------------------------------------------- */

#define CLEAR_MAX 256
struct clear_walk {
	bool have_peer;
	struct ip_addr peer;
	char conns[CLEAR_MAX][IKE_CONN_NAME_MAX];
	unsigned n;
};

static void collect_conn(const struct ikev2_sa_info *i, void *arg)
{
	struct clear_walk *w = arg;
	if (!i->conn || w->n == CLEAR_MAX)
		return;
	if (w->have_peer && !ip_addr_eq(&w->peer, &i->remote))
		return;
	for (unsigned k = 0; k < w->n; k++)
		if (strcmp(w->conns[k], i->conn) == 0)
			return;
	snprintf(w->conns[w->n++], IKE_CONN_NAME_MAX, "%s", i->conn);
}

/* The connections of the IKE SAs with peer (all if NULL) into *w; -1 with a
 * message if IKEv2 is not running or peer is not an address. */
static int collect_sas(struct ctl_ctx *x, struct ikev2 *e, const char *peer,
		       struct clear_walk *w)
{
	if (!e) {
		strbuf_printf(x->out, "%% IKEv2 is not running\n");
		return -1;
	}
	memset(w, 0, sizeof(*w));
	if (peer) {
		if (!ip_addr_parse(peer, &w->peer)) {
			strbuf_printf(x->out, "%% Invalid peer address %s\n", peer);
			return -1;
		}
		w->have_peer = true;
	}
	ikev2_foreach_sa(e, collect_conn, w);
	return 0;
}

int ctl_clear_crypto_ikev2_sa(struct ctl_ctx *x, const struct ctl_args *a)
{
	struct ikev2 *e = engine(x);
	static struct clear_walk w;
	const char *peer = ctl_args_after(a, "peer");
	unsigned n = 0;

	/* Collect first: deleting changes the table being walked. */
	if (collect_sas(x, e, peer, &w) < 0)
		return 1;
	for (unsigned k = 0; k < w.n; k++) { /* sends DELETEs, removes children */
		int d = ikev2_ike_delete(e, w.conns[k], w.have_peer ? &w.peer : NULL);

		n += d > 0 ? (unsigned)d : 0;
	}
	log_notice("cleared %u IKEv2 SA(s)%s%s", n, peer ? " with peer " : "", peer ? peer : "");
	if (!x->json)
		strbuf_printf(x->out, "Cleared %u IKEv2 SA(s)\n", n);
	return 0;
}

/* ---- rekey (esprit: strongSwan's swanctl --rekey, which IOS lacks) ------- */

struct rekey_walk {
	struct clear_walk *conns; /* the IKE SAs chosen (by peer) */
	uint32_t spis[CLEAR_MAX];
	unsigned n;
};

static void collect_child(const struct ikev2_child_info *i, void *arg)
{
	struct rekey_walk *w = arg;
	if (!i->conn || w->n == CLEAR_MAX)
		return;
	for (unsigned k = 0; k < w->conns->n; k++)
		if (strcmp(w->conns->conns[k], i->conn) == 0) {
			w->spis[w->n++] = i->spi_in;
			return;
		}
}

/* rekey crypto ikev2 sa [peer ADDR] | rekey crypto ipsec sa [peer ADDR]:
 * starts a CREATE_CHILD_SA rekey (make-before-break, RFC 7296 2.8) of
 * the matching IKE SAs or of their child SAs now, as a soft lifetime
 * expiry would. */
int ctl_rekey_crypto_sa(struct ctl_ctx *x, const struct ctl_args *a)
{
	struct ikev2 *e = engine(x);
	static struct clear_walk w;
	static struct rekey_walk rw;
	const char *peer = ctl_args_after(a, "peer");
	bool ike = ctl_args_has(a, "ikev2");
	unsigned n = 0;

	if (collect_sas(x, e, peer, &w) < 0)
		return 1;
	if (ike) {
		for (unsigned k = 0; k < w.n; k++)
			n += ikev2_ike_rekey(e, w.conns[k]) == 0;
	} else {
		memset(&rw, 0, sizeof(rw));
		rw.conns = &w;
		ikev2_foreach_child(e, collect_child, &rw);
		for (unsigned k = 0; k < rw.n; k++)
			n += ikev2_child_rekey(e, rw.spis[k]) == 0;
	}
	log_notice("operator rekey of %u %s SA(s)%s%s", n, ike ? "IKEv2" : "IPsec",
		   peer ? " with peer " : "", peer ? peer : "");
	if (!x->json)
		strbuf_printf(x->out, "Rekeying %u %s SA(s)\n", n, ike ? "IKEv2" : "IPsec");
	return n || (ike ? w.n : rw.n) == 0 ? 0 : 1;
}

int ctl_clear_crypto_session(struct ctl_ctx *x, const struct ctl_args *a)
{
	int r = engine(x) ? ctl_clear_crypto_ikev2_sa(x, a) : 0;
	struct sad *sad = x->ops->sad(x->ops->arg);
	if (sad)
		sad_clear_counters(sad);
	return r;
}

/* debug crypto ikev2: the message trace for every peer, and the engine's
 * debug lines (state changes, retransmissions). debug crypto ikev2 peer
 * ADDR: the trace of that peer only, at info level, so other peers'
 * negotiations stay quiet (IOS: debug crypto condition peer). */
int ctl_debug_ikev2(struct ctl_ctx *x, const struct ctl_args *a)
{
	struct ikev2 *e = engine(x);
	const char *peer = ctl_args_after(a, "peer");
	struct ip_addr pa;

	if (peer && !ip_addr_parse(peer, &pa)) {
		strbuf_printf(x->out, "%% Invalid peer address %s\n", peer);
		return 1;
	}
	if (e)
		ikev2_set_trace(e, true, peer ? &pa : NULL);
	if (!peer)
		log_set_level(LOG_LVL_DEBUG);
	log_notice("debug crypto ikev2%s%s: message trace on", peer ? " peer " : "",
		   peer ? peer : "");
	if (!x->json)
		strbuf_printf(x->out, "IKEv2 %s debugging is on%s%s\n", peer ? "peer" : "default",
			      peer ? " for " : "", peer ? peer : "");
	return 0;
}

void ctl_undebug_ikev2(struct ctl_ctx *x)
{
	struct ikev2 *e = engine(x);
	if (e)
		ikev2_set_trace(e, false, NULL);
}
