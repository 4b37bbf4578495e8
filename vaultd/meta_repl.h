#ifndef META_REPL_H
#define META_REPL_H
/*
 * The durable replication queue in LMDB (spec/replication.md, spec/storage.md
 * "repl_queue", "repl_done", "repl_targets"). Records are keyed by (target,
 * vault, kind, ID); a queue record says what is still to be done at the
 * target (copy or delete), a done record says the target holds a verified
 * copy. Puts are queued inside the write transaction that commits an object,
 * a config blob or a snapshot (meta.c, meta_snapshot.c), deletes inside the
 * one that removes an object record (meta_object_delete, meta_gc_purge), so
 * no committed change is ever missed by a crash. The rules that keep the
 * two record sets consistent are in spec/replication.md, "State".
 *
 * Return values as in meta.h.
 */
#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "vsp.h"

/* Targets a policy may name; a longer list is cut (the config parser
 * refuses one). */
#define META_REPL_TARGETS_MAX 8
/* Bytes of an error text kept in a record (longer ones are cut). */
#define META_REPL_ERR_MAX 200
/* The kind byte of a vault's config blob in queue keys (no object kind). */
#define META_REPL_CONFIG 0x80

enum meta_repl_op {
	META_REPL_PUT = 1,
	META_REPL_DELETE = 2,
};

enum meta_repl_state {
	META_REPL_PENDING = 0, /* due at next_try */
	META_REPL_FAILED = 1,  /* a permanent error; held until meta_repl_release */
};

/*
 * The replication targets of a vault: fills names (at most max) with the
 * target names the vault's policy lists and returns how many. Called inside
 * LMDB write transactions, from any thread; it must not call into meta.
 */
typedef size_t (*meta_repl_targets_fn)(void *arg, const char *tenant, const char *vault,
    char (*names)[VSP_NAME_MAX + 1], size_t max);

/* Installs the look-up that puts use to find a vault's targets. NULL (the
 * default) queues nothing. Set it before the first write. */
void meta_repl_set_targets(struct meta *m, meta_repl_targets_fn fn, void *arg);

/* One queue record with its key. */
struct meta_repl_item {
	char target[VSP_NAME_MAX + 1];
	uint64_t vault_id;
	uint8_t kind;                /* enum vsp_kind, or META_REPL_CONFIG */
	uint8_t id[VSP_ID_LEN];      /* the config's SHA-256 for META_REPL_CONFIG */
	uint8_t op;                  /* enum meta_repl_op */
	uint8_t state;               /* enum meta_repl_state */
	uint32_t attempts;           /* failed tries so far */
	uint64_t enqueued, next_try; /* Unix seconds */
	uint64_t size;               /* bytes of the object */
	char error[META_REPL_ERR_MAX + 1]; /* the last error, "" if none */
};

/*
 * Collects up to max pending queue records with next_try <= now for which
 * want(it, arg) returns 1 (want may be NULL: all), in key order (by target,
 * then vault, then kind: packs and indexes before the snapshots that refer
 * to them), into out; *n gets the count. *next_due gets the earliest
 * next_try of a wanted pending record not collected (now if it is due
 * already but did not fit, UINT64_MAX if none). One read transaction.
 */
int meta_repl_due(struct meta *m, uint64_t now,
    int (*want)(const struct meta_repl_item *it, void *arg), void *arg,
    struct meta_repl_item *out, size_t max, size_t *n, uint64_t *next_due);

/*
 * Reads the state of one key: *queued = 1 and *out (if not NULL) the queue
 * record if there is one, *done = 1 if a done record is there.
 */
int meta_repl_get(struct meta *m, const char *target, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], struct meta_repl_item *out, int *queued, int *done);

/*
 * Records that the operation of it (a copy of it->op PUT, or a DELETE) was
 * done and verified at the target, following the rules of
 * spec/replication.md, "State" (a copy of an object purged meanwhile becomes
 * a queued delete). Updates the target's counters.
 */
int meta_repl_complete(struct meta *m, const struct meta_repl_item *it, uint64_t now);

/*
 * Records a failed try of it: if its queue record is still there with the
 * same op, bumps attempts, sets next_try and the error, and with permanent =
 * 1 sets the state META_REPL_FAILED. Also sets the target's last error.
 */
int meta_repl_retry(struct meta *m, const struct meta_repl_item *it, uint64_t now,
    uint64_t next_try, int permanent, const char *error);

/* Sets the target's last error (now, error) without touching a record:
 * for errors of the target itself (an unreadable token file). */
int meta_repl_note(struct meta *m, const char *target, uint64_t now, const char *error);

/* Makes every META_REPL_FAILED record pending again, due now (after a
 * reload that may have fixed the cause). *n (if not NULL) gets the count. */
int meta_repl_release(struct meta *m, uint64_t *n);

/* Makes the target known (listed by meta_repl_stats even with no records). */
int meta_repl_target_add(struct meta *m, const char *target);

/*
 * Seeds target with vault_id: queues a put of every live object of the
 * replicated kinds (pack, index, snapshot, key) and of the config blob that
 * has neither a done record nor a queue record for the target. *queued gets
 * how many were queued. One write transaction.
 */
int meta_repl_seed(struct meta *m, uint64_t vault_id, const char *target, uint64_t now,
    uint64_t *queued);

/* Per-target figures for status. */
struct meta_repl_stats {
	char target[VSP_NAME_MAX + 1];
	uint64_t queued;          /* queue records, pending and failed */
	uint64_t failed;          /* of which failed permanently */
	uint64_t bytes_pending;   /* their sizes (puts only) */
	uint64_t oldest;          /* earliest enqueued time, 0 if none */
	uint64_t done, done_bytes; /* copies verified, ever */
	uint64_t deleted;         /* deletes done, ever */
	uint64_t last_error_time; /* 0 if none */
	char last_error[META_REPL_ERR_MAX + 1];
};

/* Calls cb once per known target in name order; a non-zero return stops
 * the walk. One read transaction (a scan of the whole queue). */
int meta_repl_stats(struct meta *m, int (*cb)(const struct meta_repl_stats *s, void *arg),
    void *arg);

/*
 * The figures of one (target, vault) pair for posture: *out's queued,
 * failed, bytes_pending and oldest count only the vault's queue records;
 * last_error is the target's last error, or the newest error of one of
 * the vault's records if that is more recent (its time is then the
 * record's next try). done, done_bytes and deleted stay 0. One read
 * transaction (a prefix scan of the queue).
 */
int meta_repl_vault_stats(struct meta *m, const char *target, uint64_t vault_id,
    struct meta_repl_stats *out);

#endif
