#ifndef AUTH_H
#define AUTH_H
/*
 * Bearer tokens (spec/vsp.md, "Tokens").
 *
 * A token is the text  "vt1_" <16 hex: token ID> "_" <64 hex: secret>.
 * The ID is public and names the token's record; the secret is 32 random
 * bytes that the server never stores. It keeps only
 *     hash = BLAKE2b-256(key = server key, message = secret)
 * (libsodium crypto_generichash), and compares hashes in constant time.
 * The server key is 32 random bytes in <data>/server.key (mode 0600).
 */
#include <stddef.h>
#include <stdint.h>

#include "meta.h"

#define AUTH_TOKEN_PREFIX "vt1_"
#define AUTH_SECRET_LEN 32
#define AUTH_SERVER_KEY_LEN 32
#define AUTH_TOKEN_STRLEN \
	(sizeof(AUTH_TOKEN_PREFIX) - 1 + 2 * META_TOKEN_ID_LEN + 1 + 2 * AUTH_SECRET_LEN)

/*
 * Draws a random ID and secret and writes the token text (NUL-terminated) to
 * out. Fills tok->id and tok->hash; the caller sets the other fields.
 */
void auth_token_new(const uint8_t key[AUTH_SERVER_KEY_LEN], struct meta_token *tok,
    char out[AUTH_TOKEN_STRLEN + 1]);

/* Splits token text of len bytes into ID and secret. Returns 0, or -1 if it
 * is not a well-formed token. */
int auth_token_parse(const char *s, size_t len, uint8_t id[META_TOKEN_ID_LEN],
    uint8_t secret[AUTH_SECRET_LEN]);

/* hash = BLAKE2b-256 keyed with key over secret. */
void auth_secret_hash(const uint8_t key[AUTH_SERVER_KEY_LEN],
    const uint8_t secret[AUTH_SECRET_LEN], uint8_t hash[META_TOKEN_HASH_LEN]);

/* Returns 1 if secret hashes to tok->hash (constant time), else 0. */
int auth_token_matches(const uint8_t key[AUTH_SERVER_KEY_LEN],
    const struct meta_token *tok, const uint8_t secret[AUTH_SECRET_LEN]);

/* Parses "read,append,delete,admin" (any subset, any order, or "all").
 * Returns 0, or -1 on an unknown word or an empty list. */
int auth_scopes_parse(const char *s, uint32_t *out);

/* Writes the scopes as a comma-separated list into buf. Returns 0, or -1 if
 * buf is too small. */
int auth_scopes_format(uint32_t scopes, char *buf, size_t size);

/* Reads the server key from path, creating it (mode 0600) with random bytes
 * if missing. Returns 0, or -1 with a message on stderr. */
int auth_server_key_load(const char *path, uint8_t key[AUTH_SERVER_KEY_LEN]);

#endif
