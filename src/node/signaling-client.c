/* Node-side signaling client.  Contract: signaling-client.h. */
#include "signaling-client.h"

#include <libsoup/soup.h>
#include <string.h>

#include "actr-id.h"

#define REQUEST_TIMEOUT_MS     5000
#define CONNECT_TIMEOUT_MS     30000
#define KEEPALIVE_SECS         5
#define PROBE_AFTER_US         (5 * G_USEC_PER_SEC)
#define DEAD_AFTER_US          (10 * G_USEC_PER_SEC)
#define WATCHDOG_MS            1000
#define RECONNECT_INITIAL_MS   1000
#define RECONNECT_MAX_MS       60000
#define RECONNECT_MAX_ATTEMPTS 10
#define RECONNECT_COOLDOWN_MS  (2 * RECONNECT_MAX_MS)
#define DEFAULT_HEARTBEAT_SECS 30
#define MAX_INCOMING_PAYLOAD   (64 * 1024 * 1024)

G_DEFINE_QUARK(actr - signaling - server - error - quark, actr_signaling_server_error)

struct _ActrSignalingClient {
  grefcount ref;
  gboolean destroyed; /* actr_signaling_client_free() was called */
  gboolean started;
  GMainContext *context;
  char *url;
  ActrId id;
  ActrCredential *credential;
  gboolean answer;
  guint heartbeat_secs;

  SoupSession *session;
  GCancellable *connect_cancel; /* non-NULL while an attempt is in flight */
  GSource *connect_timer;       /* the attempt's 30 s bound */
  SoupWebsocketConnection *ws;  /* non-NULL while connected */
  ActrSignalingState state;
  gint64 last_seen; /* monotonic time of the last inbound frame */
  gboolean probe_pending;

  guint64 next_envelope; /* env-<n>, from 1, never reset */
  GHashTable *waiters;   /* envelope id (owned) → GTask * (owned ref) */

  GSource *heartbeat_timer;
  GSource *watchdog_timer;
  GSource *reconnect_timer;
  guint attempt;     /* reconnect attempts scheduled in this cycle */
  gboolean cooldown; /* the cycle was exhausted; waiting RECONNECT_COOLDOWN_MS */

  ActrSignalingStateFunc state_func;
  gpointer state_data;
  GDestroyNotify state_notify;
  ActrSignalingPushFunc push_func;
  gpointer push_data;
  GDestroyNotify push_notify;
  ActrSignalingCredentialRejectedFunc rejected_func;
  gpointer rejected_data;
  GDestroyNotify rejected_notify;
  ActrSignalingLoadFunc load_func;
  gpointer load_data;
  GDestroyNotify load_notify;
};

/* Per-request state (task data of a request GTask). */
typedef struct {
  ActrSignalingClient *client; /* not a ref: the client fails every waiter before it goes */
  char *envelope_id;
  GSource *timer;        /* the reply timeout */
  GSource *cancel_watch; /* fires when the caller's GCancellable is cancelled (nullable) */
} Waiter;

static void connect_attempt(ActrSignalingClient *c);
static void handle_loss(ActrSignalingClient *c, const GError *why);
static void schedule_reconnect(ActrSignalingClient *c);

/* ---- refcount, timers, callbacks ---------------------------------------------- */

static ActrSignalingClient *
client_ref(ActrSignalingClient *c)
{
  g_ref_count_inc(&c->ref);
  return c;
}

static void
client_unref(ActrSignalingClient *c)
{
  if (!g_ref_count_dec(&c->ref))
    return;
  g_assert(c->ws == NULL && c->connect_cancel == NULL);
  g_assert(g_hash_table_size(c->waiters) == 0);
  g_hash_table_unref(c->waiters);
  g_clear_object(&c->session);
  actr_id_clear(&c->id);
  actr_credential_free(c->credential);
  g_free(c->url);
  g_main_context_unref(c->context);
  g_free(c);
}

static GSource *
add_timer(ActrSignalingClient *c, guint ms, GSourceFunc func)
{
  GSource *source = g_timeout_source_new(ms);

  g_source_set_callback(source, func, c, NULL);
  g_source_attach(source, c->context);
  return source;
}

static void
clear_timer(GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy(*source);
  g_source_unref(*source);
  *source = NULL;
}

static void
set_state(ActrSignalingClient *c, ActrSignalingState state, const GError *error)
{
  if (c->state == state || c->destroyed)
    return;
  c->state = state;
  if (c->state_func != NULL) {
    client_ref(c);
    c->state_func(c, state, error, c->state_data);
    client_unref(c);
  }
}

static void
replace_callback(gpointer *data_slot, GDestroyNotify *notify_slot, gpointer data,
                 GDestroyNotify notify)
{
  gpointer old_data = *data_slot;
  GDestroyNotify old_notify = *notify_slot;

  *data_slot = data;
  *notify_slot = notify;
  if (old_notify != NULL)
    old_notify(old_data);
}

/* ---- identity in the URL and in envelopes ------------------------------------ */

/* application/x-www-form-urlencoded value: everything but unreserved
 * characters is percent-encoded. */
static void
append_param(GString *url, const char *name, const char *value)
{
  g_autofree char *escaped = g_uri_escape_string(value, NULL, FALSE);

  g_string_append_printf(url, "%c%s=%s", strchr(url->str, '?') ? '&' : '?', name, escaped);
}

