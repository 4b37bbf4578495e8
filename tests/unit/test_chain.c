/*
 * client/chain.c: what a new snapshot records about its group (seq, prev),
 * and the rollback check against the heads in a real cache (spec/client.md
 * 4.1, spec/tree.md 5).
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

#include "chain.h"

static const uint8_t G1[32] = { 1 }, G2[32] = { 2 };

/* A listed snapshot of group g with seq, time and an ID from tag. */
static void
snap(struct vc_snapinfo *s, const uint8_t *g, uint64_t seq, int64_t time, uint8_t tag)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->group, g, 32);
	s->body.seq = seq;
	s->body.time = time;
	memset(s->id, tag, VC_ID_LEN);
}

static void
test_next(void **state)
{
	struct vc_snapinfo l[4];
	struct vc_chain_next *c = malloc(sizeof(*c));

	(void)state;
	vc_chain_next(NULL, 0, G1, c);
	assert_int_equal(c->seq, 1);
	assert_int_equal(c->nprev, 0);
	snap(&l[0], G1, 1, 10, 0xa1);
	snap(&l[1], G1, 2, 20, 0xb2);
	snap(&l[2], G1, 2, 15, 0x05);  /* a fork: two heads of seq 2 */
	snap(&l[3], G2, 9, 30, 0xc3);  /* another group counts for nothing */
	vc_chain_next(l, 4, G1, c);
	assert_int_equal(c->seq, 3);
	assert_int_equal(c->nprev, 2);
	assert_int_equal(c->prev[0][0], 0x05);   /* sorted by ID */
	assert_int_equal(c->prev[1][0], 0xb2);
	vc_chain_next(l, 4, G2, c);
	assert_int_equal(c->seq, 10);
	assert_int_equal(c->nprev, 1);
	free(c);
}

/* More heads than a body holds: the 64 lowest IDs. */
static void
test_next_bounded(void **state)
{
	enum { N = 100 };
	struct vc_snapinfo *l = calloc(N, sizeof(*l));
	struct vc_chain_next *c = malloc(sizeof(*c));

	(void)state;
	for (int i = 0; i < N; i++)
		snap(&l[i], G1, 4, i, (uint8_t)(N - i));
	vc_chain_next(l, N, G1, c);
	assert_int_equal(c->seq, 5);
	assert_int_equal(c->nprev, VC_SNAPBODY_PREV_MAX);
	for (int i = 0; i < VC_SNAPBODY_PREV_MAX; i++)
		assert_int_equal(c->prev[i][0], i + 1);
	free(c);
	free(l);
}

struct repo_fixture {
	struct vc_repo r;
	char dir[64];
};

static struct repo_fixture *
fixture(int accept)
{
	struct repo_fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_chain.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(vc_cache_open(f->dir, NULL, &f->r.cache), 0);
	f->r.accept_rollback = accept;
	return f;
}

static void
fixture_free(struct repo_fixture *f)
{
	char cmd[128];

	vc_cache_close(f->r.cache);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

static void
test_check(void **state)
{
	struct repo_fixture *f = fixture(0);
	struct vc_snapinfo l[4];
	unsigned char gone[4] = { 0 };
	char err[VC_ERR_LEN];

	(void)state;
	snap(&l[0], G1, 1, 10, 0x11);
	snap(&l[1], G1, 2, 20, 0x22);
	snap(&l[2], G2, 1, 30, 0x33);
	assert_int_equal(vc_chain_check(&f->r, l, 3, err, sizeof(err)), 0);
	/* The newest of G1 gone: a rollback, and nothing recorded. */
	assert_int_equal(vc_chain_check(&f->r, l, 1, err, sizeof(err)), VC_ROLLBACK);
	assert_non_null(strstr(err, "vault rolled back: snapshot 22222222 (number 2"));
	assert_int_equal(vc_chain_check(&f->r, l, 3, err, sizeof(err)), 0);
	/* The older one gone while the newest stays: fine (keep rules). */
	assert_int_equal(vc_chain_check(&f->r, &l[1], 2, err, sizeof(err)), 0);
	/* A newer snapshot of G1 in place of the head: fine, and it is the
	 * new head. */
	snap(&l[3], G1, 3, 5, 0x44);
	assert_int_equal(vc_chain_check(&f->r, &l[2], 2, err, sizeof(err)), 0);
	assert_int_equal(vc_chain_check(&f->r, l, 3, err, sizeof(err)), VC_ROLLBACK);
	/* A whole group gone. */
	assert_int_equal(vc_chain_check(&f->r, &l[3], 1, err, sizeof(err)), VC_ROLLBACK);
	assert_non_null(strstr(err, "snapshot 33333333"));
	/* Forgetting G2's only snapshot on purpose drops its head. */
	gone[2] = 1;
	assert_int_equal(vc_chain_forgot(&f->r, l, 4, gone), 0);
	assert_int_equal(vc_chain_check(&f->r, &l[3], 1, err, sizeof(err)), 0);
	/* Forgetting the head of G1 moves it back to the next newest. */
	memset(gone, 0, sizeof(gone));
	gone[3] = 1;
	assert_int_equal(vc_chain_forgot(&f->r, l, 4, gone), 0);
	assert_int_equal(vc_chain_check(&f->r, l, 2, err, sizeof(err)), 0);
	fixture_free(f);
}

static void
test_accept(void **state)
{
	struct repo_fixture *f = fixture(1);
	struct vc_snapinfo l[2];
	char err[VC_ERR_LEN];

	(void)state;
	snap(&l[0], G1, 1, 10, 0x11);
	snap(&l[1], G1, 2, 20, 0x22);
	assert_int_equal(vc_chain_check(&f->r, l, 2, err, sizeof(err)), 0);
	assert_int_equal(vc_chain_check(&f->r, l, 1, err, sizeof(err)), 0);
	/* Accepted: the head went back, so even a strict check now passes. */
	f->r.accept_rollback = 0;
	assert_int_equal(vc_chain_check(&f->r, l, 1, err, sizeof(err)), 0);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_next_bounded),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_accept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
