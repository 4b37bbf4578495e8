/*
 * The snapshot envelope: parser and encoder (spec/envelope.md).
 *
 * The parser checks each field as soon as all of its bytes are present, in
 * byte order, so that a server streaming an upload can refuse a bad header
 * after its first faulty field, and so that the error for a given input does
 * not depend on how the input was cut into reads.
 */
#include "envelope.h"
#include "le.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Two's complement without implementation-defined conversions. */
static int64_t
u64_to_i64(uint64_t v)
{
	if (v <= (uint64_t)INT64_MAX)
		return (int64_t)v;
	return (int64_t)(v - (uint64_t)INT64_MAX - 1) + INT64_MIN;
}

static uint64_t
i64_to_u64(int64_t v)
{
	if (v >= 0)
		return (uint64_t)v;
	return (uint64_t)(v - INT64_MIN) + (uint64_t)INT64_MAX + 1;
}

static int
kind_known(uint8_t kind)
{
	return kind == ENVELOPE_KIND_PACK || kind == ENVELOPE_KIND_INDEX;
}

/*
 * Checks reference entry cur against the one before it (prev, NULL for the
 * first). Entries compare as their encoded bytes, i.e. by kind, then ID.
 */
static enum envelope_err
check_ref(const uint8_t *prev, const uint8_t *cur)
{
	int c;

	if (!kind_known(cur[ENVELOPE_REF_KIND_OFF]))
		return ENVELOPE_BAD_KIND;
	if (prev == NULL)
		return ENVELOPE_OK;
	c = memcmp(prev, cur, ENVELOPE_REF_LEN);
	if (c > 0)
		return ENVELOPE_UNSORTED;
	if (c == 0)
		return ENVELOPE_DUPLICATE;
	return ENVELOPE_OK;
}

enum envelope_err
envelope_parse_header(const uint8_t *buf, size_t len, struct envelope *out,
    size_t *header_len)
{
	enum envelope_err err;
	size_t nrefs, refs_avail, refs_len, hlen;
	uint64_t body_len;

	*header_len = ENVELOPE_HEADER_MIN;

	/* Fixed fields, each once it is complete. */
	if (len < ENVELOPE_MAGIC_OFF + ENVELOPE_MAGIC_LEN)
		return ENVELOPE_TRUNCATED;
	if (memcmp(buf + ENVELOPE_MAGIC_OFF, ENVELOPE_MAGIC, ENVELOPE_MAGIC_LEN) != 0)
		return ENVELOPE_BAD_MAGIC;
	if (len < ENVELOPE_VERSION_OFF + ENVELOPE_VERSION_LEN)
		return ENVELOPE_TRUNCATED;
	if (buf[ENVELOPE_VERSION_OFF] != ENVELOPE_VERSION)
		return ENVELOPE_BAD_VERSION;
	if (len < ENVELOPE_FLAGS_OFF + ENVELOPE_FLAGS_LEN)
		return ENVELOPE_TRUNCATED;
	out->flags = le32_get(buf + ENVELOPE_FLAGS_OFF);
	if (out->flags & ENVELOPE_FLAGS_CRITICAL)
		return ENVELOPE_BAD_FLAGS;
	if (len < ENVELOPE_NREFS_OFF + ENVELOPE_NREFS_LEN)
		return ENVELOPE_TRUNCATED;
	out->client_time = u64_to_i64(le64_get(buf + ENVELOPE_TIME_OFF));
	memcpy(out->group, buf + ENVELOPE_GROUP_OFF, ENVELOPE_GROUP_LEN);
	if (le32_get(buf + ENVELOPE_NREFS_OFF) > ENVELOPE_REFS_MAX)
		return ENVELOPE_TOO_MANY_REFS;
	nrefs = le32_get(buf + ENVELOPE_NREFS_OFF);
	hlen = ENVELOPE_HEADER_LEN(nrefs);
	*header_len = hlen;

	/* The references: every complete entry present is checked, so that an
	 * error in an early entry is found before the rest arrives. */
	refs_len = nrefs * ENVELOPE_REF_LEN;
	refs_avail = len - ENVELOPE_REFS_OFF;
	if (refs_avail > refs_len)
		refs_avail = refs_len;
	for (size_t i = 0; i < refs_avail / ENVELOPE_REF_LEN; i++) {
		const uint8_t *cur = buf + ENVELOPE_REFS_OFF + i * ENVELOPE_REF_LEN;
		err = check_ref(i == 0 ? NULL : cur - ENVELOPE_REF_LEN, cur);
		if (err != ENVELOPE_OK)
			return err;
	}
	if (len < hlen)
		return ENVELOPE_TRUNCATED;

	/* The body length: header and body must fit both the format's bound
	 * and this machine's address space. */
	body_len = le64_get(buf + hlen - ENVELOPE_BODY_LEN_LEN);
	if (body_len > ENVELOPE_SIZE_MAX - hlen || body_len > SIZE_MAX - hlen)
		return ENVELOPE_TOO_LARGE;
	if (len - hlen > body_len)
		return ENVELOPE_TRAILING;

	out->nrefs = nrefs;
	out->refs_raw = buf + ENVELOPE_REFS_OFF;
	out->body = NULL;
	out->body_len = (size_t)body_len;
	return ENVELOPE_OK;
}

