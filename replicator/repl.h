#ifndef REPL_H
#define REPL_H
/*
 * The replication engine (spec/replication.md): works the durable queue
 * that meta_repl.h keeps in LMDB, copying objects to the targets of
 * vaultd.conf with libcurl's multi interface on the daemon's libuv loop.
 * Each transfer reads its object from the backend on the threadpool, two
 * bounded chunks at a time, sends it (to a vaultd over VSP, or to an S3
 * bucket signed by s3.h), verifies the copy with a HEAD (or a GET of a
 * vaultd's config blob), and records the outcome in LMDB (done, or a retry
 * with backoff). Everything but the constructors of struct repl_settings runs on
 * the loop thread.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "backend.h"
#include "conf.h"
#include "meta.h"

/* Bytes of a target's bearer token (conf_token_load). */
#define REPL_TOKEN_MAX CONF_TOKEN_MAX
/* Bytes of one read-ahead chunk; a transfer holds two. */
#define REPL_CHUNK (2u * 1024 * 1024)
/* Retry delays, seconds: the first, the cap of the doubling, the slow
 * retry of a full (507) or locked (423) target. */
#define REPL_BACKOFF_MIN 1
#define REPL_BACKOFF_MAX 60
#define REPL_BACKOFF_SLOW 60
/* How often the queue is looked at for due work, milliseconds. */
#define REPL_TICK_MS 1000

struct repl;
struct repl_settings;

/*
 * Builds the engine's view of c's targets and replicate-* settings, reading
 * each vault target's token file (blocking: call it at start-up or on the
 * threadpool). A target whose token file cannot be read is kept with that
 * error, which repl_update records as its last error; it copies nothing.
 * Returns NULL only when out of memory.
 */
struct repl_settings *repl_settings_new(const struct conf *c);

/* Frees s. NULL is ignored. Only for settings not given to the engine. */
void repl_settings_free(struct repl_settings *s);

struct repl_config {
	uv_loop_t *loop;
	struct meta *meta;         /* borrowed; outlives the engine */
	struct backend *backend;   /* borrowed; where the objects are read */
};

/*
 * Starts the engine on cfg->loop with settings s (taken over, freed by the
 * engine). Returns NULL with a message on stderr (s is then freed).
 */
struct repl *repl_start(const struct repl_config *cfg, struct repl_settings *s);

/*
 * Puts new settings in force (taken over) after a reload: transfers under
 * way finish with what they started with; queue records that had failed
 * permanently are made pending again, since the reload may have fixed their
 * cause (a token, a URL).
 */
void repl_update(struct repl *r, struct repl_settings *s);

/*
 * Stops: transfers under way are dropped (their records stay queued and are
 * sent again after a restart; the target takes a PUT of an existing ID as a
 * success), threadpool work is waited for, handles are closed, then cb(arg)
 * is called and r is freed. r NULL: cb is called at once.
 */
void repl_stop(struct repl *r, void (*cb)(void *arg), void *arg);

/* Adds the engine's live figures (workers, transfers under way, bytes sent
 * since start, the bandwidth cap) to obj as "replication_engine". */
void repl_status(const struct repl *r, json_t *obj);

#endif
