/* Traffic selectors (RFC 7296 2.9, 3.13): our prefix-based selectors
 * (struct ts, local -> remote) as TSi/TSr ranges, narrowing as responder
 * and checking a narrowed answer as initiator. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ikev2/engine.h"
#include "lib/log.h"

/* A single address range with protocol and port range: one TS entry. */
struct rng {
	uint8_t af; /* AF_INET / AF_INET6 */
	uint8_t proto;
	uint16_t plo, phi;
	uint8_t lo[16], hi[16];
};

static size_t alen(uint8_t af)
{
	return af == AF_INET ? 4 : 16;
}

static void prefix_to_rng(const struct ip_prefix *p, uint8_t af, uint8_t proto, uint16_t plo,
			  uint16_t phi, struct rng *r)
{
	size_t n = alen(af);

	memset(r, 0, sizeof(*r));
	r->af = af;
	r->proto = proto;
	r->plo = plo;
	r->phi = phi;
	if (p->addr.af != af) { /* af 0: any address */
		memset(r->hi, 0xff, n);
		return;
	}
	memcpy(r->lo, p->addr.b, n);
	memcpy(r->hi, p->addr.b, n);
	for (size_t bit = p->len; bit < n * 8; bit++)
		r->hi[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
}

static void rng_to_ts(const struct rng *r, struct ikev2_ts *t)
{
	memset(t, 0, sizeof(*t));
	t->type = r->af == AF_INET ? IKEV2_TS_IPV4_ADDR_RANGE : IKEV2_TS_IPV6_ADDR_RANGE;
	t->ipproto = r->proto;
	t->start_port = r->plo;
	t->end_port = r->phi;
	memcpy(t->start, r->lo, alen(r->af));
	memcpy(t->end, r->hi, alen(r->af));
}

static bool ts_to_rng(const struct ikev2_ts *t, struct rng *r)
{
	memset(r, 0, sizeof(*r));
	if (t->type == IKEV2_TS_IPV4_ADDR_RANGE)
		r->af = AF_INET;
	else if (t->type == IKEV2_TS_IPV6_ADDR_RANGE)
		r->af = AF_INET6;
	else
		return false; /* 3.13.1: unknown types are skipped */
	r->proto = t->ipproto;
	r->plo = t->start_port;
	r->phi = t->end_port;
	memcpy(r->lo, t->start, alen(r->af));
	memcpy(r->hi, t->end, alen(r->af));
	return memcmp(r->lo, r->hi, alen(r->af)) <= 0 && r->plo <= r->phi;
}

/* Intersection; false if empty. */
static bool rng_and(const struct rng *a, const struct rng *b, struct rng *out)
{
	size_t n = alen(a->af);

	if (a->af != b->af || (a->proto && b->proto && a->proto != b->proto))
		return false;
	*out = *a;
	out->proto = a->proto ? a->proto : b->proto;
	out->plo = a->plo > b->plo ? a->plo : b->plo;
	out->phi = a->phi < b->phi ? a->phi : b->phi;
	if (memcmp(b->lo, a->lo, n) > 0)
		memcpy(out->lo, b->lo, n);
	if (memcmp(b->hi, a->hi, n) < 0)
		memcpy(out->hi, b->hi, n);
	return out->plo <= out->phi && memcmp(out->lo, out->hi, n) <= 0;
}

static bool rng_inside(const struct rng *in, const struct rng *out)
{
	size_t n = alen(in->af);

	return in->af == out->af && (!out->proto || in->proto == out->proto) &&
	       in->plo >= out->plo && in->phi <= out->phi && memcmp(in->lo, out->lo, n) >= 0 &&
	       memcmp(in->hi, out->hi, n) <= 0;
}

/* A range that is exactly a prefix (our SAs carry prefixes). */
static bool rng_to_prefix(const struct rng *r, struct ip_prefix *p)
{
	size_t n = alen(r->af);
	struct rng back;

	for (unsigned len = 0; len <= n * 8; len++) {
		memset(p, 0, sizeof(*p));
		ip_addr_from_raw(&p->addr, r->af, r->lo);
		ip_prefix_set(p, &p->addr, (uint8_t)len);
		prefix_to_rng(p, r->af, 0, 0, 0, &back);
		if (!memcmp(back.lo, r->lo, n) && !memcmp(back.hi, r->hi, n))
			return true;
	}
	return false;
}

static void add_uniq(struct v2_out *o, struct ikev2_tsp *tsp, const struct rng *r)
{
	struct ikev2_ts t;

	rng_to_ts(r, &t);
	for (uint8_t i = 0; i < tsp->n_ts; i++)
		if (!memcmp(&tsp->ts[i], &t, sizeof(t)))
			return;
	if (o->n_ts >= sizeof(o->ts) / sizeof(o->ts[0])) {
		o->failed = true;
		return;
	}
	o->ts[o->n_ts++] = t;
	tsp->n_ts++;
}

/* Ranges of one side of a selector: both families if the prefix is any. */
static unsigned side_rngs(const struct ts *t, bool src, struct rng r[2])
{
	const struct ip_prefix *p = src ? &t->src : &t->dst;
	uint16_t lo = src ? t->sport_lo : t->dport_lo, hi = src ? t->sport_hi : t->dport_hi;
	unsigned n = 0;

	if (p->addr.af != AF_INET6)
		prefix_to_rng(p, AF_INET, t->proto, lo, hi, &r[n++]);
	if (p->addr.af != AF_INET)
		prefix_to_rng(p, AF_INET6, t->proto, lo, hi, &r[n++]);
	return n;
}

void v2_ts_out(struct v2_out *o, const struct ts_list *sel, bool swap)
{
	for (int side = 0; side < 2; side++) {
		struct ikev2_pl *pl = v2_out_add(o, side ? IKEV2_PL_TSR : IKEV2_PL_TSI);
		/* TSi is the initiator's side: our local (src) unless swap */
		bool src = (side == 0) != swap;

		pl->u.ts.ts = &o->ts[o->n_ts];
		for (unsigned k = 0; k < sel->n; k++) {
			struct rng r[2];
			unsigned n = side_rngs(&sel->ts[k], src, r);

			for (unsigned j = 0; j < n; j++)
				add_uniq(o, &pl->u.ts, &r[j]);
		}
	}
}

static bool pair_to_ts(const struct rng *l, const struct rng *r, struct ts *t)
{
	memset(t, 0, sizeof(*t));
	t->proto = l->proto ? l->proto : r->proto;
	t->sport_lo = l->plo;
	t->sport_hi = l->phi;
	t->dport_lo = r->plo;
	t->dport_hi = r->phi;
	return rng_to_prefix(l, &t->src) && rng_to_prefix(r, &t->dst);
}

static void sel_add(struct ts_list *l, const struct ts *t)
{
	for (unsigned i = 0; i < l->n; i++)
		if (!memcmp(&l->ts[i], t, sizeof(*t)))
			return;
	if (l->n < TS_LIST_MAX)
		l->ts[l->n++] = *t;
}

/* A selector inside another (both local -> remote). */
static bool ts_inside(const struct ts *in, const struct ts *out)
{
	for (int side = 0; side < 2; side++) {
		struct rng a[2], b[2];
		unsigned na = side_rngs(in, side == 0, a), nb = side_rngs(out, side == 0, b);

		for (unsigned x = 0; x < na; x++) {
			bool found = false;

			for (unsigned y = 0; y < nb && !found; y++)
				found = rng_inside(&a[x], &b[y]);
			if (!found)
				return false;
		}
	}
	return true;
}

bool v2_ts_list_holds(const struct ts_list *l, const struct ts *t)
{
	for (unsigned i = 0; i < l->n; i++)
		if (ts_inside(t, &l->ts[i]))
			return true;
	return false;
}

/* Leave out the selectors that another one of the list contains: the
 * triggering packet's selector (2.9) narrowed beside the whole ACL line
 * it came from is one selector, not two. Order is kept. */
static void sel_prune(struct ts_list *l)
{
	unsigned n = 0;

	for (unsigned i = 0; i < l->n; i++) {
		bool covered = false;

		for (unsigned j = 0; j < l->n && !covered; j++)
			covered = j != i && ts_inside(&l->ts[i], &l->ts[j]) &&
				  (j < i || !ts_inside(&l->ts[j], &l->ts[i]));
		if (!covered)
			l->ts[n++] = l->ts[i];
	}
	l->n = n;
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 33 || proto == 132 || proto == 136;
}

void v2_ts_of_flow(const struct ts *within, const struct flow *f, bool exact, struct ts *t)
{
	*t = *within;
	ip_prefix_set(&t->src, &f->src, (uint8_t)(ip_addr_len(&f->src) * 8));
	ip_prefix_set(&t->dst, &f->dst, (uint8_t)(ip_addr_len(&f->dst) * 8));
	if (!exact)
		return;
	t->proto = f->proto;
	if (proto_has_ports(f->proto) && !f->opaque) {
		t->sport_lo = t->sport_hi = f->sport;
		t->dport_lo = t->dport_hi = f->dport;
	}
}

bool v2_ts_first_fits(const struct ts_list *cfg, const struct ikev2_tsp *tsi,
		      const struct ikev2_tsp *tsr)
{
	struct rng pi, pr;

	if (!tsi->n_ts || !tsr->n_ts || !ts_to_rng(&tsi->ts[0], &pi) ||
	    !ts_to_rng(&tsr->ts[0], &pr))
		return false;
	for (unsigned k = 0; k < cfg->n; k++) {
		struct rng loc[2], rem[2];
		unsigned nl = side_rngs(&cfg->ts[k], true, loc);
		unsigned nr = side_rngs(&cfg->ts[k], false, rem);
		bool in_i = false, in_r = false;

		for (unsigned x = 0; x < nr; x++)
			in_i = in_i || rng_inside(&pi, &rem[x]);
		for (unsigned y = 0; y < nl; y++)
			in_r = in_r || rng_inside(&pr, &loc[y]);
		if (in_i && in_r)
			return true;
	}
	return false;
}

int v2_ts_fit(const struct ts_list *cfg, const struct ikev2_msg *m)
{
	const struct ikev2_pl *tsi = ikev2_msg_find(m, IKEV2_PL_TSI);
	const struct ikev2_pl *tsr = ikev2_msg_find(m, IKEV2_PL_TSR);
	struct ts_list narrowed;

	if (!tsi || !tsr || !cfg->n)
		return 0;
	if (v2_ts_first_fits(cfg, &tsi->u.ts, &tsr->u.ts))
		return 2;
	return v2_ts_narrow(cfg, &tsi->u.ts, &tsr->u.ts, &narrowed) ? 1 : 0;
}

/* 2.9: the responder narrows to the intersection of what was proposed
 * and its policy. The peer's TSi is our remote side (dst). */
bool v2_ts_narrow(const struct ts_list *cfg, const struct ikev2_tsp *tsi,
		  const struct ikev2_tsp *tsr, struct ts_list *sel_out)
{
	memset(sel_out, 0, sizeof(*sel_out));
	for (unsigned k = 0; k < cfg->n; k++) {
		struct rng loc[2], rem[2];
		unsigned nl = side_rngs(&cfg->ts[k], true, loc);
		unsigned nr = side_rngs(&cfg->ts[k], false, rem);

		for (uint8_t a = 0; a < tsi->n_ts; a++)
			for (uint8_t b = 0; b < tsr->n_ts; b++) {
				struct rng pi, pr, xi, xr;
				struct ts t;

				if (!ts_to_rng(&tsi->ts[a], &pi) || !ts_to_rng(&tsr->ts[b], &pr))
					continue;
				for (unsigned x = 0; x < nr; x++)
					for (unsigned y = 0; y < nl; y++) {
						if (!rng_and(&pi, &rem[x], &xi) ||
						    !rng_and(&pr, &loc[y], &xr))
							continue;
						if (xi.proto != xr.proto) /* one protocol per pair */
							xi.proto = xr.proto = xi.proto ? xi.proto : xr.proto;
						if (pair_to_ts(&xr, &xi, &t))
							sel_add(sel_out, &t);
						else
							log_info("ikev2: narrowed selector is not a prefix, skipped");
					}
			}
	}
	sel_prune(sel_out);
	return sel_out->n > 0;
}

/* A returned TS inside one of the ranges we offered on that side. */
static bool offered(const struct ts_list *proposed, const struct rng *r, bool local)
{
	for (unsigned k = 0; k < proposed->n; k++) {
		struct rng s[2];
		unsigned n = side_rngs(&proposed->ts[k], local, s);

		for (unsigned x = 0; x < n; x++)
			if (rng_inside(r, &s[x]))
				return true;
	}
	return false;
}

/* As initiator (2.9): the responder narrows "to some subset of the
 * initiator's proposal": each TS it returns must lie inside one we offered
 * in the same payload (TSi: our local sides, TSr: our remote sides).
 * TSi x TSr names every combination; we install the pairs that lie inside
 * one of our selectors and leave out the cross pairs our policy does not
 * have (with ACL lines 1->2 and 11->12 the payloads {1,11} x {2,12} also
 * name 1->12; 2.9.1). Requiring every combination to be one of our
 * selectors refused any child with two ACL lines. */
bool v2_ts_accept(const struct ts_list *proposed, const struct ikev2_tsp *tsi,
		  const struct ikev2_tsp *tsr, struct ts_list *sel_out)
{
	memset(sel_out, 0, sizeof(*sel_out));
	for (int side = 0; side < 2; side++) {
		const struct ikev2_tsp *p = side ? tsr : tsi;

		for (uint8_t a = 0; a < p->n_ts; a++) {
			struct rng r;

			if (!ts_to_rng(&p->ts[a], &r) || !offered(proposed, &r, side == 0))
				return false;
		}
	}
	for (uint8_t a = 0; a < tsi->n_ts; a++)
		for (uint8_t b = 0; b < tsr->n_ts; b++) {
			struct rng ri, rr;
			bool ok = false;
			struct ts t;

			ts_to_rng(&tsi->ts[a], &ri);
			ts_to_rng(&tsr->ts[b], &rr);
			if (ri.af != rr.af)
				continue;
			for (unsigned k = 0; k < proposed->n && !ok; k++) {
				struct rng loc[2], rem[2];
				unsigned nl = side_rngs(&proposed->ts[k], true, loc);
				unsigned nr = side_rngs(&proposed->ts[k], false, rem);

				for (unsigned x = 0; x < nl && !ok; x++)
					for (unsigned y = 0; y < nr && !ok; y++)
						ok = rng_inside(&ri, &loc[x]) &&
						     rng_inside(&rr, &rem[y]);
			}
			if (!ok)
				continue; /* a cross pair outside our policy */
			if (!pair_to_ts(&ri, &rr, &t))
				return false;
			sel_add(sel_out, &t);
		}
	sel_prune(sel_out);
	return sel_out->n > 0;
}

/* "198.19.1.0/24" (or "a-b" if not a prefix), " proto P", " port a-b". */
static size_t rng_str(const struct rng *r, char *buf, size_t len)
{
	char a[IP_ADDR_STRLEN + 8], b[IP_ADDR_STRLEN];
	struct ip_prefix p;
	struct ip_addr hi;
	size_t o;

	if (rng_to_prefix(r, &p)) {
		o = (size_t)snprintf(buf, len, "%s", ip_prefix_str(&p, a));
	} else {
		ip_addr_from_raw(&p.addr, r->af, r->lo);
		ip_addr_from_raw(&hi, r->af, r->hi);
		o = (size_t)snprintf(buf, len, "%s-%s", ip_addr_str(&p.addr, a),
				     ip_addr_str(&hi, b));
	}
	if (r->proto && o < len)
		o += (size_t)snprintf(buf + o, len - o, " proto %u", r->proto);
	if ((r->plo != 0 || r->phi != 65535) && o < len)
		o += (size_t)snprintf(buf + o, len - o, " port %u-%u", r->plo, r->phi);
	return o < len ? o : len;
}

static size_t tsp_str(const struct ikev2_tsp *t, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (uint8_t i = 0; i < t->n_ts && o + 1 < len; i++) {
		struct rng r;

		if (i)
			o += (size_t)snprintf(buf + o, len - o, ", ");
		if (o + 1 >= len)
			break;
		if (ts_to_rng(&t->ts[i], &r))
			o += rng_str(&r, buf + o, len - o);
		else
			o += (size_t)snprintf(buf + o, len - o, "(type %u)", t->ts[i].type);
	}
	return o;
}

void v2_ts_log(const char *conn, const struct ts_list *ours, const struct ikev2_tsp *tsi,
	       const struct ikev2_tsp *tsr)
{
	char si[256], sr[256];

	tsp_str(tsi, si, sizeof(si));
	tsp_str(tsr, sr, sizeof(sr));
	log_notice("ikev2 %s:   peer proposed TSi %s; TSr %s", conn, si, sr);
	v2_ts_log_ours(conn, "our selectors", ours);
}

void v2_ts_log_ours(const char *conn, const char *what, const struct ts_list *ours)
{
	char line[512];
	size_t o = 0;

	line[0] = '\0';
	for (unsigned k = 0; k < ours->n && o + 1 < sizeof(line); k++) {
		struct rng l[2], r[2];

		/* the first family names the selector ("any" is 0.0.0.0/0) */
		side_rngs(&ours->ts[k], true, l);
		side_rngs(&ours->ts[k], false, r);
		if (k)
			o += (size_t)snprintf(line + o, sizeof(line) - o, ", ");
		if (o + 1 >= sizeof(line))
			break;
		o += rng_str(&l[0], line + o, sizeof(line) - o);
		if (o + 1 < sizeof(line))
			o += (size_t)snprintf(line + o, sizeof(line) - o, " -> ");
		if (o + 1 < sizeof(line))
			o += rng_str(&r[0], line + o, sizeof(line) - o);
	}
	log_notice("ikev2 %s:   %s (local -> remote): %s", conn, what, ours->n ? line : "none");
}
