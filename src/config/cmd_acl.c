/* Access lists: ip access-list extended NAME, ipv6 access-list NAME and
 * numbered access-list N. An entry becomes a traffic selector (struct ts,
 * RFC 4301 section 4.4.1.1); the way it was written is kept for show
 * running-config. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config/cmds.h"

enum { FORM_ANY, FORM_HOST, FORM_WILDCARD, FORM_PREFIX };
enum { OP_NONE, OP_EQ, OP_RANGE, OP_GT, OP_LT };

struct walk {
	struct pctx *p;
	const struct cmd_match *m;
	unsigned i;
	bool v6;
};

static bool more(const struct walk *w)
{
	return w->i < w->m->n;
}

static int walk_proto(struct walk *w, struct cfg_ace *a)
{
	const struct mtok *t = &w->m->t[w->i++];

	if (!t->kw)
		a->ts.proto = (uint8_t)strtoul(t->text, NULL, 10);
	else if (strcmp(t->kw, "tcp") == 0)
		a->ts.proto = 6;
	else if (strcmp(t->kw, "udp") == 0)
		a->ts.proto = 17;
	else if (strcmp(t->kw, "icmp") == 0)
		a->ts.proto = w->v6 ? 58 : 1;
	else
		a->ts.proto = 0;
	return 0;
}

static int walk_addr(struct walk *w, struct ip_prefix *pf, uint8_t *form)
{
	const struct mtok *t = &w->m->t[w->i];
	struct ip_addr a;
	uint8_t len;

	memset(pf, 0, sizeof(*pf));
	if (t->kw && strcmp(t->kw, "any") == 0) {
		pf->addr.af = w->v6 ? AF_INET6 : AF_INET;
		*form = FORM_ANY;
		w->i++;
		return 0;
	}
	if (t->type == TT_PREFIX6) {
		ip_prefix_parse(t->text, pf);
		*form = FORM_PREFIX;
		w->i++;
		return 0;
	}
	if (w->i + 1 >= w->m->n)
		return cmd_incomplete(w->p, w->m);
	if (t->kw) { /* host A */
		ip_addr_parse(w->m->t[w->i + 1].text, &a);
		ip_prefix_set(pf, &a, w->v6 ? 128 : 32);
		*form = FORM_HOST;
		w->i += 2;
		return 0;
	}
	if (!ip_mask_to_len(w->m->t[w->i + 1].text, true, &len))
		return pctx_err(w->p, (int)w->i + 1, "expected a contiguous wildcard mask");
	ip_addr_parse(t->text, &a);
	ip_prefix_set(pf, &a, len);
	*form = FORM_WILDCARD;
	w->i += 2;
	return 0;
}

static int walk_ports(struct walk *w, const struct cfg_ace *a, uint16_t *lo, uint16_t *hi,
		      uint8_t *op)
{
	const struct mtok *t = more(w) ? &w->m->t[w->i] : NULL;
	unsigned long v, v2;
	unsigned at = w->i;

	*lo = 0;
	*hi = 65535;
	*op = OP_NONE;
	if (!t || !t->kw || (strcmp(t->kw, "eq") && strcmp(t->kw, "range") && strcmp(t->kw, "gt") &&
			     strcmp(t->kw, "lt")))
		return 0;
	if (a->ts.proto != 6 && a->ts.proto != 17)
		return pctx_err(w->p, (int)at, "port matches apply to tcp and udp only");
	if (w->i + 1 >= w->m->n || (t->kw[0] == 'r' && w->i + 2 >= w->m->n))
		return cmd_incomplete(w->p, w->m);
	v = strtoul(w->m->t[w->i + 1].text, NULL, 10);
	w->i += 2;
	if (t->kw[0] == 'e') {
		*lo = *hi = (uint16_t)v, *op = OP_EQ;
	} else if (t->kw[0] == 'r') {
		v2 = strtoul(w->m->t[w->i++].text, NULL, 10);
		if (v2 < v)
			return pctx_err(w->p, (int)w->i - 1, "range end is below its start");
		*lo = (uint16_t)v, *hi = (uint16_t)v2, *op = OP_RANGE;
	} else if (t->kw[0] == 'g') {
		if (v == 65535)
			return pctx_err(w->p, (int)w->i - 1, "no port is greater than 65535");
		*lo = (uint16_t)(v + 1), *op = OP_GT;
	} else {
		if (v == 0)
			return pctx_err(w->p, (int)w->i - 1, "no port is lower than 0");
		*hi = (uint16_t)(v - 1), *op = OP_LT;
	}
	return 0;
}

/* [permit|deny] PROTO SRC [PORTS] DST [PORTS] from token i. */
static int parse_ace(struct pctx *p, const struct cmd_match *m, unsigned i, bool v6,
		     struct cfg_ace *a)
{
	struct walk w = {.p = p, .m = m, .i = i, .v6 = v6};

