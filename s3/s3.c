/*
 * S3 requests: SigV4 signing, URL building, easy-handle set-up, error
 * sentences and the small XML scanner they share (s3.h).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "s3.h"

#define HMAC_LEN 32
#define SIGN_HEADERS_MAX 32
/* "AWS4" + secret: the first key of the signing-key chain. */
#define AWS4_PREFIX "AWS4"
#define SCOPE_TERM "aws4_request"

/* A header to sign: name in lowercase, value as sent. */
struct s3_header {
	const char *name;
	const char *value;
};

/* A growing string; oom is set once an append fails, and sticks. */
struct sb {
	char *p;
	size_t len, cap;
	int oom;
};

static void
sb_add(struct sb *b, const char *s, size_t n)
{
	size_t ncap;
	char *np;

	if (b->oom)
		return;
	if (b->cap - b->len <= n) {
		ncap = b->cap ? b->cap : 256;
		while (ncap - b->len <= n) {
			if (ncap > SIZE_MAX / 2) {
				b->oom = 1;
				return;
			}
			ncap *= 2;
		}
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
sha256_hex(const void *buf, size_t len, char out[S3_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	hex(md, mdlen, out);
	return 0;
}

static int
hmac(const void *key, size_t keylen, const char *msg, size_t msglen, unsigned char out[HMAC_LEN])
{
	unsigned int outlen = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, msglen, out, &outlen) == NULL ||
	    outlen != HMAC_LEN)
		return -1;
	return 0;
}

static int
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < S3_SHA256_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* "YYYYMMDDTHHMMSSZ", digits where digits belong. */
static int
is_amz_date(const char *d)
{
	size_t i;

	if (strlen(d) != S3_AMZ_DATE_LEN || d[S3_DATE_LEN] != 'T' || d[S3_AMZ_DATE_LEN - 1] != 'Z')
		return 0;
	for (i = 0; i < S3_AMZ_DATE_LEN - 1; i++)
		if (i != S3_DATE_LEN && !isdigit((unsigned char)d[i]))
			return 0;
	return 1;
}

/* The value of a header as SigV4 canonicalises it: trimmed, space runs folded. */
static void
sb_header_value(struct sb *b, const char *v)
{
	const char *e;
	int space = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	e = v + strlen(v);
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (; v < e; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space)
			sb_add(b, " ", 1);
		space = 0;
		sb_add(b, v, 1);
	}
}

static int
header_name_ok(const char *n)
{
	if (*n == '\0')
		return 0;
	for (; *n; n++)
		if (!(islower((unsigned char)*n) || isdigit((unsigned char)*n) || *n == '-'))
			return 0;
	return 1;
}

/*
 * The canonical request: method, URI, query, the sorted headers each as
 * "name:value\n", the signed-header list, the payload hash; signed is the
 * header list alone, also used in the Authorization value.
 */
