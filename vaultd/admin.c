/*
 * The admin socket server (loop side): a line protocol over the connection
 * core (conn.h). It reads request lines, runs them on the threadpool
 * through admin__handle(), writes one answer line each.
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
#include "conn.h"
#include "log.h"
#include "vsp.h"

#define LISTEN_BACKLOG 16


/* ------------------------------------------------------------------ */
/* The protocol over the connection core (conn.h).                     */
/* ------------------------------------------------------------------ */

struct admin {
	struct conn_server *cs;
	struct admin_ctx ctx;
	char *path;
	int stopping;
	void (*stop_cb)(void *arg);
	void *stop_arg;
};

struct admin_conn {
	struct conn c;
	struct admin *a;
	char *buf;        /* ADMIN_LINE_MAX + 1 bytes: one line and its '\n';
	                   * allocated at the first read */
	size_t len;
	json_t *req;      /* owned by the work while busy */
	json_t *resp;
	json_t *extra;    /* ctx->status fields, taken on the loop */
	int eof;
	int drain_close;  /* close once the writes in flight are done */
};

static void conn_process(struct admin_conn *c);

/* Wipes the secret of a token.issue response before it is freed; jansson
 * frees its strings without clearing them. */
static void
scrub_token(json_t *resp)
{
	json_t *t = json_object_get(resp, "token");

	if (json_is_string(t))
		sodium_memzero((char *)json_string_value(t), json_string_length(t));
}

/* Writes resp (or an out-of-memory error if NULL) as one line. The core's
 * copy is wiped after the write: it may hold a new token. */
static void
conn_send(struct admin_conn *c, const json_t *resp)
{
	static const char oom[] = "{\"ok\":false,\"error\":\"vaultd is out of memory\"}";
	char *s = resp != NULL ? json_dumps(resp, JSON_COMPACT) : NULL;
	const char *text = s != NULL ? s : oom;
	size_t len = strlen(text);
	int rc = c->c.closing ? -1 : conn_write(&c->c, text, len, "\n", 1, 1);

	if (s != NULL) {
		sodium_memzero(s, len);
		free(s);
	}
	if (rc != 0)
		conn_close(&c->c);
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
	conn_read(&c->c, 0);
	if (conn_out_idle(&c->c))
		conn_close(&c->c);
	else
		c->drain_close = 1;
}

static void
on_written(struct conn *cc)
{
	struct admin_conn *c = (struct admin_conn *)cc;

	if (c->drain_close && conn_out_idle(cc))
		conn_close(cc);
}

static void
work(struct conn *cc)
{
	struct admin_conn *c = (struct admin_conn *)cc;

	c->resp = admin__handle(&c->a->ctx, c->req, 0);
}

