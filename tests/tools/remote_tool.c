/*
 * remote_tool: drives every call of client/remote.h against a real vaultd,
 * for tests/integration/test_remote.sh.
 *
 *   remote_tool URL VAULT TOKEN COMMAND [ARGS...]
 *
 *   create                  PUT the vault (exit 4 if it exists)
 *   info                    print "objects N bytes B"
 *   put FILE [KIND]         upload FILE under its SHA-256 (async + flush); print the ID
 *   get ID OUT [KIND]       download a whole object into OUT
 *   range ID OFF LEN OUT    download [OFF, OFF+LEN) of a pack into OUT
 *   stat ID [KIND]          print the size (exit 3 if there is none)
 *   delete ID [KIND]        delete (exit 3 if there is none)
 *   exists ID...            print "ID present|missing" for packs
 *   list [KIND]             print "ID SIZE" for every object
 *   get-config OUT          the config into OUT (exit 3 if none)
 *   put-config FILE         store FILE as the config (exit 4 if another is there)
 *   put-many N SIZE [PARALLEL [nocheck]]
 *                           upload N random packs of SIZE bytes asynchronously,
 *                           print the throughput, then check them with exists
 *                           (mixed with 25000 absent IDs: several batches),
 *                           list, get, ranges, async gets, stat and a failing
 *                           async get that flush must report
 *   concurrent T K SIZE     T threads on one remote, K objects each: sync
 *                           exists and async puts at once, a flush, then sync
 *                           gets and stats at once
 *   snapshot-missing        a snapshot envelope refers to a pack that is not
 *                           there: VC_R_MISSING must list exactly it; after the
 *                           pack is uploaded the snapshot is stored
 *
 * REMOTE_TOOL_PACE_MS=n makes put-many wait n ms between uploads it queues.
 * Errors are vc_remote_error()'s sentences on stderr. Exit status: 0 done,
 * 1 a call failed, 2 usage, 3 not found, 4 exists, 5 a check failed.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "remote.h"
#include "sha256.h"

#define EXIT_CALL 1
#define EXIT_USAGE 2
#define EXIT_NOTFOUND 3
#define EXIT_EXISTS 4
#define EXIT_CHECK 5
#define ABSENT_IDS 25000
#define RANGES_PER_OBJECT 3
#define SNAP_PACK_SIZE 5000
#define SNAP_INDEX_SIZE 700

static struct vc_remote *R;
static int check_failures;
static uint64_t seed;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		check_failures++; \
		fprintf(stderr, "remote_tool: check failed: " __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Object i of put-many: reproducible from the seed, so nothing is kept. */
static void
gen(uint64_t i, uint8_t *p, size_t n)
{
	uint64_t s = (seed ^ (i * UINT64_C(0x9e3779b97f4a7c15))) | 1;
	size_t k = 0;

	while (k < n) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		uint64_t v = s * UINT64_C(2685821657736338717);
		for (int b = 0; b < 8 && k < n; b++, k++)
			p[k] = (uint8_t)(v >> (8 * b));
	}
}

static int
call_rc(int rc, const char *what)
{
	if (rc == 0)
		return 0;
	fprintf(stderr, "remote_tool: %s: %s\n", what, vc_remote_error(R));
	if (rc == VC_R_NOTFOUND)
		return EXIT_NOTFOUND;
	if (rc == VC_R_EXISTS)
		return EXIT_EXISTS;
	return EXIT_CALL;
}

static int
parse_id(const char *s, uint8_t id[VSP_ID_LEN])
{
	if (vsp_id_parse(s, strlen(s), id) != 0) {
		fprintf(stderr, "remote_tool: '%s' is not an object ID\n", s);
		return -1;
	}
	return 0;
}

static int
parse_kind(int argc, char **argv, int i, enum vsp_kind *k)
{
	*k = VSP_KIND_PACK;
	if (i < argc && vsp_kind_parse(argv[i], strlen(argv[i]), k) != 0) {
		fprintf(stderr, "remote_tool: unknown kind '%s'\n", argv[i]);
		return -1;
	}
	return 0;
}

