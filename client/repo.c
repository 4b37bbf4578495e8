/*
 * Opening a vault and the read paths every command shares (repo.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chain.h"
#include "envelope.h"
#include "repo_internal.h"

#define TREE_WINDOW_MIN ((size_t)1 << 16)

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
vc_hex(const uint8_t id[VC_ID_LEN], int short_form, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	size_t n = short_form ? 4 : VC_ID_LEN;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * n] = '\0';
}

static struct vc_remote *
remote_from(const struct vc_repo_opts *o, char *err, size_t errlen)
{
	struct vc_remote_opts ro = { 0 };

	ro.url = o->url;
	ro.vault = o->vault;
	ro.token = o->token;
	ro.parallel = o->parallel;
	ro.retry_base_ms = o->retry_base_ms;
	ro.recall_wait_ms = o->recall_wait_ms;
	ro.recall_poll_ms = o->recall_poll_ms;
	ro.report = o->report;
	/* A queued upload holds a whole pack: keep the queue short, so memory
	 * stays at a few packs however slow the network is. */
	ro.queue_max = (o->parallel ? o->parallel : VC_REMOTE_PARALLEL_DEFAULT) / 2;
	if (ro.queue_max == 0)
		ro.queue_max = 1;
	return vc_remote_open(&ro, err, errlen);
}

int
vc_repo_init(const struct vc_repo_opts *o, const struct vc_kdf_params *kdf,
    char *err, size_t errlen)
{
	struct vc_remote *r;
	struct vc_kdf_params p;
	uint8_t *blob = NULL, *old = NULL;
	size_t len, oldlen;
	int rc;

	if ((r = remote_from(o, err, errlen)) == NULL)
		return -1;
	rc = vc_remote_create_vault(r);
	if (rc < 0 && vc_remote_status(r) == 403) {
		/* No admin scope: the operator created the vault for us. */
		rc = vc_remote_vault_info(r, NULL, NULL);
		if (rc == VC_R_NOTFOUND) {
			seterr(err, errlen, "vault %s does not exist and this token may not create "
			    "it (no admin scope): ask the operator to create it", o->vault);
			goto fail;
		}
	}
	if (rc < 0) {
		seterr(err, errlen, "%s", vc_remote_error(r));
		goto fail;
	}
	rc = vc_remote_get_config(r, &old, &oldlen);
	if (rc == 0) {
		free(old);
		seterr(err, errlen, "vault %s is already initialised (it has a config); "
		    "nothing was changed", o->vault);
		goto fail;
	}
	if (rc != VC_R_NOTFOUND) {
		seterr(err, errlen, "%s", vc_remote_error(r));
		goto fail;
	}
	if (kdf != NULL)
		p = *kdf;
	else
		vc_kdf_params_default(&p);
	if (vc_repo__init_keys(r, o, &p, &blob, &len, err, errlen) != 0)
		goto fail;
	rc = vc_remote_put_config(r, blob, len);
	if (rc == VC_R_EXISTS) {
		seterr(err, errlen, "vault %s was initialised by someone else meanwhile; "
		    "nothing was changed", o->vault);
		goto fail;
	}
	if (rc != 0) {
		seterr(err, errlen, "%s", vc_remote_error(r));
		goto fail;
	}
	free(blob);
	vc_remote_free(r);
	return 0;
fail:
	free(blob);
	vc_remote_free(r);
	return -1;
}

