/* actr — the node runtime's shared internals (include/actr/node.h).
 *
 * The node is split by thread:
 *   node.c          lifecycle, identity, public API, events (any thread →
 *                   I/O thread through posted closures);
 *   node-inbound.c  the gates (frames from links → ACL → inbox) and the
 *                   reply path (I/O thread), the workload thread and its
 *                   mailbox loop;
 *   node-outbound.c outbound calls: routing, links to peers, the pending
 *                   request map, retries and timeouts (I/O thread).
 *
 * Ownership and threads, member by member, are noted in the struct.  "I/O"
 * means: only touched on the I/O thread.  "lock" means: guarded by
 * node->lock.  Immutable members are set before the threads start.
 */
#ifndef ACTR_NODE_PRIVATE_H
#define ACTR_NODE_PRIVATE_H

#include <actr/node.h>
#include <actr/store.h>

#include "acl.h"
#include "ais-client.h"
#include "envelope.h"
#include "invocation.h"
#include "node-package.h"
#include "dtls.h"
#include "peer-link.h"
#include "signaling-client.h"
#include "traceparent.h"
#include "workload-loader.h"
#include "ws-link.h"

G_BEGIN_DECLS

/* Pending map bound: calls in flight at once per node. */
#define ACTR_NODE_MAX_PENDING 65536
/* Default call timeout (runtime.md §12.2). */
#define ACTR_NODE_DEFAULT_TIMEOUT_MS 30000
/* Timeout of replies we send (runtime.md §8.2). */
#define ACTR_NODE_REPLY_TIMEOUT_MS 30000
/* How long a type → ActrId resolution is reused. */
#define ACTR_NODE_ROUTE_CACHE_US (30 * G_USEC_PER_SEC)
/* Mailbox dequeue batch (runtime.md §12.2). */
#define ACTR_NODE_MAILBOX_BATCH 32
/* Heartbeat backlog capacity (runtime.md §11.2). */
#define ACTR_NODE_BACKLOG_CAPACITY 1000.0
/* Stream chunks queued for the workload before new ones are dropped. */
#define ACTR_NODE_MAX_STREAM_BACKLOG 1024
/* Data stream send bound (runtime.md §8.4). */
#define ACTR_NODE_STREAM_SEND_TIMEOUT_MS 15000
/* Built-in route answered by the gate itself (actr ping). */
#define ACTR_NODE_PING_ROUTE "actr.Node.Ping"

typedef enum {
  NODE_NEW,
  NODE_STARTING,
  NODE_RUNNING,
  NODE_STOPPING,
  NODE_STOPPED,
} NodeState;

/* Why a WebRTC session ended (for /metrics). */
typedef enum {
  NODE_RTC_END_ROLE_TIMEOUT,
  NODE_RTC_END_CONNECT_TIMEOUT,
  NODE_RTC_END_FAILED,
  NODE_RTC_END_CLOSED,
  NODE_RTC_END_PATH_LOST,
  NODE_RTC_END_PEER_GONE,
  NODE_RTC_END_SIGNALING_DOWN,
  NODE_RTC_END_BAD_DESCRIPTION,
  NODE_RTC_END_LOCAL_ERROR,
  NODE_RTC_END_DENIED,
  NODE_RTC_END_COUNT,
} NodeRtcEnd;

/* Transport counters for /metrics (I/O thread). */
typedef struct {
  guint64 rtc_connected_total;
  guint64 rtc_relayed_total;
  guint64 rtc_ended[NODE_RTC_END_COUNT];
  guint64 ice_restarts_total;
  guint64 ws_fallback_total; /* WebRTC could not be set up; WebSocket dialled instead */
  guint64 sent_webrtc;       /* messages handed to a WebRTC link */
  guint64 sent_websocket;    /* ... to a WebSocket link */
} NodeMetrics;

typedef struct _OutCall OutCall;
typedef struct _Peer Peer;
typedef struct _TypeRoute TypeRoute;

/* Completion of an outbound operation.  Runs on the I/O thread (or on the
 * thread that failed the call before it reached the I/O thread).  @reply
 * and @error are transfer none. */
typedef void (*OutCallDone)(OutCall *call, GBytes *reply, const GError *error, gpointer data);

