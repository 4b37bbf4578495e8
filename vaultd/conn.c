/*
 * The connection core (conn.h): every connection of vaultd, whatever its
 * protocol, lives and dies here. The life of one connection:
 *
 *   accepted --over the cap-->  busy answer, closed at once
 *   accepted --proto->on_open-->  open: the protocol reads, arms timers,
 *       queues its one work item and writes; the core streams a body
 *       from a generator on the protocol's behalf
 *   open --conn_linger-->  lingering: no more output, input discarded,
 *       closed after CONN_LINGER_MS or at the peer's end
 *   open/lingering --conn_close-->  closing: handles closing
 *   closing --handles closed and no work in flight-->  freed
 *
 * The one uv_work_t is embedded, so a connection is freed only when its
 * handles are closed and its work item is back (STYLE.md 7).
 */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define CHUNK_POOL_MAX 16 /* idle body chunks a listener keeps */

/* A body chunk: free, being read, or read (full); a full chunk is freed
 * once it is written and, if the body has a check, checked. */
enum { SB_FREE = 0, SB_READING, SB_FULL };
enum { SD_WRITTEN = 1, SD_CHECKED = 2 };

struct conn_server {
	uv_loop_t *loop;
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} l;
	int is_pipe;
	const struct conn_proto *proto;
	void *arg;
	struct conn *conns;
	size_t nconns;
	int stopping;
	int listener_closed;
	void (*stop_cb)(void *arg);
	void *stop_arg;
	char *rbuf;              /* CONN_READ_BUF bytes, shared by every read */
	char *pool[CHUNK_POOL_MAX];
	size_t npool;
	struct conn_stats st;
};

/* A write request with its own copy of the head bytes. */
struct write_req {
	uv_write_t w;
	struct conn *c;
	size_t len;
	int wipe;
	char data[];
};

static void body_pump(struct conn *c);

/* ---- the chunk pool ---- */

char *
conn_chunk_get(struct conn_server *srv)
{
	if (srv->npool > 0)
		return srv->pool[--srv->npool];
	return malloc(CONN_CHUNK_ALLOC);
}

void
conn_chunk_put(struct conn_server *srv, char *chunk)
{
	if (chunk == NULL)
		return;
	if (srv->npool < CHUNK_POOL_MAX && !srv->stopping)
		srv->pool[srv->npool++] = chunk;
	else
		free(chunk);
}

/* ---- life cycle ---- */

static void
server_maybe_done(struct conn_server *srv)
{
	void (*cb)(void *);
	void *arg;

	if (!srv->stopping || srv->nconns > 0 || !srv->listener_closed)
		return;
	cb = srv->stop_cb;
	arg = srv->stop_arg;
	while (srv->npool > 0)
		free(srv->pool[--srv->npool]);
	free(srv->rbuf);
	free(srv);
	if (cb != NULL)
		cb(arg);
}

/* Ends the body being streamed: finish, free, chunks back to the pool. */
static void
body_end(struct conn *c, int ok)
{
	struct conn_body *b = c->body;

	c->body = NULL;
	if (b != NULL) {
		if (b->ops->finish != NULL)
			b->ops->finish(b, ok);
		b->ops->free(b);
	}
	for (int i = 0; i < CONN_SBUFS; i++) {
		conn_chunk_put(c->srv, c->sbuf[i]);
		c->sbuf[i] = NULL;
		c->sstate[i] = SB_FREE;
		c->sdone[i] = 0;
	}
}

static void
conn_maybe_free(struct conn *c)
{
	struct conn_server *srv = c->srv;

	if (c->handles_open > 0 || c->work_busy || c->check_busy || c->writes > 0)
		return;
	body_end(c, 0);
	if (srv->proto->on_free != NULL)
		srv->proto->on_free(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	free(c);
	server_maybe_done(srv);
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	c->handles_open--;
	conn_maybe_free(c);
}

void
conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	if (c->reading)
		uv_read_stop(&c->h.stream);
	c->reading = 0;
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close(&c->h.handle, on_handle_closed);
}

/* ---- timers ---- */

static void
on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	enum conn_timer which = c->timer_mode;

	c->timer_mode = CONN_T_NONE;
	if (which == CONN_T_LINGER)
		conn_close(c);
	else
		c->srv->proto->on_timeout(c, which);
}

