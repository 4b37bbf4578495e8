#ifndef TEST_VECTORS_H
#define TEST_VECTORS_H
/* Loading spec/vectors/ files in the unit tests (run from the repository
 * root, or with VAULT_VECTORS naming the directory). Include after cmocka. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define VECTORS_DIR "spec/vectors"

/* Loads the vectors file name with jansson's flags (JSON_ALLOW_NUL for files
 * whose strings hold a NUL on purpose); fails the test if the file is
 * missing or not JSON. */
static inline json_t *
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

/* The string member key of obj; fails the test if it is absent or not a
 * string. */
static inline const char *
vectors_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		fail_msg("vector lacks the string member \"%s\"", key);
	return json_string_value(v);
}

/* The integer member key of obj (jansson's signed json_int_t). */
static inline json_int_t
vectors_int(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		fail_msg("vector lacks the integer member \"%s\"", key);
	return json_integer_value(v);
}

/* A non-negative integer member as uint64_t; json_int_t is signed, so the
 * vectors stay under INT64_MAX. */
static inline uint64_t
vectors_u64(const json_t *obj, const char *key)
{
	json_int_t v = vectors_int(obj, key);

	if (v < 0)
		fail_msg("vector member \"%s\" is negative", key);
	return (uint64_t)v;
}

/* Decodes lowercase hex into a new exact-size buffer (the caller frees it);
 * *len gets its size. Fails the test on odd length or any other digit. */
static inline uint8_t *
vectors_hex(const char *hex, size_t *len)
{
	size_t hexlen = strlen(hex);
	uint8_t *out;

	assert_int_equal(hexlen % 2, 0);
	*len = hexlen / 2;
	out = malloc(*len > 0 ? *len : 1);
	assert_non_null(out);
	for (size_t i = 0; i < hexlen; i++) {
		char c = hex[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			fail_msg("'%c' in \"%s\" is not a lowercase hex digit", c, hex);
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(d << 4);
		else
			out[i / 2] |= (uint8_t)d;
	}
	return out;
}

#endif
