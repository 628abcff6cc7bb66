/* struct config: construction, lookup, deep copy, equality, free. */
#include <stdlib.h>
#include <string.h>

#include "config/grammar.h"
#include "ipsec/sa.h"
#include "lib/secret.h"

struct config *config_new(void)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	/* IOS defaults (crypto ipsec security-association ...) */
	c->replay_window = 64;
	c->sa_lifetime_s = 3600;
	c->sa_lifetime_kb = 4608000;
	strcpy(c->tun_ifname, "ipsec0");
	strcpy(c->control_socket, "/run/esprit/espritd.sock");
	cfg_ikev2_defaults_set(c); /* the default IKEv2 proposals and policy */
	return c;
}

static void key_free(struct cfg_session_key *k)
{
	secret_free(k->cipher);
	secret_free(k->auth);
	k->cipher = k->auth = NULL;
}

void cfg_map_entry_clear(struct cfg_map_entry *e)
{
	key_free(&e->esp_in);
	key_free(&e->esp_out);
	key_free(&e->ah_in);
	key_free(&e->ah_out);
}

void cfg_acl_clear(struct cfg_acl *a)
{
	free(a->aces);
	a->aces = NULL;
	a->n = 0;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->nmaps; i++)
		cfg_map_entry_clear(&c->maps[i]);
	for (unsigned i = 0; i < c->nacls; i++)
		cfg_acl_clear(&c->acls[i]);
	for (unsigned i = 0; i < c->nopaque; i++)
		free(c->opaque[i]);
	free(c->opaque);
	free(c->acls);
	free(c->sets);
	free(c->maps);
	free(c->bindings);
	free(c->ifs);
	free(c->routes);
	cfg_ikev2_free(c);
	secret_wipe(c, sizeof(*c));
	free(c);
}

/* ---- lookups ------------------------------------------------------- */

const struct cfg_acl *config_acl(const struct config *c, const char *name)
{
	for (unsigned i = 0; i < c->nacls; i++)
		if (strcmp(c->acls[i].name, name) == 0)
			return &c->acls[i];
	return NULL;
}

const struct cfg_transform_set *config_transform_set(const struct config *c, const char *name)
{
	for (unsigned i = 0; i < c->nsets; i++)
		if (strcmp(c->sets[i].name, name) == 0)
			return &c->sets[i];
	return NULL;
}

const struct cfg_map_binding *config_map_binding(const struct config *c, const char *map)
{
	for (unsigned i = 0; i < c->nbindings; i++)
		if (strcmp(c->bindings[i].map, map) == 0)
			return &c->bindings[i];
	return NULL;
}

void *config_array_grow(void **arr, unsigned *n, size_t size)
{
	char *p = realloc(*arr, (*n + 1) * size);

	if (!p)
		return NULL;
	*arr = p;
	memset(p + *n * size, 0, size);
	return p + (*n)++ * size;
}

struct cfg_transform_set *cfg_set_get(struct config *c, const char *name, bool create)
{
	struct cfg_transform_set *s = (struct cfg_transform_set *)config_transform_set(c, name);

	if (s || !create)
		return s;
	s = config_array_grow((void **)&c->sets, &c->nsets, sizeof(*s));
	if (s) {
		strncpy(s->name, name, sizeof(s->name) - 1);
		s->mode = IPSEC_MODE_TUNNEL;
	}
	return s;
}

struct cfg_acl *cfg_acl_get(struct config *c, const char *name, bool create)
{
	struct cfg_acl *a = (struct cfg_acl *)config_acl(c, name);

	if (a || !create)
		return a;
	a = config_array_grow((void **)&c->acls, &c->nacls, sizeof(*a));
	if (a)
		strncpy(a->name, name, sizeof(a->name) - 1);
	return a;
}

struct cfg_interface *cfg_if_get(struct config *c, const char *name, bool create)
{
	struct cfg_interface *f;

	for (unsigned i = 0; i < c->nifs; i++)
		if (strcmp(c->ifs[i].name, name) == 0)
			return &c->ifs[i];
	if (!create)
		return NULL;
	f = config_array_grow((void **)&c->ifs, &c->nifs, sizeof(*f));
	if (f)
		strncpy(f->name, name, sizeof(f->name) - 1);
	return f;
}

