/* End-to-end: hostile input on a node's WebSocket direct-connect port
 * (wire.md §6) never crashes the node, and it keeps answering calls.
 *
 * The node is a real `actr run` echo process (its WebSocket port is fixed in
 * its config so that the test knows it).  The test talks to that port with
 *   - raw TCP: random bytes, a truncated HTTP request, an oversized header,
 *     a burst of connections closed at once;
 *   - upgrades without, with partial, and with forged X-Actr-* headers (a
 *     valid credential can only come from actrd, so the test registers its
 *     own identity through POST /ais/register);
 *   - after a valid handshake (libsoup): bad frame headers, undecodable
 *     envelopes, responses nobody asked for, unknown routes and streams,
 *     text messages, a frame above the size limit;
 *   - after a valid handshake (raw socket): invalid WebSocket framing.
 * After each group the node must be alive, and at the end `actr call` must
 * still work and the node must shut down cleanly.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib.h>
#include <libsoup/soup.h>
#include <actr/identity.h>
#include <actr/types.h>

#include "ais-client.h"
#include "envelope.h"
#include "node-harness.h"
#include "ws-frame.h"
#include "ws-link.h"

#define RUN_MS 30000

static E2eActrd *actrd;
static char *dir;
static E2eNode *node;
static guint16 ws_port;
static char *ws_url;
static char *client;
static ActrAisRegistration *prober; /* our own identity, registered at actrd */
static char *prober_hex;            /* X-Actr-Source-ID */
static char *prober_cred;           /* X-Actr-Credential */

/* ---- helpers -------------------------------------------------------------------------------- */

static void
assert_node_alive(const char *after)
{
  if (!e2e_node_is_alive(node))
    g_error("the node died after %s (its stderr is above)", after);
}

static void
assert_node_answers(const char *after)
{
  g_auto(E2eRun) run = {0};

  assert_node_alive(after);
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, e2e_node_id(node), "echo.Echo.Echo",
          "--data", "still here", NULL);
  if (run.exit_code != 0)
    g_error("the node stopped answering after %s", after);
  g_assert_cmpstr(e2e_run_out(&run), ==, "still here");
}

static gboolean
spin_until(gboolean *flag, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

  while (!*flag && g_get_monotonic_time() < deadline) {
    if (!g_main_context_iteration(NULL, FALSE))
      g_usleep(1000);
  }
  return *flag;
}

static char *
hex_of(GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  GString *out = g_string_new(NULL);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf(out, "%02x", data[i]);
  return g_string_free(out, FALSE);
}

static char *
id_hex(const ActrId *id)
{
  g_autoptr(GBytes) bytes = actr_id_encode(id);

  return hex_of(bytes);
}

static char *
cred_b64(const ActrCredential *cred)
{
  g_autoptr(GBytes) bytes = actr_credential_encode(cred);
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);

  return g_base64_encode(data, len);
}

/* A copy of @bytes with one bit flipped at @offset. */
static GBytes *
flip_bit(GBytes *bytes, gsize offset)
{
  gsize len;
  guint8 *data = g_bytes_unref_to_data(g_bytes_ref(bytes), &len);

  g_assert_cmpuint(offset, <, len);
  data[offset] ^= 0x01;
  return g_bytes_new_take(data, len);
}

typedef struct {
  gboolean done;
  ActrAisRegistration *reg;
  GError *error;
} RegWait;

static void
on_registered(GObject *source, GAsyncResult *result, gpointer user_data)
{
  RegWait *w = user_data;

  w->reg = actr_ais_register_finish(result, &w->error);
  w->done = TRUE;
}

static ActrAisRegistration *
register_identity(const char *type_text)
{
  g_auto(ActrType) type = {0};
  g_autoptr(GError) error = NULL;
  g_autofree char *endpoint = g_strconcat(e2e_actrd_url(actrd), "/ais", NULL);
  ActrAisRegisterParams params = {0};
  RegWait w = {0};

  g_assert_true(actr_type_parse(type_text, &type, &error));
  params.actr_type = &type;
  params.realm_id = 1;
  actr_ais_register_async(endpoint, &params, NULL, NULL, on_registered, &w);
  g_assert_true(spin_until(&w.done, 10000));
  g_assert_no_error(w.error);
  return w.reg;
}

/* ---- raw TCP -------------------------------------------------------------------------------- */

