/* IKEv2 engine internals shared by the exchange files (sa_init.c,
 * auth.c, child.c, info.c) and ikev2.c (dispatch, I/O, timers). */
#ifndef ESPRIT_IKEV2_ENGINE_H
#define ESPRIT_IKEV2_ENGINE_H

#include "ike/ike.h"
#include "ikev2/ikev2.h"
#include "ikev2/keys.h"
#include "ikev2/msg.h"

struct dh;
struct cipher;
struct mac;

/* IKE SA states (STYLE.md 9: changed only by v2_sa_state). */
enum v2_state {
	V2_INIT_SENT,    /* initiator: IKE_SA_INIT request out */
	V2_INIT_DONE,    /* responder: half-open, waiting for IKE_AUTH */
	V2_AUTH_SENT,    /* initiator: IKE_AUTH request out */
	V2_ESTABLISHED,
	V2_DELETING,     /* our DELETE is out */
	V2_REKEY_NEW,    /* IKE SA being created by a rekey (2.18) */
	V2_DEAD,         /* freed on the next tick */
};

/* What our one outstanding request is (window size 1, 2.3). */
enum v2_task {
	T_NONE,
	T_SA_INIT,
	T_AUTH,
	T_CHILD_NEW,
	T_CHILD_REKEY,
	T_IKE_REKEY,
	T_DELETE_CHILD,
	T_DELETE_IKE,
	T_DPD,
	T_DELETE_REFUSED, /* a child the responder made and we refused */
};

struct v2_child {
	struct v2_child *next;
	uint8_t proto; /* IPSEC_PROTO_ESP / AH */
	uint32_t spi_in, spi_out;
	uint16_t cpi_in, cpi_out; /* IPComp, 0 = none */
	struct ikev2_algs algs;
	bool esn, installed, rekeyed, collided;
	bool retiring;      /* replaced: its inbound SA is deleted later (sad_retire) */
	bool exch_init;     /* we initiated the exchange that made it (KEYMAT order) */
	uint32_t rekey_of;  /* spi_in of the child it replaces, 0 = none */
	uint8_t mode;
	struct ts_list sel; /* local -> remote */
	/* The crypto map entry it belongs to when that is not its IKE SA's
	 * (a peer asking, on an IKE SA set up for one entry, for the traffic
	 * of another entry with the same peer; v2_child_conn_for). NULL = the
	 * IKE SA's. Held: v2_conn_hold. */
	struct ike_conn *conn;
	uint64_t soft_at, hard_at; /* env ms, 0 = none */
	/* rekey collision (2.8.1): the lowest nonce of the exchange that
	 * created this SA, to decide which duplicate survives */
	uint8_t min_nonce[IKEV2_NONCE_MAX];
	size_t min_nonce_len;
};

/* Initiator's view of a child exchange in flight. */
struct v2_child_req {
	uint32_t spi_in;
	uint16_t cpi_in;
	uint32_t rekey_spi; /* old child's spi_in, 0 = new child */
	struct dh *dh;      /* PFS */
	uint8_t ni[32];
	size_t ni_len;
	struct ts_list sel; /* proposed */
	struct ike_conn *conn; /* a rekey's: the old child's conn (held), NULL = the IKE SA's */
};

/* A connection as the engine holds it: SAs point at .c, so each lives
 * on its own (stable address) and is freed when removed AND no SA refers
 * to it any more (ikev2_conn_del may leave SAs deleting). */
struct v2_conn {
	struct ike_conn c; /* first: an ike_conn * of ours is a v2_conn * */
	struct v2_conn *next;
	unsigned refs;  /* SAs pointing at it */
	bool removed;   /* ikev2_conn_del'd: not found by name or address */
	/* The peer refused a child of this entry on another entry's IKE SA
	 * (its connections are separate, as strongSwan's may be): this entry
	 * gets IKE SAs of its own from then on (ikev2_acquire). */
	bool own_ike_sa;
	/* An acquire waits for another entry's IKE SA with the same peer
	 * that we are setting up (ikev2_acquire): asked again, with its
	 * packet's flow, once that one is up or gone (v2_run_pending). */
	bool acquire_pending, have_pending_flow;
	struct flow pending_flow;
};

