#ifndef VC_REMOTE_H
#define VC_REMOTE_H
/*
 * The client's side of the Vault Storage Protocol (spec/vsp.md) over
 * libcurl: one vault of one server, a Bearer token, connection reuse, and
 * parallel transfers driven by a libcurl multi handle on a thread of the
 * remote's own.
 *
 * Every call may block on the network. Synchronous calls and the _async
 * queues may be used from several threads at once. Transient failures
 * (connection refused or reset, timeouts, 500, 503, 408) are retried with
 * exponential backoff (VC_REMOTE_RETRIES times, from 200 ms or the
 * options' retry_base_ms, doubling up to 5 s); everything else
 * is reported at once.
 *
 * The done and got callbacks run on the remote's thread: they may queue
 * more async jobs, but a synchronous call or vc_remote_flush made from one
 * fails at once (it would wait for its own thread).
 *
 * Return values: 0 success; VC_R_NOTFOUND (404) or VC_R_EXISTS where a call
 * says so; -1 for every other failure, with vc_remote_error() holding a
 * sentence for a person ("vault at http://...: quota exceeded (507): ...")
 * and vc_remote_status() the HTTP status (0 if no answer came).
 */
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "report.h"
#include "vsp.h"

#define VC_R_NOTFOUND 1
#define VC_R_EXISTS 2
#define VC_R_MISSING 3 /* vc_remote_put_snapshot: 409, references missing */

#define VC_REMOTE_RETRIES 4
/* A GET answered 202 (the object is being recalled from an archive tier,
 * spec/vsp.md 7.9.1) asks again as Retry-After says, for up to this long
 * (the options' recall_wait_ms overrides it), then fails with the server's
 * 202. */
#define VC_REMOTE_RECALL_WAIT_MS ((uint64_t)6 * 3600 * 1000)
#define VC_REMOTE_PARALLEL_DEFAULT 4
/* The largest first backoff the options may set; more is ignored. */
#define VC_REMOTE_RETRY_BASE_MAX 60000

struct vc_remote;

struct vc_remote_opts {
	const char *url;        /* "http://host:port", no trailing path */
	const char *vault;      /* vault name */
	const char *token;      /* "vt1_..." */
	unsigned parallel;      /* transfers at once; 0 = VC_REMOTE_PARALLEL_DEFAULT */
	unsigned queue_max;     /* async jobs queued before _async blocks; 0 = 2 * parallel */
	long connect_timeout_s; /* 0 = 10 */
	long stall_timeout_s;   /* no byte moved for this long fails a transfer; 0 = 60 */
	unsigned retry_base_ms; /* first backoff; 0 (or over VC_REMOTE_RETRY_BASE_MAX) = 200 */
	uint64_t recall_wait_ms; /* how long a GET waits for a recall; 0 = the default */
	uint64_t recall_poll_ms; /* how often it asks then; 0 = as Retry-After says */
	struct vc_report report; /* warnings (a recall being waited for); may be empty */
};

/* Opens a remote (no network traffic yet). Returns NULL with a message in
 * err (errlen bytes) on a bad URL, vault name or token, or out of memory. */
struct vc_remote *vc_remote_open(const struct vc_remote_opts *o, char *err, size_t errlen);

/* Waits for every async job, stops the thread and frees r. NULL ignored. */
void vc_remote_free(struct vc_remote *r);

/* The last error of the calling thread's last failed call (or of the
 * first failed async job, for vc_remote_flush), and its HTTP status. */
const char *vc_remote_error(const struct vc_remote *r);
int vc_remote_status(const struct vc_remote *r);

/* PUT /v1/vaults/{v}: 0 created, VC_R_EXISTS already there, -1. */
int vc_remote_create_vault(struct vc_remote *r);

/* GET /v1/vaults/{v}: 0 (and, when not NULL, the live object count and
 * bytes), VC_R_NOTFOUND, -1. */
int vc_remote_vault_info(struct vc_remote *r, uint64_t *objects, uint64_t *bytes);

/* GET/PUT the config blob. get: 0 with *blob (malloc'ed) or VC_R_NOTFOUND.
 * put: 0 stored (or the same bytes were there), VC_R_EXISTS (a different
 * config is there: 409), -1. */
