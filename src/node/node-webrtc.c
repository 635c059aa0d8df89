/* actr — the node's WebRTC sessions with peers (wire.md §5.2, §5.9).
 *
 * One RtcSession per peer actor, keyed by its ActrId text.  A session goes:
 *   RoleNegotiation (only the side that wants to send asks; actrd assigns
 *   both) → the offerer makes an ActrPeerLinkRtc and relays its OFFER with
 *   a fresh sdp_exchange_id → the answerer drops any older connection,
 *   answers with the same id → both trickle candidates → CONNECTED.
 * The link is handed to node-outbound.c at creation (its frames reach the
 * gates from the first message) and reported usable at CONNECTED.  If no
 * connection comes up within the budgets (5 s role, 10 s connection) the
 * initiating side tells node-outbound.c, which falls back to WebSocket
 * direct-connect when the peer has an address.
 *
 * Recovery: when a connected link loses its path (DISCONNECTED) the
 * offerer restarts ICE (ICE_RESTART_OFFER with new credentials, at most one
 * per 2 s) and the answerer asks for it with IceRestartRequest.  A path not
 * back within 6 s (the reference's recovery guard) ends the connection:
 * what was sent on it is sent again on a new one, and the next calls set
 * one up from scratch (the reference keeps trying for up to 60 s, during
 * which sends fail with ConnectionNotReady).  Events of a connection a session no
 * longer holds are ignored: a stale connection never touches a new one.
 *
 * Thread: everything here runs on the node's I/O thread.
 */
#include "node-private.h"
#include "actr-id.h"
#include "peer-link-rtc.h"

#include <string.h>

#define ROLE_TIMEOUT_MS         5000
#define CONNECT_TIMEOUT_MS      10000
#define RESTART_BUDGET_US       (6 * G_USEC_PER_SEC)
#define RESTART_MIN_INTERVAL_US (2 * G_USEC_PER_SEC)
#define MAX_EARLY_CANDIDATES    64
#define PRESENCE_CANDIDATES     1024 /* route candidates asked for in a presence check */

typedef struct {
  ActrNode *node;
  char *peer_text;
  ActrId peer;
  ActrPeerLink *link;          /* the current connection (ref), or NULL */
  gboolean offerer;            /* our role on link */
  gboolean initiator;          /* we asked for the connection */
  gboolean connected;          /* link reached CONNECTED at least once */
  char *exchange_id;           /* offerer: the offer waiting for its answer */
  char *negotiation_envelope;  /* envelope id of our RoleNegotiation (actrd may refuse it) */
  GPtrArray *early_candidates; /* char *: trickled before an offer arrived */
  guint role_timer;
  guint connect_timer;
  /* Recovery after the path broke */
  guint restart_timer;
  guint restart_tries;
  gint64 restart_started_us;
  gint64 last_restart_us; /* offerer: last restart offer; answerer: last request */
} RtcSession;

static void session_drop_link(RtcSession *s);
static void session_give_up(RtcSession *s, NodeRtcEnd end, const char *why);

/* ---- sessions ------------------------------------------------------------------ */

static void
session_free(gpointer data)
{
  RtcSession *s = data;

  node_source_clear(s->node, &s->role_timer);
  node_source_clear(s->node, &s->connect_timer);
  node_source_clear(s->node, &s->restart_timer);
  session_drop_link(s);
  g_ptr_array_unref(s->early_candidates);
  actr_id_clear(&s->peer);
  g_free(s->exchange_id);
  g_free(s->negotiation_envelope);
  g_free(s->peer_text);
  g_free(s);
}

static RtcSession *
session_get(ActrNode *node, const ActrId *peer, gboolean create)
{
  g_autofree char *text = actr_id_to_string(peer);
  RtcSession *s = g_hash_table_lookup(node->rtc_sessions, text);

  if (s != NULL || !create)
    return s;
  s = g_new0(RtcSession, 1);
  s->node = node;
  s->peer_text = g_steal_pointer(&text);
  actr_id_copy(peer, &s->peer);
  s->early_candidates = g_ptr_array_new_with_free_func(g_free);
  g_hash_table_insert(node->rtc_sessions, s->peer_text, s);
  return s;
}

static void
session_remove(RtcSession *s)
{
  g_hash_table_remove(s->node->rtc_sessions, s->peer_text);
}

