/*
 * vaultd.conf (vaultd/conf.c, conf_values.c; spec/vaultd.conf.md): the
 * example file parses to the values it spells out; every kind of error
 * names the file, the line and the offending word; sizes and durations at
 * their edges; policy inheritance; and every allocation failing in turn.
 *
 * Paths are relative to the repository root, where `make unit` runs the
 * tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "conf_internal.h"
#include "faultsim.h"

#define EXAMPLE "vaultd.conf.example"
#define DAY (24 * 3600ULL)
#define GiB (1024ULL * 1024 * 1024)

static struct conf *
parse_ok(const char *text)
{
	struct conf *c = NULL;
	char err[512] = "";

	if (conf_parse("t.conf", text, strlen(text), &c, err, sizeof(err)) != 0)
		fail_msg("parse failed: %s\n--- input:\n%s", err, text);
	assert_non_null(c);
	return c;
}

/* conf_parse() must fail on text with "t.conf:LINE: " and word in it. */
static void
parse_err(const char *text, unsigned line, const char *word)
{
	struct conf *c = NULL;
	char err[512] = "", prefix[64];

	snprintf(prefix, sizeof(prefix), "t.conf:%u: ", line);
	if (conf_parse("t.conf", text, strlen(text), &c, err, sizeof(err)) == 0)
		fail_msg("parse succeeded\n--- input:\n%s", text);
	assert_null(c);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, word) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" or \"%s\"\n--- input:\n%s", err,
		    prefix, word, text);
	assert_null(strchr(err, '\n'));
}

static char *
read_example(size_t *len)
{
	FILE *f = fopen(EXAMPLE, "rb");
	char *buf = malloc(CONF_FILE_MAX);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, CONF_FILE_MAX, f);
	assert_true(*len > 0);
	fclose(f);
	return buf;
}

