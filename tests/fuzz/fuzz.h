#ifndef FUZZ_H
#define FUZZ_H
/*
 * The libFuzzer entry point every tests/fuzz/fuzz_*.c driver defines. The
 * same driver links either with libFuzzer (`make fuzz`) or with replay.c
 * (`make fuzz-replay`), which feeds it the checked-in corpus.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A message on stderr, then abort(): the fuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",       \
			    __FILE__, __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

/* Runs one input of size bytes. Returns 0; an invariant the driver checks
 * and finds broken calls abort(). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
