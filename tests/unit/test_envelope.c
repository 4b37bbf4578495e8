/*
 * Tests for the snapshot envelope (protocol/envelope.c, spec/envelope.md):
 * the shared vectors in spec/vectors/envelope.json, round trips, every
 * error, every truncation of a valid envelope, and single-bit flips in the
 * header.
 *
 * Paths are relative to the repository root, where `make unit` runs the
 * tests; set VAULT_VECTORS to read the vectors from another directory.
 * Inputs are copied into buffers of exactly their length, so that ASan
 * catches a read of one byte too many.
 */
#include <errno.h>
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

#include "envelope.h"
#include "faultsim.h"
#include "sha256.h"
#include "vsp.h"


/* The layout as spec/envelope.md writes it out, repeated here so that a
 * change of a constant shows up as a test failure, not as a silent change
 * of the wire format. */
static void
test_layout(void **state)
{
	(void)state;
	assert_int_equal(ENVELOPE_VERSION_OFF, 8);
	assert_int_equal(ENVELOPE_FLAGS_OFF, 9);
	assert_int_equal(ENVELOPE_TIME_OFF, 13);
	assert_int_equal(ENVELOPE_GROUP_OFF, 21);
	assert_int_equal(ENVELOPE_NREFS_OFF, 53);
	assert_int_equal(ENVELOPE_REFS_OFF, 57);
	assert_int_equal(ENVELOPE_REF_LEN, 33);
	assert_int_equal(ENVELOPE_HEADER_MIN, 65);
	assert_int_equal(ENVELOPE_HEADER_LEN(1), 98);
	assert_int_equal(ENVELOPE_HEADER_MAX, 33000065);
	assert_int_equal(ENVELOPE_KIND_PACK, VSP_KIND_PACK);
	assert_int_equal(ENVELOPE_KIND_INDEX, VSP_KIND_INDEX);
	assert_int_equal(strlen(ENVELOPE_MAGIC), ENVELOPE_MAGIC_LEN);
}

/* An exact-size copy of len bytes (a valid pointer even for 0). */
static uint8_t *
dup_exact(const uint8_t *p, size_t len)
{
	uint8_t *q = malloc(len > 0 ? len : 1);

	assert_non_null(q);
	if (len > 0)
		memcpy(q, p, len);
	return q;
}

/* Parses buf (len bytes) from an exact-size copy. */
static enum envelope_err
parse_exact(const uint8_t *buf, size_t len, struct envelope *e, uint8_t **copy)
{
	*copy = dup_exact(buf, len);
	return envelope_parse(*copy, len, e);
}

/* Re-encodes a parsed envelope; fails the test if the encoder refuses. */
static void
reencode(const struct envelope *e, uint8_t **out, size_t *out_len)
{
	struct envelope_ref *refs = NULL;

	if (e->nrefs > 0) {
		assert_non_null(refs = calloc(e->nrefs, sizeof(*refs)));
		for (size_t i = 0; i < e->nrefs; i++)
			envelope_ref_get(e, i, &refs[i]);
	}
	assert_int_equal(envelope_encode(e->client_time, e->group, e->flags, refs,
	    e->nrefs, e->body, e->body_len, out, out_len), 0);
	free(refs);
}

/* Parses buf and checks that it encodes back to the same bytes. */
static void
check_canonical(const uint8_t *buf, size_t len)
{
	struct envelope e;
	uint8_t *copy, *again;
	size_t again_len;

	assert_int_equal(parse_exact(buf, len, &e, &copy), ENVELOPE_OK);
	reencode(&e, &again, &again_len);
	assert_int_equal(again_len, len);
	assert_memory_equal(again, buf, len);
	free(again);
	free(copy);
}

/* --- the streaming reader -------------------------------------------- */

/* Feeds buf (len bytes) to a new reader in pieces of at most piece bytes,
 * each an exact-size copy; the caller frees the reader. */
static struct envelope_reader *
read_pieces(const uint8_t *buf, size_t len, size_t piece)
{
	struct envelope_reader *r = envelope_reader_new();

	assert_non_null(r);
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		uint8_t *copy = dup_exact(buf + off, n);

		assert_int_equal(envelope_reader_feed(r, copy, n), 0);
		free(copy);
	}
	return r;
}

