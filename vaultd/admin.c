#include "admin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "vsp.h"

/* Room for a quoted piece of client input in an error sentence. */
#define QUOTE_MAX 64
/* How many fresh token IDs to draw before giving up on a collision streak. */
#define TOKEN_ID_TRIES 8
#define TOKEN_ID_HEX_LEN (2 * META_TOKEN_ID_LEN)
#define SCOPES_STRLEN 64
#define ID_KEY_LEN 24 /* a uint64_t in decimal, NUL included */
#define LISTEN_BACKLOG 16

/* ------------------------------------------------------------------ */
/* Request handling (threadpool side; no libuv here).                  */
/* ------------------------------------------------------------------ */

static json_t *resp_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns a new {"ok": false, "error": <formatted sentence>}. */
static json_t *
resp_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* Copies client text into out for an error sentence: printable ASCII only
 * (so the sentence stays valid UTF-8), cut at QUOTE_MAX with "...". */
static const char *
quote(const char *s, char out[QUOTE_MAX + 4])
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < QUOTE_MAX; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

static json_int_t
jint(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v;
}

static void
id_key(uint64_t id, char key[ID_KEY_LEN])
{
	snprintf(key, ID_KEY_LEN, "%" PRIu64, id);
}

static json_t *
meta_failure(int rc)
{
	if (rc == META_FULL)
		return resp_error("the metadata store is full; raise its map size and restart vaultd");
	return resp_error("the metadata store failed (rc %d); see the vaultd log", rc);
}

/*
 * Reads the optional string field `field` of req into *out (NULL when absent
 * or null). A required field must be present. Returns 0, or -1 with *err set
 * to an error response.
 */