static void
after_work(struct conn *cc)
{
	struct admin_conn *c = (struct admin_conn *)cc;

	json_decref(c->req);
	c->req = NULL;
	if (c->resp != NULL && c->extra != NULL &&
	    json_is_true(json_object_get(c->resp, "ok")))
		json_object_update_missing(c->resp, c->extra);
	json_decref(c->extra);
	c->extra = NULL;
	conn_send(c, c->resp);
	scrub_token(c->resp);
	json_decref(c->resp);
	c->resp = NULL;
	conn_process(c);
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
	(void)conn_work(&c->c); /* on failure c is closed; on_free drops req */
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

static char *
read_buf(struct conn *cc, size_t *len)
{
	struct admin_conn *c = (struct admin_conn *)cc;

	if (c->buf == NULL && (c->buf = malloc(ADMIN_LINE_MAX + 1)) == NULL) {
		*len = 0; /* the core closes the connection */
		return NULL;
	}
	/* conn_process stops reading before the buffer can fill, so this is > 0. */
	*len = ADMIN_LINE_MAX + 1 - c->len;
	return c->buf + c->len;
}

static void
on_data(struct conn *cc, const char *data, size_t len)
{
	struct admin_conn *c = (struct admin_conn *)cc;

	(void)data; /* it is at c->buf + c->len (read_buf) */
	c->len += len;
	conn_process(c);
}

static void
on_eof(struct conn *cc)
{
	struct admin_conn *c = (struct admin_conn *)cc;

	c->eof = 1;
	conn_process(c);
}

/* Handles buffered lines until one goes to the threadpool or none is left.
 * Reading is paused while a request runs, which bounds the buffer. */
static void
conn_process(struct admin_conn *c)
{
	while (!c->c.work_busy && !c->c.closing) {
		char *nl = c->buf != NULL ? memchr(c->buf, '\n', c->len) : NULL;
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
				conn_read(&c->c, 1);
			return;
		}
		*nl = '\0';
		used = (size_t)(nl - c->buf) + 1;
		conn_line(c, used - 1);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	conn_read(&c->c, 0);
}

static void
on_open(struct conn *cc)
{
	struct admin_conn *c = (struct admin_conn *)cc;

	c->a = conn_server_arg(cc->srv);
	conn_read(cc, 1);
}

static void
on_timeout(struct conn *cc, enum conn_timer which)
{
	(void)which; /* the admin socket arms no timer */
	conn_close(cc);
}

static void
on_free(struct conn *cc)
{
	struct admin_conn *c = (struct admin_conn *)cc;

	/* A request whose connection closed while it ran: its answer is
	 * dropped. */
	json_decref(c->req);
	scrub_token(c->resp);
	json_decref(c->resp);
	json_decref(c->extra);
	free(c->buf);
}

static const struct conn_proto admin_proto = {
	.name = "admin socket",
	.conn_size = sizeof(struct admin_conn),
	.max_conns = ADMIN_MAX_CLIENTS,
	.busy_answer = "{\"ok\":false,\"error\":\"too many admin clients are connected; try "
	    "again later\"}\n",
	.on_open = on_open,
	.read_buf = read_buf,
	.on_data = on_data,
	.on_eof = on_eof,
	.on_timeout = on_timeout,
	.on_written = on_written,
	.work = work,
	.after_work = after_work,
	.stop_now = NULL, /* every client is closed at stop */
	.on_free = on_free,
};

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
		log_msg(VLOG_ERROR, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_msg(VLOG_ERROR, "%s exists and is not a socket; not replacing it", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		log_msg(VLOG_ERROR, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == 0 || errno == EAGAIN) { /* EAGAIN: alive, its backlog is full */
		close(fd);
		log_msg(VLOG_ERROR, "%s: another vaultd is listening there", path);
		return -1;
	}
	close(fd);
	if (unlink(path) != 0 && errno != ENOENT) {
		log_msg(VLOG_ERROR, "unlink %s: %s", path, strerror(errno));
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
		log_msg(VLOG_ERROR, "admin socket path %s is longer than %zu bytes", path,
		    sizeof(sun.sun_path) - 1);
		goto err0;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (clear_stale_socket(path, &sun) != 0)
		goto err0;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		log_msg(VLOG_ERROR, "socket: %s", strerror(errno));
		goto err0;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		log_msg(VLOG_ERROR, "bind %s: %s", path, strerror(errno));
		goto err1;
	}
	if (chmod(path, 0600) != 0) {
		log_msg(VLOG_ERROR, "chmod %s: %s", path, strerror(errno));
		goto err2;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		log_msg(VLOG_ERROR, "listen %s: %s", path, strerror(errno));
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

struct admin *
admin_start(uv_loop_t *loop, const char *path, const struct admin_ctx *ctx)
{
	struct admin *a;
	int fd;

	if ((a = calloc(1, sizeof(*a))) == NULL || (a->path = strdup(path)) == NULL) {
		log_msg(VLOG_ERROR, "admin socket: out of memory");
		goto err0;
	}
	if ((fd = listen_socket(path)) < 0)
		goto err0;
	a->ctx = *ctx;
	if ((a->cs = conn_server_pipe(loop, fd, LISTEN_BACKLOG, &admin_proto, a)) == NULL) {
		/* Not expected for a fresh listening socket; the core's handle
		 * is left closing on the loop. */
		unlink(path);
		goto err0;
	}
	return a;

err0:
	if (a != NULL)
		free(a->path);
	free(a);
	return NULL;
}

static void
stopped(void *arg)
{
	struct admin *a = arg;
	void (*cb)(void *) = a->stop_cb;
	void *cb_arg = a->stop_arg;

	free(a->path);
	free(a);
	if (cb != NULL)
		cb(cb_arg);
}

void
admin_stop(struct admin *a, void (*cb)(void *arg), void *arg)
{
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
	conn_server_stop(a->cs, stopped, a);
}
