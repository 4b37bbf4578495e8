/*
 * The archive backend's index (spec/tiering.md, "The archive backend"): the
 * in-memory map of key -> (cartridge, offset, length), the per-cartridge
 * index logs (records, the check, replay with torn-tail cuts) and opening
 * a directory of cartridges.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <sodium.h>

#include "backend_archive_internal.h"
#include "log.h"

/* --- the in-memory index --- */

static size_t
key_hash(const char *key, size_t nbuckets)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)(h % nbuckets);
}

struct arc_entry **
backend_archive__map_slot(struct arc_backend *a, const char *key)
{
	struct arc_entry **pp = &a->buckets[key_hash(key, a->nbuckets)];

	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

struct arc_cart *
backend_archive__cart_find(struct arc_backend *a, uint32_t num)
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
	struct arc_cart *c = backend_archive__cart_find(a, e->cart);

	if (c != NULL) {
		c->live -= e->len;
		c->nlive--;
	}
}

/* Records key -> (cart, off, len), replacing what was there. */
int
backend_archive__map_set(struct arc_backend *a, const char *key, uint32_t cart, uint64_t off, uint64_t len)
{
	struct arc_entry **pp = backend_archive__map_slot(a, key), *e = *pp;
	struct arc_cart *c;

	if (e == NULL) {
		size_t klen = strlen(key) + 1;
		if (map_grow(a) != 0 || (e = malloc(sizeof(*e) + klen)) == NULL)
			return -1;
		memcpy(e->key, key, klen);
		pp = backend_archive__map_slot(a, key);
		e->next = NULL;
		*pp = e;
		a->nentries++;
	} else
		unaccount(a, e);
	e->cart = cart;
	e->off = off;
	e->len = len;
	if ((c = backend_archive__cart_find(a, cart)) != NULL) {
		c->live += len;
		c->nlive++;
	}
	return 0;
}

/* Forgets key if it still points at (cart, off). */
void
backend_archive__map_kill(struct arc_backend *a, const char *key, uint32_t cart, uint64_t off)
{
	struct arc_entry **pp = backend_archive__map_slot(a, key), *e = *pp;

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
int
backend_archive__rec_append(int fd, uint64_t *end, int type, const char *key, uint64_t off, uint64_t len)
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
		cart_name(name, c->num, "idx");
		log_msg(VLOG_ERROR, "archive: %s has a bad header", name);
		errno = EIO;
		goto out;
	}
	while (pos < len && (n = rec_decode(buf + pos, len - pos, &type, key, &off, &olen)) != 0) {
		if (type == ARC_REC_PUT && off + olen > (uint64_t)st.st_size)
			break; /* cannot happen: data is fsync'd before its record */
		if (type == ARC_REC_PUT) {
			if (backend_archive__map_set(a, key, c->num, off, olen) != 0)
				goto out;
			if (off + olen > end)
				end = off + olen;
		} else
			backend_archive__map_kill(a, key, c->num, off);
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
int
backend_archive__cur_open(struct arc_backend *a)
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
int
backend_archive__cart_create(struct arc_backend *a, uint32_t num)
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
	if (rc == 0 && a->ncarts > 1)
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
	a->base.ops = &backend_archive__ops;
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
	if (a->ncarts == 0 && backend_archive__cart_create(a, 1) != 0)
		goto err;
	if (backend_archive__cur_open(a) != 0)
		goto err;
	return &a->base;
err:
	{
		int e = errno;
		backend_archive__ops.free(&a->base);
		errno = e;
	}
	return NULL;
}
