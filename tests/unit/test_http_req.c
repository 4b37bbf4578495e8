/*
 * The request reader (vaultd/http_req.c) on plain byte strings: a request fed
 * byte by byte, in small pieces or in one piece gives the same result; the
 * limits of spec/vsp.md section 12 (414, 431, Authorization and Range
 * lengths); duplicate Authorization and Range; the body framing it reports;
 * pausing in on_headers and after every request, as server.c relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_req.h"
#include "vsp.h"

#define LOG_MAX 65536
#define BODY_MAX 4096

/* What the callbacks saw, written out as text so that two runs compare with
 * one strcmp. */
struct rec {
	struct http_in in;
	int pause_headers;     /* on_headers returns 1 */
	enum vsp_err fail_headers; /* on_headers fails with this, if set */
	char log[LOG_MAX];
	size_t log_len;
	char body[BODY_MAX];
	size_t body_len;
	struct http_req last;  /* the last header block */
	unsigned headers, completes;
	size_t offset;         /* bytes of the stream consumed so far */
	enum vsp_err err;      /* how run() ended: VSP_OK unless HTTP_ERROR */
};

static void
logf_(struct rec *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->log + r->log_len, LOG_MAX - r->log_len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < LOG_MAX - r->log_len);
	r->log_len += (size_t)n;
}

static int
on_headers(void *arg, struct http_req *h)
{
	struct rec *r = arg;

	assert_true(http_in_started(&r->in));
	logf_(r, "H m=%d url=%s auth=[%s] range=%d[%s] cl=%d/%llu te=%d expect=%d ka=%d hb=%zu\n",
	    h->method, h->url, h->auth, h->has_range, h->range, h->has_content_length,
	    (unsigned long long)h->content_length, h->chunked, h->expect_continue,
	    h->keep_alive, h->header_bytes);
	r->last = *h;
	r->headers++;
	r->body_len = 0;
	if (r->fail_headers != VSP_OK) {
		http_in_fail(&r->in, r->fail_headers, "refused by the test");
		return -1;
	}
	return r->pause_headers;
}

static int
on_body(void *arg, const char *data, size_t len)
{
	struct rec *r = arg;

	assert_true(BODY_MAX - r->body_len >= len);
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	return 0;
}

static int
on_complete(void *arg)
{
	struct rec *r = arg;

	assert_false(http_in_started(&r->in));
	logf_(r, "C body=%zu[%.*s]\n", r->body_len, (int)r->body_len, r->body);
	r->completes++;
	return 0;
}

static const struct http_in_cbs cbs = {
	.on_headers = on_headers,
	.on_body = on_body,
	.on_complete = on_complete,
};

static struct rec *
rec_new(int pause_headers)
{
	struct rec *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	http_in_init(&r->in, &cbs, r);
	r->pause_headers = pause_headers;
	return r;
}

/*
 * Feeds one read the way server.c does: after HTTP_PAUSED, resume and go on
 * with the bytes not consumed. Logs each pause with its offset in the stream.
 * Returns HTTP_ERROR or HTTP_DONE.
 */
static enum http_exec
feed(struct rec *r, const char *p, size_t len)
{
	for (;;) {
		size_t used = (size_t)-1;
		enum http_exec rc = http_in_execute(&r->in, p, len, &used);

		assert_true(used <= len);
		r->offset += used;
		if (rc != HTTP_PAUSED) {
			if (rc == HTTP_DONE)
				assert_int_equal(used, len);
			return rc;
		}
		logf_(r, "P@%zu\n", r->offset);
		http_in_resume(&r->in);
		p += used;
		len -= used;
		if (len == 0)
			return HTTP_DONE;
	}
}

/* Feeds all of s in pieces of step bytes (0: one piece). Logs the outcome. */
static struct rec *
run(const char *s, size_t len, size_t step, int pause_headers)
{
	struct rec *r = rec_new(pause_headers);
	enum http_exec rc = HTTP_DONE;

	for (size_t off = 0; off < len && rc != HTTP_ERROR;) {
		size_t n = step == 0 || step > len - off ? len - off : step;
		rc = feed(r, s + off, n);
		off += n;
	}
	if (rc == HTTP_ERROR) {
		const char *msg = NULL;
		enum vsp_err err = http_in_error(&r->in, &msg);
		assert_non_null(msg);
		assert_int_not_equal(err, VSP_OK);
		r->err = err;
		logf_(r, "E %s\n", vsp_err_code(err));
	} else {
		logf_(r, "OK\n");
	}
	return r;
}

