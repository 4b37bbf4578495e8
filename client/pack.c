/*
 * Packs and index segments; the formats are spec/pack.md.
 *
 * A reader authenticates before it parses, then checks every entry against
 * the layout it describes, because authentic means only "written by a
 * holder of the keys", which includes a buggy client. A writer checks its
 * input against the same rules, so that it never writes what a reader
 * refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pack.h"
#include "le.h"
#include "sha256.h"

/* Sizes from spec/pack.md, each derived from the ones before. */
#define COUNT_LEN 4                                     /* le32 N or P */
#define ENTRY_OFF_TYPE 0
#define ENTRY_OFF_ID (ENTRY_OFF_TYPE + 1)
#define ENTRY_OFF_OFFSET (ENTRY_OFF_ID + VC_ID_LEN)
#define ENTRY_OFF_SEALED (ENTRY_OFF_OFFSET + 4)
#define ENTRY_OFF_PLAIN (ENTRY_OFF_SEALED + 4)
#define MAP_PLAIN_LEN(n) (COUNT_LEN + (uint64_t)(n) * VC_PACK_ENTRY_LEN)
#define MAP_OVERHEAD (VC_NONCE_LEN + VC_TAG_LEN)        /* sealed map - plaintext */
#define MAP_SEALED_LEN(n) (MAP_OVERHEAD + MAP_PLAIN_LEN(n))
#define MAP_SEALED_MIN MAP_SEALED_LEN(0)                /* 44 */
#define PACK_MIN (VC_PACK_HEADER_LEN + MAP_SEALED_MIN + VC_PACK_TRAILER_LEN)  /* 65 */
#define IDX_NONCE_OFF VC_INDEX_HEADER_LEN
#define IDX_CT_OFF (IDX_NONCE_OFF + VC_NONCE_LEN)        /* 33 */
#define IDX_MIN (IDX_CT_OFF + COUNT_LEN + VC_TAG_LEN)   /* 53 */
#define GROUP_HEAD_LEN (VC_ID_LEN + COUNT_LEN)          /* pack ID, le32 N */

_Static_assert(VC_PACK_ENTRY_LEN == 45, "entry size in spec/pack.md");
_Static_assert(ENTRY_OFF_PLAIN + 4 == VC_PACK_ENTRY_LEN, "entry layout");
_Static_assert(sizeof(VC_PACK_MAGIC) - 1 == VC_PACK_MAGIC_LEN, "pack magic");
_Static_assert(sizeof(VC_PACK_MAP_MAGIC) - 1 == VC_PACK_MAGIC_LEN, "map magic");
_Static_assert(sizeof(VC_INDEX_MAGIC) - 1 == VC_PACK_MAGIC_LEN, "index magic");
_Static_assert(PACK_MIN == 65, "smallest pack in spec/pack.md");
_Static_assert(VC_PACK_SIZE_MAX <= UINT32_MAX, "offsets are le32");
_Static_assert(VC_INDEX_PLAIN_MAX < SIZE_MAX - IDX_MIN, "segment size fits a size_t");
_Static_assert(VC_PACK_SIZE_MAX < SIZE_MAX, "pack size fits a size_t");

/* The associated data of a map and of a segment: their 9 header bytes. */
static const uint8_t pack_ad[VC_PACK_HEADER_LEN] = {
	'V', 'A', 'U', 'L', 'T', 'P', 'A', 'K', VC_PACK_VERSION
};
static const uint8_t index_ad[VC_INDEX_HEADER_LEN] = {
	'V', 'A', 'U', 'L', 'T', 'I', 'D', 'X', VC_INDEX_VERSION
};

struct vc_pack_writer {
	uint8_t *buf;                  /* header and blobs; NULL until the first add */
	size_t len, cap;
	struct vc_pack_entry *entries;
	size_t n, ncap;
};

/* The fields of one entry every reader checks on its own (spec/pack.md,
 * "Entries"); the layout checks need its neighbours. */
