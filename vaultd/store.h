#ifndef STORE_H
#define STORE_H
/*
 * The object store: the one layer between the request handlers or the
 * background engines (GC, tiering, scrub, the replicator) and the backends
 * of backend.h, as OpenSMTPD's queue_backend.c sits around queue_fs.c and
 * queue_ram.c. It owns:
 *
 *   - the key layout: where an object or a vault's config blob lives on a
 *     backend, and where the replicator puts it on an S3 replica;
 *   - the striped object locks that keep an upload's commit, a delete, a GC
 *     purge, a tier move and a scrub repair of one object apart;
 *   - which backend holds (or serves) the copy at a location bit;
 *   - store_copy_check, the one streaming size-and-SHA-256 check of a stored
 *     copy, paced by the caller (scrub's rate);
 *   - recording a copy found bad (meta_scrub.h).
 *
 * Everything here is thread-safe and blocking (backend and LMDB I/O): call
 * it from the threadpool, never from the event loop.
 */
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "backend.h"
#include "meta.h"
#include "meta_scrub.h"
#include "vsp.h"

struct scrub; /* scrub.h */
struct tier;  /* tier.h */

/* Limits and knobs. SIGHUP replaces them while handler threads read them:
 * each field is atomic, so a reader sees the old or the new value. */
struct store_limits {
	_Atomic uint64_t max_object_size;
	_Atomic uint64_t reserve_bytes; /* free space kept back; below it uploads get 507 */
	/* Whole-object GETs of hot copies up to this size are hashed before
	 * the answer starts (vaultd.conf verify-before-send); 0: none. */
	_Atomic uint64_t verify_before_send;
};

/* What a vault's policy asks of the handlers (vaultd.conf); 0 = none. */
struct policy_limits {
	uint64_t lock;          /* seconds from receipt during which nobody deletes */
	uint64_t vault_quota;   /* bytes */
	uint64_t tenant_quota;  /* bytes, all the tenant's vaults together */
};

/* What every handler works on; shared by all threads. */
struct store {
	struct meta *meta;
	struct backend *backend;
	/* Every configured backend, index = location bit (spec/tiering.md);
	 * backends[0] == backend, the hot one. NULL/0: only backend. */
	struct backend *const *backends;
	size_t nbackends;
	struct tier *tier; /* recalls and read times; NULL: no tiering */
	struct scrub *scrub; /* repairs a bad copy a GET finds; NULL: none */
	uint8_t server_key[AUTH_SERVER_KEY_LEN];
	struct store_limits limits;
	/* Looks up the policy limits of (tenant, vault); NULL when the daemon
	 * runs without policies. Must be safe to call from any thread. */
	void (*policy)(void *arg, const char *tenant, const char *vault,
	    struct policy_limits *out);
	void *policy_arg;
};

/* ---- key layout ------------------------------------------------------- */

/* Backend key of an object: <vault id, 16 hex>/<kind>/<ab>/<64-hex ID>. */
#define STORE_KEY_MAX (16 + 1 + 8 + 1 + 2 + 1 + VSP_ID_HEX_LEN)
/* The kind byte that names a vault's config blob instead of an object; the
 * same value as META_SCRUB_CONFIG and META_REPL_CONFIG. */
#define STORE_KIND_CONFIG 0x80

/* Writes the backend key of object (vault_id, kind, id) into key. */
void store_object_key(char key[STORE_KEY_MAX + 1], uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN]);

/* Writes the backend key of the config blob of vault vault_id into key and
 * returns key. */
char *store_config_key(char key[STORE_KEY_MAX + 1], uint64_t vault_id);

/* Writes the backend key of (kind, id) into key: store_config_key when kind
 * is STORE_KIND_CONFIG (id is then ignored), else store_object_key. */
void store_copy_key(char key[STORE_KEY_MAX + 1], uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN]);

/*
 * Writes the key, below an S3 replica's prefix, of (kind, id) of vault
 * `vault` of `tenant` (spec/replication.md): "<tenant>/<vault>/<kind>/<hex
 * ID>", or "<tenant>/<vault>/config" for STORE_KIND_CONFIG. Returns 0, or
 * -1 when it does not fit in size bytes (out then holds a cut string).
 */
int store_replica_key(char *out, size_t size, const char *tenant, const char *vault,
    uint8_t kind, const uint8_t id[VSP_ID_LEN]);

/* ---- object locks ----------------------------------------------------- */

/* Serialises writers of one object (an upload's commit against a delete, a
 * GC purge, a tier move or a scrub repair). Striped: unrelated objects may
 * share a lock, so hold it only around short steps and never take two with
 * store_lock (use store_lock_many). */
