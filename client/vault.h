#ifndef VAULT_CLI_H
#define VAULT_CLI_H
/*
 * The `vault` command line (client/vault*.c): options shared by every
 * command and the commands themselves.
 */
#include <stddef.h>
#include <stdio.h>

#include "backup.h"
#include "repo.h"
#include "restore.h"

#define VAULT_EXIT_OK 0
#define VAULT_EXIT_ERROR 1
#define VAULT_EXIT_USAGE 2
#define VAULT_EXIT_PARTIAL 3
#define VAULT_EXIT_ROLLBACK 4   /* the vault lost a snapshot this client saw */

struct strv {
	char **v;
	size_t n, cap;
};

struct cli {
	/* Where and who. */
	char *url;             /* "http://host:port" from the repository URL */
	char *vault;
	const char *token;
	const char *token_file;
	const char *password_file;
	const char *password_command;
	const char *cache_dir;
	unsigned parallel, threads;
	int zstd_level;
	int json, quiet, verbose, progress;
	/* Command options. */
	struct strv excludes, tags, includes;
	int one_fs, force, read_data, long_list, accept_rollback;
	const char *parent, *host, *target;
	const char *label, *new_password_file;  /* vault key */
	int recovery, no_key_cache;
	char key_cache_dir[4096];
	long long time;
	unsigned long long kdf_ops, kdf_mem;
	/* The command and its arguments. */
	const char *cmd;
	struct strv args;
};

/* vault.c */
void cli_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Prints "vault: MESSAGE" and the usage hint, exits 2. */
void cli_usage(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* A new passphrase (vault key add/passwd): --new-password-file, else
 * VAULT_NEW_PASSWORD, else asked twice on the terminal; never empty. */
size_t cli_new_passphrase(struct cli *c, char *buf, size_t len);
int cli_open(struct cli *c, struct vc_repo **out);
int cli_snapshot(struct vc_repo *r, const char *spec, struct vc_snapinfo *out);
/* vc_repo_snapshots, or exit: 4 on a rollback, 1 on another failure. */
void cli_list(struct vc_repo *r, struct vc_snapinfo **out, size_t *n);
void cli_json_str(FILE *f, const char *s);
void cli_time(long long t, char *buf, size_t len);

/* vault_cmds.c */
int cmd_ls(struct cli *c);
int cmd_cat(struct cli *c);
int cmd_restore(struct cli *c);
int cmd_diff(struct cli *c);
int cmd_check(struct cli *c);
int cmd_key(struct cli *c);

/* vault_mount.c */
int cmd_mount(struct cli *c);

#endif