static int
canonical_request(struct sb *cr, struct sb *signed_hdrs, const char *method, const char *uri,
    const char *query, const struct s3_header *h, size_t n, const char *payload)
{
	size_t order[SIGN_HEADERS_MAX], i, j, t;

	for (i = 0; i < n; i++)
		order[i] = i;
	/* Insertion sort: n is tiny, and names must be unique anyway. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(h[order[j - 1]].name, h[order[j]].name) > 0; j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (i = 1; i < n; i++)
		if (strcmp(h[order[i - 1]].name, h[order[i]].name) == 0)
			return -1;
	sb_str(cr, method);
	sb_str(cr, "\n");
	sb_str(cr, uri);
	sb_str(cr, "\n");
	sb_str(cr, query);
	sb_str(cr, "\n");
	for (i = 0; i < n; i++) {
		sb_str(cr, h[order[i]].name);
		sb_str(cr, ":");
		sb_header_value(cr, h[order[i]].value);
		sb_str(cr, "\n");
		if (i > 0)
			sb_str(signed_hdrs, ";");
		sb_str(signed_hdrs, h[order[i]].name);
	}
	if (signed_hdrs->oom)
		return -1;
	sb_str(cr, "\n");
	sb_str(cr, signed_hdrs->p);
	sb_str(cr, "\n");
	sb_str(cr, payload);
	return cr->oom || signed_hdrs->oom ? -1 : 0;
}

/* HMAC chain: AWS4+secret -> date -> region -> service -> aws4_request. */
static int
signing_key(const struct s3_conf *c, const char *date, unsigned char key[HMAC_LEN])
{
	char first[sizeof(AWS4_PREFIX) + sizeof(c->secret_key)];
	unsigned char k[HMAC_LEN];
	int n, rc = -1;

	n = snprintf(first, sizeof(first), "%s%s", AWS4_PREFIX, c->secret_key);
	if (n < 0 || (size_t)n >= sizeof(first))
		goto done;
	if (hmac(first, (size_t)n, date, S3_DATE_LEN, k) != 0 ||
	    hmac(k, HMAC_LEN, c->region, strlen(c->region), k) != 0 ||
	    hmac(k, HMAC_LEN, S3_SERVICE, strlen(S3_SERVICE), k) != 0 ||
	    hmac(k, HMAC_LEN, SCOPE_TERM, strlen(SCOPE_TERM), key) != 0)
		goto done;
	rc = 0;
done:
	OPENSSL_cleanse(first, sizeof(first));
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

/*
 * s3_sign_v4 over any set of headers (which must include host,
 * x-amz-content-sha256 and x-amz-date; any order, sorted here; values are
 * trimmed and inner runs of spaces folded, as SigV4 says). payload_sha256_hex
 * may also be "UNSIGNED-PAYLOAD". Returns 0, or -1 as s3_sign_v4, or when n
 * is 0 or over 32, a name is not lowercase, or memory runs out.
 */
static int
s3_sign_v4_headers(const struct s3_conf *c, const char *method, const char *canonical_uri,
    const char *canonical_query, const struct s3_header *h, size_t n,
    const char *payload_sha256_hex, const char *amz_date, char *auth, size_t authlen)
{
	struct sb cr = {0}, sh = {0}, sts = {0};
	char date[S3_DATE_LEN + 1], crhash[S3_SHA256_HEX_LEN + 1], sighex[2 * HMAC_LEN + 1];
	unsigned char key[HMAC_LEN], sig[HMAC_LEN];
	size_t i;
	int len, rc = -1;

	if (n == 0 || n > SIGN_HEADERS_MAX || !is_amz_date(amz_date) ||
	    !(is_hex64(payload_sha256_hex) || strcmp(payload_sha256_hex, "UNSIGNED-PAYLOAD") == 0))
		return -1;
	for (i = 0; i < n; i++)
		if (!header_name_ok(h[i].name))
			return -1;
	memcpy(date, amz_date, S3_DATE_LEN);
	date[S3_DATE_LEN] = '\0';
	if (canonical_request(&cr, &sh, method, canonical_uri, canonical_query ? canonical_query : "",
	    h, n, payload_sha256_hex) != 0 || sha256_hex(cr.p, cr.len, crhash) != 0)
		goto done;
	/* String to sign: algorithm, time, scope, hash of the canonical request. */
	sb_str(&sts, S3_ALGORITHM "\n");
	sb_str(&sts, amz_date);
	sb_str(&sts, "\n");
	sb_str(&sts, date);
	sb_str(&sts, "/");
	sb_str(&sts, c->region);
	sb_str(&sts, "/" S3_SERVICE "/" SCOPE_TERM "\n");
	sb_str(&sts, crhash);
	if (sts.oom || signing_key(c, date, key) != 0 || hmac(key, HMAC_LEN, sts.p, sts.len, sig) != 0)
		goto done;
	hex(sig, HMAC_LEN, sighex);
	len = snprintf(auth, authlen, S3_ALGORITHM " Credential=%s/%s/%s/" S3_SERVICE "/" SCOPE_TERM
	    ",SignedHeaders=%s,Signature=%s", c->access_key, date, c->region, sh.p, sighex);
	if (len < 0 || (size_t)len >= authlen)
		goto done;
	rc = 0;
done:
	OPENSSL_cleanse(key, sizeof(key));
	free(cr.p);
	free(sh.p);
	free(sts.p);
	return rc;
}

/*
 * AWS Signature Version 4 over the given parts: fills the Authorization
 * header value "AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/s3/aws4_request,
 * SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=HEX". Pure
 * function (no clock): amz_date is "YYYYMMDDTHHMMSSZ". canonical_uri is the
 * encoded path, canonical_query the sorted, encoded query ("" for none).
 * Returns 0, or -1 on a malformed date or hash, or when auth is too small.
 */
static int
s3_sign_v4(const struct s3_conf *c, const char *method, const char *host, const char *canonical_uri,
    const char *canonical_query, const char *payload_sha256_hex, const char *amz_date,
    char *auth, size_t authlen)
{
	struct s3_header h[3] = {
		{"host", host},
		{"x-amz-content-sha256", payload_sha256_hex},
		{"x-amz-date", amz_date},
	};

	return s3_sign_v4_headers(c, method, canonical_uri, canonical_query, h, 3,
	    payload_sha256_hex, amz_date, auth, authlen);
}

int
s3_uri_encode(const char *in, int keep_slash, char *out, size_t outlen)
{
	static const char digits[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t o = 0;

	for (p = (const unsigned char *)in; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
		    (keep_slash && *p == '/')) {
			if (outlen - o < 2)
				return -1;
			out[o++] = (char)*p;
		} else {
			if (outlen - o < 4)
				return -1;
			out[o++] = '%';
			out[o++] = digits[*p >> 4];
			out[o++] = digits[*p & 15];
		}
	}
	if (outlen - o < 1)
		return -1;
	out[o] = '\0';
	return 0;
}

static int
bucket_ok(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-' || b[i] == '.'))
			return 0;
	return 1;
}

/* Splits "http[s]://HOST[:PORT][/]" into *scheme_len ("http://" or "https://") and the host part. */
static int
endpoint_split(const char *ep, size_t *scheme_len, char *hostport, size_t hplen)
{
	const char *h, *e;
	size_t n, i;

	if (strncmp(ep, "http://", 7) == 0)
		*scheme_len = 7;
	else if (strncmp(ep, "https://", 8) == 0)
		*scheme_len = 8;
	else
		return -1;
	h = ep + *scheme_len;
	e = h + strlen(h);
	if (e > h && e[-1] == '/')
		e--;
	n = (size_t)(e - h);
	if (n == 0 || n >= hplen)
		return -1;
	/* A host name, an IPv4 address or [IPv6], and a port: no path, userinfo or query. */
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)h[i]) || strchr("-.:[]_", h[i]) != NULL))
			return -1;
	memcpy(hostport, h, n);
	hostport[n] = '\0';
	return 0;
}

