#ifndef VC_CRYPTO_H
#define VC_CRYPTO_H
/*
 * Client-side keys and chunk sealing (spec/client-crypto.md): the master key
 * from Argon2id, subkeys by crypto_kdf, keyed BLAKE2b chunk IDs, per-chunk
 * keys, the vault config blob and sealed (zstd + XChaCha20-Poly1305) chunks.
 * Every length below is the one the spec names; call sodium_init() first.
 */
#include <stddef.h>
#include <stdint.h>

/* Keys and IDs. */
#define VC_KEY_LEN 32                 /* master key and every subkey */
#define VC_ID_LEN 32                  /* chunk ID, BLAKE2b-256 */
#define VC_SALT_LEN 16                /* crypto_pwhash_SALTBYTES */
#define VC_NONCE_LEN 24               /* XChaCha20-Poly1305 nonce */
#define VC_TAG_LEN 16                 /* Poly1305 tag */
#define VC_KDF_CONTEXT "vaultkey"     /* crypto_kdf context, 8 bytes */

/* Subkey ids of crypto_kdf_derive_from_key (spec/client-crypto.md 3). */
#define VC_SUBKEY_MAC 1
#define VC_SUBKEY_CHUNKER_SEED 2
#define VC_SUBKEY_INDEX 3
#define VC_SUBKEY_CHECK 4
#define VC_SUBKEY_CHUNK 5
#define VC_SUBKEY_KEYINFO 6   /* the info part of key objects (section 8) */

/* Argon2id limits a config blob may name; outside them it is unsupported,
 * so that a hostile server cannot make the client allocate without bound. */
#define VC_KDF_ARGON2ID13 1
#define VC_KDF_OPSLIMIT_MIN 1ULL
#define VC_KDF_OPSLIMIT_MAX 64ULL
#define VC_KDF_MEMLIMIT_MIN 8192ULL
#define VC_KDF_MEMLIMIT_MAX (4ULL << 30)

/* The config blob, byte by byte (spec/client-crypto.md 2). */
#define VC_CONFIG_MAGIC "VAULTCFG"
#define VC_CONFIG_MAGIC_LEN 8
#define VC_CONFIG_VERSION 1
#define VC_CONFIG_VERSION_OFF VC_CONFIG_MAGIC_LEN
#define VC_CONFIG_KDF_OFF (VC_CONFIG_VERSION_OFF + 1)
#define VC_CONFIG_OPSLIMIT_OFF (VC_CONFIG_KDF_OFF + 1)
#define VC_CONFIG_MEMLIMIT_OFF (VC_CONFIG_OPSLIMIT_OFF + 8)
#define VC_CONFIG_SALT_OFF (VC_CONFIG_MEMLIMIT_OFF + 8)
#define VC_CONFIG_HEADER_LEN (VC_CONFIG_SALT_OFF + VC_SALT_LEN)        /* 42 */
#define VC_CONFIG_NONCE_OFF VC_CONFIG_HEADER_LEN
#define VC_CONFIG_CHECK_OFF (VC_CONFIG_NONCE_OFF + VC_NONCE_LEN)
#define VC_CHECK_PLAIN "VAULTCFG check value, version 1\n"
#define VC_CHECK_PLAIN_LEN 32
#define VC_CONFIG_SUM_OFF (VC_CONFIG_CHECK_OFF + VC_CHECK_PLAIN_LEN + VC_TAG_LEN)
#define VC_CONFIG_SUM_LEN 32
#define VC_CONFIG_LEN (VC_CONFIG_SUM_OFF + VC_CONFIG_SUM_LEN)           /* 146 */

/* The version 2 config blob (spec/client-crypto.md 2.1): no KDF; the
 * master key is random and key objects (keyobj.h) wrap it. */
#define VC_CONFIG2_VERSION 2
#define VC_CONFIG2_HEADER_LEN (VC_CONFIG_VERSION_OFF + 1)                /* 9 */
#define VC_CONFIG2_NONCE_OFF VC_CONFIG2_HEADER_LEN
#define VC_CONFIG2_CHECK_OFF (VC_CONFIG2_NONCE_OFF + VC_NONCE_LEN)
#define VC_CONFIG2_SUM_OFF (VC_CONFIG2_CHECK_OFF + VC_CHECK_PLAIN_LEN + VC_TAG_LEN)
#define VC_CONFIG2_LEN (VC_CONFIG2_SUM_OFF + VC_CONFIG_SUM_LEN)         /* 113 */

