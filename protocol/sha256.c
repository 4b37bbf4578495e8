#include "sha256.h"

#include <openssl/evp.h>

struct sha256 {
	EVP_MD_CTX *md;
};

struct sha256 *
sha256_new(void)
{
	struct sha256 *ctx = OPENSSL_malloc(sizeof(*ctx));
	if (ctx == NULL)
		goto err0;
	if ((ctx->md = EVP_MD_CTX_new()) == NULL)
		goto err1;
	if (EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1)
		goto err2;
	return ctx;
err2:
	EVP_MD_CTX_free(ctx->md);
err1:
	OPENSSL_free(ctx);
err0:
	return NULL;
}

int
sha256_update(struct sha256 *ctx, const void *buf, size_t len)
{
	return EVP_DigestUpdate(ctx->md, buf, len) == 1 ? 0 : -1;
}

int
sha256_final(struct sha256 *ctx, uint8_t out[SHA256_LEN])
{
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(ctx->md, out, &n) != 1 || n != SHA256_LEN)
		return -1;
	return 0;
}

void
sha256_free(struct sha256 *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->md);
	OPENSSL_free(ctx);
}

int
sha256_buf(const void *buf, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int n = 0;
	if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 || n != SHA256_LEN)
		return -1;
	return 0;
}