/* RFC 7383 2.6: reassembly of one fragmented message (bounded). */
#define V2_FRAG_MAX 32
#define V2_FRAG_BYTES 65536
#define V2_FRAG_TIMEOUT_MS 30000
struct v2_frags {
	bool active;
	bool response;      /* a response (or a request) is being reassembled */
	uint32_t msgid;
	uint16_t total, have;
	uint8_t inner_next; /* from fragment 1 */
	size_t bytes;
	uint64_t started_ms;
	uint8_t *part[V2_FRAG_MAX]; /* decrypted inner bytes, owned */
	size_t part_len[V2_FRAG_MAX];
};

#define V2_MAX_QUEUE 8
struct v2_work {
	uint8_t task;
	uint8_t proto; /* T_DELETE_REFUSED: IKEV2_PROTO_ESP / AH */
	uint32_t spi;  /* child spi_in, for child tasks; T_CHILD_NEW: the
			* reqid of the entry it is for (0 = the IKE SA's) */
};

struct v2_sa {
	struct ike_sa_entry ent; /* ent.spi = our SPI */
	struct v2_sa *all_next;
	struct ikev2 *eng;
	struct ike_conn *conn; /* borrowed from eng->conns */
	bool initiator;
	uint8_t spi_i[8], spi_r[8];
	uint8_t state;
	struct ip_addr local, remote;
	uint16_t lport, rport;
	bool nat_local, nat_remote, frag_ok;
	struct ikev2_algs algs;
	uint16_t group;
	struct dh *dh;
	uint8_t ni[IKEV2_NONCE_MAX], nr[IKEV2_NONCE_MAX];
	size_t ni_len, nr_len;
	uint8_t *msg1, *msg2; /* IKE_SA_INIT request / response, for AUTH (2.15) */
	size_t msg1_len, msg2_len;
	struct ikev2_keys keys;
	struct cipher *enc_out, *enc_in;
	struct mac *mac_out, *mac_in;
	uint32_t msgid_next; /* our next request */
	uint32_t msgid_peer; /* next request we expect */
	struct ike_retx retx;
	uint32_t retx_msgid;
	uint8_t task;
	uint8_t done_task; /* the task whose response is being processed */
	uint32_t del_spi;  /* T_DELETE_CHILD in flight */
	struct v2_work queue[V2_MAX_QUEUE];
	unsigned n_queue;
	struct ike_resp_cache rc;
	uint8_t cookie[64];
	size_t cookie_len;
	struct v2_child *children;
	struct v2_child_req creq;
	/* IKE SA rekey (2.18): our SPI of the SA our request creates, and of
	 * the SA a crossing request from the peer created (2.8.2). Looked up
	 * in the table, never held as pointers (either may die first). */
	uint8_t rekey_new_spi[8], rekey_peer_spi[8];
	bool rekey_pending, rekey_collided;
	uint16_t rekey_group; /* INVALID_KE_PAYLOAD asked for it; 0 = ours */
	bool replaced; /* rekeyed: its children moved on, its death is silent */
	bool quiet;    /* do not tell the daemon when it dies (conn removed) */
	struct v2_frags frags;
	uint64_t created_ms, last_rx_ms, dpd_at, rekey_at, keepalive_at;
	uint64_t expire_at; /* hard IKE lifetime, 0 = none */
	bool out_traffic, in_traffic;
	bool initial_contact_sent;
	struct ike_id peer_id; /* authenticated IDi/IDr; type 0 = not yet */
	/* 2.9: the packet whose acquire asked for the next new child; its
	 * selector goes first in TSi/TSr, once */
	struct flow trigger;
	bool have_trigger;
	/* no new child for an acquire before this (env ms): the last request
	 * for one was refused, or narrowed to what another child holds */
	uint64_t child_new_hold_ms;
};

/* The crypto map entry a child belongs to: its own (another entry's child
 * on this IKE SA), or its IKE SA's. ch may be NULL (the IKE SA's). */
static inline struct ike_conn *v2_child_entry(const struct v2_sa *sa, const struct v2_child *ch)
{
	return ch && ch->conn ? ch->conn : sa->conn;
}

