/*
 * Backup (backup.h): the sealing workers, the tree stream, the snapshot
 * commit and the retry when the vault lost a pack meanwhile.
 *
 * The main thread walks and reads (backup_walk.c) and hands each chunk to
 * the workers, which hash, dedup, seal and pack it (packer.c). Records go
 * into the tree stream in walk order, each once its chunks are done; the
 * bytes in flight are bounded so a fast disk cannot outrun the workers
 * without limit.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup_internal.h"
#include "chain.h"
#include "envelope.h"
#include "progress.h"
#include "sha256.h"

#define BK_ATTEMPTS 3
#define BK_INFLIGHT_PER_WORKER ((size_t)2 * VC_CHUNKER_MAX_DEFAULT)

int
bk_failed(struct bk *b)
{
	int f;

	pthread_mutex_lock(&b->mu);
	f = b->failed;
	pthread_mutex_unlock(&b->mu);
	return f;
}

int
bk_set_error(struct bk *b, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&b->mu);
	if (!b->failed) {
		b->failed = 1;
		va_start(ap, fmt);
		vsnprintf(b->err, sizeof(b->err), fmt, ap);
		va_end(ap);
	}
	pthread_cond_broadcast(&b->cv_done);
	pthread_mutex_unlock(&b->mu);
	return -1;
}

struct pnode *
bk_node_new(const char *name, size_t name_len)
{
	struct pnode *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->name = malloc(name_len + 1)) == NULL) {
		free(p);
		return NULL;
	}
	memcpy(p->name, name, name_len);
	p->name[name_len] = '\0';
	p->n.name = p->name;
	p->n.name_len = name_len;
	return p;
}

static void
node_free(struct pnode *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->target);
	free(p->chunks);
	vc_fsmeta_free(&p->meta);
	free(p);
}

static void *
worker(void *arg)
{
	struct bk *b = arg;
	char err[VC_ERR_LEN];

	for (;;) {
		struct job *j;
		uint8_t id[VC_ID_LEN];
		int rc = 0;

		pthread_mutex_lock(&b->mu);
		while (b->jhead == NULL && !b->stop)
			pthread_cond_wait(&b->cv_job, &b->mu);
		if (b->jhead == NULL) {
			pthread_mutex_unlock(&b->mu);
			return NULL;
		}
		j = b->jhead;
		b->jhead = j->next;
		if (b->jhead == NULL)
			b->jtail = NULL;
		rc = b->failed;
		pthread_mutex_unlock(&b->mu);

		if (!rc) {
			vc_chunk_id(&b->r->keys, j->buf, j->len, id);
			rc = vc_packer_add(b->pk, VC_CHUNK_TYPE_DATA, id, j->buf, j->len, err,
			    sizeof(err));
			if (rc != 0)
				bk_set_error(b, "%s", err);
		}
		free(j->buf);
		/* Under the lock: the walker may grow the chunk array. */
		pthread_mutex_lock(&b->mu);
		if (rc == 0) {
			memcpy(j->node->chunks[j->idx].id, id, VC_ID_LEN);
			j->node->chunks[j->idx].len = (uint32_t)j->len;
		}
		b->inflight -= j->len;
		j->node->pending--;
		pthread_cond_broadcast(&b->cv_done);
		pthread_mutex_unlock(&b->mu);
		free(j);
	}
}

void
bk_enqueue(struct bk *b, struct pnode *node)
{
	pthread_mutex_lock(&b->mu);
	if (b->qtail != NULL)
		b->qtail->next = node;
	else
		b->qhead = node;
	b->qtail = node;
	pthread_mutex_unlock(&b->mu);
}

int
bk_submit(struct bk *b, struct pnode *node, size_t idx, uint8_t *buf, size_t len)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		free(buf);
		return bk_set_error(b, "out of memory");
	}
	j->node = node;
	j->idx = idx;
	j->buf = buf;
	j->len = len;
	pthread_mutex_lock(&b->mu);
	while (b->inflight > b->inflight_max && !b->failed)
		pthread_cond_wait(&b->cv_done, &b->mu);
	node->pending++;
	b->inflight += len;
	if (b->jtail != NULL)
		b->jtail->next = j;
	else
		b->jhead = j;
	b->jtail = j;
	pthread_cond_signal(&b->cv_job);
	pthread_mutex_unlock(&b->mu);
	return 0;
}