/* A sealed chunk, byte by byte (spec/client-crypto.md 5). */
#define VC_CHUNK_FLAG_ZSTD 0x01
#define VC_CHUNK_FLAGS_KNOWN VC_CHUNK_FLAG_ZSTD
#define VC_CHUNK_NONCE_OFF 1
#define VC_CHUNK_CT_OFF (VC_CHUNK_NONCE_OFF + VC_NONCE_LEN)
#define VC_CHUNK_OVERHEAD (VC_CHUNK_CT_OFF + VC_TAG_LEN)                 /* 41 */
#define VC_CHUNK_AD_LEN (VC_ID_LEN + 1)
/* The largest chunk plaintext, before compression and after decompression. */
#define VC_CHUNK_MAX (16UL << 20)
#define VC_ZSTD_LEVEL_DEFAULT 3

/* Results; VC_E_NOMEM is -1 so that OOM reads as the usual -1. */
enum vc_err {
	VC_OK = 0,
	VC_E_NOMEM = -1,        /* out of memory */
	VC_E_CORRUPT = -2,      /* malformed or damaged bytes */
	VC_E_PASSPHRASE = -3,   /* config intact, but the passphrase is wrong */
	VC_E_UNSUPPORTED = -4,  /* intact config of another version, KDF or limits */
	VC_E_AUTH = -5,         /* sealed chunk fails authentication (damage or wrong key/ID) */
	VC_E_TOOBIG = -6,       /* plaintext over VC_CHUNK_MAX */
	VC_E_INTERNAL = -7      /* a libsodium or zstd call failed unexpectedly */
};

struct vc_kdf_params {
	uint64_t opslimit;
	uint64_t memlimit;
	uint8_t salt[VC_SALT_LEN];
};

/* The subkeys of one vault. The master key itself is not kept. */
struct vc_keys {
	uint8_t mac[VC_KEY_LEN];           /* chunk IDs */
	uint8_t chunker_seed[VC_KEY_LEN];  /* the chunker's gear table */
	uint8_t index[VC_KEY_LEN];         /* index and metadata */
	uint8_t check[VC_KEY_LEN];         /* the config check value */
	uint8_t chunk[VC_KEY_LEN];         /* per-chunk keys */
};

/* A short English description of err (static storage). */
const char *vc_strerror(int err);

/* 1 if p is within the VC_KDF_* limits (memlimit a whole number of KiB),
 * which every reader checks before it runs Argon2id; else 0. */
int vc_kdf_params_ok(const struct vc_kdf_params *p);

/* Fills p with crypto_pwhash's MODERATE limits and a random salt. */
void vc_kdf_params_default(struct vc_kdf_params *p);

/* Derives the master key from the passphrase (pw, pwlen; any bytes) with
 * Argon2id13 under p into master. Returns 0, VC_E_UNSUPPORTED if p is outside
 * the VC_KDF_* limits, or -1 if Argon2id cannot get its memory. */
int vc_master_derive(const uint8_t *pw, size_t pwlen, const struct vc_kdf_params *p,
    uint8_t master[VC_KEY_LEN]);

/* Derives every subkey of out from master (crypto_kdf, context "vaultkey"). */
void vc_keys_from_master(const uint8_t master[VC_KEY_LEN], struct vc_keys *out);

/* vc_master_derive then vc_keys_from_master; the master key is wiped.
 * Returns as vc_master_derive; out is wiped on failure. */
int vc_keys_derive(const uint8_t *pw, size_t pwlen, const struct vc_kdf_params *p,
    struct vc_keys *out);

/* Wipes k (sodium_memzero). k may be NULL. */
void vc_keys_wipe(struct vc_keys *k);

/* Builds a config blob of VC_CONFIG_LEN bytes for the passphrase under p into
 * *blob (malloc'ed, the caller frees it) and, if keys is not NULL, the vault's
 * keys into *keys. nonce is NULL (random, the normal case) or VC_NONCE_LEN
 * bytes (test vectors). Returns 0, VC_E_UNSUPPORTED for limits outside
 * VC_KDF_*, or -1 (out of memory); on failure *blob is NULL and keys wiped. */
int vc_config_new(const uint8_t *pw, size_t pwlen, const struct vc_kdf_params *p,
    const uint8_t *nonce, uint8_t **blob, size_t *bloblen, struct vc_keys *keys);

