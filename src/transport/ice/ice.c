/* actr — ICE on libnice (see ice.h for the contract).
 *
 * Callbacks are never run from inside an actr_ice_*() call: libnice emits
 * some signals synchronously (gathering, state changes inside
 * nice_agent_set_remote_candidates(), ...), so every event goes through one
 * ordered queue.  The queue is flushed at once when the event comes from a
 * plain dispatch of the context, and from an idle source otherwise.
 * Datagrams skip the queue only when it is empty, so they never overtake a
 * state change.
 *
 * relay_only uses libnice's "force-relay" property: host addresses are still
 * bound (TURN allocations are made from them) but only pairs with a relayed
 * local candidate are formed; non-relayed local candidates are not trickled.
 *
 * actr_ice_set_drop_all() attaches a classic BPF program that rejects every
 * packet to each of the agent's UDP sockets, so the kernel drops all inbound
 * traffic (STUN, TURN and data) before libnice sees it, and it discards
 * outbound datagrams in actr_ice_send().  Outbound STUN sent by libnice
 * itself cannot be dropped without privileges; since the agent runs
 * keepalive connectivity checks (binding requests that need a response),
 * the dropping side still sees its path die: the checks time out and the
 * component goes FAILED. */
#include "ice.h"

#include "sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>
#include <nice/agent.h>

#define ICE_COMPONENT 1
#define ICE_UFRAG_MIN 4
#define ICE_PWD_MIN   22
#define ICE_CRED_MAX  256

typedef enum {
  EV_CANDIDATE,
  EV_GATHERING_DONE,
  EV_STATE,
  EV_DATAGRAM,
} EventType;

typedef struct {
  EventType type;
  ActrIceState state; /* EV_STATE */
  gchar *candidate;   /* EV_CANDIDATE */
  GBytes *data;       /* EV_DATAGRAM */
} Event;

struct _ActrIce {
  GMainContext *context;
  NiceAgent *agent;
  guint stream_id;
  ActrIceCallbacks callbacks;
  gpointer user_data;
  gboolean relay_only;
  gboolean has_turn;

  ActrIceState state; /* the latest state (reported in order through the queue) */
  gboolean closed;
  gboolean gathering_started;
  gboolean gathering_done;
  gboolean drop_all;

  gchar *local_ufrag;
  gchar *local_pwd;
  gboolean has_remote_credentials;
  GSList *pending_remote; /* NiceCandidate*, newest first, until credentials */

  NiceCandidate *selected_local;
  NiceCandidate *selected_remote;

  GQueue events; /* Event* not yet delivered */
  GSource *flush_idle;
  guint api_depth;   /* > 0 while inside an actr_ice_*() call */
  gboolean flushing; /* callbacks are running from flush_events() */
};

/* Written out: clang-format would split a hyphenated G_DEFINE_QUARK name. */
GQuark
actr_ice_error_quark(void)
{
  return g_quark_from_static_string("actr-ice-error-quark");
}

/* ---- Event queue ---------------------------------------------------------------------------- */

static void schedule_flush(ActrIce *ice);

static void
event_free(Event *ev)
{
  g_free(ev->candidate);
  if (ev->data != NULL)
    g_bytes_unref(ev->data);
  g_free(ev);
}

static void
deliver(ActrIce *ice, Event *ev)
{
  if (ice->closed && !(ev->type == EV_STATE && ev->state == ACTR_ICE_STATE_CLOSED))
    return;
  switch (ev->type) {
  case EV_CANDIDATE:
    if (ice->callbacks.on_local_candidate != NULL)
      ice->callbacks.on_local_candidate(ice, ev->candidate, ice->user_data);
    break;
  case EV_GATHERING_DONE:
    if (ice->callbacks.on_gathering_done != NULL)
      ice->callbacks.on_gathering_done(ice, ice->user_data);
    break;
  case EV_STATE:
    if (ice->callbacks.on_state != NULL)
      ice->callbacks.on_state(ice, ev->state, ice->user_data);
    break;
  case EV_DATAGRAM: {
    gsize len = 0;
    const guint8 *data = g_bytes_get_data(ev->data, &len);
    if (ice->callbacks.on_datagram != NULL)
      ice->callbacks.on_datagram(ice, data, len, ice->user_data);
    break;
  }
  }
}

/* Delivers the events queued so far.  Events that callbacks cause (through
 * actr_ice_*() calls) wait for the next dispatch, so that, for instance,
 * CLOSED is never reported within the callback batch that closed. */
