/*
 * Fuzz driver for the posture page's routes and its HTML
 * (vaultd/router.c route_posture, vaultd/posture_html.c). The request
 * itself is read by http_req.c, which fuzz_http covers.
 *
 * Input: the request target as sent ("/posture/acme/laptop.json?x"). The
 * driver checks that route_posture accepts only /posture[/T[/V]][.json]
 * with valid names, and that the same bytes used as a vault name in a
 * report never add markup to the page: the page holds as many '<' as the
 * page of an empty name does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <llhttp.h>

#include "fuzz.h"
#include "posture.h"
#include "router.h"
#include "vsp.h"

#define PATH_MAX_LEN 256

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
	char path[PATH_MAX_LEN], *a, *b;
	const char *allow, *msg;
	struct route rt;

	if (size >= sizeof(path) || memchr(data, 0, size) != NULL)
		return 0;
	if (route_posture(HTTP_GET, (const char *)data, size, &rt, &allow, &msg) == VSP_OK) {
		FUZZ_CHECK(size >= 8 && memcmp(data, "/posture", 8) == 0);
		FUZZ_CHECK(rt.id == ROUTE_POSTURE);
		FUZZ_CHECK(rt.tenant[0] == '\0' || vsp_name_valid(rt.tenant, strlen(rt.tenant)));
		FUZZ_CHECK(rt.vault[0] == '\0' ||
		    (rt.tenant[0] != '\0' && vsp_name_valid(rt.vault, strlen(rt.vault))));
	}
	FUZZ_CHECK(route_posture(HTTP_POST, (const char *)data, size, &rt, &allow, &msg) ==
	    VSP_E_METHOD);
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
