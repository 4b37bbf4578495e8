/*
 * client/crypto.c against spec/client-crypto.md and its vectors
 * (spec/vectors/client-crypto.json, made by an independent implementation):
 * keys, chunk IDs and keys, the config blob and sealed chunks; damage
 * detection byte by byte; the raw-or-compressed choice; the decompression
 * bound; allocation failures. The KDF runs at the MIN limits to stay fast.
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
#include <zstd.h>

#include "crypto.h"
#include "faultsim.h"

/* Decodes the hex member key of obj into a new buffer of *len bytes. */
static uint8_t *
hex_member(const json_t *obj, const char *key, size_t *len)
{
	return vectors_hex(vectors_str(obj, key), len);
}

/* Checks that the hex member key of obj is exactly the n bytes at want. */
static void
assert_hex_member(const json_t *obj, const char *key, const uint8_t *want, size_t n)
{
	size_t len;
	uint8_t *b = hex_member(obj, key, &len);

	assert_int_equal(len, n);
	assert_memory_equal(b, want, n);
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

/* The KDF parameters of kdf vector i. */
static void
kdf_params(const json_t *doc, size_t i, struct vc_kdf_params *p)
{
	json_t *v = json_array_get(array_of(doc, "kdf", 1), i);
	uint8_t *salt;
	size_t n;

	assert_non_null(v);
	p->opslimit = vectors_u64(v, "opslimit");
	p->memlimit = vectors_u64(v, "memlimit");
	salt = hex_member(v, "salt_hex", &n);
	assert_int_equal(n, VC_SALT_LEN);
	memcpy(p->salt, salt, n);
	free(salt);
}

/* Checks k against the subkeys_hex of kdf vector v. */
static void
assert_subkeys(const json_t *v, const struct vc_keys *k)
{
	json_t *s = json_object_get(v, "subkeys_hex");

	assert_true(json_is_object(s));
	assert_hex_member(s, "mac", k->mac, VC_KEY_LEN);
	assert_hex_member(s, "chunker_seed", k->chunker_seed, VC_KEY_LEN);
	assert_hex_member(s, "index", k->index, VC_KEY_LEN);
	assert_hex_member(s, "check", k->check, VC_KEY_LEN);
	assert_hex_member(s, "chunk", k->chunk, VC_KEY_LEN);
}

/* The keys of kdf vector 0, which the chunk vectors use. */
static void
vector_keys(const json_t *doc, struct vc_keys *k)
{
	json_t *v = json_array_get(array_of(doc, "kdf", 1), 0);
	struct vc_kdf_params p;
	uint8_t *pw;
	size_t pwlen;

	kdf_params(doc, 0, &p);
	pw = hex_member(v, "passphrase_hex", &pwlen);
	assert_int_equal(vc_keys_derive(pw, pwlen, &p, k), VC_OK);
	free(pw);
}

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void
test_kdf_vectors(void **state)
{
	json_t *doc = vectors_load("client-crypto.json", 0), *v;
	uint8_t master[VC_KEY_LEN], *pw;
	struct vc_kdf_params p;
	struct vc_keys k;
	size_t i, pwlen;

	(void)state;
	json_array_foreach(array_of(doc, "kdf", 3), i, v) {
		kdf_params(doc, i, &p);
		pw = hex_member(v, "passphrase_hex", &pwlen);
		assert_int_equal(vc_master_derive(pw, pwlen, &p, master), VC_OK);
		assert_hex_member(v, "master_key_hex", master, sizeof(master));
		vc_keys_from_master(master, &k);
		assert_subkeys(v, &k);
		memset(&k, 0xaa, sizeof(k));
		assert_int_equal(vc_keys_derive(pw, pwlen, &p, &k), VC_OK);
		assert_subkeys(v, &k);
		vc_keys_wipe(&k);
		free(pw);
	}
	json_decref(doc);
}

static void
test_kdf_limits(void **state)
{
	struct vc_kdf_params p;
	struct vc_keys k;

	(void)state;
	vc_kdf_params_default(&p);
	assert_int_equal(p.opslimit, crypto_pwhash_OPSLIMIT_MODERATE);
	assert_int_equal(p.memlimit, crypto_pwhash_MEMLIMIT_MODERATE);
	p.opslimit = 0;
	assert_int_equal(vc_keys_derive((const uint8_t *)"x", 1, &p, &k), VC_E_UNSUPPORTED);
	p.opslimit = VC_KDF_OPSLIMIT_MAX + 1;
	assert_int_equal(vc_keys_derive((const uint8_t *)"x", 1, &p, &k), VC_E_UNSUPPORTED);
	p.opslimit = 1;
	p.memlimit = VC_KDF_MEMLIMIT_MAX + 1024;
	assert_int_equal(vc_keys_derive((const uint8_t *)"x", 1, &p, &k), VC_E_UNSUPPORTED);
	p.memlimit = VC_KDF_MEMLIMIT_MIN + 1;  /* not whole KiB */
	assert_int_equal(vc_keys_derive((const uint8_t *)"x", 1, &p, &k), VC_E_UNSUPPORTED);
	p.memlimit = VC_KDF_MEMLIMIT_MIN - 1024;
	assert_int_equal(vc_keys_derive((const uint8_t *)"x", 1, &p, &k), VC_E_UNSUPPORTED);
}

static void
test_chunk_vectors(void **state)
{
	json_t *doc = vectors_load("client-crypto.json", 0), *v;
	uint8_t id[VC_ID_LEN], key[VC_KEY_LEN], *plain, *blob, *nonce, *out;
	size_t i, plen, blen, nlen, outlen;
	struct vc_keys k;
	int compressed = 0, raw = 0;

	(void)state;
	vector_keys(doc, &k);
	json_array_foreach(array_of(doc, "chunks", 4), i, v) {
		assert_int_equal(vectors_u64(v, "kdf"), 0);
		plain = hex_member(v, "plain_hex", &plen);
		blob = hex_member(v, "blob_hex", &blen);
		nonce = hex_member(v, "nonce_hex", &nlen);
		assert_int_equal(nlen, VC_NONCE_LEN);
		vc_chunk_id(&k, plain, plen, id);
		assert_hex_member(v, "chunk_id_hex", id, sizeof(id));
		vc_chunk_key(&k, id, key);
		assert_hex_member(v, "chunk_key_hex", key, sizeof(key));

		assert_int_equal(vc_open(&k, id, blob, blen, &out, &outlen), VC_OK);
		assert_int_equal(outlen, plen);
		assert_memory_equal(out, plain, plen);
		free(out);

		assert_int_equal(vc_seal(&k, id, plain, plen, (int)vectors_u64(v, "level"), nonce,
		    &out, &outlen), VC_OK);
		assert_int_equal(out[0], vectors_u64(v, "flags"));
		/* Compressed bytes are zstd's choice and may change between
		 * its versions; raw ones, and any under the same zstd, not. */
		if (out[0] == 0 || ZSTD_versionNumber() == vectors_u64(doc, "zstd_version")) {
			assert_int_equal(outlen, blen);
			assert_memory_equal(out, blob, blen);
		}
		if (out[0] & VC_CHUNK_FLAG_ZSTD)
			compressed++;
		else
			raw++;
		free(out);
		free(plain);
		free(blob);
		free(nonce);
	}
	assert_true(compressed > 0 && raw > 0);
	vc_keys_wipe(&k);
	json_decref(doc);
}

static void
test_config_vectors(void **state)
{
	json_t *doc = vectors_load("client-crypto.json", 0), *v, *kv;
	uint8_t *want, *pw, *wrong, *nonce, *blob;
	size_t i, wlen, pwlen, wronglen, nlen, blen;
	struct vc_kdf_params p, got;
	struct vc_keys k;

	(void)state;
	json_array_foreach(array_of(doc, "config", 3), i, v) {
		kv = json_array_get(array_of(doc, "kdf", 1), vectors_u64(v, "kdf"));
		assert_non_null(kv);
		kdf_params(doc, vectors_u64(v, "kdf"), &p);
		want = hex_member(v, "blob_hex", &wlen);
		pw = hex_member(v, "passphrase_hex", &pwlen);
		wrong = hex_member(v, "wrong_passphrase_hex", &wronglen);
		nonce = hex_member(v, "nonce_hex", &nlen);
		assert_int_equal(nlen, VC_NONCE_LEN);
		assert_int_equal(wlen, VC_CONFIG_LEN);

		assert_int_equal(vc_config_new(pw, pwlen, &p, nonce, &blob, &blen, &k), VC_OK);
		assert_int_equal(blen, wlen);
		assert_memory_equal(blob, want, wlen);
		assert_subkeys(kv, &k);
		free(blob);

		memset(&k, 0, sizeof(k));
		assert_int_equal(vc_config_open(want, wlen, pw, pwlen, &k, &got), VC_OK);
		assert_subkeys(kv, &k);
		assert_int_equal(got.opslimit, p.opslimit);
		assert_int_equal(got.memlimit, p.memlimit);
		assert_memory_equal(got.salt, p.salt, VC_SALT_LEN);
		assert_int_equal(vc_config_open(want, wlen, wrong, wronglen, &k, NULL),
		    VC_E_PASSPHRASE);
		free(want);
		free(pw);
		free(wrong);
		free(nonce);
	}
	json_decref(doc);
}

/* Rewrites the checksum of a config blob after a test edited it. */
static void
config_resum(uint8_t *b)
{
	crypto_generichash(&b[VC_CONFIG_SUM_OFF], VC_CONFIG_SUM_LEN, b, VC_CONFIG_SUM_OFF,
	    NULL, 0);
}

static void
test_config_damage(void **state)
{
	static const uint8_t pw[] = "passphrase";
	struct vc_kdf_params p = { VC_KDF_OPSLIMIT_MIN, VC_KDF_MEMLIMIT_MIN, { 0 } };
	uint8_t *blob, big[VC_CONFIG_LEN + 1];
	struct vc_keys k, k2;
	size_t len, i;
	int rc, bit;

	(void)state;
	randombytes_buf(p.salt, sizeof(p.salt));
	assert_int_equal(vc_config_new(pw, sizeof(pw) - 1, &p, NULL, &blob, &len, &k), VC_OK);
	assert_int_equal(len, VC_CONFIG_LEN);
	assert_int_equal(vc_config_open(blob, len, pw, sizeof(pw) - 1, &k2, NULL), VC_OK);
	assert_memory_equal(&k, &k2, sizeof(k));
	assert_int_equal(vc_config_open(blob, len, pw, sizeof(pw) - 2, &k2, NULL),
	    VC_E_PASSPHRASE);
	/* A failed open leaves no key material behind. */
	memset(&k, 0, sizeof(k));
	assert_memory_equal(&k, &k2, sizeof(k));

	/* Every single flipped bit: the version byte reads as another
	 * version, anything else as damage, never as a wrong passphrase. */
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			blob[i] ^= (uint8_t)(1u << bit);
			rc = vc_config_open(blob, len, pw, sizeof(pw) - 1, &k2, NULL);
			blob[i] ^= (uint8_t)(1u << bit);
			if (i == VC_CONFIG_VERSION_OFF)
				assert_int_equal(rc, VC_E_UNSUPPORTED);
			else if (rc != VC_E_CORRUPT)
				fail_msg("byte %zu bit %d: %d", i, bit, rc);
		}
	}
	for (i = 0; i < len; i++)
		assert_int_equal(vc_config_open(blob, i, pw, sizeof(pw) - 1, &k2, NULL),
		    VC_E_CORRUPT);
	memcpy(big, blob, len);
	big[len] = 0;
	assert_int_equal(vc_config_open(big, sizeof(big), pw, sizeof(pw) - 1, &k2, NULL),
	    VC_E_CORRUPT);

	/* Intact blobs that this version cannot or must not use. A KDF id or
	 * limits edited with a fresh checksum are unsupported, and refused
	 * before Argon2id would allocate a hostile server's memlimit. */
	memcpy(big, blob, len);
	big[VC_CONFIG_VERSION_OFF] = VC_CONFIG_VERSION + 1;
	assert_int_equal(vc_config_open(big, 20, pw, sizeof(pw) - 1, &k2, NULL), VC_E_UNSUPPORTED);
	memcpy(big, blob, len);
	big[VC_CONFIG_KDF_OFF] = 2;
	config_resum(big);
	assert_int_equal(vc_config_open(big, len, pw, sizeof(pw) - 1, &k2, NULL), VC_E_UNSUPPORTED);
	memcpy(big, blob, len);
	big[VC_CONFIG_MEMLIMIT_OFF + 7] = 0x01;  /* 2^56 bytes */
	config_resum(big);
	assert_int_equal(vc_config_open(big, len, pw, sizeof(pw) - 1, &k2, NULL), VC_E_UNSUPPORTED);
	memcpy(big, blob, len);
	big[VC_CONFIG_OPSLIMIT_OFF + 4] = 0x01;
	config_resum(big);
	assert_int_equal(vc_config_open(big, len, pw, sizeof(pw) - 1, &k2, NULL), VC_E_UNSUPPORTED);
	/* An edited salt with a fresh checksum fails the check value's tag
	 * (it is associated data): a forger cannot pass it off. */
	memcpy(big, blob, len);
	big[VC_CONFIG_SALT_OFF] ^= 1;
	config_resum(big);
	assert_int_equal(vc_config_open(big, len, pw, sizeof(pw) - 1, &k2, NULL), VC_E_PASSPHRASE);

	free(blob);
	p.opslimit = 0;
	assert_int_equal(vc_config_new(pw, sizeof(pw) - 1, &p, NULL, &blob, &len, &k),
	    VC_E_UNSUPPORTED);
	assert_null(blob);
	vc_keys_wipe(&k2);
}