struct ikev2 {
	struct ike_env env;
	struct ike_global g;
	struct v2_conn *conns; /* list, newest last */
	struct ike_sa_table tab;
	struct v2_sa *all;
	struct ike_cookie_secret cookie;
	uint64_t drops[V2_DROP__COUNT];
	uint64_t cookies_sent;   /* COOKIE challenges answered (2.6) */
	uint8_t trace;           /* V2_TRACE_* */
	struct ip_addr trace_peer; /* V2_TRACE_PEER */
};
enum { V2_TRACE_OFF, V2_TRACE_ALL, V2_TRACE_PEER };
/* 2.25: wait before retrying a rekey the peer answered TEMPORARY_FAILURE. */
#define V2_RETRY_MS 10000
/* DPD requests sent before the peer is declared dead (with dpd RETRY). */
#define V2_DPD_SENDS 5
/* How long to wait for the answer to DPD send SEND (1..V2_DPD_SENDS) under
 * IOS `dpd INTERVAL RETRY`: RFC 7296 2.4 "retransmission times MUST
 * increase exponentially", so the waits grow by 1.5 each, and they add up
 * to V2_DPD_SENDS * RETRY s (RETRY 2: 0.76, 1.14, 1.71, 2.56, 3.84 s): the
 * peer is still dead INTERVAL + 5 * RETRY s after it went silent. */
uint32_t v2_dpd_wait_ms(unsigned retry_s, unsigned send);

/* ---- ikev2.c: SAs, I/O ---- */
uint64_t v2_now(const struct ikev2 *e);
struct v2_sa *v2_sa_new(struct ikev2 *e, struct ike_conn *c, bool initiator);
/* A new IKE SA created by a rekey of `old` (state V2_REKEY_NEW, not half
 * open, message IDs from 0, endpoints and NAT state of `old`). */
struct v2_sa *v2_sa_new_rekey(struct v2_sa *old, bool initiator);
struct v2_sa *v2_sa_by_spi(struct ikev2 *e, const uint8_t spi[8]);
/* Move the SA to another connection (responder: chosen by IDi). */
void v2_sa_set_conn(struct v2_sa *sa, struct ike_conn *c);
/* A reference to a connection from elsewhere than an IKE SA (a child of
 * another entry): a removed connection is freed once none is left.
 * Both accept NULL. */
void v2_conn_hold(struct ike_conn *c);
void v2_conn_drop(struct ike_conn *c);
/* Does the connection allow the addresses (remote unset = any)? */
bool v2_conn_addr_ok(const struct ike_conn *c, const struct ip_addr *local,
		     const struct ip_addr *remote);
void v2_sa_state(struct v2_sa *sa, enum v2_state to);
void v2_sa_dead(struct v2_sa *sa, const char *why, bool notify_daemon);
struct ike_conn *v2_conn_find(struct ikev2 *e, const char *name);
/* The entry with this reqid (not removed), or NULL. */
struct ike_conn *v2_conn_by_reqid(struct ikev2 *e, uint32_t reqid);
/* The peer refused entry c's new child on another entry's IKE SA sa: c
 * gets an IKE SA of its own, now and from then on. */
void v2_share_refused(struct v2_sa *sa, struct ike_conn *c);
struct ike_conn *v2_conn_for_peer(struct ikev2 *e, const struct ip_addr *local,
				  const struct ip_addr *remote);
int v2_random(struct ikev2 *e, void *buf, size_t len);
void v2_drop(struct ikev2 *e, enum ikev2_drop d, const char *why);

/* Payload list under construction with storage for what payloads point to. */
struct v2_out {
	struct ikev2_pl pl[24];
	size_t n;
	struct ikev2_proposal props[IKE_MAX_PROPOSALS * 2];
	size_t n_prop;
	struct ikev2_transform xf[160];
	size_t n_xf;
	struct ikev2_ts ts[2 * TS_LIST_MAX];
	size_t n_ts;
	uint8_t data[4096];
	size_t data_off;
	bool failed;
};
struct ikev2_pl *v2_out_add(struct v2_out *o, uint8_t type);
const uint8_t *v2_out_copy(struct v2_out *o, const void *p, size_t len);
void v2_out_notify(struct v2_out *o, uint16_t type, uint8_t proto, const void *spi,
		   uint8_t spi_len, const void *data, size_t len);

