/*
 * The object body generator (conn.h, struct conn_body): the storage side of
 * a streamed GET. The connection core pulls bytes from it on the threadpool
 * and knows nothing of backends; this reads them from the backend copy the
 * handler opened and, for a whole-object GET not hashed before the answer,
 * hashes them as they stream (spec/vsp.md, "Integrity of downloads"): a
 * copy that does not hash to its ID fails its last check, so the core cuts
 * the connection short of Content-Length and the last bytes never go out.
 */
#include "handlers_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "conn.h"
#include "sha256.h"

struct object_body {
	struct conn_body b;
	struct store *s;
	struct resp r; /* reader, its backend, offset, length and verify state */
};

static int
object_read(struct conn_body *cb, uint64_t off, void *buf, size_t len)
{
	struct object_body *ob = (struct object_body *)cb;
	struct resp *r = &ob->r;
	struct backend *b = r->reader_backend != NULL ? r->reader_backend : ob->s->backend;
	size_t got = 0;

	while (got < len) {
		ssize_t n = backend_read(b, r->reader, r->offset + off + got, (char *)buf + got,
		    len - got);
		if (n <= 0) {
			if (n == 0)
				errno = EIO; /* a short object */
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* Hashing is the one step of a GET that cannot be split across cores, so
 * it runs beside the reads (conn.h, check) rather than after each. */
static int
object_check(struct conn_body *cb, uint64_t off, const void *buf, size_t len, int last)
{
	struct object_body *ob = (struct object_body *)cb;

	(void)off;
	if (resp_verify_feed(ob->s, &ob->r, buf, len, last) != 0) {
		errno = EIO; /* a bad copy: the last bytes never go out (spec/vsp.md) */
		return -1;
	}
	return 0;
}

static void
object_free(struct conn_body *cb)
{
	struct object_body *ob = (struct object_body *)cb;

	resp_clear(ob->s, &ob->r);
	free(ob);
}

static const struct conn_body_ops object_body_ops = {
	.read = object_read,
	.check = NULL,
	.finish = NULL,
	.free = object_free,
};

/* A whole-object GET: hashed as it streams. */
static const struct conn_body_ops checked_object_body_ops = {
	.read = object_read,
	.check = object_check,
	.finish = NULL,
	.free = object_free,
};

void
handlers__body_start(struct store *s, struct resp *resp)
{
	struct object_body *ob;

	if (resp->reader == NULL || resp->no_body)
		return;
	if ((ob = calloc(1, sizeof(*ob))) == NULL) {
		resp_clear(s, resp);
		resp_error(resp, VSP_E_INTERNAL, "out of memory");
		return;
	}
	ob->b.ops = resp->verify != NULL ? &checked_object_body_ops : &object_body_ops;
	ob->s = s;
	/* The reader and the hash move over; the head stays in resp. */
	ob->r = *resp;
	ob->r.body = NULL;
	resp->reader = NULL;
	resp->reader_backend = NULL;
	resp->verify = NULL;
	resp->gen = &ob->b;
}