static guint
session_timer(RtcSession *s, guint ms, GSourceFunc func)
{
  GSource *source = g_timeout_source_new(ms);
  g_source_set_callback(source, func, s, NULL);
  guint id = g_source_attach(source, s->node->io_context);
  g_source_unref(source);
  return id;
}

/* ---- relays ------------------------------------------------------------------- */

static gboolean
relay_tracked(RtcSession *s, Signaling__ActrRelay *r, char **envelope_id)
{
  ActrNode *node = s->node;
  if (node->signaling == NULL ||
      !actr_signaling_client_send_relay(node->signaling, &s->peer, r, envelope_id)) {
    g_debug("webrtc: relay to %s not sent: signaling is down", s->peer_text);
    return FALSE;
  }
  return TRUE;
}

static gboolean
relay(RtcSession *s, Signaling__ActrRelay *r)
{
  return relay_tracked(s, r, NULL);
}

static gboolean
relay_description(RtcSession *s, Webrtc__SessionDescription__Type type, const char *sdp,
                  const char *exchange_id)
{
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  Webrtc__SessionDescription d = WEBRTC__SESSION_DESCRIPTION__INIT;

  d.type = type;
  d.sdp = (char *)sdp;
  d.sdp_exchange_id = (char *)exchange_id;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION;
  r.session_description = &d;
  return relay(s, &r);
}

static void
on_link_candidate(ActrPeerLink *link, const char *candidate, gpointer user_data)
{
  RtcSession *s = user_data;
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  Webrtc__IceCandidate c = WEBRTC__ICE_CANDIDATE__INIT;
  (void)link;

  /* Reference form: the bare "candidate:..." string, no mid, no index. */
  c.candidate = (char *)candidate;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE;
  r.ice_candidate = &c;
  relay(s, &r);
}

/* ---- connection state ------------------------------------------------------------ */

static void
send_restart_offer(RtcSession *s)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *offer = actr_pc_create_offer(actr_peer_link_rtc_pc(s->link), TRUE, &error);

  if (offer == NULL) {
    g_message("webrtc: no ICE restart offer for %s: %s", s->peer_text, error->message);
    return;
  }
  g_free(s->exchange_id);
  s->exchange_id = g_uuid_string_random();
  s->last_restart_us = g_get_monotonic_time();
  s->restart_tries++;
  s->node->metrics.ice_restarts_total++;
  g_message("webrtc: ICE restart %u to %s", s->restart_tries, s->peer_text);
  relay_description(s, WEBRTC__SESSION_DESCRIPTION__TYPE__ICE_RESTART_OFFER, offer, s->exchange_id);
}

static void
ask_for_restart(RtcSession *s)
{
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  Actr__IceRestartRequest req = ACTR__ICE_RESTART_REQUEST__INIT;

  s->last_restart_us = g_get_monotonic_time();
  req.reason = "network_recovered";
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_RESTART_REQUEST;
  r.ice_restart_request = &req;
  relay(s, &r);
}

/* One step of the recovery of a connection whose path broke: the offerer
 * sends an ICE-restart offer (at most one per RESTART_MIN_INTERVAL), the
 * answerer asks for one; after RESTART_BUDGET_US without a working path
 * the connection is given up (calls on it are sent again on a new one). */
static gboolean
on_recovery_tick(gpointer data)
{
  RtcSession *s = data;
  gint64 now = g_get_monotonic_time();

  if (s->link == NULL ||
      actr_pc_get_state(actr_peer_link_rtc_pc(s->link)) == ACTR_PC_STATE_CONNECTED) {
    s->restart_timer = 0;
    return G_SOURCE_REMOVE;
  }
  if (now - s->restart_started_us >= RESTART_BUDGET_US) {
    s->restart_timer = 0;
    session_give_up(s, NODE_RTC_END_PATH_LOST, "the path did not come back within 6 s");
    return G_SOURCE_REMOVE;
  }
  if (node_signaling_ready(s->node) && now - s->last_restart_us >= RESTART_MIN_INTERVAL_US) {
    if (s->offerer)
      send_restart_offer(s);
    else
      ask_for_restart(s);
  }
  return G_SOURCE_CONTINUE;
}

typedef struct {
  ActrNode *node;
  char *peer_text;
  ActrPeerLink *link; /* ref: the connection the check is about */
} PresenceCheck;