static void
flush_events(ActrIce *ice)
{
  guint n = g_queue_get_length(&ice->events);
  Event *ev;

  ice->flushing = TRUE;
  while (n-- > 0 && (ev = g_queue_pop_head(&ice->events)) != NULL) {
    deliver(ice, ev);
    event_free(ev);
  }
  ice->flushing = FALSE;
  if (!g_queue_is_empty(&ice->events))
    schedule_flush(ice);
}

static gboolean
flush_idle_cb(gpointer data)
{
  ActrIce *ice = data;

  g_clear_pointer(&ice->flush_idle, g_source_unref);
  flush_events(ice);
  return G_SOURCE_REMOVE;
}

static gboolean
can_deliver_now(const ActrIce *ice)
{
  return ice->api_depth == 0 && !ice->flushing;
}

static void
schedule_flush(ActrIce *ice)
{
  if (ice->flush_idle != NULL)
    return;
  ice->flush_idle = g_idle_source_new();
  g_source_set_priority(ice->flush_idle, G_PRIORITY_DEFAULT);
  g_source_set_callback(ice->flush_idle, flush_idle_cb, ice, NULL);
  g_source_set_static_name(ice->flush_idle, "actr-ice-events");
  g_source_attach(ice->flush_idle, ice->context);
}

static void
post(ActrIce *ice, Event *ev)
{
  g_queue_push_tail(&ice->events, ev);
  if (can_deliver_now(ice))
    flush_events(ice);
  else
    schedule_flush(ice);
}

static void
post_state(ActrIce *ice, ActrIceState state)
{
  Event *ev;

  if (ice->state == state)
    return;
  if (ice->state == ACTR_ICE_STATE_CLOSED)
    return;
  ice->state = state;
  ev = g_new0(Event, 1);
  ev->type = EV_STATE;
  ev->state = state;
  post(ice, ev);
}

static void
post_candidate(ActrIce *ice, gchar *text /* transfer full */)
{
  Event *ev = g_new0(Event, 1);

  ev->type = EV_CANDIDATE;
  ev->candidate = text;
  post(ice, ev);
}

static void
post_gathering_done(ActrIce *ice)
{
  Event *ev = g_new0(Event, 1);

  ev->type = EV_GATHERING_DONE;
  post(ice, ev);
}

/* Brackets every public entry point that may make libnice emit signals. */
static void
api_enter(ActrIce *ice)
{
  ice->api_depth++;
}

static void
api_leave(ActrIce *ice)
{
  g_assert(ice->api_depth > 0);
  ice->api_depth--;
  if (!g_queue_is_empty(&ice->events))
    schedule_flush(ice);
}

/* ---- Candidates ------------------------------------------------------------------------------ */

static const char *
nice_type_name(NiceCandidateType type)
{
  switch (type) {
  case NICE_CANDIDATE_TYPE_HOST:
    return "host";
  case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
    return "srflx";
  case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
    return "prflx";
  case NICE_CANDIDATE_TYPE_RELAYED:
    return "relay";
  }
  return "unknown";
}

/* The trickle text of a local candidate, or NULL when it is not offered
 * (not UDP/IPv4, or not relayed with relay_only). */
static gchar *
local_candidate_text(const ActrIce *ice, const NiceCandidate *nc)
{
  ActrSdpCandidate c;

  if (nc->transport != NICE_CANDIDATE_TRANSPORT_UDP || nc->component_id != ICE_COMPONENT ||
      nice_address_ip_version(&nc->addr) != 4)
    return NULL;
  if (ice->relay_only && nc->type != NICE_CANDIDATE_TYPE_RELAYED)
    return NULL;

  memset(&c, 0, sizeof c);
  g_strlcpy(c.foundation, nc->foundation[0] != '\0' ? nc->foundation : "1", sizeof c.foundation);
  c.component = nc->component_id;
  g_strlcpy(c.transport, "udp", sizeof c.transport);
  c.priority = nc->priority;
  nice_address_to_string(&nc->addr, c.address);
  c.port = nice_address_get_port(&nc->addr);
  switch (nc->type) {
  case NICE_CANDIDATE_TYPE_HOST:
    c.type = ACTR_SDP_CANDIDATE_HOST;
    break;
  case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
    c.type = ACTR_SDP_CANDIDATE_SRFLX;
    break;
  case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
    c.type = ACTR_SDP_CANDIDATE_PRFLX;
    break;
  case NICE_CANDIDATE_TYPE_RELAYED:
    c.type = ACTR_SDP_CANDIDATE_RELAY;
    break;
  }
  if (nc->type != NICE_CANDIDATE_TYPE_HOST && nice_address_is_valid(&nc->base_addr) &&
      nice_address_ip_version(&nc->base_addr) == 4) {
    c.has_related = TRUE;
    nice_address_to_string(&nc->base_addr, c.related_address);
    c.related_port = nice_address_get_port(&nc->base_addr);
  }
  return actr_sdp_candidate_to_string(&c);
}

