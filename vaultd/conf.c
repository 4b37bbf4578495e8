/*
 * vaultd.conf: lines, words, blocks and policy references
 * (spec/vaultd.conf.md). One value, the struct conf itself and the
 * allocation hook are in conf_values.c.
 *
 * The parser reads the text line by line into a fixed buffer, splits it into
 * at most MAX_WORDS words, and looks the first word up in one table of
 * directives keyed by (word, block). Policy references are kept aside and
 * resolved at the end, because a tenant may name a policy defined further
 * down and the policies array may move while it grows.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_internal.h"
#include "vsp.h"

/* "replicate-to" and its most targets, and one word more, to name it as
 * the extra one ("DIRECTIVE NAME {" needs only 4). */
#define MAX_WORDS (CONF_REPLICATE_MAX + 2)
/* tenant NAME { vault NAME { } } */
#define MAX_DEPTH 2
/* How a word from the file is quoted in a message (long ones cut). */
#define Q "'%.64s'"
#define NAME_RULE "1 to 63 of a-z 0-9 . _ -, starting with a letter or digit"

enum scope { TOP, BACKEND, POLICY, TENANT, VAULT, TARGET };

static const char *const scope_where[] = {
	"at top level", "in a backend block", "in a policy block",
	"in a tenant block", "in a vault block", "in a target block",
};

enum kind {
	K_BLOCK, K_LISTEN, K_PATH, K_TYPE, K_SIZE, K_OBJSIZE, K_TIMEOUT,
	K_CONNS, K_COUNT, K_DURATION, K_GRACE, K_POLICY,
	K_TTYPE, K_URL, K_NAME, K_PREFIX, K_BOOL, K_TARGETS, K_WORKERS,
	K_PLISTEN, K_COPIES, K_LOGTO,
};

struct directive {
	const char *word;
	enum scope scope;   /* where it may appear */
	enum kind kind;
	size_t off;         /* of the field in the block's struct */
	enum scope opens;   /* K_BLOCK: the block it opens */
};

#define DV(w, s, k, type, field) { w, s, k, offsetof(type, field), TOP }
#define DB(w, s, opens) { w, s, K_BLOCK, 0, opens }

