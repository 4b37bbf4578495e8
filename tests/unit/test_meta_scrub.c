/*
 * Unit tests for the scrub records in LMDB (vaultd/meta_scrub.c;
 * spec/storage.md "Scrub"): bad-copy records per (vault, kind, ID, backend)
 * put, replaced, masked, listed per vault and cleared; the vault scrub
 * record; the healthy-copies count (locations without a bad record plus
 * done replicas); one vault's replication figures (meta_repl_vault_stats);
 * the stored bytes, against spec/vectors/scrub-records.json too; and a
 * corrupt record.
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

#include <lmdb.h>

#include "meta.h"
#include "meta_repl.h"
#include "meta_scrub.h"
#include "vectors.h"

#define NOW 1700000000u

struct fx {
	char root[256];
	char dir[300];
	struct meta *m;
	uint64_t vault_id, other_id;
};

static size_t
hook(void *arg, const char *tenant, const char *vault, char (*names)[VSP_NAME_MAX + 1],
    size_t max)
{
	(void)arg;
	(void)tenant;
	if (strcmp(vault, "v") != 0 || max < 1)
		return 0;
	strcpy(names[0], "dr");
	return 1;
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
	snprintf(f->root, sizeof(f->root), "%s/test_meta_scrub.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/meta", f->root);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
	assert_int_equal(meta_tenant_add(f->m, "acme", NOW, &t), META_OK);
	assert_int_equal(meta_vault_create(f->m, t.id, "v", NOW, &v), META_OK);
	f->vault_id = v.id;
	assert_int_equal(meta_vault_create(f->m, t.id, "w", NOW, &v), META_OK);
	f->other_id = v.id;
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

static struct meta_scrub_bad
bad(uint64_t vault, uint8_t kind, unsigned n, uint8_t backend, const char *reason)
{
	struct meta_scrub_bad b = { .vault_id = vault, .kind = kind, .backend = backend,
	    .time = NOW };

	make_id(b.id, n);
	snprintf(b.reason, sizeof(b.reason), "%s", reason);
	return b;
}

struct seen {
	struct meta_scrub_bad b[8];
	size_t n;
};

static int
seen_cb(const struct meta_scrub_bad *b, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->b[s->n++] = *b;
	return 0;
}

static void
test_bad_records(void **state)
{
	struct fx *f = *state;
	struct meta_scrub_bad b;
	struct seen s = {0};
	uint8_t id[VSP_ID_LEN];
	uint32_t mask;
	uint64_t count;

	b = bad(f->vault_id, VSP_KIND_PACK, 1, 0, "first");
	assert_int_equal(meta_scrub_bad_put(f->m, &b), META_OK);
	b = bad(f->vault_id, VSP_KIND_PACK, 1, 0, "replaced");
	b.time = NOW + 5;
	assert_int_equal(meta_scrub_bad_put(f->m, &b), META_OK);
	b = bad(f->vault_id, VSP_KIND_PACK, 1, 3, "another backend");
	assert_int_equal(meta_scrub_bad_put(f->m, &b), META_OK);
	b = bad(f->vault_id, META_SCRUB_CONFIG, 2, 0, "config");
	assert_int_equal(meta_scrub_bad_put(f->m, &b), META_OK);
	b = bad(f->other_id, VSP_KIND_PACK, 1, 0, "other vault");
	assert_int_equal(meta_scrub_bad_put(f->m, &b), META_OK);

	make_id(id, 1);
	assert_int_equal(meta_scrub_bad_mask(f->m, f->vault_id, VSP_KIND_PACK, id, &mask),
	    META_OK);
	assert_int_equal(mask, 0x9u); /* backends 0 and 3 */
	assert_int_equal(meta_scrub_bad_mask(f->m, f->vault_id, VSP_KIND_INDEX, id, &mask),
	    META_OK);
	assert_int_equal(mask, 0);

	assert_int_equal(meta_scrub_bad_list(f->m, f->vault_id, seen_cb, &s, &count), META_OK);
	assert_int_equal(count, 3);
	assert_int_equal(s.n, 3);
	/* Key order: kind 0 before 0x80, backend 0 before 3. */
	assert_int_equal(s.b[0].backend, 0);
	assert_string_equal(s.b[0].reason, "replaced");
	assert_int_equal(s.b[0].time, NOW + 5);
	assert_int_equal(s.b[1].backend, 3);
	assert_int_equal(s.b[2].kind, META_SCRUB_CONFIG);
	assert_int_equal(s.b[2].vault_id, f->vault_id);

	assert_int_equal(meta_scrub_bad_clear(f->m, f->vault_id, VSP_KIND_PACK, id, 0), META_OK);
	assert_int_equal(meta_scrub_bad_clear(f->m, f->vault_id, VSP_KIND_PACK, id, 0),
	    META_NOTFOUND);
	assert_int_equal(meta_scrub_bad_mask(f->m, f->vault_id, VSP_KIND_PACK, id, &mask),
	    META_OK);
	assert_int_equal(mask, 0x8u);
	assert_int_equal(meta_scrub_bad_list(f->m, f->other_id, NULL, NULL, &count), META_OK);
	assert_int_equal(count, 1);
	/* Bad arguments. */
	b = bad(f->vault_id, 7, 1, 0, "x");
	assert_int_equal(meta_scrub_bad_put(f->m, &b), META_ERROR);
	b = bad(f->vault_id, VSP_KIND_PACK, 1, META_SCRUB_BACKENDS_MAX, "x");
	assert_int_equal(meta_scrub_bad_put(f->m, &b), META_ERROR);
}

