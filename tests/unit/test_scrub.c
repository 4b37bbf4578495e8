/*
 * Unit tests for the scrubber (vaultd/scrub.c; spec/scrub.md) on in-memory
 * backends: the token bucket's arithmetic and a paced run's duration; a
 * clean pass sets the last full verification time; a corrupt or missing
 * copy on backend 0 is found, recorded and rewritten from backend 1, then
 * verifies; a corrupt copy with no other source stays recorded, and a pass
 * that finds it good again clears it; a bad record of a deleted object is
 * dropped; a location whose backend is absent makes the pass partial; the
 * schedule (scrub-every) and the busy lock; the config blob. Also the new
 * vaultd.conf directives (scrub-rate, posture-listen, scrub-every, rpo,
 * copies) and the posture report and page (RPO verdicts, escaping).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "conf.h"
#include "store.h"
#include "meta_scrub.h"
#include "posture.h"
#include "scrub.h"
#include "sha256.h"

#define NOW 1700000000u

struct fx {
	char root[256];
	char dir[300];
	struct meta *m;
	struct backend *b0, *b1;
	struct scrub *s;
	uint64_t vault_id;
	struct conf_policy pol;
	int has_pol;
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
policy_cb(void *arg, const char *tenant, const char *vault, struct conf_policy *out)
{
	struct fx *f = arg;

	(void)tenant;
	(void)vault;
	if (f->has_pol)
		*out = f->pol;
	return f->has_pol;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	struct scrub_config cfg = {0};
	struct meta_tenant t;
	struct meta_vault v;

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/test_scrub.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/meta", f->root);
	assert_int_equal(meta_open(f->dir, 0, &f->m), META_OK);
	assert_int_equal(meta_tenant_add(f->m, "acme", NOW, &t), META_OK);
	assert_int_equal(meta_vault_create(f->m, t.id, "v", NOW, &v), META_OK);
	f->vault_id = v.id;
	assert_non_null(f->b0 = backend_mem_open());
	assert_non_null(f->b1 = backend_mem_open());
	cfg.meta = f->m;
	cfg.backends[0] = f->b0;
	cfg.backends[1] = f->b1;
	cfg.policy = policy_cb;
	cfg.arg = f;
	assert_non_null(f->s = scrub_new(&cfg));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	scrub_free(f->s);
	backend_free(f->b0);
	backend_free(f->b1);
	meta_close(f->m);
	assert_int_equal(nftw(f->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void
store(struct backend *b, const char *key, const void *buf, size_t len)
{
	struct backend_put *p;

	assert_int_equal(backend_put_begin(b, key, &p), 0);
	assert_int_equal(backend_put_write(b, p, buf, len), 0);
	assert_int_equal(backend_put_commit(b, p), 0);
}

/* An object of len bytes of fill on the backends in locations; its ID. */
static void
object(struct fx *f, unsigned char fill, size_t len, uint32_t locations, uint8_t id[VSP_ID_LEN])
{
	char key[STORE_KEY_MAX + 1];
	struct meta_object o = { len, NOW, locations, 0 };
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, fill, len);
	assert_int_equal(sha256_buf(buf, len, id), 0);
	store_object_key(key, f->vault_id, VSP_KIND_PACK, id);
	if (locations & 1)
		store(f->b0, key, buf, len);
	if (locations & 2)
		store(f->b1, key, buf, len);
	assert_int_equal(meta_object_put(f->m, f->vault_id, VSP_KIND_PACK, id, &o, NULL), META_OK);
	free(buf);
}

/* Overwrites the copy on b with len bytes of fill (a corrupt copy). */
static void
corrupt(struct fx *f, struct backend *b, const uint8_t id[VSP_ID_LEN], unsigned char fill,
    size_t len)
{
	char key[STORE_KEY_MAX + 1];
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, fill, len);
	store_object_key(key, f->vault_id, VSP_KIND_PACK, id);
	store(b, key, buf, len);
	free(buf);
}

/* 1 if the copy on b hashes to id. */
static int
copy_good(struct fx *f, struct backend *b, const uint8_t id[VSP_ID_LEN])
{
	char key[STORE_KEY_MAX + 1];
	struct backend_reader *rd;
	uint8_t buf[65536], d[SHA256_LEN];
	uint64_t size;
	ssize_t n;

	store_object_key(key, f->vault_id, VSP_KIND_PACK, id);
	if (backend_open(b, key, &rd, &size) != 0)
		return 0;
	assert_true(size <= sizeof(buf));
	n = backend_read(b, rd, 0, buf, sizeof(buf));
	backend_close(b, rd);
	assert_int_equal(sha256_buf(buf, (size_t)n, d), 0);
	return memcmp(d, id, VSP_ID_LEN) == 0;
}