static void
test_example(void **state)
{
	struct conf *c = NULL;
	const struct conf_policy *std, *comp;
	const struct conf_tenant *t;
	char err[256] = "";

	(void)state;
	if (conf_load(EXAMPLE, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->nlistens, 2);
	assert_string_equal(c->listens[0].host, "127.0.0.1");
	assert_int_equal(c->listens[0].port, 8420);
	assert_string_equal(c->listens[1].host, "::1");
	assert_int_equal(c->listens[1].port, 8420);
	assert_string_equal(c->data_dir, "/var/lib/vault");
	assert_true(c->max_object_size == GiB);
	assert_true(c->reserve == 64ULL << 20);
	assert_int_equal(c->header_timeout_ms, 10000);
	assert_int_equal(c->idle_timeout_ms, 60000);
	assert_int_equal(c->body_timeout_ms, 30000);
	assert_int_equal(c->max_connections, 1024);
	assert_string_equal(c->log_to, "stderr");
	assert_int_equal(c->nbackends, 3);
	assert_string_equal(c->backends[0].name, "hot");
	assert_string_equal(c->backends[0].type, "fs");
	assert_string_equal(c->backends[0].path, "/var/lib/vault/objects");
	assert_string_equal(c->backends[1].name, "tape");
	assert_string_equal(c->backends[1].type, "archive");
	assert_string_equal(c->backends[2].name, "cold");
	assert_string_equal(c->backends[2].type, "s3");

	assert_int_equal(c->npolicies, 2);
	std = &c->policies[0];
	assert_string_equal(std->name, "standard");
	assert_int_equal(std->keep_last, 7);
	assert_int_equal(std->keep_hourly, 24);
	assert_int_equal(std->keep_daily, 14);
	assert_int_equal(std->keep_weekly, 8);
	assert_int_equal(std->keep_monthly, 12);
	assert_int_equal(std->keep_yearly, 3);
	assert_true(std->keep_within == 30 * DAY);
	assert_true(std->lock == 30 * DAY);
	assert_true(std->gc_grace == 2 * DAY);
	assert_true(std->gc_every == DAY);
	assert_true(std->quota == 500 * GiB);
	comp = &c->policies[1];
	assert_string_equal(comp->name, "compliance");
	assert_int_equal(comp->keep_last, 0);
	assert_int_equal(comp->keep_daily, 365);
	assert_int_equal(comp->keep_yearly, 7);
	assert_true(comp->lock == 90 * DAY);
	assert_true(comp->gc_grace == CONF_DEFAULT_GC_GRACE);
	assert_true(comp->gc_every == 0 && comp->quota == 0 && comp->keep_within == 0);
	assert_string_equal(comp->tier_to, "tape");
	assert_true(comp->tier_idle == 30 * DAY && comp->tier_after == 0);
	assert_string_equal(std->tier_to, "");

	assert_int_equal(c->ntenants, 2);
	t = &c->tenants[0];
	assert_string_equal(t->name, "acme");
	assert_ptr_equal(t->policy, std);
	assert_true(t->quota == 2048 * GiB);
	assert_int_equal(t->nvaults, 2);
	assert_string_equal(t->vaults[0].name, "laptop");
	assert_ptr_equal(t->vaults[0].policy, std);
	assert_true(t->vaults[0].quota == 100 * GiB);
	assert_string_equal(t->vaults[1].name, "ledger");
	assert_ptr_equal(t->vaults[1].policy, comp);
	assert_true(t->vaults[1].quota == 0);
	t = &c->tenants[1];
	assert_string_equal(t->name, "globex");
	assert_null(t->policy);
	assert_int_equal(t->nvaults, 0);
	assert_null(t->vaults);
	conf_free(c);
}

static void
check_defaults(const struct conf *c)
{
	assert_int_equal(c->nlistens, 1);
	assert_string_equal(c->listens[0].host, "127.0.0.1");
	assert_int_equal(c->listens[0].port, 8420);
	assert_string_equal(c->data_dir, "./var");
	assert_true(c->max_object_size == GiB);
	assert_true(c->reserve == 64ULL << 20);
	assert_int_equal(c->header_timeout_ms, 10000);
	assert_int_equal(c->idle_timeout_ms, 60000);
	assert_int_equal(c->body_timeout_ms, 30000);
	assert_int_equal(c->max_connections, 1024);
	assert_int_equal(c->nbackends + c->npolicies + c->ntenants, 0);
}

static void
test_defaults(void **state)
{
	static const char *const texts[] = {
		"", "\n", "# only a comment\n", "   \t  \n\n# x\n  # indented\n",
		"\r\n", "# no newline at the end",
	};
	struct conf *c;

	(void)state;
	check_defaults(c = conf_default());
	conf_free(c);
	conf_free(NULL);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		check_defaults(c = parse_ok(texts[i]));
		conf_free(c);
	}
	c = parse_ok("log-to syslog\n");
	assert_string_equal(c->log_to, "syslog");
	conf_free(c);
	/* A policy with nothing set: gc-grace still has its default. */
	c = parse_ok("policy p {\n}\n");
	assert_true(c->policies[0].gc_grace == CONF_DEFAULT_GC_GRACE);
	assert_true(c->policies[0].lock == 0 && c->policies[0].keep_last == 0);
	conf_free(c);
}

