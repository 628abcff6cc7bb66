/* The reconciler: configuration -> policies, SAs and routes
 * (ARCHITECTURE.md "Configuration model": parse, validate, swap,
 * reconcile). */
#ifndef ESPRIT_CONFIG_RECONCILE_H
#define ESPRIT_CONFIG_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"
#include "dataplane/dp.h"
#include "ipsec/sad.h"
#include "ipsec/spd.h"

/* A protected destination routed into the TUN device, with the gateway's
 * own address inside the policy's source selector as preferred source. */
struct route_want {
	struct ip_prefix dst;
	struct ip_addr src; /* af 0: none */
};

/* A protected tunnel interface (`interface TunnelN` with `tunnel
 * protection ipsec profile P`): a VTI device in the data plane. */
#define RECONCILE_VTI_MAX 16
#define RECONCILE_VROUTE_MAX 64
#define VTI_NAME_MAX 16 /* IFNAMSIZ */
struct vti_want {
	char name[VTI_NAME_MAX];
	uint32_t reqid; /* reconcile_vti_reqid(name) */
	uint32_t mtu;
	struct ip_prefix addr, addr6; /* ip address / ipv6 address; af 0 if none */
};
/* ip route PREFIX MASK TunnelN: main table, dev TunnelN. */
struct vti_route_want {
	char ifname[VTI_NAME_MAX];
	struct ip_prefix dst;
};

/* What is being reconciled: borrowed databases and the data plane (dp may
 * be NULL: no routes then, as in unit tests), and the routes installed so
 * far (owned by the target, updated by reconcile_apply). */
struct seqstate;

struct reconcile_target {
	struct sad *sad;
	struct spd *spd;
	struct dp *dp;
	/* Sequence numbers saved by the previous run (config/seqstate.h): a
	 * manual outbound SA installed goes on from its own; NULL: none. */
	const struct seqstate *seq;
	struct route_want *routes;
	unsigned nroutes;
	/* Tunnel interfaces and their routes installed so far (fixed arrays:
	 * nothing to free). Kept up to date even without a dp. */
	struct vti_want vtis[RECONCILE_VTI_MAX];
	unsigned nvtis;
	struct vti_route_want vroutes[RECONCILE_VROUTE_MAX];
	unsigned nvroutes;
};

/* What a configuration asks for: policies and SAs (built, not applied). */
/* An address esprit's own packets go to (a crypto map peer, a tunnel
 * interface's destination): no protected prefix may route it into the TUN
 * (dp_route_outer). */
struct peer_want {
	struct ip_addr addr;
	char what[64]; /* "peer of crypto map M 10", for the log */
};

struct desired {
	struct peer_want *peers;
	unsigned npeers;
	struct policy *pols;
	unsigned npols;
	struct sa_params *sas; /* keys borrowed from the config */
	unsigned nsas;
	struct route_want *routes;
	unsigned nroutes;
	struct vti_want vtis[RECONCILE_VTI_MAX];
	unsigned nvtis;
	struct vti_route_want vroutes[RECONCILE_VROUTE_MAX];
	unsigned nvroutes;
};

/* Build the desired state from cfg. Returns 0, or -1 with a message. */
int reconcile_build(const struct config *cfg, struct desired *d, char *err, size_t errlen);
void reconcile_desired_free(struct desired *d);
/* Make the SAD, SPD and routes match d: SAs whose parameters and keys are
 * unchanged are kept (with their counters, sequence numbers and replay
 * windows); others are removed and installed. Returns 0 or -1 (err). */
int reconcile_apply(struct reconcile_target *t, const struct desired *d, char *err,
		    size_t errlen);
uint32_t reconcile_reqid(const char *map, uint32_t seq);
/* The reqid of a protected tunnel interface: reconcile_reqid(name, 0).
 * The IKE connection of the tunnel (ikeconn.c) uses the same value. */
uint32_t reconcile_vti_reqid(const char *ifname);
/* Whether cfg interface ifc is a protected tunnel interface (has `tunnel
 * protection ipsec profile` and is not shut down). */
bool reconcile_is_vti(const struct cfg_interface *ifc);
#define VTI_MTU_DEFAULT 1400
/* IPComp CPI for a manual bundle, derived from the ESP SPI so both peers
 * agree without extra configuration (RFC 3173 3.3: 256..61439). */
uint16_t reconcile_manual_cpi(uint32_t esp_spi);

#endif
