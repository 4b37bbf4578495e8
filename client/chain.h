#ifndef VC_CHAIN_H
#define VC_CHAIN_H
/*
 * The snapshot chain (spec/tree.md 5, spec/client.md 4.1): what a new
 * snapshot of a group records about the ones before it, and the rollback
 * check that compares every listing with the newest snapshot of each group
 * this client has seen (the heads in its cache).
 */
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

/* What the next snapshot of a group carries: seq and prev. */
struct vc_chain_next {
	uint64_t seq;
	size_t nprev;
	uint8_t prev[VC_SNAPBODY_PREV_MAX][VC_ID_LEN];
};

/* The chain members for a new snapshot of group, from list (n snapshots):
 * seq = 1 + the group's highest seq, prev = the IDs with that seq, the 64
 * lowest. Cannot fail. */
void vc_chain_next(const struct vc_snapinfo *list, size_t n, const uint8_t group[32],
    struct vc_chain_next *out);

/*
 * Compares list (a whole listing) with the heads in r's cache: a head that
 * is neither in the list nor outranked by a snapshot of its group in it is
 * a rollback. With r->accept_rollback such heads are reported (VC_LOG_WARN)
 * and replaced by what the list shows; without, nothing changes and
 * VC_ROLLBACK is returned with a sentence in err. On success every group's
 * newest snapshot in list becomes its head. Returns 0, VC_ROLLBACK or -1.
 */
int vc_chain_check(struct vc_repo *r, const struct vc_snapinfo *list, size_t n,
    char *err, size_t errlen);

/* Records the snapshot id (just committed, with body b) as the head of
 * group. Returns 0 or -1. */
int vc_chain_committed(struct vc_repo *r, const uint8_t group[32],
    const struct vc_snapbody *b, const uint8_t id[VC_ID_LEN]);

/*
 * After this client deleted snapshots on purpose: for the group of every
 * list[i] with gone[i] set, the head becomes the newest snapshot of that
 * group in list without gone[], or none. So that the client's own forget
 * is not taken for a rollback. Returns 0 or -1.
 */
int vc_chain_forgot(struct vc_repo *r, const struct vc_snapinfo *list, size_t n,
    const unsigned char *gone);

#endif