static int
field_string(const json_t *req, const char *op, const char *field, int required,
    const char **out, json_t **err)
{
	json_t *v = json_object_get(req, field);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		*err = resp_error("%s needs the field \"%s\"", op, field);
		return -1;
	}
	if (!json_is_string(v)) {
		*err = resp_error("the field \"%s\" must be a string", field);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		*err = resp_error("the field \"%s\" must not contain NUL characters", field);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* As field_string, and the value must be a valid name of a `what` (tenant
 * or vault). */
static int
field_name(const json_t *req, const char *op, const char *field, const char *what,
    int required, const char **out, json_t **err)
{
	char q[QUOTE_MAX + 4];

	if (field_string(req, op, field, required, out, err) != 0)
		return -1;
	if (*out != NULL && !vsp_name_valid(*out, strlen(*out))) {
		*err = resp_error("\"%s\" is not a valid %s name: use 1 to %d characters "
		    "from a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
		    quote(*out, q), what, VSP_NAME_MAX);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Looks up tenant `name`. Returns 0, or -1 with *err set. */
static int
tenant_lookup(struct meta *m, const char *name, struct meta_tenant *t, json_t **err)
{
	int rc = meta_tenant_get(m, name, t);

	if (rc == META_OK)
		return 0;
	*err = rc == META_NOTFOUND ? resp_error("there is no tenant named \"%s\"", name) :
	    meta_failure(rc);
	return -1;
}

/* The tenants as JSON objects {name, created}: `list` in name order and
 * `by_id` mapping the decimal tenant ID to the same objects. */
struct tenants {
	json_t *list;
	json_t *by_id;
	int oom;
};

static int
tenants_cb(const struct meta_tenant *t, void *arg)
{
	struct tenants *ts = arg;
	char key[ID_KEY_LEN];
	json_t *o;

	o = json_pack("{s:s, s:I}", "name", t->name, "created", jint(t->created));
	id_key(t->id, key);
	if (o == NULL || json_array_append(ts->list, o) != 0 ||
	    json_object_set(ts->by_id, key, o) != 0) {
		json_decref(o);
		ts->oom = 1;
		return 1;
	}
	json_decref(o);
	return 0;
}

static void
tenants_free(struct tenants *ts)
{
	json_decref(ts->list);
	json_decref(ts->by_id);
}

/* Loads every tenant. Returns 0, or -1 with *err set (and nothing to free). */
static int
tenants_load(struct meta *m, struct tenants *ts, json_t **err)
{
	int rc;

	ts->list = json_array();
	ts->by_id = json_object();
	ts->oom = 0;
	if (ts->list == NULL || ts->by_id == NULL)
		goto err1;
	rc = meta_tenant_list(m, tenants_cb, ts);
	if (ts->oom)
		goto err1;
	if (rc != META_OK) {
		*err = meta_failure(rc);
		goto err0;
	}
	return 0;

err1:
	*err = NULL; /* out of memory */
err0:
	tenants_free(ts);
	return -1;
}

/* The tenant object of tenant_id, or NULL if it vanished meanwhile. */
static json_t *
tenants_get(const struct tenants *ts, uint64_t tenant_id)
{
	char key[ID_KEY_LEN];

	id_key(tenant_id, key);
	return json_object_get(ts->by_id, key);
}

static const char *
tenants_name(const struct tenants *ts, uint64_t tenant_id)
{
	const char *s = json_string_value(json_object_get(tenants_get(ts, tenant_id), "name"));

	return s != NULL ? s : "?";
}

/* Adds 1 to an integer field of the tenant's object, if both exist. */
static void
tenants_bump(const struct tenants *ts, uint64_t tenant_id, const char *field)
{
	json_t *n = json_object_get(tenants_get(ts, tenant_id), field);

	json_integer_set(n, json_integer_value(n) + 1);
}

/* Totals for status and for counting a tenant's vaults or tokens. */
struct counts {
	uint64_t n, objects, bytes;
};

static int
count_tenant_cb(const struct meta_tenant *t, void *arg)
{
	(void)t;
	((struct counts *)arg)->n++;
	return 0;
}

static int
count_vault_cb(const struct meta_vault *v, void *arg)
{
	struct counts *c = arg;

	c->n++;
	c->objects += v->objects;
	c->bytes += v->bytes;
	return 0;
}

static int
count_token_cb(const struct meta_token *t, void *arg)
{
	(void)t;
	((struct counts *)arg)->n++;
	return 0;
}

static json_t *
op_status(const struct admin_ctx *ctx, const json_t *req)
{
	struct counts tenants = {0}, vaults = {0}, tokens = {0};
	int rc;

	(void)req;
	if ((rc = meta_tenant_list(ctx->meta, count_tenant_cb, &tenants)) != META_OK ||
	    (rc = meta_vault_list(ctx->meta, 0, count_vault_cb, &vaults)) != META_OK ||
	    (rc = meta_token_list(ctx->meta, 0, count_token_cb, &tokens)) != META_OK)
		return meta_failure(rc);
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I}", "ok", 1,
	    "tenants", jint(tenants.n), "vaults", jint(vaults.n), "tokens", jint(tokens.n),
	    "objects", jint(vaults.objects), "bytes", jint(vaults.bytes));
}

static json_t *
op_tenant_add(const struct admin_ctx *ctx, const json_t *req)
{
	struct meta_tenant t;
	const char *name;
	json_t *err;
	int rc;

	if (field_name(req, "tenant.add", "name", "tenant", 1, &name, &err) != 0)
		return err;
	rc = meta_tenant_add(ctx->meta, name, (uint64_t)time(NULL), &t);
	if (rc == META_EXISTS)
		return resp_error("a tenant named \"%s\" already exists", name);
	if (rc != META_OK)
		return meta_failure(rc);
	return json_pack("{s:b, s:s, s:I}", "ok", 1, "name", t.name, "created", jint(t.created));
}

static int
list_vault_tenant_cb(const struct meta_vault *v, void *arg)
{
	tenants_bump(arg, v->tenant_id, "vaults");
	return 0;
}

static int
list_token_tenant_cb(const struct meta_token *t, void *arg)
{
	tenants_bump(arg, t->tenant_id, "tokens");
	return 0;
}

static json_t *
op_tenant_list(const struct admin_ctx *ctx, const json_t *req)
{
	struct tenants ts;
	json_t *err, *o, *r = NULL;
	size_t i;
	int rc;

	(void)req;
	if (tenants_load(ctx->meta, &ts, &err) != 0)
		return err;
	json_array_foreach(ts.list, i, o) {
		if (json_object_set_new(o, "vaults", json_integer(0)) != 0 ||
		    json_object_set_new(o, "tokens", json_integer(0)) != 0)
			goto done;
	}
	/* Counting in passes of their own: a meta callback must not call meta. */
	if ((rc = meta_vault_list(ctx->meta, 0, list_vault_tenant_cb, &ts)) != META_OK ||
	    (rc = meta_token_list(ctx->meta, 0, list_token_tenant_cb, &ts)) != META_OK) {
		r = meta_failure(rc);
		goto done;
	}
	r = json_pack("{s:b, s:O}", "ok", 1, "tenants", ts.list);
done:
	tenants_free(&ts);
	return r;
}

static json_t *
op_tenant_remove(const struct admin_ctx *ctx, const json_t *req)
{
	struct counts vaults = {0}, tokens = {0};
	struct meta_tenant t;
	const char *name;
	json_t *err;
	int rc;

	if (field_name(req, "tenant.remove", "name", "tenant", 1, &name, &err) != 0 ||
	    tenant_lookup(ctx->meta, name, &t, &err) != 0)
		return err;
	/* Counted beforehand only to tell the operator what went. */
	if ((rc = meta_token_list(ctx->meta, t.id, count_token_cb, &tokens)) != META_OK)
		return meta_failure(rc);
	rc = meta_tenant_remove(ctx->meta, name);
	if (rc == META_NOTEMPTY) {
		if ((rc = meta_vault_list(ctx->meta, t.id, count_vault_cb, &vaults)) != META_OK)
			return meta_failure(rc);
		return resp_error("tenant \"%s\" still has %" PRIu64 " vault%s; "
		    "a tenant can be removed only when it has none", name, vaults.n,
		    vaults.n == 1 ? "" : "s");
	}
	if (rc == META_NOTFOUND)
		return resp_error("there is no tenant named \"%s\"", name);
	if (rc != META_OK)
		return meta_failure(rc);
	return json_pack("{s:b, s:s, s:I}", "ok", 1, "name", name,
	    "tokens_revoked", jint(tokens.n));
}

/* Stores a new token for t; *text gets its secret text. */
static json_t *
token_store(const struct admin_ctx *ctx, struct meta_token *tok, const char *tenant,
    char text[AUTH_TOKEN_STRLEN + 1])
{
	int rc = META_EXISTS;

	for (int i = 0; i < TOKEN_ID_TRIES && rc == META_EXISTS; i++) {
		auth_token_new(ctx->server_key, tok, text);
		rc = meta_token_add(ctx->meta, tok);
	}
	if (rc == META_OK)
		return NULL;
	sodium_memzero(text, AUTH_TOKEN_STRLEN + 1);
	if (rc == META_NOTFOUND)
		return resp_error("there is no tenant named \"%s\"", tenant);
	if (rc == META_EXISTS)
		return resp_error("could not draw an unused token ID; try again");
	return meta_failure(rc);
}

static json_t *
op_token_issue(const struct admin_ctx *ctx, const json_t *req)
{
	char text[AUTH_TOKEN_STRLEN + 1], idhex[TOKEN_ID_HEX_LEN + 1], scopes[SCOPES_STRLEN];
	char q[QUOTE_MAX + 4];
	struct meta_token tok;
	struct meta_tenant t;
	const char *tenant, *vault, *scope_text;
	json_t *err, *r;

	if (field_name(req, "token.issue", "tenant", "tenant", 1, &tenant, &err) != 0 ||
	    field_name(req, "token.issue", "vault", "vault", 0, &vault, &err) != 0 ||
	    field_string(req, "token.issue", "scopes", 0, &scope_text, &err) != 0)
		return err;
	memset(&tok, 0, sizeof(tok));
	if (scope_text == NULL)
		scope_text = "all";
	if (auth_scopes_parse(scope_text, &tok.scopes) != 0)
		return resp_error("\"%s\" is not a list of scopes: use \"all\" or a "
		    "comma-separated list of read, append, delete and admin", quote(scope_text, q));
	if (ctx->server_key == NULL)
		return resp_error("vaultd has no server key loaded, so it cannot issue tokens");
	if (tenant_lookup(ctx->meta, tenant, &t, &err) != 0)
		return err;
	tok.tenant_id = t.id;
	if (vault != NULL)
		memcpy(tok.vault, vault, strlen(vault) + 1); /* fits: vsp_name_valid */
	tok.created = (uint64_t)time(NULL);
	if ((err = token_store(ctx, &tok, tenant, text)) != NULL)
		return err;
	sodium_bin2hex(idhex, sizeof(idhex), tok.id, sizeof(tok.id));
	if (auth_scopes_format(tok.scopes, scopes, sizeof(scopes)) != 0)
		scopes[0] = '\0';
	r = json_pack("{s:b, s:s, s:s, s:s, s:s?, s:s, s:I}", "ok", 1, "token", text,
	    "id", idhex, "tenant", tenant, "vault", vault, "scopes", scopes,
	    "created", jint(tok.created));
	sodium_memzero(text, sizeof(text));
	sodium_memzero(&tok, sizeof(tok));
	return r;
}

/* Rows of token.list or vault.list, with the tenants to name them by. */
struct rows {
	const struct tenants *ts;
	json_t *list;
	int oom;
};

/* Token rows {id, tenant, vault, scopes, created}; never secrets or hashes. */
static int
token_row_cb(const struct meta_token *t, void *arg)
{
	struct rows *rows = arg;
	char idhex[TOKEN_ID_HEX_LEN + 1], scopes[SCOPES_STRLEN];
	json_t *o;

	sodium_bin2hex(idhex, sizeof(idhex), t->id, sizeof(t->id));
	if (auth_scopes_format(t->scopes, scopes, sizeof(scopes)) != 0)
		scopes[0] = '\0';
	o = json_pack("{s:s, s:s, s:s?, s:s, s:I}", "id", idhex,
	    "tenant", tenants_name(rows->ts, t->tenant_id),
	    "vault", t->vault[0] != '\0' ? t->vault : NULL, "scopes", scopes,
	    "created", jint(t->created));
	if (json_array_append_new(rows->list, o) != 0) {
		rows->oom = 1;
		return 1;
	}
	return 0;
}

/* Resolves the optional "tenant" filter of a list op to an ID (0 = all). */
static int
tenant_filter(const struct admin_ctx *ctx, const json_t *req, const char *op,
    uint64_t *tenant_id, json_t **err)
{
	struct meta_tenant t;
	const char *tenant;

	*tenant_id = 0;
	if (field_name(req, op, "tenant", "tenant", 0, &tenant, err) != 0)
		return -1;
	if (tenant == NULL)
		return 0;
	if (tenant_lookup(ctx->meta, tenant, &t, err) != 0)
		return -1;
	*tenant_id = t.id;
	return 0;
}

static json_t *
op_token_list(const struct admin_ctx *ctx, const json_t *req)
{
	struct rows rows = {0};
	struct tenants ts;
	uint64_t tenant_id;
	json_t *err, *r = NULL;
	int rc;

	if (tenant_filter(ctx, req, "token.list", &tenant_id, &err) != 0 ||
	    tenants_load(ctx->meta, &ts, &err) != 0)
		return err;
	rows.ts = &ts;
	if ((rows.list = json_array()) == NULL)
		goto done;
	rc = meta_token_list(ctx->meta, tenant_id, token_row_cb, &rows);
	if (rows.oom)
		goto done;
	if (rc != META_OK) {
		r = meta_failure(rc);
		goto done;
	}
	r = json_pack("{s:b, s:O}", "ok", 1, "tokens", rows.list);
done:
	json_decref(rows.list);
	tenants_free(&ts);
	return r;
}

/* A token ID is exactly TOKEN_ID_HEX_LEN lowercase hex digits. */
static int
token_id_parse(const char *s, uint8_t id[META_TOKEN_ID_LEN])
{
	size_t n;

	if (strlen(s) != TOKEN_ID_HEX_LEN)
		return -1;
	for (size_t i = 0; i < TOKEN_ID_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	if (sodium_hex2bin(id, META_TOKEN_ID_LEN, s, TOKEN_ID_HEX_LEN, NULL, &n, NULL) != 0 ||
	    n != META_TOKEN_ID_LEN)
		return -1;
	return 0;
}

static json_t *
op_token_revoke(const struct admin_ctx *ctx, const json_t *req)
{
	uint8_t id[META_TOKEN_ID_LEN];
	const char *idhex;
	json_t *err;
	int rc;

	if (field_string(req, "token.revoke", "id", 1, &idhex, &err) != 0)
		return err;
	/* The input is not quoted back: it may be a whole token, secret included. */
	if (token_id_parse(idhex, id) != 0)
		return resp_error("that is not a token ID: give the %d lowercase hex digits "
		    "that token.list shows", TOKEN_ID_HEX_LEN);
	rc = meta_token_revoke(ctx->meta, id);
	if (rc == META_NOTFOUND)
		return resp_error("there is no token with ID %s", idhex);
	if (rc != META_OK)
		return meta_failure(rc);
	return json_pack("{s:b, s:s}", "ok", 1, "id", idhex);
}

/* Vault rows {name, tenant, objects, bytes, created, config, kinds}. */
static int
vault_row_cb(const struct meta_vault *v, void *arg)
{
	struct rows *rows = arg;
	json_t *o, *kinds;

	kinds = json_object();
	for (int k = 0; kinds != NULL && k < VSP_KIND_COUNT; k++) {
		if (json_object_set_new(kinds, vsp_kind_name((enum vsp_kind)k),
		        json_pack("{s:I, s:I}", "objects", jint(v->kind_objects[k]),
		            "bytes", jint(v->kind_bytes[k]))) != 0) {
			json_decref(kinds);
			kinds = NULL;
		}
	}
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:o}", "name", v->name,
	    "tenant", tenants_name(rows->ts, v->tenant_id), "objects", jint(v->objects),
	    "bytes", jint(v->bytes), "created", jint(v->created), "config", v->has_config,
	    "kinds", kinds);
	if (json_array_append_new(rows->list, o) != 0) {
		rows->oom = 1;
		return 1;
	}
	return 0;
}

