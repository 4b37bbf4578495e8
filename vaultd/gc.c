/*
 * Garbage collection (gc.h, spec/gc.md). Per vault: forget what the keep
 * rules drop, mark the references of every retained snapshot into a
 * temporary LMDB environment (so memory stays bounded however many objects
 * the vault holds), then sweep packs and indexes in batches of GC_BATCH:
 * tombstone the unmarked ones past grace and lock, purge those an earlier
 * run tombstoned at least a grace window ago.
 *
 * GC shares the store's striped object locks (store_lock), so that a
 * purge and a re-upload of the same ID cannot interleave.
 */
#include "gc.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "envelope.h"
#include "log.h"
#include "retention.h"
#include "store.h"

/* The mark store: sparse, so the map size is only a bound. */
#define MARK_MAP_SIZE ((size_t)64 << 30)
/* Mark key: kind byte then ID; a marked snapshot uses MARK_SNAPSHOT. */
#define MARK_KEY_LEN (1 + VSP_ID_LEN)
#define MARK_SNAPSHOT 0xff
/* Marks written per transaction of the mark store. */
#define MARK_TXN_MAX 65536

struct last_run {
	uint64_t vault_id, at;
};

struct gc {
	struct gc_config cfg;
	char tmp_dir[PATH_MAX];
	pthread_mutex_t run;
	struct last_run *last;
	size_t nlast, caplast;
};

/* One vault's collection. */
struct vrun {
	struct gc *g;
	const struct meta_vault *v;
	struct conf_policy pol;
	uint64_t now;
	int dry;
	MDB_env *env;
	MDB_dbi dbi;
	struct gc_report *r;
	char *err;
	size_t errlen;
};

static int
fail(struct vrun *vr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct vrun *vr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vr->err, vr->errlen, fmt, ap);
	va_end(ap);
	log_msg(VLOG_ERROR, "gc: %s", vr->err);
	return -1;
}

struct gc *
gc_new(const struct gc_config *cfg)
{
	struct gc *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->cfg = *cfg;
	if (snprintf(g->tmp_dir, sizeof(g->tmp_dir), "%s", cfg->tmp_dir) >=
	        (int)sizeof(g->tmp_dir) || pthread_mutex_init(&g->run, NULL) != 0) {
		free(g);
		return NULL;
	}
	g->cfg.tmp_dir = g->tmp_dir;
	return g;
}

void
gc_free(struct gc *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->run);
	free(g->last);
	free(g);
}

/* ---- the mark store ---------------------------------------------------- */

static void
marks_unlink(const char *dir)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
}

static int
marks_open(struct vrun *vr)
{
	const char *dir = vr->g->tmp_dir;
	MDB_txn *txn;
	int rc;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fail(vr, "cannot create %s: %s", dir, strerror(errno));
	marks_unlink(dir);
	if ((rc = mdb_env_create(&vr->env)) != 0)
		return fail(vr, "mark store: %s", mdb_strerror(rc));
	/* Nothing here must survive a crash: no syncs at all. */
	if ((rc = mdb_env_set_mapsize(vr->env, MARK_MAP_SIZE)) != 0 ||
	    (rc = mdb_env_open(vr->env, dir, MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_txn_begin(vr->env, NULL, 0, &txn)) != 0)
		goto err;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &vr->dbi)) != 0 || (rc = mdb_txn_commit(txn)) != 0)
		goto err;
	return 0;
err:
	mdb_env_close(vr->env);
	vr->env = NULL;
	marks_unlink(dir);
	return fail(vr, "mark store %s: %s", dir, mdb_strerror(rc));
}

static void
marks_close(struct vrun *vr)
{
	if (vr->env == NULL)
		return;
	mdb_env_close(vr->env);
	vr->env = NULL;
	marks_unlink(vr->g->tmp_dir);
}

static void
mark_key(uint8_t key[MARK_KEY_LEN], unsigned kind, const uint8_t id[VSP_ID_LEN])
{
	key[0] = (uint8_t)kind;
	memcpy(key + 1, id, VSP_ID_LEN);
}

/* 1 if (kind, id) is marked in txn, 0 if not, -1 on a failure. */
static int
marked(struct vrun *vr, MDB_txn *txn, unsigned kind, const uint8_t id[VSP_ID_LEN])
{
	uint8_t k[MARK_KEY_LEN];
	MDB_val key = { sizeof(k), k }, val;
	int rc;

	mark_key(k, kind, id);
	rc = mdb_get(txn, vr->dbi, &key, &val);
	return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : -1;
}