static struct rec *
run_str(const char *s, size_t step, int pause_headers)
{
	return run(s, strlen(s), step, pause_headers);
}

/* The error the whole string ends in (VSP_OK if none), the same in one piece
 * and byte by byte. */
static enum vsp_err
outcome(const char *s, size_t len, struct http_req *last)
{
	struct rec *whole = run(s, len, 0, 0), *bytes = run(s, len, 1, 0);
	enum vsp_err err = whole->err;

	assert_string_equal(whole->log, bytes->log);
	assert_int_equal(whole->err, bytes->err);
	if (last != NULL)
		*last = whole->last;
	free(whole);
	free(bytes);
	return err;
}

static enum vsp_err
outcome_str(const char *s, struct http_req *last)
{
	return outcome(s, strlen(s), last);
}

#define TOKEN "Bearer vt1_0001020304050607_" \
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
#define ID_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static const char *const requests[] = {
	"GET /v1/capabilities HTTP/1.1\r\nHost: v\r\n\r\n",
	"HEAD /v1/capabilities HTTP/1.1\r\n\r\n",
	"GET /v1/vaults HTTP/1.1\r\nAuthorization: " TOKEN "\r\n\r\n",
	"PUT /v1/vaults/laptop HTTP/1.1\r\nAuthorization: " TOKEN "\r\nContent-Length: 0\r\n\r\n",
	"PUT /v1/vaults/laptop/config HTTP/1.1\r\nAuthorization: " TOKEN "\r\n"
	"Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
	"PUT /v1/vaults/v/objects/pack/" ID_A " HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
	"GET /v1/vaults/v/objects/pack/" ID_A " HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n",
	"DELETE /v1/vaults/v/objects/pack/" ID_A " HTTP/1.1\r\n\r\n",
	"GET /v1/vaults/v/objects/pack?after=" ID_A "&limit=10 HTTP/1.1\r\n\r\n",
	"POST /v1/vaults/v/objects/pack/exists HTTP/1.1\r\nContent-Type: application/json\r\n"
	"Content-Length: 10\r\n\r\n{\"ids\":[]}",
	/* Pipelined, with a body in the middle. */
	"GET /v1/capabilities HTTP/1.1\r\n\r\n"
	"PUT /v1/vaults/a/config HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
	"HEAD /v1/vaults/a HTTP/1.1\r\nConnection: close\r\n\r\n",
	/* Chunked, with an extension and a trailer. */
	"PUT /v1/vaults/v/config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	"1\r\na\r\n2;x=y\r\nbc\r\n0\r\nX-T: 1\r\n\r\n",
	"GET /v1/vaults HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /v1/vaults HTTP/1.0\r\n\r\n",
	/* Errors. */
	"GET /v1/vaults HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n",
	"GET /v1/vaults HTTP/1.1\r\nRange: bytes=0-1\r\nrange: bytes=0-1\r\n\r\n",
	"PUT /v1/vaults/v/config HTTP/1.1\r\nContent-Length: 1\r\n"
	"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"PUT /v1/vaults/v/config HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
	"GET /v1/vaults HTTP/9.9\r\n\r\n",
	"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	"GET /v1/vaults\x01 HTTP/1.1\r\n\r\n",
	"GET /v1/vaults HTTP/1.1\r\nBad Header: x\r\n\r\n",
};

static void
test_split_invariance(void **state)
{
	static const size_t steps[] = {1, 2, 3, 7, 64};

	(void)state;
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		for (int pause = 0; pause <= 1; pause++) {
			struct rec *whole = run_str(requests[i], 0, pause);

			assert_true(whole->log_len > 0);
			for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
				struct rec *r = run_str(requests[i], steps[s], pause);
				if (strcmp(whole->log, r->log) != 0)
					fail_msg("request %zu, pieces of %zu, pause %d:\n"
					    "whole:\n%s\npieces:\n%s", i, steps[s], pause,
					    whole->log, r->log);
				free(r);
			}
			free(whole);
		}
	}
}

