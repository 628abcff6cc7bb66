/* espritd <-> IKE engine (see ike_glue.h).
 *
 * The engine runs on the main thread only. Data-plane workers reach it
 * through a small queue drained on the event loop (a pipe wakes it):
 * acquires (no SA for a policy), expires (lifetimes), and IKE messages
 * that arrived on the NAT-T socket the data plane owns (port 4500, after
 * the non-ESP marker). Port 500 is our own socket. */
#include "daemon/ike_glue.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/ikeconn.h"
#include "crypto/cipher.h"
#include "daemon/daemon.h"
#include "ikev2/ikev2.h"
#include "lib/log.h"

#define IKE_MSG_MAX 65535
#define QUEUE_MAX 1024 /* bounded: an acquire storm cannot eat memory */

enum qkind { Q_ACQUIRE, Q_EXPIRE, Q_IKE_MSG };

struct qitem {
	struct qitem *next;
	enum qkind kind;
	uint32_t reqid;         /* acquire */
	struct flow flow;       /* acquire */
	uint32_t spi;           /* expire */
	uint8_t proto;          /* expire */
	bool hard;              /* expire */
	struct ip_addr src, dst; /* ike msg */
	uint16_t sport, dport;
	size_t len;
	uint8_t msg[];
};

struct ike_glue {
	struct daemon *dd;
	struct ikev2 *v2;
	int sock[2]; /* UDP 500: IPv4, IPv6 */
	struct event *ev_sock[2], *ev_timer, *ev_queue;
	int qpipe[2];
	pthread_mutex_t qlock;
	struct qitem *qhead, *qtail;
	unsigned qlen;
	uint64_t qdropped;
	struct ike_conn_list conns;
	/* Child SA packet counters at the last poll (traffic_poll) */
	struct event *ev_traffic;
	struct event *ev_kick; /* rearm once the control command is done */
	struct seen_sa *seen;
	size_t n_seen;
};

struct seen_sa {
	uint32_t spi, reqid;
	uint8_t proto, dir;
	uint64_t packets;
};

/* ---- env callbacks -------------------------------------------------------- */

static int env_send(void *ctx, const uint8_t *msg, size_t len, const struct ip_addr *src,
		    uint16_t sport, const struct ip_addr *dst, uint16_t dport)
{
	struct ike_glue *g = ctx;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	if (sport == IKE_NATT_PORT || dport == IKE_NATT_PORT) {
		if (!g->dd->dp)
			return -1;
		return dp_natt_send_ike(g->dd->dp, src, dst, dport, msg, len);
	}
	fd = g->sock[dst->af == AF_INET6];
	if (fd < 0)
		return -1;
	sl = ip_addr_to_sockaddr(dst, dport, &ss);
	if (sendto(fd, msg, len, 0, (struct sockaddr *)&ss, sl) < 0) {
		static struct ratelimit rl = RATELIMIT_INIT(1, 5);
		char b[IP_ADDR_STRLEN];
		log_rl(&rl, LOG_LVL_WARN, "ike: send to %s:%u failed: %s", ip_addr_str(dst, b),
		       dport, strerror(errno));
		return -1;
	}
	return 0;
}

static int env_send_keepalive(void *ctx, const struct ip_addr *src, const struct ip_addr *dst,
			      uint16_t dport)
{
	struct ike_glue *g = ctx;
	return g->dd->dp ? dp_natt_send_keepalive(g->dd->dp, src, dst, dport) : -1;
}

static int env_sa_update_encap(void *ctx, uint32_t spi, uint8_t proto, uint16_t sport,
			       uint16_t dport)
{
	struct ike_glue *g = ctx;
	return sad_set_encap_ports(g->dd->sad, spi, proto, sport, dport);
}

static uint64_t env_now_ms(void *ctx)
{
	(void)ctx;
	return now_ns() / 1000000ull;
}

static int env_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	return crypto_random(buf, len);
}

