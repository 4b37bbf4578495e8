/*
 * What a SIGHUP reload cannot apply (spec/vaultd.conf.md, "Reload"): the
 * sockets, the data directory, the backends and the posture page are set up
 * once at start-up. The daemon keeps those parts of the file it started
 * with and, on each reload, names every one that the new file changes, so
 * that the log never says "reloaded" about a setting that is not in force.
 */
#include "conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_internal.h"

struct conf *
conf_restart_part(const struct conf *c)
{
	struct conf *r = conf__new();

	if (r == NULL)
		return NULL;
	memcpy(r->data_dir, c->data_dir, sizeof(r->data_dir));
	r->has_posture_listen = c->has_posture_listen;
	r->posture_listen = c->posture_listen;
	r->tier_rate = c->tier_rate;
	if (c->nlistens > 0) {
		if ((r->listens = calloc(c->nlistens, sizeof(*r->listens))) == NULL)
			goto err;
		memcpy(r->listens, c->listens, c->nlistens * sizeof(*r->listens));
		r->nlistens = c->nlistens;
	}
	if (c->nbackends > 0) {
		if ((r->backends = calloc(c->nbackends, sizeof(*r->backends))) == NULL)
			goto err;
		memcpy(r->backends, c->backends, c->nbackends * sizeof(*r->backends));
		r->nbackends = c->nbackends;
	}
	return r;
err:
	conf_free(r);
	return NULL;
}

static int
listen_same(const struct conf_listen *a, const struct conf_listen *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port;
}

/* Field by field: the structs' padding and the bytes after each string's
 * NUL are not compared. */
static int
backend_same(const struct conf_backend *a, const struct conf_backend *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->type, b->type) == 0 &&
	    strcmp(a->path, b->path) == 0 && a->cartridge_size == b->cartridge_size &&
	    strcmp(a->endpoint, b->endpoint) == 0 && strcmp(a->region, b->region) == 0 &&
	    strcmp(a->bucket, b->bucket) == 0 && strcmp(a->prefix, b->prefix) == 0 &&
	    a->path_style == b->path_style &&
	    strcmp(a->credentials_file, b->credentials_file) == 0;
}

/* Counts one more change and appends ", what" (or "what" first) to out,
 * cut at outlen. */
static void
add(char *out, size_t outlen, size_t *n, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	(*n)++;
	if (outlen == 0)
		return;
	used = strlen(out);
	if (used > 0) {
		snprintf(out + used, outlen - used, ", ");
		used = strlen(out);
	}
	va_start(ap, fmt);
	vsnprintf(out + used, outlen - used, fmt, ap);
	va_end(ap);
}

static int
listens_same(const struct conf *a, const struct conf *b)
{
	if (a->nlistens != b->nlistens)
		return 0;
	for (size_t i = 0; i < a->nlistens; i++)
		if (!listen_same(&a->listens[i], &b->listens[i]))
			return 0;
	return 1;
}

/* Names each backend that next adds, removes or changes. */
static void
backends_diff(const struct conf *cur, const struct conf *next, char *out, size_t outlen,
    size_t *n)
{
	size_t most = cur->nbackends > next->nbackends ? cur->nbackends : next->nbackends;

	for (size_t i = 0; i < most; i++) {
		if (i >= cur->nbackends)
			add(out, outlen, n, "backend %s (added)", next->backends[i].name);
		else if (i >= next->nbackends)
			add(out, outlen, n, "backend %s (removed)", cur->backends[i].name);
		else if (!backend_same(&cur->backends[i], &next->backends[i]))
			add(out, outlen, n, "backend %s", next->backends[i].name);
	}
}

size_t
conf_restart_changes(const struct conf *cur, const struct conf *next, char *out,
    size_t outlen)
{
	size_t n = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (!listens_same(cur, next))
		add(out, outlen, &n, "listen");
	if (strcmp(cur->data_dir, next->data_dir) != 0)
		add(out, outlen, &n, "data");
	backends_diff(cur, next, out, outlen, &n);
	if (cur->has_posture_listen != next->has_posture_listen ||
	    (cur->has_posture_listen &&
	        !listen_same(&cur->posture_listen, &next->posture_listen)))
		add(out, outlen, &n, "posture-listen");
	if (cur->tier_rate != next->tier_rate)
		add(out, outlen, &n, "tier-rate");
	return n;
}

int
conf_listen_loopback(const struct conf_listen *l)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(l->host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, l->host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, l->host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

int
conf_posture_exposed(const struct conf *c, char *msg, size_t len)
{
	const struct conf_listen *l = &c->posture_listen;
	int v6 = strchr(l->host, ':') != NULL;

	if (!c->has_posture_listen || conf_listen_loopback(l))
		return 0;
	snprintf(msg, len, "warning: posture-listen %s%s%s:%d is not a loopback address, and the "
	    "posture page has no authentication: anyone who reaches it reads every vault's "
	    "name, size, policy and health. Bind it to 127.0.0.1 or [::1], or put a proxy "
	    "that authenticates in front of it (spec/posture.md)", v6 ? "[" : "", l->host,
	    v6 ? "]" : "", l->port);
	return 1;
}