static char *
build_url(ActrSignalingClient *c)
{
  GString *url = g_string_new(c->url);
  g_autofree char *actor = actr_id_to_string(&c->id);
  g_autofree char *key_id = g_strdup_printf("%u", c->credential->key_id);
  g_autofree char *claims = NULL;
  g_autofree char *signature = NULL;
  gsize len;
  const guint8 *data;

  data = g_bytes_get_data(c->credential->claims, &len);
  claims = g_base64_encode(data, len);
  data = g_bytes_get_data(c->credential->signature, &len);
  signature = g_base64_encode(data, len);
  append_param(url, "actor_id", actor);
  append_param(url, "key_id", key_id);
  append_param(url, "claims", claims);
  append_param(url, "signature", signature);
  if (c->answer)
    append_param(url, "webrtc_role", "answer");
  return g_string_free(url, FALSE);
}

/* Views of the current identity for an outgoing message (transfer none:
 * valid while the identity is unchanged). */
static void
identity_view(ActrSignalingClient *c, ActrIdPb *source, Actr__AIdCredential *cred)
{
  gsize len;

  actr_id_to_pb(&c->id, source);
  actr__aid_credential__init(cred);
  cred->key_id = c->credential->key_id;
  cred->claims.data = (guint8 *)g_bytes_get_data(c->credential->claims, &len);
  cred->claims.len = len;
  cred->signature.data = (guint8 *)g_bytes_get_data(c->credential->signature, &len);
  cred->signature.len = len;
}

/* Encodes an envelope with id @envelope_id around the flow already set in
 * @env (timestamp and version filled here). */
static GBytes *
encode_envelope(Signaling__SignalingEnvelope *env, const char *envelope_id)
{
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

  ts.seconds = g_get_real_time() / G_USEC_PER_SEC;
  env->envelope_version = 1;
  env->envelope_id = (char *)envelope_id;
  env->timestamp = &ts;
  return actr_signaling_envelope_encode(env);
}

/* Encodes @a (source and credential filled from the current identity,
 * reset before returning) into an envelope with id @envelope_id. */
static GBytes *
encode_request(ActrSignalingClient *c, Signaling__ActrToSignaling *a, const char *envelope_id)
{
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  Actr__AIdCredential cred;
  ActrIdPb source;
  GBytes *bytes;

  identity_view(c, &source, &cred);
  a->source = &source.id;
  a->credential = &cred;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER;
  env.actr_to_server = a;
  bytes = encode_envelope(&env, envelope_id);
  a->source = NULL;
  a->credential = NULL;
  return bytes;
}

static char *
next_envelope_id(ActrSignalingClient *c)
{
  return g_strdup_printf("env-%" G_GUINT64_FORMAT, ++c->next_envelope);
}