void store_lock(uint64_t vault_id, const uint8_t id[VSP_ID_LEN]);

/* Releases what store_lock took. */
void store_unlock(uint64_t vault_id, const uint8_t id[VSP_ID_LEN]);

/* Takes the locks of n objects at once (GC's batched purge): each stripe
 * involved once, in a fixed order, so two callers cannot deadlock. */
void store_lock_many(uint64_t vault_id, const uint8_t (*ids)[VSP_ID_LEN], size_t n);

/* Releases what store_lock_many took for the same ids. */
void store_unlock_many(uint64_t vault_id, const uint8_t (*ids)[VSP_ID_LEN], size_t n);

/* ---- backends of locations -------------------------------------------- */

/* The location bit whose copy serves reads of an object at locations: the
 * hot one (0) if it has a copy, else the lowest set bit; 0 when none is. */
unsigned store_read_location(uint32_t locations);

/* The backend of location bit `bit` in s (borrowed), or NULL when s has
 * none there. */
struct backend *store_backend_at(const struct store *s, unsigned bit);

/* 1 if a copy on b must be recalled to the hot backend before it is read
 * (an archive backend, BACKEND_CAP_RECALL), else 0. NULL gives 0. */
int store_needs_recall(const struct backend *b);

/* ---- checking a stored copy ------------------------------------------- */

/* Bytes read (and hashed) per step of a copy check. */
#define STORE_CHUNK ((size_t)1024 * 1024)

enum store_copy_rc {
	STORE_COPY_GOOD = 0,       /* size bytes that hash to the ID */
	STORE_COPY_WRONG_SIZE = 1, /* the copy is not size bytes long: bad */
	STORE_COPY_BAD_HASH = 2,   /* the bytes do not hash to the ID: bad */
	STORE_COPY_NO_OPEN = 3,    /* it cannot be opened (err; ENOENT: missing) */
	STORE_COPY_IO = 4,         /* a read, a write or memory failed midway */
	STORE_COPY_CANCELLED = 5,  /* the cancelled callback said stop: no verdict */
};

/* How to check a copy, and what came of it. Zero every input not used. */
struct store_check {
	/* Scratch of buflen bytes (> 0); NULL: STORE_CHUNK bytes are
	 * allocated for the call. Borrowed. */
	uint8_t *buf;
	size_t buflen;
	/* When put is not NULL, the bytes are also written into put, an upload
	 * begun on backend dst; the caller commits or aborts it. */
	struct backend *dst;
	struct backend_put *put;
	/* Called before each read of n bytes (a rate limit may sleep there),
	 * then cancelled, if set: non-zero stops the check. Either may be NULL. */
	void (*pace)(void *arg, uint64_t n);
	int (*cancelled)(void *arg);
	void *arg;
	/* Out: the bytes read, the errno of a failure (0 for a read that ended
	 * early), and a sentence for every result but STORE_COPY_GOOD. */
	uint64_t read;
	int err;
	char reason[META_SCRUB_REASON_MAX + 1];
};

/*
 * Opens the copy under key on b, checks that it is size bytes, and streams
 * it (through c's pace and into c's put, if any) while hashing it; the
 * verdict is whether the bytes hash to id. Returns an enum store_copy_rc,
 * with c's outputs filled in and errno set (EIO for a bad copy). The copy is
 * closed on return.
 */
int store_copy_check(struct backend *b, const char *key, const uint8_t id[VSP_ID_LEN],
    uint64_t size, struct store_check *c);

/* ---- bad copies ------------------------------------------------------- */

/*
 * Records durably that the copy of (kind, id) of vault vault_id on location
 * bit `bit` is bad (meta_scrub.h), found at time now for reason (cut to
 * META_SCRUB_REASON_MAX bytes). kind may be STORE_KIND_CONFIG. Returns the
 * META_* code of meta_scrub_bad_put.
 */
int store_bad_copy(struct meta *m, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint8_t bit, uint64_t now, const char *reason);

/*
 * For a blob read whole into memory from the hot backend (the config): 0
 * if no bad copy of it is recorded there and its len bytes hash to id;
 * else -1, after recording the hot copy as bad (for reason, unless it
 * already was).
 */
int store_blob_check(struct store *s, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], const void *buf, size_t len, const char *reason);

/* Reads exactly len bytes at off from r on b into buf. Returns 0, or -1 on
 * a read error (errno) or an early end. */
int store_read_exact(struct backend *b, struct backend_reader *r, uint64_t off, void *buf,
    size_t len);

#endif
