/*
 * The VSP calls of client/remote.h: what each request looks like and what
 * its answer means. The requests themselves run on the remote's thread
 * (remote_io.c); opening a remote is remote_open.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "envelope.h"
#include "remote_internal.h"
#include "sha256.h"

#define CT_OCTETS "application/octet-stream"
#define CT_JSON "application/json"
#define ERR_BODY_MAX ((size_t)64 << 10) /* an error answer's JSON */
#define CONFIG_ANSWER_MAX ((size_t)1 << 20) /* configs are at most 64 KiB */

_Static_assert(VSP_KIND_PACK == 0 && VSP_KIND_INDEX == 1, "missing entries use vsp_kind values");

/* ---- one request ---- */

static void
job_init(struct vc_job *j, enum vc_method m, size_t resp_max)
{
	memset(j, 0, sizeof(*j));
	j->method = m;
	j->resp_max = resp_max;
	j->ctype = CT_OCTETS;
}

static int
kind_check(const struct vc_remote *r, enum vsp_kind kind)
{
	if ((unsigned)kind < VSP_KIND_COUNT)
		return 0;
	vc_remote__set_error(0, "%s vault %s: object kind %d does not exist", r->url, r->vault,
	    (int)kind);
	return -1;
}

/* The path and the message label of a request on one object. */
static void
object_job(const struct vc_remote *r, struct vc_job *j, const char *method,
    enum vsp_kind kind, const uint8_t id[VSP_ID_LEN])
{
	char hex[VSP_ID_HEX_LEN + 1];

	vsp_id_format(id, hex);
	memcpy(j->id, id, VSP_ID_LEN);
	j->kind = kind;
	snprintf(j->path, sizeof(j->path), "/v1/vaults/%s/objects/%s/%s", r->vault,
	    vsp_kind_name(kind), hex);
	snprintf(j->what, sizeof(j->what), "%s %s %.*s...", method, vsp_kind_name(kind),
	    VC_WHAT_ID_HEX, hex);
}

/* Sets the thread's error from j's outcome; returns rc. */
static int
fail_as(struct vc_job *j, int rc)
{
	char buf[VC_ERR_MAX];

	vc_remote__describe(j, buf, sizeof(buf));
	vc_remote__set_error((int)j->status, "%s", buf);
	return rc;
}

