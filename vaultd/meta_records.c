/*
 * Byte layouts of the metadata keys and values (spec/storage.md), and the
 * thin LMDB wrappers that turn LMDB's codes into meta_rc values. Keys are
 * big-endian so that LMDB's memcmp order is numeric order; integers inside
 * values are little-endian and of fixed width. Every value begins with a
 * version byte, and every decoder checks it and the exact length, so a bad
 * byte on disk becomes an error rather than a wild read.
 */
#include "meta_internal.h"
#include "le.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

_Static_assert(VSP_KIND_COUNT == META__KINDS,
    "a new object kind changes the vault record: bump its version");

/* Counter record: version | value. */
#define COUNTER_VALUE_OFF META__BODY_OFF
#define COUNTER_LEN (COUNTER_VALUE_OFF + META__U64_LEN)

/* Format record: version | magic | format number. */
#define FORMAT_MAGIC_OFF META__BODY_OFF
#define FORMAT_NUMBER_OFF (FORMAT_MAGIC_OFF + META__MAGIC_LEN)
#define FORMAT_LEN (FORMAT_NUMBER_OFF + META__U32_LEN)

/* Tenant record (the name is the key): version | id | created. */
#define TENANT_ID_OFF META__BODY_OFF
#define TENANT_CREATED_OFF (TENANT_ID_OFF + META__U64_LEN)
#define TENANT_LEN (TENANT_CREATED_OFF + META__U64_LEN)

/* Tenant-id record: version | name (1..VSP_NAME_MAX bytes). */
#define TENANT_ID_NAME_OFF META__BODY_OFF

/* Token record (the token ID is the key): version | hash | tenant id |
 * scopes | created | vault name length | vault name (0..VSP_NAME_MAX). */
#define TOKEN_HASH_OFF META__BODY_OFF
#define TOKEN_TENANT_OFF (TOKEN_HASH_OFF + META_TOKEN_HASH_LEN)
#define TOKEN_SCOPES_OFF (TOKEN_TENANT_OFF + META__U64_LEN)
#define TOKEN_CREATED_OFF (TOKEN_SCOPES_OFF + META__U32_LEN)
#define TOKEN_VAULT_LEN_OFF (TOKEN_CREATED_OFF + META__U64_LEN)
#define TOKEN_VAULT_OFF (TOKEN_VAULT_LEN_OFF + META__U8_LEN)
#define TOKEN_FIXED_LEN TOKEN_VAULT_OFF

/* Vault-name record: version | vault id. */
#define VNAME_ID_OFF META__BODY_OFF
#define VNAME_LEN (VNAME_ID_OFF + META__U64_LEN)

/* Vault record (the vault ID is the key). */
#define VAULT_TENANT_OFF META__BODY_OFF
#define VAULT_CREATED_OFF (VAULT_TENANT_OFF + META__U64_LEN)
#define VAULT_OBJECTS_OFF (VAULT_CREATED_OFF + META__U64_LEN)
#define VAULT_BYTES_OFF (VAULT_OBJECTS_OFF + META__U64_LEN)
#define VAULT_KIND_OBJECTS_OFF (VAULT_BYTES_OFF + META__U64_LEN)
#define VAULT_KIND_BYTES_OFF (VAULT_KIND_OBJECTS_OFF + META__KINDS * META__U64_LEN)
#define VAULT_HAS_CONFIG_OFF (VAULT_KIND_BYTES_OFF + META__KINDS * META__U64_LEN)
#define VAULT_CONFIG_ID_OFF (VAULT_HAS_CONFIG_OFF + META__U8_LEN)
#define VAULT_CONFIG_SIZE_OFF (VAULT_CONFIG_ID_OFF + VSP_ID_LEN)
#define VAULT_NAME_LEN_OFF (VAULT_CONFIG_SIZE_OFF + META__U64_LEN)
#define VAULT_NAME_OFF (VAULT_NAME_LEN_OFF + META__U8_LEN)
#define VAULT_FIXED_LEN VAULT_NAME_OFF

/* Object record: version | size | received | locations; version 2 (a
 * tombstoned object, spec/gc.md) adds | tombstoned. A live object is still
 * written as version 1, so format-1 readers see the bytes they know. */
