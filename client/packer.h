#ifndef VC_PACKER_H
#define VC_PACKER_H
/*
 * The write side of a backup: takes plaintext chunks from many threads,
 * drops those the vault (the local cache) or this run already holds, seals
 * the rest into packs of about VC_PACK_TARGET_DEFAULT bytes, uploads each
 * finished pack, and every VC_PACKER_INDEX_EVERY packs (and at the end)
 * uploads an index segment naming them, so that an interrupted backup
 * leaves packs a rerun can reuse. It also collects the packs and index
 * segments a snapshot of the run must reference.
 */
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

#define VC_PACKER_INDEX_EVERY 32
/* Packs filling at once (one per sealing thread), and buffers of uploaded
 * packs kept for the next ones: enough for the steady state, few enough
 * that a burst's buffers go back to the system. */
#define VC_PACKER_WRITERS_MAX 16
#define VC_PACKER_POOL_MAX 4

struct vc_packer;

struct vc_packer_stats {
	uint64_t chunks_new, chunks_dup;
	uint64_t plain_new;          /* plaintext bytes of new chunks */
	uint64_t sealed_new;         /* their bytes once sealed */
	uint64_t packs, indexes;     /* objects uploaded */
};

/* Creates a packer writing into r's vault. NULL on ENOMEM. */
struct vc_packer *vc_packer_new(struct vc_repo *r, size_t pack_target);

/*
 * Adds one chunk whose ID is id (vc_chunk_id of plain). Thread-safe.
 * Returns 0, or -1 with a sentence in err (an upload failed: the backup
 * cannot complete).
 */
int vc_packer_add(struct vc_packer *p, uint8_t type, const uint8_t id[VC_ID_LEN],
    const uint8_t *plain, size_t len, char *err, size_t errlen);

/*
 * Records that the snapshot needs the already stored chunk id (an unchanged
 * file's). Returns 0, VC_CACHE_NOTFOUND if the vault does not hold it (the
 * caller must read the file again), or -1.
 */
int vc_packer_need(struct vc_packer *p, const uint8_t id[VC_ID_LEN]);

/*
 * Finishes the last pack, uploads the last index segment, waits for every
 * upload and records the new packs in the cache. Then *refs gets the
 * references sorted for envelope_encode() (*nrefs of them; malloc'ed) of
 * every pack holding a chunk given to add or need, and of the index
 * segments that describe them. Returns 0 or -1 with err.
 */
int vc_packer_finish(struct vc_packer *p, struct envelope_ref **refs, size_t *nrefs,
    char *err, size_t errlen);

void vc_packer_stats(struct vc_packer *p, struct vc_packer_stats *st);

/* Frees p (after finish, or to abandon a run). NULL ignored. */
void vc_packer_free(struct vc_packer *p);

#endif
