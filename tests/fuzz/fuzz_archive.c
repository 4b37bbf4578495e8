/*
 * Fuzz driver for the archive backend's index logs (spec/tiering.md, "The
 * archive backend"): the bytes an archive directory holds after a crash,
 * which the replay at open must survive. Byte 0 picks the mode, the rest is
 * the log:
 *   0: the rest follows a valid header of cartridge 1;
 *   1: the rest is the whole log, header included.
 * The segment is 4096 bytes. Invariants: the open succeeds (mode 0) or
 * fails with EIO (a bad header); every listed key stats and reads back its
 * full size, within the segment; a second open lists the same keys (the cut
 * of a torn tail is stable) and leaves the log as the first one did.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "fuzz.h"

#define SEG_LEN 4096
#define HDR_LEN 16
#define MAX_KEYS 4096

static char dir[64];

static void
write_file(const char *name, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fwrite(a, 1, alen, f) == alen);
	FUZZ_CHECK(blen == 0 || fwrite(b, 1, blen, f) == blen);
	FUZZ_CHECK(fclose(f) == 0);
}

static off_t
size_of(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

struct seen {
	size_t n;
	uint64_t sum;
};

static int
visit(const char *key, uint64_t size, void *arg)
{
	struct seen *s = arg;

	FUZZ_CHECK(backend_key_valid(key));
	FUZZ_CHECK(size <= SEG_LEN);
	s->n++;
	s->sum += size + (uint64_t)key[0] * 7 + strlen(key);
	return s->n >= MAX_KEYS;
}

/* Every listed key reads back whole. */
static int
check_reads(const char *key, uint64_t size, void *arg)
{
	struct backend *b = arg;
	struct backend_reader *r;
	uint8_t buf[SEG_LEN];
	uint64_t got;

	FUZZ_CHECK(backend_stat(b, key, &got) == 0 && got == size);
	FUZZ_CHECK(backend_open(b, key, &r, &got) == 0 && got == size);
	FUZZ_CHECK(size == 0 || backend_read(b, r, 0, buf, sizeof(buf)) == (ssize_t)size);
	backend_close(b, r);
	return 0;
}

static void
remove_file(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* The scratch directory goes when the process ends. */
static void
cleanup(void)
{
	char path[128];

	remove_file("cart-00000001.seg");
	remove_file("cart-00000001.idx");
	remove_file("cart-00000002.seg");
	remove_file("cart-00000002.idx");
	snprintf(path, sizeof(path), "%s/.spool", dir);
	rmdir(path);
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t hdr[HDR_LEN] = {'v', 'a', 'u', 'l', 't', 'a', 'r', 'c', 1, 0, 0, 0,
	    1, 0, 0, 0};
	static uint8_t seg[SEG_LEN];
	struct seen one = {0}, two = {0};
	struct backend *b;
	off_t idx_len;

	if (size < 1 || size > 65536)
		return 0;
	if (dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/fuzz_archive.XXXXXX",
		    tmp != NULL && *tmp != '\0' && strlen(tmp) < 32 ? tmp : "/tmp");
		FUZZ_CHECK(mkdtemp(dir) != NULL);
		FUZZ_CHECK(atexit(cleanup) == 0);
		for (size_t i = 0; i < SEG_LEN; i++)
			seg[i] = (uint8_t)(i * 13);
	}
	remove_file("cart-00000002.seg");
	remove_file("cart-00000002.idx");
	if (data[0] == 0)
		write_file("cart-00000001.idx", hdr, HDR_LEN, data + 1, size - 1);
	else
		write_file("cart-00000001.idx", data + 1, size - 1, NULL, 0);
	write_file("cart-00000001.seg", seg, SEG_LEN, NULL, 0);
	b = backend_archive_open(dir, 1 << 20);
	if (b == NULL) {
		FUZZ_CHECK(data[0] != 0 && errno == EIO);
		return 0;
	}
	FUZZ_CHECK(backend_list(b, "", visit, &one) >= 0);
	FUZZ_CHECK(backend_list(b, "", check_reads, b) == 0);
	backend_free(b);
	idx_len = size_of("cart-00000001.idx");
	FUZZ_CHECK(idx_len >= HDR_LEN && (size_t)idx_len <= (data[0] == 0 ? size - 1 + HDR_LEN :
	    (size - 1 < HDR_LEN ? HDR_LEN : size - 1)));
	b = backend_archive_open(dir, 1 << 20);
	FUZZ_CHECK(b != NULL);
	FUZZ_CHECK(backend_list(b, "", visit, &two) >= 0);
	FUZZ_CHECK(one.n == two.n && one.sum == two.sum);
	backend_free(b);
	FUZZ_CHECK(size_of("cart-00000001.idx") == idx_len);
	return 0;
}
