#ifndef LOG_H
#define LOG_H
/*
 * vaultd's log (spec/logging.md): levels, one destination (stderr or
 * syslog), and one line per request in a stable format with the redaction
 * built in, so that no bearer token and no query-string value ever reaches
 * the log. Every function is thread-safe: handler threads, the loop and
 * the engines log at once, and each line is written whole.
 */
#include <stddef.h>

enum log_level {
	VLOG_ERROR = 0, /* the daemon or a request failed on its own side */
	VLOG_WARN,      /* something an operator should look at */
	VLOG_INFO,      /* start-up, reloads, engine runs, request lines */
	VLOG_DEBUG,
};

enum log_dest {
	LOG_TO_STDERR = 0, /* "vaultd: MESSAGE" lines (the default) */
	LOG_TO_SYSLOG,     /* syslog(3), ident "vaultd", facility daemon */
};

/* The longest line written; a longer message is cut. */
#define LOG_LINE_MAX 2048
/* What replaces a redacted path segment or query value. */
#define LOG_REDACTED "<redacted>"

/*
 * Sends lines of level at most max to dest from now on (the default is
 * stderr and VLOG_INFO). Opening syslog twice is harmless. Call it from
 * the loop thread (at start-up or on a reload).
 */
void log_setup(enum log_dest dest, enum log_level max);

/*
 * Parses a destination name, "stderr" or "syslog". Returns 0 and *out, or
 * -1 for any other word.
 */
int log_dest_parse(const char *name, enum log_dest *out);

/* The name of a destination, "stderr" or "syslog". */
const char *log_dest_name(enum log_dest dest);

/* Logs one line at level, printf-style (no newline needed). Messages must
 * never hold a secret: request data goes through log_request() or
 * log_target(). */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Writes target (a request target as it arrived, NUL-terminated) to out
 * (outlen bytes, always NUL-terminated, cut if need be) with the redaction
 * of spec/logging.md: every query value becomes LOG_REDACTED; a path
 * segment or query name that holds "vt1_" (any case, percent-encoded or
 * not) becomes LOG_REDACTED; bytes outside printable ASCII and spaces
 * become '?'. Returns out.
 */
char *log_target(const char *target, char *out, size_t outlen);

/*
 * The request line of spec/logging.md: "request METHOD TARGET STATUS",
 * TARGET through log_target(). method or target NULL (a request that could
 * not be parsed): "-". A status of 500 or more is logged at VLOG_WARN
 * always; others at VLOG_INFO, only when all is 1 (vaultd -v).
 */
void log_request(const char *method, const char *target, int status, int all);

#endif
