/*
 * vaultd: the Vault Storage Protocol daemon. Start-up wires together the
 * data directory (LMDB metadata, fs backend, server key), the HTTP server and
 * the admin socket, then runs the libuv loop until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "admin.h"
#include "auth.h"
#include "backend.h"
#include "handlers.h"
#include "meta.h"
#include "server.h"

#define DEFAULT_DATA_DIR "./var"
#define DEFAULT_LISTEN "127.0.0.1:8420"
#define DEFAULT_MAX_OBJECT (1024ULL * 1024 * 1024)
#define DEFAULT_RESERVE (64ULL * 1024 * 1024)
#define DEFAULT_THREADS "16"

struct options {
	const char *data_dir;
	char host[256];
	int port;
	struct server_config server;
	struct store_limits limits;
	const char *port_file;
};

struct daemon {
	uv_loop_t *loop;
	struct server *server;
	struct admin *admin;
	uv_signal_t sigint, sigterm;
	int stopping;
	int pending_stops;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vaultd [options]\n"
	    "  -d, --data DIR            data directory (default " DEFAULT_DATA_DIR ")\n"
	    "  -l, --listen HOST:PORT    HTTP listen address (default " DEFAULT_LISTEN ";\n"
	    "                            port 0 picks a free port)\n"
	    "      --port-file FILE      write the bound port to FILE once listening\n"
	    "      --max-object-size N   largest object in bytes (default 1 GiB)\n"
	    "      --reserve N           free bytes kept back; uploads beyond get 507\n"
	    "                            (default 64 MiB)\n"
	    "      --max-connections N   default 1024\n"
	    "      --header-timeout S    seconds for a request head (default 10)\n"
	    "      --idle-timeout S      keep-alive idle seconds (default 60)\n"
	    "      --body-timeout S      seconds without body progress (default 30)\n"
	    "  -v, --access-log          log every request to stderr\n"
	    "  -h, --help\n");
}

static int
parse_u64_arg(const char *name, const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
		fprintf(stderr, "vaultd: %s wants a whole number, not '%s'\n", name, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_seconds(const char *name, const char *s, unsigned *ms)
{
	uint64_t v;
	if (parse_u64_arg(name, s, &v) != 0)
		return -1;
	if (v == 0 || v > 86400) {
		fprintf(stderr, "vaultd: %s must be 1..86400 seconds\n", name);
		return -1;
	}
	*ms = (unsigned)(v * 1000);
	return 0;
}

static int
parse_listen(struct options *o, const char *s)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;
	size_t hlen;

	if (colon == NULL || colon == s) {
		fprintf(stderr, "vaultd: --listen wants HOST:PORT, not '%s'\n", s);
		return -1;
	}
	hlen = (size_t)(colon - s);
	if (s[0] == '[' && hlen >= 2 && s[hlen - 1] == ']') {
		s++;
		hlen -= 2;
	}
	if (hlen >= sizeof(o->host) || parse_u64_arg("--listen port", colon + 1, &port) != 0 ||
	    port > 65535) {
		fprintf(stderr, "vaultd: bad listen address '%s'\n", s);
		return -1;
	}
	memcpy(o->host, s, hlen);
	o->host[hlen] = '\0';
	o->port = (int)port;
	return 0;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	enum { O_MAXOBJ = 256, O_RESERVE, O_MAXCONN, O_HDR, O_IDLE, O_BODY, O_PORTFILE };
	static const struct option longopts[] = {
		{"data", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"port-file", required_argument, NULL, O_PORTFILE},
		{"max-object-size", required_argument, NULL, O_MAXOBJ},
		{"reserve", required_argument, NULL, O_RESERVE},
		{"max-connections", required_argument, NULL, O_MAXCONN},
		{"header-timeout", required_argument, NULL, O_HDR},
		{"idle-timeout", required_argument, NULL, O_IDLE},
		{"body-timeout", required_argument, NULL, O_BODY},
		{"access-log", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->data_dir = getenv("VAULT_DATA") ? getenv("VAULT_DATA") : DEFAULT_DATA_DIR;
	parse_listen(o, DEFAULT_LISTEN);
	o->limits.max_object_size = DEFAULT_MAX_OBJECT;
	o->limits.reserve_bytes = DEFAULT_RESERVE;
	o->server.max_connections = 1024;
	o->server.header_timeout_ms = 10000;
	o->server.idle_timeout_ms = 60000;
	o->server.body_timeout_ms = 30000;
	while ((ch = getopt_long(argc, argv, "d:l:vh", longopts, NULL)) != -1) {
		int rc = 0;
		switch (ch) {
		case 'd': o->data_dir = optarg; break;
		case 'l': rc = parse_listen(o, optarg); break;
		case 'v': o->server.access_log = 1; break;
		case 'h': usage(stdout); exit(0);
		case O_PORTFILE: o->port_file = optarg; break;
		case O_MAXOBJ: rc = parse_u64_arg("--max-object-size", optarg, &o->limits.max_object_size); break;
		case O_RESERVE: rc = parse_u64_arg("--reserve", optarg, &o->limits.reserve_bytes); break;
		case O_MAXCONN:
			rc = parse_u64_arg("--max-connections", optarg, &v);
			if (rc == 0 && (v == 0 || v > 1000000)) {
				fprintf(stderr, "vaultd: --max-connections must be 1..1000000\n");
				rc = -1;
			}
			o->server.max_connections = (unsigned)v;
			break;
		case O_HDR: rc = parse_seconds("--header-timeout", optarg, &o->server.header_timeout_ms); break;
		case O_IDLE: rc = parse_seconds("--idle-timeout", optarg, &o->server.idle_timeout_ms); break;
		case O_BODY: rc = parse_seconds("--body-timeout", optarg, &o->server.body_timeout_ms); break;
		default: usage(stderr); return -1;
		}
		if (rc != 0)
			return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "vaultd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	o->server.host = o->host;
	o->server.port = o->port;
	return 0;
}

static int
path_join(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "vaultd: path too long: %s/%s\n", dir, name);
		return -1;
	}
	return 0;
}

/* Takes an exclusive lock on DIR/vaultd.lock so that two daemons never share
 * one data directory. The descriptor stays open for the daemon's life. */
