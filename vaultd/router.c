#include "router.h"

#include <llhttp.h>
#include <string.h>

#define V1_PREFIX "/v1/"
#define RESTIC_PREFIX "/restic/"
#define RESTIC_CREATE_QUERY "create=true"
#define MAX_SEGMENTS 6

struct seg {
	const char *p;
	size_t len;
};

static int
seg_is(const struct seg *s, const char *word)
{
	return strlen(word) == s->len && memcmp(s->p, word, s->len) == 0;
}

/* Splits path (after "/v1/") on '/'. Returns the count, or -1 on an empty
 * segment or too many of them. */
static int
split_path(const char *p, size_t len, struct seg *segs)
{
	int n = 0;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		if (i == start || n == MAX_SEGMENTS)
			return -1;
		segs[n].p = p + start;
		segs[n].len = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

static int
parse_uint(const char *p, size_t len, size_t max, size_t *out)
{
	size_t v = 0;
	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (size_t)(p[i] - '0');
	}
	if (v == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parses "after=ID&limit=N" for listings. */
static enum vsp_err
parse_list_query(const char *q, size_t len, struct route *r, const char **msg)
{
	size_t i = 0;
	int have_limit = 0;

	while (i < len) {
		size_t end = i, eq;
		while (end < len && q[end] != '&')
			end++;
		for (eq = i; eq < end && q[eq] != '='; eq++)
			;
		if (eq == end)
			goto bad;
		const char *val = q + eq + 1;
		size_t vlen = end - eq - 1;
		if (eq - i == 5 && memcmp(q + i, "after", 5) == 0) {
			if (r->has_after)
				goto twice;
			if (vsp_id_parse(val, vlen, r->after) != 0) {
				*msg = "after= must be a 64-digit lowercase hex object ID";
				return VSP_E_MALFORMED;
			}
			r->has_after = 1;
		} else if (eq - i == 5 && memcmp(q + i, "limit", 5) == 0) {
			if (have_limit++)
				goto twice;
			if (parse_uint(val, vlen, ROUTE_LIST_LIMIT_MAX, &r->limit) != 0) {
				*msg = "limit= must be a whole number from 1 to 10000";
				return VSP_E_MALFORMED;
			}
		} else {
			goto bad;
		}
		i = end + 1;
		if (i == len)
			goto bad; /* a trailing '&' is an empty parameter */
	}
	return VSP_OK;
bad:
	*msg = "unknown query parameter (listings take after= and limit=)";
	return VSP_E_MALFORMED;
twice:
	*msg = "a query parameter is given twice";
	return VSP_E_MALFORMED;
}

static enum vsp_err
check_method(int method, struct route *r, const char **allow, const char **msg)
{
	static const struct {
		enum route_id id;
		const char *allow;
	} allowed[] = {
		{ROUTE_CAPABILITIES, "GET, HEAD"},
		{ROUTE_VAULTS, "GET"},
		{ROUTE_VAULT, "GET, PUT"},
		{ROUTE_CONFIG, "GET, PUT"},
		{ROUTE_OBJECTS, "GET"},
		{ROUTE_OBJECT, "GET, HEAD, PUT, DELETE"},
		{ROUTE_EXISTS, "POST"},
		{ROUTE_RESTIC_CREATE, "POST"},
		{ROUTE_RESTIC_CONFIG, "GET, HEAD, POST"},
		{ROUTE_RESTIC_LIST, "GET"},
		{ROUTE_RESTIC_OBJECT, "GET, HEAD, POST, DELETE"},
	};
	static const struct {
		int method;
		const char *name;
	} names[] = {
		{HTTP_GET, "GET"}, {HTTP_HEAD, "HEAD"}, {HTTP_PUT, "PUT"},
		{HTTP_DELETE, "DELETE"}, {HTTP_POST, "POST"},
	};

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (allowed[i].id != r->id)
			continue;
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			if (names[j].method == method && strstr(allowed[i].allow, names[j].name))
				return VSP_OK;
		}
		*allow = allowed[i].allow;
		*msg = "this method is not allowed here";
		return VSP_E_METHOD;
	}
	*msg = "no such endpoint";
	return VSP_E_NOT_FOUND;
}