/* TRUE when frames can be sent now. */
static gboolean
ws_open(ActrSignalingClient *c)
{
  return !c->destroyed && c->ws != NULL &&
         soup_websocket_connection_get_state(c->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

/* ---- waiters -------------------------------------------------------------------- */

static void
waiter_free(Waiter *w)
{
  clear_timer(&w->timer);
  clear_timer(&w->cancel_watch);
  g_free(w->envelope_id);
  g_free(w);
}

/* Removes the waiter of @task from the table; returns the table's ref
 * (transfer full), or NULL if it was already gone. */
static GTask *
steal_waiter(ActrSignalingClient *c, const char *envelope_id)
{
  gpointer key = NULL, task = NULL;

  if (!g_hash_table_steal_extended(c->waiters, envelope_id, &key, &task))
    return NULL;
  g_free(key);
  clear_timer(&((Waiter *)g_task_get_task_data(task))->timer);
  clear_timer(&((Waiter *)g_task_get_task_data(task))->cancel_watch);
  return task;
}

static gboolean
on_waiter_timeout(gpointer user_data)
{
  GTask *task = user_data;
  Waiter *w = g_task_get_task_data(task);
  g_autoptr(GTask) owned = steal_waiter(w->client, w->envelope_id);

  if (owned != NULL)
    g_task_return_new_error(owned, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                            "signaling request %s timed out", w->envelope_id);
  return G_SOURCE_REMOVE;
}

static gboolean
on_waiter_cancelled(GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;
  Waiter *w = g_task_get_task_data(task);
  g_autoptr(GTask) owned = steal_waiter(w->client, w->envelope_id);

  if (owned != NULL)
    g_task_return_new_error(owned, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                            "signaling request %s cancelled", w->envelope_id);
  return G_SOURCE_REMOVE;
}

/* Fails every waiter with @code (G_IO_ERROR).  Each waiter is taken out of
 * the table before its callback runs, so callbacks may add new ones. */
static void
fail_all_waiters(ActrSignalingClient *c, GIOErrorEnum code, const char *why)
{
  GList *ids = g_hash_table_get_keys(c->waiters);
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func(g_object_unref);

  for (GList *l = ids; l != NULL; l = l->next) {
    GTask *task = steal_waiter(c, l->data);

    if (task != NULL)
      g_ptr_array_add(tasks, task);
  }
  g_list_free(ids);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_new_error(tasks->pdata[i], G_IO_ERROR, code, "%s", why);
}

/* ---- inbound -------------------------------------------------------------------- */

static void
deliver_reply(GTask *task, Signaling__SignalingEnvelope *env)
{
  const Signaling__SignalingToActr *s = env->server_to_actr;

  if (env->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR &&
      s->payload_case == SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ERROR) {
    g_task_return_new_error(task, ACTR_SIGNALING_SERVER_ERROR, (gint)s->error->code, "%s",
                            s->error->message);
    actr_signaling_envelope_free(env);
    return;
  }
  g_task_return_pointer(task, env, (GDestroyNotify)actr_signaling_envelope_free);
}

static void
on_ws_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer user_data)
{
  ActrSignalingClient *c = user_data;
  g_autoptr(GError) error = NULL;
  Signaling__SignalingEnvelope *env;
  g_autoptr(GTask) task = NULL;
  gsize len;
  const guint8 *data;

  c->last_seen = g_get_monotonic_time();
  if (type != SOUP_WEBSOCKET_DATA_BINARY)
    return; /* text frames are ignored (wire.md §4.1) */
  data = g_bytes_get_data(message, &len);
  env = actr_signaling_envelope_decode(data, len, &error);
  if (env == NULL) {
    g_warning("signaling: dropping an undecodable envelope: %s", error->message);
    return;
  }
  client_ref(c);
  if (env->reply_for != NULL)
    task = steal_waiter(c, env->reply_for);
  if (task != NULL) {
    deliver_reply(task, env);
  } else {
    if (c->push_func != NULL && !c->destroyed)
      c->push_func(c, env, c->push_data);
    actr_signaling_envelope_free(env);
  }
  client_unref(c);
}

static void
on_ws_closed(SoupWebsocketConnection *ws, gpointer user_data)
{
  ActrSignalingClient *c = user_data;
  g_autoptr(GError) why =
      g_error_new(G_IO_ERROR, G_IO_ERROR_CLOSED, "signaling socket closed (code %u)",
                  soup_websocket_connection_get_close_code(ws));

  g_object_ref(ws); /* handle_loss() drops ours during the emission */
  handle_loss(c, why);
  g_object_unref(ws);
}

static void
on_ws_error(SoupWebsocketConnection *ws, GError *error, gpointer user_data)
{
  g_debug("signaling: socket error: %s", error->message);
}

/* Closes @ws without our handlers; the last ref goes when it is closed. */
static void
release_ws(ActrSignalingClient *c)
{
  SoupWebsocketConnection *ws = g_steal_pointer(&c->ws);

  if (ws == NULL)
    return;
  g_signal_handlers_disconnect_by_data(ws, c);
  if (soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN) {
    g_signal_connect(ws, "closed", G_CALLBACK(g_object_unref), NULL);
    soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  } else {
    g_object_unref(ws);
  }
}

/* The socket is gone (closed, dead or replaced): fail the waiters, report
 * DISCONNECTED and wake the reconnect manager. */
static void
handle_loss(ActrSignalingClient *c, const GError *why)
{
  client_ref(c);
  release_ws(c);
  clear_timer(&c->watchdog_timer);
  c->probe_pending = FALSE;
  fail_all_waiters(c, G_IO_ERROR_CLOSED, why != NULL ? why->message : "signaling disconnected");
  set_state(c, ACTR_SIGNALING_DISCONNECTED, why);
  if (!c->destroyed) {
    c->attempt = 0;
    c->cooldown = FALSE;
    schedule_reconnect(c);
  }
  client_unref(c);
}

/* ---- heartbeat ------------------------------------------------------------------ */

static int
availability_for(float power, float backlog)
{
  if (power > 4.2f && backlog < 0.5f)
    return ACTR__SERVICE_AVAILABILITY_STATE__FULL;
  if (power > 3.0f && backlog < 0.8f)
    return ACTR__SERVICE_AVAILABILITY_STATE__DEGRADED;
  if (power > 1.8f && backlog < 0.95f)
    return ACTR__SERVICE_AVAILABILITY_STATE__OVERLOADED;
  return ACTR__SERVICE_AVAILABILITY_STATE__UNAVAILABLE;
}

static void
on_heartbeat_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
  ActrSignalingClient *c = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;

  env = actr_signaling_client_request_finish(c, result, &error);
  c->probe_pending = FALSE;
  if (env != NULL) {
    if (env->server_to_actr == NULL ||
        env->server_to_actr->payload_case != SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_PONG)
      g_debug("signaling: heartbeat reply is not a Pong");
  } else if (g_error_matches(error, ACTR_SIGNALING_SERVER_ERROR, 401)) {
    g_message("signaling: credential rejected (%s)", error->message);
    if (c->rejected_func != NULL && !c->destroyed)
      c->rejected_func(c, error->message, c->rejected_data);
  } else {
    g_debug("signaling: heartbeat failed: %s", error->message);
  }
  client_unref(c);
}

static void
send_heartbeat(ActrSignalingClient *c)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__Ping ping = ACTR__PING__INIT;
  float power = 1.0f, backlog = 0.0f;
  guint timeout_s = c->heartbeat_secs * 2 / 5;

  if (c->load_func != NULL) {
    client_ref(c);
    c->load_func(c, &power, &backlog, c->load_data);
    client_unref(c);
    if (!ws_open(c))
      return;
  }
  power = CLAMP(power, 1.0f, 5.0f);
  backlog = CLAMP(backlog, 0.0f, 1.0f);
  ping.availability = availability_for(power, backlog);
  ping.power_reserve = power;
  ping.mailbox_backlog = backlog;
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_PING;
  a.ping = &ping;
  c->probe_pending = TRUE;
  actr_signaling_client_request_async(c, &a, MAX(timeout_s, 1) * 1000, NULL, on_heartbeat_reply,
                                      client_ref(c));
}

