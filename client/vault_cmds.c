/*
 * The read-side commands of the vault CLI: ls, cat, restore, diff, check.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "envelope.h"
#include "idset.h"
#include "vault.h"

static const char *
type_name(uint8_t t)
{
	static const char *names[] = { "end", "file", "dir", "symlink", "hardlink", "fifo",
		"chardev", "blockdev", "socket" };

	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static char
type_char(uint8_t t)
{
	return "?-dlhpcbs"[t <= VC_NODE_SOCK ? t : 0];
}

struct ls_ctx {
	struct cli *c;
	char *under[2];
	size_t nunder;
	uint64_t count;
};

static int
ls_cb(const struct vc_node *n, const char *path, unsigned depth, void *arg)
{
	struct ls_ctx *l = arg;

	(void)depth;
	if (n->type == VC_NODE_END || vc_restore_selected(l->under, l->nunder, path) != 1)
		return 0;
	l->count++;
	if (l->c->json) {
		printf("{\"path\":");
		cli_json_str(stdout, path);
		printf(",\"type\":\"%s\",\"mode\":%u,\"uid\":%u,\"gid\":%u,\"size\":%llu,"
		    "\"mtime\":%lld", type_name(n->type), n->mode, n->uid, n->gid,
		    (unsigned long long)n->size, (long long)n->mtime_sec);
		if (n->type == VC_NODE_SYMLINK) {
			char *t = strndup(n->target, n->target_len);

			printf(",\"target\":");
			cli_json_str(stdout, t != NULL ? t : "");
			free(t);
		}
		printf("}\n");
	} else if (l->c->long_list) {
		char when[64];

		cli_time(n->mtime_sec, when, sizeof(when));
		printf("%c%04o %5u %5u %12llu %s /%s", type_char(n->type), n->mode, n->uid,
		    n->gid, (unsigned long long)n->size, when, path);
		if (n->type == VC_NODE_SYMLINK)
			printf(" -> %.*s", (int)n->target_len, n->target);
		printf("\n");
	} else {
		printf("/%s\n", path);
	}
	return 0;
}

int
cmd_ls(struct cli *c)
{
	struct vc_repo *r;
	struct vc_snapinfo s;
	struct ls_ctx l = { 0 };
	char err[VC_ERR_LEN];

	if (c->args.n < 1 || c->args.n > 2)
		cli_die("usage: vault ls SNAPSHOT [PATH]");
	cli_open(c, &r);
	if (vc_repo_sync(r, err, sizeof(err)) != 0)
		cli_die("%s", err);
	cli_snapshot(r, c->args.v[0], &s);
	l.c = c;
	if (c->args.n == 2) {
		l.under[0] = c->args.v[1];
		l.nunder = 1;
	}
	if (vc_repo_tree_walk(r, &s.body, ls_cb, &l, err, sizeof(err)) != 0)
		cli_die("%s", err);
	if (l.nunder > 0 && l.count == 0)
		cli_die("%s is not in the snapshot", c->args.v[1]);
	vc_snapinfo_free(&s);
	vc_repo_close(r);
	return VAULT_EXIT_OK;
}

struct find_ctx {
	const char *want;
	struct vc_chunk_ref *chunks;
	size_t n;
	int found;
	uint8_t type;
};

static int
find_cb(const struct vc_node *n, const char *path, unsigned depth, void *arg)
{
	struct find_ctx *f = arg;

	(void)depth;
	if (n->type == VC_NODE_END || strcmp(path, f->want) != 0)
		return 0;
	f->found = 1;
	f->type = n->type;
	if (n->type == VC_NODE_FILE && n->nchunks > 0) {
		if ((f->chunks = malloc(n->nchunks * sizeof(*f->chunks))) == NULL)
			return -1;
		memcpy(f->chunks, n->chunks, n->nchunks * sizeof(*f->chunks));
		f->n = n->nchunks;
	}
	return 1;
}

static void
print_body(const struct vc_snapinfo *s)
{
	const struct vc_snapbody *b = &s->body;
	char hex[65];

	vc_hex(s->id, 0, hex);
	printf("{\"id\":\"%s\",\"time\":%lld,\"time_nsec\":%u,\"hostname\":", hex,
	    (long long)b->time, b->time_nsec);
	cli_json_str(stdout, b->hostname);
	printf(",\"username\":");
	cli_json_str(stdout, b->username);
	printf(",\"paths\":[");
	for (size_t i = 0; i < b->npaths; i++) {
		printf("%s", i ? "," : "");
		cli_json_str(stdout, b->paths[i]);
	}
	printf("],\"tags\":[");
	for (size_t i = 0; i < b->ntags; i++) {
		printf("%s", i ? "," : "");
		cli_json_str(stdout, b->tags[i]);
	}
	printf("],\"parent\":");
	if (b->has_parent) {
		vc_hex(b->parent, 0, hex);
		printf("\"%s\"", hex);
	} else {
		printf("null");
	}
	printf(",\"tree_chunks\":%zu,\"tree_size\":%llu,\"files\":%llu,\"dirs\":%llu,"
	    "\"bytes\":%llu,\"errors\":%llu,\"references\":%zu,\"version\":%u,\"seq\":%llu,"
	    "\"prev\":[", b->ntree,
	    (unsigned long long)b->tree_size, (unsigned long long)b->files,
	    (unsigned long long)b->dirs, (unsigned long long)b->bytes,
	    (unsigned long long)b->errors, s->nrefs, b->version, (unsigned long long)b->seq);
	for (size_t i = 0; i < b->nprev; i++) {
		vc_hex(b->prev[i], 0, hex);
		printf("%s\"%s\"", i ? "," : "", hex);
	}
	printf("]}\n");
}

int
cmd_cat(struct cli *c)
{
	struct vc_repo *r;
	struct vc_snapinfo s;
	struct find_ctx f = { 0 };
	char err[VC_ERR_LEN];
	const char *want;

	if (c->args.n != 2)
		cli_die("usage: vault cat SNAPSHOT PATH, or vault cat snapshot SNAPSHOT");
	cli_open(c, &r);
	if (strcmp(c->args.v[0], "snapshot") == 0) {
		cli_snapshot(r, c->args.v[1], &s);
		print_body(&s);
		vc_snapinfo_free(&s);
		vc_repo_close(r);
		return VAULT_EXIT_OK;
	}
	if (vc_repo_sync(r, err, sizeof(err)) != 0)
		cli_die("%s", err);
	cli_snapshot(r, c->args.v[0], &s);
	for (want = c->args.v[1]; *want == '/'; want++)
		;
	f.want = want;
	if (vc_repo_tree_walk(r, &s.body, find_cb, &f, err, sizeof(err)) < 0)
		cli_die("%s", err);
	if (!f.found)
		cli_die("%s is not in snapshot %s", c->args.v[1], c->args.v[0]);
	if (f.type != VC_NODE_FILE)
		cli_die("%s is a %s, not a file", c->args.v[1], type_name(f.type));
	for (size_t i = 0; i < f.n; i++) {
		uint8_t *plain;
		size_t len;

		if (vc_repo_read_chunk(r, f.chunks[i].id, &plain, &len, err, sizeof(err)) != 0)
			cli_die("%s", err);
		if (fwrite(plain, 1, len, stdout) != len)
			cli_die("cannot write to standard output: %s", strerror(errno));
		free(plain);
	}
	free(f.chunks);
	vc_snapinfo_free(&s);
	vc_repo_close(r);
	return VAULT_EXIT_OK;
}

int
cmd_restore(struct cli *c)
{
	struct vc_repo *r;
	struct vc_snapinfo s;
	struct vc_restore_opts o = { 0 };
	struct vc_restore_stats st;
	char err[VC_ERR_LEN], hex[65];
	int rc;

	if (c->args.n != 1)
		cli_die("usage: vault restore SNAPSHOT --target DIR [--include PATH]...");
	if (c->target == NULL)
		cli_die("restore: give --target DIR (the directory to restore into)");
	cli_open(c, &r);
	cli_snapshot(r, c->args.v[0], &s);
	o.target = c->target;
	o.includes = c->includes.v;
	o.nincludes = c->includes.n;
	o.threads = c->threads;
	o.progress = c->progress;
	o.verbose = c->verbose;
	rc = vc_restore(r, &s, &o, &st, err, sizeof(err));
	vc_hex(s.id, 0, hex);
	vc_snapinfo_free(&s);
	vc_repo_close(r);
	if (rc < 0)
		cli_die("restore failed: %s", err);
	if (c->json) {
		printf("{\"snapshot\":\"%s\",\"files\":%llu,\"dirs\":%llu,\"others\":%llu,"
		    "\"bytes\":%llu,\"errors\":%llu,\"requests\":%llu,\"downloaded\":%llu,"
		    "\"seconds\":%.3f,\"not_restored\":[", hex, (unsigned long long)st.files,
		    (unsigned long long)st.dirs, (unsigned long long)st.others,
		    (unsigned long long)st.bytes, (unsigned long long)st.errors,
		    (unsigned long long)st.requests, (unsigned long long)st.downloaded,
		    st.seconds);
		for (size_t i = 0; i < st.nfailed; i++) {
			if (i > 0)
				putchar(',');
			cli_json_str(stdout, st.failed[i]);
		}
		printf("]}\n");
	} else if (!c->quiet) {
		printf("restored snapshot %.8s to %s: %llu files, %llu dirs, %llu other, "
		    "%.1f MB in %.1f s%s\n", hex, c->target, (unsigned long long)st.files,
		    (unsigned long long)st.dirs, (unsigned long long)st.others,
		    (double)st.bytes / 1e6, st.seconds,
		    st.errors ? " (with errors, named above)" : "");
		for (size_t i = 0; i < st.nfailed; i++)
			printf("not restored: %s\n", st.failed[i]);
	}
	vc_restore_stats_free(&st);
	return rc == VC_BACKUP_PARTIAL ? VAULT_EXIT_PARTIAL : VAULT_EXIT_OK;
}

/* A node as diff compares it. */
struct dent {
	char *path;
	uint8_t type;
	uint32_t mode, uid, gid;
	int64_t mtime;
	uint64_t size;
	uint8_t content[16];        /* BLAKE2b-128 of chunk IDs or link target */
};

