#ifndef TARGET_TOKEN_H
#define TARGET_TOKEN_H
/*
 * The bearer token of a `vault` target of vaultd.conf (conf.h, struct
 * conf_target's token_file): read by the replicator, which sends copies to
 * that target, and by scrub's repairs, which fetch copies back from it. It
 * lives in vaultd/ so both can use it while the daemon never depends on the
 * replicator (spec/architecture.md).
 */
#include <stddef.h>

/* Bytes of a target's bearer token (the token file's first line). */
#define TARGET_TOKEN_MAX 256

/*
 * Reads a vault target's token from path: the file's first line without
 * surrounding blanks, refused if empty, TARGET_TOKEN_MAX bytes or longer, or
 * holding a byte that cannot go in an HTTP header. Returns 0, or -1 with a
 * sentence naming the file in err. Blocking: call it at start-up or on the
 * threadpool.
 */
int target_token_load(const char *path, char out[TARGET_TOKEN_MAX], char *err, size_t errlen);

#endif
