/*
 * client/tree.c against spec/tree.md 2-4 and its vectors
 * (spec/vectors/tree.json, from the independent generator in
 * spec/vectors/gen/tree_vectors.py): the tree stream read whole, byte by
 * byte and in random pieces; every invalid-stream rule; random trees round
 * tripped; the depth bound; the writer's rules; allocation failures. The
 * snapshot body and group label are tests/unit/test_snapbody.c.
 *
 * Inputs to the reader are exact-size copies, so that ASan catches a read
 * of one byte past len.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vectors.h"
#include <jansson.h>
#include <sodium.h>

#include "tree.h"

/* The module itself, for its statics; its allocations fail through the
 * countdown of faultsim.h. */
#include "tree.c"
#include "faultsim.h"

/* ---- nodes from and to vectors --------------------------------------- */

static const char *const type_names[] = {
	"end", "file", "dir", "symlink", "hardlink", "fifo", "chr", "blk", "sock",
};

/* A node with its own copies of name, target, chunks and (v2) of its
 * owner names and xattrs, whose bytes all live in ext. */
struct owned_node {
	struct vc_node n;
	unsigned depth;
	uint8_t *name, *target;
	struct vc_chunk_ref *chunks;
	uint8_t *ext;
	struct vc_xattr *xattrs;
};

static void
owned_free_one(struct owned_node *o)
{
	free(o->name);
	free(o->target);
	free(o->chunks);
	free(o->ext);
	free(o->xattrs);
}

static void
owned_free(struct owned_node *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		owned_free_one(&o[i]);
	free(o);
}

/* A version 2 record with the empty extension part: 0, 0, count 0. */
#define EMPTY_EXT_LEN 4

static uint8_t
type_of(const char *s)
{
	for (uint8_t t = 0; t < sizeof(type_names) / sizeof(type_names[0]); t++)
		if (strcmp(s, type_names[t]) == 0)
			return t;
	fail_msg("unknown node type \"%s\"", s);
	return 0;
}

/* Appends hex's bytes to o->ext (room for them was reserved). */
static const void *
ext_bytes(struct owned_node *o, size_t *used, const char *hex, size_t *len)
{
	uint8_t *b = vectors_hex(hex, len), *at = o->ext + *used;

	if (*len > 0)
		memcpy(at, b, *len);
	*used += *len;
	free(b);
	return at;
}

/* The version 2 members of a vector node, if it has them. */
static void
ext_from_json(const json_t *v, struct owned_node *o)
{
	struct vc_node *n = &o->n;
	json_t *xs = json_object_get(v, "xattrs"), *x;
	size_t i, used = 0, room;

	if (xs == NULL)
		return;
	room = strlen(vectors_str(v, "user_hex")) + strlen(vectors_str(v, "group_hex"));
	json_array_foreach(xs, i, x)
		room += strlen(vectors_str(x, "name_hex")) + strlen(vectors_str(x, "value_hex"));
	o->ext = malloc(room / 2 + 1);
	o->xattrs = calloc(json_array_size(xs) + 1, sizeof(*o->xattrs));
	assert_true(o->ext != NULL && o->xattrs != NULL);
	n->user = ext_bytes(o, &used, vectors_str(v, "user_hex"), &n->user_len);
	n->group = ext_bytes(o, &used, vectors_str(v, "group_hex"), &n->group_len);
	json_array_foreach(xs, i, x) {
		o->xattrs[i].name = ext_bytes(o, &used, vectors_str(x, "name_hex"),
		    &o->xattrs[i].name_len);
		o->xattrs[i].value = ext_bytes(o, &used, vectors_str(x, "value_hex"),
		    &o->xattrs[i].value_len);
	}
	n->xattrs = o->xattrs;
	n->nxattrs = json_array_size(xs);
}

