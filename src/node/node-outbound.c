/* actr — the node's outbound side: routing a call to a peer, links to
 * peers, the pending-request map, retries and timeouts.  Everything here
 * runs on the I/O thread except out_call_new()/out_call_submit(), which
 * any thread may call.  See node-private.h.
 *
 * A call's life: submit → route (type → ActrId through route candidates,
 * cached; ActrId → ws_address) → link (dial once per peer, calls queue
 * while it is dialled) → send with the request in the pending map →
 * response (completes) | timeout (fails the call, keeps the link) | link
 * lost or send failed (transient: retried with the same request_id and
 * bytes after the lane's back-off, within the call's deadline).
 */
#include "node-private.h"

#include <string.h>

#include "actr-id.h"
#include "peer-link-ws.h"

/* Route candidates asked for when looking up one ActrId's address. */
#define ID_LOOKUP_CANDIDATES 64

struct _OutCall {
  gint ref_count;
  ActrNode *node;
  gboolean tell;
  gboolean from_handler;
  gboolean local;     /* to our own workload, through the inbox */
  gboolean completed; /* I/O */
  gboolean raw_frame; /* frame is not an RpcEnvelope (data stream chunk) */
  char *target;
  char *route_key;
  char *request_id;
  ActrLane lane;
  gint64 timeout_ms;
  GBytes *frame; /* the encoded envelope, sent unchanged on every attempt */
  guint attempt;
  guint timeout_source;
  guint retry_source;
  char *peer_text;       /* resolved target */
  ActrPeerLink *sent_on; /* identity only, never dereferenced */
  OutCallDone done;
  gpointer done_data;
  GDestroyNotify done_destroy;
};

struct _Peer {
  char *id_text;
  ActrId id;              /* parsed id_text (set when a WebRTC link is attached) */
  char *ws_url;           /* from route candidates; NULL when unknown */
  ActrPeerLink *out_link; /* ref; a link we dialled */
  ActrPeerLink *rtc_link; /* ref; the WebRTC connection (either side offered) */
  gboolean rtc_pending;   /* a WebRTC connection is being set up for waiting calls */
  gint64 rtc_retry_us;    /* after a WebRTC failure: no new try before this time */
  gint64 gone_until_us;   /* the peer was seen gone: calls to it fail until then */
  GQueue blocked;         /* OutCall * (refs): stream chunks waiting for a full link */
  GCancellable *dial_cancel;
  gboolean resolving;  /* looking up ws_url */
  GPtrArray *waiting;  /* OutCall * (refs) waiting for a link or an address */
  GPtrArray *in_links; /* ActrPeerLink * (refs): the peer dialled us */
};

struct _TypeRoute {
  char *type_text;
  ActrType type;
  char *id_text; /* last resolution, NULL when none */
  gint64 expires_us;
  gboolean resolving;
  GPtrArray *waiting; /* OutCall * (refs) */
};

static void route_call(OutCall *call);

/* ---- calls --------------------------------------------------------------------- */

OutCall *
out_call_new(ActrNode *node, gboolean tell, const char *target, const char *route_key,
             GBytes *payload, const ActrCallOptions *options, OutCallDone done, gpointer done_data,
             GDestroyNotify done_destroy)
{
  static const ActrCallOptions defaults = {0};
  OutCall *call = g_new0(OutCall, 1);
  Actr__RpcEnvelope env = ACTR__RPC_ENVELOPE__INIT;
  char traceparent[ACTR_TRACEPARENT_LEN + 1];
  ActrTraceContext trace;

  if (options == NULL)
    options = &defaults;
  call->ref_count = 1;
  call->node = node;
  call->tell = tell;
  call->target = g_strdup(target);
  call->route_key = g_strdup(route_key);
  call->request_id =
      options->request_id != NULL ? g_strdup(options->request_id) : g_uuid_string_random();
  call->lane =
      options->lane == ACTR_NODE_LANE_RPC_SIGNAL ? ACTR_LANE_RPC_SIGNAL : ACTR_LANE_RPC_RELIABLE;
  call->timeout_ms = options->timeout_ms > 0 ? options->timeout_ms : ACTR_NODE_DEFAULT_TIMEOUT_MS;
  call->done = done;
  call->done_data = done_data;
  call->done_destroy = done_destroy;

  if (options->traceparent == NULL || !actr_trace_context_parse(options->traceparent, &trace))
    actr_trace_context_new_root(&trace);
  actr_trace_context_format(&trace, traceparent);

  gsize len = 0;
  env.route_key = call->route_key;
  env.request_id = call->request_id;
  env.has_payload = TRUE;
  env.payload.data = payload ? (guint8 *)g_bytes_get_data(payload, &len) : NULL;
  env.payload.len = len;
  env.timeout_ms = tell ? 0 : call->timeout_ms;
  env.traceparent = traceparent;
  env.has_direction = TRUE;
  env.direction =
      tell ? ACTR__RPC_ENVELOPE__DIRECTION__TELL : ACTR__RPC_ENVELOPE__DIRECTION__REQUEST;
  call->frame = actr_rpc_envelope_encode(&env);
  return call;
}

OutCall *
out_call_new_frame(ActrNode *node, const char *target, const char *label, GBytes *frame,
                   ActrLane lane, gint64 timeout_ms, OutCallDone done, gpointer done_data,
                   GDestroyNotify done_destroy)
{
  OutCall *call = g_new0(OutCall, 1);

  call->ref_count = 1;
  call->node = node;
  call->tell = TRUE;
  call->raw_frame = TRUE;
  call->target = g_strdup(target);
  call->route_key = g_strdup(label);
  call->request_id = g_uuid_string_random();
  call->lane = lane;
  call->timeout_ms = timeout_ms > 0 ? timeout_ms : ACTR_NODE_DEFAULT_TIMEOUT_MS;
  call->frame = g_bytes_ref(frame);
  call->done = done;
  call->done_data = done_data;
  call->done_destroy = done_destroy;
  return call;
}

