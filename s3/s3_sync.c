/*
 * Blocking S3 calls built on s3_setup and curl_easy_perform (s3.h), and the
 * ListObjectsV2 page scanner. Each call uses one easy handle of its own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "s3.h"

#define CONNECT_TIMEOUT_S 10L
/* A transfer slower than 1 byte/s for this long is given up. */
#define LOW_SPEED_TIME_S 60L
#define LIST_QUERY_MAX (64 + 3 * (2 * S3_KEY_MAX + sizeof(((struct s3_list_page *)0)->next_token)))

/* A response body: grows up to max bytes, then the transfer is cut. */
struct sink {
	uint8_t *p;
	size_t len, cap, max;
	int over;
};

struct source {
	const uint8_t *p;
	size_t left;
};

/* What one request gives back. */
struct reply {
	long status;
	struct sink body;
	char etag[S3_ETAG_MAX];
	int has_length;            /* a Content-Length header came */
	uint64_t length;
};

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb, ncap;
	uint8_t *np;

	if (n > s->max - s->len) {
		s->over = 1;
		return 0;
	}
	if (n >= s->cap - s->len) {
		ncap = s->cap ? s->cap : 4096;
		while (ncap - s->len <= n)
			ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
		if ((np = realloc(s->p, ncap)) == NULL)
			return 0;
		s->p = np;
		s->cap = ncap;
	}
	memcpy(s->p + s->len, data, n);
	s->len += n;
	s->p[s->len] = 0;   /* keeps the body a string for the XML scanner */
	return n;
}

static size_t
source_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct source *s = arg;
	size_t n = size * nmemb;

	if (n > s->left)
		n = s->left;
	memcpy(buf, s->p, n);
	s->p += n;
	s->left -= n;
	return n;
}

