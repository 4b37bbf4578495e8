/*
 * libcurl's multi interface on the libuv loop, after libcurl's multi-uv.c
 * example: curl tells us (socket callback) which sockets to watch for what,
 * and (timer callback) when to call it back; we watch them with one
 * uv_poll_t per socket and one uv_timer_t, and hand every event to
 * curl_multi_socket_action. Finished transfers are collected with
 * curl_multi_info_read after each action.
 */
#include <stdlib.h>

#include "repl_internal.h"

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct repl *r;
};

static void
on_sock_closed(uv_handle_t *h)
{
	struct sock *s = h->data;

	s->r->handles--;
	free(s);
}

static void
repl__curl_check(struct repl *r)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(r->multi, &left)) != NULL) {
		struct xfer *x = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x != NULL)
			repl__xfer_curl_done(x, msg->data.result);
	}
}

static void
on_poll(uv_poll_t *h, int status, int events)
{
	struct sock *s = h->data;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(s->r->multi, s->fd, flags, &running);
	repl__curl_check(s->r);
}

static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct repl *r = userp;
	struct sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			uv_poll_stop(&s->poll);
			curl_multi_assign(r->multi, fd, NULL);
			uv_close((uv_handle_t *)&s->poll, on_sock_closed);
		}
		return 0;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		if (uv_poll_init_socket(r->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->fd = fd;
		s->r = r;
		s->poll.data = s;
		r->handles++;
		curl_multi_assign(r->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, on_poll);
	return 0;
}

static void
on_curl_timer(uv_timer_t *t)
{
	struct repl *r = t->data;
	int running;

	curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	repl__curl_check(r);
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct repl *r = userp;

	(void)multi;
	if (r->stopping || timeout_ms < 0)
		uv_timer_stop(&r->curl_timer);
	else /* 0 too: from the loop, never from inside this callback */
		uv_timer_start(&r->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

int
repl__curl_init(struct repl *r)
{
	if ((r->multi = curl_multi_init()) == NULL)
		return -1;
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
	/* Idle connections kept for reuse: one per possible transfer. */
	curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)CONF_WORKERS_MAX);
	return 0;
}