/* The reader's verdict on buf, however it is cut, is envelope_parse()'s,
 * and a valid envelope reads as the same fields and references. */
static void
check_reader(const uint8_t *buf, size_t len)
{
	static const size_t pieces[] = {SIZE_MAX, 1, 7, ENVELOPE_REF_LEN, 64};
	struct envelope want;
	enum envelope_err werr;
	uint8_t *copy;

	werr = parse_exact(buf, len, &want, &copy);
	for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
		struct envelope_reader *r = read_pieces(buf, len, pieces[p]);
		const struct envelope *got = NULL;
		enum envelope_err err = envelope_reader_finish(r, &got);

		if (err != werr)
			fail_msg("pieces of %zu: reader says %s, envelope_parse %s", pieces[p],
			    envelope_err_code(err), envelope_err_code(werr));
		if (err == ENVELOPE_OK) {
			assert_non_null(got);
			assert_true(got->client_time == want.client_time);
			assert_int_equal(got->flags, want.flags);
			assert_memory_equal(got->group, want.group, ENVELOPE_GROUP_LEN);
			assert_int_equal(got->body_len, want.body_len);
			assert_null(got->body);
			assert_int_equal(got->nrefs, want.nrefs);
			for (size_t i = 0; i < want.nrefs; i++) {
				struct envelope_ref a, b;
				envelope_ref_get(got, i, &a);
				envelope_ref_get(&want, i, &b);
				assert_memory_equal(&a, &b, sizeof(a));
			}
			assert_int_equal(envelope_reader_need(r), 0);
		}
		envelope_reader_free(r);
	}
	free(copy);
}

/* --- vectors -------------------------------------------------------- */


static void
test_vectors_valid(void **state)
{
	json_t *doc = vectors_load("envelope.json", 0);
	json_t *valid = json_object_get(doc, "valid"), *v;
	size_t i;

	(void)state;
	assert_true(json_is_array(valid));
	assert_true(json_array_size(valid) >= 5);
	json_array_foreach(valid, i, v) {
		size_t len, glen, blen, hlen;
		uint8_t *buf = vectors_hex(vectors_str(v, "hex"), &len);
		uint8_t *group = vectors_hex(vectors_str(v, "group_hex"), &glen);
		uint8_t *body = vectors_hex(vectors_str(v, "body_hex"), &blen);
		json_t *refs = json_object_get(v, "refs"), *r;
		uint8_t digest[SHA256_LEN];
		char idhex[VSP_ID_HEX_LEN + 1];
		struct envelope e, h;
		enum envelope_err err;
		size_t j;

		err = envelope_parse(buf, len, &e);
		if (err != ENVELOPE_OK)
			fail_msg("valid[%zu] (%s): %s", i, vectors_str(v, "note"),
			    envelope_strerror(err));
		assert_int_equal(e.flags, (uint32_t)vectors_int(v, "flags"));
		assert_true(e.client_time == (int64_t)vectors_int(v, "client_time"));
		assert_int_equal(glen, ENVELOPE_GROUP_LEN);
		assert_memory_equal(e.group, group, ENVELOPE_GROUP_LEN);
		assert_int_equal(e.body_len, blen);
		assert_ptr_equal(e.body, buf + len - blen);
		if (blen > 0)
			assert_memory_equal(e.body, body, blen);
		assert_true(json_is_array(refs));
		assert_int_equal(e.nrefs, json_array_size(refs));
		json_array_foreach(refs, j, r) {
			struct envelope_ref ref;
			uint8_t id[VSP_ID_LEN];
			const char *kind = vectors_str(r, "kind");
			const char *id_hex = vectors_str(r, "id");

			envelope_ref_get(&e, j, &ref);
			assert_int_equal(vsp_id_parse(id_hex, strlen(id_hex), id), 0);
			assert_memory_equal(ref.id, id, VSP_ID_LEN);
			assert_string_equal(vsp_kind_name((enum vsp_kind)ref.kind), kind);
		}

		/* The header alone, as a streaming server sees it. */
		assert_int_equal(envelope_parse_header(buf, len, &h, &hlen), ENVELOPE_OK);
		assert_int_equal(hlen, (size_t)vectors_int(v, "header_len"));
		assert_null(h.body);
		assert_int_equal(h.body_len, blen);
		assert_int_equal(hlen + blen, len);

		/* Its object ID, and the canonical encoding. */
		assert_int_equal(sha256_buf(buf, len, digest), 0);
		vsp_id_format(digest, idhex);
		assert_string_equal(idhex, vectors_str(v, "object_id"));
		check_canonical(buf, len);
		check_reader(buf, len);

		free(buf);
		free(group);
		free(body);
	}
	json_decref(doc);
}

