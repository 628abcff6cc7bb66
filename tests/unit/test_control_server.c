/* The control socket server, spoken to over a real unix socket in one
 * thread (the event loop is stepped while the test waits for replies):
 * socket mode, framing (text, NUL, status, prompt), pipelining, sessions
 * per connection, "+" data, over-long lines, apply at disconnect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <urcu.h>

#include "config/model.h"
#include "control/control.h"
#include "ipsec/sad.h"
#include "lib/log.h"

#define EXAMPLE "examples/manual-esp-cbc-sha256-gwA.cfg"

struct fake {
	struct config *running;
	struct sad *sad;
	unsigned applies;
};

static const struct config *f_running(void *arg)
{
	return ((struct fake *)arg)->running;
}

static int f_apply(void *arg, struct config *c, char *err, size_t errlen)
{
	struct fake *f = arg;
	(void)err;
	(void)errlen;
	f->applies++;
	config_free(f->running);
	f->running = c;
	return 0;
}

static struct sad *f_sad(void *arg)
{
	return ((struct fake *)arg)->sad;
}

struct t {
	struct fake f;
	struct ctl_ops ops;
	struct event_base *base;
	struct ctl_server *srv;
	char dir[48], path[96];
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct cfg_error ce;

	rcu_register_thread();
	t->f.running = config_load_file(EXAMPLE, &ce);
	assert_non_null(t->f.running);
	t->f.sad = sad_new(1);
	t->ops = (struct ctl_ops){.running = f_running, .apply = f_apply, .sad = f_sad,
				  .arg = &t->f};
	snprintf(t->dir, sizeof(t->dir), "/tmp/esprit-ctl-test-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	/* a parent directory that does not exist yet */
	snprintf(t->path, sizeof(t->path), "%s/sub/ctl.sock", t->dir);
	t->base = event_base_new();
	t->srv = ctl_server_new(t->base, t->path, &t->ops);
	assert_non_null(t->srv);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	char sub[96];

	ctl_server_free(t->srv);
	event_base_free(t->base);
	snprintf(sub, sizeof(sub), "%s/sub", t->dir);
	rmdir(sub);
	rmdir(t->dir);
	sad_free(t->f.sad);
	config_free(t->f.running);
	free(t);
	rcu_unregister_thread();
	return 0;
}

static int client(struct t *t)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", t->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Step the loop until `replies` complete replies (NUL + status line) have
 * arrived or the peer closed. Returns the bytes read (NUL-terminated). */
static char *wait_replies(struct t *t, int fd, unsigned replies, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);

	for (int i = 0; i < 2000; i++) {
		unsigned seen = 0;
		ssize_t r;

		event_base_loop(t->base, EVLOOP_NONBLOCK);
		r = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
		if (r == 0)
			break;
		if (r > 0)
			n += (size_t)r;
		for (size_t k = 0; k < n; k++)
			if (buf[k] == '\0' && memchr(buf + k, '\n', n - k))
				seen++;
		if (seen >= replies)
			break;
		if (r < 0)
			usleep(1000);
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void test_socket_mode(void **state)
{
	struct t *t = *state;
	struct stat st;

	assert_int_equal(stat(t->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a second server on the same live socket is refused */
	assert_null(ctl_server_new(t->base, t->path, &t->ops));
}

static void test_framing_and_pipelining(void **state)
{
	struct t *t = *state;
	int fd = client(t);
	size_t n;
	char *r;

	send_str(fd, "T show access-lists\nP\nT bogus\nC sh cry ip\n");
	r = wait_replies(t, fd, 4, &n);
	/* reply 1: the text, NUL, "0 gwA#\n" */
	assert_non_null(strstr(r, "Extended IP access list 101"));
	size_t l1 = strlen(r);
	assert_true(l1 < n);
	assert_memory_equal(r + l1 + 1, "0 gwA#\n", 7);
	/* reply 2: empty text */
	const char *r2 = r + l1 + 1 + 7;
	assert_int_equal(r2[0], '\0');
	assert_memory_equal(r2 + 1, "0 gwA#\n", 7);
	/* reply 3: an error, status 1 */
	const char *r3 = r2 + 8;
	assert_non_null(strstr(r3, "% Invalid input"));
	const char *st3 = r3 + strlen(r3) + 1;
	assert_memory_equal(st3, "1 gwA#\n", 7);
	/* reply 4: completion */
	const char *r4 = st3 + 7;
	assert_string_equal(r4, "ipsec\n");
	free(r);
	close(fd);
}

static void test_session_per_connection(void **state)
{
	struct t *t = *state;
	int a = client(t), b = client(t);
	size_t n;
	char *r;

	send_str(a, "T configure terminal\nT hostname gwS\n");
	r = wait_replies(t, a, 2, &n);
	assert_non_null(memmem(r, n, "0 gwA(config)#\n", 15));
	free(r);
	/* b is still in exec mode, and sees the old hostname */
	send_str(b, "T show running-config | include hostname\n");
	r = wait_replies(t, b, 1, &n);
	assert_non_null(strstr(r, "hostname gwA\n"));
	assert_non_null(strstr(r + strlen(r) + 1, "0 gwA#"));
	free(r);
	/* a disconnects in config mode: what it typed is applied */
	close(a);
	for (int i = 0; i < 200 && t->f.applies == 0; i++) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	assert_int_equal(t->f.applies, 1);
	assert_string_equal(t->f.running->hostname, "gwS");
	close(b);
}

static void test_data_lines(void **state)
{
	struct t *t = *state;
	int fd = client(t);
	size_t n;
	char *r;

	send_str(fd, "+ hostname gwD\n+ crypto ipsec transform-set T9 esp-aes esp-sha-hmac\n"
		     "J configure lines\n");
	r = wait_replies(t, fd, 1, &n);
	assert_non_null(strstr(r, "\"applied\""));
	assert_string_equal(t->f.running->hostname, "gwD");
	assert_non_null(config_transform_set(t->f.running, "T9"));
	free(r);
	close(fd);
}

static void test_long_line(void **state)
{
	struct t *t = *state;
	int fd = client(t);
	size_t n, big = 20000;
	char *line = malloc(big + 3), *r;

	memset(line, 'x', big + 2);
	line[0] = 'T';
	line[1] = ' ';
	line[big + 2] = '\0';
	send(fd, line, big + 2, MSG_NOSIGNAL);
	r = wait_replies(t, fd, 1, &n);
	assert_non_null(strstr(r, "too long"));
	assert_non_null(strstr(r + strlen(r) + 1, "1 "));
	free(r);
	free(line);
	close(fd);
	/* the server still serves others */
	fd = client(t);
	send_str(fd, "T show version\n");
	r = wait_replies(t, fd, 1, &n);
	assert_non_null(strstr(r, "esprit"));
	free(r);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_framing_and_pipelining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_per_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
	};
	log_setup("test_control_server", true, false, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
