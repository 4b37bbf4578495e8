/*
 * The request side of a connection: llhttp callbacks, the threadpool work
 * items, the double-buffered upload pump and the double-buffered download
 * stream. See the state diagram at the top of server.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "log.h"

static const char continue_answer[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void stream_pump(struct conn *c);

/* ---- parser callbacks (on the loop, inside http_in_execute) ---- */

static void
copy_request(struct conn *c, const struct http_req *h, const struct route *rt)
{
	struct request *r = &c->req;

	r->route = *rt;
	memcpy(r->auth, h->auth, sizeof(r->auth));
	memcpy(r->range, h->range, sizeof(r->range));
	r->has_range = h->has_range;
	r->has_content_length = h->has_content_length;
	r->chunked = h->chunked;
	r->content_length = h->content_length;
	r->accept_restic_v2 = h->accept_restic_v2;
}

/* Prepares to take a small body (config, batch query, vault create). */
static int
small_body(struct conn *c, const struct http_req *h)
{
	size_t limit = c->req.route.id == ROUTE_EXISTS ? EXISTS_BODY_MAX : CONFIG_SIZE_MAX;

	if (h->chunked) {
		http_in_fail(&c->in, VSP_E_LENGTH_REQUIRED,
		    "request bodies need a Content-Length (chunked bodies are not accepted)");
		return -1;
	}
	if (h->content_length > limit) {
		http_in_fail(&c->in, VSP_E_TOO_LARGE, "the request body is too large");
		return -1;
	}
	if ((c->req.body = malloc((size_t)h->content_length)) == NULL) {
		http_in_fail(&c->in, VSP_E_INTERNAL, "out of memory");
		return -1;
	}
	if (h->expect_continue &&
	    conn__write(c, continue_answer, sizeof(continue_answer) - 1, NULL, 0) != 0) {
		http_in_fail(&c->in, VSP_E_INTERNAL, "cannot write");
		return -1;
	}
	c->state = CS_BODY;
	return 0;
}

static int
on_headers(void *arg, struct http_req *h)
{
	struct conn *c = arg;
	struct route rt;
	const char *allow, *msg;
	enum vsp_err err = route_parse(h->method, h->url, h->url_len, &rt, &allow, &msg);
	int has_body = h->chunked || h->content_length > 0;

	copy_request(c, h, &rt);
	if (err != VSP_OK) {
		c->allow = allow;
		if (has_body) {
			/* Answered now, with Connection: close, body unread. */
			http_in_fail(&c->in, err, msg);
			return -1;
		}
		c->route_err = err;
		c->route_msg = msg;
		return 0;
	}
	if (request_is_upload(&c->req)) {
		c->is_upload = 1;
		if (!has_body && h->has_content_length)
			return 0; /* an empty object: checked and stored in one work item */
		c->action = ACT_BEGIN;
		c->state = CS_BEGIN;
		return 1;
	}
	if (!has_body && !h->has_content_length &&
	    (rt.id == ROUTE_CONFIG || rt.id == ROUTE_EXISTS || rt.id == ROUTE_RESTIC_CONFIG) &&
	    (rt.method == HTTP_PUT || rt.method == HTTP_POST)) {
		/* A forgotten body must not store an empty config for good. */
		c->route_err = VSP_E_LENGTH_REQUIRED;
		c->route_msg = "this request needs a body with a Content-Length";
		return 0;
	}
	return has_body ? small_body(c, h) : 0;
}

static int
on_body(void *arg, const char *data, size_t len)
{
	struct conn *c = arg;

	if (c->is_upload) {
		if (UPLOAD_CHUNK + READ_BUF_SIZE - c->fill_len < len) {
			http_in_fail(&c->in, VSP_E_INTERNAL, "upload buffer overrun");
			return -1;
		}
		memcpy(c->fill + c->fill_len, data, len);
		c->fill_len += len;
		return 0;
	}
	/* llhttp never passes more than Content-Length bytes. */
	memcpy(c->req.body + c->req.body_len, data, len);
	c->req.body_len += len;
	return 0;
}

static int
on_complete(void *arg)
{
	struct conn *c = arg;
	c->action = ACT_COMPLETE;
	if (c->is_upload)
		c->body_done = 1;
	return 0;
}

static const struct http_in_cbs parser_cbs = {
	.on_headers = on_headers,
	.on_body = on_body,
	.on_complete = on_complete,
};