static json_t *
op_vault_list(const struct admin_ctx *ctx, const json_t *req)
{
	struct rows rows = {0};
	struct tenants ts;
	uint64_t tenant_id;
	json_t *err, *r = NULL;
	int rc;

	if (tenant_filter(ctx, req, "vault.list", &tenant_id, &err) != 0 ||
	    tenants_load(ctx->meta, &ts, &err) != 0)
		return err;
	rows.ts = &ts;
	if ((rows.list = json_array()) == NULL)
		goto done;
	rc = meta_vault_list(ctx->meta, tenant_id, vault_row_cb, &rows);
	if (rows.oom)
		goto done;
	if (rc != META_OK) {
		r = meta_failure(rc);
		goto done;
	}
	r = json_pack("{s:b, s:O}", "ok", 1, "vaults", rows.list);
done:
	json_decref(rows.list);
	tenants_free(&ts);
	return r;
}

#define FIELDS_MAX 3

static const struct admin_op {
	const char *name;
	const char *fields[FIELDS_MAX + 1]; /* allowed besides "op"; NULL-terminated */
	json_t *(*fn)(const struct admin_ctx *ctx, const json_t *req);
} ops[] = {
	{"status", {NULL}, op_status},
	{"tenant.add", {"name", NULL}, op_tenant_add},
	{"tenant.list", {NULL}, op_tenant_list},
	{"tenant.remove", {"name", NULL}, op_tenant_remove},
	{"token.issue", {"tenant", "vault", "scopes", NULL}, op_token_issue},
	{"token.list", {"tenant", NULL}, op_token_list},
	{"token.revoke", {"id", NULL}, op_token_revoke},
	{"vault.list", {"tenant", NULL}, op_vault_list},
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* Every field of req must be "op" or one the op knows, so typos are caught. */
static json_t *
check_fields(const struct admin_op *op, const json_t *req)
{
	char q[QUOTE_MAX + 4];
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)req, key, v) {
		int known = strcmp(key, "op") == 0;
		for (size_t i = 0; !known && op->fields[i] != NULL; i++)
			known = strcmp(key, op->fields[i]) == 0;
		if (!known)
			return resp_error("%s takes no field \"%s\"", op->name, quote(key, q));
	}
	return NULL;
}

