/* actr — the node's inbound side: the gate every received frame passes
 * (I/O thread), the reply path, and the workload thread with its mailbox
 * loop.  See node-private.h.
 *
 * The hot path of one request:
 *   I/O:      frame → decode → response? (pending map) → ACL → inbox
 *             enqueue (group commit on this loop) → wake the workload thread
 *   workload: dequeue → decode → handler → reply + state + ack in one
 *             commit → post the reply
 *   I/O:      send the reply on the link the request came on.
 */
#include "node-private.h"

#include <string.h>

#include "actr-id.h"

/* Back-off after a store failure in the mailbox loop (runtime.md §12.2). */
#define STORE_ERROR_BACKOFF_US G_USEC_PER_SEC

typedef enum {
  WORK_MAILBOX,
  WORK_ON_START,
  WORK_ON_READY,
  WORK_STOP,
  WORK_STREAM, /* a data stream chunk for on_data_stream() */
  WORK_EVENT,  /* an observation event for on_event() */
} WorkKind;

typedef struct {
  WorkKind kind;
  GSourceFunc done; /* WORK_STOP: posted to the I/O thread when the thread ends */
  gpointer done_data;
  Actr__DataStream *chunk; /* WORK_STREAM */
  char *sender;            /* WORK_STREAM: the peer; WORK_EVENT: the detail */
  int event;               /* WORK_EVENT */
  guint64 value;           /* WORK_EVENT */
} WorkItem;

void
node_work_item_free(gpointer data)
{
  WorkItem *item = data;

  actr_data_stream_free(item->chunk);
  g_free(item->sender);
  g_free(item);
}

/* The trace context of the request being handled (workload thread), so that
 * calls a handler makes continue its trace. */
static __thread gboolean current_trace_set;
/* The request being handled and how many calls/tells it made so far: its
 * n-th outbound request gets the id "<request_id>/<n>", so a handler that
 * runs again (a retry after a crash) sends the same ids and the callees
 * answer from their stores: effectively-once holds along a chain. */
static __thread const char *current_request_id;
static __thread guint current_call_seq;
static __thread ActrTraceContext current_trace;

/* ---- replies ------------------------------------------------------------------- */

/* Encodes a reply to @request: @payload on success, else @error. */
static GBytes *
reply_encode(const Actr__RpcEnvelope *request, GBytes *payload, const GError *error)
{
  Actr__RpcEnvelope env = ACTR__RPC_ENVELOPE__INIT;
  Actr__ErrorResponse err = ACTR__ERROR_RESPONSE__INIT;

  env.route_key = request->route_key;
  env.request_id = request->request_id;
  env.timeout_ms = ACTR_NODE_REPLY_TIMEOUT_MS;
  env.traceparent = request->traceparent;
  env.tracestate = request->tracestate;
  env.has_direction = TRUE;
  env.direction = ACTR__RPC_ENVELOPE__DIRECTION__RESPONSE;
  if (error != NULL) {
    err.code = actr_error_wire_code(error);
    err.message = error->message;
    env.error = &err;
  } else {
    gsize len = 0;
    env.has_payload = TRUE;
    env.payload.data = payload ? (guint8 *)g_bytes_get_data(payload, &len) : NULL;
    env.payload.len = len;
  }
  return actr_rpc_envelope_encode(&env);
}

static void
send_reply_on(ActrPeerLink *link, GBytes *reply)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(reply, &len);

  if (actr_peer_link_send(link, ACTR_LANE_RPC_RELIABLE, data, len) != ACTR_OK)
    g_debug("node: reply to %s not sent (link closed); a retry gets the stored reply",
            link->peer_text);
}

static void
reply_error_on(ActrPeerLink *link, const Actr__RpcEnvelope *request, ActrErrorCode code,
               const char *message)
{
  g_autoptr(GError) error = actr_error_new(code, "%s", message);
  g_autoptr(GBytes) reply = reply_encode(request, NULL, error);

  send_reply_on(link, reply);
}

typedef struct {
  ActrNode *node;
  char *request_id;
  char *caller_text; /* NULL: a local call */
  GBytes *reply;
} ReplyItem;

static void
reply_item_free(gpointer data)
{
  ReplyItem *r = data;
  g_free(r->request_id);
  g_free(r->caller_text);
  g_bytes_unref(r->reply);
  g_free(r);
}

static gboolean
reply_on_io(gpointer data)
{
  ReplyItem *r = data;
  ActrNode *node = r->node;
  GPtrArray *routes = NULL; /* links the request (and its retries) came on */
  gpointer key = NULL;
  guint sent = 0;

  if (node_outbound_complete_local(node, r->request_id, r->reply))
    return G_SOURCE_REMOVE;
  if (g_hash_table_steal_extended(node->reply_routes, r->request_id, &key, (gpointer *)&routes))
    g_free(key);
  /* Every caller waiting for this request_id gets the reply: a retry that
   * came on another connection while the original ran as well. */
  for (guint i = 0; routes != NULL && i < routes->len; i++) {
    ActrPeerLink *link = g_ptr_array_index(routes, i);
    if (actr_peer_link_is_open(link)) {
      send_reply_on(link, r->reply);
      sent++;
    }
  }
  if (sent == 0) {
    ActrPeerLink *link = r->caller_text ? node_outbound_reply_link(node, r->caller_text) : NULL;
    if (link != NULL)
      send_reply_on(link, r->reply);
    else
      g_debug("node: no link to %s for the reply to %s; a retry gets the stored reply",
              r->caller_text ? r->caller_text : "(local)", r->request_id);
  }
  if (routes != NULL)
    g_ptr_array_unref(routes);
  return G_SOURCE_REMOVE;
}

