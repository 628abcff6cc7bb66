/* The data plane as the daemon sees it: start it with a SAD, an SPD and a
 * description of the devices and sockets, stop it, read its global counters.
 * Worker threads are internal. No globals: everything hangs off struct dp,
 * so several workers (and several instances, in tests) can coexist. */
#ifndef ESPRIT_DATAPLANE_DP_H
#define ESPRIT_DATAPLANE_DP_H

#include <stdbool.h>
#include <stdint.h>

#include "ipsec/sad.h"
#include "ipsec/spd.h"

#define DP_FWMARK_DEFAULT 0x5e5e /* SO_MARK on our own packets */

struct dp_config {
	char tun_name[16];     /* "ipsec0" */
	uint32_t tun_mtu;      /* inner MTU, default 1400 */
	unsigned workers;      /* 0 = one per core */
	uint32_t fwmark;       /* SO_MARK value; policy routing keeps marked packets off the TUN */
	uint16_t natt_port;    /* UDP port for ESP-in-UDP, 4500 */
	bool udp_encap_listen; /* open the UDP 4500 socket */
};

struct dp_global_stats {
	uint64_t tun_rx, tun_tx, net_rx, net_tx;
	uint64_t drops[DROP__COUNT]; /* drops not attributable to an SA (no SA, no policy) */
};

struct dp;

/* Creates the TUN device, sockets and workers. The SAD/SPD are borrowed
 * (they outlive the dp). acquire may be NULL. Returns NULL with a log line. */
struct dp *dp_start(const struct dp_config *cfg, struct sad *sad, struct spd *spd,
		    spd_acquire_fn acquire, void *acquire_arg);
/* Joins the workers, closes sockets, removes the TUN device. */
void dp_stop(struct dp *dp);
void dp_stats(const struct dp *dp, struct dp_global_stats *out);
void dp_clear_stats(struct dp *dp);
int dp_tun_ifindex(const struct dp *dp);

/* Routes and policy routing (route.c, libnl): route each protected
 * destination prefix into the TUN device; ip rule so that packets carrying
 * fwmark use the main table while... see route.c for the exact scheme. */
int dp_route_add(struct dp *dp, const struct ip_prefix *dst);
int dp_route_del(struct dp *dp, const struct ip_prefix *dst);
void dp_routes_flush(struct dp *dp); /* every route this dp added */

#endif
