/*
 * client/cache.c and client/cache_sync.c (spec/pack.md 5) on a temporary
 * directory: records, lookups, a chunk in two packs, drops, persistence
 * across a reopen, refusals, the default directory; and vc_cache_sync
 * against an in-memory stand-in for the vault. The stand-in defines the
 * vc_remote_* functions cache_sync.c calls, so this test never links (or
 * needs) client/remote.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <lmdb.h>
#include <sodium.h>

#include "cache.h"
#include "pack.h"
#include "remote.h"
#include "sha256.h"

/* ---- an in-memory vault ---- */

#define FAKE_MAX 32

struct vc_remote {
	struct { enum vsp_kind kind; uint8_t id[VSP_ID_LEN]; uint8_t *buf; size_t len;
	    int vanished; } obj[FAKE_MAX];
	size_t n;
	int fail_list;
	size_t gets;
};

static struct vc_remote fake;

int
vc_remote_list(struct vc_remote *r, enum vsp_kind kind,
    int (*cb)(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg), void *arg)
{
	int rc;

	if (r->fail_list)
		return -1;
	for (size_t i = 0; i < r->n; i++)
		if (r->obj[i].kind == kind && (rc = cb(r->obj[i].id, r->obj[i].len, arg)) != 0)
			return rc;
	return 0;
}

int
vc_remote_get(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    uint64_t off, uint64_t len, uint8_t **buf, size_t *outlen)
{
	assert_int_equal(off, 0);
	assert_true(len == UINT64_MAX);
	r->gets++;
	for (size_t i = 0; i < r->n; i++)
		if (r->obj[i].kind == kind && memcmp(r->obj[i].id, id, VSP_ID_LEN) == 0) {
			if (r->obj[i].vanished)
				return VC_R_NOTFOUND;
			assert_non_null(*buf = malloc(r->obj[i].len));
			memcpy(*buf, r->obj[i].buf, r->obj[i].len);
			*outlen = r->obj[i].len;
			return 0;
		}
	return VC_R_NOTFOUND;
}

const char *
vc_remote_error(const struct vc_remote *r)
{
	(void)r;
	return "fake vault: listing failed";
}

/* Stores buf (owned from now on) under its SHA-256. */
static void
fake_put(enum vsp_kind kind, uint8_t *buf, size_t len, uint8_t id[VSP_ID_LEN])
{
	assert_true(fake.n < FAKE_MAX);
	assert_int_equal(sha256_buf(buf, len, id), 0);
	fake.obj[fake.n].kind = kind;
	memcpy(fake.obj[fake.n].id, id, VSP_ID_LEN);
	fake.obj[fake.n].buf = buf;
	fake.obj[fake.n].len = len;
	fake.obj[fake.n].vanished = 0;
	fake.n++;
}

static void
fake_del(const uint8_t id[VSP_ID_LEN])
{
	for (size_t i = 0; i < fake.n; i++)
		if (memcmp(fake.obj[i].id, id, VSP_ID_LEN) == 0) {
			free(fake.obj[i].buf);
			fake.obj[i] = fake.obj[--fake.n];
			return;
		}
	fail_msg("fake_del: no such object");
}

static void
fake_clear(void)
{
	for (size_t i = 0; i < fake.n; i++)
		free(fake.obj[i].buf);
	memset(&fake, 0, sizeof(fake));
}

/* ---- helpers ---- */

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vc-cache-test.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh cache directory below tmpdir, two levels deep (parents made). */
static void
cache_dir(const char *name, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s/sub", tmpdir, name);

	assert_true(n > 0 && (size_t)n < outlen);
}

static void
entry(struct vc_pack_entry *e, uint8_t type, uint8_t idbyte, uint32_t off, uint32_t sealed)
{
	memset(e, 0, sizeof(*e));
	e->type = type;
	memset(e->id, idbyte, VC_ID_LEN);
	e->offset = off;
	e->sealed_len = sealed;
	e->plain_len = sealed - VC_CHUNK_OVERHEAD;
}

static void
id_of(uint8_t id[VC_ID_LEN], uint8_t b)
{
	memset(id, b, VC_ID_LEN);
}

