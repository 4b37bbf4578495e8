/*
 * Tests for the keep rules (vaultd/retention.c, spec/retention.md).
 *
 * Most cases are rows of a table: snapshots in (a one-letter name, a group,
 * the client's time and the server's receive time, both UTC), the set of
 * names that survive out. A randomised test then checks retention_apply()
 * against a slow reference that takes its calendar from gmtime_r() and
 * strftime("%G%V") rather than from the day arithmetic of retention.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "retention.h"

/* The module itself, for its statics. */
#include "retention.c"
#include "faultsim.h"

#define MAX_SNAPS 16

/* One snapshot of a table row. received NULL means "at its client time". */
struct snap_row {
	char name;           /* also its ID: every ID byte is this letter */
	char group;          /* also its group label: every byte is this */
	const char *time;    /* "YYYY-MM-DD HH:MM:SS" UTC */
	const char *received;
};

struct table_case {
	const char *what;
	struct keep_rules rules;
	const char *now;     /* NULL: far in the future (2200) */
	struct snap_row snaps[MAX_SNAPS];
	const char *keep;    /* the names that survive, in any order */
};

/* Parses "YYYY-MM-DD HH:MM:SS" (UTC) into Unix seconds. */
static int64_t
utc(const char *s)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (end == NULL || *end != '\0')
		fail_msg("bad time in table: \"%s\"", s);
	return (int64_t)timegm(&tm);
}

#define R(...) {__VA_ARGS__}

