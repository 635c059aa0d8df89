/* Test helpers for the signaling server.  Contract: signaling-client.h. */
#include "signaling-client.h"

#include <libsoup/soup.h>
#include <string.h>

#include "actr-id.h"

/* ---- builders -------------------------------------------------------------- */

static void
cred_to_pb(const ActrCredential *cred, Actr__AIdCredential *pb)
{
  gsize len;

  actr__aid_credential__init(pb);
  if (cred == NULL)
    return;
  pb->key_id = cred->key_id;
  pb->claims.data = (guint8 *)g_bytes_get_data(cred->claims, &len);
  pb->claims.len = len;
  pb->signature.data = (guint8 *)g_bytes_get_data(cred->signature, &len);
  pb->signature.len = len;
}

static GBytes *
wrap(Signaling__SignalingEnvelope *env, const char *envelope_id)
{
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

  ts.seconds = g_get_real_time() / G_USEC_PER_SEC;
  env->envelope_version = 1;
  env->envelope_id = (char *)(envelope_id ? envelope_id : "env-0");
  env->timestamp = &ts;
  return actr_signaling_envelope_encode(env);
}

GBytes *
sig_wrap_actr_to_server(Signaling__ActrToSignaling *a, const ActrId *source,
                        const ActrCredential *cred, const char *envelope_id)
{
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  Actr__AIdCredential pbcred;
  ActrIdPb src;

  actr_id_to_pb(source, &src);
  cred_to_pb(cred, &pbcred);
  a->source = &src.id;
  a->credential = &pbcred;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER;
  env.actr_to_server = a;
  return wrap(&env, envelope_id);
}

GBytes *
sig_wrap_relay(Signaling__ActrRelay *r, const ActrId *source, const ActrCredential *cred,
               const ActrId *target, const char *envelope_id)
{
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  Actr__AIdCredential pbcred;
  ActrIdPb src, tgt;

  actr_id_to_pb(source, &src);
  actr_id_to_pb(target, &tgt);
  cred_to_pb(cred, &pbcred);
  r->source = &src.id;
  r->target = &tgt.id;
  r->credential = &pbcred;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY;
  env.actr_relay = r;
  return wrap(&env, envelope_id);
}

GBytes *
sig_ping(const ActrId *source, const ActrCredential *cred, const char *envelope_id,
         int availability, float power, float backlog)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__Ping ping = ACTR__PING__INIT;

  ping.availability = availability;
  ping.power_reserve = power;
  ping.mailbox_backlog = backlog;
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_PING;
  a.ping = &ping;
  return sig_wrap_actr_to_server(&a, source, cred, envelope_id);
}

GBytes *
sig_route_candidates(const ActrId *source, const ActrCredential *cred, const char *envelope_id,
                     const ActrType *target,
                     const Actr__RouteCandidatesRequest__NodeSelectionCriteria *criteria,
                     const char *fingerprint)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__RouteCandidatesRequest req = ACTR__ROUTE_CANDIDATES_REQUEST__INIT;
  Actr__ActrType type;

  actr_type_to_pb(target, &type);
  req.target_type = &type;
  req.criteria = (Actr__RouteCandidatesRequest__NodeSelectionCriteria *)criteria;
  req.client_fingerprint = (char *)(fingerprint ? fingerprint : "");
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_ROUTE_CANDIDATES_REQUEST;
  a.route_candidates_request = &req;
  return sig_wrap_actr_to_server(&a, source, cred, envelope_id);
}

GBytes *
sig_discovery(const ActrId *source, const ActrCredential *cred, const char *envelope_id,
              const char *manufacturer, guint limit)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__DiscoveryRequest req = ACTR__DISCOVERY_REQUEST__INIT;

  req.manufacturer = (char *)manufacturer;
  if (limit > 0) {
    req.has_limit = TRUE;
    req.limit = limit;
  }
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_DISCOVERY_REQUEST;
  a.discovery_request = &req;
  return sig_wrap_actr_to_server(&a, source, cred, envelope_id);
}

