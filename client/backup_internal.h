#ifndef VC_BACKUP_INTERNAL_H
#define VC_BACKUP_INTERNAL_H
/*
 * Shared by backup.c (pipeline, snapshot), backup_walk.c (the file system
 * walk) and backup_parent.c (the parent snapshot's file table).
 */
#include <pthread.h>
#include <stdint.h>

#include "backup.h"
#include "chunker.h"
#include "fsmeta.h"
#include "idset.h"
#include "packer.h"

/* A file of the parent snapshot, by path. */
struct vc_pent {
	struct vc_pent *next;
	uint64_t size, inode;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
	struct vc_chunk_ref *chunks;
	size_t nchunks;
	char path[];
};

struct vc_pmap {
	struct vc_pent **b;
	size_t nb, n;
};

/* Loads the FILE records of the snapshot body into *m. 0 or -1 (err). */
int vc_pmap_load(struct vc_repo *r, const struct vc_snapbody *b, struct vc_pmap *m,
    char *err, size_t errlen);
const struct vc_pent *vc_pmap_get(const struct vc_pmap *m, const char *path);
void vc_pmap_free(struct vc_pmap *m);

/* A tree-stream record waiting for its chunks, in stream order. */
struct pnode {
	struct pnode *next;
	struct vc_node n;
	char *name, *target;        /* owned strings behind n.name, n.target */
	struct vc_chunk_ref *chunks; /* FILE */
	size_t cap;
	unsigned pending;           /* chunk jobs not yet done */
	int dropped;                /* unreadable: not written */
	struct vc_fsmeta meta;      /* owner names, xattrs: behind n's v2 fields */
};

struct job {
	struct job *next;
	struct pnode *node;         /* NULL for none */
	size_t idx;
	uint8_t *buf;
	size_t len;
};

struct bk {
	struct vc_repo *r;
	const struct vc_backup_opts *o;
	struct vc_packer *pk;
	struct vc_chunker *chunker;     /* file contents; main thread */
	struct vc_chunker *tchunker;    /* the tree stream; main thread */
	struct vc_pmap parent;
	int has_parent;
	const struct vc_chain_next *chain; /* seq and prev of the new snapshot */
	struct vc_idset *links;         /* (dev, inode) -> link group */
	uint32_t next_group;

	pthread_mutex_t mu;
	pthread_cond_t cv_job, cv_done;
	struct job *jhead, *jtail;
	size_t inflight, inflight_max;
	int stop, failed;
	char err[VC_ERR_LEN];
	pthread_t *workers;
	unsigned nworkers;

	struct pnode *qhead, *qtail;    /* records in stream order */
	uint8_t *tree;                  /* the current tree chunk's bytes */
	size_t tlen, tcap, tscan;
	struct vc_chunk_ref *trefs;
	size_t ntrefs, ctrefs;
	uint64_t tree_size;

	/* Progress: written by the main thread, read by the reporter. */
	uint64_t files, dirs, others, bytes, bytes_read, errors, unchanged;
	uint64_t done;                  /* bytes read or skipped as unchanged */
	char **scan_paths;              /* the absolute paths, for the scan */
	uint64_t scan_files, scan_bytes;
	int scan_done;
};

/* backup.c */
int bk_failed(struct bk *b);
int bk_set_error(struct bk *b, const char *fmt, ...);
struct pnode *bk_node_new(const char *name, size_t name_len);
/* Appends node to the stream queue (its chunk jobs may still be running). */
void bk_enqueue(struct bk *b, struct pnode *node);
/* Queues a chunk job for node (idx-th chunk); takes buf. */
int bk_submit(struct bk *b, struct pnode *node, size_t idx, uint8_t *buf, size_t len);
/* Writes every finished record at the head of the queue; wait: all. */
int bk_drain(struct bk *b, int wait);

/* backup_walk.c */
int bk_walk(struct bk *b, char **abs_paths, size_t n);
void *bk_scan_thread(void *arg);

#endif
