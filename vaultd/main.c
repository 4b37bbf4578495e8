/*
 * vaultd: the Vault Storage Protocol daemon. Start-up wires together the
 * data directory (LMDB metadata, fs backend, server key), the policies of
 * vaultd.conf, one HTTP server per listen address and the admin socket, then
 * runs the libuv loop until SIGINT or SIGTERM. SIGHUP reloads vaultd.conf.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <systemd/sd-daemon.h>
#include <uv.h>

#include "admin.h"
#include "auth.h"
#include "backend.h"
#include "gc.h"
#include "handlers.h"
#include "log.h"
#include "meta.h"
#include "options.h"
#include "meta_repl.h"
#include "policy.h"
#include "posture.h"
#include "repl.h"
#include "scrub.h"
#include "server.h"
#include "s3.h"
#include "tier.h"

#define DEFAULT_THREADS "16"
#define GC_CHECK_MS (60 * 1000) /* how often scheduled GC looks for due vaults */

struct daemon {
	uv_loop_t *loop;
	struct options *opts;
	struct store *store;
	struct policy_src *policies;
	struct server *servers[OPTIONS_LISTEN_MAX];
	size_t nservers;
	struct admin *admin;
	/* Tiering (tier.h): every backend, index = location bit. */
	struct tier *tier;
	struct backend *backends[TIER_BACKENDS_MAX];
	char backend_names[TIER_BACKENDS_MAX][VSP_NAME_MAX + 1];
	size_t nbackends;
	/* Scheduled GC (policies with gc-every): checked every minute. */
	struct gc *gc;
	uv_timer_t gc_timer;
	uv_work_t gc_work;
	int gc_running;
	uv_signal_t sigint, sigterm, sighup;
	int stopping;
	int pending_stops;
	/* SIGHUP: the file is read and checked on the threadpool. */
	uv_work_t reload;
	int reloading;
	struct conf *next_conf;
	struct repl_settings *next_repl;
	/* Replication (replicator/repl.h). */
	struct repl *repl;
	/* Scrub (scrub.h; scheduled with GC's timer) and posture (posture.h). */
	struct scrub *scrub;
	uv_work_t scrub_work;
	int scrub_running;
	uint64_t scrub_rate;
	uint64_t tier_rate;
	struct posture_config posture;
	struct posture_http *posture_http;
	int has_posture_listen;
	struct conf_listen posture_listen;
	/* What the file said at start-up about what only a restart applies
	 * (conf_restart_part), to name what a reload cannot apply. */
	struct conf *boot;
	char reload_err[1024];
};

static int
path_join(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= size) {
		log_msg(VLOG_ERROR, "path too long: %s/%s", dir, name);
		return -1;
	}
	return 0;
}

/* Takes an exclusive lock on DIR/vaultd.lock so that two daemons never share
 * one data directory. The descriptor stays open for the daemon's life. */
