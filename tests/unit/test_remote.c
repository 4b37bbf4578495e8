/*
 * client/remote*.c without a network: what vc_remote_open accepts and
 * refuses, the error sentences built from answers, the retry rules and
 * backoff bounds, header parsing, the existence-answer merge, checks of
 * downloaded bytes and the 409 missing list. The calls themselves run
 * against a real vaultd in tests/integration/test_remote.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../client/remote.c"
#include "../../client/remote_io.c"
#include "../../client/remote_open.c"

#define TOKEN "vt1_0001020304050607_202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"

static struct vc_remote *
open3(const char *url, const char *vault, const char *token, char *err, size_t errlen)
{
	struct vc_remote_opts o = {.url = url, .vault = vault, .token = token};

	return vc_remote_open(&o, err, errlen);
}

static void
test_open_refuses(void **state)
{
	static const struct {
		const char *url, *vault, *token, *want;
	} bad[] = {
		{"ftp://x", "v", TOKEN, "must start with http://"},
		{"127.0.0.1:8420", "v", TOKEN, "must start with http://"},
		{"http://", "v", TOKEN, "not of the form"},
		{"http://h:0", "v", TOKEN, "not of the form"},
		{"http://h:65536", "v", TOKEN, "not of the form"},
		{"http://h:123456", "v", TOKEN, "not of the form"},
		{"http://h:8420/v1", "v", TOKEN, "not of the form"},
		{"http://h:8420//", "v", TOKEN, "not of the form"},
		{"http://h:8420?x", "v", TOKEN, "not of the form"},
		{"http://h:8420 ", "v", TOKEN, "not of the form"},
		{"http://h:", "v", TOKEN, "not of the form"},
		{"http://user@h", "v", TOKEN, "not of the form"},
		{"http://[::1", "v", TOKEN, "not of the form"},
		{"http://h\n:1", "v", TOKEN, "'http://h?:1'"},
		{"http://h:1", "Laptop", TOKEN, "'Laptop' is not a vault name"},
		{"http://h:1", "", TOKEN, "is not a vault name"},
		{"http://h:1", ".a", TOKEN, "is not a vault name"},
		{"http://h:1", "a/b", TOKEN, "is not a vault name"},
		{"http://h:1", "v", "", "no token given"},
		{"http://h:1", "v", "vt1_a b", "a space or an unprintable byte at offset 5"},
		{"http://h:1", "v", "vt1_\x7f", "unprintable"},
	};
	char err[256], longtok[VC_TOKEN_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(err, "unset");
		assert_null(open3(bad[i].url, bad[i].vault, bad[i].token, err, sizeof(err)));
		if (strstr(err, bad[i].want) == NULL)
			fail_msg("%s %s: '%s' does not say '%s'", bad[i].url, bad[i].vault, err,
			    bad[i].want);
	}
	memset(longtok, 'a', sizeof(longtok) - 1);
	longtok[sizeof(longtok) - 1] = '\0';
	assert_null(open3("http://h:1", "v", longtok, err, sizeof(err)));
	assert_non_null(strstr(err, "tokens are at most"));
}

static void
test_open_accepts(void **state)
{
	static const struct {
		const char *url, *kept;
	} good[] = {
		{"http://127.0.0.1:8420", "http://127.0.0.1:8420"},
		{"http://127.0.0.1:8420/", "http://127.0.0.1:8420"},
		{"http://localhost", "http://localhost"},
		{"http://[::1]:8420", "http://[::1]:8420"},
		{"http://vault-1.example.com:65535", "http://vault-1.example.com:65535"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct vc_remote *r = open3(good[i].url, "backup.2024-01-31", TOKEN, err, sizeof(err));
		if (r == NULL)
			fail_msg("%s refused: %s", good[i].url, err);
		assert_string_equal(r->url, good[i].kept);
		assert_string_equal(r->auth, "Authorization: Bearer " TOKEN);
		assert_int_equal(r->parallel, VC_REMOTE_PARALLEL_DEFAULT);
		assert_int_equal(r->queue_max, 2 * VC_REMOTE_PARALLEL_DEFAULT);
		vc_remote_free(r);
	}
	vc_remote_free(NULL);
}

/* The transport's tuning comes from the options only (no environment). */
static void
test_retry_base_opts(void **state)
{
	static const struct { unsigned set, want; } cases[] = {
		{ 0, VC_RETRY_BASE_MS }, { 10, 10 },
		{ VC_REMOTE_RETRY_BASE_MAX, VC_REMOTE_RETRY_BASE_MAX },
		{ VC_REMOTE_RETRY_BASE_MAX + 1, VC_RETRY_BASE_MS },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vc_remote_opts o = { 0 };
		struct vc_remote *r;
		char err[256];

		o.url = "http://127.0.0.1:1";
		o.vault = "v";
		o.token = TOKEN;
		o.retry_base_ms = cases[i].set;
		o.recall_wait_ms = 5;
		assert_non_null(r = vc_remote_open(&o, err, sizeof(err)));
		assert_int_equal(r->retry_base_ms, cases[i].want);
		assert_int_equal(r->recall_wait_max_ms, 5);
		assert_int_equal(r->recall_poll_ms, 0);
		vc_remote_free(r);
	}
}