static void
node_from_json(const json_t *v, struct owned_node *o)
{
	struct vc_node *n = &o->n;
	json_t *chunks, *c;
	size_t i, len;

	memset(o, 0, sizeof(*o));
	n->type = type_of(vectors_str(v, "type"));
	o->depth = (unsigned)vectors_u64(v, "depth");
	if (n->type == VC_NODE_END)
		return;
	o->name = vectors_hex(vectors_str(v, "name_hex"), &n->name_len);
	n->name = (const char *)o->name;
	n->mode = (uint32_t)vectors_u64(v, "mode");
	n->uid = (uint32_t)vectors_u64(v, "uid");
	n->gid = (uint32_t)vectors_u64(v, "gid");
	n->mtime_sec = vectors_int(v, "mtime_sec");
	n->mtime_nsec = (uint32_t)vectors_u64(v, "mtime_nsec");
	n->ctime_sec = vectors_int(v, "ctime_sec");
	n->ctime_nsec = (uint32_t)vectors_u64(v, "ctime_nsec");
	n->inode = vectors_u64(v, "inode");
	n->dev = vectors_u64(v, "dev");
	n->size = vectors_u64(v, "size");
	if (n->type == VC_NODE_FILE || n->type == VC_NODE_HARDLINK)
		n->link_group = vectors_u64(v, "link_group");
	if (n->type == VC_NODE_CHR || n->type == VC_NODE_BLK)
		n->rdev = vectors_u64(v, "rdev");
	if (n->type == VC_NODE_SYMLINK) {
		o->target = vectors_hex(vectors_str(v, "target_hex"), &n->target_len);
		n->target = (const char *)o->target;
	}
	if (n->type == VC_NODE_FILE) {
		chunks = json_object_get(v, "chunks");
		assert_true(json_is_array(chunks));
		n->nchunks = json_array_size(chunks);
		o->chunks = calloc(n->nchunks + 1, sizeof(*o->chunks));
		assert_non_null(o->chunks);
		json_array_foreach(chunks, i, c) {
			uint8_t *id = vectors_hex(vectors_str(c, "id"), &len);
			assert_int_equal(len, VC_ID_LEN);
			memcpy(o->chunks[i].id, id, VC_ID_LEN);
			free(id);
			o->chunks[i].len = (uint32_t)vectors_u64(c, "len");
		}
		n->chunks = o->chunks;
	}
	ext_from_json(v, o);
}

