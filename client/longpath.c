/*
 * File system calls on paths of any length (longpath.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "longpath.h"

/* Pieces stay this far below PATH_MAX, so that "/proc/self/fd/N/" fits in
 * front of the last one. */
#define PIECE_MAX (PATH_MAX - 64)
#define PROC_FD_LEN 32            /* "/proc/self/fd/%d/" */

int
vc_at_open(const char *path, struct vc_at *a)
{
	const char *p = path;
	char *piece;
	int fd = AT_FDCWD;

	a->fd = AT_FDCWD;
	a->rest = path;
	if (strlen(path) < PIECE_MAX)
		return 0;
	if ((piece = malloc(PIECE_MAX)) == NULL)
		return -1;
	while (strlen(p) >= PIECE_MAX) {
		const char *cut = p + PIECE_MAX - 1;
		int nfd;

		/* The last '/' that leaves a piece shorter than PIECE_MAX; a
		 * component is at most NAME_MAX, so there is one. */
		while (cut > p && *cut != '/')
			cut--;
		if (cut == p) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(piece, p, (size_t)(cut - p));
		piece[cut - p] = '\0';
		nfd = openat(fd, piece, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (nfd < 0)
			goto fail;
		if (fd != AT_FDCWD)
			close(fd);
		fd = nfd;
		while (*cut == '/')
			cut++;
		p = cut;
	}
	free(piece);
	a->fd = fd;
	a->rest = p;
	return 0;
fail:
	{
		int e = errno;

		if (fd != AT_FDCWD)
			close(fd);
		free(piece);
		errno = e;
	}
	return -1;
}

void
vc_at_close(struct vc_at *a)
{
	if (a->fd != AT_FDCWD) {
		int e = errno;

		close(a->fd);
		errno = e;
	}
	a->fd = AT_FDCWD;
}

/* Runs call with a_ cut from path, keeping the call's errno. */
#define WITH_AT(path, type, call) do {                                  \
	struct vc_at a_;                                                \
	type rc_;                                                       \
	if (vc_at_open((path), &a_) != 0)                               \
		return -1;                                              \
	rc_ = (call);                                                   \
	vc_at_close(&a_);                                               \
	return rc_;                                                     \
} while (0)

int
vc_lp_lstat(const char *path, struct stat *st)
{
	WITH_AT(path, int, fstatat(a_.fd, a_.rest, st, AT_SYMLINK_NOFOLLOW));
}

int
vc_lp_open(const char *path, int flags, mode_t mode)
{
	WITH_AT(path, int, openat(a_.fd, a_.rest, flags, mode));
}

int
vc_lp_mkdir(const char *path, mode_t mode)
{
	WITH_AT(path, int, mkdirat(a_.fd, a_.rest, mode));
}

int
vc_lp_unlink(const char *path)
{
	WITH_AT(path, int, unlinkat(a_.fd, a_.rest, 0));
}

int
vc_lp_symlink(const char *target, const char *path)
{
	WITH_AT(path, int, symlinkat(target, a_.fd, a_.rest));
}

int
vc_lp_mknod(const char *path, mode_t mode, dev_t dev)
{
	WITH_AT(path, int, mknodat(a_.fd, a_.rest, mode, dev));
}

ssize_t
vc_lp_readlink(const char *path, char *buf, size_t len)
{
	WITH_AT(path, ssize_t, readlinkat(a_.fd, a_.rest, buf, len));
}

int
vc_lp_lchown(const char *path, uid_t uid, gid_t gid)
{
	WITH_AT(path, int, fchownat(a_.fd, a_.rest, uid, gid, AT_SYMLINK_NOFOLLOW));
}

int
vc_lp_chmod(const char *path, mode_t mode)
{
	WITH_AT(path, int, fchmodat(a_.fd, a_.rest, mode, 0));
}

int
vc_lp_lutimens(const char *path, const struct timespec ts[2])
{
	WITH_AT(path, int, utimensat(a_.fd, a_.rest, ts, AT_SYMLINK_NOFOLLOW));
}

/* Calls of two paths: each cut on its own. */
static int
two_paths(const char *from, const char *to, int link)
{
	struct vc_at a, b;
	int rc;

	if (vc_at_open(from, &a) != 0)
		return -1;
	if (vc_at_open(to, &b) != 0) {
		vc_at_close(&a);
		return -1;
	}
	rc = link ? linkat(a.fd, a.rest, b.fd, b.rest, 0) : renameat(a.fd, a.rest, b.fd, b.rest);
	vc_at_close(&b);
	vc_at_close(&a);
	return rc;
}

int
vc_lp_rename(const char *from, const char *to)
{
	return two_paths(from, to, 0);
}

int
vc_lp_link(const char *from, const char *to)
{
	return two_paths(from, to, 1);
}

/* The path for a call that has no *at form: a's rest behind /proc/self/fd. */
static const char *
proc_path(const struct vc_at *a, char *buf, size_t len)
{
	if (a->fd == AT_FDCWD)
		return a->rest;
	snprintf(buf, len, "/proc/self/fd/%d/%s", a->fd, a->rest);
	return buf;
}

/* WITH_AT for the xattr calls: p_ is the path to give them. */
#define WITH_PROC(path, type, call) do {                                \
	char buf_[PIECE_MAX + PROC_FD_LEN];                             \
	const char *p_;                                                 \
	struct vc_at a_;                                                \
	type rc_;                                                       \
	if (vc_at_open((path), &a_) != 0)                               \
		return -1;                                              \
	p_ = proc_path(&a_, buf_, sizeof(buf_));                        \
	rc_ = (call);                                                   \
	vc_at_close(&a_);                                               \
	return rc_;                                                     \
} while (0)

ssize_t
vc_lp_llistxattr(const char *path, char *list, size_t size)
{
	WITH_PROC(path, ssize_t, llistxattr(p_, list, size));
}

ssize_t
vc_lp_lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	WITH_PROC(path, ssize_t, lgetxattr(p_, name, value, size));
}

int
vc_lp_lsetxattr(const char *path, const char *name, const void *value, size_t size)
{
	WITH_PROC(path, int, lsetxattr(p_, name, value, size, 0));
}
