/* The data plane instance: start-up, shutdown, counters. See dp.h for the
 * contract and route.c for routing and marking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crypto/cipher.h"
#include "dataplane/internal.h"

unsigned dp_workers_resolve(unsigned cfg_workers)
{
	long n;

	if (cfg_workers)
		return cfg_workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void config_defaults(struct dp_config *c)
{
	const char *env = getenv("ESPRIT_DP_OFFLOADS");

	if (!c->tun_name[0])
		snprintf(c->tun_name, sizeof(c->tun_name), "ipsec0");
	if (!c->tun_mtu)
		c->tun_mtu = DP_TUN_MTU_DEFAULT;
	if (!c->fwmark)
		c->fwmark = DP_FWMARK_DEFAULT; /* "not fwmark 0" would match nothing useful */
	if (!c->natt_port)
		c->natt_port = DP_NATT_PORT_DEFAULT;
	if (!c->route_table)
		c->route_table = DP_ROUTE_TABLE_DEFAULT;
	if (!c->rule_pref)
		c->rule_pref = DP_RULE_PREF_DEFAULT;
	c->workers = dp_workers_resolve(c->workers);
	/* Debugging switch until the config has commands for each field. */
	if (env && strcmp(env, "0") == 0)
		c->no_multiqueue = c->no_tso = c->no_gso = c->no_gro = c->no_tun_gro =
			c->no_batch_crypto = c->no_uso = true;
	/* Without a queue and sockets per worker, several workers reading one
	 * fd reorder an SA's packets (TCP suffers, replay windows drop): one
	 * worker then does everything. */
	if (c->no_multiqueue)
		c->workers = 1;
}

static int workers_create(struct dp *dp)
{
	dp->workers = calloc(dp->nworkers, sizeof(*dp->workers));
	if (!dp->workers)
		return -1;
	for (unsigned i = 0; i < dp->nworkers; i++)
		dp->workers[i].kick_fd = -1;
	dp_affinity_init(dp);
	for (unsigned i = 0; i < dp->nworkers; i++) {
		struct dp_worker *w = &dp->workers[i];
		w->dp = dp;
		w->idx = i;
		w->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->kick_fd < 0) {
			log_err("dp: eventfd: %s", strerror(errno));
			return -1;
		}
		if (pkt_pool_init(&w->pool, DP_POOL_SIZE) < 0)
			return -1;
		w->scratch = xform_scratch_new();
		if (!w->scratch)
			return -1;
		/* IPv6 fragment identifications (send_cut): unpredictable (RFC
		 * 7739), and each worker's far from the others' */
		if (crypto_random(&w->frag_id, sizeof(w->frag_id)) != 0)
			w->frag_id = i << 24;
		if (!dp->cfg.no_batch_crypto && xform_defer_enable(w->scratch)) {
			dp->batch_crypto = true;
			w->prever = true;
		}
		w->gso = dp->gso;
		w->gro = !dp->cfg.no_tun_gro && dp->tun.vnet;
		w->gro_udp = w->gro && !dp->cfg.no_uso;
		if (dp_socks_worker_open(&dp->socks, i, dp->cfg.no_multiqueue ? 1 : dp->nworkers,
					 dp->cfg.fwmark, dp->gro, w->rx, w->rx_own) < 0)
			return -1;
	}
	if (!dp->cfg.no_multiqueue && dp_socks_steer(&dp->socks, dp->nworkers) < 0)
		return -1;
	for (unsigned i = 0; i < dp->nworkers; i++) {
		struct dp_worker *w = &dp->workers[i];
		int err = pthread_create(&w->thread, NULL, dp_worker_main, w);
		if (err) {
			log_err("dp: pthread_create: %s", strerror(err));
			return -1;
		}
		w->started = true;
	}
	return 0;
}

static void workers_stop(struct dp *dp)
{
	uint64_t one = 1;

	if (!dp->workers)
		return;
	__atomic_store_n(&dp->stopping, true, __ATOMIC_RELEASE);
	if (write(dp->wake_fd, &one, sizeof(one)) != sizeof(one))
		log_err("dp: eventfd write: %s", strerror(errno));
	/* All joined before any fd closes: a running worker may kick another. */
	for (unsigned i = 0; i < dp->nworkers; i++)
		if (dp->workers[i].started)
			pthread_join(dp->workers[i].thread, NULL);
	for (unsigned i = 0; i < dp->nworkers; i++) {
		struct dp_worker *w = &dp->workers[i];
		w->started = false;
		xform_scratch_free(w->scratch);
		pkt_pool_destroy(&w->pool);
		for (int k = 0; k < RX__COUNT; k++)
			if (w->rx_own[k] && w->rx[k] >= 0)
				close(w->rx[k]);
		if (w->kick_fd >= 0)
			close(w->kick_fd);
		xsk_worker_fini(w);
	}
	free(dp->workers);
	dp->workers = NULL;
}

