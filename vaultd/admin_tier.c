/*
 * The admin ops of tiering (spec/admin.md, spec/tiering.md): "tier" runs
 * the tierer now; "tier.locations" lists a vault's packs with the backends
 * that hold them.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin_internal.h"
#include "tier.h"

#define LOCATIONS_MAX 100000 /* packs one tier.locations answer lists */
#define LOCATIONS_PAGE 1000

json_t *
admin__op_tier(const struct admin_ctx *ctx, const json_t *req)
{
	const char *tenant, *vault;
	struct tier_report r;
	char msg[512] = "";
	json_t *err;
	int rc;

	if (admin__field_name(req, "tier", "tenant", "tenant", 0, &tenant, &err) != 0 ||
	    admin__field_name(req, "tier", "vault", "vault", 0, &vault, &err) != 0)
		return err;
	if (vault != NULL && tenant == NULL)
		return admin__error("tier: a vault is named within its tenant; give \"tenant\" too");
	if (ctx->tier == NULL)
		return admin__error("tiering is not available: vaultd.conf declares no cold backend");
	rc = tier_run(ctx->tier, tenant, vault, (uint64_t)time(NULL), &r, msg, sizeof(msg));
	if (rc != TIER_OK)
		return admin__error("%s", msg);
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "ok", 1,
	    "vaults", (json_int_t)r.vaults, "examined", (json_int_t)r.examined,
	    "moved", (json_int_t)r.moved, "bytes_moved", (json_int_t)r.bytes_moved,
	    "held", (json_int_t)r.held, "failed", (json_int_t)r.failed,
	    "recovered", (json_int_t)r.recovered, "seconds", r.seconds);
}

struct loc_page {
	const struct admin_ctx *ctx;
	json_t *list;
	uint8_t last[VSP_ID_LEN];
	size_t n;
	int failed;
};

static int
add_object(const uint8_t id[VSP_ID_LEN], const struct meta_object *o, void *arg)
{
	struct loc_page *p = arg;
	char hex[VSP_ID_HEX_LEN + 1];
	json_t *locs = json_array(), *obj;

	vsp_id_format(id, hex);
	for (unsigned i = 0; locs != NULL && i < 32; i++) {
		const char *name = tier_backend_name(p->ctx->tier, i);
		char unknown[16];
		if (!(o->locations & (1u << i)))
			continue;
		if (name == NULL) {
			snprintf(unknown, sizeof(unknown), "#%u", i);
			name = unknown;
		}
		json_array_append_new(locs, json_string(name));
	}
	obj = json_pack("{s:s, s:I, s:o*}", "id", hex, "size", (json_int_t)o->size,
	    "locations", locs);
	if (obj == NULL || json_array_append_new(p->list, obj) != 0) {
		p->failed = 1;
		return 1;
	}
	memcpy(p->last, id, VSP_ID_LEN);
	p->n++;
	return 0;
}

json_t *
admin__op_tier_locations(const struct admin_ctx *ctx, const json_t *req)
{
	struct loc_page p = {.ctx = ctx};
	const char *tenant, *vault;
	struct meta_tenant t;
	struct meta_vault v;
	json_t *err;
	int more = 1;

	if (admin__field_name(req, "tier.locations", "tenant", "tenant", 1, &tenant, &err) != 0 ||
	    admin__field_name(req, "tier.locations", "vault", "vault", 1, &vault, &err) != 0)
		return err;
	if (meta_tenant_get(ctx->meta, tenant, &t) != META_OK)
		return admin__error("there is no tenant named \"%s\"", tenant);
	if (meta_vault_get(ctx->meta, t.id, vault, &v) != META_OK)
		return admin__error("tenant \"%s\" has no vault \"%s\"", tenant, vault);
	if ((p.list = json_array()) == NULL)
		return NULL;
	while (more && !p.failed && p.n < LOCATIONS_MAX)
		if (meta_object_list(ctx->meta, v.id, VSP_KIND_PACK, p.n ? p.last : NULL,
		    LOCATIONS_PAGE, add_object, &p, &more) != META_OK) {
			json_decref(p.list);
			return admin__error("metadata error while listing the vault's packs");
		}
	if (p.failed) {
		json_decref(p.list);
		return NULL;
	}
	return json_pack("{s:b, s:s, s:s, s:o, s:b, s:I}", "ok", 1, "tenant", tenant, "vault",
	    vault, "objects", p.list, "truncated", more, "recalls_pending",
	    (json_int_t)tier_recalls_pending(ctx->tier));
}
