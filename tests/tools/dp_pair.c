/* dp_pair: a development tool that runs the data plane with one manually
 * keyed ESP SA pair and one PROTECT policy, without IKE or the daemon.
 * Run one instance per network namespace (tests/netns/t_dp_smoke.sh).
 *
 *   dp_pair -t TUN -l LOCAL -r REMOTE -L LOCALNET -R REMOTENET
 *           -o SPI_OUT -i SPI_IN [-u] [-n] [-w WORKERS] [-s SECONDS]
 *
 * LOCAL/REMOTE are the outer (tunnel endpoint) addresses, LOCALNET and
 * REMOTENET the protected prefixes. The cipher is AES-GCM-16 with a
 * 128-bit key; both directions use the same fixed test key (never do this
 * outside a test). -u encapsulates in UDP 4500 (RFC 3948) both ways; -n
 * installs no outbound SA (packets trigger rate-limited acquires).
 * Stops on SIGINT/SIGTERM or after SECONDS, then prints the counters. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu.h>

#include "crypto/alg.h"
#include "dataplane/dp.h"
#include "lib/log.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct args {
	const char *tun;
	struct ip_addr local, remote;
	struct ip_prefix lnet, rnet;
	uint32_t spi_out, spi_in;
	bool udp, no_out;
	unsigned workers, seconds;
};

static void usage(void)
{
	fprintf(stderr, "usage: dp_pair -t TUN -l LOCAL -r REMOTE -L LOCALNET -R REMOTENET "
			"-o SPI_OUT -i SPI_IN [-u] [-n] [-w WORKERS] [-s SECONDS]\n");
	exit(2);
}

static void args_parse(int argc, char **argv, struct args *a)
{
	int opt;
	bool ok = true;

	memset(a, 0, sizeof(*a));
	a->tun = "esp0";
	a->workers = 2;
	while ((opt = getopt(argc, argv, "t:l:r:L:R:o:i:unw:s:")) != -1) {
		switch (opt) {
		case 't': a->tun = optarg; break;
		case 'l': ok &= ip_addr_parse(optarg, &a->local); break;
		case 'r': ok &= ip_addr_parse(optarg, &a->remote); break;
		case 'L': ok &= ip_prefix_parse(optarg, &a->lnet); break;
		case 'R': ok &= ip_prefix_parse(optarg, &a->rnet); break;
		case 'o': a->spi_out = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'i': a->spi_in = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'u': a->udp = true; break;
		case 'n': a->no_out = true; break;
		case 'w': a->workers = (unsigned)atoi(optarg); break;
		case 's': a->seconds = (unsigned)atoi(optarg); break;
		default: usage();
		}
	}
	if (!ok || !a->local.af || !a->remote.af || !a->lnet.addr.af || !a->rnet.addr.af ||
	    !a->spi_out || !a->spi_in)
		usage();
}

static int sa_install(struct sad *sad, const struct args *a, bool out, const struct secret *key)
{
	struct sa_params p;

	memset(&p, 0, sizeof(p));
	p.spi = out ? a->spi_out : a->spi_in;
	p.proto = IPSEC_PROTO_ESP;
	p.dir = out ? SA_DIR_OUT : SA_DIR_IN;
	p.mode = IPSEC_MODE_TUNNEL;
	p.src = out ? a->local : a->remote;
	p.dst = out ? a->remote : a->local;
	if (a->udp)
		p.encap_sport = p.encap_dport = DP_NATT_PORT_DEFAULT;
	p.encr_id = ENCR_AES_GCM_16;
	p.encr_key_bits = 128;
	p.encr_key = key;
	p.integ_id = AUTH_NONE;
	p.replay_window = 64;
	p.reqid = 1;
	p.sel.n = 1;
	p.sel.ts[0].src = a->lnet; /* local -> remote in both directions (sa.h) */
	p.sel.ts[0].dst = a->rnet;
	p.sel.ts[0].sport_hi = p.sel.ts[0].dport_hi = 0xffff;
	snprintf(p.name, sizeof(p.name), "dp_pair %s", out ? "out" : "in");
	return sad_install(sad, &p);
}

static int policy_install(struct spd *spd, const struct args *a)
{
	struct policy pol;

	memset(&pol, 0, sizeof(pol));
	pol.reqid = 1;
	pol.action = POLICY_PROTECT;
	pol.mode = IPSEC_MODE_TUNNEL;
	pol.sel.src = a->lnet;
	pol.sel.dst = a->rnet;
	pol.sel.sport_hi = pol.sel.dport_hi = 0xffff;
	snprintf(pol.name, sizeof(pol.name), "dp_pair");
	return spd_replace(spd, &pol, 1);
}

static void on_acquire(const struct policy *pol, const struct flow *f, void *arg)
{
	char s[IP_ADDR_STRLEN], d[IP_ADDR_STRLEN];
	(void)arg;
	log_notice("acquire: policy %s %s -> %s", pol->name, ip_addr_str(&f->src, s),
		   ip_addr_str(&f->dst, d));
}

static void stats_print(struct dp *dp)
{
	struct dp_global_stats st;

	dp_stats(dp, &st);
	printf("tun_rx %llu tun_tx %llu net_rx %llu net_tx %llu ignored %llu keepalive %llu "
	       "ike %llu acquires %llu\n",
	       (unsigned long long)st.tun_rx, (unsigned long long)st.tun_tx,
	       (unsigned long long)st.net_rx, (unsigned long long)st.net_tx,
	       (unsigned long long)st.tun_ignored, (unsigned long long)st.natt_keepalive_rx,
	       (unsigned long long)st.ike_rx, (unsigned long long)st.acquires);
	for (unsigned d = 1; d < DROP__COUNT; d++)
		if (st.drops[d])
			printf("drop %s %llu\n", dp_drop_name((enum dp_drop)d),
			       (unsigned long long)st.drops[d]);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const uint8_t keybytes[20] = "esprit-dp-pair-key!"; /* test only */
	struct args a;
	struct dp_config cfg;
	struct secret *key = NULL;
	struct sad *sad = NULL;
	struct spd *spd = NULL;
	struct dp *dp = NULL;
	int ret = 1;

	args_parse(argc, argv, &a);
	log_setup("dp_pair", true, false, LOG_LVL_INFO);
	rcu_register_thread();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	key = secret_from(keybytes, sizeof(keybytes));
	sad = sad_new(dp_workers_resolve(a.workers));
	spd = spd_new();
	if (!key || !sad || !spd || (!a.no_out && sa_install(sad, &a, true, key) < 0) ||
	    sa_install(sad, &a, false, key) < 0 || policy_install(spd, &a) < 0)
		goto out;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.tun_name, sizeof(cfg.tun_name), "%s", a.tun);
	cfg.workers = a.workers;
	cfg.udp_encap_listen = true;
	dp = dp_start(&cfg, sad, spd, on_acquire, NULL);
	if (!dp || dp_route_add(dp, &a.rnet) < 0)
		goto out;
	printf("ready\n");
	fflush(stdout);
	for (unsigned t = 0; !stop && (!a.seconds || t < a.seconds * 10); t++)
		usleep(100000);
	stats_print(dp);
	ret = 0;
out:
	dp_stop(dp);
	spd_free(spd);
	sad_free(sad);
	secret_free(key);
	rcu_unregister_thread();
	return ret;
}