static int env_sa_install(void *ctx, const struct sa_params *p)
{
	struct ike_glue *g = ctx;
	struct sa_params q = *p;
	q.origin = SA_ORIGIN_KEYMGR;
	if (sad_install(g->dd->sad, &q) < 0)
		return -1;
	dp_sa_installed(g->dd->dp, &q); /* path MTU; send what the acquire queue holds */
	return 0;
}

static int env_sa_delete(void *ctx, uint32_t spi, uint8_t proto, const struct ip_addr *dst)
{
	struct ike_glue *g = ctx;
	return sad_delete(g->dd->sad, spi, proto, dst);
}

static int env_sa_retire(void *ctx, uint32_t spi, uint8_t proto, const struct ip_addr *dst)
{
	struct ike_glue *g = ctx;
	return sad_retire(g->dd->sad, spi, proto, dst, now_ns() / 1000000000ull);
}

static int env_sa_activate(void *ctx, uint32_t spi, uint8_t proto, const struct ip_addr *dst)
{
	struct ike_glue *g = ctx;
	return sad_activate(g->dd->sad, spi, proto, dst);
}

static bool env_spi_in_use(void *ctx, uint32_t spi, uint8_t proto)
{
	struct ike_glue *g = ctx;
	return sad_spi_in_use(g->dd->sad, spi, proto);
}

static void env_conn_event(void *ctx, const char *conn, bool up, int action)
{
	(void)ctx;
	static const char *act[] = {"clear", "hold", "restart"};
	if (up)
		log_notice("ike: %s: IKE SA established", conn);
	else
		log_notice("ike: %s: IKE SA gone (action %s)", conn,
			   action >= 0 && action < 3 ? act[action] : "?");
}

/* ---- timers ---------------------------------------------------------------- */

static void rearm(struct ike_glue *g)
{
	uint64_t due = ikev2_next_timeout(g->v2), now = env_now_ms(g);
	struct timeval tv;

	if (due == UINT64_MAX) {
		evtimer_del(g->ev_timer);
		return;
	}
	due = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(due / 1000);
	tv.tv_usec = (suseconds_t)((due % 1000) * 1000);
	evtimer_add(g->ev_timer, &tv);
}

/* After a control command used the engine (rekey, clear...): the request
 * it sent needs its retransmission timer armed. Without this the timer
 * stayed at the engine's previous earliest deadline, so a lost request of
 * an operator rekey or clear was never retransmitted. */
static void on_kick(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	rearm(arg);
}

static void on_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct ike_glue *g = arg;
	(void)fd;
	(void)ev;
	ikev2_tick(g->v2);
	rearm(g);
}

/* ---- traffic on the Child SAs (RFC 7296 2.4) ------------------------------ */

/* Once a second: which connections sent and which received packets on
 * their Child SAs since the last poll. Inbound packets are counted only
 * once authenticated, so they prove the peer alive (2.4: "receipt of a
 * fresh cryptographically protected message on [...] any of its Child
 * SAs ensures liveness"); outbound ones with nothing coming back are what
 * on-demand DPD is for. Without this the engine never heard of traffic:
 * on-demand DPD never fired. */
struct seen_list {
	struct seen_sa *v;
	size_t n, cap;
};

static void seen_collect(struct sa *sa, void *arg)
{
	struct seen_list *l = arg;

	if (sa->p.origin != SA_ORIGIN_KEYMGR)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct seen_sa *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct seen_sa){.spi = sa->p.spi, .reqid = sa->p.reqid,
					.proto = sa->p.proto, .dir = sa->p.dir,
					.packets = __atomic_load_n(&sa->total_packets,
								   __ATOMIC_RELAXED)};
}

static int seen_cmp(const void *a, const void *b)
{
	const struct seen_sa *x = a, *y = b;

	if (x->spi != y->spi)
		return x->spi < y->spi ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (int)x->dir - (int)y->dir;
}

