/* esprit: the command-line client of espritd's control socket.
 *
 *   esprit [--socket PATH] [--json] COMMAND...   run one command
 *   esprit [--socket PATH] configure < FILE      apply FILE's lines at once
 *   esprit                                       interactive shell (a tty)
 *   ... | esprit                                 run stdin's lines in one session
 *
 * Exit status: 0 ok, 1 a command failed, 2 the daemon is unreachable.
 * The protocol is described at the top of src/control/server.c; this
 * client needs only it and libedit. */
#include <errno.h>
#include <getopt.h>
#include <histedit.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/esprit/espritd.sock"
#define LINE_MAX_BYTES 8000 /* below the server's 8 KiB request limit */

struct conn {
	int fd;
	const char *path;
	char buf[65536];
	size_t len, off;
	char prompt[256];
};

static struct conn g_conn;
static bool g_json;

/* ---- socket --------------------------------------------------------------------- */

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	c->path = path;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "esprit: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "esprit: cannot connect to espritd at %s: %s (is espritd running? "
				"--socket or ESPRIT_SOCKET select another socket)\n",
			path, strerror(errno));
		return -1;
	}
	return 0;
}

static int send_all(struct conn *c, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "esprit: lost the connection to %s: %s\n", c->path,
				strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send "K text\n"; a line with a newline or over the limit is refused
 * here, as the server would. */
static int send_req(struct conn *c, char kind, const char *text)
{
	size_t len = strlen(text);
	char *req;
	int ret;

	if (len > LINE_MAX_BYTES || strchr(text, '\n')) {
		fprintf(stderr, "esprit: line too long (limit %d bytes)\n", LINE_MAX_BYTES);
		return -1;
	}
	req = malloc(len + 4);
	if (!req)
		return -1;
	req[0] = kind;
	req[1] = ' ';
	memcpy(req + 2, text, len);
	req[len + 2] = '\n';
	ret = send_all(c, req, len + 3);
	free(req);
	return ret;
}

static int fill(struct conn *c)
{
	ssize_t n;

	if (c->off == c->len)
		c->off = c->len = 0;
	if (c->len == sizeof(c->buf)) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	do
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		fprintf(stderr, "esprit: espritd closed the connection on %s\n", c->path);
		return -1;
	}
	c->len += (size_t)n;
	return 0;
}

/* Read one reply: the text goes to out (or into *text if text != NULL),
 * then "\0STATUS PROMPT\n". Returns the status, or -1. */
static int read_reply(struct conn *c, FILE *out, char **text)
{
	size_t tlen = 0;
	char *status_line;
	int status;

	if (text)
		*text = NULL;
	for (;;) {
		char *nul;
		if (c->off == c->len && fill(c) < 0)
			return -1;
		nul = memchr(c->buf + c->off, '\0', c->len - c->off);
		size_t n = nul ? (size_t)(nul - (c->buf + c->off)) : c->len - c->off;
		if (text) {
			char *t = realloc(*text, tlen + n + 1);
			if (!t)
				return -1;
			memcpy(t + tlen, c->buf + c->off, n);
			tlen += n;
			t[tlen] = '\0';
			*text = t;
		} else if (out) {
			fwrite(c->buf + c->off, 1, n, out);
		}
		c->off += n;
		if (nul) {
			c->off++;
			break;
		}
	}
	/* the status line */
	for (;;) {
		char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl) {
			*nl = '\0';
			status_line = c->buf + c->off;
			c->off = (size_t)(nl - c->buf) + 1;
			break;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (fill(c) < 0)
			return -1;
	}
	status = status_line[0] == '0' ? 0 : 1;
	snprintf(c->prompt, sizeof(c->prompt), "%s", status_line[1] ? status_line + 2 : "");
	if (out)
		fflush(out);
	return status;
}

static int run_line(struct conn *c, const char *line)
{
	if (send_req(c, g_json ? 'J' : 'T', line) < 0)
		return -1;
	return read_reply(c, stdout, NULL);
}

static bool in_config(const struct conn *c)
{
	return strchr(c->prompt, '(') != NULL;
}

/* ---- one-shot forms ----------------------------------------------------------- */