/* Fresh keys at the MIN limits. */
static void
test_keys(struct vc_keys *k)
{
	struct vc_kdf_params p = { VC_KDF_OPSLIMIT_MIN, VC_KDF_MEMLIMIT_MIN, { 0 } };

	randombytes_buf(p.salt, sizeof(p.salt));
	assert_int_equal(vc_keys_derive((const uint8_t *)"pw", 2, &p, k), VC_OK);
}

/* Seals plain, checks the raw-or-compressed choice, the round trip and
 * that every single flipped byte (and a truncation, a wrong ID and a wrong
 * key) is refused. */
static void
seal_and_damage(const struct vc_keys *k, const struct vc_keys *other, const uint8_t *plain,
    size_t len, int want_flags)
{
	uint8_t id[VC_ID_LEN], *blob, *out;
	size_t blen, outlen, i;
	int rc;

	vc_chunk_id(k, plain, len, id);
	assert_int_equal(vc_seal(k, id, plain, len, VC_ZSTD_LEVEL_DEFAULT, NULL, &blob, &blen),
	    VC_OK);
	assert_int_equal(blob[0], want_flags);
	if (want_flags == 0)
		assert_int_equal(blen, len + VC_CHUNK_OVERHEAD);
	else
		assert_true(blen < len + VC_CHUNK_OVERHEAD);
	assert_int_equal(vc_open(k, id, blob, blen, &out, &outlen), VC_OK);
	assert_int_equal(outlen, len);
	assert_memory_equal(out, plain, len);
	free(out);

	for (i = 0; i < blen; i++) {
		blob[i] ^= 0x01;
		rc = vc_open(k, id, blob, blen, &out, &outlen);
		blob[i] ^= 0x01;
		if (rc != VC_E_AUTH)
			fail_msg("flipped byte %zu of %zu: %d", i, blen, rc);
		assert_null(out);
	}
	blob[0] ^= 0x80;
	assert_int_equal(vc_open(k, id, blob, blen, &out, &outlen), VC_E_CORRUPT);
	blob[0] ^= 0x80;
	assert_int_equal(vc_open(k, id, blob, blen - 1, &out, &outlen),
	    blen > VC_CHUNK_OVERHEAD ? VC_E_AUTH : VC_E_CORRUPT);
	assert_int_equal(vc_open(k, id, blob, VC_CHUNK_OVERHEAD - 1, &out, &outlen), VC_E_CORRUPT);
	assert_int_equal(vc_open(other, id, blob, blen, &out, &outlen), VC_E_AUTH);
	id[VC_ID_LEN - 1] ^= 1;
	assert_int_equal(vc_open(k, id, blob, blen, &out, &outlen), VC_E_AUTH);
	free(blob);
}

