/*
 * Unit tests for vaultd/meta.c: every function and every return code,
 * vault counters, listing pages across boundaries, tenant isolation,
 * persistence across a reopen, the on-disk layouts of spec/storage.md
 * (checked byte by byte against raw LMDB reads), and corrupt records.
 *
 * Each test gets a fresh directory from mkdtemp under $TMPDIR (or /tmp);
 * the store lives in its "meta" subdirectory, which meta_open creates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "envelope.h"
#include "meta.h"

#define NOW 1700000000u
#define PAGE_OBJECTS 2500
#define PAGE_LIMIT 1000
#define THREADS 4
#define THREAD_PUTS 100

struct fx {
	char root[256];
	char dir[300];
	struct meta *m;
};

/* ---- helpers ---------------------------------------------------------- */

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* A deterministic, well-spread object ID for n. */
static void
make_id(uint8_t id[VSP_ID_LEN], uint64_t n)
{
	uint64_t s = n;

	for (size_t i = 0; i < VSP_ID_LEN; i += 8) {
		uint64_t v = splitmix(&s);
		memcpy(&id[i], &v, 8);
	}
}

static void
be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
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

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/test_meta.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/meta", f->root);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
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

static void
reopen(struct fx *f)
{
	meta_close(f->m);
	f->m = NULL;
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
}

/* Raw LMDB access to the store (meta must be closed): the tests read and
 * write records exactly as spec/storage.md lays them out. */
struct raw {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
};

static void
raw_begin(struct raw *r, const char *dir, const char *db, unsigned flags)
{
	assert_int_equal(mdb_env_create(&r->env), 0);
	assert_int_equal(mdb_env_set_maxdbs(r->env, 16), 0);
	assert_int_equal(mdb_env_open(r->env, dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(r->env, NULL, flags, &r->txn), 0);
	assert_int_equal(mdb_dbi_open(r->txn, db, 0, &r->dbi), 0);
}

static void
raw_end(struct raw *r)
{
	assert_int_equal(mdb_txn_commit(r->txn), 0);
	mdb_env_close(r->env);
}

static void
raw_put(struct fx *f, const char *db, const void *k, size_t klen, const void *v, size_t vlen)
{
	struct raw r;
	MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };

	meta_close(f->m);
	f->m = NULL;
	raw_begin(&r, f->dir, db, 0);
	assert_int_equal(mdb_put(r.txn, r.dbi, &key, &val, 0), 0);
	raw_end(&r);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
}

static void
raw_del(struct fx *f, const char *db, const void *k, size_t klen)
{
	struct raw r;
	MDB_val key = { klen, (void *)k };

	meta_close(f->m);
	f->m = NULL;
	raw_begin(&r, f->dir, db, 0);
	assert_int_equal(mdb_del(r.txn, r.dbi, &key, NULL), 0);
	raw_end(&r);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
}

/* Reads one raw value into buf; returns its length. */
static size_t
raw_get(struct fx *f, const char *db, const void *k, size_t klen, uint8_t *buf, size_t cap)
{
	struct raw r;
	MDB_val key = { klen, (void *)k }, val;

	meta_close(f->m);
	f->m = NULL;
	raw_begin(&r, f->dir, db, MDB_RDONLY);
	assert_int_equal(mdb_get(r.txn, r.dbi, &key, &val), 0);
	assert_true(val.mv_size <= cap);
	memcpy(buf, val.mv_data, val.mv_size);
	mdb_txn_abort(r.txn);
	mdb_env_close(r.env);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
	return val.mv_size;
}

static void
obj_key(uint8_t key[41], uint64_t vault_id, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN])
{
	be64(key, vault_id);
	key[8] = (uint8_t)kind;
	memcpy(&key[9], id, VSP_ID_LEN);
}

static struct meta_tenant
add_tenant(struct meta *m, const char *name)
{
	struct meta_tenant t;

	assert_int_equal(meta_tenant_add(m, name, NOW, &t), META_OK);
	return t;
}

static struct meta_vault
add_vault(struct meta *m, uint64_t tenant_id, const char *name)
{
	struct meta_vault v;

	assert_int_equal(meta_vault_create(m, tenant_id, name, NOW, &v), META_OK);
	return v;
}

static struct meta_token
token(uint8_t first, uint64_t tenant_id, const char *vault, uint32_t scopes)
{
	struct meta_token t;

	memset(&t, 0, sizeof(t));
	memset(t.id, first, sizeof(t.id));
	memset(t.hash, first ^ 0x5a, sizeof(t.hash));
	t.tenant_id = tenant_id;
	snprintf(t.vault, sizeof(t.vault), "%s", vault);
	t.scopes = scopes;
	t.created = NOW + first;
	return t;
}

static int
put_obj(struct meta *m, uint64_t vault_id, enum vsp_kind kind, uint64_t n, uint64_t size)
{
	uint8_t id[VSP_ID_LEN];
	struct meta_object o = { size, NOW + n, 1, 0 };

	make_id(id, n);
	return meta_object_put(m, vault_id, kind, id, &o, NULL);
}

/* Collectors for the list callbacks. */
struct names {
	char name[16][VSP_NAME_MAX + 1];
	uint64_t id[16];
	size_t n, stop_at;
};

static int
tenant_cb(const struct meta_tenant *t, void *arg)
{
	struct names *c = arg;

	assert_true(c->n < 16);
	strcpy(c->name[c->n], t->name);
	c->id[c->n++] = t->id;
	return c->n == c->stop_at;
}

static int
vault_cb(const struct meta_vault *v, void *arg)
{
	struct names *c = arg;

	assert_true(c->n < 16);
	strcpy(c->name[c->n], v->name);
	c->id[c->n++] = v->id;
	return c->n == c->stop_at;
}

static int
token_cb(const struct meta_token *t, void *arg)
{
	struct names *c = arg;

	assert_true(c->n < 16);
	c->id[c->n++] = t->id[0];
	return c->n == c->stop_at;
}

struct idlist {
	uint8_t (*ids)[VSP_ID_LEN];
	size_t n, cap, stop_at;
};

static int
obj_cb(const uint8_t id[VSP_ID_LEN], const struct meta_object *o, void *arg)
{
	struct idlist *l = arg;

	assert_true(l->n < l->cap);
	assert_int_equal(o->locations, 1);
	memcpy(l->ids[l->n++], id, VSP_ID_LEN);
	return l->n == l->stop_at;
}

/* ---- open ------------------------------------------------------------- */

static void
test_open_errors(void **state)
{
	struct fx *f = *state;
	struct meta *m = NULL;
	char path[400];
	FILE *fp;

	assert_int_equal(meta_open(NULL, 0, &m), META_ERROR);
	assert_int_equal(meta_open(f->dir, 0, NULL), META_ERROR);
	/* A path below a regular file can be neither created nor opened. */
	snprintf(path, sizeof(path), "%s/file", f->root);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	assert_int_equal(meta_open(path, 0, &m), META_ERROR);
	snprintf(path, sizeof(path), "%s/file/sub", f->root);
	assert_int_equal(meta_open(path, 0, &m), META_ERROR);
	assert_null(m);
	meta_close(NULL);
}

