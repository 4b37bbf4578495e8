/*
 * vsp_client_test: a small VSP client that exercises a running vaultd the way
 * a backup client would, over one reused libcurl easy handle (keep-alive).
 *
 *   vsp_client_test BASE-URL TOKEN [VAULT [SEED]]
 *
 * TOKEN needs the read, append, delete and admin scopes. VAULT (default
 * "cclient-<pid>") must not exist yet. The test creates it, uploads 20
 * random objects of random sizes up to 3 MiB, checks HEAD, GET and 10 random
 * ranges of each, a batch existence query with 5 absent IDs mixed in, the
 * paged listing, the usage counters, then deletes half and checks again.
 *
 * Exit status: 0 if every check held; 1 otherwise, after printing each failed
 * check; 2 on a usage error.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "sha256.h"

#define NOBJECTS 20
#define NABSENT 5
#define NRANGES 10
#define MAX_OBJECT (3u * 1024 * 1024)
#define LIST_PAGE 7
#define HEX_LEN (2 * SHA256_LEN)
#define URL_MAX 1024
#define KIND "pack"

struct buf {
	char *p;
	size_t len, cap;
};

struct object {
	char id[HEX_LEN + 1];
	unsigned char *data;
	size_t size;
	int deleted;
};

struct upload_src {
	const unsigned char *p;
	size_t left;
};

struct client {
	CURL *h;
	const char *base;
	char auth[256];
	long connects; /* new connections over the whole run */
	long requests;
	int want_new;  /* the last answer closed its connection */
};

struct reply {
	long status;
	struct buf body;
	struct buf headers;
};

static int failures;
static uint64_t rng_state;

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Records and prints one failed check. */
static void
failf(const char *fmt, ...)
{
	va_list ap;

	failures++;
	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* xorshift64*: reproducible from the seed that is printed at start. */
static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static uint64_t
rng_below(uint64_t n)
{
	return n == 0 ? 0 : rng() % n;
}

static void
hex_of(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
id_of(const void *data, size_t len, char out[HEX_LEN + 1])
{
	uint8_t d[SHA256_LEN];

	if (sha256_buf(data, len, d) != 0)
		return -1;
	hex_of(d, sizeof(d), out);
	return 0;
}

static int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 4096;
		char *q;
		while (cap - b->len <= n) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		if ((q = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void
reply_clear(struct reply *r)
{
	free(r->body.p);
	free(r->headers.p);
	memset(r, 0, sizeof(*r));
}

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	return buf_add(arg, p, size * n) == 0 ? size * n : 0;
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct upload_src *src = arg;
	size_t want = size * n;

	if (want > src->left)
		want = src->left;
	memcpy(p, src->p, want);
	src->p += want;
	src->left -= want;
	return want;
}

/*
 * Writes the value of header name (of the last response) into out, without
 * surrounding spaces. Returns 0, or -1 if there is no such header.
 */
static int
header_get(const struct reply *r, const char *name, char *out, size_t size)
{
	const char *p = r->headers.p, *end;
	size_t nlen = strlen(name);

	if (p == NULL)
		return -1;
	/* Only the last header block counts (after 100 Continue). */
	for (const char *q = p; (q = strstr(q, "HTTP/1.")) != NULL; q++)
		p = q;
	for (; *p != '\0'; p = end + 1) {
		size_t vlen;
		const char *v;
		if ((end = strchr(p, '\n')) == NULL)
			break;
		if ((size_t)(end - p) <= nlen || strncasecmp(p, name, nlen) != 0 || p[nlen] != ':')
			continue;
		v = p + nlen + 1;
		while (*v == ' ')
			v++;
		vlen = (size_t)(end - v);
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen >= size)
			return -1;
		memcpy(out, v, vlen);
		out[vlen] = '\0';
		return 0;
	}
	return -1;
}

/*
 * One request on the shared handle. method is GET, HEAD, PUT, POST or DELETE;
 * body (may be NULL) is sent with PUT and POST; range (may be NULL) is a
 * Range header value. Returns 0 with r filled, or -1 on a transport error
 * (printed as a failure).
 */
static int
request(struct client *c, const char *method, const char *path, const void *body,
    size_t body_len, const char *range, struct reply *r)
{
	char url[URL_MAX], range_hdr[160];
	struct curl_slist *hdrs = NULL;
	struct upload_src src = {body, body_len};
	CURLcode rc;
	long nconn = 0;

	memset(r, 0, sizeof(*r));
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base, path) >= sizeof(url)) {
		failf("URL too long: %s", path);
		return -1;
	}
	curl_easy_reset(c->h);
	hdrs = curl_slist_append(hdrs, c->auth);
	if (range != NULL) {
		snprintf(range_hdr, sizeof(range_hdr), "Range: %s", range);
		hdrs = curl_slist_append(hdrs, range_hdr);
	}
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_write);
	curl_easy_setopt(c->h, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 120L);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c->h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c->h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c->h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c->h, CURLOPT_READDATA, &src);
		curl_easy_setopt(c->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c->h, CURLOPT_POST, 1L);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c->h);
	curl_slist_free_all(hdrs);
	c->requests++;
	if (rc != CURLE_OK) {
		failf("%s %s: %s", method, path, curl_easy_strerror(rc));
		reply_clear(r);
		return -1;
	}
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &nconn);
	c->connects += nconn;
	if (r->body.p == NULL)
		buf_add(&r->body, "", 0);
	/* Keep-alive: a new connection only for the first request and after an
	 * answer with Connection: close. */
	if (nconn != (c->requests == 1 || c->want_new ? 1 : 0))
		failf("%s %s: %ld new connection(s), want %d", method, path, nconn,
		    c->requests == 1 || c->want_new);
	{
		char v[64];
		c->want_new = header_get(r, "Connection", v, sizeof(v)) == 0 &&
		    strcasecmp(v, "close") == 0;
	}
	return 0;
}

