/*
 * Tests for garbage collection (vaultd/gc.c, vaultd/meta_gc.c, spec/gc.md)
 * against a temporary LMDB environment and the in-memory backend: marks
 * from retained snapshots, tombstones, the grace window before the physical
 * delete, revival by a new upload, locks, dry runs, keep rules, and the
 * META_CHANGED guard against a snapshot committed during a run.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend.h"
#include "envelope.h"
#include "gc.h"
#include "store.h"
#include "meta.h"

#define NOW 1700000000u
#define OLD (NOW - 100000u)
#define GRACE 100u

struct fx {
	char root[64], tmp[96], meta_dir[96];
	struct meta *m;
	struct backend *b;
	struct gc *g;
	struct conf_policy pol;
	uint64_t vault_id;
};

static int
policy_cb(void *arg, const char *tenant, const char *vault, struct conf_policy *out)
{
	struct fx *f = arg;

	(void)tenant;
	(void)vault;
	*out = f->pol;
	return 1;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct meta_tenant t;
	struct meta_vault v;
	struct gc_config cfg;
	const char *dir = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/test_gc.XXXXXX", dir ? dir : "/tmp");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->tmp, sizeof(f->tmp), "%s/gc-tmp", f->root);
	snprintf(f->meta_dir, sizeof(f->meta_dir), "%s/meta", f->root);
	assert_int_equal(meta_open(f->meta_dir, 1 << 26, &f->m), META_OK);
	assert_non_null(f->b = backend_mem_open());
	assert_int_equal(meta_tenant_add(f->m, "acme", NOW, &t), META_OK);
	assert_int_equal(meta_vault_create(f->m, t.id, "main", NOW, &v), META_OK);
	f->vault_id = v.id;
	f->pol.gc_grace = GRACE;
	cfg = (struct gc_config){ f->m, f->b, f->tmp, policy_cb, f, NULL, 0 };
	assert_non_null(f->g = gc_new(&cfg));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	gc_free(f->g);
	backend_free(f->b);
	meta_close(f->m);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
make_id(uint8_t id[VSP_ID_LEN], unsigned n)
{
	memset(id, 0, VSP_ID_LEN);
	id[0] = (uint8_t)(n >> 8);
	id[1] = (uint8_t)n;
	id[31] = 0x5a;
}

static void
blob_put(struct fx *f, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN], const void *buf,
    size_t len)
{
	char key[STORE_KEY_MAX + 1];
	struct backend_put *p;

	store_object_key(key, f->vault_id, kind, id);
	assert_int_equal(backend_put_begin(f->b, key, &p), 0);
	assert_int_equal(backend_put_write(f->b, p, buf, len), 0);
	assert_int_equal(backend_put_commit(f->b, p), 0);
}

static int
blob_exists(struct fx *f, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN])
{
	char key[STORE_KEY_MAX + 1];
	uint64_t size;

	store_object_key(key, f->vault_id, kind, id);
	return backend_stat(f->b, key, &size) == 0;
}

/* A pack or index of 100 bytes received at `received`. */
static void
obj_put(struct fx *f, enum vsp_kind kind, unsigned n, uint64_t received)
{
	uint8_t id[VSP_ID_LEN], buf[100];
	struct meta_object o = { sizeof(buf), received, 1, 0 };

	make_id(id, n);
	memset(buf, (int)n, sizeof(buf));
	blob_put(f, kind, id, buf, sizeof(buf));
	assert_int_equal(meta_object_put(f->m, f->vault_id, kind, id, &o, NULL), META_OK);
}

static int
live(struct fx *f, enum vsp_kind kind, unsigned n)
{
	uint8_t id[VSP_ID_LEN];
	struct meta_object o;

	make_id(id, n);
	return meta_object_get(f->m, f->vault_id, kind, id, &o) == META_OK;
}

/* A snapshot numbered sn in group g at time t referring to packs (kind 0)
 * and indexes (kind 1) by number; refs given sorted. */