/* esprit configure < FILE: every line is sent as data, then applied in
 * one piece by `configure lines` (nothing changes on an error). */
static int configure_stdin(struct conn *c)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (send_req(c, '+', line) < 0) {
			free(line);
			return 1;
		}
	}
	free(line);
	return run_line(c, "configure lines") == 0 ? 0 : 1;
}

/* Lines from a pipe, in one session: `printf 'conf t\n...\nend\n' | esprit`. */
static int run_stdin(struct conn *c)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	if (send_req(c, 'P', "") < 0 || read_reply(c, NULL, NULL) < 0)
		return 2;
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		int st = run_line(c, line);
		if (st < 0) {
			free(line);
			return 2;
		}
		if (st)
			ret = 1;
	}
	free(line);
	if (in_config(c)) {
		int st = run_line(c, "end");
		if (st)
			ret = st < 0 ? 2 : 1;
	}
	return ret;
}

/* ---- interactive shell ---------------------------------------------------------- */

static char *prompt_fn(EditLine *el)
{
	(void)el;
	return g_conn.prompt;
}

/* The text before the cursor. */
static char *line_before_cursor(EditLine *el)
{
	const LineInfo *li = el_line(el);
	size_t n = (size_t)(li->cursor - li->buffer);

	return strndup(li->buffer, n);
}

/* '?': ask the daemon for help on the line so far; the line stays. */
static unsigned char help_key(EditLine *el, int ch)
{
	char *l = line_before_cursor(el), *req = NULL;
	(void)ch;

	if (!l || asprintf(&req, "%s?", l) < 0) {
		free(l);
		return CC_ERROR;
	}
	printf("?\n");
	if (send_req(&g_conn, 'T', req) == 0)
		read_reply(&g_conn, stdout, NULL);
	free(req);
	free(l);
	return CC_REDISPLAY;
}

static size_t common_prefix(char **w, unsigned n)
{
	size_t len = strlen(w[0]);

	for (unsigned i = 1; i < n; i++) {
		size_t k = 0;
		while (k < len && w[i][k] && w[i][k] == w[0][k])
			k++;
		len = k;
	}
	return len;
}

/* TAB: complete the word under the cursor from the daemon's grammar. */
static unsigned char complete_key(EditLine *el, int ch)
{
	char *l = line_before_cursor(el), *text = NULL, *w[128], *save = NULL;
	unsigned n = 0;
	unsigned char ret = CC_REFRESH_BEEP;
	(void)ch;

	if (!l || send_req(&g_conn, 'C', l) < 0 || read_reply(&g_conn, NULL, &text) < 0 || !text)
		goto out;
	for (char *t = strtok_r(text, "\n", &save); t && n < 128; t = strtok_r(NULL, "\n", &save))
		w[n++] = t;
	if (n == 0)
		goto out;
	const char *sp = strrchr(l, ' ');
	size_t have = strlen(sp ? sp + 1 : l);
	size_t common = common_prefix(w, n);
	if (n == 1) {
		el_insertstr(el, w[0] + (have < strlen(w[0]) ? have : strlen(w[0])));
		el_insertstr(el, " ");
		ret = CC_REFRESH;
	} else if (common > have) {
		char *ins = strndup(w[0] + have, common - have);
		if (ins)
			el_insertstr(el, ins);
		free(ins);
		ret = CC_REFRESH;
	} else {
		printf("\n");
		for (unsigned i = 0; i < n; i++)
			printf("%-20s%s", w[i], (i % 4 == 3 || i + 1 == n) ? "\n" : "");
		ret = CC_REDISPLAY;
	}
out:
	free(text);
	free(l);
	return ret;
}

/* Ctrl-Z: leave configuration mode, applying the changes (IOS). */
static unsigned char ctrlz_key(EditLine *el, int ch)
{
	(void)el;
	(void)ch;
	if (!in_config(&g_conn))
		return CC_REFRESH_BEEP;
	printf("^Z\n");
	run_line(&g_conn, "end");
	return CC_REDISPLAY;
}

