/*
 * The tierer (tier.h, spec/tiering.md): moves, their recovery, the runs
 * over vaults, read times and the recall thread.
 */
#include "tier.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "meta_repl.h"
#include "meta_tier.h"
#include "scrub.h"
#include "store.h"
#include "tier_state.h"

#define TIER_RECOVER_BATCH 256
#define TIER_ACTIVE_MAX 8 /* moves in progress at once: a run and the recall thread */

struct recall {
	uint64_t vault_id;
	uint8_t kind;
	uint8_t id[VSP_ID_LEN];
	uint8_t from;
};

struct tier {
	struct tier_config cfg;
	struct tier_state *state;
	pthread_mutex_t run_mu;     /* one run at a time */
	pthread_mutex_t rate_mu;    /* the tier-rate bucket */
	struct scrub_bucket bucket;
	uint64_t last_due;          /* when the schedule last ran everything */
	/* Read times not yet written. */
	pthread_mutex_t use_mu;
	struct tier_use uses[TIER_USE_BATCH];
	size_t nuses;
	/* The recall queue; q[0] is being recalled while busy is 1. */
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv;
	struct recall q[TIER_RECALLS_MAX];
	size_t nq;
	int busy, stop, has_thread;
	pthread_t thread;
	/* Moves this process is making now, which recovery must leave alone. */
	pthread_mutex_t act_mu;
	struct recall active[TIER_ACTIVE_MAX];
	size_t nactive;
};

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *
tier_backend_name(const struct tier *t, unsigned i)
{
	return t != NULL && i < t->cfg.nbackends ? t->cfg.names[i] : NULL;
}

#ifdef VAULT_TEST_HOOKS
/*
 * Test builds only: tests/unit/test_tier.c includes this file with
 * VAULT_TEST_HOOKS defined and sets tier__crash_after to stop every move
 * after that step (1, 2, 4, 5 or 6; 0 = never) as a crash would, with
 * TIER_CRASHED. vaultd is built without it, and the checks compile away.
 */
static int tier__crash_after;
#define crash_here(t, step) (tier__crash_after == (step))
#else
#define crash_here(t, step) 0
#endif

/* Charges n bytes moved to a cold backend to the tier-rate bucket and waits
 * out any debt (spec/tiering.md, "Rate"). */
static void
pace(struct tier *t, uint64_t n)
{
	struct timespec ts;
	double wait;

	pthread_mutex_lock(&t->rate_mu);
	wait = scrub_bucket_take(&t->bucket, n, now_seconds());
	pthread_mutex_unlock(&t->rate_mu);
	if (wait <= 0)
		return;
	ts.tv_sec = (time_t)wait;
	ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Removes key from backend i; a missing key is fine. */
static int
remove_copy(struct tier *t, unsigned i, const char *key)
{
	if (backend_remove(t->cfg.backends[i], key) == 0 || errno == ENOENT)
		return 0;
	log_msg(VLOG_ERROR, "tier: remove %s from %s: %s", key, t->cfg.names[i],
	    strerror(errno));
	return -1;
}

/* Copies key from backend from to backend to, checking on the way that the
 * source bytes are the object (size and SHA-256). */
static int
copy_object(struct tier *t, const char *key, unsigned from, unsigned to, uint64_t size,
    const uint8_t id[VSP_ID_LEN])
{
	struct backend *src = t->cfg.backends[from], *dst = t->cfg.backends[to];
	struct store_check c = { .dst = dst };
	int e;

	if (backend_put_begin(dst, key, &c.put) != 0)
		return -1;
	if (store_copy_check(src, key, id, size, &c) != STORE_COPY_GOOD) {
		e = errno;
		backend_put_abort(dst, c.put);
		errno = e;
		return -1;
	}
	return backend_put_commit(dst, c.put);
}

/* Verifies the copy on backend to: one whose put was checked by the far end
 * (S3: signed with the SHA-256 of the bytes, which copy_object checked is
 * the ID) by its size, the others by reading it back and hashing it. */
static int
verify_copy(struct tier *t, const char *key, unsigned to, uint64_t size,
    const uint8_t id[VSP_ID_LEN])
{
	struct backend *b = t->cfg.backends[to];
	struct store_check c = {0};
	uint64_t have;

	if (backend_has_cap(b, BACKEND_CAP_CHECKED_PUT)) {
		if (backend_stat(b, key, &have) != 0)
			return -1;
		return have == size ? 0 : -1;
	}
	return store_copy_check(b, key, id, size, &c) == STORE_COPY_GOOD ? 0 : -1;
}

static int
set_locations(struct tier *t, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], uint32_t expect, uint32_t loc)
{
	int rc;

	store_lock(vault_id, id);
	rc = meta_object_set_locations(t->cfg.meta, vault_id, kind, id, expect, loc);
	store_unlock(vault_id, id);
	return rc;
}

