/*
 * The posture report (posture.h, spec/posture.md): one JSON object per
 * vault, made from the metadata alone (objects, snapshots, replication
 * queue and done records, scrub records) and the policy in force. Nothing
 * here reads an object's bytes, so a report is cheap next to a scrub: its
 * cost is one walk of the vault's snapshot records, and, when the policy
 * sets copies, one of its object records.
 */
#include "posture.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta_repl.h"
#include "meta_scrub.h"

#define SUMMARY_MAX 1024
#define DUR_MAX 32
#define SNAP_BATCH 512

static json_t *
jtime(uint64_t t)
{
	return t != 0 ? json_integer((json_int_t)t) : json_null();
}

/* "3d 4h", "2h 5m", "4m 10s", "12s": the two largest units. */
static void
dur(uint64_t s, char out[DUR_MAX])
{
	static const struct { uint64_t secs; char unit; } u[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};

	for (size_t i = 0; i < 4; i++) {
		if (s < u[i].secs && i < 3)
			continue;
		uint64_t a = s / u[i].secs, rest = s % u[i].secs;
		if (i < 3 && rest / u[i + 1].secs != 0)
			snprintf(out, DUR_MAX, "%" PRIu64 "%c %" PRIu64 "%c", a, u[i].unit,
			    rest / u[i + 1].secs, u[i + 1].unit);
		else
			snprintf(out, DUR_MAX, "%" PRIu64 "%c", a, u[i].unit);
		return;
	}
}