static const struct directive directives[] = {
	{ "listen", TOP, K_LISTEN, 0, TOP },
	DV("data", TOP, K_PATH, struct conf, data_dir),
	DV("max-object-size", TOP, K_OBJSIZE, struct conf, max_object_size),
	DV("reserve", TOP, K_SIZE, struct conf, reserve),
	DV("verify-before-send", TOP, K_SIZE, struct conf, verify_before_send),
	DV("header-timeout", TOP, K_TIMEOUT, struct conf, header_timeout_ms),
	DV("idle-timeout", TOP, K_TIMEOUT, struct conf, idle_timeout_ms),
	DV("body-timeout", TOP, K_TIMEOUT, struct conf, body_timeout_ms),
	DV("max-connections", TOP, K_CONNS, struct conf, max_connections),
	DB("backend", TOP, BACKEND),
	DB("policy", TOP, POLICY),
	DB("tenant", TOP, TENANT),
	DB("target", TOP, TARGET),
	DV("replicate-bandwidth", TOP, K_SIZE, struct conf, replicate_bandwidth),
	DV("replicate-workers", TOP, K_WORKERS, struct conf, replicate_workers),
	DV("scrub-rate", TOP, K_SIZE, struct conf, scrub_rate),
	DV("tier-rate", TOP, K_SIZE, struct conf, tier_rate),
	DV("posture-listen", TOP, K_PLISTEN, struct conf, posture_listen),
	DV("log-to", TOP, K_LOGTO, struct conf, log_to),
	DV("type", TARGET, K_TTYPE, struct conf_target, type),
	DV("url", TARGET, K_URL, struct conf_target, url),
	DV("vault", TARGET, K_NAME, struct conf_target, vault),
	DV("token-file", TARGET, K_PATH, struct conf_target, token_file),
	DV("endpoint", TARGET, K_URL, struct conf_target, endpoint),
	DV("region", TARGET, K_NAME, struct conf_target, region),
	DV("bucket", TARGET, K_NAME, struct conf_target, bucket),
	DV("prefix", TARGET, K_PREFIX, struct conf_target, prefix),
	DV("path-style", TARGET, K_BOOL, struct conf_target, path_style),
	DV("credentials-file", TARGET, K_PATH, struct conf_target, credentials_file),
	DV("type", BACKEND, K_TYPE, struct conf_backend, type),
	DV("path", BACKEND, K_PATH, struct conf_backend, path),
	DV("cartridge-size", BACKEND, K_OBJSIZE, struct conf_backend, cartridge_size),
	DV("endpoint", BACKEND, K_URL, struct conf_backend, endpoint),
	DV("region", BACKEND, K_NAME, struct conf_backend, region),
	DV("bucket", BACKEND, K_NAME, struct conf_backend, bucket),
	DV("prefix", BACKEND, K_PREFIX, struct conf_backend, prefix),
	DV("path-style", BACKEND, K_BOOL, struct conf_backend, path_style),
	DV("credentials-file", BACKEND, K_PATH, struct conf_backend, credentials_file),
	DV("keep-last", POLICY, K_COUNT, struct conf_policy, keep_last),
	DV("keep-hourly", POLICY, K_COUNT, struct conf_policy, keep_hourly),
	DV("keep-daily", POLICY, K_COUNT, struct conf_policy, keep_daily),
	DV("keep-weekly", POLICY, K_COUNT, struct conf_policy, keep_weekly),
	DV("keep-monthly", POLICY, K_COUNT, struct conf_policy, keep_monthly),
	DV("keep-yearly", POLICY, K_COUNT, struct conf_policy, keep_yearly),
	DV("keep-within", POLICY, K_DURATION, struct conf_policy, keep_within),
	DV("lock", POLICY, K_DURATION, struct conf_policy, lock),
	DV("gc-grace", POLICY, K_GRACE, struct conf_policy, gc_grace),
	DV("gc-every", POLICY, K_DURATION, struct conf_policy, gc_every),
	DV("scrub-every", POLICY, K_DURATION, struct conf_policy, scrub_every),
	DV("rpo", POLICY, K_DURATION, struct conf_policy, rpo),
	DV("copies", POLICY, K_COPIES, struct conf_policy, copies),
	DV("quota", POLICY, K_SIZE, struct conf_policy, quota),
	DV("replicate-to", POLICY, K_TARGETS, struct conf_policy, replicate_to),
	DV("tier-to", POLICY, K_NAME, struct conf_policy, tier_to),
	DV("tier-after", POLICY, K_DURATION, struct conf_policy, tier_after),
	DV("tier-idle", POLICY, K_DURATION, struct conf_policy, tier_idle),
	{ "policy", TENANT, K_POLICY, 0, TOP },
	DV("quota", TENANT, K_SIZE, struct conf_tenant, quota),
	DB("vault", TENANT, VAULT),
	{ "policy", VAULT, K_POLICY, 0, TOP },
	DV("quota", VAULT, K_SIZE, struct conf_vault, quota),
};

#define NDIRECTIVES (sizeof(directives) / sizeof(directives[0]))

/* A "policy NAME" line in a tenant or vault block, resolved at the end. */
struct ref {
	size_t tenant, vault;   /* vault == SIZE_MAX: the tenant's own */
	unsigned line;
	char name[VSP_NAME_MAX + 1];
};

/* A "replicate-to" line, checked against the targets at the end. */
struct tref {
	size_t policy;
	unsigned line;
};

struct parser {
	const char *path;
	unsigned line;
	char *err;
	size_t errlen;
	struct conf *c;
	int depth;                              /* open blocks */
	enum scope scope[MAX_DEPTH + 1];        /* scope[depth] is current */
	unsigned opened[MAX_DEPTH + 1];         /* line of each open block */
	unsigned seen[MAX_DEPTH + 1][NDIRECTIVES]; /* line set on, 0 = not */
	size_t cap_listens, cap_backends, cap_policies, cap_tenants, cap_vaults, cap_targets;
	struct ref *refs;
	size_t nrefs, cap_refs;
	struct tref *trefs;
	size_t ntrefs, cap_trefs;
	struct tref *tiers;                     /* tier-to lines */
	size_t ntiers, cap_tiers;
	char *words[MAX_WORDS];
	size_t nwords;
	char buf[CONF_LINE_MAX + 1];
};

