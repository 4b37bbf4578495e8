/*
 * vault: the customer-side backup client. Option parsing, the passphrase,
 * and the commands init, backup, snapshots and forget; the read-side
 * commands are in vault_cmds.c.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chain.h"
#include "vault.h"
#include "vsp.h"

#define PASS_MAX 4096

static const char usage_text[] =
"usage: vault [options] COMMAND [args]\n"
"\n"
"Commands:\n"
"  init                          make the vault's keys (asks for a new passphrase)\n"
"  backup PATH...                back up files and directories\n"
"  snapshots                     list snapshots\n"
"  ls SNAPSHOT [PATH]            list a snapshot's files (under PATH)\n"
"  restore SNAPSHOT --target DIR [--include PATH]...\n"
"                                restore into DIR (followed if it is a symlink;\n"
"                                links inside DIR are never followed); a file that\n"
"                                cannot be restored whole is left out (never left\n"
"                                half-written) and listed\n"
"  cat SNAPSHOT PATH             write a file of a snapshot to standard output\n"
"  cat snapshot SNAPSHOT         the snapshot's metadata as JSON\n"
"  diff A B                      what changed from snapshot A to B\n"
"  check [--read-data]           verify the vault's structure (and every byte)\n"
"  forget SNAPSHOT...            delete snapshots (needs a token with delete scope)\n"
"  key list                      the vault's keys (passphrases and recovery keys)\n"
"  key add [--label L] [--recovery]  add a passphrase (or print a new recovery key)\n"
"  key remove ID                 remove a key (not the last, not the one in use)\n"
"  key passwd                    change the passphrase in use (re-wraps the key only)\n"
"  mount SNAPSHOT|all DIR        a read-only view of one snapshot, or of all of them\n"
"                                (ids/ID, snapshots/TIME, latest), with FUSE 3\n"
"\n"
"SNAPSHOT is `latest` or a prefix of a snapshot ID (at least 4 hex digits).\n"
"\n"
"Repository and credentials (flag, else environment):\n"
"  -r, --repo URL                http://HOST:PORT/VAULT     VAULT_REPOSITORY\n"
"      --token TOKEN             the vault token            VAULT_TOKEN\n"
"      --token-file FILE                                    VAULT_TOKEN_FILE\n"
"      --password-file FILE      passphrase in a file       VAULT_PASSWORD_FILE\n"
"      --password-command CMD    passphrase printed by CMD  VAULT_PASSWORD_COMMAND\n"
"                                (or VAULT_PASSWORD; else asked on the terminal)\n"
"      --cache-dir DIR           local index cache          VAULT_CACHE_DIR\n"
"      --no-key-cache            derive the key every run   (VAULT_KEY_CACHE_DIR, else\n"
"                                $XDG_RUNTIME_DIR/vault, keeps it for the session)\n"
"\n"
"Backup options:\n"
"  -e, --exclude PATTERN         skip names (or, with a '/', absolute paths) matching\n"
"  -x, --one-file-system         do not cross into other file systems\n"
"      --tag TAG                 tag the snapshot (repeatable)\n"
"      --force                   read every file, even unchanged ones\n"
"      --parent SNAPSHOT         compare against this snapshot, not the latest\n"
"      --host NAME               host name to record (default: this host's)\n"
"      --time UNIX               snapshot time (default: now)\n"
"      --compression LEVEL       zstd level, 1-19 (default 3)\n"
"\n"
"Other options:\n"
"      --json                    machine-readable output\n"
"  -q, --quiet                   no progress, no summary\n"
"  -v, --verbose                 name each file\n"
"      --parallel N              transfers at once (default 2 for backup, 4 otherwise)\n"
"      --threads N               sealing threads (default: one per core)\n"
"      --kdf-ops N, --kdf-mem BYTES  Argon2id limits for init (default MODERATE)\n"
"      --new-password-file FILE  the new passphrase for key add/passwd  VAULT_NEW_PASSWORD\n"
"      --accept-rollback         take snapshots missing since the last run as forgotten\n"
"                                on purpose (else that is a rollback: exit 4)\n"
"\n"
"Exit codes: 0 done, 1 failed, 2 bad usage, 3 done but some files could not be read,\n"
"4 the vault rolled back (a snapshot this client saw is gone).\n";

/* Prints "vault: MESSAGE" and a hint if any, then exits with code. */
static void __attribute__((noreturn))
die_v(int code, const char *hint, const char *fmt, va_list ap)
{
	fprintf(stderr, "vault: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n%s", hint);
	exit(code);
}

