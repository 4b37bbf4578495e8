/*
 * Fuzz driver for the posture page's request path and its HTML
 * (vaultd/posture_http.c parse_path, vaultd/posture_html.c).
 *
 * Input: the request target as sent ("/posture/acme/laptop.json?x"). The
 * driver checks that parse_path accepts only /posture[/T[/V]][.json] with
 * valid names, and that the same bytes used as a vault name in a report
 * never add markup to the page: the page holds as many '<' as the page of
 * an empty name does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "posture_http.c"

static size_t
count_lt(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '<';
	return n;
}

static char *
page(const char *name)
{
	json_t *r = json_pack("{s:b, s:I, s:[{s:s, s:s, s:s, s:s, s:[s]}]}", "ok", 1, "time",
	    (json_int_t)0, "vaults", "tenant", "acme", "vault", name, "state", "ok",
	    "policy", name, "problems", name);
	char *html;

	if (r == NULL)
		return NULL;
	html = posture_html(r);
	json_decref(r);
	return html;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[PATH_MAX_LEN], *tenant, *vault, *a, *b;
	int json;

	if (size >= sizeof(path) || memchr(data, 0, size) != NULL)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	if (parse_path(path, &tenant, &vault, &json) == 0) {
		FUZZ_CHECK(strncmp(path, "/posture", 8) == 0);
		FUZZ_CHECK(tenant == NULL || vsp_name_valid(tenant, strlen(tenant)));
		FUZZ_CHECK(vault == NULL || (tenant != NULL && vsp_name_valid(vault, strlen(vault))));
	}
	memcpy(path, data, size);
	path[size] = '\0';
	/* jansson takes UTF-8 only; other bytes cannot reach the page. */
	a = page(path);
	b = page("");
	if (a != NULL && b != NULL)
		FUZZ_CHECK(count_lt(a) == count_lt(b));
	free(a);
	free(b);
	return 0;
}
