/* The matcher: command patterns compiled once into a Thompson NFA, then
 * simulated over the tokens of a line. Simulating all commands of a mode
 * at once gives IOS behaviour for free: abbreviations are resolved among
 * everything valid at that position, an ambiguous prefix names its
 * candidates, and `?` lists exactly the words the parser would accept. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/grammar.h"

enum { N_SPLIT = 100, N_NOP, N_MATCH };

struct gnode {
	uint8_t kind; /* enum tok_type or N_* */
	char *kw;     /* keyword (owned), or the argument's label */
	uint64_t lo, hi;
	int out1, out2;
	int cmd;
};

static struct gnode *nodes;
static int nnodes, capnodes;
static int roots[MODE_COUNT];
static int building_cmd;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int node_new(uint8_t kind, int out1, int out2)
{
	if (nnodes == capnodes) {
		int cap = capnodes ? capnodes * 2 : 1024;
		struct gnode *n = realloc(nodes, (size_t)cap * sizeof(*n));

		if (!n)
			abort(); /* at start-up, on a fixed table */
		nodes = n;
		capnodes = cap;
	}
	nodes[nnodes] = (struct gnode){.kind = kind, .out1 = out1, .out2 = out2,
				       .cmd = building_cmd};
	return nnodes++;
}

/* ---- pattern compilation --------------------------------------------- */

#define PT_MAX 1024
struct ptoks {
	unsigned n;
	char w[PT_MAX][32];
};

static void pattern_split(const char *s, struct ptoks *pt)
{
	pt->n = 0;
	while (*s && pt->n < PT_MAX) {
		size_t k = 0;

		if (*s == ' ') {
			s++;
			continue;
		}
		if (strchr("{}[]|", *s)) {
			pt->w[pt->n][0] = *s++;
			pt->w[pt->n++][1] = '\0';
			continue;
		}
		while (*s && !strchr(" {}[]|", *s) && k < 31)
			pt->w[pt->n][k++] = *s++;
		pt->w[pt->n++][k] = '\0';
	}
}

static unsigned close_of(const struct ptoks *pt, unsigned i)
{
	int depth = 0;

	for (; i < pt->n; i++) {
		char c = pt->w[i][0];

		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			if (--depth == 0)
				return i;
	}
	abort(); /* unbalanced pattern in the table: a programming error */
}

static int word_node(const char *w, int next)
{
	static const struct {
		const char *label;
		uint8_t type;
	} args[] = {
		{"WORD", TT_WORD}, {"A.B.C.D", TT_IPV4}, {"X:X::X", TT_IPV6},
		{"ADDR", TT_ADDR}, {"X:X::X/M", TT_PREFIX6}, {"HEX", TT_HEX}, {"KEY", TT_KEY},
	};
	int id;

	if (strcmp(w, "LINE") == 0) {
		id = node_new(TT_LINE, -1, -1);
		nodes[id].kw = strdup("LINE");
		nodes[id].out1 = node_new(N_SPLIT, id, next);
		return id;
	}
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		if (strcmp(w, args[i].label) == 0) {
			id = node_new(args[i].type, next, -1);
			nodes[id].kw = strdup(w);
			return id;
		}
	}
	id = node_new(TT_KW, next, -1);
	nodes[id].kw = strdup(w);
	if (w[0] == '<') {
		nodes[id].kind = TT_NUM;
		if (sscanf(w, "<%lu-%lu>", &nodes[id].lo, &nodes[id].hi) != 2)
			abort();
	}
	return id;
}

static int build_span(const struct ptoks *pt, unsigned a, unsigned b, int next);

static int build_alt(const struct ptoks *pt, unsigned a, unsigned b, int next)
{
	unsigned starts[64], nb = 0, from = a;
	int depth = 0, head;

	for (unsigned i = a; i <= b; i++) {
		char c = i < b ? pt->w[i][0] : '|';

		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		if (c == '|' && depth == 0 && nb < 64) {
			starts[nb++] = (unsigned)build_span(pt, from, i, next);
			from = i + 1;
		}
	}
	head = (int)starts[nb - 1];
	for (unsigned i = nb - 1; i-- > 0;)
		head = node_new(N_SPLIT, (int)starts[i], head);
	return head;
}