struct dlist {
	struct dent *v;
	size_t n, cap;
};

static int
diff_cb(const struct vc_node *n, const char *path, unsigned depth, void *arg)
{
	struct dlist *l = arg;
	struct dent *e;
	crypto_generichash_state h;

	(void)depth;
	if (n->type == VC_NODE_END)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		void *q = realloc(l->v, cap * sizeof(*l->v));

		if (q == NULL)
			return -1;
		l->v = q;
		l->cap = cap;
	}
	e = &l->v[l->n];
	if ((e->path = strdup(path)) == NULL)
		return -1;
	e->type = n->type;
	e->mode = n->mode;
	e->uid = n->uid;
	e->gid = n->gid;
	e->mtime = n->mtime_sec;
	e->size = n->size;
	crypto_generichash_init(&h, NULL, 0, sizeof(e->content));
	for (size_t i = 0; i < n->nchunks; i++)
		crypto_generichash_update(&h, n->chunks[i].id, VC_ID_LEN);
	if (n->type == VC_NODE_SYMLINK)
		crypto_generichash_update(&h, (const uint8_t *)n->target, n->target_len);
	crypto_generichash_final(&h, e->content, sizeof(e->content));
	l->n++;
	return 0;
}

static int
dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->path, ((const struct dent *)b)->path);
}

