/*
 * Fuzz driver for packs and index segments (spec/pack.md), the bytes a
 * client reads back from the vault: vc_pack_parse and vc_index_decode.
 *
 * The index key is that of spec/vectors/client-crypto.json kdf[0], so the
 * vectors of spec/vectors/pack.json are valid inputs. Byte 0 picks the mode,
 * the rest is the data:
 *   0: the data is a pack;
 *   1: the data is an index segment;
 *   2: le16 B, then a map plaintext: the driver builds a pack of B bytes of
 *      blob area and that map, sealed (fixed nonce), so that the checks after
 *      authentication are reached; what parses must be what the writer
 *      writes, byte for byte;
 *   3: the data is a segment plaintext, sealed by the driver; what decodes
 *      must encode again and decode to the same entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "fuzz.h"
#include "pack.h"

#define MAP_OVERHEAD (VC_NONCE_LEN + VC_TAG_LEN)

static const uint8_t index_key[VC_KEY_LEN] = {
	0x00, 0x67, 0xe0, 0x7c, 0x26, 0x71, 0x7e, 0x5e, 0xc9, 0x3e, 0xae, 0x45, 0xc4, 0x83,
	0x25, 0x51, 0x4b, 0x71, 0x26, 0x1f, 0x42, 0x27, 0x07, 0x18, 0xea, 0x1c, 0xa5, 0x96,
	0x03, 0x2f, 0x54, 0x76,
};
static const uint8_t fixed_nonce[VC_NONCE_LEN] = { 0x4e, 0x4f, 0x4e, 0x43, 0x45 };

static struct vc_keys keys;

static void
le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* What every parsed entry list must satisfy: blobs back to back from the
 * header to end, each a possible sealed chunk. */
static void
check_layout(const struct vc_pack_entry *e, size_t n, uint64_t end)
{
	uint64_t at = VC_PACK_HEADER_LEN;

	FUZZ_CHECK(n <= VC_PACK_CHUNKS_MAX);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(e[i].type == VC_CHUNK_TYPE_DATA || e[i].type == VC_CHUNK_TYPE_TREE);
		FUZZ_CHECK(e[i].offset == at);
		FUZZ_CHECK(e[i].sealed_len >= VC_CHUNK_OVERHEAD);
		FUZZ_CHECK(e[i].plain_len <= VC_CHUNK_MAX);
		at += e[i].sealed_len;
	}
	FUZZ_CHECK(at == end);
}

/* Whether n entries are equal field by field (not memcmp: padding). */
static int
entries_eq(const struct vc_pack_entry *a, const struct vc_pack_entry *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].type != b[i].type || memcmp(a[i].id, b[i].id, VC_ID_LEN) != 0 ||
		    a[i].offset != b[i].offset || a[i].sealed_len != b[i].sealed_len ||
		    a[i].plain_len != b[i].plain_len)
			return 0;
	return 1;
}

static void
fuzz_pack(const uint8_t *data, size_t size)
{
	struct vc_pack_entry *e = NULL, *e2 = NULL;
	uint64_t map_off;
	uint32_t map_len;
	size_t n = 0, n2 = 0;
	int rc;

	rc = vc_pack_parse(&keys, data, size, &e, &n);
	FUZZ_CHECK(rc == VC_OK || rc == VC_E_CORRUPT || rc == VC_E_UNSUPPORTED ||
	    rc == VC_E_AUTH || rc == VC_E_NOMEM);
	if (rc != VC_OK) {
		FUZZ_CHECK(e == NULL && n == 0);
		return;
	}
	FUZZ_CHECK(size <= VC_PACK_SIZE_MAX);
	FUZZ_CHECK(vc_pack_trailer(&data[size - VC_PACK_TRAILER_LEN], size, &map_off,
	    &map_len) == VC_OK);
	check_layout(e, n, map_off);
	FUZZ_CHECK(map_len == MAP_OVERHEAD + 4 + n * VC_PACK_ENTRY_LEN);
	/* The ranged-read path agrees with the whole-pack one. */
	rc = vc_pack_map_open(&keys, &data[map_off], map_len, size, &e2, &n2);
	FUZZ_CHECK(rc == VC_OK || rc == VC_E_NOMEM);
	if (rc == VC_OK)
		FUZZ_CHECK(n2 == n && entries_eq(e, e2, n));
	free(e2);
	free(e);
}

/* Entries handed out by vc_index_decode, grouped by pack as they come. */
struct groups {
	struct vc_index_pack *p;
	struct vc_pack_entry *e;
	size_t np, ne, cap_p, cap_e;
	int nomem;
};

