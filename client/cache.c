/*
 * The client's local index cache (cache.h); the layout is spec/pack.md 5.
 *
 * The cache only repeats what the vault's index segments say, so it favours
 * never giving a wrong answer over durability: MDB_NOMETASYNC may lose the
 * last commits in a crash (they are learnt again on the next sync) but
 * LMDB never leaves a torn database, and every value is checked for its
 * size before it is read. MDB_NOTLS because callers may use one cache from
 * several threads and a read transaction must not be tied to one.
 */
#include "cache_internal.h"
#include "le.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#define MAP_SIZE ((size_t)4 << 30)
#define MAX_DBS 5
#define ENV_MODE 0600
#define DIR_MODE 0700
#define FORMAT_KEY "format"
#define DIR_HASH_LEN 16                 /* BLAKE2b-128 */
_Static_assert(2 * DIR_HASH_LEN == VC_CACHE_NAME_LEN, "cache name length");

/* Offsets in a chunks value and in a 45-byte map entry. */
#define CV_PACK 0
#define CV_TYPE (CV_PACK + VC_ID_LEN)
#define CV_OFFSET (CV_TYPE + 1)
#define CV_SEALED (CV_OFFSET + 4)
#define CV_PLAIN (CV_SEALED + 4)
#define ME_TYPE 0
#define ME_ID (ME_TYPE + 1)
#define ME_OFFSET (ME_ID + VC_ID_LEN)
#define ME_SEALED (ME_OFFSET + 4)
#define ME_PLAIN (ME_SEALED + 4)

_Static_assert(CV_PLAIN + 4 == VC_CACHE__CHUNK_VAL_LEN, "chunks value layout");
_Static_assert(ME_PLAIN + 4 == VC_PACK_ENTRY_LEN, "map entry layout");

int
vc_cache__fail(const struct vc_cache *c, const char *op, int mdb_rc)
{
	vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: %s: %s", c->dir, op,
	    mdb_strerror(mdb_rc));
	return -1;
}

/* A value of the wrong size: the cache was damaged or written by another
 * layout. Prints and returns -1. */
static int
damaged(const struct vc_cache *c, const char *op, const char *what)
{
	vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: %s: damaged %s (delete the "
	    "directory; the next sync rebuilds it)", c->dir, op, what);
	return -1;
}

int
vc_cache__begin(struct vc_cache *c, unsigned flags, const char *op, MDB_txn **txn)
{
	int rc = mdb_txn_begin(c->env, NULL, flags, txn);

	return rc == 0 ? 0 : vc_cache__fail(c, op, rc);
}

int
vc_cache__commit(struct vc_cache *c, MDB_txn *txn, const char *op)
{
	int rc = mdb_txn_commit(txn);

	return rc == 0 ? 0 : vc_cache__fail(c, op, rc);
}

/* Creates dir and its missing parents with DIR_MODE. Returns 0 or -1. */
static int
mkdir_p(const struct vc_report *rp, const char *dir)
{
	char path[VC_CACHE__DIR_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path)) {
		vc_report(rp, VC_LOG_ERROR, "vault cache: directory name empty or too long");
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, DIR_MODE) != 0 && errno != EEXIST) {
			vc_report(rp, VC_LOG_ERROR, "vault cache: mkdir %s: %s", path, strerror(errno));
			return -1;
		}
		path[i] = i == len ? '\0' : '/';
	}
	return 0;
}

