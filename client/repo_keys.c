/*
 * Opening a vault with any of its keys, and managing its key objects
 * (spec/client-crypto.md 2.1 and 8, spec/client.md 4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "keycache.h"
#include "repo_internal.h"
#include "sha256.h"

static int
list_keys(struct vc_repo *r, struct vc_idlist *k, char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	if (vc_remote_list(r->remote, VSP_KIND_KEY, vc_repo__collect_id, k) != 0) {
		snprintf(err, errlen, "cannot list the vault's keys: %s",
		    vc_remote_error(r->remote));
		free(k->ids);
		return -1;
	}
	return 0;
}

/* Downloads key object id into buf if it is one this client reads; its
 * type, 0 if it is gone or not ours, or -1. */
static int
fetch_key(struct vc_repo *r, const uint8_t id[VC_ID_LEN], uint8_t buf[VC_KEYOBJ_LEN],
    char *err, size_t errlen)
{
	uint8_t *b;
	size_t len;
	int rc = vc_remote_get(r->remote, VSP_KIND_KEY, id, 0, UINT64_MAX, &b, &len);

	if (rc == VC_R_NOTFOUND)
		return 0;
	if (rc != 0) {
		snprintf(err, errlen, "cannot read a key of the vault: %s",
		    vc_remote_error(r->remote));
		return -1;
	}
	rc = vc_keyobj_type(b, len);
	if (rc > 0)
		memcpy(buf, b, VC_KEYOBJ_LEN);
	free(b);
	return rc > 0 ? rc : 0;
}

/* Tries every key object with the secret. 0 (r->master, keys, key_id
 * set), 1 if none opens, or -1. */
static int
unlock_by_keys(struct vc_repo *r, const uint8_t *secret, size_t len, int recovery,
    char *err, size_t errlen)
{
	struct vc_idlist k;
	uint8_t obj[VC_KEYOBJ_LEN];
	int rc = 1;

	if (list_keys(r, &k, err, errlen) != 0)
		return -1;
	for (size_t i = 0; rc == 1 && i < k.n; i++) {
		int type = fetch_key(r, k.ids[i], obj, err, errlen);

		if (type < 0) {
			rc = -1;
			break;
		}
		if (type != (recovery ? VC_KEYOBJ_TYPE_RECOVERY : VC_KEYOBJ_TYPE_PASSPHRASE))
			continue;
		if (vc_keyobj_open(obj, secret, len, r->master) != VC_OK)
			continue;
		/* A key object that opens but not to this vault's config is
		 * another vault's: keep looking. */
		if (vc_config_check(r->config, r->master, &r->keys) != VC_OK)
			continue;
		memcpy(r->key_id, k.ids[i], VC_ID_LEN);
		rc = 0;
	}
	free(k.ids);
	if (rc != 0)
		sodium_memzero(r->master, sizeof(r->master));
	return rc;
}

static int unlock_slow(struct vc_repo *r, const struct vc_repo_opts *o, char *err,
    size_t errlen);

/* The fast path (spec/client-crypto.md 9): the key cache opens with this
 * passphrase, its master key passes the config's check, and the key object
 * it came from is still in the vault (a removed key stays revoked). 0 if
 * it opened r, else 1. */
static int
unlock_cached(struct vc_repo *r, const struct vc_repo_opts *o, const char *path)
{
	struct vc_keycache_entry e;
	uint64_t size;
	int rc = 1;

	if (vc_keycache_load(path, o->pw, o->pwlen, &e) != 0)
		return 1;
	if (vc_config_check(r->config, e.master, &r->keys) != VC_OK)
		goto out;
	if (!e.by_config &&
	    vc_remote_stat(r->remote, VSP_KIND_KEY, e.key_id, &size) != 0) {
		vc_keys_wipe(&r->keys);
		goto out;
	}
	memcpy(r->master, e.master, VC_KEY_LEN);
	r->by_config = e.by_config;
	memcpy(r->key_id, e.key_id, VC_ID_LEN);
	r->from_key_cache = 1;
	rc = 0;
out:
	sodium_memzero(&e, sizeof(e));
	return rc;
}

/* Keeps what the slow path found for the next runs; a failure only costs
 * the next run an Argon2id, so it is reported and ignored. */
