#ifndef META_TIER_H
#define META_TIER_H
/*
 * The one metadata change tiering makes (spec/tiering.md, "Moves"): an
 * object's locations, compared and set in one write transaction, so a move
 * never overwrites what a concurrent delete, GC or another move did.
 */
#include <stdint.h>

#include "meta.h"
#include "vsp.h"

/*
 * Sets the locations of the live object (vault, kind, id) to locations if
 * they are expect now. Returns META_OK; META_NOTFOUND if the object is
 * absent or tombstoned; META_CHANGED (nothing written) if its locations are
 * not expect; META_ERROR. locations 0 is refused (META_ERROR): an object
 * always has a copy somewhere.
 */
int meta_object_set_locations(struct meta *m, uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN], uint32_t expect, uint32_t locations);

#endif
