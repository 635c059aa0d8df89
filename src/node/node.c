/* actr — the node: lifecycle, identity, registration, signaling and the
 * public API.  See include/actr/node.h and node-private.h. */
#include "node-private.h"

#include <stdlib.h>
#include <string.h>

#include <actr/identity.h>

#include "actr-id.h"
#include "peer-link-ws.h"

#define DEFAULT_CLIENT_TYPE    "actr:cli:1"
#define SIGNALING_CONNECT_SECS 30
#define SHUTDOWN_WORKLOAD_SECS 5
#define SHUTDOWN_DRAIN_MS      200
#define RENEW_MIN_DELAY_SECS   1
#define MAX_KEY_FETCHES        4

static void start_fail(ActrNode *node, GError *error);
static void reregister(ActrNode *node, const char *why);

/* ---- small helpers ----------------------------------------------------------- */

void
node_waiter_init(NodeWaiter *w)
{
  memset(w, 0, sizeof *w);
  g_mutex_init(&w->lock);
  g_cond_init(&w->cond);
}

void
node_waiter_finish(NodeWaiter *w, GBytes *reply, char *text, GError *error)
{
  g_mutex_lock(&w->lock);
  w->reply = reply;
  w->text = text;
  w->error = error;
  w->done = TRUE;
  g_cond_signal(&w->cond);
  g_mutex_unlock(&w->lock);
}

void
node_waiter_wait(NodeWaiter *w)
{
  g_mutex_lock(&w->lock);
  while (!w->done)
    g_cond_wait(&w->cond, &w->lock);
  g_mutex_unlock(&w->lock);
  g_mutex_clear(&w->lock);
  g_cond_clear(&w->cond);
}

void
node_waiter_out_call_done(OutCall *call, GBytes *reply, const GError *error, gpointer data)
{
  node_waiter_finish(data, reply ? g_bytes_ref(reply) : NULL, NULL,
                     error ? g_error_copy(error) : NULL);
}

void
node_waiter_run_call(NodeWaiter *w, OutCall *call)
{
  out_call_submit(call);
  node_waiter_wait(w);
}

void
node_post(ActrNode *node, GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
  GSource *source = g_idle_source_new();

  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_callback(source, func, data, destroy);
  g_source_set_static_name(source, "actr-node-post");
  g_source_attach(source, node->io_context);
  g_source_unref(source);
}

void
node_source_clear(ActrNode *node, guint *id)
{
  if (*id == 0)
    return;
  GSource *source = g_main_context_find_source_by_id(node->io_context, *id);
  if (source != NULL)
    g_source_destroy(source);
  *id = 0;
}

void
node_emit(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value)
{
  if (node->on_event != NULL)
    node->on_event(node, event, detail != NULL ? detail : "", value, node->event_data);
  node_workload_event(node, event, detail, value);
}

void
node_get_identity(ActrNode *node, ActrId *id_out, char **text_out, ActrCredential **credential_out)
{
  g_mutex_lock(&node->lock);
  if (id_out != NULL)
    actr_id_copy(&node->self_id, id_out);
  if (text_out != NULL)
    *text_out = g_strdup(node->self_text);
  if (credential_out != NULL)
    *credential_out = node->credential ? actr_credential_copy(node->credential) : NULL;
  g_mutex_unlock(&node->lock);
}

gboolean
node_is_stopping(ActrNode *node)
{
  return g_atomic_int_get(&node->stopping) != 0;
}

gboolean
node_key_lookup(guint32 key_id, guint8 public_key[32], gpointer user_data)
{
  ActrNode *node = user_data;
  const guint8 *key = g_hash_table_lookup(node->signing_keys, GUINT_TO_POINTER(key_id));

  if (key == NULL)
    return FALSE;
  memcpy(public_key, key, 32);
  return TRUE;
}

static void
add_signing_key(ActrNode *node, guint32 key_id, const guint8 public_key[32])
{
  g_hash_table_replace(node->signing_keys, GUINT_TO_POINTER(key_id), g_memdup2(public_key, 32));
}

/* Builds the protobuf Acl sent to the AIS from the config's rules. */
static Actr__Acl *
acl_pb_new(const ActrConfig *config)
{
  if (!config->acl_present)
    return NULL;
  Actr__Acl *acl = g_new0(Actr__Acl, 1);
  actr__acl__init(acl);
  acl->n_rules = config->n_acl_rules;
  acl->rules = g_new0(Actr__AclRule *, config->n_acl_rules + 1);
  for (guint i = 0; i < config->n_acl_rules; i++) {
    const ActrAclRule *r = &config->acl_rules[i];
    Actr__AclRule *pb = g_new0(Actr__AclRule, 1);
    actr__acl_rule__init(pb);
    pb->permission = r->permission == ACTR_ACL_ALLOW ? ACTR__ACL_RULE__PERMISSION__ALLOW
                                                     : ACTR__ACL_RULE__PERMISSION__DENY;
    pb->from_type = g_new0(Actr__ActrType, 1);
    actr_type_to_pb(&r->type, pb->from_type); /* a view of the config's strings */
    if (r->realm == ACTR_ACL_REALM_ANY) {
      pb->source_realm_case = ACTR__ACL_RULE__SOURCE_REALM_ANY_REALM;
      pb->any_realm = TRUE;
    } else {
      pb->source_realm_case = ACTR__ACL_RULE__SOURCE_REALM_REALM_ID;
      pb->realm_id = r->realm_id;
    }
    acl->rules[i] = pb;
  }
  return acl;
}

static void
acl_pb_free(Actr__Acl *acl)
{
  if (acl == NULL)
    return;
  for (gsize i = 0; i < acl->n_rules; i++) {
    g_free(acl->rules[i]->from_type);
    g_free(acl->rules[i]);
  }
  g_free(acl->rules);
  g_free(acl);
}

/* ---- construction ------------------------------------------------------------ */

