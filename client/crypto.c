/*
 * Client-side keys and chunk sealing; the formats are spec/client-crypto.md.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "crypto.h"
#include "le.h"

/* Compile-time checks that our named lengths are libsodium's. */
_Static_assert(VC_KEY_LEN == crypto_kdf_KEYBYTES, "kdf key");
_Static_assert(VC_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "aead key");
_Static_assert(VC_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(VC_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(VC_SALT_LEN == crypto_pwhash_SALTBYTES, "salt");
_Static_assert(sizeof(VC_KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "context");
_Static_assert(sizeof(VC_CHECK_PLAIN) - 1 == VC_CHECK_PLAIN_LEN, "check plaintext");
_Static_assert(sizeof(VC_CONFIG_MAGIC) - 1 == VC_CONFIG_MAGIC_LEN, "magic");
_Static_assert(VC_CONFIG_LEN == 146, "config size in spec/client-crypto.md");
_Static_assert(VC_KDF_MEMLIMIT_MAX <= SIZE_MAX, "memlimit fits a size_t");

/* malloc, never asked for 0 bytes. */
static void *
xmalloc(size_t n)
{
	return malloc(n == 0 ? 1 : n);
}

const char *
vc_strerror(int err)
{
	switch (err) {
	case VC_OK: return "success";
	case VC_E_NOMEM: return "out of memory";
	case VC_E_CORRUPT: return "corrupt data";
	case VC_E_PASSPHRASE: return "wrong passphrase";
	case VC_E_UNSUPPORTED: return "unsupported format version or parameters";
	case VC_E_AUTH: return "authentication failed (damaged data or wrong key)";
	case VC_E_TOOBIG: return "chunk too large";
	case VC_E_INTERNAL: return "internal error in libsodium or zstd";
	default: return "unknown error";
	}
}

void
vc_kdf_params_default(struct vc_kdf_params *p)
{
	p->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
	p->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
	randombytes_buf(p->salt, sizeof(p->salt));
}

/* Whether p is within the limits a config blob may name. memlimit must be a
 * whole number of KiB, because Argon2 counts memory in KiB and libsodium
 * rounds down: two memlimits must not name the same key. */
int
vc_kdf_params_ok(const struct vc_kdf_params *p)
{
	return p->opslimit >= VC_KDF_OPSLIMIT_MIN && p->opslimit <= VC_KDF_OPSLIMIT_MAX &&
	    p->memlimit >= VC_KDF_MEMLIMIT_MIN && p->memlimit <= VC_KDF_MEMLIMIT_MAX &&
	    p->memlimit % 1024 == 0;
}

int
vc_master_derive(const uint8_t *pw, size_t pwlen, const struct vc_kdf_params *p,
    uint8_t master[VC_KEY_LEN])
{
	if (!vc_kdf_params_ok(p))
		return VC_E_UNSUPPORTED;
	/* The only documented failure with limits in range is lack of memory. */
	if (crypto_pwhash(master, VC_KEY_LEN, (const char *)pw, pwlen, p->salt,
	    p->opslimit, (size_t)p->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_memzero(master, VC_KEY_LEN);
		return VC_E_NOMEM;
	}
	return VC_OK;
}

void
vc_keys_from_master(const uint8_t master[VC_KEY_LEN], struct vc_keys *out)
{
	crypto_kdf_derive_from_key(out->mac, VC_KEY_LEN, VC_SUBKEY_MAC, VC_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(out->chunker_seed, VC_KEY_LEN, VC_SUBKEY_CHUNKER_SEED,
	    VC_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(out->index, VC_KEY_LEN, VC_SUBKEY_INDEX, VC_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(out->check, VC_KEY_LEN, VC_SUBKEY_CHECK, VC_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(out->chunk, VC_KEY_LEN, VC_SUBKEY_CHUNK, VC_KDF_CONTEXT, master);
}

int
vc_keys_derive(const uint8_t *pw, size_t pwlen, const struct vc_kdf_params *p,
    struct vc_keys *out)
{
	uint8_t master[VC_KEY_LEN];
	int rc;

	if ((rc = vc_master_derive(pw, pwlen, p, master)) != VC_OK) {
		vc_keys_wipe(out);
		return rc;
	}
	vc_keys_from_master(master, out);
	sodium_memzero(master, sizeof(master));
	return VC_OK;
}

void
vc_keys_wipe(struct vc_keys *k)
{
	if (k != NULL)
		sodium_memzero(k, sizeof(*k));
}

/* The header fields of a config blob (magic .. salt) into hdr. */
static void
config_header(const struct vc_kdf_params *p, uint8_t hdr[VC_CONFIG_HEADER_LEN])
{
	memcpy(hdr, VC_CONFIG_MAGIC, VC_CONFIG_MAGIC_LEN);
	hdr[VC_CONFIG_VERSION_OFF] = VC_CONFIG_VERSION;
	hdr[VC_CONFIG_KDF_OFF] = VC_KDF_ARGON2ID13;
	le64_put(&hdr[VC_CONFIG_OPSLIMIT_OFF], p->opslimit);
	le64_put(&hdr[VC_CONFIG_MEMLIMIT_OFF], p->memlimit);
	memcpy(&hdr[VC_CONFIG_SALT_OFF], p->salt, VC_SALT_LEN);
}

int
vc_config_new(const uint8_t *pw, size_t pwlen, const struct vc_kdf_params *p,
    const uint8_t *nonce, uint8_t **blob, size_t *bloblen, struct vc_keys *keys)
{
	struct vc_keys k;
	uint8_t *b;
	int rc;

	*blob = NULL;
	*bloblen = 0;
	if ((rc = vc_keys_derive(pw, pwlen, p, &k)) != VC_OK)
		goto err0;
	if ((b = xmalloc(VC_CONFIG_LEN)) == NULL) {
		rc = VC_E_NOMEM;
		goto err1;
	}
	config_header(p, b);
	if (nonce != NULL)
		memcpy(&b[VC_CONFIG_NONCE_OFF], nonce, VC_NONCE_LEN);
	else
		randombytes_buf(&b[VC_CONFIG_NONCE_OFF], VC_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(&b[VC_CONFIG_CHECK_OFF], NULL,
	    (const uint8_t *)VC_CHECK_PLAIN, VC_CHECK_PLAIN_LEN, b, VC_CONFIG_HEADER_LEN, NULL,
	    &b[VC_CONFIG_NONCE_OFF], k.check);
	crypto_generichash(&b[VC_CONFIG_SUM_OFF], VC_CONFIG_SUM_LEN, b, VC_CONFIG_SUM_OFF,
	    NULL, 0);
	if (keys != NULL)
		*keys = k;
	vc_keys_wipe(&k);
	*blob = b;
	*bloblen = VC_CONFIG_LEN;
	return VC_OK;

err1:
	vc_keys_wipe(&k);
err0:
	vc_keys_wipe(keys);
	return rc;
}

int
vc_config_params(const uint8_t *blob, size_t len, struct vc_kdf_params *p)
{
	uint8_t sum[VC_CONFIG_SUM_LEN];

	/* Magic and version first: a later version may have another size. */
	if (len < VC_CONFIG_VERSION_OFF + 1 ||
	    memcmp(blob, VC_CONFIG_MAGIC, VC_CONFIG_MAGIC_LEN) != 0)
		return VC_E_CORRUPT;
	if (blob[VC_CONFIG_VERSION_OFF] != VC_CONFIG_VERSION)
		return VC_E_UNSUPPORTED;
	if (len != VC_CONFIG_LEN)
		return VC_E_CORRUPT;
	/*
	 * The checksum tells damage from a wrong passphrase: without it a
	 * flipped salt or limit byte would look exactly like a wrong
	 * passphrase. It is no defence against a forger (who can recompute
	 * it); the check value's AEAD tag, over the header, is.
	 */
	crypto_generichash(sum, sizeof(sum), blob, VC_CONFIG_SUM_OFF, NULL, 0);
	if (sodium_memcmp(sum, &blob[VC_CONFIG_SUM_OFF], VC_CONFIG_SUM_LEN) != 0)
		return VC_E_CORRUPT;
	if (blob[VC_CONFIG_KDF_OFF] != VC_KDF_ARGON2ID13)
		return VC_E_UNSUPPORTED;
	p->opslimit = le64_get(&blob[VC_CONFIG_OPSLIMIT_OFF]);
	p->memlimit = le64_get(&blob[VC_CONFIG_MEMLIMIT_OFF]);
	memcpy(p->salt, &blob[VC_CONFIG_SALT_OFF], VC_SALT_LEN);
	return vc_kdf_params_ok(p) ? VC_OK : VC_E_UNSUPPORTED;
}

int
vc_config_check(const uint8_t *blob, const uint8_t master[VC_KEY_LEN], struct vc_keys *keys)
{
	uint8_t check[VC_CHECK_PLAIN_LEN];
	int rc;

	int v2 = blob[VC_CONFIG_VERSION_OFF] == VC_CONFIG2_VERSION;

	vc_keys_from_master(master, keys);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(check, NULL, NULL,
	    &blob[v2 ? VC_CONFIG2_CHECK_OFF : VC_CONFIG_CHECK_OFF],
	    VC_CHECK_PLAIN_LEN + VC_TAG_LEN, blob,
	    v2 ? VC_CONFIG2_HEADER_LEN : VC_CONFIG_HEADER_LEN,
	    &blob[v2 ? VC_CONFIG2_NONCE_OFF : VC_CONFIG_NONCE_OFF], keys->check) != 0) {
		rc = VC_E_PASSPHRASE;
		goto err0;
	}
	/* Authentic but not ours: a client bug, not a wrong passphrase. */
	if (memcmp(check, VC_CHECK_PLAIN, VC_CHECK_PLAIN_LEN) != 0) {
		rc = VC_E_CORRUPT;
		goto err0;
	}
	return VC_OK;

err0:
	vc_keys_wipe(keys);
	return rc;
}

int
vc_config_version(const uint8_t *blob, size_t len)
{
	struct vc_kdf_params p;
	uint8_t sum[VC_CONFIG_SUM_LEN];

	if (len < VC_CONFIG_VERSION_OFF + 1 ||
	    memcmp(blob, VC_CONFIG_MAGIC, VC_CONFIG_MAGIC_LEN) != 0)
		return VC_E_CORRUPT;
	if (blob[VC_CONFIG_VERSION_OFF] == VC_CONFIG_VERSION) {
		int rc = vc_config_params(blob, len, &p);

		return rc == VC_OK ? VC_CONFIG_VERSION : rc;
	}
	if (blob[VC_CONFIG_VERSION_OFF] != VC_CONFIG2_VERSION)
		return VC_E_UNSUPPORTED;
	if (len != VC_CONFIG2_LEN)
		return VC_E_CORRUPT;
	crypto_generichash(sum, sizeof(sum), blob, VC_CONFIG2_SUM_OFF, NULL, 0);
	if (sodium_memcmp(sum, &blob[VC_CONFIG2_SUM_OFF], VC_CONFIG_SUM_LEN) != 0)
		return VC_E_CORRUPT;
	return VC_CONFIG2_VERSION;
}

int
vc_config2_new(const uint8_t master[VC_KEY_LEN], const uint8_t *nonce, uint8_t **blob,
    size_t *bloblen)
{
	struct vc_keys k;
	uint8_t *b;

	*blob = NULL;
	*bloblen = 0;
	if ((b = xmalloc(VC_CONFIG2_LEN)) == NULL)
		return VC_E_NOMEM;
	memcpy(b, VC_CONFIG_MAGIC, VC_CONFIG_MAGIC_LEN);
	b[VC_CONFIG_VERSION_OFF] = VC_CONFIG2_VERSION;
	if (nonce != NULL)
		memcpy(&b[VC_CONFIG2_NONCE_OFF], nonce, VC_NONCE_LEN);
	else
		randombytes_buf(&b[VC_CONFIG2_NONCE_OFF], VC_NONCE_LEN);
	vc_keys_from_master(master, &k);
	crypto_aead_xchacha20poly1305_ietf_encrypt(&b[VC_CONFIG2_CHECK_OFF], NULL,
	    (const uint8_t *)VC_CHECK_PLAIN, VC_CHECK_PLAIN_LEN, b, VC_CONFIG2_HEADER_LEN, NULL,
	    &b[VC_CONFIG2_NONCE_OFF], k.check);
	vc_keys_wipe(&k);
	crypto_generichash(&b[VC_CONFIG2_SUM_OFF], VC_CONFIG_SUM_LEN, b, VC_CONFIG2_SUM_OFF,
	    NULL, 0);
	*blob = b;
	*bloblen = VC_CONFIG2_LEN;
	return VC_OK;
}

int
vc_config_open(const uint8_t *blob, size_t len, const uint8_t *pw, size_t pwlen,
    struct vc_keys *keys, struct vc_kdf_params *params)
{
	struct vc_kdf_params p;
	uint8_t master[VC_KEY_LEN];
	int rc;

	vc_keys_wipe(keys);
	if ((rc = vc_config_params(blob, len, &p)) != VC_OK)
		return rc;
	if (params != NULL)
		*params = p;
	if ((rc = vc_master_derive(pw, pwlen, &p, master)) != VC_OK)
		return rc;
	rc = vc_config_check(blob, master, keys);
	sodium_memzero(master, sizeof(master));
	return rc;
}

void
vc_chunk_id(const struct vc_keys *keys, const uint8_t *plain, size_t len,
    uint8_t id[VC_ID_LEN])
{
	crypto_generichash(id, VC_ID_LEN, plain, len, keys->mac, VC_KEY_LEN);
}

void
vc_chunk_key(const struct vc_keys *keys, const uint8_t id[VC_ID_LEN], uint8_t key[VC_KEY_LEN])
{
	crypto_generichash(key, VC_KEY_LEN, id, VC_ID_LEN, keys->chunk, VC_KEY_LEN);
}

/* The associated data of a sealed chunk: its ID, then its flags byte. */
static void
chunk_ad(const uint8_t id[VC_ID_LEN], uint8_t flags, uint8_t ad[VC_CHUNK_AD_LEN])
{
	memcpy(ad, id, VC_ID_LEN);
	ad[VC_ID_LEN] = flags;
}

/*
 * zstd contexts are reused: creating one per chunk costs as much as
 * compressing a small chunk. A small pool behind a mutex (rather than one
 * per thread) keeps them reachable, so nothing is reported as a leak when
 * the process ends, and bounds how many exist.
 */
#define ZPOOL_MAX 16

static pthread_mutex_t zpool_mu = PTHREAD_MUTEX_INITIALIZER;
static ZSTD_CCtx *cpool[ZPOOL_MAX];
static ZSTD_DCtx *dpool[ZPOOL_MAX];
static size_t ncpool, ndpool;

static ZSTD_CCtx *
cctx_get(void)
{
	ZSTD_CCtx *c = NULL;

	pthread_mutex_lock(&zpool_mu);
	if (ncpool > 0)
		c = cpool[--ncpool];
	pthread_mutex_unlock(&zpool_mu);
	return c != NULL ? c : ZSTD_createCCtx();
}

static void
cctx_put(ZSTD_CCtx *c)
{
	pthread_mutex_lock(&zpool_mu);
	if (ncpool < ZPOOL_MAX) {
		cpool[ncpool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&zpool_mu);
	ZSTD_freeCCtx(c);
}

static ZSTD_DCtx *
dctx_get(void)
{
	ZSTD_DCtx *d = NULL;

	pthread_mutex_lock(&zpool_mu);
	if (ndpool > 0)
		d = dpool[--ndpool];
	pthread_mutex_unlock(&zpool_mu);
	return d != NULL ? d : ZSTD_createDCtx();
}

static void
dctx_put(ZSTD_DCtx *d)
{
	pthread_mutex_lock(&zpool_mu);
	if (ndpool < ZPOOL_MAX) {
		dpool[ndpool++] = d;
		d = NULL;
	}
	pthread_mutex_unlock(&zpool_mu);
	ZSTD_freeDCtx(d);
}

/* Compresses plain into body (cap bytes, one short of len so that a frame
 * that does not shrink the chunk does not fit). Returns the frame's length,
 * 0 if it does not fit, or a negative VC_E_*. */
static long long
compress(uint8_t *body, size_t cap, const uint8_t *plain, size_t len, int level)
{
	ZSTD_CCtx *c = cctx_get();
	size_t zlen;

	if (c == NULL)
		return VC_E_NOMEM;
	zlen = ZSTD_compressCCtx(c, body, cap, plain, len, level);
	cctx_put(c);
	if (!ZSTD_isError(zlen))
		return (long long)zlen;
	if (ZSTD_getErrorCode(zlen) == ZSTD_error_dstSize_tooSmall)
		return 0;
	return ZSTD_getErrorCode(zlen) == ZSTD_error_memory_allocation ? VC_E_NOMEM :
	    VC_E_INTERNAL;
}

int
vc_seal_into(const struct vc_keys *keys, const uint8_t id[VC_ID_LEN], const uint8_t *plain,
    size_t len, int level, const uint8_t *nonce, uint8_t *b, size_t cap, size_t *outlen)
{
	uint8_t key[VC_KEY_LEN], ad[VC_CHUNK_AD_LEN], *body;
	size_t bodylen = len;
	uint8_t flags = 0;

	*outlen = 0;
	if (len > VC_CHUNK_MAX || cap < VC_CHUNK_OVERHEAD || cap - VC_CHUNK_OVERHEAD < len)
		return VC_E_TOOBIG;
	/* The body is compressed (or copied) straight into the blob and
	 * encrypted in place, so the plaintext is never in a second buffer
	 * that would need wiping. */
	body = &b[VC_CHUNK_CT_OFF];
	if (len > 1) {
		long long z = compress(body, len - 1, plain, len, level);

		if (z < 0)
			return (int)z;
		if (z > 0) {
			flags = VC_CHUNK_FLAG_ZSTD;
			bodylen = (size_t)z;
		}
	}
	if (flags == 0 && len > 0)
		memcpy(body, plain, len);
	b[0] = flags;
	if (nonce != NULL)
		memcpy(&b[VC_CHUNK_NONCE_OFF], nonce, VC_NONCE_LEN);
	else
		randombytes_buf(&b[VC_CHUNK_NONCE_OFF], VC_NONCE_LEN);
	chunk_ad(id, flags, ad);
	vc_chunk_key(keys, id, key);
	crypto_aead_xchacha20poly1305_ietf_encrypt(body, NULL, body, bodylen, ad, sizeof(ad),
	    NULL, &b[VC_CHUNK_NONCE_OFF], key);
	sodium_memzero(key, sizeof(key));
	*outlen = VC_CHUNK_OVERHEAD + bodylen;
	return VC_OK;
}

int
vc_seal(const struct vc_keys *keys, const uint8_t id[VC_ID_LEN], const uint8_t *plain,
    size_t len, int level, const uint8_t *nonce, uint8_t **out, size_t *outlen)
{
	uint8_t *b;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (len > VC_CHUNK_MAX)
		return VC_E_TOOBIG;
	if ((b = xmalloc(VC_CHUNK_OVERHEAD + len)) == NULL)
		return VC_E_NOMEM;
	rc = vc_seal_into(keys, id, plain, len, level, nonce, b, VC_CHUNK_OVERHEAD + len,
	    outlen);
	if (rc != VC_OK) {
		free(b);
		return rc;
	}
	*out = b;
	return VC_OK;
}

/* Decompresses the single zstd frame z (zlen bytes) into a new buffer. The
 * frame must state its content size (ZSTD_compress always does), at most
 * VC_CHUNK_MAX, so that we allocate once and never more than the bound. */
static int
decompress(const uint8_t *z, size_t zlen, uint8_t **out, size_t *outlen)
{
	unsigned long long n;
	uint8_t *p;
	size_t got;

	if (ZSTD_findFrameCompressedSize(z, zlen) != zlen)
		return VC_E_CORRUPT;
	n = ZSTD_getFrameContentSize(z, zlen);
	if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR)
		return VC_E_CORRUPT;
	if (n > VC_CHUNK_MAX)
		return VC_E_TOOBIG;
	if ((p = xmalloc((size_t)n)) == NULL)
		return VC_E_NOMEM;
	{
		ZSTD_DCtx *d = dctx_get();

		if (d == NULL) {
			free(p);
			return VC_E_NOMEM;
		}
		got = ZSTD_decompressDCtx(d, p, (size_t)n, z, zlen);
		dctx_put(d);
	}
	if (ZSTD_isError(got) || got != n) {
		sodium_memzero(p, (size_t)n);
		free(p);
		return ZSTD_isError(got) &&
		    ZSTD_getErrorCode(got) == ZSTD_error_memory_allocation ?
		    VC_E_NOMEM : VC_E_CORRUPT;
	}
	*out = p;
	*outlen = got;
	return VC_OK;
}

int
vc_open(const struct vc_keys *keys, const uint8_t id[VC_ID_LEN], const uint8_t *blob,
    size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t key[VC_KEY_LEN], ad[VC_CHUNK_AD_LEN];
	uint8_t *body;
	size_t bodylen;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (len < VC_CHUNK_OVERHEAD)
		return VC_E_CORRUPT;
	bodylen = len - VC_CHUNK_OVERHEAD;
	/* A raw body is the plaintext; a compressed one is smaller than it. */
	if (bodylen > VC_CHUNK_MAX)
		return VC_E_TOOBIG;
	if ((blob[0] & ~VC_CHUNK_FLAGS_KNOWN) != 0)
		return VC_E_CORRUPT;
	if ((body = xmalloc(bodylen)) == NULL)
		return VC_E_NOMEM;
	chunk_ad(id, blob[0], ad);
	vc_chunk_key(keys, id, key);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(body, NULL, NULL, &blob[VC_CHUNK_CT_OFF],
	    len - VC_CHUNK_CT_OFF, ad, sizeof(ad), &blob[VC_CHUNK_NONCE_OFF], key);
	sodium_memzero(key, sizeof(key));
	if (rc != 0) {
		rc = VC_E_AUTH;
		goto err0;
	}
	/* Authentic from here on; still bounded, in case of a buggy writer. */
	if ((blob[0] & VC_CHUNK_FLAG_ZSTD) == 0) {
		*out = body;
		*outlen = bodylen;
		return VC_OK;
	}
	rc = decompress(body, bodylen, out, outlen);

err0:
	sodium_memzero(body, bodylen);
	free(body);
	return rc;
}
