/*
 * client/pack.c against spec/pack.md and its vectors (spec/vectors/pack.json,
 * made by spec/vectors/gen/pack_vectors.py, an independent implementation):
 * packs and index segments byte for byte, authentic-but-inconsistent maps
 * and segments, every flipped byte, truncations, a wrong key, the limits,
 * and allocation failures. The module is included so that its allocations
 * go through a counting hook (the Nth one fails).
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

#include "crypto.h"
#include "pack.h"

/* The module itself, for its statics; its allocations fail through the
 * countdown of faultsim.h. */
#include "../../client/pack.c"
#include "faultsim.h"

static uint8_t *
hex_member(const json_t *obj, const char *key, size_t *len)
{
	return vectors_hex(vectors_str(obj, key), len);
}

static void
hex_fixed(const json_t *obj, const char *key, uint8_t *out, size_t n)
{
	size_t len;
	uint8_t *b = hex_member(obj, key, &len);

	assert_int_equal(len, n);
	memcpy(out, b, n);
	free(b);
}

static json_t *
array_of(const json_t *doc, const char *key, size_t min)
{
	json_t *a = json_object_get(doc, key);

	assert_true(json_is_array(a));
	assert_true(json_array_size(a) >= min);
	return a;
}

/* The keys of client-crypto.json kdf[0], which pack.json was made with. */
static void
vector_keys(struct vc_keys *k)
{
	json_t *doc = vectors_load("client-crypto.json", 0), *s, *pk;

	s = json_object_get(json_array_get(array_of(doc, "kdf", 1), 0), "subkeys_hex");
	assert_true(json_is_object(s));
	hex_fixed(s, "mac", k->mac, VC_KEY_LEN);
	hex_fixed(s, "chunker_seed", k->chunker_seed, VC_KEY_LEN);
	hex_fixed(s, "index", k->index, VC_KEY_LEN);
	hex_fixed(s, "check", k->check, VC_KEY_LEN);
	hex_fixed(s, "chunk", k->chunk, VC_KEY_LEN);
	json_decref(doc);
	pk = vectors_load("pack.json", 0);
	{
		uint8_t idx[VC_KEY_LEN];
		hex_fixed(pk, "index_key_hex", idx, sizeof(idx));
		assert_memory_equal(idx, k->index, VC_KEY_LEN);
	}
	json_decref(pk);
}

static void
random_keys(struct vc_keys *k)
{
	uint8_t master[VC_KEY_LEN];

	randombytes_buf(master, sizeof(master));
	vc_keys_from_master(master, k);
}

/* The entry of a vector ("type", "chunk_id_hex", "offset", ...). */
static void
vector_entry(const json_t *v, struct vc_pack_entry *e)
{
	e->type = (uint8_t)vectors_u64(v, "type");
	hex_fixed(v, "chunk_id_hex", e->id, VC_ID_LEN);
	e->offset = (uint32_t)vectors_u64(v, "offset");
	e->sealed_len = (uint32_t)vectors_u64(v, "sealed_len");
	e->plain_len = (uint32_t)vectors_u64(v, "plain_len");
}

static void
assert_entry_equal(const struct vc_pack_entry *a, const struct vc_pack_entry *b)
{
	assert_int_equal(a->type, b->type);
	assert_memory_equal(a->id, b->id, VC_ID_LEN);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->sealed_len, b->sealed_len);
	assert_int_equal(a->plain_len, b->plain_len);
}

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* Seals the chunks of pack vector v with their nonces, writes the pack
 * with the map nonce and checks the bytes, the ID and the entries; then
 * parses the vector's bytes. */