static gboolean
on_heartbeat_tick(gpointer user_data)
{
  ActrSignalingClient *c = user_data;

  if (c->ws != NULL) {
    send_heartbeat(c);
  } else if (c->connect_cancel == NULL && c->reconnect_timer == NULL && !c->cooldown) {
    /* The manager is idle (cycle exhausted and cooled down): wake it. */
    c->attempt = 0;
    connect_attempt(c);
  }
  return G_SOURCE_CONTINUE;
}

static void
restart_heartbeat(ActrSignalingClient *c)
{
  clear_timer(&c->heartbeat_timer);
  c->heartbeat_timer = add_timer(c, c->heartbeat_secs * 1000, on_heartbeat_tick);
}

static gboolean
on_watchdog(gpointer user_data)
{
  ActrSignalingClient *c = user_data;
  gint64 silence = g_get_monotonic_time() - c->last_seen;

  if (silence >= DEAD_AFTER_US) {
    g_autoptr(GError) why = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                                "no inbound signaling traffic for 10 s");

    handle_loss(c, why); /* destroys this source (GLib holds it while dispatching) */
    return G_SOURCE_REMOVE;
  }
  if (silence >= PROBE_AFTER_US && !c->probe_pending)
    send_heartbeat(c);
  return G_SOURCE_CONTINUE;
}

/* ---- connecting ----------------------------------------------------------------- */

static void
on_connected(GObject *source, GAsyncResult *result, gpointer user_data)
{
  ActrSignalingClient *c = user_data;
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *ws;

  ws = soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);
  g_clear_object(&c->connect_cancel);
  clear_timer(&c->connect_timer);
  if (c->destroyed) {
    if (ws != NULL) {
      c->ws = ws;
      release_ws(c);
    }
    client_unref(c);
    return;
  }
  if (ws == NULL) {
    g_debug("signaling: connect attempt failed: %s", error->message);
    set_state(c, ACTR_SIGNALING_DISCONNECTED, error);
    if (!c->destroyed)
      schedule_reconnect(c);
    client_unref(c);
    return;
  }
  c->ws = ws;
  soup_websocket_connection_set_keepalive_interval(ws, KEEPALIVE_SECS);
  soup_websocket_connection_set_max_incoming_payload_size(ws, MAX_INCOMING_PAYLOAD);
  g_signal_connect(ws, "message", G_CALLBACK(on_ws_message), c);
  g_signal_connect(ws, "closed", G_CALLBACK(on_ws_closed), c);
  g_signal_connect(ws, "error", G_CALLBACK(on_ws_error), c);
  c->last_seen = g_get_monotonic_time();
  c->probe_pending = FALSE;
  c->attempt = 0;
  c->cooldown = FALSE;
  clear_timer(&c->watchdog_timer);
  c->watchdog_timer = add_timer(c, WATCHDOG_MS, on_watchdog);
  set_state(c, ACTR_SIGNALING_CONNECTED, NULL);
  if (!c->destroyed && c->ws == ws) {
    /* First heartbeat at once, then every interval. */
    restart_heartbeat(c);
    send_heartbeat(c);
  }
  client_unref(c);
}

static gboolean
on_connect_timeout(gpointer user_data)
{
  ActrSignalingClient *c = user_data;

  g_source_unref(c->connect_timer);
  c->connect_timer = NULL;
  if (c->connect_cancel != NULL)
    g_cancellable_cancel(c->connect_cancel);
  return G_SOURCE_REMOVE;
}

static void
connect_attempt(ActrSignalingClient *c)
{
  g_autofree char *url = build_url(c);
  g_autoptr(GUri) uri = g_uri_parse(url, SOUP_HTTP_URI_FLAGS, NULL);
  g_autoptr(SoupMessage) msg = NULL;

  if (c->connect_cancel != NULL || c->ws != NULL)
    return; /* already connecting or connected */
  if (uri != NULL)
    msg = soup_message_new_from_uri("GET", uri);
  if (msg == NULL) {
    g_warning("signaling: invalid signaling URL \"%s\"", c->url);
    return;
  }
  set_state(c, ACTR_SIGNALING_CONNECTING, NULL);
  if (c->destroyed)
    return;
  c->connect_cancel = g_cancellable_new();
  c->connect_timer = add_timer(c, CONNECT_TIMEOUT_MS, on_connect_timeout);
  g_main_context_push_thread_default(c->context);
  soup_session_websocket_connect_async(c->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                       c->connect_cancel, on_connected, client_ref(c));
  g_main_context_pop_thread_default(c->context);
}

static gboolean
on_reconnect_timer(gpointer user_data)
{
  ActrSignalingClient *c = user_data;

  g_source_unref(c->reconnect_timer);
  c->reconnect_timer = NULL;
  if (c->cooldown) {
    /* Cooldown over: idle until a heartbeat tick wakes the manager. */
    c->cooldown = FALSE;
    c->attempt = 0;
    return G_SOURCE_REMOVE;
  }
  connect_attempt(c);
  return G_SOURCE_REMOVE;
}

/* Delay before reconnect attempt @attempt (0-based) of a cycle: 1 s × 2^n
 * capped at 60 s, ±30 % uniform jitter, at least 1 ms. */
static guint
backoff_ms(guint attempt)
{
  double base = RECONNECT_INITIAL_MS;

  for (guint i = 0; i < attempt && base < RECONNECT_MAX_MS; i++)
    base *= 2.0;
  base = MIN(base, (double)RECONNECT_MAX_MS);
  base *= g_random_double_range(0.7, 1.3);
  return MAX((guint)base, 1u);
}

