#ifndef VC_REPO_H
#define VC_REPO_H
/*
 * One opened vault as the client sees it: the transport, the keys from the
 * passphrase, the local index cache, and the operations every command
 * shares (listing and loading snapshots, reading chunks, walking a tree).
 * Errors are sentences for a person in the caller's err buffer.
 */
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "crypto.h"
#include "envelope.h"
#include "keyobj.h"
#include "remote.h"
#include "tree.h"

#define VC_ERR_LEN 512
/* A listing lacks the newest snapshot of a group this client saw
 * (spec/client.md 4.1): the vault was rolled back. */
#define VC_ROLLBACK 4

struct vc_repo_opts {
	const char *url;        /* "http://host:port" */
	const char *vault;
	const char *token;
	const uint8_t *pw;      /* passphrase bytes */
	size_t pwlen;
	unsigned parallel;      /* transfers at once, 0 = default */
	const char *cache_dir;  /* NULL = vc_cache_default_dir */
	int zstd_level;         /* 0 = VC_ZSTD_LEVEL_DEFAULT */
	/* Transport tuning, as in struct vc_remote_opts (0 = default). */
	unsigned retry_base_ms;
	uint64_t recall_wait_ms, recall_poll_ms;
	/* Where every warning, error and progress line of this vault's
	 * operations goes (report.h); copied. An empty one: none. */
	struct vc_report report;
	/* Take a listing that lacks a snapshot this client saw as a deliberate
	 * forget: warn, and believe the listing (spec/client.md 4.1). */
	int accept_rollback;
	const char *key_label;  /* vc_repo_init: the first key's label; NULL = user@host */
	/* Where the master key is kept between runs of a session (keycache.h;
	 * a per-user tmpfs such as $XDG_RUNTIME_DIR/vault); NULL = nowhere. */
	const char *key_cache_dir;
};

struct vc_repo {
	struct vc_report report;
	int accept_rollback;
	struct vc_remote *remote;
	struct vc_keys keys;
	struct vc_cache *cache;
	int zstd_level;
	uint8_t *config;
	size_t config_len;
	/* The master key (kept for key management; wiped on close) and which
	 * secret opened it: the version 1 config's passphrase, or key_id. */
	uint8_t master[VC_KEY_LEN];
	int by_config;
	uint8_t key_id[VC_ID_LEN];
	int from_key_cache;     /* the key cache opened it (no Argon2id ran) */
};

/* One key object of the vault (vc_repo_keys). */
struct vc_repo_key {
	uint8_t id[VC_ID_LEN];
	struct vc_keyobj_info info;
	int current;            /* it opened this session */
};

/* Every key object of the vault that this master key opens, by creation
 * time, into *out (*n, malloc'ed). Returns 0 or -1. */
int vc_repo_keys(struct vc_repo *r, struct vc_repo_key **out, size_t *n, char *err,
    size_t errlen);

/* Adds a key object wrapping r's master key under secret (a passphrase
 * with Argon2id under p, or a recovery key's VC_RECOVERY_LEN bytes), with
 * label (NULL = user@host); its ID into id. Returns 0 or -1. */
int vc_repo_key_add(struct vc_repo *r, int type, const uint8_t *secret, size_t len,
    const struct vc_kdf_params *p, const char *label, uint8_t id[VC_ID_LEN], char *err,
    size_t errlen);

/* Deletes key object id (needs the delete scope). Refuses the key that
 * opened this session unless current_ok, and the vault's last key.
 * Returns 0 or -1. */
int vc_repo_key_remove(struct vc_repo *r, const uint8_t id[VC_ID_LEN], int current_ok,
    char *err, size_t errlen);

/* A snapshot as listed: its object ID, envelope fields and decrypted body.
 * refs (nrefs references, as read by envelope_refs_copy()) is malloc'ed. */
struct vc_snapinfo {
	uint8_t id[VC_ID_LEN];
	int64_t client_time;
	uint8_t group[32];
	size_t nrefs;
	struct envelope_ref *refs;
	struct vc_snapbody body;
};

/*
 * Creates the vault if the token may (admin scope; otherwise it must exist)
 * and writes a new config blob for the passphrase under kdf (NULL =
 * defaults). Fails with a clear sentence if the vault already has one.
 * Returns 0 or -1.
 */
int vc_repo_init(const struct vc_repo_opts *o, const struct vc_kdf_params *kdf,
    char *err, size_t errlen);

/* Opens the vault: reads the config, derives the keys (a wrong passphrase
 * is named as such), opens the cache. Returns 0 and *out, or -1. */
int vc_repo_open(const struct vc_repo_opts *o, struct vc_repo **out, char *err, size_t errlen);

/* Brings the cache up to date (vc_cache_sync). */
int vc_repo_sync(struct vc_repo *r, char *err, size_t errlen);

void vc_repo_close(struct vc_repo *r);

/* Loads every snapshot, sorted by client time then ID, into *out (*n).
 * A snapshot that fails to authenticate is an error. The listing is
 * checked against the heads this client saw (vc_chain_check): VC_ROLLBACK
 * (and nothing in *out) when a head is gone. Returns 0, VC_ROLLBACK or
 * -1. */
int vc_repo_snapshots(struct vc_repo *r, struct vc_snapinfo **out, size_t *n,
    char *err, size_t errlen);
void vc_snapinfo_free(struct vc_snapinfo *s);
void vc_snapinfo_free_all(struct vc_snapinfo *s, size_t n);

/* Finds a snapshot by "latest" or a hex prefix of at least 4 digits among
 * list (sorted as vc_repo_snapshots gives). Returns its index, or -1 with
 * a sentence (none, ambiguous). */
long vc_repo_find(const struct vc_snapinfo *list, size_t n, const char *spec,
    char *err, size_t errlen);

/* Reads and opens one chunk (via the cache's location and a range GET)
 * into *plain (malloc'ed). Returns 0 or -1. */
int vc_repo_read_chunk(struct vc_repo *r, const uint8_t id[VC_ID_LEN], uint8_t **plain,
    size_t *len, char *err, size_t errlen);

/*
 * Walks a snapshot's tree stream in order, calling cb for every record
 * except END with its full path (top-level name, then "/"-joined
 * components; NUL-terminated) and depth; ends of directories are reported
 * with n->type == VC_NODE_END and the directory's path. A non-zero return
 * from cb stops the walk and is returned. Returns 0 or -1.
 */
typedef int vc_tree_cb(const struct vc_node *n, const char *path, unsigned depth, void *arg);
int vc_repo_tree_walk(struct vc_repo *r, const struct vc_snapbody *b, vc_tree_cb *cb,
    void *arg, char *err, size_t errlen);

/* Formats a 32-byte ID as 64 hex digits (or its first 8 with short). */
void vc_hex(const uint8_t id[VC_ID_LEN], int short_form, char out[65]);

#endif
