#ifndef CONF_H
#define CONF_H
/*
 * The operator configuration file, vaultd.conf (spec/vaultd.conf.md): a
 * pure parser from text to a struct conf. It opens no socket and touches no
 * data directory; the daemon decides what to do with the result (start up,
 * `vaultd -n`, or swap it in on SIGHUP and keep the old one on an error).
 *
 * Every error is one line, "FILE:LINE: sentence", that quotes the offending
 * word; errors about the file as a whole (unreadable, too large) are
 * "FILE: sentence". Parsing stops at the first error.
 */
#include <stddef.h>
#include <stdint.h>

#include "vsp.h"

/* Limits on what a file may hold; going past one is an error. */
#define CONF_FILE_MAX (1024 * 1024)   /* bytes in the whole file */
#define CONF_LINE_MAX 4096            /* bytes on one line, without the newline */
#define CONF_LISTENS_MAX 64
#define CONF_BACKENDS_MAX 256
#define CONF_POLICIES_MAX 1000
#define CONF_TENANTS_MAX 10000
#define CONF_VAULTS_MAX 10000         /* per tenant */
#define CONF_KEEP_MAX 1000000         /* largest keep-* count */
#define CONF_CONNECTIONS_MAX 1000000  /* largest max-connections */
#define CONF_TIMEOUT_MAX (24 * 3600)  /* seconds; timeouts are 1s..1d */
#define CONF_PATH_MAX 4096            /* bytes in a path, with the NUL */
#define CONF_HOST_MAX 256             /* bytes in a listen host, with the NUL */
#define CONF_TARGETS_MAX 64           /* target blocks */
#define CONF_REPLICATE_MAX 8          /* targets one policy may name */
#define CONF_WORKERS_MAX 64           /* largest replicate-workers */
#define CONF_URL_MAX 512              /* bytes in a target URL, with the NUL */
#define CONF_PREFIX_MAX 256           /* bytes in an S3 key prefix, with the NUL */
#define CONF_TOKEN_MAX 256            /* bytes of a target's bearer token */

/* Defaults for what the file leaves out. */
#define CONF_DEFAULT_LISTEN_HOST "127.0.0.1"
#define CONF_DEFAULT_LISTEN_PORT 8420
#define CONF_DEFAULT_DATA_DIR "./var"
#define CONF_DEFAULT_MAX_OBJECT_SIZE (1024ULL * 1024 * 1024)
#define CONF_DEFAULT_RESERVE (64ULL * 1024 * 1024)
#define CONF_DEFAULT_VERIFY_BEFORE_SEND 0ULL
#define CONF_DEFAULT_HEADER_TIMEOUT_MS 10000u
#define CONF_DEFAULT_IDLE_TIMEOUT_MS 60000u
#define CONF_DEFAULT_BODY_TIMEOUT_MS 30000u
#define CONF_DEFAULT_MAX_CONNECTIONS 1024u
#define CONF_DEFAULT_GC_GRACE (24 * 3600ULL) /* seconds */
#define CONF_DEFAULT_REPLICATE_WORKERS 4u
#define CONF_DEFAULT_LOG_TO "stderr"
#define CONF_DEFAULT_SCRUB_RATE (50ULL * 1024 * 1024) /* bytes per second */
#define CONF_COPIES_MAX 33            /* largest copies: 32 backends and a replica */

struct conf_listen {
	char host[CONF_HOST_MAX];     /* without the brackets of an IPv6 address */
	int port;                     /* 0..65535; 0 = any free port */
};

#define CONF_DEFAULT_CARTRIDGE_SIZE (1024ULL * 1024 * 1024) /* archive */

/*
 * A storage backend. The first one in the file is the hot one (type fs):
 * uploads go there. A backend's index in conf.backends is its bit in an
 * object's locations (spec/storage.md), so backends are only ever added
 * at the end of the list. type "fs" and "archive" use path; "archive" also
 * cartridge_size; "s3" the S3 fields, as a target of type s3 does.
 */
struct conf_backend {
	char name[VSP_NAME_MAX + 1];
	char type[16];                /* "fs", "archive" or "s3" */
	char path[CONF_PATH_MAX];
	uint64_t cartridge_size;      /* archive: bytes per cartridge */
	char endpoint[CONF_URL_MAX];   /* s3: http(s)://HOST[:PORT] */
	char region[VSP_NAME_MAX + 1]; /* s3 */
	char bucket[VSP_NAME_MAX + 1]; /* s3 */
	char prefix[CONF_PREFIX_MAX];  /* s3, may be "" */
	int path_style;                /* s3 */
	char credentials_file[CONF_PATH_MAX]; /* s3 */
};