static void
test_vectors_invalid(void **state)
{
	json_t *doc = vectors_load("envelope.json", 0);
	json_t *invalid = json_object_get(doc, "invalid"), *v;
	int seen[ENVELOPE_ERR_COUNT] = {0};
	size_t i;

	(void)state;
	assert_true(json_is_array(invalid));
	assert_true(json_array_size(invalid) >= 10);
	json_array_foreach(invalid, i, v) {
		size_t len, hlen;
		uint8_t *buf = vectors_hex(vectors_str(v, "hex"), &len);
		const char *want = vectors_str(v, "error");
		struct envelope e;
		enum envelope_err err = envelope_parse(buf, len, &e);
		enum envelope_err herr = envelope_parse_header(buf, len, &e, &hlen);

		if (strcmp(envelope_err_code(err), want) != 0)
			fail_msg("invalid[%zu] (%s): got %s, want %s", i,
			    vectors_str(v, "note"), envelope_err_code(err), want);
		seen[err] = 1;
		/* The header parser agrees, except that a header followed by
		 * too few body bytes is fine for it. */
		if (herr == ENVELOPE_OK)
			assert_int_equal(err, ENVELOPE_TRUNCATED);
		else
			assert_int_equal(herr, err);
		if (herr == ENVELOPE_TRUNCATED)
			assert_true(hlen > len);
		check_reader(buf, len);
		free(buf);
	}
	/* Every error has at least one vector. */
	for (int k = ENVELOPE_OK + 1; k < ENVELOPE_ERR_COUNT; k++) {
		if (!seen[k])
			fail_msg("no invalid vector gives %s", envelope_err_code((enum envelope_err)k));
	}
	json_decref(doc);
}

/* --- round trips ---------------------------------------------------- */

/* A small deterministic generator (xorshift64*) for test data. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static int
sort_refs_cmp(const void *a, const void *b)
{
	const struct envelope_ref *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return memcmp(x->id, y->id, VSP_ID_LEN);
}

/* Fills refs with n sorted, unique references. */
static void
make_refs(uint64_t *s, struct envelope_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		refs[i].kind = (uint8_t)(rnd(s) & 1);
		for (size_t b = 0; b < VSP_ID_LEN; b++)
			refs[i].id[b] = (uint8_t)rnd(s);
	}
	qsort(refs, n, sizeof(*refs), sort_refs_cmp);
	for (size_t i = 1; i < n; i++)
		assert_true(sort_refs_cmp(&refs[i - 1], &refs[i]) < 0);
}

/* Encodes a random envelope with n references and blen body bytes. */
static void
make_envelope(uint64_t *s, size_t n, size_t blen, uint8_t **out, size_t *out_len)
{
	struct envelope_ref *refs = calloc(n > 0 ? n : 1, sizeof(*refs));
	uint8_t group[ENVELOPE_GROUP_LEN], *body = malloc(blen > 0 ? blen : 1);

	assert_non_null(refs);
	assert_non_null(body);
	make_refs(s, refs, n);
	for (size_t b = 0; b < sizeof(group); b++)
		group[b] = (uint8_t)rnd(s);
	for (size_t b = 0; b < blen; b++)
		body[b] = (uint8_t)rnd(s);
	assert_int_equal(envelope_encode((int64_t)rnd(s), group,
	    (uint32_t)rnd(s) & ~ENVELOPE_FLAGS_CRITICAL, refs, n, body, blen,
	    out, out_len), 0);
	free(refs);
	free(body);
}

