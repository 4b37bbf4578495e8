/*
 * backup_hook: a backup through libvaultclient with a command run between
 * the uploads and the commit (struct vc_backup_opts.before_commit), so that
 * tests/integration/test_client.sh can run the vault's garbage collector
 * at exactly that moment and see the commit refused (409) and retried.
 *
 *   backup_hook URL VAULT HOST CMD PATH...
 *
 * The token, passphrase and cache directory come from VAULT_TOKEN,
 * VAULT_PASSWORD and VAULT_CACHE_DIR. Reads every file (no parent). CMD
 * runs once, before the first commit. Prints "snapshot HEX attempts N" on
 * standard output and the library's messages on standard error. Exit 0 on
 * success, 1 on failure, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "backup.h"
#include "repo.h"

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
		fprintf(stderr, "backup_hook: the command before the commit failed\n");
}

int
main(int argc, char **argv)
{
	struct vc_repo_opts ro = { 0 };
	struct vc_backup_opts bo = { 0 };
	struct vc_backup_stats st;
	struct vc_repo *r;
	const char *pw = getenv("VAULT_PASSWORD");
	char err[VC_ERR_LEN], hex[65];
	int rc;

	if (argc < 6 || pw == NULL || getenv("VAULT_TOKEN") == NULL) {
		fprintf(stderr, "usage: VAULT_TOKEN=.. VAULT_PASSWORD=.. backup_hook URL VAULT "
		    "HOST CMD PATH...\n");
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
		fprintf(stderr, "backup_hook: %s\n", err);
		return 1;
	}
	bo.hostname = argv[3];
	bo.before_commit = run_cmd;
	bo.before_commit_arg = argv[4];
	bo.paths = argv + 5;
	bo.npaths = (size_t)(argc - 5);
	bo.force = 1;
	rc = vc_backup(r, &bo, &st, err, sizeof(err));
	vc_repo_close(r);
	if (rc < 0) {
		fprintf(stderr, "backup_hook: backup failed: %s\n", err);
		return 1;
	}
	vc_hex(st.snapshot, 0, hex);
	printf("snapshot %s attempts %u\n", hex, st.attempts);
	return 0;
}