static int
groups_cb(const uint8_t pack_id[VC_ID_LEN], const struct vc_pack_entry *e, void *arg)
{
	struct groups *g = arg;

	if (g->ne == g->cap_e) {
		size_t cap = g->cap_e ? 2 * g->cap_e : 64;
		void *p = realloc(g->e, cap * sizeof(*g->e));
		if (p == NULL)
			return g->nomem = -1;
		g->e = p;
		g->cap_e = cap;
	}
	if (g->np == 0 || memcmp(g->p[g->np - 1].pack_id, pack_id, VC_ID_LEN) != 0) {
		if (g->np == g->cap_p) {
			size_t cap = g->cap_p ? 2 * g->cap_p : 16;
			void *p = realloc(g->p, cap * sizeof(*g->p));
			if (p == NULL)
				return g->nomem = -1;
			g->p = p;
			g->cap_p = cap;
		}
		memcpy(g->p[g->np].pack_id, pack_id, VC_ID_LEN);
		/* An offset into e until the end, e may still move. */
		g->p[g->np].entries = NULL;
		g->p[g->np].n = g->ne;
		g->np++;
	}
	g->e[g->ne++] = *e;
	return 0;
}

/* Turns the start offsets of groups_cb into pointers and counts. */
static void
groups_fix(struct groups *g)
{
	for (size_t i = 0; i < g->np; i++) {
		size_t start = g->p[i].n;
		size_t end = i + 1 < g->np ? g->p[i + 1].n : g->ne;
		g->p[i].entries = &g->e[start];
		g->p[i].n = end - start;
		check_layout(g->p[i].entries, g->p[i].n,
		    g->p[i].n == 0 ? VC_PACK_HEADER_LEN :
		    (uint64_t)g->p[i].entries[g->p[i].n - 1].offset +
		    g->p[i].entries[g->p[i].n - 1].sealed_len);
	}
}

static void
groups_free(struct groups *g)
{
	free(g->p);
	free(g->e);
	memset(g, 0, sizeof(*g));
}

/* Decodes a segment; if it decodes, encodes its entries again and checks
 * that they decode the same (and, given the plaintext, that they are the
 * same bytes). Returns the decoder's result. */
static int
decode_and_reencode(const uint8_t *seg, size_t len, const uint8_t *plain, size_t plen)
{
	struct groups g = { 0 }, g2 = { 0 };
	uint8_t *out = NULL;
	size_t outlen = 0;
	int rc, rc2;

	rc = vc_index_decode(&keys, seg, len, groups_cb, &g);
	FUZZ_CHECK(rc == VC_OK || rc == VC_E_CORRUPT || rc == VC_E_UNSUPPORTED ||
	    rc == VC_E_AUTH || rc == VC_E_NOMEM);
	if (rc != VC_OK) {
		/* Nothing reaches the callback before the whole segment checks. */
		FUZZ_CHECK(g.ne == 0 || g.nomem);
		goto out;
	}
	groups_fix(&g);
	rc2 = vc_index_encode(&keys, g.p, g.np, fixed_nonce, &out, &outlen);
	FUZZ_CHECK(rc2 == VC_OK || rc2 == VC_E_NOMEM);
	if (rc2 != VC_OK)
		goto out;
	/* Without empty packs (which have no entries to hand out) and under
	 * the same nonce, the encoding is the very same bytes. */
	if (plain != NULL && plen >= 4 &&
	    (size_t)plain[0] + ((size_t)plain[1] << 8) + ((size_t)plain[2] << 16) +
	    ((size_t)plain[3] << 24) == g.np)
		FUZZ_CHECK(outlen == len && memcmp(out, seg, len) == 0);
	rc2 = vc_index_decode(&keys, out, outlen, groups_cb, &g2);
	FUZZ_CHECK(rc2 == VC_OK || rc2 == VC_E_NOMEM);
	if (rc2 == VC_OK)
		FUZZ_CHECK(g2.ne == g.ne && entries_eq(g2.e, g.e, g.ne));
out:
	free(out);
	groups_free(&g);
	groups_free(&g2);
	return rc;
}

