/*
 * s3_tool: the blocking calls of s3/s3.h from the command line, for
 * the integration tests and for seeding a bucket.
 *
 *   s3_tool [OPTIONS] put KEY FILE      PUT FILE as KEY (SHA-256 computed)
 *   s3_tool [OPTIONS] put-id FILE       PUT FILE under its SHA-256, which is
 *                                       also sent as x-amz-content-sha256 (a
 *                                       Vault object); prints the key
 *   s3_tool [OPTIONS] put-as KEY FILE SHA  PUT FILE as KEY, sending SHA as
 *                                       its x-amz-content-sha256 unchecked
 *   s3_tool [OPTIONS] get KEY [OUT]     GET to OUT (default standard output)
 *   s3_tool [OPTIONS] head KEY          prints "SIZE ETAG"
 *   s3_tool [OPTIONS] delete KEY
 *   s3_tool [OPTIONS] list [PREFIX]     prints "KEY SIZE" a line
 *
 * Options:
 *   -e URL      endpoint (default $S3_ENDPOINT)
 *   -b BUCKET   bucket (default $S3_BUCKET)
 *   -r REGION   region (default us-east-1)
 *   -p PREFIX   key prefix (default "")
 *   -V          virtual-host style (default: path style)
 *   -c FILE     credentials file (default: $AWS_ACCESS_KEY_ID and
 *               $AWS_SECRET_ACCESS_KEY)
 *   -P PROFILE  profile in the credentials file (default "default")
 *   -m N        keys per listing page (default: the server's)
 *
 * Exit status: 0 done; 1 failed (a sentence on standard error); 2 usage;
 * 3 not found (head, get).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "s3.h"

#define GET_MAX ((size_t)1 << 30)
#define EXIT_NOTFOUND 3

static void
usage(void)
{
	fprintf(stderr, "usage: s3_tool [-e URL] [-b BUCKET] [-r REGION] [-p PREFIX] [-V] [-c FILE [-P PROFILE]]\n"
	    "               [-m N] put KEY FILE | put-id FILE | put-as KEY FILE SHA | get KEY [OUT] | head KEY | delete KEY | list [PREFIX]\n");
	exit(2);
}

static int
set(char *dst, size_t cap, const char *v, const char *what)
{
	if (v == NULL || strlen(v) >= cap) {
		fprintf(stderr, "s3_tool: %s is missing or too long\n", what);
		return -1;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Reads all of path into a new buffer. */
