/*
 * The local key cache (keycache.h, spec/client-crypto.md 9).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cache.h"
#include "keycache.h"

#define FILE_MAX 4096

/* KEK = BLAKE2b-256("vault key cache v1" 0x00 salt passphrase). Fast on
 * purpose: the file lives where only the user's own session reaches. */
static void
cache_kek(const uint8_t *pw, size_t pwlen, const uint8_t salt[VC_SALT_LEN],
    uint8_t kek[VC_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, VC_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)VC_KEYCACHE_DOMAIN,
	    sizeof(VC_KEYCACHE_DOMAIN));
	crypto_generichash_update(&st, salt, VC_SALT_LEN);
	crypto_generichash_update(&st, pw, pwlen);
	crypto_generichash_final(&st, kek, VC_KEY_LEN);
	sodium_memzero(&st, sizeof(st));
}

int
vc_keycache_path(const char *dir, const char *url, const char *vault,
    const uint8_t *config, size_t config_len, char *out, size_t outlen)
{
	char hex[VC_CACHE_NAME_LEN + 1];
	int n;

	vc_cache_name(url, vault, config, config_len, hex);
	n = snprintf(out, outlen, "%s/%s", dir, hex);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

void
vc_keycache_seal(const uint8_t *pw, size_t pwlen, const struct vc_keycache_entry *e,
    const uint8_t salt[VC_SALT_LEN], const uint8_t nonce[VC_NONCE_LEN],
    uint8_t out[VC_KEYCACHE_LEN])
{
	uint8_t kek[VC_KEY_LEN];

	memcpy(out, VC_KEYCACHE_MAGIC, VC_KEYCACHE_MAGIC_LEN);
	out[VC_KEYCACHE_VERSION_OFF] = VC_KEYCACHE_VERSION;
	memcpy(&out[VC_KEYCACHE_SALT_OFF], salt, VC_SALT_LEN);
	out[VC_KEYCACHE_BY_OFF] = e->by_config ? 0 : 1;
	if (e->by_config)
		memset(&out[VC_KEYCACHE_KEYID_OFF], 0, VC_ID_LEN);
	else
		memcpy(&out[VC_KEYCACHE_KEYID_OFF], e->key_id, VC_ID_LEN);
	memcpy(&out[VC_KEYCACHE_NONCE_OFF], nonce, VC_NONCE_LEN);
	cache_kek(pw, pwlen, salt, kek);
	crypto_aead_xchacha20poly1305_ietf_encrypt(&out[VC_KEYCACHE_WRAP_OFF], NULL, e->master,
	    VC_KEY_LEN, out, VC_KEYCACHE_HEADER_LEN, NULL, &out[VC_KEYCACHE_NONCE_OFF], kek);
	sodium_memzero(kek, sizeof(kek));
}

int
vc_keycache_open(const uint8_t *buf, size_t len, const uint8_t *pw, size_t pwlen,
    struct vc_keycache_entry *e)
{
	uint8_t kek[VC_KEY_LEN];
	int rc;

	memset(e, 0, sizeof(*e));
	if (len != VC_KEYCACHE_LEN || memcmp(buf, VC_KEYCACHE_MAGIC, VC_KEYCACHE_MAGIC_LEN) != 0 ||
	    buf[VC_KEYCACHE_VERSION_OFF] != VC_KEYCACHE_VERSION || buf[VC_KEYCACHE_BY_OFF] > 1)
		return 1;
	cache_kek(pw, pwlen, &buf[VC_KEYCACHE_SALT_OFF], kek);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(e->master, NULL, NULL,
	    &buf[VC_KEYCACHE_WRAP_OFF], VC_KEY_LEN + VC_TAG_LEN, buf, VC_KEYCACHE_HEADER_LEN,
	    &buf[VC_KEYCACHE_NONCE_OFF], kek);
	sodium_memzero(kek, sizeof(kek));
	if (rc != 0) {
		sodium_memzero(e, sizeof(*e));
		return 1;
	}
	e->by_config = buf[VC_KEYCACHE_BY_OFF] == 0;
	memcpy(e->key_id, &buf[VC_KEYCACHE_KEYID_OFF], VC_ID_LEN);
	return 0;
}

int
vc_keycache_load(const char *path, const uint8_t *pw, size_t pwlen,
    struct vc_keycache_entry *e)
{
	uint8_t buf[VC_KEYCACHE_LEN + 1];
	ssize_t n;
	int fd, rc;

	memset(e, 0, sizeof(*e));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 1 : -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return -1;
	rc = vc_keycache_open(buf, (size_t)n, pw, pwlen, e);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int
vc_keycache_store(const char *path, const uint8_t *pw, size_t pwlen,
    const struct vc_keycache_entry *e)
{
	uint8_t buf[VC_KEYCACHE_LEN], salt[VC_SALT_LEN], nonce[VC_NONCE_LEN];
	char dir[FILE_MAX], tmp[FILE_MAX + 8];
	char *slash;
	int fd, ok;

	if (strlen(path) >= sizeof(dir))
		return -1;
	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	vc_keycache_seal(pw, pwlen, e, salt, nonce, buf);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return -1;
	ok = write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf);
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}