/* Writes "path:line: message" to the caller's err. Returns -1. */
static int perr_at(struct parser *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr_at(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->errlen == 0)
		return -1;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->path, line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

#define perr(p, ...) perr_at((p), (p)->line, __VA_ARGS__)

/* Writes "path: message", for the file as a whole. Returns -1. */
static int
file_err(const char *path, char *err, size_t errlen, const char *msg)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s: %s", path != NULL ? path : "(config)", msg);
	return -1;
}

static int
oom(struct parser *p)
{
	return file_err(p->path, p->err, p->errlen, "out of memory");
}

/* Checks one line (len bytes, no newline) and splits it into p->words. A
 * '#' that begins a word begins a comment. Returns 0, or -1. */
static int
split_line(struct parser *p, const char *s, size_t len)
{
	char *q = p->buf;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (len > CONF_LINE_MAX)
		return perr(p, "line is longer than %d bytes", CONF_LINE_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return perr(p, "line holds a control character (byte 0x%02x)", ch);
	}
	memcpy(p->buf, s, len);
	p->buf[len] = '\0';
	p->nwords = 0;
	for (;;) {
		q += strspn(q, " \t");
		if (*q == '\0' || *q == '#' || p->nwords == MAX_WORDS)
			break;
		p->words[p->nwords++] = q;
		q += strcspn(q, " \t");
		if (*q != '\0')
			*q++ = '\0';
	}
	return 0;
}

static const struct directive *
lookup(const char *word, enum scope scope)
{
	for (size_t i = 0; i < NDIRECTIVES; i++)
		if (directives[i].scope == scope && strcmp(directives[i].word, word) == 0)
			return &directives[i];
	return NULL;
}

/* The struct the current block fills in (the conf itself at top level). */
static void *
block_base(struct parser *p)
{
	struct conf *c = p->c;
	struct conf_tenant *t;

	switch (p->scope[p->depth]) {
	case BACKEND:
		return &c->backends[c->nbackends - 1];
	case POLICY:
		return &c->policies[c->npolicies - 1];
	case TENANT:
		return &c->tenants[c->ntenants - 1];
	case VAULT:
		t = &c->tenants[c->ntenants - 1];
		return &t->vaults[t->nvaults - 1];
	case TARGET:
		return &c->targets[c->ntargets - 1];
	case TOP:
		break;
	}
	return c;
}

/* A word that is no directive here: say where it belongs, if anywhere. */
static int
misplaced(struct parser *p, const char *w)
{
	enum scope here = p->scope[p->depth];

	for (size_t i = 0; i < NDIRECTIVES; i++)
		if (strcmp(directives[i].word, w) == 0)
			return perr(p, "'%s' does not belong %s; it goes %s", w,
			    scope_where[here], scope_where[directives[i].scope]);
	return perr(p, "unknown directive " Q " %s", w, scope_where[here]);
}

static int
check_name(struct parser *p, const char *what, const char *name)
{
	size_t len = strlen(name);

	if (len > 1 && name[len - 1] == '{')
		return perr(p, "put a space before the '{' in " Q, name);
	if (!vsp_name_valid(name, len))
		return perr(p, "bad %s name " Q " (" NAME_RULE ")", what, name);
	return 0;
}

/* Checks "WORD NAME {" for a block directive. Returns 0, or -1. */
static int
check_block_line(struct parser *p, const struct directive *d)
{
	if (p->nwords < 2)
		return perr(p, "'%s' wants a name and '{', as in '%s NAME {'", d->word,
		    d->word);
	if (check_name(p, d->word, p->words[1]) != 0)
		return -1;
	if (p->nwords < 3)
		return perr(p, "'%s %s' opens a block: end the line with '{'", d->word,
		    p->words[1]);
	if (strcmp(p->words[2], "{") != 0)
		return perr(p, "expected '{' after '%s %s', not " Q, d->word,
		    p->words[1], p->words[2]);
	if (p->nwords > 3)
		return perr(p, "extra word " Q " after '{' (a block's contents go on "
		    "the next lines)", p->words[3]);
	return 0;
}

/* Finds name among n structs of size bytes that each begin with a name. */
static int
name_taken(const void *arr, size_t n, size_t size, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp((const char *)arr + i * size, name) == 0)
			return 1;
	return 0;
}

/*
 * Appends a zeroed element named p->words[1] to arr (n elements of size
 * bytes, room for *cap) after checking that the name is new and the count
 * below max. Returns the array, perhaps moved (the caller stores it back),
 * or NULL with the error written.
 */