/* Whether two strings (pointer, length) are equal. */
static int
mem_eq(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Whether the version 2 parts of two nodes are equal. */
static int
ext_eq(const struct vc_node *a, const struct vc_node *b)
{
	if (!mem_eq(a->user, a->user_len, b->user, b->user_len) ||
	    !mem_eq(a->group, a->group_len, b->group, b->group_len) || a->nxattrs != b->nxattrs)
		return 0;
	for (size_t i = 0; i < a->nxattrs; i++)
		if (!mem_eq(a->xattrs[i].name, a->xattrs[i].name_len, b->xattrs[i].name,
		    b->xattrs[i].name_len) || !mem_eq(a->xattrs[i].value, a->xattrs[i].value_len,
		    b->xattrs[i].value, b->xattrs[i].value_len))
			return 0;
	return 1;
}

/* Whether two nodes are equal in every field (the reader zeroes fields of
 * other types, and so do the tests' own nodes). */
static int
node_eq(const struct vc_node *a, const struct vc_node *b)
{
	if (a->type != b->type || a->name_len != b->name_len || a->mode != b->mode ||
	    a->uid != b->uid || a->gid != b->gid || a->mtime_sec != b->mtime_sec ||
	    a->mtime_nsec != b->mtime_nsec || a->ctime_sec != b->ctime_sec ||
	    a->ctime_nsec != b->ctime_nsec || a->inode != b->inode || a->dev != b->dev ||
	    a->size != b->size || a->link_group != b->link_group || a->rdev != b->rdev ||
	    a->target_len != b->target_len || a->nchunks != b->nchunks)
		return 0;
	if (a->name_len > 0 && memcmp(a->name, b->name, a->name_len) != 0)
		return 0;
	if (a->target_len > 0 && memcmp(a->target, b->target, a->target_len) != 0)
		return 0;
	if (!ext_eq(a, b))
		return 0;
	return a->nchunks == 0 ||
	    memcmp(a->chunks, b->chunks, a->nchunks * sizeof(*a->chunks)) == 0;
}

/* ---- reading a stream in pieces -------------------------------------- */

static uint64_t rng_state = UINT64_C(0x243f6a8885a308d3);

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* How a read of a whole stream ended. */
enum outcome { OUT_OK, OUT_CORRUPT, OUT_TRUNCATED, OUT_UNCLOSED };

static const char *const outcome_names[] = { "ok", "corrupt", "truncated", "unclosed" };

/*
 * Reads data (len bytes) offering the reader piece more bytes each time it
 * asks for more (piece 0: random sizes up to 1000; SIZE_MAX: all at once);
 * every call sees an exact-size copy of the unread bytes it is offered.
 * Each node read is checked against want[i] if want is not NULL. Returns
 * the outcome; *count gets the number of nodes read.
 */
static enum outcome
read_stream_v(const uint8_t *data, size_t len, size_t piece, const struct owned_node *want,
    size_t nwant, size_t *count, unsigned version)
{
	struct vc_tree_reader *r = vc_tree_reader_new_v(version);
	size_t pos = 0, avail = 0, used, n = 0, step;
	enum outcome out = OUT_OK;
	struct vc_node node;
	unsigned depth;
	uint8_t *copy;
	int rc = VC_TREE_MORE;

	assert_non_null(r);
	while (pos < len) {
		if (rc == VC_TREE_MORE || avail == pos) {
			if (rc == VC_TREE_MORE && avail == len) {
				out = OUT_TRUNCATED;
				break;
			}
			step = piece == 0 ? 1 + (size_t)(rng() % 1000) : piece;
			avail = len - avail < step ? len : avail + step;
		}
		copy = malloc(avail - pos);
		assert_non_null(copy);
		memcpy(copy, data + pos, avail - pos);
		rc = vc_tree_next(r, copy, avail - pos, &node, &used, &depth);
		if (rc == VC_OK) {
			assert_true(used > 0 && used <= avail - pos);
			if (want != NULL) {
				assert_true(n < nwant);
				if (!node_eq(&node, &want[n].n) || depth != want[n].depth)
					fail_msg("node %zu differs", n);
			}
			pos += used;
			n++;
		} else if (rc != VC_TREE_MORE) {
			assert_int_equal(rc, VC_E_CORRUPT);
			out = OUT_CORRUPT;
		}
		free(copy);
		if (out != OUT_OK)
			break;
	}
	if (out == OUT_OK && vc_tree_done(r) != VC_OK)
		out = OUT_UNCLOSED;
	vc_tree_reader_free(r);
	*count = n;
	return out;
}

/* read_stream_v of the current version. */
static enum outcome
read_stream(const uint8_t *data, size_t len, size_t piece, const struct owned_node *want,
    size_t nwant, size_t *count)
{
	return read_stream_v(data, len, piece, want, nwant, count, VC_TREE_VERSION);
}

static struct owned_node *
nodes_from_json(const json_t *a, size_t *n)
{
	struct owned_node *o;
	json_t *v;
	size_t i;

	assert_true(json_is_array(a));
	*n = json_array_size(a);
	o = calloc(*n + 1, sizeof(*o));
	assert_non_null(o);
	json_array_foreach(a, i, v)
		node_from_json(v, &o[i]);
	return o;
}

static uint8_t *
append_all_v(const struct owned_node *o, size_t n, size_t *len, unsigned version)
{
	uint8_t *buf = NULL;
	size_t cap = 0;

	*len = 0;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(vc_tree_append_v(&buf, len, &cap, &o[i].n, version), VC_OK);
	return buf;
}

static uint8_t *
append_all(const struct owned_node *o, size_t n, size_t *len)
{
	return append_all_v(o, n, len, VC_TREE_VERSION);
}

/* The "version" of a vector (absent: 1). */
static unsigned
vector_version(const json_t *v)
{
	return json_object_get(v, "version") != NULL ? (unsigned)vectors_u64(v, "version") : 1;
}

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* ---- tests ------------------------------------------------------------ */

static void
test_layout(void **state)
{
	(void)state;
	assert_int_equal(COMMON_LEN, 63);
	assert_int_equal(COMMON_TAIL_LEN, 60);
	assert_int_equal(CHUNK_ENTRY_LEN, 36);
}

static void
test_stream_vectors(void **state)
{
	json_t *doc = vectors_load("tree.json", 0), *v;
	static const size_t pieces[] = { SIZE_MAX, 1, 7, 0, 0 };
	struct owned_node *o;
	uint8_t *want, *got;
	size_t i, n, len, glen, count, v2 = 0;

	(void)state;
	json_array_foreach(json_object_get(doc, "streams"), i, v) {
		unsigned ver = vector_version(v);

		v2 += ver == 2;
		o = nodes_from_json(json_object_get(v, "nodes"), &n);
		want = vectors_hex(vectors_str(v, "hex"), &len);
		for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
			assert_int_equal(read_stream_v(want, len, pieces[p], o, n, &count, ver),
			    OUT_OK);
			assert_int_equal(count, n);
		}
		got = append_all_v(o, n, &glen, ver);
		assert_int_equal(glen, len);
		if (len > 0)
			assert_memory_equal(got, want, len);
		free(got);
		free(want);
		owned_free(o, n);
	}
	assert_true(i >= 5 && v2 >= 3);
	json_decref(doc);
}

static void
test_invalid_vectors(void **state)
{
	json_t *doc = vectors_load("tree.json", 0), *v;
	static const size_t pieces[] = { SIZE_MAX, 1, 0 };
	size_t i, len, count, kinds[4] = { 0 };
	enum outcome out;
	uint8_t *data;

	(void)state;
	json_array_foreach(json_object_get(doc, "invalid"), i, v) {
		data = vectors_hex(vectors_str(v, "hex"), &len);
		/* The outcome does not depend on how the input is cut. */
		for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
			out = read_stream_v(data, len, pieces[p], NULL, 0, &count, vector_version(v));
			if (strcmp(outcome_names[out], vectors_str(v, "error")) != 0 ||
			    count != vectors_u64(v, "records"))
				fail_msg("\"%s\": %s after %zu records", vectors_str(v, "note"),
				    outcome_names[out], count);
		}
		kinds[out]++;
		free(data);
	}
	assert_true(kinds[OUT_CORRUPT] >= 30 && kinds[OUT_TRUNCATED] >= 2 &&
	    kinds[OUT_UNCLOSED] >= 2);
	json_decref(doc);
}

