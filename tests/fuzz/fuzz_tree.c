/*
 * Fuzz driver for what a restore reads (spec/tree.md): the tree stream and
 * the snapshot body.
 *
 * Input: byte 0 picks the mode, the rest is the data.
 *   mode even: the data is a tree stream, of tree version 1 if bit 1 of
 *     byte 0 is clear, else version 2 (spec/tree.md 3). It is read twice, whole and in
 *     pieces whose sizes come from byte 1 of the input, and the two reads
 *     must agree record by record and in their outcome; every record read
 *     must satisfy the spec's rules and encode back (vc_tree_append) to
 *     exactly the bytes it was read from.
 *   mode odd: the data is opened as a sealed body under a fixed key and
 *     header; then it is sealed as JSON text with a fixed nonce and opened,
 *     which reaches the JSON parser (a fuzzer cannot forge a tag). A body
 *     that opens is encoded again with vc_snapbody_json, sealed and opened,
 *     and must give the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "tree.h"

/* One read of the stream: the outcome and the records' bytes. */
struct read_result {
	int rc;                   /* VC_OK, VC_E_CORRUPT, VC_TREE_MORE (truncated) */
	int closed;               /* vc_tree_done's answer was 0 */
	size_t records;
	uint8_t *enc;             /* the records read, encoded again */
	size_t enc_len, enc_cap;
};

/* Checks the rules of spec/tree.md 3 that a returned node must satisfy. */
static void
check_node(const struct vc_node *n, unsigned depth)
{
	uint64_t sum = 0;

	FUZZ_CHECK(n->type <= VC_NODE_SOCK);
	FUZZ_CHECK(depth <= VC_TREE_DEPTH_MAX);
	if (n->type == VC_NODE_END)
		return;
	FUZZ_CHECK(n->name_len >= 1 && n->name_len <= (depth == 0 ? VC_TREE_NAME_MAX : 255));
	FUZZ_CHECK(memchr(n->name, 0, n->name_len) == NULL);
	if (depth > 0)
		FUZZ_CHECK(memchr(n->name, '/', n->name_len) == NULL);
	FUZZ_CHECK(n->mode <= 07777);
	FUZZ_CHECK(n->mtime_nsec < 1000000000U && n->ctime_nsec < 1000000000U);
	for (size_t i = 0; i < n->nchunks; i++) {
		FUZZ_CHECK(n->chunks[i].len >= 1 && n->chunks[i].len <= VC_CHUNK_MAX);
		sum += n->chunks[i].len;
	}
	if (n->type == VC_NODE_FILE)
		FUZZ_CHECK(sum == n->size);
	if (n->type == VC_NODE_HARDLINK)
		FUZZ_CHECK(n->link_group != 0);
	if (n->type == VC_NODE_SYMLINK)
		FUZZ_CHECK(n->target_len >= 1 && n->target_len <= VC_TREE_TARGET_MAX);
	FUZZ_CHECK(n->user_len <= VC_TREE_OWNER_MAX && n->group_len <= VC_TREE_OWNER_MAX);
	for (size_t i = 0, total = 0; i < n->nxattrs; i++) {
		FUZZ_CHECK(n->xattrs[i].name_len >= 1 &&
		    n->xattrs[i].name_len <= VC_TREE_XATTR_NAME_MAX &&
		    n->xattrs[i].value_len <= VC_TREE_XATTR_VALUE_MAX);
		total += n->xattrs[i].name_len + n->xattrs[i].value_len;
		FUZZ_CHECK(total <= VC_TREE_XATTR_BYTES_MAX);
	}
}

/* Reads data offering it in pieces of 1 + (seed + k * 7) % 97 bytes (seed
 * 0: all at once). Each call sees an exact-size copy of what is offered. */
static void
read_tree(const uint8_t *data, size_t size, unsigned seed, unsigned version,
    struct read_result *res)
{
	struct vc_tree_reader *r = vc_tree_reader_new_v(version);
	size_t pos = 0, avail = seed == 0 ? size : 0, used, k = 0;
	struct vc_node n;
	unsigned depth;
	uint8_t *copy;
	int rc = VC_OK;

	memset(res, 0, sizeof(*res));
	if (r == NULL) {
		res->rc = VC_E_NOMEM;
		return;
	}
	while (pos < size) {
		if (rc == VC_TREE_MORE || avail == pos) {
			size_t step = 1 + (seed + k++ * 7) % 97;
			if (rc == VC_TREE_MORE && avail == size)
				break;
			avail = size - avail < step ? size : avail + step;
		}
		FUZZ_CHECK((copy = malloc(avail - pos)) != NULL);
		memcpy(copy, data + pos, avail - pos);
		rc = vc_tree_next(r, copy, avail - pos, &n, &used, &depth);
		FUZZ_CHECK(rc == VC_OK || rc == VC_TREE_MORE || rc == VC_E_CORRUPT ||
		    rc == VC_E_NOMEM);
		if (rc == VC_OK) {
			FUZZ_CHECK(used >= 1 && used <= avail - pos);
			check_node(&n, depth);
			/* The encoding is canonical: the record re-encodes to
			 * the bytes it came from. */
			size_t before = res->enc_len;
			FUZZ_CHECK(vc_tree_append_v(&res->enc, &res->enc_len, &res->enc_cap, &n,
			    version) == VC_OK);
			FUZZ_CHECK(res->enc_len - before == used);
			FUZZ_CHECK(memcmp(res->enc + before, copy, used) == 0);
			pos += used;
			res->records++;
		}
		free(copy);
		if (rc == VC_E_CORRUPT || rc == VC_E_NOMEM)
			break;
	}
	res->rc = rc;
	res->closed = pos == size && vc_tree_done(r) == VC_OK;
	vc_tree_reader_free(r);
}

