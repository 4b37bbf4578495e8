/* Endpoints other than object transfer: capabilities, vaults, config,
 * listings and the batch existence query. */
#include "handlers_internal.h"

#include "conn.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "conn.h"
#include "log.h"
#include "meta_scrub.h"
#include "scrub.h"
#include "sha256.h"

void
resp_error(struct resp *r, enum vsp_err err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	handlers__json(r, vsp_err_status(err),
	    json_pack("{s:s, s:s}", "code", vsp_err_code(err), "message", msg));
}

void
resp_header(struct resp *r, const char *fmt, ...)
{
	size_t room = sizeof(r->headers) - r->headers_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->headers + r->headers_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= room) {
		r->headers[r->headers_len] = '\0';
		log_msg(VLOG_ERROR, "response header dropped (no room)");
		return;
	}
	memcpy(r->headers + r->headers_len + (size_t)n, "\r\n", 3);
	r->headers_len += (size_t)n + 2;
}

void
resp_clear(struct store *s, struct resp *r)
{
	free(r->body);
	if (r->gen != NULL)
		r->gen->ops->free(r->gen);
	/* A reader of a cold backend (spec/tiering.md) is closed by its own. */
	if (r->reader != NULL && r->reader_backend != NULL && r->reader_backend != s->backend) {
		backend_close(r->reader_backend, r->reader);
		r->reader = NULL;
	}
	if (r->reader != NULL)
		backend_close(s->backend, r->reader);
	sha256_free(r->verify);
	memset(r, 0, sizeof(*r));
}

void
handlers__json(struct resp *resp, int status, json_t *value)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->status = status;
	resp->content_type = "application/json";
	if (value != NULL)
		resp->body = json_dumps(value, JSON_COMPACT);
	json_decref(value);
	if (resp->body == NULL) {
		resp->status = 500;
		resp->content_type = NULL;
		return;
	}
	resp->body_len = strlen(resp->body);
}

/* Turns a failed meta call into a 500 or 507. */
static void
meta_failure(struct resp *resp, int rc, const char *what)
{
	if (rc == META_FULL)
		resp_error(resp, VSP_E_NO_SPACE, "the metadata store is full while %s", what);
	else
		resp_error(resp, VSP_E_INTERNAL, "metadata error while %s", what);
}

static const char *
scope_word(uint32_t any_scope)
{
	if (any_scope == (META_SCOPE_READ | META_SCOPE_APPEND))
		return "read or append";
	if (any_scope & META_SCOPE_ADMIN)
		return "admin";
	if (any_scope & META_SCOPE_DELETE)
		return "delete";
	if (any_scope & META_SCOPE_APPEND)
		return "append";
	return "read";
}

/* Finds the token in "Basic base64(user:token)"; restic sends its password
 * this way. Returns the token's length, or -1. */
