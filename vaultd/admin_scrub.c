/*
 * The admin ops "scrub" and "posture" (spec/admin.md): the answers built
 * from a scrub run (scrub.h) and from the posture report (posture.h).
 * admin_ops.c checks the fields and calls these.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_internal.h"
#include "posture.h"
#include "scrub.h"

static json_t *
problem_json(const struct scrub_problem *p)
{
	char hex[VSP_ID_HEX_LEN + 1];

	vsp_id_format(p->id, hex);
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:b, s:s, s:s}", "tenant", p->tenant,
	    "vault", p->vault, "kind", p->kind == META_SCRUB_CONFIG ? "config" :
	    vsp_kind_name((enum vsp_kind)p->kind), "id", hex, "backend", (int)p->backend,
	    "reason", p->reason, "repaired", p->repaired, "source", p->source,
	    "repair_error", p->repair_error);
}

json_t *
admin__op_scrub(const struct admin_ctx *ctx, const char *tenant, const char *vault)
{
	struct scrub_report *r;
	char msg[512];
	json_t *arr, *out = NULL;
	int rc;

	if (ctx->scrub == NULL)
		return admin__error("scrub is not available in this process");
	/* The report holds SCRUB_PROBLEMS_MAX problems: too big for a stack. */
	if ((r = malloc(sizeof(*r))) == NULL)
		return NULL;
	rc = scrub_run(ctx->scrub, tenant, vault, (uint64_t)time(NULL), r, msg, sizeof(msg));
	if (rc != SCRUB_OK) {
		free(r);
		return admin__error("%s", msg);
	}
	if ((arr = json_array()) != NULL) {
		for (size_t i = 0; i < r->nproblems; i++)
			json_array_append_new(arr, problem_json(&r->problems[i]));
		out = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o}", "ok", 1,
		    "vaults", (json_int_t)r->vaults, "vaults_full", (json_int_t)r->vaults_full,
		    "objects", (json_int_t)r->objects, "copies", (json_int_t)r->copies,
		    "bytes", (json_int_t)r->bytes, "bad", (json_int_t)r->bad,
		    "repaired", (json_int_t)r->repaired, "unrepaired", (json_int_t)r->unrepaired,
		    "seconds", r->seconds, "problems", arr);
	}
	free(r);
	return out;
}

json_t *
admin__op_posture(const struct admin_ctx *ctx, const char *tenant, const char *vault)
{
	char msg[512];
	json_t *r;

	if (ctx->posture == NULL)
		return admin__error("posture is not available in this process");
	if ((r = posture_report(ctx->posture, tenant, vault, (uint64_t)time(NULL), msg,
	    sizeof(msg))) == NULL)
		return admin__error("%s", msg);
	return r;
}