static const struct table_case cases[] = {
	{"no rule set: everything is kept", R(0),
	    NULL, {
		{'A', 'g', "2024-01-01 00:00:00", NULL},
		{'B', 'g', "2024-01-02 00:00:00", NULL},
		{'C', 'h', "2020-01-02 00:00:00", NULL},
	    }, "ABC"},

	{"keep-last 2", R(.last = 2),
	    NULL, {
		{'A', 'g', "2024-01-01 10:00:00", NULL},
		{'B', 'g', "2024-01-01 11:00:00", NULL},
		{'C', 'g', "2024-01-01 12:00:00", NULL},
		{'D', 'g', "2024-01-01 09:00:00", NULL},
	    }, "BC"},

	{"keep-last more than there are", R(.last = 10),
	    NULL, {
		{'A', 'g', "2024-01-01 10:00:00", NULL},
		{'B', 'g', "2024-01-01 11:00:00", NULL},
	    }, "AB"},

	{"keep-hourly 2: the newest of each of the 2 newest hours", R(.hourly = 2),
	    NULL, {
		{'A', 'g', "2024-03-01 10:05:00", NULL},
		{'B', 'g', "2024-03-01 10:50:00", NULL},
		{'C', 'g', "2024-03-01 11:10:00", NULL},
		{'D', 'g', "2024-03-01 11:40:00", NULL},
		{'E', 'g', "2024-03-01 12:30:00", NULL},
	    }, "DE"},

	{"keep-daily 3: two a day over four days", R(.daily = 3),
	    NULL, {
		{'A', 'g', "2024-03-01 01:00:00", NULL},
		{'B', 'g', "2024-03-01 23:00:00", NULL},
		{'C', 'g', "2024-03-02 01:00:00", NULL},
		{'D', 'g', "2024-03-02 23:00:00", NULL},
		{'E', 'g', "2024-03-03 00:00:00", NULL},
		{'F', 'g', "2024-03-03 23:59:59", NULL},
		{'G', 'g', "2024-03-04 00:00:00", NULL},
		{'H', 'g', "2024-03-04 12:00:00", NULL},
	    }, "DFH"},

	{"keep-daily counts days that have snapshots, not calendar days", R(.daily = 2),
	    NULL, {
		{'A', 'g', "2024-03-01 12:00:00", NULL},
		{'B', 'g', "2024-03-05 12:00:00", NULL},
		{'C', 'g', "2024-03-09 12:00:00", NULL},
	    }, "BC"},

	{"keep-weekly 2: ISO weeks begin on Monday 00:00 UTC", R(.weekly = 2),
	    NULL, {
		{'A', 'g', "2024-01-06 12:00:00", NULL},   /* Sat, W01 */
		{'B', 'g', "2024-01-07 23:59:59", NULL},   /* Sun, W01 */
		{'C', 'g', "2024-01-08 00:00:00", NULL},   /* Mon, W02 */
		{'D', 'g', "2024-01-09 12:00:00", NULL},   /* Tue, W02 */
		{'E', 'g', "2023-12-31 12:00:00", NULL},   /* Sun, 2023-W52 */
	    }, "BD"},

	{"keep-weekly across a year end: 2024-12-30 is in 2025-W01", R(.weekly = 2),
	    NULL, {
		{'A', 'g', "2024-12-28 12:00:00", NULL},   /* Sat, 2024-W52 */
		{'B', 'g', "2024-12-29 12:00:00", NULL},   /* Sun, 2024-W52 */
		{'C', 'g', "2024-12-30 12:00:00", NULL},   /* Mon, 2025-W01 */
		{'D', 'g', "2025-01-01 12:00:00", NULL},   /* Wed, 2025-W01 */
	    }, "BD"},

	{"keep-monthly 3, leap February", R(.monthly = 3),
	    NULL, {
		{'A', 'g', "2024-01-31 23:59:59", NULL},
		{'B', 'g', "2024-02-01 00:00:00", NULL},
		{'C', 'g', "2024-02-29 12:00:00", NULL},
		{'D', 'g', "2024-03-15 00:00:00", NULL},
		{'E', 'g', "2024-04-01 00:00:00", NULL},
		{'F', 'g', "2024-04-30 23:59:59", NULL},
	    }, "CDF"},

	{"keep-yearly 2", R(.yearly = 2),
	    NULL, {
		{'A', 'g', "2022-06-01 00:00:00", NULL},
		{'B', 'g', "2023-01-01 00:00:00", NULL},
		{'C', 'g', "2023-12-31 23:59:59", NULL},
		{'D', 'g', "2024-01-01 00:00:00", NULL},
	    }, "CD"},

	{"keep-within 2 days of the newest snapshot, bound included", R(.within = 2 * 86400),
	    NULL, {
		{'A', 'g', "2024-05-01 12:00:00", NULL},
		{'B', 'g', "2024-05-08 12:00:00", NULL},
		{'C', 'g', "2024-05-09 11:59:59", NULL},
		{'D', 'g', "2024-05-09 12:00:00", NULL},   /* newest - 2 days */
		{'E', 'g', "2024-05-10 12:00:00", NULL},
		{'F', 'g', "2024-05-11 12:00:00", NULL},
	    }, "DEF"},

	{"keep-within is relative to the group's newest, not to now: a client that "
	 "stopped backing up keeps its history", R(.within = 86400),
	    "2030-01-01 00:00:00", {
		{'A', 'g', "2024-05-09 12:00:00", NULL},
		{'B', 'g', "2024-05-10 12:00:00", NULL},
		{'C', 'g', "2024-05-11 00:00:00", NULL},
	    }, "BC"},

	{"keep-within of more than all time keeps everything", R(.within = UINT64_MAX),
	    NULL, {
		{'A', 'g', "1901-01-01 00:00:00", NULL},
		{'B', 'g', "2024-05-10 12:00:00", NULL},
	    }, "AB"},

	{"unlimited daily keeps one a day, all days", R(.daily = RETENTION_UNLIMITED),
	    NULL, {
		{'A', 'g', "2000-03-01 01:00:00", NULL},
		{'B', 'g', "2000-03-01 02:00:00", NULL},
		{'C', 'g', "2010-03-01 01:00:00", NULL},
		{'D', 'g', "2024-03-01 01:00:00", NULL},
	    }, "BCD"},

	{"rules combine: a snapshot kept by one rule also fills others' buckets",
	    R(.last = 1, .daily = 2, .monthly = 2),
	    NULL, {
		{'A', 'g', "2024-01-10 12:00:00", NULL},
		{'B', 'g', "2024-01-20 12:00:00", NULL},
		{'C', 'g', "2024-02-10 12:00:00", NULL},
		{'D', 'g', "2024-02-11 06:00:00", NULL},
		{'E', 'g', "2024-02-11 18:00:00", NULL},
	    }, "BCE"},

	{"restic's documented example shape: last 3, daily 2, weekly 1", R(.last = 3, .daily = 2, .weekly = 1),
	    NULL, {
		{'A', 'g', "2024-06-03 08:00:00", NULL},   /* Mon */
		{'B', 'g', "2024-06-05 08:00:00", NULL},   /* Wed */
		{'C', 'g', "2024-06-06 08:00:00", NULL},
		{'D', 'g', "2024-06-06 20:00:00", NULL},
		{'E', 'g', "2024-06-07 08:00:00", NULL},
		{'F', 'g', "2024-06-07 09:00:00", NULL},
		{'G', 'g', "2024-06-07 10:00:00", NULL},
	    }, "DEFG"},

	{"groups are independent", R(.last = 1),
	    NULL, {
		{'A', 'g', "2024-01-01 10:00:00", NULL},
		{'B', 'g', "2024-01-01 11:00:00", NULL},
		{'C', 'h', "2020-01-01 10:00:00", NULL},
		{'D', 'h', "2020-01-01 09:00:00", NULL},
		{'E', 'i', "2030-01-01 00:00:00", "2024-01-01 00:00:00"},
	    }, "BCE"},

	{"keep-within is per group", R(.within = 3600),
	    NULL, {
		{'A', 'g', "2024-01-01 10:00:00", NULL},
		{'B', 'g', "2024-01-01 11:00:00", NULL},
		{'C', 'h', "2020-01-01 10:00:00", NULL},
		{'D', 'h', "2020-01-01 08:59:59", NULL},
	    }, "ABC"},

	{"a tie in time: the later received wins", R(.last = 1),
	    NULL, {
		{'A', 'g', "2024-01-01 10:00:00", "2024-01-01 10:05:00"},
		{'B', 'g', "2024-01-01 10:00:00", "2024-01-01 10:07:00"},
		{'C', 'g', "2024-01-01 10:00:00", "2024-01-01 10:06:00"},
	    }, "B"},

	{"a tie in time and receive time: the lowest ID wins", R(.last = 1, .hourly = 1),
	    NULL, {
		{'C', 'g', "2024-01-01 10:00:00", NULL},
		{'A', 'g', "2024-01-01 10:00:00", NULL},
		{'B', 'g', "2024-01-01 10:00:00", NULL},
	    }, "A"},

	{"a tie inside a bucket: keep-daily keeps the newest, then the later received",
	    R(.daily = 1),
	    NULL, {
		{'A', 'g', "2024-01-01 10:00:00", "2024-01-01 10:00:00"},
		{'B', 'g', "2024-01-01 09:00:00", "2024-01-01 12:00:00"},
		{'C', 'g', "2024-01-01 10:00:00", "2024-01-01 10:30:00"},
	    }, "C"},

	/*
	 * The forged-time attack. Real snapshots are taken once a day and
	 * received at once. An attacker holding an append token uploads
	 * snapshots that claim dates in 2100. Without the clamp they would be
	 * the newest forever and fill every bucket.
	 */
	{"forged 2100 times under keep-daily: they count as today's", R(.daily = 3),
	    "2024-06-10 13:00:00", {
		{'A', 'g', "2024-06-07 12:00:00", NULL},
		{'B', 'g', "2024-06-08 12:00:00", NULL},
		{'C', 'g', "2024-06-09 12:00:00", NULL},
		{'D', 'g', "2024-06-10 12:00:00", NULL},
		{'V', 'g', "2100-01-01 00:00:00", "2024-06-10 10:00:00"},
		{'W', 'g', "2100-01-02 00:00:00", "2024-06-10 10:01:00"},
		{'X', 'g', "2100-01-03 00:00:00", "2024-06-10 10:02:00"},
		{'Y', 'g', "2100-01-04 00:00:00", "2024-06-10 10:03:00"},
	    }, "BCD"},

	{"a forged 2100 time under keep-last: ranked by its receive time, it ages out",
	    R(.last = 2),
	    "2024-06-10 13:00:00", {
		{'X', 'g', "2100-01-01 00:00:00", "2024-05-31 00:00:00"},
		{'A', 'g', "2024-06-08 12:00:00", NULL},
		{'B', 'g', "2024-06-09 12:00:00", NULL},
		{'C', 'g', "2024-06-10 12:00:00", NULL},
	    }, "BC"},

	{"a forged time received now takes one slot, as any new snapshot would",
	    R(.last = 3),
	    "2024-06-10 13:00:00", {
		{'A', 'g', "2024-06-08 12:00:00", NULL},
		{'B', 'g', "2024-06-09 12:00:00", NULL},
		{'C', 'g', "2024-06-10 12:00:00", NULL},
		{'X', 'g', "2100-01-01 00:00:00", "2024-06-10 12:30:00"},
	    }, "BCX"},

	{"a forged time does not move keep-within's reference point", R(.within = 86400),
	    "2024-06-10 13:00:00", {
		{'A', 'g', "2024-06-09 13:00:00", NULL},
		{'B', 'g', "2024-06-10 12:00:00", NULL},
		{'X', 'g', "2100-01-01 00:00:00", "2024-06-10 12:30:00"},
	    }, "ABX"},

	{"dating back is allowed: an imported old backup counts as old", R(.yearly = 3),
	    "2024-06-10 13:00:00", {
		{'A', 'g', "2019-03-01 00:00:00", "2024-06-10 12:00:00"},
		{'B', 'g', "2020-03-01 00:00:00", "2024-06-10 12:01:00"},
		{'C', 'g', "2024-03-01 00:00:00", "2024-06-10 12:02:00"},
		{'D', 'g', "2021-03-01 00:00:00", "2024-06-10 12:03:00"},
	    }, "BCD"},

	{"a receive time after now (the server clock went back) is clamped to now",
	    R(.within = 3600),
	    "2024-06-10 13:00:00", {
		{'A', 'g', "2024-06-10 12:00:00", NULL},
		{'X', 'g', "2024-06-11 00:00:00", "2024-06-11 00:00:00"},
	    }, "AX"},

	{"before 1970: buckets round down, not towards zero", R(.daily = 5, .hourly = 0),
	    NULL, {
		{'A', 'g', "1969-12-31 01:00:00", NULL},
		{'B', 'g', "1969-12-31 23:00:00", NULL},
		{'C', 'g', "1970-01-01 01:00:00", NULL},
	    }, "BC"},
};

