/*
 * The engine's view of vaultd.conf's targets (repl.h, repl_settings_new):
 * built off the loop, because it reads token files, and immutable after.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repl_internal.h"

static int
copy_to(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

/* An S3 target: the bucket's settings, the keys from the credentials file,
 * and the URL checked once here rather than at every request. */
static void
s3_from_conf(struct repl_target *t, const struct conf_target *c)
{
	struct s3_target probe;
	char err[256];

	if (copy_to(t->s3.endpoint, sizeof(t->s3.endpoint), c->endpoint) != 0 ||
	    copy_to(t->s3.region, sizeof(t->s3.region), c->region) != 0 ||
	    copy_to(t->s3.bucket, sizeof(t->s3.bucket), c->bucket) != 0 ||
	    copy_to(t->s3.prefix, sizeof(t->s3.prefix), c->prefix) != 0) {
		snprintf(t->error, sizeof(t->error), "an S3 setting is too long");
		return;
	}
	t->s3.path_style = c->path_style;
	if (s3_credentials_load(&t->s3, c->credentials_file, NULL, err, sizeof(err)) != 0 ||
	    s3_target(&t->s3, "probe", &probe, err, sizeof(err)) != 0)
		snprintf(t->error, sizeof(t->error), "%.*s", (int)sizeof(t->error) - 1, err);
}

static void
target_from_conf(struct repl_target *t, const struct conf_target *c)
{
	size_t n;

	memcpy(t->name, c->name, sizeof(t->name));
	if (strcmp(c->type, "s3") == 0) {
		t->type = REPL_S3;
		s3_from_conf(t, c);
		return;
	}
	t->type = REPL_VAULT;
	n = strlen(c->url);
	if (n > 0 && c->url[n - 1] == '/')
		n--;
	memcpy(t->base, c->url, n);
	t->base[n] = '\0';
	memcpy(t->vault, c->vault, sizeof(t->vault));
	(void)conf_token_load(c->token_file, t->token, t->error, sizeof(t->error));
}

struct repl_settings *
repl_settings_new(const struct conf *c)
{
	struct repl_settings *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (c->ntargets > 0 && (s->targets = calloc(c->ntargets, sizeof(*s->targets))) == NULL) {
		free(s);
		return NULL;
	}
	s->ntargets = c->ntargets;
	for (size_t i = 0; i < c->ntargets; i++)
		target_from_conf(&s->targets[i], &c->targets[i]);
	s->workers = c->replicate_workers > 0 ? c->replicate_workers :
	    CONF_DEFAULT_REPLICATE_WORKERS;
	s->bandwidth = c->replicate_bandwidth;
	s->refs = 1;
	return s;
}

void
repl_settings_free(struct repl_settings *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ntargets; i++) {
		memset(s->targets[i].token, 0, sizeof(s->targets[i].token));
		memset(s->targets[i].s3.secret_key, 0, sizeof(s->targets[i].s3.secret_key));
	}
	free(s->targets);
	free(s);
}

void
repl__settings_hold(struct repl_settings *s)
{
	s->refs++;
}

void
repl__settings_drop(struct repl_settings *s)
{
	if (s != NULL && --s->refs == 0)
		repl_settings_free(s);
}

const struct repl_target *
repl__target(const struct repl_settings *s, const char *name)
{
	for (size_t i = 0; i < s->ntargets; i++)
		if (strcmp(s->targets[i].name, name) == 0)
			return &s->targets[i];
	return NULL;
}
