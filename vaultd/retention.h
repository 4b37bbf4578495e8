#ifndef RETENTION_H
#define RETENTION_H
/*
 * Keep rules ("forget" policy) for snapshots, evaluated by the server
 * without any key from the cleartext envelope header (spec/retention.md).
 * A pure function: no I/O, no clock; the caller passes the time.
 */
#include <stddef.h>
#include <stdint.h>

#include "vsp.h"

/* The length of a snapshot's group label (ENVELOPE_GROUP_LEN). */
#define RETENTION_GROUP_LEN 32

/*
 * What to keep in each group. A count of 0 turns its rule off; a count of
 * RETENTION_UNLIMITED keeps every bucket. within is in seconds, 0 = off.
 * With every rule off, everything is kept.
 */
struct keep_rules {
	unsigned last, hourly, daily, weekly, monthly, yearly;
	uint64_t within;
};

#define RETENTION_UNLIMITED (~0u)

struct retention_snap {
	uint8_t id[VSP_ID_LEN];
	uint8_t group[RETENTION_GROUP_LEN];
	int64_t client_time;   /* from the envelope: claimed, not trusted */
	uint64_t received;     /* the server's receive time, Unix seconds */
	int keep;              /* out: 1 = retained, 0 = may be forgotten */
};

/*
 * Sets snaps[i].keep for each of the n snapshots under the rules r, group by
 * group. A snapshot's time is its effective time, min(client_time, received,
 * now): a client may date a snapshot back, never forward, so a forged future
 * time cannot push real snapshots out. now is the server's time and is used
 * only as that upper bound. The order of snaps does not matter and is not
 * changed. Memory: one array of n pointers, freed before return.
 * Returns 0, or -1 with errno ENOMEM (every keep is then 1, so that a
 * caller that ignores the error deletes nothing).
 */
int retention_apply(const struct keep_rules *r, struct retention_snap *snaps,
    size_t n, uint64_t now);

#endif