#define OBJECT_SIZE_OFF META__BODY_OFF
#define OBJECT_RECEIVED_OFF (OBJECT_SIZE_OFF + META__U64_LEN)
#define OBJECT_LOCATIONS_OFF (OBJECT_RECEIVED_OFF + META__U64_LEN)
#define OBJECT_LEN (OBJECT_LOCATIONS_OFF + META__U32_LEN)
#define OBJECT_TOMBSTONE_VERSION 2
#define OBJECT_TOMBSTONED_OFF OBJECT_LEN
#define OBJECT_TOMBSTONE_LEN (OBJECT_TOMBSTONED_OFF + META__U64_LEN)

_Static_assert(VAULT_FIXED_LEN + VSP_NAME_MAX <= META__VAL_MAX, "vault record fits");
_Static_assert(TOKEN_FIXED_LEN + VSP_NAME_MAX <= META__VAL_MAX, "token record fits");
_Static_assert(TENANT_ID_NAME_OFF + VSP_NAME_MAX <= META__VAL_MAX, "tenant-id fits");

void
meta__be64_put(uint8_t *p, uint64_t v)
{
	for (size_t i = 0; i < META__U64_LEN; i++)
		p[i] = (uint8_t)(v >> (8 * (META__U64_LEN - 1 - i)));
}

uint64_t
meta__be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (size_t i = 0; i < META__U64_LEN; i++)
		v = v << 8 | p[i];
	return v;
}

int
meta__name_copy(const void *p, size_t len, char out[VSP_NAME_MAX + 1])
{
	if (!vsp_name_valid(p, len))
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* Returns 1 if val is at least min bytes and starts with our version. */
static int
versioned(const MDB_val *val, size_t min)
{
	const uint8_t *p = val->mv_data;

	return val->mv_size >= min && val->mv_size > META__VERSION_OFF &&
	    p[META__VERSION_OFF] == META__REC_VERSION;
}

size_t
meta__vname_key(uint8_t key[META__VNAME_KEY_MAX], uint64_t tenant_id, const char *name,
    size_t name_len)
{
	meta__be64_put(&key[META__VNAME_TENANT_OFF], tenant_id);
	memcpy(&key[META__VNAME_NAME_OFF], name, name_len);
	return META__VNAME_NAME_OFF + name_len;
}

void
meta__obj_key(uint8_t key[META__OBJ_KEY_LEN], uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN])
{
	meta__be64_put(&key[META__OBJ_VAULT_OFF], vault_id);
	key[META__OBJ_KIND_OFF] = (uint8_t)kind;
	memcpy(&key[META__OBJ_ID_OFF], id, VSP_ID_LEN);
}

size_t
meta__counter_enc(uint8_t *buf, uint64_t v)
{
	buf[META__VERSION_OFF] = META__REC_VERSION;
	le64_put(&buf[COUNTER_VALUE_OFF], v);
	return COUNTER_LEN;
}

int
meta__counter_dec(const MDB_val *val, uint64_t *v)
{
	if (val->mv_size != COUNTER_LEN || !versioned(val, COUNTER_LEN))
		return -1;
	*v = le64_get((const uint8_t *)val->mv_data + COUNTER_VALUE_OFF);
	return 0;
}

size_t
meta__format_enc(uint8_t *buf)
{
	buf[META__VERSION_OFF] = META__REC_VERSION;
	memcpy(&buf[FORMAT_MAGIC_OFF], META__MAGIC, META__MAGIC_LEN);
	le32_put(&buf[FORMAT_NUMBER_OFF], META__FORMAT);
	return FORMAT_LEN;
}

int
meta__format_dec(const MDB_val *val)
{
	const uint8_t *p = val->mv_data;

	if (val->mv_size != FORMAT_LEN || !versioned(val, FORMAT_LEN))
		return -1;
	if (memcmp(&p[FORMAT_MAGIC_OFF], META__MAGIC, META__MAGIC_LEN) != 0)
		return -1;
	return (int)(le32_get(&p[FORMAT_NUMBER_OFF]) & 0x7fffffff);
}

