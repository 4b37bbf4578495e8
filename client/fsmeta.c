/*
 * Owner names and extended attributes (fsmeta.h, spec/tree.md 3).
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "fsmeta.h"
#include "longpath.h"

#define OWNER_CACHE 64            /* names remembered per direction */
#define PW_BUF 16384              /* getpwuid_r's buffer */

/* A remembered answer: kind 0 user, 1 group; found 0 = no such name/id. */
struct owner_ent {
	int kind, found;
	uint32_t id;
	size_t len;
	char name[VC_TREE_OWNER_MAX + 1];
};

/* Backups and restores meet few owners, looked up again for every entry:
 * a small cache, in turn overwritten, spares the NSS calls. */
static struct owner_ent by_id[OWNER_CACHE], by_name[OWNER_CACHE];
static size_t n_by_id, n_by_name;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

/* Looks id up in the system's user (kind 0) or group (1) database. */
static void
lookup_id(int kind, uint32_t id, struct owner_ent *e)
{
	char buf[PW_BUF];
	const char *name = NULL;
	struct passwd pw, *pp = NULL;
	struct group gr, *gp = NULL;

	if (kind == 0 && getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &pp) == 0 && pp != NULL)
		name = pp->pw_name;
	if (kind == 1 && getgrgid_r((gid_t)id, &gr, buf, sizeof(buf), &gp) == 0 && gp != NULL)
		name = gp->gr_name;
	e->kind = kind;
	e->id = id;
	e->len = name != NULL ? strlen(name) : 0;
	/* A name too long for the record is as good as none. */
	e->found = e->len > 0 && e->len <= VC_TREE_OWNER_MAX;
	if (e->found)
		memcpy(e->name, name, e->len + 1);
	else
		e->len = 0;
}

static void
lookup_name(int kind, const char *name, size_t len, struct owner_ent *e)
{
	char buf[PW_BUF];
	struct passwd pw, *pp = NULL;
	struct group gr, *gp = NULL;

	e->kind = kind;
	e->len = len;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->found = 0;
	if (kind == 0 && getpwnam_r(e->name, &pw, buf, sizeof(buf), &pp) == 0 && pp != NULL) {
		e->found = 1;
		e->id = pp->pw_uid;
	}
	if (kind == 1 && getgrnam_r(e->name, &gr, buf, sizeof(buf), &gp) == 0 && gp != NULL) {
		e->found = 1;
		e->id = gp->gr_gid;
	}
}

/* The name of id into name (VC_TREE_OWNER_MAX + 1 bytes); its length, 0
 * for none. */
static size_t
owner_name(int kind, uint32_t id, char *name)
{
	struct owner_ent e;
	size_t i;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < n_by_id; i++)
		if (by_id[i].kind == kind && by_id[i].id == id)
			break;
	if (i == n_by_id) {
		lookup_id(kind, id, &e);
		i = n_by_id < OWNER_CACHE ? n_by_id++ : (size_t)id % OWNER_CACHE;
		by_id[i] = e;
	}
	e = by_id[i];
	pthread_mutex_unlock(&cache_mu);
	memcpy(name, e.name, e.len);
	return e.len;
}

/* The ID of a name here, or fallback. */
static uint32_t
owner_id(int kind, const char *name, size_t len, uint32_t fallback)
{
	struct owner_ent e;
	size_t i;

	if (len == 0 || len > VC_TREE_OWNER_MAX || memchr(name, 0, len) != NULL)
		return fallback;
	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < n_by_name; i++)
		if (by_name[i].kind == kind && by_name[i].len == len &&
		    memcmp(by_name[i].name, name, len) == 0)
			break;
	if (i == n_by_name) {
		lookup_name(kind, name, len, &e);
		i = n_by_name < OWNER_CACHE ? n_by_name++ : (size_t)name[0] % OWNER_CACHE;
		by_name[i] = e;
	}
	e = by_name[i];
	pthread_mutex_unlock(&cache_mu);
	return e.found ? e.id : fallback;
}

uid_t
vc_fsmeta_uid(const char *name, size_t len, uid_t fallback)
{
	return (uid_t)owner_id(0, name, len, (uint32_t)fallback);
}

gid_t
vc_fsmeta_gid(const char *name, size_t len, gid_t fallback)
{
	return (gid_t)owner_id(1, name, len, (uint32_t)fallback);
}

