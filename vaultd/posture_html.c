/*
 * The posture page (posture.h, posture_html): one self-contained HTML page,
 * no scripts and no external assets, so it renders the same from a file, a
 * proxy or a headless browser. Every string from the report is escaped.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "posture.h"

struct out {
	char *buf;
	size_t len, cap;
	int oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (o->oom)
			return;
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 + (size_t)n;
		char *grown = realloc(o->buf, cap);
		if (grown == NULL) {
			o->oom = 1;
			return;
		}
		o->buf = grown;
		o->cap = cap;
	}
}

/* Writes s with &, <, >, " and ' escaped. */
static void
esc(struct out *o, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&': put(o, "&amp;"); break;
		case '<': put(o, "&lt;"); break;
		case '>': put(o, "&gt;"); break;
		case '"': put(o, "&quot;"); break;
		case '\'': put(o, "&#39;"); break;
		default: put(o, "%c", *s); break;
		}
	}
}

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s != NULL ? s : "";
}

static long long
jnum(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* A Unix time as UTC, or "never". */
static void
when(struct out *o, const json_t *t)
{
	char buf[32];
	time_t tt;
	struct tm tm;

	if (!json_is_integer(t)) {
		put(o, "never");
		return;
	}
	tt = (time_t)json_integer_value(t);
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ",
	    &tm) == 0) {
		put(o, "?");
		return;
	}
	put(o, "%s", buf);
}

static void
size(struct out *o, long long b)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b;
	size_t i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		put(o, "%lld B", b);
	else
		put(o, "%.1f %s", v, units[i]);
}

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#1d232a;background:#f7f8fa}"
    "h1{font-size:1.4em;margin:0 0 .2em}p.sub{color:#5b6570;margin:0 0 1em}"
    "table{border-collapse:collapse;width:100%;background:#fff;font-size:.9em}"
    "th,td{border:1px solid #d6dbe1;padding:.4em .6em;text-align:left;vertical-align:top}"
    "th{background:#eef1f4}td.num{text-align:right;white-space:nowrap}"
    ".ok{background:#1e8e3e;color:#fff}.bad{background:#c5221f;color:#fff}"
    "td.state{font-weight:bold;text-align:center;white-space:nowrap}"
    "ul{margin:0;padding-left:1.1em}.pol{color:#5b6570;font-size:.85em}"
    "span.miss{color:#c5221f;font-weight:bold}span.met{color:#1e8e3e;font-weight:bold}";

static void
repl_cell(struct out *o, const json_t *arr)
{
	size_t i;
	json_t *t;

	if (json_array_size(arr) == 0) {
		put(o, "none");
		return;
	}
	put(o, "<ul>");
	json_array_foreach(arr, i, t) {
		put(o, "<li>");
		esc(o, jstr(t, "target"));
		put(o, ": queue %lld, failed %lld, lag %lld s", jnum(t, "queue"), jnum(t, "failed"),
		    jnum(t, "oldest_pending_age"));
		if (json_is_string(json_object_get(t, "last_error"))) {
			put(o, ", last error: ");
			esc(o, jstr(t, "last_error"));
		}
		put(o, "</li>");
	}
	put(o, "</ul>");
}

static void
vault_row(struct out *o, const json_t *v)
{
	const json_t *sc = json_object_get(v, "scrub"), *cp = json_object_get(v, "copies");
	int ok = strcmp(jstr(v, "state"), "ok") == 0;
	const json_t *met = json_object_get(v, "rpo_met");
	size_t i;
	json_t *p;

	put(o, "<tr><td class=\"state %s\">%s</td><td>", ok ? "ok" : "bad",
	    ok ? "OK" : "ATTENTION");
	esc(o, jstr(v, "tenant"));
	put(o, "</td><td>");
	esc(o, jstr(v, "vault"));
	put(o, "</td><td>");
	when(o, json_object_get(v, "last_snapshot"));
	put(o, "<br><span class=\"%s\">", json_is_false(met) ? "miss" : json_is_true(met) ?
	    "met" : "");
	esc(o, jstr(v, "rpo_text"));
	put(o, "</span></td><td class=\"num\">%lld</td><td class=\"num\">%lld<br>",
	    jnum(v, "snapshots"), jnum(v, "objects"));
	size(o, jnum(v, "bytes"));
	put(o, "</td><td>");
	repl_cell(o, json_object_get(v, "replication"));
	put(o, "</td><td>");
	when(o, json_object_get(sc, "last_full"));
	put(o, "<br>bad copies: %lld</td><td class=\"num\">", jnum(sc, "bad_copies"));
	if (json_is_integer(json_object_get(cp, "want")))
		put(o, "%lld of %lld below %lld", jnum(cp, "under"), jnum(cp, "objects"),
		    jnum(cp, "want"));
	else
		put(o, "not set");
	put(o, "</td><td>");
	if (json_array_size(json_object_get(v, "problems")) > 0) {
		put(o, "<ul>");
		json_array_foreach(json_object_get(v, "problems"), i, p) {
			put(o, "<li>");
			esc(o, json_string_value(p));
			put(o, "</li>");
		}
		put(o, "</ul>");
	}
	put(o, "<div class=\"pol\">");
	esc(o, jstr(v, "policy"));
	put(o, "</div></td></tr>\n");
}

char *
posture_html(const json_t *report)
{
	struct out o = { .cap = 8192 };
	const json_t *vaults = json_object_get(report, "vaults");
	size_t i, bad = 0;
	json_t *v;

	if ((o.buf = malloc(o.cap)) == NULL)
		return NULL;
	json_array_foreach(vaults, i, v)
		bad += strcmp(jstr(v, "state"), "ok") != 0;
	put(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>Vault backup posture</title><style>%s</style></head><body>\n", style);
	put(&o, "<h1>Backup posture</h1><p class=\"sub\">%zu vault(s), %zu needing attention; "
	    "made ", json_array_size(vaults), bad);
	when(&o, json_object_get(report, "time"));
	put(&o, "</p>\n<table><thead><tr><th>State</th><th>Tenant</th><th>Vault</th>"
	    "<th>Last snapshot / RPO</th><th>Snapshots</th><th>Objects / bytes</th>"
	    "<th>Replication</th><th>Last full scrub</th><th>Under-copied</th>"
	    "<th>Problems / policy</th></tr></thead><tbody>\n");
	json_array_foreach(vaults, i, v)
		vault_row(&o, v);
	if (json_array_size(vaults) == 0)
		put(&o, "<tr><td colspan=\"10\">no vaults</td></tr>\n");
	put(&o, "</tbody></table></body></html>\n");
	if (o.oom) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
