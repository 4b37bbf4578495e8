/*
 * client_tool: what the vault client's integration tests need from
 * libvaultclient beyond the `vault` command.
 *
 *   client_tool URL VAULT backup-gc HOST CMD PATH...
 *       A backup (every file read, no parent) that runs CMD between the
 *       uploads and the first commit (struct vc_backup_opts.before_commit),
 *       so that test_client.sh can run the vault's garbage collector at
 *       exactly that moment and see the commit refused (409) and retried.
 *       Prints "snapshot HEX attempts N".
 *   client_tool URL VAULT forge-snapshot HOST PATH JSON
 *       Seals JSON as a snapshot body of group (HOST, PATH) with the vault's
 *       keys and uploads it with no references: a snapshot a newer (or
 *       broken) client could have written. Prints "snapshot HEX".
 *
 * The token, passphrase and cache directory come from VAULT_TOKEN,
 * VAULT_PASSWORD and VAULT_CACHE_DIR. The library's messages go to
 * standard error. Exit 0 on success, 1 on failure, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "backup.h"
#include "envelope.h"
#include "repo.h"
#include "sha256.h"

static void
to_stderr(void *arg, enum vc_level level, const char *msg)
{
	(void)arg;
	if (level != VC_LOG_PROGRESS)
		fprintf(stderr, "%s\n", msg);
}

static void
run_cmd(void *arg, unsigned attempt)
{
	if (attempt == 1 && system((const char *)arg) != 0)
		fprintf(stderr, "client_tool: the command before the commit failed\n");
}

static int
backup_gc(struct vc_repo *r, int argc, char **argv)
{
	struct vc_backup_opts bo = { 0 };
	struct vc_backup_stats st;
	char err[VC_ERR_LEN], hex[65];

	if (argc < 3)
		return 2;
	bo.hostname = argv[0];
	bo.before_commit = run_cmd;
	bo.before_commit_arg = argv[1];
	bo.paths = argv + 2;
	bo.npaths = (size_t)(argc - 2);
	bo.force = 1;
	if (vc_backup(r, &bo, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "client_tool: backup failed: %s\n", err);
		return 1;
	}
	vc_hex(st.snapshot, 0, hex);
	printf("snapshot %s attempts %u\n", hex, st.attempts);
	return 0;
}

static int
forge_snapshot(struct vc_repo *r, int argc, char **argv)
{
	uint8_t group[32], id[VC_ID_LEN], *zero, *env = NULL, *body = NULL;
	struct envelope_ref *missing = NULL;
	size_t jlen, slen, envlen, blen, hdr_len, nmissing = 0;
	char hex[65];
	int rc = 1;

	if (argc != 3)
		return 2;
	vc_snapshot_group(&r->keys, argv[0], &argv[1], 1, group);
	jlen = strlen(argv[2]);
	slen = vc_snapbody_sealed_len(jlen);
	if ((zero = calloc(1, slen)) == NULL ||
	    envelope_encode(1700000000, group, 0, NULL, 0, zero, slen, &env, &envlen) != 0)
		goto out;
	hdr_len = envlen - slen;
	if (vc_snapbody_seal(&r->keys, env, hdr_len, argv[2], jlen, NULL, &body, &blen) != 0)
		goto out;
	memcpy(env + hdr_len, body, blen);
	sha256_buf(env, envlen, id);
	if (vc_remote_put_snapshot(r->remote, id, env, envlen, &missing, &nmissing) != 0) {
		fprintf(stderr, "client_tool: %s\n", vc_remote_error(r->remote));
		goto out;
	}
	vc_hex(id, 0, hex);
	printf("snapshot %s\n", hex);
	rc = 0;
out:
	free(zero);
	free(env);
	free(body);
	free(missing);
	return rc;
}

int
main(int argc, char **argv)
{
	struct vc_repo_opts ro = { 0 };
	struct vc_repo *r;
	const char *pw = getenv("VAULT_PASSWORD");
	char err[VC_ERR_LEN];
	int rc = 2;

	if (argc < 4 || pw == NULL || getenv("VAULT_TOKEN") == NULL) {
		fprintf(stderr, "usage: VAULT_TOKEN=.. VAULT_PASSWORD=.. client_tool URL VAULT "
		    "backup-gc HOST CMD PATH... | forge-snapshot HOST PATH JSON\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	ro.url = argv[1];
	ro.vault = argv[2];
	ro.token = getenv("VAULT_TOKEN");
	ro.pw = (const uint8_t *)pw;
	ro.pwlen = strlen(pw);
	ro.cache_dir = getenv("VAULT_CACHE_DIR");
	ro.retry_base_ms = 10;
	ro.report.fn = to_stderr;
	if (vc_repo_open(&ro, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "client_tool: %s\n", err);
		return 1;
	}
	if (strcmp(argv[3], "backup-gc") == 0)
		rc = backup_gc(r, argc - 4, argv + 4);
	else if (strcmp(argv[3], "forge-snapshot") == 0)
		rc = forge_snapshot(r, argc - 4, argv + 4);
	if (rc == 2)
		fprintf(stderr, "client_tool: bad usage of %s\n", argv[3]);
	vc_repo_close(r);
	return rc;
}