/* Runs one table row and compares the survivors. */
static void
run_case(const struct table_case *c)
{
	struct retention_snap snaps[MAX_SNAPS];
	uint64_t now = c->now != NULL ? (uint64_t)utc(c->now) : (uint64_t)utc("2200-01-01 00:00:00");
	char got[MAX_SNAPS + 1], want[MAX_SNAPS + 1];
	size_t n = 0, ng = 0;

	memset(snaps, 0, sizeof(snaps));
	while (n < MAX_SNAPS && c->snaps[n].name != '\0') {
		const struct snap_row *row = &c->snaps[n];
		memset(snaps[n].id, row->name, sizeof(snaps[n].id));
		memset(snaps[n].group, row->group, sizeof(snaps[n].group));
		snaps[n].client_time = utc(row->time);
		snaps[n].received = (uint64_t)utc(row->received != NULL ? row->received : row->time);
		snaps[n].keep = -1;
		n++;
	}
	assert_int_equal(retention_apply(&c->rules, snaps, n, now), 0);

	/* Survivors as a sorted string, to compare as a set. */
	for (char name = 'A'; name <= 'Z'; name++) {
		for (size_t i = 0; i < n; i++) {
			assert_true(snaps[i].keep == 0 || snaps[i].keep == 1);
			if (c->snaps[i].name == name && snaps[i].keep)
				got[ng++] = name;
		}
	}
	got[ng] = '\0';
	ng = 0;
	for (char name = 'A'; name <= 'Z'; name++) {
		if (strchr(c->keep, name) != NULL)
			want[ng++] = name;
	}
	want[ng] = '\0';
	if (strcmp(got, want) != 0)
		fail_msg("%s: kept \"%s\", want \"%s\"", c->what, got, want);
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* The order of the input does not matter: every rotation of each row gives
 * the same survivors. */
static void
test_table_rotated(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct table_case c = cases[i];
		size_t n = 0;

		while (n < MAX_SNAPS && c.snaps[n].name != '\0')
			n++;
		for (size_t rot = 1; rot < n; rot++) {
			struct snap_row first = c.snaps[0];
			memmove(&c.snaps[0], &c.snaps[1], (n - 1) * sizeof(c.snaps[0]));
			c.snaps[n - 1] = first;
			run_case(&c);
		}
	}
}