static void traffic_poll(evutil_socket_t fd, short ev, void *arg)
{
	struct ike_glue *g = arg;
	struct seen_list l = {0};
	bool any = false;
	(void)fd;
	(void)ev;

	sad_foreach(g->dd->sad, seen_collect, &l);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), seen_cmp);
	/* outbound first: inbound in the same second answers it */
	for (int in = 0; in < 2; in++)
		for (size_t i = 0; i < l.n; i++) {
			const struct seen_sa *was, *now = &l.v[i];

			if ((now->dir == SA_DIR_IN) != in)
				continue;
			was = g->n_seen ? bsearch(now, g->seen, g->n_seen, sizeof(*g->seen),
						  seen_cmp)
					: NULL;
			if (now->packets > (was ? was->packets : 0)) {
				ikev2_traffic(g->v2, now->reqid, in);
				any = true;
			}
		}
	free(g->seen);
	g->seen = l.v;
	g->n_seen = l.n;
	if (any)
		rearm(g); /* a DPD may be due now */
}

/* ---- UDP 500 --------------------------------------------------------------- */

static void on_sock(evutil_socket_t fd, short ev, void *arg)
{
	struct ike_glue *g = arg;
	static uint8_t buf[IKE_MSG_MAX];
	(void)ev;

	for (int i = 0; i < 32; i++) {
		struct sockaddr_storage from;
		char cbuf[256];
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				    .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		struct ip_addr src, dst;
		uint16_t sport;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n < 0)
			break;
		if (!ip_addr_from_sockaddr((struct sockaddr *)&from, &src, &sport))
			continue;
		memset(&dst, 0, sizeof(dst));
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				ip_addr_from_raw(&dst, AF_INET, &pi.ipi_addr);
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				ip_addr_from_raw(&dst, AF_INET6, &pi.ipi6_addr);
			}
		}
		ikev2_input(g->v2, buf, (size_t)n, &src, sport, &dst, IKE_PORT);
	}
	rearm(g);
}