static void *
add_named(struct parser *p, void *arr, size_t *n, size_t *cap, size_t size,
    size_t max, const char *what)
{
	const char *name = p->words[1];
	char *grown, *e;

	if (name_taken(arr, *n, size, name)) {
		perr(p, "duplicate %s name " Q " (already defined above)", what, name);
		return NULL;
	}
	if (*n >= max) {
		perr(p, "too many %s blocks (at most %zu) at " Q, what, max, name);
		return NULL;
	}
	if ((grown = conf__grow(arr, cap, *n, size)) == NULL) {
		oom(p);
		return NULL;
	}
	e = grown + *n * size;
	memset(e, 0, size);
	memcpy(e, name, strlen(name) + 1);  /* check_name(): it fits */
	(*n)++;
	return grown;
}

static int
add_block(struct parser *p, enum scope what)
{
	struct conf *c = p->c;
	struct conf_tenant *t;
	void *a;

	switch (what) {
	case BACKEND:
		if ((a = add_named(p, c->backends, &c->nbackends, &p->cap_backends,
		    sizeof(*c->backends), CONF_BACKENDS_MAX, "backend")) == NULL)
			return -1;
		c->backends = a;
		break;
	case POLICY:
		if ((a = add_named(p, c->policies, &c->npolicies, &p->cap_policies,
		    sizeof(*c->policies), CONF_POLICIES_MAX, "policy")) == NULL)
			return -1;
		c->policies = a;
		c->policies[c->npolicies - 1].gc_grace = CONF_DEFAULT_GC_GRACE;
		break;
	case TENANT:
		if ((a = add_named(p, c->tenants, &c->ntenants, &p->cap_tenants,
		    sizeof(*c->tenants), CONF_TENANTS_MAX, "tenant")) == NULL)
			return -1;
		c->tenants = a;
		p->cap_vaults = 0;
		break;
	case VAULT:
		t = &c->tenants[c->ntenants - 1];
		if ((a = add_named(p, t->vaults, &t->nvaults, &p->cap_vaults,
		    sizeof(*t->vaults), CONF_VAULTS_MAX, "vault")) == NULL)
			return -1;
		t->vaults = a;
		break;
	case TARGET:
		if ((a = add_named(p, c->targets, &c->ntargets, &p->cap_targets,
		    sizeof(*c->targets), CONF_TARGETS_MAX, "target")) == NULL)
			return -1;
		c->targets = a;
		break;
	case TOP:
		break;
	}
	return 0;
}

static int
open_block(struct parser *p, const struct directive *d)
{
	if (check_block_line(p, d) != 0 || p->depth >= MAX_DEPTH ||
	    add_block(p, d->opens) != 0)
		return -1;
	p->depth++;
	p->scope[p->depth] = d->opens;
	p->opened[p->depth] = p->line;
	memset(p->seen[p->depth], 0, sizeof(p->seen[p->depth]));
	return 0;
}

/* "WORD NAME" of the innermost open block, for messages. */
static const char *
block_word(struct parser *p)
{
	static const char *const words[] = {
		"", "backend", "policy", "tenant", "vault", "target",
	};

	return words[p->scope[p->depth]];
}

/* A directive of the other target type, by its word, or NULL. */
static const char *
foreign_field(const struct conf_target *t)
{
	if (strcmp(t->type, "vault") == 0)
		return t->endpoint[0] ? "endpoint" : t->region[0] ? "region" :
		    t->bucket[0] ? "bucket" : t->prefix[0] ? "prefix" :
		    t->path_style ? "path-style" : t->credentials_file[0] ? "credentials-file" :
		    NULL;
	return t->url[0] ? "url" : t->vault[0] ? "vault" : t->token_file[0] ? "token-file" :
	    NULL;
}

/* At a target block's '}': its type and the directives the type needs. */
static int
check_target(struct parser *p, const struct conf_target *t)
{
	unsigned at = p->opened[p->depth];
	const char *missing = NULL, *extra;

	if (t->type[0] == '\0')
		return perr_at(p, at, "target '%s' has no 'type' (vault or s3)", t->name);
	if (strcmp(t->type, "vault") == 0)
		missing = !t->url[0] ? "url" : !t->token_file[0] ? "token-file" : NULL;
	else
		missing = !t->endpoint[0] ? "endpoint" : !t->region[0] ? "region" :
		    !t->bucket[0] ? "bucket" : !t->credentials_file[0] ? "credentials-file" : NULL;
	if (missing != NULL)
		return perr_at(p, at, "target '%s' of type %s has no '%s'", t->name, t->type,
		    missing);
	if ((extra = foreign_field(t)) != NULL)
		return perr_at(p, at, "target '%s' of type %s takes no '%s'", t->name, t->type,
		    extra);
	return 0;
}

