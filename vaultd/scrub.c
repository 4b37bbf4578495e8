/*
 * Scrub (scrub.h, spec/scrub.md). Per vault: list the live objects of each
 * kind in batches, read every copy (one per location bit) through a token
 * bucket, hash it, and judge it against the ID and the recorded size. A bad
 * copy is recorded, then rewritten from a good one: first another local
 * backend whose copy verifies, else a replica fetched from one of the
 * vault's replication targets (scrub_fetch.c). A repair goes through the
 * backend's put (temp file and rename), so no reader ever sees a partial
 * copy, and holds the store's object lock for the commit, so that it
 * cannot resurrect an object GC or a client deletes meanwhile.
 */
#include "scrub.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "meta_repl.h"
#include "store.h"

struct scrub {
	struct scrub_config cfg;
	pthread_mutex_t run;
	pthread_mutex_t rate_lock;
	uint64_t rate;
	struct scrub_bucket bucket;
	uint8_t *buf; /* SCRUB_CHUNK bytes, used under run */
	atomic_int cancelled;
};

/* One vault's pass. */
struct vpass {
	struct scrub *s;
	const struct meta_vault *v;
	char tenant[VSP_NAME_MAX + 1];
	char targets[META_REPL_TARGETS_MAX][VSP_NAME_MAX + 1];
	size_t ntargets;
	struct scrub_report *r;
	struct meta_scrub_vault rec;
	int partial; /* some copy could not be read at all: not a full pass */
	uint64_t now;
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the token bucket --------------------------------------------- */

void
scrub_bucket_init(struct scrub_bucket *b, uint64_t rate)
{
	memset(b, 0, sizeof(*b));
	b->rate = rate;
	b->tokens = (double)rate;
}

double
scrub_bucket_take(struct scrub_bucket *b, uint64_t n, double now)
{
	double burst = (double)b->rate;

	if (b->rate == 0)
		return 0;
	if (!b->started) {
		b->started = 1;
		b->last = now;
	}
	if (now > b->last) {
		b->tokens += (now - b->last) * (double)b->rate;
		if (b->tokens > burst)
			b->tokens = burst;
		b->last = now;
	}
	b->tokens -= (double)n;
	return b->tokens >= 0 ? 0 : -b->tokens / (double)b->rate;
}

/* Waits until the bucket has n bytes (store_check.pace; arg: the scrub). */
static void
pace(void *arg, uint64_t n)
{
	struct scrub *s = arg;
	double wait = scrub_bucket_take(&s->bucket, n, mono());

	if (wait > 0) {
		struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

/* ---- construction --------------------------------------------------- */

struct scrub *
scrub_new(const struct scrub_config *cfg)
{
	struct scrub *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->buf = malloc(SCRUB_CHUNK)) == NULL)
		goto err1;
	if (pthread_mutex_init(&s->run, NULL) != 0)
		goto err2;
	if (pthread_mutex_init(&s->rate_lock, NULL) != 0)
		goto err3;
	s->cfg = *cfg;
	s->rate = cfg->rate;
	return s;

err3:
	pthread_mutex_destroy(&s->run);
err2:
	free(s->buf);
err1:
	free(s);
	return NULL;
}

void
scrub_free(struct scrub *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->rate_lock);
	pthread_mutex_destroy(&s->run);
	free(s->buf);
	free(s);
}

void
scrub_cancel(struct scrub *s)
{
	atomic_store(&s->cancelled, 1);
}

void
scrub_set_rate(struct scrub *s, uint64_t rate)
{
	pthread_mutex_lock(&s->rate_lock);
	s->rate = rate;
	pthread_mutex_unlock(&s->rate_lock);
}

/* ---- one copy ------------------------------------------------------- */

/* Whether the run was cancelled (store_check.cancelled; arg: the scrub). */
static int
cancelled(void *arg)
{
	struct scrub *s = arg;

	return atomic_load(&s->cancelled);
}