int
vc_repo_open(const struct vc_repo_opts *o, struct vc_repo **out, char *err, size_t errlen)
{
	struct vc_repo *r;
	char dir[4096];
	int rc;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	r->zstd_level = o->zstd_level != 0 ? o->zstd_level : VC_ZSTD_LEVEL_DEFAULT;
	r->report = o->report;
	r->accept_rollback = o->accept_rollback;
	if ((r->remote = remote_from(o, err, errlen)) == NULL)
		goto fail;
	rc = vc_remote_get_config(r->remote, &r->config, &r->config_len);
	if (rc == VC_R_NOTFOUND) {
		rc = vc_remote_vault_info(r->remote, NULL, NULL);
		if (rc == VC_R_NOTFOUND)
			seterr(err, errlen, "vault %s does not exist at %s", o->vault, o->url);
		else
			seterr(err, errlen, "vault %s has not been initialised: run `vault init`",
			    o->vault);
		goto fail;
	}
	if (rc != 0) {
		seterr(err, errlen, "%s", vc_remote_error(r->remote));
		goto fail;
	}
	if (vc_repo__unlock(r, o, err, errlen) != 0)
		goto fail;
	if (o->cache_dir != NULL) {
		if (strlen(o->cache_dir) >= sizeof(dir)) {
			seterr(err, errlen, "cache directory name too long");
			goto fail;
		}
		strcpy(dir, o->cache_dir);
	} else if (vc_cache_default_dir(&o->report, o->url, o->vault, r->config,
	    r->config_len, dir, sizeof(dir)) != 0) {
		seterr(err, errlen, "cannot name a cache directory (set VAULT_CACHE_DIR)");
		goto fail;
	}
	if (vc_cache_open(dir, &o->report, &r->cache) != 0) {
		seterr(err, errlen, "cannot open the local cache in %s (delete it to rebuild it)",
		    dir);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	vc_repo_close(r);
	return -1;
}

int
vc_repo_sync(struct vc_repo *r, char *err, size_t errlen)
{
	if (vc_cache_sync(r->cache, r->remote, &r->keys, NULL) != 0) {
		seterr(err, errlen, "cannot bring the local cache up to date: %s",
		    vc_remote_error(r->remote));
		return -1;
	}
	return 0;
}

void
vc_repo_close(struct vc_repo *r)
{
	if (r == NULL)
		return;
	vc_cache_close(r->cache);
	vc_remote_free(r->remote);
	vc_keys_wipe(&r->keys);
	sodium_memzero(r->master, sizeof(r->master));
	free(r->config);
	free(r);
}

void
vc_snapinfo_free(struct vc_snapinfo *s)
{
	if (s == NULL)
		return;
	free(s->refs);
	vc_snapbody_free(&s->body);
	memset(s, 0, sizeof(*s));
}

void
vc_snapinfo_free_all(struct vc_snapinfo *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		vc_snapinfo_free(&s[i]);
	free(s);
}

static int
vc_repo_snapshot_load(struct vc_repo *r, const uint8_t id[VC_ID_LEN],
    struct vc_snapinfo *out, char *err, size_t errlen)
{
	struct envelope e;
	uint8_t *buf = NULL;
	size_t len, hdr_len;
	char hex[65];
	int rc;

	memset(out, 0, sizeof(*out));
	vc_hex(id, 0, hex);
	rc = vc_remote_get(r->remote, VSP_KIND_SNAPSHOT, id, 0, UINT64_MAX, &buf, &len);
	if (rc == VC_R_NOTFOUND) {
		seterr(err, errlen, "snapshot %s is not in the vault", hex);
		return VC_R_NOTFOUND;
	}
	if (rc != 0) {
		seterr(err, errlen, "%s", vc_remote_error(r->remote));
		return -1;
	}
	if (envelope_parse(buf, len, &e) != ENVELOPE_OK) {
		seterr(err, errlen, "snapshot %s is not a valid envelope", hex);
		goto fail;
	}
	hdr_len = len - e.body_len;
	rc = vc_snapbody_open(&r->keys, buf, hdr_len, e.body, e.body_len, &out->body);
	if (rc == VC_E_UNSUPPORTED) {
		seterr(err, errlen, "snapshot %s was written by a newer client, in a format this "
		    "one cannot read: upgrade the client", hex);
		goto fail;
	}
	if (rc != 0) {
		seterr(err, errlen, "snapshot %s cannot be opened: %s", hex, vc_strerror(rc));
		goto fail;
	}
	memcpy(out->id, id, VC_ID_LEN);
	out->client_time = e.client_time;
	memcpy(out->group, e.group, sizeof(out->group));
	out->nrefs = e.nrefs;
	if (envelope_refs_copy(&e, &out->refs) != 0) {
		vc_snapbody_free(&out->body);
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	free(buf);
	return 0;
fail:
	free(buf);
	return -1;
}

int
vc_repo__collect_id(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg)
{
	struct vc_idlist *l = arg;

	(void)size;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		void *p = realloc(l->ids, cap * sizeof(*l->ids));

		if (p == NULL)
			return -1;
		l->ids = p;
		l->cap = cap;
	}
	memcpy(l->ids[l->n++], id, VC_ID_LEN);
	return 0;
}

static int
snap_cmp(const void *a, const void *b)
{
	const struct vc_snapinfo *x = a, *y = b;

	if (x->body.time != y->body.time)
		return x->body.time < y->body.time ? -1 : 1;
	if (x->body.time_nsec != y->body.time_nsec)
		return x->body.time_nsec < y->body.time_nsec ? -1 : 1;
	return memcmp(x->id, y->id, VC_ID_LEN);
}

int
vc_repo_snapshots(struct vc_repo *r, struct vc_snapinfo **out, size_t *n,
    char *err, size_t errlen)
{
	struct vc_idlist l = { 0 };
	struct vc_snapinfo *s = NULL;
	size_t got = 0;
	int rc = -1;

	if (vc_remote_list(r->remote, VSP_KIND_SNAPSHOT, vc_repo__collect_id, &l) != 0) {
		seterr(err, errlen, "cannot list snapshots: %s", vc_remote_error(r->remote));
		goto fail;
	}
	if (l.n > 0 && (s = calloc(l.n, sizeof(*s))) == NULL) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < l.n; i++) {
		int lrc = vc_repo_snapshot_load(r, l.ids[i], &s[got], err, errlen);

		/* One deleted between the listing and the read (forget, GC) is
		 * simply gone. */
		if (lrc == VC_R_NOTFOUND)
			continue;
		if (lrc != 0)
			goto fail;
		got++;
	}
	if (got > 0)
		qsort(s, got, sizeof(*s), snap_cmp);
	if ((rc = vc_chain_check(r, s, got, err, errlen)) != 0)
		goto fail;
	free(l.ids);
	*out = s;
	*n = got;
	return 0;
fail:
	vc_snapinfo_free_all(s, got);
	free(l.ids);
	return rc;
}