GBytes *
sig_subscribe(const ActrId *source, const ActrCredential *cred, const char *envelope_id,
              const ActrType *type, gboolean subscribe)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__SubscribeActrUpRequest sub = ACTR__SUBSCRIBE_ACTR_UP_REQUEST__INIT;
  Actr__UnsubscribeActrUpRequest unsub = ACTR__UNSUBSCRIBE_ACTR_UP_REQUEST__INIT;
  Actr__ActrType t;

  actr_type_to_pb(type, &t);
  if (subscribe) {
    sub.target_type = &t;
    a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_SUBSCRIBE_ACTR_UP_REQUEST;
    a.subscribe_actr_up_request = &sub;
  } else {
    unsub.target_type = &t;
    a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_UNSUBSCRIBE_ACTR_UP_REQUEST;
    a.unsubscribe_actr_up_request = &unsub;
  }
  return sig_wrap_actr_to_server(&a, source, cred, envelope_id);
}

GBytes *
sig_unregister(const ActrId *source, const ActrCredential *cred, const char *envelope_id)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__UnregisterRequest req = ACTR__UNREGISTER_REQUEST__INIT;
  ActrIdPb id;

  actr_id_to_pb(source, &id);
  req.actr_id = &id.id;
  req.reason = (char *)"test";
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_UNREGISTER_REQUEST;
  a.unregister_request = &req;
  return sig_wrap_actr_to_server(&a, source, cred, envelope_id);
}

GBytes *
sig_get_signing_key(const ActrId *source, const ActrCredential *cred, const char *envelope_id,
                    guint32 key_id)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Signaling__GetSigningKeyRequest req = SIGNALING__GET_SIGNING_KEY_REQUEST__INIT;

  req.key_id = key_id;
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_GET_SIGNING_KEY_REQUEST;
  a.get_signing_key_request = &req;
  return sig_wrap_actr_to_server(&a, source, cred, envelope_id);
}

GBytes *
sig_get_service_spec(const ActrId *source, const ActrCredential *cred, const char *envelope_id,
                     const char *name)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__GetServiceSpecRequest req = ACTR__GET_SERVICE_SPEC_REQUEST__INIT;

  req.name = (char *)name;
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_GET_SERVICE_SPEC_REQUEST;
  a.get_service_spec_request = &req;
  return sig_wrap_actr_to_server(&a, source, cred, envelope_id);
}

GBytes *
sig_role_negotiation(const ActrId *source, const ActrCredential *cred, const ActrId *target,
                     const char *envelope_id)
{
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  Actr__RoleNegotiation rn = ACTR__ROLE_NEGOTIATION__INIT;
  ActrIdPb from, to;

  actr_id_to_pb(source, &from);
  actr_id_to_pb(target, &to);
  rn.from = &from.id;
  rn.to = &to.id;
  rn.realm_id = source->realm_id;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_NEGOTIATION;
  r.role_negotiation = &rn;
  return sig_wrap_relay(&r, source, cred, target, envelope_id);
}

GBytes *
sig_ice_candidate(const ActrId *source, const ActrCredential *cred, const ActrId *target,
                  const char *envelope_id, const char *candidate)
{
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  Webrtc__IceCandidate ice = WEBRTC__ICE_CANDIDATE__INIT;

  ice.candidate = (char *)candidate;
  ice.sdp_mid = (char *)"0";
  ice.has_sdp_mline_index = TRUE;
  ice.sdp_mline_index = 0;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE;
  r.ice_candidate = &ice;
  return sig_wrap_relay(&r, source, cred, target, envelope_id);
}

GBytes *
sig_legacy_register(const char *envelope_id)
{
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  Signaling__PeerToSignaling p = SIGNALING__PEER_TO_SIGNALING__INIT;
  Actr__RegisterRequest req = ACTR__REGISTER_REQUEST__INIT;

  p.payload_case = SIGNALING__PEER_TO_SIGNALING__PAYLOAD_REGISTER_REQUEST;
  p.register_request = &req;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_PEER_TO_SERVER;
  env.peer_to_server = &p;
  return wrap(&env, envelope_id);
}

Signaling__SignalingEnvelope *
sig_decode(GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  g_autoptr(GError) error = NULL;
  Signaling__SignalingEnvelope *env = actr_signaling_envelope_decode(data, len, &error);

  g_assert_no_error(error);
  g_assert_nonnull(env);
  return env;
}

