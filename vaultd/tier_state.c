/*
 * The tierer's LMDB environment (tier_state.h). Layouts, byte by byte, are
 * in spec/tiering.md, "State"; integers in values are little-endian, keys
 * big-endian so one vault's records sort together.
 */
#include "tier_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "log.h"

#define TS_VERSION 1
#define TS_MAGIC "vaulttr\0"
#define TS_MAGIC_LEN 8
#define TS_FORMAT 1
#define TS_FORMAT_LEN (1 + TS_MAGIC_LEN + 4)
#define TS_MOVE_LEN (1 + 1 + 1 + 8)
#define TS_USE_LEN (1 + 8 + 8)
#define TS_KEY_VAULT_OFF 0
#define TS_KEY_KIND_OFF 8
#define TS_KEY_ID_OFF 9
#define TS_MAP_SIZE (1ULL << 30)
#define TS_MAXDBS 4

struct tier_state {
	MDB_env *env;
	MDB_dbi sys, moves, uses;
};

static int
lmdb_fail(const char *op, int rc)
{
	log_msg(VLOG_ERROR, "tier state: %s: %s", op, mdb_strerror(rc));
	return -1;
}

static void
put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void
make_key(uint8_t key[TIER_STATE_KEY_LEN], uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN])
{
	for (int i = 0; i < 8; i++)
		key[TS_KEY_VAULT_OFF + i] = (uint8_t)(vault_id >> (56 - 8 * i));
	key[TS_KEY_KIND_OFF] = kind;
	memcpy(&key[TS_KEY_ID_OFF], id, VSP_ID_LEN);
}

static void
split_key(const uint8_t *key, uint64_t *vault_id, uint8_t *kind, uint8_t id[VSP_ID_LEN])
{
	*vault_id = 0;
	for (int i = 0; i < 8; i++)
		*vault_id = (*vault_id << 8) | key[TS_KEY_VAULT_OFF + i];
	*kind = key[TS_KEY_KIND_OFF];
	memcpy(id, &key[TS_KEY_ID_OFF], VSP_ID_LEN);
}

/* Checks or writes the format record, in txn. */
static int
check_format(struct tier_state *ts, MDB_txn *txn)
{
	uint8_t want[TS_FORMAT_LEN];
	MDB_val k = {6, (void *)"format"}, v;
	int rc;

	want[0] = TS_VERSION;
	memcpy(&want[1], TS_MAGIC, TS_MAGIC_LEN);
	put_le(&want[1 + TS_MAGIC_LEN], TS_FORMAT, 4);
	rc = mdb_get(txn, ts->sys, &k, &v);
	if (rc == MDB_NOTFOUND) {
		v.mv_size = sizeof(want);
		v.mv_data = want;
		return mdb_put(txn, ts->sys, &k, &v, 0) == 0 ? 0 : -1;
	}
	if (rc != 0 || v.mv_size != sizeof(want) || memcmp(v.mv_data, want, sizeof(want)) != 0) {
		log_msg(VLOG_ERROR, "tier state: unknown format");
		return -1;
	}
	return 0;
}