static void
check_pack_vector(const struct vc_keys *k, const json_t *v)
{
	struct vc_pack_writer *w = vc_pack_writer_new();
	uint8_t nonce[VC_NONCE_LEN], id[VC_ID_LEN], pid[VC_ID_LEN], *plain, *sealed, *want;
	uint8_t *out, *s2;
	struct vc_pack_entry *ents, *ents2, e;
	size_t i, plen, slen, wlen, outlen, n, n2, s2len;
	json_t *c, *chunks = array_of(v, "chunks", 0);

	assert_non_null(w);
	json_array_foreach(chunks, i, c) {
		plain = hex_member(c, "plain_hex", &plen);
		sealed = hex_member(c, "sealed_hex", &slen);
		hex_fixed(c, "nonce_hex", nonce, sizeof(nonce));
		vc_chunk_id(k, plain, plen, id);
		hex_fixed(c, "chunk_id_hex", pid, sizeof(pid));
		assert_memory_equal(id, pid, VC_ID_LEN);
		assert_int_equal(vc_seal(k, id, plain, plen, VC_ZSTD_LEVEL_DEFAULT, nonce, &s2,
		    &s2len), VC_OK);
		assert_int_equal(s2len, slen);
		assert_memory_equal(s2, sealed, slen);
		assert_int_equal(vc_pack_add(w, (uint8_t)vectors_u64(c, "type"), id, s2, s2len,
		    (uint32_t)plen), VC_OK);
		free(s2);
		free(sealed);
		free(plain);
	}
	assert_int_equal(vc_pack_count(w), json_array_size(chunks));
	hex_fixed(v, "map_nonce_hex", nonce, sizeof(nonce));
	want = hex_member(v, "pack_hex", &wlen);
	assert_int_equal(vc_pack_finish(w, k, nonce, &out, &outlen, pid, &ents, &n), VC_OK);
	assert_int_equal(outlen, wlen);
	assert_memory_equal(out, want, wlen);
	hex_fixed(v, "pack_id_hex", id, sizeof(id));
	assert_memory_equal(pid, id, VC_ID_LEN);
	assert_int_equal(n, json_array_size(array_of(v, "entries", 0)));
	for (i = 0; i < n; i++) {
		vector_entry(json_array_get(array_of(v, "entries", 0), i), &e);
		assert_entry_equal(&ents[i], &e);
	}
	/* The writer is empty again. */
	assert_int_equal(vc_pack_count(w), 0);
	assert_int_equal(vc_pack_size(w), VC_PACK_HEADER_LEN);

	assert_int_equal(vc_pack_parse(k, want, wlen, &ents2, &n2), VC_OK);
	assert_int_equal(n2, n);
	for (i = 0; i < n; i++)
		assert_entry_equal(&ents2[i], &ents[i]);
	free(ents2);
	free(ents);
	free(out);
	free(want);
	vc_pack_writer_free(w);
}

static void
test_pack_vectors(void **state)
{
	json_t *doc = vectors_load("pack.json", 0), *v;
	struct vc_keys k;
	size_t i;

	(void)state;
	vector_keys(&k);
	json_array_foreach(array_of(doc, "packs", 3), i, v)
		check_pack_vector(&k, v);
	vc_keys_wipe(&k);
	json_decref(doc);
}

/* Collects what vc_index_decode hands out. */
struct seen {
	uint8_t (*pack)[VC_ID_LEN];
	struct vc_pack_entry *e;
	size_t n, cap, stop_after;
	int stop_rc;
};

static int
seen_cb(const uint8_t pack_id[VC_ID_LEN], const struct vc_pack_entry *e, void *arg)
{
	struct seen *s = arg;

	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 16 : 2 * s->cap;
		faultsim_benign_begin(); /* the test's own memory */
		assert_non_null(s->pack = realloc(s->pack, s->cap * VC_ID_LEN));
		assert_non_null(s->e = realloc(s->e, s->cap * sizeof(*s->e)));
		faultsim_benign_end();
	}
	memcpy(s->pack[s->n], pack_id, VC_ID_LEN);
	s->e[s->n++] = *e;
	if (s->stop_after != 0 && s->n == s->stop_after)
		return s->stop_rc;
	return 0;
}

