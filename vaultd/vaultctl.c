/*
 * vaultctl: the operator's command-line client for vaultd's admin socket
 * (spec/admin.md). One request line out, one response line back, over a
 * plain blocking Unix socket.
 *
 * Exit status: 0 success, 1 an error answer or a failure to talk to vaultd,
 * 2 a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define EXIT_USAGE 2
#define SOCK_NAME "vaultd.sock"
#define DEFAULT_SOCK "./var/" SOCK_NAME
#define IO_TIMEOUT_S 60
/* A scrub answers when it has read everything at scrub-rate: hours, maybe. */
#define SCRUB_TIMEOUT_S (7L * 24 * 3600)

static long io_timeout_s = IO_TIMEOUT_S;
#define RESP_MAX (64u << 20) /* a listing of very many vaults still fits */
#define READ_CHUNK 4096
#define CELL_MAX 96
#define COLS_MAX 7

struct opts {
	const char *sock;
	char *sock_buf; /* sock when built from a directory; freed by main */
	int json;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vaultctl [-d DATADIR | -s SOCKET] [--json] COMMAND ...\n"
	    "\n"
	    "commands:\n"
	    "  gc [TENANT [VAULT]] [--dry-run]\n"
	    "                                 collect garbage now and report what was freed\n"
	    "  posture [TENANT [VAULT]]       backup posture per vault: RPO, replication lag,\n"
	    "                                 last full scrub, under-copied objects, policy\n"
	    "  replicate TENANT VAULT [TARGET]\n"
	    "                                 queue every object of the vault its target(s)\n"
	    "                                 lack (seed or re-sync); says how many\n"
	    "  scrub [TENANT [VAULT]]         re-read and verify every stored copy now,\n"
	    "                                 repair bad ones, and report\n"
	    "  status                         daemon status, totals and replication\n"
	    "  tier [TENANT [VAULT]]          move the packs a tiering policy says are due now\n"
	    "  tier locations TENANT VAULT    each pack of the vault and the backend(s) holding it\n"
	    "  tenant add NAME                create a tenant\n"
	    "  tenant list                    list tenants\n"
	    "  tenant remove NAME             remove a tenant without vaults, and its tokens\n"
	    "  token issue TENANT [--vault V] [--scopes read,append,delete,admin|all]\n"
	    "                                 issue a token; only the token goes to stdout\n"
	    "  token list [TENANT]            list tokens (never their secrets)\n"
	    "  token revoke ID                revoke the token with this 16-hex-digit ID\n"
	    "  vault list [TENANT]            list vaults\n"
	    "  help                           show this text\n"
	    "\n"
	    "options:\n"
	    "  -d DATADIR   talk to the vaultd whose data directory is DATADIR\n"
	    "  -s SOCKET    talk to the admin socket SOCKET\n"
	    "  --json       print vaultd's JSON answer as it is\n"
	    "\n"
	    "The socket defaults to $VAULT_DATA/" SOCK_NAME " if VAULT_DATA is set, else "
	    DEFAULT_SOCK ".\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a usage error; returns EXIT_USAGE for main to return. */
static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vaultctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'vaultctl help'.\n", stderr);
	return EXIT_USAGE;
}

/* ------------------------------------------------------------------ */
/* Talking to vaultd.                                                  */
/* ------------------------------------------------------------------ */

/* Connects to the admin socket. Returns the descriptor, or -1 with a message. */
static int
admin_connect(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = {.tv_sec = io_timeout_s};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "vaultctl: socket path %s is longer than %zu bytes\n", path,
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "vaultctl: socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;
		fprintf(stderr, "vaultctl: cannot connect to %s: %s%s\n", path, strerror(e),
		    e == ENOENT || e == ECONNREFUSED ? " (is vaultd running?)" :
		    e == EACCES ? " (run vaultctl as the user vaultd runs as)" : "");
		close(fd);
		return -1;
	}
	/* vaultd answers at once; a hung daemon must not hang a script forever. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "vaultctl: sending the request: %s\n",
			    errno == EAGAIN ? "timed out" : strerror(errno));
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one line (without its '\n') into a new buffer; *len gets its length.
 * Returns NULL with a message on failure. */