/* A DIR named "d" with every other field 0. */
static const struct vc_node dir_d = { .type = VC_NODE_DIR, .name = "d", .name_len = 1 };
static const struct vc_node end_node = { .type = VC_NODE_END };

static void
test_depth(void **state)
{
	const struct vc_node fifo = { .type = VC_NODE_FIFO, .name = "f", .name_len = 1 };
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, count;

	(void)state;
	/* 1024 directories open at once, with a FIFO in the innermost. */
	for (int i = 0; i < VC_TREE_DEPTH_MAX; i++)
		assert_int_equal(vc_tree_append(&buf, &len, &cap, &dir_d), VC_OK);
	assert_int_equal(vc_tree_append(&buf, &len, &cap, &fifo), VC_OK);
	for (int i = 0; i < VC_TREE_DEPTH_MAX; i++)
		assert_int_equal(vc_tree_append(&buf, &len, &cap, &end_node), VC_OK);
	assert_int_equal(read_stream(buf, len, SIZE_MAX, NULL, 0, &count), OUT_OK);
	assert_int_equal(count, 2 * VC_TREE_DEPTH_MAX + 1);
	assert_int_equal(read_stream(buf, len, 0, NULL, 0, &count), OUT_OK);
	free(buf);

	/* The 1025th: refused at its type byte. */
	buf = NULL;
	len = cap = 0;
	for (int i = 0; i <= VC_TREE_DEPTH_MAX; i++)
		assert_int_equal(vc_tree_append(&buf, &len, &cap, &dir_d), VC_OK);
	assert_int_equal(read_stream(buf, len, SIZE_MAX, NULL, 0, &count), OUT_CORRUPT);
	assert_int_equal(count, VC_TREE_DEPTH_MAX);
	assert_int_equal(read_stream(buf, len - COMMON_LEN - 1 - EMPTY_EXT_LEN, SIZE_MAX, NULL, 0,
	    &count), OUT_UNCLOSED);
	assert_int_equal(read_stream(buf, len - COMMON_LEN - EMPTY_EXT_LEN, SIZE_MAX, NULL, 0,
	    &count), OUT_CORRUPT);
	free(buf);
}

/* The reader's answer for partial records: VC_TREE_MORE and nothing
 * consumed, then the record itself from the same reader. */
static void
test_more_keeps_state(void **state)
{
	struct vc_chunk_ref ch[2] = { { { 1 }, 10 }, { { 2 }, 20 } };
	struct vc_node file = { .type = VC_NODE_FILE, .name = "f", .name_len = 1,
	    .size = 30, .chunks = ch, .nchunks = 2 };
	struct vc_tree_reader *r = vc_tree_reader_new();
	size_t len = 0, cap = 0, used, off;
	uint8_t *buf = NULL, *copy;
	struct vc_node n;
	unsigned depth;

	(void)state;
	assert_int_equal(vc_tree_append(&buf, &len, &cap, &dir_d), VC_OK);
	off = len;
	assert_int_equal(vc_tree_append(&buf, &len, &cap, &file), VC_OK);
	assert_int_equal(len - off, 75 + 1 + 2 * 36 + EMPTY_EXT_LEN);
	assert_int_equal(vc_tree_next(r, buf, off, &n, &used, &depth), VC_OK);
	assert_int_equal(used, off);
	for (size_t k = 0; k < len - off; k++) {
		copy = malloc(k + 1);
		memcpy(copy, buf + off, k);
		assert_int_equal(vc_tree_next(r, copy, k, &n, &used, &depth), VC_TREE_MORE);
		assert_int_equal(used, 0);
		free(copy);
	}
	assert_int_equal(vc_tree_next(r, buf + off, len - off, &n, &used, &depth), VC_OK);
	assert_int_equal(depth, 1);
	assert_true(node_eq(&n, &file));
	assert_int_equal(vc_tree_done(r), VC_E_CORRUPT);
	assert_int_equal(vc_tree_next(r, (const uint8_t *)"", 1, &n, &used, &depth), VC_OK);
	assert_int_equal(n.type, VC_NODE_END);
	assert_int_equal(depth, 0);
	assert_int_equal(vc_tree_done(r), VC_OK);
	vc_tree_reader_free(r);
	vc_tree_reader_free(NULL);
	free(buf);
}

/* ---- random trees ----------------------------------------------------- */

static int
cmp_names(const void *a, const void *b)
{
	const struct owned_node *x = a, *y = b;
	size_t n = x->n.name_len < y->n.name_len ? x->n.name_len : y->n.name_len;
	int c = memcmp(x->n.name, y->n.name, n);

	return c != 0 ? c : (x->n.name_len > y->n.name_len) - (x->n.name_len < y->n.name_len);
}