static int
tcp_connect(void)
{
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(ws_port)};
  struct timeval tv = {.tv_sec = 1};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint(fd, >=, 0);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
    g_error("cannot connect to the node's WebSocket port %u: %s", ws_port, g_strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

static void
send_all(int fd, const void *data, gsize len)
{
  const guint8 *p = data;

  while (len > 0) {
    gssize n = send(fd, p, len, MSG_NOSIGNAL);

    if (n <= 0)
      return; /* the node may close on us: fine */
    p += n;
    len -= n;
  }
}

/* Reads until EOF, a timeout or @max bytes; returns what came. */
static GString *
recv_some(int fd, gsize max)
{
  GString *got = g_string_new(NULL);
  char buf[4096];

  while (got->len < max) {
    gssize n = recv(fd, buf, sizeof buf, 0);

    if (n <= 0)
      break;
    g_string_append_len(got, buf, n);
    if (strstr(got->str, "\r\n\r\n") != NULL)
      break;
  }
  return got;
}

static void
test_raw_tcp(void)
{
  guint8 noise[4096];
  g_autofree char *big_header = NULL;
  int fds[64];
  int fd;

  /* Random bytes, then close. */
  for (guint i = 0; i < sizeof noise; i++)
    noise[i] = (guint8)g_random_int();
  fd = tcp_connect();
  send_all(fd, noise, sizeof noise);
  g_string_free(recv_some(fd, 65536), TRUE);
  close(fd);

  /* A request cut in the middle. */
  fd = tcp_connect();
  send_all(fd, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webs", 45);
  close(fd);

  /* A header far too large. */
  big_header = g_strnfill(256 * 1024, 'A');
  fd = tcp_connect();
  send_all(fd, "GET / HTTP/1.1\r\nX-Actr-Credential: ", 35);
  send_all(fd, big_header, strlen(big_header));
  send_all(fd, "\r\n\r\n", 4);
  g_string_free(recv_some(fd, 65536), TRUE);
  close(fd);

  /* A burst of connections closed without a word. */
  for (guint i = 0; i < G_N_ELEMENTS(fds); i++)
    fds[i] = tcp_connect();
  for (guint i = 0; i < G_N_ELEMENTS(fds); i++)
    close(fds[i]);

  assert_node_answers("raw TCP garbage");
}

/* ---- upgrades with bad headers -------------------------------------------------------------- */

typedef struct {
  gboolean done;
  SoupWebsocketConnection *ws;
  GError *error;
} WsWait;

static void
ws_connected(GObject *source, GAsyncResult *result, gpointer data)
{
  WsWait *w = data;

  w->ws = soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &w->error);
  w->done = TRUE;
}

/* Upgrades with the given headers (either may be NULL); returns the HTTP
 * status and, when 101, the connection in @ws_out. */
static guint
ws_connect(SoupSession *session, const char *source_id, const char *credential,
           SoupWebsocketConnection **ws_out)
{
  g_autoptr(SoupMessage) msg = soup_message_new("GET", ws_url);
  SoupMessageHeaders *headers = soup_message_get_request_headers(msg);
  WsWait w = {0};

  if (source_id != NULL)
    soup_message_headers_replace(headers, ACTR_WS_HEADER_SOURCE_ID, source_id);
  if (credential != NULL)
    soup_message_headers_replace(headers, ACTR_WS_HEADER_CREDENTIAL, credential);
  soup_session_websocket_connect_async(session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                       ws_connected, &w);
  if (!spin_until(&w.done, 10000))
    g_error("the node did not answer a WebSocket upgrade within 10 s");
  g_clear_error(&w.error);
  if (ws_out != NULL)
    *ws_out = w.ws;
  else if (w.ws != NULL)
    g_error("the node accepted an upgrade it should have refused");
  return soup_message_get_status(msg);
}

static void
test_forged_headers(void)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options("timeout", 10, NULL);
  g_autoptr(ActrCredential) bad_sig = actr_credential_copy(prober->credential);
  g_autoptr(ActrCredential) bad_claims = actr_credential_copy(prober->credential);
  g_autoptr(ActrCredential) bad_key = actr_credential_copy(prober->credential);
  g_autoptr(ActrAisRegistration) other = register_identity("acme:bystander:1.0.0");
  g_autofree char *other_hex = id_hex(&other->actr_id);
  g_autofree char *bad_sig_b64 = NULL, *bad_claims_b64 = NULL, *bad_key_b64 = NULL;
  SoupMessage *plain;
  SoupWebsocketConnection *ws = NULL;
  guint status;

  g_bytes_unref(bad_sig->signature);
  bad_sig->signature = flip_bit(prober->credential->signature, 7);
  g_bytes_unref(bad_claims->claims);
  bad_claims->claims = flip_bit(prober->credential->claims, 2);
  bad_key->key_id += 1000;
  bad_sig_b64 = cred_b64(bad_sig);
  bad_claims_b64 = cred_b64(bad_claims);
  bad_key_b64 = cred_b64(bad_key);

  /* A plain HTTP request is not an upgrade. */
  plain = soup_message_new("GET", ws_url);
  g_bytes_unref(soup_session_send_and_read(session, plain, NULL, NULL));
  g_assert_cmpuint(soup_message_get_status(plain), !=, 101);
  g_object_unref(plain);

  /* Sanity: the real identity upgrades. */
  g_assert_cmpuint(ws_connect(session, prober_hex, prober_cred, &ws), ==, 101);
  soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object(&ws);

  /* Everything else is refused before the upgrade. */
  const char *cases[][3] = {
      {"no headers", NULL, NULL},
      {"no credential", prober_hex, NULL},
      {"no source id", NULL, prober_cred},
      {"credential not base64", prober_hex, "not base64!"},
      {"credential not a protobuf", prober_hex, "QUJD"},
      {"empty values", "", ""},
      {"source id not hex", "xyz1", prober_cred},
      {"source id not an ActrId", "ff", prober_cred},
      {"another actor's id", other_hex, prober_cred},
      {"signature bit flipped", prober_hex, bad_sig_b64},
      {"claims bit flipped", prober_hex, bad_claims_b64},
      {"unknown key id", prober_hex, bad_key_b64},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    status = ws_connect(session, cases[i][1], cases[i][2], NULL);
    g_test_message("upgrade with %s -> HTTP %u", cases[i][0], status);
    if (status != 401)
      g_error("upgrade with %s: HTTP %u, expected 401", cases[i][0], status);
    assert_node_alive(cases[i][0]);
  }
  soup_session_abort(session);
  assert_node_answers("forged upgrade headers");
}