/*
 * A retention policy. Counts and durations of 0 mean "not set": no such keep
 * rule, no lock, no periodic GC (gc_every). gc_grace is always the value in
 * force: the file's, else CONF_DEFAULT_GC_GRACE. quota bounds each vault the
 * policy applies to (0 = none).
 */
struct conf_policy {
	char name[VSP_NAME_MAX + 1];
	unsigned keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly,
	    keep_yearly;
	uint64_t keep_within, lock, gc_grace, gc_every; /* seconds */
	uint64_t quota;                                  /* bytes, 0 = none */
	/* Tiering (spec/tiering.md): packs move to the backend tier_to ("" =
	 * none; never the first backend) once every condition set holds. */
	char tier_to[VSP_NAME_MAX + 1];
	uint64_t tier_after;  /* seconds since receipt (or recall); 0 = not set */
	uint64_t tier_idle;   /* seconds since the last read; 0 = not set */
	/* Replication targets (names of target blocks, checked to exist). */
	char replicate_to[CONF_REPLICATE_MAX][VSP_NAME_MAX + 1];
	unsigned nreplicate;
	/* Scrub and posture (spec/scrub.md, spec/posture.md); 0 = not set. */
	uint64_t scrub_every, rpo;        /* seconds */
	unsigned copies;                  /* healthy copies each object should have */
};

/*
 * A replication target (spec/replication.md). type "vault": another vaultd
 * at url (http://HOST:PORT), into the vault named vault ("" = the source
 * vault's own name), with the token read from token_file. type "s3": an S3
 * bucket, keys prefix + "<tenant>/<vault>/<kind>/<id>" (s3/s3.h).
 */
struct conf_target {
	char name[VSP_NAME_MAX + 1];
	char type[8];                  /* "vault" or "s3" */
	char url[CONF_URL_MAX];        /* vault */
	char vault[VSP_NAME_MAX + 1];  /* vault; "" = same name as the source */
	char token_file[CONF_PATH_MAX];/* vault */
	char endpoint[CONF_URL_MAX];   /* s3: http(s)://HOST[:PORT] */
	char region[VSP_NAME_MAX + 1]; /* s3 */
	char bucket[VSP_NAME_MAX + 1]; /* s3 */
	char prefix[CONF_PREFIX_MAX];  /* s3, may be "" */
	int path_style;                /* s3: 1 = https://endpoint/bucket/key */
	char credentials_file[CONF_PATH_MAX]; /* s3 */
};

struct conf_vault {
	char name[VSP_NAME_MAX + 1];
	const struct conf_policy *policy;  /* into conf.policies, or NULL */
	uint64_t quota;                    /* bytes, 0 = none */
};

struct conf_tenant {
	char name[VSP_NAME_MAX + 1];
	const struct conf_policy *policy;  /* into conf.policies, or NULL */
	uint64_t quota;                    /* tenant-wide, bytes, 0 = none */
	struct conf_vault *vaults;
	size_t nvaults;
};

/* Arrays keep the order of the file. */
struct conf {
	struct conf_listen *listens;       /* at least one */
	size_t nlistens;
	char data_dir[CONF_PATH_MAX];
	uint64_t max_object_size, reserve; /* bytes */
	uint64_t verify_before_send;       /* bytes; 0: every GET is checked as it streams */
	unsigned header_timeout_ms, idle_timeout_ms, body_timeout_ms;
	unsigned max_connections;
	struct conf_backend *backends;     /* none: the daemon uses fs in DATA/objects */
	size_t nbackends;
	struct conf_policy *policies;
	size_t npolicies;
	struct conf_tenant *tenants;
	size_t ntenants;
	struct conf_target *targets;
	size_t ntargets;
	uint64_t replicate_bandwidth;      /* bytes per second, 0 = no cap */
	unsigned replicate_workers;        /* parallel transfers */
	uint64_t scrub_rate;               /* bytes per second scrub reads, 0 = no cap */
	uint64_t tier_rate;                /* bytes per second moved to cold tiers, 0 = no cap */
	int has_posture_listen;            /* posture-listen given: serve the page */
	struct conf_listen posture_listen;
	char log_to[8];                    /* "stderr" (the default) or "syslog" */
};