enum envelope_err
envelope_parse(const uint8_t *buf, size_t len, struct envelope *out)
{
	enum envelope_err err;
	size_t hlen;

	if ((err = envelope_parse_header(buf, len, out, &hlen)) != ENVELOPE_OK)
		return err;
	/* parse_header refused more bytes than declared; fewer is truncation. */
	if (len - hlen < out->body_len)
		return ENVELOPE_TRUNCATED;
	out->body = buf + hlen;
	return ENVELOPE_OK;
}

void
envelope_ref_get(const struct envelope *e, size_t i, struct envelope_ref *out)
{
	const uint8_t *p = e->refs_raw + i * ENVELOPE_REF_LEN;

	out->kind = p[ENVELOPE_REF_KIND_OFF];
	memcpy(out->id, p + ENVELOPE_REF_ID_OFF, VSP_ID_LEN);
}

int
envelope_refs_copy(const struct envelope *e, struct envelope_ref **out)
{
	struct envelope_ref *refs;

	*out = NULL;
	if (e->nrefs == 0)
		return 0;
	if ((refs = calloc(e->nrefs, sizeof(*refs))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < e->nrefs; i++)
		envelope_ref_get(e, i, &refs[i]);
	*out = refs;
	return 0;
}

int
envelope_ref_cmp(const void *a, const void *b)
{
	const struct envelope_ref *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return memcmp(x->id, y->id, VSP_ID_LEN);
}

/* ---- the streaming reader ---------------------------------------------- */

struct envelope_reader {
	uint8_t *head;            /* the header's bytes so far */
	size_t head_len;
	size_t head_need;         /* the header's length, as far as known */
	size_t head_cap;
	uint64_t total;           /* every byte fed, header and body */
	enum envelope_err err;    /* ENVELOPE_TRUNCATED until the header is parsed */
	int broken;               /* an allocation failed */
	struct envelope env;      /* the parsed header once err is ENVELOPE_OK */
};

struct envelope_reader *
envelope_reader_new(void)
{
	struct envelope_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	r->err = ENVELOPE_TRUNCATED;
	r->head_need = ENVELOPE_HEADER_MIN;
	return r;
}

int
envelope_reader_feed(struct envelope_reader *r, const uint8_t *buf, size_t len)
{
	size_t hlen;

	if (r->broken) {
		errno = ENOMEM;
		return -1;
	}
	r->total = (uint64_t)len > UINT64_MAX - r->total ? UINT64_MAX : r->total + len;
	/* The header is parsed only when as many bytes as it needs have come:
	 * first the minimum, which tells the reference count, then the exact
	 * length. Parsing on every piece would cost time quadratic in the
	 * header's length; envelope_reader_finish finds a fault in a header
	 * that never completed. */
	while (r->err == ENVELOPE_TRUNCATED && len > 0) {
		size_t want = r->head_need - r->head_len, n = len < want ? len : want;

		if (r->head_cap < r->head_need) {
			uint8_t *grown = realloc(r->head, r->head_need);
			if (grown == NULL) {
				r->broken = 1;
				errno = ENOMEM;
				return -1;
			}
			r->head = grown;
			r->head_cap = r->head_need;
		}
		memcpy(r->head + r->head_len, buf, n);
		r->head_len += n;
		buf += n;
		len -= n;
		if (r->head_len < r->head_need)
			break;
		/* An exact header cannot be ENVELOPE_TRAILING. */
		r->err = envelope_parse_header(r->head, r->head_len, &r->env, &hlen);
		if (r->err == ENVELOPE_TRUNCATED)
			r->head_need = hlen;
	}
	return 0;
}

size_t
envelope_reader_need(const struct envelope_reader *r)
{
	return r->err == ENVELOPE_TRUNCATED ? r->head_need - r->head_len : 0;
}

enum envelope_err
envelope_reader_header(const struct envelope_reader *r, const struct envelope **out)
{
	struct envelope partial;
	size_t hlen;

	if (r->err == ENVELOPE_OK)
		*out = &r->env;
	if (r->err != ENVELOPE_TRUNCATED)
		return r->err;
	/* A header still arriving: its first faulty field, if it has one. */
	return envelope_parse_header(r->head, r->head_len, &partial, &hlen);
}

enum envelope_err
envelope_reader_finish(const struct envelope_reader *r, const struct envelope **out)
{
	const struct envelope *e = NULL;
	enum envelope_err err;
	uint64_t body;

	if ((err = envelope_reader_header(r, &e)) != ENVELOPE_OK)
		return err;
	body = r->total - r->head_len;
	if (body > (uint64_t)e->body_len)
		return ENVELOPE_TRAILING;
	if (body < (uint64_t)e->body_len)
		return ENVELOPE_TRUNCATED;
	*out = e;
	return ENVELOPE_OK;
}

void
envelope_reader_free(struct envelope_reader *r)
{
	if (r == NULL)
		return;
	free(r->head);
	free(r);
}

/* ---- the encoder ----------------------------------------------------------- */

int
envelope_encode(int64_t client_time, const uint8_t group[ENVELOPE_GROUP_LEN],
    uint32_t flags, const struct envelope_ref *refs, size_t nrefs,
    const uint8_t *body, size_t body_len, uint8_t **out, size_t *out_len)
{
	uint8_t *buf, *p;
	size_t hlen, total;

	if ((flags & ENVELOPE_FLAGS_CRITICAL) || nrefs > ENVELOPE_REFS_MAX ||
	    (body == NULL && body_len > 0))
		goto einval;
	for (size_t i = 0; i < nrefs; i++) {
		if (!kind_known(refs[i].kind))
			goto einval;
		if (i > 0 && envelope_ref_cmp(&refs[i - 1], &refs[i]) >= 0)
			goto einval;
	}
	hlen = ENVELOPE_HEADER_LEN(nrefs);
	if (body_len > SIZE_MAX - hlen || (uint64_t)body_len > ENVELOPE_SIZE_MAX - hlen) {
		errno = EOVERFLOW;
		return -1;
	}
	total = hlen + body_len;
	if ((buf = malloc(total > 0 ? total : 1)) == NULL) {
		errno = ENOMEM;
		return -1;
	}

	memcpy(buf + ENVELOPE_MAGIC_OFF, ENVELOPE_MAGIC, ENVELOPE_MAGIC_LEN);
	buf[ENVELOPE_VERSION_OFF] = ENVELOPE_VERSION;
	le32_put(buf + ENVELOPE_FLAGS_OFF, flags);
	le64_put(buf + ENVELOPE_TIME_OFF, i64_to_u64(client_time));
	memcpy(buf + ENVELOPE_GROUP_OFF, group, ENVELOPE_GROUP_LEN);
	le32_put(buf + ENVELOPE_NREFS_OFF, (uint32_t)nrefs);
	p = buf + ENVELOPE_REFS_OFF;
	for (size_t i = 0; i < nrefs; i++, p += ENVELOPE_REF_LEN) {
		p[ENVELOPE_REF_KIND_OFF] = refs[i].kind;
		memcpy(p + ENVELOPE_REF_ID_OFF, refs[i].id, VSP_ID_LEN);
	}
	le64_put(p, (uint64_t)body_len);
	p += ENVELOPE_BODY_LEN_LEN;
	if (body_len > 0)
		memcpy(p, body, body_len);

	*out = buf;
	*out_len = total;
	return 0;

einval:
	errno = EINVAL;
	return -1;
}

static const struct {
	const char *code;
	const char *text;
} errors[ENVELOPE_ERR_COUNT] = {
	[ENVELOPE_OK] = {"ok", "the envelope is valid"},
	[ENVELOPE_TRUNCATED] = {"truncated", "the envelope is truncated"},
	[ENVELOPE_BAD_MAGIC] = {"bad_magic", "the envelope does not begin with VAULTSNP"},
	[ENVELOPE_BAD_VERSION] = {"bad_version", "unknown envelope version"},
	[ENVELOPE_BAD_FLAGS] = {"bad_flags", "an unknown critical flag is set"},
	[ENVELOPE_TOO_MANY_REFS] = {"too_many_refs", "too many references"},
	[ENVELOPE_BAD_KIND] = {"bad_kind", "a reference has an unknown kind"},
	[ENVELOPE_UNSORTED] = {"unsorted", "references are not sorted"},
	[ENVELOPE_DUPLICATE] = {"duplicate", "a reference is listed twice"},
	[ENVELOPE_TOO_LARGE] = {"too_large", "the declared body length is too large"},
	[ENVELOPE_TRAILING] = {"trailing", "bytes follow the body"},
};

const char *
envelope_strerror(enum envelope_err e)
{
	if ((unsigned)e >= ENVELOPE_ERR_COUNT)
		return "unknown envelope error";
	return errors[e].text;
}

const char *
envelope_err_code(enum envelope_err e)
{
	if ((unsigned)e >= ENVELOPE_ERR_COUNT)
		return "?";
	return errors[e].code;
}