/* Send an encrypted request (starts retransmission, task recorded) or
 * response (cached for retransmitted requests). 0 or -1. */
int v2_send_request(struct v2_sa *sa, uint8_t exch, enum v2_task task, const struct v2_out *o);
int v2_send_response(struct v2_sa *sa, uint8_t exch, uint32_t msgid, const struct v2_out *o);
int v2_send_raw(struct v2_sa *sa, const uint8_t *buf, size_t len);
/* Send every IKE message of buf: one, or the SKF fragments of one message
 * stored back to back (each carries its length in its header). */
void v2_send_all(struct v2_sa *sa, const uint8_t *buf, size_t len);
/* Queue work that needs a request while one is outstanding. */
void v2_queue(struct v2_sa *sa, enum v2_task task, uint32_t spi);
/* The responder installed a Child SA (our spi_in is its outbound SPI) that
 * we refused: tell it to delete it (RFC 7296 section 1.4.1). */
void v2_queue_refused(struct v2_sa *sa, uint8_t proto, uint32_t spi_in);
void v2_queue_run(struct v2_sa *sa);
/* Build cipher/mac contexts from sa->keys. */
int v2_sa_crypto_setup(struct v2_sa *sa);

/* ---- proposals (proposal.c) ---- */
/* Append one SA payload listing the conn's IKE proposals (with DH). */
void v2_ike_props_out(struct v2_out *o, const struct ike_conn *c, const uint8_t *spi,
		      uint8_t spi_len);
/* Child proposals: ESP/AH with our SPI, DH if pfs != 0. */
void v2_child_props_out(struct v2_out *o, const struct ike_child_cfg *cc, uint32_t spi,
			uint16_t pfs);
/* Responder: choose by LOCAL preference (2.7). On success *chosen holds
 * one transform per type (n_xf) and *peer_num the peer's proposal number.
 * Logs both sides transform by transform when nothing matches. */
bool v2_ike_prop_select(const struct ike_conn *c, const struct ikev2_sa *peer,
			uint16_t ke_group, struct ikev2_proposal *chosen,
			struct ikev2_transform *xf);
bool v2_child_prop_select(const struct ike_conn *c, const struct ikev2_sa *peer, uint16_t pfs,
			  uint16_t ke_group, struct ikev2_proposal *chosen,
			  struct ikev2_transform *xf);
/* Initiator: the responder's answer must be one of our offers. */
bool v2_ike_prop_accept(const struct ike_conn *c, const struct ikev2_sa *resp);
bool v2_child_prop_accept(const struct ike_conn *c, const struct ikev2_sa *resp, uint16_t pfs);
/* Transform of a type in one proposal, or NULL. */
const struct ikev2_transform *v2_xf_get(const struct ikev2_proposal *p, uint8_t type);
void v2_prop_log(const char *who, const struct ikev2_proposal *p);
/* Our IKE (child false) or Child SA proposals, "local proposal N" lines;
 * pfs: the DH group a CREATE_CHILD_SA offered (0 in IKE_AUTH). */
void v2_local_props_log(const struct ike_conn *c, bool child, uint16_t pfs);
/* "aes-gcm-16-256", "modp2048", "esn": one transform for logs. */
const char *v2_xf_name(const struct ikev2_transform *x, char *buf, size_t len);

/* ---- trace.c: `debug crypto ikev2 [peer ADDR]` ---- */
/* One line per message sent or received: exchange, request/response,
 * message ID, and each payload decoded (proposals, groups, IDs, notify
 * names, selectors). Key material (KE data, nonces, AUTH, SK contents
 * other than payloads, PSKs) is never printed: only lengths. */
bool v2_trace_on(const struct ikev2 *e, const struct ip_addr *peer);
void v2_trace(const struct ikev2 *e, const char *conn, const struct ip_addr *peer, uint16_t port,
	      bool sent, const struct ikev2_hdr *h, const struct ikev2_pl *pl, size_t n,
	      size_t bytes);