long
vc_repo_find(const struct vc_snapinfo *list, size_t n, const char *spec,
    char *err, size_t errlen)
{
	size_t len = strlen(spec);
	long found = -1;

	if (strcmp(spec, "latest") == 0) {
		if (n == 0) {
			seterr(err, errlen, "the vault has no snapshots");
			return -1;
		}
		return (long)(n - 1);
	}
	if (len < 4 || len > 64 || strspn(spec, "0123456789abcdef") != len) {
		seterr(err, errlen, "`%s` is not a snapshot ID (4 to 64 lowercase hex digits, "
		    "or `latest`)", spec);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char hex[65];

		vc_hex(list[i].id, 0, hex);
		if (strncmp(hex, spec, len) != 0)
			continue;
		if (found >= 0) {
			seterr(err, errlen, "snapshot ID prefix %s is ambiguous: give more digits",
			    spec);
			return -1;
		}
		found = (long)i;
	}
	if (found < 0)
		seterr(err, errlen, "no snapshot %s in the vault", spec);
	return found;
}

int
vc_repo_read_chunk(struct vc_repo *r, const uint8_t id[VC_ID_LEN], uint8_t **plain,
    size_t *len, char *err, size_t errlen)
{
	struct vc_cache_loc loc;
	uint8_t *blob = NULL;
	size_t bloblen;
	char hex[65];
	int rc;

	vc_hex(id, 0, hex);
	rc = vc_cache_lookup(r->cache, id, &loc);
	if (rc != 0) {
		seterr(err, errlen, rc == VC_CACHE_NOTFOUND ?
		    "chunk %s is in no index segment of the vault" :
		    "cannot read the local cache for chunk %s", hex);
		return -1;
	}
	rc = vc_remote_get(r->remote, VSP_KIND_PACK, loc.pack_id, loc.offset, loc.sealed_len,
	    &blob, &bloblen);
	if (rc != 0) {
		char phex[65];

		vc_hex(loc.pack_id, 0, phex);
		seterr(err, errlen, rc == VC_R_NOTFOUND ? "pack %s (chunk %s) is missing" :
		    "%s", rc == VC_R_NOTFOUND ? phex : vc_remote_error(r->remote), hex);
		return -1;
	}
	rc = vc_open(&r->keys, id, blob, bloblen, plain, len);
	free(blob);
	if (rc != VC_OK) {
		seterr(err, errlen, "chunk %s cannot be opened: %s", hex, vc_strerror(rc));
		return -1;
	}
	if (*len != loc.plain_len) {
		free(*plain);
		*plain = NULL;
		seterr(err, errlen, "chunk %s has %zu bytes, its index says %u", hex, *len,
		    loc.plain_len);
		return -1;
	}
	return 0;
}

