/*
 * vaultd's settings: vaultd.conf (or the built-in defaults) first, then the
 * command-line flags on top, so that a test or a one-off run can change one
 * thing without writing a file.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vaultd [options]\n"
	    "  -c, --config FILE         read settings, policies and tenants from FILE\n"
	    "                            (spec/vaultd.conf.md); SIGHUP reloads it\n"
	    "  -n, --check               check the configuration and exit\n"
	    "  -d, --data DIR            data directory (default ./var)\n"
	    "  -l, --listen HOST:PORT    HTTP listen address (default 127.0.0.1:8420;\n"
	    "                            port 0 picks a free port); replaces the file's\n"
	    "      --port-file FILE      write the bound port to FILE once listening\n"
	    "      --max-object-size N   largest object in bytes (default 1 GiB)\n"
	    "      --reserve N           free bytes kept back; uploads beyond get 507\n"
	    "                            (default 64 MiB)\n"
	    "      --max-connections N   default 1024\n"
	    "      --header-timeout S    seconds for a request head (default 10)\n"
	    "      --idle-timeout S      keep-alive idle seconds (default 60)\n"
	    "      --body-timeout S      seconds without body progress (default 30)\n"
	    "  -v, --access-log          log every request, not only those answered 5xx\n"
	    "      --log-to DEST         stderr or syslog (default: the file's log-to,\n"
	    "                            else stderr; spec/logging.md)\n"
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
	if (hlen >= sizeof(o->listens[0].host) ||
	    parse_u64_arg("--listen port", colon + 1, &port) != 0 || port > 65535) {
		fprintf(stderr, "vaultd: bad listen address '%s'\n", s);
		return -1;
	}
	memcpy(o->listens[0].host, s, hlen);
	o->listens[0].host[hlen] = '\0';
	o->listens[0].port = (int)port;
	o->nlistens = 1;
	return 0;
}

/* Finds -c FILE and -n before anything else, since the file's values are
 * the defaults the other flags override. */
static void
prescan(int argc, char **argv, struct options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
			o->conf_path = argv[++i];
		else if (strncmp(a, "--config=", 9) == 0)
			o->conf_path = a + 9;
		else if (strcmp(a, "-n") == 0 || strcmp(a, "--check") == 0)
			o->check_only = 1;
	}
}

void
options_reloaded(const struct options *o, const struct conf *c, uint64_t *max_object_size,
    uint64_t *reserve_bytes, struct server_config *server)
{
	unsigned f = o->flags_set;

	*server = o->server;
	*max_object_size = f & OPTIONS_SET_MAXOBJ ? o->max_object_size : c->max_object_size;
	*reserve_bytes = f & OPTIONS_SET_RESERVE ? o->reserve_bytes : c->reserve;
	if (!(f & OPTIONS_SET_MAXCONN))
		server->max_connections = c->max_connections;
	if (!(f & OPTIONS_SET_HDR))
		server->header_timeout_ms = c->header_timeout_ms;
	if (!(f & OPTIONS_SET_IDLE))
		server->idle_timeout_ms = c->idle_timeout_ms;
	if (!(f & OPTIONS_SET_BODY))
		server->body_timeout_ms = c->body_timeout_ms;
}

enum log_dest
options_log_to(const struct options *o, const struct conf *c)
{
	enum log_dest d = LOG_TO_STDERR;

	if (o->flags_set & OPTIONS_SET_LOGTO)
		return o->log_to;
	(void)log_dest_parse(c->log_to, &d); /* the parser let only the two through */
	return d;
}

/* Copies the file's settings; the policies stay in o->conf. */
static int
from_conf(struct options *o)
{
	const struct conf *c = o->conf;
	size_t n;

	n = strlen(c->data_dir);
	if (n >= sizeof(o->data_dir))
		return -1;
	memcpy(o->data_dir, c->data_dir, n + 1);
	o->nlistens = c->nlistens < OPTIONS_LISTEN_MAX ? c->nlistens : OPTIONS_LISTEN_MAX;
	if (c->nlistens > OPTIONS_LISTEN_MAX)
		fprintf(stderr, "vaultd: only the first %d listen lines are used\n",
		    OPTIONS_LISTEN_MAX);
	for (size_t i = 0; i < o->nlistens; i++)
		o->listens[i] = c->listens[i];
	options_reloaded(o, c, &o->max_object_size, &o->reserve_bytes, &o->server);
	/* The first backend is the hot one; the others are cold tiers that
	 * main.c opens (spec/tiering.md). A location is one bit of 32. */
	if (c->nbackends > 32) {
		fprintf(stderr, "vaultd: at most 32 backends can be declared\n");
		return -1;
	}
	if (c->nbackends >= 1)
		snprintf(o->objects_dir, sizeof(o->objects_dir), "%s", c->backends[0].path);
	return 0;
}

