/*
 * The replication engine's life cycle and scheduler (repl.h). A tick timer
 * and every finished transfer start a scan of the LMDB queue on the
 * threadpool for due records of usable targets that are not already under
 * way; the loop then starts transfers up to the worker count. The bandwidth
 * cap is one token bucket for all transfers, refilled by bw_timer; a read
 * callback that finds it empty pauses its transfer until the next refill.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "repl_internal.h"

#define BW_TICK_MS 50
#define BW_TICKS_PER_S (1000 / BW_TICK_MS)
/* Due records fetched per scan, per worker: room for the ones under way. */
#define SCAN_PER_WORKER 4

static void kick(struct repl *r);
static void maybe_stopped(struct repl *r);

/* ---- scanning the queue -------------------------------------------- */

static int
same_key(const struct meta_repl_item *a, const struct meta_repl_item *b)
{
	return a->vault_id == b->vault_id && a->kind == b->kind &&
	    memcmp(a->id, b->id, VSP_ID_LEN) == 0 && strcmp(a->target, b->target) == 0;
}

/* On the threadpool: is the record one this scan should return? */
static int
scan_want(const struct meta_repl_item *it, void *arg)
{
	struct repl *r = arg;
	const struct repl_target *t = repl__target(r->scan_set, it->target);

	if (t == NULL || t->error[0] != '\0')
		return 0; /* unusable targets keep their records queued */
	for (size_t i = 0; i < r->scan_nskip; i++)
		if (same_key(it, &r->scan_skip[i]))
			return 0;
	return 1;
}

static void
scan_work(uv_work_t *w)
{
	struct repl *r = w->data;
	struct meta_vault v;
	struct meta_tenant t;
	uint64_t next_due;

	r->scan_n = 0;
	if (meta_repl_due(r->meta, (uint64_t)time(NULL), scan_want, r, r->scan_items,
	    r->scan_max, &r->scan_n, &next_due) != META_OK)
		r->scan_n = 0;
	for (size_t i = 0; i < r->scan_n; i++) {
		/* The target vault defaults to the source vault's name. */
		if (i > 0 && r->scan_items[i].vault_id == r->scan_items[i - 1].vault_id) {
			memcpy(r->scan_vaults[i], r->scan_vaults[i - 1], sizeof(r->scan_vaults[i]));
			memcpy(r->scan_tenants[i], r->scan_tenants[i - 1], sizeof(r->scan_tenants[i]));
			continue;
		}
		snprintf(r->scan_vaults[i], sizeof(r->scan_vaults[i]), "unknown");
		snprintf(r->scan_tenants[i], sizeof(r->scan_tenants[i]), "unknown");
		if (meta_vault_get_by_id(r->meta, r->scan_items[i].vault_id, &v) != META_OK)
			continue;
		memcpy(r->scan_vaults[i], v.name, sizeof(v.name));
		if (meta_tenant_get_by_id(r->meta, v.tenant_id, &t) == META_OK)
			memcpy(r->scan_tenants[i], t.name, sizeof(t.name));
	}
}

/* A snapshot waits while a pack or index of its vault is on its way to the
 * same target: a vaultd target would refuse it (409) until they are there. */
static int
refs_under_way(const struct meta_repl_item *snap, const struct meta_repl_item *x)
{
	return snap->kind == VSP_KIND_SNAPSHOT && snap->op == META_REPL_PUT &&
	    (x->kind == VSP_KIND_PACK || x->kind == VSP_KIND_INDEX) && x->op == META_REPL_PUT &&
	    x->vault_id == snap->vault_id && strcmp(x->target, snap->target) == 0;
}

static void
scan_done(uv_work_t *w, int status)
{
	struct repl *r = w->data;

	(void)status;
	r->scan_busy = 0;
	repl__settings_drop(r->scan_set);
	r->scan_set = NULL;
	if (r->stopping) {
		maybe_stopped(r);
		return;
	}
	for (size_t i = 0; i < r->scan_n && r->nxfers < r->set->workers; i++) {
		int under_way = 0;
		for (struct xfer *x = r->xfers; x != NULL && !under_way; x = x->next)
			under_way = same_key(&x->it, &r->scan_items[i]) ||
			    refs_under_way(&r->scan_items[i], &x->it);
		if (!under_way)
			(void)repl__xfer_start(r, &r->scan_items[i], r->scan_tenants[i],
			    r->scan_vaults[i]);
	}
	if (r->rescan) {
		r->rescan = 0;
		kick(r);
	}
}