static void
bytes_unref0(gpointer bytes)
{
  if (bytes != NULL)
    g_bytes_unref(bytes);
}

/* Commits the acks of handled messages and sends their replies; defined
 * with the mailbox loop below. */
static void flush_current_batch(ActrNode *node);

/* ---- the gate (I/O thread) ------------------------------------------------------- */

typedef struct {
  ActrNode *node;
  ActrPeerLink *link; /* ref */
  char *request_id;
  gboolean tell;
  Actr__RpcEnvelope *request; /* for error replies */
} Admission;

static void
admission_free(Admission *a)
{
  actr_peer_link_unref(a->link);
  g_free(a->request_id);
  actr_rpc_envelope_free(a->request);
  g_free(a);
}

static void
on_enqueued(ActrStore *store, const ActrEnqueueResult *result, const GError *error,
            gpointer user_data)
{
  Admission *a = user_data;
  ActrNode *node = a->node;
  static gint warned;

  if (error != NULL) {
    if (g_atomic_int_compare_and_exchange(&warned, 0, 1))
      g_warning("node: inbox refused a request: %s (callers get 10001 and retry)", error->message);
    if (!a->tell)
      reply_error_on(a->link, a->request, ACTR_ERROR_UNAVAILABLE, "inbox unavailable");
    admission_free(a);
    return;
  }
  g_atomic_int_set(&warned, 0);
  switch (result->outcome) {
  case ACTR_ENQUEUE_ACCEPTED:
  case ACTR_ENQUEUE_DUPLICATE_PENDING:
    /* The reply goes to every link a copy came on (a retry may use a new
     * connection while the first is still open and waiting). */
    if (!a->tell && !node_is_stopping(node)) {
      GPtrArray *routes = g_hash_table_lookup(node->reply_routes, a->request_id);
      if (routes == NULL) {
        routes = g_ptr_array_new_with_free_func((GDestroyNotify)actr_peer_link_unref);
        g_hash_table_insert(node->reply_routes, g_strdup(a->request_id), routes);
      }
      if (!g_ptr_array_find(routes, a->link, NULL))
        g_ptr_array_add(routes, actr_peer_link_ref(a->link));
    }
    if (result->outcome == ACTR_ENQUEUE_ACCEPTED)
      node_mailbox_wake(node);
    break;
  case ACTR_ENQUEUE_DUPLICATE_DONE:
    if (a->tell)
      break;
    if (result->completion == ACTR_COMPLETION_REPLIED && result->response != NULL)
      send_reply_on(a->link, result->response);
    else if (result->completion == ACTR_COMPLETION_DEAD_LETTERED)
      reply_error_on(a->link, a->request, ACTR_ERROR_INTERNAL,
                     "the request was moved to the dead-letter queue");
    break;
  }
  admission_free(a);
}

static void
warn_undecodable(const char *peer, const GError *error)
{
  static gint count;
  gint n = g_atomic_int_add(&count, 1);
  /* Logged once, then at every power of ten: bad input must not flood logs. */
  if (n == 0 || n == 9 || n == 99 || n == 999 || n == 9999 || n == 99999)
    g_warning("node: undecodable envelope from %s dropped (%d so far): %s", peer, n + 1,
              error->message);
}

static void push_item(ActrNode *node, WorkItem *item);

/* A DataStream chunk (lanes 2/3): to the workload if it registered the
 * stream; never stored (a fast path, wire.md §5.6). */