/* Cuts tree chunks from the tree buffer and packs them; at_end: the rest
 * is the last chunk. Main thread. */
static int
tree_cut(struct bk *b, int at_end)
{
	char err[VC_ERR_LEN];

	for (;;) {
		size_t n = 0;
		int cut = 0;

		if (b->tscan < b->tlen)
			n = vc_chunker_next(b->tchunker, b->tree + b->tscan, b->tlen - b->tscan,
			    &cut);
		b->tscan += n;
		if (!cut && !(at_end && b->tlen > 0))
			return 0;
		if (!cut)
			b->tscan = b->tlen;
		if (b->ntrefs == b->ctrefs) {
			size_t cap = b->ctrefs ? 2 * b->ctrefs : 16;
			void *q = realloc(b->trefs, cap * sizeof(*b->trefs));

			if (q == NULL)
				return bk_set_error(b, "out of memory");
			b->trefs = q;
			b->ctrefs = cap;
		}
		vc_chunk_id(&b->r->keys, b->tree, b->tscan, b->trefs[b->ntrefs].id);
		b->trefs[b->ntrefs].len = (uint32_t)b->tscan;
		if (vc_packer_add(b->pk, VC_CHUNK_TYPE_TREE, b->trefs[b->ntrefs].id, b->tree,
		    b->tscan, err, sizeof(err)) != 0)
			return bk_set_error(b, "%s", err);
		b->ntrefs++;
		b->tree_size += b->tscan;
		memmove(b->tree, b->tree + b->tscan, b->tlen - b->tscan);
		b->tlen -= b->tscan;
		b->tscan = 0;
		if (at_end && b->tlen == 0)
			return 0;
	}
}

static int
emit(struct bk *b, struct pnode *p)
{
	int rc;

	if (p->dropped)
		return 0;
	rc = vc_tree_append(&b->tree, &b->tlen, &b->tcap, &p->n);
	if (rc != 0)
		return bk_set_error(b, rc == -1 ? "out of memory" :
		    "cannot record %s in the tree stream", p->name);
	return tree_cut(b, 0);
}

int
bk_drain(struct bk *b, int wait)
{
	for (;;) {
		struct pnode *p;

		pthread_mutex_lock(&b->mu);
		while (wait && b->qhead != NULL && b->qhead->pending > 0)
			pthread_cond_wait(&b->cv_done, &b->mu);
		p = b->qhead;
		if (p == NULL || p->pending > 0) {
			pthread_mutex_unlock(&b->mu);
			return b->failed ? -1 : 0;
		}
		b->qhead = p->next;
		if (b->qhead == NULL)
			b->qtail = NULL;
		pthread_mutex_unlock(&b->mu);
		if (!bk_failed(b) && emit(b, p) != 0) {
			node_free(p);
			return -1;
		}
		node_free(p);
	}
}

/* Grows node's chunk array to hold idx + 1 entries, under the lock the
 * workers write it with. */
int bk_chunks_reserve(struct bk *b, struct pnode *node, size_t idx);
int
bk_chunks_reserve(struct bk *b, struct pnode *node, size_t idx)
{
	int rc = 0;

	if (idx < node->cap)
		return 0;
	pthread_mutex_lock(&b->mu);
	{
		size_t cap = node->cap ? 2 * node->cap : 4;
		void *q;

		while (cap <= idx)
			cap *= 2;
		q = realloc(node->chunks, cap * sizeof(*node->chunks));
		if (q == NULL) {
			rc = -1;
		} else {
			node->chunks = q;
			node->cap = cap;
			node->n.chunks = q;
		}
	}
	pthread_mutex_unlock(&b->mu);
	return rc == 0 ? 0 : bk_set_error(b, "out of memory");
}

