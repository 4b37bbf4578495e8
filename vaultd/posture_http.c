/*
 * The posture page's listener (posture.h, posture_http_start): a deliberately
 * small HTTP/1.1 server on the daemon's loop. One request per connection:
 * the head is read (at most POSTURE_HEAD_MAX bytes, within
 * POSTURE_TIMEOUT_MS), the report is made on the threadpool (LMDB blocks),
 * the answer is written with Connection: close, and the connection closed.
 * It takes no request body and has no authentication (spec/posture.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "posture.h"

#define PATH_MAX_LEN 256
#define ERRBUF 512

struct pclient {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_work_t work;
	struct posture_http *srv;
	struct pclient *prev, *next;
	int handles;   /* handles open (tcp, timer) */
	int closing, work_busy;
	char head[POSTURE_HEAD_MAX + 1];
	size_t len;
	char path[PATH_MAX_LEN];
	int bad_method;
	char *answer;
	size_t answer_len;
	uv_write_t w;
};

struct posture_http {
	uv_loop_t *loop;
	uv_tcp_t tcp;
	struct posture_config cfg;
	struct pclient *clients;
	size_t nclients;
	int stopping, listener_open;
	void (*cb)(void *arg);
	void *arg;
};

static void
maybe_freed(struct posture_http *p)
{
	void (*cb)(void *) = p->cb;
	void *arg = p->arg;

	if (!p->stopping || p->listener_open || p->clients != NULL)
		return;
	free(p);
	if (cb != NULL)
		cb(arg);
}

static void
client_closed(uv_handle_t *h)
{
	struct pclient *c = h->data;
	struct posture_http *p = c->srv;

	if (--c->handles > 0 || c->work_busy)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		p->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	p->nclients--;
	free(c->answer);
	free(c);
	maybe_freed(p);
}

static void
client_close(struct pclient *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->tcp, client_closed);
	uv_close((uv_handle_t *)&c->timer, client_closed);
}

/* Sets c->answer to a full HTTP answer. */
static void
answer(struct pclient *c, int status, const char *reason, const char *type, const char *body,
    size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
	    status, reason, type, len);

	if (n < 0 || (size_t)n >= sizeof(head) || (c->answer = malloc((size_t)n + len)) == NULL)
		return;
	memcpy(c->answer, head, (size_t)n);
	memcpy(c->answer + n, body, len);
	c->answer_len = (size_t)n + len;
}

static void
text(struct pclient *c, int status, const char *reason, const char *msg)
{
	answer(c, status, reason, "text/plain; charset=utf-8", msg, strlen(msg));
}

/* Splits /posture[/TENANT[/VAULT]][.json] into its parts. Returns 0, or -1. */
static int
parse_path(char *path, char **tenant, char **vault, int *json)
{
	size_t n;
	char *q;

	*tenant = *vault = NULL;
	*json = 0;
	if ((q = strchr(path, '?')) != NULL)
		*q = '\0';
	n = strlen(path);
	if (n >= 5 && strcmp(path + n - 5, ".json") == 0) {
		*json = 1;
		path[n - 5] = '\0';
	}
	if (strncmp(path, "/posture", 8) != 0 || (path[8] != '\0' && path[8] != '/'))
		return -1;
	if (path[8] == '\0')
		return 0;
	*tenant = path + 9;
	if ((q = strchr(*tenant, '/')) != NULL) {
		*q = '\0';
		*vault = q + 1;
		if (strchr(*vault, '/') != NULL || !vsp_name_valid(*vault, strlen(*vault)))
			return -1;
	}
	return vsp_name_valid(*tenant, strlen(*tenant)) ? 0 : -1;
}

static void
work_cb(uv_work_t *w)
{
	struct pclient *c = w->data;
	char err[ERRBUF], *tenant, *vault, *body;
	json_t *r;
	int json;

	if (c->bad_method) {
		text(c, 405, "Method Not Allowed", "only GET is served here\n");
		return;
	}
	if (parse_path(c->path, &tenant, &vault, &json) != 0) {
		text(c, 404, "Not Found", "not found: try /posture, /posture/TENANT/VAULT or "
		    "/posture.json\n");
		return;
	}
	if ((r = posture_report(&c->srv->cfg, tenant, vault, (uint64_t)time(NULL), err,
	    sizeof(err))) == NULL) {
		strncat(err, "\n", sizeof(err) - strlen(err) - 1);
		text(c, strstr(err, "no tenant") || strstr(err, "no vault") ? 404 : 500,
		    strstr(err, "no tenant") || strstr(err, "no vault") ? "Not Found" :
		    "Internal Server Error", err);
		return;
	}
	body = json ? json_dumps(r, JSON_COMPACT) : posture_html(r);
	json_decref(r);
	if (body == NULL)
		return;
	answer(c, 200, "OK", json ? "application/json" : "text/html; charset=utf-8", body,
	    strlen(body));
	free(body);
}

