/*
 * vaultd.conf: the checks of backend blocks (fs, archive, s3) and of a
 * policy's tiering directives (spec/vaultd.conf.md, spec/tiering.md).
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf_internal.h"

int
conf_backend_index(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nbackends; i++)
		if (strcmp(c->backends[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The first S3 directive b holds, by its word, or NULL. */
static const char *
s3_field(const struct conf_backend *b)
{
	return b->endpoint[0] ? "endpoint" : b->region[0] ? "region" :
	    b->bucket[0] ? "bucket" : b->prefix[0] ? "prefix" :
	    b->path_style ? "path-style" : b->credentials_file[0] ? "credentials-file" : NULL;
}

int
conf__backend_problem(struct conf_backend *b, int first, char *why, size_t len)
{
	const char *missing = NULL, *extra = NULL;

	if (strcmp(b->type, "s3") == 0) {
		missing = !b->endpoint[0] ? "endpoint" : !b->region[0] ? "region" :
		    !b->bucket[0] ? "bucket" : !b->credentials_file[0] ? "credentials-file" : NULL;
		extra = b->path[0] ? "path" : b->cartridge_size ? "cartridge-size" : NULL;
	} else {
		missing = !b->path[0] ? "path" : NULL;
		extra = s3_field(b);
		if (extra == NULL && strcmp(b->type, "fs") == 0 && b->cartridge_size != 0)
			extra = "cartridge-size";
	}
	if (missing != NULL) {
		snprintf(why, len, "backend '%s' of type %s has no '%s'", b->name, b->type, missing);
		return -1;
	}
	if (extra != NULL) {
		snprintf(why, len, "backend '%s' of type %s takes no '%s'", b->name, b->type, extra);
		return -1;
	}
	if (first && strcmp(b->type, "fs") != 0) {
		snprintf(why, len, "backend '%s' is the first one, where uploads go, so it must be "
		    "of type 'fs', not '%s'", b->name, b->type);
		return -1;
	}
	if (strcmp(b->type, "archive") == 0 && b->cartridge_size == 0)
		b->cartridge_size = CONF_DEFAULT_CARTRIDGE_SIZE;
	return 0;
}

int
conf__tier_problem(const struct conf_policy *pol, char *why, size_t len)
{
	if (pol->tier_to[0] != '\0' && pol->tier_after == 0 && pol->tier_idle == 0) {
		snprintf(why, len, "policy '%s' has 'tier-to' but neither 'tier-after' nor "
		    "'tier-idle'", pol->name);
		return -1;
	}
	if (pol->tier_to[0] == '\0' && (pol->tier_after != 0 || pol->tier_idle != 0)) {
		snprintf(why, len, "policy '%s' has '%s' but no 'tier-to'", pol->name,
		    pol->tier_after != 0 ? "tier-after" : "tier-idle");
		return -1;
	}
	return 0;
}
