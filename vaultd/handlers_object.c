/* Object transfer: GET/HEAD with ranges, DELETE, and streaming uploads. */
#include "handlers_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "meta_scrub.h"
#include "scrub.h"
#include "sha256.h"
#include "tier.h"

/* Why a copy a GET found bad is recorded as bad (meta_scrub.h). */
#define GET_MISMATCH "SHA-256 mismatch found while serving a GET"

struct usage_sum {
	uint64_t bytes;
};

static int
add_usage(const struct meta_vault *v, void *arg)
{
	struct usage_sum *u = arg;
	u->bytes += v->bytes;
	return 0;
}

static int
handlers__policy(struct store *s, const struct meta_vault *v, struct policy_limits *lim,
    struct resp *resp)
{
	struct meta_tenant t;

	memset(lim, 0, sizeof(*lim));
	if (s->policy == NULL)
		return 0;
	if (meta_tenant_get_by_id(s->meta, v->tenant_id, &t) != META_OK) {
		resp_error(resp, VSP_E_INTERNAL, "metadata error while looking up the tenant");
		return -1;
	}
	s->policy(s->policy_arg, t.name, v->name, lim);
	return 0;
}

/* 507 before the body when the upload would take the vault or its tenant
 * over quota. Concurrent uploads are each checked against the usage
 * committed so far, so together they can pass a quota by at most what is in
 * flight at once. */
static int
quota_check(struct store *s, const struct meta_vault *v, uint64_t len, struct resp *resp)
{
	struct policy_limits lim;
	struct usage_sum u = {0};

	if (handlers__policy(s, v, &lim, resp) != 0)
		return -1;
	if (lim.vault_quota != 0 && (v->bytes > lim.vault_quota || lim.vault_quota - v->bytes < len)) {
		resp_error(resp, VSP_E_NO_SPACE, "vault '%s' is over its quota: %" PRIu64 " of %"
		    PRIu64 " bytes used, %" PRIu64 " more asked", v->name, v->bytes, lim.vault_quota, len);
		return -1;
	}
	if (lim.tenant_quota == 0)
		return 0;
	if (meta_vault_list(s->meta, v->tenant_id, add_usage, &u) != META_OK) {
		resp_error(resp, VSP_E_INTERNAL, "metadata error while adding up usage");
		return -1;
	}
	if (u.bytes > lim.tenant_quota || lim.tenant_quota - u.bytes < len) {
		resp_error(resp, VSP_E_NO_SPACE, "the tenant is over its quota: %" PRIu64 " of %"
		    PRIu64 " bytes used, %" PRIu64 " more asked", u.bytes, lim.tenant_quota, len);
		return -1;
	}
	return 0;
}

/* 423 while the object is inside its lock period (server time). restic's
 * own lock files are exempt: restic must release them (spec/restic.md). */
static int
lock_check(struct store *s, const struct request *req, const struct meta_vault *v,
    struct resp *resp)
{
	const struct route *rt = &req->route;
	struct policy_limits lim;
	struct meta_object o;
	uint64_t now = (uint64_t)time(NULL);
	int rc;

	if (rt->kind == VSP_KIND_LOCK)
		return 0;
	if (handlers__policy(s, v, &lim, resp) != 0)
		return -1;
	if (lim.lock == 0)
		return 0;
	rc = meta_object_get(s->meta, v->id, rt->kind, rt->oid, &o);
	if (rc != META_OK)
		return 0; /* the delete itself reports 404 or the error */
	if (o.received <= now && now - o.received >= lim.lock)
		return 0;
	if (rt->restic)
		resp_error(resp, VSP_E_FORBIDDEN, "the object is locked until %" PRIu64
		    " (Unix time) by the vault's policy", o.received + lim.lock);
	else
		resp_error(resp, VSP_E_LOCKED, "the object is locked until %" PRIu64
		    " (Unix time) by the vault's policy; nobody can delete it before", o.received +
		    lim.lock);
	return -1;
}