/* Fills @addr from an IPv4 literal and port; FALSE for anything else. */
static gboolean
ipv4_address(NiceAddress *addr, const char *text, guint16 port)
{
  struct in_addr in;

  if (inet_pton(AF_INET, text, &in) != 1)
    return FALSE;
  nice_address_init(addr);
  if (!nice_address_set_from_string(addr, text))
    return FALSE;
  nice_address_set_port(addr, port);
  return TRUE;
}

static NiceCandidate *
remote_candidate_new(const ActrIce *ice, const ActrSdpCandidate *c)
{
  NiceCandidateType type = NICE_CANDIDATE_TYPE_HOST;
  NiceCandidate *nc;

  switch (c->type) {
  case ACTR_SDP_CANDIDATE_HOST:
    type = NICE_CANDIDATE_TYPE_HOST;
    break;
  case ACTR_SDP_CANDIDATE_SRFLX:
    type = NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
    break;
  case ACTR_SDP_CANDIDATE_PRFLX:
    type = NICE_CANDIDATE_TYPE_PEER_REFLEXIVE;
    break;
  case ACTR_SDP_CANDIDATE_RELAY:
    type = NICE_CANDIDATE_TYPE_RELAYED;
    break;
  }
  nc = nice_candidate_new(type);
  nc->transport = NICE_CANDIDATE_TRANSPORT_UDP;
  nc->stream_id = ice->stream_id;
  nc->component_id = ICE_COMPONENT;
  nc->priority = c->priority;
  g_strlcpy(nc->foundation, c->foundation, sizeof nc->foundation);
  if (!ipv4_address(&nc->addr, c->address, c->port)) {
    nice_candidate_free(nc);
    return NULL;
  }
  if (c->has_related && !ipv4_address(&nc->base_addr, c->related_address, c->related_port))
    nice_address_init(&nc->base_addr);
  return nc;
}

static void
free_candidate_list(GSList *list)
{
  g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
}

static gboolean
push_remote_candidates(ActrIce *ice, GSList *list /* transfer none */)
{
  int added = nice_agent_set_remote_candidates(ice->agent, ice->stream_id, ICE_COMPONENT, list);

  if (added < 0) {
    g_warning("[ice] libnice refused %u remote candidate(s)", g_slist_length(list));
    return FALSE;
  }
  return TRUE;
}

/* ---- libnice signals ------------------------------------------------------------------------- */

static void
on_new_candidate_full(NiceAgent *agent, NiceCandidate *candidate, gpointer data)
{
  ActrIce *ice = data;
  gchar *text;

  if (ice->closed || candidate->stream_id != ice->stream_id)
    return;
  text = local_candidate_text(ice, candidate);
  if (text == NULL) {
    g_debug("[ice] local %s candidate not offered", nice_type_name(candidate->type));
    return;
  }
  post_candidate(ice, text);
}

static void
on_gathering_done(NiceAgent *agent, guint stream_id, gpointer data)
{
  ActrIce *ice = data;

  if (ice->closed || stream_id != ice->stream_id)
    return;
  ice->gathering_done = TRUE;
  post_gathering_done(ice);
}

static void
on_component_state_changed(NiceAgent *agent, guint stream_id, guint component_id, guint state,
                           gpointer data)
{
  ActrIce *ice = data;

  if (ice->closed || stream_id != ice->stream_id || component_id != ICE_COMPONENT)
    return;
  g_debug("[ice] component state %s", nice_component_state_to_string(state));
  switch ((NiceComponentState)state) {
  case NICE_COMPONENT_STATE_GATHERING:
  case NICE_COMPONENT_STATE_CONNECTING:
    post_state(ice, ACTR_ICE_STATE_CHECKING);
    break;
  case NICE_COMPONENT_STATE_CONNECTED:
  case NICE_COMPONENT_STATE_READY:
    if (ice->selected_local != NULL)
      post_state(ice, ACTR_ICE_STATE_CONNECTED);
    break;
  case NICE_COMPONENT_STATE_FAILED:
    post_state(ice, ACTR_ICE_STATE_FAILED);
    break;
  case NICE_COMPONENT_STATE_DISCONNECTED:
  case NICE_COMPONENT_STATE_LAST:
    break;
  }
}

