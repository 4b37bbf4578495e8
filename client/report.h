#ifndef VC_REPORT_H
#define VC_REPORT_H
/*
 * How libvaultclient tells its caller what happens: warnings, errors,
 * the names of files as they are processed, and the progress line. The
 * library never writes to standard error itself; every message goes to the
 * callback the caller put in its options (struct vc_repo_opts, and from
 * there to the cache, the transport and the commands). No callback means
 * no messages: the library then reports only through return values and
 * err buffers.
 *
 * A message is one line of text for a person, without a trailing newline,
 * complete as it would be printed ("vault: /etc/shadow: Permission denied
 * (left out of the snapshot)"). The callback may be called from any of the
 * library's threads, several at once; it must serialise its own output.
 */
#include <stdarg.h>

enum vc_level {
	VC_LOG_ERROR,    /* something failed (a file, a chunk, the cache) */
	VC_LOG_WARN,     /* something the user should know; the run goes on */
	VC_LOG_INFO,     /* a file name, with --verbose */
	VC_LOG_PROGRESS  /* the progress line, redrawn in place; "" clears it */
};

typedef void vc_report_fn(void *arg, enum vc_level level, const char *msg);

struct vc_report {
	vc_report_fn *fn;  /* NULL: messages are dropped */
	void *arg;         /* handed to fn */
};

/* Formats a message and hands it to rp->fn. rp NULL or rp->fn NULL: does
 * nothing. Out of memory for a long message: hands over the first 1023
 * bytes. */
void vc_report(const struct vc_report *rp, enum vc_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
