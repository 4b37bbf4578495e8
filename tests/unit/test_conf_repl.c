/*
 * The replication directives of vaultd.conf (spec/vaultd.conf.md, "target",
 * "replicate-to", "replicate-workers", "replicate-bandwidth"): what they
 * parse to, the example file's targets, each kind of error with its line
 * and word, the look-up of a vault's targets through the policies in force
 * (vaultd/policy.c), and every allocation failing in turn.
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
#include "policy.h"

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
		fail_msg("error \"%s\" lacks \"%s\" or \"%s\"\n--- input:\n%s", err, prefix, word,
		    text);
}

#define VAULT_T "target dr {\ntype vault\nurl http://10.0.0.1:8420\ntoken-file /t\n}\n"
#define S3_T "target s3 {\ntype s3\nendpoint https://s3.example.com\nregion eu-1\n" \
	"bucket b1\ncredentials-file /c\n}\n"

static void
test_parse(void **state)
{
	const struct conf_target *t;
	struct conf *c;

	(void)state;
	c = parse_ok("tenant t {\npolicy p\n}\npolicy p {\nreplicate-to s3 dr\n}\n"
	    "replicate-workers 8\nreplicate-bandwidth 10M\n" VAULT_T
	    "target dr2 {\n  type vault\n  url https://[::1]/\n  vault other\n"
	    "  token-file /t2\n}\n"
	    "target s3 {\ntype s3\nendpoint http://127.0.0.1:9000\nregion us-east-1\n"
	    "bucket b1\nprefix site1/\npath-style yes\ncredentials-file /c\n}\n");
	assert_int_equal(c->ntargets, 3);
	assert_int_equal(c->replicate_workers, 8);
	assert_true(c->replicate_bandwidth == 10ULL << 20);
	t = conf_target_find(c, "dr");
	assert_non_null(t);
	assert_string_equal(t->type, "vault");
	assert_string_equal(t->url, "http://10.0.0.1:8420");
	assert_string_equal(t->vault, "");
	assert_string_equal(t->token_file, "/t");
	t = conf_target_find(c, "dr2");
	assert_string_equal(t->url, "https://[::1]/");
	assert_string_equal(t->vault, "other");
	t = conf_target_find(c, "s3");
	assert_string_equal(t->type, "s3");
	assert_string_equal(t->endpoint, "http://127.0.0.1:9000");
	assert_string_equal(t->region, "us-east-1");
	assert_string_equal(t->bucket, "b1");
	assert_string_equal(t->prefix, "site1/");
	assert_int_equal(t->path_style, 1);
	assert_string_equal(t->credentials_file, "/c");
	assert_null(conf_target_find(c, "nope"));
	assert_int_equal(c->policies[0].nreplicate, 2);
	assert_string_equal(c->policies[0].replicate_to[0], "s3");
	assert_string_equal(c->policies[0].replicate_to[1], "dr");
	conf_free(c);

	/* Defaults; path-style no; eight targets is the most. */
	c = parse_ok(S3_T "policy p {\nreplicate-to s3 s3a s3b s3c s3d s3e s3f s3g\n}\n"
	    "target s3a {\ntype vault\nurl http://h\ntoken-file /t\n}\n"
	    "target s3b {\ntype vault\nurl http://h\ntoken-file /t\n}\n"
	    "target s3c {\ntype vault\nurl http://h\ntoken-file /t\n}\n"
	    "target s3d {\ntype vault\nurl http://h\ntoken-file /t\n}\n"
	    "target s3e {\ntype vault\nurl http://h\ntoken-file /t\n}\n"
	    "target s3f {\ntype vault\nurl http://h\ntoken-file /t\n}\n"
	    "target s3g {\ntype vault\nurl http://h:1\ntoken-file /t\n}\n");
	assert_int_equal(c->replicate_workers, CONF_DEFAULT_REPLICATE_WORKERS);
	assert_true(c->replicate_bandwidth == 0);
	assert_int_equal(conf_target_find(c, "s3")->path_style, 0);
	assert_int_equal(c->policies[0].nreplicate, 8);
	conf_free(c);

	c = conf_default();
	assert_int_equal(c->ntargets, 0);
	assert_int_equal(c->replicate_workers, CONF_DEFAULT_REPLICATE_WORKERS);
	conf_free(c);
}

