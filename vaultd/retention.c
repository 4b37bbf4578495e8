/*
 * Keep rules for snapshots (spec/retention.md): restic's forget policy,
 * applied by the server to cleartext envelope headers, with the client's
 * time clamped to the server's receive time.
 *
 * One pass over the snapshots sorted by (group, effective time descending):
 * in each group, a bucket rule keeps the first snapshot it meets in each new
 * bucket (the newest of that bucket) until its count of buckets is used up.
 */
#include "retention.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SECS_PER_HOUR 3600
#define SECS_PER_DAY 86400
#define DAYS_PER_WEEK 7
#define MONTHS_PER_YEAR 12
/* Day 0 (1970-01-01) was a Thursday; ISO weeks begin on Monday, 3 days
 * earlier (1969-12-29). */
#define EPOCH_DAYS_AFTER_MONDAY 3

/* The bucket rules, in the order struct keep_rules lists them. */
enum bucket {
	BUCKET_LAST,
	BUCKET_HOUR,
	BUCKET_DAY,
	BUCKET_WEEK,
	BUCKET_MONTH,
	BUCKET_YEAR,
	BUCKET_COUNT
};

/* One snapshot in the sort: its effective time, and where it is. */
struct item {
	int64_t t;
	struct retention_snap *s;
};

/* a / b rounded towards minus infinity, for b > 0. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && a < 0)
		q--;
	return q;
}

/* The proleptic Gregorian year and month (1..12) of a day count from
 * 1970-01-01 (H. Hinnant's civil_from_days). Valid for any day an int64
 * number of seconds reaches. */
static void
civil_from_days(int64_t z, int64_t *year, int64_t *month)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = yoe + era * 400 + (*month <= 2);
}

/* The bucket of effective time t under rule b; pos is the snapshot's
 * position in its group, the bucket of keep-last. UTC throughout. */
static int64_t
bucket_of(enum bucket b, int64_t t, size_t pos)
{
	int64_t day = floor_div(t, SECS_PER_DAY), year, month;

	switch (b) {
	case BUCKET_LAST:
		return (int64_t)pos;
	case BUCKET_HOUR:
		return floor_div(t, SECS_PER_HOUR);
	case BUCKET_DAY:
		return day;
	case BUCKET_WEEK:
		return floor_div(day + EPOCH_DAYS_AFTER_MONDAY, DAYS_PER_WEEK);
	case BUCKET_MONTH:
		civil_from_days(day, &year, &month);
		return year * MONTHS_PER_YEAR + (month - 1);
	case BUCKET_YEAR:
	default:
		civil_from_days(day, &year, &month);
		return year;
	}
}

/* min(client_time, received, now), in int64 seconds. */
static int64_t
effective_time(const struct retention_snap *s, uint64_t now)
{
	uint64_t bound = s->received < now ? s->received : now;

	if (bound > (uint64_t)INT64_MAX)
		bound = (uint64_t)INT64_MAX;
	return s->client_time < (int64_t)bound ? s->client_time : (int64_t)bound;
}

/* newest - within, or INT64_MIN if that is below the range. */
static int64_t
within_cutoff(int64_t newest, uint64_t within)
{
	/* Unsigned distance from INT64_MIN to newest: fits a uint64. */
	uint64_t dist = (uint64_t)newest - (uint64_t)INT64_MIN;
	uint64_t above_min;

	if (within >= dist)
		return INT64_MIN;
	above_min = dist - within;
	if (above_min > (uint64_t)INT64_MAX)
		return (int64_t)(above_min - (uint64_t)INT64_MAX - 1);
	return INT64_MIN + (int64_t)above_min;
}

/* Group ascending, then newest first; ties by receive time (later first),
 * then ID, then input position, so that the order is total. */
static int
item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int c;

	if ((c = memcmp(a->s->group, b->s->group, RETENTION_GROUP_LEN)) != 0)
		return c;
	if (a->t != b->t)
		return a->t > b->t ? -1 : 1;
	if (a->s->received != b->s->received)
		return a->s->received > b->s->received ? -1 : 1;
	if ((c = memcmp(a->s->id, b->s->id, VSP_ID_LEN)) != 0)
		return c;
	return a->s < b->s ? -1 : a->s > b->s;
}

/* Applies the rules to one group: items[0..n), newest first. */
static void
apply_group(const struct keep_rules *r, struct item *items, size_t n)
{
	const unsigned counts[BUCKET_COUNT] = {
		[BUCKET_LAST] = r->last, [BUCKET_HOUR] = r->hourly,
		[BUCKET_DAY] = r->daily, [BUCKET_WEEK] = r->weekly,
		[BUCKET_MONTH] = r->monthly, [BUCKET_YEAR] = r->yearly,
	};
	unsigned left[BUCKET_COUNT];
	int64_t prev[BUCKET_COUNT] = {0};
	int seen[BUCKET_COUNT] = {0};
	int64_t cutoff = r->within > 0 ? within_cutoff(items[0].t, r->within) : 0;

	memcpy(left, counts, sizeof(left));
	for (size_t i = 0; i < n; i++) {
		int keep = r->within > 0 && items[i].t >= cutoff;

		for (int b = 0; b < BUCKET_COUNT; b++) {
			int64_t v;

			if (left[b] == 0)
				continue;
			v = bucket_of((enum bucket)b, items[i].t, i);
			if (seen[b] && v == prev[b])
				continue;
			keep = 1;
			seen[b] = 1;
			prev[b] = v;
			if (left[b] != RETENTION_UNLIMITED)
				left[b]--;
		}
		items[i].s->keep = keep;
	}
}

int
retention_apply(const struct keep_rules *r, struct retention_snap *snaps,
    size_t n, uint64_t now)
{
	struct item *items;
	size_t start;

	for (size_t i = 0; i < n; i++)
		snaps[i].keep = 1;
	if (n == 0 || (r->last == 0 && r->hourly == 0 && r->daily == 0 &&
	    r->weekly == 0 && r->monthly == 0 && r->yearly == 0 && r->within == 0))
		return 0;

	if (n > SIZE_MAX / sizeof(*items) ||
	    (items = malloc(n * sizeof(*items))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		items[i].t = effective_time(&snaps[i], now);
		items[i].s = &snaps[i];
	}
	qsort(items, n, sizeof(*items), item_cmp);

	for (start = 0; start < n;) {
		size_t end = start + 1;

		while (end < n && memcmp(items[end].s->group, items[start].s->group,
		    RETENTION_GROUP_LEN) == 0)
			end++;
		apply_group(r, items + start, end - start);
		start = end;
	}
	free(items);
	return 0;
}
