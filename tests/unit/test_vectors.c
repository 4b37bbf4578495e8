/*
 * Checks the shared test vectors in spec/vectors/ (spec/vsp.md, "Test
 * vectors") against the code that implements them: object IDs against
 * protocol/sha256.c, tokens against vaultd/auth.c, and names and IDs against
 * protocol/vsp.c. range.json is checked by the range parser's own tests.
 *
 * Paths are relative to the repository root, where `make unit` runs the
 * tests; set VAULT_VECTORS to read the vectors from another directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vectors.h"
#include <jansson.h>
#include <sodium.h>

#include "auth.h"
#include "sha256.h"
#include "vsp.h"


/* Loads dir/name as JSON; NUL bytes are allowed inside strings because some
 * invalid tokens and names contain one on purpose. Fails the test if the file
 * is missing or not JSON. */

/* The string member key of obj; fails the test if it is missing. */
static const char *
member_str(const json_t *obj, const char *key, size_t *len)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		fail_msg("vector lacks the string member \"%s\"", key);
	if (len != NULL)
		*len = json_string_length(v);
	return json_string_value(v);
}

/* The array member key of doc, with at least min elements so that an
 * emptied file cannot pass. */
static json_t *
member_array(const json_t *doc, const char *key, size_t min)
{
	json_t *a = json_object_get(doc, key);

	if (!json_is_array(a))
		fail_msg("vectors lack the array \"%s\"", key);
	assert_true(json_array_size(a) >= min);
	return a;
}

/* Decodes exactly want bytes of lowercase or uppercase hex into out. */
static void
unhex(const char *hex, size_t hexlen, uint8_t *out, size_t want)
{
	size_t n = 0;

	assert_int_equal(hexlen, 2 * want);
	assert_int_equal(sodium_hex2bin(out, want, hex, hexlen, NULL, &n, NULL), 0);
	assert_int_equal(n, want);
}

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void
test_object_ids(void **state)
{
	json_t *doc = vectors_load("object-id.json", JSON_ALLOW_NUL);
	size_t i;
	json_t *v;
	int saw_empty = 0, saw_abc = 0, saw_a1000 = 0;

	(void)state;
	assert_true(json_is_array(doc));
	assert_true(json_array_size(doc) >= 3);
	json_array_foreach(doc, i, v) {
		size_t hexlen, idlen;
		const char *hex = member_str(v, "body_hex", &hexlen);
		const char *idhex = member_str(v, "id", &idlen);
		size_t len = hexlen / 2;
		uint8_t *body = malloc(len > 0 ? len : 1);
		uint8_t digest[SHA256_LEN], parsed[VSP_ID_LEN];
		char text[VSP_ID_HEX_LEN + 1];
		struct sha256 *ctx;

		assert_non_null(body);
		unhex(hex, hexlen, body, len);

		/* One-shot digest, written as an object ID. */
		assert_int_equal(sha256_buf(body, len, digest), 0);
		vsp_id_format(digest, text);
		assert_string_equal(text, idhex);

		/* The ID parses back to the same bytes. */
		assert_int_equal(vsp_id_parse(idhex, idlen, parsed), 0);
		assert_memory_equal(parsed, digest, VSP_ID_LEN);

		/* Streaming in uneven pieces gives the same digest, as it does
		 * when the daemon hashes an upload while it arrives. */
		assert_non_null(ctx = sha256_new());
		for (size_t off = 0, step = 1; off < len; off += step, step = step * 2 + 1) {
			size_t n = len - off < step ? len - off : step;
			assert_int_equal(sha256_update(ctx, body + off, n), 0);
		}
		assert_int_equal(sha256_final(ctx, digest), 0);
		sha256_free(ctx);
		assert_memory_equal(parsed, digest, VSP_ID_LEN);

		if (len == 0)
			saw_empty = 1;
		if (len == 3 && memcmp(body, "abc", 3) == 0)
			saw_abc = 1;
		if (len == 1000 && body[0] == 'a' && body[999] == 'a')
			saw_a1000 = 1;
		free(body);
	}
	assert_true(saw_empty && saw_abc && saw_a1000);
	json_decref(doc);
}

