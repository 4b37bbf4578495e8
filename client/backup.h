#ifndef VC_BACKUP_H
#define VC_BACKUP_H
/*
 * Backup: walk the given paths, chunk and dedup every changed file, upload
 * what the vault lacks and commit a snapshot (DESIGN.md, "Data flow").
 *
 * A file whose size, mtime, ctime and inode equal those in the parent
 * snapshot (the latest of the same host and paths, or the one named) is
 * not read again when the vault still holds all its chunks. Unreadable
 * files are reported through the repository's report callback, left out
 * of the snapshot and counted; the result is then VC_BACKUP_PARTIAL. If
 * the vault's garbage collector removed a pack the run relied on, the
 * commit is refused (409) and the backup runs again with those packs
 * forgotten, up to three times.
 */
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

#define VC_BACKUP_PARTIAL 3

struct vc_backup_opts {
	char **paths;
	size_t npaths;
	char **excludes;      /* fnmatch patterns: with a '/' against the absolute
	                       * path, else against the name */
	size_t nexcludes;
	char **tags;
	size_t ntags;
	int one_fs;           /* do not cross into other file systems */
	int force;            /* read every file, ignore the parent */
	const char *parent;   /* snapshot ID or prefix; NULL = latest of the group */
	const char *hostname; /* NULL = gethostname */
	int64_t time;         /* 0 = now */
	unsigned threads;     /* sealing threads; 0 = one per core */
	int progress;         /* report progress every half second */
	int verbose;          /* report each file's name */
	/* Called once per attempt, after every upload and before the commit;
	 * attempt counts from 1. NULL: none. For tests (spec/client.md 2.4). */
	void (*before_commit)(void *arg, unsigned attempt);
	void *before_commit_arg;
};

struct vc_backup_stats {
	uint64_t files, dirs, others;      /* in the snapshot */
	uint64_t bytes;                    /* file bytes in the snapshot */
	uint64_t files_unchanged;          /* taken from the parent unread */
	uint64_t bytes_read;
	uint64_t errors;                   /* unreadable files and directories */
	uint64_t chunks_new, plain_new, sealed_new, packs, indexes;
	uint64_t uploaded;                 /* bytes sent */
	unsigned attempts;
	int has_parent;
	uint8_t parent[VC_ID_LEN];
	uint8_t snapshot[VC_ID_LEN];
	double seconds;
};

/* Runs a backup. Returns 0, VC_BACKUP_PARTIAL, VC_ROLLBACK (the listing
 * lacks a snapshot this client saw; nothing was uploaded), or -1 with err. */
int vc_backup(struct vc_repo *r, const struct vc_backup_opts *o, struct vc_backup_stats *st,
    char *err, size_t errlen);

#endif
