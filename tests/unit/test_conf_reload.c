/*
 * What a reload cannot apply (vaultd/conf_reload.c, spec/vaultd.conf.md
 * "Reload"): conf_restart_part keeps the restart-only settings, and
 * conf_restart_changes names each one a new file changes (every listen and
 * backend field, data, posture-listen) and nothing else; every allocation
 * of conf_restart_part failing in turn; the posture-listen warning.
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
#include "faultsim.h"
#include "conf_internal.h"

#define BASE \
	"listen 127.0.0.1:8420\n" \
	"data /srv/v\n" \
	"backend hot {\n type fs\n path /srv/o\n}\n" \
	"backend arch {\n type archive\n path /srv/a\n cartridge-size 1G\n}\n" \
	"backend s3 {\n type s3\n endpoint http://s3.example\n region r\n bucket b\n" \
	" prefix x/\n path-style yes\n credentials-file /etc/c\n}\n"

/* The parsed text, which must be good. */
static struct conf *
parse_ok(const char *text)
{
	char why[512] = "";
	struct conf *c = NULL;
	int rc = conf_parse("t.conf", text, strlen(text), &c, why, sizeof(why));

	if (rc != 0 || c == NULL)
		fail_msg("%s\n--- input:\n%s", why, text);
	return c;
}

/* How many names a ", "-separated list holds. */
static size_t
items(const char *list)
{
	size_t n = list[0] != '\0';

	for (const char *p = list; (p = strstr(p, ", ")) != NULL; p += 2)
		n++;
	return n;
}

/* Replaces the first from in BASE by to (to "" removes it), parses the
 * result and checks what conf_restart_changes names against the kept part
 * of BASE. */
static void
check(const char *from, const char *to, const char *want)
{
	char text[4096], out[512];
	const char *at = strstr(BASE, from);
	struct conf *base = parse_ok(BASE), *boot, *next;
	size_t n;

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - BASE), BASE, to, at + strlen(from));
	next = parse_ok(text);
	assert_non_null(boot = conf_restart_part(base));
	conf_free(base); /* the kept part owns its own copies */
	n = conf_restart_changes(boot, next, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("'%s' -> '%s': got '%s', want '%s'", from, to, out, want);
	assert_int_equal(n, items(want));
	conf_free(boot);
	conf_free(next);
}