static int
snap_put(struct fx *f, unsigned sn, uint8_t g, int64_t t, const unsigned *packs,
    size_t np, const unsigned *idx, size_t ni)
{
	struct envelope_ref refs[16];
	uint8_t group[ENVELOPE_GROUP_LEN], sid[VSP_ID_LEN], *buf, missing[16];
	size_t len, n = 0;
	struct envelope e;
	struct meta_object o = { 0, (uint64_t)t, 1, 0 };
	int rc;

	memset(group, g, sizeof(group));
	for (size_t i = 0; i < np; i++, n++) {
		refs[n].kind = ENVELOPE_KIND_PACK;
		make_id(refs[n].id, packs[i]);
	}
	for (size_t i = 0; i < ni; i++, n++) {
		refs[n].kind = ENVELOPE_KIND_INDEX;
		make_id(refs[n].id, idx[i]);
	}
	assert_int_equal(envelope_encode(t, group, 0, refs, n, (const uint8_t *)"body", 4, &buf,
	    &len), 0);
	make_id(sid, 1000 + sn);
	o.size = len;
	blob_put(f, VSP_KIND_SNAPSHOT, sid, buf, len);
	assert_int_equal(envelope_parse(buf, len, &e), ENVELOPE_OK);
	rc = meta_snapshot_put(f->m, f->vault_id, sid, &o, &e, missing, NULL);
	free(buf);
	return rc;
}

static struct gc_report
run(struct fx *f, int dry, uint64_t now)
{
	struct gc_report r;
	char err[256];

	assert_int_equal(gc_run(f->g, "acme", "main", dry, now, &r, err, sizeof(err)), GC_OK);
	return r;
}

static void
test_mark_tombstone_delete(void **state)
{
	struct fx *f = *state;
	struct gc_report r, d;
	struct meta_vault v;
	uint8_t id[VSP_ID_LEN], present;

	obj_put(f, VSP_KIND_PACK, 1, OLD);
	obj_put(f, VSP_KIND_PACK, 2, OLD);
	obj_put(f, VSP_KIND_PACK, 3, OLD);
	obj_put(f, VSP_KIND_INDEX, 4, OLD);
	obj_put(f, VSP_KIND_INDEX, 5, OLD);
	obj_put(f, VSP_KIND_PACK, 6, NOW - 10); /* inside the grace window */
	assert_int_equal(snap_put(f, 1, 1, OLD, (unsigned[]){ 1 }, 1, (unsigned[]){ 4 }, 1),
	    META_OK);

	/* A dry run reports and changes nothing. */
	d = run(f, 1, NOW);
	assert_int_equal(d.objects_marked, 2);
	assert_int_equal(d.objects_tombstoned, 3);
	assert_int_equal(d.bytes_tombstoned, 300);
	assert_true(live(f, VSP_KIND_PACK, 2));

	r = run(f, 0, NOW);
	assert_int_equal(r.vaults, 1);
	assert_int_equal(r.objects_marked, d.objects_marked);
	assert_int_equal(r.objects_tombstoned, d.objects_tombstoned);
	assert_int_equal(r.bytes_tombstoned, d.bytes_tombstoned);
	assert_int_equal(r.objects_deleted, 0);
	assert_true(live(f, VSP_KIND_PACK, 1));
	assert_true(live(f, VSP_KIND_INDEX, 4));
	assert_true(live(f, VSP_KIND_PACK, 6));
	assert_false(live(f, VSP_KIND_PACK, 2));
	assert_false(live(f, VSP_KIND_PACK, 3));
	assert_false(live(f, VSP_KIND_INDEX, 5));
	make_id(id, 2);
	assert_int_equal(meta_object_exists_batch(f->m, f->vault_id, VSP_KIND_PACK,
	    (const uint8_t (*)[VSP_ID_LEN])id, 1, &present), META_OK);
	assert_int_equal(present, 0);
	assert_int_equal(meta_object_delete(f->m, f->vault_id, VSP_KIND_PACK, id, NULL),
	    META_NOTFOUND);
	assert_true(blob_exists(f, VSP_KIND_PACK, id)); /* only tombstoned so far */
	assert_int_equal(meta_vault_get_by_id(f->m, f->vault_id, &v), META_OK);
	assert_int_equal(v.kind_objects[VSP_KIND_PACK], 2);

	/* The commit invariant treats a tombstoned pack as missing. */
	assert_int_equal(snap_put(f, 2, 1, OLD, (unsigned[]){ 2 }, 1, NULL, 0), META_MISSING);

	/* Within the grace window after the tombstone: nothing is deleted. */
	r = run(f, 0, NOW + GRACE / 2);
	assert_int_equal(r.objects_tombstoned, 0);
	assert_int_equal(r.objects_deleted, 0);
	/* Past it: the three go for good. */
	d = run(f, 1, NOW + GRACE);
	r = run(f, 0, NOW + GRACE);
	assert_int_equal(d.objects_deleted, 3);
	assert_int_equal(r.objects_deleted, 3);
	assert_int_equal(r.bytes_deleted, 300);
	assert_false(blob_exists(f, VSP_KIND_PACK, id));
	assert_true(live(f, VSP_KIND_PACK, 1));
	assert_true(live(f, VSP_KIND_INDEX, 4));
}

