#ifndef S3_H
#define S3_H
/*
 * A small S3 client: AWS Signature Version 4 (header form, signed payload),
 * URLs in path or virtual-host style, easy handles prepared for one request,
 * S3 error answers turned into sentences, an AWS credentials-file reader, and
 * blocking convenience calls (curl_easy_perform) for tests and tools.
 *
 * Signed headers. A request made by s3_setup signs exactly
 * host;x-amz-content-sha256;x-amz-date, the three that AWS requires for the
 * Authorization-header form. Content-Length is not signed: libcurl writes it,
 * and the payload itself is bound by x-amz-content-sha256 (which S3 checks
 * against the body), so signing its length adds nothing. s3.c signs any
 * set of headers (s3_sign_v4_headers, static until a caller needs more, such
 * as a range or x-amz-storage-class; the unit test reaches it).
 *
 * Keys. An object key is conf->prefix followed by the key given; in the URL
 * and the canonical URI every byte but A-Z a-z 0-9 - _ . ~ and / is written
 * as %XX (uppercase hex), once: S3, unlike other AWS services, does not
 * encode the path a second time nor normalise it, so "a/../b" is a key, and
 * libcurl is told to send the path as is.
 */
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

struct s3_conf {
	char endpoint[256];   /* "http://127.0.0.1:4568" or "https://s3.eu-west-1.amazonaws.com" */
	char region[64];      /* "us-east-1" */
	char bucket[64];
	char prefix[256];     /* key prefix, may be "" ; e.g. "vault/" */
	int path_style;       /* 1: ENDPOINT/BUCKET/KEY, 0: virtual host BUCKET.HOST/KEY */
	char access_key[128];
	char secret_key[128];
};

#define S3_SERVICE "s3"
#define S3_ALGORITHM "AWS4-HMAC-SHA256"
#define S3_SHA256_HEX_LEN 64          /* lowercase hex of a SHA-256 digest */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_AMZ_DATE_LEN 16            /* "YYYYMMDDTHHMMSSZ" */
#define S3_DATE_LEN 8                 /* "YYYYMMDD", the credential scope's date */
#define S3_KEY_MAX 1024               /* S3's limit on a key (prefix included), bytes */
#define S3_HOST_MAX 384               /* Host header value: [BUCKET.]HOST[:PORT] */
#define S3_URI_MAX (2 + 63 + 3 * S3_KEY_MAX + 1)  /* /BUCKET/ + encoded key + NUL */
#define S3_URL_MAX (8 + S3_HOST_MAX + S3_URI_MAX)  /* https:// + host + URI */
#define S3_AUTH_MAX 512               /* an Authorization value s3_setup makes */
#define S3_ETAG_MAX 128               /* an ETag, quotes removed, with its NUL */
#define S3_ERR_BODY_MAX 65536         /* bytes of an error answer kept for the message */

/*
 * Reads an AWS shared-credentials style file (INI: [profile] then
 * aws_access_key_id = ..., aws_secret_access_key = ...), profile "default"
 * when NULL, into c->access_key and c->secret_key. Blank lines and lines
 * starting with # or ; are skipped; other keys (region, aws_session_token)
 * are ignored. Returns 0, or -1 with a sentence naming file:line (a malformed
 * line, an over-long or non-printable value) or the missing profile or key
 * in err; c is not changed on failure.
 */
int s3_credentials_load(struct s3_conf *c, const char *path, const char *profile, char *err, size_t errlen);

/*
 * SigV4 URI encoding of the NUL-terminated in: unreserved bytes as they are,
 * '/' kept when keep_slash, every other byte %XX. Returns 0, or -1 when out
 * (outlen bytes with the NUL) is too small.
 */
int s3_uri_encode(const char *in, int keep_slash, char *out, size_t outlen);

/* Where a request goes. */
struct s3_target {
	char host[S3_HOST_MAX];   /* the Host header, signed */
	char uri[S3_URI_MAX];     /* the canonical URI: encoded path */
	char url[S3_URL_MAX];     /* scheme://host + uri, no query */
};

/*
 * Builds the target of object key (c->prefix prepended), or of the bucket
 * itself when key is NULL (a listing). The endpoint must be http:// or
 * https:// with a host, an optional port and at most a trailing "/"; the
 * bucket 3 to 63 bytes of a-z 0-9 . - (the DNS-safe names S3 allows today,
 * so it is never encoded and fits a host name); virtual-host style needs an
 * endpoint with a host name, not an IP address. Returns 0, or -1 with err.
 */
int s3_target(const struct s3_conf *c, const char *key, struct s3_target *t, char *err, size_t errlen);

/*
 * Prepares an easy handle for METHOD ("PUT","GET","HEAD","DELETE") of object
 * key (prefix is prepended) with the current time: URL (path or virtual-host
 * style, key URI-encoded per SigV4 rules), method options (PUT: CURLOPT_UPLOAD
 * + CURLOPT_INFILESIZE_LARGE = content_length; the caller sets the
 * READFUNCTION; HEAD: NOBODY; GET: HTTPGET; DELETE: CUSTOMREQUEST, each
 * resetting what an earlier request on the same handle set), PATH_AS_IS, and
 * headers Host, x-amz-date, x-amz-content-sha256 (payload_sha256_hex: for PUT
 * the object's SHA-256, which in Vault is the object ID itself, so no re-read
 * is needed; NULL for bodiless requests = SHA-256 of the empty string; a PUT
 * of a non-empty body needs it), Authorization, and "Expect:" disabled.
 * Callbacks, timeouts and the write target are the caller's. *hdrs gets the
 * list to free with curl_slist_free_all after the transfer (NULL on failure).
 * Returns 0, or -1 with err.
 */
