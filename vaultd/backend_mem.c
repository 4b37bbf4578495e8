/*
 * In-memory backend (backend.h) for tests, after OpenSMTPD's queue_ram.c.
 *
 * Objects are kept in an array sorted by key and guarded by one mutex.
 * Their bytes live in reference-counted blobs: a reader holds a reference,
 * so it keeps reading the old bytes after the key is removed or replaced,
 * as an open file does on a POSIX file system.
 */
#include "backend.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MEM_MIN_ALLOC 64

struct mem_blob {
	atomic_uint refs;
	size_t size;
	unsigned char data[];
};

struct mem_obj {
	char *key;
	struct mem_blob *blob;
};

struct mem_backend {
	struct backend base; /* first, so a struct backend * is one of these */
	pthread_mutex_t lock;
	struct mem_obj *objs; /* sorted by key */
	size_t nobjs;
	size_t cap;
};

struct mem_put {
	struct mem_backend *mem;
	char *key;
	unsigned char *buf;
	size_t len;
	size_t cap;
	int error; /* errno of a failed put_write; commit then refuses */
};

struct mem_reader {
	struct mem_blob *blob;
};

static void
blob_unref(struct mem_blob *blob)
{
	if (blob != NULL && atomic_fetch_sub(&blob->refs, 1) == 1)
		free(blob);
}

/*
 * Finds key in the sorted array. Returns 1 and its index in *at if it is
 * there, else 0 and the index where it would go. Call with the lock held.
 */
static int
mem_find(const struct mem_backend *mem, const char *key, size_t *at)
{
	size_t lo = 0, hi = mem->nobjs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, mem->objs[mid].key);
		if (c == 0) {
			*at = mid;
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*at = lo;
	return 0;
}

