/*
 * Tests for content-defined chunking (client/chunker.c, spec/chunker.md):
 * the shared vectors in spec/vectors/chunker.json, boundaries that do not
 * depend on how the input is split into buffers, size bounds, the seed's
 * effect, locality after an insertion, empty input, bad parameters and
 * out-of-memory.
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

#include "chunker.h"

/* The module itself, for its statics. */
#include "chunker.c"
#include "faultsim.h"

/* Split sizes for chunk_all(): a fixed piece size, or 0 for random sizes
 * in [1, RANDOM_PIECE_MAX]. */
#define RANDOM_PIECE_MAX ((size_t)64 * 1024)

/* The "lcg64" input of spec/vectors/chunker.json. */
static uint8_t *
lcg64(uint64_t x, size_t len)
{
	uint8_t *buf = malloc(len > 0 ? len : 1);

	assert_non_null(buf);
	for (size_t i = 0; i < len; i++) {
		x = x * UINT64_C(6364136223846793005) +
		    UINT64_C(1442695040888963407);
		buf[i] = (uint8_t)(x >> 56);
	}
	return buf;
}

/* A small xorshift for the random piece sizes; fixed seed, reproducible. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * Chunks data[0..len) from the start of a stream, fed in pieces of piece
 * bytes (0: random sizes). Returns the chunk lengths in a new array and
 * their number in *n; the last chunk is what remains at the end.
 */
static size_t *
chunk_all(struct vc_chunker *c, const uint8_t *data, size_t len, size_t piece,
    size_t *n)
{
	size_t *out = NULL, cap = 0, cur = 0, off = 0;

	*n = 0;
	vc_chunker_reset(c);
	while (off < len) {
		size_t plen = piece != 0 ? piece : 1 + (size_t)(rng() % RANDOM_PIECE_MAX);
		size_t poff = 0;

		if (plen > len - off)
			plen = len - off;
		while (poff < plen) {
			int cut;
			size_t k = vc_chunker_next(c, data + off + poff,
			    plen - poff, &cut);

			assert_true(k <= plen - poff);
			assert_true(k > 0);
			if (!cut)
				assert_int_equal(k, plen - poff);
			poff += k;
			cur += k;
			if (cut) {
				if (*n == cap) {
					cap = cap ? 2 * cap : 16;
					out = realloc(out, cap * sizeof(*out));
					assert_non_null(out);
				}
				out[(*n)++] = cur;
				cur = 0;
			}
		}
		off += plen;
	}
	if (cur > 0) {
		if (*n == cap) {
			out = realloc(out, (cap + 1) * sizeof(*out));
			assert_non_null(out);
		}
		out[(*n)++] = cur;
	}
	return out;
}

static void
assert_same_chunks(const size_t *a, size_t na, const size_t *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_int_equal(a[i], b[i]);
}

static void
unhex(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
}

/* One vector's chunker and input; the caller frees both. */
static struct vc_chunker *
vector_setup(json_t *v, uint8_t **data, size_t *len)
{
	struct vc_chunker_params p;
	uint8_t seed[VC_CHUNKER_SEED_LEN];
	json_t *in = json_object_get(v, "input");
	const char *kind = vectors_str(in, "kind");
	struct vc_chunker *c;

	unhex(vectors_str(v, "seed_hex"), seed, sizeof(seed));
	p.min_size = (size_t)vectors_u64(v, "min_size");
	p.avg_size = (size_t)vectors_u64(v, "avg_size");
	p.max_size = (size_t)vectors_u64(v, "max_size");
	assert_non_null(c = vc_chunker_new(seed, &p));
	*len = (size_t)vectors_u64(in, "length");
	if (strcmp(kind, "lcg64") == 0) {
		*data = lcg64((uint64_t)(size_t)vectors_u64(in, "lcg_seed"), *len);
	} else {
		assert_string_equal(kind, "zero");
		assert_non_null(*data = calloc(1, *len > 0 ? *len : 1));
	}
	return c;
}

static void
test_vectors(void **state)
{
	json_t *doc = vectors_load("chunker.json", 0);
	json_t *vecs = json_object_get(doc, "vectors"), *v;
	size_t idx;

	(void)state;
	assert_true(json_array_size(vecs) > 0);
	json_array_foreach(vecs, idx, v) {
		json_t *want = json_object_get(v, "chunk_lengths");
		uint8_t *data;
		size_t len, n, *got;
		struct vc_chunker *c = vector_setup(v, &data, &len);
		char hex[17];

		snprintf(hex, sizeof(hex), "%016llx",
		    (unsigned long long)c->gear[0]);
		assert_string_equal(hex, vectors_str(v, "gear_first"));
		snprintf(hex, sizeof(hex), "%016llx",
		    (unsigned long long)c->gear[VC_CHUNKER_GEAR_LEN - 1]);
		assert_string_equal(hex, vectors_str(v, "gear_last"));

		got = chunk_all(c, data, len, len > 0 ? len : 1, &n);
		assert_int_equal(n, json_array_size(want));
		for (size_t i = 0; i < n; i++)
			assert_int_equal(got[i],
			    (size_t)json_integer_value(json_array_get(want, i)));
		free(got);
		free(data);
		vc_chunker_free(c);
	}
	json_decref(doc);
}