void
conn_timer(struct conn *c, enum conn_timer which, unsigned ms, int restart)
{
	if (c->closing || (which == c->timer_mode && !restart))
		return;
	c->timer_mode = which;
	if (which == CONN_T_NONE)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* ---- reading ---- */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	struct conn_server *srv = c->srv;
	size_t len = CONN_READ_BUF;

	(void)suggested;
	if (srv->proto->read_buf != NULL && !c->lingering) {
		char *p = srv->proto->read_buf(c, &len);
		*buf = uv_buf_init(p, (unsigned)len);
		return;
	}
	/* Allocated at the first read, not per connection: idle connections
	 * hold no read buffer. */
	if (srv->rbuf == NULL)
		srv->rbuf = malloc(CONN_READ_BUF);
	*buf = uv_buf_init(srv->rbuf, srv->rbuf != NULL ? CONN_READ_BUF : 0);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	const struct conn_proto *p = c->srv->proto;

	if (nread == UV_EOF && p->on_eof != NULL && !c->lingering) {
		conn_read(c, 0);
		p->on_eof(c);
		return;
	}
	if (nread < 0) { /* UV_ENOBUFS too: no read buffer */
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	c->srv->st.bytes_in += (uint64_t)nread;
	if (c->lingering)
		return; /* discarding what a closed request still sends */
	p->on_data(c, buf->base, (size_t)nread);
}

void
conn_read(struct conn *c, int on)
{
	if (c->closing)
		return;
	if (on && !c->reading) {
		if (uv_read_start(&c->h.stream, on_alloc, on_read) != 0) {
			conn_close(c);
			return;
		}
	} else if (!on && c->reading) {
		uv_read_stop(&c->h.stream);
	}
	c->reading = on;
}

/* ---- writing ---- */

static void
on_write(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	struct conn *c = wr->c;

	if (wr->wipe)
		explicit_bzero(wr->data, wr->len);
	free(wr);
	c->writes--;
	if (status < 0 || c->closing) {
		conn_close(c);
		conn_maybe_free(c);
		return;
	}
	c->srv->proto->on_written(c);
}

int
conn_write(struct conn *c, const char *a, size_t alen, const char *b, size_t blen, int wipe)
{
	struct write_req *wr;
	uv_buf_t bufs[2];

	if (c->closing || (wr = malloc(sizeof(*wr) + alen)) == NULL)
		return -1;
	wr->c = c;
	wr->len = alen;
	wr->wipe = wipe;
	memcpy(wr->data, a, alen);
	bufs[0] = uv_buf_init(wr->data, (unsigned)alen);
	bufs[1] = uv_buf_init((char *)b, (unsigned)blen);
	if (uv_write(&wr->w, &c->h.stream, bufs, blen ? 2 : 1, on_write) != 0) {
		if (wipe)
			explicit_bzero(wr->data, alen);
		free(wr);
		return -1;
	}
	c->writes++;
	c->srv->st.bytes_out += alen + blen;
	return 0;
}

int
conn_out_idle(const struct conn *c)
{
	return c->writes == 0 && c->body == NULL;
}

/* ---- the work item ---- */

static struct conn *
conn_of_work(uv_work_t *w)
{
	return (struct conn *)((char *)w - offsetof(struct conn, work));
}

/* Reads one body chunk whole (threadpool). */
static void
body_read(struct conn *c)
{
	int i = c->next_read;
	uint64_t left = c->body_end - c->body_off;
	size_t want = left < CONN_CHUNK ? (size_t)left : CONN_CHUNK;

	c->body_err = 0;
	errno = 0;
	if (c->body->ops->read(c->body, c->body_off, c->sbuf[i], want) != 0)
		c->body_err = errno != 0 ? errno : EIO;
	c->soff[i] = c->body_off;
	c->slen[i] = want;
}

static void
work_cb(uv_work_t *w)
{
	struct conn *c = conn_of_work(w);

	if (c->work_body)
		body_read(c);
	else
		c->srv->proto->work(c);
}

/* The head is out already, so the only honest signal left when a body
 * cannot be read or fails its check is to cut the connection short of
 * Content-Length. */
static void
body_fail(struct conn *c, const char *what, int err)
{
	log_msg(VLOG_ERROR, "%s a response body failed: %s", what, strerror(err));
	conn_close(c);
}

static void
after_body_read(struct conn *c)
{
	int i = c->next_read;

	if (c->body_err != 0) {
		body_fail(c, "reading", c->body_err);
		return;
	}
	c->sstate[i] = SB_FULL;
	c->sdone[i] = c->body->ops->check != NULL ? 0 : SD_CHECKED;
	c->body_off += c->slen[i];
	c->next_read = (c->next_read + 1) % CONN_SBUFS;
	body_pump(c);
}

static void
after_work_cb(uv_work_t *w, int status)
{
	struct conn *c = conn_of_work(w);
	int body = c->work_body;

	(void)status; /* UV_ECANCELED cannot happen: nothing is cancelled */
	c->work_busy = 0;
	c->work_body = 0;
	if (c->closing) {
		conn_maybe_free(c);
		return;
	}
	if (body)
		after_body_read(c);
	else
		c->srv->proto->after_work(c);
}

static int
queue_work(struct conn *c, int body)
{
	c->work_busy = 1;
	c->work_body = body;
	if (uv_queue_work(c->srv->loop, &c->work, work_cb, after_work_cb) != 0) {
		c->work_busy = 0;
		conn_close(c);
		return -1;
	}
	return 0;
}

int
conn_work(struct conn *c)
{
	return queue_work(c, 0);
}

/* ---- streamed bodies ---- */

static struct conn *
conn_of_check(uv_work_t *w)
{
	return (struct conn *)((char *)w - offsetof(struct conn, check_work));
}

/* Threadpool: checks the next full chunk, on another thread than the read
 * of the chunk after it, so reading and checking (hashing) overlap. */
static void
check_cb(uv_work_t *w)
{
	struct conn *c = conn_of_check(w);
	int i = c->next_check;

	c->check_err = 0;
	errno = 0;
	if (c->body->ops->check(c->body, c->soff[i], c->sbuf[i], c->slen[i],
	    c->soff[i] + c->slen[i] == c->body_end) != 0)
		c->check_err = errno != 0 ? errno : EIO;
}

/* Frees chunk i once it is both written and checked. */
static void
chunk_release(struct conn *c, int i)
{
	if (c->sdone[i] == (SD_WRITTEN | SD_CHECKED)) {
		c->sstate[i] = SB_FREE;
		c->sdone[i] = 0;
	}
}

/* The whole body is read, checked and written. */
static int
body_complete(const struct conn *c)
{
	if (c->body == NULL || c->body_off != c->body_end || c->work_busy || c->check_busy ||
	    c->body_writing)
		return 0;
	for (int i = 0; i < CONN_SBUFS; i++)
		if (c->sstate[i] != SB_FREE)
			return 0;
	return 1;
}

static void
after_check_cb(uv_work_t *w, int status)
{
	struct conn *c = conn_of_check(w);
	int i = c->next_check;

	(void)status; /* nothing is cancelled */
	c->check_busy = 0;
	if (c->closing) {
		conn_maybe_free(c);
		return;
	}
	if (c->check_err != 0) {
		body_fail(c, "checking", c->check_err);
		return;
	}
	c->sdone[i] |= SD_CHECKED;
	c->next_check = (c->next_check + 1) % CONN_SBUFS;
	chunk_release(c, i);
	body_pump(c);
	if (body_complete(c))
		body_end(c, 1);
}

static void
on_body_write(uv_write_t *w, int status)
{
	struct conn *c = w->data;
	int i = c->next_write;

	free(w);
	c->writes--;
	c->body_writing = 0;
	if (status < 0 || c->closing) {
		conn_close(c);
		conn_maybe_free(c);
		return;
	}
	c->sdone[i] |= SD_WRITTEN;
	c->next_write = (c->next_write + 1) % CONN_SBUFS;
	chunk_release(c, i);
	body_pump(c);
	if (body_complete(c))
		body_end(c, 1);
	c->srv->proto->on_written(c);
}

/* Keeps one chunk reading, one checking and one writing, each in body
 * order. A chunk goes out as soon as it is read, but the last one only once
 * every check passed: a body that fails its check never arrives whole. */
static void
body_pump(struct conn *c)
{
	int r = c->next_read, k = c->next_check, wi = c->next_write;

	if (c->closing)
		return;
	if (!c->work_busy && c->body_off < c->body_end && c->sstate[r] == SB_FREE) {
		c->sstate[r] = SB_READING;
		if (queue_work(c, 1) != 0)
			return;
	}
	if (!c->check_busy && c->sstate[k] == SB_FULL && !(c->sdone[k] & SD_CHECKED)) {
		c->check_busy = 1;
		if (uv_queue_work(c->srv->loop, &c->check_work, check_cb, after_check_cb) != 0) {
			c->check_busy = 0;
			conn_close(c);
			return;
		}
	}
	if (!c->body_writing && c->sstate[wi] == SB_FULL && !(c->sdone[wi] & SD_WRITTEN) &&
	    (c->soff[wi] + c->slen[wi] < c->body_end || (c->sdone[wi] & SD_CHECKED))) {
		uv_write_t *w = malloc(sizeof(*w));
		uv_buf_t b = uv_buf_init(c->sbuf[wi], (unsigned)c->slen[wi]);

		if (w == NULL) {
			conn_close(c);
			return;
		}
		w->data = c;
		if (uv_write(w, &c->h.stream, &b, 1, on_body_write) != 0) {
			free(w);
			conn_close(c);
			return;
		}
		c->body_writing = 1;
		c->writes++;
		c->srv->st.bytes_out += c->slen[wi];
	}
}

int
conn_send_body(struct conn *c, struct conn_body *body, uint64_t len)
{
	c->body = body;
	for (int i = 0; i < CONN_SBUFS; i++) {
		c->sstate[i] = SB_FREE;
		c->sdone[i] = 0;
		if (c->sbuf[i] == NULL && (c->sbuf[i] = conn_chunk_get(c->srv)) == NULL) {
			body_end(c, 0);
			return -1;
		}
	}
	c->next_read = c->next_write = c->next_check = 0;
	c->body_off = 0;
	c->body_end = len;
	if (len == 0) {
		body_end(c, 1);
		return 0;
	}
	body_pump(c);
	return 0;
}

/* ---- linger ---- */

static void
on_shutdown(uv_shutdown_t *s, int status)
{
	(void)status;
	free(s);
}

void
conn_linger(struct conn *c)
{
	uv_shutdown_t *s = malloc(sizeof(*s));

	if (s == NULL || uv_shutdown(s, &c->h.stream, on_shutdown) != 0) {
		free(s);
		conn_close(c);
		return;
	}
	c->lingering = 1;
	conn_read(c, 1);
	conn_timer(c, CONN_T_LINGER, CONN_LINGER_MS, 0);
}

/* ---- accepting ---- */

static void
on_busy_closed(uv_handle_t *h)
{
	free(h);
}

/* Refuses one connection over the cap with the protocol's busy answer. */
static void
reject(struct conn_server *srv)
{
	const char *answer = srv->proto->busy_answer;
	uv_stream_t *t = malloc(srv->is_pipe ? sizeof(uv_pipe_t) : sizeof(uv_tcp_t));
	uv_buf_t b = uv_buf_init((char *)answer, answer != NULL ? (unsigned)strlen(answer) : 0);

	if (t == NULL)
		return;
	if (srv->is_pipe)
		uv_pipe_init(srv->loop, (uv_pipe_t *)t, 0);
	else
		uv_tcp_init(srv->loop, (uv_tcp_t *)t);
	if (uv_accept(&srv->l.stream, t) == 0 && answer != NULL)
		uv_try_write(t, &b, 1);
	uv_close((uv_handle_t *)t, on_busy_closed);
}

static int
handle_init(struct conn_server *srv, struct conn *c)
{
	if (srv->is_pipe)
		return uv_pipe_init(srv->loop, &c->h.pipe, 0);
	return uv_tcp_init(srv->loop, &c->h.tcp);
}

static void
on_connection(uv_stream_t *l, int status)
{
	struct conn_server *srv = l->data;
	const struct conn_proto *p = srv->proto;
	struct conn *c;

	if (status < 0) {
		log_msg(VLOG_ERROR, "%s: accept: %s", p->name, uv_strerror(status));
		return;
	}
	if ((p->max_conns > 0 && srv->nconns >= p->max_conns) ||
	    (c = calloc(1, p->conn_size)) == NULL || handle_init(srv, c) != 0) {
		reject(srv); /* calloc and the init of a fresh handle do not fail in practice */
		return;
	}
	c->srv = srv;
	uv_timer_init(srv->loop, &c->timer);
	c->h.handle.data = c->timer.data = c;
	c->handles_open = 2;
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	srv->st.accepted++;
	if (uv_accept(l, &c->h.stream) != 0) {
		conn_close(c);
		return;
	}
	if (!srv->is_pipe)
		uv_tcp_nodelay(&c->h.tcp, 1);
	p->on_open(c);
}

static struct conn_server *
server_new(uv_loop_t *loop, const struct conn_proto *proto, void *arg)
{
	struct conn_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL) {
		log_msg(VLOG_ERROR, "%s: out of memory", proto->name);
		return NULL;
	}
	srv->loop = loop;
	srv->proto = proto;
	srv->arg = arg;
	srv->st.started = (uint64_t)time(NULL);
	return srv;
}