/* Takes back a move that did not reach its first commit. */
static int
undo(struct tier *t, const struct tier_move *mv, const char *key, int rc)
{
	int saved = errno;

	remove_copy(t, mv->to, key);
	tier_state_move_end(t->state, mv->vault_id, mv->kind, mv->id);
	errno = saved;
	return rc;
}

/* Steps 4-6: the old copy goes, then its location. */
static int
finish_move(struct tier *t, const struct tier_move *mv, const char *key)
{
	uint32_t both = (1u << mv->from) | (1u << mv->to);
	int rc;

	if (remove_copy(t, mv->from, key) != 0)
		return TIER_ERROR; /* the journal stays: recovery finishes it */
	if (crash_here(t, 5))
		return TIER_CRASHED;
	rc = set_locations(t, mv->vault_id, mv->kind, mv->id, both, 1u << mv->to);
	if (rc != META_OK && rc != META_NOTFOUND && rc != META_CHANGED)
		return TIER_ERROR;
	if (crash_here(t, 6))
		return TIER_CRASHED;
	return tier_state_move_end(t->state, mv->vault_id, mv->kind, mv->id) == 0 ? TIER_OK :
	    TIER_ERROR;
}

static int move_steps(struct tier *t, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], unsigned from, unsigned to);

static int
same_recall(const struct recall *r, uint64_t vault_id, uint8_t kind, const uint8_t *id)
{
	return r->vault_id == vault_id && r->kind == kind && memcmp(r->id, id, VSP_ID_LEN) == 0;
}

/* 1 if this process is moving the object right now. */
static int
is_active(struct tier *t, uint64_t vault_id, uint8_t kind, const uint8_t *id)
{
	int found = 0;

	pthread_mutex_lock(&t->act_mu);
	for (size_t i = 0; i < t->nactive && !found; i++)
		found = same_recall(&t->active[i], vault_id, kind, id);
	pthread_mutex_unlock(&t->act_mu);
	return found;
}

int
tier_move(struct tier *t, uint64_t vault_id, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    unsigned from, unsigned to)
{
	int rc = TIER_BUSY;

	pthread_mutex_lock(&t->act_mu);
	for (size_t i = 0; i < t->nactive; i++)
		if (same_recall(&t->active[i], vault_id, (uint8_t)kind, id))
			goto busy;
	if (t->nactive == TIER_ACTIVE_MAX)
		goto busy;
	t->active[t->nactive] = (struct recall){.vault_id = vault_id, .kind = (uint8_t)kind};
	memcpy(t->active[t->nactive++].id, id, VSP_ID_LEN);
	pthread_mutex_unlock(&t->act_mu);
	rc = move_steps(t, vault_id, kind, id, from, to);
	pthread_mutex_lock(&t->act_mu);
	for (size_t i = 0; i < t->nactive; i++)
		if (same_recall(&t->active[i], vault_id, (uint8_t)kind, id)) {
			t->active[i] = t->active[--t->nactive];
			break;
		}
busy:
	pthread_mutex_unlock(&t->act_mu);
	return rc;
}