static void
test_seal(void **state)
{
	struct vc_keys k, other;
	uint8_t *buf;
	size_t i, n = 2000;

	(void)state;
	test_keys(&k);
	test_keys(&other);
	assert_true(sodium_memcmp(&k, &other, sizeof(k)) != 0);
	assert_non_null(buf = malloc(n));
	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)"abcabcabd"[i % 9];
	seal_and_damage(&k, &other, buf, n, VC_CHUNK_FLAG_ZSTD);
	randombytes_buf(buf, n);
	seal_and_damage(&k, &other, buf, n, 0);
	seal_and_damage(&k, &other, buf, 0, 0);
	seal_and_damage(&k, &other, buf, 1, 0);
	memset(buf, 0, 64);
	seal_and_damage(&k, &other, buf, 64, VC_CHUNK_FLAG_ZSTD);
	free(buf);
	vc_keys_wipe(&k);
	vc_keys_wipe(&other);
}

static void
test_levels_and_limits(void **state)
{
	static const int levels[] = { 0, -5, 1, 3, 19, 22, 1000 };
	uint8_t id[VC_ID_LEN], *plain, *blob, *out;
	size_t n = 50000, blen, outlen, i;
	struct vc_keys k;

	(void)state;
	test_keys(&k);
	assert_non_null(plain = calloc(1, VC_CHUNK_MAX + 1));
	for (i = 0; i < n; i++)
		plain[i] = (uint8_t)(i / 7 % 251);
	vc_chunk_id(&k, plain, n, id);
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		assert_int_equal(vc_seal(&k, id, plain, n, levels[i], NULL, &blob, &blen), VC_OK);
		assert_int_equal(blob[0], VC_CHUNK_FLAG_ZSTD);
		assert_int_equal(vc_open(&k, id, blob, blen, &out, &outlen), VC_OK);
		assert_int_equal(outlen, n);
		assert_memory_equal(out, plain, n);
		free(out);
		free(blob);
	}
	/* The largest chunk seals and opens; one byte more is refused. */
	vc_chunk_id(&k, plain, VC_CHUNK_MAX, id);
	assert_int_equal(vc_seal(&k, id, plain, VC_CHUNK_MAX, 1, NULL, &blob, &blen), VC_OK);
	assert_int_equal(vc_open(&k, id, blob, blen, &out, &outlen), VC_OK);
	assert_int_equal(outlen, VC_CHUNK_MAX);
	free(out);
	free(blob);
	assert_int_equal(vc_seal(&k, id, plain, VC_CHUNK_MAX + 1, 1, NULL, &blob, &blen),
	    VC_E_TOOBIG);
	assert_null(blob);
	free(plain);
	vc_keys_wipe(&k);
}

