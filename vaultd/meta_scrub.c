/*
 * Scrub records in LMDB (meta_scrub.h; layouts in spec/storage.md,
 * "scrub"). One database holds two record types told apart by the first
 * key byte:
 *
 *     0x01 | be64 vault | u8 kind | id32 | u8 backend  -> bad copy
 *     0x02 | be64 vault                                -> vault scrub record
 *
 * Big-endian vault IDs keep one vault's bad copies together, so a vault's
 * walk is a prefix scan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "meta_internal.h"
#include "le.h"
#include "meta_scrub.h"

#define SK_TYPE_BAD 0x01
#define SK_TYPE_VAULT 0x02
#define SK_TYPE_OFF 0
#define SK_VAULT_OFF (SK_TYPE_OFF + META__U8_LEN)
#define SK_KIND_OFF (SK_VAULT_OFF + META__U64_LEN)
#define SK_ID_OFF (SK_KIND_OFF + META__U8_LEN)
#define SK_BACKEND_OFF (SK_ID_OFF + VSP_ID_LEN)
#define SK_BAD_LEN (SK_BACKEND_OFF + META__U8_LEN)
#define SK_OBJ_PREFIX_LEN SK_BACKEND_OFF   /* every backend of one object */
#define SK_VAULT_PREFIX_LEN SK_KIND_OFF    /* every bad copy of one vault */
#define SK_VAULT_LEN (SK_VAULT_OFF + META__U64_LEN)

/* Bad-copy value: version | le64 time | u8 reason length | reason. */
#define SB_TIME_OFF META__BODY_OFF
#define SB_RLEN_OFF (SB_TIME_OFF + META__U64_LEN)
#define SB_REASON_OFF (SB_RLEN_OFF + META__U8_LEN)
#define SB_MAX (SB_REASON_OFF + META_SCRUB_REASON_MAX)

/* Vault value: version | le64 last_full | le64 last_run | le64 objects |
 * le64 bytes | le64 bad | le64 repaired. */
#define SV_FULL_OFF META__BODY_OFF
#define SV_RUN_OFF (SV_FULL_OFF + META__U64_LEN)
#define SV_OBJECTS_OFF (SV_RUN_OFF + META__U64_LEN)
#define SV_BYTES_OFF (SV_OBJECTS_OFF + META__U64_LEN)
#define SV_BAD_OFF (SV_BYTES_OFF + META__U64_LEN)
#define SV_REPAIRED_OFF (SV_BAD_OFF + META__U64_LEN)
#define SV_LEN (SV_REPAIRED_OFF + META__U64_LEN)

/* The repl_done key (meta_repl.c): u8 n | target | be64 vault | u8 kind | id. */
#define RD_KEY_MAX (META__U8_LEN + VSP_NAME_MAX + META__U64_LEN + META__U8_LEN + VSP_ID_LEN)

_Static_assert(META_SCRUB_REASON_MAX <= 255, "the reason length is one byte");
_Static_assert(META_SCRUB_BACKENDS_MAX == 32, "locations is a 32-bit set");

static void
bad_key(uint8_t key[SK_BAD_LEN], uint64_t vault_id, uint8_t kind, const uint8_t id[VSP_ID_LEN],
    uint8_t backend)
{
	key[SK_TYPE_OFF] = SK_TYPE_BAD;
	meta__be64_put(key + SK_VAULT_OFF, vault_id);
	key[SK_KIND_OFF] = kind;
	memcpy(key + SK_ID_OFF, id, VSP_ID_LEN);
	key[SK_BACKEND_OFF] = backend;
}

static void
vault_key(uint8_t key[SK_VAULT_LEN], uint64_t vault_id)
{
	key[SK_TYPE_OFF] = SK_TYPE_VAULT;
	meta__be64_put(key + SK_VAULT_OFF, vault_id);
}

static int
args_ok(const char *op, uint8_t kind, uint8_t backend)
{
	if ((kind >= VSP_KIND_COUNT && kind != META_SCRUB_CONFIG) ||
	    backend >= META_SCRUB_BACKENDS_MAX) {
		log_msg(VLOG_ERROR, "meta: %s: invalid kind or backend", op);
		return 0;
	}
	return 1;
}

