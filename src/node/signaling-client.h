/* actr — node-side signaling client (wire.md §4.1-§4.2, §4.5, §4.8, §4.11;
 * runtime.md §11): one WebSocket to actrd/actrix with the node's
 * credential in the URL, request/reply correlation, the heartbeat, the
 * keepalive and automatic reconnection.  Internal to libactr.
 *
 * Connection: GET <signaling_url>?actor_id=..&key_id=..&claims=..&
 * signature=..[&webrtc_role=answer], every value form-urlencoded (so '+',
 * '/', '=', '@' and ':' are always percent-encoded).  One Binary frame =
 * one SignalingEnvelope.
 *
 * Lifecycle: actr_signaling_client_new() → set callbacks →
 * actr_signaling_client_start() (first attempt at once, then the
 * reconnect manager: delays 1, 2, 4 … 60 s with ±30 % jitter, 10 attempts
 * per cycle, then a 120 s cooldown after which the next heartbeat tick
 * wakes it again) → … → actr_signaling_client_free() (closes the socket,
 * fails every waiter with G_IO_ERROR_CANCELLED, never calls the state
 * callback again).  Reconnects always use the identity set last with
 * actr_signaling_client_set_identity().
 *
 * Heartbeat: while started, a Ping every heartbeat interval (the first one
 * as soon as the socket is up), with power_reserve and mailbox_backlog from
 * the load callback (1.0 / 0.0 without one) and the availability derived as
 * runtime.md §11.2.  A reply SignalingToActr.error with code 401 fires the
 * credential-rejected callback (the owner re-registers over AIS and calls
 * actr_signaling_client_set_identity() + actr_signaling_client_reconnect()).
 *
 * Liveness: WebSocket Ping every 5 s (libsoup keepalive).  libsoup 3.2 does
 * not report received Pongs, so "inbound traffic" is observed on data
 * frames: when nothing arrived for 5 s, an application Ping (heartbeat) is
 * sent as a probe, and after 10 s without any inbound frame the client
 * declares the socket dead, closes it and reconnects.
 *
 * Requests: actr_signaling_client_request_async() sends ActrToSignaling
 * with source/credential filled in and a fresh envelope id "env-<n>" (a
 * per-client counter from 1, not reset on reconnect) and waits for the
 * envelope whose reply_for matches, for at most the given timeout (5 s for
 * the convenience requests).  All waiters fail at once (G_IO_ERROR_
 * CLOSED) when the socket goes down; a request made while disconnected
 * fails at once with G_IO_ERROR_NOT_CONNECTED; cancelling its GCancellable
 * fails it with G_IO_ERROR_CANCELLED from a fresh dispatch (a late reply
 * then goes to the push callback).  Sends are queued by libsoup and not
 * bounded separately (the reference's 5 s send timeout): a socket that
 * stops taking data is caught by the 10 s silence rule below.  Inbound envelopes that
 * match no waiter go to the push callback (relays, ActrUpEvent, role
 * assignments, envelope errors).
 *
 * Thread/context: everything runs on the GMainContext given to
 * actr_signaling_client_new(), which must be the thread-default context of
 * the one thread that iterates it (libsoup requires it).  All functions
 * must be called from that thread; the client is not thread-safe.
 *
 * Re-entrancy: callbacks (state, push, credential-rejected, load, and the
 * GAsyncReadyCallbacks of requests) run on that context and may call any
 * function of this API, including actr_signaling_client_free(): the client
 * is kept alive internally until the callback returns.  A request callback
 * may be invoked from inside another call of this API (e.g. while a
 * disconnect fails all waiters), never from inside the request call that
 * started it.
 */
#ifndef ACTR_NODE_SIGNALING_CLIENT_H
#define ACTR_NODE_SIGNALING_CLIENT_H

#include <actr/identity.h>
#include <actr/types.h>
#include <gio/gio.h>

#include "envelope.h"

G_BEGIN_DECLS

/* SignalingToActr.error / ErrorResponse replies: a GError in this domain
 * whose code IS the server's code (401, 403, 404, 410 …) and whose message
 * is the server's message. */