int
s3_target(const struct s3_conf *c, const char *key, struct s3_target *t, char *err, size_t errlen)
{
	char hostport[S3_HOST_MAX], full[S3_KEY_MAX + 1], enc[3 * S3_KEY_MAX + 1];
	size_t sl;
	int n;

	if (!bucket_ok(c->bucket)) {
		seterr(err, errlen, "S3 bucket name \"%s\" is not 3 to 63 bytes of a-z, 0-9, '.' and '-'", c->bucket);
		return -1;
	}
	if (endpoint_split(c->endpoint, &sl, hostport, sizeof(hostport)) != 0) {
		seterr(err, errlen, "S3 endpoint \"%s\" is not http[s]://HOST[:PORT]", c->endpoint);
		return -1;
	}
	if (!c->path_style && (hostport[0] == '[' || strspn(hostport, "0123456789.") == strcspn(hostport, ":"))) {
		seterr(err, errlen, "S3 endpoint %s: virtual-host style needs a host name, not an IP address", c->endpoint);
		return -1;
	}
	if (key != NULL) {
		n = snprintf(full, sizeof(full), "%s%s", c->prefix, key);
		if (*key == '\0' || n < 0 || (size_t)n >= sizeof(full)) {
			seterr(err, errlen, "S3 bucket %s: key \"%.64s\" is empty or, with the prefix, over 1024 bytes", c->bucket, key);
			return -1;
		}
		if (s3_uri_encode(full, 1, enc, sizeof(enc)) != 0)
			return -1;
	} else {
		enc[0] = '\0';
	}
	if (c->path_style) {
		n = snprintf(t->host, sizeof(t->host), "%s", hostport);
		if (n >= 0 && (size_t)n < sizeof(t->host))
			n = snprintf(t->uri, sizeof(t->uri), "/%s%s%s", c->bucket, key ? "/" : "", enc);
	} else {
		n = snprintf(t->host, sizeof(t->host), "%s.%s", c->bucket, hostport);
		if (n >= 0 && (size_t)n < sizeof(t->host))
			n = snprintf(t->uri, sizeof(t->uri), "/%s", enc);
	}
	if (n < 0 || (size_t)n >= sizeof(t->uri))
		goto toolong;
	n = snprintf(t->url, sizeof(t->url), "%.*s%s%s", (int)sl, c->endpoint, t->host, t->uri);
	if (n < 0 || (size_t)n >= sizeof(t->url))
		goto toolong;
	return 0;
toolong:
	seterr(err, errlen, "S3 bucket %s: the URL of key \"%.64s\" is too long", c->bucket, key ? key : "");
	return -1;
}