/* ---- garbage frames after a valid handshake ------------------------------------------------- */

typedef struct {
  GPtrArray *frames; /* GBytes received */
  gboolean closed;
  gboolean got_reply;
  const char *reply_request_id;
  GBytes *reply_payload;
} Peer;

static void
peer_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  Peer *p = data;
  ActrLane lane;
  const guint8 *payload;
  gsize payload_len;
  g_autoptr(Actr__RpcEnvelope) env = NULL;

  g_ptr_array_add(p->frames, g_bytes_ref(message));
  if (type != SOUP_WEBSOCKET_DATA_BINARY ||
      actr_ws_frame_decode(g_bytes_get_data(message, NULL), g_bytes_get_size(message), 0, &lane,
                           &payload, &payload_len) != ACTR_WS_FRAME_OK ||
      lane > ACTR_LANE_RPC_SIGNAL)
    return;
  env = actr_rpc_envelope_decode(payload, payload_len, NULL);
  if (env != NULL && p->reply_request_id != NULL &&
      strcmp(env->request_id, p->reply_request_id) == 0) {
    g_clear_pointer(&p->reply_payload, g_bytes_unref);
    if (env->has_payload)
      p->reply_payload = g_bytes_new(env->payload.data, env->payload.len);
    else
      p->reply_payload = g_bytes_new(NULL, 0);
    p->got_reply = TRUE;
  }
}

static void
peer_closed(SoupWebsocketConnection *ws, gpointer data)
{
  Peer *p = data;

  p->closed = TRUE;
}

static SoupWebsocketConnection *
peer_connect(SoupSession *session, Peer *p)
{
  SoupWebsocketConnection *ws = NULL;

  g_assert_cmpuint(ws_connect(session, prober_hex, prober_cred, &ws), ==, 101);
  soup_websocket_connection_set_max_incoming_payload_size(ws, 0);
  g_signal_connect(ws, "message", G_CALLBACK(peer_message), p);
  g_signal_connect(ws, "closed", G_CALLBACK(peer_closed), p);
  return ws;
}

static void
send_frame(SoupWebsocketConnection *ws, ActrLane lane, GBytes *payload)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(payload, &len);
  g_autoptr(GBytes) frame = actr_ws_frame_encode(lane, data, len);

  soup_websocket_connection_send_message(ws, SOUP_WEBSOCKET_DATA_BINARY, frame);
}