static char *
recv_line(int fd, size_t *len)
{
	char *buf = NULL, *nl = NULL;
	size_t used = 0, cap = 0;

	while (nl == NULL) {
		ssize_t n;
		if (cap - used < READ_CHUNK) {
			char *p;
			if (cap >= RESP_MAX) {
				fprintf(stderr, "vaultctl: the answer is larger than %u bytes\n",
				    RESP_MAX);
				goto err0;
			}
			cap = cap == 0 ? 2 * READ_CHUNK : 2 * cap;
			if ((p = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "vaultctl: out of memory\n");
				goto err0;
			}
			buf = p;
		}
		n = recv(fd, buf + used, cap - used, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "vaultctl: reading the answer: %s\n", errno == EAGAIN ?
			    "vaultd did not answer in time" : strerror(errno));
			goto err0;
		}
		if (n == 0) {
			fprintf(stderr, "vaultctl: vaultd closed the connection without answering\n");
			goto err0;
		}
		nl = memchr(buf + used, '\n', (size_t)n);
		used += (size_t)n;
	}
	*len = (size_t)(nl - buf);
	return buf;

err0:
	free(buf);
	return NULL;
}

/* Sends req and returns vaultd's answer object, or NULL with a message. */
static json_t *
roundtrip(const char *sock, const json_t *req)
{
	json_error_t jerr;
	json_t *resp = NULL;
	char *out, *line;
	size_t len;
	int fd;

	if ((out = json_dumps(req, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "vaultctl: out of memory\n");
		goto err0;
	}
	if ((fd = admin_connect(sock)) < 0)
		goto err1;
	if (send_all(fd, out, strlen(out)) != 0 || send_all(fd, "\n", 1) != 0)
		goto err2;
	if ((line = recv_line(fd, &len)) == NULL)
		goto err2;
	resp = json_loadb(line, len, 0, &jerr);
	free(line);
	if (resp == NULL || !json_is_object(resp) ||
	    !json_is_boolean(json_object_get(resp, "ok"))) {
		fprintf(stderr, "vaultctl: vaultd sent an answer that is not a response object\n");
		json_decref(resp);
		resp = NULL;
	}
err2:
	close(fd);
err1:
	free(out);
err0:
	return resp;
}

/* ------------------------------------------------------------------ */
/* Printing.                                                           */
/* ------------------------------------------------------------------ */

static const char *
str(const json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : dflt;
}

static json_int_t
num(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

static void
fmt_time(json_int_t t, char out[CELL_MAX])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, CELL_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, CELL_MAX, "%lld", (long long)t);
}

static void
fmt_size(json_int_t bytes, char out[CELL_MAX])
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(out, CELL_MAX, "%lld B", (long long)bytes);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(out, CELL_MAX, "%.1f %s", v, units[u]);
}

/* One table: a heading per column, and a function filling a row's cells
 * from an item of the answer's array. Columns flagged right are numbers. */
struct table {
	size_t ncols;
	const char *heads[COLS_MAX];
	int right[COLS_MAX];
	void (*row)(const json_t *item, char cells[][CELL_MAX]);
};

static void
table_line(const struct table *t, const int *width, const char *const *cell)
{
	for (size_t c = 0; c < t->ncols; c++) {
		/* A left-aligned last column gets no trailing blanks. */
		int w = c + 1 == t->ncols && !t->right[c] ? 0 : width[c];
		printf("%s%*s", c ? "  " : "", t->right[c] ? w : -w, cell[c]);
	}
	putchar('\n');
}

static void
table_print(const struct table *t, const json_t *items, const char *none)
{
	char cells[COLS_MAX][CELL_MAX];
	const char *cell[COLS_MAX];
	int width[COLS_MAX];
	const json_t *item;
	size_t i, c;

	if (json_array_size(items) == 0) {
		fprintf(stderr, "%s\n", none);
		return;
	}
	for (c = 0; c < t->ncols; c++) {
		width[c] = (int)strlen(t->heads[c]);
		cell[c] = cells[c];
	}
	json_array_foreach(items, i, item) {
		t->row(item, cells);
		for (c = 0; c < t->ncols; c++)
			if ((int)strlen(cells[c]) > width[c])
				width[c] = (int)strlen(cells[c]);
	}
	table_line(t, width, t->heads);
	json_array_foreach(items, i, item) {
		t->row(item, cells);
		table_line(t, width, cell);
	}
}

