/*
 * One transfer of the replication engine (spec/replication.md, "Workers"):
 *
 *   OPEN (threadpool: open the object, read the first chunk)
 *     -> PUT (curl; the read callback drains one chunk while the threadpool
 *        fills the other) -> VERIFY (HEAD, or GET of a config blob)
 *     or DELETE (curl)
 *   -> RECORD (threadpool: done, or a retry with backoff, in LMDB)
 *
 * A transfer has at most one threadpool job at a time (x->busy) and is freed
 * only after it; what curl reports while a chunk is being read waits for
 * the read to end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "log.h"
#include "repl_internal.h"
#include "store.h"

#define CONNECT_TIMEOUT_S 10L
#define LOW_SPEED_TIME_S 120L
#define UPLOAD_BUFFER (1024L * 1024)
#define SNAPSHOT_RETRY_MAX 10 /* seconds: a snapshot waits for its references */

static void start_record(struct xfer *x);
static void fill_next(struct xfer *x);

static const char *
kind_word(const struct meta_repl_item *it)
{
	return it->kind == META_REPL_CONFIG ? "config" : vsp_kind_name((enum vsp_kind)it->kind);
}

/* Sets the outcome: a failure unless ok, retried after delay seconds
 * unless permanent. The message names the operation and the object. */
static void outcome(struct xfer *x, int ok, int permanent, uint64_t delay, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
outcome(struct xfer *x, int ok, int permanent, uint64_t delay, const char *fmt, ...)
{
	char hex[VSP_ID_HEX_LEN + 1];
	const char *what = x->phase == XP_DELETE ? "DELETE" : x->phase == XP_VERIFY ?
	    "verify" : "PUT";
	va_list ap;
	int n;

	x->ok = ok;
	x->permanent = permanent;
	x->delay = delay;
	x->error[0] = '\0';
	if (ok)
		return;
	vsp_id_format(x->it.id, hex);
	n = snprintf(x->error, sizeof(x->error), "%s %s %.12s: ", what, kind_word(&x->it), hex);
	if (n > 0 && (size_t)n < sizeof(x->error)) {
		va_start(ap, fmt);
		vsnprintf(x->error + n, sizeof(x->error) - (size_t)n, fmt, ap);
		va_end(ap);
	}
}

/* ---- reading the source on the threadpool -------------------------- */

static int
fill_chunk(struct xfer *x, int i)
{
	struct chunk *c = &x->chunk[i];
	uint64_t left = x->size - x->read_off;
	size_t want = left < REPL_CHUNK ? (size_t)left : REPL_CHUNK, got = 0;

	if (c->data == NULL && (c->data = malloc(want > 0 ? want : 1)) == NULL) {
		x->read_errno = ENOMEM;
		return -1;
	}
	while (got < want) {
		ssize_t n = backend_read(x->r->backend, x->rd, x->read_off + got, c->data + got,
		    want - got);
		if (n <= 0) {
			x->read_errno = n == 0 ? EIO : errno; /* shorter than recorded */
			return -1;
		}
		got += (size_t)n;
	}
	c->len = want;
	c->pos = 0;
	c->full = 1;
	x->read_off += want;
	return 0;
}

static void
open_work(uv_work_t *w)
{
	struct xfer *x = w->data;
	char key[STORE_KEY_MAX + 1];

	store_copy_key(key, x->it.vault_id, x->it.kind, x->it.id);
	if (backend_open(x->r->backend, key, &x->rd, &x->size) != 0) {
		x->read_errno = errno;
		return;
	}
	if (x->size != x->it.size) {
		x->read_errno = EIO;
		return;
	}
	if (x->it.kind == VSP_KIND_SNAPSHOT) {
		struct meta_snapshot sn;
		x->restic = meta_snapshot_get(x->r->meta, x->it.vault_id, x->it.id, &sn) ==
		    META_NOTFOUND;
	}
	(void)fill_chunk(x, 0);
}

static void
fill_work(uv_work_t *w)
{
	struct xfer *x = w->data;

	(void)fill_chunk(x, x->fill_idx);
}

/* ---- curl handles -------------------------------------------------- */

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, room = sizeof(x->body) - 1 - x->body_len;

	x->got += n;
	if (room > n)
		room = n;
	memcpy(x->body + x->body_len, data, room);
	x->body_len += room;
	x->body[x->body_len] = '\0';
	return n;
}

