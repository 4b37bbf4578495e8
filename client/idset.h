#ifndef VC_IDSET_H
#define VC_IDSET_H
/*
 * A set of 32-byte IDs (chunk, pack and index IDs), each with a 32-bit
 * value: open addressing over the IDs' own first bytes, which are already
 * uniformly random (keyed BLAKE2b or SHA-256 outputs), so no further hash
 * is needed. Not thread-safe: callers lock.
 */
#include <stddef.h>
#include <stdint.h>

#define VC_IDSET_ID_LEN 32

struct vc_idset;

/* Creates an empty set. NULL on ENOMEM. */
struct vc_idset *vc_idset_new(void);
void vc_idset_free(struct vc_idset *s);

/* Adds id with value val. Returns 1 if it was added, 0 if it was there
 * already (its value is left alone and *old, if not NULL, gets it), -1 on
 * ENOMEM. */
int vc_idset_add(struct vc_idset *s, const uint8_t id[VC_IDSET_ID_LEN], uint32_t val,
    uint32_t *old);

/* 1 (and *val, if not NULL) if id is in the set, else 0. */
int vc_idset_get(const struct vc_idset *s, const uint8_t id[VC_IDSET_ID_LEN], uint32_t *val);

/* Sets the value of an ID already in the set; 0, or -1 if absent. */
int vc_idset_set(struct vc_idset *s, const uint8_t id[VC_IDSET_ID_LEN], uint32_t val);

size_t vc_idset_count(const struct vc_idset *s);

/* Calls cb for every member, in no particular order; a non-zero return
 * stops the walk and is returned. */
int vc_idset_walk(const struct vc_idset *s,
    int (*cb)(const uint8_t id[VC_IDSET_ID_LEN], uint32_t val, void *arg), void *arg);

#endif