static void
tenant_row(const json_t *o, char cells[][CELL_MAX])
{
	snprintf(cells[0], CELL_MAX, "%s", str(o, "name", "?"));
	snprintf(cells[1], CELL_MAX, "%lld", (long long)num(o, "vaults"));
	snprintf(cells[2], CELL_MAX, "%lld", (long long)num(o, "tokens"));
	fmt_time(num(o, "created"), cells[3]);
}

static void
token_row(const json_t *o, char cells[][CELL_MAX])
{
	snprintf(cells[0], CELL_MAX, "%s", str(o, "id", "?"));
	snprintf(cells[1], CELL_MAX, "%s", str(o, "tenant", "?"));
	snprintf(cells[2], CELL_MAX, "%s", str(o, "vault", "*"));
	snprintf(cells[3], CELL_MAX, "%s", str(o, "scopes", "?"));
	fmt_time(num(o, "created"), cells[4]);
}

static void
vault_row(const json_t *o, char cells[][CELL_MAX])
{
	snprintf(cells[0], CELL_MAX, "%s", str(o, "tenant", "?"));
	snprintf(cells[1], CELL_MAX, "%s", str(o, "name", "?"));
	snprintf(cells[2], CELL_MAX, "%lld", (long long)num(o, "objects"));
	fmt_size(num(o, "bytes"), cells[3]);
	snprintf(cells[4], CELL_MAX, "%s", json_is_true(json_object_get(o, "config")) ?
	    "yes" : "no");
	fmt_time(num(o, "created"), cells[5]);
}

static const struct table tenant_table = {
	4, {"TENANT", "VAULTS", "TOKENS", "CREATED"}, {0, 1, 1, 0}, tenant_row};
static const struct table token_table = {
	5, {"ID", "TENANT", "VAULT", "SCOPES", "CREATED"}, {0, 0, 0, 0, 0}, token_row};
static const struct table vault_table = {
	6, {"TENANT", "VAULT", "OBJECTS", "SIZE", "CONFIG", "CREATED"}, {0, 0, 1, 1, 0, 0},
	vault_row};

/* A duration in seconds as "45s", "12m", "3h" or "2d". */
static void
fmt_age(long long s, char out[CELL_MAX])
{
	if (s < 120)
		snprintf(out, CELL_MAX, "%llds", s);
	else if (s < 7200)
		snprintf(out, CELL_MAX, "%lldm", s / 60);
	else if (s < 172800)
		snprintf(out, CELL_MAX, "%lldh", s / 3600);
	else
		snprintf(out, CELL_MAX, "%lldd", s / 86400);
}

static void
repl_row(const json_t *o, char cells[][CELL_MAX])
{
	const char *err = str(o, "last_error", NULL);

	snprintf(cells[0], CELL_MAX, "%s", str(o, "target", "?"));
	snprintf(cells[1], CELL_MAX, "%lld", (long long)num(o, "queue"));
	snprintf(cells[2], CELL_MAX, "%lld", (long long)num(o, "failed"));
	fmt_size(num(o, "bytes_pending"), cells[3]);
	fmt_age(num(o, "oldest_pending_age"), cells[4]);
	snprintf(cells[5], CELL_MAX, "%lld", (long long)num(o, "done"));
	snprintf(cells[6], CELL_MAX, "%s", err != NULL ? err : "-");
}

static const struct table repl_table = {
	7, {"TARGET", "QUEUE", "FAILED", "PENDING", "LAG", "DONE", "LAST ERROR"},
	{0, 1, 1, 1, 1, 1, 0}, repl_row};

static void
print_status(const json_t *r)
{
	const char *key;
	json_t *v;
	int width = 0;

	json_object_foreach((json_t *)r, key, v)
		if (strcmp(key, "ok") != 0 && (int)strlen(key) > width)
			width = (int)strlen(key);
	json_object_foreach((json_t *)r, key, v) {
		char *s;
		if (strcmp(key, "ok") == 0 || strcmp(key, "replication") == 0)
			continue;
		printf("%-*s  ", width + 1, key);
		if (json_is_string(v)) {
			printf("%s\n", json_string_value(v));
		} else if (json_is_integer(v) && strcmp(key, "bytes") == 0) {
			char size[CELL_MAX];
			fmt_size(json_integer_value(v), size);
			printf("%lld (%s)\n", (long long)json_integer_value(v), size);
		} else if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL) {
			printf("%s\n", s);
			free(s);
		} else {
			putchar('\n');
		}
	}
}

