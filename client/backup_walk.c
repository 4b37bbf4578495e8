/*
 * The file system walk of a backup (backup_internal.h): directories in
 * name order, each entry turned into a tree-stream record, changed files
 * read and cut into chunks for the workers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_internal.h"
#include "longpath.h"

/* Reads are small next to a chunk (1 MiB on average), because the bytes of
 * a read past a cut are copied into the next chunk's buffer. */
#define READ_SIZE ((size_t)256 << 10)
/* The longest path the tree can hold: a top-level name, then one
 * component per open directory. Paths are not limited by PATH_MAX: every
 * call goes through longpath.h. */
#define PATH_MAX_BK (VC_TREE_NAME_MAX + 2 + (size_t)VC_TREE_DEPTH_MAX * (255 + 1))

int bk_chunks_reserve(struct bk *b, struct pnode *node, size_t idx);

#define ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)

static void
report(struct bk *b, const char *path, const char *what, int e)
{
	vc_report(&b->r->report, VC_LOG_WARN, "vault: %s %s: %s (left out of the snapshot)",
	    what, path, strerror(e));
	ADD(b->errors, 1);
}

/* An extended attribute left out of the snapshot (vc_fsmeta_warn). */
static void
attr_left_out(void *arg, const char *path, const char *name, const char *why)
{
	struct bk *b = arg;

	vc_report(&b->r->report, VC_LOG_WARN, "vault: %s: extended attribute %s left out: %s",
	    path, name, why);
	ADD(b->errors, 1);
}

/* Frees a node that never reached the stream queue. */
static void
drop_node(struct pnode *p)
{
	vc_fsmeta_free(&p->meta);
	free(p->name);
	free(p->target);
	free(p);
}

static int
excluded(const struct vc_backup_opts *o, const char *path, const char *name)
{
	for (size_t i = 0; i < o->nexcludes; i++) {
		const char *pat = o->excludes[i];

		if (strchr(pat, '/') != NULL ? fnmatch(pat, path, FNM_PATHNAME) == 0 :
		    fnmatch(pat, name, 0) == 0)
			return 1;
	}
	return 0;
}

static void
fill_meta(struct pnode *p, const struct stat *st)
{
	p->n.mode = (uint32_t)(st->st_mode & 07777);
	p->n.uid = st->st_uid;
	p->n.gid = st->st_gid;
	p->n.mtime_sec = st->st_mtim.tv_sec;
	p->n.mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	p->n.ctime_sec = st->st_ctim.tv_sec;
	p->n.ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	p->n.inode = st->st_ino;
	p->n.dev = st->st_dev;
}

/* The key of a (dev, inode) pair in the link table: the ID set hashes on
 * the first 8 bytes, so they get a mix of both. */
static void
link_key(const struct stat *st, uint8_t key[VC_IDSET_ID_LEN])
{
	uint64_t d = st->st_dev, i = st->st_ino, h = (d * UINT64_C(0x9e3779b97f4a7c15)) ^ i;

	h ^= h >> 31;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 29;
	memset(key, 0, VC_IDSET_ID_LEN);
	memcpy(key, &h, 8);
	memcpy(key + 8, &d, 8);
	memcpy(key + 16, &i, 8);
}

/* An unchanged file of the parent whose chunks the vault still holds:
 * takes its chunk list. Returns 1 taken, 0 read it, -1. */
