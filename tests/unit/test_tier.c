/*
 * The tierer's state machine (vaultd/tier.h, spec/tiering.md "Moves"):
 * moves between a file-system hot backend, an archive and an in-memory
 * cold backend, a crash after every step followed by the recovery a
 * restart runs, and the eligibility rules of a run.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin.h"
#include "backend.h"
#include "conf.h"
#include "store.h"
#include "meta.h"
#include "sha256.h"
#include "tier.h"
#include "tier_state.h"

/* The module itself, with its test hook (tier__crash_after) compiled in. */
#define VAULT_TEST_HOOKS
#include "tier.c"

#define NB 3 /* hot fs, archive, mem */
#define HOT 0
#define ARC 1
#define MEM 2
#define DAY 86400

struct fx {
	char dir[256];
	struct meta *meta;
	struct backend *b[NB];
	struct tier *tier;
	uint64_t vault_id;
	struct conf_policy pol;
	uint64_t rate;  /* tier-rate of the tierers open_tier opens */
};

static const char names[NB][VSP_NAME_MAX + 1] = {"hot", "tape", "cloud"};

static int
policy_cb(void *arg, const char *tenant, const char *vault, struct conf_policy *out)
{
	struct fx *f = arg;

	(void)tenant;
	(void)vault;
	*out = f->pol;
	return 1;
}

