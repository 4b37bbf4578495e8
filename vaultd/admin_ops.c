/*
 * Admin requests (spec/admin.md): validation and the operations on the
 * metadata. Runs on the threadpool; no libuv here.
 */
#include "admin_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth.h"
#include "meta_repl.h"
#include "vsp.h"

/* Room for a quoted piece of client input in an error sentence. */
#define QUOTE_MAX 64
/* How many fresh token IDs to draw before giving up on a collision streak. */
#define TOKEN_ID_TRIES 8
#define TOKEN_ID_HEX_LEN (2 * META_TOKEN_ID_LEN)
#define SCOPES_STRLEN 64
#define ID_KEY_LEN 24 /* a uint64_t in decimal, NUL included */

/* ------------------------------------------------------------------ */
/* Request handling (threadpool side; no libuv here).                  */
/* ------------------------------------------------------------------ */


/* Returns a new {"ok": false, "error": <formatted sentence>}. */
json_t *
admin__error(const char *fmt, ...)
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
		return admin__error("the metadata store is full; raise its map size and restart vaultd");
	return admin__error("the metadata store failed (rc %d); see the vaultd log", rc);
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
		*err = admin__error("%s needs the field \"%s\"", op, field);
		return -1;
	}
	if (!json_is_string(v)) {
		*err = admin__error("the field \"%s\" must be a string", field);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		*err = admin__error("the field \"%s\" must not contain NUL characters", field);
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
		*err = admin__error("\"%s\" is not a valid %s name: use 1 to %d characters "
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
	*err = rc == META_NOTFOUND ? admin__error("there is no tenant named \"%s\"", name) :
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

/* One replication target's figures (spec/admin.md, "status"). */
static int
repl_stats_cb(const struct meta_repl_stats *s, void *arg)
{
	json_t *arr = arg;
	uint64_t now = (uint64_t)time(NULL);
	json_t *o;

	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "target", s->target,
	    "queue", jint(s->queued), "failed", jint(s->failed),
	    "bytes_pending", jint(s->bytes_pending),
	    "oldest_pending_age", jint(s->oldest != 0 && now > s->oldest ? now - s->oldest : 0),
	    "done", jint(s->done), "done_bytes", jint(s->done_bytes),
	    "deleted", jint(s->deleted));
	if (o == NULL)
		return 1;
	if (s->last_error_time != 0) {
		json_object_set_new(o, "last_error", json_string(s->last_error));
		json_object_set_new(o, "last_error_time", json_integer(jint(s->last_error_time)));
	} else {
		json_object_set_new(o, "last_error", json_null());
	}
	return json_array_append_new(arr, o) != 0;
}

static json_t *
op_status(const struct admin_ctx *ctx, const json_t *req)
{
	struct counts tenants = {0}, vaults = {0}, tokens = {0};
	json_t *repl, *r;
	int rc;

	(void)req;
	if ((rc = meta_tenant_list(ctx->meta, count_tenant_cb, &tenants)) != META_OK ||
	    (rc = meta_vault_list(ctx->meta, 0, count_vault_cb, &vaults)) != META_OK ||
	    (rc = meta_token_list(ctx->meta, 0, count_token_cb, &tokens)) != META_OK)
		return meta_failure(rc);
	if ((repl = json_array()) == NULL)
		return NULL;
	if ((rc = meta_repl_stats(ctx->meta, repl_stats_cb, repl)) != META_OK) {
		json_decref(repl);
		return meta_failure(rc);
	}
	r = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:o}", "ok", 1,
	    "tenants", jint(tenants.n), "vaults", jint(vaults.n), "tokens", jint(tokens.n),
	    "objects", jint(vaults.objects), "bytes", jint(vaults.bytes), "replication", repl);
	return r;
}

/* Seeds one target with the vault; adds {target, queued} to arr. */
static json_t *
seed_one(const struct admin_ctx *ctx, uint64_t vault_id, const char *target, json_t *arr)
{
	uint64_t queued = 0;
	int rc = meta_repl_seed(ctx->meta, vault_id, target, (uint64_t)time(NULL), &queued);

	if (rc != META_OK)
		return meta_failure(rc);
	if (json_array_append_new(arr, json_pack("{s:s, s:I}", "target", target, "queued",
	    jint(queued))) != 0)
		return admin__error("out of memory");
	return NULL;
}

