/*
 * Fuzz driver for the request reader (vaultd/http_req.c) and, on every
 * header block it completes, the router and the Range parser.
 *
 * Input: four control bytes, then the bytes a client sends.
 *
 *	byte 0	bits 0-1: when on_headers pauses the parser: 0 never,
 *		1 always, 2 when a body follows (as the server does for an
 *		upload), 3 on every other request.
 *		bit 2: feed the second part in pieces of ((byte0 >> 3) + 1)
 *		bytes instead of all at once.
 *	byte 1-2	split position, little-endian, modulo (length + 1).
 *	byte 3	object size for Range (checks.h, fuzz_size()).
 *
 * The bytes are read twice on fresh readers, once whole and once split at
 * the position (partial reads), each time the way server.c does it: after
 * HTTP_PAUSED, http_in_resume() and go on with the bytes not consumed. Both
 * runs must see the same requests, headers and bodies, and both must fail or
 * neither: how TCP cuts a stream must not change what the daemon reads from
 * it (only which framing error it reports, FINDINGS.txt HTTP-3). Every
 * completed header block is checked against the limits in http_req.h and
 * handed to route_parse() and range_parse() (checks.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "fuzz.h"
#include "http_req.h"
#include "router.h"

#define CTRL_LEN 4
/* Pauses in a row that consume nothing: headers, then the completion of a
 * request without a body. More means the reader makes no progress. */
#define MAX_IDLE_PAUSES 3

struct run {
	struct http_in in;
	int policy;
	uint64_t osize;
	uint64_t hash;         /* FNV-1a of everything the callbacks saw */
	unsigned requests;     /* completed */
	unsigned headers;      /* header blocks seen */
	int in_body;           /* between on_headers and on_complete */
	struct http_req cur;   /* the request whose body is being read */
	uint64_t body_len;
	enum vsp_err err;      /* VSP_OK unless the run ended in HTTP_ERROR */
};

static void
mix(struct run *r, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		r->hash ^= b[i];
		r->hash *= UINT64_C(0x100000001b3);
	}
}

static void
mix_u64(struct run *r, uint64_t v)
{
	mix(r, &v, sizeof(v));
}

static void
check_req(const struct http_req *h)
{
	FUZZ_CHECK(h->url_len <= HTTP_URL_MAX);
	FUZZ_CHECK(h->url[h->url_len] == '\0');
	FUZZ_CHECK(h->header_bytes <= HTTP_HEADER_BYTES_MAX);
	FUZZ_CHECK(h->url_len <= h->header_bytes);
	FUZZ_CHECK(strlen(h->auth) <= HTTP_AUTH_MAX);
	FUZZ_CHECK(strlen(h->range) <= HTTP_RANGE_MAX);
	FUZZ_CHECK(h->has_range == 0 || h->has_range == 1);
	if (!h->has_range)
		FUZZ_CHECK(h->range[0] == '\0');
	FUZZ_CHECK(h->has_content_length == 0 || h->has_content_length == 1);
	if (!h->has_content_length)
		FUZZ_CHECK(h->content_length == 0);
	FUZZ_CHECK(h->expect_continue == 0 || h->expect_continue == 1);
	FUZZ_CHECK(h->keep_alive == 0 || h->keep_alive == 1);
}

static int
on_headers(void *arg, struct http_req *h)
{
	struct run *r = arg;
	int pause;

	FUZZ_CHECK(!r->in_body);
	FUZZ_CHECK(http_in_started(&r->in));
	check_req(h);
	check_route(h->method, h->url, h->url_len);
	if (h->has_range)
		check_range(h->range, r->osize);

	mix(r, "H", 1);
	mix_u64(r, (uint64_t)h->method);
	mix(r, h->url, h->url_len + 1);
	mix(r, h->auth, strlen(h->auth) + 1);
	mix(r, h->range, strlen(h->range) + 1);
	mix_u64(r, (uint64_t)h->has_range << 5 | (uint64_t)h->has_content_length << 4 |
	    (uint64_t)(h->chunked != 0) << 3 | (uint64_t)h->expect_continue << 2 |
	    (uint64_t)h->keep_alive);
	mix_u64(r, h->content_length);
	mix_u64(r, h->header_bytes);

	r->cur = *h;
	r->in_body = 1;
	r->body_len = 0;
	switch (r->policy) {
	case 0:
		pause = 0;
		break;
	case 1:
		pause = 1;
		break;
	case 2:
		pause = h->chunked || h->content_length > 0;
		break;
	default:
		pause = r->headers % 2 == 0;
		break;
	}
	r->headers++;
	return pause;
}

static int
on_body(void *arg, const char *data, size_t len)
{
	struct run *r = arg;

	/* len may be 0: llhttp flushes an open span at the end of every
	 * execute, even one of no bytes (finish()). */
	FUZZ_CHECK(r->in_body);
	mix(r, data, len);
	r->body_len += len;
	if (r->cur.has_content_length && !r->cur.chunked)
		FUZZ_CHECK(r->body_len <= r->cur.content_length);
	return 0;
}

