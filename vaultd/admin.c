/*
 * The admin socket server (loop side): reads request lines, runs them on
 * the threadpool through admin__handle(), writes one answer line each.
 */
#include "admin_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "vsp.h"

#define LISTEN_BACKLOG 16


/* ------------------------------------------------------------------ */
/* The server (loop side).                                             */
/* ------------------------------------------------------------------ */

struct admin {
	uv_loop_t *loop;
	uv_pipe_t listener;
	struct admin_ctx ctx;
	char *path;
	struct admin_conn *conns; /* doubly linked */
	size_t nconns;
	int listener_open;
	int stopping;
	void (*stop_cb)(void *arg);
	void *stop_arg;
};

struct admin_conn {
	uv_pipe_t pipe;
	struct admin *a;
	struct admin_conn *prev, *next;
	char *buf;        /* ADMIN_LINE_MAX + 1 bytes: one line and its '\n' */
	size_t len;
	uv_work_t work;
	json_t *req;      /* owned by the work while busy */
	json_t *resp;
	json_t *extra;    /* ctx->status fields, taken on the loop */
	size_t writes;    /* uv_write requests in flight */
	int reading;
	int busy;         /* a request is on the threadpool */
	int eof;
	int drain_close;  /* close once the writes in flight are done */
	int closing;      /* uv_close called */
	int closed;       /* close callback ran */
};

struct admin_write {
	uv_write_t req;
	struct admin_conn *c;
	size_t len;
	char data[]; /* the response line */
};

static void conn_process(struct admin_conn *c);

static void
admin_maybe_done(struct admin *a)
{
	void (*cb)(void *) = a->stop_cb;
	void *arg = a->stop_arg;

	if (!a->stopping || a->listener_open || a->nconns > 0)
		return;
	free(a->path);
	free(a);
	if (cb != NULL)
		cb(arg);
}

/* Frees c once its handle is closed and no work holds it. */
static void
conn_maybe_free(struct admin_conn *c)
{
	struct admin *a = c->a;

	if (!c->closed || c->busy || c->writes > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		a->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	a->nconns--;
	json_decref(c->extra);
	free(c->buf);
	free(c);
	admin_maybe_done(a);
}

static void
conn_close_cb(uv_handle_t *h)
{
	struct admin_conn *c = h->data;

	c->closed = 1;
	conn_maybe_free(c);
}

static void
conn_close(struct admin_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->pipe, conn_close_cb);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct admin_write *w = (struct admin_write *)req;
	struct admin_conn *c = w->c;

	sodium_memzero(w->data, w->len); /* it may hold a new token */
	free(w);
	c->writes--;
	if (status < 0 || (c->drain_close && c->writes == 0))
		conn_close(c);
	conn_maybe_free(c); /* after uv_close the last write callback may come last */
}

/* Wipes the secret of a token.issue response before it is freed; jansson
 * frees its strings without clearing them. */
static void
scrub_token(json_t *resp)
{
	json_t *t = json_object_get(resp, "token");

	if (json_is_string(t))
		sodium_memzero((char *)json_string_value(t), json_string_length(t));
}

/* Writes resp (or an out-of-memory error if NULL) as one line. */
static void
conn_send(struct admin_conn *c, const json_t *resp)
{
	static const char oom[] = "{\"ok\":false,\"error\":\"vaultd is out of memory\"}";
	struct admin_write *w;
	char *s = resp != NULL ? json_dumps(resp, JSON_COMPACT) : NULL;
	const char *text = s != NULL ? s : oom;
	size_t len = strlen(text);
	uv_buf_t b;

	w = c->closing ? NULL : malloc(sizeof(*w) + len + 1);
	if (w != NULL) {
		memcpy(w->data, text, len);
		w->data[len] = '\n';
		w->len = len + 1;
		w->c = c;
	}
	if (s != NULL) {
		sodium_memzero(s, len);
		free(s);
	}
	if (w == NULL) {
		conn_close(c);
		return;
	}
	b = uv_buf_init(w->data, (unsigned int)w->len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, write_cb) != 0) {
		sodium_memzero(w->data, w->len);
		free(w);
		conn_close(c);
		return;
	}
	c->writes++;
}

static void
conn_send_error(struct admin_conn *c, const char *msg)
{
	json_t *r = admin__error("%s", msg);

	conn_send(c, r);
	json_decref(r);
}

/* Sends nothing more; closes once what is queued has been written. */
static void
conn_finish(struct admin_conn *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = 0;
	}
	if (c->writes == 0)
		conn_close(c);
	else
		c->drain_close = 1;
}