/* Seals body (already compressed by the test) as a chunk with flags. */
static uint8_t *
seal_body(const struct vc_keys *k, const uint8_t id[VC_ID_LEN], uint8_t flags,
    const uint8_t *body, size_t n, size_t *blen)
{
	uint8_t key[VC_KEY_LEN], ad[VC_CHUNK_AD_LEN], *b;

	assert_non_null(b = malloc(VC_CHUNK_OVERHEAD + n));
	b[0] = flags;
	randombytes_buf(&b[VC_CHUNK_NONCE_OFF], VC_NONCE_LEN);
	memcpy(ad, id, VC_ID_LEN);
	ad[VC_ID_LEN] = flags;
	vc_chunk_key(k, id, key);
	crypto_aead_xchacha20poly1305_ietf_encrypt(&b[VC_CHUNK_CT_OFF], NULL, body, n, ad,
	    sizeof(ad), NULL, &b[VC_CHUNK_NONCE_OFF], key);
	*blen = VC_CHUNK_OVERHEAD + n;
	return b;
}

/* Authentic chunks that decompress past the bound or are not one frame
 * with a stated size: a buggy or hostile key holder's, never opened. */
static void
test_bomb(void **state)
{
	size_t big = VC_CHUNK_MAX + 1, zcap = ZSTD_compressBound(VC_CHUNK_MAX + 1);
	uint8_t id[VC_ID_LEN] = { 7 }, *plain, *z, *blob, *out;
	size_t zlen, blen, outlen;
	ZSTD_CCtx *cc;
	struct vc_keys k;

	(void)state;
	test_keys(&k);
	assert_non_null(plain = calloc(1, big));
	assert_non_null(z = malloc(zcap + 1));
	zlen = ZSTD_compress(z, zcap, plain, big, 1);
	assert_false(ZSTD_isError(zlen));
	assert_true(zlen < 4096);
	blob = seal_body(&k, id, VC_CHUNK_FLAG_ZSTD, z, zlen, &blen);
	assert_int_equal(vc_open(&k, id, blob, blen, &out, &outlen), VC_E_TOOBIG);
	assert_null(out);
	free(blob);

	/* One byte of trailing garbage after a good frame. */
	zlen = ZSTD_compress(z, zcap, plain, 1000, 1);
	assert_false(ZSTD_isError(zlen));
	z[zlen] = 0;
	blob = seal_body(&k, id, VC_CHUNK_FLAG_ZSTD, z, zlen + 1, &blen);
	assert_int_equal(vc_open(&k, id, blob, blen, &out, &outlen), VC_E_CORRUPT);
	free(blob);
	/* Not zstd at all. */
	blob = seal_body(&k, id, VC_CHUNK_FLAG_ZSTD, plain, 100, &blen);
	assert_int_equal(vc_open(&k, id, blob, blen, &out, &outlen), VC_E_CORRUPT);
	free(blob);

	/* A frame that does not state its content size. */
	assert_non_null(cc = ZSTD_createCCtx());
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0)));
	zlen = ZSTD_compress2(cc, z, zcap, plain, 1000);
	assert_false(ZSTD_isError(zlen));
	ZSTD_freeCCtx(cc);
	blob = seal_body(&k, id, VC_CHUNK_FLAG_ZSTD, z, zlen, &blen);
	assert_int_equal(vc_open(&k, id, blob, blen, &out, &outlen), VC_E_CORRUPT);
	free(blob);

	free(z);
	free(plain);
	vc_keys_wipe(&k);
}

