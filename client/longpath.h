#ifndef VC_LONGPATH_H
#define VC_LONGPATH_H
/*
 * File system calls on paths of any length (spec/client.md 2.2, 3).
 *
 * The kernel refuses a path of PATH_MAX (4096) bytes or more. Each call
 * here takes a path of any length: a short one goes to the plain *at call
 * with AT_FDCWD; a long one is opened directory by directory, in pieces
 * shorter than PATH_MAX, with openat(O_PATH), and the call is made with
 * the *at form relative to the last directory. Intermediate components are
 * resolved as the kernel resolves them for a plain path (symlinks
 * followed); the last one as the call says (the l* calls do not follow).
 * Only long paths pay for the extra openat calls.
 *
 * Every function returns what its libc namesake returns, with errno set on
 * failure; all are thread-safe (they keep no state).
 */
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct timespec;

/* A path cut for the *at calls: rest, relative to fd (AT_FDCWD for a short
 * path, then rest is the path itself; rest points into the path). */
struct vc_at {
	int fd;
	const char *rest;
};

/* Cuts path. Returns 0, or -1 with errno (a directory on the way cannot be
 * opened). vc_at_close closes what vc_at_open opened. */
int vc_at_open(const char *path, struct vc_at *a);
void vc_at_close(struct vc_at *a);

int vc_lp_lstat(const char *path, struct stat *st);
int vc_lp_open(const char *path, int flags, mode_t mode);
int vc_lp_mkdir(const char *path, mode_t mode);
int vc_lp_unlink(const char *path);
int vc_lp_symlink(const char *target, const char *path);
int vc_lp_mknod(const char *path, mode_t mode, dev_t dev);
ssize_t vc_lp_readlink(const char *path, char *buf, size_t len);
int vc_lp_rename(const char *from, const char *to);
int vc_lp_link(const char *from, const char *to);
int vc_lp_lchown(const char *path, uid_t uid, gid_t gid);
int vc_lp_chmod(const char *path, mode_t mode);
/* utimensat with AT_SYMLINK_NOFOLLOW. */
int vc_lp_lutimens(const char *path, const struct timespec ts[2]);
/* The extended attribute calls without a symlink follow. There is no *at
 * form of them in glibc: a long path is reached as /proc/self/fd/N/rest. */
ssize_t vc_lp_llistxattr(const char *path, char *list, size_t size);
ssize_t vc_lp_lgetxattr(const char *path, const char *name, void *value, size_t size);
int vc_lp_lsetxattr(const char *path, const char *name, const void *value, size_t size);

#endif
