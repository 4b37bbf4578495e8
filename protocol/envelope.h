#ifndef ENVELOPE_H
#define ENVELOPE_H
/*
 * The snapshot envelope (spec/envelope.md): a snapshot object is a small
 * cleartext header that the server parses without any key (client time,
 * group label, the pack and index IDs the snapshot needs) followed by the
 * client's encrypted body, which the server never reads.
 *
 * Layout, every integer little-endian:
 *
 *	magic "VAULTSNP" | version | flags le32 | client time le64 (signed)
 *	| group (32 bytes) | nrefs le32 | nrefs * (kind u8, ID 32 bytes)
 *	| body length le64 | body
 *
 * The encoding is canonical: a given set of field values has exactly one
 * valid byte string (references sorted ascending and unique, no trailing
 * bytes), so envelope_encode() of what envelope_parse() read gives back the
 * input byte for byte.
 */
#include <stddef.h>
#include <stdint.h>

#include "vsp.h"

/* Field lengths (spec/envelope.md, "Layout"). */
#define ENVELOPE_MAGIC "VAULTSNP"
#define ENVELOPE_MAGIC_LEN 8
#define ENVELOPE_VERSION_LEN 1
#define ENVELOPE_FLAGS_LEN 4
#define ENVELOPE_TIME_LEN 8
#define ENVELOPE_GROUP_LEN 32
#define ENVELOPE_NREFS_LEN 4
#define ENVELOPE_KIND_LEN 1
#define ENVELOPE_REF_LEN (ENVELOPE_KIND_LEN + VSP_ID_LEN)
#define ENVELOPE_BODY_LEN_LEN 8

/* Field offsets, each derived from the one before. */
#define ENVELOPE_MAGIC_OFF 0
#define ENVELOPE_VERSION_OFF (ENVELOPE_MAGIC_OFF + ENVELOPE_MAGIC_LEN)
#define ENVELOPE_FLAGS_OFF (ENVELOPE_VERSION_OFF + ENVELOPE_VERSION_LEN)
#define ENVELOPE_TIME_OFF (ENVELOPE_FLAGS_OFF + ENVELOPE_FLAGS_LEN)
#define ENVELOPE_GROUP_OFF (ENVELOPE_TIME_OFF + ENVELOPE_TIME_LEN)
#define ENVELOPE_NREFS_OFF (ENVELOPE_GROUP_OFF + ENVELOPE_GROUP_LEN)
#define ENVELOPE_REFS_OFF (ENVELOPE_NREFS_OFF + ENVELOPE_NREFS_LEN)
/* Within one reference entry. */
#define ENVELOPE_REF_KIND_OFF 0
#define ENVELOPE_REF_ID_OFF (ENVELOPE_REF_KIND_OFF + ENVELOPE_KIND_LEN)

/* The one version this code reads and writes. */
#define ENVELOPE_VERSION 1

/* Reference kinds. The values equal enum vsp_kind's, on purpose. */
#define ENVELOPE_KIND_PACK 0
#define ENVELOPE_KIND_INDEX 1

/*
 * Flags: the low 16 bits are informational (the server stores and ignores
 * them; none is assigned yet), the high 16 bits are critical (a reader that
 * does not know a set critical bit must refuse the envelope; none is
 * assigned in version 1, so any set one is ENVELOPE_BAD_FLAGS).
 */
#define ENVELOPE_FLAGS_CRITICAL UINT32_C(0xffff0000)

/* At most this many references in one envelope. */
#define ENVELOPE_REFS_MAX 1000000

/* The header (everything before the body) of an envelope with n references.
 * n must be <= ENVELOPE_REFS_MAX, so this cannot overflow. */
#define ENVELOPE_HEADER_LEN(n) \
	((size_t)ENVELOPE_REFS_OFF + (size_t)(n) * ENVELOPE_REF_LEN + ENVELOPE_BODY_LEN_LEN)