static GBytes *
envelope(const char *route, const char *request_id, Actr__RpcEnvelope__Direction direction,
         gint64 timeout_ms, const char *payload, guint n_metadata)
{
  Actr__RpcEnvelope env = ACTR__RPC_ENVELOPE__INIT;
  g_autofree Actr__MetadataEntry *entries = g_new0(Actr__MetadataEntry, n_metadata + 1);
  g_autofree Actr__MetadataEntry **entry_ptrs = g_new0(Actr__MetadataEntry *, n_metadata + 1);

  env.route_key = (char *)route;
  env.request_id = (char *)request_id;
  env.has_direction = direction != ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED;
  env.direction = direction;
  env.timeout_ms = timeout_ms;
  if (payload != NULL) {
    env.has_payload = TRUE;
    env.payload.data = (guint8 *)payload;
    env.payload.len = strlen(payload);
  }
  for (guint i = 0; i < n_metadata; i++) {
    Actr__MetadataEntry init = ACTR__METADATA_ENTRY__INIT;

    entries[i] = init;
    entries[i].key = (char *)"k";
    entries[i].value = (char *)"v";
    entry_ptrs[i] = &entries[i];
  }
  env.n_metadata = n_metadata;
  env.metadata = entry_ptrs;
  return actr_rpc_envelope_encode(&env);
}

/* Sends one good request and waits for its reply on @ws. */
static void
assert_link_answers(SoupWebsocketConnection *ws, Peer *p, const char *after)
{
  g_autofree char *rid = g_uuid_string_random();
  g_autoptr(GBytes) req =
      envelope("echo.Echo.Echo", rid, ACTR__RPC_ENVELOPE__DIRECTION__REQUEST, 10000, "ping", 0);

  p->reply_request_id = rid;
  p->got_reply = FALSE;
  send_frame(ws, ACTR_LANE_RPC_RELIABLE, req);
  if (!spin_until(&p->got_reply, 15000))
    g_error("no reply on the same link after %s (closed: %d)", after, p->closed);
  g_assert_nonnull(p->reply_payload);
  g_assert_cmpmem(g_bytes_get_data(p->reply_payload, NULL), g_bytes_get_size(p->reply_payload),
                  "ping", 4);
  p->reply_request_id = NULL;
}

