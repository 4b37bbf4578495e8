#ifndef HANDLERS_H
#define HANDLERS_H
/*
 * The VSP v1 endpoints (spec/vsp.md) as plain blocking functions. The
 * connection code (server.c) runs every one of them on the libuv threadpool
 * and only moves bytes on the loop; nothing here touches a socket.
 */
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
struct backend; /* backend.h */
struct backend_put;
struct backend_reader;
#include "envelope.h"
#include "http_req.h"
#include "meta.h"
#include "router.h"
#include "store.h"

struct sha256; /* sha256.h */
struct conn_body; /* conn.h */

#define VAULTD_VERSION "0.1.0"
#define CONFIG_SIZE_MAX (64 * 1024)          /* vault config blob */
#define EXISTS_BODY_MAX (1024 * 1024)        /* batch existence query */
#define EXISTS_IDS_MAX 10000
#define RESP_HEADERS_MAX 512

/* One request as the handlers see it. The connection owns it. */
struct request {
	struct route route;
	char auth[HTTP_AUTH_MAX + 1];
	char range[HTTP_RANGE_MAX + 1];
	int has_range;
	int has_content_length;
	int chunked;
	uint64_t content_length;
	int accept_restic_v2;
	char *body;      /* small bodies only (config, exists, vault); malloc'd */
	size_t body_len;
};

/* One answer. The connection sends it and frees what it owns. */
struct resp {
	int status;
	const char *content_type;     /* NULL = no Content-Type */
	char headers[RESP_HEADERS_MAX]; /* extra header lines, each ending "\r\n" */
	size_t headers_len;
	char *body;                    /* malloc'd, or NULL */
	size_t body_len;
	int close;                     /* send Connection: close and close */
	/* A streamed body: a generator the connection core pulls length bytes
	 * from (conn.h). The connection takes it over when it sends the head. */
	struct conn_body *gen;
	/* Handler side, turned into gen by handlers__body_start() before the
	 * answer leaves the handlers: an object read from the backend, length
	 * bytes from offset. */
	struct backend_reader *reader;
	struct backend *reader_backend; /* the reader's backend; NULL = store.backend */
	uint64_t offset;
	uint64_t length;
	int no_body;                   /* HEAD: announce length, send nothing */
	/* A whole-object GET is hashed as it streams (spec/vsp.md, "Integrity
	 * of downloads"); NULL when the body is not checked. */
	struct sha256 *verify;
	uint64_t verify_vault;
	uint8_t verify_kind;
	uint8_t verify_backend; /* location bit of the copy being read */
	uint8_t verify_id[VSP_ID_LEN];
};

/* A streaming object upload in progress. */
struct upload {
	struct backend_put *put;
	struct sha256 *hash;
	uint64_t vault_id;
	uint64_t expected;   /* Content-Length */
	uint64_t received;
	int failed_errno;    /* first write error, 0 if none */
	/* A VSP snapshot: its cleartext header is parsed once as it streams
	 * by, to check its references at commit (spec/envelope.md). */
	int want_envelope;
	struct envelope_reader *env;
};

/* Sets resp to the JSON error {code, message} for err. */
void resp_error(struct resp *r, enum vsp_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends a header line; silently truncation-safe (it fails closed: the
 * line is dropped and an error is logged, which never happens with the
 * fixed header set we use). */
void resp_header(struct resp *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Hashes len more bytes of a checked download (r->verify); last says they
 * end the body. Returns 0, or -1 when the body does not hash to its ID: the
 * copy is then recorded as bad (meta_scrub.h) and the caller must cut the
 * connection instead of ending the body cleanly.
 */
int resp_verify_feed(struct store *s, struct resp *r, const void *buf, size_t len, int last);

/* Frees what r owns (body, generator, reader) and resets it. */
void resp_clear(struct store *s, struct resp *r);

/* Answers every request that is not a streaming object upload. */
void handle_request(struct store *s, const struct request *req, struct resp *resp);

/* Whether req is an object upload (PUT /objects/{kind}/{id}). */
int request_is_upload(const struct request *req);

/*
 * Checks an upload before its body is read (auth, scope, vault, size, space,
 * existence) and opens the backend temp object. Returns 1 when the body
 * should be streamed into up, or 0 when resp holds the final answer.
 */
int upload_begin(struct store *s, const struct request *req, struct upload *up,
    struct resp *resp);

/* Hashes and writes len body bytes (threadpool). A failure is kept in
 * up->failed_errno and reported by upload_finish. */
void upload_write(struct store *s, struct upload *up, const void *buf, size_t len);

/* Verifies the hash and commits the object (file, then LMDB). */
void upload_finish(struct store *s, const struct request *req, struct upload *up,
    struct resp *resp);

/* Drops an unfinished upload. */
void upload_abort(struct store *s, struct upload *up);

/* Gives a restic request's answer the statuses restic expects (200 for any
 * success, 400 for a hash mismatch); other requests are left alone. */
void resp_dialect(const struct request *req, struct resp *resp);

#endif
