/*
 * Opening and freeing a remote (client/remote.h): the checks of the URL,
 * vault name and token, libcurl's one-time set-up, and the calling thread's
 * last error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "remote_internal.h"

#define PORT_DIGITS_MAX 5

/* The calling thread's last error (remote.h: vc_remote_error). */
static __thread char tl_err[VC_ERR_MAX];
static __thread int tl_status;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

void
vc_remote__set_error(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tl_err, sizeof(tl_err), fmt, ap);
	va_end(ap);
	tl_status = status;
}

const char *
vc_remote_error(const struct vc_remote *r)
{
	(void)r;
	return tl_err;
}

int
vc_remote_status(const struct vc_remote *r)
{
	(void)r;
	return tl_status;
}

static void
curl_init_once(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK;
}

/* ---- opening ---- */

/* Text from the caller, quoted in a message: printable and short. */
static void
quote(char *out, size_t size, const char *s)
{
	size_t i = 0;

	for (; *s != '\0' && i + 1 < size; s++)
		out[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[i] = '\0';
}

static int
https_supported(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	return v != NULL && (v->features & CURL_VERSION_SSL) != 0;
}

static int
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '-';
}

/* Checks "http://HOST[:PORT][/]" and keeps it without the slash. */
static int
url_check(struct vc_remote *r, const char *url, char *err, size_t errlen)
{
	const char *p, *host;
	char q[VC_URL_MAX];
	size_t len;

	quote(q, sizeof(q), url);
	if (strncmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else if (strncmp(url, "https://", 8) == 0 && https_supported()) {
		p = url + 8;
	} else {
		snprintf(err, errlen, "the URL '%s' must start with http://%s", q,
		    https_supported() ? " or https://" : "");
		return -1;
	}
	host = p;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (close == NULL || close - p < 3)
			goto bad;
		for (const char *c = p + 1; c < close; c++)
			if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
				goto bad;
		p = close + 1;
	} else {
		while (host_char(*p))
			p++;
		if (p == host)
			goto bad;
	}
	if (*p == ':') {
		unsigned long port = 0;
		const char *d = ++p;
		while (*p >= '0' && *p <= '9' && p - d < PORT_DIGITS_MAX)
			port = port * 10 + (unsigned long)(*p++ - '0');
		if (p == d || port == 0 || port > 65535)
			goto bad;
	}
	len = (size_t)(p - url);
	if (*p == '/')
		p++;
	if (*p != '\0' || len >= sizeof(r->url))
		goto bad;
	memcpy(r->url, url, len);
	r->url[len] = '\0';
	return 0;
bad:
	snprintf(err, errlen, "the URL '%s' is not of the form http://HOST:PORT (no path, "
	    "nothing after the port)", q);
	return -1;
}

static int
token_check(const char *t, char *err, size_t errlen)
{
	size_t n = strlen(t);

	if (n == 0) {
		snprintf(err, errlen, "no token given (set VAULT_TOKEN)");
		return -1;
	}
	if (n > VC_TOKEN_MAX) {
		snprintf(err, errlen, "the token is %zu bytes long; tokens are at most %d", n,
		    VC_TOKEN_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i] <= 0x20 || t[i] >= 0x7f) {
			snprintf(err, errlen, "the token has a space or an unprintable byte at "
			    "offset %zu", i);
			return -1;
		}
	return 0;
}