/* A random valid name: one component below the top, a path at it. */
static void
random_name(struct owned_node *o, int top)
{
	size_t len = 1 + (size_t)(rng() % (top ? 40 : 12));

	o->name = malloc(len);
	assert_non_null(o->name);
	do {
		for (size_t i = 0; i < len; i++) {
			o->name[i] = (uint8_t)(1 + rng() % 255);
			if (o->name[i] == '/' && (!top || i == 0 || i == len - 1 ||
			    o->name[i - 1] == '/'))
				o->name[i] = 'x';
		}
	} while (!name_ok(o->name, len, top));
	o->n.name = (const char *)o->name;
	o->n.name_len = len;
}

/* Random owner names and 0-3 xattrs "user.N" with random values (v2). */
static void
random_ext(struct owned_node *o)
{
	struct vc_node *n = &o->n;
	size_t nx = (size_t)(rng() % 4), used;

	o->ext = malloc(2 * 40 + nx * (8 + 300));
	o->xattrs = calloc(nx + 1, sizeof(*o->xattrs));
	assert_true(o->ext != NULL && o->xattrs != NULL);
	n->user_len = (size_t)(rng() % 40);
	n->group_len = (size_t)(rng() % 40);
	for (size_t i = 0; i < n->user_len + n->group_len; i++)
		o->ext[i] = (uint8_t)(1 + rng() % 255);
	n->user = (const char *)o->ext;
	n->group = (const char *)o->ext + n->user_len;
	used = n->user_len + n->group_len;
	for (size_t i = 0; i < nx; i++) {
		struct vc_xattr *x = &o->xattrs[i];

		x->name_len = (size_t)snprintf((char *)o->ext + used, 8, "user.%zu", i);
		x->name = (const char *)o->ext + used;
		used += x->name_len;
		x->value_len = (size_t)(rng() % 300);
		for (size_t k = 0; k < x->value_len; k++)
			o->ext[used + k] = (uint8_t)rng();
		x->value = o->ext + used;
		used += x->value_len;
	}
	n->xattrs = o->xattrs;
	n->nxattrs = nx;
}

static void
random_node(struct owned_node *o, unsigned depth, int can_dir)
{
	struct vc_node *n = &o->n;

	memset(o, 0, sizeof(*o));
	o->depth = depth;
	n->type = (uint8_t)(1 + rng() % 8);
	if (n->type == VC_NODE_DIR && !can_dir)
		n->type = VC_NODE_FIFO;
	random_name(o, depth == 0);
	n->mode = (uint32_t)(rng() & 07777);
	n->uid = (uint32_t)rng();
	n->gid = (uint32_t)rng();
	n->mtime_sec = (int64_t)rng();
	n->mtime_nsec = (uint32_t)(rng() % NSEC_PER_SEC);
	n->ctime_sec = (int64_t)rng();
	n->ctime_nsec = (uint32_t)(rng() % NSEC_PER_SEC);
	n->inode = rng();
	n->dev = rng();
	switch (n->type) {
	case VC_NODE_FILE:
		n->link_group = rng() % 3 == 0 ? rng() : 0;
		n->nchunks = (size_t)(rng() % 5);
		o->chunks = calloc(n->nchunks + 1, sizeof(*o->chunks));
		assert_non_null(o->chunks);
		for (size_t i = 0; i < n->nchunks; i++) {
			randombytes_buf(o->chunks[i].id, VC_ID_LEN);
			o->chunks[i].len = 1 + (uint32_t)(rng() % VC_CHUNK_MAX);
			n->size += o->chunks[i].len;
		}
		n->chunks = o->chunks;
		break;
	case VC_NODE_HARDLINK:
		n->link_group = 1 + rng() % 1000;
		n->size = rng();
		break;
	case VC_NODE_SYMLINK:
		n->target_len = 1 + (size_t)(rng() % 300);
		o->target = malloc(n->target_len);
		assert_non_null(o->target);
		for (size_t i = 0; i < n->target_len; i++)
			o->target[i] = (uint8_t)(1 + rng() % 255);
		n->target = (const char *)o->target;
		break;
	case VC_NODE_CHR:
	case VC_NODE_BLK:
		n->rdev = rng();
		break;
	}
	random_ext(o);
}

/* Appends a random directory level of up to 6 entries at depth into
 * out[*n..]; directories recurse while depth < maxdepth. */
static void
random_level(struct owned_node *out, size_t *n, size_t cap, unsigned depth, unsigned maxdepth)
{
	size_t k = (size_t)(rng() % 7), j = 0;
	struct owned_node *lvl = calloc(k + 1, sizeof(*lvl));

	assert_non_null(lvl);
	for (size_t i = 0; i < k; i++) {
		random_node(&lvl[j], depth, depth < maxdepth);
		/* Drop a name that repeats a sibling's. */
		int dup = 0;
		for (size_t m = 0; m < j; m++)
			dup |= cmp_names(&lvl[m], &lvl[j]) == 0;
		if (dup)
			owned_free_one(&lvl[j]);
		else
			j++;
	}
	qsort(lvl, j, sizeof(*lvl), cmp_names);
	for (size_t i = 0; i < j; i++) {
		assert_true(*n < cap);
		out[(*n)++] = lvl[i];
		if (lvl[i].n.type == VC_NODE_DIR) {
			random_level(out, n, cap, depth + 1, maxdepth);
			assert_true(*n < cap);
			memset(&out[*n], 0, sizeof(out[*n]));
			out[*n].depth = depth;
			out[(*n)++].n.type = VC_NODE_END;
		}
	}
	free(lvl);
}