/* The steps of a move (spec/tiering.md, "Moves"). */
static int
move_steps(struct tier *t, uint64_t vault_id, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    unsigned from, unsigned to)
{
	struct tier_move mv = {.vault_id = vault_id, .kind = (uint8_t)kind,
	    .from = (uint8_t)from, .to = (uint8_t)to, .started = (uint64_t)time(NULL)};
	char key[STORE_KEY_MAX + 1];
	struct meta_object o;
	int rc;

	if (from >= t->cfg.nbackends || to >= t->cfg.nbackends || from == to)
		return TIER_ERROR;
	memcpy(mv.id, id, VSP_ID_LEN);
	rc = meta_object_get(t->cfg.meta, vault_id, kind, id, &o);
	if (rc == META_NOTFOUND)
		return TIER_NOTFOUND;
	if (rc != META_OK)
		return TIER_ERROR;
	if (o.locations != 1u << from)
		return TIER_CHANGED;
	store_object_key(key, vault_id, kind, id);
	/* 1: the journal, before any byte is copied. */
	if (tier_state_move_begin(t->state, &mv) != 0)
		return TIER_ERROR;
	if (crash_here(t, 1))
		return TIER_CRASHED;
	/* 2, 3: copy and verify. */
	if (copy_object(t, key, from, to, o.size, id) != 0 ||
	    verify_copy(t, key, to, o.size, id) != 0) {
		log_msg(VLOG_ERROR, "tier: copy of %s from %s to %s failed: %s", key,
		    t->cfg.names[from], t->cfg.names[to], strerror(errno));
		return undo(t, &mv, key, TIER_ERROR);
	}
	if (crash_here(t, 2))
		return TIER_CRASHED;
	/* tier-rate is paid here, with the copy made and not yet recorded: a stop
	 * during the wait is settled by recovery like a crash after step 3. */
	if (to != 0)
		pace(t, o.size);
	/* 4: the new location joins the old one. */
	rc = set_locations(t, vault_id, kind, id, 1u << from, (1u << from) | (1u << to));
	if (rc != META_OK)
		return undo(t, &mv, key, rc == META_NOTFOUND ? TIER_NOTFOUND :
		    rc == META_CHANGED ? TIER_CHANGED : TIER_ERROR);
	if (crash_here(t, 4))
		return TIER_CRASHED;
	return finish_move(t, &mv, key);
}

/* Finishes or undoes one journalled move, by what the metadata says. */
static int
recover_one(struct tier *t, const struct tier_move *mv)
{
	char key[STORE_KEY_MAX + 1];
	uint32_t from = 1u << mv->from, to = 1u << mv->to;
	struct meta_object o;
	int rc;

	if (mv->from >= t->cfg.nbackends || mv->to >= t->cfg.nbackends ||
	    mv->kind >= VSP_KIND_COUNT) {
		log_msg(VLOG_ERROR, "tier: a journalled move names a backend or kind this "
		    "configuration lacks; it is kept");
		return -1;
	}
	if (is_active(t, mv->vault_id, mv->kind, mv->id))
		return 0; /* in progress here: it finishes or undoes itself */
	store_object_key(key, mv->vault_id, mv->kind, mv->id);
	rc = meta_object_get(t->cfg.meta, mv->vault_id, mv->kind, mv->id, &o);
	if (rc == META_NOTFOUND || (rc == META_OK && o.locations == from))
		/* Never committed (or the object went): the copy goes. */
		return undo(t, mv, key, 0);
	if (rc != META_OK)
		return -1;
	if (o.locations == (from | to) || o.locations == to)
		return finish_move(t, mv, key) == TIER_OK ? 0 : -1;
	log_msg(VLOG_ERROR, "tier: %s has locations 0x%x, not what its journalled move "
	    "expects; the journal record is dropped", key, (unsigned)o.locations);
	return tier_state_move_end(t->state, mv->vault_id, mv->kind, mv->id);
}

static int
tier_recover(struct tier *t, uint64_t *n)
{
	struct tier_move *mv = malloc(TIER_RECOVER_BATCH * sizeof(*mv));
	size_t got;
	int more = 1, rc = 0;

	*n = 0;
	if (mv == NULL)
		return -1;
	while (more && rc == 0) {
		if (tier_state_moves(t->state, mv, TIER_RECOVER_BATCH, &got, &more) != 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < got; i++)
			if (recover_one(t, &mv[i]) == 0)
				(*n)++;
			else
				rc = -1;
	}
	free(mv);
	return rc;
}

/* --- read times --- */

static void
use_note(struct tier *t, uint64_t vault_id, uint8_t kind, const uint8_t id[VSP_ID_LEN],
    uint64_t read, uint64_t recall)
{
	struct tier_use *u = NULL;
	int flush = 0;

	pthread_mutex_lock(&t->use_mu);
	for (size_t i = 0; i < t->nuses && u == NULL; i++)
		if (t->uses[i].vault_id == vault_id && t->uses[i].kind == kind &&
		    memcmp(t->uses[i].id, id, VSP_ID_LEN) == 0)
			u = &t->uses[i];
	if (u == NULL) {
		u = &t->uses[t->nuses++];
		*u = (struct tier_use){.vault_id = vault_id, .kind = kind};
		memcpy(u->id, id, VSP_ID_LEN);
	}
	if (read > u->last_read)
		u->last_read = read;
	if (recall > u->last_recall)
		u->last_recall = recall;
	flush = t->nuses == TIER_USE_BATCH;
	pthread_mutex_unlock(&t->use_mu);
	if (flush)
		tier_flush_uses(t);
}