/* A remote (no traffic) and a job of it answered with status and body. */
static struct vc_remote *
remote(void)
{
	char err[256];
	struct vc_remote *r = open3("http://127.0.0.1:8420", "laptop", TOKEN, err, sizeof(err));

	assert_non_null(r);
	return r;
}

static void
answer(struct vc_job *j, struct vc_remote *r, long status, const char *body)
{
	job_init(j, VC_PUT, ERR_BODY_MAX);
	j->r = r;
	j->attempts = 1;
	snprintf(j->what, sizeof(j->what), "PUT pack 3fa1...");
	j->status = status;
	if (body != NULL) {
		j->resp.p = (uint8_t *)strdup(body);
		j->resp.len = j->resp.cap = strlen(body);
	}
}

static void
assert_describes(struct vc_job *j, const char *want)
{
	char out[VC_ERR_MAX];

	vc_remote__describe(j, out, sizeof(out));
	assert_string_equal(out, want);
	vc_remote__job_clear(j);
}

static void
test_describe(void **state)
{
	struct vc_remote *r = remote();
	struct vc_job j;

	(void)state;
	answer(&j, r, 401, "{\"code\":\"unauthorized\",\"message\":\"the token is unknown or revoked\"}");
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: the token was "
	    "refused (401): check VAULT_TOKEN");
	answer(&j, r, 403, "{\"code\":\"forbidden\",\"message\":\"this token lacks the append scope\"}");
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: the token "
	    "lacks the append scope (403)");
	answer(&j, r, 403, "{\"code\":\"forbidden\",\"message\":\"this token is bound to another vault\"}");
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: forbidden: "
	    "this token is bound to another vault (403)");
	answer(&j, r, 507, "{\"code\":\"insufficient_storage\",\"message\":\"vault 'tiny' is over "
	    "its quota: 600 of 1000 bytes used, 600 more asked\"}");
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: quota exceeded: "
	    "vault 'tiny' is over its quota: 600 of 1000 bytes used, 600 more asked (507)");
	answer(&j, r, 507, "{\"code\":\"insufficient_storage\",\"message\":\"the metadata store is full\"}");
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: out of storage "
	    "space: the metadata store is full (507)");
	answer(&j, r, 404, NULL);
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: not found (404)");
	answer(&j, r, 503, "{\"code\":\"unavailable\",\"message\":\"shutting down\"}");
	j.attempts = 5;
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: unavailable: "
	    "shutting down (503, 5 attempts)");
	/* The server's text cannot put control bytes on a terminal. */
	answer(&j, r, 422, "{\"code\":\"hash_mismatch\",\"message\":\"bad\\u001b[2Jbytes\\n\"}");
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: hash mismatch: "
	    "bad?[2Jbytes? (422)");
	answer(&j, r, 599, "not json");
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: unexpected "
	    "answer (599)");
	answer(&j, r, 0, NULL);
	j.cc = CURLE_COULDNT_CONNECT;
	j.os_errno = ECONNREFUSED;
	j.attempts = 5;
	assert_describes(&j, "cannot reach http://127.0.0.1:8420: Connection refused (PUT pack "
	    "3fa1..., 5 attempts)");
	answer(&j, r, 0, NULL);
	j.cc = CURLE_GOT_NOTHING;
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: Server returned "
	    "nothing (no headers, no data) (no answer)");
	answer(&j, r, 200, NULL);
	j.too_big = 1;
	j.resp_max = 10;
	assert_describes(&j, "http://127.0.0.1:8420 vault laptop: PUT pack 3fa1...: the answer is "
	    "longer than the 10 bytes expected");
	vc_remote_free(r);
}

