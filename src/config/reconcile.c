/* The reconciler: configuration -> policies, SAs and routes.
 *
 * A change is applied as a whole (ARCHITECTURE.md "Configuration model"):
 * reconcile_build() computes everything the new configuration asks for and
 * checks it (algorithms, key lengths) before anything is touched; then
 * reconcile_apply() makes the SAD, SPD and routes match, keeping SAs that
 * did not change so that their sequence numbers, replay windows and
 * counters survive a reload (a manual SA that restarted its sequence at 1
 * would be dropped as a replay by the peer). */
#include "config/reconcile.h"
#include "config/seqstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <urcu.h>

#include "crypto/alg.h"
#include "lib/log.h"

#define NATT_PORT 4500

uint32_t reconcile_reqid(const char *map, uint32_t seq)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *p = map; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ seq) * 16777619u;
	return h ? h : 1;
}

uint32_t reconcile_vti_reqid(const char *ifname)
{
	return reconcile_reqid(ifname, 0);
}

bool reconcile_is_vti(const struct cfg_interface *ifc)
{
	return ifc->tun_protection[0] && !ifc->shutdown;
}

uint16_t reconcile_manual_cpi(uint32_t esp_spi)
{
	return (uint16_t)(256 + esp_spi % (61440 - 256));
}

static void *grow(void *arr, unsigned n, size_t elem)
{
	/* Grow in powers of two; callers check for NULL. */
	if (n && (n & (n - 1)))
		return arr;
	return realloc(arr, (n ? 2 * n : 4) * elem);
}

static int push_policy(struct desired *d, const struct policy *p)
{
	struct policy *np = grow(d->pols, d->npols, sizeof(*p));
	if (!np)
		return -1;
	d->pols = np;
	d->pols[d->npols++] = *p;
	return 0;
}

static int push_sa(struct desired *d, const struct sa_params *p)
{
	struct sa_params *np = grow(d->sas, d->nsas, sizeof(*p));
	if (!np)
		return -1;
	d->sas = np;
	d->sas[d->nsas++] = *p;
	return 0;
}

static int push_peer(struct desired *d, const struct ip_addr *addr, const char *what)
{
	struct peer_want *np;

	for (unsigned i = 0; i < d->npeers; i++)
		if (ip_addr_eq(&d->peers[i].addr, addr))
			return 0;
	np = grow(d->peers, d->npeers, sizeof(*np));
	if (!np)
		return -1;
	d->peers = np;
	np = &d->peers[d->npeers++];
	np->addr = *addr;
	snprintf(np->what, sizeof(np->what), "%s", what);
	return 0;
}

static bool prefix_eq(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->len == b->len && ip_addr_eq(&a->addr, &b->addr);
}

static bool route_eq(const struct route_want *a, const struct route_want *b)
{
	return prefix_eq(&a->dst, &b->dst) && ip_addr_eq(&a->src, &b->src);
}

static int push_route(struct desired *d, const struct route_want *r)
{
	for (unsigned i = 0; i < d->nroutes; i++)
		if (prefix_eq(&d->routes[i].dst, &r->dst))
			return 0; /* first policy wins, as in the SPD */
	struct route_want *nr = grow(d->routes, d->nroutes, sizeof(*r));
	if (!nr)
		return -1;
	d->routes = nr;
	d->routes[d->nroutes++] = *r;
	return 0;
}

/* The gateway's own configured address inside the selector's source, so
 * that traffic it originates (transport mode, its own pings) matches. */
static struct ip_addr own_source(const struct config *cfg, const struct ts *sel)
{
	struct ip_addr none;

	memset(&none, 0, sizeof(none));
	for (unsigned i = 0; i < cfg->nifs; i++) {
		const struct ip_prefix *a[2] = {&cfg->ifs[i].addr, &cfg->ifs[i].addr6};
		for (int k = 0; k < 2; k++)
			if (a[k]->addr.af && ip_prefix_contains(&sel->src, &a[k]->addr))
				return a[k]->addr;
	}
	for (unsigned i = 0; i < cfg->nbindings; i++)
		if (cfg->bindings[i].local.af &&
		    ip_prefix_contains(&sel->src, &cfg->bindings[i].local))
			return cfg->bindings[i].local;
	return none;
}

