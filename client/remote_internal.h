#ifndef VC_REMOTE_INTERNAL_H
#define VC_REMOTE_INTERNAL_H
/*
 * Internals of the VSP transport (client/remote.h), shared by remote.c (the
 * calls and what their answers mean) and remote_io.c (the thread that owns
 * the libcurl multi handle, the job queues and the retries).
 *
 * Every request, synchronous or not, is a job run by the remote's thread:
 * one multi handle then holds every connection, so keep-alive works across
 * all calls and no libcurl handle is ever touched by two threads. A
 * synchronous call queues its job (kept on the caller's stack) and sleeps
 * until the thread marks it done; an async job lives on the heap and ends
 * in its complete function on the thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>

#include "remote.h"

#define VC_URL_MAX 256             /* the base URL, "http://host:port" */
#define VC_TOKEN_MAX 200           /* the server reads Authorization up to 256 bytes */
#define VC_AUTH_PREFIX "Authorization: Bearer "
#define VC_AUTH_MAX (sizeof(VC_AUTH_PREFIX) + VC_TOKEN_MAX)
#define VC_PATH_MAX 256            /* the longest path plus a listing's query fits */
#define VC_WHAT_MAX 128            /* "PUT snapshot 0123456789ab..." and such */
#define VC_WHAT_ID_HEX 12          /* hex digits of an ID shown in messages */
#define VC_ERR_MAX 1024            /* one error sentence */
#define VC_SERVER_MSG_MAX 400      /* the server's message, as quoted in ours */

/* Bodies above this size are sent with Expect: 100-continue, so that the
 * server can refuse them (401, 403, 413, 507, or 200 "already there")
 * before they travel; below it the round trip costs more than the bytes. */
#define VC_EXPECT_MIN ((size_t)1 << 20)

#define VC_RETRY_BASE_MS 200       /* first backoff; opts retry_base_ms overrides */
#define VC_RETRY_CAP_MS 5000       /* no backoff is longer */
#define VC_PARALLEL_MAX 64
#define VC_CONNECT_TIMEOUT_S 10
#define VC_STALL_TIMEOUT_S 60
#define VC_CURL_BUFFER (512 * 1024) /* receive and send buffers of a transfer */
#define VC_PREALLOC_MAX ((size_t)256 << 20) /* trust a Content-Length this far */
#define VC_JSON_MAX ((size_t)256 << 20) /* largest JSON answer we take (a 409 can list 1M IDs) */
#define VC_POLL_MS 1000            /* the thread looks at its queues at least this often */

/* Defaults of the limits the server announces (spec/vsp.md 12). */
#define VC_BATCH_IDS_DEFAULT 10000
#define VC_LIST_LIMIT_DEFAULT 1000
#define VC_LIST_LIMIT_MAX 10000    /* a page of ~1 MB of JSON; more saves little */
/* One ID in an existence query is 67 bytes ("...",); the body stays under
 * the server's 1 MiB at this many, whatever capabilities say. */
#define VC_BATCH_IDS_MAX 15000

enum vc_method { VC_GET, VC_HEAD, VC_PUT, VC_POST, VC_DELETE };

struct vc_buf {
	uint8_t *p;
	size_t len, cap;
};

struct vc_job {
	struct vc_job *next;
	struct vc_remote *r;
	int sync;                     /* a caller sleeps on it */
	enum vc_method method;
	char path[VC_PATH_MAX];       /* "/v1/vaults/laptop/objects/pack/<id>" */
	char what[VC_WHAT_MAX];       /* "PUT pack 0123456789ab...", for messages */
	const uint8_t *body;          /* PUT and POST */
	size_t body_len, body_off;
	uint8_t *owned;               /* freed with the job (put_async) */
	const char *ctype;            /* Content-Type of the body */
	int ranged;                   /* send Range: bytes=first-last */
	uint64_t first, last;         /* last UINT64_MAX: "bytes=first-" */
	size_t resp_max;              /* a longer answer body fails the job */

