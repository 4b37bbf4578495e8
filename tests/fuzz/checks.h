#ifndef FUZZ_CHECKS_H
#define FUZZ_CHECKS_H
/*
 * Invariants shared by the fuzz drivers: what route_parse() and range_parse()
 * must guarantee for any input. A broken invariant calls abort(), which
 * libFuzzer reports as a crash and replay.c names the input of.
 *
 * The functions are defined here, static, because the Makefile builds each
 * driver from its one .c file (plus replay.o); a tests/fuzz/fuzz_*.c file of
 * helpers would itself be taken for a driver.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "fuzz.h"
#include "router.h"
#include "vsp.h"


/*
 * Object sizes for range_parse(), picked by one input byte: 0x80..0xff give
 * 0..127 (sizes the digits in a short header reach), lower values pick an
 * edge case from the table by their low four bits.
 */
static uint64_t
fuzz_size(uint8_t sel)
{
	static const uint64_t edges[16] = {
		0, 1, 2, 10, 11, 100, 4096, 65536,
		UINT64_C(1) << 30, (UINT64_C(1) << 30) + 1, UINT32_MAX, UINT64_C(1) << 32,
		UINT64_C(1) << 63, UINT64_MAX - 1, UINT64_MAX, 5,
	};

	if (sel & 0x80)
		return sel & 0x7f;
	return edges[sel & 0x0f];
}

/*
 * Decimal digits [p, end) into *out: at least one digit, leading zeros
 * allowed, any value up to UINT64_MAX. Returns 0, or -1.
 */