static int
entry_ok(const struct vc_pack_entry *e)
{
	return (e->type == VC_CHUNK_TYPE_DATA || e->type == VC_CHUNK_TYPE_TREE) &&
	    e->sealed_len >= VC_CHUNK_OVERHEAD && e->plain_len <= VC_CHUNK_MAX;
}

static void
entry_put(uint8_t *p, const struct vc_pack_entry *e)
{
	p[ENTRY_OFF_TYPE] = e->type;
	memcpy(&p[ENTRY_OFF_ID], e->id, VC_ID_LEN);
	le32_put(&p[ENTRY_OFF_OFFSET], e->offset);
	le32_put(&p[ENTRY_OFF_SEALED], e->sealed_len);
	le32_put(&p[ENTRY_OFF_PLAIN], e->plain_len);
}

static void
entry_get(const uint8_t *p, struct vc_pack_entry *e)
{
	e->type = p[ENTRY_OFF_TYPE];
	memcpy(e->id, &p[ENTRY_OFF_ID], VC_ID_LEN);
	e->offset = le32_get(&p[ENTRY_OFF_OFFSET]);
	e->sealed_len = le32_get(&p[ENTRY_OFF_SEALED]);
	e->plain_len = le32_get(&p[ENTRY_OFF_PLAIN]);
}

/*
 * Checks n encoded entries at p as the blobs of one pack: each entry valid
 * by itself, the first at VC_PACK_HEADER_LEN, each next one where the one
 * before ends. *end gets where the last one ends (VC_PACK_HEADER_LEN for
 * none). Returns 0 or VC_E_CORRUPT.
 */
static int
entries_check(const uint8_t *p, size_t n, uint64_t *end)
{
	struct vc_pack_entry e;
	uint64_t at = VC_PACK_HEADER_LEN;

	for (size_t i = 0; i < n; i++) {
		entry_get(&p[i * VC_PACK_ENTRY_LEN], &e);
		if (!entry_ok(&e) || e.offset != at)
			return VC_E_CORRUPT;
		at += e.sealed_len;
		if (at > VC_PACK_SIZE_MAX)
			return VC_E_CORRUPT;
	}
	*end = at;
	return VC_OK;
}

struct vc_pack_writer *
vc_pack_writer_new(void)
{
	return calloc(1, sizeof(struct vc_pack_writer));
}

void
vc_pack_writer_free(struct vc_pack_writer *w)
{
	if (w == NULL)
		return;
	free(w->buf);
	free(w->entries);
	free(w);
}

size_t
vc_pack_size(const struct vc_pack_writer *w)
{
	return w->buf == NULL ? VC_PACK_HEADER_LEN : w->len;
}

size_t
vc_pack_count(const struct vc_pack_writer *w)
{
	return w->n;
}

/* Makes room for need bytes in all in w->buf (header written on first
 * use), doubling. need is at most VC_PACK_SIZE_MAX. Returns 0 or -1. */
static int
buf_reserve(struct vc_pack_writer *w, size_t need)
{
	size_t cap = w->cap == 0 ? 4096 : w->cap;
	uint8_t *p;

	if (need <= w->cap)
		return VC_OK;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(w->buf, cap)) == NULL)
		return VC_E_NOMEM;
	if (w->buf == NULL) {
		memcpy(p, VC_PACK_MAGIC, VC_PACK_MAGIC_LEN);
		p[VC_PACK_MAGIC_LEN] = VC_PACK_VERSION;
		w->len = VC_PACK_HEADER_LEN;
	}
	w->buf = p;
	w->cap = cap;
	return VC_OK;
}

uint8_t *
vc_pack_reserve(struct vc_pack_writer *w, size_t max)
{
	size_t at = vc_pack_size(w);

	if (max > VC_PACK_SIZE_MAX || buf_reserve(w, at + max) != VC_OK)
		return NULL;
	return &w->buf[at];
}