static struct tier *
open_tier(struct fx *f, int crash_after, int recall_thread)
{
	char state[PATH_MAX];
	struct tier_config c = {.meta = f->meta, .backends = f->b, .names = names,
	    .nbackends = NB, .state_dir = state, .policy = policy_cb, .policy_arg = f,
	    .recall_thread = recall_thread, .rate = f->rate};

	snprintf(state, sizeof(state), "%s/tier", f->dir);
	tier__crash_after = crash_after;
	return tier_new(&c);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[PATH_MAX];
	struct meta_tenant t;
	struct meta_vault v;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/test_tier.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/meta", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(meta_open(path, 1 << 26, &f->meta), META_OK);
	snprintf(path, sizeof(path), "%s/hot", f->dir);
	assert_non_null(f->b[HOT] = backend_fs_open(path));
	snprintf(path, sizeof(path), "%s/tape", f->dir);
	assert_non_null(f->b[ARC] = backend_archive_open(path, 1 << 20));
	assert_non_null(f->b[MEM] = backend_mem_open());
	assert_int_equal(meta_tenant_add(f->meta, "acme", 1, &t), META_OK);
	assert_int_equal(meta_vault_create(f->meta, t.id, "v", 1, &v), META_OK);
	f->vault_id = v.id;
	f->tier = open_tier(f, 0, 0);
	assert_non_null(f->tier);
	*state = f;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tier_free(f->tier);
	for (int i = 0; i < NB; i++)
		backend_free(f->b[i]);
	meta_close(f->meta);
	assert_int_equal(nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

/* Stores a pack of len bytes (seeded) on the hot backend and in LMDB;
 * id gets its ID. */
static void
add_pack(struct fx *f, uint32_t seed, size_t len, uint64_t received, uint8_t id[VSP_ID_LEN])
{
	char key[STORE_KEY_MAX + 1];
	struct backend_put *p;
	uint8_t *buf = malloc(len);
	struct meta_object o = {.size = len, .received = received, .locations = 1};

	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
	assert_int_equal(sha256_buf(buf, len, id), 0);
	store_object_key(key, f->vault_id, VSP_KIND_PACK, id);
	assert_int_equal(backend_put_begin(f->b[HOT], key, &p), 0);
	assert_int_equal(backend_put_write(f->b[HOT], p, buf, len), 0);
	assert_int_equal(backend_put_commit(f->b[HOT], p), 0);
	assert_int_equal(meta_object_put(f->meta, f->vault_id, VSP_KIND_PACK, id, &o, NULL),
	    META_OK);
	free(buf);
}

static uint32_t
locations(struct fx *f, const uint8_t id[VSP_ID_LEN])
{
	struct meta_object o;

	assert_int_equal(meta_object_get(f->meta, f->vault_id, VSP_KIND_PACK, id, &o), META_OK);
	return o.locations;
}

/* 1 if backend i holds the object with the right bytes, 0 if it lacks it. */
static int
holds(struct fx *f, int i, const uint8_t id[VSP_ID_LEN])
{
	char key[STORE_KEY_MAX + 1];
	struct backend_reader *r;
	uint8_t digest[SHA256_LEN], *buf;
	uint64_t size;

	store_object_key(key, f->vault_id, VSP_KIND_PACK, id);
	if (backend_open(f->b[i], key, &r, &size) != 0) {
		assert_int_equal(errno, ENOENT);
		return 0;
	}
	buf = malloc(size + 1);
	assert_non_null(buf);
	assert_int_equal(backend_read(f->b[i], r, 0, buf, size), (ssize_t)size);
	backend_close(f->b[i], r);
	assert_int_equal(sha256_buf(buf, size, digest), 0);
	free(buf);
	assert_memory_equal(digest, id, VSP_ID_LEN);
	return 1;
}

static size_t
journal(struct fx *f)
{
	struct tier_move mv[4];
	struct tier_state *ts;
	char path[PATH_MAX];
	size_t n;
	int more;

	/* The tierer holds its own handle; LMDB allows a second in one process
	 * only if it is not the same env, so read through a fresh tierer-less
	 * open after closing: the tests call this with f->tier closed. */
	snprintf(path, sizeof(path), "%s/tier", f->dir);
	assert_int_equal(tier_state_open(path, &ts), 0);
	assert_int_equal(tier_state_moves(ts, mv, 4, &n, &more), 0);
	tier_state_close(ts);
	return n;
}

/* tier-rate: a move to a cold backend waits out the bucket (which starts
 * with one second's worth) before it is recorded; a recall does not wait. */
static void
test_rate(void **state)
{
	struct fx *f = *state;
	uint8_t id[VSP_ID_LEN], id2[VSP_ID_LEN];
	double t0, tokens, last;

	tier_free(f->tier);
	f->rate = 100000;
	assert_non_null(f->tier = open_tier(f, 0, 0));
	add_pack(f, 1, 150000, 1, id);
	add_pack(f, 2, 50000, 1, id2);
	t0 = now_seconds();
	assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id, HOT, MEM), TIER_OK);
	assert_true(now_seconds() - t0 >= 0.45); /* 50000 bytes past the burst */
	/* A recall is not charged: the bucket is as the move left it. */
	tokens = f->tier->bucket.tokens;
	last = f->tier->bucket.last;
	assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id, MEM, HOT), TIER_OK);
	assert_true(f->tier->bucket.tokens == tokens && f->tier->bucket.last == last);
	/* 200000 bytes at 100000 a second, one second's worth saved up at the
	 * start: the second move ends a second or more after the first began,
	 * however long the copies and the recall took. */
	assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id2, HOT, MEM), TIER_OK);
	assert_true(now_seconds() - t0 >= 0.95);
	assert_int_equal(locations(f, id2), 1u << MEM);
	assert_int_equal(holds(f, MEM, id2), 1);
}

/* tier-rate in vaultd.conf: a size, 0 (no cap) when absent. */
static void
test_rate_conf(void **state)
{
	static const char text[] = "tier-rate 12K\n";
	struct conf *c = NULL;
	char err[256];

	(void)state;
	assert_int_equal(conf_parse("t.conf", "", 0, &c, err, sizeof(err)), 0);
	assert_int_equal(c->tier_rate, 0);
	conf_free(c);
	assert_int_equal(conf_parse("t.conf", text, strlen(text), &c, err, sizeof(err)), 0);
	assert_int_equal(c->tier_rate, 12 * 1024);
	conf_free(c);
	assert_int_equal(conf_parse("t.conf", "tier-rate fast\n", 15, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tier-rate"));
}

static void
test_move(void **state)
{
	struct fx *f = *state;
	uint8_t id[VSP_ID_LEN], id2[VSP_ID_LEN];

	add_pack(f, 1, 300000, 1, id);
	add_pack(f, 2, 1000, 1, id2);
	assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id, HOT, ARC), TIER_OK);
	assert_int_equal(locations(f, id), 1u << ARC);
	assert_int_equal(holds(f, HOT, id), 0);
	assert_int_equal(holds(f, ARC, id), 1);
	/* Only from its one location: a second move from hot changes nothing. */
	assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id, HOT, MEM),
	    TIER_CHANGED);
	/* Back (a recall), and on to another cold backend. */
	assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id, ARC, HOT), TIER_OK);
	assert_int_equal(locations(f, id), 1u << HOT);
	assert_int_equal(holds(f, ARC, id), 0);
	assert_int_equal(holds(f, HOT, id), 1);
	assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id2, HOT, MEM), TIER_OK);
	assert_int_equal(locations(f, id2), 1u << MEM);
	assert_int_equal(holds(f, MEM, id2), 1);
	assert_int_equal(holds(f, HOT, id2), 0);
	memset(id2, 0xee, sizeof(id2));
	assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id2, HOT, MEM),
	    TIER_NOTFOUND);
	tier_free(f->tier);
	f->tier = NULL;
	assert_int_equal(journal(f), 0);
	assert_non_null(f->tier = open_tier(f, 0, 0));
}