static int
load_conf(struct options *o)
{
	char err[1024];

	if (o->conf_path == NULL) {
		if ((o->conf = conf_default()) == NULL) {
			fprintf(stderr, "vaultd: out of memory\n");
			return -1;
		}
	} else if (conf_load(o->conf_path, &o->conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultd: %s\n", err);
		return -1;
	}
	if (from_conf(o) != 0)
		return -1;
	if (o->check_only) {
		if (conf_posture_exposed(o->conf, err, sizeof(err)))
			fprintf(stderr, "vaultd: %s\n", err);
		printf("vaultd: %s: the configuration is valid (%zu policies, %zu tenants, "
		    "%zu replication targets)\n",
		    o->conf_path != NULL ? o->conf_path : "built-in defaults", o->conf->npolicies,
		    o->conf->ntenants, o->conf->ntargets);
		exit(0);
	}
	return 0;
}

/* One command-line flag on top of the file's settings. */
static int
apply_flag(struct options *o, int ch, const char *arg)
{
	uint64_t v;

	switch (ch) {
	case 'c': case 'n': return 0; /* taken by prescan */
	case 'd': return snprintf(o->data_dir, sizeof(o->data_dir), "%s", arg) <
	    (int)sizeof(o->data_dir) ? 0 : -1;
	case 'l': return parse_listen(o, arg);
	case 'v': o->server.access_log = 1; return 0;
	case 'h': usage(stdout); exit(0);
	case OPT_PORTFILE: o->port_file = arg; return 0;
	case OPT_LOGTO:
		if (log_dest_parse(arg, &o->log_to) == 0)
			return 0;
		fprintf(stderr, "vaultd: --log-to wants stderr or syslog, not '%s'\n", arg);
		return -1;
	case OPT_MAXOBJ: return parse_u64_arg("--max-object-size", arg, &o->max_object_size);
	case OPT_RESERVE: return parse_u64_arg("--reserve", arg, &o->reserve_bytes);
	case OPT_MAXCONN:
		if (parse_u64_arg("--max-connections", arg, &v) != 0)
			return -1;
		if (v == 0 || v > 1000000) {
			fprintf(stderr, "vaultd: --max-connections must be 1..1000000\n");
			return -1;
		}
		o->server.max_connections = (unsigned)v;
		return 0;
	case OPT_HDR: return parse_seconds("--header-timeout", arg, &o->server.header_timeout_ms);
	case OPT_IDLE: return parse_seconds("--idle-timeout", arg, &o->server.idle_timeout_ms);
	case OPT_BODY: return parse_seconds("--body-timeout", arg, &o->server.body_timeout_ms);
	default: usage(stderr); return -1;
	}
}

/* The OPTIONS_SET_* bit of a flag, 0 for the others. */
static unsigned
flag_bit(int ch)
{
	switch (ch) {
	case OPT_MAXOBJ: return OPTIONS_SET_MAXOBJ;
	case OPT_RESERVE: return OPTIONS_SET_RESERVE;
	case OPT_MAXCONN: return OPTIONS_SET_MAXCONN;
	case OPT_HDR: return OPTIONS_SET_HDR;
	case OPT_IDLE: return OPTIONS_SET_IDLE;
	case OPT_BODY: return OPTIONS_SET_BODY;
	case OPT_LOGTO: return OPTIONS_SET_LOGTO;
	default: return 0;
	}
}

int
options_parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'n'},
		{"data", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"port-file", required_argument, NULL, OPT_PORTFILE},
		{"max-object-size", required_argument, NULL, OPT_MAXOBJ},
		{"reserve", required_argument, NULL, OPT_RESERVE},
		{"max-connections", required_argument, NULL, OPT_MAXCONN},
		{"header-timeout", required_argument, NULL, OPT_HDR},
		{"idle-timeout", required_argument, NULL, OPT_IDLE},
		{"body-timeout", required_argument, NULL, OPT_BODY},
		{"access-log", no_argument, NULL, 'v'},
		{"log-to", required_argument, NULL, OPT_LOGTO},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	prescan(argc, argv, o);
	if (load_conf(o) != 0)
		return -1;
	while ((ch = getopt_long(argc, argv, "c:nd:l:vh", longopts, NULL)) != -1) {
		if (apply_flag(o, ch, optarg) != 0)
			return -1;
		o->flags_set |= flag_bit(ch);
	}
	if (optind != argc) {
		fprintf(stderr, "vaultd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->nlistens == 0) {
		fprintf(stderr, "vaultd: nothing to listen on\n");
		return -1;
	}
	return 0;
}
