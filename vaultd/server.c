/*
 * HTTP connections over the connection core (conn.h): read a request with
 * llhttp, hand the work to the threadpool, write the answer, repeat. The
 * states of one connection (the core's own life cycle is at the top of
 * conn.c):
 *
 *   READ  --headers of an upload-->  BEGIN (work: auth, checks, temp file)
 *   BEGIN --go on-->  BODY (chunks hashed and written on the threadpool)
 *   READ/BODY --request complete-->  WORK (work: handler or upload finish)
 *   WORK  --answer ready-->  SEND (head, then body or a body generator the
 *                            core pulls from: conn_send_body)
 *   SEND  --done-->  READ (next request, possibly pipelined), or
 *                    LINGER (Connection: close: conn_linger, then closed)
 *
 * At most one work item per connection is in flight at a time (the core's
 * uv_work_t), and the core frees a connection only when its handles are
 * closed and no work is outstanding; what this layer holds is released in
 * on_free, after that.
 */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "server_internal.h"

#define LISTEN_BACKLOG 511

static void conn_feed(struct hconn *h, const char *data, size_t len);
static void conn_next_request(struct hconn *h);

/* ---- timers ---- */

static void
on_timeout(struct conn *c, enum conn_timer which)
{
	struct hconn *h = (struct hconn *)c;

	if (which == CONN_T_IDLE) {
		conn_close(c); /* idle keep-alive connection */
		return;
	}
	if (h->state == CS_READ || h->state == CS_BODY) {
		conn__send_error(h, VSP_E_TIMEOUT, h->state == CS_READ ?
		    "the request headers took too long" : "the request body stalled", NULL);
		return;
	}
	conn_close(c); /* a reader that stopped reading */
}

/* Arms the timer the current state calls for. restart = 1 re-arms an
 * already running timeout (progress was made). */
static void
conn_timer_state(struct hconn *h, int restart)
{
	const struct server_config *cfg = &h->srv->cfg;

	switch (h->state) {
	case CS_READ:
		/* The header deadline runs from the first byte. */
		if (http_in_started(&h->in))
			conn_timer(&h->c, CONN_T_HEADER, cfg->header_timeout_ms, 0);
		else
			conn_timer(&h->c, CONN_T_IDLE, cfg->idle_timeout_ms, 0);
		break;
	case CS_BODY:
	case CS_SEND:
		conn_timer(&h->c, CONN_T_PROGRESS, cfg->body_timeout_ms, restart);
		break;
	case CS_LINGER:
		break; /* the core's linger timer runs */
	default:
		conn_timer(&h->c, CONN_T_NONE, 0, 0);
	}
}

/* ---- reading ---- */

static void
on_data(struct conn *c, const char *data, size_t len)
{
	struct hconn *h = (struct hconn *)c;

	conn_feed(h, data, len);
	if (h->state == CS_BODY)
		conn_timer_state(h, 1);
	conn__update(h);
}

/* Reads from the socket only when the parser can take bytes: not while
 * paused, not while a full upload chunk waits for the disk. */
void
conn__update(struct hconn *h)
{
	int want;

	if (h->c.closing || h->state == CS_LINGER)
		return;
	want = h->pending_len == 0 &&
	    (h->state == CS_READ ||
	        (h->state == CS_BODY && (!h->is_upload || h->fill_len < UPLOAD_CHUNK)));
	conn_read(&h->c, want);
	conn_timer_state(h, 0);
}

static void
drop_pending(struct hconn *h)
{
	free(h->pending);
	h->pending = NULL;
	h->pending_off = h->pending_len = 0;
}

/* Keeps bytes the paused parser has not used, to feed them later. The
 * buffer exists only while bytes wait, so an idle connection has none. */
static void
keep_pending(struct hconn *h, const char *rest, size_t n)
{
	if (n == 0) {
		drop_pending(h);
		return;
	}
	if (h->pending != NULL && rest >= h->pending && rest < h->pending + CONN_READ_BUF) {
		h->pending_off = (size_t)(rest - h->pending);
		h->pending_len = n;
		return;
	}
	/* n <= CONN_READ_BUF: it came from one read. */
	if (h->pending == NULL && (h->pending = malloc(CONN_READ_BUF)) == NULL) {
		conn_close(&h->c);
		return;
	}
	memcpy(h->pending, rest, n);
	h->pending_off = 0;
	h->pending_len = n;
}