static int bad_answer(const struct vc_job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An answer with a success status that does not say what VSP says. */
static int
bad_answer(const struct vc_job *j, const char *fmt, ...)
{
	char why[VC_ERR_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	vc_remote__set_error((int)j->status, "%s vault %s: %s: the server's answer is not "
	    "valid VSP: %s (%ld)", j->r->url, j->r->vault, j->what, why, j->status);
	return -1;
}

/* Runs a sync job. 0 with an HTTP answer in j, or -1 with the error set. */
static int
run(struct vc_remote *r, struct vc_job *j)
{
	if (vc_remote__run(r, j) != 0)
		return -1;
	if (j->status == 0)
		return fail_as(j, -1);
	return 0;
}

static json_t *
answer_json(const struct vc_job *j)
{
	json_t *doc = json_loadb((const char *)j->resp.p, j->resp.len, 0, NULL);

	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		bad_answer(j, "not a JSON object");
		return NULL;
	}
	return doc;
}

/* Hands j's answer body over as a malloc'ed buffer (never NULL). */
static int
take_body(struct vc_job *j, uint8_t **out, size_t *len)
{
	if (j->resp.p == NULL && (j->resp.p = malloc(1)) == NULL) {
		vc_remote__set_error(0, "%s vault %s: %s: out of memory", j->r->url, j->r->vault,
		    j->what);
		return -1;
	}
	*out = j->resp.p;
	*len = j->resp.len;
	j->resp.p = NULL;
	j->resp.len = j->resp.cap = 0;
	return 0;
}

/* Reads GET /v1/capabilities once for the batch and listing limits. An
 * answer that is not 200 leaves the defaults of spec/vsp.md; no answer at
 * all fails, since the call that wanted the limits would fail the same way. */
static int
caps_get(struct vc_remote *r)
{
	struct vc_job j;
	json_t *doc, *lim;
	int rc = 0;

	pthread_mutex_lock(&r->caps_mu);
	if (r->caps_read)
		goto out;
	job_init(&j, VC_GET, ERR_BODY_MAX);
	snprintf(j.path, sizeof(j.path), "/v1/capabilities");
	snprintf(j.what, sizeof(j.what), "GET capabilities");
	if ((rc = run(r, &j)) == 0) {
		r->caps_read = 1;
		if (j.status == 200 && (doc = json_loadb((const char *)j.resp.p, j.resp.len, 0,
		    NULL)) != NULL) {
			lim = json_object_get(doc, "limits");
			json_int_t b = json_integer_value(json_object_get(lim, "max_batch_ids"));
			json_int_t l = json_integer_value(json_object_get(lim, "max_list_limit"));
			if (b > 0)
				r->max_batch_ids = b < VC_BATCH_IDS_MAX ? (size_t)b : VC_BATCH_IDS_MAX;
			if (l > 0)
				r->max_list_limit = l < VC_LIST_LIMIT_MAX ? (size_t)l : VC_LIST_LIMIT_MAX;
			json_decref(doc);
		}
	}
	vc_remote__job_clear(&j);
out:
	pthread_mutex_unlock(&r->caps_mu);
	return rc;
}

/* ---- vaults and configs ---- */

int
vc_remote_create_vault(struct vc_remote *r)
{
	struct vc_job j;
	int rc;

	job_init(&j, VC_PUT, ERR_BODY_MAX);
	snprintf(j.path, sizeof(j.path), "/v1/vaults/%s", r->vault);
	snprintf(j.what, sizeof(j.what), "PUT vault");
	if ((rc = run(r, &j)) == 0) {
		if (j.status == 201)
			rc = 0;
		else
			rc = fail_as(&j, j.status == 409 ? VC_R_EXISTS : -1);
	}
	vc_remote__job_clear(&j);
	return rc;
}

int
vc_remote_vault_info(struct vc_remote *r, uint64_t *objects, uint64_t *bytes)
{
	struct vc_job j;
	json_t *doc;
	int rc;

	job_init(&j, VC_GET, ERR_BODY_MAX);
	snprintf(j.path, sizeof(j.path), "/v1/vaults/%s", r->vault);
	snprintf(j.what, sizeof(j.what), "GET vault");
	if ((rc = run(r, &j)) != 0)
		goto out;
	if (j.status != 200) {
		rc = fail_as(&j, j.status == 404 ? VC_R_NOTFOUND : -1);
		goto out;
	}
	if ((doc = answer_json(&j)) == NULL) {
		rc = -1;
		goto out;
	}
	json_t *o = json_object_get(doc, "objects"), *b = json_object_get(doc, "bytes");
	if (!json_is_integer(o) || !json_is_integer(b) || json_integer_value(o) < 0 ||
	    json_integer_value(b) < 0) {
		rc = bad_answer(&j, "no object and byte counts");
	} else {
		if (objects != NULL)
			*objects = (uint64_t)json_integer_value(o);
		if (bytes != NULL)
			*bytes = (uint64_t)json_integer_value(b);
	}
	json_decref(doc);
out:
	vc_remote__job_clear(&j);
	return rc;
}

int
vc_remote_get_config(struct vc_remote *r, uint8_t **blob, size_t *len)
{
	struct vc_job j;
	int rc;

	job_init(&j, VC_GET, CONFIG_ANSWER_MAX);
	snprintf(j.path, sizeof(j.path), "/v1/vaults/%s/config", r->vault);
	snprintf(j.what, sizeof(j.what), "GET config");
	if ((rc = run(r, &j)) == 0) {
		if (j.status == 200)
			rc = take_body(&j, blob, len);
		else
			rc = fail_as(&j, j.status == 404 ? VC_R_NOTFOUND : -1);
	}
	vc_remote__job_clear(&j);
	return rc;
}

int
vc_remote_put_config(struct vc_remote *r, const uint8_t *blob, size_t len)
{
	struct vc_job j;
	int rc;

	job_init(&j, VC_PUT, ERR_BODY_MAX);
	snprintf(j.path, sizeof(j.path), "/v1/vaults/%s/config", r->vault);
	snprintf(j.what, sizeof(j.what), "PUT config");
	j.body = blob;
	j.body_len = len;
	if ((rc = run(r, &j)) == 0) {
		if (j.status == 200 || j.status == 201)
			rc = 0;
		else
			rc = fail_as(&j, j.status == 409 ? VC_R_EXISTS : -1);
	}
	vc_remote__job_clear(&j);
	return rc;
}

/* ---- existence and listing ---- */

/*
 * Both arrays of the answer keep the order of the request and every ID is
 * in exactly one (spec/vsp.md 11), so one pass over the request tells which
 * array each ID went to. Returns 0, or -1 if the answer does not fit.
 */
static int
exists_merge(json_t *pres, json_t *miss, const uint8_t (*ids)[VSP_ID_LEN], size_t n,
    uint8_t *present)
{
	size_t p = 0, q = 0, np = json_array_size(pres), nq = json_array_size(miss);
	char hex[VSP_ID_HEX_LEN + 1];
	const char *s;

	for (size_t i = 0; i < n; i++) {
		vsp_id_format(ids[i], hex);
		s = p < np ? json_string_value(json_array_get(pres, p)) : NULL;
		if (s != NULL && strcmp(s, hex) == 0) {
			present[i] = 1;
			p++;
			continue;
		}
		s = q < nq ? json_string_value(json_array_get(miss, q)) : NULL;
		if (s != NULL && strcmp(s, hex) == 0) {
			present[i] = 0;
			q++;
			continue;
		}
		return -1;
	}
	return p == np && q == nq ? 0 : -1;
}

static int
exists_batch(struct vc_remote *r, enum vsp_kind kind, const uint8_t (*ids)[VSP_ID_LEN],
    size_t n, uint8_t *present)
{
	static const char head[] = "{\"ids\":[", tail[] = "]}";
	const size_t per = VSP_ID_HEX_LEN + 3; /* "ID", */
	struct vc_job j;
	uint8_t *body;
	json_t *doc;
	size_t len;
	int rc;

	if ((body = malloc(sizeof(head) + n * per + sizeof(tail))) == NULL) {
		vc_remote__set_error(0, "%s vault %s: exists: out of memory", r->url, r->vault);
		return -1;
	}
	memcpy(body, head, sizeof(head) - 1);
	len = sizeof(head) - 1;
	for (size_t i = 0; i < n; i++) {
		body[len++] = '"';
		vsp_id_format(ids[i], (char *)body + len);
		len += VSP_ID_HEX_LEN;
		body[len++] = '"';
		if (i + 1 < n)
			body[len++] = ',';
	}
	memcpy(body + len, tail, sizeof(tail) - 1);
	len += sizeof(tail) - 1;

	job_init(&j, VC_POST, VC_JSON_MAX);
	snprintf(j.path, sizeof(j.path), "/v1/vaults/%s/objects/%s/exists", r->vault,
	    vsp_kind_name(kind));
	snprintf(j.what, sizeof(j.what), "POST %s exists (%zu IDs)", vsp_kind_name(kind), n);
	j.body = body;
	j.body_len = len;
	j.ctype = CT_JSON;
	if ((rc = run(r, &j)) != 0)
		goto out;
	if (j.status != 200) {
		rc = fail_as(&j, -1);
		goto out;
	}
	if ((doc = answer_json(&j)) == NULL) {
		rc = -1;
		goto out;
	}
	if (exists_merge(json_object_get(doc, "present"), json_object_get(doc, "missing"), ids, n,
	    present) != 0)
		rc = bad_answer(&j, "present and missing do not list the IDs asked for");
	json_decref(doc);
out:
	vc_remote__job_clear(&j);
	free(body);
	return rc;
}

int
vc_remote_exists(struct vc_remote *r, enum vsp_kind kind, const uint8_t (*ids)[VSP_ID_LEN],
    size_t n, uint8_t *present)
{
	size_t batch;

	if (kind_check(r, kind) != 0)
		return -1;
	if (n == 0)
		return 0;
	if (caps_get(r) != 0)
		return -1;
	batch = r->max_batch_ids;
	for (size_t i = 0; i < n; i += batch) {
		size_t m = n - i < batch ? n - i : batch;
		if (exists_batch(r, kind, ids + i, m, present + i) != 0)
			return -1;
	}
	return 0;
}

/*
 * One page of a listing: calls cb for each object and copies "next" into
 * after (empty when the listing ends). Returns 0, cb's non-zero value, or
 * -1.
 */
static int
list_page(struct vc_job *j, char after[VSP_ID_HEX_LEN + 1],
    int (*cb)(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg), void *arg)
{
	json_t *doc, *objs, *next;
	uint8_t id[VSP_ID_LEN];
	const char *s;
	int rc = 0;

	if ((doc = answer_json(j)) == NULL)
		return -1;
	objs = json_object_get(doc, "objects");
	next = json_object_get(doc, "next");
	if (!json_is_array(objs) || (!json_is_null(next) && !json_is_string(next))) {
		rc = bad_answer(j, "a listing without objects or next");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(objs) && rc == 0; i++) {
		json_t *o = json_array_get(objs, i), *sz = json_object_get(o, "size");
		s = json_string_value(json_object_get(o, "id"));
		if (s == NULL || vsp_id_parse(s, strlen(s), id) != 0 || !json_is_integer(sz) ||
		    json_integer_value(sz) < 0) {
			rc = bad_answer(j, "listing entry %zu has no valid id and size", i);
			goto out;
		}
		rc = cb(id, (uint64_t)json_integer_value(sz), arg);
	}
	if (rc != 0)
		goto out;
	if (json_is_null(next)) {
		after[0] = '\0';
		goto out;
	}
	/* "next" must move forward, or the walk would never end. */
	s = json_string_value(next);
	if (vsp_id_parse(s, strlen(s), id) != 0 || strcmp(s, after) <= 0) {
		rc = bad_answer(j, "the listing's next does not move forward");
		goto out;
	}
	memcpy(after, s, VSP_ID_HEX_LEN + 1);
out:
	json_decref(doc);
	return rc;
}

int
vc_remote_list(struct vc_remote *r, enum vsp_kind kind,
    int (*cb)(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg), void *arg)
{
	char after[VSP_ID_HEX_LEN + 1] = "";
	struct vc_job j;
	int rc;

	if (kind_check(r, kind) != 0 || caps_get(r) != 0)
		return -1;
	do {
		job_init(&j, VC_GET, VC_JSON_MAX);
		snprintf(j.path, sizeof(j.path), "/v1/vaults/%s/objects/%s?limit=%zu%s%s", r->vault,
		    vsp_kind_name(kind), r->max_list_limit, after[0] ? "&after=" : "", after);
		snprintf(j.what, sizeof(j.what), "GET %s listing", vsp_kind_name(kind));
		if ((rc = run(r, &j)) == 0)
			rc = j.status == 200 ? list_page(&j, after, cb, arg) : fail_as(&j, -1);
		vc_remote__job_clear(&j);
	} while (rc == 0 && after[0] != '\0');
	return rc;
}

/* ---- objects ---- */

/* Sets up the GET of [off, off+len) (len UINT64_MAX: whole). */
static void
get_job(struct vc_remote *r, struct vc_job *j, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], uint64_t off, uint64_t len)
{
	job_init(j, VC_GET, SIZE_MAX);
	object_job(r, j, "GET", kind, id);
	if (len == UINT64_MAX) {
		j->whole = 1;
		return;
	}
	j->ranged = 1;
	j->first = off;
	j->last = len - 1 > UINT64_MAX - 1 - off ? UINT64_MAX : off + len - 1;
	/* The range, or an error's JSON. */
	j->resp_max = len < SIZE_MAX - ERR_BODY_MAX ? (size_t)len + ERR_BODY_MAX : SIZE_MAX;
}