static int
close_block(struct parser *p)
{
	struct conf_backend *b;
	char why[256];

	if (p->nwords > 1)
		return perr(p, "'}' must stand alone on its line, not before " Q,
		    p->words[1]);
	if (p->depth == 0)
		return perr(p, "'}' closes no open block");
	if (p->scope[p->depth] == TARGET && check_target(p, block_base(p)) != 0)
		return -1;
	if (p->scope[p->depth] == BACKEND) {
		b = block_base(p);
		if (b->type[0] == '\0')
			return perr_at(p, p->opened[p->depth],
			    "backend '%s' has no 'type'", b->name);
		if (conf__backend_problem(b, p->c->nbackends == 1, why, sizeof(why)) != 0)
			return perr_at(p, p->opened[p->depth], "%s", why);
	}
	if (p->scope[p->depth] == POLICY &&
	    conf__tier_problem(block_base(p), why, sizeof(why)) != 0)
		return perr_at(p, p->opened[p->depth], "%s", why);
	p->depth--;
	return 0;
}

static int
add_listen(struct parser *p, const char *v)
{
	struct conf *c = p->c;
	struct conf_listen l, *grown;
	const char *why;

	if (conf__parse_listen(v, &l, &why) != 0)
		return perr(p, "listen address " Q " %s", v, why);
	for (size_t i = 0; i < c->nlistens; i++)
		if (c->listens[i].port == l.port && strcmp(c->listens[i].host, l.host) == 0)
			return perr(p, "listen address " Q " is given twice", v);
	if (c->nlistens >= CONF_LISTENS_MAX)
		return perr(p, "too many listen addresses (at most %d) at " Q,
		    CONF_LISTENS_MAX, v);
	if ((grown = conf__grow(c->listens, &p->cap_listens, c->nlistens,
	    sizeof(*grown))) == NULL)
		return oom(p);
	c->listens = grown;
	c->listens[c->nlistens++] = l;
	return 0;
}

/* "posture-listen ADDR:PORT": the posture page's address (spec/posture.md). */
static int
set_posture_listen(struct parser *p, const char *v)
{
	const char *why;

	if (conf__parse_listen(v, &p->c->posture_listen, &why) != 0)
		return perr(p, "posture-listen address " Q " %s", v, why);
	p->c->has_posture_listen = 1;
	return 0;
}

static int
add_ref(struct parser *p, const char *name)
{
	struct conf_tenant *t = &p->c->tenants[p->c->ntenants - 1];
	struct ref *grown, *r;

	if (check_name(p, "policy", name) != 0)
		return -1;
	if ((grown = conf__grow(p->refs, &p->cap_refs, p->nrefs, sizeof(*grown))) == NULL)
		return oom(p);
	p->refs = grown;
	r = &p->refs[p->nrefs++];
	r->tenant = p->c->ntenants - 1;
	r->vault = p->scope[p->depth] == VAULT ? t->nvaults - 1 : SIZE_MAX;
	r->line = p->line;
	memcpy(r->name, name, strlen(name) + 1);
	return 0;
}