/* Same boundaries whether fed at once, bytewise, 7 bytes or random sizes;
 * every chunk but the last within [min + 1, max]. */
static void
check_splits(struct vc_chunker *c, const uint8_t *data, size_t len)
{
	static const size_t pieces[] = { 1, 7, 4096, 0, 0 };
	struct vc_chunker_params p;
	size_t n, *whole = chunk_all(c, data, len, len, &n);
	size_t sum = 0;

	vc_chunker_params_get(c, &p);
	for (size_t i = 0; i < n; i++) {
		assert_true(whole[i] <= p.max_size);
		if (i + 1 < n)
			assert_true(whole[i] > p.min_size);
		sum += whole[i];
	}
	assert_int_equal(sum, len);
	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		size_t m, *got = chunk_all(c, data, len, pieces[k], &m);

		assert_same_chunks(whole, n, got, m);
		free(got);
	}
	free(whole);
}

static void
test_split_invariance(void **state)
{
	json_t *doc = vectors_load("chunker.json", 0);
	json_t *vecs = json_object_get(doc, "vectors"), *v;
	size_t idx;

	(void)state;
	json_array_foreach(vecs, idx, v) {
		uint8_t *data;
		size_t len;
		struct vc_chunker *c = vector_setup(v, &data, &len);

		check_splits(c, data, len);
		free(data);
		vc_chunker_free(c);
	}
	json_decref(doc);
}

/* Tiny sizes cut often, which exercises every phase switch inside a call. */
static void
test_small_params(void **state)
{
	static const struct vc_chunker_params ps[] = {
		{ 0, 16, 17 }, { 1, 16, 64 }, { 15, 16, 4096 }, { 64, 256, 300 },
	};
	uint8_t seed[VC_CHUNKER_SEED_LEN] = { 7 };
	uint8_t *data = lcg64(3, 100000);

	(void)state;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		struct vc_chunker *c = vc_chunker_new(seed, &ps[i]);

		assert_non_null(c);
		check_splits(c, data, 100000);
		vc_chunker_free(c);
	}
	free(data);
}

static void
test_seed_matters(void **state)
{
	uint8_t s1[VC_CHUNKER_SEED_LEN] = { 1 }, s2[VC_CHUNKER_SEED_LEN] = { 2 };
	struct vc_chunker_params p = { 2048, 8192, 32768 };
	struct vc_chunker *c1, *c2;
	size_t len = (size_t)1 << 20, n1, n2, same = 0, off1 = 0, off2 = 0;
	uint8_t *data = lcg64(5, len);
	size_t *a, *b;

	(void)state;
	assert_non_null(c1 = vc_chunker_new(s1, &p));
	assert_non_null(c2 = vc_chunker_new(s2, &p));
	a = chunk_all(c1, data, len, len, &n1);
	b = chunk_all(c2, data, len, len, &n2);
	/* Count boundaries the two share: chance alone gives a few. */
	for (size_t i = 0, j = 0; i < n1 && j < n2;) {
		if (off1 + a[i] == off2 + b[j]) {
			same++;
			off1 += a[i++];
			off2 += b[j++];
		} else if (off1 + a[i] < off2 + b[j]) {
			off1 += a[i++];
		} else {
			off2 += b[j++];
		}
	}
	assert_true(same < n1 / 4);
	free(a);
	free(b);
	free(data);
	vc_chunker_free(c1);
	vc_chunker_free(c2);
}

/* One byte inserted near the start: later boundaries move by exactly 1. */
static void
check_insert(const struct vc_chunker_params *p, size_t len, size_t at)
{
	uint8_t seed[VC_CHUNKER_SEED_LEN] = { 9 };
	struct vc_chunker *c;
	uint8_t *data = lcg64(11, len), *ins = malloc(len + 1);
	size_t na, nb, *a, *b, ia = 0, ib = 0, offa = 0, offb = 0, kept = 0;

	assert_non_null(ins);
	memcpy(ins, data, at);
	ins[at] = (uint8_t)(data[at] ^ 0x5a);
	memcpy(ins + at + 1, data + at, len - at);
	assert_non_null(c = p != NULL ? vc_chunker_new(seed, p) :
	    vc_chunker_new(seed, NULL));
	a = chunk_all(c, data, len, len, &na);
	b = chunk_all(c, ins, len + 1, len + 1, &nb);
	assert_true(na > 2);
	/* Boundaries of data (but the end) found one byte later in ins. */
	while (ia + 1 < na && ib < nb) {
		size_t ea = offa + a[ia] + 1, eb = offb + b[ib];

		if (ea == eb) {
			kept++;
			offa += a[ia++];
			offb += b[ib++];
		} else if (ea < eb) {
			offa += a[ia++];
		} else {
			offb += b[ib++];
		}
	}
	/* Only the first one or two can move: allow 10% + 2. */
	assert_true(kept + 2 + (na - 1) / 10 >= na - 1);
	free(a);
	free(b);
	free(ins);
	free(data);
	vc_chunker_free(c);
}

