/*
 * Key rules and the thin wrappers that call through a backend's ops table
 * (backend.h). The backends themselves live in backend_fs.c and
 * backend_mem.c, as OpenSMTPD keeps queue_fs.c and queue_ram.c apart from
 * queue_backend.c.
 */
#include "backend.h"

#include <string.h>

/* Returns 1 if c may appear in a key component. */
static int
key_char_valid(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	    c == '_' || c == '-';
}

/* Returns 1 if the len bytes at s form a legal component: non-empty, not "."
 * or "..", and only [a-z0-9._-]. */
static int
component_valid(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!key_char_valid(s[i]))
			return 0;
	return 1;
}

int
backend_key_valid(const char *key)
{
	size_t len;

	if (key == NULL)
		return 0;
	/* strnlen so an absurdly long key costs no more than a legal one. */
	len = strnlen(key, BACKEND_KEY_MAX + 1);
	if (len == 0 || len > BACKEND_KEY_MAX)
		return 0;
	while (len > 0) {
		const char *slash = memchr(key, '/', len);
		size_t clen = slash != NULL ? (size_t)(slash - key) : len;

		if (!component_valid(key, clen))
			return 0;
		if (slash == NULL)
			break;
		key += clen + 1;
		len -= clen + 1;
		/* A trailing '/' leaves an empty last component. */
		if (len == 0)
			return 0;
	}
	return 1;
}

int
backend_has_cap(const struct backend *b, unsigned cap)
{
	return b != NULL && (b->ops->caps & cap) == cap;
}

int
backend_put_begin(struct backend *b, const char *key, struct backend_put **out)
{
	return b->ops->put_begin(b, key, out);
}

int
backend_put_write(struct backend *b, struct backend_put *p, const void *buf, size_t len)
{
	return b->ops->put_write(p, buf, len);
}

int
backend_put_commit(struct backend *b, struct backend_put *p)
{
	return b->ops->put_commit(p);
}

void
backend_put_abort(struct backend *b, struct backend_put *p)
{
	if (p == NULL)
		return;
	b->ops->put_abort(p);
}

int
backend_open(struct backend *b, const char *key, struct backend_reader **out,
    uint64_t *size)
{
	return b->ops->open(b, key, out, size);
}

ssize_t
backend_read(struct backend *b, struct backend_reader *r, uint64_t off, void *buf,
    size_t len)
{
	return b->ops->read(r, off, buf, len);
}

void
backend_close(struct backend *b, struct backend_reader *r)
{
	if (r == NULL)
		return;
	b->ops->close(r);
}

int
backend_stat(struct backend *b, const char *key, uint64_t *size)
{
	return b->ops->stat(b, key, size);
}

int
backend_remove(struct backend *b, const char *key)
{
	return b->ops->remove(b, key);
}

int
backend_list(struct backend *b, const char *prefix,
    int (*cb)(const char *key, uint64_t size, void *arg), void *arg)
{
	return b->ops->list(b, prefix, cb, arg);
}

int
backend_space(struct backend *b, uint64_t *avail)
{
	return b->ops->space(b, avail);
}

void
backend_free(struct backend *b)
{
	if (b == NULL)
		return;
	b->ops->free(b);
}