OutCall *
out_call_ref(OutCall *call)
{
  g_atomic_int_inc(&call->ref_count);
  return call;
}

void
out_call_unref(OutCall *call)
{
  if (call == NULL || !g_atomic_int_dec_and_test(&call->ref_count))
    return;
  if (call->done_destroy != NULL)
    call->done_destroy(call->done_data);
  g_free(call->target);
  g_free(call->route_key);
  g_free(call->request_id);
  g_free(call->peer_text);
  g_bytes_unref(call->frame);
  g_free(call);
}

void
out_call_set_from_handler(OutCall *call, gboolean from_handler)
{
  call->from_handler = from_handler;
}

const char *
out_call_get_request_id(OutCall *call)
{
  return call->request_id;
}

/* Ends @call once: reports the result and drops the I/O thread's ref. */
static void
complete(OutCall *call, GBytes *reply, const GError *error)
{
  ActrNode *node = call->node;

  if (call->completed)
    return;
  call->completed = TRUE;
  if (node->live_calls != NULL)
    g_hash_table_remove(node->live_calls, call);
  node_source_clear(node, &call->timeout_source);
  node_source_clear(node, &call->retry_source);
  if (!call->tell && node->pending != NULL &&
      g_hash_table_lookup(node->pending, call->request_id) == call)
    g_hash_table_remove(node->pending, call->request_id);
  call->done(call, reply, error, call->done_data);
  out_call_unref(call);
}

static void fail(OutCall *call, ActrErrorCode code, const char *format, ...) G_GNUC_PRINTF(3, 4);

static void
fail(OutCall *call, ActrErrorCode code, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_autofree char *detail = g_strdup_vprintf(format, args);
  va_end(args);
  g_autoptr(GError) error = actr_error_new(code, "%s", detail);
  complete(call, NULL, error);
}

/* Retry policy per lane (runtime.md §8.4): attempts and the delay before
 * attempt n+1. */
static gboolean
retry_delay_ms(const OutCall *call, guint *delay_ms)
{
  static const guint reliable[] = {1000, 2000, 4000, 5000};
  if (call->lane != ACTR_LANE_RPC_RELIABLE && call->lane != ACTR_LANE_RPC_SIGNAL)
    return FALSE; /* streams: one attempt */
  /* @call->attempt counts the tries that failed so far (sent or not). */
  if (call->lane == ACTR_LANE_RPC_SIGNAL) {
    if (call->attempt >= 2)
      return FALSE;
    *delay_ms = 500;
    return TRUE;
  }
  if (call->attempt >= 5)
    return FALSE;
  *delay_ms = reliable[MIN(call->attempt - 1, G_N_ELEMENTS(reliable) - 1)];
  return TRUE;
}

static gboolean
on_retry(gpointer data)
{
  OutCall *call = data;

  call->retry_source = 0;
  route_call(call);
  return G_SOURCE_REMOVE;
}

/* A transient failure of one attempt: try again after the back-off if the
 * deadline allows, else fail with it. */
static void
retry_or_fail(OutCall *call, ActrErrorCode code, const char *message)
{
  ActrNode *node = call->node;
  guint delay_ms = 0;

  if (call->completed)
    return;
  if (!call->tell && g_hash_table_lookup(node->pending, call->request_id) == call)
    g_hash_table_remove(node->pending, call->request_id);
  call->sent_on = NULL;
  call->attempt++;
  if (actr_error_code_is_retryable(code) && !node_is_stopping(node) &&
      retry_delay_ms(call, &delay_ms)) {
    g_debug("node: %s to %s: %s; try %u in %u ms", call->request_id, call->target, message,
            call->attempt + 1, delay_ms);
    GSource *timer = g_timeout_source_new(delay_ms);
    g_source_set_callback(timer, on_retry, call, NULL);
    call->retry_source = g_source_attach(timer, node->io_context);
    g_source_unref(timer);
    return;
  }
  fail(call, code, "%s", message);
}

static gboolean
on_call_timeout(gpointer data)
{
  OutCall *call = data;

  call->timeout_source = 0;
  g_debug("node: %s %s to %s timed out", call->route_key, call->request_id, call->target);
  fail(call, ACTR_ERROR_TIMED_OUT, "timed out");
  return G_SOURCE_REMOVE;
}

/* ---- peers --------------------------------------------------------------------- */

static void
peer_free(gpointer data)
{
  Peer *p = data;

  if (p->dial_cancel != NULL) {
    g_cancellable_cancel(p->dial_cancel);
    g_object_unref(p->dial_cancel);
  }
  if (p->out_link != NULL) {
    actr_peer_link_set_handlers(p->out_link, NULL, NULL, NULL);
    actr_peer_link_close(p->out_link);
    actr_peer_link_unref(p->out_link);
  }
  if (p->rtc_link != NULL) {
    actr_peer_link_set_handlers(p->rtc_link, NULL, NULL, NULL);
    actr_peer_link_unref(p->rtc_link);
  }
  actr_id_clear(&p->id);
  g_queue_clear_full(&p->blocked, (GDestroyNotify)out_call_unref);
  g_ptr_array_unref(p->waiting);
  g_ptr_array_unref(p->in_links);
  g_free(p->ws_url);
  g_free(p->id_text);
  g_free(p);
}

static Peer *
peer_get(ActrNode *node, const char *id_text)
{
  Peer *p = g_hash_table_lookup(node->peers, id_text);

  if (p == NULL) {
    p = g_new0(Peer, 1);
    p->id_text = g_strdup(id_text);
    p->waiting = g_ptr_array_new_with_free_func((GDestroyNotify)out_call_unref);
    p->in_links = g_ptr_array_new_with_free_func((GDestroyNotify)actr_peer_link_unref);
    g_hash_table_insert(node->peers, p->id_text, p);
  }
  return p;
}

static void
type_route_free(gpointer data)
{
  TypeRoute *r = data;
  g_ptr_array_unref(r->waiting);
  actr_type_clear(&r->type);
  g_free(r->id_text);
  g_free(r->type_text);
  g_free(r);
}