/*
 * A crash after each step, then the recovery of a restart: the object ends
 * with exactly one location, holding its bytes; the other copy is gone; the
 * journal is empty. Up to the first commit (steps 1, 2) the move is undone;
 * after it (4, 5, 6) it is finished.
 */
static void
test_crash_each_step(void **state)
{
	static const int steps[] = {1, 2, 4, 5, 6};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		uint8_t id[VSP_ID_LEN];
		int s = steps[i], done = s >= 4;
		int to = i % 2 == 0 ? ARC : MEM;

		add_pack(f, 100 + (uint32_t)s, 50000 + (size_t)s, 1, id);
		tier_free(f->tier);
		assert_non_null(f->tier = open_tier(f, s, 0));
		assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id, HOT,
		    (unsigned)to), TIER_CRASHED);
		tier_free(f->tier);
		f->tier = NULL;
		assert_int_equal(journal(f), 1);
		assert_non_null(f->tier = open_tier(f, 0, 0)); /* the restart */
		tier_free(f->tier);
		f->tier = NULL;
		assert_int_equal(journal(f), 0);
		assert_non_null(f->tier = open_tier(f, 0, 0));
		if (done) {
			assert_int_equal(locations(f, id), 1u << to);
			assert_int_equal(holds(f, to, id), 1);
			assert_int_equal(holds(f, HOT, id), 0);
		} else {
			assert_int_equal(locations(f, id), 1u << HOT);
			assert_int_equal(holds(f, HOT, id), 1);
			assert_int_equal(holds(f, to, id), 0);
		}
	}
}

/* The object is deleted while its copy is made: the copy goes too. */
static void
test_deleted_during_move(void **state)
{
	struct fx *f = *state;
	char key[STORE_KEY_MAX + 1];
	uint8_t id[VSP_ID_LEN];

	add_pack(f, 7, 4000, 1, id);
	tier_free(f->tier);
	assert_non_null(f->tier = open_tier(f, 2, 0));
	assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id, HOT, ARC),
	    TIER_CRASHED);
	assert_int_equal(holds(f, ARC, id), 1);
	assert_int_equal(meta_object_delete(f->meta, f->vault_id, VSP_KIND_PACK, id, NULL),
	    META_OK);
	store_object_key(key, f->vault_id, VSP_KIND_PACK, id);
	assert_int_equal(backend_remove(f->b[HOT], key), 0);
	tier_free(f->tier);
	assert_non_null(f->tier = open_tier(f, 0, 0));
	assert_int_equal(holds(f, ARC, id), 0);
	assert_int_equal(holds(f, HOT, id), 0);
}

/* A hot copy whose bytes are not the object is not moved. */
static void
test_corrupt_source(void **state)
{
	struct fx *f = *state;
	char key[STORE_KEY_MAX + 1], path[PATH_MAX];
	uint8_t id[VSP_ID_LEN];
	FILE *fp;

	add_pack(f, 8, 4000, 1, id);
	store_object_key(key, f->vault_id, VSP_KIND_PACK, id);
	snprintf(path, sizeof(path), "%s/hot/%s", f->dir, key);
	assert_non_null(fp = fopen(path, "r+b"));
	assert_int_equal(fputc('X', fp), 'X');
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(tier_move(f->tier, f->vault_id, VSP_KIND_PACK, id, HOT, MEM),
	    TIER_ERROR);
	assert_int_equal(locations(f, id), 1u << HOT);
	assert_int_equal(holds(f, MEM, id), 0);
}