static void
test_empty(void **state)
{
	struct keep_rules r = {.last = 1};
	struct retention_snap one;

	(void)state;
	assert_int_equal(retention_apply(&r, NULL, 0, 0), 0);

	/* One snapshot is kept by any rule. */
	memset(&one, 0, sizeof(one));
	one.client_time = 1000;
	one.received = 1000;
	assert_int_equal(retention_apply(&r, &one, 1, 2000), 0);
	assert_int_equal(one.keep, 1);
}

/* Out of memory at each allocation in turn: -1 with ENOMEM, and nothing
 * marked forgettable. */
static void
test_alloc_failure(void **state)
{
	struct keep_rules r = {.last = 1};
	struct retention_snap s[3];
	int n, rc;

	(void)state;
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 3; i++) {
		s[i].client_time = 1000 + i;
		s[i].received = 2000;
		s[i].keep = 0;
	}
	for (n = 0;; n++) {
		errno = 0;
		faultsim_config(n, 1);
		rc = retention_apply(&r, s, 3, 5000);
		if (faultsim_off() == 0)
			break;
		assert_int_equal(rc, -1);
		assert_int_equal(errno, ENOMEM);
		for (int i = 0; i < 3; i++)
			assert_int_equal(s[i].keep, 1);
	}
	assert_true(n >= 1);

	/* The run with memory does its work. */
	assert_int_equal(rc, 0);
	assert_int_equal(s[0].keep + s[1].keep + s[2].keep, 1);
	assert_int_equal(s[2].keep, 1);
}