static void
test_tokens_valid(void **state)
{
	json_t *doc = vectors_load("token.json", JSON_ALLOW_NUL);
	json_t *tokens = member_array(doc, "tokens", 3);
	size_t i;
	json_t *v;

	(void)state;
	json_array_foreach(tokens, i, v) {
		size_t len;
		const char *text = member_str(v, "token", &len);
		const char *s;
		uint8_t key[AUTH_SERVER_KEY_LEN], other_key[AUTH_SERVER_KEY_LEN];
		uint8_t want_id[META_TOKEN_ID_LEN], want_secret[AUTH_SECRET_LEN];
		uint8_t want_hash[META_TOKEN_HASH_LEN], hash[META_TOKEN_HASH_LEN];
		uint8_t id[META_TOKEN_ID_LEN], secret[AUTH_SECRET_LEN];
		struct meta_token tok;

		s = member_str(v, "server_key_hex", &len);
		unhex(s, len, key, sizeof(key));
		s = member_str(v, "id_hex", &len);
		unhex(s, len, want_id, sizeof(want_id));
		s = member_str(v, "secret_hex", &len);
		unhex(s, len, want_secret, sizeof(want_secret));
		s = member_str(v, "hash_hex", &len);
		unhex(s, len, want_hash, sizeof(want_hash));

		/* The text splits into the ID and secret. */
		assert_int_equal(strlen(text), AUTH_TOKEN_STRLEN);
		assert_int_equal(auth_token_parse(text, strlen(text), id, secret), 0);
		assert_memory_equal(id, want_id, sizeof(id));
		assert_memory_equal(secret, want_secret, sizeof(secret));

		/* The stored hash is BLAKE2b-256 keyed with the server key. */
		auth_secret_hash(key, secret, hash);
		assert_memory_equal(hash, want_hash, sizeof(hash));

		/* The right secret matches; a one-bit change of the secret or of
		 * the server key does not. */
		memset(&tok, 0, sizeof(tok));
		memcpy(tok.id, id, sizeof(tok.id));
		memcpy(tok.hash, want_hash, sizeof(tok.hash));
		assert_int_equal(auth_token_matches(key, &tok, secret), 1);
		secret[AUTH_SECRET_LEN - 1] ^= 0x01;
		assert_int_equal(auth_token_matches(key, &tok, secret), 0);
		secret[AUTH_SECRET_LEN - 1] ^= 0x01;
		memcpy(other_key, key, sizeof(key));
		other_key[0] ^= 0x80;
		assert_int_equal(auth_token_matches(other_key, &tok, secret), 0);
	}
	json_decref(doc);
}

static void
test_tokens_invalid(void **state)
{
	json_t *doc = vectors_load("token.json", JSON_ALLOW_NUL);
	json_t *bad = member_array(doc, "invalid_tokens", 10);
	size_t i;
	json_t *v;

	(void)state;
	json_array_foreach(bad, i, v) {
		uint8_t id[META_TOKEN_ID_LEN], secret[AUTH_SECRET_LEN];

		assert_true(json_is_string(v));
		/* json_string_length, not strlen: some entries hold a NUL. */
		if (auth_token_parse(json_string_value(v), json_string_length(v), id,
		        secret) != -1)
			fail_msg("invalid_tokens[%zu] was accepted: \"%s\"", i,
			    json_string_value(v));
	}
	json_decref(doc);
}

static void
test_token_new_roundtrip(void **state)
{
	uint8_t key[AUTH_SERVER_KEY_LEN], id[META_TOKEN_ID_LEN], secret[AUTH_SECRET_LEN];
	char text[AUTH_TOKEN_STRLEN + 1];
	struct meta_token tok;

	(void)state;
	randombytes_buf(key, sizeof(key));
	memset(&tok, 0, sizeof(tok));
	auth_token_new(key, &tok, text);
	assert_int_equal(strlen(text), AUTH_TOKEN_STRLEN);
	assert_int_equal(auth_token_parse(text, strlen(text), id, secret), 0);
	assert_memory_equal(id, tok.id, sizeof(id));
	assert_int_equal(auth_token_matches(key, &tok, secret), 1);
}

static void
test_names(void **state)
{
	json_t *doc = vectors_load("names.json", JSON_ALLOW_NUL);
	json_t *good = member_array(doc, "valid", 5);
	json_t *bad = member_array(doc, "invalid", 10);
	size_t i;
	json_t *v;

	(void)state;
	json_array_foreach(good, i, v) {
		assert_true(json_is_string(v));
		if (vsp_name_valid(json_string_value(v), json_string_length(v)) != 1)
			fail_msg("valid[%zu] was rejected: \"%s\"", i, json_string_value(v));
	}
	json_array_foreach(bad, i, v) {
		assert_true(json_is_string(v));
		if (vsp_name_valid(json_string_value(v), json_string_length(v)) != 0)
			fail_msg("invalid[%zu] was accepted: \"%s\"", i, json_string_value(v));
	}
	json_decref(doc);
}

static void
test_ids(void **state)
{
	json_t *doc = vectors_load("names.json", JSON_ALLOW_NUL);
	json_t *good = member_array(doc, "valid_ids", 3);
	json_t *bad = member_array(doc, "invalid_ids", 10);
	size_t i;
	json_t *v;

	(void)state;
	json_array_foreach(good, i, v) {
		uint8_t id[VSP_ID_LEN];
		char text[VSP_ID_HEX_LEN + 1];

		assert_true(json_is_string(v));
		if (vsp_id_parse(json_string_value(v), json_string_length(v), id) != 0)
			fail_msg("valid_ids[%zu] was rejected: \"%s\"", i, json_string_value(v));
		/* One object, one spelling: formatting gives back the input. */
		vsp_id_format(id, text);
		assert_string_equal(text, json_string_value(v));
	}
	json_array_foreach(bad, i, v) {
		uint8_t id[VSP_ID_LEN];

		assert_true(json_is_string(v));
		if (vsp_id_parse(json_string_value(v), json_string_length(v), id) != -1)
			fail_msg("invalid_ids[%zu] was accepted: \"%s\"", i, json_string_value(v));
	}
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_ids),
		cmocka_unit_test(test_tokens_valid),
		cmocka_unit_test(test_tokens_invalid),
		cmocka_unit_test(test_token_new_roundtrip),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests_name("vectors", tests, setup, NULL);
}