static int
from_parent(struct bk *b, struct pnode *p, const char *rel, const struct stat *st)
{
	const struct vc_pent *e;

	if (!b->has_parent || (e = vc_pmap_get(&b->parent, rel)) == NULL)
		return 0;
	if (e->size != (uint64_t)st->st_size || e->inode != (uint64_t)st->st_ino ||
	    e->mtime_sec != st->st_mtim.tv_sec || e->mtime_nsec != (uint32_t)st->st_mtim.tv_nsec ||
	    e->ctime_sec != st->st_ctim.tv_sec || e->ctime_nsec != (uint32_t)st->st_ctim.tv_nsec)
		return 0;
	for (size_t i = 0; i < e->nchunks; i++) {
		int rc = vc_packer_need(b->pk, e->chunks[i].id);

		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	if (e->nchunks > 0) {
		if (bk_chunks_reserve(b, p, e->nchunks - 1) != 0)
			return -1;
		memcpy(p->chunks, e->chunks, e->nchunks * sizeof(*e->chunks));
	}
	p->n.nchunks = e->nchunks;
	p->n.size = e->size;
	return 1;
}

/* Grows a chunk buffer to hold need bytes. */
static int
grow(uint8_t **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 4096;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if ((q = realloc(*buf, c)) == NULL)
		return -1;
	*buf = q;
	*cap = c;
	return 0;
}

/* Reads fd and submits its chunks for p. 0, or errno of a read error, or
 * -1 (the backup failed). */
static int
read_chunks(struct bk *b, struct pnode *p, int fd, uint64_t expect)
{
	struct vc_chunker_params cp;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, idx = 0;
	uint64_t total = 0;

	vc_chunker_params_get(b->chunker, &cp);
	vc_chunker_reset(b->chunker);
	/* At most the size stat gave: a file that grows while it is read (a log)
	 * would otherwise be read for as long as it grows. do_file says so. */
	while (total < expect) {
		size_t want = READ_SIZE, off;
		ssize_t n;

		if (expect - total < want)
			want = (size_t)(expect - total);
		if (want > cp.max_size - len)
			want = cp.max_size - len;
		if (grow(&buf, &cap, len + want) != 0)
			goto oom;
		n = read(fd, buf + len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			return e;
		}
		if (n == 0)
			break;
		off = len;
		len += (size_t)n;
		total += (uint64_t)n;
		ADD(b->bytes_read, (uint64_t)n);
		ADD(b->done, (uint64_t)n);
		while (off < len) {
			int cut;
			size_t k = vc_chunker_next(b->chunker, buf + off, len - off, &cut);
			uint8_t *next = NULL;
			size_t ncap = 0;

			off += k;
			if (!cut)
				break;
			if (grow(&next, &ncap, len - off > 0 ? len - off : 1) != 0)
				goto oom;
			memcpy(next, buf + off, len - off);
			if (bk_chunks_reserve(b, p, idx) != 0) {
				free(next);
				free(buf);
				return -1;
			}
			if (bk_submit(b, p, idx++, buf, off) != 0) {
				free(next);
				return -1;
			}
			buf = next;
			cap = ncap;
			len -= off;
			off = 0;
		}
	}
	if (len > 0) {
		if (bk_chunks_reserve(b, p, idx) != 0) {
			free(buf);
			return -1;
		}
		if (bk_submit(b, p, idx++, buf, len) != 0)
			return -1;
	} else {
		free(buf);
	}
	p->n.nchunks = idx;
	p->n.size = total;
	return 0;
oom:
	free(buf);
	return bk_set_error(b, "out of memory");
}

static int
do_file(struct bk *b, struct pnode *p, const char *path, const struct stat *st)
{
	uint8_t key[VC_IDSET_ID_LEN];
	int rc, fd, linked = 0;

	p->n.type = VC_NODE_FILE;
	if (st->st_nlink > 1) {
		uint32_t group = 0;

		link_key(st, key);
		/* Group 0: an earlier name of this inode could not be read, so
		 * this one becomes the FILE record. */
		if (vc_idset_get(b->links, key, &group) && group != 0) {
			p->n.type = VC_NODE_HARDLINK;
			p->n.link_group = group;
			bk_enqueue(b, p);
			ADD(b->others, 1);
			return 0;
		}
		if (vc_idset_add(b->links, key, ++b->next_group, NULL) < 0 ||
		    vc_idset_set(b->links, key, b->next_group) != 0)
			return bk_set_error(b, "out of memory");
		p->n.link_group = b->next_group;
		linked = 1;
	}
	if ((rc = from_parent(b, p, path + 1, st)) != 0) {
		if (rc < 0)
			return bk_set_error(b, "cannot read the local cache");
		bk_enqueue(b, p);
		ADD(b->files, 1);
		ADD(b->bytes, p->n.size);
		ADD(b->unchanged, 1);
		ADD(b->done, p->n.size);
		return 0;
	}
	fd = vc_lp_open(path, O_RDONLY | O_NOATIME | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0 && errno == EPERM)
		fd = vc_lp_open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		report(b, path, "cannot open", errno);
		drop_node(p);
		if (linked)
			vc_idset_set(b->links, key, 0);
		return 0;
	}
	if (b->o->verbose)
		vc_report(&b->r->report, VC_LOG_INFO, "%s", path);
	bk_enqueue(b, p);
	rc = read_chunks(b, p, fd, (uint64_t)st->st_size);
	if (rc == 0) {
		struct stat now;

		if (fstat(fd, &now) == 0 && (now.st_size != st->st_size ||
		    now.st_mtim.tv_sec != st->st_mtim.tv_sec ||
		    now.st_mtim.tv_nsec != st->st_mtim.tv_nsec))
			vc_report(&b->r->report, VC_LOG_WARN, "vault: %s changed while it was "
			    "read; the snapshot has the %llu bytes read", path,
			    (unsigned long long)p->n.size);
	}
	close(fd);
	if (rc > 0) {
		/* Its chunks may still be in flight: keep the record, unwritten. */
		p->dropped = 1;
		report(b, path, "cannot read", rc);
		if (linked)
			vc_idset_set(b->links, key, 0);
		return 0;
	}
	if (rc == 0) {
		ADD(b->files, 1);
		ADD(b->bytes, p->n.size);
	}
	return rc;
}