static void
test_long_reason(void **state)
{
	struct fx *f = *state;
	struct meta_scrub_bad b = bad(f->vault_id, VSP_KIND_INDEX, 4, 1, "");
	struct seen s = {0};

	memset(b.reason, 'r', META_SCRUB_REASON_MAX);
	b.reason[META_SCRUB_REASON_MAX] = '\0';
	assert_int_equal(meta_scrub_bad_put(f->m, &b), META_OK);
	assert_int_equal(meta_scrub_bad_list(f->m, f->vault_id, seen_cb, &s, NULL), META_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(strlen(s.b[0].reason), META_SCRUB_REASON_MAX);
}

static void
test_vault_record(void **state)
{
	struct fx *f = *state;
	struct meta_scrub_vault r = { 11, 12, 13, 14, 15, 16 }, out;

	assert_int_equal(meta_scrub_vault_get(f->m, f->vault_id, &out), META_NOTFOUND);
	assert_int_equal(out.last_full, 0);
	assert_int_equal(meta_scrub_vault_put(f->m, f->vault_id, &r), META_OK);
	assert_int_equal(meta_scrub_vault_get(f->m, f->vault_id, &out), META_OK);
	assert_memory_equal(&out, &r, sizeof(r));
	assert_int_equal(meta_scrub_vault_get(f->m, f->other_id, &out), META_NOTFOUND);
}

/* Raw LMDB access: the bytes of spec/storage.md. */
static size_t
raw(struct fx *f, const void *k, size_t klen, uint8_t *buf, size_t cap, const uint8_t *put,
    size_t putlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = { klen, (void *)k }, val = { putlen, (void *)put };

	meta_close(f->m);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, f->dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, put != NULL ? 0 : MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "scrub", 0, &dbi), 0);
	if (put != NULL) {
		assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
		assert_int_equal(mdb_txn_commit(txn), 0);
	} else {
		assert_int_equal(mdb_get(txn, dbi, &key, &val), 0);
		assert_true(val.mv_size <= cap);
		memcpy(buf, val.mv_data, val.mv_size);
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
	return val.mv_size;
}