static void
test_revive(void **state)
{
	struct fx *f = *state;
	struct gc_report r;
	struct meta_vault v;
	uint8_t id[VSP_ID_LEN];
	struct meta_object o = { 100, NOW + 5, 1, 0 };

	obj_put(f, VSP_KIND_PACK, 7, OLD);
	r = run(f, 0, NOW);
	assert_int_equal(r.objects_tombstoned, 1);
	assert_false(live(f, VSP_KIND_PACK, 7));
	/* A new upload of the same ID revives it, counted again. */
	make_id(id, 7);
	assert_int_equal(meta_object_put(f->m, f->vault_id, VSP_KIND_PACK, id, &o, NULL), META_OK);
	assert_true(live(f, VSP_KIND_PACK, 7));
	assert_int_equal(meta_vault_get_by_id(f->m, f->vault_id, &v), META_OK);
	assert_int_equal(v.kind_objects[VSP_KIND_PACK], 1);
	/* Past the grace of the old tombstone nothing is deleted: it is live and new. */
	r = run(f, 0, NOW + GRACE + 1);
	assert_int_equal(r.objects_deleted, 0);
	assert_int_equal(r.objects_tombstoned, 0);
	assert_true(live(f, VSP_KIND_PACK, 7));
	assert_int_equal(snap_put(f, 3, 1, NOW, (unsigned[]){ 7 }, 1, NULL, 0), META_OK);
}

static void
test_lock(void **state)
{
	struct fx *f = *state;
	struct gc_report r;

	f->pol.lock = 200000;
	obj_put(f, VSP_KIND_PACK, 8, OLD);
	r = run(f, 0, NOW);
	assert_int_equal(r.objects_tombstoned, 0);
	assert_true(live(f, VSP_KIND_PACK, 8));
	r = run(f, 0, OLD + 200000);
	assert_int_equal(r.objects_tombstoned, 1);
}

static void
test_keep_last(void **state)
{
	struct fx *f = *state;
	struct gc_report r;

	obj_put(f, VSP_KIND_PACK, 10, OLD);
	obj_put(f, VSP_KIND_PACK, 11, OLD);
	obj_put(f, VSP_KIND_PACK, 12, OLD);
	assert_int_equal(snap_put(f, 1, 1, OLD, (unsigned[]){ 10, 11 }, 2, NULL, 0), META_OK);
	assert_int_equal(snap_put(f, 2, 1, OLD + 10, (unsigned[]){ 11, 12 }, 2, NULL, 0),
	    META_OK);
	f->pol.keep_last = 1;
	r = run(f, 1, NOW);
	assert_int_equal(r.snapshots_forgotten, 1);
	assert_int_equal(r.objects_tombstoned, 1);
	r = run(f, 0, NOW);
	assert_int_equal(r.snapshots_forgotten, 1);
	assert_int_equal(r.objects_marked, 2);
	assert_int_equal(r.objects_tombstoned, 1);
	assert_false(live(f, VSP_KIND_PACK, 10));
	assert_true(live(f, VSP_KIND_PACK, 11));
	assert_true(live(f, VSP_KIND_PACK, 12));
}

static int
unknown_cb(const uint8_t id[VSP_ID_LEN], void *arg)
{
	(void)id;
	(void)arg;
	return 0;
}

static void
test_changed(void **state)
{
	struct fx *f = *state;
	uint8_t id[VSP_ID_LEN], done[1];

	obj_put(f, VSP_KIND_PACK, 20, OLD);
	assert_int_equal(snap_put(f, 1, 1, OLD, (unsigned[]){ 20 }, 1, NULL, 0), META_OK);
	make_id(id, 20);
	/* An unmarked snapshot in the vault: nothing is tombstoned. */
	assert_int_equal(meta_gc_tombstone(f->m, f->vault_id, VSP_KIND_PACK,
	    (const uint8_t (*)[VSP_ID_LEN])id, 1, NOW, NOW, unknown_cb, NULL, done),
	    META_CHANGED);
	assert_true(live(f, VSP_KIND_PACK, 20));
}

static void
test_restic_vault_skipped(void **state)
{
	struct fx *f = *state;
	struct gc_report r;

	obj_put(f, VSP_KIND_PACK, 30, OLD);
	obj_put(f, VSP_KIND_KEY, 31, OLD);
	r = run(f, 0, NOW);
	assert_int_equal(r.vaults_skipped, 1);
	assert_int_equal(r.objects_tombstoned, 0);
	assert_true(live(f, VSP_KIND_PACK, 30));
}

