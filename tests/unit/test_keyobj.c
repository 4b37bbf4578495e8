/*
 * client/keyobj.c and the version 2 config blob against spec/client-crypto.md
 * 2.1 and 8 and spec/vectors/keyobj.json (from the independent generator
 * spec/vectors/gen/keyobj_vectors.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "vectors.h"
#include <jansson.h>
#include <sodium.h>

#include "keycache.h"
#include "keyobj.h"

static void
test_config2(void **state)
{
	json_t *doc = vectors_load("keyobj.json", 0), *c = json_object_get(doc, "config2");
	uint8_t *master, *nonce, *blob, *mine;
	size_t n, blen, mlen;
	struct vc_keys k;

	(void)state;
	master = vectors_hex(vectors_str(doc, "master_key_hex"), &n);
	nonce = vectors_hex(vectors_str(c, "nonce_hex"), &n);
	blob = vectors_hex(vectors_str(c, "blob_hex"), &blen);
	assert_int_equal(blen, VC_CONFIG2_LEN);
	assert_int_equal(vc_config2_new(master, nonce, &mine, &mlen), VC_OK);
	assert_int_equal(mlen, blen);
	assert_memory_equal(mine, blob, blen);
	assert_int_equal(vc_config_version(blob, blen), 2);
	assert_int_equal(vc_config_check(blob, master, &k), VC_OK);
	/* Every flipped bit is corrupt (checksum) or unsupported (version). */
	for (size_t i = 0; i < blen * 8; i++) {
		int rc;

		blob[i / 8] ^= (uint8_t)(1u << (i % 8));
		rc = vc_config_version(blob, blen);
		blob[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_true(rc == VC_E_CORRUPT || (i / 8 == VC_CONFIG_VERSION_OFF &&
		    (rc == VC_E_UNSUPPORTED || rc == VC_E_CORRUPT)));
	}
	master[0] ^= 1;
	assert_int_equal(vc_config_check(blob, master, &k), VC_E_PASSPHRASE);
	free(mine);
	free(master);
	free(nonce);
	free(blob);
	json_decref(doc);
}

static void
test_keys(void **state)
{
	json_t *doc = vectors_load("keyobj.json", 0), *v;
	uint8_t *master, got[VC_KEY_LEN], out[VC_KEYOBJ_LEN];
	size_t i, n;

	(void)state;
	master = vectors_hex(vectors_str(doc, "master_key_hex"), &n);
	json_array_foreach(json_object_get(doc, "keys"), i, v) {
		size_t olen, slen, wlen, nlen, saltlen;
		uint8_t *obj = vectors_hex(vectors_str(v, "object_hex"), &olen);
		uint8_t *secret = vectors_hex(vectors_str(v, "secret_hex"), &slen);
		uint8_t *wrong = vectors_hex(vectors_str(v, "wrong_secret_hex"), &wlen);
		uint8_t *nonces = vectors_hex(vectors_str(v, "nonces_hex"), &nlen);
		uint8_t *salt = vectors_hex(vectors_str(v, "salt_hex"), &saltlen);
		struct vc_kdf_params p = { vectors_u64(v, "opslimit"), vectors_u64(v, "memlimit"),
		    { 0 } };
		struct vc_keyobj_info info;
		int type = (int)vectors_u64(v, "type");

		memcpy(p.salt, salt, VC_SALT_LEN);
		/* Python wrote, C reads. */
		assert_int_equal(vc_keyobj_type(obj, olen), type);
		assert_int_equal(vc_keyobj_open(obj, secret, slen, got), VC_OK);
		assert_memory_equal(got, master, VC_KEY_LEN);
		assert_int_equal(vc_keyobj_open(obj, wrong, wlen, got), VC_E_PASSPHRASE);
		assert_int_equal(vc_keyobj_info(obj, master, &info), VC_OK);
		assert_int_equal(info.created, vectors_u64(v, "created"));
		assert_string_equal(info.label, vectors_str(v, "label"));
		/* C writes the same bytes. */
		assert_int_equal(vc_keyobj_new(type, secret, slen, &p, master,
		    (int64_t)vectors_u64(v, "created"), vectors_str(v, "label"), nonces, out), VC_OK);
		assert_memory_equal(out, obj, VC_KEYOBJ_LEN);
		/* A flipped header byte: no longer opens (the header is the AD). */
		obj[VC_KEYOBJ_SALT_OFF] ^= 1;
		assert_int_equal(vc_keyobj_open(obj, secret, slen, got), VC_E_PASSPHRASE);
		assert_int_equal(vc_keyobj_info(obj, master, &info), VC_E_AUTH);
		obj[VC_KEYOBJ_SALT_OFF] ^= 1;
		/* Another vault's master key cannot read the info. */
		master[1] ^= 1;
		assert_int_equal(vc_keyobj_info(obj, master, &info), VC_E_AUTH);
		master[1] ^= 1;
		/* Wrong size, magic, version, limits. */
		assert_int_equal(vc_keyobj_type(obj, olen - 1), VC_E_CORRUPT);
		obj[0] ^= 1;
		assert_int_equal(vc_keyobj_type(obj, olen), VC_E_CORRUPT);
		obj[0] ^= 1;
		obj[VC_KEYOBJ_VERSION_OFF] = 2;
		assert_int_equal(vc_keyobj_type(obj, olen), VC_E_UNSUPPORTED);
		obj[VC_KEYOBJ_VERSION_OFF] = VC_KEYOBJ_VERSION;
		obj[VC_KEYOBJ_MEMLIMIT_OFF + 5] = 0x7f;
		assert_true(vc_keyobj_type(obj, olen) < 0);
		free(obj);
		free(secret);
		free(wrong);
		free(nonces);
		free(salt);
	}
	assert_int_equal(i, 3);
	free(master);
	json_decref(doc);
}