static void
test_insert_locality(void **state)
{
	struct vc_chunker_params small = { 2048, 8192, 32768 };

	(void)state;
	check_insert(&small, (size_t)1 << 20, 100);
	check_insert(&small, (size_t)1 << 20, 5000);
	check_insert(NULL, (size_t)12 << 20, 1000);
}

static void
test_empty(void **state)
{
	uint8_t seed[VC_CHUNKER_SEED_LEN] = { 0 };
	struct vc_chunker *c = vc_chunker_new(seed, NULL);
	uint8_t byte = 0;
	int cut = -1;
	size_t n, *got;

	(void)state;
	assert_non_null(c);
	assert_int_equal(vc_chunker_next(c, &byte, 0, &cut), 0);
	assert_int_equal(cut, 0);
	got = chunk_all(c, &byte, 0, 1, &n);
	assert_int_equal(n, 0);
	free(got);
	vc_chunker_free(c);
	vc_chunker_free(NULL);
}

/* A reset mid-chunk forgets the bytes seen. */
static void
test_reset(void **state)
{
	uint8_t seed[VC_CHUNKER_SEED_LEN] = { 3 };
	struct vc_chunker_params p = { 100, 1024, 4096 };
	struct vc_chunker *c = vc_chunker_new(seed, &p);
	size_t len = 200000, n1, n2, *a, *b;
	uint8_t *data = lcg64(13, len);
	int cut;

	(void)state;
	assert_non_null(c);
	a = chunk_all(c, data, len, len, &n1);
	vc_chunker_reset(c);
	(void)vc_chunker_next(c, data + 7, 99, &cut);
	vc_chunker_reset(c);
	/* chunk_all() resets too; feed directly to check reset alone. */
	b = malloc(n1 * sizeof(*b));
	assert_non_null(b);
	n2 = 0;
	for (size_t off = 0, cur = 0; off < len;) {
		size_t k = vc_chunker_next(c, data + off, len - off, &cut);

		off += k;
		cur += k;
		if (cut || off == len) {
			assert_true(n2 < n1);
			b[n2++] = cur;
			cur = 0;
		}
	}
	assert_same_chunks(a, n1, b, n2);
	free(a);
	free(b);
	free(data);
	vc_chunker_free(c);
}

static void
test_params(void **state)
{
	static const struct vc_chunker_params bad[] = {
		{ 256, 1000, 4096 },		/* avg not a power of two */
		{ 1024, 1024, 4096 },		/* min == avg */
		{ 2048, 1024, 4096 },		/* min > avg */
		{ 256, 1024, 1024 },		/* max == avg */
		{ 0, 8, 64 },			/* avg below 2^4 */
		{ 0, (size_t)1 << 31, (size_t)1 << 32 },	/* avg above 2^30 */
		{ 0, 0, 0 },
	};
	uint8_t seed[VC_CHUNKER_SEED_LEN] = { 0 };
	struct vc_chunker_params got;
	struct vc_chunker *c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(vc_chunker_new(seed, &bad[i]));
	assert_non_null(c = vc_chunker_new(seed, NULL));
	vc_chunker_params_get(c, &got);
	assert_int_equal(got.min_size, 256 * 1024);
	assert_int_equal(got.avg_size, 1024 * 1024);
	assert_int_equal(got.max_size, 4 * 1024 * 1024);
	/* Normalization level 2 around 2^20: 22 and 18 top bits. */
	assert_true(c->mask_s == UINT64_C(0xfffffc0000000000));
	assert_true(c->mask_l == UINT64_C(0xffffc00000000000));
	vc_chunker_free(c);
}

static void
test_oom(void **state)
{
	uint8_t seed[VC_CHUNKER_SEED_LEN] = { 0 };

	(void)state;
	for (int n = 0;; n++) {
		struct vc_chunker *c;

		faultsim_config(n, 1);
		c = vc_chunker_new(seed, NULL);
		if (faultsim_off() == 0) {
			assert_non_null(c);
			assert_int_equal(n, 1); /* one allocation: the chunker */
			vc_chunker_free(c);
			break;
		}
		assert_null(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_split_invariance),
		cmocka_unit_test(test_small_params),
		cmocka_unit_test(test_seed_matters),
		cmocka_unit_test(test_insert_locality),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