/* The bytes of a 200 or 206, checked. */
static int
get_check(struct vc_job *j, char *err, size_t errlen)
{
	const struct vc_remote *r = j->r;
	uint8_t d[SHA256_LEN];

	if (j->status == 206 && j->ranged) {
		uint64_t want_last = j->last;
		if (!j->have_range || j->cr_first != j->first || j->cr_last < j->cr_first ||
		    j->cr_last > want_last || j->cr_last - j->cr_first + 1 != j->resp.len) {
			snprintf(err, errlen, "%s vault %s: %s: asked for bytes %llu-%llu, got %zu "
			    "bytes that are not them", r->url, r->vault, j->what,
			    (unsigned long long)j->first, (unsigned long long)j->last, j->resp.len);
			return -1;
		}
		return 0;
	}
	/* A whole object: its SHA-256 is its ID. A proxy that ignored Range
	 * also gets here, and the range is cut from the checked whole. */
	if (sha256_buf(j->resp.p, j->resp.len, d) != 0 || sodium_memcmp(d, j->id, SHA256_LEN) != 0) {
		snprintf(err, errlen, "%s vault %s: %s: the %zu bytes received do not hash to the "
		    "object's ID: damaged in storage or on the way", r->url, r->vault, j->what,
		    j->resp.len);
		return -1;
	}
	if (j->ranged) {
		uint64_t n;
		if (j->first >= j->resp.len) {
			snprintf(err, errlen, "%s vault %s: %s: the object has only %zu bytes",
			    r->url, r->vault, j->what, j->resp.len);
			return -1;
		}
		n = j->resp.len - j->first;
		if (j->last - j->first < n)
			n = j->last - j->first + 1;
		memmove(j->resp.p, j->resp.p + j->first, (size_t)n);
		j->resp.len = (size_t)n;
	}
	return 0;
}

