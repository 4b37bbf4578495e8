/*
 * vspbench: a load generator for the Vault Storage Protocol.
 *
 *   vspbench put  -u URL -t TOKEN -V VAULT [-c CONNS] [-n COUNT] [-s SIZE] [-o IDS]
 *   vspbench get  -u URL -t TOKEN -V VAULT [-c CONNS] -i IDS [-n COUNT] [--verify]
 *   vspbench head -u URL -t TOKEN -V VAULT [-c CONNS] -i IDS [-d SECONDS]
 *   vspbench mkvault -u URL -t TOKEN -V VAULT
 *   vspbench put|get|head|mkvault --restic -u REPO-URL ...
 *
 * With --restic the same load goes to a restic REST server (restic's
 * rest-server protocol, e.g. `rclone serve restic`, or vaultd's own restic
 * endpoint): objects are REPO-URL/data/ID, uploads are POSTs answered 200,
 * mkvault creates the repository (POST ?create=true), and no token is sent.
 * bench/vsp_bench.sh uses it to measure a peer in the same run.
 *
 * Each connection is one thread with one libcurl easy handle, so libcurl
 * keeps the connection alive between requests. Every thread opens its
 * connection (GET /v1/capabilities) before the clock starts, and the clock
 * runs from a common start barrier until the last thread is done.
 *
 * PUT bodies are random bytes made and hashed before the clock starts, and
 * are streamed from memory; GET bodies are counted and dropped (hashed only
 * with --verify, which is off for timing). One line of results goes to
 * stdout per run. 1 MB is 10^6 bytes throughout.
 *
 * The exit status is 0 if every request got the status it should, 1 if any
 * did not (or failed at the transport level), 2 for a usage or set-up error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sha256.h"

#define ID_HEX_LEN (2 * SHA256_LEN)
#define DEFAULT_SIZE (16ULL * 1024 * 1024)
#define DEFAULT_COUNT 64
#define DEFAULT_DURATION 5.0
#define URL_MAX 4096
#define AUTH_MAX 512
#define ERRBODY_MAX 256          /* bytes of an error answer kept for the report */
#define ERRORS_SHOWN 5           /* unexpected answers described on stderr */
#define RECV_BUFFER (512 * 1024) /* libcurl receive buffer (CURLOPT_BUFFERSIZE) */
#define SEND_BUFFER (2 * 1024 * 1024) /* libcurl upload buffer, its maximum */

enum mode { M_PUT, M_GET, M_HEAD, M_MKVAULT };

static const char *const mode_names[] = {"put", "get", "head", "mkvault"};

struct options {
	enum mode mode;
	const char *url, *token, *vault, *kind;
	const char *ids_in, *ids_out;
	unsigned conns;
	size_t count;
	int count_set;
	uint64_t size;
	double duration;
	uint64_t seed;
	int seed_set;
	int verify;
	int allow_existing;
	int restic; /* restic REST dialect (see the top of this file) */
};

/* State shared by all threads of one run. */
struct run {
	const struct options *o;
	char (*ids)[ID_HEX_LEN + 1]; /* object IDs, hex */
	size_t nids;
	uint8_t **bufs;              /* put: the bodies, one per ID */
	size_t nreq;                 /* put/get: requests in the run */
	atomic_size_t next;          /* next request to hand out */
	atomic_int errors_shown;
	pthread_barrier_t ready;
	struct timespec start;
};

struct worker {
	struct run *run;
	pthread_t thread;
	unsigned index;
	CURL *h;
	struct curl_slist *headers;
	char auth[AUTH_MAX];
	int setup_failed;

	/* The request in progress. */
	const uint8_t *src;          /* put: body */
	uint64_t src_len, src_off;
	uint64_t got;                /* get: body bytes received */
	struct sha256 *hash;         /* get --verify */
	char errbody[ERRBODY_MAX];
	size_t errlen;

	/* Totals. */
	uint64_t bytes, requests, errors, existing;
};

