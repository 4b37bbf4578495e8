/*
 * Fuzz driver for the bytes a client takes from the vault (spec/client-
 * crypto.md): the config blob (vc_config_open) and sealed chunks (vc_open).
 *
 * Input: byte 0 picks the mode, the rest is the data.
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

static const uint8_t passphrase[] = "correct horse battery staple";

static void
le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
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
	else
		fuzz_config(data + 1, size - 1, (data[0] & 2) != 0);
	return 0;
}
