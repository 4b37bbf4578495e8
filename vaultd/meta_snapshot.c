/*
 * Snapshots in the metadata: the commit invariant (a snapshot is stored only
 * when every object it refers to is there, checked in the same write
 * transaction) and the cleartext header fields kept for listings and for
 * retention (spec/storage.md, "snapshots").
 */
#include <string.h>

#include "envelope.h"
#include "meta_internal.h"
#include "le.h"

_Static_assert(META_GROUP_LEN == ENVELOPE_GROUP_LEN, "a group is kept whole");
_Static_assert(ENVELOPE_KIND_PACK == VSP_KIND_PACK && ENVELOPE_KIND_INDEX == VSP_KIND_INDEX,
    "reference kinds are object kinds");
_Static_assert(ENVELOPE_REFS_MAX <= UINT32_MAX, "a reference count fits the record");

static void
snap_key(uint8_t key[META__SNAP_KEY_LEN], uint64_t vault_id, const uint8_t id[VSP_ID_LEN])
{
	meta__be64_put(key, vault_id);
	memcpy(key + META__U64_LEN, id, VSP_ID_LEN);
}

static void
snap_enc(uint8_t buf[META__SNAP_LEN], const struct meta_snapshot *s)
{
	buf[META__VERSION_OFF] = META__REC_VERSION;
	le64_put(buf + META__SNAP_TIME_OFF, (uint64_t)s->client_time);
	memcpy(buf + META__SNAP_GROUP_OFF, s->group, META_GROUP_LEN);
	for (int i = 0; i < 4; i++)
		buf[META__SNAP_NREFS_OFF + i] = (uint8_t)(s->nrefs >> (8 * i));
}

int
meta__snap_dec(const MDB_val *val, struct meta_snapshot *s)
{
	const uint8_t *p = val->mv_data;

	if (val->mv_size != META__SNAP_LEN || p[META__VERSION_OFF] != META__REC_VERSION)
		return meta__corrupt("snapshot_get", "snapshot");
	s->client_time = (int64_t)le64_get(p + META__SNAP_TIME_OFF);
	memcpy(s->group, p + META__SNAP_GROUP_OFF, META_GROUP_LEN);
	s->nrefs = 0;
	for (int i = 3; i >= 0; i--)
		s->nrefs = s->nrefs << 8 | p[META__SNAP_NREFS_OFF + i];
	return META_OK;
}

/* Marks the references of env the vault lacks. Returns META_OK when none
 * is missing, META_MISSING when some are, or a failure. */
static int
refs_check(struct meta *m, MDB_txn *txn, uint64_t vault_id, const struct envelope *env,
    uint8_t *missing)
{
	uint8_t key[META__OBJ_KEY_LEN];
	int any = 0;

	for (size_t i = 0; i < env->nrefs; i++) {
		struct envelope_ref r;
		struct meta_object o;
		MDB_val val;
		int rc;

		envelope_ref_get(env, i, &r);
		if (r.kind != VSP_KIND_PACK && r.kind != VSP_KIND_INDEX)
			return meta__corrupt("snapshot_put", "reference kind");
		meta__obj_key(key, vault_id, (enum vsp_kind)r.kind, r.id);
		rc = meta__get(txn, m->objects, key, sizeof(key), &val, "snapshot_put");
		if (rc != META_OK && rc != META_NOTFOUND)
			return rc;
		if (rc == META_OK && meta__object_dec(&val, &o) != 0)
			return meta__corrupt("snapshot_put", "object");
		/* A tombstoned object is not live: the client must upload it again,
		 * which revives it (spec/gc.md). */
		missing[i] = rc == META_NOTFOUND || o.tombstoned != 0;
		any |= missing[i];
	}
	return any ? META_MISSING : META_OK;
}

int
meta_snapshot_put(struct meta *m, uint64_t vault_id, const uint8_t id[VSP_ID_LEN],
    const struct meta_object *obj, const struct envelope *env, uint8_t *missing,
    struct meta_object *out)
{
	const char *op = "snapshot_put";
	uint8_t key[META__SNAP_KEY_LEN], buf[META__SNAP_LEN];
	struct meta_snapshot snap;
	MDB_txn *txn;
	int rc;

	if (env->nrefs > ENVELOPE_REFS_MAX)
		return meta__corrupt(op, "reference count");
	snap.client_time = env->client_time;
	memcpy(snap.group, env->group, sizeof(snap.group));
	snap.nrefs = (uint32_t)env->nrefs;
	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	rc = refs_check(m, txn, vault_id, env, missing);
	if (rc == META_OK)
		rc = meta__object_put_txn(m, txn, vault_id, VSP_KIND_SNAPSHOT, id, obj, out);
	if (rc == META_OK) {
		snap_key(key, vault_id, id);
		snap_enc(buf, &snap);
		rc = meta__put(txn, m->snapshots, key, sizeof(key), buf, sizeof(buf), 0, op);
	}
	return meta__txn_end(txn, rc, op); /* commits only on META_OK */
}

int
meta_snapshot_get(struct meta *m, uint64_t vault_id, const uint8_t id[VSP_ID_LEN],
    struct meta_snapshot *out)
{
	uint8_t key[META__SNAP_KEY_LEN];
	MDB_txn *txn;
	MDB_val val;
	int rc;

	if ((rc = meta__txn_begin(m, MDB_RDONLY, "snapshot_get", &txn)) != META_OK)
		return rc;
	snap_key(key, vault_id, id);
	rc = meta__get(txn, m->snapshots, key, sizeof(key), &val, "snapshot_get");
	if (rc == META_OK)
		rc = meta__snap_dec(&val, out);
	mdb_txn_abort(txn);
	return rc;
}

int
meta__snapshot_del_txn(struct meta *m, MDB_txn *txn, uint64_t vault_id,
    const uint8_t id[VSP_ID_LEN])
{
	uint8_t key[META__SNAP_KEY_LEN];
	int rc;

	snap_key(key, vault_id, id);
	rc = meta__del(txn, m->snapshots, key, sizeof(key), "object_delete");
	return rc == META_NOTFOUND ? META_OK : rc;
}