/* The outcome of an object GET: 0 with the bytes, VC_R_NOTFOUND or -1 with
 * the sentence in err. */
static int
get_result(struct vc_job *j, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	if (j->status != 200 && j->status != 206) {
		vc_remote__describe(j, err, errlen);
		return j->status == 404 ? VC_R_NOTFOUND : -1;
	}
	if (get_check(j, err, errlen) != 0)
		return -1;
	if (j->resp.p == NULL && (j->resp.p = malloc(1)) == NULL) {
		snprintf(err, errlen, "%s vault %s: %s: out of memory", j->r->url, j->r->vault, j->what);
		return -1;
	}
	*buf = j->resp.p;
	*len = j->resp.len;
	j->resp.p = NULL;
	j->resp.len = j->resp.cap = 0;
	return 0;
}

int
vc_remote_get(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    uint64_t off, uint64_t len, uint8_t **buf, size_t *outlen)
{
	char err[VC_ERR_MAX];
	struct vc_job j;
	int rc;

	if (kind_check(r, kind) != 0)
		return -1;
	if (len == 0) {
		/* No Range header can ask for nothing. */
		*outlen = 0;
		return (*buf = malloc(1)) != NULL ? 0 : -1;
	}
	get_job(r, &j, kind, id, off, len);
	if ((rc = run(r, &j)) == 0 && (rc = get_result(&j, buf, outlen, err, sizeof(err))) != 0)
		vc_remote__set_error((int)j.status, "%s", err);
	vc_remote__job_clear(&j);
	return rc;
}