static int
bk_setup(struct bk *b, struct vc_repo *r, const struct vc_backup_opts *o)
{
	struct vc_chunker_params cp;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	b->r = r;
	b->o = o;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv_job, NULL);
	pthread_cond_init(&b->cv_done, NULL);
	b->chunker = vc_chunker_new(r->keys.chunker_seed, NULL);
	b->tchunker = vc_chunker_new(r->keys.chunker_seed, NULL);
	b->pk = vc_packer_new(r, 0);
	b->links = vc_idset_new();
	if (b->chunker == NULL || b->tchunker == NULL || b->pk == NULL || b->links == NULL)
		return -1;
	vc_chunker_params_get(b->chunker, &cp);
	b->nworkers = o->threads ? o->threads : ncpu > 0 ? (unsigned)ncpu : 1;
	b->inflight_max = b->nworkers * BK_INFLIGHT_PER_WORKER;
	if ((b->workers = calloc(b->nworkers, sizeof(*b->workers))) == NULL)
		return -1;
	for (unsigned i = 0; i < b->nworkers; i++) {
		if (pthread_create(&b->workers[i], NULL, worker, b) != 0) {
			b->nworkers = i;
			return -1;
		}
	}
	return 0;
}

static void
bk_stop_workers(struct bk *b)
{
	pthread_mutex_lock(&b->mu);
	b->stop = 1;
	pthread_cond_broadcast(&b->cv_job);
	pthread_mutex_unlock(&b->mu);
	for (unsigned i = 0; i < b->nworkers; i++)
		pthread_join(b->workers[i], NULL);
	b->nworkers = 0;
}

static void
bk_teardown(struct bk *b)
{
	if (b->workers != NULL)
		bk_stop_workers(b);
	free(b->workers);
	while (b->qhead != NULL) {
		struct pnode *p = b->qhead;

		b->qhead = p->next;
		node_free(p);
	}
	while (b->jhead != NULL) {
		struct job *j = b->jhead;

		b->jhead = j->next;
		free(j->buf);
		free(j);
	}
	vc_packer_free(b->pk);
	vc_chunker_free(b->chunker);
	vc_chunker_free(b->tchunker);
	vc_idset_free(b->links);
	free(b->tree);
	free(b->trefs);
	pthread_cond_destroy(&b->cv_job);
	pthread_cond_destroy(&b->cv_done);
	pthread_mutex_destroy(&b->mu);
}

/* Seals the snapshot and uploads it. Returns 0, VC_R_MISSING (with
 * *missing), or -1. */
static int
commit(struct bk *b, char **paths, size_t npaths, const struct envelope_ref *refs,
    size_t nrefs, struct vc_backup_stats *st, struct envelope_ref **missing, size_t *nmissing,
    char *err, size_t errlen)
{
	struct vc_snapbody sb = { 0 };
	uint8_t group[32], *env = NULL, *body = NULL, *zero = NULL;
	char host[256], *json = NULL;
	const char *user = getenv("USER");
	size_t jlen, slen, envlen, blen, hdr_len;
	struct timespec now;
	int rc = -1;

	clock_gettime(CLOCK_REALTIME, &now);
	if (b->o->hostname != NULL)
		snprintf(host, sizeof(host), "%s", b->o->hostname);
	else if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	sb.time = b->o->time ? b->o->time : (int64_t)now.tv_sec;
	sb.time_nsec = b->o->time ? 0 : (uint32_t)now.tv_nsec;
	sb.hostname = host;
	sb.username = (char *)(user != NULL ? user : "");
	sb.paths = paths;
	sb.npaths = npaths;
	sb.tags = b->o->tags;
	sb.ntags = b->o->ntags;
	sb.has_parent = st->has_parent;
	memcpy(sb.parent, st->parent, VC_ID_LEN);
	sb.tree = b->trefs;
	sb.ntree = b->ntrefs;
	sb.tree_size = b->tree_size;
	sb.files = b->files;
	sb.dirs = b->dirs;
	sb.bytes = b->bytes;
	sb.errors = b->errors;
	sb.seq = b->chain->seq;
	sb.prev = (uint8_t (*)[VC_ID_LEN])b->chain->prev;
	sb.nprev = b->chain->nprev;
	vc_snapshot_group(&b->r->keys, host, paths, npaths, group);
	if (vc_snapbody_json(&sb, &json, &jlen) != 0)
		goto oom;
	slen = vc_snapbody_sealed_len(jlen);
	if ((zero = calloc(1, slen)) == NULL)
		goto oom;
	if (envelope_encode(sb.time, group, 0, refs, nrefs, zero, slen, &env, &envlen) != 0) {
		snprintf(err, errlen, "cannot encode the snapshot envelope: %s", strerror(errno));
		goto out;
	}
	hdr_len = envlen - slen;
	if (vc_snapbody_seal(&b->r->keys, env, hdr_len, json, jlen, NULL, &body, &blen) != 0 ||
	    blen != slen)
		goto oom;
	memcpy(env + hdr_len, body, blen);
	sha256_buf(env, envlen, st->snapshot);
	rc = vc_remote_put_snapshot(b->r->remote, st->snapshot, env, envlen, missing, nmissing);
	if (rc < 0)
		snprintf(err, errlen, "cannot commit the snapshot: %s",
		    vc_remote_error(b->r->remote));
	/* This client has now seen its own snapshot: the vault must not lose
	 * it unseen. A cache that cannot record it only weakens the check. */
	if (rc == 0 && vc_chain_committed(b->r, group, &sb, st->snapshot) != 0)
		vc_report(&b->r->report, VC_LOG_WARN, "vault: the local cache could not record "
		    "the new snapshot as the newest of its series");
	goto out;
oom:
	snprintf(err, errlen, "out of memory while building the snapshot");
	rc = -1;
out:
	free(json);
	free(zero);
	free(env);
	free(body);
	return rc;
}

