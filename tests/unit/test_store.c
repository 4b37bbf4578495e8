/*
 * Unit tests for the object store layer (vaultd/store.c, store_copy.c): the
 * key layout against literal keys (backend.h), the replica key and its
 * truncation, the backend of a location, capabilities, the striped
 * locks, every verdict of store_copy_check (with pacing, cancelling and a
 * copy into a put), and bad-copy records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "meta_scrub.h"
#include "sha256.h"
#include "store.h"

#define KEY "0000000000000007/pack/ab/abababababababababababababababababababababababababababababababab"

static void
test_keys(void **state)
{
	char key[STORE_KEY_MAX + 1], rkey[64];
	uint8_t id[VSP_ID_LEN];

	(void)state;
	memset(id, 0xab, sizeof(id));
	store_object_key(key, 7, VSP_KIND_PACK, id);
	assert_string_equal(key, KEY);
	assert_true(backend_key_valid(key));
	assert_string_equal(store_config_key(key, 0x1234), "0000000000001234/config");
	store_copy_key(key, 7, STORE_KIND_CONFIG, id);
	assert_string_equal(key, "0000000000000007/config");
	store_copy_key(key, 7, VSP_KIND_PACK, id);
	assert_string_equal(key, KEY);
	store_object_key(key, UINT64_MAX, VSP_KIND_SNAPSHOT, id);
	assert_int_equal(strlen(key), STORE_KEY_MAX); /* the longest kind name fits */
	assert_int_equal(store_replica_key(rkey, sizeof(rkey), "t", "v", STORE_KIND_CONFIG, id), 0);
	assert_string_equal(rkey, "t/v/config");
	assert_int_equal(store_replica_key(rkey, sizeof(rkey), "t", "v", VSP_KIND_INDEX, id), -1);
	char big[128];
	assert_int_equal(store_replica_key(big, sizeof(big), "t", "v", VSP_KIND_INDEX, id), 0);
	assert_string_equal(big, "t/v/index/abababababababababababababababababababababababababababababababab");
}

static void
test_locations(void **state)
{
	struct backend *a = backend_mem_open(), *b = backend_mem_open();
	struct backend *list[2] = { a, b };
	struct store s = { .backend = a };

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(store_read_location(0x1), 0);
	assert_int_equal(store_read_location(0x3), 0);
	assert_int_equal(store_read_location(0x6), 1);
	assert_int_equal(store_read_location(0x80000000u), 31);
	assert_int_equal(store_read_location(0), 0);
	assert_ptr_equal(store_backend_at(&s, 0), a);
	assert_null(store_backend_at(&s, 1));
	s.backends = list;
	s.nbackends = 2;
	assert_ptr_equal(store_backend_at(&s, 1), b);
	assert_null(store_backend_at(&s, 2));
	assert_int_equal(store_needs_recall(a), 0);
	assert_int_equal(store_needs_recall(NULL), 0);
	assert_int_equal(backend_has_cap(a, BACKEND_CAP_CHECKED_PUT), 0);
	backend_free(a);
	backend_free(b);
}

static void
test_recall_cap(void **state)
{
	static const struct backend_ops recalling = { .name = "fake",
	    .caps = BACKEND_CAP_RECALL };
	struct backend b = { &recalling };

	(void)state;
	assert_int_equal(store_needs_recall(&b), 1);
	assert_int_equal(backend_has_cap(&b, BACKEND_CAP_RECALL | BACKEND_CAP_CHECKED_PUT), 0);
}

static void
test_locks(void **state)
{
	uint8_t ids[3][VSP_ID_LEN];

	(void)state;
	memset(ids, 0, sizeof(ids));
	ids[1][0] = 64; /* the same stripe as ids[0]: taken once */
	ids[2][0] = 5;
	store_lock_many(9, (const uint8_t (*)[VSP_ID_LEN])ids, 3);
	store_unlock_many(9, (const uint8_t (*)[VSP_ID_LEN])ids, 3);
	store_lock(9, ids[0]);
	store_unlock(9, ids[0]);
	store_lock_many(9, (const uint8_t (*)[VSP_ID_LEN])ids, 0);
	store_unlock_many(9, (const uint8_t (*)[VSP_ID_LEN])ids, 0);
}

static void
put(struct backend *b, const char *key, const void *buf, size_t len)
{
	struct backend_put *p;

	assert_int_equal(backend_put_begin(b, key, &p), 0);
	assert_int_equal(backend_put_write(b, p, buf, len), 0);
	assert_int_equal(backend_put_commit(b, p), 0);
}

struct pacer {
	uint64_t paced;
	int calls, stop_after;
};

static void
pace_cb(void *arg, uint64_t n)
{
	struct pacer *p = arg;

	p->paced += n;
	p->calls++;
}

static int
cancel_cb(void *arg)
{
	struct pacer *p = arg;

	return p->stop_after != 0 && p->calls >= p->stop_after;
}