static void
conn_feed(struct hconn *h, const char *data, size_t len)
{
	size_t used = 0;
	enum http_exec rc;
	const char *msg;

	h->action = ACT_NONE;
	rc = http_in_execute(&h->in, data, len, &used);
	if (rc == HTTP_ERROR) {
		enum vsp_err err = http_in_error(&h->in, &msg);
		drop_pending(h);
		conn__send_error(h, err, msg, h->allow);
		return;
	}
	keep_pending(h, data + used, len - used);
	if (rc == HTTP_PAUSED)
		h->paused = 1;
	if (h->action == ACT_BEGIN)
		conn__start_work(h, WORK_BEGIN);
	else if (h->action == ACT_COMPLETE)
		conn__request_complete(h);
	else if (h->state == CS_BODY && h->is_upload)
		conn__pump_upload(h);
}

/* Feeds bytes kept while the parser was paused. */
void
conn__resume(struct hconn *h)
{
	if (h->paused) {
		h->paused = 0;
		http_in_resume(&h->in);
	}
	if (h->pending_len > 0 && !h->c.closing)
		conn_feed(h, h->pending + h->pending_off, h->pending_len);
	conn__update(h);
}

/* ---- answering ---- */

/* Writes the status line and headers of h->resp. */
static int
write_head(struct hconn *h, const char *body, size_t body_len)
{
	struct resp *r = &h->resp;
	uint64_t length = r->gen != NULL || (r->no_body && r->body == NULL) ? r->length
	                                                                    : r->body_len;
	char head[RESP_HEADERS_MAX + 256];
	int n;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %" PRIu64 "\r\n%s%s\r\n", r->status,
	    vsp_status_reason(r->status), r->content_type ? "Content-Type: " : "",
	    r->content_type ? r->content_type : "", r->content_type ? "\r\n" : "", length,
	    h->close_after ? "Connection: close\r\n" : "", r->headers);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	return conn_write(&h->c, head, (size_t)n, body, body_len, 0);
}

/* The one place a request is logged. */
static void
conn_log(const struct hconn *h)
{
	/* After a parse error the method and target may be half-read. */
	int parsed = h->in.err == VSP_OK;
	log_request(parsed ? llhttp_method_name(h->in.req.method) : NULL,
	    parsed ? h->in.req.url : NULL, h->resp.status, h->srv->cfg.access_log);
}

/* Sends h->resp: its head, then its body or its body generator. */
void
conn__send(struct hconn *h)
{
	struct resp *r = &h->resp;

	h->state = CS_SEND;
	h->srv->requests++;
	/* A HEAD answer never has a body, errors included (RFC 9110 9.3.2). */
	if (h->in.req.method == HTTP_HEAD && h->in.err == VSP_OK)
		r->no_body = 1;
	if (r->close || !h->in.req.keep_alive || conn_server_stopping(h->srv->cs) ||
	    h->srv->store == NULL)
		h->close_after = 1;
	conn_log(h);
	if (r->no_body || r->gen == NULL) {
		if (write_head(h, r->no_body ? NULL : r->body, r->no_body ? 0 : r->body_len) != 0)
			conn_close(&h->c);
	} else {
		struct conn_body *gen = r->gen;
		if (write_head(h, NULL, 0) != 0) {
			conn_close(&h->c);
		} else {
			r->gen = NULL; /* the core's from here */
			if (conn_send_body(&h->c, gen, r->length) != 0)
				conn_close(&h->c);
		}
	}
	conn__update(h);
}

/* Sets h->resp to the error answer for err, as the service formats it. */
static void
error_answer(struct hconn *h, enum vsp_err err, const char *msg, const char *allow)
{
	resp_clear(h->srv->store, &h->resp);
	if (h->srv->store == NULL && h->srv->svc.error != NULL)
		h->srv->svc.error(&h->resp, err, msg);
	else
		resp_error(&h->resp, err, "%s", msg);
	if (allow != NULL)
		resp_header(&h->resp, "Allow: %s", allow);
}

/* Answers a request the router refused (its body, if any, was read). */
void
conn__route_error(struct hconn *h, enum vsp_err err, const char *msg, const char *allow)
{
	error_answer(h, err, msg, allow);
	conn__send(h);
}

void
conn__send_error(struct hconn *h, enum vsp_err err, const char *msg, const char *allow)
{
	error_answer(h, err, msg, allow);
	if (err == VSP_E_UNAUTHORIZED)
		resp_header(&h->resp, "WWW-Authenticate: Bearer realm=\"vault\"");
	h->resp.close = 1;
	conn__send(h);
}

/* Called when a write finished: is the whole answer out? */
static void
on_written(struct conn *c)
{
	struct hconn *h = (struct hconn *)c;

	if (c->closing || h->state != CS_SEND)
		return;
	conn_timer_state(h, 1);
	if (!conn_out_idle(c))
		return;
	if (h->close_after) {
		/* Stop sending but drain input for a moment (conn_linger). */
		h->state = CS_LINGER;
		drop_pending(h);
		conn_linger(c);
		return;
	}
	conn_next_request(h);
}

