#ifndef REPL_INTERNAL_H
#define REPL_INTERNAL_H
/*
 * Shared by the files of the replication engine: repl.c (life cycle and the
 * scheduler), repl_xfer.c (one transfer), repl_curl.c (libcurl's multi
 * interface on libuv) and repl_settings.c (targets from vaultd.conf).
 */
#include <curl/curl.h>

#include "conf.h"
#include "meta_repl.h"
#include "repl.h"
#include "s3.h"

enum repl_type { REPL_VAULT, REPL_S3 };

struct repl_target {
	char name[VSP_NAME_MAX + 1];
	enum repl_type type;
	char base[CONF_URL_MAX];         /* url without a final '/' */
	char vault[VSP_NAME_MAX + 1];    /* "" = the source vault's name */
	char token[REPL_TOKEN_MAX];
	struct s3_conf s3;               /* REPL_S3: bucket, keys */
	char error[META_REPL_ERR_MAX + 1]; /* set: the target cannot be used */
};

/* Immutable once built; shared by the loop and threadpool jobs, freed when
 * the last holder lets go (refs is touched on the loop thread only). */
struct repl_settings {
	struct repl_target *targets;
	size_t ntargets;
	unsigned workers;
	uint64_t bandwidth;  /* bytes per second, 0 = no cap */
	unsigned refs;
};

/* The target named name in s, or NULL. */
const struct repl_target *repl__target(const struct repl_settings *s, const char *name);

enum xfer_phase { XP_OPEN, XP_PUT, XP_VERIFY, XP_DELETE, XP_RECORD };

/* One read-ahead buffer of a PUT. */
struct chunk {
	uint8_t *data;
	size_t len, pos;
	int full;
};

/* One transfer: a queue record being worked on. */
struct xfer {
	struct repl *r;
	struct xfer *prev, *next;
	struct repl_settings *set;       /* held for the transfer's life */
	const struct repl_target *t;     /* in set */
	struct meta_repl_item it;
	char src_tenant[VSP_NAME_MAX + 1];
	char src_vault[VSP_NAME_MAX + 1];
	char url[CONF_URL_MAX + 256];
	/* A snapshot stored through the restic endpoint has no envelope: a
	 * vaultd target takes it only through its restic endpoint too. */
	int restic;
	char restic_url[CONF_URL_MAX + 256];
	char s3key[2 * VSP_NAME_MAX + 16 + VSP_ID_HEX_LEN]; /* REPL_S3: key without prefix */
	enum xfer_phase phase;
	CURL *easy;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	/* The source object. */
	struct backend_reader *rd;
	uint64_t size, read_off, sent;
	struct chunk chunk[2];
	int cur, fill_idx;
	int data_paused, bw_paused, read_errno;
	/* One threadpool job at a time: open, fill or record. */
	uv_work_t work;
	int busy;
	/* The outcome, once known. */
	int outcome_ready, ok, permanent;
	uint64_t delay;
	char error[META_REPL_ERR_MAX + 1];
	char body[1024];
	size_t body_len;
	uint64_t got;                    /* bytes of a verifying GET */
};

struct repl {
	uv_loop_t *loop;
	struct meta *meta;
	struct backend *backend;
	struct repl_settings *set;
	CURLM *multi;
	uv_timer_t curl_timer, tick, bw_timer;
	int handles;                     /* uv handles open */
	struct xfer *xfers;
	unsigned nxfers;
	/* The scan of the queue (one at a time). */
	uv_work_t scan_work;
	int scan_busy, rescan;
	struct repl_settings *scan_set;
	struct meta_repl_item *scan_items, *scan_skip;
	char (*scan_vaults)[VSP_NAME_MAX + 1];
	char (*scan_tenants)[VSP_NAME_MAX + 1];
	size_t scan_max, scan_n, scan_nskip;
	/* Applying new settings to LMDB (release failed, note errors). */
	uv_work_t apply_work;
	int apply_busy, apply_again;
	struct repl_settings *apply_set;
	/* Bandwidth: a token bucket refilled by bw_timer. */
	uint64_t bw_tokens;
	uint64_t bytes_sent, copies, deletes;
	char last_logged[META_REPL_ERR_MAX + 1]; /* the last error logged */
	int stopping;
	void (*stop_cb)(void *arg);
	void *stop_arg;
};

/* Settings references (loop thread). */
void repl__settings_hold(struct repl_settings *s);
void repl__settings_drop(struct repl_settings *s);

/* libcurl on the loop (repl_curl.c). init sets up r->multi and the curl
 * timer; run_done drains finished transfers into repl__xfer_curl_done. */
int repl__curl_init(struct repl *r);

/* A transfer (repl_xfer.c). start begins work on it (taking the item);
 * curl_done is called when its easy handle finished with result; unpause
 * resumes a transfer held back by the bandwidth cap. */
int repl__xfer_start(struct repl *r, const struct meta_repl_item *it, const char *src_tenant,
    const char *src_vault);
void repl__xfer_curl_done(struct xfer *x, CURLcode result);
void repl__xfer_unpause(struct xfer *x);
/* Drops a transfer at stop: its easy handle goes; it is freed once no
 * threadpool job of it runs. */
void repl__xfer_abort(struct xfer *x);

/* Called by a transfer when it is finished and freed (repl.c). */
void repl__xfer_gone(struct repl *r);

/* The next retry delay in seconds after attempts failed tries: doubling
 * from REPL_BACKOFF_MIN up to cap, with jitter in [d/2, d]. */
uint64_t repl__backoff(uint32_t attempts, uint64_t cap);

#endif