static void
test_roundtrip(void **state)
{
	static const int64_t times[] = {
		0, 1, -1, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1,
		1700000000, -2208988800, 4102444800,
	};
	uint64_t s = 0x9e3779b97f4a7c15u;
	uint8_t group[ENVELOPE_GROUP_LEN];

	(void)state;
	memset(group, 0x5c, sizeof(group));
	for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
		struct envelope_ref ref = {ENVELOPE_KIND_INDEX, {0}};
		struct envelope e;
		uint8_t *buf;
		size_t len;

		assert_int_equal(envelope_encode(times[t], group, 0xffff, &ref, 1,
		    (const uint8_t *)"b", 1, &buf, &len), 0);
		assert_int_equal(envelope_parse(buf, len, &e), ENVELOPE_OK);
		assert_true(e.client_time == times[t]);
		assert_int_equal(e.flags, 0xffff);
		assert_memory_equal(e.group, group, sizeof(group));
		free(buf);
	}
	for (size_t round = 0; round < 200; round++) {
		size_t n = (size_t)(rnd(&s) % 40), blen = (size_t)(rnd(&s) % 300);
		uint8_t *buf;
		size_t len;

		make_envelope(&s, n, blen, &buf, &len);
		assert_int_equal(len, ENVELOPE_HEADER_LEN(n) + blen);
		check_canonical(buf, len);
		check_reader(buf, len);
		free(buf);
	}
}

/* The bound itself: ENVELOPE_REFS_MAX references (a 33 MB header) parse. */
static void
test_max_refs(void **state)
{
	uint64_t s = 42;
	uint8_t *buf, *big;
	size_t len, hlen;
	struct envelope e;

	(void)state;
	make_envelope(&s, ENVELOPE_REFS_MAX, 3, &buf, &len);
	assert_int_equal(len, ENVELOPE_HEADER_MAX + 3);
	assert_int_equal(envelope_parse(buf, len, &e), ENVELOPE_OK);
	assert_int_equal(e.nrefs, ENVELOPE_REFS_MAX);
	assert_int_equal(envelope_parse_header(buf, 100, &e, &hlen), ENVELOPE_TRUNCATED);
	assert_int_equal(hlen, ENVELOPE_HEADER_MAX);

	/* One more in the count is refused from the count alone. */
	assert_non_null(big = dup_exact(buf, ENVELOPE_REFS_OFF));
	big[ENVELOPE_NREFS_OFF] = (uint8_t)((ENVELOPE_REFS_MAX + 1) & 0xff);
	big[ENVELOPE_NREFS_OFF + 1] = (uint8_t)((ENVELOPE_REFS_MAX + 1) >> 8 & 0xff);
	big[ENVELOPE_NREFS_OFF + 2] = (uint8_t)((ENVELOPE_REFS_MAX + 1) >> 16 & 0xff);
	big[ENVELOPE_NREFS_OFF + 3] = 0;
	assert_int_equal(envelope_parse(big, ENVELOPE_REFS_OFF, &e), ENVELOPE_TOO_MANY_REFS);
	free(big);
	free(buf);
}

/* envelope_ref_cmp orders as the encoded bytes do (kind first, then the ID
 * from its first byte), so qsort with it gives what envelope_encode takes. */