static void
object_headers(struct resp *resp, const uint8_t id[VSP_ID_LEN], uint64_t size)
{
	char hex[VSP_ID_HEX_LEN + 1];

	vsp_id_format(id, hex);
	resp_header(resp, "ETag: \"%s\"", hex);
	resp_header(resp, "Accept-Ranges: bytes");
	resp_header(resp, "X-Vault-Object-Size: %" PRIu64, size);
}

/* 1 if the copy under key on b is not size bytes hashing to id, 0 if it
 * is, -1 if it cannot be read (left to the open that follows). */
static int
copy_mismatch(struct backend *b, const char *key, const uint8_t id[VSP_ID_LEN], uint64_t size)
{
	struct store_check c = {0};

	switch (store_copy_check(b, key, id, size, &c)) {
	case STORE_COPY_GOOD:
		return 0;
	case STORE_COPY_WRONG_SIZE:
	case STORE_COPY_BAD_HASH:
		return 1;
	default:
		return -1;
	}
}

/*
 * The copy this server would read (location bit `bit`) must not be bad
 * (spec/scrub.md): one recorded as bad, or a hot copy of at most
 * verify-before-send bytes that fails its hash now (checked when `check` is
 * set), is repaired at once from another
 * copy or a replica, and served if that worked. Otherwise 503: its bytes
 * are never served. Returns 0 (serve it) or -1 (resp holds the answer);
 * *verified is set when the copy was hashed and found good here.
 */
static int
known_bad(struct store *s, const struct meta_vault *v, const struct route *rt,
    const struct meta_object *o, unsigned bit, int check, const char *key, struct resp *resp,
    int *verified)
{
	char err[256] = "";
	uint32_t bad;
	int rc, mismatch = -1;

	*verified = 0;
	if (meta_scrub_bad_mask(s->meta, v->id, (uint8_t)rt->kind, rt->oid, &bad) != META_OK) {
		resp_error(resp, VSP_E_INTERNAL, "metadata error while looking up the object");
		return -1;
	}
	if (!(bad & (UINT32_C(1) << bit))) {
		if (check && bit == 0 && o->size <= s->limits.verify_before_send)
			mismatch = copy_mismatch(s->backend, key, rt->oid, o->size);
		if (mismatch != 1) {
			*verified = mismatch == 0;
			return 0;
		}
	}
	if (s->scrub != NULL) {
		rc = scrub_repair_now(s->scrub, v->id, (uint8_t)rt->kind, rt->oid, (uint8_t)bit,
		    GET_MISMATCH, err, sizeof(err));
		if (rc == SCRUB_OK)
			return 0;
	}
	resp_error(resp, VSP_E_UNAVAILABLE, "the stored copy of this %s failed verification "
	    "and is not served until it is repaired from a good copy%s (vaultctl scrub)%s%s; try "
	    "again later", vsp_kind_name(rt->kind), (o->locations & ~bad) != 0 ?
	    " on another backend" : " or a replica", err[0] ? ": " : "", err);
	resp_header(resp, "Retry-After: 60");
	return -1;
}

/* Hashes the body as it streams, when the whole object is asked for. */
static void
verify_start(struct resp *resp, const struct meta_vault *v, const struct route *rt,
    unsigned bit)
{
	/* Out of memory: the body goes unchecked, as a ranged one does. */
	if ((resp->verify = sha256_new()) == NULL)
		return;
	resp->verify_vault = v->id;
	resp->verify_kind = (uint8_t)rt->kind;
	resp->verify_backend = (uint8_t)bit;
	memcpy(resp->verify_id, rt->oid, VSP_ID_LEN);
}

