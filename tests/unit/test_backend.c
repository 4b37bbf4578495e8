/*
 * Storage backends (vaultd/backend.h).
 *
 * One conformance suite runs against every backend: each test gets a fresh
 * backend from a factory passed as cmocka's initial state. Tests only the
 * file-system backend can fail (temp files, reopening, write errors) follow.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend.h"
#include "s3.h"
#include "vectors.h"

#define MIB (1024 * 1024)
#define BIG_SIZE (MIB + 3)
#define MAX_LISTED 64
#define NTHREADS 4
#define PER_THREAD 32

struct factory {
	const char *name;
	/* Opens a backend; root is a directory path the backend may use. */
	struct backend *(*open)(const char *root);
	unsigned caps; /* BACKEND_CAP_* it must declare */
};

struct fixture {
	const struct factory *f;
	struct backend *b;
	char dir[PATH_MAX];  /* scratch directory, removed afterwards */
	char root[PATH_MAX]; /* dir/objects: the fs backend's root */
};

static struct backend *
open_fs(const char *root)
{
	return backend_fs_open(root);
}

static struct backend *
open_mem(const char *root)
{
	(void)root;
	return backend_mem_open();
}

/* Small cartridges, so the suite's bigger objects span several. */
#define TEST_CART_SIZE (256 * 1024)

static struct backend *
open_archive(const char *root)
{
	return backend_archive_open(root, TEST_CART_SIZE);
}

/*
 * The S3 backend needs a server: tests/integration/test_backend_s3.sh
 * starts s3rver and runs this program with VAULT_TEST_S3 set to
 * "ENDPOINT BUCKET CREDENTIALS-FILE". Each fixture gets a key prefix of its
 * own, so the tests never see each other's objects.
 */
static struct backend *
open_s3(const char *root)
{
	static unsigned seq;
	const char *env = getenv("VAULT_TEST_S3");
	char spool[PATH_MAX], err[256];
	struct s3_conf c;

	memset(&c, 0, sizeof(c));
	assert_non_null(env);
	assert_int_equal(sscanf(env, "%255s %63s %*s", c.endpoint, c.bucket), 2);
	snprintf(c.region, sizeof(c.region), "us-east-1");
	snprintf(c.prefix, sizeof(c.prefix), "bt-%ld-%u/", (long)getpid(), seq++);
	c.path_style = 1;
	{
		const char *creds = strrchr(env, ' ');
		assert_non_null(creds);
		if (s3_credentials_load(&c, creds + 1, NULL, err, sizeof(err)) != 0)
			fail_msg("%s", err);
	}
	assert_true(snprintf(spool, sizeof(spool), "%s.s3spool", root) < (int)sizeof(spool));
	{
		/* The spool's parent is the fixture's scratch directory's data/. */
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", root);
		char *slash = strrchr(parent, '/');
		*slash = '\0';
		assert_true(mkdir(parent, 0700) == 0 || errno == EEXIST);
	}
	return backend_s3_open(&c, spool);
}

static const struct factory fs_factory = {"fs", open_fs, 0};
static const struct factory s3_factory = {"s3", open_s3, BACKEND_CAP_CHECKED_PUT};
static const struct factory archive_factory = {"archive", open_archive, BACKEND_CAP_RECALL};
static const struct factory mem_factory = {"mem", open_mem, 0};

static int
setup(void **state)
{
	const struct factory *f = *state;
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(fx);
	fx->f = f;
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	assert_true(snprintf(fx->dir, sizeof(fx->dir), "%s/test_backend.XXXXXX", tmp) <
	    (int)sizeof(fx->dir));
	assert_non_null(mkdtemp(fx->dir));
	/* A root that does not exist yet, two levels down: open makes it. */
	assert_true(snprintf(fx->root, sizeof(fx->root), "%s/data/objects", fx->dir) <
	    (int)sizeof(fx->root));
	fx->b = f->open(fx->root);
	assert_non_null(fx->b);
	assert_string_equal(fx->b->ops->name, f->name);
	assert_int_equal(fx->b->ops->caps, f->caps);
	*state = fx;
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
	struct fixture *fx = *state;

	backend_free(fx->b);
	assert_int_equal(nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(fx);
	return 0;
}

/* Fills buf with bytes that depend on seed and position. */
static void
pattern(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

/* Stores len bytes under key, in writes of at most chunk bytes. */
static int
put_bytes(struct backend *b, const char *key, const void *buf, size_t len,
    size_t chunk)
{
	struct backend_put *p;
	const unsigned char *c = buf;

	if (backend_put_begin(b, key, &p) != 0)
		return -1;
	while (len > 0) {
		size_t n = len < chunk ? len : chunk;
		if (backend_put_write(b, p, c, n) != 0) {
			backend_put_abort(b, p);
			return -1;
		}
		c += n;
		len -= n;
	}
	return backend_put_commit(b, p);
}

static int
put_str(struct backend *b, const char *key, const char *s)
{
	return put_bytes(b, key, s, strlen(s), 4096);
}

/* Reads all of key through an odd-sized buffer; checks it against want. */
static void
check_object(struct backend *b, const char *key, const void *want, size_t len)
{
	struct backend_reader *r;
	unsigned char *got = malloc(len + 1);
	uint64_t size, off = 0;
	ssize_t n;

	assert_non_null(got);
	assert_int_equal(backend_stat(b, key, &size), 0);
	assert_int_equal(size, len);
	assert_int_equal(backend_open(b, key, &r, &size), 0);
	assert_int_equal(size, len);
	/* Near the end, ask for one byte more than is left: the read is short. */
	while ((n = backend_read(b, r, off, got + off,
	    len - off < 4099 ? len - off + 1 : 4099)) > 0)
		off += (uint64_t)n;
	assert_int_equal(n, 0);
	assert_int_equal(off, len);
	assert_memory_equal(got, want, len);
	backend_close(b, r);
	free(got);
}

static void
check_str(struct backend *b, const char *key, const char *s)
{
	check_object(b, key, s, strlen(s));
}

static void
check_absent(struct backend *b, const char *key)
{
	struct backend_reader *r = NULL;
	uint64_t size;

	errno = 0;
	assert_int_equal(backend_stat(b, key, &size), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(backend_open(b, key, &r, &size), -1);
	assert_int_equal(errno, ENOENT);
}

/* What a list walk saw. */
struct listing {
	int n;
	int stop_after; /* return 7 from the callback after this many; 0: never */
	char keys[MAX_LISTED][BACKEND_KEY_MAX + 1];
	uint64_t sizes[MAX_LISTED];
};

static int
collect(const char *key, uint64_t size, void *arg)
{
	struct listing *l = arg;

	if (l->n == MAX_LISTED)
		return -2;
	snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", key);
	l->sizes[l->n++] = size;
	return l->stop_after != 0 && l->n >= l->stop_after ? 7 : 0;
}

/* Returns the size listed for key, or -1 if it was not listed. */
static int64_t
listed(const struct listing *l, const char *key)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->keys[i], key) == 0)
			return (int64_t)l->sizes[i];
	return -1;
}

