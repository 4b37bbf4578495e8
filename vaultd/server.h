#ifndef SERVER_H
#define SERVER_H
/*
 * The HTTP layer of vaultd over the connection core (conn.h): one llhttp
 * reader per connection (http_req.h), the router, and the glue that runs
 * handlers (handlers.h) on the threadpool while the loop only moves bytes.
 * It serves VSP and restic (server_start) and, with another router and
 * handler, the posture page (server_start_service). Memory per connection
 * is bounded: its struct when idle; while busy, two upload chunks or the
 * core's two body chunks at most.
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
struct request;
struct resp;
struct route;

/*
 * A service other than VSP over this layer (the posture page). Requests are
 * routed with route (router.h's contract), answered by handle on the
 * threadpool, and every answer closes the connection; small bodies are
 * read and ignored, uploads are not taken. error formats an error answer
 * (NULL: the JSON error of handlers.h).
 */
struct http_service {
	enum vsp_err (*route)(int method, const char *target, size_t len, struct route *out,
	    const char **allow, const char **msg);
	void (*handle)(void *arg, const struct request *req, struct resp *resp);
	void (*error)(struct resp *resp, enum vsp_err err, const char *msg);
	void *arg;
};

/* Binds and listens. Returns NULL with a message on stderr. */
struct server *server_start(uv_loop_t *loop, const struct server_config *cfg,
    struct store *store);

/* Like server_start, for svc (copied) instead of VSP. */
struct server *server_start_service(uv_loop_t *loop, const struct server_config *cfg,
    const struct http_service *svc);

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