static json_t *
op_replicate(const struct admin_ctx *ctx, const json_t *req)
{
	char names[META_REPL_TARGETS_MAX][VSP_NAME_MAX + 1];
	const char *tenant, *vault, *target;
	struct meta_tenant t;
	struct meta_vault v;
	json_t *err, *arr;
	size_t n;
	int rc;

	if (field_name(req, "replicate", "tenant", "tenant", 1, &tenant, &err) != 0 ||
	    field_name(req, "replicate", "vault", "vault", 1, &vault, &err) != 0 ||
	    field_name(req, "replicate", "target", "target", 0, &target, &err) != 0)
		return err;
	if (ctx->repl_targets == NULL || ctx->repl_has_target == NULL)
		return admin__error("replication is not available in this process");
	if (tenant_lookup(ctx->meta, tenant, &t, &err) != 0)
		return err;
	if ((rc = meta_vault_get(ctx->meta, t.id, vault, &v)) != META_OK)
		return rc == META_NOTFOUND ? admin__error("tenant \"%s\" has no vault named "
		    "\"%s\"", tenant, vault) : meta_failure(rc);
	if (target != NULL && !ctx->repl_has_target(ctx->repl_arg, target))
		return admin__error("no target named \"%s\" is defined in the configuration",
		    target);
	if (target != NULL) {
		memcpy(names[0], target, strlen(target) + 1);
		n = 1;
	} else if ((n = ctx->repl_targets(ctx->repl_arg, tenant, vault, names,
	    META_REPL_TARGETS_MAX)) == 0) {
		return admin__error("the policy of vault \"%s\" of tenant \"%s\" names no "
		    "replication target; name one", vault, tenant);
	}
	if ((arr = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((err = seed_one(ctx, v.id, names[i], arr)) != NULL) {
			json_decref(arr);
			return err;
		}
	return json_pack("{s:b, s:s, s:s, s:o}", "ok", 1, "tenant", tenant, "vault", vault,
	    "targets", arr);
}

static int
declared(const struct admin_ctx *ctx, const char *tenant)
{
	return ctx->tenant_declared != NULL && ctx->tenant_declared(ctx->repl_arg, tenant);
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
	if (rc == META_EXISTS && declared(ctx, name))
		return admin__error("a tenant named \"%s\" already exists: vaultd.conf declares "
		    "it, and vaultd creates the tenants it declares at start-up and on reload",
		    name);
	if (rc == META_EXISTS)
		return admin__error("a tenant named \"%s\" already exists", name);
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
	/* The next reload or start would create it again. */
	if (declared(ctx, name))
		return admin__error("tenant \"%s\" is declared in vaultd.conf; remove its block "
		    "and reload vaultd first, or it is created again", name);
	/* Counted beforehand only to tell the operator what went. */
	if ((rc = meta_token_list(ctx->meta, t.id, count_token_cb, &tokens)) != META_OK)
		return meta_failure(rc);
	rc = meta_tenant_remove(ctx->meta, name);
	if (rc == META_NOTEMPTY) {
		if ((rc = meta_vault_list(ctx->meta, t.id, count_vault_cb, &vaults)) != META_OK)
			return meta_failure(rc);
		return admin__error("tenant \"%s\" still has %" PRIu64 " vault%s; "
		    "a tenant can be removed only when it has none", name, vaults.n,
		    vaults.n == 1 ? "" : "s");
	}
	if (rc == META_NOTFOUND)
		return admin__error("there is no tenant named \"%s\"", name);
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
		return admin__error("there is no tenant named \"%s\"", tenant);
	if (rc == META_EXISTS)
		return admin__error("could not draw an unused token ID; try again");
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
		return admin__error("\"%s\" is not a list of scopes: use \"all\" or a "
		    "comma-separated list of read, append, delete and admin", quote(scope_text, q));
	if (ctx->server_key == NULL)
		return admin__error("vaultd has no server key loaded, so it cannot issue tokens");
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
		return admin__error("that is not a token ID: give the %d lowercase hex digits "
		    "that token.list shows", TOKEN_ID_HEX_LEN);
	rc = meta_token_revoke(ctx->meta, id);
	if (rc == META_NOTFOUND)
		return admin__error("there is no token with ID %s", idhex);
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

static json_t *
op_gc(const struct admin_ctx *ctx, const json_t *req)
{
	struct gc_report r;
	const char *tenant, *vault;
	char msg[512];
	json_t *err, *dry = json_object_get(req, "dry_run");
	int rc;

	if (field_name(req, "gc", "tenant", "tenant", 0, &tenant, &err) != 0 ||
	    field_name(req, "gc", "vault", "vault", 0, &vault, &err) != 0)
		return err;
	if (vault != NULL && tenant == NULL)
		return admin__error("gc: a vault is named within its tenant; give \"tenant\" too");
	if (dry != NULL && !json_is_boolean(dry))
		return admin__error("the field \"dry_run\" must be true or false");
	if (ctx->gc == NULL)
		return admin__error("garbage collection is not available in this process");
	rc = gc_run(ctx->gc, tenant, vault, json_is_true(dry), (uint64_t)time(NULL), &r, msg,
	    sizeof(msg));
	if (rc != GC_OK)
		return admin__error("%s", msg);
	return json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "ok", 1,
	    "dry_run", json_is_true(dry), "vaults", jint(r.vaults),
	    "vaults_skipped", jint(r.vaults_skipped),
	    "snapshots_forgotten", jint(r.snapshots_forgotten),
	    "objects_marked", jint(r.objects_marked),
	    "objects_tombstoned", jint(r.objects_tombstoned),
	    "bytes_tombstoned", jint(r.bytes_tombstoned),
	    "objects_deleted", jint(r.objects_deleted), "bytes_deleted", jint(r.bytes_deleted),
	    "seconds", r.seconds);
}

/* "scrub" and "posture" take the same optional [tenant [vault]]. */
static json_t *
scope_fields(const json_t *req, const char *op, const char **tenant, const char **vault)
{
	json_t *err;

	if (field_name(req, op, "tenant", "tenant", 0, tenant, &err) != 0 ||
	    field_name(req, op, "vault", "vault", 0, vault, &err) != 0)
		return err;
	if (*vault != NULL && *tenant == NULL)
		return admin__error("%s: a vault is named within its tenant; give \"tenant\" too",
		    op);
	return NULL;
}

static json_t *
op_scrub(const struct admin_ctx *ctx, const json_t *req)
{
	const char *tenant, *vault;
	json_t *err = scope_fields(req, "scrub", &tenant, &vault);

	return err != NULL ? err : admin__op_scrub(ctx, tenant, vault);
}

static json_t *
op_posture(const struct admin_ctx *ctx, const json_t *req)
{
	const char *tenant, *vault;
	json_t *err = scope_fields(req, "posture", &tenant, &vault);

	return err != NULL ? err : admin__op_posture(ctx, tenant, vault);
}

#define FIELDS_MAX 3

static const struct admin_op {
	const char *name;
	const char *fields[FIELDS_MAX + 1]; /* allowed besides "op"; NULL-terminated */
	json_t *(*fn)(const struct admin_ctx *ctx, const json_t *req);
} ops[] = {
	{"gc", {"tenant", "vault", "dry_run", NULL}, op_gc},
	{"posture", {"tenant", "vault", NULL}, op_posture},
	{"replicate", {"tenant", "vault", "target", NULL}, op_replicate},
	{"scrub", {"tenant", "vault", NULL}, op_scrub},
	{"status", {NULL}, op_status},
	{"tier", {"tenant", "vault", NULL}, admin__op_tier},
	{"tier.locations", {"tenant", "vault", NULL}, admin__op_tier_locations},
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
			return admin__error("%s takes no field \"%s\"", op->name, quote(key, q));
	}
	return NULL;
}

/* Dispatches req. For "status", with_status merges ctx->status's fields. */
json_t *
admin__handle(const struct admin_ctx *ctx, const json_t *req, int with_status)
{
	char q[QUOTE_MAX + 4];
	const char *name;
	json_t *op, *r;
	size_t i;

	if (!json_is_object(req))
		return admin__error("a request must be a JSON object such as {\"op\": \"status\"}");
	op = json_object_get(req, "op");
	if (op == NULL)
		return admin__error("the request has no \"op\" field");
	if (!json_is_string(op))
		return admin__error("the field \"op\" must be a string");
	name = json_string_value(op);
	for (i = 0; i < NOPS; i++)
		if (strcmp(name, ops[i].name) == 0)
			break;
	if (i == NOPS)
		return admin__error("unknown op \"%s\"; the ops are gc, posture, replicate, scrub, "
		    "status, tier, tier.locations, tenant.add, tenant.list, tenant.remove, "
		    "token.issue, token.list, token.revoke and vault.list", quote(name, q));
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
	return admin__handle(ctx, req, 1);
}


int
admin__field_name(const json_t *req, const char *op, const char *field, const char *what,
    int required, const char **out, json_t **err)
{
	return field_name(req, op, field, what, required, out, err);
}