static void
written(uv_write_t *w, int status)
{
	(void)status;
	client_close(w->data);
}

static void
after_work(uv_work_t *w, int status)
{
	struct pclient *c = w->data;
	uv_buf_t b;

	(void)status;
	c->work_busy = 0;
	if (c->closing) {
		if (c->handles == 0) {
			c->handles = 1;
			client_closed((uv_handle_t *)&c->tcp); /* the last step was waiting */
		}
		return;
	}
	if (c->answer == NULL) {
		client_close(c); /* out of memory */
		return;
	}
	b = uv_buf_init(c->answer, (unsigned)c->answer_len);
	c->w.data = c;
	if (uv_write(&c->w, (uv_stream_t *)&c->tcp, &b, 1, written) != 0)
		client_close(c);
}

/* Once the head is in: the request line's method and path. */
static void
request(struct pclient *c)
{
	char *sp, *sp2;

	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_stop(&c->timer);
	c->head[c->len] = '\0';
	sp = strchr(c->head, ' ');
	sp2 = sp != NULL ? strchr(sp + 1, ' ') : NULL;
	if (sp == NULL || sp2 == NULL || (size_t)(sp2 - sp - 1) >= sizeof(c->path)) {
		c->path[0] = '\0';
	} else {
		memcpy(c->path, sp + 1, (size_t)(sp2 - sp - 1));
		c->path[sp2 - sp - 1] = '\0';
	}
	c->bad_method = sp == NULL || (size_t)(sp - c->head) != 3 || memcmp(c->head, "GET", 3) != 0;
	c->work.data = c;
	c->work_busy = 1;
	if (uv_queue_work(c->srv->loop, &c->work, work_cb, after_work) != 0) {
		c->work_busy = 0;
		client_close(c);
	}
}

static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct pclient *c = h->data;

	(void)hint;
	*b = uv_buf_init(c->head + c->len, (unsigned)(POSTURE_HEAD_MAX - c->len));
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct pclient *c = s->data;

	(void)b;
	if (n < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->head[c->len] = '\0';
	if (strstr(c->head, "\r\n\r\n") != NULL || strstr(c->head, "\n\n") != NULL)
		request(c);
	else if (c->len == POSTURE_HEAD_MAX)
		client_close(c); /* a head this big is no posture request */
}

static void
timeout_cb(uv_timer_t *t)
{
	client_close(t->data);
}

static void
on_conn(uv_stream_t *l, int status)
{
	struct posture_http *p = l->data;
	struct pclient *c;

	if (status < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->srv = p;
	uv_tcp_init(p->loop, &c->tcp);
	uv_timer_init(p->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	if ((c->next = p->clients) != NULL)
		c->next->prev = c;
	p->clients = c;
	p->nclients++;
	if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || p->nclients > POSTURE_CLIENTS_MAX ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
		client_close(c);
		return;
	}
	uv_timer_start(&c->timer, timeout_cb, POSTURE_TIMEOUT_MS, 0);
}

struct posture_http *
posture_http_start(uv_loop_t *loop, const char *host, int port, const struct posture_config *cfg)
{
	struct sockaddr_storage ss;
	struct posture_http *p;
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->loop = loop;
	p->cfg = *cfg;
	if ((rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&ss)) != 0 &&
	    (rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss)) != 0) {
		fprintf(stderr, "vaultd: posture-listen %s: not an IP address\n", host);
		free(p);
		return NULL;
	}
	uv_tcp_init(loop, &p->tcp);
	p->tcp.data = p;
	p->listener_open = 1;
	if ((rc = uv_tcp_bind(&p->tcp, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&p->tcp, 64, on_conn)) != 0) {
		fprintf(stderr, "vaultd: posture-listen %s:%d: %s\n", host, port, uv_strerror(rc));
		posture_http_stop(p, NULL, NULL);
		return NULL;
	}
	return p;
}

int
posture_http_port(const struct posture_http *p)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (uv_tcp_getsockname(&p->tcp, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
listener_closed(uv_handle_t *h)
{
	struct posture_http *p = h->data;

	p->listener_open = 0;
	maybe_freed(p);
}

void
posture_http_stop(struct posture_http *p, void (*cb)(void *arg), void *arg)
{
	if (p == NULL) {
		if (cb != NULL)
			cb(arg);
		return;
	}
	p->stopping = 1;
	p->cb = cb;
	p->arg = arg;
	for (struct pclient *c = p->clients; c != NULL; c = c->next)
		client_close(c);
	uv_close((uv_handle_t *)&p->tcp, listener_closed);
}
