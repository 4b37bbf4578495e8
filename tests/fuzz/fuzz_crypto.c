/*
 * Fuzz driver for the bytes a client takes from the vault (spec/client-
 * crypto.md): the config blob (vc_config_open), sealed chunks (vc_open),
 * and key objects, version 2 configs and key cache files.
 *
 * Input: byte 0 picks the mode, the rest is the data.
 *   bit 0 clear, bit 2 set: the data is read as a key object, a version 2
 *     config and a key cache file (sections 2.1, 8, 9). With bit 1 set the
 *     driver first gives it a key object's magic, version, size and the
 *     smallest limits, so that the unwrapping is reached.
 *   mode even: the data is a config blob. With bit 1 set the driver first
 *     makes it pass the checksum, with the smallest KDF limits, so that the
 *     later checks and the KDF itself are reached (a fuzzer cannot find a
 *     BLAKE2b checksum by itself, and large limits would only be slow).
 *   mode odd: the data is a sealed chunk opened under fixed keys; then the
 *     data is sealed as a plaintext and must open back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "fuzz.h"
#include "keycache.h"
#include "keyobj.h"

static const uint8_t passphrase[] = "correct horse battery staple";

static void
le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
le64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
fuzz_config(const uint8_t *data, size_t size, int fix_up)
{
	struct vc_kdf_params params;
	struct vc_keys keys;
	uint8_t blob[VC_CONFIG_LEN];
	const uint8_t *in = data;
	int rc;

	if (fix_up && size >= VC_CONFIG_LEN) {
		memcpy(blob, data, sizeof(blob));
		le64_put(&blob[VC_CONFIG_OPSLIMIT_OFF], VC_KDF_OPSLIMIT_MIN);
		le64_put(&blob[VC_CONFIG_MEMLIMIT_OFF], VC_KDF_MEMLIMIT_MIN);
		crypto_generichash(&blob[VC_CONFIG_SUM_OFF], VC_CONFIG_SUM_LEN, blob,
		    VC_CONFIG_SUM_OFF, NULL, 0);
		in = blob;
		size = sizeof(blob);
	}
	rc = vc_config_open(in, size, passphrase, sizeof(passphrase) - 1, &keys, &params);
	FUZZ_CHECK(rc == VC_OK || rc == VC_E_CORRUPT || rc == VC_E_UNSUPPORTED ||
	    rc == VC_E_PASSPHRASE || rc == VC_E_NOMEM);
	if (rc == VC_OK || rc == VC_E_PASSPHRASE) {
		/* It got as far as the KDF: the limits it used are the bounded ones. */
		FUZZ_CHECK(params.opslimit >= VC_KDF_OPSLIMIT_MIN &&
		    params.opslimit <= VC_KDF_OPSLIMIT_MAX);
		FUZZ_CHECK(params.memlimit >= VC_KDF_MEMLIMIT_MIN &&
		    params.memlimit <= VC_KDF_MEMLIMIT_MAX);
	}
	vc_keys_wipe(&keys);
}

