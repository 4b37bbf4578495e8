#ifndef CONN_INTERNAL_H
#define CONN_INTERNAL_H
/* One HTTP connection of vaultd; shared by server.c (socket, timers,
 * answers) and conn_work.c (parser callbacks, threadpool work, streaming). */
#include <uv.h>

#include "handlers.h"
#include "http_req.h"
#include "server.h"

#define READ_BUF_SIZE (64 * 1024)
#define UPLOAD_CHUNK (1024 * 1024)   /* body bytes hashed and written per work item */
#define STREAM_CHUNK (1024 * 1024)   /* object bytes read per work item */
#define LINGER_MS 2000

enum conn_state {
	CS_READ = 0, /* waiting for or reading a request head */
	CS_BEGIN,    /* an upload is being checked on the threadpool */
	CS_BODY,     /* reading a request body */
	CS_WORK,     /* the answer is being made on the threadpool */
	CS_SEND,     /* writing the answer */
	CS_LINGER,   /* answered with Connection: close; draining input */
};

enum timer_mode { TM_NONE = 0, TM_IDLE, TM_HEADER, TM_PROGRESS, TM_LINGER };

/* What the parser callbacks ask the connection to do once it pauses. */
enum conn_action { ACT_NONE = 0, ACT_BEGIN, ACT_COMPLETE };

enum work_kind { WORK_BEGIN, WORK_HANDLE, WORK_CHUNK, WORK_FINISH, WORK_READ };

enum sbuf_state { SB_FREE = 0, SB_READING, SB_READY, SB_WRITING };

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct server *srv;
	struct conn *prev, *next;
	int handles_open;
	int closing;
	int reading;
	enum conn_state state;
	enum timer_mode timer_mode;

	struct http_in in;
	enum conn_action action;
	int paused;
	char pending[READ_BUF_SIZE]; /* unparsed bytes kept while paused */
	size_t pending_off, pending_len;

	struct request req;
	struct resp resp;
	enum vsp_err route_err;      /* a body-less request that gets an error */
	const char *route_msg;
	const char *allow;           /* Allow header for 405 */
	int close_after;
	int writes;                  /* uv_write requests in flight */

	/* The one work item in flight. */
	uv_work_t work;
	int work_busy;
	enum work_kind work_kind;
	int work_ok;                 /* WORK_BEGIN: go on with the body */
	ssize_t work_result;         /* WORK_READ: bytes read or -1 */
	int work_errno;

	/* Uploads: the loop fills one chunk while the threadpool writes the
	 * other. */
	int is_upload;
	struct upload up;
	char *fill, *spare;
	size_t fill_len;
	char *work_buf;
	size_t work_len;
	int body_done;

	/* Streamed answers: two chunks, alternately read and written. */
	char *sbuf[2];
	size_t slen[2];
	enum sbuf_state sstate[2];
	int next_read, next_write;
	uint64_t stream_off, stream_end;

	char rbuf[READ_BUF_SIZE];
};

struct server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	struct server_config cfg;
	struct store *store;
	struct conn *conns;
	size_t nconns;
	int stopping;
	int listener_closed;
	void (*stop_cb)(void *arg);
	void *stop_arg;
	uint64_t started, accepted, requests, bytes_in, bytes_out;
};

/* A write request with its own copy of the head bytes. */
struct write_req {
	uv_write_t w;
	struct conn *conn;
	char data[];
};

/* server.c */
void conn__close(struct conn *c);
void conn__maybe_free(struct conn *c);
void conn__update(struct conn *c);
void conn__resume(struct conn *c);
void conn__send(struct conn *c);
void conn__send_error(struct conn *c, enum vsp_err err, const char *msg, const char *allow);
void conn__write_progress(struct conn *c);
void conn__linger(struct conn *c);
int conn__write(struct conn *c, const char *a, size_t alen, const char *b, size_t blen);
void server__maybe_stopped(struct server *srv);

/* conn_work.c */
void conn__init_parser(struct conn *c);
void conn__start_work(struct conn *c, enum work_kind kind);
void conn__request_complete(struct conn *c);
void conn__pump_upload(struct conn *c);
int conn__stream_start(struct conn *c);
int conn__stream_done(const struct conn *c);

#endif
