/* Security Policy Database (RFC 4301 4.4.1): an ordered list, first match
 * wins. The table is immutable once published; spd_replace builds a new
 * one and swaps it in with rcu_xchg_pointer, waits for a grace period
 * (synchronize_rcu) and frees the old one. Readers hold rcu_read_lock.
 *
 * Lookup index. Policies are sorted by priority (ties keep their input
 * order); the answer is the matching policy of lowest index. To avoid a
 * linear scan over 1000 entries per packet, policies are grouped by the
 * family and the lengths of their destination and source prefixes; inside
 * a group they are sorted by (destination prefix, source prefix, index). A
 * lookup masks the packet's destination and source to each group's
 * lengths, binary-searches the pair, and checks those policies (they
 * differ only in protocol and ports) in index order with ts_match,
 * stopping at the first match or at the best index found so far. Policies
 * whose destination matches any family (af 0) are scanned in order. The
 * cost is O(groups * log n) plus the policies that share the packet's
 * destination and source prefixes: a hub whose 1000 policies all have one
 * local subnet as destination and differ by source finds its policy by
 * binary search too. Correctness is checked against a linear reference in
 * tests/unit/test_ipsec_spd.c.
 */
#include "ipsec/spd.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "lib/log.h"

#define KEY_LEN 32
struct ent {
	/* destination prefix, then source prefix; host bits and unused
	 * bytes zero */
	uint8_t key[KEY_LEN];
	uint32_t idx; /* into pols */
};

struct group {
	uint8_t af, len, slen; /* family, destination and source lengths */
	unsigned n;
	struct ent *ents; /* sorted by (key, idx) */
};

struct spd_table {
	unsigned n;
	struct policy *pols; /* sorted by priority, stable */
	unsigned ngroups;
	struct group *groups;
	unsigned nwild;
	uint32_t *wild; /* policies with an any-family destination, ascending */
};

struct spd {
	struct spd_table *tab; /* RCU-protected */
	pthread_mutex_t lock;  /* serialises writers */
};

static void table_free(struct spd_table *t)
{
	if (!t)
		return;
	for (unsigned g = 0; g < t->ngroups; g++)
		free(t->groups[g].ents);
	free(t->groups);
	free(t->wild);
	free(t->pols);
	free(t);
}

static void prefix_key(uint8_t key[16], const struct ip_addr *a, uint8_t len)
{
	struct ip_prefix p;

	ip_prefix_set(&p, a, len);
	memset(key, 0, 16);
	memcpy(key, p.addr.b, ip_addr_len(a));
}

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = memcmp(x->key, y->key, KEY_LEN);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct sortable {
	struct policy p;
	unsigned ord;
};