static void
work_cb(uv_work_t *w)
{
	struct admin_conn *c = w->data;

	c->resp = admin__handle(&c->a->ctx, c->req, 0);
}

static void
after_work_cb(uv_work_t *w, int status)
{
	struct admin_conn *c = w->data;

	(void)status; /* UV_ECANCELED cannot happen: we never uv_cancel */
	c->busy = 0;
	json_decref(c->req);
	c->req = NULL;
	if (c->resp != NULL && c->extra != NULL &&
	    json_is_true(json_object_get(c->resp, "ok")))
		json_object_update_missing(c->resp, c->extra);
	json_decref(c->extra);
	c->extra = NULL;
	conn_send(c, c->resp); /* nothing if the client left or we are stopping */
	scrub_token(c->resp);
	json_decref(c->resp);
	c->resp = NULL;
	if (!c->closing)
		conn_process(c);
	else
		conn_maybe_free(c);
}

/* Starts one parsed request on the threadpool. */
static void
conn_dispatch(struct admin_conn *c, json_t *req)
{
	struct admin *a = c->a;
	const char *op = json_string_value(json_object_get(req, "op"));

	/* ctx->status belongs to the loop thread, so it is called here. */
	if (op != NULL && strcmp(op, "status") == 0 && a->ctx.status != NULL &&
	    (c->extra = json_object()) != NULL)
		a->ctx.status(c->extra, a->ctx.status_arg);
	c->req = req;
	c->resp = NULL;
	c->work.data = c;
	if (uv_queue_work(a->loop, &c->work, work_cb, after_work_cb) != 0) {
		json_decref(c->req);
		c->req = NULL;
		json_decref(c->extra);
		c->extra = NULL;
		conn_send_error(c, "vaultd could not queue the request");
		return;
	}
	c->busy = 1;
}

/* Parses and dispatches the line of len bytes at c->buf. */
static void
conn_line(struct admin_conn *c, size_t len)
{
	char msg[256];
	json_error_t jerr;
	json_t *req;
	size_t i;

	if (len > 0 && c->buf[len - 1] == '\r')
		len--;
	for (i = 0; i < len && (c->buf[i] == ' ' || c->buf[i] == '\t'); i++)
		;
	if (i == len)
		return; /* blank lines are ignored */
	req = json_loadb(c->buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		snprintf(msg, sizeof(msg), "the request is not valid JSON: %s (column %d)",
		    jerr.text, jerr.column);
		for (i = 0; msg[i] != '\0'; i++) /* jansson may quote the bad bytes */
			if ((unsigned char)msg[i] >= 0x80)
				msg[i] = '?';
		conn_send_error(c, msg);
		return;
	}
	conn_dispatch(c, req);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct admin_conn *c = h->data;

	(void)suggested;
	/* conn_process stops reading before the buffer can fill, so this is > 0. */
	*buf = uv_buf_init(c->buf + c->len, (unsigned int)(ADMIN_LINE_MAX + 1 - c->len));
}

static void
read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct admin_conn *c = s->data;

	(void)buf;
	if (nread == UV_EOF) {
		c->eof = 1;
		uv_read_stop(s);
		c->reading = 0;
	} else if (nread < 0) {
		conn_close(c);
		return;
	} else {
		c->len += (size_t)nread;
	}
	conn_process(c);
}

static void
conn_read(struct admin_conn *c, int on)
{
	if (on && !c->reading && !c->closing) {
		if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) != 0)
			conn_close(c);
		else
			c->reading = 1;
	} else if (!on && c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = 0;
	}
}

/* Handles buffered lines until one goes to the threadpool or none is left.
 * Reading is paused while a request runs, which bounds the buffer. */
