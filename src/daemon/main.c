/* espritd: the esprit daemon.
 *
 *   espritd -f CONFIG [-d] [-s SOCKET] [-t]
 *
 * Loads the configuration (a config with an error changes nothing and the
 * daemon does not start), starts the data plane, applies the policies and
 * SAs, and serves the control socket. SIGHUP reloads the file; SIGTERM and
 * SIGINT shut down cleanly: routes and the TUN device removed, keys wiped.
 * Start-up undoes itself in reverse on failure (STYLE.md 8). */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <urcu.h>

#include "control/control.h"
#include "crypto/mb.h"
#include "config/ikeconn.h"
#include "daemon/daemon.h"
#include "daemon/ike_glue.h"
#include "lib/log.h"

#define DEFAULT_SOCKET "/run/esprit/espritd.sock"

static void usage(FILE *f)
{
	fprintf(f, "usage: espritd -f CONFIG [-d] [-s SOCKET] [-t]\n"
		   "  -f CONFIG  configuration file (IOS-style)\n"
		   "  -d         debug: log debug messages to stderr\n"
		   "  -s SOCKET  control socket path (default: config, else %s)\n"
		   "  -t         test the configuration and exit\n",
		   DEFAULT_SOCKET);
}

/* ---- applying configurations -------------------------------------------- */

/* Takes ownership of c. */
/* What the data plane reads only when it starts: say so when it changes. */
static void warn_restart_only(const struct config *old, const struct config *c)
{
	if (old->workers != c->workers || old->offload_off != c->offload_off ||
	    old->xdp_tx != c->xdp_tx ||
	    strcmp(old->tun_ifname, c->tun_ifname) != 0)
		log_warn("crypto engine workers/offload and esprit tunnel-interface changed: "
			 "they take effect when espritd restarts (the data plane keeps "
			 "running as it started)");
}

static int daemon_apply(struct daemon *dd, struct config *c, char *err, size_t errlen)
{
	struct desired d;
	int ret;

	if ((dd->dp && dp_check_cpus(dd->dp, c->cpus, err, errlen) < 0) ||
	    reconcile_build(c, &d, err, errlen) < 0) {
		config_free(c);
		return -1;
	}
	{
		/* Check the IKE connections too before anything changes. */
		struct ike_conn_list dry;
		if (config_ike_conns(c, &dry, err, errlen) < 0) {
			reconcile_desired_free(&d);
			config_free(c);
			return -1;
		}
		ike_conn_list_free(&dry);
	}
	ret = reconcile_apply(&dd->rt, &d, err, errlen);
	reconcile_desired_free(&d);
	if (ret == 0 && dd->ike)
		ret = ike_glue_sync(dd->ike, c, err, errlen);
	if (ret < 0) {
		/* Put the previous configuration back: reconcile to it again. */
		char err2[256];
		if (dd->running && reconcile_build(dd->running, &d, err2, sizeof(err2)) == 0) {
			if (reconcile_apply(&dd->rt, &d, err2, sizeof(err2)) < 0)
				log_err("restoring the previous configuration failed: %s", err2);
			reconcile_desired_free(&d);
		}
		config_free(c);
		return -1;
	}
	if (dd->running)
		warn_restart_only(dd->running, c);
	if (dd->running && dd->dp && dd->running->queue_len != c->queue_len)
		(void)dp_set_queue_len(dd->dp, c->queue_len); /* logged */
	if (dd->dp && (dd->running ? memcmp(dd->running->cpus, c->cpus, sizeof(c->cpus)) != 0
				   : cpulist_next(c->cpus, 0) >= 0)) {
		char e2[256];
		if (dp_set_cpus(dd->dp, c->cpus, e2, sizeof(e2)) < 0) /* checked above: rare */
			log_err("%s", e2);
	}
	dp_set_df_bit(dd->dp, (enum dp_df_bit)c->df_bit); /* logged if changed */
	dp_set_frag_after(dd->dp, c->frag_after);
	config_free(dd->running);
	dd->running = c;
	return 0;
}

static int daemon_reload(struct daemon *dd, char *err, size_t errlen)
{
	struct cfg_error ce;
	struct config *c = config_load_file(dd->config_path, &ce);

	if (!c) {
		cfg_error_format(&ce, err, errlen);
		return -1;
	}
	return daemon_apply(dd, c, err, errlen);
}

/* ---- control ops ---------------------------------------------------------- */

static const struct config *op_running(void *arg)
{
	return ((struct daemon *)arg)->running;
}

static int op_apply(void *arg, struct config *c, char *err, size_t errlen)
{
	return daemon_apply(arg, c, err, errlen);
}

static struct sad *op_sad(void *arg)
{
	return ((struct daemon *)arg)->sad;
}

static struct dp *op_dp(void *arg)
{
	return ((struct daemon *)arg)->dp;
}

static const char *op_config_path(void *arg)
{
	return ((struct daemon *)arg)->config_path;
}

