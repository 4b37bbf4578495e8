/*
 * vc_report: formatting for the caller's message callback (report.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"

void
vc_report(const struct vc_report *rp, enum vc_level level, const char *fmt, ...)
{
	char small[1024], *buf = small;
	va_list ap;
	int n;

	if (rp == NULL || rp->fn == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Paths can be 4096 bytes and more: format again at full length. */
	if ((size_t)n >= sizeof(small) && (buf = malloc((size_t)n + 1)) != NULL) {
		va_start(ap, fmt);
		vsnprintf(buf, (size_t)n + 1, fmt, ap);
		va_end(ap);
	} else if (buf == NULL) {
		buf = small;
	}
	rp->fn(rp->arg, level, buf);
	if (buf != small)
		free(buf);
}