static int
lock_data_dir(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "vaultd: create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (path_join(path, sizeof(path), dir, "vaultd.lock") != 0)
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "vaultd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "vaultd: %s is in use by another vaultd\n", dir);
		close(fd);
		return -1;
	}
	return fd;
}

static void
on_stopped(void *arg)
{
	struct daemon *d = arg;
	if (--d->pending_stops == 0)
		uv_stop(d->loop);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (d->stopping) {
		fprintf(stderr, "vaultd: second signal; exiting now\n");
		exit(1);
	}
	fprintf(stderr, "vaultd: %s: finishing requests in progress, then exiting\n",
	    strsignal(signum));
	d->stopping = 1;
	d->pending_stops = 2;
	uv_signal_stop(&d->sigint);
	uv_signal_stop(&d->sigterm);
	server_stop(d->server, on_stopped, d);
	admin_stop(d->admin, on_stopped, d);
}

static void
status_cb(json_t *obj, void *arg)
{
	struct daemon *d = arg;
	/* server_stop frees the server when it is done; no status after. */
	if (d->server != NULL && !d->stopping)
		server_status(d->server, obj);
}

static int
write_port_file(const char *path, int port)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (path_join(tmp, sizeof(tmp), path, "") != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		fprintf(stderr, "vaultd: write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Opens the data directory's parts into store. */
static int
open_store(const char *dir, struct store *store)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), dir, "server.key") != 0 ||
	    auth_server_key_load(path, store->server_key) != 0)
		return -1;
	if (path_join(path, sizeof(path), dir, "meta") != 0)
		return -1;
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "vaultd: create %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (meta_open(path, 0, &store->meta) != META_OK) {
		fprintf(stderr, "vaultd: cannot open the metadata in %s\n", path);
		return -1;
	}
	if (path_join(path, sizeof(path), dir, "objects") != 0)
		return -1;
	if ((store->backend = backend_fs_open(path)) == NULL) {
		fprintf(stderr, "vaultd: cannot open the object store %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
start_services(struct daemon *d, struct options *o, struct store *store)
{
	char sock[PATH_MAX];
	struct admin_ctx actx = {.meta = store->meta, .server_key = store->server_key,
	    .status = status_cb, .status_arg = d};

	if ((d->server = server_start(d->loop, &o->server, store)) == NULL)
		return -1;
	if (path_join(sock, sizeof(sock), o->data_dir, "vaultd.sock") != 0 ||
	    (d->admin = admin_start(d->loop, sock, &actx)) == NULL)
		return -1;
	if (o->port_file != NULL && write_port_file(o->port_file, server_port(d->server)) != 0)
		return -1;
	uv_signal_init(d->loop, &d->sigint);
	uv_signal_init(d->loop, &d->sigterm);
	d->sigint.data = d->sigterm.data = d;
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	fprintf(stderr, "vaultd %s: listening on http://%s:%d, data in %s, admin socket %s\n",
	    VAULTD_VERSION, o->host, server_port(d->server), o->data_dir, sock);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options opts;
	struct daemon d;
	struct store store;
	int lockfd, rc = 1;

	memset(&d, 0, sizeof(d));
	memset(&store, 0, sizeof(store));
	if (parse_options(argc, argv, &opts) != 0)
		return 2;
	/* Disk and hash work runs on the threadpool; more threads than cores
	 * keep the disk busy while some threads wait on fsync. */
	setenv("UV_THREADPOOL_SIZE", DEFAULT_THREADS, 0);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "vaultd: libsodium failed to start\n");
		return 1;
	}
	if ((lockfd = lock_data_dir(opts.data_dir)) < 0)
		return 1;
	store.limits = opts.limits;
	d.loop = uv_default_loop();
	if (open_store(opts.data_dir, &store) != 0 || start_services(&d, &opts, &store) != 0)
		goto out;
	uv_run(d.loop, UV_RUN_DEFAULT);
	rc = 0;
out:
	uv_loop_close(d.loop);
	backend_free(store.backend);
	meta_close(store.meta);
	sodium_memzero(store.server_key, sizeof(store.server_key));
	close(lockfd);
	return rc;
}
