/*
 * Tests for the client's ID set (client/idset.c): add, get, set, walk,
 * growth past many resizes with IDs whose first bytes collide, and
 * allocation failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The module itself, for its statics. */
#include "idset.c"
#include "faultsim.h"

static void
make_id(uint8_t id[VC_IDSET_ID_LEN], uint32_t i, int collide)
{
	memset(id, 0, VC_IDSET_ID_LEN);
	/* With collide, every ID has the same first 8 bytes (the slot hash),
	 * so they all probe one run of slots. */
	if (!collide)
		memcpy(id, &i, sizeof(i));
	memcpy(id + 8, &i, sizeof(i));
	id[31] = 0x5a;
}

/* A value no test adds except to stop a walk. */
#define STOP_VAL UINT32_C(0xfffffffe)

static int
sum_cb(const uint8_t id[VC_IDSET_ID_LEN], uint32_t val, void *arg)
{
	uint64_t *sum = arg;

	(void)id;
	*sum += val;
	return val == STOP_VAL ? 9 : 0;
}

static void
test_basic(void **state)
{
	struct vc_idset *s = vc_idset_new();
	uint8_t id[VC_IDSET_ID_LEN];
	uint32_t v = 0;
	uint64_t sum = 0;

	(void)state;
	assert_non_null(s);
	make_id(id, 1, 0);
	assert_int_equal(vc_idset_get(s, id, &v), 0);
	assert_int_equal(vc_idset_set(s, id, 3), -1);
	assert_int_equal(vc_idset_add(s, id, 10, NULL), 1);
	assert_int_equal(vc_idset_add(s, id, 11, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(vc_idset_get(s, id, &v), 1);
	assert_int_equal(v, 10);
	assert_int_equal(vc_idset_set(s, id, 12), 0);
	assert_int_equal(vc_idset_get(s, id, &v), 1);
	assert_int_equal(v, 12);
	assert_int_equal(vc_idset_count(s), 1);
	assert_int_equal(vc_idset_walk(s, sum_cb, &sum), 0);
	assert_int_equal(sum, 12);
	vc_idset_free(s);
	vc_idset_free(NULL);
}

static void
grow_many(int collide, uint32_t n)
{
	struct vc_idset *s = vc_idset_new();
	uint8_t id[VC_IDSET_ID_LEN];
	uint64_t sum = 0;

	assert_non_null(s);
	for (uint32_t i = 0; i < n; i++) {
		make_id(id, i, collide);
		assert_int_equal(vc_idset_add(s, id, i, NULL), 1);
	}
	assert_int_equal(vc_idset_count(s), n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v;

		make_id(id, i, collide);
		assert_int_equal(vc_idset_get(s, id, &v), 1);
		assert_int_equal(v, i);
	}
	make_id(id, n, collide);
	assert_int_equal(vc_idset_get(s, id, NULL), 0);
	assert_int_equal(vc_idset_walk(s, sum_cb, &sum), 0);
	assert_int_equal(sum, (uint64_t)n * (n - 1) / 2);
	vc_idset_free(s);
}

static void
test_growth(void **state)
{
	(void)state;
	grow_many(0, 100000);
	grow_many(1, 2000);
}

static void
test_walk_stops(void **state)
{
	struct vc_idset *s = vc_idset_new();
	uint8_t id[VC_IDSET_ID_LEN];
	uint64_t sum = 0;

	(void)state;
	make_id(id, 1, 0);
	assert_int_equal(vc_idset_add(s, id, STOP_VAL, NULL), 1);
	make_id(id, 2, 0);
	assert_int_equal(vc_idset_add(s, id, 1, NULL), 1);
	assert_int_equal(vc_idset_walk(s, sum_cb, &sum), 9);
	vc_idset_free(s);
}

/* Each allocation of a set growing to 1000 IDs fails in turn: new gives
 * NULL, or add gives -1 and loses nothing; then a run without a failure. */
static void
test_alloc_failure(void **state)
{
	int n;

	(void)state;
	for (n = 0;; n++) {
		struct vc_idset *s;
		uint8_t id[VC_IDSET_ID_LEN];
		int failed = 0;

		faultsim_config(n, 1);
		s = vc_idset_new();
		for (uint32_t i = 0; s != NULL && i < 1000 && !failed; i++) {
			make_id(id, i, 0);
			int rc = vc_idset_add(s, id, i, NULL);

			assert_true(rc == 1 || rc == -1);
			if (rc == -1) {
				failed = 1;
				/* Nothing was lost: every earlier ID is still there. */
				for (uint32_t j = 0; j < i; j++) {
					make_id(id, j, 0);
					assert_int_equal(vc_idset_get(s, id, NULL), 1);
				}
				assert_int_equal(vc_idset_count(s), i);
			}
		}
		if (faultsim_off() == 0) {
			assert_non_null(s);
			assert_false(failed);
			assert_int_equal(vc_idset_count(s), 1000);
			vc_idset_free(s);
			break;
		}
		assert_true(s == NULL || failed);
		vc_idset_free(s);
	}
	assert_true(n >= 3); /* the set, its table, at least one growth */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_walk_stops),
		cmocka_unit_test(test_alloc_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