static void
test_fields(void **state)
{
	struct http_req h;

	(void)state;
	assert_int_equal(outcome_str("GET /v1/vaults/v/objects/pack/" ID_A " HTTP/1.1\r\n"
	    "Host: vault\r\nAuthorization: " TOKEN "\r\nRange: bytes=2-5\r\n\r\n", &h),
	    VSP_OK);
	assert_int_equal(h.method, HTTP_GET);
	assert_string_equal(h.url, "/v1/vaults/v/objects/pack/" ID_A);
	assert_int_equal(h.url_len, strlen(h.url));
	assert_string_equal(h.auth, TOKEN);
	assert_int_equal(h.has_range, 1);
	assert_string_equal(h.range, "bytes=2-5");
	assert_int_equal(h.has_content_length, 0);
	assert_int_equal(h.chunked, 0);
	assert_int_equal(h.expect_continue, 0);
	assert_int_equal(h.keep_alive, 1);
	/* Target, field names and values: no spaces, colons or CRLFs. */
	assert_int_equal(h.header_bytes, strlen(h.url) + strlen("Host") + strlen("vault") +
	    strlen("Authorization") + strlen(TOKEN) + strlen("Range") + strlen("bytes=2-5"));

	/* Field names are case-insensitive; absent ones stay empty. */
	assert_int_equal(outcome_str("HEAD /v1/capabilities HTTP/1.1\r\n"
	    "AUTHORIZATION: x\r\nrAnGe: bytes=-1\r\n\r\n", &h), VSP_OK);
	assert_int_equal(h.method, HTTP_HEAD);
	assert_string_equal(h.auth, "x");
	assert_string_equal(h.range, "bytes=-1");
	assert_int_equal(outcome_str("GET /v1/capabilities HTTP/1.1\r\n\r\n", &h), VSP_OK);
	assert_string_equal(h.auth, "");
	assert_int_equal(h.has_range, 0);
	assert_string_equal(h.range, "");
}

static void
test_body_framing(void **state)
{
	struct http_req h;

	(void)state;
	/* Content-Length. */
	assert_int_equal(outcome_str("PUT /v1/vaults/v/config HTTP/1.1\r\n"
	    "Content-Length: 5\r\n\r\nhello", &h), VSP_OK);
	assert_int_equal(h.method, HTTP_PUT);
	assert_int_equal(h.has_content_length, 1);
	assert_int_equal(h.content_length, 5);
	assert_int_equal(h.chunked, 0);
	assert_int_equal(outcome_str("PUT /v1/vaults/v/config HTTP/1.1\r\n"
	    "Content-Length: 0\r\n\r\n", &h), VSP_OK);
	assert_int_equal(h.has_content_length, 1);
	assert_int_equal(h.content_length, 0);
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\n"
	    "Content-Length: 1073741824\r\n\r\n", &h), VSP_OK);
	assert_int_equal(h.content_length, UINT64_C(1) << 30);

	/* Transfer-Encoding, chunked or not (the server answers 411). */
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\n", &h), VSP_OK);
	assert_int_equal(h.chunked, 1);
	assert_int_equal(h.has_content_length, 0);
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
	    "0\r\n\r\n", &h), VSP_OK);
	assert_int_equal(h.chunked, 1);

	/* Both: a smuggling pattern, 400. Two lengths: 400. A bad one: 400. */
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", NULL), VSP_E_MALFORMED);
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n0\r\n\r\n", NULL), VSP_E_MALFORMED);
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Content-Length: 3\r\n\r\nabc", NULL), VSP_E_MALFORMED);
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", NULL),
	    VSP_E_MALFORMED);
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\n"
	    "Content-Length: 99999999999999999999999\r\n\r\n", NULL), VSP_E_MALFORMED);

	/* Expect: 100-continue, case-insensitive; anything else is ignored. */
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\n"
	    "Content-Length: 1\r\n\r\nx", &h), VSP_OK);
	assert_int_equal(h.expect_continue, 1);
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\nexpect: 100-Continue\r\n"
	    "Content-Length: 1\r\n\r\nx", &h), VSP_OK);
	assert_int_equal(h.expect_continue, 1);
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\nExpect: 100-continue-please\r\n"
	    "Content-Length: 1\r\n\r\nx", &h), VSP_OK);
	assert_int_equal(h.expect_continue, 0);
	assert_int_equal(outcome_str("PUT /x HTTP/1.1\r\nExpect: 200-ok\r\n"
	    "Content-Length: 1\r\n\r\nx", &h), VSP_OK);
	assert_int_equal(h.expect_continue, 0);

	/* Keep-alive: HTTP/1.1 by default, HTTP/1.0 only when asked. */
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\n\r\n", &h), VSP_OK);
	assert_int_equal(h.keep_alive, 1);
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\nConnection: close\r\n\r\n", &h),
	    VSP_OK);
	assert_int_equal(h.keep_alive, 0);
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\nConnection: Close\r\n\r\n", &h),
	    VSP_OK);
	assert_int_equal(h.keep_alive, 0);
	assert_int_equal(outcome_str("GET /x HTTP/1.0\r\n\r\n", &h), VSP_OK);
	assert_int_equal(h.keep_alive, 0);
	assert_int_equal(outcome_str("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &h),
	    VSP_OK);
	assert_int_equal(h.keep_alive, 1);
}

