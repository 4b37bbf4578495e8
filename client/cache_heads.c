/*
 * The heads database of the local cache (spec/pack.md 5): per group, the
 * newest snapshot this client has seen, which the rollback check compares
 * each listing against (spec/client.md 4.1).
 */
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"
#include "le.h"

#define HV_SEQ 0
#define HV_TIME (HV_SEQ + 8)
#define HV_NSEC (HV_TIME + 8)
#define HV_ID (HV_NSEC + 4)
#define HV_LEN (HV_ID + VC_ID_LEN)   /* 52 */
#define GROUP_LEN 32

static int
head_decode(const struct vc_cache *c, const MDB_val *v, struct vc_cache_head *h)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size != HV_LEN) {
		vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: heads: damaged head record "
		    "(delete the directory; the next sync rebuilds it)", c->dir);
		return -1;
	}
	h->seq = le64_get(&p[HV_SEQ]);
	h->time = (int64_t)le64_get(&p[HV_TIME]);
	h->time_nsec = le32_get(&p[HV_NSEC]);
	memcpy(h->id, &p[HV_ID], VC_ID_LEN);
	return 0;
}

int
vc_cache_head_get(struct vc_cache *c, struct vc_cache_head *h)
{
	MDB_val key = { GROUP_LEN, h->group }, val;
	MDB_txn *txn;
	int rc;

	if (vc_cache__begin(c, MDB_RDONLY, "head", &txn) != 0)
		return -1;
	rc = mdb_get(txn, c->heads, &key, &val);
	if (rc == MDB_NOTFOUND)
		rc = VC_CACHE_NOTFOUND;
	else if (rc != 0)
		rc = vc_cache__fail(c, "head", rc);
	else
		rc = head_decode(c, &val, h);
	mdb_txn_abort(txn);
	return rc;
}

int
vc_cache_head_put(struct vc_cache *c, const struct vc_cache_head *h)
{
	uint8_t v[HV_LEN];
	MDB_val key = { GROUP_LEN, (void *)h->group }, val = { sizeof(v), v };
	MDB_txn *txn;
	int rc;

	le64_put(&v[HV_SEQ], h->seq);
	le64_put(&v[HV_TIME], (uint64_t)h->time);
	le32_put(&v[HV_NSEC], h->time_nsec);
	memcpy(&v[HV_ID], h->id, VC_ID_LEN);
	if (vc_cache__begin(c, 0, "put head", &txn) != 0)
		return -1;
	if ((rc = mdb_put(txn, c->heads, &key, &val, 0)) != 0) {
		mdb_txn_abort(txn);
		return vc_cache__fail(c, "put head", rc);
	}
	return vc_cache__commit(c, txn, "put head");
}

int
vc_cache_head_del(struct vc_cache *c, const uint8_t group[32])
{
	MDB_val key = { GROUP_LEN, (void *)group };
	MDB_txn *txn;
	int rc;

	if (vc_cache__begin(c, 0, "drop head", &txn) != 0)
		return -1;
	rc = mdb_del(txn, c->heads, &key, NULL);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return VC_CACHE_NOTFOUND;
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return vc_cache__fail(c, "drop head", rc);
	}
	return vc_cache__commit(c, txn, "drop head");
}

int
vc_cache_heads(struct vc_cache *c, struct vc_cache_head **out, size_t *n)
{
	struct vc_cache_head *h = NULL;
	MDB_val key, val;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_stat st;
	size_t got = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (vc_cache__begin(c, MDB_RDONLY, "heads", &txn) != 0)
		return -1;
	if ((rc = mdb_stat(txn, c->heads, &st)) != 0 ||
	    (rc = mdb_cursor_open(txn, c->heads, &cur)) != 0) {
		mdb_txn_abort(txn);
		return vc_cache__fail(c, "heads", rc);
	}
	if (st.ms_entries > 0 && (h = calloc(st.ms_entries, sizeof(*h))) == NULL) {
		vc_report(&c->rp, VC_LOG_ERROR, "vault cache %s: heads: out of memory", c->dir);
		rc = -1;
		goto out;
	}
	rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	for (; rc == 0 && got < st.ms_entries; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != GROUP_LEN || head_decode(c, &val, &h[got]) != 0) {
			rc = -1;
			goto out;
		}
		memcpy(h[got++].group, key.mv_data, GROUP_LEN);
	}
	rc = rc == MDB_NOTFOUND || rc == 0 ? 0 : vc_cache__fail(c, "heads", rc);
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0) {
		free(h);
		return -1;
	}
	*out = h;
	*n = got;
	return 0;
}