/* Whether the peer of a connection that went silent is still registered:
 * route candidates list only actors with a live signaling connection.  A
 * peer that is gone (killed, say) is not waited for. */
static void
on_presence_checked(GObject *source, GAsyncResult *result, gpointer user_data)
{
  PresenceCheck *pc = user_data;
  ActrNode *node = pc->node;
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrRouteCandidates) rc =
      node->signaling != NULL
          ? actr_signaling_client_route_candidates_finish(node->signaling, result, &error)
          : NULL;
  RtcSession *s =
      node->rtc_sessions ? g_hash_table_lookup(node->rtc_sessions, pc->peer_text) : NULL;

  if (rc != NULL && s != NULL && s->link == pc->link &&
      actr_pc_get_state(actr_peer_link_rtc_pc(s->link)) != ACTR_PC_STATE_CONNECTED) {
    gboolean present = FALSE;
    for (guint i = 0; i < rc->candidates->len && !present; i++)
      present = actr_id_equal(&g_array_index(rc->candidates, ActrId, i), &s->peer);
    if (!present) {
      node_outbound_peer_gone(node, pc->peer_text);
      session_give_up(s, NODE_RTC_END_PEER_GONE, "the peer is no longer registered");
    }
  }
  actr_peer_link_unref(pc->link);
  g_free(pc->peer_text);
  g_free(pc);
}

static void
check_presence(RtcSession *s)
{
  PresenceCheck *pc;

  if (!node_signaling_ready(s->node))
    return;
  pc = g_new0(PresenceCheck, 1);
  pc->node = s->node;
  pc->peer_text = g_strdup(s->peer_text);
  pc->link = actr_peer_link_ref(s->link);
  actr_signaling_client_route_candidates_async(s->node->signaling, &s->peer.type,
                                               PRESENCE_CANDIDATES, NULL, on_presence_checked, pc);
}

static void
start_recovery(RtcSession *s)
{
  if (s->restart_timer != 0)
    return;
  s->restart_started_us = g_get_monotonic_time();
  s->restart_tries = 0;
  s->last_restart_us = 0;
  s->restart_timer = session_timer(s, 500, on_recovery_tick);
  check_presence(s);
  on_recovery_tick(s);
}

static void
on_link_state(ActrPeerLink *link, ActrPcState state, gpointer user_data)
{
  RtcSession *s = user_data;
  ActrNode *node = s->node;

  if (link != s->link)
    return; /* a connection this session let go of */
  switch (state) {
  case ACTR_PC_STATE_CONNECTED: {
    ActrPeerConnection *pc = actr_peer_link_rtc_pc(link);
    gboolean relayed = actr_pc_is_relayed(pc);
    g_autofree char *how = actr_pc_describe(pc);
    node_source_clear(node, &s->connect_timer);
    node_source_clear(node, &s->restart_timer);
    if (s->connected)
      g_message("webrtc: path restored to %s (%s, %s)", s->peer_text,
                relayed ? "relayed" : "direct", how);
    else
      g_info("webrtc: connected to %s (%s, %s)", s->peer_text, relayed ? "relayed" : "direct", how);
    if (!s->connected) {
      s->connected = TRUE;
      node->metrics.rtc_connected_total++;
      if (relayed)
        node->metrics.rtc_relayed_total++;
      node_emit(node, ACTR_NODE_EVENT_WEBRTC_CONNECTED, s->peer_text, relayed);
    }
    node_outbound_rtc_connected(node, link);
    break;
  }
  case ACTR_PC_STATE_DISCONNECTED:
    g_message("webrtc: path to %s lost; %s", s->peer_text,
              s->offerer ? "restarting ICE" : "asking the offerer for an ICE restart");
    start_recovery(s);
    break;
  case ACTR_PC_STATE_FAILED:
  case ACTR_PC_STATE_CLOSED:
    if (state == ACTR_PC_STATE_FAILED)
      session_give_up(s, NODE_RTC_END_FAILED, "connection failed");
    else
      session_give_up(s, NODE_RTC_END_CLOSED, "connection closed");
    break;
  case ACTR_PC_STATE_NEW:
  case ACTR_PC_STATE_CONNECTING:
    break;
  }
}

