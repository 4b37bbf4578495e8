/*
 * client/longpath.c and client/fsmeta.c on a real file system: every call
 * on a path of more than twice PATH_MAX (which the plain calls refuse),
 * errors keep their errno, and extended attributes and owner names read
 * back as they were set (spec/tree.md 3, "Version 2").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fsmeta.h"
#include "longpath.h"

#define LEVELS 40                 /* of 250-byte names: past 10000 bytes */
#define NAME_LEN 250

static char base[64];

/* base/NNNddd.../NNNddd... LEVELS deep, made with mkdirat. */
static char *
deep_dir(void)
{
	size_t cap = strlen(base) + LEVELS * (NAME_LEN + 1) + 1;
	char *p = malloc(cap), name[NAME_LEN + 1];
	int fd = open(base, O_RDONLY | O_DIRECTORY), nfd;

	assert_non_null(p);
	assert_true(fd >= 0);
	strcpy(p, base);
	for (int i = 0; i < LEVELS; i++) {
		memset(name, 'd', NAME_LEN);
		name[NAME_LEN] = '\0';
		memcpy(name, "000", 3);
		name[0] = (char)('0' + i / 10);
		name[1] = (char)('0' + i % 10);
		assert_int_equal(mkdirat(fd, name, 0755), 0);
		nfd = openat(fd, name, O_RDONLY | O_DIRECTORY);
		assert_true(nfd >= 0);
		close(fd);
		fd = nfd;
		strcat(p, "/");
		strcat(p, name);
	}
	close(fd);
	assert_true(strlen(p) > 2 * PATH_MAX);
	return p;
}

static char *
join(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);

	assert_non_null(p);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

static void
test_long_paths(void **state)
{
	char *dir = deep_dir(), *f = join(dir, "f"), *g = join(dir, "g"), *l = join(dir, "l");
	char *h = join(dir, "h"), *sub = join(dir, "sub"), buf[64];
	struct timespec ts[2] = { { 1000000000, 5 }, { 1000000000, 5 } };
	struct stat st;
	int fd;

	(void)state;
	/* The plain call refuses the path; the longpath one does not. */
	assert_int_equal(lstat(dir, &st), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(vc_lp_lstat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	fd = vc_lp_open(f, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(vc_lp_rename(f, g), 0);
	assert_int_equal(vc_lp_lstat(f, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(vc_lp_link(g, h), 0);
	assert_int_equal(vc_lp_lstat(g, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(vc_lp_chmod(g, 0640), 0);
	assert_int_equal(vc_lp_lchown(g, getuid(), getgid()), 0);
	assert_int_equal(vc_lp_lutimens(g, ts), 0);
	assert_int_equal(vc_lp_lstat(h, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
	assert_int_equal(vc_lp_symlink("g", l), 0);
	assert_int_equal(vc_lp_readlink(l, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'g');
	assert_int_equal(vc_lp_mkdir(sub, 0700), 0);
	assert_int_equal(vc_lp_mkdir(sub, 0700), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(vc_lp_mknod(f, S_IFIFO | 0600, 0), 0);
	assert_int_equal(vc_lp_lstat(f, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	/* Extended attributes, where the file system has them. */
	if (vc_lp_lsetxattr(g, "user.k", "v1", 2) == 0) {
		assert_int_equal(vc_lp_lgetxattr(g, "user.k", buf, sizeof(buf)), 2);
		assert_memory_equal(buf, "v1", 2);
		assert_int_equal(vc_lp_llistxattr(g, buf, sizeof(buf)), 7);
	} else {
		assert_int_equal(errno, ENOTSUP);
	}
	assert_int_equal(vc_lp_unlink(f), 0);
	assert_int_equal(vc_lp_unlink(l), 0);
	assert_int_equal(vc_lp_unlink(h), 0);
	assert_int_equal(vc_lp_unlink(g), 0);
	assert_int_equal(vc_lp_unlink(g), -1);
	assert_int_equal(errno, ENOENT);
	free(dir);
	free(f);
	free(g);
	free(l);
	free(h);
	free(sub);
}

/* A directory on the way that is not one: the error of its openat. */
static void
test_errors(void **state)
{
	char *file = join(base, "plain"), *p, tail[LEVELS * (NAME_LEN + 1)];
	struct vc_at a;
	struct stat st;
	int fd;

	(void)state;
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* plain/x.../x...: long, through a file. */
	memset(tail, 'x', sizeof(tail) - 1);
	tail[sizeof(tail) - 1] = '\0';
	for (size_t i = NAME_LEN; i < sizeof(tail) - 1; i += NAME_LEN + 1)
		tail[i] = '/';
	p = join(file, tail);
	assert_int_equal(vc_lp_lstat(p, &st), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(vc_at_open(p, &a), -1);
	assert_int_equal(errno, ENOTDIR);
	/* A short path is not opened at all. */
	assert_int_equal(vc_at_open(file, &a), 0);
	assert_int_equal(a.fd, AT_FDCWD);
	assert_ptr_equal(a.rest, file);
	vc_at_close(&a);
	free(p);
	free(file);
}

static void
warn_none(void *arg, const char *path, const char *name, const char *why)
{
	(void)arg;
	fail_msg("unexpected warning: %s %s: %s", path, name, why);
}

/* Attributes and owner names read back, sorted, and set again. */
static void
test_fsmeta(void **state)
{
	char *f = join(base, "meta"), *g = join(base, "meta2");
	struct vc_fsmeta m, c;
	struct vc_node n = { 0 };
	char buf[16];
	int fd;

	(void)state;
	fd = open(f, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	fd = open(g, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	if (setxattr(f, "user.b", "2", 1, 0) != 0) {
		assert_int_equal(errno, ENOTSUP);
		skip();
	}
	assert_int_equal(setxattr(f, "user.a", "", 0, 0), 0);
	assert_int_equal(vc_fsmeta_read(f, 0, 0, &m, warn_none, NULL), 0);
	assert_true(m.user_len == 4 && memcmp(m.user, "root", 4) == 0);
	assert_true(m.group_len == 4 && memcmp(m.group, "root", 4) == 0);
	assert_int_equal(m.nxattrs, 2);
	assert_true(m.xattrs[0].name_len == 6 && memcmp(m.xattrs[0].name, "user.a", 6) == 0);
	assert_int_equal(m.xattrs[0].value_len, 0);
	assert_true(m.xattrs[1].value_len == 1 && m.xattrs[1].value[0] == '2');
	vc_fsmeta_to_node(&m, &n);
	assert_int_equal(vc_fsmeta_from_node(&n, &c), 0);
	assert_int_equal(vc_fsmeta_apply(g, &c, geteuid() == 0, warn_none, NULL), 0);
	assert_int_equal(getxattr(g, "user.b", buf, sizeof(buf)), 1);
	assert_int_equal(getxattr(g, "user.a", buf, sizeof(buf)), 0);
	assert_int_equal(vc_fsmeta_uid("root", 4, 77), 0);
	assert_int_equal(vc_fsmeta_uid("no such user here", 17, 77), 77);
	assert_int_equal(vc_fsmeta_gid("", 0, 78), 78);
	vc_fsmeta_free(&c);
	vc_fsmeta_free(&m);
	free(f);
	free(g);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/vc-longpath.XXXXXX");
	return mkdtemp(base) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	/* rm copes with paths past PATH_MAX. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_paths),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_fsmeta),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
