/*
 * vaultd.conf below the level of lines and blocks: one value (whole numbers,
 * sizes, durations, listen addresses; spec/vaultd.conf.md, "Values"), the
 * struct conf itself (defaults, freeing, the policy look-up).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_internal.h"

#define DAY (24 * 3600ULL)

void *
conf__grow(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap > 0 ? *cap * 2 : 4;
	if (ncap < *cap || ncap > SIZE_MAX / size)
		return NULL;
	if ((p = realloc(arr, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return p;
}

int
conf__copy(char *dst, size_t size, const char *s)
{
	size_t len = strlen(s);

	if (len >= size)
		return -1;
	memcpy(dst, s, len + 1);
	return 0;
}

/* Parses leading digits and an optional one-character suffix from units (a
 * NUL-terminated string of suffixes, one multiplier each in mults). Returns
 * 0 and *out, or -1. */
static int
parse_with_unit(const char *s, const char *units, const uint64_t *mults,
    uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *u;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (*s != '\0') {
		if (s[1] != '\0' || (u = strchr(units, *s)) == NULL)
			return -1;
		mult = mults[u - units];
	}
	if (v != 0 && mult > UINT64_MAX / v)
		return -1;
	*out = v * mult;
	return 0;
}

int
conf__parse_u64(const char *s, uint64_t *out)
{
	/* No suffix is allowed; mults is never read. */
	return parse_with_unit(s, "", NULL, out);
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	static const uint64_t mults[] = {
		1ULL << 10, 1ULL << 20, 1ULL << 30, 1ULL << 40,
	};

	return parse_with_unit(s, "KMGT", mults, out);
}

int
conf_parse_duration(const char *s, uint64_t *seconds)
{
	static const uint64_t mults[] = {
		1, 60, 3600, DAY, 7 * DAY, 365 * DAY,
	};

	return parse_with_unit(s, "smhdwy", mults, seconds);
}

/* Host characters: names and IPv4 addresses; inside brackets also the
 * colons of IPv6 and '%' for a zone (fe80::1%eth0). */
static int
host_ok(const char *h, size_t len, int bracketed)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')
			continue;
		if (bracketed && (c == ':' || c == '%'))
			continue;
		return 0;
	}
	return 1;
}

int
conf__parse_listen(const char *s, struct conf_listen *out, const char **why)
{
	const char *colon = strrchr(s, ':');
	const char *host = s;
	size_t hlen;
	uint64_t port;
	int bracketed = 0;

	if (colon == NULL || colon == s) {
		*why = "wants HOST:PORT";
		return -1;
	}
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 2 || s[hlen - 1] != ']') {
			*why = "has an unclosed '[' (write [ADDRESS]:PORT)";
			return -1;
		}
		host++;
		hlen -= 2;
		bracketed = 1;
	} else if (memchr(s, ':', hlen) != NULL) {
		*why = "holds an IPv6 address without brackets (write [ADDRESS]:PORT)";
		return -1;
	}
	if (!host_ok(host, hlen, bracketed) || hlen >= sizeof(out->host)) {
		*why = "has a bad host";
		return -1;
	}
	if (conf__parse_u64(colon + 1, &port) != 0 || port > 65535) {
		*why = "has a bad port (0..65535)";
		return -1;
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = (int)port;
	return 0;
}

struct conf *
conf__new(void)
{
	struct conf *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	memcpy(c->data_dir, CONF_DEFAULT_DATA_DIR, sizeof(CONF_DEFAULT_DATA_DIR));
	c->max_object_size = CONF_DEFAULT_MAX_OBJECT_SIZE;
	c->reserve = CONF_DEFAULT_RESERVE;
	c->verify_before_send = CONF_DEFAULT_VERIFY_BEFORE_SEND;
	c->header_timeout_ms = CONF_DEFAULT_HEADER_TIMEOUT_MS;
	c->idle_timeout_ms = CONF_DEFAULT_IDLE_TIMEOUT_MS;
	c->body_timeout_ms = CONF_DEFAULT_BODY_TIMEOUT_MS;
	c->max_connections = CONF_DEFAULT_MAX_CONNECTIONS;
	c->replicate_workers = CONF_DEFAULT_REPLICATE_WORKERS;
	c->scrub_rate = CONF_DEFAULT_SCRUB_RATE;
	memcpy(c->log_to, CONF_DEFAULT_LOG_TO, sizeof(CONF_DEFAULT_LOG_TO));
	return c;
}