/* Forgets, in the cache, the packs a refused commit named, and the packs
 * described by a named index segment, so the next attempt stores their
 * chunks anew. */
static void
forget_missing(struct vc_repo *r, const struct envelope_ref *refs, size_t nrefs,
    const struct envelope_ref *missing, size_t nmissing)
{
	for (size_t i = 0; i < nmissing; i++) {
		const struct envelope_ref *m = &missing[i];

		if (m->kind == ENVELOPE_KIND_PACK) {
			vc_cache_drop_pack(r->cache, m->id);
			continue;
		}
		for (size_t j = 0; j < nrefs; j++) {
			const struct envelope_ref *p = &refs[j];
			uint8_t idx[VC_ID_LEN];

			if (p->kind == ENVELOPE_KIND_PACK &&
			    vc_cache_pack_index(r->cache, p->id, idx) == 0 &&
			    memcmp(idx, m->id, VC_ID_LEN) == 0)
				vc_cache_drop_pack(r->cache, p->id);
		}
	}
}

/* One pass: walk, pack, commit. Returns 0, VC_R_MISSING (run again), or
 * -1. */
static int
attempt(struct vc_repo *r, const struct vc_backup_opts *o, char **paths, size_t npaths,
    struct vc_pmap *parent, const struct vc_chain_next *chain, struct vc_backup_stats *st,
    char *err, size_t errlen)
{
	struct bk b;
	struct vc_progress *prog = NULL;
	pthread_t scan;
	int have_scan = 0, rc = -1;
	struct envelope_ref *refs = NULL, *missing = NULL;
	size_t nrefs = 0, nmissing = 0;
	struct vc_packer_stats ps;

	memset(&b, 0, sizeof(b));
	if (bk_setup(&b, r, o) != 0) {
		snprintf(err, errlen, "cannot start the backup: out of memory or threads");
		goto out;
	}
	b.chain = chain;
	if (parent != NULL) {
		b.parent = *parent;
		b.has_parent = 1;
	}
	b.scan_paths = paths;
	if (o->progress) {
		if (pthread_create(&scan, NULL, bk_scan_thread, &b) == 0)
			have_scan = 1;
		prog = vc_progress_start(&r->report, "backup:", &b.files, &b.done, &b.scan_bytes,
		    &b.scan_done);
	}
	rc = bk_walk(&b, paths, npaths);
	if (rc == 0)
		rc = bk_drain(&b, 1);
	if (rc == 0)
		rc = tree_cut(&b, 1);
	bk_stop_workers(&b);
	if (rc == 0 && !bk_failed(&b))
		rc = vc_packer_finish(b.pk, &refs, &nrefs, b.err, sizeof(b.err));
	vc_progress_stop(prog);
	if (have_scan)
		pthread_join(scan, NULL);
	if (rc != 0 || b.failed) {
		snprintf(err, errlen, "%s", b.err[0] ? b.err : "backup failed");
		rc = -1;
		goto out;
	}
	/* Lets a test run the vault's garbage collector at the one moment that
	 * forces the commit's 409 path (spec/client.md 2.4). */
	if (o->before_commit != NULL)
		o->before_commit(o->before_commit_arg, st->attempts);
	rc = commit(&b, paths, npaths, refs, nrefs, st, &missing, &nmissing, err, errlen);
	if (rc == VC_R_MISSING)
		forget_missing(r, refs, nrefs, missing, nmissing);
	st->files = b.files;
	st->dirs = b.dirs;
	st->others = b.others;
	st->bytes = b.bytes;
	st->bytes_read = b.bytes_read;
	st->errors = b.errors;
	st->files_unchanged = b.unchanged;
	vc_packer_stats(b.pk, &ps);
	st->chunks_new += ps.chunks_new;
	st->plain_new += ps.plain_new;
	st->sealed_new += ps.sealed_new;
	st->packs += ps.packs;
	st->indexes += ps.indexes;
out:
	if (parent != NULL)
		memset(&b.parent, 0, sizeof(b.parent)); /* the caller owns it */
	bk_teardown(&b);
	free(refs);
	free(missing);
	return rc;
}

