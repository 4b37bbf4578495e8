#include "http_req.h"

#include <string.h>
#include <strings.h>

enum value_target {
	VT_NONE = 0,
	VT_AUTH,
	VT_RANGE,
	VT_EXPECT,
	VT_ACCEPT,
};

static struct http_in *
in_of(llhttp_t *p)
{
	return p->data;
}

void
http_in_fail(struct http_in *in, enum vsp_err err, const char *msg)
{
	if (in->err == VSP_OK) {
		in->err = err;
		in->errmsg = msg;
	}
}

static int
count_header_bytes(struct http_in *in, size_t len)
{
	if (HTTP_HEADER_BYTES_MAX - in->req.header_bytes < len) {
		http_in_fail(in, VSP_E_HEADERS_TOO_LARGE, "the request header block is too large");
		return -1;
	}
	in->req.header_bytes += len;
	return 0;
}

static int
on_message_begin(llhttp_t *p)
{
	struct http_in *in = in_of(p);
	memset(&in->req, 0, sizeof(in->req));
	in->has_auth = 0;
	in->has_version = 0;
	in->version_len = 0;
	in->started = 1;
	return 0;
}

static int
on_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_in *in = in_of(p);
	if (HTTP_URL_MAX - in->req.url_len < len) {
		http_in_fail(in, VSP_E_URI_TOO_LONG, "the request target is too long");
		return -1;
	}
	if (count_header_bytes(in, len) != 0)
		return -1;
	memcpy(in->req.url + in->req.url_len, at, len);
	in->req.url_len += len;
	in->req.url[in->req.url_len] = '\0';
	return 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_in *in = in_of(p);
	if (count_header_bytes(in, len) != 0)
		return -1;
	if (in->field_overlong || HTTP_FIELD_NAME_MAX - in->field_len < len) {
		in->field_overlong = 1;
		return 0;
	}
	memcpy(in->field + in->field_len, at, len);
	in->field_len += len;
	in->field[in->field_len] = '\0';
	return 0;
}

static char *
target_buf(struct http_in *in, size_t *cap)
{
	switch (in->value_target) {
	case VT_AUTH:
		*cap = HTTP_AUTH_MAX;
		return in->req.auth;
	case VT_RANGE:
		*cap = HTTP_RANGE_MAX;
		return in->req.range;
	case VT_ACCEPT:
		*cap = HTTP_ACCEPT_MAX;
		return in->accept;
	default:
		*cap = HTTP_EXPECT_MAX;
		return in->expect;
	}
}

static int
on_header_field_complete(llhttp_t *p)
{
	struct http_in *in = in_of(p);
	const char *f = in->field;

	in->value_target = VT_NONE;
	in->value_len = 0;
	if (in->field_overlong)
		goto out;
	if (strcasecmp(f, "authorization") == 0) {
		if (in->has_auth) {
			http_in_fail(in, VSP_E_MALFORMED, "Authorization is sent twice");
			return -1;
		}
		in->has_auth = 1;
		in->value_target = VT_AUTH;
	} else if (strcasecmp(f, "range") == 0) {
		if (in->req.has_range) {
			http_in_fail(in, VSP_E_MALFORMED, "Range is sent twice");
			return -1;
		}
		in->req.has_range = 1;
		in->value_target = VT_RANGE;
	} else if (strcasecmp(f, "expect") == 0) {
		in->value_target = VT_EXPECT;
	} else if (strcasecmp(f, "accept") == 0) {
		in->value_target = VT_ACCEPT;
	}
out:
	in->field_len = 0;
	in->field_overlong = 0;
	return 0;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_in *in = in_of(p);
	size_t cap;
	char *buf;

	if (count_header_bytes(in, len) != 0)
		return -1;
	if (in->value_target == VT_NONE)
		return 0;
	buf = target_buf(in, &cap);
	if (in->value_target == VT_ACCEPT && cap - in->value_len < len)
		len = cap - in->value_len; /* only searched: a cut value is fine */
	if (cap - in->value_len < len) {
		http_in_fail(in, VSP_E_HEADERS_TOO_LARGE, "a header value is too long");
		return -1;
	}
	memcpy(buf + in->value_len, at, len);
	in->value_len += len;
	buf[in->value_len] = '\0';
	return 0;
}

static int
on_header_value_complete(llhttp_t *p)
{
	struct http_in *in = in_of(p);
	size_t cap;
	char *v;

	if (in->value_target == VT_NONE)
		return 0;
	/* llhttp drops the whitespace before a value but not after it, and
	 * RFC 9110 5.5 says neither is part of the value. */
	v = target_buf(in, &cap);
	while (in->value_len > 0 && (v[in->value_len - 1] == ' ' || v[in->value_len - 1] == '\t'))
		v[--in->value_len] = '\0';
	if (in->value_target == VT_EXPECT) {
		if (strcasecmp(v, "100-continue") == 0)
			in->req.expect_continue = 1;
		v[0] = '\0';
	} else if (in->value_target == VT_ACCEPT) {
		if (strstr(v, HTTP_RESTIC_V2) != NULL)
			in->req.accept_restic_v2 = 1;
		v[0] = '\0';
	}
	in->value_target = VT_NONE;
	return 0;
}

