#ifndef TIER_STATE_H
#define TIER_STATE_H
/*
 * The tierer's own durable state (spec/tiering.md, "State"): a small LMDB
 * environment of its own in DATA/tier/, apart from the metadata, holding
 *
 *   moves  the journal of moves in progress: written before a copy starts,
 *          deleted when the move is finished or undone, so a restart finds
 *          every move a crash cut short;
 *   reads  per object, the last read and the last recall (Unix seconds),
 *          written in batches (tier.c keeps the newest ones in memory).
 *
 * Every call is one transaction, synced on commit. Blocking: threadpool
 * only. Thread-safe.
 */
#include <stddef.h>
#include <stdint.h>

#include "vsp.h"

#define TIER_STATE_KEY_LEN (8 + 1 + VSP_ID_LEN) /* be64 vault, kind, id32 */

struct tier_state;

/* One move in progress: the copy on backend from goes to backend to. */
struct tier_move {
	uint64_t vault_id;
	uint8_t kind;
	uint8_t id[VSP_ID_LEN];
	uint8_t from, to;   /* backend indexes (location bits) */
	uint64_t started;   /* Unix seconds */
};

/* What is known of an object's use; 0 = never. */
struct tier_use {
	uint64_t vault_id;
	uint8_t kind;
	uint8_t id[VSP_ID_LEN];
	uint64_t last_read;
	uint64_t last_recall;
};

/* Opens (creating) the environment in dir (created mode 0700). Returns 0
 * and *out, or -1 with a message on stderr (a store of another format). */
int tier_state_open(const char *dir, struct tier_state **out);

/* Closes ts. NULL is ignored. */
void tier_state_close(struct tier_state *ts);

/* Journals mv (replacing a record of the same object). Returns 0 or -1. */
int tier_state_move_begin(struct tier_state *ts, const struct tier_move *mv);

/* Deletes the journal record of (vault, kind, id); absent is fine.
 * Returns 0 or -1. */
int tier_state_move_end(struct tier_state *ts, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN]);

/* Copies up to max journalled moves into out; *n gets the count, *more 1
 * if there were more. Returns 0 or -1 (a corrupt record is an error). */
int tier_state_moves(struct tier_state *ts, struct tier_move *out, size_t max, size_t *n,
    int *more);

/* Merges n use records in one transaction: each field becomes the larger
 * of the stored and the given value. Returns 0 or -1. */
int tier_state_use_merge(struct tier_state *ts, const struct tier_use *u, size_t n);

/* Reads the use record of (vault, kind, id) into *u (zeros if none).
 * Returns 0 or -1. */
int tier_state_use_get(struct tier_state *ts, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], struct tier_use *u);

#endif