static void
test_random_round_trip(void **state)
{
	const size_t cap = 20000;
	struct owned_node *o;
	size_t n, len, count;
	uint8_t *buf;

	(void)state;
	for (int iter = 0; iter < 200; iter++) {
		o = calloc(cap, sizeof(*o));
		assert_non_null(o);
		n = 0;
		random_level(o, &n, cap, 0, (unsigned)(rng() % 5));
		buf = append_all(o, n, &len);
		assert_int_equal(read_stream(buf, len, 0, o, n, &count), OUT_OK);
		assert_int_equal(count, n);
		assert_int_equal(read_stream(buf, len, SIZE_MAX, o, n, &count), OUT_OK);
		if (n > 0) {
			/* A prefix of a valid stream is never corrupt: the
			 * reader asks for more, or the cut fell between
			 * records. */
			size_t cut = (size_t)(rng() % len);
			assert_int_not_equal(read_stream(buf, cut, 0, NULL, 0, &count),
			    OUT_CORRUPT);
		}
		free(buf);
		owned_free(o, n);
	}
}

/* vc_tree_append refuses each node that breaks a one-record rule, and
 * leaves the buffer as it was. */
static void
test_writer_rules(void **state)
{
	struct vc_chunk_ref ch[1] = { { { 0 }, 5 } };
	char big[VC_TREE_NAME_MAX + 1];
	struct vc_node base = { .type = VC_NODE_FIFO, .name = "n", .name_len = 1 };
	struct vc_node bad[32];
	size_t nbad = 0, len = 0, cap = 0;
	uint8_t *buf = NULL;

	(void)state;
	memset(big, 't', sizeof(big));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bad[i] = base;
	bad[nbad++].type = 9;
	bad[nbad++].name_len = 0;
	bad[nbad].name = big;
	bad[nbad++].name_len = VC_TREE_NAME_MAX + 1;
	bad[nbad].name = "a\0b";
	bad[nbad++].name_len = 3;
	bad[nbad].name = "/a";
	bad[nbad++].name_len = 2;
	bad[nbad].name = "a/";
	bad[nbad++].name_len = 2;
	bad[nbad].name = "a/../b";
	bad[nbad++].name_len = 6;
	bad[nbad].name = ".";
	bad[nbad++].name_len = 1;
	bad[nbad++].mode = 010000;
	bad[nbad++].mtime_nsec = NSEC_PER_SEC;
	bad[nbad++].ctime_nsec = NSEC_PER_SEC;
	bad[nbad++].size = 1;
	bad[nbad].type = VC_NODE_DIR;
	bad[nbad++].size = 1;
	bad[nbad].type = VC_NODE_HARDLINK;
	bad[nbad++].link_group = 0;
	bad[nbad].type = VC_NODE_SYMLINK;
	bad[nbad++].target_len = 0;
	bad[nbad].type = VC_NODE_SYMLINK;
	bad[nbad].target = big;
	bad[nbad++].target_len = VC_TREE_TARGET_MAX + 1;
	bad[nbad].type = VC_NODE_SYMLINK;
	bad[nbad].target = "a\0";
	bad[nbad++].target_len = 2;
	bad[nbad].type = VC_NODE_SYMLINK;
	bad[nbad].target = "a";
	bad[nbad].target_len = 1;
	bad[nbad++].size = 1;
	bad[nbad].type = VC_NODE_FILE;
	bad[nbad].chunks = ch;
	bad[nbad].nchunks = 1;
	bad[nbad++].size = 4;
	bad[nbad].type = VC_NODE_FILE;
	bad[nbad].chunks = ch;
	bad[nbad].nchunks = (size_t)VC_TREE_CHUNKS_MAX + 1;
	bad[nbad++].size = 5;
	bad[nbad].type = VC_NODE_FILE;
	bad[nbad++].size = 1;

	assert_int_equal(vc_tree_append(&buf, &len, &cap, &base), VC_OK);
	assert_int_equal(len, COMMON_LEN + 1 + EMPTY_EXT_LEN);
	for (size_t i = 0; i < nbad; i++) {
		if (vc_tree_append(&buf, &len, &cap, &bad[i]) != VC_E_CORRUPT)
			fail_msg("bad node %zu accepted", i);
		assert_int_equal(len, COMMON_LEN + 1 + EMPTY_EXT_LEN);
	}
	assert_int_equal(vc_tree_append_v(&buf, &len, &cap, &base, 0), VC_E_UNSUPPORTED);
	assert_int_equal(vc_tree_append_v(&buf, &len, &cap, &base, VC_TREE_VERSION + 1),
	    VC_E_UNSUPPORTED);
	assert_null(vc_tree_reader_new_v(0));
	assert_null(vc_tree_reader_new_v(VC_TREE_VERSION + 1));
	/* Chunk lengths 0 and 2^24 + 1. */
	bad[0] = base;
	bad[0].type = VC_NODE_FILE;
	bad[0].chunks = ch;
	bad[0].nchunks = 1;
	ch[0].len = 0;
	bad[0].size = 0;
	assert_int_equal(vc_tree_append(&buf, &len, &cap, &bad[0]), VC_E_CORRUPT);
	ch[0].len = VC_CHUNK_MAX + 1;
	bad[0].size = VC_CHUNK_MAX + 1;
	assert_int_equal(vc_tree_append(&buf, &len, &cap, &bad[0]), VC_E_CORRUPT);
	ch[0].len = VC_CHUNK_MAX;
	bad[0].size = VC_CHUNK_MAX;
	assert_int_equal(vc_tree_append(&buf, &len, &cap, &bad[0]), VC_OK);
	free(buf);
}

