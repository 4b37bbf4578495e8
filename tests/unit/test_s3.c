/*
 * The S3 client (s3/s3.c, s3_cred.c, s3_sync.c): SigV4 against the
 * worked examples in AWS's S3 documentation ("Signature Calculations for
 * the Authorization Header: Transferring Payload in a Single Chunk") and
 * against spec/vectors/s3-sigv4.json (made by spec/vectors/gen/s3_sigv4.py,
 * an independent Python implementation); URI encoding of keys; path and
 * virtual-host URLs; the easy handle s3_setup prepares; credentials files
 * and their errors; error sentences from S3's XML; the ListObjectsV2 page
 * scanner; every allocation of the signer failing in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vectors.h"
#include <jansson.h>

/* The module itself, for its statics. */
#include "s3.c"
#include "faultsim.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_HOST "examplebucket.s3.amazonaws.com"
#define EX_DATE "20130524T000000Z"
#define EX_PUT_SHA "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
#define VECTORS "s3-sigv4.json"

static struct s3_conf
example_conf(void)
{
	struct s3_conf c;

	memset(&c, 0, sizeof(c));
	strcpy(c.endpoint, "https://s3.amazonaws.com");
	strcpy(c.region, "us-east-1");
	strcpy(c.bucket, "examplebucket");
	strcpy(c.access_key, AK);
	strcpy(c.secret_key, SK);
	return c;
}

static const char *
signature_of(const char *auth)
{
	const char *s = strstr(auth, "Signature=");

	assert_non_null(s);
	return s + strlen("Signature=");
}