static int
count_one(const char *key, uint64_t size, void *arg)
{
	(void)key;
	(void)size;
	(*(int *)arg)++;
	return 0;
}

static int
list_count(struct backend *b, const char *prefix)
{
	int n = 0;

	assert_int_equal(backend_list(b, prefix, count_one, &n), 0);
	return n;
}

/* --- conformance suite --- */

static void
test_roundtrip_sizes(void **state)
{
	struct fixture *fx = *state;
	unsigned char *big = malloc(BIG_SIZE);
	unsigned char one = 0xa5;

	assert_non_null(big);
	pattern(big, BIG_SIZE, 1);
	assert_int_equal(put_bytes(fx->b, "v/empty", "", 0, 1), 0);
	assert_int_equal(put_bytes(fx->b, "v/one", &one, 1, 1), 0);
	/* Writes of 65537 bytes so the last one is short. */
	assert_int_equal(put_bytes(fx->b, "v/pack/ab/big", big, BIG_SIZE, 65537), 0);
	check_object(fx->b, "v/empty", "", 0);
	check_object(fx->b, "v/one", &one, 1);
	check_object(fx->b, "v/pack/ab/big", big, BIG_SIZE);
	free(big);
}

static void
test_read_offsets(void **state)
{
	struct fixture *fx = *state;
	struct backend_reader *r;
	unsigned char data[100], buf[64];
	uint64_t size;

	pattern(data, sizeof(data), 2);
	assert_int_equal(put_bytes(fx->b, "obj", data, sizeof(data), 33), 0);
	assert_int_equal(backend_open(fx->b, "obj", &r, &size), 0);
	assert_int_equal(size, sizeof(data));
	assert_int_equal(backend_read(fx->b, r, 0, buf, 10), 10);
	assert_memory_equal(buf, data, 10);
	assert_int_equal(backend_read(fx->b, r, 50, buf, 20), 20);
	assert_memory_equal(buf, data + 50, 20);
	/* Short at the end, then 0 at and past it. */
	assert_int_equal(backend_read(fx->b, r, 95, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, data + 95, 5);
	assert_int_equal(backend_read(fx->b, r, 99, buf, 1), 1);
	assert_int_equal(backend_read(fx->b, r, 100, buf, sizeof(buf)), 0);
	assert_int_equal(backend_read(fx->b, r, 101, buf, sizeof(buf)), 0);
	assert_int_equal(backend_read(fx->b, r, (uint64_t)1 << 40, buf, sizeof(buf)), 0);
	assert_int_equal(backend_read(fx->b, r, (uint64_t)INT64_MAX + 1, buf, 1), 0);
	assert_int_equal(backend_read(fx->b, r, UINT64_MAX, buf, sizeof(buf)), 0);
	backend_close(fx->b, r);

	assert_int_equal(put_bytes(fx->b, "zero", "", 0, 1), 0);
	assert_int_equal(backend_open(fx->b, "zero", &r, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(backend_read(fx->b, r, 0, buf, sizeof(buf)), 0);
	backend_close(fx->b, r);
	backend_close(fx->b, NULL);
}

static void
test_invisible_before_commit(void **state)
{
	struct fixture *fx = *state;
	struct backend_put *p;

	assert_int_equal(backend_put_begin(fx->b, "v/pack/00/k", &p), 0);
	check_absent(fx->b, "v/pack/00/k");
	assert_int_equal(backend_put_write(fx->b, p, "hello", 5), 0);
	check_absent(fx->b, "v/pack/00/k");
	assert_int_equal(list_count(fx->b, ""), 0);
	assert_int_equal(backend_put_commit(fx->b, p), 0);
	check_str(fx->b, "v/pack/00/k", "hello");
	assert_int_equal(list_count(fx->b, ""), 1);
}

static void
test_abort_leaves_nothing(void **state)
{
	struct fixture *fx = *state;
	struct backend_put *p;

	assert_int_equal(backend_put_begin(fx->b, "v/pack/00/k", &p), 0);
	assert_int_equal(backend_put_write(fx->b, p, "hello", 5), 0);
	backend_put_abort(fx->b, p);
	check_absent(fx->b, "v/pack/00/k");
	assert_int_equal(list_count(fx->b, ""), 0);
	/* Abort right after begin, and of NULL. */
	assert_int_equal(backend_put_begin(fx->b, "k", &p), 0);
	backend_put_abort(fx->b, p);
	backend_put_abort(fx->b, NULL);
	check_absent(fx->b, "k");
	assert_int_equal(list_count(fx->b, ""), 0);
}

static void
test_overwrite(void **state)
{
	struct fixture *fx = *state;
	struct backend_reader *r;
	char buf[32];
	uint64_t size;

	assert_int_equal(put_str(fx->b, "v/k", "first version"), 0);
	assert_int_equal(backend_open(fx->b, "v/k", &r, &size), 0);
	assert_int_equal(put_str(fx->b, "v/k", "second"), 0);
	check_str(fx->b, "v/k", "second");
	assert_int_equal(list_count(fx->b, ""), 1);
	/* A reader opened before keeps the bytes it opened. */
	assert_int_equal(size, 13);
	assert_int_equal(backend_read(fx->b, r, 0, buf, sizeof(buf)), 13);
	assert_memory_equal(buf, "first version", 13);
	backend_close(fx->b, r);
}

static void
test_remove(void **state)
{
	struct fixture *fx = *state;
	struct backend_reader *r;
	char buf[16];
	uint64_t size;

	assert_int_equal(put_str(fx->b, "v/pack/ab/k1", "one"), 0);
	assert_int_equal(put_str(fx->b, "v/pack/ab/k2", "two"), 0);
	assert_int_equal(backend_open(fx->b, "v/pack/ab/k1", &r, &size), 0);
	assert_int_equal(backend_remove(fx->b, "v/pack/ab/k1"), 0);
	check_absent(fx->b, "v/pack/ab/k1");
	check_str(fx->b, "v/pack/ab/k2", "two");
	assert_int_equal(list_count(fx->b, ""), 1);
	/* The open reader still works. */
	assert_int_equal(backend_read(fx->b, r, 0, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "one", 3);
	backend_close(fx->b, r);

	errno = 0;
	assert_int_equal(backend_remove(fx->b, "v/pack/ab/k1"), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(backend_remove(fx->b, "never/was"), -1);
	assert_int_equal(errno, ENOENT);
	/* The key can be stored again. */
	assert_int_equal(put_str(fx->b, "v/pack/ab/k1", "again"), 0);
	check_str(fx->b, "v/pack/ab/k1", "again");
}

static void
test_directory_is_not_a_key(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(put_str(fx->b, "d/e/x", "x"), 0);
	check_absent(fx->b, "d");
	check_absent(fx->b, "d/e");
	check_absent(fx->b, "d/e/x/y");
	errno = 0;
	assert_int_equal(backend_remove(fx->b, "d/e"), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(backend_remove(fx->b, "d/e/x/y"), -1);
	assert_int_equal(errno, ENOENT);
	check_str(fx->b, "d/e/x", "x");
}

static void
test_list_prefix(void **state)
{
	struct fixture *fx = *state;
	static const char *keys[] = {"v1/pack/ab/k1", "v1/pack/ab/k2", "v1/pack/cd/k3",
	    "v1/index/ab/k4", "v2/pack/ab/k5", "v10/x", "top"};
	static const struct {
		const char *prefix;
		int n;
	} cases[] = {{"", 7}, {"v1/", 4}, {"v1", 5}, {"v1/pack/", 3}, {"v1/pack/a", 2},
	    {"v1/pack/ab/k1", 1}, {"v1/pack/ab/k1x", 0}, {"v3/", 0}, {"nothing/here/", 0},
	    {"t", 1}, {"top/", 0}, {"v1/pack/ab/k1/", 0}};
	struct listing l = {0};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(put_bytes(fx->b, keys[i], "0123456789", i + 1, 3), 0);
	assert_int_equal(backend_list(fx->b, "", collect, &l), 0);
	assert_int_equal(l.n, 7);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(listed(&l, keys[i]), (int64_t)i + 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&l, 0, sizeof(l));
		assert_int_equal(backend_list(fx->b, cases[i].prefix, collect, &l), 0);
		if (l.n != cases[i].n)
			fail_msg("prefix \"%s\": %d keys, want %d", cases[i].prefix, l.n,
			    cases[i].n);
		for (int j = 0; j < l.n; j++)
			assert_memory_equal(l.keys[j], cases[i].prefix,
			    strlen(cases[i].prefix));
	}
	/* A non-zero callback value stops the walk and comes back. */
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	assert_int_equal(backend_list(fx->b, "v1/", collect, &l), 7);
	assert_int_equal(l.n, 2);
}

static void
test_invalid_keys(void **state)
{
	struct fixture *fx = *state;
	static const char *bad[] = {"../x", "/abs", "a//b", "A", "a/./b", "", "a/",
	    ".", "..", "x/..", "../..", "a b", "a\\b", "k\n", "a/B/c", "\xc3\xa9", NULL};
	char long_key[BACKEND_KEY_MAX + 2];
	struct backend_put *p;
	struct backend_reader *r;
	uint64_t size;

	memset(long_key, 'a', BACKEND_KEY_MAX + 1);
	long_key[BACKEND_KEY_MAX + 1] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *k = bad[i] != NULL ? bad[i] : long_key;
		assert_int_equal(backend_key_valid(k), 0);
		errno = 0;
		assert_int_equal(backend_put_begin(fx->b, k, &p), -1);
		assert_int_equal(errno, EINVAL);
		errno = 0;
		assert_int_equal(backend_open(fx->b, k, &r, &size), -1);
		assert_int_equal(errno, EINVAL);
		errno = 0;
		assert_int_equal(backend_stat(fx->b, k, &size), -1);
		assert_int_equal(errno, EINVAL);
		errno = 0;
		assert_int_equal(backend_remove(fx->b, k), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(backend_key_valid(NULL), 0);
	assert_int_equal(list_count(fx->b, ""), 0);
}

static void
test_valid_keys(void **state)
{
	struct fixture *fx = *state;
	static const char *good[] = {"solo", "a/b", "0-_.z", "...", "..a/a..", ".hidden",
	    "0123456789abcdef/pack/ab/"
	    "ab00000000000000000000000000000000000000000000000000000000000000"};
	char long_key[BACKEND_KEY_MAX + 1];
	int s3rver = strcmp(fx->f->name, "s3") == 0, stored = 9;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(backend_key_valid(good[i]), 1);
		assert_int_equal(put_str(fx->b, good[i], good[i]), 0);
		check_str(fx->b, good[i], good[i]);
	}
	/* The longest key, as one component and as several. s3rver stores an
	 * object as a file named after the key's last component plus a suffix,
	 * which a 255-byte component overflows (ENAMETOOLONG kills it); S3
	 * itself takes such keys, so only the test server is spared it. */
	memset(long_key, 'k', BACKEND_KEY_MAX);
	long_key[BACKEND_KEY_MAX] = '\0';
	assert_int_equal(backend_key_valid(long_key), 1);
	if (s3rver) {
		stored--;
	} else {
		assert_int_equal(put_str(fx->b, long_key, "long"), 0);
		check_str(fx->b, long_key, "long");
	}
	for (size_t i = 1; i < BACKEND_KEY_MAX; i += 2)
		long_key[i] = '/';
	assert_int_equal(backend_key_valid(long_key), 1);
	assert_int_equal(put_str(fx->b, long_key, "deep"), 0);
	check_str(fx->b, long_key, "deep");
	assert_int_equal(list_count(fx->b, ""), stored);
}

static void
test_space(void **state)
{
	struct fixture *fx = *state;
	uint64_t avail = 0;

	assert_int_equal(backend_space(fx->b, &avail), 0);
	assert_true(avail > 0);
}

struct worker {
	struct backend *b;
	int id;
	int failures;
	pthread_t thread;
};

/* Keys share directories across threads so they race to create them. */
static void
worker_key(char *buf, size_t size, int t, int j)
{
	snprintf(buf, size, "c/d%d/t%d-%d", j % 8, t, j);
}

static size_t
worker_len(int j)
{
	return 1000 + 37 * (size_t)j;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned char buf[1000 + 37 * PER_THREAD];
	char key[64];

	for (int j = 0; j < PER_THREAD; j++) {
		worker_key(key, sizeof(key), w->id, j);
		pattern(buf, worker_len(j), (uint32_t)(w->id * 1000 + j));
		if (put_bytes(w->b, key, buf, worker_len(j), 256) != 0)
			w->failures++;
	}
	return NULL;
}

static void
test_concurrent_puts(void **state)
{
	struct fixture *fx = *state;
	struct worker w[NTHREADS];
	unsigned char buf[1000 + 37 * PER_THREAD];
	char key[64];

	for (int t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){fx->b, t, 0, 0};
		assert_int_equal(pthread_create(&w[t].thread, NULL, worker_run, &w[t]), 0);
	}
	for (int t = 0; t < NTHREADS; t++) {
		assert_int_equal(pthread_join(w[t].thread, NULL), 0);
		assert_int_equal(w[t].failures, 0);
	}
	for (int t = 0; t < NTHREADS; t++)
		for (int j = 0; j < PER_THREAD; j++) {
			worker_key(key, sizeof(key), t, j);
			pattern(buf, worker_len(j), (uint32_t)(t * 1000 + j));
			check_object(fx->b, key, buf, worker_len(j));
		}
	assert_int_equal(list_count(fx->b, "c/"), NTHREADS * PER_THREAD);
}

/* Several threads read one reader at once, each its own part. */
struct reader_job {
	struct backend *b;
	struct backend_reader *r;
	const unsigned char *want;
	uint64_t off, len;
	int failures;
	pthread_t thread;
};

static void *
reader_run(void *arg)
{
	struct reader_job *j = arg;
	unsigned char buf[777];

	for (int round = 0; round < 8; round++)
		for (uint64_t off = j->off; off < j->off + j->len; off += sizeof(buf)) {
			uint64_t want = j->off + j->len - off;
			if (want > sizeof(buf))
				want = sizeof(buf);
			ssize_t n = backend_read(j->b, j->r, off, buf, (size_t)want);
			if (n != (ssize_t)want || memcmp(buf, j->want + off, want) != 0)
				j->failures++;
		}
	return NULL;
}

static void
test_concurrent_reads(void **state)
{
	struct fixture *fx = *state;
	unsigned char *big = malloc(BIG_SIZE);
	struct reader_job j[NTHREADS];
	struct backend_reader *r;
	uint64_t size, part = BIG_SIZE / NTHREADS;

	assert_non_null(big);
	pattern(big, BIG_SIZE, 3);
	assert_int_equal(put_bytes(fx->b, "big", big, BIG_SIZE, MIB), 0);
	assert_int_equal(backend_open(fx->b, "big", &r, &size), 0);
	for (int t = 0; t < NTHREADS; t++) {
		uint64_t len = t == NTHREADS - 1 ? BIG_SIZE - t * part : part;
		j[t] = (struct reader_job){fx->b, r, big, t * part, len, 0, 0};
		assert_int_equal(pthread_create(&j[t].thread, NULL, reader_run, &j[t]), 0);
	}
	for (int t = 0; t < NTHREADS; t++) {
		assert_int_equal(pthread_join(j[t].thread, NULL), 0);
		assert_int_equal(j[t].failures, 0);
	}
	backend_close(fx->b, r);
	free(big);
}

/* --- file-system backend only --- */

/* Counts the entries of dir/sub, "." and ".." aside. */
static int
count_entries(const char *dir, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, sub) < (int)sizeof(path));
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
test_fs_stale_temps_removed(void **state)
{
	struct fixture *fx = *state;
	char tmpdir[PATH_MAX];

	assert_int_equal(put_str(fx->b, "v/kept", "kept"), 0);
	backend_free(fx->b);
	fx->b = NULL;
	/* What a crash mid-upload leaves behind. */
	assert_true(snprintf(tmpdir, sizeof(tmpdir), "%s/.tmp", fx->root) <
	    (int)sizeof(tmpdir));
	write_file(tmpdir, "put-1234-0", "half an upload");
	write_file(tmpdir, "put-1234-1", "");
	write_file(tmpdir, "other", "x");
	assert_int_equal(count_entries(fx->root, ".tmp"), 3);

	assert_non_null(fx->b = backend_fs_open(fx->root));
	assert_int_equal(count_entries(fx->root, ".tmp"), 0);
	check_str(fx->b, "v/kept", "kept");
	assert_int_equal(list_count(fx->b, ""), 1);
}

static void
test_fs_survives_reopen(void **state)
{
	struct fixture *fx = *state;
	unsigned char data[5000];

	pattern(data, sizeof(data), 4);
	assert_int_equal(put_bytes(fx->b, "v/pack/ab/k", data, sizeof(data), 1000), 0);
	backend_free(fx->b);
	fx->b = NULL;
	assert_non_null(fx->b = backend_fs_open(fx->root));
	check_object(fx->b, "v/pack/ab/k", data, sizeof(data));
	assert_int_equal(list_count(fx->b, ""), 1);
}

static void
test_fs_no_temp_left(void **state)
{
	struct fixture *fx = *state;
	struct backend_put *p;

	assert_int_equal(backend_put_begin(fx->b, "v/k", &p), 0);
	assert_int_equal(backend_put_write(fx->b, p, "abc", 3), 0);
	assert_int_equal(count_entries(fx->root, ".tmp"), 1);
	assert_int_equal(backend_put_commit(fx->b, p), 0);
	assert_int_equal(count_entries(fx->root, ".tmp"), 0);

	assert_int_equal(backend_put_begin(fx->b, "v/k2", &p), 0);
	assert_int_equal(backend_put_write(fx->b, p, "abc", 3), 0);
	assert_int_equal(count_entries(fx->root, ".tmp"), 1);
	backend_put_abort(fx->b, p);
	assert_int_equal(count_entries(fx->root, ".tmp"), 0);

	/* A commit that fails (a file stands where a directory must go). */
	assert_int_equal(backend_put_begin(fx->b, "v/k/sub", &p), 0);
	assert_int_equal(backend_put_write(fx->b, p, "abc", 3), 0);
	errno = 0;
	assert_int_equal(backend_put_commit(fx->b, p), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(count_entries(fx->root, ".tmp"), 0);
	check_absent(fx->b, "v/k/sub");
	check_str(fx->b, "v/k", "abc");
}

static void
test_fs_tmp_is_not_a_key(void **state)
{
	struct fixture *fx = *state;
	struct backend_put *p, *q;
	uint64_t size;

	errno = 0;
	assert_int_equal(backend_put_begin(fx->b, ".tmp/x", &p), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(backend_stat(fx->b, ".tmp", &size), -1);
	assert_int_equal(errno, EINVAL);
	/* Names that only start like it are fine. */
	assert_int_equal(put_str(fx->b, ".tmpx/y", "y"), 0);
	assert_int_equal(put_str(fx->b, ".tm", "z"), 0);
	/* Uploads in progress never show up in a listing. */
	assert_int_equal(backend_put_begin(fx->b, "v/k", &q), 0);
	assert_int_equal(backend_put_write(fx->b, q, "abc", 3), 0);
	assert_int_equal(list_count(fx->b, ""), 2);
	assert_int_equal(list_count(fx->b, ".t"), 2);
	assert_int_equal(list_count(fx->b, ".tmp/"), 0);
	backend_put_abort(fx->b, q);
}

/* Stores a file the backend did not make, as an operator might. */
static void
test_fs_list_skips_foreign(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX];

	assert_int_equal(put_str(fx->b, "v/ok", "ok"), 0);
	assert_true(snprintf(dir, sizeof(dir), "%s/v", fx->root) < (int)sizeof(dir));
	write_file(dir, "Not-A-Key", "x");
	write_file(fx->root, "lost+found", "x");
	assert_int_equal(list_count(fx->b, ""), 1);
	assert_int_equal(list_count(fx->b, "v/"), 1);
}

/*
 * A failing write must come back with errno, poison the upload so commit
 * refuses, and leave nothing behind. RLIMIT_FSIZE makes write() fail with
 * EFBIG: the same path an ENOSPC takes, without filling a real disk.
 */
static void
test_fs_write_error(void **state)
{
	struct fixture *fx = *state;
	static unsigned char buf[64 * 1024];
	struct rlimit old, lim;
	struct backend_put *p;
	int rc1, rc2, rc3, e1, e3;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 16 * 1024;
	assert_true(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
	assert_int_equal(backend_put_begin(fx->b, "v/big", &p), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc1 = backend_put_write(fx->b, p, buf, sizeof(buf));
	e1 = errno;
	rc2 = backend_put_write(fx->b, p, buf, 1);
	errno = 0;
	rc3 = backend_put_commit(fx->b, p);
	e3 = errno;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_true(signal(SIGXFSZ, SIG_DFL) != SIG_ERR);

	assert_int_equal(rc1, -1);
	assert_int_equal(e1, EFBIG);
	assert_int_equal(rc2, -1);
	assert_int_equal(rc3, -1);
	assert_int_equal(e3, EFBIG);
	assert_int_equal(count_entries(fx->root, ".tmp"), 0);
	check_absent(fx->b, "v/big");
	/* The backend still works once the limit is lifted. */
	assert_int_equal(put_bytes(fx->b, "v/big", buf, sizeof(buf), 4096), 0);
	check_object(fx->b, "v/big", buf, sizeof(buf));
}

static void
test_fs_open_fails(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX];

	/* A root below a regular file cannot be made. */
	write_file(fx->dir, "file", "x");
	assert_true(snprintf(path, sizeof(path), "%s/file/objects", fx->dir) <
	    (int)sizeof(path));
	errno = 0;
	assert_null(backend_fs_open(path));
	assert_int_equal(errno, ENOTDIR);
	assert_true(snprintf(path, sizeof(path), "%s/file", fx->dir) < (int)sizeof(path));
	errno = 0;
	assert_null(backend_fs_open(path));
	assert_int_equal(errno, ENOTDIR);
	backend_free(NULL);
}

/* --- archive backend only --- */

static void
write_bytes(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static uint8_t *
read_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(65536);
	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 65536, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
cart_path(char *buf, size_t size, const char *root, uint32_t num, const char *ext)
{
	assert_true(snprintf(buf, size, "%s/cart-%08u.%s", root, (unsigned)num, ext) <
	    (int)size);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
append_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "ab");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_archive_survives_reopen(void **state)
{
	struct fixture *fx = *state;
	unsigned char data[70000];

	pattern(data, sizeof(data), 5);
	assert_int_equal(put_bytes(fx->b, "v/pack/ab/k", data, sizeof(data), 1000), 0);
	assert_int_equal(put_str(fx->b, "v/gone", "gone"), 0);
	assert_int_equal(put_str(fx->b, "v/over", "first"), 0);
	assert_int_equal(put_str(fx->b, "v/over", "second"), 0);
	assert_int_equal(backend_remove(fx->b, "v/gone"), 0);
	backend_free(fx->b);
	assert_non_null(fx->b = backend_archive_open(fx->root, TEST_CART_SIZE));
	check_object(fx->b, "v/pack/ab/k", data, sizeof(data));
	check_str(fx->b, "v/over", "second");
	check_absent(fx->b, "v/gone");
	assert_int_equal(list_count(fx->b, ""), 2);
}

/*
 * A crash in the middle of an append leaves data past the last record in
 * the segment and maybe half a record in the log: neither may show, and
 * the next object must land where the torn one began.
 */
static void
test_archive_torn_tail(void **state)
{
	struct fixture *fx = *state;
	char seg[PATH_MAX], idx[PATH_MAX];
	static const unsigned char junk[300] = {1, 2, 3};
	off_t seg_size, idx_size;

	assert_int_equal(put_str(fx->b, "v/a", "alpha"), 0);
	backend_free(fx->b);
	fx->b = NULL;
	cart_path(seg, sizeof(seg), fx->root, 1, "seg");
	cart_path(idx, sizeof(idx), fx->root, 1, "idx");
	seg_size = file_size(seg);
	idx_size = file_size(idx);
	assert_int_equal(seg_size, 5);
	append_file(seg, junk, sizeof(junk));
	append_file(idx, "\x01\x03\x05\x00\x00\x00\x00\x00\x00\x00\x2c\x01", 12);

	assert_non_null(fx->b = backend_archive_open(fx->root, TEST_CART_SIZE));
	assert_int_equal(file_size(seg), seg_size);
	assert_int_equal(file_size(idx), idx_size);
	check_str(fx->b, "v/a", "alpha");
	assert_int_equal(list_count(fx->b, ""), 1);
	assert_int_equal(put_str(fx->b, "v/b", "beta"), 0);
	assert_int_equal(file_size(seg), seg_size + 4);
	check_str(fx->b, "v/b", "beta");

	/* A record whose check fails is a torn tail too, and what follows it. */
	backend_free(fx->b);
	fx->b = NULL;
	idx_size = file_size(idx);
	{
		unsigned char rec[18 + 3 + 16] = {0x01, 3};
		memcpy(rec + 18, "v/c", 3);
		append_file(idx, rec, sizeof(rec));
	}
	assert_non_null(fx->b = backend_archive_open(fx->root, TEST_CART_SIZE));
	assert_int_equal(file_size(idx), idx_size);
	check_absent(fx->b, "v/c");
	assert_int_equal(list_count(fx->b, ""), 2);
}

/* Uploads spooled when the process died are dropped; a segment whose log
 * is gone (a reclaim cut short) is deleted. */
static void
test_archive_leftovers(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX];

	assert_int_equal(put_str(fx->b, "v/a", "alpha"), 0);
	backend_free(fx->b);
	fx->b = NULL;
	assert_true(snprintf(path, sizeof(path), "%s/.spool", fx->root) < (int)sizeof(path));
	write_file(path, "put-1-1", "half");
	cart_path(path, sizeof(path), fx->root, 7, "seg");
	append_file(path, "orphan", 6);
	assert_non_null(fx->b = backend_archive_open(fx->root, TEST_CART_SIZE));
	assert_int_equal(count_entries(fx->root, ".spool"), 0);
	errno = 0;
	assert_int_equal(stat(path, &(struct stat){0}), -1);
	assert_int_equal(errno, ENOENT);
	check_str(fx->b, "v/a", "alpha");
}

/* Fills several cartridges, kills most objects of the first, reclaims it:
 * every live object keeps its bytes, across a reopen too, and the old
 * cartridge's files are gone. */
static void
test_archive_reclaim(void **state)
{
	struct fixture *fx = *state;
	struct archive_cartridge carts[16];
	unsigned char data[40000];
	uint64_t objects, bytes;
	char key[32], path[PATH_MAX];
	size_t n;

	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "v/k%02d", i);
		pattern(data, sizeof(data), (uint32_t)i);
		assert_int_equal(put_bytes(fx->b, key, data, sizeof(data), 8192), 0);
	}
	assert_int_equal(backend_archive_cartridges(fx->b, carts, 16, &n), 0);
	assert_true(n >= 3);
	assert_int_equal(carts[0].number, 1);
	assert_int_equal(carts[0].live_objects, 6); /* 6 x 40000 fit in 256 KiB */
	for (int i = 0; i < 6; i += 2) {
		snprintf(key, sizeof(key), "v/k%02d", i);
		assert_int_equal(backend_remove(fx->b, key), 0);
	}
	assert_int_equal(backend_archive_cartridges(fx->b, carts, 16, &n), 0);
	assert_int_equal(carts[0].live_objects, 3);
	assert_int_equal(carts[0].live_bytes, 3 * sizeof(data));
	errno = 0;
	assert_int_equal(backend_archive_reclaim(fx->b, carts[n - 1].number, &objects, &bytes), -1);
	assert_int_equal(errno, EBUSY);
	errno = 0;
	assert_int_equal(backend_archive_reclaim(fx->b, 999, &objects, &bytes), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(backend_archive_reclaim(fx->b, 1, &objects, &bytes), 0);
	assert_int_equal(objects, 3);
	assert_int_equal(bytes, 3 * sizeof(data));
	cart_path(path, sizeof(path), fx->root, 1, "seg");
	assert_int_equal(stat(path, &(struct stat){0}), -1);
	cart_path(path, sizeof(path), fx->root, 1, "idx");
	assert_int_equal(stat(path, &(struct stat){0}), -1);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 20; i++) {
			snprintf(key, sizeof(key), "v/k%02d", i);
			if (i < 6 && i % 2 == 0) {
				check_absent(fx->b, key);
				continue;
			}
			pattern(data, sizeof(data), (uint32_t)i);
			check_object(fx->b, key, data, sizeof(data));
		}
		assert_int_equal(list_count(fx->b, ""), 17);
		backend_free(fx->b);
		assert_non_null(fx->b = backend_archive_open(fx->root, TEST_CART_SIZE));
	}
	errno = 0;
	assert_int_equal(backend_archive_reclaim(NULL, 1, &objects, &bytes), -1);
	assert_int_equal(errno, EINVAL);
}

/* A crash after a reclaim copied objects but before it deleted the old
 * cartridge: the later copies win, nothing is doubled or lost. */
static void
test_archive_reclaim_interrupted(void **state)
{
	struct fixture *fx = *state;
	char seg1[PATH_MAX], saved_seg[PATH_MAX], idx1[PATH_MAX], saved_idx[PATH_MAX];
	unsigned char data[100000];
	uint64_t objects, bytes;

	pattern(data, sizeof(data), 9);
	assert_int_equal(put_bytes(fx->b, "v/a", data, sizeof(data), 4096), 0);
	assert_int_equal(put_bytes(fx->b, "v/b", data, sizeof(data), 4096), 0);
	assert_int_equal(put_bytes(fx->b, "v/c", data, sizeof(data), 4096), 0); /* cart 2 */
	cart_path(seg1, sizeof(seg1), fx->root, 1, "seg");
	cart_path(idx1, sizeof(idx1), fx->root, 1, "idx");
	assert_true(snprintf(saved_seg, sizeof(saved_seg), "%s/saved.seg", fx->dir) <
	    (int)sizeof(saved_seg));
	assert_true(snprintf(saved_idx, sizeof(saved_idx), "%s/saved.idx", fx->dir) <
	    (int)sizeof(saved_idx));
	assert_int_equal(link(seg1, saved_seg), 0);
	assert_int_equal(link(idx1, saved_idx), 0);
	assert_int_equal(backend_archive_reclaim(fx->b, 1, &objects, &bytes), 0);
	assert_int_equal(objects, 2);
	backend_free(fx->b);
	fx->b = NULL;
	/* Put cartridge 1 back, as if the unlinks had never happened. */
	assert_int_equal(rename(saved_seg, seg1), 0);
	assert_int_equal(rename(saved_idx, idx1), 0);
	assert_non_null(fx->b = backend_archive_open(fx->root, TEST_CART_SIZE));
	check_object(fx->b, "v/a", data, sizeof(data));
	check_object(fx->b, "v/b", data, sizeof(data));
	check_object(fx->b, "v/c", data, sizeof(data));
	assert_int_equal(list_count(fx->b, ""), 3);
	{
		struct archive_cartridge carts[8];
		size_t n;
		assert_int_equal(backend_archive_cartridges(fx->b, carts, 8, &n), 0);
		assert_int_equal(carts[0].number, 1);
		assert_int_equal(carts[0].live_objects, 0);
	}
	/* Reclaiming it again now copies nothing and deletes it. */
	assert_int_equal(backend_archive_reclaim(fx->b, 1, &objects, &bytes), 0);
	assert_int_equal(objects, 0);
	assert_int_equal(list_count(fx->b, ""), 3);
}

/* The log format of spec/tiering.md, as an independent implementation
 * wrote it (spec/vectors/archive.json). */
static void
test_archive_vectors(void **state)
{
	struct fixture *fx = *state;
	json_t *doc = vectors_load("archive.json", 0);
	json_t *objs = json_object_get(doc, "objects");
	char path[PATH_MAX];
	size_t i, len;
	json_t *o;
	uint8_t *bytes;

	backend_free(fx->b);
	fx->b = NULL;
	assert_int_equal(mkdir(fx->root, 0700) == 0 || errno == EEXIST, 1);
	cart_path(path, sizeof(path), fx->root, 1, "idx");
	bytes = vectors_hex(vectors_str(doc, "idx_hex"), &len);
	write_bytes(path, bytes, len);
	free(bytes);
	cart_path(path, sizeof(path), fx->root, 1, "seg");
	bytes = vectors_hex(vectors_str(doc, "seg_hex"), &len);
	write_bytes(path, bytes, len);
	free(bytes);
	assert_non_null(fx->b = backend_archive_open(fx->root, TEST_CART_SIZE));
	json_array_foreach(objs, i, o) {
		json_t *d = json_object_get(o, "data");
		if (json_is_null(d))
			check_absent(fx->b, vectors_str(o, "key"));
		else
			check_str(fx->b, vectors_str(o, "key"), json_string_value(d));
	}
	assert_int_equal(list_count(fx->b, ""), (int)vectors_int(doc, "live"));
	/* And what this implementation writes is byte for byte the same. */
	backend_free(fx->b);
	fx->b = NULL;
	assert_int_equal(nftw(fx->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	assert_non_null(fx->b = backend_archive_open(fx->root, TEST_CART_SIZE));
	json_array_foreach(json_object_get(doc, "ops"), i, o) {
		const char *op = vectors_str(o, "op");
		if (strcmp(op, "put") == 0)
			assert_int_equal(put_str(fx->b, vectors_str(o, "key"),
			    vectors_str(o, "data")), 0);
		else
			assert_int_equal(backend_remove(fx->b, vectors_str(o, "key")), 0);
	}
	cart_path(path, sizeof(path), fx->root, 1, "idx");
	bytes = read_bytes(path, &len);
	{
		size_t wlen;
		uint8_t *want = vectors_hex(vectors_str(doc, "idx_hex"), &wlen);
		assert_int_equal(len, wlen);
		assert_memory_equal(bytes, want, len);
		free(want);
	}
	free(bytes);
	json_decref(doc);
}

#define T(name, factory) \
	cmocka_unit_test_prestate_setup_teardown(name, setup, teardown, (void *)(factory))
#define CONFORMANCE(f) \
	T(test_roundtrip_sizes, f), T(test_read_offsets, f), \
	T(test_invisible_before_commit, f), T(test_abort_leaves_nothing, f), \
	T(test_overwrite, f), T(test_remove, f), T(test_directory_is_not_a_key, f), \
	T(test_list_prefix, f), T(test_invalid_keys, f), T(test_valid_keys, f), \
	T(test_space, f), T(test_concurrent_puts, f), T(test_concurrent_reads, f)

int
main(void)
{
	const struct CMUnitTest fs_tests[] = {
		CONFORMANCE(&fs_factory),
		T(test_fs_stale_temps_removed, &fs_factory),
		T(test_fs_survives_reopen, &fs_factory),
		T(test_fs_no_temp_left, &fs_factory),
		T(test_fs_tmp_is_not_a_key, &fs_factory),
		T(test_fs_list_skips_foreign, &fs_factory),
		T(test_fs_write_error, &fs_factory),
		T(test_fs_open_fails, &fs_factory),
	};
	const struct CMUnitTest mem_tests[] = {
		CONFORMANCE(&mem_factory),
	};
	const struct CMUnitTest s3_tests[] = {
		CONFORMANCE(&s3_factory),
	};
	const struct CMUnitTest archive_tests[] = {
		CONFORMANCE(&archive_factory),
		T(test_archive_survives_reopen, &archive_factory),
		T(test_archive_torn_tail, &archive_factory),
		T(test_archive_leftovers, &archive_factory),
		T(test_archive_reclaim, &archive_factory),
		T(test_archive_reclaim_interrupted, &archive_factory),
		T(test_archive_vectors, &archive_factory),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("backend_fs", fs_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("backend_mem", mem_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("backend_archive", archive_tests, NULL, NULL);
	if (getenv("VAULT_TEST_S3") != NULL)
		failed += cmocka_run_group_tests_name("backend_s3", s3_tests, NULL, NULL);
	else
		printf("backend_s3: run by tests/integration/test_backend_s3.sh (needs s3rver)\n");
	return failed != 0;
}