static int pol_cmp(const void *a, const void *b)
{
	const struct sortable *x = a, *y = b;

	if (x->p.priority != y->p.priority)
		return x->p.priority < y->p.priority ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* Copy and sort by priority; equal priorities keep the caller's order. */
static struct policy *sort_policies(const struct policy *pols, unsigned n)
{
	struct sortable *s = calloc(n ? n : 1, sizeof(*s));
	struct policy *out = calloc(n ? n : 1, sizeof(*out));

	if (!s || !out) {
		free(s);
		free(out);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++)
		s[i] = (struct sortable){.p = pols[i], .ord = i};
	qsort(s, n, sizeof(*s), pol_cmp);
	for (unsigned i = 0; i < n; i++) {
		out[i] = s[i].p;
		out[i].name[sizeof(out[i].name) - 1] = 0;
	}
	free(s);
	return out;
}

static void pol_key(const struct policy *p, uint8_t key[KEY_LEN], uint8_t *slen)
{
	const struct ip_prefix *d = &p->sel.dst, *sp = &p->sel.src;

	*slen = sp->addr.af ? sp->len : 0; /* any family: matches any source */
	prefix_key(key, &d->addr, d->len);
	prefix_key(key + 16, &sp->addr, *slen);
}

static unsigned group_find(struct spd_table *t, uint8_t af, uint8_t len, uint8_t slen)
{
	unsigned g;

	for (g = 0; g < t->ngroups; g++)
		if (t->groups[g].af == af && t->groups[g].len == len && t->groups[g].slen == slen)
			return g;
	t->groups[g] = (struct group){.af = af, .len = len, .slen = slen};
	t->ngroups++;
	return g;
}

/* Two passes: which group each policy joins (and how many per group),
 * then each group's entries, allocated to size and sorted. */
static int table_index(struct spd_table *t)
{
	unsigned *gi = calloc(t->n ? t->n : 1, sizeof(*gi));
	int ret = -1;

	t->groups = calloc(t->n ? t->n : 1, sizeof(*t->groups));
	t->wild = calloc(t->n ? t->n : 1, sizeof(*t->wild));
	if (!gi || !t->groups || !t->wild)
		goto out;
	for (unsigned i = 0; i < t->n; i++) {
		const struct policy *p = &t->pols[i];
		uint8_t slen = p->sel.src.addr.af ? p->sel.src.len : 0;

		if (p->sel.dst.addr.af == 0) {
			t->wild[t->nwild++] = i;
			gi[i] = UINT32_MAX;
			continue;
		}
		gi[i] = group_find(t, p->sel.dst.addr.af, p->sel.dst.len, slen);
		t->groups[gi[i]].n++;
	}
	for (unsigned g = 0; g < t->ngroups; g++) {
		t->groups[g].ents = calloc(t->groups[g].n, sizeof(struct ent));
		if (!t->groups[g].ents)
			goto out;
		t->groups[g].n = 0;
	}
	for (unsigned i = 0; i < t->n; i++) {
		struct group *g;
		uint8_t slen;

		if (gi[i] == UINT32_MAX)
			continue;
		g = &t->groups[gi[i]];
		pol_key(&t->pols[i], g->ents[g->n].key, &slen);
		g->ents[g->n++].idx = i;
	}
	for (unsigned g = 0; g < t->ngroups; g++)
		qsort(t->groups[g].ents, t->groups[g].n, sizeof(struct ent), ent_cmp);
	ret = 0;
out:
	free(gi);
	return ret;
}

static struct spd_table *table_build(const struct policy *pols, unsigned n)
{
	struct spd_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->n = n;
	t->pols = sort_policies(pols, n);
	if (!t->pols || table_index(t) < 0) {
		table_free(t);
		return NULL;
	}
	return t;
}

struct spd *spd_new(void)
{
	struct spd *spd = calloc(1, sizeof(*spd));

	if (!spd)
		return NULL;
	if (pthread_mutex_init(&spd->lock, NULL) != 0) {
		free(spd);
		return NULL;
	}
	return spd;
}

/* No readers may remain (the data plane is stopped first). */
void spd_free(struct spd *spd)
{
	if (!spd)
		return;
	table_free(spd->tab);
	pthread_mutex_destroy(&spd->lock);
	free(spd);
}

int spd_replace(struct spd *spd, const struct policy *pols, unsigned n)
{
	struct spd_table *t = table_build(pols, n), *old;

	if (!t) {
		log_err("spd: out of memory building a table of %u policies", n);
		return -1;
	}
	pthread_mutex_lock(&spd->lock);
	old = rcu_xchg_pointer(&spd->tab, t);
	synchronize_rcu(); /* no reader still walks the old table */
	pthread_mutex_unlock(&spd->lock);
	table_free(old);
	return 0;
}

/* First entry of g with this key (lower bound on (key, 0)). */
static unsigned lower_bound(const struct group *g, const uint8_t key[KEY_LEN])
{
	unsigned lo = 0, hi = g->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (memcmp(g->ents[mid].key, key, KEY_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Lowest index < best in g that matches f, or best. */
static uint32_t group_best(const struct spd_table *t, const struct group *g,
			   const struct flow *f, uint32_t best)
{
	uint8_t key[KEY_LEN];

	prefix_key(key, &f->dst, g->len);
	prefix_key(key + 16, &f->src, g->slen);
	for (unsigned e = lower_bound(g, key); e < g->n; e++) {
		const struct ent *en = &g->ents[e];
		if (memcmp(en->key, key, KEY_LEN) != 0 || en->idx >= best)
			break;
		if (ts_match(&t->pols[en->idx].sel, f))
			return en->idx;
	}
	return best;
}

const struct policy *spd_lookup(struct spd *spd, const struct flow *f)
{
	const struct spd_table *t = rcu_dereference(spd->tab);
	uint32_t best = UINT32_MAX;

	if (!t)
		return NULL;
	for (unsigned g = 0; g < t->ngroups; g++)
		if (t->groups[g].af == f->dst.af)
			best = group_best(t, &t->groups[g], f, best);
	for (unsigned w = 0; w < t->nwild && t->wild[w] < best; w++) {
		if (ts_match(&t->pols[t->wild[w]].sel, f)) {
			best = t->wild[w];
			break;
		}
	}
	return best == UINT32_MAX ? NULL : &t->pols[best];
}

unsigned spd_count(struct spd *spd)
{
	unsigned n;

	pthread_mutex_lock(&spd->lock);
	n = spd->tab ? spd->tab->n : 0;
	pthread_mutex_unlock(&spd->lock);
	return n;
}

void spd_foreach(struct spd *spd, spd_visit_fn fn, void *arg)
{
	pthread_mutex_lock(&spd->lock);
	for (unsigned i = 0; spd->tab && i < spd->tab->n; i++)
		fn(&spd->tab->pols[i], arg);
	pthread_mutex_unlock(&spd->lock);
}
