/*
 * gc_bench: garbage collection at scale (bench/gc_bench.sh).
 *
 *   gc_bench setup DIR N REFS   one tenant "bench", vault "v", N pack records
 *                               received 10 days ago (metadata only; bulk
 *                               transactions of 100k), one snapshot in the fs
 *                               backend referring to the first REFS of them
 *   gc_bench run DIR NOW [DRY]  one gc_run at Unix time NOW, printing the report
 *
 * Each step is its own process so that /usr/bin/time -v measures GC alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend.h"
#include "envelope.h"
#include "gc.h"
#include "store.h"
#include "meta_internal.h"

#define BULK 100000
#define DAY 86400u

static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

static void
make_id(uint8_t id[VSP_ID_LEN], uint64_t n)
{
	for (int i = 0; i < 4; i++) {
		uint64_t v = mix(n * 4 + (uint64_t)i);
		memcpy(id + 8 * i, &v, 8);
	}
}

static int
ref_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct envelope_ref));
}

static int
open_all(const char *dir, struct meta **m, struct backend **b)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/meta", dir);
	if (meta_open(path, 0, m) != META_OK)
		return -1;
	snprintf(path, sizeof(path), "%s/objects", dir);
	if ((*b = backend_fs_open(path)) == NULL)
		return -1;
	return 0;
}

static int
setup(const char *dir, uint64_t n, uint64_t nrefs)
{
	uint64_t now = (uint64_t)time(NULL);
	struct meta_object o = { 1 << 20, now - 10 * DAY, 1, 0 };
	struct meta_tenant t;
	struct meta_vault v;
	struct meta *m;
	struct backend *b;
	struct envelope_ref *refs;
	struct envelope e;
	struct backend_put *p;
	uint8_t id[VSP_ID_LEN], group[ENVELOPE_GROUP_LEN] = {0}, *env, *missing;
	char key[STORE_KEY_MAX + 1];
	size_t len;
	MDB_txn *txn;
	int rc;

	if (open_all(dir, &m, &b) != 0 || meta_tenant_add(m, "bench", now, &t) != META_OK ||
	    meta_vault_create(m, t.id, "v", now, &v) != META_OK)
		return 1;
	for (uint64_t i = 0; i < n;) {
		if (meta__txn_begin(m, 0, "bench", &txn) != META_OK)
			return 1;
		for (uint64_t end = i + BULK; i < n && i < end; i++) {
			make_id(id, i);
			if (meta__object_put_txn(m, txn, v.id, VSP_KIND_PACK, id, &o, NULL) != META_OK)
				return 1;
		}
		if (meta__txn_end(txn, META_OK, "bench") != META_OK)
			return 1;
	}
	if ((refs = calloc(nrefs ? nrefs : 1, sizeof(*refs))) == NULL ||
	    (missing = calloc(nrefs ? nrefs : 1, 1)) == NULL)
		return 1;
	for (uint64_t i = 0; i < nrefs; i++) {
		refs[i].kind = ENVELOPE_KIND_PACK;
		make_id(refs[i].id, i);
	}
	qsort(refs, nrefs, sizeof(*refs), ref_cmp);
	if (envelope_encode((int64_t)now, group, 0, refs, nrefs, (const uint8_t *)"x", 1, &env,
	        &len) != 0)
		return 1;
	make_id(id, UINT64_MAX / 8);
	store_object_key(key, v.id, VSP_KIND_SNAPSHOT, id);
	if (backend_put_begin(b, key, &p) != 0 || backend_put_write(b, p, env, len) != 0 ||
	    backend_put_commit(b, p) != 0)
		return 1;
	o.size = len;
	o.received = now - 10 * DAY;
	if (envelope_parse(env, len, &e) != ENVELOPE_OK)
		return 1;
	rc = meta_snapshot_put(m, v.id, id, &o, &e, missing, NULL);
	printf("setup: %" PRIu64 " packs, a snapshot of %" PRIu64 " refs (%zu bytes): rc %d\n",
	    n, nrefs, len, rc);
	free(env);
	free(refs);
	free(missing);
	backend_free(b);
	meta_close(m);
	return rc == META_OK ? 0 : 1;
}

/* Splits the resident set: heap and stacks (RssAnon) against LMDB's
 * file-backed map pages (RssFile), which the kernel may drop at will. */
static void
status_rss(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "RssAnon:", 8) == 0 || strncmp(line, "RssFile:", 8) == 0 ||
		    strncmp(line, "VmHWM:", 6) == 0)
			printf("  %s", line);
	fclose(f);
}

static int
run(const char *dir, uint64_t now, int dry)
{
	char tmp[4096], err[512];
	struct meta *m;
	struct backend *b;
	struct gc *g;
	struct gc_report r;
	struct rusage ru;
	int rc;

	if (open_all(dir, &m, &b) != 0)
		return 1;
	snprintf(tmp, sizeof(tmp), "%s/gc-tmp", dir);
	if ((g = gc_new(&(struct gc_config){ .meta = m, .backend = b, .tmp_dir = tmp })) == NULL)
		return 1;
	rc = gc_run(g, "bench", "v", dry, now, &r, err, sizeof(err));
	getrusage(RUSAGE_SELF, &ru);
	printf("gc%s: rc %d%s%s\n  marked %" PRIu64 ", tombstoned %" PRIu64 ", deleted %" PRIu64
	    ", %.2f s, max RSS %ld KiB\n", dry ? " (dry run)" : "", rc, rc ? ": " : "",
	    rc ? err : "", r.objects_marked, r.objects_tombstoned, r.objects_deleted, r.seconds,
	    ru.ru_maxrss);
	status_rss();
	gc_free(g);
	backend_free(b);
	meta_close(m);
	return rc == GC_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "setup") == 0)
		return setup(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "run") == 0)
		return run(argv[2], strtoull(argv[3], NULL, 10), argc == 5);
	fprintf(stderr, "usage: gc_bench setup DIR N REFS | gc_bench run DIR NOW [dry]\n");
	return 2;
}
