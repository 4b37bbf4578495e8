#ifndef CONN_H
#define CONN_H
/*
 * The one connection core of vaultd (OpenSMTPD's ioev.c is the model): a
 * listener on the libuv loop and its connections. It owns accept, the
 * connection cap and its refusal, the timers, the one threadpool job a
 * connection may have in flight, writes, the streaming of a response body
 * from a generator, linger-close, free-after-close and graceful stop. It
 * knows no protocol and no storage: the VSP/restic server (server.c), the
 * posture page (posture_http.c) and the admin socket (admin.c) are thin
 * layers over it, given as a struct conn_proto.
 *
 * Every connection is freed only in its handles' close callbacks and once no
 * work item holds it (STYLE.md 7). All functions run on the loop thread,
 * except conn_proto.work and conn_body_ops.read, which run on the
 * threadpool.
 *
 * Memory: an idle connection holds only its own struct (the protocol's
 * embedding struct conn). Socket reads land in one buffer per listener; the
 * large body chunks come from a small pool per listener and go back to it
 * when a body is done.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#define CONN_READ_BUF (64 * 1024)          /* one socket read, at most */
#define CONN_CHUNK (1024 * 1024)          /* body bytes per work item */
#define CONN_CHUNK_ALLOC (CONN_CHUNK + CONN_READ_BUF) /* a pool chunk's size */
#define CONN_LINGER_MS 2000
/* Body chunks a streaming connection holds: one being read, one checked
 * and one written at once (bench/README.md). */
#define CONN_SBUFS 3

struct conn;
struct conn_server;

/*
 * A response body as a generator (h2o's h2o_generator_t is the model): the
 * core pulls bytes from it and knows nothing of where they come from. The
 * producer allocates the struct (usually embedding struct conn_body first)
 * and sets ops; the core owns it once given to conn_send_body().
 */
struct conn_body {
	const struct conn_body_ops *ops;
};

struct conn_body_ops {
	/* Threadpool. Fills buf with exactly len bytes of the body from offset
	 * off (0 = its first byte). Returns 0, or -1 with errno set: the core
	 * then cuts the connection short of Content-Length, the only honest
	 * signal once the head is out. */
	int (*read)(struct conn_body *b, uint64_t off, void *buf, size_t len);
	/* Threadpool, optional: checks the len bytes at off that read gave,
	 * called once per chunk in body order (last = 1 on the final one) and
	 * on another thread than the reads, which it overlaps. Returns 0, or
	 * -1 with errno set: the connection is cut. The final chunk is only
	 * written after its check passed, so a body that fails never arrives
	 * whole. */
	int (*check)(struct conn_body *b, uint64_t off, const void *buf, size_t len, int last);
	/* Loop. The whole body went out (ok = 1) or the connection was cut
	 * (ok = 0). May be NULL. */
	void (*finish)(struct conn_body *b, int ok);
	/* Frees b and what it holds; called once, on the loop, after finish. */
	void (*free)(struct conn_body *b);
};

enum conn_timer {
	CONN_T_NONE = 0,
	CONN_T_IDLE,     /* a keep-alive connection with no request */
	CONN_T_HEADER,   /* a request head that has begun must end in time */
	CONN_T_PROGRESS, /* no byte in or out for this long */
	CONN_T_LINGER,   /* the core's own: the linger is over, close */
};

/* A protocol over the core. Callbacks not marked optional are required. */
struct conn_proto {
	const char *name;      /* for log lines ("vaultd: <name>: ...") */
	size_t conn_size;      /* the protocol's connection struct, which
	                        * embeds struct conn as its first member */
	unsigned max_conns;    /* connections at once; 0 = no cap */
	/* Written (best effort) to a connection over the cap before it is
	 * closed; NULL: it is just closed. */
	const char *busy_answer;
	/* A new connection, accepted. Start reading or writing here. */
	void (*on_open)(struct conn *c);
	/* Optional: the buffer a read lands in (*len > 0 bytes). NULL
	 * callback: the listener's shared buffer, which on_data must use up or
	 * copy before it returns. */
	char *(*read_buf)(struct conn *c, size_t *len);
	/* len bytes arrived (len > 0). */
	void (*on_data)(struct conn *c, const char *data, size_t len);
	/* Optional: the peer ended its side. NULL: the connection is closed. */
	void (*on_eof)(struct conn *c);
	/* The protocol's timer fired (never CONN_T_LINGER). */
	void (*on_timeout)(struct conn *c, enum conn_timer which);
	/* A write finished (the last of a body included); see conn_out_idle. */
	void (*on_written)(struct conn *c);
	/* Threadpool: the protocol's work item (conn_work). */
	void (*work)(struct conn *c);
	/* Loop: the work item is done; not called once the connection closes. */
	void (*after_work)(struct conn *c);
	/* Optional: at graceful stop, 1 to close c now, 0 to let it finish
	 * its answer. NULL: every connection is closed at once. */
	int (*stop_now)(const struct conn *c);
	/* Optional: frees what the protocol's struct holds, just before the
	 * core frees the struct (no handle open, no work in flight). */
	void (*on_free)(struct conn *c);
};