static int build_span(const struct ptoks *pt, unsigned a, unsigned b, int next)
{
	unsigned ia[PT_MAX], ib[PT_MAX], ni = 0;

	for (unsigned i = a; i < b;) {
		char c = pt->w[i][0];
		unsigned j = (c == '{' || c == '[') ? close_of(pt, i) : i;

		ia[ni] = i;
		ib[ni++] = j + 1;
		i = j + 1;
	}
	while (ni-- > 0) {
		const char *w = pt->w[ia[ni]];

		if (w[0] == '{' && w[1] == '\0')
			next = build_alt(pt, ia[ni] + 1, ib[ni] - 1, next);
		else if (w[0] == '[' && w[1] == '\0')
			next = node_new(N_SPLIT, build_span(pt, ia[ni] + 1, ib[ni] - 1, next), next);
		else
			next = word_node(w, next);
	}
	return next;
}

static void grammar_init(void)
{
	struct ptoks *pt = malloc(sizeof(*pt));

	if (!pt)
		abort();
	for (int m = 0; m < MODE_COUNT; m++)
		roots[m] = -1;
	for (size_t i = 0; i < cfg_ncmds; i++) {
		int start, mode = cfg_cmds[i].mode;

		building_cmd = (int)i;
		pattern_split(cfg_cmds[i].pattern, pt);
		start = build_span(pt, 0, pt->n, node_new(N_MATCH, -1, -1));
		building_cmd = -1;
		roots[mode] = roots[mode] < 0 ? start : node_new(N_SPLIT, roots[mode], start);
	}
	free(pt);
}

/* ---- token classification -------------------------------------------- */

enum { LVL_NONE, LVL_WORD, LVL_PARTIAL, LVL_TYPED, LVL_EXACT };

static bool is_hex(const char *s)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static bool num_in(const char *s, uint64_t lo, uint64_t hi)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	return !*end && errno == 0 && v >= lo && v <= hi;
}

static bool is_prefix6(const char *s)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	struct in6_addr a;
	size_t n = slash ? (size_t)(slash - s) : 0;

	if (!slash || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1 && num_in(slash + 1, 0, 128);
}

static int tok_level(const struct gnode *g, const char *t)
{
	struct in6_addr a6;
	struct in_addr a4;
	bool v4 = inet_pton(AF_INET, t, &a4) == 1, v6 = inet_pton(AF_INET6, t, &a6) == 1;

	switch (g->kind) {
	case TT_KW:
		if (strcasecmp(g->kw, t) == 0)
			return LVL_EXACT;
		return strncasecmp(g->kw, t, strlen(t)) == 0 ? LVL_PARTIAL : LVL_NONE;
	case TT_NUM:
		return num_in(t, g->lo, g->hi) ? LVL_TYPED : LVL_NONE;
	case TT_IPV4:
		return v4 ? LVL_TYPED : LVL_NONE;
	case TT_IPV6:
		return v6 ? LVL_TYPED : LVL_NONE;
	case TT_ADDR:
		return v4 || v6 ? LVL_TYPED : LVL_NONE;
	case TT_PREFIX6:
		return is_prefix6(t) ? LVL_TYPED : LVL_NONE;
	case TT_HEX:
		return is_hex(t) ? LVL_TYPED : LVL_NONE;
	case TT_WORD:
	case TT_LINE:
	case TT_KEY:
		return LVL_WORD;
	}
	return LVL_NONE;
}

static void describe(const struct gnode *g, char *buf, size_t len)
{
	switch (g->kind) {
	case TT_KW:
		snprintf(buf, len, "%s", g->kw);
		break;
	case TT_NUM:
		snprintf(buf, len, "a number in %lu..%lu", (unsigned long)g->lo, (unsigned long)g->hi);
		break;
	case TT_IPV4:
		snprintf(buf, len, "an IPv4 address");
		break;
	case TT_IPV6:
		snprintf(buf, len, "an IPv6 address");
		break;
	case TT_ADDR:
		snprintf(buf, len, "an IPv4 or IPv6 address");
		break;
	case TT_PREFIX6:
		snprintf(buf, len, "an IPv6 prefix X:X::X/M");
		break;
	case TT_HEX:
		snprintf(buf, len, "a hex key");
		break;
	case TT_KEY:
		snprintf(buf, len, "a key");
		break;
	case N_MATCH:
		snprintf(buf, len, "end of line");
		break;
	default:
		snprintf(buf, len, "a name");
		break;
	}
}

