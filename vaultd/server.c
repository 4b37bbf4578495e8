/*
 * Connections: read a request with llhttp, hand the work to the threadpool,
 * write the answer, repeat. The states of one connection:
 *
 *   READ  --headers of an upload-->  BEGIN (work: auth, checks, temp file)
 *   BEGIN --go on-->  BODY (chunks hashed and written on the threadpool)
 *   READ/BODY --request complete-->  WORK (work: handler or upload finish)
 *   WORK  --answer ready-->  SEND (header, then body or streamed object)
 *   SEND  --done-->  READ (next request, possibly pipelined) or closed
 *
 * At most one work item per connection is in flight at a time, so the
 * uv_work_t is embedded and the connection is freed only when its handles
 * are closed and no work is outstanding.
 */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn_internal.h"
#include "log.h"

static void conn_feed(struct conn *c, const char *data, size_t len);
static void conn_next_request(struct conn *c);

/* ---- life cycle ---- */

void
conn__maybe_free(struct conn *c)
{
	if (c->handles_open > 0 || c->work_busy)
		return;
	resp_clear(c->srv->store, &c->resp);
	free(c->req.body);
	free(c->fill);
	free(c->spare);
	free(c->sbuf[0]);
	free(c->sbuf[1]);
	struct server *srv = c->srv;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	free(c);
	server__maybe_stopped(srv);
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	c->handles_open--;
	conn__maybe_free(c);
}

void
conn__close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	/* An upload whose work is done can be dropped now; one whose work is
	 * still running is dropped in its after-work callback. */
	if (!c->work_busy && c->up.put != NULL)
		upload_abort(c->srv->store, &c->up);
}

/* ---- timers ---- */

static void
on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;

	if (c->state == CS_READ && !http_in_started(&c->in)) {
		conn__close(c); /* idle keep-alive connection */
		return;
	}
	if (c->state == CS_READ || c->state == CS_BODY) {
		conn__send_error(c, VSP_E_TIMEOUT, c->state == CS_READ ?
		    "the request headers took too long" : "the request body stalled", NULL);
		return;
	}
	conn__close(c); /* a reader that stopped reading, or lingering is over */
}

/* Arms the timer the current state calls for. restart = 1 re-arms an already
 * running timeout (progress was made). */
static void
conn_timer(struct conn *c, int restart)
{
	const struct server_config *cfg = &c->srv->cfg;
	enum timer_mode mode;
	unsigned ms;

	if (c->closing)
		return;
	switch (c->state) {
	case CS_READ:
		mode = http_in_started(&c->in) ? TM_HEADER : TM_IDLE;
		ms = mode == TM_HEADER ? cfg->header_timeout_ms : cfg->idle_timeout_ms;
		restart = 0; /* the header deadline runs from the first byte */
		break;
	case CS_BODY:
	case CS_SEND:
		mode = TM_PROGRESS;
		ms = cfg->body_timeout_ms;
		break;
	case CS_LINGER:
		mode = TM_LINGER;
		ms = LINGER_MS;
		restart = 0;
		break;
	default:
		mode = TM_NONE;
		ms = 0;
	}
	if (mode == c->timer_mode && !restart)
		return;
	c->timer_mode = mode;
	if (mode == TM_NONE)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* ---- reading ---- */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	(void)suggested;
	buf->base = c->rbuf;
	buf->len = sizeof(c->rbuf);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (nread < 0) {
		conn__close(c);
		return;
	}
	if (nread == 0)
		return;
	c->srv->bytes_in += (uint64_t)nread;
	if (c->state == CS_LINGER)
		return; /* discarding what a closed request still sends */
	conn_feed(c, buf->base, (size_t)nread);
	if (c->state == CS_BODY)
		conn_timer(c, 1);
	conn__update(c);
}

/* Reads from the socket only when the parser can take bytes: not while
 * paused, not while a full upload chunk waits for the disk. */
void
conn__update(struct conn *c)
{
	int want;

	if (c->closing)
		return;
	want = c->pending_len == 0 &&
	    (c->state == CS_READ || c->state == CS_LINGER ||
	        (c->state == CS_BODY && (!c->is_upload || c->fill_len < UPLOAD_CHUNK)));
	if (want && !c->reading)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	else if (!want && c->reading)
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = want;
	conn_timer(c, 0);
}

/* Keeps bytes the paused parser has not used, to feed them later. */
static void
keep_pending(struct conn *c, const char *rest, size_t n)
{
	if (n == 0) {
		c->pending_len = 0;
		c->pending_off = 0;
		return;
	}
	if (rest >= c->pending && rest < c->pending + sizeof(c->pending)) {
		c->pending_off = (size_t)(rest - c->pending);
		c->pending_len = n;
		return;
	}
	/* n <= READ_BUF_SIZE: it came from one read. */
	memcpy(c->pending, rest, n);
	c->pending_off = 0;
	c->pending_len = n;
}