void
node_outbound_init(ActrNode *node)
{
  node->pending =
      g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)out_call_unref);
  node->peers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, peer_free);
  node->type_routes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, type_route_free);
  node->live_calls = g_hash_table_new(g_direct_hash, g_direct_equal);
}

void
node_outbound_clear(ActrNode *node)
{
  g_clear_pointer(&node->type_routes, g_hash_table_unref);
  g_clear_pointer(&node->peers, g_hash_table_unref);
  g_clear_pointer(&node->pending, g_hash_table_unref);
  g_clear_pointer(&node->live_calls, g_hash_table_unref);
}

/* Forgets what is known about reaching @id_text (after a failure). */
static void
forget_routes_to(ActrNode *node, const char *id_text)
{
  GHashTableIter iter;
  TypeRoute *r;

  g_hash_table_iter_init(&iter, node->type_routes);
  while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&r)) {
    if (g_strcmp0(r->id_text, id_text) == 0)
      g_clear_pointer(&r->id_text, g_free);
  }
}

/* Takes the calls out of @waiting (the refs move to the result). */
static GPtrArray *
take_waiting(GPtrArray *waiting)
{
  GPtrArray *calls = g_ptr_array_new_full(waiting->len, (GDestroyNotify)out_call_unref);

  for (guint i = 0; i < waiting->len; i++)
    g_ptr_array_add(calls, out_call_ref(g_ptr_array_index(waiting, i)));
  g_ptr_array_set_size(waiting, 0);
  return calls;
}

/* Moves the waiting calls of @waiting out and routes each again. */
static void
flush_waiting(GPtrArray *waiting)
{
  g_autoptr(GPtrArray) calls = take_waiting(waiting);

  for (guint i = 0; i < calls->len; i++)
    route_call(g_ptr_array_index(calls, i));
}

static void
fail_waiting(GPtrArray *waiting, ActrErrorCode code, const char *message, gboolean transient)
{
  g_autoptr(GPtrArray) calls = take_waiting(waiting);

  for (guint i = 0; i < calls->len; i++) {
    OutCall *call = g_ptr_array_index(calls, i);
    if (transient)
      retry_or_fail(call, code, message);
    else
      fail(call, code, "%s", message);
  }
}

/* ---- links we dial ---------------------------------------------------------------- */

static void
on_out_frame(ActrPeerLink *link, ActrLane lane, GBytes *payload, gpointer user_data)
{
  node_gate_frame(user_data, link, lane, payload, NULL);
}

static void
on_out_closed(ActrPeerLink *link, gpointer user_data)
{
  ActrNode *node = user_data;
  Peer *p = g_hash_table_lookup(node->peers, link->peer_text);
  g_autoptr(GPtrArray) lost = g_ptr_array_new_with_free_func((GDestroyNotify)out_call_unref);
  GHashTableIter iter;
  OutCall *call;

  g_debug("node: link to %s closed", link->peer_text);
  node_gate_link_closed(node, link);
  if (link->carried_streams)
    node_emit(node, ACTR_NODE_EVENT_DATA_STREAM_UNCERTAIN, link->peer_text, 0);
  if (p != NULL && p->out_link == link) {
    actr_peer_link_set_handlers(link, NULL, NULL, NULL);
    g_clear_pointer(&p->out_link, actr_peer_link_unref);
  }
  if (p != NULL && p->rtc_link == link) {
    actr_peer_link_set_handlers(link, NULL, NULL, NULL);
    actr_peer_link_set_writable_handler(link, NULL);
    g_clear_pointer(&p->rtc_link, actr_peer_link_unref);
    /* Chunks that waited for it: streams are never resent (wire.md §5.6). */
    while (!g_queue_is_empty(&p->blocked)) {
      call = g_queue_pop_head(&p->blocked);
      if (!call->completed)
        fail(call, ACTR_ERROR_UNAVAILABLE, "connection to %s closed", link->peer_text);
      out_call_unref(call);
    }
  }
  /* Requests that went out on it may or may not have arrived: send them
   * again (same request_id: the receiver answers a duplicate from its
   * store).  The reference fails them with "Connection closed". */
  g_hash_table_iter_init(&iter, node->pending);
  while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&call)) {
    if (call->sent_on == link)
      g_ptr_array_add(lost, out_call_ref(call));
  }
  for (guint i = 0; i < lost->len; i++) {
    call = g_ptr_array_index(lost, i);
    g_autofree char *why = g_strdup_printf("connection to %s closed", link->peer_text);
    retry_or_fail(call, ACTR_ERROR_UNAVAILABLE, why);
  }
}

typedef struct {
  ActrNode *node;
  char *peer_text;
} Dial;