/* Fills r from the path segments after "/v1/". */
static enum vsp_err
match_segments(const struct seg *s, int n, struct route *r, const char **msg)
{
	if (n == 1 && seg_is(&s[0], "capabilities")) {
		r->id = ROUTE_CAPABILITIES;
		return VSP_OK;
	}
	if (n < 1 || !seg_is(&s[0], "vaults"))
		goto none;
	if (n == 1) {
		r->id = ROUTE_VAULTS;
		return VSP_OK;
	}
	if (!vsp_name_valid(s[1].p, s[1].len)) {
		*msg = "invalid vault name (use 1-63 of a-z 0-9 . _ -, starting with a letter or digit)";
		return VSP_E_MALFORMED;
	}
	memcpy(r->vault, s[1].p, s[1].len);
	r->vault[s[1].len] = '\0';
	if (n == 2) {
		r->id = ROUTE_VAULT;
		return VSP_OK;
	}
	if (n == 3 && seg_is(&s[2], "config")) {
		r->id = ROUTE_CONFIG;
		return VSP_OK;
	}
	if (n < 4 || n > 5 || !seg_is(&s[2], "objects"))
		goto none;
	if (vsp_kind_parse(s[3].p, s[3].len, &r->kind) != 0) {
		*msg = "unknown object kind (use pack, index, snapshot, key or lock)";
		return VSP_E_NOT_FOUND;
	}
	if (n == 4) {
		r->id = ROUTE_OBJECTS;
		return VSP_OK;
	}
	if (seg_is(&s[4], "exists")) {
		r->id = ROUTE_EXISTS;
		return VSP_OK;
	}
	if (vsp_id_parse(s[4].p, s[4].len, r->oid) != 0) {
		*msg = "invalid object ID (want 64 lowercase hex digits)";
		return VSP_E_MALFORMED;
	}
	r->id = ROUTE_OBJECT;
	return VSP_OK;
none:
	*msg = "no such endpoint";
	return VSP_E_NOT_FOUND;
}

/* restic's names for the object kinds. */
static int
restic_type(const struct seg *s, enum vsp_kind *kind)
{
	static const struct {
		const char *type;
		enum vsp_kind kind;
	} types[] = {
		{"data", VSP_KIND_PACK}, {"index", VSP_KIND_INDEX},
		{"snapshots", VSP_KIND_SNAPSHOT}, {"keys", VSP_KIND_KEY}, {"locks", VSP_KIND_LOCK},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (seg_is(s, types[i].type)) {
			*kind = types[i].kind;
			return 0;
		}
	}
	return -1;
}

/* Fills r from the segments after "/restic/"; slash = the path ended in '/'. */
static enum vsp_err
match_restic(const struct seg *s, int n, int slash, struct route *r, const char **msg)
{
	*msg = "no such endpoint";
	if (n < 1 || n > 3)
		return VSP_E_NOT_FOUND;
	if (!vsp_name_valid(s[0].p, s[0].len)) {
		*msg = "invalid vault name (use 1-63 of a-z 0-9 . _ -, starting with a letter or digit)";
		return VSP_E_MALFORMED;
	}
	memcpy(r->vault, s[0].p, s[0].len);
	r->vault[s[0].len] = '\0';
	r->restic = 1;
	if (n == 1) {
		r->id = ROUTE_RESTIC_CREATE;
		return VSP_OK;
	}
	if (n == 2 && !slash && seg_is(&s[1], "config")) {
		r->id = ROUTE_RESTIC_CONFIG;
		return VSP_OK;
	}
	if (restic_type(&s[1], &r->kind) != 0)
		return VSP_E_NOT_FOUND;
	if (n == 2) {
		r->id = ROUTE_RESTIC_LIST;
		return VSP_OK;
	}
	if (slash)
		return VSP_E_NOT_FOUND;
	if (vsp_id_parse(s[2].p, s[2].len, r->oid) != 0) {
		*msg = "invalid object name (want 64 lowercase hex digits)";
		return VSP_E_MALFORMED;
	}
	r->id = ROUTE_RESTIC_OBJECT;
	return VSP_OK;
}

/* The restic half of route_parse: target starts with RESTIC_PREFIX. */
static enum vsp_err
route_parse_restic(const char *target, size_t len, struct route *out, const char **msg)
{
	const size_t plen = sizeof(RESTIC_PREFIX) - 1;
	const char *q = memchr(target, '?', len);
	size_t path_len = q != NULL ? (size_t)(q - target) : len;
	struct seg segs[MAX_SEGMENTS];
	int slash, n;
	enum vsp_err err;

	if (memchr(target, '%', path_len) != NULL) {
		*msg = "percent-encoding is not used in these paths";
		return VSP_E_MALFORMED;
	}
	/* restic writes directories with a trailing slash: "/restic/v/data/". */
	slash = path_len > plen && target[path_len - 1] == '/';
	n = split_path(target + plen, path_len - plen - (size_t)slash, segs);
	if (n < 0) {
		*msg = "no such endpoint";
		return VSP_E_NOT_FOUND;
	}
	if ((err = match_restic(segs, n, slash, out, msg)) != VSP_OK)
		return err;
	if ((q != NULL) != (out->id == ROUTE_RESTIC_CREATE) ||
	    (q != NULL && strncmp(q + 1, RESTIC_CREATE_QUERY, len - path_len - 1) != 0) ||
	    (q != NULL && len - path_len - 1 != sizeof(RESTIC_CREATE_QUERY) - 1)) {
		*msg = out->id == ROUTE_RESTIC_CREATE ? "a repository is created with ?create=true"
		                                      : "this endpoint takes no query parameters";
		return out->id == ROUTE_RESTIC_CREATE && q == NULL ? VSP_E_NOT_FOUND
		                                                   : VSP_E_MALFORMED;
	}
	return VSP_OK;
}