void reconcile_desired_free(struct desired *d)
{
	free(d->pols);
	free(d->sas);
	free(d->routes);
	free(d->peers);
	memset(d, 0, sizeof(*d));
}

/* The outside address a crypto map is applied to: `crypto map NAME
 * local-address X` (an address or an interface name) or an interface
 * carrying `crypto map NAME`; on a dual-stack interface the address of
 * the peer's family (peer_af; 0: IPv4 first). */
static bool map_local_address(const struct config *cfg, const char *map, int peer_af,
			      struct ip_addr *out)
{
	const struct cfg_map_binding *b = config_map_binding(cfg, map);
	const char *ifname = NULL;

	if (b && b->local.af) {
		*out = b->local;
		return true;
	}
	if (b && b->ifname[0])
		ifname = b->ifname;
	for (unsigned i = 0; i < cfg->nifs; i++) {
		const struct cfg_interface *ifc = &cfg->ifs[i];
		bool match = ifname ? strcmp(ifc->name, ifname) == 0
				    : strcmp(ifc->crypto_map, map) == 0;
		if (!match)
			continue;
		if (peer_af == AF_INET6 && ifc->addr6.addr.af) {
			*out = ifc->addr6.addr;
			return true;
		}
		if (ifc->addr.addr.af) {
			*out = ifc->addr.addr;
			return true;
		}
		if (ifc->addr6.addr.af) {
			*out = ifc->addr6.addr;
			return true;
		}
	}
	return false;
}

static uint32_t entry_replay_window(const struct config *cfg, const struct cfg_map_entry *e)
{
	if (e->replay_window >= 0)
		return (uint32_t)e->replay_window;
	return cfg->replay_disabled ? 0 : cfg->replay_window;
}

static uint16_t key_bits_of(const struct cfg_transform_set *ts, const struct secret *key)
{
	const struct encr_alg *a = encr_alg_find(ts->esp_encr);
	if (ts->esp_key_bits)
		return ts->esp_key_bits;
	if (!a || !key)
		return 0;
	if (a->fixed_key_bits)
		return a->fixed_key_bits;
	return (uint16_t)((key->len - a->salt_len) * 8);
}

/* Check what sad_install would check, before anything is changed. */
static int check_sa(const struct sa_params *p, const char *what, char *err, size_t errlen)
{
	if (p->proto == IPSEC_PROTO_ESP) {
		const struct encr_alg *a = encr_alg_find(p->encr_id);
		size_t have = p->encr_key ? p->encr_key->len : 0;
		if (!a || !encr_key_bits_ok(a, p->encr_key_bits) ||
		    encr_keymat_len(a, p->encr_key_bits) != have) {
			snprintf(err, errlen,
				 "%s: %s cipher key for SPI %u has the wrong length for %s "
				 "(expected %zu bytes)",
				 p->name, what, p->spi, a ? a->name : "?",
				 a ? encr_keymat_len(a, p->encr_key_bits) : (size_t)0);
			return -1;
		}
	}
	if (p->integ_id != AUTH_NONE) {
		const struct integ_alg *a = integ_alg_find(p->integ_id);
		if (!a || !p->integ_key || p->integ_key->len != a->key_len) {
			snprintf(err, errlen,
				 "%s: %s authenticator key for SPI %u has the wrong length for %s "
				 "(expected %u bytes)",
				 p->name, what, p->spi, a ? a->name : "?", a ? a->key_len : 0);
			return -1;
		}
	}
	return 0;
}

static const struct secret *ah_key(const struct cfg_session_key *k)
{
	return k->auth ? k->auth : k->cipher;
}

/* The SAs of one manual crypto map entry: ESP, AH and IPComp, each in and out. */
static int build_manual_sas(const struct config *cfg, const struct cfg_map_entry *e,
			    const struct cfg_transform_set *ts, const struct sa_params *base,
			    struct desired *d, char *err, size_t errlen)
{
	const struct cfg_session_key *kin[2] = {&e->esp_in, &e->ah_in};
	const struct cfg_session_key *kout[2] = {&e->esp_out, &e->ah_out};
	(void)cfg;