static void
print_scrub(const json_t *r)
{
	char size[CELL_MAX];
	size_t i;
	json_t *p;

	fmt_size(num(r, "bytes"), size);
	printf("scrubbed %lld vault(s) (%lld fully): %lld object(s), %lld copies, %s; %lld bad, "
	    "%lld repaired, %lld unrepaired; %.1f s\n", (long long)num(r, "vaults"),
	    (long long)num(r, "vaults_full"), (long long)num(r, "objects"),
	    (long long)num(r, "copies"), size, (long long)num(r, "bad"),
	    (long long)num(r, "repaired"), (long long)num(r, "unrepaired"),
	    json_number_value(json_object_get(r, "seconds")));
	json_array_foreach(json_object_get(r, "problems"), i, p) {
		printf("bad copy: %s/%s %s %s on backend %lld: %s; ", str(p, "tenant", "?"),
		    str(p, "vault", "?"), str(p, "kind", "?"), str(p, "id", "?"),
		    (long long)num(p, "backend"), str(p, "reason", "?"));
		if (json_is_true(json_object_get(p, "repaired")))
			printf("repaired from %s\n", str(p, "source", "?"));
		else
			printf("NOT repaired: %s\n", str(p, "repair_error", "?"));
	}
}

static void
print_posture_vault(const json_t *v)
{
	const json_t *sc = json_object_get(v, "scrub"), *cp = json_object_get(v, "copies");
	const json_t *last = json_object_get(v, "last_snapshot");
	char a[CELL_MAX], b[CELL_MAX];
	size_t i;
	json_t *t;

	printf("%s/%s: %s\n", str(v, "tenant", "?"), str(v, "vault", "?"),
	    strcmp(str(v, "state", ""), "ok") == 0 ? "OK" : "ATTENTION");
	if (json_is_integer(last)) {
		fmt_time(json_integer_value(last), a);
		fmt_age(num(v, "last_snapshot_age"), b);
		printf("  last snapshot   %s (%s ago); %s\n", a, b, str(v, "rpo_text", "?"));
	} else {
		printf("  last snapshot   none; %s\n", str(v, "rpo_text", "?"));
	}
	fmt_size(num(v, "bytes"), a);
	printf("  contents        %lld snapshot(s), %lld object(s), %s\n",
	    (long long)num(v, "snapshots"), (long long)num(v, "objects"), a);
	json_array_foreach(json_object_get(v, "replication"), i, t) {
		fmt_age(num(t, "oldest_pending_age"), a);
		printf("  replication     %s: queue %lld, failed %lld, lag %s, last error: %s\n",
		    str(t, "target", "?"), (long long)num(t, "queue"), (long long)num(t, "failed"),
		    a, str(t, "last_error", "-"));
	}
	if (json_is_integer(json_object_get(sc, "last_full")))
		fmt_time(num(sc, "last_full"), a);
	else
		snprintf(a, CELL_MAX, "never");
	printf("  last full scrub %s; %lld bad cop%s unrepaired\n", a,
	    (long long)num(sc, "bad_copies"), num(sc, "bad_copies") == 1 ? "y" : "ies");
	if (json_is_integer(json_object_get(cp, "want")))
		printf("  copies          %lld of %lld object(s) below %lld healthy copies\n",
		    (long long)num(cp, "under"), (long long)num(cp, "objects"),
		    (long long)num(cp, "want"));
	printf("  policy          %s\n", str(v, "policy", "?"));
	json_array_foreach(json_object_get(v, "problems"), i, t)
		printf("  problem         %s\n", json_string_value(t));
}