static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL, *nb;
	size_t cap = 0, n;

	*len = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - *len < 65536) {
			cap = cap ? 2 * cap : 65536;
			if ((nb = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nb;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

static int
print_entry(void *arg, const char *key, uint64_t size)
{
	(void)arg;
	return printf("%s %" PRIu64 "\n", key, size) < 0 ? -1 : 0;
}

static int
cmd_put(const struct s3_conf *c, const char *key, const char *file, int by_id, const char *sha,
    char *err, size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[S3_SHA256_HEX_LEN + 1];
	unsigned int mdlen = 0, i;
	uint8_t *buf;
	size_t len;
	int rc;

	if ((buf = read_file(file, &len)) == NULL) {
		snprintf(err, errlen, "cannot read %s", file);
		return 1;
	}
	if (by_id) {
		if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
			free(buf);
			snprintf(err, errlen, "SHA-256 failed");
			return 1;
		}
		for (i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		key = hex;
	}
	rc = s3_put_buffer(c, key, buf, len, by_id ? hex : sha, err, errlen);
	free(buf);
	if (rc == 0 && by_id)
		printf("%s\n", hex);
	return rc == 0 ? 0 : 1;
}

static int
cmd_get(const struct s3_conf *c, const char *key, const char *out, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	FILE *f = stdout;
	int rc;

	rc = s3_get_buffer(c, key, &buf, &len, GET_MAX, err, errlen);
	if (rc != 0) {
		if (rc == 1)
			snprintf(err, errlen, "S3 bucket %s: GET %s%s: NoSuchKey", c->bucket, c->prefix, key);
		return rc == 1 ? EXIT_NOTFOUND : 1;
	}
	if (out != NULL && (f = fopen(out, "wb")) == NULL) {
		snprintf(err, errlen, "cannot create %s", out);
		free(buf);
		return 1;
	}
	rc = fwrite(buf, 1, len, f) == len ? 0 : 1;
	if ((f != stdout ? fclose(f) : fflush(f)) != 0)
		rc = 1;
	if (rc != 0)
		snprintf(err, errlen, "cannot write %s", out ? out : "standard output");
	free(buf);
	return rc;
}

static int
run(const struct s3_conf *c, int argc, char **argv, unsigned max_keys, char *err, size_t errlen)
{
	const char *cmd = argv[0];
	char etag[S3_ETAG_MAX];
	uint64_t size;
	int rc;

	if (strcmp(cmd, "put") == 0 && argc == 3)
		return cmd_put(c, argv[1], argv[2], 0, NULL, err, errlen);
	if (strcmp(cmd, "put-as") == 0 && argc == 4)
		return cmd_put(c, argv[1], argv[2], 0, argv[3], err, errlen);
	if (strcmp(cmd, "put-id") == 0 && argc == 2)
		return cmd_put(c, NULL, argv[1], 1, NULL, err, errlen);
	if (strcmp(cmd, "get") == 0 && (argc == 2 || argc == 3))
		return cmd_get(c, argv[1], argc == 3 ? argv[2] : NULL, err, errlen);
	if (strcmp(cmd, "head") == 0 && argc == 2) {
		if ((rc = s3_head(c, argv[1], &size, etag, err, errlen)) == 0)
			printf("%" PRIu64 " %s\n", size, etag);
		if (rc == 1)
			snprintf(err, errlen, "S3 bucket %s: HEAD %s%s: not found (404)", c->bucket, c->prefix, argv[1]);
		return rc == 0 ? 0 : rc == 1 ? EXIT_NOTFOUND : 1;
	}
	if (strcmp(cmd, "delete") == 0 && argc == 2)
		return s3_delete(c, argv[1], err, errlen) == 0 ? 0 : 1;
	if (strcmp(cmd, "list") == 0 && argc <= 2)
		return s3_list_paged(c, argc == 2 ? argv[1] : NULL, max_keys, print_entry, NULL, err, errlen) == 0 ? 0 : 1;
	usage();
	return 2;
}

int
main(int argc, char **argv)
{
	struct s3_conf c;
	const char *creds = NULL, *profile = NULL;
	char err[2048] = "";
	unsigned max_keys = 0;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	c.path_style = 1;
	strcpy(c.region, "us-east-1");
	if (getenv("S3_ENDPOINT") && set(c.endpoint, sizeof(c.endpoint), getenv("S3_ENDPOINT"), "S3_ENDPOINT") != 0)
		return 2;
	if (getenv("S3_BUCKET") && set(c.bucket, sizeof(c.bucket), getenv("S3_BUCKET"), "S3_BUCKET") != 0)
		return 2;
	while ((ch = getopt(argc, argv, "e:b:r:p:Vc:P:m:")) != -1) {
		switch (ch) {
		case 'e': if (set(c.endpoint, sizeof(c.endpoint), optarg, "-e") != 0) return 2; break;
		case 'b': if (set(c.bucket, sizeof(c.bucket), optarg, "-b") != 0) return 2; break;
		case 'r': if (set(c.region, sizeof(c.region), optarg, "-r") != 0) return 2; break;
		case 'p': if (set(c.prefix, sizeof(c.prefix), optarg, "-p") != 0) return 2; break;
		case 'V': c.path_style = 0; break;
		case 'c': creds = optarg; break;
		case 'P': profile = optarg; break;
		case 'm': max_keys = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	if (creds != NULL) {
		if (s3_credentials_load(&c, creds, profile, err, sizeof(err)) != 0) {
			fprintf(stderr, "s3_tool: %s\n", err);
			return 1;
		}
	} else if (set(c.access_key, sizeof(c.access_key), getenv("AWS_ACCESS_KEY_ID"), "AWS_ACCESS_KEY_ID") != 0 ||
	    set(c.secret_key, sizeof(c.secret_key), getenv("AWS_SECRET_ACCESS_KEY"), "AWS_SECRET_ACCESS_KEY") != 0) {
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "s3_tool: curl_global_init failed\n");
		return 1;
	}
	rc = run(&c, argc - optind, argv + optind, max_keys, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "s3_tool: %s\n", err[0] ? err : "failed");
	if (fflush(stdout) != 0 && rc == 0)
		rc = 1;
	curl_global_cleanup();
	return rc;
}
