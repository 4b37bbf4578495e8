/*
 * Fuzz driver for the content-defined chunker (client/chunker.c,
 * spec/chunker.md).
 *
 * Input: a 4-byte header, then the bytes to chunk.
 *   byte 0: the sizes, small so that short inputs hold many boundaries:
 *           avg = 16 << (b0 & 3), min = (b0 >> 2) % avg, and byte 1 picks
 *           max = avg + 1 + b1 * (avg / 16);
 *   byte 1: also the first byte of the seed (the rest are zero);
 *   bytes 2 and 3: the sizes (1 + b) of the pieces the input is fed in,
 *           alternately.
 *
 * Invariants checked:
 *   - the boundaries are the same fed whole, in bytes, and in the pieces
 *     the header picks;
 *   - they equal those of a plain reference written from spec/chunker.md;
 *   - every chunk but the last is in [min + 1, max], the last in [1, max],
 *     and the lengths add up to the input;
 *   - vc_chunker_next() takes at least one byte of a non-empty buffer and
 *     all of it unless it cuts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chunker.h"
#include "fuzz.h"

#define HEADER_LEN 4

/*
 * Chunks data[0..len) fed in pieces of pa and pb bytes alternately. Writes
 * the offsets where chunks end into ends (room for len + 1: a chunk is at
 * least one byte) and returns their number; the last is len.
 */
static size_t
run(struct vc_chunker *c, const uint8_t *data, size_t len, size_t pa,
    size_t pb, size_t *ends)
{
	size_t n = 0, off = 0, k = 0;

	vc_chunker_reset(c);
	while (off < len) {
		size_t plen = (k++ & 1) ? pb : pa, poff = 0;

		if (plen > len - off)
			plen = len - off;
		while (poff < plen) {
			int cut;
			size_t m = vc_chunker_next(c, data + off + poff,
			    plen - poff, &cut);

			FUZZ_CHECK(m >= 1 && m <= plen - poff);
			FUZZ_CHECK(cut || m == plen - poff);
			poff += m;
			if (cut)
				ends[n++] = off + poff;
		}
		off += plen;
	}
	if (n == 0 || ends[n - 1] != len)
		if (len > 0)
			ends[n++] = len;
	return n;
}

/* The reference: one chunk at a time, straight from the spec's rules. */
static size_t
reference(const uint8_t seed[VC_CHUNKER_SEED_LEN],
    const struct vc_chunker_params *p, const uint8_t *data, size_t len,
    size_t *ends)
{
	uint64_t gear[256], ms, ml;
	unsigned int bits = 0;
	size_t n = 0, start = 0;

	for (unsigned int i = 0; i < 32; i++) {
		uint8_t out[64], ctr = (uint8_t)i;

		crypto_generichash(out, sizeof(out), &ctr, 1, seed, 32);
		for (unsigned int j = 0; j < 8; j++) {
			uint64_t w = 0;
			for (unsigned int b = 0; b < 8; b++)
				w |= (uint64_t)out[8 * j + b] << (8 * b);
			gear[8 * i + j] = w;
		}
	}
	while (((size_t)1 << bits) < p->avg_size)
		bits++;
	ms = ~UINT64_C(0) << (64 - (bits + 2));
	ml = ~UINT64_C(0) << (64 - (bits - 2));
	while (start < len) {
		size_t rem = len - start, cl = rem < p->max_size ? rem : p->max_size;
		uint64_t h = 0;

		for (size_t i = p->min_size; i < cl; i++) {
			h = (h << 1) + gear[data[start + i]];
			if ((h & (i + 1 <= p->avg_size ? ms : ml)) == 0) {
				cl = i + 1;
				break;
			}
		}
		start += cl;
		ends[n++] = start;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t seed[VC_CHUNKER_SEED_LEN] = { 0 };
	struct vc_chunker_params p;
	struct vc_chunker *c;
	const uint8_t *in;
	size_t len, pa, pb, n, m, *ends, *other;

	if (size < HEADER_LEN)
		return 0;
	p.avg_size = (size_t)16 << (data[0] & 3);
	p.min_size = (size_t)(data[0] >> 2) % p.avg_size;
	p.max_size = p.avg_size + 1 + data[1] * (p.avg_size / 16);
	seed[0] = data[1];
	pa = 1 + (size_t)data[2];
	pb = 1 + (size_t)data[3];
	in = data + HEADER_LEN;
	len = size - HEADER_LEN;

	if ((c = vc_chunker_new(seed, &p)) == NULL)
		return 0;
	ends = malloc((len + 1) * sizeof(*ends));
	other = malloc((len + 1) * sizeof(*other));
	if (ends == NULL || other == NULL)
		goto done;

	n = run(c, in, len, len > 0 ? len : 1, len > 0 ? len : 1, ends);
	for (size_t i = 0; i < n; i++) {
		size_t cl = ends[i] - (i > 0 ? ends[i - 1] : 0);

		FUZZ_CHECK(cl >= 1 && cl <= p.max_size);
		if (i + 1 < n)
			FUZZ_CHECK(cl > p.min_size);
	}
	FUZZ_CHECK(n == 0 ? len == 0 : ends[n - 1] == len);

	m = run(c, in, len, 1, 1, other);
	FUZZ_CHECK(m == n && memcmp(ends, other, n * sizeof(*ends)) == 0);
	m = run(c, in, len, pa, pb, other);
	FUZZ_CHECK(m == n && memcmp(ends, other, n * sizeof(*ends)) == 0);
	m = reference(seed, &p, in, len, other);
	FUZZ_CHECK(m == n && memcmp(ends, other, n * sizeof(*ends)) == 0);

done:
	free(ends);
	free(other);
	vc_chunker_free(c);
	return 0;
}