int s3_setup(CURL *e, const struct s3_conf *c, const char *method, const char *key, const char *payload_sha256_hex, uint64_t content_length, struct curl_slist **hdrs, char *err, size_t errlen);

/*
 * s3_setup with a query string: key NULL addresses the bucket, query (NULL or
 * "" for none) is the canonical query, already sorted by name and encoded
 * with s3_uri_encode(keep_slash 0); it is sent as it is signed.
 */
int s3_setup_query(CURL *e, const struct s3_conf *c, const char *method, const char *key, const char *query, const char *payload_sha256_hex, uint64_t content_length, struct curl_slist **hdrs, char *err, size_t errlen);

/*
 * Turns a failed S3 answer (status, XML body) into a sentence: "S3 bucket B:
 * PUT KEY: InvalidAccessKeyId: The AWS Access Key Id you provided does not
 * exist in our records. (403)". KEY is the full key (prefix included), or
 * "(bucket)" for key NULL. Without an XML Code (HEAD answers have no body)
 * the sentence says the status and that the answer had no error body. Bytes
 * that are not printable ASCII are shown as '?'. Always NUL-terminates out.
 */
void s3_error_message(long status, const char *method, const struct s3_conf *c, const char *key, const char *body, size_t len, char *out, size_t outlen);

/*
 * Finds the first <NAME>text</NAME> at or after *pos in body[0, len) and
 * writes the text, XML entities decoded (&amp; &lt; &gt; &quot; &apos; and
 * &#N; &#xH; of ASCII), NUL-terminated, to out. Returns 1 and moves *pos past
 * the closing tag; 0 when there is none; -1 when the text does not fit, has a
 * bad entity or a NUL, or the closing tag is missing.
 */
int s3_xml_find(const char *body, size_t len, const char *name, size_t *pos, char *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* Blocking calls (one easy handle each; curl_global_init is the caller's). */

/*
 * PUT of len bytes at buf as key. sha_hex is the body's SHA-256 in lowercase
 * hex, or NULL to compute it here. Returns 0, or -1 with err.
 */
int s3_put_buffer(const struct s3_conf *c, const char *key, const void *buf, size_t len, const char *sha_hex, char *err, size_t errlen);

/*
 * HEAD of key: *size (may be NULL) gets its Content-Length, etag_out (NULL or
 * S3_ETAG_MAX bytes) its ETag without quotes. Returns 0; 1 when the answer is
 * 404 (no body says whether the key or the bucket is missing); -1 with err.
 */
int s3_head(const struct s3_conf *c, const char *key, uint64_t *size, char *etag_out, char *err, size_t errlen);

/*
 * GET of key into a new buffer (*buf, *len; malloc, the caller frees; a
 * 0-byte object gives a non-NULL buffer) of at most max bytes. Returns 0; 1
 * for NoSuchKey; -1 with err (a bigger object, NoSuchBucket, any failure).
 */
int s3_get_buffer(const struct s3_conf *c, const char *key, uint8_t **buf, size_t *len, size_t max, char *err, size_t errlen);

/* DELETE of key (S3 answers 204 for a missing key too). Returns 0, or -1 with err. */
int s3_delete(const struct s3_conf *c, const char *key, char *err, size_t errlen);

/*
 * Called for each listed object: key without c->prefix, size in bytes.
 * Returns 0 to go on, anything else to stop the listing.
 */
typedef int (*s3_list_cb)(void *arg, const char *key, uint64_t size);

/*
 * Lists the keys under c->prefix + prefix (NULL or "" for all of c->prefix)
 * with ListObjectsV2, following continuation tokens, in S3's order (bytewise
 * by key). Returns 0; the callback's non-zero value when it stopped the
 * listing (err then says so); -1 with err.
 */
int s3_list(const struct s3_conf *c, const char *prefix, s3_list_cb cb, void *arg, char *err, size_t errlen);

/* s3_list asking for max_keys a page (1..1000; 0: the server's default). */
int s3_list_paged(const struct s3_conf *c, const char *prefix, unsigned max_keys, s3_list_cb cb, void *arg, char *err, size_t errlen);

/* One parsed ListObjectsV2 page. */
struct s3_list_page {
	int truncated;                 /* IsTruncated was "true" */
	char next_token[1024];         /* NextContinuationToken, "" when absent */
	unsigned count;                /* objects passed to the callback */
};

/*
 * Parses one ListObjectsV2 answer body: each <Contents> object's <Key> (which
 * must start with strip, then given to cb without it) and <Size>, then
 * IsTruncated and NextContinuationToken. Returns 0; the callback's non-zero
 * value; -1 with err on malformed XML, a key outside strip, a bad size, or a
 * truncated page without a token.
 */
int s3_list_parse(const char *body, size_t len, const char *strip, s3_list_cb cb, void *arg, struct s3_list_page *page, char *err, size_t errlen);

#endif