/* Whether an attribute of this name is recorded (spec/tree.md 3). */
static int
recorded(const char *name)
{
	if (strncmp(name, "system.", 7) != 0)
		return 1;
	return strcmp(name, "system.posix_acl_access") == 0 ||
	    strcmp(name, "system.posix_acl_default") == 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The attribute names of path, sorted, into *names (pointers into *list,
 * both malloc'ed). Returns the count, or -1 when out of memory; a file
 * system without attributes has none, another error is reported. */
static ssize_t
list_names(const char *path, char **list, char ***names, vc_fsmeta_warn *warn, void *arg)
{
	ssize_t len = -1;
	size_t n = 0;
	int err = ERANGE;

	*list = NULL;
	*names = NULL;
	/* The list may grow between the two calls (ERANGE): ask again. */
	for (int tries = 0; tries < 4 && len < 0 && err == ERANGE; tries++) {
		ssize_t want = vc_lp_llistxattr(path, NULL, 0);

		if (want <= 0) {
			err = want < 0 ? errno : 0;
			len = want < 0 ? -1 : 0;
			break;
		}
		free(*list);
		if ((*list = malloc((size_t)want + 1)) == NULL)
			return -1;
		if ((len = vc_lp_llistxattr(path, *list, (size_t)want)) < 0)
			err = errno;
	}
	/* No attribute support is no attributes. */
	if (len < 0 && err != ENOTSUP && err != ENODATA)
		warn(arg, path, "*", strerror(err));
	if (len <= 0)
		return 0;
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(*list + i) + 1)
		n++;
	if ((*names = calloc(n + 1, sizeof(**names))) == NULL)
		return -1;
	n = 0;
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(*list + i) + 1)
		if ((*list)[i] != '\0' && recorded(*list + i))
			(*names)[n++] = *list + i;
	qsort(*names, n, sizeof(**names), name_cmp);
	return (ssize_t)n;
}

/* Appends len bytes to the growable m->buf (*used of *cap). */
static int
put(struct vc_fsmeta *m, size_t *used, size_t *cap, const void *p, size_t len)
{
	if (*cap - *used < len) {
		size_t ncap = *cap < 1024 ? 1024 : *cap;
		uint8_t *q;

		while (ncap - *used < len)
			ncap *= 2;
		if ((q = realloc(m->buf, ncap)) == NULL)
			return -1;
		m->buf = q;
		*cap = ncap;
	}
	if (len > 0)
		memcpy(m->buf + *used, p, len);
	*used += len;
	return 0;
}

/* Reads the values of names[0..n) into m: buf gets name, value, name, ...
 * and m->xattrs their offsets (made pointers by fix_pointers). */
static int
read_values(const char *path, char **names, size_t n, struct vc_fsmeta *m, size_t *used,
    size_t *cap, vc_fsmeta_warn *warn, void *arg)
{
	uint8_t *value = malloc(VC_TREE_XATTR_VALUE_MAX + 1);
	size_t total = 0;

	if (value == NULL || (m->xattrs = calloc(n + 1, sizeof(*m->xattrs))) == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);
		ssize_t vl;

		if (nl > VC_TREE_XATTR_NAME_MAX) {
			warn(arg, path, names[i], "name over 255 bytes");
			continue;
		}
		vl = vc_lp_lgetxattr(path, names[i], value, VC_TREE_XATTR_VALUE_MAX + 1);
		if (vl < 0 || vl > VC_TREE_XATTR_VALUE_MAX) {
			warn(arg, path, names[i], vl < 0 && errno != ERANGE ? strerror(errno) :
			    "value over 65536 bytes");
			continue;
		}
		if (total + nl + (size_t)vl > VC_TREE_XATTR_BYTES_MAX) {
			warn(arg, path, names[i], "past 1 MiB of attributes on one file");
			continue;
		}
		total += nl + (size_t)vl;
		m->xattrs[m->nxattrs].name = (const char *)(uintptr_t)*used;
		m->xattrs[m->nxattrs].name_len = nl;
		if (put(m, used, cap, names[i], nl) != 0)
			goto oom;
		m->xattrs[m->nxattrs].value = (const uint8_t *)(uintptr_t)*used;
		m->xattrs[m->nxattrs].value_len = (size_t)vl;
		if (put(m, used, cap, value, (size_t)vl) != 0)
			goto oom;
		m->nxattrs++;
	}
	free(value);
	return 0;
oom:
	free(value);
	return -1;
}

