/* Test helpers for the signaling server: envelope builders and a libsoup 3
 * WebSocket test client that speaks wire.md §4.
 *
 * Thread/context: the client runs on the thread-default GMainContext of
 * the thread that connected it; every wait iterates that context (nested
 * loop) until the awaited event or the timeout.  Not thread-safe.
 */
#ifndef ACTRD_TEST_SIGNALING_CLIENT_H
#define ACTRD_TEST_SIGNALING_CLIENT_H

#include <actr/identity.h>
#include <actr/types.h>
#include <glib.h>

#include "envelope.h"

G_BEGIN_DECLS

/* ---- envelope builders (transfer full encodings) ------------------------- */

/* Wraps @a (payload set by the caller; source and credential filled here)
 * into a SignalingEnvelope with id @envelope_id. */
GBytes *sig_wrap_actr_to_server(Signaling__ActrToSignaling *a, const ActrId *source,
                                const ActrCredential *cred, const char *envelope_id);
/* Wraps @r (payload set by the caller) into a SignalingEnvelope. */
GBytes *sig_wrap_relay(Signaling__ActrRelay *r, const ActrId *source, const ActrCredential *cred,
                       const ActrId *target, const char *envelope_id);

/* Common requests. */
GBytes *sig_ping(const ActrId *source, const ActrCredential *cred, const char *envelope_id,
                 int availability, float power, float backlog);
GBytes *sig_route_candidates(const ActrId *source, const ActrCredential *cred,
                             const char *envelope_id, const ActrType *target,
                             const Actr__RouteCandidatesRequest__NodeSelectionCriteria *criteria,
                             const char *fingerprint);
GBytes *sig_discovery(const ActrId *source, const ActrCredential *cred, const char *envelope_id,
                      const char *manufacturer, guint limit);
GBytes *sig_subscribe(const ActrId *source, const ActrCredential *cred, const char *envelope_id,
                      const ActrType *type, gboolean subscribe);
GBytes *sig_unregister(const ActrId *source, const ActrCredential *cred, const char *envelope_id);
GBytes *sig_get_signing_key(const ActrId *source, const ActrCredential *cred,
                            const char *envelope_id, guint32 key_id);
GBytes *sig_get_service_spec(const ActrId *source, const ActrCredential *cred,
                             const char *envelope_id, const char *name);
GBytes *sig_role_negotiation(const ActrId *source, const ActrCredential *cred, const ActrId *target,
                             const char *envelope_id);
GBytes *sig_ice_candidate(const ActrId *source, const ActrCredential *cred, const ActrId *target,
                          const char *envelope_id, const char *candidate);
GBytes *sig_legacy_register(const char *envelope_id);

/* Decodes @bytes (asserts success). */
Signaling__SignalingEnvelope *sig_decode(GBytes *bytes);

/* The SignalingToActr.error code of @env, or 0. */
guint32 sig_error_code(const Signaling__SignalingEnvelope *env);

/* The candidates' serials of a route-candidates reply, in order
 * (GArray of guint64, transfer full), or NULL if it is not one. */
GArray *sig_candidate_serials(const Signaling__SignalingEnvelope *env);

/* ---- WebSocket client ------------------------------------------------------ */

typedef struct _SigClient SigClient;

/* Connects to @base_url ("ws://127.0.0.1:PORT") with the identity of @id /
 * @cred in the query string (webrtc_role=answer when @answer), waiting at
 * most 5 s.  On failure returns NULL and the HTTP status (0 if none) in
 * @status_out (nullable).  @extra_query (nullable) replaces the identity
 * query entirely when not NULL (for malformed-URL tests). */
SigClient *sig_client_connect(const char *base_url, const ActrId *id, const ActrCredential *cred,
                              gboolean answer, const char *extra_query, guint *status_out);
void sig_client_free(SigClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SigClient, sig_client_free)

void sig_client_send(SigClient *client, GBytes *frame);
void sig_client_send_text(SigClient *client, const char *text);

/* The next received envelope (transfer full), or NULL after @timeout_ms. */
Signaling__SignalingEnvelope *sig_client_next(SigClient *client, guint timeout_ms);
/* The first received envelope whose reply_for is @reply_for, dropping the
 * others, or NULL after @timeout_ms. */
Signaling__SignalingEnvelope *sig_client_wait_reply(SigClient *client, const char *reply_for,
                                                    guint timeout_ms);
/* Sends @frame and waits for its reply (reply_for = @envelope_id). */
Signaling__SignalingEnvelope *sig_client_request(SigClient *client, GBytes *frame,
                                                 const char *envelope_id);
/* TRUE once the socket is closed (within @timeout_ms); the close code goes
 * to @code (nullable). */
gboolean sig_client_wait_closed(SigClient *client, guint timeout_ms, gushort *code);
/* Number of envelopes received and not yet taken. */
guint sig_client_pending(SigClient *client);

G_END_DECLS

#endif /* ACTRD_TEST_SIGNALING_CLIENT_H */