/* Checks the status of r; prints the body on a mismatch. Returns 0 if equal. */
static int
expect(const struct reply *r, long want, const char *what)
{
	if (r->status == want)
		return 0;
	failf("%s: expected %ld, got %ld; body: %.300s", what, want, r->status,
	    r->body.p ? r->body.p : "");
	return -1;
}

static json_t *
parse_json(const struct reply *r, const char *what)
{
	json_error_t err;
	json_t *j = json_loadb(r->body.p, r->body.len, 0, &err);

	if (j == NULL)
		failf("%s: the answer is not JSON (%s): %.200s", what, err.text, r->body.p);
	return j;
}

static void pathf(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats a request path; a path that does not fit is a failed check and
 * becomes one the server refuses. */
static void
pathf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		failf("path too long: %.60s...", out);
		snprintf(out, size, "/too-long");
	}
}

static void
object_path(char *out, size_t size, const char *vault, const char *id)
{
	pathf(out, size, "/v1/vaults/%s/objects/" KIND "/%s", vault, id);
}

/* PUT: 201 with {id, kind, size, created:true}, or 200 and created:false. */
static void
check_put(struct client *c, const char *vault, const struct object *o, long want)
{
	char path[URL_MAX];
	struct reply r;
	json_t *j;

	object_path(path, sizeof(path), vault, o->id);
	if (request(c, "PUT", path, o->data, o->size, NULL, &r) != 0)
		return;
	if (expect(&r, want, "PUT") == 0 && (j = parse_json(&r, "PUT")) != NULL) {
		const char *id = json_string_value(json_object_get(j, "id"));
		const char *kind = json_string_value(json_object_get(j, "kind"));
		json_t *created = json_object_get(j, "created");
		if (id == NULL || strcmp(id, o->id) != 0 || kind == NULL || strcmp(kind, KIND) != 0 ||
		    json_integer_value(json_object_get(j, "size")) != (json_int_t)o->size ||
		    !json_is_boolean(created) || json_is_true(created) != (want == 201))
			failf("PUT %s: unexpected answer %s", o->id, r.body.p);
		json_decref(j);
	}
	reply_clear(&r);
}