static void
test_syntax(void **state)
{
	struct conf *c;

	(void)state;
	/* Tabs, CRLF, trailing comments, a '#' inside a word, forward
	 * references, no newline at the end, listen lines replace the default. */
	c = parse_ok("tenant t {\r\n\tpolicy later\t# defined below\r\n}\r\n"
	    "policy later {\n lock 1w\n}\n"
	    "data /srv/a#b # comment\n"
	    "listen 0.0.0.0:0\n"
	    "listen [fe80::1%eth0]:65535\n"
	    "listen localhost:80");
	assert_ptr_equal(c->tenants[0].policy, &c->policies[0]);
	assert_true(c->policies[0].lock == 7 * DAY);
	assert_string_equal(c->data_dir, "/srv/a#b");
	assert_int_equal(c->nlistens, 3);
	assert_string_equal(c->listens[0].host, "0.0.0.0");
	assert_int_equal(c->listens[0].port, 0);
	assert_string_equal(c->listens[1].host, "fe80::1%eth0");
	assert_int_equal(c->listens[1].port, 65535);
	assert_string_equal(c->listens[2].host, "localhost");
	conf_free(c);

	/* Same names in different kinds of block, and the same vault name
	 * under two tenants, are fine. */
	c = parse_ok("backend x {\ntype fs\npath /x\n}\npolicy x {\n}\n"
	    "tenant x {\nvault x {\n}\n}\ntenant y {\nvault x {\n}\n}\n");
	assert_int_equal(c->ntenants, 2);
	conf_free(c);

	/* Limits of values. */
	c = parse_ok("header-timeout 1\nidle-timeout 1d\nbody-timeout 24h\n"
	    "max-connections 1000000\nreserve 0\nmax-object-size 1\n"
	    "policy p {\nkeep-last 1000000\nkeep-daily 0\nlock 0\n"
	    "quota 16777215T\ngc-grace 1\n}\n");
	assert_int_equal(c->header_timeout_ms, 1000);
	assert_int_equal(c->idle_timeout_ms, 86400000);
	assert_int_equal(c->max_connections, 1000000);
	assert_true(c->reserve == 0 && c->max_object_size == 1);
	assert_true(c->policies[0].quota == 16777215ULL << 40);
	assert_true(c->policies[0].gc_grace == 1);
	conf_free(c);
}

/* One text per kind of error, with the line and the quoted word the
 * message must hold. */