size_t
meta__tenant_enc(uint8_t *buf, const struct meta_tenant *t)
{
	buf[META__VERSION_OFF] = META__REC_VERSION;
	le64_put(&buf[TENANT_ID_OFF], t->id);
	le64_put(&buf[TENANT_CREATED_OFF], t->created);
	return TENANT_LEN;
}

int
meta__tenant_dec(const MDB_val *key, const MDB_val *val, struct meta_tenant *t)
{
	const uint8_t *p = val->mv_data;

	if (val->mv_size != TENANT_LEN || !versioned(val, TENANT_LEN))
		return -1;
	if (meta__name_copy(key->mv_data, key->mv_size, t->name) != 0)
		return -1;
	t->id = le64_get(&p[TENANT_ID_OFF]);
	t->created = le64_get(&p[TENANT_CREATED_OFF]);
	return t->id == 0 ? -1 : 0;
}

size_t
meta__tenant_id_enc(uint8_t *buf, const char *name, size_t name_len)
{
	buf[META__VERSION_OFF] = META__REC_VERSION;
	memcpy(&buf[TENANT_ID_NAME_OFF], name, name_len);
	return TENANT_ID_NAME_OFF + name_len;
}

int
meta__tenant_id_dec(const MDB_val *val, char name[VSP_NAME_MAX + 1])
{
	const uint8_t *p = val->mv_data;

	if (!versioned(val, TENANT_ID_NAME_OFF))
		return -1;
	return meta__name_copy(&p[TENANT_ID_NAME_OFF], val->mv_size - TENANT_ID_NAME_OFF,
	    name);
}

size_t
meta__token_enc(uint8_t *buf, const struct meta_token *t)
{
	size_t vlen = strlen(t->vault);

	buf[META__VERSION_OFF] = META__REC_VERSION;
	memcpy(&buf[TOKEN_HASH_OFF], t->hash, META_TOKEN_HASH_LEN);
	le64_put(&buf[TOKEN_TENANT_OFF], t->tenant_id);
	le32_put(&buf[TOKEN_SCOPES_OFF], t->scopes);
	le64_put(&buf[TOKEN_CREATED_OFF], t->created);
	buf[TOKEN_VAULT_LEN_OFF] = (uint8_t)vlen;
	memcpy(&buf[TOKEN_VAULT_OFF], t->vault, vlen);
	return TOKEN_FIXED_LEN + vlen;
}

int
meta__token_dec(const MDB_val *key, const MDB_val *val, struct meta_token *t)
{
	const uint8_t *p = val->mv_data;
	size_t vlen;

	if (key->mv_size != META_TOKEN_ID_LEN || !versioned(val, TOKEN_FIXED_LEN))
		return -1;
	vlen = p[TOKEN_VAULT_LEN_OFF];
	if (val->mv_size - TOKEN_FIXED_LEN != vlen)
		return -1;
	if (vlen == 0)
		t->vault[0] = '\0';
	else if (meta__name_copy(&p[TOKEN_VAULT_OFF], vlen, t->vault) != 0)
		return -1;
	memcpy(t->id, key->mv_data, META_TOKEN_ID_LEN);
	memcpy(t->hash, &p[TOKEN_HASH_OFF], META_TOKEN_HASH_LEN);
	t->tenant_id = le64_get(&p[TOKEN_TENANT_OFF]);
	t->scopes = le32_get(&p[TOKEN_SCOPES_OFF]);
	t->created = le64_get(&p[TOKEN_CREATED_OFF]);
	if (t->tenant_id == 0 || (t->scopes & ~META_SCOPE_ALL) != 0)
		return -1;
	return 0;
}

size_t
meta__vname_enc(uint8_t *buf, uint64_t vault_id)
{
	buf[META__VERSION_OFF] = META__REC_VERSION;
	le64_put(&buf[VNAME_ID_OFF], vault_id);
	return VNAME_LEN;
}

int
meta__vname_dec(const MDB_val *val, uint64_t *vault_id)
{
	if (val->mv_size != VNAME_LEN || !versioned(val, VNAME_LEN))
		return -1;
	*vault_id = le64_get((const uint8_t *)val->mv_data + VNAME_ID_OFF);
	return *vault_id == 0 ? -1 : 0;
}

