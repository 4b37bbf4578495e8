#ifndef GC_H
#define GC_H
/*
 * Garbage collection of a vault's objects (spec/gc.md, DESIGN.md "GC
 * invariant"): forget the snapshots the keep rules drop, mark what the
 * retained snapshots refer to, tombstone unreferenced packs and indexes past
 * their grace window and lock, and delete physically what an earlier run
 * tombstoned at least one grace window ago.
 *
 * Blocking (LMDB and backend I/O): run it on the threadpool. One run at a
 * time per struct gc; a second concurrent call returns GC_BUSY.
 */
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "conf.h"
#include "meta.h"

/* Objects handled per metadata transaction while sweeping. */
#define GC_BATCH 1024
/* Attempts at a tombstone batch while backups keep committing snapshots. */
#define GC_RETRIES 16

enum gc_rc {
	GC_ERROR = -1,
	GC_OK = 0,
	GC_BUSY = 1,     /* another run is in progress */
	GC_NOTFOUND = 2, /* no such tenant or vault */
};

struct gc_report {
	uint64_t vaults;               /* vaults collected */
	uint64_t vaults_skipped;       /* vaults GC cannot judge (restic, see spec) */
	uint64_t snapshots_forgotten;  /* dropped by the keep rules, deleted */
	uint64_t objects_marked;       /* distinct objects retained snapshots refer to */
	uint64_t objects_tombstoned, bytes_tombstoned;
	uint64_t objects_deleted, bytes_deleted;
	double seconds;
};

struct gc_config {
	struct meta *meta;
	struct backend *backend;
	/* A directory GC may own for its temporary mark store (created if
	 * missing; emptied before and after each vault). */
	const char *tmp_dir;
	/* The policy of (tenant, vault): fills *out and returns 1, or returns
	 * 0 when none applies (then: no keep rules, no lock, the default
	 * grace). Must be thread-safe. May be NULL. */
	int (*policy)(void *arg, const char *tenant, const char *vault,
	    struct conf_policy *out);
	void *policy_arg;
	/* All backends (index = location bit, 0 = backend); a purged pack is
	 * removed from each cold one too, since it may have been tiered
	 * (spec/tiering.md). NULL/0: only backend. */
	struct backend *const *backends;
	size_t nbackends;
};

struct gc;

/* Returns a new collector (the config is copied; what it points to is
 * borrowed), or NULL when out of memory. */
struct gc *gc_new(const struct gc_config *cfg);

/* Frees g. NULL is ignored. */
void gc_free(struct gc *g);

/*
 * Collects every vault (tenant NULL), every vault of tenant (vault NULL),
 * or one vault, at time now (Unix seconds). With dry_run nothing changes
 * and *out tells what would be freed. *out is filled in every case (with
 * what was done before a failure). Returns GC_OK, GC_BUSY, GC_NOTFOUND, or
 * GC_ERROR with a sentence in err (errlen bytes).
 */
int gc_run(struct gc *g, const char *tenant, const char *vault, int dry_run, uint64_t now,
    struct gc_report *out, char *err, size_t errlen);

/*
 * The schedule: collects each vault whose policy sets gc-every and that was
 * not collected (by this function) within that period. Last-run times live
 * in memory, so after a restart every such vault is due once. *out gets the
 * totals. Returns as gc_run.
 */
int gc_run_due(struct gc *g, uint64_t now, struct gc_report *out);

#endif