static int
on_complete(void *arg)
{
	struct run *r = arg;

	FUZZ_CHECK(r->in_body);
	FUZZ_CHECK(!http_in_started(&r->in));
	/* CONNECT ends at its header block whatever it announces: llhttp
	 * hands the rest to the tunnel (and http_req.c then fails it). */
	if (r->cur.method == HTTP_CONNECT)
		FUZZ_CHECK(r->body_len == 0);
	else if (r->cur.has_content_length && !r->cur.chunked)
		FUZZ_CHECK(r->body_len == r->cur.content_length);
	else if (!r->cur.chunked)
		FUZZ_CHECK(r->body_len == 0);
	mix(r, "C", 1);
	mix_u64(r, r->body_len);
	r->in_body = 0;
	r->requests++;
	return 0;
}

static const struct http_in_cbs cbs = {
	.on_headers = on_headers,
	.on_body = on_body,
	.on_complete = on_complete,
};

static void
run_init(struct run *r, int policy, uint64_t osize)
{
	memset(r, 0, sizeof(*r));
	http_in_init(&r->in, &cbs, r);
	r->policy = policy;
	r->osize = osize;
	r->hash = UINT64_C(0xcbf29ce484222325);
}

/*
 * Feeds len bytes as one read: like server.c's conn_feed() and
 * conn__resume(), resume after every pause and go on with what is left.
 * Returns 0, or -1 once the reader reports an error (the server then
 * answers and closes, so nothing more is read).
 */
static int
feed(struct run *r, const char *p, size_t len)
{
	int idle = 0;

	if (r->err != VSP_OK)
		return -1;
	for (;;) {
		size_t used = (size_t)-1;
		enum http_exec rc = http_in_execute(&r->in, p, len, &used);

		FUZZ_CHECK(rc == HTTP_DONE || rc == HTTP_PAUSED || rc == HTTP_ERROR);
		if (rc == HTTP_ERROR) {
			const char *msg = NULL;
			r->err = http_in_error(&r->in, &msg);
			FUZZ_CHECK(msg != NULL);
			FUZZ_CHECK(r->err == VSP_E_MALFORMED || r->err == VSP_E_URI_TOO_LONG ||
			    r->err == VSP_E_HEADERS_TOO_LARGE || r->err == VSP_E_VERSION);
			return -1;
		}
		FUZZ_CHECK(used <= len);
		if (rc == HTTP_DONE) {
			FUZZ_CHECK(used == len);
			return 0;
		}
		http_in_resume(&r->in);
		if (used == 0)
			FUZZ_CHECK(++idle <= MAX_IDLE_PAUSES);
		else
			idle = 0;
		p += used;
		len -= used;
		/* Like the server, bytes left over are fed again; with none
		 * left, the next read (or finish()) goes on. */
		if (len == 0)
			return 0;
	}
}

/* End of input: give a parser left paused at the end of a read its chance
 * to deliver what needs no more bytes (the server would on its next read). */
static void
finish(struct run *r)
{
	static const char none[1];

	(void)feed(r, none, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run *whole, *split;
	const uint8_t *ctrl = data;
	const char *msg;
	size_t len, at, piece;
	int policy, pieces;
	uint64_t osize;

	if (size < CTRL_LEN)
		return 0;
	msg = (const char *)data + CTRL_LEN;
	len = size - CTRL_LEN;
	policy = ctrl[0] & 3;
	pieces = (ctrl[0] & 4) != 0;
	piece = (size_t)(ctrl[0] >> 3) + 1;
	at = ((size_t)ctrl[1] | (size_t)ctrl[2] << 8) % (len + 1);
	osize = fuzz_size(ctrl[3]);

	/* struct http_in is large (URL and header buffers): keep it off the
	 * stack, and let ASan see overruns of it. */
	if ((whole = malloc(sizeof(*whole))) == NULL)
		return 0;
	if ((split = malloc(sizeof(*split))) == NULL) {
		free(whole);
		return 0;
	}

	run_init(whole, policy, osize);
	(void)feed(whole, msg, len);
	finish(whole);

	run_init(split, policy, osize);
	if (feed(split, msg, at) == 0) {
		const char *p = msg + at;
		size_t left = len - at;
		while (left > 0) {
			size_t n = pieces && piece < left ? piece : left;
			if (feed(split, p, n) != 0)
				break;
			p += n;
			left -= n;
		}
	}
	finish(split);

	/* Both runs fail or neither does. Which framing error is seen first
	 * may depend on the cut: llhttp reports a bad byte when it meets it,
	 * but the target and field spans (and so the 414/431 limits) only at
	 * the end of the span or of the read (FINDINGS.txt, HTTP-3). */
	FUZZ_CHECK((whole->err == VSP_OK) == (split->err == VSP_OK));
	FUZZ_CHECK(whole->headers == split->headers);
	FUZZ_CHECK(whole->requests == split->requests);
	FUZZ_CHECK(whole->hash == split->hash);

	free(split);
	free(whole);
	return 0;
}