static void
gate_stream(ActrNode *node, ActrPeerLink *link, GBytes *payload, const ActrId *peer)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data(payload, &len);

  if (peer == NULL || node->workload == NULL || node->workload_thread == NULL) {
    g_debug("node: data stream chunk from %s dropped (no receiver)", link->peer_text);
    return;
  }
  g_autoptr(Actr__DataStream) chunk = actr_data_stream_decode(data, len, &error);
  if (chunk == NULL) {
    warn_undecodable(link->peer_text, error);
    return;
  }
  link->carried_streams = TRUE;
  g_autofree char *reason = NULL;
  if (actr_acl_check(node->acl, peer, &reason) == ACTR_ACL_DECISION_DENY) {
    g_debug("node: acl_denied: stream %s from %s: %s", chunk->stream_id, link->peer_text, reason);
    return;
  }
  g_mutex_lock(&node->streams_lock);
  gboolean registered = g_hash_table_contains(node->streams, chunk->stream_id);
  g_mutex_unlock(&node->streams_lock);
  if (!registered) {
    g_debug("node: chunk of unregistered stream %s from %s dropped", chunk->stream_id,
            link->peer_text);
    return;
  }
  /* Streams are not stored: a receiver that cannot keep up loses chunks
   * rather than memory (and the requests queued behind them). */
  if (g_atomic_int_get(&node->stream_backlog) >= ACTR_NODE_MAX_STREAM_BACKLOG) {
    static gint dropped;
    gint n = g_atomic_int_add(&dropped, 1);
    if (n == 0 || n == 99 || n == 9999)
      g_warning("node: data stream chunks dropped: the workload is %d chunks behind (%d dropped)",
                ACTR_NODE_MAX_STREAM_BACKLOG, n + 1);
    if (!link->stream_overrun) {
      link->stream_overrun = TRUE;
      node_emit(node, ACTR_NODE_EVENT_DATA_STREAM_UNCERTAIN, link->peer_text, 0);
    }
    return;
  }
  link->stream_overrun = FALSE;
  g_atomic_int_inc(&node->stream_backlog);
  WorkItem *item = g_new0(WorkItem, 1);
  item->kind = WORK_STREAM;
  item->chunk = g_steal_pointer(&chunk);
  item->sender = g_strdup(link->peer_text);
  push_item(node, item);
}

void
node_gate_frame(ActrNode *node, ActrPeerLink *link, ActrLane lane, GBytes *payload,
                const ActrId *peer)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data(payload, &len);

  if (lane != ACTR_LANE_RPC_RELIABLE && lane != ACTR_LANE_RPC_SIGNAL) {
    gate_stream(node, link, payload, peer);
    return;
  }
  g_autoptr(Actr__RpcEnvelope) env = actr_rpc_envelope_decode(data, len, &error);
  if (env == NULL) {
    warn_undecodable(link->peer_text, error);
    return;
  }
  Actr__RpcEnvelope__Direction dir = actr_rpc_envelope_get_direction(env);
  if (dir == ACTR__RPC_ENVELOPE__DIRECTION__RESPONSE) {
    if (!node_outbound_complete(node, link, env))
      g_debug("node: late or unknown response %s from %s dropped", env->request_id,
              link->peer_text);
    return;
  }
  if (dir == ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED && node_outbound_complete(node, link, env))
    return; /* a baseline peer's response, recognised by its request id */
  if (peer == NULL) {
    /* A request over a link we dialled: not serviced, as at baseline
     * (wire.md §6), because the dialler never authenticated the listener. */
    g_debug("node: request %s on an outbound link to %s ignored", env->request_id, link->peer_text);
    return;
  }
  gboolean tell = dir == ACTR__RPC_ENVELOPE__DIRECTION__TELL ||
                  (dir == ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED && env->timeout_ms == 0);

  if (env->request_id[0] == '\0') {
    /* It would never be de-duplicated, nor its reply routed. */
    if (!tell)
      reply_error_on(link, env, ACTR_ERROR_INVALID_ARGUMENT, "empty request_id");
    return;
  }
  g_autofree char *reason = NULL;
  if (actr_acl_check(node->acl, peer, &reason) == ACTR_ACL_DECISION_DENY) {
    static gint denied;
    gint n = g_atomic_int_add(&denied, 1);
    if (n == 0 || n == 9 || n == 99 || n == 999 || n == 9999 || (n + 1) % 100000 == 0)
      g_message("node: acl_denied: %s calling %s: %s (%d denied so far)", link->peer_text,
                env->route_key, reason, n + 1);
    else
      g_debug("node: acl_denied: %s calling %s: %s", link->peer_text, env->route_key, reason);
    if (!tell)
      reply_error_on(link, env, ACTR_ERROR_PERMISSION_DENIED, reason);
    return;
  }
  if (strcmp(env->route_key, ACTR_NODE_PING_ROUTE) == 0) {
    if (!tell) {
      g_autoptr(GBytes) echo = g_bytes_new(env->payload.data, env->payload.len);
      g_autoptr(GBytes) reply = reply_encode(env, echo, NULL);
      send_reply_on(link, reply);
    }
    return;
  }
  if (node->store == NULL) {
    if (!tell) {
      g_autofree char *why = g_strdup_printf("%s (this node runs no workload)", env->route_key);
      reply_error_on(link, env, ACTR_ERROR_UNKNOWN_ROUTE, why);
    }
    return;
  }
  if (node_is_stopping(node)) {
    if (!tell)
      reply_error_on(link, env, ACTR_ERROR_UNAVAILABLE, "the node is shutting down");
    return;
  }

  g_autoptr(GBytes) sender = actr_id_encode(peer);
  ActrInboundMessage msg = {
      .priority = lane == ACTR_LANE_RPC_SIGNAL ? ACTR_PRIORITY_HIGH : ACTR_PRIORITY_NORMAL,
      .request_id = env->request_id,
      .sender = sender,
      .envelope = payload,
  };
  Admission *a = g_new0(Admission, 1);
  a->node = node;
  a->link = actr_peer_link_ref(link);
  a->request_id = g_strdup(env->request_id);
  a->tell = tell;
  a->request = g_steal_pointer(&env);
  actr_store_enqueue_async(node->store, &msg, node->io_context, on_enqueued, a);
}

