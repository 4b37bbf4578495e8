/*
 * client/snapbody.c against spec/tree.md 5-6 and the "body", "body_invalid"
 * and "group" vectors of spec/vectors/tree.json (from the independent
 * generator in spec/vectors/gen/tree_vectors.py): a Python-sealed body
 * opened and compared field by field, a fixed JSON text sealed to the same
 * bytes, every bit flip and every header edit refused, a body moved under
 * another header refused, each invalid body, the writer's rules, the group
 * label, and allocation failures in the module and in jansson.
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

#include "envelope.h"
#include "tree.h"

/*
 * Allocation failures: the countdown of faultsim.h fails the module's
 * allocations, and jansson's too, which it makes through
 * json_set_alloc_funcs.
 */
#include "faultsim.h"

/* jansson's allocations, which note whether one of them was the one that
 * failed. */
static int jansson_failed;

static void *
j_malloc(size_t n)
{
	int before = faultsim_failures();
	void *p = malloc(n);

	if (faultsim_failures() != before)
		jansson_failed = 1;
	return p;
}

#include "snapbody.c"

static int
setup(void **state)
{
	(void)state;
	json_set_alloc_funcs(j_malloc, free);
	return sodium_init() < 0 ? -1 : 0;
}

static void
test_layout(void **state)
{
	(void)state;
	assert_int_equal(VC_SNAPBODY_OVERHEAD, 40);
	assert_int_equal(vc_snapbody_sealed_len(0), 40);
	assert_int_equal(vc_snapbody_sealed_len(1000), 1040);
	assert_int_equal(vc_snapbody_sealed_len(VC_SNAPBODY_JSON_MAX + 1), SIZE_MAX);
}

/* ---- the snapshot body ------------------------------------------------ */

/* Keys with only the index key set: all the body and group use. */
static void
index_keys(struct vc_keys *k)
{
	json_t *doc = vectors_load("client-crypto.json", 0);
	json_t *sub = json_object_get(json_array_get(json_object_get(doc, "kdf"), 0),
	    "subkeys_hex");
	uint8_t *key;
	size_t len;

	memset(k, 0, sizeof(*k));
	key = vectors_hex(vectors_str(sub, "index"), &len);
	assert_int_equal(len, VC_KEY_LEN);
	memcpy(k->index, key, len);
	free(key);
	json_decref(doc);
}

static void
assert_id_hex(const json_t *v, const uint8_t id[VC_ID_LEN])
{
	size_t len;
	uint8_t *b;

	assert_true(json_is_string(v));
	b = vectors_hex(json_string_value(v), &len);
	assert_int_equal(len, VC_ID_LEN);
	assert_memory_equal(b, id, VC_ID_LEN);
	free(b);
}

static void
assert_strings(const json_t *a, char **s, size_t n)
{
	assert_int_equal(json_array_size(a), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)), s[i]);
}

/* Checks b against the "fields" object of the body vector. */
static void
assert_fields(const json_t *f, const struct vc_snapbody *b)
{
	json_t *tree = json_object_get(f, "tree"), *parent = json_object_get(f, "parent");

	assert_int_equal(b->time, vectors_int(f, "time"));
	assert_int_equal(b->time_nsec, vectors_u64(f, "time_nsec"));
	assert_string_equal(b->hostname, vectors_str(f, "hostname"));
	assert_string_equal(b->username, vectors_str(f, "username"));
	assert_strings(json_object_get(f, "paths"), b->paths, b->npaths);
	assert_strings(json_object_get(f, "tags"), b->tags, b->ntags);
	assert_int_equal(b->has_parent, !json_is_null(parent));
	if (b->has_parent)
		assert_id_hex(parent, b->parent);
	assert_int_equal(json_array_size(tree), b->ntree);
	for (size_t i = 0; i < b->ntree; i++) {
		json_t *t = json_array_get(tree, i);
		assert_id_hex(json_object_get(t, "id"), b->tree[i].id);
		assert_int_equal(b->tree[i].len, vectors_u64(t, "len"));
	}
	assert_int_equal(b->tree_size, vectors_u64(f, "tree_size"));
	assert_int_equal(b->files, vectors_u64(f, "files"));
	assert_int_equal(b->dirs, vectors_u64(f, "dirs"));
	assert_int_equal(b->bytes, vectors_u64(f, "bytes"));
	assert_int_equal(b->errors, vectors_u64(f, "errors"));
	/* The chain: absent from a version 1 body, which reads as 0 and none. */
	if (json_object_get(f, "seq") == NULL) {
		assert_int_equal(b->version, 1);
		assert_int_equal(b->seq, 0);
		assert_int_equal(b->nprev, 0);
		return;
	}
	assert_int_equal(b->version, 2);
	assert_int_equal(b->seq, vectors_u64(f, "seq"));
	assert_int_equal(b->nprev, json_array_size(json_object_get(f, "prev")));
	for (size_t i = 0; i < b->nprev; i++)
		assert_id_hex(json_array_get(json_object_get(f, "prev"), i), b->prev[i]);
}

