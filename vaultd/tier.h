#ifndef TIER_H
#define TIER_H
/*
 * The tierer (spec/tiering.md): moves packs from the hot backend (index 0)
 * to the cold backend a vault's policy names (tier-to) once they are old or
 * idle enough, and back again when an archived one is read (a recall).
 *
 * A move is crash-safe: journal it, copy, verify the copy, add the new
 * location in LMDB, delete the old copy, drop the old location, drop the
 * journal record. tier_new finishes or undoes what a crash cut short, so
 * no object is lost and none keeps two locations.
 *
 * Blocking (LMDB and backend I/O): call from the threadpool. tier_run runs
 * one at a time (TIER_BUSY otherwise); moves of different objects may run
 * at once (the recall thread runs its own).
 */
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "conf.h"
#include "meta.h"
#include "vsp.h"

#define TIER_BACKENDS_MAX 32   /* locations is a 32-bit mask */
#define TIER_RECALLS_MAX 1024  /* recalls queued at once */
#define TIER_USE_BATCH 256     /* read times kept in memory before a flush */
#define TIER_RETRY_AFTER_S 2   /* the Retry-After of a 202 while recalling */
#define TIER_EVERY_S 3600      /* how often the scheduled run looks at every vault */
#define TIER_BATCH 256         /* objects looked at per metadata read */

enum tier_rc {
	TIER_ERROR = -1,
	TIER_OK = 0,
	TIER_BUSY = 1,     /* a run is in progress; or the recall queue is full */
	TIER_NOTFOUND = 2, /* no such tenant, vault or object */
	TIER_CHANGED = 3,  /* the object's locations changed under the move */
	TIER_CRASHED = 4,  /* test builds only: the move stopped as a crash would (tier.c) */
};

struct tier_config {
	struct meta *meta;
	struct backend *const *backends;       /* index = location bit; 0 is hot */
	const char (*names)[VSP_NAME_MAX + 1]; /* their names (tier-to names one) */
	size_t nbackends;
	const char *state_dir;                 /* the tierer's LMDB (tier_state.h) */
	/* The policy of (tenant, vault): fills *out and returns 1, or 0 when
	 * none applies. Thread-safe. */
	int (*policy)(void *arg, const char *tenant, const char *vault,
	    struct conf_policy *out);
	void *policy_arg;
	int recall_thread;   /* 1: recalls run on a thread of the tierer's own */
	uint64_t rate;       /* tier-rate: bytes per second moved to cold backends, 0 = no cap */
};

struct tier_report {
	uint64_t vaults;        /* vaults whose policy tiers */
	uint64_t examined;      /* packs looked at */
	uint64_t moved, bytes_moved;
	uint64_t held;          /* eligible, but still queued for replication */
	uint64_t failed;        /* moves that failed (logged) */
	uint64_t recovered;     /* journalled moves finished or undone first */
	double seconds;
};

struct tier;

/* Opens the tierer's state, finishes or undoes the moves a crash left, and
 * starts the recall thread if asked. The config is copied; what it points
 * to is borrowed. Returns NULL with a message on stderr. */
struct tier *tier_new(const struct tier_config *cfg);

/* Stops the recall thread (after the recall it is doing), writes the read
 * times kept in memory, frees t. NULL is ignored. */
void tier_free(struct tier *t);

/*
 * Moves every eligible pack of every vault (tenant NULL), of one tenant
 * (vault NULL) or of one vault, judged at time now. *out is filled in every
 * case. Returns TIER_OK, TIER_BUSY, TIER_NOTFOUND, or TIER_ERROR with a
 * sentence in err.
 */
int tier_run(struct tier *t, const char *tenant, const char *vault, uint64_t now,
    struct tier_report *out, char *err, size_t errlen);

/* The schedule: tier_run of everything when TIER_EVERY_S have passed since
 * the last scheduled run (at once after a start). Returns as tier_run, or
 * TIER_OK with out zeroed when nothing was due. */
int tier_run_due(struct tier *t, uint64_t now, struct tier_report *out);

/*
 * One move of (vault, kind, id) from backend from to backend to, the
 * object's only location being from. Returns TIER_OK, TIER_NOTFOUND,
 * TIER_CHANGED (another location set: nothing done), TIER_CRASHED (the test
 * hook of test builds) or TIER_ERROR (logged; the copy is undone). A move to
 * a cold backend (to != 0) waits out cfg.rate between its verified copy and
 * its commit; a recall does not.
 */
int tier_move(struct tier *t, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], unsigned from, unsigned to);

/* Records a read of the object at now, in memory (written in batches). */
void tier_note_read(struct tier *t, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], uint64_t now);

/* Writes the read times kept in memory. Returns 0 or -1. */
int tier_flush_uses(struct tier *t);

/*
 * Queues a recall of the object from backend from to the hot backend.
 * Returns TIER_OK (queued now or already), TIER_BUSY (the queue is full),
 * or TIER_ERROR (no recall thread).
 */
int tier_recall(struct tier *t, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], unsigned from);

/* Recalls queued or in progress. */
size_t tier_recalls_pending(struct tier *t);

/* The name of backend i, or NULL when there is no such backend. */
const char *tier_backend_name(const struct tier *t, unsigned i);

#endif