static void
test_copy_check(void **state)
{
	static const char body[] = "the bytes of a stored object";
	struct backend *b = backend_mem_open(), *dst = backend_mem_open();
	struct store_check c = {0};
	struct pacer pc = {0};
	uint8_t id[VSP_ID_LEN], buf[5], back[sizeof(body)];
	struct backend_reader *rd;
	uint64_t size;

	(void)state;
	assert_int_equal(sha256_buf(body, sizeof(body), id), 0);
	assert_int_equal(store_copy_check(b, "k", id, sizeof(body), &c), STORE_COPY_NO_OPEN);
	assert_int_equal(c.err, ENOENT);
	assert_string_equal(c.reason, "the copy is missing");
	put(b, "k", body, sizeof(body));
	assert_int_equal(store_copy_check(b, "k", id, sizeof(body), &c), STORE_COPY_GOOD);
	assert_int_equal(c.read, sizeof(body));
	assert_int_equal(store_copy_check(b, "k", id, sizeof(body) + 1, &c),
	    STORE_COPY_WRONG_SIZE);
	assert_int_equal(errno, EIO);
	put(b, "bad", "The bytes of a stored object", sizeof(body));
	assert_int_equal(store_copy_check(b, "bad", id, sizeof(body), &c), STORE_COPY_BAD_HASH);
	assert_string_equal(c.reason, "SHA-256 mismatch: the bytes do not hash to the ID");
	/* Paced in chunks of the caller's buffer, written into a put. */
	c = (struct store_check){ .buf = buf, .buflen = sizeof(buf), .pace = pace_cb,
	    .cancelled = cancel_cb, .arg = &pc, .dst = dst };
	assert_int_equal(backend_put_begin(dst, "k", &c.put), 0);
	assert_int_equal(store_copy_check(b, "k", id, sizeof(body), &c), STORE_COPY_GOOD);
	assert_int_equal(backend_put_commit(dst, c.put), 0);
	assert_int_equal(pc.paced, sizeof(body));
	assert_int_equal(pc.calls, (sizeof(body) + sizeof(buf) - 1) / sizeof(buf));
	assert_int_equal(backend_open(dst, "k", &rd, &size), 0);
	assert_int_equal(size, sizeof(body));
	assert_int_equal(backend_read(dst, rd, 0, back, sizeof(back)), sizeof(back));
	assert_memory_equal(back, body, sizeof(body));
	backend_close(dst, rd);
	/* Cancelled after two chunks: no verdict. */
	pc = (struct pacer){ .stop_after = 3 };
	c = (struct store_check){ .buf = buf, .buflen = sizeof(buf), .pace = pace_cb,
	    .cancelled = cancel_cb, .arg = &pc };
	assert_int_equal(store_copy_check(b, "k", id, sizeof(body), &c), STORE_COPY_CANCELLED);
	assert_int_equal(c.read, 2 * sizeof(buf));
	backend_free(b);
	backend_free(dst);
}

static void
test_bad_copies(void **state)
{
	char root[] = "/tmp/test_store_XXXXXX", path[64];
	struct store s = {0};
	uint8_t id[VSP_ID_LEN];
	uint32_t mask = 0;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(meta_open(root, 0, &s.meta), META_OK);
	assert_int_equal(sha256_buf("cfg", 3, id), 0);
	assert_int_equal(store_blob_check(&s, 3, STORE_KIND_CONFIG, id, "cfg", 3, "why"), 0);
	assert_int_equal(meta_scrub_bad_mask(s.meta, 3, STORE_KIND_CONFIG, id, &mask), META_OK);
	assert_int_equal(mask, 0);
	assert_int_equal(store_blob_check(&s, 3, STORE_KIND_CONFIG, id, "cgf", 3, "why"), -1);
	assert_int_equal(meta_scrub_bad_mask(s.meta, 3, STORE_KIND_CONFIG, id, &mask), META_OK);
	assert_int_equal(mask, 1);
	/* Recorded bad: refused even when the bytes are right again. */
	assert_int_equal(store_blob_check(&s, 3, STORE_KIND_CONFIG, id, "cfg", 3, "why"), -1);
	assert_int_equal(store_bad_copy(s.meta, 3, VSP_KIND_PACK, id, 2, 100, "gone"), META_OK);
	assert_int_equal(meta_scrub_bad_mask(s.meta, 3, VSP_KIND_PACK, id, &mask), META_OK);
	assert_int_equal(mask, 1u << 2);
	meta_close(s.meta);
	/* LMDB's two files are all meta_open made in root. */
	for (const char *const *f = (const char *const[]){ "data.mdb", "lock.mdb", NULL }; *f;
	    f++) {
		snprintf(path, sizeof(path), "%s/%s", root, *f);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(root), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_locations),
		cmocka_unit_test(test_recall_cap),
		cmocka_unit_test(test_locks),
		cmocka_unit_test(test_copy_check),
		cmocka_unit_test(test_bad_copies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