static void
fuzz_tree(const uint8_t *data, size_t size, unsigned version)
{
	struct read_result whole, pieces;
	unsigned seed = size > 0 ? 1 + data[0] : 1;

	read_tree(data, size, 0, version, &whole);
	read_tree(data, size, seed, version, &pieces);
	/* How the input was cut changes nothing. */
	if (whole.rc != VC_E_NOMEM && pieces.rc != VC_E_NOMEM) {
		FUZZ_CHECK(whole.rc == pieces.rc);
		FUZZ_CHECK(whole.records == pieces.records);
		FUZZ_CHECK(whole.closed == pieces.closed);
		FUZZ_CHECK(whole.enc_len == pieces.enc_len);
		FUZZ_CHECK(whole.enc_len == 0 || memcmp(whole.enc, pieces.enc, whole.enc_len) == 0);
		/* A stream read to its end without error is the records. */
		if (whole.closed)
			FUZZ_CHECK(whole.enc_len == size &&
			    (size == 0 || memcmp(whole.enc, data, size) == 0));
	}
	free(whole.enc);
	free(pieces.enc);
}

static void
check_same_body(const struct vc_snapbody *a, const struct vc_snapbody *b)
{
	FUZZ_CHECK(a->time == b->time && a->time_nsec == b->time_nsec);
	FUZZ_CHECK(strcmp(a->hostname, b->hostname) == 0);
	FUZZ_CHECK(strcmp(a->username, b->username) == 0);
	FUZZ_CHECK(a->npaths == b->npaths && a->ntags == b->ntags && a->ntree == b->ntree);
	for (size_t i = 0; i < a->npaths; i++)
		FUZZ_CHECK(strcmp(a->paths[i], b->paths[i]) == 0 && a->paths[i][0] == '/');
	for (size_t i = 0; i < a->ntags; i++)
		FUZZ_CHECK(strcmp(a->tags[i], b->tags[i]) == 0);
	FUZZ_CHECK(a->has_parent == b->has_parent);
	FUZZ_CHECK(!a->has_parent || memcmp(a->parent, b->parent, VC_ID_LEN) == 0);
	FUZZ_CHECK(a->ntree == 0 || memcmp(a->tree, b->tree, a->ntree * sizeof(*a->tree)) == 0);
	FUZZ_CHECK(a->tree_size == b->tree_size && a->files == b->files &&
	    a->dirs == b->dirs && a->bytes == b->bytes && a->errors == b->errors);
}

static void
fuzz_body(const uint8_t *data, size_t size)
{
	static const uint8_t hdr[] = "a fixed stand-in for an envelope header";
	static const uint8_t nonce[VC_NONCE_LEN] = { 7 };
	struct vc_snapbody b, b2;
	struct vc_keys keys;
	uint8_t *sealed, *sealed2;
	size_t slen, slen2, jlen;
	char *json;
	int rc;

	memset(&keys, 0, sizeof(keys));
	memset(keys.index, 0x33, sizeof(keys.index));
	rc = vc_snapbody_open(&keys, hdr, sizeof(hdr), data, size, &b);
	FUZZ_CHECK(rc == VC_E_AUTH || rc == VC_E_CORRUPT || rc == VC_E_NOMEM);
	FUZZ_CHECK(b.hostname == NULL);

	rc = vc_snapbody_seal(&keys, hdr, sizeof(hdr), (const char *)data, size, nonce, &sealed,
	    &slen);
	FUZZ_CHECK(rc == VC_OK || rc == VC_E_NOMEM);
	if (rc != VC_OK)
		return;
	FUZZ_CHECK(slen == vc_snapbody_sealed_len(size));
	rc = vc_snapbody_open(&keys, hdr, sizeof(hdr), sealed, slen, &b);
	free(sealed);
	FUZZ_CHECK(rc == VC_OK || rc == VC_E_CORRUPT || rc == VC_E_UNSUPPORTED ||
	    rc == VC_E_NOMEM);
	if (rc != VC_OK) {
		FUZZ_CHECK(b.hostname == NULL && b.tree == NULL);
		return;
	}
	/* What opened can be written again and means the same. */
	rc = vc_snapbody_json(&b, &json, &jlen);
	FUZZ_CHECK(rc == VC_OK || rc == VC_E_NOMEM);
	if (rc == VC_OK) {
		rc = vc_snapbody_seal(&keys, hdr, sizeof(hdr), json, jlen, NULL, &sealed2, &slen2);
		FUZZ_CHECK(rc == VC_OK || rc == VC_E_NOMEM);
		if (rc == VC_OK) {
			rc = vc_snapbody_open(&keys, hdr, sizeof(hdr), sealed2, slen2, &b2);
			FUZZ_CHECK(rc == VC_OK || rc == VC_E_NOMEM);
			if (rc == VC_OK)
				check_same_body(&b, &b2);
			vc_snapbody_free(&b2);
			free(sealed2);
		}
		free(json);
	}
	vc_snapbody_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		FUZZ_CHECK(sodium_init() >= 0);
		ready = 1;
	}
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_body(data + 1, size - 1);
	else
		fuzz_tree(data + 1, size - 1, (data[0] & 2) ? 2 : 1);
	return 0;
}
