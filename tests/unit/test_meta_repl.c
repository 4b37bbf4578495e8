/*
 * Unit tests for the replication queue in LMDB (vaultd/meta_repl.c;
 * spec/replication.md "State", spec/storage.md "Replication"): commits queue
 * puts in their own transaction for the targets the hook names, and not for
 * lock objects; removals drop a put that never went out and queue a delete
 * only for a copy that was done; a copy that lands after its object was
 * purged turns into a delete; an object back before its delete went out is
 * copied again; retries, permanent failures and their release; the due scan's
 * order, filter and limit; seeding; the status figures; the stored bytes;
 * and a corrupt record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>

#include "envelope.h"
#include "meta.h"
#include "meta_repl.h"

#define NOW 1700000000u

struct fx {
	char root[256];
	char dir[300];
	struct meta *m;
	uint64_t vault_id, plain_id;
	/* What the hook answers for vault "v" (vault "plain" gets nothing). */
	char names[META_REPL_TARGETS_MAX][VSP_NAME_MAX + 1];
	size_t nnames;
	unsigned calls;
};

static size_t
hook(void *arg, const char *tenant, const char *vault, char (*names)[VSP_NAME_MAX + 1],
    size_t max)
{
	struct fx *f = arg;
	size_t n = 0;

	f->calls++;
	if (strcmp(tenant, "acme") != 0 || strcmp(vault, "v") != 0)
		return 0;
	for (; n < f->nnames && n < max; n++)
		memcpy(names[n], f->names[n], VSP_NAME_MAX + 1);
	return n;
}

