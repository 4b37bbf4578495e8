/*
 * The remote's thread: one libcurl multi handle driven by curl_multi_poll,
 * the queues of sync and async jobs, at most `parallel` async transfers at
 * once, and retries with exponential backoff (remote_internal.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "remote_internal.h"

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* xorshift64*: jitter needs no more than this. Thread-only. */
static uint64_t
rng_next(struct vc_remote *r)
{
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * UINT64_C(2685821657736338717);
}

/*
 * The wait before the retry that follows attempt n (1-based): base, twice
 * that, ... up to VC_RETRY_CAP_MS, less up to a quarter at random, so that
 * jobs which failed together do not all come back together while the total
 * wait before giving up stays predictable.
 */
static uint64_t
backoff_ms(struct vc_remote *r, unsigned n)
{
	uint64_t b = r->retry_base_ms;

	for (unsigned i = 1; i < n && b < VC_RETRY_CAP_MS; i++)
		b *= 2;
	if (b > VC_RETRY_CAP_MS)
		b = VC_RETRY_CAP_MS;
	return b - rng_next(r) % (b / 4 + 1);
}

/* Transient: the server may well answer next time (spec/vsp.md 6.2: any
 * request failing with 5xx, 408 or a closed connection may be retried).
 * 507 is not: space does not come back by itself within seconds. */
static int
retryable(const struct vc_job *j)
{
	if (j->oom || j->too_big)
		return 0;
	if (j->status == 0) {
		switch (j->cc) {
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
			return 1;
		default:
			return 0;
		}
	}
	return j->status == 500 || j->status == 503 || j->status == 408;
}

/*
 * 202 to a GET: the object is in an archive tier and the server is
 * recalling it (spec/vsp.md 7.9.1). The job waits as Retry-After says
 * (1 to 60 s a time) and asks again while the waits add up to at most
 * recall_wait_max_ms, and
 * says once, through the report callback, what it is waiting for. Returns 1 if the job was
 * rescheduled (due_ms set, attempts not counted), else 0.
 */
static int
recalling(struct vc_remote *r, struct vc_job *j)
{
	uint64_t wait;

	if (j->method != VC_GET || j->status != 202)
		return 0;
	wait = r->recall_poll_ms != 0 ? r->recall_poll_ms :
	    (j->retry_after_s == 0 ? 1 : j->retry_after_s > 60 ? 60 : j->retry_after_s) * 1000;
	if (j->recall_waited_ms + wait > r->recall_wait_max_ms)
		return 0;
	if (j->recall_waited_ms == 0)
		vc_report(&r->rp, VC_LOG_WARN, "vault: %s: the object is in the archive tier and "
		    "being recalled; waiting (up to %llu s)", j->what,
		    (unsigned long long)(r->recall_wait_max_ms / 1000));
	j->recall_waited_ms += wait;
	j->attempts = 0;
	j->due_ms = now_ms() + wait;
	return 1;
}

/* ---- libcurl callbacks ---- */

static int
buf_reserve(struct vc_buf *b, size_t more)
{
	size_t cap;
	uint8_t *p;

	if (b->cap - b->len >= more)
		return 0;
	if (SIZE_MAX - b->len < more)
		return -1;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < more)
		cap = cap > SIZE_MAX / 2 ? b->len + more : cap * 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct vc_job *j = arg;
	size_t len = size * n;

	if (j->resp_max - j->resp.len < len) {
		j->too_big = 1;
		return 0;
	}
	/* Trust the announced length for one allocation, up to a bound. */
	if (j->resp.cap == 0 && j->have_length && j->length <= j->resp_max) {
		size_t want = j->length < VC_PREALLOC_MAX ? (size_t)j->length : VC_PREALLOC_MAX;
		if (want > len && buf_reserve(&j->resp, want) != 0) {
			j->oom = 1;
			return 0;
		}
	}
	if (buf_reserve(&j->resp, len) != 0) {
		j->oom = 1;
		return 0;
	}
	memcpy(j->resp.p + j->resp.len, p, len);
	j->resp.len += len;
	atomic_fetch_add_explicit(&j->r->received, len, memory_order_relaxed);
	return len;
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct vc_job *j = arg;
	size_t want = size * n, left = j->body_len - j->body_off;

	if (want > left)
		want = left;
	if (want > 0)
		memcpy(p, j->body + j->body_off, want);
	j->body_off += want;
	atomic_fetch_add_explicit(&j->r->sent, want, memory_order_relaxed);
	return want;
}