void
node_gate_link_closed(ActrNode *node, ActrPeerLink *link)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init(&iter, node->reply_routes);
  while (g_hash_table_iter_next(&iter, NULL, &value)) {
    GPtrArray *routes = value;
    g_ptr_array_remove_fast(routes, link);
    if (routes->len == 0)
      g_hash_table_iter_remove(&iter);
  }
}

/* ---- backpressure watchdog ------------------------------------------------------- */

static gboolean
emit_backpressure(gpointer data)
{
  ActrNode *node = data;
  guint64 depth = (guint64)g_atomic_int_get(&node->queued_depth);

  g_warning("node: mailbox backpressure: %" G_GUINT64_FORMAT " queued (threshold %u)", depth,
            node->backpressure_threshold);
  node_emit(node, ACTR_NODE_EVENT_MAILBOX_BACKPRESSURE, NULL, depth);
  return G_SOURCE_REMOVE;
}

void
node_depth_observer(guint64 queued, gpointer user_data)
{
  ActrNode *node = user_data;

  g_atomic_int_set(&node->queued_depth, (gint)MIN(queued, (guint64)G_MAXINT));
  if (queued >= node->backpressure_threshold) {
    if (g_atomic_int_compare_and_exchange(&node->backpressure_raised, 0, 1))
      node_post(node, emit_backpressure, node, NULL);
  } else if (g_atomic_int_compare_and_exchange(&node->backpressure_raised, 1, 0)) {
    g_message("node: mailbox backpressure cleared (%" G_GUINT64_FORMAT " queued)", queued);
  }
}

/* ---- routing for handlers (workload thread) -------------------------------------- */

/* A finished waiter as a host-operation status: 0 with the reply in
 * @reply (nullable: dropped), or the wire code with the message. */
static int32_t
waiter_status(NodeWaiter *w, GBytes **reply, char **message)
{
  if (w->error != NULL) {
    int32_t code = (int32_t)actr_error_wire_code(w->error);
    *message = g_strdup(w->error->message);
    g_clear_error(&w->error);
    g_clear_pointer(&w->reply, g_bytes_unref);
    return code;
  }
  if (reply != NULL)
    *reply = g_steal_pointer(&w->reply);
  g_clear_pointer(&w->reply, g_bytes_unref);
  return ACTR_WORKLOAD_OK;
}

static gboolean
is_self_target(ActrNode *node, const char *target)
{
  if (strcmp(target, "local") == 0)
    return TRUE;
  g_autofree char *self = NULL;
  node_get_identity(node, NULL, &self, NULL);
  return g_strcmp0(self, target) == 0;
}

/* Runs one outbound operation for a handler and blocks until it ends. */
static int32_t
handler_route(ActrNode *node, gboolean tell, const char *target, const char *route_key,
              const guint8 *payload, gsize len, gint64 timeout_ms, GBytes **reply, char **message)
{
  NodeWaiter w;
  char traceparent[ACTR_TRACEPARENT_LEN + 1];
  ActrTraceContext child;
  ActrCallOptions options = {.timeout_ms = timeout_ms, .traceparent = traceparent};

  if (is_self_target(node, target)) {
    *message = g_strdup("a handler cannot call its own actor: the call would wait for itself");
    return ACTR_ERROR_INVALID_ARGUMENT;
  }
  flush_current_batch(node);
  if (current_trace_set)
    actr_trace_context_child(&current_trace, &child);
  else
    actr_trace_context_new_root(&child);
  actr_trace_context_format(&child, traceparent);

  g_autofree char *child_id = NULL;
  if (current_request_id != NULL) {
    child_id = g_strdup_printf("%s/%u", current_request_id, ++current_call_seq);
    options.request_id = child_id;
  }
  g_autoptr(GBytes) body = g_bytes_new(payload, len);
  node_waiter_init(&w);
  OutCall *call = out_call_new(node, tell, target, route_key, body, &options,
                               node_waiter_out_call_done, &w, NULL);
  out_call_set_from_handler(call, TRUE);
  node_waiter_run_call(&w, call);
  return waiter_status(&w, reply, message);
}

static int32_t
router_call(gpointer data, ActrInvocationCtx *ctx, const char *target, const char *route_key,
            const guint8 *payload, gsize len, gint64 timeout_ms, GBytes **reply, char **message)
{
  return handler_route(data, FALSE, target, route_key, payload, len, timeout_ms, reply, message);
}

static int32_t
router_tell(gpointer data, ActrInvocationCtx *ctx, const char *target, const char *route_key,
            const guint8 *payload, gsize len, char **message)
{
  return handler_route(data, TRUE, target, route_key, payload, len, 0, NULL, message);
}

static int32_t
router_discover(gpointer data, ActrInvocationCtx *ctx, const char *actr_type, char **actr_id,
                char **message)
{
  g_autoptr(GError) error = NULL;

  flush_current_batch(data);
  *actr_id = node_discover_blocking(data, actr_type, &error);
  if (*actr_id != NULL)
    return ACTR_WORKLOAD_OK;
  *message = g_strdup(error->message);
  return (int32_t)actr_error_wire_code(error);
}