/* ---- traffic selectors (ts.c) ---- */
/* Our selectors as TSi (local side) and TSr (remote side) payloads. */
void v2_ts_out(struct v2_out *o, const struct ts_list *sel, bool swap);
/* Responder narrowing (2.9): intersect the peer's TSi/TSr with our
 * selectors. sel_out gets the pairs local -> remote. false: nothing left. */
bool v2_ts_narrow(const struct ts_list *cfg, const struct ikev2_tsp *tsi,
		  const struct ikev2_tsp *tsr, struct ts_list *sel_out);
/* Initiator: every returned selector lies inside what we proposed. */
bool v2_ts_accept(const struct ts_list *proposed, const struct ikev2_tsp *tsi,
		  const struct ikev2_tsp *tsr, struct ts_list *sel_out);
/* 2.9: the selector of a packet that triggered a request, inside the
 * selector `within` that it matched: the packet's addresses; with exact,
 * also its protocol and its ports if it has them (TCP, UDP, SCTP...),
 * else within's protocol and ranges (per-host: the host pair). */
void v2_ts_of_flow(const struct ts *within, const struct flow *f, bool exact, struct ts *t);
/* Responder (2.9): the peer's first TSi/TSr pair (the triggering packet's,
 * if it sent one) lies inside one of our selectors. */
bool v2_ts_first_fits(const struct ts_list *cfg, const struct ikev2_tsp *tsi,
		      const struct ikev2_tsp *tsr);
/* Does one selector of l contain t (both local -> remote)? */
bool v2_ts_list_holds(const struct ts_list *l, const struct ts *t);
/* How well selectors fit the child that message m asks for: 2 when its
 * first TSi/TSr pair lies inside them, 1 when they intersect its TSi/TSr,
 * 0 otherwise or when m asks for no child. */
int v2_ts_fit(const struct ts_list *cfg, const struct ikev2_msg *m);
/* Log (notice) the peer's TSi/TSr and our selectors, after a
 * TS_UNACCEPTABLE: what did not intersect. */
void v2_ts_log(const char *conn, const struct ts_list *ours, const struct ikev2_tsp *tsi,
	       const struct ikev2_tsp *tsr);
/* One notice line "WHAT (local -> remote): A -> B, ..." of our selectors. */
void v2_ts_log_ours(const char *conn, const char *what, const struct ts_list *ours);

/* ---- exchanges ---- */
int v2_init_start(struct v2_sa *sa);                                    /* sa_init.c */
void v2_init_request(struct ikev2 *e, const struct ikev2_msg *m, const uint8_t *buf,
		     size_t len, const struct ip_addr *src, uint16_t sport,
		     const struct ip_addr *dst, uint16_t dport);
void v2_init_response(struct v2_sa *sa, const struct ikev2_msg *m, const uint8_t *buf,
		      size_t len, uint16_t sport);
void v2_algs_from(const struct ikev2_proposal *p, struct ikev2_algs *a, uint16_t *group);
int v2_auth_start(struct v2_sa *sa);                                    /* auth.c */
/* The ID we send: the connection's, or our address (auth.c). */
void v2_local_id(const struct v2_sa *sa, struct ike_id *id);
void v2_auth_request(struct v2_sa *sa, const struct ikev2_msg *m);
void v2_auth_response(struct v2_sa *sa, const struct ikev2_msg *m);
/* child.c */
int v2_child_install(struct v2_sa *sa, struct v2_child *ch, const struct secret *g_ir,
		     const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len);
void v2_child_remove(struct v2_sa *sa, struct v2_child *ch);
/* The same for a child that a rekey replaced (its DELETE sent and
 * answered, or received): make-before-break, see ipsec/sad.h. */
void v2_child_retire(struct v2_sa *sa, struct v2_child *ch);
struct v2_child *v2_child_by_in(struct v2_sa *sa, uint32_t spi_in);
struct v2_child *v2_child_by_out(struct v2_sa *sa, uint32_t spi_out);
/* Fill SA/TS/notify payloads of a first child (IKE_AUTH) request. */
int v2_child_req_out(struct v2_sa *sa, struct v2_out *o, uint16_t pfs);
/* Responder side of a child negotiation for entry conn (the IKE SA's, or
 * v2_child_conn_for's); adds the response payloads to o, or an error
 * notify. rekey_of: spi_in of the child it replaces, 0 for a new one.
 * Returns the new child or NULL. */