void
cli_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die_v(VAULT_EXIT_ERROR, "", fmt, ap);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die_v(VAULT_EXIT_USAGE, "(vault --help lists the commands and options)\n", fmt, ap);
}

void
cli_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die_v(VAULT_EXIT_USAGE, "(vault --help lists the commands and options)\n", fmt, ap);
}

static void
strv_push(struct strv *s, char *v)
{
	if (s->n + 1 >= s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		char **q = realloc(s->v, cap * sizeof(*q));

		if (q == NULL)
			cli_die("out of memory");
		s->v = q;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	s->v[s->n] = NULL;
}

void
cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void
cli_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%lld", t);
}

/* Splits http://HOST:PORT/VAULT into the server URL and the vault name. */
static void
parse_repo(struct cli *c, const char *repo)
{
	const char *p, *slash;

	if (repo == NULL || *repo == '\0')
		usage_die("no repository: give --repo http://HOST:PORT/VAULT or set "
		    "VAULT_REPOSITORY");
	if (strncmp(repo, "http://", 7) == 0)
		p = repo + 7;
	else if (strncmp(repo, "https://", 8) == 0)
		p = repo + 8;
	else
		usage_die("repository %s: it must start with http:// or https://", repo);
	slash = strchr(p, '/');
	if (slash == NULL || slash == p || slash[1] == '\0')
		usage_die("repository %s: it must name a vault, as http://HOST:PORT/VAULT", repo);
	c->url = strndup(repo, (size_t)(slash - repo));
	c->vault = strdup(slash + 1);
	if (c->url == NULL || c->vault == NULL)
		cli_die("out of memory");
	{
		size_t n = strlen(c->vault);

		if (n > 0 && c->vault[n - 1] == '/')
			c->vault[--n] = '\0';
		if (!vsp_name_valid(c->vault, n))
			usage_die("repository %s: `%s` is not a vault name (lowercase letters, "
			    "digits, . _ -)", repo, c->vault);
	}
}

/* Reads one line (the passphrase or token) without its newline. */
static size_t
read_secret_fd(FILE *f, char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, f) == NULL)
		return 0;
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return n;
}

static size_t
prompt(const char *what, char *buf, size_t len)
{
	FILE *tty = fopen("/dev/tty", "r+");
	struct termios old, noecho;
	size_t n;

	if (tty == NULL)
		cli_die("no passphrase: set VAULT_PASSWORD, --password-file or "
		    "--password-command (there is no terminal to ask on)");
	fprintf(tty, "%s", what);
	fflush(tty);
	tcgetattr(fileno(tty), &old);
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	n = read_secret_fd(tty, buf, len);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(tty, "\n");
	fclose(tty);
	return n;
}

/* Asks twice on the terminal; the answers must agree. */
static size_t
prompt_twice(const char *what, char *buf, size_t len)
{
	char again[PASS_MAX];
	size_t n = prompt(what, buf, len), m = prompt("the same again: ", again, sizeof(again));

	if (m != n || sodium_memcmp(again, buf, n) != 0)
		cli_die("the passphrases differ; nothing was changed");
	sodium_memzero(again, sizeof(again));
	return n;
}