/* Content-Length as a strict decimal, or -1. */
static int
parse_length(const char *p, size_t n, uint64_t *v)
{
	size_t i = 0;
	unsigned d;

	while (i < n && p[i] == ' ')
		i++;
	if (i == n || p[i] < '0' || p[i] > '9')
		return -1;
	for (*v = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		d = (unsigned)(p[i] - '0');
		if (*v > UINT64_MAX / 10 || (*v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -1;
		*v = *v * 10 + d;
	}
	while (i < n && (p[i] == ' ' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i == n ? 0 : -1;
}

/* Keeps the ETag (quotes removed) and Content-Length of the last answer. */
static size_t
header_line(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb, i = 5, e;

	if (n > 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new answer (after a 100 or a redirect): forget the last one's headers. */
		r->etag[0] = '\0';
		r->has_length = 0;
	}
	if (n > 15 && strncasecmp(data, "content-length:", 15) == 0)
		r->has_length = parse_length(data + 15, n - 15, &r->length) == 0;
	if (n > 5 && strncasecmp(data, "etag:", 5) == 0) {
		while (i < n && (data[i] == ' ' || data[i] == '"'))
			i++;
		e = n;
		while (e > i && (data[e - 1] == '\r' || data[e - 1] == '\n' || data[e - 1] == ' ' || data[e - 1] == '"'))
			e--;
		if (e - i < sizeof(r->etag)) {
			memcpy(r->etag, data + i, e - i);
			r->etag[e - i] = '\0';
		}
	}
	return n;
}

/*
 * One request: METHOD of key (or the bucket) with query and body src; the
 * answer in *r (the caller frees r->body.p). Returns 0 when an HTTP answer
 * came (whatever its status), -1 with err on a transport failure.
 */
static int
perform(const struct s3_conf *c, const char *method, const char *key, const char *query,
    const char *sha_hex, struct source *src, size_t body_max, struct reply *r, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	CURL *e;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->body.max = body_max;
	if ((e = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "S3 bucket %s: %s: curl_easy_init failed", c->bucket, method);
		return -1;
	}
	if (s3_setup_query(e, c, method, key, query, sha_hex, src ? src->left : 0, &hdrs, err, errlen) != 0)
		goto done;
	if (src != NULL) {
		curl_easy_setopt(e, CURLOPT_READFUNCTION, source_read);
		curl_easy_setopt(e, CURLOPT_READDATA, src);
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_line);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S);
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK) {
		if (r->body.over)
			snprintf(err, errlen, "S3 bucket %s: %s %s%s: the answer is over %zu bytes", c->bucket, method,
			    c->prefix, key ? key : "(bucket)", body_max);
		else
			snprintf(err, errlen, "S3 bucket %s: %s %s%s: %s (%s)", c->bucket, method, c->prefix,
			    key ? key : "(bucket)", curl_easy_strerror(rc), cerr[0] ? cerr : c->endpoint);
		goto done;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	ret = 0;
done:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
	return ret;
}

static int
status_ok(long status)
{
	return status >= 200 && status < 300;
}

static void
reply_error(const struct reply *r, const char *method, const struct s3_conf *c, const char *key,
    char *err, size_t errlen)
{
	s3_error_message(r->status, method, c, key, (const char *)r->body.p, r->body.len, err, errlen);
}

int
s3_put_buffer(const struct s3_conf *c, const char *key, const void *buf, size_t len,
    const char *sha_hex, char *err, size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[S3_SHA256_HEX_LEN + 1];
	unsigned int mdlen = 0, i;
	struct source src = {buf, len};
	struct reply r;
	int rc = -1;

	if (sha_hex == NULL) {
		if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
			snprintf(err, errlen, "S3 bucket %s: PUT %s: SHA-256 failed", c->bucket, key);
			return -1;
		}
		for (i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		sha_hex = hex;
	}
	if (perform(c, "PUT", key, NULL, sha_hex, &src, S3_ERR_BODY_MAX, &r, err, errlen) != 0)
		goto done;
	if (!status_ok(r.status)) {
		reply_error(&r, "PUT", c, key, err, errlen);
		goto done;
	}
	rc = 0;
done:
	free(r.body.p);
	return rc;
}

int
s3_head(const struct s3_conf *c, const char *key, uint64_t *size, char *etag_out, char *err, size_t errlen)
{
	struct reply r;
	int rc = -1;

	if (etag_out != NULL)
		etag_out[0] = '\0';
	if (perform(c, "HEAD", key, NULL, NULL, NULL, S3_ERR_BODY_MAX, &r, err, errlen) != 0)
		goto done;
	if (r.status == 404) {
		rc = 1;
		goto done;
	}
	if (!status_ok(r.status)) {
		reply_error(&r, "HEAD", c, key, err, errlen);
		goto done;
	}
	if (!r.has_length) {
		snprintf(err, errlen, "S3 bucket %s: HEAD %s%s: the answer has no valid Content-Length",
		    c->bucket, c->prefix, key);
		goto done;
	}
	if (size != NULL)
		*size = r.length;
	if (etag_out != NULL)
		snprintf(etag_out, S3_ETAG_MAX, "%s", r.etag);
	rc = 0;
done:
	free(r.body.p);
	return rc;
}

int
s3_get_buffer(const struct s3_conf *c, const char *key, uint8_t **buf, size_t *len, size_t max,
    char *err, size_t errlen)
{
	char code[64];
	struct reply r;
	size_t pos = 0;
	int rc = -1;

	*buf = NULL;
	*len = 0;
	/* An error body must fit even when max is tiny. */
	if (perform(c, "GET", key, NULL, NULL, NULL, max > S3_ERR_BODY_MAX ? max : S3_ERR_BODY_MAX,
	    &r, err, errlen) != 0)
		goto done;
	if (r.status == 404 && r.body.p != NULL &&
	    s3_xml_find((const char *)r.body.p, r.body.len, "Code", &pos, code, sizeof(code)) == 1 &&
	    strcmp(code, "NoSuchKey") == 0) {
		rc = 1;
		goto done;
	}
	if (!status_ok(r.status)) {
		reply_error(&r, "GET", c, key, err, errlen);
		goto done;
	}
	if (r.body.len > max) {
		snprintf(err, errlen, "S3 bucket %s: GET %s%s: the object is over %zu bytes", c->bucket,
		    c->prefix, key, max);
		goto done;
	}
	if (r.has_length && r.length != r.body.len) {
		snprintf(err, errlen, "S3 bucket %s: GET %s%s: %zu bytes came of %" PRIu64, c->bucket,
		    c->prefix, key, r.body.len, r.length);
		goto done;
	}
	if (r.body.p == NULL && (r.body.p = malloc(1)) == NULL) {
		snprintf(err, errlen, "S3 bucket %s: GET %s%s: out of memory", c->bucket, c->prefix, key);
		goto done;
	}
	*buf = r.body.p;
	*len = r.body.len;
	r.body.p = NULL;
	rc = 0;
done:
	free(r.body.p);
	return rc;
}

int
s3_delete(const struct s3_conf *c, const char *key, char *err, size_t errlen)
{
	struct reply r;
	int rc = -1;

	if (perform(c, "DELETE", key, NULL, NULL, NULL, S3_ERR_BODY_MAX, &r, err, errlen) != 0)
		goto done;
	if (!status_ok(r.status)) {
		reply_error(&r, "DELETE", c, key, err, errlen);
		goto done;
	}
	rc = 0;
done:
	free(r.body.p);
	return rc;
}

/* Strict decimal (no sign, no spaces) into *v; 0 or -1. */
static int
parse_u64(const char *s, uint64_t *v)
{
	size_t n = strlen(s);

	return n > 0 && n <= 20 && strspn(s, "0123456789") == n ? parse_length(s, n, v) : -1;
}

/* A short printable copy of a key a server sent, for an error sentence. */
static const char *
shown(const char *key, char *buf, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n && key[i]; i++)
		buf[i] = (unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e ? '?' : key[i];
	buf[i] = '\0';
	return buf;
}

/* The next <Contents> element at or after *pos: [*s, *e) is its inside; 1, 0 at the end, -1. */
static int
next_contents(const char *body, size_t len, size_t *pos, const char **s, const char **e)
{
	static const char open[] = "<Contents>", close[] = "</Contents>";

	if ((*s = memmem(body + *pos, len - *pos, open, sizeof(open) - 1)) == NULL)
		return 0;
	*s += sizeof(open) - 1;
	if ((*e = memmem(*s, len - (size_t)(*s - body), close, sizeof(close) - 1)) == NULL)
		return -1;
	*pos = (size_t)(*e - body) + sizeof(close) - 1;
	return 1;
}

int
s3_list_parse(const char *body, size_t len, const char *strip, s3_list_cb cb, void *arg,
    struct s3_list_page *page, char *err, size_t errlen)
{
	char key[S3_KEY_MAX + 1], num[32], trunc[8] = "", show[200];
	const char *s, *e;
	size_t pos = 0, kp, sl = strlen(strip), tail;
	uint64_t size;
	int r;

	memset(page, 0, sizeof(*page));
	while ((r = next_contents(body, len, &pos, &s, &e)) == 1) {
		kp = 0;
		if (s3_xml_find(s, (size_t)(e - s), "Key", &kp, key, sizeof(key)) != 1 ||
		    strncmp(key, strip, sl) != 0) {
			snprintf(err, errlen, "S3 listing: an object without a valid <Key> under \"%s\"", strip);
			return -1;
		}
		/* The prefix itself (a "folder" object some tools make) is no key of ours. */
		if (key[sl] == '\0')
			continue;
		kp = 0;
		if (s3_xml_find(s, (size_t)(e - s), "Size", &kp, num, sizeof(num)) != 1 || parse_u64(num, &size) != 0) {
			snprintf(err, errlen, "S3 listing: object %s has no valid <Size>", shown(key, show, sizeof(show)));
			return -1;
		}
		page->count++;
		if ((r = cb(arg, key + sl, size)) != 0) {
			snprintf(err, errlen, "S3 listing: stopped by the caller at %s", shown(key, show, sizeof(show)));
			return r;
		}
	}
	if (r < 0) {
		snprintf(err, errlen, "S3 listing: a <Contents> element is not closed");
		return -1;
	}
	/* The page's own fields come after the last object. */
	tail = 0;
	if (s3_xml_find(body, len, "IsTruncated", &tail, trunc, sizeof(trunc)) < 0) {
		snprintf(err, errlen, "S3 listing: malformed <IsTruncated>");
		return -1;
	}
	page->truncated = strcmp(trunc, "true") == 0 && tail > 0;
	tail = 0;
	r = s3_xml_find(body, len, "NextContinuationToken", &tail, page->next_token, sizeof(page->next_token));
	if (r < 0 || (page->truncated && (r == 0 || page->next_token[0] == '\0'))) {
		snprintf(err, errlen, "S3 listing: a truncated page without a valid NextContinuationToken");
		return -1;
	}
	if (r == 0)
		page->next_token[0] = '\0';
	return 0;
}

/* The canonical query of one ListObjectsV2 page, names in sorted order. */
static int
list_query(const char *full_prefix, unsigned max_keys, const char *token, char *q, size_t qlen)
{
	char etok[3 * sizeof(((struct s3_list_page *)0)->next_token)], epre[3 * 2 * S3_KEY_MAX + 1];
	char mk[32] = "";
	int n;

	if (s3_uri_encode(token, 0, etok, sizeof(etok)) != 0 || s3_uri_encode(full_prefix, 0, epre, sizeof(epre)) != 0)
		return -1;
	if (max_keys > 0)
		snprintf(mk, sizeof(mk), "max-keys=%u&", max_keys);
	n = snprintf(q, qlen, "%s%s%slist-type=2&%sprefix=%s", token[0] ? "continuation-token=" : "", etok,
	    token[0] ? "&" : "", mk, epre);
	return n < 0 || (size_t)n >= qlen ? -1 : 0;
}

int
s3_list_paged(const struct s3_conf *c, const char *prefix, unsigned max_keys, s3_list_cb cb, void *arg,
    char *err, size_t errlen)
{
	char full[2 * S3_KEY_MAX + 1], *q, prev[sizeof(((struct s3_list_page *)0)->next_token)];
	struct s3_list_page page;
	struct reply r = {0};
	int rc = -1, n;

	if (max_keys > 1000) {
		snprintf(err, errlen, "S3 bucket %s: a listing page holds at most 1000 keys", c->bucket);
		return -1;
	}
	n = snprintf(full, sizeof(full), "%s%s", c->prefix, prefix ? prefix : "");
	if (n < 0 || (size_t)n >= sizeof(full) || (q = malloc(LIST_QUERY_MAX)) == NULL) {
		snprintf(err, errlen, "S3 bucket %s: listing: prefix too long or out of memory", c->bucket);
		return -1;
	}
	page.next_token[0] = '\0';
	do {
		free(r.body.p);
		r.body.p = NULL;
		if (list_query(full, max_keys, page.next_token, q, LIST_QUERY_MAX) != 0) {
			snprintf(err, errlen, "S3 bucket %s: listing: the continuation token is too long", c->bucket);
			goto done;
		}
		if (perform(c, "GET", NULL, q, NULL, NULL, 64 << 20, &r, err, errlen) != 0)
			goto done;
		if (!status_ok(r.status)) {
			reply_error(&r, "GET", c, NULL, err, errlen);
			goto done;
		}
		memcpy(prev, page.next_token, sizeof(prev));
		if ((rc = s3_list_parse(r.body.p ? (const char *)r.body.p : "", r.body.len, c->prefix, cb, arg,
		    &page, err, errlen)) != 0)
			goto done;
		rc = -1;
		/* A server that hands back the same token would keep us here forever. */
		if (page.truncated && strcmp(prev, page.next_token) == 0) {
			snprintf(err, errlen, "S3 bucket %s: listing: the server repeats a continuation token", c->bucket);
			goto done;
		}
	} while (page.truncated);
	rc = 0;
done:
	free(r.body.p);
	free(q);
	return rc;
}

int
s3_list(const struct s3_conf *c, const char *prefix, s3_list_cb cb, void *arg, char *err, size_t errlen)
{
	return s3_list_paged(c, prefix, 0, cb, arg, err, errlen);
}
