/*
 * The countdown allocation-failure simulator (faultsim.h). The linker's
 * --wrap turns our code's calls to malloc, calloc, realloc and strdup into
 * calls to the __wrap_ functions below; __real_ names the C library's.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "faultsim.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static struct {
	int enable;     /* armed */
	int countdown;  /* successes left before the next failure */
	int repeat;     /* failures left before it disarms itself */
	int failures;   /* failures since faultsim_config */
	int benign;     /* depth of faultsim_benign_begin */
} fs;

void
faultsim_config(int delay, int repeat)
{
	fs.countdown = delay;
	fs.repeat = repeat;
	fs.failures = 0;
	fs.enable = delay >= 0 && repeat > 0;
}

int
faultsim_off(void)
{
	fs.enable = 0;
	return fs.failures;
}

int
faultsim_failures(void)
{
	return fs.failures;
}

void
faultsim_benign_begin(void)
{
	fs.benign++;
}

void
faultsim_benign_end(void)
{
	fs.benign--;
}

/* 1 if this allocation is to fail (SQLite's faultsimStep). */
static int
faultsim_step(void)
{
	if (!fs.enable || fs.benign > 0)
		return 0;
	if (fs.countdown > 0) {
		fs.countdown--;
		return 0;
	}
	fs.failures++;
	if (fs.repeat != FAULTSIM_PERSIST && --fs.repeat <= 0)
		fs.enable = 0;
	errno = ENOMEM;
	return 1;
}

void *
__wrap_malloc(size_t n)
{
	return faultsim_step() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return faultsim_step() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return faultsim_step() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return faultsim_step() ? NULL : __real_strdup(s);
}