static void
body_eq(const struct vc_snapbody *a, const struct vc_snapbody *b)
{
	assert_int_equal(a->time, b->time);
	assert_int_equal(a->time_nsec, b->time_nsec);
	assert_string_equal(a->hostname, b->hostname);
	assert_string_equal(a->username, b->username);
	assert_int_equal(a->npaths, b->npaths);
	for (size_t i = 0; i < a->npaths; i++)
		assert_string_equal(a->paths[i], b->paths[i]);
	assert_int_equal(a->ntags, b->ntags);
	for (size_t i = 0; i < a->ntags; i++)
		assert_string_equal(a->tags[i], b->tags[i]);
	assert_int_equal(a->has_parent, b->has_parent);
	if (a->has_parent)
		assert_memory_equal(a->parent, b->parent, VC_ID_LEN);
	assert_int_equal(a->ntree, b->ntree);
	if (a->ntree > 0)
		assert_memory_equal(a->tree, b->tree, a->ntree * sizeof(*a->tree));
	assert_int_equal(a->tree_size, b->tree_size);
	assert_int_equal(a->files, b->files);
	assert_int_equal(a->dirs, b->dirs);
	assert_int_equal(a->bytes, b->bytes);
	assert_int_equal(a->errors, b->errors);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->nprev, b->nprev);
	if (a->nprev > 0)
		assert_memory_equal(a->prev, b->prev, a->nprev * sizeof(*a->prev));
}

/* The body vector's header, nonce and sealed body. */
struct body_vec {
	json_t *doc, *v;
	uint8_t *hdr, *nonce, *sealed;
	size_t hdr_len, sealed_len;
	const char *json;
};

static void
body_vec_load_named(struct body_vec *bv, const char *member)
{
	size_t n;

	bv->doc = vectors_load("tree.json", 0);
	bv->v = json_object_get(bv->doc, member);
	assert_non_null(bv->v);
	bv->hdr = vectors_hex(vectors_str(bv->v, "header_hex"), &bv->hdr_len);
	bv->nonce = vectors_hex(vectors_str(bv->v, "nonce_hex"), &n);
	assert_int_equal(n, VC_NONCE_LEN);
	bv->sealed = vectors_hex(vectors_str(bv->v, "sealed_hex"), &bv->sealed_len);
	bv->json = vectors_str(bv->v, "json");
}

static void
body_vec_load(struct body_vec *bv)
{
	body_vec_load_named(bv, "body");
}

static void
body_vec_free(struct body_vec *bv)
{
	free(bv->hdr);
	free(bv->nonce);
	free(bv->sealed);
	json_decref(bv->doc);
}

/* One body vector (version 1 or 2): Python sealed, C opens, C seals the
 * same bytes, C's own JSON of the fields round-trips (as version 2). */
