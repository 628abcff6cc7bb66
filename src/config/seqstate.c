/* Manual SAs' outbound sequence numbers across restarts (seqstate.h). */
#include "config/seqstate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ipsec/sad.h"
#include "lib/log.h"
#include "lib/secret.h"

static const char *proto_name(uint8_t proto)
{
	return proto == IPSEC_PROTO_AH ? "ah" : "esp";
}

static bool parse_keyid(const char *hex, uint8_t out[SEQSTATE_KEYID_LEN])
{
	if (strlen(hex) != 2 * SEQSTATE_KEYID_LEN)
		return false;
	for (unsigned i = 0; i < SEQSTATE_KEYID_LEN; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1)
			return false;
	return strspn(hex, "0123456789abcdef") == 2 * SEQSTATE_KEYID_LEN;
}

/* "esp 0xSPI PEER SEQ [key=FINGERPRINT]" */
static bool parse_line(const char *line, struct seq_saved *s)
{
	char proto[8], addr[64], key[40], extra;
	uint32_t spi;
	uint64_t seq;
	int n = sscanf(line, "%7s 0x%" SCNx32 " %63s %" SCNu64 " key=%39s %c", proto, &spi, addr,
		       &seq, key, &extra);

	memset(s, 0, sizeof(*s));
	if (n == 4) {
		if (sscanf(line, "%*s %*s %*s %*s %c", &extra) == 1)
			return false; /* something other than key= after the number */
	} else if (n != 5) {
		return false;
	}
	if (strcmp(proto, "esp") == 0)
		s->proto = IPSEC_PROTO_ESP;
	else if (strcmp(proto, "ah") == 0)
		s->proto = IPSEC_PROTO_AH;
	else
		return false;
	s->spi = spi;
	s->seq = seq;
	if (n == 5) {
		if (!parse_keyid(key, s->keyid))
			return false;
		s->have_keyid = true;
	}
	return ip_addr_parse(addr, &s->dst);
}

static void put_secret(EVP_MD_CTX *md, uint16_t id, const struct secret *k)
{
	size_t len = k ? k->len : 0;
	uint8_t hdr[4] = {(uint8_t)(id >> 8), (uint8_t)id, (uint8_t)(len >> 8), (uint8_t)len};

	EVP_DigestUpdate(md, hdr, sizeof(hdr));
	if (len)
		EVP_DigestUpdate(md, k->p, len);
}

bool seqstate_keyid(uint8_t proto, uint16_t encr_id, const struct secret *encr_key,
		    uint16_t integ_id, const struct secret *integ_key,
		    uint8_t out[SEQSTATE_KEYID_LEN])
{
	static const char label[] = "esprit manual SA sequence counter";
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

	if (ok) {
		EVP_DigestUpdate(md, label, sizeof(label));
		EVP_DigestUpdate(md, &proto, 1);
		put_secret(md, encr_id, encr_key);
		put_secret(md, integ_id, integ_key);
		ok = EVP_DigestFinal_ex(md, d, &dlen) == 1 && dlen >= SEQSTATE_KEYID_LEN;
	}
	EVP_MD_CTX_free(md);
	if (ok)
		memcpy(out, d, SEQSTATE_KEYID_LEN);
	secret_wipe(d, sizeof(d));
	return ok;
}

static int push(struct seq_saved **arr, unsigned *n, const struct seq_saved *s)
{
	struct seq_saved *a = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!a)
		return -1;
	a[(*n)++] = *s;
	*arr = a;
	return 0;
}

int seqstate_open(struct seqstate *st, const char *path)
{
	char line[256];
	unsigned lineno = 0;
	FILE *f;

	memset(st, 0, sizeof(*st));
	snprintf(st->path, sizeof(st->path), "%s", path);
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			log_warn("%s: cannot read the saved sequence numbers: %s; manual SAs "
				 "start from 1", path, strerror(errno));
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		struct seq_saved s;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!parse_line(line, &s)) {
			log_warn("%s:%u: expected \"esp|ah 0xSPI PEER SEQUENCE [key=FINGERPRINT]\"; "
				 "line ignored", path, lineno);
			continue;
		}
		if (push(&st->saved, &st->nsaved, &s) < 0) {
			fclose(f);
			seqstate_close(st);
			return -1;
		}
	}
	fclose(f);
	if (st->nsaved)
		log_info("%s: saved sequence numbers of %u manual SA(s)", path, st->nsaved);
	return 0;
}

void seqstate_close(struct seqstate *st)
{
	free(st->saved);
	free(st->written);
	st->saved = st->written = NULL;
	st->nsaved = st->nwritten = 0;
}

void seqstate_saved_done(struct seqstate *st)
{
	free(st->saved);
	st->saved = NULL;
	st->nsaved = 0;
}

static const struct seq_saved *find(const struct seq_saved *a, unsigned n, uint8_t proto,
				    uint32_t spi, const struct ip_addr *dst)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i].proto == proto && a[i].spi == spi && ip_addr_eq(&a[i].dst, dst))
			return &a[i];
	return NULL;
}

uint64_t seqstate_find(const struct seqstate *st, const struct sa_params *p)
{
	uint8_t id[SEQSTATE_KEYID_LEN];
	bool have_id;
	uint64_t seq = 0;

	if (p->dir != SA_DIR_OUT || p->origin != SA_ORIGIN_MANUAL)
		return 0;
	have_id = seqstate_keyid(p->proto, p->encr_id, p->encr_key, p->integ_id, p->integ_key, id);
	for (unsigned i = 0; i < st->nsaved; i++) {
		const struct seq_saved *s = &st->saved[i];
		bool same_sa = s->spi == p->spi && ip_addr_eq(&s->dst, &p->dst);
		bool same_key = have_id && s->have_keyid && !memcmp(s->keyid, id, sizeof(id));

		if (s->proto == p->proto && (same_sa || same_key) && s->seq > seq)
			seq = s->seq;
	}
	return seq;
}

