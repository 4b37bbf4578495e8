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
 * The index lives in memory (a hash table rebuilt from the logs at open).
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

/* Index log layout (spec/tiering.md). */
#define ARC_MAGIC "vaultarc"
#define ARC_MAGIC_LEN 8
#define ARC_VERSION 1
#define ARC_HDR_VERSION_OFF ARC_MAGIC_LEN
#define ARC_HDR_PAD_LEN 3
#define ARC_HDR_CART_OFF (ARC_HDR_VERSION_OFF + 1 + ARC_HDR_PAD_LEN)
#define ARC_HDR_LEN (ARC_HDR_CART_OFF + 4)
#define ARC_REC_TYPE_OFF 0
#define ARC_REC_KEYLEN_OFF 1
#define ARC_REC_OFFSET_OFF 2
#define ARC_REC_LENGTH_OFF (ARC_REC_OFFSET_OFF + 8)
#define ARC_REC_KEY_OFF (ARC_REC_LENGTH_OFF + 8)
#define ARC_CHECK_LEN 16
#define ARC_REC_MAX (ARC_REC_KEY_OFF + BACKEND_KEY_MAX + ARC_CHECK_LEN)
#define ARC_REC_PUT 0x01
#define ARC_REC_DEAD 0x02

#define ARC_SPOOL ".spool"
#define ARC_NAME_MAX 32
#define ARC_COPY_BUF (1024 * 1024)
#define ARC_BUCKETS_MIN 1024
#define ARC_DIR_MODE 0750
#define ARC_FILE_MODE 0640
#define ARC_CART_MAX UINT32_MAX

struct arc_entry {
	struct arc_entry *next;
	uint32_t cart;
	uint64_t off, len;
	char key[]; /* NUL-terminated */
};

struct arc_cart {
	uint32_t num;
	uint64_t end;     /* data bytes in the segment */
	uint64_t idx_end; /* bytes in the index log */
	uint64_t live;    /* bytes of live objects */
	uint64_t nlive;
};

struct arc_backend {
	struct backend base;
	int dirfd, spoolfd;
	uint64_t cart_size;
	pthread_mutex_t mu; /* the map, the cartridges and the one writer */
	struct arc_entry **buckets;
	size_t nbuckets, nentries;
	struct arc_cart *carts; /* ascending numbers; the last is current */
	size_t ncarts, capcarts;
	int cur_seg, cur_idx;   /* descriptors of the current cartridge */
	atomic_uint_fast64_t seq;
};

struct arc_put {
	struct arc_backend *a;
	int fd;
	int error;
	uint64_t len;
	char spool[ARC_NAME_MAX];
	char key[BACKEND_KEY_MAX + 1];
};

struct arc_reader {
	int fd;
	uint64_t base, len;
};

static void
close_keep_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}

static void
le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
le64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void
cart_name(char *buf, uint32_t num, const char *ext)
{
	snprintf(buf, ARC_NAME_MAX, "cart-%08u.%s", (unsigned)num, ext);
}

static int
key_ok(const char *key)
{
	if (backend_key_valid(key))
		return 1;
	errno = EINVAL;
	return 0;
}

/* Writes all of len bytes at off, retrying short writes. */
static int
pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *c = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, c, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		c += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Reads exactly len bytes at off; EIO if the file is shorter. */
static int
pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *c = buf;

	while (len > 0) {
		ssize_t n = pread(fd, c, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		c += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* --- the in-memory index --- */

static size_t
key_hash(const char *key, size_t nbuckets)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)(h % nbuckets);
}