struct _ActrNode {
  /* ---- immutable after actr_node_new() ---- */
  const ActrConfig *config;
  ActrNodeEventFunc on_event;
  gpointer event_data;
  gboolean websocket_server; /* listen for direct connections */
  ActrType type;
  char *type_text;
  ActrWorkload *workload; /* NULL: client-only node */
  ActrPackage *package;   /* the verified .actr it came from, or NULL */
  ActrAcl *acl;
  Actr__Acl *acl_pb; /* what registration sends */
  char *store_path;  /* NULL without a workload */
  ActrStoreOptions store_options;

  /* ---- threads ---- */
  GMainContext *io_context;
  GMainLoop *io_loop;
  GThread *io_thread;
  GThread *workload_thread;
  GAsyncQueue *work_queue;   /* WorkItem *, consumed by the workload thread */
  gint mailbox_wake_pending; /* atomic: a WORK_MAILBOX item is queued */
  gint stopping;             /* atomic: shutdown began */

  /* ---- lock ---- */
  GMutex lock;
  GCond cond;
  NodeState state;
  gboolean start_done;
  GError *start_error;
  gboolean io_done; /* the I/O thread finished its shutdown */
  ActrId self_id;
  char *self_text;
  ActrCredential *credential;

  /* ---- streams_lock ---- */
  GMutex streams_lock;
  GHashTable *streams; /* stream ids the workload registered (set) */

  /* ---- thread-safe by construction ---- */
  ActrStore *store;         /* NULL without a workload; ActrStore is thread-safe */
  gint queued_depth;        /* atomic: last depth reported by the store */
  gint stream_backlog;      /* atomic: stream chunks queued for the workload */
  gint backpressure_raised; /* atomic: rising-edge state of the watchdog */
  guint32 backpressure_threshold;

  /* ---- I/O ---- */
  ActrAisRegistration *registration;
  ActrSignalingClient *signaling;
  ActrWsServer *ws_server;
  guint16 ws_port;
  char *ws_address;
  GHashTable *signing_keys; /* GUINT_TO_POINTER(key_id) → guint8[32] */
  GHashTable *key_fetches;  /* key ids being fetched (set) */
  GHashTable *key_misses;   /* key id → monotonic µs of its last fetch (rate limit) */
  gboolean finishing;       /* shutdown_finish_on_io() ran */
  GHashTable *pending;      /* request_id → OutCall * (ref) awaiting a response */
  GHashTable *live_calls;   /* OutCall * set: every call the I/O thread owns (no refs) */
  GHashTable *peers;        /* ActrId text → Peer * */
  GHashTable *type_routes;  /* ActrType text → TypeRoute * */
  GHashTable
      *reply_routes;   /* request_id → GPtrArray of ActrPeerLink * (refs): where its reply goes */
  guint connect_timer; /* start(): signaling connect deadline */
  guint renew_timer;   /* proactive credential renewal */
  gboolean reregistering;
  gboolean signaling_was_connected;
  gint64 credential_expires_at; /* Unix seconds, 0 = unknown */
  char *signaling_error;        /* why signaling is down (for messages) */
  guint drain_timer;
  guint network_timer; /* debounce of network events */
  ActrNetworkEvent network_last;
  guint network_burst;      /* events in the current burst */
  GPtrArray *subscriptions; /* ActrType * subscribed to presence (renewed on reconnect) */
  NodeMetrics metrics;
  ActrDtlsCert *rtc_cert;   /* NULL when WebRTC is disabled */
  GHashTable *rtc_sessions; /* peer ActrId text → RtcSession * (node-webrtc.c) */
};

/* A one-shot result for a thread that blocks until another thread (the
 * I/O thread, usually) hands it over.  init → (other thread) finish →
 * wait, which returns once finished and releases the sync objects.  The
 * results are then read from the members. */
typedef struct {
  GMutex lock;
  GCond cond;
  gboolean done;
  GBytes *reply; /* owned */
  char *text;    /* owned */
  GError *error; /* owned */
} NodeWaiter;

void node_waiter_init(NodeWaiter *w);
/* Hands over the results (all transfer full, nullable) and wakes the waiter. */
void node_waiter_finish(NodeWaiter *w, GBytes *reply, char *text, GError *error);
void node_waiter_wait(NodeWaiter *w);
/* An OutCallDone whose @data is a NodeWaiter. */
void node_waiter_out_call_done(OutCall *call, GBytes *reply, const GError *error, gpointer data);
/* Submits @call (whose done is node_waiter_out_call_done with @w) and
 * waits for it. */