static int
read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (*buf = malloc((size_t)n + 1)) == NULL) {
		perror(path);
		if (f)
			fclose(f);
		return -1;
	}
	*len = fread(*buf, 1, (size_t)n, f);
	fclose(f);
	return *len == (size_t)n ? 0 : -1;
}

static int
write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

/* ---- single calls ---- */

static int
cmd_put(const char *path, enum vsp_kind kind)
{
	uint8_t *buf, id[VSP_ID_LEN];
	char hex[VSP_ID_HEX_LEN + 1];
	size_t len;

	if (read_file(path, &buf, &len) != 0 || sha256_buf(buf, len, id) != 0)
		return EXIT_CALL;
	vsp_id_format(id, hex);
	if (vc_remote_put_async(R, kind, id, buf, len, NULL, NULL) != 0)
		return call_rc(-1, "put");
	if (vc_remote_flush(R) != 0)
		return call_rc(-1, "put");
	printf("%s\n", hex);
	return 0;
}

static int
cmd_get(const char *hexid, uint64_t off, uint64_t len, const char *out, enum vsp_kind kind)
{
	uint8_t id[VSP_ID_LEN], *buf;
	size_t n;
	int rc;

	if (parse_id(hexid, id) != 0)
		return EXIT_USAGE;
	if ((rc = call_rc(vc_remote_get(R, kind, id, off, len, &buf, &n), "get")) != 0)
		return rc;
	rc = write_file(out, buf, n) == 0 ? 0 : EXIT_CALL;
	free(buf);
	return rc;
}

static int
print_entry(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg)
{
	char hex[VSP_ID_HEX_LEN + 1];

	(void)arg;
	vsp_id_format(id, hex);
	printf("%s %" PRIu64 "\n", hex, size);
	return 0;
}

static int
cmd_exists(int n, char **hexes)
{
	uint8_t (*ids)[VSP_ID_LEN] = calloc((size_t)n + 1, VSP_ID_LEN);
	uint8_t *present = calloc((size_t)n + 1, 1);
	int rc = EXIT_CALL;

	if (ids == NULL || present == NULL)
		goto out;
	for (int i = 0; i < n; i++)
		if (parse_id(hexes[i], ids[i]) != 0) {
			rc = EXIT_USAGE;
			goto out;
		}
	if ((rc = call_rc(vc_remote_exists(R, VSP_KIND_PACK, ids, (size_t)n, present),
	    "exists")) == 0)
		for (int i = 0; i < n; i++)
			printf("%s %s\n", hexes[i], present[i] ? "present" : "missing");
out:
	free(ids);
	free(present);
	return rc;
}

static int
cmd_config(int put, const char *path)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (put) {
		if (read_file(path, &buf, &len) != 0)
			return EXIT_CALL;
		rc = call_rc(vc_remote_put_config(R, buf, len), "put-config");
		free(buf);
		return rc;
	}
	if ((rc = call_rc(vc_remote_get_config(R, &buf, &len), "get-config")) != 0)
		return rc;
	rc = write_file(path, buf, len) == 0 ? 0 : EXIT_CALL;
	free(buf);
	return rc;
}

/* ---- put-many ---- */

struct many {
	size_t n, size;
	uint8_t (*ids)[VSP_ID_LEN];
	atomic_uint ok, bad, got_ok, got_notfound;
	uint8_t *seen;  /* listed, per object */
};

static void
put_done(void *arg, int rc, const char *err)
{
	struct many *m = arg;

	if (rc == 0)
		atomic_fetch_add(&m->ok, 1);
	else {
		atomic_fetch_add(&m->bad, 1);
		fprintf(stderr, "remote_tool: an upload failed: %s\n", err);
	}
}

