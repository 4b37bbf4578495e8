#ifndef ROUTER_H
#define ROUTER_H
/*
 * Maps a request's method and target onto one VSP v1 endpoint
 * (spec/vsp.md, "Endpoints"). Pure string work: no allocation, no I/O.
 */
#include <stddef.h>
#include <stdint.h>

#include "vsp.h"

#define ROUTE_LIST_LIMIT_DEFAULT 1000
#define ROUTE_LIST_LIMIT_MAX 10000

enum route_id {
	ROUTE_NONE = 0,
	ROUTE_CAPABILITIES, /* /v1/capabilities */
	ROUTE_VAULTS,       /* /v1/vaults */
	ROUTE_VAULT,        /* /v1/vaults/{v} */
	ROUTE_CONFIG,       /* /v1/vaults/{v}/config */
	ROUTE_OBJECTS,      /* /v1/vaults/{v}/objects/{kind} */
	ROUTE_OBJECT,       /* /v1/vaults/{v}/objects/{kind}/{id} */
	ROUTE_EXISTS,       /* /v1/vaults/{v}/objects/{kind}/exists */
	/* restic's REST backend (spec/restic.md), under /restic/{v}/ */
	ROUTE_RESTIC_CREATE, /* /restic/{v}/?create=true */
	ROUTE_RESTIC_CONFIG, /* /restic/{v}/config */
	ROUTE_RESTIC_LIST,   /* /restic/{v}/{type}/ */
	ROUTE_RESTIC_OBJECT, /* /restic/{v}/{type}/{id} */
	/* the posture page (spec/posture.md), on its own listener */
	ROUTE_POSTURE,       /* /posture[/{t}[/{v}]][.json] */
};

struct route {
	enum route_id id;
	int method;                     /* llhttp_method_t */
	int restic;                     /* a restic REST route */
	char vault[VSP_NAME_MAX + 1];
	enum vsp_kind kind;
	uint8_t oid[VSP_ID_LEN];
	int has_after;                  /* listing: start after this ID */
	uint8_t after[VSP_ID_LEN];
	size_t limit;                   /* listing: page size */
	char tenant[VSP_NAME_MAX + 1];  /* posture: "" = every tenant */
	int json;                       /* posture: ".json" was asked for */
};

/*
 * Parses method and the request target (len bytes). Returns VSP_OK and fills
 * *out; VSP_E_NOT_FOUND for a target that names no endpoint;
 * VSP_E_METHOD for a wrong method, with *allow set to the Allow header
 * value; VSP_E_MALFORMED for a bad name, ID or query. *msg gets a sentence
 * for the client on every error.
 */
enum vsp_err route_parse(int method, const char *target, size_t len, struct route *out,
    const char **allow, const char **msg);

/*
 * The posture page's routes (spec/posture.md): GET /posture, /posture/{t}
 * and /posture/{t}/{v}, each also with ".json" appended, and any query
 * ignored. Fills out->tenant, out->vault (both "" when absent) and
 * out->json. Returns VSP_OK, VSP_E_METHOD for anything but GET (*allow =
 * "GET"), or VSP_E_NOT_FOUND; *msg gets a sentence on every error.
 */
enum vsp_err route_posture(int method, const char *target, size_t len, struct route *out,
    const char **allow, const char **msg);

/*
 * Range header (spec/vsp.md, "Ranges"). For an object of size bytes and the
 * header value hdr, returns 0 with [*first, *last] (inclusive) for a 206,
 * or -1 when the range cannot be served (416). Only one "bytes=" range is
 * supported; a last byte past the end is clamped.
 */
int range_parse(const char *hdr, uint64_t size, uint64_t *first, uint64_t *last);

#endif