/*
 * The protocol version (spec/vsp.md 6.2): HTTP/1.1 and HTTP/1.0 (same major
 * version, RFC 9112 2.6) are read; a request line without a version (an
 * HTTP/0.9 "simple request", even with header lines after it) is malformed;
 * any other well-formed version gets 505, before any callback sees it, so
 * an authenticated route is never served over it.
 */
static void
test_http_version(void **state)
{
	static const char *const other[] = {
		"GET /v1/capabilities HTTP/2.0\r\nHost: v\r\n\r\n",
		"GET /v1/vaults HTTP/2.0\r\nAuthorization: " TOKEN "\r\n\r\n",
		"GET /v1/capabilities HTTP/0.9\r\n\r\n",
		"GET /v1/capabilities HTTP/3.0\r\n\r\n",
		"PUT /v1/vaults/v HTTP/2.0\r\nContent-Length: 1\r\n\r\nx",
		"GET /v1/capabilities HTTP/1.2\r\n\r\n",
		"GET /v1/capabilities HTTP/9.9\r\n\r\n",
	};
	static const char *const none[] = {
		"GET /v1/vaults\r\nAuthorization: " TOKEN "\r\n\r\n",
		"GET /v1/capabilities\r\n\r\n",
		"GET /v1/capabilities\r\nHost: v\r\n\r\n",
		"GET /v1/capabilities HTTP/x.1\r\n\r\n",
		"GET /v1/capabilities HTTP/1.x\r\n\r\n",
		"GET /v1/capabilities HTTP/11.0\r\n\r\n",
		"GET /v1/capabilities HTTP/\r\n\r\n",
		"GET /v1/capabilities HTTP/1.1 extra\r\n\r\n",
		"GET /v1/capabilities HTTP/1.1x\r\n\r\n",
	};
	struct rec *r;

	(void)state;
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(outcome_str(other[i], NULL), VSP_E_VERSION);
		r = run_str(other[i], 0, 0);
		assert_int_equal(r->headers, 0);
		free(r);
	}
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		assert_int_equal(outcome_str(none[i], NULL), VSP_E_MALFORMED);
		r = run_str(none[i], 0, 0);
		assert_int_equal(r->headers, 0);
		free(r);
	}
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\n\r\n", NULL), VSP_OK);
	assert_int_equal(outcome_str("GET /x HTTP/1.0\r\n\r\n", NULL), VSP_OK);
	assert_int_equal(vsp_err_status(VSP_E_VERSION), 505);
}

/* A request line with a target of n bytes ("/" and then 'a's). */
static char *
long_target(size_t n, size_t *len)
{
	static const char pre[] = "GET ", post[] = " HTTP/1.1\r\n\r\n";
	char *s = malloc(sizeof(pre) + n + sizeof(post));

	assert_non_null(s);
	memcpy(s, pre, sizeof(pre) - 1);
	s[sizeof(pre) - 1] = '/';
	memset(s + sizeof(pre), 'a', n - 1);
	memcpy(s + sizeof(pre) - 1 + n, post, sizeof(post));
	*len = strlen(s);
	return s;
}

static void
test_url_limit(void **state)
{
	struct http_req h;
	size_t len;
	char *s;

	(void)state;
	s = long_target(HTTP_URL_MAX, &len);
	assert_int_equal(outcome(s, len, &h), VSP_OK);
	assert_int_equal(h.url_len, HTTP_URL_MAX);
	assert_int_equal(strlen(h.url), HTTP_URL_MAX);
	free(s);

	s = long_target(HTTP_URL_MAX + 1, &len);
	assert_int_equal(outcome(s, len, NULL), VSP_E_URI_TOO_LONG);
	assert_int_equal(vsp_err_status(VSP_E_URI_TOO_LONG), 414);
	free(s);

	s = long_target(3 * HTTP_URL_MAX, &len);
	assert_int_equal(outcome(s, len, NULL), VSP_E_URI_TOO_LONG);
	free(s);
}