static void
test_alloc_failures(void **state)
{
	static const uint8_t pw[] = "pw";
	struct vc_kdf_params p = { VC_KDF_OPSLIMIT_MIN, VC_KDF_MEMLIMIT_MIN, { 0 } };
	uint8_t id[VC_ID_LEN], plain[3000], *blob, *out, *cfg;
	size_t blen, outlen, clen;
	struct vc_keys k, k2;
	unsigned long n;
	int rc;

	(void)state;
	test_keys(&k);
	memset(plain, 'a', sizeof(plain));
	vc_chunk_id(&k, plain, sizeof(plain), id);
	for (n = 1;; n++) {
		faultsim_config((int)n - 1, 1);
		rc = vc_seal(&k, id, plain, sizeof(plain), 3, NULL, &blob, &blen);
		if (faultsim_off() == 0) {
			assert_int_equal(rc, VC_OK);
			break;
		}
		assert_int_equal(rc, VC_E_NOMEM);
		assert_null(blob);
	}
	assert_int_equal(n, 2); /* one allocation: the blob (compressed into in place) */
	for (n = 1;; n++) {
		faultsim_config((int)n - 1, 1);
		rc = vc_open(&k, id, blob, blen, &out, &outlen);
		if (faultsim_off() == 0) {
			assert_int_equal(rc, VC_OK);
			break;
		}
		assert_int_equal(rc, VC_E_NOMEM);
		assert_null(out);
	}
	assert_int_equal(n, 3);
	assert_memory_equal(out, plain, sizeof(plain));
	free(out);
	free(blob);

	for (n = 1;; n++) {
		faultsim_config((int)n - 1, 1);
		rc = vc_config_new(pw, 2, &p, NULL, &cfg, &clen, &k2);
		if (faultsim_off() == 0) {
			assert_int_equal(rc, VC_OK);
			break;
		}
		assert_int_equal(rc, VC_E_NOMEM);
		assert_null(cfg);
	}
	assert_int_equal(n, 2);
	free(cfg);
	vc_keys_wipe(&k);
	vc_keys_wipe(&k2);
}

static void
test_strerror(void **state)
{
	(void)state;
	assert_string_equal(vc_strerror(VC_E_PASSPHRASE), "wrong passphrase");
	assert_string_not_equal(vc_strerror(VC_E_CORRUPT), vc_strerror(VC_E_PASSPHRASE));
	assert_string_equal(vc_strerror(42), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdf_vectors),
		cmocka_unit_test(test_kdf_limits),
		cmocka_unit_test(test_chunk_vectors),
		cmocka_unit_test(test_config_vectors),
		cmocka_unit_test(test_config_damage),
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_levels_and_limits),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