	for (int dir = SA_DIR_IN; dir <= SA_DIR_OUT; dir++) {
		const struct cfg_session_key **k = dir == SA_DIR_IN ? kin : kout;
		const char *what = dir == SA_DIR_IN ? "inbound" : "outbound";
		struct sa_params p = *base;

		p.dir = (uint8_t)dir;
		if (dir == SA_DIR_IN) {
			p.src = base->dst;
			p.dst = base->src;
			p.replay_window = base->replay_window;
		} else {
			p.replay_window = 0;
		}
		if (ts->has_esp) {
			struct sa_params esp = p;
			esp.proto = IPSEC_PROTO_ESP;
			esp.spi = k[0]->spi;
			/* esp-sha-hmac alone is ESP with NULL encryption (RFC 2410). */
			esp.encr_id = ts->esp_encr != ENCR_NONE ? ts->esp_encr : ENCR_NULL;
			esp.encr_key = ts->esp_encr != ENCR_NONE ? k[0]->cipher : NULL;
			esp.encr_key_bits = key_bits_of(ts, esp.encr_key);
			esp.integ_id = ts->esp_integ;
			esp.integ_key = k[0]->auth;
			if (check_sa(&esp, what, err, errlen) || push_sa(d, &esp))
				return -1;
		}
		if (ts->ah_integ != AUTH_NONE) {
			struct sa_params ah = p;
			ah.proto = IPSEC_PROTO_AH;
			ah.spi = k[1]->spi;
			ah.integ_id = ts->ah_integ;
			ah.integ_key = ah_key(k[1]);
			ah.encap_sport = ah.encap_dport = 0; /* RFC 3948 covers ESP only */
			if (check_sa(&ah, what, err, errlen) || push_sa(d, &ah))
				return -1;
		}
		if (ts->comp_deflate) {
			struct sa_params comp = p;
			comp.proto = IPSEC_PROTO_COMP;
			comp.spi = reconcile_manual_cpi(ts->has_esp ? k[0]->spi : k[1]->spi);
			comp.replay_window = 0;
			if (push_sa(d, &comp))
				return -1;
		}
	}
	return 0;
}

static int build_entry(const struct config *cfg, const struct cfg_map_entry *e,
		       const struct ip_addr *local, struct desired *d, char *err, size_t errlen)
{
	const struct cfg_transform_set *ts = config_transform_set(cfg, e->ts.name[0]);
	const struct cfg_acl *acl = config_acl(cfg, e->acl);
	struct sa_params base;

	if (!ts || !acl) {
		snprintf(err, errlen, "crypto map %s %u: transform set or access list missing",
			 e->map, e->seq);
		return -1;
	}
	memset(&base, 0, sizeof(base));
	base.origin = SA_ORIGIN_MANUAL;
	base.mode = ts->mode;
	base.src = *local;
	base.dst = e->peer;
	base.reqid = reconcile_reqid(e->map, e->seq);
	base.replay_window = entry_replay_window(cfg, e);
	if (cfg->udp_encap)
		base.encap_sport = base.encap_dport = NATT_PORT;
	if (e->lifetime_kb) {
		base.hard_bytes = e->lifetime_kb * 1024;
		base.soft_bytes = base.hard_bytes / 10 * 9;
	}
	snprintf(base.name, sizeof(base.name), "%s %u", e->map, e->seq);
	if (e->peer.af) {
		char what[64];
		snprintf(what, sizeof(what), "peer of crypto map %.40s", base.name);
		if (push_peer(d, &e->peer, what))
			return -1;
	}

	for (unsigned i = 0; i < acl->n; i++) {
		const struct cfg_ace *ace = &acl->aces[i];
		struct policy pol;

		memset(&pol, 0, sizeof(pol));
		pol.reqid = base.reqid;
		pol.priority = e->seq << 16 | (i & 0xffff);
		pol.action = ace->permit ? POLICY_PROTECT : POLICY_BYPASS;
		pol.sel = ace->ts;
		pol.mode = ts->mode;
		memcpy(pol.name, base.name, sizeof(pol.name));
		if (push_policy(d, &pol))
			return -1;
		if (!ace->permit)
			continue;
		if (base.sel.n == TS_LIST_MAX) {
			snprintf(err, errlen, "crypto map %s %u: access list %s has more than %d "
				 "permit entries", e->map, e->seq, acl->name, TS_LIST_MAX);
			return -1;
		}
		base.sel.ts[base.sel.n++] = ace->ts;
		struct route_want rw = {.dst = ace->ts.dst, .src = own_source(cfg, &ace->ts)};
		if (push_route(d, &rw))
			return -1;
	}
	if (!e->manual) {
		/* ipsec-isakmp entries: policies route traffic to us; SAs come
		 * from IKE (acquire). */
		return 0;
	}
	return build_manual_sas(cfg, e, ts, &base, d, err, errlen);
}