ActrNode *
actr_node_new(const ActrConfig *config, const ActrNodeOptions *options, GError **error)
{
  static const ActrNodeOptions no_options = {0};
  g_autoptr(ActrWorkload) workload = NULL;
  const char *type_text = NULL;
  ActrType type = {0};

  g_return_val_if_fail(config != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (options == NULL)
    options = &no_options;

  g_autoptr(ActrPackage) package = NULL;
  g_autofree char *extracted = NULL;
  if (options->workload_path != NULL && node_package_is_package(options->workload_path)) {
    package = node_package_open(config, options->workload_path, &extracted, error);
    if (package == NULL)
      return NULL;
  }
  if (options->workload_path != NULL) {
    workload = actr_workload_load(extracted ? extracted : options->workload_path, error);
    if (workload == NULL)
      return NULL;
  }
  g_autofree char *config_type = NULL;
  if (options->actr_type != NULL) {
    type_text = options->actr_type;
  } else if (config->package.has_actr_type) {
    config_type = actr_type_to_string(&config->package.actr_type);
    type_text = config_type;
  } else if (package != NULL) {
    ActrType manifest_type = {0};
    actr_package_manifest_get_type(actr_package_get_manifest(package), &manifest_type);
    config_type = actr_type_to_string(&manifest_type);
    actr_type_clear(&manifest_type);
    type_text = config_type;
  } else if (workload != NULL) {
    type_text = actr_workload_get_actr_type(workload);
  } else {
    type_text = DEFAULT_CLIENT_TYPE;
  }
  if (!actr_type_parse(type_text, &type, error))
    return NULL;

  ActrNode *node = g_new0(ActrNode, 1);
  node->config = config;
  node->on_event = options->on_event;
  node->event_data = options->user_data;
  node->websocket_server = config->websocket.enabled && !options->no_websocket_server;
  node->type = type;
  node->type_text = actr_type_to_string(&type);
  node->workload = g_steal_pointer(&workload);
  node->package = g_steal_pointer(&package);
  node->acl = actr_acl_new(config->acl_present, config->acl_rules, config->n_acl_rules);
  node->acl_pb = acl_pb_new(config);
  node->backpressure_threshold = config->hyper.mailbox_backpressure_threshold;
  if (node->backpressure_threshold == 0)
    node->backpressure_threshold = 1024;
  actr_config_get_store_options(config, &node->store_options);
  if (node->workload != NULL) {
    node->store_path = actr_config_mailbox_path(config, &node->type, error);
    if (node->store_path == NULL) {
      actr_node_free(node);
      return NULL;
    }
  }
  g_mutex_init(&node->lock);
  g_cond_init(&node->cond);
  g_mutex_init(&node->streams_lock);
  node->streams = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  node->state = NODE_NEW;
  node->io_context = g_main_context_new();
  node->io_loop = g_main_loop_new(node->io_context, FALSE);
  node->work_queue = g_async_queue_new_full(node_work_item_free);
  node->signing_keys = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
  node->key_fetches = g_hash_table_new(g_direct_hash, g_direct_equal);
  node->key_misses = g_hash_table_new(g_direct_hash, g_direct_equal);
  node->reply_routes =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  node_outbound_init(node);
  if (!node_webrtc_init(node, error)) {
    actr_node_free(node);
    return NULL;
  }
  return node;
}

/* ---- the I/O thread ---------------------------------------------------------- */

static gpointer
io_thread_main(gpointer data)
{
  ActrNode *node = data;

  g_main_context_push_thread_default(node->io_context);
  g_main_loop_run(node->io_loop);
  g_main_context_pop_thread_default(node->io_context);
  return NULL;
}

/* ---- WebSocket direct-connect server ----------------------------------------- */

typedef struct {
  ActrNode *node;
  GHashTable *links; /* ActrWsLink * → ActrPeerLink * (ref) */
} ServerState;

static ActrPeerLink *
server_link_wrap(ServerState *st, ActrWsLink *ws, const ActrId *peer)
{
  ActrPeerLink *link = g_hash_table_lookup(st->links, ws);

  if (link == NULL) {
    g_autofree char *peer_text = actr_id_to_string(peer);
    link = actr_peer_link_ws_new(ws, TRUE, peer_text);
    g_hash_table_insert(st->links, ws, link);
    node_outbound_add_inbound(st->node, link);
    g_debug("node: inbound WebSocket link from %s", peer_text);
    node_emit(st->node, ACTR_NODE_EVENT_WEBSOCKET_CONNECTED, peer_text, 0);
  }
  return link;
}

static void
on_server_message(ActrWsServer *server, ActrWsLink *ws, ActrLane lane, GBytes *payload,
                  const ActrId *peer, gpointer user_data)
{
  ServerState *st = user_data;
  ActrPeerLink *link = server_link_wrap(st, ws, peer);

  node_gate_frame(st->node, link, lane, payload, peer);
}

static void
on_server_closed(ActrWsLink *ws, gpointer user_data)
{
  ServerState *st = user_data;
  ActrPeerLink *link = NULL;

  if (!g_hash_table_steal_extended(st->links, ws, NULL, (gpointer *)&link))
    return;
  node_gate_link_closed(st->node, link);
  node_outbound_remove_inbound(st->node, link);
  if (link->carried_streams)
    node_emit(st->node, ACTR_NODE_EVENT_DATA_STREAM_UNCERTAIN, link->peer_text, 0);
  actr_peer_link_emit_closed(link);
  node_emit(st->node, ACTR_NODE_EVENT_WEBSOCKET_DISCONNECTED, link->peer_text, 0);
  actr_peer_link_unref(link);
}

typedef struct {
  ActrNode *node;
  guint32 key_id;
} KeyFetch;

static void
on_key_fetched(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree KeyFetch *fetch = user_data;
  ActrNode *node = fetch->node;
  guint8 pubkey[ACTR_ED25519_PUBLIC_KEY_SIZE];
  g_autoptr(GError) error = NULL;
  guint32 key_id = fetch->key_id;

  (void)source;
  if (node->signaling == NULL)
    return;
  if (actr_signaling_client_get_signing_key_finish(node->signaling, result, pubkey, &error)) {
    add_signing_key(node, key_id, pubkey);
    g_debug("node: AIS signing key %u fetched", key_id);
  } else {
    g_warning("node: cannot fetch AIS signing key %u: %s", key_id, error->message);
  }
  g_hash_table_remove(node->key_fetches, GUINT_TO_POINTER(key_id));
}

static void
on_key_miss(ActrWsServer *server, guint32 key_id, gpointer user_data)
{
  ServerState *st = user_data;
  ActrNode *node = st->node;

  if (node->signaling == NULL || g_hash_table_contains(node->key_fetches, GUINT_TO_POINTER(key_id)))
    return;
  /* Anyone can present a made-up key id before authenticating: ask actrd
   * about one id at most once a minute, and a few at a time. */
  gint64 now = g_get_monotonic_time();
  gpointer last = g_hash_table_lookup(node->key_misses, GUINT_TO_POINTER(key_id));
  if ((last != NULL && now - GPOINTER_TO_SIZE(last) < 60 * G_USEC_PER_SEC) ||
      g_hash_table_size(node->key_fetches) >= MAX_KEY_FETCHES)
    return;
  if (g_hash_table_size(node->key_misses) >= 4096)
    g_hash_table_remove_all(node->key_misses);
  g_hash_table_replace(node->key_misses, GUINT_TO_POINTER(key_id), GSIZE_TO_POINTER((gsize)now));
  KeyFetch *fetch = g_new0(KeyFetch, 1);
  fetch->node = node;
  fetch->key_id = key_id;
  g_hash_table_add(node->key_fetches, GUINT_TO_POINTER(key_id));
  actr_signaling_client_get_signing_key_async(node->signaling, key_id, NULL, on_key_fetched, fetch);
}

static void
server_state_free(gpointer data)
{
  ServerState *st = data;
  g_hash_table_unref(st->links);
  g_free(st);
}

/* The listen address: a loopback advertised host keeps the listener on
 * loopback; anything else listens on every interface (wire.md §6). */
static const char *
listen_host_for(const char *advertised)
{
  if (g_strcmp0(advertised, "localhost") == 0 || g_str_has_prefix(advertised, "127."))
    return advertised;
  if (g_strcmp0(advertised, "::1") == 0)
    return advertised;
  return "0.0.0.0";
}

/* GET /metrics on the WebSocket listener: which transports carry the
 * node's traffic and why WebRTC sessions ended (Prometheus text). */
static char *
node_metrics_text(ActrWsServer *server, gpointer user_data)
{
  ServerState *st = user_data;
  ActrNode *node = st->node;
  const NodeMetrics *m = &node->metrics;
  GString *out = g_string_new(NULL);
  guint relayed = 0;
  guint open = node_webrtc_connected_count(node, &relayed);
  (void)server;

  g_string_append_printf(out,
                         "# HELP actr_node_webrtc_enabled Whether the node uses WebRTC.\n"
                         "# TYPE actr_node_webrtc_enabled gauge\n"
                         "actr_node_webrtc_enabled %d\n",
                         node->rtc_sessions != NULL);
  g_string_append_printf(out,
                         "# HELP actr_node_webrtc_connections Open WebRTC connections.\n"
                         "# TYPE actr_node_webrtc_connections gauge\n"
                         "actr_node_webrtc_connections{path=\"direct\"} %u\n"
                         "actr_node_webrtc_connections{path=\"relayed\"} %u\n",
                         open - relayed, relayed);
  g_string_append_printf(out,
                         "# HELP actr_node_webrtc_connected_total WebRTC connections set up.\n"
                         "# TYPE actr_node_webrtc_connected_total counter\n"
                         "actr_node_webrtc_connected_total{path=\"direct\"} %" G_GUINT64_FORMAT "\n"
                         "actr_node_webrtc_connected_total{path=\"relayed\"} %" G_GUINT64_FORMAT
                         "\n",
                         m->rtc_connected_total - m->rtc_relayed_total, m->rtc_relayed_total);
  g_string_append(out, "# HELP actr_node_webrtc_ended_total WebRTC sessions ended, by reason.\n"
                       "# TYPE actr_node_webrtc_ended_total counter\n");
  for (int i = 0; i < NODE_RTC_END_COUNT; i++)
    g_string_append_printf(out,
                           "actr_node_webrtc_ended_total{reason=\"%s\"} %" G_GUINT64_FORMAT "\n",
                           node_rtc_end_to_string(i), m->rtc_ended[i]);
  g_string_append_printf(
      out,
      "# HELP actr_node_ice_restarts_total ICE restart offers sent.\n"
      "# TYPE actr_node_ice_restarts_total counter\n"
      "actr_node_ice_restarts_total %" G_GUINT64_FORMAT "\n"
      "# HELP actr_node_websocket_fallbacks_total Peers dialled over WebSocket because WebRTC "
      "could not be set up.\n"
      "# TYPE actr_node_websocket_fallbacks_total counter\n"
      "actr_node_websocket_fallbacks_total %" G_GUINT64_FORMAT "\n"
      "# HELP actr_node_messages_sent_total Requests and tells sent, by transport.\n"
      "# TYPE actr_node_messages_sent_total counter\n"
      "actr_node_messages_sent_total{transport=\"webrtc\"} %" G_GUINT64_FORMAT "\n"
      "actr_node_messages_sent_total{transport=\"websocket\"} %" G_GUINT64_FORMAT "\n"
      "# HELP actr_node_websocket_links Inbound WebSocket direct-connect links.\n"
      "# TYPE actr_node_websocket_links gauge\n"
      "actr_node_websocket_links %u\n",
      m->ice_restarts_total, m->ws_fallback_total, m->sent_webrtc, m->sent_websocket,
      node->ws_server != NULL ? actr_ws_server_get_n_links(node->ws_server) : 0);
  return g_string_free(out, FALSE);
}

static gboolean
ws_server_start(ActrNode *node, GError **error)
{
  ServerState *st = g_new0(ServerState, 1);
  ActrWsServerConfig cfg = {
      .key_lookup = node_key_lookup,
      .key_lookup_data = node,
      .on_message = on_server_message,
      .on_closed = on_server_closed,
      .on_key_miss = on_key_miss,
      .metrics = node_metrics_text,
  };
  const char *advertised = node->config->websocket.advertised_host;

  if (advertised == NULL || advertised[0] == '\0')
    advertised = "127.0.0.1";
  st->node = node;
  st->links = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                    (GDestroyNotify)actr_peer_link_unref);
  node->ws_server = actr_ws_server_new(node->io_context, &cfg, st, server_state_free);
  if (!actr_ws_server_listen(node->ws_server, listen_host_for(advertised),
                             node->config->websocket.listen_port, error)) {
    g_clear_pointer(&node->ws_server, actr_ws_server_free);
    return FALSE;
  }
  node->ws_port = actr_ws_server_get_port(node->ws_server);
  if (strchr(advertised, ':') != NULL)
    node->ws_address = g_strdup_printf("ws://[%s]:%u", advertised, node->ws_port);
  else
    node->ws_address = g_strdup_printf("ws://%s:%u", advertised, node->ws_port);
  g_info("node: WebSocket direct-connect on %s", node->ws_address);
  return TRUE;
}