/* Appends "Name: value" to *list; 0 or -1. */
static int
add_header(struct curl_slist **list, const char *name, const char *value)
{
	char line[S3_AUTH_MAX + 64];
	struct curl_slist *n;
	int len;

	len = snprintf(line, sizeof(line), "%s: %s", name, value);
	if (len < 0 || (size_t)len >= sizeof(line))
		return -1;
	if ((n = curl_slist_append(*list, line)) == NULL)
		return -1;
	*list = n;
	return 0;
}

/* Method options, each resetting what an earlier request on e set. */
static int
set_method(CURL *e, const char *method, uint64_t content_length)
{
	CURLcode rc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);

	if (rc == CURLE_OK)
		rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
	if (rc != CURLE_OK)
		return -1;
	if (strcmp(method, "GET") == 0)
		return 0;
	if (strcmp(method, "HEAD") == 0)
		return curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK ? 0 : -1;
	if (strcmp(method, "DELETE") == 0)
		return curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE") == CURLE_OK ? 0 : -1;
	if (strcmp(method, "PUT") == 0) {
		if (content_length > (uint64_t)INT64_MAX)
			return -1;
		if (curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)content_length) != CURLE_OK)
			return -1;
		return 0;
	}
	return -1;
}

static int
now_amz_date(char out[S3_AMZ_DATE_LEN + 1])
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL)
		return -1;
	return strftime(out, S3_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) == S3_AMZ_DATE_LEN ? 0 : -1;
}

int
s3_setup_query(CURL *e, const struct s3_conf *c, const char *method, const char *key,
    const char *query, const char *payload_sha256_hex, uint64_t content_length,
    struct curl_slist **hdrs, char *err, size_t errlen)
{
	struct s3_target *t;
	struct curl_slist *list = NULL;
	char date[S3_AMZ_DATE_LEN + 1], auth[S3_AUTH_MAX];
	const char *payload = payload_sha256_hex ? payload_sha256_hex : S3_EMPTY_SHA256;
	const char *q = query ? query : "";
	char *url = NULL;
	size_t ul;

	*hdrs = NULL;
	if (strcmp(method, "PUT") != 0 && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    strcmp(method, "DELETE") != 0) {
		seterr(err, errlen, "S3: method %s is not PUT, GET, HEAD or DELETE", method);
		return -1;
	}
	if ((payload_sha256_hex == NULL && strcmp(method, "PUT") == 0 && content_length > 0) ||
	    !is_hex64(payload)) {
		seterr(err, errlen, "S3 bucket %s: %s needs the body's SHA-256 as 64 lowercase hex digits", c->bucket, method);
		return -1;
	}
	if ((t = malloc(sizeof(*t))) == NULL) {
		seterr(err, errlen, "S3 bucket %s: %s: out of memory", c->bucket, method);
		return -1;
	}
	if (s3_target(c, key, t, err, errlen) != 0)
		goto fail;
	ul = strlen(t->url) + 1 + strlen(q) + 1;
	if ((url = malloc(ul)) == NULL)
		goto oom;
	snprintf(url, ul, "%s%s%s", t->url, *q ? "?" : "", q);
	if (now_amz_date(date) != 0 ||
	    s3_sign_v4(c, method, t->host, t->uri, q, payload, date, auth, sizeof(auth)) != 0) {
		seterr(err, errlen, "S3 bucket %s: %s: cannot sign the request (check the region and keys)", c->bucket, method);
		goto fail;
	}
	/* Host is set here so that what is signed is what libcurl sends. */
	if (add_header(&list, "Host", t->host) != 0 || add_header(&list, "x-amz-date", date) != 0 ||
	    add_header(&list, "x-amz-content-sha256", payload) != 0 ||
	    add_header(&list, "Authorization", auth) != 0 || (list = curl_slist_append(list, "Expect:")) == NULL)
		goto oom;
	if (set_method(e, method, content_length) != 0 ||
	    curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list) != CURLE_OK) {
		seterr(err, errlen, "S3 bucket %s: %s: libcurl refused an option", c->bucket, method);
		goto fail;
	}
	OPENSSL_cleanse(auth, sizeof(auth));
	free(url);
	free(t);
	*hdrs = list;
	return 0;
oom:
	seterr(err, errlen, "S3 bucket %s: %s: out of memory", c->bucket, method);
fail:
	OPENSSL_cleanse(auth, sizeof(auth));
	curl_slist_free_all(list);
	free(url);
	free(t);
	return -1;
}