/* libcurl rewinds the body when it resends a request on a new connection
 * (a reused one that the server had closed). */
static int
on_seek(void *arg, curl_off_t off, int origin)
{
	struct vc_job *j = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > j->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	j->body_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

/* Reads a decimal number from *s (before end) without overflow. */
static int
parse_u64(const char **s, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = *s;

	if (p == end || *p < '0' || *p > '9')
		return -1;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*out = v;
	return 0;
}

/* "bytes FIRST-LAST/SIZE" */
static void
parse_content_range(struct vc_job *j, const char *v, const char *end)
{
	if (end - v < 6 || memcmp(v, "bytes ", 6) != 0)
		return;
	v += 6;
	if (parse_u64(&v, end, &j->cr_first) != 0 || v == end || *v++ != '-' ||
	    parse_u64(&v, end, &j->cr_last) != 0 || v == end || *v++ != '/' ||
	    parse_u64(&v, end, &j->cr_size) != 0)
		return;
	j->have_range = 1;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct vc_job *j = arg;
	size_t len = size * n;
	const char *end = p + len, *v;

	while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	/* A status line starts a new block (after 100 Continue, or a
	 * request that libcurl resent): only the final one counts. */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		j->have_length = j->have_range = 0;
		j->retry_after_s = 0;
		j->resp.len = 0;
		return len;
	}
	if ((v = memchr(p, ':', (size_t)(end - p))) == NULL)
		return len;
	for (const char *q = v + 1; q < end && *q == ' '; q++)
		v = q;
	v++;
	if (v - p > 15 && strncasecmp(p, "content-length:", 15) == 0) {
		const char *s = v;
		if (parse_u64(&s, end, &j->length) == 0 && s == end)
			j->have_length = 1;
	} else if (v - p > 14 && strncasecmp(p, "content-range:", 14) == 0) {
		parse_content_range(j, v, end);
	} else if (v - p > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		const char *s = v;
		uint64_t secs;

		if (parse_u64(&s, end, &secs) == 0 && s == end)
			j->retry_after_s = secs;
	}
	return len;
}

/* ---- starting and ending attempts ---- */

static CURL *
easy_take(struct vc_remote *r)
{
	CURL *h;

	if (r->nidle > 0) {
		h = r->idle[--r->nidle];
		curl_easy_reset(h);
		return h;
	}
	return curl_easy_init();
}

static void
easy_give(struct vc_remote *r, CURL *h)
{
	if (r->nidle == r->idle_cap) {
		size_t cap = r->idle_cap ? 2 * r->idle_cap : 8;
		CURL **p = realloc(r->idle, cap * sizeof(*p));
		if (p == NULL) {
			curl_easy_cleanup(h);
			return;
		}
		r->idle = p;
		r->idle_cap = cap;
	}
	r->idle[r->nidle++] = h;
}

static struct curl_slist *
headers_for(const struct vc_remote *r, const struct vc_job *j)
{
	struct curl_slist *l = NULL, *t;
	char line[96];

#define ADD(s) do { if ((t = curl_slist_append(l, (s))) == NULL) goto fail; l = t; } while (0)
	ADD(r->auth);
	if (j->method == VC_PUT || j->method == VC_POST) {
		snprintf(line, sizeof(line), "Content-Type: %s", j->ctype);
		ADD(line);
		/* An empty value removes libcurl's own Expect. */
		ADD(j->body_len > VC_EXPECT_MIN ? "Expect: 100-continue" : "Expect:");
	}
	if (j->ranged) {
		if (j->last == UINT64_MAX)
			snprintf(line, sizeof(line), "Range: bytes=%llu-", (unsigned long long)j->first);
		else
			snprintf(line, sizeof(line), "Range: bytes=%llu-%llu",
			    (unsigned long long)j->first, (unsigned long long)j->last);
		ADD(line);
	}
#undef ADD
	return l;
fail:
	curl_slist_free_all(l);
	return NULL;
}

