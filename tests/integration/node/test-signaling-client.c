/* Integration tests of the node's signaling client
 * (src/node/signaling-client.c) against the real actrd (tests/actrd/
 * actrd-harness, --dev): heartbeat, requests, push-free demux, loss with
 * fail-fast waiters, reconnect to a restarted server, credential rejection.
 */
#include <signal.h>
#include <string.h>

#include <glib.h>
#include <actr/identity.h>
#include <actr/types.h>

#include "../../actrd/actrd-harness.h"
#include "ais-client.h"
#include "signaling-client.h"

static const char *actrd_path;

/* ---- helpers ---------------------------------------------------------------- */

typedef struct {
  GMainContext *ctx;
  ActrdHarness *h;
  ActrAisRegistration *reg;
  ActrSignalingClient *client;
  guint n_connected;
  guint n_disconnected;
  guint n_connecting;
  guint n_rejected;
  guint n_load;
  guint n_push;
} Fixture;

static gboolean
flag_timeout(gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the fixture's context until *@flag becomes non-zero or
 * @timeout_ms passed; returns the flag's truth. */
static gboolean
spin_until(Fixture *f, const guint *flag, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  GSource *timer = g_timeout_source_new(timeout_ms);

  g_source_set_callback(timer, flag_timeout, &timed_out, NULL);
  g_source_attach(timer, f->ctx);
  while (*flag == 0 && !timed_out)
    g_main_context_iteration(f->ctx, TRUE);
  g_source_destroy(timer);
  g_source_unref(timer);
  return *flag != 0;
}

static void
spin_for(Fixture *f, guint ms)
{
  guint never = 0;

  spin_until(f, &never, ms);
}

typedef struct {
  guint done;
  GAsyncResult *result;
} Async;

static void
on_async(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Async *a = user_data;

  a->result = g_object_ref(result);
  a->done = 1;
}

static void
on_state(ActrSignalingClient *client, ActrSignalingState state, const GError *error,
         gpointer user_data)
{
  Fixture *f = user_data;

  if (state == ACTR_SIGNALING_CONNECTED)
    f->n_connected++;
  else if (state == ACTR_SIGNALING_DISCONNECTED)
    f->n_disconnected++;
  else
    f->n_connecting++;
}

static void
on_rejected(ActrSignalingClient *client, const char *message, gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_nonnull(message);
  f->n_rejected++;
}

static void
on_load(ActrSignalingClient *client, float *power, float *backlog, gpointer user_data)
{
  Fixture *f = user_data;

  *power = 4.5f;
  *backlog = 0.1f;
  f->n_load++;
}

static void
on_push(ActrSignalingClient *client, const Signaling__SignalingEnvelope *env, gpointer user_data)
{
  Fixture *f = user_data;

  f->n_push++;
}

static char *
signaling_url(Fixture *f)
{
  return g_strdup_printf("ws://127.0.0.1:%u/signaling/ws", actrd_harness_port(f->h));
}

/* Starts actrd --dev, registers acme:echo:1.0.0 in realm 1 and connects a
 * started client (asserts CONNECTED). */
static void
fixture_setup(Fixture *f)
{
  g_auto(ActrType) type = {0};
  g_autofree char *endpoint = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GError) error = NULL;
  ActrAisRegisterParams params = {0};
  Async a = {0};

  memset(f, 0, sizeof(*f));
  f->ctx = g_main_context_new();
  g_main_context_push_thread_default(f->ctx);
  f->h = actrd_harness_new(actrd_path);
  actrd_harness_start(f->h, "--dev", NULL);

  g_assert_true(actr_type_parse("acme:echo:1.0.0", &type, NULL));
  params.actr_type = &type;
  params.realm_id = 1;
  params.ws_address = "ws://127.0.0.1:9999";
  endpoint = g_strconcat(actrd_harness_url(f->h), "/ais", NULL);
  actr_ais_register_async(endpoint, &params, f->ctx, NULL, on_async, &a);
  g_assert_true(spin_until(f, &a.done, 10000));
  f->reg = actr_ais_register_finish(a.result, &error);
  g_clear_object(&a.result);
  g_assert_no_error(error);
  g_assert_nonnull(f->reg);

  url = signaling_url(f);
  f->client = actr_signaling_client_new(url, &f->reg->actr_id, f->reg->credential, f->ctx);
  actr_signaling_client_set_state_func(f->client, on_state, f, NULL);
  actr_signaling_client_set_credential_rejected_func(f->client, on_rejected, f, NULL);
  actr_signaling_client_set_load_func(f->client, on_load, f, NULL);
  actr_signaling_client_set_push_func(f->client, on_push, f, NULL);
  actr_signaling_client_set_heartbeat_interval(f->client, f->reg->heartbeat_interval_secs);
  actr_signaling_client_start(f->client);
  g_assert_true(spin_until(f, &f->n_connected, 10000));
  g_assert_cmpint(actr_signaling_client_get_state(f->client), ==, ACTR_SIGNALING_CONNECTED);
  g_assert_cmpuint(f->n_connecting, ==, 1);
}

