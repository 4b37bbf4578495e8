#ifndef TEST_ALLOC_FAIL_H
#define TEST_ALLOC_FAIL_H
/*
 * An allocation-failure hook for unit tests that include the module under
 * test (STYLE.md 12, 14):
 *
 *     #include "alloc_fail.h"
 *     #define malloc hooked_malloc
 *     #include "module.c"
 *     #undef malloc
 *
 * Setting fail_next_alloc makes the module's next malloc() return NULL. The
 * test's object then provides the module's symbols, so the library's copy is
 * not linked.
 */
#include <stdlib.h>

static int fail_next_alloc;

static void *
hooked_malloc(size_t n)
{
	if (fail_next_alloc) {
		fail_next_alloc = 0;
		return NULL;
	}
	return malloc(n);
}

#endif