/* ---- allocation failures --------------------------------------------- */

/* Reads the stream whole with allocations failing from the nth; a failed
 * call is repeated and must then succeed (the reader kept its state).
 * Returns whether an allocation failed. */
static int
read_with_failure(const uint8_t *data, size_t len, const struct owned_node *want,
    size_t nwant, unsigned long nth, unsigned version)
{
	struct vc_tree_reader *r;
	size_t pos = 0, used, i = 0;
	struct vc_node node;
	unsigned depth;
	int rc, failed = 0;

	faultsim_config((int)nth - 1, 1);
	if ((r = vc_tree_reader_new_v(version)) == NULL) {
		assert_int_equal(faultsim_off(), 1);
		return 1;
	}
	while (pos < len) {
		rc = vc_tree_next(r, data + pos, len - pos, &node, &used, &depth);
		if (rc == VC_E_NOMEM) {
			failed = 1;
			continue;
		}
		assert_int_equal(rc, VC_OK);
		assert_true(node_eq(&node, &want[i].n) && depth == want[i].depth);
		pos += used;
		i++;
	}
	assert_int_equal(faultsim_off(), failed);
	assert_int_equal(i, nwant);
	assert_int_equal(vc_tree_done(r), VC_OK);
	vc_tree_reader_free(r);
	return failed;
}

/* Allocation failures reading and writing the vector stream rich. */
static void
alloc_stream(const json_t *rich)
{
	unsigned ver = vector_version(rich);
	struct owned_node *o;
	uint8_t *data, *buf;
	size_t n, len, blen, cap, i;
	unsigned long nth;
	int rc;

	o = nodes_from_json(json_object_get(rich, "nodes"), &n);
	data = vectors_hex(vectors_str(rich, "hex"), &len);
	for (nth = 1; read_with_failure(data, len, o, n, nth, ver); nth++)
		;
	assert_true(nth > 3);
	for (nth = 1;; nth++) {
		buf = NULL;
		blen = cap = 0;
		faultsim_config((int)nth - 1, 1);
		for (i = 0; i < n; i++) {
			size_t before = blen;
			if ((rc = vc_tree_append_v(&buf, &blen, &cap, &o[i].n, ver)) != VC_OK) {
				assert_int_equal(rc, VC_E_NOMEM);
				assert_int_equal(blen, before);
				break;
			}
		}
		rc = faultsim_off();
		free(buf);
		if (rc == 0) {
			assert_int_equal(i, n);
			break;
		}
		assert_true(i < n);
	}
	assert_true(nth > 1);
	free(data);
	owned_free(o, n);
}

static void
test_alloc_tree(void **state)
{
	json_t *doc = vectors_load("tree.json", 0), *v;
	size_t i, done = 0;

	(void)state;
	/* The version 1 and the version 2 stream of every node type. */
	json_array_foreach(json_object_get(doc, "streams"), i, v) {
		if (strstr(vectors_str(v, "note"), "every node type") != NULL) {
			alloc_stream(v);
			done++;
		}
	}
	assert_int_equal(done, 2);
	json_decref(doc);
}

/* A FIFO "f" with the given xattrs (v2). */
static int
append_xattrs(uint8_t **buf, size_t *len, size_t *cap, const struct vc_xattr *x, size_t nx)
{
	struct vc_node n = { .type = VC_NODE_FIFO, .name = "f", .name_len = 1,
	    .xattrs = x, .nxattrs = nx };

	*len = 0;
	return vc_tree_append(buf, len, cap, &n);
}

/* The xattr limits at their edges (spec/tree.md 3, "Version 2"): too big
 * for the vectors. The writer refuses what breaks them; the reader refuses
 * as soon as the offending length has arrived. */