static int
put_all(struct many *m, unsigned parallel)
{
	const char *pace = getenv("REMOTE_TOOL_PACE_MS");
	long pace_ms = pace ? atol(pace) : 0;
	uint64_t sent, recv;
	double t0, dt;

	t0 = now_s();
	for (size_t i = 0; i < m->n; i++) {
		uint8_t *buf = malloc(m->size ? m->size : 1);
		if (buf == NULL)
			return EXIT_CALL;
		gen(i, buf, m->size);
		sha256_buf(buf, m->size, m->ids[i]);
		if (vc_remote_put_async(R, VSP_KIND_PACK, m->ids[i], buf, m->size, put_done, m) != 0)
			return call_rc(-1, "put-many");
		if (pace_ms > 0)
			usleep((useconds_t)pace_ms * 1000);
	}
	if (vc_remote_flush(R) != 0)
		return call_rc(-1, "put-many");
	dt = now_s() - t0;
	vc_remote_counters(R, &sent, &recv);
	printf("put-many: %zu objects of %zu bytes in %.2f s: %.1f MB/s (parallel %u), %" PRIu64
	    " bytes sent\n", m->n, m->size, dt, (double)m->n * (double)m->size / 1e6 / dt,
	    parallel, sent);
	CHECK(atomic_load(&m->ok) == m->n && atomic_load(&m->bad) == 0,
	    "%u uploads reported success, %u failure", atomic_load(&m->ok), atomic_load(&m->bad));
	CHECK(sent >= (uint64_t)m->n * m->size, "only %" PRIu64 " bytes counted as sent", sent);
	return 0;
}

static int
check_exists(struct many *m)
{
	size_t total = m->n + ABSENT_IDS, stride = total / (m->n ? m->n : 1), k = 0;
	uint8_t (*ids)[VSP_ID_LEN] = calloc(total, VSP_ID_LEN), *present = calloc(total, 1);
	uint8_t *want = calloc(total, 1);
	int rc = EXIT_CALL;

	if (ids == NULL || present == NULL || want == NULL)
		goto out;
	/* The known IDs spread through the absent ones, across batches. */
	for (size_t i = 0; i < total; i++) {
		if (k < m->n && i % stride == 0) {
			memcpy(ids[i], m->ids[k++], VSP_ID_LEN);
			want[i] = 1;
		} else {
			gen(UINT64_MAX - i, ids[i], VSP_ID_LEN);
		}
	}
	if ((rc = call_rc(vc_remote_exists(R, VSP_KIND_PACK, ids, total, present), "exists")))
		goto out;
	CHECK(k == m->n, "only %zu of the IDs were asked for", k);
	for (size_t i = 0; i < total; i++)
		CHECK(present[i] == want[i], "exists: ID %zu is %s", i,
		    present[i] ? "present" : "missing");
out:
	free(ids);
	free(present);
	free(want);
	return rc;
}

static int
on_listed(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg)
{
	struct many *m = arg;

	for (size_t i = 0; i < m->n; i++)
		if (memcmp(id, m->ids[i], VSP_ID_LEN) == 0) {
			CHECK(size == m->size, "listed size %" PRIu64 " of object %zu", size, i);
			m->seen[i]++;
		}
	return 0;
}

static void
on_got(void *arg, int rc, uint8_t *buf, size_t len, const char *err)
{
	struct many *m = arg;

	if (rc == VC_R_NOTFOUND) {
		atomic_fetch_add(&m->got_notfound, 1);
	} else if (rc != 0) {
		fprintf(stderr, "remote_tool: async get: %s\n", err);
	} else {
		uint8_t *want = malloc(m->size ? m->size : 1), id[VSP_ID_LEN];
		if (want != NULL && sha256_buf(buf, len, id) == 0) {
			for (size_t i = 0; i < m->n; i++)
				if (memcmp(id, m->ids[i], VSP_ID_LEN) == 0) {
					gen(i, want, m->size);
					if (len == m->size && memcmp(want, buf, len) == 0)
						atomic_fetch_add(&m->got_ok, 1);
					break;
				}
		}
		free(want);
	}
	free(buf);
}