#define ACTR_SIGNALING_SERVER_ERROR (actr_signaling_server_error_quark())
GQuark actr_signaling_server_error_quark(void);

typedef enum {
  ACTR_SIGNALING_DISCONNECTED,
  ACTR_SIGNALING_CONNECTING,
  ACTR_SIGNALING_CONNECTED,
} ActrSignalingState;

typedef struct _ActrSignalingClient ActrSignalingClient;

/* State changes.  @error (transfer none, nullable) says why on
 * DISCONNECTED (a failed attempt or a lost socket). */
typedef void (*ActrSignalingStateFunc)(ActrSignalingClient *client, ActrSignalingState state,
                                       const GError *error, gpointer user_data);
/* An inbound envelope that matched no waiter (transfer none: valid during
 * the call only). */
typedef void (*ActrSignalingPushFunc)(ActrSignalingClient *client,
                                      const Signaling__SignalingEnvelope *envelope,
                                      gpointer user_data);
/* The server answered a heartbeat with error 401 (@message transfer none). */
typedef void (*ActrSignalingCredentialRejectedFunc)(ActrSignalingClient *client,
                                                    const char *message, gpointer user_data);
/* Fills the heartbeat's load figures: power reserve 1.0 (worst) … 5.0
 * (best) and mailbox backlog 0.0 … 1.0.  Preset to 1.0 and 0.0. */
typedef void (*ActrSignalingLoadFunc)(ActrSignalingClient *client, float *power_reserve,
                                      float *mailbox_backlog, gpointer user_data);

/* A stopped client for @url ("ws://host:port/signaling/ws") with identity
 * @id / @credential (both copied).  @context: see above (NULL = the global
 * default context).  Returns (transfer full). */
ActrSignalingClient *actr_signaling_client_new(const char *url, const ActrId *id,
                                               const ActrCredential *credential,
                                               GMainContext *context);

/* Closes everything (explicitly: no reconnect), fails the waiters and
 * frees the client now or, inside one of its callbacks, when that callback
 * returns.  No callback of the client runs afterwards except request
 * callbacks reporting G_IO_ERROR_CANCELLED.  NULL-safe. */
void actr_signaling_client_free(ActrSignalingClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrSignalingClient, actr_signaling_client_free)

/* Callbacks: each replaces the previous one (whose @notify runs). */
void actr_signaling_client_set_state_func(ActrSignalingClient *client, ActrSignalingStateFunc func,
                                          gpointer user_data, GDestroyNotify notify);
void actr_signaling_client_set_push_func(ActrSignalingClient *client, ActrSignalingPushFunc func,
                                         gpointer user_data, GDestroyNotify notify);
void actr_signaling_client_set_credential_rejected_func(ActrSignalingClient *client,
                                                        ActrSignalingCredentialRejectedFunc func,
                                                        gpointer user_data, GDestroyNotify notify);
void actr_signaling_client_set_load_func(ActrSignalingClient *client, ActrSignalingLoadFunc func,
                                         gpointer user_data, GDestroyNotify notify);

/* webrtc_role=answer in the URL (from the next connect on). */
void actr_signaling_client_set_answer_role(ActrSignalingClient *client, gboolean answer);
/* Heartbeat interval in seconds (RegisterOk value; 0 = 30).  Takes effect
 * at the next tick. */
void actr_signaling_client_set_heartbeat_interval(ActrSignalingClient *client, guint secs);
/* Replaces the identity used in requests and in the next connection URL
 * (both copied).  Does not reconnect by itself. */
void actr_signaling_client_set_identity(ActrSignalingClient *client, const ActrId *id,
                                        const ActrCredential *credential);
/* (transfer none) The current identity. */
const ActrId *actr_signaling_client_get_id(ActrSignalingClient *client);

/* Starts connecting (idempotent).  The outcome arrives through the state
 * callback; failures are retried by the reconnect manager. */