static void
raw_write_format(const char *dir, const uint8_t *v, size_t len)
{
	struct raw r;
	MDB_val key = { 6, "format" }, val = { len, (void *)v };

	raw_begin(&r, dir, "sys", 0);
	assert_int_equal(mdb_put(r.txn, r.dbi, &key, &val, 0), 0);
	raw_end(&r);
}

static void
test_format_record(void **state)
{
	struct fx *f = *state;
	static const uint8_t want[] = { 1, 'v', 'a', 'u', 'l', 't', 'm', 'd', 0, 2, 0, 0, 0 };
	uint8_t buf[64], bad[sizeof(want)];
	struct meta *m = NULL;
	size_t len;

	len = raw_get(f, "sys", "format", 6, buf, sizeof(buf));
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	meta_close(f->m);
	f->m = NULL;
	/* A store of another format number, or with another magic, is refused. */
	memcpy(bad, want, sizeof(bad));
	bad[9] = 3;
	raw_write_format(f->dir, bad, sizeof(bad));
	assert_int_equal(meta_open(f->dir, 0, &m), META_ERROR);
	assert_null(m);
	/* Format 1 (before the replication databases) is upgraded to 2. */
	bad[9] = 1;
	raw_write_format(f->dir, bad, sizeof(bad));
	assert_int_equal(meta_open(f->dir, 0, &m), META_OK);
	meta_close(m);
	m = NULL;
	len = raw_get(f, "sys", "format", 6, buf, sizeof(buf));
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	meta_close(f->m);
	f->m = NULL;
	memcpy(bad, want, sizeof(bad));
	bad[1] = 'V';
	raw_write_format(f->dir, bad, sizeof(bad));
	assert_int_equal(meta_open(f->dir, 0, &m), META_ERROR);
	raw_write_format(f->dir, want, sizeof(want) - 1);
	assert_int_equal(meta_open(f->dir, 0, &m), META_ERROR);
	raw_write_format(f->dir, want, sizeof(want));
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
}

/* ---- tenants ---------------------------------------------------------- */

static void
test_tenant_add_get(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a, b, t;

	a = add_tenant(f->m, "acme");
	b = add_tenant(f->m, "beta.corp_1-x");
	assert_int_equal(a.id, 1);
	assert_int_equal(b.id, 2);
	assert_string_equal(a.name, "acme");
	assert_int_equal(a.created, NOW);
	assert_int_equal(meta_tenant_add(f->m, "acme", NOW + 5, &t), META_EXISTS);
	assert_int_equal(meta_tenant_add(f->m, "gamma", NOW, NULL), META_OK);

	assert_int_equal(meta_tenant_get(f->m, "beta.corp_1-x", &t), META_OK);
	assert_int_equal(t.id, b.id);
	assert_string_equal(t.name, "beta.corp_1-x");
	assert_int_equal(meta_tenant_get_by_id(f->m, a.id, &t), META_OK);
	assert_string_equal(t.name, "acme");
	assert_int_equal(t.created, NOW);
	assert_int_equal(meta_tenant_get(f->m, "nobody", &t), META_NOTFOUND);
	assert_int_equal(meta_tenant_get_by_id(f->m, 99, &t), META_NOTFOUND);
	assert_int_equal(meta_tenant_get_by_id(f->m, 0, &t), META_NOTFOUND);
}

static void
test_tenant_bad_names(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = { "", "Acme", "-acme", ".a", "a b", "a/b", "é",
		"0123456789012345678901234567890123456789012345678901234567890123" };
	char longest[VSP_NAME_MAX + 1];
	struct meta_tenant t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(meta_tenant_add(f->m, bad[i], NOW, &t), META_ERROR);
		assert_int_equal(meta_tenant_get(f->m, bad[i], &t), META_ERROR);
		assert_int_equal(meta_tenant_remove(f->m, bad[i]), META_ERROR);
	}
	assert_int_equal(meta_tenant_add(f->m, NULL, NOW, &t), META_ERROR);
	assert_int_equal(meta_tenant_get(f->m, NULL, &t), META_ERROR);
	assert_int_equal(meta_tenant_remove(f->m, NULL), META_ERROR);
	memset(longest, 'z', VSP_NAME_MAX);
	longest[VSP_NAME_MAX] = '\0';
	assert_int_equal(meta_tenant_add(f->m, longest, NOW, &t), META_OK);
	assert_int_equal(meta_tenant_get(f->m, longest, &t), META_OK);
	assert_string_equal(t.name, longest);
}

static void
test_tenant_list(void **state)
{
	struct fx *f = *state;
	struct names c;

	add_tenant(f->m, "b");
	add_tenant(f->m, "ab");
	add_tenant(f->m, "a");
	add_tenant(f->m, "a0");
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_tenant_list(f->m, tenant_cb, &c), META_OK);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.name[0], "a");
	assert_string_equal(c.name[1], "a0");
	assert_string_equal(c.name[2], "ab");
	assert_string_equal(c.name[3], "b");
	assert_int_equal(c.id[0], 3);
	/* A non-zero return stops the walk. */
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	assert_int_equal(meta_tenant_list(f->m, tenant_cb, &c), META_OK);
	assert_int_equal(c.n, 2);
}

static void
test_tenant_remove(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a, b, t;
	struct meta_token tok;
	struct names c;

	a = add_tenant(f->m, "acme");
	b = add_tenant(f->m, "beta");
	tok = token(0x10, a.id, "", META_SCOPE_ALL);
	assert_int_equal(meta_token_add(f->m, &tok), META_OK);
	tok = token(0x20, b.id, "", META_SCOPE_READ);
	assert_int_equal(meta_token_add(f->m, &tok), META_OK);
	tok = token(0x30, a.id, "v", META_SCOPE_APPEND);
	assert_int_equal(meta_token_add(f->m, &tok), META_OK);
	add_vault(f->m, a.id, "v");

	assert_int_equal(meta_tenant_remove(f->m, "acme"), META_NOTEMPTY);
	assert_int_equal(meta_tenant_get(f->m, "acme", &t), META_OK);
	assert_int_equal(meta_tenant_remove(f->m, "beta"), META_OK);
	assert_int_equal(meta_tenant_remove(f->m, "beta"), META_NOTFOUND);
	assert_int_equal(meta_tenant_get(f->m, "beta", &t), META_NOTFOUND);
	assert_int_equal(meta_tenant_get_by_id(f->m, b.id, &t), META_NOTFOUND);
	/* Only beta's token went with it. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_token_list(f->m, 0, token_cb, &c), META_OK);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.id[0], 0x10);
	assert_int_equal(c.id[1], 0x30);
	/* IDs are never reused. */
	t = add_tenant(f->m, "beta");
	assert_int_equal(t.id, 3);
	assert_int_equal(meta_tenant_remove(f->m, "nobody"), META_NOTFOUND);
}

