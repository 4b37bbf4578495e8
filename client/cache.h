#ifndef VC_CACHE_H
#define VC_CACHE_H
/*
 * The client's local index cache (spec/pack.md, "The local cache"): an LMDB
 * environment that maps every chunk ID of one vault to where it is stored,
 * so a backup dedups without downloading the vault's index segments each
 * run. It only ever holds what the vault's own index segments say, so it
 * can be deleted at any time and is rebuilt by vc_cache_sync.
 *
 * Databases: chunks (chunk ID -> pack ID, index ID, type, offset, sealed
 * and plain length), packs (pack ID -> index ID), indexes (index ID ->
 * nothing: imported). Thread-safe; every call is its own transaction.
 * Returns 0, VC_CACHE_NOTFOUND, or -1 with a message handed to the report
 * callback given to vc_cache_open.
 */
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "pack.h"
#include "report.h"

#define VC_CACHE_NOTFOUND 1

struct vc_cache;
struct vc_remote;

struct vc_cache_loc {
	uint8_t pack_id[VC_ID_LEN];
	uint8_t index_id[VC_ID_LEN];  /* the segment that describes the pack */
	uint8_t type;                 /* VC_CHUNK_TYPE_* */
	uint32_t offset, sealed_len, plain_len;
};

/* Opens (creating) the cache in directory dir (created with parents, mode
 * 0700) into *out. rp (copied; NULL = silent) receives its error messages.
 * -1 (with LMDB's reason) if the environment does not open or holds
 * another layout; never an empty cache in its place. */
int vc_cache_open(const char *dir, const struct vc_report *rp, struct vc_cache **out);

/* Closes the cache. NULL is ignored. */
void vc_cache_close(struct vc_cache *c);

/* Where the chunk is: 0 and *loc, or VC_CACHE_NOTFOUND. A chunk stored in
 * several packs gives the one with the lowest pack ID. */
int vc_cache_lookup(struct vc_cache *c, const uint8_t id[VC_ID_LEN], struct vc_cache_loc *loc);

/* Records a pack and its entries as described by index segment index_id,
 * in one transaction; a pack already recorded is replaced. */
int vc_cache_add_pack(struct vc_cache *c, const uint8_t pack_id[VC_ID_LEN],
    const uint8_t index_id[VC_ID_LEN], const struct vc_pack_entry *e, size_t n);

/* Records a segment this client wrote itself (packs[0..n), each with its
 * entries) and marks it imported, all in one transaction, so the next sync
 * need not download it. Returns 0 or -1. */
int vc_cache_add_index(struct vc_cache *c, const uint8_t index_id[VC_ID_LEN],
    const struct vc_index_pack *packs, size_t n);

/* The index segment recorded for a pack: 0, VC_CACHE_NOTFOUND. */
int vc_cache_pack_index(struct vc_cache *c, const uint8_t pack_id[VC_ID_LEN],
    uint8_t index_id[VC_ID_LEN]);

/* Forgets a pack and every chunk entry that points into it (entries of the
 * same chunks in other packs stay). VC_CACHE_NOTFOUND: no such pack. */
int vc_cache_drop_pack(struct vc_cache *c, const uint8_t pack_id[VC_ID_LEN]);

/* Calls cb for every chunk entry of the pack (from the cache), in map
 * order, inside a read transaction; a non-zero return from cb stops the
 * walk and is returned. VC_CACHE_NOTFOUND: no such pack. */
int vc_cache_pack_entries(struct vc_cache *c, const uint8_t pack_id[VC_ID_LEN],
    int (*cb)(const struct vc_pack_entry *e, void *arg), void *arg);

/* The newest snapshot of one group this client has seen (spec/pack.md 5,
 * spec/client.md 4.1): its rank in the group and its ID. */
struct vc_cache_head {
	uint8_t group[32];
	uint64_t seq;
	int64_t time;
	uint32_t time_nsec;
	uint8_t id[VC_ID_LEN];
};

/* The head recorded for h->group into *h: 0, VC_CACHE_NOTFOUND or -1. */
int vc_cache_head_get(struct vc_cache *c, struct vc_cache_head *h);

/* Records h as its group's head (replacing any). Returns 0 or -1. */
int vc_cache_head_put(struct vc_cache *c, const struct vc_cache_head *h);

/* Forgets the head of group: 0, VC_CACHE_NOTFOUND or -1. */
int vc_cache_head_del(struct vc_cache *c, const uint8_t group[32]);

/* Every recorded head into *out (*n; malloc'ed, NULL when none), in group
 * order. Returns 0 or -1. */
int vc_cache_heads(struct vc_cache *c, struct vc_cache_head **out, size_t *n);

/*
 * Brings the cache up to date with the vault: lists the vault's index
 * segments and imports (downloads, authenticates, decodes) each one not yet
 * imported; then lists the vault's packs and drops every cached pack the
 * vault no longer holds (GC removed it), and forgets segments the vault no
 * longer holds. A segment that fails to authenticate is an error (the vault
 * holds something this key did not write). Returns 0 or -1 (message in
 * vc_remote_error or through the report callback); *imported (if not NULL) gets the number of
 * segments downloaded.
 */
int vc_cache_sync(struct vc_cache *c, struct vc_remote *r, const struct vc_keys *keys,
    size_t *imported);

/* The name of a vault's cache: 32 lowercase hex digits of BLAKE2b-128(url
 * 0x00 vault name 0x00 config blob), NUL-terminated. */
#define VC_CACHE_NAME_LEN 32
void vc_cache_name(const char *url, const char *vault, const uint8_t *config,
    size_t config_len, char hex[VC_CACHE_NAME_LEN + 1]);

/* The default cache directory for a vault: $VAULT_CACHE_DIR, else
 * $XDG_CACHE_HOME/vault, else ~/.cache/vault, then /<hex of BLAKE2b-128 of
 * url 0x00 vault name 0x00 config blob>. Returns 0 or -1 (too long, or no
 * variable set; said through rp, which may be NULL). */
int vc_cache_default_dir(const struct vc_report *rp, const char *url, const char *vault,
    const uint8_t *config, size_t config_len, char *out, size_t outlen);

#endif
