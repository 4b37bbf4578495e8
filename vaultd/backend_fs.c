/*
 * File-system backend (backend.h): one regular file per key under a root
 * directory, written the durable way (DESIGN.md, "Data flow"):
 *
 *     root/.tmp/put-<pid>-<n>   the upload, written and fsync'd
 *     rename -> root/<key>      atomic; readers see all or nothing
 *     fsync(root/<key's dir>)   the new entry survives a crash
 *
 * A directory created on the way is made durable before anything is renamed
 * into it: right after mkdir, its own parent is fsync'd.
 *
 * Every path is resolved relative to descriptors held on root and root/.tmp,
 * so a later chdir() cannot move the store. Keys whose first component is
 * ".tmp" are refused with EINVAL, since that name is ours.
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

#define FS_TMPDIR ".tmp"
#define FS_TMPNAME_MAX 64
#define FS_TMP_TRIES 100
#define FS_DIR_MODE 0750
#define FS_FILE_MODE 0640

struct fs_backend {
	struct backend base; /* first, so a struct backend * is one of these */
	int rootfd;
	int tmpfd;
	/*
	 * Held shared while a commit checks that its key's directory exists,
	 * and exclusively while directories are created and their parents
	 * fsync'd. A commit therefore never renames into a directory another
	 * thread has just made but not yet made durable.
	 */
	pthread_rwlock_t dirlock;
	atomic_uint_fast64_t seq; /* makes temp names unique in this process */
};

struct fs_put {
	struct fs_backend *fs;
	int fd;
	int error; /* errno of a failed put_write; commit then refuses */
	uint64_t written;  /* bytes written so far */
	uint64_t flushing; /* bytes handed to writeback early (fs_put_write) */
	char tmpname[FS_TMPNAME_MAX];
	char key[BACKEND_KEY_MAX + 1];
};

struct fs_reader {
	int fd;
};

/* Closes fd without disturbing errno, for cleanup paths. */
static void
close_keep_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}

/* Returns 1 if key is valid and not inside our temp directory; else sets
 * errno to EINVAL and returns 0. */
static int
fs_key_ok(const char *key)
{
	size_t tl = sizeof(FS_TMPDIR) - 1;

	if (backend_key_valid(key) &&
	    !(strncmp(key, FS_TMPDIR, tl) == 0 && (key[tl] == '/' || key[tl] == '\0')))
		return 1;
	errno = EINVAL;
	return 0;
}

/*
 * Splits key into its directory part (copied to dir, "" for a top-level key)
 * and returns a pointer to its last component inside key.
 */
static const char *
key_split(const char *key, char dir[BACKEND_KEY_MAX + 1])
{
	const char *slash = strrchr(key, '/');

	if (slash == NULL) {
		dir[0] = '\0';
		return key;
	}
	memcpy(dir, key, (size_t)(slash - key));
	dir[slash - key] = '\0';
	return slash + 1;
}

/*
 * Opens the directory dir ("" for the root itself) below rootfd. Never a
 * dup(): that would share the read position, and a walk would leave the
 * next one nothing to read.
 */
static int
dir_open(int rootfd, const char *dir)
{
	return openat(rootfd, dir[0] != '\0' ? dir : ".",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* fsyncs the directory dir below dirfd (AT_FDCWD for a plain path). */
static int
dir_fsync(int dirfd, const char *dir)
{
	int fd, rc;

	if (dirfd == AT_FDCWD)
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else
		fd = dir_open(dirfd, dir);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close_keep_errno(fd);
	return rc;
}

/*
 * Creates path and any missing parents below dirfd (AT_FDCWD: relative to
 * the working directory), like mkdir -p. After each mkdir the new
 * directory's parent is fsync'd so its entry is durable. EEXIST is success:
 * another thread or process got there first.
 */
static int
mkdirs_at(int dirfd, const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue; /* "a//b" or a trailing '/' */
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdirat(dirfd, buf, FS_DIR_MODE) == 0) {
			char *up = strrchr(buf, '/');
			int rc;
			if (up == NULL)
				rc = dirfd == AT_FDCWD ? dir_fsync(AT_FDCWD, ".") :
				    fsync(dirfd);
			else if (up == buf)
				rc = dir_fsync(AT_FDCWD, "/");
			else {
				*up = '\0';
				rc = dir_fsync(dirfd, buf);
				*up = '/';
			}
			if (rc != 0) {
				/* Do not leave a directory others would trust. */
				int e = errno;
				unlinkat(dirfd, buf, AT_REMOVEDIR);
				errno = e;
				return -1;
			}
		} else if (errno != EEXIST)
			return -1;
		buf[i] = saved;
	}
	return 0;
}