/* The ends of the ranges: no overflow, no crash, a sensible order. */
static void
test_extremes(void **state)
{
	struct retention_snap s[5];
	struct keep_rules r = {.last = 2, .hourly = 9, .daily = 9, .weekly = 9,
	    .monthly = 9, .yearly = 9, .within = 10};

	(void)state;
	memset(s, 0, sizeof(s));
	for (size_t i = 0; i < 5; i++)
		memset(s[i].id, (int)i, VSP_ID_LEN);
	s[0].client_time = INT64_MIN;
	s[0].received = 0;
	s[1].client_time = INT64_MAX;
	s[1].received = UINT64_MAX;
	s[2].client_time = INT64_MIN + 1;
	s[2].received = UINT64_MAX;
	s[3].client_time = -1;
	s[3].received = 0;
	s[4].client_time = INT64_MAX;
	s[4].received = (uint64_t)INT64_MAX + 1;
	assert_int_equal(retention_apply(&r, s, 5, UINT64_MAX), 0);
	/* s[1] and s[4] both stand at INT64_MAX: within 10 s keeps both. */
	assert_int_equal(s[1].keep, 1);
	assert_int_equal(s[4].keep, 1);

	r = (struct keep_rules){.within = UINT64_MAX};
	assert_int_equal(retention_apply(&r, s, 5, 0), 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(s[i].keep, 1);

	/* With now = 0 everything but the pre-1970 times stands at 0. */
	r = (struct keep_rules){.last = 1};
	assert_int_equal(retention_apply(&r, s, 5, 0), 0);
	assert_int_equal(s[0].keep + s[1].keep + s[2].keep + s[3].keep + s[4].keep, 1);
	assert_int_equal(s[0].keep + s[2].keep + s[3].keep, 0);
}

/* --- a slow reference with the C library's calendar ------------------ */

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static int64_t
ref_eff(const struct retention_snap *s, uint64_t now)
{
	int64_t bound = (int64_t)(s->received < now ? s->received : now);
	return s->client_time < bound ? s->client_time : bound;
}

/* A bucket key from gmtime_r()/strftime(); rule 0 is keep-last. */
static int64_t
ref_bucket(int rule, int64_t t, size_t pos)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	if (rule == 0)
		return (int64_t)pos;
	assert_non_null(gmtime_r(&tt, &tm));
	switch (rule) {
	case 1:
		return (((int64_t)tm.tm_year * 1000 + tm.tm_yday) * 100) + tm.tm_hour;
	case 2:
		return (int64_t)tm.tm_year * 1000 + tm.tm_yday;
	case 3:
		assert_true(strftime(buf, sizeof(buf), "%G%V", &tm) > 0);
		return strtoll(buf, NULL, 10);
	case 4:
		return (int64_t)tm.tm_year * 100 + tm.tm_mon;
	default:
		return tm.tm_year;
	}
}

static const struct retention_snap *ref_base;
static uint64_t ref_now;

/* The documented order: newest first, later received first, lower ID. */
static int
ref_cmp(const void *pa, const void *pb)
{
	const struct retention_snap *a = &ref_base[*(const size_t *)pa];
	const struct retention_snap *b = &ref_base[*(const size_t *)pb];
	int64_t ta = ref_eff(a, ref_now), tb = ref_eff(b, ref_now);
	int c;

	if (ta != tb)
		return ta > tb ? -1 : 1;
	if (a->received != b->received)
		return a->received > b->received ? -1 : 1;
	if ((c = memcmp(a->id, b->id, VSP_ID_LEN)) != 0)
		return c;
	return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
}