/* Decodes a bad-copy record with its key. Returns 0, or -1 if corrupt. */
static int
bad_dec(const MDB_val *key, const MDB_val *val, struct meta_scrub_bad *b)
{
	const uint8_t *k = key->mv_data, *p = val->mv_data;

	if (key->mv_size != SK_BAD_LEN || k[SK_TYPE_OFF] != SK_TYPE_BAD ||
	    val->mv_size < SB_REASON_OFF || p[META__VERSION_OFF] != META__REC_VERSION ||
	    p[SB_RLEN_OFF] > META_SCRUB_REASON_MAX ||
	    val->mv_size != SB_REASON_OFF + (size_t)p[SB_RLEN_OFF])
		return -1;
	b->vault_id = meta__be64_get(k + SK_VAULT_OFF);
	b->kind = k[SK_KIND_OFF];
	memcpy(b->id, k + SK_ID_OFF, VSP_ID_LEN);
	b->backend = k[SK_BACKEND_OFF];
	if (!args_ok("scrub", b->kind, b->backend))
		return -1;
	b->time = le64_get(p + SB_TIME_OFF);
	memcpy(b->reason, p + SB_REASON_OFF, p[SB_RLEN_OFF]);
	b->reason[p[SB_RLEN_OFF]] = '\0';
	return 0;
}

int
meta_scrub_bad_put(struct meta *m, const struct meta_scrub_bad *b)
{
	uint8_t key[SK_BAD_LEN], val[SB_MAX];
	size_t r = strnlen(b->reason, META_SCRUB_REASON_MAX);
	MDB_txn *txn;
	int rc;

	if (!args_ok("scrub_bad_put", b->kind, b->backend))
		return META_ERROR;
	bad_key(key, b->vault_id, b->kind, b->id, b->backend);
	val[META__VERSION_OFF] = META__REC_VERSION;
	le64_put(val + SB_TIME_OFF, b->time);
	val[SB_RLEN_OFF] = (uint8_t)r;
	memcpy(val + SB_REASON_OFF, b->reason, r);
	if ((rc = meta__txn_begin(m, 0, "scrub_bad_put", &txn)) != META_OK)
		return rc;
	rc = meta__put(txn, m->scrub, key, sizeof(key), val, SB_REASON_OFF + r, 0,
	    "scrub_bad_put");
	return meta__txn_end(txn, rc, "scrub_bad_put");
}

int
meta_scrub_bad_clear(struct meta *m, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint8_t backend)
{
	uint8_t key[SK_BAD_LEN];
	MDB_txn *txn;
	int rc;

	if (!args_ok("scrub_bad_clear", kind, backend))
		return META_ERROR;
	bad_key(key, vault_id, kind, id, backend);
	if ((rc = meta__txn_begin(m, 0, "scrub_bad_clear", &txn)) != META_OK)
		return rc;
	rc = meta__del(txn, m->scrub, key, sizeof(key), "scrub_bad_clear");
	if (rc == META_NOTFOUND) {
		mdb_txn_abort(txn);
		return META_NOTFOUND;
	}
	return meta__txn_end(txn, rc, "scrub_bad_clear");
}

/* The mask of one object inside txn. */
static int
mask_txn(struct meta *m, MDB_txn *txn, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint32_t *mask, const char *op)
{
	uint8_t prefix[SK_BAD_LEN];
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_cursor_op how = MDB_SET_RANGE;
	int rc, lrc;

	*mask = 0;
	bad_key(prefix, vault_id, kind, id, 0);
	if ((lrc = mdb_cursor_open(txn, m->scrub, &cur)) != 0)
		return meta__lmdb_fail(op, lrc);
	while ((rc = meta__cursor_prefix(cur, how, prefix, SK_OBJ_PREFIX_LEN, &key, &val,
	    op)) == META_OK) {
		uint8_t backend = ((const uint8_t *)key.mv_data)[SK_BACKEND_OFF];

		how = MDB_NEXT;
		if (key.mv_size != SK_BAD_LEN || backend >= META_SCRUB_BACKENDS_MAX) {
			rc = meta__corrupt(op, "scrub bad copy");
			break;
		}
		*mask |= UINT32_C(1) << backend;
	}
	mdb_cursor_close(cur);
	return rc == META_NOTFOUND ? META_OK : rc;
}