static size_t
read_cb(char *dst, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	struct repl *r = x->r;
	struct chunk *c = &x->chunk[x->cur];
	size_t want = size * nitems, n;
	int capped = r->set->bandwidth > 0;

	if (x->sent == x->size)
		return 0;
	if (!c->full) {
		x->data_paused = 1; /* the threadpool is still reading it */
		return CURL_READFUNC_PAUSE;
	}
	if (capped && r->bw_tokens == 0) {
		x->bw_paused = 1; /* bw_timer refills and unpauses */
		return CURL_READFUNC_PAUSE;
	}
	if (capped && want > r->bw_tokens)
		want = (size_t)r->bw_tokens;
	n = c->len - c->pos < want ? c->len - c->pos : want;
	memcpy(dst, c->data + c->pos, n);
	c->pos += n;
	x->sent += n;
	r->bytes_sent += n;
	if (capped)
		r->bw_tokens -= n;
	if (c->pos == c->len) {
		c->full = 0;
		x->cur ^= 1;
		fill_next(x);
	}
	return n;
}

static void
easy_drop(struct xfer *x)
{
	if (x->easy != NULL) {
		curl_multi_remove_handle(x->r->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
}

/* Builds the target URL of the item (object or config), or for S3 the key
 * below the target's prefix: "<tenant>/<vault>/<kind>/<id>" or
 * "<tenant>/<vault>/config". */
static int
build_url(struct xfer *x)
{
	char hex[VSP_ID_HEX_LEN + 1];
	const char *vault = x->t->vault[0] != '\0' ? x->t->vault : x->src_vault;
	int n;

	vsp_id_format(x->it.id, hex);
	if (x->t->type == REPL_S3)
		return store_replica_key(x->s3key, sizeof(x->s3key), x->src_tenant, x->src_vault,
		    x->it.kind, x->it.id);
	if (x->it.kind == META_REPL_CONFIG)
		n = snprintf(x->url, sizeof(x->url), "%s/v1/vaults/%s/config", x->t->base, vault);
	else
		n = snprintf(x->url, sizeof(x->url), "%s/v1/vaults/%s/objects/%s/%s", x->t->base,
		    vault, kind_word(&x->it), hex);
	if (n <= 0 || (size_t)n >= sizeof(x->url))
		return -1;
	n = snprintf(x->restic_url, sizeof(x->restic_url), "%s/restic/%s/snapshots/%s",
	    x->t->base, vault, hex);
	return n > 0 && (size_t)n < sizeof(x->restic_url) ? 0 : -1;
}

/* A vaultd target: the URL, the bearer token and the method. */
static int
vault_setup(struct xfer *x, CURL *e, const char *method)
{
	char auth[REPL_TOKEN_MAX * 2 + 64], user[REPL_TOKEN_MAX + 16];
	int restic_post = x->restic && x->phase == XP_PUT;
	struct curl_slist *h;

	if (restic_post) {
		/* restic's endpoint takes the token as a Basic password. */
		int n = snprintf(user, sizeof(user), "replicator:%s", x->t->token);
		memcpy(auth, "Authorization: Basic ", 21);
		sodium_bin2base64(auth + 21, sizeof(auth) - 21, (const unsigned char *)user,
		    (size_t)n, sodium_base64_VARIANT_ORIGINAL);
		sodium_memzero(user, sizeof(user));
	} else {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", x->t->token);
	}
	h = curl_slist_append(NULL, auth);
	sodium_memzero(auth, sizeof(auth));
	if (h == NULL)
		return -1;
	x->hdrs = h;
	if (x->phase == XP_PUT && (h = curl_slist_append(x->hdrs,
	    "Content-Type: application/octet-stream")) != NULL)
		x->hdrs = h;
	curl_easy_setopt(e, CURLOPT_URL, restic_post ? x->restic_url : x->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	if (restic_post) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->size);
	} else if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->size);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "DELETE") == 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	return 0;
}

