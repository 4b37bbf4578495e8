/*
 * Archive backend (backend.h, spec/tiering.md "The archive backend"): a tape
 * stand-in. Objects are appended, one after the other, to large segment
 * files ("cartridges") in one directory; nothing is ever rewritten in place.
 *
 *     DIR/cart-NNNNNNNN.seg   the data: objects back to back
 *     DIR/cart-NNNNNNNN.idx   that cartridge's index log (append-only)
 *     DIR/.spool/             uploads in progress (discarded at open)
 *
 * An upload is spooled to a file of its own; put_commit then takes the one
 * writer lock, appends the bytes to the current cartridge, fsyncs it, appends
 * a put record to the cartridge's index log and fsyncs that. A crash at any
 * point leaves either a complete object with its record, or bytes past the
 * last record, which open cuts off. remove appends a dead record to the log
 * of the cartridge that holds the object. Space comes back only by reclaim,
 * which copies a whole cartridge's live objects to the current one and then
 * deletes both of its files.
 *
 * The index lives in memory (a hash table rebuilt from the logs at open);
 * it, the logs and opening are in backend_archive_index.c. This file has
 * the ops and reclaim.
 */
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sodium.h>

#include "backend_archive_internal.h"
#include "log.h"

/* Closes the current cartridge and starts the next one. */
static int
cart_rollover(struct arc_backend *a)
{
	uint32_t num = a->carts[a->ncarts - 1].num;

	if (num == ARC_CART_MAX) {
		errno = ENOSPC;
		return -1;
	}
	if (backend_archive__cart_create(a, num + 1) != 0)
		return -1;
	close(a->cur_seg);
	close(a->cur_idx);
	a->cur_seg = a->cur_idx = -1;
	return backend_archive__cur_open(a);
}

/*
 * Appends len bytes read from src at src_off to the current cartridge (a
 * fresh one if they do not fit and the current one holds anything), then
 * its put record, and maps key to them. Called with a->mu held.
 */
static int
append_object(struct arc_backend *a, const char *key, int src, uint64_t src_off, uint64_t len)
{
	struct arc_cart *c = &a->carts[a->ncarts - 1];
	uint8_t *buf;
	uint64_t done = 0, at;

	if (c->end > 0 && (c->end > a->cart_size || a->cart_size - c->end < len)) {
		if (cart_rollover(a) != 0)
			return -1;
		c = &a->carts[a->ncarts - 1];
	}
	if ((buf = malloc(ARC_COPY_BUF)) == NULL)
		return -1;
	at = c->end;
	while (done < len) {
		size_t n = len - done < ARC_COPY_BUF ? (size_t)(len - done) : ARC_COPY_BUF;
		if (pread_all(src, buf, n, src_off + done) != 0 ||
		    pwrite_all(a->cur_seg, buf, n, at + done) != 0)
			goto fail;
		done += n;
	}
	free(buf);
	buf = NULL;
	if (fsync(a->cur_seg) != 0 ||
	    backend_archive__rec_append(a->cur_idx, &c->idx_end, ARC_REC_PUT, key, at, len) != 0)
		goto fail;
	c->end = at + len;
	if (backend_archive__map_set(a, key, c->num, at, len) != 0) {
		/* The record is durable; only memory ran out. Reopening finds it. */
		return -1;
	}
	return 0;
fail:
	{
		int e = errno;
		free(buf);
		/* Take the tail back so the next object starts where it should. */
		if (ftruncate(a->cur_seg, (off_t)at) != 0)
			log_msg(VLOG_ERROR, "archive: cannot cut a failed append");
		errno = e;
	}
	return -1;
}

/* --- ops --- */

