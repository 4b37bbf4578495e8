/*
 * The progress line (progress.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "progress.h"

#define REDRAW_NS 500000000L

struct vc_progress {
	const struct vc_report *rp;
	const char *verb;
	const uint64_t *files, *done, *total;
	const int *total_known;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	struct timespec t0;
};

double
vc_elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static const char *
human(uint64_t n, char *buf, size_t len)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i == 0 ? "%.0f %s" : "%.1f %s", v, unit[i]);
	return buf;
}

static void
draw(const struct vc_progress *p)
{
	char done_s[32], total_s[32], rate_s[32], eta[32] = "";
	double secs = vc_elapsed(&p->t0), rate;
	uint64_t done = __atomic_load_n(p->done, __ATOMIC_RELAXED);
	uint64_t total = __atomic_load_n(p->total, __ATOMIC_RELAXED);
	uint64_t files = __atomic_load_n(p->files, __ATOMIC_RELAXED);
	int known = __atomic_load_n(p->total_known, __ATOMIC_ACQUIRE);

	rate = secs > 0 ? (double)done / secs : 0;
	if (known && rate > 0 && total >= done) {
		double left = (double)(total - done) / rate;

		snprintf(eta, sizeof(eta), ", ETA %d:%02d", (int)left / 60, (int)left % 60);
	}
	vc_report(p->rp, VC_LOG_PROGRESS, "%s %llu files, %s of %s%s, %s/s%s", p->verb,
	    (unsigned long long)files, human(done, done_s, sizeof(done_s)),
	    human(total, total_s, sizeof(total_s)), known ? "" : " so far",
	    human((uint64_t)rate, rate_s, sizeof(rate_s)), eta);
}

static void *
run(void *arg)
{
	struct vc_progress *p = arg;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct timespec until;

		draw(p);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += REDRAW_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &until);
	}
	pthread_mutex_unlock(&p->mu);
	vc_report(p->rp, VC_LOG_PROGRESS, "%s", "");
	return NULL;
}

struct vc_progress *
vc_progress_start(const struct vc_report *rp, const char *verb, const uint64_t *files,
    const uint64_t *done, const uint64_t *total, const int *total_known)
{
	struct vc_progress *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->rp = rp;
	p->verb = verb;
	p->files = files;
	p->done = done;
	p->total = total;
	p->total_known = total_known;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		free(p);
		return NULL;
	}
	return p;
}

void
vc_progress_stop(struct vc_progress *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