/* Dispatches req. For "status", with_status merges ctx->status's fields. */
static json_t *
handle(const struct admin_ctx *ctx, const json_t *req, int with_status)
{
	char q[QUOTE_MAX + 4];
	const char *name;
	json_t *op, *r;
	size_t i;

	if (!json_is_object(req))
		return resp_error("a request must be a JSON object such as {\"op\": \"status\"}");
	op = json_object_get(req, "op");
	if (op == NULL)
		return resp_error("the request has no \"op\" field");
	if (!json_is_string(op))
		return resp_error("the field \"op\" must be a string");
	name = json_string_value(op);
	for (i = 0; i < NOPS; i++)
		if (strcmp(name, ops[i].name) == 0)
			break;
	if (i == NOPS)
		return resp_error("unknown op \"%s\"; the ops are status, tenant.add, "
		    "tenant.list, tenant.remove, token.issue, token.list, token.revoke and "
		    "vault.list", quote(name, q));
	if ((r = check_fields(&ops[i], req)) != NULL)
		return r;
	r = ops[i].fn(ctx, req);
	if (with_status && r != NULL && ops[i].fn == op_status && ctx->status != NULL) {
		json_t *extra = json_object();
		if (extra != NULL) {
			ctx->status(extra, ctx->status_arg);
			json_object_update_missing(r, extra); /* our counts and "ok" win */
			json_decref(extra);
		}
	}
	return r;
}