/* Opens (creating if need be) the directory dir below the root. */
static int
fs_dir_open_create(struct fs_backend *fs, const char *dir)
{
	int fd, rc;

	pthread_rwlock_rdlock(&fs->dirlock);
	fd = dir_open(fs->rootfd, dir);
	pthread_rwlock_unlock(&fs->dirlock);
	if (fd >= 0 || errno != ENOENT)
		return fd;

	pthread_rwlock_wrlock(&fs->dirlock);
	rc = mkdirs_at(fs->rootfd, dir);
	pthread_rwlock_unlock(&fs->dirlock);
	if (rc != 0)
		return -1;
	return dir_open(fs->rootfd, dir);
}

/* Closes and unlinks p's temp file and frees p, keeping errno. */
static void
fs_put_free(struct fs_put *p)
{
	int saved = errno;

	if (p->fd >= 0)
		close(p->fd);
	unlinkat(p->fs->tmpfd, p->tmpname, 0);
	free(p);
	errno = saved;
}

static int
fs_put_begin(struct backend *b, const char *key, struct backend_put **out)
{
	struct fs_backend *fs = (struct fs_backend *)b;
	struct fs_put *p;
	int i;

	if (!fs_key_ok(key))
		goto err0;
	if ((p = malloc(sizeof(*p))) == NULL)
		goto err0;
	p->fs = fs;
	p->error = 0;
	p->written = p->flushing = 0;
	memcpy(p->key, key, strlen(key) + 1);
	for (i = 0; i < FS_TMP_TRIES; i++) {
		uint64_t n = atomic_fetch_add(&fs->seq, 1);
		snprintf(p->tmpname, sizeof(p->tmpname), "put-%ld-%llu",
		    (long)getpid(), (unsigned long long)n);
		p->fd = openat(fs->tmpfd, p->tmpname,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FS_FILE_MODE);
		if (p->fd >= 0 || errno != EEXIST)
			break;
	}
	if (p->fd == -1)
		goto err1;
	*out = (struct backend_put *)p;
	return 0;

err1:
	free(p);
err0:
	return -1;
}

/*
 * Starts writeback of what an upload wrote since the last call, once that
 * is FS_FLUSH_STEP or more, without waiting for it: the disk then writes
 * while the rest arrives, and the fsync before the answer has only the
 * tail left (the fsync is still what makes the object durable; errors of
 * this advisory step surface there).
 */
#define FS_FLUSH_STEP ((uint64_t)1 << 20)

static void
fs_put_flush_early(struct fs_put *p)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (p->written - p->flushing < FS_FLUSH_STEP)
		return;
	(void)sync_file_range(p->fd, (off_t)p->flushing, (off_t)(p->written - p->flushing),
	    SYNC_FILE_RANGE_WRITE);
	p->flushing = p->written;
#else
	(void)p;
#endif
}

static int
fs_put_write(struct backend_put *bp, const void *buf, size_t len)
{
	struct fs_put *p = (struct fs_put *)bp;
	const unsigned char *c = buf;

	if (p->error != 0) {
		errno = p->error;
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(p->fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			p->error = errno;
			return -1;
		}
		c += n;
		len -= (size_t)n;
		p->written += (uint64_t)n;
	}
	fs_put_flush_early(p);
	return 0;
}

static int
fs_put_commit(struct backend_put *bp)
{
	struct fs_put *p = (struct fs_put *)bp;
	struct fs_backend *fs = p->fs;
	char dir[BACKEND_KEY_MAX + 1];
	const char *base = key_split(p->key, dir);
	int dirfd, fd;

	if (p->error != 0) {
		errno = p->error;
		goto err0;
	}
	if (fsync(p->fd) != 0)
		goto err0;
	fd = p->fd;
	p->fd = -1;
	if (close(fd) != 0)
		goto err0;
	if ((dirfd = fs_dir_open_create(fs, dir)) == -1)
		goto err0;
	if (renameat(fs->tmpfd, p->tmpname, dirfd, base) != 0)
		goto err1;
	if (fsync(dirfd) != 0)
		goto err2;
	close(dirfd);
	free(p);
	return 0;

err2:
	/* The contract is "nothing visible on failure": take it back. */
	{
		int saved = errno;
		unlinkat(dirfd, base, 0);
		errno = saved;
	}
err1:
	close_keep_errno(dirfd);
err0:
	fs_put_free(p);
	return -1;
}

