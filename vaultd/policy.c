#include "policy.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct policy_src {
	pthread_rwlock_t lock;
	struct conf *conf;
};

struct policy_src *
policy_src_new(struct conf *c)
{
	struct policy_src *p = calloc(1, sizeof(*p));

	if (p == NULL || pthread_rwlock_init(&p->lock, NULL) != 0) {
		free(p);
		conf_free(c);
		return NULL;
	}
	p->conf = c;
	return p;
}

void
policy_src_free(struct policy_src *p)
{
	if (p == NULL)
		return;
	pthread_rwlock_destroy(&p->lock);
	conf_free(p->conf);
	free(p);
}

void
policy_src_swap(struct policy_src *p, struct conf *c)
{
	struct conf *old;

	pthread_rwlock_wrlock(&p->lock);
	old = p->conf;
	p->conf = c;
	pthread_rwlock_unlock(&p->lock);
	/* Readers copy what they need under the read lock, so once the write
	 * lock was ours nobody holds a pointer into the old config. */
	conf_free(old);
}

void
policy_src_lookup(void *arg, const char *tenant, const char *vault, struct policy_limits *out)
{
	struct policy_src *p = arg;
	const struct conf_policy *pol;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&p->lock);
	pol = conf_policy_for(p->conf, tenant, vault, &out->tenant_quota, &out->vault_quota);
	if (pol != NULL) {
		out->lock = pol->lock;
		/* A quota in the policy applies to each vault that uses it. */
		if (out->vault_quota == 0)
			out->vault_quota = pol->quota;
	}
	pthread_rwlock_unlock(&p->lock);
}

int
policy_src_policy(void *arg, const char *tenant, const char *vault, struct conf_policy *out)
{
	struct policy_src *p = arg;
	const struct conf_policy *pol;

	pthread_rwlock_rdlock(&p->lock);
	pol = conf_policy_for(p->conf, tenant, vault, NULL, NULL);
	if (pol != NULL)
		*out = *pol;
	pthread_rwlock_unlock(&p->lock);
	return pol != NULL;
}

size_t
policy_src_targets(void *arg, const char *tenant, const char *vault,
    char (*names)[VSP_NAME_MAX + 1], size_t max)
{
	struct policy_src *p = arg;
	const struct conf_policy *pol;
	size_t n = 0;

	pthread_rwlock_rdlock(&p->lock);
	pol = conf_policy_for(p->conf, tenant, vault, NULL, NULL);
	for (unsigned i = 0; pol != NULL && i < pol->nreplicate && n < max; i++)
		if (conf_target_find(p->conf, pol->replicate_to[i]) != NULL)
			memcpy(names[n++], pol->replicate_to[i], VSP_NAME_MAX + 1);
	pthread_rwlock_unlock(&p->lock);
	return n;
}

int
policy_src_has_target(struct policy_src *p, const char *name)
{
	int found;

	pthread_rwlock_rdlock(&p->lock);
	found = conf_target_find(p->conf, name) != NULL;
	pthread_rwlock_unlock(&p->lock);
	return found;
}

int
policy_src_has_tenant(void *arg, const char *name)
{
	struct policy_src *p = arg;
	int found = 0;

	pthread_rwlock_rdlock(&p->lock);
	for (size_t i = 0; i < p->conf->ntenants && !found; i++)
		found = strcmp(p->conf->tenants[i].name, name) == 0;
	pthread_rwlock_unlock(&p->lock);
	return found;
}

int
policy_src_target(void *arg, const char *name, struct conf_target *out)
{
	struct policy_src *p = arg;
	const struct conf_target *t;

	pthread_rwlock_rdlock(&p->lock);
	if ((t = conf_target_find(p->conf, name)) != NULL)
		*out = *t;
	pthread_rwlock_unlock(&p->lock);
	return t != NULL;
}
