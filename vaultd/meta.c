/*
 * Metadata in LMDB (meta.h). Each public function runs in its own
 * transaction: a read transaction for lookups and walks, a write transaction
 * that is committed (and so synced) before the function returns for changes.
 * The environment is opened with MDB_NOTLS because the callers are libuv
 * threadpool threads, and a read transaction must not be tied to the thread
 * that happened to start it. The byte layouts live in meta_records.c.
 */
#include "meta_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "meta_repl.h"

#define DEFAULT_MAP_SIZE ((size_t)64 << 30)
#define MAX_DBS 16
#define MAX_READERS 512
#define ENV_MODE 0600
#define DIR_MODE 0700

/* Checks a caller's NUL-terminated name and gives its length. */
static int
name_arg(const char *op, const char *name, size_t *len)
{
	if (name == NULL || !vsp_name_valid(name, strnlen(name, VSP_NAME_MAX + 1))) {
		log_msg(VLOG_ERROR, "meta: %s: invalid name", op);
		return META_ERROR;
	}
	*len = strlen(name);
	return META_OK;
}

static int
kind_arg(const char *op, enum vsp_kind kind)
{
	if ((unsigned)kind >= VSP_KIND_COUNT) {
		log_msg(VLOG_ERROR, "meta: %s: invalid kind %d", op, (int)kind);
		return META_ERROR;
	}
	return META_OK;
}

/* Takes the next value of the sys counter named key (the first is 1). */
static int
counter_next(struct meta *m, MDB_txn *txn, const char *key, uint64_t *out, const char *op)
{
	uint8_t buf[META__VAL_MAX];
	MDB_val val;
	size_t len;
	int rc;

	rc = meta__get(txn, m->sys, key, strlen(key), &val, op);
	if (rc == META_NOTFOUND)
		*out = 1;
	else if (rc != META_OK)
		return rc;
	else if (meta__counter_dec(&val, out) != 0 || *out == 0 || *out == UINT64_MAX)
		return meta__corrupt(op, "counter");
	len = meta__counter_enc(buf, *out + 1);
	return meta__put(txn, m->sys, key, strlen(key), buf, len, 0, op);
}

/* Writes the format record into a new environment, or checks an old one. */
static int
format_check(struct meta *m, MDB_txn *txn)
{
	uint8_t buf[META__VAL_MAX];
	MDB_val val;
	int rc;

	rc = meta__get(txn, m->sys, META__SYS_FORMAT, strlen(META__SYS_FORMAT), &val, "open");
	if (rc == META_NOTFOUND) {
		size_t len = meta__format_enc(buf);
		return meta__put(txn, m->sys, META__SYS_FORMAT, strlen(META__SYS_FORMAT), buf, len, 0,
		    "open");
	}
	if (rc != META_OK)
		return rc;
	rc = meta__format_dec(&val);
	if (rc == META__FORMAT_OLD) {
		size_t len = meta__format_enc(buf);
		log_msg(VLOG_INFO, "meta: open: upgrading the metadata from format %d to %d",
		    META__FORMAT_OLD, META__FORMAT);
		return meta__put(txn, m->sys, META__SYS_FORMAT, strlen(META__SYS_FORMAT), buf, len, 0,
		    "open");
	}
	if (rc != META__FORMAT) {
		log_msg(VLOG_ERROR, "meta: open: not a vaultd metadata store of format %d or %d",
		    META__FORMAT_OLD, META__FORMAT);
		return META_ERROR;
	}
	return META_OK;
}

/* Opens (creating) the named databases and checks the format, in one txn. */
static int
dbs_open(struct meta *m)
{
	const struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {
		{ "sys", &m->sys },
		{ "tenants", &m->tenants },
		{ "tenant_ids", &m->tenant_ids },
		{ "tokens", &m->tokens },
		{ "vault_names", &m->vault_names },
		{ "vaults", &m->vaults },
		{ "objects", &m->objects },
		{ "snapshots", &m->snapshots },
		{ "repl_queue", &m->repl_queue },
		{ "repl_done", &m->repl_done },
		{ "repl_targets", &m->repl_targets },
		{ "scrub", &m->scrub },
	};
	MDB_txn *txn;
	int rc;

	if ((rc = meta__txn_begin(m, 0, "open", &txn)) != META_OK)
		return rc;
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		int lrc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbs[i].dbi);
		if (lrc != 0) {
			mdb_txn_abort(txn);
			return meta__lmdb_fail("open", lrc);
		}
	}
	rc = format_check(m, txn);
	return meta__txn_end(txn, rc, "open");
}