json_t *
admin_handle(const struct admin_ctx *ctx, const json_t *req)
{
	return handle(ctx, req, 1);
}

/* ------------------------------------------------------------------ */
/* The server (loop side).                                             */
/* ------------------------------------------------------------------ */

struct admin {
	uv_loop_t *loop;
	uv_pipe_t listener;
	struct admin_ctx ctx;
	char *path;
	struct admin_conn *conns; /* doubly linked */
	size_t nconns;
	int listener_open;
	int stopping;
	void (*stop_cb)(void *arg);
	void *stop_arg;
};

struct admin_conn {
	uv_pipe_t pipe;
	struct admin *a;
	struct admin_conn *prev, *next;
	char *buf;        /* ADMIN_LINE_MAX + 1 bytes: one line and its '\n' */
	size_t len;
	uv_work_t work;
	json_t *req;      /* owned by the work while busy */
	json_t *resp;
	json_t *extra;    /* ctx->status fields, taken on the loop */
	size_t writes;    /* uv_write requests in flight */
	int reading;
	int busy;         /* a request is on the threadpool */
	int eof;
	int drain_close;  /* close once the writes in flight are done */
	int closing;      /* uv_close called */
	int closed;       /* close callback ran */
};

struct admin_write {
	uv_write_t req;
	struct admin_conn *c;
	size_t len;
	char data[]; /* the response line */
};