static struct scrub_report *
run(struct fx *f)
{
	static struct scrub_report r;
	char err[256];

	assert_int_equal(scrub_run(f->s, "acme", "v", NOW, &r, err, sizeof(err)), SCRUB_OK);
	return &r;
}

static uint32_t
mask_of(struct fx *f, const uint8_t id[VSP_ID_LEN])
{
	uint32_t mask;

	assert_int_equal(meta_scrub_bad_mask(f->m, f->vault_id, VSP_KIND_PACK, id, &mask),
	    META_OK);
	return mask;
}

/* ---- the token bucket ----------------------------------------------------- */

static void
test_bucket(void **state)
{
	struct scrub_bucket b;

	(void)state;
	scrub_bucket_init(&b, 1000);
	/* One second's worth is there at the start. */
	assert_true(scrub_bucket_take(&b, 1000, 10.0) == 0);
	/* Then each byte costs 1 ms. */
	assert_true(scrub_bucket_take(&b, 500, 10.0) > 0.499 &&
	    scrub_bucket_take(&b, 0, 10.0) < 0.501);
	/* Waiting pays the debt: at 10.5 the bucket is at 0. */
	assert_true(scrub_bucket_take(&b, 0, 10.5) < 1e-9);
	assert_true(scrub_bucket_take(&b, 250, 10.5) > 0.249);
	/* Idle time refills at most one second's worth. */
	assert_true(scrub_bucket_take(&b, 1000, 100.0) == 0);
	assert_true(scrub_bucket_take(&b, 1, 100.0) > 0);
	/* A clock going back changes nothing. */
	assert_true(scrub_bucket_take(&b, 0, 50.0) > 0);
	/* Rate 0: no cap. */
	scrub_bucket_init(&b, 0);
	assert_true(scrub_bucket_take(&b, UINT64_MAX / 2, 0.0) == 0);
}

static void
test_paced_run(void **state)
{
	struct fx *f = *state;
	uint8_t id[VSP_ID_LEN];
	struct timespec t0, t1;
	double secs;

	/* 3 MiB at 1 MiB/s with one second saved up: about 2 s. */
	object(f, 'p', 3u << 20, 0x1, id);
	scrub_set_rate(f->s, 1u << 20);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(run(f)->bytes, 3u << 20);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs > 1.9 && secs < 4.0);
}

/* ---- passes ------------------------------------------------------------------ */

static void
test_clean_pass(void **state)
{
	struct fx *f = *state;
	struct meta_scrub_vault rec;
	struct scrub_report *r;
	uint8_t id[VSP_ID_LEN];

	object(f, 'a', 1000, 0x3, id);
	object(f, 'b', 0, 0x1, id);  /* an empty object */
	assert_int_equal(meta_scrub_vault_get(f->m, f->vault_id, &rec), META_NOTFOUND);
	r = run(f);
	assert_int_equal(r->vaults, 1);
	assert_int_equal(r->vaults_full, 1);
	assert_int_equal(r->objects, 2);
	assert_int_equal(r->copies, 3);
	assert_int_equal(r->bytes, 2000);
	assert_int_equal(r->bad, 0);
	assert_int_equal(meta_scrub_vault_get(f->m, f->vault_id, &rec), META_OK);
	assert_true(rec.last_full != 0 && rec.last_full == rec.last_run);
	assert_int_equal(rec.objects, 3);
	assert_int_equal(rec.bytes, 2000);
}

