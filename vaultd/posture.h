#ifndef POSTURE_H
#define POSTURE_H
/*
 * The backup posture (spec/posture.md): per tenant and vault, whether the
 * last snapshot is within the policy's RPO, the snapshot count, objects
 * and bytes, replication lag per target, the last full scrub and the bad
 * copies left, objects with fewer healthy copies than the policy asks, and
 * a one-line policy summary. posture_report() builds it as JSON for
 * `vaultctl posture`; posture_html() renders it for the posture page, which
 * posture_http.c serves on posture-listen.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "conf.h"
#include "handlers.h"
#include "meta.h"

/* A vault's figures are "stale" for scrub when its last full pass is older
 * than this many scrub-every periods. */
#define POSTURE_SCRUB_SLACK 2
/* Milliseconds a posture page client has to send its request (and to
 * read its answer). */
#define POSTURE_TIMEOUT_MS 10000
/* Posture page clients served at once; more are refused (closed). Requests
 * are read by the HTTP layer (server.h) within its limits (http_req.h). */
#define POSTURE_CLIENTS_MAX 32

struct posture_config {
	struct meta *meta;
	/* The policy of (tenant, vault) (policy_src_policy): fills *out and
	 * returns 1, or 0 when none applies. Thread-safe. May be NULL. */
	int (*policy)(void *arg, const char *tenant, const char *vault,
	    struct conf_policy *out);
	/* Quotas and lock in force (policy_src_lookup). May be NULL. */
	void (*limits)(void *arg, const char *tenant, const char *vault,
	    struct policy_limits *out);
	/* The vault's replication targets (policy_src_targets). May be NULL. */
	size_t (*targets)(void *arg, const char *tenant, const char *vault,
	    char (*names)[VSP_NAME_MAX + 1], size_t max);
	void *arg;
};

/*
 * Builds the posture of every vault (tenant NULL), every vault of tenant
 * (vault NULL) or one vault at time now: {"ok": true, "time": now,
 * "vaults": [...]} as spec/posture.md lays out. Returns a new object, or
 * NULL with a sentence in err (no such tenant or vault, a metadata error,
 * out of memory). Blocks on LMDB: call it from the threadpool.
 */
json_t *posture_report(const struct posture_config *c, const char *tenant, const char *vault,
    uint64_t now, char *err, size_t errlen);

/*
 * Renders a report of posture_report() as one self-contained HTML page (no
 * external assets). Returns a malloc'd NUL-terminated string, or NULL when
 * out of memory.
 */
char *posture_html(const json_t *report);

struct posture_http;

/*
 * Serves the posture page on host:port (port 0: any free one) on loop:
 * GET /posture, /posture/TENANT, /posture/TENANT/VAULT (HTML) and the same
 * with ".json" appended (the report). No authentication: bind it to
 * loopback or put it behind a proxy (spec/posture.md). c is copied and
 * what it points to borrowed. Returns NULL with a message on stderr.
 */
struct posture_http *posture_http_start(uv_loop_t *loop, const char *host, int port,
    const struct posture_config *c);

/* The port it listens on. */
int posture_http_port(const struct posture_http *p);

/* Stops listening and closes every client; cb(arg) runs once all handles
 * are closed and p is freed. p NULL: cb is called at once. */
void posture_http_stop(struct posture_http *p, void (*cb)(void *arg), void *arg);

#endif