static void
seen_free(struct seen *s)
{
	free(s->pack);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

static void
check_segment_vector(const struct vc_keys *k, const json_t *v)
{
	json_t *packs = array_of(v, "packs", 0), *p, *ev;
	struct vc_index_pack ip[8];
	struct vc_pack_entry ents[8][8];
	uint8_t nonce[VC_NONCE_LEN], id[VC_ID_LEN], *want, *out;
	size_t i, j, wlen, outlen, total = 0, at = 0;
	struct seen s = { 0 };

	assert_true(json_array_size(packs) <= 8);
	json_array_foreach(packs, i, p) {
		hex_fixed(p, "pack_id_hex", ip[i].pack_id, VC_ID_LEN);
		assert_true(json_array_size(array_of(p, "entries", 0)) <= 8);
		json_array_foreach(array_of(p, "entries", 0), j, ev)
			vector_entry(ev, &ents[i][j]);
		ip[i].entries = ents[i];
		ip[i].n = j;
		total += j;
	}
	hex_fixed(v, "nonce_hex", nonce, sizeof(nonce));
	want = hex_member(v, "segment_hex", &wlen);
	assert_int_equal(vc_index_encode(k, ip, json_array_size(packs), nonce, &out, &outlen),
	    VC_OK);
	assert_int_equal(outlen, wlen);
	assert_memory_equal(out, want, wlen);
	assert_int_equal(sha256_buf(out, outlen, id), 0);
	{
		uint8_t sid[VC_ID_LEN];
		hex_fixed(v, "segment_id_hex", sid, sizeof(sid));
		assert_memory_equal(id, sid, VC_ID_LEN);
	}
	assert_int_equal(vc_index_decode(k, want, wlen, seen_cb, &s), VC_OK);
	assert_int_equal(s.n, total);
	for (i = 0; i < json_array_size(packs); i++)
		for (j = 0; j < ip[i].n; j++, at++) {
			assert_memory_equal(s.pack[at], ip[i].pack_id, VC_ID_LEN);
			assert_entry_equal(&s.e[at], &ip[i].entries[j]);
		}
	seen_free(&s);
	free(out);
	free(want);
}

static void
test_segment_vectors(void **state)
{
	json_t *doc = vectors_load("pack.json", 0), *v;
	struct vc_keys k;
	size_t i;

	(void)state;
	vector_keys(&k);
	json_array_foreach(array_of(doc, "segments", 3), i, v)
		check_segment_vector(&k, v);
	vc_keys_wipe(&k);
	json_decref(doc);
}

static int
error_code(const char *name)
{
	if (strcmp(name, "corrupt") == 0)
		return VC_E_CORRUPT;
	if (strcmp(name, "auth") == 0)
		return VC_E_AUTH;
	if (strcmp(name, "unsupported") == 0)
		return VC_E_UNSUPPORTED;
	fail_msg("unknown error name \"%s\"", name);
	return 0;
}

/* Authentic but inconsistent maps and segments, and damaged ones, each with
 * the one error the spec gives it; nothing reaches the callback. */
static void
test_bad_vectors(void **state)
{
	json_t *doc = vectors_load("pack.json", 0), *v;
	struct vc_pack_entry *ents;
	struct seen s = { 0 };
	struct vc_keys k;
	uint8_t *b;
	size_t i, len, n;
	int rc;

	(void)state;
	vector_keys(&k);
	json_array_foreach(array_of(doc, "bad_packs", 15), i, v) {
		b = hex_member(v, "pack_hex", &len);
		rc = vc_pack_parse(&k, b, len, &ents, &n);
		if (rc != error_code(vectors_str(v, "error")))
			fail_msg("bad pack \"%s\": %d (%s)", vectors_str(v, "name"), rc,
			    vc_strerror(rc));
		assert_null(ents);
		assert_int_equal(n, 0);
		free(b);
	}
	json_array_foreach(array_of(doc, "bad_segments", 15), i, v) {
		b = hex_member(v, "segment_hex", &len);
		rc = vc_index_decode(&k, b, len, seen_cb, &s);
		if (rc != error_code(vectors_str(v, "error")))
			fail_msg("bad segment \"%s\": %d (%s)", vectors_str(v, "name"), rc,
			    vc_strerror(rc));
		assert_int_equal(s.n, 0);
		free(b);
	}
	vc_keys_wipe(&k);
	json_decref(doc);
}

/* A pack of n random chunks (plaintexts of sizes up to maxlen, every third
 * one a tree chunk) sealed under k, in *out. */
static void
make_pack(const struct vc_keys *k, struct vc_pack_writer *w, size_t n, size_t maxlen,
    uint8_t **out, size_t *outlen, uint8_t pid[VC_ID_LEN], struct vc_pack_entry **ents,
    size_t *nents)
{
	uint8_t *plain, *sealed, id[VC_ID_LEN];
	size_t i, len, slen, size = VC_PACK_HEADER_LEN;

	assert_non_null(plain = malloc(maxlen + 1));
	for (i = 0; i < n; i++) {
		len = randombytes_uniform((uint32_t)maxlen + 1);
		randombytes_buf(plain, len);
		if (i % 2)
			memset(plain, 'x', len);  /* compresses */
		vc_chunk_id(k, plain, len, id);
		assert_int_equal(vc_seal(k, id, plain, len, 1, NULL, &sealed, &slen), VC_OK);
		assert_int_equal(vc_pack_add(w, i % 3 == 2 ? VC_CHUNK_TYPE_TREE :
		    VC_CHUNK_TYPE_DATA, id, sealed, slen, (uint32_t)len), VC_OK);
		size += slen;
		assert_int_equal(vc_pack_size(w), size);
		assert_int_equal(vc_pack_count(w), i + 1);
		free(sealed);
	}
	free(plain);
	assert_int_equal(vc_pack_finish(w, k, NULL, out, outlen, pid, ents, nents), VC_OK);
	assert_int_equal(*nents, n);
	assert_int_equal(*outlen, size + MAP_SEALED_LEN(n) + VC_PACK_TRAILER_LEN);
}

/* Parses a pack, checks its entries and opens every blob. */
static void
check_pack(const struct vc_keys *k, const uint8_t *pack, size_t len,
    const struct vc_pack_entry *want, size_t nwant)
{
	struct vc_pack_entry *ents;
	uint8_t *plain, id[VC_ID_LEN];
	size_t n, plen;

	assert_int_equal(vc_pack_parse(k, pack, len, &ents, &n), VC_OK);
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++) {
		assert_entry_equal(&ents[i], &want[i]);
		assert_int_equal(vc_open(k, ents[i].id, &pack[ents[i].offset], ents[i].sealed_len,
		    &plain, &plen), VC_OK);
		assert_int_equal(plen, ents[i].plain_len);
		vc_chunk_id(k, plain, plen, id);
		assert_memory_equal(id, ents[i].id, VC_ID_LEN);
		free(plain);
	}
	free(ents);
}