/* Field by field: memcmp would compare padding too. */
static void
assert_entry_eq(const struct vc_pack_entry *a, const struct vc_pack_entry *b)
{
	assert_int_equal(a->type, b->type);
	assert_memory_equal(a->id, b->id, VC_ID_LEN);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->sealed_len, b->sealed_len);
	assert_int_equal(a->plain_len, b->plain_len);
}

struct collect {
	struct vc_pack_entry e[16];
	size_t n;
};

static int
collect_cb(const struct vc_pack_entry *e, void *arg)
{
	struct collect *c = arg;

	assert_true(c->n < 16);
	c->e[c->n++] = *e;
	return c->n == 3 ? 77 : 0;
}

/* ---- the cache alone ---- */

static void
test_records(void **state)
{
	struct vc_pack_entry a[3], b[2];
	struct vc_cache_loc loc;
	struct collect col = { 0 };
	uint8_t p1[VC_ID_LEN], p2[VC_ID_LEN], s1[VC_ID_LEN], s2[VC_ID_LEN], id[VC_ID_LEN];
	uint8_t got[VC_ID_LEN];
	struct vc_cache *c;
	char dir[512];
	struct stat st;

	(void)state;
	cache_dir("records", dir, sizeof(dir));
	assert_int_equal(vc_cache_open(dir, NULL, &c), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* p2 sorts below p1, so a chunk in both is found in p2. */
	id_of(p1, 0xb0);
	id_of(p2, 0xa0);
	id_of(s1, 0x51);
	id_of(s2, 0x52);
	entry(&a[0], VC_CHUNK_TYPE_DATA, 1, 9, 100);
	entry(&a[1], VC_CHUNK_TYPE_TREE, 2, 109, 41);
	entry(&a[2], VC_CHUNK_TYPE_DATA, 3, 150, 60);
	entry(&b[0], VC_CHUNK_TYPE_DATA, 3, 9, 70);   /* chunk 3 again */
	entry(&b[1], VC_CHUNK_TYPE_DATA, 4, 79, 50);

	id_of(id, 1);
	assert_int_equal(vc_cache_lookup(c, id, &loc), VC_CACHE_NOTFOUND);
	assert_int_equal(vc_cache_pack_index(c, p1, got), VC_CACHE_NOTFOUND);
	assert_int_equal(vc_cache_drop_pack(c, p1), VC_CACHE_NOTFOUND);
	assert_int_equal(vc_cache_add_pack(c, p1, s1, a, 3), 0);
	assert_int_equal(vc_cache_lookup(c, id, &loc), 0);
	assert_memory_equal(loc.pack_id, p1, VC_ID_LEN);
	assert_memory_equal(loc.index_id, s1, VC_ID_LEN);
	assert_int_equal(loc.type, VC_CHUNK_TYPE_DATA);
	assert_int_equal(loc.offset, 9);
	assert_int_equal(loc.sealed_len, 100);
	assert_int_equal(loc.plain_len, 59);
	id_of(id, 2);
	assert_int_equal(vc_cache_lookup(c, id, &loc), 0);
	assert_int_equal(loc.type, VC_CHUNK_TYPE_TREE);
	assert_int_equal(loc.offset, 109);

	assert_int_equal(vc_cache_add_pack(c, p2, s2, b, 2), 0);
	id_of(id, 3);
	assert_int_equal(vc_cache_lookup(c, id, &loc), 0);
	assert_memory_equal(loc.pack_id, p2, VC_ID_LEN);
	assert_memory_equal(loc.index_id, s2, VC_ID_LEN);
	assert_int_equal(loc.offset, 9);
	assert_int_equal(vc_cache_pack_index(c, p1, got), 0);
	assert_memory_equal(got, s1, VC_ID_LEN);

	/* Entries come back in map order; the callback's stop is returned. */
	assert_int_equal(vc_cache_pack_entries(c, p1, collect_cb, &col), 77);
	assert_int_equal(col.n, 3);
	assert_entry_eq(&col.e[1], &a[1]);
	col.n = 0;
	assert_int_equal(vc_cache_pack_entries(c, p2, collect_cb, &col), 0);
	assert_int_equal(col.n, 2);
	assert_entry_eq(&col.e[0], &b[0]);
	assert_int_equal(vc_cache_pack_entries(c, s1, collect_cb, &col), VC_CACHE_NOTFOUND);

	/* Dropping p2 leaves chunk 3 in p1; chunk 4 is gone. */
	assert_int_equal(vc_cache_drop_pack(c, p2), 0);
	assert_int_equal(vc_cache_lookup(c, id, &loc), 0);
	assert_memory_equal(loc.pack_id, p1, VC_ID_LEN);
	assert_int_equal(loc.offset, 150);
	id_of(id, 4);
	assert_int_equal(vc_cache_lookup(c, id, &loc), VC_CACHE_NOTFOUND);
	assert_int_equal(vc_cache_pack_index(c, p2, got), VC_CACHE_NOTFOUND);

	/* Recording p1 again replaces it: chunk 1 is gone, index is s2. */
	assert_int_equal(vc_cache_add_pack(c, p1, s2, &a[1], 1), 0);
	id_of(id, 1);
	assert_int_equal(vc_cache_lookup(c, id, &loc), VC_CACHE_NOTFOUND);
	id_of(id, 2);
	assert_int_equal(vc_cache_lookup(c, id, &loc), 0);
	assert_memory_equal(loc.index_id, s2, VC_ID_LEN);
	/* An empty pack is a record too. */
	assert_int_equal(vc_cache_add_pack(c, p2, s1, NULL, 0), 0);
	assert_int_equal(vc_cache_pack_index(c, p2, got), 0);
	vc_cache_close(c);

	/* Everything persists across a reopen. */
	assert_int_equal(vc_cache_open(dir, NULL, &c), 0);
	assert_int_equal(vc_cache_lookup(c, id, &loc), 0);
	assert_memory_equal(loc.pack_id, p1, VC_ID_LEN);
	assert_int_equal(loc.offset, 109);
	assert_int_equal(vc_cache_pack_index(c, p2, got), 0);
	assert_memory_equal(got, s1, VC_ID_LEN);
	vc_cache_close(c);
	vc_cache_close(NULL);
}

static void
test_refusals(void **state)
{
	char dir[512], file[600];
	struct vc_cache *c;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 6, "format" }, v = { 4, "\x02\0\0\0" };
	FILE *f;

	(void)state;
	/* A regular file where the directory should be. */
	cache_dir("file", dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/file", tmpdir);
	assert_non_null(f = fopen(file, "w"));
	fclose(f);
	assert_int_equal(vc_cache_open(file, NULL, &c), -1);
	assert_null(c);

	/* A cache of another format is refused, not reused or wiped. */
	cache_dir("format", dir, sizeof(dir));
	assert_int_equal(vc_cache_open(dir, NULL, &c), 0);
	vc_cache_close(c);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(vc_cache_open(dir, NULL, &c), -1);
	assert_null(c);

	/* A data file that is not LMDB's. */
	cache_dir("garbage", dir, sizeof(dir));
	assert_int_equal(vc_cache_open(dir, NULL, &c), 0);
	vc_cache_close(c);
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	assert_non_null(f = fopen(file, "w"));
	fputs("this is not an LMDB file, and it is long enough to be read as one... ", f);
	for (int i = 0; i < 200; i++)
		fputs("garbage garbage garbage garbage ", f);
	fclose(f);
	assert_int_equal(vc_cache_open(dir, NULL, &c), -1);
}

static void
test_default_dir(void **state)
{
	static const uint8_t cfg[] = { 1, 2, 3 };
	char out[512], out2[512], want[512];
	uint8_t h[16], in[64];
	char hex[33];
	size_t n = 0;

	(void)state;
	/* The hash: BLAKE2b-128 of url 0x00 vault 0x00 config. */
	memcpy(in, "http://h:1", 10);
	n = 10;
	in[n++] = 0;
	memcpy(&in[n], "v1", 2);
	n += 2;
	in[n++] = 0;
	memcpy(&in[n], cfg, sizeof(cfg));
	n += sizeof(cfg);
	crypto_generichash(h, sizeof(h), in, n, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));

	setenv("VAULT_CACHE_DIR", "/vc", 1);
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(vc_cache_default_dir(NULL, "http://h:1", "v1", cfg, sizeof(cfg), out,
	    sizeof(out)), 0);
	snprintf(want, sizeof(want), "/vc/%s", hex);
	assert_string_equal(out, want);
	setenv("VAULT_CACHE_DIR", "", 1);
	assert_int_equal(vc_cache_default_dir(NULL, "http://h:1", "v1", cfg, sizeof(cfg), out,
	    sizeof(out)), 0);
	snprintf(want, sizeof(want), "/xdg/vault/%s", hex);
	assert_string_equal(out, want);
	unsetenv("VAULT_CACHE_DIR");
	unsetenv("XDG_CACHE_HOME");
	assert_int_equal(vc_cache_default_dir(NULL, "http://h:1", "v1", cfg, sizeof(cfg), out,
	    sizeof(out)), 0);
	snprintf(want, sizeof(want), "/home/u/.cache/vault/%s", hex);
	assert_string_equal(out, want);
	/* Another vault name or another config: another directory. */
	assert_int_equal(vc_cache_default_dir(NULL, "http://h:1", "v2", cfg, sizeof(cfg), out2,
	    sizeof(out2)), 0);
	assert_string_not_equal(out, out2);
	assert_int_equal(vc_cache_default_dir(NULL, "http://h:1", "v1", cfg, 2, out2, sizeof(out2)), 0);
	assert_string_not_equal(out, out2);
	/* Too small a buffer, by one byte. */
	assert_int_equal(vc_cache_default_dir(NULL, "http://h:1", "v1", cfg, sizeof(cfg), out2,
	    strlen(want)), -1);
	unsetenv("HOME");
	assert_int_equal(vc_cache_default_dir(NULL, "http://h:1", "v1", cfg, sizeof(cfg), out,
	    sizeof(out)), -1);
}