static int32_t
router_stream_registration(gpointer data, ActrInvocationCtx *ctx, const char *stream_id,
                           gboolean registering, char **message)
{
  ActrNode *node = data;

  if (registering && !actr_workload_has_data_stream(node->workload)) {
    *message = g_strdup("the workload has no on_data_stream handler");
    return ACTR_ERROR_NOT_IMPLEMENTED;
  }
  g_mutex_lock(&node->streams_lock);
  if (registering)
    g_hash_table_add(node->streams, g_strdup(stream_id));
  else
    g_hash_table_remove(node->streams, stream_id);
  g_mutex_unlock(&node->streams_lock);
  return ACTR_WORKLOAD_OK;
}

static int32_t
router_send_data_stream(gpointer data, ActrInvocationCtx *ctx, const char *target,
                        const char *stream_id, guint64 sequence, const guint8 *payload, gsize len,
                        int lane, char **message)
{
  ActrNode *node = data;
  Actr__DataStream chunk = ACTR__DATA_STREAM__INIT;
  NodeWaiter w;

  if (is_self_target(node, target)) {
    *message = g_strdup("data streams to the node itself are not supported");
    return ACTR_ERROR_INVALID_ARGUMENT;
  }
  chunk.stream_id = (char *)stream_id;
  chunk.sequence = sequence;
  chunk.payload.data = (guint8 *)payload;
  chunk.payload.len = len;
  chunk.has_timestamp_ms = TRUE;
  chunk.timestamp_ms = g_get_real_time() / 1000;
  g_autoptr(GBytes) frame = actr_data_stream_encode(&chunk);
  flush_current_batch(node);
  node_waiter_init(&w);
  OutCall *call =
      out_call_new_frame(node, target, stream_id, frame,
                         lane == ACTR_STREAM_LATENCY_FIRST ? ACTR_LANE_STREAM_LATENCY_FIRST
                                                           : ACTR_LANE_STREAM_RELIABLE,
                         ACTR_NODE_STREAM_SEND_TIMEOUT_MS, node_waiter_out_call_done, &w, NULL);
  out_call_set_from_handler(call, TRUE);
  node_waiter_run_call(&w, call);
  return waiter_status(&w, NULL, message);
}

static const ActrInvocationRouter handler_router = {
    .call = router_call,
    .tell = router_tell,
    .discover = router_discover,
    .stream_registration = router_stream_registration,
    .send_data_stream = router_send_data_stream,
};

static ActrInvocationCtx *
invocation_new(ActrNode *node, const char *caller_text, const char *request_id)
{
  g_autofree char *self = NULL;

  node_get_identity(node, NULL, &self, NULL);
  ActrInvocationCtx *ctx = actr_invocation_new(node->store, self, caller_text, request_id);
  actr_invocation_set_router(ctx, &handler_router, node);
  return ctx;
}

/* ---- the mailbox loop (workload thread) ------------------------------------------ */

/* Handled messages whose acks commit together (workload thread only).
 * Replies leave only after their ack committed; a later handler reads the
 * state written by an earlier one through the overlay. */
typedef struct {
  GArray *acks;        /* ActrStoreAck */
  GPtrArray *contexts; /* ActrInvocationCtx * owning the acks' write keys */
  GPtrArray *writes;   /* GArray * of ActrStateWrite, one per ack */
  GPtrArray *replies;  /* ReplyItem * (NULL for tells), one per ack */
  GHashTable *overlay; /* key → GBytes * (NULL = deleted): uncommitted state */
  gint64 started_us;   /* when the first pending ack was added */
  gboolean tainted;    /* a flush failed while the current handler ran */
} AckBatch;

/* Longest a handled message waits for the handlers after it before its ack
 * commits (when the queue is busy). */
#define ACK_BATCH_MAX_WAIT_US 1000

static __thread AckBatch *current_batch;

static void
ack_batch_init(AckBatch *batch)
{
  batch->acks = g_array_new(FALSE, TRUE, sizeof(ActrStoreAck));
  batch->contexts = g_ptr_array_new_with_free_func((GDestroyNotify)actr_invocation_free);
  batch->writes = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
  batch->replies = g_ptr_array_new();
  batch->overlay = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, bytes_unref0);
}

static void
ack_batch_clear(AckBatch *batch)
{
  g_array_unref(batch->acks);
  g_ptr_array_unref(batch->contexts);
  g_ptr_array_unref(batch->writes);
  g_ptr_array_unref(batch->replies);
  g_hash_table_unref(batch->overlay);
}

/* Commits the pending acks (one transaction, normally) and sends their
 * replies.  An ack that fails leaves its message to run again. */
