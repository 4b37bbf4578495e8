#ifndef VC_CACHE_INTERNAL_H
#define VC_CACHE_INTERNAL_H
/*
 * What cache.c shares with cache_sync.c (spec/pack.md 5). cache_sync.c is a
 * file of its own so that a program that never syncs links without the VSP
 * transport (client/remote.c).
 */
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "cache.h"
#include "report.h"

#define VC_CACHE__FORMAT 1
/* The longest cache directory name, with its NUL (Linux's PATH_MAX). */
#define VC_CACHE__DIR_MAX 4096
/* A chunks value: pack ID, type, offset, sealed length, plain length. */
#define VC_CACHE__CHUNK_VAL_LEN (VC_ID_LEN + 1 + 4 + 4 + 4)     /* 45 */
/* A packs value: index ID, le32 N, then N map entries. */
#define VC_CACHE__PACK_HEAD_LEN (VC_ID_LEN + 4)                 /* 36 */

struct vc_cache {
	MDB_env *env;
	MDB_dbi meta, chunks, packs, indexes, heads;
	struct vc_report rp;  /* where errors go */
	char dir[VC_CACHE__DIR_MAX];
};

/* Prints "vault cache DIR: op: LMDB's reason" and returns -1. */
int vc_cache__fail(const struct vc_cache *c, const char *op, int mdb_rc);

/* Begins a transaction (flags 0 or MDB_RDONLY). Returns 0 or -1. */
int vc_cache__begin(struct vc_cache *c, unsigned flags, const char *op, MDB_txn **txn);

/* Commits txn. Returns 0 or -1 (the transaction is gone either way). */
int vc_cache__commit(struct vc_cache *c, MDB_txn *txn, const char *op);

/* vc_cache_add_pack and vc_cache_drop_pack inside the write transaction
 * txn, which the caller commits or aborts. drop returns 0,
 * VC_CACHE_NOTFOUND or -1. */
int vc_cache__add_pack_txn(struct vc_cache *c, MDB_txn *txn, const uint8_t pack_id[VC_ID_LEN],
    const uint8_t index_id[VC_ID_LEN], const struct vc_pack_entry *e, size_t n);
int vc_cache__drop_pack_txn(struct vc_cache *c, MDB_txn *txn,
    const uint8_t pack_id[VC_ID_LEN]);

/* Empties the chunks, packs and indexes databases in txn. Returns 0 or -1. */
int vc_cache__clear_txn(struct vc_cache *c, MDB_txn *txn);

#endif