static void
fixture_teardown(Fixture *f)
{
  actr_signaling_client_free(f->client);
  /* Let the close handshake and cancelled operations finish. */
  spin_for(f, 300);
  actr_ais_registration_free(f->reg);
  actrd_harness_free(f->h);
  g_main_context_pop_thread_default(f->ctx);
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  g_main_context_unref(f->ctx);
}

static GPtrArray *
discover(Fixture *f, GError **error)
{
  Async a = {0};
  GPtrArray *types;

  actr_signaling_client_discover_async(f->client, NULL, 0, NULL, on_async, &a);
  g_assert_false(a.done);
  g_assert_true(spin_until(f, &a.done, 10000));
  types = actr_signaling_client_discover_finish(f->client, a.result, error);
  g_object_unref(a.result);
  return types;
}

static gboolean
has_type(GPtrArray *types, const char *name)
{
  for (guint i = 0; i < types->len; i++)
    if (g_strcmp0(((ActrType *)types->pdata[i])->name, name) == 0)
      return TRUE;
  return FALSE;
}

/* ---- tests -------------------------------------------------------------------- */

static void
test_requests(void)
{
  Fixture f;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) types = NULL;
  g_autoptr(ActrRouteCandidates) rc = NULL;
  g_autoptr(Signaling__SignalingEnvelope) pong = NULL;
  g_autofree char *self = NULL;
  guint8 pubkey[32];
  Async a = {0};

  fixture_setup(&f);
  /* The first heartbeat goes out at once and asks for the load. */
  g_assert_true(spin_until(&f, &f.n_load, 2000));

  /* A Ping request gets a Pong. */
  {
    Signaling__ActrToSignaling req = SIGNALING__ACTR_TO_SIGNALING__INIT;
    Actr__Ping ping = ACTR__PING__INIT;

    ping.power_reserve = 5.0f;
    req.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_PING;
    req.ping = &ping;
    actr_signaling_client_request_async(f.client, &req, 5000, NULL, on_async, &a);
    g_assert_true(spin_until(&f, &a.done, 6000));
    pong = actr_signaling_client_request_finish(f.client, a.result, &error);
    g_clear_object(&a.result);
    g_assert_no_error(error);
    g_assert_nonnull(pong);
    g_assert_nonnull(pong->reply_for);
    g_assert_true(g_str_has_prefix(pong->reply_for, "env-"));
    g_assert_cmpint(pong->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR);
    g_assert_cmpint(pong->server_to_actr->payload_case, ==,
                    SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_PONG);
    g_assert_cmpuint(pong->server_to_actr->pong->seq, >, 0);
  }

  /* Discovery finds our own type (the dev realm is open). */
  types = discover(&f, &error);
  g_assert_no_error(error);
  g_assert_true(has_type(types, "echo"));

  /* Route candidates for our own type: ourselves, with our ws_address. */
  memset(&a, 0, sizeof(a));
  actr_signaling_client_route_candidates_async(f.client, &f.reg->actr_id.type, 3, NULL, on_async,
                                               &a);
  g_assert_true(spin_until(&f, &a.done, 6000));
  rc = actr_signaling_client_route_candidates_finish(f.client, a.result, &error);
  g_clear_object(&a.result);
  g_assert_no_error(error);
  g_assert_nonnull(rc);
  g_assert_cmpuint(rc->candidates->len, ==, 1);
  g_assert_true(actr_id_equal(&g_array_index(rc->candidates, ActrId, 0), &f.reg->actr_id));
  self = actr_id_to_string(&f.reg->actr_id);
  g_assert_cmpstr(g_hash_table_lookup(rc->ws_addresses, self), ==, "ws://127.0.0.1:9999");

  /* The signing key is the one AIS returned. */
  memset(&a, 0, sizeof(a));
  actr_signaling_client_get_signing_key_async(f.client, f.reg->signing_key_id, NULL, on_async, &a);
  g_assert_true(spin_until(&f, &a.done, 6000));
  g_assert_true(actr_signaling_client_get_signing_key_finish(f.client, a.result, pubkey, &error));
  g_clear_object(&a.result);
  g_assert_no_error(error);
  g_assert_cmpmem(pubkey, 32, f.reg->signing_pubkey, 32);

  /* Presence subscribe / unsubscribe. */
  for (int sub = 1; sub >= 0; sub--) {
    memset(&a, 0, sizeof(a));
    actr_signaling_client_presence_async(f.client, &f.reg->actr_id.type, sub, NULL, on_async, &a);
    g_assert_true(spin_until(&f, &a.done, 6000));
    g_assert_true(actr_signaling_client_presence_finish(f.client, a.result, &error));
    g_clear_object(&a.result);
    g_assert_no_error(error);
  }

  /* A request the server never answers times out. */
  {
    Signaling__ActrToSignaling req = SIGNALING__ACTR_TO_SIGNALING__INIT;
    g_autoptr(Signaling__SignalingEnvelope) none = NULL;

    memset(&a, 0, sizeof(a));
    actr_signaling_client_request_async(f.client, &req, 300, NULL, on_async, &a);
    g_assert_true(spin_until(&f, &a.done, 3000));
    none = actr_signaling_client_request_finish(f.client, a.result, &error);
    g_clear_object(&a.result);
    g_assert_null(none);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    g_clear_error(&error);
  }

  /* Cancelling a pending request fails it promptly. */
  {
    Signaling__ActrToSignaling req = SIGNALING__ACTR_TO_SIGNALING__INIT;
    g_autoptr(Signaling__SignalingEnvelope) none = NULL;
    g_autoptr(GCancellable) cancel = g_cancellable_new();

    memset(&a, 0, sizeof(a));
    actr_signaling_client_request_async(f.client, &req, 5000, cancel, on_async, &a);
    g_cancellable_cancel(cancel);
    g_assert_false(a.done);
    g_assert_true(spin_until(&f, &a.done, 1000));
    none = actr_signaling_client_request_finish(f.client, a.result, &error);
    g_clear_object(&a.result);
    g_assert_null(none);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error(&error);
  }

  /* Unregister is fire-and-forget; afterwards discovery no longer lists us. */
  g_assert_true(actr_signaling_client_unregister(f.client, "test"));
  spin_for(&f, 300);
  g_clear_pointer(&types, g_ptr_array_unref);
  types = discover(&f, &error);
  g_assert_no_error(error);
  g_assert_false(has_type(types, "echo"));
  g_assert_cmpuint(f.n_disconnected, ==, 0);
  fixture_teardown(&f);
}