static void
schedule_reconnect(ActrSignalingClient *c)
{
  if (!c->started || c->destroyed || c->ws != NULL || c->connect_cancel != NULL ||
      c->reconnect_timer != NULL)
    return;
  if (c->attempt >= RECONNECT_MAX_ATTEMPTS) {
    c->cooldown = TRUE;
    c->reconnect_timer = add_timer(c, RECONNECT_COOLDOWN_MS, on_reconnect_timer);
    return;
  }
  c->reconnect_timer = add_timer(c, backoff_ms(c->attempt), on_reconnect_timer);
  c->attempt++;
}

/* ---- public: lifecycle ------------------------------------------------------------ */

ActrSignalingClient *
actr_signaling_client_new(const char *url, const ActrId *id, const ActrCredential *credential,
                          GMainContext *context)
{
  ActrSignalingClient *c;

  g_return_val_if_fail(url != NULL && id != NULL && credential != NULL, NULL);
  c = g_new0(ActrSignalingClient, 1);
  g_ref_count_init(&c->ref);
  c->context = context != NULL ? g_main_context_ref(context) : g_main_context_ref_thread_default();
  c->url = g_strdup(url);
  actr_id_copy(id, &c->id);
  c->credential = actr_credential_copy(credential);
  c->heartbeat_secs = DEFAULT_HEARTBEAT_SECS;
  c->state = ACTR_SIGNALING_DISCONNECTED;
  c->waiters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
  g_main_context_push_thread_default(c->context);
  c->session = soup_session_new_with_options("proxy-resolver", NULL, NULL);
  g_main_context_pop_thread_default(c->context);
  return c;
}

void
actr_signaling_client_free(ActrSignalingClient *c)
{
  if (c == NULL || c->destroyed)
    return;
  c->destroyed = TRUE;
  c->started = FALSE;
  if (c->connect_cancel != NULL)
    g_cancellable_cancel(c->connect_cancel); /* on_connected() drops its ref */
  clear_timer(&c->connect_timer);
  clear_timer(&c->heartbeat_timer);
  clear_timer(&c->watchdog_timer);
  clear_timer(&c->reconnect_timer);
  release_ws(c);
  fail_all_waiters(c, G_IO_ERROR_CANCELLED, "signaling client closed");
  replace_callback(&c->state_data, &c->state_notify, NULL, NULL);
  replace_callback(&c->push_data, &c->push_notify, NULL, NULL);
  replace_callback(&c->rejected_data, &c->rejected_notify, NULL, NULL);
  replace_callback(&c->load_data, &c->load_notify, NULL, NULL);
  c->state_func = NULL;
  c->push_func = NULL;
  c->rejected_func = NULL;
  c->load_func = NULL;
  client_unref(c);
}

void
actr_signaling_client_set_state_func(ActrSignalingClient *c, ActrSignalingStateFunc func,
                                     gpointer user_data, GDestroyNotify notify)
{
  g_return_if_fail(c != NULL && !c->destroyed);
  c->state_func = func;
  replace_callback(&c->state_data, &c->state_notify, user_data, notify);
}

void
actr_signaling_client_set_push_func(ActrSignalingClient *c, ActrSignalingPushFunc func,
                                    gpointer user_data, GDestroyNotify notify)
{
  g_return_if_fail(c != NULL && !c->destroyed);
  c->push_func = func;
  replace_callback(&c->push_data, &c->push_notify, user_data, notify);
}

void
actr_signaling_client_set_credential_rejected_func(ActrSignalingClient *c,
                                                   ActrSignalingCredentialRejectedFunc func,
                                                   gpointer user_data, GDestroyNotify notify)
{
  g_return_if_fail(c != NULL && !c->destroyed);
  c->rejected_func = func;
  replace_callback(&c->rejected_data, &c->rejected_notify, user_data, notify);
}

void
actr_signaling_client_set_load_func(ActrSignalingClient *c, ActrSignalingLoadFunc func,
                                    gpointer user_data, GDestroyNotify notify)
{
  g_return_if_fail(c != NULL && !c->destroyed);
  c->load_func = func;
  replace_callback(&c->load_data, &c->load_notify, user_data, notify);
}

void
actr_signaling_client_set_answer_role(ActrSignalingClient *c, gboolean answer)
{
  g_return_if_fail(c != NULL);
  c->answer = answer;
}

void
actr_signaling_client_set_heartbeat_interval(ActrSignalingClient *c, guint secs)
{
  g_return_if_fail(c != NULL);
  c->heartbeat_secs = secs != 0 ? secs : DEFAULT_HEARTBEAT_SECS;
  if (c->heartbeat_timer != NULL)
    restart_heartbeat(c);
}

void
actr_signaling_client_set_identity(ActrSignalingClient *c, const ActrId *id,
                                   const ActrCredential *credential)
{
  ActrCredential *copy;

  g_return_if_fail(c != NULL && id != NULL && credential != NULL);
  copy = actr_credential_copy(credential);
  if (id != &c->id) {
    actr_id_clear(&c->id);
    actr_id_copy(id, &c->id);
  }
  actr_credential_free(c->credential);
  c->credential = copy;
}

const ActrId *
actr_signaling_client_get_id(ActrSignalingClient *c)
{
  g_return_val_if_fail(c != NULL, NULL);
  return &c->id;
}

