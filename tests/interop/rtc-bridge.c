/* rtc-bridge — lets a foreign WebRTC peer (aiortc, a browser) appear as an
 * actor in a realm, for the interop tests (tests/interop).
 *
 * The bridge registers with actrd's AIS as an actor of --type, connects to
 * actrd signaling with that identity and then forwards signaling between
 * the foreign peer and actrd.  The WebRTC session itself (ICE, DTLS, SCTP,
 * data channels) runs entirely in the foreign peer; the bridge only carries
 * the ActrRelay messages of wire.md §4.6.7 / §5.2 in both directions.
 *
 *   rtc-bridge --ais URL --signaling URL --type MFR:NAME:VERSION [--realm N]
 *              [--realm-secret S] [--answer-role] [--http-port P --page FILE]
 *
 * stdout: "HTTP <port>" (only with --http-port), then "READY <ActrId text>"
 * once registered and connected to signaling, then the bridge → foreign
 * lines below; "RESULT <text>" for each result line a browser page sent.
 * stderr: diagnostics.  Exit: 0 after stdin closes or SIGTERM/SIGINT,
 * 1 when registration or the first signaling connect fails, 2 on bad usage.
 *
 * Foreign sides: the process's stdin/stdout (a Python peer driving the
 * bridge through a pipe) and, with --http-port, every WebSocket client of
 * ws://127.0.0.1:PORT/signal (a browser page, served by GET / from --page).
 * Lines from any foreign side are relayed; lines to the foreign side go to
 * stdout and to every WebSocket client.
 *
 * Line protocol (one message per line, fields separated by one TAB, no
 * escaping: SDP travels as standard base64, candidate strings never contain
 * a TAB; PEER is an ActrId text form; XID is the sdp_exchange_id):
 *
 *   foreign → bridge (→ ActrRelay to PEER)
 *     negotiate       PEER                 RoleNegotiation{from=self, to=PEER, realm}
 *     offer           PEER XID SDP64       SessionDescription{OFFER}
 *     answer          PEER XID SDP64       SessionDescription{ANSWER}
 *     restart_offer   PEER XID SDP64       SessionDescription{ICE_RESTART_OFFER}
 *     renegotiation_offer PEER XID SDP64   SessionDescription{RENEGOTIATION_OFFER}
 *     candidate       PEER CANDIDATE       IceCandidate{candidate} (no mid, no index)
 *     restart_request PEER REASON          IceRestartRequest{reason}
 *     result          TEXT...              printed as "RESULT TEXT..." on stdout
 *     log             TEXT...              printed on stderr
 *
 *   bridge → foreign (from the ActrRelay pushes of actrd)
 *     hello           SELF                 (WebSocket clients, on connect)
 *     role            PEER 1|0             RoleAssignment (1 = we are the offerer)
 *     offer|answer|restart_offer|renegotiation_offer  PEER XID SDP64
 *                                          (XID empty when the relay had none)
 *     candidate       PEER CANDIDATE
 *     restart_request PEER REASON
 *     error           CODE MESSAGE         SignalingToActr.error / envelope_error
 *
 * PEER of an inbound relay is its target when its source is us (a
 * RoleAssignment for our own negotiation), else its source (wire.md §4.6.7).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <libsoup/soup.h>

#include <actr/types.h>

#include "actr-id.h"
#include "ais-client.h"
#include "signaling-client.h"

#define CONNECT_TIMEOUT_SECS 15

typedef struct {
  GMainLoop *loop;
  int exit_code;

  /* options */
  char *ais_url;
  char *signaling_url;
  char *realm_secret;
  char *type_text;
  char *page_path;
  gint realm_id;
  gboolean answer_role;
  int http_port; /* -1 = no HTTP server */

  ActrType type;
  ActrId self;
  char *self_text;
  ActrSignalingClient *sig;
  gboolean ready;
  guint connect_timer;

  SoupServer *server;
  guint bound_port;
  GPtrArray *ws_clients; /* SoupWebsocketConnection * (owned) */

  GDataInputStream *in;
  GCancellable *cancel;
} Bridge;

/* ---- output ---------------------------------------------------------------------- */