/*
 * spec/vsp.md 6.2: VSP is HTTP/1.1; HTTP/1.0 has the same major version and
 * is read too (RFC 9112 2.6). Any other version that parses as HTTP/D.D is
 * well formed but not ours: 505. llhttp refuses the versions it does not
 * know (HTTP/3.0, HTTP/1.2) itself, as "invalid"; the version text kept here
 * tells those well-formed ones from garbage such as "HTTP/x.1" (400).
 */
static int
on_version(llhttp_t *p, const char *at, size_t len)
{
	struct http_in *in = in_of(p);

	if (sizeof(in->version) - 1 - in->version_len < len) {
		in->version_len = sizeof(in->version); /* too long: never D.D */
		return 0;
	}
	memcpy(in->version + in->version_len, at, len);
	in->version_len += len;
	in->version[in->version_len] = '\0';
	return 0;
}

/* 1 if the version read is DIGIT "." DIGIT (RFC 9112 2.3). */
static int
version_well_formed(const struct http_in *in)
{
	const char *v = in->version;

	return in->version_len == 3 && v[0] >= '0' && v[0] <= '9' && v[1] == '.' &&
	    v[2] >= '0' && v[2] <= '9';
}

static int
on_version_complete(llhttp_t *p)
{
	struct http_in *in = in_of(p);

	in->has_version = 1;
	if (p->http_major == 1 && (p->http_minor == 1 || p->http_minor == 0))
		return 0;
	http_in_fail(in, VSP_E_VERSION, "only HTTP/1.1 (and HTTP/1.0) is served");
	return -1;
}

static int
on_headers_complete(llhttp_t *p)
{
	struct http_in *in = in_of(p);
	struct http_req *r = &in->req;
	int rc;

	/* llhttp reads a request line without a version (an HTTP/0.9 simple
	 * request) as 0.9, with header lines after it. No route, authenticated
	 * or not, may see it: it is malformed. */
	if (!in->has_version) {
		http_in_fail(in, VSP_E_MALFORMED, "the request line has no HTTP version");
		return -1;
	}

	/* vaultd never switches protocols: whatever follows an Upgrade request
	 * is read as HTTP/1.1. CONNECT still ends the connection. */
	if (p->method != HTTP_CONNECT)
		p->upgrade = 0;
	r->method = p->method;
	r->keep_alive = llhttp_should_keep_alive(p);
	r->chunked = (p->flags & (F_CHUNKED | F_TRANSFER_ENCODING)) != 0;
	r->has_content_length = (p->flags & F_CONTENT_LENGTH) != 0;
	r->content_length = r->has_content_length ? p->content_length : 0;
	rc = in->cbs->on_headers(in->arg, r);
	if (rc < 0)
		return -1;
	return rc == 1 ? HPE_PAUSED : 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_in *in = in_of(p);
	return in->cbs->on_body(in->arg, at, len) == 0 ? 0 : -1;
}

static int
on_message_complete(llhttp_t *p)
{
	struct http_in *in = in_of(p);
	in->started = 0;
	if (in->cbs->on_complete(in->arg) != 0)
		return -1;
	return HPE_PAUSED;
}

void
http_in_init(struct http_in *in, const struct http_in_cbs *cbs, void *arg)
{
	memset(in, 0, sizeof(*in));
	llhttp_settings_init(&in->settings);
	in->settings.on_message_begin = on_message_begin;
	in->settings.on_url = on_url;
	in->settings.on_version = on_version;
	in->settings.on_version_complete = on_version_complete;
	in->settings.on_header_field = on_header_field;
	in->settings.on_header_field_complete = on_header_field_complete;
	in->settings.on_header_value = on_header_value;
	in->settings.on_header_value_complete = on_header_value_complete;
	in->settings.on_headers_complete = on_headers_complete;
	in->settings.on_body = on_body;
	in->settings.on_message_complete = on_message_complete;
	llhttp_init(&in->parser, HTTP_REQUEST, &in->settings);
	in->parser.data = in;
	in->cbs = cbs;
	in->arg = arg;
}

enum http_exec
http_in_execute(struct http_in *in, const char *data, size_t len, size_t *consumed)
{
	llhttp_errno_t rc;

	if (llhttp_get_errno(&in->parser) == HPE_PAUSED) {
		/* Still paused: nothing is read until http_in_resume(). */
		*consumed = 0;
		return HTTP_PAUSED;
	}
	rc = llhttp_execute(&in->parser, data, len);

	if (rc == HPE_OK) {
		*consumed = len;
		return HTTP_DONE;
	}
	if (rc == HPE_PAUSED) {
		*consumed = (size_t)(llhttp_get_error_pos(&in->parser) - data);
		return HTTP_PAUSED;
	}
	*consumed = len;
	/* llhttp refused a well-formed version it does not know before
	 * on_version_complete (which would have set has_version). */
	if (rc == HPE_INVALID_VERSION && !in->has_version && version_well_formed(in))
		http_in_fail(in, VSP_E_VERSION, "only HTTP/1.1 (and HTTP/1.0) is served");
	if (in->err == VSP_OK)
		http_in_fail(in, VSP_E_MALFORMED, llhttp_get_error_reason(&in->parser));
	return HTTP_ERROR;
}

void
http_in_resume(struct http_in *in)
{
	llhttp_resume(&in->parser);
}

enum vsp_err
http_in_error(const struct http_in *in, const char **msg)
{
	if (msg != NULL)
		*msg = in->errmsg != NULL ? in->errmsg : "malformed request";
	return in->err;
}

int
http_in_started(const struct http_in *in)
{
	return in->started;
}