int
tier_state_open(const char *dir, struct tier_state **out)
{
	struct tier_state *ts;
	MDB_txn *txn;
	int rc, dead;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_msg(VLOG_ERROR, "tier state: create %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((ts = calloc(1, sizeof(*ts))) == NULL)
		return -1;
	if ((rc = mdb_env_create(&ts->env)) != 0)
		goto fail_free;
	if ((rc = mdb_env_set_maxdbs(ts->env, TS_MAXDBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(ts->env, TS_MAP_SIZE)) != 0 ||
	    (rc = mdb_env_open(ts->env, dir, MDB_NOTLS, 0600)) != 0)
		goto fail_env;
	mdb_reader_check(ts->env, &dead);
	if ((rc = mdb_txn_begin(ts->env, NULL, 0, &txn)) != 0)
		goto fail_env;
	if ((rc = mdb_dbi_open(txn, "sys", MDB_CREATE, &ts->sys)) != 0 ||
	    (rc = mdb_dbi_open(txn, "moves", MDB_CREATE, &ts->moves)) != 0 ||
	    (rc = mdb_dbi_open(txn, "uses", MDB_CREATE, &ts->uses)) != 0) {
		mdb_txn_abort(txn);
		goto fail_env;
	}
	if (check_format(ts, txn) != 0) {
		mdb_txn_abort(txn);
		mdb_env_close(ts->env);
		free(ts);
		return -1;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail_env;
	*out = ts;
	return 0;
fail_env:
	mdb_env_close(ts->env);
fail_free:
	free(ts);
	return lmdb_fail("open", rc);
}

void
tier_state_close(struct tier_state *ts)
{
	if (ts == NULL)
		return;
	mdb_env_close(ts->env);
	free(ts);
}

int
tier_state_move_begin(struct tier_state *ts, const struct tier_move *mv)
{
	uint8_t key[TIER_STATE_KEY_LEN], val[TS_MOVE_LEN];
	MDB_val k = {sizeof(key), key}, v = {sizeof(val), val};
	MDB_txn *txn;
	int rc;

	make_key(key, mv->vault_id, mv->kind, mv->id);
	val[0] = TS_VERSION;
	val[1] = mv->from;
	val[2] = mv->to;
	put_le(&val[3], mv->started, 8);
	if ((rc = mdb_txn_begin(ts->env, NULL, 0, &txn)) != 0)
		return lmdb_fail("move_begin", rc);
	if ((rc = mdb_put(txn, ts->moves, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail("move_begin", rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_fail("move_begin", rc);
	return 0;
}

int
tier_state_move_end(struct tier_state *ts, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN])
{
	uint8_t key[TIER_STATE_KEY_LEN];
	MDB_val k = {sizeof(key), key};
	MDB_txn *txn;
	int rc;

	make_key(key, vault_id, kind, id);
	if ((rc = mdb_txn_begin(ts->env, NULL, 0, &txn)) != 0)
		return lmdb_fail("move_end", rc);
	rc = mdb_del(txn, ts->moves, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return lmdb_fail("move_end", rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_fail("move_end", rc);
	return 0;
}

int
tier_state_moves(struct tier_state *ts, struct tier_move *out, size_t max, size_t *n,
    int *more)
{
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	int rc, ret = 0;

	*n = 0;
	*more = 0;
	if ((rc = mdb_txn_begin(ts->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_fail("moves", rc);
	if ((rc = mdb_cursor_open(txn, ts->moves, &cur)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail("moves", rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *p = v.mv_data;
		if (*n == max) {
			*more = 1;
			break;
		}
		if (k.mv_size != TIER_STATE_KEY_LEN || v.mv_size != TS_MOVE_LEN ||
		    p[0] != TS_VERSION) {
			log_msg(VLOG_ERROR, "tier state: corrupt move record");
			ret = -1;
			break;
		}
		split_key(k.mv_data, &out[*n].vault_id, &out[*n].kind, out[*n].id);
		out[*n].from = p[1];
		out[*n].to = p[2];
		out[*n].started = get_le(&p[3], 8);
		(*n)++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return ret;
}

/* Decodes a use value into u (zeros for none). */
static int
use_decode(const MDB_val *v, struct tier_use *u)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size != TS_USE_LEN || p[0] != TS_VERSION) {
		log_msg(VLOG_ERROR, "tier state: corrupt use record");
		return -1;
	}
	u->last_read = get_le(&p[1], 8);
	u->last_recall = get_le(&p[9], 8);
	return 0;
}

int
tier_state_use_merge(struct tier_state *ts, const struct tier_use *u, size_t n)
{
	uint8_t key[TIER_STATE_KEY_LEN], val[TS_USE_LEN];
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(ts->env, NULL, 0, &txn)) != 0)
		return lmdb_fail("use_merge", rc);
	for (size_t i = 0; i < n; i++) {
		MDB_val k = {sizeof(key), key}, v;
		struct tier_use old = {0};

		make_key(key, u[i].vault_id, u[i].kind, u[i].id);
		rc = mdb_get(txn, ts->uses, &k, &v);
		if (rc == 0 && use_decode(&v, &old) != 0)
			rc = -1;
		if (rc != 0 && rc != MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return rc == -1 ? -1 : lmdb_fail("use_merge", rc);
		}
		val[0] = TS_VERSION;
		put_le(&val[1], u[i].last_read > old.last_read ? u[i].last_read : old.last_read, 8);
		put_le(&val[9], u[i].last_recall > old.last_recall ? u[i].last_recall :
		    old.last_recall, 8);
		v.mv_size = sizeof(val);
		v.mv_data = val;
		if ((rc = mdb_put(txn, ts->uses, &k, &v, 0)) != 0) {
			mdb_txn_abort(txn);
			return lmdb_fail("use_merge", rc);
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_fail("use_merge", rc);
	return 0;
}

int
tier_state_use_get(struct tier_state *ts, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], struct tier_use *u)
{
	uint8_t key[TIER_STATE_KEY_LEN];
	MDB_val k = {sizeof(key), key}, v;
	MDB_txn *txn;
	int rc, ret = 0;

	memset(u, 0, sizeof(*u));
	u->vault_id = vault_id;
	u->kind = kind;
	memcpy(u->id, id, VSP_ID_LEN);
	make_key(key, vault_id, kind, id);
	if ((rc = mdb_txn_begin(ts->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_fail("use_get", rc);
	rc = mdb_get(txn, ts->uses, &k, &v);
	if (rc == 0)
		ret = use_decode(&v, u);
	else if (rc != MDB_NOTFOUND)
		ret = lmdb_fail("use_get", rc);
	mdb_txn_abort(txn);
	return ret;
}