/* The first line of a passphrase file (what: how to name it). */
static size_t
read_secret_file(const char *path, const char *what, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		cli_die("cannot read the %s file %s: %s", what, path, strerror(errno));
	n = read_secret_fd(f, buf, len);
	fclose(f);
	return n;
}

/* The passphrase, from the first source that is set. */
static size_t
get_passphrase(struct cli *c, char *buf, size_t len, int confirm)
{
	const char *env = getenv("VAULT_PASSWORD");
	const char *file = c->password_file ? c->password_file : getenv("VAULT_PASSWORD_FILE");
	const char *cmd = c->password_command ? c->password_command :
	    getenv("VAULT_PASSWORD_COMMAND");
	size_t n;

	if (file != NULL && *file != '\0')
		return read_secret_file(file, "passphrase", buf, len);
	if (cmd != NULL && *cmd != '\0') {
		FILE *p = popen(cmd, "r");
		int st;

		if (p == NULL)
			cli_die("cannot run the passphrase command: %s", strerror(errno));
		n = read_secret_fd(p, buf, len);
		st = pclose(p);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			cli_die("the passphrase command `%s` failed", cmd);
		return n;
	}
	if (env != NULL) {
		if (strlen(env) >= len)
			cli_die("VAULT_PASSWORD is too long");
		strcpy(buf, env);
		return strlen(buf);
	}
	if (!confirm)
		return prompt("vault passphrase: ", buf, len);
	if ((n = prompt_twice("new vault passphrase: ", buf, len)) == 0)
		cli_die("an empty passphrase is refused");
	return n;
}

size_t
cli_new_passphrase(struct cli *c, char *buf, size_t len)
{
	const char *env = getenv("VAULT_NEW_PASSWORD");
	size_t n;

	if (c->new_password_file != NULL) {
		n = read_secret_file(c->new_password_file, "new passphrase", buf, len);
	} else if (env != NULL) {
		if (strlen(env) >= len)
			cli_die("VAULT_NEW_PASSWORD is too long");
		strcpy(buf, env);
		n = strlen(buf);
	} else {
		n = prompt_twice("new passphrase: ", buf, len);
	}
	if (n == 0)
		cli_die("an empty passphrase is refused");
	return n;
}

static const char *
get_token(struct cli *c)
{
	static char buf[512];
	const char *file = c->token_file ? c->token_file : getenv("VAULT_TOKEN_FILE");

	if (c->token != NULL)
		return c->token;
	if (file != NULL && *file != '\0') {
		FILE *f = fopen(file, "r");

		if (f == NULL)
			cli_die("cannot read the token file %s: %s", file, strerror(errno));
		read_secret_fd(f, buf, sizeof(buf));
		fclose(f);
		return buf;
	}
	if (getenv("VAULT_TOKEN") != NULL)
		return getenv("VAULT_TOKEN");
	usage_die("no token: give --token, --token-file or set VAULT_TOKEN");
	return NULL;
}

/* 1 while a progress line is on the terminal: a message first clears it. */
static int progress_shown;

/*
 * The library's messages (report.h) go to standard error as they always
 * did: a progress line is redrawn in place, every other message is a line
 * of its own. Called from several threads; stdio's lock keeps lines whole.
 */
static void
cli_report(void *arg, enum vc_level level, const char *msg)
{
	(void)arg;
	flockfile(stderr);
	if (level == VC_LOG_PROGRESS) {
		fprintf(stderr, "\r\033[K%s", msg);
		progress_shown = *msg != '\0';
	} else {
		fprintf(stderr, "%s%s\n", progress_shown ? "\r\033[K" : "", msg);
	}
	fflush(stderr);
	funlockfile(stderr);
}

/* A number of milliseconds from the environment, or 0 (the default). */
static uint64_t
env_ms(const char *name)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? 0 : (uint64_t)v;
}

/* The key cache's directory (spec/client-crypto.md 9): VAULT_KEY_CACHE_DIR,
 * else $XDG_RUNTIME_DIR/vault (a per-user tmpfs); none with --no-key-cache,
 * an empty VAULT_KEY_CACHE_DIR, or neither set. */