static void
on_dialled(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Dial *d = user_data;
  ActrNode *node = d->node;
  g_autoptr(GError) error = NULL;
  ActrWsLink *ws = actr_ws_link_dial_finish(result, &error);
  g_autofree char *peer_text = d->peer_text;

  g_free(d);
  if (ws == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the peer (or the node) is gone */
  Peer *p = g_hash_table_lookup(node->peers, peer_text);
  if (p == NULL) {
    actr_ws_link_unref(ws);
    return;
  }
  g_clear_object(&p->dial_cancel);
  if (ws == NULL) {
    g_autofree char *why =
        g_strdup_printf("cannot reach %s at %s: %s", peer_text, p->ws_url, error->message);
    g_debug("node: %s", why);
    /* The address may be stale (the peer restarted): look it up again. */
    g_clear_pointer(&p->ws_url, g_free);
    forget_routes_to(node, peer_text);
    fail_waiting(p->waiting, ACTR_ERROR_UNAVAILABLE, why, TRUE);
    return;
  }
  p->out_link = actr_peer_link_ws_new(ws, FALSE, peer_text);
  actr_ws_link_unref(ws);
  actr_peer_link_set_handlers(p->out_link, on_out_frame, on_out_closed, node);
  g_debug("node: connected to %s at %s", peer_text, p->ws_url);
  flush_waiting(p->waiting);
}

static void
dial(ActrNode *node, Peer *p)
{
  g_auto(ActrId) self = {0};
  ActrCredential *credential = NULL;
  Dial *d = g_new0(Dial, 1);

  node_get_identity(node, &self, NULL, &credential);
  d->node = node;
  d->peer_text = g_strdup(p->id_text);
  p->dial_cancel = g_cancellable_new();
  actr_ws_link_dial_async(p->ws_url, &self, credential, node->io_context, 0, p->dial_cancel,
                          on_dialled, d);
  actr_credential_free(credential);
}

/* ---- address lookups through signaling -------------------------------------------- */

gboolean
node_signaling_ready(ActrNode *node)
{
  return node->signaling != NULL &&
         actr_signaling_client_get_state(node->signaling) == ACTR_SIGNALING_CONNECTED;
}

/* Records the ws_address @rc gives for @id_text, if any (only the actor
 * we are about to call: the peer table holds no one else). */
static void
learn_address(ActrNode *node, ActrRouteCandidates *rc, const char *id_text)
{
  const char *url = g_hash_table_lookup(rc->ws_addresses, id_text);

  if (url == NULL)
    return;
  Peer *p = peer_get(node, id_text);
  if (g_strcmp0(p->ws_url, url) != 0) {
    g_free(p->ws_url);
    p->ws_url = g_strdup(url);
  }
}

/* One route-candidates request on behalf of a TypeRoute or a Peer, found
 * again by @key when the answer comes (it may be gone by then). */
typedef struct {
  ActrNode *node;
  char *key; /* type text or peer id text */
} Lookup;

static void
lookup_start(ActrNode *node, const char *key, const ActrType *type, guint count,
             GAsyncReadyCallback callback)
{
  Lookup *l = g_new0(Lookup, 1);

  l->node = node;
  l->key = g_strdup(key);
  actr_signaling_client_route_candidates_async(node->signaling, type, count, NULL, callback, l);
}

/* The answer (transfer full), or NULL with *@why ("<what> of KEY: reason"). */
static ActrRouteCandidates *
lookup_finish(Lookup *l, GAsyncResult *result, const char *what, char **why)
{
  g_autoptr(GError) error = NULL;
  ActrRouteCandidates *rc =
      l->node->signaling
          ? actr_signaling_client_route_candidates_finish(l->node->signaling, result, &error)
          : NULL;

  if (rc == NULL)
    *why = g_strdup_printf("%s %s: %s", what, l->key, error ? error->message : "node stopped");
  return rc;
}

static void
lookup_free(Lookup *l)
{
  g_free(l->key);
  g_free(l);
}

static void
on_type_resolved(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Lookup *l = user_data;
  ActrNode *node = l->node;
  g_autofree char *why = NULL;
  TypeRoute *r = node->type_routes ? g_hash_table_lookup(node->type_routes, l->key) : NULL;
  g_autoptr(ActrRouteCandidates) rc = lookup_finish(l, result, "route candidates for", &why);

  if (r != NULL) {
    r->resolving = FALSE;
    if (rc == NULL) {
      fail_waiting(r->waiting, ACTR_ERROR_UNAVAILABLE, why, TRUE);
    } else if (rc->candidates->len == 0) {
      g_autofree char *none = g_strdup_printf("No route candidates for type %s", l->key);
      fail_waiting(r->waiting, ACTR_ERROR_NOT_FOUND, none, FALSE);
    } else {
      g_free(r->id_text);
      r->id_text = actr_id_to_string(&g_array_index(rc->candidates, ActrId, 0));
      learn_address(node, rc, r->id_text);
      r->expires_us = g_get_monotonic_time() + ACTR_NODE_ROUTE_CACHE_US;
      flush_waiting(r->waiting);
    }
  }
  lookup_free(l);
}

/* Whether @rc lists the actor whose id text is @id_text. */
static gboolean
route_candidates_list(ActrRouteCandidates *rc, const char *id_text)
{
  g_auto(ActrId) id = {0};

  if (!actr_id_parse(id_text, &id, NULL))
    return FALSE;
  for (guint i = 0; i < rc->candidates->len; i++) {
    if (actr_id_equal(&g_array_index(rc->candidates, ActrId, i), &id))
      return TRUE;
  }
  return FALSE;
}

static void
on_address_resolved(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Lookup *l = user_data;
  ActrNode *node = l->node;
  g_autofree char *why = NULL;
  Peer *p = node->peers ? g_hash_table_lookup(node->peers, l->key) : NULL;
  g_autoptr(ActrRouteCandidates) rc = lookup_finish(l, result, "address of", &why);

  if (p != NULL) {
    p->resolving = FALSE;
    if (rc != NULL)
      learn_address(node, rc, p->id_text);
    if (rc == NULL) {
      fail_waiting(p->waiting, ACTR_ERROR_UNAVAILABLE, why, TRUE);
    } else if (p->ws_url != NULL) {
      flush_waiting(p->waiting);
    } else if (!route_candidates_list(rc, p->id_text)) {
      g_autofree char *none = g_strdup_printf("%s is not registered", l->key);
      fail_waiting(p->waiting, ACTR_ERROR_NOT_FOUND, none, FALSE);
    } else if (p->rtc_retry_us != 0) {
      /* WebRTC failed and there is no other way: try WebRTC again on retry. */
      g_autofree char *none =
          g_strdup_printf("cannot reach %s: WebRTC failed and it has no WebSocket address", l->key);
      p->rtc_retry_us = 0;
      fail_waiting(p->waiting, ACTR_ERROR_UNAVAILABLE, none, TRUE);
    } else {
      g_autofree char *none = g_strdup_printf(
          "%s is not registered or has no WebSocket direct-connect address", l->key);
      fail_waiting(p->waiting, ACTR_ERROR_NOT_FOUND, none, FALSE);
    }
  }
  lookup_free(l);
}

static void
resolve_type(ActrNode *node, TypeRoute *r)
{
  r->resolving = TRUE;
  lookup_start(node, r->type_text, &r->type, 1, on_type_resolved);
}

static void
resolve_address(ActrNode *node, Peer *p, const ActrType *type)
{
  p->resolving = TRUE;
  lookup_start(node, p->id_text, type, ID_LOOKUP_CANDIDATES, on_address_resolved);
}

/* ---- local calls (our own workload, through the inbox) ---------------------------- */

static void
on_local_enqueued(ActrStore *store, const ActrEnqueueResult *result, const GError *error,
                  gpointer user_data)
{
  OutCall *call = user_data;

  if (error != NULL) {
    fail(call, ACTR_ERROR_UNAVAILABLE, "inbox unavailable: %s", error->message);
  } else if (result->outcome == ACTR_ENQUEUE_DUPLICATE_DONE) {
    if (result->completion == ACTR_COMPLETION_REPLIED && result->response != NULL)
      node_outbound_complete_local(call->node, call->request_id, result->response);
    else if (!call->tell)
      fail(call, ACTR_ERROR_INTERNAL, "request %s was already handled without a reply",
           call->request_id);
  } else {
    node_mailbox_wake(call->node);
  }
  if (call->tell && !call->completed)
    complete(call, NULL, NULL);
  out_call_unref(call);
}

static void
send_local(OutCall *call)
{
  ActrNode *node = call->node;

  if (call->raw_frame) {
    fail(call, ACTR_ERROR_INVALID_ARGUMENT, "data streams to the node itself are not supported");
    return;
  }
  if (node->store == NULL) {
    fail(call, ACTR_ERROR_UNKNOWN_ROUTE, "%s (this node runs no workload)", call->route_key);
    return;
  }
  if (call->from_handler) {
    fail(call, ACTR_ERROR_INVALID_ARGUMENT,
         "a handler cannot call its own actor: the call would wait for itself");
    return;
  }
  call->local = TRUE;
  if (!call->tell) {
    if (g_hash_table_contains(node->pending, call->request_id)) {
      fail(call, ACTR_ERROR_INVALID_ARGUMENT, "request_id %s is already in flight",
           call->request_id);
      return;
    }
    g_hash_table_insert(node->pending, call->request_id, out_call_ref(call));
  }
  ActrInboundMessage msg = {
      .priority = call->lane == ACTR_LANE_RPC_SIGNAL ? ACTR_PRIORITY_HIGH : ACTR_PRIORITY_NORMAL,
      .request_id = call->request_id,
      .sender = NULL,
      .envelope = call->frame,
  };
  actr_store_enqueue_async(node->store, &msg, node->io_context, on_local_enqueued,
                           out_call_ref(call));
}

/* ---- routing ------------------------------------------------------------------- */

static void
send_on(OutCall *call, ActrPeerLink *link)
{
  ActrNode *node = call->node;
  gsize len;
  const guint8 *data = g_bytes_get_data(call->frame, &len);

  if (!call->tell) {
    OutCall *other = g_hash_table_lookup(node->pending, call->request_id);
    if (other != NULL && other != call) {
      fail(call, ACTR_ERROR_INVALID_ARGUMENT, "request_id %s is already in flight",
           call->request_id);
      return;
    }
    if (other == NULL) {
      if (g_hash_table_size(node->pending) >= ACTR_NODE_MAX_PENDING) {
        fail(call, ACTR_ERROR_UNAVAILABLE, "too many calls in flight (%u)", ACTR_NODE_MAX_PENDING);
        return;
      }
      g_hash_table_insert(node->pending, call->request_id, out_call_ref(call));
    }
  }
  if (call->raw_frame) {
    /* Flow control: chunks wait, in order, while the link is full. */
    Peer *p = g_hash_table_lookup(node->peers, link->peer_text);
    ActrStatus st = ACTR_AGAIN;
    if (p != NULL && (!g_queue_is_empty(&p->blocked) ||
                      (st = actr_peer_link_send(link, call->lane, data, len)) == ACTR_AGAIN)) {
      g_queue_push_tail(&p->blocked, out_call_ref(call));
      return;
    }
    call->sent_on = link;
    link->carried_streams = TRUE;
    if (st == ACTR_OK) {
      complete(call, NULL, NULL);
      return;
    }
    g_autofree char *why = g_strdup_printf("send to %s failed", link->peer_text);
    retry_or_fail(call, ACTR_ERROR_UNAVAILABLE, why);
    return;
  }
  call->sent_on = link;
  if (link->klass->is_webrtc)
    node->metrics.sent_webrtc++;
  else
    node->metrics.sent_websocket++;
  if (actr_peer_link_send(link, call->lane, data, len) != ACTR_OK) {
    g_autofree char *why = g_strdup_printf("send to %s failed", link->peer_text);
    retry_or_fail(call, ACTR_ERROR_UNAVAILABLE, why);
    return;
  }
  if (call->tell)
    complete(call, NULL, NULL);
}

static gboolean
is_self(ActrNode *node, const char *id_text)
{
  g_autofree char *self = NULL;
  node_get_identity(node, NULL, &self, NULL);
  return g_strcmp0(self, id_text) == 0;
}

/* The link to send to @p on: the WebRTC connection, else a WebSocket link
 * we dialled; NULL when neither is open. */
static ActrPeerLink *
peer_link(Peer *p)
{
  if (p->rtc_link != NULL && actr_peer_link_is_open(p->rtc_link))
    return p->rtc_link;
  if (p->out_link != NULL && actr_peer_link_is_open(p->out_link))
    return p->out_link;
  return NULL;
}

/* Gets the calls waiting on @p a WebSocket link: looks up the peer's
 * address if needed, then dials it. */
static void
connect_websocket(ActrNode *node, Peer *p)
{
  if (p->dial_cancel != NULL || p->resolving)
    return;
  if (p->ws_url == NULL) {
    g_auto(ActrId) id = {0};
    if (!node_signaling_ready(node)) {
      fail_waiting(p->waiting, ACTR_ERROR_UNAVAILABLE, "Signaling client is not connected.", TRUE);
      return;
    }
    if (!actr_id_parse(p->id_text, &id, NULL)) {
      fail_waiting(p->waiting, ACTR_ERROR_INVALID_ARGUMENT, "bad peer id", FALSE);
      return;
    }
    resolve_address(node, p, &id.type);
    return;
  }
  dial(node, p);
}

/* Moves @call one step further: resolve, connect or send.  Re-entered
 * whenever what it waited for arrived. */
static void
route_call(OutCall *call)
{
  ActrNode *node = call->node;

  if (call->completed)
    return;
  if (node_is_stopping(node)) {
    fail(call, ACTR_ERROR_UNAVAILABLE, "node is shutting down");
    return;
  }
  if (strcmp(call->target, "local") == 0 || is_self(node, call->target)) {
    send_local(call);
    return;
  }

  /* Which actor: an ActrId, or the instance route candidates name for a type. */
  if (call->peer_text == NULL || strchr(call->target, '@') == NULL) {
    if (strchr(call->target, '@') != NULL) {
      g_auto(ActrId) id = {0};
      g_autoptr(GError) error = NULL;
      if (!actr_id_parse(call->target, &id, &error)) {
        fail(call, ACTR_ERROR_INVALID_ARGUMENT, "target %s: %s", call->target, error->message);
        return;
      }
      g_free(call->peer_text);
      call->peer_text = actr_id_to_string(&id);
    } else {
      TypeRoute *r = g_hash_table_lookup(node->type_routes, call->target);
      if (r == NULL) {
        ActrType type = {0};
        g_autoptr(GError) error = NULL;
        if (!actr_type_parse(call->target, &type, &error)) {
          fail(call, ACTR_ERROR_INVALID_ARGUMENT, "target %s is neither an ActrId nor a type: %s",
               call->target, error->message);
          return;
        }
        /* A package that declares its dependencies may only call those
         * (runtime.md §13.1). */
        const ActrLockFile *lock = node->package ? actr_package_get_lock_file(node->package) : NULL;
        if (lock != NULL && call->from_handler && actr_lock_file_find(lock, &type, NULL) == NULL) {
          g_autoptr(GError) missing =
              actr_error_new_dependency(call->target, "not in the package's lock file");
          actr_type_clear(&type);
          complete(call, NULL, missing);
          return;
        }
        r = g_new0(TypeRoute, 1);
        r->type = type;
        r->type_text = g_strdup(call->target);
        r->waiting = g_ptr_array_new_with_free_func((GDestroyNotify)out_call_unref);
        g_hash_table_insert(node->type_routes, r->type_text, r);
      }
      if (r->id_text == NULL || g_get_monotonic_time() > r->expires_us) {
        g_ptr_array_add(r->waiting, out_call_ref(call));
        if (!r->resolving) {
          if (!node_signaling_ready(node)) {
            fail_waiting(r->waiting, ACTR_ERROR_UNAVAILABLE, "Signaling client is not connected.",
                         TRUE);
            return;
          }
          resolve_type(node, r);
        }
        return;
      }
      g_free(call->peer_text);
      call->peer_text = g_strdup(r->id_text);
    }
  }
  if (is_self(node, call->peer_text)) {
    send_local(call);
    return;
  }

  Peer *p = peer_get(node, call->peer_text);
  if (p->gone_until_us > g_get_monotonic_time()) {
    fail(call, ACTR_ERROR_NOT_FOUND, "%s is no longer registered", p->id_text);
    return;
  }
  ActrPeerLink *link = peer_link(p);
  if (link != NULL) {
    send_on(call, link);
    return;
  }
  g_ptr_array_add(p->waiting, out_call_ref(call));
  if (p->dial_cancel != NULL || p->resolving || p->rtc_pending)
    return;
  /* WebRTC first (wire.md §5.5), WebSocket direct-connect when WebRTC is
   * off, failed recently, or cannot be tried. */
  if (node->rtc_sessions != NULL && g_get_monotonic_time() >= p->rtc_retry_us &&
      node_webrtc_connect(node, p->id_text)) {
    p->rtc_pending = TRUE;
    return;
  }
  connect_websocket(node, p);
}

static gboolean
submit_on_io(gpointer data)
{
  OutCall *call = data;
  ActrNode *node = call->node;

  if (node_is_stopping(node) || node->pending == NULL) {
    fail(call, ACTR_ERROR_UNAVAILABLE, "node is shutting down");
    return G_SOURCE_REMOVE;
  }
  if (call->request_id[0] == '\0') {
    fail(call, ACTR_ERROR_INVALID_ARGUMENT, "empty request_id");
    return G_SOURCE_REMOVE;
  }
  g_hash_table_add(node->live_calls, call); /* no ref: removed when completed */
  GSource *timer = g_timeout_source_new((guint)MIN(call->timeout_ms, (gint64)G_MAXUINT));
  g_source_set_callback(timer, on_call_timeout, call, NULL);
  call->timeout_source = g_source_attach(timer, node->io_context);
  g_source_unref(timer);
  route_call(call);
  return G_SOURCE_REMOVE;
}

void
out_call_submit(OutCall *call)
{
  ActrNode *node = call->node;

  g_autoptr(GError) error = NULL;
  if (!node_check_running(node, &error)) {
    /* Not on the I/O thread: nobody else knows this call yet. */
    call->completed = TRUE;
    call->done(call, NULL, error, call->done_data);
    out_call_unref(call);
    return;
  }
  node_post(node, submit_on_io, call, NULL);
}

/* ---- responses ------------------------------------------------------------------- */

static void
complete_with_envelope(OutCall *call, const Actr__RpcEnvelope *env)
{
  g_autoptr(GError) error = actr_rpc_envelope_dup_error(env);

  if (error != NULL && env->has_payload && env->payload.len > 0) {
    fail(call, ACTR_ERROR_DECODE_FAILURE, "response carries both a payload and an error");
  } else if (error != NULL) {
    complete(call, NULL, error);
  } else {
    g_autoptr(GBytes) reply = g_bytes_new(env->payload.data, env->payload.len);
    complete(call, reply, NULL);
  }
}

gboolean
node_outbound_complete(ActrNode *node, ActrPeerLink *link, const Actr__RpcEnvelope *envelope)
{
  OutCall *call = g_hash_table_lookup(node->pending, envelope->request_id);

  if (call == NULL || call->local)
    return FALSE;
  /* Only the callee answers: a response on another link, from another
   * actor, is not one (request ids may be guessable). */
  if (link != call->sent_on && g_strcmp0(link->peer_text, call->peer_text) != 0) {
    g_debug("node: response %s from %s ignored: the request went to %s", envelope->request_id,
            link->peer_text, call->peer_text);
    return FALSE;
  }
  complete_with_envelope(call, envelope);
  return TRUE;
}

gboolean
node_outbound_complete_local(ActrNode *node, const char *request_id, GBytes *reply_envelope)
{
  OutCall *call = node->pending ? g_hash_table_lookup(node->pending, request_id) : NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data(reply_envelope, &len);

  if (call == NULL || !call->local)
    return FALSE;
  g_autoptr(Actr__RpcEnvelope) env = actr_rpc_envelope_decode(data, len, &error);
  if (env == NULL)
    fail(call, ACTR_ERROR_DECODE_FAILURE, "local reply: %s", error->message);
  else
    complete_with_envelope(call, env);
  return TRUE;
}

/* ---- shutdown, links ------------------------------------------------------------- */

void
node_outbound_fail_all(ActrNode *node, ActrErrorCode code, const char *message)
{
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func((GDestroyNotify)out_call_unref);
  GHashTableIter iter;
  gpointer call;

  if (node->live_calls == NULL)
    return;
  /* Every call the I/O thread knows: pending, queued for a link or a
   * lookup, or waiting out a retry back-off. */
  g_hash_table_iter_init(&iter, node->live_calls);
  while (g_hash_table_iter_next(&iter, &call, NULL))
    g_ptr_array_add(calls, out_call_ref(call));
  for (guint i = 0; i < calls->len; i++)
    fail(g_ptr_array_index(calls, i), code, "%s", message);
}

void
node_outbound_close_links(ActrNode *node)
{
  g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func((GDestroyNotify)actr_peer_link_unref);
  g_autoptr(GPtrArray) waiting = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
  GHashTableIter iter;
  Peer *p;

  if (node->peers == NULL)
    return;
  g_hash_table_iter_init(&iter, node->peers);
  while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&p)) {
    if (p->dial_cancel != NULL) {
      g_cancellable_cancel(p->dial_cancel);
      g_clear_object(&p->dial_cancel);
      g_ptr_array_add(waiting, take_waiting(p->waiting)); /* they dial again */
    }
    if (p->out_link != NULL)
      g_ptr_array_add(links, actr_peer_link_ref(p->out_link));
  }
  /* Report each close now, as a peer-initiated close would be: requests
   * that went out on it are sent again on a new link. */
  for (guint i = 0; i < links->len; i++) {
    ActrPeerLink *link = g_ptr_array_index(links, i);
    actr_peer_link_close(link);
    on_out_closed(link, node);
  }
  for (guint i = 0; i < waiting->len; i++) {
    GPtrArray *calls = g_ptr_array_index(waiting, i);
    for (guint j = 0; j < calls->len; j++)
      retry_or_fail(g_ptr_array_index(calls, j), ACTR_ERROR_UNAVAILABLE, "links were reset");
  }
}

