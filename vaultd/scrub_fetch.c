/*
 * Repair from a replica (scrub.h, scrub_fetch_replica; spec/scrub.md): a
 * `vault` target is asked with GET /v1/vaults/{v}/objects/{kind}/{id} (or
 * /config) and its bearer token, an `s3` target with a signed GET of the
 * key the replicator wrote. The bytes are hashed as they arrive and the
 * caller's backend upload is committed only when they hash to the ID, so a
 * replica that is itself damaged (or an impostor) can never plant bad bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "s3.h"
#include "scrub.h"
#include "sha256.h"
#include "store.h"

/* Bytes of a token file's first line we read (vaultd tokens are ~90). */
#define FETCH_CONNECT_TIMEOUT 10L  /* seconds */
#define FETCH_LOW_SPEED 1024L      /* bytes per second ... */
#define FETCH_LOW_TIME 30L         /* ... for this long aborts a stalled fetch */
#define URL_MAX (CONF_URL_MAX + 3 * VSP_NAME_MAX + VSP_ID_HEX_LEN + 64)

struct sink {
	struct backend *b;
	struct backend_put *put;
	struct sha256 *h;
	uint64_t got, want;
	int failed;
};

static size_t
sink_write(char *data, size_t one, size_t n, void *arg)
{
	struct sink *k = arg;
	size_t len = one * n;

	if (k->failed || len > k->want - k->got) {
		k->failed = 1;
		return 0; /* more than the object's size: stop */
	}
	if (sha256_update(k->h, data, len) != 0 || backend_put_write(k->b, k->put, data, len) != 0) {
		k->failed = 1;
		return 0;
	}
	k->got += len;
	return len;
}

static int
check_digest(struct sink *k, const uint8_t id[VSP_ID_LEN], char *err, size_t errlen)
{
	uint8_t digest[SHA256_LEN];

	if (k->got != k->want) {
		snprintf(err, errlen, "the replica sent %llu of %llu bytes",
		    (unsigned long long)k->got, (unsigned long long)k->want);
		return -1;
	}
	if (sha256_final(k->h, digest) != 0 || sodium_memcmp(digest, id, VSP_ID_LEN) != 0) {
		snprintf(err, errlen, "the replica's bytes do not hash to the ID");
		return -1;
	}
	return 0;
}

static int
fetch_vault(const struct conf_target *t, const char *vault, uint8_t kind, const char *hex,
    struct sink *k, char *err, size_t errlen)
{
	char token[CONF_TOKEN_MAX], url[URL_MAX], auth[CONF_TOKEN_MAX + 32];
	size_t n = strlen(t->url);
	struct curl_slist *hdrs = NULL;
	long status = 0;
	CURL *e;
	CURLcode cc;

	if (conf_token_load(t->token_file, token, err, errlen) != 0)
		return -1;
	if (n > 0 && t->url[n - 1] == '/')
		n--;
	if (kind == META_SCRUB_CONFIG)
		snprintf(url, sizeof(url), "%.*s/v1/vaults/%s/config", (int)n, t->url,
		    t->vault[0] ? t->vault : vault);
	else
		snprintf(url, sizeof(url), "%.*s/v1/vaults/%s/objects/%s/%s", (int)n, t->url,
		    t->vault[0] ? t->vault : vault, vsp_kind_name((enum vsp_kind)kind), hex);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	sodium_memzero(token, sizeof(token));
	if ((e = curl_easy_init()) == NULL || (hdrs = curl_slist_append(NULL, auth)) == NULL) {
		snprintf(err, errlen, "out of memory");
		curl_easy_cleanup(e);
		sodium_memzero(auth, sizeof(auth));
		return -1;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, FETCH_CONNECT_TIMEOUT);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, FETCH_LOW_SPEED);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, FETCH_LOW_TIME);
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	sodium_memzero(auth, sizeof(auth));
	curl_easy_cleanup(e);
	if (cc != CURLE_OK) {
		if (status >= 400)
			snprintf(err, errlen, "target %s answered %ld", t->name, status);
		else
			snprintf(err, errlen, "target %s: %s", t->name, curl_easy_strerror(cc));
		return -1;
	}
	return 0;
}

static int
fetch_s3(const struct conf_target *t, const char *tenant, const char *vault, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], struct sink *k, char *err, size_t errlen)
{
	struct s3_conf c;
	char key[S3_KEY_MAX + 1], why[256];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	memset(&c, 0, sizeof(c));
	if (snprintf(c.endpoint, sizeof(c.endpoint), "%s", t->endpoint) >= (int)sizeof(c.endpoint) ||
	    snprintf(c.region, sizeof(c.region), "%s", t->region) >= (int)sizeof(c.region) ||
	    snprintf(c.bucket, sizeof(c.bucket), "%s", t->bucket) >= (int)sizeof(c.bucket) ||
	    snprintf(c.prefix, sizeof(c.prefix), "%s", t->prefix) >= (int)sizeof(c.prefix)) {
		snprintf(err, errlen, "target %s: an S3 setting is too long", t->name);
		return -1;
	}
	c.path_style = t->path_style;
	if (s3_credentials_load(&c, t->credentials_file, NULL, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "target %s: %s", t->name, why);
		return -1;
	}
	(void)store_replica_key(key, sizeof(key), tenant, vault, kind, id);
	rc = s3_get_buffer(&c, key, &buf, &len, (size_t)k->want, why, sizeof(why));
	sodium_memzero(c.secret_key, sizeof(c.secret_key));
	if (rc != 0) {
		snprintf(err, errlen, "target %s: %s", t->name, rc == 1 ? "it has no copy" : why);
		free(buf);
		return -1;
	}
	rc = sink_write((char *)buf, 1, len, k) == len || len == 0 ? 0 : -1;
	if (rc != 0)
		snprintf(err, errlen, "target %s: cannot write the copy", t->name);
	free(buf);
	return rc;
}

int
scrub_fetch_replica(const struct conf_target *t, const char *tenant, const char *vault,
    uint8_t kind, const uint8_t id[VSP_ID_LEN], uint64_t size, struct backend *b,
    struct backend_put *put, char *err, size_t errlen)
{
	struct sink k = { .b = b, .put = put, .want = size };
	char hex[VSP_ID_HEX_LEN + 1];
	int rc;

	if ((k.h = sha256_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	vsp_id_format(id, hex);
	if (strcmp(t->type, "s3") == 0)
		rc = fetch_s3(t, tenant, vault, kind, id, &k, err, errlen);
	else
		rc = fetch_vault(t, vault, kind, hex, &k, err, errlen);
	if (rc == 0 && k.failed) {
		snprintf(err, errlen, "target %s: the copy is longer than the object or cannot be "
		    "written", t->name);
		rc = -1;
	}
	if (rc == 0)
		rc = check_digest(&k, id, err, errlen);
	sha256_free(k.h);
	return rc;
}