/* AWS's "GET Object": a range header signed with the three required ones. */
static void
test_aws_get_object(void **state)
{
	struct s3_conf c = example_conf();
	struct s3_header h[] = {
		{"x-amz-date", EX_DATE},
		{"range", "bytes=0-9"},
		{"host", EX_HOST},
		{"x-amz-content-sha256", S3_EMPTY_SHA256},
	};
	char auth[S3_AUTH_MAX];

	(void)state;
	assert_int_equal(s3_sign_v4_headers(&c, "GET", "/test.txt", "", h, 4, S3_EMPTY_SHA256, EX_DATE,
	    auth, sizeof(auth)), 0);
	assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
	    "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
	    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

/* AWS's "PUT Object": a '$' in the key, date and storage-class headers. */
static void
test_aws_put_object(void **state)
{
	struct s3_conf c = example_conf();
	struct s3_header h[] = {
		{"date", "Fri, 24 May 2013 00:00:00 GMT"},
		{"host", EX_HOST},
		{"x-amz-date", EX_DATE},
		{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
		{"x-amz-content-sha256", EX_PUT_SHA},
	};
	char auth[S3_AUTH_MAX], uri[64], sha[S3_SHA256_HEX_LEN + 1];

	(void)state;
	assert_int_equal(sha256_hex("Welcome to Amazon S3.", 21, sha), 0);
	assert_string_equal(sha, EX_PUT_SHA);
	assert_int_equal(s3_uri_encode("/test$file.text", 1, uri, sizeof(uri)), 0);
	assert_string_equal(uri, "/test%24file.text");
	assert_int_equal(s3_sign_v4_headers(&c, "PUT", uri, "", h, 5, EX_PUT_SHA, EX_DATE, auth, sizeof(auth)), 0);
	assert_non_null(strstr(auth, ",SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"));
	assert_string_equal(signature_of(auth), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

/* AWS's "GET Bucket Lifecycle" and "Get Bucket (List Objects)": exactly s3_sign_v4's headers. */
static void
test_aws_bucket_requests(void **state)
{
	struct s3_conf c = example_conf();
	char auth[S3_AUTH_MAX];

	(void)state;
	assert_int_equal(s3_sign_v4(&c, "GET", EX_HOST, "/", "lifecycle=", S3_EMPTY_SHA256, EX_DATE,
	    auth, sizeof(auth)), 0);
	assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
	    "aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
	    "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	assert_int_equal(s3_sign_v4(&c, "GET", EX_HOST, "/", "max-keys=2&prefix=J", S3_EMPTY_SHA256, EX_DATE,
	    auth, sizeof(auth)), 0);
	assert_string_equal(signature_of(auth), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

/* The independent implementation's vectors: s3_target then s3_sign_v4, as s3_setup signs. */
static void
test_vectors(void **state)
{
	json_t *doc = vectors_load(VECTORS, 0), *a, *v;
	struct s3_target t;
	char auth[S3_AUTH_MAX], err[256];
	size_t i;

	(void)state;
	a = json_object_get(doc, "sign");
	assert_true(json_is_array(a));
	assert_true(json_array_size(a) >= 4);
	json_array_foreach(a, i, v) {
		struct s3_conf c;
		const char *key = vectors_str(v, "key");

		memset(&c, 0, sizeof(c));
		snprintf(c.endpoint, sizeof(c.endpoint), "%s", vectors_str(v, "endpoint"));
		snprintf(c.region, sizeof(c.region), "%s", vectors_str(v, "region"));
		snprintf(c.bucket, sizeof(c.bucket), "%s", vectors_str(v, "bucket"));
		snprintf(c.prefix, sizeof(c.prefix), "%s", vectors_str(v, "prefix"));
		snprintf(c.access_key, sizeof(c.access_key), "%s", vectors_str(v, "access_key"));
		snprintf(c.secret_key, sizeof(c.secret_key), "%s", vectors_str(v, "secret_key"));
		c.path_style = (int)json_integer_value(json_object_get(v, "path_style"));
		assert_int_equal(s3_target(&c, key[0] ? key : NULL, &t, err, sizeof(err)), 0);
		assert_string_equal(t.host, vectors_str(v, "host"));
		assert_string_equal(t.uri, vectors_str(v, "canonical_uri"));
		assert_string_equal(t.url, vectors_str(v, "url"));
		assert_int_equal(s3_sign_v4(&c, vectors_str(v, "method"), t.host, t.uri, vectors_str(v, "query"),
		    vectors_str(v, "payload_sha256"), vectors_str(v, "amz_date"), auth, sizeof(auth)), 0);
		assert_string_equal(auth, vectors_str(v, "authorization"));
	}
	json_decref(doc);
}

static void
test_sign_errors(void **state)
{
	struct s3_conf c = example_conf();
	char auth[S3_AUTH_MAX], a2[S3_AUTH_MAX];
	struct s3_header h[] = {{"host", "h"}, {"x-amz-date", EX_DATE}, {"Range", "x"}};
	struct s3_header dup[] = {{"host", "h"}, {"host", "h2"}};

	(void)state;
	assert_int_equal(s3_sign_v4(&c, "GET", "h", "/", "", S3_EMPTY_SHA256, "20130524T000000", auth, sizeof(auth)), -1);
	assert_int_equal(s3_sign_v4(&c, "GET", "h", "/", "", S3_EMPTY_SHA256, "2013052400000000Z", auth, sizeof(auth)), -1);
	assert_int_equal(s3_sign_v4(&c, "GET", "h", "/", "", S3_EMPTY_SHA256, "2013a524T000000Z", auth, sizeof(auth)), -1);
	assert_int_equal(s3_sign_v4(&c, "GET", "h", "/", "", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	    EX_DATE, auth, sizeof(auth)), -1);
	assert_int_equal(s3_sign_v4(&c, "GET", "h", "/", "", "e3b0", EX_DATE, auth, sizeof(auth)), -1);
	assert_int_equal(s3_sign_v4(&c, "GET", "h", "/", "", S3_EMPTY_SHA256, EX_DATE, auth, 100), -1);
	assert_int_equal(s3_sign_v4_headers(&c, "GET", "/", "", h, 3, S3_EMPTY_SHA256, EX_DATE, auth, sizeof(auth)), -1);
	assert_int_equal(s3_sign_v4_headers(&c, "GET", "/", "", dup, 2, S3_EMPTY_SHA256, EX_DATE, auth, sizeof(auth)), -1);
	assert_int_equal(s3_sign_v4_headers(&c, "GET", "/", "", h, 0, S3_EMPTY_SHA256, EX_DATE, auth, sizeof(auth)), -1);
	/* Values are trimmed and space runs folded before signing. */
	{
		struct s3_header a[] = {{"host", "h"}, {"x-amz-meta-n", "  a   b\t c "}};
		struct s3_header b[] = {{"host", "h"}, {"x-amz-meta-n", "a b c"}};

		assert_int_equal(s3_sign_v4_headers(&c, "GET", "/", "", a, 2, "UNSIGNED-PAYLOAD", EX_DATE, auth, sizeof(auth)), 0);
		assert_int_equal(s3_sign_v4_headers(&c, "GET", "/", "", b, 2, "UNSIGNED-PAYLOAD", EX_DATE, a2, sizeof(a2)), 0);
		assert_string_equal(auth, a2);
	}
	/* Every input changes the signature: secret, region, date, method. */
	assert_int_equal(s3_sign_v4(&c, "GET", "h", "/", "", S3_EMPTY_SHA256, EX_DATE, auth, sizeof(auth)), 0);
	c.secret_key[0] ^= 1;
	assert_int_equal(s3_sign_v4(&c, "GET", "h", "/", "", S3_EMPTY_SHA256, EX_DATE, a2, sizeof(a2)), 0);
	assert_string_not_equal(signature_of(auth), signature_of(a2));
	c = example_conf();
	strcpy(c.region, "eu-west-1");
	assert_int_equal(s3_sign_v4(&c, "GET", "h", "/", "", S3_EMPTY_SHA256, EX_DATE, a2, sizeof(a2)), 0);
	assert_string_not_equal(signature_of(auth), signature_of(a2));
	assert_non_null(strstr(a2, "/20130524/eu-west-1/s3/aws4_request,"));
	c = example_conf();
	assert_int_equal(s3_sign_v4(&c, "HEAD", "h", "/", "", S3_EMPTY_SHA256, EX_DATE, a2, sizeof(a2)), 0);
	assert_string_not_equal(signature_of(auth), signature_of(a2));
}

/* Each allocation of the signer fails in turn: -1 each time, no leak (ASan), then success. */
static void
test_sign_alloc_fail(void **state)
{
	struct s3_conf c = example_conf();
	char auth[S3_AUTH_MAX], want[S3_AUTH_MAX];
	int n, rc;

	(void)state;
	assert_int_equal(s3_sign_v4(&c, "GET", EX_HOST, "/", "lifecycle=", S3_EMPTY_SHA256, EX_DATE, want, sizeof(want)), 0);
	for (n = 1;; n++) {
		faultsim_config(n - 1, 1);
		rc = s3_sign_v4(&c, "GET", EX_HOST, "/", "lifecycle=", S3_EMPTY_SHA256, EX_DATE, auth, sizeof(auth));
		if (faultsim_off() != 0) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(auth, want);
		break;
	}
	assert_true(n > 3);
}

static void
test_uri_encode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(s3_uri_encode("AZaz09-_.~", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "AZaz09-_.~");
	assert_int_equal(s3_uri_encode("a b/c+d=e&f%g", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "a%20b/c%2Bd%3De%26f%25g");
	assert_int_equal(s3_uri_encode("a/b", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "a%2Fb");
	assert_int_equal(s3_uri_encode("\xc3\xa9\x01\x7f\xff", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "%C3%A9%01%7F%FF");
	assert_int_equal(s3_uri_encode("./../a", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "./../a");
	/* Exact fit, and one byte short, for a plain and an encoded byte. */
	assert_int_equal(s3_uri_encode("abc", 1, out, 4), 0);
	assert_int_equal(s3_uri_encode("abc", 1, out, 3), -1);
	assert_int_equal(s3_uri_encode("a$", 1, out, 5), 0);
	assert_string_equal(out, "a%24");
	assert_int_equal(s3_uri_encode("a$", 1, out, 4), -1);
	assert_int_equal(s3_uri_encode("", 1, out, 1), 0);
	assert_string_equal(out, "");
}

static void
test_target(void **state)
{
	struct s3_conf c = example_conf();
	struct s3_target t;
	char err[256], longkey[S3_KEY_MAX + 2];

	(void)state;
	strcpy(c.endpoint, "http://127.0.0.1:4568");
	strcpy(c.bucket, "bkt");
	strcpy(c.prefix, "vault/");
	c.path_style = 1;
	assert_int_equal(s3_target(&c, "ab/c d$", &t, err, sizeof(err)), 0);
	assert_string_equal(t.host, "127.0.0.1:4568");
	assert_string_equal(t.uri, "/bkt/vault/ab/c%20d%24");
	assert_string_equal(t.url, "http://127.0.0.1:4568/bkt/vault/ab/c%20d%24");
	assert_int_equal(s3_target(&c, NULL, &t, err, sizeof(err)), 0);
	assert_string_equal(t.uri, "/bkt");
	assert_string_equal(t.url, "http://127.0.0.1:4568/bkt");

	strcpy(c.endpoint, "https://s3.eu-west-1.amazonaws.com/");
	c.path_style = 0;
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), 0);
	assert_string_equal(t.host, "bkt.s3.eu-west-1.amazonaws.com");
	assert_string_equal(t.uri, "/vault/k");
	assert_string_equal(t.url, "https://bkt.s3.eu-west-1.amazonaws.com/vault/k");
	assert_int_equal(s3_target(&c, NULL, &t, err, sizeof(err)), 0);
	assert_string_equal(t.uri, "/");
	assert_string_equal(t.url, "https://bkt.s3.eu-west-1.amazonaws.com/");

	/* The key limit counts the prefix: 1024 bytes in all fit, 1025 do not. */
	memset(longkey, 'k', S3_KEY_MAX - 6);
	longkey[S3_KEY_MAX - 6] = '\0';
	assert_int_equal(s3_target(&c, longkey, &t, err, sizeof(err)), 0);
	strcat(longkey, "k");
	assert_int_equal(s3_target(&c, longkey, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "over 1024 bytes"));
	assert_int_equal(s3_target(&c, "", &t, err, sizeof(err)), -1);

	strcpy(c.bucket, "Bad_Bucket");
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"Bad_Bucket\""));
	strcpy(c.bucket, "ab");
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), -1);
	strcpy(c.bucket, "bkt");
	strcpy(c.endpoint, "ftp://h");
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"ftp://h\""));
	strcpy(c.endpoint, "http://h/path");
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), -1);
	strcpy(c.endpoint, "http://user@h");
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), -1);
	strcpy(c.endpoint, "http://");
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), -1);
	/* Virtual-host style needs a name to put the bucket in front of. */
	c.path_style = 0;
	strcpy(c.endpoint, "http://127.0.0.1:4568");
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an IP address"));
	strcpy(c.endpoint, "http://[::1]:4568");
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), -1);
	strcpy(c.endpoint, "http://s3.localhost:4568");
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), 0);
	assert_string_equal(t.host, "bkt.s3.localhost:4568");
	c.path_style = 1;
	strcpy(c.endpoint, "http://[::1]:4568");
	assert_int_equal(s3_target(&c, "k", &t, err, sizeof(err)), 0);
	assert_string_equal(t.url, "http://[::1]:4568/bkt/vault/k");
}