int
vc_pack_commit(struct vc_pack_writer *w, uint8_t type, const uint8_t id[VC_ID_LEN],
    size_t sealed_len, uint32_t plain_len)
{
	struct vc_pack_entry e;
	size_t at = vc_pack_size(w);
	uint64_t need;

	if (plain_len > VC_CHUNK_MAX)
		return VC_E_TOOBIG;
	if ((type != VC_CHUNK_TYPE_DATA && type != VC_CHUNK_TYPE_TREE) ||
	    sealed_len < VC_CHUNK_OVERHEAD || w->buf == NULL || w->cap - at < sealed_len)
		return VC_E_CORRUPT;
	/* The finished pack, with one more entry in its map, must fit. */
	if (w->n + 1 > VC_PACK_CHUNKS_MAX)
		return VC_E_TOOBIG;
	need = (uint64_t)at + MAP_SEALED_LEN(w->n + 1) + VC_PACK_TRAILER_LEN;
	if (need > VC_PACK_SIZE_MAX || VC_PACK_SIZE_MAX - need < sealed_len)
		return VC_E_TOOBIG;
	if (w->n == w->ncap) {
		size_t ncap = w->ncap == 0 ? 64 : 2 * w->ncap;
		struct vc_pack_entry *ne = realloc(w->entries, ncap * sizeof(*ne));
		if (ne == NULL)
			return VC_E_NOMEM;
		w->entries = ne;
		w->ncap = ncap;
	}
	e.type = type;
	memcpy(e.id, id, VC_ID_LEN);
	e.offset = (uint32_t)w->len;
	e.sealed_len = (uint32_t)sealed_len;
	e.plain_len = plain_len;
	w->entries[w->n++] = e;
	w->len += sealed_len;
	return VC_OK;
}

int
vc_pack_add(struct vc_pack_writer *w, uint8_t type, const uint8_t id[VC_ID_LEN],
    const uint8_t *sealed, size_t sealed_len, uint32_t plain_len)
{
	uint8_t *at;

	/* The same checks as vc_pack_commit, before anything is copied. */
	if (plain_len > VC_CHUNK_MAX)
		return VC_E_TOOBIG;
	if ((type != VC_CHUNK_TYPE_DATA && type != VC_CHUNK_TYPE_TREE) ||
	    sealed_len < VC_CHUNK_OVERHEAD)
		return VC_E_CORRUPT;
	if (w->n + 1 > VC_PACK_CHUNKS_MAX ||
	    (uint64_t)vc_pack_size(w) + MAP_SEALED_LEN(w->n + 1) + VC_PACK_TRAILER_LEN +
	    sealed_len > VC_PACK_SIZE_MAX)
		return VC_E_TOOBIG;
	if ((at = vc_pack_reserve(w, sealed_len)) == NULL)
		return VC_E_NOMEM;
	memcpy(at, sealed, sealed_len);
	return vc_pack_commit(w, type, id, sealed_len, plain_len);
}

int
vc_pack_writer_adopt(struct vc_pack_writer *w, uint8_t *buf, size_t cap)
{
	if (w->buf != NULL || w->n != 0 || cap < VC_PACK_HEADER_LEN)
		return VC_E_CORRUPT;
	memcpy(buf, VC_PACK_MAGIC, VC_PACK_MAGIC_LEN);
	buf[VC_PACK_MAGIC_LEN] = VC_PACK_VERSION;
	w->buf = buf;
	w->cap = cap;
	w->len = VC_PACK_HEADER_LEN;
	return VC_OK;
}

int
vc_pack_finish(struct vc_pack_writer *w, const struct vc_keys *keys,
    const uint8_t *nonce, uint8_t **out, size_t *outlen, uint8_t pack_id[VC_ID_LEN],
    struct vc_pack_entry **entries, size_t *n)
{
	size_t map_off, plain_len, total;
	uint8_t *nonce_at, *plain;