static void
test_repair_from_other_backend(void **state)
{
	struct fx *f = *state;
	struct scrub_report *r;
	uint8_t flipped[VSP_ID_LEN], missing[VSP_ID_LEN], bad1[VSP_ID_LEN];
	char key[STORE_KEY_MAX + 1];

	object(f, 'c', 5000, 0x3, flipped);
	object(f, 'd', 3000, 0x3, missing);
	object(f, 'e', 2000, 0x3, bad1);
	corrupt(f, f->b0, flipped, 'X', 5000);
	store_object_key(key, f->vault_id, VSP_KIND_PACK, missing);
	assert_int_equal(backend_remove(f->b0, key), 0);
	corrupt(f, f->b1, bad1, 'Y', 1999); /* the wrong size, on backend 1 */
	r = run(f);
	assert_int_equal(r->bad, 3);
	assert_int_equal(r->repaired, 3);
	assert_int_equal(r->unrepaired, 0);
	assert_int_equal(r->nproblems, 3);
	assert_true(copy_good(f, f->b0, flipped));
	assert_true(copy_good(f, f->b0, missing));
	assert_true(copy_good(f, f->b1, bad1));
	assert_int_equal(mask_of(f, flipped) | mask_of(f, missing) | mask_of(f, bad1), 0);
	for (size_t i = 0; i < r->nproblems; i++) {
		const struct scrub_problem *p = &r->problems[i];
		assert_true(p->repaired);
		assert_string_equal(p->tenant, "acme");
		assert_string_equal(p->source, p->backend == 0 ? "backend 1" : "backend 0");
		if (memcmp(p->id, missing, VSP_ID_LEN) == 0)
			assert_string_equal(p->reason, "the copy is missing");
		else if (memcmp(p->id, flipped, VSP_ID_LEN) == 0)
			assert_non_null(strstr(p->reason, "SHA-256 mismatch"));
		else
			assert_non_null(strstr(p->reason, "1999 bytes, not 2000"));
	}
	r = run(f);
	assert_int_equal(r->bad, 0);
}

static void
test_unrepaired(void **state)
{
	struct fx *f = *state;
	struct scrub_report *r;
	uint8_t id[VSP_ID_LEN], both[VSP_ID_LEN];

	object(f, 'f', 4000, 0x1, id);
	corrupt(f, f->b0, id, 'Z', 4000);
	/* Both copies bad: neither can repair the other. */
	object(f, 'g', 100, 0x3, both);
	corrupt(f, f->b0, both, 'Q', 100);
	corrupt(f, f->b1, both, 'Q', 100);
	r = run(f);
	assert_int_equal(r->bad, 3);
	assert_int_equal(r->repaired, 0);
	assert_int_equal(r->unrepaired, 3);
	assert_int_equal(r->vaults_full, 1); /* every copy read to a verdict */
	assert_false(r->problems[0].repaired);
	assert_non_null(strstr(r->problems[0].repair_error, "no good copy"));
	assert_int_equal(mask_of(f, id), 0x1);
	assert_int_equal(mask_of(f, both), 0x3);
	/* The copy comes back good (put back by hand): the next pass clears it. */
	corrupt(f, f->b0, id, 'f', 4000);
	r = run(f);
	assert_int_equal(r->bad, 2);
	assert_int_equal(mask_of(f, id), 0);
	/* The object is deleted: its bad records go at the next pass. */
	assert_int_equal(meta_object_delete(f->m, f->vault_id, VSP_KIND_PACK, both, NULL), META_OK);
	r = run(f);
	assert_int_equal(r->bad, 0);
	assert_int_equal(r->unrepaired, 0);
	assert_int_equal(mask_of(f, both), 0);
}

static void
test_partial_and_config(void **state)
{
	struct fx *f = *state;
	struct meta_scrub_vault rec;
	struct scrub_report *r;
	uint8_t id[VSP_ID_LEN], cid[VSP_ID_LEN];
	char key[STORE_KEY_MAX + 1];
	struct meta_object o = { 10, NOW, 0x4, 0 }; /* backend 2: not configured */

	memset(id, 0x42, sizeof(id));
	assert_int_equal(meta_object_put(f->m, f->vault_id, VSP_KIND_INDEX, id, &o, NULL), META_OK);
	assert_int_equal(sha256_buf("cfg", 3, cid), 0);
	snprintf(key, sizeof(key), "%016" PRIx64 "/config", f->vault_id);
	store(f->b0, key, "cgf", 3);  /* a corrupt config blob */
	assert_int_equal(meta_vault_set_config(f->m, f->vault_id, cid, 3), META_OK);
	r = run(f);
	assert_int_equal(r->vaults_full, 0);
	assert_int_equal(r->bad, 1);
	assert_int_equal(r->problems[0].kind, META_SCRUB_CONFIG);
	assert_int_equal(meta_scrub_vault_get(f->m, f->vault_id, &rec), META_OK);
	assert_int_equal(rec.last_full, 0);
	assert_true(rec.last_run != 0);
}