static void
test_ref_cmp(void **state)
{
	struct envelope_ref r[5], a, b;
	uint8_t group[ENVELOPE_GROUP_LEN] = {0};
	uint64_t s = 77;
	uint8_t *buf;
	size_t len;
	struct envelope e;

	(void)state;
	memset(&a, 0, sizeof(a));
	b = a;
	assert_int_equal(envelope_ref_cmp(&a, &b), 0);
	b.kind = ENVELOPE_KIND_INDEX;
	a.id[0] = 0xff; /* the kind decides before any ID byte */
	assert_true(envelope_ref_cmp(&a, &b) < 0);
	assert_true(envelope_ref_cmp(&b, &a) > 0);
	b = a;
	b.id[VSP_ID_LEN - 1] = 1; /* the last ID byte still counts */
	assert_true(envelope_ref_cmp(&a, &b) < 0);
	b.id[0] = 0xfe;
	assert_true(envelope_ref_cmp(&a, &b) > 0); /* ... after the first */

	/* Shuffled references sorted with it encode, and parse back in order. */
	for (size_t i = 0; i < 5; i++) {
		r[i].kind = (uint8_t)(rnd(&s) & 1);
		for (size_t k = 0; k < VSP_ID_LEN; k++)
			r[i].id[k] = (uint8_t)rnd(&s);
	}
	qsort(r, 5, sizeof(r[0]), envelope_ref_cmp);
	assert_int_equal(envelope_encode(1, group, 0, r, 5, NULL, 0, &buf, &len), 0);
	assert_int_equal(envelope_parse(buf, len, &e), ENVELOPE_OK);
	for (size_t i = 0; i < 5; i++) {
		envelope_ref_get(&e, i, &a);
		assert_int_equal(a.kind, r[i].kind);
		assert_memory_equal(a.id, r[i].id, VSP_ID_LEN);
		if (i > 0)
			assert_true(envelope_ref_cmp(&r[i - 1], &r[i]) < 0);
	}
	free(buf);
}

/* envelope_refs_copy gives every reference as envelope_ref_get does, NULL
 * for none, and fails cleanly when it cannot allocate. */
static void
test_refs_copy(void **state)
{
	struct envelope_ref *got = NULL, want, sentinel;
	uint64_t s = 11;
	uint8_t *buf;
	size_t len;
	struct envelope e;
	int n;

	(void)state;
	make_envelope(&s, 0, 1, &buf, &len);
	assert_int_equal(envelope_parse(buf, len, &e), ENVELOPE_OK);
	got = &sentinel; /* must be overwritten */
	assert_int_equal(envelope_refs_copy(&e, &got), 0);
	assert_null(got);
	free(buf);

	make_envelope(&s, 7, 3, &buf, &len);
	assert_int_equal(envelope_parse(buf, len, &e), ENVELOPE_OK);
	for (n = 0;; n++) {
		int rc;

		faultsim_config(n, 1);
		rc = envelope_refs_copy(&e, &got);
		if (faultsim_off() == 0) {
			assert_int_equal(rc, 0);
			break;
		}
		assert_int_equal(rc, -1);
		assert_int_equal(errno, ENOMEM);
		assert_null(got);
	}
	assert_int_equal(n, 1);
	assert_non_null(got);
	for (size_t i = 0; i < e.nrefs; i++) {
		envelope_ref_get(&e, i, &want);
		assert_int_equal(got[i].kind, want.kind);
		assert_memory_equal(got[i].id, want.id, VSP_ID_LEN);
	}
	free(got);
	free(buf);
}

/* --- errors --------------------------------------------------------- */

