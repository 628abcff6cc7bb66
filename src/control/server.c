/* The control socket: a unix stream socket (mode 0600) on which `esprit`
 * sends command lines to espritd. Runs on the daemon's event_base (main
 * thread), one struct ctl_session per connection, so an interactive shell
 * keeps its configure-terminal mode across lines.
 *
 * Protocol (both ends are ours; text, so `socat` works for debugging):
 *
 *   Request: one line, at most CTL_LINE_MAX (8 KiB) bytes with its "\n":
 *     "T <command line>\n"   run the command, text reply
 *     "J <command line>\n"   run the command, JSON reply
 *     "C <partial line>\n"   completion: candidate words, one per line
 *     "P\n"                  nothing to run: just the status and prompt
 *     "+ <text>\n"           append one line to the session's data (the
 *                            text of `configure lines`); NO reply
 *   A command line ending in '?' is a help request (IOS `?`).
 *
 *   Reply (every request but "+"):
 *     <output bytes, any length, never a NUL byte>
 *     "\0" <status> " " <prompt> "\n"
 *   status is 0 (ok) or 1 (command error); prompt is the one for the
 *   session's mode after the command ("gwA(config-crypto-map)#").
 *
 * Requests may be pipelined; replies come in order. A line longer than
 * the limit gets an error reply and the connection is closed (the stream
 * cannot be resynchronised). More than CTL_DATA_MAX bytes of "+" data
 * fails the next command. When a client disconnects in configure-terminal
 * mode, the lines it typed are applied as at `end` (IOS behaviour). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/internal.h"
#include "lib/log.h"

#define CTL_MAX_CONNS 64

struct ctl_conn {
	struct ctl_server *srv;
	struct bufferevent *bev;
	struct ctl_session *s;
	bool closing;       /* free once the output is flushed */
	bool data_overflow; /* "+" data exceeded CTL_DATA_MAX */
	struct ctl_conn *next;
};

struct ctl_server {
	struct event_base *base;
	struct evconnlistener *lis;
	const struct ctl_ops *ops;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_conn *conns;
	unsigned nconns;
};

/* ---- connections ------------------------------------------------------------ */

static void conn_free(struct ctl_conn *c)
{
	struct ctl_conn **pp;

	for (pp = &c->srv->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->srv->nconns--;
	bufferevent_free(c->bev);
	ctl_session_free(c->s);
	free(c);
}

static void reply(struct ctl_conn *c, struct strbuf *out, int status)
{
	struct evbuffer *o = bufferevent_get_output(c->bev);
	char prompt[128];

	/* NUL is the terminator: never let one through inside the text. */
	for (size_t i = 0; i < out->len; i++)
		if (out->p[i] == '\0')
			out->p[i] = ' ';
	if (out->len)
		evbuffer_add(o, out->p, out->len);
	ctl_session_prompt(c->srv->ops, c->s, prompt, sizeof(prompt));
	evbuffer_add(o, "", 1);
	evbuffer_add_printf(o, "%d %s\n", status ? 1 : 0, prompt);
}

static void handle(struct ctl_conn *c, char *line)
{
	struct strbuf out = {0};
	char kind = line[0];
	const char *arg = line[0] && line[1] == ' ' ? line + 2 : line + (line[0] ? 1 : 0);
	int status = 0;

	switch (kind) {
	case '+':
		if (ctl_session_data_add(c->s, arg) < 0)
			c->data_overflow = true;
		return;
	case 'T':
	case 'J':
		if (c->data_overflow) {
			strbuf_printf(&out, "%% Configuration text too large (limit %d bytes)\n",
				      CTL_DATA_MAX);
			c->data_overflow = false;
			status = 1;
			break;
		}
		status = ctl_exec(c->srv->ops, c->s, arg, kind == 'J', &out);
		break;
	case 'C':
		ctl_complete(c->srv->ops, c->s, arg, &out);
		break;
	case 'P':
		break;
	default:
		strbuf_printf(&out, "%% Bad request\n");
		status = 1;
		break;
	}
	reply(c, &out, status);
	strbuf_free(&out);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	if (c->closing)
		return;
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF))) {
		if (n >= CTL_LINE_MAX || memchr(line, '\0', n)) {
			free(line);
			goto too_long;
		}
		handle(c, line);
		free(line);
	}
	if (evbuffer_get_length(in) < CTL_LINE_MAX)
		return;
too_long: {
	struct strbuf out = {0};
	strbuf_printf(&out, "%% Request line too long or malformed (limit %d bytes)\n",
		      CTL_LINE_MAX);
	reply(c, &out, 1);
	strbuf_free(&out);
	c->closing = true;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(bev, EV_READ);
}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;

	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *c = arg;
	(void)bev;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (ctl_session_in_config(c->s)) {
		struct strbuf out = {0};
		if (ctl_session_eof(c->srv->ops, c->s, &out))
			log_err("control: configuration at disconnect not applied:\n%s",
				out.p ? out.p : "");
		else
			log_notice("control: configuration applied at disconnect");
		strbuf_free(&out);
	}
	conn_free(c);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct ctl_server *srv = arg;
	struct ctl_conn *c;
	(void)lis;
	(void)sa;
	(void)salen;

	if (srv->nconns >= CTL_MAX_CONNS) {
		log_warn("control: too many connections, refusing one");
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->s = ctl_session_new()) ||
	    !(c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		if (c)
			ctl_session_free(c->s);
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	c->next = srv->conns;
	srv->conns = c;
	srv->nconns++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- listening ------------------------------------------------------------------ */

/* mkdir -p of the socket's directory (0755: the socket itself is 0600). */
static int make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A socket file left by a daemon that died is removed; one that answers
 * belongs to a running daemon and is left alone. */
static int clear_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(fd);
		errno = EADDRINUSE;
		return -1;
	}
	if (fd >= 0)
		close(fd);
	return unlink(sun->sun_path);
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (make_parent(path) < 0 || clear_stale(&sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	old = umask(0177); /* the file is created 0600: root only */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

struct ctl_server *ctl_server_new(struct event_base *base, const char *path,
				  const struct ctl_ops *ops)
{
	struct ctl_server *srv = calloc(1, sizeof(*srv));
	int fd;

	if (!srv)
		return NULL;
	if (strlen(path) >= sizeof(srv->path)) {
		log_err("control socket path too long: %s", path);
		free(srv);
		return NULL;
	}
	fd = listen_unix(path);
	if (fd < 0) {
		log_err("control socket %s: %s", path, strerror(errno));
		free(srv);
		return NULL;
	}
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	srv->base = base;
	srv->ops = ops;
	srv->lis = evconnlistener_new(base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!srv->lis) {
		close(fd);
		unlink(path);
		free(srv);
		return NULL;
	}
	return srv;
}

void ctl_server_free(struct ctl_server *srv)
{
	if (!srv)
		return;
	while (srv->conns)
		conn_free(srv->conns);
	evconnlistener_free(srv->lis);
	unlink(srv->path);
	free(srv);
}
