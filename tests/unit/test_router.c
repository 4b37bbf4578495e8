/*
 * route_parse() for every VSP v1 endpoint and method (spec/API-BRIEF.md):
 * the routes it finds, 405 with the Allow value, 404 for targets that name
 * no endpoint, 400 for bad names, IDs, percent-encoding and queries, and the
 * listing query (after=, limit= from 1 to 10000). range_parse() is checked
 * against every vector in spec/vectors/range.json.
 *
 * Paths are relative to the repository root, where `make unit` runs the
 * tests; set VAULT_VECTORS to read the vectors from another directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vectors.h"
#include <jansson.h>
#include <llhttp.h>

#include "router.h"
#include "vsp.h"


#define ID_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ID_B "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static enum vsp_err
parse(int method, const char *target, struct route *r, const char **allow,
    const char **msg)
{
	return route_parse(method, target, strlen(target), r, allow, msg);
}

/* route_parse() must answer err for target; returns the message. */
static const char *
expect_err(int method, const char *target, enum vsp_err want)
{
	struct route r;
	const char *allow = "unset", *msg = NULL;
	enum vsp_err err = parse(method, target, &r, &allow, &msg);

	if (err != want)
		fail_msg("%s: got error %d, want %d (%s)", target, (int)err, (int)want,
		    msg != NULL ? msg : "no message");
	assert_non_null(msg);
	assert_true(strlen(msg) > 0);
	if (want != VSP_E_METHOD)
		assert_null(allow);
	return msg;
}

