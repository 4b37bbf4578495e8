/*
 * admin_handle() against a real LMDB metadata store in a temporary
 * directory: every op, and the error sentences for bad input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "admin.h"
#include "auth.h"
#include "meta.h"

#define MAP_SIZE (64u << 20)

struct fixture {
	char dir[64];
	struct meta *meta;
	uint8_t key[AUTH_SERVER_KEY_LEN];
	struct admin_ctx ctx;
};

static void
status_fields(json_t *obj, void *arg)
{
	json_object_set_new(obj, "version", json_string(arg));
	json_object_set_new(obj, "tenants", json_integer(-1)); /* must not win */
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/test_admin.XXXXXX");
	if (mkdtemp(f->dir) == NULL || meta_open(f->dir, MAP_SIZE, &f->meta) != META_OK) {
		free(f);
		return -1;
	}
	randombytes_buf(f->key, sizeof(f->key));
	f->ctx.meta = f->meta;
	f->ctx.server_key = f->key;
	f->ctx.status = status_fields;
	f->ctx.status_arg = "vaultd/test";
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	meta_close(f->meta);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

/* Runs the request given as JSON text; returns the response. */
static json_t *
call(struct fixture *f, const char *text)
{
	json_error_t err;
	json_t *req = json_loads(text, JSON_ALLOW_NUL, &err), *resp;

	assert_non_null(req);
	resp = admin_handle(&f->ctx, req);
	json_decref(req);
	assert_non_null(resp);
	assert_true(json_is_boolean(json_object_get(resp, "ok")));
	return resp;
}

/* Runs a request that must succeed; returns the response. */
static json_t *
call_ok(struct fixture *f, const char *text)
{
	json_t *r = call(f, text);

	if (!json_is_true(json_object_get(r, "ok")))
		fail_msg("%s -> %s", text, json_string_value(json_object_get(r, "error")));
	return r;
}

/* Runs a request that must fail with an error containing `needle`. */
static void
call_err(struct fixture *f, const char *text, const char *needle)
{
	json_t *r = call(f, text);
	const char *e = json_string_value(json_object_get(r, "error"));

	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_non_null(e);
	if (strstr(e, needle) == NULL)
		fail_msg("%s -> \"%s\", wanted \"%s\" in it", text, e, needle);
	json_decref(r);
}

static void
add_tenant(struct fixture *f, const char *name)
{
	char req[128];

	snprintf(req, sizeof(req), "{\"op\":\"tenant.add\",\"name\":\"%s\"}", name);
	json_decref(call_ok(f, req));
}

static void
test_status(void **state)
{
	struct fixture *f = *state;
	json_t *r;

	add_tenant(f, "acme");
	r = call_ok(f, "{\"op\":\"status\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "tenants")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "vaults")), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "tokens")), 0);
	assert_string_equal(json_string_value(json_object_get(r, "version")), "vaultd/test");
	json_decref(r);

	f->ctx.status = NULL;
	r = call_ok(f, "{\"op\":\"status\"}");
	assert_null(json_object_get(r, "version"));
	json_decref(r);
}

static void
test_tenant_add_list(void **state)
{
	struct fixture *f = *state;
	json_t *r, *list, *t;

	r = call_ok(f, "{\"op\":\"tenant.add\",\"name\":\"zeta\"}");
	assert_string_equal(json_string_value(json_object_get(r, "name")), "zeta");
	assert_true(json_integer_value(json_object_get(r, "created")) > 0);
	json_decref(r);
	add_tenant(f, "acme");
	call_err(f, "{\"op\":\"tenant.add\",\"name\":\"acme\"}", "already exists");

	r = call_ok(f, "{\"op\":\"tenant.list\"}");
	list = json_object_get(r, "tenants");
	assert_int_equal(json_array_size(list), 2);
	t = json_array_get(list, 0); /* name order */
	assert_string_equal(json_string_value(json_object_get(t, "name")), "acme");
	assert_int_equal(json_integer_value(json_object_get(t, "vaults")), 0);
	assert_int_equal(json_integer_value(json_object_get(t, "tokens")), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "name")),
	    "zeta");
	json_decref(r);
}

