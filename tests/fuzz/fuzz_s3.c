/*
 * Fuzz driver for what the S3 client reads from a server (s3/s3.c,
 * s3_sync.c): the input is an answer body, given to the ListObjectsV2 page
 * scanner (under the prefix "v/") and to s3_error_message. The corpus in
 * tests/fuzz/corpus/s3/ holds listing pages and error bodies.
 *
 * Invariants: every key handed to the callback is a NUL-terminated string of
 * at most S3_KEY_MAX bytes with no NUL inside and without the prefix; a
 * truncated page has a non-empty token; an error is a one-line message; the
 * error sentence is NUL-terminated, printable ASCII, and starts with the
 * bucket.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "s3.h"

#define PREFIX "v/"

static int
check_entry(void *arg, const char *key, uint64_t size)
{
	unsigned *n = arg;

	(void)size;
	FUZZ_CHECK(strlen(key) + strlen(PREFIX) <= S3_KEY_MAX);
	(*n)++;
	/* Stop now and then, so that the stop path runs too. */
	return *n == 50 ? 9 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_list_page page;
	struct s3_conf c;
	char err[512] = "", out[700];
	unsigned n = 0;
	char *body;
	int rc;
	size_t i;

	/* The sink NUL-terminates what it collects; do the same. */
	if ((body = malloc(size + 1)) == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	rc = s3_list_parse(body, size, PREFIX, check_entry, &n, &page, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1 || rc == 9);
	FUZZ_CHECK(page.count >= n);
	if (rc == 0) {
		FUZZ_CHECK(!page.truncated || page.next_token[0] != '\0');
		FUZZ_CHECK(memchr(page.next_token, '\0', sizeof(page.next_token)) != NULL);
	} else {
		FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	}

	memset(&c, 0, sizeof(c));
	strcpy(c.bucket, "fuzzbkt");
	strcpy(c.prefix, PREFIX);
	s3_error_message(403, "PUT", &c, "k", body, size, out, sizeof(out));
	FUZZ_CHECK(strncmp(out, "S3 bucket fuzzbkt: PUT v/k: ", 28) == 0);
	for (i = 0; out[i]; i++)
		FUZZ_CHECK(out[i] >= 0x20 && out[i] <= 0x7e);
	free(body);
	return 0;
}
