/* actr — WebSocket direct-connect links (see ws-link.h for the contract). */
#include "ws-link.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <string.h>
#include <libsoup/soup.h>

/* Longest accepted header values: an ActrId is a few hundred bytes at most,
 * a credential about 200.  Anything longer is refused before decoding. */
#define MAX_SOURCE_ID_HEX  4096
#define MAX_CREDENTIAL_B64 8192

#define VERIFIED_PEER_KEY "actr-ws-verified-peer"

struct _ActrWsLink {
  gatomicrefcount ref;
  GMainContext *context;
  SoupWebsocketConnection *ws;
  SoupSession *session; /* dialled links only */
  ActrWsServer *server; /* server links only; NULL once the server is freed */
  gboolean inbound;
  ActrId peer; /* server links: the verified peer */
  char *name;  /* for log lines: peer id text or the dialled URL */
  gsize max_frame;
  gboolean bad_frame_logged;
  gboolean text_logged;
  gboolean closed;          /* the socket is closed (or closing) */
  gboolean closed_notified; /* the closed callback ran or is queued */
  GSource *closed_idle;
  gulong h_message, h_closing, h_closed, h_error;
  ActrWsLinkMessageFunc on_message;
  ActrWsLinkClosedFunc on_closed;
  gpointer user_data;
  GDestroyNotify user_data_destroy;
};

/* Pending connections the kernel queues for the listener. */
#define WS_LISTEN_BACKLOG 1024

struct _ActrWsServer {
  GMainContext *context;
  SoupServer *soup;
  ActrWsServerConfig config;
  gpointer user_data;
  GDestroyNotify user_data_destroy;
  GHashTable *links; /* ActrWsLink* set; one ref each */
  guint16 port;
  GSocketService *service; /* our listener; connections go to soup */
};

/* Written out: clang-format would split a hyphenated G_DEFINE_QUARK name. */
GQuark
actr_ws_link_error_quark(void)
{
  return g_quark_from_static_string("actr-ws-link-error-quark");
}

/* ---- Links ---------------------------------------------------------------------------------- */

static void link_schedule_closed(ActrWsLink *link);

static void
link_deliver(ActrWsLink *link, GBytes *message)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  const guint8 *payload;
  gsize payload_len;
  ActrLane lane;
  ActrWsFrameResult result;

  result = actr_ws_frame_decode(data, len, link->max_frame, &lane, &payload, &payload_len);
  if (result != ACTR_WS_FRAME_OK) {
    if (!link->bad_frame_logged)
      g_message("[%s] bad frame dropped (%s, %" G_GSIZE_FORMAT " bytes; logged once per link)",
                link->name, actr_ws_frame_result_to_string(result), len);
    link->bad_frame_logged = TRUE;
    return;
  }
  g_autoptr(GBytes) body = g_bytes_new_from_bytes(message, (gsize)(payload - data), payload_len);
  /* The callback may drop the last outside ref (e.g. close and unref). */
  g_autoptr(ActrWsLink) hold = actr_ws_link_ref(link);

  g_assert_nonnull(hold);
  if (link->inbound) {
    ActrWsServer *server = link->server;
    if (server != NULL && server->config.on_message != NULL)
      server->config.on_message(server, link, lane, body, &link->peer, server->user_data);
  } else if (link->on_message != NULL) {
    link->on_message(link, lane, body, link->user_data);
  }
}

static void
on_ws_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  ActrWsLink *link = data;

  if (type != SOUP_WEBSOCKET_DATA_BINARY) {
    if (!link->text_logged)
      g_message("[%s] text message ignored (logged once per link)", link->name);
    link->text_logged = TRUE;
    return;
  }
  link_deliver(link, message);
}

static void
on_ws_closing(SoupWebsocketConnection *ws, gpointer data)
{
  ActrWsLink *link = data;

  link->closed = TRUE;
}