/* ---- tunnel interfaces (route-based VTIs) ------------------------------ */

static const struct vti_want *vti_in(const char *name, const struct vti_want *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static int build_vti(const struct config *cfg, const struct cfg_interface *ifc,
		     struct desired *d, char *err, size_t errlen)
{
	struct vti_want *v;

	if (strlen(ifc->name) >= VTI_NAME_MAX) {
		snprintf(err, errlen, "interface %s: name too long for a tunnel device (at most "
			 "%d characters)", ifc->name, VTI_NAME_MAX - 1);
		return -1;
	}
	if (!config_ipsec_profile(cfg, ifc->tun_protection)) {
		snprintf(err, errlen, "interface %s: tunnel protection ipsec profile %s is not "
			 "defined", ifc->name, ifc->tun_protection);
		return -1;
	}
	if (!ifc->tun_src.af || !ifc->tun_dst.af) {
		log_info("interface %s: no tunnel source or destination yet; not active",
			 ifc->name);
		return 0;
	}
	if (d->nvtis == RECONCILE_VTI_MAX) {
		snprintf(err, errlen, "interface %s: more than %d protected tunnel interfaces",
			 ifc->name, RECONCILE_VTI_MAX);
		return -1;
	}
	char what[64];
	snprintf(what, sizeof(what), "tunnel destination of %.40s", ifc->name);
	if (push_peer(d, &ifc->tun_dst, what))
		return -1;
	v = &d->vtis[d->nvtis++];
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%.15s", ifc->name);
	v->reqid = reconcile_vti_reqid(ifc->name);
	v->mtu = VTI_MTU_DEFAULT;
	v->addr = ifc->addr;
	v->addr6 = ifc->addr6;
	return 0;
}

/* Every protected tunnel interface, and the `ip route ... TunnelN` routes
 * through them (other static routes are not the data plane's). */
static int build_vtis(const struct config *cfg, struct desired *d, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->nifs; i++)
		if (reconcile_is_vti(&cfg->ifs[i]) && build_vti(cfg, &cfg->ifs[i], d, err, errlen))
			return -1;
	for (unsigned i = 0; i < cfg->nroutes; i++) {
		const struct cfg_route *r = &cfg->routes[i];
		struct vti_route_want *w;

		if (!r->ifname[0] || !vti_in(r->ifname, d->vtis, d->nvtis))
			continue;
		if (d->nvroutes == RECONCILE_VROUTE_MAX) {
			snprintf(err, errlen, "more than %d routes through tunnel interfaces",
				 RECONCILE_VROUTE_MAX);
			return -1;
		}
		w = &d->vroutes[d->nvroutes++];
		memset(w, 0, sizeof(*w));
		snprintf(w->ifname, sizeof(w->ifname), "%.15s", r->ifname);
		w->dst = r->dst;
	}
	return 0;
}

int reconcile_build(const struct config *cfg, struct desired *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; i < cfg->nmaps; i++) {
		const struct cfg_map_entry *e = &cfg->maps[i];
		struct ip_addr local;

		if (!map_local_address(cfg, e->map, e->peer.af, &local)) {
			log_info("crypto map %s %u: map not applied to an interface or local "
				 "address; not active", e->map, e->seq);
			continue;
		}
		if (build_entry(cfg, e, &local, d, err, errlen)) {
			reconcile_desired_free(d);
			return -1;
		}
	}
	if (build_vtis(cfg, d, err, errlen)) {
		reconcile_desired_free(d);
		return -1;
	}
	return 0;
}

/* ---- applying --------------------------------------------------------- */