static void
fs_put_abort(struct backend_put *bp)
{
	if (bp == NULL)
		return;
	fs_put_free((struct fs_put *)bp);
}

/* A key that names a directory, or has a file where a directory should be,
 * is simply not there. */
static void
enoent_if_not_key(void)
{
	if (errno == ENOTDIR || errno == EISDIR)
		errno = ENOENT;
}

static int
fs_open(struct backend *b, const char *key, struct backend_reader **out,
    uint64_t *size)
{
	struct fs_backend *fs = (struct fs_backend *)b;
	struct fs_reader *r;
	struct stat st;
	int fd;

	if (!fs_key_ok(key))
		goto err0;
	if ((fd = openat(fs->rootfd, key, O_RDONLY | O_CLOEXEC)) == -1) {
		enoent_if_not_key();
		goto err0;
	}
	if (fstat(fd, &st) != 0)
		goto err1;
	if (!S_ISREG(st.st_mode)) {
		errno = ENOENT;
		goto err1;
	}
	if ((r = malloc(sizeof(*r))) == NULL)
		goto err1;
	r->fd = fd;
	*out = (struct backend_reader *)r;
	*size = (uint64_t)st.st_size;
	return 0;

err1:
	close_keep_errno(fd);
err0:
	return -1;
}

static ssize_t
fs_read(struct backend_reader *br, uint64_t off, void *buf, size_t len)
{
	struct fs_reader *r = (struct fs_reader *)br;
	ssize_t n;

	/* No file is that large, so this offset is past its end. */
	if (off > (uint64_t)INT64_MAX)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	do
		n = pread(r->fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n;
}

static void
fs_close(struct backend_reader *br)
{
	struct fs_reader *r = (struct fs_reader *)br;

	if (r == NULL)
		return;
	close(r->fd);
	free(r);
}

static int
fs_stat(struct backend *b, const char *key, uint64_t *size)
{
	struct fs_backend *fs = (struct fs_backend *)b;
	struct stat st;

	if (!fs_key_ok(key))
		return -1;
	if (fstatat(fs->rootfd, key, &st, 0) != 0) {
		enoent_if_not_key();
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = ENOENT;
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static int
fs_remove(struct backend *b, const char *key)
{
	struct fs_backend *fs = (struct fs_backend *)b;
	char dir[BACKEND_KEY_MAX + 1];
	const char *base;
	int dirfd;

	if (!fs_key_ok(key))
		goto err0;
	base = key_split(key, dir);
	if ((dirfd = dir_open(fs->rootfd, dir)) == -1) {
		enoent_if_not_key();
		goto err0;
	}
	if (unlinkat(dirfd, base, 0) != 0) {
		enoent_if_not_key();
		goto err1;
	}
	if (fsync(dirfd) != 0)
		goto err1;
	close(dirfd);
	return 0;

err1:
	close_keep_errno(dirfd);
err0:
	return -1;
}

/* State of one list walk. key holds the path of the directory being read,
 * with a trailing '/', followed by the entry under consideration. */
struct fs_walk {
	const char *prefix;
	size_t plen;
	int (*cb)(const char *key, uint64_t size, void *arg);
	void *arg;
	char key[BACKEND_KEY_MAX + 2];
};

static int fs_walk_dir(struct fs_walk *w, int fd, size_t keylen);

/*
 * Considers the entry name of the directory dfd, whose own key prefix is
 * w->key[0..keylen). Returns 0 to go on, the callback's non-zero value, or
 * -1 on error.
 */
static int
fs_walk_entry(struct fs_walk *w, int dfd, const char *name, size_t keylen)
{
	size_t nlen = strlen(name);
	size_t klen = keylen + nlen;
	struct stat st;
	int fd;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (keylen == 0 && strcmp(name, FS_TMPDIR) == 0)
		return 0;
	if (klen > BACKEND_KEY_MAX)
		return 0; /* too long to be a key or to hold one */
	memcpy(w->key + keylen, name, nlen + 1);
	if (strncmp(w->key, w->prefix, klen < w->plen ? klen : w->plen) != 0)
		return 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -1; /* removed under our feet */
	if (S_ISREG(st.st_mode)) {
		if (klen < w->plen || !backend_key_valid(w->key))
			return 0;
		return w->cb(w->key, (uint64_t)st.st_size, w->arg);
	}
	if (!S_ISDIR(st.st_mode) || klen + 1 > BACKEND_KEY_MAX)
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	w->key[klen] = '/';
	w->key[klen + 1] = '\0';
	return fs_walk_dir(w, fd, klen + 1);
}

/* Walks the directory open on fd (which it takes over and closes). */
static int
fs_walk_dir(struct fs_walk *w, int fd, size_t keylen)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = fdopendir(fd)) == NULL) {
		close_keep_errno(fd);
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				rc = -1;
			break;
		}
		if ((rc = fs_walk_entry(w, dirfd(d), de->d_name, keylen)) != 0)
			break;
	}
	{
		int saved = errno;
		closedir(d);
		errno = saved;
	}
	return rc;
}