/* Whole and ranged sync GETs of object i, and its size. */
static int
check_object(struct many *m, size_t i, uint8_t *want)
{
	uint8_t *buf;
	size_t n;
	uint64_t size;
	int rc;

	gen(i, want, m->size);
	if ((rc = call_rc(vc_remote_get(R, VSP_KIND_PACK, m->ids[i], 0, UINT64_MAX, &buf, &n),
	    "get")))
		return rc;
	CHECK(n == m->size && memcmp(buf, want, n) == 0, "get of object %zu: wrong bytes", i);
	free(buf);
	for (int k = 0; k < RANGES_PER_OBJECT && m->size > 0; k++) {
		uint64_t off = (uint64_t)rand() % m->size, len = 1 + (uint64_t)rand() % m->size;
		uint64_t expect = len < m->size - off ? len : m->size - off; /* clamped at the end */
		if ((rc = call_rc(vc_remote_get(R, VSP_KIND_PACK, m->ids[i], off, len, &buf, &n),
		    "range")))
			return rc;
		CHECK(n == expect && memcmp(buf, want + off, n) == 0,
		    "range %" PRIu64 "+%" PRIu64 " of object %zu: %zu wrong bytes", off, len, i, n);
		free(buf);
	}
	if ((rc = call_rc(vc_remote_stat(R, VSP_KIND_PACK, m->ids[i], &size), "stat")))
		return rc;
	CHECK(size == m->size, "stat of object %zu: %" PRIu64, i, size);
	return 0;
}

static int
check_many(struct many *m)
{
	uint8_t *want = malloc(m->size ? m->size : 1), absent[VSP_ID_LEN];
	uint64_t objects = 0, before, after;
	int rc;

	if (want == NULL)
		return EXIT_CALL;
	if ((rc = check_exists(m)) != 0)
		goto out;
	if ((rc = call_rc(vc_remote_list(R, VSP_KIND_PACK, on_listed, m), "list")))
		goto out;
	for (size_t i = 0; i < m->n; i++)
		CHECK(m->seen[i] == 1, "object %zu listed %u times", i, m->seen[i]);
	vc_remote_counters(R, NULL, &before);
	for (size_t i = 0; i < m->n; i++)
		if ((rc = check_object(m, i, want)) != 0)
			goto out;
	vc_remote_counters(R, NULL, &after);
	CHECK(after - before >= (uint64_t)m->n * m->size, "only %" PRIu64 " bytes counted as "
	    "received", after - before);
	for (size_t i = 0; i < m->n; i++)
		if ((rc = call_rc(vc_remote_get_async(R, VSP_KIND_PACK, m->ids[i], 0, UINT64_MAX,
		    on_got, m), "get_async")))
			goto out;
	if ((rc = call_rc(vc_remote_flush(R), "flush after async gets")))
		goto out;
	CHECK(atomic_load(&m->got_ok) == m->n, "%u of %zu async gets gave the right bytes",
	    atomic_load(&m->got_ok), m->n);
	/* A failing async job: flush reports it once, then the remote works again. */
	gen(UINT64_MAX / 3, absent, sizeof(absent));
	if ((rc = call_rc(vc_remote_get_async(R, VSP_KIND_PACK, absent, 0, UINT64_MAX, on_got, m),
	    "get_async")))
		goto out;
	CHECK(vc_remote_flush(R) == -1, "flush after a failed async get succeeded");
	CHECK(strstr(vc_remote_error(R), "not found") != NULL, "flush says '%s'",
	    vc_remote_error(R));
	CHECK(vc_remote_status(R) == 404, "status after a 404 is %d", vc_remote_status(R));
	CHECK(atomic_load(&m->got_notfound) == 1, "the missing object's callback was not told");
	CHECK(vc_remote_flush(R) == 0, "a second flush still fails: %s", vc_remote_error(R));
	if ((rc = call_rc(vc_remote_vault_info(R, &objects, NULL), "info")))
		goto out;
	CHECK(objects >= m->n, "the vault holds %" PRIu64 " objects", objects);
out:
	free(want);
	return rc;
}