/* Checks a config blob and derives the vault's keys from the passphrase.
 * Returns VC_OK (keys filled), VC_E_CORRUPT (wrong size, magic or checksum),
 * VC_E_UNSUPPORTED (another version or KDF, or limits outside VC_KDF_*),
 * VC_E_PASSPHRASE (intact blob, wrong passphrase) or -1 (out of memory).
 * On failure keys is wiped. params, if not NULL, receives the KDF parameters
 * once the blob passed its checksum. */
int vc_config_open(const uint8_t *blob, size_t len, const uint8_t *pw, size_t pwlen,
    struct vc_keys *keys, struct vc_kdf_params *params);

/* Steps 1 to 4 of reading a config blob (spec/client-crypto.md 2): its
 * KDF parameters into *p. Returns VC_OK, VC_E_CORRUPT or VC_E_UNSUPPORTED. */
int vc_config_params(const uint8_t *blob, size_t len, struct vc_kdf_params *p);

/* Step 5 with the master key already at hand (from a key object, spec/
 * client-crypto.md 8): the subkeys of master into keys if the blob (a
 * version 1 blob passed by vc_config_params, or a version 2 blob passed by
 * vc_config_version) opens under them. Returns VC_OK, VC_E_PASSPHRASE
 * (another vault's master key) or VC_E_CORRUPT; keys is wiped on failure. */
int vc_config_check(const uint8_t *blob, const uint8_t master[VC_KEY_LEN], struct vc_keys *keys);

/* The version of a config blob once magic, size and checksum are right:
 * 1 or 2, else VC_E_CORRUPT or VC_E_UNSUPPORTED. */
int vc_config_version(const uint8_t *blob, size_t len);

/* A version 2 config blob (VC_CONFIG2_LEN bytes, malloc'ed into *blob) for
 * master; nonce NULL = random. Returns 0 or -1. */
int vc_config2_new(const uint8_t master[VC_KEY_LEN], const uint8_t *nonce, uint8_t **blob,
    size_t *bloblen);

/* The chunk ID of plain (len bytes): BLAKE2b-256 keyed with keys->mac. */
void vc_chunk_id(const struct vc_keys *keys, const uint8_t *plain, size_t len,
    uint8_t id[VC_ID_LEN]);

/* The key of the chunk with ID id: BLAKE2b-256 keyed with keys->chunk over
 * the ID. The caller wipes it after use. */
void vc_chunk_key(const struct vc_keys *keys, const uint8_t id[VC_ID_LEN],
    uint8_t key[VC_KEY_LEN]);

/* Seals plain (len <= VC_CHUNK_MAX bytes), whose chunk ID is id, into
 * *out (malloc'ed, the caller frees it; *outlen bytes): zstd at level (zstd's
 * range; 0 means zstd's default) unless that does not shrink it, then
 * XChaCha20-Poly1305 with a random nonce, or with nonce (VC_NONCE_LEN bytes)
 * when it is not NULL (test vectors only: a nonce must never repeat under a
 * key). Returns 0, VC_E_TOOBIG, VC_E_INTERNAL or -1 (out of memory). */
int vc_seal(const struct vc_keys *keys, const uint8_t id[VC_ID_LEN], const uint8_t *plain,
    size_t len, int level, const uint8_t *nonce, uint8_t **out, size_t *outlen);

/* vc_seal into the caller's buffer dst of dstcap >= VC_CHUNK_OVERHEAD + len
 * bytes (VC_E_TOOBIG if smaller); *outlen gets the blob's length. */
int vc_seal_into(const struct vc_keys *keys, const uint8_t id[VC_ID_LEN],
    const uint8_t *plain, size_t len, int level, const uint8_t *nonce, uint8_t *dst,
    size_t dstcap, size_t *outlen);

/* Opens a sealed chunk whose ID is id: authenticates it first, then
 * decompresses it (at most VC_CHUNK_MAX bytes) into *out (malloc'ed, the
 * caller frees it; *outlen bytes). Returns VC_OK, VC_E_CORRUPT (too short,
 * unknown flags, bad zstd frame), VC_E_AUTH (damaged, or wrong key or ID),
 * VC_E_TOOBIG (decompresses past VC_CHUNK_MAX) or -1 (out of memory). */
int vc_open(const struct vc_keys *keys, const uint8_t id[VC_ID_LEN], const uint8_t *blob,
    size_t len, uint8_t **out, size_t *outlen);

#endif