static void
test_roundtrip(void **state)
{
	struct vc_pack_writer *w = vc_pack_writer_new();
	struct vc_pack_entry *e1, *e2, *map_e;
	uint8_t *p1, *p2, pid1[VC_ID_LEN], pid2[VC_ID_LEN], id[VC_ID_LEN], *seg, *map;
	size_t l1, l2, n1, n2, map_n, seglen;
	uint64_t map_off;
	uint32_t map_len;
	struct vc_index_pack ip[2];
	struct seen s = { 0 };
	struct vc_keys k;

	(void)state;
	random_keys(&k);
	assert_non_null(w);
	make_pack(&k, w, 200, 5000, &p1, &l1, pid1, &e1, &n1);
	check_pack(&k, p1, l1, e1, n1);
	assert_int_equal(sha256_buf(p1, l1, id), 0);
	assert_memory_equal(id, pid1, VC_ID_LEN);
	/* The same writer makes the next pack. */
	make_pack(&k, w, 3, 100000, &p2, &l2, pid2, &e2, &n2);
	check_pack(&k, p2, l2, e2, n2);

	/* The trailer and map, read separately as from a ranged GET. */
	assert_int_equal(vc_pack_trailer(&p1[l1 - VC_PACK_TRAILER_LEN], l1, &map_off, &map_len),
	    VC_OK);
	assert_int_equal(map_off, e1[n1 - 1].offset + e1[n1 - 1].sealed_len);
	assert_non_null(map = malloc(map_len));
	memcpy(map, &p1[map_off], map_len);
	assert_int_equal(vc_pack_map_open(&k, map, map_len, l1, &map_e, &map_n), VC_OK);
	assert_int_equal(map_n, n1);
	assert_entry_equal(&map_e[17], &e1[17]);
	free(map_e);
	/* The same map in a pack of another size does not fit it. */
	assert_int_equal(vc_pack_map_open(&k, map, map_len, l1 + 1, &map_e, &map_n),
	    VC_E_CORRUPT);
	assert_null(map_e);
	free(map);

	memcpy(ip[0].pack_id, pid1, VC_ID_LEN);
	ip[0].entries = e1;
	ip[0].n = n1;
	memcpy(ip[1].pack_id, pid2, VC_ID_LEN);
	ip[1].entries = e2;
	ip[1].n = n2;
	assert_int_equal(vc_index_encode(&k, ip, 2, NULL, &seg, &seglen), VC_OK);
	assert_int_equal(seglen, IDX_CT_OFF + COUNT_LEN + 2 * GROUP_HEAD_LEN +
	    (n1 + n2) * VC_PACK_ENTRY_LEN + VC_TAG_LEN);
	assert_int_equal(vc_index_decode(&k, seg, seglen, seen_cb, &s), VC_OK);
	assert_int_equal(s.n, n1 + n2);
	assert_memory_equal(s.pack[0], pid1, VC_ID_LEN);
	assert_memory_equal(s.pack[n1], pid2, VC_ID_LEN);
	assert_entry_equal(&s.e[n1 + 2], &e2[2]);
	seen_free(&s);
	/* A non-zero return from the callback stops the walk and comes back. */
	s.stop_after = 5;
	s.stop_rc = 42;
	assert_int_equal(vc_index_decode(&k, seg, seglen, seen_cb, &s), 42);
	assert_int_equal(s.n, 5);
	seen_free(&s);

	free(seg);
	free(e1);
	free(e2);
	free(p1);
	free(p2);
	vc_pack_writer_free(w);
	vc_pack_writer_free(NULL);
	vc_keys_wipe(&k);
}

