/*
 * Tests for how the client names what it backs up and restores: paths made
 * absolute and clean, refused when given twice, nested or "/", sorted
 * (client/backup.c), and --include selection (client/restore.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backup.c"
#include "restore.h"

static void
check_clean(const char *in, const char *want)
{
	char *got = clean_path(in);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_clean_path(void **state)
{
	char cwd[4096], want[4200];

	(void)state;
	check_clean("/a/./b//c/", "/a/b/c");
	check_clean("/a/b/../c", "/a/c");
	check_clean("/a/b/../../..", "");
	check_clean("/", "");
	check_clean("//usr///share/doc", "/usr/share/doc");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/x/y", strcmp(cwd, "/") == 0 ? "" : cwd);
	check_clean("x/./y", want);
}

/* prepare_paths over n paths: the result joined by ' ', or NULL and err. */
static char *
prepared(char **paths, size_t n, char *err, size_t errlen)
{
	struct vc_backup_opts o = { 0 };
	char **p, *out;
	size_t len = 1;

	o.paths = paths;
	o.npaths = n;
	err[0] = '\0';
	if ((p = prepare_paths(&o, err, errlen)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		len += strlen(p[i]) + 1;
	out = calloc(1, len);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, " ");
		strcat(out, p[i]);
		free(p[i]);
	}
	free(p);
	return out;
}

static void
test_prepare_paths(void **state)
{
	char err[256], *out;
	char *sorted[] = { "/srv/b", "/etc", "/srv/a/" };
	char *nested[] = { "/home", "/home/alice/docs" };
	char *twice[] = { "/home/", "/home" };
	char *root[] = { "/tmp", "/" };
	char *sibling[] = { "/home/al", "/home/alice" };

	(void)state;
	out = prepared(sorted, 3, err, sizeof(err));
	assert_non_null(out);
	assert_string_equal(out, "/etc /srv/a /srv/b");
	free(out);
	assert_null(prepared(nested, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "inside"));
	assert_null(prepared(twice, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "twice"));
	assert_null(prepared(root, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "not supported"));
	/* A common prefix that is not a parent directory is fine. */
	out = prepared(sibling, 2, err, sizeof(err));
	assert_non_null(out);
	assert_string_equal(out, "/home/al /home/alice");
	free(out);
}

static void
test_selected(void **state)
{
	char *inc[] = { "usr/share", "/etc/ssh/" };

	(void)state;
	assert_int_equal(vc_restore_selected(NULL, 0, "anything"), 1);
	assert_int_equal(vc_restore_selected(inc, 2, "usr"), 2);
	assert_int_equal(vc_restore_selected(inc, 2, "usr/share"), 1);
	assert_int_equal(vc_restore_selected(inc, 2, "usr/share/doc/x"), 1);
	assert_int_equal(vc_restore_selected(inc, 2, "usr/sharex"), 0);
	assert_int_equal(vc_restore_selected(inc, 2, "usr/lib"), 0);
	assert_int_equal(vc_restore_selected(inc, 2, "etc"), 2);
	assert_int_equal(vc_restore_selected(inc, 2, "etc/ssh"), 1);
	assert_int_equal(vc_restore_selected(inc, 2, "etc/ssh/sshd_config"), 1);
	assert_int_equal(vc_restore_selected(inc, 2, "etc/sshd"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_path),
		cmocka_unit_test(test_prepare_paths),
		cmocka_unit_test(test_selected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
