#ifndef TEST_FAULTSIM_H
#define TEST_FAULTSIM_H
/*
 * The one allocation-failure simulator of the unit tests (STYLE.md 14),
 * modelled on SQLite's src/test_malloc.c (faultsimStep): a countdown that
 * lets a number of allocations succeed, then fails one of them, or every
 * one from then on.
 *
 * Every unit-test binary is linked with
 *
 *	-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup
 *
 * (Makefile, FAULTSIM_LDFLAGS), so each of those calls made by our own code
 * in the binary (the test, and the modules it links from the static
 * libraries) goes through faultsim.c; shared libraries (libsodium, jansson,
 * LMDB, libc itself) keep the real allocator. Production binaries are linked
 * without the wrap and the code under test calls plain malloc: there is no
 * hook in it.
 *
 * The usual loop fails each allocation of the operation in turn, until a run
 * in which none failed, which must then succeed:
 *
 *	for (n = 0;; n++) {
 *		faultsim_config(n, 1);
 *		rc = operation();
 *		if (faultsim_off() == 0)
 *			break;              (no fault: rc must say success)
 *		assert_int_equal(rc, -1);   (a fault: a clean failure)
 *	}
 *
 * The state is a plain static: arm it only while one thread allocates.
 */
#include <limits.h>

/* faultsim_config's repeat for "every allocation from the first fault on". */
#define FAULTSIM_PERSIST INT_MAX

/*
 * Arms the simulator: the next delay allocations succeed, then repeat of
 * them fail (FAULTSIM_PERSIST: all), then they succeed again. A delay below
 * 0 disarms it. Resets the count of failures.
 */
void faultsim_config(int delay, int repeat);

/* Disarms the simulator. Returns how many allocations it failed since
 * faultsim_config. */
int faultsim_off(void);

/* How many allocations the simulator failed since faultsim_config. */
int faultsim_failures(void);

/* Between these two, allocations neither fail nor count down: for a test's
 * own allocations made while the simulator is armed (a callback of the
 * code under test that collects results, say). They nest. */
void faultsim_benign_begin(void);
void faultsim_benign_end(void);

#endif
