/*
 * Restore (restore.h). Pass one walks the tree, creates directories,
 * links and empty files, and lists every chunk placement; pass two fetches
 * the placements grouped by pack; pass three sets metadata, files first,
 * then hard links, then directories deepest first so that writing into a
 * directory does not disturb its restored mtime.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "fsmeta.h"
#include "idset.h"
#include "longpath.h"
#include "progress.h"
#include "restore.h"

#define RANGE_MAX ((uint64_t)8 << 20)      /* one request reads at most this */
#define RANGE_GAP ((uint64_t)256 << 10)    /* unwanted bytes worth reading over */
#define REQS_IN_FLIGHT 4

/* A restored entry that needs metadata at the end. */
struct rent {
	char *path;                 /* target path */
	char *tmp;                  /* FILE: the temporary name its bytes go to */
	struct vc_node n;           /* strings not kept (owner names, xattrs: meta) */
	struct vc_fsmeta meta;
	int failed;
};

/* One chunk to write: where it is stored and where it goes. */
struct place {
	struct vc_cache_loc loc;
	uint8_t id[VC_ID_LEN];
	size_t file;                /* index in rs.ents */
	uint64_t off;               /* in the file */
};

struct request {
	struct rs *rs;
	size_t first, n;            /* places[first .. first+n) */
	uint64_t off, len;          /* the range of the pack */
	uint8_t *buf;
	int rc;
	char err[VC_ERR_LEN];
	struct request *next;
};

struct link_req {
	char *path;
	uint64_t group;
};

struct rs {
	struct vc_repo *r;
	const struct vc_restore_opts *o;
	struct vc_restore_stats *st;
	struct rent *ents;          /* files, links, specials */
	size_t nents, cents;
	struct rent *dirs;
	size_t ndirs, cdirs;
	struct place *places;
	size_t nplaces, cplaces;
	struct link_req *links;
	size_t nlinks, clinks;
	struct vc_idset *group_ids; /* link group -> index in groups */
	size_t *groups;             /* the ents index of each link group's FILE */
	size_t ngroups, cgroups;
	unsigned long tmp_seq;      /* makes temporary names unique */
	size_t tlen;
	char *tpath;
	size_t tcap;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct request *done_head;  /* fetched, waiting for a worker */
	size_t outstanding;         /* issued, not yet written */
	int stop;
	int done;                   /* pass three ran: temporary files are gone */
	uint64_t bytes_written;
};

static int
grow_array(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *q;

	if (n < *cap)
		return 0;
	if ((q = realloc(*v, c * size)) == NULL)
		return -1;
	*v = q;
	*cap = c;
	return 0;
}

int
vc_restore_selected(char *const *includes, size_t n, const char *path)
{
	int on_way = 0;

	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		const char *inc = includes[i];
		size_t il, pl = strlen(path);

		while (*inc == '/')
			inc++;
		il = strlen(inc);
		while (il > 0 && inc[il - 1] == '/')
			il--;
		if (pl >= il && strncmp(path, inc, il) == 0 && (path[il] == '\0' || path[il] == '/'))
			return 1;
		if (il > pl && strncmp(inc, path, pl) == 0 && inc[pl] == '/')
			on_way = 1;
	}
	return on_way ? 2 : 0;
}

static void
warn_entry(struct rs *rs, const char *what, const char *path, int e)
{
	vc_report(&rs->r->report, VC_LOG_ERROR, "vault: cannot %s %s: %s", what, path,
	    strerror(e));
	__atomic_add_fetch(&rs->st->errors, 1, __ATOMIC_RELAXED);
}

/* Adds path to the list of entries not restored (single-threaded: pass
 * one and pass three only). Returns 0 or -1 (out of memory). */
static int
not_restored(struct rs *rs, const char *path)
{
	struct vc_restore_stats *st = rs->st;
	char *c;

	if (grow_array((void **)&st->failed, &st->cfailed, st->nfailed, sizeof(*st->failed)) != 0)
		return -1;
	if ((c = strdup(path)) == NULL)
		return -1;
	st->failed[st->nfailed++] = c;
	return 0;
}

/* warn_entry for an entry that is therefore not restored at all. */
static int
fail_entry(struct rs *rs, const char *what, const char *path, int e)
{
	warn_entry(rs, what, path, e);
	return not_restored(rs, path);
}

