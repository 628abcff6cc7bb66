/* Logging: levels, stderr and/or syslog, and rate limiting for anything
 * a network peer can trigger (STYLE.md 10). Never pass key material here. */
#ifndef ESPRIT_LIB_LOG_H
#define ESPRIT_LIB_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_setup(const char *ident, bool to_stderr, bool to_syslog, enum log_level max);
void log_set_level(enum log_level max);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_LVL_DEBUG)                                              \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                       \
	} while (0)

/* Token bucket: at most `burst` messages, refilled at `per_sec`. Thread
 * safe (atomics), so data-plane workers can share one per drop reason. */
struct ratelimit {
	uint32_t per_sec;
	uint32_t burst;
	uint64_t last_ns;   /* _Atomic via __atomic builtins */
	uint32_t tokens;
	uint64_t suppressed;
};

#define RATELIMIT_INIT(per, b) {.per_sec = (per), .burst = (b), .last_ns = 0, .tokens = (b), .suppressed = 0}

/* True if a message may be logged now. */
bool ratelimit_ok(struct ratelimit *rl);

#define log_rl(rl, lvl, ...)                                                                       \
	do {                                                                                       \
		if (ratelimit_ok(rl))                                                              \
			log_msg(lvl, __VA_ARGS__);                                                 \
	} while (0)

uint64_t now_ns(void);       /* CLOCK_MONOTONIC */
uint64_t now_coarse_s(void); /* CLOCK_MONOTONIC_COARSE, seconds: a few ns */
uint64_t now_realtime_s(void);

#endif
