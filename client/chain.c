/*
 * The snapshot chain and the rollback check (chain.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"

/* The rank of a snapshot in its group (spec/tree.md 5): seq, time,
 * time_nsec, ID. */
static int
rank_cmp(uint64_t seq_a, int64_t t_a, uint32_t ns_a, const uint8_t *id_a,
    uint64_t seq_b, int64_t t_b, uint32_t ns_b, const uint8_t *id_b)
{
	if (seq_a != seq_b)
		return seq_a < seq_b ? -1 : 1;
	if (t_a != t_b)
		return t_a < t_b ? -1 : 1;
	if (ns_a != ns_b)
		return ns_a < ns_b ? -1 : 1;
	return memcmp(id_a, id_b, VC_ID_LEN);
}

/* s against head h: < 0 if s ranks below, 0 if it is h, > 0 above. */
static int
snap_vs_head(const struct vc_snapinfo *s, const struct vc_cache_head *h)
{
	return rank_cmp(s->body.seq, s->body.time, s->body.time_nsec, s->id,
	    h->seq, h->time, h->time_nsec, h->id);
}

static void
head_of(const struct vc_snapinfo *s, struct vc_cache_head *h)
{
	memcpy(h->group, s->group, sizeof(h->group));
	h->seq = s->body.seq;
	h->time = s->body.time;
	h->time_nsec = s->body.time_nsec;
	memcpy(h->id, s->id, VC_ID_LEN);
}

/* The newest snapshot of group in list, skipping gone[i] (gone may be
 * NULL), or -1. */
static long
newest_of(const struct vc_snapinfo *list, size_t n, const uint8_t group[32],
    const unsigned char *gone)
{
	struct vc_cache_head best;
	long pick = -1;

	for (size_t i = 0; i < n; i++) {
		if ((gone != NULL && gone[i]) || memcmp(list[i].group, group, 32) != 0)
			continue;
		if (pick < 0 || snap_vs_head(&list[i], &best) > 0) {
			head_of(&list[i], &best);
			pick = (long)i;
		}
	}
	return pick;
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, VC_ID_LEN);
}

void
vc_chain_next(const struct vc_snapinfo *list, size_t n, const uint8_t group[32],
    struct vc_chain_next *out)
{
	uint64_t top = 0;
	int any = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (memcmp(list[i].group, group, 32) == 0 && (!any || list[i].body.seq > top)) {
			top = list[i].body.seq;
			any = 1;
		}
	out->seq = top + 1;
	if (!any)
		return;
	/* Every head, then the lowest 64 of them by ID. */
	for (size_t i = 0; i < n; i++) {
		if (memcmp(list[i].group, group, 32) != 0 || list[i].body.seq != top)
			continue;
		if (out->nprev < VC_SNAPBODY_PREV_MAX) {
			memcpy(out->prev[out->nprev++], list[i].id, VC_ID_LEN);
			qsort(out->prev, out->nprev, VC_ID_LEN, id_cmp);
		} else if (memcmp(list[i].id, out->prev[VC_SNAPBODY_PREV_MAX - 1], VC_ID_LEN) < 0) {
			memcpy(out->prev[VC_SNAPBODY_PREV_MAX - 1], list[i].id, VC_ID_LEN);
			qsort(out->prev, out->nprev, VC_ID_LEN, id_cmp);
		}
	}
}

/* 1 if head h is in list or outranked there by a snapshot of its group. */
static int
head_kept(const struct vc_cache_head *h, const struct vc_snapinfo *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(list[i].group, h->group, 32) == 0 && snap_vs_head(&list[i], h) >= 0)
			return 1;
	return 0;
}

/* Sets the head of group to the newest of list without gone[], or drops
 * it when none is left. */