/* Reads snapshot sid's envelope header into a reader *r, which parses it
 * (the caller frees it); *e is the parsed header, valid as long as *r. */
static int
header_read(struct vrun *vr, const uint8_t sid[VSP_ID_LEN], struct envelope_reader **r,
    const struct envelope **e)
{
	char key[STORE_KEY_MAX + 1], hex[VSP_ID_HEX_LEN + 1];
	struct backend_reader *rd;
	uint64_t size, off = 0;
	uint8_t buf[16384];
	size_t n;

	vsp_id_format(sid, hex);
	store_object_key(key, vr->v->id, VSP_KIND_SNAPSHOT, sid);
	if ((*r = envelope_reader_new()) == NULL)
		return fail(vr, "out of memory");
	if (backend_open(vr->g->cfg.backend, key, &rd, &size) != 0) {
		envelope_reader_free(*r);
		return fail(vr, "snapshot %s of vault %" PRIu64 " cannot be read: %s", hex,
		    vr->v->id, strerror(errno));
	}
	while ((n = envelope_reader_need(*r)) > 0 && off < size) {
		if (n > sizeof(buf))
			n = sizeof(buf);
		if (n > size - off)
			n = (size_t)(size - off);
		if (store_read_exact(vr->g->cfg.backend, rd, off, buf, n) != 0 ||
		    envelope_reader_feed(*r, buf, n) != 0)
			break;
		off += n;
	}
	backend_close(vr->g->cfg.backend, rd);
	if (envelope_reader_header(*r, e) == ENVELOPE_OK)
		return 0;
	envelope_reader_free(*r);
	return fail(vr, "snapshot %s of vault %" PRIu64 " has no readable envelope header",
	    hex, vr->v->id);
}