static void
check_body_vector(const char *member)
{
	struct vc_snapbody b, b2;
	struct body_vec bv;
	struct vc_keys k;
	struct envelope env;
	uint8_t *out, *whole;
	size_t outlen, jlen;
	char *json;

	index_keys(&k);
	body_vec_load_named(&bv, member);
	/* The header is a real envelope header whose body is this one. */
	whole = malloc(bv.hdr_len + bv.sealed_len);
	memcpy(whole, bv.hdr, bv.hdr_len);
	memcpy(whole + bv.hdr_len, bv.sealed, bv.sealed_len);
	assert_int_equal(envelope_parse(whole, bv.hdr_len + bv.sealed_len, &env), ENVELOPE_OK);
	assert_int_equal(env.body_len, bv.sealed_len);
	free(whole);

	/* Python sealed, C opens. */
	assert_int_equal(vc_snapbody_open(&k, bv.hdr, bv.hdr_len, bv.sealed, bv.sealed_len, &b),
	    VC_OK);
	assert_fields(json_object_get(bv.v, "fields"), &b);
	assert_int_equal(env.client_time, b.time);
	/* tree_version as the JSON says (1 in body, 2 in body_v2). */
	json_t *text = json_loads(bv.json, 0, NULL);
	assert_non_null(text);
	assert_int_equal(b.tree_version, vectors_u64(text, "tree_version"));
	json_decref(text);

	/* The same JSON text sealed by C: the same bytes. */
	assert_int_equal(vc_snapbody_seal(&k, bv.hdr, bv.hdr_len, bv.json, strlen(bv.json),
	    bv.nonce, &out, &outlen), VC_OK);
	assert_int_equal(outlen, vc_snapbody_sealed_len(strlen(bv.json)));
	assert_int_equal(outlen, bv.sealed_len);
	assert_memory_equal(out, bv.sealed, outlen);
	free(out);

	/* C's own JSON of the same fields opens to them again; two seals
	 * with random nonces differ. */
	assert_int_equal(vc_snapbody_json(&b, &json, &jlen), VC_OK);
	assert_int_equal(strlen(json), jlen);
	assert_int_equal(vc_snapbody_seal(&k, bv.hdr, bv.hdr_len, json, jlen, NULL, &out,
	    &outlen), VC_OK);
	assert_int_equal(vc_snapbody_open(&k, bv.hdr, bv.hdr_len, out, outlen, &b2), VC_OK);
	body_eq(&b, &b2);
	assert_int_equal(b2.version, VC_SNAPBODY_VERSION);
	assert_int_equal(b2.tree_version, VC_TREE_VERSION);
	vc_snapbody_free(&b2);
	uint8_t *out2;
	size_t out2len;
	assert_int_equal(vc_snapbody_seal(&k, bv.hdr, bv.hdr_len, json, jlen, NULL, &out2,
	    &out2len), VC_OK);
	assert_int_equal(out2len, outlen);
	assert_memory_not_equal(out, out2, outlen);
	free(out2);
	free(out);
	free(json);
	vc_snapbody_free(&b);
	vc_snapbody_free(&b);   /* idempotent on an emptied struct */
	body_vec_free(&bv);
}

static void
test_body_vector(void **state)
{
	(void)state;
	check_body_vector("body");
}

static void
test_body_v2_vector(void **state)
{
	(void)state;
	check_body_vector("body_v2");
}

static void
test_body_damage(void **state)
{
	struct vc_snapbody b;
	struct body_vec bv;
	struct vc_keys k;
	uint8_t *other;

	(void)state;
	index_keys(&k);
	body_vec_load(&bv);
	for (size_t i = 0; i < bv.sealed_len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			bv.sealed[i] ^= (uint8_t)(1u << bit);
			int rc = vc_snapbody_open(&k, bv.hdr, bv.hdr_len, bv.sealed, bv.sealed_len,
			    &b);
			bv.sealed[i] ^= (uint8_t)(1u << bit);
			if (rc != VC_E_AUTH)
				fail_msg("body byte %zu bit %d: %d", i, bit, rc);
			assert_null(b.hostname);
		}
	}
	/* Any edit of the header: the body no longer belongs to it. */
	for (size_t i = 0; i < bv.hdr_len; i++) {
		bv.hdr[i] ^= 0x01;
		assert_int_equal(vc_snapbody_open(&k, bv.hdr, bv.hdr_len, bv.sealed,
		    bv.sealed_len, &b), VC_E_AUTH);
		bv.hdr[i] ^= 0x01;
	}
	/* The body moved under another envelope's header (one more ref). */
	other = malloc(bv.hdr_len + ENVELOPE_REF_LEN);
	memcpy(other, bv.hdr, bv.hdr_len - ENVELOPE_BODY_LEN_LEN);
	memset(other + bv.hdr_len - ENVELOPE_BODY_LEN_LEN, 0xee, ENVELOPE_REF_LEN);
	memcpy(other + bv.hdr_len - ENVELOPE_BODY_LEN_LEN + ENVELOPE_REF_LEN,
	    bv.hdr + bv.hdr_len - ENVELOPE_BODY_LEN_LEN, ENVELOPE_BODY_LEN_LEN);
	assert_int_equal(vc_snapbody_open(&k, other, bv.hdr_len + ENVELOPE_REF_LEN, bv.sealed,
	    bv.sealed_len, &b), VC_E_AUTH);
	assert_int_equal(vc_snapbody_open(&k, bv.hdr, bv.hdr_len - 1, bv.sealed, bv.sealed_len,
	    &b), VC_E_AUTH);
	free(other);
	/* Cut short: too short to hold nonce and tag, else unauthentic. */
	for (size_t len = 0; len < bv.sealed_len; len++)
		assert_int_equal(vc_snapbody_open(&k, bv.hdr, bv.hdr_len, bv.sealed, len, &b),
		    len < VC_SNAPBODY_OVERHEAD ? VC_E_CORRUPT : VC_E_AUTH);
	/* Another vault's index key. */
	k.index[0] ^= 1;
	assert_int_equal(vc_snapbody_open(&k, bv.hdr, bv.hdr_len, bv.sealed, bv.sealed_len, &b),
	    VC_E_AUTH);
	/* Over the JSON bound: refused before anything is read. */
	assert_int_equal(vc_snapbody_open(&k, bv.hdr, bv.hdr_len, bv.sealed,
	    VC_SNAPBODY_OVERHEAD + VC_SNAPBODY_JSON_MAX + 1, &b), VC_E_TOOBIG);
	body_vec_free(&bv);
}

