/* actr — the per-request context a workload handler runs in, and the host
 * function table (ActrHostApi) built on it.
 *
 * The context collects the handler's answer (respond/fail) and its durable
 * state writes; the node then acks the message with
 * actr_store_ack_with_state(), so the answer and the state commit together.
 * State reads see the committed state plus this handler's own writes.
 * Routing operations (call, tell, discover) go to a router the node
 * supplies; without one they fail with 10001 (unavailable).
 *
 * Thread: a context is used by one thread (the workload thread) at a time.
 * Buffers handed to the guest (state values, call replies) stay valid until
 * the context is freed. */
#ifndef ACTR_INVOCATION_H
#define ACTR_INVOCATION_H

#include <glib.h>
#include <actr/store.h>
#include <actr/workload.h>

/* Implemented by the node runtime for call/tell/discover.  Each returns 0 or
 * a wire error code, with a detail message in *message (transfer full). */
typedef struct {
  int32_t (*call)(gpointer data, ActrInvocationCtx *ctx, const char *target, const char *route_key,
                  const guint8 *payload, gsize len, gint64 timeout_ms, GBytes **reply,
                  char **message);
  int32_t (*tell)(gpointer data, ActrInvocationCtx *ctx, const char *target, const char *route_key,
                  const guint8 *payload, gsize len, char **message);
  int32_t (*discover)(gpointer data, ActrInvocationCtx *ctx, const char *actr_type, char **actr_id,
                      char **message);
  /* Data streams; @registering: register (TRUE) or unregister. */
  int32_t (*stream_registration)(gpointer data, ActrInvocationCtx *ctx, const char *stream_id,
                                 gboolean registering, char **message);
  int32_t (*send_data_stream)(gpointer data, ActrInvocationCtx *ctx, const char *target,
                              const char *stream_id, guint64 sequence, const guint8 *payload,
                              gsize len, int lane, char **message);
} ActrInvocationRouter;

/* A context for one request.  @store (nullable: no durable state) is read
 * for state_get; the ids are copied (caller_id and request_id nullable). */
ActrInvocationCtx *actr_invocation_new(ActrStore *store, const char *self_id, const char *caller_id,
                                       const char *request_id);
void actr_invocation_free(ActrInvocationCtx *ctx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrInvocationCtx, actr_invocation_free)

void actr_invocation_set_router(ActrInvocationCtx *ctx, const ActrInvocationRouter *router,
                                gpointer data);

/* For contexts that are not request handlers (lifecycle hooks, events,
 * stream chunks): nothing would commit their state writes, so state_put()
 * and state_delete() fail with 10005 instead of being silently lost.
 * Reads work. */
void actr_invocation_set_state_read_only(ActrInvocationCtx *ctx);

/* State writes of earlier handlers whose acks have not committed yet
 * (key → GBytes value, or NULL for a delete; borrowed, must outlive @ctx's
 * handler).  state_get() consults it after the handler's own writes and
 * before the store, so handlers see each other's writes in order although
 * their acks commit together (actr_store_ack_batch()). */
void actr_invocation_set_state_overlay(ActrInvocationCtx *ctx, GHashTable *overlay);

/* Marks @ctx as a data-stream callback: register_stream() then fails with
 * 10009 (runtime.md §6.2). */
void actr_invocation_set_in_stream_callback(ActrInvocationCtx *ctx, gboolean in_callback);

/* The host table to give to actr_workload_init(); static, valid forever. */
const ActrHostApi *actr_invocation_host_api(void);

/* After the handler returned @status: TRUE when it answered successfully
 * (status 0 and no fail()), with the response in @response (transfer full;
 * an empty payload when it never called respond()).  Otherwise FALSE with
 * the wire error in @error (ACTR_ERROR domain; a status the guest returned
 * without fail() becomes that code, or 10010 for a code outside
 * 10001–10011). */
gboolean actr_invocation_finish(ActrInvocationCtx *ctx, int32_t status, GBytes **response,
                                GError **error);

/* The state writes to commit with the ack (transfer container: the array;
 * keys and values stay owned by @ctx).  Empty after a failed handler. */
GArray *actr_invocation_state_writes(ActrInvocationCtx *ctx);

#endif /* ACTR_INVOCATION_H */