int
resp_verify_feed(struct store *s, struct resp *r, const void *buf, size_t len, int last)
{
	uint8_t digest[SHA256_LEN];
	char hex[VSP_ID_HEX_LEN + 1];

	if (sha256_update(r->verify, buf, len) != 0)
		return -1;
	if (!last)
		return 0;
	if (sha256_final(r->verify, digest) == 0 &&
	    sodium_memcmp(digest, r->verify_id, VSP_ID_LEN) == 0)
		return 0;
	vsp_id_format(r->verify_id, hex);
	log_msg(VLOG_ERROR, "GET: the stored copy of %s (vault %" PRIu64 ") does not hash "
	    "to its ID; the answer is cut short and the copy is recorded as bad", hex,
	    r->verify_vault);
	(void)store_bad_copy(s->meta, r->verify_vault, r->verify_kind, r->verify_id,
	    r->verify_backend, (uint64_t)time(NULL), GET_MISMATCH);
	return -1;
}

int
handlers__blob_check(struct store *s, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], const void *buf, size_t len, struct resp *resp)
{
	if (store_blob_check(s, vault_id, kind, id, buf, len, GET_MISMATCH) == 0)
		return 0;
	resp_error(resp, VSP_E_UNAVAILABLE, "the stored copy failed verification and is not "
	    "served until it is repaired (vaultctl scrub); try again later");
	resp_header(resp, "Retry-After: 60");
	return -1;
}

/* 202 while an archived object comes back (spec/vsp.md, spec/tiering.md). */
static void
recall_answer(struct store *s, const struct route *rt, uint64_t vault_id, unsigned from,
    struct resp *resp)
{
	char hex[VSP_ID_HEX_LEN + 1];
	int rc = tier_recall(s->tier, vault_id, rt->kind, rt->oid, from);

	if (rc == TIER_ERROR) {
		resp_error(resp, VSP_E_INTERNAL, "the object is archived and cannot be recalled");
		return;
	}
	vsp_id_format(rt->oid, hex);
	handlers__json(resp, 202, json_pack("{s:s, s:s, s:s, s:i}", "code", "recalling",
	    "message", rc == TIER_BUSY ? "the object is archived and the recall queue is full; "
	    "ask again later" : "the object is archived; it is being recalled, ask again later",
	    "id", hex, "retry_after", TIER_RETRY_AFTER_S));
	resp_header(resp, "Retry-After: %d", TIER_RETRY_AFTER_S);
}

/*
 * Opens the object's data where it lies into resp->reader. Returns 0, or
 * -1 with resp set: a 202 for an archived object (its recall queued), or
 * the error. A move may take the copy away between the metadata read and
 * the open; then the metadata is read once more.
 */
static int
open_copy(struct store *s, const struct route *rt, uint64_t vault_id, struct meta_object *o,
    const char *key, struct resp *resp, uint64_t *size)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		unsigned i = store_read_location(o->locations);
		struct backend *b = store_backend_at(s, i);

		if (b == NULL) {
			log_msg(VLOG_ERROR, "object %s is on backend %u, which is not "
			    "configured", key, i);
			break;
		}
		if (i != 0 && store_needs_recall(b)) {
			recall_answer(s, rt, vault_id, i, resp);
			return -1;
		}
		if (backend_open(b, key, &resp->reader, size) == 0) {
			resp->reader_backend = b;
			if (*size == o->size)
				return 0;
			log_msg(VLOG_ERROR, "object %s is listed but its data is the wrong "
			    "size", key);
			break;
		}
		if (errno != ENOENT || meta_object_get(s->meta, vault_id, rt->kind, rt->oid, o) !=
		    META_OK || store_read_location(o->locations) == i) {
			log_msg(VLOG_ERROR, "object %s is listed but its data is %s", key,
			    strerror(errno));
			break;
		}
	}
	resp_clear(s, resp);
	resp_error(resp, VSP_E_INTERNAL, "the object's data cannot be read");
	return -1;
}

