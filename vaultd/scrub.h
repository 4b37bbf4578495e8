#ifndef SCRUB_H
#define SCRUB_H
/*
 * Scrub (spec/scrub.md): re-reads every stored copy of every live object of
 * a vault at a bounded rate, recomputes its SHA-256 and compares it with the
 * ID, records bad copies durably (meta_scrub.h) and repairs each from a
 * good copy: another local backend whose copy verifies, else a replica at
 * one of the vault's replication targets. Records when each vault was last
 * fully verified.
 *
 * Blocking (LMDB, backend and network I/O, and the rate limiter's sleeps):
 * run it on the threadpool. One run at a time per struct scrub; a second
 * concurrent call returns SCRUB_BUSY.
 */
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "conf.h"
#include "meta.h"
#include "meta_scrub.h"

/* Bytes read per step (and per token-bucket request). */
#define SCRUB_CHUNK (1024 * 1024)
/* Objects listed per metadata transaction. */
#define SCRUB_BATCH 256
/* Problems (bad copies) a report lists one by one; more are only counted. */
#define SCRUB_PROBLEMS_MAX 64

enum scrub_rc {
	SCRUB_ERROR = -1,
	SCRUB_OK = 0,
	SCRUB_BUSY = 1,     /* another run is in progress */
	SCRUB_NOTFOUND = 2, /* no such tenant or vault */
};

/*
 * A token bucket: rate bytes per second, at most one second's worth saved
 * up. rate 0 means no cap.
 */
struct scrub_bucket {
	uint64_t rate;
	double tokens;  /* may go negative: a debt paid by waiting */
	double last;    /* time of the last take, seconds (any monotonic clock) */
	int started;
};

/* Sets the bucket's rate (0 = no cap); the bucket starts full. */
void scrub_bucket_init(struct scrub_bucket *b, uint64_t rate);

/*
 * Takes n bytes at time now (seconds) and returns how many seconds the
 * caller must wait before reading them (0 if at once). Successive takes of
 * a total of N bytes over a long run are spread over N / rate seconds.
 */
double scrub_bucket_take(struct scrub_bucket *b, uint64_t n, double now);

struct scrub_problem {
	char tenant[VSP_NAME_MAX + 1], vault[VSP_NAME_MAX + 1];
	uint8_t kind;                /* enum vsp_kind, or META_SCRUB_CONFIG */
	uint8_t id[VSP_ID_LEN];
	uint8_t backend;
	char reason[META_SCRUB_REASON_MAX + 1];
	int repaired;
	char source[VSP_NAME_MAX + 16]; /* "backend N" or "target NAME"; "" if none */
	char repair_error[META_SCRUB_REASON_MAX + 1]; /* why not, if not repaired */
};

struct scrub_report {
	uint64_t vaults, vaults_full;  /* scrubbed; of which every copy was read */
	uint64_t objects, copies, bytes;
	uint64_t bad, repaired, unrepaired; /* unrepaired: bad records left after the pass */
	double seconds;
	struct scrub_problem problems[SCRUB_PROBLEMS_MAX];
	size_t nproblems;
};

struct scrub_config {
	struct meta *meta;
	/* The backend of each location bit (meta_object.locations); NULL for
	 * a bit this process cannot read. Borrowed. */
	struct backend *backends[META_SCRUB_BACKENDS_MAX];
	uint64_t rate; /* bytes per second, 0 = no cap */
	/* The policy of (tenant, vault): fills *out and returns 1, or 0 if
	 * none applies. Thread-safe. May be NULL. */
	int (*policy)(void *arg, const char *tenant, const char *vault,
	    struct conf_policy *out);
	/* The vault's replication targets (meta_repl_targets_fn). May be NULL. */
	size_t (*targets)(void *arg, const char *tenant, const char *vault,
	    char (*names)[VSP_NAME_MAX + 1], size_t max);
	/* Copies the definition of target name into *out and returns 1, or
	 * returns 0 if the configuration has none. May be NULL. */
	int (*target)(void *arg, const char *name, struct conf_target *out);
	void *arg;
};

struct scrub;

/* Returns a new scrubber (cfg is copied, what it points to borrowed), or
 * NULL when out of memory. */
struct scrub *scrub_new(const struct scrub_config *cfg);

/* Frees s. NULL is ignored. */
void scrub_free(struct scrub *s);

/* Makes a run in progress, and every later one, stop at the next chunk
 * without a verdict on the copy it was reading (at shutdown). Thread-safe. */
void scrub_cancel(struct scrub *s);

/* Changes the rate cap (after a reload); thread-safe; applies from the next
 * run on. */
void scrub_set_rate(struct scrub *s, uint64_t rate);

/*
 * Scrubs every vault (tenant NULL), every vault of tenant (vault NULL), or
 * one vault, at time now (Unix seconds). *out is filled in every case.
 * Returns SCRUB_OK, SCRUB_BUSY, SCRUB_NOTFOUND, or SCRUB_ERROR with a
 * sentence in err.
 */
int scrub_run(struct scrub *s, const char *tenant, const char *vault, uint64_t now,
    struct scrub_report *out, char *err, size_t errlen);

/*
 * Records the copy of (kind, id) on location bit of the vault with ID
 * vault_id as bad (for reason) and repairs it at once, as a scrub would
 * (another local copy, else a replica), without the rate cap: for a GET
 * that found the copy bad and has a client waiting. Returns SCRUB_OK
 * (repaired and verified), SCRUB_BUSY (a scrub run holds the scrubber; it
 * will get to it), SCRUB_NOTFOUND (the object is gone), or SCRUB_ERROR with
 * a sentence in err (no good copy anywhere, or a failure). Blocking.
 */
int scrub_repair_now(struct scrub *s, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint8_t bit, const char *reason, char *err, size_t errlen);

/*
 * The schedule: scrubs each vault whose policy sets scrub-every and whose
 * last pass (the vault's scrub record, so a restart does not make it due)
 * ended that long ago or more, or never ran. Returns as scrub_run.
 */
int scrub_run_due(struct scrub *s, uint64_t now, struct scrub_report *out);

/*
 * Fetches a copy of (kind, id) of the vault named vault of tenant from the
 * replication target t and writes it into put, an upload begun on backend
 * b, checking that it is size bytes that hash to id. The caller commits
 * put (temp file, then rename: nothing is visible before) on 0, or aborts
 * it. Returns 0, or -1 with a sentence in err. Blocking (libcurl; the
 * caller has called curl_global_init).
 */
int scrub_fetch_replica(const struct conf_target *t, const char *tenant, const char *vault,
    uint8_t kind, const uint8_t id[VSP_ID_LEN], uint64_t size, struct backend *b,
    struct backend_put *put, char *err, size_t errlen);

#endif
