/* actr — WebSocket direct-connect links between two nodes (wire.md §6).
 *
 * Three objects:
 * - ActrWsServer listens on HOST:PORT with its own SoupServer (any request
 *   path, no TLS, no subprotocol, no permessage-deflate).  Before it accepts
 *   an upgrade it checks the X-Actr-Source-ID (hex of a protobuf ActrId) and
 *   X-Actr-Credential (base64 of a protobuf AIdCredential) headers and
 *   verifies the credential as wire.md §2.2 says (key by key_id through the
 *   caller's ActrKeyLookupFunc, Ed25519 over the raw claims, not expired,
 *   claims.actor_id == text form of the Source-ID).  Any failure answers
 *   HTTP 401 without upgrading (stricter than the reference, which upgrades
 *   and then ignores the socket).  An accepted connection becomes an
 *   ActrWsLink tied to the verified peer ActrId.
 * - actr_ws_link_dial_async() dials a peer's ws_address, sending the two
 *   headers, and yields an ActrWsLink.  The dialler does not authenticate
 *   the listening side (as in the reference).
 * - ActrWsLink, one per WebSocket, in either direction: send one framed
 *   binary message per call, receive framed messages, close, closed
 *   notification.  Replies to requests that arrived on a server link go
 *   back on that same link.
 *
 * Framing is ws-frame.h: each binary message is one [type][u32 len][bytes]
 * frame.  Received frames of types 0..3 are delivered; undecodable frames,
 * type 4 and wrong lengths are dropped and logged once per link (the link
 * stays usable); text messages are ignored; a message above the frame limit
 * closes the link.  The frame
 * decoder is fuzzed separately (tests/fuzz/fuzz-ws-frame.c), so this module
 * adds no parser of its own apart from the two header values.
 *
 * Key cache: the lookup function is synchronous and is called from the
 * upgrade check.  The node keeps its AIS key cache pre-filled (the key from
 * RegisterOk, plus keys fetched over signaling).  When a key is missing the
 * upgrade is refused with 401 and the server's key-miss callback (if any)
 * reports the key_id, so that the node can fetch the key over signaling
 * (GetSigningKey, wire.md §2.4); the peer's next dial then succeeds.
 *
 * Threads: everything here belongs to one GMainContext, which must be the
 * thread-default context (g_main_context_push_thread_default()) of the one
 * thread that runs it, because libsoup attaches its sockets to the
 * thread-default context.  Every function must be called from that thread;
 * every callback runs there.  Links are refcounted with an atomic count,
 * but the last unref must also happen on that thread.
 *
 * Re-entrancy: no callback is ever invoked from inside the API call that
 * caused it.  Message callbacks run from socket reads; closed callbacks and
 * dial completions always run from a later main-loop iteration, even when
 * actr_ws_link_send() or actr_ws_link_close() triggered them.
 *
 * Secrets: credentials are never logged.
 */
#ifndef ACTR_WS_LINK_H
#define ACTR_WS_LINK_H

#include <gio/gio.h>
#include <actr/error.h>
#include <actr/identity.h>
#include <actr/types.h>
#include "ws-frame.h"

/* Largest accepted frame payload unless configured otherwise (16 MiB). */
#define ACTR_WS_LINK_DEFAULT_MAX_FRAME (16u * 1024u * 1024u)
/* Dial timeout unless given (10 s). */
#define ACTR_WS_LINK_DEFAULT_DIAL_TIMEOUT_MS 10000u

#define ACTR_WS_HEADER_SOURCE_ID  "X-Actr-Source-ID"
#define ACTR_WS_HEADER_CREDENTIAL "X-Actr-Credential"

/* Errors of the WebSocket transport.  Codes are never renumbered. */
#define ACTR_WS_LINK_ERROR (actr_ws_link_error_quark())
GQuark actr_ws_link_error_quark(void);

typedef enum {
  ACTR_WS_LINK_ERROR_LISTEN,       /* cannot bind or listen */
  ACTR_WS_LINK_ERROR_INVALID_URL,  /* the dial URL does not parse as ws:// or wss:// */
  ACTR_WS_LINK_ERROR_UNREACHABLE,  /* connection refused, reset, DNS failure, ... */
  ACTR_WS_LINK_ERROR_UNAUTHORIZED, /* the peer answered 401 (credential refused) */
  ACTR_WS_LINK_ERROR_HANDSHAKE,    /* any other non-101 answer or bad handshake */
  ACTR_WS_LINK_ERROR_TIMED_OUT,    /* no completed handshake within the timeout */
} ActrWsLinkError;

typedef struct _ActrWsLink ActrWsLink;
typedef struct _ActrWsServer ActrWsServer;

/* A frame arrived on @link (a dialled link).  @payload (transfer none) is
 * the frame payload; take a ref to keep it. */
typedef void (*ActrWsLinkMessageFunc)(ActrWsLink *link, ActrLane lane, GBytes *payload,
                                      gpointer user_data);

/* @link closed (peer closed, I/O error, or actr_ws_link_close()).  Called at
 * most once per link, from the main loop.  The link stays valid for the
 * duration of the call; sends on it return ACTR_CLOSED. */
typedef void (*ActrWsLinkClosedFunc)(ActrWsLink *link, gpointer user_data);

/* A frame arrived on the server link @link from the verified @peer (transfer
 * none, valid for the call; the same as actr_ws_link_get_peer()).  Reply
 * with actr_ws_link_send(@link, ...); take a ref on @link to reply later. */
typedef void (*ActrWsServerMessageFunc)(ActrWsServer *server, ActrWsLink *link, ActrLane lane,
                                        GBytes *payload, const ActrId *peer, gpointer user_data);