static const ActrPeerLinkRtcCallbacks link_callbacks = {
    .on_candidate = on_link_candidate,
    .on_state = on_link_state,
};

/* Lets go of the current connection (closing it). */
static void
session_drop_link(RtcSession *s)
{
  ActrPeerLink *link = g_steal_pointer(&s->link);

  if (link == NULL)
    return;
  actr_peer_link_rtc_detach(link);
  if (s->connected)
    node_emit(s->node, ACTR_NODE_EVENT_WEBRTC_DISCONNECTED, s->peer_text, 0);
  s->connected = FALSE;
  actr_peer_link_close(link); /* node-outbound.c hears the close */
  actr_peer_link_unref(link);
}

/* The session ends: its connection (if any) is closed and, if we were
 * waiting for it, node-outbound.c is told to fall back. */
static void
session_give_up(RtcSession *s, NodeRtcEnd end, const char *why)
{
  ActrNode *node = s->node;
  g_autofree char *peer_text = g_strdup(s->peer_text);

  node->metrics.rtc_ended[end]++;
  if (end == NODE_RTC_END_DENIED) {
    g_message("webrtc: %s: %s", peer_text, why);
    session_remove(s);
    node_outbound_rtc_denied(node, peer_text, why);
    return;
  }
  if (s->connected && !s->restart_timer)
    g_info("webrtc: %s: %s", peer_text, why); /* an orderly end */
  else
    g_message("webrtc: %s: %s", peer_text, why);
  session_remove(s); /* frees s, closing the link */
  /* Calls waiting for this peer go on without WebRTC. */
  node_outbound_rtc_failed(node, peer_text, why);
}

static gboolean
on_role_timeout(gpointer data)
{
  RtcSession *s = data;
  s->role_timer = 0;
  session_give_up(s, NODE_RTC_END_ROLE_TIMEOUT, "no role assignment within 5 s");
  return G_SOURCE_REMOVE;
}

static gboolean
on_connect_timeout(gpointer data)
{
  RtcSession *s = data;
  s->connect_timer = 0;
  if (!s->initiator && s->link == NULL) {
    g_debug("webrtc: still waiting for an offer from %s", s->peer_text);
    return G_SOURCE_REMOVE;
  }
  session_give_up(s, NODE_RTC_END_CONNECT_TIMEOUT, "no connection within 10 s");
  return G_SOURCE_REMOVE;
}

static ActrPeerLink *
session_new_link(RtcSession *s, gboolean offerer, GError **error)
{
  ActrNode *node = s->node;
  const ActrConfig *config = node->config;
  ActrPcConfig pc = {
      .cert = node->rtc_cert,
      .stun_urls = (const char *const *)config->webrtc.stun_urls,
      .turn_urls = (const char *const *)config->webrtc.turn_urls,
      .turn_username = node->registration ? node->registration->turn_username : NULL,
      .turn_password = node->registration ? node->registration->turn_password : NULL,
      .relay_only = config->webrtc.force_relay,
      .port_min = config->webrtc.has_port_range ? config->webrtc.port_range_start : 0,
      .port_max = config->webrtc.has_port_range ? config->webrtc.port_range_end : 0,
      .host_addresses = config->webrtc.host_addresses[0] != NULL
                            ? (const char *const *)config->webrtc.host_addresses
                            : NULL,
      .max_message = 0,
  };

  session_drop_link(s);
  ActrPeerLink *link = actr_peer_link_rtc_new(node->io_context, offerer, &pc, s->peer_text,
                                              &link_callbacks, s, error);
  if (link == NULL)
    return NULL;
  s->link = link;
  s->offerer = offerer;
  node_outbound_rtc_attach(node, link, &s->peer);
  return link;
}

/* We are the offerer: a new connection and its OFFER. */
static void
session_offer(RtcSession *s)
{
  g_autoptr(GError) error = NULL;

  ActrPeerLink *link = session_new_link(s, TRUE, &error);
  g_autofree char *offer =
      link ? actr_pc_create_offer(actr_peer_link_rtc_pc(link), FALSE, &error) : NULL;
  if (offer == NULL) {
    g_autofree char *why = g_strdup_printf("cannot make an offer: %s", error->message);
    session_give_up(s, NODE_RTC_END_LOCAL_ERROR, why);
    return;
  }
  g_free(s->exchange_id);
  s->exchange_id = g_uuid_string_random();
  g_debug("webrtc: offer %s to %s", s->exchange_id, s->peer_text);
  if (!relay_description(s, WEBRTC__SESSION_DESCRIPTION__TYPE__OFFER, offer, s->exchange_id)) {
    session_give_up(s, NODE_RTC_END_SIGNALING_DOWN, "signaling is down");
    return;
  }
  node_source_clear(s->node, &s->connect_timer);
  s->connect_timer = session_timer(s, CONNECT_TIMEOUT_MS, on_connect_timeout);
}