/* Opens the databases and checks (or, in a new cache, writes) the format. */
static int
open_dbs(struct vc_cache *c)
{
	static const struct { const char *name; unsigned flags; size_t off; } dbs[] = {
		{ "meta", 0, offsetof(struct vc_cache, meta) },
		{ "chunks", MDB_DUPSORT | MDB_DUPFIXED, offsetof(struct vc_cache, chunks) },
		{ "packs", 0, offsetof(struct vc_cache, packs) },
		{ "indexes", 0, offsetof(struct vc_cache, indexes) },
		{ "heads", 0, offsetof(struct vc_cache, heads) },
	};
	MDB_val key = { sizeof(FORMAT_KEY) - 1, (void *)FORMAT_KEY }, val;
	uint8_t fmt[4];
	MDB_txn *txn;
	int rc;

	if (vc_cache__begin(c, 0, "open", &txn) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		MDB_dbi *dbi = (MDB_dbi *)((char *)c + dbs[i].off);
		if ((rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE | dbs[i].flags, dbi)) != 0)
			goto fail;
	}
	rc = mdb_get(txn, c->meta, &key, &val);
	if (rc == MDB_NOTFOUND) {
		le32_put(fmt, VC_CACHE__FORMAT);
		val.mv_size = sizeof(fmt);
		val.mv_data = fmt;
		if ((rc = mdb_put(txn, c->meta, &key, &val, 0)) != 0)
			goto fail;
	} else if (rc != 0) {
		goto fail;
	} else if (val.mv_size != sizeof(fmt) ||
	    le32_get(val.mv_data) != VC_CACHE__FORMAT) {
		mdb_txn_abort(txn);
		vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: another format than %d (delete "
		    "the directory; the next sync rebuilds it)", c->dir, VC_CACHE__FORMAT);
		return -1;
	}
	return vc_cache__commit(c, txn, "open");

fail:
	mdb_txn_abort(txn);
	return vc_cache__fail(c, "open", rc);
}

int
vc_cache_open(const char *dir, const struct vc_report *rp, struct vc_cache **out)
{
	struct vc_cache *c;
	int rc;

	*out = NULL;
	if (mkdir_p(rp, dir) != 0)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		vc_report(rp, VC_LOG_ERROR, "vault cache %s: out of memory", dir);
		return -1;
	}
	memcpy(c->dir, dir, strlen(dir) + 1);  /* mkdir_p checked the length */
	if (rp != NULL)
		c->rp = *rp;
	if ((rc = mdb_env_create(&c->env)) != 0) {
		c->env = NULL;
		goto fail;
	}
	if ((rc = mdb_env_set_maxdbs(c->env, MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(c->env, MAP_SIZE)) != 0 ||
	    (rc = mdb_env_open(c->env, dir, MDB_NOTLS | MDB_NOMETASYNC, ENV_MODE)) != 0)
		goto fail;
	if (open_dbs(c) != 0)
		goto err0;
	*out = c;
	return 0;

fail:
	vc_cache__fail(c, "cannot open the LMDB environment", rc);
err0:
	vc_cache_close(c);
	return -1;
}

void
vc_cache_close(struct vc_cache *c)
{
	if (c == NULL)
		return;
	if (c->env != NULL)
		mdb_env_close(c->env);
	free(c);
}

static int
vc_cache__pack_val(const struct vc_cache *c, const MDB_val *v, size_t *n)
{
	size_t count;

	if (v->mv_size < VC_CACHE__PACK_HEAD_LEN)
		return damaged(c, "packs", "pack record");
	count = le32_get((const uint8_t *)v->mv_data + VC_ID_LEN);
	if ((v->mv_size - VC_CACHE__PACK_HEAD_LEN) / VC_PACK_ENTRY_LEN != count ||
	    (v->mv_size - VC_CACHE__PACK_HEAD_LEN) % VC_PACK_ENTRY_LEN != 0)
		return damaged(c, "packs", "pack record");
	*n = count;
	return 0;
}

static void
vc_cache__pack_entry(const MDB_val *v, size_t i, struct vc_pack_entry *e)
{
	const uint8_t *p = (const uint8_t *)v->mv_data + VC_CACHE__PACK_HEAD_LEN +
	    i * VC_PACK_ENTRY_LEN;

	e->type = p[ME_TYPE];
	memcpy(e->id, &p[ME_ID], VC_ID_LEN);
	e->offset = le32_get(&p[ME_OFFSET]);
	e->sealed_len = le32_get(&p[ME_SEALED]);
	e->plain_len = le32_get(&p[ME_PLAIN]);
}

/* The chunks value of entry e of pack pack_id. */
static void
chunk_val(const uint8_t pack_id[VC_ID_LEN], const struct vc_pack_entry *e,
    uint8_t v[VC_CACHE__CHUNK_VAL_LEN])
{
	memcpy(&v[CV_PACK], pack_id, VC_ID_LEN);
	v[CV_TYPE] = e->type;
	le32_put(&v[CV_OFFSET], e->offset);
	le32_put(&v[CV_SEALED], e->sealed_len);
	le32_put(&v[CV_PLAIN], e->plain_len);
}