static int
cmd_put_many(size_t n, size_t size, unsigned parallel, int check)
{
	struct many m = {.n = n, .size = size};
	int rc;

	m.ids = calloc(n ? n : 1, VSP_ID_LEN);
	m.seen = calloc(n ? n : 1, 1);
	if (m.ids == NULL || m.seen == NULL)
		return EXIT_CALL;
	if ((rc = put_all(&m, parallel)) == 0 && check)
		rc = check_many(&m);
	free(m.ids);
	free(m.seen);
	return rc;
}

/* ---- concurrent ---- */

struct worker {
	pthread_t t;
	unsigned no, k;
	size_t size;
	int phase;         /* 0: exists and put_async; 1: get and stat */
	int failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t id[VSP_ID_LEN], other[VSP_ID_LEN], present[2], *buf;
	uint8_t ids[2][VSP_ID_LEN];
	uint64_t size;
	size_t n;

	for (unsigned i = 0; i < w->k; i++) {
		uint64_t which = (uint64_t)w->no << 32 | i;
		if ((buf = malloc(w->size)) == NULL)
			return NULL;
		gen(which, buf, w->size);
		sha256_buf(buf, w->size, id);
		if (w->phase == 0) {
			gen(~which, other, sizeof(other));
			memcpy(ids[0], id, VSP_ID_LEN);
			memcpy(ids[1], other, VSP_ID_LEN);
			if (vc_remote_exists(R, VSP_KIND_PACK, (const uint8_t (*)[VSP_ID_LEN])ids, 2,
			    present) != 0 || present[1] != 0) {
				fprintf(stderr, "remote_tool: worker %u: exists: %s\n", w->no,
				    vc_remote_error(R));
				w->failures++;
			}
			if (vc_remote_put_async(R, VSP_KIND_PACK, id, buf, w->size, NULL, NULL) != 0) {
				fprintf(stderr, "remote_tool: worker %u: put: %s\n", w->no,
				    vc_remote_error(R));
				w->failures++;
			}
			continue;
		}
		uint8_t *got = NULL;
		if (vc_remote_get(R, VSP_KIND_PACK, id, 0, UINT64_MAX, &got, &n) != 0 ||
		    n != w->size || memcmp(got, buf, n) != 0 ||
		    vc_remote_stat(R, VSP_KIND_PACK, id, &size) != 0 || size != w->size) {
			fprintf(stderr, "remote_tool: worker %u: get %u: %s\n", w->no, i,
			    vc_remote_error(R));
			w->failures++;
		}
		free(got);
		free(buf);
	}
	return NULL;
}

/* T threads at once on one remote: sync exists and async puts, a flush,
 * then sync gets and stats; each thread's errors are its own. */
static int
cmd_concurrent(unsigned t, unsigned k, size_t size)
{
	struct worker *w = calloc(t ? t : 1, sizeof(*w));

	if (w == NULL || size == 0)
		return EXIT_USAGE;
	for (int phase = 0; phase < 2; phase++) {
		for (unsigned i = 0; i < t; i++) {
			w[i].no = i;
			w[i].k = k;
			w[i].size = size;
			w[i].phase = phase;
			if (pthread_create(&w[i].t, NULL, worker_main, &w[i]) != 0)
				return EXIT_CALL;
		}
		for (unsigned i = 0; i < t; i++)
			pthread_join(w[i].t, NULL);
		if (phase == 0 && vc_remote_flush(R) != 0)
			return call_rc(-1, "concurrent flush");
	}
	for (unsigned i = 0; i < t; i++)
		CHECK(w[i].failures == 0, "worker %u: %d failures", i, w[i].failures);
	free(w);
	printf("concurrent: %u threads x %u objects\n", t, k);
	return 0;
}

/* ---- snapshot-missing ---- */

