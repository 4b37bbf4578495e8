#ifndef VC_PROGRESS_H
#define VC_PROGRESS_H
/*
 * A progress line on standard error, redrawn twice a second by a thread of
 * its own: "VERB N files, DONE of TOTAL, RATE/s, ETA m:ss". The counters
 * belong to the caller, which updates them with __atomic stores or adds;
 * the ETA appears once *total_known is non-zero.
 */
#include <stdint.h>

struct vc_progress;

/* Starts the line. Returns NULL (and shows nothing) if the thread cannot
 * start or memory runs out. */
struct vc_progress *vc_progress_start(const char *verb, const uint64_t *files,
    const uint64_t *done, const uint64_t *total, const int *total_known);

/* Stops the thread and clears the line. NULL is ignored. */
void vc_progress_stop(struct vc_progress *p);

/* Seconds on the monotonic clock since *t0. */
struct timespec;
double vc_elapsed(const struct timespec *t0);

#endif