void node_waiter_run_call(NodeWaiter *w, OutCall *call);

/* ---- node.c ---------------------------------------------------------------- */

/* Runs @func(@data) on the I/O thread from a fresh dispatch (never inline).
 * @destroy (nullable) frees @data afterwards. */
void node_post(ActrNode *node, GSourceFunc func, gpointer data, GDestroyNotify destroy);

/* Destroys the source with id *@id on the node's I/O context (if any) and
 * zeroes *@id.  (g_source_remove() would look in the default context.) */
void node_source_clear(ActrNode *node, guint *id);

/* Reports an event to the application (I/O thread). */
void node_emit(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value);

/* Copies of the current identity, under the lock.  Either may be NULL. */
void node_get_identity(ActrNode *node, ActrId *id_out, char **text_out,
                       ActrCredential **credential_out);

gboolean node_is_stopping(ActrNode *node);

/* FALSE with 10001 "the node is not running" unless it runs (any thread). */
gboolean node_check_running(ActrNode *node, GError **error);

/* start() goes on once on_start finished; @on_start_error (transfer full,
 * nullable) aborts the start (I/O). */
void node_start_continue(ActrNode *node, GError *on_start_error);

/* The AIS key cache lookup for credential checks (I/O thread). */
gboolean node_key_lookup(guint32 key_id, guint8 public_key[32], gpointer user_data);

/* ---- node-inbound.c -------------------------------------------------------- */

/* Creates the workload thread and runs the workload's init() there. */
gboolean node_workload_thread_start(ActrNode *node, GError **error);
/* Runs on_start on the workload thread; node_start_continue() follows on
 * the I/O thread (directly when there is no workload). */
void node_workload_on_start_async(ActrNode *node);
/* Queues on_ready (does not wait). */
void node_workload_on_ready(ActrNode *node);
/* Queues on_stop and the thread's exit; @done runs on the I/O thread once
 * the thread finished. */
void node_workload_stop(ActrNode *node, GSourceFunc done, gpointer data);
/* Frees a queued work item (the work queue's free function). */
void node_work_item_free(gpointer item);
/* Wakes the mailbox loop (any thread; coalesced). */
void node_mailbox_wake(ActrNode *node);

/* A frame from a link (I/O).  @peer: the authenticated sender for inbound
 * links, NULL for frames on a link we dialled. */
void node_gate_frame(ActrNode *node, ActrPeerLink *link, ActrLane lane, GBytes *payload,
                     const ActrId *peer);
/* A link closed: forget reply routes through it (I/O). */
void node_gate_link_closed(ActrNode *node, ActrPeerLink *link);

/* Hands an observation event to the workload's on_event (any thread). */
void node_workload_event(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value);

/* The store's depth observer (any thread). */
void node_depth_observer(guint64 queued, gpointer user_data);

/* ---- node-outbound.c ------------------------------------------------------- */

void node_outbound_init(ActrNode *node);
void node_outbound_clear(ActrNode *node);

/* A new outbound operation.  @tell: one-way.  Strings copied, @payload
 * referenced (may be NULL).  The call is started with out_call_submit(). */
OutCall *out_call_new(ActrNode *node, gboolean tell, const char *target, const char *route_key,
                      GBytes *payload, const ActrCallOptions *options, OutCallDone done,
                      gpointer done_data, GDestroyNotify done_destroy);
/* A one-way frame that is not an RpcEnvelope (a DataStream chunk on
 * @lane): one attempt, no retry, completes once handed to the link. */
OutCall *out_call_new_frame(ActrNode *node, const char *target, const char *label, GBytes *frame,
                            ActrLane lane, gint64 timeout_ms, OutCallDone done, gpointer done_data,
                            GDestroyNotify done_destroy);
OutCall *out_call_ref(OutCall *call);
void out_call_unref(OutCall *call);
/* Marks @call as issued by a workload handler (self-calls are refused). */
void out_call_set_from_handler(OutCall *call, gboolean from_handler);
/* Hands @call to the I/O thread (any thread; consumes the caller's ref). */
void out_call_submit(OutCall *call);
/* The request id of @call (transfer none). */
const char *out_call_get_request_id(OutCall *call);