static void
test_scrub_layouts(void **state)
{
	struct fx *f = *state;
	struct meta_scrub_bad b = bad(f->vault_id, VSP_KIND_INDEX, 9, 2, "boom");
	struct meta_scrub_vault r = { 0x0102, 0x0304, 5, 6, 7, 8 };
	uint8_t key[43], vkey[9], buf[128], want[64];
	uint8_t id[VSP_ID_LEN];
	uint32_t mask;
	size_t len;

	b.time = 0x0a0b;
	assert_int_equal(meta_scrub_bad_put(f->m, &b), META_OK);
	/* Key: type 1, be64 vault, kind, id, backend. */
	key[0] = 0x01;
	for (int i = 0; i < 8; i++)
		key[1 + i] = (uint8_t)(f->vault_id >> (56 - 8 * i));
	key[9] = VSP_KIND_INDEX;
	make_id(key + 10, 9);
	key[42] = 2;
	len = raw(f, key, sizeof(key), buf, sizeof(buf), NULL, 0);
	memset(want, 0, sizeof(want));
	want[0] = 1;     /* version */
	want[1] = 0x0b;  /* time, le64 */
	want[2] = 0x0a;
	want[9] = 4;     /* reason length */
	memcpy(want + 10, "boom", 4);
	assert_int_equal(len, 14);
	assert_memory_equal(buf, want, 14);

	assert_int_equal(meta_scrub_vault_put(f->m, f->vault_id, &r), META_OK);
	vkey[0] = 0x02;
	memcpy(vkey + 1, key + 1, 8);
	len = raw(f, vkey, sizeof(vkey), buf, sizeof(buf), NULL, 0);
	assert_int_equal(len, 49);
	assert_int_equal(buf[0], 1);
	assert_true(buf[1] == 0x02 && buf[2] == 0x01 && buf[9] == 0x04 && buf[10] == 0x03);
	assert_true(buf[17] == 5 && buf[25] == 6 && buf[33] == 7 && buf[41] == 8);

	/* A bad-copy key with a backend above 31 is corrupt: the mask fails. */
	key[42] = 40;
	raw(f, key, sizeof(key), NULL, 0, want, 14);
	make_id(id, 9);
	assert_int_equal(meta_scrub_bad_mask(f->m, f->vault_id, VSP_KIND_INDEX, id, &mask),
	    META_ERROR);
	/* A record of the wrong length is corrupt: the list fails. */
	key[42] = 2;
	raw(f, key, sizeof(key), NULL, 0, want, 13);
	assert_int_equal(meta_scrub_bad_list(f->m, f->vault_id, NULL, NULL, NULL), META_ERROR);
}

/* spec/vectors/scrub-records.json (spec/vectors/gen/scrub_records.py): each
 * record stored through the API has exactly the vector's key and value. */
static void
test_scrub_vectors(void **state)
{
	struct fx *f = *state;
	json_t *doc = vectors_load("scrub-records.json", 0), *v;
	uint8_t buf[256], *key, *val, *id;
	size_t i, klen, vlen, idlen, len;

	assert_true(json_array_size(doc) >= 5);
	json_array_foreach(doc, i, v) {
		key = vectors_hex(vectors_str(v, "key"), &klen);
		val = vectors_hex(vectors_str(v, "value"), &vlen);
		if (strcmp(vectors_str(v, "type"), "bad") == 0) {
			struct meta_scrub_bad b = { .vault_id = vectors_u64(v, "vault"),
			    .kind = (uint8_t)vectors_u64(v, "kind"),
			    .backend = (uint8_t)vectors_u64(v, "backend"),
			    .time = strtoull(vectors_str(v, "time"), NULL, 10) };
			struct seen s = {0};

			id = vectors_hex(vectors_str(v, "id"), &idlen);
			assert_int_equal(idlen, VSP_ID_LEN);
			memcpy(b.id, id, VSP_ID_LEN);
			snprintf(b.reason, sizeof(b.reason), "%s", vectors_str(v, "reason"));
			assert_int_equal(meta_scrub_bad_put(f->m, &b), META_OK);
			/* And it reads back as the vector's fields. */
			assert_int_equal(meta_scrub_bad_list(f->m, b.vault_id, seen_cb, &s, NULL),
			    META_OK);
			assert_int_equal(s.n, 1);
			assert_int_equal(s.b[0].time, b.time);
			assert_int_equal(s.b[0].backend, b.backend);
			assert_string_equal(s.b[0].reason, b.reason);
			free(id);
		} else {
			struct meta_scrub_vault r = { vectors_u64(v, "last_full"),
			    vectors_u64(v, "last_run"), vectors_u64(v, "copies"),
			    vectors_u64(v, "bytes"), vectors_u64(v, "bad"),
			    vectors_u64(v, "repaired") };
			assert_int_equal(meta_scrub_vault_put(f->m, vectors_u64(v, "vault"), &r),
			    META_OK);
		}
		len = raw(f, key, klen, buf, sizeof(buf), NULL, 0);
		assert_int_equal(len, vlen);
		assert_memory_equal(buf, val, vlen);
		free(key);
		free(val);
	}
	json_decref(doc);
}