int vc_remote_get_config(struct vc_remote *r, uint8_t **blob, size_t *len);
int vc_remote_put_config(struct vc_remote *r, const uint8_t *blob, size_t len);

/* POST .../objects/{kind}/exists for n IDs (any n: split into batches the
 * server accepts); present[i] = 1 or 0. */
int vc_remote_exists(struct vc_remote *r, enum vsp_kind kind,
    const uint8_t (*ids)[VSP_ID_LEN], size_t n, uint8_t *present);

/* Lists every live object of a kind, paging through the whole listing;
 * cb gets each ID and size, a non-zero return stops and is returned. */
int vc_remote_list(struct vc_remote *r, enum vsp_kind kind,
    int (*cb)(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg), void *arg);

/* GET an object, whole (len == UINT64_MAX) or the range [off, off+len),
 * into *buf (malloc'ed, *outlen bytes). A whole object is checked against
 * its ID (SHA-256) and a mismatch fails. A range past the end is cut
 * short (*outlen < len); len 0 gives an empty buffer without asking the
 * server. 0, VC_R_NOTFOUND, -1. */
int vc_remote_get(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    uint64_t off, uint64_t len, uint8_t **buf, size_t *outlen);

/* HEAD: 0 with *size, VC_R_NOTFOUND, -1. */
int vc_remote_stat(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    uint64_t *size);

/* DELETE: 0, VC_R_NOTFOUND, -1 (403 without the delete scope, 423 locked).
 * A 404 to a retried DELETE is 0: the lost first attempt did it. */
int vc_remote_delete(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN]);

/*
 * Queues an upload of buf (len bytes, whose SHA-256 is id) and returns at
 * once, or blocks while queue_max jobs wait. The remote owns buf from the
 * call on and frees it with free() when the job ends. done (may be NULL)
 * runs on the remote's thread with rc 0 (stored or already there) or -1
 * and the error sentence. Returns 0 queued, or -1 (an earlier async job
 * failed: the remote refuses new work until vc_remote_flush reports it).
 */
typedef void vc_remote_done_fn(void *arg, int rc, const char *err);
int vc_remote_put_async(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    uint8_t *buf, size_t len, vc_remote_done_fn *done, void *arg);

/* As vc_remote_put_async, but buf stays the caller's: it must stay valid
 * and unchanged until done (required here) runs, which it always does once
 * this returned 0, and then the caller may reuse or free it. On -1 done is
 * not called. Lets a writer recycle its big upload buffers. */
int vc_remote_put_async_borrowed(struct vc_remote *r, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], const uint8_t *buf, size_t len, vc_remote_done_fn *done,
    void *arg);

/*
 * Queues a download of the range [off, off+len) of an object (len ==
 * UINT64_MAX: whole, and checked against the ID). got runs on the remote's
 * thread with rc 0 and the bytes (which it then owns and must free), or rc
 * -1/VC_R_NOTFOUND, buf NULL and the error sentence. Returns 0 or -1 (an
 * earlier async job failed, or len is 0).
 */
typedef void vc_remote_got_fn(void *arg, int rc, uint8_t *buf, size_t len, const char *err);
int vc_remote_get_async(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    uint64_t off, uint64_t len, vc_remote_got_fn *got, void *arg);

/* Waits until every queued job has ended. Returns 0 if all succeeded, else
 * -1 with the first failure (a download's VC_R_NOTFOUND counts) in
 * vc_remote_error(), and clears the failure so new jobs are taken again. */
int vc_remote_flush(struct vc_remote *r);

/*
 * PUT a snapshot envelope (spec/vsp.md 7.8.1). 0 stored (or already
 * there); VC_R_MISSING (409) with *missing (malloc'ed, *nmissing
 * references, in the vault's order) naming the objects the vault lacks; -1.
 */
int vc_remote_put_snapshot(struct vc_remote *r, const uint8_t id[VSP_ID_LEN],
    const uint8_t *buf, size_t len, struct envelope_ref **missing, size_t *nmissing);

/* Bytes moved so far in each direction (for progress), any thread. */
void vc_remote_counters(const struct vc_remote *r, uint64_t *sent, uint64_t *received);

#endif