static void
test_loss_and_reconnect(void)
{
  Fixture f;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) types = NULL;
  g_autoptr(Signaling__SignalingEnvelope) none = NULL;
  g_autofree char *listen = NULL;
  Signaling__ActrToSignaling req = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Async a = {0};
  gint64 start;
  guint16 port;

  fixture_setup(&f);
  port = actrd_harness_port(f.h);

  /* A pending request (never answered: no payload) fails as soon as the
   * server dies, long before its 5 s timeout. */
  actr_signaling_client_request_async(f.client, &req, 5000, NULL, on_async, &a);
  actrd_harness_signal(f.h, SIGKILL);
  start = g_get_monotonic_time();
  g_assert_true(spin_until(&f, &a.done, 3000));
  g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
  none = actr_signaling_client_request_finish(f.client, a.result, &error);
  g_clear_object(&a.result);
  g_assert_null(none);
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error(&error);
  g_assert_cmpuint(f.n_disconnected, >=, 1);
  g_assert_cmpint(actr_signaling_client_get_state(f.client), !=, ACTR_SIGNALING_CONNECTED);

  /* While down, requests fail at once. */
  types = discover(&f, &error);
  g_assert_null(types);
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_error(&error);

  /* Let one reconnect attempt fail, then bring the server back on the same
   * port and data directory: the client reconnects by itself. */
  spin_for(&f, 1500);
  listen = g_strdup_printf("127.0.0.1:%u", port);
  actrd_harness_start(f.h, "--dev", "--listen", listen, NULL);
  g_assert_cmpuint(actrd_harness_port(f.h), ==, port);
  f.n_connected = 0;
  g_assert_true(spin_until(&f, &f.n_connected, 15000));
  g_assert_cmpint(actr_signaling_client_get_state(f.client), ==, ACTR_SIGNALING_CONNECTED);
  types = discover(&f, &error);
  g_assert_no_error(error);
  g_assert_true(has_type(types, "echo"));
  fixture_teardown(&f);
}

