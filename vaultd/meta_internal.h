#ifndef META_INTERNAL_H
#define META_INTERNAL_H
/*
 * Internals shared by meta.c (transactions, the public API) and
 * meta_records.c (the byte layouts of keys and values). Nothing outside the
 * meta module includes this header. The layouts are written up byte by byte
 * in spec/storage.md; a change here is a change of the on-disk format and
 * needs a new record version there.
 */
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "meta.h"
#include "vsp.h"

/* The environment and its named databases (spec/storage.md, "Databases"). */
struct meta {
	MDB_env *env;
	MDB_dbi sys;         /* counters and the format record */
	MDB_dbi tenants;     /* name -> tenant record */
	MDB_dbi tenant_ids;  /* BE tenant id -> tenant-id record (the name) */
	MDB_dbi tokens;      /* token id -> token record */
	MDB_dbi vault_names; /* BE tenant id | name -> vault-name record */
	MDB_dbi vaults;      /* BE vault id -> vault record */
	MDB_dbi objects;     /* BE vault id | kind | object id -> object record */
	MDB_dbi snapshots;   /* BE vault id | object id -> snapshot header record */
	/* Replication (meta_repl.c): target | vault | kind | id -> record. */
	MDB_dbi repl_queue;   /* what is still to be done at a target */
	MDB_dbi repl_done;    /* what a target holds, verified */
	MDB_dbi repl_targets; /* target name -> counters and last error */
	/* Scrub (meta_scrub.c): bad copies and per-vault scrub records. */
	MDB_dbi scrub;
	/* The vault -> targets look-up (meta_repl_set_targets); NULL: none. */
	size_t (*repl_fn)(void *arg, const char *tenant, const char *vault,
	    char (*names)[VSP_NAME_MAX + 1], size_t max);
	void *repl_arg;
};

/* Every value starts with this version byte (one per record type, all 1 in
 * format 1). */
#define META__REC_VERSION 1
#define META__VERSION_OFF 0
#define META__VERSION_LEN 1
#define META__BODY_OFF (META__VERSION_OFF + META__VERSION_LEN)

/* Fixed-width integers. */
#define META__U8_LEN 1
#define META__U32_LEN 4
#define META__U64_LEN 8

/* The on-disk format number kept in sys/"format", and its magic. Format 2
 * added the replication databases; a store of format 1 is upgraded at open
 * (the new databases start empty, which is its true replication state). */
#define META__FORMAT 2
#define META__FORMAT_OLD 1
#define META__MAGIC "vaultmd\0"
#define META__MAGIC_LEN 8

/* Keys of the sys database (stored without a NUL). */
#define META__SYS_FORMAT "format"
#define META__SYS_NEXT_TENANT "next_tenant_id"
#define META__SYS_NEXT_VAULT "next_vault_id"

/* The vault record keeps one (objects, bytes) pair per kind of format 1. */
#define META__KINDS 5

/* Key lengths. */
#define META__ID_KEY_LEN META__U64_LEN
#define META__VNAME_TENANT_OFF 0
#define META__VNAME_NAME_OFF (META__VNAME_TENANT_OFF + META__U64_LEN)
#define META__VNAME_KEY_MAX (META__VNAME_NAME_OFF + VSP_NAME_MAX)
#define META__OBJ_VAULT_OFF 0
#define META__OBJ_KIND_OFF (META__OBJ_VAULT_OFF + META__U64_LEN)
#define META__OBJ_ID_OFF (META__OBJ_KIND_OFF + META__U8_LEN)
#define META__OBJ_KEY_LEN (META__OBJ_ID_OFF + VSP_ID_LEN)
/* The prefix shared by every object of one (vault, kind). */
#define META__OBJ_PREFIX_LEN META__OBJ_ID_OFF

/* Largest value of any record type (the vault record with a full name). */
#define META__VAL_MAX 256

/* Big-endian keys: LMDB's byte order is then numeric order. */
void meta__be64_put(uint8_t *p, uint64_t v);
uint64_t meta__be64_get(const uint8_t *p);

/*
 * Copies a stored name of len bytes into out (NUL-terminated). Returns 0, or
 * -1 if it is not a valid name (a corrupt record).
 */
int meta__name_copy(const void *p, size_t len, char out[VSP_NAME_MAX + 1]);

/* Key builders; each returns the key length. */
size_t meta__vname_key(uint8_t key[META__VNAME_KEY_MAX], uint64_t tenant_id,
    const char *name, size_t name_len);
void meta__obj_key(uint8_t key[META__OBJ_KEY_LEN], uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN]);

/*
 * Record codecs. Each encoder writes into buf (at least META__VAL_MAX bytes)
 * and returns the value length. Each decoder checks the version byte and the
 * exact length and returns 0, or -1 for a corrupt value; a decoder whose key
 * carries fields (a name, an ID) takes the key too.
 */
size_t meta__counter_enc(uint8_t *buf, uint64_t v);
int meta__counter_dec(const MDB_val *val, uint64_t *v);

size_t meta__format_enc(uint8_t *buf);
/* Returns the format number of a format record (magic checked), else -1. */
int meta__format_dec(const MDB_val *val);

size_t meta__tenant_enc(uint8_t *buf, const struct meta_tenant *t);
int meta__tenant_dec(const MDB_val *key, const MDB_val *val, struct meta_tenant *t);