/* ---- vc_cache_sync against the fake vault ---- */

/* Builds a pack of the chunks with plaintexts "chunk <b>" for each b in
 * bytes, stores it in the fake vault, and gives its ID and entries. */
static void
put_pack(const struct vc_keys *k, const uint8_t *bytes, size_t n, uint8_t pid[VC_ID_LEN],
    struct vc_pack_entry **ents, size_t *nents)
{
	struct vc_pack_writer *w = vc_pack_writer_new();
	uint8_t plain[16], id[VC_ID_LEN], *sealed, *pack;
	size_t slen, len;

	assert_non_null(w);
	for (size_t i = 0; i < n; i++) {
		int pl = snprintf((char *)plain, sizeof(plain), "chunk %u", bytes[i]);
		vc_chunk_id(k, plain, (size_t)pl, id);
		assert_int_equal(vc_seal(k, id, plain, (size_t)pl, 0, NULL, &sealed, &slen), 0);
		assert_int_equal(vc_pack_add(w, 0, id, sealed, slen, (uint32_t)pl), 0);
		free(sealed);
	}
	assert_int_equal(vc_pack_finish(w, k, NULL, &pack, &len, pid, ents, nents), 0);
	vc_pack_writer_free(w);
	fake_put(VSP_KIND_PACK, pack, len, id);
	assert_memory_equal(id, pid, VC_ID_LEN);
}