void
tier_note_read(struct tier *t, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], uint64_t now)
{
	if (t != NULL)
		use_note(t, vault_id, (uint8_t)kind, id, now, 0);
}

int
tier_flush_uses(struct tier *t)
{
	struct tier_use *batch = malloc(sizeof(t->uses));
	size_t n;
	int rc;

	if (batch == NULL)
		return -1;
	pthread_mutex_lock(&t->use_mu);
	n = t->nuses;
	memcpy(batch, t->uses, n * sizeof(*batch));
	t->nuses = 0;
	pthread_mutex_unlock(&t->use_mu);
	rc = n > 0 ? tier_state_use_merge(t->state, batch, n) : 0;
	free(batch);
	return rc;
}

/* --- runs --- */

/* Whether the pack (with its use record) is due to move under pol. */
static int
eligible(const struct conf_policy *pol, const struct meta_object *o, const struct tier_use *u,
    uint64_t now)
{
	uint64_t since_recv = o->received > u->last_recall ? o->received : u->last_recall;
	uint64_t since_read = o->received > u->last_read ? o->received : u->last_read;

	if (pol->tier_after != 0 && (now < since_recv || now - since_recv < pol->tier_after))
		return 0;
	if (pol->tier_idle != 0 && (now < since_read || now - since_read < pol->tier_idle))
		return 0;
	return pol->tier_after != 0 || pol->tier_idle != 0;
}

/* 1 if a replication target still has to copy the object from the hot
 * backend (the replicator reads only there), so it must stay. */
static int
replication_pending(struct tier *t, const struct conf_policy *pol, uint64_t vault_id,
    const uint8_t id[VSP_ID_LEN])
{
	for (unsigned i = 0; i < pol->nreplicate; i++) {
		int queued = 0, done = 0;
		if (meta_repl_get(t->cfg.meta, pol->replicate_to[i], vault_id, VSP_KIND_PACK, id,
		    NULL, &queued, &done) != META_OK || queued)
			return 1;
	}
	return 0;
}

struct pack_batch {
	uint8_t ids[TIER_BATCH][VSP_ID_LEN];
	struct meta_object objs[TIER_BATCH];
	size_t n;
};

static int
collect_pack(const uint8_t id[VSP_ID_LEN], const struct meta_object *o, void *arg)
{
	struct pack_batch *b = arg;

	memcpy(b->ids[b->n], id, VSP_ID_LEN);
	b->objs[b->n++] = *o;
	return 0;
}

static void
consider(struct tier *t, const struct conf_policy *pol, uint64_t vault_id, unsigned to,
    const uint8_t id[VSP_ID_LEN], const struct meta_object *o, uint64_t now,
    struct tier_report *r)
{
	struct tier_use u;
	int rc;

	r->examined++;
	if (o->locations != 1u ||
	    tier_state_use_get(t->state, vault_id, VSP_KIND_PACK, id, &u) != 0 ||
	    !eligible(pol, o, &u, now))
		return;
	if (replication_pending(t, pol, vault_id, id)) {
		r->held++;
		return;
	}
	rc = tier_move(t, vault_id, VSP_KIND_PACK, id, 0, to);
	if (rc == TIER_OK) {
		r->moved++;
		r->bytes_moved += o->size;
	} else if (rc == TIER_ERROR || rc == TIER_CRASHED)
		r->failed++;
}

/* Moves the eligible packs of one vault. */
static int
tier_vault(struct tier *t, const struct meta_vault *v, const char *tenant, uint64_t now,
    struct tier_report *r)
{
	struct conf_policy pol;
	struct pack_batch *b;
	uint8_t after[VSP_ID_LEN];
	int to = -1, more = 1, first = 1;

	if (t->cfg.policy == NULL || !t->cfg.policy(t->cfg.policy_arg, tenant, v->name, &pol) ||
	    pol.tier_to[0] == '\0')
		return 0;
	for (size_t i = 1; i < t->cfg.nbackends; i++)
		if (strcmp(t->cfg.names[i], pol.tier_to) == 0)
			to = (int)i;
	if (to < 0) {
		log_msg(VLOG_ERROR, "tier: vault %s/%s: no backend '%s' was opened", tenant,
		    v->name, pol.tier_to);
		return 0;
	}
	r->vaults++;
	if ((b = malloc(sizeof(*b))) == NULL)
		return -1;
	while (more) {
		b->n = 0;
		if (meta_object_list(t->cfg.meta, v->id, VSP_KIND_PACK, first ? NULL : after,
		    TIER_BATCH, collect_pack, b, &more) != META_OK) {
			free(b);
			return -1;
		}
		first = 0;
		for (size_t i = 0; i < b->n; i++)
			consider(t, &pol, v->id, (unsigned)to, b->ids[i], &b->objs[i], now, r);
		if (b->n > 0)
			memcpy(after, b->ids[b->n - 1], VSP_ID_LEN);
	}
	free(b);
	return 0;
}

