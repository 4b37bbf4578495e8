#ifndef VC_PACK_H
#define VC_PACK_H
/*
 * Packs and index segments (spec/pack.md).
 *
 * A pack (object kind "pack") is a header, the sealed chunks of
 * spec/client-crypto.md 5 back to back, an encrypted map of those chunks and
 * a fixed trailer:
 *
 *	"VAULTPAK" 0x01 | blob 0 | blob 1 | ... | sealed map | le32 M | "VAULTMAP"
 *
 * An index segment (object kind "index") lists the maps of many packs, so a
 * client learns where every chunk lives without reading the packs:
 *
 *	"VAULTIDX" 0x01 | nonce | AEAD(index key, nonce, "VAULTIDX" 0x01, entries)
 *
 * Both are encrypted with the index key (struct vc_keys.index) and a random
 * nonce. Every length below is the one the spec names.
 */
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define VC_PACK_MAGIC "VAULTPAK"
#define VC_PACK_MAGIC_LEN 8
#define VC_PACK_VERSION 1
#define VC_PACK_HEADER_LEN (VC_PACK_MAGIC_LEN + 1)              /* 9 */
#define VC_PACK_MAP_MAGIC "VAULTMAP"
#define VC_PACK_TRAILER_LEN (4 + VC_PACK_MAGIC_LEN)             /* 12 */
/* Sizes: a pack is closed once it reaches the target; none is bigger than
 * VC_PACK_SIZE_MAX (offsets are le32). */
#define VC_PACK_TARGET_DEFAULT ((size_t)16 << 20)
#define VC_PACK_SIZE_MAX ((uint64_t)1 << 30)
#define VC_PACK_CHUNKS_MAX ((uint32_t)1 << 20)

/* One map entry, 45 bytes on the wire: u8 type, id32, le32 offset,
 * le32 sealed length, le32 plain length. */
#define VC_PACK_ENTRY_LEN (1 + VC_ID_LEN + 4 + 4 + 4)
#define VC_CHUNK_TYPE_DATA 0  /* file contents */
#define VC_CHUNK_TYPE_TREE 1  /* a piece of a snapshot's tree stream (spec/tree.md) */

#define VC_INDEX_MAGIC "VAULTIDX"
#define VC_INDEX_VERSION 1
#define VC_INDEX_HEADER_LEN (VC_PACK_MAGIC_LEN + 1)             /* 9 */
#define VC_INDEX_PACKS_MAX ((uint32_t)1 << 20)
#define VC_INDEX_PLAIN_MAX ((size_t)256 << 20)

struct vc_pack_entry {
	uint8_t type;             /* VC_CHUNK_TYPE_* */
	uint8_t id[VC_ID_LEN];    /* chunk ID */
	uint32_t offset;          /* of the sealed blob, from the start of the pack */
	uint32_t sealed_len;      /* bytes of the sealed blob */
	uint32_t plain_len;       /* bytes of the chunk's plaintext */
};

/* A pack being built in memory. */
struct vc_pack_writer;

/* Creates an empty writer. Returns NULL on ENOMEM. */
struct vc_pack_writer *vc_pack_writer_new(void);

/* Appends a sealed blob (vc_seal's output) whose chunk has ID id, type type
 * and plain_len bytes of plaintext. Returns 0, VC_E_TOOBIG if the pack would
 * pass VC_PACK_SIZE_MAX or VC_PACK_CHUNKS_MAX (or plain_len VC_CHUNK_MAX),
 * VC_E_CORRUPT for an unknown type or sealed_len < VC_CHUNK_OVERHEAD (a
 * reader would refuse the pack), or -1 (out of memory). */
int vc_pack_add(struct vc_pack_writer *w, uint8_t type, const uint8_t id[VC_ID_LEN],
    const uint8_t *sealed, size_t sealed_len, uint32_t plain_len);

/*
 * Sealing straight into the pack, without a copy: vc_pack_reserve makes
 * room for max more bytes and returns where the next blob goes (valid
 * until the next call on w; NULL on ENOMEM or past VC_PACK_SIZE_MAX); the
 * caller writes a sealed blob there (vc_seal_into) and vc_pack_commit
 * records it, with the same checks and results as vc_pack_add.
 */
