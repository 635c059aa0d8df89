/* actr — the node runtime: one actor (an optional native workload) joined to
 * an actrd realm, reachable by other nodes, able to call them.
 *
 *   g_autoptr(ActrConfig) config = actr_config_load_file("actr.toml", &error);
 *   ActrNodeOptions options = {.workload_path = "build/examples/libecho.so"};
 *   g_autoptr(ActrNode) node = actr_node_new(config, &options, &error);
 *   if (!actr_node_start(node, &error)) ...            // registered and ready
 *   g_autofree char *id = actr_node_dup_id(node);      // "1a2b@1/acme:echo:1.0.0"
 *   g_autoptr(GBytes) reply = actr_node_call(node, "acme:counter:1.0.0",
 *                                            "counter.Counter.Add", payload, NULL, &error);
 *   actr_node_wait(node);                              // until actr_node_shutdown()
 *
 * What start() does, in order (runtime.md §13.3): open the store (only when
 * a workload is loaded: a node without one keeps no inbox), register with
 * the AIS over HTTP, connect signaling with the new credential, call the
 * workload's on_start (its failure aborts start), listen for WebSocket
 * direct connections when [websocket] listen_port is set, start the
 * heartbeat, the mailbox loop and the backpressure watchdog, call on_ready.
 *
 * Delivery: an inbound request is checked (ACL, deny first), de-duplicated
 * by request_id and committed to the inbox before anything else happens;
 * the workload runs it; its reply, its durable state writes and the inbox
 * ack commit in one transaction, and only then is the reply sent.  A
 * caller that retries with the same request_id gets the stored reply.
 *
 * Threads: the node owns two threads.  The I/O thread runs one
 * GMainContext with every socket (AIS, signaling, WebSocket links); the
 * workload thread runs the mailbox loop and the workload's handlers, so a
 * slow handler never stalls the network.  Every function below may be
 * called from any thread (calls enter the I/O thread through a queue),
 * except that the blocking ones must not be called from a workload
 * handler (use the host API there) or from a hook.
 *
 * Errors: remote and routing failures are GErrors in the ACTR_ERROR
 * domain whose code is the wire code (10001 unavailable … 10011) and whose
 * message is the display string (<actr/error.h>); start-up failures may
 * also carry ACTR_CONFIG_ERROR, ACTR_STORE_ERROR or the workload loader's
 * domain.
 */
#ifndef ACTR_NODE_H
#define ACTR_NODE_H

#include <gio/gio.h>
#include <actr/config.h>
#include <actr/error.h>
#include <actr/macros.h>
#include <actr/types.h>

ACTR_BEGIN_DECLS

typedef struct _ActrNode ActrNode;

/* Lanes (PayloadType, wire.md §5.3). */
typedef enum {
  ACTR_NODE_LANE_RPC_RELIABLE = 0, /* default for calls and tells */
  ACTR_NODE_LANE_RPC_SIGNAL = 1,   /* high priority at the receiver, fewer retries */
} ActrNodeLane;

/* Observation events (runtime.md §6.4), reported to ActrNodeEventFunc. */
typedef enum {
  ACTR_NODE_EVENT_READY,                  /* start() finished; detail = own ActrId */
  ACTR_NODE_EVENT_SIGNALING_CONNECTED,    /* detail = signaling URL */
  ACTR_NODE_EVENT_SIGNALING_DISCONNECTED, /* detail = reason */
  ACTR_NODE_EVENT_WEBSOCKET_CONNECTED,    /* an authenticated inbound link; detail = peer id */
  ACTR_NODE_EVENT_WEBSOCKET_DISCONNECTED, /* its last link closed; detail = peer id */
  ACTR_NODE_EVENT_CREDENTIAL_RENEWED,     /* at start (before READY) and after each renewal;
                                             detail = own ActrId (may be new), value =
                                             expiry (Unix seconds) */
  ACTR_NODE_EVENT_CREDENTIAL_EXPIRING,    /* actrd rejected the credential; detail = message */
  ACTR_NODE_EVENT_MAILBOX_BACKPRESSURE,   /* rising edge; value = queued messages */
  ACTR_NODE_EVENT_SHUTDOWN,               /* shutdown began; detail = reason */
  ACTR_NODE_EVENT_PEER_UP,                /* an actor of a subscribed type came up;
                                             detail = its ActrId (actr_node_subscribe()) */
  ACTR_NODE_EVENT_DATA_STREAM_UNCERTAIN,  /* a link that carried data stream chunks closed:
                                             chunks in flight may be lost; detail = peer id */
  ACTR_NODE_EVENT_WEBRTC_CONNECTED,       /* a WebRTC connection to a peer is usable; detail =
                                             peer id, value = 1 when relayed through TURN */
  ACTR_NODE_EVENT_WEBRTC_DISCONNECTED,    /* that connection ended; detail = peer id */
} ActrNodeEvent;

/* Called on the node's I/O thread; must not block.  @detail (transfer
 * none) is valid during the call. */
typedef void (*ActrNodeEventFunc)(ActrNode *node, ActrNodeEvent event, const char *detail,
                                  guint64 value, gpointer user_data);

typedef struct {
  /* A native workload (include/actr/workload.h) to load; NULL for a
   * client-only node (inbound requests are answered with 10006). */
  const char *workload_path;
  /* "manufacturer:name:version": overrides [package] actr_type and the
   * workload's own type.  Without any of the three: "actr:cli:1". */
  const char *actr_type;
  /* TRUE: ignore [websocket] listen_port (short-lived client nodes such as
   * `actr call`, which may share a config file with a listening node). */
  gboolean no_websocket_server;
  /* Observation events (nullable) and their data. */
  ActrNodeEventFunc on_event;
  gpointer user_data;
} ActrNodeOptions;