static void
test_retry_rules(void **state)
{
	static const long again[] = {500, 503, 408};
	static const long never[] = {200, 400, 401, 403, 404, 409, 411, 413, 416, 422, 423, 507};
	static const CURLcode transient[] = {CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT,
	    CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE};
	struct vc_job j;

	(void)state;
	memset(&j, 0, sizeof(j));
	for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
		j.status = again[i];
		assert_true(retryable(&j));
	}
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		j.status = never[i];
		assert_false(retryable(&j));
	}
	j.status = 0;
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
		j.cc = transient[i];
		assert_true(retryable(&j));
	}
	j.cc = CURLE_URL_MALFORMAT;
	assert_false(retryable(&j));
	j.cc = CURLE_COULDNT_RESOLVE_HOST;
	assert_false(retryable(&j));
	j.cc = CURLE_RECV_ERROR;
	j.oom = 1;
	assert_false(retryable(&j));
}

static void
test_backoff(void **state)
{
	struct vc_remote r;
	uint64_t lo_seen = UINT64_MAX;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.rng = 12345;
	r.retry_base_ms = VC_RETRY_BASE_MS;
	for (int round = 0; round < 200; round++) {
		for (unsigned n = 1; n <= 10; n++) {
			uint64_t b = (uint64_t)VC_RETRY_BASE_MS << (n - 1), d;
			if (b > VC_RETRY_CAP_MS)
				b = VC_RETRY_CAP_MS;
			d = backoff_ms(&r, n);
			assert_true(d <= b && d >= b - b / 4);
			if (n == 1 && d < lo_seen)
				lo_seen = d;
		}
	}
	/* The jitter is there. */
	assert_true(lo_seen < VC_RETRY_BASE_MS);
	r.retry_base_ms = 10;
	assert_true(backoff_ms(&r, 1) <= 10 && backoff_ms(&r, 4) <= 80 && backoff_ms(&r, 4) >= 60);
}

static void
feed_header(struct vc_job *j, const char *line)
{
	assert_int_equal(on_header((char *)line, 1, strlen(line), j), strlen(line));
}

static void
test_headers(void **state)
{
	struct vc_job j;

	(void)state;
	memset(&j, 0, sizeof(j));
	feed_header(&j, "HTTP/1.1 206 Partial Content\r\n");
	feed_header(&j, "Content-Range: bytes 2-5/10\r\n");
	feed_header(&j, "content-length:  4 \r\n");
	assert_true(j.have_range && j.have_length);
	assert_int_equal(j.cr_first, 2);
	assert_int_equal(j.cr_last, 5);
	assert_int_equal(j.cr_size, 10);
	assert_int_equal(j.length, 4);
	/* A new status line (after 100 Continue) forgets the block before. */
	feed_header(&j, "HTTP/1.1 200 OK\r\n");
	assert_false(j.have_range || j.have_length);
	feed_header(&j, "Content-Length: 18446744073709551616\r\n");
	assert_false(j.have_length);
	feed_header(&j, "Content-Length: 12x\r\n");
	assert_false(j.have_length);
	feed_header(&j, "Content-Range: bytes */10\r\n");
	assert_false(j.have_range);
	feed_header(&j, "Content-Range: items 1-2/3\r\n");
	assert_false(j.have_range);
}