/* vaultd.conf declares "decl" (struct admin_ctx.tenant_declared). */
static int
declared_decl(void *arg, const char *name)
{
	assert_string_equal(arg, "conf");
	return strcmp(name, "decl") == 0;
}

/* A tenant vaultd.conf declares: adding it says why it exists, removing
 * it is refused (the next reload would create it again); others as before. */
static void
test_declared_tenant(void **state)
{
	struct fixture *f = *state;

	f->ctx.tenant_declared = declared_decl;
	f->ctx.repl_arg = "conf";
	add_tenant(f, "decl"); /* what vaultd does at start-up */
	add_tenant(f, "other");
	call_err(f, "{\"op\":\"tenant.add\",\"name\":\"decl\"}",
	    "already exists: vaultd.conf declares it");
	call_err(f, "{\"op\":\"tenant.remove\",\"name\":\"decl\"}",
	    "is declared in vaultd.conf; remove its block");
	call_err(f, "{\"op\":\"tenant.add\",\"name\":\"other\"}", "already exists");
	json_decref(call_ok(f, "{\"op\":\"tenant.remove\",\"name\":\"other\"}"));
	call_err(f, "{\"op\":\"tenant.remove\",\"name\":\"nope\"}", "there is no tenant");
}

static void
test_validation(void **state)
{
	struct fixture *f = *state;

	call_err(f, "[1,2]", "must be a JSON object");
	call_err(f, "{}", "no \"op\"");
	call_err(f, "{\"op\":7}", "\"op\" must be a string");
	call_err(f, "{\"op\":\"tenant.frob\"}", "unknown op \"tenant.frob\"");
	call_err(f, "{\"op\":\"tenant.add\"}", "needs the field \"name\"");
	call_err(f, "{\"op\":\"tenant.add\",\"name\":null}", "needs the field \"name\"");
	call_err(f, "{\"op\":\"tenant.add\",\"name\":42}", "\"name\" must be a string");
	call_err(f, "{\"op\":\"tenant.add\",\"name\":\"Bad Name\"}",
	    "\"Bad Name\" is not a valid tenant name");
	call_err(f, "{\"op\":\"tenant.add\",\"name\":\"-x\"}", "not a valid");
	call_err(f, "{\"op\":\"tenant.add\",\"name\":\"a\\u0000b\"}", "NUL");
	call_err(f, "{\"op\":\"tenant.add\",\"name\":\"acme\",\"nmae\":\"x\"}",
	    "tenant.add takes no field \"nmae\"");
	call_err(f, "{\"op\":\"tenant.remove\",\"name\":\"ghost\"}", "no tenant named \"ghost\"");
	call_err(f, "{\"op\":\"token.issue\",\"tenant\":\"ghost\"}", "no tenant named \"ghost\"");
	call_err(f, "{\"op\":\"token.list\",\"tenant\":\"ghost\"}", "no tenant named \"ghost\"");
	call_err(f, "{\"op\":\"vault.list\",\"tenant\":\"ghost\"}", "no tenant named \"ghost\"");
	call_err(f, "{\"op\":\"token.issue\"}", "needs the field \"tenant\"");

	add_tenant(f, "acme");
	call_err(f, "{\"op\":\"token.issue\",\"tenant\":\"acme\",\"scopes\":\"read,fly\"}",
	    "\"read,fly\" is not a list of scopes");
	call_err(f, "{\"op\":\"token.issue\",\"tenant\":\"acme\",\"scopes\":\"\"}",
	    "is not a list of scopes");
	call_err(f, "{\"op\":\"token.issue\",\"tenant\":\"acme\",\"scopes\":[\"read\"]}",
	    "\"scopes\" must be a string");
	call_err(f, "{\"op\":\"token.issue\",\"tenant\":\"acme\",\"vault\":\"UP\"}",
	    "not a valid vault name");
	call_err(f, "{\"op\":\"token.revoke\"}", "needs the field \"id\"");
	call_err(f, "{\"op\":\"token.revoke\",\"id\":\"xyz\"}", "not a token ID");
	call_err(f, "{\"op\":\"token.revoke\",\"id\":\"00112233445566AA\"}", "not a token ID");
	call_err(f, "{\"op\":\"token.revoke\",\"id\":\"0011223344556677\"}",
	    "no token with ID 0011223344556677");
}