static int
upload(enum vsp_kind kind, size_t size, uint64_t which, uint8_t id[VSP_ID_LEN])
{
	uint8_t *buf = malloc(size);

	if (buf == NULL)
		return EXIT_CALL;
	gen(which, buf, size);
	sha256_buf(buf, size, id);
	if (vc_remote_put_async(R, kind, id, buf, size, NULL, NULL) != 0 || vc_remote_flush(R))
		return call_rc(-1, "upload");
	return 0;
}

static int
find_snapshot(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg)
{
	(void)size;
	return memcmp(id, arg, VSP_ID_LEN) == 0 ? 1 : 0;
}

static int
cmd_snapshot_missing(void)
{
	static const char body[] = "sealed snapshot body";
	uint8_t group[ENVELOPE_GROUP_LEN], *env = NULL, sid[VSP_ID_LEN];
	struct envelope_ref refs[2], *missing = NULL;
	size_t envlen, nmissing = 0;
	uint64_t size;
	int rc;

	memset(group, 'g', sizeof(group));
	/* The index is there; the pack is not yet. */
	if ((rc = upload(VSP_KIND_INDEX, SNAP_INDEX_SIZE, 1000001, refs[1].id)) != 0)
		return rc;
	refs[1].kind = ENVELOPE_KIND_INDEX;
	refs[0].kind = ENVELOPE_KIND_PACK;
	{
		uint8_t *p = malloc(SNAP_PACK_SIZE);
		if (p == NULL)
			return EXIT_CALL;
		gen(1000002, p, SNAP_PACK_SIZE);
		sha256_buf(p, SNAP_PACK_SIZE, refs[0].id);
		free(p);
	}
	if (envelope_encode((int64_t)time(NULL), group, 0, refs, 2, (const uint8_t *)body,
	    sizeof(body) - 1, &env, &envlen) != 0 || sha256_buf(env, envlen, sid) != 0)
		return EXIT_CALL;
	rc = vc_remote_put_snapshot(R, sid, env, envlen, &missing, &nmissing);
	CHECK(rc == VC_R_MISSING, "put_snapshot gave %d, not VC_R_MISSING: %s", rc,
	    vc_remote_error(R));
	if (rc == VC_R_MISSING) {
		printf("missing: %s\n", vc_remote_error(R));
		CHECK(nmissing == 1, "%zu objects listed missing", nmissing);
		CHECK(nmissing >= 1 && missing[0].kind == ENVELOPE_KIND_PACK &&
		    memcmp(missing[0].id, refs[0].id, VSP_ID_LEN) == 0,
		    "the missing entry is not the pack");
		CHECK(vc_remote_status(R) == 409, "status %d", vc_remote_status(R));
		free(missing);
	}
	CHECK(vc_remote_stat(R, VSP_KIND_SNAPSHOT, sid, &size) == VC_R_NOTFOUND,
	    "a refused snapshot was stored");
	uint8_t pid[VSP_ID_LEN];
	if ((rc = upload(VSP_KIND_PACK, SNAP_PACK_SIZE, 1000002, pid)) != 0)
		goto out;
	for (int k = 0; k < 2; k++) { /* the second time it is already there */
		missing = NULL;
		rc = vc_remote_put_snapshot(R, sid, env, envlen, &missing, &nmissing);
		CHECK(rc == 0, "put_snapshot %d after the upload gave %d: %s", k, rc,
		    vc_remote_error(R));
	}
	CHECK(vc_remote_list(R, VSP_KIND_SNAPSHOT, find_snapshot, sid) == 1,
	    "the snapshot is not listed");
	CHECK(vc_remote_stat(R, VSP_KIND_SNAPSHOT, sid, &size) == 0 && size == envlen,
	    "stat of the snapshot");
	rc = 0;
out:
	free(env);
	return rc;
}

/* ---- main ---- */

static int
usage(void)
{
	fprintf(stderr, "usage: remote_tool URL VAULT TOKEN COMMAND [ARGS...] (see the source)\n");
	return EXIT_USAGE;
}