void
conn__init_parser(struct conn *c)
{
	http_in_init(&c->in, &parser_cbs, c);
}

/* ---- work items ---- */

static struct conn *
conn_of_work(uv_work_t *w)
{
	return (struct conn *)((char *)w - offsetof(struct conn, work));
}

/* Reads one stream chunk completely; a short object is an error. */
static void
work_read(struct conn *c, struct store *s)
{
	int i = c->next_read;
	uint64_t left = c->stream_end - c->stream_off;
	size_t want = left < STREAM_CHUNK ? (size_t)left : STREAM_CHUNK, got = 0;

	while (got < want) {
		ssize_t n = backend_read(c->resp.reader_backend != NULL ? c->resp.reader_backend :
		    s->backend, c->resp.reader, c->stream_off + got,
		    c->sbuf[i] + got, want - got);
		if (n <= 0) {
			c->work_errno = n < 0 ? errno : EIO;
			c->work_result = -1;
			return;
		}
		got += (size_t)n;
	}
	if (c->resp.verify != NULL && resp_verify_feed(s, &c->resp, c->sbuf[i], got,
	    c->stream_off + got == c->stream_end) != 0) {
		/* A bad copy: the last bytes never go out (spec/vsp.md). */
		c->work_errno = EIO;
		c->work_result = -1;
		return;
	}
	c->slen[i] = got;
	c->work_result = (ssize_t)got;
}

static void
work_cb(uv_work_t *w)
{
	struct conn *c = conn_of_work(w);
	struct store *s = c->srv->store;

	switch (c->work_kind) {
	case WORK_BEGIN:
		c->work_ok = upload_begin(s, &c->req, &c->up, &c->resp);
		break;
	case WORK_HANDLE:
		if (!c->is_upload)
			handle_request(s, &c->req, &c->resp);
		else if (upload_begin(s, &c->req, &c->up, &c->resp))
			upload_finish(s, &c->req, &c->up, &c->resp);
		break;
	case WORK_CHUNK:
		upload_write(s, &c->up, c->work_buf, c->work_len);
		break;
	case WORK_FINISH:
		upload_finish(s, &c->req, &c->up, &c->resp);
		break;
	case WORK_READ:
		work_read(c, s);
		return;
	}
	resp_dialect(&c->req, &c->resp);
}

static int
alloc_upload_buffers(struct conn *c)
{
	if (c->fill == NULL)
		c->fill = malloc(UPLOAD_CHUNK + READ_BUF_SIZE);
	if (c->spare == NULL)
		c->spare = malloc(UPLOAD_CHUNK + READ_BUF_SIZE);
	return c->fill != NULL && c->spare != NULL ? 0 : -1;
}

static void
after_begin(struct conn *c)
{
	if (!c->work_ok) {
		/* The body was not read: answer and close. */
		c->resp.close = 1;
		conn__send(c);
		return;
	}
	if (alloc_upload_buffers(c) != 0) {
		c->state = CS_WORK;
		c->up.failed_errno = ENOMEM;
		conn__start_work(c, WORK_FINISH);
		return;
	}
	c->state = CS_BODY;
	if (c->in.req.expect_continue &&
	    conn__write(c, continue_answer, sizeof(continue_answer) - 1, NULL, 0) != 0) {
		conn__close(c);
		return;
	}
	conn__resume(c);
}

static void
after_read(struct conn *c)
{
	int i = c->next_read;

	if (c->work_result < 0) {
		/* The head is out already, so the only honest signal left is to
		 * cut the connection short of Content-Length. */
		char t[HTTP_URL_MAX + 64];
		log_msg(VLOG_ERROR, "read of %s failed: %s",
		    log_target(c->in.req.url, t, sizeof(t)), strerror(c->work_errno));
		conn__close(c);
		return;
	}
	c->sstate[i] = SB_READY;
	c->stream_off += (uint64_t)c->work_result;
	c->next_read ^= 1;
	stream_pump(c);
}