/* Starts a scan if there is room for transfers. */
static void
kick(struct repl *r)
{
	size_t max, k = 0;

	if (r->stopping)
		return;
	if (r->scan_busy) {
		r->rescan = 1;
		return;
	}
	if (r->nxfers >= r->set->workers || r->set->ntargets == 0)
		return;
	max = (size_t)r->set->workers * SCAN_PER_WORKER;
	if (max > r->scan_max) {
		struct meta_repl_item *a = realloc(r->scan_items, max * sizeof(*a));
		struct meta_repl_item *b = a != NULL ? realloc(r->scan_skip, max * sizeof(*b)) : NULL;
		void *c;
		if (a != NULL)
			r->scan_items = a;
		if (b != NULL)
			r->scan_skip = b;
		c = b != NULL ? realloc(r->scan_vaults, max * sizeof(*r->scan_vaults)) : NULL;
		if (c != NULL)
			r->scan_vaults = c;
		c = c != NULL ? realloc(r->scan_tenants, max * sizeof(*r->scan_tenants)) : NULL;
		if (c == NULL)
			return;
		r->scan_tenants = c;
		r->scan_max = max;
	}
	for (struct xfer *x = r->xfers; x != NULL && k < r->scan_max; x = x->next)
		r->scan_skip[k++] = x->it;
	r->scan_nskip = k;
	r->scan_set = r->set;
	repl__settings_hold(r->scan_set);
	r->scan_busy = 1;
	r->scan_work.data = r;
	if (uv_queue_work(r->loop, &r->scan_work, scan_work, scan_done) != 0) {
		r->scan_busy = 0;
		repl__settings_drop(r->scan_set);
		r->scan_set = NULL;
	}
}

void
repl__xfer_gone(struct repl *r)
{
	if (r->stopping)
		maybe_stopped(r);
	else
		kick(r);
}

static void
on_tick(uv_timer_t *t)
{
	kick(t->data);
}

static void
on_bw_tick(uv_timer_t *t)
{
	struct repl *r = t->data;
	uint64_t per_tick = r->set->bandwidth / BW_TICKS_PER_S;

	if (r->set->bandwidth == 0)
		return;
	if (per_tick == 0)
		per_tick = 1;
	/* No saving up beyond one tick's worth: the cap holds over any 50 ms. */
	r->bw_tokens = per_tick;
	for (struct xfer *x = r->xfers; x != NULL; x = x->next)
		repl__xfer_unpause(x);
}

/* ---- applying settings to LMDB ------------------------------------- */

static void
apply_work(uv_work_t *w)
{
	struct repl *r = w->data;
	const struct repl_settings *s = r->apply_set;
	uint64_t now = (uint64_t)time(NULL), n = 0;

	for (size_t i = 0; i < s->ntargets; i++) {
		(void)meta_repl_target_add(r->meta, s->targets[i].name);
		if (s->targets[i].error[0] != '\0')
			(void)meta_repl_note(r->meta, s->targets[i].name, now, s->targets[i].error);
	}
	if (meta_repl_release(r->meta, &n) == META_OK && n > 0)
		log_msg(VLOG_ERROR, "replication: %llu failed record(s) queued again",
		    (unsigned long long)n);
}

static void apply_start(struct repl *r);

static void
apply_done(uv_work_t *w, int status)
{
	struct repl *r = w->data;

	(void)status;
	r->apply_busy = 0;
	repl__settings_drop(r->apply_set);
	r->apply_set = NULL;
	if (r->stopping) {
		maybe_stopped(r);
		return;
	}
	if (r->apply_again) {
		r->apply_again = 0;
		apply_start(r);
	}
	kick(r);
}