static void
reference(const struct keep_rules *r, const struct retention_snap *s, size_t n,
    uint64_t now, int *keep)
{
	const unsigned counts[6] = {r->last, r->hourly, r->daily, r->weekly,
	    r->monthly, r->yearly};
	int any = r->within != 0;

	for (int k = 0; k < 6; k++)
		any |= counts[k] != 0;
	for (size_t i = 0; i < n; i++)
		keep[i] = !any;
	if (!any)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t members[64], m = 0;
		int first_of_group = 1;

		for (size_t j = 0; j < i; j++)
			if (memcmp(s[j].group, s[i].group, RETENTION_GROUP_LEN) == 0)
				first_of_group = 0;
		if (!first_of_group)
			continue;
		for (size_t j = 0; j < n; j++)
			if (memcmp(s[j].group, s[i].group, RETENTION_GROUP_LEN) == 0)
				members[m++] = j;
		ref_base = s;
		ref_now = now;
		qsort(members, m, sizeof(members[0]), ref_cmp);

		/* Each rule: the newest member of each of its newest buckets. */
		for (int k = 0; k < 6; k++) {
			int64_t seen[64];
			size_t nseen = 0;

			for (size_t p = 0; p < m && nseen < counts[k]; p++) {
				int64_t b = ref_bucket(k, ref_eff(&s[members[p]], now), p);
				int dup = 0;
				for (size_t q = 0; q < nseen; q++)
					dup |= seen[q] == b;
				if (!dup) {
					seen[nseen++] = b;
					keep[members[p]] = 1;
				}
			}
		}
		if (r->within != 0) {
			int64_t newest = ref_eff(&s[members[0]], now);
			for (size_t p = 0; p < m; p++)
				if (ref_eff(&s[members[p]], now) >= newest - (int64_t)r->within)
					keep[members[p]] = 1;
		}
	}
}

static void
test_against_reference(void **state)
{
	uint64_t seed = 0x243f6a8885a308d3u;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		struct retention_snap s[48];
		int keep[48];
		size_t n = (size_t)(rnd(&seed) % 48);
		/* Spans from a few hours to decades, around 1970 and now, in
		 * coarse steps so that ties and shared buckets are common. */
		static const int64_t spans[] = {6 * 3600, 20 * 86400, 400 * 86400,
		    30LL * 365 * 86400};
		int64_t span = spans[rnd(&seed) % 4];
		int64_t base = (rnd(&seed) & 1) ? 1700000000 : -span / 2;
		int64_t step = (rnd(&seed) & 1) ? 1800 : 1;
		uint64_t now = (uint64_t)(base + span + (int64_t)(rnd(&seed) % 86400));
		struct keep_rules r = {
			.last = (unsigned)(rnd(&seed) % 4), .hourly = (unsigned)(rnd(&seed) % 4),
			.daily = (unsigned)(rnd(&seed) % 4), .weekly = (unsigned)(rnd(&seed) % 4),
			.monthly = (unsigned)(rnd(&seed) % 4), .yearly = (unsigned)(rnd(&seed) % 3),
			.within = (rnd(&seed) % 3 == 0) ? (uint64_t)(rnd(&seed) % (uint64_t)span) : 0,
		};

		memset(s, 0, sizeof(s));
		for (size_t i = 0; i < n; i++) {
			int64_t t = base + (int64_t)(rnd(&seed) % (uint64_t)(span / step)) * step;
			uint64_t delay = rnd(&seed) % 4 == 0 ? rnd(&seed) % 7200 : 0;

			memset(s[i].id, (int)(rnd(&seed) % 8), VSP_ID_LEN);
			memset(s[i].group, (int)(rnd(&seed) % 3), RETENTION_GROUP_LEN);
			s[i].client_time = t;
			s[i].received = t < 0 ? 0 : (uint64_t)t + delay;
			/* Some forged times far in the future. */
			if (rnd(&seed) % 10 == 0)
				s[i].client_time = t + (int64_t)(rnd(&seed) % (100LL * 365 * 86400));
		}
		reference(&r, s, n, now, keep);
		assert_int_equal(retention_apply(&r, s, n, now), 0);
		for (size_t i = 0; i < n; i++) {
			if (s[i].keep != keep[i])
				fail_msg("round %d: snapshot %zu kept %d, reference %d",
				    round, i, s[i].keep, keep[i]);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_rotated),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_against_reference),
	};

	return cmocka_run_group_tests_name("retention", tests, NULL, NULL);
}