static void
conn_feed(struct conn *c, const char *data, size_t len)
{
	size_t used = 0;
	enum http_exec rc;
	const char *msg;

	c->action = ACT_NONE;
	rc = http_in_execute(&c->in, data, len, &used);
	if (rc == HTTP_ERROR) {
		enum vsp_err err = http_in_error(&c->in, &msg);
		c->pending_len = 0;
		conn__send_error(c, err, msg, c->allow);
		return;
	}
	keep_pending(c, data + used, len - used);
	if (rc == HTTP_PAUSED)
		c->paused = 1;
	if (c->action == ACT_BEGIN)
		conn__start_work(c, WORK_BEGIN);
	else if (c->action == ACT_COMPLETE)
		conn__request_complete(c);
	else if (c->state == CS_BODY && c->is_upload)
		conn__pump_upload(c);
}

/* Feeds bytes kept while the parser was paused. */
void
conn__resume(struct conn *c)
{
	if (c->paused) {
		c->paused = 0;
		http_in_resume(&c->in);
	}
	if (c->pending_len > 0 && !c->closing)
		conn_feed(c, c->pending + c->pending_off, c->pending_len);
	conn__update(c);
}

/* ---- answering ---- */

static void
on_plain_write(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	struct conn *c = wr->conn;

	free(wr);
	c->writes--;
	if (status < 0) {
		conn__close(c);
		return;
	}
	conn__write_progress(c);
}

int
conn__write(struct conn *c, const char *a, size_t alen, const char *b, size_t blen)
{
	struct write_req *wr = malloc(sizeof(*wr) + alen);
	uv_buf_t bufs[2];

	if (wr == NULL)
		return -1;
	wr->conn = c;
	memcpy(wr->data, a, alen);
	bufs[0] = uv_buf_init(wr->data, (unsigned)alen);
	bufs[1] = uv_buf_init((char *)b, (unsigned)blen);
	if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, bufs, blen ? 2 : 1, on_plain_write) != 0) {
		free(wr);
		return -1;
	}
	c->writes++;
	c->srv->bytes_out += alen + blen;
	return 0;
}

/* Writes the status line and headers of c->resp. */
static int
write_head(struct conn *c, const char *body, size_t body_len)
{
	struct resp *r = &c->resp;
	uint64_t length = r->reader != NULL || (r->no_body && r->body == NULL) ? r->length
	                                                                      : r->body_len;
	char head[RESP_HEADERS_MAX + 256];
	int n;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %" PRIu64 "\r\n%s%s\r\n", r->status,
	    vsp_status_reason(r->status), r->content_type ? "Content-Type: " : "",
	    r->content_type ? r->content_type : "", r->content_type ? "\r\n" : "", length,
	    c->close_after ? "Connection: close\r\n" : "", r->headers);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	return conn__write(c, head, (size_t)n, body, body_len);
}

static void
conn_log(struct conn *c)
{
	/* After a parse error the method and target may be half-read. */
	int parsed = c->in.err == VSP_OK;
	log_request(parsed ? llhttp_method_name(c->in.req.method) : NULL,
	    parsed ? c->in.req.url : NULL, c->resp.status, c->srv->cfg.access_log);
}

/* Sends c->resp: its head, then its body or streamed object. */
void
conn__send(struct conn *c)
{
	struct resp *r = &c->resp;

	c->state = CS_SEND;
	c->srv->requests++;
	/* A HEAD answer never has a body, errors included (RFC 9110 9.3.2). */
	if (c->in.req.method == HTTP_HEAD && c->in.err == VSP_OK)
		r->no_body = 1;
	if (r->close || !c->in.req.keep_alive || c->srv->stopping)
		c->close_after = 1;
	conn_log(c);
	if (r->no_body || r->reader == NULL) {
		if (write_head(c, r->no_body ? NULL : r->body, r->no_body ? 0 : r->body_len) != 0)
			conn__close(c);
	} else {
		if (write_head(c, NULL, 0) != 0 || conn__stream_start(c) != 0)
			conn__close(c);
	}
	conn__update(c);
}

void
conn__send_error(struct conn *c, enum vsp_err err, const char *msg, const char *allow)
{
	resp_clear(c->srv->store, &c->resp);
	resp_error(&c->resp, err, "%s", msg);
	if (allow != NULL)
		resp_header(&c->resp, "Allow: %s", allow);
	if (err == VSP_E_UNAUTHORIZED)
		resp_header(&c->resp, "WWW-Authenticate: Bearer realm=\"vault\"");
	c->resp.close = 1;
	conn__send(c);
}

/* Called when a write finished: is the whole answer out? */
void
conn__write_progress(struct conn *c)
{
	if (c->closing || c->state != CS_SEND)
		return;
	conn_timer(c, 1);
	if (c->writes > 0 || !conn__stream_done(c))
		return;
	if (c->close_after) {
		conn__linger(c);
		return;
	}
	conn_next_request(c);
}

static void
on_shutdown(uv_shutdown_t *s, int status)
{
	(void)status;
	free(s);
}

/* After an answer with Connection: close, stop sending but keep reading
 * (and discarding) for a moment: closing with unread bytes would make the
 * kernel send a reset that can destroy the answer before the client reads
 * it. */