static void
load_dlist(struct vc_repo *r, const char *spec, struct dlist *l)
{
	struct vc_snapinfo s;
	char err[VC_ERR_LEN];

	cli_snapshot(r, spec, &s);
	if (vc_repo_tree_walk(r, &s.body, diff_cb, l, err, sizeof(err)) != 0)
		cli_die("%s", err);
	vc_snapinfo_free(&s);
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(*l->v), dent_cmp);
}

static void
diff_line(struct cli *c, char what, const char *path)
{
	if (c->json) {
		printf("{\"change\":\"%c\",\"path\":", what);
		cli_json_str(stdout, path);
		printf("}\n");
	} else {
		printf("%c    /%s\n", what, path);
	}
}

int
cmd_diff(struct cli *c)
{
	struct vc_repo *r;
	struct dlist a = { 0 }, b = { 0 };
	char err[VC_ERR_LEN];
	size_t i = 0, j = 0, added = 0, removed = 0, changed = 0;

	if (c->args.n != 2)
		cli_die("usage: vault diff SNAPSHOT-A SNAPSHOT-B");
	cli_open(c, &r);
	if (vc_repo_sync(r, err, sizeof(err)) != 0)
		cli_die("%s", err);
	load_dlist(r, c->args.v[0], &a);
	load_dlist(r, c->args.v[1], &b);
	while (i < a.n || j < b.n) {
		int cmp = i == a.n ? 1 : j == b.n ? -1 : strcmp(a.v[i].path, b.v[j].path);

		if (cmp < 0) {
			diff_line(c, '-', a.v[i++].path);
			removed++;
		} else if (cmp > 0) {
			diff_line(c, '+', b.v[j++].path);
			added++;
		} else {
			const struct dent *x = &a.v[i++], *y = &b.v[j++];

			if (x->type != y->type) {
				diff_line(c, 'T', y->path);
				changed++;
			} else if (memcmp(x->content, y->content, sizeof(x->content)) != 0 ||
			    x->size != y->size) {
				diff_line(c, 'M', y->path);
				changed++;
			} else if (x->mode != y->mode || x->uid != y->uid || x->gid != y->gid ||
			    (x->mtime != y->mtime && x->type != VC_NODE_DIR)) {
				diff_line(c, 'U', y->path);
				changed++;
			}
		}
	}
	if (!c->json && !c->quiet)
		printf("%zu added, %zu removed, %zu changed (+ added, - removed, M contents, "
		    "T type, U metadata)\n", added, removed, changed);
	for (size_t k = 0; k < a.n; k++)
		free(a.v[k].path);
	for (size_t k = 0; k < b.n; k++)
		free(b.v[k].path);
	free(a.v);
	free(b.v);
	vc_repo_close(r);
	return VAULT_EXIT_OK;
}