size_t
meta__vault_enc(uint8_t *buf, const struct meta_vault *v)
{
	size_t nlen = strlen(v->name);

	buf[META__VERSION_OFF] = META__REC_VERSION;
	le64_put(&buf[VAULT_TENANT_OFF], v->tenant_id);
	le64_put(&buf[VAULT_CREATED_OFF], v->created);
	le64_put(&buf[VAULT_OBJECTS_OFF], v->objects);
	le64_put(&buf[VAULT_BYTES_OFF], v->bytes);
	for (size_t k = 0; k < META__KINDS; k++) {
		le64_put(&buf[VAULT_KIND_OBJECTS_OFF + k * META__U64_LEN], v->kind_objects[k]);
		le64_put(&buf[VAULT_KIND_BYTES_OFF + k * META__U64_LEN], v->kind_bytes[k]);
	}
	buf[VAULT_HAS_CONFIG_OFF] = v->has_config ? 1 : 0;
	memcpy(&buf[VAULT_CONFIG_ID_OFF], v->config_id, VSP_ID_LEN);
	le64_put(&buf[VAULT_CONFIG_SIZE_OFF], v->config_size);
	buf[VAULT_NAME_LEN_OFF] = (uint8_t)nlen;
	memcpy(&buf[VAULT_NAME_OFF], v->name, nlen);
	return VAULT_FIXED_LEN + nlen;
}

int
meta__vault_dec(const MDB_val *key, const MDB_val *val, struct meta_vault *v)
{
	const uint8_t *p = val->mv_data;
	size_t nlen;

	if (key->mv_size != META__ID_KEY_LEN || !versioned(val, VAULT_FIXED_LEN))
		return -1;
	nlen = p[VAULT_NAME_LEN_OFF];
	if (val->mv_size - VAULT_FIXED_LEN != nlen || p[VAULT_HAS_CONFIG_OFF] > 1)
		return -1;
	if (meta__name_copy(&p[VAULT_NAME_OFF], nlen, v->name) != 0)
		return -1;
	v->id = meta__be64_get(key->mv_data);
	v->tenant_id = le64_get(&p[VAULT_TENANT_OFF]);
	v->created = le64_get(&p[VAULT_CREATED_OFF]);
	v->objects = le64_get(&p[VAULT_OBJECTS_OFF]);
	v->bytes = le64_get(&p[VAULT_BYTES_OFF]);
	for (size_t k = 0; k < META__KINDS; k++) {
		v->kind_objects[k] = le64_get(&p[VAULT_KIND_OBJECTS_OFF + k * META__U64_LEN]);
		v->kind_bytes[k] = le64_get(&p[VAULT_KIND_BYTES_OFF + k * META__U64_LEN]);
	}
	v->has_config = p[VAULT_HAS_CONFIG_OFF];
	memcpy(v->config_id, &p[VAULT_CONFIG_ID_OFF], VSP_ID_LEN);
	v->config_size = le64_get(&p[VAULT_CONFIG_SIZE_OFF]);
	return v->id == 0 || v->tenant_id == 0 ? -1 : 0;
}

size_t
meta__object_enc(uint8_t *buf, const struct meta_object *o)
{
	buf[META__VERSION_OFF] = META__REC_VERSION;
	le64_put(&buf[OBJECT_SIZE_OFF], o->size);
	le64_put(&buf[OBJECT_RECEIVED_OFF], o->received);
	le32_put(&buf[OBJECT_LOCATIONS_OFF], o->locations);
	if (o->tombstoned == 0)
		return OBJECT_LEN;
	buf[META__VERSION_OFF] = OBJECT_TOMBSTONE_VERSION;
	le64_put(&buf[OBJECT_TOMBSTONED_OFF], o->tombstoned);
	return OBJECT_TOMBSTONE_LEN;
}

int
meta__object_dec(const MDB_val *val, struct meta_object *o)
{
	const uint8_t *p = val->mv_data;

	if (val->mv_size == OBJECT_TOMBSTONE_LEN && p[META__VERSION_OFF] ==
	    OBJECT_TOMBSTONE_VERSION) {
		o->tombstoned = le64_get(&p[OBJECT_TOMBSTONED_OFF]);
		if (o->tombstoned == 0)
			return -1;
	} else if (val->mv_size == OBJECT_LEN && versioned(val, OBJECT_LEN))
		o->tombstoned = 0;
	else
		return -1;
	o->size = le64_get(&p[OBJECT_SIZE_OFF]);
	o->received = le64_get(&p[OBJECT_RECEIVED_OFF]);
	o->locations = le32_get(&p[OBJECT_LOCATIONS_OFF]);
	return 0;
}