static void
check_head(struct client *c, const char *vault, const struct object *o)
{
	char path[URL_MAX], v[128], etag[HEX_LEN + 3];
	struct reply r;

	object_path(path, sizeof(path), vault, o->id);
	if (request(c, "HEAD", path, NULL, 0, NULL, &r) != 0)
		return;
	if (expect(&r, o->deleted ? 404 : 200, "HEAD") == 0 && !o->deleted) {
		snprintf(etag, sizeof(etag), "\"%s\"", o->id);
		if (header_get(&r, "Content-Length", v, sizeof(v)) != 0 ||
		    strtoull(v, NULL, 10) != o->size)
			failf("HEAD %s: Content-Length is not %zu", o->id, o->size);
		if (header_get(&r, "ETag", v, sizeof(v)) != 0 || strcmp(v, etag) != 0)
			failf("HEAD %s: ETag is not %s", o->id, etag);
		if (header_get(&r, "Accept-Ranges", v, sizeof(v)) != 0 || strcmp(v, "bytes") != 0)
			failf("HEAD %s: no Accept-Ranges: bytes", o->id);
		if (r.body.len != 0)
			failf("HEAD %s: a body of %zu bytes", o->id, r.body.len);
	}
	reply_clear(&r);
}

static void
check_get(struct client *c, const char *vault, const struct object *o)
{
	char path[URL_MAX], id[HEX_LEN + 1];
	struct reply r;

	object_path(path, sizeof(path), vault, o->id);
	if (request(c, "GET", path, NULL, 0, NULL, &r) != 0)
		return;
	if (expect(&r, o->deleted ? 404 : 200, "GET") == 0 && !o->deleted) {
		if (r.body.len != o->size || memcmp(r.body.p, o->data, o->size) != 0)
			failf("GET %s: %zu bytes that differ from the %zu uploaded", o->id, r.body.len,
			    o->size);
		else if (id_of(r.body.p, r.body.len, id) != 0 || strcmp(id, o->id) != 0)
			failf("GET %s: the bytes hash to %s", o->id, id);
	}
	reply_clear(&r);
}

/* One random range of o: 206 with the right bytes and Content-Range. */
static void
check_range(struct client *c, const char *vault, const struct object *o)
{
	char path[URL_MAX], range[96], want_cr[128], v[128];
	uint64_t size = o->size, first, last;
	struct reply r;

	object_path(path, sizeof(path), vault, o->id);
	if (size == 0) {
		/* Any range of an empty object is 416. */
		if (request(c, "GET", path, NULL, 0, "bytes=0-", &r) == 0 &&
		    expect(&r, 416, "range of an empty object") == 0 &&
		    (header_get(&r, "Content-Range", v, sizeof(v)) != 0 || strcmp(v, "bytes */0") != 0))
			failf("416 for %s: no Content-Range: bytes */0", o->id);
		reply_clear(&r);
		return;
	}
	switch (rng_below(4)) {
	case 0: /* a-b inside */
		first = rng_below(size);
		last = first + rng_below(size - first);
		snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, first, last);
		break;
	case 1: /* a-b with b past the end: clamped */
		first = rng_below(size);
		last = size - 1;
		snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, first,
		    size + rng_below(1000000));
		break;
	case 2: /* a- */
		first = rng_below(size);
		last = size - 1;
		snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", first);
		break;
	default: { /* -n, sometimes longer than the object */
		uint64_t n = 1 + rng_below(size + size / 4);
		first = n >= size ? 0 : size - n;
		last = size - 1;
		snprintf(range, sizeof(range), "bytes=-%" PRIu64, n);
	}
	}
	snprintf(want_cr, sizeof(want_cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last,
	    size);
	if (request(c, "GET", path, NULL, 0, range, &r) != 0)
		return;
	if (expect(&r, 206, range) == 0) {
		if (header_get(&r, "Content-Range", v, sizeof(v)) != 0 || strcmp(v, want_cr) != 0)
			failf("%s of %s: Content-Range '%s', want '%s'", range, o->id,
			    header_get(&r, "Content-Range", v, sizeof(v)) == 0 ? v : "(none)", want_cr);
		if (r.body.len != last - first + 1 ||
		    memcmp(r.body.p, o->data + first, (size_t)(last - first + 1)) != 0)
			failf("%s of %s (size %" PRIu64 "): %zu wrong bytes", range, o->id, size,
			    r.body.len);
	}
	reply_clear(&r);
}