/* A response envelope arrived (I/O).  TRUE when it matched a pending call. */
gboolean node_outbound_complete(ActrNode *node, ActrPeerLink *link,
                                const Actr__RpcEnvelope *envelope);
/* The reply for a local (in-process) call is ready (I/O).  TRUE when
 * @request_id was a local call of ours. */
gboolean node_outbound_complete_local(ActrNode *node, const char *request_id,
                                      GBytes *reply_envelope);
/* Fails every pending and queued call with @code / @message (I/O). */
void node_outbound_fail_all(ActrNode *node, ActrErrorCode code, const char *message);
/* Closes every link to peers (I/O). */
void node_outbound_close_links(ActrNode *node);
/* Registers an inbound link for replies to its peer (I/O). */
void node_outbound_add_inbound(ActrNode *node, ActrPeerLink *link);
/* Forgets an inbound link that closed (I/O). */
void node_outbound_remove_inbound(ActrNode *node, ActrPeerLink *link);
/* The best link to send a reply to @peer_text on (transfer none), or NULL. */
ActrPeerLink *node_outbound_reply_link(ActrNode *node, const char *peer_text);

/* A WebRTC link to @peer was created: frames from it reach the gates as
 * from @peer, and its close is handled like any link's (I/O). */
void node_outbound_rtc_attach(ActrNode *node, ActrPeerLink *link, const ActrId *peer);
/* That link is connected: calls waiting for the peer go out on it (I/O). */
void node_outbound_rtc_connected(ActrNode *node, ActrPeerLink *link);
/* actrd's ACL forbids reaching @peer_text: its waiting calls fail with
 * 10004 (I/O). */
void node_outbound_rtc_denied(ActrNode *node, const char *peer_text, const char *why);
/* WebRTC to @peer_text could not be set up (@why for logs): fall back to
 * WebSocket direct-connect, or fail the waiting calls (I/O). */
void node_outbound_rtc_failed(ActrNode *node, const char *peer_text, const char *why);

/* ---- node-webrtc.c --------------------------------------------------------- */

/* Makes the node's DTLS certificate (nothing when WebRTC is disabled). */
gboolean node_webrtc_init(ActrNode *node, GError **error);
/* Frees every session and the certificate. */
void node_webrtc_clear(ActrNode *node);
/* Closes every WebRTC connection (I/O). */
void node_webrtc_close_all(ActrNode *node);
/* Starts a connection to @peer_text (RoleNegotiation) unless one is under
 * way; the outcome comes through node_outbound_rtc_connected() or _failed().
 * FALSE when WebRTC cannot be tried now (disabled, signaling down) (I/O). */
gboolean node_webrtc_connect(ActrNode *node, const char *peer_text);
/* An ActrRelay from signaling (I/O). */
void node_webrtc_relay(ActrNode *node, const Signaling__ActrRelay *relay);
/* actrd answered the envelope @reply_for with an error: TRUE when it was a
 * session's RoleNegotiation (that session ends; 403 fails its calls with
 * 10004) (I/O). */
gboolean node_webrtc_relay_refused(ActrNode *node, const char *reply_for, guint code,
                                   const char *message);
/* The network changed: restart ICE on every connection (I/O). */
void node_webrtc_network_changed(ActrNode *node);
/* Open WebRTC connections, and how many of them are relayed (I/O). */
guint node_webrtc_connected_count(ActrNode *node, guint *relayed);
const char *node_rtc_end_to_string(NodeRtcEnd end);

/* @peer_text is no longer registered (its connection went silent and
 * actrd no longer lists it): calls to it fail with NOT_FOUND for a while,
 * calls by type look the type up again (I/O). */
void node_outbound_peer_gone(ActrNode *node, const char *peer_text);

/* TRUE while the signaling socket is up (I/O). */
gboolean node_signaling_ready(ActrNode *node);

/* Discovery through signaling, for the API (any thread → blocking). */
char *node_discover_blocking(ActrNode *node, const char *actr_type, GError **error);

G_END_DECLS

#endif /* ACTR_NODE_PRIVATE_H */