static gboolean
ack_batch_flush(ActrNode *node, AckBatch *batch)
{
  g_autoptr(GError) error = NULL;
  guint n = batch->acks->len;

  if (n == 0)
    return TRUE;
  ActrStoreAck *acks = (ActrStoreAck *)(void *)batch->acks->data;
  gboolean all = actr_store_ack_batch(node->store, acks, n, &error);
  for (guint i = 0; i < n; i++) {
    ReplyItem *r = g_ptr_array_index(batch->replies, i);
    if (acks[i].error != NULL) {
      /* Nothing of this run is committed: the message goes back to the
       * queue and runs again once the store recovers (disk full, ...). */
      g_autoptr(GError) requeue_error = NULL;
      g_warning("node: cannot commit the result of message %" G_GINT64_FORMAT
                ": %s; it will run again",
                acks[i].id, acks[i].error->message);
      if (!actr_store_requeue(node->store, acks[i].id, &requeue_error))
        g_warning("node: cannot requeue message %" G_GINT64_FORMAT ": %s", acks[i].id,
                  requeue_error->message);
      g_clear_error(&acks[i].error);
      if (r != NULL)
        reply_item_free(r);
    } else if (r != NULL) {
      node_post(node, reply_on_io, r, reply_item_free);
    }
    g_clear_pointer(&acks[i].response, g_bytes_unref);
  }
  g_array_set_size(batch->acks, 0);
  g_ptr_array_set_size(batch->contexts, 0);
  g_ptr_array_set_size(batch->writes, 0);
  g_ptr_array_set_size(batch->replies, 0);
  g_hash_table_remove_all(batch->overlay);
  if (!all)
    g_usleep(STORE_ERROR_BACKOFF_US);
  return all;
}

/* Before a handler talks to other actors, earlier replies must not wait
 * for that (workload thread). */
static void
flush_current_batch(ActrNode *node)
{
  if (current_batch != NULL && !ack_batch_flush(node, current_batch))
    current_batch->tainted = TRUE;
}

/* Handles one dequeued message: runs it and adds its ack to @batch. */
static void
process_message(ActrNode *node, ActrStoreMessage *msg, AckBatch *batch)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data(msg->envelope, &len);
  g_autoptr(Actr__RpcEnvelope) env = actr_rpc_envelope_decode(data, len, &error);

  if (env == NULL) {
    g_autofree char *why = g_strdup_printf("Protobuf decode failed: %s", error->message);
    g_clear_error(&error);
    ack_batch_flush(node, batch); /* keep the store's order of operations */
    if (!actr_store_dead_letter(node->store, msg->id, "protobuf_decode", why, NULL, &error))
      g_warning("node: cannot dead-letter message %" G_GINT64_FORMAT ": %s", msg->id,
                error->message);
    return;
  }
  g_autofree char *caller_text = NULL;
  if (msg->sender != NULL) {
    g_auto(ActrId) caller = {0};
    gsize slen;
    const guint8 *sdata = g_bytes_get_data(msg->sender, &slen);
    if (actr_id_decode(sdata, slen, &caller, NULL))
      caller_text = actr_id_to_string(&caller);
  }
  Actr__RpcEnvelope__Direction dir = actr_rpc_envelope_get_direction(env);
  gboolean tell = dir == ACTR__RPC_ENVELOPE__DIRECTION__TELL ||
                  (dir == ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED && env->timeout_ms == 0);

  current_trace_set =
      env->traceparent != NULL && actr_trace_context_parse(env->traceparent, &current_trace);
  current_request_id = env->request_id;
  current_call_seq = 0;
  batch->tainted = FALSE;
  ActrInvocationCtx *ctx = invocation_new(node, caller_text, env->request_id);
  actr_invocation_set_state_overlay(ctx, batch->overlay);
  /* Never a NULL payload pointer, even when empty (guests may memcpy it). */
  const guint8 *body = env->payload.data != NULL ? env->payload.data : (const guint8 *)"";
  int32_t status =
      actr_workload_handle(node->workload, ctx, env->route_key, body, env->payload.len);
  current_trace_set = FALSE;
  current_request_id = NULL;
  if (batch->tainted) {
    /* A commit failed while this handler ran, after it may have read the
     * failed acks' state: nothing of this run may commit either. */
    g_autoptr(GError) requeue_error = NULL;
    g_warning("node: %s runs again: the store failed while it ran", env->request_id);
    actr_invocation_free(ctx);
    if (!actr_store_requeue(node->store, msg->id, &requeue_error))
      g_warning("node: cannot requeue message %" G_GINT64_FORMAT ": %s", msg->id,
                requeue_error->message);
    return;
  }
  g_autoptr(GBytes) response = NULL;
  g_autoptr(GError) failure = NULL;
  if (!actr_invocation_finish(ctx, status, &response, &failure))
    g_debug("node: %s %s failed: %s", env->route_key, env->request_id, failure->message);

  if (batch->acks->len == 0)
    batch->started_us = g_get_monotonic_time();
  GArray *writes = actr_invocation_state_writes(ctx);
  for (guint i = 0; i < writes->len; i++) {
    ActrStateWrite *w = &g_array_index(writes, ActrStateWrite, i);
    g_hash_table_replace(batch->overlay, g_strdup(w->key), w->value ? g_bytes_ref(w->value) : NULL);
  }
  ActrStoreAck ack = {
      .id = msg->id,
      .response = tell ? NULL : reply_encode(env, response, failure),
      .writes = (const ActrStateWrite *)(void *)writes->data,
      .n_writes = writes->len,
  };
  ReplyItem *r = NULL;
  if (ack.response != NULL) {
    r = g_new0(ReplyItem, 1);
    r->node = node;
    r->request_id = g_strdup(env->request_id);
    r->caller_text = g_strdup(caller_text);
    r->reply = g_bytes_ref(ack.response);
  }
  g_array_append_val(batch->acks, ack);
  g_ptr_array_add(batch->contexts, ctx);
  g_ptr_array_add(batch->writes, writes);
  g_ptr_array_add(batch->replies, r);
}