/* The values of target blocks and replicate-* lines. */
static int
set_repl_value(struct parser *p, const struct directive *d, char *f, const char *v)
{
	const char *why;
	uint64_t n;

	switch (d->kind) {
	case K_TTYPE:
		if (strcmp(v, "vault") != 0 && strcmp(v, "s3") != 0)
			return perr(p, "unknown target type " Q " (vault or s3)", v);
		return conf__copy(f, sizeof(((struct conf_target *)0)->type), v);
	case K_URL:
		if (strlen(v) >= CONF_URL_MAX)
			return perr(p, "'%s' is longer than %d bytes", d->word, CONF_URL_MAX - 1);
		if (conf__check_url(v, &why) != 0)
			return perr(p, "'%s' " Q " %s", d->word, v, why);
		return conf__copy(f, CONF_URL_MAX, v);
	case K_NAME:
		return check_name(p, d->word, v) != 0 ? -1 : conf__copy(f, VSP_NAME_MAX + 1, v);
	case K_PREFIX:
		if (conf__copy(f, CONF_PREFIX_MAX, v) != 0)
			return perr(p, "'prefix' is longer than %d bytes", CONF_PREFIX_MAX - 1);
		return 0;
	case K_BOOL:
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return perr(p, "'%s' wants yes or no, not " Q, d->word, v);
		*(int *)(void *)f = strcmp(v, "yes") == 0;
		return 0;
	default: /* K_WORKERS */
		if (conf__parse_u64(v, &n) != 0 || n == 0 || n > CONF_WORKERS_MAX)
			return perr(p, "'%s' must be between 1 and %d, not " Q, d->word,
			    CONF_WORKERS_MAX, v);
		*(unsigned *)(void *)f = (unsigned)n;
		return 0;
	}
}

/* "replicate-to NAME [NAME...]" in a policy: the names, checked against
 * the target blocks once the whole file is read. */
static int
set_targets(struct parser *p)
{
	struct conf_policy *pol = block_base(p);
	struct tref *grown;

	if (p->nwords > CONF_REPLICATE_MAX + 1)
		return perr(p, "'replicate-to' names at most %d targets; " Q " is one too many",
		    CONF_REPLICATE_MAX, p->words[CONF_REPLICATE_MAX + 1]);
	for (size_t i = 1; i < p->nwords; i++) {
		if (check_name(p, "target", p->words[i]) != 0)
			return -1;
		for (size_t j = 1; j < i; j++)
			if (strcmp(p->words[i], p->words[j]) == 0)
				return perr(p, "target " Q " is named twice", p->words[i]);
		memcpy(pol->replicate_to[i - 1], p->words[i], strlen(p->words[i]) + 1);
	}
	pol->nreplicate = (unsigned)(p->nwords - 1);
	if ((grown = conf__grow(p->trefs, &p->cap_trefs, p->ntrefs, sizeof(*grown))) == NULL)
		return oom(p);
	p->trefs = grown;
	p->trefs[p->ntrefs].policy = p->c->npolicies - 1;
	p->trefs[p->ntrefs++].line = p->line;
	return 0;
}

static int
set_type(struct parser *p, char *type, const char *v)
{
	if (strcmp(v, "fs") == 0 || strcmp(v, "s3") == 0 || strcmp(v, "archive") == 0)
		return conf__copy(type, sizeof(((struct conf_backend *)0)->type), v);
	if (strcmp(v, "vault") == 0)
		return perr(p, "backend type " Q " is not supported yet (fs, s3 or archive)", v);
	return perr(p, "unknown backend type " Q " (fs, s3, vault or archive)", v);
}

/* Parses v as a number of the directive's kind into *n, checking range. */
static int
number_value(struct parser *p, const struct directive *d, const char *v,
    uint64_t *n)
{
	switch (d->kind) {
	case K_SIZE:
	case K_OBJSIZE:
		if (conf_parse_size(v, n) != 0)
			return perr(p, "bad size " Q " for '%s' (bytes, or a whole "
			    "number with K, M, G or T, below 16 EiB)", v, d->word);
		if (d->kind == K_OBJSIZE && *n == 0)
			return perr(p, "'%s' must be more than 0", d->word);
		return 0;
	case K_TIMEOUT:
	case K_DURATION:
	case K_GRACE:
		if (conf_parse_duration(v, n) != 0)
			return perr(p, "bad duration " Q " for '%s' (a whole number "
			    "with s, m, h, d, w or y)", v, d->word);
		if (d->kind == K_TIMEOUT && (*n == 0 || *n > CONF_TIMEOUT_MAX))
			return perr(p, "'%s' must be between 1s and 1d, not " Q, d->word, v);
		if (d->kind == K_GRACE && *n == 0)
			return perr(p, "'%s' must be more than 0", d->word);
		return 0;
	default:
		break;
	}
	if (conf__parse_u64(v, n) != 0)
		return perr(p, "bad number " Q " for '%s'", v, d->word);
	if (d->kind == K_CONNS && (*n == 0 || *n > CONF_CONNECTIONS_MAX))
		return perr(p, "'%s' must be between 1 and %d, not " Q, d->word,
		    CONF_CONNECTIONS_MAX, v);
	if (d->kind == K_COPIES && (*n == 0 || *n > CONF_COPIES_MAX))
		return perr(p, "'%s' must be between 1 and %d, not " Q, d->word, CONF_COPIES_MAX,
		    v);
	if (d->kind == K_COUNT && *n > CONF_KEEP_MAX)
		return perr(p, "'%s' must be at most %d, not " Q, d->word, CONF_KEEP_MAX, v);
	return 0;
}