static int
lock_data_dir(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_msg(VLOG_ERROR, "create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (path_join(path, sizeof(path), dir, "vaultd.lock") != 0)
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_msg(VLOG_ERROR, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		log_msg(VLOG_ERROR, "%s is in use by another vaultd", dir);
		close(fd);
		return -1;
	}
	return fd;
}

/* Creates the tenants the configuration names that the metadata lacks.
 * Blocks (LMDB): at start-up, or on the threadpool when reloading. */
static int
ensure_tenants(struct meta *m, const struct conf *c, char *err, size_t errlen)
{
	struct meta_tenant t;

	for (size_t i = 0; i < c->ntenants; i++) {
		int rc = meta_tenant_get(m, c->tenants[i].name, &t);
		if (rc == META_NOTFOUND)
			rc = meta_tenant_add(m, c->tenants[i].name, (uint64_t)time(NULL), &t);
		if (rc != META_OK && rc != META_EXISTS) {
			snprintf(err, errlen, "cannot create tenant '%s' in the metadata",
			    c->tenants[i].name);
			return -1;
		}
	}
	return 0;
}

static void
on_stopped(void *arg)
{
	struct daemon *d = arg;
	/* A scheduled GC or scrub still running stops the loop when done. */
	if (--d->pending_stops == 0 && !d->gc_running && !d->scrub_running)
		uv_stop(d->loop);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (d->stopping) {
		log_msg(VLOG_WARN, "second signal; exiting now");
		exit(1);
	}
	log_msg(VLOG_INFO, "%s: finishing requests in progress, then exiting",
	    strsignal(signum));
	d->stopping = 1;
	d->pending_stops = (int)d->nservers + 3;
	uv_timer_stop(&d->gc_timer);
	uv_close((uv_handle_t *)&d->gc_timer, NULL);
	if (d->scrub != NULL)
		scrub_cancel(d->scrub);
	uv_signal_stop(&d->sigint);
	uv_signal_stop(&d->sigterm);
	uv_signal_stop(&d->sighup);
	for (size_t i = 0; i < d->nservers; i++)
		server_stop(d->servers[i], on_stopped, d);
	admin_stop(d->admin, on_stopped, d);
	repl_stop(d->repl, on_stopped, d);
	d->repl = NULL;
	posture_http_stop(d->posture_http, on_stopped, d);
	d->posture_http = NULL;
}

static void
reload_work(uv_work_t *w)
{
	struct daemon *d = w->data;

	d->next_conf = NULL;
	if (conf_load(d->opts->conf_path, &d->next_conf, d->reload_err,
	        sizeof(d->reload_err)) != 0)
		return;
	if (ensure_tenants(d->store->meta, d->next_conf, d->reload_err,
	        sizeof(d->reload_err)) != 0) {
		conf_free(d->next_conf);
		d->next_conf = NULL;
		return;
	}
	/* Token files are read here, off the loop. */
	if ((d->next_repl = repl_settings_new(d->next_conf)) == NULL) {
		snprintf(d->reload_err, sizeof(d->reload_err), "out of memory");
		conf_free(d->next_conf);
		d->next_conf = NULL;
	}
}

/*
 * Puts the settings of a reloaded file that apply to new work in force (on
 * the loop thread; spec/vaultd.conf.md, "Reload") and names those that only
 * a restart applies. Policies, tenants and targets follow in reload_done.
 */
static void
reload_apply(struct daemon *d, const struct conf *c)
{
	struct server_config sc;
	uint64_t max_object_size, reserve;
	char restart[1024];

	log_setup(options_log_to(d->opts, c), VLOG_INFO);
	options_reloaded(d->opts, c, &max_object_size, &reserve, &sc);
	d->store->limits.max_object_size = max_object_size;
	d->store->limits.reserve_bytes = reserve;
	d->store->limits.verify_before_send = c->verify_before_send;
	for (size_t i = 0; i < d->nservers; i++)
		server_reconfigure(d->servers[i], &sc);
	if (d->scrub != NULL)
		scrub_set_rate(d->scrub, c->scrub_rate);
	if (conf_restart_changes(d->boot, c, restart, sizeof(restart)) > 0)
		log_msg(VLOG_WARN, "reload: these settings changed but need a restart; "
		    "until then the ones vaultd started with stay in force: %s", restart);
	log_msg(VLOG_INFO, "reloaded %s: max-object-size %" PRIu64 ", reserve %" PRIu64
	    ", verify-before-send %" PRIu64 ", max-connections %u, header-timeout %us, idle-timeout %us, body-timeout %us, "
	    "scrub-rate %" PRIu64 ", replicate-workers %u, replicate-bandwidth %" PRIu64
	    ", log-to %s, %zu policies, %zu tenants, %zu replication target(s)",
	    d->opts->conf_path, max_object_size, reserve, c->verify_before_send,
	    sc.max_connections,
	    sc.header_timeout_ms / 1000, sc.idle_timeout_ms / 1000, sc.body_timeout_ms / 1000,
	    c->scrub_rate, c->replicate_workers, c->replicate_bandwidth,
	    log_dest_name(options_log_to(d->opts, c)), c->npolicies, c->ntenants, c->ntargets);
}

static void
reload_done(uv_work_t *w, int status)
{
	struct daemon *d = w->data;

	(void)status;
	d->reloading = 0;
	if (d->next_conf == NULL) {
		log_msg(VLOG_WARN, "reload: %s; keeping the configuration in force",
		    d->reload_err);
		return;
	}
	reload_apply(d, d->next_conf);
	policy_src_swap(d->policies, d->next_conf);
	d->next_conf = NULL;
	if (d->repl != NULL)
		repl_update(d->repl, d->next_repl);
	else
		repl_settings_free(d->next_repl);
	d->next_repl = NULL;
}

static void
on_hup(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	(void)signum;
	if (d->opts->conf_path == NULL) {
		log_msg(VLOG_WARN, "SIGHUP: running without a configuration file (-c)");
		return;
	}
	if (d->reloading || d->stopping)
		return;
	d->reloading = 1;
	d->reload.data = d;
	if (uv_queue_work(d->loop, &d->reload, reload_work, reload_done) != 0)
		d->reloading = 0;
}

static void
gc_work(uv_work_t *w)
{
	struct daemon *d = w->data;
	struct gc_report r;

	struct tier_report tr;

	if (gc_run_due(d->gc, (uint64_t)time(NULL), &r) == GC_OK && r.vaults > 0)
		log_msg(VLOG_INFO, "scheduled gc of %" PRIu64 " vault(s): %" PRIu64
		    " snapshots forgotten, %" PRIu64 " objects tombstoned, %" PRIu64
		    " deleted (%" PRIu64 " bytes), %.1f s", r.vaults, r.snapshots_forgotten,
		    r.objects_tombstoned, r.objects_deleted, r.bytes_deleted, r.seconds);
	/* Tiering is scheduled on the same timer (spec/tiering.md, "Runs"). */
	if (d->tier != NULL && tier_run_due(d->tier, (uint64_t)time(NULL), &tr) == TIER_OK &&
	    tr.moved + tr.failed > 0)
		log_msg(VLOG_INFO, "scheduled tiering: %" PRIu64 " pack(s) moved (%" PRIu64
		    " bytes), %" PRIu64 " failed, %.1f s", tr.moved, tr.bytes_moved, tr.failed,
		    tr.seconds);
}

static void
gc_work_done(uv_work_t *w, int status)
{
	struct daemon *d = w->data;

	(void)status;
	d->gc_running = 0;
	if (d->stopping && d->pending_stops == 0 && !d->scrub_running)
		uv_stop(d->loop);
}

static void
scrub_work(uv_work_t *w)
{
	struct daemon *d = w->data;
	struct scrub_report *r = malloc(sizeof(*r));

	if (r != NULL && scrub_run_due(d->scrub, (uint64_t)time(NULL), r) == SCRUB_OK &&
	    r->vaults > 0)
		log_msg(VLOG_INFO, "scheduled scrub of %" PRIu64 " vault(s): %" PRIu64
		    " copies, %" PRIu64 " bytes, %" PRIu64 " bad, %" PRIu64 " repaired, %.1f s",
		    r->vaults, r->copies, r->bytes, r->bad, r->repaired, r->seconds);
	free(r);
}

static void
scrub_work_done(uv_work_t *w, int status)
{
	struct daemon *d = w->data;

	(void)status;
	d->scrub_running = 0;
	if (d->stopping && d->pending_stops == 0 && !d->gc_running)
		uv_stop(d->loop);
}

static void
on_gc_timer(uv_timer_t *t)
{
	struct daemon *d = t->data;

	if (d->gc_running || d->stopping)
		return; /* a scrub still running is let be too */
	d->gc_running = 1;
	d->gc_work.data = d;
	if (uv_queue_work(d->loop, &d->gc_work, gc_work, gc_work_done) != 0)
		d->gc_running = 0;
	if (d->scrub_running || d->scrub == NULL)
		return;
	d->scrub_running = 1;
	d->scrub_work.data = d;
	if (uv_queue_work(d->loop, &d->scrub_work, scrub_work, scrub_work_done) != 0)
		d->scrub_running = 0;
}

static void
status_cb(json_t *obj, void *arg)
{
	struct daemon *d = arg;
	/* server_stop frees the servers when they are done; no status after. */
	if (d->nservers > 0 && !d->stopping)
		server_status(d->servers[0], obj);
	if (!d->stopping)
		repl_status(d->repl, obj);
	if (d->tier != NULL)
		json_object_set_new(obj, "tier_recalls_pending",
		    json_integer((json_int_t)tier_recalls_pending(d->tier)));
}

static int
write_port_file(const char *path, int port)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		log_msg(VLOG_ERROR, "write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Opens cold backend i of the configuration (spec/tiering.md). */
static struct backend *
open_cold(const struct options *o, const struct conf_backend *cb)
{
	char spool[PATH_MAX], err[512];
	struct s3_conf sc;
	struct backend *b;

	if (strcmp(cb->type, "archive") == 0)
		b = backend_archive_open(cb->path, cb->cartridge_size);
	else if (strcmp(cb->type, "fs") == 0)
		b = backend_fs_open(cb->path);
	else {
		memset(&sc, 0, sizeof(sc));
		if (snprintf(sc.endpoint, sizeof(sc.endpoint), "%s", cb->endpoint) >=
		    (int)sizeof(sc.endpoint) ||
		    snprintf(spool, sizeof(spool), "%s/s3-spool", o->data_dir) >= (int)sizeof(spool) ||
		    (mkdir(spool, 0700) != 0 && errno != EEXIST) ||
		    snprintf(spool, sizeof(spool), "%s/s3-spool/%s", o->data_dir, cb->name) >=
		    (int)sizeof(spool)) {
			log_msg(VLOG_ERROR, "backend %s: endpoint or spool path too long, or the "
			    "spool cannot be made", cb->name);
			return NULL;
		}
		snprintf(sc.region, sizeof(sc.region), "%s", cb->region);
		snprintf(sc.bucket, sizeof(sc.bucket), "%s", cb->bucket);
		snprintf(sc.prefix, sizeof(sc.prefix), "%s", cb->prefix);
		sc.path_style = cb->path_style;
		if (s3_credentials_load(&sc, cb->credentials_file, NULL, err, sizeof(err)) != 0) {
			log_msg(VLOG_ERROR, "backend %s: %s", cb->name, err);
			return NULL;
		}
		b = backend_s3_open(&sc, spool);
		sodium_memzero(sc.secret_key, sizeof(sc.secret_key));
	}
	if (b == NULL)
		log_msg(VLOG_ERROR, "cannot open backend %s (%s): %s", cb->name, cb->type,
		    strerror(errno));
	return b;
}

/* The hot backend is index 0; the file's other backends follow. */
static int
open_backends(struct daemon *d, const struct options *o, struct store *store)
{
	const struct conf *c = o->conf;

	d->backends[0] = store->backend;
	snprintf(d->backend_names[0], sizeof(d->backend_names[0]), "%s",
	    c->nbackends > 0 ? c->backends[0].name : "objects");
	d->nbackends = 1;
	for (size_t i = 1; i < c->nbackends && i < TIER_BACKENDS_MAX; i++) {
		if ((d->backends[i] = open_cold(o, &c->backends[i])) == NULL)
			return -1;
		snprintf(d->backend_names[i], sizeof(d->backend_names[i]), "%s",
		    c->backends[i].name);
		d->nbackends = i + 1;
	}
	store->backends = d->backends;
	store->nbackends = d->nbackends;
	return 0;
}

/* The tierer, when there is a cold backend. */
static int
start_tier(struct daemon *d, const struct options *o, struct store *store)
{
	char dir[PATH_MAX];
	struct tier_config tc = {.meta = store->meta, .backends = d->backends,
	    .names = (const char (*)[VSP_NAME_MAX + 1])d->backend_names,
	    .nbackends = d->nbackends, .state_dir = dir, .policy = policy_src_policy,
	    .policy_arg = d->policies, .recall_thread = 1, .rate = d->tier_rate};

	if (d->nbackends < 2)
		return 0;
	if (path_join(dir, sizeof(dir), o->data_dir, "tier") != 0 ||
	    (d->tier = tier_new(&tc)) == NULL)
		return -1;
	store->tier = d->tier;
	return 0;
}

/* Opens the data directory's parts into store. */
static int
open_store(const struct options *o, struct store *store)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), o->data_dir, "server.key") != 0 ||
	    auth_server_key_load(path, store->server_key) != 0)
		return -1;
	if (path_join(path, sizeof(path), o->data_dir, "meta") != 0)
		return -1;
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		log_msg(VLOG_ERROR, "create %s: %s", path, strerror(errno));
		return -1;
	}
	if (meta_open(path, 0, &store->meta) != META_OK) {
		log_msg(VLOG_ERROR, "cannot open the metadata in %s", path);
		return -1;
	}
	if (o->objects_dir[0] != '\0')
		snprintf(path, sizeof(path), "%s", o->objects_dir);
	else if (path_join(path, sizeof(path), o->data_dir, "objects") != 0)
		return -1;
	if ((store->backend = backend_fs_open(path)) == NULL) {
		log_msg(VLOG_ERROR, "cannot open the object store %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
start_servers(struct daemon *d, struct options *o, struct store *store)
{
	for (size_t i = 0; i < o->nlistens; i++) {
		struct server_config cfg = o->server;
		cfg.host = o->listens[i].host;
		cfg.port = o->listens[i].port;
		if ((d->servers[i] = server_start(d->loop, &cfg, store)) == NULL)
			return -1;
		d->nservers++;
		log_msg(VLOG_INFO, "version %s, listening on http://%s%s%s:%d", VAULTD_VERSION,
		    strchr(cfg.host, ':') ? "[" : "", cfg.host, strchr(cfg.host, ':') ? "]" : "",
		    server_port(d->servers[i]));
	}
	if (o->port_file != NULL && write_port_file(o->port_file, server_port(d->servers[0])) != 0)
		return -1;
	return 0;
}

static int
has_target(void *arg, const char *name)
{
	return policy_src_has_target(arg, name);
}

/* The replication engine, on the configuration in force. */
static int
start_repl(struct daemon *d, struct conf *c, struct store *store)
{
	struct repl_config rc = {.loop = d->loop, .meta = store->meta,
	    .backend = store->backend};
	struct repl_settings *s = repl_settings_new(c);

	if (s == NULL || (d->repl = repl_start(&rc, s)) == NULL)
		return -1;
	return 0;
}

/* The scrubber and the posture report; the page if posture-listen is set. */
static int
start_scrub(struct daemon *d, struct store *store)
{
	struct scrub_config sc = {.meta = store->meta, .rate = d->scrub_rate,
	    .policy = policy_src_policy, .targets = policy_src_targets,
	    .target = policy_src_target, .arg = d->policies};

	/* Location bit i is backend i: the hot one first, then the cold ones
	 * (open_backends), so scrub re-reads cold copies too. */
	sc.backends[0] = store->backend;
	for (size_t i = 1; i < d->nbackends && i < META_SCRUB_BACKENDS_MAX; i++)
		sc.backends[i] = d->backends[i];
	if ((d->scrub = scrub_new(&sc)) == NULL)
		return -1;
	store->scrub = d->scrub;
	d->posture = (struct posture_config){.meta = store->meta, .policy = policy_src_policy,
	    .limits = policy_src_lookup, .targets = policy_src_targets, .arg = d->policies};
	if (!d->has_posture_listen)
		return 0;
	if ((d->posture_http = posture_http_start(d->loop, d->posture_listen.host,
	    d->posture_listen.port, &d->posture)) == NULL)
		return -1;
	log_msg(VLOG_INFO, "posture page on http://%s%s%s:%d/posture (no auth)",
	    strchr(d->posture_listen.host, ':') ? "[" : "", d->posture_listen.host,
	    strchr(d->posture_listen.host, ':') ? "]" : "", posture_http_port(d->posture_http));
	return 0;
}

static int
start_services(struct daemon *d, struct options *o, struct store *store)
{
	char sock[PATH_MAX];
	struct admin_ctx actx = {.meta = store->meta, .server_key = store->server_key,
	    .status = status_cb, .status_arg = d, .repl_targets = policy_src_targets,
	    .repl_has_target = has_target, .repl_arg = d->policies,
	    .tenant_declared = policy_src_has_tenant};
	struct gc_config gcc = {.meta = store->meta, .backend = store->backend,
	    .backends = d->backends, .nbackends = d->nbackends,
	    .tmp_dir = sock, .policy = policy_src_policy, .policy_arg = d->policies};

	if (start_tier(d, o, store) != 0)
		return -1;
	actx.tier = d->tier;
	if (path_join(sock, sizeof(sock), o->data_dir, "gc-tmp") != 0 ||
	    (d->gc = gc_new(&gcc)) == NULL)
		return -1;
	actx.gc = d->gc;
	if (start_scrub(d, store) != 0)
		return -1;
	actx.scrub = d->scrub;
	actx.posture = &d->posture;
	if (start_servers(d, o, store) != 0)
		return -1;
	if (path_join(sock, sizeof(sock), o->data_dir, "vaultd.sock") != 0 ||
	    (d->admin = admin_start(d->loop, sock, &actx)) == NULL)
		return -1;
	uv_signal_init(d->loop, &d->sigint);
	uv_signal_init(d->loop, &d->sigterm);
	uv_signal_init(d->loop, &d->sighup);
	d->sigint.data = d->sigterm.data = d->sighup.data = d;
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_signal_start(&d->sighup, on_hup, SIGHUP);
	uv_timer_init(d->loop, &d->gc_timer);
	d->gc_timer.data = d;
	uv_timer_start(&d->gc_timer, on_gc_timer, GC_CHECK_MS, GC_CHECK_MS);
	log_msg(VLOG_INFO, "data in %s, admin socket %s%s%s", o->data_dir, sock,
	    o->conf_path ? ", configuration " : "", o->conf_path ? o->conf_path : "");
	return 0;
}

/* The configuration's policies go into force; the tenants it names exist. */
static int
start_policies(struct daemon *d, struct options *o, struct store *store)
{
	char err[512];

	if (ensure_tenants(store->meta, o->conf, err, sizeof(err)) != 0) {
		log_msg(VLOG_ERROR, "%s", err);
		return -1;
	}
	if ((d->boot = conf_restart_part(o->conf)) == NULL) {
		log_msg(VLOG_ERROR, "out of memory");
		return -1;
	}
	if (start_repl(d, o->conf, store) != 0)
		return -1;
	store->limits.verify_before_send = o->conf->verify_before_send;
	d->scrub_rate = o->conf->scrub_rate;
	d->tier_rate = o->conf->tier_rate;
	d->has_posture_listen = o->conf->has_posture_listen;
	d->posture_listen = o->conf->posture_listen;
	if (conf_posture_exposed(o->conf, err, sizeof(err)))
		log_msg(VLOG_WARN, "%s", err);
	d->policies = policy_src_new(o->conf);
	o->conf = NULL;
	if (d->policies == NULL) {
		log_msg(VLOG_ERROR, "out of memory");
		return -1;
	}
	store->policy = policy_src_lookup;
	store->policy_arg = d->policies;
	/* Every commit from now on queues its replication in its own
	 * transaction (meta_repl.h). */
	meta_repl_set_targets(store->meta, policy_src_targets, d->policies);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options opts;
	struct daemon d;
	struct store store;
	int lockfd, rc = 1;

	memset(&d, 0, sizeof(d));
	memset(&store, 0, sizeof(store));
	if (options_parse(argc, argv, &opts) != 0)
		return 2;
	log_setup(options_log_to(&opts, opts.conf), VLOG_INFO);
	/* Disk and hash work runs on the threadpool; more threads than cores
	 * keep the disk busy while some threads wait on fsync. */
	setenv("UV_THREADPOOL_SIZE", DEFAULT_THREADS, 0);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		log_msg(VLOG_ERROR, "libsodium failed to start");
		return 1;
	}
	if ((lockfd = lock_data_dir(opts.data_dir)) < 0)
		return 1;
	store.limits.max_object_size = opts.max_object_size;
	store.limits.reserve_bytes = opts.reserve_bytes;
	d.loop = uv_default_loop();
	d.opts = &opts;
	d.store = &store;
	if (open_store(&opts, &store) != 0 || open_backends(&d, &opts, &store) != 0 ||
	    start_policies(&d, &opts, &store) != 0 ||
	    start_services(&d, &opts, &store) != 0)
		goto out;
	/* Type=notify (dist/vaultd.service): listeners and admin socket are up.
	 * Without $NOTIFY_SOCKET this does nothing. */
	sd_notify(0, "READY=1");
	uv_run(d.loop, UV_RUN_DEFAULT);
	rc = 0;
out:
	uv_loop_close(d.loop);
	tier_free(d.tier);
	for (size_t i = 1; i < d.nbackends; i++)
		backend_free(d.backends[i]);
	gc_free(d.gc);
	scrub_free(d.scrub);
	backend_free(store.backend);
	meta_close(store.meta);
	policy_src_free(d.policies);
	conf_free(opts.conf);
	conf_free(d.boot);
	sodium_memzero(store.server_key, sizeof(store.server_key));
	close(lockfd);
	return rc;
}