/* A request whose header block (target, names, values) is n bytes: target
 * "/", then X-Pad headers of up to 1000-byte values. */
static char *
header_block(size_t n, size_t *len)
{
	size_t left = n - 1, cap = n * 2 + 64, off = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	off += (size_t)sprintf(s, "GET / HTTP/1.1\r\n");
	while (left > 0) {
		size_t v = left - strlen("X-Pad");
		if (v > 1000)
			v = 1000;
		assert_true(left >= strlen("X-Pad"));
		off += (size_t)sprintf(s + off, "X-Pad: ");
		memset(s + off, 'v', v);
		off += v;
		off += (size_t)sprintf(s + off, "\r\n");
		left -= strlen("X-Pad") + v;
		/* Never leave less than a name's worth for the last one. */
		if (left > 0 && left < strlen("X-Pad") + 1)
			abort();
	}
	off += (size_t)sprintf(s + off, "\r\n");
	assert_true(off < cap);
	*len = off;
	return s;
}

static void
test_header_block_limit(void **state)
{
	struct http_req h;
	size_t len;
	char *s;

	(void)state;
	/* 16384 = 1 + 16 * 1005 + 303: the last X-Pad has a 298-byte value. */
	s = header_block(HTTP_HEADER_BYTES_MAX, &len);
	assert_int_equal(outcome(s, len, &h), VSP_OK);
	assert_int_equal(h.header_bytes, HTTP_HEADER_BYTES_MAX);
	free(s);

	s = header_block(HTTP_HEADER_BYTES_MAX + 1, &len);
	assert_int_equal(outcome(s, len, NULL), VSP_E_HEADERS_TOO_LARGE);
	assert_int_equal(vsp_err_status(VSP_E_HEADERS_TOO_LARGE), 431);
	free(s);

	s = header_block(4 * HTTP_HEADER_BYTES_MAX, &len);
	assert_int_equal(outcome(s, len, NULL), VSP_E_HEADERS_TOO_LARGE);
	free(s);
}

/* A GET with one header name: value of n bytes of c. */
static char *
one_header(const char *name, size_t n, char c, size_t *len)
{
	char *s = malloc(64 + strlen(name) + n);
	int off;

	assert_non_null(s);
	off = sprintf(s, "GET /v1/vaults HTTP/1.1\r\n%s: ", name);
	memset(s + off, c, n);
	strcpy(s + off + n, "\r\n\r\n");
	*len = strlen(s);
	return s;
}

static void
test_value_limits(void **state)
{
	struct http_req h;
	size_t len;
	char *s;

	(void)state;
	s = one_header("Authorization", HTTP_AUTH_MAX, 'a', &len);
	assert_int_equal(outcome(s, len, &h), VSP_OK);
	assert_int_equal(strlen(h.auth), HTTP_AUTH_MAX);
	free(s);
	s = one_header("Authorization", HTTP_AUTH_MAX + 1, 'a', &len);
	assert_int_equal(outcome(s, len, NULL), VSP_E_HEADERS_TOO_LARGE);
	free(s);
	s = one_header("authorization", 4000, 'a', &len);
	assert_int_equal(outcome(s, len, NULL), VSP_E_HEADERS_TOO_LARGE);
	free(s);

	s = one_header("Range", HTTP_RANGE_MAX, '1', &len);
	assert_int_equal(outcome(s, len, &h), VSP_OK);
	assert_int_equal(strlen(h.range), HTTP_RANGE_MAX);
	assert_int_equal(h.has_range, 1);
	free(s);
	s = one_header("Range", HTTP_RANGE_MAX + 1, '1', &len);
	assert_int_equal(outcome(s, len, NULL), VSP_E_HEADERS_TOO_LARGE);
	free(s);

	/* Headers the reader does not keep may be long (within the block). */
	s = one_header("X-Long", 8000, 'x', &len);
	assert_int_equal(outcome(s, len, NULL), VSP_OK);
	free(s);
	/* So may their names: a long name is not mistaken for ours. */
	s = one_header("Authorization-But-With-A-Much-Longer-Name-Than-Sixty-Four-Bytes-"
	    "Authorization", 300, 'x', &len);
	assert_int_equal(outcome(s, len, &h), VSP_OK);
	assert_string_equal(h.auth, "");
	free(s);
}