static int
set_value(struct parser *p, const struct directive *d, const char *v)
{
	char *f = (char *)block_base(p) + d->off;
	uint64_t n;

	switch (d->kind) {
	case K_LISTEN:
		return add_listen(p, v);
	case K_POLICY:
		return add_ref(p, v);
	case K_PLISTEN:
		return set_posture_listen(p, v);
	case K_TYPE:
		return set_type(p, f, v);
	case K_LOGTO:
		if (strcmp(v, "stderr") != 0 && strcmp(v, "syslog") != 0)
			return perr(p, "unknown log destination " Q " (stderr or syslog)", v);
		return conf__copy(f, sizeof(((struct conf *)0)->log_to), v);
	case K_PATH:
		if (conf__copy(f, CONF_PATH_MAX, v) != 0)
			return perr(p, "'%s' path is longer than %d bytes", d->word,
			    CONF_PATH_MAX - 1);
		return 0;
	case K_TTYPE:
	case K_URL:
	case K_NAME:
	case K_PREFIX:
	case K_BOOL:
	case K_WORKERS:
		return set_repl_value(p, d, f, v);
	default:
		break;
	}
	if (number_value(p, d, v, &n) != 0)
		return -1;
	if (d->kind == K_TIMEOUT)
		*(unsigned *)(void *)f = (unsigned)(n * 1000);
	else if (d->kind == K_CONNS || d->kind == K_COUNT || d->kind == K_COPIES)
		*(unsigned *)(void *)f = (unsigned)n;
	else
		*(uint64_t *)(void *)f = n;
	return 0;
}

/* A tier-to line, checked against the backends once the file is read. */
static int
add_tier_ref(struct parser *p)
{
	struct tref *grown;

	if ((grown = conf__grow(p->tiers, &p->cap_tiers, p->ntiers, sizeof(*grown))) == NULL)
		return oom(p);
	p->tiers = grown;
	p->tiers[p->ntiers].policy = p->c->npolicies - 1;
	p->tiers[p->ntiers++].line = p->line;
	return 0;
}

static int
do_directive(struct parser *p, const struct directive *d)
{
	const char *w = d->word;
	unsigned *seen = &p->seen[p->depth][d - directives];

	if (p->nwords < 2)
		return perr(p, "'%s' is missing its value", w);
	if (p->nwords > 2 && strcmp(p->words[2], "{") == 0)
		return perr(p, "'%s' opens no block %s: write '%s VALUE'", w,
		    scope_where[d->scope], w);
	if (d->kind == K_TARGETS && *seen == 0) {
		if (set_targets(p) != 0)
			return -1;
		*seen = p->line;
		return 0;
	}
	if (p->nwords > 2 && d->kind != K_TARGETS)
		return perr(p, "extra argument " Q " after '%s %.64s'", p->words[2], w,
		    p->words[1]);
	if (d->kind != K_LISTEN && *seen != 0)
		return perr(p, "duplicate '%s' (already set on line %u)", w, *seen);
	if (set_value(p, d, p->words[1]) != 0)
		return -1;
	*seen = p->line;
	if (d->off == offsetof(struct conf_policy, tier_to) && d->scope == POLICY)
		return add_tier_ref(p);
	return 0;
}

static int
do_line(struct parser *p)
{
	const struct directive *d;
	const char *w;

	if (p->nwords == 0)
		return 0;
	w = p->words[0];
	if (strcmp(w, "}") == 0)
		return close_block(p);
	if (strcmp(w, "{") == 0)
		return perr(p, "'{' must end the line that names the block, as in "
		    "'policy NAME {'");
	if ((d = lookup(w, p->scope[p->depth])) == NULL)
		return misplaced(p, w);
	if (d->kind == K_BLOCK)
		return open_block(p, d);
	return do_directive(p, d);
}