/* Prints a successful answer to op for a person. */
static void
print_human(const char *op, const json_t *r)
{
	if (strcmp(op, "scrub") == 0)
		print_scrub(r);
	if (strcmp(op, "posture") == 0) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(r, "vaults"), i, v)
			print_posture_vault(v);
		if (json_array_size(json_object_get(r, "vaults")) == 0)
			printf("no vaults\n");
	}
	if (strcmp(op, "status") == 0 || strcmp(op, "gc") == 0)
		print_status(r);
	if (strcmp(op, "tier") == 0)
		print_status(r);
	if (strcmp(op, "tier.locations") == 0) {
		size_t i, j;
		json_t *o, *l;
		json_array_foreach(json_object_get(r, "objects"), i, o) {
			printf("%s", str(o, "id", "?"));
			json_array_foreach(json_object_get(o, "locations"), j, l)
				printf("%c%s", j == 0 ? ' ' : ',', json_string_value(l));
			putchar('\n');
		}
	}
	if (strcmp(op, "status") == 0 && json_array_size(json_object_get(r, "replication")) > 0) {
		printf("\nreplication:\n");
		table_print(&repl_table, json_object_get(r, "replication"), "");
	}
	if (strcmp(op, "replicate") == 0) {
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(r, "targets"), i, t)
			printf("queued %lld object(s) of %s/%s for target %s\n",
			    (long long)num(t, "queued"), str(r, "tenant", "?"), str(r, "vault", "?"),
			    str(t, "target", "?"));
	}
	else if (strcmp(op, "tenant.add") == 0)
		printf("added tenant %s\n", str(r, "name", "?"));
	else if (strcmp(op, "tenant.list") == 0)
		table_print(&tenant_table, json_object_get(r, "tenants"), "no tenants");
	else if (strcmp(op, "tenant.remove") == 0)
		printf("removed tenant %s and revoked its %lld token%s\n", str(r, "name", "?"),
		    (long long)num(r, "tokens_revoked"), num(r, "tokens_revoked") == 1 ? "" : "s");
	else if (strcmp(op, "token.issue") == 0) {
		/* Only the secret on stdout, so that $(vaultctl token issue ...) works. */
		printf("%s\n", str(r, "token", ""));
		fprintf(stderr, "issued token %s for tenant %s, vault %s, scopes %s\n"
		    "The token is shown only now; store it safely.\n", str(r, "id", "?"),
		    str(r, "tenant", "?"), str(r, "vault", "* (any)"), str(r, "scopes", "?"));
	} else if (strcmp(op, "token.list") == 0)
		table_print(&token_table, json_object_get(r, "tokens"), "no tokens");
	else if (strcmp(op, "token.revoke") == 0)
		printf("revoked token %s\n", str(r, "id", "?"));
	else if (strcmp(op, "vault.list") == 0)
		table_print(&vault_table, json_object_get(r, "vaults"), "no vaults");
}

/* ------------------------------------------------------------------ */
/* Commands.                                                           */
/* ------------------------------------------------------------------ */

/* Builds the token.issue request from TENANT [--vault V] [--scopes S]. */
static int
parse_token_issue(int argc, char **argv, json_t *req)
{
	const char *tenant = NULL, *vault = NULL, *scopes = NULL;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], **dst = NULL, *val = NULL;
		if (strncmp(a, "--vault", 7) == 0 && (a[7] == '\0' || a[7] == '='))
			dst = &vault, val = a[7] == '=' ? a + 8 : NULL;
		else if (strncmp(a, "--scopes", 8) == 0 && (a[8] == '\0' || a[8] == '='))
			dst = &scopes, val = a[8] == '=' ? a + 9 : NULL;
		else if (a[0] == '-')
			return usage_error("token issue: unknown option %s", a);
		else if (tenant == NULL)
			tenant = a;
		else
			return usage_error("token issue: unexpected argument %s", a);
		if (dst == NULL)
			continue;
		if (val == NULL && ++i == argc)
			return usage_error("token issue: %s needs a value", a);
		*dst = val != NULL ? val : argv[i];
	}
	if (tenant == NULL)
		return usage_error("token issue: which tenant?");
	if (json_object_set_new(req, "tenant", json_string(tenant)) != 0 ||
	    (vault != NULL && json_object_set_new(req, "vault", json_string(vault)) != 0) ||
	    (scopes != NULL && json_object_set_new(req, "scopes", json_string(scopes)) != 0))
		return usage_error("arguments must be valid UTF-8");
	return 0;
}

/* Builds the gc request from [TENANT [VAULT]] [--dry-run]. */
static int
parse_gc(int argc, char **argv, json_t *req)
{
	const char *pos[2] = { NULL, NULL };
	int npos = 0, dry = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else if (argv[i][0] == '-')
			return usage_error("gc: unknown option %s", argv[i]);
		else if (npos == 2)
			return usage_error("gc: unexpected argument %s", argv[i]);
		else
			pos[npos++] = argv[i];
	}
	if ((pos[0] != NULL && json_object_set_new(req, "tenant", json_string(pos[0])) != 0) ||
	    (pos[1] != NULL && json_object_set_new(req, "vault", json_string(pos[1])) != 0) ||
	    (dry && json_object_set_new(req, "dry_run", json_true()) != 0))
		return usage_error("arguments must be valid UTF-8");
	return 0;
}