static struct arc_entry **
map_slot(struct arc_backend *a, const char *key)
{
	struct arc_entry **pp = &a->buckets[key_hash(key, a->nbuckets)];

	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

static struct arc_cart *
cart_find(struct arc_backend *a, uint32_t num)
{
	for (size_t i = 0; i < a->ncarts; i++)
		if (a->carts[i].num == num)
			return &a->carts[i];
	return NULL;
}

/* Doubles the table when it is twice as full as it has buckets. */
static int
map_grow(struct arc_backend *a)
{
	size_t n = a->nbuckets * 2;
	struct arc_entry **nb;

	if (a->nentries < a->nbuckets * 2)
		return 0;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	for (size_t i = 0; i < a->nbuckets; i++)
		while (a->buckets[i] != NULL) {
			struct arc_entry *e = a->buckets[i];
			a->buckets[i] = e->next;
			size_t h = key_hash(e->key, n);
			e->next = nb[h];
			nb[h] = e;
		}
	free(a->buckets);
	a->buckets = nb;
	a->nbuckets = n;
	return 0;
}

/* Drops a live entry's bytes from its cartridge's live count. */
static void
unaccount(struct arc_backend *a, const struct arc_entry *e)
{
	struct arc_cart *c = cart_find(a, e->cart);

	if (c != NULL) {
		c->live -= e->len;
		c->nlive--;
	}
}

/* Records key -> (cart, off, len), replacing what was there. */
static int
map_set(struct arc_backend *a, const char *key, uint32_t cart, uint64_t off, uint64_t len)
{
	struct arc_entry **pp = map_slot(a, key), *e = *pp;
	struct arc_cart *c;

	if (e == NULL) {
		size_t klen = strlen(key) + 1;
		if (map_grow(a) != 0 || (e = malloc(sizeof(*e) + klen)) == NULL)
			return -1;
		memcpy(e->key, key, klen);
		pp = map_slot(a, key);
		e->next = NULL;
		*pp = e;
		a->nentries++;
	} else
		unaccount(a, e);
	e->cart = cart;
	e->off = off;
	e->len = len;
	if ((c = cart_find(a, cart)) != NULL) {
		c->live += len;
		c->nlive++;
	}
	return 0;
}

/* Forgets key if it still points at (cart, off). */
static void
map_kill(struct arc_backend *a, const char *key, uint32_t cart, uint64_t off)
{
	struct arc_entry **pp = map_slot(a, key), *e = *pp;

	if (e == NULL || e->cart != cart || e->off != off)
		return;
	unaccount(a, e);
	*pp = e->next;
	free(e);
	a->nentries--;
}

/* --- index logs --- */

static size_t
rec_encode(uint8_t *buf, int type, const char *key, uint64_t off, uint64_t len)
{
	size_t klen = strlen(key);

	buf[ARC_REC_TYPE_OFF] = (uint8_t)type;
	buf[ARC_REC_KEYLEN_OFF] = (uint8_t)klen;
	le64_put(&buf[ARC_REC_OFFSET_OFF], off);
	le64_put(&buf[ARC_REC_LENGTH_OFF], len);
	memcpy(&buf[ARC_REC_KEY_OFF], key, klen);
	crypto_generichash(&buf[ARC_REC_KEY_OFF + klen], ARC_CHECK_LEN, buf,
	    ARC_REC_KEY_OFF + klen, NULL, 0);
	return ARC_REC_KEY_OFF + klen + ARC_CHECK_LEN;
}

/* Appends one record to the log open on fd at *end and fsyncs it. On
 * failure the log is cut back, so no torn record is left behind. */
static int
rec_append(int fd, uint64_t *end, int type, const char *key, uint64_t off, uint64_t len)
{
	uint8_t rec[ARC_REC_MAX];
	size_t n = rec_encode(rec, type, key, off, len);

	if (pwrite_all(fd, rec, n, *end) != 0 || fsync(fd) != 0) {
		int e = errno;
		if (ftruncate(fd, (off_t)*end) == 0)
			(void)fsync(fd);
		errno = e;
		return -1;
	}
	*end += n;
	return 0;
}

/*
 * Decodes the record at buf (avail bytes). Returns its length, or 0 when
 * it is incomplete, fails its check, or is malformed: the torn tail.
 */
static size_t
rec_decode(const uint8_t *buf, size_t avail, int *type, char key[BACKEND_KEY_MAX + 1],
    uint64_t *off, uint64_t *len)
{
	uint8_t check[ARC_CHECK_LEN];
	size_t klen, n;

	if (avail < ARC_REC_KEY_OFF)
		return 0;
	klen = buf[ARC_REC_KEYLEN_OFF];
	n = ARC_REC_KEY_OFF + klen + ARC_CHECK_LEN;
	if (avail < n || klen == 0)
		return 0;
	crypto_generichash(check, ARC_CHECK_LEN, buf, ARC_REC_KEY_OFF + klen, NULL, 0);
	if (sodium_memcmp(check, &buf[ARC_REC_KEY_OFF + klen], ARC_CHECK_LEN) != 0)
		return 0;
	*type = buf[ARC_REC_TYPE_OFF];
	memcpy(key, &buf[ARC_REC_KEY_OFF], klen);
	key[klen] = '\0';
	*off = le64_get(&buf[ARC_REC_OFFSET_OFF]);
	*len = le64_get(&buf[ARC_REC_LENGTH_OFF]);
	if ((*type != ARC_REC_PUT && *type != ARC_REC_DEAD) || !backend_key_valid(key) ||
	    *off > UINT64_MAX - *len)
		return 0;
	return n;
}

static void
hdr_encode(uint8_t *buf, uint32_t num)
{
	memcpy(buf, ARC_MAGIC, ARC_MAGIC_LEN);
	buf[ARC_HDR_VERSION_OFF] = ARC_VERSION;
	memset(&buf[ARC_HDR_VERSION_OFF + 1], 0, ARC_HDR_PAD_LEN);
	le32_put(&buf[ARC_HDR_CART_OFF], num);
}

/* Reads the whole log into a malloc'd buffer. */
static int
slurp(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;

	if (fstat(fd, &st) != 0)
		return -1;
	if ((uint64_t)st.st_size > SIZE_MAX - 1) {
		errno = EFBIG;
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		return -1;
	if (pread_all(fd, buf, (size_t)st.st_size, 0) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = (size_t)st.st_size;
	return 0;
}

/*
 * Replays cartridge c's log into the map, cutting a torn tail off the log
 * and bytes past the last record off the segment (a crash mid-append).
 */
static int
cart_replay(struct arc_backend *a, struct arc_cart *c)
{
	char name[ARC_NAME_MAX], key[BACKEND_KEY_MAX + 1];
	uint8_t *buf = NULL, hdr[ARC_HDR_LEN];
	size_t len, pos = ARC_HDR_LEN, n;
	int idx, seg = -1, type, rc = -1;
	uint64_t off, olen, end = 0;
	struct stat st;

	cart_name(name, c->num, "idx");
	if ((idx = openat(a->dirfd, name, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	cart_name(name, c->num, "seg");
	if ((seg = openat(a->dirfd, name, O_RDWR | O_CLOEXEC)) == -1 || fstat(seg, &st) != 0 ||
	    slurp(idx, &buf, &len) != 0)
		goto out;
	hdr_encode(hdr, c->num);
	if (len < ARC_HDR_LEN) {
		/* Cut short while the cartridge was being made: start it over. */
		if (ftruncate(idx, 0) != 0 || pwrite_all(idx, hdr, ARC_HDR_LEN, 0) != 0 ||
		    fsync(idx) != 0)
			goto out;
		len = ARC_HDR_LEN;
	} else if (memcmp(buf, hdr, ARC_HDR_LEN) != 0) {
		fprintf(stderr, "vaultd: archive: %s has a bad header\n", name);
		errno = EIO;
		goto out;
	}
	while (pos < len && (n = rec_decode(buf + pos, len - pos, &type, key, &off, &olen)) != 0) {
		if (type == ARC_REC_PUT && off + olen > (uint64_t)st.st_size)
			break; /* cannot happen: data is fsync'd before its record */
		if (type == ARC_REC_PUT) {
			if (map_set(a, key, c->num, off, olen) != 0)
				goto out;
			if (off + olen > end)
				end = off + olen;
		} else
			map_kill(a, key, c->num, off);
		pos += n;
	}
	if (pos < len && (ftruncate(idx, (off_t)pos) != 0 || fsync(idx) != 0))
		goto out;
	if ((uint64_t)st.st_size > end && (ftruncate(seg, (off_t)end) != 0 || fsync(seg) != 0))
		goto out;
	c->end = end;
	c->idx_end = pos;
	rc = 0;
out:
	free(buf);
	close_keep_errno(seg);
	close_keep_errno(idx);
	return rc;
}

static int
cart_add(struct arc_backend *a, uint32_t num)
{
	if (a->ncarts == a->capcarts) {
		size_t n = a->capcarts ? a->capcarts * 2 : 16;
		struct arc_cart *g = realloc(a->carts, n * sizeof(*g));
		if (g == NULL)
			return -1;
		a->carts = g;
		a->capcarts = n;
	}
	a->carts[a->ncarts++] = (struct arc_cart){.num = num};
	return 0;
}

/* Opens the last cartridge's files for appending. */
static int
cur_open(struct arc_backend *a)
{
	char name[ARC_NAME_MAX];
	uint32_t num = a->carts[a->ncarts - 1].num;

	cart_name(name, num, "seg");
	if ((a->cur_seg = openat(a->dirfd, name, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	cart_name(name, num, "idx");
	if ((a->cur_idx = openat(a->dirfd, name, O_RDWR | O_CLOEXEC)) == -1) {
		close_keep_errno(a->cur_seg);
		a->cur_seg = -1;
		return -1;
	}
	return 0;
}

/* Starts cartridge num: its log (with the header) first, then its segment,
 * so a segment never exists without a log. */
static int
cart_create(struct arc_backend *a, uint32_t num)
{
	char name[ARC_NAME_MAX];
	uint8_t hdr[ARC_HDR_LEN];
	int fd;

	cart_name(name, num, "idx");
	if ((fd = openat(a->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    ARC_FILE_MODE)) == -1)
		return -1;
	hdr_encode(hdr, num);
	if (pwrite_all(fd, hdr, ARC_HDR_LEN, 0) != 0 || fsync(fd) != 0) {
		close_keep_errno(fd);
		unlinkat(a->dirfd, name, 0);
		return -1;
	}
	close(fd);
	cart_name(name, num, "seg");
	if ((fd = openat(a->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, ARC_FILE_MODE)) == -1)
		return -1;
	if (fsync(fd) != 0 || fsync(a->dirfd) != 0) {
		close_keep_errno(fd);
		return -1;
	}
	close(fd);
	if (cart_add(a, num) != 0)
		return -1;
	a->carts[a->ncarts - 1].idx_end = ARC_HDR_LEN;
	return 0;
}

/* Closes the current cartridge and starts the next one. */
static int
cart_rollover(struct arc_backend *a)
{
	uint32_t num = a->carts[a->ncarts - 1].num;

	if (num == ARC_CART_MAX) {
		errno = ENOSPC;
		return -1;
	}
	if (cart_create(a, num + 1) != 0)
		return -1;
	close(a->cur_seg);
	close(a->cur_idx);
	a->cur_seg = a->cur_idx = -1;
	return cur_open(a);
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
	    rec_append(a->cur_idx, &c->idx_end, ARC_REC_PUT, key, at, len) != 0)
		goto fail;
	c->end = at + len;
	if (map_set(a, key, c->num, at, len) != 0) {
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
			fprintf(stderr, "vaultd: archive: cannot cut a failed append\n");
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
	if ((e = *map_slot(a, key)) == NULL) {
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
	if ((e = *map_slot(a, key)) != NULL)
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
		return rec_append(a->cur_idx, &c->idx_end, ARC_REC_DEAD, e->key, e->off, e->len);
	cart_name(name, c->num, "idx");
	if ((fd = openat(a->dirfd, name, O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	rc = rec_append(fd, &c->idx_end, ARC_REC_DEAD, e->key, e->off, e->len);
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
	if ((e = *map_slot(a, key)) == NULL)
		errno = ENOENT;
	else if ((c = cart_find(a, e->cart)) == NULL)
		errno = EIO;
	else if (log_dead(a, c, e) == 0) {
		map_kill(a, key, e->cart, e->off);
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

static const struct backend_ops arc_ops = {
	.name = "archive",
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

	if (b == NULL || b->ops != &arc_ops) {
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
	if (b == NULL || b->ops != &arc_ops) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	if ((c = cart_find(a, number)) == NULL) {
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
	c = cart_find(a, number);
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

/* --- open --- */

/* Removes the spooled uploads a crash left behind. */
static int
spool_clean(int fd)
{
	struct dirent *de;
	DIR *d;
	int dfd;

	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close_keep_errno(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			unlinkat(fd, de->d_name, 0);
	closedir(d);
	return 0;
}

/* Returns 1 and the number for "cart-NNNNNNNN.ext" names, else 0. */
static int
parse_cart_name(const char *name, const char *ext, uint32_t *num)
{
	char want[ARC_NAME_MAX];
	unsigned long v;
	char *end;

	if (strncmp(name, "cart-", 5) != 0)
		return 0;
	v = strtoul(name + 5, &end, 10);
	if (end != name + 13 || v > ARC_CART_MAX)
		return 0;
	cart_name(want, (uint32_t)v, ext);
	if (strcmp(name, want) != 0)
		return 0;
	*num = (uint32_t)v;
	return 1;
}

static int
cmp_cart(const void *x, const void *y)
{
	uint32_t a = ((const struct arc_cart *)x)->num, b = ((const struct arc_cart *)y)->num;

	return a < b ? -1 : a > b;
}

/* Finds the cartridges: those with a log; a segment without one is the
 * rest of a reclaim or a creation a crash cut short, and goes. */
static int
scan_carts(struct arc_backend *a)
{
	char other[ARC_NAME_MAX];
	struct dirent *de;
	struct stat st;
	uint32_t num;
	DIR *d;
	int dfd, rc = 0;

	if ((dfd = openat(a->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close_keep_errno(dfd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (parse_cart_name(de->d_name, "seg", &num)) {
			cart_name(other, num, "idx");
			if (fstatat(a->dirfd, other, &st, 0) != 0 && errno == ENOENT)
				unlinkat(a->dirfd, de->d_name, 0);
		} else if (parse_cart_name(de->d_name, "idx", &num)) {
			cart_name(other, num, "seg");
			if (fstatat(a->dirfd, other, &st, 0) != 0 && errno == ENOENT)
				unlinkat(a->dirfd, de->d_name, 0);
			else
				rc = cart_add(a, num);
		}
	}
	closedir(d);
	if (rc == 0)
		qsort(a->carts, a->ncarts, sizeof(*a->carts), cmp_cart);
	return rc;
}

static int
mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, ARC_DIR_MODE) != 0 && errno != EEXIST)
			return -1;
		buf[i] = saved;
	}
	return 0;
}

struct backend *
backend_archive_open(const char *dir, uint64_t cartridge_size)
{
	struct arc_backend *a;

	if (sodium_init() < 0 || cartridge_size == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->base.ops = &arc_ops;
	a->dirfd = a->spoolfd = a->cur_seg = a->cur_idx = -1;
	a->cart_size = cartridge_size;
	atomic_init(&a->seq, 0);
	pthread_mutex_init(&a->mu, NULL);
	a->nbuckets = ARC_BUCKETS_MIN;
	if ((a->buckets = calloc(a->nbuckets, sizeof(*a->buckets))) == NULL ||
	    mkdir_p(dir) != 0 ||
	    (a->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto err;
	if (mkdirat(a->dirfd, ARC_SPOOL, ARC_DIR_MODE) != 0 && errno != EEXIST)
		goto err;
	if ((a->spoolfd = openat(a->dirfd, ARC_SPOOL, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    spool_clean(a->spoolfd) != 0 || scan_carts(a) != 0)
		goto err;
	for (size_t i = 0; i < a->ncarts; i++)
		if (cart_replay(a, &a->carts[i]) != 0)
			goto err;
	if (a->ncarts == 0 && cart_create(a, 1) != 0)
		goto err;
	if (cur_open(a) != 0)
		goto err;
	return &a->base;
err:
	{
		int e = errno;
		arc_free(&a->base);
		errno = e;
	}
	return NULL;
}