static void
on_new_selected_pair_full(NiceAgent *agent, guint stream_id, guint component_id,
                          NiceCandidate *lcand, NiceCandidate *rcand, gpointer data)
{
  ActrIce *ice = data;
  NiceComponentState state;

  if (ice->closed || stream_id != ice->stream_id || component_id != ICE_COMPONENT)
    return;
  if (ice->relay_only && lcand->type != NICE_CANDIDATE_TYPE_RELAYED) {
    g_warning("[ice] ignoring a non-relayed selected pair (relay_only)");
    return;
  }
  g_clear_pointer(&ice->selected_local, nice_candidate_free);
  g_clear_pointer(&ice->selected_remote, nice_candidate_free);
  ice->selected_local = nice_candidate_copy(lcand);
  ice->selected_remote = nice_candidate_copy(rcand);
  if (g_log_writer_default_would_drop(G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN) == FALSE) {
    g_autofree gchar *desc = actr_ice_describe_selected_pair(ice);
    g_debug("[ice] selected %s", desc);
  }
  /* libnice may report CONNECTED before it names the pair. */
  state = nice_agent_get_component_state(agent, stream_id, component_id);
  if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY)
    post_state(ice, ACTR_ICE_STATE_CONNECTED);
}

static void
on_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf, gpointer data)
{
  ActrIce *ice = data;
  Event *ev;

  if (ice->closed || ice->drop_all)
    return;
  if (g_queue_is_empty(&ice->events) && can_deliver_now(ice)) {
    if (ice->callbacks.on_datagram != NULL)
      ice->callbacks.on_datagram(ice, (const guint8 *)buf, len, ice->user_data);
    return;
  }
  ev = g_new0(Event, 1);
  ev->type = EV_DATAGRAM;
  ev->data = g_bytes_new(buf, len);
  post(ice, ev);
}

/* ---- Server URLs ----------------------------------------------------------------------------- */

typedef struct {
  gchar *host; /* resolved IPv4 address */
  guint16 port;
  gboolean usable; /* FALSE: valid but unsupported (TCP/TLS transport) */
} ServerUrl;

static gboolean
resolve_ipv4(const char *host, gchar **out)
{
  struct addrinfo hints, *res = NULL;
  char buf[INET_ADDRSTRLEN];
  int rc;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc != 0 || res == NULL)
    return FALSE;
  inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, buf, sizeof buf);
  freeaddrinfo(res);
  *out = g_strdup(buf);
  return TRUE;
}

/* Parses "<scheme>:host[:port][?transport=udp|tcp]".  FALSE with @error when
 * malformed or unresolvable. */
static gboolean
parse_server_url(const char *url, gboolean turn, ServerUrl *out, GError **error)
{
  const char *scheme = turn ? "turn:" : "stun:";
  const char *secure = turn ? "turns:" : "stuns:";
  g_autofree gchar *hostport = NULL;
  const char *rest, *query, *colon;
  g_autofree gchar *host = NULL;
  guint64 port = 3478;

  memset(out, 0, sizeof *out);
  out->usable = TRUE;
  if (g_str_has_prefix(url, secure)) {
    rest = url + strlen(secure);
    out->usable = FALSE; /* TLS transport: not supported */
  } else if (g_str_has_prefix(url, scheme)) {
    rest = url + strlen(scheme);
  } else {
    goto bad;
  }
  query = strchr(rest, '?');
  hostport = query != NULL ? g_strndup(rest, query - rest) : g_strdup(rest);
  if (query != NULL) {
    if (!turn)
      goto bad;
    if (strcmp(query, "?transport=udp") == 0)
      ;
    else if (strcmp(query, "?transport=tcp") == 0)
      out->usable = FALSE;
    else
      goto bad;
  }
  colon = strrchr(hostport, ':');
  if (colon != NULL) {
    if (!g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL))
      goto bad;
    host = g_strndup(hostport, colon - hostport);
  } else {
    host = g_strdup(hostport);
  }
  if (host[0] == '\0' || strchr(host, ':') != NULL || strchr(host, '[') != NULL ||
      strchr(host, '@') != NULL || strchr(host, '/') != NULL)
    goto bad;
  out->port = (guint16)port;
  if (!out->usable)
    return TRUE;
  if (!resolve_ipv4(host, &out->host)) {
    g_set_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED,
                "cannot resolve the host of ICE server URL \"%s\"", url);
    return FALSE;
  }
  return TRUE;