static int
opts_check(struct vc_remote *r, const struct vc_remote_opts *o, char *err, size_t errlen)
{
	char q[VSP_NAME_MAX + 8];

	if (o->url == NULL || o->vault == NULL || o->token == NULL) {
		snprintf(err, errlen, "the URL, vault and token must all be given");
		return -1;
	}
	if (url_check(r, o->url, err, errlen) != 0)
		return -1;
	if (!vsp_name_valid(o->vault, strlen(o->vault))) {
		quote(q, sizeof(q), o->vault);
		snprintf(err, errlen, "'%s' is not a vault name: 1 to %d of a-z 0-9 . _ -, "
		    "beginning with a letter or digit", q, VSP_NAME_MAX);
		return -1;
	}
	memcpy(r->vault, o->vault, strlen(o->vault) + 1);
	if (token_check(o->token, err, errlen) != 0)
		return -1;
	snprintf(r->auth, sizeof(r->auth), "%s%s", VC_AUTH_PREFIX, o->token);
	r->parallel = o->parallel ? o->parallel : VC_REMOTE_PARALLEL_DEFAULT;
	if (r->parallel > VC_PARALLEL_MAX)
		r->parallel = VC_PARALLEL_MAX;
	r->queue_max = o->queue_max ? o->queue_max : 2 * r->parallel;
	r->connect_timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : VC_CONNECT_TIMEOUT_S;
	r->stall_timeout_s = o->stall_timeout_s > 0 ? o->stall_timeout_s : VC_STALL_TIMEOUT_S;
	r->retry_base_ms = o->retry_base_ms != 0 && o->retry_base_ms <= VC_REMOTE_RETRY_BASE_MAX ?
	    o->retry_base_ms : VC_RETRY_BASE_MS;
	r->recall_wait_max_ms = o->recall_wait_ms != 0 ? o->recall_wait_ms :
	    VC_REMOTE_RECALL_WAIT_MS;
	r->recall_poll_ms = o->recall_poll_ms;
	r->rp = o->report;
	r->max_batch_ids = VC_BATCH_IDS_DEFAULT;
	r->max_list_limit = VC_LIST_LIMIT_DEFAULT;
	return 0;
}

struct vc_remote *
vc_remote_open(const struct vc_remote_opts *o, char *err, size_t errlen)
{
	struct vc_remote *r;

	pthread_once(&curl_once, curl_init_once);
	if (!curl_ok) {
		snprintf(err, errlen, "libcurl could not be initialised");
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (opts_check(r, o, err, errlen) != 0)
		goto err0;
	snprintf(err, errlen, "cannot set up a remote: out of resources");
	if (pthread_mutex_init(&r->mu, NULL) != 0)
		goto err0;
	if (pthread_mutex_init(&r->caps_mu, NULL) != 0)
		goto err1;
	if (pthread_cond_init(&r->cv_sync, NULL) != 0)
		goto err2;
	if (pthread_cond_init(&r->cv_space, NULL) != 0)
		goto err3;
	if (pthread_cond_init(&r->cv_idle, NULL) != 0)
		goto err4;
	if (vc_remote__io_start(r, err, errlen) != 0)
		goto err5;
	if (errlen > 0)
		err[0] = '\0';
	return r;
err5:
	pthread_cond_destroy(&r->cv_idle);
err4:
	pthread_cond_destroy(&r->cv_space);
err3:
	pthread_cond_destroy(&r->cv_sync);
err2:
	pthread_mutex_destroy(&r->caps_mu);
err1:
	pthread_mutex_destroy(&r->mu);
err0:
	sodium_memzero(r->auth, sizeof(r->auth));
	free(r);
	return NULL;
}

void
vc_remote_free(struct vc_remote *r)
{
	if (r == NULL)
		return;
	vc_remote__io_stop(r);
	pthread_cond_destroy(&r->cv_idle);
	pthread_cond_destroy(&r->cv_space);
	pthread_cond_destroy(&r->cv_sync);
	pthread_mutex_destroy(&r->caps_mu);
	pthread_mutex_destroy(&r->mu);
	sodium_memzero(r->auth, sizeof(r->auth));
	free(r);
}

void
vc_remote_counters(const struct vc_remote *r, uint64_t *sent, uint64_t *received)
{
	if (sent != NULL)
		*sent = atomic_load_explicit(&r->sent, memory_order_relaxed);
	if (received != NULL)
		*received = atomic_load_explicit(&r->received, memory_order_relaxed);
}