static int open_sock(int af, uint32_t mark)
{
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
	struct ip_addr any;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (fd < 0)
		return -1;
	memset(&any, 0, sizeof(any));
	any.af = (uint8_t)af;
	sl = ip_addr_to_sockaddr(&any, IKE_PORT, &ss);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 ||
	    (af == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on))
			   : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on))) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		log_err("ike: cannot open UDP %u for %s: %s", IKE_PORT,
			af == AF_INET ? "IPv4" : "IPv6", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- queue from worker threads ------------------------------------------- */

static void enqueue(struct ike_glue *g, struct qitem *it)
{
	bool wake;
	pthread_mutex_lock(&g->qlock);
	if (g->qlen >= QUEUE_MAX) {
		g->qdropped++;
		pthread_mutex_unlock(&g->qlock);
		free(it);
		return;
	}
	wake = !g->qhead;
	if (g->qtail)
		g->qtail->next = it;
	else
		g->qhead = it;
	g->qtail = it;
	g->qlen++;
	pthread_mutex_unlock(&g->qlock);
	if (wake) {
		char c = 1;
		if (write(g->qpipe[1], &c, 1) < 0 && errno != EAGAIN)
			log_warn("ike: queue wake-up failed: %s", strerror(errno));
	}
}

void ike_glue_on_acquire(const struct policy *pol, const struct flow *f, void *arg)
{
	struct qitem *it = calloc(1, sizeof(*it));
	if (!it)
		return;
	it->kind = Q_ACQUIRE;
	it->reqid = pol->reqid;
	it->flow = *f;
	enqueue(arg, it);
}

static void on_expire(const struct sa *sa, enum expire_kind kind, void *arg)
{
	struct qitem *it;
	if (sa->p.origin == SA_ORIGIN_MANUAL)
		return; /* manual SAs are not rekeyed (IOS: no lifetime for manual keys) */
	it = calloc(1, sizeof(*it));
	if (!it)
		return;
	it->kind = Q_EXPIRE;
	it->spi = sa->p.spi;
	it->proto = sa->p.proto;
	it->hard = kind == EXPIRE_HARD;
	enqueue(arg, it);
}

static void on_natt_ike(const uint8_t *msg, size_t len, const struct ip_addr *src,
			uint16_t sport, const struct ip_addr *dst, uint16_t dport, void *arg)
{
	struct qitem *it;
	if (len > IKE_MSG_MAX)
		return;
	it = calloc(1, sizeof(*it) + len);
	if (!it)
		return;
	it->kind = Q_IKE_MSG;
	it->src = *src;
	it->dst = *dst;
	it->sport = sport;
	it->dport = dport;
	it->len = len;
	memcpy(it->msg, msg, len);
	enqueue(arg, it);
}

static void on_queue(evutil_socket_t fd, short ev, void *arg)
{
	struct ike_glue *g = arg;
	char drain[64];
	struct qitem *it;
	(void)ev;

	while (read(fd, drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&g->qlock);
	it = g->qhead;
	g->qhead = g->qtail = NULL;
	g->qlen = 0;
	pthread_mutex_unlock(&g->qlock);
	while (it) {
		struct qitem *next = it->next;
		switch (it->kind) {
		case Q_ACQUIRE:
			ikev2_acquire(g->v2, it->reqid, &it->flow);
			break;
		case Q_EXPIRE:
			ikev2_expire(g->v2, it->spi, it->proto, it->hard);
			break;
		case Q_IKE_MSG:
			ikev2_input(g->v2, it->msg, it->len, &it->src, it->sport, &it->dst,
				    it->dport);
			break;
		}
		free(it);
		it = next;
	}
	rearm(g);
}

/* ---- life cycle ------------------------------------------------------------ */

struct ike_glue *ike_glue_new(struct daemon *dd)
{
	struct ike_glue *g = calloc(1, sizeof(*g));
	struct ike_env env = {.send = env_send, .now_ms = env_now_ms, .random = env_random,
			      .sa_install = env_sa_install, .sa_delete = env_sa_delete,
			      .conn_event = env_conn_event,
			      .send_keepalive = env_send_keepalive,
			      .sa_update_encap = env_sa_update_encap,
			      .sa_retire = env_sa_retire, .sa_activate = env_sa_activate,
			      .spi_in_use = env_spi_in_use};
	struct ike_global ig;

	if (!g)
		return NULL;
	g->dd = dd;
	g->sock[0] = g->sock[1] = g->qpipe[0] = g->qpipe[1] = -1;
	pthread_mutex_init(&g->qlock, NULL);
	env.ctx = g;
	config_ike_global(dd->running, &ig);
	g->v2 = ikev2_new(&env, &ig);
	if (!g->v2 || pipe2(g->qpipe, O_NONBLOCK | O_CLOEXEC) < 0)
		goto fail;
	g->sock[0] = open_sock(AF_INET, DP_FWMARK_DEFAULT);
	g->sock[1] = open_sock(AF_INET6, DP_FWMARK_DEFAULT);
	if (g->sock[0] < 0 && g->sock[1] < 0)
		goto fail;
	for (int i = 0; i < 2; i++) {
		if (g->sock[i] < 0)
			continue;
		g->ev_sock[i] = event_new(dd->base, g->sock[i], EV_READ | EV_PERSIST, on_sock, g);
		if (!g->ev_sock[i] || event_add(g->ev_sock[i], NULL) < 0)
			goto fail;
	}
	g->ev_timer = evtimer_new(dd->base, on_timer, g);
	g->ev_queue = event_new(dd->base, g->qpipe[0], EV_READ | EV_PERSIST, on_queue, g);
	g->ev_traffic = event_new(dd->base, -1, EV_PERSIST, traffic_poll, g);
	g->ev_kick = event_new(dd->base, -1, 0, on_kick, g);
	if (!g->ev_timer || !g->ev_queue || !g->ev_traffic || !g->ev_kick || event_add(g->ev_queue, NULL) < 0 ||
	    event_add(g->ev_traffic, &(struct timeval){.tv_sec = 1}) < 0)
		goto fail;
	sad_set_expire_cb(dd->sad, on_expire, g);
	return g;
fail:
	log_err("ike: cannot start the IKE engine");
	ike_glue_free(g);
	return NULL;
}

void ike_glue_attach_dp(struct ike_glue *g)
{
	if (g->dd->dp)
		dp_set_ike_handler(g->dd->dp, on_natt_ike, g);
}

void ike_glue_free(struct ike_glue *g)
{
	struct qitem *it;
	if (!g)
		return;
	if (g->dd->dp)
		dp_set_ike_handler(g->dd->dp, NULL, NULL);
	if (g->dd->sad)
		sad_set_expire_cb(g->dd->sad, NULL, NULL);
	for (int i = 0; i < 2; i++) {
		if (g->ev_sock[i])
			event_free(g->ev_sock[i]);
		if (g->sock[i] >= 0)
			close(g->sock[i]);
	}
	if (g->ev_timer)
		event_free(g->ev_timer);
	if (g->ev_queue)
		event_free(g->ev_queue);
	if (g->ev_traffic)
		event_free(g->ev_traffic);
	if (g->ev_kick)
		event_free(g->ev_kick);
	free(g->seen);
	ikev2_free(g->v2); /* deletes the Child SAs it installed */
	ike_conn_list_free(&g->conns);
	for (it = g->qhead; it;) {
		struct qitem *next = it->next;
		free(it);
		it = next;
	}
	if (g->qpipe[0] >= 0)
		close(g->qpipe[0]);
	if (g->qpipe[1] >= 0)
		close(g->qpipe[1]);
	pthread_mutex_destroy(&g->qlock);
	free(g);
}

/* For the control commands, which may start requests: rearm the engine
 * timer once the command returns to the event loop (on_kick). */
struct ikev2 *ike_glue_engine(struct ike_glue *g)
{
	if (!g)
		return NULL;
	if (g->ev_kick)
		event_active(g->ev_kick, EV_TIMEOUT, 0);
	return g->v2;
}

/* ---- connections ----------------------------------------------------------- */

static const struct ike_conn *find_conn(const struct ike_conn_list *l, const char *name)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->conns[i].name, name) == 0)
			return &l->conns[i];
	return NULL;
}

