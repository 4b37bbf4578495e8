#ifndef VC_KEYOBJ_H
#define VC_KEYOBJ_H
/*
 * Key objects (spec/client-crypto.md 8): objects of kind `key` that each
 * wrap the vault's master key under one passphrase or one recovery key, so
 * that several people or machines open one vault with secrets of their
 * own, and a secret is changed or revoked without touching the data.
 */
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define VC_KEYOBJ_MAGIC "VAULTKEY"
#define VC_KEYOBJ_MAGIC_LEN 8
#define VC_KEYOBJ_VERSION 1
#define VC_KEYOBJ_TYPE_PASSPHRASE 1
#define VC_KEYOBJ_TYPE_RECOVERY 2
#define VC_KEYOBJ_VERSION_OFF VC_KEYOBJ_MAGIC_LEN
#define VC_KEYOBJ_TYPE_OFF (VC_KEYOBJ_VERSION_OFF + 1)
#define VC_KEYOBJ_OPSLIMIT_OFF (VC_KEYOBJ_TYPE_OFF + 1)
#define VC_KEYOBJ_MEMLIMIT_OFF (VC_KEYOBJ_OPSLIMIT_OFF + 8)
#define VC_KEYOBJ_SALT_OFF (VC_KEYOBJ_MEMLIMIT_OFF + 8)
#define VC_KEYOBJ_HEADER_LEN (VC_KEYOBJ_SALT_OFF + VC_SALT_LEN)        /* 42 */
#define VC_KEYOBJ_NONCE_OFF VC_KEYOBJ_HEADER_LEN
#define VC_KEYOBJ_WRAP_OFF (VC_KEYOBJ_NONCE_OFF + VC_NONCE_LEN)        /* 66 */
#define VC_KEYOBJ_INFO_NONCE_OFF (VC_KEYOBJ_WRAP_OFF + VC_KEY_LEN + VC_TAG_LEN)
#define VC_KEYOBJ_INFO_OFF (VC_KEYOBJ_INFO_NONCE_OFF + VC_NONCE_LEN)   /* 138 */
#define VC_KEYOBJ_LABEL_LEN 64
#define VC_KEYOBJ_INFO_PLAIN_LEN (8 + VC_KEYOBJ_LABEL_LEN)
#define VC_KEYOBJ_LEN (VC_KEYOBJ_INFO_OFF + VC_KEYOBJ_INFO_PLAIN_LEN + VC_TAG_LEN) /* 226 */
/* A recovery key: 32 random bytes, written as 8 groups of 8 hex digits. */
#define VC_RECOVERY_LEN 32
#define VC_RECOVERY_TEXT_LEN (2 * VC_RECOVERY_LEN + 7)
#define VC_RECOVERY_DOMAIN "vault recovery key v1"

/* What a key object says once opened. */
struct vc_keyobj_info {
	int type;                             /* VC_KEYOBJ_TYPE_* */
	int64_t created;                      /* Unix seconds */
	char label[VC_KEYOBJ_LABEL_LEN];      /* NUL-terminated, UTF-8 */
};

/*
 * Makes a key object of VC_KEYOBJ_LEN bytes into out that wraps master
 * under the secret: a passphrase (type PASSPHRASE, Argon2id under p) or the
 * VC_RECOVERY_LEN bytes of a recovery key (type RECOVERY; p's salt only).
 * label: at most VC_KEYOBJ_LABEL_LEN - 1 bytes. nonces: NULL (random) or
 * 2 × VC_NONCE_LEN bytes (test vectors). Returns 0, VC_E_UNSUPPORTED
 * (limits out of range), VC_E_CORRUPT (label too long) or -1.
 */
int vc_keyobj_new(int type, const uint8_t *secret, size_t len, const struct vc_kdf_params *p,
    const uint8_t master[VC_KEY_LEN], int64_t created, const char *label,
    const uint8_t *nonces, uint8_t out[VC_KEYOBJ_LEN]);

/* The type of key object obj (len bytes) if its magic, version, size and
 * limits are right, else VC_E_CORRUPT or VC_E_UNSUPPORTED. Runs no KDF. */
int vc_keyobj_type(const uint8_t *obj, size_t len);

/*
 * Unwraps the master key of obj (checked by vc_keyobj_type) with the
 * secret: Argon2id over a passphrase, or the recovery key's bytes. Returns
 * VC_OK (master filled), VC_E_PASSPHRASE (not this key's secret) or -1.
 */
int vc_keyobj_open(const uint8_t *obj, const uint8_t *secret, size_t len,
    uint8_t master[VC_KEY_LEN]);

/* The info part of obj, which any holder of the master key reads.
 * Returns VC_OK or VC_E_AUTH (another vault's key, or damage). */
int vc_keyobj_info(const uint8_t *obj, const uint8_t master[VC_KEY_LEN],
    struct vc_keyobj_info *info);

/* Writes a new random recovery key into key and its text into text. */
void vc_recovery_new(uint8_t key[VC_RECOVERY_LEN], char text[VC_RECOVERY_TEXT_LEN + 1]);

/* Parses a recovery key's text (hex digits in any case, '-' and white
 * space ignored): 0 and key, or -1 if s is not one. */
int vc_recovery_parse(const char *s, size_t len, uint8_t key[VC_RECOVERY_LEN]);

#endif