static const char *
key_cache_dir(struct cli *c)
{
	const char *dir = getenv("VAULT_KEY_CACHE_DIR"), *run = getenv("XDG_RUNTIME_DIR");

	if (c->no_key_cache)
		return NULL;
	if (dir != NULL)
		return *dir != '\0' ? dir : NULL;
	if (run == NULL || *run != '/')
		return NULL;
	if ((size_t)snprintf(c->key_cache_dir, sizeof(c->key_cache_dir), "%s/vault", run) >=
	    sizeof(c->key_cache_dir))
		return NULL;
	return c->key_cache_dir;
}

static void
repo_opts(struct cli *c, struct vc_repo_opts *o, char *pw, size_t pwlen)
{
	uint64_t base = env_ms("VAULT_RETRY_BASE_MS");

	memset(o, 0, sizeof(*o));
	o->url = c->url;
	o->vault = c->vault;
	o->token = get_token(c);
	o->pw = (const uint8_t *)pw;
	o->pwlen = pwlen;
	o->parallel = c->parallel;
	o->cache_dir = c->cache_dir ? c->cache_dir : getenv("VAULT_CACHE_DIR");
	o->zstd_level = c->zstd_level;
	/* Transport tuning (spec/client.md 1); the library ignores
	 * out-of-range values. */
	o->retry_base_ms = base <= VC_REMOTE_RETRY_BASE_MAX ? (unsigned)base : 0;
	o->recall_wait_ms = env_ms("VAULT_RECALL_WAIT_MS");
	o->recall_poll_ms = env_ms("VAULT_RECALL_POLL_MS");
	o->report.fn = cli_report;
	o->accept_rollback = c->accept_rollback;
	o->key_label = c->label;
	o->key_cache_dir = key_cache_dir(c);
}

int
cli_open(struct cli *c, struct vc_repo **out)
{
	struct vc_repo_opts o;
	char pw[PASS_MAX], err[VC_ERR_LEN];
	size_t n = get_passphrase(c, pw, sizeof(pw), 0);
	int rc;

	repo_opts(c, &o, pw, n);
	rc = vc_repo_open(&o, out, err, sizeof(err));
	sodium_memzero(pw, sizeof(pw));
	if (rc != 0)
		cli_die("%s", err);
	return 0;
}

void
cli_list(struct vc_repo *r, struct vc_snapinfo **out, size_t *n)
{
	char err[VC_ERR_LEN];
	int rc = vc_repo_snapshots(r, out, n, err, sizeof(err));

	if (rc == VC_ROLLBACK) {
		fprintf(stderr, "vault: %s\n", err);
		exit(VAULT_EXIT_ROLLBACK);
	}
	if (rc != 0)
		cli_die("%s", err);
}

int
cli_snapshot(struct vc_repo *r, const char *spec, struct vc_snapinfo *out)
{
	struct vc_snapinfo *list = NULL;
	size_t n = 0;
	char err[VC_ERR_LEN];
	long i;

	cli_list(r, &list, &n);
	if ((i = vc_repo_find(list, n, spec, err, sizeof(err))) < 0)
		cli_die("%s", err);
	*out = list[i];
	memset(&list[i], 0, sizeof(list[i]));
	vc_snapinfo_free_all(list, n);
	return 0;
}