/* Checks that text is a token whose stored record has the given fields. */
static void
check_token(struct fixture *f, const json_t *r, uint32_t scopes, const char *vault)
{
	uint8_t id[META_TOKEN_ID_LEN], secret[AUTH_SECRET_LEN];
	char idhex[2 * META_TOKEN_ID_LEN + 1];
	const char *text = json_string_value(json_object_get(r, "token"));
	struct meta_token tok;
	struct meta_tenant t;

	assert_non_null(text);
	assert_int_equal(auth_token_parse(text, strlen(text), id, secret), 0);
	sodium_bin2hex(idhex, sizeof(idhex), id, sizeof(id));
	assert_string_equal(json_string_value(json_object_get(r, "id")), idhex);
	assert_int_equal(meta_token_get(f->meta, id, &tok), META_OK);
	assert_true(auth_token_matches(f->key, &tok, secret));
	secret[0] ^= 1;
	assert_false(auth_token_matches(f->key, &tok, secret));
	assert_int_equal(tok.scopes, scopes);
	assert_string_equal(tok.vault, vault);
	assert_int_equal(meta_tenant_get(f->meta, "acme", &t), META_OK);
	assert_int_equal(tok.tenant_id, t.id);
}

static void
test_token_issue(void **state)
{
	struct fixture *f = *state;
	json_t *r;

	add_tenant(f, "acme");
	r = call_ok(f, "{\"op\":\"token.issue\",\"tenant\":\"acme\"}");
	check_token(f, r, META_SCOPE_ALL, "");
	assert_string_equal(json_string_value(json_object_get(r, "tenant")), "acme");
	assert_true(json_is_null(json_object_get(r, "vault")));
	assert_string_equal(json_string_value(json_object_get(r, "scopes")),
	    "read,append,delete,admin");
	json_decref(r);

	r = call_ok(f, "{\"op\":\"token.issue\",\"tenant\":\"acme\",\"vault\":\"laptop\","
	    "\"scopes\":\"append,read\"}");
	check_token(f, r, META_SCOPE_READ | META_SCOPE_APPEND, "laptop");
	assert_string_equal(json_string_value(json_object_get(r, "vault")), "laptop");
	assert_string_equal(json_string_value(json_object_get(r, "scopes")), "read,append");
	json_decref(r);
}

