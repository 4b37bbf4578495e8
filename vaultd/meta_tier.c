/* Compare-and-set of an object's locations (meta_tier.h). */
#include <stdio.h>

#include "log.h"
#include "meta_internal.h"
#include "meta_tier.h"

int
meta_object_set_locations(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], uint32_t expect, uint32_t locations)
{
	const char *op = "object_set_locations";
	uint8_t key[META__OBJ_KEY_LEN], buf[META__VAL_MAX];
	struct meta_object o;
	MDB_txn *txn;
	size_t len;
	int rc;

	if (locations == 0 || (unsigned)kind >= VSP_KIND_COUNT) {
		log_msg(VLOG_ERROR, "meta: %s: bad arguments", op);
		return META_ERROR;
	}
	if ((rc = meta__txn_begin(m, 0, op, &txn)) != META_OK)
		return rc;
	meta__obj_key(key, vault_id, kind, id);
	rc = meta__obj_load(m, txn, key, &o, op);
	if (rc == META_OK && o.tombstoned != 0)
		rc = META_NOTFOUND;
	if (rc == META_OK && o.locations != expect)
		rc = META_CHANGED;
	if (rc == META_OK) {
		o.locations = locations;
		len = meta__object_enc(buf, &o);
		rc = meta__put(txn, m->objects, key, sizeof(key), buf, len, 0, op);
	}
	return meta__txn_end(txn, rc, op);
}
