#ifndef META_H
#define META_H
/*
 * Metadata in LMDB: tenants, tokens, vaults and objects (DESIGN.md). The
 * record layouts are an on-disk format, written up in spec/storage.md.
 *
 * Every function opens and commits its own transaction, so each call is
 * atomic and, for writes, durable when it returns (LMDB syncs on commit).
 * Functions block on disk: call them from the threadpool, never the loop.
 * They are safe to call from several threads at once.
 *
 * Return values: META_OK (0) on success, or one of the positive codes below
 * for an expected outcome, or META_ERROR (-1) for a failure (logged to
 * stderr with the LMDB message).
 */
#include <stddef.h>
#include <stdint.h>

#include "vsp.h"

enum meta_rc {
	META_ERROR = -1,
	META_OK = 0,
	META_NOTFOUND = 1, /* no such tenant, token, vault or object */
	META_EXISTS = 2,   /* it is already there (nothing was changed) */
	META_NOTEMPTY = 3, /* a tenant still has vaults */
	META_FULL = 4,     /* the LMDB map is full (MDB_MAP_FULL) */
	META_MISSING = 5,  /* a snapshot refers to objects the vault lacks */
	META_CHANGED = 6,  /* GC: the vault got a snapshot the caller has not marked */
};

struct meta;
struct envelope; /* protocol/envelope.h */

/* Token scopes. */
#define META_SCOPE_READ 0x1u
#define META_SCOPE_APPEND 0x2u
#define META_SCOPE_DELETE 0x4u
#define META_SCOPE_ADMIN 0x8u
#define META_SCOPE_ALL 0xfu

#define META_TOKEN_ID_LEN 8
#define META_TOKEN_HASH_LEN 32

struct meta_tenant {
	uint64_t id;                  /* assigned by meta_tenant_add, never reused */
	char name[VSP_NAME_MAX + 1];
	uint64_t created;             /* Unix seconds */
};

struct meta_token {
	uint8_t id[META_TOKEN_ID_LEN];     /* public part of the token */
	uint8_t hash[META_TOKEN_HASH_LEN]; /* keyed hash of the secret part */
	uint64_t tenant_id;
	char vault[VSP_NAME_MAX + 1];      /* "" = any vault of the tenant */
	uint32_t scopes;                   /* META_SCOPE_* */
	uint64_t created;
};

struct meta_vault {
	uint64_t id;                  /* assigned by meta_vault_create, never reused */
	uint64_t tenant_id;
	char name[VSP_NAME_MAX + 1];
	uint64_t created;
	uint64_t objects;             /* live objects, all kinds */
	uint64_t bytes;               /* their total size */
	uint64_t kind_objects[VSP_KIND_COUNT];
	uint64_t kind_bytes[VSP_KIND_COUNT];
	int has_config;
	uint8_t config_id[VSP_ID_LEN]; /* SHA-256 of the config blob */
	uint64_t config_size;
};

struct meta_object {
	uint64_t size;
	uint64_t received;   /* Unix seconds, server clock */
	uint32_t locations;  /* bit i set = a copy on backend i */
	uint64_t tombstoned; /* 0 = live; else when GC tombstoned it (spec/gc.md) */
};

/*
 * Opens (creating if needed) the LMDB environment in directory dir, with a
 * map of map_size bytes (0 = 64 GiB; the file grows sparsely). Returns
 * META_OK and *out, or META_ERROR.
 */
int meta_open(const char *dir, size_t map_size, struct meta **out);

/* Closes the environment. NULL is ignored. */
void meta_close(struct meta *m);

/* Tenants. Names must satisfy vsp_name_valid (META_ERROR otherwise). */
int meta_tenant_add(struct meta *m, const char *name, uint64_t now, struct meta_tenant *out);
int meta_tenant_get(struct meta *m, const char *name, struct meta_tenant *out);
int meta_tenant_get_by_id(struct meta *m, uint64_t id, struct meta_tenant *out);
/* Removes the tenant and its tokens. META_NOTEMPTY if it still has vaults. */
int meta_tenant_remove(struct meta *m, const char *name);
/* Calls cb for each tenant in name order; a non-zero return stops the walk. */
int meta_tenant_list(struct meta *m, int (*cb)(const struct meta_tenant *t, void *arg), void *arg);

/* Tokens. meta_token_add gives META_EXISTS if the ID is taken (the caller
 * draws a new random ID and retries) and META_NOTFOUND if no such tenant. */
int meta_token_add(struct meta *m, const struct meta_token *tok);
int meta_token_get(struct meta *m, const uint8_t id[META_TOKEN_ID_LEN], struct meta_token *out);
int meta_token_revoke(struct meta *m, const uint8_t id[META_TOKEN_ID_LEN]);
/* Tokens of one tenant (tenant_id 0 = all tenants), in ID order. */
int meta_token_list(struct meta *m, uint64_t tenant_id,
    int (*cb)(const struct meta_token *t, void *arg), void *arg);

/* Vaults. Names are unique per tenant; tenants never see each other's. */
int meta_vault_create(struct meta *m, uint64_t tenant_id, const char *name, uint64_t now,
    struct meta_vault *out);
int meta_vault_get(struct meta *m, uint64_t tenant_id, const char *name, struct meta_vault *out);
int meta_vault_get_by_id(struct meta *m, uint64_t vault_id, struct meta_vault *out);
/* Vaults of one tenant (tenant_id 0 = all) in name order. */
int meta_vault_list(struct meta *m, uint64_t tenant_id,
    int (*cb)(const struct meta_vault *v, void *arg), void *arg);
