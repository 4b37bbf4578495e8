#ifndef VC_TREE_H
#define VC_TREE_H
/*
 * The tree stream and the snapshot body (spec/tree.md).
 *
 * A snapshot's file system is one byte stream of node records in
 * depth-first pre-order: a directory's record, then its children's records
 * sorted by name (memcmp), then an END record. Top-level records are the
 * backed-up paths, named by their absolute path without the leading '/'
 * ("usr/share/doc"); deeper names are single components. The stream is cut
 * by the keyed chunker and stored as tree chunks (VC_CHUNK_TYPE_TREE) in
 * packs, so an unchanged tree costs no upload.
 *
 * The snapshot body (the envelope's body, spec/envelope.md) is
 *	nonce | AEAD(index key, nonce, envelope header, JSON)
 * where the JSON names the tree chunks; the envelope header is the AD, so
 * the server cannot swap references, group or time between snapshots.
 */
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

enum vc_node_type {
	VC_NODE_END = 0,       /* closes the innermost open directory */
	VC_NODE_FILE = 1,
	VC_NODE_DIR = 2,
	VC_NODE_SYMLINK = 3,
	VC_NODE_HARDLINK = 4,  /* another name of an earlier FILE of the same link group */
	VC_NODE_FIFO = 5,
	VC_NODE_CHR = 6,
	VC_NODE_BLK = 7,
	VC_NODE_SOCK = 8
};

#define VC_TREE_NAME_MAX 4096     /* bytes of a name (top level: a path) */
#define VC_TREE_TARGET_MAX 4096   /* bytes of a symlink target */
#define VC_TREE_CHUNKS_MAX ((uint32_t)1 << 24) /* chunks of one file */
#define VC_TREE_DEPTH_MAX 1024    /* directories open at once */
#define VC_TREE_OWNER_MAX 255     /* bytes of a user or group name (v2) */
#define VC_TREE_XATTR_NAME_MAX 255  /* bytes of an xattr name (v2) */
#define VC_TREE_XATTR_VALUE_MAX 65536 /* bytes of an xattr value (v2) */
#define VC_TREE_XATTR_BYTES_MAX ((size_t)1 << 20) /* names + values of one record */

/* The tree stream versions (spec/tree.md 2): 2 adds owner names and
 * extended attributes to every record; 1 is still read. */
#define VC_TREE_VERSION 2
#define VC_TREE_VERSION_MIN 1

struct vc_chunk_ref {
	uint8_t id[VC_ID_LEN];
	uint32_t len;             /* plaintext bytes */
};

/* One extended attribute (v2), with its namespace ("user.k"). */
struct vc_xattr {
	const char *name;
	size_t name_len;          /* 1..VC_TREE_XATTR_NAME_MAX */
	const uint8_t *value;
	size_t value_len;         /* 0..VC_TREE_XATTR_VALUE_MAX */
};

/* One node. Strings are (pointer, length), not NUL-terminated. */
struct vc_node {
	uint8_t type;             /* enum vc_node_type */
	const char *name;
	size_t name_len;
	uint32_t mode;            /* permission bits, st_mode & 07777 */
	uint32_t uid, gid;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	int64_t ctime_sec;        /* for change detection only; not restored */
	uint32_t ctime_nsec;
	uint64_t inode, dev;      /* for change detection and hard links */
	uint64_t size;            /* FILE: content bytes (sum of chunk lengths) */
	uint64_t link_group;      /* FILE, HARDLINK: 0 = not hard-linked */
	uint64_t rdev;            /* CHR, BLK */
	const char *target;       /* SYMLINK */
	size_t target_len;
	const struct vc_chunk_ref *chunks; /* FILE */
	size_t nchunks;
	/* Version 2 only (ignored when writing version 1, zero when read). */
	const char *user;         /* owner's name, user_len 0 = none */
	size_t user_len;
	const char *group;        /* group's name, group_len 0 = none */
	size_t group_len;
	const struct vc_xattr *xattrs; /* sorted by name, strictly increasing */
	size_t nxattrs;
};

/* Appends the record of n, in tree version VC_TREE_VERSION, to a growable
 * buffer (*buf, *len, *cap; all zero/NULL to start; realloc'ed, the caller
 * frees *buf). Checks n against the limits above. Returns 0, VC_E_CORRUPT
 * (n breaks a rule) or -1. vc_tree_append_v writes tree version version
 * (VC_TREE_VERSION_MIN..VC_TREE_VERSION; another is VC_E_UNSUPPORTED). */
int vc_tree_append(uint8_t **buf, size_t *len, size_t *cap, const struct vc_node *n);
int vc_tree_append_v(uint8_t **buf, size_t *len, size_t *cap, const struct vc_node *n,
    unsigned version);

/*
 * Streaming decoder state: feed it the stream in pieces of any size.
 * vc_tree_next parses one record from buf (len bytes). Returns:
 *   VC_OK with *node filled (its pointers point into buf, valid until buf
 *     changes) and *used set to the record's bytes;
 *   1 (VC_TREE_MORE) when buf holds only part of a record: call again with
 *     more bytes appended (r is unchanged);
 *   VC_E_CORRUPT for a malformed record, an END with no open directory, a
 *     '/' in a name below the top level, a depth over VC_TREE_DEPTH_MAX, or
 *     names out of order within a directory (every rule of spec/tree.md 3);
 *   -1 when out of memory (r is unchanged; the call may be repeated).
 * node->chunks is the exception to "points into buf": it points into r,
 * valid until the next vc_tree_next or vc_tree_reader_free.
 * *depth gets the record's depth (0 = top level); an END has the depth of
 * the DIR it closes. Never reads buf past len. At the end of the stream
 * (all of it consumed) vc_tree_done says whether every directory was
 * closed (0) or not (VC_E_CORRUPT). The HARDLINK rules that need the whole
 * stream (spec/tree.md 3) are the restorer's to check, not the reader's.
 */