static void
test_encode_errors(void **state)
{
	uint8_t group[ENVELOPE_GROUP_LEN] = {0}, *out = NULL;
	struct envelope_ref refs[2];
	size_t len = 0;

	(void)state;
	memset(refs, 0, sizeof(refs));
	refs[1].id[VSP_ID_LEN - 1] = 1;

	/* Sorted and unique: fine; then each way to break it. */
	assert_int_equal(envelope_encode(0, group, 0, refs, 2, NULL, 0, &out, &len), 0);
	free(out);

	refs[1].id[VSP_ID_LEN - 1] = 0;
	errno = 0;
	assert_int_equal(envelope_encode(0, group, 0, refs, 2, NULL, 0, &out, &len), -1);
	assert_int_equal(errno, EINVAL);

	refs[0].id[0] = 1;
	errno = 0;
	assert_int_equal(envelope_encode(0, group, 0, refs, 2, NULL, 0, &out, &len), -1);
	assert_int_equal(errno, EINVAL);

	/* Kind order comes before ID order: an index after a pack is fine
	 * whatever the IDs, a pack after an index is not. */
	refs[0].kind = ENVELOPE_KIND_PACK;
	refs[1].kind = ENVELOPE_KIND_INDEX;
	assert_int_equal(envelope_encode(0, group, 0, refs, 2, NULL, 0, &out, &len), 0);
	free(out);
	refs[0].kind = ENVELOPE_KIND_INDEX;
	refs[1].kind = ENVELOPE_KIND_PACK;
	assert_int_equal(envelope_encode(0, group, 0, refs, 2, NULL, 0, &out, &len), -1);

	refs[0].kind = 2;
	errno = 0;
	assert_int_equal(envelope_encode(0, group, 0, refs, 1, NULL, 0, &out, &len), -1);
	assert_int_equal(errno, EINVAL);
	refs[0].kind = ENVELOPE_KIND_PACK;

	errno = 0;
	assert_int_equal(envelope_encode(0, group, UINT32_C(1) << 16, refs, 1, NULL, 0,
	    &out, &len), -1);
	assert_int_equal(errno, EINVAL);

	/* The count is checked before refs is read. */
	errno = 0;
	assert_int_equal(envelope_encode(0, group, 0, refs, ENVELOPE_REFS_MAX + 1, NULL,
	    0, &out, &len), -1);
	assert_int_equal(errno, EINVAL);

	errno = 0;
	assert_int_equal(envelope_encode(0, group, 0, refs, 1, NULL, 1, &out, &len), -1);
	assert_int_equal(errno, EINVAL);

	/* A body no machine can hold: refused before it is read. */
	errno = 0;
	assert_int_equal(envelope_encode(0, group, 0, refs, 1, group, SIZE_MAX - 10, &out,
	    &len), -1);
	assert_int_equal(errno, EOVERFLOW);

	/* Out of memory, at each allocation in turn: -1 with ENOMEM, nothing
	 * returned. */
	for (int n = 0;; n++) {
		int rc;

		out = NULL;
		errno = 0;
		faultsim_config(n, 1);
		rc = envelope_encode(0, group, 0, refs, 1, NULL, 0, &out, &len);
		if (faultsim_off() == 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(n, 1); /* one allocation: the buffer */
			free(out);
			break;
		}
		assert_int_equal(rc, -1);
		assert_int_equal(errno, ENOMEM);
		assert_null(out);
	}
}

/*
 * The reader out of memory at each allocation in turn, once or for good:
 * envelope_reader_new gives NULL, a feed that cannot keep the header gives
 * -1 with ENOMEM and so does every later one; a reader whose allocations
 * all succeeded reads the envelope. ASan checks that nothing leaks.
 */
static void
test_reader_alloc_failures(void **state)
{
	static const int repeats[] = {1, FAULTSIM_PERSIST};
	uint64_t s = 5;
	uint8_t *buf;
	size_t len;

	(void)state;
	make_envelope(&s, 2, 9, &buf, &len);
	for (size_t k = 0; k < sizeof(repeats) / sizeof(repeats[0]); k++) {
		int n;

		for (n = 0;; n++) {
			const struct envelope *e;
			struct envelope_reader *r;
			int rc = 0;

			faultsim_config(n, repeats[k]);
			if ((r = envelope_reader_new()) != NULL) {
				for (size_t off = 0; off < len && rc == 0; off += 10)
					rc = envelope_reader_feed(r, buf + off,
					    len - off < 10 ? len - off : 10);
			}
			if (faultsim_off() == 0) {
				assert_non_null(r);
				assert_int_equal(rc, 0);
				assert_int_equal(envelope_reader_finish(r, &e), ENVELOPE_OK);
				assert_int_equal(e->nrefs, 2);
				envelope_reader_free(r);
				break;
			}
			if (r != NULL) {
				assert_int_equal(rc, -1);
				assert_int_equal(errno, ENOMEM);
				assert_int_equal(envelope_reader_feed(r, buf, 1), -1);
			}
			envelope_reader_free(r);
		}
		/* The reader, the minimum header, the whole header. */
		assert_int_equal(n, 3);
	}
	free(buf);
}

