#ifndef OPTIONS_H
#define OPTIONS_H
/* vaultd's settings: vaultd.conf, then command-line flags on top. */
#include <limits.h>
#include <stddef.h>

#include "conf.h"
#include "handlers.h"
#include "log.h"
#include "server.h"

#define OPTIONS_LISTEN_MAX 16

enum {
	OPT_MAXOBJ = 256,
	OPT_RESERVE,
	OPT_MAXCONN,
	OPT_HDR,
	OPT_IDLE,
	OPT_BODY,
	OPT_PORTFILE,
	OPT_LOGTO,
};

struct options {
	const char *conf_path;       /* NULL: built-in defaults */
	int check_only;              /* -n */
	struct conf *conf;           /* owned; handed to the policy source */
	char data_dir[PATH_MAX];
	char objects_dir[PATH_MAX];  /* "" = DATA/objects */
	struct conf_listen listens[OPTIONS_LISTEN_MAX];
	size_t nlistens;
	struct server_config server; /* host and port are set per listener */
	uint64_t max_object_size;    /* the store's limits (handlers.h) */
	uint64_t reserve_bytes;
	enum log_dest log_to;        /* --log-to, when OPTIONS_SET_LOGTO */
	unsigned flags_set;          /* OPTIONS_SET_* bits: what a flag set */
	const char *port_file;
};

/* Settings a command-line flag gave: they win over the file at start-up and
 * at every reload. */
#define OPTIONS_SET_MAXOBJ 0x01u
#define OPTIONS_SET_RESERVE 0x02u
#define OPTIONS_SET_MAXCONN 0x04u
#define OPTIONS_SET_HDR 0x08u
#define OPTIONS_SET_IDLE 0x10u
#define OPTIONS_SET_BODY 0x20u
#define OPTIONS_SET_LOGTO 0x40u

/*
 * Fills o from the configuration file named by -c (or the defaults) and the
 * flags in argv. With -n, prints whether the configuration is valid and
 * exits. Returns 0, or -1 after printing what is wrong.
 */
int options_parse(int argc, char **argv, struct options *o);

/*
 * The settings a reload of c puts in force (spec/vaultd.conf.md, "Reload"):
 * c's object size limit, reserve, connection cap and timeouts, except those
 * a flag set, which keep the flag's value. Fills *max_object_size,
 * *reserve_bytes and the limits of *server (host, port and access_log are
 * copied from o).
 */
void options_reloaded(const struct options *o, const struct conf *c,
    uint64_t *max_object_size, uint64_t *reserve_bytes, struct server_config *server);

/* Where the log goes with c in force: --log-to if given, else c's log-to
 * (spec/logging.md). */
enum log_dest options_log_to(const struct options *o, const struct conf *c);

#endif