	memset(a, 0, sizeof(*a));
	a->line = p->line;
	if (w.i + 3 >= m->n)
		return cmd_incomplete(p, m);
	a->permit = mtok_is(m, w.i++, "permit");
	if (walk_proto(&w, a) < 0 || walk_addr(&w, &a->ts.src, &a->src_form) < 0 ||
	    walk_ports(&w, a, &a->ts.sport_lo, &a->ts.sport_hi, &a->sport_op) < 0)
		return -1;
	if (!more(&w))
		return cmd_incomplete(p, m);
	if (walk_addr(&w, &a->ts.dst, &a->dst_form) < 0 ||
	    walk_ports(&w, a, &a->ts.dport_lo, &a->ts.dport_hi, &a->dport_op) < 0)
		return -1;
	return 0;
}

static bool ace_same(const struct cfg_ace *x, const struct cfg_ace *y)
{
	return x->permit == y->permit && x->ts.proto == y->ts.proto &&
	       x->ts.src.len == y->ts.src.len && ip_addr_eq(&x->ts.src.addr, &y->ts.src.addr) &&
	       x->ts.dst.len == y->ts.dst.len && ip_addr_eq(&x->ts.dst.addr, &y->ts.dst.addr) &&
	       x->ts.sport_lo == y->ts.sport_lo && x->ts.sport_hi == y->ts.sport_hi &&
	       x->ts.dport_lo == y->ts.dport_lo && x->ts.dport_hi == y->ts.dport_hi;
}

static void ace_remove(struct cfg_acl *l, unsigned i)
{
	memmove(&l->aces[i], &l->aces[i + 1], (l->n - i - 1) * sizeof(l->aces[0]));
	l->n--;
}

/* Insert in sequence order; without a number, last + 10 as IOS does. */
static int ace_insert(struct pctx *p, struct cfg_acl *l, struct cfg_ace *a, bool has_seq)
{
	struct cfg_ace *na;
	unsigned at = l->n;

	if (!has_seq)
		a->seq = l->n ? l->aces[l->n - 1].seq + 10 : 10;
	for (unsigned i = 0; i < l->n; i++) {
		if (l->aces[i].seq == a->seq)
			return pctx_err(p, 0, "duplicate sequence number %u in access list %s",
					a->seq, l->name);
		if (l->aces[i].seq > a->seq && at == l->n)
			at = i;
	}
	na = realloc(l->aces, (l->n + 1) * sizeof(*na));
	if (!na)
		return pctx_err(p, 0, "out of memory");
	l->aces = na;
	memmove(&na[at + 1], &na[at], (l->n - at) * sizeof(*na));
	na[at] = *a;
	l->n++;
	return 0;
}

static int ace_apply(struct pctx *p, struct cfg_acl *l, const struct cmd_match *m, unsigned i,
		     bool neg, bool has_seq)
{
	struct cfg_ace a;

	if (neg && has_seq && m->n == i) { /* no SEQ */
		for (unsigned k = 0; k < l->n; k++)
			if (l->aces[k].seq == tok_u64(m, 0))
				ace_remove(l, k);
		return 0;
	}
	if (parse_ace(p, m, i, l->ipv6, &a) < 0)
		return -1;
	a.seq = has_seq ? (uint32_t)tok_u64(m, 0) : 0;
	if (!neg)
		return ace_insert(p, l, &a, has_seq);
	for (unsigned k = 0; k < l->n; k++)
		if (ace_same(&l->aces[k], &a) && (!has_seq || l->aces[k].seq == a.seq))
			ace_remove(l, k--);
	return 0;
}

static int acl_enter(struct pctx *p, const struct cmd_match *m, bool neg, unsigned ni, bool v6)
{
	struct config *c = p->cfg;
	struct cfg_acl *l;

	if (!have(m, ni + 1))
		return cmd_incomplete(p, m);
	l = cfg_acl_get(c, m->t[ni].text, false);
	if (neg) {
		if (l) {
			cfg_acl_clear(l);
			*l = c->acls[--c->nacls];
		}
		return 0;
	}
	if (l && l->ipv6 != v6)
		return pctx_err(p, (int)ni, "access list %s is an %s list", l->name,
				l->ipv6 ? "IPv6" : "IPv4");
	if (!l) {
		l = cfg_acl_get(c, m->t[ni].text, true);
		if (!l)
			return pctx_err(p, 0, "out of memory");
		l->ipv6 = v6;
	}
	p->mode = v6 ? MODE_ACL6 : MODE_ACL;
	snprintf(p->name, sizeof(p->name), "%.63s", l->name);
	return 0;
}

CMD_FN(cmd_acl)
{
	return acl_enter(p, m, neg, 3, false);
}

CMD_FN(cmd_acl6)
{
	return acl_enter(p, m, neg, 2, true);
}