/* Undo dp_start in reverse; every step copes with "never done". */
void dp_stop(struct dp *dp)
{
	if (!dp)
		return;
	workers_stop(dp);
	dp_vti_del_all(dp); /* the devices take their addresses and routes along */
	dp_xsk_close_all(dp);
	if (dp->routes_ready)
		route_set_destroy(&dp->routes);
	dp_socks_close(&dp->socks);
	tun_close(&dp->tun);
	if (dp->wake_fd >= 0)
		close(dp->wake_fd);
	acq_limit_destroy(&dp->acq);
	acqq_destroy(&dp->acqq);
	pthread_mutex_destroy(&dp->vti_lock);
	pthread_mutex_destroy(&dp->xsk_lock);
	log_info("dp: stopped");
	free(dp);
}

struct dp *dp_start(const struct dp_config *cfg, struct sad *sad, struct spd *spd,
		    spd_acquire_fn acquire, void *acquire_arg)
{
	struct dp *dp = calloc(1, sizeof(*dp));
	struct ratelimit rl = RATELIMIT_INIT(5, 20);

	if (!dp)
		return NULL;
	dp->cfg = *cfg;
	config_defaults(&dp->cfg);
	dp->sad = sad;
	dp->spd = spd;
	dp->acquire = acquire;
	dp->acquire_arg = acquire_arg;
	dp->nworkers = dp->cfg.workers;
	dp->rl_drop = rl;
	dp->rl_io = rl;
	dp->rl_icmp = (struct ratelimit)RATELIMIT_INIT(100, 100);
	acq_limit_init(&dp->acq, 1000000000ull);
	acqq_init(&dp->acqq);
	pthread_mutex_init(&dp->vti_lock, NULL);
	pthread_mutex_init(&dp->xsk_lock, NULL);
	for (unsigned i = 0; i < TUN_MAX_QUEUES; i++) {
		dp->tun.fd[i] = -1;
		for (unsigned v = 0; v < DP_VTI_MAX; v++)
			dp->vti[v].tun.fd[i] = -1;
	}
	for (int k = 0; k < RX__COUNT; k++)
		dp->socks.rx[k] = -1;
	dp->socks.raw4_tx = dp->socks.raw6_tx = -1;
	dp->socks.icmp4 = dp->socks.icmp6 = -1;
	dp->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dp->wake_fd < 0) {
		log_err("dp: eventfd: %s", strerror(errno));
		goto fail;
	}
	if (tun_open(&dp->tun, dp->cfg.tun_name, dp->cfg.tun_mtu,
		     dp->cfg.no_multiqueue ? 1 : dp->nworkers, !dp->cfg.no_tso, !dp->cfg.no_tso,
		     !dp->cfg.no_tso && !dp->cfg.no_uso) < 0)
		goto fail;
	if (dp->cfg.tun_qlen && tun_set_qlen(&dp->tun, dp->cfg.tun_qlen) < 0)
		goto fail;
	dp->tso = dp->tun.tso;
	dp->gso = !dp->cfg.no_gso;
	dp->gro = !dp->cfg.no_gro;
	dp->xdp_tx = dp->cfg.xdp_tx;
	if (!dp->cfg.no_sysctl)
		route_sysctl_setup(dp->tun.name);
	if (dp_socks_open(&dp->socks, dp->cfg.fwmark, dp->cfg.natt_port,
			  dp->cfg.udp_encap_listen, !dp->cfg.no_multiqueue && dp->nworkers > 1) < 0)
		goto fail;
	if (route_set_init(&dp->routes, dp->tun.ifindex, dp->cfg.route_table, dp->cfg.rule_pref,
			   dp->cfg.fwmark) < 0)
		goto fail;
	dp->routes_ready = true;
	if (workers_create(dp) < 0)
		goto fail;
	log_info("dp: started on %s with %u worker(s), fwmark 0x%x, table %u%s; offloads: "
		 "%u TUN queue(s), TSO %s, USO %s, UDP GSO %s, UDP GRO %s, TUN GRO %s, batch crypto %s, "
		 "xdp-tx %s",
		 dp->tun.name, dp->nworkers,
		 dp->cfg.fwmark, dp->cfg.route_table, dp->cfg.udp_encap_listen ? ", NAT-T on" : "",
		 dp->tun.nqueues, dp->tso ? "on" : "off", dp->tun.uso ? "on" : "off",
		 dp->gso ? "on" : "off",
		 dp->gro ? "on" : "off", !dp->cfg.no_tun_gro && dp->tun.vnet ? "on" : "off",
		 dp->batch_crypto ? "on" : "off", dp->xdp_tx ? "on" : "off");
	return dp;