static void
test_tenant_remove_tokens(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a, b;
	struct meta_token tok;
	struct names c;

	a = add_tenant(f->m, "acme");
	b = add_tenant(f->m, "beta");
	/* Interleave the two tenants' tokens in ID order. */
	for (uint8_t i = 1; i <= 8; i++) {
		tok = token(i, i % 2 ? a.id : b.id, "", META_SCOPE_READ);
		assert_int_equal(meta_token_add(f->m, &tok), META_OK);
	}
	assert_int_equal(meta_tenant_remove(f->m, "acme"), META_OK);
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_token_list(f->m, 0, token_cb, &c), META_OK);
	assert_int_equal(c.n, 4);
	for (size_t i = 0; i < c.n; i++)
		assert_int_equal(c.id[i] % 2, 0);
	assert_int_equal(meta_tenant_remove(f->m, "beta"), META_OK);
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_token_list(f->m, 0, token_cb, &c), META_OK);
	assert_int_equal(c.n, 0);
}

/* ---- tokens ----------------------------------------------------------- */

static void
test_tokens(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a, b;
	struct meta_token t1, t2, t3, got;
	uint8_t none[META_TOKEN_ID_LEN] = { 0 };

	a = add_tenant(f->m, "acme");
	b = add_tenant(f->m, "beta");
	t1 = token(0x42, a.id, "", META_SCOPE_ALL);
	t2 = token(0x07, a.id, "photos", META_SCOPE_READ | META_SCOPE_APPEND);
	t3 = token(0x99, b.id, "", META_SCOPE_DELETE);
	assert_int_equal(meta_token_add(f->m, &t1), META_OK);
	assert_int_equal(meta_token_add(f->m, &t2), META_OK);
	assert_int_equal(meta_token_add(f->m, &t3), META_OK);
	assert_int_equal(meta_token_add(f->m, &t1), META_EXISTS);

	assert_int_equal(meta_token_get(f->m, t2.id, &got), META_OK);
	assert_memory_equal(got.id, t2.id, META_TOKEN_ID_LEN);
	assert_memory_equal(got.hash, t2.hash, META_TOKEN_HASH_LEN);
	assert_int_equal(got.tenant_id, a.id);
	assert_string_equal(got.vault, "photos");
	assert_int_equal(got.scopes, META_SCOPE_READ | META_SCOPE_APPEND);
	assert_int_equal(got.created, t2.created);
	assert_int_equal(meta_token_get(f->m, t1.id, &got), META_OK);
	assert_string_equal(got.vault, "");
	assert_int_equal(meta_token_get(f->m, none, &got), META_NOTFOUND);

	assert_int_equal(meta_token_revoke(f->m, t1.id), META_OK);
	assert_int_equal(meta_token_revoke(f->m, t1.id), META_NOTFOUND);
	assert_int_equal(meta_token_get(f->m, t1.id, &got), META_NOTFOUND);
	/* A revoked ID can be added again (the caller draws IDs at random). */
	assert_int_equal(meta_token_add(f->m, &t1), META_OK);
}

static void
test_token_add_errors(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a;
	struct meta_token t;

	a = add_tenant(f->m, "acme");
	t = token(1, 77, "", META_SCOPE_READ);
	assert_int_equal(meta_token_add(f->m, &t), META_NOTFOUND);
	t = token(1, 0, "", META_SCOPE_READ);
	assert_int_equal(meta_token_add(f->m, &t), META_NOTFOUND);
	t = token(1, a.id, "Bad", META_SCOPE_READ);
	assert_int_equal(meta_token_add(f->m, &t), META_ERROR);
	t = token(1, a.id, "", 0x10);
	assert_int_equal(meta_token_add(f->m, &t), META_ERROR);
	t = token(1, a.id, "", META_SCOPE_READ);
	memset(t.vault, 'a', sizeof(t.vault)); /* no NUL */
	assert_int_equal(meta_token_add(f->m, &t), META_ERROR);
	t = token(1, a.id, "", 0);
	assert_int_equal(meta_token_add(f->m, &t), META_OK);
}

static void
test_token_list(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a, b;
	struct meta_token t;
	struct names c;
	static const uint8_t order[] = { 0x50, 0x01, 0xf0, 0x33, 0x02 };

	a = add_tenant(f->m, "acme");
	b = add_tenant(f->m, "beta");
	for (size_t i = 0; i < sizeof(order); i++) {
		t = token(order[i], i < 3 ? a.id : b.id, "", META_SCOPE_READ);
		assert_int_equal(meta_token_add(f->m, &t), META_OK);
	}
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_token_list(f->m, a.id, token_cb, &c), META_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.id[0], 0x01);
	assert_int_equal(c.id[1], 0x50);
	assert_int_equal(c.id[2], 0xf0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_token_list(f->m, 0, token_cb, &c), META_OK);
	assert_int_equal(c.n, 5);
	assert_int_equal(c.id[0], 0x01);
	assert_int_equal(c.id[1], 0x02);
	assert_int_equal(c.id[4], 0xf0);
	memset(&c, 0, sizeof(c));
	c.stop_at = 1;
	assert_int_equal(meta_token_list(f->m, b.id, token_cb, &c), META_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.id[0], 0x02);
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_token_list(f->m, 12345, token_cb, &c), META_OK);
	assert_int_equal(c.n, 0);
}

/* ---- vaults ----------------------------------------------------------- */

static void
test_vault_create_get(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a;
	struct meta_vault v, w, got;

	a = add_tenant(f->m, "acme");
	v = add_vault(f->m, a.id, "photos");
	w = add_vault(f->m, a.id, "docs");
	assert_int_equal(v.id, 1);
	assert_int_equal(w.id, 2);
	assert_int_equal(v.tenant_id, a.id);
	assert_string_equal(v.name, "photos");
	assert_int_equal(v.created, NOW);
	assert_int_equal(v.objects, 0);
	assert_int_equal(v.has_config, 0);

	assert_int_equal(meta_vault_create(f->m, a.id, "photos", NOW, &got), META_EXISTS);
	assert_int_equal(meta_vault_create(f->m, 99, "photos", NOW, &got), META_NOTFOUND);
	assert_int_equal(meta_vault_create(f->m, a.id, "Photos", NOW, &got), META_ERROR);
	assert_int_equal(meta_vault_create(f->m, a.id, NULL, NOW, &got), META_ERROR);
	assert_int_equal(meta_vault_create(f->m, a.id, "x", NOW, NULL), META_OK);

	assert_int_equal(meta_vault_get(f->m, a.id, "photos", &got), META_OK);
	assert_int_equal(got.id, v.id);
	assert_string_equal(got.name, "photos");
	assert_int_equal(meta_vault_get_by_id(f->m, w.id, &got), META_OK);
	assert_string_equal(got.name, "docs");
	assert_int_equal(got.tenant_id, a.id);
	assert_int_equal(meta_vault_get(f->m, a.id, "nope", &got), META_NOTFOUND);
	assert_int_equal(meta_vault_get(f->m, a.id, "-nope", &got), META_ERROR);
	assert_int_equal(meta_vault_get_by_id(f->m, 999, &got), META_NOTFOUND);
}