void
node_outbound_add_inbound(ActrNode *node, ActrPeerLink *link)
{
  Peer *p = peer_get(node, link->peer_text);
  g_ptr_array_add(p->in_links, actr_peer_link_ref(link));
}

void
node_outbound_remove_inbound(ActrNode *node, ActrPeerLink *link)
{
  Peer *p = g_hash_table_lookup(node->peers, link->peer_text);
  if (p != NULL)
    g_ptr_array_remove_fast(p->in_links, link);
}

ActrPeerLink *
node_outbound_reply_link(ActrNode *node, const char *peer_text)
{
  Peer *p = g_hash_table_lookup(node->peers, peer_text);

  if (p == NULL)
    return NULL;
  for (guint i = p->in_links->len; i > 0; i--) {
    ActrPeerLink *link = g_ptr_array_index(p->in_links, i - 1);
    if (actr_peer_link_is_open(link))
      return link;
  }
  return peer_link(p);
}

/* ---- WebRTC links (node-webrtc.c) -------------------------------------------------- */

/* Sends the stream chunks that waited for @link to drain, in order. */
static void
on_link_writable(ActrPeerLink *link, gpointer user_data)
{
  ActrNode *node = user_data;
  Peer *p = g_hash_table_lookup(node->peers, link->peer_text);
  OutCall *call;

  if (p == NULL || p->rtc_link != link)
    return;
  while ((call = g_queue_peek_head(&p->blocked)) != NULL) {
    if (!call->completed) { /* (a timed-out chunk is just dropped) */
      gsize len;
      const guint8 *data = g_bytes_get_data(call->frame, &len);
      ActrStatus st = actr_peer_link_send(link, call->lane, data, len);
      if (st == ACTR_AGAIN)
        return;
      call->sent_on = link;
      link->carried_streams = TRUE;
      if (st == ACTR_OK)
        complete(call, NULL, NULL);
      else
        retry_or_fail(call, ACTR_ERROR_UNAVAILABLE, "send failed");
    }
    out_call_unref(g_queue_pop_head(&p->blocked));
  }
}