/* An S3 target: s3_setup signs the request; for a PUT the object ID is the
 * payload's SHA-256, so nothing is read twice. */
static int
s3_begin(struct xfer *x, CURL *e, const char *method)
{
	char hex[VSP_ID_HEX_LEN + 1], err[256];

	vsp_id_format(x->it.id, hex);
	if (s3_setup(e, &x->t->s3, method, x->s3key, strcmp(method, "PUT") == 0 ? hex : NULL,
	    x->size, &x->hdrs, err, sizeof(err)) != 0) {
		snprintf(x->errbuf, sizeof(x->errbuf), "%s", err);
		return -1;
	}
	return 0;
}

/* A new easy handle for the item with the target's authentication and the
 * common options; added to the multi handle. */
static int
easy_begin(struct xfer *x, const char *method)
{
	CURL *e;
	int rc;

	x->body_len = 0;
	x->body[0] = '\0';
	x->got = 0;
	x->errbuf[0] = '\0';
	if ((e = curl_easy_init()) == NULL)
		return -1;
	x->easy = e;
	rc = x->t->type == REPL_S3 ? s3_begin(x, e, method) : vault_setup(x, e, method);
	if (rc != 0)
		return -1;
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
		curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER);
	}
	if (curl_multi_add_handle(x->r->multi, e) != CURLM_OK)
		return -1;
	return 0;
}

/* The copy was accepted: ask the target what it holds. */
static void
begin_verify(struct xfer *x)
{
	easy_drop(x);
	x->phase = XP_VERIFY;
	/* A vaultd has no HEAD of the config; S3 has HEAD of every key. */
	if (easy_begin(x, x->it.kind == META_REPL_CONFIG && x->t->type == REPL_VAULT ? "GET" :
	    "HEAD") != 0) {
		outcome(x, 0, 0, repl__backoff(x->it.attempts, REPL_BACKOFF_MAX),
		    "cannot set up the request: %s", x->errbuf[0] ? x->errbuf : "out of memory");
		easy_drop(x);
		start_record(x);
	}
}

static void
open_done(uv_work_t *w, int status)
{
	struct xfer *x = w->data;

	(void)status;
	x->busy = 0;
	if (x->read_errno != 0) {
		outcome(x, 0, 0, repl__backoff(x->it.attempts, REPL_BACKOFF_MAX),
		    "source: %s", x->read_errno == EIO && x->size != x->it.size ?
		    "size differs from the record" : strerror(x->read_errno));
		start_record(x);
		return;
	}
	if (x->r->stopping) {
		start_record(x);
		return;
	}
	x->fill_idx = 1;
	x->phase = XP_PUT;
	if (easy_begin(x, "PUT") != 0) {
		outcome(x, 0, 0, repl__backoff(x->it.attempts, REPL_BACKOFF_MAX),
		    "cannot set up the request: %s", x->errbuf[0] ? x->errbuf : "out of memory");
		start_record(x);
		return;
	}
	fill_next(x);
}

static void
fill_done(uv_work_t *w, int status)
{
	struct xfer *x = w->data;

	(void)status;
	x->busy = 0;
	if (x->outcome_ready || x->r->stopping) {
		start_record(x); /* curl ended while we read */
		return;
	}
	if (x->read_errno != 0) {
		easy_drop(x);
		outcome(x, 0, 0, repl__backoff(x->it.attempts, REPL_BACKOFF_MAX), "source: %s",
		    strerror(x->read_errno));
		start_record(x);
		return;
	}
	x->fill_idx ^= 1;
	if (x->data_paused) {
		x->data_paused = 0;
		curl_easy_pause(x->easy, CURLPAUSE_CONT);
	}
	fill_next(x);
}

static void
fill_next(struct xfer *x)
{
	if (x->busy || x->outcome_ready || x->read_off == x->size ||
	    x->chunk[x->fill_idx].full)
		return;
	x->busy = 1;
	x->work.data = x;
	if (uv_queue_work(x->r->loop, &x->work, fill_work, fill_done) != 0) {
		x->busy = 0;
		x->read_errno = ENOMEM;
	}
}