/* The value of header name in list, or NULL. */
static const char *
slist_value(const struct curl_slist *l, const char *name)
{
	size_t n = strlen(name);

	for (; l != NULL; l = l->next)
		if (strncmp(l->data, name, n) == 0 && l->data[n] == ':')
			return l->data[n + 1] == ' ' ? l->data + n + 2 : l->data + n + 1;
	return NULL;
}

/* s3_setup's headers: what it signs is what it sends, at the current time. */
static void
test_setup(void **state)
{
	struct s3_conf c = example_conf();
	struct curl_slist *hdrs = (struct curl_slist *)1;
	char err[256], auth[S3_AUTH_MAX], sha[S3_SHA256_HEX_LEN + 1];
	const char *date, *host;
	CURL *e = curl_easy_init();

	(void)state;
	assert_non_null(e);
	strcpy(c.endpoint, "http://s3.localhost:4568");
	strcpy(c.prefix, "p/");
	assert_int_equal(s3_setup(e, &c, "HEAD", "a b", NULL, 0, &hdrs, err, sizeof(err)), 0);
	host = slist_value(hdrs, "Host");
	date = slist_value(hdrs, "x-amz-date");
	assert_non_null(host);
	assert_non_null(date);
	assert_string_equal(host, "examplebucket.s3.localhost:4568");
	assert_string_equal(slist_value(hdrs, "x-amz-content-sha256"), S3_EMPTY_SHA256);
	assert_non_null(slist_value(hdrs, "Expect"));
	assert_string_equal(slist_value(hdrs, "Expect"), "");
	assert_int_equal(s3_sign_v4(&c, "HEAD", host, "/p/a%20b", "", S3_EMPTY_SHA256, date, auth, sizeof(auth)), 0);
	assert_string_equal(slist_value(hdrs, "Authorization"), auth);
	curl_slist_free_all(hdrs);

	/* A PUT carries the hash it is given. */
	assert_int_equal(sha256_hex("x", 1, sha), 0);
	assert_int_equal(s3_setup(e, &c, "PUT", "k", sha, 1, &hdrs, err, sizeof(err)), 0);
	assert_string_equal(slist_value(hdrs, "x-amz-content-sha256"), sha);
	assert_non_null(strstr(slist_value(hdrs, "Authorization"), "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"));
	curl_slist_free_all(hdrs);

	/* The refusals. */
	assert_int_equal(s3_setup(e, &c, "PUT", "k", NULL, 1, &hdrs, err, sizeof(err)), -1);
	assert_null(hdrs);
	assert_non_null(strstr(err, "SHA-256"));
	assert_int_equal(s3_setup(e, &c, "PUT", "k", "XYZ", 1, &hdrs, err, sizeof(err)), -1);
	assert_int_equal(s3_setup(e, &c, "POST", "k", NULL, 0, &hdrs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "POST"));
	assert_int_equal(s3_setup(e, &c, "GET", NULL, NULL, 0, &hdrs, err, sizeof(err)), -1);
	strcpy(c.bucket, "NO");
	assert_int_equal(s3_setup(e, &c, "GET", "k", NULL, 0, &hdrs, err, sizeof(err)), -1);
	assert_null(hdrs);

	/* A query goes into the signature too. */
	c = example_conf();
	c.path_style = 1;
	assert_int_equal(s3_setup_query(e, &c, "GET", NULL, "list-type=2&prefix=a%2Fb", NULL, 0, &hdrs, err, sizeof(err)), 0);
	assert_int_equal(s3_sign_v4(&c, "GET", "s3.amazonaws.com", "/examplebucket", "list-type=2&prefix=a%2Fb",
	    S3_EMPTY_SHA256, slist_value(hdrs, "x-amz-date"), auth, sizeof(auth)), 0);
	assert_string_equal(slist_value(hdrs, "Authorization"), auth);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
}