static int
ref_u64(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;

	if (p == end)
		return -1;
	for (; p < end; p++) {
		uint64_t d;
		if (*p < '0' || *p > '9')
			return -1;
		d = (uint64_t)(*p - '0');
		if (v > UINT64_MAX / 10 || UINT64_MAX - v * 10 < d)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * An independent reading of spec/vectors/range.json, written from the
 * vectors and not from router.c: "bytes=" (case as written), then "A-B",
 * "A-" or "-N" with nothing else (no spaces, no lists), decimal numbers up
 * to UINT64_MAX. Returns 0 with the inclusive range, or -1 for a 416.
 */
static int
ref_range(const char *hdr, uint64_t size, uint64_t *first, uint64_t *last)
{
	static const char unit[] = "bytes=";
	const char *p, *end, *dash;
	uint64_t a, b;

	if (strncmp(hdr, unit, sizeof(unit) - 1) != 0)
		return -1;
	p = hdr + sizeof(unit) - 1;
	end = p + strlen(p);
	if ((dash = memchr(p, '-', (size_t)(end - p))) == NULL)
		return -1;
	if (dash == p) {
		if (ref_u64(dash + 1, end, &b) != 0 || b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 0;
	}
	if (ref_u64(p, dash, &a) != 0 || a >= size)
		return -1;
	if (dash + 1 == end) {
		b = size - 1;
	} else if (ref_u64(dash + 1, end, &b) != 0 || b < a) {
		return -1;
	}
	*first = a;
	*last = b < size ? b : size - 1;
	return 0;
}

/* Runs range_parse() on the NUL-terminated hdr and checks it against the
 * reference and the 206 invariant first <= last < size. */
static void
check_range(const char *hdr, uint64_t size)
{
	uint64_t first = 0xa5a5, last = 0x5a5a, rfirst = 0, rlast = 0;
	int rc = range_parse(hdr, size, &first, &last);
	int ref = ref_range(hdr, size, &rfirst, &rlast);

	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		FUZZ_CHECK(size > 0);
		FUZZ_CHECK(first <= last);
		FUZZ_CHECK(last < size);
	}
	if (rc != ref)
		fprintf(stderr, "range_parse(\"%s\", %llu) = %d, reference %d\n", hdr,
		    (unsigned long long)size, rc, ref);
	FUZZ_CHECK(rc == ref);
	if (rc == 0) {
		FUZZ_CHECK(first == rfirst);
		FUZZ_CHECK(last == rlast);
	}
}

/* The canonical path of a route, as route_parse() must have read it. */
static void
route_path(const struct route *r, char *out, size_t cap)
{
	char hex[VSP_ID_HEX_LEN + 1];
	int n = -1;

	vsp_id_format(r->oid, hex);
	switch (r->id) {
	case ROUTE_CAPABILITIES:
		n = snprintf(out, cap, "/v1/capabilities");
		break;
	case ROUTE_VAULTS:
		n = snprintf(out, cap, "/v1/vaults");
		break;
	case ROUTE_VAULT:
		n = snprintf(out, cap, "/v1/vaults/%s", r->vault);
		break;
	case ROUTE_CONFIG:
		n = snprintf(out, cap, "/v1/vaults/%s/config", r->vault);
		break;
	case ROUTE_OBJECTS:
		n = snprintf(out, cap, "/v1/vaults/%s/objects/%s", r->vault,
		    vsp_kind_name(r->kind));
		break;
	case ROUTE_EXISTS:
		n = snprintf(out, cap, "/v1/vaults/%s/objects/%s/exists", r->vault,
		    vsp_kind_name(r->kind));
		break;
	case ROUTE_OBJECT:
		n = snprintf(out, cap, "/v1/vaults/%s/objects/%s/%s", r->vault,
		    vsp_kind_name(r->kind), hex);
		break;
	default:
		abort();
	}
	FUZZ_CHECK(n > 0 && (size_t)n < cap);
}

/* The Allow value for a route: written out again from the API brief. */
static const char *
route_allow(enum route_id id)
{
	switch (id) {
	case ROUTE_CAPABILITIES:
		return "GET, HEAD";
	case ROUTE_VAULTS:
		return "GET";
	case ROUTE_VAULT:
	case ROUTE_CONFIG:
		return "GET, PUT";
	case ROUTE_OBJECTS:
		return "GET";
	case ROUTE_OBJECT:
		return "GET, HEAD, PUT, DELETE";
	case ROUTE_EXISTS:
	case ROUTE_RESTIC_CREATE:
		return "POST";
	case ROUTE_RESTIC_CONFIG:
		return "GET, HEAD, POST";
	case ROUTE_RESTIC_LIST:
		return "GET";
	case ROUTE_RESTIC_OBJECT:
		return "GET, HEAD, POST, DELETE";
	default:
		abort();
	}
}

/* restic's directory name for a kind (spec/restic.md, "Mapping"). */
static const char *
restic_dir(enum vsp_kind k)
{
	static const char *const dirs[VSP_KIND_COUNT] = {
		[VSP_KIND_PACK] = "data", [VSP_KIND_INDEX] = "index",
		[VSP_KIND_SNAPSHOT] = "snapshots", [VSP_KIND_KEY] = "keys",
		[VSP_KIND_LOCK] = "locks",
	};
	FUZZ_CHECK((unsigned)k < VSP_KIND_COUNT);
	return dirs[k];
}

/* A restic route: the path is the canonical one, give or take the trailing
 * slash restic writes after directories; only create takes a query. */
static void
check_restic_route(const struct route *r, const char *target, size_t len)
{
	const char *q = memchr(target, '?', len);
	size_t path_len = q != NULL ? (size_t)(q - target) : len;
	char hex[VSP_ID_HEX_LEN + 1], path[256];
	int n = -1;

	FUZZ_CHECK(r->id >= ROUTE_RESTIC_CREATE && r->id <= ROUTE_RESTIC_OBJECT);
	FUZZ_CHECK(vsp_name_valid(r->vault, strlen(r->vault)));
	vsp_id_format(r->oid, hex);
	switch (r->id) {
	case ROUTE_RESTIC_CREATE:
		n = snprintf(path, sizeof(path), "/restic/%s", r->vault);
		FUZZ_CHECK(q != NULL && strlen("?create=true") == len - path_len &&
		    memcmp(q, "?create=true", len - path_len) == 0);
		break;
	case ROUTE_RESTIC_CONFIG:
		n = snprintf(path, sizeof(path), "/restic/%s/config", r->vault);
		break;
	case ROUTE_RESTIC_LIST:
		n = snprintf(path, sizeof(path), "/restic/%s/%s", r->vault, restic_dir(r->kind));
		break;
	default:
		n = snprintf(path, sizeof(path), "/restic/%s/%s/%s", r->vault,
		    restic_dir(r->kind), hex);
	}
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(path));
	if (r->id != ROUTE_RESTIC_CREATE)
		FUZZ_CHECK(q == NULL);
	if (path_len == (size_t)n + 1) {
		/* Only directories may end in '/'. */
		FUZZ_CHECK(r->id == ROUTE_RESTIC_CREATE || r->id == ROUTE_RESTIC_LIST);
		FUZZ_CHECK(target[n] == '/');
	} else {
		FUZZ_CHECK(path_len == (size_t)n);
	}
	FUZZ_CHECK(memcmp(path, target, (size_t)n) == 0);
}

static int
method_allowed(enum route_id id, int method)
{
	const char *allow = route_allow(id);
	const char *name;

	switch (method) {
	case HTTP_GET: name = "GET"; break;
	case HTTP_HEAD: name = "HEAD"; break;
	case HTTP_PUT: name = "PUT"; break;
	case HTTP_DELETE: name = "DELETE"; break;
	case HTTP_POST: name = "POST"; break;
	default: return 0;
	}
	for (const char *p = allow; (p = strstr(p, name)) != NULL; p++) {
		size_t n = strlen(name);
		if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return 1;
	}
	return 0;
}

/*
 * Runs route_parse() on target (len bytes, read only up to len) and checks
 * what it returns: the error set, the Allow value, the vault name and kind,
 * the listing bounds, and that the path is exactly the canonical spelling of
 * the route it names (one object, one spelling; no decoding, no folding).
 */
static void
check_route(int method, const char *target, size_t len)
{
	struct route r;
	const char *allow = "unset", *msg = NULL;
	enum vsp_err err = route_parse(method, target, len, &r, &allow, &msg);
	const char *q = memchr(target, '?', len);
	size_t path_len = q != NULL ? (size_t)(q - target) : len;
	char path[256];

	FUZZ_CHECK(err == VSP_OK || err == VSP_E_NOT_FOUND || err == VSP_E_METHOD ||
	    err == VSP_E_MALFORMED);
	FUZZ_CHECK(r.method == method);
	if (err != VSP_OK)
		FUZZ_CHECK(msg != NULL && *msg != '\0');
	if (err == VSP_E_METHOD) {
		FUZZ_CHECK(allow != NULL);
		FUZZ_CHECK(strcmp(allow, route_allow(r.id)) == 0);
		FUZZ_CHECK(!method_allowed(r.id, method));
	} else {
		FUZZ_CHECK(allow == NULL);
	}
	if (err != VSP_OK && err != VSP_E_METHOD)
		return;
	if (err == VSP_OK)
		FUZZ_CHECK(method_allowed(r.id, method));
	if (r.restic) {
		check_restic_route(&r, target, len);
		return;
	}

	FUZZ_CHECK(r.id > ROUTE_NONE && r.id <= ROUTE_EXISTS);
	if (r.id >= ROUTE_VAULT) {
		FUZZ_CHECK(vsp_name_valid(r.vault, strlen(r.vault)));
		FUZZ_CHECK(strlen(r.vault) <= VSP_NAME_MAX);
	} else {
		FUZZ_CHECK(r.vault[0] == '\0');
	}
	if (r.id >= ROUTE_OBJECTS)
		FUZZ_CHECK((unsigned)r.kind < VSP_KIND_COUNT);
	route_path(&r, path, sizeof(path));
	FUZZ_CHECK(strlen(path) == path_len && memcmp(path, target, path_len) == 0);
	FUZZ_CHECK(r.limit >= 1 && r.limit <= ROUTE_LIST_LIMIT_MAX);
	if (q != NULL)
		FUZZ_CHECK(r.id == ROUTE_OBJECTS);
	if (r.id != ROUTE_OBJECTS || q == NULL) {
		FUZZ_CHECK(r.limit == ROUTE_LIST_LIMIT_DEFAULT);
		FUZZ_CHECK(!r.has_after);
	}
	if (r.has_after) {
		char hex[VSP_ID_HEX_LEN + 1], want[sizeof("after=") + VSP_ID_HEX_LEN];
		vsp_id_format(r.after, hex);
		snprintf(want, sizeof(want), "after=%s", hex);
		FUZZ_CHECK(memmem(q, len - path_len, want, strlen(want)) != NULL);
	}
}

#endif