/* ---- signaling ----------------------------------------------------------------- */

static void
on_resubscribed(GObject *source, GAsyncResult *result, gpointer user_data)
{
  ActrNode *node = user_data;
  g_autoptr(GError) error = NULL;

  if (node->signaling != NULL &&
      !actr_signaling_client_presence_finish(node->signaling, result, &error))
    g_warning("node: presence subscription not renewed: %s", error->message);
}

static void
on_signaling_state(ActrSignalingClient *client, ActrSignalingState state, const GError *error,
                   gpointer user_data)
{
  ActrNode *node = user_data;

  if (state == ACTR_SIGNALING_CONNECTED) {
    node->signaling_was_connected = TRUE;
    for (guint i = 0; node->subscriptions != NULL && i < node->subscriptions->len; i++)
      actr_signaling_client_presence_async(client, g_ptr_array_index(node->subscriptions, i), TRUE,
                                           NULL, on_resubscribed, node);
    g_debug("node: signaling connected");
    node_emit(node, ACTR_NODE_EVENT_SIGNALING_CONNECTED, node->config->signaling_url, 0);
    if (node->connect_timer != 0) {
      node_source_clear(node, &node->connect_timer);
      node_workload_on_start_async(node);
    }
  } else if (state == ACTR_SIGNALING_DISCONNECTED) {
    g_free(node->signaling_error);
    node->signaling_error = g_strdup(error != NULL ? error->message : "disconnected");
    if (node->signaling_was_connected) {
      node->signaling_was_connected = FALSE;
      g_message("node: signaling disconnected (%s); reconnecting", node->signaling_error);
      node_emit(node, ACTR_NODE_EVENT_SIGNALING_DISCONNECTED, node->signaling_error, 0);
    }
  }
}