static void
test_vault_isolation(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a, b;
	struct meta_vault va, vb, got;
	uint8_t id[VSP_ID_LEN];
	struct meta_object o = { 10, NOW, 1, 0 }, out;
	uint8_t present;

	a = add_tenant(f->m, "acme");
	b = add_tenant(f->m, "beta");
	va = add_vault(f->m, a.id, "photos");
	assert_int_equal(meta_vault_get(f->m, b.id, "photos", &got), META_NOTFOUND);
	vb = add_vault(f->m, b.id, "photos");
	assert_true(va.id != vb.id);
	assert_int_equal(meta_vault_get(f->m, a.id, "photos", &got), META_OK);
	assert_int_equal(got.id, va.id);
	assert_int_equal(meta_vault_get(f->m, b.id, "photos", &got), META_OK);
	assert_int_equal(got.id, vb.id);
	assert_int_equal(got.tenant_id, b.id);

	/* An object in A's vault is invisible through B's vault of the same name. */
	make_id(id, 1);
	assert_int_equal(meta_object_put(f->m, va.id, VSP_KIND_PACK, id, &o, NULL), META_OK);
	assert_int_equal(meta_object_get(f->m, vb.id, VSP_KIND_PACK, id, &out), META_NOTFOUND);
	assert_int_equal(meta_object_exists_batch(f->m, vb.id, VSP_KIND_PACK,
	    (const uint8_t (*)[VSP_ID_LEN])id, 1, &present), META_OK);
	assert_int_equal(present, 0);
	assert_int_equal(meta_vault_get(f->m, b.id, "photos", &got), META_OK);
	assert_int_equal(got.objects, 0);
}

static void
test_vault_list(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a, b;
	struct names c;

	a = add_tenant(f->m, "acme");
	b = add_tenant(f->m, "beta");
	add_vault(f->m, b.id, "zeta");
	add_vault(f->m, a.id, "mail");
	add_vault(f->m, b.id, "alpha");
	add_vault(f->m, a.id, "db");
	add_vault(f->m, a.id, "db-old");

	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_vault_list(f->m, a.id, vault_cb, &c), META_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.name[0], "db");
	assert_string_equal(c.name[1], "db-old");
	assert_string_equal(c.name[2], "mail");
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_vault_list(f->m, b.id, vault_cb, &c), META_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.name[0], "alpha");
	assert_string_equal(c.name[1], "zeta");
	/* tenant_id 0: every vault, by tenant ID and then by name. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_vault_list(f->m, 0, vault_cb, &c), META_OK);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.name[0], "db");
	assert_string_equal(c.name[3], "alpha");
	memset(&c, 0, sizeof(c));
	c.stop_at = 1;
	assert_int_equal(meta_vault_list(f->m, 0, vault_cb, &c), META_OK);
	assert_int_equal(c.n, 1);
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_vault_list(f->m, 42, vault_cb, &c), META_OK);
	assert_int_equal(c.n, 0);
}

static void
test_vault_config(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a;
	struct meta_vault v, got;
	uint8_t cid[VSP_ID_LEN], other[VSP_ID_LEN];

	a = add_tenant(f->m, "acme");
	v = add_vault(f->m, a.id, "photos");
	make_id(cid, 7);
	make_id(other, 8);
	assert_int_equal(meta_vault_set_config(f->m, v.id, cid, 321), META_OK);
	assert_int_equal(meta_vault_set_config(f->m, v.id, other, 5), META_EXISTS);
	assert_int_equal(meta_vault_set_config(f->m, v.id, cid, 321), META_EXISTS);
	assert_int_equal(meta_vault_set_config(f->m, 999, cid, 321), META_NOTFOUND);
	assert_int_equal(meta_vault_get(f->m, a.id, "photos", &got), META_OK);
	assert_int_equal(got.has_config, 1);
	assert_memory_equal(got.config_id, cid, VSP_ID_LEN);
	assert_int_equal(got.config_size, 321);
}

/* ---- objects ---------------------------------------------------------- */

static void
assert_counts(struct meta *m, uint64_t vault_id, uint64_t objects, uint64_t bytes,
    const uint64_t ko[VSP_KIND_COUNT], const uint64_t kb[VSP_KIND_COUNT])
{
	struct meta_vault v;

	assert_int_equal(meta_vault_get_by_id(m, vault_id, &v), META_OK);
	assert_int_equal(v.objects, objects);
	assert_int_equal(v.bytes, bytes);
	for (int k = 0; k < VSP_KIND_COUNT; k++) {
		assert_int_equal(v.kind_objects[k], ko[k]);
		assert_int_equal(v.kind_bytes[k], kb[k]);
	}
}

static void
test_object_put_get_delete(void **state)
{
	struct fx *f = *state;
	struct meta_vault v;
	uint8_t id[VSP_ID_LEN];
	struct meta_object o = { 1000, NOW, 0x5, 0 }, out, old;

	v = add_vault(f->m, add_tenant(f->m, "acme").id, "photos");
	make_id(id, 1);
	assert_int_equal(meta_object_put(f->m, v.id, VSP_KIND_PACK, id, &o, &out), META_OK);
	assert_int_equal(meta_object_get(f->m, v.id, VSP_KIND_PACK, id, &out), META_OK);
	assert_int_equal(out.size, 1000);
	assert_int_equal(out.received, NOW);
	assert_int_equal(out.locations, 0x5);
	/* The same ID under another kind is another object. */
	assert_int_equal(meta_object_get(f->m, v.id, VSP_KIND_INDEX, id, &out), META_NOTFOUND);
	o.size = 30;
	assert_int_equal(meta_object_put(f->m, v.id, VSP_KIND_INDEX, id, &o, NULL), META_OK);

	/* A second put keeps the first record and says so. */
	o.size = 1;
	o.received = NOW + 99;
	memset(&out, 0, sizeof(out));
	assert_int_equal(meta_object_put(f->m, v.id, VSP_KIND_PACK, id, &o, &out), META_EXISTS);
	assert_int_equal(out.size, 1000);
	assert_int_equal(out.received, NOW);
	assert_int_equal(meta_object_put(f->m, v.id, VSP_KIND_PACK, id, &o, NULL), META_EXISTS);
	assert_counts(f->m, v.id, 2, 1030, (uint64_t[VSP_KIND_COUNT]){ 1, 1, 0 }, (uint64_t[VSP_KIND_COUNT]){ 1000, 30, 0 });

	assert_int_equal(meta_object_put(f->m, 999, VSP_KIND_PACK, id, &o, NULL), META_NOTFOUND);
	assert_int_equal(meta_object_delete(f->m, v.id, VSP_KIND_PACK, id, &old), META_OK);
	assert_int_equal(old.size, 1000);
	assert_int_equal(old.locations, 0x5);
	assert_int_equal(meta_object_delete(f->m, v.id, VSP_KIND_PACK, id, &old), META_NOTFOUND);
	assert_int_equal(meta_object_get(f->m, v.id, VSP_KIND_PACK, id, &out), META_NOTFOUND);
	assert_counts(f->m, v.id, 1, 30, (uint64_t[VSP_KIND_COUNT]){ 0, 1, 0 }, (uint64_t[VSP_KIND_COUNT]){ 0, 30, 0 });
	assert_int_equal(meta_object_delete(f->m, v.id, VSP_KIND_INDEX, id, NULL), META_OK);
	assert_counts(f->m, v.id, 0, 0, (uint64_t[VSP_KIND_COUNT]){ 0, 0, 0 }, (uint64_t[VSP_KIND_COUNT]){ 0, 0, 0 });
	assert_int_equal(meta_object_delete(f->m, 999, VSP_KIND_INDEX, id, NULL), META_NOTFOUND);
}