static void
on_rtc_frame(ActrPeerLink *link, ActrLane lane, GBytes *payload, gpointer user_data)
{
  ActrNode *node = user_data;
  Peer *p = g_hash_table_lookup(node->peers, link->peer_text);

  /* The peer's identity is actrd's: its relays carried the SDP, whose DTLS
   * fingerprint the connection verified. */
  if (p != NULL)
    node_gate_frame(node, link, lane, payload, &p->id);
}

void
node_outbound_rtc_attach(ActrNode *node, ActrPeerLink *link, const ActrId *peer)
{
  Peer *p = peer_get(node, link->peer_text);

  if (p->rtc_link != NULL) {
    ActrPeerLink *old = g_steal_pointer(&p->rtc_link);
    actr_peer_link_set_handlers(old, NULL, NULL, NULL);
    actr_peer_link_close(old);
    on_out_closed(old, node); /* what went out on it is sent again */
    actr_peer_link_unref(old);
  }
  actr_id_clear(&p->id);
  actr_id_copy(peer, &p->id);
  p->rtc_link = actr_peer_link_ref(link);
  actr_peer_link_set_handlers(link, on_rtc_frame, on_out_closed, node);
  actr_peer_link_set_writable_handler(link, on_link_writable);
}

void
node_outbound_rtc_connected(ActrNode *node, ActrPeerLink *link)
{
  Peer *p = g_hash_table_lookup(node->peers, link->peer_text);

  if (p == NULL || p->rtc_link != link)
    return;
  p->rtc_pending = FALSE;
  p->rtc_retry_us = 0;
  p->gone_until_us = 0;
  flush_waiting(p->waiting);
}

