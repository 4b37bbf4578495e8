#ifndef SHA256_H
#define SHA256_H
/*
 * Incremental SHA-256 over OpenSSL's EVP interface, which uses the CPU's SHA
 * extensions where present (several times faster than a portable one).
 */
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256;

/* Returns a new context ready for input, or NULL on allocation failure. */
struct sha256 *sha256_new(void);

/* Adds len bytes. Returns 0, or -1 on an OpenSSL failure. */
int sha256_update(struct sha256 *ctx, const void *buf, size_t len);

/* Writes the digest to out. The context must be freed afterwards. Returns 0/-1. */
int sha256_final(struct sha256 *ctx, uint8_t out[SHA256_LEN]);

/* Frees ctx; NULL is ignored. */
void sha256_free(struct sha256 *ctx);

/* One-shot digest of buf. Returns 0, or -1. */
int sha256_buf(const void *buf, size_t len, uint8_t out[SHA256_LEN]);

#endif