static void
print_stdout(const char *line)
{
  fputs(line, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

/* Sends @line to every foreign side. */
static void
emit(Bridge *b, const char *line)
{
  print_stdout(line);
  for (guint i = 0; i < b->ws_clients->len; i++) {
    SoupWebsocketConnection *ws = g_ptr_array_index(b->ws_clients, i);

    if (soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_send_text(ws, line);
  }
}

/* Replaces TAB and newline characters so that @text fits in one field. */
static char *
field(const char *text)
{
  char *out = g_strdup(text != NULL ? text : "");

  for (char *p = out; *p != '\0'; p++) {
    if (*p == '\t' || *p == '\n' || *p == '\r')
      *p = ' ';
  }
  return out;
}

/* ---- foreign → actrd ----------------------------------------------------------------- */

static gboolean
send_relay(Bridge *b, const ActrId *peer, Signaling__ActrRelay *r)
{
  if (b->sig == NULL || !actr_signaling_client_send_relay(b->sig, peer, r, NULL)) {
    g_printerr("rtc-bridge: relay not sent: signaling is down\n");
    return FALSE;
  }
  return TRUE;
}

static void
relay_negotiate(Bridge *b, const ActrId *peer)
{
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  Actr__RoleNegotiation rn = ACTR__ROLE_NEGOTIATION__INIT;
  ActrIdPb from, to;

  actr_id_to_pb(&b->self, &from);
  actr_id_to_pb(peer, &to);
  rn.from = &from.id;
  rn.to = &to.id;
  rn.realm_id = b->self.realm_id;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_NEGOTIATION;
  r.role_negotiation = &rn;
  send_relay(b, peer, &r);
}

static void
relay_description(Bridge *b, const ActrId *peer, Webrtc__SessionDescription__Type type,
                  const char *xid, const char *sdp64)
{
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  Webrtc__SessionDescription d = WEBRTC__SESSION_DESCRIPTION__INIT;
  gsize len = 0;
  g_autofree guint8 *raw = g_base64_decode(sdp64, &len);
  g_autofree char *sdp = g_strndup((const char *)raw, len);

  d.type = type;
  d.sdp = sdp;
  d.sdp_exchange_id = xid[0] != '\0' ? (char *)xid : NULL;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION;
  r.session_description = &d;
  send_relay(b, peer, &r);
}

static void
relay_candidate(Bridge *b, const ActrId *peer, const char *candidate)
{
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  Webrtc__IceCandidate c = WEBRTC__ICE_CANDIDATE__INIT;

  c.candidate = (char *)candidate;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE;
  r.ice_candidate = &c;
  send_relay(b, peer, &r);
}

static void
relay_restart_request(Bridge *b, const ActrId *peer, const char *reason)
{
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  Actr__IceRestartRequest req = ACTR__ICE_RESTART_REQUEST__INIT;

  req.reason = (char *)reason;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_RESTART_REQUEST;
  r.ice_restart_request = &req;
  send_relay(b, peer, &r);
}

static gboolean
description_type(const char *verb, Webrtc__SessionDescription__Type *type)
{
  static const struct {
    const char *verb;
    Webrtc__SessionDescription__Type type;
  } types[] = {
      {"offer", WEBRTC__SESSION_DESCRIPTION__TYPE__OFFER},
      {"answer", WEBRTC__SESSION_DESCRIPTION__TYPE__ANSWER},
      {"renegotiation_offer", WEBRTC__SESSION_DESCRIPTION__TYPE__RENEGOTIATION_OFFER},
      {"restart_offer", WEBRTC__SESSION_DESCRIPTION__TYPE__ICE_RESTART_OFFER},
  };

  for (gsize i = 0; i < G_N_ELEMENTS(types); i++) {
    if (strcmp(verb, types[i].verb) == 0) {
      *type = types[i].type;
      return TRUE;
    }
  }
  return FALSE;
}

static const char *
description_verb(Webrtc__SessionDescription__Type type)
{
  switch (type) {
  case WEBRTC__SESSION_DESCRIPTION__TYPE__OFFER:
    return "offer";
  case WEBRTC__SESSION_DESCRIPTION__TYPE__ANSWER:
    return "answer";
  case WEBRTC__SESSION_DESCRIPTION__TYPE__RENEGOTIATION_OFFER:
    return "renegotiation_offer";
  case WEBRTC__SESSION_DESCRIPTION__TYPE__ICE_RESTART_OFFER:
    return "restart_offer";
  default:
    return NULL;
  }
}

/* One line from a foreign side (@origin names it in diagnostics). */
static void
handle_line(Bridge *b, const char *line, const char *origin)
{
  g_auto(GStrv) f = NULL;
  g_auto(ActrId) peer = {0};
  g_autoptr(GError) error = NULL;
  Webrtc__SessionDescription__Type type;
  guint n;

  if (line[0] == '\0')
    return;
  f = g_strsplit(line, "\t", 4);
  n = g_strv_length(f);
  if (strcmp(f[0], "result") == 0) {
    g_autofree char *rest = g_strjoinv(" ", f + 1);
    g_autofree char *out = g_strdup_printf("RESULT %s", rest);

    print_stdout(out);
    return;
  }
  if (strcmp(f[0], "log") == 0) {
    g_autofree char *rest = g_strjoinv(" ", f + 1);

    g_printerr("rtc-bridge: [%s] %s\n", origin, rest);
    return;
  }
  if (!b->ready) {
    g_printerr("rtc-bridge: [%s] '%s' before READY: dropped\n", origin, f[0]);
    return;
  }
  if (n < 2 || !actr_id_parse(f[1], &peer, &error)) {
    g_printerr("rtc-bridge: [%s] bad line '%s': %s\n", origin, f[0],
               error != NULL ? error->message : "no peer");
    return;
  }
  if (strcmp(f[0], "negotiate") == 0) {
    relay_negotiate(b, &peer);
  } else if (description_type(f[0], &type)) {
    if (n < 4) {
      g_printerr("rtc-bridge: [%s] %s needs PEER XID SDP64\n", origin, f[0]);
      return;
    }
    relay_description(b, &peer, type, f[2], f[3]);
  } else if (strcmp(f[0], "candidate") == 0 && n >= 3) {
    g_autofree char *cand = g_strjoinv("\t", f + 2);

    relay_candidate(b, &peer, cand);
  } else if (strcmp(f[0], "restart_request") == 0) {
    relay_restart_request(b, &peer, n >= 3 ? f[2] : "");
  } else {
    g_printerr("rtc-bridge: [%s] unknown line '%s'\n", origin, f[0]);
  }
}

/* ---- actrd → foreign ----------------------------------------------------------------- */

static void
on_relay(Bridge *b, const Signaling__ActrRelay *r)
{
  g_auto(ActrId) source = {0};
  g_auto(ActrId) target = {0};
  g_autofree char *peer = NULL;
  g_autofree char *line = NULL;

  actr_id_from_pb(r->source, &source);
  actr_id_from_pb(r->target, &target);
  peer = actr_id_to_string(actr_id_equal(&source, &b->self) ? &target : &source);

  switch (r->payload_case) {
  case SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_ASSIGNMENT:
    line = g_strdup_printf("role\t%s\t%d", peer, r->role_assignment->is_offerer ? 1 : 0);
    break;
  case SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION: {
    const Webrtc__SessionDescription *d = r->session_description;
    const char *verb = description_verb(d->type);
    const char *sdp = d->sdp != NULL ? d->sdp : "";
    g_autofree char *sdp64 = g_base64_encode((const guchar *)sdp, strlen(sdp));
    g_autofree char *xid = field(d->sdp_exchange_id);

    if (verb == NULL) {
      g_printerr("rtc-bridge: description of unknown type %d from %s dropped\n", d->type, peer);
      return;
    }
    line = g_strdup_printf("%s\t%s\t%s\t%s", verb, peer, xid, sdp64);
    break;
  }
  case SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE: {
    g_autofree char *cand = field(r->ice_candidate->candidate);

    line = g_strdup_printf("candidate\t%s\t%s", peer, cand);
    break;
  }
  case SIGNALING__ACTR_RELAY__PAYLOAD_ICE_RESTART_REQUEST: {
    g_autofree char *reason = field(r->ice_restart_request->reason);

    line = g_strdup_printf("restart_request\t%s\t%s", peer, reason);
    break;
  }
  default:
    g_printerr("rtc-bridge: relay with payload %d from %s ignored\n", r->payload_case, peer);
    return;
  }
  emit(b, line);
}

static void
emit_error(Bridge *b, const Actr__ErrorResponse *e)
{
  g_autofree char *msg = field(e != NULL ? e->message : "");
  g_autofree char *line = g_strdup_printf("error\t%u\t%s", e != NULL ? e->code : 0, msg);

  g_printerr("rtc-bridge: server error %u: %s\n", e != NULL ? e->code : 0, msg);
  emit(b, line);
}

static void
on_push(ActrSignalingClient *client, const Signaling__SignalingEnvelope *env, gpointer user_data)
{
  Bridge *b = user_data;

  (void)client;
  switch (env->flow_case) {
  case SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY:
    on_relay(b, env->actr_relay);
    break;
  case SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR:
    if (env->server_to_actr->payload_case == SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ERROR)
      emit_error(b, env->server_to_actr->error);
    break;
  case SIGNALING__SIGNALING_ENVELOPE__FLOW_ENVELOPE_ERROR:
    emit_error(b, env->envelope_error);
    break;
  default:
    break;
  }
}

/* ---- stdin --------------------------------------------------------------------------- */

static void read_next_line(Bridge *b);

static void
on_stdin_line(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Bridge *b = user_data;
  g_autoptr(GError) error = NULL;
  gsize len;
  g_autofree char *line =
      g_data_input_stream_read_line_finish_utf8(G_DATA_INPUT_STREAM(source), result, &len, &error);

  if (line == NULL) {
    if (error != NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      return;
    if (error != NULL)
      g_printerr("rtc-bridge: stdin: %s\n", error->message);
    g_main_loop_quit(b->loop); /* EOF: the driver is gone */
    return;
  }
  g_strchomp(line);
  handle_line(b, line, "stdin");
  read_next_line(b);
}

static void
read_next_line(Bridge *b)
{
  g_data_input_stream_read_line_async(b->in, G_PRIORITY_DEFAULT, b->cancel, on_stdin_line, b);
}

/* ---- HTTP server and WebSocket clients --------------------------------------------- */

static void
on_page(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
        gpointer user_data)
{
  Bridge *b = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len;

  (void)server;
  (void)query;
  if (strcmp(path, "/") != 0 && strcmp(path, "/index.html") != 0) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, NULL);
    return;
  }
  if (b->page_path == NULL || !g_file_get_contents(b->page_path, &data, &len, &error)) {
    g_printerr("rtc-bridge: page: %s\n", error != NULL ? error->message : "no --page");
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, NULL);
    return;
  }
  soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response(msg, "text/html; charset=utf-8", SOUP_MEMORY_TAKE,
                                   g_steal_pointer(&data), len);
}

static void
on_ws_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer user_data)
{
  Bridge *b = user_data;
  gsize len;
  const char *data = g_bytes_get_data(message, &len);
  g_autofree char *text = g_strndup(data, len);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

  (void)ws;
  (void)type;
  for (guint i = 0; lines[i] != NULL; i++) {
    g_strchomp(lines[i]);
    handle_line(b, lines[i], "ws");
  }
}

