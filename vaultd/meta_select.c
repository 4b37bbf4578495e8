/*
 * Choosing the vaults a job runs over (meta.h, meta_vaults_select): every
 * vault, every vault of a tenant, or one vault, by name. Shared by GC and
 * scrub, which both answer a missing tenant or vault with the same words.
 */
#include <stdio.h>
#include <stdlib.h>

#include "meta.h"

static int
vaults_cb(const struct meta_vault *v, void *arg)
{
	struct meta_vaults *vs = arg;
	void *grown;

	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? 2 * vs->cap : 16;

		if ((grown = realloc(vs->a, cap * sizeof(*vs->a))) == NULL) {
			vs->oom = 1;
			return 1;
		}
		vs->a = grown;
		vs->cap = cap;
	}
	vs->a[vs->n++] = *v;
	return 0;
}

int
meta_vaults_select(struct meta *m, const char *tenant, const char *vault,
    struct meta_vaults *vs, char *err, size_t errlen)
{
	struct meta_tenant t;
	struct meta_vault v;
	int rc;

	if (tenant == NULL)
		rc = meta_vault_list(m, 0, vaults_cb, vs);
	else if ((rc = meta_tenant_get(m, tenant, &t)) == META_NOTFOUND) {
		snprintf(err, errlen, "there is no tenant named \"%s\"", tenant);
		return META_NOTFOUND;
	} else if (rc == META_OK && vault == NULL)
		rc = meta_vault_list(m, t.id, vaults_cb, vs);
	else if (rc == META_OK) {
		if ((rc = meta_vault_get(m, t.id, vault, &v)) == META_NOTFOUND) {
			snprintf(err, errlen, "tenant \"%s\" has no vault named \"%s\"", tenant,
			    vault);
			return META_NOTFOUND;
		}
		if (rc == META_OK)
			vaults_cb(&v, vs);
	}
	if (rc != META_OK || vs->oom) {
		snprintf(err, errlen, "%s", vs->oom ? "out of memory" : "the metadata store failed");
		return META_ERROR;
	}
	return META_OK;
}
