/*
 * The metadata side of garbage collection (spec/gc.md): walks that see
 * tombstoned objects, the tombstone step that re-checks under the write lock
 * that no unmarked snapshot has been committed, and the physical purge of a
 * record tombstoned long enough ago.
 */
#include <string.h>
#include <time.h>

#include "meta_internal.h"

int
meta_gc_walk(struct meta *m, uint64_t vault_id, enum vsp_kind kind, const uint8_t *after,
    size_t limit, int (*cb)(const uint8_t id[VSP_ID_LEN], const struct meta_object *o,
    void *arg), void *arg, int *more)
{
	const char *op = "gc_walk";
	static const uint8_t zero[VSP_ID_LEN];
	uint8_t start[META__OBJ_KEY_LEN], id[VSP_ID_LEN];
	struct meta_object o;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	size_t n = 0;
	int rc, lrc;

	*more = 0;
	if ((unsigned)kind >= VSP_KIND_COUNT)
		return META_ERROR;
	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	if ((lrc = mdb_cursor_open(txn, m->objects, &cur)) != 0) {
		mdb_txn_abort(txn);
		return meta__lmdb_fail(op, lrc);
	}
	meta__obj_key(start, vault_id, kind, after != NULL ? after : zero);
	key.mv_size = after != NULL ? META__OBJ_KEY_LEN : META__OBJ_PREFIX_LEN;
	key.mv_data = start;
	lrc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	if (lrc == 0 && after != NULL && key.mv_size == META__OBJ_KEY_LEN &&
	    memcmp(key.mv_data, start, META__OBJ_KEY_LEN) == 0)
		lrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	rc = meta__prefix_rc(lrc, &key, start, META__OBJ_PREFIX_LEN, op);
	while (rc == META_OK && n < limit) {
		if (key.mv_size != META__OBJ_KEY_LEN || meta__object_dec(&val, &o) != 0) {
			rc = meta__corrupt(op, "object");
			break;
		}
		memcpy(id, (const uint8_t *)key.mv_data + META__OBJ_ID_OFF, VSP_ID_LEN);
		n++;
		if (cb(id, &o, arg) != 0) {
			rc = META_NOTFOUND;
			break;
		}
		rc = meta__cursor_prefix(cur, MDB_NEXT, start, META__OBJ_PREFIX_LEN, &key, &val, op);
	}
	*more = rc == META_OK;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc == META_NOTFOUND ? META_OK : rc;
}

/* Walks the vault's snapshot header records inside txn. */
static int
snaps_walk(struct meta *m, MDB_txn *txn, uint64_t vault_id,
    int (*cb)(const uint8_t id[VSP_ID_LEN], const struct meta_snapshot *s,
        const struct meta_object *o, void *arg),
    void *arg, uint64_t *count, const char *op)
{
	uint8_t prefix[META__U64_LEN], okey[META__OBJ_KEY_LEN];
	const uint8_t *id;
	struct meta_snapshot s;
	struct meta_object o;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_cursor_op how = MDB_SET_RANGE;
	uint64_t n = 0;
	int rc, lrc;

	if ((lrc = mdb_cursor_open(txn, m->snapshots, &cur)) != 0)
		return meta__lmdb_fail(op, lrc);
	meta__be64_put(prefix, vault_id);
	while ((rc = meta__cursor_prefix(cur, how, prefix, sizeof(prefix), &key, &val, op)) ==
	    META_OK) {
		how = MDB_NEXT;
		if (key.mv_size != META__SNAP_KEY_LEN || meta__snap_dec(&val, &s) != META_OK) {
			rc = META_ERROR;
			break;
		}
		id = (const uint8_t *)key.mv_data + META__U64_LEN;
		n++;
		meta__obj_key(okey, vault_id, VSP_KIND_SNAPSHOT, id);
		rc = meta__obj_load(m, txn, okey, &o, op);
		if (rc == META_NOTFOUND)
			memset(&o, 0, sizeof(o));
		else if (rc != META_OK)
			break;
		if (cb(id, &s, &o, arg) != 0) {
			rc = META_NOTFOUND;
			break;
		}
	}
	mdb_cursor_close(cur);
	if (count != NULL)
		*count = n;
	return rc == META_NOTFOUND ? META_OK : rc;
}