static int
cmd_init(struct cli *c)
{
	struct vc_repo_opts o;
	struct vc_kdf_params p;
	char pw[PASS_MAX], err[VC_ERR_LEN];
	size_t n = get_passphrase(c, pw, sizeof(pw), 1);
	int rc;

	if (n == 0)
		cli_die("an empty passphrase is refused: it would let anyone who reaches the "
		    "vault read the backups");
	vc_kdf_params_default(&p);
	if (c->kdf_ops)
		p.opslimit = c->kdf_ops;
	if (c->kdf_mem)
		p.memlimit = c->kdf_mem;
	repo_opts(c, &o, pw, n);
	rc = vc_repo_init(&o, &p, err, sizeof(err));
	sodium_memzero(pw, sizeof(pw));
	if (rc != 0)
		cli_die("%s", err);
	if (c->json)
		printf("{\"initialised\":true,\"vault\":\"%s\"}\n", c->vault);
	else if (!c->quiet)
		printf("vault %s at %s initialised. Keep the passphrase safe: without it the "
		    "backups cannot be read by anyone.\n", c->vault, c->url);
	return VAULT_EXIT_OK;
}

static void
print_backup(struct cli *c, const struct vc_backup_stats *st, int rc)
{
	char hex[65], par[65];
	double mb = (double)st->bytes / 1e6;

	vc_hex(st->snapshot, 0, hex);
	if (st->has_parent)
		vc_hex(st->parent, 0, par);
	if (c->json) {
		printf("{\"snapshot\":\"%s\",\"parent\":", hex);
		if (st->has_parent)
			printf("\"%s\"", par);
		else
			printf("null");
		printf(",\"files\":%llu,\"dirs\":%llu,\"others\":%llu,\"bytes\":%llu,"
		    "\"files_unchanged\":%llu,\"bytes_read\":%llu,\"chunks_new\":%llu,"
		    "\"bytes_new\":%llu,\"bytes_stored\":%llu,\"packs\":%llu,\"uploaded\":%llu,"
		    "\"errors\":%llu,\"attempts\":%u,\"seconds\":%.3f,\"partial\":%s}\n",
		    (unsigned long long)st->files, (unsigned long long)st->dirs,
		    (unsigned long long)st->others, (unsigned long long)st->bytes,
		    (unsigned long long)st->files_unchanged, (unsigned long long)st->bytes_read,
		    (unsigned long long)st->chunks_new, (unsigned long long)st->plain_new,
		    (unsigned long long)st->sealed_new, (unsigned long long)st->packs,
		    (unsigned long long)st->uploaded, (unsigned long long)st->errors,
		    st->attempts, st->seconds, rc == VC_BACKUP_PARTIAL ? "true" : "false");
		return;
	}
	if (c->quiet)
		return;
	if (st->has_parent)
		printf("snapshot %.8s saved (parent %.8s)\n", hex, par);
	else
		printf("snapshot %.8s saved\n", hex);
	printf("  %llu files (%llu unchanged), %llu dirs, %llu other; %.1f MB in %.1f s "
	    "(%.1f MB/s)\n", (unsigned long long)st->files,
	    (unsigned long long)st->files_unchanged, (unsigned long long)st->dirs,
	    (unsigned long long)st->others, mb, st->seconds,
	    st->seconds > 0 ? mb / st->seconds : 0.0);
	printf("  new: %llu chunks, %.1f MB (%.1f MB stored), %llu packs, %.1f MB uploaded\n",
	    (unsigned long long)st->chunks_new, (double)st->plain_new / 1e6,
	    (double)st->sealed_new / 1e6, (unsigned long long)st->packs,
	    (double)st->uploaded / 1e6);
	if (rc == VC_BACKUP_PARTIAL)
		printf("  %llu files or directories could not be read (named above); the "
		    "snapshot is partial\n", (unsigned long long)st->errors);
}