void actr_signaling_client_start(ActrSignalingClient *client);
/* Drops the current socket (if any) and connects again at once with the
 * current identity, resetting the backoff (used after re-registration). */
void actr_signaling_client_reconnect(ActrSignalingClient *client);

ActrSignalingState actr_signaling_client_get_state(ActrSignalingClient *client);

/* Sends @request (borrowed during the call: source, credential are set
 * here and reset before returning) and waits @timeout_ms for the reply. */
void actr_signaling_client_request_async(ActrSignalingClient *client,
                                         Signaling__ActrToSignaling *request, guint timeout_ms,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
/* The reply envelope (transfer full; free with
 * actr_signaling_envelope_free()), or NULL with @error: G_IO_ERROR_TIMED_OUT,
 * _CLOSED, _NOT_CONNECTED, _CANCELLED, or ACTR_SIGNALING_SERVER_ERROR when
 * the reply is SignalingToActr.error. */
Signaling__SignalingEnvelope *actr_signaling_client_request_finish(ActrSignalingClient *client,
                                                                   GAsyncResult *result,
                                                                   GError **error);

/* ---- convenience requests (5 s timeout) -------------------------------------- */

/* DiscoveryRequest (@manufacturer nullable, @limit 0 = server default).
 * Finish: GPtrArray of ActrType * (transfer full, element-free set). */
void actr_signaling_client_discover_async(ActrSignalingClient *client, const char *manufacturer,
                                          guint limit, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *actr_signaling_client_discover_finish(ActrSignalingClient *client, GAsyncResult *result,
                                                 GError **error);

/* Route candidates of a type. */
typedef struct {
  GArray *candidates;       /* ActrId, in server order (cleared on free) */
  GHashTable *ws_addresses; /* ActrId text form → "ws://…" (both owned) */
} ActrRouteCandidates;

void actr_route_candidates_free(ActrRouteCandidates *rc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrRouteCandidates, actr_route_candidates_free)

/* RouteCandidatesRequest for @target (copied during the call), asking for
 * @count candidates (0 = 1). */
void actr_signaling_client_route_candidates_async(ActrSignalingClient *client,
                                                  const ActrType *target, guint count,
                                                  GCancellable *cancellable,
                                                  GAsyncReadyCallback callback, gpointer user_data);
ActrRouteCandidates *actr_signaling_client_route_candidates_finish(ActrSignalingClient *client,
                                                                   GAsyncResult *result,
                                                                   GError **error);

/* GetSigningKeyRequest for @key_id; finish fills the 32-byte @pubkey. */
void actr_signaling_client_get_signing_key_async(ActrSignalingClient *client, guint32 key_id,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean actr_signaling_client_get_signing_key_finish(ActrSignalingClient *client,
                                                      GAsyncResult *result,
                                                      guint8 pubkey[ACTR_ED25519_PUBLIC_KEY_SIZE],
                                                      GError **error);

/* Subscribe (@subscribe TRUE) or unsubscribe to ActrUpEvent pushes for
 * @type; events arrive through the push callback. */
void actr_signaling_client_presence_async(ActrSignalingClient *client, const ActrType *type,
                                          gboolean subscribe, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
gboolean actr_signaling_client_presence_finish(ActrSignalingClient *client, GAsyncResult *result,
                                               GError **error);

/* UnregisterRequest, fire-and-forget: TRUE when it was handed to the socket. */
gboolean actr_signaling_client_unregister(ActrSignalingClient *client, const char *reason);

/* Sends ActrRelay @relay (its payload set by the caller; source, credential
 * and target are filled here and reset before returning) to @target
 * through the server, fire-and-forget: TRUE when it was handed to the
 * socket.  The server's refusals come back through the push callback, as
 * an error whose reply_for is the envelope id stored in *@envelope_id
 * (transfer full; nullable out). */
gboolean actr_signaling_client_send_relay(ActrSignalingClient *client, const ActrId *target,
                                          Signaling__ActrRelay *relay, char **envelope_id);

G_END_DECLS

#endif /* ACTR_NODE_SIGNALING_CLIENT_H */