/* Makes path absolute and lexically clean (no ".", "..", "//", trailing
 * '/') into a new string. */
static char *
clean_path(const char *path)
{
	char cwd[4096], *buf, *out, *p;
	size_t len;

	if (path[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return NULL;
	} else {
		cwd[0] = '\0';
	}
	len = strlen(cwd) + strlen(path) + 2;
	if ((buf = malloc(len)) == NULL || (out = malloc(len)) == NULL) {
		free(buf);
		return NULL;
	}
	snprintf(buf, len, "%s/%s", cwd, path);
	out[0] = '\0';
	len = 0;
	for (p = strtok(buf, "/"); p != NULL; p = strtok(NULL, "/")) {
		if (strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			char *slash = strrchr(out, '/');

			len = slash != NULL ? (size_t)(slash - out) : 0;
			out[len] = '\0';
			continue;
		}
		out[len++] = '/';
		strcpy(out + len, p);
		len += strlen(p);
	}
	free(buf);
	return out;
}

/* 1 if s is well-formed UTF-8 (no overlong forms, surrogates or values
 * past U+10FFFF), as the snapshot body's JSON requires. */
static int
utf8_valid(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	while (*p != 0) {
		uint32_t c;
		int n;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			c = *p & 0x1f;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			c = *p & 0x0f;
			n = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			c = *p & 0x07;
			n = 3;
		} else {
			return 0;
		}
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) || (n == 3 && c < 0x10000) ||
		    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The absolute, sorted paths; refuses "/", duplicates and nesting. */
static char **
prepare_paths(const struct vc_backup_opts *o, char *err, size_t errlen)
{
	char **p = calloc(o->npaths + 1, sizeof(*p));

	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < o->npaths; i++) {
		if ((p[i] = clean_path(o->paths[i])) == NULL) {
			snprintf(err, errlen, "cannot make %s absolute", o->paths[i]);
			goto fail;
		}
		if (p[i][0] == '\0') {
			snprintf(err, errlen, "backing up / itself is not supported: name its "
			    "directories (/etc /home ...)");
			goto fail;
		}
	}
	qsort(p, o->npaths, sizeof(*p), str_cmp);
	/* Against every earlier path, not just the one before: "/t/x-y" sorts
	 * between "/t/x" and "/t/x/f". */
	for (size_t i = 1; i < o->npaths; i++) {
		for (size_t j = 0; j < i; j++) {
			size_t l = strlen(p[j]);

			if (strncmp(p[j], p[i], l) == 0 && (p[i][l] == '\0' || p[i][l] == '/')) {
				snprintf(err, errlen, "%s is given twice or inside %s", p[i], p[j]);
				goto fail;
			}
		}
	}
	for (size_t i = 0; i < o->npaths; i++) {
		if (!utf8_valid(p[i])) {
			snprintf(err, errlen, "%s is not valid UTF-8, which a snapshot's list of "
			    "paths needs; back up its parent directory instead", p[i]);
			goto fail;
		}
	}
	if (o->hostname != NULL && !utf8_valid(o->hostname)) {
		snprintf(err, errlen, "the host name is not valid UTF-8");
		goto fail;
	}
	return p;
fail:
	for (size_t i = 0; i < o->npaths; i++)
		free(p[i]);
	free(p);
	return NULL;
}