uint8_t *vc_pack_reserve(struct vc_pack_writer *w, size_t max);
int vc_pack_commit(struct vc_pack_writer *w, uint8_t type, const uint8_t id[VC_ID_LEN],
    size_t sealed_len, uint32_t plain_len);

/* Starts an empty writer on buf (cap bytes, malloc'ed; the writer owns it
 * from now on and vc_pack_finish hands it out as the pack), so that the
 * caller can recycle the buffers of uploaded packs. Returns 0, or
 * VC_E_CORRUPT if w is not empty or cap is under VC_PACK_HEADER_LEN. */
int vc_pack_writer_adopt(struct vc_pack_writer *w, uint8_t *buf, size_t cap);

/* Bytes the pack would have if finished now, without map and trailer, and
 * the number of blobs in it. */
size_t vc_pack_size(const struct vc_pack_writer *w);
size_t vc_pack_count(const struct vc_pack_writer *w);

/* Seals the map (random nonce, or nonce when not NULL: test vectors only),
 * gives the whole pack in *out (*outlen bytes, malloc'ed, the caller frees),
 * its object ID (SHA-256 of those bytes) in pack_id and its entries in
 * *entries (*n of them, malloc'ed, the caller frees; NULL for an empty
 * pack), and empties the writer for the next pack. Returns 0 or -1 (out of
 * memory; the writer is kept). */
int vc_pack_finish(struct vc_pack_writer *w, const struct vc_keys *keys,
    const uint8_t *nonce, uint8_t **out, size_t *outlen, uint8_t pack_id[VC_ID_LEN],
    struct vc_pack_entry **entries, size_t *n);

/* Frees the writer. NULL is ignored. */
void vc_pack_writer_free(struct vc_pack_writer *w);

/* Reads the trailer (the last VC_PACK_TRAILER_LEN bytes of a pack of
 * pack_size bytes) into the offset and length of the sealed map. Returns 0
 * or VC_E_CORRUPT. */
int vc_pack_trailer(const uint8_t trailer[VC_PACK_TRAILER_LEN], uint64_t pack_size,
    uint64_t *map_off, uint32_t *map_len);

/* Opens a sealed map of map_len bytes read from a pack of pack_size bytes
 * and checks every entry against the pack's layout (blobs back to back from
 * VC_PACK_HEADER_LEN up to the map). *entries (*n, malloc'ed) gets them.
 * Returns 0, VC_E_AUTH (damaged or wrong key), VC_E_CORRUPT (authentic but
 * inconsistent) or -1. */
int vc_pack_map_open(const struct vc_keys *keys, const uint8_t *map, size_t map_len,
    uint64_t pack_size, struct vc_pack_entry **entries, size_t *n);

/* vc_pack_trailer and vc_pack_map_open over a whole pack in memory; also
 * checks the header. Returns as vc_pack_map_open, and VC_E_UNSUPPORTED for
 * a pack of another version. On failure *entries is NULL. */
int vc_pack_parse(const struct vc_keys *keys, const uint8_t *pack, size_t len,
    struct vc_pack_entry **entries, size_t *n);

/* One pack's entries, for index segments. */
struct vc_index_pack {
	uint8_t pack_id[VC_ID_LEN];
	const struct vc_pack_entry *entries;
	size_t n;
};

/* Encodes and seals an index segment of npacks packs into *out (*outlen,
 * malloc'ed). nonce NULL = random. Returns 0, VC_E_TOOBIG (over the
 * VC_INDEX_* limits), VC_E_CORRUPT (entries vc_index_decode would refuse:
 * a pack listed twice, blobs not back to back from VC_PACK_HEADER_LEN, an
 * entry a map could not hold) or -1. */
int vc_index_encode(const struct vc_keys *keys, const struct vc_index_pack *packs,
    size_t npacks, const uint8_t *nonce, uint8_t **out, size_t *outlen);

/* Authenticates and decodes an index segment, calling cb for every entry
 * with its pack's ID; a non-zero return from cb stops the walk and is
 * returned. Returns 0, VC_E_CORRUPT, VC_E_UNSUPPORTED (other version),
 * VC_E_AUTH or -1. Nothing is passed to cb before the whole segment has
 * authenticated and parsed. */
int vc_index_decode(const struct vc_keys *keys, const uint8_t *buf, size_t len,
    int (*cb)(const uint8_t pack_id[VC_ID_LEN], const struct vc_pack_entry *e, void *arg),
    void *arg);

#endif
