/*
 * The copy check (store.h, store_copy_check): the one place that reads a
 * stored copy through and judges it against its ID. GET (small copies
 * before the answer starts), scrub (every copy, paced, and the local
 * source of a repair), the tierer (the source of a move and the copy it
 * wrote) all call it, so "a good copy" means the same thing everywhere.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sha256.h"

/* Reads [0, size) of rd through c's pace into h (and c's put). Returns
 * STORE_COPY_GOOD when every byte went through, else the failure with c's
 * reason and err set; c->read gets the bytes read either way. */
static int
stream(struct backend *b, struct backend_reader *rd, uint64_t size, uint8_t *buf,
    size_t chunk, struct sha256 *h, struct store_check *c)
{
	uint64_t off = 0;
	int rc = STORE_COPY_GOOD;

	while (off < size) {
		size_t want = size - off < chunk ? (size_t)(size - off) : chunk;
		ssize_t n;

		if (c->pace != NULL)
			c->pace(c->arg, want);
		if (c->cancelled != NULL && c->cancelled(c->arg)) {
			snprintf(c->reason, sizeof(c->reason), "the check was cancelled");
			rc = STORE_COPY_CANCELLED;
			break;
		}
		if ((n = backend_read(b, rd, off, buf, want)) <= 0) {
			c->err = n < 0 ? errno : 0;
			snprintf(c->reason, sizeof(c->reason), "read error at byte %" PRIu64 ": %s",
			    off, n < 0 ? strerror(c->err) : "unexpected end");
			rc = STORE_COPY_IO;
			break;
		}
		if (sha256_update(h, buf, (size_t)n) != 0) {
			c->err = ENOMEM;
			snprintf(c->reason, sizeof(c->reason), "hashing failed");
			rc = STORE_COPY_IO;
			break;
		}
		if (c->put != NULL && backend_put_write(c->dst, c->put, buf, (size_t)n) != 0) {
			c->err = errno != 0 ? errno : EIO;
			snprintf(c->reason, sizeof(c->reason), "write error at byte %" PRIu64 ": %s",
			    off, strerror(c->err));
			rc = STORE_COPY_IO;
			break;
		}
		off += (uint64_t)n;
	}
	c->read = off;
	return rc;
}

int
store_copy_check(struct backend *b, const char *key, const uint8_t id[VSP_ID_LEN],
    uint64_t size, struct store_check *c)
{
	struct backend_reader *rd;
	struct sha256 *h = NULL;
	uint8_t digest[SHA256_LEN], *buf = c->buf, *own = NULL;
	size_t chunk = c->buf != NULL ? c->buflen : STORE_CHUNK;
	uint64_t have;
	int rc;

	c->read = 0;
	c->err = 0;
	c->reason[0] = '\0';
	if (backend_open(b, key, &rd, &have) != 0) {
		c->err = errno;
		snprintf(c->reason, sizeof(c->reason), c->err == ENOENT ? "the copy is missing" :
		    "cannot open the copy: %s", strerror(c->err));
		errno = c->err;
		return STORE_COPY_NO_OPEN;
	}
	if (have != size) {
		snprintf(c->reason, sizeof(c->reason), "the copy is %" PRIu64 " bytes, not %"
		    PRIu64, have, size);
		rc = STORE_COPY_WRONG_SIZE;
		goto out;
	}
	if ((buf == NULL && (buf = own = malloc(chunk)) == NULL) || (h = sha256_new()) == NULL) {
		c->err = ENOMEM;
		snprintf(c->reason, sizeof(c->reason), "out of memory");
		rc = STORE_COPY_IO;
		goto out;
	}
	if ((rc = stream(b, rd, size, buf, chunk, h, c)) != STORE_COPY_GOOD)
		goto out;
	if (sha256_final(h, digest) != 0 || sodium_memcmp(digest, id, VSP_ID_LEN) != 0) {
		snprintf(c->reason, sizeof(c->reason),
		    "SHA-256 mismatch: the bytes do not hash to the ID");
		rc = STORE_COPY_BAD_HASH;
	}
out:
	sha256_free(h);
	free(own);
	backend_close(b, rd);
	if (rc != STORE_COPY_GOOD)
		errno = c->err != 0 ? c->err : EIO;
	return rc;
}

int
store_read_exact(struct backend *b, struct backend_reader *r, uint64_t off, void *buf,
    size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = backend_read(b, r, off, p, len);
		if (n <= 0)
			return -1;
		off += (uint64_t)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
