/*
 * The posture page's listener (posture.h, posture_http_start): a thin
 * service over the HTTP layer (server.h) and its connection core. Requests
 * are read by llhttp (http_req.h) and routed by route_posture (router.h);
 * the report is made on the threadpool (LMDB blocks), and every answer goes
 * out with Connection: close. It takes no request body and has no
 * authentication (spec/posture.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "posture.h"
#include "server.h"

#define ERRBUF 512

struct posture_http {
	struct posture_config cfg;
	struct server *srv;
	void (*cb)(void *arg);
	void *arg;
};

/* Every answer of the page says not to cache it. */
static void
text(struct resp *r, int status, const char *msg)
{
	size_t len = strlen(msg);

	free(r->body);
	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
	r->body_len = 0;
	if ((r->body = malloc(len + 2)) != NULL) {
		memcpy(r->body, msg, len);
		memcpy(r->body + len, "\n", 2);
		r->body_len = len + 1;
	}
	resp_header(r, "Cache-Control: no-store");
}

static void
error_answer(struct resp *r, enum vsp_err err, const char *msg)
{
	text(r, vsp_err_status(err), msg);
}

static void
handle(void *arg, const struct request *req, struct resp *r)
{
	struct posture_http *p = arg;
	const struct route *rt = &req->route;
	char err[ERRBUF];
	json_t *report;

	report = posture_report(&p->cfg, rt->tenant[0] ? rt->tenant : NULL,
	    rt->vault[0] ? rt->vault : NULL, (uint64_t)time(NULL), err, sizeof(err));
	if (report == NULL) {
		text(r, strstr(err, "no tenant") || strstr(err, "no vault") ? 404 : 500, err);
		return;
	}
	r->body = rt->json ? json_dumps(report, JSON_COMPACT) : posture_html(report);
	json_decref(report);
	if (r->body == NULL) {
		text(r, 500, "out of memory");
		return;
	}
	r->body_len = strlen(r->body);
	r->status = 200;
	r->content_type = rt->json ? "application/json" : "text/html; charset=utf-8";
	resp_header(r, "Cache-Control: no-store");
}

struct posture_http *
posture_http_start(uv_loop_t *loop, const char *host, int port, const struct posture_config *cfg)
{
	struct server_config sc = {
		.host = host,
		.port = port,
		.max_connections = POSTURE_CLIENTS_MAX,
		.header_timeout_ms = POSTURE_TIMEOUT_MS,
		.idle_timeout_ms = POSTURE_TIMEOUT_MS,
		.body_timeout_ms = POSTURE_TIMEOUT_MS,
	};
	struct http_service svc = { .route = route_posture, .handle = handle,
		.error = error_answer };
	struct posture_http *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->cfg = *cfg;
	svc.arg = p;
	if ((p->srv = server_start_service(loop, &sc, &svc)) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

int
posture_http_port(const struct posture_http *p)
{
	return server_port(p->srv);
}

static void
stopped(void *arg)
{
	struct posture_http *p = arg;
	void (*cb)(void *) = p->cb;
	void *cb_arg = p->arg;

	free(p);
	if (cb != NULL)
		cb(cb_arg);
}

void
posture_http_stop(struct posture_http *p, void (*cb)(void *arg), void *arg)
{
	if (p == NULL) {
		if (cb != NULL)
			cb(arg);
		return;
	}
	p->cb = cb;
	p->arg = arg;
	server_stop(p->srv, stopped, p);
}