/* Per-call options; a NULL pointer means all defaults. */
typedef struct {
  gint64 timeout_ms;       /* 0 = 30000; the whole call including retries */
  const char *request_id;  /* NULL = a fresh UUID v4; reuse one to retry a call safely */
  ActrNodeLane lane;       /* default RPC_RELIABLE */
  const char *traceparent; /* W3C trace context to propagate (NULL = start a new trace) */
} ActrCallOptions;

/* Builds a node from @config (borrowed: it must outlive the node) and
 * loads the workload.  Nothing is started.  Returns (transfer full) or NULL
 * with @error (bad type, workload load or ABI failure). */
ACTR_API ActrNode *actr_node_new(const ActrConfig *config, const ActrNodeOptions *options,
                                 GError **error);

/* Starts the node (see above) and returns once it is ready, or FALSE with
 * @error when a step failed (registration refused, signaling unreachable
 * for 30 s, on_start failed, store locked ...).  Call once. */
ACTR_API gboolean actr_node_start(ActrNode *node, GError **error);

/* The node's current ActrId text form (it changes when a re-registration
 * yields a new id), or NULL before start.  Transfer full. */
ACTR_API char *actr_node_dup_id(ActrNode *node);

/* The actor type text form (transfer none). */
ACTR_API const char *actr_node_get_type(ActrNode *node);

/* The bound WebSocket direct-connect port, 0 when not listening. */
ACTR_API guint16 actr_node_get_ws_port(ActrNode *node);

/* The store path, or NULL for a node without a workload (transfer none). */
ACTR_API const char *actr_node_get_store_path(ActrNode *node);

/* Calls @route_key on @target and blocks for the reply.
 * @target: an ActrType text form (the first live instance found through
 * route candidates), an ActrId text form, or "local" / the node's own id
 * (its own workload, in process).  @payload may be NULL (empty).  Returns
 * the reply payload (transfer full) or NULL with @error. */
ACTR_API GBytes *actr_node_call(ActrNode *node, const char *target, const char *route_key,
                                GBytes *payload, const ActrCallOptions *options, GError **error);

/* The same without blocking: @callback runs on the thread-default main
 * context of the calling thread; finish with actr_node_call_finish().
 * Cancelling @cancellable makes the result G_IO_ERROR_CANCELLED at once
 * for the caller; the request itself may still reach the callee (retry it
 * with the same request_id to learn its outcome). */
ACTR_API void actr_node_call_async(ActrNode *node, const char *target, const char *route_key,
                                   GBytes *payload, const ActrCallOptions *options,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
ACTR_API GBytes *actr_node_call_finish(ActrNode *node, GAsyncResult *result, GError **error);

/* One-way message: returns once it was handed to the transport (the
 * receiver never answers a tell).  Errors as for calls. */
ACTR_API gboolean actr_node_tell(ActrNode *node, const char *target, const char *route_key,
                                 GBytes *payload, const ActrCallOptions *options, GError **error);

/* The ActrId text form (transfer full) of a live instance of @actr_type,
 * or NULL with @error (10003 when none is registered). */
ACTR_API char *actr_node_discover(ActrNode *node, const char *actr_type, GError **error);

/* The actor types visible to this node (optionally only @manufacturer's):
 * a GPtrArray of "m:n:v" strings (transfer full). */
ACTR_API GPtrArray *actr_node_discover_types(ActrNode *node, const char *manufacturer,
                                             GError **error);

/* Subscribes to presence of @actr_type (ActrUpEvent, wire.md §4.6): from
 * now on, each instance of that type that registers is reported as
 * ACTR_NODE_EVENT_PEER_UP.  Blocks until actrd confirmed.  Subscriptions
 * are renewed after a signaling reconnect. */
ACTR_API gboolean actr_node_subscribe(ActrNode *node, const char *actr_type, GError **error);

/* What the platform says about the network (runtime.md §14). */
typedef enum {
  ACTR_NETWORK_AVAILABLE, /* connectivity is back */
  ACTR_NETWORK_LOST,      /* no connectivity */
  ACTR_NETWORK_CHANGED,   /* a different path (Wi-Fi ↔ cellular, new address) */
} ActrNetworkEvent;

/* Reports a network event (any thread, non-blocking).  Events are
 * debounced: the node acts once, 400 ms after the last event of a burst,
 * on the last state reported.  LOST closes the links to peers (calls in
 * flight are retried within their timeout); AVAILABLE and CHANGED also
 * reconnect signaling at once instead of waiting for its back-off.  Links
 * are dialled again by the next call. */
ACTR_API void actr_node_network_event(ActrNode *node, ActrNetworkEvent event);

/* Begins shutdown (non-blocking, idempotent, any thread, also from a
 * hook): stop taking requests, finish the handler in progress, call
 * on_stop, close links, unregister (bounded by 5 s), close the store.
 * Messages not yet handled stay in the inbox for the next start. */
ACTR_API void actr_node_shutdown(ActrNode *node);

/* Blocks until the node has shut down (returns at once if it never
 * started). */
ACTR_API void actr_node_wait(ActrNode *node);

/* TRUE once shutdown began. */
ACTR_API gboolean actr_node_is_shutting_down(ActrNode *node);

/* Shuts down (if running), waits and frees.  NULL-safe. */
ACTR_API void actr_node_free(ActrNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrNode, actr_node_free)

ACTR_END_DECLS

#endif /* ACTR_NODE_H */