static void
on_ws_closed(SoupWebsocketConnection *ws, gpointer user_data)
{
  Bridge *b = user_data;

  g_printerr("rtc-bridge: WebSocket client closed\n");
  g_signal_handlers_disconnect_by_data(ws, b);
  g_ptr_array_remove(b->ws_clients, ws);
}

static void
on_ws_open(SoupServer *server, SoupServerMessage *msg, const char *path,
           SoupWebsocketConnection *ws, gpointer user_data)
{
  Bridge *b = user_data;
  g_autofree char *hello = NULL;

  (void)server;
  (void)msg;
  (void)path;
  g_printerr("rtc-bridge: WebSocket client connected\n");
  g_ptr_array_add(b->ws_clients, g_object_ref(ws));
  g_signal_connect(ws, "message", G_CALLBACK(on_ws_message), b);
  g_signal_connect(ws, "closed", G_CALLBACK(on_ws_closed), b);
  if (b->ready) {
    hello = g_strdup_printf("hello\t%s", b->self_text);
    soup_websocket_connection_send_text(ws, hello);
  }
}

static gboolean
start_http(Bridge *b, GError **error)
{
  g_autoptr(GSList) uris = NULL;

  b->server = soup_server_new("server-header", "actr-rtc-bridge", NULL);
  soup_server_add_handler(b->server, NULL, on_page, b, NULL);
  soup_server_add_websocket_handler(b->server, "/signal", NULL, NULL, on_ws_open, b, NULL);
  if (!soup_server_listen_local(b->server, (guint)b->http_port, SOUP_SERVER_LISTEN_IPV4_ONLY,
                                error))
    return FALSE;
  uris = soup_server_get_uris(b->server);
  if (uris == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the HTTP server has no address");
    return FALSE;
  }
  b->bound_port = (guint)g_uri_get_port(uris->data);
  g_slist_free_full(g_steal_pointer(&uris), (GDestroyNotify)g_uri_unref);
  return TRUE;
}