int
vc_remote_stat(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    uint64_t *size)
{
	struct vc_job j;
	int rc;

	if (kind_check(r, kind) != 0)
		return -1;
	job_init(&j, VC_HEAD, ERR_BODY_MAX);
	object_job(r, &j, "HEAD", kind, id);
	if ((rc = run(r, &j)) == 0) {
		if (j.status == 200 && j.have_length)
			*size = j.length;
		else if (j.status == 200)
			rc = bad_answer(&j, "no Content-Length");
		else
			rc = fail_as(&j, j.status == 404 ? VC_R_NOTFOUND : -1);
	}
	vc_remote__job_clear(&j);
	return rc;
}

int
vc_remote_delete(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN])
{
	struct vc_job j;
	int rc;

	if (kind_check(r, kind) != 0)
		return -1;
	job_init(&j, VC_DELETE, ERR_BODY_MAX);
	object_job(r, &j, "DELETE", kind, id);
	if ((rc = run(r, &j)) == 0) {
		/* A 404 after a retry is our own earlier attempt's success
		 * (spec/vsp.md 7.11). */
		if (j.status == 204 || (j.status == 404 && j.attempts > 1))
			rc = 0;
		else
			rc = fail_as(&j, j.status == 404 ? VC_R_NOTFOUND : -1);
	}
	vc_remote__job_clear(&j);
	return rc;
}