bad:
  g_set_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED, "malformed ICE server URL \"%s\"", url);
  return FALSE;
}

/* ---- Host addresses -------------------------------------------------------------------------- */

static gboolean
add_host_address(ActrIce *ice, const char *text, GError **error)
{
  NiceAddress addr;

  if (!ipv4_address(&addr, text, 0)) {
    g_set_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED,
                "host address \"%s\" is not an IPv4 address", text);
    return FALSE;
  }
  if (!nice_agent_add_local_address(ice->agent, &addr)) {
    g_set_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED, "libnice refused host address %s",
                text);
    return FALSE;
  }
  return TRUE;
}

static gboolean
add_all_interfaces(ActrIce *ice, GError **error)
{
  struct ifaddrs *ifa_list = NULL, *ifa;
  guint added = 0;

  if (getifaddrs(&ifa_list) != 0) {
    g_set_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED, "getifaddrs: %s", g_strerror(errno));
    return FALSE;
  }
  for (ifa = ifa_list; ifa != NULL; ifa = ifa->ifa_next) {
    char buf[INET_ADDRSTRLEN];

    if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET ||
        (ifa->ifa_flags & IFF_UP) == 0)
      continue;
    inet_ntop(AF_INET, &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, buf, sizeof buf);
    if (add_host_address(ice, buf, NULL))
      added++;
  }
  freeifaddrs(ifa_list);
  if (added == 0) {
    g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED, "no IPv4 interface is up");
    return FALSE;
  }
  return TRUE;
}

/* ---- Test hook: kernel-level drop ------------------------------------------------------------ */

static void
apply_drop_filter(ActrIce *ice)
{
  static struct sock_filter drop_code[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
  struct sock_fprog prog = {.len = G_N_ELEMENTS(drop_code), .filter = drop_code};
  GPtrArray *sockets;

  if (ice->closed)
    return;
  sockets = nice_agent_get_sockets(ice->agent, ice->stream_id, ICE_COMPONENT);
  if (sockets == NULL)
    return;
  for (guint i = 0; i < sockets->len; i++) {
    int fd = g_socket_get_fd(g_ptr_array_index(sockets, i));
    int rc, dummy = 0;

    if (ice->drop_all)
      rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
    else
      rc = setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof dummy);
    if (rc != 0 && (ice->drop_all || errno != ENOENT))
      g_warning("[ice] drop filter on fd %d: %s", fd, g_strerror(errno));
  }
  g_ptr_array_unref(sockets);
}

/* ---- Public API ------------------------------------------------------------------------------ */

static void
read_local_credentials(ActrIce *ice)
{
  g_clear_pointer(&ice->local_ufrag, g_free);
  g_clear_pointer(&ice->local_pwd, g_free);
  nice_agent_get_local_credentials(ice->agent, ice->stream_id, &ice->local_ufrag, &ice->local_pwd);
}