static void conn_process(struct admin_conn *c);

static void
admin_maybe_done(struct admin *a)
{
	void (*cb)(void *) = a->stop_cb;
	void *arg = a->stop_arg;

	if (!a->stopping || a->listener_open || a->nconns > 0)
		return;
	free(a->path);
	free(a);
	if (cb != NULL)
		cb(arg);
}

/* Frees c once its handle is closed and no work holds it. */
static void
conn_maybe_free(struct admin_conn *c)
{
	struct admin *a = c->a;

	if (!c->closed || c->busy || c->writes > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		a->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	a->nconns--;
	json_decref(c->extra);
	free(c->buf);
	free(c);
	admin_maybe_done(a);
}

static void
conn_close_cb(uv_handle_t *h)
{
	struct admin_conn *c = h->data;

	c->closed = 1;
	conn_maybe_free(c);
}

static void
conn_close(struct admin_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->pipe, conn_close_cb);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct admin_write *w = (struct admin_write *)req;
	struct admin_conn *c = w->c;

	sodium_memzero(w->data, w->len); /* it may hold a new token */
	free(w);
	c->writes--;
	if (status < 0 || (c->drain_close && c->writes == 0))
		conn_close(c);
	conn_maybe_free(c); /* after uv_close the last write callback may come last */
}

/* Wipes the secret of a token.issue response before it is freed; jansson
 * frees its strings without clearing them. */
static void
scrub_token(json_t *resp)
{
	json_t *t = json_object_get(resp, "token");

	if (json_is_string(t))
		sodium_memzero((char *)json_string_value(t), json_string_length(t));
}

/* Writes resp (or an out-of-memory error if NULL) as one line. */
static void
conn_send(struct admin_conn *c, const json_t *resp)
{
	static const char oom[] = "{\"ok\":false,\"error\":\"vaultd is out of memory\"}";
	struct admin_write *w;
	char *s = resp != NULL ? json_dumps(resp, JSON_COMPACT) : NULL;
	const char *text = s != NULL ? s : oom;
	size_t len = strlen(text);
	uv_buf_t b;

	w = c->closing ? NULL : malloc(sizeof(*w) + len + 1);
	if (w != NULL) {
		memcpy(w->data, text, len);
		w->data[len] = '\n';
		w->len = len + 1;
		w->c = c;
	}
	if (s != NULL) {
		sodium_memzero(s, len);
		free(s);
	}
	if (w == NULL) {
		conn_close(c);
		return;
	}
	b = uv_buf_init(w->data, (unsigned int)w->len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, write_cb) != 0) {
		sodium_memzero(w->data, w->len);
		free(w);
		conn_close(c);
		return;
	}
	c->writes++;
}

static void
conn_send_error(struct admin_conn *c, const char *msg)
{
	json_t *r = resp_error("%s", msg);

	conn_send(c, r);
	json_decref(r);
}

/* Sends nothing more; closes once what is queued has been written. */
static void
conn_finish(struct admin_conn *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = 0;
	}
	if (c->writes == 0)
		conn_close(c);
	else
		c->drain_close = 1;
}

static void
work_cb(uv_work_t *w)
{
	struct admin_conn *c = w->data;

	c->resp = handle(&c->a->ctx, c->req, 0);
}