guint32
sig_error_code(const Signaling__SignalingEnvelope *env)
{
  if (env == NULL || env->flow_case != SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR ||
      env->server_to_actr->payload_case != SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ERROR)
    return 0;
  return env->server_to_actr->error->code;
}

GArray *
sig_candidate_serials(const Signaling__SignalingEnvelope *env)
{
  const Actr__RouteCandidatesResponse *resp;
  GArray *out;

  if (env == NULL || env->flow_case != SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR ||
      env->server_to_actr->payload_case !=
          SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ROUTE_CANDIDATES_RESPONSE)
    return NULL;
  resp = env->server_to_actr->route_candidates_response;
  if (resp->result_case != ACTR__ROUTE_CANDIDATES_RESPONSE__RESULT_SUCCESS)
    return NULL;
  out = g_array_new(FALSE, FALSE, sizeof(guint64));
  for (gsize i = 0; i < resp->success->n_candidates; i++)
    g_array_append_val(out, resp->success->candidates[i]->serial_number);
  g_assert_cmpuint(resp->success->n_ws_address_map, ==, resp->success->n_candidates);
  return out;
}

/* ---- WebSocket client ------------------------------------------------------- */

struct _SigClient {
  SoupSession *session;
  SoupWebsocketConnection *ws;
  GQueue inbox; /* GBytes* */
  gboolean closed;
  gushort close_code;
};

static void
on_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  SigClient *client = data;
  if (type == SOUP_WEBSOCKET_DATA_BINARY)
    g_queue_push_tail(&client->inbox, g_bytes_ref(message));
}

static void
on_closed(SoupWebsocketConnection *ws, gpointer data)
{
  SigClient *client = data;
  client->closed = TRUE;
  client->close_code = soup_websocket_connection_get_close_code(ws);
}

typedef struct {
  gboolean done;
  SoupWebsocketConnection *ws;
  GError *error;
} ConnectWait;

static void
connect_done(GObject *source, GAsyncResult *result, gpointer data)
{
  ConnectWait *w = data;
  w->ws = soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &w->error);
  w->done = TRUE;
}