int
vc_cache_lookup(struct vc_cache *c, const uint8_t id[VC_ID_LEN], struct vc_cache_loc *loc)
{
	MDB_val key = { VC_ID_LEN, (void *)id }, val, pkey;
	const uint8_t *v;
	MDB_txn *txn;
	int rc;

	if (vc_cache__begin(c, MDB_RDONLY, "lookup", &txn) != 0)
		return -1;
	/* With MDB_DUPSORT, mdb_get gives the first value: the lowest pack. */
	if ((rc = mdb_get(txn, c->chunks, &key, &val)) == MDB_NOTFOUND) {
		rc = VC_CACHE_NOTFOUND;
		goto out;
	} else if (rc != 0) {
		rc = vc_cache__fail(c, "lookup", rc);
		goto out;
	}
	if (val.mv_size != VC_CACHE__CHUNK_VAL_LEN) {
		rc = damaged(c, "lookup", "chunk record");
		goto out;
	}
	v = val.mv_data;
	memcpy(loc->pack_id, &v[CV_PACK], VC_ID_LEN);
	loc->type = v[CV_TYPE];
	loc->offset = le32_get(&v[CV_OFFSET]);
	loc->sealed_len = le32_get(&v[CV_SEALED]);
	loc->plain_len = le32_get(&v[CV_PLAIN]);
	pkey.mv_size = VC_ID_LEN;
	pkey.mv_data = loc->pack_id;
	/* Both are written in one transaction: a chunk without its pack is
	 * damage, not a miss. */
	if ((rc = mdb_get(txn, c->packs, &pkey, &val)) != 0) {
		rc = rc == MDB_NOTFOUND ? damaged(c, "lookup", "pack of a chunk") :
		    vc_cache__fail(c, "lookup", rc);
		goto out;
	}
	if (val.mv_size < VC_CACHE__PACK_HEAD_LEN) {
		rc = damaged(c, "lookup", "pack record");
		goto out;
	}
	memcpy(loc->index_id, val.mv_data, VC_ID_LEN);
	rc = 0;
out:
	mdb_txn_abort(txn);
	return rc;
}

int
vc_cache__drop_pack_txn(struct vc_cache *c, MDB_txn *txn, const uint8_t pack_id[VC_ID_LEN])
{
	MDB_val key = { VC_ID_LEN, (void *)pack_id }, val, ckey, cval;
	uint8_t cv[VC_CACHE__CHUNK_VAL_LEN];
	struct vc_pack_entry e;
	uint8_t *copy;
	size_t n;
	int rc;

	if ((rc = mdb_get(txn, c->packs, &key, &val)) == MDB_NOTFOUND)
		return VC_CACHE_NOTFOUND;
	if (rc != 0)
		return vc_cache__fail(c, "drop pack", rc);
	if (vc_cache__pack_val(c, &val, &n) != 0)
		return -1;
	/* The value is only valid until the first write: keep a copy. */
	if ((copy = malloc(val.mv_size)) == NULL) {
		vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: drop pack: out of memory", c->dir);
		return -1;
	}
	memcpy(copy, val.mv_data, val.mv_size);
	val.mv_data = copy;
	for (size_t i = 0; i < n; i++) {
		vc_cache__pack_entry(&val, i, &e);
		chunk_val(pack_id, &e, cv);
		ckey.mv_size = VC_ID_LEN;
		ckey.mv_data = e.id;
		cval.mv_size = sizeof(cv);
		cval.mv_data = cv;
		/* Only this pack's value: the chunk may live in others too. */
		rc = mdb_del(txn, c->chunks, &ckey, &cval);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			free(copy);
			return vc_cache__fail(c, "drop pack", rc);
		}
	}
	free(copy);
	if ((rc = mdb_del(txn, c->packs, &key, NULL)) != 0)
		return vc_cache__fail(c, "drop pack", rc);
	return 0;
}