struct vault_list {
	struct meta_vault *v;
	size_t n, cap;
};

static int
collect_vault(const struct meta_vault *v, void *arg)
{
	struct vault_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct meta_vault *g = realloc(l->v, cap * sizeof(*g));
		if (g == NULL)
			return -1;
		l->v = g;
		l->cap = cap;
	}
	l->v[l->n++] = *v;
	return 0;
}

/* The vaults a run covers. */
static int
vaults_of(struct tier *t, const char *tenant, const char *vault, struct vault_list *l,
    char *err, size_t errlen)
{
	struct meta_tenant tn;
	struct meta_vault v;
	int rc;

	if (tenant == NULL)
		return meta_vault_list(t->cfg.meta, 0, collect_vault, l) == META_OK ? TIER_OK :
		    TIER_ERROR;
	if ((rc = meta_tenant_get(t->cfg.meta, tenant, &tn)) != META_OK) {
		snprintf(err, errlen, rc == META_NOTFOUND ? "no tenant '%s'" :
		    "metadata error while looking up tenant '%s'", tenant);
		return rc == META_NOTFOUND ? TIER_NOTFOUND : TIER_ERROR;
	}
	if (vault == NULL)
		return meta_vault_list(t->cfg.meta, tn.id, collect_vault, l) == META_OK ? TIER_OK :
		    TIER_ERROR;
	if ((rc = meta_vault_get(t->cfg.meta, tn.id, vault, &v)) != META_OK) {
		snprintf(err, errlen, rc == META_NOTFOUND ? "tenant '%s' has no vault '%s'" :
		    "metadata error while looking up vault '%s/%s'", tenant, vault);
		return rc == META_NOTFOUND ? TIER_NOTFOUND : TIER_ERROR;
	}
	return collect_vault(&v, l) == 0 ? TIER_OK : TIER_ERROR;
}

int
tier_run(struct tier *t, const char *tenant, const char *vault, uint64_t now,
    struct tier_report *out, char *err, size_t errlen)
{
	struct vault_list l = {0};
	double start = now_seconds();
	struct meta_tenant tn;
	int rc;

	memset(out, 0, sizeof(*out));
	if (pthread_mutex_trylock(&t->run_mu) != 0) {
		snprintf(err, errlen, "a tiering run is in progress");
		return TIER_BUSY;
	}
	/* Half-done moves first, and the newest read times. */
	if (tier_recover(t, &out->recovered) != 0 || tier_flush_uses(t) != 0) {
		snprintf(err, errlen, "the tierer's state cannot be read or written (see the log)");
		rc = TIER_ERROR;
		goto out;
	}
	if ((rc = vaults_of(t, tenant, vault, &l, err, errlen)) != TIER_OK) {
		if (rc == TIER_ERROR && err[0] == '\0')
			snprintf(err, errlen, "metadata error while listing vaults");
		goto out;
	}
	for (size_t i = 0; i < l.n && rc == TIER_OK; i++) {
		if (meta_tenant_get_by_id(t->cfg.meta, l.v[i].tenant_id, &tn) != META_OK ||
		    tier_vault(t, &l.v[i], tn.name, now, out) != 0) {
			snprintf(err, errlen, "metadata error in vault '%s'", l.v[i].name);
			rc = TIER_ERROR;
		}
	}
out:
	free(l.v);
	out->seconds = now_seconds() - start;
	pthread_mutex_unlock(&t->run_mu);
	return rc;
}

int
tier_run_due(struct tier *t, uint64_t now, struct tier_report *out)
{
	char err[256];
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->last_due != 0 && now - t->last_due < TIER_EVERY_S)
		return TIER_OK;
	rc = tier_run(t, NULL, NULL, now, out, err, sizeof(err));
	if (rc == TIER_OK)
		t->last_due = now;
	else if (rc != TIER_BUSY)
		log_msg(VLOG_ERROR, "scheduled tiering: %s", err);
	return rc;
}

/* --- recalls --- */