static struct ikev2 *op_ikev2(void *arg)
{
	return ike_glue_engine(((struct daemon *)arg)->ike);
}

static int op_reload(void *arg, char *err, size_t errlen)
{
	return daemon_reload(arg, err, errlen);
}

/* ---- signals -------------------------------------------------------------- */

static void on_sighup(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon *dd = arg;
	char err[1024];
	(void)fd;
	(void)ev;

	log_notice("SIGHUP: reloading %s", dd->config_path);
	if (daemon_reload(dd, err, sizeof(err)) < 0)
		log_err("reload failed, running configuration unchanged:\n%s", err);
}

/* Once a second: lifetimes in seconds (soft expiry -> rekey, hard ->
 * delete), counted by the SAD against the monotonic clock. */
static void timer_on_second(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon *dd = arg;
	(void)fd;
	(void)ev;
	sad_tick(dd->sad, now_ns() / 1000000000ull);
	if (dd->seq_open)
		seqstate_sync(&dd->seqst, dd->sad, false);
}

static void on_sigterm(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon *dd = arg;
	(void)ev;
	log_notice("signal %d: shutting down", (int)fd);
	event_base_loopbreak(dd->base);
}

/* ---- start-up ------------------------------------------------------------- */

static void dp_config_from(const struct config *c, struct dp_config *dc)
{
	memset(dc, 0, sizeof(*dc));
	snprintf(dc->tun_name, sizeof(dc->tun_name), "%.15s",
		 c->tun_ifname[0] ? c->tun_ifname : "ipsec0");
	dc->tun_mtu = 1400;
	dc->workers = c->workers;
	dc->tun_qlen = c->queue_len;
	dc->no_multiqueue = c->offload_off & CFG_OFFLOAD_MULTIQUEUE;
	dc->no_tso = c->offload_off & CFG_OFFLOAD_TSO;
	dc->no_gso = c->offload_off & CFG_OFFLOAD_UDP_GSO;
	dc->no_gro = c->offload_off & CFG_OFFLOAD_UDP_GRO;
	dc->no_tun_gro = c->offload_off & CFG_OFFLOAD_TUN_GRO;
	dc->no_batch_crypto = c->offload_off & CFG_OFFLOAD_BATCH_CRYPTO;
	dc->no_uso = c->offload_off & CFG_OFFLOAD_USO;
	dc->xdp_tx = c->xdp_tx;
	dc->fwmark = DP_FWMARK_DEFAULT;
	dc->natt_port = 4500;
	dc->udp_encap_listen = true; /* cheap, and a peer may encapsulate anyway */
}

