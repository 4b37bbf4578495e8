/*
 * Content-defined chunking (spec/chunker.md, client/chunker.h).
 *
 * A chunk's first min_size bytes are skipped without hashing (no cut can
 * fall there), then each byte updates h = (h << 1) + gear[byte] and the
 * chunk ends after the byte where (h & mask) == 0: MaskS, the harder test,
 * while the chunk is at most avg_size long, MaskL after, and a forced cut at
 * max_size. The state between calls is just the chunk length so far and h,
 * which is what makes the boundaries independent of how input is split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chunker.h"
#include "le.h"

/* Gear entries drawn from one BLAKE2b-512 output (64 bytes / 8). */
#define GEAR_PER_BLOCK (crypto_generichash_BYTES_MAX / sizeof(uint64_t))
#define GEAR_BLOCKS (VC_CHUNKER_GEAR_LEN / GEAR_PER_BLOCK)

/* Chunk sizes are at most 2^32 so that a size always fits in uint64_t
 * arithmetic with room to spare and the masks keep some bits. */
#define CHUNK_SIZE_LIMIT ((size_t)1 << 32)

struct vc_chunker {
	uint64_t gear[VC_CHUNKER_GEAR_LEN];
	uint64_t mask_s;	/* avg_bits + normalization one bits, from the top */
	uint64_t mask_l;	/* avg_bits - normalization one bits, from the top */
	size_t min_size;
	size_t avg_size;
	size_t max_size;
	size_t pos;		/* bytes of the current chunk seen so far */
	uint64_t h;		/* rolling hash, 0 at the start of a chunk */
};

/* The top n bits set (0 < n < 64). */
static uint64_t
top_bits(unsigned int n)
{
	return ~UINT64_C(0) << (64 - n);
}

/* log2 of avg when avg is a power of two within the limits, else -1. */
static int
avg_bits(size_t avg)
{
	for (int k = VC_CHUNKER_AVG_MIN_BITS; k <= VC_CHUNKER_AVG_MAX_BITS; k++)
		if (avg == (size_t)1 << k)
			return k;
	return -1;
}

struct vc_chunker *
vc_chunker_new(const uint8_t seed[VC_CHUNKER_SEED_LEN],
    const struct vc_chunker_params *p)
{
	static const struct vc_chunker_params defaults = {
		VC_CHUNKER_MIN_DEFAULT, VC_CHUNKER_AVG_DEFAULT,
		VC_CHUNKER_MAX_DEFAULT,
	};
	uint8_t block[crypto_generichash_BYTES_MAX];
	struct vc_chunker *c;
	int bits;

	if (p == NULL)
		p = &defaults;
	if ((bits = avg_bits(p->avg_size)) < 0 || p->min_size >= p->avg_size ||
	    p->max_size <= p->avg_size || p->max_size > CHUNK_SIZE_LIMIT)
		goto err0;
	if (sodium_init() < 0)
		goto err0;
	if ((c = malloc(sizeof(*c))) == NULL)
		goto err0;

	/* gear[8 * i + j] = little-endian word j of BLAKE2b-512 keyed with
	 * the seed over the one byte i. */
	for (size_t i = 0; i < GEAR_BLOCKS; i++) {
		uint8_t ctr = (uint8_t)i;

		if (crypto_generichash(block, sizeof(block), &ctr, sizeof(ctr),
		    seed, VC_CHUNKER_SEED_LEN) != 0)
			goto err1;
		for (size_t j = 0; j < GEAR_PER_BLOCK; j++)
			c->gear[i * GEAR_PER_BLOCK + j] =
			    le64_get(&block[j * sizeof(uint64_t)]);
	}
	sodium_memzero(block, sizeof(block));

	c->mask_s = top_bits((unsigned int)(bits + VC_CHUNKER_NORMALIZATION));
	c->mask_l = top_bits((unsigned int)(bits - VC_CHUNKER_NORMALIZATION));
	c->min_size = p->min_size;
	c->avg_size = p->avg_size;
	c->max_size = p->max_size;
	vc_chunker_reset(c);
	return c;

err1:
	sodium_memzero(block, sizeof(block));
	sodium_memzero(c, sizeof(*c));
	free(c);
err0:
	return NULL;
}

/*
 * Hashes buf[i..end) until (h & mask) == 0. Returns the index just past the
 * byte that made the cut, or end. The shift-add and the table lookup are the
 * whole cost; h stays in a register and the loop is unrolled by hand.
 */
static inline size_t
scan(const uint64_t *restrict gear, uint64_t mask, uint64_t *hp,
    const uint8_t *restrict buf, size_t i, size_t end, int *found)
{
	uint64_t h = *hp;

	/* Four bytes per round while at least four remain. */
	while (end - i >= 4) {
		h = (h << 1) + gear[buf[i]];
		if ((h & mask) == 0) { i += 1; goto hit; }
		h = (h << 1) + gear[buf[i + 1]];
		if ((h & mask) == 0) { i += 2; goto hit; }
		h = (h << 1) + gear[buf[i + 2]];
		if ((h & mask) == 0) { i += 3; goto hit; }
		h = (h << 1) + gear[buf[i + 3]];
		i += 4;
		if ((h & mask) == 0)
			goto hit;
	}
	while (i < end) {
		h = (h << 1) + gear[buf[i++]];
		if ((h & mask) == 0)
			goto hit;
	}
	*hp = h;
	*found = 0;
	return i;

hit:
	*hp = h;
	*found = 1;
	return i;
}

size_t
vc_chunker_next(struct vc_chunker *c, const uint8_t *buf, size_t len,
    int *cut)
{
	size_t i = 0, end;
	int found = 0;

	*cut = 0;
	if (len == 0)
		return 0;

	/* No cut can fall in the first min_size bytes: skip them unhashed. */
	if (c->pos < c->min_size) {
		size_t skip = c->min_size - c->pos;

		if (skip >= len) {
			c->pos += len;
			return len;
		}
		i = skip;
		c->pos = c->min_size;
	}

	/* Bytes that end a chunk of length <= avg_size use MaskS. */
	if (c->pos < c->avg_size) {
		end = c->avg_size - c->pos < len - i ?
		    i + (c->avg_size - c->pos) : len;
		end = scan(c->gear, c->mask_s, &c->h, buf, i, end, &found);
		c->pos += end - i;
		i = end;
		if (found)
			goto cut;
		if (i == len)
			return len;
	}

	/* Then MaskL up to max_size, where the chunk is cut regardless. */
	end = c->max_size - c->pos < len - i ? i + (c->max_size - c->pos) : len;
	end = scan(c->gear, c->mask_l, &c->h, buf, i, end, &found);
	c->pos += end - i;
	i = end;
	if (found || c->pos == c->max_size)
		goto cut;
	return len;

cut:
	c->pos = 0;
	c->h = 0;
	*cut = 1;
	return i;
}

void
vc_chunker_reset(struct vc_chunker *c)
{
	c->pos = 0;
	c->h = 0;
}

void
vc_chunker_params_get(const struct vc_chunker *c, struct vc_chunker_params *p)
{
	p->min_size = c->min_size;
	p->avg_size = c->avg_size;
	p->max_size = c->max_size;
}

void
vc_chunker_free(struct vc_chunker *c)
{
	if (c == NULL)
		return;
	sodium_memzero(c, sizeof(*c));
	free(c);
}