static void
conn_next_request(struct hconn *h)
{
	conn__free_request(h);
	h->close_after = 0;
	h->allow = NULL;
	h->route_err = VSP_OK;
	h->state = CS_READ;
	conn_timer(&h->c, CONN_T_NONE, 0, 0);
	conn__resume(h);
}

/* ---- the protocol over the core ---- */

static void
on_open(struct conn *c)
{
	struct hconn *h = (struct hconn *)c;

	h->srv = conn_server_arg(c->srv);
	conn__init_parser(h);
	h->state = CS_READ;
	conn__update(h);
}

/* Idle connections go at once at stop; busy ones after their answer. */
static int
stop_now(const struct conn *c)
{
	const struct hconn *h = (const struct hconn *)c;

	return h->state == CS_READ && !http_in_started(&h->in) && !c->work_busy;
}

static void
on_free(struct conn *c)
{
	struct hconn *h = (struct hconn *)c;

	if (h->srv == NULL)
		return; /* closed before on_open */
	/* Rare: the client went away mid-upload. Dropping the temp file
	 * here costs one unlink on the loop. */
	if (h->up.put != NULL)
		upload_abort(h->srv->store, &h->up);
	conn__free_request(h);
	drop_pending(h);
}

#define BUSY_BODY "{\"code\":\"unavailable\",\"message\":\"too many connections; retry\"}"

static struct server *
start(uv_loop_t *loop, const struct server_config *cfg, struct store *store,
    const struct http_service *svc)
{
	struct server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return NULL;
	snprintf(srv->busy, sizeof(srv->busy),
	    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    sizeof(BUSY_BODY) - 1, BUSY_BODY);
	srv->loop = loop;
	srv->cfg = *cfg;
	srv->store = store;
	if (svc != NULL)
		srv->svc = *svc;
	srv->proto = (struct conn_proto){
		.name = store != NULL ? "server" : "posture page",
		.conn_size = sizeof(struct hconn),
		.max_conns = cfg->max_connections,
		.busy_answer = store != NULL ? srv->busy : NULL,
		.on_open = on_open,
		.on_data = on_data,
		.on_timeout = on_timeout,
		.on_written = on_written,
		.work = conn__work,
		.after_work = conn__after_work,
		.stop_now = stop_now,
		.on_free = on_free,
	};
	if ((srv->cs = conn_server_tcp(loop, cfg->host, cfg->port, LISTEN_BACKLOG, &srv->proto,
	    srv)) == NULL) {
		free(srv);
		return NULL;
	}
	return srv;
}

void
server_reconfigure(struct server *srv, const struct server_config *cfg)
{
	srv->cfg.max_connections = cfg->max_connections;
	srv->cfg.header_timeout_ms = cfg->header_timeout_ms;
	srv->cfg.idle_timeout_ms = cfg->idle_timeout_ms;
	srv->cfg.body_timeout_ms = cfg->body_timeout_ms;
	/* The core reads the cap from the protocol it was given, this one. */
	srv->proto.max_conns = cfg->max_connections;
}

struct server *
server_start(uv_loop_t *loop, const struct server_config *cfg, struct store *store)
{
	return start(loop, cfg, store, NULL);
}

struct server *
server_start_service(uv_loop_t *loop, const struct server_config *cfg,
    const struct http_service *svc)
{
	return start(loop, cfg, NULL, svc);
}

int
server_port(const struct server *srv)
{
	return conn_server_port(srv->cs);
}

static void
on_stopped(void *arg)
{
	struct server *srv = arg;
	void (*cb)(void *) = srv->stop_cb;
	void *cb_arg = srv->stop_arg;

	free(srv);
	if (cb != NULL)
		cb(cb_arg);
}

void
server_stop(struct server *srv, void (*cb)(void *arg), void *arg)
{
	srv->stop_cb = cb;
	srv->stop_arg = arg;
	conn_server_stop(srv->cs, on_stopped, srv);
}

void
server_status(const struct server *srv, json_t *obj)
{
	struct conn_stats st;

	conn_server_stats(srv->cs, &st);
	json_object_set_new(obj, "uptime", json_integer((json_int_t)((uint64_t)time(NULL) -
	    st.started)));
	json_object_set_new(obj, "connections", json_integer((json_int_t)st.conns));
	json_object_set_new(obj, "connections_accepted", json_integer((json_int_t)st.accepted));
	json_object_set_new(obj, "requests", json_integer((json_int_t)srv->requests));
	json_object_set_new(obj, "bytes_in", json_integer((json_int_t)st.bytes_in));
	json_object_set_new(obj, "bytes_out", json_integer((json_int_t)st.bytes_out));
}