static void
after_work_cb(uv_work_t *w, int status)
{
	struct conn *c = conn_of_work(w);

	(void)status;
	c->work_busy = 0;
	if (c->closing) {
		/* Rare: the client went away mid-upload. Dropping the temp file
		 * here costs one unlink on the loop. */
		if (c->up.put != NULL)
			upload_abort(c->srv->store, &c->up);
		conn__maybe_free(c);
		return;
	}
	switch (c->work_kind) {
	case WORK_BEGIN:
		after_begin(c);
		break;
	case WORK_HANDLE:
		conn__send(c);
		break;
	case WORK_CHUNK:
		if (c->state != CS_BODY) {
			/* An error answer went out meanwhile (timeout, bad bytes);
			 * the upload is dropped when the connection closes. */
			break;
		}
		if (c->up.failed_errno != 0) {
			c->state = CS_WORK;
			conn__start_work(c, WORK_FINISH);
		} else {
			conn__pump_upload(c);
			conn__update(c);
		}
		break;
	case WORK_FINISH:
		if (!c->body_done)
			c->resp.close = 1;
		conn__send(c);
		break;
	case WORK_READ:
		after_read(c);
		break;
	}
}

void
conn__start_work(struct conn *c, enum work_kind kind)
{
	c->work_kind = kind;
	c->work_busy = 1;
	if (kind == WORK_HANDLE || kind == WORK_FINISH)
		c->state = CS_WORK;
	if (uv_queue_work(c->srv->loop, &c->work, work_cb, after_work_cb) != 0) {
		c->work_busy = 0;
		conn__close(c);
	}
}

void
conn__request_complete(struct conn *c)
{
	if (c->route_err != VSP_OK) {
		resp_clear(c->srv->store, &c->resp);
		resp_error(&c->resp, c->route_err, "%s", c->route_msg);
		if (c->allow != NULL)
			resp_header(&c->resp, "Allow: %s", c->allow);
		conn__send(c);
		return;
	}
	if (c->is_upload && c->state == CS_BODY) {
		conn__pump_upload(c);
		return;
	}
	conn__start_work(c, WORK_HANDLE);
}

void
conn__pump_upload(struct conn *c)
{
	if (c->work_busy || c->closing)
		return;
	if (c->fill_len >= UPLOAD_CHUNK || (c->body_done && c->fill_len > 0)) {
		c->work_buf = c->fill;
		c->work_len = c->fill_len;
		c->fill = c->spare;
		c->spare = c->work_buf;
		c->fill_len = 0;
		conn__start_work(c, WORK_CHUNK);
	} else if (c->body_done) {
		conn__start_work(c, WORK_FINISH);
	}
}

/* ---- streamed answers ---- */

static void
on_stream_write(uv_write_t *w, int status)
{
	struct conn *c = w->data;
	int i = c->next_write;

	free(w);
	c->writes--;
	if (status < 0) {
		conn__close(c);
		return;
	}
	c->sstate[i] = SB_FREE;
	c->next_write ^= 1;
	stream_pump(c);
	conn__write_progress(c);
}

static void
stream_pump(struct conn *c)
{
	int r = c->next_read, wi = c->next_write;

	if (c->closing)
		return;
	if (!c->work_busy && c->stream_off < c->stream_end && c->sstate[r] == SB_FREE) {
		c->sstate[r] = SB_READING;
		conn__start_work(c, WORK_READ);
	}
	if (c->sstate[wi] == SB_READY) {
		uv_write_t *w = malloc(sizeof(*w));
		uv_buf_t b = uv_buf_init(c->sbuf[wi], (unsigned)c->slen[wi]);
		if (w == NULL) {
			conn__close(c);
			return;
		}
		w->data = c;
		c->sstate[wi] = SB_WRITING;
		if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_stream_write) != 0) {
			free(w);
			conn__close(c);
			return;
		}
		c->writes++;
		c->srv->bytes_out += c->slen[wi];
	}
}

int
conn__stream_start(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->sbuf[i] == NULL && (c->sbuf[i] = malloc(STREAM_CHUNK)) == NULL)
			return -1;
		c->sstate[i] = SB_FREE;
	}
	c->next_read = c->next_write = 0;
	c->stream_off = c->resp.offset;
	c->stream_end = c->resp.offset + c->resp.length;
	stream_pump(c);
	return 0;
}

int
conn__stream_done(const struct conn *c)
{
	if (c->resp.reader == NULL || c->resp.no_body)
		return 1;
	return c->stream_off == c->stream_end && c->sstate[0] == SB_FREE &&
	    c->sstate[1] == SB_FREE;
}