static int
cmd_backup(struct cli *c)
{
	struct vc_repo *r;
	struct vc_backup_opts o = { 0 };
	struct vc_backup_stats st;
	char err[VC_ERR_LEN];
	int rc;

	if (c->args.n == 0)
		usage_die("backup: name at least one path");
	/* Two 16 MiB packs in flight keep a link busy; more only cost memory. */
	if (c->parallel == 0)
		c->parallel = 2;
	cli_open(c, &r);
	o.paths = c->args.v;
	o.npaths = c->args.n;
	o.excludes = c->excludes.v;
	o.nexcludes = c->excludes.n;
	o.tags = c->tags.v;
	o.ntags = c->tags.n;
	o.one_fs = c->one_fs;
	o.force = c->force;
	o.parent = c->parent;
	o.hostname = c->host;
	o.time = c->time;
	o.threads = c->threads;
	o.progress = c->progress;
	o.verbose = c->verbose;
	rc = vc_backup(r, &o, &st, err, sizeof(err));
	vc_repo_close(r);
	if (rc == VC_ROLLBACK) {
		fprintf(stderr, "vault: backup refused: %s\n", err);
		exit(VAULT_EXIT_ROLLBACK);
	}
	if (rc < 0)
		cli_die("backup failed: %s", err);
	print_backup(c, &st, rc);
	return rc == VC_BACKUP_PARTIAL ? VAULT_EXIT_PARTIAL : VAULT_EXIT_OK;
}

static int
cmd_snapshots(struct cli *c)
{
	struct vc_repo *r;
	struct vc_snapinfo *s = NULL;
	size_t n = 0;

	cli_open(c, &r);
	cli_list(r, &s, &n);
	if (c->json)
		printf("[");
	else if (!c->quiet)
		printf("%-8s  %-19s  %-16s  %10s  %s\n", "ID", "time", "host", "size", "paths");
	for (size_t i = 0; i < n; i++) {
		const struct vc_snapbody *b = &s[i].body;
		char hex[65], when[64];

		vc_hex(s[i].id, 0, hex);
		if (c->json) {
			printf("%s{\"id\":\"%s\",\"time\":%lld,\"hostname\":", i ? "," : "", hex,
			    (long long)b->time);
			cli_json_str(stdout, b->hostname);
			printf(",\"username\":");
			cli_json_str(stdout, b->username);
			printf(",\"paths\":[");
			for (size_t j = 0; j < b->npaths; j++) {
				printf("%s", j ? "," : "");
				cli_json_str(stdout, b->paths[j]);
			}
			printf("],\"tags\":[");
			for (size_t j = 0; j < b->ntags; j++) {
				printf("%s", j ? "," : "");
				cli_json_str(stdout, b->tags[j]);
			}
			printf("],\"files\":%llu,\"dirs\":%llu,\"bytes\":%llu,\"errors\":%llu,"
			    "\"seq\":%llu}", (unsigned long long)b->files, (unsigned long long)b->dirs,
			    (unsigned long long)b->bytes, (unsigned long long)b->errors,
			    (unsigned long long)b->seq);
			continue;
		}
		cli_time(b->time, when, sizeof(when));
		printf("%.8s  %-19s  %-16s  %8.1f MB ", hex, when, b->hostname,
		    (double)b->bytes / 1e6);
		for (size_t j = 0; j < b->npaths; j++)
			printf(" %s", b->paths[j]);
		for (size_t j = 0; j < b->ntags; j++)
			printf("%s%s", j ? "," : "  [", b->tags[j]);
		printf("%s%s\n", b->ntags ? "]" : "", b->errors ? "  (partial)" : "");
	}
	if (c->json)
		printf("]\n");
	else if (!c->quiet)
		printf("%zu snapshots\n", n);
	vc_snapinfo_free_all(s, n);
	vc_repo_close(r);
	return VAULT_EXIT_OK;
}

/* Deletes the snapshots named by the arguments from one listing, then
 * moves the heads of their groups back (spec/client.md 4.1), so that this
 * client's own forget is not taken for a rollback. */