static void
test_strerror(void **state)
{
	(void)state;
	for (int k = 0; k < ENVELOPE_ERR_COUNT; k++) {
		const char *msg = envelope_strerror((enum envelope_err)k);
		const char *code = envelope_err_code((enum envelope_err)k);

		assert_non_null(msg);
		assert_true(strlen(msg) > 0);
		assert_true(strcmp(code, "?") != 0);
		for (int j = 0; j < k; j++)
			assert_true(strcmp(code, envelope_err_code((enum envelope_err)j)) != 0);
	}
	assert_string_equal(envelope_err_code(ENVELOPE_ERR_COUNT), "?");
	assert_non_null(envelope_strerror(ENVELOPE_ERR_COUNT));
	assert_string_equal(envelope_err_code(ENVELOPE_UNSORTED), "unsorted");
}

/*
 * Every proper prefix of a valid envelope is ENVELOPE_TRUNCATED for
 * envelope_parse(); envelope_parse_header() says how much header it needs
 * (exact once the count is in) until the header is complete, then OK.
 */
static void
test_truncations(void **state)
{
	uint64_t s = 7;

	(void)state;
	for (size_t n = 0; n < 4; n++) {
		uint8_t *buf;
		size_t len, full_hlen = ENVELOPE_HEADER_LEN(n);

		make_envelope(&s, n, 2 * n + 1, &buf, &len);
		for (size_t k = 0; k < len; k++) {
			uint8_t *copy = dup_exact(buf, k);
			struct envelope e;
			size_t hlen = 0;
			enum envelope_err herr;

			assert_int_equal(envelope_parse(copy, k, &e), ENVELOPE_TRUNCATED);
			herr = envelope_parse_header(copy, k, &e, &hlen);
			if (k < full_hlen) {
				assert_int_equal(herr, ENVELOPE_TRUNCATED);
				assert_true(hlen > k);
				assert_true(hlen <= full_hlen);
				if (k >= ENVELOPE_REFS_OFF)
					assert_int_equal(hlen, full_hlen);
			} else {
				assert_int_equal(herr, ENVELOPE_OK);
				assert_int_equal(hlen, full_hlen);
				assert_int_equal(e.nrefs, n);
				assert_int_equal(hlen + e.body_len, len);
			}
			check_reader(copy, k);
			free(copy);
		}
		check_canonical(buf, len);
		free(buf);
	}
}

/*
 * Every single-bit flip in the header (and in the first body byte) is
 * either refused or reads as another valid envelope that encodes back to
 * the flipped bytes; fields that can only be one thing are refused with
 * their own error.
 */
static void
test_bit_flips(void **state)
{
	uint64_t s = 99;
	uint8_t *buf;
	size_t len, hlen;

	(void)state;
	make_envelope(&s, 3, 4, &buf, &len);
	hlen = ENVELOPE_HEADER_LEN(3);
	for (size_t pos = 0; pos <= hlen; pos++) {
		for (int bit = 0; bit < 8; bit++) {
			uint8_t *m = dup_exact(buf, len);
			struct envelope e;
			enum envelope_err err;

			m[pos] ^= (uint8_t)(1u << bit);
			err = envelope_parse(m, len, &e);
			if (pos < ENVELOPE_VERSION_OFF)
				assert_int_equal(err, ENVELOPE_BAD_MAGIC);
			else if (pos == ENVELOPE_VERSION_OFF)
				assert_int_equal(err, ENVELOPE_BAD_VERSION);
			else if (pos >= ENVELOPE_FLAGS_OFF + 2 && pos < ENVELOPE_TIME_OFF)
				assert_int_equal(err, ENVELOPE_BAD_FLAGS);
			else if (pos >= ENVELOPE_NREFS_OFF && pos < ENVELOPE_REFS_OFF)
				assert_true(err == ENVELOPE_TOO_MANY_REFS ||
				    err == ENVELOPE_TRUNCATED || err == ENVELOPE_TRAILING ||
				    err == ENVELOPE_TOO_LARGE || err == ENVELOPE_OK);
			else if (pos >= hlen - ENVELOPE_BODY_LEN_LEN && pos < hlen)
				assert_true(err == ENVELOPE_TOO_LARGE ||
				    err == ENVELOPE_TRUNCATED || err == ENVELOPE_TRAILING);
			if (err == ENVELOPE_OK) {
				free(m);
				m = dup_exact(buf, len);
				m[pos] ^= (uint8_t)(1u << bit);
				check_canonical(m, len);
			} else {
				assert_true(err > ENVELOPE_OK && err < ENVELOPE_ERR_COUNT);
			}
			check_reader(m, len);
			free(m);
		}
	}
	free(buf);
}