/* tier-after by receipt, tier-idle by the last read (kept in memory, then
 * written), and both together. */
static void
test_run_rules(void **state)
{
	struct fx *f = *state;
	uint64_t now = 100 * DAY;
	uint8_t old[VSP_ID_LEN], young[VSP_ID_LEN], read[VSP_ID_LEN];
	struct tier_report r;
	char err[256];

	add_pack(f, 10, 2000, now - 40 * DAY, old);
	add_pack(f, 11, 2000, now - 10 * DAY, young);
	add_pack(f, 12, 2000, now - 40 * DAY, read);
	tier_note_read(f->tier, f->vault_id, VSP_KIND_PACK, read, now - 2 * DAY);
	memset(&f->pol, 0, sizeof(f->pol));
	snprintf(f->pol.tier_to, sizeof(f->pol.tier_to), "cloud");
	f->pol.tier_after = 30 * DAY;
	f->pol.tier_idle = 7 * DAY;
	assert_int_equal(tier_run(f->tier, "acme", NULL, now, &r, err, sizeof(err)), TIER_OK);
	assert_int_equal(r.vaults, 1);
	assert_int_equal(r.examined, 3);
	assert_int_equal(r.moved, 1);
	assert_int_equal(r.bytes_moved, 2000);
	assert_int_equal(locations(f, old), 1u << MEM);
	assert_int_equal(locations(f, young), 1u << HOT);
	assert_int_equal(locations(f, read), 1u << HOT);
	/* A week later the read one is idle enough; the young one still too young. */
	assert_int_equal(tier_run(f->tier, "acme", "v", now + 6 * DAY, &r, err, sizeof(err)),
	    TIER_OK);
	assert_int_equal(r.moved, 1);
	assert_int_equal(locations(f, read), 1u << MEM);
	assert_int_equal(locations(f, young), 1u << HOT);
	/* Unknown names. */
	assert_int_equal(tier_run(f->tier, "nobody", NULL, now, &r, err, sizeof(err)),
	    TIER_NOTFOUND);
	assert_int_equal(tier_run(f->tier, "acme", "nope", now, &r, err, sizeof(err)),
	    TIER_NOTFOUND);
	/* A policy without tiering moves nothing. */
	f->pol.tier_to[0] = '\0';
	assert_int_equal(tier_run(f->tier, NULL, NULL, now + 90 * DAY, &r, err, sizeof(err)),
	    TIER_OK);
	assert_int_equal(r.vaults, 0);
	assert_int_equal(r.moved, 0);
}

/* A recall brings the object back hot, and counts as a recall: tier-after
 * starts again from it. */
static void
test_recall(void **state)
{
	struct fx *f = *state;
	uint8_t id[VSP_ID_LEN];
	struct tier_report r;
	char err[256];
	uint64_t now = (uint64_t)time(NULL);

	tier_free(f->tier);
	assert_non_null(f->tier = open_tier(f, 0, 1));
	add_pack(f, 20, 70000, now - 40 * DAY, id);
	memset(&f->pol, 0, sizeof(f->pol));
	snprintf(f->pol.tier_to, sizeof(f->pol.tier_to), "tape");
	f->pol.tier_after = 30 * DAY;
	assert_int_equal(tier_run(f->tier, NULL, NULL, now, &r, err, sizeof(err)), TIER_OK);
	assert_int_equal(r.moved, 1);
	assert_int_equal(locations(f, id), 1u << ARC);
	assert_int_equal(tier_recall(f->tier, f->vault_id, VSP_KIND_PACK, id, ARC), TIER_OK);
	assert_int_equal(tier_recall(f->tier, f->vault_id, VSP_KIND_PACK, id, ARC), TIER_OK);
	for (int i = 0; i < 500 && tier_recalls_pending(f->tier) > 0; i++)
		usleep(10000);
	assert_int_equal(tier_recalls_pending(f->tier), 0);
	assert_int_equal(locations(f, id), 1u << HOT);
	assert_int_equal(holds(f, HOT, id), 1);
	assert_int_equal(holds(f, ARC, id), 0);
	assert_int_equal(tier_run(f->tier, NULL, NULL, now + DAY, &r, err, sizeof(err)), TIER_OK);
	assert_int_equal(r.moved, 0);
	assert_int_equal(tier_run(f->tier, NULL, NULL, now + 31 * DAY, &r, err, sizeof(err)),
	    TIER_OK);
	assert_int_equal(r.moved, 1);
	assert_int_equal(locations(f, id), 1u << ARC);
	assert_int_equal(store_needs_recall(f->b[ARC]), 1);
	assert_int_equal(store_needs_recall(f->b[HOT]), 0);
}