static bool secret_eq(const struct secret *a, const struct secret *b)
{
	if (!a || !b)
		return a == b || (!a && b && b->len == 0) || (!b && a && a->len == 0);
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static bool ts_eq(const struct ts *a, const struct ts *b)
{
	return a->proto == b->proto && prefix_eq(&a->src, &b->src) &&
	       prefix_eq(&a->dst, &b->dst) && a->sport_lo == b->sport_lo &&
	       a->sport_hi == b->sport_hi && a->dport_lo == b->dport_lo &&
	       a->dport_hi == b->dport_hi;
}

/* The same SA in all that its sequence numbers depend on: SPI, peer,
 * direction, algorithms and keys (RFC 4303 3.3.3: until the key is
 * replaced). */
/* The same SA under the same keys (its counter and window go on). An
 * outbound SA whose SPI changed but not its key counts too: the nonce of
 * AES-GCM, GMAC, CTR and ChaCha20-Poly1305 is the key's salt and the
 * sequence number, not the SPI, and from 0 again it would repeat (RFC 4106
 * section 2). */
static bool sa_same_keys(const struct sa *sa, const struct sa_params *w)
{
	const struct sa_params *c = &sa->p;

	return (c->spi == w->spi || c->dir == SA_DIR_OUT) && c->proto == w->proto &&
	       c->dir == w->dir &&
	       ip_addr_eq(&c->src, &w->src) && ip_addr_eq(&c->dst, &w->dst) &&
	       c->encr_id == w->encr_id && c->encr_key_bits == w->encr_key_bits &&
	       c->integ_id == w->integ_id && c->esn == w->esn &&
	       secret_eq(sa->encr_key, w->encr_key) && secret_eq(sa->integ_key, w->integ_key);
}

/* Nothing changed at all: the SA is kept as it is. */
static bool sa_unchanged(const struct sa *sa, const struct sa_params *w)
{
	const struct sa_params *c = &sa->p;

	if (!sa_same_keys(sa, w) || c->spi != w->spi || c->mode != w->mode ||
	    c->encap_sport != w->encap_sport ||
	    c->encap_dport != w->encap_dport || c->replay_window != w->replay_window ||
	    c->soft_bytes != w->soft_bytes || c->hard_bytes != w->hard_bytes ||
	    c->soft_packets != w->soft_packets || c->hard_packets != w->hard_packets ||
	    c->reqid != w->reqid || strcmp(c->name, w->name) != 0 || c->sel.n != w->sel.n)
		return false;
	for (unsigned i = 0; i < c->sel.n; i++)
		if (!ts_eq(&c->sel.ts[i], &w->sel.ts[i]))
			return false;
	return true;
}

struct sa_key {
	uint32_t spi;
	uint8_t proto;
	struct ip_addr dst;
	int keep; /* index+1 of the desired SA it matches, 0 = delete */
};

struct carry {
	bool have;
	uint64_t seq, top; /* the old SA's last sequence number sent / highest seen */
};

struct collect {
	struct sa_key *keys;
	unsigned n, cap;
	const struct desired *d;
	bool *present; /* [d->nsas] */
	struct carry *carry; /* [d->nsas] */
};

/* A changed SA (collect_sa runs under the SAD's lock) whose successor keeps
 * its SPI and keys: note where its sequence numbers were. */
static void note_carry(struct sa *sa, struct collect *c)
{
	for (unsigned i = 0; i < c->d->nsas; i++) {
		struct carry *k = &c->carry[i];

		if (c->present[i] || k->have || !sa_same_keys(sa, &c->d->sas[i]))
			continue;
		k->have = true;
		k->seq = __atomic_load_n(&sa->seq_out, __ATOMIC_ACQUIRE);
		if (sa->replay) {
			pthread_spin_lock(&sa->replay_lock);
			k->top = replay_top(sa->replay);
			pthread_spin_unlock(&sa->replay_lock);
		}
		return;
	}
}

static void collect_sa(struct sa *sa, void *arg)
{
	struct collect *c = arg;
	struct sa_key k = {.spi = sa->p.spi, .proto = sa->p.proto, .dst = sa->p.dst, .keep = 0};

	if (sa->p.origin != SA_ORIGIN_MANUAL)
		return; /* negotiated by IKE: not ours to keep or remove */

	for (unsigned i = 0; i < c->d->nsas; i++) {
		if (!c->present[i] && sa_unchanged(sa, &c->d->sas[i])) {
			c->present[i] = true;
			k.keep = (int)i + 1;
			break;
		}
	}
	if (!k.keep)
		note_carry(sa, c);
	if (c->n == c->cap) {
		unsigned ncap = c->cap ? 2 * c->cap : 16;
		struct sa_key *nk = realloc(c->keys, ncap * sizeof(*nk));
		if (!nk)
			return; /* an SA we fail to note is simply kept */
		c->keys = nk;
		c->cap = ncap;
	}
	c->keys[c->n++] = k;
}

static bool route_in(const struct route_want *r, const struct route_want *set, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (route_eq(r, &set[i]))
			return true;
	return false;
}

static int apply_routes(struct reconcile_target *dd, const struct desired *d)
{
	int ret = 0;
	char buf[IP_ADDR_STRLEN + 8];

	if (!dd->dp)
		return 0;
	for (unsigned i = 0; i < dd->nroutes; i++)
		if (!route_in(&dd->routes[i], d->routes, d->nroutes))
			dp_route_del(dd->dp, &dd->routes[i].dst);
	for (unsigned i = 0; i < d->nroutes; i++) {
		if (route_in(&d->routes[i], dd->routes, dd->nroutes))
			continue;
		if (dp_route_add_src(dd->dp, &d->routes[i].dst, &d->routes[i].src) < 0) {
			log_err("cannot route %s into the tunnel device",
				ip_prefix_str(&d->routes[i].dst, buf));
			ret = -1;
		}
	}
	free(dd->routes);
	dd->routes = NULL;
	dd->nroutes = 0;
	if (d->nroutes) {
		dd->routes = malloc(d->nroutes * sizeof(*dd->routes));
		if (dd->routes) {
			memcpy(dd->routes, d->routes, d->nroutes * sizeof(*dd->routes));
			dd->nroutes = d->nroutes;
		}
	}
	return ret;
}

static bool vti_same(const struct vti_want *a, const struct vti_want *b)
{
	return strcmp(a->name, b->name) == 0 && a->reqid == b->reqid && a->mtu == b->mtu &&
	       a->addr.len == b->addr.len && ip_addr_eq(&a->addr.addr, &b->addr.addr) &&
	       a->addr6.len == b->addr6.len && ip_addr_eq(&a->addr6.addr, &b->addr6.addr);
}

/* A VTI of the old set that stays as it is. */
static bool vti_kept(const struct reconcile_target *t, const struct desired *d,
		     const char *name)
{
	const struct vti_want *o = vti_in(name, t->vtis, t->nvtis);
	const struct vti_want *n = vti_in(name, d->vtis, d->nvtis);

	return o && n && vti_same(o, n);
}

static bool vroute_in(const struct vti_route_want *r, const struct vti_route_want *set,
		      unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(r->ifname, set[i].ifname) == 0 && prefix_eq(&r->dst, &set[i].dst))
			return true;
	return false;
}