/* Stores a segment of the given packs in the fake vault. */
static void
put_segment(const struct vc_keys *k, const struct vc_index_pack *ip, size_t n,
    uint8_t sid[VC_ID_LEN])
{
	uint8_t *seg;
	size_t len;

	assert_int_equal(vc_index_encode(k, ip, n, NULL, &seg, &len), 0);
	fake_put(VSP_KIND_INDEX, seg, len, sid);
}

/* Whether the chunk "chunk <b>" is in the cache, and in which pack. */
static int
has_chunk(struct vc_cache *c, const struct vc_keys *k, uint8_t b, struct vc_cache_loc *loc)
{
	uint8_t plain[16], id[VC_ID_LEN];
	int pl = snprintf((char *)plain, sizeof(plain), "chunk %u", b);

	vc_chunk_id(k, plain, (size_t)pl, id);
	return vc_cache_lookup(c, id, loc);
}

static void
random_keys(struct vc_keys *k)
{
	uint8_t master[VC_KEY_LEN];

	randombytes_buf(master, sizeof(master));
	vc_keys_from_master(master, k);
}

static void
test_sync(void **state)
{
	static const uint8_t c1[] = { 1, 2, 3 }, c2[] = { 3, 4 }, c3[] = { 5 };
	uint8_t p1[VC_ID_LEN], p2[VC_ID_LEN], p3[VC_ID_LEN], s1[VC_ID_LEN], s2[VC_ID_LEN];
	uint8_t s3[VC_ID_LEN], s4[VC_ID_LEN], got[VC_ID_LEN];
	struct vc_pack_entry *e1, *e2, *e3;
	struct vc_index_pack ip[2];
	struct vc_cache_loc loc;
	struct vc_keys k, other;
	struct vc_cache *c;
	size_t n1, n2, n3, imported;
	char dir[512];

	(void)state;
	random_keys(&k);
	random_keys(&other);
	cache_dir("sync", dir, sizeof(dir));
	assert_int_equal(vc_cache_open(dir, NULL, &c), 0);
	put_pack(&k, c1, 3, p1, &e1, &n1);
	put_pack(&k, c2, 2, p2, &e2, &n2);
	memcpy(ip[0].pack_id, p1, VC_ID_LEN);
	ip[0].entries = e1;
	ip[0].n = n1;
	put_segment(&k, ip, 1, s1);
	memcpy(ip[0].pack_id, p2, VC_ID_LEN);
	ip[0].entries = e2;
	ip[0].n = n2;
	put_segment(&k, ip, 1, s2);

	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	assert_int_equal(imported, 2);
	for (uint8_t b = 1; b <= 4; b++)
		assert_int_equal(has_chunk(c, &k, b, &loc), 0);
	assert_int_equal(has_chunk(c, &k, 1, &loc), 0);
	assert_memory_equal(loc.pack_id, p1, VC_ID_LEN);
	assert_memory_equal(loc.index_id, s1, VC_ID_LEN);
	assert_int_equal(loc.offset, e1[0].offset);
	assert_int_equal(loc.sealed_len, e1[0].sealed_len);
	assert_int_equal(vc_cache_pack_index(c, p2, got), 0);
	assert_memory_equal(got, s2, VC_ID_LEN);
	/* Nothing new: nothing downloaded. */
	fake.gets = 0;
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	assert_int_equal(imported, 0);
	assert_int_equal(fake.gets, 0);

	/* GC deleted p1: its own chunks go, chunk 3 stays (in p2). */
	fake_del(p1);
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	assert_int_equal(has_chunk(c, &k, 1, &loc), VC_CACHE_NOTFOUND);
	assert_int_equal(has_chunk(c, &k, 3, &loc), 0);
	assert_memory_equal(loc.pack_id, p2, VC_ID_LEN);
	assert_int_equal(vc_cache_pack_index(c, p1, got), VC_CACHE_NOTFOUND);

	/* s1 deleted: forgotten, so when it comes back it is read again. */
	fake_del(s1);
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	assert_int_equal(imported, 0);
	memcpy(ip[0].pack_id, p1, VC_ID_LEN);
	ip[0].entries = e1;
	ip[0].n = n1;
	put_segment(&k, ip, 1, s1);
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	assert_int_equal(imported, 1);
	assert_int_equal(has_chunk(c, &k, 1, &loc), VC_CACHE_NOTFOUND);  /* p1 still gone */

	/* p3 described by two segments; the one recorded goes away: the
	 * cache is rebuilt and p3 names the segment that is left. */
	put_pack(&k, c3, 1, p3, &e3, &n3);
	memcpy(ip[0].pack_id, p3, VC_ID_LEN);
	ip[0].entries = e3;
	ip[0].n = n3;
	put_segment(&k, ip, 1, s3);
	memcpy(ip[1].pack_id, p2, VC_ID_LEN);
	ip[1].entries = e2;
	ip[1].n = n2;
	put_segment(&k, ip, 2, s4);
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	assert_int_equal(imported, 2);
	assert_int_equal(vc_cache_pack_index(c, p3, got), 0);
	fake_del(got);
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	assert_int_equal(has_chunk(c, &k, 5, &loc), 0);
	assert_true(memcmp(loc.index_id, s3, VC_ID_LEN) == 0 ||
	    memcmp(loc.index_id, s4, VC_ID_LEN) == 0);
	assert_memory_not_equal(loc.index_id, got, VC_ID_LEN);
	assert_int_equal(has_chunk(c, &k, 4, &loc), 0);

	/* A segment listed but deleted before it is fetched is skipped. */
	memcpy(ip[0].pack_id, p3, VC_ID_LEN);
	ip[0].entries = e3;
	ip[0].n = n3;
	put_segment(&k, ip, 1, s1);
	fake.obj[fake.n - 1].vanished = 1;
	fake.gets = 0;
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	assert_int_equal(imported, 0);
	assert_int_equal(fake.gets, 1);
	fake.obj[fake.n - 1].vanished = 0;
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	assert_int_equal(imported, 1);
	fake_del(s1);

	/* A segment this key did not write fails the sync, and is not marked. */
	memcpy(ip[0].pack_id, p2, VC_ID_LEN);
	ip[0].entries = e2;
	ip[0].n = n2;
	put_segment(&other, ip, 1, s1);
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), -1);
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), -1);
	fake_del(s1);
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	fake.fail_list = 1;
	assert_int_equal(vc_cache_sync(c, &fake, &k, NULL), -1);
	fake.fail_list = 0;
	/* What sync wrote persists. */
	vc_cache_close(c);
	assert_int_equal(vc_cache_open(dir, NULL, &c), 0);
	assert_int_equal(has_chunk(c, &k, 5, &loc), 0);
	assert_int_equal(has_chunk(c, &k, 2, &loc), VC_CACHE_NOTFOUND);
	vc_cache_close(c);

	free(e1);
	free(e2);
	free(e3);
	fake_clear();
	vc_keys_wipe(&k);
	vc_keys_wipe(&other);
}