void
node_outbound_rtc_denied(ActrNode *node, const char *peer_text, const char *why)
{
  Peer *p = g_hash_table_lookup(node->peers, peer_text);

  if (p == NULL)
    return;
  p->rtc_pending = FALSE;
  fail_waiting(p->waiting, ACTR_ERROR_PERMISSION_DENIED, why, FALSE);
}

/* How long a peer seen gone stays gone: long enough for the calls that were
 * on its connection to fail instead of waiting for a new one (a restarted
 * actrd may briefly not list a live peer, so not longer). */
#define PEER_GONE_US (5 * G_USEC_PER_SEC)

void
node_outbound_peer_gone(ActrNode *node, const char *peer_text)
{
  Peer *p = peer_get(node, peer_text);

  p->gone_until_us = g_get_monotonic_time() + PEER_GONE_US;
  forget_routes_to(node, peer_text);
}

/* After a failed WebRTC set-up, WebSocket is used for this long. */
#define RTC_RETRY_AFTER_US (30 * G_USEC_PER_SEC)

void
node_outbound_rtc_failed(ActrNode *node, const char *peer_text, const char *why)
{
  Peer *p = g_hash_table_lookup(node->peers, peer_text);

  if (p == NULL)
    return;
  p->rtc_pending = FALSE;
  p->rtc_retry_us = g_get_monotonic_time() + RTC_RETRY_AFTER_US;
  if (p->waiting->len == 0)
    return;
  if (p->gone_until_us > g_get_monotonic_time()) {
    flush_waiting(p->waiting); /* they fail: the peer is gone */
    return;
  }
  g_message("node: WebRTC to %s failed (%s); trying WebSocket direct-connect", peer_text, why);
  node->metrics.ws_fallback_total++;
  connect_websocket(node, p);
}