void
vc_restore_stats_free(struct vc_restore_stats *st)
{
	for (size_t i = 0; i < st->nfailed; i++)
		free(st->failed[i]);
	free(st->failed);
	st->failed = NULL;
	st->nfailed = st->cfailed = 0;
}

/* rs->tpath = target "/" path. */
static const char *
target_path(struct rs *rs, const char *path)
{
	size_t need = rs->tlen + 1 + strlen(path) + 1;

	if (need > rs->tcap) {
		char *q = realloc(rs->tpath, need * 2);

		if (q == NULL)
			return NULL;
		rs->tpath = q;
		rs->tcap = need * 2;
	}
	snprintf(rs->tpath, rs->tcap, "%s/%s", rs->o->target, path);
	return rs->tpath;
}

/*
 * Makes path a real directory: one that is there already is kept only if
 * lstat says it is a directory. Anything else under the name (a symlink
 * left in the target, or restored a moment ago from a hostile snapshot, or
 * a file) is removed first, so nothing is ever written through a link to
 * outside the target. Returns 0, or -1 with errno.
 */
static int
real_dir(const char *path, mode_t mode)
{
	struct stat st;

	if (vc_lp_lstat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		if (vc_lp_unlink(path) != 0)
			return -1;
	} else if (errno != ENOENT) {
		return -1;
	}
	return vc_lp_mkdir(path, mode);
}

/* Creates the parents of a top-level path ("usr/share" of "usr/share/doc"),
 * each a real directory (real_dir). */