	*out = NULL;
	*outlen = 0;
	*entries = NULL;
	*n = 0;
	/* vc_pack_add kept the total under VC_PACK_SIZE_MAX. */
	map_off = vc_pack_size(w);
	plain_len = (size_t)MAP_PLAIN_LEN(w->n);
	total = map_off + MAP_OVERHEAD + plain_len + VC_PACK_TRAILER_LEN;
	if (buf_reserve(w, total) != VC_OK)
		return VC_E_NOMEM;
	nonce_at = &w->buf[map_off];
	plain = nonce_at + VC_NONCE_LEN;
	if (nonce != NULL)
		memcpy(nonce_at, nonce, VC_NONCE_LEN);
	else
		randombytes_buf(nonce_at, VC_NONCE_LEN);
	le32_put(plain, (uint32_t)w->n);
	for (size_t i = 0; i < w->n; i++)
		entry_put(&plain[COUNT_LEN + i * VC_PACK_ENTRY_LEN], &w->entries[i]);
	/* In place: libsodium allows the ciphertext to overwrite the message. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(plain, NULL, plain, plain_len, pack_ad,
	    sizeof(pack_ad), NULL, nonce_at, keys->index);
	le32_put(&w->buf[total - VC_PACK_TRAILER_LEN], (uint32_t)(MAP_OVERHEAD + plain_len));
	memcpy(&w->buf[total - VC_PACK_MAGIC_LEN], VC_PACK_MAP_MAGIC, VC_PACK_MAGIC_LEN);
	/* The only failure of OpenSSL's one-shot digest is its allocation. */
	if (sha256_buf(w->buf, total, pack_id) != 0)
		return VC_E_NOMEM;
	*out = w->buf;
	*outlen = total;
	*entries = w->entries;
	*n = w->n;
	memset(w, 0, sizeof(*w));
	return VC_OK;
}

int
vc_pack_trailer(const uint8_t trailer[VC_PACK_TRAILER_LEN], uint64_t pack_size,
    uint64_t *map_off, uint32_t *map_len)
{
	uint32_t m = le32_get(trailer);

	if (pack_size < PACK_MIN || pack_size > VC_PACK_SIZE_MAX ||
	    memcmp(&trailer[COUNT_LEN], VC_PACK_MAP_MAGIC, VC_PACK_MAGIC_LEN) != 0 ||
	    m < MAP_SEALED_MIN ||
	    m > pack_size - VC_PACK_HEADER_LEN - VC_PACK_TRAILER_LEN)
		return VC_E_CORRUPT;
	*map_off = pack_size - VC_PACK_TRAILER_LEN - m;
	*map_len = m;
	return VC_OK;
}

int
vc_pack_map_open(const struct vc_keys *keys, const uint8_t *map, size_t map_len,
    uint64_t pack_size, struct vc_pack_entry **entries, size_t *n)
{
	struct vc_pack_entry *ents;
	uint64_t map_off, end;
	uint8_t *plain;
	size_t plen, count;
	int rc;

	*entries = NULL;
	*n = 0;
	if (pack_size < PACK_MIN || pack_size > VC_PACK_SIZE_MAX ||
	    map_len < MAP_SEALED_MIN || map_len > MAP_SEALED_LEN(VC_PACK_CHUNKS_MAX) ||
	    pack_size - VC_PACK_HEADER_LEN - VC_PACK_TRAILER_LEN < map_len)
		return VC_E_CORRUPT;
	map_off = pack_size - VC_PACK_TRAILER_LEN - map_len;
	plen = map_len - MAP_OVERHEAD;
	if ((plain = malloc(plen)) == NULL)
		return VC_E_NOMEM;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, &map[VC_NONCE_LEN],
	    map_len - VC_NONCE_LEN, pack_ad, sizeof(pack_ad), map, keys->index) != 0) {
		rc = VC_E_AUTH;
		goto err0;
	}
	/* Authentic from here on; still checked, in case of a buggy writer. */
	count = le32_get(plain);
	if (count > VC_PACK_CHUNKS_MAX || MAP_PLAIN_LEN(count) != plen ||
	    entries_check(&plain[COUNT_LEN], count, &end) != VC_OK || end != map_off) {
		rc = VC_E_CORRUPT;
		goto err0;
	}
	if ((ents = malloc(count == 0 ? 1 : count * sizeof(*ents))) == NULL) {
		rc = VC_E_NOMEM;
		goto err0;
	}
	for (size_t i = 0; i < count; i++)
		entry_get(&plain[COUNT_LEN + i * VC_PACK_ENTRY_LEN], &ents[i]);
	*entries = ents;
	*n = count;
	rc = VC_OK;