static int vti_create(struct dp *dp, const struct vti_want *v)
{
	if (dp_vti_add(dp, v->name, v->reqid, v->mtu) < 0)
		return -1;
	if (v->addr.addr.af && dp_vti_addr_add(dp, v->name, &v->addr) < 0)
		return -1;
	if (v->addr6.addr.af && dp_vti_addr_add(dp, v->name, &v->addr6) < 0)
		return -1;
	return 0;
}

/* Make the tunnel devices and their routes match d: what went away or
 * changed is removed first (a changed interface is recreated, and its
 * routes with it), then what is new is added. */
static int apply_vtis(struct reconcile_target *t, const struct desired *d)
{
	struct dp *dp = t->dp;
	int ret = 0;

	for (unsigned i = 0; i < t->nvroutes; i++) {
		const struct vti_route_want *r = &t->vroutes[i];
		if (dp && (!vroute_in(r, d->vroutes, d->nvroutes) || !vti_kept(t, d, r->ifname)))
			dp_vti_route_del(dp, r->ifname, &r->dst);
	}
	for (unsigned i = 0; i < t->nvtis; i++)
		if (dp && !vti_kept(t, d, t->vtis[i].name))
			dp_vti_del(dp, t->vtis[i].name);
	for (unsigned i = 0; i < d->nvtis; i++) {
		if (!dp || vti_kept(t, d, d->vtis[i].name))
			continue;
		if (vti_create(dp, &d->vtis[i]) < 0) {
			log_err("interface %s: cannot create the tunnel device", d->vtis[i].name);
			ret = -1;
		}
	}
	for (unsigned i = 0; i < d->nvroutes; i++) {
		const struct vti_route_want *r = &d->vroutes[i];
		char buf[IP_ADDR_STRLEN + 8];
		if (!dp || (vroute_in(r, t->vroutes, t->nvroutes) && vti_kept(t, d, r->ifname)))
			continue;
		if (dp_vti_route_add(dp, r->ifname, &r->dst) < 0) {
			log_err("cannot route %s into %s", ip_prefix_str(&r->dst, buf), r->ifname);
			ret = -1;
		}
	}
	memcpy(t->vtis, d->vtis, sizeof(t->vtis));
	t->nvtis = d->nvtis;
	memcpy(t->vroutes, d->vroutes, sizeof(t->vroutes));
	t->nvroutes = d->nvroutes;
	return ret;
}