/* The vault client's key objects beside envelope snapshots: judged. */
static void
test_client_keys_judged(void **state)
{
	struct fx *f = *state;
	struct gc_report r;

	obj_put(f, VSP_KIND_PACK, 32, OLD);
	obj_put(f, VSP_KIND_PACK, 33, OLD);
	obj_put(f, VSP_KIND_KEY, 34, OLD);
	assert_int_equal(snap_put(f, 1, 1, OLD, (unsigned[]){ 32 }, 1, NULL, 0), META_OK);
	r = run(f, 0, NOW);
	assert_int_equal(r.vaults_skipped, 0);
	assert_true(live(f, VSP_KIND_PACK, 32));
	assert_false(live(f, VSP_KIND_PACK, 33));
	assert_true(live(f, VSP_KIND_KEY, 34));
}

static void
test_not_found(void **state)
{
	struct fx *f = *state;
	struct gc_report r;
	char err[256];

	assert_int_equal(gc_run(f->g, "nobody", NULL, 0, NOW, &r, err, sizeof(err)),
	    GC_NOTFOUND);
	assert_int_equal(gc_run(f->g, "acme", "nope", 0, NOW, &r, err, sizeof(err)),
	    GC_NOTFOUND);
	assert_int_equal(gc_run(f->g, NULL, NULL, 0, NOW, &r, err, sizeof(err)), GC_OK);
	assert_int_equal(r.vaults, 1);
}

static void
test_schedule(void **state)
{
	struct fx *f = *state;
	struct gc_report r;

	obj_put(f, VSP_KIND_PACK, 40, OLD);
	assert_int_equal(gc_run_due(f->g, NOW, &r), GC_OK);
	assert_int_equal(r.vaults, 0); /* no gc-every */
	f->pol.gc_every = 3600;
	assert_int_equal(gc_run_due(f->g, NOW, &r), GC_OK);
	assert_int_equal(r.vaults, 1);
	assert_int_equal(r.objects_tombstoned, 1);
	assert_int_equal(gc_run_due(f->g, NOW + 60, &r), GC_OK);
	assert_int_equal(r.vaults, 0); /* not due yet */
	assert_int_equal(gc_run_due(f->g, NOW + 3600, &r), GC_OK);
	assert_int_equal(r.vaults, 1);
}

/*
 * A backup that commits a snapshot while GC runs: the backend's open (GC
 * reading the first snapshot's header, after it listed the snapshots)
 * commits a second snapshot that refers to an old, so far unreferenced
 * pack. The tombstone step must see the new snapshot, mark it, and spare
 * the pack.
 */
static struct fx *race_fx;
static int race_done;
static struct backend_ops race_ops;
static int (*mem_open)(struct backend *, const char *, struct backend_reader **,
    uint64_t *);

static int
race_open(struct backend *b, const char *key, struct backend_reader **out, uint64_t *size)
{
	if (!race_done) {
		race_done = 1;
		assert_int_equal(snap_put(race_fx, 9, 2, NOW, (unsigned[]){ 51 }, 1, NULL, 0),
		    META_OK);
	}
	return mem_open(b, key, out, size);
}

static void
test_backup_during_gc(void **state)
{
	struct fx *f = *state;
	struct gc_report r;

	obj_put(f, VSP_KIND_PACK, 50, OLD);
	obj_put(f, VSP_KIND_PACK, 51, OLD);
	obj_put(f, VSP_KIND_PACK, 52, OLD);
	assert_int_equal(snap_put(f, 1, 1, OLD, (unsigned[]){ 50 }, 1, NULL, 0), META_OK);
	race_ops = *f->b->ops;
	mem_open = race_ops.open;
	race_ops.open = race_open;
	f->b->ops = &race_ops;
	race_fx = f;
	race_done = 0;
	r = run(f, 0, NOW);
	assert_true(race_done);
	assert_int_equal(r.objects_tombstoned, 1); /* 52 only */
	assert_true(live(f, VSP_KIND_PACK, 50));
	assert_true(live(f, VSP_KIND_PACK, 51));
	assert_false(live(f, VSP_KIND_PACK, 52));
	assert_int_equal(r.objects_marked, 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_mark_tombstone_delete),
		T(test_revive),
		T(test_lock),
		T(test_keep_last),
		T(test_changed),
		T(test_backup_during_gc),
		T(test_restic_vault_skipped),
		T(test_client_keys_judged),
		T(test_not_found),
		T(test_schedule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