#define CHECK_REPORT_MAX 20

struct check {
	struct cli *c;
	struct vc_repo *r;
	struct vc_idset *packs;     /* packs the vault holds */
	struct vc_idset *refs;      /* packs the current snapshot references */
	struct vc_idset *indexes;   /* index segments the vault holds */
	uint64_t errors, chunks, reported;
	const char *snap;
};

static void
check_error(struct check *k, const char *fmt, ...)
{
	va_list ap;

	k->errors++;
	if (k->reported++ >= CHECK_REPORT_MAX)
		return;
	fprintf(stderr, "error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
add_pack(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg)
{
	(void)size;
	return vc_idset_add(arg, id, 0, NULL) < 0 ? -1 : 0;
}

static int
check_node(const struct vc_node *n, const char *path, unsigned depth, void *arg)
{
	struct check *k = arg;

	(void)depth;
	if (n->type != VC_NODE_FILE)
		return 0;
	for (size_t i = 0; i < n->nchunks; i++) {
		struct vc_cache_loc loc;
		char hex[65];

		k->chunks++;
		vc_hex(n->chunks[i].id, 1, hex);
		if (vc_cache_lookup(k->r->cache, n->chunks[i].id, &loc) != 0) {
			check_error(k, "snapshot %.8s: /%s: chunk %s is in no index segment",
			    k->snap, path, hex);
			continue;
		}
		if (!vc_idset_get(k->packs, loc.pack_id, NULL)) {
			check_error(k, "snapshot %.8s: /%s: chunk %s is in a pack the vault does "
			    "not hold", k->snap, path, hex);
		} else if (!vc_idset_get(k->refs, loc.pack_id, NULL)) {
			check_error(k, "snapshot %.8s: /%s: chunk %s is in a pack the snapshot "
			    "does not reference (garbage collection could remove it)", k->snap,
			    path, hex);
		}
	}
	return 0;
}

/* Downloads every pack (SHA-256 checked), opens its map and every chunk. */
static int
read_pack(const uint8_t id[VSP_ID_LEN], uint32_t val, void *arg)
{
	struct check *k = arg;
	struct vc_pack_entry *e = NULL;
	uint8_t *buf = NULL;
	size_t len, n = 0;
	char hex[65];
	int rc;

	(void)val;
	vc_hex(id, 0, hex);
	if (vc_remote_get(k->r->remote, VSP_KIND_PACK, id, 0, UINT64_MAX, &buf, &len) != 0) {
		check_error(k, "pack %s: %s", hex, vc_remote_error(k->r->remote));
		return 0;
	}
	if ((rc = vc_pack_parse(&k->r->keys, buf, len, &e, &n)) != 0) {
		check_error(k, "pack %s: its map cannot be read: %s", hex, vc_strerror(rc));
		free(buf);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *plain;
		size_t plen;
		struct vc_cache_loc loc;

		rc = vc_open(&k->r->keys, e[i].id, buf + e[i].offset, e[i].sealed_len, &plain,
		    &plen);
		if (rc != VC_OK || plen != e[i].plain_len) {
			check_error(k, "pack %s: chunk %u is damaged: %s", hex, (unsigned)i,
			    rc != VC_OK ? vc_strerror(rc) : "wrong length");
		}
		if (rc == VC_OK)
			free(plain);
		if (vc_cache_lookup(k->r->cache, e[i].id, &loc) == 0 &&
		    memcmp(loc.pack_id, id, VC_ID_LEN) == 0 &&
		    (loc.offset != e[i].offset || loc.sealed_len != e[i].sealed_len))
			check_error(k, "pack %s: the index and the pack's map disagree on a chunk",
			    hex);
	}
	free(e);
	free(buf);
	return 0;
}

/* The tree's own chunks must be referenced too, and every index segment
 * the snapshot names must be one the vault holds. */
static void
check_tree_chunks(struct check *k, const struct vc_snapinfo *s)
{
	for (size_t i = 0; i < s->body.ntree; i++) {
		struct vc_cache_loc loc;
		char hex[65];

		vc_hex(s->body.tree[i].id, 1, hex);
		if (vc_cache_lookup(k->r->cache, s->body.tree[i].id, &loc) != 0)
			check_error(k, "snapshot %.8s: tree chunk %s is in no index segment",
			    k->snap, hex);
		else if (!vc_idset_get(k->refs, loc.pack_id, NULL))
			check_error(k, "snapshot %.8s: tree chunk %s is in a pack the snapshot "
			    "does not reference", k->snap, hex);
	}
	for (size_t i = 0; i < s->nrefs; i++) {
		const struct envelope_ref *ref = &s->refs[i];
		char hex[65];

		if (ref->kind != ENVELOPE_KIND_INDEX || vc_idset_get(k->indexes, ref->id, NULL))
			continue;
		vc_hex(ref->id, 1, hex);
		check_error(k, "snapshot %.8s: it references index segment %s, which the vault "
		    "does not hold", k->snap, hex);
	}
}

static void
load_refs(struct check *k, const struct vc_snapinfo *s)
{
	for (size_t i = 0; i < s->nrefs; i++) {
		const struct envelope_ref *ref = &s->refs[i];

		if (ref->kind == ENVELOPE_KIND_PACK &&
		    vc_idset_add(k->refs, ref->id, 0, NULL) < 0)
			cli_die("out of memory");
	}
}

int
cmd_check(struct cli *c)
{
	struct check k = { 0 };
	struct vc_snapinfo *s = NULL;
	size_t n = 0;
	char err[VC_ERR_LEN];

	cli_open(c, &k.r);
	k.c = c;
	if (vc_repo_sync(k.r, err, sizeof(err)) != 0)
		cli_die("%s", err);
	if ((k.packs = vc_idset_new()) == NULL)
		cli_die("out of memory");
	if (vc_remote_list(k.r->remote, VSP_KIND_PACK, add_pack, k.packs) != 0)
		cli_die("cannot list packs: %s", vc_remote_error(k.r->remote));
	if ((k.indexes = vc_idset_new()) == NULL)
		cli_die("out of memory");
	if (vc_remote_list(k.r->remote, VSP_KIND_INDEX, add_pack, k.indexes) != 0)
		cli_die("cannot list index segments: %s", vc_remote_error(k.r->remote));
	cli_list(k.r, &s, &n);
	for (size_t i = 0; i < n; i++) {
		char hex[65];

		vc_hex(s[i].id, 0, hex);
		k.snap = hex;
		if ((k.refs = vc_idset_new()) == NULL)
			cli_die("out of memory");
		load_refs(&k, &s[i]);
		check_tree_chunks(&k, &s[i]);
		if (vc_repo_tree_walk(k.r, &s[i].body, check_node, &k, err, sizeof(err)) != 0)
			check_error(&k, "snapshot %.8s: %s", hex, err);
		vc_idset_free(k.refs);
		k.refs = NULL;
	}
	if (c->read_data)
		vc_idset_walk(k.packs, read_pack, &k);
	if (c->json)
		printf("{\"snapshots\":%zu,\"packs\":%zu,\"chunks\":%llu,\"read_data\":%s,"
		    "\"errors\":%llu}\n", n, vc_idset_count(k.packs),
		    (unsigned long long)k.chunks, c->read_data ? "true" : "false",
		    (unsigned long long)k.errors);
	else if (!c->quiet)
		printf("checked %zu snapshots, %llu chunk references, %zu packs%s: %s\n", n,
		    (unsigned long long)k.chunks, vc_idset_count(k.packs),
		    c->read_data ? " (every byte read)" : "",
		    k.errors ? "ERRORS FOUND" : "no errors");
	vc_snapinfo_free_all(s, n);
	vc_idset_free(k.packs);
	vc_idset_free(k.indexes);
	vc_repo_close(k.r);
	return k.errors ? VAULT_EXIT_ERROR : VAULT_EXIT_OK;
}

/* ---- vault key list | add | remove | passwd (spec/client.md 4) ---- */

static void
print_keys(struct cli *c, struct vc_repo *r, const struct vc_repo_key *v, size_t n)
{
	int v1 = vc_config_version(r->config, r->config_len) == VC_CONFIG_VERSION;
	char hex[65], when[64];

	if (c->json) {
		printf("[");
		if (v1)
			printf("{\"id\":\"config\",\"type\":\"passphrase\",\"current\":%s}%s",
			    r->by_config ? "true" : "false", n ? "," : "");
		for (size_t i = 0; i < n; i++) {
			vc_hex(v[i].id, 0, hex);
			printf("%s{\"id\":\"%s\",\"type\":\"%s\",\"created\":%lld,\"label\":", i ? "," : "",
			    hex, v[i].info.type == VC_KEYOBJ_TYPE_RECOVERY ? "recovery" : "passphrase",
			    (long long)v[i].info.created);
			cli_json_str(stdout, v[i].info.label);
			printf(",\"current\":%s}", v[i].current ? "true" : "false");
		}
		printf("]\n");
		return;
	}
	printf("  %-8s  %-10s  %-19s  %s\n", "ID", "type", "created", "label");
	if (v1)
		printf("%c %-8s  %-10s  %-19s  %s\n", r->by_config ? '*' : ' ', "config",
		    "passphrase", "-", "(the vault's first passphrase; cannot be removed)");
	for (size_t i = 0; i < n; i++) {
		vc_hex(v[i].id, 0, hex);
		cli_time(v[i].info.created, when, sizeof(when));
		printf("%c %.8s  %-10s  %-19s  %s\n", v[i].current ? '*' : ' ', hex,
		    v[i].info.type == VC_KEYOBJ_TYPE_RECOVERY ? "recovery" : "passphrase", when,
		    v[i].info.label);
	}
}

/* The key named by a hex prefix of at least 4 digits. */
static void
find_key(const struct vc_repo_key *v, size_t n, const char *spec, uint8_t id[VC_ID_LEN])
{
	size_t len = strlen(spec), hits = 0;

	if (len < 4 || len > 64 || strspn(spec, "0123456789abcdef") != len)
		cli_die("`%s` is not a key ID (4 to 64 lowercase hex digits)", spec);
	for (size_t i = 0; i < n; i++) {
		char hex[65];

		vc_hex(v[i].id, 0, hex);
		if (strncmp(hex, spec, len) == 0) {
			memcpy(id, v[i].id, VC_ID_LEN);
			hits++;
		}
	}
	if (hits != 1)
		cli_die(hits ? "key ID prefix %s is ambiguous: give more digits" :
		    "the vault has no key %s", spec);
}

/* Adds a passphrase key (or, with --recovery, a recovery key printed once);
 * its ID into id. */
static void
key_add(struct cli *c, struct vc_repo *r, const char *label, uint8_t id[VC_ID_LEN])
{
	struct vc_kdf_params p;
	char err[VC_ERR_LEN], pw[4096], text[VC_RECOVERY_TEXT_LEN + 1];
	uint8_t rk[VC_RECOVERY_LEN];
	size_t n;
	int rc;

	vc_kdf_params_default(&p);
	if (c->kdf_ops)
		p.opslimit = c->kdf_ops;
	if (c->kdf_mem)
		p.memlimit = c->kdf_mem;
	if (c->recovery) {
		vc_recovery_new(rk, text);
		rc = vc_repo_key_add(r, VC_KEYOBJ_TYPE_RECOVERY, rk, sizeof(rk), &p, label, id, err,
		    sizeof(err));
		sodium_memzero(rk, sizeof(rk));
		if (rc != 0)
			cli_die("%s", err);
		printf("recovery key (shown once; store it offline, it opens the vault as a "
		    "passphrase does):\n\n    %s\n\n", text);
		sodium_memzero(text, sizeof(text));
		return;
	}
	n = cli_new_passphrase(c, pw, sizeof(pw));
	rc = vc_repo_key_add(r, VC_KEYOBJ_TYPE_PASSPHRASE, (const uint8_t *)pw, n, &p, label, id,
	    err, sizeof(err));
	sodium_memzero(pw, sizeof(pw));
	if (rc != 0)
		cli_die("%s", err);
}

static int
key_passwd(struct cli *c, struct vc_repo *r, const struct vc_repo_key *v, size_t n)
{
	uint8_t id[VC_ID_LEN], old[VC_ID_LEN];
	const struct vc_repo_key *cur = NULL;
	char err[VC_ERR_LEN], hex[65];

	if (r->by_config)
		cli_die("this vault's first passphrase is part of its version 1 config and cannot "
		    "be changed; add a passphrase with `vault key add` (the first one keeps "
		    "working)");
	for (size_t i = 0; i < n; i++)
		if (v[i].current)
			cur = &v[i];
	if (cur == NULL || cur->info.type != VC_KEYOBJ_TYPE_PASSPHRASE)
		cli_die("this command was opened with a recovery key, which has no passphrase to "
		    "change; use `vault key add`");
	memcpy(old, cur->id, VC_ID_LEN);
	c->recovery = 0;
	key_add(c, r, cur->info.label, id);
	/* The new key is stored before the old one goes: never no key. */
	if (vc_repo_key_remove(r, old, 1, err, sizeof(err)) != 0)
		cli_die("the new passphrase works, but the old one is still there: %s", err);
	vc_hex(id, 0, hex);
	if (!c->quiet)
		printf("passphrase changed: key %.8s replaces the old one\n", hex);
	return VAULT_EXIT_OK;
}

int
cmd_key(struct cli *c)
{
	struct vc_repo *r;
	struct vc_repo_key *v;
	const char *sub = c->args.n > 0 ? c->args.v[0] : "";
	char err[VC_ERR_LEN], hex[65];
	uint8_t id[VC_ID_LEN];
	size_t n;
	int rc = VAULT_EXIT_OK;

	if (strcmp(sub, "list") != 0 && strcmp(sub, "add") != 0 && strcmp(sub, "passwd") != 0 &&
	    !(strcmp(sub, "remove") == 0 && c->args.n == 2))
		cli_usage("usage: vault key list | add [--label L] [--recovery] | remove ID | "
		    "passwd");
	cli_open(c, &r);
	if (vc_repo_keys(r, &v, &n, err, sizeof(err)) != 0)
		cli_die("%s", err);
	if (strcmp(sub, "list") == 0) {
		print_keys(c, r, v, n);
	} else if (strcmp(sub, "add") == 0) {
		key_add(c, r, c->label, id);
		vc_hex(id, 0, hex);
		if (!c->quiet)
			printf("key %.8s added\n", hex);
	} else if (strcmp(sub, "remove") == 0) {
		find_key(v, n, c->args.v[1], id);
		if (vc_repo_key_remove(r, id, 0, err, sizeof(err)) != 0)
			cli_die("%s", err);
		vc_hex(id, 0, hex);
		if (!c->quiet)
			printf("key %.8s removed\n", hex);
	} else {
		rc = key_passwd(c, r, v, n);
	}
	free(v);
	vc_repo_close(r);
	return rc;
}