/* Vaults chosen by meta_vaults_select; the caller frees a with free(). */
struct meta_vaults {
	struct meta_vault *a;
	size_t n, cap;
	int oom;
};

/* Appends to *vs (zeroed to start) every vault (tenant NULL), every vault
 * of tenant (vault NULL), or the one vault named. META_OK; META_NOTFOUND or
 * META_ERROR with a sentence in err ("there is no tenant named ...",
 * "tenant ... has no vault named ...", out of memory, a store failure). */
int meta_vaults_select(struct meta *m, const char *tenant, const char *vault,
    struct meta_vaults *vs, char *err, size_t errlen);

/* Records the vault's config blob, once. META_EXISTS if one is recorded
 * already (whatever its content). */
int meta_vault_set_config(struct meta *m, uint64_t vault_id,
    const uint8_t id[VSP_ID_LEN], uint64_t size);

/*
 * Objects, keyed by (vault, kind, ID). A tombstoned object (spec/gc.md) is
 * not live: get, delete, list and exists treat it as absent, the vault's
 * counters leave it out, and a put of its ID revives it (META_OK).
 */
int meta_object_get(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], struct meta_object *out);
/* Inserts the object and adds it to the vault's counters in the same
 * transaction. META_EXISTS (and *out gets the existing record when out is
 * not NULL) if it is already there; META_NOTFOUND if the vault is gone. */
int meta_object_put(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], const struct meta_object *obj, struct meta_object *out);
/* Deletes the object and subtracts it from the counters; *old (if not NULL)
 * gets the removed record. META_NOTFOUND if absent. */
int meta_object_delete(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], struct meta_object *old);
/*
 * Lists objects of one kind in ID order, starting after the ID `after`
 * (NULL = from the first), at most limit of them. *more is set to 1 if
 * further objects follow, else 0.
 */
int meta_object_list(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t *after, size_t limit,
    int (*cb)(const uint8_t id[VSP_ID_LEN], const struct meta_object *o, void *arg),
    void *arg, int *more);
/* For each of the n IDs, present[i] = 1 if the object exists, else 0; one
 * read transaction. */
int meta_object_exists_batch(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t (*ids)[VSP_ID_LEN], size_t n, uint8_t *present);

/* The cleartext header fields of a snapshot envelope (spec/envelope.md). */
#define META_GROUP_LEN 32
struct meta_snapshot {
	int64_t client_time;          /* as the client claims it */
	uint8_t group[META_GROUP_LEN];
	uint32_t nrefs;               /* objects the snapshot refers to */
};

/*
 * The commit invariant (DESIGN.md): stores the snapshot object (kind
 * snapshot) and the header fields of its parsed envelope env (client time,
 * group, reference count; protocol/envelope.h) only if every reference of
 * env is a live object of the vault, all checked in the same write
 * transaction. Otherwise returns META_MISSING, sets missing[i] = 1 for each
 * absent reference i (missing has env->nrefs bytes) and changes nothing.
 * META_EXISTS (and *out) if the snapshot is there already.
 */
int meta_snapshot_put(struct meta *m, uint64_t vault_id, const uint8_t id[VSP_ID_LEN],
    const struct meta_object *obj, const struct envelope *env, uint8_t *missing,
    struct meta_object *out);

/* The header fields of a snapshot stored with meta_snapshot_put.
 * META_NOTFOUND for an unknown one (or one stored by restic, which has no
 * envelope). */
int meta_snapshot_get(struct meta *m, uint64_t vault_id, const uint8_t id[VSP_ID_LEN],
    struct meta_snapshot *out);

/*
 * Garbage collection (spec/gc.md; meta_gc.c). These see tombstoned objects.
 */

/* As meta_object_list, but every record of (vault, kind), tombstoned ones
 * included. */
int meta_gc_walk(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t *after, size_t limit,
    int (*cb)(const uint8_t id[VSP_ID_LEN], const struct meta_object *o, void *arg),
    void *arg, int *more);

/* Calls cb for each snapshot header record of the vault, with the header
 * fields and the snapshot's object record (o->received 0 if it has none);
 * a non-zero return stops the walk. *count (if not NULL) gets the number of
 * records seen. */
int meta_gc_snapshots(struct meta *m, uint64_t vault_id,
    int (*cb)(const uint8_t id[VSP_ID_LEN], const struct meta_snapshot *s,
        const struct meta_object *o, void *arg),
    void *arg, uint64_t *count);

/*
 * Tombstones, in one write transaction, each of the n objects of (vault,
 * kind) that is still live and received at or before max_received: sets its
 * tombstone time to now and takes it out of the vault's counters; done[i] =
 * 1 for each one tombstoned. First, still in that transaction, calls
 * known(id, arg) for every snapshot header record of the vault; if one
 * returns 0 (a snapshot the caller has not marked, committed meanwhile),
 * nothing is changed and the result is META_CHANGED. Because snapshot
 * commits take the same write lock, no snapshot can commit between the check
 * and the tombstones.
 */
int meta_gc_tombstone(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t (*ids)[VSP_ID_LEN], size_t n, uint64_t now, uint64_t max_received,
    int (*known)(const uint8_t id[VSP_ID_LEN], void *arg), void *arg, uint8_t *done);

/*
 * Deletes, in one write transaction, the record of each of the n objects of
 * (vault, kind) that is tombstoned at or before cutoff; done[i] = 1 and
 * size[i] = its size for each one deleted, done[i] = 0 for one absent, live
 * (revived) or tombstoned after cutoff.
 */
int meta_gc_purge(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t (*ids)[VSP_ID_LEN], size_t n, uint64_t cutoff, uint8_t *done,
    uint64_t *size);

#endif
