/*
 * vaultd's log (vaultd/log.c, spec/logging.md): the redaction of request
 * targets (no query value, nothing holding "vt1_" in any case or encoding,
 * one printable line), the request line's format and when it is written,
 * and the levels. Lines go to stderr, which the test points at a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

#define SECRET "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
#define TOKEN "vt1_0001020304050607_" SECRET

static void
redacts(const char *target, const char *want)
{
	char out[8192];

	log_target(target, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("log_target(\"%s\") = \"%s\", want \"%s\"", target, out, want);
	assert_null(strstr(out, "0001020304050607"));
	assert_null(strstr(out, SECRET));
}

static void
test_target(void **state)
{
	(void)state;
	/* Ordinary targets pass unchanged. */
	redacts("/v1/vaults/main/objects/pack/" "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "/v1/vaults/main/objects/pack/" "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	redacts("/v1/capabilities", "/v1/capabilities");
	redacts("/", "/");
	redacts("", "");
	/* Query values never appear; names do, unless they hold a token. */
	redacts("/v1/vaults/v/objects/pack?token=" TOKEN, "/v1/vaults/v/objects/pack?token=<redacted>");
	redacts("/v1/vaults/v/objects/pack?after=abc&limit=10",
	    "/v1/vaults/v/objects/pack?after=<redacted>&limit=<redacted>");
	redacts("/x?" TOKEN, "/x?<redacted>");
	redacts("/x?" TOKEN "=1;a=" TOKEN, "/x?<redacted>=<redacted>;a=<redacted>");
	redacts("/x?a&b=&&c", "/x?a&b=<redacted>&&c");
	redacts("/x?=" TOKEN, "/x?=<redacted>");
	/* Anywhere in the path, in any case, percent-encoded, even twice. */
	redacts("/v1/vaults/" TOKEN "/objects", "/v1/vaults/<redacted>/objects");
	redacts("/" TOKEN, "/<redacted>");
	redacts(TOKEN, "<redacted>");
	redacts("/v1/xxVT1_0001020304050607_" SECRET "yy", "/v1/<redacted>");
	redacts("/v1/%76%74%31%5f0001020304050607_" SECRET, "/v1/<redacted>");
	redacts("/v1/vt1%5F0001020304050607_" SECRET, "/v1/<redacted>");
	redacts("/v1/vt1%255F0001020304050607_" SECRET, "/v1/<redacted>");
	redacts("/v1/%2576t1_0001020304050607_" SECRET, "/v1/<redacted>");
	redacts("/a#" TOKEN, "/<redacted>");
	redacts("http://h/" TOKEN "?q", "http://h/<redacted>?q");
	/* One printable line: controls, spaces and high bytes become '?'. */
	redacts("/a b\r\n\x01\x7f\xff", "/a?b?????");
	/* "vt1" without the underscore is a word like any other. */
	redacts("/v1/vaults/vt1", "/v1/vaults/vt1");
}

static void
test_target_cut(void **state)
{
	char out[16], big[5000];

	(void)state;
	log_target("/v1/vaults/main/objects", out, sizeof(out));
	assert_string_equal(out, "/v1/vaults/main");
	log_target("/x", out, 1);
	assert_string_equal(out, "");
	/* A long query of values grows by the redaction and is cut. */
	for (size_t i = 0; i + 4 < sizeof(big); i += 4)
		memcpy(big + i, "a=1&", 4);
	big[sizeof(big) - 4] = '\0';
	memcpy(big, "/?", 2);
	log_target(big, out, sizeof(out));
	assert_int_equal(strlen(out), sizeof(out) - 1);
}

/* Runs fn with stderr sent to a file and returns what it wrote. */
static char *
captured(void (*fn)(void))
{
	static char buf[16384];
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(f);
	fflush(stderr);
	dup2(fileno(f), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
requests(void)
{
	log_request("GET", "/v1/vaults/v/objects/pack?token=" TOKEN, 200, 0);
	log_request("GET", "/v1/vaults/" TOKEN, 500, 0);
	log_request("PUT", "/v1/vaults/v?after=" TOKEN, 201, 1);
	log_request(NULL, NULL, 400, 1);
	log_request(NULL, NULL, 503, 0);
}

static void
test_request_lines(void **state)
{
	const char *out;

	(void)state;
	log_setup(LOG_TO_STDERR, VLOG_INFO);
	out = captured(requests);
	assert_string_equal(out,
	    "vaultd: request GET /v1/vaults/<redacted> 500\n"
	    "vaultd: request PUT /v1/vaults/v?after=<redacted> 201\n"
	    "vaultd: request - - 400\n"
	    "vaultd: request - - 503\n");
}

static void
levels(void)
{
	log_msg(VLOG_ERROR, "e %d", 1);
	log_msg(VLOG_WARN, "w");
	log_msg(VLOG_INFO, "i");
	log_msg(VLOG_DEBUG, "d");
}

static void
test_levels(void **state)
{
	(void)state;
	log_setup(LOG_TO_STDERR, VLOG_WARN);
	assert_string_equal(captured(levels), "vaultd: e 1\nvaultd: w\n");
	log_setup(LOG_TO_STDERR, VLOG_DEBUG);
	assert_string_equal(captured(levels), "vaultd: e 1\nvaultd: w\nvaultd: i\nvaultd: d\n");
	/* A 5xx request line is a warning: it shows at VLOG_WARN. */
	log_setup(LOG_TO_STDERR, VLOG_WARN);
	assert_string_equal(captured(requests),
	    "vaultd: request GET /v1/vaults/<redacted> 500\n"
	    "vaultd: request - - 503\n");
	log_setup(LOG_TO_STDERR, VLOG_INFO);
}

static void
test_dest(void **state)
{
	enum log_dest d;

	(void)state;
	assert_int_equal(log_dest_parse("syslog", &d), 0);
	assert_int_equal(d, LOG_TO_SYSLOG);
	assert_int_equal(log_dest_parse("stderr", &d), 0);
	assert_int_equal(d, LOG_TO_STDERR);
	assert_int_equal(log_dest_parse("file", &d), -1);
	assert_string_equal(log_dest_name(LOG_TO_SYSLOG), "syslog");
	assert_string_equal(log_dest_name(LOG_TO_STDERR), "stderr");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_target_cut),
		cmocka_unit_test(test_request_lines),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_dest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
