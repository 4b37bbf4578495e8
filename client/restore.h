#ifndef VC_RESTORE_H
#define VC_RESTORE_H
/*
 * Restore: recreate a snapshot's files (or the parts named by --include)
 * under a target directory, byte for byte, with modes, owners (when run as
 * root), times, symlinks, hard links and special files.
 *
 * Chunks are fetched pack by pack: the wanted chunks are sorted by where
 * they are stored, neighbours in one pack are read with one range request,
 * several requests run at once, and sealing threads authenticate and
 * decompress each chunk before writing it at its offsets. Every chunk is
 * authenticated against its ID, so a damaged or swapped blob fails the
 * restore of that file loudly instead of writing wrong bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

struct vc_restore_opts {
	const char *target;
	char **includes;      /* snapshot paths ("usr/share/doc" or "/usr/share/doc") */
	size_t nincludes;
	unsigned threads;     /* 0 = one per core */
	int progress;
	int verbose;
};

struct vc_restore_stats {
	uint64_t files, dirs, others, bytes, errors;
	uint64_t requests, downloaded;
	double seconds;
	char **failed;        /* target paths of the entries not restored */
	size_t nfailed, cfailed;
};

/*
 * Restores s. Returns 0, VC_BACKUP_PARTIAL (3: some entries failed, each
 * named through the report callback and listed in st->failed), or -1 with
 * err. A FILE is written under a temporary name in its directory and renamed
 * to its own name only when complete; a file that fails leaves nothing under
 * its name (spec/client.md 3). st is always filled; vc_restore_stats_free
 * releases st->failed.
 */
int vc_restore(struct vc_repo *r, const struct vc_snapinfo *s, const struct vc_restore_opts *o,
    struct vc_restore_stats *st, char *err, size_t errlen);
void vc_restore_stats_free(struct vc_restore_stats *st);

/* 1 if path (a snapshot path) is selected by includes (none = all), 2 if
 * it is only a directory on the way to one, 0 if not selected. */
int vc_restore_selected(char *const *includes, size_t n, const char *path);

#endif