static void
test_duplicates(void **state)
{
	(void)state;
	assert_int_equal(outcome_str("GET /v1/vaults HTTP/1.1\r\nAuthorization: " TOKEN "\r\n"
	    "Authorization: " TOKEN "\r\n\r\n", NULL), VSP_E_MALFORMED);
	assert_int_equal(outcome_str("GET /v1/vaults HTTP/1.1\r\nAuthorization: a\r\n"
	    "X-Other: 1\r\nauthorization: b\r\n\r\n", NULL), VSP_E_MALFORMED);
	assert_int_equal(outcome_str("GET /v1/vaults HTTP/1.1\r\nRange: bytes=0-1\r\n"
	    "RANGE: bytes=2-3\r\n\r\n", NULL), VSP_E_MALFORMED);
	assert_int_equal(vsp_err_status(VSP_E_MALFORMED), 400);
	/* Two requests with one Authorization each are fine. */
	assert_int_equal(outcome_str("GET /a HTTP/1.1\r\nAuthorization: a\r\nRange: bytes=0-1\r\n\r\n"
	    "GET /b HTTP/1.1\r\nAuthorization: b\r\nRange: bytes=0-1\r\n\r\n", NULL), VSP_OK);
}

static void
test_pause_on_headers(void **state)
{
	static const char head[] = "PUT /v1/vaults/v/objects/pack/" ID_A " HTTP/1.1\r\n"
	    "Content-Length: 3\r\n\r\n";
	static const char req[] = "PUT /v1/vaults/v/objects/pack/" ID_A " HTTP/1.1\r\n"
	    "Content-Length: 3\r\n\r\nabc";
	struct rec *r = rec_new(1);
	size_t used = 0;

	(void)state;
	assert_int_equal(http_in_execute(&r->in, req, strlen(req), &used), HTTP_PAUSED);
	assert_int_equal(used, strlen(head));
	assert_int_equal(r->headers, 1);
	assert_int_equal(r->body_len, 0);
	assert_int_equal(r->completes, 0);
	assert_true(http_in_started(&r->in));

	/* The owner does its work (a threadpool item in server.c), then: */
	http_in_resume(&r->in);
	assert_int_equal(http_in_execute(&r->in, req + used, strlen(req) - used, &used),
	    HTTP_PAUSED);
	assert_int_equal(used, 3);
	assert_int_equal(r->body_len, 3);
	assert_memory_equal(r->body, "abc", 3);
	assert_int_equal(r->completes, 1);
	assert_false(http_in_started(&r->in));
	http_in_resume(&r->in);
	free(r);

	/* The body arriving in a later read than the header block. */
	r = rec_new(1);
	assert_int_equal(http_in_execute(&r->in, head, strlen(head), &used), HTTP_PAUSED);
	assert_int_equal(used, strlen(head));
	http_in_resume(&r->in);
	assert_int_equal(http_in_execute(&r->in, "ab", 2, &used), HTTP_DONE);
	assert_int_equal(used, 2);
	assert_int_equal(r->completes, 0);
	assert_int_equal(http_in_execute(&r->in, "c", 1, &used), HTTP_PAUSED);
	assert_int_equal(used, 1);
	assert_int_equal(r->completes, 1);
	assert_memory_equal(r->body, "abc", 3);
	free(r);
}