/* Seals plain as the plaintext of a segment under the fixed nonce. */
static void
fuzz_segment_plain(const uint8_t *plain, size_t plen)
{
	uint8_t *seg;
	size_t len;

	if (plen > (1u << 20))
		return;
	len = VC_INDEX_HEADER_LEN + VC_NONCE_LEN + plen + VC_TAG_LEN;
	if ((seg = malloc(len)) == NULL)
		return;
	memcpy(seg, VC_INDEX_MAGIC, VC_PACK_MAGIC_LEN);
	seg[VC_PACK_MAGIC_LEN] = VC_INDEX_VERSION;
	memcpy(&seg[VC_INDEX_HEADER_LEN], fixed_nonce, VC_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(&seg[VC_INDEX_HEADER_LEN + VC_NONCE_LEN],
	    NULL, plain, plen, seg, VC_INDEX_HEADER_LEN, NULL, fixed_nonce, keys.index);
	decode_and_reencode(seg, len, plain, plen);
	free(seg);
}

/* The pack the writer makes of the blobs e describes in pack (same nonce)
 * must be the very bytes of pack. */
static void
check_rewrite(const uint8_t *pack, size_t len, const struct vc_pack_entry *e, size_t n)
{
	struct vc_pack_writer *w = vc_pack_writer_new();
	struct vc_pack_entry *e2 = NULL;
	uint8_t *out = NULL, pid[VC_ID_LEN];
	size_t outlen, n2;
	int rc = VC_OK;

	if (w == NULL)
		return;
	for (size_t i = 0; i < n && rc == VC_OK; i++) {
		rc = vc_pack_add(w, e[i].type, e[i].id, &pack[e[i].offset], e[i].sealed_len,
		    e[i].plain_len);
		FUZZ_CHECK(rc == VC_OK || rc == VC_E_NOMEM);
	}
	if (rc == VC_OK && vc_pack_finish(w, &keys, fixed_nonce, &out, &outlen, pid, &e2,
	    &n2) == VC_OK) {
		FUZZ_CHECK(outlen == len && memcmp(out, pack, len) == 0);
		FUZZ_CHECK(n2 == n && entries_eq(e2, e, n));
	}
	free(out);
	free(e2);
	vc_pack_writer_free(w);
}

/* le16 B, then a map plaintext: sealed into a pack with B bytes of blobs. */
static void
fuzz_map_plain(const uint8_t *data, size_t size)
{
	struct vc_pack_entry *e = NULL;
	size_t blobs, plen, len, n = 0;
	uint8_t *pack, *at;
	int rc;

	if (size < 2)
		return;
	blobs = (size_t)data[0] | (size_t)data[1] << 8;
	data += 2;
	plen = size - 2;
	len = VC_PACK_HEADER_LEN + blobs + MAP_OVERHEAD + plen + VC_PACK_TRAILER_LEN;
	if ((pack = calloc(1, len)) == NULL)
		return;
	memcpy(pack, VC_PACK_MAGIC, VC_PACK_MAGIC_LEN);
	pack[VC_PACK_MAGIC_LEN] = VC_PACK_VERSION;
	/* Blob bytes the writer will copy back; their contents do not matter. */
	for (size_t i = 0; i < blobs; i++)
		pack[VC_PACK_HEADER_LEN + i] = (uint8_t)i;
	at = &pack[VC_PACK_HEADER_LEN + blobs];
	memcpy(at, fixed_nonce, VC_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(at + VC_NONCE_LEN, NULL, data, plen, pack,
	    VC_PACK_HEADER_LEN, NULL, fixed_nonce, keys.index);
	le32_put(&pack[len - VC_PACK_TRAILER_LEN], (uint32_t)(MAP_OVERHEAD + plen));
	memcpy(&pack[len - VC_PACK_MAGIC_LEN], VC_PACK_MAP_MAGIC, VC_PACK_MAGIC_LEN);
	rc = vc_pack_parse(&keys, pack, len, &e, &n);
	/* It authenticates by construction, whatever the map says. */
	FUZZ_CHECK(rc == VC_OK || rc == VC_E_CORRUPT || rc == VC_E_NOMEM);
	if (rc == VC_OK) {
		check_layout(e, n, VC_PACK_HEADER_LEN + blobs);
		check_rewrite(pack, len, e, n);
	}
	free(e);
	free(pack);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		FUZZ_CHECK(sodium_init() >= 0);
		memcpy(keys.index, index_key, VC_KEY_LEN);
		ready = 1;
	}
	if (size == 0)
		return 0;
	switch (data[0] & 3) {
	case 0:
		fuzz_pack(data + 1, size - 1);
		break;
	case 1:
		decode_and_reencode(data + 1, size - 1, NULL, 0);
		break;
	case 2:
		fuzz_map_plain(data + 1, size - 1);
		break;
	default:
		fuzz_segment_plain(data + 1, size - 1);
		break;
	}
	return 0;
}