static void
after_work_cb(uv_work_t *w, int status)
{
	struct admin_conn *c = w->data;

	(void)status; /* UV_ECANCELED cannot happen: we never uv_cancel */
	c->busy = 0;
	json_decref(c->req);
	c->req = NULL;
	if (c->resp != NULL && c->extra != NULL &&
	    json_is_true(json_object_get(c->resp, "ok")))
		json_object_update_missing(c->resp, c->extra);
	json_decref(c->extra);
	c->extra = NULL;
	conn_send(c, c->resp); /* nothing if the client left or we are stopping */
	scrub_token(c->resp);
	json_decref(c->resp);
	c->resp = NULL;
	if (!c->closing)
		conn_process(c);
	else
		conn_maybe_free(c);
}

/* Starts one parsed request on the threadpool. */
static void
conn_dispatch(struct admin_conn *c, json_t *req)
{
	struct admin *a = c->a;
	const char *op = json_string_value(json_object_get(req, "op"));

	/* ctx->status belongs to the loop thread, so it is called here. */
	if (op != NULL && strcmp(op, "status") == 0 && a->ctx.status != NULL &&
	    (c->extra = json_object()) != NULL)
		a->ctx.status(c->extra, a->ctx.status_arg);
	c->req = req;
	c->resp = NULL;
	c->work.data = c;
	if (uv_queue_work(a->loop, &c->work, work_cb, after_work_cb) != 0) {
		json_decref(c->req);
		c->req = NULL;
		json_decref(c->extra);
		c->extra = NULL;
		conn_send_error(c, "vaultd could not queue the request");
		return;
	}
	c->busy = 1;
}

/* Parses and dispatches the line of len bytes at c->buf. */
static void
conn_line(struct admin_conn *c, size_t len)
{
	char msg[256];
	json_error_t jerr;
	json_t *req;
	size_t i;

	if (len > 0 && c->buf[len - 1] == '\r')
		len--;
	for (i = 0; i < len && (c->buf[i] == ' ' || c->buf[i] == '\t'); i++)
		;
	if (i == len)
		return; /* blank lines are ignored */
	req = json_loadb(c->buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		snprintf(msg, sizeof(msg), "the request is not valid JSON: %s (column %d)",
		    jerr.text, jerr.column);
		for (i = 0; msg[i] != '\0'; i++) /* jansson may quote the bad bytes */
			if ((unsigned char)msg[i] >= 0x80)
				msg[i] = '?';
		conn_send_error(c, msg);
		return;
	}
	conn_dispatch(c, req);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct admin_conn *c = h->data;

	(void)suggested;
	/* conn_process stops reading before the buffer can fill, so this is > 0. */
	*buf = uv_buf_init(c->buf + c->len, (unsigned int)(ADMIN_LINE_MAX + 1 - c->len));
}

static void
read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct admin_conn *c = s->data;

	(void)buf;
	if (nread == UV_EOF) {
		c->eof = 1;
		uv_read_stop(s);
		c->reading = 0;
	} else if (nread < 0) {
		conn_close(c);
		return;
	} else {
		c->len += (size_t)nread;
	}
	conn_process(c);
}

static void
conn_read(struct admin_conn *c, int on)
{
	if (on && !c->reading && !c->closing) {
		if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) != 0)
			conn_close(c);
		else
			c->reading = 1;
	} else if (!on && c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = 0;
	}
}

/* Handles buffered lines until one goes to the threadpool or none is left.
 * Reading is paused while a request runs, which bounds the buffer. */