/* A streaming server feeds growing prefixes: the answer settles on the
 * first faulty field and does not change as more bytes arrive. */
static void
test_streaming_errors(void **state)
{
	uint64_t s = 3;
	uint8_t *buf;
	size_t len;

	(void)state;
	make_envelope(&s, 3, 10, &buf, &len);
	/* Swap references 1 and 2: unsorted from the moment ref 2 is whole. */
	{
		uint8_t tmp[ENVELOPE_REF_LEN];
		uint8_t *r1 = buf + ENVELOPE_REFS_OFF + ENVELOPE_REF_LEN;
		uint8_t *r2 = r1 + ENVELOPE_REF_LEN;
		memcpy(tmp, r1, sizeof(tmp));
		memcpy(r1, r2, sizeof(tmp));
		memcpy(r2, tmp, sizeof(tmp));
	}
	for (size_t k = 0; k <= len; k++) {
		uint8_t *copy = dup_exact(buf, k);
		struct envelope e;
		size_t hlen;
		enum envelope_err err = envelope_parse_header(copy, k, &e, &hlen);

		if (k < ENVELOPE_REFS_OFF + 3 * ENVELOPE_REF_LEN)
			assert_int_equal(err, ENVELOPE_TRUNCATED);
		else
			assert_int_equal(err, ENVELOPE_UNSORTED);
		check_reader(copy, k);
		free(copy);
	}
	free(buf);
}

/*
 * What a reader of a stored object relies on: need() says how many bytes
 * the header still wants (exact from ENVELOPE_HEADER_MIN bytes on, a lower
 * bound before) and is 0 exactly when it is whole; header() is OK
 * from then on, before any body byte; finish() says truncated until the
 * body is complete and trailing after one byte too many.
 */
static void
test_reader_stream(void **state)
{
	uint64_t s = 11;
	uint8_t *buf;
	size_t len, hlen = ENVELOPE_HEADER_LEN(3);
	struct envelope_reader *r;
	const struct envelope *e;

	(void)state;
	make_envelope(&s, 3, 5, &buf, &len);
	assert_non_null(r = envelope_reader_new());
	for (size_t k = 0; k < len; k++) {
		if (k < hlen) {
			assert_true(envelope_reader_need(r) > 0);
			assert_true(envelope_reader_need(r) <= hlen - k);
			if (k >= ENVELOPE_HEADER_MIN)
				assert_int_equal(envelope_reader_need(r), hlen - k);
			assert_int_equal(envelope_reader_header(r, &e), ENVELOPE_TRUNCATED);
		} else {
			assert_int_equal(envelope_reader_need(r), 0);
			assert_int_equal(envelope_reader_header(r, &e), ENVELOPE_OK);
			assert_int_equal(e->nrefs, 3);
			assert_int_equal(e->body_len, 5);
		}
		assert_int_equal(envelope_reader_finish(r, &e), ENVELOPE_TRUNCATED);
		assert_int_equal(envelope_reader_feed(r, buf + k, 1), 0);
	}
	assert_int_equal(envelope_reader_finish(r, &e), ENVELOPE_OK);
	assert_int_equal(envelope_reader_feed(r, buf, 1), 0);
	assert_int_equal(envelope_reader_finish(r, &e), ENVELOPE_TRAILING);
	assert_int_equal(envelope_reader_header(r, &e), ENVELOPE_OK);
	envelope_reader_free(r);
	envelope_reader_free(NULL);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_vectors_valid),
		cmocka_unit_test(test_vectors_invalid),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_max_refs),
		cmocka_unit_test(test_ref_cmp),
		cmocka_unit_test(test_refs_copy),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_streaming_errors),
		cmocka_unit_test(test_reader_stream),
		cmocka_unit_test(test_reader_alloc_failures),
	};

	return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