static void
test_schedule_and_busy(void **state)
{
	struct fx *f = *state;
	struct scrub_report r;
	struct meta_scrub_vault rec;
	uint8_t id[VSP_ID_LEN];
	char err[128];

	object(f, 'h', 10, 0x1, id);
	/* No policy, or no scrub-every: never due. */
	assert_int_equal(scrub_run_due(f->s, NOW, &r), SCRUB_OK);
	assert_int_equal(r.vaults, 0);
	f->has_pol = 1;
	assert_int_equal(scrub_run_due(f->s, NOW, &r), SCRUB_OK);
	assert_int_equal(r.vaults, 0);
	f->pol.scrub_every = 3600;
	assert_int_equal(scrub_run_due(f->s, (uint64_t)time(NULL), &r), SCRUB_OK);
	assert_int_equal(r.vaults, 1);
	assert_int_equal(meta_scrub_vault_get(f->m, f->vault_id, &rec), META_OK);
	/* Not due again within the hour, due after it. */
	assert_int_equal(scrub_run_due(f->s, rec.last_run + 3599, &r), SCRUB_OK);
	assert_int_equal(r.vaults, 0);
	assert_int_equal(scrub_run_due(f->s, rec.last_run + 3600, &r), SCRUB_OK);
	assert_int_equal(r.vaults, 1);
	/* Unknown names. */
	assert_int_equal(scrub_run(f->s, "nobody", NULL, NOW, &r, err, sizeof(err)),
	    SCRUB_NOTFOUND);
	assert_int_equal(scrub_run(f->s, "acme", "nosuch", NOW, &r, err, sizeof(err)),
	    SCRUB_NOTFOUND);
	assert_non_null(strstr(err, "no vault named"));
	/* Cancelled: the pass stops and is not full. */
	scrub_cancel(f->s);
	assert_int_equal(scrub_run(f->s, "acme", "v", NOW, &r, err, sizeof(err)), SCRUB_OK);
	assert_int_equal(r.vaults_full, 0);
}

/* ---- configuration --------------------------------------------------------- */

