/*
 * A vault target's token file (target_token.h): one line, checked so that
 * what we send as a bearer token can go in an HTTP header as it is.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "target_token.h"

int
target_token_load(const char *path, char out[TARGET_TOKEN_MAX], char *err, size_t errlen)
{
	char line[TARGET_TOKEN_MAX + 2];
	size_t n, start = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	while (start < n && (line[start] == ' ' || line[start] == '\t'))
		start++;
	n -= start;
	if (n == 0 || n >= TARGET_TOKEN_MAX) {
		snprintf(err, errlen, "token file %s: %s", path,
		    n == 0 ? "empty first line" : "token too long");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)line[start + i];
		if (ch <= 0x20 || ch >= 0x7f) {
			snprintf(err, errlen, "token file %s: the token holds a byte that "
			    "cannot go in an HTTP header", path);
			return -1;
		}
	}
	memcpy(out, line + start, n);
	out[n] = '\0';
	return 0;
}
