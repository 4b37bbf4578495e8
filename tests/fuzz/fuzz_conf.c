/*
 * Fuzz driver for conf_parse() (vaultd/conf.c): the whole input is the text
 * of a vaultd.conf, so the corpus in tests/fuzz/corpus/conf/ is plain
 * config files.
 *
 * On an error the message must be one line that begins "fuzz.conf:" and
 * nothing may be returned. On success every invariant a caller relies on
 * must hold: names pass vsp_name_valid() and are unique where the spec says
 * so, every policy pointer points into policies[], ports are 0..65535,
 * values lie within the ranges conf.h gives, and conf_policy_for() agrees
 * with the tenant and vault records.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "vsp.h"


#define PATH "fuzz.conf"

/* s is a NUL-terminated string within size bytes. */
static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int
name_ok(const char *name)
{
	return terminated(name, VSP_NAME_MAX + 1) &&
	    vsp_name_valid(name, strlen(name));
}

static int
policy_ok(const struct conf *c, const struct conf_policy *p)
{
	return p == NULL || (p >= c->policies && p < c->policies + c->npolicies);
}

static void
check_globals(const struct conf *c)
{
	FUZZ_CHECK(c->nlistens >= 1 && c->nlistens <= CONF_LISTENS_MAX);
	for (size_t i = 0; i < c->nlistens; i++) {
		FUZZ_CHECK(terminated(c->listens[i].host, sizeof(c->listens[i].host)));
		FUZZ_CHECK(c->listens[i].host[0] != '\0');
		FUZZ_CHECK(c->listens[i].port >= 0 && c->listens[i].port <= 65535);
	}
	FUZZ_CHECK(terminated(c->data_dir, sizeof(c->data_dir)) && c->data_dir[0] != '\0');
	FUZZ_CHECK(c->max_object_size >= 1);
	FUZZ_CHECK(c->header_timeout_ms >= 1000 && c->header_timeout_ms <= CONF_TIMEOUT_MAX * 1000);
	FUZZ_CHECK(c->idle_timeout_ms >= 1000 && c->idle_timeout_ms <= CONF_TIMEOUT_MAX * 1000);
	FUZZ_CHECK(c->body_timeout_ms >= 1000 && c->body_timeout_ms <= CONF_TIMEOUT_MAX * 1000);
	FUZZ_CHECK(c->max_connections >= 1 && c->max_connections <= CONF_CONNECTIONS_MAX);
	FUZZ_CHECK(c->nbackends <= CONF_BACKENDS_MAX);
	for (size_t i = 0; i < c->nbackends; i++) {
		const struct conf_backend *b = &c->backends[i];

		FUZZ_CHECK(name_ok(b->name));
		/* The first (hot) backend is fs; cold ones fs, archive or s3
		 * (spec/tiering.md), each with what its type needs. */
		FUZZ_CHECK(strcmp(b->type, "fs") == 0 || (i > 0 && (strcmp(b->type, "archive") == 0 ||
		    strcmp(b->type, "s3") == 0)));
		if (strcmp(b->type, "s3") == 0)
			FUZZ_CHECK(b->endpoint[0] != '\0' && b->bucket[0] != '\0' &&
			    b->region[0] != '\0' && b->credentials_file[0] != '\0' && b->path[0] == '\0');
		else
			FUZZ_CHECK(terminated(b->path, sizeof(b->path)) && b->path[0] != '\0');
		FUZZ_CHECK(strcmp(b->type, "archive") != 0 || b->cartridge_size > 0);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->backends[j].name, b->name) != 0);
	}
}

static void
check_policies(const struct conf *c)
{
	FUZZ_CHECK(c->npolicies <= CONF_POLICIES_MAX);
	for (size_t i = 0; i < c->npolicies; i++) {
		const struct conf_policy *p = &c->policies[i];

		FUZZ_CHECK(name_ok(p->name));
		FUZZ_CHECK(p->keep_last <= CONF_KEEP_MAX && p->keep_hourly <= CONF_KEEP_MAX &&
		    p->keep_daily <= CONF_KEEP_MAX && p->keep_weekly <= CONF_KEEP_MAX &&
		    p->keep_monthly <= CONF_KEEP_MAX && p->keep_yearly <= CONF_KEEP_MAX);
		FUZZ_CHECK(p->gc_grace > 0);
		/* tier-to names a cold backend and comes with a condition. */
		if (p->tier_to[0] != '\0')
			FUZZ_CHECK(conf_backend_index(c, p->tier_to) > 0 &&
			    (p->tier_after != 0 || p->tier_idle != 0));
		else
			FUZZ_CHECK(p->tier_after == 0 && p->tier_idle == 0);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->policies[j].name, p->name) != 0);
	}
}

static void
check_tenant(const struct conf *c, const struct conf_tenant *t)
{
	uint64_t tq, vq;

	FUZZ_CHECK(name_ok(t->name));
	FUZZ_CHECK(policy_ok(c, t->policy));
	FUZZ_CHECK(t->nvaults <= CONF_VAULTS_MAX);
	FUZZ_CHECK((t->nvaults == 0) == (t->vaults == NULL));
	FUZZ_CHECK(conf_policy_for(c, t->name, NULL, &tq, NULL) == t->policy);
	FUZZ_CHECK(tq == t->quota);
	for (size_t i = 0; i < t->nvaults; i++) {
		const struct conf_vault *v = &t->vaults[i];
		const struct conf_policy *want = v->policy != NULL ? v->policy : t->policy;

		FUZZ_CHECK(name_ok(v->name));
		FUZZ_CHECK(policy_ok(c, v->policy));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(t->vaults[j].name, v->name) != 0);
		FUZZ_CHECK(conf_policy_for(c, t->name, v->name, &tq, &vq) == want);
		FUZZ_CHECK(vq == (v->quota != 0 ? v->quota : want != NULL ? want->quota : 0));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL;
	char err[512] = "";
	char *text;

	/* An exact-size copy with no NUL after it: conf_parse() takes a length
	 * and must not read past it (ASan checks). */
	if ((text = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);
	if (conf_parse(PATH, text, size, &c, err, sizeof(err)) != 0) {
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(strncmp(err, PATH ":", strlen(PATH ":")) == 0);
		FUZZ_CHECK(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL);
		free(text);
		return 0;
	}
	FUZZ_CHECK(c != NULL);
	check_globals(c);
	check_policies(c);
	FUZZ_CHECK(c->ntenants <= CONF_TENANTS_MAX);
	for (size_t i = 0; i < c->ntenants; i++) {
		check_tenant(c, &c->tenants[i]);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->tenants[j].name, c->tenants[i].name) != 0);
	}
	conf_free(c);
	free(text);
	return 0;
}