/* The admin ops "tier" and "tier.locations" (admin_tier.c, spec/admin.md). */
static json_t *
admin_op(struct fx *f, const char *text)
{
	struct admin_ctx ctx = {.meta = f->meta, .tier = f->tier};
	json_t *req = json_loads(text, 0, NULL), *r;

	assert_non_null(req);
	r = admin_handle(&ctx, req);
	json_decref(req);
	assert_non_null(r);
	return r;
}

static void
test_admin_ops(void **state)
{
	struct fx *f = *state;
	uint8_t a[VSP_ID_LEN], b[VSP_ID_LEN];
	char hex[VSP_ID_HEX_LEN + 1];
	json_t *r, *objs;

	add_pack(f, 30, 5000, 1, a);
	add_pack(f, 31, 6000, (uint64_t)time(NULL), b);
	memset(&f->pol, 0, sizeof(f->pol));
	snprintf(f->pol.tier_to, sizeof(f->pol.tier_to), "tape");
	f->pol.tier_after = 30 * DAY;
	r = admin_op(f, "{\"op\":\"tier\",\"tenant\":\"acme\",\"vault\":\"v\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "moved")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "bytes_moved")), 5000);
	assert_int_equal(json_integer_value(json_object_get(r, "examined")), 2);
	json_decref(r);
	r = admin_op(f, "{\"op\":\"tier.locations\",\"tenant\":\"acme\",\"vault\":\"v\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	objs = json_object_get(r, "objects");
	assert_int_equal(json_array_size(objs), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *o = json_array_get(objs, i), *l = json_object_get(o, "locations");
		const char *id = json_string_value(json_object_get(o, "id"));
		vsp_id_format(a, hex);
		assert_int_equal(json_array_size(l), 1);
		assert_string_equal(json_string_value(json_array_get(l, 0)),
		    strcmp(id, hex) == 0 ? "tape" : "hot");
	}
	json_decref(r);
	/* Errors: a vault without its tenant, a missing vault, an unknown one. */
	r = admin_op(f, "{\"op\":\"tier\",\"vault\":\"v\"}");
	assert_true(json_is_false(json_object_get(r, "ok")));
	json_decref(r);
	r = admin_op(f, "{\"op\":\"tier.locations\",\"tenant\":\"acme\"}");
	assert_true(json_is_false(json_object_get(r, "ok")));
	json_decref(r);
	r = admin_op(f, "{\"op\":\"tier\",\"tenant\":\"acme\",\"vault\":\"nope\"}");
	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "nope"));
	json_decref(r);
	/* Without a tierer the op says so. */
	{
		struct admin_ctx ctx = {.meta = f->meta};
		json_t *req = json_pack("{s:s}", "op", "tier");
		r = admin_handle(&ctx, req);
		json_decref(req);
		assert_true(json_is_false(json_object_get(r, "ok")));
		assert_non_null(strstr(json_string_value(json_object_get(r, "error")),
		    "not available"));
		json_decref(r);
	}
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_move),
		T(test_crash_each_step),
		T(test_rate),
		cmocka_unit_test(test_rate_conf),
		T(test_deleted_during_move),
		T(test_corrupt_source),
		T(test_run_rules),
		T(test_recall),
		T(test_admin_ops),
	};

	return cmocka_run_group_tests_name("tier", tests, NULL, NULL);
}