/* ---- writing ------------------------------------------------------------ */

struct live {
	struct seq_saved *a; /* [cap] what to write: the reservation (exact if final) */
	uint64_t *cur;       /* [cap] the last number sent */
	unsigned n, cap;
	bool final;
	bool keys; /* fill in the key fingerprints (for the file only) */
};

static void collect_live(struct sa *sa, void *arg)
{
	struct live *l = arg;
	uint64_t max = sa->p.esn ? UINT64_MAX : UINT32_MAX, seq;
	struct seq_saved *s;

	if (sa->p.dir != SA_DIR_OUT || sa->p.origin != SA_ORIGIN_MANUAL ||
	    (sa->p.proto != IPSEC_PROTO_ESP && sa->p.proto != IPSEC_PROTO_AH) || l->n == l->cap)
		return;
	seq = __atomic_load_n(&sa->seq_out, __ATOMIC_ACQUIRE);
	l->cur[l->n] = seq;
	s = &l->a[l->n++];
	s->proto = sa->p.proto;
	s->spi = sa->p.spi;
	s->dst = sa->p.dst;
	/* The reservation may not pass the counter's end: an SA started
	 * there would be dead at once (RFC 4303 3.3.3: no cycling). */
	s->seq = l->final ? seq : seq > max - SEQSTATE_MARGIN ? max : seq + SEQSTATE_MARGIN;
	if (l->keys)
		s->have_keyid = seqstate_keyid(sa->p.proto, sa->p.encr_id, sa->encr_key,
					       sa->p.integ_id, sa->integ_key, s->keyid);
}

/* The rename reaches the disk with the directory (a crash after it must
 * not bring the old file back: its numbers are below what was sent). */
static int fsync_dir(const char *path)
{
	char dir[sizeof(((struct seqstate *)0)->path)];
	const char *slash = strrchr(path, '/');
	int fd, r;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1,
		 slash ? path : ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

void seqstate_path(const char *sock, const char *default_sock, char *out, size_t len)
{
	const char *base = strrchr(sock, '/');
	size_t n;

	if (strcmp(sock, default_sock) != 0) {
		n = strlen(sock);
		if (n > 5 && strcmp(sock + n - 5, ".sock") == 0)
			n -= 5;
		snprintf(out, len, "%.*s.seq", (int)n, sock);
		return;
	}
	base = base ? base + 1 : sock;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".sock") == 0)
		n -= 5;
	snprintf(out, len, "%s/%.*s.seq", SEQSTATE_DIR, (int)n, base);
}

static int write_file(const char *path, const struct seq_saved *a, unsigned n)
{
	char tmp[sizeof(((struct seqstate *)0)->path) + 8], b[IP_ADDR_STRLEN];
	FILE *f;
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	fprintf(f, "# espritd: outbound sequence numbers of manual SAs (RFC 4303 3.3.3)\n");
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "%s 0x%08" PRIx32 " %s %" PRIu64, proto_name(a[i].proto), a[i].spi,
			ip_addr_str(&a[i].dst, b), a[i].seq);
		if (a[i].have_keyid) {
			fputs(" key=", f);
			for (unsigned j = 0; j < SEQSTATE_KEYID_LEN; j++)
				fprintf(f, "%02x", a[i].keyid[j]);
		}
		fputc('\n', f);
	}
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return fsync_dir(path);
}

int seqstate_sync(struct seqstate *st, struct sad *sad, bool final)
{
	/* sad_count is read before the walk: SAs are installed by this
	 * (the main) thread only, so the count holds during it. */
	struct live l = {.final = final, .cap = sad_count(sad)};
	bool need;

	l.a = calloc(l.cap ? l.cap : 1, sizeof(*l.a));
	l.cur = calloc(l.cap ? l.cap : 1, sizeof(*l.cur));
	if (!l.a || !l.cur) {
		free(l.a);
		free(l.cur);
		return -1;
	}
	sad_foreach(sad, collect_live, &l);
	need = final || l.n != st->nwritten;
	for (unsigned i = 0; i < l.n && !need; i++) {
		/* The walk's order is the last write's unless SAs changed:
		 * the same index first, a search otherwise. */
		const struct seq_saved *w = &st->written[i];
		if (w->proto != l.a[i].proto || w->spi != l.a[i].spi ||
		    !ip_addr_eq(&w->dst, &l.a[i].dst))
			w = find(st->written, st->nwritten, l.a[i].proto, l.a[i].spi, &l.a[i].dst);
		need = !w || l.cur[i] + SEQSTATE_MARGIN / 2 > w->seq;
	}
	if (!need) {
		free(l.cur);
		free(l.a);
		return 0;
	}
	/* The file is written: walk again with the key fingerprints, a hash
	 * per SA that the once-a-second check above does without (the
	 * numbers read again are the same or newer). */
	l.n = 0;
	l.keys = true;
	sad_foreach(sad, collect_live, &l);
	free(l.cur);
	if (write_file(st->path, l.a, l.n) < 0) {
		log_warn("%s: cannot write the manual SAs' sequence numbers: %s", st->path,
			 strerror(errno));
		free(l.a);
		return -1;
	}
	free(st->written);
	st->written = l.a;
	st->nwritten = l.n;
	return 0;
}