static void
test_exists_merge(void **state)
{
	uint8_t ids[4][VSP_ID_LEN], present[4];
	char hex[4][VSP_ID_HEX_LEN + 1];
	json_t *p, *m;

	(void)state;
	for (int i = 0; i < 3; i++) {
		memset(ids[i], 0x11 * (i + 1), VSP_ID_LEN);
		vsp_id_format(ids[i], hex[i]);
	}
	memcpy(ids[3], ids[0], VSP_ID_LEN); /* asked twice, in both places */
	p = json_pack("[s,s]", hex[0], hex[0]);
	m = json_pack("[s,s]", hex[1], hex[2]);
	assert_int_equal(exists_merge(p, m, (const uint8_t (*)[VSP_ID_LEN])ids, 4, present), 0);
	assert_memory_equal(present, "\1\0\0\1", 4);
	json_decref(p);
	json_decref(m);
	/* An ID the server forgot, one it added, or none at all. */
	p = json_pack("[s]", hex[0]);
	m = json_pack("[s,s]", hex[1], hex[2]);
	assert_int_equal(exists_merge(p, m, (const uint8_t (*)[VSP_ID_LEN])ids, 4, present), -1);
	assert_int_equal(exists_merge(p, m, (const uint8_t (*)[VSP_ID_LEN])ids, 2, present), -1);
	assert_int_equal(exists_merge(NULL, NULL, (const uint8_t (*)[VSP_ID_LEN])ids, 1, present), -1);
	json_decref(p);
	json_decref(m);
}

static void
test_get_check(void **state)
{
	struct vc_remote *r = remote();
	char err[VC_ERR_MAX];
	uint8_t *buf;
	size_t len;
	struct vc_job j;

	(void)state;
	/* A proxy that ignored Range: the whole object is checked, then cut. */
	answer(&j, r, 200, "0123456789");
	sha256_buf("0123456789", 10, j.id);
	j.ranged = 1;
	j.first = 2;
	j.last = 5;
	assert_int_equal(get_result(&j, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "2345", 4);
	free(buf);
	vc_remote__job_clear(&j);
	/* A whole object that does not hash to its ID. */
	answer(&j, r, 200, "0123456789");
	memset(j.id, 0, sizeof(j.id));
	j.whole = 1;
	assert_int_equal(get_result(&j, &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "do not hash to the object's ID"));
	vc_remote__job_clear(&j);
	/* A 206 with the wrong bytes. */
	answer(&j, r, 206, "2345");
	j.ranged = 1;
	j.first = 2;
	j.last = 5;
	j.have_range = 1;
	j.cr_first = 3;
	j.cr_last = 6;
	assert_int_equal(get_result(&j, &buf, &len, err, sizeof(err)), -1);
	j.cr_first = 2;
	j.cr_last = 5;
	assert_int_equal(get_result(&j, &buf, &len, err, sizeof(err)), 0);
	free(buf);
	vc_remote__job_clear(&j);
	answer(&j, r, 404, "{\"code\":\"not_found\",\"message\":\"no such pack\"}");
	assert_int_equal(get_result(&j, &buf, &len, err, sizeof(err)), VC_R_NOTFOUND);
	assert_non_null(strstr(err, "not found: no such pack (404)"));
	vc_remote__job_clear(&j);
	vc_remote_free(r);
}

static void
test_missing_parse(void **state)
{
	struct vc_remote *r = remote();
	struct envelope_ref *m = NULL;
	size_t n = 0;
	struct vc_job j;
	json_t *list;
	char a[VSP_ID_HEX_LEN + 1];

	(void)state;
	memset(a, 'a', VSP_ID_HEX_LEN);
	a[VSP_ID_HEX_LEN] = '\0';
	answer(&j, r, 409, NULL);
	list = json_pack("[{s:s,s:s},{s:s,s:s}]", "kind", "pack", "id", a, "kind", "index",
	    "id", a);
	assert_int_equal(missing_parse(&j, list, &m, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].kind, ENVELOPE_KIND_PACK);
	assert_int_equal(m[1].kind, ENVELOPE_KIND_INDEX);
	for (size_t i = 0; i < VSP_ID_LEN; i++) {
		assert_int_equal(m[0].id[i], 0xaa);
		assert_int_equal(m[1].id[i], 0xaa);
	}
	free(m);
	json_decref(list);
	list = json_pack("[{s:s,s:s}]", "kind", "blob", "id", a);
	assert_int_equal(missing_parse(&j, list, &m, &n), -1);
	assert_non_null(strstr(vc_remote_error(r), "missing[0]"));
	json_decref(list);
	vc_remote__job_clear(&j);
	vc_remote_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_refuses),
		cmocka_unit_test(test_open_accepts),
		cmocka_unit_test(test_retry_base_opts),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_retry_rules),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_exists_merge),
		cmocka_unit_test(test_get_check),
		cmocka_unit_test(test_missing_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
