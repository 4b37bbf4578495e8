/*
 * The request side of an HTTP connection: llhttp callbacks, the threadpool
 * work items and the double-buffered upload pump. Response bodies are
 * generators the core streams (conn.h); nothing here reads storage. See the
 * state diagram at the top of server.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

static const char continue_answer[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* ---- parser callbacks (on the loop, inside http_in_execute) ---- */

static void
copy_request(struct hconn *c, const struct http_req *h, const struct route *rt)
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
small_body(struct hconn *c, const struct http_req *h)
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
	    conn_write(&c->c, continue_answer, sizeof(continue_answer) - 1, NULL, 0, 0) != 0) {
		http_in_fail(&c->in, VSP_E_INTERNAL, "cannot write");
		return -1;
	}
	c->state = CS_BODY;
	return 0;
}

static int
on_headers(void *arg, struct http_req *h)
{
	struct hconn *c = arg;
	struct route rt;
	const char *allow, *msg;
	enum vsp_err err = c->srv->store != NULL ?
	    route_parse(h->method, h->url, h->url_len, &rt, &allow, &msg) :
	    c->srv->svc.route(h->method, h->url, h->url_len, &rt, &allow, &msg);
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
	if (c->srv->store != NULL && request_is_upload(&c->req)) {
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
	struct hconn *c = arg;

	if (c->is_upload) {
		if (CONN_CHUNK_ALLOC - c->fill_len < len) {
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
	struct hconn *c = arg;
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
conn__init_parser(struct hconn *c)
{
	http_in_init(&c->in, &parser_cbs, c);
}

/* ---- work items ---- */

void
conn__work(struct conn *cc)
{
	struct hconn *c = (struct hconn *)cc;
	struct store *s = c->srv->store;

	if (s == NULL) {
		c->srv->svc.handle(c->srv->svc.arg, &c->req, &c->resp);
		return;
	}
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
	}
	resp_dialect(&c->req, &c->resp);
}

static int
alloc_upload_buffers(struct hconn *c)
{
	if (c->fill == NULL)
		c->fill = conn_chunk_get(c->c.srv);
	if (c->spare == NULL)
		c->spare = conn_chunk_get(c->c.srv);
	return c->fill != NULL && c->spare != NULL ? 0 : -1;
}

static void
after_begin(struct hconn *c)
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
	    conn_write(&c->c, continue_answer, sizeof(continue_answer) - 1, NULL, 0, 0) != 0) {
		conn_close(&c->c);
		return;
	}
	conn__resume(c);
}

void
conn__after_work(struct conn *cc)
{
	struct hconn *c = (struct hconn *)cc;

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
	}
}

void
conn__start_work(struct hconn *c, enum work_kind kind)
{
	c->work_kind = kind;
	if (kind == WORK_HANDLE || kind == WORK_FINISH)
		c->state = CS_WORK;
	(void)conn_work(&c->c); /* on failure c is closed */
}

void
conn__request_complete(struct hconn *c)
{
	if (c->route_err != VSP_OK) {
		conn__route_error(c, c->route_err, c->route_msg, c->allow);
		return;
	}
	if (c->is_upload && c->state == CS_BODY) {
		conn__pump_upload(c);
		return;
	}
	conn__start_work(c, WORK_HANDLE);
}

void
conn__pump_upload(struct hconn *c)
{
	if (c->c.work_busy || c->c.closing)
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

/* Releases what one request held; the upload chunks go back to the pool,
 * so a connection between requests holds none. */
void
conn__free_request(struct hconn *c)
{
	resp_clear(c->srv->store, &c->resp);
	free(c->req.body);
	memset(&c->req, 0, sizeof(c->req));
	conn_chunk_put(c->c.srv, c->fill);
	conn_chunk_put(c->c.srv, c->spare);
	c->fill = c->spare = NULL;
	c->is_upload = 0;
	c->fill_len = 0;
	c->body_done = 0;
}
