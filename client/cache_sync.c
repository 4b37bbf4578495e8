/*
 * vc_cache_sync (cache.h, spec/pack.md 5): brings the cache up to the
 * vault's listings. In a file of its own so that programs that never sync
 * link without the VSP transport.
 */
#include "cache_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"

_Static_assert(VSP_ID_LEN == VC_ID_LEN, "object IDs and chunk IDs are both 32 bytes");

/* A sorted set of IDs, from a listing. */
struct idset {
	uint8_t (*ids)[VC_ID_LEN];
	size_t n, cap;
	int nomem;
};

static int
idset_add(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg)
{
	struct idset *s = arg;

	(void)size;
	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 1024 : 2 * s->cap;
		void *p = realloc(s->ids, cap * VC_ID_LEN);
		if (p == NULL) {
			s->nomem = 1;
			return -1;
		}
		s->ids = p;
		s->cap = cap;
	}
	memcpy(s->ids[s->n++], id, VC_ID_LEN);
	return 0;
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, VC_ID_LEN);
}

static int
idset_has(const struct idset *s, const uint8_t id[VC_ID_LEN])
{
	return s->n > 0 && bsearch(id, s->ids, s->n, VC_ID_LEN, id_cmp) != NULL;
}

/* Lists every object of kind into s, sorted. Returns 0 or -1. */
static int
list_kind(struct vc_cache *c, struct vc_remote *r, enum vsp_kind kind, struct idset *s)
{
	if (vc_remote_list(r, kind, idset_add, s) != 0) {
		if (s->nomem)
			vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: sync: out of memory", c->dir);
		else
			vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: sync: %s", c->dir, vc_remote_error(r));
		return -1;
	}
	if (s->n > 0)
		qsort(s->ids, s->n, VC_ID_LEN, id_cmp);
	return 0;
}

/* One segment's entries as they come from vc_index_decode, recorded pack
 * by pack (a segment lists each pack once, its entries together). */
struct import {
	struct vc_cache *c;
	MDB_txn *txn;
	const uint8_t *index_id;
	uint8_t pack[VC_ID_LEN];
	struct vc_pack_entry *e;
	size_t n, cap;
	int nomem, failed;  /* out of memory, or a cache write failed (printed) */
};

static int
import_flush(struct import *im)
{
	if (im->n == 0)
		return 0;
	if (vc_cache__add_pack_txn(im->c, im->txn, im->pack, im->index_id, im->e, im->n) != 0) {
		im->failed = 1;
		return -1;
	}
	im->n = 0;
	return 0;
}

static int
import_entry(const uint8_t pack_id[VC_ID_LEN], const struct vc_pack_entry *e, void *arg)
{
	struct import *im = arg;

	if (im->n > 0 && memcmp(im->pack, pack_id, VC_ID_LEN) != 0 && import_flush(im) != 0)
		return -1;
	memcpy(im->pack, pack_id, VC_ID_LEN);
	if (im->n == im->cap) {
		size_t cap = im->cap == 0 ? 256 : 2 * im->cap;
		void *p = realloc(im->e, cap * sizeof(*im->e));
		if (p == NULL) {
			im->nomem = 1;
			return -1;
		}
		im->e = p;
		im->cap = cap;
	}
	im->e[im->n++] = *e;
	return 0;
}

/* Downloads, authenticates and records segment id, in one transaction with
 * its mark in indexes. Returns 0, VC_CACHE_NOTFOUND (deleted since it was
 * listed) or -1. */
static int
import_segment(struct vc_cache *c, struct vc_remote *r, const struct vc_keys *keys,
    const uint8_t id[VC_ID_LEN], struct import *im)
{
	char hex[VSP_ID_HEX_LEN + 1];
	MDB_val key = { VC_ID_LEN, (void *)id }, val = { 0, NULL };
	uint8_t *buf;
	size_t len;
	int rc;

	vsp_id_format(id, hex);
	if ((rc = vc_remote_get(r, VSP_KIND_INDEX, id, 0, UINT64_MAX, &buf, &len)) != 0) {
		if (rc == VC_R_NOTFOUND)
			return VC_CACHE_NOTFOUND;
		vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: sync: %s", c->dir, vc_remote_error(r));
		return -1;
	}
	if (vc_cache__begin(c, 0, "sync", &im->txn) != 0) {
		free(buf);
		return -1;
	}
	im->c = c;
	im->index_id = id;
	im->n = 0;
	im->nomem = im->failed = 0;
	rc = vc_index_decode(keys, buf, len, import_entry, im);
	free(buf);
	if (rc == 0)
		rc = import_flush(im);
	if (rc == 0 && (rc = mdb_put(im->txn, c->indexes, &key, &val, 0)) != 0)
		rc = vc_cache__fail(c, "sync", rc);
	if (rc != 0) {
		mdb_txn_abort(im->txn);
		if (im->nomem || (rc == VC_E_NOMEM && !im->failed))
			vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: sync: out of memory", c->dir);
		else if (rc < VC_E_NOMEM)
			vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: index segment %s: %s", c->dir, hex,
			    vc_strerror(rc));
		return -1;
	}
	return vc_cache__commit(c, im->txn, "sync");
}