/* Sealing in place: a writer on an adopted buffer, blobs sealed straight
 * into it with vc_seal_into and recorded with vc_pack_commit, gives the
 * same pack bytes as vc_seal + vc_pack_add with the same nonces. */
static void
test_in_place(void **state)
{
	static const uint8_t nonce[VC_NONCE_LEN] = { 7 };
	struct vc_pack_writer *a = vc_pack_writer_new(), *b = vc_pack_writer_new();
	struct vc_pack_entry *ea, *eb;
	uint8_t plain[3000], id[VC_ID_LEN], *pa, *pb, ida[VC_ID_LEN], idb[VC_ID_LEN], *at;
	uint8_t small[VC_CHUNK_OVERHEAD + 10];
	size_t la, lb, na, nb, slen;
	struct vc_keys k;

	(void)state;
	random_keys(&k);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(vc_pack_writer_adopt(b, malloc(1 << 16), 1 << 16), VC_OK);
	for (int i = 0; i < 5; i++) {
		uint8_t *sealed;

		memset(plain, 'a' + i, sizeof(plain));
		plain[0] = (uint8_t)i;
		vc_chunk_id(&k, plain, sizeof(plain) - (size_t)i * 500, id);
		assert_int_equal(vc_seal(&k, id, plain, sizeof(plain) - (size_t)i * 500, 3, nonce,
		    &sealed, &slen), VC_OK);
		assert_int_equal(vc_pack_add(a, VC_CHUNK_TYPE_DATA, id, sealed, slen,
		    (uint32_t)(sizeof(plain) - (size_t)i * 500)), VC_OK);
		free(sealed);
		at = vc_pack_reserve(b, VC_CHUNK_OVERHEAD + sizeof(plain));
		assert_non_null(at);
		assert_int_equal(vc_seal_into(&k, id, plain, sizeof(plain) - (size_t)i * 500, 3,
		    nonce, at, VC_CHUNK_OVERHEAD + sizeof(plain), &slen), VC_OK);
		assert_int_equal(vc_pack_commit(b, VC_CHUNK_TYPE_DATA, id, slen,
		    (uint32_t)(sizeof(plain) - (size_t)i * 500)), VC_OK);
	}
	assert_int_equal(vc_pack_size(a), vc_pack_size(b));
	assert_int_equal(vc_pack_finish(a, &k, nonce, &pa, &la, ida, &ea, &na), VC_OK);
	assert_int_equal(vc_pack_finish(b, &k, nonce, &pb, &lb, idb, &eb, &nb), VC_OK);
	assert_int_equal(la, lb);
	assert_memory_equal(pa, pb, la);
	assert_memory_equal(ida, idb, VC_ID_LEN);
	check_pack(&k, pb, lb, eb, nb);
	/* A buffer too small for the worst case is refused before any write. */
	assert_int_equal(vc_seal_into(&k, id, plain, 11, 3, NULL, small, sizeof(small), &slen),
	    VC_E_TOOBIG);
	/* A commit past what was reserved, or before any reserve, is refused. */
	assert_int_equal(vc_pack_commit(a, VC_CHUNK_TYPE_DATA, id, 100, 59), VC_E_CORRUPT);
	/* Adopting needs an empty writer. */
	at = vc_pack_reserve(b, 100);
	assert_non_null(at);
	memset(at, 0, 100);
	assert_int_equal(vc_pack_commit(b, VC_CHUNK_TYPE_DATA, id, 100, 59), VC_OK);
	assert_int_equal(vc_pack_writer_adopt(b, small, sizeof(small)), VC_E_CORRUPT);
	free(pa);
	free(pb);
	free(ea);
	free(eb);
	vc_pack_writer_free(a);
	vc_pack_writer_free(b);
	vc_keys_wipe(&k);
}

