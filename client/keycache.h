#ifndef VC_KEYCACHE_H
#define VC_KEYCACHE_H
/*
 * The local key cache (spec/client-crypto.md 9): after a slow unlock (one
 * Argon2id), the vault's master key is kept in a small file in a per-user
 * runtime directory (a tmpfs such as $XDG_RUNTIME_DIR), wrapped under a
 * fast hash of the same passphrase, so that the next runs of the session
 * pay a BLAKE2b instead of the 256 MiB Argon2id.
 */
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define VC_KEYCACHE_MAGIC "VAULTKCH"
#define VC_KEYCACHE_MAGIC_LEN 8
#define VC_KEYCACHE_VERSION 1
#define VC_KEYCACHE_VERSION_OFF VC_KEYCACHE_MAGIC_LEN
#define VC_KEYCACHE_SALT_OFF (VC_KEYCACHE_VERSION_OFF + 1)
#define VC_KEYCACHE_BY_OFF (VC_KEYCACHE_SALT_OFF + VC_SALT_LEN)
#define VC_KEYCACHE_KEYID_OFF (VC_KEYCACHE_BY_OFF + 1)
#define VC_KEYCACHE_HEADER_LEN (VC_KEYCACHE_KEYID_OFF + VC_ID_LEN)     /* 58 */
#define VC_KEYCACHE_NONCE_OFF VC_KEYCACHE_HEADER_LEN
#define VC_KEYCACHE_WRAP_OFF (VC_KEYCACHE_NONCE_OFF + VC_NONCE_LEN)
#define VC_KEYCACHE_LEN (VC_KEYCACHE_WRAP_OFF + VC_KEY_LEN + VC_TAG_LEN) /* 130 */
#define VC_KEYCACHE_DOMAIN "vault key cache v1"

/* What unlocked the master key: a version 1 config's passphrase, or a key
 * object (its ID). */
struct vc_keycache_entry {
	uint8_t master[VC_KEY_LEN];
	int by_config;
	uint8_t key_id[VC_ID_LEN];
};

/* The file of one vault in dir: dir/<hex of BLAKE2b-128(url 0x00 vault
 * 0x00 config)>. Returns 0 or -1 (too long). */
int vc_keycache_path(const char *dir, const char *url, const char *vault,
    const uint8_t *config, size_t config_len, char *out, size_t outlen);

/* Opens the file at path with the passphrase into *e. Returns 0, 1 (no
 * file, another passphrase, or a damaged file: take the slow path) or -1
 * (cannot read it). *e is wiped unless 0. */
int vc_keycache_load(const char *path, const uint8_t *pw, size_t pwlen,
    struct vc_keycache_entry *e);

/* Writes *e under the passphrase to path (its directory created 0700; the
 * file 0600, written whole and renamed into place). Returns 0 or -1. */
int vc_keycache_store(const char *path, const uint8_t *pw, size_t pwlen,
    const struct vc_keycache_entry *e);

/* The encoding (VC_KEYCACHE_LEN bytes) and decoding, with a given salt and
 * nonce (test vectors); load and store draw them at random. open returns
 * 0 or 1 (not this passphrase, or not a key cache file). */
void vc_keycache_seal(const uint8_t *pw, size_t pwlen, const struct vc_keycache_entry *e,
    const uint8_t salt[VC_SALT_LEN], const uint8_t nonce[VC_NONCE_LEN],
    uint8_t out[VC_KEYCACHE_LEN]);
int vc_keycache_open(const uint8_t *buf, size_t len, const uint8_t *pw, size_t pwlen,
    struct vc_keycache_entry *e);

#endif
