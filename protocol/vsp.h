#ifndef VSP_H
#define VSP_H
/*
 * Names shared by every part of Vault that speaks the Vault Storage Protocol
 * (spec/vsp.md): object IDs, object kinds, vault and tenant names, and the
 * protocol's error codes with their HTTP statuses.
 */
#include <stddef.h>
#include <stdint.h>

/* An object ID is the SHA-256 of the stored bytes, written as lowercase hex. */
#define VSP_ID_LEN 32
#define VSP_ID_HEX_LEN (2 * VSP_ID_LEN)

/* Vault and tenant names: 1..VSP_NAME_MAX bytes of [a-z0-9._-], starting
 * with [a-z0-9]. */
#define VSP_NAME_MAX 63

enum vsp_kind {
	VSP_KIND_PACK = 0,
	VSP_KIND_INDEX = 1,
	VSP_KIND_SNAPSHOT = 2,
	VSP_KIND_KEY = 3,   /* restic repositories: key files */
	VSP_KIND_LOCK = 4,  /* restic repositories: lock files */
	VSP_KIND_COUNT
};

/* Returns "pack", "index", "snapshot", "key" or "lock"; "?" when out of range. */
const char *vsp_kind_name(enum vsp_kind kind);

/* Parses a kind name of len bytes into *out. Returns 0, or -1 if unknown. */
int vsp_kind_parse(const char *s, size_t len, enum vsp_kind *out);

/*
 * Parses exactly VSP_ID_HEX_LEN lowercase hex digits into id. Uppercase,
 * any other length or any other character is rejected so that one object
 * has exactly one spelling. Returns 0, or -1.
 */
int vsp_id_parse(const char *hex, size_t len, uint8_t id[VSP_ID_LEN]);

/* Writes id as VSP_ID_HEX_LEN lowercase hex digits and a NUL into out. */
void vsp_id_format(const uint8_t id[VSP_ID_LEN], char out[VSP_ID_HEX_LEN + 1]);

/* Returns 1 if s (len bytes, not NUL-terminated) is a valid name, else 0. */
int vsp_name_valid(const char *s, size_t len);

/* Protocol errors. Each maps to one HTTP status and one stable code string. */
enum vsp_err {
	VSP_OK = 0,
	VSP_E_MALFORMED,        /* 400 malformed */
	VSP_E_UNAUTHORIZED,     /* 401 unauthorized */
	VSP_E_FORBIDDEN,        /* 403 forbidden */
	VSP_E_NOT_FOUND,        /* 404 not_found */
	VSP_E_METHOD,           /* 405 method_not_allowed */
	VSP_E_TIMEOUT,          /* 408 request_timeout */
	VSP_E_CONFLICT,         /* 409 conflict */
	VSP_E_LENGTH_REQUIRED,  /* 411 length_required */
	VSP_E_TOO_LARGE,        /* 413 too_large */
	VSP_E_URI_TOO_LONG,     /* 414 uri_too_long */
	VSP_E_RANGE,            /* 416 range_not_satisfiable */
	VSP_E_HASH_MISMATCH,    /* 422 hash_mismatch */
	VSP_E_LOCKED,           /* 423 locked */
	VSP_E_HEADERS_TOO_LARGE,/* 431 headers_too_large */
	VSP_E_INTERNAL,         /* 500 internal */
	VSP_E_UNAVAILABLE,      /* 503 unavailable */
	VSP_E_NO_SPACE,         /* 507 insufficient_storage */
	VSP_E_VERSION,          /* 505 http_version_not_supported */
	VSP_E_COUNT
};

/* HTTP status for err (200 for VSP_OK). */
int vsp_err_status(enum vsp_err err);

/* Stable machine-readable code for err, e.g. "hash_mismatch". */
const char *vsp_err_code(enum vsp_err err);

/* Reason phrase for an HTTP status we send, e.g. "Not Found". */
const char *vsp_status_reason(int status);

#endif