	/* The outcome of the last attempt. */
	struct vc_buf resp;
	long status;                  /* 0: no HTTP answer */
	CURLcode cc;
	long os_errno;
	int too_big;                  /* the answer exceeded resp_max */
	int oom;
	char curl_err[CURL_ERROR_SIZE];
	int have_length, have_range;
	uint64_t length;              /* Content-Length of the final answer */
	uint64_t cr_first, cr_last, cr_size; /* its Content-Range */
	uint64_t retry_after_s;       /* its Retry-After (202 recalls), 0 if none */
	unsigned attempts;
	uint64_t recall_waited_ms;    /* waited so far for an archive recall */

	/* Thread-only state. */
	uint64_t due_ms;              /* a delayed retry starts then */
	CURL *easy;
	struct curl_slist *hdrs;
	int done;                     /* sync: set under the mutex when final */

	/* Async jobs: the final outcome goes to complete(), which frees the job. */
	void (*complete)(struct vc_job *);
	enum vsp_kind kind;
	uint8_t id[VSP_ID_LEN];
	int whole;                    /* a whole GET, checked against id */
	vc_remote_done_fn *done_fn;
	vc_remote_got_fn *got_fn;
	void *arg;
};

struct vc_remote {
	char url[VC_URL_MAX];
	char vault[VSP_NAME_MAX + 1];
	char auth[VC_AUTH_MAX];
	unsigned parallel, queue_max;
	long connect_timeout_s, stall_timeout_s;
	unsigned retry_base_ms;
	uint64_t recall_wait_max_ms;  /* how long a GET waits for a recall (202) */
	uint64_t recall_poll_ms;      /* 0: as Retry-After says */
	struct vc_report rp;          /* where warnings go */

	pthread_mutex_t mu;
	pthread_cond_t cv_sync;       /* a sync job is done */
	pthread_cond_t cv_space;      /* the async queue shrank */
	pthread_cond_t cv_idle;       /* no async job pending */
	pthread_t thread;
	int thread_started;
	CURLM *multi;

	/* Under mu. */
	struct vc_job *sync_head, *sync_tail;
	struct vc_job *async_head, *async_tail;
	size_t nqueued;               /* async jobs not started */
	size_t npending;              /* async jobs not complete */
	int stop;
	int failed;                   /* an async job failed since the last flush */
	char first_err[VC_ERR_MAX];
	int first_status;

	/* The thread's own. */
	struct vc_job *delayed;       /* waiting for a retry */
	size_t nasync_running;        /* started or delayed async jobs */
	size_t nsync_running;
	CURL **idle;                  /* easy handles to reuse */
	size_t nidle, idle_cap;
	uint64_t rng;

	/* Limits from GET /v1/capabilities, read once. */
	pthread_mutex_t caps_mu;
	int caps_read;
	size_t max_batch_ids, max_list_limit;

	_Atomic uint64_t sent, received;
};

/* Starts r's thread and multi handle. 0, or -1 with a message in err. */
int vc_remote__io_start(struct vc_remote *r, char *err, size_t errlen);

/* Waits for every async job, stops the thread and frees the multi handle. */
void vc_remote__io_stop(struct vc_remote *r);

/* Runs a sync job to its final outcome (retries included). Returns 0, or -1
 * if it could not be run (called from the remote's own thread, where it
 * would wait for itself), with the error set. */
int vc_remote__run(struct vc_remote *r, struct vc_job *j);

/* Queues an async job, blocking while the queue is full. 0, or -1 when an
 * earlier async job failed (the job is not taken; the caller frees it). */
int vc_remote__submit(struct vc_remote *r, struct vc_job *j);

/* Ends an async job: records a failure for vc_remote_flush. */
void vc_remote__async_failed(struct vc_remote *r, const char *err, int status);

/* Writes the sentence describing j's failed outcome into out. */
void vc_remote__describe(const struct vc_job *j, char *out, size_t size);

/* Sets the calling thread's error (printf-style) and status. */
void vc_remote__set_error(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Frees j's answer buffer and header list. */
void vc_remote__job_clear(struct vc_job *j);

#endif