static int
fs_list(struct backend *b, const char *prefix,
    int (*cb)(const char *key, uint64_t size, void *arg), void *arg)
{
	struct fs_backend *fs = (struct fs_backend *)b;
	struct fs_walk w = {prefix, strlen(prefix), cb, arg, {0}};
	const char *slash = strrchr(prefix, '/');
	size_t dlen = slash != NULL ? (size_t)(slash - prefix) : 0;
	int fd;

	/* Start at the deepest directory the prefix names in full. */
	if (slash != NULL) {
		if (dlen > BACKEND_KEY_MAX - 2)
			return 0;
		memcpy(w.key, prefix, dlen);
		w.key[dlen] = '\0';
		/* No key lies under a directory that is not a valid key. */
		if (!fs_key_ok(w.key))
			return 0;
		w.key[dlen++] = '/';
		w.key[dlen] = '\0';
	}
	if ((fd = dir_open(fs->rootfd, w.key)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return -1;
	}
	return fs_walk_dir(&w, fd, dlen);
}

static int
fs_space(struct backend *b, uint64_t *avail)
{
	struct fs_backend *fs = (struct fs_backend *)b;
	struct statvfs sv;
	uint64_t blocks, bsize;

	if (fstatvfs(fs->rootfd, &sv) != 0)
		return -1;
	blocks = sv.f_bavail;
	bsize = sv.f_frsize != 0 ? sv.f_frsize : sv.f_bsize;
	if (bsize != 0 && blocks > UINT64_MAX / bsize)
		*avail = UINT64_MAX;
	else
		*avail = blocks * bsize;
	return 0;
}

static void
fs_free(struct backend *b)
{
	struct fs_backend *fs = (struct fs_backend *)b;

	if (fs == NULL)
		return;
	close(fs->tmpfd);
	close(fs->rootfd);
	pthread_rwlock_destroy(&fs->dirlock);
	free(fs);
}

static const struct backend_ops fs_ops = {
	.name = "fs",
	.put_begin = fs_put_begin,
	.put_write = fs_put_write,
	.put_commit = fs_put_commit,
	.put_abort = fs_put_abort,
	.open = fs_open,
	.read = fs_read,
	.close = fs_close,
	.stat = fs_stat,
	.remove = fs_remove,
	.list = fs_list,
	.space = fs_space,
	.free = fs_free,
};

/* Removes every file in the temp directory: uploads a crash cut short. */
static int
fs_tmp_clean(int tmpfd)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if ((fd = dir_open(tmpfd, "")) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close_keep_errno(fd);
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				rc = -1;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* A directory here is not one of ours; leave it. */
		if (unlinkat(tmpfd, de->d_name, 0) != 0 && errno != ENOENT &&
		    errno != EISDIR) {
			rc = -1;
			break;
		}
	}
	{
		int saved = errno;
		closedir(d);
		errno = saved;
	}
	return rc;
}

struct backend *
backend_fs_open(const char *root)
{
	struct fs_backend *fs;

	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		goto err0;
	fs->base.ops = &fs_ops;
	atomic_init(&fs->seq, 0);
	if (mkdirs_at(AT_FDCWD, root) != 0)
		goto err1;
	if ((fs->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto err1;
	if (mkdirat(fs->rootfd, FS_TMPDIR, FS_DIR_MODE) != 0 && errno != EEXIST)
		goto err2;
	fs->tmpfd = openat(fs->rootfd, FS_TMPDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->tmpfd == -1)
		goto err2;
	if (fs_tmp_clean(fs->tmpfd) != 0)
		goto err3;
	if ((errno = pthread_rwlock_init(&fs->dirlock, NULL)) != 0)
		goto err3;
	return &fs->base;

err3:
	close_keep_errno(fs->tmpfd);
err2:
	close_keep_errno(fs->rootfd);
err1:
	free(fs);
err0:
	return NULL;
}