ActrIce *
actr_ice_new(GMainContext *context, const ActrIceConfig *config, const ActrIceCallbacks *callbacks,
             gpointer user_data, GError **error)
{
  g_autoptr(ActrIce) ice = NULL;
  NiceAgentOption options = NICE_AGENT_OPTION_REGULAR_NOMINATION;

  g_return_val_if_fail(config != NULL, NULL);
  g_return_val_if_fail(callbacks != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  ice = g_new0(ActrIce, 1);
  ice->context = g_main_context_ref(context != NULL ? context : g_main_context_default());
  ice->callbacks = *callbacks;
  ice->user_data = user_data;
  ice->relay_only = config->relay_only;
  ice->state = ACTR_ICE_STATE_NEW;
  g_queue_init(&ice->events);

  ice->agent = nice_agent_new_full(ice->context, NICE_COMPATIBILITY_RFC5245, options);
  g_object_set(ice->agent, "ice-tcp", FALSE, "ice-udp", TRUE, "upnp", FALSE, "controlling-mode",
               config->controlling, "force-relay", config->relay_only, "keepalive-conncheck", TRUE,
               NULL);
  ice->stream_id = nice_agent_add_stream(ice->agent, 1);
  if (ice->stream_id == 0) {
    g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED,
                        "libnice could not add a stream");
    return NULL;
  }

  if (config->stun_urls != NULL && config->stun_urls[0] != NULL) {
    ServerUrl s;

    for (guint i = 0; config->stun_urls[i] != NULL; i++) {
      if (!parse_server_url(config->stun_urls[i], FALSE, &s, error))
        return NULL;
      if (i == 0 && s.usable) {
        g_object_set(ice->agent, "stun-server", s.host, "stun-server-port", (guint)s.port, NULL);
      } else {
        g_message("[ice] STUN server URL \"%s\" not used (only the first UDP one is)",
                  config->stun_urls[i]);
      }
      g_free(s.host);
    }
  }
  if (config->turn_urls != NULL) {
    for (guint i = 0; config->turn_urls[i] != NULL; i++) {
      ServerUrl s;

      if (!parse_server_url(config->turn_urls[i], TRUE, &s, error))
        return NULL;
      if (!s.usable) {
        g_message("[ice] TURN server URL \"%s\" skipped: only UDP transport is supported",
                  config->turn_urls[i]);
        continue;
      }
      if (config->turn_username == NULL || config->turn_password == NULL) {
        g_free(s.host);
        g_set_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED,
                    "TURN server URL \"%s\" without a credential", config->turn_urls[i]);
        return NULL;
      }
      if (!nice_agent_set_relay_info(ice->agent, ice->stream_id, ICE_COMPONENT, s.host, s.port,
                                     config->turn_username, config->turn_password,
                                     NICE_RELAY_TYPE_TURN_UDP)) {
        g_set_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED,
                    "libnice refused TURN server URL \"%s\"", config->turn_urls[i]);
        g_free(s.host);
        return NULL;
      }
      ice->has_turn = TRUE;
      g_free(s.host);
    }
  }

  if (config->host_addresses != NULL) {
    for (guint i = 0; config->host_addresses[i] != NULL; i++)
      if (!add_host_address(ice, config->host_addresses[i], error))
        return NULL;
  } else if (!add_all_interfaces(ice, error)) {
    return NULL;
  }
  if (config->port_min != 0 || config->port_max != 0)
    nice_agent_set_port_range(ice->agent, ice->stream_id, ICE_COMPONENT, config->port_min,
                              config->port_max);

  g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(on_new_candidate_full), ice);
  g_signal_connect(ice->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), ice);
  g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(on_component_state_changed),
                   ice);
  g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(on_new_selected_pair_full),
                   ice);
  if (!nice_agent_attach_recv(ice->agent, ice->stream_id, ICE_COMPONENT, ice->context, on_recv,
                              ice)) {
    g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED,
                        "libnice could not attach the receive callback");
    return NULL;
  }
  read_local_credentials(ice);
  return g_steal_pointer(&ice);
}

void
actr_ice_free(ActrIce *ice)
{
  if (ice == NULL)
    return;
  if (ice->agent != NULL) {
    g_signal_handlers_disconnect_by_data(ice->agent, ice);
    if (!ice->closed && ice->stream_id != 0) {
      nice_agent_attach_recv(ice->agent, ice->stream_id, ICE_COMPONENT, ice->context, NULL, NULL);
      nice_agent_remove_stream(ice->agent, ice->stream_id);
    }
    /* TURN deallocations finish on the context; the task keeps the agent alive. */
    nice_agent_close_async(ice->agent, NULL, NULL);
    g_object_unref(ice->agent);
  }
  if (ice->flush_idle != NULL) {
    g_source_destroy(ice->flush_idle);
    g_source_unref(ice->flush_idle);
  }
  g_queue_clear_full(&ice->events, (GDestroyNotify)event_free);
  free_candidate_list(ice->pending_remote);
  g_clear_pointer(&ice->selected_local, nice_candidate_free);
  g_clear_pointer(&ice->selected_remote, nice_candidate_free);
  g_free(ice->local_ufrag);
  g_free(ice->local_pwd);
  g_main_context_unref(ice->context);
  g_free(ice);
}

const char *
actr_ice_local_ufrag(const ActrIce *ice)
{
  g_return_val_if_fail(ice != NULL, NULL);
  return ice->local_ufrag;
}

const char *
actr_ice_local_pwd(const ActrIce *ice)
{
  g_return_val_if_fail(ice != NULL, NULL);
  return ice->local_pwd;
}

static gboolean
check_open(const ActrIce *ice, GError **error)
{
  if (ice->closed) {
    g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_STATE, "the ICE agent is closed");
    return FALSE;
  }
  return TRUE;
}