/*
 * Reads the copy under key on b through the bucket and hashes it. Returns 0
 * if it is size bytes that hash to id, else 1 with the reason, or -1 if
 * the scrub was cancelled meanwhile (no verdict). *read gets the bytes read.
 */
static int
verify_copy(struct scrub *s, struct backend *b, const char *key, const uint8_t id[VSP_ID_LEN],
    uint64_t size, uint64_t *read, char *reason, size_t rlen)
{
	struct store_check c = { .buf = s->buf, .buflen = SCRUB_CHUNK, .pace = pace,
	    .cancelled = cancelled, .arg = s };
	int rc = store_copy_check(b, key, id, size, &c);

	*read = c.read;
	if (rc == STORE_COPY_CANCELLED)
		return -1;
	if (rc == STORE_COPY_GOOD)
		return 0;
	snprintf(reason, rlen, "%s", c.reason);
	return 1;
}

/* 1 if (kind, id) is still live in the vault with its size in *size. */
static int
still_live(struct vpass *vp, uint8_t kind, const uint8_t id[VSP_ID_LEN], uint64_t *size,
    uint32_t *locations)
{
	struct meta_object o;
	struct meta_vault v;

	if (kind == META_SCRUB_CONFIG) {
		if (meta_vault_get_by_id(vp->s->cfg.meta, vp->v->id, &v) != META_OK ||
		    !v.has_config || sodium_memcmp(v.config_id, id, VSP_ID_LEN) != 0)
			return 0;
		*size = v.config_size;
		*locations = 1;
		return 1;
	}
	if (meta_object_get(vp->s->cfg.meta, vp->v->id, (enum vsp_kind)kind, id, &o) != META_OK)
		return 0;
	*size = o.size;
	*locations = o.locations;
	return 1;
}

/* ---- repair ----------------------------------------------------------- */

/* Streams the copy under key on src into put, hashing; 0 if it verifies. */
static int
copy_local(struct scrub *s, struct backend *src, struct backend *dst, struct backend_put *put,
    const char *key, const uint8_t id[VSP_ID_LEN], uint64_t size, char *err, size_t errlen)
{
	struct store_check c = { .buf = s->buf, .buflen = SCRUB_CHUNK, .dst = dst, .put = put,
	    .pace = pace, .arg = s };

	switch (store_copy_check(src, key, id, size, &c)) {
	case STORE_COPY_GOOD:
		return 0;
	case STORE_COPY_NO_OPEN:
		snprintf(err, errlen, "cannot open the good copy: %s", strerror(c.err));
		break;
	case STORE_COPY_WRONG_SIZE:
		snprintf(err, errlen, "the good copy changed size");
		break;
	case STORE_COPY_BAD_HASH:
		snprintf(err, errlen, "the good copy no longer verifies");
		break;
	default:
		snprintf(err, errlen, "copy failed at byte %" PRIu64 ": %s", c.read,
		    strerror(c.err != 0 ? c.err : EIO));
	}
	return -1;
}

/* Commits put under the object lock if the object is still live there. */
static int
commit_repair(struct vpass *vp, struct backend *dst, struct backend_put *put, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint8_t bit, char *err, size_t errlen)
{
	uint64_t size;
	uint32_t loc;
	int rc = 0;

	store_lock(vp->v->id, id);
	if (!still_live(vp, kind, id, &size, &loc) || !(loc & (UINT32_C(1) << bit))) {
		backend_put_abort(dst, put);
		snprintf(err, errlen, "the object was deleted meanwhile");
		rc = -1;
	} else if (backend_put_commit(dst, put) != 0) {
		snprintf(err, errlen, "cannot write the repaired copy: %s", strerror(errno));
		rc = -1;
	}
	store_unlock(vp->v->id, id);
	return rc;
}

static int
put_failed(struct scrub_problem *p)
{
	snprintf(p->repair_error, sizeof(p->repair_error), "cannot start writing the copy: %s",
	    strerror(errno));
	return -1;
}

/* Tries the other local backends, then the replicas; 0 once one wrote a
 * copy into backend bit. p->source names it; p->repair_error says why not. */