/* Every byte of a small pack flipped: the map and its framing fail as
 * damage; a flip inside a blob leaves the map intact (it does not cover
 * the blobs), and that blob then fails to open. Never other entries. */
static void
test_pack_damage(void **state)
{
	struct vc_pack_writer *w = vc_pack_writer_new();
	struct vc_pack_entry *ents, *got;
	uint8_t *pack, pid[VC_ID_LEN], *plain;
	size_t len, n, ngot, i, j, plen;
	struct vc_keys k, other;
	int rc;

	(void)state;
	random_keys(&k);
	random_keys(&other);
	make_pack(&k, w, 3, 40, &pack, &len, pid, &ents, &n);
	for (i = 0; i < len; i++) {
		pack[i] ^= 0x01;
		rc = vc_pack_parse(&k, pack, len, &got, &ngot);
		if (i == VC_PACK_MAGIC_LEN) {
			assert_int_equal(rc, VC_E_UNSUPPORTED);
		} else if (rc == VC_OK) {
			uint64_t end = ents[n - 1].offset + ents[n - 1].sealed_len;
			assert_true(i >= VC_PACK_HEADER_LEN && i < end);
			assert_int_equal(ngot, n);
			for (j = 0; j < n; j++) {
				assert_entry_equal(&got[j], &ents[j]);
				if (i >= got[j].offset && i < got[j].offset + got[j].sealed_len)
					assert_int_equal(vc_open(&k, got[j].id, &pack[got[j].offset],
					    got[j].sealed_len, &plain, &plen), VC_E_AUTH);
			}
			free(got);
		} else if (rc != VC_E_AUTH && rc != VC_E_CORRUPT) {
			fail_msg("flipped byte %zu of %zu: %d", i, len, rc);
		}
		pack[i] ^= 0x01;
	}
	for (i = 0; i < len; i++)
		assert_true(vc_pack_parse(&k, pack, i, &got, &ngot) != VC_OK);
	assert_int_equal(vc_pack_parse(&other, pack, len, &got, &ngot), VC_E_AUTH);
	assert_null(got);
	assert_int_equal(vc_pack_parse(&k, pack, len, &got, &ngot), VC_OK);
	free(got);
	free(ents);
	free(pack);
	vc_pack_writer_free(w);
	vc_keys_wipe(&k);
	vc_keys_wipe(&other);
}

static void
test_segment_damage(void **state)
{
	struct vc_pack_writer *w = vc_pack_writer_new();
	struct vc_pack_entry *ents;
	uint8_t *pack, *seg;
	size_t len, n, seglen, i;
	struct vc_index_pack ip;
	struct seen s = { 0 };
	struct vc_keys k, other;
	int rc;

	(void)state;
	random_keys(&k);
	random_keys(&other);
	make_pack(&k, w, 2, 30, &pack, &len, ip.pack_id, &ents, &n);
	ip.entries = ents;
	ip.n = n;
	assert_int_equal(vc_index_encode(&k, &ip, 1, NULL, &seg, &seglen), VC_OK);
	for (i = 0; i < seglen; i++) {
		seg[i] ^= 0x01;
		rc = vc_index_decode(&k, seg, seglen, seen_cb, &s);
		seg[i] ^= 0x01;
		if (i == VC_PACK_MAGIC_LEN)
			assert_int_equal(rc, VC_E_UNSUPPORTED);
		else if (rc != VC_E_AUTH && rc != VC_E_CORRUPT)
			fail_msg("flipped byte %zu of %zu: %d", i, seglen, rc);
		assert_int_equal(s.n, 0);
	}
	for (i = 0; i < seglen; i++) {
		rc = vc_index_decode(&k, seg, i, seen_cb, &s);
		assert_true(rc == VC_E_AUTH || rc == VC_E_CORRUPT);
	}
	assert_int_equal(vc_index_decode(&other, seg, seglen, seen_cb, &s), VC_E_AUTH);
	assert_int_equal(s.n, 0);
	free(seg);
	free(ents);
	free(pack);
	vc_pack_writer_free(w);
	vc_keys_wipe(&k);
	vc_keys_wipe(&other);
}