static void
fuzz_keys(const uint8_t *data, size_t size, int fix_up)
{
	static const uint8_t master[VC_KEY_LEN] = {1, 2, 3};
	uint8_t obj[VC_KEYOBJ_LEN], got[VC_KEY_LEN], secret[VC_RECOVERY_LEN] = {7};
	struct vc_keyobj_info info;
	struct vc_keycache_entry e;
	struct vc_keys keys;
	const uint8_t *in = data;
	int rc;

	if (fix_up && size >= VC_KEYOBJ_LEN) {
		memcpy(obj, data, sizeof(obj));
		memcpy(obj, VC_KEYOBJ_MAGIC, VC_KEYOBJ_MAGIC_LEN);
		obj[VC_KEYOBJ_VERSION_OFF] = VC_KEYOBJ_VERSION;
		obj[VC_KEYOBJ_TYPE_OFF] = 1 + (obj[VC_KEYOBJ_TYPE_OFF] & 1);
		le64_put(&obj[VC_KEYOBJ_OPSLIMIT_OFF], obj[VC_KEYOBJ_TYPE_OFF] == 1 ?
		    VC_KDF_OPSLIMIT_MIN : 0);
		le64_put(&obj[VC_KEYOBJ_MEMLIMIT_OFF], obj[VC_KEYOBJ_TYPE_OFF] == 1 ?
		    VC_KDF_MEMLIMIT_MIN : 0);
		in = obj;
		size = sizeof(obj);
	}
	rc = vc_keyobj_type(in, size);
	FUZZ_CHECK(rc == VC_KEYOBJ_TYPE_PASSPHRASE || rc == VC_KEYOBJ_TYPE_RECOVERY ||
	    rc == VC_E_CORRUPT || rc == VC_E_UNSUPPORTED);
	if (rc > 0) {
		/* Checked limits only; the smallest keep the fuzzer fast. */
		if (rc == VC_KEYOBJ_TYPE_RECOVERY ||
		    (le64_get(&in[VC_KEYOBJ_OPSLIMIT_OFF]) == VC_KDF_OPSLIMIT_MIN &&
		    le64_get(&in[VC_KEYOBJ_MEMLIMIT_OFF]) == VC_KDF_MEMLIMIT_MIN)) {
			rc = vc_keyobj_open(in, secret, sizeof(secret), got);
			FUZZ_CHECK(rc == VC_OK || rc == VC_E_PASSPHRASE || rc == VC_E_NOMEM);
		}
		rc = vc_keyobj_info(in, master, &info);
		FUZZ_CHECK(rc == VC_OK || rc == VC_E_AUTH);
		FUZZ_CHECK(memchr(info.label, 0, sizeof(info.label)) != NULL);
	}
	rc = vc_config_version(data, size);
	FUZZ_CHECK(rc == 1 || rc == 2 || rc == VC_E_CORRUPT || rc == VC_E_UNSUPPORTED);
	if (rc == 2) {
		rc = vc_config_check(data, master, &keys);
		FUZZ_CHECK(rc == VC_OK || rc == VC_E_PASSPHRASE || rc == VC_E_CORRUPT);
		vc_keys_wipe(&keys);
	}
	rc = vc_keycache_open(data, size, passphrase, sizeof(passphrase) - 1, &e);
	FUZZ_CHECK(rc == 0 || rc == 1);
}

static void
fuzz_chunk(const uint8_t *data, size_t size)
{
	static const uint8_t master[VC_KEY_LEN] = {1, 2, 3};
	uint8_t id[VC_ID_LEN], *out = NULL, *sealed = NULL;
	size_t outlen = 0, sealed_len = 0;
	struct vc_keys keys;
	int rc;

	vc_keys_from_master(master, &keys);
	memset(id, 0x5a, sizeof(id));
	rc = vc_open(&keys, id, data, size, &out, &outlen);
	FUZZ_CHECK(rc == VC_OK || rc == VC_E_CORRUPT || rc == VC_E_AUTH || rc == VC_E_TOOBIG ||
	    rc == VC_E_NOMEM);
	FUZZ_CHECK(rc == VC_OK || out == NULL);
	FUZZ_CHECK(outlen <= VC_CHUNK_MAX);
	free(out);
	out = NULL;

	/* Any plaintext seals and opens back to itself, compressed or not. */
	vc_chunk_id(&keys, data, size, id);
	rc = vc_seal(&keys, id, data, size, size % 2 ? 1 : 3, NULL, &sealed, &sealed_len);
	FUZZ_CHECK(rc == VC_OK || rc == VC_E_NOMEM);
	if (rc == VC_OK) {
		FUZZ_CHECK(sealed_len <= size + VC_CHUNK_OVERHEAD);
		rc = vc_open(&keys, id, sealed, sealed_len, &out, &outlen);
		FUZZ_CHECK(rc == VC_OK || rc == VC_E_NOMEM);
		if (rc == VC_OK)
			FUZZ_CHECK(outlen == size && (size == 0 || memcmp(out, data, size) == 0));
	}
	free(out);
	free(sealed);
	vc_keys_wipe(&keys);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		FUZZ_CHECK(sodium_init() >= 0);
		ready = 1;
	}
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_chunk(data + 1, size - 1);
	else if (data[0] & 4)
		fuzz_keys(data + 1, size - 1, (data[0] & 2) != 0);
	else
		fuzz_config(data + 1, size - 1, (data[0] & 2) != 0);
	return 0;
}
