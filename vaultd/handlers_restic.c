/*
 * restic's REST backend protocol (spec/restic.md) on top of the same vaults,
 * objects and checks as VSP. Uploads go through the VSP upload path
 * (upload_begin/upload_finish), object reads and deletes and the config
 * through the VSP handlers; this file has what restic alone needs.
 */
#include "handlers_internal.h"

#include <string.h>
#include <time.h>

#define RESTIC_LIST_PAGE 10000
#define RESTIC_V1_TYPE "application/vnd.x.restic.rest.v1"

/* POST /restic/{v}/?create=true: the repository is the vault. */
void
handlers__restic_create(struct store *s, const struct request *req, struct resp *resp)
{
	struct meta_token tok;
	struct meta_vault v;
	int rc;

	if (handlers__authorize(s, req, META_SCOPE_APPEND | META_SCOPE_ADMIN, &tok, NULL, resp) != 0)
		return;
	if (tok.vault[0] != '\0' && strcmp(tok.vault, req->route.vault) != 0) {
		resp_error(resp, VSP_E_FORBIDDEN, "this token is bound to another vault");
		return;
	}
	rc = meta_vault_get(s->meta, tok.tenant_id, req->route.vault, &v);
	if (rc == META_NOTFOUND && (tok.scopes & META_SCOPE_ADMIN))
		rc = meta_vault_create(s->meta, tok.tenant_id, req->route.vault,
		    (uint64_t)time(NULL), &v);
	else if (rc == META_NOTFOUND) {
		resp_error(resp, VSP_E_FORBIDDEN,
		    "vault '%s' does not exist and this token may not create vaults",
		    req->route.vault);
		return;
	}
	if (rc != META_OK && rc != META_EXISTS) {
		resp_error(resp, VSP_E_INTERNAL, "metadata error while creating the vault");
		return;
	}
	resp->status = 200;
}

/* HEAD /restic/{v}/config: its size, or 404. */
void
handlers__restic_config_head(struct store *s, const struct request *req, struct resp *resp)
{
	struct meta_token tok;
	struct meta_vault v;

	if (handlers__authorize(s, req, META_SCOPE_READ, &tok, &v, resp) != 0)
		return;
	if (!v.has_config) {
		resp_error(resp, VSP_E_NOT_FOUND, "the repository has no config yet");
		return;
	}
	resp->status = 200;
	resp->content_type = "application/octet-stream";
	resp->length = v.config_size;
	resp->no_body = 1;
}

struct restic_list {
	json_t *arr;
	int v2;
	uint8_t last[VSP_ID_LEN];
};

static int
restic_list_add(const uint8_t id[VSP_ID_LEN], const struct meta_object *o, void *arg)
{
	struct restic_list *l = arg;
	char hex[VSP_ID_HEX_LEN + 1];
	json_t *item;

	vsp_id_format(id, hex);
	memcpy(l->last, id, VSP_ID_LEN);
	item = l->v2 ? json_pack("{s:s, s:I}", "name", hex, "size", (json_int_t)o->size)
	             : json_string(hex);
	return json_array_append_new(l->arr, item);
}

/* GET /restic/{v}/{type}/: every name (v1) or name and size (v2). restic
 * reads whole types, so the pages of the metadata are joined here. */
void
handlers__restic_list(struct store *s, const struct request *req, struct resp *resp)
{
	struct restic_list l = {.v2 = req->accept_restic_v2};
	struct meta_token tok;
	struct meta_vault v;
	int more = 1, rc = META_OK;

	if (handlers__authorize(s, req, META_SCOPE_READ, &tok, &v, resp) != 0)
		return;
	if ((l.arr = json_array()) == NULL) {
		resp_error(resp, VSP_E_INTERNAL, "out of memory");
		return;
	}
	while (more && rc == META_OK)
		rc = meta_object_list(s->meta, v.id, req->route.kind,
		    json_array_size(l.arr) ? l.last : NULL, RESTIC_LIST_PAGE, restic_list_add, &l,
		    &more);
	if (rc != META_OK) {
		json_decref(l.arr);
		resp_error(resp, VSP_E_INTERNAL, "could not list objects");
		return;
	}
	handlers__json(resp, 200, l.arr);
	if (resp->status == 200)
		resp->content_type = l.v2 ? HTTP_RESTIC_V2 : RESTIC_V1_TYPE;
}