/* What the writer refuses, and the count limit at its exact bound. */
static void
test_writer_limits(void **state)
{
	struct vc_pack_writer *w = vc_pack_writer_new();
	static uint8_t blob[VC_CHUNK_OVERHEAD];
	struct vc_pack_entry *ents;
	uint8_t id[VC_ID_LEN] = { 1 }, pid[VC_ID_LEN], *pack;
	size_t len, n, at;
	struct vc_keys k;

	(void)state;
	random_keys(&k);
	assert_int_equal(vc_pack_add(w, 0, id, blob, sizeof(blob), VC_CHUNK_MAX + 1),
	    VC_E_TOOBIG);
	assert_int_equal(vc_pack_add(w, 2, id, blob, sizeof(blob), 0), VC_E_CORRUPT);
	assert_int_equal(vc_pack_add(w, 0, id, blob, sizeof(blob) - 1, 0), VC_E_CORRUPT);
	/* A blob that would take the finished pack one byte past the limit;
	 * refused before it is read. */
	at = VC_PACK_HEADER_LEN + (size_t)MAP_SEALED_LEN(1) + VC_PACK_TRAILER_LEN;
	assert_int_equal(vc_pack_add(w, 0, id, blob, VC_PACK_SIZE_MAX - at + 1, 0), VC_E_TOOBIG);
	assert_int_equal(vc_pack_count(w), 0);
	assert_int_equal(vc_pack_size(w), VC_PACK_HEADER_LEN);

	/* VC_PACK_CHUNKS_MAX blobs (of 41 bytes) fit, one more does not. */
	for (n = 0; n < VC_PACK_CHUNKS_MAX; n++)
		assert_int_equal(vc_pack_add(w, 0, id, blob, sizeof(blob), 0), VC_OK);
	assert_int_equal(vc_pack_add(w, 0, id, blob, sizeof(blob), 0), VC_E_TOOBIG);
	assert_int_equal(vc_pack_finish(w, &k, NULL, &pack, &len, pid, &ents, &n), VC_OK);
	assert_int_equal(n, VC_PACK_CHUNKS_MAX);
	free(ents);
	assert_int_equal(vc_pack_parse(&k, pack, len, &ents, &n), VC_OK);
	assert_int_equal(n, VC_PACK_CHUNKS_MAX);
	assert_int_equal(ents[n - 1].offset, VC_PACK_HEADER_LEN + (n - 1) * sizeof(blob));
	free(ents);
	free(pack);

	/* An empty pack is valid: 65 bytes. */
	assert_int_equal(vc_pack_finish(w, &k, NULL, &pack, &len, pid, &ents, &n), VC_OK);
	assert_int_equal(len, PACK_MIN);
	assert_int_equal(n, 0);
	free(ents);
	assert_int_equal(vc_pack_parse(&k, pack, len, &ents, &n), VC_OK);
	assert_int_equal(n, 0);
	free(ents);
	free(pack);
	vc_pack_writer_free(w);
	vc_keys_wipe(&k);
}