static void
test_xattr_limits(void **state)
{
	static uint8_t value[VC_TREE_XATTR_VALUE_MAX + 1];
	char names[17][8];
	struct vc_xattr x[17];
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, count, per = VC_TREE_XATTR_BYTES_MAX / 16 - 7;

	(void)state;
	x[0] = (struct vc_xattr){ "user.v", 6, value, VC_TREE_XATTR_VALUE_MAX };
	assert_int_equal(append_xattrs(&buf, &len, &cap, x, 1), VC_OK);
	assert_int_equal(read_stream(buf, len, SIZE_MAX, NULL, 0, &count), OUT_OK);
	x[0].value_len++;
	assert_int_equal(append_xattrs(&buf, &len, &cap, x, 1), VC_E_CORRUPT);
	/* Patch the value length of the valid record: corrupt from there. */
	x[0].value_len--;
	assert_int_equal(append_xattrs(&buf, &len, &cap, x, 1), VC_OK);
	buf[len - VC_TREE_XATTR_VALUE_MAX - 4] = 1;
	buf[len - VC_TREE_XATTR_VALUE_MAX - 2] = 1;
	assert_int_equal(read_stream(buf, len - VC_TREE_XATTR_VALUE_MAX, SIZE_MAX, NULL, 0,
	    &count), OUT_CORRUPT);
	/* 16 entries of 7-byte names: exactly 1 MiB; a 17th byte is too many. */
	for (int i = 0; i < 17; i++) {
		snprintf(names[i], sizeof(names[i]), "user.%02d", i);
		x[i] = (struct vc_xattr){ names[i], 7, value, per };
	}
	assert_int_equal(append_xattrs(&buf, &len, &cap, x, 16), VC_OK);
	assert_int_equal(read_stream(buf, len, 0, NULL, 0, &count), OUT_OK);
	x[15].value_len++;
	assert_int_equal(append_xattrs(&buf, &len, &cap, x, 16), VC_E_CORRUPT);
	x[15].value_len--;
	x[16].value_len = 0;
	assert_int_equal(append_xattrs(&buf, &len, &cap, x, 17), VC_E_CORRUPT);
	/* The reader: the 17th entry's name alone passes the sum. */
	assert_int_equal(append_xattrs(&buf, &len, &cap, x, 16), VC_OK);
	buf[COMMON_LEN + 1 + 2] = 17;
	assert_int_equal(read_stream(buf, len, SIZE_MAX, NULL, 0, &count), OUT_TRUNCATED);
	{
		uint8_t *more = malloc(len + 12);

		assert_non_null(more);
		memcpy(more, buf, len);
		memcpy(more + len, "\x07user.16\0\0\0\0", 12);
		assert_int_equal(read_stream(more, len + 12, SIZE_MAX, NULL, 0, &count),
		    OUT_CORRUPT);
		free(more);
	}
	/* Order, duplicates, NULs, name lengths, owner names. */
	x[0] = (struct vc_xattr){ "user.b", 6, value, 0 };
	x[1] = (struct vc_xattr){ "user.a", 6, value, 0 };
	assert_int_equal(append_xattrs(&buf, &len, &cap, x, 2), VC_E_CORRUPT);
	x[1] = x[0];
	assert_int_equal(append_xattrs(&buf, &len, &cap, x, 2), VC_E_CORRUPT);
	x[1] = (struct vc_xattr){ "user.\0", 6, value, 0 };
	assert_int_equal(append_xattrs(&buf, &len, &cap, &x[1], 1), VC_E_CORRUPT);
	x[1] = (struct vc_xattr){ "", 0, value, 0 };
	assert_int_equal(append_xattrs(&buf, &len, &cap, &x[1], 1), VC_E_CORRUPT);
	memset(value, 'n', sizeof(value));
	x[1] = (struct vc_xattr){ (const char *)value, VC_TREE_XATTR_NAME_MAX + 1, value, 0 };
	assert_int_equal(append_xattrs(&buf, &len, &cap, &x[1], 1), VC_E_CORRUPT);
	{
		struct vc_node n = { .type = VC_NODE_FIFO, .name = "f", .name_len = 1,
		    .user = (const char *)value, .user_len = VC_TREE_OWNER_MAX };

		len = 0;
		assert_int_equal(vc_tree_append(&buf, &len, &cap, &n), VC_OK);
		n.user_len++;
		assert_int_equal(vc_tree_append(&buf, &len, &cap, &n), VC_E_CORRUPT);
		n.user_len = 0;
		n.group = "a\0";
		n.group_len = 2;
		assert_int_equal(vc_tree_append(&buf, &len, &cap, &n), VC_E_CORRUPT);
	}
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_stream_vectors),
		cmocka_unit_test(test_invalid_vectors),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_more_keeps_state),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_writer_rules),
		cmocka_unit_test(test_alloc_tree),
		cmocka_unit_test(test_xattr_limits),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