int
conf__add_default_listen(struct conf *c)
{
	if ((c->listens = calloc(1, sizeof(*c->listens))) == NULL)
		return -1;
	memcpy(c->listens[0].host, CONF_DEFAULT_LISTEN_HOST,
	    sizeof(CONF_DEFAULT_LISTEN_HOST));
	c->listens[0].port = CONF_DEFAULT_LISTEN_PORT;
	c->nlistens = 1;
	return 0;
}

struct conf *
conf_default(void)
{
	struct conf *c = conf__new();

	if (c != NULL && conf__add_default_listen(c) != 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ntenants; i++)
		free(c->tenants[i].vaults);
	free(c->tenants);
	free(c->targets);
	free(c->policies);
	free(c->backends);
	free(c->listens);
	free(c);
}

const struct conf_target *
conf_target_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->ntargets; i++)
		if (strcmp(c->targets[i].name, name) == 0)
			return &c->targets[i];
	return NULL;
}

/* Characters of a host name or IPv4 address in a URL. */
static int
host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    ch == '.' || ch == '-' || ch == '_';
}

int
conf__check_url(const char *s, const char **why)
{
	const char *p;
	uint64_t port;
	char digits[8];
	size_t n;

	if (strncmp(s, "http://", 7) == 0)
		p = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		p = s + 8;
	else
		return *why = "must begin with http:// or https://", -1;
	if (*p == '[') {
		n = strspn(p + 1, "0123456789abcdefABCDEF:.");
		if (n == 0 || p[1 + n] != ']')
			return *why = "has a bad [IPv6] host", -1;
		p += n + 2;
	} else {
		for (n = 0; host_char(p[n]); n++)
			;
		if (n == 0)
			return *why = "has no host", -1;
		p += n;
	}
	if (*p == ':') {
		n = strspn(p + 1, "0123456789");
		if (n == 0 || n >= sizeof(digits))
			return *why = "has a bad port", -1;
		memcpy(digits, p + 1, n);
		digits[n] = '\0';
		if (conf__parse_u64(digits, &port) != 0 || port == 0 || port > 65535)
			return *why = "has a port outside 1..65535", -1;
		p += n + 1;
	}
	if (strcmp(p, "") != 0 && strcmp(p, "/") != 0)
		return *why = "must be only scheme://HOST[:PORT] (no path, query or user)", -1;
	return 0;
}

const struct conf_policy *
conf_policy_for(const struct conf *c, const char *tenant, const char *vault,
    uint64_t *tenant_quota, uint64_t *vault_quota)
{
	const struct conf_tenant *t = NULL;
	const struct conf_vault *v = NULL;
	const struct conf_policy *pol;

	for (size_t i = 0; i < c->ntenants && t == NULL; i++)
		if (strcmp(c->tenants[i].name, tenant) == 0)
			t = &c->tenants[i];
	for (size_t i = 0; t != NULL && vault != NULL && i < t->nvaults && v == NULL; i++)
		if (strcmp(t->vaults[i].name, vault) == 0)
			v = &t->vaults[i];
	pol = v != NULL && v->policy != NULL ? v->policy : t != NULL ? t->policy : NULL;
	if (tenant_quota != NULL)
		*tenant_quota = t != NULL ? t->quota : 0;
	if (vault_quota != NULL)
		*vault_quota = v != NULL && v->quota != 0 ? v->quota :
		    pol != NULL ? pol->quota : 0;
	return pol;
}