static void
make_id(uint8_t id[VSP_ID_LEN], unsigned n)
{
	for (size_t i = 0; i < VSP_ID_LEN; i++)
		id[i] = (uint8_t)(n * 31 + i * 7 + (n >> 8));
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	struct meta_tenant t;
	struct meta_vault v;

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/test_meta_repl.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/meta", f->root);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
	assert_int_equal(meta_tenant_add(f->m, "acme", NOW, &t), META_OK);
	assert_int_equal(meta_vault_create(f->m, t.id, "v", NOW, &v), META_OK);
	f->vault_id = v.id;
	assert_int_equal(meta_vault_create(f->m, t.id, "plain", NOW, &v), META_OK);
	f->plain_id = v.id;
	strcpy(f->names[0], "dr");
	strcpy(f->names[1], "cloud");
	f->nnames = 2;
	meta_repl_set_targets(f->m, hook, f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	meta_close(f->m);
	assert_int_equal(nftw(f->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static void
put(struct fx *f, uint64_t vault_id, enum vsp_kind kind, unsigned n, uint64_t size)
{
	uint8_t id[VSP_ID_LEN];
	struct meta_object o = { size, NOW, 1, 0 };

	make_id(id, n);
	assert_int_equal(meta_object_put(f->m, vault_id, kind, id, &o, NULL), META_OK);
}

/* The state of (target, vault v, kind, n): 'q' queued put, 'd' queued
 * delete, '-' nothing, with the done flag. */
static void
state_of(struct fx *f, const char *target, uint8_t kind, unsigned n, char *op, int *done)
{
	uint8_t id[VSP_ID_LEN];
	struct meta_repl_item it;
	int queued;

	make_id(id, n);
	assert_int_equal(meta_repl_get(f->m, target, f->vault_id, kind, id, &it, &queued, done),
	    META_OK);
	*op = !queued ? '-' : it.op == META_REPL_PUT ? 'q' : 'd';
}

static void
expect(struct fx *f, const char *target, uint8_t kind, unsigned n, char op, int done)
{
	char got;
	int d;

	state_of(f, target, kind, n, &got, &d);
	if (got != op || d != done)
		fail_msg("%s kind %u #%u: state %c done %d, expected %c done %d", target, kind, n,
		    got, d, op, done);
}

static struct meta_repl_item
item(struct fx *f, const char *target, uint8_t kind, unsigned n, uint8_t op, uint64_t size)
{
	struct meta_repl_item it;

	memset(&it, 0, sizeof(it));
	strcpy(it.target, target);
	it.vault_id = f->vault_id;
	it.kind = kind;
	make_id(it.id, n);
	it.op = op;
	it.size = size;
	return it;
}

/* GC's two phases on object n: tombstone, then purge. */
static void
gc_remove(struct fx *f, unsigned n)
{
	uint8_t ids[1][VSP_ID_LEN], done[1];
	uint64_t size[1];

	make_id(ids[0], n);
	assert_int_equal(meta_gc_tombstone(f->m, f->vault_id, VSP_KIND_PACK,
	    (const uint8_t (*)[VSP_ID_LEN])ids, 1, NOW + 10, NOW, NULL, NULL, done), META_OK);
	assert_int_equal(done[0], 1);
	assert_int_equal(meta_gc_purge(f->m, f->vault_id, VSP_KIND_PACK,
	    (const uint8_t (*)[VSP_ID_LEN])ids, 1, NOW + 10, done, size), META_OK);
	assert_int_equal(done[0], 1);
}

static size_t
due(struct fx *f, uint64_t now, struct meta_repl_item *out, size_t max, uint64_t *next)
{
	size_t n;

	assert_int_equal(meta_repl_due(f->m, now, NULL, NULL, out, max, &n, next), META_OK);
	return n;
}

struct stats_acc {
	struct meta_repl_stats s[4];
	size_t n;
};

static int
stats_cb(const struct meta_repl_stats *s, void *arg)
{
	struct stats_acc *a = arg;

	if (a->n < 4)
		a->s[a->n++] = *s;
	return 0;
}

static struct meta_repl_stats
stats_for(struct fx *f, const char *target)
{
	struct stats_acc a = { .n = 0 };

	assert_int_equal(meta_repl_stats(f->m, stats_cb, &a), META_OK);
	for (size_t i = 0; i < a.n; i++)
		if (strcmp(a.s[i].target, target) == 0)
			return a.s[i];
	fail_msg("no stats for %s", target);
	return a.s[0];
}

/* ---- tests ------------------------------------------------------------ */

static void
test_commit_queues(void **state)
{
	struct fx *f = *state;
	uint8_t id[VSP_ID_LEN], missing[1], group[ENVELOPE_GROUP_LEN] = {0}, *buf;
	struct meta_object o = { 77, NOW, 1, 0 };
	struct envelope_ref ref = { ENVELOPE_KIND_PACK, {0} };
	struct envelope env;
	size_t len;

	put(f, f->vault_id, VSP_KIND_PACK, 1, 100);
	expect(f, "dr", VSP_KIND_PACK, 1, 'q', 0);
	expect(f, "cloud", VSP_KIND_PACK, 1, 'q', 0);
	/* Locks are local; another vault's policy names nothing. */
	put(f, f->vault_id, VSP_KIND_LOCK, 2, 10);
	expect(f, "dr", VSP_KIND_LOCK, 2, '-', 0);
	put(f, f->plain_id, VSP_KIND_PACK, 3, 10);
	assert_int_equal(stats_for(f, "dr").queued, 1);
	/* A second put of the same ID changes nothing. */
	make_id(id, 1);
	assert_int_equal(meta_object_put(f->m, f->vault_id, VSP_KIND_PACK, id, &o, NULL),
	    META_EXISTS);
	assert_int_equal(stats_for(f, "dr").queued, 1);
	/* The config, and a snapshot through the commit invariant. */
	make_id(id, 9);
	assert_int_equal(meta_vault_set_config(f->m, f->vault_id, id, 300), META_OK);
	expect(f, "dr", META_REPL_CONFIG, 9, 'q', 0);
	make_id(ref.id, 1);
	assert_int_equal(envelope_encode(1, group, 0, &ref, 1, NULL, 0, &buf, &len), 0);
	assert_int_equal(envelope_parse(buf, len, &env), ENVELOPE_OK);
	make_id(id, 4);
	assert_int_equal(meta_snapshot_put(f->m, f->vault_id, id, &o, &env, missing, NULL),
	    META_OK);
	free(buf);
	expect(f, "cloud", VSP_KIND_SNAPSHOT, 4, 'q', 0);
	/* A snapshot refused by the invariant queues nothing. */
	make_id(ref.id, 200);
	assert_int_equal(envelope_encode(1, group, 0, &ref, 1, NULL, 0, &buf, &len), 0);
	assert_int_equal(envelope_parse(buf, len, &env), ENVELOPE_OK);
	make_id(id, 5);
	assert_int_equal(meta_snapshot_put(f->m, f->vault_id, id, &o, &env, missing, NULL),
	    META_MISSING);
	free(buf);
	expect(f, "dr", VSP_KIND_SNAPSHOT, 5, '-', 0);
	assert_int_equal(stats_for(f, "dr").queued, 3);
	/* The queue survives a reopen. */
	meta_close(f->m);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
	expect(f, "dr", VSP_KIND_PACK, 1, 'q', 0);
}

static void
test_complete_and_delete(void **state)
{
	struct fx *f = *state;
	struct meta_repl_item it = item(f, "dr", VSP_KIND_PACK, 1, META_REPL_PUT, 100);
	struct meta_repl_stats s;

	put(f, f->vault_id, VSP_KIND_PACK, 1, 100);
	put(f, f->vault_id, VSP_KIND_PACK, 2, 50);
	assert_int_equal(meta_repl_complete(f->m, &it, NOW + 1), META_OK);
	expect(f, "dr", VSP_KIND_PACK, 1, '-', 1);
	expect(f, "cloud", VSP_KIND_PACK, 1, 'q', 0);
	/* A second completion (a copy made twice) counts once. */
	assert_int_equal(meta_repl_complete(f->m, &it, NOW + 2), META_OK);
	s = stats_for(f, "dr");
	assert_true(s.done == 1 && s.done_bytes == 100 && s.queued == 1);
	/* Purged: dr held a copy (delete), cloud never got one (put dropped);
	 * object 2 was never copied anywhere: both puts dropped. */
	gc_remove(f, 1);
	expect(f, "dr", VSP_KIND_PACK, 1, 'd', 1);
	expect(f, "cloud", VSP_KIND_PACK, 1, '-', 0);
	gc_remove(f, 2);
	expect(f, "dr", VSP_KIND_PACK, 2, '-', 0);
	expect(f, "cloud", VSP_KIND_PACK, 2, '-', 0);
	s = stats_for(f, "dr");
	assert_true(s.queued == 1 && s.bytes_pending == 0);
	it.op = META_REPL_DELETE;
	assert_int_equal(meta_repl_complete(f->m, &it, NOW + 3), META_OK);
	expect(f, "dr", VSP_KIND_PACK, 1, '-', 0);
	s = stats_for(f, "dr");
	assert_true(s.queued == 0 && s.deleted == 1 && s.done == 1);
	/* Nothing left to delete: a client DELETE of an uncopied object. */
	put(f, f->vault_id, VSP_KIND_PACK, 3, 10);
	{
		uint8_t id[VSP_ID_LEN];
		make_id(id, 3);
		assert_int_equal(meta_object_delete(f->m, f->vault_id, VSP_KIND_PACK, id, NULL),
		    META_OK);
	}
	expect(f, "dr", VSP_KIND_PACK, 3, '-', 0);
}

static void
test_races(void **state)
{
	struct fx *f = *state;
	struct meta_repl_item it = item(f, "dr", VSP_KIND_PACK, 1, META_REPL_PUT, 100);

	/* A copy lands after its object was purged (the put was dropped while
	 * it was on its way): the target now has a stray copy to delete. */
	put(f, f->vault_id, VSP_KIND_PACK, 1, 100);
	gc_remove(f, 1);
	expect(f, "dr", VSP_KIND_PACK, 1, '-', 0);
	assert_int_equal(meta_repl_complete(f->m, &it, NOW + 1), META_OK);
	expect(f, "dr", VSP_KIND_PACK, 1, 'd', 1);
	/* The object comes back before the delete went out: a put again, and
	 * the done record goes, so the copy is made again. */
	put(f, f->vault_id, VSP_KIND_PACK, 1, 100);
	expect(f, "dr", VSP_KIND_PACK, 1, 'q', 0);
	/* The delete that was in flight then completes: the put stays. */
	it.op = META_REPL_DELETE;
	assert_int_equal(meta_repl_complete(f->m, &it, NOW + 2), META_OK);
	expect(f, "dr", VSP_KIND_PACK, 1, 'q', 0);
	/* A failure report for an op the record no longer has is ignored. */
	assert_int_equal(meta_repl_retry(f->m, &it, NOW, NOW + 50, 1, "late"), META_OK);
	{
		struct meta_repl_item q;
		int queued, done;
		assert_int_equal(meta_repl_get(f->m, "dr", f->vault_id, VSP_KIND_PACK, it.id, &q,
		    &queued, &done), META_OK);
		assert_int_equal(q.state, META_REPL_PENDING);
		assert_int_equal(q.attempts, 0);
	}
	/* A revived tombstone (not purged) keeps the target's copy. */
	it.op = META_REPL_PUT;
	assert_int_equal(meta_repl_complete(f->m, &it, NOW + 3), META_OK);
	{
		uint8_t ids[1][VSP_ID_LEN], done[1];
		make_id(ids[0], 1);
		assert_int_equal(meta_gc_tombstone(f->m, f->vault_id, VSP_KIND_PACK,
		    (const uint8_t (*)[VSP_ID_LEN])ids, 1, NOW + 10, NOW, NULL, NULL, done), META_OK);
	}
	put(f, f->vault_id, VSP_KIND_PACK, 1, 100);
	expect(f, "dr", VSP_KIND_PACK, 1, '-', 1);
}

static void
test_retry_release(void **state)
{
	struct fx *f = *state;
	struct meta_repl_item it = item(f, "dr", VSP_KIND_PACK, 1, META_REPL_PUT, 100), out[8];
	struct meta_repl_stats s;
	uint64_t next, n;
	int queued, done;

	put(f, f->vault_id, VSP_KIND_PACK, 1, 100);
	put(f, f->vault_id, VSP_KIND_PACK, 2, 100);
	assert_int_equal(meta_repl_retry(f->m, &it, NOW + 5, NOW + 65, 0, "HTTP 503 busy"),
	    META_OK);
	assert_int_equal(meta_repl_get(f->m, "dr", f->vault_id, VSP_KIND_PACK, it.id, &out[0],
	    &queued, &done), META_OK);
	assert_true(queued && !done);
	assert_int_equal(out[0].attempts, 1);
	assert_true(out[0].next_try == NOW + 65);
	assert_string_equal(out[0].error, "HTTP 503 busy");
	/* Not due before its next try; the other ones are. */
	assert_int_equal(due(f, NOW + 10, out, 8, &next), 3);
	assert_true(next == NOW + 65);
	assert_int_equal(due(f, NOW + 65, out, 8, &next), 4);
	/* A permanent failure is never due until released. */
	it = item(f, "dr", VSP_KIND_PACK, 2, META_REPL_PUT, 100);
	assert_int_equal(meta_repl_retry(f->m, &it, NOW + 6, 0, 1, "HTTP 401 unauthorized"),
	    META_OK);
	assert_int_equal(due(f, NOW + 1000, out, 8, &next), 3);
	s = stats_for(f, "dr");
	assert_true(s.queued == 2 && s.failed == 1 && s.bytes_pending == 200);
	assert_string_equal(s.last_error, "HTTP 401 unauthorized");
	assert_true(s.last_error_time == NOW + 6 && s.oldest == NOW);
	assert_int_equal(meta_repl_release(f->m, &n), META_OK);
	assert_true(n == 1);
	assert_int_equal(due(f, NOW + 1000, out, 8, &next), 4);
	assert_int_equal(stats_for(f, "dr").failed, 0);
	/* The last error stays after a success. */
	assert_int_equal(meta_repl_complete(f->m, &it, NOW + 7), META_OK);
	assert_string_equal(stats_for(f, "dr").last_error, "HTTP 401 unauthorized");
	/* A note of the target's own trouble. */
	assert_int_equal(meta_repl_note(f->m, "dr", NOW + 8, "token file: gone"), META_OK);
	assert_string_equal(stats_for(f, "dr").last_error, "token file: gone");
}

static int
only_cloud(const struct meta_repl_item *it, void *arg)
{
	(void)arg;
	return strcmp(it->target, "cloud") == 0;
}

static void
test_due_order(void **state)
{
	struct fx *f = *state;
	struct meta_repl_item out[8];
	uint8_t id[VSP_ID_LEN];
	/* The config's enqueue time is the clock's (its commit has no receive
	 * time of its own). */
	uint64_t next, now = (uint64_t)time(NULL) + 10;
	size_t n;

	f->nnames = 1;
	put(f, f->vault_id, VSP_KIND_SNAPSHOT, 1, 10);
	put(f, f->vault_id, VSP_KIND_INDEX, 2, 10);
	put(f, f->vault_id, VSP_KIND_PACK, 3, 10);
	make_id(id, 4);
	assert_int_equal(meta_vault_set_config(f->m, f->vault_id, id, 30), META_OK);
	/* Packs, then indexes, then snapshots; the config last. */
	assert_int_equal(due(f, now, out, 8, &next), 4);
	assert_int_equal(out[0].kind, VSP_KIND_PACK);
	assert_int_equal(out[1].kind, VSP_KIND_INDEX);
	assert_int_equal(out[2].kind, VSP_KIND_SNAPSHOT);
	assert_int_equal(out[3].kind, META_REPL_CONFIG);
	assert_true(out[3].size == 30 && out[0].enqueued == NOW);
	assert_true(next == UINT64_MAX);
	/* A limit: the next is due now. */
	assert_int_equal(due(f, now, out, 2, &next), 2);
	assert_true(next == now);
	/* The filter. */
	f->nnames = 2;
	put(f, f->vault_id, VSP_KIND_PACK, 5, 10);
	assert_int_equal(meta_repl_due(f->m, now, only_cloud, NULL, out, 8, &n, &next),
	    META_OK);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].target, "cloud");
	make_id(id, 5);
	assert_memory_equal(out[0].id, id, VSP_ID_LEN);
}

static void
test_seed(void **state)
{
	struct fx *f = *state;
	struct meta_repl_item it;
	uint8_t id[VSP_ID_LEN];
	uint64_t q;

	/* One copy done already; then objects stored while the policy named no
	 * target. */
	f->nnames = 1;
	put(f, f->vault_id, VSP_KIND_PACK, 0, 10);
	it = item(f, "dr", VSP_KIND_PACK, 0, META_REPL_PUT, 10);
	assert_int_equal(meta_repl_complete(f->m, &it, NOW), META_OK);
	f->nnames = 0;
	for (unsigned i = 1; i < 5; i++)
		put(f, f->vault_id, VSP_KIND_PACK, i, 10);
	put(f, f->vault_id, VSP_KIND_KEY, 10, 10);
	put(f, f->vault_id, VSP_KIND_LOCK, 11, 10);
	make_id(id, 12);
	assert_int_equal(meta_vault_set_config(f->m, f->vault_id, id, 30), META_OK);
	expect(f, "dr", VSP_KIND_PACK, 1, '-', 0);
	/* The one done and one tombstoned are not queued. */
	{
		uint8_t ids[1][VSP_ID_LEN], done[1];
		make_id(ids[0], 4);
		assert_int_equal(meta_gc_tombstone(f->m, f->vault_id, VSP_KIND_PACK,
		    (const uint8_t (*)[VSP_ID_LEN])ids, 1, NOW + 10, NOW, NULL, NULL, done), META_OK);
	}
	assert_int_equal(meta_repl_seed(f->m, f->vault_id, "dr", NOW, &q), META_OK);
	assert_true(q == 5); /* packs 1-3, the key, the config */
	expect(f, "dr", VSP_KIND_KEY, 10, 'q', 0);
	expect(f, "dr", META_REPL_CONFIG, 12, 'q', 0);
	expect(f, "dr", VSP_KIND_LOCK, 11, '-', 0);
	assert_int_equal(meta_repl_seed(f->m, f->vault_id, "dr", NOW, &q), META_OK);
	assert_true(q == 0);
	assert_int_equal(meta_repl_seed(f->m, 999, "dr", NOW, &q), META_NOTFOUND);
	assert_int_equal(meta_repl_seed(f->m, f->vault_id, "Bad name", NOW, &q), META_ERROR);
}

/* Raw LMDB access: the bytes of spec/storage.md. */
static size_t
raw_get(struct fx *f, const char *db, const void *k, size_t klen, uint8_t *buf, size_t cap)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = { klen, (void *)k }, val;

	meta_close(f->m);
	f->m = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, f->dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &key, &val), 0);
	assert_true(val.mv_size <= cap);
	memcpy(buf, val.mv_data, val.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
	meta_repl_set_targets(f->m, hook, f);
	return val.mv_size;
}