static void
test_pipelined(void **state)
{
	static const char *const reqs[] = {
		"GET /v1/capabilities HTTP/1.1\r\n\r\n",
		"PUT /v1/vaults/a/config HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
		"DELETE /v1/vaults/a/objects/pack/" ID_A " HTTP/1.1\r\n\r\n",
	};
	char all[512] = "";
	struct rec *r = rec_new(0);
	const char *p = all;
	size_t left, used;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		strcat(all, reqs[i]);
	left = strlen(all);
	assert_false(http_in_started(&r->in));
	for (size_t i = 0; i < 3; i++) {
		/* Each request completes, and the reader stops right after it
		 * so that it is answered before the next one is read. */
		assert_int_equal(http_in_execute(&r->in, p, left, &used), HTTP_PAUSED);
		assert_int_equal(used, strlen(reqs[i]));
		assert_int_equal(r->completes, i + 1);
		assert_int_equal(r->headers, i + 1);
		assert_false(http_in_started(&r->in));
		http_in_resume(&r->in);
		p += used;
		left -= used;
	}
	assert_int_equal(left, 0);
	assert_int_equal(r->last.method, HTTP_DELETE);
	assert_int_equal(r->body_len, 0);
	free(r);

	/* The same with the second request split across two reads. */
	r = rec_new(0);
	p = all;
	left = strlen(all);
	assert_int_equal(http_in_execute(&r->in, p, strlen(reqs[0]) + 10, &used), HTTP_PAUSED);
	assert_int_equal(used, strlen(reqs[0]));
	http_in_resume(&r->in);
	assert_int_equal(http_in_execute(&r->in, p + used, 10, &used), HTTP_DONE);
	assert_true(http_in_started(&r->in));
	p += strlen(reqs[0]) + 10;
	left -= strlen(reqs[0]) + 10;
	assert_int_equal(http_in_execute(&r->in, p, left, &used), HTTP_PAUSED);
	assert_int_equal(used, strlen(reqs[1]) - 10);
	assert_int_equal(r->completes, 2);
	assert_memory_equal(r->body, "{}", 2);
	free(r);
}

static void
test_started(void **state)
{
	struct rec *r = rec_new(0);
	size_t used;

	(void)state;
	assert_false(http_in_started(&r->in));
	assert_int_equal(http_in_execute(&r->in, "GE", 2, &used), HTTP_DONE);
	assert_true(http_in_started(&r->in));
	assert_int_equal(http_in_execute(&r->in, "T / HTTP/1.1\r\n\r\n", 16, &used), HTTP_PAUSED);
	assert_false(http_in_started(&r->in));
	free(r);
}

static void
test_callback_failure(void **state)
{
	static const char req[] = "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
	struct rec *r = rec_new(0);
	const char *msg = NULL;
	size_t used;

	(void)state;
	r->fail_headers = VSP_E_LENGTH_REQUIRED;
	assert_int_equal(http_in_execute(&r->in, req, strlen(req), &used), HTTP_ERROR);
	assert_int_equal(http_in_error(&r->in, &msg), VSP_E_LENGTH_REQUIRED);
	assert_string_equal(msg, "refused by the test");
	assert_int_equal(r->completes, 0);
	/* The first failure recorded is the one reported. */
	http_in_fail(&r->in, VSP_E_INTERNAL, "later");
	assert_int_equal(http_in_error(&r->in, &msg), VSP_E_LENGTH_REQUIRED);
	free(r);

	/* llhttp's own errors come out as 400 with its reason. */
	r = rec_new(0);
	assert_int_equal(http_in_execute(&r->in, "\x16\x03\x01", 3, &used), HTTP_ERROR);
	assert_int_equal(http_in_error(&r->in, &msg), VSP_E_MALFORMED);
	assert_non_null(msg);
	assert_true(strlen(msg) > 0);
	free(r);
}

/* RFC 9110 5.5: the whitespace around a value is not part of it. llhttp
 * drops it before the value only; http_req.c trims the rest. */
static void
test_value_whitespace(void **state)
{
	struct http_req h;

	(void)state;
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\nAuthorization: \t" TOKEN " \t\r\n"
	    "Range:   bytes=0-1  \r\nExpect: 100-continue \r\n\r\n", &h), VSP_OK);
	assert_string_equal(h.auth, TOKEN);
	assert_string_equal(h.range, "bytes=0-1");
	assert_int_equal(h.expect_continue, 1);
	/* Inside the value it stays (and range_parse() refuses it). */
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\nRange: bytes=0 - 1\r\n\r\n", &h),
	    VSP_OK);
	assert_string_equal(h.range, "bytes=0 - 1");
	/* A value of whitespace only is empty, but the field was sent. */
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\nRange: \t \r\n\r\n", &h), VSP_OK);
	assert_int_equal(h.has_range, 1);
	assert_string_equal(h.range, "");
	/* So a second Authorization after an empty one is still twice. */
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\nAuthorization:\r\n"
	    "Authorization: " TOKEN "\r\n\r\n", NULL), VSP_E_MALFORMED);
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\nAuthorization:  \r\n"
	    "Authorization: " TOKEN "\r\n\r\n", NULL), VSP_E_MALFORMED);
}

