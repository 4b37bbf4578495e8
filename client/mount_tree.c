/*
 * The tree `vault mount` shows (mount_tree.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "mount_tree.h"

#define CHUNK_CACHE 8           /* decrypted chunks kept for sequential reads */
#define TIME_NAME_LEN 64

/* A snapshot of the view; its tree is loaded on first use. */
struct mt_snap {
	struct vc_snapinfo info;
	struct mt_node *root;
	int loaded, failed;
};

struct cached_chunk {
	uint8_t id[VC_ID_LEN];
	uint8_t *plain;
	size_t len;
	uint64_t used;              /* the read counter when last used */
};

struct mt {
	struct vc_repo *r;
	struct mt_snap *snaps;
	size_t nsnaps;
	struct mt_node *root;
	struct cached_chunk cache[CHUNK_CACHE];
	uint64_t reads;
};

static struct mt_node *
node_new(const char *name, size_t len)
{
	struct mt_node *n = calloc(1, sizeof(*n));

	if (n == NULL || (n->name = strndup(name, len)) == NULL) {
		free(n);
		return NULL;
	}
	return n;
}

static void
node_free(struct mt_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->target);
	free(n->chunks);
	free(n->offs);
	vc_fsmeta_free(&n->meta);
	free(n);
}

/* Appends p to the growable pointer array *v (*n of *cap). */
static int
push(struct mt_node ***v, size_t *n, size_t *cap, struct mt_node *p)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		struct mt_node **k = realloc(*v, c * sizeof(*k));

		if (k == NULL)
			return -1;
		*v = k;
		*cap = c;
	}
	(*v)[(*n)++] = p;
	return 0;
}

static int
add_kid(struct mt_node *dir, struct mt_node *kid)
{
	return push(&dir->kids, &dir->nkids, &dir->ckids, kid);
}

/* A directory made up to hold top-level paths and snapshots. */
static struct mt_node *
dir_new(const char *name, size_t len, int64_t time)
{
	struct mt_node *n = node_new(name, len);

	if (n != NULL) {
		n->type = VC_NODE_DIR;
		n->mode = 0755;
		n->mtime_sec = n->ctime_sec = time;
		n->synthetic = 1;
	}
	return n;
}

static int
kid_cmp(const void *a, const void *b)
{
	return strcmp((*(struct mt_node *const *)a)->name, (*(struct mt_node *const *)b)->name);
}