int reconcile_apply(struct reconcile_target *dd, const struct desired *d, char *err,
		    size_t errlen)
{
	struct collect c = {.d = d};
	unsigned kept = 0, removed = 0, added = 0;
	int ret = -1;

	c.present = calloc(d->nsas ? d->nsas : 1, sizeof(*c.present));
	c.carry = calloc(d->nsas ? d->nsas : 1, sizeof(*c.carry));
	if (!c.present || !c.carry) {
		free(c.present);
		free(c.carry);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Before any route: a peer inside a protected prefix puts the routes
	 * behind the policy rule (dp.h). */
	for (unsigned i = 0; dd->dp && i < d->npeers; i++)
		dp_route_outer(dd->dp, &d->peers[i].addr, d->peers[i].what);
	sad_foreach(dd->sad, collect_sa, &c);
	/* Remove what changed first: a changed inbound SA keeps its SPI. */
	for (unsigned i = 0; i < c.n; i++) {
		if (c.keys[i].keep) {
			kept++;
			continue;
		}
		sad_delete(dd->sad, c.keys[i].spi, c.keys[i].proto, &c.keys[i].dst);
		removed++;
	}
	for (unsigned i = 0; i < d->nsas; i++) {
		if (c.present[i])
			continue;
		struct sa_params p = d->sas[i];
		if (c.carry[i].have && (c.carry[i].seq || c.carry[i].top)) {
			p.seq_start = c.carry[i].seq;
			p.replay_start = c.carry[i].top;
			log_info("%s: %s SA with SPI 0x%x reinstalled with the same keys: goes on "
				 "from sequence number %llu", p.name,
				 p.dir == SA_DIR_IN ? "inbound" : "outbound", p.spi,
				 (unsigned long long)(p.dir == SA_DIR_IN ? p.replay_start
									   : p.seq_start));
		} else if (dd->seq && (p.seq_start = seqstate_find(dd->seq, &p))) {
			log_info("%s: outbound SA with SPI 0x%x goes on from sequence number %llu, "
				 "saved by the previous run (RFC 4303 3.3.3)", p.name, p.spi,
				 (unsigned long long)p.seq_start);
		}
		if (sad_install(dd->sad, &p) < 0) {
			snprintf(err, errlen, "%s: cannot install %s SA with SPI 0x%x (see log)",
				 d->sas[i].name, d->sas[i].dir == SA_DIR_IN ? "inbound" : "outbound",
				 d->sas[i].spi);
			goto out;
		}
		dp_sa_installed(dd->dp, &d->sas[i]); /* its path MTU, before its first packet */
		added++;
	}
	if (spd_replace(dd->spd, d->pols, d->npols) < 0) {
		snprintf(err, errlen, "cannot install %u policies", d->npols);
		goto out;
	}
	if (apply_routes(dd, d) < 0) {
		snprintf(err, errlen, "some routes could not be installed (see log)");
		goto out;
	}
	if (apply_vtis(dd, d) < 0) {
		snprintf(err, errlen, "some tunnel interfaces or their routes could not be set up "
			 "(see log)");
		goto out;
	}
	log_notice("configuration applied: %u policies, %u SAs kept, %u removed, %u installed, "
		   "%u routes, %u tunnel interface(s)", d->npols, kept, removed, added, d->nroutes,
		   d->nvtis);
	ret = 0;
out:
	free(c.keys);
	free(c.present);
	free(c.carry);
	return ret;
}