void
actr_signaling_client_start(ActrSignalingClient *c)
{
  g_return_if_fail(c != NULL && !c->destroyed);
  if (c->started)
    return;
  c->started = TRUE;
  c->attempt = 0;
  restart_heartbeat(c);
  connect_attempt(c);
}

void
actr_signaling_client_reconnect(ActrSignalingClient *c)
{
  g_return_if_fail(c != NULL && !c->destroyed);
  c->started = TRUE;
  client_ref(c);
  if (c->ws != NULL) {
    g_autoptr(GError) why =
        g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CLOSED, "signaling reconnect requested");

    handle_loss(c, why);
  }
  if (!c->destroyed) {
    clear_timer(&c->reconnect_timer);
    c->attempt = 0;
    c->cooldown = FALSE;
    connect_attempt(c);
  }
  client_unref(c);
}

ActrSignalingState
actr_signaling_client_get_state(ActrSignalingClient *c)
{
  g_return_val_if_fail(c != NULL, ACTR_SIGNALING_DISCONNECTED);
  return c->state;
}

/* ---- public: requests ------------------------------------------------------------ */

void
actr_signaling_client_request_async(ActrSignalingClient *c, Signaling__ActrToSignaling *request,
                                    guint timeout_ms, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GBytes) frame = NULL;
  Waiter *w;
  gsize len;
  const guint8 *data;

  g_return_if_fail(c != NULL && request != NULL);
  g_main_context_push_thread_default(c->context);
  task = g_task_new(NULL, cancellable, callback, user_data);
  g_main_context_pop_thread_default(c->context);
  g_task_set_source_tag(task, actr_signaling_client_request_async);
  if (!ws_open(c)) {
    /* Through an idle: never call back from inside this call. */
    g_task_report_new_error(NULL, callback, user_data, actr_signaling_client_request_async,
                            G_IO_ERROR,
                            c->destroyed ? G_IO_ERROR_CANCELLED : G_IO_ERROR_NOT_CONNECTED,
                            "signaling is not connected");
    return;
  }
  w = g_new0(Waiter, 1);
  w->client = c;
  w->envelope_id = next_envelope_id(c);
  g_task_set_task_data(task, w, (GDestroyNotify)waiter_free);
  frame = encode_request(c, request, w->envelope_id);
  w->timer = g_timeout_source_new(timeout_ms);
  g_source_set_callback(w->timer, on_waiter_timeout, task, NULL);
  g_source_attach(w->timer, c->context);
  if (cancellable != NULL) {
    w->cancel_watch = g_cancellable_source_new(cancellable);
    g_source_set_callback(w->cancel_watch, G_SOURCE_FUNC(on_waiter_cancelled), task, NULL);
    g_source_attach(w->cancel_watch, c->context);
  }
  g_hash_table_insert(c->waiters, g_strdup(w->envelope_id), g_object_ref(task));
  data = g_bytes_get_data(frame, &len);
  soup_websocket_connection_send_binary(c->ws, data, len);
}

Signaling__SignalingEnvelope *
actr_signaling_client_request_finish(ActrSignalingClient *c, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- convenience requests ------------------------------------------------------------ */

/* The reply's SignalingToActr with payload @expected, or NULL with @error. */
static const Signaling__SignalingToActr *
reply_payload(const Signaling__SignalingEnvelope *env,
              Signaling__SignalingToActr__PayloadCase expected, GError **error)
{
  if (env->flow_case != SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR ||
      env->server_to_actr->payload_case != expected) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "unexpected signaling reply payload");
    return NULL;
  }
  return env->server_to_actr;
}

static gboolean
error_response(const Actr__ErrorResponse *e, GError **error)
{
  g_set_error(error, ACTR_SIGNALING_SERVER_ERROR, (gint)e->code, "%s", e->message);
  return FALSE;
}

static void
type_free(ActrType *type)
{
  actr_type_clear(type);
  g_free(type);
}

/* Completion of a convenience request: parses the reply into the outer
 * task's result. */
typedef gboolean (*ParseFunc)(const Signaling__SignalingEnvelope *env, GTask *task, GError **error);

typedef struct {
  GTask *task; /* owned */
  ParseFunc parse;
} Outer;

static void
on_convenience_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Outer *o = user_data;
  g_autoptr(GTask) task = o->task;
  g_autoptr(GError) error = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;

  env = actr_signaling_client_request_finish(NULL, result, &error);
  if (env == NULL || !o->parse(env, task, &error))
    g_task_return_error(task, g_steal_pointer(&error));
  g_free(o);
}

static void
start_convenience(ActrSignalingClient *c, Signaling__ActrToSignaling *a, ParseFunc parse,
                  gpointer source_tag, GCancellable *cancellable, GAsyncReadyCallback callback,
                  gpointer user_data)
{
  Outer *o = g_new0(Outer, 1);

  g_main_context_push_thread_default(c->context);
  o->task = g_task_new(NULL, cancellable, callback, user_data);
  g_main_context_pop_thread_default(c->context);
  g_task_set_source_tag(o->task, source_tag);
  o->parse = parse;
  actr_signaling_client_request_async(c, a, REQUEST_TIMEOUT_MS, cancellable, on_convenience_reply,
                                      o);
}