static void
on_ws_closed(SoupWebsocketConnection *ws, gpointer data)
{
  ActrWsLink *link = data;

  g_debug("[%s] closed (code %u)", link->name, soup_websocket_connection_get_close_code(ws));
  link->closed = TRUE;
  link_schedule_closed(link);
}

static void
on_ws_error(SoupWebsocketConnection *ws, GError *error, gpointer data)
{
  ActrWsLink *link = data;

  g_debug("[%s] socket error: %s", link->name, error->message);
}

static gboolean
closed_idle_cb(gpointer data)
{
  ActrWsLink *link = data;
  ActrWsServer *server = link->server;

  g_clear_pointer(&link->closed_idle, g_source_unref);
  if (link->inbound && server != NULL) {
    if (server->config.on_closed != NULL)
      server->config.on_closed(link, server->user_data);
    /* The server may have been freed by the callback: check again. */
    if (link->server != NULL && g_hash_table_remove(link->server->links, link))
      actr_ws_link_unref(link); /* the server's ref; the idle source still holds one */
  } else if (!link->inbound && link->on_closed != NULL) {
    link->on_closed(link, link->user_data);
  }
  return G_SOURCE_REMOVE;
}

/* Queues the closed callback (once).  The idle source holds a ref. */
static void
link_schedule_closed(ActrWsLink *link)
{
  if (link->closed_notified)
    return;
  link->closed_notified = TRUE;
  link->closed_idle = g_idle_source_new();
  g_source_set_name(link->closed_idle, "actr-ws-link-closed");
  g_source_set_callback(link->closed_idle, closed_idle_cb, actr_ws_link_ref(link),
                        (GDestroyNotify)actr_ws_link_unref);
  g_source_attach(link->closed_idle, link->context);
}

static void
link_apply_max_frame(ActrWsLink *link)
{
  /* The WebSocket limit covers the frame header; a message far above the
   * frame limit closes the link (1009) instead of being buffered. */
  soup_websocket_connection_set_max_incoming_payload_size(link->ws, (guint64)link->max_frame +
                                                                        ACTR_WS_FRAME_HEADER_SIZE);
}

/* Takes a ref on @ws. */
static ActrWsLink *
link_new(GMainContext *context, SoupWebsocketConnection *ws, gboolean inbound, gsize max_frame)
{
  ActrWsLink *link = g_new0(ActrWsLink, 1);

  g_atomic_ref_count_init(&link->ref);
  link->context = g_main_context_ref(context);
  link->ws = g_object_ref(ws);
  link->inbound = inbound;
  link->max_frame = max_frame != 0 ? max_frame : ACTR_WS_LINK_DEFAULT_MAX_FRAME;
  link_apply_max_frame(link);
  soup_websocket_connection_set_keepalive_interval(ws, 0);
  link->h_message = g_signal_connect(ws, "message", G_CALLBACK(on_ws_message), link);
  link->h_closing = g_signal_connect(ws, "closing", G_CALLBACK(on_ws_closing), link);
  link->h_closed = g_signal_connect(ws, "closed", G_CALLBACK(on_ws_closed), link);
  link->h_error = g_signal_connect(ws, "error", G_CALLBACK(on_ws_error), link);
  if (soup_websocket_connection_get_state(ws) != SOUP_WEBSOCKET_STATE_OPEN)
    link->closed = TRUE;
  return link;
}

static void
link_detach(ActrWsLink *link)
{
  if (link->ws == NULL)
    return;
  g_clear_signal_handler(&link->h_message, link->ws);
  g_clear_signal_handler(&link->h_closing, link->ws);
  g_clear_signal_handler(&link->h_closed, link->ws);
  g_clear_signal_handler(&link->h_error, link->ws);
}

ActrWsLink *
actr_ws_link_ref(ActrWsLink *link)
{
  g_return_val_if_fail(link != NULL, NULL);
  g_atomic_ref_count_inc(&link->ref);
  return link;
}