static int
env_open(struct meta *m, const char *dir, size_t map_size)
{
	int rc, dead;

	if ((rc = mdb_env_create(&m->env)) != 0)
		return meta__lmdb_fail("open", rc);
	if ((rc = mdb_env_set_maxdbs(m->env, MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_maxreaders(m->env, MAX_READERS)) != 0 ||
	    (rc = mdb_env_set_mapsize(m->env, map_size)) != 0 ||
	    (rc = mdb_env_open(m->env, dir, MDB_NOTLS, ENV_MODE)) != 0) {
		log_msg(VLOG_ERROR, "meta: open %s: %s", dir, mdb_strerror(rc));
		mdb_env_close(m->env);
		return META_ERROR;
	}
	/* Free the reader slots of a process that died holding them. */
	(void)mdb_reader_check(m->env, &dead);
	return META_OK;
}

int
meta_open(const char *dir, size_t map_size, struct meta **out)
{
	struct meta *m;

	if (dir == NULL || out == NULL)
		return META_ERROR;
	if (mkdir(dir, DIR_MODE) != 0 && errno != EEXIST) {
		log_msg(VLOG_ERROR, "meta: open: mkdir %s: %s", dir, strerror(errno));
		goto err0;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		goto err0;
	if (env_open(m, dir, map_size != 0 ? map_size : DEFAULT_MAP_SIZE) != META_OK)
		goto err1;
	if (dbs_open(m) != META_OK)
		goto err2;
	*out = m;
	return META_OK;

err2:
	mdb_env_close(m->env);
err1:
	free(m);
err0:
	return META_ERROR;
}

void
meta_close(struct meta *m)
{
	if (m == NULL)
		return;
	mdb_env_close(m->env);
	free(m);
}

/* ---- tenants ---------------------------------------------------------- */

static int
tenant_load(struct meta *m, MDB_txn *txn, const char *name, size_t len,
    struct meta_tenant *out, const char *op)
{
	MDB_val key = { len, (void *)name }, val;
	int rc;

	if ((rc = meta__get(txn, m->tenants, name, len, &val, op)) != META_OK)
		return rc;
	if (meta__tenant_dec(&key, &val, out) != 0)
		return meta__corrupt(op, "tenant");
	return META_OK;
}

/* Loads a tenant by ID through tenant_ids, checking both records agree. */
static int
tenant_load_id(struct meta *m, MDB_txn *txn, uint64_t id, struct meta_tenant *out,
    const char *op)
{
	uint8_t key[META__ID_KEY_LEN];
	char name[VSP_NAME_MAX + 1];
	MDB_val val;
	int rc;

	meta__be64_put(key, id);
	if ((rc = meta__get(txn, m->tenant_ids, key, sizeof(key), &val, op)) != META_OK)
		return rc;
	if (meta__tenant_id_dec(&val, name) != 0)
		return meta__corrupt(op, "tenant-id");
	rc = tenant_load(m, txn, name, strlen(name), out, op);
	if (rc == META_NOTFOUND || (rc == META_OK && out->id != id))
		return meta__corrupt(op, "tenant-id");
	return rc;
}

static int
tenant_add_txn(struct meta *m, MDB_txn *txn, const char *name, size_t len, uint64_t now,
    struct meta_tenant *t)
{
	uint8_t buf[META__VAL_MAX], key[META__ID_KEY_LEN];
	MDB_val val;
	size_t vlen;
	int rc;

	rc = meta__get(txn, m->tenants, name, len, &val, "tenant_add");
	if (rc != META_NOTFOUND)
		return rc == META_OK ? META_EXISTS : rc;
	if ((rc = counter_next(m, txn, META__SYS_NEXT_TENANT, &t->id, "tenant_add")) != 0)
		return rc;
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	t->created = now;
	vlen = meta__tenant_enc(buf, t);
	if ((rc = meta__put(txn, m->tenants, name, len, buf, vlen, 0, "tenant_add")) != 0)
		return rc;
	meta__be64_put(key, t->id);
	vlen = meta__tenant_id_enc(buf, name, len);
	rc = meta__put(txn, m->tenant_ids, key, sizeof(key), buf, vlen, MDB_NOOVERWRITE,
	    "tenant_add");
	/* A fresh ID already taken means the counter went back: corruption. */
	return rc == META_EXISTS ? meta__corrupt("tenant_add", "next_tenant_id") : rc;
}

int
meta_tenant_add(struct meta *m, const char *name, uint64_t now, struct meta_tenant *out)
{
	struct meta_tenant t;
	MDB_txn *txn;
	size_t len;
	int rc;

	if ((rc = name_arg("tenant_add", name, &len)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, 0, "tenant_add", &txn)) != META_OK)
		return rc;
	rc = tenant_add_txn(m, txn, name, len, now, &t);
	if ((rc = meta__txn_end(txn, rc, "tenant_add")) == META_OK && out != NULL)
		*out = t;
	return rc;
}

int
meta_tenant_get(struct meta *m, const char *name, struct meta_tenant *out)
{
	MDB_txn *txn;
	size_t len;
	int rc;

	if ((rc = name_arg("tenant_get", name, &len)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, MDB_RDONLY, "tenant_get", &txn)) != META_OK)
		return rc;
	rc = tenant_load(m, txn, name, len, out, "tenant_get");
	mdb_txn_abort(txn);
	return rc;
}