/* Writes text to a new temporary file; returns its path (static buffer). */
static const char *
temp_file(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/test_s3.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Loading text must fail with err starting with "PATH:want_prefix" and holding word. */
static void
cred_err(const char *text, const char *profile, const char *where, const char *word)
{
	struct s3_conf c = example_conf();
	const char *p = temp_file(text);
	char err[512] = "", want[128];

	snprintf(want, sizeof(want), "%s%s", p, where);
	if (s3_credentials_load(&c, p, profile, err, sizeof(err)) == 0)
		fail_msg("loaded:\n%s", text);
	unlink(p);
	if (strncmp(err, want, strlen(want)) != 0 || strstr(err, word) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" or \"%s\"", err, want, word);
	assert_string_equal(c.access_key, AK);
	assert_string_equal(c.secret_key, SK);
}

static void
test_credentials(void **state)
{
	struct s3_conf c;
	const char *p;
	char err[512] = "", big[300];

	(void)state;
	memset(&c, 0, sizeof(c));
	p = temp_file("# comment\n; also\n\n[other]\naws_access_key_id = OTHER\n"
	    "aws_secret_access_key=OTHERSECRET\n  [ default ]  \r\n"
	    "region = us-east-1\naws_access_key_id =  S3RVER \naws_secret_access_key\t=\tS3RVER/+x\r\n");
	assert_int_equal(s3_credentials_load(&c, p, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "S3RVER");
	assert_string_equal(c.secret_key, "S3RVER/+x");
	assert_int_equal(s3_credentials_load(&c, p, "other", err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "OTHER");
	assert_string_equal(c.secret_key, "OTHERSECRET");
	unlink(p);

	cred_err("[default]\naws_access_key_id = A\n", NULL, ": profile [default] has no ", "aws_secret_access_key");
	cred_err("[default]\naws_secret_access_key = A\n", NULL, ": profile [default] has no ", "aws_access_key_id");
	cred_err("[default]\naws_access_key_id = A\naws_secret_access_key = B\n", "prod", ": no profile", "[prod]");
	cred_err("[default]\naws_access_key_id = A\nthis line is wrong\n", NULL, ":3: ", "this line is wrong");
	cred_err("\n[default\naws_access_key_id = A\n", NULL, ":2: ", "']'");
	cred_err("[default]\naws_access_key_id = A B\naws_secret_access_key = B\n", NULL, ":2: ", "space");
	cred_err("[default]\naws_access_key_id =\naws_secret_access_key = B\n", NULL, ":2: ", "empty");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		char text[512];

		snprintf(text, sizeof(text), "[default]\naws_access_key_id = A\naws_secret_access_key = %s\n", big);
		cred_err(text, NULL, ":3: ", "longer than 127");
	}
	/* Keys of another profile are not taken. */
	cred_err("[x]\naws_access_key_id = A\naws_secret_access_key = B\n[default]\naws_access_key_id = C\n",
	    NULL, ": profile [default] has no ", "aws_secret_access_key");
	c = example_conf();
	assert_int_equal(s3_credentials_load(&c, "/nonexistent/credentials", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/credentials"));
	assert_non_null(strstr(err, "No such file"));
}

static void
test_error_message(void **state)
{
	static const char xml[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidAccessKeyId</Code>"
	    "<Message>The AWS Access Key Id you provided does not exist in our records.</Message>"
	    "<AWSAccessKeyId>NOPE</AWSAccessKeyId><RequestId>1</RequestId></Error>";
	static const char odd[] = "<Error><Code>Weird\x01</Code><Message>a &lt;b&gt; &amp; &#x41;&#66;\n"
	    "</Message></Error>";
	struct s3_conf c = example_conf();
	char out[512], tiny[16];

	(void)state;
	strcpy(c.bucket, "b");
	s3_error_message(403, "PUT", &c, "KEY", xml, strlen(xml), out, sizeof(out));
	assert_string_equal(out, "S3 bucket b: PUT KEY: InvalidAccessKeyId: The AWS Access Key Id you provided "
	    "does not exist in our records. (403)");
	strcpy(c.prefix, "vault/");
	s3_error_message(404, "HEAD", &c, "k", NULL, 0, out, sizeof(out));
	assert_string_equal(out, "S3 bucket b: HEAD vault/k: HTTP status 404 (not found), without an S3 error body");
	s3_error_message(500, "GET", &c, NULL, "<html>oops</html>", 17, out, sizeof(out));
	assert_string_equal(out, "S3 bucket b: GET (bucket): HTTP status 500 (server error), without an S3 error body");
	s3_error_message(400, "GET", &c, "k\n", odd, strlen(odd), out, sizeof(out));
	assert_string_equal(out, "S3 bucket b: GET vault/k?: Weird?: a <b> & AB? (400)");
	/* Only the first len bytes count. */
	s3_error_message(403, "PUT", &c, "k", xml, 60, out, sizeof(out));
	assert_non_null(strstr(out, "without an S3 error body"));
	memset(tiny, 'x', sizeof(tiny));
	s3_error_message(403, "PUT", &c, "k", xml, strlen(xml), tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

static void
test_xml_find(void **state)
{
	static const char x[] = "<a><K>one</K><K>t&amp;o</K><B>&bogus;</B><C>x</C><D>unclosed";
	char out[16];
	size_t pos = 0;

	(void)state;
	assert_int_equal(s3_xml_find(x, strlen(x), "K", &pos, out, sizeof(out)), 1);
	assert_string_equal(out, "one");
	assert_int_equal(s3_xml_find(x, strlen(x), "K", &pos, out, sizeof(out)), 1);
	assert_string_equal(out, "t&o");
	assert_int_equal(s3_xml_find(x, strlen(x), "K", &pos, out, sizeof(out)), 0);
	pos = 0;
	assert_int_equal(s3_xml_find(x, strlen(x), "B", &pos, out, sizeof(out)), -1);
	pos = 0;
	assert_int_equal(s3_xml_find(x, strlen(x), "D", &pos, out, sizeof(out)), -1);
	pos = 0;
	assert_int_equal(s3_xml_find(x, strlen(x), "K", &pos, out, 3), -1);
	pos = 0;
	assert_int_equal(s3_xml_find(x, strlen(x), "K", &pos, out, 4), 1);
	pos = 0;
	assert_int_equal(s3_xml_find("<K>&#0;</K>", 11, "K", &pos, out, sizeof(out)), -1);
	pos = 0;
	assert_int_equal(s3_xml_find("<K>&#200;</K>", 13, "K", &pos, out, sizeof(out)), -1);
	pos = 0;
	assert_int_equal(s3_xml_find("<K>a<b</K>", 10, "K", &pos, out, sizeof(out)), -1);
}

struct listed {
	char keys[8][64];
	uint64_t sizes[8];
	int n, stop_at;
};

static int
collect(void *arg, const char *key, uint64_t size)
{
	struct listed *l = arg;

	if (l->n == l->stop_at)
		return 7;
	snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", key);
	l->sizes[l->n++] = size;
	return 0;
}

static void
test_list_parse(void **state)
{
	static const char page1[] =
	    "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><Prefix>v/</Prefix>"
	    "<KeyCount>3</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
	    "<Contents><Key>v/a&amp;b</Key><LastModified>x</LastModified><Size>0</Size></Contents>"
	    "<Contents><Key>v/</Key><Size>0</Size></Contents>"
	    "<Contents><Key>v/c</Key><Size>18446744073709551615</Size></Contents>"
	    "<NextContinuationToken>T+/=</NextContinuationToken></ListBucketResult>";
	static const char last[] = "<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "<Contents><Key>v/z</Key><Size>5242880</Size></Contents></ListBucketResult>";
	struct s3_list_page pg;
	struct listed l = {.stop_at = -1};
	char err[256];

	(void)state;
	assert_int_equal(s3_list_parse(page1, strlen(page1), "v/", collect, &l, &pg, err, sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.keys[0], "a&b");
	assert_int_equal(l.sizes[0], 0);
	assert_string_equal(l.keys[1], "c");
	assert_true(l.sizes[1] == UINT64_MAX);
	assert_int_equal(pg.truncated, 1);
	assert_string_equal(pg.next_token, "T+/=");
	assert_int_equal(s3_list_parse(last, strlen(last), "v/", collect, &l, &pg, err, sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.sizes[2], 5242880);
	assert_int_equal(pg.truncated, 0);
	assert_string_equal(pg.next_token, "");
	assert_int_equal(s3_list_parse("<ListBucketResult/>", 19, "", collect, &l, &pg, err, sizeof(err)), 0);
	assert_int_equal(pg.count, 0);

	/* The callback's stop value comes back. */
	l.n = 0;
	l.stop_at = 1;
	assert_int_equal(s3_list_parse(page1, strlen(page1), "v/", collect, &l, &pg, err, sizeof(err)), 7);
	assert_non_null(strstr(err, "stopped"));
	l.stop_at = -1;

#define BAD(xml, word) do { \
		assert_int_equal(s3_list_parse(xml, strlen(xml), "v/", collect, &l, &pg, err, sizeof(err)), -1); \
		if (strstr(err, word) == NULL) \
			fail_msg("error \"%s\" lacks \"%s\"", err, word); \
	} while (0)
	BAD("<IsTruncated>true</IsTruncated>", "NextContinuationToken");
	BAD("<IsTruncated>true</IsTruncated><NextContinuationToken></NextContinuationToken>", "NextContinuationToken");
	BAD("<Contents><Key>w/a</Key><Size>1</Size></Contents>", "<Key>");
	BAD("<Contents><Size>1</Size></Contents>", "<Key>");
	BAD("<Contents><Key>v/a</Key><Size>-1</Size></Contents>", "<Size>");
	BAD("<Contents><Key>v/a</Key><Size>18446744073709551616</Size></Contents>", "<Size>");
	BAD("<Contents><Key>v/a</Key><Size>1 </Size></Contents>", "<Size>");
	BAD("<Contents><Key>v/a</Key><Size>1</Size>", "not closed");
#undef BAD
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aws_get_object),
		cmocka_unit_test(test_aws_put_object),
		cmocka_unit_test(test_aws_bucket_requests),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_sign_errors),
		cmocka_unit_test(test_sign_alloc_fail),
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_setup),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_xml_find),
		cmocka_unit_test(test_list_parse),
	};

	return cmocka_run_group_tests_name("s3", tests, NULL, NULL);
}