/* The index of the backend named name in c->backends, or -1. */
int conf_backend_index(const struct conf *c, const char *name);

/* The target named name, or NULL. */
const struct conf_target *conf_target_find(const struct conf *c, const char *name);

/*
 * Parses len bytes of text (no NUL needed; a NUL byte in it is an error),
 * read from the file named path, which is used only in messages. On success
 * returns 0 and sets *out to a new struct conf, which the caller frees with
 * conf_free(). On failure returns -1, leaves *out alone and writes one line,
 * "path:line: message" (or "out of memory"), to err (errlen bytes, truncated
 * if need be; err may be NULL when errlen is 0).
 */
int conf_parse(const char *path, const char *text, size_t len, struct conf **out,
    char *err, size_t errlen);

/*
 * Reads the file at path (at most CONF_FILE_MAX bytes) and parses it as
 * conf_parse() does. Returns 0 and *out, or -1 with "path: reason" or
 * "path:line: message" in err.
 */
int conf_load(const char *path, struct conf **out, char *err, size_t errlen);

/* Returns a new struct conf holding the built-in defaults (what an empty
 * file gives), for conf_free(); NULL if out of memory. */
struct conf *conf_default(void);

/* Frees c and everything in it. conf_free(NULL) does nothing. */
void conf_free(struct conf *c);

/*
 * The policy that applies to vault of tenant: the vault's own, else the
 * tenant's, else NULL (also NULL for a tenant the file does not name). The
 * returned pointer lives as long as c. If tenant_quota is not NULL, sets it
 * to the tenant-wide quota; if vault_quota is not NULL, sets it to the
 * vault's quota: its own, else that of the policy returned; 0 = none.
 * vault may be NULL to ask about the tenant alone.
 */
const struct conf_policy *conf_policy_for(const struct conf *c, const char *tenant,
    const char *vault, uint64_t *tenant_quota, uint64_t *vault_quota);

/*
 * The parts of c that only a restart applies (listen, data, the backends,
 * posture-listen), copied into a new struct conf whose other settings are
 * the defaults and which has no policy, tenant or target: the daemon keeps
 * it from start-up to compare each reloaded file with. For conf_free();
 * NULL if out of memory.
 */
struct conf *conf_restart_part(const struct conf *c);

/*
 * Compares the restart-only settings of next with those of cur (what the
 * daemon started with) and returns how many differ: listen (any listen
 * line), data, each backend added, removed or changed ("backend NAME"),
 * posture-listen. Their names, separated by ", ", go to out (outlen bytes,
 * cut if need be; "" when none differs).
 */
size_t conf_restart_changes(const struct conf *cur, const struct conf *next, char *out,
    size_t outlen);

/*
 * 1 if l's host is a loopback address: 127.0.0.0/8, ::1, ::ffff:127.x.y.z
 * or the name "localhost". Any other name, and the wildcard addresses
 * 0.0.0.0 and ::, are not.
 */
int conf_listen_loopback(const struct conf_listen *l);

/*
 * If c serves the posture page (which has no authentication) on an address
 * that is not loopback, writes a warning that says so to msg (len bytes)
 * and returns 1; else returns 0. For `vaultd -n` and start-up.
 */
int conf_posture_exposed(const struct conf *c, char *msg, size_t len);

/*
 * Parses a size: decimal digits, then optionally one of K M G T (powers of
 * 1024, upper case only, so that M never reads as "minutes"). Returns 0 and
 * *out, or -1 for anything else (empty, sign, space, other suffix, or more
 * than UINT64_MAX bytes); *out is then unchanged.
 */
int conf_parse_size(const char *s, uint64_t *out);

/*
 * Parses a duration: decimal digits, then optionally one of s m h d w y
 * (w = 7d, y = 365d; lower case only); a bare number is seconds. Returns 0
 * and *seconds, or -1 as conf_parse_size() does.
 */
int conf_parse_duration(const char *s, uint64_t *seconds);

/* Reads a vault target's token from path (its token_file): the file's first
 * line without surrounding blanks, refused if empty, CONF_TOKEN_MAX bytes or
 * longer, or holding a byte that cannot go in an HTTP header. Returns 0, or
 * -1 with a sentence naming the file in err. Used by replication and scrub
 * repairs. */
int conf_token_load(const char *path, char out[CONF_TOKEN_MAX], char *err, size_t errlen);

#endif