#define ENVELOPE_HEADER_MIN ENVELOPE_HEADER_LEN(0)
#define ENVELOPE_HEADER_MAX ENVELOPE_HEADER_LEN(ENVELOPE_REFS_MAX)

/* A whole envelope (header and body) is at most this many bytes, so that
 * its size fits an off_t and a Content-Length on every platform we build
 * on, and header length + body length never overflows. */
#define ENVELOPE_SIZE_MAX ((uint64_t)INT64_MAX)

struct envelope_ref {
	uint8_t kind;              /* ENVELOPE_KIND_PACK or ENVELOPE_KIND_INDEX */
	uint8_t id[VSP_ID_LEN];
};

/*
 * A parsed envelope: the one parsed form every reader of envelopes uses (the
 * upload handler, the metadata commit, GC, the client). The pointers point
 * into the parsed buffer and are valid as long as it is. The references are
 * read with envelope_ref_get(); refs_raw is their encoding, which only this
 * module interprets.
 */
struct envelope {
	int64_t client_time;       /* Unix seconds as the client claims them */
	uint8_t group[ENVELOPE_GROUP_LEN];
	uint32_t flags;
	size_t nrefs;
	const uint8_t *refs_raw;   /* nrefs encoded entries; use envelope_ref_get */
	const uint8_t *body;       /* NULL after envelope_parse_header() */
	size_t body_len;
};

/*
 * Parse results. When an input has several faults, the first field in byte
 * order that is complete and wrong decides; an input that ends before any
 * wrong field is complete is ENVELOPE_TRUNCATED (spec/envelope.md, "Errors").
 */
enum envelope_err {
	ENVELOPE_OK = 0,
	ENVELOPE_TRUNCATED,        /* the input ends inside the envelope */
	ENVELOPE_BAD_MAGIC,        /* the first 8 bytes are not "VAULTSNP" */
	ENVELOPE_BAD_VERSION,      /* a version other than 1 */
	ENVELOPE_BAD_FLAGS,        /* a critical flag bit is set */
	ENVELOPE_TOO_MANY_REFS,    /* nrefs > ENVELOPE_REFS_MAX */
	ENVELOPE_BAD_KIND,         /* a reference kind other than pack or index */
	ENVELOPE_UNSORTED,         /* a reference sorts before the one before it */
	ENVELOPE_DUPLICATE,        /* a reference equals the one before it */
	ENVELOPE_TOO_LARGE,        /* header + body length > ENVELOPE_SIZE_MAX or SIZE_MAX */
	ENVELOPE_TRAILING,         /* bytes after the body */
	ENVELOPE_ERR_COUNT
};

/*
 * Parses a whole envelope of len bytes into *out, without copying: out's
 * pointers point into buf. Never reads buf past len. Returns ENVELOPE_OK,
 * or the error of the first faulty field; *out is then unspecified.
 */
enum envelope_err envelope_parse(const uint8_t *buf, size_t len, struct envelope *out);

/*
 * Parses the header from buf, a prefix of len bytes of an envelope that is
 * still arriving. On ENVELOPE_OK, *out holds every field (out->body is NULL,
 * out->body_len is the declared body length) and *header_len the header's
 * length, i.e. the body's offset; the whole envelope is *header_len +
 * out->body_len bytes. On ENVELOPE_TRUNCATED, *header_len is how many bytes
 * the header needs: exact once the reference count has arrived, before that
 * the minimum ENVELOPE_HEADER_MIN; it is always > len. ENVELOPE_TRAILING
 * means buf already holds more than the header and body declare. Any other
 * error is final: no further byte can make the envelope valid.
 */
enum envelope_err envelope_parse_header(const uint8_t *buf, size_t len,
    struct envelope *out, size_t *header_len);

/* Copies reference i (< e->nrefs) of a parsed envelope into *out. */
void envelope_ref_get(const struct envelope *e, size_t i, struct envelope_ref *out);