int
meta_scrub_bad_mask(struct meta *m, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint32_t *mask)
{
	MDB_txn *txn;
	int rc;

	*mask = 0;
	if (!args_ok("scrub_bad_mask", kind, 0))
		return META_ERROR;
	if ((rc = meta__txn_begin(m, MDB_RDONLY, "scrub_bad_mask", &txn)) != META_OK)
		return rc;
	rc = mask_txn(m, txn, vault_id, kind, id, mask, "scrub_bad_mask");
	mdb_txn_abort(txn);
	return rc;
}

int
meta_scrub_bad_list(struct meta *m, uint64_t vault_id,
    int (*cb)(const struct meta_scrub_bad *b, void *arg), void *arg, uint64_t *count)
{
	uint8_t prefix[SK_BAD_LEN];
	struct meta_scrub_bad b;
	MDB_cursor_op how = MDB_SET_RANGE;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	uint64_t n = 0;
	int rc, lrc;

	if (count != NULL)
		*count = 0;
	bad_key(prefix, vault_id, 0, (const uint8_t[VSP_ID_LEN]){0}, 0);
	if ((rc = meta__txn_begin(m, MDB_RDONLY, "scrub_bad_list", &txn)) != META_OK)
		return rc;
	if ((lrc = mdb_cursor_open(txn, m->scrub, &cur)) != 0) {
		mdb_txn_abort(txn);
		return meta__lmdb_fail("scrub_bad_list", lrc);
	}
	while ((rc = meta__cursor_prefix(cur, how, prefix, SK_VAULT_PREFIX_LEN, &key, &val,
	    "scrub_bad_list")) == META_OK) {
		how = MDB_NEXT;
		if (bad_dec(&key, &val, &b) != 0) {
			rc = meta__corrupt("scrub_bad_list", "scrub bad copy");
			break;
		}
		n++;
		if (cb != NULL && cb(&b, arg) != 0)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (count != NULL)
		*count = n;
	return rc == META_NOTFOUND ? META_OK : rc;
}

int
meta_scrub_vault_get(struct meta *m, uint64_t vault_id, struct meta_scrub_vault *out)
{
	uint8_t key[SK_VAULT_LEN];
	const uint8_t *p;
	MDB_txn *txn;
	MDB_val val;
	int rc;

	memset(out, 0, sizeof(*out));
	vault_key(key, vault_id);
	if ((rc = meta__txn_begin(m, MDB_RDONLY, "scrub_vault_get", &txn)) != META_OK)
		return rc;
	rc = meta__get(txn, m->scrub, key, sizeof(key), &val, "scrub_vault_get");
	if (rc == META_OK) {
		p = val.mv_data;
		if (val.mv_size != SV_LEN || p[META__VERSION_OFF] != META__REC_VERSION) {
			rc = meta__corrupt("scrub_vault_get", "vault scrub record");
		} else {
			out->last_full = le64_get(p + SV_FULL_OFF);
			out->last_run = le64_get(p + SV_RUN_OFF);
			out->objects = le64_get(p + SV_OBJECTS_OFF);
			out->bytes = le64_get(p + SV_BYTES_OFF);
			out->bad = le64_get(p + SV_BAD_OFF);
			out->repaired = le64_get(p + SV_REPAIRED_OFF);
		}
	}
	mdb_txn_abort(txn);
	return rc;
}

int
meta_scrub_vault_put(struct meta *m, uint64_t vault_id, const struct meta_scrub_vault *v)
{
	uint8_t key[SK_VAULT_LEN], val[SV_LEN];
	MDB_txn *txn;
	int rc;

	vault_key(key, vault_id);
	val[META__VERSION_OFF] = META__REC_VERSION;
	le64_put(val + SV_FULL_OFF, v->last_full);
	le64_put(val + SV_RUN_OFF, v->last_run);
	le64_put(val + SV_OBJECTS_OFF, v->objects);
	le64_put(val + SV_BYTES_OFF, v->bytes);
	le64_put(val + SV_BAD_OFF, v->bad);
	le64_put(val + SV_REPAIRED_OFF, v->repaired);
	if ((rc = meta__txn_begin(m, 0, "scrub_vault_put", &txn)) != META_OK)
		return rc;
	rc = meta__put(txn, m->scrub, key, sizeof(key), val, sizeof(val), 0, "scrub_vault_put");
	return meta__txn_end(txn, rc, "scrub_vault_put");
}

/* ---- healthy copies ------------------------------------------------ */

static size_t
done_key(uint8_t key[RD_KEY_MAX], const char *target, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN])
{
	size_t n = strnlen(target, VSP_NAME_MAX), off = META__U8_LEN;

	key[0] = (uint8_t)n;
	memcpy(key + off, target, n);
	off += n;
	meta__be64_put(key + off, vault_id);
	off += META__U64_LEN;
	key[off] = kind;
	off += META__U8_LEN;
	memcpy(key + off, id, VSP_ID_LEN);
	return off + VSP_ID_LEN;
}

