#include "lib/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static struct {
	bool to_stderr;
	bool to_syslog;
	enum log_level max;
	const char *ident;
} cfg = {true, false, LOG_LVL_INFO, "esprit"};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

void log_setup(const char *ident, bool to_stderr, bool to_syslog, enum log_level max)
{
	cfg.ident = ident;
	cfg.to_stderr = to_stderr;
	cfg.to_syslog = to_syslog;
	__atomic_store_n(&cfg.max, max, __ATOMIC_RELAXED);
	if (to_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_set_level(enum log_level max)
{
	__atomic_store_n(&cfg.max, max, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return __atomic_load_n(&cfg.max, __ATOMIC_RELAXED);
}

static const char *lvl_name[] = {"error", "warning", "notice", "info", "debug"};
static const int lvl_syslog[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (lvl > log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&out_lock);
	if (cfg.to_stderr) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%s]: %s\n", tm.tm_hour, tm.tm_min,
			tm.tm_sec, ts.tv_nsec / 1000000, cfg.ident, lvl_name[lvl], buf);
		fflush(stderr);
	}
	if (cfg.to_syslog)
		syslog(lvl_syslog[lvl], "%s", buf);
	pthread_mutex_unlock(&out_lock);
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_coarse_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec;
}

uint64_t now_realtime_s(void)
{
	return (uint64_t)time(NULL);
}

bool ratelimit_ok(struct ratelimit *rl)
{
	uint64_t now = now_ns();
	uint64_t last = __atomic_load_n(&rl->last_ns, __ATOMIC_RELAXED);
	uint64_t interval = rl->per_sec ? 1000000000ull / rl->per_sec : 1000000000ull;

	if (now - last >= interval &&
	    __atomic_compare_exchange_n(&rl->last_ns, &last, now, false, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED)) {
		uint64_t refill = last ? (now - last) / interval : rl->burst;
		uint32_t t = __atomic_load_n(&rl->tokens, __ATOMIC_RELAXED);
		uint64_t nt = t + refill;
		__atomic_store_n(&rl->tokens, (uint32_t)(nt > rl->burst ? rl->burst : nt),
				 __ATOMIC_RELAXED);
	}
	uint32_t t = __atomic_load_n(&rl->tokens, __ATOMIC_RELAXED);
	while (t > 0) {
		if (__atomic_compare_exchange_n(&rl->tokens, &t, t - 1, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return true;
	}
	__atomic_add_fetch(&rl->suppressed, 1, __ATOMIC_RELAXED);
	return false;
}
