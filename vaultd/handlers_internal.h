#ifndef HANDLERS_INTERNAL_H
#define HANDLERS_INTERNAL_H
/* Shared between the handler files; not for other modules. */
#include <jansson.h>

#include "handlers.h"

/* Authenticates the caller, checks that the token has one of the scopes in
 * any_scope, and, when the route names a vault, loads it into *vault.
 * Returns 0, or -1 with resp set to the error. */
int handlers__authorize(struct store *s, const struct request *req, uint32_t any_scope,
    struct meta_token *tok, struct meta_vault *vault, struct resp *resp);

/* Sets resp to status with the JSON value (stolen). */
void handlers__json(struct resp *resp, int status, json_t *value);

/* For a blob served whole from memory (the config): 0 if its bytes hash to
 * id and no bad copy is recorded; else records the bad copy, sets resp to
 * 503 and returns -1 (spec/vsp.md, "Integrity of downloads"). */
int handlers__blob_check(struct store *s, uint64_t vault_id, uint8_t kind,
    const uint8_t id[VSP_ID_LEN], const void *buf, size_t len, struct resp *resp);

void handlers__object_get(struct store *s, const struct request *req, struct resp *resp);

/* Turns the object reader a GET opened in resp (reader, offset, length,
 * verify) into resp->gen, the body generator the connection streams
 * (handlers_body.c). Out of memory: resp becomes a 500. */
void handlers__body_start(struct store *s, struct resp *resp);
/* Snapshot envelopes (handlers_snapshot.c). */
/* 1 if the upload of req must be a snapshot envelope (VSP, kind snapshot). */
int handlers__wants_envelope(const struct request *req);
/* Keeps the envelope header from the body bytes as they stream by. */
void handlers__envelope_feed(struct upload *up, const uint8_t *buf, size_t len);
/* 0 if the finished upload is one whole envelope, else -1 with a 400. */
int handlers__snapshot_check(const struct upload *up, struct resp *resp);
/* Stores the snapshot's metadata under the commit invariant: the META_*
 * code of meta_snapshot_put; on META_MISSING resp holds the 409. */
int handlers__snapshot_commit(struct store *s, const struct request *req, struct upload *up,
    const struct meta_object *o, struct resp *resp);

/* The restic REST endpoints of their own (spec/restic.md); handlers_restic.c. */
void handlers__restic_create(struct store *s, const struct request *req, struct resp *resp);
void handlers__restic_config_head(struct store *s, const struct request *req, struct resp *resp);
void handlers__restic_list(struct store *s, const struct request *req, struct resp *resp);
void handlers__object_delete(struct store *s, const struct request *req, struct resp *resp);

#endif