static void
test_credential_rejected(void)
{
  Fixture f;
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrSigningKey) key = actr_signing_key_generate(&error);
  g_autoptr(ActrCredential) forged = NULL;
  guint64 now = (guint64)(g_get_real_time() / G_USEC_PER_SEC);

  g_assert_no_error(error);
  fixture_setup(&f);
  /* A credential signed by a key the server does not know: the next
   * heartbeat is answered with error 401. */
  forged = actr_credential_issue(key, 4242, &f.reg->actr_id, now + 3600, &error);
  g_assert_no_error(error);
  g_assert_nonnull(forged);
  actr_signaling_client_set_identity(f.client, actr_signaling_client_get_id(f.client), forged);
  actr_signaling_client_set_heartbeat_interval(f.client, 1);
  g_assert_true(spin_until(&f, &f.n_rejected, 5000));

  /* The owner re-registers and reconnects with the new identity. */
  actr_signaling_client_set_identity(f.client, &f.reg->actr_id, f.reg->credential);
  f.n_connected = 0;
  actr_signaling_client_reconnect(f.client);
  g_assert_true(spin_until(&f, &f.n_connected, 10000));
  fixture_teardown(&f);
}

/* ---- a silent in-process server: URL encoding and the 10 s silence rule ---- */

/* A raw WebSocket server (GSocketService, not SoupServer: libsoup 3.2 leaks
 * accepted sockets): it completes the RFC 6455 handshake, records the
 * request's query string and then never sends a single byte. */
typedef struct {
  char *query;
  GPtrArray *conns; /* GSocketConnection *, kept open */
} Silent;

typedef struct {
  Silent *silent;
  GSocketConnection *conn;
  GString *request;
  char buf[1024];
} Handshake;

static void read_request(Handshake *hs);

static void
handshake_done(Handshake *hs)
{
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  g_autofree char *key = NULL;
  g_autofree char *accept = NULL;
  g_autofree char *response = NULL;
  g_autoptr(GChecksum) sha1 = g_checksum_new(G_CHECKSUM_SHA1);
  const char *line_end = strstr(hs->request->str, "\r\n");
  const char *k = strstr(hs->request->str, "Sec-WebSocket-Key: ");
  const char *q = strchr(hs->request->str, '?');
  guint8 digest[20];
  gsize digest_len = sizeof(digest);

  g_assert_nonnull(k);
  g_assert_nonnull(q);
  g_assert_nonnull(line_end);
  k += strlen("Sec-WebSocket-Key: ");
  key = g_strndup(k, strcspn(k, "\r\n"));
  g_checksum_update(sha1, (const guchar *)key, -1);
  g_checksum_update(sha1, (const guchar *)guid, -1);
  g_checksum_get_digest(sha1, digest, &digest_len);
  accept = g_base64_encode(digest, digest_len);
  g_free(hs->silent->query);
  hs->silent->query = g_strndup(q + 1, strcspn(q + 1, " "));
  response = g_strdup_printf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                             accept);
  g_assert_true(g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(hs->conn)),
                                          response, strlen(response), NULL, NULL, NULL));
  g_ptr_array_add(hs->silent->conns, g_steal_pointer(&hs->conn));
  g_string_free(hs->request, TRUE);
  g_free(hs);
}

static void
on_request_data(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshake *hs = user_data;
  gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, NULL);

  if (n <= 0) {
    g_object_unref(hs->conn);
    g_string_free(hs->request, TRUE);
    g_free(hs);
    return;
  }
  g_string_append_len(hs->request, hs->buf, n);
  if (strstr(hs->request->str, "\r\n\r\n") != NULL)
    handshake_done(hs);
  else
    read_request(hs);
}

static void
read_request(Handshake *hs)
{
  g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(hs->conn)), hs->buf,
                            sizeof(hs->buf), G_PRIORITY_DEFAULT, NULL, on_request_data, hs);
}

static gboolean
on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer user_data)
{
  Handshake *hs = g_new0(Handshake, 1);

  hs->silent = user_data;
  hs->conn = g_object_ref(conn);
  hs->request = g_string_new(NULL);
  read_request(hs);
  return TRUE;
}