static int map_cmp(const struct cfg_map_entry *e, const char *name, uint32_t seq)
{
	int r = strcmp(e->map, name);

	return r ? r : (e->seq > seq) - (e->seq < seq);
}

/* Entries are kept sorted by (map, seq): the order of show running-config
 * and of SPD lookups (lowest sequence first). */
struct cfg_map_entry *cfg_map_get(struct config *c, const char *name, uint32_t seq, bool create)
{
	struct cfg_map_entry *e;
	unsigned at = c->nmaps;

	for (unsigned i = 0; i < c->nmaps; i++) {
		int r = map_cmp(&c->maps[i], name, seq);

		if (r == 0)
			return &c->maps[i];
		if (r > 0 && at == c->nmaps)
			at = i;
	}
	if (!create || !config_array_grow((void **)&c->maps, &c->nmaps, sizeof(*e)))
		return NULL;
	e = &c->maps[at];
	memmove(e + 1, e, (c->nmaps - 1 - at) * sizeof(*e));
	memset(e, 0, sizeof(*e));
	strncpy(e->map, name, sizeof(e->map) - 1);
	e->seq = seq;
	e->replay_window = -1;
	return e;
}

/* ---- opaque lines -------------------------------------------------- */

int cfg_opaque_add(struct config *c, const char *line, int at)
{
	char **o = realloc(c->opaque, (c->nopaque + 1) * sizeof(*o));
	char *dup = strdup(line);
	unsigned pos = at < 0 ? c->nopaque : (unsigned)at;

	if (o)
		c->opaque = o;
	if (!o || !dup) {
		free(dup);
		return -1;
	}
	memmove(&o[pos + 1], &o[pos], (c->nopaque - pos) * sizeof(*o));
	o[pos] = dup;
	c->nopaque++;
	return (int)pos;
}

void cfg_opaque_remove_block(struct config *c, unsigned idx)
{
	unsigned end = idx + 1;

	while (end < c->nopaque && c->opaque[end][0] == ' ')
		end++;
	for (unsigned i = idx; i < end; i++)
		free(c->opaque[i]);
	memmove(&c->opaque[idx], &c->opaque[end], (c->nopaque - end) * sizeof(char *));
	c->nopaque -= end - idx;
}

/* ---- deep copy ----------------------------------------------------- */

static bool key_dup(struct cfg_session_key *k)
{
	struct secret *ci = k->cipher, *au = k->auth;

	k->cipher = ci ? secret_dup(ci) : NULL;
	k->auth = au ? secret_dup(au) : NULL;
	return (!ci || k->cipher) && (!au || k->auth);
}

void *config_mem_dup(const void *p, size_t n)
{
	void *d;

	if (!p || n == 0)
		return NULL;
	d = malloc(n);
	if (d)
		memcpy(d, p, n);
	return d;
}

static bool dup_arrays(struct config *d, const struct config *c)
{
	d->acls = config_mem_dup(c->acls, c->nacls * sizeof(*c->acls));
	d->sets = config_mem_dup(c->sets, c->nsets * sizeof(*c->sets));
	d->maps = config_mem_dup(c->maps, c->nmaps * sizeof(*c->maps));
	d->bindings = config_mem_dup(c->bindings, c->nbindings * sizeof(*c->bindings));
	d->ifs = config_mem_dup(c->ifs, c->nifs * sizeof(*c->ifs));
	d->routes = config_mem_dup(c->routes, c->nroutes * sizeof(*c->routes));
	d->opaque = c->nopaque ? calloc(c->nopaque, sizeof(char *)) : NULL;
	return (!c->nacls || d->acls) && (!c->nsets || d->sets) && (!c->nmaps || d->maps) &&
	       (!c->nbindings || d->bindings) && (!c->nifs || d->ifs) &&
	       (!c->nroutes || d->routes) && (!c->nopaque || d->opaque);
}

struct config *config_dup(const struct config *c)
{
	struct config *d = malloc(sizeof(*d));
	bool ok;