/* Builds a scrub or posture request from [TENANT [VAULT]]. */
static int
parse_scope(const char *op, int argc, char **argv, json_t *req)
{
	if (argc > 2)
		return usage_error("usage: vaultctl %s [TENANT [VAULT]]", op);
	for (int i = 0; i < argc; i++)
		if (argv[i][0] == '-')
			return usage_error("%s: unknown option %s", op, argv[i]);
	if ((argc > 0 && json_object_set_new(req, "tenant", json_string(argv[0])) != 0) ||
	    (argc > 1 && json_object_set_new(req, "vault", json_string(argv[1])) != 0))
		return usage_error("arguments must be valid UTF-8");
	return 0;
}

/* Builds the replicate request from TENANT VAULT [TARGET]. */
static int
parse_replicate(int argc, char **argv, json_t *req)
{
	static const char *const fields[] = { "tenant", "vault", "target" };

	if (argc < 2 || argc > 3)
		return usage_error("usage: vaultctl replicate TENANT VAULT [TARGET]");
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '-')
			return usage_error("replicate: unknown option %s", argv[i]);
		if (json_object_set_new(req, fields[i], json_string(argv[i])) != 0)
			return usage_error("arguments must be valid UTF-8");
	}
	return 0;
}

/*
 * The commands: words typed, the op sent, and the one positional argument
 * (if any) with the request field it fills. Arity is checked here; every
 * value is validated by vaultd, which holds the one copy of the rules.
 */
static const struct command {
	const char *word1, *word2;
	const char *op;
	const char *arg;      /* field of the positional argument, or NULL */
	int arg_required;
	const char *synopsis;
} commands[] = {
	{"gc", NULL, "gc", NULL, 0, "gc [TENANT [VAULT]] [--dry-run]"},
	{"posture", NULL, "posture", NULL, 0, "posture [TENANT [VAULT]]"},
	{"replicate", NULL, "replicate", NULL, 0, "replicate TENANT VAULT [TARGET]"},
	{"scrub", NULL, "scrub", NULL, 0, "scrub [TENANT [VAULT]]"},
	{"status", NULL, "status", NULL, 0, "status"},
	{"tier", "locations", "tier.locations", NULL, 0, "tier locations TENANT VAULT"},
	{"tier", NULL, "tier", NULL, 0, "tier [TENANT [VAULT]]"},
	{"tenant", "add", "tenant.add", "name", 1, "tenant add NAME"},
	{"tenant", "list", "tenant.list", NULL, 0, "tenant list"},
	{"tenant", "remove", "tenant.remove", "name", 1, "tenant remove NAME"},
	{"token", "issue", "token.issue", NULL, 0, "token issue TENANT [--vault V] [--scopes S]"},
	{"token", "list", "token.list", "tenant", 0, "token list [TENANT]"},
	{"token", "revoke", "token.revoke", "id", 1, "token revoke ID"},
	{"vault", "list", "vault.list", "tenant", 0, "vault list [TENANT]"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *
find_command(int argc, char **argv, int *used)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];
		if (strcmp(argv[0], c->word1) != 0)
			continue;
		if (c->word2 == NULL) {
			*used = 1;
			return c;
		}
		if (argc > 1 && strcmp(argv[1], c->word2) == 0) {
			*used = 2;
			return c;
		}
	}
	return NULL;
}

/* Reports an unknown command, listing the forms that start with its word. */
static int
unknown_command(int argc, char **argv)
{
	int known = 0;

	for (size_t i = 0; i < NCOMMANDS; i++)
		known |= strcmp(argv[0], commands[i].word1) == 0;
	if (!known)
		return usage_error("unknown command '%s'", argv[0]);
	fprintf(stderr, "vaultctl: %s%s%s: unknown command; the %s commands are:\n", argv[0],
	    argc > 1 ? " " : "", argc > 1 ? argv[1] : "", argv[0]);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[0], commands[i].word1) == 0)
			fprintf(stderr, "  vaultctl %s\n", commands[i].synopsis);
	return EXIT_USAGE;
}

/* Builds the request for argv (the command and its arguments) into *out.
 * Returns 0, or EXIT_USAGE after a message. */
