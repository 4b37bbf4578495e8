#ifndef BACKEND_H
#define BACKEND_H
/*
 * Object storage backends behind one small ops table (DESIGN.md, "Backends").
 *
 * A backend stores opaque byte strings under keys. Keys are relative paths of
 * [a-z0-9._-] components separated by '/', at most BACKEND_KEY_MAX bytes; no
 * component is empty, "." or "..". The caller (the object store, store.h) builds keys
 * with a fan-out directory so no directory grows without bound:
 *
 *     <vault id, 16 hex>/<kind>/<first two hex digits of ID>/<64-hex ID>
 *
 * Every function may be called from several threads at once (the daemon runs
 * them on the libuv threadpool). They block; never call them on the event loop.
 * Failures return -1 with errno set: ENOENT (no such key), ENOSPC (out of
 * space), EINVAL (bad key), ENOMEM, or the I/O error the system gave.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BACKEND_KEY_MAX 255

struct backend;
struct backend_put;    /* an upload in progress */
struct backend_reader; /* an open object */

/* Capabilities a backend declares in its ops table (caps). Callers ask
 * backend_has_cap, never the backend's name. */
/* Its copies are not read in place: an object is recalled to the hot
 * backend first (the archive backend; spec/tiering.md). */
#define BACKEND_CAP_RECALL 0x1u
/* Its put sends the bytes with their SHA-256 and the far end refuses others,
 * so a committed copy of the right size needs no reading back (S3). */
#define BACKEND_CAP_CHECKED_PUT 0x2u

struct backend_ops {
	const char *name; /* "fs", "mem", "archive", "s3": for messages only */
	unsigned caps;    /* BACKEND_CAP_* */

	/* Starts writing a new object under key. Nothing is visible under key
	 * until put_commit returns 0. */
	int (*put_begin)(struct backend *b, const char *key, struct backend_put **out);
	/* Appends len bytes. */
	int (*put_write)(struct backend_put *p, const void *buf, size_t len);
	/* Makes the object durable and visible under its key (replacing any
	 * object already there), then frees p. On failure nothing is visible
	 * and p is freed. */
	int (*put_commit)(struct backend_put *p);
	/* Discards the upload and frees p. NULL is ignored. */
	void (*put_abort)(struct backend_put *p);

	/* Opens key for reading; *size gets its length. */
	int (*open)(struct backend *b, const char *key, struct backend_reader **out,
	    uint64_t *size);
	/* Reads up to len bytes at offset off. Returns the count (0 only at the
	 * end), or -1. */
	ssize_t (*read)(struct backend_reader *r, uint64_t off, void *buf, size_t len);
	/* Closes r. NULL is ignored. */
	void (*close)(struct backend_reader *r);

	/* Gets the size of key. */
	int (*stat)(struct backend *b, const char *key, uint64_t *size);
	/* Removes key durably. ENOENT if it is not there. */
	int (*remove)(struct backend *b, const char *key);
	/* Calls cb for every key starting with prefix ("" for all), in no
	 * particular order. A non-zero return from cb stops the walk and is
	 * returned. Returns 0 when the walk ends, or -1. */
	int (*list)(struct backend *b, const char *prefix,
	    int (*cb)(const char *key, uint64_t size, void *arg), void *arg);
	/* Bytes the backend can still take, for early 507 answers. UINT64_MAX
	 * when unknown or unlimited. */
	int (*space)(struct backend *b, uint64_t *avail);
	/* Frees the backend. NULL is ignored. */
	void (*free)(struct backend *b);
};

/* Every backend struct begins with this. */
struct backend {
	const struct backend_ops *ops;
};

/* Returns 1 if key obeys the rules above, else 0. */
int backend_key_valid(const char *key);

/*
 * Opens a file-system backend rooted at the directory root (created if
 * missing, with parents). Objects live in root/<key>; uploads are written in
 * root/.tmp/ and renamed into place after fsync of the file, and the parent
 * directory is fsync'd after the rename. Opening removes temp files left by
 * a crash. Returns NULL with errno set on failure.
 */
struct backend *backend_fs_open(const char *root);

/* Opens an empty in-memory backend (for tests). Returns NULL on ENOMEM. */
struct backend *backend_mem_open(void);

/*
 * Opens the archive backend in directory dir (created if missing): objects
 * appended to segment files ("cartridges") of at most cartridge_size bytes
 * each (an object larger than that gets a cartridge of its own), with one
 * append-only index log per cartridge (spec/tiering.md). Opening replays the
 * logs, cuts off what a crash left half-written and removes spooled uploads.
 * Puts are serialised: one writer at a time appends. Returns NULL with errno
 * set on failure (EIO for a log with a bad header).
 */
struct backend *backend_archive_open(const char *dir, uint64_t cartridge_size);

struct s3_conf; /* s3/s3.h */

/*
 * Opens an S3 backend on the bucket conf describes (endpoint, region,
 * bucket, prefix, path style and the keys; copied): key K is the S3 object
 * conf->prefix + K. Uploads are spooled in spool_dir (created if missing;
 * its leftovers removed) and sent on commit as one PUT signed with their
 * SHA-256; reads fetch ranges with GET Range (spec/tiering.md). Needs no
 * network at open. Returns NULL with errno set (EINVAL: an endpoint or
 * bucket s3_target refuses, the reason on stderr).
 */
struct backend *backend_s3_open(const struct s3_conf *conf, const char *spool_dir);

/* One cartridge of an archive backend, for reports and reclaim decisions. */
struct archive_cartridge {
	uint32_t number;
	uint64_t bytes;        /* data bytes written to it */
	uint64_t live_bytes;   /* of which still live */
	uint64_t live_objects;
	int current;           /* the one being appended to */
};

/*
 * Fills out with up to max cartridges in ascending order; *n gets how many
 * there are. Returns 0, or -1 with EINVAL if b is not an archive backend.
 */
int backend_archive_cartridges(struct backend *b, struct archive_cartridge *out, size_t max,
    size_t *n);

/*
 * Reclaims cartridge number: appends each of its live objects to the
 * current cartridge, then deletes its two files. *objects and *bytes get
 * what was copied. A crash midway leaves objects mapped to whichever copy
 * was logged last, never lost. Returns 0, or -1 with errno: EINVAL (not an
 * archive backend), ENOENT (no such cartridge), EBUSY (it is the current
 * one), or an I/O error.
 */
int backend_archive_reclaim(struct backend *b, uint32_t number, uint64_t *objects,
    uint64_t *bytes);

/* 1 if b declares every capability in cap (BACKEND_CAP_*), else 0. NULL
 * gives 0. */
int backend_has_cap(const struct backend *b, unsigned cap);

/* Convenience wrappers that call through b->ops. */
int backend_put_begin(struct backend *b, const char *key, struct backend_put **out);
int backend_put_write(struct backend *b, struct backend_put *p, const void *buf, size_t len);
int backend_put_commit(struct backend *b, struct backend_put *p);
void backend_put_abort(struct backend *b, struct backend_put *p);
int backend_open(struct backend *b, const char *key, struct backend_reader **out, uint64_t *size);
ssize_t backend_read(struct backend *b, struct backend_reader *r, uint64_t off, void *buf, size_t len);
void backend_close(struct backend *b, struct backend_reader *r);
int backend_stat(struct backend *b, const char *key, uint64_t *size);
int backend_remove(struct backend *b, const char *key);
int backend_list(struct backend *b, const char *prefix,
    int (*cb)(const char *key, uint64_t size, void *arg), void *arg);
int backend_space(struct backend *b, uint64_t *avail);
void backend_free(struct backend *b);

#endif
