#ifndef TEST_VECTORS_H
#define TEST_VECTORS_H
/* Loading spec/vectors/ files in the unit tests (run from the repository
 * root, or with VAULT_VECTORS naming the directory). Include after cmocka. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#define VECTORS_DIR "spec/vectors"

/* Loads the vectors file name with jansson's flags (JSON_ALLOW_NUL for files
 * whose strings hold a NUL on purpose); fails the test if the file is
 * missing or not JSON. */
static json_t *
vectors_load(const char *name, size_t flags)
{
	const char *dir = getenv("VAULT_VECTORS");
	char path[4096];
	json_error_t err;
	json_t *doc;
	int n;

	if (dir == NULL || *dir == '\0')
		dir = VECTORS_DIR;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	doc = json_load_file(path, flags, &err);
	if (doc == NULL)
		fail_msg("%s:%d: %s (run from the repository root)", path, err.line, err.text);
	return doc;
}

#endif