static int
cmd_forget(struct cli *c)
{
	struct vc_repo *r;
	struct vc_snapinfo *list = NULL;
	unsigned char *gone;
	size_t n = 0;
	char err[VC_ERR_LEN];
	int failed = 0;

	if (c->args.n == 0)
		usage_die("forget: name at least one snapshot");
	cli_open(c, &r);
	cli_list(r, &list, &n);
	if ((gone = calloc(n + 1, 1)) == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < c->args.n; i++) {
		struct vc_snapinfo *s;
		char hex[65];
		long at;
		int rc;

		if ((at = vc_repo_find(list, n, c->args.v[i], err, sizeof(err))) < 0)
			cli_die("%s", err);
		s = &list[at];
		vc_hex(s->id, 0, hex);
		rc = vc_remote_delete(r->remote, VSP_KIND_SNAPSHOT, s->id);
		if (rc == 0 || rc == VC_R_NOTFOUND) {
			gone[at] = 1;
			if (c->json)
				printf("{\"forgotten\":\"%s\"}\n", hex);
			else if (!c->quiet)
				printf("snapshot %.8s forgotten; the vault's garbage collector frees "
				    "its data once no snapshot needs it\n", hex);
		} else {
			fprintf(stderr, "vault: cannot forget snapshot %.8s: %s\n", hex,
			    vc_remote_error(r->remote));
			failed = 1;
		}
	}
	if (vc_chain_forgot(r, list, n, gone) != 0)
		fprintf(stderr, "vault: the local cache could not record what was forgotten; "
		    "the next run may call it a rollback (then use --accept-rollback)\n");
	free(gone);
	vc_snapinfo_free_all(list, n);
	vc_repo_close(r);
	return failed ? VAULT_EXIT_ERROR : VAULT_EXIT_OK;
}

enum {
	OPT_TOKEN = 256, OPT_TOKEN_FILE, OPT_PW_FILE, OPT_PW_CMD, OPT_CACHE, OPT_JSON,
	OPT_PARALLEL, OPT_THREADS, OPT_TAG, OPT_FORCE, OPT_PARENT, OPT_HOST, OPT_TIME,
	OPT_TARGET, OPT_INCLUDE, OPT_READ_DATA, OPT_KDF_OPS, OPT_KDF_MEM, OPT_COMPRESSION,
	OPT_ACCEPT_ROLLBACK, OPT_LABEL, OPT_RECOVERY, OPT_NEW_PW_FILE, OPT_NO_KEY_CACHE, OPT_HELP
};