/* ---- inbound relays ----------------------------------------------------------------- */

static void
on_role_assignment(RtcSession *s, const Actr__RoleAssignment *ra)
{
  node_source_clear(s->node, &s->role_timer);
  g_debug("webrtc: role for %s: %s", s->peer_text, ra->is_offerer ? "offerer" : "answerer");
  if (ra->is_offerer) {
    /* Both sides asked at once (two assignments): one offer is enough. */
    if (s->link != NULL && s->offerer && !s->connected && s->exchange_id != NULL) {
      g_debug("webrtc: offer to %s already pending", s->peer_text);
      return;
    }
    session_offer(s); /* replaces any older connection (wire.md §5.2) */
    return;
  }
  /* Answerer: the offer comes from the peer within the connection budget. */
  if (s->connect_timer == 0 && s->link == NULL)
    s->connect_timer = session_timer(s, CONNECT_TIMEOUT_MS, on_connect_timeout);
}

static void
on_offer(RtcSession *s, const Webrtc__SessionDescription *d, gboolean ice_restart)
{
  g_autoptr(GError) error = NULL;
  ActrPeerLink *link = s->link;

  if (ice_restart) {
    if (link == NULL || s->offerer) {
      g_debug("webrtc: ICE restart offer from %s ignored (%s)", s->peer_text,
              link == NULL ? "no connection" : "we are the offerer");
      return;
    }
  } else {
    /* A new offer wins: the older connection goes (glare resolution). */
    node_source_clear(s->node, &s->role_timer);
    link = session_new_link(s, FALSE, &error);
    if (link == NULL) {
      g_autofree char *why = g_strdup_printf("cannot answer: %s", error->message);
      session_give_up(s, NODE_RTC_END_LOCAL_ERROR, why);
      return;
    }
  }
  ActrPeerConnection *pc = actr_peer_link_rtc_pc(link);
  g_autofree char *answer = actr_pc_accept_offer(pc, d->sdp, &error);
  if (answer == NULL) {
    g_message("webrtc: offer from %s refused: %s", s->peer_text, error->message);
    if (!ice_restart)
      session_give_up(s, NODE_RTC_END_BAD_DESCRIPTION, "unusable offer");
    return;
  }
  relay_description(s, WEBRTC__SESSION_DESCRIPTION__TYPE__ANSWER, answer, d->sdp_exchange_id);
  for (guint i = 0; i < s->early_candidates->len; i++)
    actr_pc_add_remote_candidate(pc, g_ptr_array_index(s->early_candidates, i), NULL);
  g_ptr_array_set_size(s->early_candidates, 0);
  if (!ice_restart) {
    node_source_clear(s->node, &s->connect_timer);
    s->connect_timer = session_timer(s, CONNECT_TIMEOUT_MS, on_connect_timeout);
  }
}

static void
on_answer(RtcSession *s, const Webrtc__SessionDescription *d)
{
  g_autoptr(GError) error = NULL;

  if (s->link == NULL || !s->offerer || g_strcmp0(s->exchange_id, d->sdp_exchange_id) != 0) {
    g_debug("webrtc: stale answer %s from %s ignored", d->sdp_exchange_id, s->peer_text);
    return;
  }
  if (!actr_pc_set_answer(actr_peer_link_rtc_pc(s->link), d->sdp, &error)) {
    g_message("webrtc: answer from %s refused: %s", s->peer_text, error->message);
    session_give_up(s, NODE_RTC_END_BAD_DESCRIPTION, "unusable answer");
    return;
  }
  g_clear_pointer(&s->exchange_id, g_free);
}