static void
test_index_limits(void **state)
{
	struct vc_pack_entry e[2] = {
		{ VC_CHUNK_TYPE_DATA, { 1 }, VC_PACK_HEADER_LEN, 100, 59 },
		{ VC_CHUNK_TYPE_TREE, { 2 }, VC_PACK_HEADER_LEN + 100, 41, 0 },
	};
	struct vc_index_pack ip[6];
	uint8_t *seg;
	size_t len, i;
	struct vc_keys k;

	(void)state;
	random_keys(&k);
	memset(ip, 0, sizeof(ip));
	for (i = 0; i < 6; i++) {
		ip[i].pack_id[0] = (uint8_t)i;
		ip[i].entries = e;
		ip[i].n = 2;
	}
	assert_int_equal(vc_index_encode(&k, ip, 6, NULL, &seg, &len), VC_OK);
	free(seg);
	/* Limits are checked before anything past the counts is read. */
	assert_int_equal(vc_index_encode(&k, ip, (size_t)VC_INDEX_PACKS_MAX + 1, NULL, &seg, &len),
	    VC_E_TOOBIG);
	assert_null(seg);
	ip[0].n = (size_t)VC_PACK_CHUNKS_MAX + 1;
	assert_int_equal(vc_index_encode(&k, ip, 6, NULL, &seg, &len), VC_E_TOOBIG);
	for (i = 0; i < 6; i++)
		ip[i].n = VC_PACK_CHUNKS_MAX;  /* 6 x 45 MiB > VC_INDEX_PLAIN_MAX */
	assert_int_equal(vc_index_encode(&k, ip, 6, NULL, &seg, &len), VC_E_TOOBIG);
	for (i = 0; i < 6; i++)
		ip[i].n = 2;
	/* What the decoder would refuse, the encoder refuses. */
	ip[3].pack_id[0] = 1;
	assert_int_equal(vc_index_encode(&k, ip, 6, NULL, &seg, &len), VC_E_CORRUPT);
	assert_null(seg);
	ip[3].pack_id[0] = 3;
	e[1].offset++;
	assert_int_equal(vc_index_encode(&k, ip, 6, NULL, &seg, &len), VC_E_CORRUPT);
	vc_keys_wipe(&k);
}

/* Writer, finish, parse, encode and decode with the nth allocation failing,
 * for every n until all succeed. */
static int
alloc_scenario(const struct vc_keys *k, const uint8_t *sealed[3], const size_t slen[3])
{
	static const uint8_t id[VC_ID_LEN] = { 9 };
	struct vc_pack_writer *w;
	struct vc_pack_entry *ents, *got;
	uint8_t *pack, *seg, pid[VC_ID_LEN];
	struct vc_index_pack ip;
	size_t len, n, ngot, seglen;
	struct seen s = { 0 };
	int rc;

	if ((w = vc_pack_writer_new()) == NULL)
		return VC_E_NOMEM;
	for (int i = 0; i < 3; i++)
		if ((rc = vc_pack_add(w, 0, id, sealed[i], slen[i], 0)) != VC_OK)
			goto err0;
	if ((rc = vc_pack_finish(w, k, NULL, &pack, &len, pid, &ents, &n)) != VC_OK) {
		assert_int_equal(vc_pack_count(w), 3);  /* kept */
		goto err0;
	}
	if ((rc = vc_pack_parse(k, pack, len, &got, &ngot)) != VC_OK)
		goto err1;
	free(got);
	memcpy(ip.pack_id, pid, VC_ID_LEN);
	ip.entries = ents;
	ip.n = n;
	if ((rc = vc_index_encode(k, &ip, 1, NULL, &seg, &seglen)) != VC_OK)
		goto err1;
	rc = vc_index_decode(k, seg, seglen, seen_cb, &s);
	assert_true(rc != VC_OK || s.n == 3);
	seen_free(&s);
	free(seg);
err1:
	free(pack);
	free(ents);
err0:
	vc_pack_writer_free(w);
	return rc;
}

static void
test_alloc_failures(void **state)
{
	const uint8_t *sealed[3];
	size_t slen[3];
	uint8_t *b[3];
	struct vc_keys k;
	unsigned long n;
	int rc;

	(void)state;
	random_keys(&k);
	for (int i = 0; i < 3; i++) {
		slen[i] = VC_CHUNK_OVERHEAD + 3000 * (size_t)i;
		assert_non_null(b[i] = calloc(1, slen[i]));
		sealed[i] = b[i];
	}
	for (n = 1;; n++) {
		faultsim_config((int)n - 1, 1);
		rc = alloc_scenario(&k, sealed, slen);
		if (faultsim_off() == 0) {
			assert_int_equal(rc, VC_OK);
			break;
		}
		assert_int_equal(rc, VC_E_NOMEM);
	}
	/* new, entries, buffer, one regrowth, parse x2, encode x2, decode x2 */
	assert_true(n >= 9);
	for (int i = 0; i < 3; i++)
		free(b[i]);
	vc_keys_wipe(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_vectors),
		cmocka_unit_test(test_segment_vectors),
		cmocka_unit_test(test_bad_vectors),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_pack_damage),
		cmocka_unit_test(test_segment_damage),
		cmocka_unit_test(test_writer_limits),
		cmocka_unit_test(test_index_limits),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