int
tier_recall(struct tier *t, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], unsigned from)
{
	int rc = TIER_OK;

	if (t == NULL || !t->has_thread)
		return TIER_ERROR;
	pthread_mutex_lock(&t->q_mu);
	for (size_t i = 0; i < t->nq; i++)
		if (same_recall(&t->q[i], vault_id, (uint8_t)kind, id))
			goto out;
	if (t->nq == TIER_RECALLS_MAX) {
		rc = TIER_BUSY;
		goto out;
	}
	t->q[t->nq] = (struct recall){.vault_id = vault_id, .kind = (uint8_t)kind,
	    .from = (uint8_t)from};
	memcpy(t->q[t->nq++].id, id, VSP_ID_LEN);
	pthread_cond_signal(&t->q_cv);
out:
	pthread_mutex_unlock(&t->q_mu);
	return rc;
}

size_t
tier_recalls_pending(struct tier *t)
{
	size_t n;

	if (t == NULL)
		return 0;
	pthread_mutex_lock(&t->q_mu);
	n = t->nq;
	pthread_mutex_unlock(&t->q_mu);
	return n;
}

static void *
recall_main(void *arg)
{
	struct tier *t = arg;

	pthread_mutex_lock(&t->q_mu);
	for (;;) {
		while (t->nq == 0 && !t->stop)
			pthread_cond_wait(&t->q_cv, &t->q_mu);
		if (t->stop)
			break;
		struct recall r = t->q[0];
		t->busy = 1;
		pthread_mutex_unlock(&t->q_mu);
		int rc = tier_move(t, r.vault_id, r.kind, r.id, r.from, 0);
		if (rc == TIER_OK) {
			uint64_t now = (uint64_t)time(NULL);
			use_note(t, r.vault_id, r.kind, r.id, now, now);
		} else if (rc != TIER_CHANGED && rc != TIER_NOTFOUND)
			log_msg(VLOG_ERROR, "tier: a recall failed (it is retried at the next "
			    "read)");
		pthread_mutex_lock(&t->q_mu);
		/* Done (or failed): off the queue, so the next GET asks again. */
		memmove(&t->q[0], &t->q[1], (t->nq - 1) * sizeof(t->q[0]));
		t->nq--;
		t->busy = 0;
	}
	pthread_mutex_unlock(&t->q_mu);
	return NULL;
}

/* --- life cycle --- */

struct tier *
tier_new(const struct tier_config *cfg)
{
	struct tier *t;
	uint64_t n;

	if (cfg->nbackends == 0 || cfg->nbackends > TIER_BACKENDS_MAX)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cfg = *cfg;
	pthread_mutex_init(&t->run_mu, NULL);
	pthread_mutex_init(&t->rate_mu, NULL);
	scrub_bucket_init(&t->bucket, cfg->rate);
	pthread_mutex_init(&t->use_mu, NULL);
	pthread_mutex_init(&t->q_mu, NULL);
	pthread_mutex_init(&t->act_mu, NULL);
	pthread_cond_init(&t->q_cv, NULL);
	if (tier_state_open(cfg->state_dir, &t->state) != 0)
		goto err;
	if (tier_recover(t, &n) != 0)
		log_msg(VLOG_ERROR, "tier: some interrupted moves could not be finished yet; "
		    "the next run tries again");
	else if (n > 0)
		log_msg(VLOG_INFO, "tier: finished or undid %" PRIu64 " interrupted move(s)",
		    n);
	if (cfg->recall_thread) {
		if ((errno = pthread_create(&t->thread, NULL, recall_main, t)) != 0) {
			log_msg(VLOG_ERROR, "tier: cannot start the recall thread: %s",
			    strerror(errno));
			goto err;
		}
		t->has_thread = 1;
	}
	return t;
err:
	tier_state_close(t->state);
	free(t);
	return NULL;
}

void
tier_free(struct tier *t)
{
	if (t == NULL)
		return;
	if (t->has_thread) {
		pthread_mutex_lock(&t->q_mu);
		t->stop = 1;
		pthread_cond_signal(&t->q_cv);
		pthread_mutex_unlock(&t->q_mu);
		pthread_join(t->thread, NULL);
	}
	tier_flush_uses(t);
	tier_state_close(t->state);
	pthread_cond_destroy(&t->q_cv);
	pthread_mutex_destroy(&t->q_mu);
	pthread_mutex_destroy(&t->act_mu);
	pthread_mutex_destroy(&t->use_mu);
	pthread_mutex_destroy(&t->run_mu);
	pthread_mutex_destroy(&t->rate_mu);
	free(t);
}