static void
raw_put_queue(struct fx *f, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };

	meta_close(f->m);
	f->m = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, f->dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "repl_queue", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
}

static void
test_repl_layouts(void **state)
{
	struct fx *f = *state;
	struct meta_repl_item it = item(f, "dr", VSP_KIND_PACK, 1, META_REPL_PUT, 0x0102);
	uint8_t key[64], buf[300], want[64];
	struct meta_repl_item out[2];
	uint64_t next;
	size_t len, n;

	f->nnames = 1;
	put(f, f->vault_id, VSP_KIND_PACK, 1, 0x0102);
	assert_int_equal(meta_repl_retry(f->m, &it, NOW, NOW + 3, 0, "boom"), META_OK);
	/* Key: 2, "dr", be64 vault, kind 0, id. */
	key[0] = 2;
	memcpy(key + 1, "dr", 2);
	for (int i = 0; i < 8; i++)
		key[3 + i] = (uint8_t)(f->vault_id >> (56 - 8 * i));
	key[11] = VSP_KIND_PACK;
	make_id(key + 12, 1);
	len = raw_get(f, "repl_queue", key, 44, buf, sizeof(buf));
	memset(want, 0, sizeof(want));
	want[0] = 1;                       /* version */
	want[1] = META_REPL_PUT;           /* op */
	want[2] = META_REPL_PENDING;       /* state */
	want[3] = 1;                       /* attempts, le32 */
	for (int i = 0; i < 8; i++) {
		want[7 + i] = (uint8_t)((uint64_t)NOW >> (8 * i));       /* enqueued */
		want[15 + i] = (uint8_t)((uint64_t)(NOW + 3) >> (8 * i)); /* next try */
	}
	want[23] = 0x02;                   /* size, le64 */
	want[24] = 0x01;
	want[31] = 4;                      /* error length */
	memcpy(want + 32, "boom", 4);
	assert_int_equal(len, 36);
	assert_memory_equal(buf, want, 36);
	/* Done record and target record. */
	assert_int_equal(meta_repl_complete(f->m, &it, NOW + 9), META_OK);
	len = raw_get(f, "repl_done", key, 44, buf, sizeof(buf));
	assert_int_equal(len, 17);
	assert_int_equal(buf[0], 1);
	assert_true(buf[1] == 0x02 && buf[2] == 0x01 && buf[9] == (uint8_t)(NOW + 9));
	len = raw_get(f, "repl_targets", "dr", 2, buf, sizeof(buf));
	assert_int_equal(len, 34 + 4);
	assert_true(buf[0] == 1 && buf[1] == 1 && buf[9] == 0x02 && buf[10] == 0x01);
	assert_true(buf[25] == (uint8_t)NOW && buf[33] == 4);
	assert_memory_equal(buf + 34, "boom", 4);
	/* A queue record of an unknown op is corrupt: the scan fails, loudly. */
	memcpy(buf, want, 36);
	buf[1] = 9;
	raw_put_queue(f, key, 44, buf, 36);
	assert_int_equal(meta_repl_due(f->m, NOW + 100, NULL, NULL, out, 2, &n, &next),
	    META_ERROR);
	/* And one whose error length disagrees with its size. */
	buf[1] = META_REPL_PUT;
	raw_put_queue(f, key, 44, buf, 35);
	assert_int_equal(meta_repl_due(f->m, NOW + 100, NULL, NULL, out, 2, &n, &next),
	    META_ERROR);
	raw_put_queue(f, key, 44, buf, 36);
	assert_int_equal(meta_repl_due(f->m, NOW + 100, NULL, NULL, out, 2, &n, &next), META_OK);
	assert_int_equal(n, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_queues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_complete_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_races, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_due_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repl_layouts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