	if (!d)
		return NULL;
	*d = *c;
	ok = cfg_ikev2_dup(d, c);
	ok = dup_arrays(d, c) && ok;
	/* Until every owned pointer is ours, counts cover only what is. */
	if (!ok) {
		d->nacls = d->acls ? d->nacls : 0;
		d->nmaps = d->maps ? d->nmaps : 0;
		d->nopaque = d->opaque ? d->nopaque : 0;
	}
	for (unsigned i = 0; i < d->nacls; i++) {
		d->acls[i].aces = config_mem_dup(c->acls[i].aces, c->acls[i].n * sizeof(struct cfg_ace));
		ok = ok && (!c->acls[i].n || d->acls[i].aces);
	}
	for (unsigned i = 0; i < d->nmaps; i++) {
		ok = key_dup(&d->maps[i].esp_in) && ok;
		ok = key_dup(&d->maps[i].esp_out) && ok;
		ok = key_dup(&d->maps[i].ah_in) && ok;
		ok = key_dup(&d->maps[i].ah_out) && ok;
	}
	for (unsigned i = 0; i < d->nopaque; i++) {
		d->opaque[i] = strdup(c->opaque[i]);
		ok = ok && d->opaque[i];
	}
	if (!ok) {
		config_free(d);
		return NULL;
	}
	return d;
}

/* ---- equality (line numbers and file name are not part of the model) */