static void
test_url_and_silence(void)
{
  Fixture f = {0};
  Silent silent = {0};
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrSigningKey) key = actr_signing_key_generate(&error);
  g_autoptr(ActrCredential) cred = NULL;
  g_autoptr(GSocketService) service = g_socket_service_new();
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) bind_addr = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_auto(ActrId) id = {0};
  g_autofree char *url = NULL;
  g_autofree char *claims_b64 = NULL;
  g_auto(GStrv) params = NULL;
  gint64 connected_at;
  guint seen = 0;

  f.ctx = g_main_context_new();
  g_main_context_push_thread_default(f.ctx);
  silent.conns = g_ptr_array_new_with_free_func(g_object_unref);
  loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  bind_addr = g_inet_socket_address_new(loopback, 0);
  g_assert_true(g_socket_listener_add_address(G_SOCKET_LISTENER(service), bind_addr,
                                              G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                              &local, &error));
  g_assert_no_error(error);
  g_signal_connect(service, "incoming", G_CALLBACK(on_incoming), &silent);
  g_socket_service_start(service);
  url = g_strdup_printf("ws://127.0.0.1:%u/signaling/ws",
                        g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local)));

  g_assert_true(actr_id_parse("1f@1/acme:echo:1.0.0", &id, &error));
  cred = actr_credential_issue(key, 7, &id, 4000000000u, &error);
  g_assert_no_error(error);
  f.client = actr_signaling_client_new(url, &id, cred, f.ctx);
  actr_signaling_client_set_state_func(f.client, on_state, &f, NULL);
  actr_signaling_client_set_answer_role(f.client, TRUE);
  actr_signaling_client_start(f.client);
  g_assert_true(spin_until(&f, &f.n_connected, 5000));
  connected_at = g_get_monotonic_time();

  /* Every value is form-urlencoded: no raw '+', '/', '=', '@' or ':'. */
  g_assert_nonnull(silent.query);
  params = g_strsplit(silent.query, "&", -1);
  claims_b64 =
      g_base64_encode(g_bytes_get_data(cred->claims, NULL), g_bytes_get_size(cred->claims));
  for (guint i = 0; params[i] != NULL; i++) {
    const char *eq = strchr(params[i], '=');
    g_autofree char *value = NULL;

    g_assert_nonnull(eq);
    g_assert_null(strpbrk(eq + 1, "+/=@:"));
    value = g_uri_unescape_string(eq + 1, NULL);
    if (g_str_has_prefix(params[i], "actor_id="))
      g_assert_cmpstr(value, ==, "1f@1/acme:echo:1.0.0");
    else if (g_str_has_prefix(params[i], "key_id="))
      g_assert_cmpstr(value, ==, "7");
    else if (g_str_has_prefix(params[i], "claims="))
      g_assert_cmpstr(value, ==, claims_b64);
    else if (g_str_has_prefix(params[i], "webrtc_role="))
      g_assert_cmpstr(value, ==, "answer");
    else if (!g_str_has_prefix(params[i], "signature="))
      g_assert_not_reached();
    seen++;
  }
  g_assert_cmpuint(seen, ==, 5);

  /* The server never sends a frame: after 10 s of silence the client
   * declares the socket dead (and starts reconnecting). */
  g_assert_true(spin_until(&f, &f.n_disconnected, 15000));
  g_assert_cmpint(g_get_monotonic_time() - connected_at, >=, 9 * G_USEC_PER_SEC);

  actr_signaling_client_free(f.client);
  g_socket_service_stop(service);
  g_socket_listener_close(G_SOCKET_LISTENER(service));
  spin_for(&f, 300);
  g_ptr_array_unref(silent.conns);
  g_free(silent.query);
  g_main_context_pop_thread_default(f.ctx);
  while (g_main_context_iteration(f.ctx, FALSE))
    ;
  g_main_context_unref(f.ctx);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  actrd_path = actrd_harness_path_from_args(argc, argv);
  g_test_add_func("/node/signaling/requests", test_requests);
  g_test_add_func("/node/signaling/loss-and-reconnect", test_loss_and_reconnect);
  g_test_add_func("/node/signaling/credential-rejected", test_credential_rejected);
  g_test_add_func("/node/signaling/url-and-silence", test_url_and_silence);
  return g_test_run();
}