/* Appends to a summary buffer; a cut line is fine for a summary. */
static void add(char *buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
add(char *buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= SUMMARY_MAX - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, SUMMARY_MAX - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < SUMMARY_MAX ? *len + (size_t)n : SUMMARY_MAX - 1;
}

static void
size_str(uint64_t b, char out[DUR_MAX])
{
	static const char *const units[] = { "K", "M", "G", "T", "P" };
	size_t i = 0;

	if (b < 1024 || b % 1024 != 0) {
		snprintf(out, DUR_MAX, "%" PRIu64, b);
		return;
	}
	b /= 1024;
	while (i < 4 && b % 1024 == 0 && b >= 1024) {
		b /= 1024;
		i++;
	}
	snprintf(out, DUR_MAX, "%" PRIu64 "%s", b, units[i]);
}

/* The one-line policy summary. */
static void
summary(const struct conf_policy *p, int has, const struct policy_limits *lim,
    char out[SUMMARY_MAX])
{
	const struct { const char *name; unsigned n; } keep[] = {
		{ "last", has ? p->keep_last : 0 }, { "hourly", has ? p->keep_hourly : 0 },
		{ "daily", has ? p->keep_daily : 0 }, { "weekly", has ? p->keep_weekly : 0 },
		{ "monthly", has ? p->keep_monthly : 0 }, { "yearly", has ? p->keep_yearly : 0 },
	};
	char a[DUR_MAX];
	size_t len = 0;
	int any = 0;

	out[0] = '\0';
	add(out, &len, "%s%s: keep", has ? "policy " : "no policy", has ? p->name : "");
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (keep[i].n != 0) {
			add(out, &len, "%s %s %u", any ? "," : "", keep[i].name, keep[i].n);
			any = 1;
		}
	if (has && p->keep_within != 0) {
		dur(p->keep_within, a);
		add(out, &len, "%s within %s", any ? "," : "", a);
		any = 1;
	}
	add(out, &len, "%s", any ? "" : " everything");
	dur(lim->lock, a);
	add(out, &len, "; lock %s", lim->lock != 0 ? a : "none");
	size_str(lim->vault_quota, a);
	add(out, &len, "; quota %s", lim->vault_quota != 0 ? a : "none");
	add(out, &len, "; replicate-to");
	for (unsigned i = 0; has && i < p->nreplicate; i++)
		add(out, &len, "%s %s", i ? "," : "", p->replicate_to[i]);
	add(out, &len, "%s", has && p->nreplicate > 0 ? "" : " none");
	if (has && p->tier_to[0] != '\0') {
		add(out, &len, "; tier to %s", p->tier_to);
		if (p->tier_after != 0) {
			dur(p->tier_after, a);
			add(out, &len, " after %s", a);
		}
		if (p->tier_idle != 0) {
			dur(p->tier_idle, a);
			add(out, &len, " idle %s", a);
		}
	} else {
		add(out, &len, "; tier none");
	}
	dur(has ? p->rpo : 0, a);
	add(out, &len, "; rpo %s", has && p->rpo != 0 ? a : "none");
	if (has && p->copies != 0)
		add(out, &len, "; copies %u", p->copies);
	if (has && p->scrub_every != 0) {
		dur(p->scrub_every, a);
		add(out, &len, "; scrub every %s", a);
	}
	/* GC's own settings, only when set (gc-grace: when not the default). */
	if (has && p->gc_every != 0) {
		dur(p->gc_every, a);
		add(out, &len, "; gc every %s", a);
	}
	if (has && p->gc_grace != 0 && p->gc_grace != CONF_DEFAULT_GC_GRACE) {
		dur(p->gc_grace, a);
		add(out, &len, "; gc-grace %s", a);
	}
}

/* ---- one vault ---------------------------------------------------- */

struct vctx {
	const struct posture_config *c;
	const struct meta_vault *v;
	char tenant[VSP_NAME_MAX + 1];
	uint64_t now;
	struct conf_policy pol;
	int has_pol;
	json_t *problems;
};

static void problem(struct vctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(struct vctx *x, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(x->problems, json_string(buf));
}

struct snaps {
	uint64_t count, last;
	uint8_t after[VSP_ID_LEN];
	size_t seen;
};

static int
snap_cb(const uint8_t id[VSP_ID_LEN], const struct meta_object *o, void *arg)
{
	struct snaps *s = arg;

	s->count++;
	s->seen++;
	if (o->received > s->last)
		s->last = o->received;
	memcpy(s->after, id, VSP_ID_LEN);
	return 0;
}

/* Snapshot count and newest receive time, and the RPO verdict. */
static json_t *
rpo_part(struct vctx *x)
{
	struct snaps s = {0};
	char a[DUR_MAX], text[96];
	uint64_t age;
	int more = 1, first = 1;
	json_t *o;

	while (more) {
		s.seen = 0;
		if (meta_object_list(x->c->meta, x->v->id, VSP_KIND_SNAPSHOT, first ? NULL : s.after,
		    SNAP_BATCH, snap_cb, &s, &more) != META_OK)
			return NULL;
		first = 0;
		if (s.seen == 0)
			break;
	}
	age = s.last != 0 && x->now > s.last ? x->now - s.last : 0;
	o = json_pack("{s:I, s:o, s:o}", "snapshots", (json_int_t)s.count,
	    "last_snapshot", jtime(s.last),
	    "last_snapshot_age", s.last != 0 ? json_integer((json_int_t)age) : json_null());
	if (o == NULL)
		return NULL;
	if (!x->has_pol || x->pol.rpo == 0) {
		snprintf(text, sizeof(text), "no RPO set");
		json_object_set_new(o, "rpo", json_null());
		json_object_set_new(o, "rpo_met", json_null());
		json_object_set_new(o, "rpo_missed_by", json_null());
	} else {
		int met = s.last != 0 && age <= x->pol.rpo;
		json_object_set_new(o, "rpo", json_integer((json_int_t)x->pol.rpo));
		json_object_set_new(o, "rpo_met", json_boolean(met));
		if (met) {
			snprintf(text, sizeof(text), "RPO met");
			json_object_set_new(o, "rpo_missed_by", json_null());
		} else if (s.last == 0) {
			snprintf(text, sizeof(text), "RPO missed: no snapshot yet");
			json_object_set_new(o, "rpo_missed_by", json_null());
		} else {
			dur(age - x->pol.rpo, a);
			snprintf(text, sizeof(text), "RPO missed by %s", a);
			json_object_set_new(o, "rpo_missed_by",
			    json_integer((json_int_t)(age - x->pol.rpo)));
		}
		if (!met)
			problem(x, "%s", text);
	}
	json_object_set_new(o, "rpo_text", json_string(text));
	return o;
}

/* Replication per target: this vault's queue and the target's last error. */
static json_t *
repl_part(struct vctx *x, char (*names)[VSP_NAME_MAX + 1], size_t n)
{
	struct meta_repl_stats st;
	json_t *arr = json_array(), *o;

	for (size_t i = 0; arr != NULL && i < n; i++) {
		if (meta_repl_vault_stats(x->c->meta, names[i], x->v->id, &st) != META_OK) {
			json_decref(arr);
			return NULL;
		}
		o = json_pack("{s:s, s:I, s:I, s:I, s:I}", "target", names[i],
		    "queue", (json_int_t)st.queued, "failed", (json_int_t)st.failed,
		    "bytes_pending", (json_int_t)st.bytes_pending, "oldest_pending_age",
		    (json_int_t)(st.oldest != 0 && x->now > st.oldest ? x->now - st.oldest : 0));
		if (o == NULL)
			break;
		json_object_set_new(o, "last_error", st.last_error_time != 0 ?
		    json_string(st.last_error) : json_null());
		json_object_set_new(o, "last_error_time", jtime(st.last_error_time));
		json_array_append_new(arr, o);
		if (st.failed > 0)
			problem(x, "%" PRIu64 " object(s) failed to replicate to %s", st.failed,
			    names[i]);
	}
	return arr;
}

static json_t *
scrub_part(struct vctx *x)
{
	struct meta_scrub_vault r;
	uint64_t bad = 0;
	char a[DUR_MAX];

	if (meta_scrub_vault_get(x->c->meta, x->v->id, &r) == META_ERROR ||
	    meta_scrub_bad_list(x->c->meta, x->v->id, NULL, NULL, &bad) != META_OK)
		return NULL;
	if (bad > 0)
		problem(x, "%" PRIu64 " bad cop%s not repaired", bad, bad == 1 ? "y" : "ies");
	if (x->has_pol && x->pol.scrub_every != 0 && (r.last_full == 0 || (x->now > r.last_full &&
	    x->now - r.last_full > POSTURE_SCRUB_SLACK * x->pol.scrub_every))) {
		dur(x->pol.scrub_every, a);
		problem(x, "no full scrub within %d x scrub-every (%s)", POSTURE_SCRUB_SLACK, a);
	}
	return json_pack("{s:o, s:o, s:o, s:I, s:{s:I, s:I, s:I, s:I}}",
	    "last_full", jtime(r.last_full),
	    "last_full_age", r.last_full != 0 ? json_integer((json_int_t)(x->now > r.last_full ?
	    x->now - r.last_full : 0)) : json_null(), "last_run", jtime(r.last_run),
	    "bad_copies", (json_int_t)bad, "last_pass", "copies", (json_int_t)r.objects,
	    "bytes", (json_int_t)r.bytes, "bad", (json_int_t)r.bad,
	    "repaired", (json_int_t)r.repaired);
}

static json_t *
copies_part(struct vctx *x, char (*names)[VSP_NAME_MAX + 1], size_t n)
{
	uint64_t objects = 0, under = 0;
	unsigned want = x->has_pol ? x->pol.copies : 0;

	if (want == 0)
		return json_pack("{s:n, s:n, s:n}", "want", "objects", "under");
	if (meta_scrub_copies(x->c->meta, x->v->id, (const char (*)[VSP_NAME_MAX + 1])names, n,
	    want, &objects, &under) != META_OK)
		return NULL;
	if (under > 0)
		problem(x, "%" PRIu64 " object(s) have fewer than %u healthy copies", under, want);
	return json_pack("{s:I, s:I, s:I}", "want", (json_int_t)want, "objects",
	    (json_int_t)objects, "under", (json_int_t)under);
}

static json_t *
vault_report(const struct posture_config *c, const char *tenant, const struct meta_vault *v,
    uint64_t now)
{
	struct vctx x = { .c = c, .v = v, .now = now };
	char names[META_REPL_TARGETS_MAX][VSP_NAME_MAX + 1], sum[SUMMARY_MAX];
	struct policy_limits lim = {0};
	json_t *o, *rpo, *repl, *scrub, *copies;
	size_t n = 0;

	memcpy(x.tenant, tenant, strlen(tenant) + 1);
	if (c->policy != NULL)
		x.has_pol = c->policy(c->arg, tenant, v->name, &x.pol);
	if (c->limits != NULL)
		c->limits(c->arg, tenant, v->name, &lim);
	if (c->targets != NULL)
		n = c->targets(c->arg, tenant, v->name, names, META_REPL_TARGETS_MAX);
	summary(&x.pol, x.has_pol, &lim, sum);
	if ((x.problems = json_array()) == NULL)
		return NULL;
	rpo = rpo_part(&x);
	repl = repl_part(&x, names, n);
	scrub = scrub_part(&x);
	copies = copies_part(&x, names, n);
	if (rpo == NULL || repl == NULL || scrub == NULL || copies == NULL) {
		json_decref(rpo);
		json_decref(repl);
		json_decref(scrub);
		json_decref(copies);
		json_decref(x.problems);
		return NULL;
	}
	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:s, s:o}", "tenant", tenant,
	    "vault", v->name, "state", json_array_size(x.problems) == 0 ? "ok" : "attention",
	    "objects", (json_int_t)v->objects, "bytes", (json_int_t)v->bytes,
	    "replication", repl, "scrub", scrub, "copies", copies, "policy", sum,
	    "problems", x.problems);
	if (o != NULL && json_object_update(o, rpo) != 0) {
		json_decref(o);
		o = NULL;
	}
	json_decref(rpo);
	return o;
}

