#ifndef CHUNKER_H
#define CHUNKER_H
/*
 * Content-defined chunking (spec/chunker.md): FastCDC-style normalized
 * chunking with a gear table derived from a secret 32-byte seed, so that
 * someone without the seed cannot predict where the boundaries fall.
 *
 * The interface streams: the caller feeds the input in buffers of any size
 * and the boundaries depend only on the bytes, never on how they were split.
 *
 *	struct vc_chunker *c = vc_chunker_new(seed, NULL);
 *	while ((len = read_some(buf)) > 0) {
 *		for (size_t off = 0; off < len; ) {
 *			int cut;
 *			size_t n = vc_chunker_next(c, buf + off, len - off, &cut);
 *			append_to_chunk(buf + off, n);
 *			off += n;
 *			if (cut)
 *				finish_chunk();
 *		}
 *	}
 *	finish_chunk_if_not_empty();	(end of input ends the last chunk)
 */
#include <stddef.h>
#include <stdint.h>

/* Length of the gear seed (a subkey of the master key, DESIGN.md). */
#define VC_CHUNKER_SEED_LEN 32

/* Number of gear table entries (one per byte value). */
#define VC_CHUNKER_GEAR_LEN 256

/* Default sizes (spec/chunker.md, "Parameters"). */
#define VC_CHUNKER_MIN_DEFAULT ((size_t)256 * 1024)
#define VC_CHUNKER_AVG_DEFAULT ((size_t)1024 * 1024)
#define VC_CHUNKER_MAX_DEFAULT ((size_t)4 * 1024 * 1024)

/* Normalization level: MaskS has avg_bits + level one bits, MaskL
 * avg_bits - level. */
#define VC_CHUNKER_NORMALIZATION 2

/* Limits on avg_size: a power of two 2^k with k in [MIN_BITS, MAX_BITS]. */
#define VC_CHUNKER_AVG_MIN_BITS 4
#define VC_CHUNKER_AVG_MAX_BITS 30

/*
 * Chunk sizes in bytes. Valid when avg_size is a power of two within the
 * limits above and min_size < avg_size < max_size <= 2^32. Chunks other
 * than the last of a stream are between min_size + 1 and max_size bytes.
 */
struct vc_chunker_params {
	size_t min_size;
	size_t avg_size;
	size_t max_size;
};

struct vc_chunker;

/*
 * Creates a chunker whose gear table is derived from the seed
 * (VC_CHUNKER_SEED_LEN bytes), with the sizes in p, or the defaults when p
 * is NULL. The chunker is at the start of a stream. Returns the chunker,
 * which the caller frees with vc_chunker_free(), or NULL when p is invalid,
 * memory runs out or libsodium cannot initialise.
 */
struct vc_chunker *vc_chunker_new(const uint8_t seed[VC_CHUNKER_SEED_LEN],
    const struct vc_chunker_params *p);

/*
 * Scans at most len bytes of buf, the next bytes of the stream, and returns
 * how many of them belong to the current chunk. Sets *cut to 1 when the
 * current chunk ends after those bytes (the next call starts a new chunk),
 * or to 0 when all len bytes were taken and the chunk goes on. The return
 * value is len whenever *cut is 0, and at least 1 whenever len > 0. With
 * len == 0 it returns 0 and sets *cut to 0. The end of the stream is not
 * signalled: whatever the caller holds then is the last chunk.
 */
size_t vc_chunker_next(struct vc_chunker *c, const uint8_t *buf, size_t len,
    int *cut);

/*
 * Starts a new stream: forgets the bytes of the current chunk. The seed and
 * sizes stay.
 */
void vc_chunker_reset(struct vc_chunker *c);

/*
 * Copies the chunker's sizes (the defaults filled in) into *p.
 */
void vc_chunker_params_get(const struct vc_chunker *c,
    struct vc_chunker_params *p);

/*
 * Frees the chunker and wipes its gear table. Does nothing when c is NULL.
 */
void vc_chunker_free(struct vc_chunker *c);

#endif