size_t meta__tenant_id_enc(uint8_t *buf, const char *name, size_t name_len);
int meta__tenant_id_dec(const MDB_val *val, char name[VSP_NAME_MAX + 1]);

size_t meta__token_enc(uint8_t *buf, const struct meta_token *t);
int meta__token_dec(const MDB_val *key, const MDB_val *val, struct meta_token *t);

size_t meta__vname_enc(uint8_t *buf, uint64_t vault_id);
int meta__vname_dec(const MDB_val *val, uint64_t *vault_id);

size_t meta__vault_enc(uint8_t *buf, const struct meta_vault *v);
int meta__vault_dec(const MDB_val *key, const MDB_val *val, struct meta_vault *v);

size_t meta__object_enc(uint8_t *buf, const struct meta_object *o);
int meta__object_dec(const MDB_val *val, struct meta_object *o);

/*
 * LMDB primitives shared by the meta module. Each takes op, the name of the
 * public operation, for the log line. LMDB failures are logged as
 * "meta: <op>: <mdb_strerror>" and give META_FULL for MDB_MAP_FULL, else
 * META_ERROR.
 */

/* Logs rc and maps it to META_FULL or META_ERROR. */
int meta__lmdb_fail(const char *op, int rc);

/* Logs a record of type what that failed to decode; returns META_ERROR. */
int meta__corrupt(const char *op, const char *what);

/* Begins a transaction (flags as for mdb_txn_begin). Returns META_OK or a
 * failure. */
int meta__txn_begin(struct meta *m, unsigned flags, const char *op, MDB_txn **txn);

/* Commits txn if rc is META_OK, else aborts it and returns rc. Returns
 * META_OK, or the failure of the commit. */
int meta__txn_end(MDB_txn *txn, int rc, const char *op);

/* mdb_get: META_OK (and *val, valid until the txn ends), META_NOTFOUND or a
 * failure. */
int meta__get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, MDB_val *val,
    const char *op);

/* mdb_put: META_OK, META_EXISTS (only with MDB_NOOVERWRITE) or a failure. */
int meta__put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *v,
    size_t vlen, unsigned flags, const char *op);

/* mdb_del of a key: META_OK, META_NOTFOUND or a failure. */
int meta__del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const char *op);

/* Maps a cursor result lrc to META_OK if the key found starts with prefix,
 * META_NOTFOUND if there is no key or it lies past the prefix, else a
 * failure. */
int meta__prefix_rc(int lrc, const MDB_val *key, const void *prefix, size_t plen,
    const char *op);

/*
 * Moves cur: with how = MDB_SET_RANGE to the first key >= prefix (the first
 * key of all if plen is 0), with MDB_NEXT one step on. Returns as
 * meta__prefix_rc, with *key and *val set on META_OK.
 */
int meta__cursor_prefix(MDB_cursor *cur, MDB_cursor_op how, const void *prefix,
    size_t plen, MDB_val *key, MDB_val *val, const char *op);

/* Snapshot records (meta_snapshot.c). Key: BE vault id | object id. */
#define META__SNAP_KEY_LEN (META__U64_LEN + VSP_ID_LEN)
#define META__SNAP_TIME_OFF META__BODY_OFF
#define META__SNAP_GROUP_OFF (META__SNAP_TIME_OFF + META__U64_LEN)
#define META__SNAP_NREFS_OFF (META__SNAP_GROUP_OFF + META_GROUP_LEN)
#define META__SNAP_LEN (META__SNAP_NREFS_OFF + META__U32_LEN)

/* Decodes a snapshot header record (meta_snapshot.c). */
int meta__snap_dec(const MDB_val *val, struct meta_snapshot *s);

/* Inserts an object and counts it (meta.c); META_EXISTS if present. */
int meta__object_put_txn(struct meta *m, MDB_txn *txn, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], const struct meta_object *obj, struct meta_object *out);

/* Loads the object record under key, tombstoned or not (meta.c). */
int meta__obj_load(struct meta *m, MDB_txn *txn, const uint8_t key[META__OBJ_KEY_LEN],
    struct meta_object *out, const char *op);

/* Adds (sign > 0) or removes (sign < 0) one object of size bytes to the
 * vault's counters (meta.c). */
int meta__vault_adjust(struct meta *m, MDB_txn *txn, uint64_t vault_id, enum vsp_kind kind,
    uint64_t size, int sign, const char *op);

/* Removes a snapshot's header record if there is one (meta_snapshot.c). */
int meta__snapshot_del_txn(struct meta *m, MDB_txn *txn, uint64_t vault_id,
    const uint8_t id[VSP_ID_LEN]);

/*
 * Replication hooks (meta_repl.c), called inside the write transaction of
 * the change they follow. on_put queues a put of (kind, id) of vault v for
 * each target of the vault's policy (kind may be META_REPL_CONFIG; lock
 * objects are skipped); on_delete applies the delete rule for every known
 * target (spec/replication.md, "State").
 */
int meta__repl_on_put(struct meta *m, MDB_txn *txn, const struct meta_vault *v, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint64_t size, uint64_t now);
int meta__repl_on_delete(struct meta *m, MDB_txn *txn, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint64_t now);

#endif