static const struct {
	const char *text;
	unsigned line;
	const char *word;
} error_cases[] = {
	/* Unknown directives and misplaced ones. */
	{ "\n\nfrobnicate 1\n", 3, "'frobnicate'" },
	{ "keep-last 7\n", 1, "'keep-last'" },
	{ "vault v {\n}\n", 1, "'vault'" },
	{ "policy p {\n  listen 1.2.3.4:5\n}\n", 2, "'listen'" },
	{ "tenant t {\n  keep-daily 3\n}\n", 2, "'keep-daily'" },
	{ "tenant t {\n  tenant u {\n  }\n}\n", 2, "'tenant'" },
	{ "backend b {\n  quota 1G\n}\n", 2, "'quota'" },
	/* Missing and extra arguments. */
	{ "data\n", 1, "'data'" },
	{ "data /a /b\n", 1, "'/b'" },
	{ "policy p {\n lock\n}\n", 2, "'lock'" },
	{ "policy p {\n lock 1d 2d\n}\n", 2, "'2d'" },
	{ "tenant t {\n policy p {\n }\n}\npolicy p {\n}\n", 2, "'policy'" },
	{ "policy\n", 1, "'policy'" },
	{ "policy p\n", 1, "'policy p'" },
	{ "policy p x\n", 1, "'x'" },
	{ "policy p { lock 1d\n", 1, "'lock'" },
	{ "policy p{\n}\n", 1, "'p{'" },
	{ "} extra\n", 1, "'extra'" },
	{ "{\n", 1, "'{'" },
	/* Bad numbers, sizes, durations, overflow. */
	{ "max-object-size 1.5G\n", 1, "'1.5G'" },
	{ "max-object-size 0\n", 1, "'max-object-size'" },
	{ "reserve 16777216T\n", 1, "'16777216T'" },
	{ "reserve 18446744073709551616\n", 1, "'18446744073709551616'" },
	{ "reserve 1g\n", 1, "'1g'" },
	{ "reserve -1\n", 1, "'-1'" },
	{ "header-timeout 0\n", 1, "'header-timeout'" },
	{ "idle-timeout 2d\n", 1, "'idle-timeout'" },
	{ "body-timeout 1M\n", 1, "'1M'" },
	{ "max-connections 0\n", 1, "'max-connections'" },
	{ "max-connections 1000001\n", 1, "'1000001'" },
	{ "max-connections 12k\n", 1, "'12k'" },
	{ "policy p {\nkeep-last 1000001\n}\n", 2, "'1000001'" },
	{ "policy p {\nkeep-last 7d\n}\n", 2, "'7d'" },
	{ "policy p {\nlock 30days\n}\n", 2, "'30days'" },
	{ "policy p {\nlock 584942417356y\n}\n", 2, "'584942417356y'" },
	{ "policy p {\ngc-grace 0\n}\n", 2, "'gc-grace'" },
	{ "policy p {\nquota 5X\n}\n", 2, "'5X'" },
	/* Listen addresses. */
	{ "listen 8420\n", 1, "'8420'" },
	{ "listen ::1:8420\n", 1, "'::1:8420'" },
	{ "listen [::1:8420\n", 1, "'[::1:8420'" },
	{ "listen 1.2.3.4:65536\n", 1, "'1.2.3.4:65536'" },
	{ "listen :80\n", 1, "':80'" },
	{ "listen a/b:80\n", 1, "'a/b:80'" },
	{ "listen a:80\nlisten a:80\n", 2, "'a:80'" },
	/* Backends. */
	{ "backend b {\n type vault\n}\n", 2, "'vault'" },
	{ "backend b {\n type s3\n}\n", 1, "'endpoint'" },
	{ "backend h {\ntype fs\npath /h\n}\nbackend b {\ntype s3\nendpoint http://x\n"
	  "region r\nbucket bkt\npath /x\ncredentials-file /c\n}\n", 5, "'path'" },
	{ "backend b {\n type archive\n path /a\n}\n", 1, "'fs'" },
	{ "backend b {\n type fs\n path /a\n cartridge-size 1G\n}\n", 1, "'cartridge-size'" },
	{ "backend b {\n type fs\n path /a\n bucket x\n}\n", 1, "'bucket'" },
	{ "backend b {\n type archive\n cartridge-size 0\n}\n", 3, "'cartridge-size'" },
	{ "policy p {\n tier-to cold\n}\n", 1, "'tier-after'" },
	{ "policy p {\n tier-idle 1d\n}\n", 1, "'tier-to'" },
	{ "policy p {\n tier-to cold\n tier-after 1d\n}\n", 2, "'cold'" },
	{ "backend hot {\ntype fs\npath /h\n}\npolicy p {\n tier-to hot\n tier-after 1d\n}\n",
	  6, "'hot'" },
	{ "policy p {\n tier-after 1x\n}\n", 2, "'1x'" },
	{ "backend b {\n type ftp\n}\n", 2, "'ftp'" },
	{ "log-to file\n", 1, "'file'" },
	{ "log-to syslog\nlog-to stderr\n", 2, "'log-to'" },
	{ "policy p {\n log-to syslog\n}\n", 2, "'log-to'" },
	{ "backend b {\n path /x\n}\n", 1, "'b'" },
	{ "backend b {\n type fs\n}\n", 1, "'path'" },
	/* Duplicates. */
	{ "policy standard {\n}\npolicy standard {\n}\n", 3, "'standard'" },
	{ "tenant acme {\n}\n\ntenant acme {\n}\n", 4, "'acme'" },
	{ "tenant t {\nvault v {\n}\nvault v {\n}\n}\n", 4, "'v'" },
	{ "backend b {\ntype fs\npath /\n}\nbackend b {\n", 5, "'b'" },
	{ "data /a\ndata /b\n", 2, "'data'" },
	{ "policy p {\nlock 1d\nlock 2d\n}\n", 3, "'lock'" },
	{ "backend b {\ntype fs\ntype fs\n}\n", 3, "'type'" },
	{ "policy p {\n}\ntenant t {\npolicy p\nvault v {\n}\npolicy p\n}\n", 7,
	    "'policy'" },
	/* References. */
	{ "tenant t {\n  policy nope\n}\n", 2, "'nope'" },
	{ "policy p {\n}\ntenant t {\n vault v {\n  policy q\n }\n}\n", 5, "'q'" },
	/* Names. */
	{ "tenant Acme {\n}\n", 1, "'Acme'" },
	{ "policy _p {\n}\n", 1, "'_p'" },
	{ "tenant t {\n  policy Bad\n}\n", 2, "'Bad'" },
	{ "tenant aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa {"
	    "\n}\n", 1, "'aaaa" },
	/* Braces. */
	{ "}\n", 1, "'}'" },
	{ "policy p {\n}\n}\n", 3, "'}'" },
	{ "# c\npolicy p {\nlock 1d\n", 2, "'policy p'" },
	{ "tenant t {\nvault v {\n}\n", 1, "'tenant t'" },
	{ "tenant t {\nvault v {\n", 2, "'vault v'" },
	/* Bytes. */
	{ "data /a\x01\n", 1, "0x01" },
	{ "data /a\rb\n", 1, "0x0d" },
	{ "data /a\x7f\n", 1, "0x7f" },
};