static void
test_token_list_revoke(void **state)
{
	struct fixture *f = *state;
	uint8_t id[META_TOKEN_ID_LEN];
	struct meta_token tok;
	json_t *r, *list, *t;
	char req[128], idhex[2 * META_TOKEN_ID_LEN + 1];
	size_t n;

	add_tenant(f, "acme");
	add_tenant(f, "beta");
	json_decref(call_ok(f, "{\"op\":\"token.issue\",\"tenant\":\"beta\"}"));
	r = call_ok(f, "{\"op\":\"token.issue\",\"tenant\":\"acme\",\"vault\":\"v1\","
	    "\"scopes\":\"read\"}");
	snprintf(idhex, sizeof(idhex), "%s", json_string_value(json_object_get(r, "id")));
	json_decref(r);

	r = call_ok(f, "{\"op\":\"token.list\"}");
	assert_int_equal(json_array_size(json_object_get(r, "tokens")), 2);
	json_decref(r);

	r = call_ok(f, "{\"op\":\"token.list\",\"tenant\":\"acme\"}");
	list = json_object_get(r, "tokens");
	assert_int_equal(json_array_size(list), 1);
	t = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(t, "id")), idhex);
	assert_string_equal(json_string_value(json_object_get(t, "tenant")), "acme");
	assert_string_equal(json_string_value(json_object_get(t, "vault")), "v1");
	assert_string_equal(json_string_value(json_object_get(t, "scopes")), "read");
	assert_true(json_integer_value(json_object_get(t, "created")) > 0);
	/* Never the secret or its hash: exactly these five fields. */
	assert_int_equal(json_object_size(t), 5);
	json_decref(r);

	r = call_ok(f, "{\"op\":\"tenant.list\"}");
	t = json_array_get(json_object_get(r, "tenants"), 0);
	assert_int_equal(json_integer_value(json_object_get(t, "tokens")), 1);
	json_decref(r);

	snprintf(req, sizeof(req), "{\"op\":\"token.revoke\",\"id\":\"%s\"}", idhex);
	r = call_ok(f, req);
	assert_string_equal(json_string_value(json_object_get(r, "id")), idhex);
	json_decref(r);
	assert_int_equal(sodium_hex2bin(id, sizeof(id), idhex, strlen(idhex), NULL, &n, NULL), 0);
	assert_int_equal(meta_token_get(f->meta, id, &tok), META_NOTFOUND);
	call_err(f, req, "no token with ID");
	r = call_ok(f, "{\"op\":\"token.list\",\"tenant\":\"acme\"}");
	assert_int_equal(json_array_size(json_object_get(r, "tokens")), 0);
	json_decref(r);
}

static void
test_vaults_and_remove(void **state)
{
	struct fixture *f = *state;
	struct meta_tenant t;
	struct meta_vault v;
	json_t *r, *list, *o;

	add_tenant(f, "acme");
	add_tenant(f, "beta");
	json_decref(call_ok(f, "{\"op\":\"token.issue\",\"tenant\":\"beta\"}"));
	assert_int_equal(meta_tenant_get(f->meta, "acme", &t), META_OK);
	assert_int_equal(meta_vault_create(f->meta, t.id, "laptop", 1700000000, &v), META_OK);

	r = call_ok(f, "{\"op\":\"vault.list\"}");
	list = json_object_get(r, "vaults");
	assert_int_equal(json_array_size(list), 1);
	o = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "laptop");
	assert_string_equal(json_string_value(json_object_get(o, "tenant")), "acme");
	assert_int_equal(json_integer_value(json_object_get(o, "objects")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "bytes")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "created")), 1700000000);
	assert_true(json_is_false(json_object_get(o, "config")));
	assert_non_null(json_object_get(json_object_get(o, "kinds"), "pack"));
	json_decref(r);

	r = call_ok(f, "{\"op\":\"vault.list\",\"tenant\":\"beta\"}");
	assert_int_equal(json_array_size(json_object_get(r, "vaults")), 0);
	json_decref(r);

	r = call_ok(f, "{\"op\":\"status\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "vaults")), 1);
	json_decref(r);

	call_err(f, "{\"op\":\"tenant.remove\",\"name\":\"acme\"}",
	    "tenant \"acme\" still has 1 vault;");
	assert_int_equal(meta_tenant_get(f->meta, "acme", &t), META_OK);

	r = call_ok(f, "{\"op\":\"tenant.remove\",\"name\":\"beta\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "tokens_revoked")), 1);
	json_decref(r);
	assert_int_equal(meta_tenant_get(f->meta, "beta", &t), META_NOTFOUND);
	r = call_ok(f, "{\"op\":\"token.list\"}");
	assert_int_equal(json_array_size(json_object_get(r, "tokens")), 0);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_add_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_declared_tenant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_issue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_list_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vaults_and_remove, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