static int
job_setup(struct vc_remote *r, struct vc_job *j, CURL *h)
{
	char url[VC_URL_MAX + VC_PATH_MAX];

	if ((size_t)snprintf(url, sizeof(url), "%s%s", r->url, j->path) >= sizeof(url))
		return -1;
	if ((j->hdrs = headers_for(r, j)) == NULL)
		return -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)j);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, r->connect_timeout_s);
	/* A stall, not a slow transfer, fails it (spec/vsp.md 12). */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, r->stall_timeout_s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->curl_err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)VC_CURL_BUFFER);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->hdrs);
	switch (j->method) {
	case VC_GET:
		break;
	case VC_HEAD:
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		break;
	case VC_DELETE:
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
		break;
	case VC_PUT:
	case VC_POST:
		if (j->method == VC_PUT) {
			/* Content-Length from INFILESIZE: never chunked (411). */
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->body_len);
		} else {
			curl_easy_setopt(h, CURLOPT_POST, 1L);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body_len);
		}
		curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, (long)VC_CURL_BUFFER);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, j);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, j);
		break;
	}
	return 0;
}

static void job_final(struct vc_remote *r, struct vc_job *j);

static void
job_start(struct vc_remote *r, struct vc_job *j)
{
	CURL *h;

	j->resp.len = 0;
	j->status = 0;
	j->cc = CURLE_OK;
	j->os_errno = 0;
	j->too_big = j->oom = 0;
	j->curl_err[0] = '\0';
	j->have_length = j->have_range = 0;
	j->body_off = 0;
	j->attempts++;
	if ((h = easy_take(r)) == NULL)
		goto fail;
	if (job_setup(r, j, h) != 0 || curl_multi_add_handle(r->multi, h) != CURLM_OK) {
		curl_slist_free_all(j->hdrs);
		j->hdrs = NULL;
		easy_give(r, h);
		goto fail;
	}
	j->easy = h;
	return;
fail:
	j->oom = 1;
	job_final(r, j);
}

/* The final outcome: wake the caller, or complete the async job. */
static void
job_final(struct vc_remote *r, struct vc_job *j)
{
	if (j->sync) {
		r->nsync_running--;
		pthread_mutex_lock(&r->mu);
		j->done = 1; /* from here on the job belongs to its caller */
		pthread_cond_broadcast(&r->cv_sync);
		pthread_mutex_unlock(&r->mu);
		return;
	}
	j->complete(j);
	r->nasync_running--;
	pthread_mutex_lock(&r->mu);
	if (--r->npending == 0)
		pthread_cond_broadcast(&r->cv_idle);
	pthread_mutex_unlock(&r->mu);
}

static void
attempt_done(struct vc_remote *r, CURL *h, CURLcode cc)
{
	struct vc_job *j;
	char *priv = NULL;

	curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
	j = (struct vc_job *)priv;
	j->cc = cc;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &j->status);
	} else {
		j->status = 0; /* no complete answer */
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &j->os_errno);
	}
	curl_multi_remove_handle(r->multi, h);
	easy_give(r, h);
	j->easy = NULL;
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	if (retryable(j) && j->attempts <= VC_REMOTE_RETRIES) {
		j->due_ms = now_ms() + backoff_ms(r, j->attempts);
		j->next = r->delayed;
		r->delayed = j;
		return;
	}
	if (recalling(r, j)) {
		j->next = r->delayed;
		r->delayed = j;
		return;
	}
	job_final(r, j);
}