static void
on_listener_closed(uv_handle_t *h)
{
	struct conn_server *srv = h->data;

	srv->listener_closed = 1;
	server_maybe_done(srv);
}

struct conn_server *
conn_server_tcp(uv_loop_t *loop, const char *host, int port, int backlog,
    const struct conn_proto *proto, void *arg)
{
	struct conn_server *srv;
	struct sockaddr_storage addr;
	int rc;

	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
		log_msg(VLOG_ERROR, "%s: bad listen address '%s'", proto->name, host);
		return NULL;
	}
	if ((srv = server_new(loop, proto, arg)) == NULL)
		return NULL;
	uv_tcp_init(loop, &srv->l.tcp);
	srv->l.handle.data = srv;
	if ((rc = uv_tcp_bind(&srv->l.tcp, (struct sockaddr *)&addr, 0)) != 0 ||
	    (rc = uv_listen(&srv->l.stream, backlog, on_connection)) != 0) {
		log_msg(VLOG_ERROR, "%s: listen on %s:%d: %s", proto->name, host, port,
		    uv_strerror(rc));
		srv->stopping = 1;
		uv_close(&srv->l.handle, NULL);
		/* The handle is closed on the next loop turn; run it now. */
		uv_run(loop, UV_RUN_NOWAIT);
		free(srv);
		return NULL;
	}
	return srv;
}