static int
mem_put_begin(struct backend *b, const char *key, struct backend_put **out)
{
	struct mem_put *p;

	if (!backend_key_valid(key)) {
		errno = EINVAL;
		goto err0;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto err0;
	p->mem = (struct mem_backend *)b;
	if ((p->key = strdup(key)) == NULL)
		goto err1;
	*out = (struct backend_put *)p;
	return 0;

err1:
	free(p);
err0:
	return -1;
}

static int
mem_put_write(struct backend_put *bp, const void *buf, size_t len)
{
	struct mem_put *p = (struct mem_put *)bp;

	if (p->error != 0) {
		errno = p->error;
		return -1;
	}
	if (p->cap - p->len < len) {
		size_t cap = p->cap > MEM_MIN_ALLOC / 2 ? p->cap : MEM_MIN_ALLOC / 2;
		unsigned char *nb;
		if (SIZE_MAX - p->len < len) {
			p->error = ENOMEM;
			errno = ENOMEM;
			return -1;
		}
		/* Double, or take exactly what is needed if that is more. */
		cap = cap <= SIZE_MAX / 2 ? 2 * cap : SIZE_MAX;
		if (cap < p->len + len)
			cap = p->len + len;
		if ((nb = realloc(p->buf, cap)) == NULL) {
			p->error = ENOMEM;
			errno = ENOMEM;
			return -1;
		}
		p->buf = nb;
		p->cap = cap;
	}
	if (len > 0)
		memcpy(p->buf + p->len, buf, len);
	p->len += len;
	return 0;
}

static void
mem_put_abort(struct backend_put *bp)
{
	struct mem_put *p = (struct mem_put *)bp;

	if (p == NULL)
		return;
	free(p->buf);
	free(p->key);
	free(p);
}

/* Puts (key, blob) into the array, replacing any object under key. Takes
 * over key and blob on success. Call with the lock held. */
static int
mem_insert(struct mem_backend *mem, char *key, struct mem_blob *blob)
{
	size_t at;

	if (mem_find(mem, key, &at)) {
		blob_unref(mem->objs[at].blob);
		free(mem->objs[at].key);
		mem->objs[at].key = key;
		mem->objs[at].blob = blob;
		return 0;
	}
	if (mem->nobjs == mem->cap) {
		size_t cap = mem->cap != 0 ? 2 * mem->cap : 16;
		struct mem_obj *no;
		if (cap > SIZE_MAX / sizeof(*no) ||
		    (no = realloc(mem->objs, cap * sizeof(*no))) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		mem->objs = no;
		mem->cap = cap;
	}
	memmove(&mem->objs[at + 1], &mem->objs[at],
	    (mem->nobjs - at) * sizeof(mem->objs[0]));
	mem->objs[at].key = key;
	mem->objs[at].blob = blob;
	mem->nobjs++;
	return 0;
}

static int
mem_put_commit(struct backend_put *bp)
{
	struct mem_put *p = (struct mem_put *)bp;
	struct mem_backend *mem = p->mem;
	struct mem_blob *blob;
	int rc;

	if (p->error != 0) {
		errno = p->error;
		goto err0;
	}
	if (p->len > SIZE_MAX - sizeof(*blob) ||
	    (blob = malloc(sizeof(*blob) + p->len)) == NULL) {
		errno = ENOMEM;
		goto err0;
	}
	atomic_init(&blob->refs, 1);
	blob->size = p->len;
	if (p->len > 0)
		memcpy(blob->data, p->buf, p->len);

	pthread_mutex_lock(&mem->lock);
	rc = mem_insert(mem, p->key, blob);
	pthread_mutex_unlock(&mem->lock);
	if (rc != 0)
		goto err1;
	p->key = NULL; /* now the array's */
	mem_put_abort(bp);
	return 0;

err1:
	free(blob);
err0:
	mem_put_abort(bp);
	return -1;
}

static int
mem_open(struct backend *b, const char *key, struct backend_reader **out,
    uint64_t *size)
{
	struct mem_backend *mem = (struct mem_backend *)b;
	struct mem_reader *r;
	size_t at;

	if (!backend_key_valid(key)) {
		errno = EINVAL;
		goto err0;
	}
	if ((r = malloc(sizeof(*r))) == NULL)
		goto err0;
	pthread_mutex_lock(&mem->lock);
	if (!mem_find(mem, key, &at)) {
		pthread_mutex_unlock(&mem->lock);
		errno = ENOENT;
		goto err1;
	}
	r->blob = mem->objs[at].blob;
	atomic_fetch_add(&r->blob->refs, 1);
	pthread_mutex_unlock(&mem->lock);
	*size = r->blob->size;
	*out = (struct backend_reader *)r;
	return 0;

err1:
	free(r);
err0:
	return -1;
}

static ssize_t
mem_read(struct backend_reader *br, uint64_t off, void *buf, size_t len)
{
	struct mem_reader *r = (struct mem_reader *)br;
	size_t size = r->blob->size;

	if (off >= size)
		return 0;
	if (len > size - (size_t)off)
		len = size - (size_t)off;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	memcpy(buf, r->blob->data + off, len);
	return (ssize_t)len;
}

static void
mem_close(struct backend_reader *br)
{
	struct mem_reader *r = (struct mem_reader *)br;

	if (r == NULL)
		return;
	blob_unref(r->blob);
	free(r);
}

static int
mem_stat(struct backend *b, const char *key, uint64_t *size)
{
	struct mem_backend *mem = (struct mem_backend *)b;
	size_t at;
	int found;

	if (!backend_key_valid(key)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&mem->lock);
	if ((found = mem_find(mem, key, &at)))
		*size = mem->objs[at].blob->size;
	pthread_mutex_unlock(&mem->lock);
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

static int
mem_remove(struct backend *b, const char *key)
{
	struct mem_backend *mem = (struct mem_backend *)b;
	struct mem_obj gone;
	size_t at;

	if (!backend_key_valid(key)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&mem->lock);
	if (!mem_find(mem, key, &at)) {
		pthread_mutex_unlock(&mem->lock);
		errno = ENOENT;
		return -1;
	}
	gone = mem->objs[at];
	memmove(&mem->objs[at], &mem->objs[at + 1],
	    (mem->nobjs - at - 1) * sizeof(mem->objs[0]));
	mem->nobjs--;
	pthread_mutex_unlock(&mem->lock);
	free(gone.key);
	blob_unref(gone.blob);
	return 0;
}

/* One entry of a list snapshot; the key is a copy. */
struct mem_entry {
	char *key;
	uint64_t size;
};

static void
entries_free(struct mem_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].key);
	free(e);
}

/*
 * Copies the keys starting with prefix, so that the callback runs without
 * the lock and may call back into the backend. Call with the lock held.
 */
static int
mem_snapshot(struct mem_backend *mem, const char *prefix, struct mem_entry **out,
    size_t *n)
{
	size_t plen = strlen(prefix), at, end, i;
	struct mem_entry *e;

	/* Sorted order puts every key with this prefix in one run. */
	mem_find(mem, prefix, &at);
	for (end = at; end < mem->nobjs; end++)
		if (strncmp(mem->objs[end].key, prefix, plen) != 0)
			break;
	if ((e = calloc(end - at + 1, sizeof(*e))) == NULL)
		return -1;
	for (i = 0; i < end - at; i++) {
		if ((e[i].key = strdup(mem->objs[at + i].key)) == NULL) {
			entries_free(e, i);
			return -1;
		}
		e[i].size = mem->objs[at + i].blob->size;
	}
	*out = e;
	*n = i;
	return 0;
}

static int
mem_list(struct backend *b, const char *prefix,
    int (*cb)(const char *key, uint64_t size, void *arg), void *arg)
{
	struct mem_backend *mem = (struct mem_backend *)b;
	struct mem_entry *e;
	size_t n;
	int rc = 0;

	pthread_mutex_lock(&mem->lock);
	rc = mem_snapshot(mem, prefix, &e, &n);
	pthread_mutex_unlock(&mem->lock);
	if (rc != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = cb(e[i].key, e[i].size, arg);
	entries_free(e, n);
	return rc;
}

static int
mem_space(struct backend *b, uint64_t *avail)
{
	(void)b;
	*avail = UINT64_MAX;
	return 0;
}

static void
mem_free(struct backend *b)
{
	struct mem_backend *mem = (struct mem_backend *)b;

	if (mem == NULL)
		return;
	for (size_t i = 0; i < mem->nobjs; i++) {
		free(mem->objs[i].key);
		blob_unref(mem->objs[i].blob);
	}
	free(mem->objs);
	pthread_mutex_destroy(&mem->lock);
	free(mem);
}

static const struct backend_ops mem_ops = {
	.name = "mem",
	.put_begin = mem_put_begin,
	.put_write = mem_put_write,
	.put_commit = mem_put_commit,
	.put_abort = mem_put_abort,
	.open = mem_open,
	.read = mem_read,
	.close = mem_close,
	.stat = mem_stat,
	.remove = mem_remove,
	.list = mem_list,
	.space = mem_space,
	.free = mem_free,
};

struct backend *
backend_mem_open(void)
{
	struct mem_backend *mem;

	if ((mem = calloc(1, sizeof(*mem))) == NULL)
		goto err0;
	mem->base.ops = &mem_ops;
	if ((errno = pthread_mutex_init(&mem->lock, NULL)) != 0)
		goto err1;
	return &mem->base;

err1:
	free(mem);
err0:
	return NULL;
}
