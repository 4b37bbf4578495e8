#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"

#define PREFIX_LEN (sizeof(AUTH_TOKEN_PREFIX) - 1)
#define ID_HEX_LEN (2 * META_TOKEN_ID_LEN)
#define SECRET_HEX_LEN (2 * AUTH_SECRET_LEN)
#define SEP_POS (PREFIX_LEN + ID_HEX_LEN)

void
auth_secret_hash(const uint8_t key[AUTH_SERVER_KEY_LEN],
    const uint8_t secret[AUTH_SECRET_LEN], uint8_t hash[META_TOKEN_HASH_LEN])
{
	crypto_generichash(hash, META_TOKEN_HASH_LEN, secret, AUTH_SECRET_LEN, key,
	    AUTH_SERVER_KEY_LEN);
}

void
auth_token_new(const uint8_t key[AUTH_SERVER_KEY_LEN], struct meta_token *tok,
    char out[AUTH_TOKEN_STRLEN + 1])
{
	uint8_t secret[AUTH_SECRET_LEN];

	randombytes_buf(tok->id, sizeof(tok->id));
	randombytes_buf(secret, sizeof(secret));
	auth_secret_hash(key, secret, tok->hash);
	memcpy(out, AUTH_TOKEN_PREFIX, PREFIX_LEN);
	sodium_bin2hex(out + PREFIX_LEN, ID_HEX_LEN + 1, tok->id, META_TOKEN_ID_LEN);
	out[SEP_POS] = '_';
	sodium_bin2hex(out + SEP_POS + 1, SECRET_HEX_LEN + 1, secret, AUTH_SECRET_LEN);
	sodium_memzero(secret, sizeof(secret));
}

static int
lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
auth_token_parse(const char *s, size_t len, uint8_t id[META_TOKEN_ID_LEN],
    uint8_t secret[AUTH_SECRET_LEN])
{
	size_t n;

	if (len != AUTH_TOKEN_STRLEN || memcmp(s, AUTH_TOKEN_PREFIX, PREFIX_LEN) != 0 ||
	    s[SEP_POS] != '_')
		return -1;
	if (!lower_hex(s + PREFIX_LEN, ID_HEX_LEN) ||
	    !lower_hex(s + SEP_POS + 1, SECRET_HEX_LEN))
		return -1;
	if (sodium_hex2bin(id, META_TOKEN_ID_LEN, s + PREFIX_LEN, ID_HEX_LEN, NULL, &n,
	        NULL) != 0 || n != META_TOKEN_ID_LEN)
		return -1;
	if (sodium_hex2bin(secret, AUTH_SECRET_LEN, s + SEP_POS + 1, SECRET_HEX_LEN, NULL,
	        &n, NULL) != 0 || n != AUTH_SECRET_LEN)
		return -1;
	return 0;
}

int
auth_token_matches(const uint8_t key[AUTH_SERVER_KEY_LEN], const struct meta_token *tok,
    const uint8_t secret[AUTH_SECRET_LEN])
{
	uint8_t hash[META_TOKEN_HASH_LEN];
	int ok;

	auth_secret_hash(key, secret, hash);
	ok = sodium_memcmp(hash, tok->hash, sizeof(hash)) == 0;
	sodium_memzero(hash, sizeof(hash));
	return ok;
}

static const struct {
	const char *word;
	uint32_t bit;
} scope_words[] = {
	{"read", META_SCOPE_READ},
	{"append", META_SCOPE_APPEND},
	{"delete", META_SCOPE_DELETE},
	{"admin", META_SCOPE_ADMIN},
};
#define NSCOPES (sizeof(scope_words) / sizeof(scope_words[0]))

int
auth_scopes_parse(const char *s, uint32_t *out)
{
	uint32_t scopes = 0;

	if (strcmp(s, "all") == 0) {
		*out = META_SCOPE_ALL;
		return 0;
	}
	while (*s != '\0') {
		size_t len = strcspn(s, ",");
		size_t i;
		for (i = 0; i < NSCOPES; i++)
			if (strlen(scope_words[i].word) == len &&
			    memcmp(scope_words[i].word, s, len) == 0)
				break;
		if (i == NSCOPES)
			return -1;
		scopes |= scope_words[i].bit;
		s += len;
		if (*s == ',' && *++s == '\0')
			return -1; /* a trailing comma */
	}
	if (scopes == 0)
		return -1;
	*out = scopes;
	return 0;
}

int
auth_scopes_format(uint32_t scopes, char *buf, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	for (size_t i = 0; i < NSCOPES; i++) {
		if (!(scopes & scope_words[i].bit))
			continue;
		int n = snprintf(buf + used, size - used, "%s%s", used ? "," : "",
		    scope_words[i].word);
		if (n < 0 || (size_t)n >= size - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

static int
read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int
auth_server_key_load(const char *path, uint8_t key[AUTH_SERVER_KEY_LEN])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		int rc = read_full(fd, key, AUTH_SERVER_KEY_LEN);
		close(fd);
		if (rc != 0)
			log_msg(VLOG_ERROR, "%s: too short or unreadable (want %d bytes)",
			    path, AUTH_SERVER_KEY_LEN);
		return rc;
	}
	if (errno != ENOENT) {
		log_msg(VLOG_ERROR, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* First start: make a key. O_EXCL so two daemons never write two keys. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_msg(VLOG_ERROR, "create %s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(key, AUTH_SERVER_KEY_LEN);
	if (write(fd, key, AUTH_SERVER_KEY_LEN) != AUTH_SERVER_KEY_LEN || fsync(fd) != 0) {
		log_msg(VLOG_ERROR, "write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}