static gboolean
timeout_flag(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the thread-default context until *@flag or @timeout_ms. */
static gboolean
spin_until(gboolean *flag, guint timeout_ms)
{
  GMainContext *ctx = g_main_context_get_thread_default();
  gboolean timed_out = FALSE;
  GSource *timer = g_timeout_source_new(timeout_ms);

  g_source_set_callback(timer, timeout_flag, &timed_out, NULL);
  g_source_attach(timer, ctx);
  while (!*flag && !timed_out)
    g_main_context_iteration(ctx, TRUE);
  g_source_destroy(timer);
  g_source_unref(timer);
  return *flag;
}

SigClient *
sig_client_connect(const char *base_url, const ActrId *id, const ActrCredential *cred,
                   gboolean answer, const char *extra_query, guint *status_out)
{
  SigClient *client = g_new0(SigClient, 1);
  g_autofree char *query = NULL;
  g_autofree char *url = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  ConnectWait w = {0};

  if (status_out != NULL)
    *status_out = 0;
  if (extra_query != NULL) {
    query = g_strdup(extra_query);
  } else {
    g_autofree char *actor = actr_id_to_string(id);
    g_autofree char *claims = NULL;
    g_autofree char *sig = NULL;
    g_autofree char *e_actor = NULL, *e_claims = NULL, *e_sig = NULL;
    gsize len;
    const guint8 *data = g_bytes_get_data(cred->claims, &len);

    claims = g_base64_encode(data, len);
    data = g_bytes_get_data(cred->signature, &len);
    sig = g_base64_encode(data, len);
    e_actor = g_uri_escape_string(actor, NULL, FALSE);
    e_claims = g_uri_escape_string(claims, NULL, FALSE);
    e_sig = g_uri_escape_string(sig, NULL, FALSE);
    query = g_strdup_printf("actor_id=%s&key_id=%u&claims=%s&signature=%s%s", e_actor, cred->key_id,
                            e_claims, e_sig, answer ? "&webrtc_role=answer" : "");
  }
  url = g_strdup_printf("%s/signaling/ws?%s", base_url, query);
  client->session = soup_session_new();
  g_queue_init(&client->inbox);
  msg = soup_message_new("GET", url);
  g_assert_nonnull(msg);
  soup_session_websocket_connect_async(client->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                       connect_done, &w);
  spin_until(&w.done, 5000);
  if (status_out != NULL)
    *status_out = soup_message_get_status(msg);
  if (!w.done || w.ws == NULL) {
    if (!w.done) {
      /* still in flight: abort and let the callback run */
      soup_session_abort(client->session);
      spin_until(&w.done, 1000);
    }
    g_clear_error(&w.error);
    g_clear_object(&w.ws);
    sig_client_free(client);
    return NULL;
  }
  client->ws = w.ws;
  g_signal_connect(client->ws, "message", G_CALLBACK(on_message), client);
  g_signal_connect(client->ws, "closed", G_CALLBACK(on_closed), client);
  return client;
}

void
sig_client_free(SigClient *client)
{
  if (client == NULL)
    return;
  if (client->ws != NULL) {
    g_signal_handlers_disconnect_by_data(client->ws, client);
    if (soup_websocket_connection_get_state(client->ws) == SOUP_WEBSOCKET_STATE_OPEN) {
      gboolean closed = FALSE;
      g_signal_connect_swapped(client->ws, "closed", G_CALLBACK(timeout_flag), &closed);
      soup_websocket_connection_close(client->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      spin_until(&closed, 2000);
      g_signal_handlers_disconnect_by_data(client->ws, &closed);
    }
    g_object_unref(client->ws);
  }
  g_queue_clear_full(&client->inbox, (GDestroyNotify)g_bytes_unref);
  g_clear_object(&client->session);
  g_free(client);
}

void
sig_client_send(SigClient *client, GBytes *frame)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(frame, &len);
  soup_websocket_connection_send_binary(client->ws, data, len);
}

void
sig_client_send_text(SigClient *client, const char *text)
{
  soup_websocket_connection_send_text(client->ws, text);
}

static gboolean
spin_until_message(SigClient *client, guint timeout_ms)
{
  GMainContext *ctx = g_main_context_get_thread_default();
  gboolean timed_out = FALSE;
  GSource *timer = g_timeout_source_new(timeout_ms);

  g_source_set_callback(timer, timeout_flag, &timed_out, NULL);
  g_source_attach(timer, ctx);
  while (g_queue_is_empty(&client->inbox) && !timed_out && !client->closed)
    g_main_context_iteration(ctx, TRUE);
  g_source_destroy(timer);
  g_source_unref(timer);
  return !g_queue_is_empty(&client->inbox);
}

Signaling__SignalingEnvelope *
sig_client_next(SigClient *client, guint timeout_ms)
{
  g_autoptr(GBytes) bytes = NULL;

  if (!spin_until_message(client, timeout_ms))
    return NULL;
  bytes = g_queue_pop_head(&client->inbox);
  return sig_decode(bytes);
}

Signaling__SignalingEnvelope *
sig_client_wait_reply(SigClient *client, const char *reply_for, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

  for (;;) {
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;
    Signaling__SignalingEnvelope *env;
    if (left <= 0)
      return NULL;
    env = sig_client_next(client, (guint)left);
    if (env == NULL)
      return NULL;
    if (g_strcmp0(env->reply_for, reply_for) == 0)
      return env;
    actr_signaling_envelope_free(env);
  }
}

Signaling__SignalingEnvelope *
sig_client_request(SigClient *client, GBytes *frame, const char *envelope_id)
{
  sig_client_send(client, frame);
  return sig_client_wait_reply(client, envelope_id, 5000);
}

gboolean
sig_client_wait_closed(SigClient *client, guint timeout_ms, gushort *code)
{
  spin_until(&client->closed, timeout_ms);
  if (code != NULL)
    *code = client->close_code;
  return client->closed;
}

guint
sig_client_pending(SigClient *client)
{
  return g_queue_get_length(&client->inbox);
}
