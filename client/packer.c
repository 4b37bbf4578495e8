/*
 * The write side of a backup (packer.h).
 *
 * Locking: one mutex guards the idle pack writers, the sets, the list of
 * new packs and the buffer pool. A worker takes a writer of its own for
 * each chunk and seals straight into it (no copy), so sealing (zstd +
 * AEAD), finishing a pack (SHA-256) and queueing uploads all happen
 * outside the lock; with N workers up to N packs fill at once. Uploaded
 * packs' buffers come back to a small pool, so a backup does not fault in
 * fresh memory for every pack. The remote's queue blocks when full, which
 * bounds the memory a fast reader can fill with packs a slow network has
 * not taken yet.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunker.h"
#include "envelope.h"
#include "idset.h"
#include "packer.h"
#include "sha256.h"

struct newpack {
	uint8_t id[VC_ID_LEN];
	uint8_t index_id[VC_ID_LEN];
	struct vc_pack_entry *e;
	size_t n;
};

struct vc_packer;

/* What pack_uploaded needs to recycle a buffer. */
struct pool_ret {
	struct vc_packer *p;
	uint8_t *buf;
};

struct vc_packer {
	struct vc_repo *r;
	size_t target;
	pthread_mutex_t mu;
	struct vc_pack_writer *idle[VC_PACKER_WRITERS_MAX]; /* writers no worker holds */
	size_t nidle, nwriters;
	uint8_t *pool[VC_PACKER_POOL_MAX];     /* buffers of uploaded packs */
	size_t npool;
	struct vc_idset *seen;    /* chunks stored this run or found in the cache */
	struct vc_idset *packs;   /* packs the snapshot needs */
	struct vc_idset *indexes; /* index segments the snapshot needs */
	struct newpack **np;      /* packs written this run */
	size_t nnp, capnp;
	size_t unindexed;         /* np[unindexed..] are in no segment yet */
	struct vc_packer_stats st;
	int failed;
	char err[VC_ERR_LEN];
};

struct vc_packer *
vc_packer_new(struct vc_repo *r, size_t pack_target)
{
	struct vc_packer *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->r = r;
	p->target = pack_target ? pack_target : VC_PACK_TARGET_DEFAULT;
	pthread_mutex_init(&p->mu, NULL);
	p->seen = vc_idset_new();
	p->packs = vc_idset_new();
	p->indexes = vc_idset_new();
	if (p->seen == NULL || p->packs == NULL || p->indexes == NULL) {
		vc_packer_free(p);
		return NULL;
	}
	return p;
}