static void
test_example(void **state)
{
	struct conf *c = NULL;
	char err[256] = "";

	(void)state;
	if (conf_load("vaultd.conf.example", &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->ntargets, 2);
	assert_string_equal(c->targets[0].name, "dr");
	assert_string_equal(c->targets[0].token_file, "/etc/vault/dr.token");
	assert_string_equal(c->targets[1].type, "s3");
	assert_string_equal(c->targets[1].bucket, "acme-vault-copies");
	assert_int_equal(c->replicate_workers, 4);
	assert_true(c->replicate_bandwidth == 100ULL << 20);
	assert_int_equal(c->policies[0].nreplicate, 2);
	assert_int_equal(c->policies[1].nreplicate, 0);
	conf_free(c);
}

static const struct {
	const char *text;
	unsigned line;
	const char *word;
} error_cases[] = {
	{ "target t {\n}\n", 1, "no 'type'" },
	{ "target t {\ntype tape\n}\n", 2, "'tape'" },
	{ "target t {\ntype vault\ntoken-file /t\n}\n", 1, "no 'url'" },
	{ "target t {\ntype vault\nurl http://h\n}\n", 1, "no 'token-file'" },
	{ "target t {\ntype vault\nurl http://h\ntoken-file /t\nbucket b\n}\n", 1,
	    "takes no 'bucket'" },
	{ "target t {\ntype s3\nendpoint http://h\nbucket b\ncredentials-file /c\n}\n", 1,
	    "no 'region'" },
	{ "target t {\ntype s3\nendpoint http://h\nregion r\nbucket b\n"
	    "credentials-file /c\ntoken-file /t\n}\n", 1, "takes no 'token-file'" },
	{ "target t {\nurl ftp://h\n}\n", 2, "'ftp://h'" },
	{ "target t {\nurl http://h/v1\n}\n", 2, "'http://h/v1'" },
	{ "target t {\nurl http://h:0\n}\n", 2, "'http://h:0'" },
	{ "target t {\nurl http://h:70000\n}\n", 2, "'http://h:70000'" },
	{ "target t {\nurl http://:80\n}\n", 2, "'http://:80'" },
	{ "target t {\nurl http://user@h\n}\n", 2, "'http://user@h'" },
	{ "target t {\npath-style maybe\n}\n", 2, "'maybe'" },
	{ "target t {\nvault Bad\n}\n", 2, "'Bad'" },
	{ "target t {\ntype vault\ntype s3\n}\n", 3, "duplicate 'type'" },
	{ VAULT_T VAULT_T, 6, "duplicate target name 'dr'" },
	{ "target t {\n", 1, "'target t' is not closed" },
	{ "url http://h\n", 1, "'url'" },
	{ "policy p {\n  replicate-to dr\n}\n", 2, "target 'dr' is not defined" },
	{ VAULT_T "policy p {\nreplicate-to dr dr\n}\n", 7, "named twice" },
	{ VAULT_T "policy p {\nreplicate-to dr\nreplicate-to dr\n}\n", 8,
	    "duplicate 'replicate-to'" },
	{ "policy p {\nreplicate-to a b c d e f g h i\n}\n", 2, "'i' is one too many" },
	{ "policy p {\nreplicate-to\n}\n", 2, "'replicate-to'" },
	{ "policy p {\nreplicate-to Bad\n}\n", 2, "'Bad'" },
	{ "tenant t {\nreplicate-to dr\n}\n", 2, "'replicate-to'" },
	{ "replicate-workers 0\n", 1, "'0'" },
	{ "replicate-workers 65\n", 1, "'65'" },
	{ "replicate-bandwidth 1.5G\n", 1, "'1.5G'" },
	{ "replicate-bandwidth 1M 2M\n", 1, "'2M'" },
};

static void
test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
		parse_err(error_cases[i].text, error_cases[i].line, error_cases[i].word);
}

static void
test_policy_targets(void **state)
{
	char names[4][VSP_NAME_MAX + 1];
	struct policy_src *p;
	struct conf *c;

	(void)state;
	c = parse_ok(VAULT_T S3_T "policy a {\nreplicate-to dr s3\n}\npolicy none {\n}\n"
	    "tenant t {\npolicy a\nvault quiet {\npolicy none\n}\n}\n");
	assert_non_null(p = policy_src_new(c));
	assert_int_equal(policy_src_targets(p, "t", "v", names, 4), 2);
	assert_string_equal(names[0], "dr");
	assert_string_equal(names[1], "s3");
	assert_int_equal(policy_src_targets(p, "t", "v", names, 1), 1);
	assert_int_equal(policy_src_targets(p, "t", "quiet", names, 4), 0);
	assert_int_equal(policy_src_targets(p, "other", "v", names, 4), 0);
	assert_int_equal(policy_src_has_target(p, "s3"), 1);
	assert_int_equal(policy_src_has_target(p, "s4"), 0);
	/* A reload that drops the target from the policy. */
	policy_src_swap(p, parse_ok(VAULT_T "policy a {\n}\ntenant t {\npolicy a\n}\n"));
	assert_int_equal(policy_src_targets(p, "t", "v", names, 4), 0);
	assert_int_equal(policy_src_has_target(p, "s3"), 0);
	policy_src_free(p);
}

#define ALLOC_TEXT VAULT_T S3_T "target x {\ntype vault\nurl http://h\ntoken-file /t\n}\n" \
	"target y {\ntype vault\nurl http://h\ntoken-file /t\n}\n" \
	"target z {\ntype vault\nurl http://h\ntoken-file /t\n}\n" \
	"policy p {\nreplicate-to dr\n}\npolicy q {\nreplicate-to s3\n}\n" \
	"tenant t {\npolicy p\n}\n"

static void
test_alloc_failures(void **state)
{
	const char *text = ALLOC_TEXT;
	int n;

	(void)state;
	for (n = 0;; n++) {
		struct conf *c = NULL;
		char err[256] = "";
		int rc;

		faultsim_config(n, 1);
		rc = conf_parse("t.conf", text, strlen(text), &c, err, sizeof(err));
		if (faultsim_off() == 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(c->ntargets, 5);
			conf_free(c);
			break;
		}
		assert_null(c);
		if (strcmp(err, "t.conf: out of memory") != 0)
			fail_msg("allocation %d: \"%s\"", n, err);
	}
	assert_true(n > 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_policy_targets),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