int
meta_tenant_get_by_id(struct meta *m, uint64_t id, struct meta_tenant *out)
{
	MDB_txn *txn;
	int rc;

	if ((rc = meta__txn_begin(m, MDB_RDONLY, "tenant_get_by_id", &txn)) != META_OK)
		return rc;
	rc = tenant_load_id(m, txn, id, out, "tenant_get_by_id");
	mdb_txn_abort(txn);
	return rc;
}

/* META_NOTEMPTY if any vault_names key starts with the tenant's ID. */
static int
tenant_has_vaults(struct meta *m, MDB_txn *txn, uint64_t tenant_id, const char *op)
{
	uint8_t prefix[META__ID_KEY_LEN];
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;

	if ((rc = mdb_cursor_open(txn, m->vault_names, &cur)) != 0)
		return meta__lmdb_fail(op, rc);
	meta__be64_put(prefix, tenant_id);
	rc = meta__cursor_prefix(cur, MDB_SET_RANGE, prefix, sizeof(prefix), &key, &val, op);
	mdb_cursor_close(cur);
	if (rc == META_OK)
		return META_NOTEMPTY;
	return rc == META_NOTFOUND ? META_OK : rc;
}

/* Deletes every token of tenant_id (a scan: tokens are few). */
static int
tokens_drop(struct meta *m, MDB_txn *txn, uint64_t tenant_id, const char *op)
{
	struct meta_token tok;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc, lrc;

	if ((lrc = mdb_cursor_open(txn, m->tokens, &cur)) != 0)
		return meta__lmdb_fail(op, lrc);
	rc = META_OK;
	while (rc == META_OK && (lrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		if (meta__token_dec(&key, &val, &tok) != 0)
			rc = meta__corrupt(op, "token");
		else if (tok.tenant_id == tenant_id && (lrc = mdb_cursor_del(cur, 0)) != 0)
			rc = meta__lmdb_fail(op, lrc);
	}
	if (rc == META_OK && lrc != MDB_NOTFOUND)
		rc = meta__lmdb_fail(op, lrc);
	mdb_cursor_close(cur);
	return rc;
}

static int
tenant_remove_txn(struct meta *m, MDB_txn *txn, const char *name, size_t len)
{
	const char *op = "tenant_remove";
	uint8_t key[META__ID_KEY_LEN];
	struct meta_tenant t;
	int rc;

	if ((rc = tenant_load(m, txn, name, len, &t, op)) != META_OK)
		return rc;
	if ((rc = tenant_has_vaults(m, txn, t.id, op)) != META_OK)
		return rc;
	if ((rc = meta__del(txn, m->tenants, name, len, op)) != META_OK)
		return rc;
	meta__be64_put(key, t.id);
	rc = meta__del(txn, m->tenant_ids, key, sizeof(key), op);
	if (rc != META_OK && rc != META_NOTFOUND)
		return rc;
	return tokens_drop(m, txn, t.id, op);
}

int
meta_tenant_remove(struct meta *m, const char *name)
{
	MDB_txn *txn;
	size_t len;
	int rc;

	if ((rc = name_arg("tenant_remove", name, &len)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, 0, "tenant_remove", &txn)) != META_OK)
		return rc;
	rc = tenant_remove_txn(m, txn, name, len);
	return meta__txn_end(txn, rc, "tenant_remove");
}