/* Marks everything snapshot sid refers to, then sid itself. */
static int
mark_snapshot(struct vrun *vr, const uint8_t sid[VSP_ID_LEN])
{
	uint8_t k[MARK_KEY_LEN];
	MDB_val key = { sizeof(k), k }, val = { 0, NULL };
	struct envelope_reader *head;
	const struct envelope *e;
	struct envelope_ref ref;
	MDB_txn *txn;
	size_t i = 0;
	int rc;

	if ((rc = mdb_txn_begin(vr->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fail(vr, "mark store: %s", mdb_strerror(rc));
	rc = marked(vr, txn, MARK_SNAPSHOT, sid);
	mdb_txn_abort(txn);
	if (rc != 0)
		return rc < 0 ? fail(vr, "mark store read failed") : 0;
	if (header_read(vr, sid, &head, &e) != 0)
		return -1;
	do {
		size_t end = e->nrefs - i > MARK_TXN_MAX ? i + MARK_TXN_MAX : e->nrefs;
		if ((rc = mdb_txn_begin(vr->env, NULL, 0, &txn)) != 0)
			break;
		for (; i < end; i++) {
			envelope_ref_get(e, i, &ref);
			mark_key(k, ref.kind, ref.id);
			rc = mdb_put(txn, vr->dbi, &key, &val, MDB_NOOVERWRITE);
			if (rc == 0)
				vr->r->objects_marked++;
			else if (rc != MDB_KEYEXIST)
				break;
			rc = 0;
		}
		if (i == e->nrefs && rc == 0) {
			mark_key(k, MARK_SNAPSHOT, sid);
			rc = mdb_put(txn, vr->dbi, &key, &val, 0);
		}
		if (rc != 0) {
			mdb_txn_abort(txn);
			break;
		}
		if ((rc = mdb_txn_commit(txn)) != 0)
			break;
	} while (i < e->nrefs);
	envelope_reader_free(head);
	return rc == 0 ? 0 : fail(vr, "mark store: %s", mdb_strerror(rc));
}

/* ---- snapshots: forget, then mark -------------------------------------- */

struct snaps {
	struct retention_snap *a;
	size_t n, cap;
	int oom;
};

static int
snaps_cb(const uint8_t id[VSP_ID_LEN], const struct meta_snapshot *s,
    const struct meta_object *o, void *arg)
{
	struct snaps *ss = arg;
	struct retention_snap *rs;

	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? 2 * ss->cap : 64;
		if ((rs = realloc(ss->a, cap * sizeof(*rs))) == NULL) {
			ss->oom = 1;
			return 1;
		}
		ss->a = rs;
		ss->cap = cap;
	}
	rs = &ss->a[ss->n++];
	memcpy(rs->id, id, VSP_ID_LEN);
	memcpy(rs->group, s->group, RETENTION_GROUP_LEN);
	rs->client_time = s->client_time;
	rs->received = o->received;
	rs->keep = 1;
	return 0;
}

static int
has_keep_rules(const struct conf_policy *p)
{
	return p->keep_last || p->keep_hourly || p->keep_daily || p->keep_weekly ||
	    p->keep_monthly || p->keep_yearly || p->keep_within;
}

/* Deletes a snapshot the keep rules drop (object and header record). */
static int
forget(struct vrun *vr, const uint8_t sid[VSP_ID_LEN])
{
	char key[STORE_KEY_MAX + 1];
	int rc;

	store_object_key(key, vr->v->id, VSP_KIND_SNAPSHOT, sid);
	store_lock(vr->v->id, sid);
	rc = meta_object_delete(vr->g->cfg.meta, vr->v->id, VSP_KIND_SNAPSHOT, sid, NULL);
	if (rc == META_OK && backend_remove(vr->g->cfg.backend, key) != 0 && errno != ENOENT)
		log_msg(VLOG_ERROR, "gc: remove %s: %s", key, strerror(errno));
	store_unlock(vr->v->id, sid);
	if (rc != META_OK && rc != META_NOTFOUND)
		return fail(vr, "metadata error while forgetting a snapshot");
	return 0;
}

/* Forgets what the keep rules drop and marks what they keep. Returns 0, 1
 * when the vault cannot be judged (skipped), or -1. */
static int
snapshots_phase(struct vrun *vr)
{
	struct snaps ss = {0};
	struct keep_rules kr;
	uint64_t count;
	int rc = 0;

	if (meta_gc_snapshots(vr->g->cfg.meta, vr->v->id, snaps_cb, &ss, &count) != META_OK ||
	    ss.oom) {
		free(ss.a);
		return fail(vr, "cannot list the snapshots of vault %" PRIu64, vr->v->id);
	}
	/* restic's snapshots are not envelopes: their references are unknown.
	 * Key objects mark restic's vault only while it has no envelope yet:
	 * the vault client keeps its own key objects (spec/client-crypto.md 8)
	 * beside envelope snapshots. */
	if ((vr->v->kind_objects[VSP_KIND_KEY] != 0 && count == 0) ||
	    count != vr->v->kind_objects[VSP_KIND_SNAPSHOT]) {
		free(ss.a);
		return 1;
	}
	if (has_keep_rules(&vr->pol)) {
		kr = (struct keep_rules){ vr->pol.keep_last, vr->pol.keep_hourly,
		    vr->pol.keep_daily, vr->pol.keep_weekly, vr->pol.keep_monthly,
		    vr->pol.keep_yearly, vr->pol.keep_within };
		if (retention_apply(&kr, ss.a, ss.n, vr->now) != 0) {
			free(ss.a);
			return fail(vr, "out of memory applying the keep rules");
		}
	}
	for (size_t i = 0; rc == 0 && i < ss.n; i++) {
		struct retention_snap *s = &ss.a[i];
		/* A snapshot inside its lock stays, and so does what it needs. */
		if (!s->keep && s->received <= vr->now && vr->now - s->received >= vr->pol.lock) {
			vr->r->snapshots_forgotten++;
			if (!vr->dry)
				rc = forget(vr, s->id);
			continue;
		}
		rc = mark_snapshot(vr, s->id);
	}
	free(ss.a);
	return rc;
}

/* ---- sweep ------------------------------------------------------------- */

struct batch {
	uint8_t ids[GC_BATCH][VSP_ID_LEN];
	struct meta_object o[GC_BATCH];
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

struct known_ctx {
	struct vrun *vr;
	MDB_txn *txn;
};

static int
known_cb(const uint8_t id[VSP_ID_LEN], void *arg)
{
	struct known_ctx *k = arg;

	return marked(k->vr, k->txn, MARK_SNAPSHOT, id) == 1;
}

/* Collects the snapshots not marked yet (committed since the mark). */
struct fresh {
	struct vrun *vr;
	MDB_txn *txn;
	uint8_t (*ids)[VSP_ID_LEN];
	size_t n, cap;
	int oom;
};

static int
fresh_cb(const uint8_t id[VSP_ID_LEN], const struct meta_snapshot *s,
    const struct meta_object *o, void *arg)
{
	struct fresh *f = arg;
	void *grown;

	(void)s;
	(void)o;
	if (marked(f->vr, f->txn, MARK_SNAPSHOT, id) == 1)
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		if ((grown = realloc(f->ids, cap * VSP_ID_LEN)) == NULL) {
			f->oom = 1;
			return 1;
		}
		f->ids = grown;
		f->cap = cap;
	}
	memcpy(f->ids[f->n++], id, VSP_ID_LEN);
	return 0;
}

static int
mark_fresh(struct vrun *vr)
{
	struct fresh f = { vr, NULL, NULL, 0, 0, 0 };
	int rc;

	if (mdb_txn_begin(vr->env, NULL, MDB_RDONLY, &f.txn) != 0)
		return fail(vr, "mark store read failed");
	rc = meta_gc_snapshots(vr->g->cfg.meta, vr->v->id, fresh_cb, &f, NULL);
	mdb_txn_abort(f.txn);
	if (rc != META_OK || f.oom) {
		free(f.ids);
		return fail(vr, "cannot list the snapshots of vault %" PRIu64, vr->v->id);
	}
	rc = 0;
	for (size_t i = 0; rc == 0 && i < f.n; i++)
		rc = mark_snapshot(vr, f.ids[i]);
	free(f.ids);
	return rc;
}

/* Splits the batch into tombstone candidates (cand) and purge candidates
 * (purge), by the marks as they are now. */
static int
classify(struct vrun *vr, enum vsp_kind kind, const struct batch *b, uint64_t max_received,
    uint64_t purge_cutoff, uint8_t *cand, uint8_t *purge)
{
	MDB_txn *txn;
	int m;

	if (mdb_txn_begin(vr->env, NULL, MDB_RDONLY, &txn) != 0)
		return fail(vr, "mark store read failed");
	for (size_t i = 0; i < b->n; i++) {
		const struct meta_object *o = &b->o[i];
		cand[i] = purge[i] = 0;
		if (o->tombstoned != 0) {
			purge[i] = o->tombstoned <= purge_cutoff;
			continue;
		}
		if (o->received > max_received)
			continue;
		if ((m = marked(vr, txn, kind, b->ids[i])) < 0) {
			mdb_txn_abort(txn);
			return fail(vr, "mark store read failed");
		}
		cand[i] = m == 0;
	}
	mdb_txn_abort(txn);
	return 0;
}

static int
tombstone_batch(struct vrun *vr, enum vsp_kind kind, struct batch *b, uint64_t max_received,
    uint64_t purge_cutoff, uint8_t *cand, uint8_t *purge)
{
	uint8_t (*ids)[VSP_ID_LEN] = NULL;
	uint8_t done[GC_BATCH];
	size_t idx[GC_BATCH], n;
	struct known_ctx k = { vr, NULL };
	int rc = META_CHANGED;

	if ((ids = malloc(GC_BATCH * VSP_ID_LEN)) == NULL)
		return fail(vr, "out of memory");
	for (int tries = 0; rc == META_CHANGED && tries < GC_RETRIES; tries++) {
		n = 0;
		for (size_t i = 0; i < b->n; i++)
			if (cand[i]) {
				idx[n] = i;
				memcpy(ids[n++], b->ids[i], VSP_ID_LEN);
			}
		if (n == 0) {
			rc = META_OK;
			break;
		}
		if (mdb_txn_begin(vr->env, NULL, MDB_RDONLY, &k.txn) != 0) {
			rc = META_ERROR;
			break;
		}
		rc = meta_gc_tombstone(vr->g->cfg.meta, vr->v->id, kind,
		    (const uint8_t (*)[VSP_ID_LEN])ids, n, vr->now, max_received, known_cb, &k,
		    done);
		mdb_txn_abort(k.txn);
		if (rc == META_CHANGED) {
			/* A backup committed a snapshot: mark it, then judge again. */
			if (mark_fresh(vr) != 0 ||
			    classify(vr, kind, b, max_received, purge_cutoff, cand, purge) != 0) {
				free(ids);
				return -1;
			}
			continue;
		}
		for (size_t j = 0; rc == META_OK && j < n; j++)
			if (done[j]) {
				vr->r->objects_tombstoned++;
				vr->r->bytes_tombstoned += b->o[idx[j]].size;
			}
	}
	free(ids);
	if (rc == META_CHANGED)
		return fail(vr, "vault %" PRIu64 " kept getting new snapshots; try again later",
		    vr->v->id);
	return rc == META_OK ? 0 : fail(vr, "metadata error while tombstoning");
}

/* Deletes the delete candidates: records in one transaction, then files,
 * all under the stripes of the batch so no re-upload interleaves. */
static int
purge_batch(struct vrun *vr, enum vsp_kind kind, const struct batch *b, uint64_t cutoff,
    const uint8_t *purge)
{
	char key[STORE_KEY_MAX + 1];
	uint8_t (*ids)[VSP_ID_LEN], done[GC_BATCH];
	uint64_t size[GC_BATCH];
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < b->n; i++) {
		if (!purge[i])
			continue;
		n++;
		if (vr->dry) {
			vr->r->objects_deleted++;
			vr->r->bytes_deleted += b->o[i].size;
		}
	}
	if (vr->dry || n == 0)
		return 0;
	if ((ids = malloc(n * VSP_ID_LEN)) == NULL)
		return fail(vr, "out of memory");
	n = 0;
	for (size_t i = 0; i < b->n; i++)
		if (purge[i])
			memcpy(ids[n++], b->ids[i], VSP_ID_LEN);
	store_lock_many(vr->v->id, (const uint8_t (*)[VSP_ID_LEN])ids, n);
	rc = meta_gc_purge(vr->g->cfg.meta, vr->v->id, kind, (const uint8_t (*)[VSP_ID_LEN])ids,
	    n, cutoff, done, size);
	for (size_t i = 0; rc == META_OK && i < n; i++) {
		if (!done[i])
			continue;
		store_object_key(key, vr->v->id, kind, ids[i]);
		if (backend_remove(vr->g->cfg.backend, key) != 0 && errno != ENOENT)
			log_msg(VLOG_ERROR, "gc: remove %s: %s", key, strerror(errno));
		for (size_t j = 1; kind == VSP_KIND_PACK && j < vr->g->cfg.nbackends; j++)
			if (backend_remove(vr->g->cfg.backends[j], key) != 0 && errno != ENOENT)
				log_msg(VLOG_ERROR, "gc: remove %s: %s", key, strerror(errno));
		vr->r->objects_deleted++;
		vr->r->bytes_deleted += size[i];
	}
	store_unlock_many(vr->v->id, (const uint8_t (*)[VSP_ID_LEN])ids, n);
	free(ids);
	return rc == META_OK ? 0 : fail(vr, "metadata error while deleting");
}

static int
sweep_kind(struct vrun *vr, enum vsp_kind kind)
{
	uint64_t grace = vr->pol.gc_grace, lock = vr->pol.lock, now = vr->now;
	/* Eligible: received + grace <= now and received + lock <= now. */
	int eligible = grace <= now && lock <= now;
	uint64_t max_received = eligible ? now - (grace > lock ? grace : lock) : 0;
	uint64_t purge_cutoff = grace <= now ? now - grace : 0;
	uint8_t cand[GC_BATCH], purge[GC_BATCH], after[VSP_ID_LEN];
	struct batch *b;
	int more = 1, first = 1, rc = 0;

	if ((b = malloc(sizeof(*b))) == NULL)
		return fail(vr, "out of memory");
	while (rc == 0 && more) {
		b->n = 0;
		if (meta_gc_walk(vr->g->cfg.meta, vr->v->id, kind, first ? NULL : after, GC_BATCH,
		        batch_cb, b, &more) != META_OK) {
			rc = fail(vr, "metadata error while walking vault %" PRIu64, vr->v->id);
			break;
		}
		first = 0;
		if (b->n == 0)
			break;
		memcpy(after, b->ids[b->n - 1], VSP_ID_LEN);
		if ((rc = classify(vr, kind, b, max_received, purge_cutoff, cand, purge)) != 0)
			break;
		if (!eligible)
			memset(cand, 0, b->n);
		if (vr->dry) {
			for (size_t i = 0; i < b->n; i++)
				if (cand[i]) {
					vr->r->objects_tombstoned++;
					vr->r->bytes_tombstoned += b->o[i].size;
				}
		} else if ((rc = tombstone_batch(vr, kind, b, max_received, purge_cutoff, cand,
		        purge)) != 0)
			break;
		rc = purge_batch(vr, kind, b, purge_cutoff, purge);
	}
	free(b);
	return rc;
}

/* ---- runs -------------------------------------------------------------- */

static void
policy_of(struct gc *g, const struct meta_vault *v, struct conf_policy *out)
{
	struct meta_tenant t;

	memset(out, 0, sizeof(*out));
	out->gc_grace = CONF_DEFAULT_GC_GRACE;
	if (g->cfg.policy == NULL || meta_tenant_get_by_id(g->cfg.meta, v->tenant_id, &t) != META_OK)
		return;
	if (!g->cfg.policy(g->cfg.policy_arg, t.name, v->name, out)) {
		memset(out, 0, sizeof(*out));
		out->gc_grace = CONF_DEFAULT_GC_GRACE;
	}
}

static int
vault_run(struct gc *g, const struct meta_vault *v, const struct conf_policy *pol, int dry,
    uint64_t now, struct gc_report *r, char *err, size_t errlen)
{
	struct vrun vr = { .g = g, .v = v, .pol = *pol, .now = now, .dry = dry, .r = r,
	    .err = err, .errlen = errlen };
	int rc;

	if (marks_open(&vr) != 0)
		return -1;
	rc = snapshots_phase(&vr);
	if (rc == 1) {
		r->vaults_skipped++;
		marks_close(&vr);
		return 0;
	}
	if (rc == 0)
		rc = sweep_kind(&vr, VSP_KIND_PACK);
	if (rc == 0)
		rc = sweep_kind(&vr, VSP_KIND_INDEX);
	marks_close(&vr);
	if (rc == 0)
		r->vaults++;
	return rc;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loads the vaults to collect. */
static int
vaults_load(struct gc *g, const char *tenant, const char *vault, struct meta_vaults *vs,
    char *err, size_t errlen)
{
	int rc = meta_vaults_select(g->cfg.meta, tenant, vault, vs, err, errlen);

	return rc == META_OK ? GC_OK : rc == META_NOTFOUND ? GC_NOTFOUND : GC_ERROR;
}

int
gc_run(struct gc *g, const char *tenant, const char *vault, int dry_run, uint64_t now,
    struct gc_report *out, char *err, size_t errlen)
{
	struct meta_vaults vs = {0};
	struct conf_policy pol;
	double t0 = mono();
	int rc;

	memset(out, 0, sizeof(*out));
	if (pthread_mutex_trylock(&g->run) != 0) {
		snprintf(err, errlen, "a garbage collection is already running");
		return GC_BUSY;
	}
	rc = vaults_load(g, tenant, vault, &vs, err, errlen);
	for (size_t i = 0; rc == GC_OK && i < vs.n; i++) {
		policy_of(g, &vs.a[i], &pol);
		if (vault_run(g, &vs.a[i], &pol, dry_run, now, out, err, errlen) != 0)
			rc = GC_ERROR;
	}
	pthread_mutex_unlock(&g->run);
	free(vs.a);
	out->seconds = mono() - t0;
	return rc;
}

/* The last scheduled run of vault_id (0 = never), or where to record it. */
static struct last_run *
last_find(struct gc *g, uint64_t vault_id)
{
	struct last_run *grown;

	for (size_t i = 0; i < g->nlast; i++)
		if (g->last[i].vault_id == vault_id)
			return &g->last[i];
	if (g->nlast == g->caplast) {
		size_t cap = g->caplast ? 2 * g->caplast : 16;
		if ((grown = realloc(g->last, cap * sizeof(*grown))) == NULL)
			return NULL;
		g->last = grown;
		g->caplast = cap;
	}
	g->last[g->nlast] = (struct last_run){ vault_id, 0 };
	return &g->last[g->nlast++];
}

int
gc_run_due(struct gc *g, uint64_t now, struct gc_report *out)
{
	struct meta_vaults vs = {0};
	struct conf_policy pol;
	struct last_run *lr;
	char err[256];
	double t0 = mono();
	int rc;

	memset(out, 0, sizeof(*out));
	if (pthread_mutex_trylock(&g->run) != 0)
		return GC_BUSY;
	rc = vaults_load(g, NULL, NULL, &vs, err, sizeof(err));
	for (size_t i = 0; rc == GC_OK && i < vs.n; i++) {
		policy_of(g, &vs.a[i], &pol);
		if (pol.gc_every == 0 || (lr = last_find(g, vs.a[i].id)) == NULL)
			continue;
		if (lr->at != 0 && now - lr->at < pol.gc_every)
			continue;
		lr->at = now;
		/* One vault's failure is logged and does not stop the others. */
		(void)vault_run(g, &vs.a[i], &pol, 0, now, out, err, sizeof(err));
	}
	pthread_mutex_unlock(&g->run);
	free(vs.a);
	out->seconds = mono() - t0;
	return rc;
}
