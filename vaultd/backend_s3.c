/*
 * S3 backend (backend.h, spec/tiering.md "The S3 backend"): one S3 object
 * per key, named conf->prefix + key, in the bucket of an S3-compatible
 * store, through the blocking calls of s3/s3.h.
 *
 * An upload is spooled to a local file while the caller writes (hashing it
 * on the way) and sent on commit as one PUT signed with the body's SHA-256
 * as x-amz-content-sha256; for Vault's objects that is the object ID, and S3
 * refuses a body that does not match it. Reads fetch byte ranges with GET
 * Range, a window at a time: open does a HEAD for the size and ETag and
 * fetches the first window, so an object that fits in one window keeps the
 * bytes it opened even if it is overwritten or removed meanwhile; a later
 * window whose ETag differs from the one seen at open fails with EIO.
 *
 * Every call is blocking (curl_easy_perform on an easy handle of its own):
 * run them on the threadpool, as every backend call.
 */
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "s3.h"
#include "sha256.h"

#define S3B_WINDOW (4 * 1024 * 1024) /* bytes fetched per ranged GET */
#define S3B_ERR_MAX 512
#define S3B_NAME_MAX 64
#define S3B_RANGE_MAX 64
#define S3B_CONNECT_TIMEOUT_S 10L
#define S3B_LOW_SPEED_TIME_S 60L
#define S3B_FILE_MODE 0600
#define S3B_DIR_MODE 0700

struct s3_backend {
	struct backend base;
	struct s3_conf conf;
	int spoolfd;
	atomic_uint_fast64_t seq;
};

struct s3_put {
	struct s3_backend *s;
	int fd;
	int error;
	uint64_t len;
	struct sha256 *hash;
	char spool[S3B_NAME_MAX];
	char key[BACKEND_KEY_MAX + 1];
};

struct s3_reader {
	struct s3_backend *s;
	char key[BACKEND_KEY_MAX + 1];
	char etag[S3_ETAG_MAX];
	uint64_t size;
	pthread_mutex_t mu; /* the window, shared by concurrent reads */
	uint8_t *win;
	uint64_t win_off;
	size_t win_len;
};

static void
log_err(const char *err)
{
	log_msg(VLOG_ERROR, "s3 backend: %s", err);
}

static int
key_ok(const char *key)
{
	if (backend_key_valid(key))
		return 1;
	errno = EINVAL;
	return 0;
}

/* --- PUT from the spool file --- */

struct file_src {
	int fd;
	uint64_t off, len;
};

static size_t
file_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct file_src *f = arg;
	size_t n = size * nmemb;
	ssize_t got;

	if (n > f->len - f->off)
		n = (size_t)(f->len - f->off);
	if (n == 0)
		return 0;
	do
		got = pread(f->fd, buf, n, (off_t)f->off);
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	f->off += (uint64_t)got;
	return (size_t)got;
}

/* A body kept for an error message, or a window of an object. */
struct sink {
	uint8_t *p;
	size_t len, max;
};

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (n > s->max - s->len)
		return 0; /* more than asked for: cut the transfer */
	memcpy(s->p + s->len, data, n);
	s->len += n;
	return n;
}

/* The ETag of the answer, quotes removed. */
static size_t
etag_header(char *data, size_t size, size_t nmemb, void *arg)
{
	char *etag = arg;
	size_t n = size * nmemb, i = 5, e = n;

	if (n > 5 && strncasecmp(data, "etag:", 5) == 0) {
		while (i < n && (data[i] == ' ' || data[i] == '"'))
			i++;
		while (e > i && strchr("\r\n \"", data[e - 1]) != NULL)
			e--;
		if (e - i < S3_ETAG_MAX) {
			memcpy(etag, data + i, e - i);
			etag[e - i] = '\0';
		}
	}
	return n;
}

/*
 * One request on a fresh easy handle: method of key with the optional body
 * src, extra (unsigned) header line, answer body into sink, ETag into etag
 * (S3_ETAG_MAX bytes or NULL). Returns the HTTP status, or -1 with err.
 */