static void
on_signaling_push(ActrSignalingClient *client, const Signaling__SignalingEnvelope *envelope,
                  gpointer user_data)
{
  ActrNode *node = user_data;

  if (envelope->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY &&
      envelope->actr_relay != NULL) {
    node_webrtc_relay(node, envelope->actr_relay);
    return;
  }
  if (envelope->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR &&
      envelope->server_to_actr->payload_case == SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ERROR &&
      envelope->server_to_actr->error != NULL) {
    const Actr__ErrorResponse *e = envelope->server_to_actr->error;
    if (!node_webrtc_relay_refused(node, envelope->reply_for, e->code, e->message))
      g_message("node: actrd refused a message (%u: %s)", e->code, e->message);
    return;
  }
  if (envelope->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR &&
      envelope->server_to_actr->payload_case ==
          SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ACTR_UP_EVENT &&
      envelope->server_to_actr->actr_up_event->actor_id != NULL) {
    g_auto(ActrId) id = {0};
    actr_id_from_pb(envelope->server_to_actr->actr_up_event->actor_id, &id);
    g_autofree char *text = actr_id_to_string(&id);
    g_debug("node: %s is up", text);
    node_emit(node, ACTR_NODE_EVENT_PEER_UP, text, 0);
    return;
  }
  g_debug("node: unsolicited signaling envelope %s ignored", envelope->envelope_id);
}

static void
on_credential_rejected(ActrSignalingClient *client, const char *message, gpointer user_data)
{
  ActrNode *node = user_data;

  g_message("node: actrd rejected the credential (%s); registering again", message);
  node_emit(node, ACTR_NODE_EVENT_CREDENTIAL_EXPIRING, message, 0);
  reregister(node, message);
}

/* Power reserve 1.0 (worst) … 5.0 (best) from the load average; the
 * reference's fallback of 1.0 always reported UNAVAILABLE (runtime.md §19). */
static void
on_signaling_load(ActrSignalingClient *client, float *power_reserve, float *mailbox_backlog,
                  gpointer user_data)
{
  ActrNode *node = user_data;
  double load = 0;
  double cpus = MAX(1, g_get_num_processors());

  if (getloadavg(&load, 1) == 1)
    *power_reserve = (float)(5.0 - 4.0 * MIN(1.0, load / cpus));
  else
    *power_reserve = 3.0f;
  *mailbox_backlog =
      (float)MIN(1.0, g_atomic_int_get(&node->queued_depth) / ACTR_NODE_BACKLOG_CAPACITY);
}

static gboolean
on_connect_timeout(gpointer data)
{
  ActrNode *node = data;

  node->connect_timer = 0;
  start_fail(node, actr_error_new(ACTR_ERROR_UNAVAILABLE,
                                  "Signaling connect failed: %s did not accept a connection "
                                  "within %d s (%s)",
                                  node->config->signaling_url, SIGNALING_CONNECT_SECS,
                                  node->signaling_error ? node->signaling_error : "no answer"));
  return G_SOURCE_REMOVE;
}

/* ---- registration -------------------------------------------------------------- */

static void register_async(ActrNode *node, GAsyncReadyCallback callback);

static gboolean
on_renew_timer(gpointer data)
{
  ActrNode *node = data;

  node->renew_timer = 0;
  g_info("node: credential expires soon; registering again");
  node_emit(node, ACTR_NODE_EVENT_CREDENTIAL_EXPIRING, "credential expires soon", 0);
  reregister(node, "credential expires soon");
  return G_SOURCE_REMOVE;
}

/* Takes @reg as the node's identity (I/O). */
static void
adopt_registration(ActrNode *node, ActrAisRegistration *reg)
{
  g_mutex_lock(&node->lock);
  actr_id_clear(&node->self_id);
  actr_id_copy(&reg->actr_id, &node->self_id);
  g_free(node->self_text);
  node->self_text = actr_id_to_string(&reg->actr_id);
  actr_credential_free(node->credential);
  node->credential = actr_credential_copy(reg->credential);
  g_mutex_unlock(&node->lock);

  add_signing_key(node, reg->signing_key_id, reg->signing_pubkey);
  node->credential_expires_at = (gint64)reg->credential_expires_at;
  g_clear_pointer(&node->registration, actr_ais_registration_free);
  node->registration = reg;

  /* Renew when 80 % of the remaining lifetime has passed (the reference
   * only renews after actrd complains; runtime.md §11.4). */
  node_source_clear(node, &node->renew_timer);
  if (node->credential_expires_at > 0) {
    gint64 left = node->credential_expires_at - g_get_real_time() / G_USEC_PER_SEC;
    gint64 delay = MAX(RENEW_MIN_DELAY_SECS, left * 8 / 10);
    GSource *timer = g_timeout_source_new_seconds((guint)MIN(delay, G_MAXUINT32 / 2));
    g_source_set_callback(timer, on_renew_timer, node, NULL);
    node->renew_timer = g_source_attach(timer, node->io_context);
    g_source_unref(timer);
  }
}

static void
on_registered(GObject *source, GAsyncResult *result, gpointer user_data)
{
  ActrNode *node = user_data;
  g_autoptr(GError) error = NULL;
  ActrAisRegistration *reg = actr_ais_register_finish(result, &error);

  (void)source;
  if (reg == NULL) {
    start_fail(node, actr_error_new(ACTR_ERROR_UNAVAILABLE, "registration with %s failed: %s",
                                    node->config->ais_endpoint, error->message));
    return;
  }
  if (node_is_stopping(node)) {
    actr_ais_registration_free(reg);
    return;
  }
  adopt_registration(node, reg);
  g_info("node: registered as %s", node->self_text);

  node->signaling = actr_signaling_client_new(node->config->signaling_url, &reg->actr_id,
                                              reg->credential, node->io_context);
  actr_signaling_client_set_state_func(node->signaling, on_signaling_state, node, NULL);
  actr_signaling_client_set_push_func(node->signaling, on_signaling_push, node, NULL);
  actr_signaling_client_set_credential_rejected_func(node->signaling, on_credential_rejected, node,
                                                     NULL);
  actr_signaling_client_set_load_func(node->signaling, on_signaling_load, node, NULL);
  actr_signaling_client_set_heartbeat_interval(node->signaling, reg->heartbeat_interval_secs);
  actr_signaling_client_set_answer_role(node->signaling, node->config->webrtc.has_port_range);

  GSource *timer = g_timeout_source_new_seconds(SIGNALING_CONNECT_SECS);
  g_source_set_callback(timer, on_connect_timeout, node, NULL);
  node->connect_timer = g_source_attach(timer, node->io_context);
  g_source_unref(timer);
  actr_signaling_client_start(node->signaling);
  if (node->credential_expires_at > 0)
    node_emit(node, ACTR_NODE_EVENT_CREDENTIAL_RENEWED, node->self_text,
              (guint64)node->credential_expires_at);
}

