/*
 * Fuzz driver for envelope_parse(), envelope_parse_header() and the
 * streaming envelope_reader (protocol/envelope.c, spec/envelope.md).
 *
 * Input: the bytes of one would-be snapshot object, as a client uploads it.
 * The corpus in tests/fuzz/corpus/envelope/ holds the valid and invalid
 * envelopes of spec/vectors/envelope.json and a few larger ones.
 *
 * Invariants checked:
 *   - the result is a known error code;
 *   - a valid envelope encodes back to the input byte for byte (the
 *     encoding is canonical), its references are of known kinds and
 *     strictly ascending, and its body is the input's tail;
 *   - envelope_parse_header() agrees with envelope_parse() on the whole
 *     input, and on prefixes it never contradicts what the whole input
 *     gives (a final error stays, an accepted header stays accepted);
 *   - the streaming reader, fed the input whole or in pieces whose sizes
 *     come from the input, gives envelope_parse()'s verdict and, for a valid
 *     envelope, the same fields and references.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "fuzz.h"

/* A valid envelope: check its fields, then that it encodes back to data. */
static void
check_valid(const uint8_t *data, size_t size, const struct envelope *e)
{
	struct envelope_ref *refs = NULL;
	uint8_t *again = NULL;
	size_t again_len = 0;

	FUZZ_CHECK(e->nrefs <= ENVELOPE_REFS_MAX);
	FUZZ_CHECK((e->flags & ENVELOPE_FLAGS_CRITICAL) == 0);
	FUZZ_CHECK(e->body_len <= size);
	FUZZ_CHECK(ENVELOPE_HEADER_LEN(e->nrefs) == size - e->body_len);
	FUZZ_CHECK(e->body == data + (size - e->body_len));
	FUZZ_CHECK(e->refs_raw == data + ENVELOPE_REFS_OFF);

	if (e->nrefs > 0 && (refs = calloc(e->nrefs, sizeof(*refs))) == NULL)
		return;
	for (size_t i = 0; i < e->nrefs; i++) {
		envelope_ref_get(e, i, &refs[i]);
		FUZZ_CHECK(refs[i].kind == ENVELOPE_KIND_PACK ||
		    refs[i].kind == ENVELOPE_KIND_INDEX);
		if (i > 0) {
			/* Written out again rather than memcmp of the raw
			 * entries, so that it checks the parser's reading. */
			int c = refs[i - 1].kind != refs[i].kind ?
			    (refs[i - 1].kind < refs[i].kind ? -1 : 1) :
			    memcmp(refs[i - 1].id, refs[i].id, VSP_ID_LEN);
			FUZZ_CHECK(c < 0);
		}
	}
	if (envelope_encode(e->client_time, e->group, e->flags, refs, e->nrefs,
	    e->body, e->body_len, &again, &again_len) == 0) {
		FUZZ_CHECK(again_len == size);
		FUZZ_CHECK(memcmp(again, data, size) == 0);
		free(again);
	}
	free(refs);
}

/* The header parser on a prefix of k bytes must not contradict the result
 * for the whole input (herr, hlen). */
static void
check_prefix(const uint8_t *data, size_t k, enum envelope_err herr, size_t hlen)
{
	struct envelope e;
	size_t plen = 0;
	uint8_t *copy = malloc(k > 0 ? k : 1);
	enum envelope_err perr;

	if (copy == NULL)
		return;
	if (k > 0)
		memcpy(copy, data, k);
	perr = envelope_parse_header(copy, k, &e, &plen);
	free(copy);
	FUZZ_CHECK((unsigned)perr < ENVELOPE_ERR_COUNT);
	switch (perr) {
	case ENVELOPE_TRUNCATED:
		FUZZ_CHECK(plen > k);
		/* Exact once the count is in, and a lower bound before. */
		if (herr == ENVELOPE_OK || herr == ENVELOPE_TRAILING)
			FUZZ_CHECK(plen <= hlen);
		if (herr == ENVELOPE_OK && k >= ENVELOPE_REFS_OFF)
			FUZZ_CHECK(plen == hlen);
		break;
	case ENVELOPE_OK:
		/* More bytes may only turn an accepted header into one with
		 * too many body bytes. */
		FUZZ_CHECK(herr == ENVELOPE_OK || herr == ENVELOPE_TRAILING);
		FUZZ_CHECK(plen == hlen);
		break;
	default:
		/* Final: more bytes cannot change it. */
		FUZZ_CHECK(perr == herr);
	}
}

/* Feeds data to a reader in pieces of 1 to 256 bytes, sizes taken from the
 * input itself (seed 0: all at once), and checks it agrees with
 * envelope_parse() (err, e). */
static void
check_reader(const uint8_t *data, size_t size, size_t seed, enum envelope_err err,
    const struct envelope *e)
{
	struct envelope_reader *r = envelope_reader_new();
	const struct envelope *got = NULL;
	size_t off = 0;

	if (r == NULL)
		return;
	while (off < size) {
		size_t n = seed == 0 ? size : (size_t)data[(off + seed) % size] + 1;

		if (n > size - off)
			n = size - off;
		if (envelope_reader_feed(r, data + off, n) != 0)
			goto out;
		off += n;
	}
	FUZZ_CHECK(envelope_reader_finish(r, &got) == err);
	if (err == ENVELOPE_OK) {
		FUZZ_CHECK(got->nrefs == e->nrefs && got->client_time == e->client_time);
		FUZZ_CHECK(got->flags == e->flags && got->body_len == e->body_len);
		FUZZ_CHECK(memcmp(got->group, e->group, ENVELOPE_GROUP_LEN) == 0);
		for (size_t i = 0; i < e->nrefs; i++) {
			struct envelope_ref a, b;
			envelope_ref_get(got, i, &a);
			envelope_ref_get(e, i, &b);
			FUZZ_CHECK(a.kind == b.kind && memcmp(a.id, b.id, VSP_ID_LEN) == 0);
		}
		FUZZ_CHECK(envelope_reader_need(r) == 0);
	}
out:
	envelope_reader_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e, h;
	enum envelope_err err, herr;
	size_t hlen = 0;

	err = envelope_parse(data, size, &e);
	FUZZ_CHECK((unsigned)err < ENVELOPE_ERR_COUNT);
	FUZZ_CHECK(envelope_strerror(err) != NULL);

	herr = envelope_parse_header(data, size, &h, &hlen);
	FUZZ_CHECK((unsigned)herr < ENVELOPE_ERR_COUNT);
	if (err == ENVELOPE_OK) {
		FUZZ_CHECK(herr == ENVELOPE_OK);
		FUZZ_CHECK(h.body == NULL);
		FUZZ_CHECK(hlen + h.body_len == size);
		FUZZ_CHECK(h.nrefs == e.nrefs && h.client_time == e.client_time);
		check_valid(data, size, &e);
	} else if (err == ENVELOPE_TRUNCATED) {
		FUZZ_CHECK(herr == ENVELOPE_TRUNCATED || herr == ENVELOPE_OK);
		if (herr == ENVELOPE_TRUNCATED)
			FUZZ_CHECK(hlen > size);
		else
			FUZZ_CHECK(h.body_len > size - hlen);
	} else {
		FUZZ_CHECK(herr == err);
	}

	if (size > 0) {
		check_prefix(data, size / 2, herr, hlen);
		check_prefix(data, size - 1, herr, hlen);
	}
	check_reader(data, size, 0, err, &e);
	check_reader(data, size, 1, err, &e);
	return 0;
}