static gboolean
parse_discovery(const Signaling__SignalingEnvelope *env, GTask *task, GError **error)
{
  const Signaling__SignalingToActr *s =
      reply_payload(env, SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_DISCOVERY_RESPONSE, error);
  const Actr__DiscoveryResponse *r;
  GPtrArray *types;

  if (s == NULL)
    return FALSE;
  r = s->discovery_response;
  if (r->result_case == ACTR__DISCOVERY_RESPONSE__RESULT_ERROR)
    return error_response(r->error, error);
  types = g_ptr_array_new_with_free_func((GDestroyNotify)type_free);
  if (r->result_case == ACTR__DISCOVERY_RESPONSE__RESULT_SUCCESS) {
    for (gsize i = 0; i < r->success->n_entries; i++) {
      ActrType *t = g_new0(ActrType, 1);

      actr_type_from_pb(r->success->entries[i]->actr_type, t);
      g_ptr_array_add(types, t);
    }
  }
  g_task_return_pointer(task, types, (GDestroyNotify)g_ptr_array_unref);
  return TRUE;
}

void
actr_signaling_client_discover_async(ActrSignalingClient *c, const char *manufacturer, guint limit,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__DiscoveryRequest req = ACTR__DISCOVERY_REQUEST__INIT;

  g_return_if_fail(c != NULL);
  req.manufacturer = (char *)manufacturer;
  if (limit > 0) {
    req.has_limit = TRUE;
    req.limit = limit;
  }
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_DISCOVERY_REQUEST;
  a.discovery_request = &req;
  start_convenience(c, &a, parse_discovery, actr_signaling_client_discover_async, cancellable,
                    callback, user_data);
}

GPtrArray *
actr_signaling_client_discover_finish(ActrSignalingClient *c, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

void
actr_route_candidates_free(ActrRouteCandidates *rc)
{
  if (rc == NULL)
    return;
  g_array_unref(rc->candidates);
  g_hash_table_unref(rc->ws_addresses);
  g_free(rc);
}

static gboolean
parse_route_candidates(const Signaling__SignalingEnvelope *env, GTask *task, GError **error)
{
  const Signaling__SignalingToActr *s =
      reply_payload(env, SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ROUTE_CANDIDATES_RESPONSE, error);
  const Actr__RouteCandidatesResponse *r;
  ActrRouteCandidates *rc;

  if (s == NULL)
    return FALSE;
  r = s->route_candidates_response;
  if (r->result_case == ACTR__ROUTE_CANDIDATES_RESPONSE__RESULT_ERROR)
    return error_response(r->error, error);
  rc = g_new0(ActrRouteCandidates, 1);
  rc->candidates = g_array_new(FALSE, TRUE, sizeof(ActrId));
  g_array_set_clear_func(rc->candidates, (GDestroyNotify)actr_id_clear);
  rc->ws_addresses = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  if (r->result_case == ACTR__ROUTE_CANDIDATES_RESPONSE__RESULT_SUCCESS) {
    for (gsize i = 0; i < r->success->n_candidates; i++) {
      ActrId id = {0};

      actr_id_from_pb(r->success->candidates[i], &id);
      g_array_append_val(rc->candidates, id);
    }
    for (gsize i = 0; i < r->success->n_ws_address_map; i++) {
      const Actr__WsAddressEntry *e = r->success->ws_address_map[i];
      g_auto(ActrId) id = {0};

      if (e->ws_address == NULL)
        continue;
      actr_id_from_pb(e->candidate_id, &id);
      g_hash_table_replace(rc->ws_addresses, actr_id_to_string(&id), g_strdup(e->ws_address));
    }
  }
  g_task_return_pointer(task, rc, (GDestroyNotify)actr_route_candidates_free);
  return TRUE;
}

void
actr_signaling_client_route_candidates_async(ActrSignalingClient *c, const ActrType *target,
                                             guint count, GCancellable *cancellable,
                                             GAsyncReadyCallback callback, gpointer user_data)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__RouteCandidatesRequest req = ACTR__ROUTE_CANDIDATES_REQUEST__INIT;
  Actr__RouteCandidatesRequest__NodeSelectionCriteria criteria =
      ACTR__ROUTE_CANDIDATES_REQUEST__NODE_SELECTION_CRITERIA__INIT;
  Actr__ActrType type;

  g_return_if_fail(c != NULL && target != NULL);
  actr_type_to_pb(target, &type);
  criteria.candidate_count = count != 0 ? count : 1;
  req.target_type = &type;
  req.criteria = &criteria;
  req.client_fingerprint = (char *)"";
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_ROUTE_CANDIDATES_REQUEST;
  a.route_candidates_request = &req;
  start_convenience(c, &a, parse_route_candidates, actr_signaling_client_route_candidates_async,
                    cancellable, callback, user_data);
}

ActrRouteCandidates *
actr_signaling_client_route_candidates_finish(ActrSignalingClient *c, GAsyncResult *result,
                                              GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

static gboolean
parse_signing_key(const Signaling__SignalingEnvelope *env, GTask *task, GError **error)
{
  const Signaling__SignalingToActr *s =
      reply_payload(env, SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_GET_SIGNING_KEY_RESPONSE, error);
  const Signaling__GetSigningKeyResponse *r;

  if (s == NULL)
    return FALSE;
  r = s->get_signing_key_response;
  if (r->pubkey.len != ACTR_ED25519_PUBLIC_KEY_SIZE) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "signing key reply: pubkey is not 32 bytes");
    return FALSE;
  }
  g_task_return_pointer(task, g_memdup2(r->pubkey.data, r->pubkey.len), g_free);
  return TRUE;
}