static void
test_recovery_text(void **state)
{
	json_t *doc = vectors_load("keyobj.json", 0), *r = json_object_get(doc, "recovery_text");
	const char *text = vectors_str(r, "text");
	uint8_t key[VC_RECOVERY_LEN], again[VC_RECOVERY_LEN], *want;
	char made[VC_RECOVERY_TEXT_LEN + 1];
	size_t n;

	(void)state;
	want = vectors_hex(vectors_str(r, "key_hex"), &n);
	assert_int_equal(vc_recovery_parse(text, strlen(text), key), 0);
	assert_memory_equal(key, want, VC_RECOVERY_LEN);
	assert_int_equal(vc_recovery_parse("correct horse", 13, key), -1);
	assert_int_equal(vc_recovery_parse(text, strlen(text) - 1, key), -1);
	vc_recovery_new(key, made);
	assert_int_equal(strlen(made), VC_RECOVERY_TEXT_LEN);
	assert_int_equal(vc_recovery_parse(made, strlen(made), again), 0);
	assert_memory_equal(key, again, VC_RECOVERY_LEN);
	free(want);
	json_decref(doc);
}

/* The key cache file (spec/client-crypto.md 9): opens only under its
 * passphrase, and every flipped byte is refused. */
static void
test_keycache(void **state)
{
	struct vc_keycache_entry e, got;
	uint8_t salt[VC_SALT_LEN] = { 1 }, nonce[VC_NONCE_LEN] = { 2 }, buf[VC_KEYCACHE_LEN];
	char dir[] = "/tmp/test_keycache.XXXXXX", path[256];

	(void)state;
	memset(&e, 0, sizeof(e));
	randombytes_buf(e.master, sizeof(e.master));
	memset(e.key_id, 0x5a, sizeof(e.key_id));
	vc_keycache_seal((const uint8_t *)"pw", 2, &e, salt, nonce, buf);
	assert_memory_equal(buf, VC_KEYCACHE_MAGIC, VC_KEYCACHE_MAGIC_LEN);
	assert_int_equal(vc_keycache_open(buf, sizeof(buf), (const uint8_t *)"pw", 2, &got), 0);
	assert_memory_equal(got.master, e.master, VC_KEY_LEN);
	assert_memory_equal(got.key_id, e.key_id, VC_ID_LEN);
	assert_int_equal(got.by_config, 0);
	assert_int_equal(vc_keycache_open(buf, sizeof(buf), (const uint8_t *)"pX", 2, &got), 1);
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] ^= 0x10;
		assert_int_equal(vc_keycache_open(buf, sizeof(buf), (const uint8_t *)"pw", 2, &got), 1);
		buf[i] ^= 0x10;
	}
	assert_int_equal(vc_keycache_open(buf, sizeof(buf) - 1, (const uint8_t *)"pw", 2, &got), 1);
	/* Through a file: written 0600, read back; a missing file is a miss. */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/entry", dir);
	assert_int_equal(vc_keycache_load(path, (const uint8_t *)"pw", 2, &got), 1);
	e.by_config = 1;
	assert_int_equal(vc_keycache_store(path, (const uint8_t *)"pw", 2, &e), 0);
	assert_int_equal(vc_keycache_load(path, (const uint8_t *)"pw", 2, &got), 0);
	assert_int_equal(got.by_config, 1);
	assert_memory_equal(got.master, e.master, VC_KEY_LEN);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config2),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_recovery_text),
		cmocka_unit_test(test_keycache),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
