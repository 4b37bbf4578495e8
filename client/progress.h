#ifndef VC_PROGRESS_H
#define VC_PROGRESS_H
/*
 * A progress line, handed to the caller's report callback (VC_LOG_PROGRESS)
 * twice a second by a thread of its own: "VERB N files, DONE of TOTAL,
 * RATE/s, ETA m:ss". The counters
 * belong to the caller, which updates them with __atomic stores or adds;
 * the ETA appears once *total_known is non-zero.
 */
#include <stdint.h>

#include "report.h"

struct vc_progress;

/* Starts the line; rp (kept, not copied; it must outlive the line) gets
 * it. Returns NULL (and shows nothing) if the thread cannot start or
 * memory runs out. */
struct vc_progress *vc_progress_start(const struct vc_report *rp, const char *verb,
    const uint64_t *files, const uint64_t *done, const uint64_t *total, const int *total_known);

/* Stops the thread and clears the line. NULL is ignored. */
void vc_progress_stop(struct vc_progress *p);

/* Seconds on the monotonic clock since *t0. */
struct timespec;
double vc_elapsed(const struct timespec *t0);

#endif