static void
register_async(ActrNode *node, GAsyncReadyCallback callback)
{
  ActrAisRegisterParams params = {
      .actr_type = &node->type,
      .realm_id = node->config->realm_id,
      .acl = node->acl_pb,
      .ws_address = node->ws_address,
      .realm_secret = node->config->realm_secret,
      .manifest_raw = node->package ? actr_package_get_manifest_raw(node->package) : NULL,
      .mfr_signature = node->package ? actr_package_get_signature(node->package) : NULL,
      .target = node->package ? actr_package_get_manifest(node->package)->binary_target : NULL,
  };
  actr_ais_register_async(node->config->ais_endpoint, &params, node->io_context, NULL, callback,
                          node);
}

static void
on_reregistered(GObject *source, GAsyncResult *result, gpointer user_data)
{
  ActrNode *node = user_data;
  g_autoptr(GError) error = NULL;
  ActrAisRegistration *reg = actr_ais_register_finish(result, &error);
  g_autofree char *old_text = NULL;

  (void)source;
  node->reregistering = FALSE;
  if (node_is_stopping(node) || node->signaling == NULL) {
    if (reg != NULL)
      actr_ais_registration_free(reg);
    return;
  }
  if (reg == NULL) {
    g_warning("node: registering again failed: %s (retrying in 5 s)", error->message);
    GSource *timer = g_timeout_source_new_seconds(5);
    g_source_set_callback(timer, on_renew_timer, node, NULL);
    node_source_clear(node, &node->renew_timer);
    node->renew_timer = g_source_attach(timer, node->io_context);
    g_source_unref(timer);
    return;
  }
  old_text = g_strdup(node->self_text);
  adopt_registration(node, reg);
  /* The new identity is used everywhere from now on (the reference keeps
   * the old id in the node, runtime.md §19.9): signaling, new links, ACL
   * contexts, replies. */
  actr_signaling_client_set_identity(node->signaling, &reg->actr_id, reg->credential);
  actr_signaling_client_set_heartbeat_interval(node->signaling, reg->heartbeat_interval_secs);
  actr_signaling_client_reconnect(node->signaling);
  if (g_strcmp0(old_text, node->self_text) != 0) {
    g_message("node: registered again as %s (was %s)", node->self_text, old_text);
    /* WebSocket links authenticated the old identity: dial again.  WebRTC
     * connections carry no identity per message and stay (peers still know
     * us by the old id on them); new ones are negotiated as the new id. */
    node_outbound_close_links(node);
  } else {
    g_info("node: credential renewed for %s", node->self_text);
  }
  node_emit(node, ACTR_NODE_EVENT_CREDENTIAL_RENEWED, node->self_text,
            (guint64)node->credential_expires_at);
}

static void
reregister(ActrNode *node, const char *why)
{
  if (node->reregistering || node_is_stopping(node))
    return;
  node->reregistering = TRUE;
  g_debug("node: registering again: %s", why);
  register_async(node, on_reregistered);
}

/* ---- start --------------------------------------------------------------------- */

static void
start_fail(ActrNode *node, GError *error)
{
  node_source_clear(node, &node->connect_timer);
  g_mutex_lock(&node->lock);
  if (!node->start_done) {
    node->start_error = error;
    node->start_done = TRUE;
    g_cond_broadcast(&node->cond);
    error = NULL;
  }
  g_mutex_unlock(&node->lock);
  if (error != NULL)
    g_error_free(error);
}

/* Runs on the I/O thread when the workload's on_start finished (or right
 * away without a workload). */
void
node_start_continue(ActrNode *node, GError *on_start_error)
{
  if (on_start_error != NULL) {
    start_fail(node, on_start_error);
    return;
  }
  if (node_is_stopping(node))
    return;
  g_mutex_lock(&node->lock);
  node->state = NODE_RUNNING;
  node->start_done = TRUE;
  g_cond_broadcast(&node->cond);
  g_mutex_unlock(&node->lock);
  if (node->workload != NULL) {
    node_mailbox_wake(node); /* messages left from the last run */
    node_workload_on_ready(node);
  }
  g_info("node: %s ready", node->self_text);
  node_emit(node, ACTR_NODE_EVENT_READY, node->self_text, 0);
}

static gboolean
start_on_io(gpointer data)
{
  ActrNode *node = data;
  g_autoptr(GError) error = NULL;

  if (node->websocket_server && !ws_server_start(node, &error)) {
    start_fail(node, g_steal_pointer(&error));
    return G_SOURCE_REMOVE;
  }
  register_async(node, on_registered);
  return G_SOURCE_REMOVE;
}

static gboolean
store_open(ActrNode *node, GError **error)
{
  g_autofree char *dir = g_path_get_dirname(node->store_path);

  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int saved = errno;
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_IO, "%s: cannot create directory: %s",
                dir, g_strerror(saved));
    return FALSE;
  }
  node->store = actr_store_open(node->store_path, &node->store_options, error);
  if (node->store == NULL)
    return FALSE;
  actr_store_set_depth_observer(node->store, node_depth_observer, node, NULL);
  return TRUE;
}