static const struct option long_opts[] = {
	{ "repo", required_argument, NULL, 'r' },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "password-file", required_argument, NULL, OPT_PW_FILE },
	{ "password-command", required_argument, NULL, OPT_PW_CMD },
	{ "cache-dir", required_argument, NULL, OPT_CACHE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "exclude", required_argument, NULL, 'e' },
	{ "one-file-system", no_argument, NULL, 'x' },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "parent", required_argument, NULL, OPT_PARENT },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "include", required_argument, NULL, OPT_INCLUDE },
	{ "read-data", no_argument, NULL, OPT_READ_DATA },
	{ "long", no_argument, NULL, 'l' },
	{ "kdf-ops", required_argument, NULL, OPT_KDF_OPS },
	{ "kdf-mem", required_argument, NULL, OPT_KDF_MEM },
	{ "compression", required_argument, NULL, OPT_COMPRESSION },
	{ "accept-rollback", no_argument, NULL, OPT_ACCEPT_ROLLBACK },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "recovery", no_argument, NULL, OPT_RECOVERY },
	{ "new-password-file", required_argument, NULL, OPT_NEW_PW_FILE },
	{ "no-key-cache", no_argument, NULL, OPT_NO_KEY_CACHE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

static unsigned long long
number(const char *opt, const char *s, unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		usage_die("--%s: `%s` is not a number from 0 to %llu", opt, s, max);
	return v;
}

static void
parse_args(struct cli *c, int argc, char **argv)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "r:qve:xl", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'r': parse_repo(c, optarg); break;
		case OPT_TOKEN: c->token = optarg; break;
		case OPT_TOKEN_FILE: c->token_file = optarg; break;
		case OPT_PW_FILE: c->password_file = optarg; break;
		case OPT_PW_CMD: c->password_command = optarg; break;
		case OPT_CACHE: c->cache_dir = optarg; break;
		case OPT_JSON: c->json = 1; break;
		case 'q': c->quiet = 1; break;
		case 'v': c->verbose = 1; break;
		case OPT_PARALLEL: c->parallel = (unsigned)number("parallel", optarg, 64); break;
		case OPT_THREADS: c->threads = (unsigned)number("threads", optarg, 256); break;
		case 'e': strv_push(&c->excludes, optarg); break;
		case 'x': c->one_fs = 1; break;
		case OPT_TAG: strv_push(&c->tags, optarg); break;
		case OPT_FORCE: c->force = 1; break;
		case OPT_PARENT: c->parent = optarg; break;
		case OPT_HOST: c->host = optarg; break;
		case OPT_TIME: c->time = (long long)number("time", optarg, INT64_MAX); break;
		case OPT_TARGET: c->target = optarg; break;
		case OPT_INCLUDE: strv_push(&c->includes, optarg); break;
		case OPT_READ_DATA: c->read_data = 1; break;
		case 'l': c->long_list = 1; break;
		case OPT_KDF_OPS: c->kdf_ops = number("kdf-ops", optarg, VC_KDF_OPSLIMIT_MAX); break;
		case OPT_KDF_MEM: c->kdf_mem = number("kdf-mem", optarg, VC_KDF_MEMLIMIT_MAX); break;
		case OPT_COMPRESSION:
			c->zstd_level = (int)number("compression", optarg, 19);
			break;
		case OPT_ACCEPT_ROLLBACK: c->accept_rollback = 1; break;
		case OPT_LABEL: c->label = optarg; break;
		case OPT_RECOVERY: c->recovery = 1; break;
		case OPT_NEW_PW_FILE: c->new_password_file = optarg; break;
		case OPT_NO_KEY_CACHE: c->no_key_cache = 1; break;
		case OPT_HELP: fputs(usage_text, stdout); exit(VAULT_EXIT_OK);
		default: usage_die("unknown option");
		}
	}
	if (optind >= argc)
		usage_die("no command given");
	c->cmd = argv[optind++];
	for (; optind < argc; optind++)
		strv_push(&c->args, argv[optind]);
	if (!c->quiet && !c->json && isatty(STDERR_FILENO))
		c->progress = 1;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct cli *);
	} cmds[] = {
		{ "init", cmd_init }, { "backup", cmd_backup }, { "snapshots", cmd_snapshots },
		{ "ls", cmd_ls }, { "restore", cmd_restore }, { "cat", cmd_cat },
		{ "diff", cmd_diff }, { "check", cmd_check }, { "forget", cmd_forget },
		{ "key", cmd_key }, { "mount", cmd_mount },
	};
	/* Static, so that what the options point to stays reachable until
	 * exit (cli_die may exit from anywhere). */
	static struct cli c;

	/* Pack buffers (about 21 MiB) are mapped and unmapped whole, so memory
	 * a burst took goes back to the system; chunk buffers (up to 8 MiB) come
	 * from the heap and are reused. glibc's default threshold would rise
	 * to the pack size after the first free and keep every pack's memory. */
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
	if (sodium_init() < 0)
		cli_die("libsodium cannot initialise");
	if (argc >= 2 && (strcmp(argv[1], "help") == 0)) {
		fputs(usage_text, stdout);
		return VAULT_EXIT_OK;
	}
	parse_args(&c, argc, argv);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(c.cmd, cmds[i].name) == 0) {
			int rc;

			if (c.url == NULL)
				parse_repo(&c, getenv("VAULT_REPOSITORY"));
			rc = cmds[i].fn(&c);

			if (fflush(stdout) != 0 || ferror(stdout))
				cli_die("cannot write to standard output: %s", strerror(errno));
			return rc;
		}
	}
	usage_die("unknown command `%s`", c.cmd);
	return VAULT_EXIT_USAGE;
}