static long
perform(struct s3_backend *s, const char *method, const char *key, const char *sha_hex,
    struct file_src *src, const char *extra, struct sink *sink, char *etag, char *err)
{
	struct curl_slist *hdrs = NULL, *more;
	char cerr[CURL_ERROR_SIZE] = "";
	long status = -1;
	CURLcode rc;
	CURL *e;

	if ((e = curl_easy_init()) == NULL) {
		snprintf(err, S3B_ERR_MAX, "curl_easy_init failed");
		return -1;
	}
	if (s3_setup(e, &s->conf, method, key, sha_hex, src ? src->len : 0, &hdrs, err,
	    S3B_ERR_MAX) != 0)
		goto done;
	if (extra != NULL) {
		if ((more = curl_slist_append(hdrs, extra)) == NULL) {
			snprintf(err, S3B_ERR_MAX, "out of memory");
			goto done;
		}
		hdrs = more;
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	}
	if (src != NULL) {
		curl_easy_setopt(e, CURLOPT_READFUNCTION, file_read);
		curl_easy_setopt(e, CURLOPT_READDATA, src);
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, sink);
	if (etag != NULL) {
		etag[0] = '\0';
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, etag_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, etag);
	}
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, S3B_CONNECT_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, S3B_LOW_SPEED_TIME_S);
	if ((rc = curl_easy_perform(e)) != CURLE_OK) {
		snprintf(err, S3B_ERR_MAX, "%s %s%s: %s (%s)", method, s->conf.prefix, key,
		    curl_easy_strerror(rc), cerr[0] ? cerr : s->conf.endpoint);
		goto done;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
done:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
	return status;
}

/* --- ops --- */