static void
mailbox_drain(ActrNode *node)
{
  AckBatch batch;

  ack_batch_init(&batch);
  current_batch = &batch;
  while (!node_is_stopping(node)) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) messages =
        actr_store_dequeue(node->store, ACTR_NODE_MAILBOX_BATCH, &error);

    if (messages == NULL) {
      g_warning("node: mailbox dequeue failed: %s (retrying in 1 s)", error->message);
      g_usleep(STORE_ERROR_BACKOFF_US);
      continue;
    }
    if (messages->len == 0)
      break;
    for (guint i = 0; i < messages->len; i++) {
      ActrStoreMessage *msg = g_ptr_array_index(messages, i);
      if (node_is_stopping(node)) {
        /* Not started: back to the queue for the next run, uncharged. */
        g_autoptr(GError) requeue_error = NULL;
        if (!actr_store_requeue(node->store, msg->id, &requeue_error))
          g_debug("node: requeue at shutdown: %s", requeue_error->message);
        continue;
      }
      /* A reply waits for the handlers after it at most this long. */
      if (batch.acks->len > 0 && g_get_monotonic_time() - batch.started_us >= ACK_BATCH_MAX_WAIT_US)
        ack_batch_flush(node, &batch);
      process_message(node, msg, &batch);
      if (batch.acks->len >= ACTR_NODE_MAILBOX_BATCH)
        ack_batch_flush(node, &batch);
    }
    /* Commit what this dequeue produced before asking for more: under load
     * the next dequeue finds the requests that arrived meanwhile. */
    ack_batch_flush(node, &batch);
  }
  ack_batch_flush(node, &batch);
  current_batch = NULL;
  ack_batch_clear(&batch);
}

void
node_mailbox_wake(ActrNode *node)
{
  if (node->work_queue == NULL || node->workload_thread == NULL)
    return;
  if (!g_atomic_int_compare_and_exchange(&node->mailbox_wake_pending, 0, 1))
    return;
  WorkItem *item = g_new0(WorkItem, 1);
  item->kind = WORK_MAILBOX;
  g_async_queue_push(node->work_queue, item);
}

/* ---- lifecycle on the workload thread --------------------------------------------- */

typedef struct {
  ActrNode *node;
  GError *error;
} StartResult;

static gboolean
start_result_on_io(gpointer data)
{
  StartResult *r = data;
  node_start_continue(r->node, g_steal_pointer(&r->error));
  g_free(r);
  return G_SOURCE_REMOVE;
}

static void
run_on_start(ActrNode *node)
{
  StartResult *r = g_new0(StartResult, 1);
  g_autoptr(ActrInvocationCtx) ctx = invocation_new(node, NULL, "lifecycle:on_start");
  actr_invocation_set_state_read_only(ctx);

  r->node = node;
  if (!actr_workload_on_start(node->workload, ctx, &r->error))
    g_prefix_error(&r->error, "workload on_start failed: ");
  node_post(node, start_result_on_io, r, NULL);
}

typedef struct {
  ActrNode *node;
  NodeWaiter w;
} InitSync;

