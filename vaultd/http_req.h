#ifndef HTTP_REQ_H
#define HTTP_REQ_H
/*
 * HTTP/1.1 request reading: llhttp plus the limits of spec/vsp.md. It keeps
 * only what vaultd uses (method, target, Authorization, Range, Expect and the
 * body framing) and knows nothing of sockets, so the fuzz driver and the
 * unit tests drive it with plain byte strings.
 */
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "vsp.h"

#define HTTP_URL_MAX 4096          /* request target, bytes (414 beyond) */
#define HTTP_HEADER_BYTES_MAX 16384 /* target + all names and values (431 beyond) */
#define HTTP_AUTH_MAX 256          /* Authorization value */
#define HTTP_RANGE_MAX 128         /* Range value */
#define HTTP_FIELD_NAME_MAX 64     /* longer names are kept as "not ours" */
#define HTTP_EXPECT_MAX 32         /* Expect value; only compared */
#define HTTP_ACCEPT_MAX 128        /* Accept value; longer ones are cut (only searched) */
#define HTTP_RESTIC_V2 "application/vnd.x.restic.rest.v2"

struct http_req {
	int method;                    /* llhttp_method_t */
	char url[HTTP_URL_MAX + 1];
	size_t url_len;
	char auth[HTTP_AUTH_MAX + 1];  /* "" when absent */
	char range[HTTP_RANGE_MAX + 1];
	int has_range;
	int has_content_length;
	uint64_t content_length;
	int chunked;                   /* Transfer-Encoding was sent */
	int expect_continue;           /* Expect: 100-continue */
	int accept_restic_v2;          /* Accept names restic's REST API v2 */
	int keep_alive;                /* valid once the headers are complete */
	size_t header_bytes;
};

/* What the reader tells its owner. Each returns 0 to go on, or -1 to fail
 * the request with the error set by http_in_fail(). */
struct http_in_cbs {
	/* The header block is complete and req is filled. Return 1 to pause the
	 * parser before the body (http_in_execute then returns HTTP_PAUSED). */
	int (*on_headers)(void *arg, struct http_req *req);
	int (*on_body)(void *arg, const char *data, size_t len);
	/* The request is complete. The parser always pauses after it so that
	 * one request is answered before the next pipelined one is read. */
	int (*on_complete)(void *arg);
};

enum http_exec {
	HTTP_DONE = 0, /* every byte was consumed */
	HTTP_PAUSED,   /* stopped early: *consumed bytes were used */
	HTTP_ERROR,    /* the request is bad: see http_in_error() */
};

struct http_in {
	llhttp_t parser;
	llhttp_settings_t settings;
	struct http_req req;
	const struct http_in_cbs *cbs;
	void *arg;
	char field[HTTP_FIELD_NAME_MAX + 1];
	size_t field_len;
	int field_overlong;
	char expect[HTTP_EXPECT_MAX + 1];
	char accept[HTTP_ACCEPT_MAX + 1];
	int value_target; /* which req buffer the current value goes to */
	size_t value_len;
	int started;      /* a byte of the current request was seen */
	int has_auth;     /* an Authorization field was seen (even empty) */
	int has_version;  /* the request line named an HTTP version */
	char version[8];  /* its text, "1.1"; version_len > 7 if longer */
	size_t version_len;
	enum vsp_err err;
	const char *errmsg;
};

/* Prepares in for a new connection. */
void http_in_init(struct http_in *in, const struct http_in_cbs *cbs, void *arg);

/* Parses len bytes. After HTTP_PAUSED, call http_in_resume() before
 * feeding more; until then this returns HTTP_PAUSED with *consumed = 0.
 * Trailer fields of a chunked body pass through the same header callbacks;
 * vaultd refuses chunked bodies before reading them, so they never count. */
enum http_exec http_in_execute(struct http_in *in, const char *data, size_t len,
    size_t *consumed);

/* Lets a paused parser go on (call http_in_execute next). */
void http_in_resume(struct http_in *in);

/* Records why the request fails; the callback then returns -1. */
void http_in_fail(struct http_in *in, enum vsp_err err, const char *msg);

/* After HTTP_ERROR: the protocol error and a sentence for the client. */
enum vsp_err http_in_error(const struct http_in *in, const char **msg);

/* 1 if bytes of a request not yet complete have been read (header timeout). */
int http_in_started(const struct http_in *in);

#endif
