/*
 * Runs a fuzz driver over saved inputs without libFuzzer, so that a plain
 * gcc build (`make fuzz-replay`, part of `make test`) replays the corpus:
 *
 *	build/fuzz/fuzz_http-replay tests/fuzz/corpus/http [FILE...]
 *
 * Each argument is a file or a directory; the regular files directly inside
 * a directory are run in name order (subdirectories and dot files are
 * skipped). A missing argument, an unreadable file or a directory with no
 * input is an error: a replay that runs nothing must not look like a pass.
 * VAULT_FUZZ_VERBOSE=1 names each input before it runs, to find the one a
 * sanitizer stops on.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* The input running now, for the SIGABRT message. */
static char current[PATH_MAX];
static int verbose;

static void
on_abort(int sig)
{
	static const char pre[] = "replay: aborted on input ";

	/* Only async-signal-safe calls here. */
	if (write(STDERR_FILENO, pre, sizeof(pre) - 1) < 0 ||
	    write(STDERR_FILENO, current, strlen(current)) < 0 ||
	    write(STDERR_FILENO, "\n", 1) < 0) {
		/* Nothing more can be done. */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads path whole into a buffer of exactly its size (so that ASan sees an
 * overread by one byte) and runs it. Returns 0, or -1 if it cannot be read. */
static int
run_file(const char *path)
{
	FILE *f;
	struct stat st;
	unsigned char *buf;
	size_t size, got;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
		fprintf(stderr, "replay: %s: cannot stat\n", path);
		goto err1;
	}
	size = (size_t)st.st_size;
	/* malloc(0) may return NULL; the driver gets a valid pointer anyway. */
	if ((buf = malloc(size > 0 ? size : 1)) == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto err1;
	}
	got = fread(buf, 1, size, f);
	if (got != size || ferror(f)) {
		fprintf(stderr, "replay: %s: short read\n", path);
		goto err2;
	}
	fclose(f);

	if (strlen(path) < sizeof(current))
		memcpy(current, path, strlen(path) + 1);
	else
		memcpy(current, "(long path)", sizeof("(long path)"));
	if (verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
	LLVMFuzzerTestOneInput(buf, size);
	free(buf);
	return 0;

err2:
	free(buf);
err1:
	fclose(f);
	return -1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the regular files in dir in name order; adds the count to *ran.
 * Returns 0, or -1 on an error or if the directory holds no input. */
static int
run_dir(const char *dir, size_t *ran)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL, **grown;
	size_t n = 0, cap = 0, done = 0;
	int rc = -1;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if (cap > SIZE_MAX / sizeof(*names) ||
			    (grown = realloc(names, cap * sizeof(*names))) == NULL)
				goto out;
			names = grown;
		}
		if ((names[n] = strdup(e->d_name)) == NULL)
			goto out;
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;
		int len = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		if (len < 0 || (size_t)len >= sizeof(path)) {
			fprintf(stderr, "replay: %s/%s: path too long\n", dir, names[i]);
			goto out;
		}
		if (stat(path, &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (run_file(path) != 0)
			goto out;
		done++;
	}
	if (done == 0) {
		fprintf(stderr, "replay: %s: no input files\n", dir);
		goto out;
	}
	*ran += done;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int
main(int argc, char *argv[])
{
	size_t ran = 0;
	const char *v = getenv("VAULT_FUZZ_VERBOSE");

	verbose = v != NULL && *v != '\0' && strcmp(v, "0") != 0;
	signal(SIGABRT, on_abort);
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &ran) != 0)
				return 1;
		} else if (run_file(argv[i]) != 0) {
			return 1;
		} else {
			ran++;
		}
	}
	printf("%s: %zu inputs ran\n", argv[0], ran);
	return ran > 0 ? 0 : 1;
}