gboolean
actr_node_start(ActrNode *node, GError **error)
{
  g_return_val_if_fail(node != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  g_mutex_lock(&node->lock);
  if (node->state != NODE_NEW) {
    g_mutex_unlock(&node->lock);
    g_set_error(error, ACTR_ERROR, ACTR_ERROR_INVALID_ARGUMENT,
                "invalid argument: the node was already started");
    return FALSE;
  }
  node->state = NODE_STARTING;
  g_mutex_unlock(&node->lock);

  node->io_thread = g_thread_new("actr-io", io_thread_main, node);
  if (node->workload != NULL) {
    GError *local = NULL;
    if (!store_open(node, &local) || !node_workload_thread_start(node, &local)) {
      start_fail(node, local);
      goto wait;
    }
  }
  node_post(node, start_on_io, node, NULL);

wait:
  g_mutex_lock(&node->lock);
  while (!node->start_done)
    g_cond_wait(&node->cond, &node->lock);
  GError *failure = g_steal_pointer(&node->start_error);
  g_mutex_unlock(&node->lock);
  if (failure != NULL) {
    g_propagate_error(error, failure);
    actr_node_shutdown(node);
    actr_node_wait(node);
    return FALSE;
  }
  return TRUE;
}

/* ---- presence ------------------------------------------------------------------- */

static gboolean check_caller_thread(ActrNode *node, GError **error);

static void
type_free(gpointer data)
{
  actr_type_clear(data);
  g_free(data);
}

typedef struct {
  ActrNode *node;
  ActrType type;
  NodeWaiter w;
} Subscribe;

static void
on_subscribed(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Subscribe *sub = user_data;
  ActrNode *node = sub->node;
  g_autoptr(GError) error = NULL;

  if (!actr_signaling_client_presence_finish(node->signaling, result, &error)) {
    node_waiter_finish(
        &sub->w, NULL, NULL,
        actr_error_new(ACTR_ERROR_UNAVAILABLE, "presence subscription: %s", error->message));
    return;
  }
  ActrType *copy = g_new0(ActrType, 1);
  copy->manufacturer = g_strdup(sub->type.manufacturer);
  copy->name = g_strdup(sub->type.name);
  copy->version = g_strdup(sub->type.version);
  if (node->subscriptions == NULL)
    node->subscriptions = g_ptr_array_new_with_free_func(type_free);
  gboolean known = FALSE;
  for (guint i = 0; i < node->subscriptions->len && !known; i++)
    known = actr_type_equal(g_ptr_array_index(node->subscriptions, i), copy);
  if (known)
    type_free(copy);
  else
    g_ptr_array_add(node->subscriptions, copy);
  node_waiter_finish(&sub->w, NULL, NULL, NULL);
}

static gboolean
subscribe_on_io(gpointer data)
{
  Subscribe *sub = data;

  if (node_is_stopping(sub->node) || !node_signaling_ready(sub->node)) {
    node_waiter_finish(
        &sub->w, NULL, NULL,
        actr_error_new(ACTR_ERROR_UNAVAILABLE, "Signaling client is not connected."));
    return G_SOURCE_REMOVE;
  }
  actr_signaling_client_presence_async(sub->node->signaling, &sub->type, TRUE, NULL, on_subscribed,
                                       sub);
  return G_SOURCE_REMOVE;
}

gboolean
actr_node_subscribe(ActrNode *node, const char *actr_type, GError **error)
{
  Subscribe sub = {.node = node};
  GError *parse_error = NULL;

  g_return_val_if_fail(node != NULL && actr_type != NULL, FALSE);
  if (!check_caller_thread(node, error) || !node_check_running(node, error))
    return FALSE;
  if (!actr_type_parse(actr_type, &sub.type, &parse_error)) {
    g_set_error(error, ACTR_ERROR, ACTR_ERROR_INVALID_ARGUMENT, "invalid argument: %s",
                parse_error->message);
    g_error_free(parse_error);
    return FALSE;
  }
  node_waiter_init(&sub.w);
  node_post(node, subscribe_on_io, &sub, NULL);
  node_waiter_wait(&sub.w);
  actr_type_clear(&sub.type);
  if (sub.w.error != NULL) {
    g_propagate_error(error, sub.w.error);
    return FALSE;
  }
  return TRUE;
}

/* ---- network events (runtime.md §14) -------------------------------------------- */

#define NETWORK_SETTLE_MS 400

static gboolean
on_network_settled(gpointer data)
{
  ActrNode *node = data;
  ActrNetworkEvent event = node->network_last;
  guint burst = node->network_burst;

  node->network_timer = 0;
  node->network_burst = 0;
  if (node_is_stopping(node))
    return G_SOURCE_REMOVE;
  g_info("node: network %s (%u event(s) settled)",
         event == ACTR_NETWORK_LOST        ? "lost"
         : event == ACTR_NETWORK_AVAILABLE ? "available"
                                           : "changed",
         burst);
  /* Links on the old path may be half-open: close them; the next call
   * dials again, and calls in flight are retried within their timeout. */
  node_outbound_close_links(node);
  if (event != ACTR_NETWORK_LOST && node->signaling != NULL)
    actr_signaling_client_reconnect(node->signaling);
  /* WebRTC recovers in place: the offerer restarts ICE (wire.md §5.9). */
  if (event != ACTR_NETWORK_LOST)
    node_webrtc_network_changed(node);
  return G_SOURCE_REMOVE;
}

typedef struct {
  ActrNode *node;
  ActrNetworkEvent event;
} NetworkPost;

static gboolean
network_event_on_io(gpointer data)
{
  NetworkPost *post = data;
  ActrNode *node = post->node;

  node->network_last = post->event;
  node->network_burst++;
  /* Debounce: every event restarts the settle window. */
  node_source_clear(node, &node->network_timer);
  GSource *timer = g_timeout_source_new(NETWORK_SETTLE_MS);
  g_source_set_callback(timer, on_network_settled, node, NULL);
  node->network_timer = g_source_attach(timer, node->io_context);
  g_source_unref(timer);
  return G_SOURCE_REMOVE;
}

void
actr_node_network_event(ActrNode *node, ActrNetworkEvent event)
{
  g_return_if_fail(node != NULL);
  if (!node_check_running(node, NULL))
    return;
  NetworkPost *post = g_new0(NetworkPost, 1);
  post->node = node;
  post->event = event;
  node_post(node, network_event_on_io, post, g_free);
}

/* ---- shutdown ------------------------------------------------------------------ */

static gboolean
drain_done(gpointer data)
{
  ActrNode *node = data;

  node->drain_timer = 0;
  g_main_loop_quit(node->io_loop);
  g_mutex_lock(&node->lock);
  node->io_done = TRUE;
  g_cond_broadcast(&node->cond);
  g_mutex_unlock(&node->lock);
  return G_SOURCE_REMOVE;
}

/* The workload finished (or never existed): unregister, close, drain. */
static gboolean
shutdown_finish_on_io(gpointer data)
{
  ActrNode *node = data;

  if (node->finishing)
    return G_SOURCE_REMOVE; /* already finishing (timeout and completion raced) */
  node->finishing = TRUE;
  g_clear_pointer(&node->ws_server, actr_ws_server_free);
  node_outbound_fail_all(node, ACTR_ERROR_UNAVAILABLE, "node is shutting down");
  node_webrtc_close_all(node); /* before unregister, as the reference */
  node_outbound_close_links(node);
  g_hash_table_remove_all(node->reply_routes);
  if (node->signaling != NULL) {
    if (actr_signaling_client_get_state(node->signaling) == ACTR_SIGNALING_CONNECTED &&
        actr_signaling_client_unregister(node->signaling, "Graceful shutdown"))
      g_debug("node: unregistered %s", node->self_text);
    g_clear_pointer(&node->signaling, actr_signaling_client_free);
  }
  /* Let the close frames and the unregister leave before the loop stops. */
  GSource *timer = g_timeout_source_new(SHUTDOWN_DRAIN_MS);
  g_source_set_callback(timer, drain_done, node, NULL);
  node->drain_timer = g_source_attach(timer, node->io_context);
  g_source_unref(timer);
  return G_SOURCE_REMOVE;
}

static gboolean
shutdown_on_io(gpointer data)
{
  ActrNode *node = data;

  g_debug("node: shutting down");
  node_emit(node, ACTR_NODE_EVENT_SHUTDOWN, "shutdown requested", 0);
  node_source_clear(node, &node->connect_timer);
  node_source_clear(node, &node->renew_timer);
  node_source_clear(node, &node->network_timer);
  /* The direct-connect server stays up until the workload finished, so the
   * reply of the request in progress still reaches its caller; the gate
   * answers new requests with 10001 meanwhile. */
  /* Handlers blocked in outbound calls must not wait for their timeout. */
  node_outbound_fail_all(node, ACTR_ERROR_UNAVAILABLE, "node is shutting down");
  if (node->workload_thread != NULL) {
    node_workload_stop(node, shutdown_finish_on_io, node);
    /* A handler that never returns must not keep the node up for ever. */
    GSource *timer = g_timeout_source_new_seconds(SHUTDOWN_WORKLOAD_SECS);
    g_source_set_callback(timer, shutdown_finish_on_io, node, NULL);
    g_source_attach(timer, node->io_context);
    g_source_unref(timer);
  } else {
    shutdown_finish_on_io(node);
  }
  return G_SOURCE_REMOVE;
}

void
actr_node_shutdown(ActrNode *node)
{
  g_return_if_fail(node != NULL);
  g_mutex_lock(&node->lock);
  NodeState state = node->state;
  if (state == NODE_NEW)
    node->state = NODE_STOPPED;
  else if (state == NODE_STARTING || state == NODE_RUNNING)
    node->state = NODE_STOPPING;
  g_mutex_unlock(&node->lock);
  if (state != NODE_STARTING && state != NODE_RUNNING)
    return;
  g_atomic_int_set(&node->stopping, 1);
  /* A start() in progress returns with this (the I/O thread clears its
   * timers in shutdown_on_io). */
  g_mutex_lock(&node->lock);
  if (!node->start_done) {
    node->start_error =
        actr_error_new(ACTR_ERROR_UNAVAILABLE, "the node was shut down while starting");
    node->start_done = TRUE;
    g_cond_broadcast(&node->cond);
  }
  g_mutex_unlock(&node->lock);
  node_post(node, shutdown_on_io, node, NULL);
}

gboolean
actr_node_is_shutting_down(ActrNode *node)
{
  g_return_val_if_fail(node != NULL, TRUE);
  return node_is_stopping(node);
}

void
actr_node_wait(ActrNode *node)
{
  g_return_if_fail(node != NULL);
  g_mutex_lock(&node->lock);
  while (node->state != NODE_NEW && node->state != NODE_STOPPED && !node->io_done)
    g_cond_wait(&node->cond, &node->lock);
  gboolean join = node->state != NODE_STOPPED && node->state != NODE_NEW;
  node->state = node->state == NODE_NEW ? NODE_NEW : NODE_STOPPED;
  GThread *io = g_steal_pointer(&node->io_thread);
  GThread *wl = g_steal_pointer(&node->workload_thread);
  g_mutex_unlock(&node->lock);
  if (!join)
    return;
  if (wl != NULL)
    g_thread_join(wl);
  if (io != NULL)
    g_thread_join(io);
  if (node->store != NULL) {
    actr_store_set_depth_observer(node->store, NULL, NULL, NULL);
    g_clear_pointer(&node->store, actr_store_close);
  }
  g_debug("node: stopped");
}

void
actr_node_free(ActrNode *node)
{
  if (node == NULL)
    return;
  actr_node_shutdown(node);
  actr_node_wait(node);
  /* Run what is left on the context (replies of a handler that finished
   * late, closures that own memory) while everything they touch exists. */
  if (node->io_context != NULL)
    while (g_main_context_iteration(node->io_context, FALSE))
      ;
  /* Sources still attached (timers of finished objects) go with the context. */
  node_webrtc_clear(node);
  node_outbound_clear(node);
  /* Connections freed from idle callbacks (peer-link-rtc.c). */
  if (node->io_context != NULL)
    while (g_main_context_iteration(node->io_context, FALSE))
      ;
  g_clear_pointer(&node->ws_server, actr_ws_server_free);
  g_clear_pointer(&node->signaling, actr_signaling_client_free);
  g_clear_pointer(&node->reply_routes, g_hash_table_unref);
  g_clear_pointer(&node->signing_keys, g_hash_table_unref);
  g_clear_pointer(&node->key_fetches, g_hash_table_unref);
  g_clear_pointer(&node->key_misses, g_hash_table_unref);
  g_clear_pointer(&node->registration, actr_ais_registration_free);
  g_clear_pointer(&node->subscriptions, g_ptr_array_unref);
  /* Run what is left on the context (idle closures that own memory). */
  while (g_main_context_iteration(node->io_context, FALSE))
    ;
  g_clear_pointer(&node->io_loop, g_main_loop_unref);
  g_clear_pointer(&node->io_context, g_main_context_unref);
  if (node->work_queue != NULL) {
    g_async_queue_unref(node->work_queue);
    node->work_queue = NULL;
  }
  g_clear_pointer(&node->workload, actr_workload_free);
  g_clear_pointer(&node->package, actr_package_free);
  g_clear_pointer(&node->acl, actr_acl_free);
  acl_pb_free(node->acl_pb);
  actr_id_clear(&node->self_id);
  g_free(node->self_text);
  actr_credential_free(node->credential);
  g_free(node->ws_address);
  g_free(node->store_path);
  g_free(node->signaling_error);
  g_free(node->type_text);
  actr_type_clear(&node->type);
  g_clear_error(&node->start_error);
  g_mutex_clear(&node->lock);
  g_cond_clear(&node->cond);
  g_clear_pointer(&node->streams, g_hash_table_unref);
  g_mutex_clear(&node->streams_lock);
  g_free(node);
}

/* ---- accessors ------------------------------------------------------------------ */

char *
actr_node_dup_id(ActrNode *node)
{
  g_return_val_if_fail(node != NULL, NULL);
  char *text = NULL;
  node_get_identity(node, NULL, &text, NULL);
  return text;
}

const char *
actr_node_get_type(ActrNode *node)
{
  g_return_val_if_fail(node != NULL, NULL);
  return node->type_text;
}

guint16
actr_node_get_ws_port(ActrNode *node)
{
  g_return_val_if_fail(node != NULL, 0);
  return node->ws_port;
}

const char *
actr_node_get_store_path(ActrNode *node)
{
  g_return_val_if_fail(node != NULL, NULL);
  return node->store_path;
}

/* ---- calls ---------------------------------------------------------------------- */

static gboolean
check_caller_thread(ActrNode *node, GError **error)
{
  if (g_main_context_is_owner(node->io_context) ||
      (node->workload_thread != NULL && g_thread_self() == node->workload_thread)) {
    g_set_error(error, ACTR_ERROR, ACTR_ERROR_INVALID_ARGUMENT,
                "invalid argument: blocking node calls cannot be made from the node's own "
                "threads (use the workload host API or actr_node_call_async())");
    return FALSE;
  }
  return TRUE;
}

static GBytes *
call_blocking(ActrNode *node, gboolean tell, const char *target, const char *route_key,
              GBytes *payload, const ActrCallOptions *options, GError **error)
{
  NodeWaiter w;

  g_return_val_if_fail(node != NULL && target != NULL && route_key != NULL, NULL);
  if (!check_caller_thread(node, error))
    return NULL;
  node_waiter_init(&w);
  node_waiter_run_call(&w, out_call_new(node, tell, target, route_key, payload, options,
                                        node_waiter_out_call_done, &w, NULL));
  if (w.error != NULL) {
    g_propagate_error(error, w.error);
    return NULL;
  }
  return w.reply != NULL ? w.reply : g_bytes_new(NULL, 0);
}

GBytes *
actr_node_call(ActrNode *node, const char *target, const char *route_key, GBytes *payload,
               const ActrCallOptions *options, GError **error)
{
  return call_blocking(node, FALSE, target, route_key, payload, options, error);
}

gboolean
actr_node_tell(ActrNode *node, const char *target, const char *route_key, GBytes *payload,
               const ActrCallOptions *options, GError **error)
{
  g_autoptr(GBytes) done = call_blocking(node, TRUE, target, route_key, payload, options, error);
  return done != NULL;
}

/* An async call: its GTask returns once, when the call completes or when
 * the caller cancels, whichever comes first. */
typedef struct {
  GTask *task;
  GCancellable *cancellable; /* nullable */
  gulong cancel_handler;
  gint returned; /* atomic */
} AsyncCall;

static void
async_call_free(gpointer data)
{
  AsyncCall *a = data;
  if (a->cancellable != NULL) {
    g_cancellable_disconnect(a->cancellable, a->cancel_handler);
    g_object_unref(a->cancellable);
  }
  g_object_unref(a->task);
  g_free(a);
}

static void
on_async_cancelled(GCancellable *cancellable, gpointer data)
{
  AsyncCall *a = data;
  if (g_atomic_int_compare_and_exchange(&a->returned, 0, 1))
    g_task_return_new_error(a->task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the call was cancelled");
}

static void
task_done(OutCall *call, GBytes *reply, const GError *error, gpointer data)
{
  AsyncCall *a = data;

  if (!g_atomic_int_compare_and_exchange(&a->returned, 0, 1))
    return;
  if (error != NULL)
    g_task_return_error(a->task, g_error_copy(error));
  else
    g_task_return_pointer(a->task, reply ? g_bytes_ref(reply) : g_bytes_new(NULL, 0),
                          (GDestroyNotify)g_bytes_unref);
}

void
actr_node_call_async(ActrNode *node, const char *target, const char *route_key, GBytes *payload,
                     const ActrCallOptions *options, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail(node != NULL && target != NULL && route_key != NULL);
  GTask *task = g_task_new(NULL, cancellable, callback, user_data);
  g_task_set_source_tag(task, actr_node_call_async);
  g_task_set_check_cancellable(task, FALSE); /* we return CANCELLED ourselves, once */
  if (g_task_return_error_if_cancelled(task)) {
    g_object_unref(task);
    return;
  }
  AsyncCall *a = g_new0(AsyncCall, 1);
  a->task = task;
  if (cancellable != NULL) {
    a->cancellable = g_object_ref(cancellable);
    a->cancel_handler = g_cancellable_connect(cancellable, G_CALLBACK(on_async_cancelled), a, NULL);
  }
  out_call_submit(out_call_new(node, FALSE, target, route_key, payload, options, task_done, a,
                               async_call_free));
}

GBytes *
actr_node_call_finish(ActrNode *node, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

char *
actr_node_discover(ActrNode *node, const char *actr_type, GError **error)
{
  g_return_val_if_fail(node != NULL && actr_type != NULL, NULL);
  if (!check_caller_thread(node, error))
    return NULL;
  return node_discover_blocking(node, actr_type, error);
}

/* ---- discover_types: a signaling request run from another thread ----------------- */

typedef struct {
  ActrNode *node;
  char *manufacturer;
  NodeWaiter w;
  GPtrArray *types;
} DiscoverTypes;

static void
on_discovered_types(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DiscoverTypes *d = user_data;
  g_autoptr(GError) error = NULL;
  GPtrArray *types = actr_signaling_client_discover_finish(d->node->signaling, result, &error);

  if (types == NULL) {
    node_waiter_finish(
        &d->w, NULL, NULL,
        actr_error_new(ACTR_ERROR_UNAVAILABLE, "discovery failed: %s", error->message));
    return;
  }
  d->types = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < types->len; i++)
    g_ptr_array_add(d->types, actr_type_to_string(g_ptr_array_index(types, i)));
  g_ptr_array_unref(types);
  node_waiter_finish(&d->w, NULL, NULL, NULL);
}

static gboolean
discover_types_on_io(gpointer data)
{
  DiscoverTypes *d = data;

  if (!node_signaling_ready(d->node)) {
    node_waiter_finish(
        &d->w, NULL, NULL,
        actr_error_new(ACTR_ERROR_UNAVAILABLE, "Signaling client is not connected."));
    return G_SOURCE_REMOVE;
  }
  actr_signaling_client_discover_async(d->node->signaling, d->manufacturer, 0, NULL,
                                       on_discovered_types, d);
  return G_SOURCE_REMOVE;
}

gboolean
node_check_running(ActrNode *node, GError **error)
{
  g_mutex_lock(&node->lock);
  /* STARTING counts: on_start may already call other actors (runtime.md
   * §13.3); until signaling is up such calls are retried like any other
   * transient failure. */
  gboolean running = node->state == NODE_RUNNING || node->state == NODE_STARTING;
  g_mutex_unlock(&node->lock);
  if (!running)
    g_set_error(error, ACTR_ERROR, ACTR_ERROR_UNAVAILABLE, "unavailable: the node is not running");
  return running;
}

GPtrArray *
actr_node_discover_types(ActrNode *node, const char *manufacturer, GError **error)
{
  DiscoverTypes d = {.node = node};

  g_return_val_if_fail(node != NULL, NULL);
  if (!check_caller_thread(node, error) || !node_check_running(node, error))
    return NULL;
  d.manufacturer = g_strdup(manufacturer);
  node_waiter_init(&d.w);
  node_post(node, discover_types_on_io, &d, NULL);
  node_waiter_wait(&d.w);
  g_free(d.manufacturer);
  if (d.w.error != NULL) {
    g_propagate_error(error, d.w.error);
    return NULL;
  }
  return d.types;
}
