#ifndef OPTIONS_H
#define OPTIONS_H
/* vaultd's settings: vaultd.conf, then command-line flags on top. */
#include <limits.h>
#include <stddef.h>

#include "conf.h"
#include "handlers.h"
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
	struct store_limits limits;
	const char *port_file;
};

/*
 * Fills o from the configuration file named by -c (or the defaults) and the
 * flags in argv. With -n, prints whether the configuration is valid and
 * exits. Returns 0, or -1 after printing what is wrong.
 */
int options_parse(int argc, char **argv, struct options *o);

#endif