struct v2_child *v2_child_respond(struct v2_sa *sa, struct ike_conn *conn,
				  const struct ikev2_msg *m, struct v2_out *o, uint32_t rekey_of,
				  const struct secret *g_ir, const uint8_t *ni, size_t ni_len,
				  const uint8_t *nr, size_t nr_len);
/* The entry a new child requested by CREATE_CHILD_SA belongs to. */
struct ike_conn *v2_child_conn_for(struct v2_sa *sa, const struct ikev2_msg *m);
/* Would c have accepted the algorithms the IKE SA runs with? (auth.c) */
bool v2_conn_algs_fit(const struct ike_conn *c, const struct v2_sa *sa);
struct v2_child *v2_child_complete(struct v2_sa *sa, const struct ikev2_msg *m,
				   const struct secret *g_ir, const uint8_t *ni, size_t ni_len,
				   const uint8_t *nr, size_t nr_len);
/* A CREATE_CHILD_SA request: a rekey of the child with spi_in rekey_spi,
 * or (0) a new child for entry `entry` (NULL: the IKE SA's). */
int v2_create_child_start(struct v2_sa *sa, uint32_t rekey_spi, struct ike_conn *entry);
/* Are the IKE SA's ends entry c's: the same peer and local address, our
 * own ID the same, and neither c nor the IKE SA's entry a tunnel
 * interface (whose any <-> any child only its own IKE SA tells apart)? */
bool v2_conn_same_ends(const struct v2_sa *sa, const struct ike_conn *c);
/* Could entry c's children live on this established IKE SA (its ends,
 * the peer's ID as c wants it, c's IKE proposals accept the IKE SA's
 * algorithms)? */
bool v2_conn_shares_ike_sa(const struct v2_sa *sa, const struct ike_conn *c);
/* Does the IKE SA carry a child of entry c? */
bool v2_sa_carries(const struct v2_sa *sa, const struct ike_conn *c);
void v2_create_child_request(struct v2_sa *sa, const struct ikev2_msg *m);
void v2_create_child_response(struct v2_sa *sa, const struct ikev2_msg *m);
/* rekey.c: IKE SA rekey (2.18) and its collisions (2.8.2) */
int v2_ike_rekey_start(struct v2_sa *sa);
void v2_ike_rekey_request(struct v2_sa *sa, const struct ikev2_msg *m);
void v2_ike_rekey_response(struct v2_sa *sa, const struct ikev2_msg *m);
/* The peer deletes sa: a crossing rekey of ours gives way to the peer's. */
void v2_ike_rekey_peer_deleted(struct v2_sa *sa);
/* Arm sa->rekey_at from the connection's IKE lifetime, with jitter, and
 * sa->expire_at (the hard lifetime) at the full lifetime. */
void v2_ike_rekey_arm(struct v2_sa *sa);
/* frag.c: RFC 7383 */
/* The fragment size limit for sa, 0 if its messages are not fragmented. */
size_t v2_frag_mtu(const struct v2_sa *sa);
/* Add one received SKF fragment (verified and decrypted here). Returns 1
 * when the message is complete: the inner payloads are then appended to
 * m (views into *plain, which the caller frees); 0 when more are needed;
 * -1 when dropped. */
int v2_frag_input(struct v2_sa *sa, struct ikev2_msg *m, const uint8_t *buf, size_t len,
		  uint8_t **plain);
void v2_frag_clear(struct v2_frags *f);
/* info.c */
int v2_info_start(struct v2_sa *sa, enum v2_task task, uint32_t spi);
int v2_info_delete_refused(struct v2_sa *sa, uint8_t proto, uint32_t spi_in);
void v2_info_request(struct v2_sa *sa, const struct ikev2_msg *m);
void v2_info_response(struct v2_sa *sa, const struct ikev2_msg *m);
void v2_peer_dead(struct v2_sa *sa);
void v2_timers(struct v2_sa *sa, uint64_t now);
/* RFC 3948 4: first NAT-keepalive one interval after the SA is up. */
void v2_keepalive_arm(struct v2_sa *sa);
uint64_t v2_sa_next_timer(const struct v2_sa *sa);

#endif
