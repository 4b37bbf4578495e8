#ifndef VC_FSMETA_H
#define VC_FSMETA_H
/*
 * What tree version 2 adds to a record (spec/tree.md 3, "Version 2"):
 * owner names and extended attributes, read from the file system at backup
 * and set on it at restore. Paths may be of any length (longpath.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tree.h"

/* The extension part of one entry, owning its bytes. */
struct vc_fsmeta {
	uint8_t *buf;             /* user, group, then xattr names and values */
	struct vc_xattr *xattrs;  /* sorted by name */
	size_t nxattrs;
	const char *user, *group; /* into buf */
	size_t user_len, group_len;
};

/* Called for each attribute left out or not set: the path, the attribute
 * name and why (a sentence fragment: "value over 65536 bytes", strerror). */
typedef void vc_fsmeta_warn(void *arg, const char *path, const char *name, const char *why);

/*
 * Reads the owner names of uid and gid and the extended attributes of the
 * entry at path (not following a symlink) into *m, which the caller frees
 * with vc_fsmeta_free. Records user.*, security.*, trusted.* and the two
 * POSIX ACL attributes; other system.* names are skipped. An attribute
 * that cannot be read or breaks a limit of spec/tree.md is left out and
 * reported through warn. Returns 0, or -1 when out of memory.
 */
int vc_fsmeta_read(const char *path, uid_t uid, gid_t gid, struct vc_fsmeta *m,
    vc_fsmeta_warn *warn, void *arg);
void vc_fsmeta_free(struct vc_fsmeta *m);

/* Points n's version 2 fields at m's bytes (valid while m is). */
void vc_fsmeta_to_node(const struct vc_fsmeta *m, struct vc_node *n);

/* Copies n's version 2 fields into *m (the caller frees it). 0 or -1. */
int vc_fsmeta_from_node(const struct vc_node *n, struct vc_fsmeta *m);

/* The uid (gid) that the name (len bytes) has on this machine, or
 * fallback when len is 0 or the name is unknown here. */
uid_t vc_fsmeta_uid(const char *name, size_t len, uid_t fallback);
gid_t vc_fsmeta_gid(const char *name, size_t len, gid_t fallback);

/*
 * Sets m's attributes on the entry at path (not following a symlink).
 * security.* and trusted.* only when is_root. Each one the file system
 * refuses is reported through warn. Returns the number refused.
 */
size_t vc_fsmeta_apply(const char *path, const struct vc_fsmeta *m, int is_root,
    vc_fsmeta_warn *warn, void *arg);

#endif