static int
build_request(int argc, char **argv, const struct command **cmdp, json_t **out)
{
	const struct command *cmd = NULL;
	json_t *req;
	int used, rc;

	if ((cmd = find_command(argc, argv, &used)) == NULL)
		return unknown_command(argc, argv);
	argc -= used;
	argv += used;
	if ((req = json_pack("{s:s}", "op", cmd->op)) == NULL)
		return usage_error("out of memory");
	if (strcmp(cmd->op, "token.issue") == 0) {
		rc = parse_token_issue(argc, argv, req);
	} else if (strcmp(cmd->op, "gc") == 0 || strncmp(cmd->op, "tier", 4) == 0) {
		rc = parse_gc(argc, argv, req);
	} else if (strcmp(cmd->op, "scrub") == 0 || strcmp(cmd->op, "posture") == 0) {
		rc = parse_scope(cmd->op, argc, argv, req);
	} else if (strcmp(cmd->op, "replicate") == 0) {
		rc = parse_replicate(argc, argv, req);
	} else if (argc > (cmd->arg != NULL) || (cmd->arg_required && argc == 0)) {
		rc = usage_error("usage: vaultctl %s", cmd->synopsis);
	} else if (argc == 1 && argv[0][0] == '-') {
		rc = usage_error("%s: unknown option %s", cmd->synopsis, argv[0]);
	} else {
		rc = 0;
		if (argc == 1 && json_object_set_new(req, cmd->arg, json_string(argv[0])) != 0)
			rc = usage_error("arguments must be valid UTF-8");
	}
	if (rc != 0) {
		json_decref(req);
		return rc;
	}
	*cmdp = cmd;
	*out = req;
	return 0;
}

/* The socket from -d, -s, $VAULT_DATA or the default; *buf holds a built path. */
static const char *
socket_path(const char *dir, const char *sock, char **buf)
{
	const char *env = getenv("VAULT_DATA");

	*buf = NULL;
	if (sock != NULL)
		return sock;
	if (dir == NULL && env != NULL && env[0] != '\0')
		dir = env;
	if (dir == NULL)
		return DEFAULT_SOCK;
	if (asprintf(buf, "%s/%s", dir, SOCK_NAME) < 0) {
		*buf = NULL;
		return NULL;
	}
	return *buf;
}

/* Parses the options before the command; *argi gets the command's index. */
static int
parse_opts(int argc, char **argv, struct opts *o, int *argi)
{
	const char *dir = NULL, *sock = NULL;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			o->json = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if ((strcmp(a, "-d") == 0 || strcmp(a, "-s") == 0)) {
			if (i + 1 == argc)
				return usage_error("option %s needs a value", a);
			*(a[1] == 'd' ? &dir : &sock) = argv[++i];
		} else if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else {
			return usage_error("unknown option %s", a);
		}
	}
	if (dir != NULL && sock != NULL)
		return usage_error("give -d or -s, not both");
	if (i == argc)
		return usage_error("no command given");
	if ((o->sock = socket_path(dir, sock, &o->sock_buf)) == NULL)
		return usage_error("out of memory");
	*argi = i;
	return 0;
}

int
main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct opts o = {0};
	json_t *req = NULL, *resp;
	int argi = 0, rc, n = 0;

	if ((rc = parse_opts(argc, argv, &o, &argi)) != 0)
		return rc;
	/* --json may also follow the command. */
	for (int i = argi; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			o.json = 1;
		else
			argv[argi + n++] = argv[i];
	}
	if (n == 0)
		return usage_error("no command given");
	if (strcmp(argv[argi], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if ((rc = build_request(n, argv + argi, &cmd, &req)) != 0)
		goto done;
	if (strcmp(cmd->op, "scrub") == 0)
		io_timeout_s = SCRUB_TIMEOUT_S;
	resp = roundtrip(o.sock, req);
	json_decref(req);
	rc = 1;
	if (resp == NULL)
		goto done;
	rc = json_is_true(json_object_get(resp, "ok")) ? 0 : 1;
	if (o.json) {
		json_dumpf(resp, stdout, JSON_COMPACT);
		putchar('\n');
	} else if (rc == 0) {
		print_human(cmd->op, resp);
	}
	if (rc != 0)
		fprintf(stderr, "vaultctl: %s\n", str(resp, "error", "vaultd gave no reason"));
	json_decref(resp);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vaultctl: writing output: %s\n", strerror(errno));
		rc = 1;
	}
done:
	free(o.sock_buf);
	return rc;
}