gboolean
actr_ice_gather(ActrIce *ice, GError **error)
{
  gboolean ok;

  g_return_val_if_fail(ice != NULL, FALSE);
  if (!check_open(ice, error))
    return FALSE;
  if (ice->gathering_started) {
    g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_STATE, "gathering already started");
    return FALSE;
  }
  if (ice->relay_only && !ice->has_turn) {
    g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED,
                        "relay_only without a usable TURN server: nothing to gather");
    return FALSE;
  }
  api_enter(ice);
  ok = nice_agent_gather_candidates(ice->agent, ice->stream_id);
  if (ok) {
    ice->gathering_started = TRUE;
    post_state(ice, ACTR_ICE_STATE_CHECKING);
    if (ice->drop_all)
      apply_drop_filter(ice);
  }
  api_leave(ice);
  if (!ok)
    g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED,
                        "libnice could not gather any candidate (no usable local address)");
  return ok;
}

gboolean
actr_ice_set_remote_credentials(ActrIce *ice, const char *ufrag, const char *pwd, GError **error)
{
  gboolean ok = TRUE;

  g_return_val_if_fail(ice != NULL, FALSE);
  g_return_val_if_fail(ufrag != NULL && pwd != NULL, FALSE);
  if (!check_open(ice, error))
    return FALSE;
  if (!actr_sdp_is_ice_chars(ufrag, ICE_UFRAG_MIN, ICE_CRED_MAX) ||
      !actr_sdp_is_ice_chars(pwd, ICE_PWD_MIN, ICE_CRED_MAX)) {
    g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_CREDENTIALS,
                        "remote ICE ufrag (4..256) or pwd (22..256 ice-chars) is invalid");
    return FALSE;
  }
  api_enter(ice);
  if (!nice_agent_set_remote_credentials(ice->agent, ice->stream_id, ufrag, pwd)) {
    g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_CREDENTIALS,
                        "libnice refused the remote credentials");
    ok = FALSE;
  } else {
    ice->has_remote_credentials = TRUE;
    if (ice->pending_remote != NULL) {
      GSList *list = g_slist_reverse(g_steal_pointer(&ice->pending_remote));

      push_remote_candidates(ice, list);
      free_candidate_list(list);
    }
  }
  api_leave(ice);
  return ok;
}

gboolean
actr_ice_add_remote_candidate(ActrIce *ice, const char *candidate, GError **error)
{
  ActrSdpCandidate c;
  g_autoptr(GError) local = NULL;
  NiceCandidate *nc;
  gboolean ok = TRUE;

  g_return_val_if_fail(ice != NULL, FALSE);
  g_return_val_if_fail(candidate != NULL, FALSE);
  if (!check_open(ice, error))
    return FALSE;
  if (!actr_sdp_candidate_parse(candidate, -1, &c, &local)) {
    g_set_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_CANDIDATE, "bad remote candidate: %s",
                local->message);
    return FALSE;
  }
  if (c.component != ICE_COMPONENT || g_ascii_strcasecmp(c.transport, "udp") != 0) {
    g_debug("[ice] skipping remote candidate (component %u, %s)", c.component, c.transport);
    return TRUE;
  }
  nc = remote_candidate_new(ice, &c);
  if (nc == NULL) {
    g_debug("[ice] skipping remote candidate: %s is not an IPv4 address", c.address);
    return TRUE;
  }
  if (!ice->has_remote_credentials) {
    ice->pending_remote = g_slist_prepend(ice->pending_remote, nc);
    return TRUE;
  }
  api_enter(ice);
  {
    GSList one = {.data = nc, .next = NULL};

    if (!push_remote_candidates(ice, &one)) {
      g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_CANDIDATE,
                          "libnice refused the remote candidate");
      ok = FALSE;
    }
  }
  nice_candidate_free(nc);
  api_leave(ice);
  return ok;
}