fail:
	dp_stop(dp);
	return NULL;
}

/* ---- counters ---------------------------------------------------------- */

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ZERO(x) __atomic_store_n(&(x), 0, __ATOMIC_RELAXED)

/* The kernel's drop counters of the tunnel devices (the TUN and every
 * VTI) and of the receive sockets: the shared ones and those a worker
 * opened for itself (dp_socks_worker_open). */
static void kernel_drops(struct dp *dp, uint64_t *tun, uint64_t *sock)
{
	int ifx[1 + DP_VTI_MAX];
	unsigned nifx = 0;

	ifx[nifx++] = dp->tun.ifindex;
	pthread_mutex_lock(&dp->vti_lock);
	for (unsigned i = 0; i < DP_VTI_MAX; i++)
		if (__atomic_load_n(&dp->vti[i].used, __ATOMIC_RELAXED))
			ifx[nifx++] = dp->vti[i].tun.ifindex;
	pthread_mutex_unlock(&dp->vti_lock);
	if (route_links_tx_dropped(ifx, nifx, tun) < 0)
		*tun = 0;
	*sock = 0;
	for (unsigned k = 0; k < RX__COUNT; k++) {
		*sock += sock_rx_drops(dp->socks.rx[k]);
		for (unsigned i = 0; dp->workers && i < dp->nworkers; i++)
			if (dp->workers[i].rx_own[k])
				*sock += sock_rx_drops(dp->workers[i].rx[k]);
	}
}

static uint64_t since(uint64_t now, uint64_t base)
{
	return now > base ? now - base : 0; /* a VTI removed takes its count along */
}

/* Adds worker counters s to out. */
static void worker_add(const struct dp_global_stats *s, struct dp_global_stats *out)
{
	out->tun_rx += LOAD(s->tun_rx);
	out->tun_tx += LOAD(s->tun_tx);
	out->net_rx += LOAD(s->net_rx);
	out->net_tx += LOAD(s->net_tx);
	out->tun_ignored += LOAD(s->tun_ignored);
	out->natt_keepalive_rx += LOAD(s->natt_keepalive_rx);
	out->ike_rx += LOAD(s->ike_rx);
	out->acquires += LOAD(s->acquires);
	out->tun_gro_writes += LOAD(s->tun_gro_writes);
	out->tun_gro_pkts += LOAD(s->tun_gro_pkts);
	out->mb_batches += LOAD(s->mb_batches);
	out->mb_pkts += LOAD(s->mb_pkts);
	out->mb_in_batches += LOAD(s->mb_in_batches);
	out->mb_in_pkts += LOAD(s->mb_in_pkts);
	out->pmtu_fragmented += LOAD(s->pmtu_fragmented);
	out->pmtu_icmp_sent += LOAD(s->pmtu_icmp_sent);
	out->pmtu_fragmented_after += LOAD(s->pmtu_fragmented_after);
	out->pmtu_icmp_rx += LOAD(s->pmtu_icmp_rx);
	out->pmtu_icmp_ignored += LOAD(s->pmtu_icmp_ignored);
	out->xdp_tx += LOAD(s->xdp_tx);
	out->xdp_tx_busy += LOAD(s->xdp_tx_busy);
	out->xdp_tx_raw += LOAD(s->xdp_tx_raw);
	for (unsigned d = 0; d < DROP__COUNT; d++)
		out->drops[d] += LOAD(s->drops[d]);
}

