#ifndef CONF_INTERNAL_H
#define CONF_INTERNAL_H
/*
 * Shared by conf.c (the file structure: lines, words, blocks, references)
 * and conf_values.c (one value: numbers, sizes, durations, addresses) and
 * reachable from the unit tests. Not for other modules.
 */
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/*
 * Makes room for one more element in arr, which holds n elements of size
 * bytes in room for *cap. Returns the array (moved, perhaps; the caller
 * stores it back), or NULL if out of memory (arr is then unchanged).
 */
void *conf__grow(void *arr, size_t *cap, size_t n, size_t size);

/* Returns a new conf with the default scalars and no listen address yet,
 * or NULL if out of memory. */
struct conf *conf__new(void);

/* Sets c's only listen address to the default. Returns 0, or -1 if out of
 * memory. c must have none yet. */
int conf__add_default_listen(struct conf *c);

/* Copies the string s into dst (size bytes). Returns 0, or -1 if it does
 * not fit (dst then holds nothing useful). */
int conf__copy(char *dst, size_t size, const char *s);

/* Parses decimal digits only (no sign, no space) into *out. Returns 0, or -1
 * if s is empty, holds anything else, or is more than UINT64_MAX. */
int conf__parse_u64(const char *s, uint64_t *out);

/*
 * Parses HOST:PORT or [IPV6]:PORT into *out. Returns 0, or -1 with a static
 * sentence saying what is wrong in *why.
 */
int conf__parse_listen(const char *s, struct conf_listen *out, const char **why);

/*
 * Checks a target URL: http:// or https://, a host (name, IPv4 or [IPv6]),
 * an optional :PORT (1..65535) and at most a final '/'. Returns 0, or -1
 * with a static sentence in *why.
 */
int conf__check_url(const char *s, const char **why);

/*
 * At a backend block's '}' (conf_tier.c): what its type needs and what it
 * must not hold; first says it is the file's first backend, which must be
 * of type fs. Returns 0, or -1 with a sentence in why. Fills in defaults
 * (cartridge-size).
 */
int conf__backend_problem(struct conf_backend *b, int first, char *why, size_t len);

/* At a policy block's '}': tier-to needs tier-after or tier-idle, and
 * those need tier-to. Returns 0, or -1 with a sentence in why. */
int conf__tier_problem(const struct conf_policy *pol, char *why, size_t len);

#endif