static double
elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* ---- object contents ---- */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Fills buf with xoshiro256** output seeded from (seed, n): incompressible
 * enough for a storage benchmark, and a different object for each n. */
static void
fill_random(uint8_t *buf, uint64_t len, uint64_t seed, uint64_t n)
{
	uint64_t s[4], x = seed ^ (n * 0xd1342543de82ef95ULL), off = 0;

	for (int i = 0; i < 4; i++)
		s[i] = splitmix64(&x);
	while (off < len) {
		uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
		size_t k = len - off < sizeof(r) ? (size_t)(len - off) : sizeof(r);
		s[2] ^= s[0];
		s[3] ^= s[1];
		s[1] ^= s[2];
		s[0] ^= s[3];
		s[2] ^= t;
		s[3] = rotl(s[3], 45);
		memcpy(buf + off, &r, k);
		off += k;
	}
}

static void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

struct prep {
	struct run *run;
	pthread_t thread;
	size_t first, step;
	int failed;
};

static void *
prep_main(void *arg)
{
	struct prep *p = arg;
	struct run *r = p->run;
	uint8_t digest[SHA256_LEN];

	for (size_t i = p->first; i < r->nids; i += p->step) {
		fill_random(r->bufs[i], r->o->size, r->o->seed, i);
		if (sha256_buf(r->bufs[i], r->o->size, digest) != 0) {
			p->failed = 1;
			return NULL;
		}
		hex_encode(digest, SHA256_LEN, r->ids[i]);
	}
	return NULL;
}

/* Makes the PUT bodies and their IDs, on every core. Returns 0 or -1. */
static int
prepare_objects(struct run *r)
{
	const struct options *o = r->o;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = ncpu > 0 ? (size_t)ncpu : 1, started = 0;
	struct prep *preps;
	int rc = 0;

	if (o->size > SIZE_MAX || o->count > SIZE_MAX / sizeof(*r->bufs))
		return -1;
	if ((r->bufs = calloc(o->count, sizeof(*r->bufs))) == NULL ||
	    (r->ids = calloc(o->count, sizeof(*r->ids))) == NULL)
		return -1;
	r->nids = o->count;
	for (size_t i = 0; i < o->count; i++)
		if ((r->bufs[i] = malloc(o->size > 0 ? (size_t)o->size : 1)) == NULL) {
			fprintf(stderr, "vspbench: out of memory for %zu objects of %" PRIu64
			    " bytes\n", o->count, o->size);
			return -1;
		}
	if (nthreads > o->count)
		nthreads = o->count > 0 ? o->count : 1;
	if ((preps = calloc(nthreads, sizeof(*preps))) == NULL)
		return -1;
	for (; started < nthreads; started++) {
		preps[started] = (struct prep){.run = r, .first = started, .step = nthreads};
		if (pthread_create(&preps[started].thread, NULL, prep_main, &preps[started]) != 0) {
			rc = -1;
			break;
		}
	}
	for (size_t i = 0; i < started; i++) {
		pthread_join(preps[i].thread, NULL);
		if (preps[i].failed)
			rc = -1;
	}
	free(preps);
	return rc;
}

