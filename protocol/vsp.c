#include "vsp.h"

#include <string.h>

static const char *const kind_names[VSP_KIND_COUNT] = {
	[VSP_KIND_PACK] = "pack",
	[VSP_KIND_INDEX] = "index",
	[VSP_KIND_SNAPSHOT] = "snapshot",
	[VSP_KIND_KEY] = "key",
	[VSP_KIND_LOCK] = "lock",
};

const char *
vsp_kind_name(enum vsp_kind kind)
{
	if ((unsigned)kind >= VSP_KIND_COUNT)
		return "?";
	return kind_names[kind];
}

int
vsp_kind_parse(const char *s, size_t len, enum vsp_kind *out)
{
	for (int k = 0; k < VSP_KIND_COUNT; k++) {
		if (strlen(kind_names[k]) == len && memcmp(kind_names[k], s, len) == 0) {
			*out = (enum vsp_kind)k;
			return 0;
		}
	}
	return -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
vsp_id_parse(const char *hex, size_t len, uint8_t id[VSP_ID_LEN])
{
	if (len != VSP_ID_HEX_LEN)
		return -1;
	for (size_t i = 0; i < VSP_ID_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
vsp_id_format(const uint8_t id[VSP_ID_LEN], char out[VSP_ID_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < VSP_ID_LEN; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 0xf];
	}
	out[VSP_ID_HEX_LEN] = '\0';
}

int
vsp_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > VSP_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (i == 0 && !alnum)
			return 0;
		if (!alnum && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

static const struct {
	int status;
	const char *code;
} errs[VSP_E_COUNT] = {
	[VSP_OK] = {200, "ok"},
	[VSP_E_MALFORMED] = {400, "malformed"},
	[VSP_E_UNAUTHORIZED] = {401, "unauthorized"},
	[VSP_E_FORBIDDEN] = {403, "forbidden"},
	[VSP_E_NOT_FOUND] = {404, "not_found"},
	[VSP_E_METHOD] = {405, "method_not_allowed"},
	[VSP_E_TIMEOUT] = {408, "request_timeout"},
	[VSP_E_CONFLICT] = {409, "conflict"},
	[VSP_E_LENGTH_REQUIRED] = {411, "length_required"},
	[VSP_E_TOO_LARGE] = {413, "too_large"},
	[VSP_E_URI_TOO_LONG] = {414, "uri_too_long"},
	[VSP_E_RANGE] = {416, "range_not_satisfiable"},
	[VSP_E_HASH_MISMATCH] = {422, "hash_mismatch"},
	[VSP_E_LOCKED] = {423, "locked"},
	[VSP_E_HEADERS_TOO_LARGE] = {431, "headers_too_large"},
	[VSP_E_INTERNAL] = {500, "internal"},
	[VSP_E_UNAVAILABLE] = {503, "unavailable"},
	[VSP_E_NO_SPACE] = {507, "insufficient_storage"},
	[VSP_E_VERSION] = {505, "http_version_not_supported"},
};

int
vsp_err_status(enum vsp_err err)
{
	if ((unsigned)err >= VSP_E_COUNT)
		return 500;
	return errs[err].status;
}

const char *
vsp_err_code(enum vsp_err err)
{
	if ((unsigned)err >= VSP_E_COUNT)
		return "internal";
	return errs[err].code;
}

const char *
vsp_status_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Content";
	case 423: return "Locked";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}