/* ---- NFA simulation -------------------------------------------------- */

struct state {
	int node;
	uint16_t path[CFG_MAX_TOKENS];
};

struct sset {
	unsigned n;
	struct state *s; /* capacity nnodes */
	uint32_t *mark;  /* per node: generation it was added in */
	uint32_t gen;
};

static void add_state(struct sset *set, int node, const uint16_t *path, unsigned depth)
{
	struct gnode *g = &nodes[node];

	if (set->mark[node] == set->gen)
		return;
	set->mark[node] = set->gen;
	if (g->kind == N_SPLIT) {
		add_state(set, g->out1, path, depth);
		add_state(set, g->out2, path, depth);
		return;
	}
	if (g->kind == N_NOP) {
		add_state(set, g->out1, path, depth);
		return;
	}
	set->s[set->n].node = node;
	memcpy(set->s[set->n].path, path, depth * sizeof(uint16_t));
	set->n++;
}

struct sim {
	struct sset a, b;
	struct sset *cur, *nxt;
	uint32_t *mark;
	bool cached; /* the buffers are the shared cache's */
};

/* The state sets are nnodes entries each (~100 KB apiece): allocating and
 * zeroing them for every line dominated config loading (0.5 ms a line, 4 s
 * for a 1000-entry crypto map). One set of buffers is kept and reused by
 * whoever takes it first; a concurrent matcher allocates its own. Only
 * the mark array needs zeroing (states are written before they are read). */
static struct {
	pthread_mutex_t lock;
	bool busy;
	uint32_t *mark;
	struct state *a, *b;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

__attribute__((destructor)) static void cache_free(void)
{
	free(cache.mark);
	free(cache.a);
	free(cache.b);
	cache.mark = NULL;
	cache.a = cache.b = NULL;
}

static bool sim_alloc(struct sim *sm)
{
	bool mine = false;

	pthread_mutex_lock(&cache.lock);
	if (!cache.busy) {
		if (!cache.mark)
			cache.mark = malloc((size_t)nnodes * sizeof(uint32_t));
		if (!cache.a)
			cache.a = malloc((size_t)nnodes * sizeof(struct state));
		if (!cache.b)
			cache.b = malloc((size_t)nnodes * sizeof(struct state));
		if (cache.mark && cache.a && cache.b) {
			cache.busy = mine = true;
			sm->mark = cache.mark;
			sm->a.s = cache.a;
			sm->b.s = cache.b;
		}
	}
	pthread_mutex_unlock(&cache.lock);
	if (!mine) {
		sm->mark = malloc((size_t)nnodes * sizeof(uint32_t));
		sm->a.s = malloc((size_t)nnodes * sizeof(struct state));
		sm->b.s = malloc((size_t)nnodes * sizeof(struct state));
	}
	sm->cached = mine;
	if (!sm->mark || !sm->a.s || !sm->b.s)
		return false;
	memset(sm->mark, 0, (size_t)nnodes * sizeof(uint32_t));
	return true;
}

static bool sim_init(struct sim *sm, int mode)
{
	uint16_t nopath[1] = {0};

	pthread_once(&once, grammar_init);
	memset(sm, 0, sizeof(*sm));
	if (!sim_alloc(sm))
		return false;
	sm->a.mark = sm->b.mark = sm->mark;
	sm->cur = &sm->a;
	sm->nxt = &sm->b;
	sm->cur->gen = 1;
	if (roots[mode] >= 0)
		add_state(sm->cur, roots[mode], nopath, 0);
	return true;
}

static void sim_free(struct sim *sm)
{
	if (sm->cached) {
		pthread_mutex_lock(&cache.lock);
		cache.busy = false;
		pthread_mutex_unlock(&cache.lock);
		return;
	}
	free(sm->mark);
	free(sm->a.s);
	free(sm->b.s);
}

static void expected_list(const struct sset *set, char *buf, size_t len)
{
	char items[48][64];
	unsigned ni = 0, nkw = 0;
	size_t off;

	for (unsigned i = 0; i < set->n && ni < 48; i++) {
		char d[64];
		bool dup = false;

		describe(&nodes[set->s[i].node], d, sizeof(d));
		for (unsigned k = 0; k < ni; k++)
			dup = dup || strcmp(items[k], d) == 0;
		if (dup)
			continue;
		nkw += nodes[set->s[i].node].kind == TT_KW;
		snprintf(items[ni++], sizeof(items[0]), "%s", d);
	}
	if (ni == 1 && nkw == 0) {
		snprintf(buf, len, "expected %s", items[0]);
		return;
	}
	off = (size_t)snprintf(buf, len, "expected one of:");
	/* keywords first, space separated as IOS lists them; then the
	 * argument types */
	for (unsigned k = 0; k < ni && off < len; k++)
		if (strchr(items[k], ' ') == NULL)
			off += (size_t)snprintf(buf + off, len - off, " %s", items[k]);
	for (unsigned k = 0; k < ni && off < len; k++)
		if (strchr(items[k], ' '))
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						nkw ? ", or " : " ", items[k]);
}