/* Ctrl-C: forget the line being typed. */
static unsigned char cancel_key(EditLine *el, int ch)
{
	const LineInfo *li = el_line(el);
	(void)ch;

	el_cursor(el, (int)(li->lastchar - li->cursor));
	el_deletestr(el, (int)(li->lastchar - li->buffer));
	printf("^C\n");
	return CC_REDISPLAY;
}

static bool is_quit(const char *l)
{
	return !strcmp(l, "exit") || !strcmp(l, "quit") || !strcmp(l, "logout");
}

static int shell(struct conn *c, const char *argv0)
{
	EditLine *el;
	History *hist;
	HistEvent ev;
	int count;

	struct termios saved;
	bool restore = false;

	if (send_req(c, 'P', "") < 0 || read_reply(c, NULL, NULL) < 0)
		return 2;
	if (tcgetattr(STDIN_FILENO, &saved) == 0)
		restore = true;
	el = el_init(argv0, stdin, stdout, stderr);
	hist = history_init();
	if (!el || !hist)
		return 1;
	history(hist, &ev, H_SETSIZE, 500);
	el_set(el, EL_HIST, history, hist);
	el_set(el, EL_PROMPT, prompt_fn);
	el_set(el, EL_EDITOR, "emacs");
	el_set(el, EL_ADDFN, "esprit-help", "Help on the command so far", help_key);
	el_set(el, EL_ADDFN, "esprit-complete", "Complete the word", complete_key);
	el_set(el, EL_ADDFN, "esprit-end", "Leave configuration mode", ctrlz_key);
	el_set(el, EL_BIND, "?", "esprit-help", NULL);
	el_set(el, EL_BIND, "^I", "esprit-complete", NULL);
	el_set(el, EL_BIND, "^Z", "esprit-end", NULL);
	el_set(el, EL_BIND, "^U", "em-kill-line", NULL);
	/* Ctrl-Z is `end` and Ctrl-C drops the line, as on IOS: while
	 * editing, they are characters, not job-control or kill signals. */
	el_set(el, EL_SETTY, "-d", "-isig", NULL);
	el_set(el, EL_ADDFN, "esprit-cancel", "Drop the line", cancel_key);
	el_set(el, EL_BIND, "^C", "esprit-cancel", NULL);

	for (;;) {
		const char *in = el_gets(el, &count);
		char *l;

		if (!in) {
			/* Ctrl-D: leave config mode first (applying), then the shell */
			printf("\n");
			if (!in_config(c))
				break;
			if (run_line(c, "end") < 0)
				break;
			continue;
		}
		l = strdup(in);
		if (!l)
			break;
		l[strcspn(l, "\r\n")] = '\0';
		if (l[strspn(l, " \t")] == '\0') {
			free(l);
			continue;
		}
		history(hist, &ev, H_ENTER, l);
		if (!in_config(c) && is_quit(l)) {
			free(l);
			break;
		}
		int st = run_line(c, l);
		free(l);
		if (st < 0)
			break;
	}
	history_end(hist);
	el_end(el);
	if (restore)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: esprit [--socket PATH] [--json] [COMMAND...]\n"
		   "  COMMAND         an exec command, e.g. show crypto ipsec sa\n"
		   "  configure       (with no more words) apply the lines on stdin as one change\n"
		   "  (none)          interactive shell on a terminal; else run stdin's lines\n"
		   "  --socket PATH   control socket (default $ESPRIT_SOCKET, else %s)\n"
		   "  --json          JSON output for show commands\n",
		   DEFAULT_SOCKET);
}

static char *join_words(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = getenv("ESPRIT_SOCKET");
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'j':
			g_json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || !path[0])
		path = DEFAULT_SOCKET;
	if (conn_open(&g_conn, path) < 0)
		return 2;
	if (optind < argc) {
		char *line = join_words(argc - optind, argv + optind);
		if (!line)
			return 1;
		if (strcmp(line, "configure") == 0)
			ret = configure_stdin(&g_conn);
		else
			ret = run_line(&g_conn, line);
		free(line);
		ret = ret < 0 ? 2 : ret;
	} else if (isatty(STDIN_FILENO)) {
		ret = shell(&g_conn, argv[0]);
	} else {
		ret = run_stdin(&g_conn);
	}
	close(g_conn.fd);
	return ret;
}