static void
test_object_counters(void **state)
{
	struct fx *f = *state;
	struct meta_vault v, w;
	uint64_t ko[VSP_KIND_COUNT] = { 0 }, kb[VSP_KIND_COUNT] = { 0 }, objects = 0, bytes = 0;
	uint8_t id[VSP_ID_LEN];

	v = add_vault(f->m, add_tenant(f->m, "acme").id, "photos");
	w = add_vault(f->m, add_tenant(f->m, "beta").id, "photos");
	for (uint64_t n = 0; n < 30; n++) {
		enum vsp_kind k = (enum vsp_kind)(n % VSP_KIND_COUNT);
		assert_int_equal(put_obj(f->m, v.id, k, n, n * 7 + 1), META_OK);
		ko[k]++;
		kb[k] += n * 7 + 1;
		objects++;
		bytes += n * 7 + 1;
	}
	assert_int_equal(put_obj(f->m, w.id, VSP_KIND_PACK, 0, 5), META_OK);
	assert_counts(f->m, v.id, objects, bytes, ko, kb);
	for (uint64_t n = 0; n < 30; n += 4) {
		enum vsp_kind k = (enum vsp_kind)(n % VSP_KIND_COUNT);
		make_id(id, n);
		assert_int_equal(meta_object_delete(f->m, v.id, k, id, NULL), META_OK);
		ko[k]--;
		kb[k] -= n * 7 + 1;
		objects--;
		bytes -= n * 7 + 1;
	}
	assert_counts(f->m, v.id, objects, bytes, ko, kb);
	reopen(f);
	assert_counts(f->m, v.id, objects, bytes, ko, kb);
	assert_counts(f->m, w.id, 1, 5, (uint64_t[VSP_KIND_COUNT]){ 1, 0, 0 }, (uint64_t[VSP_KIND_COUNT]){ 5, 0, 0 });
}

static void
test_object_bad_kind(void **state)
{
	struct fx *f = *state;
	struct meta_vault v;
	uint8_t id[VSP_ID_LEN] = { 0 }, present;
	struct meta_object o = { 1, NOW, 1, 0 };
	int more;

	v = add_vault(f->m, add_tenant(f->m, "acme").id, "photos");
	assert_int_equal(meta_object_put(f->m, v.id, VSP_KIND_COUNT, id, &o, NULL), META_ERROR);
	assert_int_equal(meta_object_get(f->m, v.id, VSP_KIND_COUNT, id, &o), META_ERROR);
	assert_int_equal(meta_object_delete(f->m, v.id, (enum vsp_kind)-1, id, &o), META_ERROR);
	assert_int_equal(meta_object_list(f->m, v.id, VSP_KIND_COUNT, NULL, 10, obj_cb, NULL,
	    &more), META_ERROR);
	assert_int_equal(meta_object_exists_batch(f->m, v.id, VSP_KIND_COUNT,
	    (const uint8_t (*)[VSP_ID_LEN])id, 1, &present), META_ERROR);
}

static void
test_object_exists_batch(void **state)
{
	struct fx *f = *state;
	struct meta_vault v;
	uint8_t ids[6][VSP_ID_LEN], present[6];

	v = add_vault(f->m, add_tenant(f->m, "acme").id, "photos");
	for (uint64_t n = 0; n < 6; n++) {
		make_id(ids[n], n);
		if (n % 2 == 0)
			assert_int_equal(put_obj(f->m, v.id, VSP_KIND_INDEX, n, 10), META_OK);
	}
	/* One odd ID under another kind must not count. */
	assert_int_equal(put_obj(f->m, v.id, VSP_KIND_PACK, 1, 10), META_OK);
	memset(present, 0xee, sizeof(present));
	assert_int_equal(meta_object_exists_batch(f->m, v.id, VSP_KIND_INDEX,
	    (const uint8_t (*)[VSP_ID_LEN])ids, 6, present), META_OK);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(present[i], i % 2 == 0);
	assert_int_equal(meta_object_exists_batch(f->m, v.id, VSP_KIND_INDEX,
	    (const uint8_t (*)[VSP_ID_LEN])ids, 0, present), META_OK);
	assert_int_equal(meta_object_exists_batch(f->m, 999, VSP_KIND_INDEX,
	    (const uint8_t (*)[VSP_ID_LEN])ids, 6, present), META_NOTFOUND);
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, VSP_ID_LEN);
}

/* Lists one page and checks it against the sorted IDs from index at. */
static size_t
list_page(struct meta *m, uint64_t vault_id, const uint8_t *after, size_t limit,
    uint8_t (*sorted)[VSP_ID_LEN], size_t at, size_t total, int *more)
{
	struct idlist l = { calloc(limit + 1, VSP_ID_LEN), 0, limit + 1, 0 };

	assert_non_null(l.ids);
	*more = -1;
	assert_int_equal(meta_object_list(m, vault_id, VSP_KIND_PACK, after, limit, obj_cb, &l,
	    more), META_OK);
	assert_true(l.n <= limit);
	assert_true(at + l.n <= total);
	for (size_t i = 0; i < l.n; i++)
		assert_memory_equal(l.ids[i], sorted[at + i], VSP_ID_LEN);
	assert_int_equal(*more, at + l.n < total);
	free(l.ids);
	return l.n;
}

static void
test_object_list_paging(void **state)
{
	struct fx *f = *state;
	uint8_t (*ids)[VSP_ID_LEN] = calloc(PAGE_OBJECTS, VSP_ID_LEN);
	uint8_t after[VSP_ID_LEN];
	struct meta_vault lo, v, hi;
	uint64_t t;
	size_t at = 0, n, pages = 0;
	int more = 1;

	assert_non_null(ids);
	t = add_tenant(f->m, "acme").id;
	lo = add_vault(f->m, t, "lo");
	v = add_vault(f->m, t, "mid");
	hi = add_vault(f->m, t, "hi");
	for (size_t i = 0; i < PAGE_OBJECTS; i++) {
		make_id(ids[i], i);
		assert_int_equal(put_obj(f->m, v.id, VSP_KIND_PACK, i, 1), META_OK);
	}
	/* Neighbours on every side of the (vault, pack) range. */
	assert_int_equal(put_obj(f->m, lo.id, VSP_KIND_SNAPSHOT, 1u << 20, 1), META_OK);
	assert_int_equal(put_obj(f->m, v.id, VSP_KIND_INDEX, 1u << 21, 1), META_OK);
	assert_int_equal(put_obj(f->m, v.id, VSP_KIND_SNAPSHOT, 1u << 22, 1), META_OK);
	assert_int_equal(put_obj(f->m, hi.id, VSP_KIND_PACK, 1u << 23, 1), META_OK);
	qsort(ids, PAGE_OBJECTS, VSP_ID_LEN, id_cmp);

	while (more) {
		n = list_page(f->m, v.id, at == 0 ? NULL : ids[at - 1], PAGE_LIMIT, ids, at,
		    PAGE_OBJECTS, &more);
		at += n;
		pages++;
	}
	assert_int_equal(at, PAGE_OBJECTS);
	assert_int_equal(pages, 3);

	/* An `after` that is not stored starts at the next stored ID. */
	memcpy(after, ids[10], VSP_ID_LEN);
	for (size_t i = VSP_ID_LEN; i-- > 0 && ++after[i] == 0;)
		; /* + 1 as a big-endian number */
	assert_true(memcmp(after, ids[11], VSP_ID_LEN) < 0);
	assert_int_equal(list_page(f->m, v.id, after, 5, ids, 11, PAGE_OBJECTS, &more), 5);
	/* Exactly limit objects left: more is 0. */
	assert_int_equal(list_page(f->m, v.id, ids[PAGE_OBJECTS - 6], 5, ids, PAGE_OBJECTS - 5,
	    PAGE_OBJECTS, &more), 5);
	assert_int_equal(more, 0);
	assert_int_equal(list_page(f->m, v.id, ids[PAGE_OBJECTS - 1], 5, ids, PAGE_OBJECTS,
	    PAGE_OBJECTS, &more), 0);
	/* limit 0 gives nothing but says whether anything follows. */
	assert_int_equal(list_page(f->m, v.id, NULL, 0, ids, 0, PAGE_OBJECTS, &more), 0);
	assert_int_equal(more, 1);
	free(ids);
}

