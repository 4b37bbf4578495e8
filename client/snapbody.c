/*
 * The snapshot body (spec/tree.md 5 and 6): JSON sealed under the index key
 * with the envelope header as associated data, and the group label.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "tree.h"

#define SNAPBODY_VERSION VC_SNAPBODY_VERSION
#define SNAPBODY_NONCE_OFF 0
#define SNAPBODY_CT_OFF (SNAPBODY_NONCE_OFF + VC_NONCE_LEN)
#define HEX_ID_LEN (2 * VC_ID_LEN)
#define NSEC_PER_SEC 1000000000U
#define GROUP_DOMAIN "vault group v1"  /* hashed with its NUL */

_Static_assert(VC_SNAPBODY_OVERHEAD == SNAPBODY_CT_OFF + VC_TAG_LEN, "overhead");
_Static_assert(sizeof(json_int_t) == 8, "JSON integers are int64");

/* Whether s is UTF-8 as RFC 3629 has it (no overlong forms, no surrogates,
 * nothing past U+10FFFF): what jansson's parser accepts back. */
static int
utf8_ok(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s != 0) {
		unsigned c = *s++, n, min;
		uint32_t cp;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1; min = 0x80; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; min = 0x800; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; min = 0x10000; cp = c & 0x07;
		} else {
			return 0;
		}
		for (; n > 0; n--, s++) {
			if ((*s & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (*s & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	return 1;
}

static int
strings_ok(char *const *s, size_t n, int absolute)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == NULL || !utf8_ok(s[i]) || (absolute && s[i][0] != '/'))
			return 0;
	return 1;
}

/* Every rule of spec/tree.md 5 that the writer can break. */
static int
snapbody_ok(const struct vc_snapbody *b)
{
	uint64_t sum = 0;

	if (b->hostname == NULL || b->username == NULL || !utf8_ok(b->hostname) ||
	    !utf8_ok(b->username) || !strings_ok(b->paths, b->npaths, 1) ||
	    !strings_ok(b->tags, b->ntags, 0))
		return 0;
	if (b->time_nsec >= NSEC_PER_SEC || b->tree_size > INT64_MAX ||
	    b->files > INT64_MAX || b->dirs > INT64_MAX || b->bytes > INT64_MAX ||
	    b->errors > INT64_MAX || b->seq > INT64_MAX || b->nprev > VC_SNAPBODY_PREV_MAX)
		return 0;
	for (size_t i = 0; i < b->ntree; i++) {
		if (b->tree[i].len == 0 || b->tree[i].len > VC_CHUNK_MAX ||
		    UINT64_MAX - sum < b->tree[i].len)
			return 0;
		sum += b->tree[i].len;
	}
	return sum == b->tree_size;
}

static json_t *
hex_id(const uint8_t id[VC_ID_LEN])
{
	char hex[HEX_ID_LEN + 1];

	sodium_bin2hex(hex, sizeof(hex), id, VC_ID_LEN);
	return json_stringn_nocheck(hex, HEX_ID_LEN);
}

static json_t *
id_array(const uint8_t (*ids)[VC_ID_LEN], size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, hex_id(ids[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

static json_t *
string_array(char *const *s, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string_nocheck(s[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

static json_t *
tree_array(const struct vc_chunk_ref *t, size_t n)
{
	json_t *a = json_array(), *o;

	for (size_t i = 0; a != NULL && i < n; i++) {
		o = json_object();
		if (o == NULL || json_object_set_new(o, "id", hex_id(t[i].id)) != 0 ||
		    json_object_set_new(o, "len", json_integer(t[i].len)) != 0 ||
		    json_array_append_new(a, o) != 0) {
			json_decref(o);
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/* The JSON object of b, members in the order of spec/tree.md 5; NULL when
 * out of memory (json_object_set_new takes a NULL value as a failure). */
static json_t *
snapbody_object(const struct vc_snapbody *b)
{
	json_t *o = json_object();

	if (o == NULL ||
	    json_object_set_new(o, "version", json_integer(SNAPBODY_VERSION)) != 0 ||
	    json_object_set_new(o, "tree_version", json_integer(VC_TREE_VERSION)) != 0 ||
	    json_object_set_new(o, "time", json_integer(b->time)) != 0 ||
	    json_object_set_new(o, "time_nsec", json_integer(b->time_nsec)) != 0 ||
	    json_object_set_new(o, "hostname", json_string_nocheck(b->hostname)) != 0 ||
	    json_object_set_new(o, "username", json_string_nocheck(b->username)) != 0 ||
	    json_object_set_new(o, "paths", string_array(b->paths, b->npaths)) != 0 ||
	    json_object_set_new(o, "tags", string_array(b->tags, b->ntags)) != 0 ||
	    json_object_set_new(o, "parent", b->has_parent ? hex_id(b->parent) :
	    json_null()) != 0 ||
	    json_object_set_new(o, "tree", tree_array(b->tree, b->ntree)) != 0 ||
	    json_object_set_new(o, "tree_size", json_integer((json_int_t)b->tree_size)) != 0 ||
	    json_object_set_new(o, "files", json_integer((json_int_t)b->files)) != 0 ||
	    json_object_set_new(o, "dirs", json_integer((json_int_t)b->dirs)) != 0 ||
	    json_object_set_new(o, "bytes", json_integer((json_int_t)b->bytes)) != 0 ||
	    json_object_set_new(o, "errors", json_integer((json_int_t)b->errors)) != 0 ||
	    json_object_set_new(o, "seq", json_integer((json_int_t)b->seq)) != 0 ||
	    json_object_set_new(o, "prev", id_array(b->prev, b->nprev)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
vc_snapbody_json(const struct vc_snapbody *b, char **json, size_t *len)
{
	json_t *o;
	size_t n;
	char *s;
	int rc = VC_E_NOMEM;

	*json = NULL;
	*len = 0;
	if (!snapbody_ok(b))
		return VC_E_CORRUPT;
	if ((o = snapbody_object(b)) == NULL)
		return VC_E_NOMEM;
	/* Measure, then write into a buffer of our own of exactly that size,
	 * so that the caller frees it with free() whatever jansson uses. */
	if ((n = json_dumpb(o, NULL, 0, JSON_COMPACT)) == 0)
		goto err0;
	if (n > VC_SNAPBODY_JSON_MAX) {
		rc = VC_E_TOOBIG;
		goto err0;
	}
	if ((s = malloc(n + 1)) == NULL)
		goto err0;
	if (json_dumpb(o, s, n, JSON_COMPACT) != n) {
		free(s);
		goto err0;
	}
	s[n] = '\0';
	json_decref(o);
	*json = s;
	*len = n;
	return VC_OK;

err0:
	json_decref(o);
	return rc;
}

size_t
vc_snapbody_sealed_len(size_t json_len)
{
	if (json_len > VC_SNAPBODY_JSON_MAX)
		return SIZE_MAX;
	return VC_SNAPBODY_OVERHEAD + json_len;
}

int
vc_snapbody_seal(const struct vc_keys *keys, const uint8_t *hdr, size_t hdr_len,
    const char *json, size_t json_len, const uint8_t *nonce, uint8_t **out, size_t *outlen)
{
	size_t len;
	uint8_t *b;

	*out = NULL;
	*outlen = 0;
	if (json_len > VC_SNAPBODY_JSON_MAX)
		return VC_E_TOOBIG;
	len = vc_snapbody_sealed_len(json_len);
	if ((b = malloc(len)) == NULL)
		return VC_E_NOMEM;
	if (nonce != NULL)
		memcpy(&b[SNAPBODY_NONCE_OFF], nonce, VC_NONCE_LEN);
	else
		randombytes_buf(&b[SNAPBODY_NONCE_OFF], VC_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(&b[SNAPBODY_CT_OFF], NULL,
	    (const uint8_t *)json, json_len, hdr, hdr_len, NULL, &b[SNAPBODY_NONCE_OFF],
	    keys->index);
	*out = b;
	*outlen = len;
	return VC_OK;
}

/* A copy of s in a malloc'ed buffer. */
static char *
dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

/* Member key of o as an integer in [min, max] into *v. */
static int
get_int(const json_t *o, const char *key, json_int_t min, json_int_t max, json_int_t *v)
{
	const json_t *m = json_object_get(o, key);

	if (!json_is_integer(m))
		return VC_E_CORRUPT;
	*v = json_integer_value(m);
	return *v >= min && *v <= max ? VC_OK : VC_E_CORRUPT;
}

static int
get_u64(const json_t *o, const char *key, uint64_t *v)
{
	json_int_t i = 0;
	int rc = get_int(o, key, 0, INT64_MAX, &i);

	*v = rc == VC_OK ? (uint64_t)i : 0;
	return rc;
}

/* A 64-digit lowercase hex string into id. */
static int
get_id(const json_t *m, uint8_t id[VC_ID_LEN])
{
	const char *s;

	if (!json_is_string(m) || json_string_length(m) != HEX_ID_LEN)
		return VC_E_CORRUPT;
	s = json_string_value(m);
	for (size_t i = 0; i < HEX_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return VC_E_CORRUPT;
	if (sodium_hex2bin(id, VC_ID_LEN, s, HEX_ID_LEN, NULL, NULL, NULL) != 0)
		return VC_E_CORRUPT;
	return VC_OK;
}

static int
get_str(const json_t *o, const char *key, char **out)
{
	const json_t *m = json_object_get(o, key);

	if (!json_is_string(m))
		return VC_E_CORRUPT;
	return (*out = dup_str(json_string_value(m))) != NULL ? VC_OK : VC_E_NOMEM;
}

/* Array member key of strings into *out (*n entries); absolute: each must
 * begin with '/'. */
static int
get_strings(const json_t *o, const char *key, int absolute, char ***out, size_t *n)
{
	const json_t *a = json_object_get(o, key), *m;
	size_t i;

	if (!json_is_array(a))
		return VC_E_CORRUPT;
	json_array_foreach(a, i, m) {
		if (!json_is_string(m) || (absolute && json_string_value(m)[0] != '/'))
			return VC_E_CORRUPT;
	}
	if ((*out = malloc((json_array_size(a) + 1) * sizeof(**out))) == NULL)
		return VC_E_NOMEM;
	json_array_foreach(a, i, m) {
		if (((*out)[i] = dup_str(json_string_value(m))) == NULL)
			return VC_E_NOMEM;
		*n = i + 1;
	}
	return VC_OK;
}

/* The "tree" array, whose lengths must add up to tree_size. */
static int
get_tree(const json_t *o, struct vc_snapbody *b)
{
	const json_t *a = json_object_get(o, "tree"), *m;
	uint64_t sum = 0;
	json_int_t len;
	size_t i;

	if (!json_is_array(a))
		return VC_E_CORRUPT;
	if ((b->tree = malloc((json_array_size(a) + 1) * sizeof(*b->tree))) == NULL)
		return VC_E_NOMEM;
	json_array_foreach(a, i, m) {
		if (!json_is_object(m) || get_id(json_object_get(m, "id"), b->tree[i].id) != 0 ||
		    get_int(m, "len", 1, VC_CHUNK_MAX, &len) != 0)
			return VC_E_CORRUPT;
		b->tree[i].len = (uint32_t)len;
		sum += (uint64_t)len;   /* the array is < 64 MiB: no overflow */
		b->ntree = i + 1;
	}
	if (get_u64(o, "tree_size", &b->tree_size) != 0 || b->tree_size != sum)
		return VC_E_CORRUPT;
	return VC_OK;
}

/* The "prev" array of a version 2 body. */
static int
get_prev(const json_t *o, struct vc_snapbody *b)
{
	const json_t *a = json_object_get(o, "prev"), *m;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) > VC_SNAPBODY_PREV_MAX)
		return VC_E_CORRUPT;
	if ((b->prev = malloc((json_array_size(a) + 1) * sizeof(*b->prev))) == NULL)
		return VC_E_NOMEM;
	json_array_foreach(a, i, m) {
		if (get_id(m, b->prev[i]) != 0)
			return VC_E_CORRUPT;
		b->nprev = i + 1;
	}
	return VC_OK;
}

#define TRY(x) do { int rc_ = (x); if (rc_ != 0) return rc_; } while (0)

/* The members of the body's object into *b (zeroed by the caller). */
static int
parse_body(const json_t *o, struct vc_snapbody *b)
{
	const json_t *parent;
	json_int_t v;

	if (!json_is_object(o))
		return VC_E_CORRUPT;
	TRY(get_int(o, "version", INT64_MIN, INT64_MAX, &v));
	if (v != 1 && v != SNAPBODY_VERSION)
		return VC_E_UNSUPPORTED;
	b->version = (unsigned)v;
	TRY(get_int(o, "tree_version", INT64_MIN, INT64_MAX, &v));
	if (v < VC_TREE_VERSION_MIN || v > VC_TREE_VERSION)
		return VC_E_UNSUPPORTED;
	b->tree_version = (unsigned)v;
	TRY(get_int(o, "time", INT64_MIN, INT64_MAX, &v));
	b->time = v;
	TRY(get_int(o, "time_nsec", 0, NSEC_PER_SEC - 1, &v));
	b->time_nsec = (uint32_t)v;
	TRY(get_str(o, "hostname", &b->hostname));
	TRY(get_str(o, "username", &b->username));
	TRY(get_strings(o, "paths", 1, &b->paths, &b->npaths));
	TRY(get_strings(o, "tags", 0, &b->tags, &b->ntags));
	parent = json_object_get(o, "parent");
	if (!json_is_null(parent)) {
		TRY(get_id(parent, b->parent));
		b->has_parent = 1;
	}
	TRY(get_tree(o, b));
	TRY(get_u64(o, "files", &b->files));
	TRY(get_u64(o, "dirs", &b->dirs));
	TRY(get_u64(o, "bytes", &b->bytes));
	TRY(get_u64(o, "errors", &b->errors));
	if (b->version >= 2) {
		TRY(get_u64(o, "seq", &b->seq));
		TRY(get_prev(o, b));
	}
	return VC_OK;
}

int
vc_snapbody_open(const struct vc_keys *keys, const uint8_t *hdr, size_t hdr_len,
    const uint8_t *body, size_t body_len, struct vc_snapbody *b)
{
	json_error_t err;
	uint8_t *plain;
	size_t plen;
	json_t *doc;
	int rc;

	memset(b, 0, sizeof(*b));
	if (body_len < VC_SNAPBODY_OVERHEAD)
		return VC_E_CORRUPT;
	plen = body_len - VC_SNAPBODY_OVERHEAD;
	if (plen > VC_SNAPBODY_JSON_MAX)
		return VC_E_TOOBIG;
	if ((plain = malloc(plen > 0 ? plen : 1)) == NULL)
		return VC_E_NOMEM;
	/* Authenticate before parsing (STYLE.md 10). */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, &body[SNAPBODY_CT_OFF],
	    body_len - SNAPBODY_CT_OFF, hdr, hdr_len, &body[SNAPBODY_NONCE_OFF],
	    keys->index) != 0) {
		rc = VC_E_AUTH;
		goto err0;
	}
	/*
	 * No JSON_ALLOW_NUL: the strings we hand out are NUL-terminated.
	 * jansson 2.14 sets an error text for every parse error but none when
	 * an allocation fails (and then leaves the code byte alone, hence the
	 * memset), so an empty text is out of memory.
	 */
	memset(&err, 0, sizeof(err));
	if ((doc = json_loadb((const char *)plain, plen, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		rc = json_error_code(&err) == json_error_out_of_memory || err.text[0] == '\0' ?
		    VC_E_NOMEM : VC_E_CORRUPT;
		goto err0;
	}
	rc = parse_body(doc, b);
	json_decref(doc);

err0:
	sodium_memzero(plain, plen);
	free(plain);
	if (rc != VC_OK)
		vc_snapbody_free(b);
	return rc;
}

static void
free_strings(char **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

void
vc_snapbody_free(struct vc_snapbody *b)
{
	if (b == NULL)
		return;
	free(b->hostname);
	free(b->username);
	free_strings(b->paths, b->npaths);
	free_strings(b->tags, b->ntags);
	free(b->tree);
	free(b->prev);
	memset(b, 0, sizeof(*b));
}

void
vc_snapshot_group(const struct vc_keys *keys, const char *hostname,
    char *const *paths, size_t npaths, uint8_t group[32])
{
	crypto_generichash_state st;
	const char *prev = NULL, *next;

	crypto_generichash_init(&st, keys->index, VC_KEY_LEN, 32);
	crypto_generichash_update(&st, (const uint8_t *)GROUP_DOMAIN, sizeof(GROUP_DOMAIN));
	crypto_generichash_update(&st, (const uint8_t *)hostname, strlen(hostname) + 1);
	/*
	 * Each distinct path once, in strcmp order, found by repeated search
	 * for the least path after the previous one: quadratic, but it needs
	 * no memory (this cannot fail) and a backup names few paths.
	 */
	for (;;) {
		next = NULL;
		for (size_t i = 0; i < npaths; i++)
			if ((prev == NULL || strcmp(paths[i], prev) > 0) &&
			    (next == NULL || strcmp(paths[i], next) < 0))
				next = paths[i];
		if (next == NULL)
			break;
		crypto_generichash_update(&st, (const uint8_t *)next, strlen(next) + 1);
		prev = next;
	}
	crypto_generichash_final(&st, group, 32);
	sodium_memzero(&st, sizeof(st));
}