int
s3_setup(CURL *e, const struct s3_conf *c, const char *method, const char *key,
    const char *payload_sha256_hex, uint64_t content_length, struct curl_slist **hdrs,
    char *err, size_t errlen)
{
	if (key == NULL) {
		*hdrs = NULL;
		seterr(err, errlen, "S3 bucket %s: %s without a key", c->bucket, method);
		return -1;
	}
	return s3_setup_query(e, c, method, key, NULL, payload_sha256_hex, content_length, hdrs, err, errlen);
}

/* Decodes one entity at p (after '&', up to ';') into *ch; returns its length past '&' or 0. */
static size_t
xml_entity(const char *p, size_t n, char *ch)
{
	static const struct {
		const char *name;
		char ch;
	} named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	unsigned long v = 0;
	size_t i, l;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		l = strlen(named[i].name);
		if (n >= l && memcmp(p, named[i].name, l) == 0) {
			*ch = named[i].ch;
			return l;
		}
	}
	if (n < 3 || p[0] != '#')
		return 0;
	if (p[1] == 'x') {
		for (i = 2; i < n && i < 8 && isxdigit((unsigned char)p[i]); i++)
			v = v * 16 + (unsigned long)(isdigit((unsigned char)p[i]) ? p[i] - '0' : (tolower((unsigned char)p[i]) - 'a' + 10));
		if (i == 2)
			return 0;
	} else {
		for (i = 1; i < n && i < 8 && isdigit((unsigned char)p[i]); i++)
			v = v * 10 + (unsigned long)(p[i] - '0');
		if (i == 1)
			return 0;
	}
	/* Only ASCII, and no NUL: a key with other bytes arrives as UTF-8 text. */
	if (i >= n || p[i] != ';' || v == 0 || v > 127)
		return 0;
	*ch = (char)v;
	return i + 1;
}

int
s3_xml_find(const char *body, size_t len, const char *name, size_t *pos, char *out, size_t outlen)
{
	char open[72], close[72];
	const char *s, *e, *p;
	size_t o = 0, k;
	char ch;

	if (*pos > len || outlen == 0 || strlen(name) > 64)
		return -1;
	snprintf(open, sizeof(open), "<%s>", name);
	snprintf(close, sizeof(close), "</%s>", name);
	if ((s = memmem(body + *pos, len - *pos, open, strlen(open))) == NULL)
		return 0;
	s += strlen(open);
	if ((e = memmem(s, len - (size_t)(s - body), close, strlen(close))) == NULL)
		return -1;
	for (p = s; p < e; p++) {
		ch = *p;
		if (ch == '\0' || ch == '<')
			return -1;
		if (ch == '&') {
			if ((k = xml_entity(p + 1, (size_t)(e - p - 1), &ch)) == 0)
				return -1;
			p += k;
		}
		if (outlen - o < 2)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	*pos = (size_t)(e - body) + strlen(close);
	return 1;
}

/* Replaces bytes that are not printable ASCII by '?'. */
static void
printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* What a bare status most likely means; a HEAD answer has only that to go on. */
static const char *
status_hint(long status)
{
	switch (status) {
	case 301: case 307: return " (a redirect: the bucket is in another region or at another endpoint)";
	case 400: return " (bad request)";
	case 403: return " (access denied: wrong keys, region or clock, or no permission)";
	case 404: return " (not found)";
	case 503: return " (slow down or unavailable)";
	default: return status >= 500 ? " (server error)" : "";
	}
}

void
s3_error_message(long status, const char *method, const struct s3_conf *c, const char *key,
    const char *body, size_t len, char *out, size_t outlen)
{
	char code[128], msg[512], full[S3_KEY_MAX + 1];
	size_t pos = 0;

	if (out == NULL || outlen == 0)
		return;
	if (key != NULL)
		snprintf(full, sizeof(full), "%s%s", c->prefix, key);
	else
		snprintf(full, sizeof(full), "(bucket)");
	printable(full);
	if (body == NULL || s3_xml_find(body, len, "Code", &pos, code, sizeof(code)) != 1) {
		seterr(out, outlen, "S3 bucket %s: %s %s: HTTP status %ld%s, without an S3 error body",
		    c->bucket, method, full, status, status_hint(status));
		return;
	}
	pos = 0;
	if (s3_xml_find(body, len, "Message", &pos, msg, sizeof(msg)) != 1)
		msg[0] = '\0';
	printable(code);
	printable(msg);
	seterr(out, outlen, "S3 bucket %s: %s %s: %s%s%s (%ld)", c->bucket, method, full, code,
	    msg[0] ? ": " : "", msg, status);
}