int
vc_cache__add_pack_txn(struct vc_cache *c, MDB_txn *txn, const uint8_t pack_id[VC_ID_LEN],
    const uint8_t index_id[VC_ID_LEN], const struct vc_pack_entry *e, size_t n)
{
	MDB_val key = { VC_ID_LEN, (void *)pack_id }, val, ckey, cval;
	uint8_t cv[VC_CACHE__CHUNK_VAL_LEN], *p;
	int rc;

	if (n > VC_PACK_CHUNKS_MAX) {
		vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: add pack: %zu entries", c->dir, n);
		return -1;
	}
	/* A pack recorded again replaces its old record (the last segment
	 * read wins). */
	if (vc_cache__drop_pack_txn(c, txn, pack_id) < 0)
		return -1;
	val.mv_size = VC_CACHE__PACK_HEAD_LEN + n * VC_PACK_ENTRY_LEN;
	if ((rc = mdb_put(txn, c->packs, &key, &val, MDB_RESERVE)) != 0)
		return vc_cache__fail(c, "add pack", rc);
	p = val.mv_data;
	memcpy(p, index_id, VC_ID_LEN);
	le32_put(p + VC_ID_LEN, (uint32_t)n);
	p += VC_CACHE__PACK_HEAD_LEN;
	for (size_t i = 0; i < n; i++, p += VC_PACK_ENTRY_LEN) {
		p[ME_TYPE] = e[i].type;
		memcpy(&p[ME_ID], e[i].id, VC_ID_LEN);
		le32_put(&p[ME_OFFSET], e[i].offset);
		le32_put(&p[ME_SEALED], e[i].sealed_len);
		le32_put(&p[ME_PLAIN], e[i].plain_len);
	}
	/* The reserved space is written; from here on other puts may move it. */
	for (size_t i = 0; i < n; i++) {
		chunk_val(pack_id, &e[i], cv);
		ckey.mv_size = VC_ID_LEN;
		ckey.mv_data = (void *)e[i].id;
		cval.mv_size = sizeof(cv);
		cval.mv_data = cv;
		if ((rc = mdb_put(txn, c->chunks, &ckey, &cval, 0)) != 0)
			return vc_cache__fail(c, "add pack", rc);
	}
	return 0;
}

int
vc_cache__clear_txn(struct vc_cache *c, MDB_txn *txn)
{
	int rc;

	if ((rc = mdb_drop(txn, c->chunks, 0)) != 0 || (rc = mdb_drop(txn, c->packs, 0)) != 0 ||
	    (rc = mdb_drop(txn, c->indexes, 0)) != 0)
		return vc_cache__fail(c, "clear", rc);
	return 0;
}