void
vc_packer_free(struct vc_packer *p)
{
	if (p == NULL)
		return;
	/* Uploads still queued call back into p (their buffers come home). */
	vc_remote_flush(p->r->remote);
	for (size_t i = 0; i < p->nidle; i++)
		vc_pack_writer_free(p->idle[i]);
	for (size_t i = 0; i < p->npool; i++)
		free(p->pool[i]);
	vc_idset_free(p->seen);
	vc_idset_free(p->packs);
	vc_idset_free(p->indexes);
	for (size_t i = 0; i < p->nnp; i++) {
		free(p->np[i]->e);
		free(p->np[i]);
	}
	free(p->np);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Records a failure (the first one wins) and copies it to err. */
static int
fail(struct vc_packer *p, char *err, size_t errlen, const char *msg)
{
	pthread_mutex_lock(&p->mu);
	if (!p->failed) {
		p->failed = 1;
		snprintf(p->err, sizeof(p->err), "%s", msg);
	}
	if (err != NULL)
		snprintf(err, errlen, "%s", p->err);
	pthread_mutex_unlock(&p->mu);
	return -1;
}

/* A pack's buffer: the target, the largest blob that may still go in, and
 * room for a map of small chunks, so that a pack rarely reallocates. */
#define PACK_BUF_CAP(target) \
	((target) + VC_CHUNK_OVERHEAD + VC_CHUNKER_MAX_DEFAULT + ((size_t)1 << 20))

/* A new empty writer on a pooled buffer if there is one. Unlocked. */
static struct vc_pack_writer *
writer_new(struct vc_packer *p)
{
	struct vc_pack_writer *w = vc_pack_writer_new();
	uint8_t *buf = NULL;

	if (w == NULL)
		return NULL;
	pthread_mutex_lock(&p->mu);
	if (p->npool > 0)
		buf = p->pool[--p->npool];
	pthread_mutex_unlock(&p->mu);
	if (buf == NULL)
		buf = malloc(PACK_BUF_CAP(p->target));
	if (buf != NULL && vc_pack_writer_adopt(w, buf, PACK_BUF_CAP(p->target)) != 0) {
		free(buf);
		buf = NULL;
	}
	/* Without a buffer the writer grows its own. */
	return w;
}

/* Takes an idle writer, or makes one. */
static struct vc_pack_writer *
writer_take(struct vc_packer *p)
{
	struct vc_pack_writer *w = NULL;

	pthread_mutex_lock(&p->mu);
	if (p->nidle > 0)
		w = p->idle[--p->nidle];
	pthread_mutex_unlock(&p->mu);
	return w != NULL ? w : writer_new(p);
}

/* Gives a writer back; one more than the array holds is finished by the
 * caller (returns it), which happens only with more workers than
 * VC_PACKER_WRITERS_MAX. */
static struct vc_pack_writer *
writer_give(struct vc_packer *p, struct vc_pack_writer *w)
{
	pthread_mutex_lock(&p->mu);
	if (p->nidle < VC_PACKER_WRITERS_MAX) {
		p->idle[p->nidle++] = w;
		w = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	return w;
}

/* Runs on the remote's thread when a pack's upload ends: its buffer goes
 * back to the pool (the upload's own failure is reported by the flush). */
static void
pack_uploaded(void *arg, int rc, const char *err)
{
	struct pool_ret *r = arg;
	struct vc_packer *p = r->p;

	(void)rc;
	(void)err;
	pthread_mutex_lock(&p->mu);
	if (p->npool < VC_PACKER_POOL_MAX) {
		p->pool[p->npool++] = r->buf;
		r->buf = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	free(r->buf);
	free(r);
}

/* Seals the packs np[from..to) into one index segment and queues it. */
static int
write_index(struct vc_packer *p, size_t from, size_t to, char *err, size_t errlen)
{
	struct vc_index_pack *ip;
	struct newpack **list;
	uint8_t *buf, id[VC_ID_LEN];
	size_t len, n = to - from;
	int rc;

	if (n == 0)
		return 0;
	ip = calloc(n, sizeof(*ip));
	list = calloc(n, sizeof(*list));
	if (ip == NULL || list == NULL) {
		free(ip);
		free(list);
		return fail(p, err, errlen, "out of memory");
	}
	pthread_mutex_lock(&p->mu);
	memcpy(list, p->np + from, n * sizeof(*list));
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < n; i++) {
		memcpy(ip[i].pack_id, list[i]->id, VC_ID_LEN);
		ip[i].entries = list[i]->e;
		ip[i].n = list[i]->n;
	}
	rc = vc_index_encode(&p->r->keys, ip, n, NULL, &buf, &len);
	free(ip);
	if (rc != 0) {
		free(list);
		return fail(p, err, errlen, "cannot encode an index segment");
	}
	sha256_buf(buf, len, id);
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < n; i++)
		memcpy(list[i]->index_id, id, VC_ID_LEN);
	rc = vc_idset_add(p->indexes, id, 0, NULL) < 0;
	p->st.indexes++;
	pthread_mutex_unlock(&p->mu);
	free(list);
	if (rc)
		return fail(p, err, errlen, "out of memory");
	if (vc_remote_put_async(p->r->remote, VSP_KIND_INDEX, id, buf, len, NULL, NULL) != 0)
		return fail(p, err, errlen, vc_remote_error(p->r->remote));
	return 0;
}

/* Finishes the detached writer w, queues its upload and, every
 * VC_PACKER_INDEX_EVERY packs, an index segment. Frees w. */
static int
flush_pack(struct vc_packer *p, struct vc_pack_writer *w, char *err, size_t errlen)
{
	struct newpack *np = calloc(1, sizeof(*np));
	uint8_t *buf;
	size_t len, from = 0, to = 0;
	int rc;

	if (np == NULL) {
		vc_pack_writer_free(w);
		return fail(p, err, errlen, "out of memory");
	}
	rc = vc_pack_finish(w, &p->r->keys, NULL, &buf, &len, np->id, &np->e, &np->n);
	vc_pack_writer_free(w);
	if (rc != 0) {
		free(np);
		return fail(p, err, errlen, "out of memory while finishing a pack");
	}
	pthread_mutex_lock(&p->mu);
	if (p->nnp == p->capnp) {
		size_t cap = p->capnp ? 2 * p->capnp : 64;
		void *q = realloc(p->np, cap * sizeof(*p->np));

		if (q == NULL) {
			pthread_mutex_unlock(&p->mu);
			free(np->e);
			free(np);
			free(buf);
			return fail(p, err, errlen, "out of memory");
		}
		p->np = q;
		p->capnp = cap;
	}
	p->np[p->nnp++] = np;
	rc = vc_idset_add(p->packs, np->id, 0, NULL) < 0;
	p->st.packs++;
	if (p->nnp - p->unindexed >= VC_PACKER_INDEX_EVERY) {
		from = p->unindexed;
		to = p->nnp;
		p->unindexed = to;
	}
	pthread_mutex_unlock(&p->mu);
	if (rc) {
		free(buf);
		return fail(p, err, errlen, "out of memory");
	}
	{
		struct pool_ret *ret = malloc(sizeof(*ret));

		if (ret == NULL) {
			free(buf);
			return fail(p, err, errlen, "out of memory");
		}
		ret->p = p;
		ret->buf = buf;
		if (vc_remote_put_async_borrowed(p->r->remote, VSP_KIND_PACK, np->id, buf, len,
		    pack_uploaded, ret) != 0) {
			free(buf);
			free(ret);
			return fail(p, err, errlen, vc_remote_error(p->r->remote));
		}
	}
	return write_index(p, from, to, err, errlen);
}

/* Looks id up in the cache; if the vault holds it, marks its pack and
 * index as needed. Returns 1 found, 0 not, -1. */
static int
known(struct vc_packer *p, const uint8_t id[VC_ID_LEN])
{
	struct vc_cache_loc loc;
	int rc = vc_cache_lookup(p->r->cache, id, &loc), bad;

	if (rc == VC_CACHE_NOTFOUND)
		return 0;
	if (rc != 0)
		return -1;
	pthread_mutex_lock(&p->mu);
	bad = vc_idset_add(p->seen, id, 0, NULL) < 0 ||
	    vc_idset_add(p->packs, loc.pack_id, 0, NULL) < 0 ||
	    vc_idset_add(p->indexes, loc.index_id, 0, NULL) < 0;
	pthread_mutex_unlock(&p->mu);
	return bad ? -1 : 1;
}

int
vc_packer_need(struct vc_packer *p, const uint8_t id[VC_ID_LEN])
{
	int seen, rc;

	pthread_mutex_lock(&p->mu);
	seen = vc_idset_get(p->seen, id, NULL);
	pthread_mutex_unlock(&p->mu);
	if (seen)
		return 0;
	rc = known(p, id);
	return rc < 0 ? -1 : rc == 1 ? 0 : VC_CACHE_NOTFOUND;
}

int
vc_packer_add(struct vc_packer *p, uint8_t type, const uint8_t id[VC_ID_LEN],
    const uint8_t *plain, size_t len, char *err, size_t errlen)
{
	struct vc_pack_writer *full = NULL, *w, *extra;
	uint8_t *at;
	size_t slen;
	int rc, added;

	pthread_mutex_lock(&p->mu);
	rc = p->failed;
	added = rc ? 0 : vc_idset_get(p->seen, id, NULL);
	if (added)
		p->st.chunks_dup++;
	pthread_mutex_unlock(&p->mu);
	if (rc)
		return fail(p, err, errlen, "");
	if (added)
		return 0;
	if ((rc = known(p, id)) != 0) {
		if (rc < 0)
			return fail(p, err, errlen, "cannot read the local cache");
		pthread_mutex_lock(&p->mu);
		p->st.chunks_dup++;
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	pthread_mutex_lock(&p->mu);
	added = vc_idset_add(p->seen, id, 0, NULL);
	if (added == 0)
		p->st.chunks_dup++;
	pthread_mutex_unlock(&p->mu);
	if (added <= 0)
		return added < 0 ? fail(p, err, errlen, "out of memory") : 0;
	w = writer_take(p);
	if (w == NULL)
		return fail(p, err, errlen, "out of memory");
	/* This worker holds w alone: seal straight into it. */
	if (vc_pack_count(w) > 0 &&
	    vc_pack_size(w) + VC_CHUNK_OVERHEAD + len > p->target) {
		full = w;
		if ((w = writer_new(p)) == NULL) {
			w = full;
			full = NULL;
		}
	}
	at = vc_pack_reserve(w, VC_CHUNK_OVERHEAD + len);
	rc = at == NULL ? VC_E_NOMEM : vc_seal_into(&p->r->keys, id, plain, len,
	    p->r->zstd_level, NULL, at, VC_CHUNK_OVERHEAD + len, &slen);
	if (rc == VC_OK)
		rc = vc_pack_commit(w, type, id, slen, (uint32_t)len);
	if (rc == VC_OK) {
		pthread_mutex_lock(&p->mu);
		p->st.chunks_new++;
		p->st.plain_new += len;
		p->st.sealed_new += slen;
		pthread_mutex_unlock(&p->mu);
	}
	extra = writer_give(p, w);
	if (rc != VC_OK) {
		vc_pack_writer_free(full);
		vc_pack_writer_free(extra);
		return fail(p, err, errlen, rc == VC_E_NOMEM ? "out of memory" : vc_strerror(rc));
	}
	if (extra != NULL && flush_pack(p, extra, err, errlen) != 0) {
		vc_pack_writer_free(full);
		return -1;
	}
	return full != NULL ? flush_pack(p, full, err, errlen) : 0;
}

/* Records this run's packs in the cache, one transaction per index
 * segment (the packs of one segment are consecutive in np). */
static int
record_new(struct vc_packer *p)
{
	struct vc_index_pack *ip;
	size_t i = 0;
	int rc = 0;

	if (p->nnp == 0)
		return 0;
	if ((ip = calloc(p->nnp, sizeof(*ip))) == NULL)
		return -1;
	while (i < p->nnp && rc == 0) {
		size_t j = i;

		while (j < p->nnp &&
		    memcmp(p->np[j]->index_id, p->np[i]->index_id, VC_ID_LEN) == 0) {
			memcpy(ip[j - i].pack_id, p->np[j]->id, VC_ID_LEN);
			ip[j - i].entries = p->np[j]->e;
			ip[j - i].n = p->np[j]->n;
			j++;
		}
		rc = vc_cache_add_index(p->r->cache, p->np[i]->index_id, ip, j - i);
		i = j;
	}
	free(ip);
	return rc;
}

struct refs {
	struct envelope_ref *buf;
	size_t n;
	uint8_t kind;
};

static int
put_ref(const uint8_t id[VC_IDSET_ID_LEN], uint32_t val, void *arg)
{
	struct refs *r = arg;

	(void)val;
	r->buf[r->n].kind = r->kind;
	memcpy(r->buf[r->n].id, id, sizeof(r->buf[r->n].id));
	r->n++;
	return 0;
}

int
vc_packer_finish(struct vc_packer *p, struct envelope_ref **refs, size_t *nrefs, char *err,
    size_t errlen)
{
	struct refs rf = { 0 };
	size_t from, to, total;

	/* Every worker is done: all writers are idle. */
	for (;;) {
		struct vc_pack_writer *w = NULL;

		pthread_mutex_lock(&p->mu);
		if (p->nidle > 0)
			w = p->idle[--p->nidle];
		pthread_mutex_unlock(&p->mu);
		if (w == NULL)
			break;
		if (vc_pack_count(w) == 0) {
			vc_pack_writer_free(w);
			continue;
		}
		if (flush_pack(p, w, err, errlen) != 0)
			return -1;
	}
	pthread_mutex_lock(&p->mu);
	from = p->unindexed;
	to = p->nnp;
	p->unindexed = to;
	pthread_mutex_unlock(&p->mu);
	if (write_index(p, from, to, err, errlen) != 0)
		return -1;
	if (vc_remote_flush(p->r->remote) != 0)
		return fail(p, err, errlen, vc_remote_error(p->r->remote));
	if (record_new(p) != 0)
		return fail(p, err, errlen, "cannot record new packs in the local cache");
	total = vc_idset_count(p->packs) + vc_idset_count(p->indexes);
	if ((rf.buf = calloc(total ? total : 1, sizeof(*rf.buf))) == NULL)
		return fail(p, err, errlen, "out of memory");
	rf.kind = ENVELOPE_KIND_PACK;
	vc_idset_walk(p->packs, put_ref, &rf);
	rf.kind = ENVELOPE_KIND_INDEX;
	vc_idset_walk(p->indexes, put_ref, &rf);
	qsort(rf.buf, rf.n, sizeof(*rf.buf), envelope_ref_cmp);
	*refs = rf.buf;
	*nrefs = rf.n;
	return 0;
}

void
vc_packer_stats(struct vc_packer *p, struct vc_packer_stats *st)
{
	pthread_mutex_lock(&p->mu);
	*st = p->st;
	pthread_mutex_unlock(&p->mu);
}
