/*
 * The replication queue in LMDB (meta_repl.h; layouts in spec/storage.md,
 * rules in spec/replication.md). Three databases share one key shape,
 *
 *     u8 n | target name (n bytes) | be64 vault | u8 kind | id32
 *
 * repl_queue (what is still to do), repl_done (what the target holds) and,
 * keyed by the bare target name, repl_targets (counters and the last
 * error). The hooks meta__repl_on_put and meta__repl_on_delete run inside
 * the callers' write transactions, so a commit and its queue records are
 * one atomic, synced change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"
#include "le.h"
#include "meta_repl.h"

/* Key: name length | name | vault | kind | id. */
#define RK_NAME_OFF META__U8_LEN
#define RK_MAX (RK_NAME_OFF + VSP_NAME_MAX + META__U64_LEN + META__U8_LEN + VSP_ID_LEN)
#define RK_TAIL_LEN (META__U64_LEN + META__U8_LEN + VSP_ID_LEN)

/* Queue record: version | op | state | attempts | enqueued | next try |
 * size | error length | error. */
#define RQ_OP_OFF META__BODY_OFF
#define RQ_STATE_OFF (RQ_OP_OFF + META__U8_LEN)
#define RQ_ATTEMPTS_OFF (RQ_STATE_OFF + META__U8_LEN)
#define RQ_ENQUEUED_OFF (RQ_ATTEMPTS_OFF + META__U32_LEN)
#define RQ_NEXT_OFF (RQ_ENQUEUED_OFF + META__U64_LEN)
#define RQ_SIZE_OFF (RQ_NEXT_OFF + META__U64_LEN)
#define RQ_ERRLEN_OFF (RQ_SIZE_OFF + META__U64_LEN)
#define RQ_ERR_OFF (RQ_ERRLEN_OFF + META__U8_LEN)
#define RQ_MAX (RQ_ERR_OFF + META_REPL_ERR_MAX)

/* Done record: version | size | done time. */
#define RD_SIZE_OFF META__BODY_OFF
#define RD_TIME_OFF (RD_SIZE_OFF + META__U64_LEN)
#define RD_LEN (RD_TIME_OFF + META__U64_LEN)

/* Target record: version | copies | bytes | deletes | last error time |
 * error length | error. */
#define RT_DONE_OFF META__BODY_OFF
#define RT_BYTES_OFF (RT_DONE_OFF + META__U64_LEN)
#define RT_DELETED_OFF (RT_BYTES_OFF + META__U64_LEN)
#define RT_ERRTIME_OFF (RT_DELETED_OFF + META__U64_LEN)
#define RT_ERRLEN_OFF (RT_ERRTIME_OFF + META__U64_LEN)
#define RT_ERR_OFF (RT_ERRLEN_OFF + META__U8_LEN)
#define RT_MAX (RT_ERR_OFF + META_REPL_ERR_MAX)

_Static_assert(META_REPL_ERR_MAX <= 255, "the error length is one byte");
_Static_assert(META_REPL_CONFIG >= VSP_KIND_COUNT, "the config kind byte is no object kind");

void
meta_repl_set_targets(struct meta *m, meta_repl_targets_fn fn, void *arg)
{
	m->repl_fn = fn;
	m->repl_arg = arg;
}

/* ---- keys and records --------------------------------------------- */