CMD_FN(cmd_acl_numbered)
{
	struct config *c = p->cfg;
	struct cfg_acl *l;

	if (!have(m, 2))
		return cmd_incomplete(p, m);
	l = cfg_acl_get(c, m->t[1].text, false);
	if (neg && m->n == 2) {
		if (l) {
			cfg_acl_clear(l);
			*l = c->acls[--c->nacls];
		}
		return 0;
	}
	if (l && l->ipv6)
		return pctx_err(p, 1, "access list %s is an IPv6 list", l->name);
	if (!l) {
		if (neg)
			return 0;
		l = cfg_acl_get(c, m->t[1].text, true);
		if (!l)
			return pctx_err(p, 0, "out of memory");
		l->numbered = true;
	}
	return ace_apply(p, l, m, 2, neg, false);
}

static int ace_cmd(struct pctx *p, const struct cmd_match *m, bool neg)
{
	struct cfg_acl *l = cfg_acl_get(p->cfg, p->name, false);
	bool has_seq = m->n > 0 && m->t[0].type == TT_NUM;

	if (!l)
		return pctx_err(p, 0, "no current access list");
	return ace_apply(p, l, m, has_seq ? 1 : 0, neg, has_seq);
}

CMD_FN(cmd_ace)
{
	return ace_cmd(p, m, neg);
}

CMD_FN(cmd_ace6)
{
	return ace_cmd(p, m, neg);
}

/* ---- writers ------------------------------------------------------- */

static void write_addr(struct sbuf *b, const struct ip_prefix *pf, uint8_t form)
{
	char a[IP_ADDR_STRLEN], mask[IP_ADDR_STRLEN];

	switch (form) {
	case FORM_ANY:
		sbuf_printf(b, " any");
		break;
	case FORM_HOST:
		sbuf_printf(b, " host %s", ip_addr_str(&pf->addr, a));
		break;
	case FORM_WILDCARD:
		ip_len_to_mask(pf->len, true, mask);
		sbuf_printf(b, " %s %s", ip_addr_str(&pf->addr, a), mask);
		break;
	default:
		sbuf_printf(b, " %s/%u", ip_addr_str(&pf->addr, a), pf->len);
		break;
	}
}

static void write_ports(struct sbuf *b, uint16_t lo, uint16_t hi, uint8_t op)
{
	if (op == OP_EQ)
		sbuf_printf(b, " eq %u", lo);
	else if (op == OP_RANGE)
		sbuf_printf(b, " range %u %u", lo, hi);
	else if (op == OP_GT)
		sbuf_printf(b, " gt %u", lo - 1u);
	else if (op == OP_LT)
		sbuf_printf(b, " lt %u", hi + 1u);
}

static void write_ace(struct sbuf *b, const struct cfg_acl *l, const struct cfg_ace *a)
{
	uint8_t pr = a->ts.proto;

	sbuf_printf(b, "%s", a->permit ? "permit" : "deny");
	if (pr == 0)
		sbuf_printf(b, " %s", l->ipv6 ? "ipv6" : "ip");
	else if (pr == 6 || pr == 17)
		sbuf_printf(b, " %s", pr == 6 ? "tcp" : "udp");
	else if (pr == (l->ipv6 ? 58 : 1))
		sbuf_printf(b, " icmp");
	else
		sbuf_printf(b, " %u", pr);
	write_addr(b, &a->ts.src, a->src_form);
	write_ports(b, a->ts.sport_lo, a->ts.sport_hi, a->sport_op);
	write_addr(b, &a->ts.dst, a->dst_form);
	write_ports(b, a->ts.dport_lo, a->ts.dport_hi, a->dport_op);
	sbuf_printf(b, "\n");
}

/* The sequence number is written only where it differs from the one the
 * parser would assign (previous + 10), so the text reloads identically. */
WR_FN(wr_ace)
{
	const struct cfg_acl *l = obj;
	uint32_t next = 10;

	(void)c;
	for (unsigned i = 0; i < l->n; i++) {
		sbuf_printf(b, " ");
		if (l->aces[i].seq != next)
			sbuf_printf(b, "%u ", l->aces[i].seq);
		write_ace(b, l, &l->aces[i]);
		next = l->aces[i].seq + 10;
	}
}

static void write_lists(struct sbuf *b, const struct config *c, bool v6)
{
	for (unsigned i = 0; i < c->nacls; i++) {
		const struct cfg_acl *l = &c->acls[i];

		if (l->numbered || l->ipv6 != v6)
			continue;
		sbuf_printf(b, v6 ? "ipv6 access-list %s\n" : "ip access-list extended %s\n",
			    l->name);
		write_submode(b, c, v6 ? MODE_ACL6 : MODE_ACL, l);
		sbuf_printf(b, "!\n");
	}
}

WR_FN(wr_acl)
{
	(void)obj;
	write_lists(b, c, false);
}

WR_FN(wr_acl6)
{
	(void)obj;
	write_lists(b, c, true);
}

WR_FN(wr_acl_numbered)
{
	(void)obj;
	for (unsigned i = 0; i < c->nacls; i++) {
		const struct cfg_acl *l = &c->acls[i];

		if (!l->numbered)
			continue;
		for (unsigned k = 0; k < l->n; k++) {
			sbuf_printf(b, "access-list %s ", l->name);
			write_ace(b, l, &l->aces[k]);
		}
	}
}
