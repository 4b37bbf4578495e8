#ifndef SERVER_H
#define SERVER_H
/*
 * The HTTP side of vaultd: a libuv TCP listener, one llhttp reader per
 * connection, and the glue that runs handlers (handlers.h) on the threadpool
 * while the loop only moves bytes. Memory per connection is bounded: a read
 * buffer, two upload chunks and two download chunks at most.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "handlers.h"

struct server_config {
	const char *host;            /* listen address, e.g. "127.0.0.1" */
	int port;                    /* 0 = any free port (see server_port) */
	unsigned max_connections;
	unsigned header_timeout_ms;  /* whole header block must arrive in this */
	unsigned idle_timeout_ms;    /* keep-alive connection with no request */
	unsigned body_timeout_ms;    /* no body byte (or no write progress) for this */
	int access_log;              /* one line per request on stderr */
};

struct server;

/* Binds and listens. Returns NULL with a message on stderr. */
struct server *server_start(uv_loop_t *loop, const struct server_config *cfg,
    struct store *store);

/* After a reload (on the loop thread): cfg's connection cap and timeouts
 * apply to connections accepted and timers armed from now on. The listen
 * address and access_log stay. */
void server_reconfigure(struct server *srv, const struct server_config *cfg);

/* The bound port (useful when cfg->port was 0). */
int server_port(const struct server *srv);

/* Stops accepting, lets requests in progress finish, closes every
 * connection, then calls cb(arg) and frees srv. */
void server_stop(struct server *srv, void (*cb)(void *arg), void *arg);

/* Adds connection and request counters to obj. */
void server_status(const struct server *srv, json_t *obj);

#endif