/* Batch exists: ids in order; present[i] says which should be present. */
static void
check_exists(struct client *c, const char *vault, char (*ids)[HEX_LEN + 1], const int *present,
    size_t n)
{
	char path[URL_MAX];
	json_t *req = json_object(), *arr = json_array(), *j;
	size_t np = 0, nm = 0;
	struct reply r;
	char *text;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(ids[i]));
	json_object_set_new(req, "ids", arr);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	pathf(path, sizeof(path), "/v1/vaults/%s/objects/" KIND "/exists", vault);
	if (text == NULL || request(c, "POST", path, text, strlen(text), NULL, &r) != 0) {
		free(text);
		return;
	}
	free(text);
	if (expect(&r, 200, "exists") == 0 && (j = parse_json(&r, "exists")) != NULL) {
		json_t *pr = json_object_get(j, "present"), *mi = json_object_get(j, "missing");
		for (size_t i = 0; i < n; i++) {
			json_t *list = present[i] ? pr : mi;
			size_t k = present[i] ? np++ : nm++;
			const char *got = json_string_value(json_array_get(list, k));
			if (got == NULL || strcmp(got, ids[i]) != 0)
				failf("exists: %s should be %s at position %zu, found %s", ids[i],
				    present[i] ? "present" : "missing", k, got ? got : "nothing");
		}
		if (json_array_size(pr) != np || json_array_size(mi) != nm)
			failf("exists: %zu present and %zu missing, want %zu and %zu",
			    json_array_size(pr), json_array_size(mi), np, nm);
		json_decref(j);
	}
	reply_clear(&r);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The paged listing must be exactly the live objects, in ID order. */
static void
check_listing(struct client *c, const char *vault, const struct object *objs, size_t n)
{
	char want[NOBJECTS][HEX_LEN + 1], got[NOBJECTS + 1][HEX_LEN + 1], after[HEX_LEN + 1] = "";
	char path[URL_MAX];
	size_t nwant = 0, ngot = 0, pages = 0;

	for (size_t i = 0; i < n; i++)
		if (!objs[i].deleted)
			memcpy(want[nwant++], objs[i].id, HEX_LEN + 1);
	qsort(want, nwant, sizeof(want[0]), cmp_id);
	for (;;) {
		struct reply r;
		json_t *j, *arr, *next;

		pathf(path, sizeof(path), "/v1/vaults/%s/objects/" KIND "?limit=%d%s%s", vault,
		    LIST_PAGE, after[0] ? "&after=" : "", after);
		if (request(c, "GET", path, NULL, 0, NULL, &r) != 0)
			return;
		if (expect(&r, 200, "listing") != 0 || (j = parse_json(&r, "listing")) == NULL) {
			reply_clear(&r);
			return;
		}
		reply_clear(&r);
		pages++;
		arr = json_object_get(j, "objects");
		next = json_object_get(j, "next");
		if (!json_is_array(arr) || json_array_size(arr) > LIST_PAGE)
			failf("listing page %zu: bad objects array", pages);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			json_t *e = json_array_get(arr, i);
			const char *id = json_string_value(json_object_get(e, "id"));
			if (id == NULL || strlen(id) != HEX_LEN || ngot == NOBJECTS + 1) {
				failf("listing page %zu: bad entry %zu", pages, i);
				continue;
			}
			for (size_t k = 0; k < n; k++)
				if (strcmp(objs[k].id, id) == 0 &&
				    json_integer_value(json_object_get(e, "size")) != (json_int_t)objs[k].size)
					failf("listing: %s has size %" JSON_INTEGER_FORMAT ", want %zu", id,
					    json_integer_value(json_object_get(e, "size")), objs[k].size);
			memcpy(got[ngot++], id, HEX_LEN + 1);
		}
		if (json_is_null(next)) {
			json_decref(j);
			break;
		}
		if (!json_is_string(next) || strlen(json_string_value(next)) != HEX_LEN ||
		    json_array_size(arr) == 0 ||
		    strcmp(json_string_value(next), got[ngot - 1]) != 0) {
			failf("listing page %zu: next is not the page's last ID", pages);
			json_decref(j);
			return;
		}
		memcpy(after, json_string_value(next), HEX_LEN + 1);
		json_decref(j);
		if (pages > NOBJECTS + 2) {
			failf("listing does not end");
			return;
		}
	}
	if (ngot != nwant) {
		failf("listing: %zu objects, want %zu", ngot, nwant);
		return;
	}
	for (size_t i = 0; i < ngot; i++)
		if (strcmp(got[i], want[i]) != 0)
			failf("listing position %zu: %s, want %s", i, got[i], want[i]);
	if (pages != (nwant + LIST_PAGE - 1) / LIST_PAGE && !(nwant == 0 && pages == 1))
		printf("note: %zu pages for %zu objects\n", pages, nwant);
}

