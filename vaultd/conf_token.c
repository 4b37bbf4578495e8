/*
 * A target's bearer token file (conf.h, conf_token_load): read by the
 * replicator and by scrub's repairs from a replica, so it lives with the
 * configuration both take their targets from.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

int
conf_token_load(const char *path, char out[CONF_TOKEN_MAX], char *err, size_t errlen)
{
	char line[CONF_TOKEN_MAX + 2];
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
	if (n == 0 || n >= CONF_TOKEN_MAX) {
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