void dp_stats(struct dp *dp, struct dp_global_stats *out)
{
	uint64_t ktun, ksock;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; dp->workers && i < dp->nworkers; i++)
		worker_add(&dp->workers[i].stats.s, out);
	out->acq_queued = LOAD(dp->acqq.queued);
	out->acq_flushed = LOAD(dp->acqq.flushed);
	out->acq_expired = LOAD(dp->acqq.expired);
	out->acq_overflow = LOAD(dp->acqq.overflow);
	kernel_drops(dp, &ktun, &ksock);
	out->tun_queue_drops = since(ktun, dp->kdrop_base_tun);
	out->sock_buffer_drops = since(ksock, dp->kdrop_base_sock);
	out->tun_qlen = tun_qlen_in_force(dp->cfg.tun_qlen);
}

/* Races with workers only in losing increments made during the clear. */
void dp_clear_stats(struct dp *dp)
{
	for (unsigned i = 0; dp->workers && i < dp->nworkers; i++) {
		struct dp_global_stats *s = &dp->workers[i].stats.s;
		ZERO(s->tun_rx);
		ZERO(s->xdp_tx);
		ZERO(s->xdp_tx_busy);
		ZERO(s->xdp_tx_raw);
		ZERO(s->tun_tx);
		ZERO(s->net_rx);
		ZERO(s->net_tx);
		ZERO(s->tun_ignored);
		ZERO(s->natt_keepalive_rx);
		ZERO(s->ike_rx);
		ZERO(s->acquires);
		ZERO(s->tun_gro_writes);
		ZERO(s->tun_gro_pkts);
		ZERO(s->mb_batches);
		ZERO(s->mb_pkts);
		ZERO(s->mb_in_batches);
		ZERO(s->mb_in_pkts);
		for (unsigned d = 0; d < DROP__COUNT; d++)
			ZERO(s->drops[d]);
	}
	ZERO(dp->acqq.queued);
	ZERO(dp->acqq.flushed);
	ZERO(dp->acqq.expired);
	ZERO(dp->acqq.overflow);
	kernel_drops(dp, &dp->kdrop_base_tun, &dp->kdrop_base_sock);
}

/* ---- the acquire queue ----------------------------------------------------- */

void dp_sa_installed(struct dp *dp, const struct sa_params *p)
{
	uint32_t mtu;

	if (!dp)
		return;
	if (dp->routes_ready)
		route_set_outer(&dp->routes, p->dir == SA_DIR_OUT ? &p->dst : &p->src,
				"peer of SA");
	if (p->dir != SA_DIR_OUT)
		return;
	/* A rekeyed SA inherited its predecessor's MTU (sad_install): kept.
	 * No answer (no route yet): the first packet asks (ask_path_mtu). */
	mtu = sock_path_mtu(&dp->socks, &p->dst);
	if (mtu)
		sad_seed_path_mtu(dp->sad, p, mtu, now_coarse_s() + DP_PMTU_TTL_S);
	/* worker 0 checks every waiting reqid against the SAD */
	if (dp->workers && acqq_pending(&dp->acqq))
		dp_worker_kick(dp, 0);
}

int dp_tun_ifindex(const struct dp *dp)
{
	return dp->tun.ifindex;
}

unsigned dp_nworkers(const struct dp *dp)
{
	return dp->nworkers;
}

int dp_worker_stats(const struct dp *dp, unsigned i, struct dp_global_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!dp->workers || i >= dp->nworkers)
		return -1;
	worker_add(&dp->workers[i].stats.s, out);
	return 0;
}

unsigned dp_sa_rx_worker(const struct dp *dp, const struct sa_params *p)
{
	/* dp_socks_worker_open: IPv4 raw ESP and ESP-in-UDP have a socket per
	 * worker, picked by SPI % n; AH and IPv6 raw ESP are read by worker 0. */
	bool steered = p->proto == IPSEC_PROTO_ESP && (p->encap_sport || p->dst.af == AF_INET);

	return steered && !dp->cfg.no_multiqueue && dp->nworkers > 1 ? p->spi % dp->nworkers : 0;
}