/* The state of a tree walk: a window of stream bytes and the path of the
 * directory being read, with the length of the prefix at each depth. */
struct walk {
	uint8_t *win;
	size_t start, end, cap;
	char *path;
	size_t pathcap;
	size_t base[VC_TREE_DEPTH_MAX + 1];
	unsigned depth;
};

static int
walk_append(struct walk *w, const uint8_t *p, size_t n)
{
	if (w->start > 0) {
		memmove(w->win, w->win + w->start, w->end - w->start);
		w->end -= w->start;
		w->start = 0;
	}
	if (w->cap - w->end < n) {
		size_t cap = w->cap ? w->cap : TREE_WINDOW_MIN;
		void *q;

		while (cap - w->end < n)
			cap *= 2;
		if ((q = realloc(w->win, cap)) == NULL)
			return -1;
		w->win = q;
		w->cap = cap;
	}
	memcpy(w->win + w->end, p, n);
	w->end += n;
	return 0;
}

/* Sets w->path to the path of node n at the current depth. */
static int
walk_path(struct walk *w, const struct vc_node *n)
{
	size_t b = w->base[w->depth], need = b + n->name_len + 2;

	if (need > w->pathcap) {
		size_t cap = need * 2;
		char *q = realloc(w->path, cap);

		if (q == NULL)
			return -1;
		w->path = q;
		w->pathcap = cap;
	}
	memcpy(w->path + b, n->name, n->name_len);
	w->path[b + n->name_len] = '\0';
	return 0;
}

/* Parses every complete record in the window. */
static int
walk_records(struct walk *w, vc_tree_cb *cb, void *arg, struct vc_tree_reader *rd,
    char *err, size_t errlen)
{
	for (;;) {
		struct vc_node n;
		size_t used;
		unsigned d;
		int rc = vc_tree_next(rd, w->win + w->start, w->end - w->start, &n, &used, &d);

		if (rc == VC_TREE_MORE)
			return 0;
		if (rc != VC_OK) {
			seterr(err, errlen, "the snapshot's tree is corrupt");
			return -1;
		}
		w->start += used;
		if (n.type == VC_NODE_END) {
			size_t b;

			if (w->depth == 0) {
				seterr(err, errlen, "the snapshot's tree is corrupt");
				return -1;
			}
			w->depth--;
			b = w->base[w->depth + 1] - 1; /* drop the trailing '/' */
			w->path[b] = '\0';
			if ((rc = cb(&n, w->path, w->depth, arg)) != 0)
				return rc;
			continue;
		}
		if (walk_path(w, &n) != 0) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		if ((rc = cb(&n, w->path, w->depth, arg)) != 0)
			return rc;
		if (n.type == VC_NODE_DIR) {
			size_t b = w->base[w->depth] + n.name_len;

			w->path[b] = '/';
			w->depth++;
			w->base[w->depth] = b + 1;
		}
	}
}

int
vc_repo_tree_walk(struct vc_repo *r, const struct vc_snapbody *b, vc_tree_cb *cb,
    void *arg, char *err, size_t errlen)
{
	struct walk w = { 0 };
	/* A body built here, not parsed, has no tree_version yet: the current. */
	struct vc_tree_reader *rd = b->tree_version != 0 ?
	    vc_tree_reader_new_v(b->tree_version) : vc_tree_reader_new();
	int rc = -1;

	if (rd == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < b->ntree; i++) {
		uint8_t *plain;
		size_t len;

		if (vc_repo_read_chunk(r, b->tree[i].id, &plain, &len, err, errlen) != 0)
			goto out;
		rc = walk_append(&w, plain, len);
		free(plain);
		if (rc != 0) {
			seterr(err, errlen, "out of memory");
			rc = -1;
			goto out;
		}
		if ((rc = walk_records(&w, cb, arg, rd, err, errlen)) != 0)
			goto out;
		rc = -1;
	}
	if (w.start != w.end || w.depth != 0 || vc_tree_done(rd) != 0) {
		seterr(err, errlen, "the snapshot's tree stream ends inside a record or directory");
		goto out;
	}
	rc = 0;
out:
	vc_tree_reader_free(rd);
	free(w.win);
	free(w.path);
	return rc;
}