/* ---- registration and signaling ----------------------------------------------------- */

static void
fail(Bridge *b, const char *what)
{
  g_printerr("rtc-bridge: %s\n", what);
  b->exit_code = 1;
  g_main_loop_quit(b->loop);
}

static gboolean
on_connect_timeout(gpointer user_data)
{
  Bridge *b = user_data;

  b->connect_timer = 0;
  fail(b, "signaling did not connect in time");
  return G_SOURCE_REMOVE;
}

static void
on_state(ActrSignalingClient *client, ActrSignalingState state, const GError *error,
         gpointer user_data)
{
  Bridge *b = user_data;
  g_autofree char *line = NULL;

  (void)client;
  if (state == ACTR_SIGNALING_DISCONNECTED) {
    g_printerr("rtc-bridge: signaling disconnected: %s\n",
               error != NULL ? error->message : "(no reason)");
    return;
  }
  if (state != ACTR_SIGNALING_CONNECTED)
    return;
  g_printerr("rtc-bridge: signaling connected as %s\n", b->self_text);
  if (b->ready)
    return;
  b->ready = TRUE;
  g_clear_handle_id(&b->connect_timer, g_source_remove);
  if (b->server != NULL) {
    line = g_strdup_printf("HTTP %u", b->bound_port);
    print_stdout(line);
    g_clear_pointer(&line, g_free);
  }
  line = g_strdup_printf("READY %s", b->self_text);
  print_stdout(line);
}

