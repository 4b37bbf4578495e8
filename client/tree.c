/*
 * The tree stream: node records in depth-first pre-order (spec/tree.md).
 * vc_tree_append writes one record; the reader decodes records from pieces
 * of any size and checks every rule of the spec, keeping only the previous
 * sibling's name of each open directory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

/* Field lengths of a record (spec/tree.md 2), in order. */
#define TYPE_LEN 1
#define NAMELEN_LEN 2
#define MODE_LEN 4
#define ID_LEN 4                  /* uid, gid */
#define SEC_LEN 8
#define NSEC_LEN 4
#define INODE_LEN 8
#define DEV_LEN 8
#define SIZE_LEN 8
#define LINK_GROUP_LEN 8
#define NCHUNKS_LEN 4
#define CHUNK_LEN_LEN 4
#define CHUNK_ENTRY_LEN (VC_ID_LEN + CHUNK_LEN_LEN)   /* 36 */
#define TARGETLEN_LEN 2
#define RDEV_LEN 8
#define OWNERLEN_LEN 1            /* v2: user and group name lengths */
#define NXATTRS_LEN 2
#define XNAMELEN_LEN 1
#define XVALUELEN_LEN 4

/* The fields every record but END has, after the name. */
#define COMMON_TAIL_LEN (MODE_LEN + 2 * ID_LEN + 2 * (SEC_LEN + NSEC_LEN) + INODE_LEN + \
	DEV_LEN + SIZE_LEN)                              /* 60 */
/* A record with an empty name and no type-specific part. */
#define COMMON_LEN (TYPE_LEN + NAMELEN_LEN + COMMON_TAIL_LEN)  /* 63 */
#define FILE_FIXED_LEN (LINK_GROUP_LEN + NCHUNKS_LEN)

/* A name below the top level is one component (NAME_MAX on Linux). */
#define COMPONENT_MAX 255
#define NSEC_PER_SEC 1000000000U
#define MODE_MASK 07777U

_Static_assert(COMMON_LEN == 63, "record header in spec/tree.md");
_Static_assert(CHUNK_ENTRY_LEN == 36, "chunk entry in spec/tree.md");
_Static_assert(VC_TREE_NAME_MAX <= UINT16_MAX && VC_TREE_TARGET_MAX <= UINT16_MAX,
    "lengths fit their le16 fields");
/* The reader's name stack: the top-level name plus one component per
 * open directory; its offsets are uint32_t. */
_Static_assert(VC_TREE_NAME_MAX + (uint64_t)VC_TREE_DEPTH_MAX * COMPONENT_MAX < UINT32_MAX,
    "name stack offsets fit uint32_t");

struct vc_tree_reader {
	unsigned depth;            /* directories open */
	/*
	 * The previous sibling's name of each level 0..depth, stacked: level
	 * 0's first, then level 1's, ... Level k starts at start[k - 1] (level
	 * 0 at 0) and ends where level k + 1 starts (the top level at
	 * names_len); an empty name means no sibling yet. Both arrays are
	 * allocated when first needed, so a flat stream costs one small buffer.
	 */
	uint8_t *names;
	size_t names_len, names_cap;
	uint32_t *start;
	size_t start_cap;
	struct vc_chunk_ref *chunks; /* the last FILE record's chunks */
	size_t chunks_cap;
	unsigned version;          /* tree version read */
	struct vc_xattr *xattrs;   /* the last record's xattrs (v2) */
	size_t xattrs_cap;
};

