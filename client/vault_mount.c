/*
 * vault mount SNAPSHOT|all DIR: a read-only FUSE 3 view of snapshots
 * (spec/client.md 4). The tree is mount_tree.c; this is the FUSE glue. The
 * mount runs in the foreground, single-threaded (the repository is not
 * thread-safe), until it is unmounted (fusermount3 -u DIR, umount DIR) or
 * interrupted.
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount_tree.h"
#include "vault.h"

#define FUSE_DEV "/dev/fuse"

static struct mt *
tree(void)
{
	return fuse_get_context()->private_data;
}

static int
m_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	int e = 0;
	struct mt_node *n = mt_lookup(tree(), path, &e);

	(void)fi;
	if (n == NULL)
		return -e;
	mt_stat(n, st);
	return 0;
}

static int
m_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct mt_node **kids, *n;
	size_t nkids;
	int e = 0, rc;

	(void)off;
	(void)fi;
	(void)flags;
	if ((n = mt_lookup(tree(), path, &e)) == NULL)
		return -e;
	if ((rc = mt_kids(tree(), n, &kids, &nkids)) != 0)
		return rc;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	for (size_t i = 0; i < nkids; i++) {
		struct stat st;

		mt_stat(kids[i]->file != NULL ? kids[i]->file : kids[i], &st);
		if (fill(buf, kids[i]->name, &st, 0, 0) != 0)
			break;
	}
	return 0;
}

static int
m_open(const char *path, struct fuse_file_info *fi)
{
	int e = 0;
	struct mt_node *n = mt_lookup(tree(), path, &e);

	if (n == NULL)
		return -e;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	if (n->type == VC_NODE_DIR)
		return -EISDIR;
	/* The contents never change: the kernel may keep its cache. */
	fi->keep_cache = 1;
	return 0;
}

static int
m_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	int e = 0;
	struct mt_node *n = mt_lookup(tree(), path, &e);

	(void)fi;
	if (n == NULL)
		return -e;
	if (off < 0)
		return -EINVAL;
	return (int)mt_read(tree(), n, buf, size, (uint64_t)off);
}

static int
m_readlink(const char *path, char *buf, size_t size)
{
	int e = 0;
	struct mt_node *n = mt_lookup(tree(), path, &e);

	if (n == NULL)
		return -e;
	if (n->type != VC_NODE_SYMLINK || size == 0)
		return -EINVAL;
	snprintf(buf, size, "%s", n->target);
	return 0;
}

static int
m_getxattr(const char *path, const char *name, char *value, size_t size)
{
	int e = 0;
	struct mt_node *n = mt_lookup(tree(), path, &e);
	size_t nl = strlen(name);

	if (n == NULL)
		return -e;
	for (size_t i = 0; i < n->meta.nxattrs; i++) {
		const struct vc_xattr *x = &n->meta.xattrs[i];

		if (x->name_len != nl || memcmp(x->name, name, nl) != 0)
			continue;
		if (size == 0)
			return (int)x->value_len;
		if (size < x->value_len)
			return -ERANGE;
		memcpy(value, x->value, x->value_len);
		return (int)x->value_len;
	}
	return -ENODATA;
}

static int
m_listxattr(const char *path, char *list, size_t size)
{
	int e = 0;
	struct mt_node *n = mt_lookup(tree(), path, &e);
	size_t need = 0;

	if (n == NULL)
		return -e;
	for (size_t i = 0; i < n->meta.nxattrs; i++)
		need += n->meta.xattrs[i].name_len + 1;
	if (size == 0)
		return (int)need;
	if (size < need)
		return -ERANGE;
	for (size_t i = 0; i < n->meta.nxattrs; i++) {
		memcpy(list, n->meta.xattrs[i].name, n->meta.xattrs[i].name_len);
		list += n->meta.xattrs[i].name_len;
		*list++ = '\0';
	}
	return (int)need;
}

static void *
m_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	/* Timeouts: nothing in a snapshot ever changes. */
	cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 3600;
	cfg->kernel_cache = 1;
	return tree();
}

static const struct fuse_operations ops = {
	.init = m_init,
	.getattr = m_getattr,
	.readdir = m_readdir,
	.open = m_open,
	.read = m_read,
	.readlink = m_readlink,
	.getxattr = m_getxattr,
	.listxattr = m_listxattr,
};

/* The snapshots to show: all of them, or the one spec names. */
static struct mt *
open_tree(struct vc_repo *r, const char *spec)
{
	struct vc_snapinfo *list = NULL;
	size_t n = 0;
	char err[VC_ERR_LEN];
	struct mt *t;
	int all = strcmp(spec, "all") == 0;

	if (vc_repo_sync(r, err, sizeof(err)) != 0 ||
	    vc_repo_snapshots(r, &list, &n, err, sizeof(err)) != 0)
		cli_die("%s", err);
	if (!all) {
		long i = vc_repo_find(list, n, spec, err, sizeof(err));
		struct vc_snapinfo one;

		if (i < 0)
			cli_die("%s", err);
		one = list[i];
		memset(&list[i], 0, sizeof(list[i]));
		vc_snapinfo_free_all(list, n);
		if ((list = malloc(sizeof(*list))) == NULL)
			cli_die("out of memory");
		list[0] = one;
		n = 1;
	}
	t = mt_open(r, list, n, all, err, sizeof(err));
	if (t == NULL)
		cli_die("mount: %s", err);
	free(list);
	return t;
}

int
cmd_mount(struct cli *c)
{
	char *fargv[] = { "vault", "-o", "ro,default_permissions,fsname=vault,subtype=vault",
	    NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	const char *dir;
	struct vc_repo *r;
	struct fuse *f;
	struct mt *t;
	int rc;

	if (c->args.n != 2)
		cli_die("usage: vault mount SNAPSHOT|all DIR");
	dir = c->args.v[1];
	/* Before the passphrase and the network: say at once if FUSE is out. */
	if (access(FUSE_DEV, R_OK | W_OK) != 0)
		cli_die("mount: FUSE is not available (%s: %s); install fuse3 and load the fuse "
		    "kernel module, or use `vault restore`", FUSE_DEV, strerror(errno));
	cli_open(c, &r);
	t = open_tree(r, c->args.v[0]);
	if ((f = fuse_new(&args, &ops, sizeof(ops), t)) == NULL)
		cli_die("mount: FUSE refused its options");
	if (fuse_mount(f, dir) != 0)
		cli_die("mount: cannot mount on %s (is it an empty directory, and is FUSE "
		    "usable here? see the message above)", dir);
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0)
		cli_die("mount: cannot set signal handlers");
	if (!c->quiet)
		fprintf(stderr, "vault: snapshot%s mounted read-only on %s; unmount with "
		    "`fusermount3 -u %s` or Ctrl-C\n", t != NULL && strcmp(c->args.v[0], "all") == 0 ?
		    "s" : "", dir, dir);
	rc = fuse_loop(f);
	fuse_remove_signal_handlers(fuse_get_session(f));
	fuse_unmount(f);
	fuse_destroy(f);
	fuse_opt_free_args(&args);
	mt_free(t);
	vc_repo_close(r);
	return rc == 0 ? VAULT_EXIT_OK : VAULT_EXIT_ERROR;
}