/* Reads the listing (checked for a rollback), sets the new snapshot's
 * chain members, picks the parent snapshot and loads its files. 0 (none
 * found is fine), VC_ROLLBACK or -1. */
static int
load_parent(struct vc_repo *r, const struct vc_backup_opts *o, char **paths,
    struct vc_pmap *pm, struct vc_chain_next *chain, struct vc_backup_stats *st,
    char *err, size_t errlen)
{
	struct vc_snapinfo *list = NULL;
	uint8_t group[32];
	char host[256];
	size_t n = 0;
	long pick = -1;
	int rc = -1;

	if (o->hostname != NULL)
		snprintf(host, sizeof(host), "%s", o->hostname);
	else if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	vc_snapshot_group(&r->keys, host, paths, o->npaths, group);
	if ((rc = vc_repo_snapshots(r, &list, &n, err, errlen)) != 0)
		return rc;
	rc = -1;
	vc_chain_next(list, n, group, chain);
	if (o->force) {
		rc = 0;
		goto out;
	}
	if (o->parent != NULL) {
		if ((pick = vc_repo_find(list, n, o->parent, err, errlen)) < 0)
			goto out;
	} else {
		for (size_t i = n; i-- > 0;) {
			if (memcmp(list[i].group, group, sizeof(group)) == 0) {
				pick = (long)i;
				break;
			}
		}
	}
	if (pick >= 0) {
		if (vc_pmap_load(r, &list[pick].body, pm, err, errlen) != 0)
			goto out;
		st->has_parent = 1;
		memcpy(st->parent, list[pick].id, VC_ID_LEN);
	}
	rc = 0;
out:
	vc_snapinfo_free_all(list, n);
	return rc;
}

int
vc_backup(struct vc_repo *r, const struct vc_backup_opts *o, struct vc_backup_stats *st,
    char *err, size_t errlen)
{
	struct vc_pmap pm = { 0 };
	struct vc_chain_next chain;
	struct timespec t0;
	char **paths;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (o->npaths == 0) {
		snprintf(err, errlen, "nothing to back up: name at least one path");
		return -1;
	}
	if ((paths = prepare_paths(o, err, errlen)) == NULL)
		return -1;
	if (vc_repo_sync(r, err, errlen) != 0)
		goto out;
	if ((rc = load_parent(r, o, paths, &pm, &chain, st, err, errlen)) != 0) {
		rc = rc == VC_ROLLBACK ? VC_ROLLBACK : -1;
		goto out;
	}
	for (st->attempts = 1; st->attempts <= BK_ATTEMPTS; st->attempts++) {
		uint64_t sent0, sent1, rcvd;

		vc_remote_counters(r->remote, &sent0, &rcvd);
		rc = attempt(r, o, paths, o->npaths, st->has_parent ? &pm : NULL, &chain, st, err,
		    errlen);
		vc_remote_counters(r->remote, &sent1, &rcvd);
		st->uploaded += sent1 - sent0;
		if (rc != VC_R_MISSING)
			break;
		vc_report(&r->report, VC_LOG_WARN, "vault: the vault lost packs this backup "
		    "relied on (garbage collection ran meanwhile); backing up again");
	}
	if (rc == VC_R_MISSING) {
		snprintf(err, errlen, "the vault kept removing packs this backup needs; "
		    "gave up after %d attempts", BK_ATTEMPTS);
		rc = -1;
	} else if (rc == 0 && st->errors > 0) {
		rc = VC_BACKUP_PARTIAL;
	}
out:
	st->seconds = vc_elapsed(&t0);
	vc_pmap_free(&pm);
	for (size_t i = 0; i < o->npaths; i++)
		free(paths[i]);
	free(paths);
	return rc;
}