static int
write_ids(const struct run *r, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "vspbench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < r->nids; i++)
		fprintf(f, "%s\n", r->ids[i]);
	if (fclose(f) != 0) {
		fprintf(stderr, "vspbench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads one ID per line (anything after the first word is ignored). */
static int
read_ids(struct run *r, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t cap = 0;

	if (f == NULL) {
		fprintf(stderr, "vspbench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strspn(line, "0123456789abcdef");
		if (n == 0 && (line[0] == '\n' || line[0] == '#'))
			continue;
		if (n != ID_HEX_LEN || (line[n] != '\0' && line[n] != '\n' && line[n] != ' ')) {
			fprintf(stderr, "vspbench: %s: not an object ID: %.70s\n", path, line);
			fclose(f);
			return -1;
		}
		if (r->nids == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			void *p = realloc(r->ids, ncap * sizeof(*r->ids));
			if (p == NULL) {
				fclose(f);
				return -1;
			}
			r->ids = p;
			cap = ncap;
		}
		memcpy(r->ids[r->nids], line, ID_HEX_LEN);
		r->ids[r->nids++][ID_HEX_LEN] = '\0';
	}
	fclose(f);
	if (r->nids == 0) {
		fprintf(stderr, "vspbench: %s holds no object IDs\n", path);
		return -1;
	}
	return 0;
}

/* ---- libcurl callbacks ---- */

static size_t
on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct worker *w = arg;
	uint64_t left = w->src_len - w->src_off;
	size_t n = size * nitems;

	if (n > left)
		n = (size_t)left;
	memcpy(buf, w->src + w->src_off, n);
	w->src_off += n;
	return n;
}

/* Keeps the start of the answer, for reporting an unexpected one. */
static void
keep_errbody(struct worker *w, const char *data, size_t n)
{
	size_t room = sizeof(w->errbody) - 1 - w->errlen;
	if (n > room)
		n = room;
	memcpy(w->errbody + w->errlen, data, n);
	w->errlen += n;
	w->errbody[w->errlen] = '\0';
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct worker *w = arg;
	size_t n = size * nmemb;

	w->got += n;
	if (w->errlen < sizeof(w->errbody) - 1)
		keep_errbody(w, data, n);
	if (w->hash != NULL && sha256_update(w->hash, data, n) != 0)
		return 0;
	return n;
}

/* ---- requests ---- */

static int
object_url(const struct options *o, const char *id, char *out, size_t size)
{
	int n = o->restic ? snprintf(out, size, "%s/data/%s", o->url, id) :
	    snprintf(out, size, "%s/v1/vaults/%s/objects/%s/%s", o->url, o->vault, o->kind, id);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static void
report_error(struct worker *w, const char *what, long status, CURLcode cc)
{
	struct run *r = w->run;
	char *nl;

	w->errors++;
	if (atomic_fetch_add(&r->errors_shown, 1) >= ERRORS_SHOWN)
		return;
	while ((nl = strchr(w->errbody, '\n')) != NULL)
		*nl = ' ';
	if (cc != CURLE_OK)
		fprintf(stderr, "vspbench: %s: %s\n", what, curl_easy_strerror(cc));
	else if (status <= 0)
		fprintf(stderr, "vspbench: %s: %s\n", what, w->errbody);
	else
		fprintf(stderr, "vspbench: %s: HTTP %ld %s\n", what, status, w->errbody);
}

/* Runs the request set up on w->h. Returns the HTTP status, or -1 after
 * reporting a transport error. */
static long
perform(struct worker *w, const char *what)
{
	long status = 0;
	CURLcode cc;

	w->got = 0;
	w->errlen = 0;
	w->errbody[0] = '\0';
	cc = curl_easy_perform(w->h);
	if (cc != CURLE_OK) {
		report_error(w, what, 0, cc);
		return -1;
	}
	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static void
do_put(struct worker *w, size_t i)
{
	const struct options *o = w->run->o;
	char url[URL_MAX];
	long status;

	if (object_url(o, w->run->ids[i], url, sizeof(url)) != 0) {
		report_error(w, "URL too long", 0, CURLE_OK);
		return;
	}
	w->src = w->run->bufs[i];
	w->src_len = o->size;
	w->src_off = 0;
	curl_easy_setopt(w->h, CURLOPT_URL, url);
	if ((status = perform(w, url)) < 0)
		return;
	if (o->restic && status == 200)
		status = 201; /* restic REST answers every stored upload 200 */
	if (status == 201 || (status == 200 && o->allow_existing)) {
		w->requests++;
		w->bytes += o->size;
		w->existing += status == 200;
		return;
	}
	report_error(w, url, status, CURLE_OK);
}

static void
do_get(struct worker *w, size_t i)
{
	const struct options *o = w->run->o;
	const char *id = w->run->ids[i % w->run->nids];
	uint8_t digest[SHA256_LEN];
	char url[URL_MAX], hex[ID_HEX_LEN + 1];
	curl_off_t length = -1;
	long status;

	if (object_url(o, id, url, sizeof(url)) != 0) {
		report_error(w, "URL too long", 0, CURLE_OK);
		return;
	}
	if (o->verify && (w->hash = sha256_new()) == NULL) {
		report_error(w, "out of memory", 0, CURLE_OK);
		return;
	}
	curl_easy_setopt(w->h, CURLOPT_URL, url);
	status = perform(w, url);
	if (status == 200)
		curl_easy_getinfo(w->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
	if (status == 200 && length >= 0 && (uint64_t)length != w->got) {
		snprintf(w->errbody, sizeof(w->errbody), "body of %" PRIu64
		    " bytes, Content-Length %" CURL_FORMAT_CURL_OFF_T, w->got, length);
		status = -2;
	}
	if (status == 200 && w->hash != NULL) {
		if (sha256_final(w->hash, digest) != 0)
			digest[0] ^= 1;
		hex_encode(digest, SHA256_LEN, hex);
		if (strcmp(hex, id) != 0) {
			snprintf(w->errbody, sizeof(w->errbody), "body's SHA-256 is %s", hex);
			status = -2;
		}
	}
	sha256_free(w->hash);
	w->hash = NULL;
	if (status == 200) {
		w->requests++;
		w->bytes += w->got;
	} else if (status != -1) {
		report_error(w, url, status, CURLE_OK);
	}
}

static void
do_head(struct worker *w, size_t i)
{
	char url[URL_MAX];
	long status;

	if (object_url(w->run->o, w->run->ids[i % w->run->nids], url, sizeof(url)) != 0) {
		report_error(w, "URL too long", 0, CURLE_OK);
		return;
	}
	curl_easy_setopt(w->h, CURLOPT_URL, url);
	if ((status = perform(w, url)) < 0)
		return;
	if (status == 200)
		w->requests++;
	else
		report_error(w, url, status, CURLE_OK);
}

/* Sets up the handle and opens the connection with a small request. */
static int
worker_setup(struct worker *w)
{
	const struct options *o = w->run->o;
	char url[URL_MAX];
	long status;

	if ((w->h = curl_easy_init()) == NULL)
		return -1;
	snprintf(w->auth, sizeof(w->auth), "Authorization: Bearer %s", o->token);
	if (!o->restic && (w->headers = curl_slist_append(NULL, w->auth)) == NULL)
		return -1;
	/* rest-server and rclone list only for clients of the v2 API. */
	if (o->restic && (w->headers = curl_slist_append(w->headers,
	    "Accept: application/vnd.x.restic.rest.v2")) == NULL)
		return -1;
	/* Without this libcurl waits for "100 Continue" (up to 1 s) before a
	 * large body; vaultd answers early only when it refuses the upload. */
	if (o->mode == M_PUT && (w->headers = curl_slist_append(w->headers, "Expect:")) == NULL)
		return -1;
	curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(w->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(w->h, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
	curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);

	/* Open the connection outside the timed part. */
	if (snprintf(url, sizeof(url), o->restic ? "%s/keys/" : "%s/v1/capabilities",
	    o->url) >= (int)sizeof(url))
		return -1;
	curl_easy_setopt(w->h, CURLOPT_URL, url);
	if ((status = perform(w, url)) != 200) {
		if (status > 0)
			report_error(w, url, status, CURLE_OK);
		return -1;
	}

	switch (o->mode) {
	case M_PUT:
		if (o->restic) {
			curl_easy_setopt(w->h, CURLOPT_POST, 1L);
			curl_easy_setopt(w->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->size);
		} else {
			curl_easy_setopt(w->h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(w->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)o->size);
		}
		curl_easy_setopt(w->h, CURLOPT_UPLOAD_BUFFERSIZE, (long)SEND_BUFFER);
		curl_easy_setopt(w->h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(w->h, CURLOPT_READDATA, w);
		break;
	case M_HEAD:
		curl_easy_setopt(w->h, CURLOPT_NOBODY, 1L);
		break;
	default:
		break;
	}
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	const struct options *o = r->o;
	struct timespec now;

	w->setup_failed = worker_setup(w) != 0;
	pthread_barrier_wait(&r->ready); /* every connection is open */
	pthread_barrier_wait(&r->ready); /* the clock has started */
	if (w->setup_failed)
		return NULL;
	for (;;) {
		size_t i = atomic_fetch_add(&r->next, 1);
		if (o->mode == M_HEAD) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (elapsed(&r->start, &now) >= o->duration)
				break;
			do_head(w, i);
			continue;
		}
		if (i >= r->nreq)
			break;
		if (o->mode == M_PUT)
			do_put(w, i);
		else
			do_get(w, i);
	}
	return NULL;
}

/* ---- runs ---- */

static int
run_load(struct run *r)
{
	const struct options *o = r->o;
	struct worker *ws = calloc(o->conns, sizeof(*ws));
	uint64_t bytes = 0, requests = 0, errors = 0, existing = 0;
	unsigned started = 0;
	struct timespec end;
	double secs;
	int setup_failed = 0;

	if (ws == NULL || pthread_barrier_init(&r->ready, NULL, o->conns + 1) != 0) {
		free(ws);
		return 2;
	}
	for (; started < o->conns; started++) {
		ws[started].run = r;
		ws[started].index = started;
		if (pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]) != 0) {
			fprintf(stderr, "vspbench: cannot start thread %u\n", started);
			exit(2); /* the barrier would never open */
		}
	}
	pthread_barrier_wait(&r->ready);
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	pthread_barrier_wait(&r->ready);
	for (unsigned i = 0; i < started; i++)
		pthread_join(ws[i].thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &end);
	secs = elapsed(&r->start, &end);

	for (unsigned i = 0; i < started; i++) {
		struct worker *w = &ws[i];
		bytes += w->bytes;
		requests += w->requests;
		errors += w->errors;
		existing += w->existing;
		setup_failed |= w->setup_failed;
		curl_easy_cleanup(w->h);
		curl_slist_free_all(w->headers);
	}
	pthread_barrier_destroy(&r->ready);
	free(ws);
	if (setup_failed) {
		fprintf(stderr, "vspbench: could not open every connection to %s\n", o->url);
		return 2;
	}
	printf("%s conns=%u objects=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f MB/s=%.1f "
	    "req/s=%.1f errors=%" PRIu64 " (1 MB = 10^6 bytes)\n", mode_names[o->mode], o->conns,
	    requests, bytes, secs, secs > 0 ? (double)bytes / 1e6 / secs : 0.0,
	    secs > 0 ? (double)requests / secs : 0.0, errors);
	if (existing > 0)
		fprintf(stderr, "vspbench: note: %" PRIu64 " objects were already stored (200), "
		    "so their bodies were hashed but not written\n", existing);
	fflush(stdout);
	return errors > 0 ? 1 : 0;
}

static int
mkvault(const struct options *o)
{
	struct worker w = {0};
	struct run r = {.o = o};
	char url[URL_MAX];
	long status;
	int rc = 2;

	w.run = &r;
	if (snprintf(url, sizeof(url), o->restic ? "%s/?create=true" : "%s/v1/vaults/%s",
	    o->url, o->vault) >= (int)sizeof(url))
		return 2;
	snprintf(w.auth, sizeof(w.auth), "Authorization: Bearer %s", o->token);
	if ((w.h = curl_easy_init()) == NULL ||
	    (w.headers = curl_slist_append(NULL, w.auth)) == NULL)
		goto done;
	curl_easy_setopt(w.h, CURLOPT_URL, url);
	curl_easy_setopt(w.h, CURLOPT_HTTPHEADER, w.headers);
	curl_easy_setopt(w.h, CURLOPT_CUSTOMREQUEST, o->restic ? "POST" : "PUT");
	curl_easy_setopt(w.h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(w.h, CURLOPT_WRITEDATA, &w);
	if ((status = perform(&w, url)) < 0)
		goto done;
	if (status == 201 || status == 409 || (o->restic && status == 200)) {
		rc = 0;
		goto done;
	}
	report_error(&w, url, status, CURLE_OK);
	rc = 1;
done:
	curl_easy_cleanup(w.h);
	curl_slist_free_all(w.headers);
	return rc;
}

/* ---- options ---- */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vspbench put|get|head|mkvault -u URL -t TOKEN -V VAULT [options]\n"
	    "  -u, --url URL          base URL, e.g. http://127.0.0.1:8420\n"
	    "  -t, --token TOKEN      bearer token (default $VAULT_TOKEN)\n"
	    "  -V, --vault NAME       vault name\n"
	    "  -k, --kind KIND        object kind (default pack)\n"
	    "  -c, --connections N    connections, one thread each (default 1)\n"
	    "  -n, --count N          put: objects to upload (default %d);\n"
	    "                         get: requests (default one per ID in --ids)\n"
	    "  -s, --size BYTES       put: object size, suffix K, M or G for KiB, MiB,\n"
	    "                         GiB (default 16M)\n"
	    "  -d, --duration S       head: seconds to run (default %.0f)\n"
	    "  -S, --seed N           put: seed of the contents (default: random, so\n"
	    "                         every run uploads new objects)\n"
	    "  -o, --ids-out FILE     put: write the uploaded IDs, one a line\n"
	    "  -i, --ids FILE         get, head: the IDs to request, round robin\n"
	    "      --verify           get: check every body's SHA-256 against its ID\n"
	    "      --allow-existing   put: take 200 (already stored) as success too\n"
	    "      --restic           talk restic's REST protocol to the repository at\n"
	    "                         URL (e.g. rclone serve restic); no token\n"
	    "Prints: MODE conns= objects= bytes= seconds= MB/s= req/s= errors=\n"
	    "(1 MB = 10^6 bytes). Exit 1 if any request got an unexpected answer.\n",
	    DEFAULT_COUNT, DEFAULT_DURATION);
}

static int
parse_u64(const char *name, const char *s, uint64_t *out, int suffixes)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (suffixes && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k': case 'K': mul = 1ULL << 10; end++; break;
		case 'm': case 'M': mul = 1ULL << 20; end++; break;
		case 'g': case 'G': mul = 1ULL << 30; end++; break;
		default: break;
		}
	}
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > UINT64_MAX / mul) {
		fprintf(stderr, "vspbench: %s wants a whole number, not '%s'\n", name, s);
		return -1;
	}
	*out = v * mul;
	return 0;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	enum { O_VERIFY = 256, O_EXISTING, O_RESTIC };
	static const struct option longopts[] = {
		{"url", required_argument, NULL, 'u'},
		{"token", required_argument, NULL, 't'},
		{"vault", required_argument, NULL, 'V'},
		{"kind", required_argument, NULL, 'k'},
		{"connections", required_argument, NULL, 'c'},
		{"count", required_argument, NULL, 'n'},
		{"size", required_argument, NULL, 's'},
		{"duration", required_argument, NULL, 'd'},
		{"seed", required_argument, NULL, 'S'},
		{"ids-out", required_argument, NULL, 'o'},
		{"ids", required_argument, NULL, 'i'},
		{"verify", no_argument, NULL, O_VERIFY},
		{"allow-existing", no_argument, NULL, O_EXISTING},
		{"restic", no_argument, NULL, O_RESTIC},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	char *end;
	int ch;

	memset(o, 0, sizeof(*o));
	o->token = getenv("VAULT_TOKEN");
	o->kind = "pack";
	o->conns = 1;
	o->count = DEFAULT_COUNT;
	o->size = DEFAULT_SIZE;
	o->duration = DEFAULT_DURATION;
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		exit(argc < 2 ? 2 : 0);
	}
	for (o->mode = M_PUT; o->mode <= M_MKVAULT; o->mode++)
		if (strcmp(argv[1], mode_names[o->mode]) == 0)
			break;
	if (o->mode > M_MKVAULT) {
		fprintf(stderr, "vspbench: unknown mode '%s' (put, get, head or mkvault)\n",
		    argv[1]);
		return -1;
	}
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "u:t:V:k:c:n:s:d:S:o:i:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': o->url = optarg; break;
		case 't': o->token = optarg; break;
		case 'V': o->vault = optarg; break;
		case 'k': o->kind = optarg; break;
		case 'c':
			if (parse_u64("--connections", optarg, &v, 0) != 0)
				return -1;
			if (v == 0 || v > 1024) {
				fprintf(stderr, "vspbench: --connections must be 1..1024\n");
				return -1;
			}
			o->conns = (unsigned)v;
			break;
		case 'n':
			if (parse_u64("--count", optarg, &v, 0) != 0)
				return -1;
			if (v == 0 || v > 1000000) {
				fprintf(stderr, "vspbench: --count must be 1..1000000\n");
				return -1;
			}
			o->count = (size_t)v;
			o->count_set = 1;
			break;
		case 's':
			if (parse_u64("--size", optarg, &o->size, 1) != 0)
				return -1;
			break;
		case 'd':
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(o->duration > 0)) {
				fprintf(stderr, "vspbench: --duration wants seconds, not '%s'\n",
				    optarg);
				return -1;
			}
			break;
		case 'S':
			if (parse_u64("--seed", optarg, &o->seed, 0) != 0)
				return -1;
			o->seed_set = 1;
			break;
		case 'o': o->ids_out = optarg; break;
		case 'i': o->ids_in = optarg; break;
		case O_VERIFY: o->verify = 1; break;
		case O_EXISTING: o->allow_existing = 1; break;
		case O_RESTIC: o->restic = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vspbench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->restic && o->url != NULL) {
		o->token = o->vault = ""; /* a restic repository URL says it all */
	} else if (o->url == NULL || o->token == NULL || o->vault == NULL) {
		fprintf(stderr, "vspbench: --url, --token (or $VAULT_TOKEN) and --vault are "
		    "required\n");
		return -1;
	}
	if (o->mode == M_PUT && o->size == 0) {
		fprintf(stderr, "vspbench: --size 0 would make every object the same one\n");
		return -1;
	}
	if ((o->mode == M_GET || o->mode == M_HEAD) && o->ids_in == NULL) {
		fprintf(stderr, "vspbench: %s needs --ids FILE (as written by put --ids-out)\n",
		    mode_names[o->mode]);
		return -1;
	}
	if (!o->seed_set && getrandom(&o->seed, sizeof(o->seed), 0) != sizeof(o->seed))
		o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct run r;
	int rc;

	if (parse_options(argc, argv, &o) != 0)
		return 2;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "vspbench: libcurl did not initialise\n");
		return 2;
	}
	if (o.mode == M_MKVAULT) {
		rc = mkvault(&o);
		curl_global_cleanup();
		return rc;
	}
	memset(&r, 0, sizeof(r));
	r.o = &o;
	atomic_init(&r.next, 0);
	atomic_init(&r.errors_shown, 0);
	switch (o.mode) {
	case M_PUT:
		if (prepare_objects(&r) != 0) {
			fprintf(stderr, "vspbench: could not prepare the objects\n");
			return 2;
		}
		if (o.ids_out != NULL && write_ids(&r, o.ids_out) != 0)
			return 2;
		r.nreq = r.nids;
		break;
	default:
		if (read_ids(&r, o.ids_in) != 0)
			return 2;
		r.nreq = o.count_set ? o.count : r.nids;
		break;
	}
	rc = run_load(&r);
	for (size_t i = 0; r.bufs != NULL && i < r.nids; i++)
		free(r.bufs[i]);
	free(r.bufs);
	free(r.ids);
	curl_global_cleanup();
	return rc;
}