err0:
	sodium_memzero(plain, plen);
	free(plain);
	return rc;
}

int
vc_pack_parse(const struct vc_keys *keys, const uint8_t *pack, size_t len,
    struct vc_pack_entry **entries, size_t *n)
{
	uint64_t map_off;
	uint32_t map_len;
	int rc;

	*entries = NULL;
	*n = 0;
	/* Magic and version first: a later version may have another layout. */
	if (len < VC_PACK_HEADER_LEN || memcmp(pack, VC_PACK_MAGIC, VC_PACK_MAGIC_LEN) != 0)
		return VC_E_CORRUPT;
	if (pack[VC_PACK_MAGIC_LEN] != VC_PACK_VERSION)
		return VC_E_UNSUPPORTED;
	if (len < PACK_MIN)
		return VC_E_CORRUPT;
	rc = vc_pack_trailer(&pack[len - VC_PACK_TRAILER_LEN], len, &map_off, &map_len);
	if (rc != VC_OK)
		return rc;
	return vc_pack_map_open(keys, &pack[map_off], map_len, len, entries, n);
}

/* Compares two 32-byte IDs through pointers to them (qsort). */
static int
id_ptr_cmp(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, VC_ID_LEN);
}

/*
 * Checks an index segment's plaintext (plen bytes) against spec/pack.md:
 * P and every group's N within their limits and consistent with the size,
 * every group's entries the blobs of a pack that fits VC_PACK_SIZE_MAX, and
 * no pack twice. Returns 0, VC_E_CORRUPT or -1.
 */
static int
index_check(const uint8_t *plain, size_t plen)
{
	const uint8_t **ids;
	size_t npacks, at = COUNT_LEN;
	uint64_t end;
	int rc = VC_E_CORRUPT;

	if (plen < COUNT_LEN)
		return VC_E_CORRUPT;
	npacks = le32_get(plain);
	/* Each group takes at least GROUP_HEAD_LEN bytes: this bounds the
	 * allocation below by the input's size. */
	if (npacks > VC_INDEX_PACKS_MAX || npacks > (plen - COUNT_LEN) / GROUP_HEAD_LEN)
		return VC_E_CORRUPT;
	if ((ids = malloc(npacks == 0 ? 1 : npacks * sizeof(*ids))) == NULL)
		return VC_E_NOMEM;
	for (size_t i = 0; i < npacks; i++) {
		size_t count;
		if (plen - at < GROUP_HEAD_LEN)
			goto err0;
		ids[i] = &plain[at];
		count = le32_get(&plain[at + VC_ID_LEN]);
		at += GROUP_HEAD_LEN;
		if (count > VC_PACK_CHUNKS_MAX || (plen - at) / VC_PACK_ENTRY_LEN < count ||
		    entries_check(&plain[at], count, &end) != VC_OK ||
		    VC_PACK_SIZE_MAX - end < MAP_SEALED_LEN(count) + VC_PACK_TRAILER_LEN)
			goto err0;
		at += count * VC_PACK_ENTRY_LEN;
	}
	if (at != plen)
		goto err0;
	qsort(ids, npacks, sizeof(*ids), id_ptr_cmp);
	for (size_t i = 1; i < npacks; i++)
		if (memcmp(ids[i - 1], ids[i], VC_ID_LEN) == 0)
			goto err0;
	rc = VC_OK;

err0:
	free(ids);
	return rc;
}