/* ---- the whole report ------------------------------------------------- */

struct walk {
	const struct posture_config *c;
	json_t *arr;
	uint64_t now;
	const char *tenant; /* fixed, or NULL to look each one up */
	int failed;
};

static int
vault_cb(const struct meta_vault *v, void *arg)
{
	struct walk *w = arg;
	struct meta_tenant t;
	json_t *o;

	if (w->tenant == NULL && meta_tenant_get_by_id(w->c->meta, v->tenant_id, &t) != META_OK) {
		w->failed = 1;
		return 1;
	}
	if ((o = vault_report(w->c, w->tenant != NULL ? w->tenant : t.name, v, w->now)) == NULL ||
	    json_array_append_new(w->arr, o) != 0) {
		w->failed = 1;
		return 1;
	}
	return 0;
}

json_t *
posture_report(const struct posture_config *c, const char *tenant, const char *vault,
    uint64_t now, char *err, size_t errlen)
{
	struct walk w = { .c = c, .now = now, .tenant = tenant };
	struct meta_tenant t;
	struct meta_vault v;
	int rc = META_OK;

	if ((w.arr = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (tenant == NULL) {
		rc = meta_vault_list(c->meta, 0, vault_cb, &w);
	} else if ((rc = meta_tenant_get(c->meta, tenant, &t)) == META_NOTFOUND) {
		snprintf(err, errlen, "there is no tenant named \"%s\"", tenant);
		goto fail;
	} else if (rc == META_OK && vault == NULL) {
		rc = meta_vault_list(c->meta, t.id, vault_cb, &w);
	} else if (rc == META_OK) {
		if ((rc = meta_vault_get(c->meta, t.id, vault, &v)) == META_NOTFOUND) {
			snprintf(err, errlen, "tenant \"%s\" has no vault named \"%s\"", tenant, vault);
			goto fail;
		}
		if (rc == META_OK)
			vault_cb(&v, &w);
	}
	if (rc != META_OK || w.failed) {
		snprintf(err, errlen, "the posture cannot be made: a metadata error or out of "
		    "memory (see the log)");
		goto fail;
	}
	return json_pack("{s:b, s:I, s:o}", "ok", 1, "time", (json_int_t)now, "vaults", w.arr);
fail:
	json_decref(w.arr);
	return NULL;
}