/* ---- async jobs ---- */

static void
put_complete(struct vc_job *j)
{
	char err[VC_ERR_MAX];
	int rc = 0;

	if (j->status != 200 && j->status != 201) {
		vc_remote__describe(j, err, sizeof(err));
		vc_remote__async_failed(j->r, err, (int)j->status);
		rc = -1;
	}
	/* The body is not needed any more; free it before the callback,
	 * which may queue the next one. */
	free(j->owned);
	j->owned = NULL;
	if (j->done_fn != NULL)
		j->done_fn(j->arg, rc, rc != 0 ? err : NULL);
	vc_remote__job_clear(j);
	free(j);
}

/* Queues a PUT of buf; the job frees it when done if owned. */
static int
put_async(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    uint8_t *buf, size_t len, int owned, vc_remote_done_fn *done, void *arg)
{
	struct vc_job *j;

	if (kind_check(r, kind) != 0)
		return -1;
	if ((j = malloc(sizeof(*j))) == NULL) {
		vc_remote__set_error(0, "%s vault %s: out of memory", r->url, r->vault);
		return -1;
	}
	job_init(j, VC_PUT, ERR_BODY_MAX);
	object_job(r, j, "PUT", kind, id);
	j->body = buf;
	j->owned = owned ? buf : NULL;
	j->body_len = len;
	j->complete = put_complete;
	j->done_fn = done;
	j->arg = arg;
	if (vc_remote__submit(r, j) != 0) {
		free(j);
		return -1;
	}
	return 0;
}

int
vc_remote_put_async(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    uint8_t *buf, size_t len, vc_remote_done_fn *done, void *arg)
{
	if (put_async(r, kind, id, buf, len, 1, done, arg) != 0) {
		free(buf);
		return -1;
	}
	return 0;
}

int
vc_remote_put_async_borrowed(struct vc_remote *r, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], const uint8_t *buf, size_t len, vc_remote_done_fn *done,
    void *arg)
{
	return put_async(r, kind, id, (uint8_t *)buf, len, 0, done, arg);
}

static void
get_complete(struct vc_job *j)
{
	char err[VC_ERR_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = get_result(j, &buf, &len, err, sizeof(err))) != 0)
		vc_remote__async_failed(j->r, err, (int)j->status);
	if (j->got_fn != NULL)
		j->got_fn(j->arg, rc, buf, len, rc != 0 ? err : NULL);
	else
		free(buf);
	vc_remote__job_clear(j);
	free(j);
}