static void
remember(struct vc_repo *r, const struct vc_repo_opts *o, const char *path)
{
	struct vc_keycache_entry e;

	memcpy(e.master, r->master, VC_KEY_LEN);
	e.by_config = r->by_config;
	memcpy(e.key_id, r->key_id, VC_ID_LEN);
	if (vc_keycache_store(path, o->pw, o->pwlen, &e) != 0)
		vc_report(&r->report, VC_LOG_WARN, "vault: cannot write the key cache %s "
		    "(the next run derives the key again)", path);
	sodium_memzero(&e, sizeof(e));
}

int
vc_repo__unlock(struct vc_repo *r, const struct vc_repo_opts *o, char *err, size_t errlen)
{
	char path[4096];
	int use_cache = o->key_cache_dir != NULL && *o->key_cache_dir != '\0' &&
	    vc_keycache_path(o->key_cache_dir, o->url, o->vault, r->config, r->config_len, path,
	    sizeof(path)) == 0;

	if (use_cache && unlock_cached(r, o, path) == 0)
		return 0;
	if (unlock_slow(r, o, err, errlen) != 0)
		return -1;
	if (use_cache)
		remember(r, o, path);
	return 0;
}

static int
unlock_slow(struct vc_repo *r, const struct vc_repo_opts *o, char *err, size_t errlen)
{
	struct vc_kdf_params p;
	uint8_t rk[VC_RECOVERY_LEN];
	int ver = vc_config_version(r->config, r->config_len), rc;

	if (ver < 0) {
		snprintf(err, errlen, "the config of vault %s cannot be used: %s", o->vault,
		    vc_strerror(ver));
		return -1;
	}
	/* Text that reads as a recovery key is tried as one first (cheap), then
	 * as a passphrase like any other. */
	if (vc_recovery_parse((const char *)o->pw, o->pwlen, rk) == 0) {
		rc = unlock_by_keys(r, rk, sizeof(rk), 1, err, errlen);
		sodium_memzero(rk, sizeof(rk));
		if (rc != 1)
			return rc;
	}
	if (ver == VC_CONFIG_VERSION) {
		vc_config_params(r->config, r->config_len, &p);
		if ((rc = vc_master_derive(o->pw, o->pwlen, &p, r->master)) != VC_OK) {
			snprintf(err, errlen, "cannot derive the vault's keys: %s", vc_strerror(rc));
			return -1;
		}
		if (vc_config_check(r->config, r->master, &r->keys) == VC_OK) {
			r->by_config = 1;
			return 0;
		}
		sodium_memzero(r->master, sizeof(r->master));
	}
	rc = unlock_by_keys(r, o->pw, o->pwlen, 0, err, errlen);
	if (rc == 1)
		snprintf(err, errlen, "wrong passphrase for vault %s", o->vault);
	return rc == 0 ? 0 : -1;
}

void
vc_repo__default_label(char *out, size_t len)
{
	const char *user = getenv("USER");
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, len, "%s@%s", user != NULL ? user : "", host);
}