void
handlers__object_get(struct store *s, const struct request *req, struct resp *resp)
{
	const struct route *rt = &req->route;
	char key[STORE_KEY_MAX + 1];
	struct meta_token tok;
	struct meta_vault v;
	struct meta_object o;
	uint64_t size, first = 0, last = 0;
	int rc, verified;

	if (handlers__authorize(s, req, META_SCOPE_READ, &tok, &v, resp) != 0)
		return;
	rc = meta_object_get(s->meta, v.id, rt->kind, rt->oid, &o);
	if (rc == META_NOTFOUND) {
		resp_error(resp, VSP_E_NOT_FOUND, "no such %s in vault '%s'", vsp_kind_name(rt->kind),
		    v.name);
		return;
	}
	if (rc != META_OK) {
		resp_error(resp, VSP_E_INTERNAL, "metadata error while looking up the object");
		return;
	}
	if (rt->method == HTTP_HEAD) {
		resp->status = 200;
		resp->content_type = "application/octet-stream";
		resp->length = o.size;
		resp->no_body = 1;
		object_headers(resp, rt->oid, o.size);
		return;
	}
	store_object_key(key, v.id, rt->kind, rt->oid);
	if (known_bad(s, &v, rt, &o, store_read_location(o.locations), !req->has_range, key,
	    resp, &verified) != 0)
		return;
	if (open_copy(s, rt, v.id, &o, key, resp, &size) != 0)
		return; /* resp holds a 202 (a recall) or the error */
	if (s->tier != NULL && rt->kind == VSP_KIND_PACK)
		tier_note_read(s->tier, v.id, rt->kind, rt->oid, (uint64_t)time(NULL));
	resp->status = 200;
	resp->length = size;
	if (req->has_range) {
		if (range_parse(req->range, size, &first, &last) != 0) {
			resp_clear(s, resp);
			resp_error(resp, VSP_E_RANGE, "the range cannot be served (object size %" PRIu64
			    "; one range of the form bytes=a-b, a- or -n)", size);
			resp_header(resp, "Content-Range: bytes */%" PRIu64, size);
			return;
		}
		resp->status = 206;
		resp->offset = first;
		resp->length = last - first + 1;
		resp_header(resp, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first,
		    last, size);
	}
	resp->content_type = "application/octet-stream";
	object_headers(resp, rt->oid, size);
	/* open_copy may have read the record again after a move: the copy it
	 * opened is the one read_location picks now. One found good just
	 * before the answer is not hashed again as it streams: its bytes come
	 * back from the page cache the check just filled. Others are hashed
	 * as they stream (all of them with verify-before-send 0, the default):
	 * the hash then runs beside the reads, which is what brings a
	 * 1-connection GET near the rate of a server that does not hash
	 * (bench/README.md). */
	if (!req->has_range && size > 0 && !(verified && store_read_location(o.locations) == 0))
		verify_start(resp, &v, rt, store_read_location(o.locations));
	handlers__body_start(s, resp);
}

void
handlers__object_delete(struct store *s, const struct request *req, struct resp *resp)
{
	const struct route *rt = &req->route;
	char key[STORE_KEY_MAX + 1];
	struct meta_token tok;
	struct meta_vault v;
	struct meta_object old;
	int rc;

	/* restic must release its locks even with an append-only token. */
	uint32_t scope = rt->restic && rt->kind == VSP_KIND_LOCK ?
	    META_SCOPE_APPEND | META_SCOPE_DELETE : META_SCOPE_DELETE;

	if (handlers__authorize(s, req, scope, &tok, &v, resp) != 0 ||
	    lock_check(s, req, &v, resp) != 0)
		return;
	store_object_key(key, v.id, rt->kind, rt->oid);
	store_lock(v.id, rt->oid);
	/* Metadata first: once it is gone the object is never served, and a
	 * crash before the file goes only leaves an unlisted file behind. */
	rc = meta_object_delete(s->meta, v.id, rt->kind, rt->oid, &old);
	/* Every copy goes: the hot one and any a move made (spec/tiering.md). */
	for (unsigned i = 0; rc == META_OK && i < 32; i++) {
		struct backend *b = store_backend_at(s, i);
		if ((old.locations & (1u << i)) && b != NULL && backend_remove(b, key) != 0 &&
		    errno != ENOENT)
			log_msg(VLOG_ERROR, "remove %s: %s", key, strerror(errno));
	}
	store_unlock(v.id, rt->oid);
	if (rc == META_NOTFOUND)
		resp_error(resp, VSP_E_NOT_FOUND, "no such %s in vault '%s'", vsp_kind_name(rt->kind),
		    v.name);
	else if (rc != META_OK)
		resp_error(resp, VSP_E_INTERNAL, "metadata error while deleting the object");
	else
		resp->status = 204;
}