static void
test_copies(void **state)
{
	struct fx *f = *state;
	char targets[1][VSP_NAME_MAX + 1] = { "dr" };
	struct meta_object one = { 10, NOW, 0x1, 0 }, two = { 10, NOW, 0x3, 0 };
	struct meta_repl_item it = { .vault_id = 0, .op = META_REPL_PUT, .size = 10 };
	struct meta_repl_stats st;
	struct meta_scrub_bad b;
	uint8_t id[VSP_ID_LEN];
	uint64_t objects, under;

	strcpy(it.target, "dr");
	it.vault_id = f->vault_id;
	for (unsigned n = 1; n <= 3; n++) {
		make_id(id, n);
		assert_int_equal(meta_object_put(f->m, f->vault_id, VSP_KIND_PACK, id,
		    n == 3 ? &two : &one, NULL), META_OK);
	}
	/* Lock objects are not counted. */
	make_id(id, 4);
	assert_int_equal(meta_object_put(f->m, f->vault_id, VSP_KIND_LOCK, id, &one, NULL),
	    META_OK);
	assert_int_equal(meta_scrub_copies(f->m, f->vault_id, targets, 1, 2, &objects, &under),
	    META_OK);
	assert_int_equal(objects, 3);
	assert_int_equal(under, 2); /* 1 and 2 have one copy, 3 has two */
	/* Pack 1 reaches dr: two copies. */
	it.kind = VSP_KIND_PACK;
	make_id(it.id, 1);
	assert_int_equal(meta_repl_complete(f->m, &it, NOW), META_OK);
	assert_int_equal(meta_scrub_copies(f->m, f->vault_id, targets, 1, 2, &objects, &under),
	    META_OK);
	assert_int_equal(under, 1);
	/* Without naming the target its done record does not count. */
	assert_int_equal(meta_scrub_copies(f->m, f->vault_id, targets, 0, 2, &objects, &under),
	    META_OK);
	assert_int_equal(under, 2);
	/* A bad local copy of pack 3 leaves it one healthy copy. */
	b = bad(f->vault_id, VSP_KIND_PACK, 3, 1, "bad");
	assert_int_equal(meta_scrub_bad_put(f->m, &b), META_OK);
	assert_int_equal(meta_scrub_copies(f->m, f->vault_id, targets, 1, 2, &objects, &under),
	    META_OK);
	assert_int_equal(under, 2);
	assert_int_equal(meta_scrub_copies(f->m, f->other_id, targets, 1, 1, &objects, &under),
	    META_OK);
	assert_int_equal(objects, 0);

	/* This vault's queue at dr: packs 2 and 3 are still queued. */
	assert_int_equal(meta_repl_vault_stats(f->m, "dr", f->vault_id, &st), META_OK);
	assert_string_equal(st.target, "dr");
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.bytes_pending, 20);
	assert_int_equal(st.oldest, NOW);
	assert_int_equal(meta_repl_vault_stats(f->m, "dr", f->other_id, &st), META_OK);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.oldest, 0);
	it.kind = VSP_KIND_PACK;
	make_id(it.id, 2);
	assert_int_equal(meta_repl_retry(f->m, &it, NOW + 1, NOW + 9, 1, "HTTP 401"), META_OK);
	assert_int_equal(meta_repl_vault_stats(f->m, "dr", f->vault_id, &st), META_OK);
	assert_int_equal(st.failed, 1);
	assert_string_equal(st.last_error, "HTTP 401");
	assert_int_equal(meta_repl_vault_stats(f->m, "", f->vault_id, &st), META_ERROR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scrub_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scrub_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copies, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
