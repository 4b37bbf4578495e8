#ifndef ADMIN_INTERNAL_H
#define ADMIN_INTERNAL_H
/* Shared by admin.c (socket server) and admin_ops.c (request handling). */
#include "admin.h"

/* Handles one request like admin_handle(); with_status = 0 leaves out the
 * daemon fields of "status", which the server adds on the loop thread. */
json_t *admin__handle(const struct admin_ctx *ctx, const json_t *req, int with_status);

/* The optional or required name field of req (a tenant or vault name, per
 * what), checked: returns 0 and *out (NULL if absent), or -1 and *err. */
int admin__field_name(const json_t *req, const char *op, const char *field, const char *what,
    int required, const char **out, json_t **err);

/* The tiering ops (admin_tier.c): "tier" and "tier.locations". */
json_t *admin__op_tier(const struct admin_ctx *ctx, const json_t *req);
json_t *admin__op_tier_locations(const struct admin_ctx *ctx, const json_t *req);

/* Returns a new {"ok": false, "error": <sentence>} object, or NULL. */
json_t *admin__error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The ops "scrub" and "posture" (admin_scrub.c), with the fields checked:
 * tenant and vault NULL or valid names, vault only with a tenant. */
json_t *admin__op_scrub(const struct admin_ctx *ctx, const char *tenant, const char *vault);
json_t *admin__op_posture(const struct admin_ctx *ctx, const char *tenant, const char *vault);

#endif