static void
on_registered(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Bridge *b = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrAisRegistration) reg = actr_ais_register_finish(result, &error);

  (void)source;
  if (reg == NULL) {
    g_autofree char *msg = g_strdup_printf("registration failed: %s", error->message);

    fail(b, msg);
    return;
  }
  actr_id_copy(&reg->actr_id, &b->self);
  b->self_text = actr_id_to_string(&b->self);
  g_printerr("rtc-bridge: registered as %s\n", b->self_text);

  b->sig = actr_signaling_client_new(b->signaling_url, &reg->actr_id, reg->credential, NULL);
  actr_signaling_client_set_state_func(b->sig, on_state, b, NULL);
  actr_signaling_client_set_push_func(b->sig, on_push, b, NULL);
  actr_signaling_client_set_heartbeat_interval(b->sig, reg->heartbeat_interval_secs);
  actr_signaling_client_set_answer_role(b->sig, b->answer_role);
  b->connect_timer = g_timeout_add_seconds(CONNECT_TIMEOUT_SECS, on_connect_timeout, b);
  actr_signaling_client_start(b->sig);
}

static gboolean
on_signal(gpointer user_data)
{
  Bridge *b = user_data;

  g_printerr("rtc-bridge: signal received, stopping\n");
  g_main_loop_quit(b->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_grace_over(gpointer user_data)
{
  g_main_loop_quit(user_data);
  return G_SOURCE_REMOVE;
}

/* ---- main ------------------------------------------------------------------------- */

int
main(int argc, char **argv)
{
  Bridge b = {.http_port = -1, .realm_id = 1};
  g_autoptr(GOptionContext) ctx = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stdin_stream = NULL;
  guint sigint, sigterm;
  GOptionEntry entries[] = {
      {"ais", 0, 0, G_OPTION_ARG_STRING, &b.ais_url, "AIS endpoint (http://HOST:PORT/ais)", "URL"},
      {"signaling", 0, 0, G_OPTION_ARG_STRING, &b.signaling_url,
       "Signaling URL (ws://HOST:PORT/signaling/ws)", "URL"},
      {"realm", 0, 0, G_OPTION_ARG_INT, &b.realm_id, "Realm id (default 1)", "N"},
      {"realm-secret", 0, 0, G_OPTION_ARG_STRING, &b.realm_secret, "Realm secret", "S"},
      {"type", 0, 0, G_OPTION_ARG_STRING, &b.type_text, "Actor type", "MFR:NAME:VERSION"},
      {"answer-role", 0, 0, G_OPTION_ARG_NONE, &b.answer_role,
       "Connect with webrtc_role=answer (actrd makes us the answerer)", NULL},
      {"http-port", 0, 0, G_OPTION_ARG_INT, &b.http_port,
       "Serve GET / and WebSocket /signal on 127.0.0.1:PORT (0 = pick)", "PORT"},
      {"page", 0, 0, G_OPTION_ARG_FILENAME, &b.page_path, "The HTML file served at /", "FILE"},
      G_OPTION_ENTRY_NULL,
  };

  /* GLib prints info and debug messages on stdout by default; stdout is
   * the line protocol here. */
  g_log_writer_default_set_use_stderr(TRUE);
  ctx = g_option_context_new("- a foreign WebRTC peer as an actr actor");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    g_printerr("rtc-bridge: %s\n", error->message);
    return 2;
  }
  if (b.ais_url == NULL || b.signaling_url == NULL || b.type_text == NULL) {
    g_printerr("rtc-bridge: --ais, --signaling and --type are required\n");
    return 2;
  }
  if (!actr_type_parse(b.type_text, &b.type, &error)) {
    g_printerr("rtc-bridge: --type: %s\n", error->message);
    return 2;
  }
  if (b.http_port > 65535) {
    g_printerr("rtc-bridge: --http-port out of range\n");
    return 2;
  }

  b.loop = g_main_loop_new(NULL, FALSE);
  b.ws_clients = g_ptr_array_new_with_free_func(g_object_unref);
  b.cancel = g_cancellable_new();
  if (b.http_port >= 0 && !start_http(&b, &error)) {
    g_printerr("rtc-bridge: HTTP server: %s\n", error->message);
    return 1;
  }

  stdin_stream = g_unix_input_stream_new(0, FALSE);
  b.in = g_data_input_stream_new(stdin_stream);
  read_next_line(&b);
  sigint = g_unix_signal_add(SIGINT, on_signal, &b);
  sigterm = g_unix_signal_add(SIGTERM, on_signal, &b);

  ActrAisRegisterParams params = {
      .actr_type = &b.type,
      .realm_id = (guint32)b.realm_id,
      .realm_secret = b.realm_secret,
  };
  actr_ais_register_async(b.ais_url, &params, NULL, NULL, on_registered, &b);
  g_main_loop_run(b.loop);

  /* Shutdown: unregister (fire-and-forget), give the frame a moment to
   * leave, then close everything. */
  g_cancellable_cancel(b.cancel);
  g_clear_handle_id(&b.connect_timer, g_source_remove);
  if (b.sig != NULL && actr_signaling_client_unregister(b.sig, "rtc-bridge exit")) {
    g_timeout_add(200, on_grace_over, b.loop);
    g_main_loop_run(b.loop);
  }
  g_source_remove(sigint);
  g_source_remove(sigterm);
  for (guint i = 0; i < b.ws_clients->len; i++) {
    SoupWebsocketConnection *ws = g_ptr_array_index(b.ws_clients, i);

    g_signal_handlers_disconnect_by_data(ws, &b);
    if (soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  }
  g_ptr_array_unref(b.ws_clients);
  g_clear_pointer(&b.sig, actr_signaling_client_free);
  g_clear_object(&b.server);
  g_clear_object(&b.in);
  g_clear_object(&b.cancel);
  g_main_loop_unref(b.loop);
  actr_id_clear(&b.self);
  actr_type_clear(&b.type);
  g_free(b.self_text);
  g_free(b.ais_url);
  g_free(b.signaling_url);
  g_free(b.realm_secret);
  g_free(b.type_text);
  g_free(b.page_path);
  return b.exit_code;
}