static void
test_object_list_edges(void **state)
{
	struct fx *f = *state;
	uint8_t ids[3][VSP_ID_LEN], buf[4][VSP_ID_LEN];
	struct idlist l = { buf, 0, 4, 0 };
	struct meta_vault v, e;
	int more;

	v = add_vault(f->m, add_tenant(f->m, "acme").id, "v");
	e = add_vault(f->m, 1, "empty");
	assert_int_equal(meta_object_list(f->m, e.id, VSP_KIND_PACK, NULL, 10, obj_cb, &l,
	    &more), META_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(more, 0);
	assert_int_equal(meta_object_list(f->m, 999, VSP_KIND_PACK, NULL, 10, obj_cb, &l,
	    &more), META_NOTFOUND);
	for (uint64_t n = 0; n < 3; n++) {
		make_id(ids[n], n);
		assert_int_equal(put_obj(f->m, v.id, VSP_KIND_PACK, n, 1), META_OK);
	}
	qsort(ids, 3, VSP_ID_LEN, id_cmp);
	/* A callback that stops early leaves more set. */
	l.stop_at = 1;
	assert_int_equal(meta_object_list(f->m, v.id, VSP_KIND_PACK, NULL, 10, obj_cb, &l,
	    &more), META_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(more, 1);
	assert_memory_equal(buf[0], ids[0], VSP_ID_LEN);
	/* A stop on the last object: nothing follows. */
	l.n = 0;
	assert_int_equal(meta_object_list(f->m, v.id, VSP_KIND_PACK, ids[1], 10, obj_cb, &l,
	    &more), META_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(more, 0);
	/* more may be NULL. */
	l.n = 0;
	l.stop_at = 0;
	assert_int_equal(meta_object_list(f->m, v.id, VSP_KIND_PACK, NULL, 10, obj_cb, &l,
	    NULL), META_OK);
	assert_int_equal(l.n, 3);
}

/* ---- persistence, layouts, corruption --------------------------------- */

static void
test_reopen_persists(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a, t;
	struct meta_vault v, got;
	struct meta_token tok, gtok;
	struct meta_object o;
	uint8_t cid[VSP_ID_LEN], id[VSP_ID_LEN];

	a = add_tenant(f->m, "acme");
	v = add_vault(f->m, a.id, "photos");
	tok = token(0x77, a.id, "photos", META_SCOPE_READ);
	assert_int_equal(meta_token_add(f->m, &tok), META_OK);
	make_id(cid, 1000);
	assert_int_equal(meta_vault_set_config(f->m, v.id, cid, 77), META_OK);
	assert_int_equal(put_obj(f->m, v.id, VSP_KIND_SNAPSHOT, 5, 555), META_OK);
	reopen(f);

	assert_int_equal(meta_tenant_get(f->m, "acme", &t), META_OK);
	assert_int_equal(t.id, a.id);
	assert_int_equal(meta_token_get(f->m, tok.id, &gtok), META_OK);
	assert_string_equal(gtok.vault, "photos");
	assert_int_equal(meta_vault_get(f->m, a.id, "photos", &got), META_OK);
	assert_int_equal(got.has_config, 1);
	assert_memory_equal(got.config_id, cid, VSP_ID_LEN);
	assert_int_equal(got.kind_objects[VSP_KIND_SNAPSHOT], 1);
	assert_int_equal(got.kind_bytes[VSP_KIND_SNAPSHOT], 555);
	make_id(id, 5);
	assert_int_equal(meta_object_get(f->m, v.id, VSP_KIND_SNAPSHOT, id, &o), META_OK);
	assert_int_equal(o.size, 555);
	assert_int_equal(o.received, NOW + 5);
	/* The counters survive too: IDs continue, never restart. */
	assert_int_equal(add_tenant(f->m, "beta").id, a.id + 1);
	assert_int_equal(add_vault(f->m, a.id, "docs").id, v.id + 1);
}

/* Checks the stored bytes against spec/storage.md. */
static void
test_layouts(void **state)
{
	struct fx *f = *state;
	uint8_t buf[256], key[64], id[VSP_ID_LEN], cid[VSP_ID_LEN];
	struct meta_tenant a;
	struct meta_vault v;
	struct meta_token tok;
	struct meta_object o = { 0x0102030405060708u, 0x1112131415161718u, 0x21222324u, 0 };
	size_t len;

	a = add_tenant(f->m, "acme");
	v = add_vault(f->m, a.id, "pics");
	static const uint8_t tenant[] = { 1, 1, 0, 0, 0, 0, 0, 0, 0,
		0x00, 0xf1, 0x53, 0x65, 0, 0, 0, 0 };
	len = raw_get(f, "tenants", "acme", 4, buf, sizeof(buf));
	assert_int_equal(len, sizeof(tenant));
	assert_memory_equal(buf, tenant, sizeof(tenant));
	be64(key, a.id);
	len = raw_get(f, "tenant_ids", key, 8, buf, sizeof(buf));
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "\001acme", 5);
	static const uint8_t counter2[] = { 1, 2, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t counter[] = { 1, 1, 0, 0, 0, 0, 0, 0, 0 };
	len = raw_get(f, "sys", "next_tenant_id", 14, buf, sizeof(buf));
	assert_int_equal(len, sizeof(counter2));
	assert_memory_equal(buf, counter2, sizeof(counter2));
	len = raw_get(f, "sys", "next_vault_id", 13, buf, sizeof(buf));
	assert_memory_equal(buf, counter2, sizeof(counter2));

	memcpy(&key[8], "pics", 4);
	len = raw_get(f, "vault_names", key, 12, buf, sizeof(buf));
	assert_int_equal(len, 9);
	assert_memory_equal(buf, counter, 9); /* vault id 1, like a counter of 1 */

	tok = token(0xab, a.id, "pics", META_SCOPE_READ | META_SCOPE_DELETE);
	assert_int_equal(meta_token_add(f->m, &tok), META_OK);
	len = raw_get(f, "tokens", tok.id, 8, buf, sizeof(buf));
	assert_int_equal(len, 1 + 32 + 8 + 4 + 8 + 1 + 4);
	assert_int_equal(buf[0], 1);
	assert_memory_equal(&buf[1], tok.hash, 32);
	assert_memory_equal(&buf[33], &counter[1], 8); /* tenant id 1 */
	assert_int_equal(buf[41], META_SCOPE_READ | META_SCOPE_DELETE);
	assert_memory_equal(&buf[42], &counter[2], 3);
	assert_int_equal(buf[45], (NOW + 0xab) & 0xff);
	assert_int_equal(buf[53], 4);
	assert_memory_equal(&buf[54], "pics", 4);

	make_id(id, 1);
	make_id(cid, 2);
	assert_int_equal(meta_object_put(f->m, v.id, VSP_KIND_INDEX, id, &o, NULL), META_OK);
	assert_int_equal(meta_vault_set_config(f->m, v.id, cid, 0x99), META_OK);
	obj_key(key, v.id, VSP_KIND_INDEX, id);
	len = raw_get(f, "objects", key, 41, buf, sizeof(buf));
	assert_int_equal(len, 21);
	assert_memory_equal(buf, ((uint8_t[]){ 1, 8, 7, 6, 5, 4, 3, 2, 1,
	    0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, 0x24, 0x23, 0x22, 0x21 }), 21);

	be64(key, v.id);
	len = raw_get(f, "vaults", key, 8, buf, sizeof(buf));
	assert_int_equal(len, 155 + 4);
	assert_int_equal(buf[0], 1);
	assert_int_equal(buf[1], 1);                 /* tenant id */
	assert_int_equal(buf[9], NOW & 0xff);        /* created */
	assert_int_equal(buf[17], 1);                /* objects */
	assert_int_equal(buf[25], 8);                /* bytes, LE */
	assert_int_equal(buf[32], 1);
	assert_int_equal(buf[33 + 8], 1);            /* kind_objects[index] */
	assert_int_equal(buf[73 + 8], 8);            /* kind_bytes[index] */
	assert_int_equal(buf[113], 1);               /* has_config */
	assert_memory_equal(&buf[114], cid, 32);
	assert_int_equal(buf[146], 0x99);            /* config_size */
	assert_int_equal(buf[154], 4);               /* name length */
	assert_memory_equal(&buf[155], "pics", 4);
}

static void
test_corrupt_records(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a, t;
	struct meta_vault v, w, got;
	struct meta_token tok, gtok;
	struct meta_object o;
	struct names c;
	uint8_t key[64], id[VSP_ID_LEN], present;
	static const uint8_t junk[] = { 9, 9, 9 };
	int more;

	a = add_tenant(f->m, "acme");
	add_tenant(f->m, "beta");
	v = add_vault(f->m, a.id, "photos");
	w = add_vault(f->m, a.id, "docs");
	tok = token(0x11, a.id, "", META_SCOPE_READ);
	assert_int_equal(meta_token_add(f->m, &tok), META_OK);
	assert_int_equal(put_obj(f->m, v.id, VSP_KIND_PACK, 1, 100), META_OK);

	/* An object record of the wrong version (right length). */
	make_id(id, 1);
	obj_key(key, v.id, VSP_KIND_PACK, id);
	raw_put(f, "objects", key, 41, (uint8_t[21]){ 2 }, 21);
	assert_int_equal(meta_object_get(f->m, v.id, VSP_KIND_PACK, id, &o), META_ERROR);
	assert_int_equal(meta_object_put(f->m, v.id, VSP_KIND_PACK, id, &o, NULL), META_ERROR);
	assert_int_equal(meta_object_delete(f->m, v.id, VSP_KIND_PACK, id, &o), META_ERROR);
	assert_int_equal(meta_object_list(f->m, v.id, VSP_KIND_PACK, NULL, 10, obj_cb,
	    &(struct idlist){ NULL, 0, 0, 0 }, &more), META_ERROR);
	/* exists reads the record too (a tombstoned object is absent). */
	assert_int_equal(meta_object_exists_batch(f->m, v.id, VSP_KIND_PACK,
	    (const uint8_t (*)[VSP_ID_LEN])id, 1, &present), META_ERROR);
	(void)present;

	/* A tenant record that is too short. */
	raw_put(f, "tenants", "beta", 4, junk, sizeof(junk));
	assert_int_equal(meta_tenant_get(f->m, "beta", &t), META_ERROR);
	assert_int_equal(meta_tenant_get_by_id(f->m, 2, &t), META_ERROR);
	assert_int_equal(meta_tenant_remove(f->m, "beta"), META_ERROR);
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_tenant_list(f->m, tenant_cb, &c), META_ERROR);
	assert_int_equal(meta_tenant_get(f->m, "acme", &t), META_OK);

	/* A token record of the wrong length. */
	raw_put(f, "tokens", tok.id, 8, junk, sizeof(junk));
	assert_int_equal(meta_token_get(f->m, tok.id, &gtok), META_ERROR);
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_token_list(f->m, 0, token_cb, &c), META_ERROR);

	/* A vault record whose name length overruns the value. */
	be64(key, w.id);
	{
		uint8_t bad[155 + 4];
		size_t len = raw_get(f, "vaults", key, 8, bad, sizeof(bad));
		assert_int_equal(len, sizeof(bad));
		bad[154] = 60;
		raw_put(f, "vaults", key, 8, bad, sizeof(bad));
	}
	assert_int_equal(meta_vault_get_by_id(f->m, w.id, &got), META_ERROR);
	assert_int_equal(meta_vault_get(f->m, a.id, "docs", &got), META_ERROR);
	assert_int_equal(meta_vault_set_config(f->m, w.id, id, 1), META_ERROR);
	assert_int_equal(put_obj(f->m, w.id, VSP_KIND_PACK, 2, 1), META_ERROR);
	memset(&c, 0, sizeof(c));
	assert_int_equal(meta_vault_list(f->m, a.id, vault_cb, &c), META_ERROR);

	/* A vault-name entry pointing at no vault. */
	be64(key, v.id);
	raw_del(f, "vaults", key, 8);
	assert_int_equal(meta_vault_get(f->m, a.id, "photos", &got), META_ERROR);

	/* A broken counter stops new IDs rather than reusing one. */
	raw_put(f, "sys", "next_vault_id", 13, junk, sizeof(junk));
	assert_int_equal(meta_vault_create(f->m, a.id, "new", NOW, &got), META_ERROR);
	assert_int_equal(meta_vault_get(f->m, a.id, "new", &got), META_NOTFOUND);
}

static void
test_map_full(void **state)
{
	struct fx *f = *state;
	struct meta_vault v, got;
	char dir[400];
	uint64_t stored = 0;
	int rc = META_OK;

	meta_close(f->m);
	snprintf(dir, sizeof(dir), "%s/small", f->root);
	assert_int_equal(meta_open(dir, 256 * 1024, &f->m), META_OK);
	v = add_vault(f->m, add_tenant(f->m, "acme").id, "photos");
	for (uint64_t n = 0; n < 100000 && rc == META_OK; n++) {
		rc = put_obj(f->m, v.id, VSP_KIND_PACK, n, 10);
		if (rc == META_OK)
			stored++;
	}
	assert_int_equal(rc, META_FULL);
	assert_true(stored > 100);
	/* The failed transaction left no trace; reads still work. */
	assert_int_equal(meta_vault_get_by_id(f->m, v.id, &got), META_OK);
	assert_int_equal(got.objects, stored);
	assert_int_equal(got.bytes, stored * 10);
	assert_int_equal(put_obj(f->m, v.id, VSP_KIND_PACK, stored, 10), META_FULL);
	meta_close(f->m);
	assert_int_equal(meta_open(dir, 256 * 1024, &f->m), META_OK);
	assert_int_equal(meta_vault_get_by_id(f->m, v.id, &got), META_OK);
	assert_int_equal(got.objects, stored);
}

/* ---- threads ---------------------------------------------------------- */

struct worker {
	struct meta *m;
	uint64_t vault_id;
	uint64_t base;
	int failures;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct meta_vault v;

	for (uint64_t n = 0; n < THREAD_PUTS; n++) {
		if (put_obj(w->m, w->vault_id, VSP_KIND_PACK, w->base + n, 3) != META_OK)
			w->failures++;
		if (meta_vault_get_by_id(w->m, w->vault_id, &v) != META_OK)
			w->failures++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct fx *f = *state;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct meta_vault v;

	v = add_vault(f->m, add_tenant(f->m, "acme").id, "photos");
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ f->m, v.id, (uint64_t)i * 1000000, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(meta_vault_get_by_id(f->m, v.id, &v), META_OK);
	assert_int_equal(v.objects, THREADS * THREAD_PUTS);
	assert_int_equal(v.bytes, THREADS * THREAD_PUTS * 3);
}

/* The commit invariant: a snapshot goes in only when every reference is
 * there, checked in the write transaction; its header fields come back and
 * go with it. */
static void
test_snapshot_commit(void **state)
{
	struct fx *f = *state;
	struct meta_tenant a = add_tenant(f->m, "acme");
	struct meta_vault v = add_vault(f->m, a.id, "main"), w = add_vault(f->m, a.id, "other");
	struct meta_object o = { 77, NOW, 1, 0 }, got;
	struct meta_snapshot out;
	struct envelope_ref refs[2];
	struct envelope env, empty;
	uint8_t group[ENVELOPE_GROUP_LEN], sid[VSP_ID_LEN], missing[2], *buf, *ebuf;
	size_t len, elen;

	memset(group, 0xab, sizeof(group));
	make_id(sid, 900);
	refs[0].kind = ENVELOPE_KIND_PACK;
	make_id(refs[0].id, 1);
	refs[1].kind = ENVELOPE_KIND_INDEX;
	make_id(refs[1].id, 2);
	assert_int_equal(envelope_encode(-5, group, 0, refs, 2, NULL, 0, &buf, &len), 0);
	assert_int_equal(envelope_parse(buf, len, &env), ENVELOPE_OK);
	assert_int_equal(envelope_encode(-5, group, 0, NULL, 0, NULL, 0, &ebuf, &elen), 0);
	assert_int_equal(envelope_parse(ebuf, elen, &empty), ENVELOPE_OK);
	assert_int_equal(put_obj(f->m, v.id, VSP_KIND_PACK, 1, 10), META_OK);
	/* The index is missing; the same ID as a pack or in another vault does
	 * not count. */
	assert_int_equal(put_obj(f->m, v.id, VSP_KIND_PACK, 2, 10), META_OK);
	assert_int_equal(put_obj(f->m, w.id, VSP_KIND_INDEX, 2, 10), META_OK);
	memset(missing, 9, sizeof(missing));
	assert_int_equal(meta_snapshot_put(f->m, v.id, sid, &o, &env, missing, NULL),
	    META_MISSING);
	assert_int_equal(missing[0], 0);
	assert_int_equal(missing[1], 1);
	assert_int_equal(meta_object_get(f->m, v.id, VSP_KIND_SNAPSHOT, sid, &got), META_NOTFOUND);
	assert_int_equal(meta_snapshot_get(f->m, v.id, sid, &out), META_NOTFOUND);
	assert_int_equal(meta_vault_get_by_id(f->m, v.id, &v), META_OK);
	assert_int_equal(v.kind_objects[VSP_KIND_SNAPSHOT], 0);

	assert_int_equal(put_obj(f->m, v.id, VSP_KIND_INDEX, 2, 10), META_OK);
	assert_int_equal(meta_snapshot_put(f->m, v.id, sid, &o, &env, missing, NULL), META_OK);
	assert_int_equal(meta_snapshot_get(f->m, v.id, sid, &out), META_OK);
	assert_int_equal(out.client_time, -5);
	assert_int_equal(out.nrefs, 2);
	assert_memory_equal(out.group, group, sizeof(group));
	assert_int_equal(meta_vault_get_by_id(f->m, v.id, &v), META_OK);
	assert_int_equal(v.kind_objects[VSP_KIND_SNAPSHOT], 1);
	assert_int_equal(v.kind_bytes[VSP_KIND_SNAPSHOT], 77);
	assert_int_equal(meta_snapshot_put(f->m, v.id, sid, &o, &env, missing, &got),
	    META_EXISTS);
	assert_int_equal(got.size, 77);

	/* Deleting the object deletes its header record. */
	assert_int_equal(meta_object_delete(f->m, v.id, VSP_KIND_SNAPSHOT, sid, NULL), META_OK);
	assert_int_equal(meta_snapshot_get(f->m, v.id, sid, &out), META_NOTFOUND);
	/* No references at all is a valid snapshot. */
	assert_int_equal(meta_snapshot_put(f->m, v.id, sid, &o, &empty, missing, NULL), META_OK);
	assert_int_equal(meta_snapshot_get(f->m, v.id, sid, &out), META_OK);
	assert_int_equal(out.nrefs, 0);
	free(buf);
	free(ebuf);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_errors),
		T(test_format_record),
		T(test_tenant_add_get),
		T(test_tenant_bad_names),
		T(test_tenant_list),
		T(test_tenant_remove),
		T(test_tenant_remove_tokens),
		T(test_tokens),
		T(test_token_add_errors),
		T(test_token_list),
		T(test_vault_create_get),
		T(test_vault_isolation),
		T(test_vault_list),
		T(test_vault_config),
		T(test_object_put_get_delete),
		T(test_object_counters),
		T(test_object_bad_kind),
		T(test_object_exists_batch),
		T(test_object_list_paging),
		T(test_object_list_edges),
		T(test_reopen_persists),
		T(test_layouts),
		T(test_corrupt_records),
		T(test_map_full),
		T(test_threads),
		T(test_snapshot_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