void dp_engine(const struct dp *dp, struct dp_engine *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->tun_name, sizeof(e->tun_name), "%s", dp->tun.name);
	e->workers = dp->nworkers;
	e->queues = dp->tun.nqueues;
	e->queue_len = tun_qlen_in_force(dp->cfg.tun_qlen);
	e->mtu = dp->cfg.tun_mtu;
	e->fwmark = dp->cfg.fwmark;
	e->route_table = dp->cfg.route_table;
	if (dp->routes_ready)
		e->route_rule = route_set_ruled((struct dp_route_set *)&dp->routes, e->route_why,
						sizeof(e->route_why));
	e->natt_port = dp->cfg.udp_encap_listen ? dp->cfg.natt_port : 0;
	e->nvti = __atomic_load_n(&dp->nvti, __ATOMIC_RELAXED);
	e->multiqueue = dp->tun.nqueues > 1;
	e->tso = dp->tso;
	e->uso = dp->tun.uso;
	e->uso_refused = dp->tso && !dp->cfg.no_uso && !dp->tun.uso;
	e->gso = dp->gso;
	e->gro = dp->gro;
	e->tun_gro = !dp->cfg.no_tun_gro && dp->tun.vnet;
	e->batch_crypto = dp->batch_crypto;
	e->xdp_tx = dp->xdp_tx;
	e->df_bit = (enum dp_df_bit)__atomic_load_n(&dp->df_bit, __ATOMIC_RELAXED);
	e->frag_after = __atomic_load_n(&dp->frag_after, __ATOMIC_RELAXED);
}

void dp_set_frag_after(struct dp *dp, bool after)
{
	if (dp && __atomic_exchange_n(&dp->frag_after, after, __ATOMIC_RELAXED) != after)
		log_info("dp: crypto ipsec fragmentation %s-encryption: IPv4 packets without DF "
			 "over the path MTU are fragmented %s encryption",
			 after ? "after" : "before", after ? "after" : "before");
}

const char *dp_df_bit_name(enum dp_df_bit mode)
{
	return mode == DP_DF_CLEAR ? "clear" : mode == DP_DF_SET ? "set" : "copy";
}

void dp_set_df_bit(struct dp *dp, enum dp_df_bit mode)
{
	unsigned was;

	if (!dp)
		return;
	was = __atomic_exchange_n(&dp->df_bit, (unsigned)mode, __ATOMIC_RELAXED);
	if (was != (unsigned)mode)
		log_info("dp: crypto ipsec df-bit %s: the DF bit of outer IPv4 headers is %s",
			 dp_df_bit_name(mode),
			 mode == DP_DF_CLEAR ? "clear (routers on the path may fragment our packets)"
			 : mode == DP_DF_SET ? "set"
					     : "copied from the inner header (set for IPv6)");
}

/* ---- IKE on the NAT-T port ---------------------------------------------- */

void dp_set_ike_handler(struct dp *dp, dp_ike_fn fn, void *arg)
{
	__atomic_store_n(&dp->ike_arg, arg, __ATOMIC_RELAXED);
	__atomic_store_n(&dp->ike_fn, fn, __ATOMIC_RELEASE);
}

int dp_natt_send_ike(struct dp *dp, const struct ip_addr *src, const struct ip_addr *dst,
		     uint16_t dport, const uint8_t *msg, size_t len)
{
	static const uint8_t marker[4]; /* RFC 3948 2.2: non-ESP marker */
	struct iovec iov[2] = {{(void *)marker, sizeof(marker)}, {(void *)msg, len}};

	return sock_udp_send(&dp->socks, src, dst, dport, iov, 2);
}

int dp_natt_send_keepalive(struct dp *dp, const struct ip_addr *src, const struct ip_addr *dst,
			   uint16_t dport)
{
	static const uint8_t ka = 0xff; /* RFC 3948 2.3: one octet, no marker */
	struct iovec iov[1] = {{(void *)&ka, 1}};

	return sock_udp_send(&dp->socks, src, dst, dport, iov, 1);
}

/* ---- routes ------------------------------------------------------------ */

int dp_route_add(struct dp *dp, const struct ip_prefix *dst)
{
	return route_set_add(&dp->routes, dst, NULL);
}

int dp_route_add_src(struct dp *dp, const struct ip_prefix *dst, const struct ip_addr *src)
{
	return route_set_add(&dp->routes, dst, src);
}

int dp_route_outer(struct dp *dp, const struct ip_addr *addr, const char *what)
{
	return route_set_outer(&dp->routes, addr, what);
}

int dp_route_del(struct dp *dp, const struct ip_prefix *dst)
{
	return route_set_del(&dp->routes, dst);
}

void dp_routes_flush(struct dp *dp)
{
	route_set_flush(&dp->routes);
}