static void
on_candidate(RtcSession *s, const Webrtc__IceCandidate *c)
{
  g_autoptr(GError) error = NULL;

  if (c->candidate == NULL || c->candidate[0] == '\0')
    return; /* end-of-candidates, never needed */
  if (s->link == NULL) {
    if (s->early_candidates->len < MAX_EARLY_CANDIDATES)
      g_ptr_array_add(s->early_candidates, g_strdup(c->candidate));
    return;
  }
  if (!actr_pc_add_remote_candidate(actr_peer_link_rtc_pc(s->link), c->candidate, &error))
    g_debug("webrtc: candidate from %s refused: %s", s->peer_text, error->message);
}

void
node_webrtc_relay(ActrNode *node, const Signaling__ActrRelay *r)
{
  g_auto(ActrId) source = {0};
  g_auto(ActrId) target = {0};
  g_auto(ActrId) self = {0};

  if (node->rtc_sessions == NULL || r->source == NULL || r->target == NULL)
    return;
  actr_id_from_pb(r->source, &source);
  actr_id_from_pb(r->target, &target);
  node_get_identity(node, &self, NULL, NULL);
  /* The peer is whichever end is not us (RoleAssignment carries the
   * negotiation's source and target to both sides). */
  gboolean from_self =
      source.realm_id == self.realm_id && source.serial_number == self.serial_number;
  const ActrId *peer = from_self ? &target : &source;
  if (peer->realm_id == self.realm_id && peer->serial_number == self.serial_number)
    return;

  switch (r->payload_case) {
  case SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_ASSIGNMENT:
    if (r->role_assignment != NULL)
      on_role_assignment(session_get(node, peer, TRUE), r->role_assignment);
    break;
  case SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION: {
    const Webrtc__SessionDescription *d = r->session_description;
    if (d == NULL || d->sdp == NULL)
      break;
    if (d->sdp_exchange_id == NULL || d->sdp_exchange_id[0] == '\0') {
      g_debug("webrtc: description without sdp_exchange_id from %s ignored",
              r->source ? "peer" : "");
      break;
    }
    switch (d->type) {
    case WEBRTC__SESSION_DESCRIPTION__TYPE__OFFER:
      on_offer(session_get(node, peer, TRUE), d, FALSE);
      break;
    case WEBRTC__SESSION_DESCRIPTION__TYPE__ICE_RESTART_OFFER: {
      RtcSession *s = session_get(node, peer, FALSE);
      if (s != NULL)
        on_offer(s, d, TRUE);
      break;
    }
    case WEBRTC__SESSION_DESCRIPTION__TYPE__ANSWER: {
      RtcSession *s = session_get(node, peer, FALSE);
      if (s != NULL)
        on_answer(s, d);
      break;
    }
    case WEBRTC__SESSION_DESCRIPTION__TYPE__RENEGOTIATION_OFFER:
    default:
      g_message("webrtc: renegotiation (media tracks) is not supported; offer ignored");
      break;
    }
    break;
  }
  case SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE:
    if (r->ice_candidate != NULL)
      on_candidate(session_get(node, peer, TRUE), r->ice_candidate);
    break;
  case SIGNALING__ACTR_RELAY__PAYLOAD_ICE_RESTART_REQUEST: {
    RtcSession *s = session_get(node, peer, FALSE);
    if (s != NULL && s->offerer && s->link != NULL && s->connected) {
      if (s->restart_timer != 0)
        break; /* already recovering */
      if (g_get_monotonic_time() - s->last_restart_us >= RESTART_MIN_INTERVAL_US)
        send_restart_offer(s);
    }
    break;
  }
  case SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_NEGOTIATION:
  case SIGNALING__ACTR_RELAY__PAYLOAD__NOT_SET:
  default:
    break;
  }
}

/* ---- API for node.c / node-outbound.c -------------------------------------------------- */

gboolean
node_webrtc_init(ActrNode *node, GError **error)
{
  if (!node->config->webrtc.enabled)
    return TRUE;
  node->rtc_cert = actr_dtls_cert_new(error);
  if (node->rtc_cert == NULL)
    return FALSE;
  node->rtc_sessions = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, session_free);
  return TRUE;
}

void
node_webrtc_clear(ActrNode *node)
{
  g_clear_pointer(&node->rtc_sessions, g_hash_table_unref);
  g_clear_pointer(&node->rtc_cert, actr_dtls_cert_unref);
}