static void set_err(struct cfg_error *err, int kind, unsigned col, const char *tok)
{
	err->kind = kind;
	err->col = col;
	snprintf(err->token, sizeof(err->token), "%s", tok);
}

/* Consume one token; false (with err filled) if nothing accepts it. */
static bool sim_step(struct sim *sm, const char *t, unsigned col, unsigned depth,
		     struct cfg_error *err)
{
	int best = LVL_NONE;
	const char *cand[16];
	unsigned ncand = 0;
	struct sset *cur = sm->cur, *nxt = sm->nxt;

	for (unsigned i = 0; i < cur->n; i++) {
		int l = nodes[cur->s[i].node].kind == N_MATCH ? LVL_NONE
							      : tok_level(&nodes[cur->s[i].node], t);
		best = l > best ? l : best;
	}
	if (best == LVL_NONE) {
		set_err(err, CFG_ERR_INVALID, col, t);
		expected_list(cur, err->msg, sizeof(err->msg));
		return false;
	}
	nxt->n = 0;
	nxt->gen = cur->gen + 1;
	for (unsigned i = 0; i < cur->n; i++) {
		struct gnode *g = &nodes[cur->s[i].node];
		bool dup = false;

		if (g->kind == N_MATCH || tok_level(g, t) != best)
			continue;
		if (best == LVL_PARTIAL) {
			for (unsigned k = 0; k < ncand; k++)
				dup = dup || strcmp(cand[k], g->kw) == 0;
			if (!dup && ncand < 16)
				cand[ncand++] = g->kw;
		}
		cur->s[i].path[depth] = (uint16_t)cur->s[i].node;
		add_state(nxt, g->out1, cur->s[i].path, depth + 1);
	}
	if (ncand > 1) {
		size_t off;

		set_err(err, CFG_ERR_AMBIGUOUS, col, t);
		off = (size_t)snprintf(err->msg, sizeof(err->msg), "ambiguous command: '%s' could be", t);
		for (unsigned k = 0; k < ncand && off < sizeof(err->msg); k++)
			off += (size_t)snprintf(err->msg + off, sizeof(err->msg) - off, " %s", cand[k]);
		return false;
	}
	sm->cur = nxt;
	sm->nxt = cur;
	return true;
}

static void fill_match(struct cmd_match *m, const struct state *st, int cmd, char toks[][128],
		       const unsigned *cols, unsigned n)
{
	m->cmd = cmd;
	m->n = n;
	for (unsigned i = 0; i < n; i++) {
		const struct gnode *g = &nodes[st->path[i]];

		snprintf(m->t[i].text, sizeof(m->t[i].text), "%s", toks[i]);
		m->t[i].kw = g->kind == TT_KW ? g->kw : NULL;
		m->t[i].type = g->kind;
		m->t[i].col = cols[i];
	}
}

