/*
 * The object store (store.h): key layout, object locks, the backend of a
 * location and bad-copy records. The copy check is in store_copy.c.
 */
#include "store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "meta_repl.h"
#include "sha256.h"

_Static_assert(STORE_KIND_CONFIG == META_SCRUB_CONFIG,
    "scrub names the config blob as the store does");
_Static_assert(STORE_KIND_CONFIG == META_REPL_CONFIG,
    "the replicator names the config blob as the store does");
_Static_assert(STORE_KEY_MAX <= BACKEND_KEY_MAX, "an object key is a valid backend key");

/* ---- key layout ------------------------------------------------------- */

void
store_object_key(char key[STORE_KEY_MAX + 1], uint64_t vault_id, enum vsp_kind kind,
    const uint8_t id[VSP_ID_LEN])
{
	char hex[VSP_ID_HEX_LEN + 1];

	vsp_id_format(id, hex);
	snprintf(key, STORE_KEY_MAX + 1, "%016" PRIx64 "/%s/%.2s/%s", vault_id,
	    vsp_kind_name(kind), hex, hex);
}

char *
store_config_key(char key[STORE_KEY_MAX + 1], uint64_t vault_id)
{
	snprintf(key, STORE_KEY_MAX + 1, "%016" PRIx64 "/config", vault_id);
	return key;
}

void
store_copy_key(char key[STORE_KEY_MAX + 1], uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN])
{
	if (kind == STORE_KIND_CONFIG)
		store_config_key(key, vault_id);
	else
		store_object_key(key, vault_id, (enum vsp_kind)kind, id);
}

int
store_replica_key(char *out, size_t size, const char *tenant, const char *vault,
    uint8_t kind, const uint8_t id[VSP_ID_LEN])
{
	char hex[VSP_ID_HEX_LEN + 1];
	int n;

	if (kind == STORE_KIND_CONFIG) {
		n = snprintf(out, size, "%s/%s/config", tenant, vault);
	} else {
		vsp_id_format(id, hex);
		n = snprintf(out, size, "%s/%s/%s/%s", tenant, vault,
		    vsp_kind_name((enum vsp_kind)kind), hex);
	}
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* ---- object locks ----------------------------------------------------- */

/* Striped locks: an upload's commit and a delete of the same object must not
 * interleave, or a delete could remove the file a new upload just placed. */
#define OBJECT_LOCK_STRIPES 64
static pthread_mutex_t object_locks[OBJECT_LOCK_STRIPES] = {
#define L4 PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, \
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER
#define L16 L4, L4, L4, L4
	L16, L16, L16, L16
#undef L16
#undef L4
};

static pthread_mutex_t *
stripe(uint64_t vault_id, const uint8_t id[VSP_ID_LEN])
{
	/* The ID is a SHA-256, so its first byte is already uniform. */
	return &object_locks[(id[0] ^ vault_id) % OBJECT_LOCK_STRIPES];
}

void
store_lock(uint64_t vault_id, const uint8_t id[VSP_ID_LEN])
{
	pthread_mutex_lock(stripe(vault_id, id));
}

void
store_unlock(uint64_t vault_id, const uint8_t id[VSP_ID_LEN])
{
	pthread_mutex_unlock(stripe(vault_id, id));
}

/* The stripes of n objects as a bit set, so they can be taken in index
 * order (no deadlock against another multi-stripe holder). */
static uint64_t
stripe_set(uint64_t vault_id, const uint8_t (*ids)[VSP_ID_LEN], size_t n)
{
	uint64_t set = 0;

	_Static_assert(OBJECT_LOCK_STRIPES <= 64, "a stripe set fits in 64 bits");
	for (size_t i = 0; i < n; i++)
		set |= UINT64_C(1) << (size_t)(stripe(vault_id, ids[i]) - object_locks);
	return set;
}

/* Applies op (lock or unlock) to each stripe of the n objects once, in
 * index order. */
static void
stripes_each(uint64_t vault_id, const uint8_t (*ids)[VSP_ID_LEN], size_t n,
    int (*op)(pthread_mutex_t *))
{
	uint64_t set = stripe_set(vault_id, ids, n);

	for (size_t i = 0; i < OBJECT_LOCK_STRIPES; i++)
		if (set & (UINT64_C(1) << i))
			(void)op(&object_locks[i]);
}

void
store_lock_many(uint64_t vault_id, const uint8_t (*ids)[VSP_ID_LEN], size_t n)
{
	stripes_each(vault_id, ids, n, pthread_mutex_lock);
}

void
store_unlock_many(uint64_t vault_id, const uint8_t (*ids)[VSP_ID_LEN], size_t n)
{
	stripes_each(vault_id, ids, n, pthread_mutex_unlock);
}

/* ---- backends of locations -------------------------------------------- */

unsigned
store_read_location(uint32_t locations)
{
	for (unsigned i = 0; i < 32; i++)
		if (locations & (1u << i))
			return i;
	return 0;
}

struct backend *
store_backend_at(const struct store *s, unsigned bit)
{
	if (s->nbackends == 0)
		return bit == 0 ? s->backend : NULL;
	return bit < s->nbackends ? s->backends[bit] : NULL;
}

int
store_needs_recall(const struct backend *b)
{
	return backend_has_cap(b, BACKEND_CAP_RECALL);
}

/* ---- bad copies ------------------------------------------------------- */

int
store_bad_copy(struct meta *m, uint64_t vault_id, uint8_t kind, const uint8_t id[VSP_ID_LEN],
    uint8_t bit, uint64_t now, const char *reason)
{
	struct meta_scrub_bad rec = { .vault_id = vault_id, .kind = kind, .backend = bit,
	    .time = now };

	memcpy(rec.id, id, VSP_ID_LEN);
	snprintf(rec.reason, sizeof(rec.reason), "%s", reason);
	return meta_scrub_bad_put(m, &rec);
}

int
store_blob_check(struct store *s, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], const void *buf, size_t len, const char *reason)
{
	uint8_t digest[SHA256_LEN];
	uint32_t mask = 0;

	if (meta_scrub_bad_mask(s->meta, vault_id, kind, id, &mask) == META_OK && !(mask & 1u) &&
	    sha256_buf(buf, len, digest) == 0 && sodium_memcmp(digest, id, VSP_ID_LEN) == 0)
		return 0;
	if (!(mask & 1u))
		(void)store_bad_copy(s->meta, vault_id, kind, id, 0, (uint64_t)time(NULL), reason);
	return -1;
}