enum vsp_err
route_parse(int method, const char *target, size_t len, struct route *out,
    const char **allow, const char **msg)
{
	const size_t plen = sizeof(V1_PREFIX) - 1;
	struct seg segs[MAX_SEGMENTS];
	size_t path_len;
	const char *q;
	enum vsp_err err;
	int n;

	memset(out, 0, sizeof(*out));
	out->method = method;
	out->limit = ROUTE_LIST_LIMIT_DEFAULT;
	*allow = NULL;
	*msg = "no such endpoint";
	if (len >= sizeof(RESTIC_PREFIX) - 1 &&
	    memcmp(target, RESTIC_PREFIX, sizeof(RESTIC_PREFIX) - 1) == 0) {
		err = route_parse_restic(target, len, out, msg);
		return err != VSP_OK ? err : check_method(method, out, allow, msg);
	}
	if (len < plen || memcmp(target, V1_PREFIX, plen) != 0)
		return VSP_E_NOT_FOUND;
	q = memchr(target, '?', len);
	path_len = q != NULL ? (size_t)(q - target) : len;
	if (memchr(target, '%', path_len) != NULL) {
		*msg = "percent-encoding is not used in VSP paths";
		return VSP_E_MALFORMED;
	}
	n = split_path(target + plen, path_len - plen, segs);
	if (n < 0)
		return VSP_E_NOT_FOUND;
	if ((err = match_segments(segs, n, out, msg)) != VSP_OK)
		return err;
	if (q != NULL) {
		if (out->id != ROUTE_OBJECTS) {
			*msg = "this endpoint takes no query parameters";
			return VSP_E_MALFORMED;
		}
		err = parse_list_query(q + 1, len - path_len - 1, out, msg);
		if (err != VSP_OK)
			return err;
	}
	return check_method(method, out, allow, msg);
}

/* Parses decimal digits [p, end) into *out; -1 if none or overflow. */
static int
parse_u64(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
range_parse(const char *hdr, uint64_t size, uint64_t *first, uint64_t *last)
{
	static const char unit[] = "bytes=";
	const char *p, *dash, *end;
	uint64_t a, b;

	if (strncmp(hdr, unit, sizeof(unit) - 1) != 0)
		return -1;
	p = hdr + sizeof(unit) - 1;
	end = p + strlen(p);
	if (memchr(p, ',', (size_t)(end - p)) != NULL)
		return -1;
	if ((dash = memchr(p, '-', (size_t)(end - p))) == NULL)
		return -1;
	if (dash == p) {
		/* Suffix: the last b bytes. */
		if (parse_u64(dash + 1, end, &b) != 0 || b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 0;
	}
	if (parse_u64(p, dash, &a) != 0 || a >= size)
		return -1;
	if (dash + 1 == end) {
		b = size - 1;
	} else {
		if (parse_u64(dash + 1, end, &b) != 0 || b < a)
			return -1;
		if (b >= size)
			b = size - 1;
	}
	*first = a;
	*last = b;
	return 0;
}

#define POSTURE_PREFIX "/posture"
#define POSTURE_JSON ".json"
#define POSTURE_TARGET_MAX 255 /* longer targets name no posture page */

/* Copies the valid name of len bytes at p into out. Returns 0, or -1. */
static int
posture_name(const char *p, size_t len, char out[VSP_NAME_MAX + 1])
{
	if (len > VSP_NAME_MAX || !vsp_name_valid(p, len))
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

enum vsp_err
route_posture(int method, const char *target, size_t len, struct route *out,
    const char **allow, const char **msg)
{
	const size_t plen = sizeof(POSTURE_PREFIX) - 1, jlen = sizeof(POSTURE_JSON) - 1;
	const char *q = memchr(target, '?', len), *t, *slash;
	size_t n = q != NULL ? (size_t)(q - target) : len;

	memset(out, 0, sizeof(*out));
	out->method = method;
	*allow = NULL;
	if (method != HTTP_GET) {
		*allow = "GET";
		*msg = "only GET is served here";
		return VSP_E_METHOD;
	}
	out->id = ROUTE_POSTURE;
	*msg = "not found: try /posture, /posture/TENANT/VAULT or /posture.json";
	if (len > POSTURE_TARGET_MAX || memchr(target, '\0', n) != NULL)
		return VSP_E_NOT_FOUND;
	if (n >= jlen && memcmp(target + n - jlen, POSTURE_JSON, jlen) == 0) {
		out->json = 1;
		n -= jlen;
	}
	if (n < plen || memcmp(target, POSTURE_PREFIX, plen) != 0 ||
	    (n > plen && target[plen] != '/'))
		return VSP_E_NOT_FOUND;
	if (n == plen)
		return VSP_OK;
	t = target + plen + 1;
	n -= plen + 1;
	if ((slash = memchr(t, '/', n)) == NULL)
		return posture_name(t, n, out->tenant) == 0 ? VSP_OK : VSP_E_NOT_FOUND;
	if (posture_name(t, (size_t)(slash - t), out->tenant) != 0 ||
	    posture_name(slash + 1, n - (size_t)(slash - t) - 1, out->vault) != 0)
		return VSP_E_NOT_FOUND;
	return VSP_OK;
}
