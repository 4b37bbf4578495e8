#ifndef VC_MOUNT_TREE_H
#define VC_MOUNT_TREE_H
/*
 * The file tree `vault mount` shows (spec/client.md 4): snapshots by ID
 * and by time, each snapshot's tree loaded into memory when first looked
 * at, and file contents read chunk by chunk on demand through the cache.
 * Kept apart from the FUSE glue (vault_mount.c) so that it builds and is
 * tested without libfuse. Not thread-safe: the mount runs single-threaded.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fsmeta.h"
#include "repo.h"

struct mt_snap;

/* One entry of the mounted tree. */
struct mt_node {
	char *name;
	uint8_t type;                /* enum vc_node_type; HARDLINK is resolved */
	uint32_t mode, uid, gid;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
	uint64_t size, rdev, link_group;
	unsigned nlink;
	char *target;                /* SYMLINK, NUL-terminated */
	struct vc_chunk_ref *chunks; /* FILE */
	uint64_t *offs;              /* FILE: where each chunk starts */
	size_t nchunks;
	struct vc_fsmeta meta;       /* xattrs */
	struct mt_node **kids;       /* DIR, sorted by name (strcmp) */
	size_t nkids, ckids;
	struct mt_node *file;        /* a HARDLINK's FILE (then the rest is unused) */
	struct mt_snap *snap;        /* a snapshot's directory: its tree is snap's */
	int synthetic;               /* a directory made up for a top-level path */
};

struct mt;

/*
 * Opens the view: of every snapshot in list (all = 1: "ids/ID",
 * "snapshots/TIME" and "latest") or of list[0] alone (all = 0: its tree
 * at the root). Takes the snapshots (the caller frees only the array).
 * Returns NULL with err when out of memory or, for all = 0, when the tree
 * cannot be read.
 */
struct mt *mt_open(struct vc_repo *r, struct vc_snapinfo *list, size_t n, int all,
    char *err, size_t errlen);
void mt_free(struct mt *t);

/* The node at path ("/", "/ids/1234abcd/etc/hosts"), loading a snapshot's
 * tree on the way if needed. NULL with *e = ENOENT, ENOTDIR or EIO. */
struct mt_node *mt_lookup(struct mt *t, const char *path, int *e);

/* The node's kids (a snapshot's directory gets its tree loaded). 0 or -EIO. */
int mt_kids(struct mt *t, struct mt_node *n, struct mt_node ***kids, size_t *nkids);

/* What stat says of n. */
void mt_stat(const struct mt_node *n, struct stat *st);

/* Reads up to size bytes of file n at off into buf. Returns the bytes
 * read (0 at the end) or -EIO (a chunk that cannot be read, named on
 * standard error). */
long mt_read(struct mt *t, struct mt_node *n, char *buf, size_t size, uint64_t off);

#endif