static bool secret_same(const struct secret *a, const struct secret *b)
{
	if (!a || !b)
		return a == b;
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Both were built by config_ike_conns from zeroed structs, so comparing
 * the bytes (keys aside) is meaningful. */
static bool conn_same(const struct ike_conn *a, const struct ike_conn *b)
{
	struct ike_conn x = *a, y = *b;
	x.psk_local = x.psk_remote = y.psk_local = y.psk_remote = NULL;
	return memcmp(&x, &y, sizeof(x)) == 0 && secret_same(a->psk_local, b->psk_local) &&
	       secret_same(a->psk_remote, b->psk_remote);
}

int ike_glue_sync(struct ike_glue *g, const struct config *c, char *err, size_t errlen)
{
	struct ike_conn_list nl;
	unsigned added = 0, removed = 0;

	if (config_ike_conns(c, &nl, err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < g->conns.n; i++) {
		const struct ike_conn *now = find_conn(&nl, g->conns.conns[i].name);
		if (!now || !conn_same(now, &g->conns.conns[i])) {
			ikev2_conn_del(g->v2, g->conns.conns[i].name);
			removed++;
		}
	}
	for (unsigned i = 0; i < nl.n; i++) {
		const struct ike_conn *was = find_conn(&g->conns, nl.conns[i].name);
		if (was && conn_same(was, &nl.conns[i]))
			continue;
		if (ikev2_conn_add(g->v2, &nl.conns[i]) < 0)
			log_err("ike: cannot add connection %s", nl.conns[i].name);
		else
			added++;
	}
	ike_conn_list_free(&g->conns);
	g->conns = nl;
	if (added || removed)
		log_notice("ike: %u connection(s) added, %u removed", added, removed);
	rearm(g);
	return 0;
}
