/*
 * Snapshot uploads over VSP: the cleartext envelope header (spec/envelope.md)
 * is parsed once, by an envelope reader, as the body streams by; when the
 * upload ends its length is checked against the header, and the parsed
 * references are checked against the vault in the same LMDB transaction that
 * stores the snapshot (the commit invariant of DESIGN.md). restic's snapshot
 * files are not envelopes and are stored as plain objects.
 */
#include "handlers_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
handlers__wants_envelope(const struct request *req)
{
	return req->route.kind == VSP_KIND_SNAPSHOT && !req->route.restic;
}

void
handlers__envelope_feed(struct upload *up, const uint8_t *buf, size_t len)
{
	if (envelope_reader_feed(up->env, buf, len) != 0)
		up->failed_errno = ENOMEM;
}

/* 400 unless the upload is one whole envelope; *e gets its parsed form. */
static int
envelope_check(const struct upload *up, const struct envelope **e, struct resp *resp)
{
	enum envelope_err err = envelope_reader_finish(up->env, e);

	if (err == ENVELOPE_OK)
		return 0;
	resp_error(resp, VSP_E_MALFORMED, "a snapshot must be a snapshot envelope "
	    "(spec/envelope.md): %s; nothing was stored", envelope_strerror(err));
	return -1;
}

/* 409 naming every reference the vault lacks. */
static void
missing_answer(struct resp *resp, const struct envelope *e, const uint8_t *missing)
{
	json_t *list = json_array();
	char hex[VSP_ID_HEX_LEN + 1];

	for (size_t i = 0; i < e->nrefs && list != NULL; i++) {
		struct envelope_ref r;
		if (!missing[i])
			continue;
		envelope_ref_get(e, i, &r);
		vsp_id_format(r.id, hex);
		json_array_append_new(list, json_pack("{s:s, s:s}", "kind",
		    vsp_kind_name((enum vsp_kind)r.kind), "id", hex));
	}
	handlers__json(resp, 409, json_pack("{s:s, s:s, s:o*}", "code",
	    vsp_err_code(VSP_E_CONFLICT), "message", "the snapshot refers to objects the vault "
	    "does not hold (listed in missing); upload them and retry", "missing", list));
}

int
handlers__snapshot_check(const struct upload *up, struct resp *resp)
{
	const struct envelope *e;
	return envelope_check(up, &e, resp);
}

int
handlers__snapshot_commit(struct store *s, const struct request *req, struct upload *up,
    const struct meta_object *o, struct resp *resp)
{
	const struct envelope *e;
	uint8_t *missing;
	int rc;

	if (envelope_check(up, &e, resp) != 0)
		return META_ERROR;
	if ((missing = calloc(e->nrefs ? e->nrefs : 1, 1)) == NULL) {
		resp_error(resp, VSP_E_INTERNAL, "out of memory");
		return META_ERROR;
	}
	rc = meta_snapshot_put(s->meta, up->vault_id, req->route.oid, o, e, missing, NULL);
	if (rc == META_MISSING)
		missing_answer(resp, e, missing);
	free(missing);
	return rc;
}