/* Healthy copies of one object, inside txn. */
static int
copies_of(struct meta *m, MDB_txn *txn, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint32_t locations, const char (*targets)[VSP_NAME_MAX + 1],
    size_t n, unsigned *healthy)
{
	uint8_t key[RD_KEY_MAX];
	uint32_t mask, good;
	MDB_val val;
	int rc;

	if ((rc = mask_txn(m, txn, vault_id, kind, id, &mask, "scrub_copies")) != META_OK)
		return rc;
	good = locations & ~mask;
	*healthy = 0;
	for (; good != 0; good &= good - 1)
		(*healthy)++;
	for (size_t i = 0; i < n; i++) {
		size_t klen = done_key(key, targets[i], vault_id, kind, id);
		rc = meta__get(txn, m->repl_done, key, klen, &val, "scrub_copies");
		if (rc == META_OK)
			(*healthy)++;
		else if (rc != META_NOTFOUND)
			return rc;
	}
	return META_OK;
}

int
meta_scrub_copies(struct meta *m, uint64_t vault_id, const char (*targets)[VSP_NAME_MAX + 1],
    size_t n, unsigned want, uint64_t *objects, uint64_t *under)
{
	static const enum vsp_kind kinds[] = { VSP_KIND_PACK, VSP_KIND_INDEX, VSP_KIND_SNAPSHOT,
	    VSP_KIND_KEY };
	uint8_t prefix[META__OBJ_KEY_LEN];
	struct meta_object o;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	unsigned healthy;
	int rc = META_OK, lrc;

	*objects = *under = 0;
	if ((rc = meta__txn_begin(m, MDB_RDONLY, "scrub_copies", &txn)) != META_OK)
		return rc;
	if ((lrc = mdb_cursor_open(txn, m->objects, &cur)) != 0) {
		mdb_txn_abort(txn);
		return meta__lmdb_fail("scrub_copies", lrc);
	}
	for (size_t k = 0; rc == META_OK && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		MDB_cursor_op how = MDB_SET_RANGE;

		meta__obj_key(prefix, vault_id, kinds[k], (const uint8_t[VSP_ID_LEN]){0});
		while ((rc = meta__cursor_prefix(cur, how, prefix, META__OBJ_PREFIX_LEN, &key, &val,
		    "scrub_copies")) == META_OK) {
			const uint8_t *id = (const uint8_t *)key.mv_data + META__OBJ_ID_OFF;

			how = MDB_NEXT;
			if (key.mv_size != META__OBJ_KEY_LEN || meta__object_dec(&val, &o) != 0) {
				rc = meta__corrupt("scrub_copies", "object");
				break;
			}
			if (o.tombstoned != 0)
				continue;
			if ((rc = copies_of(m, txn, vault_id, (uint8_t)kinds[k], id, o.locations,
			    targets, n, &healthy)) != META_OK)
				break;
			(*objects)++;
			*under += healthy < want;
		}
		if (rc == META_NOTFOUND)
			rc = META_OK;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}