static int
parse_lines(struct parser *p, const char *text, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;

		p->line++;
		if (split_line(p, s, n) != 0 || do_line(p) != 0)
			return -1;
		pos += n + (nl != NULL);
	}
	return 0;
}

static int
resolve_refs(struct parser *p)
{
	struct conf *c = p->c;

	for (size_t i = 0; i < p->nrefs; i++) {
		const struct ref *r = &p->refs[i];
		struct conf_tenant *t = &c->tenants[r->tenant];
		const struct conf_policy *pol = NULL;

		for (size_t j = 0; j < c->npolicies && pol == NULL; j++)
			if (strcmp(c->policies[j].name, r->name) == 0)
				pol = &c->policies[j];
		if (pol == NULL)
			return perr_at(p, r->line, "policy '%s' is not defined", r->name);
		if (r->vault == SIZE_MAX)
			t->policy = pol;
		else
			t->vaults[r->vault].policy = pol;
	}
	return 0;
}

/* Every replicate-to names a target block. */
static int
resolve_targets(struct parser *p)
{
	for (size_t i = 0; i < p->ntrefs; i++) {
		const struct conf_policy *pol = &p->c->policies[p->trefs[i].policy];

		for (unsigned j = 0; j < pol->nreplicate; j++)
			if (conf_target_find(p->c, pol->replicate_to[j]) == NULL)
				return perr_at(p, p->trefs[i].line, "target '%s' is not defined",
				    pol->replicate_to[j]);
	}
	return 0;
}

/* Every tier-to names a backend other than the first (the hot one). */
static int
resolve_tiers(struct parser *p)
{
	for (size_t i = 0; i < p->ntiers; i++) {
		const char *name = p->c->policies[p->tiers[i].policy].tier_to;
		int idx = conf_backend_index(p->c, name);

		if (idx < 0)
			return perr_at(p, p->tiers[i].line, "backend '%s' is not defined", name);
		if (idx == 0)
			return perr_at(p, p->tiers[i].line, "'tier-to' names backend '%s', the "
			    "first one, where uploads go; name a colder one", name);
	}
	return 0;
}

static int
finish(struct parser *p)
{
	if (p->depth > 0)
		return perr_at(p, p->opened[p->depth], "'%s %s' is not closed: a '}' "
		    "is missing", block_word(p), (const char *)block_base(p));
	if (p->c->nlistens == 0 && conf__add_default_listen(p->c) != 0)
		return oom(p);
	if (resolve_targets(p) != 0)
		return -1;
	if (resolve_tiers(p) != 0)
		return -1;
	return resolve_refs(p);
}

int
conf_parse(const char *path, const char *text, size_t len, struct conf **out,
    char *err, size_t errlen)
{
	struct parser *p;
	int rc = -1;

	if (path == NULL)
		path = "(config)";
	if (len > CONF_FILE_MAX)
		return file_err(path, err, errlen, "file is larger than 1 MiB");
	/* The parser holds a line buffer of CONF_LINE_MAX: keep it off the stack. */
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return file_err(path, err, errlen, "out of memory");
	p->path = path;
	p->err = err;
	p->errlen = errlen;
	if ((p->c = conf__new()) == NULL) {
		oom(p);
		goto out;
	}
	if (parse_lines(p, text, len) != 0 || finish(p) != 0) {
		conf_free(p->c);
		goto out;
	}
	*out = p->c;
	rc = 0;
out:
	free(p->refs);
	free(p->trefs);
	free(p->tiers);
	free(p);
	return rc;
}

int
conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
	FILE *f;
	char *buf;
	size_t n;
	int rc;

	if ((f = fopen(path, "rb")) == NULL)
		return file_err(path, err, errlen, strerror(errno));
	if ((buf = malloc(CONF_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return file_err(path, err, errlen, "out of memory");
	}
	errno = 0;
	n = fread(buf, 1, CONF_FILE_MAX + 1, f);
	if (ferror(f)) {
		rc = file_err(path, err, errlen, strerror(errno != 0 ? errno : EIO));
		goto out;
	}
	if (n > CONF_FILE_MAX) {
		rc = file_err(path, err, errlen, "file is larger than 1 MiB");
		goto out;
	}
	rc = conf_parse(path, buf, n, out, err, errlen);
out:
	fclose(f);
	free(buf);
	return rc;
}