static bool secret_eq(const struct secret *a, const struct secret *b)
{
	if (!a || !b)
		return a == b;
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static bool key_eq(const struct cfg_session_key *a, const struct cfg_session_key *b)
{
	return a->set == b->set && a->spi == b->spi && secret_eq(a->cipher, b->cipher) &&
	       secret_eq(a->auth, b->auth);
}

bool cfg_ts_list_eq(const struct cfg_ts_list *a, const struct cfg_ts_list *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (strcmp(a->name[i], b->name[i]) != 0)
			return false;
	return true;
}

static bool map_eq(const struct cfg_map_entry *a, const struct cfg_map_entry *b)
{
	return strcmp(a->map, b->map) == 0 && a->seq == b->seq && a->manual == b->manual &&
	       ip_addr_eq(&a->peer, &b->peer) && a->peer.af == b->peer.af &&
	       cfg_ts_list_eq(&a->ts, &b->ts) && strcmp(a->acl, b->acl) == 0 &&
	       key_eq(&a->esp_in, &b->esp_in) && key_eq(&a->esp_out, &b->esp_out) &&
	       key_eq(&a->ah_in, &b->ah_in) && key_eq(&a->ah_out, &b->ah_out) &&
	       a->replay_window == b->replay_window && a->per_host == b->per_host &&
	       a->lifetime_kb == b->lifetime_kb && a->lifetime_s == b->lifetime_s &&
	       strcmp(a->ikev2_profile, b->ikev2_profile) == 0 && a->pfs_group == b->pfs_group;
}

static bool set_eq(const struct cfg_transform_set *a, const struct cfg_transform_set *b)
{
	if (a->nwords != b->nwords)
		return false;
	for (unsigned i = 0; i < a->nwords; i++)
		if (strcmp(a->words[i], b->words[i]) != 0)
			return false;
	return strcmp(a->name, b->name) == 0 && a->esp_encr == b->esp_encr &&
	       a->esp_key_bits == b->esp_key_bits && a->esp_integ == b->esp_integ &&
	       a->ah_integ == b->ah_integ && a->comp_deflate == b->comp_deflate &&
	       a->has_esp == b->has_esp && a->mode == b->mode;
}

static bool ace_eq(const struct cfg_ace *a, const struct cfg_ace *b)
{
	const struct ts *x = &a->ts, *y = &b->ts;

	return a->permit == b->permit && a->seq == b->seq && a->src_form == b->src_form &&
	       a->dst_form == b->dst_form && a->sport_op == b->sport_op &&
	       a->dport_op == b->dport_op && x->proto == y->proto &&
	       x->src.len == y->src.len && x->src.addr.af == y->src.addr.af &&
	       ip_addr_eq(&x->src.addr, &y->src.addr) && x->dst.len == y->dst.len &&
	       x->dst.addr.af == y->dst.addr.af && ip_addr_eq(&x->dst.addr, &y->dst.addr) &&
	       x->sport_lo == y->sport_lo && x->sport_hi == y->sport_hi &&
	       x->dport_lo == y->dport_lo && x->dport_hi == y->dport_hi;
}

static bool acl_eq(const struct cfg_acl *a, const struct cfg_acl *b)
{
	if (strcmp(a->name, b->name) || a->numbered != b->numbered || a->ipv6 != b->ipv6 ||
	    a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (!ace_eq(&a->aces[i], &b->aces[i]))
			return false;
	return true;
}

static bool if_eq(const struct cfg_interface *a, const struct cfg_interface *b)
{
	return strcmp(a->name, b->name) == 0 && a->addr.len == b->addr.len &&
	       a->addr.addr.af == b->addr.addr.af && ip_addr_eq(&a->addr.addr, &b->addr.addr) &&
	       a->addr6.len == b->addr6.len && a->addr6.addr.af == b->addr6.addr.af &&
	       ip_addr_eq(&a->addr6.addr, &b->addr6.addr) &&
	       strcmp(a->crypto_map, b->crypto_map) == 0 && a->tun_src.af == b->tun_src.af &&
	       ip_addr_eq(&a->tun_src, &b->tun_src) && a->tun_dst.af == b->tun_dst.af &&
	       ip_addr_eq(&a->tun_dst, &b->tun_dst) && a->tun_mode_af == b->tun_mode_af &&
	       a->tun_dual == b->tun_dual &&
	       strcmp(a->tun_protection, b->tun_protection) == 0 && a->shutdown == b->shutdown;
}

static bool route_eq(const struct cfg_route *a, const struct cfg_route *b)
{
	return a->dst.len == b->dst.len && a->dst.addr.af == b->dst.addr.af &&
	       ip_addr_eq(&a->dst.addr, &b->dst.addr) && strcmp(a->ifname, b->ifname) == 0 &&
	       a->nexthop.af == b->nexthop.af && ip_addr_eq(&a->nexthop, &b->nexthop);
}

static bool binding_eq(const struct cfg_map_binding *a, const struct cfg_map_binding *b)
{
	return strcmp(a->map, b->map) == 0 && a->local.af == b->local.af &&
	       ip_addr_eq(&a->local, &b->local) && strcmp(a->ifname, b->ifname) == 0;
}

#define ARRAY_EQ(na, nb, xa, xb, eq)                                                               \
	do {                                                                                       \
		if ((na) != (nb))                                                                  \
			return false;                                                              \
		for (unsigned i_ = 0; i_ < (na); i_++)                                             \
			if (!eq(&(xa)[i_], &(xb)[i_]))                                             \
				return false;                                                      \
	} while (0)

bool config_equal(const struct config *a, const struct config *b)
{
	if (strcmp(a->hostname, b->hostname) || a->replay_window != b->replay_window ||
	    a->replay_disabled != b->replay_disabled || a->udp_encap != b->udp_encap ||
	    a->df_bit != b->df_bit || a->frag_after != b->frag_after ||
	    a->sa_lifetime_s != b->sa_lifetime_s || a->sa_lifetime_kb != b->sa_lifetime_kb ||
	    strcmp(a->tun_ifname, b->tun_ifname) || strcmp(a->control_socket, b->control_socket) ||
	    a->workers != b->workers || a->offload_off != b->offload_off ||
	    a->xdp_tx != b->xdp_tx || a->queue_len != b->queue_len ||
	    memcmp(a->cpus, b->cpus, sizeof(a->cpus)) ||
	    a->nopaque != b->nopaque)
		return false;
	/* ACLs and routes are written grouped (named, IPv6, numbered; IPv4
	 * then IPv6), so their order is not part of the model. */
	if (a->nacls != b->nacls || a->nroutes != b->nroutes)
		return false;
	for (unsigned i = 0; i < a->nacls; i++) {
		const struct cfg_acl *o = config_acl(b, a->acls[i].name);

		if (!o || !acl_eq(&a->acls[i], o))
			return false;
	}
	for (unsigned i = 0; i < a->nroutes; i++) {
		bool found = false;

		for (unsigned k = 0; k < b->nroutes && !found; k++)
			found = route_eq(&a->routes[i], &b->routes[k]);
		if (!found)
			return false;
	}
	ARRAY_EQ(a->nsets, b->nsets, a->sets, b->sets, set_eq);
	ARRAY_EQ(a->nmaps, b->nmaps, a->maps, b->maps, map_eq);
	ARRAY_EQ(a->nbindings, b->nbindings, a->bindings, b->bindings, binding_eq);
	ARRAY_EQ(a->nifs, b->nifs, a->ifs, b->ifs, if_eq);
	if (!cfg_ikev2_equal(a, b))
		return false;
	for (unsigned i = 0; i < a->nopaque; i++)
		if (strcmp(a->opaque[i], b->opaque[i]) != 0)
			return false;
	return true;
}