static int load_initial(struct daemon *dd, bool test_only)
{
	struct cfg_error ce;
	char msg[2048];

	dd->running = config_load_file(dd->config_path, &ce);
	if (!dd->running) {
		cfg_error_format(&ce, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	if (test_only) {
		/* The checks the first apply makes (daemon_apply), nothing installed. */
		struct desired d;
		struct ike_conn_list dry;
		if (dp_check_cpus(NULL, dd->running->cpus, msg, sizeof(msg)) < 0 ||
		    reconcile_build(dd->running, &d, msg, sizeof(msg)) < 0)
			goto refused;
		reconcile_desired_free(&d);
		if (config_ike_conns(dd->running, &dry, msg, sizeof(msg)) < 0)
			goto refused;
		ike_conn_list_free(&dry);
		printf("%s: configuration OK\n", dd->config_path);
	}
	return 0;
refused:
	fprintf(stderr, "%s: %s\n", dd->config_path, msg);
	config_free(dd->running);
	dd->running = NULL;
	return -1;
}

int main(int argc, char **argv)
{
	struct daemon dd;
	struct dp_config dc;
	struct ctl_ops ops = {.running = op_running, .apply = op_apply, .sad = op_sad,
			      .dp = op_dp, .config_path = op_config_path, .reload = op_reload,
			      .ikev2 = op_ikev2, .arg = &dd};
	struct event *ev_hup = NULL, *ev_term = NULL, *ev_int = NULL, *ev_tick = NULL;
	const struct timeval one_second = {1, 0};
	bool debug = false, test_only = false;
	char err[2048];
	int opt, ret = 1;

	memset(&dd, 0, sizeof(dd));
	while ((opt = getopt(argc, argv, "f:ds:th")) != -1) {
		switch (opt) {
		case 'f':
			snprintf(dd.config_path, sizeof(dd.config_path), "%s", optarg);
			break;
		case 'd':
			debug = true;
			break;
		case 's':
			snprintf(dd.socket_path, sizeof(dd.socket_path), "%s", optarg);
			dd.socket_from_cmdline = true;
			break;
		case 't':
			test_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dd.config_path[0]) {
		usage(stderr);
		return 2;
	}
	log_setup("espritd", true, !isatty(STDERR_FILENO) && !debug,
		  debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	signal(SIGPIPE, SIG_IGN);
	rcu_register_thread();

	if (load_initial(&dd, test_only) < 0)
		goto out_rcu;
	if (test_only) {
		ret = 0;
		goto out_config;
	}
	if (!dd.socket_path[0])
		snprintf(dd.socket_path, sizeof(dd.socket_path), "%s",
			 dd.running->control_socket[0] ? dd.running->control_socket
						       : DEFAULT_SOCKET);

	/* Before any key is made (IKE SAs use the library's GCM too). */
	if (dd.running->offload_off & CFG_OFFLOAD_IPSEC_MB)
		mb_disable();
	dd.sad = sad_new(dp_workers_resolve(dd.running->workers));
	dd.spd = spd_new();
	if (!dd.sad || !dd.spd)
		goto out_db;
	dd.rt.sad = dd.sad;
	dd.rt.spd = dd.spd;
	dd.base = event_base_new();
	if (!dd.base)
		goto out_db;
	dd.ike = ike_glue_new(&dd);
	if (!dd.ike)
		goto out_base;
	dp_config_from(dd.running, &dc);
	dd.dp = dp_start(&dc, dd.sad, dd.spd, ike_glue_on_acquire, dd.ike);
	if (!dd.dp) {
		log_err("cannot start the data plane (see above); are we root?");
		goto out_ike;
	}
	dd.rt.dp = dd.dp;
	ike_glue_attach_dp(dd.ike);
	{
		/* The first apply: the running config is both old and new. */
		struct config *first = dd.running;
		char path[sizeof(dd.seqst.path)];
		seqstate_path(dd.socket_path, DEFAULT_SOCKET, path, sizeof(path));
		if (strncmp(path, SEQSTATE_DIR "/", sizeof(SEQSTATE_DIR)) == 0 &&
		    mkdir(SEQSTATE_DIR, 0700) < 0 && errno != EEXIST)
			log_warn("%s: %s; the sequence numbers of manual SAs are not kept",
				 SEQSTATE_DIR, strerror(errno));
		dd.seq_open = seqstate_open(&dd.seqst, path) == 0;
		dd.rt.seq = dd.seq_open ? &dd.seqst : NULL;
		dd.running = NULL;
		if (daemon_apply(&dd, first, err, sizeof(err)) < 0) {
			log_err("%s: %s", dd.config_path, err);
			goto out_dp;
		}
		dd.rt.seq = NULL;
		if (dd.seq_open) {
			seqstate_saved_done(&dd.seqst);
			seqstate_sync(&dd.seqst, dd.sad, false); /* reserve before traffic */
		}
	}
	dd.ctl = ctl_server_new(dd.base, dd.socket_path, &ops);
	if (!dd.ctl) {
		log_err("cannot listen on control socket %s", dd.socket_path);
		goto out_dp;
	}
	ev_hup = evsignal_new(dd.base, SIGHUP, on_sighup, &dd);
	ev_term = evsignal_new(dd.base, SIGTERM, on_sigterm, &dd);
	ev_int = evsignal_new(dd.base, SIGINT, on_sigterm, &dd);
	ev_tick = event_new(dd.base, -1, EV_PERSIST, timer_on_second, &dd);
	if (!ev_hup || !ev_term || !ev_int || !ev_tick || evsignal_add(ev_hup, NULL) ||
	    evsignal_add(ev_term, NULL) || evsignal_add(ev_int, NULL) ||
	    event_add(ev_tick, &one_second))
		goto out_events;

	log_notice("espritd %s running: config %s, control socket %s", "0.1.0",
		   dd.config_path, dd.socket_path);
	event_base_dispatch(dd.base);
	/* Freeing the signal events below restores the default handlers: a
	 * second SIGTERM (a service manager signalling the process group)
	 * would then kill us before routes and rules are removed. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	ret = 0;

out_events:
	if (ev_hup)
		event_free(ev_hup);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_tick)
		event_free(ev_tick);
	ctl_server_free(dd.ctl);
out_dp:
	ike_glue_free(dd.ike); /* deletes negotiated SAs while the data plane runs */
	dd.ike = NULL;
	dp_stop(dd.dp); /* removes routes, rules and the TUN device */
	if (dd.seq_open) {
		/* The workers are stopped: the exact numbers. */
		seqstate_sync(&dd.seqst, dd.sad, true);
		seqstate_close(&dd.seqst);
		dd.seq_open = false;
	}
out_ike:
	ike_glue_free(dd.ike);
out_base:
	event_base_free(dd.base);
out_db:
	if (dd.sad)
		sad_free(dd.sad); /* wipes every key */
	if (dd.spd)
		spd_free(dd.spd);
	free(dd.rt.routes);
out_config:
	config_free(dd.running);
out_rcu:
	rcu_unregister_thread();
	if (ret == 0 && !test_only)
		log_notice("espritd stopped");
	return ret;
}