int
vc_cache_add_pack(struct vc_cache *c, const uint8_t pack_id[VC_ID_LEN],
    const uint8_t index_id[VC_ID_LEN], const struct vc_pack_entry *e, size_t n)
{
	MDB_txn *txn;

	if (vc_cache__begin(c, 0, "add pack", &txn) != 0)
		return -1;
	if (vc_cache__add_pack_txn(c, txn, pack_id, index_id, e, n) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	return vc_cache__commit(c, txn, "add pack");
}

int
vc_cache_add_index(struct vc_cache *c, const uint8_t index_id[VC_ID_LEN],
    const struct vc_index_pack *packs, size_t n)
{
	MDB_val key = { VC_ID_LEN, (void *)index_id }, val = { 0, NULL };
	MDB_txn *txn;
	int rc;

	if (vc_cache__begin(c, 0, "add index", &txn) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (vc_cache__add_pack_txn(c, txn, packs[i].pack_id, index_id, packs[i].entries,
		    packs[i].n) != 0) {
			mdb_txn_abort(txn);
			return -1;
		}
	}
	if ((rc = mdb_put(txn, c->indexes, &key, &val, 0)) != 0) {
		mdb_txn_abort(txn);
		return vc_cache__fail(c, "add index", rc);
	}
	return vc_cache__commit(c, txn, "add index");
}

int
vc_cache_drop_pack(struct vc_cache *c, const uint8_t pack_id[VC_ID_LEN])
{
	MDB_txn *txn;
	int rc;

	if (vc_cache__begin(c, 0, "drop pack", &txn) != 0)
		return -1;
	if ((rc = vc_cache__drop_pack_txn(c, txn, pack_id)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return vc_cache__commit(c, txn, "drop pack");
}

/* The packs value of pack_id in the read transaction txn: 0,
 * VC_CACHE_NOTFOUND or -1. */
static int
pack_get(struct vc_cache *c, MDB_txn *txn, const uint8_t pack_id[VC_ID_LEN], MDB_val *val,
    size_t *n, const char *op)
{
	MDB_val key = { VC_ID_LEN, (void *)pack_id };
	int rc;

	if ((rc = mdb_get(txn, c->packs, &key, val)) == MDB_NOTFOUND)
		return VC_CACHE_NOTFOUND;
	if (rc != 0)
		return vc_cache__fail(c, op, rc);
	return vc_cache__pack_val(c, val, n);
}

int
vc_cache_pack_index(struct vc_cache *c, const uint8_t pack_id[VC_ID_LEN],
    uint8_t index_id[VC_ID_LEN])
{
	MDB_txn *txn;
	MDB_val val;
	size_t n;
	int rc;

	if (vc_cache__begin(c, MDB_RDONLY, "pack index", &txn) != 0)
		return -1;
	if ((rc = pack_get(c, txn, pack_id, &val, &n, "pack index")) == 0)
		memcpy(index_id, val.mv_data, VC_ID_LEN);
	mdb_txn_abort(txn);
	return rc;
}

int
vc_cache_pack_entries(struct vc_cache *c, const uint8_t pack_id[VC_ID_LEN],
    int (*cb)(const struct vc_pack_entry *e, void *arg), void *arg)
{
	struct vc_pack_entry e;
	MDB_txn *txn;
	MDB_val val;
	size_t n;
	int rc;

	if (vc_cache__begin(c, MDB_RDONLY, "pack entries", &txn) != 0)
		return -1;
	if ((rc = pack_get(c, txn, pack_id, &val, &n, "pack entries")) == 0)
		for (size_t i = 0; i < n && rc == 0; i++) {
			vc_cache__pack_entry(&val, i, &e);
			rc = cb(&e, arg);
		}
	mdb_txn_abort(txn);
	return rc;
}

void
vc_cache_name(const char *url, const char *vault, const uint8_t *config, size_t config_len,
    char hex[VC_CACHE_NAME_LEN + 1])
{
	static const uint8_t zero = 0;
	uint8_t h[DIR_HASH_LEN];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)url, strlen(url));
	crypto_generichash_update(&st, &zero, 1);
	crypto_generichash_update(&st, (const uint8_t *)vault, strlen(vault));
	crypto_generichash_update(&st, &zero, 1);
	crypto_generichash_update(&st, config, config_len);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, VC_CACHE_NAME_LEN + 1, h, sizeof(h));
}

int
vc_cache_default_dir(const struct vc_report *rp, const char *url, const char *vault,
    const uint8_t *config, size_t config_len, char *out, size_t outlen)
{
	const char *base = getenv("VAULT_CACHE_DIR"), *sub = "";
	char hex[VC_CACHE_NAME_LEN + 1];
	int n;

	if (base == NULL || *base == '\0') {
		sub = "/vault";
		base = getenv("XDG_CACHE_HOME");
		if (base == NULL || *base == '\0') {
			sub = "/.cache/vault";
			if ((base = getenv("HOME")) == NULL || *base == '\0') {
				vc_report(rp, VC_LOG_ERROR, "vault cache: neither VAULT_CACHE_DIR, "
				    "XDG_CACHE_HOME nor HOME is set");
				return -1;
			}
		}
	}
	/* The config blob is hashed too: a vault re-created under the same
	 * name has other keys and must not meet the old cache. */
	vc_cache_name(url, vault, config, config_len, hex);
	n = snprintf(out, outlen, "%s%s/%s", base, sub, hex);
	if (n < 0 || (size_t)n >= outlen) {
		vc_report(rp, VC_LOG_ERROR, "vault cache: directory name too long");
		return -1;
	}
	return 0;
}