int
meta_gc_snapshots(struct meta *m, uint64_t vault_id,
    int (*cb)(const uint8_t id[VSP_ID_LEN], const struct meta_snapshot *s,
        const struct meta_object *o, void *arg),
    void *arg, uint64_t *count)
{
	MDB_txn *txn;
	int rc;

	if ((rc = meta__txn_begin(m, MDB_RDONLY, "gc_snapshots", &txn)) != META_OK)
		return rc;
	rc = snaps_walk(m, txn, vault_id, cb, arg, count, "gc_snapshots");
	mdb_txn_abort(txn);
	return rc;
}

struct known_arg {
	int (*known)(const uint8_t id[VSP_ID_LEN], void *arg);
	void *arg;
	int changed;
};

static int
known_cb(const uint8_t id[VSP_ID_LEN], const struct meta_snapshot *s,
    const struct meta_object *o, void *arg)
{
	struct known_arg *k = arg;

	(void)s;
	(void)o;
	if (k->known(id, k->arg))
		return 0;
	k->changed = 1;
	return 1;
}

static int
tombstone_txn(struct meta *m, MDB_txn *txn, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t (*ids)[VSP_ID_LEN], size_t n, uint64_t now, uint64_t max_received,
    uint8_t *done)
{
	const char *op = "gc_tombstone";
	uint8_t key[META__OBJ_KEY_LEN], buf[META__VAL_MAX];
	struct meta_object o;
	size_t len;
	int rc;

	for (size_t i = 0; i < n; i++) {
		done[i] = 0;
		meta__obj_key(key, vault_id, kind, ids[i]);
		rc = meta__obj_load(m, txn, key, &o, op);
		if (rc == META_NOTFOUND)
			continue;
		if (rc != META_OK)
			return rc;
		if (o.tombstoned != 0 || o.received > max_received)
			continue; /* revived or re-uploaded since the walk */
		if ((rc = meta__vault_adjust(m, txn, vault_id, kind, o.size, -1, op)) != META_OK)
			return rc;
		o.tombstoned = now;
		len = meta__object_enc(buf, &o);
		if ((rc = meta__put(txn, m->objects, key, sizeof(key), buf, len, 0, op)) != META_OK)
			return rc;
		done[i] = 1;
	}
	return META_OK;
}

int
meta_gc_tombstone(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t (*ids)[VSP_ID_LEN], size_t n, uint64_t now, uint64_t max_received,
    int (*known)(const uint8_t id[VSP_ID_LEN], void *arg), void *arg, uint8_t *done)
{
	const char *op = "gc_tombstone";
	struct known_arg k = { known, arg, 0 };
	MDB_txn *txn;
	int rc;

	if ((unsigned)kind >= VSP_KIND_COUNT || now == 0)
		return META_ERROR;
	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	rc = snaps_walk(m, txn, vault_id, known_cb, &k, NULL, op);
	if (rc == META_OK && k.changed)
		rc = META_CHANGED;
	if (rc == META_OK)
		rc = tombstone_txn(m, txn, vault_id, kind, ids, n, now, max_received, done);
	return meta__txn_end(txn, rc, op);
}

int
meta_gc_purge(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t (*ids)[VSP_ID_LEN], size_t n, uint64_t cutoff, uint8_t *done,
    uint64_t *size)
{
	const char *op = "gc_purge";
	uint8_t key[META__OBJ_KEY_LEN];
	struct meta_object o;
	MDB_txn *txn;
	int rc;

	if ((unsigned)kind >= VSP_KIND_COUNT)
		return META_ERROR;
	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	for (size_t i = 0; rc == META_OK && i < n; i++) {
		done[i] = 0;
		meta__obj_key(key, vault_id, kind, ids[i]);
		rc = meta__obj_load(m, txn, key, &o, op);
		if (rc == META_NOTFOUND) {
			rc = META_OK;
			continue;
		}
		if (rc != META_OK || o.tombstoned == 0 || o.tombstoned > cutoff)
			continue;
		if ((rc = meta__del(txn, m->objects, key, sizeof(key), op)) == META_OK) {
			done[i] = 1;
			size[i] = o.size;
			/* The delete goes to each target only after its copy is done
			 * (a queued put is dropped instead; spec/replication.md). */
			rc = meta__repl_on_delete(m, txn, vault_id, (uint8_t)kind, ids[i],
			    (uint64_t)time(NULL));
		}
	}
	return meta__txn_end(txn, rc, op);
}