/* A segment the client wrote itself and recorded with vc_cache_add_index
 * is not downloaded again by the next sync. */
static void
test_own_index(void **state)
{
	static const uint8_t c1[] = { 7, 8 }, c2[] = { 9 };
	uint8_t p1[VC_ID_LEN], p2[VC_ID_LEN], s1[VC_ID_LEN], got[VC_ID_LEN];
	struct vc_pack_entry *e1, *e2;
	struct vc_index_pack ip[2];
	struct vc_cache_loc loc;
	struct vc_keys k;
	struct vc_cache *c;
	size_t n1, n2, imported = 99;
	char dir[512];

	(void)state;
	fake_clear();
	random_keys(&k);
	cache_dir("own", dir, sizeof(dir));
	assert_int_equal(vc_cache_open(dir, NULL, &c), 0);
	put_pack(&k, c1, 2, p1, &e1, &n1);
	put_pack(&k, c2, 1, p2, &e2, &n2);
	memcpy(ip[0].pack_id, p1, VC_ID_LEN);
	ip[0].entries = e1;
	ip[0].n = n1;
	memcpy(ip[1].pack_id, p2, VC_ID_LEN);
	ip[1].entries = e2;
	ip[1].n = n2;
	put_segment(&k, ip, 2, s1);
	assert_int_equal(vc_cache_add_index(c, s1, ip, 2), 0);
	assert_int_equal(has_chunk(c, &k, 9, &loc), 0);
	assert_memory_equal(loc.pack_id, p2, VC_ID_LEN);
	assert_int_equal(vc_cache_pack_index(c, p1, got), 0);
	assert_memory_equal(got, s1, VC_ID_LEN);
	fake.gets = 0;
	assert_int_equal(vc_cache_sync(c, &fake, &k, &imported), 0);
	assert_int_equal(imported, 0);
	assert_int_equal(fake.gets, 0);
	assert_int_equal(has_chunk(c, &k, 7, &loc), 0);
	vc_cache_close(c);
	free(e1);
	free(e2);
	fake_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_default_dir),
		cmocka_unit_test(test_sync),
		cmocka_unit_test(test_own_index),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