/* The part of a connection the core owns; protocols only read these. */
struct conn {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} h;
	uv_timer_t timer;
	uv_work_t work;
	struct conn_server *srv;
	struct conn *prev, *next;
	int handles_open;
	int closing;          /* conn_close was called */
	int reading;
	int lingering;
	int writes;           /* uv_write requests in flight */
	int work_busy;        /* the one work item is in flight */
	int work_body;        /* ... and it reads body bytes */
	enum conn_timer timer_mode;
	/* The body being streamed: a ring of pool chunks, each read, checked
	 * and written in body order (conn.c, body_pump). */
	struct conn_body *body;
	char *sbuf[CONN_SBUFS];
	uint64_t soff[CONN_SBUFS]; /* body offset of each chunk's first byte */
	size_t slen[CONN_SBUFS];
	int sstate[CONN_SBUFS];
	unsigned sdone[CONN_SBUFS];
	int next_read, next_write, next_check;
	int body_writing;     /* a chunk's uv_write is in flight */
	uv_work_t check_work; /* the body's check, beside the read */
	int check_busy;
	int check_err;        /* errno of a failed check */
	int body_err;         /* errno of a failed read */
	uint64_t body_off, body_end;
};

/* Counters of a listener (server_status, /v1 status). */
struct conn_stats {
	uint64_t started, accepted, bytes_in, bytes_out;
	size_t conns;
};

/*
 * Listens on host:port over TCP (port 0: any free port), or on fd, an
 * already bound and listening Unix socket (conn_server_pipe, which then
 * owns fd). arg is the protocol's (conn_server_arg). Returns NULL with a
 * message on stderr; a pipe listener libuv refuses is left closing on the
 * loop, which must run once more to free it.
 */
struct conn_server *conn_server_tcp(uv_loop_t *loop, const char *host, int port, int backlog,
    const struct conn_proto *proto, void *arg);
struct conn_server *conn_server_pipe(uv_loop_t *loop, int fd, int backlog,
    const struct conn_proto *proto, void *arg);

/* The bound TCP port, or -1. */
int conn_server_port(const struct conn_server *srv);

/* The protocol's arg given at start. */
void *conn_server_arg(const struct conn_server *srv);

/* 1 once conn_server_stop was called. */
int conn_server_stopping(const struct conn_server *srv);

/* Fills *st with the listener's counters. */
void conn_server_stats(const struct conn_server *srv, struct conn_stats *st);

/*
 * Stops accepting and closes the connections proto->stop_now picks; the
 * others close when their protocol says so. When the last one is freed and
 * the listener is closed, srv is freed and cb(arg) runs (cb may be NULL).
 */
void conn_server_stop(struct conn_server *srv, void (*cb)(void *arg), void *arg);

/* Closes c (idempotent). It is freed once its handles are closed and no
 * work item is in flight. */
void conn_close(struct conn *c);

/* Starts (on = 1) or stops reading. Failing to start closes c. */
void conn_read(struct conn *c, int on);

/* Arms timer which for ms milliseconds (CONN_T_NONE stops it). The same
 * timer already running is left alone unless restart is 1. */
void conn_timer(struct conn *c, enum conn_timer which, unsigned ms, int restart);

/*
 * Writes a (copied; wiped after the write when wipe is 1) then b (borrowed:
 * it must stay valid until on_written). Returns 0, or -1 (c is not closed).
 */
int conn_write(struct conn *c, const char *a, size_t alen, const char *b, size_t blen, int wipe);

/*
 * Streams len bytes of body after what was written so far, reading them on
 * the threadpool a chunk ahead of the socket. The core owns body from here
 * (finish and free are called when it is done or c closes). Returns 0, or
 * -1 when out of memory (body is freed; the caller should close c).
 */
int conn_send_body(struct conn *c, struct conn_body *body, uint64_t len);

/* 1 when no write is in flight and no body is being sent. */
int conn_out_idle(const struct conn *c);

/* Runs proto->work on the threadpool, then proto->after_work. At most one
 * at a time. Returns 0, or -1 (c is closed). */
int conn_work(struct conn *c);

/*
 * Stops sending but reads and discards input for CONN_LINGER_MS, then
 * closes: closing with unread bytes would make the kernel send a reset that
 * can destroy the answer before the client reads it.
 */
void conn_linger(struct conn *c);

/* A pool chunk of CONN_CHUNK_ALLOC bytes, or NULL; give it back with
 * conn_chunk_put (NULL is fine). */
char *conn_chunk_get(struct conn_server *srv);
void conn_chunk_put(struct conn_server *srv, char *chunk);

#endif
