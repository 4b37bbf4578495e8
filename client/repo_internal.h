#ifndef VC_REPO_INTERNAL_H
#define VC_REPO_INTERNAL_H
/*
 * What repo.c shares with repo_keys.c.
 */
#include <stddef.h>

#include "repo.h"

/* A growing list of object IDs, filled by vc_repo__collect_id (a
 * vc_remote_list callback; -1 when out of memory). The caller frees ids. */
struct vc_idlist {
	uint8_t (*ids)[VC_ID_LEN];
	size_t n, cap;
};
int vc_repo__collect_id(const uint8_t id[VSP_ID_LEN], uint64_t size, void *arg);

/* Opens r's keys with the passphrase of o (r->config read): the config's
 * own passphrase (version 1) or any key object (spec/client-crypto.md 8).
 * Returns 0 or -1 with a sentence. */
int vc_repo__unlock(struct vc_repo *r, const struct vc_repo_opts *o, char *err,
    size_t errlen);

/* Makes a new vault's master key, its first key object (for o's
 * passphrase under p) and its version 2 config, and uploads the key object.
 * *config (malloc'ed) is what the caller then puts. Returns 0 or -1. */
int vc_repo__init_keys(struct vc_remote *rem, const struct vc_repo_opts *o,
    const struct vc_kdf_params *p, uint8_t **config, size_t *len, char *err, size_t errlen);

/* "user@host", the default label of a key. */
void vc_repo__default_label(char *out, size_t len);

#endif