/* Builds key object obj and uploads it; its ID into id. */
static int
put_key(struct vc_remote *rem, int type, const uint8_t *secret, size_t len,
    const struct vc_kdf_params *p, const uint8_t master[VC_KEY_LEN], const char *label,
    uint8_t id[VC_ID_LEN], char *err, size_t errlen)
{
	char def[VC_KEYOBJ_LABEL_LEN];
	uint8_t *obj = malloc(VC_KEYOBJ_LEN);
	int rc;

	if (obj == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (label == NULL) {
		vc_repo__default_label(def, sizeof(def));
		label = def;
	}
	rc = vc_keyobj_new(type, secret, len, p, master, (int64_t)time(NULL), label, NULL, obj);
	if (rc != VC_OK) {
		if (rc == VC_E_CORRUPT)
			snprintf(err, errlen, "the key's label is longer than %d bytes",
			    VC_KEYOBJ_LABEL_LEN - 1);
		else
			snprintf(err, errlen, "cannot make the key: %s", vc_strerror(rc));
		free(obj);
		return -1;
	}
	sha256_buf(obj, VC_KEYOBJ_LEN, id);
	if (vc_remote_put_async(rem, VSP_KIND_KEY, id, obj, VC_KEYOBJ_LEN, NULL, NULL) != 0 ||
	    vc_remote_flush(rem) != 0) {
		snprintf(err, errlen, "cannot store the key: %s", vc_remote_error(rem));
		return -1;
	}
	return 0;
}

int
vc_repo__init_keys(struct vc_remote *rem, const struct vc_repo_opts *o,
    const struct vc_kdf_params *p, uint8_t **config, size_t *len, char *err, size_t errlen)
{
	uint8_t master[VC_KEY_LEN], id[VC_ID_LEN];
	int rc = -1;

	randombytes_buf(master, sizeof(master));
	if (put_key(rem, VC_KEYOBJ_TYPE_PASSPHRASE, o->pw, o->pwlen, p, master, o->key_label, id,
	    err, errlen) != 0)
		goto out;
	if (vc_config2_new(master, NULL, config, len) != VC_OK) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(master, sizeof(master));
	return rc;
}

int
vc_repo_key_add(struct vc_repo *r, int type, const uint8_t *secret, size_t len,
    const struct vc_kdf_params *p, const char *label, uint8_t id[VC_ID_LEN], char *err,
    size_t errlen)
{
	return put_key(r->remote, type, secret, len, p, r->master, label, id, err, errlen);
}

static int
key_cmp(const void *a, const void *b)
{
	const struct vc_repo_key *x = a, *y = b;

	if (x->info.created != y->info.created)
		return x->info.created < y->info.created ? -1 : 1;
	return memcmp(x->id, y->id, VC_ID_LEN);
}

int
vc_repo_keys(struct vc_repo *r, struct vc_repo_key **out, size_t *n, char *err,
    size_t errlen)
{
	struct vc_idlist k;
	struct vc_repo_key *v;
	uint8_t obj[VC_KEYOBJ_LEN];
	size_t got = 0;

	*out = NULL;
	*n = 0;
	if (list_keys(r, &k, err, errlen) != 0)
		return -1;
	if ((v = calloc(k.n + 1, sizeof(*v))) == NULL) {
		free(k.ids);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < k.n; i++) {
		int type = fetch_key(r, k.ids[i], obj, err, errlen);

		if (type < 0) {
			free(v);
			free(k.ids);
			return -1;
		}
		/* Only keys of this vault: the info opens under its master key. */
		if (type == 0 || vc_keyobj_info(obj, r->master, &v[got].info) != VC_OK)
			continue;
		memcpy(v[got].id, k.ids[i], VC_ID_LEN);
		v[got].current = !r->by_config && memcmp(k.ids[i], r->key_id, VC_ID_LEN) == 0;
		got++;
	}
	free(k.ids);
	qsort(v, got, sizeof(*v), key_cmp);
	*out = v;
	*n = got;
	return 0;
}

int
vc_repo_key_remove(struct vc_repo *r, const uint8_t id[VC_ID_LEN], int current_ok,
    char *err, size_t errlen)
{
	struct vc_repo_key *v;
	size_t n, at = SIZE_MAX;
	char hex[65];
	int rc;

	if (vc_repo_keys(r, &v, &n, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].id, id, VC_ID_LEN) == 0)
			at = i;
	free(v);
	vc_hex(id, 0, hex);
	if (at == SIZE_MAX) {
		snprintf(err, errlen, "the vault has no key %.8s", hex);
		return -1;
	}
	/* A version 1 config's passphrase always opens the vault too. */
	if (n == 1 && !r->by_config && vc_config_version(r->config, r->config_len) != 1) {
		snprintf(err, errlen, "key %.8s is the vault's last key; removing it would lock "
		    "everyone out (add another first)", hex);
		return -1;
	}
	if (!current_ok && !r->by_config && memcmp(id, r->key_id, VC_ID_LEN) == 0) {
		snprintf(err, errlen, "key %.8s is the one this command was opened with; open "
		    "the vault with another key to remove it", hex);
		return -1;
	}
	rc = vc_remote_delete(r->remote, VSP_KIND_KEY, id);
	if (rc != 0 && rc != VC_R_NOTFOUND) {
		snprintf(err, errlen, "cannot remove key %.8s: %s", hex,
		    vc_remote_error(r->remote));
		return -1;
	}
	return 0;
}