/* ---- discovery for the API and handlers ------------------------------------------ */

typedef struct {
  ActrNode *node;
  ActrType type;
  NodeWaiter w;
} DiscoverWait;

static void
on_discovered(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DiscoverWait *d = user_data;
  ActrNode *node = d->node;
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrRouteCandidates) rc =
      actr_signaling_client_route_candidates_finish(node->signaling, result, &error);

  if (rc == NULL) {
    node_waiter_finish(
        &d->w, NULL, NULL,
        actr_error_new(ACTR_ERROR_UNAVAILABLE, "discovery failed: %s", error->message));
  } else if (rc->candidates->len == 0) {
    g_autofree char *type = actr_type_to_string(&d->type);
    node_waiter_finish(
        &d->w, NULL, NULL,
        actr_error_new(ACTR_ERROR_NOT_FOUND, "No route candidates for type %s", type));
  } else {
    g_autofree char *first = actr_id_to_string(&g_array_index(rc->candidates, ActrId, 0));
    if (node->peers != NULL)
      learn_address(node, rc, first);
    node_waiter_finish(&d->w, NULL, actr_id_to_string(&g_array_index(rc->candidates, ActrId, 0)),
                       NULL);
  }
}

static gboolean
discover_on_io(gpointer data)
{
  DiscoverWait *d = data;

  if (node_is_stopping(d->node) || !node_signaling_ready(d->node)) {
    node_waiter_finish(
        &d->w, NULL, NULL,
        actr_error_new(ACTR_ERROR_UNAVAILABLE, "Signaling client is not connected."));
    return G_SOURCE_REMOVE;
  }
  actr_signaling_client_route_candidates_async(d->node->signaling, &d->type, 1, NULL, on_discovered,
                                               d);
  return G_SOURCE_REMOVE;
}

char *
node_discover_blocking(ActrNode *node, const char *actr_type, GError **error)
{
  DiscoverWait d = {.node = node};
  GError *parse_error = NULL;

  if (!actr_type_parse(actr_type, &d.type, &parse_error)) {
    g_set_error(error, ACTR_ERROR, ACTR_ERROR_INVALID_ARGUMENT, "invalid argument: %s",
                parse_error->message);
    g_error_free(parse_error);
    return NULL;
  }
  if (!node_check_running(node, error)) {
    actr_type_clear(&d.type);
    return NULL;
  }
  node_waiter_init(&d.w);
  node_post(node, discover_on_io, &d, NULL);
  node_waiter_wait(&d.w);
  actr_type_clear(&d.type);
  if (d.w.error != NULL) {
    g_propagate_error(error, d.w.error);
    return NULL;
  }
  return d.w.text;
}