/* At the end of the line: a complete command, or (for `no`) the single
 * command that the given prefix belongs to. */
static int sim_finish(struct sim *sm, char toks[][128], const unsigned *cols, unsigned n,
		      bool prefix_ok, struct cmd_match *m, struct cfg_error *err)
{
	const struct sset *cur = sm->cur;
	int cmd = -1;

	for (unsigned i = 0; i < cur->n; i++) {
		if (nodes[cur->s[i].node].kind == N_MATCH) {
			fill_match(m, &cur->s[i], nodes[cur->s[i].node].cmd, toks, cols, n);
			return 0;
		}
	}
	/* `no` with a prefix: the first command (in table order) it belongs to */
	for (unsigned i = 0; i < cur->n && prefix_ok && n > 0; i++) {
		if (cmd < 0 || nodes[cur->s[i].node].cmd < cmd) {
			cmd = nodes[cur->s[i].node].cmd;
			fill_match(m, &cur->s[i], cmd, toks, cols, n);
		}
	}
	if (cmd >= 0)
		return 0;
	char exp[200];

	set_err(err, CFG_ERR_INCOMPLETE,
		n ? cols[n - 1] + (unsigned)strlen(toks[n - 1]) + 1 : 1, "");
	expected_list(cur, exp, sizeof(exp));
	snprintf(err->msg, sizeof(err->msg), "incomplete command, %s", exp);
	return -1;
}

int grammar_match(int mode, char toks[][128], const unsigned *cols, unsigned n, bool prefix_ok,
		  struct cmd_match *m, struct cfg_error *err, unsigned *reached)
{
	struct sim sm;
	int ret = -1;

	*reached = 0;
	if (n > CFG_MAX_TOKENS) {
		set_err(err, CFG_ERR_INVALID, cols[CFG_MAX_TOKENS], toks[CFG_MAX_TOKENS]);
		snprintf(err->msg, sizeof(err->msg), "line too long");
		return -1;
	}
	if (!sim_init(&sm, mode)) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!sim_step(&sm, toks[i], cols[i], i, err))
			goto out;
		*reached = i + 1;
	}
	ret = sim_finish(&sm, toks, cols, n, prefix_ok, m, err);
out:
	sim_free(&sm);
	return ret;
}

static void help_add(struct cfg_help *out, unsigned *n, unsigned max, const char *w, const char *h)
{
	for (unsigned i = 0; i < *n; i++)
		if (strcmp(out[i].word, w) == 0)
			return;
	if (*n >= max)
		return;
	snprintf(out[*n].word, sizeof(out[0].word), "%s", w);
	snprintf(out[*n].help, sizeof(out[0].help), "%s", h ? h : "");
	(*n)++;
}

unsigned grammar_help(int mode, char toks[][128], unsigned n, bool partial, struct cfg_help *out,
		      unsigned max)
{
	struct sim sm;
	struct cfg_error err;
	unsigned full = partial && n ? n - 1 : n, nout = 0;

	memset(&sm, 0, sizeof(sm));
	if (n > CFG_MAX_TOKENS || !sim_init(&sm, mode))
		goto out;
	for (unsigned i = 0; i < full; i++)
		if (!sim_step(&sm, toks[i], 1, i, &err))
			goto out;
	for (unsigned i = 0; i < sm.cur->n; i++) {
		const struct gnode *g = &nodes[sm.cur->s[i].node];
		char d[64];

		if (g->kind == N_MATCH) {
			if (!partial)
				help_add(out, &nout, max, "<cr>", "");
			continue;
		}
		if (partial && tok_level(g, toks[n - 1]) == LVL_NONE)
			continue;
		describe(g, d, sizeof(d));
		if (g->kind == TT_KW)
			help_add(out, &nout, max, g->kw, cfg_kw_help(g->kw, g->cmd));
		else
			help_add(out, &nout, max, g->kw, d);
	}
out:
	sim_free(&sm);
	return nout;
}
