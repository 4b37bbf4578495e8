#ifndef BACKEND_ARCHIVE_INTERNAL_H
#define BACKEND_ARCHIVE_INTERNAL_H
/*
 * Shared by backend_archive.c (the ops, reclaim) and backend_archive_index.c
 * (the in-memory index, the index logs, opening). Not for other modules.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"

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

extern const struct backend_ops backend_archive__ops;

/* The slot of key in the map: where its entry is, or would go. */
struct arc_entry **backend_archive__map_slot(struct arc_backend *a, const char *key);
/* Cartridge num, or NULL. */
struct arc_cart *backend_archive__cart_find(struct arc_backend *a, uint32_t num);
/* Maps key to (cart, off, len), replacing what was there. 0 or -1 (ENOMEM). */
int backend_archive__map_set(struct arc_backend *a, const char *key, uint32_t cart, uint64_t off,
    uint64_t len);
/* Forgets key if it still points at (cart, off). */
void backend_archive__map_kill(struct arc_backend *a, const char *key, uint32_t cart, uint64_t off);
/* Appends a record to the log open on fd at *end and fsyncs it; on failure
 * the log is cut back. 0 or -1. */
int backend_archive__rec_append(int fd, uint64_t *end, int type, const char *key, uint64_t off,
    uint64_t len);
/* Starts cartridge num (log first, then segment). 0 or -1. */
int backend_archive__cart_create(struct arc_backend *a, uint32_t num);
/* Opens the last cartridge's files for appending. 0 or -1. */
int backend_archive__cur_open(struct arc_backend *a);

static inline void
close_keep_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}

static inline void
le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t
le64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline void
cart_name(char *buf, uint32_t num, const char *ext)
{
	snprintf(buf, ARC_NAME_MAX, "cart-%08u.%s", (unsigned)num, ext);
}

static inline int
key_ok(const char *key)
{
	if (backend_key_valid(key))
		return 1;
	errno = EINVAL;
	return 0;
}

/* Writes all of len bytes at off, retrying short writes. */
static inline int
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
static inline int
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

#endif