static int
rewrite(struct vpass *vp, uint8_t kind, const uint8_t id[VSP_ID_LEN], uint64_t size,
    uint32_t locations, uint32_t bad, uint8_t bit, struct scrub_problem *p)
{
	struct scrub *s = vp->s;
	struct backend *dst = s->cfg.backends[bit];
	char key[STORE_KEY_MAX + 1], why[META_SCRUB_REASON_MAX + 1];
	struct backend_put *put;
	struct conf_target t;
	uint64_t read;

	store_copy_key(key, vp->v->id, kind, id);
	snprintf(p->repair_error, sizeof(p->repair_error), "no good copy: no other backend "
	    "holds one and the vault has no replication target");
	for (uint8_t b = 0; b < META_SCRUB_BACKENDS_MAX; b++) {
		struct backend *src = s->cfg.backends[b];

		if (b == bit || src == NULL || !(locations & (UINT32_C(1) << b)) ||
		    (bad & (UINT32_C(1) << b)) ||
		    verify_copy(s, src, key, id, size, &read, why, sizeof(why)) != 0)
			continue;
		if (backend_put_begin(dst, key, &put) != 0)
			return put_failed(p);
		if (copy_local(s, src, dst, put, key, id, size, p->repair_error,
		    sizeof(p->repair_error)) != 0) {
			backend_put_abort(dst, put);
			continue;
		}
		snprintf(p->source, sizeof(p->source), "backend %u", (unsigned)b);
		return commit_repair(vp, dst, put, kind, id, bit, p->repair_error,
		    sizeof(p->repair_error));
	}
	for (size_t i = 0; i < vp->ntargets; i++) {
		if (s->cfg.target == NULL || !s->cfg.target(s->cfg.arg, vp->targets[i], &t))
			continue;
		if (backend_put_begin(dst, key, &put) != 0)
			return put_failed(p);
		if (scrub_fetch_replica(&t, vp->tenant, vp->v->name, kind, id, size, dst, put,
		    p->repair_error, sizeof(p->repair_error)) != 0) {
			backend_put_abort(dst, put);
			continue;
		}
		snprintf(p->source, sizeof(p->source), "target %s", t.name);
		return commit_repair(vp, dst, put, kind, id, bit, p->repair_error,
		    sizeof(p->repair_error));
	}
	return -1;
}

/* A bad copy: record it, list it, repair it, verify the repair. */
static void
bad_copy(struct vpass *vp, uint8_t kind, const uint8_t id[VSP_ID_LEN], uint64_t size,
    uint32_t locations, uint32_t bad, uint8_t bit, const char *reason)
{
	struct scrub_report *r = vp->r;
	struct scrub_problem scratch, *p = r->nproblems < SCRUB_PROBLEMS_MAX ?
	    &r->problems[r->nproblems++] : &scratch;
	char key[STORE_KEY_MAX + 1], why[META_SCRUB_REASON_MAX + 1], hex[VSP_ID_HEX_LEN + 1];
	uint64_t read;

	memset(p, 0, sizeof(*p));
	memcpy(p->tenant, vp->tenant, sizeof(p->tenant));
	memcpy(p->vault, vp->v->name, sizeof(p->vault));
	p->kind = kind;
	memcpy(p->id, id, VSP_ID_LEN);
	p->backend = bit;
	snprintf(p->reason, sizeof(p->reason), "%s", reason);
	r->bad++;
	vp->rec.bad++;
	vsp_id_format(id, hex);
	log_msg(VLOG_ERROR, "scrub: %s/%s %s %s on backend %u: %s", vp->tenant, vp->v->name,
	    kind == META_SCRUB_CONFIG ? "config" : vsp_kind_name((enum vsp_kind)kind), hex,
	    (unsigned)bit, reason);
	if (store_bad_copy(vp->s->cfg.meta, vp->v->id, kind, id, bit, vp->now, p->reason) !=
	    META_OK)
		return;
	if (rewrite(vp, kind, id, size, locations, bad | (UINT32_C(1) << bit), bit, p) != 0)
		return;
	store_copy_key(key, vp->v->id, kind, id);
	if (verify_copy(vp->s, vp->s->cfg.backends[bit], key, id, size, &read, why,
	    sizeof(why)) != 0) {
		snprintf(p->repair_error, sizeof(p->repair_error), "the rewritten copy does not "
		    "verify: %.80s", why);
		return;
	}
	if (meta_scrub_bad_clear(vp->s->cfg.meta, vp->v->id, kind, id, bit) == META_ERROR)
		return;
	p->repaired = 1;
	p->repair_error[0] = '\0';
	r->repaired++;
	vp->rec.repaired++;
	log_msg(VLOG_INFO, "scrub: repaired %s from %s", hex, p->source);
}