gboolean
actr_ice_restart(ActrIce *ice, GError **error)
{
  GSList *locals;

  g_return_val_if_fail(ice != NULL, FALSE);
  if (!check_open(ice, error))
    return FALSE;
  api_enter(ice);
  if (!nice_agent_restart_stream(ice->agent, ice->stream_id)) {
    api_leave(ice);
    g_set_error_literal(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED,
                        "libnice could not restart the stream");
    return FALSE;
  }
  read_local_credentials(ice);
  ice->has_remote_credentials = FALSE;
  g_clear_pointer(&ice->pending_remote, free_candidate_list);
  if (!ice->gathering_started) {
    /* Nothing gathered yet: the first actr_ice_gather() trickles everything. */
    api_leave(ice);
    return TRUE;
  }
  post_state(ice, ACTR_ICE_STATE_CHECKING);
  /* libnice keeps the local candidates across a restart; the peer forgot
   * them, so trickle them again (under the new credentials). */
  locals = nice_agent_get_local_candidates(ice->agent, ice->stream_id, ICE_COMPONENT);
  for (GSList *l = locals; l != NULL; l = l->next) {
    gchar *text = local_candidate_text(ice, l->data);

    if (text != NULL)
      post_candidate(ice, text);
  }
  free_candidate_list(locals);
  if (ice->gathering_done)
    post_gathering_done(ice);
  api_leave(ice);
  return TRUE;
}

gboolean
actr_ice_send(ActrIce *ice, const guint8 *data, gsize len)
{
  gint sent;

  g_return_val_if_fail(ice != NULL, FALSE);
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  if (ice->closed || ice->selected_local == NULL || len > G_MAXUINT)
    return FALSE;
  if (ice->drop_all)
    return TRUE; /* lost on the broken path, as UDP would */
  sent =
      nice_agent_send(ice->agent, ice->stream_id, ICE_COMPONENT, (guint)len, (const gchar *)data);
  return sent >= 0;
}

ActrIceState
actr_ice_get_state(const ActrIce *ice)
{
  g_return_val_if_fail(ice != NULL, ACTR_ICE_STATE_CLOSED);
  return ice->state;
}

gboolean
actr_ice_selected_pair_is_relayed(ActrIce *ice)
{
  g_return_val_if_fail(ice != NULL, FALSE);
  if (ice->selected_local == NULL || ice->selected_remote == NULL)
    return FALSE;
  return ice->selected_local->type == NICE_CANDIDATE_TYPE_RELAYED ||
         ice->selected_remote->type == NICE_CANDIDATE_TYPE_RELAYED;
}

gchar *
actr_ice_describe_selected_pair(ActrIce *ice)
{
  char la[NICE_ADDRESS_STRING_LEN], ra[NICE_ADDRESS_STRING_LEN];

  g_return_val_if_fail(ice != NULL, NULL);
  if (ice->selected_local == NULL || ice->selected_remote == NULL)
    return NULL;
  nice_address_to_string(&ice->selected_local->addr, la);
  nice_address_to_string(&ice->selected_remote->addr, ra);
  return g_strdup_printf("local %s:%u %s <-> remote %s:%u %s", la,
                         nice_address_get_port(&ice->selected_local->addr),
                         nice_type_name(ice->selected_local->type), ra,
                         nice_address_get_port(&ice->selected_remote->addr),
                         nice_type_name(ice->selected_remote->type));
}

void
actr_ice_close(ActrIce *ice)
{
  g_return_if_fail(ice != NULL);
  if (ice->closed)
    return;
  api_enter(ice);
  post_state(ice, ACTR_ICE_STATE_CLOSED);
  ice->closed = TRUE;
  nice_agent_attach_recv(ice->agent, ice->stream_id, ICE_COMPONENT, ice->context, NULL, NULL);
  /* Releases the ports; relayed allocations are released on the context. */
  nice_agent_remove_stream(ice->agent, ice->stream_id);
  g_clear_pointer(&ice->selected_local, nice_candidate_free);
  g_clear_pointer(&ice->selected_remote, nice_candidate_free);
  g_clear_pointer(&ice->pending_remote, free_candidate_list);
  api_leave(ice);
}

void
actr_ice_set_drop_all(ActrIce *ice, gboolean drop)
{
  g_return_if_fail(ice != NULL);
  drop = !!drop;
  if (ice->drop_all == drop)
    return;
  ice->drop_all = drop;
  g_message("[ice] test hook: %s all datagrams", drop ? "dropping" : "no longer dropping");
  if (ice->gathering_started)
    apply_drop_filter(ice);
}

const char *
actr_ice_state_to_string(ActrIceState state)
{
  switch (state) {
  case ACTR_ICE_STATE_NEW:
    return "new";
  case ACTR_ICE_STATE_CHECKING:
    return "checking";
  case ACTR_ICE_STATE_CONNECTED:
    return "connected";
  case ACTR_ICE_STATE_FAILED:
    return "failed";
  case ACTR_ICE_STATE_CLOSED:
    return "closed";
  }
  return "unknown";
}