/* vaultd never switches protocols: after a request asking to upgrade (as
 * curl --http2 does on http:// URLs) the next request is read as HTTP/1.1.
 * CONNECT is the exception: nothing after it is read. */
static void
test_upgrade_ignored(void **state)
{
	static const char h2c[] = "GET /v1/capabilities HTTP/1.1\r\n"
	    "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
	    "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
	    "GET /v1/vaults HTTP/1.1\r\n\r\n";
	static const char ws[] = "PUT /v1/vaults/v/config HTTP/1.1\r\n"
	    "Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\n{}"
	    "GET /v1/vaults HTTP/1.1\r\n\r\n";
	static const char connect[] = "CONNECT vault:443 HTTP/1.1\r\n\r\n"
	    "GET /v1/vaults HTTP/1.1\r\n\r\n";
	struct rec *r;

	(void)state;
	assert_int_equal(outcome_str(h2c, NULL), VSP_OK);
	r = run_str(h2c, 0, 0);
	assert_int_equal(r->completes, 2);
	assert_string_equal(r->last.url, "/v1/vaults");
	free(r);

	assert_int_equal(outcome_str(ws, NULL), VSP_OK);
	/* Paused after each header block, as for an upload: the second
	 * request's completion waits for the next read. */
	r = run_str(ws, 0, 1);
	assert_int_equal(r->headers, 2);
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->err, VSP_OK);
	assert_string_equal(r->last.url, "/v1/vaults");
	free(r);

	r = run_str(connect, 0, 0);
	assert_int_equal(r->headers, 1);
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->err, VSP_E_MALFORMED);
	free(r);
}

/* Until http_in_resume(), a paused reader takes nothing. */
static void
test_paused_takes_nothing(void **state)
{
	static const char two[] = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
	static const char other[] = "GET /c HTTP/1.1\r\n\r\n";
	struct rec *r = rec_new(0);
	size_t used = 99;

	(void)state;
	assert_int_equal(http_in_execute(&r->in, two, strlen(two), &used), HTTP_PAUSED);
	assert_int_equal(used, strlen("GET /a HTTP/1.1\r\n\r\n"));
	assert_int_equal(http_in_execute(&r->in, other, strlen(other), &used), HTTP_PAUSED);
	assert_int_equal(used, 0);
	assert_int_equal(r->completes, 1);
	http_in_resume(&r->in);
	assert_int_equal(http_in_execute(&r->in, other, strlen(other), &used), HTTP_PAUSED);
	assert_int_equal(used, strlen(other));
	assert_int_equal(r->completes, 2);
	assert_string_equal(r->last.url, "/c");
	free(r);
}

/* The Makefile builds llhttp in strict mode: what a proxy in front might
 * read differently is refused. */
static void
test_strict_framing(void **state)
{
	struct rec *r;

	(void)state;
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\nBad Name: x\r\n\r\n", NULL),
	    VSP_E_MALFORMED);
	assert_int_equal(outcome_str("GET /x HTTP/1.1\r\nName : x\r\n\r\n", NULL),
	    VSP_E_MALFORMED);
	assert_int_equal(outcome_str("GET /x HTTP/1.1\nHost: v\n\n", NULL), VSP_E_MALFORMED);
	/* A well-formed version other than 1.0 and 1.1 is 505, not 400
	 * (test_http_version). */
	assert_int_equal(outcome_str("GET /x HTTP/1.2\r\n\r\n", NULL), VSP_E_VERSION);
	/* Nothing is read after a request with Connection: close. */
	r = run_str("GET /x HTTP/1.1\r\nConnection: close\r\n\r\nGET /y HTTP/1.1\r\n\r\n",
	    0, 0);
	assert_int_equal(r->completes, 1);
	assert_int_equal(r->err, VSP_E_MALFORMED);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_invariance),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_body_framing),
		cmocka_unit_test(test_url_limit),
		cmocka_unit_test(test_header_block_limit),
		cmocka_unit_test(test_value_limits),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_pause_on_headers),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_started),
		cmocka_unit_test(test_callback_failure),
		cmocka_unit_test(test_value_whitespace),
		cmocka_unit_test(test_upgrade_ignored),
		cmocka_unit_test(test_paused_takes_nothing),
		cmocka_unit_test(test_strict_framing),
		cmocka_unit_test(test_http_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