/* ---- outcomes ------------------------------------------------------ */

/* The message of a vaultd error body {"code", "message"}, or the body. */
static void
body_message(const struct xfer *x, char *out, size_t len)
{
	json_t *j = json_loadb(x->body, x->body_len, 0, NULL);
	const char *code = json_string_value(json_object_get(j, "code"));
	const char *msg = json_string_value(json_object_get(j, "message"));

	if (code != NULL && msg != NULL)
		snprintf(out, len, "%s: %s", code, msg);
	else
		snprintf(out, len, "%.*s", (int)strcspn(x->body, "\r\n"), x->body);
	json_decref(j);
}

/* Sorts an HTTP failure: what is worth a retry, and when. */
static void
http_failure(struct xfer *x, long status)
{
	uint64_t backoff = repl__backoff(x->it.attempts, REPL_BACKOFF_MAX);
	char msg[META_REPL_ERR_MAX];

	if (x->t->type == REPL_S3)
		s3_error_message(status, x->phase == XP_DELETE ? "DELETE" : x->phase == XP_VERIFY ?
		    "HEAD" : "PUT", &x->t->s3, x->s3key, x->body, x->body_len, msg, sizeof(msg));
	else
		body_message(x, msg, sizeof(msg));
	if (x->phase == XP_VERIFY) /* the copy was accepted: look again later */
		outcome(x, 0, 0, backoff, "HTTP %ld %s", status, msg);
	else if (status == 507 || status == 423)
		outcome(x, 0, 0, REPL_BACKOFF_SLOW, "HTTP %ld %s", status, msg);
	else if (status == 409 && x->phase == XP_PUT && x->it.kind == VSP_KIND_SNAPSHOT)
		outcome(x, 0, 0, repl__backoff(x->it.attempts, SNAPSHOT_RETRY_MAX),
		    "HTTP 409 (references not there yet) %s", msg);
	else if (status == 408 || status == 429 || (status >= 500 && status != 501))
		outcome(x, 0, 0, backoff, "HTTP %ld %s", status, msg);
	else
		outcome(x, 0, 1, 0, "HTTP %ld %s", status, msg);
}

void
repl__xfer_curl_done(struct xfer *x, CURLcode result)
{
	long status = 0;
	curl_off_t len = -1;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (result != CURLE_OK) {
		outcome(x, 0, 0, repl__backoff(x->it.attempts, REPL_BACKOFF_MAX), "%s",
		    x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(result));
	} else if (x->phase == XP_PUT && (status == 200 || status == 201)) {
		begin_verify(x);
		return;
	} else if (x->phase == XP_VERIFY && status == 200) {
		if (x->it.kind == META_REPL_CONFIG && x->t->type == REPL_VAULT)
			len = (curl_off_t)x->got;
		else
			curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
		if (len >= 0 && (uint64_t)len == x->size)
			outcome(x, 1, 0, 0, "ok");
		else
			outcome(x, 0, 0, repl__backoff(x->it.attempts, REPL_BACKOFF_MAX),
			    "the target holds %" PRId64 " bytes, not %" PRIu64, (int64_t)len,
			    x->size);
	} else if (x->phase == XP_DELETE && (status == 200 || status == 204 || status == 404)) {
		outcome(x, 1, 0, 0, "ok"); /* 404: gone already, which is the aim */
	} else {
		http_failure(x, status);
	}
	easy_drop(x);
	x->outcome_ready = 1;
	if (!x->busy)
		start_record(x);
}

/* ---- recording ----------------------------------------------------- */

static void
record_work(uv_work_t *w)
{
	struct xfer *x = w->data;
	uint64_t now = (uint64_t)time(NULL);

	backend_close(x->r->backend, x->rd);
	x->rd = NULL;
	if (x->ok)
		(void)meta_repl_complete(x->r->meta, &x->it, now);
	else
		(void)meta_repl_retry(x->r->meta, &x->it, now, now + x->delay, x->permanent,
		    x->error);
}