/* Every copy of one object. */
static void
scrub_object(struct vpass *vp, uint8_t kind, const uint8_t id[VSP_ID_LEN], uint64_t size,
    uint32_t locations)
{
	struct scrub *s = vp->s;
	char key[STORE_KEY_MAX + 1], reason[META_SCRUB_REASON_MAX + 1];
	uint32_t bad = 0, loc;
	uint64_t read, sz;

	store_copy_key(key, vp->v->id, kind, id);
	if (meta_scrub_bad_mask(s->cfg.meta, vp->v->id, kind, id, &bad) != META_OK)
		bad = 0;
	vp->r->objects++;
	for (uint8_t bit = 0; bit < META_SCRUB_BACKENDS_MAX; bit++) {
		struct backend *b = s->cfg.backends[bit];

		if (!(locations & (UINT32_C(1) << bit)))
			continue;
		if (b == NULL) {
			vp->partial = 1;
			continue;
		}
		int verdict = verify_copy(s, b, key, id, size, &read, reason, sizeof(reason));
		if (verdict < 0) {
			vp->partial = 1;
			return;
		}
		vp->r->copies++;
		vp->r->bytes += read;
		vp->rec.objects++;
		vp->rec.bytes += read;
		if (verdict == 0) {
			/* It verifies now (a transient error, or repaired by hand). */
			if (bad & (UINT32_C(1) << bit))
				(void)meta_scrub_bad_clear(s->cfg.meta, vp->v->id, kind, id, bit);
			continue;
		}
		/* A copy deleted meanwhile is no bad copy. */
		if (!still_live(vp, kind, id, &sz, &loc) || !(loc & (UINT32_C(1) << bit)))
			return;
		bad_copy(vp, kind, id, size, locations, bad, bit, reason);
	}
}

/* ---- one vault -------------------------------------------------------- */

struct batch {
	uint8_t ids[SCRUB_BATCH][VSP_ID_LEN];
	struct meta_object o[SCRUB_BATCH];
	size_t n;
};

static int
batch_cb(const uint8_t id[VSP_ID_LEN], const struct meta_object *o, void *arg)
{
	struct batch *b = arg;

	memcpy(b->ids[b->n], id, VSP_ID_LEN);
	b->o[b->n++] = *o;
	return 0;
}

static int
scrub_kind(struct vpass *vp, enum vsp_kind kind, struct batch *b)
{
	uint8_t after[VSP_ID_LEN];
	int more = 1, first = 1;

	while (more) {
		b->n = 0;
		if (meta_object_list(vp->s->cfg.meta, vp->v->id, kind, first ? NULL : after,
		    SCRUB_BATCH, batch_cb, b, &more) != META_OK)
			return -1;
		first = 0;
		if (atomic_load(&vp->s->cancelled)) {
			vp->partial = 1;
			return 0;
		}
		for (size_t i = 0; i < b->n; i++)
			scrub_object(vp, (uint8_t)kind, b->ids[i], b->o[i].size, b->o[i].locations);
		if (b->n == 0)
			break;
		memcpy(after, b->ids[b->n - 1], VSP_ID_LEN);
	}
	return 0;
}