static void
upload_answer(struct resp *resp, int status, const struct request *req, uint64_t size)
{
	char hex[VSP_ID_HEX_LEN + 1];

	vsp_id_format(req->route.oid, hex);
	handlers__json(resp, status, json_pack("{s:s, s:s, s:I, s:b}", "id", hex, "kind",
	    vsp_kind_name(req->route.kind), "size", (json_int_t)size, "created", status == 201));
}

/* VSP answers a repeated upload with 200 (idempotent); restic's protocol
 * calls it an overwrite and wants 403. Either way nothing is rewritten. */
static void
upload_exists(struct resp *resp, const struct request *req, uint64_t size)
{
	if (req->route.restic)
		resp_error(resp, VSP_E_FORBIDDEN, "the object exists; objects are never overwritten");
	else
		upload_answer(resp, 200, req, size);
}

/* Size, existence and space checks before any byte of the body is read. */
static int
upload_precheck(struct store *s, const struct request *req, const struct meta_vault *v,
    struct resp *resp)
{
	struct meta_object o;
	uint64_t avail;
	int rc;

	if (req->chunked || !req->has_content_length) {
		resp_error(resp, VSP_E_LENGTH_REQUIRED,
		    "uploads need a Content-Length (chunked bodies are not accepted)");
		return -1;
	}
	if (req->content_length > s->limits.max_object_size) {
		resp_error(resp, VSP_E_TOO_LARGE, "objects are limited to %" PRIu64 " bytes",
		    s->limits.max_object_size);
		return -1;
	}
	rc = meta_object_get(s->meta, v->id, req->route.kind, req->route.oid, &o);
	if (rc == META_OK) {
		upload_exists(resp, req, o.size);
		return -1;
	}
	if (rc != META_NOTFOUND) {
		resp_error(resp, VSP_E_INTERNAL, "metadata error while looking up the object");
		return -1;
	}
	if (quota_check(s, v, req->content_length, resp) != 0)
		return -1;
	if (backend_space(s->backend, &avail) == 0 &&
	    (avail < s->limits.reserve_bytes ||
	        avail - s->limits.reserve_bytes < req->content_length)) {
		resp_error(resp, VSP_E_NO_SPACE, "the vault is out of space for %" PRIu64 " bytes",
		    req->content_length);
		return -1;
	}
	return 0;
}

int
upload_begin(struct store *s, const struct request *req, struct upload *up, struct resp *resp)
{
	char key[STORE_KEY_MAX + 1];
	struct meta_token tok;
	struct meta_vault v;

	memset(up, 0, sizeof(*up));
	if (handlers__authorize(s, req, META_SCOPE_APPEND, &tok, &v, resp) != 0)
		return 0;
	if (upload_precheck(s, req, &v, resp) != 0)
		return 0;
	store_object_key(key, v.id, req->route.kind, req->route.oid);
	if ((up->hash = sha256_new()) == NULL) {
		resp_error(resp, VSP_E_INTERNAL, "out of memory");
		return 0;
	}
	if (backend_put_begin(s->backend, key, &up->put) != 0) {
		int e = errno;
		sha256_free(up->hash);
		up->hash = NULL;
		resp_error(resp, e == ENOSPC ? VSP_E_NO_SPACE : VSP_E_INTERNAL,
		    "cannot start the upload: %s", strerror(e));
		return 0;
	}
	up->vault_id = v.id;
	up->expected = req->content_length;
	if ((up->want_envelope = handlers__wants_envelope(req)) &&
	    (up->env = envelope_reader_new()) == NULL) {
		upload_abort(s, up);
		resp_error(resp, VSP_E_INTERNAL, "out of memory");
		return 0;
	}
	return 1;
}