static void
test_conf(void **state)
{
	static const char good[] =
	    "scrub-rate 10M\nposture-listen 127.0.0.1:8421\n"
	    "policy p {\n scrub-every 7d\n rpo 1d\n copies 3\n}\n";
	struct conf *c;
	char err[256];

	(void)state;
	assert_int_equal(conf_parse("t.conf", "", 0, &c, err, sizeof(err)), 0);
	assert_int_equal(c->scrub_rate, CONF_DEFAULT_SCRUB_RATE);
	assert_false(c->has_posture_listen);
	conf_free(c);
	assert_int_equal(conf_parse("t.conf", good, strlen(good), &c, err, sizeof(err)), 0);
	assert_int_equal(c->scrub_rate, 10u << 20);
	assert_true(c->has_posture_listen);
	assert_string_equal(c->posture_listen.host, "127.0.0.1");
	assert_int_equal(c->posture_listen.port, 8421);
	assert_int_equal(c->policies[0].scrub_every, 7 * 86400);
	assert_int_equal(c->policies[0].rpo, 86400);
	assert_int_equal(c->policies[0].copies, 3);
	conf_free(c);
	assert_int_equal(conf_parse("t.conf", "policy p {\n copies 0\n}\n", 22, &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: 'copies' must be between 1 and 33, not '0'");
	assert_int_equal(conf_parse("t.conf", "posture-listen nowhere\n", 23, &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:1: posture-listen address 'nowhere'"));
	assert_int_equal(conf_parse("t.conf", "rpo 1d\n", 7, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "goes in a policy block"));
	assert_int_equal(conf_parse("t.conf", "scrub-rate 5x\n", 14, &c, err, sizeof(err)), -1);
}

/* ---- posture ------------------------------------------------------------------- */

static void
test_posture(void **state)
{
	struct fx *f = *state;
	struct posture_config pc = { .meta = f->m, .policy = policy_cb, .arg = f };
	struct meta_object o = { 10, NOW, 0x1, 0 };
	uint8_t id[VSP_ID_LEN];
	char err[128], *html;
	json_t *r, *v;

	memset(id, 7, sizeof(id));
	assert_int_equal(meta_object_put(f->m, f->vault_id, VSP_KIND_SNAPSHOT, id, &o, NULL),
	    META_OK);
	f->has_pol = 1;
	strcpy(f->pol.name, "p");
	f->pol.rpo = 3600;
	f->pol.keep_last = 3;
	assert_non_null(r = posture_report(&pc, NULL, NULL, NOW + 600, err, sizeof(err)));
	v = json_array_get(json_object_get(r, "vaults"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "rpo_text")), "RPO met");
	assert_int_equal(json_integer_value(json_object_get(v, "last_snapshot")), NOW);
	assert_int_equal(json_integer_value(json_object_get(v, "snapshots")), 1);
	assert_string_equal(json_string_value(json_object_get(v, "state")), "ok");
	assert_string_equal(json_string_value(json_object_get(v, "policy")),
	    "policy p: keep last 3; lock none; quota none; replicate-to none; tier none; rpo 1h");
	json_decref(r);
	assert_non_null(r = posture_report(&pc, "acme", "v", NOW + 3600 + 7260, err, sizeof(err)));
	v = json_array_get(json_object_get(r, "vaults"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "rpo_text")),
	    "RPO missed by 2h 1m");
	assert_int_equal(json_integer_value(json_object_get(v, "rpo_missed_by")), 7260);
	assert_string_equal(json_string_value(json_object_get(v, "state")), "attention");
	/* The page escapes what it shows. */
	json_object_set_new(v, "vault", json_string("<b>&'\""));
	assert_non_null(html = posture_html(r));
	assert_non_null(strstr(html, "&lt;b&gt;&amp;&#39;&quot;"));
	assert_null(strstr(html, "<b>"));
	assert_non_null(strstr(html, "class=\"state bad\">ATTENTION"));
	assert_non_null(strstr(html, "RPO missed by 2h 1m"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "http"));  /* no external asset */
	free(html);
	json_decref(r);
	assert_null(posture_report(&pc, "acme", "nosuch", NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "no vault named"));
}

/* ---- the admin ops -------------------------------------------------------------- */

static json_t *
call(const struct admin_ctx *ctx, const char *line)
{
	json_t *req = json_loads(line, 0, NULL), *r;

	assert_non_null(req);
	r = admin_handle(ctx, req);
	json_decref(req);
	assert_non_null(r);
	return r;
}

static void
expect_error(const struct admin_ctx *ctx, const char *line, const char *part)
{
	json_t *r = call(ctx, line);
	const char *e = json_string_value(json_object_get(r, "error"));

	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_non_null(e);
	if (strstr(e, part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", e, part);
	json_decref(r);
}

static void
test_admin_ops(void **state)
{
	struct fx *f = *state;
	struct posture_config pc = { .meta = f->m };
	struct admin_ctx ctx = { .meta = f->m, .scrub = f->s, .posture = &pc };
	struct admin_ctx none = { .meta = f->m };
	uint8_t id[VSP_ID_LEN];
	json_t *r;

	object(f, 'k', 100, 0x1, id);
	corrupt(f, f->b0, id, 'K', 100);
	r = call(&ctx, "{\"op\":\"scrub\",\"tenant\":\"acme\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "vaults")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "bad")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "unrepaired")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(r, "problems"), 0), "kind")), "pack");
	json_decref(r);
	r = call(&ctx, "{\"op\":\"posture\",\"tenant\":\"acme\",\"vault\":\"v\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(
	    json_object_get(r, "vaults"), 0), "scrub"), "bad_copies")), 1);
	json_decref(r);
	expect_error(&ctx, "{\"op\":\"posture\",\"vault\":\"v\"}", "give \"tenant\" too");
	expect_error(&ctx, "{\"op\":\"scrub\",\"dry_run\":true}", "takes no field");
	expect_error(&ctx, "{\"op\":\"scrub\",\"tenant\":\"Bad Name\"}", "not a valid");
	expect_error(&ctx, "{\"op\":\"scrub\",\"tenant\":\"nobody\"}", "no tenant named");
	expect_error(&none, "{\"op\":\"scrub\"}", "scrub is not available");
	expect_error(&none, "{\"op\":\"posture\"}", "posture is not available");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test_setup_teardown(test_paced_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repair_from_other_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrepaired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schedule_and_busy, setup, teardown),
		cmocka_unit_test(test_conf),
		cmocka_unit_test_setup_teardown(test_posture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_ops, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