static void
test_body_invalid(void **state)
{
	json_t *doc = vectors_load("tree.json", 0), *v;
	struct vc_snapbody b;
	struct body_vec bv;
	struct vc_keys k;
	uint8_t *json, *sealed;
	size_t i, jlen, slen;
	int rc, want;

	(void)state;
	index_keys(&k);
	body_vec_load(&bv);
	json_array_foreach(json_object_get(doc, "body_invalid"), i, v) {
		json = vectors_hex(vectors_str(v, "json_hex"), &jlen);
		want = strcmp(vectors_str(v, "error"), "unsupported") == 0 ? VC_E_UNSUPPORTED :
		    VC_E_CORRUPT;
		assert_int_equal(vc_snapbody_seal(&k, bv.hdr, bv.hdr_len, (const char *)json,
		    jlen, NULL, &sealed, &slen), VC_OK);
		memset(&b, 0xa5, sizeof(b));
		rc = vc_snapbody_open(&k, bv.hdr, bv.hdr_len, sealed, slen, &b);
		if (rc != want)
			fail_msg("\"%s\": %d, want %d", vectors_str(v, "note"), rc, want);
		/* Nothing is left behind on failure. */
		assert_null(b.hostname);
		assert_null(b.paths);
		assert_null(b.tree);
		free(sealed);
		free(json);
	}
	assert_true(i >= 30);
	body_vec_free(&bv);
	json_decref(doc);
}

/* vc_snapbody_json refuses what it cannot write faithfully. */
static void
test_body_json_rules(void **state)
{
	char *paths[] = { "/home" }, *rel[] = { "home" }, *badutf[] = { "/\xc0\xaf" };
	char *surrogate = "\xed\xa0\x80", *ok4 = "\xf0\x9f\x98\x80";
	struct vc_chunk_ref tree[2] = { { { 1 }, 10 }, { { 2 }, 20 } };
	struct vc_snapbody b = { .hostname = "h", .username = "u", .paths = paths,
	    .npaths = 1, .tree = tree, .ntree = 2, .tree_size = 30 };
	struct vc_snapbody t;
	struct vc_keys k;
	size_t len;
	char *json;

	(void)state;
	memset(&k, 0, sizeof(k));
	assert_int_equal(vc_snapbody_json(&b, &json, &len), VC_OK);
	assert_non_null(strstr(json, "\"parent\":null"));
	free(json);
#define REFUSED(field, value) do {                                           \
		t = b;                                                         \
		t.field = value;                                               \
		assert_int_equal(vc_snapbody_json(&t, &json, &len), VC_E_CORRUPT); \
		assert_null(json);                                             \
	} while (0)
	REFUSED(paths, rel);
	REFUSED(paths, badutf);
	REFUSED(hostname, surrogate);
	REFUSED(username, "\xff");
	REFUSED(hostname, NULL);
	REFUSED(time_nsec, NSEC_PER_SEC);
	REFUSED(files, (uint64_t)INT64_MAX + 1);
	REFUSED(errors, UINT64_MAX);
	REFUSED(tree_size, 31);
	t = b;
	t.hostname = ok4;
	assert_int_equal(vc_snapbody_json(&t, &json, &len), VC_OK);
	free(json);
	tree[0].len = 0;
	REFUSED(tree_size, 20);
	tree[0].len = VC_CHUNK_MAX + 1;
	REFUSED(tree_size, VC_CHUNK_MAX + 21);
#undef REFUSED
	/* Past the JSON bound: refused before anything is read. */
	uint8_t *out = (uint8_t *)&len;
	size_t outlen = 1;
	assert_int_equal(vc_snapbody_seal(&k, NULL, 0, "", VC_SNAPBODY_JSON_MAX + 1, NULL, &out,
	    &outlen), VC_E_TOOBIG);
	assert_null(out);
	assert_int_equal(outlen, 0);
}