/* An upgrade was refused because key @key_id is not in the key cache. */
typedef void (*ActrWsKeyMissFunc)(ActrWsServer *server, guint32 key_id, gpointer user_data);

/* The body of GET /metrics (Prometheus text format, transfer full). */
typedef char *(*ActrWsMetricsFunc)(ActrWsServer *server, gpointer user_data);

/* ---- Server --------------------------------------------------------------------------------- */

typedef struct {
  ActrKeyLookupFunc key_lookup; /* required */
  gpointer key_lookup_data;     /* passed to key_lookup; not owned */
  ActrWsServerMessageFunc on_message;
  ActrWsLinkClosedFunc on_closed; /* nullable: a server link closed */
  ActrWsKeyMissFunc on_key_miss;  /* nullable */
  ActrWsMetricsFunc metrics;      /* nullable: GET /metrics is answered, unauthenticated */
  gsize max_frame;                /* 0 = ACTR_WS_LINK_DEFAULT_MAX_FRAME */
} ActrWsServerConfig;

/* A server on @context (nullable = the global default context) that does
 * not listen yet.  @config is copied.  @user_data goes to every callback;
 * @destroy (nullable) frees it when the server is freed.  Returns (transfer
 * full). */
ActrWsServer *actr_ws_server_new(GMainContext *context, const ActrWsServerConfig *config,
                                 gpointer user_data, GDestroyNotify destroy);

/* Listens on @host (an IP literal, or "localhost") port @port (0 picks a free
 * port).  FALSE with @error (ACTR_WS_LINK_ERROR_LISTEN) on failure. */
gboolean actr_ws_server_listen(ActrWsServer *server, const char *host, guint16 port,
                               GError **error);

/* The bound port after a successful listen, else 0. */
guint16 actr_ws_server_get_port(ActrWsServer *server);

/* Number of open server links. */
guint actr_ws_server_get_n_links(ActrWsServer *server);

/* Stops listening, closes every server link (1001 "going away", without
 * calling on_closed) and frees the server.  Links the caller still holds
 * stay valid (closed) until unreffed.  NULL-safe. */
void actr_ws_server_free(ActrWsServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrWsServer, actr_ws_server_free)

/* ---- Dial ----------------------------------------------------------------------------------- */

/* Dials @url (ws://host:port/path, the candidate's ws_address verbatim) as
 * @self, presenting @credential (both copied).  @context (nullable = the
 * thread-default context) is the link's context; it must be the
 * thread-default context of the calling thread.  @timeout_ms 0 means
 * ACTR_WS_LINK_DEFAULT_DIAL_TIMEOUT_MS.  @callback is called exactly once,
 * from a later main-loop iteration; finish with actr_ws_link_dial_finish(). */
void actr_ws_link_dial_async(const char *url, const ActrId *self, const ActrCredential *credential,
                             GMainContext *context, guint timeout_ms, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);

/* The connected link (transfer full), or NULL with @error set
 * (ACTR_WS_LINK_ERROR_*, or G_IO_ERROR_CANCELLED when @cancellable fired). */
ActrWsLink *actr_ws_link_dial_finish(GAsyncResult *result, GError **error);

/* ---- Links ---------------------------------------------------------------------------------- */

/* Returns @link (transfer full: one more ref). */
ActrWsLink *actr_ws_link_ref(ActrWsLink *link);
/* Drops one ref; the last one closes the socket if still open (without
 * callbacks) and frees the link.  NULL-safe. */
void actr_ws_link_unref(ActrWsLink *link);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrWsLink, actr_ws_link_unref)

/* Sets the callbacks of a dialled link (server links use the server's).
 * Replaces earlier ones (their @destroy runs).  @user_data is freed with
 * @destroy (nullable) when replaced or when the link is freed. */
void actr_ws_link_set_handlers(ActrWsLink *link, ActrWsLinkMessageFunc on_message,
                               ActrWsLinkClosedFunc on_closed, gpointer user_data,
                               GDestroyNotify destroy);

/* Largest accepted incoming frame payload (0 = the default).  A WebSocket
 * message longer than that plus the 5-byte header closes the link: it is
 * refused before it is buffered (libsoup 3.2 drops the connection, so the
 * peer sees an abnormal close, not 1009). */
void actr_ws_link_set_max_frame(ActrWsLink *link, gsize max_frame);

/* Frames @len bytes of @payload (copied; may be NULL when @len is 0) on
 * @lane (0..3) and sends them as one binary message.  ACTR_OK when queued,
 * ACTR_CLOSED when the link is not open, ACTR_ERROR when @len exceeds
 * u32.  A write failure closes the link; the closed callback follows from
 * the main loop, never from inside this call. */
ActrStatus actr_ws_link_send(ActrWsLink *link, ActrLane lane, const guint8 *payload, gsize len);

/* Starts a normal close (1000).  The closed callback follows from the main
 * loop once the close completes.  Idempotent. */
void actr_ws_link_close(ActrWsLink *link);

/* TRUE while frames can be sent. */
gboolean actr_ws_link_is_open(ActrWsLink *link);

/* The verified peer of a server link (transfer none), or NULL for a
 * dialled link (the dialler does not authenticate the listener). */
const ActrId *actr_ws_link_get_peer(ActrWsLink *link);

/* TRUE for a link accepted by an ActrWsServer. */
gboolean actr_ws_link_is_inbound(ActrWsLink *link);

/* The close code the peer sent (0 when none or still open). */
gushort actr_ws_link_get_close_code(ActrWsLink *link);

#endif /* ACTR_WS_LINK_H */