static size_t
rkey(uint8_t key[RK_MAX], const char *target, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN])
{
	size_t n = strlen(target), off = RK_NAME_OFF;

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

/* Splits a key into the key fields of it. Returns 0, or -1 if malformed. */
static int
rkey_dec(const MDB_val *key, struct meta_repl_item *it)
{
	const uint8_t *k = key->mv_data;
	size_t n;

	if (key->mv_size < RK_NAME_OFF + 1 + RK_TAIL_LEN)
		return -1;
	n = k[0];
	if (n == 0 || n > VSP_NAME_MAX || key->mv_size != RK_NAME_OFF + n + RK_TAIL_LEN ||
	    meta__name_copy(k + RK_NAME_OFF, n, it->target) != 0)
		return -1;
	k += RK_NAME_OFF + n;
	it->vault_id = meta__be64_get(k);
	it->kind = k[META__U64_LEN];
	memcpy(it->id, k + META__U64_LEN + META__U8_LEN, VSP_ID_LEN);
	if (it->kind >= VSP_KIND_COUNT && it->kind != META_REPL_CONFIG)
		return -1;
	return 0;
}

static size_t
item_key(uint8_t key[RK_MAX], const struct meta_repl_item *it)
{
	return rkey(key, it->target, it->vault_id, it->kind, it->id);
}

static size_t
copy_err(char *dst, const char *src)
{
	size_t n = src != NULL ? strnlen(src, META_REPL_ERR_MAX) : 0;

	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
	return n;
}

static size_t
queue_enc(uint8_t buf[RQ_MAX], const struct meta_repl_item *it)
{
	size_t e = strnlen(it->error, META_REPL_ERR_MAX);

	buf[META__VERSION_OFF] = META__REC_VERSION;
	buf[RQ_OP_OFF] = it->op;
	buf[RQ_STATE_OFF] = it->state;
	le32_put(buf + RQ_ATTEMPTS_OFF, it->attempts);
	le64_put(buf + RQ_ENQUEUED_OFF, it->enqueued);
	le64_put(buf + RQ_NEXT_OFF, it->next_try);
	le64_put(buf + RQ_SIZE_OFF, it->size);
	buf[RQ_ERRLEN_OFF] = (uint8_t)e;
	memcpy(buf + RQ_ERR_OFF, it->error, e);
	return RQ_ERR_OFF + e;
}

/* Decodes a queue record into the value fields of it. */
static int
queue_dec(const MDB_val *val, struct meta_repl_item *it)
{
	const uint8_t *p = val->mv_data;

	if (val->mv_size < RQ_ERR_OFF || p[META__VERSION_OFF] != META__REC_VERSION ||
	    val->mv_size != RQ_ERR_OFF + (size_t)p[RQ_ERRLEN_OFF] ||
	    p[RQ_ERRLEN_OFF] > META_REPL_ERR_MAX ||
	    (p[RQ_OP_OFF] != META_REPL_PUT && p[RQ_OP_OFF] != META_REPL_DELETE) ||
	    p[RQ_STATE_OFF] > META_REPL_FAILED)
		return -1;
	it->op = p[RQ_OP_OFF];
	it->state = p[RQ_STATE_OFF];
	it->attempts = le32_get(p + RQ_ATTEMPTS_OFF);
	it->enqueued = le64_get(p + RQ_ENQUEUED_OFF);
	it->next_try = le64_get(p + RQ_NEXT_OFF);
	it->size = le64_get(p + RQ_SIZE_OFF);
	memcpy(it->error, p + RQ_ERR_OFF, p[RQ_ERRLEN_OFF]);
	it->error[p[RQ_ERRLEN_OFF]] = '\0';
	return 0;
}

struct target_rec {
	uint64_t done, bytes, deleted, err_time;
	char err[META_REPL_ERR_MAX + 1];
};

static size_t
target_enc(uint8_t buf[RT_MAX], const struct target_rec *t)
{
	size_t e = strnlen(t->err, META_REPL_ERR_MAX);

	buf[META__VERSION_OFF] = META__REC_VERSION;
	le64_put(buf + RT_DONE_OFF, t->done);
	le64_put(buf + RT_BYTES_OFF, t->bytes);
	le64_put(buf + RT_DELETED_OFF, t->deleted);
	le64_put(buf + RT_ERRTIME_OFF, t->err_time);
	buf[RT_ERRLEN_OFF] = (uint8_t)e;
	memcpy(buf + RT_ERR_OFF, t->err, e);
	return RT_ERR_OFF + e;
}

static int
target_dec(const MDB_val *val, struct target_rec *t)
{
	const uint8_t *p = val->mv_data;

	if (val->mv_size < RT_ERR_OFF || p[META__VERSION_OFF] != META__REC_VERSION ||
	    p[RT_ERRLEN_OFF] > META_REPL_ERR_MAX ||
	    val->mv_size != RT_ERR_OFF + (size_t)p[RT_ERRLEN_OFF])
		return -1;
	t->done = le64_get(p + RT_DONE_OFF);
	t->bytes = le64_get(p + RT_BYTES_OFF);
	t->deleted = le64_get(p + RT_DELETED_OFF);
	t->err_time = le64_get(p + RT_ERRTIME_OFF);
	memcpy(t->err, p + RT_ERR_OFF, p[RT_ERRLEN_OFF]);
	t->err[p[RT_ERRLEN_OFF]] = '\0';
	return 0;
}

/* ---- primitives inside a write transaction ------------------------- */

/* Loads the queue record under key: META_OK (and *it's value fields),
 * META_NOTFOUND or a failure. */
static int
queue_load(struct meta *m, MDB_txn *txn, const uint8_t *key, size_t klen,
    struct meta_repl_item *it, const char *op)
{
	MDB_val val;
	int rc;

	if ((rc = meta__get(txn, m->repl_queue, key, klen, &val, op)) != META_OK)
		return rc;
	return queue_dec(&val, it) == 0 ? META_OK : meta__corrupt(op, "replication queue");
}

static int
queue_store(struct meta *m, MDB_txn *txn, const uint8_t *key, size_t klen,
    const struct meta_repl_item *it, const char *op)
{
	uint8_t buf[RQ_MAX];
	size_t len = queue_enc(buf, it);

	return meta__put(txn, m->repl_queue, key, klen, buf, len, 0, op);
}

/* META_OK if a done record is there, META_NOTFOUND if not. */
static int
done_has(struct meta *m, MDB_txn *txn, const uint8_t *key, size_t klen, const char *op)
{
	MDB_val val;

	return meta__get(txn, m->repl_done, key, klen, &val, op);
}

static int
del_quiet(MDB_txn *txn, MDB_dbi dbi, const uint8_t *key, size_t klen, const char *op)
{
	int rc = meta__del(txn, dbi, key, klen, op);
	return rc == META_NOTFOUND ? META_OK : rc;
}

/* Loads the target record (zeros when there is none). */
static int
target_load(struct meta *m, MDB_txn *txn, const char *target, struct target_rec *t,
    const char *op)
{
	MDB_val val;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = meta__get(txn, m->repl_targets, target, strlen(target), &val, op);
	if (rc == META_NOTFOUND)
		return META_OK;
	if (rc != META_OK)
		return rc;
	return target_dec(&val, t) == 0 ? META_OK : meta__corrupt(op, "replication target");
}

static int
target_store(struct meta *m, MDB_txn *txn, const char *target, const struct target_rec *t,
    const char *op)
{
	uint8_t buf[RT_MAX];
	size_t len = target_enc(buf, t);

	return meta__put(txn, m->repl_targets, target, strlen(target), buf, len, 0, op);
}

/* Creates the target record if there is none. */
static int
target_ensure(struct meta *m, MDB_txn *txn, const char *target, const char *op)
{
	struct target_rec t;
	MDB_val val;
	int rc;

	rc = meta__get(txn, m->repl_targets, target, strlen(target), &val, op);
	if (rc != META_NOTFOUND)
		return rc;
	memset(&t, 0, sizeof(t));
	return target_store(m, txn, target, &t, op);
}

/*
 * The put rule (spec/replication.md, "State"): nothing to do if the target
 * has a copy or a put is queued; a queued delete becomes a put again (the
 * object came back before its delete went out; the done record goes, so
 * the copy is made again whatever the delete in flight did); else a new
 * pending put. *queued is set to 1 when a record was written.
 */
static int
enqueue_put(struct meta *m, MDB_txn *txn, const char *target, uint64_t vault_id,
    uint8_t kind, const uint8_t id[VSP_ID_LEN], uint64_t size, uint64_t now, int *queued,
    const char *op)
{
	uint8_t key[RK_MAX];
	size_t klen = rkey(key, target, vault_id, kind, id);
	struct meta_repl_item it;
	int rc;

	*queued = 0;
	rc = queue_load(m, txn, key, klen, &it, op);
	if (rc == META_OK && it.op == META_REPL_PUT)
		return META_OK;
	if (rc == META_OK) {
		if ((rc = del_quiet(txn, m->repl_done, key, klen, op)) != META_OK)
			return rc;
	} else if (rc == META_NOTFOUND) {
		rc = done_has(m, txn, key, klen, op);
		if (rc != META_NOTFOUND)
			return rc; /* META_OK: the target has it */
	} else {
		return rc;
	}
	if ((rc = target_ensure(m, txn, target, op)) != META_OK)
		return rc;
	memset(&it, 0, sizeof(it));
	it.op = META_REPL_PUT;
	it.state = META_REPL_PENDING;
	it.enqueued = now;
	it.next_try = now;
	it.size = size;
	*queued = 1;
	return queue_store(m, txn, key, klen, &it, op);
}

/*
 * The delete rule: a queued put is dropped (the target never got the
 * object); if the target has a copy, a pending delete is queued; else
 * nothing.
 */
static int
enqueue_delete(struct meta *m, MDB_txn *txn, const char *target, uint64_t vault_id,
    uint8_t kind, const uint8_t id[VSP_ID_LEN], uint64_t now, const char *op)
{
	uint8_t key[RK_MAX];
	size_t klen = rkey(key, target, vault_id, kind, id);
	struct meta_repl_item it;
	int rc;

	rc = queue_load(m, txn, key, klen, &it, op);
	if (rc == META_OK && it.op == META_REPL_DELETE)
		return META_OK;
	if (rc == META_OK)
		return meta__del(txn, m->repl_queue, key, klen, op);
	if (rc != META_NOTFOUND)
		return rc;
	if ((rc = done_has(m, txn, key, klen, op)) != META_OK)
		return rc == META_NOTFOUND ? META_OK : rc;
	memset(&it, 0, sizeof(it));
	it.op = META_REPL_DELETE;
	it.enqueued = now;
	it.next_try = now;
	return queue_store(m, txn, key, klen, &it, op);
}

/* The tenant's name, through tenant_ids. */
static int
tenant_name(struct meta *m, MDB_txn *txn, uint64_t tenant_id, char name[VSP_NAME_MAX + 1],
    const char *op)
{
	uint8_t key[META__ID_KEY_LEN];
	MDB_val val;
	int rc;

	meta__be64_put(key, tenant_id);
	if ((rc = meta__get(txn, m->tenant_ids, key, sizeof(key), &val, op)) != META_OK)
		return rc;
	return meta__tenant_id_dec(&val, name) == 0 ? META_OK : meta__corrupt(op, "tenant-id");
}

int
meta__repl_on_put(struct meta *m, MDB_txn *txn, const struct meta_vault *v, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint64_t size, uint64_t now)
{
	const char *op = "repl_enqueue";
	char tenant[VSP_NAME_MAX + 1], names[META_REPL_TARGETS_MAX][VSP_NAME_MAX + 1];
	size_t n;
	int rc, queued;

	if (m->repl_fn == NULL || kind == VSP_KIND_LOCK)
		return META_OK; /* restic's locks are local by nature */
	if ((rc = tenant_name(m, txn, v->tenant_id, tenant, op)) != META_OK)
		return rc == META_NOTFOUND ? META_OK : rc;
	n = m->repl_fn(m->repl_arg, tenant, v->name, names, META_REPL_TARGETS_MAX);
	for (size_t i = 0; i < n && i < META_REPL_TARGETS_MAX; i++) {
		names[i][VSP_NAME_MAX] = '\0';
		if (!vsp_name_valid(names[i], strlen(names[i])))
			continue;
		rc = enqueue_put(m, txn, names[i], v->id, kind, id, size, now, &queued, op);
		if (rc != META_OK)
			return rc;
	}
	return META_OK;
}

int
meta__repl_on_delete(struct meta *m, MDB_txn *txn, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint64_t now)
{
	const char *op = "repl_enqueue";
	char name[VSP_NAME_MAX + 1];
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = META_OK, lrc;

	/* Every target that ever had a record, whatever the policy says now:
	 * the state decides, not the configuration. */
	if ((lrc = mdb_cursor_open(txn, m->repl_targets, &cur)) != 0)
		return meta__lmdb_fail(op, lrc);
	while (rc == META_OK && (lrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		if (meta__name_copy(key.mv_data, key.mv_size, name) != 0)
			rc = meta__corrupt(op, "replication target");
		else
			rc = enqueue_delete(m, txn, name, vault_id, kind, id, now, op);
	}
	if (rc == META_OK && lrc != MDB_NOTFOUND)
		rc = meta__lmdb_fail(op, lrc);
	mdb_cursor_close(cur);
	return rc;
}

/* ---- the public API ------------------------------------------------ */

int
meta_repl_due(struct meta *m, uint64_t now,
    int (*want)(const struct meta_repl_item *it, void *arg), void *arg,
    struct meta_repl_item *out, size_t max, size_t *n, uint64_t *next_due)
{
	const char *op = "repl_due";
	struct meta_repl_item it;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	int rc, lrc;

	*n = 0;
	*next_due = UINT64_MAX;
	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	if ((lrc = mdb_cursor_open(txn, m->repl_queue, &cur)) != 0) {
		mdb_txn_abort(txn);
		return meta__lmdb_fail(op, lrc);
	}
	while ((lrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		if (rkey_dec(&key, &it) != 0 || queue_dec(&val, &it) != 0) {
			rc = meta__corrupt(op, "replication queue");
			break;
		}
		if (it.state != META_REPL_PENDING || (want != NULL && !want(&it, arg)))
			continue;
		if (it.next_try > now || *n == max) {
			if (it.next_try < *next_due)
				*next_due = it.next_try > now ? it.next_try : now;
			if (*n == max && it.next_try <= now)
				break; /* more are due: the caller comes back soon */
			continue;
		}
		out[(*n)++] = it;
	}
	if (rc == META_OK && lrc != 0 && lrc != MDB_NOTFOUND)
		rc = meta__lmdb_fail(op, lrc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

int
meta_repl_get(struct meta *m, const char *target, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], struct meta_repl_item *out, int *queued, int *done)
{
	const char *op = "repl_get";
	uint8_t key[RK_MAX];
	size_t klen;
	struct meta_repl_item it;
	MDB_txn *txn;
	int rc;

	if (!vsp_name_valid(target, strnlen(target, VSP_NAME_MAX + 1)))
		return META_ERROR;
	klen = rkey(key, target, vault_id, kind, id);
	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	*queued = *done = 0;
	memset(&it, 0, sizeof(it));
	rc = queue_load(m, txn, key, klen, &it, op);
	if (rc == META_OK)
		*queued = 1;
	if (rc == META_OK || rc == META_NOTFOUND)
		rc = done_has(m, txn, key, klen, op);
	if (rc == META_OK)
		*done = 1;
	mdb_txn_abort(txn);
	if (*queued && out != NULL) {
		*out = it;
		copy_err(out->target, target);
		out->vault_id = vault_id;
		out->kind = kind;
		memcpy(out->id, id, VSP_ID_LEN);
	}
	return rc == META_NOTFOUND ? META_OK : rc;
}

static int
done_store(struct meta *m, MDB_txn *txn, const uint8_t *key, size_t klen, uint64_t size,
    uint64_t now, const char *op)
{
	uint8_t buf[RD_LEN];

	buf[META__VERSION_OFF] = META__REC_VERSION;
	le64_put(buf + RD_SIZE_OFF, size);
	le64_put(buf + RD_TIME_OFF, now);
	return meta__put(txn, m->repl_done, key, klen, buf, sizeof(buf), 0, op);
}

/* A copy was verified at the target. */
static int
complete_put(struct meta *m, MDB_txn *txn, const struct meta_repl_item *it, uint64_t now,
    struct target_rec *t, const char *op)
{
	uint8_t key[RK_MAX];
	size_t klen = item_key(key, it);
	struct meta_repl_item q;
	int rc;

	rc = queue_load(m, txn, key, klen, &q, op);
	if (rc != META_OK && rc != META_NOTFOUND)
		return rc;
	if (rc == META_NOTFOUND) {
		if ((rc = done_has(m, txn, key, klen, op)) != META_NOTFOUND)
			return rc; /* a second copy of one already done: nothing new */
		/* The object was removed (its put dropped) while this copy was on
		 * its way: the target now holds an object the source lacks. */
		memset(&q, 0, sizeof(q));
		q.op = META_REPL_DELETE;
		q.enqueued = q.next_try = now;
		if ((rc = queue_store(m, txn, key, klen, &q, op)) != META_OK)
			return rc;
	} else if (q.op == META_REPL_PUT) {
		if ((rc = meta__del(txn, m->repl_queue, key, klen, op)) != META_OK)
			return rc;
	}
	t->done++;
	t->bytes += it->size;
	return done_store(m, txn, key, klen, it->size, now, op);
}

/* A delete was done at the target. */
static int
complete_delete(struct meta *m, MDB_txn *txn, const struct meta_repl_item *it,
    struct target_rec *t, const char *op)
{
	uint8_t key[RK_MAX];
	size_t klen = item_key(key, it);
	struct meta_repl_item q;
	int rc;

	rc = queue_load(m, txn, key, klen, &q, op);
	if (rc == META_OK && q.op == META_REPL_DELETE)
		rc = meta__del(txn, m->repl_queue, key, klen, op);
	else if (rc == META_NOTFOUND)
		rc = META_OK;
	/* A put queued since (the object came back) stays and copies again. */
	if (rc != META_OK)
		return rc;
	t->deleted++;
	return del_quiet(txn, m->repl_done, key, klen, op);
}

int
meta_repl_complete(struct meta *m, const struct meta_repl_item *it, uint64_t now)
{
	const char *op = "repl_complete";
	struct target_rec t;
	MDB_txn *txn;
	int rc;

	if (!vsp_name_valid(it->target, strnlen(it->target, VSP_NAME_MAX + 1)))
		return META_ERROR;
	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	rc = target_load(m, txn, it->target, &t, op);
	if (rc == META_OK)
		rc = it->op == META_REPL_PUT ? complete_put(m, txn, it, now, &t, op) :
		    complete_delete(m, txn, it, &t, op);
	if (rc == META_OK)
		rc = target_store(m, txn, it->target, &t, op);
	return meta__txn_end(txn, rc, op);
}

int
meta_repl_retry(struct meta *m, const struct meta_repl_item *it, uint64_t now,
    uint64_t next_try, int permanent, const char *error)
{
	const char *op = "repl_retry";
	uint8_t key[RK_MAX];
	size_t klen;
	struct meta_repl_item q;
	struct target_rec t;
	MDB_txn *txn;
	int rc;

	if (!vsp_name_valid(it->target, strnlen(it->target, VSP_NAME_MAX + 1)))
		return META_ERROR;
	klen = item_key(key, it);
	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	rc = queue_load(m, txn, key, klen, &q, op);
	if (rc == META_OK && q.op == it->op) {
		if (q.attempts < UINT32_MAX)
			q.attempts++;
		q.next_try = next_try;
		q.state = permanent ? META_REPL_FAILED : META_REPL_PENDING;
		copy_err(q.error, error);
		rc = queue_store(m, txn, key, klen, &q, op);
	} else if (rc == META_OK || rc == META_NOTFOUND) {
		rc = META_OK; /* the record moved on meanwhile */
	}
	if (rc == META_OK)
		rc = target_load(m, txn, it->target, &t, op);
	if (rc == META_OK) {
		t.err_time = now;
		copy_err(t.err, error);
		rc = target_store(m, txn, it->target, &t, op);
	}
	return meta__txn_end(txn, rc, op);
}

int
meta_repl_note(struct meta *m, const char *target, uint64_t now, const char *error)
{
	const char *op = "repl_note";
	struct target_rec t;
	MDB_txn *txn;
	int rc;

	if (!vsp_name_valid(target, strnlen(target, VSP_NAME_MAX + 1)))
		return META_ERROR;
	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	rc = target_load(m, txn, target, &t, op);
	if (rc == META_OK) {
		t.err_time = now;
		copy_err(t.err, error);
		rc = target_store(m, txn, target, &t, op);
	}
	return meta__txn_end(txn, rc, op);
}

int
meta_repl_release(struct meta *m, uint64_t *n)
{
	const char *op = "repl_release";
	uint8_t buf[RQ_MAX];
	struct meta_repl_item it;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	uint64_t count = 0;
	int rc, lrc;

	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	if ((lrc = mdb_cursor_open(txn, m->repl_queue, &cur)) != 0) {
		mdb_txn_abort(txn);
		return meta__lmdb_fail(op, lrc);
	}
	while (rc == META_OK && (lrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		if (queue_dec(&val, &it) != 0) {
			rc = meta__corrupt(op, "replication queue");
			break;
		}
		if (it.state != META_REPL_FAILED)
			continue;
		it.state = META_REPL_PENDING;
		it.next_try = 0;
		val.mv_size = queue_enc(buf, &it);
		val.mv_data = buf;
		if ((lrc = mdb_cursor_put(cur, &key, &val, MDB_CURRENT)) != 0)
			rc = meta__lmdb_fail(op, lrc);
		count++;
	}
	if (rc == META_OK && lrc != 0 && lrc != MDB_NOTFOUND)
		rc = meta__lmdb_fail(op, lrc);
	mdb_cursor_close(cur);
	if ((rc = meta__txn_end(txn, rc, op)) == META_OK && n != NULL)
		*n = count;
	return rc;
}

int
meta_repl_target_add(struct meta *m, const char *target)
{
	MDB_txn *txn;
	int rc;

	if (!vsp_name_valid(target, strnlen(target, VSP_NAME_MAX + 1)))
		return META_ERROR;
	if ((rc = meta__txn_begin(m, 0, "repl_target_add", &txn)) != META_OK)
		return rc;
	rc = target_ensure(m, txn, target, "repl_target_add");
	return meta__txn_end(txn, rc, "repl_target_add");
}

/* Queues every live object of one (vault, kind) for target. */
static int
seed_kind(struct meta *m, MDB_txn *txn, uint64_t vault_id, enum vsp_kind kind,
    const char *target, uint64_t now, uint64_t *queued, const char *op)
{
	uint8_t prefix[META__OBJ_KEY_LEN], id[VSP_ID_LEN];
	struct meta_object o;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_cursor_op how = MDB_SET_RANGE;
	int rc, lrc, q;

	if ((lrc = mdb_cursor_open(txn, m->objects, &cur)) != 0)
		return meta__lmdb_fail(op, lrc);
	memset(id, 0, sizeof(id));
	meta__obj_key(prefix, vault_id, kind, id);
	while ((rc = meta__cursor_prefix(cur, how, prefix, META__OBJ_PREFIX_LEN, &key, &val,
	    op)) == META_OK) {
		how = MDB_NEXT;
		if (key.mv_size != META__OBJ_KEY_LEN || meta__object_dec(&val, &o) != 0) {
			rc = meta__corrupt(op, "object");
			break;
		}
		if (o.tombstoned != 0)
			continue;
		memcpy(id, (const uint8_t *)key.mv_data + META__OBJ_ID_OFF, VSP_ID_LEN);
		rc = enqueue_put(m, txn, target, vault_id, (uint8_t)kind, id, o.size, now, &q, op);
		if (rc != META_OK)
			break;
		*queued += (uint64_t)q;
	}
	mdb_cursor_close(cur);
	return rc == META_NOTFOUND ? META_OK : rc;
}

int
meta_repl_seed(struct meta *m, uint64_t vault_id, const char *target, uint64_t now,
    uint64_t *queued)
{
	static const enum vsp_kind kinds[] = {
		VSP_KIND_PACK, VSP_KIND_INDEX, VSP_KIND_SNAPSHOT, VSP_KIND_KEY,
	};
	const char *op = "repl_seed";
	uint8_t k[META__ID_KEY_LEN];
	struct meta_vault v;
	MDB_txn *txn;
	MDB_val key = { sizeof(k), k }, val;
	int rc, q = 0;

	*queued = 0;
	if (!vsp_name_valid(target, strnlen(target, VSP_NAME_MAX + 1)))
		return META_ERROR;
	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	meta__be64_put(k, vault_id);
	rc = meta__get(txn, m->vaults, k, sizeof(k), &val, op);
	if (rc == META_OK && meta__vault_dec(&key, &val, &v) != 0)
		rc = meta__corrupt(op, "vault");
	if (rc == META_OK)
		rc = target_ensure(m, txn, target, op);
	for (size_t i = 0; rc == META_OK && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		rc = seed_kind(m, txn, vault_id, kinds[i], target, now, queued, op);
	if (rc == META_OK && v.has_config) {
		rc = enqueue_put(m, txn, target, vault_id, META_REPL_CONFIG, v.config_id,
		    v.config_size, now, &q, op);
		*queued += (uint64_t)q;
	}
	return meta__txn_end(txn, rc, op);
}

/* Adds one queue record to the figures of its target (stats[0..n-1], in
 * the name order of repl_targets, which is also the queue's order). */
static void
stats_add(struct meta_repl_stats *s, size_t n, const struct meta_repl_item *it)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s[i].target, it->target) != 0)
			continue;
		s[i].queued++;
		s[i].failed += it->state == META_REPL_FAILED;
		if (it->op == META_REPL_PUT)
			s[i].bytes_pending += it->size;
		if (s[i].oldest == 0 || it->enqueued < s[i].oldest)
			s[i].oldest = it->enqueued;
		return;
	}
}

/* Reads every target record into a new array (*out, *n). */
static int
stats_targets(struct meta *m, MDB_txn *txn, struct meta_repl_stats **out, size_t *n,
    const char *op)
{
	struct meta_repl_stats *s = NULL, *grown;
	struct target_rec t;
	MDB_cursor *cur;
	MDB_val key, val;
	size_t cap = 0;
	int rc = META_OK, lrc;

	*n = 0;
	if ((lrc = mdb_cursor_open(txn, m->repl_targets, &cur)) != 0)
		return meta__lmdb_fail(op, lrc);
	while (rc == META_OK && (lrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((grown = realloc(s, cap * sizeof(*s))) == NULL) {
				rc = META_ERROR;
				break;
			}
			s = grown;
		}
		memset(&s[*n], 0, sizeof(s[*n]));
		if (meta__name_copy(key.mv_data, key.mv_size, s[*n].target) != 0 ||
		    target_dec(&val, &t) != 0) {
			rc = meta__corrupt(op, "replication target");
			break;
		}
		s[*n].done = t.done;
		s[*n].done_bytes = t.bytes;
		s[*n].deleted = t.deleted;
		s[*n].last_error_time = t.err_time;
		memcpy(s[*n].last_error, t.err, sizeof(t.err));
		(*n)++;
	}
	if (rc == META_OK && lrc != MDB_NOTFOUND)
		rc = meta__lmdb_fail(op, lrc);
	mdb_cursor_close(cur);
	*out = s;
	return rc;
}

int
meta_repl_stats(struct meta *m, int (*cb)(const struct meta_repl_stats *s, void *arg),
    void *arg)
{
	const char *op = "repl_stats";
	struct meta_repl_stats *s = NULL;
	struct meta_repl_item it;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	size_t n = 0;
	int rc, lrc;

	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	if ((rc = stats_targets(m, txn, &s, &n, op)) != META_OK)
		goto out;
	if ((lrc = mdb_cursor_open(txn, m->repl_queue, &cur)) != 0) {
		rc = meta__lmdb_fail(op, lrc);
		goto out;
	}
	while ((lrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		if (rkey_dec(&key, &it) != 0 || queue_dec(&val, &it) != 0) {
			rc = meta__corrupt(op, "replication queue");
			break;
		}
		stats_add(s, n, &it);
	}
	if (rc == META_OK && lrc != 0 && lrc != MDB_NOTFOUND)
		rc = meta__lmdb_fail(op, lrc);
	mdb_cursor_close(cur);
	for (size_t i = 0; rc == META_OK && i < n; i++)
		if (cb(&s[i], arg) != 0)
			break;
out:
	mdb_txn_abort(txn);
	free(s);
	return rc;
}

/* ---- one vault at one target (posture, spec/posture.md) ------------- */

int
meta_repl_vault_stats(struct meta *m, const char *target, uint64_t vault_id,
    struct meta_repl_stats *out)
{
	const char *op = "repl_vault_stats";
	uint8_t prefix[RK_MAX];
	struct meta_repl_item it;
	struct target_rec t;
	MDB_cursor_op how = MDB_SET_RANGE;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	size_t plen;
	int rc, lrc;

	memset(out, 0, sizeof(*out));
	if (target == NULL || strnlen(target, VSP_NAME_MAX + 1) > VSP_NAME_MAX || !target[0])
		return META_ERROR;
	memcpy(out->target, target, strlen(target) + 1);
	/* The key up to the kind byte: every record of (target, vault). */
	plen = rkey(prefix, target, vault_id, 0, (const uint8_t[VSP_ID_LEN]){0}) -
	    META__U8_LEN - VSP_ID_LEN;
	if ((rc = meta__txn_begin(m, MDB_RDONLY, op, &txn)) != META_OK)
		return rc;
	rc = meta__get(txn, m->repl_targets, target, strlen(target), &val, op);
	if (rc == META_OK && target_dec(&val, &t) == 0) {
		out->last_error_time = t.err_time;
		memcpy(out->last_error, t.err, sizeof(t.err));
	} else if (rc != META_NOTFOUND && rc != META_OK) {
		goto out;
	}
	if ((lrc = mdb_cursor_open(txn, m->repl_queue, &cur)) != 0) {
		rc = meta__lmdb_fail(op, lrc);
		goto out;
	}
	while ((rc = meta__cursor_prefix(cur, how, prefix, plen, &key, &val, op)) == META_OK) {
		how = MDB_NEXT;
		if (rkey_dec(&key, &it) != 0 || queue_dec(&val, &it) != 0) {
			rc = meta__corrupt(op, "replication queue");
			break;
		}
		stats_add(out, 1, &it);
		/* The error of this vault's own oldest failing record, if any. */
		if (it.error[0] != '\0' && it.next_try >= out->last_error_time) {
			out->last_error_time = it.next_try;
			memcpy(out->last_error, it.error, sizeof(it.error));
		}
	}
	mdb_cursor_close(cur);
	if (rc == META_NOTFOUND)
		rc = META_OK;
out:
	mdb_txn_abort(txn);
	return rc;
}