static int
reset_head(struct vc_repo *r, const uint8_t group[32], const struct vc_snapinfo *list,
    size_t n, const unsigned char *gone)
{
	struct vc_cache_head h;
	long i = newest_of(list, n, group, gone);

	if (i < 0)
		return vc_cache_head_del(r->cache, group) < 0 ? -1 : 0;
	head_of(&list[i], &h);
	return vc_cache_head_put(r->cache, &h);
}

/* Says which heads are gone; 1 if any is. */
static int
find_lost(struct vc_repo *r, const struct vc_cache_head *heads, size_t nh,
    const struct vc_snapinfo *list, size_t n, char *err, size_t errlen)
{
	size_t lost = 0;

	for (size_t i = 0; i < nh; i++) {
		char hex[65];

		if (head_kept(&heads[i], list, n))
			continue;
		vc_hex(heads[i].id, 0, hex);
		if (lost++ == 0)
			snprintf(err, errlen, "vault rolled back: snapshot %.8s (number %llu of its "
			    "series), the newest this client has seen of it, is gone from the "
			    "vault's listing and nothing newer took its place. If it was forgotten "
			    "on purpose, run again with --accept-rollback", hex,
			    (unsigned long long)heads[i].seq);
		vc_report(&r->report, VC_LOG_WARN, "vault: %s snapshot %.8s (number %llu of its "
		    "series), the newest this client saw of it, is gone from the vault",
		    r->accept_rollback ? "accepted rollback:" : "rollback:", hex,
		    (unsigned long long)heads[i].seq);
	}
	return lost > 0;
}

int
vc_chain_check(struct vc_repo *r, const struct vc_snapinfo *list, size_t n,
    char *err, size_t errlen)
{
	struct vc_cache_head *heads = NULL, h;
	size_t nh = 0;
	int rc = -1;

	if (vc_cache_heads(r->cache, &heads, &nh) != 0) {
		snprintf(err, errlen, "cannot read the snapshot heads from the local cache");
		return -1;
	}
	if (find_lost(r, heads, nh, list, n, err, errlen)) {
		if (!r->accept_rollback) {
			rc = VC_ROLLBACK;
			goto out;
		}
		for (size_t i = 0; i < nh; i++)
			if (!head_kept(&heads[i], list, n) &&
			    reset_head(r, heads[i].group, list, n, NULL) != 0)
				goto cache_err;
	}
	/* Every group's newest snapshot in the listing becomes its head, if
	 * it outranks the one recorded: one write per group that moved. */
	for (size_t i = 0; i < n; i++) {
		int g;

		if (newest_of(list, n, list[i].group, NULL) != (long)i)
			continue;
		memcpy(h.group, list[i].group, sizeof(h.group));
		if ((g = vc_cache_head_get(r->cache, &h)) < 0)
			goto cache_err;
		if (g == VC_CACHE_NOTFOUND || snap_vs_head(&list[i], &h) > 0) {
			head_of(&list[i], &h);
			if (vc_cache_head_put(r->cache, &h) != 0)
				goto cache_err;
		}
	}
	rc = 0;
	goto out;
cache_err:
	snprintf(err, errlen, "cannot record the snapshot heads in the local cache");
	rc = -1;
out:
	free(heads);
	return rc;
}

int
vc_chain_committed(struct vc_repo *r, const uint8_t group[32],
    const struct vc_snapbody *b, const uint8_t id[VC_ID_LEN])
{
	struct vc_cache_head h;

	memcpy(h.group, group, sizeof(h.group));
	h.seq = b->seq;
	h.time = b->time;
	h.time_nsec = b->time_nsec;
	memcpy(h.id, id, VC_ID_LEN);
	return vc_cache_head_put(r->cache, &h);
}

int
vc_chain_forgot(struct vc_repo *r, const struct vc_snapinfo *list, size_t n,
    const unsigned char *gone)
{
	for (size_t i = 0; i < n; i++)
		if (gone[i] && reset_head(r, list[i].group, list, n, gone) != 0)
			return -1;
	return 0;
}