/* ---- LMDB primitives ------------------------------------------------- */

/* Turns an LMDB error into a meta_rc, logging it. */
int
meta__lmdb_fail(const char *op, int rc)
{
	log_msg(VLOG_ERROR, "meta: %s: %s", op, mdb_strerror(rc));
	return rc == MDB_MAP_FULL ? META_FULL : META_ERROR;
}

/* Logs a value that failed to decode. */
int
meta__corrupt(const char *op, const char *what)
{
	log_msg(VLOG_ERROR, "meta: %s: corrupt %s record", op, what);
	return META_ERROR;
}

int
meta__txn_begin(struct meta *m, unsigned flags, const char *op, MDB_txn **txn)
{
	int rc = mdb_txn_begin(m->env, NULL, flags, txn);

	return rc == 0 ? META_OK : meta__lmdb_fail(op, rc);
}

/* Commits txn if rc is META_OK, else aborts it. Returns the final code. */
int
meta__txn_end(MDB_txn *txn, int rc, const char *op)
{
	int lrc;

	if (rc != META_OK) {
		mdb_txn_abort(txn);
		return rc;
	}
	if ((lrc = mdb_txn_commit(txn)) != 0)
		return meta__lmdb_fail(op, lrc);
	return META_OK;
}

/* mdb_get as a meta_rc: META_OK, META_NOTFOUND or a failure. */
int
meta__get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, MDB_val *val, const char *op)
{
	MDB_val key = { klen, (void *)k };
	int rc = mdb_get(txn, dbi, &key, val);

	if (rc == MDB_NOTFOUND)
		return META_NOTFOUND;
	return rc == 0 ? META_OK : meta__lmdb_fail(op, rc);
}

/* mdb_put as a meta_rc; with MDB_NOOVERWRITE an existing key gives
 * META_EXISTS. */
int
meta__put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *v, size_t vlen,
    unsigned flags, const char *op)
{
	MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
	int rc = mdb_put(txn, dbi, &key, &val, flags);

	if (rc == MDB_KEYEXIST)
		return META_EXISTS;
	return rc == 0 ? META_OK : meta__lmdb_fail(op, rc);
}

int
meta__del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const char *op)
{
	MDB_val key = { klen, (void *)k };
	int rc = mdb_del(txn, dbi, &key, NULL);

	if (rc == MDB_NOTFOUND)
		return META_NOTFOUND;
	return rc == 0 ? META_OK : meta__lmdb_fail(op, rc);
}

/* Turns a cursor result into META_OK if the key it found starts with
 * prefix, META_NOTFOUND if there is no key or it is past the prefix. */
int
meta__prefix_rc(int lrc, const MDB_val *key, const void *prefix, size_t plen, const char *op)
{
	if (lrc == MDB_NOTFOUND)
		return META_NOTFOUND;
	if (lrc != 0)
		return meta__lmdb_fail(op, lrc);
	if (key->mv_size < plen || memcmp(key->mv_data, prefix, plen) != 0)
		return META_NOTFOUND;
	return META_OK;
}

/*
 * Moves cur (how = MDB_SET_RANGE: to the first key >= prefix, or the first
 * key if plen is 0; how = MDB_NEXT: one step on) and gives META_OK with
 * *key, *val if that key starts with prefix, else META_NOTFOUND.
 */
int
meta__cursor_prefix(MDB_cursor *cur, MDB_cursor_op how, const void *prefix, size_t plen,
    MDB_val *key, MDB_val *val, const char *op)
{
	if (how == MDB_SET_RANGE && plen == 0)
		how = MDB_FIRST; /* LMDB refuses an empty key */
	if (how == MDB_SET_RANGE) {
		key->mv_size = plen;
		key->mv_data = (void *)prefix;
	}
	return meta__prefix_rc(mdb_cursor_get(cur, key, val, how), key, prefix, plen, op);
}