void
actr_ws_link_unref(ActrWsLink *link)
{
  if (link == NULL || !g_atomic_ref_count_dec(&link->ref))
    return;
  /* A pending closed idle holds a ref, so none can be pending here. */
  g_assert(link->closed_idle == NULL);
  link_detach(link);
  if (link->ws != NULL &&
      soup_websocket_connection_get_state(link->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close(link->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  g_clear_object(&link->ws);
  g_clear_object(&link->session);
  if (link->user_data_destroy != NULL)
    link->user_data_destroy(link->user_data);
  actr_id_clear(&link->peer);
  g_free(link->name);
  g_main_context_unref(link->context);
  g_free(link);
}

void
actr_ws_link_set_handlers(ActrWsLink *link, ActrWsLinkMessageFunc on_message,
                          ActrWsLinkClosedFunc on_closed, gpointer user_data,
                          GDestroyNotify destroy)
{
  g_return_if_fail(link != NULL);
  g_return_if_fail(!link->inbound);

  GDestroyNotify old_destroy = link->user_data_destroy;
  gpointer old_data = link->user_data;

  link->on_message = on_message;
  link->on_closed = on_closed;
  link->user_data = user_data;
  link->user_data_destroy = destroy;
  if (old_destroy != NULL)
    old_destroy(old_data);
}

void
actr_ws_link_set_max_frame(ActrWsLink *link, gsize max_frame)
{
  g_return_if_fail(link != NULL);
  link->max_frame = max_frame != 0 ? max_frame : ACTR_WS_LINK_DEFAULT_MAX_FRAME;
  link_apply_max_frame(link);
}

ActrStatus
actr_ws_link_send(ActrWsLink *link, ActrLane lane, const guint8 *payload, gsize len)
{
  g_return_val_if_fail(link != NULL, ACTR_ERROR);
  g_return_val_if_fail(lane <= ACTR_LANE_STREAM_LATENCY_FIRST, ACTR_ERROR);
  g_return_val_if_fail(payload != NULL || len == 0, ACTR_ERROR);

  if (len > G_MAXUINT32)
    return ACTR_ERROR;
  if (!actr_ws_link_is_open(link))
    return ACTR_CLOSED;

  g_autoptr(GBytes) frame = actr_ws_frame_encode(lane, payload, len);
  gsize frame_len;
  const guint8 *frame_data = g_bytes_get_data(frame, &frame_len);

  /* A write error makes libsoup emit "error" and "closed" from inside this
   * call; on_ws_closed only queues the closed callback. */
  soup_websocket_connection_send_binary(link->ws, frame_data, frame_len);
  return ACTR_OK;
}

void
actr_ws_link_close(ActrWsLink *link)
{
  g_return_if_fail(link != NULL);

  if (link->ws == NULL ||
      soup_websocket_connection_get_state(link->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  link->closed = TRUE;
  soup_websocket_connection_close(link->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
}

gboolean
actr_ws_link_is_open(ActrWsLink *link)
{
  g_return_val_if_fail(link != NULL, FALSE);
  return !link->closed && link->ws != NULL &&
         soup_websocket_connection_get_state(link->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

const ActrId *
actr_ws_link_get_peer(ActrWsLink *link)
{
  g_return_val_if_fail(link != NULL, NULL);
  return link->inbound ? &link->peer : NULL;
}

gboolean
actr_ws_link_is_inbound(ActrWsLink *link)
{
  g_return_val_if_fail(link != NULL, FALSE);
  return link->inbound;
}

gushort
actr_ws_link_get_close_code(ActrWsLink *link)
{
  g_return_val_if_fail(link != NULL, 0);
  if (link->ws == NULL)
    return 0;
  return soup_websocket_connection_get_close_code(link->ws);
}

/* ---- Server: upgrade check ------------------------------------------------------------------ */

/* Strict standard base64 with padding, into a new GBytes. */
static GBytes *
base64_decode_strict(const char *text)
{
  gsize n = strlen(text), len;

  if (n == 0 || n % 4 != 0 || n > MAX_CREDENTIAL_B64)
    return NULL;
  for (gsize i = 0; i < n; i++) {
    char ch = text[i];
    if (ch == '=') {
      if (i < n - 2 || (i == n - 2 && text[n - 1] != '='))
        return NULL;
    } else if (!g_ascii_isalnum(ch) && ch != '+' && ch != '/') {
      return NULL;
    }
  }
  guchar *data = g_base64_decode(text, &len);
  return g_bytes_new_take(data, len);
}

/* Hex (either case, even length, non-empty) into a new GBytes. */
static GBytes *
hex_decode(const char *text)
{
  gsize n = strlen(text);

  if (n == 0 || n % 2 != 0 || n > MAX_SOURCE_ID_HEX)
    return NULL;
  g_autofree guint8 *out = g_malloc(n / 2);
  for (gsize i = 0; i < n; i += 2) {
    int hi = g_ascii_xdigit_value(text[i]), lo = g_ascii_xdigit_value(text[i + 1]);
    if (hi < 0 || lo < 0)
      return NULL;
    out[i / 2] = (guint8)(hi << 4 | lo);
  }
  return g_bytes_new_take(g_steal_pointer(&out), n / 2);
}

/* A log-safe reason for a failed actr_credential_verify() (static). */
static const char *
verify_failure_reason(const GError *error)
{
  if (error == NULL || error->domain != ACTR_IDENTITY_ERROR)
    return "credential rejected";
  switch ((ActrIdentityError)error->code) {
  case ACTR_IDENTITY_ERROR_UNKNOWN_KEY:
    return "unknown signing key";
  case ACTR_IDENTITY_ERROR_BAD_SIGNATURE:
    return "bad signature";
  case ACTR_IDENTITY_ERROR_MALFORMED:
    return "malformed claims";
  case ACTR_IDENTITY_ERROR_EXPIRED:
    return "credential expired";
  case ACTR_IDENTITY_ERROR_ACTOR_MISMATCH:
    return "credential for another actor";
  default:
    return "credential rejected";
  }
}

static void
actr_id_free_boxed(gpointer data)
{
  ActrId *id = data;

  actr_id_clear(id);
  g_free(id);
}

/* Checks the two identity headers; on success stores the verified ActrId
 * on @msg.  On failure sets *@why (a static string, no secrets) and, for an
 * unknown key, *@missing_key. */
static gboolean
authenticate(ActrWsServer *server, SoupServerMessage *msg, const char **why, gboolean *key_missing,
             guint32 *missing_key)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
  const char *source = soup_message_headers_get_one(headers, ACTR_WS_HEADER_SOURCE_ID);
  const char *cred_text = soup_message_headers_get_one(headers, ACTR_WS_HEADER_CREDENTIAL);
  g_autoptr(GBytes) id_bytes = NULL, cred_bytes = NULL;
  g_autoptr(ActrCredential) cred = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(ActrId) peer = {0};
  gsize len;
  const guint8 *data;

  if (source == NULL || cred_text == NULL) {
    *why = "missing identity headers";
    return FALSE;
  }
  id_bytes = hex_decode(source);
  cred_bytes = base64_decode_strict(cred_text);
  if (id_bytes == NULL || cred_bytes == NULL) {
    *why = "malformed identity headers";
    return FALSE;
  }
  data = g_bytes_get_data(id_bytes, &len);
  if (!actr_id_decode(data, len, &peer, NULL) || !actr_type_validate(&peer.type, NULL)) {
    *why = "malformed source id";
    return FALSE;
  }
  data = g_bytes_get_data(cred_bytes, &len);
  cred = actr_credential_decode(data, len, NULL);
  if (cred == NULL) {
    *why = "malformed credential";
    return FALSE;
  }
  if (!actr_credential_verify(cred, server->config.key_lookup, server->config.key_lookup_data,
                              (guint64)(g_get_real_time() / G_USEC_PER_SEC), 0, &peer, NULL,
                              &error)) {
    if (g_error_matches(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_UNKNOWN_KEY)) {
      *key_missing = TRUE;
      *missing_key = cred->key_id;
    }
    *why = verify_failure_reason(error);
    return FALSE;
  }
  ActrId *verified = g_new0(ActrId, 1);
  *verified = peer;
  memset(&peer, 0, sizeof peer); /* moved */
  g_object_set_data_full(G_OBJECT(msg), VERIFIED_PEER_KEY, verified, actr_id_free_boxed);
  return TRUE;
}

static void
early_handler(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
              gpointer data)
{
  ActrWsServer *server = data;
  const char *why = NULL;
  gboolean key_missing = FALSE;
  guint32 missing_key = 0;
  static const char body[] = "unauthorized\n";

  if (server->config.metrics != NULL && strcmp(path, "/metrics") == 0 &&
      strcmp(soup_server_message_get_method(msg), "GET") == 0) {
    char *text = server->config.metrics(server, server->user_data);
    soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
    soup_server_message_set_response(msg, "text/plain; version=0.0.4", SOUP_MEMORY_TAKE, text,
                                     strlen(text));
    return;
  }
  if (authenticate(server, msg, &why, &key_missing, &missing_key))
    return;
  GSocketAddress *remote = soup_server_message_get_remote_address(msg);
  g_autofree char *ip = NULL;
  if (G_IS_INET_SOCKET_ADDRESS(remote))
    ip = g_inet_address_to_string(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote)));
  /* Logged once, then sampled: anyone can knock. */
  static gint refused;
  gint n = g_atomic_int_add(&refused, 1);
  if (n == 0 || n == 9 || n == 99 || n == 999 || (n + 1) % 10000 == 0)
    g_message("websocket upgrade from %s refused: %s (%d refused so far)", ip != NULL ? ip : "?",
              why, n + 1);
  else
    g_debug("websocket upgrade from %s refused: %s", ip != NULL ? ip : "?", why);
  soup_server_message_set_status(msg, SOUP_STATUS_UNAUTHORIZED, NULL);
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection",
                               "close");
  soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_STATIC, body, sizeof body - 1);
  if (key_missing && server->config.on_key_miss != NULL)
    server->config.on_key_miss(server, missing_key, server->user_data);
}

static void
websocket_handler(SoupServer *soup, SoupServerMessage *msg, const char *path,
                  SoupWebsocketConnection *ws, gpointer data)
{
  ActrWsServer *server = data;
  const ActrId *peer = g_object_get_data(G_OBJECT(msg), VERIFIED_PEER_KEY);
  ActrWsLink *link;

  if (peer == NULL) { /* cannot happen: the early handler refused it */
    soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "unauthenticated");
    return;
  }
  link = link_new(server->context, ws, TRUE, server->config.max_frame);
  actr_id_copy(peer, &link->peer);
  link->name = actr_id_to_string(peer);
  link->server = server;
  g_hash_table_add(server->links, link); /* the server's ref */
  g_debug("[%s] accepted", link->name);
}

/* ---- Server: public API --------------------------------------------------------------------- */

ActrWsServer *
actr_ws_server_new(GMainContext *context, const ActrWsServerConfig *config, gpointer user_data,
                   GDestroyNotify destroy)
{
  ActrWsServer *server;

  g_return_val_if_fail(config != NULL && config->key_lookup != NULL, NULL);

  server = g_new0(ActrWsServer, 1);
  server->context =
      context != NULL ? g_main_context_ref(context) : g_main_context_ref_thread_default();
  server->config = *config;
  if (server->config.max_frame == 0)
    server->config.max_frame = ACTR_WS_LINK_DEFAULT_MAX_FRAME;
  server->user_data = user_data;
  server->user_data_destroy = destroy;
  server->links = g_hash_table_new(NULL, NULL);

  g_main_context_push_thread_default(server->context);
  server->soup = soup_server_new("server-header", "actr-ws", NULL);
  soup_server_remove_websocket_extension(server->soup, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_early_handler(server->soup, NULL, early_handler, server, NULL);
  soup_server_add_websocket_handler(server->soup, NULL, NULL, NULL, websocket_handler, server,
                                    NULL);
  g_main_context_pop_thread_default(server->context);
  return server;
}

static gboolean
on_incoming(GSocketService *service, GSocketConnection *connection, GObject *source,
            gpointer user_data)
{
  ActrWsServer *server = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address(connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address(connection, NULL);

  g_socket_set_option(g_socket_connection_get_socket(connection), IPPROTO_TCP, TCP_NODELAY, 1,
                      NULL);
  if (!soup_server_accept_iostream(server->soup, G_IO_STREAM(connection), local, remote, &error))
    g_debug("ws: incoming connection dropped: %s", error->message);
  return TRUE;
}

gboolean
actr_ws_server_listen(ActrWsServer *server, const char *host, guint16 port, GError **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GError) local = NULL;
  gboolean ok;

  g_return_val_if_fail(server != NULL && host != NULL, FALSE);

  if (g_strcmp0(host, "localhost") == 0)
    address = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  else
    address = g_inet_address_new_from_string(host);
  if (address == NULL) {
    g_set_error(error, ACTR_WS_LINK_ERROR, ACTR_WS_LINK_ERROR_LISTEN,
                "cannot listen on %s:%u: not an IP address", host, port);
    return FALSE;
  }
  socket_address = g_inet_socket_address_new(address, port);
  /* We accept connections ourselves and hand each to the SoupServer as a
   * stream: libsoup 3.2's own listener never frees the GSocket of an
   * accepted connection (fixed in 3.3), ~340 bytes per connection. */
  g_autoptr(GSocketAddress) effective = NULL;
  g_main_context_push_thread_default(server->context);
  server->service = g_socket_service_new();
  /* GSocket's default backlog of 10 stalls bursts of dialling peers on SYN
   * retransmits (1 s each). */
  g_socket_listener_set_backlog(G_SOCKET_LISTENER(server->service), WS_LISTEN_BACKLOG);
  ok = g_socket_listener_add_address(G_SOCKET_LISTENER(server->service), socket_address,
                                     G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &effective,
                                     &local);
  if (ok) {
    g_signal_connect(server->service, "incoming", G_CALLBACK(on_incoming), server);
    g_socket_service_start(server->service);
  }
  g_main_context_pop_thread_default(server->context);
  if (!ok) {
    g_set_error(error, ACTR_WS_LINK_ERROR, ACTR_WS_LINK_ERROR_LISTEN, "cannot listen on %s:%u: %s",
                host, port, local->message);
    g_socket_listener_close(G_SOCKET_LISTENER(server->service));
    g_clear_object(&server->service);
    return FALSE;
  }
  if (G_IS_INET_SOCKET_ADDRESS(effective))
    server->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
  if (server->port == 0) {
    g_set_error(error, ACTR_WS_LINK_ERROR, ACTR_WS_LINK_ERROR_LISTEN,
                "cannot find the listening port");
    return FALSE;
  }
  return TRUE;
}

guint16
actr_ws_server_get_port(ActrWsServer *server)
{
  g_return_val_if_fail(server != NULL, 0);
  return server->port;
}

guint
actr_ws_server_get_n_links(ActrWsServer *server)
{
  g_return_val_if_fail(server != NULL, 0);
  return g_hash_table_size(server->links);
}

void
actr_ws_server_free(ActrWsServer *server)
{
  GHashTableIter iter;
  gpointer key;

  if (server == NULL)
    return;
  if (server->service != NULL) {
    g_socket_service_stop(server->service);
    g_socket_listener_close(G_SOCKET_LISTENER(server->service));
    g_signal_handlers_disconnect_by_data(server->service, server);
    g_clear_object(&server->service);
  }
  soup_server_disconnect(server->soup);
  g_hash_table_iter_init(&iter, server->links);
  while (g_hash_table_iter_next(&iter, &key, NULL)) {
    ActrWsLink *link = key;

    link->server = NULL;
    if (link->ws != NULL &&
        soup_websocket_connection_get_state(link->ws) == SOUP_WEBSOCKET_STATE_OPEN) {
      link->closed = TRUE;
      soup_websocket_connection_close(link->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    }
    g_hash_table_iter_remove(&iter);
    actr_ws_link_unref(link);
  }
  g_hash_table_unref(server->links);
  g_clear_object(&server->soup);
  if (server->user_data_destroy != NULL)
    server->user_data_destroy(server->user_data);
  g_main_context_unref(server->context);
  g_free(server);
}

/* ---- Dial ----------------------------------------------------------------------------------- */

typedef struct {
  GMainContext *context;
  SoupSession *session;
  SoupMessage *msg;
  GCancellable *cancel; /* ours: fired by the timeout or the caller's cancellable */
  GCancellable *caller_cancellable;
  gulong caller_handler;
  GSource *timer;
  gboolean timed_out;
  char *url;
} Dial;

static void
dial_free(gpointer data)
{
  Dial *dial = data;

  if (dial->timer != NULL) {
    g_source_destroy(dial->timer);
    g_source_unref(dial->timer);
  }
  if (dial->caller_cancellable != NULL) {
    g_cancellable_disconnect(dial->caller_cancellable, dial->caller_handler);
    g_object_unref(dial->caller_cancellable);
  }
  g_clear_object(&dial->cancel);
  g_clear_object(&dial->msg);
  g_clear_object(&dial->session);
  g_main_context_unref(dial->context);
  g_free(dial->url);
  g_free(dial);
}

static gboolean
dial_timeout_cb(gpointer data)
{
  Dial *dial = data;

  dial->timed_out = TRUE;
  g_cancellable_cancel(dial->cancel);
  return G_SOURCE_REMOVE;
}

static void
dial_caller_cancelled(GCancellable *cancellable, gpointer data)
{
  GCancellable *ours = data;

  g_cancellable_cancel(ours);
}

static void
dial_connected(GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GTask) task = data;
  Dial *dial = g_task_get_task_data(task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  guint status;

  ws = soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);
  if (dial->timer != NULL) {
    g_source_destroy(dial->timer);
    g_clear_pointer(&dial->timer, g_source_unref);
  }
  if (ws == NULL) {
    status = soup_message_get_status(dial->msg);
    if (dial->caller_cancellable != NULL && g_cancellable_is_cancelled(dial->caller_cancellable))
      g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "dial of %s cancelled",
                              dial->url);
    else if (dial->timed_out)
      g_task_return_new_error(task, ACTR_WS_LINK_ERROR, ACTR_WS_LINK_ERROR_TIMED_OUT,
                              "dial of %s timed out", dial->url);
    else if (status == SOUP_STATUS_UNAUTHORIZED)
      g_task_return_new_error(task, ACTR_WS_LINK_ERROR, ACTR_WS_LINK_ERROR_UNAUTHORIZED,
                              "%s refused our credential (401)", dial->url);
    else if (status != SOUP_STATUS_NONE)
      g_task_return_new_error(task, ACTR_WS_LINK_ERROR, ACTR_WS_LINK_ERROR_HANDSHAKE,
                              "%s answered HTTP %u: %s", dial->url, status, error->message);
    else
      g_task_return_new_error(task, ACTR_WS_LINK_ERROR, ACTR_WS_LINK_ERROR_UNREACHABLE,
                              "cannot reach %s: %s", dial->url, error->message);
    return;
  }
  ActrWsLink *link = link_new(dial->context, ws, FALSE, 0);
  link->session = g_steal_pointer(&dial->session);
  link->name = g_strdup(dial->url);
  g_debug("[%s] connected", link->name);
  g_task_return_pointer(task, link, (GDestroyNotify)actr_ws_link_unref);
}

void
actr_ws_link_dial_async(const char *url, const ActrId *self, const ActrCredential *credential,
                        GMainContext *context, guint timeout_ms, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GBytes) id_bytes = NULL, cred_bytes = NULL;
  g_autofree char *id_hex = NULL, *cred_b64 = NULL;
  SoupMessageHeaders *headers;
  const char *scheme;
  Dial *dial;
  gsize len;
  const guint8 *data;

  g_return_if_fail(url != NULL && self != NULL && credential != NULL);

  dial = g_new0(Dial, 1);
  dial->context =
      context != NULL ? g_main_context_ref(context) : g_main_context_ref_thread_default();
  dial->url = g_strdup(url);
  g_main_context_push_thread_default(dial->context);
  task = g_task_new(NULL, cancellable, callback, user_data);
  g_task_set_source_tag(task, actr_ws_link_dial_async);
  g_task_set_task_data(task, dial, dial_free);

  uri = g_uri_parse(url, SOUP_HTTP_URI_FLAGS, NULL);
  scheme = uri != NULL ? g_uri_get_scheme(uri) : NULL;
  if (scheme == NULL ||
      (g_ascii_strcasecmp(scheme, "ws") != 0 && g_ascii_strcasecmp(scheme, "wss") != 0) ||
      g_uri_get_host(uri) == NULL || *g_uri_get_host(uri) == '\0') {
    g_task_return_new_error(task, ACTR_WS_LINK_ERROR, ACTR_WS_LINK_ERROR_INVALID_URL,
                            "invalid WebSocket URL: %s", url);
    g_main_context_pop_thread_default(dial->context);
    return;
  }

  /* Peers are dialled directly: their address came from signaling, and a
   * system proxy lookup (libproxy) per dial would cost a thread hop and a
   * proxy would hide the peer. */
  dial->session = soup_session_new_with_options("proxy-resolver", NULL, NULL);
  /* No permessage-deflate (wire.md §6: plain frames). */
  soup_session_remove_feature_by_type(dial->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  dial->msg = soup_message_new_from_uri("GET", uri);
  headers = soup_message_get_request_headers(dial->msg);
  id_bytes = actr_id_encode(self);
  data = g_bytes_get_data(id_bytes, &len);
  id_hex = g_malloc(len * 2 + 1);
  for (gsize i = 0; i < len; i++)
    g_snprintf(id_hex + 2 * i, 3, "%02x", data[i]);
  id_hex[len * 2] = '\0';
  cred_bytes = actr_credential_encode(credential);
  data = g_bytes_get_data(cred_bytes, &len);
  cred_b64 = g_base64_encode(data, len);
  soup_message_headers_replace(headers, ACTR_WS_HEADER_SOURCE_ID, id_hex);
  soup_message_headers_replace(headers, ACTR_WS_HEADER_CREDENTIAL, cred_b64);

  dial->cancel = g_cancellable_new();
  if (cancellable != NULL) {
    dial->caller_cancellable = g_object_ref(cancellable);
    dial->caller_handler =
        g_cancellable_connect(cancellable, G_CALLBACK(dial_caller_cancelled), dial->cancel, NULL);
  }
  dial->timer =
      g_timeout_source_new(timeout_ms != 0 ? timeout_ms : ACTR_WS_LINK_DEFAULT_DIAL_TIMEOUT_MS);
  g_source_set_name(dial->timer, "actr-ws-dial-timeout");
  g_source_set_callback(dial->timer, dial_timeout_cb, dial, NULL);
  g_source_attach(dial->timer, dial->context);

  soup_session_websocket_connect_async(dial->session, dial->msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                       dial->cancel, dial_connected, g_steal_pointer(&task));
  g_main_context_pop_thread_default(dial->context);
}

ActrWsLink *
actr_ws_link_dial_finish(GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
  g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == actr_ws_link_dial_async, NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}