/* Little-endian stores and loads. */
static void
put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int
is_dot(const uint8_t *s, size_t n)
{
	return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* Whether s (n bytes) is a valid name: at the top level a relative path of
 * non-empty components other than "." and "..", below it one such
 * component of at most COMPONENT_MAX bytes; never a NUL. */
static int
name_ok(const uint8_t *s, size_t n, int top)
{
	const uint8_t *p = s, *end = s + n, *slash;

	if (n == 0 || n > (top ? VC_TREE_NAME_MAX : COMPONENT_MAX) || memchr(s, 0, n) != NULL)
		return 0;
	for (;;) {
		slash = memchr(p, '/', (size_t)(end - p));
		if (slash != NULL && !top)
			return 0;
		if (slash == NULL)
			slash = end;
		if (slash == p || is_dot(p, (size_t)(slash - p)))
			return 0;
		if (slash == end)
			return 1;
		p = slash + 1;
	}
}

/* Whether b (n bytes) sorts strictly after a (an bytes), memcmp order. */
static int
bytes_after(const void *a, size_t an, const void *b, size_t n)
{
	int c = memcmp(a, b, an < n ? an : n);

	return c < 0 || (c == 0 && an < n);
}

/* The extension part's rules (spec/tree.md 3, "Version 2"). */
static int
ext_ok(const struct vc_node *n)
{
	size_t total = 0;

	if (n->user_len > VC_TREE_OWNER_MAX || n->group_len > VC_TREE_OWNER_MAX ||
	    n->nxattrs > UINT16_MAX ||
	    (n->user_len > 0 && memchr(n->user, 0, n->user_len) != NULL) ||
	    (n->group_len > 0 && memchr(n->group, 0, n->group_len) != NULL))
		return 0;
	for (size_t i = 0; i < n->nxattrs; i++) {
		const struct vc_xattr *x = &n->xattrs[i];

		if (x->name_len == 0 || x->name_len > VC_TREE_XATTR_NAME_MAX ||
		    memchr(x->name, 0, x->name_len) != NULL ||
		    x->value_len > VC_TREE_XATTR_VALUE_MAX)
			return 0;
		total += x->name_len + x->value_len;
		if (total > VC_TREE_XATTR_BYTES_MAX)
			return 0;
		if (i > 0 && !bytes_after(n->xattrs[i - 1].name, n->xattrs[i - 1].name_len,
		    x->name, x->name_len))
			return 0;
	}
	return 1;
}

/* Every rule of spec/tree.md 3 that one record can break by itself. top
 * selects the top-level name rule; version 2 adds the extension part's. */
static int
node_ok(const struct vc_node *n, int top, unsigned version)
{
	uint64_t sum = 0;

	if (n->type < VC_NODE_FILE || n->type > VC_NODE_SOCK)
		return 0;
	if (version >= 2 && !ext_ok(n))
		return 0;
	if (!name_ok((const uint8_t *)n->name, n->name_len, top))
		return 0;
	if (n->mode > MODE_MASK || n->mtime_nsec >= NSEC_PER_SEC ||
	    n->ctime_nsec >= NSEC_PER_SEC)
		return 0;
	switch (n->type) {
	case VC_NODE_FILE:
		if (n->nchunks > VC_TREE_CHUNKS_MAX)
			return 0;
		/* At most 2^24 lengths of at most 2^24: the sum fits. */
		for (size_t i = 0; i < n->nchunks; i++) {
			if (n->chunks[i].len == 0 || n->chunks[i].len > VC_CHUNK_MAX)
				return 0;
			sum += n->chunks[i].len;
		}
		return sum == n->size;
	case VC_NODE_HARDLINK:
		/* size is the linked FILE's, which only the restorer knows. */
		return n->link_group != 0;
	case VC_NODE_SYMLINK:
		if (n->target_len == 0 || n->target_len > VC_TREE_TARGET_MAX ||
		    memchr(n->target, 0, n->target_len) != NULL)
			return 0;
		return n->size == 0;
	default:
		return n->size == 0;
	}
}

/* The bytes of n's extension part (v2); n has passed node_ok. */
static size_t
ext_len(const struct vc_node *n)
{
	size_t len = 2 * OWNERLEN_LEN + n->user_len + n->group_len + NXATTRS_LEN;

	for (size_t i = 0; i < n->nxattrs; i++)
		len += XNAMELEN_LEN + n->xattrs[i].name_len + XVALUELEN_LEN +
		    n->xattrs[i].value_len;
	return len;
}

/* The bytes of n's record; n has passed node_ok. */
static size_t
record_len(const struct vc_node *n, unsigned version)
{
	size_t len = COMMON_LEN + n->name_len + (version >= 2 ? ext_len(n) : 0);

	switch (n->type) {
	case VC_NODE_FILE:
		return len + FILE_FIXED_LEN + n->nchunks * CHUNK_ENTRY_LEN;
	case VC_NODE_HARDLINK:
		return len + LINK_GROUP_LEN;
	case VC_NODE_SYMLINK:
		return len + TARGETLEN_LEN + n->target_len;
	case VC_NODE_CHR:
	case VC_NODE_BLK:
		return len + RDEV_LEN;
	default:
		return len;
	}
}

/* Makes room for need more bytes in the growable buffer. */
static int
reserve(uint8_t **buf, size_t len, size_t *cap, size_t need)
{
	size_t ncap;
	uint8_t *p;

	if (*cap - len >= need)
		return 0;
	if (SIZE_MAX - len < need)
		return VC_E_NOMEM;
	ncap = *cap < 256 ? 256 : *cap;
	while (ncap - len < need)
		ncap = ncap > SIZE_MAX / 2 ? len + need : ncap * 2;
	if ((p = realloc(*buf, ncap)) == NULL)
		return VC_E_NOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

/* Writes field v of n bytes at *p and moves *p past it. */
static void
emit(uint8_t **p, uint64_t v, size_t n)
{
	put_le(*p, v, n);
	*p += n;
}

static void
emit_bytes(uint8_t **p, const void *s, size_t n)
{
	if (n > 0)
		memcpy(*p, s, n);
	*p += n;
}

/* Writes n's extension part (v2) at *p. */
static void
emit_ext(uint8_t **p, const struct vc_node *n)
{
	emit(p, n->user_len, OWNERLEN_LEN);
	emit_bytes(p, n->user, n->user_len);
	emit(p, n->group_len, OWNERLEN_LEN);
	emit_bytes(p, n->group, n->group_len);
	emit(p, n->nxattrs, NXATTRS_LEN);
	for (size_t i = 0; i < n->nxattrs; i++) {
		emit(p, n->xattrs[i].name_len, XNAMELEN_LEN);
		emit_bytes(p, n->xattrs[i].name, n->xattrs[i].name_len);
		emit(p, n->xattrs[i].value_len, XVALUELEN_LEN);
		emit_bytes(p, n->xattrs[i].value, n->xattrs[i].value_len);
	}
}

int
vc_tree_append(uint8_t **buf, size_t *len, size_t *cap, const struct vc_node *n)
{
	return vc_tree_append_v(buf, len, cap, n, VC_TREE_VERSION);
}

int
vc_tree_append_v(uint8_t **buf, size_t *len, size_t *cap, const struct vc_node *n,
    unsigned version)
{
	size_t rlen;
	uint8_t *p;

	if (version < VC_TREE_VERSION_MIN || version > VC_TREE_VERSION)
		return VC_E_UNSUPPORTED;
	if (n->type == VC_NODE_END) {
		if (reserve(buf, *len, cap, TYPE_LEN) != 0)
			return VC_E_NOMEM;
		(*buf)[(*len)++] = VC_NODE_END;
		return VC_OK;
	}
	/* The writer does not know the depth, so it applies the top-level
	 * name rule, which every valid deeper name also passes. */
	if (!node_ok(n, 1, version))
		return VC_E_CORRUPT;
	rlen = record_len(n, version);
	if (reserve(buf, *len, cap, rlen) != 0)
		return VC_E_NOMEM;
	p = *buf + *len;
	emit(&p, n->type, TYPE_LEN);
	emit(&p, n->name_len, NAMELEN_LEN);
	emit_bytes(&p, n->name, n->name_len);
	emit(&p, n->mode, MODE_LEN);
	emit(&p, n->uid, ID_LEN);
	emit(&p, n->gid, ID_LEN);
	emit(&p, (uint64_t)n->mtime_sec, SEC_LEN);
	emit(&p, n->mtime_nsec, NSEC_LEN);
	emit(&p, (uint64_t)n->ctime_sec, SEC_LEN);
	emit(&p, n->ctime_nsec, NSEC_LEN);
	emit(&p, n->inode, INODE_LEN);
	emit(&p, n->dev, DEV_LEN);
	emit(&p, n->size, SIZE_LEN);
	switch (n->type) {
	case VC_NODE_FILE:
		emit(&p, n->link_group, LINK_GROUP_LEN);
		emit(&p, n->nchunks, NCHUNKS_LEN);
		for (size_t i = 0; i < n->nchunks; i++) {
			emit_bytes(&p, n->chunks[i].id, VC_ID_LEN);
			emit(&p, n->chunks[i].len, CHUNK_LEN_LEN);
		}
		break;
	case VC_NODE_HARDLINK:
		emit(&p, n->link_group, LINK_GROUP_LEN);
		break;
	case VC_NODE_SYMLINK:
		emit(&p, n->target_len, TARGETLEN_LEN);
		emit_bytes(&p, n->target, n->target_len);
		break;
	case VC_NODE_CHR:
	case VC_NODE_BLK:
		emit(&p, n->rdev, RDEV_LEN);
		break;
	}
	if (version >= 2)
		emit_ext(&p, n);
	*len += rlen;
	return VC_OK;
}

struct vc_tree_reader *
vc_tree_reader_new(void)
{
	return vc_tree_reader_new_v(VC_TREE_VERSION);
}

struct vc_tree_reader *
vc_tree_reader_new_v(unsigned version)
{
	struct vc_tree_reader *r;

	if (version < VC_TREE_VERSION_MIN || version > VC_TREE_VERSION)
		return NULL;
	if ((r = malloc(sizeof(*r))) != NULL) {
		memset(r, 0, sizeof(*r));
		r->version = version;
	}
	return r;
}

void
vc_tree_reader_free(struct vc_tree_reader *r)
{
	if (r == NULL)
		return;
	free(r->names);
	free(r->start);
	free(r->chunks);
	free(r->xattrs);
	free(r);
}

int
vc_tree_done(const struct vc_tree_reader *r)
{
	return r->depth == 0 ? VC_OK : VC_E_CORRUPT;
}

/* Where level k's previous sibling name starts in r->names. */
static size_t
level_start(const struct vc_tree_reader *r, unsigned k)
{
	return k == 0 ? 0 : r->start[k - 1];
}

/* Whether name (n bytes) sorts strictly after the previous sibling at the
 * current level (memcmp order, a prefix first). */
static int
after_prev(const struct vc_tree_reader *r, const uint8_t *name, size_t n)
{
	size_t off = level_start(r, r->depth), plen = r->names_len - off;

	return plen == 0 || bytes_after(&r->names[off], plen, name, n);
}

/* A cursor over the bytes given to one vc_tree_next call. */
struct cursor {
	const uint8_t *p;
	size_t left;
};

/* The next n bytes, or VC_TREE_MORE if they have not all arrived. */
static int
take(struct cursor *c, size_t n, const uint8_t **out)
{
	if (c->left < n)
		return VC_TREE_MORE;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

static int
take_le(struct cursor *c, size_t n, uint64_t *v)
{
	const uint8_t *p;

	if (take(c, n, &p) != 0)
		return VC_TREE_MORE;
	*v = get_le(p, n);
	return 0;
}

#define TRY(x) do { int rc_ = (x); if (rc_ != 0) return rc_; } while (0)

/* The fields after the name that every record but END has. */
static int
parse_common(struct cursor *c, struct vc_node *n)
{
	uint64_t v;

	TRY(take_le(c, MODE_LEN, &v));
	n->mode = (uint32_t)v;
	TRY(take_le(c, ID_LEN, &v));
	n->uid = (uint32_t)v;
	TRY(take_le(c, ID_LEN, &v));
	n->gid = (uint32_t)v;
	TRY(take_le(c, SEC_LEN, &v));
	n->mtime_sec = (int64_t)v;
	TRY(take_le(c, NSEC_LEN, &v));
	n->mtime_nsec = (uint32_t)v;
	TRY(take_le(c, SEC_LEN, &v));
	n->ctime_sec = (int64_t)v;
	TRY(take_le(c, NSEC_LEN, &v));
	n->ctime_nsec = (uint32_t)v;
	TRY(take_le(c, INODE_LEN, &n->inode));
	TRY(take_le(c, DEV_LEN, &n->dev));
	TRY(take_le(c, SIZE_LEN, &n->size));
	return 0;
}

/* A FILE record's link group and chunk list. The count is checked before
 * the list is waited for, and the list is decoded into r->chunks only once
 * all of it is there. */
static int
parse_file(struct vc_tree_reader *r, struct cursor *c, struct vc_node *n)
{
	const uint8_t *p;
	uint64_t v;

	TRY(take_le(c, LINK_GROUP_LEN, &n->link_group));
	TRY(take_le(c, NCHUNKS_LEN, &v));
	if (v > VC_TREE_CHUNKS_MAX)
		return VC_E_CORRUPT;
	n->nchunks = (size_t)v;
	TRY(take(c, n->nchunks * CHUNK_ENTRY_LEN, &p));
	if (n->nchunks > r->chunks_cap) {
		struct vc_chunk_ref *a = realloc(r->chunks, n->nchunks * sizeof(*a));
		if (a == NULL)
			return VC_E_NOMEM;
		r->chunks = a;
		r->chunks_cap = n->nchunks;
	}
	for (size_t i = 0; i < n->nchunks; i++, p += CHUNK_ENTRY_LEN) {
		memcpy(r->chunks[i].id, p, VC_ID_LEN);
		r->chunks[i].len = (uint32_t)get_le(p + VC_ID_LEN, CHUNK_LEN_LEN);
	}
	n->chunks = r->chunks;
	return 0;
}

/* The part of a record after the common fields. */
static int
parse_tail(struct vc_tree_reader *r, struct cursor *c, struct vc_node *n)
{
	const uint8_t *p;
	uint64_t v;

	switch (n->type) {
	case VC_NODE_FILE:
		return parse_file(r, c, n);
	case VC_NODE_HARDLINK:
		return take_le(c, LINK_GROUP_LEN, &n->link_group);
	case VC_NODE_SYMLINK:
		TRY(take_le(c, TARGETLEN_LEN, &v));
		if (v == 0 || v > VC_TREE_TARGET_MAX)
			return VC_E_CORRUPT;
		TRY(take(c, (size_t)v, &p));
		n->target = (const char *)p;
		n->target_len = (size_t)v;
		return 0;
	case VC_NODE_CHR:
	case VC_NODE_BLK:
		return take_le(c, RDEV_LEN, &n->rdev);
	default:
		return 0;
	}
}

/* An owner name of the extension part: its length, then its bytes. */
static int
parse_owner(struct cursor *c, const char **s, size_t *len)
{
	const uint8_t *p;
	uint64_t v;

	TRY(take_le(c, OWNERLEN_LEN, &v));
	TRY(take(c, (size_t)v, &p));
	*s = (const char *)p;
	*len = (size_t)v;
	return 0;
}

/* Grows r->xattrs to hold n entries. */
static int
xattrs_reserve(struct vc_tree_reader *r, size_t n)
{
	struct vc_xattr *a;
	size_t ncap;

	if (n <= r->xattrs_cap)
		return 0;
	ncap = r->xattrs_cap < 8 ? 8 : r->xattrs_cap * 2;
	if ((a = realloc(r->xattrs, ncap * sizeof(*a))) == NULL)
		return VC_E_NOMEM;
	r->xattrs = a;
	r->xattrs_cap = ncap;
	return 0;
}

/* The extension part (v2). Each entry's lengths, and their running sum,
 * are checked as they arrive; the sort order with the rest of the record. */
static int
parse_ext(struct vc_tree_reader *r, struct cursor *c, struct vc_node *n)
{
	size_t total = 0;
	uint64_t count, v;
	const uint8_t *p;

	TRY(parse_owner(c, &n->user, &n->user_len));
	TRY(parse_owner(c, &n->group, &n->group_len));
	TRY(take_le(c, NXATTRS_LEN, &count));
	for (size_t i = 0; i < count; i++) {
		struct vc_xattr x;

		TRY(take_le(c, XNAMELEN_LEN, &v));
		if (v == 0)
			return VC_E_CORRUPT;
		TRY(take(c, (size_t)v, &p));
		x.name = (const char *)p;
		x.name_len = (size_t)v;
		TRY(take_le(c, XVALUELEN_LEN, &v));
		if (v > VC_TREE_XATTR_VALUE_MAX)
			return VC_E_CORRUPT;
		total += x.name_len + (size_t)v;
		if (total > VC_TREE_XATTR_BYTES_MAX)
			return VC_E_CORRUPT;
		TRY(take(c, (size_t)v, &x.value));
		x.value_len = (size_t)v;
		TRY(xattrs_reserve(r, i + 1));
		r->xattrs[i] = x;
	}
	n->xattrs = r->xattrs;
	n->nxattrs = (size_t)count;
	return 0;
}

/*
 * Parses one record without changing r's position in the tree. The fields
 * that decide the record's length (type, name length, chunk count, target
 * length) are checked as they arrive, so that no reader waits for bytes of
 * a record that cannot be valid; the rest once the record is complete.
 */
static int
parse_record(struct vc_tree_reader *r, struct cursor *c, struct vc_node *n)
{
	int top = r->depth == 0;
	const uint8_t *p;
	uint64_t v;

	memset(n, 0, sizeof(*n));
	TRY(take(c, TYPE_LEN, &p));
	n->type = p[0];
	if (n->type == VC_NODE_END)
		return r->depth == 0 ? VC_E_CORRUPT : 0;
	if (n->type > VC_NODE_SOCK)
		return VC_E_CORRUPT;
	if (n->type == VC_NODE_DIR && r->depth >= VC_TREE_DEPTH_MAX)
		return VC_E_CORRUPT;
	TRY(take_le(c, NAMELEN_LEN, &v));
	if (v == 0 || v > (top ? VC_TREE_NAME_MAX : COMPONENT_MAX))
		return VC_E_CORRUPT;
	TRY(take(c, (size_t)v, &p));
	n->name = (const char *)p;
	n->name_len = (size_t)v;
	TRY(parse_common(c, n));
	TRY(parse_tail(r, c, n));
	if (r->version >= 2)
		TRY(parse_ext(r, c, n));
	if (!node_ok(n, top, r->version) || !after_prev(r, p, n->name_len))
		return VC_E_CORRUPT;
	return 0;
}

/* Moves r past the record n: its name becomes the previous sibling at its
 * level, a DIR opens a level, an END closes one. Allocates before it
 * changes anything, so that on failure r is as it was. */
static int
advance(struct vc_tree_reader *r, const struct vc_node *n)
{
	size_t off;

	if (n->type == VC_NODE_END) {
		r->names_len = level_start(r, r->depth);
		r->depth--;
		return 0;
	}
	off = level_start(r, r->depth);
	if (reserve(&r->names, off, &r->names_cap, n->name_len) != 0)
		return VC_E_NOMEM;
	if (n->type == VC_NODE_DIR && r->depth >= r->start_cap) {
		size_t ncap = r->start_cap == 0 ? 16 : r->start_cap * 2;
		uint32_t *s = realloc(r->start, ncap * sizeof(*s));
		if (s == NULL)
			return VC_E_NOMEM;
		r->start = s;
		r->start_cap = ncap;
	}
	memcpy(&r->names[off], n->name, n->name_len);
	r->names_len = off + n->name_len;
	if (n->type == VC_NODE_DIR)
		r->start[r->depth++] = (uint32_t)r->names_len;
	return 0;
}

int
vc_tree_next(struct vc_tree_reader *r, const uint8_t *buf, size_t len,
    struct vc_node *node, size_t *used, unsigned *depth)
{
	struct cursor c = { buf, len };
	unsigned d = r->depth;
	int rc;

	*used = 0;
	if ((rc = parse_record(r, &c, node)) != 0)
		return rc;
	if ((rc = advance(r, node)) != 0)
		return rc;
	/* An END has the depth of the DIR it closes. */
	*depth = node->type == VC_NODE_END ? d - 1 : d;
	*used = len - c.left;
	return VC_OK;
}