static int
make_parents(const char *tp, size_t base)
{
	char *p = strdup(tp);

	if (p == NULL)
		return -1;
	for (char *s = p + base + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (real_dir(p, 0755) != 0) {
			int e = errno;

			free(p);
			errno = e;
			return -1;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

/* Removes whatever is at path (not a directory), so that the entry is
 * created afresh: an existing file may be a hard link to something outside
 * the target, which O_TRUNC would write through. */
static int
clear_name(const char *path)
{
	return vc_lp_unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int
add_ent(struct rent **v, size_t *n, size_t *cap, const char *tp,
    const struct vc_node *node)
{
	if (grow_array((void **)v, cap, *n, sizeof(**v)) != 0)
		return -1;
	if (vc_fsmeta_from_node(node, &(*v)[*n].meta) != 0)
		return -1;
	if (((*v)[*n].path = strdup(tp)) == NULL) {
		vc_fsmeta_free(&(*v)[*n].meta);
		return -1;
	}
	(*v)[*n].n = *node;
	(*v)[*n].n.name = NULL;
	(*v)[*n].n.target = NULL;
	(*v)[*n].n.chunks = NULL;
	(*v)[*n].n.user = (*v)[*n].n.group = NULL;
	(*v)[*n].n.xattrs = NULL;
	(*v)[*n].tmp = NULL;
	(*v)[*n].failed = 0;
	(*n)++;
	return 0;
}

/* Lists the placements of a file's chunks. */
static int
add_places(struct rs *rs, const struct vc_node *n, size_t file)
{
	uint64_t off = 0;

	for (size_t i = 0; i < n->nchunks; i++) {
		struct place *p;

		if (grow_array((void **)&rs->places, &rs->cplaces, rs->nplaces, sizeof(*p)) != 0)
			return -1;
		p = &rs->places[rs->nplaces];
		if (vc_cache_lookup(rs->r->cache, n->chunks[i].id, &p->loc) != 0) {
			char hex[65];

			/* That file cannot be restored; the others still can. */
			vc_hex(n->chunks[i].id, 0, hex);
			vc_report(&rs->r->report, VC_LOG_ERROR, "vault: cannot restore %s: its "
			    "chunk %s is in no index segment of the vault (run `vault check`)",
			    rs->ents[file].path,
			    hex);
			rs->ents[file].failed = 1;
			return 0;
		}
		memcpy(p->id, n->chunks[i].id, VC_ID_LEN);
		p->file = file;
		p->off = off;
		off += n->chunks[i].len;
		rs->nplaces++;
	}
	return 0;
}

struct walk_ctx {
	struct rs *rs;
	char *err;
	size_t errlen;
};

/* The key of a link group in rs->group_ids: the ID set hashes its first
 * 8 bytes, so they get a mix of the group number. */
static void
group_key(uint64_t group, uint8_t key[VC_IDSET_ID_LEN])
{
	uint64_t h = group * UINT64_C(0x9e3779b97f4a7c15);

	h ^= h >> 29;
	memset(key, 0, VC_IDSET_ID_LEN);
	memcpy(key, &h, sizeof(h));
	memcpy(key + 8, &group, sizeof(group));
}

/* Remembers rs->ents[ent] as the FILE of link group group. The group
 * number comes from the snapshot, so it indexes nothing directly. */
static int
link_group_set(struct rs *rs, uint64_t group, size_t ent)
{
	uint8_t key[VC_IDSET_ID_LEN];

	group_key(group, key);
	if (vc_idset_get(rs->group_ids, key, NULL))
		return 0;
	if (grow_array((void **)&rs->groups, &rs->cgroups, rs->ngroups, sizeof(*rs->groups)) != 0)
		return -1;
	rs->groups[rs->ngroups] = ent;
	if (vc_idset_add(rs->group_ids, key, (uint32_t)rs->ngroups, NULL) < 0)
		return -1;
	rs->ngroups++;
	return 0;
}

/* The FILE entry of a link group, or NULL. */
static const struct rent *
link_group_get(const struct rs *rs, uint64_t group)
{
	uint8_t key[VC_IDSET_ID_LEN];
	uint32_t i;

	group_key(group, key);
	return vc_idset_get(rs->group_ids, key, &i) ? &rs->ents[rs->groups[i]] : NULL;
}

/*
 * Creates an empty temporary file in the directory of tp (spec/client.md
 * 3): ".vault-restore.N", short so that it fits wherever the final name
 * fits. The file's bytes are written there and it is renamed to tp only
 * once every chunk is in, so a file that is not complete never carries its
 * name. Returns the open descriptor and *tmp (malloc'ed), or -1 (errno).
 */
static int
open_tmp(struct rs *rs, const char *tp, char **tmp)
{
	const char *slash = strrchr(tp, '/');
	size_t dlen = slash != NULL ? (size_t)(slash - tp) + 1 : 0;

	for (int tries = 0; tries < 100; tries++) {
		size_t need = dlen + 48;
		char *t = malloc(need);
		int fd;

		if (t == NULL)
			return -1;
		snprintf(t, need, "%.*s.vault-restore.%lu", (int)dlen, tp, ++rs->tmp_seq);
		fd = vc_lp_open(t, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*tmp = t;
			return fd;
		}
		free(t);
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

static int
create_file(struct rs *rs, const struct vc_node *n, const char *tp)
{
	size_t idx = rs->nents;
	char *tmp = NULL;
	int fd = open_tmp(rs, tp, &tmp);

	if (fd < 0)
		return fail_entry(rs, "create", tp, errno);
	if (n->size > 0 && ftruncate(fd, (off_t)n->size) != 0) {
		int e = errno;

		close(fd);
		vc_lp_unlink(tmp);
		free(tmp);
		return fail_entry(rs, "size", tp, e);
	}
	close(fd);
	if (add_ent(&rs->ents, &rs->nents, &rs->cents, tp, n) != 0) {
		vc_lp_unlink(tmp);
		free(tmp);
		return -1;
	}
	rs->ents[idx].tmp = tmp;
	if (n->link_group != 0 && link_group_set(rs, n->link_group, idx) != 0)
		return -1;
	rs->st->files++;
	rs->st->bytes += n->size;
	return add_places(rs, n, idx);
}

static int
create_special(struct rs *rs, const struct vc_node *n, const char *tp)
{
	int rc = 0;

	switch (n->type) {
	case VC_NODE_SYMLINK: {
		char *t = strndup(n->target, n->target_len);

		if (t == NULL)
			return -1;
		clear_name(tp);
		rc = vc_lp_symlink(t, tp);
		free(t);
		break;
	}
	case VC_NODE_FIFO:
		clear_name(tp);
		rc = vc_lp_mknod(tp, S_IFIFO | 0600, 0);
		break;
	case VC_NODE_CHR:
	case VC_NODE_BLK:
		clear_name(tp);
		rc = vc_lp_mknod(tp, (n->type == VC_NODE_CHR ? S_IFCHR : S_IFBLK) | 0600,
		    (dev_t)n->rdev);
		break;
	case VC_NODE_SOCK:
		return 0; /* a socket is made by the program that listens on it */
	case VC_NODE_HARDLINK: {
		struct link_req *l;

		if (grow_array((void **)&rs->links, &rs->clinks, rs->nlinks, sizeof(*l)) != 0)
			return -1;
		l = &rs->links[rs->nlinks];
		if ((l->path = strdup(tp)) == NULL)
			return -1;
		l->group = n->link_group;
		rs->nlinks++;
		rs->st->others++;
		return 0;
	}
	default:
		return 0;
	}
	if (rc != 0)
		return fail_entry(rs, "create", tp, errno);
	rs->st->others++;
	return add_ent(&rs->ents, &rs->nents, &rs->cents, tp, n);
}

static int
pass_one(const struct vc_node *n, const char *path, unsigned depth, void *arg)
{
	struct walk_ctx *w = arg;
	struct rs *rs = w->rs;
	const char *tp;
	int sel;

	if (n->type == VC_NODE_END)
		return 0;
	sel = vc_restore_selected(rs->o->includes, rs->o->nincludes, path);
	if (sel == 0)
		return 0;
	if (sel == 2 && n->type != VC_NODE_DIR)
		return 0;
	if ((tp = target_path(rs, path)) == NULL)
		return -1;
	if (depth == 0 && make_parents(tp, rs->tlen) != 0) {
		snprintf(w->err, w->errlen, "cannot create the parents of %s: %s", tp,
		    strerror(errno));
		return -1;
	}
	if (rs->o->verbose)
		vc_report(&rs->r->report, VC_LOG_INFO, "%s", tp);
	if (n->type == VC_NODE_DIR) {
		if (real_dir(tp, 0700) != 0)
			return fail_entry(rs, "create", tp, errno);
		rs->st->dirs++;
		return add_ent(&rs->dirs, &rs->ndirs, &rs->cdirs, tp, n);
	}
	if (n->type == VC_NODE_FILE)
		return create_file(rs, n, tp);
	return create_special(rs, n, tp);
}

static int
place_cmp(const void *a, const void *b)
{
	const struct place *x = a, *y = b;
	int c = memcmp(x->loc.pack_id, y->loc.pack_id, VC_ID_LEN);

	if (c != 0)
		return c;
	if (x->loc.offset != y->loc.offset)
		return x->loc.offset < y->loc.offset ? -1 : 1;
	return x->file < y->file ? -1 : x->file > y->file;
}

static int
is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Opens and writes every placement of a fetched range. */
static void
write_request(struct rs *rs, struct request *q)
{
	const struct place *prev = NULL;
	uint8_t *plain = NULL;
	size_t plen = 0;

	for (size_t i = q->first; i < q->first + q->n; i++) {
		const struct place *p = &rs->places[i];
		struct rent *e = &rs->ents[p->file];
		int fd, rc;

		if (q->rc != 0) {
			if (!__atomic_exchange_n(&e->failed, 1, __ATOMIC_RELAXED))
				vc_report(&rs->r->report, VC_LOG_ERROR, "vault: cannot restore %s: %s",
				    e->path, q->err);
			continue;
		}
		if (prev == NULL || memcmp(prev->id, p->id, VC_ID_LEN) != 0) {
			free(plain);
			plain = NULL;
			rc = vc_open(&rs->r->keys, p->id, q->buf + (p->loc.offset - q->off),
			    p->loc.sealed_len, &plain, &plen);
			if (rc == VC_OK && plen != p->loc.plain_len)
				rc = VC_E_CORRUPT;
			if (rc != VC_OK) {
				free(plain);
				plain = NULL;
			}
		}
		prev = p;
		if (plain != NULL && is_zero(plain, plen)) {
			/* The file was made at its full size, so zeros are there
			 * already; not writing them keeps a sparse file sparse. */
			__atomic_add_fetch(&rs->bytes_written, plen, __ATOMIC_RELAXED);
			continue;
		}
		if (plain == NULL) {
			if (!__atomic_exchange_n(&e->failed, 1, __ATOMIC_RELAXED))
				vc_report(&rs->r->report, VC_LOG_ERROR, "vault: cannot restore %s: a "
				    "chunk of it is damaged (authentication failed)", e->path);
			continue;
		}
		fd = vc_lp_open(e->tmp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd < 0 || pwrite(fd, plain, plen, (off_t)p->off) != (ssize_t)plen) {
			if (!__atomic_exchange_n(&e->failed, 1, __ATOMIC_RELAXED))
				vc_report(&rs->r->report, VC_LOG_ERROR, "vault: cannot write %s: %s",
				    e->path, strerror(errno));
		} else {
			__atomic_add_fetch(&rs->bytes_written, plen, __ATOMIC_RELAXED);
		}
		if (fd >= 0)
			close(fd);
	}
	free(plain);
}

static void *
restore_worker(void *arg)
{
	struct rs *rs = arg;

	for (;;) {
		struct request *q;

		pthread_mutex_lock(&rs->mu);
		while (rs->done_head == NULL && !rs->stop)
			pthread_cond_wait(&rs->cv, &rs->mu);
		if ((q = rs->done_head) == NULL) {
			pthread_mutex_unlock(&rs->mu);
			return NULL;
		}
		rs->done_head = q->next;
		pthread_mutex_unlock(&rs->mu);
		write_request(rs, q);
		free(q->buf);
		free(q);
		pthread_mutex_lock(&rs->mu);
		rs->outstanding--;
		pthread_cond_broadcast(&rs->cv);
		pthread_mutex_unlock(&rs->mu);
	}
}

/* Runs on the remote's thread: hands the range to a worker. */
static void
got_range(void *arg, int rc, uint8_t *buf, size_t len, const char *err)
{
	struct request *q = arg;
	struct rs *rs = q->rs;

	q->buf = buf;
	q->rc = rc == 0 && len == q->len ? 0 : -1;
	if (rc == 0 && len != q->len)
		snprintf(q->err, sizeof(q->err), "the vault returned %zu bytes of a pack range "
		    "of %llu", len, (unsigned long long)q->len);
	else if (rc != 0)
		snprintf(q->err, sizeof(q->err), "%s", err != NULL ? err : "download failed");
	pthread_mutex_lock(&rs->mu);
	q->next = rs->done_head;
	rs->done_head = q;
	pthread_cond_broadcast(&rs->cv);
	pthread_mutex_unlock(&rs->mu);
}

/* Issues one request for places[first..first+n). */
static int
issue(struct rs *rs, size_t first, size_t n)
{
	struct request *q = calloc(1, sizeof(*q));
	const struct place *a = &rs->places[first], *z = &rs->places[first + n - 1];

	if (q == NULL)
		return -1;
	q->rs = rs;
	q->first = first;
	q->n = n;
	q->off = a->loc.offset;
	q->len = (uint64_t)z->loc.offset + z->loc.sealed_len - q->off;
	pthread_mutex_lock(&rs->mu);
	while (rs->outstanding >= REQS_IN_FLIGHT)
		pthread_cond_wait(&rs->cv, &rs->mu);
	rs->outstanding++;
	pthread_mutex_unlock(&rs->mu);
	rs->st->requests++;
	if (vc_remote_get_async(rs->r->remote, VSP_KIND_PACK, a->loc.pack_id, q->off, q->len,
	    got_range, q) == 0)
		return 0;
	/* The remote refuses new work after a failed job until the failure is
	 * collected; the failed request has reported itself already. */
	vc_remote_flush(rs->r->remote);
	if (vc_remote_get_async(rs->r->remote, VSP_KIND_PACK, a->loc.pack_id, q->off, q->len,
	    got_range, q) != 0)
		got_range(q, -1, NULL, 0, vc_remote_error(rs->r->remote));
	return 0;
}

static int
pass_two(struct rs *rs)
{
	size_t i = 0;
	int rc = 0;

	if (rs->nplaces > 0)
		qsort(rs->places, rs->nplaces, sizeof(*rs->places), place_cmp);
	while (i < rs->nplaces) {
		size_t j = i + 1;
		uint64_t start = rs->places[i].loc.offset;
		uint64_t end = start + rs->places[i].loc.sealed_len;

		while (j < rs->nplaces &&
		    memcmp(rs->places[j].loc.pack_id, rs->places[i].loc.pack_id, VC_ID_LEN) == 0) {
			uint64_t s = rs->places[j].loc.offset, e = s + rs->places[j].loc.sealed_len;

			if (s > end + RANGE_GAP || (e > end ? e : end) - start > RANGE_MAX)
				break;
			if (e > end)
				end = e;
			j++;
		}
		if (issue(rs, i, j - i) != 0) {
			rc = -1;
			break;
		}
		i = j;
	}
	/* Even after a failure: callbacks still in flight use rs. */
	pthread_mutex_lock(&rs->mu);
	while (rs->outstanding > 0)
		pthread_cond_wait(&rs->cv, &rs->mu);
	pthread_mutex_unlock(&rs->mu);
	return rc;
}

/* An attribute the target refused (vc_fsmeta_warn): the entry is
 * restored, the restore exits with 3. */
static void
attr_refused(void *arg, const char *path, const char *name, const char *why)
{
	struct rs *rs = arg;

	vc_report(&rs->r->report, VC_LOG_ERROR, "vault: cannot set extended attribute %s of "
	    "%s: %s", name, path, why);
	__atomic_add_fetch(&rs->st->errors, 1, __ATOMIC_RELAXED);
}

/*
 * Owner, attributes, mode, times, in that order: chown clears a file
 * capability (security.capability) and the setuid bits, and setting an
 * ACL sets the group bits of the mode, which chmod then puts back.
 */
static void
set_meta(struct rs *rs, struct rent *e, int is_root)
{
	struct timespec ts[2];
	int link = e->n.type == VC_NODE_SYMLINK;

	if (is_root) {
		/* By name where the name exists here, else by number. */
		uid_t uid = vc_fsmeta_uid(e->meta.user, e->meta.user_len, e->n.uid);
		gid_t gid = vc_fsmeta_gid(e->meta.group, e->meta.group_len, e->n.gid);

		if (vc_lp_lchown(e->path, uid, gid) != 0)
			warn_entry(rs, "set the owner of", e->path, errno);
	}
	vc_fsmeta_apply(e->path, &e->meta, is_root, attr_refused, rs);
	if (!link && vc_lp_chmod(e->path, e->n.mode) != 0)
		warn_entry(rs, "set the mode of", e->path, errno);
	ts[0].tv_sec = e->n.mtime_sec;
	ts[0].tv_nsec = e->n.mtime_nsec;
	ts[1] = ts[0];
	if (vc_lp_lutimens(e->path, ts) != 0)
		warn_entry(rs, "set the times of", e->path, errno);
}

/*
 * Gives a FILE its name: renames the complete temporary file to it, or,
 * for a file that failed, removes the temporary file and whatever had the
 * name before, so that nothing under that name can pass for the snapshot's
 * file (spec/client.md 3). Returns 1 restored, 0 not, -1 out of memory.
 */
static int
finish_file(struct rs *rs, struct rent *e)
{
	if (e->failed) {
		vc_lp_unlink(e->tmp);
		clear_name(e->path);
		rs->st->errors++;
		return not_restored(rs, e->path) != 0 ? -1 : 0;
	}
	if (vc_lp_rename(e->tmp, e->path) != 0) {
		int err = errno;

		vc_lp_unlink(e->tmp);
		clear_name(e->path);
		e->failed = 1;
		return fail_entry(rs, "rename into place", e->path, err) != 0 ? -1 : 0;
	}
	return 1;
}

/* The hard links, once their FILEs have their names. */
static int
make_links(struct rs *rs)
{
	for (size_t i = 0; i < rs->nlinks; i++) {
		struct link_req *l = &rs->links[i];
		const struct rent *first = link_group_get(rs, l->group);

		clear_name(l->path);
		if (first == NULL || first->failed) {
			vc_report(&rs->r->report, VC_LOG_ERROR, "vault: cannot restore %s: hard link "
			    "to %s", l->path,
			    first == NULL ? "a file not in the restore" : "a file not restored");
			rs->st->errors++;
			if (not_restored(rs, l->path) != 0)
				return -1;
			continue;
		}
		if (vc_lp_link(first->path, l->path) != 0 &&
		    fail_entry(rs, "link", l->path, errno) != 0)
			return -1;
	}
	return 0;
}

static int
pass_three(struct rs *rs)
{
	int is_root = geteuid() == 0;

	for (size_t i = 0; i < rs->nents; i++) {
		struct rent *e = &rs->ents[i];
		int rc = e->tmp != NULL ? finish_file(rs, e) : !e->failed;

		if (rc < 0)
			return -1;
		if (rc > 0)
			set_meta(rs, e, is_root);
	}
	if (make_links(rs) != 0)
		return -1;
	for (size_t i = rs->ndirs; i-- > 0;)
		set_meta(rs, &rs->dirs[i], is_root);
	return 0;
}

static void
rs_free(struct rs *rs)
{
	for (size_t i = 0; i < rs->nents; i++) {
		/* A restore that stopped early leaves no temporary file behind. */
		if (rs->ents[i].tmp != NULL && !rs->done)
			vc_lp_unlink(rs->ents[i].tmp);
		free(rs->ents[i].path);
		free(rs->ents[i].tmp);
		vc_fsmeta_free(&rs->ents[i].meta);
	}
	for (size_t i = 0; i < rs->ndirs; i++) {
		free(rs->dirs[i].path);
		vc_fsmeta_free(&rs->dirs[i].meta);
	}
	for (size_t i = 0; i < rs->nlinks; i++)
		free(rs->links[i].path);
	free(rs->ents);
	free(rs->dirs);
	free(rs->links);
	free(rs->groups);
	vc_idset_free(rs->group_ids);
	free(rs->places);
	free(rs->tpath);
	pthread_mutex_destroy(&rs->mu);
	pthread_cond_destroy(&rs->cv);
}

int
vc_restore(struct vc_repo *r, const struct vc_snapinfo *s, const struct vc_restore_opts *o,
    struct vc_restore_stats *st, char *err, size_t errlen)
{
	struct rs rs;
	struct walk_ctx w = { &rs, err, errlen };
	struct timespec t0, t1;
	pthread_t *workers = NULL;
	unsigned nw = o->threads;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int rc = -1;

	memset(st, 0, sizeof(*st));
	memset(&rs, 0, sizeof(rs));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rs.r = r;
	rs.o = o;
	rs.st = st;
	rs.tlen = strlen(o->target);
	pthread_mutex_init(&rs.mu, NULL);
	pthread_cond_init(&rs.cv, NULL);
	err[0] = '\0';
	if ((rs.group_ids = vc_idset_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (vc_lp_mkdir(o->target, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", o->target, strerror(errno));
		goto out;
	}
	if (vc_repo_sync(r, err, errlen) != 0)
		goto out;
	if (vc_repo_tree_walk(r, &s->body, pass_one, &w, err, errlen) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory while reading the snapshot's tree");
		goto out;
	}
	if (nw == 0)
		nw = ncpu > 0 ? (unsigned)ncpu : 1;
	if ((workers = calloc(nw, sizeof(*workers))) == NULL)
		goto out;
	for (unsigned i = 0; i < nw; i++) {
		if (pthread_create(&workers[i], NULL, restore_worker, &rs) != 0) {
			nw = i;
			break;
		}
	}
	{
		static const int known = 1;
		struct vc_progress *prog = o->progress ? vc_progress_start(&r->report, "restore:",
		    &st->files, &rs.bytes_written, &st->bytes, &known) : NULL;

		rc = pass_two(&rs);
		vc_progress_stop(prog);
	}
	pthread_mutex_lock(&rs.mu);
	rs.stop = 1;
	pthread_cond_broadcast(&rs.cv);
	pthread_mutex_unlock(&rs.mu);
	for (unsigned i = 0; i < nw; i++)
		pthread_join(workers[i], NULL);
	if (rc != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rs.done = 1;
	if (pass_three(&rs) != 0) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		goto out;
	}
	rc = st->errors > 0 ? VC_BACKUP_PARTIAL : 0;
out:
	free(workers);
	{
		uint64_t sent;

		vc_remote_counters(r->remote, &sent, &st->downloaded);
	}
	rs_free(&rs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return rc;
}