/*
 * Copies every reference of a parsed envelope into a new array of e->nrefs
 * entries, which the caller frees with free(). Sets *out to NULL when the
 * envelope has no reference. Returns 0, or -1 with errno ENOMEM.
 */
int envelope_refs_copy(const struct envelope *e, struct envelope_ref **out);

/*
 * Orders two struct envelope_ref (a and b point to one each) as the
 * envelope orders them: by kind, then ID, i.e. as their encoded bytes
 * compare. Returns <0, 0 or >0; its signature suits qsort() and bsearch(),
 * so a caller sorts references for envelope_encode() with it.
 */
int envelope_ref_cmp(const void *a, const void *b);

/*
 * A streaming reader, for an envelope whose bytes arrive in pieces (an
 * upload, or a stored object read from its start). It keeps only the
 * header, parses it once, when its last byte has arrived, and counts the
 * body bytes without keeping them. Its verdict on everything fed equals
 * envelope_parse() of the same bytes, however they were cut into pieces.
 */
struct envelope_reader;

/* A new reader that has seen no byte, or NULL (errno ENOMEM). */
struct envelope_reader *envelope_reader_new(void);

/*
 * Takes the next len bytes of the envelope. Returns 0, or -1 with errno
 * ENOMEM when the header could not be kept (the reader then refuses every
 * later call with -1 and its verdicts are meaningless).
 */
int envelope_reader_feed(struct envelope_reader *r, const uint8_t *buf, size_t len);

/* How many more bytes the header needs: exact once ENVELOPE_HEADER_MIN
 * bytes have been fed, a lower bound before; 0 once the header is whole
 * (parsed, valid or not). A reader of a stored object feeds this many bytes
 * until it is 0 to get the header without reading the body. */
size_t envelope_reader_need(const struct envelope_reader *r);

/*
 * The header as far as it has arrived: ENVELOPE_OK with *out set to the
 * parsed form (out->body is NULL, out->body_len the declared body length;
 * valid until the reader is freed), ENVELOPE_TRUNCATED while bytes are
 * missing, or the final error of the first faulty field.
 */
enum envelope_err envelope_reader_header(const struct envelope_reader *r,
    const struct envelope **out);

/*
 * The verdict on the whole envelope, taking every byte fed as all there is:
 * what envelope_parse() would answer for those bytes (ENVELOPE_TRUNCATED or
 * ENVELOPE_TRAILING when the body is shorter or longer than declared). On
 * ENVELOPE_OK, *out is set as by envelope_reader_header().
 */
enum envelope_err envelope_reader_finish(const struct envelope_reader *r,
    const struct envelope **out);

/* Frees the reader and its header copy. NULL is ignored. */
void envelope_reader_free(struct envelope_reader *r);

/*
 * Encodes an envelope into a new buffer of exactly the envelope's size,
 * which the caller frees with free(). refs must be sorted ascending by
 * (kind, ID) without duplicates and have known kinds; flags must have no
 * critical bit set. body may be NULL when body_len is 0. Returns 0 with
 * *out and *out_len set, or -1 with errno EINVAL (refs unsorted, duplicate
 * or of an unknown kind, nrefs > ENVELOPE_REFS_MAX, a critical flag),
 * EOVERFLOW (the envelope would exceed ENVELOPE_SIZE_MAX or SIZE_MAX) or
 * ENOMEM.
 */
int envelope_encode(int64_t client_time, const uint8_t group[ENVELOPE_GROUP_LEN],
    uint32_t flags, const struct envelope_ref *refs, size_t nrefs,
    const uint8_t *body, size_t body_len, uint8_t **out, size_t *out_len);

/* A sentence describing e, e.g. "references are not sorted"; never NULL. */
const char *envelope_strerror(enum envelope_err e);

/* A stable lowercase code for e, e.g. "unsorted" (the spelling used in
 * spec/vectors/envelope.json); "?" when out of range. */
const char *envelope_err_code(enum envelope_err e);

#endif
