/*
 * AWS shared-credentials files (s3.h, s3_credentials_load): the INI subset
 * the AWS tools write, read line by line with file:line errors.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "s3.h"

#define CRED_LINE_MAX 1024
#define CRED_PROFILE_DEFAULT "default"
#define CRED_ACCESS "aws_access_key_id"
#define CRED_SECRET "aws_secret_access_key"

struct cred_state {
	const char *path;
	const char *profile;
	int in_profile, seen_profile;
	char access[sizeof(((struct s3_conf *)0)->access_key)];
	char secret[sizeof(((struct s3_conf *)0)->secret_key)];
	char *err;
	size_t errlen;
};

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* A key ID or secret goes into a header: printable ASCII, no spaces. */
static int
value_ok(const char *v)
{
	if (*v == '\0')
		return 0;
	for (; *v; v++)
		if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
			return 0;
	return 1;
}

static int
line_err(struct cred_state *st, unsigned lineno, const char *what, const char *word)
{
	snprintf(st->err, st->errlen, "%s:%u: %s%s", st->path, lineno, what, word);
	return -1;
}

/* "[name]" (a profile header) or "key = value" inside a section. */
static int
cred_line(struct cred_state *st, char *line, unsigned lineno)
{
	char *s = trim(line), *eq, *k, *v, *dst;
	size_t cap;

	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		if (s[strlen(s) - 1] != ']')
			return line_err(st, lineno, "a profile header must end with ']': ", s);
		s[strlen(s) - 1] = '\0';
		st->in_profile = strcmp(trim(s + 1), st->profile) == 0;
		st->seen_profile |= st->in_profile;
		return 0;
	}
	if ((eq = strchr(s, '=')) == NULL)
		return line_err(st, lineno, "expected [profile] or key = value, not: ", s);
	*eq = '\0';
	k = trim(s);
	v = trim(eq + 1);
	if (!st->in_profile)
		return 0;
	if (strcmp(k, CRED_ACCESS) == 0) {
		dst = st->access;
		cap = sizeof(st->access);
	} else if (strcmp(k, CRED_SECRET) == 0) {
		dst = st->secret;
		cap = sizeof(st->secret);
	} else {
		return 0;
	}
	if (strlen(v) >= cap)
		return line_err(st, lineno, k, " is longer than 127 bytes");
	if (!value_ok(v))
		return line_err(st, lineno, k, " is empty or has a space or a non-printable byte");
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

int
s3_credentials_load(struct s3_conf *c, const char *path, const char *profile, char *err, size_t errlen)
{
	struct cred_state st = {0};
	char line[CRED_LINE_MAX + 2];
	unsigned lineno = 0;
	FILE *f;
	int rc = -1;

	st.path = path;
	st.profile = profile ? profile : CRED_PROFILE_DEFAULT;
	st.err = err;
	st.errlen = errlen;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot open the credentials file %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			line_err(&st, lineno, "line longer than 1024 bytes", "");
			goto done;
		}
		if (cred_line(&st, line, lineno) != 0)
			goto done;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read the credentials file %s: %s", path, strerror(errno));
		goto done;
	}
	if (!st.seen_profile) {
		snprintf(err, errlen, "%s: no profile [%s]", path, st.profile);
		goto done;
	}
	if (st.access[0] == '\0' || st.secret[0] == '\0') {
		snprintf(err, errlen, "%s: profile [%s] has no %s", path, st.profile,
		    st.access[0] == '\0' ? CRED_ACCESS : CRED_SECRET);
		goto done;
	}
	memcpy(c->access_key, st.access, sizeof(st.access));
	memcpy(c->secret_key, st.secret, sizeof(st.secret));
	rc = 0;
done:
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(st.secret, sizeof(st.secret));
	fclose(f);
	return rc;
}