#define VC_TREE_MORE 1
struct vc_tree_reader;
/* A reader of tree version VC_TREE_VERSION; vc_tree_reader_new_v reads
 * version (NULL for a version it does not know, or out of memory).
 * node->xattrs, like node->chunks, points into r. */
struct vc_tree_reader *vc_tree_reader_new(void);
struct vc_tree_reader *vc_tree_reader_new_v(unsigned version);
int vc_tree_next(struct vc_tree_reader *r, const uint8_t *buf, size_t len,
    struct vc_node *node, size_t *used, unsigned *depth);
int vc_tree_done(const struct vc_tree_reader *r);
void vc_tree_reader_free(struct vc_tree_reader *r);

/* The decrypted snapshot body. Strings are NUL-terminated and owned by the
 * struct; vc_snapbody_free releases them. */
struct vc_snapbody {
	int64_t time;             /* Unix seconds, client clock */
	uint32_t time_nsec;
	char *hostname;
	char *username;
	char **paths;             /* absolute paths as given */
	size_t npaths;
	char **tags;
	size_t ntags;
	int has_parent;
	uint8_t parent[VC_ID_LEN]; /* snapshot object ID of the parent */
	struct vc_chunk_ref *tree; /* the tree stream's chunks, in order */
	size_t ntree;
	uint64_t tree_size;       /* bytes of the tree stream */
	uint64_t files, dirs, bytes; /* what the snapshot holds */
	uint64_t errors;          /* files that could not be read (partial backup) */
	/* The chain (version 2; a version 1 body reads as 0 and none). */
	uint64_t seq;             /* 1 + the highest seq of the group the writer knew */
	uint8_t (*prev)[VC_ID_LEN]; /* the group's newest snapshots the writer knew */
	size_t nprev;             /* at most VC_SNAPBODY_PREV_MAX */
	unsigned version;         /* as read: 1 or 2; the writer writes 2 */
	unsigned tree_version;    /* of the tree stream (read; written: VC_TREE_VERSION) */
};

#define VC_SNAPBODY_JSON_MAX ((size_t)64 << 20)
/* The newest body version this client reads and the one it writes. */
#define VC_SNAPBODY_VERSION 2
#define VC_SNAPBODY_PREV_MAX 64
/* A sealed body is nonce ‖ ciphertext ‖ tag: the JSON plus this. */
#define VC_SNAPBODY_OVERHEAD (VC_NONCE_LEN + VC_TAG_LEN)

/* Seals the body for an envelope whose header is hdr (hdr_len bytes, the
 * AD) into *out (*outlen, malloc'ed): nonce ‖ AEAD(keys->index, ...). nonce
 * NULL = random. The body's length is vc_snapbody_sealed_len(json length),
 * which the caller needs before the header exists: so this takes the JSON
 * already encoded by vc_snapbody_json. Returns 0 or -1.
 *
 * vc_snapbody_json encodes b as spec/tree.md 5 into *json (malloc'ed,
 * NUL-terminated, *len bytes without the NUL; the caller frees it). Returns
 * 0, VC_E_CORRUPT (b breaks a rule: a string not UTF-8, a path not
 * beginning with '/', time_nsec >= 10^9, a count or seq over INT64_MAX,
 * more than VC_SNAPBODY_PREV_MAX prev IDs, a tree
 * chunk length of 0 or over VC_CHUNK_MAX, lengths not adding up to
 * tree_size), VC_E_TOOBIG (over VC_SNAPBODY_JSON_MAX) or -1.
 * vc_snapbody_sealed_len is VC_SNAPBODY_OVERHEAD + json_len, or SIZE_MAX
 * past VC_SNAPBODY_JSON_MAX. vc_snapbody_seal does not parse the JSON; it
 * also returns VC_E_TOOBIG for json_len over VC_SNAPBODY_JSON_MAX. */
int vc_snapbody_json(const struct vc_snapbody *b, char **json, size_t *len);
size_t vc_snapbody_sealed_len(size_t json_len);
int vc_snapbody_seal(const struct vc_keys *keys, const uint8_t *hdr, size_t hdr_len,
    const char *json, size_t json_len, const uint8_t *nonce, uint8_t **out, size_t *outlen);

/* Authenticates the body against the envelope header, then parses it into
 * *b. Returns 0, VC_E_AUTH, VC_E_CORRUPT (bad JSON or fields),
 * VC_E_UNSUPPORTED ("version" not 1 or 2, or "tree_version" not 1 or 2:
 * written by a newer client), VC_E_TOOBIG (JSON
 * over VC_SNAPBODY_JSON_MAX) or -1; on failure *b is empty (zeroed). */
int vc_snapbody_open(const struct vc_keys *keys, const uint8_t *hdr, size_t hdr_len,
    const uint8_t *body, size_t body_len, struct vc_snapbody *b);

void vc_snapbody_free(struct vc_snapbody *b);

/* The envelope's group label: BLAKE2b-256 keyed with keys->index over
 * "vault group v1" 0x00 ‖ hostname 0x00 ‖ each distinct path (sorted by
 * strcmp) 0x00. Allocates nothing and cannot fail. */
void vc_snapshot_group(const struct vc_keys *keys, const char *hostname,
    char *const *paths, size_t npaths, uint8_t group[32]);

#endif
