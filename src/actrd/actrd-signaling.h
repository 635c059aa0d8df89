/* actrd — the signaling server: WebSocket endpoint /signaling/ws
 * (wire.md §4), one SignalingEnvelope per binary frame.
 *
 * actrd_signaling_new() adds two handlers to server->soup at
 * "/signaling/ws": an early handler that runs the pre-upgrade checks
 * (per-IP connection limit → 429, the four identity query parameters and
 * the credential → 401, realm → 401) and the WebSocket handler that binds
 * the upgraded connection to its ActrId.  It owns the live registry
 * (actrd-registry.h, memory backend) and the presence subscriptions.
 *
 * Thread/context: everything runs on server->context; no function here is
 * thread-safe.  Handlers never re-enter the caller.  Connections are freed
 * from an idle source (never inside their own signal handlers), or by
 * actrd_signaling_free().
 *
 * Ownership: the ActrdSignaling borrows @server (config, db, keys, metrics,
 * soup), which must outlive it.
 */
#ifndef ACTRD_SIGNALING_H
#define ACTRD_SIGNALING_H

#include <actr/types.h>
#include <glib.h>

#include "actrd-registry.h"
#include "actrd-server.h"

G_BEGIN_DECLS

typedef struct _ActrdSignaling ActrdSignaling;

/* Creates the signaling server and, when server->soup is not NULL, adds its
 * handlers.  server->soup may be NULL (fuzzing, unit tests): only detached
 * sessions can be used then.  Returns (transfer full) or NULL with @error. */
ActrdSignaling *actrd_signaling_new(ActrdServer *server, GError **error);

/* Removes the handlers, closes every connection (1001 "server shutting
 * down") and frees everything.  NULL-safe. */
void actrd_signaling_free(ActrdSignaling *signaling);

/* Number of live (bound, not yet closed) connections. */
guint actrd_signaling_connection_count(ActrdSignaling *signaling);

/* The live registry (transfer none), for tests and metrics. */
ActrdRegistry *actrd_signaling_get_registry(ActrdSignaling *signaling);

/* ---- Detached sessions (no network), for the fuzz target and tests ------ */

typedef struct _ActrdSignalingSession ActrdSignalingSession;

/* Called with each encoded envelope the server sends to the session. */
typedef void (*ActrdSignalingSendFunc)(const guint8 *data, gsize len, gpointer user_data);

/* A connection bound to @id (already authenticated: no credential check at
 * connect) that sends through @send_func instead of a socket.  It displaces
 * and registers like a real connection.  Returns (transfer full); free with
 * actrd_signaling_session_free() before the ActrdSignaling. */
ActrdSignalingSession *actrd_signaling_session_new(ActrdSignaling *signaling, const ActrId *id,
                                                   gboolean prefers_answer,
                                                   ActrdSignalingSendFunc send_func,
                                                   gpointer user_data);

/* Handles one binary frame of @len bytes as the socket path does.  Returns
 * FALSE when the session is closed (undecodable frame, displaced). */
gboolean actrd_signaling_session_feed(ActrdSignalingSession *session, const guint8 *data,
                                      gsize len);

/* Closes (as a socket close would) and frees the session.  NULL-safe. */
void actrd_signaling_session_free(ActrdSignalingSession *session);

G_END_DECLS

#endif /* ACTRD_SIGNALING_H */
