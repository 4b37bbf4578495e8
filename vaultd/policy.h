#ifndef POLICY_H
#define POLICY_H
/*
 * The policies in force: the parsed vaultd.conf behind a read-write lock, so
 * handler threads read it while SIGHUP swaps in a new one.
 */
#include "conf.h"
#include "handlers.h"

struct policy_src;

/* Takes ownership of c. Returns NULL when out of memory (c is freed). */
struct policy_src *policy_src_new(struct conf *c);

/* Frees p and its config. NULL is ignored. */
void policy_src_free(struct policy_src *p);

/* Puts c in force (taking ownership) and frees the config it replaces, once
 * no thread reads it any more. */
void policy_src_swap(struct policy_src *p, struct conf *c);

/* The store's policy lookup (handlers.h, struct store.policy): arg is the
 * policy_src. Thread-safe. */
void policy_src_lookup(void *arg, const char *tenant, const char *vault,
    struct policy_limits *out);

/* Copies the whole policy of (tenant, vault) into *out and returns 1, or
 * returns 0 when none applies (for GC, gc.h's struct gc_config.policy; arg
 * is the policy_src). Thread-safe. */
int policy_src_policy(void *arg, const char *tenant, const char *vault,
    struct conf_policy *out);

/* The replication targets of (tenant, vault) (meta_repl.h's
 * meta_repl_targets_fn; arg is the policy_src): copies up to max names of
 * the policy's replicate-to list into names and returns the count. Only
 * targets the config defines are listed. Thread-safe. */
size_t policy_src_targets(void *arg, const char *tenant, const char *vault,
    char (*names)[VSP_NAME_MAX + 1], size_t max);

/* Returns 1 if the configuration in force has a tenant block named name
 * (admin.h's struct admin_ctx.tenant_declared; arg is the policy_src).
 * Thread-safe. */
int policy_src_has_tenant(void *arg, const char *name);
/* Returns 1 if the configuration in force defines a target named name.
 * Thread-safe. */
int policy_src_has_target(struct policy_src *p, const char *name);

/* Copies the definition of the target named name into *out and returns 1,
 * or returns 0 if the configuration in force has none (scrub.h's
 * struct scrub_config.target; arg is the policy_src). Thread-safe. */
int policy_src_target(void *arg, const char *name, struct conf_target *out);

#endif
