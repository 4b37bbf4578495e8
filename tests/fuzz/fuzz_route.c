/*
 * Fuzz driver for route_parse() and range_parse() (vaultd/router.c).
 *
 * Input: byte 0 picks the method, byte 1 the object size for the range
 * (checks.h, fuzz_size()); the rest is the request target, and if it holds a
 * newline, what follows the first one is a Range value. The corpus files in
 * tests/fuzz/corpus/route/ are therefore mostly text, e.g. "0\x8a/v1/vaults"
 * (GET, size 10).
 *
 * Method byte: with the top bit set, its low seven bits are used as the raw
 * llhttp method number (so unnamed and unusual ones are tried); otherwise
 * its low three bits pick GET HEAD PUT DELETE POST OPTIONS PATCH TRACE
 * ('0'..'7').
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "checks.h"
#include "fuzz.h"
#include "router.h"

static int
pick_method(uint8_t b)
{
	static const int methods[8] = {
		HTTP_GET, HTTP_HEAD, HTTP_PUT, HTTP_DELETE,
		HTTP_POST, HTTP_OPTIONS, HTTP_PATCH, HTTP_TRACE,
	};

	if (b & 0x80)
		return b & 0x7f;
	return methods[b & 7];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rest, *nl;
	size_t len, tlen;
	char *target, *range;
	int method;
	uint64_t osize;

	if (size < 2)
		return 0;
	method = pick_method(data[0]);
	osize = fuzz_size(data[1]);
	rest = (const char *)data + 2;
	len = size - 2;
	nl = memchr(rest, '\n', len);
	tlen = nl != NULL ? (size_t)(nl - rest) : len;

	/* An exact-size copy with no NUL after it: route_parse() takes a
	 * length and must not read past it (ASan checks). */
	if ((target = malloc(tlen > 0 ? tlen : 1)) == NULL)
		return 0;
	memcpy(target, rest, tlen);
	check_route(method, target, tlen);
	free(target);

	if (nl != NULL) {
		size_t rlen = len - tlen - 1;
		if ((range = malloc(rlen + 1)) == NULL)
			return 0;
		memcpy(range, nl + 1, rlen);
		range[rlen] = '\0';
		check_range(range, osize);
		free(range);
	}
	return 0;
}