static void
xfer_free(struct xfer *x)
{
	struct repl *r = x->r;

	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		r->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	r->nxfers--;
	free(x->chunk[0].data);
	free(x->chunk[1].data);
	repl__settings_drop(x->set);
	free(x);
	repl__xfer_gone(r);
}

static void
record_done(uv_work_t *w, int status)
{
	struct xfer *x = w->data;
	struct repl *r = x->r;

	(void)status;
	x->busy = 0;
	if (x->ok) {
		if (x->it.op == META_REPL_PUT)
			r->copies++;
		else
			r->deletes++;
	} else if (strcmp(x->error, r->last_logged) != 0) {
		/* One line per new error, not one per object of an outage. */
		log_msg(VLOG_ERROR, "replicate to %s: %s", x->it.target, x->error);
		snprintf(r->last_logged, sizeof(r->last_logged), "%s", x->error);
	}
	xfer_free(x);
}

/* Records the outcome (nothing at stop: the record stays as it was). */
static void
start_record(struct xfer *x)
{
	easy_drop(x);
	x->outcome_ready = 1;
	if (x->busy)
		return;
	if (x->r->stopping) {
		backend_close(x->r->backend, x->rd); /* a close only: no wait */
		xfer_free(x);
		return;
	}
	x->phase = XP_RECORD;
	x->busy = 1;
	x->work.data = x;
	if (uv_queue_work(x->r->loop, &x->work, record_work, record_done) != 0) {
		x->busy = 0;
		backend_close(x->r->backend, x->rd);
		xfer_free(x);
	}
}

/* ---- starting and stopping ----------------------------------------- */

int
repl__xfer_start(struct repl *r, const struct meta_repl_item *it, const char *src_tenant,
    const char *src_vault)
{
	const struct repl_target *t = repl__target(r->set, it->target);
	struct xfer *x;

	if (t == NULL || t->error[0] != '\0')
		return -1;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->r = r;
	x->set = r->set;
	repl__settings_hold(x->set);
	x->t = t;
	x->it = *it;
	snprintf(x->src_vault, sizeof(x->src_vault), "%s", src_vault);
	snprintf(x->src_tenant, sizeof(x->src_tenant), "%s", src_tenant);
	x->next = r->xfers;
	if (r->xfers != NULL)
		r->xfers->prev = x;
	r->xfers = x;
	r->nxfers++;
	if (build_url(x) != 0) {
		outcome(x, 0, 1, 0, "the target URL is too long");
		start_record(x);
		return 0;
	}
	if (it->op == META_REPL_DELETE) {
		x->phase = XP_DELETE;
		if (easy_begin(x, "DELETE") != 0) {
			outcome(x, 0, 0, repl__backoff(it->attempts, REPL_BACKOFF_MAX),
			    "cannot set up the request: %s", x->errbuf[0] ? x->errbuf :
			    "out of memory");
			start_record(x);
		}
		return 0;
	}
	x->phase = XP_OPEN;
	x->busy = 1;
	x->work.data = x;
	if (uv_queue_work(r->loop, &x->work, open_work, open_done) != 0) {
		x->busy = 0;
		outcome(x, 0, 0, REPL_BACKOFF_MIN, "cannot queue work");
		start_record(x);
	}
	return 0;
}

void
repl__xfer_unpause(struct xfer *x)
{
	if (x->bw_paused && x->easy != NULL) {
		x->bw_paused = 0;
		curl_easy_pause(x->easy, CURLPAUSE_CONT);
	}
}

void
repl__xfer_abort(struct xfer *x)
{
	easy_drop(x);
	x->outcome_ready = 1;
	if (!x->busy) {
		backend_close(x->r->backend, x->rd);
		xfer_free(x);
	}
}

uint64_t
repl__backoff(uint32_t attempts, uint64_t cap)
{
	uint64_t d = REPL_BACKOFF_MIN;

	for (uint32_t i = 0; i < attempts && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* Jitter spreads the retries of one outage over [d/2, d]. */
	return d / 2 + (uint64_t)rand() % (d - d / 2 + 1);
}