int
vc_remote_get_async(struct vc_remote *r, enum vsp_kind kind, const uint8_t id[VSP_ID_LEN],
    uint64_t off, uint64_t len, vc_remote_got_fn *got, void *arg)
{
	struct vc_job *j;

	if (kind_check(r, kind) != 0)
		return -1;
	if (len == 0) {
		vc_remote__set_error(0, "%s vault %s: a download of 0 bytes", r->url, r->vault);
		return -1;
	}
	if ((j = malloc(sizeof(*j))) == NULL) {
		vc_remote__set_error(0, "%s vault %s: out of memory", r->url, r->vault);
		return -1;
	}
	get_job(r, j, kind, id, off, len);
	j->complete = get_complete;
	j->got_fn = got;
	j->arg = arg;
	if (vc_remote__submit(r, j) != 0) {
		free(j);
		return -1;
	}
	return 0;
}

int
vc_remote_flush(struct vc_remote *r)
{
	int rc = 0;

	if (r->thread_started && pthread_equal(pthread_self(), r->thread)) {
		vc_remote__set_error(0, "%s vault %s: vc_remote_flush cannot be called from a "
		    "callback of the same remote", r->url, r->vault);
		return -1;
	}
	pthread_mutex_lock(&r->mu);
	while (r->npending > 0)
		pthread_cond_wait(&r->cv_idle, &r->mu);
	if (r->failed) {
		vc_remote__set_error(r->first_status, "%s", r->first_err);
		r->failed = 0;
		rc = -1;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* ---- snapshots ---- */

/* The 409's missing list as envelope references (kind, ID). */
static int
missing_parse(const struct vc_job *j, json_t *list, struct envelope_ref **out, size_t *n)
{
	size_t count = json_array_size(list);
	enum vsp_kind k;
	struct envelope_ref *m;

	if ((m = calloc(count ? count : 1, sizeof(*m))) == NULL) {
		vc_remote__set_error(409, "%s vault %s: %s: out of memory", j->r->url, j->r->vault,
		    j->what);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		json_t *e = json_array_get(list, i);
		const char *ks = json_string_value(json_object_get(e, "kind"));
		const char *id = json_string_value(json_object_get(e, "id"));

		if (ks == NULL || id == NULL || vsp_kind_parse(ks, strlen(ks), &k) != 0 ||
		    vsp_id_parse(id, strlen(id), m[i].id) != 0) {
			free(m);
			return bad_answer(j, "missing[%zu] is not {\"kind\", \"id\"}", i);
		}
		m[i].kind = (uint8_t)k;
	}
	*out = m;
	*n = count;
	return 0;
}

int
vc_remote_put_snapshot(struct vc_remote *r, const uint8_t id[VSP_ID_LEN],
    const uint8_t *buf, size_t len, struct envelope_ref **missing, size_t *nmissing)
{
	struct vc_job j;
	json_t *doc, *list;
	int rc;

	job_init(&j, VC_PUT, VC_JSON_MAX);
	object_job(r, &j, "PUT", VSP_KIND_SNAPSHOT, id);
	j.body = buf;
	j.body_len = len;
	if ((rc = run(r, &j)) != 0)
		goto out;
	if (j.status == 200 || j.status == 201)
		goto out;
	if (j.status != 409 || (doc = json_loadb((const char *)j.resp.p, j.resp.len, 0, NULL)) ==
	    NULL) {
		rc = fail_as(&j, -1);
		goto out;
	}
	if (!json_is_array(list = json_object_get(doc, "missing")))
		rc = fail_as(&j, -1);
	else if ((rc = missing_parse(&j, list, missing, nmissing)) == 0)
		rc = fail_as(&j, VC_R_MISSING);
	json_decref(doc);
out:
	vc_remote__job_clear(&j);
	return rc;
}
