/*
 * Open-addressing ID set (idset.h). Linear probing, load factor at most
 * 1/2, slots hold the ID and a value; an all-zero slot flag marks empty.
 */
#include <stdlib.h>
#include <string.h>

#include "idset.h"

struct slot {
	uint8_t id[VC_IDSET_ID_LEN];
	uint32_t val;
	uint8_t used;
};

struct vc_idset {
	struct slot *slots;
	size_t cap;   /* a power of two */
	size_t count;
};

#define IDSET_CAP_MIN 64

static size_t
slot_of(const uint8_t id[VC_IDSET_ID_LEN], size_t cap)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return (size_t)h & (cap - 1);
}

struct vc_idset *
vc_idset_new(void)
{
	struct vc_idset *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->slots = calloc(IDSET_CAP_MIN, sizeof(*s->slots));
	if (s->slots == NULL) {
		free(s);
		return NULL;
	}
	s->cap = IDSET_CAP_MIN;
	return s;
}

void
vc_idset_free(struct vc_idset *s)
{
	if (s == NULL)
		return;
	free(s->slots);
	free(s);
}

static struct slot *
find(const struct vc_idset *s, const uint8_t id[VC_IDSET_ID_LEN])
{
	size_t i = slot_of(id, s->cap);

	for (;;) {
		struct slot *sl = &s->slots[i];

		if (!sl->used || memcmp(sl->id, id, VC_IDSET_ID_LEN) == 0)
			return sl;
		i = (i + 1) & (s->cap - 1);
	}
}

static int
grow(struct vc_idset *s)
{
	struct vc_idset n = { 0 };

	if (s->cap > SIZE_MAX / 2 / sizeof(struct slot))
		return -1;
	n.cap = s->cap * 2;
	n.slots = calloc(n.cap, sizeof(*n.slots));
	if (n.slots == NULL)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		if (s->slots[i].used)
			*find(&n, s->slots[i].id) = s->slots[i];
	}
	free(s->slots);
	s->slots = n.slots;
	s->cap = n.cap;
	return 0;
}

int
vc_idset_add(struct vc_idset *s, const uint8_t id[VC_IDSET_ID_LEN], uint32_t val,
    uint32_t *old)
{
	struct slot *sl;

	if ((s->count + 1) * 2 > s->cap && grow(s) != 0)
		return -1;
	sl = find(s, id);
	if (sl->used) {
		if (old != NULL)
			*old = sl->val;
		return 0;
	}
	memcpy(sl->id, id, VC_IDSET_ID_LEN);
	sl->val = val;
	sl->used = 1;
	s->count++;
	return 1;
}

int
vc_idset_get(const struct vc_idset *s, const uint8_t id[VC_IDSET_ID_LEN], uint32_t *val)
{
	const struct slot *sl = find(s, id);

	if (!sl->used)
		return 0;
	if (val != NULL)
		*val = sl->val;
	return 1;
}

int
vc_idset_set(struct vc_idset *s, const uint8_t id[VC_IDSET_ID_LEN], uint32_t val)
{
	struct slot *sl = find(s, id);

	if (!sl->used)
		return -1;
	sl->val = val;
	return 0;
}

size_t
vc_idset_count(const struct vc_idset *s)
{
	return s->count;
}

int
vc_idset_walk(const struct vc_idset *s,
    int (*cb)(const uint8_t id[VC_IDSET_ID_LEN], uint32_t val, void *arg), void *arg)
{
	for (size_t i = 0; i < s->cap; i++) {
		if (s->slots[i].used) {
			int rc = cb(s->slots[i].id, s->slots[i].val, arg);

			if (rc != 0)
				return rc;
		}
	}
	return 0;
}