void
conn__linger(struct conn *c)
{
	uv_shutdown_t *s = malloc(sizeof(*s));

	if (s == NULL || uv_shutdown(s, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
		free(s);
		conn__close(c);
		return;
	}
	c->state = CS_LINGER;
	c->pending_len = 0;
	conn__update(c);
}

static void
conn_next_request(struct conn *c)
{
	resp_clear(c->srv->store, &c->resp);
	free(c->req.body);
	memset(&c->req, 0, sizeof(c->req));
	c->is_upload = 0;
	c->fill_len = 0;
	c->body_done = 0;
	c->close_after = 0;
	c->allow = NULL;
	c->route_err = VSP_OK;
	c->state = CS_READ;
	c->timer_mode = TM_NONE;
	conn__resume(c);
}

/* ---- accepting ---- */

#define BUSY_BODY "{\"code\":\"unavailable\",\"message\":\"too many connections; retry\"}"

static void
on_rejected_closed(uv_handle_t *h)
{
	free(h);
}

static void
reject(struct server *srv)
{
	uv_tcp_t *t = malloc(sizeof(*t));
	char answer[256];
	int n = snprintf(answer, sizeof(answer),
	    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    sizeof(BUSY_BODY) - 1, BUSY_BODY);
	uv_buf_t b = uv_buf_init(answer, (unsigned)n);

	if (t == NULL)
		return;
	uv_tcp_init(srv->loop, t);
	if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)t) == 0)
		uv_try_write((uv_stream_t *)t, &b, 1);
	uv_close((uv_handle_t *)t, on_rejected_closed);
}

static void
on_connection(uv_stream_t *l, int status)
{
	struct server *srv = l->data;
	struct conn *c;

	if (status < 0) {
		fprintf(stderr, "vaultd: accept: %s\n", uv_strerror(status));
		return;
	}
	if (srv->nconns >= srv->cfg.max_connections || (c = calloc(1, sizeof(*c))) == NULL) {
		reject(srv);
		return;
	}
	c->srv = srv;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles_open = 2;
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	srv->accepted++;
	conn__init_parser(c);
	if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
		conn__close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	c->state = CS_READ;
	conn__update(c);
}

struct server *
server_start(uv_loop_t *loop, const struct server_config *cfg, struct store *store)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct sockaddr_storage addr;
	int rc;

	if (srv == NULL)
		return NULL;
	srv->loop = loop;
	srv->cfg = *cfg;
	srv->store = store;
	srv->started = (uint64_t)time(NULL);
	if (uv_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&addr) != 0 &&
	    uv_ip6_addr(cfg->host, cfg->port, (struct sockaddr_in6 *)&addr) != 0) {
		fprintf(stderr, "vaultd: bad listen address '%s'\n", cfg->host);
		free(srv);
		return NULL;
	}
	uv_tcp_init(loop, &srv->listener);
	srv->listener.data = srv;
	if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection)) != 0) {
		fprintf(stderr, "vaultd: listen on %s:%d: %s\n", cfg->host, cfg->port,
		    uv_strerror(rc));
		srv->stopping = 1;
		uv_close((uv_handle_t *)&srv->listener, NULL);
		/* The handle is closed on the next loop turn; run it now. */
		uv_run(loop, UV_RUN_NOWAIT);
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
}

int
server_port(const struct server *srv)
{
	struct sockaddr_storage addr;
	int len = sizeof(addr);

	if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&addr, &len) != 0)
		return -1;
	if (addr.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
	return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

void
server__maybe_stopped(struct server *srv)
{
	if (!srv->stopping || srv->nconns > 0 || !srv->listener_closed || srv->stop_cb == NULL)
		return;
	void (*cb)(void *) = srv->stop_cb;
	void *arg = srv->stop_arg;
	srv->stop_cb = NULL;
	free(srv);
	cb(arg);
}

static void
on_listener_closed(uv_handle_t *h)
{
	struct server *srv = h->data;
	srv->listener_closed = 1;
	server__maybe_stopped(srv);
}

void
server_stop(struct server *srv, void (*cb)(void *arg), void *arg)
{
	srv->stopping = 1;
	srv->stop_cb = cb;
	srv->stop_arg = arg;
	uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
	/* Idle connections go now; busy ones after their current answer. */
	for (struct conn *c = srv->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->state == CS_READ && !http_in_started(&c->in) && !c->work_busy)
			conn__close(c);
	}
}

void
server_status(const struct server *srv, json_t *obj)
{
	json_object_set_new(obj, "uptime", json_integer((json_int_t)((uint64_t)time(NULL) -
	    srv->started)));
	json_object_set_new(obj, "connections", json_integer((json_int_t)srv->nconns));
	json_object_set_new(obj, "connections_accepted", json_integer((json_int_t)srv->accepted));
	json_object_set_new(obj, "requests", json_integer((json_int_t)srv->requests));
	json_object_set_new(obj, "bytes_in", json_integer((json_int_t)srv->bytes_in));
	json_object_set_new(obj, "bytes_out", json_integer((json_int_t)srv->bytes_out));
}