static void
test_garbage_frames(void)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options("timeout", 10, NULL);
  Peer p = {.frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref)};
  SoupWebsocketConnection *ws = peer_connect(session, &p);
  g_autofree char *rid = g_uuid_string_random();
  g_autoptr(GBytes) unknown_route =
      envelope("echo.Echo.Nope", rid, ACTR__RPC_ENVELOPE__DIRECTION__REQUEST, 5000, "x", 0);
  g_autoptr(GBytes) empty_route =
      envelope("", "e2e-not-a-uuid", ACTR__RPC_ENVELOPE__DIRECTION__REQUEST, 5000, "x", 0);
  g_autoptr(GBytes) stray_response = envelope("echo.Echo.Echo", "nobody-asked",
                                              ACTR__RPC_ENVELOPE__DIRECTION__RESPONSE, 0, "?", 0);
  g_autoptr(GBytes) negative_timeout = envelope("echo.Echo.Echo", "negative-timeout",
                                                ACTR__RPC_ENVELOPE__DIRECTION__REQUEST, -1, "n", 0);
  g_autoptr(GBytes) weird_direction =
      envelope("echo.Echo.Echo", "weird-direction", (Actr__RpcEnvelope__Direction)77, 5000, "w", 0);
  g_autoptr(GBytes) many_metadata = envelope(
      "echo.Echo.Echo", "many-metadata", ACTR__RPC_ENVELOPE__DIRECTION__REQUEST, 5000, "m", 20000);
  g_autoptr(GBytes) tell_unknown =
      envelope("no.Such.Route", "tell-unknown", ACTR__RPC_ENVELOPE__DIRECTION__TELL, 0, "t", 0);
  static const guint8 too_short[] = {0, 0, 0};
  static const guint8 media[] = {4, 0, 0, 0, 1, 'x'};
  static const guint8 bad_type[] = {0xff, 0, 0, 0, 0};
  static const guint8 truncated[] = {0, 0, 0, 0, 9, 'a'};
  static const guint8 trailing[] = {1, 0, 0, 0, 1, 'a', 'b'};
  static const guint8 huge_len[] = {2, 0xff, 0xff, 0xff, 0xff};
  static const guint8 not_protobuf[] = {0, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff};
  static const guint8 empty_envelope[] = {0, 0, 0, 0, 0};
  static const guint8 stream_garbage[] = {2, 0, 0, 0, 3, 0x0a, 0x7f, 0x01};
  Actr__DataStream ds = ACTR__DATA_STREAM__INIT;
  g_autoptr(GBytes) unknown_stream = NULL;
  const struct {
    const guint8 *data;
    gsize len;
  } raw[] = {
      {too_short, sizeof too_short},
      {NULL, 0},
      {media, sizeof media},
      {bad_type, sizeof bad_type},
      {truncated, sizeof truncated},
      {trailing, sizeof trailing},
      {huge_len, sizeof huge_len},
      {not_protobuf, sizeof not_protobuf},
      {empty_envelope, sizeof empty_envelope},
      {stream_garbage, sizeof stream_garbage},
  };

  ds.stream_id = (char *)"no-such-stream";
  ds.sequence = 1;
  ds.payload.data = (guint8 *)"s";
  ds.payload.len = 1;
  unknown_stream = actr_data_stream_encode(&ds);

  /* The raw link works before any of it. */
  assert_link_answers(ws, &p, "the handshake");

  for (guint i = 0; i < G_N_ELEMENTS(raw); i++)
    soup_websocket_connection_send_binary(ws, raw[i].data, raw[i].len);
  soup_websocket_connection_send_text(ws, "text is not a frame");
  send_frame(ws, ACTR_LANE_RPC_RELIABLE, unknown_route);
  send_frame(ws, ACTR_LANE_RPC_SIGNAL, empty_route);
  send_frame(ws, ACTR_LANE_RPC_RELIABLE, stray_response);
  send_frame(ws, ACTR_LANE_RPC_RELIABLE, negative_timeout);
  send_frame(ws, ACTR_LANE_RPC_RELIABLE, weird_direction);
  send_frame(ws, ACTR_LANE_RPC_RELIABLE, many_metadata);
  send_frame(ws, ACTR_LANE_RPC_RELIABLE, tell_unknown);
  send_frame(ws, ACTR_LANE_STREAM_RELIABLE, unknown_stream);
  send_frame(ws, ACTR_LANE_STREAM_LATENCY_FIRST, unknown_route); /* an envelope on a stream lane */
  send_frame(ws, ACTR_LANE_RPC_RELIABLE, unknown_stream);        /* a stream on an RPC lane */

  /* The link and the node survive all of it. */
  assert_link_answers(ws, &p, "garbage frames");
  assert_node_alive("garbage frames");
  g_test_message("%u frames came back on the probing link", p.frames->len);

  /* A frame above the node's limit (16 MiB) closes this link only. */
  {
    gsize big = ACTR_WS_LINK_DEFAULT_MAX_FRAME + 1024;
    guint8 *data = g_malloc0(big);
    g_autoptr(GBytes) frame = NULL;

    actr_ws_frame_write_header(ACTR_LANE_RPC_RELIABLE, (guint32)(big - ACTR_WS_FRAME_HEADER_SIZE),
                               data);
    frame = g_bytes_new_take(data, big);
    soup_websocket_connection_send_message(ws, SOUP_WEBSOCKET_DATA_BINARY, frame);
    if (!spin_until(&p.closed, 20000))
      g_error("a frame above the limit did not close the link within 20 s");
  }
  g_clear_object(&ws);
  soup_session_abort(session);
  g_clear_pointer(&p.reply_payload, g_bytes_unref);
  g_ptr_array_unref(p.frames);
  assert_node_answers("garbage frames and an oversized frame");
}

/* ---- invalid WebSocket framing on a raw socket ---------------------------------------------- */

/* Does the upgrade by hand and returns the socket, or asserts. */
static int
raw_upgrade(void)
{
  int fd = tcp_connect();
  g_autofree char *request = g_strdup_printf("GET / HTTP/1.1\r\n"
                                             "Host: 127.0.0.1:%u\r\n"
                                             "Upgrade: websocket\r\n"
                                             "Connection: Upgrade\r\n"
                                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                             "Sec-WebSocket-Version: 13\r\n"
                                             "%s: %s\r\n"
                                             "%s: %s\r\n"
                                             "\r\n",
                                             ws_port, ACTR_WS_HEADER_SOURCE_ID, prober_hex,
                                             ACTR_WS_HEADER_CREDENTIAL, prober_cred);
  GString *response;

  send_all(fd, request, strlen(request));
  response = recv_some(fd, 65536);
  if (!g_str_has_prefix(response->str, "HTTP/1.1 101"))
    g_error("raw upgrade refused: '%s'", response->str);
  g_string_free(response, TRUE);
  return fd;
}