static void
test_endpoints(void **state)
{
	static const struct {
		int method;
		const char *target;
		enum route_id id;
		const char *vault;
		enum vsp_kind kind;
		const char *oid;
	} ok[] = {
		{HTTP_GET, "/v1/capabilities", ROUTE_CAPABILITIES, "", 0, NULL},
		{HTTP_HEAD, "/v1/capabilities", ROUTE_CAPABILITIES, "", 0, NULL},
		{HTTP_GET, "/v1/vaults", ROUTE_VAULTS, "", 0, NULL},
		{HTTP_PUT, "/v1/vaults/photos", ROUTE_VAULT, "photos", 0, NULL},
		{HTTP_GET, "/v1/vaults/photos", ROUTE_VAULT, "photos", 0, NULL},
		{HTTP_PUT, "/v1/vaults/a.b_c-9/config", ROUTE_CONFIG, "a.b_c-9", 0, NULL},
		{HTTP_GET, "/v1/vaults/a.b_c-9/config", ROUTE_CONFIG, "a.b_c-9", 0, NULL},
		{HTTP_GET, "/v1/vaults/v/objects/pack", ROUTE_OBJECTS, "v", VSP_KIND_PACK, NULL},
		{HTTP_GET, "/v1/vaults/v/objects/index", ROUTE_OBJECTS, "v", VSP_KIND_INDEX, NULL},
		{HTTP_GET, "/v1/vaults/v/objects/snapshot", ROUTE_OBJECTS, "v",
		    VSP_KIND_SNAPSHOT, NULL},
		{HTTP_PUT, "/v1/vaults/v/objects/pack/" ID_A, ROUTE_OBJECT, "v", VSP_KIND_PACK,
		    ID_A},
		{HTTP_GET, "/v1/vaults/v/objects/index/" ID_A, ROUTE_OBJECT, "v", VSP_KIND_INDEX,
		    ID_A},
		{HTTP_HEAD, "/v1/vaults/v/objects/snapshot/" ID_B, ROUTE_OBJECT, "v",
		    VSP_KIND_SNAPSHOT, ID_B},
		{HTTP_DELETE, "/v1/vaults/v/objects/pack/" ID_B, ROUTE_OBJECT, "v",
		    VSP_KIND_PACK, ID_B},
		{HTTP_POST, "/v1/vaults/v/objects/pack/exists", ROUTE_EXISTS, "v",
		    VSP_KIND_PACK, NULL},
		{HTTP_POST, "/v1/vaults/0/objects/snapshot/exists", ROUTE_EXISTS, "0",
		    VSP_KIND_SNAPSHOT, NULL},
		/* The longest vault name: 63 bytes. */
		{HTTP_GET, "/v1/vaults/"
		    "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0",
		    ROUTE_VAULT,
		    "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0", 0, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct route r;
		const char *allow = "unset", *msg = NULL;
		enum vsp_err err = parse(ok[i].method, ok[i].target, &r, &allow, &msg);

		if (err != VSP_OK)
			fail_msg("%s: error %d (%s)", ok[i].target, (int)err, msg);
		assert_int_equal(r.id, ok[i].id);
		assert_int_equal(r.method, ok[i].method);
		assert_string_equal(r.vault, ok[i].vault);
		assert_null(allow);
		assert_int_equal(r.has_after, 0);
		assert_int_equal(r.limit, ROUTE_LIST_LIMIT_DEFAULT);
		if (ok[i].id >= ROUTE_OBJECTS)
			assert_int_equal(r.kind, ok[i].kind);
		if (ok[i].oid != NULL) {
			char hex[VSP_ID_HEX_LEN + 1];
			vsp_id_format(r.oid, hex);
			assert_string_equal(hex, ok[i].oid);
		}
	}
}

/* Only the given length is read: a longer buffer does not change the route. */
static void
test_length_is_respected(void **state)
{
	static const char buf[] = "/v1/vaults/photos/config";
	struct route r;
	const char *allow, *msg;

	(void)state;
	assert_int_equal(route_parse(HTTP_GET, buf, strlen("/v1/vaults/photos"), &r, &allow,
	    &msg), VSP_OK);
	assert_int_equal(r.id, ROUTE_VAULT);
	assert_string_equal(r.vault, "photos");
	assert_int_equal(route_parse(HTTP_GET, buf, strlen("/v1/vaults"), &r, &allow, &msg),
	    VSP_OK);
	assert_int_equal(r.id, ROUTE_VAULTS);
}

static void
test_method_not_allowed(void **state)
{
	static const struct {
		int method;
		const char *target;
		const char *allow;
	} bad[] = {
		{HTTP_POST, "/v1/capabilities", "GET, HEAD"},
		{HTTP_PUT, "/v1/capabilities", "GET, HEAD"},
		{HTTP_DELETE, "/v1/capabilities", "GET, HEAD"},
		{HTTP_OPTIONS, "/v1/capabilities", "GET, HEAD"},
		{HTTP_HEAD, "/v1/vaults", "GET"},
		{HTTP_PUT, "/v1/vaults", "GET"},
		{HTTP_POST, "/v1/vaults", "GET"},
		{HTTP_DELETE, "/v1/vaults", "GET"},
		{HTTP_DELETE, "/v1/vaults/v", "GET, PUT"},
		{HTTP_POST, "/v1/vaults/v", "GET, PUT"},
		{HTTP_HEAD, "/v1/vaults/v", "GET, PUT"},
		{HTTP_PATCH, "/v1/vaults/v", "GET, PUT"},
		{HTTP_DELETE, "/v1/vaults/v/config", "GET, PUT"},
		{HTTP_POST, "/v1/vaults/v/config", "GET, PUT"},
		{HTTP_HEAD, "/v1/vaults/v/config", "GET, PUT"},
		{HTTP_PUT, "/v1/vaults/v/objects/pack", "GET"},
		{HTTP_POST, "/v1/vaults/v/objects/pack", "GET"},
		{HTTP_DELETE, "/v1/vaults/v/objects/pack", "GET"},
		{HTTP_HEAD, "/v1/vaults/v/objects/pack", "GET"},
		{HTTP_POST, "/v1/vaults/v/objects/pack/" ID_A, "GET, HEAD, PUT, DELETE"},
		{HTTP_PATCH, "/v1/vaults/v/objects/pack/" ID_A, "GET, HEAD, PUT, DELETE"},
		{HTTP_TRACE, "/v1/vaults/v/objects/pack/" ID_A, "GET, HEAD, PUT, DELETE"},
		{HTTP_GET, "/v1/vaults/v/objects/pack/exists", "POST"},
		{HTTP_PUT, "/v1/vaults/v/objects/pack/exists", "POST"},
		{HTTP_HEAD, "/v1/vaults/v/objects/pack/exists", "POST"},
		{HTTP_DELETE, "/v1/vaults/v/objects/pack/exists", "POST"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct route r;
		const char *allow = NULL, *msg = NULL;
		enum vsp_err err = parse(bad[i].method, bad[i].target, &r, &allow, &msg);

		if (err != VSP_E_METHOD)
			fail_msg("%s %s: error %d, want 405", llhttp_method_name(bad[i].method),
			    bad[i].target, (int)err);
		assert_non_null(allow);
		assert_string_equal(allow, bad[i].allow);
		assert_non_null(msg);
	}
	assert_int_equal(vsp_err_status(VSP_E_METHOD), 405);
}

static void
test_not_found(void **state)
{
	static const char *const targets[] = {
		"",
		"/",
		"*",
		"/v1",
		"/v1/",
		"/v2/vaults",
		"/V1/vaults",
		"v1/vaults",
		"//v1/vaults",
		"http://vault/v1/vaults",
		"/v1/capabilities/",
		"/v1/capabilities/x",
		"/v1/Capabilities",
		"/v1/vault",
		"/v1/vaults/",
		"/v1//vaults",
		"/v1/vaults//config",
		"/v1/vaults/v/",
		"/v1/vaults/v/config/",
		"/v1/vaults/v/config/x",
		"/v1/vaults/v/configs",
		"/v1/vaults/v/objects",
		"/v1/vaults/v/objects/",
		"/v1/vaults/v/object/pack",
		"/v1/vaults/v/objects/blob",
		"/v1/vaults/v/objects/Pack",
		"/v1/vaults/v/objects/packs/" ID_A,
		"/v1/vaults/v/objects/pack/",
		"/v1/vaults/v/objects/pack/" ID_A "/",
		"/v1/vaults/v/objects/pack/" ID_A "/x",
		"/v1/vaults/v/objects/pack/exists/x",
		"/v1/vaults/v/x/y/z/w/u/t",
		"/v1/vaults/v/./config",
		"/v1/vaults/v/../v/config",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		expect_err(HTTP_GET, targets[i], VSP_E_NOT_FOUND);
	/* A target naming no endpoint is 404 whatever the method. */
	expect_err(HTTP_DELETE, "/v1/nothing", VSP_E_NOT_FOUND);
	expect_err(HTTP_POST, "/v1/vaults/v/objects/blob/exists", VSP_E_NOT_FOUND);
}

static void
test_bad_names_and_ids(void **state)
{
	static const char *const targets[] = {
		/* Vault names: [a-z0-9][a-z0-9._-]{0,62}. */
		"/v1/vaults/Photos",
		"/v1/vaults/-photos",
		"/v1/vaults/.photos",
		"/v1/vaults/_photos",
		"/v1/vaults/.",
		"/v1/vaults/..",
		"/v1/vaults/ph+otos",
		"/v1/vaults/ph:otos/config",
		"/v1/vaults/ph~otos/objects/pack",
		"/v1/vaults/abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01",
		"/v1/vaults/-x/objects/pack/" ID_A,
		/* IDs: exactly 64 lowercase hex digits. */
		"/v1/vaults/v/objects/pack/abc",
		"/v1/vaults/v/objects/pack/"
		"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		"/v1/vaults/v/objects/pack/"
		"Ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"/v1/vaults/v/objects/pack/" ID_A "0",
		"/v1/vaults/v/objects/pack/"
		"a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"/v1/vaults/v/objects/pack/"
		"ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"/v1/vaults/v/objects/pack/"
		"0xa816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		expect_err(HTTP_GET, targets[i], VSP_E_MALFORMED);
}

static void
test_percent_encoding(void **state)
{
	static const char *const targets[] = {
		"/v1/vaults/photos%2dx",
		"/v1/vaults/%70hotos",
		"/v1/vaults/v/objects/pack/%61" ID_A,
		"/v1/vaults/v%2fconfig",
		"/v1/%76aults",
		"/v1/capabilities%00",
		"/v1/vaults/v/objects/pack%3Fafter=x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const char *msg = expect_err(HTTP_GET, targets[i], VSP_E_MALFORMED);
		assert_non_null(strstr(msg, "percent"));
	}
}

static void
test_query(void **state)
{
	static const char *const bad[] = {
		/* Query parameters only on listings. */
		"/v1/capabilities?x=1",
		"/v1/vaults?limit=10",
		"/v1/vaults/v?x",
		"/v1/vaults/v/config?after=" ID_A,
		"/v1/vaults/v/objects/pack/" ID_A "?limit=1",
		"/v1/vaults/v/objects/pack/exists?limit=1",
		/* Unknown or malformed parameters. */
		"/v1/vaults/v/objects/pack?x=1",
		"/v1/vaults/v/objects/pack?after",
		"/v1/vaults/v/objects/pack?limit",
		"/v1/vaults/v/objects/pack?&",
		"/v1/vaults/v/objects/pack?limit=10&",
		"/v1/vaults/v/objects/pack?&limit=10",
		"/v1/vaults/v/objects/pack?limit=10&&after=" ID_A,
		"/v1/vaults/v/objects/pack?Limit=10",
		"/v1/vaults/v/objects/pack?limits=10",
		"/v1/vaults/v/objects/pack?limit=10&cursor=x",
		/* Each parameter at most once. */
		"/v1/vaults/v/objects/pack?limit=10&limit=20",
		"/v1/vaults/v/objects/pack?after=" ID_A "&after=" ID_A,
		/* after= is one object ID. */
		"/v1/vaults/v/objects/pack?after=",
		"/v1/vaults/v/objects/pack?after=abc",
		"/v1/vaults/v/objects/pack?after=" ID_A "0",
		"/v1/vaults/v/objects/pack?after="
		"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		"/v1/vaults/v/objects/pack?after=%62" ID_A,
		/* limit= from 1 to 10000. */
		"/v1/vaults/v/objects/pack?limit=",
		"/v1/vaults/v/objects/pack?limit=0",
		"/v1/vaults/v/objects/pack?limit=00",
		"/v1/vaults/v/objects/pack?limit=10001",
		"/v1/vaults/v/objects/pack?limit=99999",
		"/v1/vaults/v/objects/pack?limit=4294967297",
		"/v1/vaults/v/objects/pack?limit=18446744073709551617",
		"/v1/vaults/v/objects/pack?limit=-1",
		"/v1/vaults/v/objects/pack?limit=+5",
		"/v1/vaults/v/objects/pack?limit=5x",
		"/v1/vaults/v/objects/pack?limit= 5",
		"/v1/vaults/v/objects/pack?limit=1e3",
		"/v1/vaults/v/objects/pack?limit=0x10",
	};
	static const struct {
		const char *query;
		size_t limit;
	} limits[] = {
		{"", ROUTE_LIST_LIMIT_DEFAULT},
		{"limit=1", 1},
		{"limit=2", 2},
		{"limit=999", 999},
		{"limit=1000", 1000},
		{"limit=9999", 9999},
		{"limit=10000", 10000},
	};
	struct route r;
	const char *allow, *msg;
	uint8_t want[VSP_ID_LEN];
	char target[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err(HTTP_GET, bad[i], VSP_E_MALFORMED);

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		snprintf(target, sizeof(target), "/v1/vaults/v/objects/pack?%s", limits[i].query);
		if (parse(HTTP_GET, target, &r, &allow, &msg) != VSP_OK)
			fail_msg("%s: %s", target, msg);
		assert_int_equal(r.id, ROUTE_OBJECTS);
		assert_int_equal(r.limit, limits[i].limit);
		assert_int_equal(r.has_after, 0);
	}

	assert_int_equal(vsp_id_parse(ID_A, strlen(ID_A), want), 0);
	assert_int_equal(parse(HTTP_GET, "/v1/vaults/v/objects/index?after=" ID_A, &r, &allow,
	    &msg), VSP_OK);
	assert_int_equal(r.id, ROUTE_OBJECTS);
	assert_int_equal(r.kind, VSP_KIND_INDEX);
	assert_int_equal(r.has_after, 1);
	assert_memory_equal(r.after, want, VSP_ID_LEN);
	assert_int_equal(r.limit, ROUTE_LIST_LIMIT_DEFAULT);

	/* Either order, and with a limit. */
	assert_int_equal(parse(HTTP_GET, "/v1/vaults/v/objects/snapshot?limit=10000&after="
	    ID_A, &r, &allow, &msg), VSP_OK);
	assert_int_equal(r.has_after, 1);
	assert_memory_equal(r.after, want, VSP_ID_LEN);
	assert_int_equal(r.limit, 10000);
	assert_int_equal(parse(HTTP_GET, "/v1/vaults/v/objects/pack?after=" ID_A "&limit=1",
	    &r, &allow, &msg), VSP_OK);
	assert_int_equal(r.has_after, 1);
	assert_int_equal(r.limit, 1);

	/* A listing with a query but the wrong method is still a listing. */
	assert_int_equal(parse(HTTP_DELETE, "/v1/vaults/v/objects/pack?limit=5", &r, &allow,
	    &msg), VSP_E_METHOD);
	assert_string_equal(allow, "GET");
}

/* Loads dir/name as JSON, NUL bytes allowed in strings (names.json has
 * some); fails the test if the file is missing or not JSON. */

/* Every vault name of spec/vectors/names.json in a path: the valid ones route,
 * the invalid ones never do. Names are compared by length, not up to a NUL. */
static void
test_restic(void **state)
{
	static const struct {
		int method;
		const char *target;
		enum route_id id;
		enum vsp_kind kind;
	} ok[] = {
		{HTTP_POST, "/restic/main/?create=true", ROUTE_RESTIC_CREATE, VSP_KIND_PACK},
		{HTTP_POST, "/restic/main?create=true", ROUTE_RESTIC_CREATE, VSP_KIND_PACK},
		{HTTP_HEAD, "/restic/main/config", ROUTE_RESTIC_CONFIG, VSP_KIND_PACK},
		{HTTP_POST, "/restic/main/config", ROUTE_RESTIC_CONFIG, VSP_KIND_PACK},
		{HTTP_GET, "/restic/main/data/", ROUTE_RESTIC_LIST, VSP_KIND_PACK},
		{HTTP_GET, "/restic/main/keys", ROUTE_RESTIC_LIST, VSP_KIND_KEY},
		{HTTP_GET, "/restic/main/locks/", ROUTE_RESTIC_LIST, VSP_KIND_LOCK},
		{HTTP_POST, "/restic/main/snapshots/" ID_A, ROUTE_RESTIC_OBJECT, VSP_KIND_SNAPSHOT},
		{HTTP_DELETE, "/restic/main/index/" ID_A, ROUTE_RESTIC_OBJECT, VSP_KIND_INDEX},
	};
	struct route r;
	const char *allow, *msg;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (parse(ok[i].method, ok[i].target, &r, &allow, &msg) != VSP_OK)
			fail_msg("%s: %s", ok[i].target, msg);
		assert_int_equal(r.id, ok[i].id);
		assert_true(r.restic);
		assert_string_equal(r.vault, "main");
		if (ok[i].id == ROUTE_RESTIC_LIST || ok[i].id == ROUTE_RESTIC_OBJECT)
			assert_int_equal(r.kind, ok[i].kind);
	}
	assert_memory_equal(r.oid, "\xba\x78\x16\xbf", 4);
	expect_err(HTTP_POST, "/restic/main/", VSP_E_NOT_FOUND);         /* no ?create */
	expect_err(HTTP_POST, "/restic/main/?create=yes", VSP_E_MALFORMED);
	expect_err(HTTP_GET, "/restic/main/config?x=1", VSP_E_MALFORMED);
	expect_err(HTTP_GET, "/restic/main/blobs/", VSP_E_NOT_FOUND);
	expect_err(HTTP_GET, "/restic/main/data/" ID_A "/", VSP_E_NOT_FOUND);
	expect_err(HTTP_GET, "/restic/main/data/ABC", VSP_E_MALFORMED);
	expect_err(HTTP_GET, "/restic/../data/", VSP_E_MALFORMED);
	expect_err(HTTP_GET, "/restic/main/%2e%2e/", VSP_E_MALFORMED);
	expect_err(HTTP_GET, "/restic//data/", VSP_E_NOT_FOUND);
	expect_err(HTTP_PUT, "/restic/main/data/" ID_A, VSP_E_METHOD);
	expect_err(HTTP_DELETE, "/restic/main/config", VSP_E_METHOD);
}

/* route_posture: the posture page's paths, as its parse_path took them. */
static void
posture_ok(const char *target, const char *tenant, const char *vault, int json)
{
	const char *allow, *msg;
	struct route r;

	assert_int_equal(route_posture(HTTP_GET, target, strlen(target), &r, &allow, &msg),
	    VSP_OK);
	assert_int_equal(r.id, ROUTE_POSTURE);
	assert_string_equal(r.tenant, tenant);
	assert_string_equal(r.vault, vault);
	assert_int_equal(r.json, json);
}

static void
posture_err(int method, const char *target, enum vsp_err want)
{
	const char *allow, *msg = NULL;
	struct route r;

	assert_int_equal(route_posture(method, target, strlen(target), &r, &allow, &msg), want);
	assert_non_null(msg);
	if (want == VSP_E_METHOD)
		assert_string_equal(allow, "GET");
}

static void
test_posture(void **state)
{
	char longer[300];

	(void)state;
	posture_ok("/posture", "", "", 0);
	posture_ok("/posture.json", "", "", 1);
	posture_ok("/posture.json?refresh=1", "", "", 1);
	posture_ok("/posture/acme", "acme", "", 0);
	posture_ok("/posture/acme/laptop.json", "acme", "laptop", 1);
	posture_ok("/posture/acme/laptop?x=.json", "acme", "laptop", 0);
	posture_err(HTTP_POST, "/posture", VSP_E_METHOD);
	posture_err(HTTP_HEAD, "/posture", VSP_E_METHOD);
	posture_err(HTTP_POST, "/other", VSP_E_METHOD); /* the method is checked first */
	posture_err(HTTP_GET, "/other", VSP_E_NOT_FOUND);
	posture_err(HTTP_GET, "/postures", VSP_E_NOT_FOUND);
	posture_err(HTTP_GET, "/posture/", VSP_E_NOT_FOUND);
	posture_err(HTTP_GET, "/posture//v", VSP_E_NOT_FOUND);
	posture_err(HTTP_GET, "/posture/acme/", VSP_E_NOT_FOUND);
	posture_err(HTTP_GET, "/posture/a/b/c", VSP_E_NOT_FOUND);
	posture_err(HTTP_GET, "/posture/a<b>", VSP_E_NOT_FOUND);
	posture_err(HTTP_GET, "/v1/capabilities", VSP_E_NOT_FOUND);
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "/posture/", 9);
	posture_err(HTTP_GET, longer, VSP_E_NOT_FOUND);
}

static void
test_names_vectors(void **state)
{
	json_t *doc = vectors_load("names.json", JSON_ALLOW_NUL);
	json_t *valid = json_object_get(doc, "valid"), *invalid = json_object_get(doc, "invalid");
	json_t *v;
	size_t i;

	(void)state;
	assert_true(json_is_array(valid) && json_array_size(valid) >= 5);
	assert_true(json_is_array(invalid) && json_array_size(invalid) >= 5);
	json_array_foreach(valid, i, v) {
		char target[128];
		size_t len = json_string_length(v);
		int n = snprintf(target, sizeof(target), "/v1/vaults/%s/config",
		    json_string_value(v));
		struct route r;
		const char *allow, *msg;

		assert_true(n > 0 && (size_t)n < sizeof(target));
		if (route_parse(HTTP_PUT, target, (size_t)n, &r, &allow, &msg) != VSP_OK)
			fail_msg("valid name \"%s\": %s", json_string_value(v), msg);
		assert_int_equal(r.id, ROUTE_CONFIG);
		assert_int_equal(strlen(r.vault), len);
		assert_memory_equal(r.vault, json_string_value(v), len);
	}
	json_array_foreach(invalid, i, v) {
		static const char pre[] = "/v1/vaults/", post[] = "/config";
		const char *name = json_string_value(v);
		size_t len = json_string_length(v);
		char *target = malloc(sizeof(pre) + len + sizeof(post));
		struct route r;
		const char *allow, *msg;
		enum vsp_err err;

		assert_non_null(target);
		memcpy(target, pre, sizeof(pre) - 1);
		memcpy(target + sizeof(pre) - 1, name, len);
		memcpy(target + sizeof(pre) - 1 + len, post, sizeof(post) - 1);
		err = route_parse(HTTP_PUT, target, sizeof(pre) - 1 + len + sizeof(post) - 1, &r,
		    &allow, &msg);
		free(target);
		if (err == VSP_OK)
			fail_msg("invalid name %zu (\"%s\") was routed", i, name);
		/* A name with '/' or '?' changes the path's shape (404 or a
		 * query on the wrong endpoint); any other is a bad name: 400. */
		if (len > 0 && memchr(name, '/', len) == NULL && memchr(name, '?', len) == NULL &&
		    err != VSP_E_MALFORMED)
			fail_msg("invalid name %zu (\"%s\"): error %d, want 400", i, name, (int)err);
	}
	json_decref(doc);
}

/* ---- range_parse() against spec/vectors/range.json ---- */

static void
test_range_vectors(void **state)
{
	json_t *doc = vectors_load("range.json", JSON_ALLOW_NUL);
	json_t *v;
	size_t i, checked = 0, failed = 0, served = 0, refused = 0;

	(void)state;
	assert_true(json_is_array(doc));
	assert_true(json_array_size(doc) >= 20);
	json_array_foreach(doc, i, v) {
		json_t *hdr = json_object_get(v, "header");
		uint64_t size = vectors_u64(v, "size");
		json_int_t status = json_integer_value(json_object_get(v, "status"));
		uint64_t first = UINT64_MAX, last = UINT64_MAX;
		int rc, ok;

		if (json_is_null(hdr)) {
			/* No Range header: the whole object, which range_parse()
			 * is not asked about. Check the vector is coherent. */
			assert_int_equal(status, 200);
			if (size > 0) {
				assert_int_equal(vectors_u64(v, "first"), 0);
				assert_int_equal(vectors_u64(v, "last"), size - 1);
			}
			continue;
		}
		if (!json_is_string(hdr))
			fail_msg("vector %zu: header is neither a string nor null", i);
		assert_true(status == 206 || status == 416);
		rc = range_parse(json_string_value(hdr), size, &first, &last);
		if (status == 206) {
			uint64_t wf = vectors_u64(v, "first"), wl = vectors_u64(v, "last");
			ok = rc == 0 && first == wf && last == wl;
			if (!ok)
				print_error("range.json[%zu]: size %llu \"%s\": got %s %llu-%llu,"
				    " want 206 %llu-%llu\n", i, (unsigned long long)size,
				    json_string_value(hdr), rc == 0 ? "206" : "416",
				    (unsigned long long)first, (unsigned long long)last,
				    (unsigned long long)wf, (unsigned long long)wl);
			served++;
		} else {
			ok = rc == -1;
			if (!ok)
				print_error("range.json[%zu]: size %llu \"%s\": got 206 %llu-%llu,"
				    " want 416\n", i, (unsigned long long)size,
				    json_string_value(hdr), (unsigned long long)first,
				    (unsigned long long)last);
			refused++;
		}
		if (rc == 0) {
			assert_true(first <= last);
			assert_true(last < size);
		}
		failed += !ok;
		checked++;
	}
	json_decref(doc);
	/* Every mismatch is printed above before the test fails. */
	if (failed > 0)
		fail_msg("%zu of %zu range vectors fail", failed, checked);
	assert_true(served > 0 && refused > 0);
}

/* Sizes up to UINT64_MAX, which JSON vectors cannot carry through jansson. */
static void
test_range_extremes(void **state)
{
	uint64_t first = 0, last = 0;

	(void)state;
	assert_int_equal(range_parse("bytes=0-", UINT64_MAX, &first, &last), 0);
	assert_int_equal(first, 0);
	assert_int_equal(last, UINT64_MAX - 1);
	assert_int_equal(range_parse("bytes=-1", UINT64_MAX, &first, &last), 0);
	assert_int_equal(first, UINT64_MAX - 1);
	assert_int_equal(last, UINT64_MAX - 1);
	assert_int_equal(range_parse("bytes=18446744073709551614-", UINT64_MAX, &first,
	    &last), 0);
	assert_int_equal(first, UINT64_MAX - 1);
	assert_int_equal(last, UINT64_MAX - 1);
	assert_int_equal(range_parse("bytes=18446744073709551615-", UINT64_MAX, &first,
	    &last), -1);
	assert_int_equal(range_parse("bytes=-18446744073709551615", UINT64_MAX, &first,
	    &last), 0);
	assert_int_equal(first, 0);
	assert_int_equal(last, UINT64_MAX - 1);
	assert_int_equal(range_parse("bytes=00000000000000000000000000001-2", 10, &first,
	    &last), 0);
	assert_int_equal(first, 1);
	assert_int_equal(last, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_length_is_respected),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_bad_names_and_ids),
		cmocka_unit_test(test_percent_encoding),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_restic),
		cmocka_unit_test(test_posture),
		cmocka_unit_test(test_names_vectors),
		cmocka_unit_test(test_range_vectors),
		cmocka_unit_test(test_range_extremes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