void
upload_write(struct store *s, struct upload *up, const void *buf, size_t len)
{
	if (up->failed_errno != 0)
		return;
	if (sha256_update(up->hash, buf, len) != 0) {
		up->failed_errno = EIO;
		return;
	}
	if (backend_put_write(s->backend, up->put, buf, len) != 0)
		up->failed_errno = errno != 0 ? errno : EIO;
	up->received += len;
	if (up->want_envelope)
		handlers__envelope_feed(up, buf, len);
}

void
upload_abort(struct store *s, struct upload *up)
{
	if (up->put != NULL)
		backend_put_abort(s->backend, up->put);
	sha256_free(up->hash);
	envelope_reader_free(up->env);
	memset(up, 0, sizeof(*up));
}

/* Commits the verified temp object, then its metadata. */
static void
upload_commit(struct store *s, const struct request *req, struct upload *up, struct resp *resp)
{
	const struct route *rt = &req->route;
	struct meta_object o = {.size = up->received, .received = (uint64_t)time(NULL),
	    .locations = 1};
	struct backend_put *put = up->put;
	char key[STORE_KEY_MAX + 1];
	int rc;

	if (up->want_envelope && handlers__snapshot_check(up, resp) != 0)
		return; /* upload_finish drops the temp file */
	up->put = NULL;
	store_lock(up->vault_id, rt->oid);
	if (backend_put_commit(s->backend, put) != 0) {
		int e = errno;
		store_unlock(up->vault_id, rt->oid);
		resp_error(resp, e == ENOSPC ? VSP_E_NO_SPACE : VSP_E_INTERNAL,
		    "could not store the object: %s", strerror(e));
		return;
	}
	if (up->want_envelope)
		rc = handlers__snapshot_commit(s, req, up, &o, resp);
	else
		rc = meta_object_put(s->meta, up->vault_id, rt->kind, rt->oid, &o, NULL);
	if (rc == META_MISSING) {
		/* Refused by the commit invariant: the file goes again. */
		store_object_key(key, up->vault_id, rt->kind, rt->oid);
		if (backend_remove(s->backend, key) != 0)
			log_msg(VLOG_ERROR, "remove %s: %s", key, strerror(errno));
	}
	store_unlock(up->vault_id, rt->oid);
	if (rc == META_MISSING)
		return; /* resp holds the 409 with the missing IDs */
	if (rc == META_OK)
		upload_answer(resp, 201, req, o.size);
	else if (rc == META_EXISTS)
		upload_exists(resp, req, o.size); /* a concurrent upload won */
	else if (rc == META_NOTFOUND)
		resp_error(resp, VSP_E_NOT_FOUND, "the vault was removed during the upload");
	else if (rc == META_FULL)
		resp_error(resp, VSP_E_NO_SPACE, "the metadata store is full");
	else
		resp_error(resp, VSP_E_INTERNAL, "metadata error while recording the object");
}

void
upload_finish(struct store *s, const struct request *req, struct upload *up, struct resp *resp)
{
	uint8_t digest[SHA256_LEN];
	char hex[VSP_ID_HEX_LEN + 1];

	if (up->failed_errno != 0) {
		resp_error(resp, up->failed_errno == ENOSPC ? VSP_E_NO_SPACE : VSP_E_INTERNAL,
		    "could not store the object: %s", strerror(up->failed_errno));
		goto abort;
	}
	if (up->received != up->expected || sha256_final(up->hash, digest) != 0) {
		resp_error(resp, VSP_E_INTERNAL, "the upload ended early");
		goto abort;
	}
	if (sodium_memcmp(digest, req->route.oid, VSP_ID_LEN) != 0) {
		vsp_id_format(digest, hex);
		resp_error(resp, VSP_E_HASH_MISMATCH,
		    "the body's SHA-256 is %s, not the ID in the URL; nothing was stored", hex);
		goto abort;
	}
	upload_commit(s, req, up, resp);
abort:
	upload_abort(s, up);
}