static long
basic_token(const char *auth, char *out, size_t size)
{
	static const char basic[] = "Basic ";
	size_t n;
	char *colon;

	if (strncmp(auth, basic, sizeof(basic) - 1) != 0)
		return -1;
	auth += sizeof(basic) - 1;
	if (sodium_base642bin((unsigned char *)out, size - 1, auth, strlen(auth), NULL, &n, NULL,
	        sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	out[n] = '\0';
	if ((colon = memchr(out, ':', n)) == NULL)
		return -1;
	n -= (size_t)(colon + 1 - out);
	memmove(out, colon + 1, n + 1);
	return (long)n;
}

static int
authenticate(struct store *s, const struct request *req, struct meta_token *tok,
    struct resp *resp)
{
	static const char bearer[] = "Bearer ";
	uint8_t id[META_TOKEN_ID_LEN], secret[AUTH_SECRET_LEN];
	char basic[HTTP_AUTH_MAX + 1];
	const char *auth = req->auth;
	long len = -1;
	int ok = 0, rc;

	if (req->route.restic)
		len = basic_token(auth, basic, sizeof(basic));
	else if (strncmp(auth, bearer, sizeof(bearer) - 1) == 0)
		len = (long)strlen(auth += sizeof(bearer) - 1);
	if (len < 0) {
		resp_error(resp, VSP_E_UNAUTHORIZED, req->route.restic ?
		    "HTTP Basic authentication with a vault token as the password is required" :
		    "a bearer token is required");
		goto out;
	}
	if (req->route.restic)
		auth = basic;
	if (auth_token_parse(auth, (size_t)len, id, secret) != 0) {
		resp_error(resp, VSP_E_UNAUTHORIZED, "the token is malformed");
		goto out;
	}
	rc = meta_token_get(s->meta, id, tok);
	if (rc == META_OK && auth_token_matches(s->server_key, tok, secret))
		ok = 1;
	else if (rc == META_ERROR)
		meta_failure(resp, rc, "checking the token");
	else
		resp_error(resp, VSP_E_UNAUTHORIZED, "the token is unknown or revoked");
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(basic, sizeof(basic));
	if (!ok && resp->status == 401)
		resp_header(resp, "WWW-Authenticate: %s realm=\"vault\"",
		    req->route.restic ? "Basic" : "Bearer");
	return ok ? 0 : -1;
}

int
handlers__authorize(struct store *s, const struct request *req, uint32_t any_scope,
    struct meta_token *tok, struct meta_vault *vault, struct resp *resp)
{
	const char *name = req->route.vault;
	int rc;

	if (authenticate(s, req, tok, resp) != 0)
		return -1;
	if ((tok->scopes & any_scope) == 0) {
		resp_error(resp, VSP_E_FORBIDDEN, "this token lacks the %s scope",
		    scope_word(any_scope));
		return -1;
	}
	if (name[0] == '\0' || vault == NULL)
		return 0;
	if (tok->vault[0] != '\0' && strcmp(tok->vault, name) != 0) {
		resp_error(resp, VSP_E_FORBIDDEN, "this token is bound to another vault");
		return -1;
	}
	rc = meta_vault_get(s->meta, tok->tenant_id, name, vault);
	if (rc == META_NOTFOUND) {
		/* The same answer whether or not another tenant has this name. */
		resp_error(resp, VSP_E_NOT_FOUND, "no vault named '%s'", name);
		return -1;
	}
	if (rc != META_OK) {
		meta_failure(resp, rc, "looking up the vault");
		return -1;
	}
	return 0;
}

static char *
capabilities_json(const struct store *s)
{
	json_t *caps = json_pack(
	    "{s:s, s:[i], s:s, s:[s,s,s,s,s], s:[s,s,s], s:{s:I, s:i, s:i, s:i, s:i, s:i}}",
	    "protocol", "vsp", "versions", 1, "server", "vaultd/" VAULTD_VERSION,
	    "kinds", "pack", "index", "snapshot", "key", "lock", "features", "range",
	    "batch-exists", "restic",
	    "limits", "max_object_size", (json_int_t)s->limits.max_object_size,
	    "max_config_size", CONFIG_SIZE_MAX, "max_header_bytes", HTTP_HEADER_BYTES_MAX,
	    "max_url_length", HTTP_URL_MAX, "max_batch_ids", EXISTS_IDS_MAX,
	    "max_list_limit", ROUTE_LIST_LIMIT_MAX);
	char *text = caps != NULL ? json_dumps(caps, JSON_COMPACT) : NULL;
	json_decref(caps);
	return text;
}

static json_t *
vault_json(const struct meta_vault *v)
{
	json_t *kinds = json_object();
	for (int k = 0; k < VSP_KIND_COUNT && kinds != NULL; k++)
		json_object_set_new(kinds, vsp_kind_name((enum vsp_kind)k),
		    json_pack("{s:I, s:I}", "objects", (json_int_t)v->kind_objects[k],
		        "bytes", (json_int_t)v->kind_bytes[k]));
	return json_pack("{s:s, s:I, s:I, s:I, s:b, s:o*}", "name", v->name, "created",
	    (json_int_t)v->created, "objects", (json_int_t)v->objects, "bytes",
	    (json_int_t)v->bytes, "config", v->has_config, "kinds", kinds);
}

struct vault_list {
	json_t *arr;
	const char *only; /* a vault-bound token sees just its vault */
};

static int
add_vault(const struct meta_vault *v, void *arg)
{
	struct vault_list *l = arg;
	if (l->only[0] != '\0' && strcmp(l->only, v->name) != 0)
		return 0;
	return json_array_append_new(l->arr, vault_json(v));
}

static void
vaults_list(struct store *s, const struct request *req, struct resp *resp)
{
	struct meta_token tok;
	struct vault_list l;

	if (handlers__authorize(s, req, META_SCOPE_READ, &tok, NULL, resp) != 0)
		return;
	l.arr = json_array();
	l.only = tok.vault;
	if (l.arr == NULL || meta_vault_list(s->meta, tok.tenant_id, add_vault, &l) != META_OK) {
		json_decref(l.arr);
		resp_error(resp, VSP_E_INTERNAL, "could not list vaults");
		return;
	}
	handlers__json(resp, 200, json_pack("{s:o}", "vaults", l.arr));
}

static void
vault_create(struct store *s, const struct request *req, struct resp *resp)
{
	struct meta_token tok;
	struct meta_vault v;
	int rc;

	if (handlers__authorize(s, req, META_SCOPE_ADMIN, &tok, NULL, resp) != 0)
		return;
	if (tok.vault[0] != '\0' && strcmp(tok.vault, req->route.vault) != 0) {
		resp_error(resp, VSP_E_FORBIDDEN, "this token is bound to another vault");
		return;
	}
	rc = meta_vault_create(s->meta, tok.tenant_id, req->route.vault,
	    (uint64_t)time(NULL), &v);
	if (rc == META_EXISTS)
		resp_error(resp, VSP_E_CONFLICT, "vault '%s' already exists", req->route.vault);
	else if (rc != META_OK)
		meta_failure(resp, rc, "creating the vault");
	else
		handlers__json(resp, 201, vault_json(&v));
}

static void
vault_info(struct store *s, const struct request *req, struct resp *resp)
{
	struct meta_token tok;
	struct meta_vault v;

	if (handlers__authorize(s, req, META_SCOPE_READ, &tok, &v, resp) == 0)
		handlers__json(resp, 200, vault_json(&v));
}

/* Reads the whole of a small backend object into a malloc'd buffer. */
static int
read_small(struct store *s, const char *key, char **out, size_t *len)
{
	struct backend_reader *r;
	uint64_t size;
	ssize_t n;
	char *buf;

	if (backend_open(s->backend, key, &r, &size) != 0)
		return -1;
	if (size > CONFIG_SIZE_MAX || (buf = malloc(size ? size : 1)) == NULL) {
		backend_close(s->backend, r);
		return -1;
	}
	n = size ? backend_read(s->backend, r, 0, buf, size) : 0;
	backend_close(s->backend, r);
	if (n < 0 || (uint64_t)n != size) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = size;
	return 0;
}

static void
handlers__config_get(struct store *s, const struct request *req, struct resp *resp)
{
	char key[STORE_KEY_MAX + 1];
	struct meta_token tok;
	struct meta_vault v;

	if (handlers__authorize(s, req, META_SCOPE_READ, &tok, &v, resp) != 0)
		return;
	if (!v.has_config) {
		resp_error(resp, VSP_E_NOT_FOUND, "vault '%s' has no config yet", v.name);
		return;
	}
	if (read_small(s, store_config_key(key, v.id), &resp->body, &resp->body_len) != 0) {
		resp_error(resp, VSP_E_INTERNAL, "the config of vault '%s' cannot be read", v.name);
		return;
	}
	if (handlers__blob_check(s, v.id, META_SCRUB_CONFIG, v.config_id, resp->body,
	    resp->body_len, resp) != 0) {
		char err[256];

		/* A bad blob is repaired from a replica at once if it can be; the
		 * 503 stands otherwise. */
		if (s->scrub == NULL || scrub_repair_now(s->scrub, v.id, META_SCRUB_CONFIG,
		    v.config_id, 0, "SHA-256 mismatch found while serving a GET", err,
		    sizeof(err)) != SCRUB_OK)
			return;
		resp_clear(s, resp);
		if (read_small(s, store_config_key(key, v.id), &resp->body, &resp->body_len) != 0) {
			resp_error(resp, VSP_E_INTERNAL, "the config of vault '%s' cannot be read",
			    v.name);
			return;
		}
		if (handlers__blob_check(s, v.id, META_SCRUB_CONFIG, v.config_id, resp->body,
		    resp->body_len, resp) != 0)
			return;
	}
	resp->status = 200;
	resp->content_type = "application/octet-stream";
}

/* Stores the config blob; the caller has checked that none is recorded. */
static void
config_store(struct store *s, const struct meta_vault *v, const struct request *req,
    const uint8_t id[VSP_ID_LEN], struct resp *resp)
{
	char key[STORE_KEY_MAX + 1];
	struct backend_put *put = NULL;
	int rc;

	if (backend_put_begin(s->backend, store_config_key(key, v->id), &put) != 0 ||
	    backend_put_write(s->backend, put, req->body, req->body_len) != 0) {
		int e = errno;
		if (put != NULL)
			backend_put_abort(s->backend, put);
		resp_error(resp, e == ENOSPC ? VSP_E_NO_SPACE : VSP_E_INTERNAL,
		    "could not store the config: %s", strerror(e));
		return;
	}
	if (backend_put_commit(s->backend, put) != 0) {
		resp_error(resp, errno == ENOSPC ? VSP_E_NO_SPACE : VSP_E_INTERNAL,
		    "could not store the config: %s", strerror(errno));
		return;
	}
	rc = meta_vault_set_config(s->meta, v->id, id, req->body_len);
	if (rc == META_EXISTS)
		resp_error(resp, VSP_E_CONFLICT, "vault '%s' already has a config", v->name);
	else if (rc != META_OK)
		meta_failure(resp, rc, "recording the config");
	else
		handlers__json(resp, 201, json_pack("{s:I}", "size", (json_int_t)req->body_len));
}

static void
handlers__config_put(struct store *s, const struct request *req, struct resp *resp)
{
	uint8_t id[VSP_ID_LEN];
	struct meta_token tok;
	struct meta_vault v;
	/* Config writers are rare; one lock keeps two first writers apart. */
	static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;

	if (handlers__authorize(s, req, META_SCOPE_APPEND, &tok, &v, resp) != 0)
		return;
	if (sha256_buf(req->body != NULL ? req->body : "", req->body_len, id) != 0) {
		resp_error(resp, VSP_E_INTERNAL, "hashing failed");
		return;
	}
	pthread_mutex_lock(&config_lock);
	if (meta_vault_get_by_id(s->meta, v.id, &v) != META_OK)
		resp_error(resp, VSP_E_INTERNAL, "the vault vanished");
	else if (!v.has_config)
		config_store(s, &v, req, id, resp);
	else if (req->route.restic)
		resp_error(resp, VSP_E_FORBIDDEN, "the repository already has a config");
	else if (v.config_size == req->body_len && sodium_memcmp(v.config_id, id, VSP_ID_LEN) == 0)
		handlers__json(resp, 200, json_pack("{s:I}", "size", (json_int_t)req->body_len));
	else
		resp_error(resp, VSP_E_CONFLICT,
		    "vault '%s' already has a different config; it is written once", v.name);
	pthread_mutex_unlock(&config_lock);
}

struct list_page {
	json_t *arr;
	uint8_t last[VSP_ID_LEN];
};

static int
add_object(const uint8_t id[VSP_ID_LEN], const struct meta_object *o, void *arg)
{
	struct list_page *p = arg;
	char hex[VSP_ID_HEX_LEN + 1];

	vsp_id_format(id, hex);
	memcpy(p->last, id, VSP_ID_LEN);
	return json_array_append_new(p->arr, json_pack("{s:s, s:I, s:I}", "id", hex, "size",
	    (json_int_t)o->size, "received", (json_int_t)o->received));
}

/* Snapshots listed over VSP carry their cleartext header fields, so a
 * client can show the history without downloading anything. Each is looked
 * up after the listing's own transaction (a restic snapshot has none). */
static void
add_snapshot_fields(struct store *s, uint64_t vault_id, json_t *arr)
{
	char group[2 * META_GROUP_LEN + 1];
	struct meta_snapshot snap;
	uint8_t id[VSP_ID_LEN];
	size_t i;
	json_t *item;

	json_array_foreach(arr, i, item) {
		const char *hex = json_string_value(json_object_get(item, "id"));
		if (hex == NULL || vsp_id_parse(hex, strlen(hex), id) != 0 ||
		    meta_snapshot_get(s->meta, vault_id, id, &snap) != META_OK)
			continue;
		sodium_bin2hex(group, sizeof(group), snap.group, sizeof(snap.group));
		json_object_set_new(item, "time", json_integer((json_int_t)snap.client_time));
		json_object_set_new(item, "group", json_string(group));
		json_object_set_new(item, "refs", json_integer((json_int_t)snap.nrefs));
	}
}

static void
objects_list(struct store *s, const struct request *req, struct resp *resp)
{
	const struct route *rt = &req->route;
	char hex[VSP_ID_HEX_LEN + 1];
	struct list_page page;
	struct meta_token tok;
	struct meta_vault v;
	int more = 0;

	if (handlers__authorize(s, req, META_SCOPE_READ, &tok, &v, resp) != 0)
		return;
	if ((page.arr = json_array()) == NULL ||
	    meta_object_list(s->meta, v.id, rt->kind, rt->has_after ? rt->after : NULL,
	        rt->limit, add_object, &page, &more) != META_OK) {
		json_decref(page.arr);
		resp_error(resp, VSP_E_INTERNAL, "could not list objects");
		return;
	}
	if (rt->kind == VSP_KIND_SNAPSHOT)
		add_snapshot_fields(s, v.id, page.arr);
	if (more)
		vsp_id_format(page.last, hex);
	handlers__json(resp, 200, json_pack("{s:o, s:o}", "objects", page.arr, "next",
	    more ? json_string(hex) : json_null()));
}

/* Parses {"ids": [ID, ...]} into a malloc'd array. Returns the count, or -1
 * with resp set. */
static long
parse_exists_body(const struct request *req, uint8_t (**ids)[VSP_ID_LEN], json_t **arr_out,
    struct resp *resp)
{
	json_error_t jerr;
	json_t *doc, *arr;
	size_t n;

	doc = json_loadb(req->body != NULL ? req->body : "", req->body_len, 0, &jerr);
	arr = json_object_get(doc, "ids");
	if (doc == NULL || !json_is_array(arr)) {
		resp_error(resp, VSP_E_MALFORMED, "want a JSON object {\"ids\": [ID, ...]}");
		json_decref(doc);
		return -1;
	}
	n = json_array_size(arr);
	if (n > EXISTS_IDS_MAX) {
		resp_error(resp, VSP_E_TOO_LARGE, "at most %d IDs per query", EXISTS_IDS_MAX);
		json_decref(doc);
		return -1;
	}
	if ((*ids = calloc(n ? n : 1, VSP_ID_LEN)) == NULL) {
		resp_error(resp, VSP_E_INTERNAL, "out of memory");
		json_decref(doc);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *hex = json_string_value(json_array_get(arr, i));
		if (hex == NULL || vsp_id_parse(hex, strlen(hex), (*ids)[i]) != 0) {
			resp_error(resp, VSP_E_MALFORMED, "ids[%zu] is not a 64-digit lowercase hex ID", i);
			free(*ids);
			json_decref(doc);
			return -1;
		}
	}
	*arr_out = doc;
	return (long)n;
}

static void
objects_exist(struct store *s, const struct request *req, struct resp *resp)
{
	uint8_t (*ids)[VSP_ID_LEN] = NULL;
	uint8_t *present = NULL;
	json_t *doc = NULL, *have, *lack;
	struct meta_token tok;
	struct meta_vault v;
	long n;

	if (handlers__authorize(s, req, META_SCOPE_READ | META_SCOPE_APPEND, &tok, &v, resp) != 0)
		return;
	if ((n = parse_exists_body(req, &ids, &doc, resp)) < 0)
		return;
	have = json_array();
	lack = json_array();
	present = calloc((size_t)n + 1, 1);
	if (have == NULL || lack == NULL || present == NULL ||
	    meta_object_exists_batch(s->meta, v.id, req->route.kind,
	        (const uint8_t (*)[VSP_ID_LEN])ids, (size_t)n, present) != META_OK) {
		resp_error(resp, VSP_E_INTERNAL, "could not look the objects up");
		json_decref(have);
		json_decref(lack);
		goto out;
	}
	json_t *arr = json_object_get(doc, "ids");
	for (long i = 0; i < n; i++)
		json_array_append(present[i] ? have : lack, json_array_get(arr, (size_t)i));
	handlers__json(resp, 200, json_pack("{s:o, s:o}", "present", have, "missing", lack));
out:
	free(present);
	free(ids);
	json_decref(doc);
}

int
request_is_upload(const struct request *req)
{
	const struct route *rt = &req->route;
	return (rt->id == ROUTE_OBJECT && rt->method == HTTP_PUT) ||
	    (rt->id == ROUTE_RESTIC_OBJECT && rt->method == HTTP_POST);
}

void
handle_request(struct store *s, const struct request *req, struct resp *resp)
{
	const struct route *rt = &req->route;

	switch (rt->id) {
	case ROUTE_CAPABILITIES:
		resp->body = capabilities_json(s);
		resp->body_len = resp->body != NULL ? strlen(resp->body) : 0;
		resp->status = resp->body != NULL ? 200 : 500;
		resp->content_type = "application/json";
		resp->no_body = rt->method == HTTP_HEAD;
		return;
	case ROUTE_VAULTS:
		vaults_list(s, req, resp);
		return;
	case ROUTE_VAULT:
		if (rt->method == HTTP_PUT)
			vault_create(s, req, resp);
		else
			vault_info(s, req, resp);
		return;
	case ROUTE_CONFIG:
	case ROUTE_RESTIC_CONFIG:
		if (rt->method == HTTP_PUT || rt->method == HTTP_POST)
			handlers__config_put(s, req, resp);
		else if (rt->method == HTTP_HEAD)
			handlers__restic_config_head(s, req, resp);
		else
			handlers__config_get(s, req, resp);
		return;
	case ROUTE_OBJECTS:
		objects_list(s, req, resp);
		return;
	case ROUTE_EXISTS:
		objects_exist(s, req, resp);
		return;
	case ROUTE_OBJECT:
	case ROUTE_RESTIC_OBJECT:
		if (rt->method == HTTP_DELETE)
			handlers__object_delete(s, req, resp);
		else
			handlers__object_get(s, req, resp);
		return;
	case ROUTE_RESTIC_CREATE:
		handlers__restic_create(s, req, resp);
		return;
	case ROUTE_RESTIC_LIST:
		handlers__restic_list(s, req, resp);
		return;
	default:
		resp_error(resp, VSP_E_NOT_FOUND, "no such endpoint");
	}
}

void
resp_dialect(const struct request *req, struct resp *resp)
{
	if (!req->route.restic)
		return;
	if (resp->status == 201 || resp->status == 204)
		resp->status = 200;
	else if (resp->status == 422)
		resp->status = 400;
}