/* Imports every listed segment not yet in indexes. */
static int
import_all(struct vc_cache *c, struct vc_remote *r, const struct vc_keys *keys,
    const struct idset *idx, size_t *imported)
{
	struct import im = { 0 };
	struct idset todo = { 0 };
	MDB_txn *txn;
	MDB_val key, val;
	int rc = 0;

	if (vc_cache__begin(c, MDB_RDONLY, "sync", &txn) != 0)
		return -1;
	for (size_t i = 0; i < idx->n && rc == 0; i++) {
		key.mv_size = VC_ID_LEN;
		key.mv_data = idx->ids[i];
		if ((rc = mdb_get(txn, c->indexes, &key, &val)) == MDB_NOTFOUND)
			rc = idset_add(idx->ids[i], 0, &todo);
		else if (rc != 0)
			rc = vc_cache__fail(c, "sync", rc);
	}
	mdb_txn_abort(txn);
	if (todo.nomem)
		vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: sync: out of memory", c->dir);
	for (size_t i = 0; i < todo.n && rc == 0; i++) {
		rc = import_segment(c, r, keys, todo.ids[i], &im);
		if (rc == 0)
			(*imported)++;
		else if (rc == VC_CACHE_NOTFOUND)
			rc = 0;
	}
	free(im.e);
	free(todo.ids);
	return rc == 0 ? 0 : -1;
}

/*
 * Drops cached packs the vault no longer lists and forgets segments it no
 * longer lists, in one transaction. *stale gets whether a pack that stays
 * was recorded from a segment that is gone.
 */
static int
prune(struct vc_cache *c, const struct idset *idx, const struct idset *packs, int *stale)
{
	struct idset gone = { 0 }, old = { 0 };
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	int rc;

	*stale = 0;
	if (vc_cache__begin(c, 0, "sync", &txn) != 0)
		return -1;
	/* Collect first: a cursor walk and deletions do not mix well. */
	if ((rc = mdb_cursor_open(txn, c->packs, &cur)) != 0)
		goto fail;
	while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		if (key.mv_size != VC_ID_LEN || val.mv_size < VC_ID_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (!idset_has(packs, key.mv_data)) {
			if (idset_add(key.mv_data, 0, &gone) != 0)
				break;
		} else if (!idset_has(idx, val.mv_data)) {
			*stale = 1;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND || gone.nomem)
		goto fail;
	if ((rc = mdb_cursor_open(txn, c->indexes, &cur)) != 0)
		goto fail;
	while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0)
		if (key.mv_size == VC_ID_LEN && !idset_has(idx, key.mv_data) &&
		    idset_add(key.mv_data, 0, &old) != 0)
			break;
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND || old.nomem)
		goto fail;
	for (size_t i = 0; i < gone.n; i++)
		if (vc_cache__drop_pack_txn(c, txn, gone.ids[i]) < 0)
			goto err0;
	for (size_t i = 0; i < old.n; i++) {
		key.mv_size = VC_ID_LEN;
		key.mv_data = old.ids[i];
		if ((rc = mdb_del(txn, c->indexes, &key, NULL)) != 0)
			goto fail;
	}
	free(gone.ids);
	free(old.ids);
	return vc_cache__commit(c, txn, "sync");

fail:
	if (gone.nomem || old.nomem)
		vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: sync: out of memory", c->dir);
	else
		vc_cache__fail(c, "sync", rc);
err0:
	mdb_txn_abort(txn);
	free(gone.ids);
	free(old.ids);
	return -1;
}

static int
clear(struct vc_cache *c)
{
	MDB_txn *txn;

	if (vc_cache__begin(c, 0, "sync", &txn) != 0)
		return -1;
	if (vc_cache__clear_txn(c, txn) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	return vc_cache__commit(c, txn, "sync");
}

int
vc_cache_sync(struct vc_cache *c, struct vc_remote *r, const struct vc_keys *keys,
    size_t *imported)
{
	struct idset idx = { 0 }, packs = { 0 };
	size_t count = 0;
	int rc = -1, stale;

	if (list_kind(c, r, VSP_KIND_INDEX, &idx) != 0 ||
	    import_all(c, r, keys, &idx, &count) != 0 ||
	    list_kind(c, r, VSP_KIND_PACK, &packs) != 0 ||
	    prune(c, &idx, &packs, &stale) != 0)
		goto out;
	/* A pack whose segment is gone would be referenced through a segment
	 * that does not exist: rebuild, so every pack names a live one. */
	if (stale && (clear(c) != 0 || import_all(c, r, keys, &idx, &count) != 0 ||
	    prune(c, &idx, &packs, &stale) != 0))
		goto out;
	rc = 0;
out:
	if (imported != NULL)
		*imported = count;
	free(idx.ids);
	free(packs.ids);
	return rc;
}
