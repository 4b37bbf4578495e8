/*
 * vaultd's log (log.h, spec/logging.md). A line is formatted whole into a
 * buffer and written with one call, so that lines from several threads
 * never interleave.
 */
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "http_req.h"

static _Atomic int dest = LOG_TO_STDERR;
static _Atomic int max_level = VLOG_INFO;

void
log_setup(enum log_dest d, enum log_level max)
{
	if (d == LOG_TO_SYSLOG)
		openlog("vaultd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	max_level = (int)max;
	dest = (int)d;
}

int
log_dest_parse(const char *name, enum log_dest *out)
{
	if (strcmp(name, "stderr") == 0)
		*out = LOG_TO_STDERR;
	else if (strcmp(name, "syslog") == 0)
		*out = LOG_TO_SYSLOG;
	else
		return -1;
	return 0;
}

const char *
log_dest_name(enum log_dest d)
{
	return d == LOG_TO_SYSLOG ? "syslog" : "stderr";
}

static void
vlog(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[LOG_LINE_MAX];

	if ((int)level > max_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (dest == LOG_TO_SYSLOG)
		syslog(prio[level], "%s", line);
	else
		fprintf(stderr, "vaultd: %s\n", line);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/*
 * 1 if s[0..len) holds "vt1_" in any case, its bytes percent-encoded or
 * not, however many times: the text is decoded until it no longer changes
 * (a few rounds; each one shortens it).
 */
static int
holds_token(const char *s, size_t len)
{
	char buf[HTTP_URL_MAX + 1];
	size_t n = 0;
	int changed = 1;

	if (len > HTTP_URL_MAX)
		len = HTTP_URL_MAX; /* longer targets are refused (414) before */
	for (size_t i = 0; i < len; i++)
		buf[n++] = (char)tolower((unsigned char)s[i]);
	while (changed) {
		size_t w = 0;
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			int hi, lo;
			if (buf[i] == '%' && i + 2 < n &&
			    (hi = hexval(buf[i + 1])) >= 0 && (lo = hexval(buf[i + 2])) >= 0) {
				buf[w++] = (char)tolower(hi * 16 + lo);
				i += 2;
				changed = 1;
			} else {
				buf[w++] = buf[i];
			}
		}
		n = w;
	}
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(buf + i, "vt1_", 4) == 0)
			return 1;
	return 0;
}

struct out {
	char *p;
	size_t cap, len;
};

static void
put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && o->len + 1 < o->cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		o->p[o->len++] = ch > 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	o->p[o->len] = '\0';
}

/* One path segment or query name: itself, or LOG_REDACTED. */
static void
put_part(struct out *o, const char *s, size_t n)
{
	if (holds_token(s, n))
		put(o, LOG_REDACTED, strlen(LOG_REDACTED));
	else
		put(o, s, n);
}

/* The query: each NAME[=VALUE] separated by '&' or ';' keeps its name
 * (redacted as a path segment is) and loses its value. */
static void
put_query(struct out *o, const char *q)
{
	while (*q != '\0') {
		size_t n = strcspn(q, "&;"), name = strcspn(q, "=&;");

		put_part(o, q, name);
		if (name < n) {
			put(o, "=", 1);
			put(o, LOG_REDACTED, strlen(LOG_REDACTED));
		}
		q += n;
		if (*q != '\0')
			put(o, q++, 1);
	}
}

char *
log_target(const char *target, char *out, size_t outlen)
{
	struct out o = {.p = out, .cap = outlen, .len = 0};
	const char *p = target;

	if (outlen == 0)
		return out;
	out[0] = '\0';
	for (;;) {
		size_t n = strcspn(p, "/?");
		put_part(&o, p, n);
		p += n;
		if (*p == '/') {
			put(&o, p++, 1);
			continue;
		}
		if (*p == '?') {
			put(&o, p++, 1);
			put_query(&o, p);
		}
		return out;
	}
}

void
log_request(const char *method, const char *target, int status, int all)
{
	char t[HTTP_URL_MAX + 64];

	if (!all && status < 500)
		return;
	if (target != NULL)
		log_target(target, t, sizeof(t));
	log_msg(status >= 500 ? VLOG_WARN : VLOG_INFO, "request %s %s %d",
	    method != NULL ? method : "-", target != NULL ? t : "-", status);
}
