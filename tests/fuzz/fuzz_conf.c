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

/* A message on stderr, then abort(): the fuzzer keeps the input. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",       \
			    __FILE__, __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

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
	CHECK(c->nlistens >= 1 && c->nlistens <= CONF_LISTENS_MAX);
	for (size_t i = 0; i < c->nlistens; i++) {
		CHECK(terminated(c->listens[i].host, sizeof(c->listens[i].host)));
		CHECK(c->listens[i].host[0] != '\0');
		CHECK(c->listens[i].port >= 0 && c->listens[i].port <= 65535);
	}
	CHECK(terminated(c->data_dir, sizeof(c->data_dir)) && c->data_dir[0] != '\0');
	CHECK(c->max_object_size >= 1);
	CHECK(c->header_timeout_ms >= 1000 && c->header_timeout_ms <= CONF_TIMEOUT_MAX * 1000);
	CHECK(c->idle_timeout_ms >= 1000 && c->idle_timeout_ms <= CONF_TIMEOUT_MAX * 1000);
	CHECK(c->body_timeout_ms >= 1000 && c->body_timeout_ms <= CONF_TIMEOUT_MAX * 1000);
	CHECK(c->max_connections >= 1 && c->max_connections <= CONF_CONNECTIONS_MAX);
	CHECK(c->nbackends <= CONF_BACKENDS_MAX);
	for (size_t i = 0; i < c->nbackends; i++) {
		const struct conf_backend *b = &c->backends[i];

		CHECK(name_ok(b->name));
		CHECK(strcmp(b->type, "fs") == 0);
		CHECK(terminated(b->path, sizeof(b->path)) && b->path[0] != '\0');
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(c->backends[j].name, b->name) != 0);
	}
}

static void
check_policies(const struct conf *c)
{
	CHECK(c->npolicies <= CONF_POLICIES_MAX);
	for (size_t i = 0; i < c->npolicies; i++) {
		const struct conf_policy *p = &c->policies[i];

		CHECK(name_ok(p->name));
		CHECK(p->keep_last <= CONF_KEEP_MAX && p->keep_hourly <= CONF_KEEP_MAX &&
		    p->keep_daily <= CONF_KEEP_MAX && p->keep_weekly <= CONF_KEEP_MAX &&
		    p->keep_monthly <= CONF_KEEP_MAX && p->keep_yearly <= CONF_KEEP_MAX);
		CHECK(p->gc_grace > 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(c->policies[j].name, p->name) != 0);
	}
}

static void
check_tenant(const struct conf *c, const struct conf_tenant *t)
{
	uint64_t tq, vq;

	CHECK(name_ok(t->name));
	CHECK(policy_ok(c, t->policy));
	CHECK(t->nvaults <= CONF_VAULTS_MAX);
	CHECK((t->nvaults == 0) == (t->vaults == NULL));
	CHECK(conf_policy_for(c, t->name, NULL, &tq, NULL) == t->policy);
	CHECK(tq == t->quota);
	for (size_t i = 0; i < t->nvaults; i++) {
		const struct conf_vault *v = &t->vaults[i];
		const struct conf_policy *want = v->policy != NULL ? v->policy : t->policy;

		CHECK(name_ok(v->name));
		CHECK(policy_ok(c, v->policy));
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(t->vaults[j].name, v->name) != 0);
		CHECK(conf_policy_for(c, t->name, v->name, &tq, &vq) == want);
		CHECK(vq == (v->quota != 0 ? v->quota : want != NULL ? want->quota : 0));
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
		CHECK(c == NULL);
		CHECK(strncmp(err, PATH ":", strlen(PATH ":")) == 0);
		CHECK(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL);
		free(text);
		return 0;
	}
	CHECK(c != NULL);
	check_globals(c);
	check_policies(c);
	CHECK(c->ntenants <= CONF_TENANTS_MAX);
	for (size_t i = 0; i < c->ntenants; i++) {
		check_tenant(c, &c->tenants[i]);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(c->tenants[j].name, c->tenants[i].name) != 0);
	}
	conf_free(c);
	free(text);
	return 0;
}