int
vc_index_encode(const struct vc_keys *keys, const struct vc_index_pack *packs,
    size_t npacks, const uint8_t *nonce, uint8_t **out, size_t *outlen)
{
	uint64_t plen = COUNT_LEN;
	uint8_t *b, *p;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (npacks > VC_INDEX_PACKS_MAX)
		return VC_E_TOOBIG;
	for (size_t i = 0; i < npacks; i++) {
		if (packs[i].n > VC_PACK_CHUNKS_MAX)
			return VC_E_TOOBIG;
		plen += GROUP_HEAD_LEN + (uint64_t)packs[i].n * VC_PACK_ENTRY_LEN;
		if (plen > VC_INDEX_PLAIN_MAX)
			return VC_E_TOOBIG;
	}
	if ((b = malloc(IDX_CT_OFF + (size_t)plen + VC_TAG_LEN)) == NULL)
		return VC_E_NOMEM;
	memcpy(b, index_ad, VC_INDEX_HEADER_LEN);
	if (nonce != NULL)
		memcpy(&b[IDX_NONCE_OFF], nonce, VC_NONCE_LEN);
	else
		randombytes_buf(&b[IDX_NONCE_OFF], VC_NONCE_LEN);
	p = &b[IDX_CT_OFF];
	le32_put(p, (uint32_t)npacks);
	p += COUNT_LEN;
	for (size_t i = 0; i < npacks; i++) {
		memcpy(p, packs[i].pack_id, VC_ID_LEN);
		le32_put(p + VC_ID_LEN, (uint32_t)packs[i].n);
		p += GROUP_HEAD_LEN;
		for (size_t j = 0; j < packs[i].n; j++, p += VC_PACK_ENTRY_LEN)
			entry_put(p, &packs[i].entries[j]);
	}
	/* The reader's checks, so that we never store what it refuses. */
	if ((rc = index_check(&b[IDX_CT_OFF], (size_t)plen)) != VC_OK)
		goto err0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(&b[IDX_CT_OFF], NULL, &b[IDX_CT_OFF],
	    (size_t)plen, index_ad, sizeof(index_ad), NULL, &b[IDX_NONCE_OFF], keys->index);
	*out = b;
	*outlen = IDX_CT_OFF + (size_t)plen + VC_TAG_LEN;
	return VC_OK;

err0:
	free(b);
	return rc;
}

int
vc_index_decode(const struct vc_keys *keys, const uint8_t *buf, size_t len,
    int (*cb)(const uint8_t pack_id[VC_ID_LEN], const struct vc_pack_entry *e, void *arg),
    void *arg)
{
	struct vc_pack_entry e;
	uint8_t *plain;
	size_t plen, npacks, at = COUNT_LEN;
	int rc;

	if (len < VC_INDEX_HEADER_LEN || memcmp(buf, VC_INDEX_MAGIC, VC_PACK_MAGIC_LEN) != 0)
		return VC_E_CORRUPT;
	if (buf[VC_PACK_MAGIC_LEN] != VC_INDEX_VERSION)
		return VC_E_UNSUPPORTED;
	if (len < IDX_MIN || len - IDX_CT_OFF - VC_TAG_LEN > VC_INDEX_PLAIN_MAX)
		return VC_E_CORRUPT;
	plen = len - IDX_CT_OFF - VC_TAG_LEN;
	if ((plain = malloc(plen)) == NULL)
		return VC_E_NOMEM;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, &buf[IDX_CT_OFF],
	    len - IDX_CT_OFF, index_ad, sizeof(index_ad), &buf[IDX_NONCE_OFF],
	    keys->index) != 0) {
		rc = VC_E_AUTH;
		goto err0;
	}
	if ((rc = index_check(plain, plen)) != VC_OK)
		goto err0;
	/* The whole segment is authentic and consistent: hand it out. */
	npacks = le32_get(plain);
	for (size_t i = 0; i < npacks && rc == 0; i++) {
		const uint8_t *pack_id = &plain[at];
		size_t count = le32_get(&plain[at + VC_ID_LEN]);
		at += GROUP_HEAD_LEN;
		for (size_t j = 0; j < count && rc == 0; j++, at += VC_PACK_ENTRY_LEN) {
			entry_get(&plain[at], &e);
			rc = cb(pack_id, &e, arg);
		}
	}

err0:
	sodium_memzero(plain, plen);
	free(plain);
	return rc;
}