static void
apply_start(struct repl *r)
{
	if (r->apply_busy) {
		r->apply_again = 1;
		return;
	}
	r->apply_set = r->set;
	repl__settings_hold(r->apply_set);
	r->apply_busy = 1;
	r->apply_work.data = r;
	if (uv_queue_work(r->loop, &r->apply_work, apply_work, apply_done) != 0) {
		r->apply_busy = 0;
		repl__settings_drop(r->apply_set);
		r->apply_set = NULL;
	}
}

static void
bw_arm(struct repl *r)
{
	if (r->set->bandwidth > 0) {
		r->bw_tokens = r->set->bandwidth / BW_TICKS_PER_S;
		uv_timer_start(&r->bw_timer, on_bw_tick, BW_TICK_MS, BW_TICK_MS);
	} else {
		uv_timer_stop(&r->bw_timer);
	}
}

/* ---- life cycle ---------------------------------------------------- */

struct repl *
repl_start(const struct repl_config *cfg, struct repl_settings *s)
{
	static int curl_ready;
	struct repl *r;

	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_msg(VLOG_ERROR, "replication: libcurl failed to start");
		repl_settings_free(s);
		return NULL;
	}
	curl_ready = 1;
	if ((r = calloc(1, sizeof(*r))) == NULL || repl__curl_init(r) != 0) {
		log_msg(VLOG_ERROR, "replication: out of memory");
		free(r);
		repl_settings_free(s);
		return NULL;
	}
	r->loop = cfg->loop;
	r->meta = cfg->meta;
	r->backend = cfg->backend;
	r->set = s;
	uv_timer_init(r->loop, &r->curl_timer);
	uv_timer_init(r->loop, &r->tick);
	uv_timer_init(r->loop, &r->bw_timer);
	r->curl_timer.data = r->tick.data = r->bw_timer.data = r;
	r->handles = 3;
	uv_timer_start(&r->tick, on_tick, REPL_TICK_MS, REPL_TICK_MS);
	bw_arm(r);
	apply_start(r);
	return r;
}

void
repl_update(struct repl *r, struct repl_settings *s)
{
	if (r->stopping) {
		repl_settings_free(s);
		return;
	}
	repl__settings_drop(r->set);
	r->set = s;
	bw_arm(r);
	apply_start(r);
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct repl *r = h->data;

	if (--r->handles == 0) {
		void (*cb)(void *) = r->stop_cb;
		void *arg = r->stop_arg;

		repl__settings_drop(r->set);
		free(r->scan_items);
		free(r->scan_skip);
		free(r->scan_vaults);
		free(r->scan_tenants);
		free(r);
		if (cb != NULL)
			cb(arg);
	}
}

/* Closes everything once no transfer and no job is left. */
static void
maybe_stopped(struct repl *r)
{
	if (r->nxfers > 0 || r->scan_busy || r->apply_busy || r->multi == NULL)
		return;
	/* Closes the cached connections; curl removes their sockets (and our
	 * uv_poll_t) from inside this call. */
	curl_multi_cleanup(r->multi);
	r->multi = NULL;
	uv_close((uv_handle_t *)&r->curl_timer, on_handle_closed);
	uv_close((uv_handle_t *)&r->tick, on_handle_closed);
	uv_close((uv_handle_t *)&r->bw_timer, on_handle_closed);
}

void
repl_stop(struct repl *r, void (*cb)(void *arg), void *arg)
{
	if (r == NULL) {
		if (cb != NULL)
			cb(arg);
		return;
	}
	r->stopping = 1;
	r->stop_cb = cb;
	r->stop_arg = arg;
	uv_timer_stop(&r->tick);
	uv_timer_stop(&r->bw_timer);
	uv_timer_stop(&r->curl_timer);
	for (struct xfer *x = r->xfers, *next; x != NULL; x = next) {
		next = x->next;
		repl__xfer_abort(x);
	}
	maybe_stopped(r);
}

void
repl_status(const struct repl *r, json_t *obj)
{
	if (r == NULL)
		return;
	json_object_set_new(obj, "replication_engine", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
	    "workers", (json_int_t)r->set->workers, "transfers", (json_int_t)r->nxfers,
	    "bandwidth", (json_int_t)r->set->bandwidth, "bytes_sent", (json_int_t)r->bytes_sent,
	    "copies", (json_int_t)r->copies, "deletes", (json_int_t)r->deletes));
}