struct conn_server *
conn_server_pipe(uv_loop_t *loop, int fd, int backlog, const struct conn_proto *proto,
    void *arg)
{
	struct conn_server *srv;
	int rc;

	if ((srv = server_new(loop, proto, arg)) == NULL)
		return NULL;
	srv->is_pipe = 1;
	uv_pipe_init(loop, &srv->l.pipe, 0); /* cannot fail on Unix */
	srv->l.handle.data = srv;
	if ((rc = uv_pipe_open(&srv->l.pipe, fd)) != 0)
		close(fd); /* not the handle's yet */
	if (rc != 0 || (rc = uv_listen(&srv->l.stream, backlog, on_connection)) != 0) {
		/* Not expected for a fresh listening socket. The handle is
		 * initialised, so only its close callback may free srv. */
		log_msg(VLOG_ERROR, "%s: %s", proto->name, uv_strerror(rc));
		srv->stopping = 1;
		uv_close(&srv->l.handle, on_listener_closed);
		return NULL;
	}
	return srv;
}

int
conn_server_port(const struct conn_server *srv)
{
	struct sockaddr_storage addr;
	int len = sizeof(addr);

	if (srv->is_pipe || uv_tcp_getsockname(&srv->l.tcp, (struct sockaddr *)&addr, &len) != 0)
		return -1;
	if (addr.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
	return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

void *
conn_server_arg(const struct conn_server *srv)
{
	return srv->arg;
}

int
conn_server_stopping(const struct conn_server *srv)
{
	return srv->stopping;
}

void
conn_server_stats(const struct conn_server *srv, struct conn_stats *st)
{
	*st = srv->st;
	st->conns = srv->nconns;
}

void
conn_server_stop(struct conn_server *srv, void (*cb)(void *arg), void *arg)
{
	srv->stopping = 1;
	srv->stop_cb = cb;
	srv->stop_arg = arg;
	while (srv->npool > 0)
		free(srv->pool[--srv->npool]);
	uv_close(&srv->l.handle, on_listener_closed);
	for (struct conn *c = srv->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (srv->proto->stop_now == NULL || srv->proto->stop_now(c))
			conn_close(c);
	}
}
