#ifndef META_SCRUB_H
#define META_SCRUB_H
/*
 * Scrub state in LMDB (spec/scrub.md; layouts in spec/storage.md, "scrub"):
 * one bad-copy record per (vault, kind, ID, backend) whose stored bytes did
 * not hash to the ID, and one record per vault with the time of its last
 * full verification and the figures of its last pass. Both live in the
 * database "scrub", which meta_open creates when it is missing: a store
 * without it has never been scrubbed, which is what an empty one says.
 *
 * Return values as in meta.h.
 */
#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "vsp.h"

/* Backends an object record can name (bits of meta_object.locations). */
#define META_SCRUB_BACKENDS_MAX 32
/* Bytes of a reason kept in a bad-copy record (longer ones are cut). */
#define META_SCRUB_REASON_MAX 120
/* The kind byte of a vault's config blob (the same as in replication). */
#define META_SCRUB_CONFIG 0x80

struct meta_scrub_bad {
	uint64_t vault_id;
	uint8_t kind;                 /* enum vsp_kind, or META_SCRUB_CONFIG */
	uint8_t id[VSP_ID_LEN];
	uint8_t backend;              /* bit index in meta_object.locations */
	uint64_t time;                /* Unix seconds, when it was found */
	char reason[META_SCRUB_REASON_MAX + 1];
};

struct meta_scrub_vault {
	uint64_t last_full;  /* end of the last pass that read every copy; 0 = never */
	uint64_t last_run;   /* end of the last pass, full or not; 0 = never */
	/* Figures of the last pass. */
	uint64_t objects, bytes; /* copies read and their bytes */
	uint64_t bad;            /* bad copies found */
	uint64_t repaired;       /* of which rewritten from a good copy */
};

/* Records (or replaces) a bad copy. */
int meta_scrub_bad_put(struct meta *m, const struct meta_scrub_bad *b);

/* Removes the bad-copy record of one copy. META_NOTFOUND if there is none. */
int meta_scrub_bad_clear(struct meta *m, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint8_t backend);

/* *mask gets the backends (bits as in meta_object.locations) that hold a
 * known-bad copy of the object; 0 if none. */
int meta_scrub_bad_mask(struct meta *m, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], uint32_t *mask);

/* Calls cb for every bad-copy record of the vault in key order; a non-zero
 * return stops the walk. *count (if not NULL) gets the records seen. */
int meta_scrub_bad_list(struct meta *m, uint64_t vault_id,
    int (*cb)(const struct meta_scrub_bad *b, void *arg), void *arg, uint64_t *count);

/* The vault's scrub record; META_NOTFOUND (and *out zeroed) if it was
 * never scrubbed. */
int meta_scrub_vault_get(struct meta *m, uint64_t vault_id, struct meta_scrub_vault *out);

/* Stores the vault's scrub record. */
int meta_scrub_vault_put(struct meta *m, uint64_t vault_id, const struct meta_scrub_vault *v);

/*
 * Healthy copies (spec/posture.md): for each live object of the vault of the
 * kinds replication copies (pack, index, snapshot, key), counts its
 * locations without a bad-copy record plus the n targets in targets that
 * hold a verified copy (a done record of meta_repl.h). *objects gets the
 * objects looked at and *under those with fewer than want healthy copies.
 * One read transaction.
 */
int meta_scrub_copies(struct meta *m, uint64_t vault_id, const char (*targets)[VSP_NAME_MAX + 1],
    size_t n, unsigned want, uint64_t *objects, uint64_t *under);

#endif