static gpointer
workload_thread_main(gpointer data)
{
  InitSync *init = data;
  ActrNode *node = init->node;
  GError *error = NULL;

  gboolean ok = actr_workload_init(node->workload, actr_invocation_host_api(), &error);
  node_waiter_finish(&init->w, NULL, NULL, error);
  if (!ok)
    return NULL;

  for (;;) {
    WorkItem *item = g_async_queue_pop(node->work_queue);
    switch (item->kind) {
    case WORK_MAILBOX:
      g_atomic_int_set(&node->mailbox_wake_pending, 0);
      mailbox_drain(node);
      break;
    case WORK_ON_START:
      run_on_start(node);
      break;
    case WORK_STREAM: {
      g_autofree char *request_id = g_strdup_printf("data-stream:%s:%" G_GUINT64_FORMAT,
                                                    item->chunk->stream_id, item->chunk->sequence);
      g_autoptr(ActrInvocationCtx) ctx = invocation_new(node, item->sender, request_id);
      actr_invocation_set_in_stream_callback(ctx, TRUE);
      actr_invocation_set_state_read_only(ctx);
      const guint8 *body =
          item->chunk->payload.data ? item->chunk->payload.data : (const guint8 *)"";
      int32_t status =
          actr_workload_data_stream(node->workload, ctx, item->chunk->stream_id,
                                    item->chunk->sequence, body, item->chunk->payload.len);
      if (status != ACTR_WORKLOAD_OK)
        g_debug("node: on_data_stream %s returned %d", request_id, status);
      g_atomic_int_dec_and_test(&node->stream_backlog);
      break;
    }
    case WORK_EVENT: {
      g_autofree char *request_id = g_strdup_printf("hook:%d", item->event);
      g_autoptr(ActrInvocationCtx) ctx = invocation_new(node, NULL, request_id);
      actr_invocation_set_state_read_only(ctx);
      actr_workload_event(node->workload, ctx, item->event, item->sender, item->value);
      break;
    }
    case WORK_ON_READY: {
      g_autoptr(ActrInvocationCtx) ctx = invocation_new(node, NULL, "lifecycle:on_ready");
      actr_invocation_set_state_read_only(ctx);
      actr_workload_on_ready(node->workload, ctx);
      break;
    }
    case WORK_STOP: {
      g_autoptr(ActrInvocationCtx) ctx = invocation_new(node, NULL, "lifecycle:on_stop");
      actr_invocation_set_state_read_only(ctx);
      actr_workload_on_stop(node->workload, ctx);
      node_post(node, item->done, item->done_data, NULL);
      node_work_item_free(item);
      /* Whatever is still queued (wake-ups) is dropped. */
      while ((item = g_async_queue_try_pop(node->work_queue)) != NULL)
        node_work_item_free(item);
      return NULL;
    }
    }
    node_work_item_free(item);
  }
}

gboolean
node_workload_thread_start(ActrNode *node, GError **error)
{
  InitSync init = {.node = node};

  node_waiter_init(&init.w);
  GThread *thread = g_thread_new("actr-workload", workload_thread_main, &init);
  node_waiter_wait(&init.w);
  if (init.w.error != NULL) {
    g_thread_join(thread);
    g_propagate_error(error, init.w.error);
    return FALSE;
  }
  g_mutex_lock(&node->lock);
  node->workload_thread = thread;
  g_mutex_unlock(&node->lock);
  return TRUE;
}

static void
push_item(ActrNode *node, WorkItem *item)
{
  g_async_queue_push(node->work_queue, item);
}

static void
push_work(ActrNode *node, WorkKind kind, GSourceFunc done, gpointer done_data)
{
  WorkItem *item = g_new0(WorkItem, 1);
  item->kind = kind;
  item->done = done;
  item->done_data = done_data;
  push_item(node, item);
}

void
node_workload_event(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value)
{
  int code;

  switch (event) {
  case ACTR_NODE_EVENT_SIGNALING_CONNECTED:
    code = ACTR_EVENT_SIGNALING_CONNECTED;
    break;
  case ACTR_NODE_EVENT_SIGNALING_DISCONNECTED:
    code = ACTR_EVENT_SIGNALING_DISCONNECTED;
    break;
  case ACTR_NODE_EVENT_WEBSOCKET_CONNECTED:
    code = ACTR_EVENT_WEBSOCKET_CONNECTED;
    break;
  case ACTR_NODE_EVENT_WEBSOCKET_DISCONNECTED:
    code = ACTR_EVENT_WEBSOCKET_DISCONNECTED;
    break;
  case ACTR_NODE_EVENT_CREDENTIAL_RENEWED:
    code = ACTR_EVENT_CREDENTIAL_RENEWED;
    break;
  case ACTR_NODE_EVENT_CREDENTIAL_EXPIRING:
    code = ACTR_EVENT_CREDENTIAL_EXPIRING;
    break;
  case ACTR_NODE_EVENT_MAILBOX_BACKPRESSURE:
    code = ACTR_EVENT_MAILBOX_BACKPRESSURE;
    break;
  case ACTR_NODE_EVENT_DATA_STREAM_UNCERTAIN:
    code = ACTR_EVENT_DATA_STREAM_UNCERTAIN;
    break;
  case ACTR_NODE_EVENT_WEBRTC_CONNECTED:
    code = ACTR_EVENT_WEBRTC_CONNECTED;
    break;
  case ACTR_NODE_EVENT_WEBRTC_DISCONNECTED:
    code = ACTR_EVENT_WEBRTC_DISCONNECTED;
    break;
  default:
    return; /* READY and SHUTDOWN have on_ready / on_stop */
  }
  if (node->workload == NULL || node->workload_thread == NULL || node_is_stopping(node) ||
      !actr_workload_has_on_event(node->workload))
    return;
  WorkItem *item = g_new0(WorkItem, 1);
  item->kind = WORK_EVENT;
  item->event = code;
  item->sender = g_strdup(detail);
  item->value = value;
  push_item(node, item);
}

void
node_workload_on_start_async(ActrNode *node)
{
  if (node->workload_thread == NULL) {
    node_start_continue(node, NULL);
    return;
  }
  push_work(node, WORK_ON_START, NULL, NULL);
}

void
node_workload_on_ready(ActrNode *node)
{
  push_work(node, WORK_ON_READY, NULL, NULL);
}

void
node_workload_stop(ActrNode *node, GSourceFunc done, gpointer data)
{
  push_work(node, WORK_STOP, done, data);
}