void
actr_signaling_client_get_signing_key_async(ActrSignalingClient *c, guint32 key_id,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Signaling__GetSigningKeyRequest req = SIGNALING__GET_SIGNING_KEY_REQUEST__INIT;

  g_return_if_fail(c != NULL);
  req.key_id = key_id;
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_GET_SIGNING_KEY_REQUEST;
  a.get_signing_key_request = &req;
  start_convenience(c, &a, parse_signing_key, actr_signaling_client_get_signing_key_async,
                    cancellable, callback, user_data);
}

gboolean
actr_signaling_client_get_signing_key_finish(ActrSignalingClient *c, GAsyncResult *result,
                                             guint8 pubkey[ACTR_ED25519_PUBLIC_KEY_SIZE],
                                             GError **error)
{
  g_autofree guint8 *key = NULL;

  g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
  key = g_task_propagate_pointer(G_TASK(result), error);
  if (key == NULL)
    return FALSE;
  memcpy(pubkey, key, ACTR_ED25519_PUBLIC_KEY_SIZE);
  return TRUE;
}

static gboolean
parse_presence(const Signaling__SignalingEnvelope *env, GTask *task, GError **error)
{
  const Signaling__SignalingToActr *s = env->server_to_actr;

  if (env->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR &&
      s->payload_case == SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_SUBSCRIBE_ACTR_UP_RESPONSE) {
    if (s->subscribe_actr_up_response->result_case ==
        ACTR__SUBSCRIBE_ACTR_UP_RESPONSE__RESULT_ERROR)
      return error_response(s->subscribe_actr_up_response->error, error);
  } else if (env->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR &&
             s->payload_case ==
                 SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_UNSUBSCRIBE_ACTR_UP_RESPONSE) {
    if (s->unsubscribe_actr_up_response->result_case ==
        ACTR__UNSUBSCRIBE_ACTR_UP_RESPONSE__RESULT_ERROR)
      return error_response(s->unsubscribe_actr_up_response->error, error);
  } else {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "unexpected signaling reply payload");
    return FALSE;
  }
  g_task_return_boolean(task, TRUE);
  return TRUE;
}

void
actr_signaling_client_presence_async(ActrSignalingClient *c, const ActrType *type,
                                     gboolean subscribe, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__SubscribeActrUpRequest sub = ACTR__SUBSCRIBE_ACTR_UP_REQUEST__INIT;
  Actr__UnsubscribeActrUpRequest unsub = ACTR__UNSUBSCRIBE_ACTR_UP_REQUEST__INIT;
  Actr__ActrType pb;

  g_return_if_fail(c != NULL && type != NULL);
  actr_type_to_pb(type, &pb);
  if (subscribe) {
    sub.target_type = &pb;
    a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_SUBSCRIBE_ACTR_UP_REQUEST;
    a.subscribe_actr_up_request = &sub;
  } else {
    unsub.target_type = &pb;
    a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_UNSUBSCRIBE_ACTR_UP_REQUEST;
    a.unsubscribe_actr_up_request = &unsub;
  }
  start_convenience(c, &a, parse_presence, actr_signaling_client_presence_async, cancellable,
                    callback, user_data);
}

gboolean
actr_signaling_client_presence_finish(ActrSignalingClient *c, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
  return g_task_propagate_boolean(G_TASK(result), error);
}

gboolean
actr_signaling_client_unregister(ActrSignalingClient *c, const char *reason)
{
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__UnregisterRequest req = ACTR__UNREGISTER_REQUEST__INIT;
  g_autofree char *envelope_id = NULL;
  g_autoptr(GBytes) frame = NULL;
  ActrIdPb id;
  gsize len;
  const guint8 *data;

  g_return_val_if_fail(c != NULL, FALSE);
  if (!ws_open(c))
    return FALSE;
  actr_id_to_pb(&c->id, &id);
  req.actr_id = &id.id;
  req.reason = (char *)reason;
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_UNREGISTER_REQUEST;
  a.unregister_request = &req;
  envelope_id = next_envelope_id(c);
  frame = encode_request(c, &a, envelope_id);
  data = g_bytes_get_data(frame, &len);
  soup_websocket_connection_send_binary(c->ws, data, len);
  return TRUE;
}

gboolean
actr_signaling_client_send_relay(ActrSignalingClient *c, const ActrId *target,
                                 Signaling__ActrRelay *relay, char **envelope_id_out)
{
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  Actr__AIdCredential cred;
  ActrIdPb source, to;
  g_autofree char *envelope_id = NULL;
  g_autoptr(GBytes) frame = NULL;
  gsize len;
  const guint8 *data;

  g_return_val_if_fail(c != NULL && target != NULL && relay != NULL, FALSE);
  if (!ws_open(c))
    return FALSE;
  identity_view(c, &source, &cred);
  actr_id_to_pb(target, &to);
  relay->source = &source.id;
  relay->credential = &cred;
  relay->target = &to.id;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY;
  env.actr_relay = relay;
  envelope_id = next_envelope_id(c);
  frame = encode_envelope(&env, envelope_id);
  relay->source = NULL;
  relay->credential = NULL;
  relay->target = NULL;
  data = g_bytes_get_data(frame, &len);
  soup_websocket_connection_send_binary(c->ws, data, len);
  if (envelope_id_out != NULL)
    *envelope_id_out = g_steal_pointer(&envelope_id);
  return TRUE;
}