/* Handles every finished transfer; returns how many there were. */
static int
drain(struct vc_remote *r)
{
	CURLMsg *m;
	int left, n = 0;

	while ((m = curl_multi_info_read(r->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		attempt_done(r, m->easy_handle, m->data.result);
		n++;
	}
	return n;
}

/* Starts the delayed retries that are due; returns the ms until the next
 * one (VC_POLL_MS at most). */
static int
start_due(struct vc_remote *r)
{
	uint64_t now = now_ms(), wait = VC_POLL_MS;
	struct vc_job **pp = &r->delayed, *j;

	while ((j = *pp) != NULL) {
		if (j->due_ms <= now) {
			*pp = j->next;
			j->next = NULL;
			job_start(r, j);
			continue;
		}
		if (j->due_ms - now < wait)
			wait = j->due_ms - now;
		pp = &j->next;
	}
	return (int)wait;
}

/* Takes what may start now off the queues, under the mutex. Returns 1 when
 * the thread should end: stopping, and nothing is left to do. */
static int
take_work(struct vc_remote *r, struct vc_job **list)
{
	struct vc_job **tail = list;
	int quit;

	pthread_mutex_lock(&r->mu);
	while (r->sync_head != NULL) {
		*tail = r->sync_head;
		r->sync_head = r->sync_head->next;
		tail = &(*tail)->next;
		r->nsync_running++;
	}
	r->sync_tail = NULL;
	while (r->async_head != NULL && r->nasync_running < r->parallel) {
		*tail = r->async_head;
		r->async_head = r->async_head->next;
		tail = &(*tail)->next;
		r->nqueued--;
		r->nasync_running++;
		pthread_cond_broadcast(&r->cv_space);
	}
	if (r->async_head == NULL)
		r->async_tail = NULL;
	*tail = NULL;
	quit = r->stop && r->npending == 0 && r->nsync_running == 0;
	pthread_mutex_unlock(&r->mu);
	return quit;
}

static void *
io_main(void *arg)
{
	struct vc_remote *r = arg;

	for (;;) {
		struct vc_job *list, *next;
		int running, wait;

		if (take_work(r, &list))
			break;
		for (; list != NULL; list = next) {
			next = list->next;
			list->next = NULL;
			job_start(r, list);
		}
		wait = start_due(r);
		curl_multi_perform(r->multi, &running);
		/* A finished job may free a slot or end the loop: look again
		 * before sleeping. */
		if (drain(r) > 0)
			continue;
		curl_multi_poll(r->multi, NULL, 0, wait, NULL);
	}
	return NULL;
}

int
vc_remote__io_start(struct vc_remote *r, char *err, size_t errlen)
{
	int e;

	r->rng = now_ms() ^ ((uint64_t)(uintptr_t)r << 16) ^ UINT64_C(0x9e3779b97f4a7c15);
	if ((r->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Keep enough connections for every transfer and a few sync calls. */
	curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)r->parallel + 4);
	if ((e = pthread_create(&r->thread, NULL, io_main, r)) != 0) {
		snprintf(err, errlen, "cannot start the transfer thread: %s", strerror(e));
		curl_multi_cleanup(r->multi);
		r->multi = NULL;
		return -1;
	}
	r->thread_started = 1;
	return 0;
}

void
vc_remote__io_stop(struct vc_remote *r)
{
	if (r->thread_started) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_mutex_unlock(&r->mu);
		curl_multi_wakeup(r->multi);
		pthread_join(r->thread, NULL);
		r->thread_started = 0;
	}
	for (size_t i = 0; i < r->nidle; i++)
		curl_easy_cleanup(r->idle[i]);
	free(r->idle);
	r->idle = NULL;
	r->nidle = r->idle_cap = 0;
	if (r->multi != NULL)
		curl_multi_cleanup(r->multi);
	r->multi = NULL;
}

static int
on_own_thread(const struct vc_remote *r)
{
	return r->thread_started && pthread_equal(pthread_self(), r->thread);
}

int
vc_remote__run(struct vc_remote *r, struct vc_job *j)
{
	if (on_own_thread(r)) {
		vc_remote__set_error(0, "%s vault %s: %s: a synchronous call cannot be made from a "
		    "callback of the same remote", r->url, r->vault, j->what);
		return -1;
	}
	j->r = r;
	j->sync = 1;
	j->done = 0;
	j->next = NULL;
	pthread_mutex_lock(&r->mu);
	if (r->sync_tail != NULL)
		r->sync_tail->next = j;
	else
		r->sync_head = j;
	r->sync_tail = j;
	pthread_mutex_unlock(&r->mu);
	curl_multi_wakeup(r->multi);
	pthread_mutex_lock(&r->mu);
	while (!j->done)
		pthread_cond_wait(&r->cv_sync, &r->mu);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

int
vc_remote__submit(struct vc_remote *r, struct vc_job *j)
{
	/* A callback (on the thread) that queues more must not wait for the
	 * thread it runs on: it may go past queue_max. */
	int own = on_own_thread(r);

	j->r = r;
	j->sync = 0;
	j->next = NULL;
	pthread_mutex_lock(&r->mu);
	while (!own && !r->failed && r->nqueued >= r->queue_max)
		pthread_cond_wait(&r->cv_space, &r->mu);
	if (r->failed) {
		vc_remote__set_error(r->first_status, "%s", r->first_err);
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	if (r->async_tail != NULL)
		r->async_tail->next = j;
	else
		r->async_head = j;
	r->async_tail = j;
	r->nqueued++;
	r->npending++;
	pthread_mutex_unlock(&r->mu);
	curl_multi_wakeup(r->multi);
	return 0;
}

void
vc_remote__async_failed(struct vc_remote *r, const char *err, int status)
{
	pthread_mutex_lock(&r->mu);
	if (!r->failed) {
		r->failed = 1;
		snprintf(r->first_err, sizeof(r->first_err), "%s", err);
		r->first_status = status;
		/* Producers blocked on a full queue learn of it now. */
		pthread_cond_broadcast(&r->cv_space);
	}
	pthread_mutex_unlock(&r->mu);
}

void
vc_remote__job_clear(struct vc_job *j)
{
	free(j->resp.p);
	j->resp.p = NULL;
	j->resp.len = j->resp.cap = 0;
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
}

/* ---- error sentences ---- */

/* The server's text, reduced to printable ASCII: it comes off the network
 * and ends up on someone's terminal. */
static void
clean_copy(char *out, size_t size, const char *s)
{
	size_t i = 0;

	for (; s != NULL && *s != '\0' && i + 1 < size; s++)
		out[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[i] = '\0';
}

static void
describe_transport(const struct vc_job *j, const char *tries, char *out, size_t size)
{
	const struct vc_remote *r = j->r;
	char ebuf[128];
	const char *why = j->curl_err[0] ? j->curl_err : curl_easy_strerror(j->cc);

	if (j->oom) {
		snprintf(out, size, "%s vault %s: %s: out of memory", r->url, r->vault, j->what);
		return;
	}
	if (j->too_big) {
		snprintf(out, size, "%s vault %s: %s: the answer is longer than the %zu bytes "
		    "expected", r->url, r->vault, j->what, j->resp_max);
		return;
	}
	switch (j->cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		if (j->cc == CURLE_COULDNT_CONNECT && j->os_errno != 0)
			why = strerror_r((int)j->os_errno, ebuf, sizeof(ebuf));
		snprintf(out, size, "cannot reach %s: %s (%s%s)", r->url, why, j->what, tries);
		return;
	default:
		snprintf(out, size, "%s vault %s: %s: %s (no answer%s)", r->url, r->vault, j->what,
		    why, tries);
	}
}

void
vc_remote__describe(const struct vc_job *j, char *out, size_t size)
{
	const struct vc_remote *r = j->r;
	char tries[48] = "", msg[VC_SERVER_MSG_MAX], code[64] = "";
	const char *scope, *end;
	json_t *doc = NULL;
	long st = j->status;

	if (j->attempts > 1)
		snprintf(tries, sizeof(tries), ", %u attempts", j->attempts);
	if (st == 0 || j->oom || j->too_big) {
		describe_transport(j, tries, out, size);
		return;
	}
	msg[0] = '\0';
	if (j->resp.len > 0 && (doc = json_loadb((const char *)j->resp.p, j->resp.len, 0,
	    NULL)) != NULL) {
		clean_copy(msg, sizeof(msg), json_string_value(json_object_get(doc, "message")));
		clean_copy(code, sizeof(code), json_string_value(json_object_get(doc, "code")));
		for (char *c = code; *c; c++)
			if (*c == '_')
				*c = ' ';
		json_decref(doc);
	}
	if (st == 401) {
		snprintf(out, size, "%s vault %s: %s: the token was refused (401): check VAULT_TOKEN",
		    r->url, r->vault, j->what);
	} else if (st == 403 && (scope = strstr(msg, "lacks the ")) != NULL &&
	    (end = strstr(scope, " scope")) != NULL) {
		scope += strlen("lacks the ");
		snprintf(out, size, "%s vault %s: %s: the token lacks the %.*s scope (403)", r->url,
		    r->vault, j->what, (int)(end - scope), scope);
	} else if (st == 507) {
		snprintf(out, size, "%s vault %s: %s: %s: %s (507)", r->url, r->vault, j->what,
		    strstr(msg, "quota") ? "quota exceeded" : "out of storage space",
		    msg[0] ? msg : "the server has no room");
	} else if (code[0] != '\0' || msg[0] != '\0') {
		snprintf(out, size, "%s vault %s: %s: %s%s%s (%ld%s)", r->url, r->vault, j->what,
		    code[0] ? code : "error", msg[0] ? ": " : "", msg, st, tries);
	} else {
		/* No JSON: a HEAD, or something in between. The reason
		 * phrase is still better than nothing. */
		clean_copy(code, sizeof(code), vsp_status_reason((int)st));
		for (char *c = code; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		snprintf(out, size, "%s vault %s: %s: %s (%ld%s)", r->url, r->vault, j->what,
		    code[0] && strcmp(code, "unknown") != 0 ? code : "unexpected answer", st, tries);
	}
}
