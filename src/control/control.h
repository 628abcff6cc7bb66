/* Control plane interface: the daemon exposes its state to the command
 * dispatcher through struct ctl_ops; the server speaks to `esprit` over a
 * unix stream socket. The dispatcher (exec.c) is also callable directly
 * (tests, and espritd's own start-up checks). */
#ifndef ESPRIT_CONTROL_CONTROL_H
#define ESPRIT_CONTROL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct sad;
struct dp;
struct ikev2;
struct event_base;

/* What the daemon lends the control layer. All pointers are borrowed and
 * valid for the duration of one command (the main thread runs both). */
struct ctl_ops {
	const struct config *(*running)(void *arg);
	/* Replace the running config (takes ownership of c on success AND on
	 * failure). Returns 0, or -1 with a message in err. */
	int (*apply)(void *arg, struct config *c, char *err, size_t errlen);
	struct sad *(*sad)(void *arg);
	struct dp *(*dp)(void *arg);      /* may return NULL (no data plane yet) */
	const char *(*config_path)(void *arg);
	/* Optional: reload from the file (SIGHUP equivalent). */
	int (*reload)(void *arg, char *err, size_t errlen);
	/* Optional: the IKEv2 engine, for show/clear crypto ikev2 (NULL ok). */
	struct ikev2 *(*ikev2)(void *arg);
	void *arg;
};

/* Growable output buffer. */
struct strbuf {
	char *p;
	size_t len, cap;
};
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_free(struct strbuf *b);

/* Per-connection session: mode stack and pending configure-terminal lines. */
struct ctl_session;
struct ctl_session *ctl_session_new(void);
void ctl_session_free(struct ctl_session *s);

/* Run one command line. Output (text, or JSON when json) goes to out.
 * Returns 0 on success, 1 on a command error (message in out). */
int ctl_exec(const struct ctl_ops *ops, struct ctl_session *s, const char *line, bool json,
	     struct strbuf *out);

/* TAB completion: the words that can complete the last (partial) word of
 * line in the session's current mode, one per output line, keywords only
 * (argument placeholders such as A.B.C.D are left out). Returns how many. */
unsigned ctl_complete(const struct ctl_ops *ops, struct ctl_session *s, const char *line,
		      struct strbuf *out);

/* The prompt for the session's current mode: "gwA#", "gwA(config)#",
 * "gwA(config-crypto-map)#". */
void ctl_session_prompt(const struct ctl_ops *ops, const struct ctl_session *s, char *buf,
			size_t len);
bool ctl_session_in_config(const struct ctl_session *s);

/* Multi-line input for `configure lines`: each call appends one line to
 * the session's pending text (bounded: returns -1 once it would exceed
 * CTL_DATA_MAX). The next `configure lines` consumes it. */
#define CTL_DATA_MAX (1024 * 1024)
int ctl_session_data_add(struct ctl_session *s, const char *line);

/* The client went away (EOF): in configure-terminal mode, the pending
 * lines are applied as at `end` (IOS applies what was typed). Returns as
 * ctl_exec. */
int ctl_session_eof(const struct ctl_ops *ops, struct ctl_session *s, struct strbuf *out);

/* Listen on path (created with mode 0600, parent directory created). */
struct ctl_server;
struct ctl_server *ctl_server_new(struct event_base *base, const char *path,
				  const struct ctl_ops *ops);
void ctl_server_free(struct ctl_server *srv); /* closes and unlinks */

#endif