/* Drops bad-copy records of copies that no longer exist (deleted objects,
 * dropped locations), so they do not count as unrepaired for ever. */
static int
stale_cb(const struct meta_scrub_bad *bad, void *arg)
{
	struct vpass *vp = arg;
	uint64_t size;
	uint32_t loc;

	if (!still_live(vp, bad->kind, bad->id, &size, &loc) ||
	    !(loc & (UINT32_C(1) << bad->backend)))
		(void)meta_scrub_bad_clear(vp->s->cfg.meta, bad->vault_id, bad->kind, bad->id,
		    bad->backend);
	else
		vp->r->unrepaired++;
	return 0;
}

static int
scrub_vault(struct scrub *s, const struct meta_vault *v, uint64_t now, struct scrub_report *r)
{
	struct vpass vp = { .s = s, .v = v, .r = r, .now = now };
	struct meta_tenant t;
	struct batch *b;
	int rc = 0;

	if (meta_tenant_get_by_id(s->cfg.meta, v->tenant_id, &t) != META_OK)
		return -1;
	memcpy(vp.tenant, t.name, sizeof(vp.tenant));
	if (s->cfg.targets != NULL)
		vp.ntargets = s->cfg.targets(s->cfg.arg, t.name, v->name, vp.targets,
		    META_REPL_TARGETS_MAX);
	(void)meta_scrub_vault_get(s->cfg.meta, v->id, &vp.rec);
	vp.rec.objects = vp.rec.bytes = vp.rec.bad = vp.rec.repaired = 0;
	if ((b = malloc(sizeof(*b))) == NULL)
		return -1;
	for (int k = 0; rc == 0 && k < VSP_KIND_COUNT; k++)
		rc = scrub_kind(&vp, (enum vsp_kind)k, b);
	free(b);
	if (rc == 0 && v->has_config)
		scrub_object(&vp, META_SCRUB_CONFIG, v->config_id, v->config_size, 1);
	if (meta_scrub_bad_list(s->cfg.meta, v->id, stale_cb, &vp, NULL) != META_OK)
		rc = -1;
	vp.rec.last_run = (uint64_t)time(NULL);
	if (rc == 0 && !vp.partial) {
		vp.rec.last_full = vp.rec.last_run;
		r->vaults_full++;
	}
	r->vaults++;
	if (meta_scrub_vault_put(s->cfg.meta, v->id, &vp.rec) != META_OK)
		rc = -1;
	return rc;
}

/* ---- runs ------------------------------------------------------------- */

static int
vaults_load(struct scrub *s, const char *tenant, const char *vault, struct meta_vaults *vs,
    char *err, size_t errlen)
{
	int rc = meta_vaults_select(s->cfg.meta, tenant, vault, vs, err, errlen);

	return rc == META_OK ? SCRUB_OK : rc == META_NOTFOUND ? SCRUB_NOTFOUND : SCRUB_ERROR;
}

/* Takes the run lock and resets the bucket to the rate in force. */
static int
run_begin(struct scrub *s, struct scrub_report *out)
{
	memset(out, 0, sizeof(*out));
	if (pthread_mutex_trylock(&s->run) != 0)
		return -1;
	pthread_mutex_lock(&s->rate_lock);
	scrub_bucket_init(&s->bucket, s->rate);
	pthread_mutex_unlock(&s->rate_lock);
	return 0;
}

int
scrub_run(struct scrub *s, const char *tenant, const char *vault, uint64_t now,
    struct scrub_report *out, char *err, size_t errlen)
{
	struct meta_vaults vs = {0};
	double t0 = mono();
	int rc;

	if (run_begin(s, out) != 0) {
		snprintf(err, errlen, "a scrub is already running");
		return SCRUB_BUSY;
	}
	rc = vaults_load(s, tenant, vault, &vs, err, errlen);
	for (size_t i = 0; rc == SCRUB_OK && i < vs.n; i++)
		if (scrub_vault(s, &vs.a[i], now, out) != 0) {
			snprintf(err, errlen, "the scrub of vault \"%s\" failed (metadata error; see "
			    "the log)", vs.a[i].name);
			rc = SCRUB_ERROR;
		}
	pthread_mutex_unlock(&s->run);
	free(vs.a);
	out->seconds = mono() - t0;
	return rc;
}