static void
test_each_setting(void **state)
{
	static const struct { const char *from, *to, *want; } rows[] = {
		/* What a reload applies is never named. */
		{"data /srv/v\n", "data /srv/v\nmax-object-size 8M\nreserve 1G\n"
		    "header-timeout 1s\nidle-timeout 1s\nbody-timeout 1s\nmax-connections 1\n"
		    "scrub-rate 1M\nreplicate-workers 9\nreplicate-bandwidth 1M\nlog-to syslog\n"
		    "policy p {\n keep-last 1\n}\ntenant t {\n policy p\n}\n", ""},
		{"listen 127.0.0.1:8420\n", "listen 127.0.0.1:8421\n", "listen"},
		{"listen 127.0.0.1:8420\n", "listen 127.0.0.2:8420\n", "listen"},
		{"listen 127.0.0.1:8420\n", "listen 127.0.0.1:8420\nlisten [::1]:8420\n", "listen"},
		/* No listen line: the default, 127.0.0.1:8420, the same address. */
		{"listen 127.0.0.1:8420\n", "", ""},
		{"data /srv/v\n", "data /srv/w\n", "data"},
		{"path /srv/o", "path /srv/p", "backend hot"},
		{"type archive\n path /srv/a\n cartridge-size 1G", "type fs\n path /srv/a",
		    "backend arch"},
		{"path /srv/a", "path /srv/b", "backend arch"},
		{"cartridge-size 1G", "cartridge-size 2G", "backend arch"},
		{"endpoint http://s3.example", "endpoint http://s4.example", "backend s3"},
		{"region r", "region q", "backend s3"},
		{"bucket b", "bucket c", "backend s3"},
		{"prefix x/", "prefix y/", "backend s3"},
		{"path-style yes", "path-style no", "backend s3"},
		{"credentials-file /etc/c", "credentials-file /etc/d", "backend s3"},
		{"backend s3 {", "backend s4 {", "backend s4"},
		{"data /srv/v\n", "data /srv/v\nposture-listen 127.0.0.1:8421\n", "posture-listen"},
		{"backend s3 {\n type s3\n endpoint http://s3.example\n region r\n bucket b\n"
		    " prefix x/\n path-style yes\n credentials-file /etc/c\n}\n", "",
		    "backend s3 (removed)"},
		{"backend arch {", "backend new {\n type fs\n path /n\n}\nbackend arch {",
		    "backend new, backend arch, backend s3 (added)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check(rows[i].from, rows[i].to, rows[i].want);
}

/* Several changes, a short buffer: the count is exact, the text is cut
 * and stays a string. */
static void
test_many_and_cut(void **state)
{
	struct conf *a = parse_ok(BASE), *b, *boot;
	char out[12];

	(void)state;
	b = parse_ok("listen 1.2.3.4:1\ndata /x\nposture-listen 127.0.0.1:1\n");
	assert_non_null(boot = conf_restart_part(a));
	/* listen, data, hot/arch/s3 removed... the new file has no backend. */
	assert_int_equal(conf_restart_changes(boot, b, out, sizeof(out)), 6);
	assert_true(strlen(out) < sizeof(out));
	assert_int_equal(strncmp(out, "listen, dat", sizeof(out) - 1), 0);
	assert_int_equal(conf_restart_changes(boot, b, NULL, 0), 6);
	conf_free(a);
	conf_free(b);
	conf_free(boot);
}

static void
test_alloc_fail(void **state)
{
	struct conf *a = parse_ok(BASE), *p;
	int n;

	(void)state;
	for (n = 0;; n++) {
		faultsim_config(n, 1);
		p = conf_restart_part(a);
		if (faultsim_off() == 0)
			break;
		assert_null(p);
	}
	assert_non_null(p);
	assert_true(n >= 3); /* the struct, the listens, the backends */
	conf_free(p);
	conf_free(a);
}

static void
test_loopback(void **state)
{
	static const struct { const char *host; int loop; } hosts[] = {
		{"127.0.0.1", 1}, {"127.1.2.3", 1}, {"::1", 1}, {"localhost", 1},
		{"::ffff:127.0.0.1", 1}, {"0.0.0.0", 0}, {"::", 0}, {"10.0.0.1", 0},
		{"128.0.0.1", 0}, {"fe80::1", 0}, {"::ffff:10.0.0.1", 0}, {"example.org", 0},
		{"localhost.example.org", 0}, {"126.255.255.255", 0},
	};
	struct conf_listen l;

	(void)state;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		snprintf(l.host, sizeof(l.host), "%s", hosts[i].host);
		l.port = 1;
		if (conf_listen_loopback(&l) != hosts[i].loop)
			fail_msg("%s: want %d", hosts[i].host, hosts[i].loop);
	}
}

/* The posture page off, on loopback, or exposed: only the last warns, and
 * the warning names the address and what to do. */
static void
test_posture_exposed(void **state)
{
	struct conf *c;
	char msg[512];

	(void)state;
	c = parse_ok("listen 0.0.0.0:1\n");
	assert_int_equal(conf_posture_exposed(c, msg, sizeof(msg)), 0);
	conf_free(c);
	c = parse_ok("posture-listen 127.0.0.1:8421\n");
	assert_int_equal(conf_posture_exposed(c, msg, sizeof(msg)), 0);
	conf_free(c);
	c = parse_ok("posture-listen 0.0.0.0:8421\n");
	assert_int_equal(conf_posture_exposed(c, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "posture-listen 0.0.0.0:8421 is not a loopback address"));
	assert_non_null(strstr(msg, "no authentication"));
	conf_free(c);
	c = parse_ok("posture-listen [::]:8421\n");
	assert_int_equal(conf_posture_exposed(c, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "posture-listen [::]:8421 "));
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_setting),
		cmocka_unit_test(test_many_and_cut),
		cmocka_unit_test(test_alloc_fail),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_posture_exposed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