static int walk_entry(struct bk *b, char *path, size_t plen, const char *name,
    unsigned depth, dev_t top_dev);

static int
name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The names in directory path, sorted; NULL and *n = 0 on error (errno). */
static char **
read_names(const char *path, size_t *n)
{
	int fd = vc_lp_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			void *q;

			cap = cap ? 2 * cap : 32;
			if ((q = realloc(v, cap * sizeof(*v))) == NULL)
				goto fail;
			v = q;
		}
		if ((v[*n] = strdup(de->d_name)) == NULL)
			goto fail;
		(*n)++;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), name_cmp);
	return v != NULL ? v : calloc(1, sizeof(*v));
fail:
	{
		int e = errno;

		for (size_t i = 0; i < *n; i++)
			free(v[i]);
		free(v);
		closedir(d);
		*n = 0;
		errno = e;
	}
	return NULL;
}

static int
walk_dir(struct bk *b, char *path, size_t plen, unsigned depth, dev_t top_dev)
{
	size_t n;
	char **names = read_names(path, &n);
	int rc = 0;

	if (names == NULL) {
		report(b, path, "cannot list", errno);
		return 0;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t nl = strlen(names[i]);

		if (plen + 1 + nl >= PATH_MAX_BK) {
			vc_report(&b->r->report, VC_LOG_WARN, "vault: %s/%s: path too long, "
			    "left out", path, names[i]);
			ADD(b->errors, 1);
			continue;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, names[i], nl + 1);
		rc = walk_entry(b, path, plen + 1 + nl, names[i], depth + 1, top_dev);
		path[plen] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int
walk_entry(struct bk *b, char *path, size_t plen, const char *name, unsigned depth,
    dev_t top_dev)
{
	struct stat st;
	struct pnode *p;
	int rc = 0;

	if (bk_failed(b))
		return -1;
	if (depth > 0 && excluded(b->o, path, name))
		return 0;
	if (vc_lp_lstat(path, &st) != 0) {
		report(b, path, "cannot stat", errno);
		return 0;
	}
	if ((p = bk_node_new(name, strlen(name))) == NULL)
		return bk_set_error(b, "out of memory");
	fill_meta(p, &st);
	if (vc_fsmeta_read(path, st.st_uid, st.st_gid, &p->meta, attr_left_out, b) != 0) {
		drop_node(p);
		return bk_set_error(b, "out of memory");
	}
	vc_fsmeta_to_node(&p->meta, &p->n);
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		rc = do_file(b, p, path, &st);
		break;
	case S_IFDIR: {
		struct pnode *end;

		p->n.type = VC_NODE_DIR;
		bk_enqueue(b, p);
		ADD(b->dirs, 1);
		if (depth >= VC_TREE_DEPTH_MAX - 1) {
			vc_report(&b->r->report, VC_LOG_WARN, "vault: %s: nested too deep, "
			    "contents left out", path);
			ADD(b->errors, 1);
		} else if (!b->o->one_fs || st.st_dev == top_dev) {
			rc = walk_dir(b, path, plen, depth, top_dev);
		}
		if ((end = calloc(1, sizeof(*end))) == NULL)
			return bk_set_error(b, "out of memory");
		end->n.type = VC_NODE_END;
		bk_enqueue(b, end);
		break;
	}
	case S_IFLNK: {
		char target[VC_TREE_TARGET_MAX + 1];
		ssize_t n = vc_lp_readlink(path, target, sizeof(target));

		if (n <= 0 || (size_t)n > VC_TREE_TARGET_MAX) {
			report(b, path, "cannot read link", n < 0 ? errno : ENAMETOOLONG);
			drop_node(p);
			return 0;
		}
		if ((p->target = malloc((size_t)n)) == NULL)
			return bk_set_error(b, "out of memory");
		memcpy(p->target, target, (size_t)n);
		p->n.type = VC_NODE_SYMLINK;
		p->n.target = p->target;
		p->n.target_len = (size_t)n;
		bk_enqueue(b, p);
		ADD(b->others, 1);
		break;
	}
	default:
		p->n.type = S_ISFIFO(st.st_mode) ? VC_NODE_FIFO : S_ISCHR(st.st_mode) ? VC_NODE_CHR :
		    S_ISBLK(st.st_mode) ? VC_NODE_BLK : VC_NODE_SOCK;
		p->n.rdev = st.st_rdev;
		bk_enqueue(b, p);
		ADD(b->others, 1);
		break;
	}
	if (rc == 0)
		rc = bk_drain(b, 0);
	return rc;
}

int
bk_walk(struct bk *b, char **abs_paths, size_t n)
{
	char *path = malloc(PATH_MAX_BK);
	size_t found = 0;
	int rc = 0;

	if (path == NULL)
		return bk_set_error(b, "out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct stat st;
		size_t len = strlen(abs_paths[i]);

		if (len >= PATH_MAX_BK || len > VC_TREE_NAME_MAX) {
			rc = bk_set_error(b, "%s: path too long", abs_paths[i]);
			break;
		}
		memcpy(path, abs_paths[i], len + 1);
		if (vc_lp_lstat(path, &st) != 0) {
			report(b, path, "cannot stat", errno);
			continue;
		}
		found++;
		rc = walk_entry(b, path, len, path + 1, 0, st.st_dev);
	}
	free(path);
	/* A snapshot of nothing would look like a backup that worked. */
	if (rc == 0 && found == 0)
		return bk_set_error(b, "none of the paths to back up exists; no snapshot was made");
	return rc;
}

/* Sums what the walk will read, for the ETA; stat only. */
static void
scan(struct bk *b, char *path, size_t plen, unsigned depth, dev_t top_dev)
{
	struct stat st;
	char **names;
	size_t n;

	if (bk_failed(b) || vc_lp_lstat(path, &st) != 0)
		return;
	if (S_ISREG(st.st_mode)) {
		ADD(b->scan_files, 1);
		ADD(b->scan_bytes, (uint64_t)st.st_size);
		return;
	}
	if (!S_ISDIR(st.st_mode) || depth >= VC_TREE_DEPTH_MAX - 1 ||
	    (b->o->one_fs && st.st_dev != top_dev))
		return;
	if ((names = read_names(path, &n)) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);

		if (plen + 1 + nl < PATH_MAX_BK) {
			path[plen] = '/';
			memcpy(path + plen + 1, names[i], nl + 1);
			if (!excluded(b->o, path, names[i]))
				scan(b, path, plen + 1 + nl, depth + 1, top_dev);
			path[plen] = '\0';
		}
		free(names[i]);
	}
	free(names);
}

void *
bk_scan_thread(void *arg)
{
	struct bk *b = arg;
	char *path = malloc(PATH_MAX_BK);
	if (path != NULL) {
		for (size_t i = 0; i < b->o->npaths; i++) {
			struct stat st;
			size_t len = strlen(b->scan_paths[i]);

			if (len >= PATH_MAX_BK || lstat(b->scan_paths[i], &st) != 0)
				continue;
			memcpy(path, b->scan_paths[i], len + 1);
			scan(b, path, len, 0, st.st_dev);
		}
	}
	free(path);
	__atomic_store_n(&b->scan_done, 1, __ATOMIC_RELEASE);
	return NULL;
}