void
node_webrtc_close_all(ActrNode *node)
{
  if (node->rtc_sessions != NULL)
    g_hash_table_remove_all(node->rtc_sessions);
}

gboolean
node_webrtc_connect(ActrNode *node, const char *peer_text)
{
  g_auto(ActrId) peer = {0};
  g_auto(ActrId) self = {0};
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  Actr__RoleNegotiation rn = ACTR__ROLE_NEGOTIATION__INIT;
  ActrIdPb from, to;

  if (node->rtc_sessions == NULL || !node_signaling_ready(node) ||
      !actr_id_parse(peer_text, &peer, NULL))
    return FALSE;
  RtcSession *s = session_get(node, &peer, TRUE);
  s->initiator = TRUE;
  if (s->link != NULL || s->role_timer != 0)
    return TRUE; /* under way; the outcome is reported */
  node_get_identity(node, &self, NULL, NULL);
  actr_id_to_pb(&self, &from);
  actr_id_to_pb(&peer, &to);
  rn.from = &from.id;
  rn.to = &to.id;
  rn.realm_id = self.realm_id;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_NEGOTIATION;
  r.role_negotiation = &rn;
  g_clear_pointer(&s->negotiation_envelope, g_free);
  if (!relay_tracked(s, &r, &s->negotiation_envelope)) {
    session_remove(s);
    return FALSE;
  }
  s->role_timer = session_timer(s, ROLE_TIMEOUT_MS, on_role_timeout);
  return TRUE;
}

void
node_webrtc_network_changed(ActrNode *node)
{
  GHashTableIter iter;
  RtcSession *s;

  if (node->rtc_sessions == NULL)
    return;
  g_hash_table_iter_init(&iter, node->rtc_sessions);
  while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&s)) {
    if (s->link == NULL || !s->connected)
      continue;
    if (s->restart_timer != 0)
      continue; /* already recovering */
    if (s->offerer)
      send_restart_offer(s); /* the network changed under a working pair */
    else
      ask_for_restart(s);
  }
}

const char *
node_rtc_end_to_string(NodeRtcEnd end)
{
  switch (end) {
  case NODE_RTC_END_ROLE_TIMEOUT:
    return "role_timeout";
  case NODE_RTC_END_CONNECT_TIMEOUT:
    return "connect_timeout";
  case NODE_RTC_END_FAILED:
    return "failed";
  case NODE_RTC_END_CLOSED:
    return "closed";
  case NODE_RTC_END_PATH_LOST:
    return "path_lost";
  case NODE_RTC_END_PEER_GONE:
    return "peer_gone";
  case NODE_RTC_END_SIGNALING_DOWN:
    return "signaling_down";
  case NODE_RTC_END_BAD_DESCRIPTION:
    return "bad_description";
  case NODE_RTC_END_LOCAL_ERROR:
    return "local_error";
  case NODE_RTC_END_DENIED:
    return "denied";
  case NODE_RTC_END_COUNT:
    break;
  }
  return "unknown";
}

guint
node_webrtc_connected_count(ActrNode *node, guint *relayed)
{
  GHashTableIter iter;
  RtcSession *s;
  guint n = 0;

  *relayed = 0;
  if (node->rtc_sessions == NULL)
    return 0;
  g_hash_table_iter_init(&iter, node->rtc_sessions);
  while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&s)) {
    if (s->link != NULL && actr_peer_link_is_open(s->link)) {
      n++;
      if (actr_pc_is_relayed(actr_peer_link_rtc_pc(s->link)))
        (*relayed)++;
    }
  }
  return n;
}

gboolean
node_webrtc_relay_refused(ActrNode *node, const char *reply_for, guint code, const char *message)
{
  GHashTableIter iter;
  RtcSession *s;

  if (node->rtc_sessions == NULL || reply_for == NULL)
    return FALSE;
  g_hash_table_iter_init(&iter, node->rtc_sessions);
  while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&s)) {
    if (g_strcmp0(s->negotiation_envelope, reply_for) != 0)
      continue;
    g_autofree char *why = g_strdup_printf("actrd refused the connection (%u: %s)", code, message);
    /* 403: the realm's ACL forbids it; anything else: no WebRTC now. */
    session_give_up(s, code == 403 ? NODE_RTC_END_DENIED : NODE_RTC_END_SIGNALING_DOWN, why);
    return TRUE;
  }
  return FALSE;
}