static void
test_group_vectors(void **state)
{
	json_t *doc = vectors_load("tree.json", 0), *v, *a;
	uint8_t group[32], *want;
	struct vc_keys k;
	size_t i, n, len;
	char **paths;

	(void)state;
	index_keys(&k);
	json_array_foreach(json_object_get(doc, "group"), i, v) {
		a = json_object_get(v, "paths");
		n = json_array_size(a);
		paths = calloc(n + 1, sizeof(*paths));
		for (size_t j = 0; j < n; j++)
			paths[j] = (char *)json_string_value(json_array_get(a, j));
		vc_snapshot_group(&k, vectors_str(v, "hostname"), paths, n, group);
		want = vectors_hex(vectors_str(v, "group_hex"), &len);
		assert_int_equal(len, sizeof(group));
		assert_memory_equal(group, want, len);
		free(want);
		free(paths);
	}
	assert_true(i >= 5);
	json_decref(doc);
}

/* ---- allocation failures --------------------------------------------- */

static void
check_alloc_body(const char *member)
{
	struct vc_snapbody b, b2;
	struct body_vec bv;
	struct vc_keys k;
	unsigned long nth, nomem = 0, misread = 0;
	uint8_t *out;
	size_t outlen, jlen;
	char *json;
	int rc, fired;

	index_keys(&k);
	body_vec_load_named(&bv, member);
	/*
	 * Opening: a failed allocation of our own is VC_E_NOMEM. jansson 2.14
	 * cannot always tell: a failed string allocation in its lexer reads
	 * as an invalid token (corrupt), and a failed growth of its token
	 * buffer drops a byte silently. Those are counted, not hidden.
	 */
	for (nth = 1;; nth++) {
		faultsim_config((int)nth - 1, 1);
		jansson_failed = 0;
		rc = vc_snapbody_open(&k, bv.hdr, bv.hdr_len, bv.sealed, bv.sealed_len, &b);
		fired = faultsim_off() != 0;
		if (!fired) {
			assert_int_equal(rc, VC_OK);
			break;
		}
		if (rc == VC_E_NOMEM) {
			nomem++;
		} else if (!jansson_failed) {
			fail_msg("allocation %lu failing in snapbody.c: %d", nth, rc);
		} else if (rc == VC_E_CORRUPT) {
			misread++;
		} else {
			assert_int_equal(rc, VC_OK);
			vc_snapbody_free(&b);
			misread++;
		}
		if (rc != VC_OK)
			assert_null(b.hostname);
	}
	assert_fields(json_object_get(bv.v, "fields"), &b);
	print_message("open: %lu allocations, %lu out of memory, %lu misread by jansson\n",
	    nth - 1, nomem, misread);
	assert_true(nomem > nth / 2);
	assert_true(nth > 10);
	for (nth = 1;; nth++) {
		faultsim_config((int)nth - 1, 1);
		rc = vc_snapbody_json(&b, &json, &jlen);
		if (faultsim_off() == 0) {
			assert_int_equal(rc, VC_OK);
			break;
		}
		assert_int_equal(rc, VC_E_NOMEM);
		assert_null(json);
	}
	assert_true(nth > 10);
	for (nth = 1;; nth++) {
		faultsim_config((int)nth - 1, 1);
		rc = vc_snapbody_seal(&k, bv.hdr, bv.hdr_len, json, jlen, NULL, &out, &outlen);
		if (faultsim_off() == 0) {
			assert_int_equal(rc, VC_OK);
			break;
		}
		assert_int_equal(rc, VC_E_NOMEM);
		assert_null(out);
	}
	assert_int_equal(nth, 2);
	assert_int_equal(vc_snapbody_open(&k, bv.hdr, bv.hdr_len, out, outlen, &b2), VC_OK);
	body_eq(&b, &b2);
	vc_snapbody_free(&b2);
	vc_snapbody_free(&b);
	free(out);
	free(json);
	body_vec_free(&bv);
}

/* Both body versions: version 2 allocates its prev array too. */
static void
test_alloc_body(void **state)
{
	(void)state;
	check_alloc_body("body");
	check_alloc_body("body_v2");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_body_vector),
		cmocka_unit_test(test_body_v2_vector),
		cmocka_unit_test(test_body_damage),
		cmocka_unit_test(test_body_invalid),
		cmocka_unit_test(test_body_json_rules),
		cmocka_unit_test(test_group_vectors),
		cmocka_unit_test(test_alloc_body),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