static int
dispatch(int argc, char **argv)
{
	const char *c = argv[0];
	enum vsp_kind kind;
	uint64_t size;
	uint8_t id[VSP_ID_LEN];

	if (strcmp(c, "create") == 0)
		return call_rc(vc_remote_create_vault(R), "create");
	if (strcmp(c, "info") == 0) {
		uint64_t o, b;
		int rc = call_rc(vc_remote_vault_info(R, &o, &b), "info");
		if (rc == 0)
			printf("objects %" PRIu64 " bytes %" PRIu64 "\n", o, b);
		return rc;
	}
	if (strcmp(c, "put") == 0 && argc >= 2 && parse_kind(argc, argv, 2, &kind) == 0)
		return cmd_put(argv[1], kind);
	if (strcmp(c, "get") == 0 && argc >= 3 && parse_kind(argc, argv, 3, &kind) == 0)
		return cmd_get(argv[1], 0, UINT64_MAX, argv[2], kind);
	if (strcmp(c, "range") == 0 && argc == 5)
		return cmd_get(argv[1], strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
		    argv[4], VSP_KIND_PACK);
	if ((strcmp(c, "stat") == 0 || strcmp(c, "delete") == 0) && argc >= 2 &&
	    parse_kind(argc, argv, 2, &kind) == 0) {
		int rc;
		if (parse_id(argv[1], id) != 0)
			return EXIT_USAGE;
		if (c[0] == 'd')
			return call_rc(vc_remote_delete(R, kind, id), "delete");
		if ((rc = call_rc(vc_remote_stat(R, kind, id, &size), "stat")) == 0)
			printf("%" PRIu64 "\n", size);
		return rc;
	}
	if (strcmp(c, "exists") == 0 && argc >= 2)
		return cmd_exists(argc - 1, argv + 1);
	if (strcmp(c, "list") == 0 && parse_kind(argc, argv, 1, &kind) == 0)
		return call_rc(vc_remote_list(R, kind, print_entry, NULL), "list");
	if (strcmp(c, "get-config") == 0 && argc == 2)
		return cmd_config(0, argv[1]);
	if (strcmp(c, "put-config") == 0 && argc == 2)
		return cmd_config(1, argv[1]);
	if (strcmp(c, "put-many") == 0 && argc >= 3)
		return cmd_put_many(strtoul(argv[1], NULL, 10), strtoul(argv[2], NULL, 10),
		    argc >= 4 ? (unsigned)atoi(argv[3]) : VC_REMOTE_PARALLEL_DEFAULT,
		    !(argc >= 5 && strcmp(argv[4], "nocheck") == 0));
	if (strcmp(c, "concurrent") == 0 && argc == 4)
		return cmd_concurrent((unsigned)atoi(argv[1]), (unsigned)atoi(argv[2]),
		    strtoul(argv[3], NULL, 10));
	if (strcmp(c, "snapshot-missing") == 0)
		return cmd_snapshot_missing();
	return usage();
}

int
main(int argc, char **argv)
{
	struct vc_remote_opts o = {0};
	char err[512];
	int rc;

	if (argc < 5)
		return usage();
	o.url = argv[1];
	o.vault = argv[2];
	o.token = argv[3];
	if (argc >= 8 && strcmp(argv[4], "put-many") == 0)
		o.parallel = (unsigned)atoi(argv[7]);
	/* The tests shorten the transport's first backoff (the library reads
	 * no environment). */
	if (getenv("VAULT_RETRY_BASE_MS") != NULL)
		o.retry_base_ms = (unsigned)strtoul(getenv("VAULT_RETRY_BASE_MS"), NULL, 10);
	seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	srand((unsigned)seed);
	if ((R = vc_remote_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "remote_tool: %s\n", err);
		return EXIT_CALL;
	}
	rc = dispatch(argc - 4, argv + 4);
	vc_remote_free(R);
	if (rc == 0 && check_failures > 0) {
		fprintf(stderr, "remote_tool: %d check(s) failed\n", check_failures);
		rc = EXIT_CHECK;
	}
	return rc;
}