static void
test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
		parse_err(error_cases[i].text, error_cases[i].line, error_cases[i].word);
}

static void
test_bytes_and_limits(void **state)
{
	struct conf *c = NULL;
	char err[256], *big;
	size_t n;

	(void)state;
	/* A NUL byte (conf_parse takes a length; the text may hold one). */
	assert_int_equal(conf_parse("t.conf", "data /a\0b\n", 10, &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:1: "));
	assert_non_null(strstr(err, "0x00"));

	/* A line of exactly CONF_LINE_MAX bytes is fine; one more is not. */
	big = malloc(CONF_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', CONF_LINE_MAX);
	big[CONF_LINE_MAX] = '\n';
	assert_int_equal(conf_parse("t.conf", big, CONF_LINE_MAX + 1, &c, err,
	    sizeof(err)), 0);
	conf_free(c);
	c = NULL;
	/* Two empty lines, then CONF_LINE_MAX + 1 spaces. */
	memcpy(big, "\n\n", 2);
	memset(big + CONF_LINE_MAX, ' ', 3);
	assert_int_equal(conf_parse("t.conf", big, CONF_LINE_MAX + 3, &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:3: "));
	assert_non_null(strstr(err, "4096"));

	/* The file limit. */
	memset(big, '\n', CONF_FILE_MAX + 1);
	assert_int_equal(conf_parse("t.conf", big, CONF_FILE_MAX, &c, err,
	    sizeof(err)), 0);
	conf_free(c);
	c = NULL;
	assert_int_equal(conf_parse("t.conf", big, CONF_FILE_MAX + 1, &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf: "));
	assert_non_null(strstr(err, "1 MiB"));

	/* Too many listen addresses. */
	n = 0;
	for (int i = 0; i <= CONF_LISTENS_MAX; i++)
		n += (size_t)sprintf(big + n, "listen h:%d\n", i);
	assert_int_equal(conf_parse("t.conf", big, n, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:65: "));
	assert_non_null(strstr(err, "'h:64'"));
	free(big);

	/* A tiny err buffer is truncated, not overrun; none at all is fine. */
	assert_int_equal(conf_parse("t.conf", "x\n", 2, &c, err, 4), -1);
	assert_string_equal(err, "t.c");
	assert_int_equal(conf_parse("t.conf", "x\n", 2, &c, NULL, 0), -1);

	/* conf_load(): a missing file, a directory. */
	assert_int_equal(conf_load("tests/unit/no-such.conf", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tests/unit/no-such.conf: "));
	assert_int_equal(conf_load("tests/unit", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tests/unit: "));
	assert_null(c);
}

static void
test_many_tenants(void **state)
{
	size_t cap = (size_t)(CONF_TENANTS_MAX + 1) * 24, n = 0;
	char *text = malloc(cap), err[256];
	struct conf *c = NULL;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < CONF_TENANTS_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "tenant t%d {\n}\n", i);
	assert_int_equal(conf_parse("t.conf", text, n, &c, err, sizeof(err)), 0);
	assert_int_equal(c->ntenants, CONF_TENANTS_MAX);
	assert_string_equal(c->tenants[CONF_TENANTS_MAX - 1].name, "t9999");
	conf_free(c);
	c = NULL;
	n += (size_t)snprintf(text + n, cap - n, "tenant extra {\n}\n");
	assert_int_equal(conf_parse("t.conf", text, n, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:20001: "));
	assert_non_null(strstr(err, "'extra'"));
	free(text);
}

static void
test_sizes(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "0", 0 }, { "0T", 0 }, { "1", 1 }, { "007", 7 }, { "1K", 1024 },
		{ "1M", 1ULL << 20 }, { "1G", 1ULL << 30 }, { "1T", 1ULL << 40 },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215T", 16777215ULL << 40 },
		{ "17179869183G", 17179869183ULL << 30 },
		{ "000000000000000000000000000000000000001K", 1024 },
	};
	static const char *const bad[] = {
		"", "K", "-1", "+1", " 1", "1 ", "1KB", "1k", "1g", "1E", "1P",
		"1.5G", "0x10", "18446744073709551616", "16777216T", "17179869184G",
		"99999999999999999999999", "1s",
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 42;
		if (conf_parse_size(good[i].s, &v) != 0 || v != good[i].v)
			fail_msg("size '%s'", good[i].s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		if (conf_parse_size(bad[i], &v) != -1 || v != 42)
			fail_msg("size '%s' accepted", bad[i]);
	}
}

static void
test_durations(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "0", 0 }, { "0y", 0 }, { "45", 45 }, { "45s", 45 }, { "2m", 120 },
		{ "24h", DAY }, { "1d", DAY }, { "1w", 7 * DAY }, { "1y", 365 * DAY },
		{ "18446744073709551615", UINT64_MAX },
		{ "18446744073709551615s", UINT64_MAX },
		{ "584942417355y", 584942417355ULL * 365 * DAY },
	};
	static const char *const bad[] = {
		"", "s", "-1s", "1S", "1H", "1D", "1M", "1mo", "1h30m", "1.5h",
		"1 h", "18446744073709551616", "307445734561825861m",
		"584942417356y", "30days", "1K",
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 42;
		if (conf_parse_duration(good[i].s, &v) != 0 || v != good[i].v)
			fail_msg("duration '%s'", good[i].s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		if (conf_parse_duration(bad[i], &v) != -1 || v != 42)
			fail_msg("duration '%s' accepted", bad[i]);
	}
}

static void
test_policy_for(void **state)
{
	struct conf *c = parse_ok(
	    "policy a {\n quota 10G\n}\n"
	    "policy b {\n}\n"
	    "tenant t {\n"
	    " policy a\n quota 1T\n"
	    " vault own {\n  policy b\n  quota 5G\n }\n"
	    " vault inherit {\n }\n"
	    " vault size {\n  quota 3G\n }\n"
	    "}\n"
	    "tenant bare {\n vault v {\n  policy b\n }\n}\n");
	const struct conf_policy *a = &c->policies[0], *b = &c->policies[1];
	uint64_t tq, vq;

	(void)state;
	assert_ptr_equal(conf_policy_for(c, "t", "own", &tq, &vq), b);
	assert_true(tq == 1024 * GiB && vq == 5 * GiB);
	/* A declared vault with no policy of its own: the tenant's, with the
	 * policy's per-vault quota. */
	assert_ptr_equal(conf_policy_for(c, "t", "inherit", &tq, &vq), a);
	assert_true(tq == 1024 * GiB && vq == 10 * GiB);
	assert_ptr_equal(conf_policy_for(c, "t", "size", &tq, &vq), a);
	assert_true(vq == 3 * GiB);
	/* A vault the file does not name, and no vault at all. */
	assert_ptr_equal(conf_policy_for(c, "t", "other", &tq, &vq), a);
	assert_true(tq == 1024 * GiB && vq == 10 * GiB);
	assert_ptr_equal(conf_policy_for(c, "t", NULL, NULL, NULL), a);
	/* A tenant without a policy. */
	assert_ptr_equal(conf_policy_for(c, "bare", "v", &tq, &vq), b);
	assert_true(tq == 0 && vq == 0);
	assert_null(conf_policy_for(c, "bare", "w", &tq, &vq));
	assert_true(tq == 0 && vq == 0);
	/* An unknown tenant. */
	tq = vq = 1;
	assert_null(conf_policy_for(c, "nobody", "own", &tq, &vq));
	assert_true(tq == 0 && vq == 0);
	conf_free(c);
}

/* Fails each allocation of f in turn until f succeeds; every failure must
 * be a clean -1 with "out of memory" (ASan checks for leaks). */
static void
alloc_loop(const char *text, size_t len)
{
	int n;

	for (n = 0;; n++) {
		struct conf *c = NULL;
		char err[256] = "";
		int rc;

		faultsim_config(n, 1);
		rc = conf_parse("t.conf", text, len, &c, err, sizeof(err));
		if (faultsim_off() == 0) {
			assert_int_equal(rc, 0);
			conf_free(c);
			break;
		}
		assert_int_equal(rc, -1);
		assert_null(c);
		if (strcmp(err, "t.conf: out of memory") != 0)
			fail_msg("allocation %d: \"%s\"", n, err);
	}
	assert_true(n > 0);
}

/* Every growing array at least once: listens, backends, policies,
 * tenants, vaults and policy references. */
#define FWD "listen a:1\nbackend b {\ntype fs\npath /\n}\n" \
	"tenant t {\npolicy p\nvault v {\npolicy p\n}\n}\npolicy p {\n}\n"

static void
test_alloc_failures(void **state)
{
	size_t len;
	char *text = read_example(&len), err[256];
	struct conf *c = NULL;
	int n;

	(void)state;
	alloc_loop(text, len);
	alloc_loop("", 0);
	alloc_loop(FWD, strlen(FWD));
	free(text);

	for (n = 0;; n++) {
		faultsim_config(n, 1);
		c = conf_default();
		if (faultsim_off() == 0)
			break;
		assert_null(c);
	}
	assert_non_null(c);
	assert_int_equal(n, 2);
	conf_free(c);

	faultsim_config(0, 1);
	assert_int_equal(conf_load(EXAMPLE, &c, err, sizeof(err)), -1);
	assert_int_equal(faultsim_off(), 1);
	assert_string_equal(err, EXAMPLE ": out of memory");
}

/* Backends of every type and a tiering policy (spec/tiering.md). */
static void
test_tiering(void **state)
{
	static const char text[] =
	    "backend hot {\ntype fs\npath /h\n}\n"
	    "backend tape {\ntype archive\npath /t\n}\n"
	    "backend big {\ntype archive\npath /b\ncartridge-size 64M\n}\n"
	    "backend cloud {\ntype s3\nendpoint http://127.0.0.1:9000\nregion us-east-1\n"
	    "bucket cold\nprefix v/\npath-style yes\ncredentials-file /c\n}\n"
	    "policy p {\ntier-to cloud\ntier-after 30d\ntier-idle 1w\n}\n"
	    "policy q {\ntier-idle 2h\ntier-to tape\n}\n";
	struct conf *c;

	(void)state;
	c = parse_ok(text);
	assert_int_equal(c->nbackends, 4);
	assert_int_equal(conf_backend_index(c, "hot"), 0);
	assert_int_equal(conf_backend_index(c, "cloud"), 3);
	assert_int_equal(conf_backend_index(c, "nope"), -1);
	assert_string_equal(c->backends[1].type, "archive");
	assert_int_equal(c->backends[1].cartridge_size, CONF_DEFAULT_CARTRIDGE_SIZE);
	assert_int_equal(c->backends[2].cartridge_size, 64ULL << 20);
	assert_string_equal(c->backends[3].endpoint, "http://127.0.0.1:9000");
	assert_string_equal(c->backends[3].bucket, "cold");
	assert_string_equal(c->backends[3].prefix, "v/");
	assert_int_equal(c->backends[3].path_style, 1);
	assert_string_equal(c->backends[3].credentials_file, "/c");
	assert_string_equal(c->policies[0].tier_to, "cloud");
	assert_int_equal(c->policies[0].tier_after, 30 * 86400);
	assert_int_equal(c->policies[0].tier_idle, 7 * 86400);
	assert_string_equal(c->policies[1].tier_to, "tape");
	assert_int_equal(c->policies[1].tier_after, 0);
	assert_int_equal(c->policies[1].tier_idle, 7200);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_tiering),
		cmocka_unit_test(test_bytes_and_limits),
		cmocka_unit_test(test_many_tenants),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_policy_for),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