/* The kid of dir named name (len bytes), or NULL: kids are sorted. */
static struct mt_node *
find_kid(const struct mt_node *dir, const char *name, size_t len)
{
	size_t lo = 0, hi = dir->nkids;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *k = dir->kids[mid]->name;
		int c = strncmp(k, name, len);

		if (c == 0 && k[len] != '\0')
			c = 1;
		if (c == 0)
			return dir->kids[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Sorts the kids of every made-up directory: top-level paths come in
 * memcmp order of the whole path ("a-b" before "a/c"), not per level. */
static void
sort_synthetic(struct mt_node *n)
{
	if (!n->synthetic)
		return;
	qsort(n->kids, n->nkids, sizeof(*n->kids), kid_cmp);
	for (size_t i = 0; i < n->nkids; i++)
		sort_synthetic(n->kids[i]);
}

/* Loading one snapshot's tree. */
struct load {
	struct mt_node *root;
	struct mt_node *stack[VC_TREE_DEPTH_MAX + 1]; /* the open DIRs by depth */
	struct mt_node **groups;    /* FILEs of link groups, in stream order */
	size_t ngroups, cgroups;
	int64_t time;
};

/* The parent of a top-level path: its leading components, made up. */
static struct mt_node *
top_parent(struct load *l, const char *path, const char **leaf)
{
	struct mt_node *dir = l->root;
	const char *p = path, *slash;

	while ((slash = strchr(p, '/')) != NULL) {
		struct mt_node *k = find_kid(dir, p, (size_t)(slash - p));

		if (k == NULL) {
			if ((k = dir_new(p, (size_t)(slash - p), l->time)) == NULL ||
			    add_kid(dir, k) != 0) {
				node_free(k);
				return NULL;
			}
			/* Kept sorted while loading, so find_kid works. */
			qsort(dir->kids, dir->nkids, sizeof(*dir->kids), kid_cmp);
		}
		dir = k;
		p = slash + 1;
	}
	*leaf = p;
	return dir;
}

/* Copies a record's fields into m. */
static int
fill(struct mt_node *m, const struct vc_node *n)
{
	uint64_t off = 0;

	m->type = n->type;
	m->mode = n->mode;
	m->uid = n->uid;
	m->gid = n->gid;
	m->mtime_sec = n->mtime_sec;
	m->mtime_nsec = n->mtime_nsec;
	m->ctime_sec = n->ctime_sec;
	m->ctime_nsec = n->ctime_nsec;
	m->size = n->size;
	m->rdev = n->rdev;
	m->link_group = n->link_group;
	m->nlink = 1;
	if (vc_fsmeta_from_node(n, &m->meta) != 0)
		return -1;
	if (n->type == VC_NODE_SYMLINK && (m->target = strndup(n->target, n->target_len)) == NULL)
		return -1;
	if (n->type != VC_NODE_FILE || n->nchunks == 0)
		return 0;
	m->chunks = malloc(n->nchunks * sizeof(*m->chunks));
	m->offs = malloc(n->nchunks * sizeof(*m->offs));
	if (m->chunks == NULL || m->offs == NULL)
		return -1;
	memcpy(m->chunks, n->chunks, n->nchunks * sizeof(*m->chunks));
	for (size_t i = 0; i < n->nchunks; i++) {
		m->offs[i] = off;
		off += n->chunks[i].len;
	}
	m->nchunks = n->nchunks;
	return 0;
}

/* A HARDLINK's FILE: the earlier FILE of its link group. */
static struct mt_node *
link_file(const struct load *l, uint64_t group)
{
	for (size_t i = l->ngroups; i-- > 0;)
		if (l->groups[i]->link_group == group)
			return l->groups[i];
	return NULL;
}

static int
load_node(const struct vc_node *n, const char *path, unsigned depth, void *arg)
{
	struct load *l = arg;
	struct mt_node *dir, *m;
	const char *leaf = path;

	if (n->type == VC_NODE_END)
		return 0;
	if (n->type == VC_NODE_SOCK)
		return 0; /* as restore: a socket belongs to its program */
	dir = depth == 0 ? top_parent(l, path, &leaf) : l->stack[depth];
	if (depth > 0)
		leaf = strrchr(path, '/') + 1;
	if (dir == NULL || (m = node_new(leaf, strlen(leaf))) == NULL)
		return -1;
	if (fill(m, n) != 0 || add_kid(dir, m) != 0) {
		node_free(m);
		return -1;
	}
	/* A top-level path may land among made-up directories out of order. */
	if (depth == 0 && dir->nkids > 1 && kid_cmp(&dir->kids[dir->nkids - 2], &m) > 0)
		qsort(dir->kids, dir->nkids, sizeof(*dir->kids), kid_cmp);
	if (n->type == VC_NODE_DIR)
		l->stack[depth + 1] = m;
	if (n->type == VC_NODE_HARDLINK && (m->file = link_file(l, n->link_group)) != NULL)
		m->file->nlink++;
	if (n->type == VC_NODE_FILE && n->link_group != 0)
		return push(&l->groups, &l->ngroups, &l->cgroups, m);
	return 0;
}

/* Loads s's tree once. 0, or -1 (named on standard error, remembered). */
static int
snap_load(struct mt *t, struct mt_snap *s)
{
	struct load l;
	char err[VC_ERR_LEN];

	if (s->loaded)
		return 0;
	if (s->failed)
		return -1;
	memset(&l, 0, sizeof(l));
	l.time = s->info.body.time;
	if ((l.root = dir_new("", 0, l.time)) == NULL)
		return -1;
	l.stack[0] = l.root;
	err[0] = '\0';
	if (vc_repo_tree_walk(t->r, &s->info.body, load_node, &l, err, sizeof(err)) != 0) {
		char hex[65];

		vc_hex(s->info.id, 1, hex);
		vc_report(&t->r->report, VC_LOG_ERROR, "vault: mount: cannot read the tree of "
		    "snapshot %s: %s", hex,
		    err[0] != '\0' ? err : "out of memory");
		node_free(l.root);
		free(l.groups);
		s->failed = 1;
		return -1;
	}
	free(l.groups);
	sort_synthetic(l.root);
	s->root = l.root;
	s->loaded = 1;
	return 0;
}

/* The directory n stands for: a snapshot's tree root, or itself. */
static struct mt_node *
resolve(struct mt *t, struct mt_node *n, int *e)
{
	if (n->snap != NULL) {
		if (snap_load(t, n->snap) != 0) {
			*e = EIO;
			return NULL;
		}
		return n->snap->root;
	}
	return n->file != NULL ? n->file : n;
}

int
mt_kids(struct mt *t, struct mt_node *n, struct mt_node ***kids, size_t *nkids)
{
	int e = 0;
	struct mt_node *d = resolve(t, n, &e);

	if (d == NULL)
		return -e;
	*kids = d->kids;
	*nkids = d->nkids;
	return 0;
}

struct mt_node *
mt_lookup(struct mt *t, const char *path, int *e)
{
	struct mt_node *n = t->root;
	const char *p = path;

	while (*p == '/')
		p++;
	while (*p != '\0') {
		const char *end = strchrnul(p, '/');
		struct mt_node *d = resolve(t, n, e);

		if (d == NULL)
			return NULL;
		if (d->type != VC_NODE_DIR) {
			*e = ENOTDIR;
			return NULL;
		}
		if ((n = find_kid(d, p, (size_t)(end - p))) == NULL) {
			*e = ENOENT;
			return NULL;
		}
		for (p = end; *p == '/'; p++)
			;
	}
	/* A snapshot's directory is shown with its tree's root; a hard link
	 * as its file. */
	if (n->snap != NULL)
		return n;
	return n->file != NULL ? n->file : n;
}

void
mt_stat(const struct mt_node *n, struct stat *st)
{
	static const mode_t fmt[] = {
		[VC_NODE_FILE] = S_IFREG, [VC_NODE_DIR] = S_IFDIR, [VC_NODE_SYMLINK] = S_IFLNK,
		[VC_NODE_HARDLINK] = S_IFREG, [VC_NODE_FIFO] = S_IFIFO, [VC_NODE_CHR] = S_IFCHR,
		[VC_NODE_BLK] = S_IFBLK, [VC_NODE_SOCK] = S_IFSOCK,
	};

	memset(st, 0, sizeof(*st));
	st->st_mode = fmt[n->type] | (mode_t)n->mode;
	st->st_nlink = n->type == VC_NODE_DIR ? 2 : n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_size = n->type == VC_NODE_SYMLINK ? (off_t)strlen(n->target) : (off_t)n->size;
	st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
	st->st_rdev = (dev_t)n->rdev;
	st->st_mtim.tv_sec = n->mtime_sec;
	st->st_mtim.tv_nsec = n->mtime_nsec;
	st->st_ctim.tv_sec = n->ctime_sec;
	st->st_ctim.tv_nsec = n->ctime_nsec;
	st->st_atim = st->st_mtim;
}

/* The plaintext of chunk c, from the small cache or read through the
 * repository (the index cache says where it is; one range request). */
static const struct cached_chunk *
chunk_get(struct mt *t, const struct vc_chunk_ref *c)
{
	struct cached_chunk *slot = &t->cache[0];
	char err[VC_ERR_LEN], hex[65];

	t->reads++;
	for (size_t i = 0; i < CHUNK_CACHE; i++) {
		if (t->cache[i].plain != NULL && memcmp(t->cache[i].id, c->id, VC_ID_LEN) == 0) {
			t->cache[i].used = t->reads;
			return &t->cache[i];
		}
		if (t->cache[i].used < slot->used)
			slot = &t->cache[i];
	}
	free(slot->plain);
	slot->plain = NULL;
	if (vc_repo_read_chunk(t->r, c->id, &slot->plain, &slot->len, err, sizeof(err)) != 0) {
		vc_hex(c->id, 0, hex);
		vc_report(&t->r->report, VC_LOG_ERROR, "vault: mount: cannot read chunk %s: %s",
		    hex, err);
		slot->plain = NULL;
		return NULL;
	}
	if (slot->len != c->len) {
		vc_hex(c->id, 0, hex);
		vc_report(&t->r->report, VC_LOG_ERROR, "vault: mount: chunk %s has %zu bytes, the "
		    "tree says %u", hex,
		    slot->len, c->len);
		free(slot->plain);
		slot->plain = NULL;
		return NULL;
	}
	memcpy(slot->id, c->id, VC_ID_LEN);
	slot->used = t->reads;
	return slot;
}

long
mt_read(struct mt *t, struct mt_node *n, char *buf, size_t size, uint64_t off)
{
	size_t done = 0, lo = 0, hi;

	if (n->file != NULL)
		n = n->file;
	if (off >= n->size || n->nchunks == 0)
		return 0;
	if (size > n->size - off)
		size = (size_t)(n->size - off);
	/* The last chunk that starts at or before off. */
	hi = n->nchunks;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (n->offs[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n->nchunks && done < size; i++) {
		const struct cached_chunk *c = chunk_get(t, &n->chunks[i]);
		uint64_t in = off + done - n->offs[i];
		size_t k;

		if (c == NULL)
			return -EIO;
		k = c->len - (size_t)in < size - done ? c->len - (size_t)in : size - done;
		memcpy(buf + done, c->plain + in, k);
		done += k;
	}
	return (long)done;
}

/* "2026-12-04T17:13:20Z": a snapshot's name under snapshots/. */
static void
time_name(int64_t sec, char *buf, size_t len)
{
	time_t tt = (time_t)sec;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)sec);
}

/* The root of "all": ids/, snapshots/ and the latest link. Two snapshots
 * of one second get their short ID after the time. */
static int
build_all(struct mt *t)
{
	struct mt_node *ids, *times, *latest;
	char name[TIME_NAME_LEN + 16], prev[TIME_NAME_LEN] = "", hex[65];
	int64_t newest = t->nsnaps > 0 ? t->snaps[t->nsnaps - 1].info.body.time : 0;

	if ((ids = dir_new("ids", 3, newest)) == NULL || add_kid(t->root, ids) != 0 ||
	    (times = dir_new("snapshots", 9, newest)) == NULL || add_kid(t->root, times) != 0)
		return -1;
	for (size_t i = 0; i < t->nsnaps; i++) {
		struct mt_snap *s = &t->snaps[i];
		struct mt_node *a, *b;
		char tn[TIME_NAME_LEN];

		vc_hex(s->info.id, 0, hex);
		time_name(s->info.body.time, tn, sizeof(tn));
		if ((a = dir_new(hex, 64, s->info.body.time)) == NULL || add_kid(ids, a) != 0)
			return -1;
		if (strcmp(tn, prev) == 0 ||
		    (i + 1 < t->nsnaps && t->snaps[i + 1].info.body.time == s->info.body.time))
			snprintf(name, sizeof(name), "%s-%.8s", tn, hex);
		else
			snprintf(name, sizeof(name), "%s", tn);
		snprintf(prev, sizeof(prev), "%s", tn);
		if ((b = dir_new(name, strlen(name), s->info.body.time)) == NULL ||
		    add_kid(times, b) != 0)
			return -1;
		a->snap = b->snap = s;
		a->synthetic = b->synthetic = 0;
	}
	qsort(ids->kids, ids->nkids, sizeof(*ids->kids), kid_cmp);
	qsort(times->kids, times->nkids, sizeof(*times->kids), kid_cmp);
	if (t->nsnaps > 0) {
		if ((latest = node_new("latest", 6)) == NULL || add_kid(t->root, latest) != 0)
			return -1;
		latest->type = VC_NODE_SYMLINK;
		latest->mode = 0777;
		latest->nlink = 1;
		latest->mtime_sec = newest;
		snprintf(name, sizeof(name), "snapshots/%s",
		    times->kids[times->nkids - 1]->name);
		if ((latest->target = strdup(name)) == NULL)
			return -1;
	}
	qsort(t->root->kids, t->root->nkids, sizeof(*t->root->kids), kid_cmp);
	return 0;
}

struct mt *
mt_open(struct vc_repo *r, struct vc_snapinfo *list, size_t n, int all, char *err,
    size_t errlen)
{
	struct mt *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->snaps = calloc(n + 1, sizeof(*t->snaps))) == NULL)
		goto oom;
	t->r = r;
	for (size_t i = 0; i < n; i++) {
		t->snaps[i].info = list[i];
		memset(&list[i], 0, sizeof(list[i]));
	}
	t->nsnaps = n;
	if (!all) {
		if (n != 1 || snap_load(t, &t->snaps[0]) != 0) {
			snprintf(err, errlen, "cannot read the snapshot's tree");
			mt_free(t);
			return NULL;
		}
		t->root = t->snaps[0].root;
		t->snaps[0].root = NULL;
		return t;
	}
	if ((t->root = dir_new("", 0, n > 0 ? t->snaps[n - 1].info.body.time : 0)) == NULL ||
	    build_all(t) != 0)
		goto oom;
	return t;
oom:
	snprintf(err, errlen, "out of memory");
	mt_free(t);
	return NULL;
}

void
mt_free(struct mt *t)
{
	if (t == NULL)
		return;
	node_free(t->root);
	for (size_t i = 0; i < t->nsnaps; i++) {
		node_free(t->snaps[i].root);
		vc_snapinfo_free(&t->snaps[i].info);
	}
	free(t->snaps);
	for (size_t i = 0; i < CHUNK_CACHE; i++)
		free(t->cache[i].plain);
	free(t);
}