static void
conn_process(struct admin_conn *c)
{
	while (!c->busy && !c->closing) {
		char *nl = memchr(c->buf, '\n', c->len);
		size_t used;

		if (nl == NULL && c->len > ADMIN_LINE_MAX) {
			char msg[96];
			snprintf(msg, sizeof(msg), "the request line is longer than %d bytes",
			    ADMIN_LINE_MAX);
			conn_send_error(c, msg);
			conn_finish(c);
			return;
		}
		if (nl == NULL && c->eof && c->len > 0)
			nl = &c->buf[c->len++]; /* a last line without '\n'; len <= MAX */
		if (nl == NULL) {
			if (c->eof)
				conn_finish(c);
			else
				conn_read(c, 1);
			return;
		}
		*nl = '\0';
		used = (size_t)(nl - c->buf) + 1;
		conn_line(c, used - 1);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	conn_read(c, 0);
}

static void
connection_cb(uv_stream_t *server, int status)
{
	struct admin *a = server->data;
	struct admin_conn *c;

	if (status < 0) {
		fprintf(stderr, "vaultd: admin socket: %s\n", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto err0;
	if ((c->buf = malloc(ADMIN_LINE_MAX + 1)) == NULL)
		goto err1;
	c->a = a;
	if (uv_pipe_init(a->loop, &c->pipe, 0) != 0)
		goto err2;
	c->pipe.data = c;
	/* From here on c is freed through its close callback. */
	c->next = a->conns;
	if (a->conns != NULL)
		a->conns->prev = c;
	a->conns = c;
	a->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	if (a->nconns > ADMIN_MAX_CLIENTS) {
		conn_send_error(c, "too many admin clients are connected; try again later");
		conn_finish(c);
		return;
	}
	conn_read(c, 1);
	return;

err2:
	free(c->buf);
err1:
	free(c);
err0:
	fprintf(stderr, "vaultd: admin socket: out of memory\n");
}

/*
 * Makes way for a new socket at path: refuses a non-socket and a socket
 * someone answers on, unlinks a dead one. Returns 0, or -1 with a message.
 */
static int
clear_stale_socket(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "vaultd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "vaultd: %s exists and is not a socket; not replacing it\n", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "vaultd: socket: %s\n", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == 0 || errno == EAGAIN) { /* EAGAIN: alive, its backlog is full */
		close(fd);
		fprintf(stderr, "vaultd: %s: another vaultd is listening there\n", path);
		return -1;
	}
	close(fd);
	if (unlink(path) != 0 && errno != ENOENT) {
		fprintf(stderr, "vaultd: unlink %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Creates the listening socket with plain system calls, so that a failure
 * leaves no libuv handle behind for the caller's loop to close. The mode is
 * set before listen(): until then nobody can connect, whatever the umask.
 * Returns the descriptor, or -1 with a message.
 */
static int
listen_socket(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "vaultd: admin socket path %s is longer than %zu bytes\n", path,
		    sizeof(sun.sun_path) - 1);
		goto err0;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (clear_stale_socket(path, &sun) != 0)
		goto err0;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "vaultd: socket: %s\n", strerror(errno));
		goto err0;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "vaultd: bind %s: %s\n", path, strerror(errno));
		goto err1;
	}
	if (chmod(path, 0600) != 0) {
		fprintf(stderr, "vaultd: chmod %s: %s\n", path, strerror(errno));
		goto err2;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		fprintf(stderr, "vaultd: listen %s: %s\n", path, strerror(errno));
		goto err2;
	}
	return fd;

err2:
	unlink(path);
err1:
	close(fd);
err0:
	return -1;
}

static void
listener_close_cb(uv_handle_t *h)
{
	struct admin *a = h->data;

	a->listener_open = 0;
	admin_maybe_done(a);
}

struct admin *
admin_start(uv_loop_t *loop, const char *path, const struct admin_ctx *ctx)
{
	struct admin *a;
	int fd, rc;

	if ((a = calloc(1, sizeof(*a))) == NULL || (a->path = strdup(path)) == NULL) {
		fprintf(stderr, "vaultd: admin socket: out of memory\n");
		goto err0;
	}
	if ((fd = listen_socket(path)) < 0)
		goto err0;
	a->loop = loop;
	a->ctx = *ctx;
	uv_pipe_init(loop, &a->listener, 0); /* cannot fail on Unix */
	a->listener.data = a;
	a->listener_open = 1;
	if ((rc = uv_pipe_open(&a->listener, fd)) != 0) {
		close(fd); /* not the handle's yet */
		goto err1;
	}
	if ((rc = uv_listen((uv_stream_t *)&a->listener, LISTEN_BACKLOG, connection_cb)) != 0)
		goto err1;
	return a;

err1:
	/* Not expected for a fresh listening socket. The handle is initialised,
	 * so only its close callback may free a: the loop must run once more. */
	fprintf(stderr, "vaultd: admin socket %s: %s\n", path, uv_strerror(rc));
	unlink(path);
	a->stopping = 1;
	uv_close((uv_handle_t *)&a->listener, listener_close_cb);
	return NULL;
err0:
	if (a != NULL)
		free(a->path);
	free(a);
	return NULL;
}

void
admin_stop(struct admin *a, void (*cb)(void *arg), void *arg)
{
	struct admin_conn *c;

	if (a == NULL) {
		if (cb != NULL)
			cb(arg);
		return;
	}
	if (a->stopping)
		return;
	a->stopping = 1;
	a->stop_cb = cb;
	a->stop_arg = arg;
	unlink(a->path);
	for (c = a->conns; c != NULL; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&a->listener, listener_close_cb);
}