int
meta_tenant_list(struct meta *m, int (*cb)(const struct meta_tenant *t, void *arg), void *arg)
{
	const char *op = "tenant_list";
	struct meta_tenant t;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	int rc, lrc;

	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	if ((lrc = mdb_cursor_open(txn, m->tenants, &cur)) != 0) {
		mdb_txn_abort(txn);
		return meta__lmdb_fail(op, lrc);
	}
	while ((lrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		if (meta__tenant_dec(&key, &val, &t) != 0) {
			rc = meta__corrupt(op, "tenant");
			break;
		}
		if (cb(&t, arg) != 0)
			break;
	}
	if (rc == META_OK && lrc != 0 && lrc != MDB_NOTFOUND)
		rc = meta__lmdb_fail(op, lrc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

/* ---- tokens ----------------------------------------------------------- */

static int
token_arg(const char *op, const struct meta_token *tok)
{
	size_t vlen = strnlen(tok->vault, sizeof(tok->vault));

	if (vlen == sizeof(tok->vault) || (vlen != 0 && !vsp_name_valid(tok->vault, vlen))) {
		log_msg(VLOG_ERROR, "meta: %s: invalid vault name", op);
		return META_ERROR;
	}
	if ((tok->scopes & ~META_SCOPE_ALL) != 0) {
		log_msg(VLOG_ERROR, "meta: %s: invalid scopes 0x%x", op, (unsigned)tok->scopes);
		return META_ERROR;
	}
	return META_OK;
}

int
meta_token_add(struct meta *m, const struct meta_token *tok)
{
	const char *op = "token_add";
	uint8_t buf[META__VAL_MAX], key[META__ID_KEY_LEN];
	MDB_txn *txn;
	MDB_val val;
	size_t vlen;
	int rc;

	if ((rc = token_arg(op, tok)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	meta__be64_put(key, tok->tenant_id);
	rc = meta__get(txn, m->tenant_ids, key, sizeof(key), &val, op);
	if (rc == META_OK) {
		vlen = meta__token_enc(buf, tok);
		rc = meta__put(txn, m->tokens, tok->id, META_TOKEN_ID_LEN, buf, vlen, MDB_NOOVERWRITE,
		    op);
	}
	return meta__txn_end(txn, rc, op);
}

int
meta_token_get(struct meta *m, const uint8_t id[META_TOKEN_ID_LEN], struct meta_token *out)
{
	const char *op = "token_get";
	MDB_val key = { META_TOKEN_ID_LEN, (void *)id }, val;
	MDB_txn *txn;
	int rc;

	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	rc = meta__get(txn, m->tokens, id, META_TOKEN_ID_LEN, &val, op);
	if (rc == META_OK && meta__token_dec(&key, &val, out) != 0)
		rc = meta__corrupt(op, "token");
	mdb_txn_abort(txn);
	return rc;
}

int
meta_token_revoke(struct meta *m, const uint8_t id[META_TOKEN_ID_LEN])
{
	MDB_txn *txn;
	int rc;

	if ((rc = meta__txn_begin(m, 0, "token_revoke", &txn)) != META_OK)
		return rc;
	rc = meta__del(txn, m->tokens, id, META_TOKEN_ID_LEN, "token_revoke");
	return meta__txn_end(txn, rc, "token_revoke");
}

int
meta_token_list(struct meta *m, uint64_t tenant_id,
    int (*cb)(const struct meta_token *t, void *arg), void *arg)
{
	const char *op = "token_list";
	struct meta_token tok;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	int rc, lrc;

	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	if ((lrc = mdb_cursor_open(txn, m->tokens, &cur)) != 0) {
		mdb_txn_abort(txn);
		return meta__lmdb_fail(op, lrc);
	}
	while ((lrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		if (meta__token_dec(&key, &val, &tok) != 0) {
			rc = meta__corrupt(op, "token");
			break;
		}
		if ((tenant_id == 0 || tok.tenant_id == tenant_id) && cb(&tok, arg) != 0)
			break;
	}
	if (rc == META_OK && lrc != 0 && lrc != MDB_NOTFOUND)
		rc = meta__lmdb_fail(op, lrc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

/* ---- vaults ----------------------------------------------------------- */

static int
vault_load(struct meta *m, MDB_txn *txn, uint64_t vault_id, struct meta_vault *out,
    const char *op)
{
	uint8_t k[META__ID_KEY_LEN];
	MDB_val key = { sizeof(k), k }, val;
	int rc;

	meta__be64_put(k, vault_id);
	if ((rc = meta__get(txn, m->vaults, k, sizeof(k), &val, op)) != META_OK)
		return rc;
	if (meta__vault_dec(&key, &val, out) != 0)
		return meta__corrupt(op, "vault");
	return META_OK;
}

/* Writes v's record; flags as for mdb_put. */
static int
vault_store(struct meta *m, MDB_txn *txn, const struct meta_vault *v, unsigned flags,
    const char *op)
{
	uint8_t buf[META__VAL_MAX], key[META__ID_KEY_LEN];
	size_t len = meta__vault_enc(buf, v);

	meta__be64_put(key, v->id);
	return meta__put(txn, m->vaults, key, sizeof(key), buf, len, flags, op);
}

/* Loads the vault a vault_names entry points at and checks it points back. */
static int
vault_load_named(struct meta *m, MDB_txn *txn, const MDB_val *nkey, const MDB_val *nval,
    struct meta_vault *out, const char *op)
{
	const uint8_t *k = nkey->mv_data;
	uint64_t vault_id;
	size_t nlen;
	int rc;

	if (nkey->mv_size <= META__VNAME_NAME_OFF || meta__vname_dec(nval, &vault_id) != 0)
		return meta__corrupt(op, "vault-name");
	rc = vault_load(m, txn, vault_id, out, op);
	if (rc == META_NOTFOUND)
		return meta__corrupt(op, "vault-name");
	if (rc != META_OK)
		return rc;
	nlen = nkey->mv_size - META__VNAME_NAME_OFF;
	if (out->tenant_id != meta__be64_get(&k[META__VNAME_TENANT_OFF]) ||
	    strlen(out->name) != nlen || memcmp(out->name, &k[META__VNAME_NAME_OFF], nlen) != 0)
		return meta__corrupt(op, "vault-name");
	return META_OK;
}

static int
vault_create_txn(struct meta *m, MDB_txn *txn, uint64_t tenant_id, const char *name,
    size_t len, uint64_t now, struct meta_vault *v)
{
	const char *op = "vault_create";
	uint8_t buf[META__VAL_MAX], key[META__VNAME_KEY_MAX], tkey[META__ID_KEY_LEN];
	size_t klen = meta__vname_key(key, tenant_id, name, len), vlen;
	MDB_val val;
	int rc;

	meta__be64_put(tkey, tenant_id);
	if ((rc = meta__get(txn, m->tenant_ids, tkey, sizeof(tkey), &val, op)) != META_OK)
		return rc;
	if ((rc = meta__get(txn, m->vault_names, key, klen, &val, op)) != META_NOTFOUND)
		return rc == META_OK ? META_EXISTS : rc;
	if ((rc = counter_next(m, txn, META__SYS_NEXT_VAULT, &v->id, op)) != META_OK)
		return rc;
	v->tenant_id = tenant_id;
	memcpy(v->name, name, len);
	v->name[len] = '\0';
	v->created = now;
	vlen = meta__vname_enc(buf, v->id);
	if ((rc = meta__put(txn, m->vault_names, key, klen, buf, vlen, 0, op)) != META_OK)
		return rc;
	rc = vault_store(m, txn, v, MDB_NOOVERWRITE, op);
	/* A fresh ID already taken means the counter went back: corruption. */
	return rc == META_EXISTS ? meta__corrupt(op, "next_vault_id") : rc;
}

int
meta_vault_create(struct meta *m, uint64_t tenant_id, const char *name, uint64_t now,
    struct meta_vault *out)
{
	struct meta_vault v;
	MDB_txn *txn;
	size_t len;
	int rc;

	if ((rc = name_arg("vault_create", name, &len)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, 0, "vault_create", &txn)) != META_OK)
		return rc;
	memset(&v, 0, sizeof(v));
	rc = vault_create_txn(m, txn, tenant_id, name, len, now, &v);
	if ((rc = meta__txn_end(txn, rc, "vault_create")) == META_OK && out != NULL)
		*out = v;
	return rc;
}

int
meta_vault_get(struct meta *m, uint64_t tenant_id, const char *name, struct meta_vault *out)
{
	const char *op = "vault_get";
	uint8_t k[META__VNAME_KEY_MAX];
	MDB_val key, val;
	MDB_txn *txn;
	size_t len;
	int rc;

	if ((rc = name_arg(op, name, &len)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	key.mv_size = meta__vname_key(k, tenant_id, name, len);
	key.mv_data = k;
	rc = meta__get(txn, m->vault_names, k, key.mv_size, &val, op);
	if (rc == META_OK)
		rc = vault_load_named(m, txn, &key, &val, out, op);
	mdb_txn_abort(txn);
	return rc;
}

int
meta_vault_get_by_id(struct meta *m, uint64_t vault_id, struct meta_vault *out)
{
	MDB_txn *txn;
	int rc;

	if ((rc = meta__txn_begin(m, MDB_RDONLY, "vault_get_by_id", &txn)) != META_OK)
		return rc;
	rc = vault_load(m, txn, vault_id, out, "vault_get_by_id");
	mdb_txn_abort(txn);
	return rc;
}

/* Walks vault_names from the tenant's prefix (all of it for tenant 0). */
static int
vault_walk(struct meta *m, MDB_txn *txn, uint64_t tenant_id,
    int (*cb)(const struct meta_vault *v, void *arg), void *arg)
{
	const char *op = "vault_list";
	uint8_t prefix[META__ID_KEY_LEN];
	size_t plen = tenant_id == 0 ? 0 : sizeof(prefix);
	struct meta_vault v;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_cursor_op how = MDB_SET_RANGE;
	int rc, lrc;

	if ((lrc = mdb_cursor_open(txn, m->vault_names, &cur)) != 0)
		return meta__lmdb_fail(op, lrc);
	meta__be64_put(prefix, tenant_id);
	while ((rc = meta__cursor_prefix(cur, how, prefix, plen, &key, &val, op)) == META_OK) {
		how = MDB_NEXT;
		if ((rc = vault_load_named(m, txn, &key, &val, &v, op)) != META_OK)
			break;
		if (cb(&v, arg) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == META_NOTFOUND ? META_OK : rc;
}

int
meta_vault_list(struct meta *m, uint64_t tenant_id,
    int (*cb)(const struct meta_vault *v, void *arg), void *arg)
{
	MDB_txn *txn;
	int rc;

	if ((rc = meta__txn_begin(m, MDB_RDONLY, "vault_list", &txn)) != META_OK)
		return rc;
	rc = vault_walk(m, txn, tenant_id, cb, arg);
	mdb_txn_abort(txn);
	return rc;
}

int
meta_vault_set_config(struct meta *m, uint64_t vault_id, const uint8_t id[VSP_ID_LEN],
    uint64_t size)
{
	const char *op = "vault_set_config";
	struct meta_vault v;
	MDB_txn *txn;
	int rc;

	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	rc = vault_load(m, txn, vault_id, &v, op);
	if (rc == META_OK && v.has_config)
		rc = META_EXISTS;
	if (rc == META_OK) {
		v.has_config = 1;
		memcpy(v.config_id, id, VSP_ID_LEN);
		v.config_size = size;
		rc = vault_store(m, txn, &v, 0, op);
	}
	if (rc == META_OK)
		rc = meta__repl_on_put(m, txn, &v, META_REPL_CONFIG, id, size, (uint64_t)time(NULL));
	return meta__txn_end(txn, rc, op);
}

/* ---- objects ---------------------------------------------------------- */

int
meta__obj_load(struct meta *m, MDB_txn *txn, const uint8_t key[META__OBJ_KEY_LEN],
    struct meta_object *out, const char *op)
{
	MDB_val val;
	int rc;

	if ((rc = meta__get(txn, m->objects, key, META__OBJ_KEY_LEN, &val, op)) != META_OK)
		return rc;
	if (meta__object_dec(&val, out) != 0)
		return meta__corrupt(op, "object");
	return META_OK;
}

int
meta_object_get(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], struct meta_object *out)
{
	const char *op = "object_get";
	uint8_t key[META__OBJ_KEY_LEN];
	MDB_txn *txn;
	int rc;

	if ((rc = kind_arg(op, kind)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	meta__obj_key(key, vault_id, kind, id);
	rc = meta__obj_load(m, txn, key, out, op);
	if (rc == META_OK && out->tombstoned != 0)
		rc = META_NOTFOUND; /* not live (spec/gc.md) */
	mdb_txn_abort(txn);
	return rc;
}

/* Adds (sign > 0) or removes (sign < 0) one object of size bytes to v's
 * counters. A counter that would wrap is refused: on removal it means the
 * counters no longer match the objects. */
static int
vault_count(struct meta_vault *v, enum vsp_kind kind, uint64_t size, int sign,
    const char *op)
{
	uint64_t *c[] = { &v->objects, &v->bytes, &v->kind_objects[kind], &v->kind_bytes[kind] };
	uint64_t d[] = { 1, size, 1, size };

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (sign > 0 ? UINT64_MAX - *c[i] < d[i] : *c[i] < d[i]) {
			log_msg(VLOG_ERROR, "meta: %s: vault %llu counter would %s", op,
			    (unsigned long long)v->id, sign > 0 ? "overflow" : "underflow");
			return META_ERROR;
		}
	}
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		*c[i] = sign > 0 ? *c[i] + d[i] : *c[i] - d[i];
	return META_OK;
}

int
meta__vault_adjust(struct meta *m, MDB_txn *txn, uint64_t vault_id, enum vsp_kind kind,
    uint64_t size, int sign, const char *op)
{
	struct meta_vault v;
	int rc;

	if ((rc = vault_load(m, txn, vault_id, &v, op)) != META_OK)
		return rc;
	if ((rc = vault_count(&v, kind, size, sign, op)) != META_OK)
		return rc;
	return vault_store(m, txn, &v, 0, op);
}

int
meta__object_put_txn(struct meta *m, MDB_txn *txn, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], const struct meta_object *obj, struct meta_object *out)
{
	const char *op = "object_put";
	uint8_t key[META__OBJ_KEY_LEN], buf[META__VAL_MAX];
	struct meta_vault v;
	struct meta_object old, rec = *obj;
	size_t len;
	int rc;

	if ((rc = vault_load(m, txn, vault_id, &v, op)) != META_OK)
		return rc;
	meta__obj_key(key, vault_id, kind, id);
	rc = meta__obj_load(m, txn, key, &old, op);
	if (rc == META_OK && old.tombstoned == 0) {
		if (out != NULL)
			*out = old;
		return META_EXISTS;
	}
	/* A tombstoned object is revived: its record is rewritten live, with
	 * this upload's receive time (spec/gc.md). Its size cannot differ, as
	 * the ID is the hash of the bytes. */
	if (rc != META_NOTFOUND && rc != META_OK)
		return rc;
	rec.tombstoned = 0;
	if ((rc = vault_count(&v, kind, rec.size, 1, op)) != META_OK)
		return rc;
	len = meta__object_enc(buf, &rec);
	if ((rc = meta__put(txn, m->objects, key, sizeof(key), buf, len, 0, op)) != META_OK)
		return rc;
	if ((rc = vault_store(m, txn, &v, 0, op)) != META_OK)
		return rc;
	/* Queued in this transaction: no committed object escapes replication. */
	return meta__repl_on_put(m, txn, &v, (uint8_t)kind, id, rec.size, rec.received);
}

int
meta_object_put(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], const struct meta_object *obj, struct meta_object *out)
{
	MDB_txn *txn;
	int rc;

	if ((rc = kind_arg("object_put", kind)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, 0, "object_put", &txn)) != META_OK)
		return rc;
	rc = meta__object_put_txn(m, txn, vault_id, kind, id, obj, out);
	return meta__txn_end(txn, rc, "object_put");
}

static int
object_delete_txn(struct meta *m, MDB_txn *txn, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], struct meta_object *old)
{
	const char *op = "object_delete";
	uint8_t key[META__OBJ_KEY_LEN];
	struct meta_vault v;
	int rc;

	meta__obj_key(key, vault_id, kind, id);
	if ((rc = meta__obj_load(m, txn, key, old, op)) != META_OK)
		return rc;
	if (old->tombstoned != 0)
		return META_NOTFOUND; /* only GC removes it now (meta_gc_purge) */
	rc = vault_load(m, txn, vault_id, &v, op);
	if (rc == META_NOTFOUND)
		return meta__corrupt(op, "object (no vault)");
	if (rc != META_OK)
		return rc;
	if ((rc = vault_count(&v, kind, old->size, -1, op)) != META_OK)
		return rc;
	if ((rc = meta__del(txn, m->objects, key, sizeof(key), op)) != META_OK)
		return rc;
	if (kind == VSP_KIND_SNAPSHOT &&
	    (rc = meta__snapshot_del_txn(m, txn, vault_id, id)) != META_OK)
		return rc;
	if ((rc = meta__repl_on_delete(m, txn, vault_id, (uint8_t)kind, id,
	    (uint64_t)time(NULL))) != META_OK)
		return rc;
	return vault_store(m, txn, &v, 0, op);
}

int
meta_object_delete(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], struct meta_object *old)
{
	struct meta_object o;
	MDB_txn *txn;
	int rc;

	if ((rc = kind_arg("object_delete", kind)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, 0, "object_delete", &txn)) != META_OK)
		return rc;
	rc = object_delete_txn(m, txn, vault_id, kind, id, &o);
	if ((rc = meta__txn_end(txn, rc, "object_delete")) == META_OK && old != NULL)
		*old = o;
	return rc;
}

/*
 * Positions cur at the first object of the (vault, kind) in start that
 * comes after the ID in start, or at the first object at all when has_after
 * is 0. META_NOTFOUND if there is none.
 */
static int
obj_seek(MDB_cursor *cur, const uint8_t start[META__OBJ_KEY_LEN], int has_after,
    MDB_val *key, MDB_val *val, const char *op)
{
	int lrc;

	key->mv_size = has_after ? META__OBJ_KEY_LEN : META__OBJ_PREFIX_LEN;
	key->mv_data = (void *)start;
	lrc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
	/* SET_RANGE lands on `after` itself if it still exists: step past it. */
	if (lrc == 0 && has_after && key->mv_size == META__OBJ_KEY_LEN &&
	    memcmp(key->mv_data, start, META__OBJ_KEY_LEN) == 0)
		lrc = mdb_cursor_get(cur, key, val, MDB_NEXT);
	return meta__prefix_rc(lrc, key, start, META__OBJ_PREFIX_LEN, op);
}

static int
obj_walk(MDB_cursor *cur, const uint8_t start[META__OBJ_KEY_LEN], int has_after,
    size_t limit, int (*cb)(const uint8_t id[VSP_ID_LEN], const struct meta_object *o,
    void *arg), void *arg, int *more)
{
	const char *op = "object_list";
	uint8_t id[VSP_ID_LEN];
	struct meta_object o;
	MDB_val key, val;
	size_t n = 0;
	int rc, stop;

	rc = obj_seek(cur, start, has_after, &key, &val, op);
	while (rc == META_OK && n < limit) {
		if (key.mv_size != META__OBJ_KEY_LEN || meta__object_dec(&val, &o) != 0) {
			rc = meta__corrupt(op, "object");
			break;
		}
		if (o.tombstoned != 0) { /* not live: not listed */
			rc = meta__cursor_prefix(cur, MDB_NEXT, start, META__OBJ_PREFIX_LEN, &key,
			    &val, op);
			continue;
		}
		memcpy(id, (const uint8_t *)key.mv_data + META__OBJ_ID_OFF, VSP_ID_LEN);
		n++;
		stop = cb(id, &o, arg);
		rc = meta__cursor_prefix(cur, MDB_NEXT, start, META__OBJ_PREFIX_LEN, &key, &val, op);
		if (stop)
			break;
	}
	/* The cursor rests on an object not yet given to cb, or on none. */
	*more = rc == META_OK;
	return rc == META_NOTFOUND ? META_OK : rc;
}

/* META_OK if the vault exists, META_NOTFOUND if not. */
static int
vault_exists(struct meta *m, MDB_txn *txn, uint64_t vault_id, const char *op)
{
	uint8_t key[META__ID_KEY_LEN];
	MDB_val val;

	meta__be64_put(key, vault_id);
	return meta__get(txn, m->vaults, key, sizeof(key), &val, op);
}

int
meta_object_list(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t *after, size_t limit,
    int (*cb)(const uint8_t id[VSP_ID_LEN], const struct meta_object *o, void *arg),
    void *arg, int *more)
{
	const char *op = "object_list";
	uint8_t start[META__OBJ_KEY_LEN];
	static const uint8_t zero[VSP_ID_LEN];
	MDB_cursor *cur;
	MDB_txn *txn;
	int rc, lrc, dummy;

	if (more == NULL)
		more = &dummy;
	*more = 0;
	if ((rc = kind_arg(op, kind)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	if ((rc = vault_exists(m, txn, vault_id, op)) != META_OK)
		goto done;
	if ((lrc = mdb_cursor_open(txn, m->objects, &cur)) != 0) {
		rc = meta__lmdb_fail(op, lrc);
		goto done;
	}
	meta__obj_key(start, vault_id, kind, after != NULL ? after : zero);
	rc = obj_walk(cur, start, after != NULL, limit, cb, arg, more);
	mdb_cursor_close(cur);
done:
	mdb_txn_abort(txn);
	return rc;
}

int
meta_object_exists_batch(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t (*ids)[VSP_ID_LEN], size_t n, uint8_t *present)
{
	const char *op = "object_exists_batch";
	uint8_t key[META__OBJ_KEY_LEN];
	struct meta_object o;
	MDB_txn *txn;
	int rc;

	if ((rc = kind_arg(op, kind)) != META_OK)
		return rc;
	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	rc = vault_exists(m, txn, vault_id, op);
	for (size_t i = 0; rc == META_OK && i < n; i++) {
		meta__obj_key(key, vault_id, kind, ids[i]);
		rc = meta__obj_load(m, txn, key, &o, op);
		present[i] = rc == META_OK && o.tombstoned == 0;
		if (rc == META_NOTFOUND)
			rc = META_OK;
	}
	mdb_txn_abort(txn);
	return rc;
}