static int
arc_put_begin(struct backend *b, const char *key, struct backend_put **out)
{
	struct arc_backend *a = (struct arc_backend *)b;
	struct arc_put *p;

	if (!key_ok(key) || (p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->a = a;
	memcpy(p->key, key, strlen(key) + 1);
	snprintf(p->spool, sizeof(p->spool), "put-%ld-%llu", (long)getpid(),
	    (unsigned long long)atomic_fetch_add(&a->seq, 1));
	p->fd = openat(a->spoolfd, p->spool, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    ARC_FILE_MODE);
	if (p->fd == -1) {
		free(p);
		return -1;
	}
	*out = (struct backend_put *)p;
	return 0;
}

static int
arc_put_write(struct backend_put *bp, const void *buf, size_t len)
{
	struct arc_put *p = (struct arc_put *)bp;

	if (p->error != 0) {
		errno = p->error;
		return -1;
	}
	if (pwrite_all(p->fd, buf, len, p->len) != 0) {
		p->error = errno;
		return -1;
	}
	p->len += len;
	return 0;
}

static void
arc_put_free(struct arc_put *p)
{
	int saved = errno;

	close(p->fd);
	unlinkat(p->a->spoolfd, p->spool, 0);
	free(p);
	errno = saved;
}

static int
arc_put_commit(struct backend_put *bp)
{
	struct arc_put *p = (struct arc_put *)bp;
	struct arc_backend *a = p->a;
	int rc = -1;

	if (p->error != 0)
		errno = p->error;
	else {
		pthread_mutex_lock(&a->mu);
		rc = append_object(a, p->key, p->fd, 0, p->len);
		pthread_mutex_unlock(&a->mu);
	}
	arc_put_free(p);
	return rc;
}

static void
arc_put_abort(struct backend_put *bp)
{
	if (bp != NULL)
		arc_put_free((struct arc_put *)bp);
}

static int
arc_open(struct backend *b, const char *key, struct backend_reader **out, uint64_t *size)
{
	struct arc_backend *a = (struct arc_backend *)b;
	char name[ARC_NAME_MAX];
	struct arc_reader *r;
	struct arc_entry *e;

	if (!key_ok(key) || (r = malloc(sizeof(*r))) == NULL)
		return -1;
	pthread_mutex_lock(&a->mu);
	if ((e = *backend_archive__map_slot(a, key)) == NULL) {
		pthread_mutex_unlock(&a->mu);
		free(r);
		errno = ENOENT;
		return -1;
	}
	cart_name(name, e->cart, "seg");
	r->base = e->off;
	r->len = e->len;
	/* Opened under the lock so reclaim cannot unlink the file first. */
	r->fd = openat(a->dirfd, name, O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&a->mu);
	if (r->fd == -1) {
		free(r);
		return -1;
	}
	*size = r->len;
	*out = (struct backend_reader *)r;
	return 0;
}

static ssize_t
arc_read(struct backend_reader *br, uint64_t off, void *buf, size_t len)
{
	struct arc_reader *r = (struct arc_reader *)br;
	ssize_t n;

	if (off >= r->len)
		return 0;
	if (len > r->len - off)
		len = (size_t)(r->len - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	do
		n = pread(r->fd, buf, len, (off_t)(r->base + off));
	while (n < 0 && errno == EINTR);
	if (n == 0 && len > 0) {
		errno = EIO; /* the segment is shorter than its index says */
		return -1;
	}
	return n;
}

static void
arc_close(struct backend_reader *br)
{
	struct arc_reader *r = (struct arc_reader *)br;

	if (r == NULL)
		return;
	close(r->fd);
	free(r);
}

static int
arc_stat(struct backend *b, const char *key, uint64_t *size)
{
	struct arc_backend *a = (struct arc_backend *)b;
	struct arc_entry *e;

	if (!key_ok(key))
		return -1;
	pthread_mutex_lock(&a->mu);
	if ((e = *backend_archive__map_slot(a, key)) != NULL)
		*size = e->len;
	pthread_mutex_unlock(&a->mu);
	if (e == NULL) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* Appends a dead record to the log of cartridge c. Called with a->mu held. */
static int
log_dead(struct arc_backend *a, struct arc_cart *c, const struct arc_entry *e)
{
	char name[ARC_NAME_MAX];
	int fd, rc;

	if (c == &a->carts[a->ncarts - 1])
		return backend_archive__rec_append(a->cur_idx, &c->idx_end, ARC_REC_DEAD, e->key, e->off, e->len);
	cart_name(name, c->num, "idx");
	if ((fd = openat(a->dirfd, name, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	rc = backend_archive__rec_append(fd, &c->idx_end, ARC_REC_DEAD, e->key, e->off, e->len);
	close_keep_errno(fd);
	return rc;
}

static int
arc_remove(struct backend *b, const char *key)
{
	struct arc_backend *a = (struct arc_backend *)b;
	struct arc_entry *e;
	struct arc_cart *c;
	int rc = -1;

	if (!key_ok(key))
		return -1;
	pthread_mutex_lock(&a->mu);
	if ((e = *backend_archive__map_slot(a, key)) == NULL)
		errno = ENOENT;
	else if ((c = backend_archive__cart_find(a, e->cart)) == NULL)
		errno = EIO;
	else if (log_dead(a, c, e) == 0) {
		backend_archive__map_kill(a, key, e->cart, e->off);
		rc = 0;
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

struct arc_listed {
	char **keys;
	uint64_t *sizes;
	size_t n;
};

static int
arc_list(struct backend *b, const char *prefix,
    int (*cb)(const char *key, uint64_t size, void *arg), void *arg)
{
	struct arc_backend *a = (struct arc_backend *)b;
	size_t plen = strlen(prefix), n = 0;
	struct arc_listed l = {0};
	int rc = 0;

	/* Copied out under the lock; the callback runs without it, so it may
	 * call the backend. */
	pthread_mutex_lock(&a->mu);
	l.keys = malloc((a->nentries + 1) * sizeof(*l.keys));
	l.sizes = malloc((a->nentries + 1) * sizeof(*l.sizes));
	if (l.keys == NULL || l.sizes == NULL)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < a->nbuckets; i++)
		for (struct arc_entry *e = a->buckets[i]; e != NULL && rc == 0; e = e->next) {
			if (strncmp(e->key, prefix, plen) != 0)
				continue;
			if ((l.keys[l.n] = strdup(e->key)) == NULL)
				rc = -1;
			else
				l.sizes[l.n++] = e->len;
		}
	pthread_mutex_unlock(&a->mu);
	for (n = 0; rc == 0 && n < l.n; n++)
		rc = cb(l.keys[n], l.sizes[n], arg);
	for (size_t i = 0; i < l.n; i++)
		free(l.keys[i]);
	free(l.keys);
	free(l.sizes);
	return rc;
}

static int
arc_space(struct backend *b, uint64_t *avail)
{
	struct arc_backend *a = (struct arc_backend *)b;
	struct statvfs sv;
	uint64_t bsize;

	if (fstatvfs(a->dirfd, &sv) != 0)
		return -1;
	bsize = sv.f_frsize != 0 ? sv.f_frsize : sv.f_bsize;
	if (bsize != 0 && sv.f_bavail > UINT64_MAX / bsize)
		*avail = UINT64_MAX;
	else
		*avail = (uint64_t)sv.f_bavail * bsize;
	return 0;
}

static void
arc_free(struct backend *b)
{
	struct arc_backend *a = (struct arc_backend *)b;

	if (a == NULL)
		return;
	for (size_t i = 0; a->buckets != NULL && i < a->nbuckets; i++)
		while (a->buckets[i] != NULL) {
			struct arc_entry *e = a->buckets[i];
			a->buckets[i] = e->next;
			free(e);
		}
	free(a->buckets);
	free(a->carts);
	if (a->cur_seg >= 0)
		close(a->cur_seg);
	if (a->cur_idx >= 0)
		close(a->cur_idx);
	if (a->spoolfd >= 0)
		close(a->spoolfd);
	if (a->dirfd >= 0)
		close(a->dirfd);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

const struct backend_ops backend_archive__ops = {
	.name = "archive",
	.caps = BACKEND_CAP_RECALL,
	.put_begin = arc_put_begin,
	.put_write = arc_put_write,
	.put_commit = arc_put_commit,
	.put_abort = arc_put_abort,
	.open = arc_open,
	.read = arc_read,
	.close = arc_close,
	.stat = arc_stat,
	.remove = arc_remove,
	.list = arc_list,
	.space = arc_space,
	.free = arc_free,
};

/* --- reclaim and the cartridge report --- */

int
backend_archive_cartridges(struct backend *b, struct archive_cartridge *out, size_t max,
    size_t *n)
{
	struct arc_backend *a = (struct arc_backend *)b;

	if (b == NULL || b->ops != &backend_archive__ops) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	*n = a->ncarts;
	for (size_t i = 0; i < a->ncarts && i < max; i++)
		out[i] = (struct archive_cartridge){.number = a->carts[i].num,
		    .bytes = a->carts[i].end, .live_bytes = a->carts[i].live,
		    .live_objects = a->carts[i].nlive, .current = i == a->ncarts - 1};
	pthread_mutex_unlock(&a->mu);
	return 0;
}

/* The entries of cartridge num, copied out (a->mu held). */
static int
cart_entries(struct arc_backend *a, uint32_t num, struct arc_entry ***out, size_t *n)
{
	struct arc_entry **v;
	size_t k = 0;

	if ((v = malloc((a->nentries + 1) * sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < a->nbuckets; i++)
		for (struct arc_entry *e = a->buckets[i]; e != NULL; e = e->next)
			if (e->cart == num)
				v[k++] = e;
	*out = v;
	*n = k;
	return 0;
}

/* Deletes both files of a reclaimed cartridge: the log first, so a crash
 * in between leaves a segment without a log, which open deletes. */
static int
cart_unlink(struct arc_backend *a, uint32_t num)
{
	char name[ARC_NAME_MAX];

	cart_name(name, num, "idx");
	if (unlinkat(a->dirfd, name, 0) != 0 || fsync(a->dirfd) != 0)
		return -1;
	cart_name(name, num, "seg");
	if (unlinkat(a->dirfd, name, 0) != 0 || fsync(a->dirfd) != 0)
		return -1;
	return 0;
}

/* Copies each entry from segment fd into the current cartridge. */
static int
reclaim_copy(struct arc_backend *a, int fd, struct arc_entry **v, size_t n,
    uint64_t *objects, uint64_t *bytes)
{
	for (size_t i = 0; i < n; i++) {
		/* append_object may replace v[i] in the map: copy what we need. */
		char key[BACKEND_KEY_MAX + 1];
		uint64_t off = v[i]->off, len = v[i]->len;

		memcpy(key, v[i]->key, strlen(v[i]->key) + 1);
		if (append_object(a, key, fd, off, len) != 0)
			return -1;
		(*objects)++;
		*bytes += len;
	}
	return 0;
}

int
backend_archive_reclaim(struct backend *b, uint32_t number, uint64_t *objects,
    uint64_t *bytes)
{
	struct arc_backend *a = (struct arc_backend *)b;
	char name[ARC_NAME_MAX];
	struct arc_entry **v = NULL;
	struct arc_cart *c;
	size_t n = 0, ci;
	int fd = -1, rc = -1;

	*objects = *bytes = 0;
	if (b == NULL || b->ops != &backend_archive__ops) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	if ((c = backend_archive__cart_find(a, number)) == NULL) {
		errno = ENOENT;
		goto out;
	}
	if (c == &a->carts[a->ncarts - 1]) {
		errno = EBUSY; /* the current cartridge is still being written */
		goto out;
	}
	cart_name(name, number, "seg");
	if ((fd = openat(a->dirfd, name, O_RDONLY | O_CLOEXEC)) == -1 ||
	    cart_entries(a, number, &v, &n) != 0 ||
	    reclaim_copy(a, fd, v, n, objects, bytes) != 0 || cart_unlink(a, number) != 0)
		goto out;
	/* The copies may have added a cartridge: find it again. */
	c = backend_archive__cart_find(a, number);
	ci = (size_t)(c - a->carts);
	memmove(&a->carts[ci], &a->carts[ci + 1], (a->ncarts - ci - 1) * sizeof(*c));
	a->ncarts--;
	rc = 0;
out:
	pthread_mutex_unlock(&a->mu);
	close_keep_errno(fd);
	free(v);
	return rc;
}
