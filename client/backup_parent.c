/*
 * The parent snapshot's files by path (backup_internal.h), so that an
 * unchanged file is recognised without reading it.
 */
#include <stdlib.h>
#include <string.h>

#include "backup_internal.h"

static uint64_t
hash_path(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static int
pmap_grow(struct vc_pmap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 1024;
	struct vc_pent **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < m->nb; i++) {
		struct vc_pent *e = m->b[i], *next;

		for (; e != NULL; e = next) {
			size_t j = hash_path(e->path) & (nb - 1);

			next = e->next;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

static int
pmap_add(const struct vc_node *n, const char *path, unsigned depth, void *arg)
{
	struct vc_pmap *m = arg;
	struct vc_pent *e;
	size_t plen = strlen(path), j;

	(void)depth;
	if (n->type != VC_NODE_FILE)
		return 0;
	if (m->n >= m->nb && pmap_grow(m) != 0)
		return -1;
	if ((e = calloc(1, sizeof(*e) + plen + 1)) == NULL)
		return -1;
	memcpy(e->path, path, plen + 1);
	e->size = n->size;
	e->inode = n->inode;
	e->mtime_sec = n->mtime_sec;
	e->mtime_nsec = n->mtime_nsec;
	e->ctime_sec = n->ctime_sec;
	e->ctime_nsec = n->ctime_nsec;
	if (n->nchunks > 0) {
		e->chunks = malloc(n->nchunks * sizeof(*e->chunks));
		if (e->chunks == NULL) {
			free(e);
			return -1;
		}
		memcpy(e->chunks, n->chunks, n->nchunks * sizeof(*e->chunks));
	}
	e->nchunks = n->nchunks;
	j = hash_path(path) & (m->nb - 1);
	e->next = m->b[j];
	m->b[j] = e;
	m->n++;
	return 0;
}

int
vc_pmap_load(struct vc_repo *r, const struct vc_snapbody *b, struct vc_pmap *m,
    char *err, size_t errlen)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if (pmap_grow(m) != 0)
		return -1;
	rc = vc_repo_tree_walk(r, b, pmap_add, m, err, errlen);
	if (rc != 0) {
		vc_pmap_free(m);
		return -1;
	}
	return 0;
}

const struct vc_pent *
vc_pmap_get(const struct vc_pmap *m, const char *path)
{
	const struct vc_pent *e;

	if (m->nb == 0)
		return NULL;
	for (e = m->b[hash_path(path) & (m->nb - 1)]; e != NULL; e = e->next) {
		if (strcmp(e->path, path) == 0)
			return e;
	}
	return NULL;
}

void
vc_pmap_free(struct vc_pmap *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct vc_pent *e = m->b[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e->chunks);
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}
