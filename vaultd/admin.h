#ifndef ADMIN_H
#define ADMIN_H
/*
 * The operator's admin channel (spec/admin.md): newline-delimited JSON over a
 * Unix domain socket, served on the daemon's libuv loop. vaultctl is the
 * client. Access control is the socket's mode (0600, the daemon's user).
 *
 * Each request line is parsed on the loop, handled by admin_handle() on the
 * libuv threadpool (LMDB may block), and answered with one line written by
 * uv_write. A client's requests are answered one at a time, in order.
 *
 * The process must ignore SIGPIPE (as any libuv server must): a client that
 * hangs up before its answer is written would otherwise kill the daemon.
 */
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "gc.h"
#include "meta.h"
#include "vsp.h"

struct scrub;
struct posture_config;

/* Longest request line accepted, not counting its '\n'. A longer line gets
 * an error response and the connection is closed. */
#define ADMIN_LINE_MAX 65536

/* Clients served at once; one more is told so and disconnected. */
#define ADMIN_MAX_CLIENTS 64

struct admin;
struct tier;

struct admin_ctx {
	struct meta *meta;
	const uint8_t *server_key; /* AUTH_SERVER_KEY_LEN bytes */
	/* Fills obj with daemon status fields (called on the loop thread).
	 * May be NULL. */
	void (*status)(json_t *obj, void *arg);
	void *status_arg;
	struct gc *gc; /* for the op "gc"; NULL: the op says GC is unavailable */
	struct tier *tier; /* for the ops "tier" and "tier.locations"; NULL: unavailable */
	/* Replication (op "replicate"): the targets a vault's policy names, and
	 * whether the configuration defines a target; arg is repl_arg. Both
	 * thread-safe. NULL: the op says replication is unavailable. */
	size_t (*repl_targets)(void *arg, const char *tenant, const char *vault,
	    char (*names)[VSP_NAME_MAX + 1], size_t max);
	int (*repl_has_target)(void *arg, const char *name);
	void *repl_arg;
	/* 1 if vaultd.conf declares a tenant of this name (such tenants are
	 * created at start-up and on reload, so "tenant.add" says why one
	 * exists and "tenant.remove" refuses it); arg is repl_arg. Thread-safe.
	 * NULL: no tenant is declared. */
	int (*tenant_declared)(void *arg, const char *name);
	struct scrub *scrub; /* op "scrub" (scrub.h); NULL: unavailable */
	const struct posture_config *posture; /* op "posture" (posture.h); NULL: unavailable */
};

/*
 * Listens on the Unix socket path (mode 0600) on loop. A stale socket left
 * by a dead daemon is unlinked first; a live one (something answers on it)
 * or a path that is not a socket is an error. The context is copied, but
 * ctx->meta and ctx->server_key are borrowed and must outlive the server.
 * Returns the server, or NULL with a message on stderr. (Only if libuv
 * refuses the freshly made socket is a handle left closing on loop; running
 * the loop once frees it.)
 */
struct admin *admin_start(uv_loop_t *loop, const char *path, const struct admin_ctx *ctx);

/*
 * Stops listening, unlinks the socket and closes every client connection.
 * Requests already running on the threadpool finish first (their answers are
 * dropped). cb(arg) is called on the loop once every handle is closed and
 * the server is freed, so the loop must keep running until then. cb may be
 * NULL. a is NULL: cb is called at once.
 */
void admin_stop(struct admin *a, void (*cb)(void *arg), void *arg);

/*
 * Handles one parsed request (any JSON value; a non-object is an error) and
 * returns a new response object, owned by the caller: {"ok": true, ...} or
 * {"ok": false, "error": "<sentence>"}. Returns NULL only when out of memory.
 * No I/O besides ctx->meta, which blocks: call it from the threadpool, never
 * the loop. For op "status" it calls ctx->status itself on the calling thread
 * (the server instead calls ctx->status on the loop thread and merges the
 * fields in there); use it directly only from tests or single-threaded tools.
 */
json_t *admin_handle(const struct admin_ctx *ctx, const json_t *req);

#endif