static void
check_counters(struct client *c, const char *vault, const struct object *objs, size_t n)
{
	char path[URL_MAX];
	uint64_t count = 0, bytes = 0;
	struct reply r;
	json_t *j;

	for (size_t i = 0; i < n; i++)
		if (!objs[i].deleted) {
			count++;
			bytes += objs[i].size;
		}
	pathf(path, sizeof(path), "/v1/vaults/%s", vault);
	if (request(c, "GET", path, NULL, 0, NULL, &r) != 0)
		return;
	if (expect(&r, 200, "vault info") == 0 && (j = parse_json(&r, "vault info")) != NULL) {
		json_t *pack = json_object_get(json_object_get(j, "kinds"), KIND);
		if (json_integer_value(json_object_get(j, "objects")) != (json_int_t)count ||
		    json_integer_value(json_object_get(j, "bytes")) != (json_int_t)bytes ||
		    json_integer_value(json_object_get(pack, "objects")) != (json_int_t)count ||
		    json_integer_value(json_object_get(pack, "bytes")) != (json_int_t)bytes)
			failf("vault info: want %" PRIu64 " objects and %" PRIu64 " bytes, got %s", count,
			    bytes, r.body.p);
		json_decref(j);
	}
	reply_clear(&r);
}

int
main(int argc, char **argv)
{
	static struct object objs[NOBJECTS];
	char vault[64], path[URL_MAX];
	char ids[NOBJECTS + NABSENT][HEX_LEN + 1];
	int present[NOBJECTS + NABSENT];
	struct client c;
	struct reply r;
	size_t n = 0;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: vsp_client_test BASE-URL TOKEN [VAULT [SEED]]\n");
		return 2;
	}
	memset(&c, 0, sizeof(c));
	c.base = argv[1];
	if ((size_t)snprintf(c.auth, sizeof(c.auth), "Authorization: Bearer %s", argv[2]) >=
	    sizeof(c.auth)) {
		fprintf(stderr, "vsp_client_test: the token is too long\n");
		return 2;
	}
	if ((size_t)snprintf(vault, sizeof(vault), "%s", argc > 3 ? argv[3] : "") >= sizeof(vault)) {
		fprintf(stderr, "vsp_client_test: the vault name is too long\n");
		return 2;
	}
	if (vault[0] == '\0')
		snprintf(vault, sizeof(vault), "cclient-%ld", (long)getpid());
	rng_state = argc > 4 ? strtoull(argv[4], NULL, 10) :
	                       ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	if (rng_state == 0)
		rng_state = 1;
	printf("vsp_client_test: %s vault %s seed %" PRIu64 "\n", c.base, vault, rng_state);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (c.h = curl_easy_init()) == NULL) {
		fprintf(stderr, "vsp_client_test: libcurl failed to start\n");
		return 1;
	}

	/* The vault. */
	pathf(path, sizeof(path), "/v1/vaults/%s", vault);
	if (request(&c, "PUT", path, "", 0, NULL, &r) == 0)
		expect(&r, 201, "vault create");
	reply_clear(&r);
	if (failures > 0)
		goto out;

	/* 20 objects: an empty one, a one-byte one, then random sizes. */
	for (n = 0; n < NOBJECTS; n++) {
		struct object *o = &objs[n];
		o->size = n == 0 ? 0 : n == 1 ? 1 : (size_t)rng_below(MAX_OBJECT + 1);
		if ((o->data = malloc(o->size ? o->size : 1)) == NULL) {
			failf("out of memory");
			goto out;
		}
		for (size_t i = 0; i < o->size; i++)
			o->data[i] = (unsigned char)(rng() >> 56);
		if (id_of(o->data, o->size, o->id) != 0) {
			failf("SHA-256 failed");
			goto out;
		}
		check_put(&c, vault, o, 201);
	}
	/* Idempotent: a second PUT is 200. */
	check_put(&c, vault, &objs[2], 200);
	check_put(&c, vault, &objs[0], 200);
	printf("uploaded %d objects\n", NOBJECTS);

	for (size_t i = 0; i < NOBJECTS; i++) {
		check_head(&c, vault, &objs[i]);
		check_get(&c, vault, &objs[i]);
		for (int k = 0; k < NRANGES; k++)
			check_range(&c, vault, &objs[i]);
	}
	printf("checked HEAD, GET and %d ranges of each\n", NRANGES);

	/* Batch exists: the 20 with 5 absent IDs mixed in. */
	{
		size_t k = 0, a = 0;
		for (size_t i = 0; i < NOBJECTS; i++) {
			if (i % 4 == 1 && a < NABSENT) {
				uint8_t rnd[SHA256_LEN];
				for (size_t b = 0; b < sizeof(rnd); b++)
					rnd[b] = (uint8_t)(rng() >> 56);
				hex_of(rnd, sizeof(rnd), ids[k]);
				present[k++] = 0;
				a++;
			}
			memcpy(ids[k], objs[i].id, HEX_LEN + 1);
			present[k++] = 1;
		}
		check_exists(&c, vault, ids, present, k);
		check_listing(&c, vault, objs, NOBJECTS);
		check_counters(&c, vault, objs, NOBJECTS);

		/* Delete every other object, then check everything again. */
		for (size_t i = 0; i < NOBJECTS; i += 2) {
			object_path(path, sizeof(path), vault, objs[i].id);
			if (request(&c, "DELETE", path, NULL, 0, NULL, &r) == 0 &&
			    expect(&r, 204, "DELETE") == 0)
				objs[i].deleted = 1;
			reply_clear(&r);
			if (request(&c, "DELETE", path, NULL, 0, NULL, &r) == 0)
				expect(&r, 404, "second DELETE");
			reply_clear(&r);
		}
		printf("deleted %d objects\n", NOBJECTS / 2);
		for (size_t i = 0; i < k; i++) {
			for (size_t o = 0; o < NOBJECTS; o++)
				if (strcmp(ids[i], objs[o].id) == 0)
					present[i] = !objs[o].deleted;
		}
		check_exists(&c, vault, ids, present, k);
	}
	check_listing(&c, vault, objs, NOBJECTS);
	check_counters(&c, vault, objs, NOBJECTS);
	for (size_t i = 0; i < NOBJECTS; i++) {
		check_head(&c, vault, &objs[i]);
		check_get(&c, vault, &objs[i]);
	}
	printf("%ld requests on %ld connection(s)\n", c.requests, c.connects);

out:
	for (size_t i = 0; i < NOBJECTS; i++)
		free(objs[i].data);
	curl_easy_cleanup(c.h);
	curl_global_cleanup();
	if (failures > 0) {
		printf("vsp_client_test: %d check(s) failed\n", failures);
		return 1;
	}
	printf("vsp_client_test: all checks passed\n");
	return 0;
}