int
scrub_run_due(struct scrub *s, uint64_t now, struct scrub_report *out)
{
	struct meta_vaults vs = {0};
	struct meta_scrub_vault rec;
	struct conf_policy pol;
	struct meta_tenant t;
	char err[256];
	double t0 = mono();
	int rc;

	if (run_begin(s, out) != 0)
		return SCRUB_BUSY;
	rc = vaults_load(s, NULL, NULL, &vs, err, sizeof(err));
	for (size_t i = 0; rc == SCRUB_OK && i < vs.n; i++) {
		if (s->cfg.policy == NULL ||
		    meta_tenant_get_by_id(s->cfg.meta, vs.a[i].tenant_id, &t) != META_OK ||
		    !s->cfg.policy(s->cfg.arg, t.name, vs.a[i].name, &pol) || pol.scrub_every == 0)
			continue;
		if (meta_scrub_vault_get(s->cfg.meta, vs.a[i].id, &rec) == META_OK &&
		    rec.last_run != 0 && rec.last_run <= now && now - rec.last_run < pol.scrub_every)
			continue;
		/* One vault's failure is logged and does not stop the others. */
		(void)scrub_vault(s, &vs.a[i], now, out);
	}
	pthread_mutex_unlock(&s->run);
	free(vs.a);
	out->seconds = mono() - t0;
	return rc;
}

int
scrub_repair_now(struct scrub *s, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint8_t bit, const char *reason, char *err, size_t errlen)
{
	struct scrub_report *r;
	struct meta_vault v;
	struct meta_tenant t;
	struct vpass vp = { .s = s, .v = &v, .now = (uint64_t)time(NULL) };
	uint64_t size;
	uint32_t loc, bad = 0;
	int rc = SCRUB_ERROR;

	if ((r = malloc(sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return SCRUB_ERROR;
	}
	/* Under the run lock (its scratch buffer and bucket), without a cap:
	 * a client is waiting. A scrub that is running repairs it itself. */
	if (run_begin(s, r) != 0) {
		free(r);
		snprintf(err, errlen, "a scrub is running and will repair it");
		return SCRUB_BUSY;
	}
	scrub_bucket_init(&s->bucket, 0);
	vp.r = r;
	if (bit >= META_SCRUB_BACKENDS_MAX || s->cfg.backends[bit] == NULL ||
	    meta_vault_get_by_id(s->cfg.meta, vault_id, &v) != META_OK ||
	    meta_tenant_get_by_id(s->cfg.meta, v.tenant_id, &t) != META_OK) {
		snprintf(err, errlen, "the vault or its backend is gone");
		goto out;
	}
	memcpy(vp.tenant, t.name, sizeof(vp.tenant));
	if (s->cfg.targets != NULL)
		vp.ntargets = s->cfg.targets(s->cfg.arg, t.name, v.name, vp.targets,
		    META_REPL_TARGETS_MAX);
	if (!still_live(&vp, kind, id, &size, &loc) || !(loc & (UINT32_C(1) << bit))) {
		rc = SCRUB_NOTFOUND;
		snprintf(err, errlen, "the object is gone");
		goto out;
	}
	if (meta_scrub_bad_mask(s->cfg.meta, vault_id, kind, id, &bad) != META_OK)
		bad = 0;
	bad_copy(&vp, kind, id, size, loc, bad, bit, reason);
	if (r->nproblems > 0 && r->problems[0].repaired) {
		rc = SCRUB_OK;
	} else {
		snprintf(err, errlen, "%s", r->nproblems > 0 ? r->problems[0].repair_error :
		    "the copy could not be recorded as bad");
	}
out:
	pthread_mutex_unlock(&s->run);
	free(r);
	return rc;
}