static void
conn_process(struct admin_conn *c)
{
	while (!c->busy && !c->closing) {
		char *nl = memchr(c->buf, '\n', c->len);
		size_t used;

		if (nl == NULL && c->len > ADMIN_LINE_MAX) {
			char msg[96];
			snprintf(msg, sizeof(msg), "the request line is longer than %d bytes",
			    ADMIN_LINE_MAX);
			conn_send_error(c, msg);
			conn_finish(c);
			return;
		}
		if (nl == NULL && c->eof && c->len > 0)
			nl = &c->buf[c->len++]; /* a last line without '\n'; len <= MAX */
		if (nl == NULL) {
			if (c->eof)
				conn_finish(c);
			else
				conn_read(c, 1);
			return;
		}
		*nl = '\0';
		used = (size_t)(nl - c->buf) + 1;
		conn_line(c, used - 1);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	conn_read(c, 0);
}

static void
connection_cb(uv_stream_t *server, int status)
{
	struct admin *a = server->data;
	struct admin_conn *c;

	if (status < 0) {
		fprintf(stderr, "vaultd: admin socket: %s\n", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto err0;
	if ((c->buf = malloc(ADMIN_LINE_MAX + 1)) == NULL)
		goto err1;
	c->a = a;
	if (uv_pipe_init(a->loop, &c->pipe, 0) != 0)
		goto err2;
	c->pipe.data = c;
	/* From here on c is freed through its close callback. */
	c->next = a->conns;
	if (a->conns != NULL)
		a->conns->prev = c;
	a->conns = c;
	a->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	if (a->nconns > ADMIN_MAX_CLIENTS) {
		conn_send_error(c, "too many admin clients are connected; try again later");
		conn_finish(c);
		return;
	}
	conn_read(c, 1);
	return;

err2:
	free(c->buf);
err1:
	free(c);
err0:
	fprintf(stderr, "vaultd: admin socket: out of memory\n");
}

/*
 * Makes way for a new socket at path: refuses a non-socket and a socket
 * someone answers on, unlinks a dead one. Returns 0, or -1 with a message.
 */
static int
clear_stale_socket(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "vaultd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "vaultd: %s exists and is not a socket; not replacing it\n", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "vaultd: socket: %s\n", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == 0 || errno == EAGAIN) { /* EAGAIN: alive, its backlog is full */
		close(fd);
		fprintf(stderr, "vaultd: %s: another vaultd is listening there\n", path);
		return -1;
	}
	close(fd);
	if (unlink(path) != 0 && errno != ENOENT) {
		fprintf(stderr, "vaultd: unlink %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Creates the listening socket with plain system calls, so that a failure
 * leaves no libuv handle behind for the caller's loop to close. The mode is
 * set before listen(): until then nobody can connect, whatever the umask.
 * Returns the descriptor, or -1 with a message.
 */
static int
listen_socket(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "vaultd: admin socket path %s is longer than %zu bytes\n", path,
		    sizeof(sun.sun_path) - 1);
		goto err0;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (clear_stale_socket(path, &sun) != 0)
		goto err0;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "vaultd: socket: %s\n", strerror(errno));
		goto err0;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "vaultd: bind %s: %s\n", path, strerror(errno));
		goto err1;
	}
	if (chmod(path, 0600) != 0) {
		fprintf(stderr, "vaultd: chmod %s: %s\n", path, strerror(errno));
		goto err2;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		fprintf(stderr, "vaultd: listen %s: %s\n", path, strerror(errno));
		goto err2;
	}
	return fd;

err2:
	unlink(path);
err1:
	close(fd);
err0:
	return -1;
}

static void
listener_close_cb(uv_handle_t *h)
{
	struct admin *a = h->data;

	a->listener_open = 0;
	admin_maybe_done(a);
}

struct admin *
admin_start(uv_loop_t *loop, const char *path, const struct admin_ctx *ctx)
{
	struct admin *a;
	int fd, rc;

	if ((a = calloc(1, sizeof(*a))) == NULL || (a->path = strdup(path)) == NULL) {
		fprintf(stderr, "vaultd: admin socket: out of memory\n");
		goto err0;
	}
	if ((fd = listen_socket(path)) < 0)
		goto err0;
	a->loop = loop;
	a->ctx = *ctx;
	uv_pipe_init(loop, &a->listener, 0); /* cannot fail on Unix */
	a->listener.data = a;
	a->listener_open = 1;
	if ((rc = uv_pipe_open(&a->listener, fd)) != 0) {
		close(fd); /* not the handle's yet */
		goto err1;
	}
	if ((rc = uv_listen((uv_stream_t *)&a->listener, LISTEN_BACKLOG, connection_cb)) != 0)
		goto err1;
	return a;

err1:
	/* Not expected for a fresh listening socket. The handle is initialised,
	 * so only its close callback may free a: the loop must run once more. */
	fprintf(stderr, "vaultd: admin socket %s: %s\n", path, uv_strerror(rc));
	unlink(path);
	a->stopping = 1;
	uv_close((uv_handle_t *)&a->listener, listener_close_cb);
	return NULL;
err0:
	if (a != NULL)
		free(a->path);
	free(a);
	return NULL;
}

void
admin_stop(struct admin *a, void (*cb)(void *arg), void *arg)
{
	struct admin_conn *c;

	if (a == NULL) {
		if (cb != NULL)
			cb(arg);
		return;
	}
	if (a->stopping)
		return;
	a->stopping = 1;
	a->stop_cb = cb;
	a->stop_arg = arg;
	unlink(a->path);
	for (c = a->conns; c != NULL; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&a->listener, listener_close_cb);
}