/* Turns the offsets into m->buf that read_values stored into pointers. */
static void
fix_pointers(struct vc_fsmeta *m)
{
	m->user = (const char *)m->buf;
	m->group = (const char *)m->buf + m->user_len;
	for (size_t i = 0; i < m->nxattrs; i++) {
		m->xattrs[i].name = (const char *)m->buf + (uintptr_t)m->xattrs[i].name;
		m->xattrs[i].value = m->buf + (uintptr_t)m->xattrs[i].value;
	}
}

int
vc_fsmeta_read(const char *path, uid_t uid, gid_t gid, struct vc_fsmeta *m,
    vc_fsmeta_warn *warn, void *arg)
{
	char user[VC_TREE_OWNER_MAX + 1], group[VC_TREE_OWNER_MAX + 1];
	char *list = NULL, **names = NULL;
	size_t used = 0, cap = 0;
	ssize_t n;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	m->user_len = owner_name(0, (uint32_t)uid, user);
	m->group_len = owner_name(1, (uint32_t)gid, group);
	if (put(m, &used, &cap, user, m->user_len) != 0 ||
	    put(m, &used, &cap, group, m->group_len) != 0)
		goto out;
	if ((n = list_names(path, &list, &names, warn, arg)) < 0)
		goto out;
	if (n > 0 && read_values(path, names, (size_t)n, m, &used, &cap, warn, arg) != 0)
		goto out;
	/* An empty buffer still gives user and group a valid pointer. */
	if (m->buf == NULL && put(m, &used, &cap, "", 1) != 0)
		goto out;
	fix_pointers(m);
	rc = 0;
out:
	free(names);
	free(list);
	if (rc != 0)
		vc_fsmeta_free(m);
	return rc;
}

void
vc_fsmeta_free(struct vc_fsmeta *m)
{
	free(m->buf);
	free(m->xattrs);
	memset(m, 0, sizeof(*m));
}

void
vc_fsmeta_to_node(const struct vc_fsmeta *m, struct vc_node *n)
{
	n->user = m->user;
	n->user_len = m->user_len;
	n->group = m->group;
	n->group_len = m->group_len;
	n->xattrs = m->xattrs;
	n->nxattrs = m->nxattrs;
}

int
vc_fsmeta_from_node(const struct vc_node *n, struct vc_fsmeta *m)
{
	size_t used = 0, cap = 0;

	memset(m, 0, sizeof(*m));
	m->user_len = n->user_len;
	m->group_len = n->group_len;
	if (put(m, &used, &cap, n->user, n->user_len) != 0 ||
	    put(m, &used, &cap, n->group, n->group_len) != 0 ||
	    (n->nxattrs > 0 && (m->xattrs = calloc(n->nxattrs, sizeof(*m->xattrs))) == NULL))
		goto oom;
	for (size_t i = 0; i < n->nxattrs; i++) {
		const struct vc_xattr *x = &n->xattrs[i];

		m->xattrs[i].name = (const char *)(uintptr_t)used;
		m->xattrs[i].name_len = x->name_len;
		if (put(m, &used, &cap, x->name, x->name_len) != 0)
			goto oom;
		m->xattrs[i].value = (const uint8_t *)(uintptr_t)used;
		m->xattrs[i].value_len = x->value_len;
		if (put(m, &used, &cap, x->value, x->value_len) != 0)
			goto oom;
	}
	m->nxattrs = n->nxattrs;
	if (m->buf == NULL && put(m, &used, &cap, "", 1) != 0)
		goto oom;
	fix_pointers(m);
	return 0;
oom:
	vc_fsmeta_free(m);
	return -1;
}

size_t
vc_fsmeta_apply(const char *path, const struct vc_fsmeta *m, int is_root,
    vc_fsmeta_warn *warn, void *arg)
{
	char name[VC_TREE_XATTR_NAME_MAX + 1];
	size_t refused = 0;

	for (size_t i = 0; i < m->nxattrs; i++) {
		const struct vc_xattr *x = &m->xattrs[i];

		memcpy(name, x->name, x->name_len);
		name[x->name_len] = '\0';
		/* Only root may set these; a user's restore goes without. */
		if (!is_root && (strncmp(name, "security.", 9) == 0 ||
		    strncmp(name, "trusted.", 8) == 0))
			continue;
		if (vc_lp_lsetxattr(path, name, x->value, x->value_len) != 0) {
			warn(arg, path, name, strerror(errno));
			refused++;
		}
	}
	return refused;
}
