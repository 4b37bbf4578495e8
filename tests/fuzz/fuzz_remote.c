/*
 * Fuzz driver for what the client transport (client/remote*.c) reads from a
 * server it does not trust: response header lines, error bodies turned into
 * sentences, listing pages, existence answers, the 409 missing list of a
 * snapshot, and the bytes of a ranged download.
 *
 * Input: byte 0 picks the part, byte 1 a status or a variant, the rest is
 * the server's bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "../../client/remote.c"
#include "../../client/remote_io.c"
#include "../../client/remote_open.c"

enum { PART_HEADERS, PART_DESCRIBE, PART_LIST, PART_MISSING, PART_EXISTS, PART_RANGE, PART_COUNT };

#define NIDS 3

/* describe() and bad_answer() only read the URL and the vault name. */
static struct vc_remote fake = {.url = "http://127.0.0.1:8420", .vault = "laptop"};

static void
job_with(struct vc_job *j, long status, const uint8_t *data, size_t size)
{
	job_init(j, VC_GET, VC_JSON_MAX);
	j->r = &fake;
	j->status = status;
	j->attempts = 1;
	snprintf(j->what, sizeof(j->what), "GET pack 0123456789ab...");
	if (size > 0 && (j->resp.p = malloc(size)) != NULL) {
		memcpy(j->resp.p, data, size);
		j->resp.len = j->resp.cap = size;
	}
}

static void
fuzz_headers(const uint8_t *data, size_t size)
{
	struct vc_job j;
	const uint8_t *p = data, *end = data + size;

	memset(&j, 0, sizeof(j));
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		char *line = malloc(len ? len : 1);
		if (line == NULL)
			return;
		memcpy(line, p, len);
		FUZZ_CHECK(on_header(line, 1, len, &j) == len);
		free(line);
		p += len;
	}
}

/* The sentence must be printable text, whatever the server sent. */
static void
fuzz_describe(long status, const uint8_t *data, size_t size)
{
	char out[VC_ERR_MAX];
	struct vc_job j;

	job_with(&j, status, data, size);
	vc_remote__describe(&j, out, sizeof(out));
	for (const char *c = out; *c; c++)
		FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
	vc_remote__job_clear(&j);
}

static int
count_entry(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg)
{
	(void)id;
	(void)size;
	++*(size_t *)arg;
	return 0;
}

static void
fuzz_list(const uint8_t *data, size_t size)
{
	char after[VSP_ID_HEX_LEN + 1] = "", prev[VSP_ID_HEX_LEN + 1];
	uint8_t id[VSP_ID_LEN];
	struct vc_job j;
	size_t n = 0;
	int rc;

	job_with(&j, 200, data, size);
	memcpy(prev, after, sizeof(after));
	rc = list_page(&j, after, count_entry, &n);
	FUZZ_CHECK(rc == 0 || rc == -1);
	/* A cursor to go on from is a valid ID past the previous one. */
	if (rc == 0 && after[0] != '\0')
		FUZZ_CHECK(vsp_id_parse(after, strlen(after), id) == 0 && strcmp(after, prev) > 0);
	vc_remote__job_clear(&j);
}

static void
fuzz_missing(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL), *list;
	struct envelope_ref *m = NULL;
	size_t n = 0;
	struct vc_job j;

	job_with(&j, 409, NULL, 0);
	list = json_object_get(doc, "missing");
	if (json_is_array(list) && missing_parse(&j, list, &m, &n) == 0) {
		FUZZ_CHECK(n == json_array_size(list));
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(m[i].kind < VSP_KIND_COUNT);
		free(m);
	}
	json_decref(doc);
	vc_remote__job_clear(&j);
}

static void
fuzz_exists(unsigned variant, const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	uint8_t ids[NIDS][VSP_ID_LEN], present[NIDS];
	size_t np = 0;

	for (int i = 0; i < NIDS; i++)
		memset(ids[i], (variant >> i) & 1 ? 0x11 : 0xe3, VSP_ID_LEN);
	memset(present, 7, sizeof(present));
	if (exists_merge(json_object_get(doc, "present"), json_object_get(doc, "missing"),
	    (const uint8_t (*)[VSP_ID_LEN])ids, NIDS, present) == 0) {
		for (int i = 0; i < NIDS; i++) {
			FUZZ_CHECK(present[i] == 0 || present[i] == 1);
			np += present[i];
		}
		FUZZ_CHECK(np == json_array_size(json_object_get(doc, "present")));
	}
	json_decref(doc);
}

/* An answer to bytes=first-last: a first line up to '\n' is a header
 * (Content-Range, say), the rest is the body. */
static void
fuzz_range(unsigned variant, const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl != NULL ? (size_t)(nl - data) + 1 : 0;
	char err[VC_ERR_MAX], line[VC_ERR_MAX];
	struct vc_job j;
	uint8_t *buf = NULL;
	size_t len = 0;

	job_with(&j, variant & 1 ? 206 : 200, data + hlen, size - hlen);
	j.ranged = 1;
	j.first = variant >> 4;
	j.last = j.first + (variant & 0xe);
	if (hlen > 0 && hlen <= sizeof(line)) {
		memcpy(line, data, hlen);
		on_header(line, 1, hlen, &j);
	}
	if (get_result(&j, &buf, &len, err, sizeof(err)) == 0) {
		FUZZ_CHECK(len <= j.last - j.first + 1);
		free(buf);
	}
	vc_remote__job_clear(&j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned part, variant;

	if (size < 2)
		return 0;
	part = data[0] % PART_COUNT;
	variant = data[1];
	data += 2;
	size -= 2;
	switch (part) {
	case PART_HEADERS: fuzz_headers(data, size); break;
	case PART_DESCRIBE: fuzz_describe(variant < 100 ? 0 : (long)variant + 300, data, size); break;
	case PART_LIST: fuzz_list(data, size); break;
	case PART_MISSING: fuzz_missing(data, size); break;
	case PART_EXISTS: fuzz_exists(variant, data, size); break;
	default: fuzz_range(variant, data, size); break;
	}
	return 0;
}