static int
s3b_put_begin(struct backend *b, const char *key, struct backend_put **out)
{
	struct s3_backend *s = (struct s3_backend *)b;
	struct s3_put *p;

	if (!key_ok(key) || (p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->s = s;
	memcpy(p->key, key, strlen(key) + 1);
	snprintf(p->spool, sizeof(p->spool), "put-%ld-%llu", (long)getpid(),
	    (unsigned long long)atomic_fetch_add(&s->seq, 1));
	if ((p->hash = sha256_new()) == NULL)
		goto err0;
	p->fd = openat(s->spoolfd, p->spool, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    S3B_FILE_MODE);
	if (p->fd == -1)
		goto err1;
	*out = (struct backend_put *)p;
	return 0;
err1:
	sha256_free(p->hash);
err0:
	free(p);
	return -1;
}

static int
s3b_put_write(struct backend_put *bp, const void *buf, size_t len)
{
	struct s3_put *p = (struct s3_put *)bp;
	const unsigned char *c = buf;
	size_t left = len;

	if (p->error != 0) {
		errno = p->error;
		return -1;
	}
	if (sha256_update(p->hash, buf, len) != 0) {
		p->error = EIO;
		errno = EIO;
		return -1;
	}
	while (left > 0) {
		ssize_t n = write(p->fd, c, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			p->error = n == 0 ? EIO : errno;
			errno = p->error;
			return -1;
		}
		c += n;
		left -= (size_t)n;
	}
	p->len += len;
	return 0;
}

static void
s3b_put_free(struct s3_put *p)
{
	int saved = errno;

	close(p->fd);
	unlinkat(p->s->spoolfd, p->spool, 0);
	sha256_free(p->hash);
	free(p);
	errno = saved;
}

static int
s3b_put_commit(struct backend_put *bp)
{
	struct s3_put *p = (struct s3_put *)bp;
	uint8_t digest[SHA256_LEN], errbody[1024];
	char hex[S3_SHA256_HEX_LEN + 1], err[S3B_ERR_MAX];
	struct file_src src = {p->fd, 0, p->len};
	struct sink sink = {errbody, 0, sizeof(errbody)};
	long status;
	int rc = -1;

	if (p->error != 0) {
		errno = p->error;
		goto out;
	}
	if (sha256_final(p->hash, digest) != 0) {
		errno = EIO;
		goto out;
	}
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	status = perform(p->s, "PUT", p->key, hex, &src, NULL, &sink, NULL, err);
	if (status >= 200 && status < 300)
		rc = 0;
	else {
		if (status > 0)
			s3_error_message(status, "PUT", &p->s->conf, p->key, (const char *)errbody,
			    sink.len, err, sizeof(err));
		log_err(err);
		errno = EIO;
	}
out:
	s3b_put_free(p);
	return rc;
}

static void
s3b_put_abort(struct backend_put *bp)
{
	if (bp != NULL)
		s3b_put_free((struct s3_put *)bp);
}

/* HEAD: 0 and size (and ETag), or -1 with ENOENT or EIO. */
static int
head(struct s3_backend *s, const char *key, uint64_t *size, char *etag)
{
	char err[S3B_ERR_MAX];
	int rc = s3_head(&s->conf, key, size, etag, err, sizeof(err));

	if (rc == 1)
		errno = ENOENT;
	else if (rc != 0) {
		log_err(err);
		errno = EIO;
	}
	return rc == 0 ? 0 : -1;
}

/* Fetches the window that starts at off into r (r->mu held). */
static int
fetch_window(struct s3_reader *r, uint64_t off)
{
	uint64_t want = r->size - off < S3B_WINDOW ? r->size - off : S3B_WINDOW;
	char range[S3B_RANGE_MAX], err[S3B_ERR_MAX], etag[S3_ETAG_MAX];
	struct sink sink = {r->win, 0, S3B_WINDOW};
	long status;

	snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, off, off + want - 1);
	status = perform(r->s, "GET", r->key, NULL, NULL, range, &sink, etag, err);
	if (status == 404) {
		errno = ENOENT;
		return -1;
	}
	if (status != 206 && !(status == 200 && off == 0 && want == r->size)) {
		if (status > 0)
			s3_error_message(status, "GET", &r->s->conf, r->key, (const char *)r->win,
			    sink.len, err, sizeof(err));
		log_err(err);
		errno = EIO;
		return -1;
	}
	if (sink.len != want || (r->etag[0] != '\0' && strcmp(etag, r->etag) != 0)) {
		log_msg(VLOG_ERROR, "s3 backend: GET %s%s: the object changed or came short",
		    r->s->conf.prefix, r->key);
		errno = EIO;
		return -1;
	}
	r->win_off = off;
	r->win_len = sink.len;
	return 0;
}

static int
s3b_open(struct backend *b, const char *key, struct backend_reader **out, uint64_t *size)
{
	struct s3_backend *s = (struct s3_backend *)b;
	struct s3_reader *r;

	if (!key_ok(key) || (r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->s = s;
	memcpy(r->key, key, strlen(key) + 1);
	if (head(s, key, &r->size, r->etag) != 0)
		goto err0;
	if ((r->win = malloc(S3B_WINDOW)) == NULL)
		goto err0;
	if (r->size > 0 && fetch_window(r, 0) != 0)
		goto err1;
	pthread_mutex_init(&r->mu, NULL);
	*size = r->size;
	*out = (struct backend_reader *)r;
	return 0;
err1:
	free(r->win);
err0:
	free(r);
	return -1;
}

static ssize_t
s3b_read(struct backend_reader *br, uint64_t off, void *buf, size_t len)
{
	struct s3_reader *r = (struct s3_reader *)br;
	size_t n;

	if (off >= r->size)
		return 0;
	if (len > r->size - off)
		len = (size_t)(r->size - off);
	pthread_mutex_lock(&r->mu);
	if ((off < r->win_off || off >= r->win_off + r->win_len) && fetch_window(r, off) != 0) {
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	n = (size_t)(r->win_off + r->win_len - off);
	if (n > len)
		n = len;
	memcpy(buf, r->win + (off - r->win_off), n);
	pthread_mutex_unlock(&r->mu);
	return (ssize_t)n;
}

static void
s3b_close(struct backend_reader *br)
{
	struct s3_reader *r = (struct s3_reader *)br;

	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r->win);
	free(r);
}

static int
s3b_stat(struct backend *b, const char *key, uint64_t *size)
{
	if (!key_ok(key))
		return -1;
	return head((struct s3_backend *)b, key, size, NULL);
}

static int
s3b_remove(struct backend *b, const char *key)
{
	struct s3_backend *s = (struct s3_backend *)b;
	char err[S3B_ERR_MAX];
	uint64_t size;

	/* S3 answers 204 for a missing key too; HEAD first gives ENOENT. */
	if (!key_ok(key) || head(s, key, &size, NULL) != 0)
		return -1;
	if (s3_delete(&s->conf, key, err, sizeof(err)) != 0) {
		log_err(err);
		errno = EIO;
		return -1;
	}
	return 0;
}

struct list_arg {
	int (*cb)(const char *key, uint64_t size, void *arg);
	void *arg;
	int rc;
};

static int
list_one(void *arg, const char *key, uint64_t size)
{
	struct list_arg *l = arg;

	/* Keys someone else stored under the prefix are not ours. */
	if (!backend_key_valid(key))
		return 0;
	l->rc = l->cb(key, size, l->arg);
	return l->rc;
}

static int
s3b_list(struct backend *b, const char *prefix,
    int (*cb)(const char *key, uint64_t size, void *arg), void *arg)
{
	struct s3_backend *s = (struct s3_backend *)b;
	struct list_arg l = {cb, arg, 0};
	char err[S3B_ERR_MAX];
	int rc;

	rc = s3_list(&s->conf, prefix, list_one, &l, err, sizeof(err));
	if (rc == 0 || (l.rc != 0 && rc == l.rc))
		return rc;
	log_err(err);
	errno = EIO;
	return -1;
}

static int
s3b_space(struct backend *b, uint64_t *avail)
{
	(void)b;
	*avail = UINT64_MAX; /* a bucket has no size S3 would tell */
	return 0;
}

static void
s3b_free(struct backend *b)
{
	struct s3_backend *s = (struct s3_backend *)b;

	if (s == NULL)
		return;
	if (s->spoolfd >= 0)
		close(s->spoolfd);
	explicit_bzero(s->conf.secret_key, sizeof(s->conf.secret_key));
	free(s);
}

static const struct backend_ops s3b_ops = {
	.name = "s3",
	.caps = BACKEND_CAP_CHECKED_PUT,
	.put_begin = s3b_put_begin,
	.put_write = s3b_put_write,
	.put_commit = s3b_put_commit,
	.put_abort = s3b_put_abort,
	.open = s3b_open,
	.read = s3b_read,
	.close = s3b_close,
	.stat = s3b_stat,
	.remove = s3b_remove,
	.list = s3b_list,
	.space = s3b_space,
	.free = s3b_free,
};

/* Removes the uploads a crash left in the spool. */
static void
spool_clean(int fd)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (dfd == -1)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "put-", 4) == 0)
			unlinkat(fd, de->d_name, 0);
	closedir(d);
}

struct backend *
backend_s3_open(const struct s3_conf *conf, const char *spool_dir)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	static int curl_ready;
	struct s3_target t;
	char err[S3B_ERR_MAX];
	struct s3_backend *s;

	if (s3_target(conf, NULL, &t, err, sizeof(err)) != 0) {
		log_err(err);
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&once);
	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		curl_ready = 1;
	pthread_mutex_unlock(&once);
	if (!curl_ready) {
		errno = EIO;
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->base.ops = &s3b_ops;
	s->conf = *conf;
	atomic_init(&s->seq, 0);
	if ((mkdir(spool_dir, S3B_DIR_MODE) != 0 && errno != EEXIST) ||
	    (s->spoolfd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		int e = errno;
		free(s);
		errno = e;
		return NULL;
	}
	spool_clean(s->spoolfd);
	return &s->base;
}