static void
test_bad_websocket_framing(void)
{
  static const guint8 mask[4] = {0x12, 0x34, 0x56, 0x78};
  /* Each is sent alone on a fresh upgraded connection. */
  static const guint8 unmasked[] = {0x82, 0x05, 0, 0, 0, 0, 0}; /* client must mask */
  static const guint8 reserved_bits[] = {0xf2, 0x80 | 1, 0x12, 0x34, 0x56, 0x78, 0}; /* RSV1-3 */
  static const guint8 reserved_opcode[] = {0x83, 0x80 | 1, 0x12, 0x34, 0x56, 0x78, 0};
  static const guint8 lone_continuation[] = {0x80, 0x80 | 1, 0x12, 0x34, 0x56, 0x78, 0};
  static const guint8 len_2_63[] = {0x82, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff,       0xff, 0x12, 0x34, 0x56, 0x78};
  static const guint8 truncated_header[] = {0x82};
  static const guint8 bad_close[] = {0x88, 0x80 | 1, 0x12, 0x34, 0x56, 0x78, 0}; /* 1-byte body */
  const struct {
    const char *name;
    const guint8 *data;
    gsize len;
  } cases[] = {
      {"an unmasked frame", unmasked, sizeof unmasked},
      {"reserved bits", reserved_bits, sizeof reserved_bits},
      {"a reserved opcode", reserved_opcode, sizeof reserved_opcode},
      {"a continuation without a start", lone_continuation, sizeof lone_continuation},
      {"a 2^63-byte length", len_2_63, sizeof len_2_63},
      {"a truncated frame header", truncated_header, sizeof truncated_header},
      {"a close frame with a 1-byte body", bad_close, sizeof bad_close},
  };

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    int fd = raw_upgrade();

    send_all(fd, cases[i].data, cases[i].len);
    g_string_free(recv_some(fd, 65536), TRUE);
    close(fd);
    assert_node_alive(cases[i].name);
  }

  /* An oversized ping (control frames carry at most 125 bytes). */
  {
    int fd = raw_upgrade();
    guint8 frame[4 + 4 + 200] = {0x89, 0x80 | 126, 0, 200};

    memcpy(frame + 4, mask, 4);
    send_all(fd, frame, sizeof frame);
    g_string_free(recv_some(fd, 65536), TRUE);
    close(fd);
    assert_node_alive("an oversized ping");
  }

  /* Half a frame, then the connection drops. */
  {
    int fd = raw_upgrade();
    guint8 frame[2 + 4 + 10] = {0x82, 0x80 | 100};

    memcpy(frame + 2, mask, 4);
    send_all(fd, frame, sizeof frame);
    close(fd);
    assert_node_alive("half a frame");
  }
  assert_node_answers("invalid WebSocket framing");
}

int
main(int argc, char **argv)
{
  E2eNodeOptions options = {.workload = "echo"};
  int rc;

  g_test_init(&argc, &argv, NULL);
  e2e_quiet_debug_logs();
  g_test_add_func("/e2e/malformed/raw-tcp", test_raw_tcp);
  g_test_add_func("/e2e/malformed/forged-headers", test_forged_headers);
  g_test_add_func("/e2e/malformed/garbage-frames", test_garbage_frames);
  g_test_add_func("/e2e/malformed/bad-websocket-framing", test_bad_websocket_framing);

  actrd = e2e_actrd_start(NULL);
  dir = e2e_tmpdir_new();
  ws_port = e2e_free_port();
  options.ws_port = ws_port;
  ws_url = g_strdup_printf("ws://127.0.0.1:%u/", ws_port);
  node = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &options);
  e2e_node_start(node);
  client = e2e_write_client_config(dir, "client", e2e_actrd_url(actrd));
  prober = register_identity("acme:prober:1.0.0");
  prober_hex = id_hex(&prober->actr_id);
  prober_cred = cred_b64(prober->credential);
  assert_node_answers("start");

  rc = g_test_run();

  g_clear_pointer(&node, e2e_node_free);
  g_clear_pointer(&actrd, e2e_actrd_free);
  actr_ais_registration_free(prober);
  e2e_remove_tree(dir);
  g_free(dir);
  g_free(ws_url);
  g_free(client);
  g_free(prober_hex);
  g_free(prober_cred);
  return rc;
}
