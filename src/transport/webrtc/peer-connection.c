/* actr — one WebRTC peer connection: ICE → DTLS → SCTP → lanes.
 * See peer-connection.h for the contract. */
#include "peer-connection.h"

#include <string.h>

#include "dc-fragment.h"
#include "ice.h"
#include "sctp.h"
#include "sdp.h"

#define N_LANES                4
#define MAX_EARLY_DTLS         16                 /* DTLS datagrams kept before DTLS exists */
#define MAX_EARLY_CANDS        256                /* remote candidates kept before the SDP */
#define MAX_QUEUED_BYTES       (64 * 1024 * 1024) /* per lane, waiting for its channel */
#define LIVENESS_TICK_MS       1000
#define DEFAULT_MAX_MESSAGE    (16 * 1024 * 1024)
#define ANSWERER_INIT_DELAY_MS 1000 /* see on_dtls_connected() */

static const char *const lane_labels[N_LANES] = {
    "RPC_RELIABLE",
    "RPC_SIGNAL",
    "STREAM_RELIABLE",
    "STREAM_LATENCY_FIRST",
};

struct _ActrPeerConnection {
  GMainContext *context;
  gboolean offerer;
  ActrPcCallbacks cb;
  gpointer user_data;
  ActrDtlsCert *cert;
  gsize max_message;

  ActrPcState state;
  GQueue state_reports; /* ActrPcState (as pointers) not yet reported */
  GSource *report_source;
  gboolean closed; /* actr_pc_close() ran, or a layer failed for good */

  ActrIce *ice;
  ActrDtls *dtls; /* created with the remote description */
  ActrSctp *sctp;
  gboolean ice_connected;
  gboolean dtls_started;
  gboolean sctp_up;
  gboolean drop_all;

  /* Descriptions. */
  guint64 session_id;
  guint64 session_version;
  gboolean offer_sent;     /* offerer: an offer is out */
  gboolean answer_pending; /* offerer: waiting for the answer to the last offer */
  gboolean remote_set;     /* a remote description was applied */
  char remote_ufrag[ACTR_SDP_UFRAG_MAX + 1];
  char mid[ACTR_SDP_MID_MAX + 1];
  gboolean legacy_sdp;         /* the peer speaks the old DTLS/SCTP + sctpmap syntax */
  GPtrArray *early_candidates; /* char *, before the remote description */
  GPtrArray *early_dtls;       /* GBytes *, before DTLS exists */
  GSource *early_dtls_source;
  GSource *sctp_start_source;

  /* Lanes. */
  gint sid[N_LANES];           /* SCTP stream id of the lane's channel, -1: none */
  gboolean lane_open[N_LANES]; /* its DCEP handshake finished */
  guint32 next_msg_id[N_LANES];
  ActrDcReassembler *reassembler[N_LANES];
  GQueue queued[N_LANES]; /* GBytes * waiting for the channel */
  gsize queued_bytes[N_LANES];
  GByteArray *scratch; /* one fragment: header + chunk */

  /* Liveness. */
  gint64 last_rx_us;
  GSource *liveness_source;
};

G_DEFINE_QUARK(actr - pc - error - quark, actr_pc_error)

const char *
actr_pc_lane_label(ActrLane lane)
{
  return (guint)lane < N_LANES ? lane_labels[lane] : NULL;
}

const char *
actr_pc_state_to_string(ActrPcState state)
{
  switch (state) {
  case ACTR_PC_STATE_NEW:
    return "new";
  case ACTR_PC_STATE_CONNECTING:
    return "connecting";
  case ACTR_PC_STATE_CONNECTED:
    return "connected";
  case ACTR_PC_STATE_DISCONNECTED:
    return "disconnected";
  case ACTR_PC_STATE_FAILED:
    return "failed";
  case ACTR_PC_STATE_CLOSED:
    return "closed";
  }
  return "unknown";
}

/* ---- state reports --------------------------------------------------------- */

static gboolean
report_states(gpointer data)
{
  ActrPeerConnection *pc = data;

  g_clear_pointer(&pc->report_source, g_source_unref);
  while (!g_queue_is_empty(&pc->state_reports)) {
    ActrPcState s = GPOINTER_TO_INT(g_queue_pop_head(&pc->state_reports));
    if (pc->cb.on_state != NULL)
      pc->cb.on_state(pc, s, pc->user_data);
    /* on_state may have closed us: CLOSED is then queued and reported. */
  }
  return G_SOURCE_REMOVE;
}

static GSource *
attach_idle(ActrPeerConnection *pc, GSourceFunc func)
{
  GSource *s = g_idle_source_new();
  g_source_set_priority(s, G_PRIORITY_DEFAULT);
  g_source_set_callback(s, func, pc, NULL);
  g_source_attach(s, pc->context);
  return s;
}

/* Moves to @state and reports it from a later dispatch (in order). */
static void
set_state(ActrPeerConnection *pc, ActrPcState state)
{
  if (pc->state == state || pc->state == ACTR_PC_STATE_CLOSED)
    return;
  if (pc->state == ACTR_PC_STATE_FAILED && state != ACTR_PC_STATE_CLOSED)
    return;
  g_debug("webrtc: %s -> %s", actr_pc_state_to_string(pc->state), actr_pc_state_to_string(state));
  pc->state = state;
  g_queue_push_tail(&pc->state_reports, GINT_TO_POINTER(state));
  if (pc->report_source == NULL)
    pc->report_source = attach_idle(pc, report_states);
}

static void
destroy_source(GSource **source)
{
  if (*source != NULL) {
    g_source_destroy(*source);
    g_source_unref(*source);
    *source = NULL;
  }
}

/* Stops every layer (top down) and the liveness timer; no callback of
 * ours runs for them afterwards (pc->closed). */
static void
close_layers(ActrPeerConnection *pc)
{
  pc->closed = TRUE;
  destroy_source(&pc->liveness_source);
  if (pc->sctp != NULL)
    actr_sctp_close(pc->sctp);
  if (pc->dtls != NULL)
    actr_dtls_close(pc->dtls);
  if (pc->ice != NULL)
    actr_ice_close(pc->ice);
}

/* A layer failed for good: stop everything, report @state. */
static void
fail_connection(ActrPeerConnection *pc, ActrPcState state, const char *why)
{
  if (pc->closed)
    return;
  if (state == ACTR_PC_STATE_CLOSED)
    g_info("webrtc: connection closed: %s", why);
  else
    g_message("webrtc: connection failed: %s", why);
  close_layers(pc);
  set_state(pc, state);
}

/* ---- lanes ------------------------------------------------------------------ */

static int
lane_of_sid(const ActrPeerConnection *pc, guint16 sid)
{
  for (int i = 0; i < N_LANES; i++) {
    if (pc->sid[i] == (gint)sid)
      return i;
  }
  return -1;
}

static int
lane_of_label(const char *label)
{
  for (int i = 0; i < N_LANES; i++) {
    if (strcmp(label, lane_labels[i]) == 0)
      return i;
  }
  return -1;
}

typedef struct {
  ActrPeerConnection *pc;
  guint16 sid;
  GError *error;
} FragmentSend;

static gboolean
send_fragment(const guint8 header[ACTR_DC_HEADER_SIZE], const guint8 *chunk, gsize chunk_len,
              gpointer user_data)
{
  FragmentSend *fs = user_data;
  GByteArray *buf = fs->pc->scratch;

  g_byte_array_set_size(buf, 0);
  g_byte_array_append(buf, header, ACTR_DC_HEADER_SIZE);
  if (chunk_len > 0)
    g_byte_array_append(buf, chunk, (guint)chunk_len);
  return actr_sctp_send(fs->pc->sctp, fs->sid, buf->data, buf->len, TRUE, &fs->error);
}

/* Sends @data as one logical message on the lane's open channel. */
static ActrStatus
send_now(ActrPeerConnection *pc, int lane, const guint8 *data, gsize len)
{
  FragmentSend fs = {pc, (guint16)pc->sid[lane], NULL};

  if (!actr_dc_fragment(pc->next_msg_id[lane]++, data, len, send_fragment, &fs)) {
    ActrStatus st = ACTR_ERROR;
    if (fs.error != NULL) {
      if (g_error_matches(fs.error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_CLOSED))
        st = ACTR_CLOSED;
      g_debug("webrtc: send on %s failed: %s", lane_labels[lane], fs.error->message);
      g_error_free(fs.error);
    }
    return st;
  }
  return ACTR_OK;
}

static void
flush_lane(ActrPeerConnection *pc, int lane)
{
  GBytes *msg;

  while ((msg = g_queue_pop_head(&pc->queued[lane])) != NULL) {
    gsize len;
    const guint8 *data = g_bytes_get_data(msg, &len);
    pc->queued_bytes[lane] -= len;
    send_now(pc, lane, data, len);
    g_bytes_unref(msg);
  }
}

static void
open_lane(ActrPeerConnection *pc, int lane)
{
  ActrSctpReliability rel = {TRUE, -1, -1};
  g_autoptr(GError) error = NULL;

  if (lane == ACTR_LANE_STREAM_LATENCY_FIRST) {
    rel.ordered = FALSE;
    rel.max_retransmits = 3;
  }
  int sid = actr_sctp_open_channel(pc->sctp, lane_labels[lane], &rel, &error);
  if (sid < 0) {
    g_message("webrtc: cannot open channel %s: %s", lane_labels[lane], error->message);
    return;
  }
  pc->sid[lane] = sid;
  flush_lane(pc, lane);
}

/* ---- SCTP callbacks ------------------------------------------------------------ */

static void
on_sctp_packet(ActrSctp *sctp, const guint8 *data, gsize len, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  (void)sctp;
  if (pc->dtls != NULL)
    actr_dtls_send(pc->dtls, data, len, NULL); /* a lost packet is SCTP's to resend */
}

static void
on_sctp_connected(ActrSctp *sctp, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  (void)sctp;

  if (pc->closed)
    return;
  g_debug("webrtc: SCTP association up");
  pc->sctp_up = TRUE;
  if (pc->offerer) {
    for (int i = 0; i < N_LANES; i++) {
      if (pc->sid[i] < 0)
        open_lane(pc, i);
    }
  }
}

static void
on_channel_open(ActrSctp *sctp, guint16 sid, const char *label, gboolean by_peer,
                gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  int lane = lane_of_label(label);
  (void)sctp;

  if (pc->closed)
    return;
  if (lane < 0) {
    g_debug("webrtc: channel '%s' (stream %u) ignored: unknown label", label, sid);
    return;
  }
  /* The latest channel with a label carries the lane (a channel the peer
   * opens replaces one it closed; both sides opening is tolerated). */
  pc->sid[lane] = sid;
  pc->lane_open[lane] = TRUE;
  g_debug("webrtc: channel %s open (stream %u, by %s)", label, sid, by_peer ? "peer" : "us");
  flush_lane(pc, lane);
  if (lane == ACTR_LANE_RPC_RELIABLE && pc->state == ACTR_PC_STATE_CONNECTING)
    set_state(pc, ACTR_PC_STATE_CONNECTED);
}

static void
on_channel_message(ActrSctp *sctp, guint16 sid, const guint8 *data, gsize len, gboolean binary,
                   gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  int lane = lane_of_sid(pc, sid);
  const guint8 *payload = NULL;
  gsize payload_len = 0;
  GBytes *message = NULL;
  const char *why = NULL;
  (void)sctp;
  (void)binary;

  if (pc->closed || lane < 0)
    return;
  switch (actr_dc_reassembler_push(pc->reassembler[lane], data, len, g_get_monotonic_time(),
                                   &payload, &payload_len, &message, &why)) {
  case ACTR_DC_SINGLE:
    message = g_bytes_new(payload, payload_len);
    break;
  case ACTR_DC_COMPLETE:
    break;
  case ACTR_DC_PARTIAL:
    return;
  case ACTR_DC_ERROR:
    g_message("webrtc: bad message on %s dropped: %s", lane_labels[lane], why);
    return;
  }
  if (pc->cb.on_message != NULL)
    pc->cb.on_message(pc, lane, message, pc->user_data);
  g_bytes_unref(message);
}

static void
on_channel_closed(ActrSctp *sctp, guint16 sid, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  int lane = lane_of_sid(pc, sid);
  (void)sctp;

  if (lane < 0)
    return;
  g_debug("webrtc: channel %s closed by the peer", lane_labels[lane]);
  pc->sid[lane] = -1;
  pc->lane_open[lane] = FALSE;
  /* The offerer opens it again (wire.md §5.3: recreated on next use). */
  if (pc->offerer && pc->sctp_up && !pc->closed)
    open_lane(pc, lane);
}

static void
on_sctp_writable(ActrSctp *sctp, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  (void)sctp;
  if (!pc->closed && pc->cb.on_writable != NULL)
    pc->cb.on_writable(pc, pc->user_data);
}

static void
on_sctp_closed(ActrSctp *sctp, const char *reason, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  (void)sctp;
  g_autofree char *why = g_strdup_printf("SCTP association ended (%s)", reason);
  fail_connection(pc, ACTR_PC_STATE_CLOSED, why);
}

static const ActrSctpCallbacks sctp_callbacks = {
    .send_packet = on_sctp_packet,
    .on_connected = on_sctp_connected,
    .on_channel_open = on_channel_open,
    .on_message = on_channel_message,
    .on_channel_closed = on_channel_closed,
    .on_buffered_low = on_sctp_writable,
    .on_closed = on_sctp_closed,
};

/* ---- DTLS callbacks --------------------------------------------------------------- */

static void
on_dtls_datagram(ActrDtls *dtls, const guint8 *data, gsize len, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  (void)dtls;
  if (!pc->drop_all && pc->ice != NULL)
    actr_ice_send(pc->ice, data, len);
}

static gboolean
start_sctp(gpointer data)
{
  ActrPeerConnection *pc = data;

  g_clear_pointer(&pc->sctp_start_source, g_source_unref);
  if (!pc->closed && !actr_sctp_is_connected(pc->sctp))
    actr_sctp_connect(pc->sctp);
  return G_SOURCE_REMOVE;
}

static void
on_dtls_connected(ActrDtls *dtls, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;

  if (pc->closed)
    return;
  g_debug("webrtc: DTLS up (%s)", actr_dtls_cipher(dtls));
  if (pc->sctp_start_source != NULL)
    return;
  if (pc->offerer) {
    /* From a fresh dispatch: the INIT must not share a datagram with our
     * last handshake flight, or peers that attach SCTP only after their
     * handshake loop (aiortc) drop it and wait for its retransmission. */
    pc->sctp_start_source = attach_idle(pc, start_sctp);
  } else {
    /* The answerer (ICE-controlled) lets the offerer's INIT come first:
     * aiortc sends INIT only when ICE-controlling and ignores ours, and an
     * INIT that crosses our own is the fragile simultaneous open.  Our own
     * INIT follows only if none came (a peer that never connects). */
    pc->sctp_start_source = g_timeout_source_new(ANSWERER_INIT_DELAY_MS);
    g_source_set_callback(pc->sctp_start_source, start_sctp, pc, NULL);
    g_source_attach(pc->sctp_start_source, pc->context);
  }
}

static void
on_dtls_data(ActrDtls *dtls, const guint8 *data, gsize len, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  (void)dtls;
  if (!pc->closed)
    actr_sctp_receive_packet(pc->sctp, data, len);
}

static void
on_dtls_closed(ActrDtls *dtls, const GError *error, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  (void)dtls;
  if (error == NULL) {
    fail_connection(pc, ACTR_PC_STATE_CLOSED, "the peer closed DTLS");
  } else {
    g_autofree char *why = g_strdup_printf("DTLS: %s", error->message);
    fail_connection(pc, ACTR_PC_STATE_FAILED, why);
  }
}

static const ActrDtlsCallbacks dtls_callbacks = {
    .send_datagram = on_dtls_datagram,
    .on_connected = on_dtls_connected,
    .on_data = on_dtls_data,
    .on_closed = on_dtls_closed,
};

static void
start_dtls_if_ready(ActrPeerConnection *pc)
{
  if (pc->dtls != NULL && pc->ice_connected && !pc->dtls_started && !pc->closed) {
    pc->dtls_started = TRUE;
    actr_dtls_start(pc->dtls);
  }
}

/* Feeds the DTLS datagrams that arrived before DTLS existed. */
static gboolean
feed_early_dtls(gpointer data)
{
  ActrPeerConnection *pc = data;
  g_autoptr(GPtrArray) early = pc->early_dtls;

  g_clear_pointer(&pc->early_dtls_source, g_source_unref);
  pc->early_dtls = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  for (guint i = 0; i < early->len && pc->dtls != NULL && !pc->closed; i++) {
    gsize len;
    const guint8 *d = g_bytes_get_data(g_ptr_array_index(early, i), &len);
    actr_dtls_receive(pc->dtls, d, len);
  }
  return G_SOURCE_REMOVE;
}

/* ---- ICE callbacks ---------------------------------------------------------------- */

static void
on_ice_candidate(ActrIce *ice, const char *candidate, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  (void)ice;
  if (!pc->closed && pc->cb.on_local_candidate != NULL)
    pc->cb.on_local_candidate(pc, candidate, pc->user_data);
}

static void
on_ice_gathering_done(ActrIce *ice, gpointer user_data)
{
  (void)ice;
  (void)user_data;
  g_debug("webrtc: ICE gathering done");
}

static void
on_ice_state(ActrIce *ice, ActrIceState state, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  (void)ice;

  if (pc->closed)
    return;
  switch (state) {
  case ACTR_ICE_STATE_CONNECTED:
    pc->ice_connected = TRUE;
    pc->last_rx_us = g_get_monotonic_time();
    start_dtls_if_ready(pc);
    if (pc->state == ACTR_PC_STATE_DISCONNECTED && pc->lane_open[ACTR_LANE_RPC_RELIABLE])
      set_state(pc, ACTR_PC_STATE_CONNECTED);
    break;
  case ACTR_ICE_STATE_FAILED:
    if (pc->state == ACTR_PC_STATE_CONNECTED)
      set_state(pc, ACTR_PC_STATE_DISCONNECTED);
    else if (!pc->dtls_started)
      fail_connection(pc, ACTR_PC_STATE_FAILED, "ICE found no working candidate pair");
    break;
  case ACTR_ICE_STATE_NEW:
  case ACTR_ICE_STATE_CHECKING:
  case ACTR_ICE_STATE_CLOSED:
    break;
  }
}

static void
on_ice_datagram(ActrIce *ice, const guint8 *data, gsize len, gpointer user_data)
{
  ActrPeerConnection *pc = user_data;
  (void)ice;

  if (pc->closed || pc->drop_all || len == 0)
    return;
  pc->last_rx_us = g_get_monotonic_time();
  if (pc->state == ACTR_PC_STATE_DISCONNECTED && pc->lane_open[ACTR_LANE_RPC_RELIABLE])
    set_state(pc, ACTR_PC_STATE_CONNECTED);
  if (!actr_dtls_is_dtls_datagram(data[0]))
    return; /* RTP/RTCP: no media yet */
  if (pc->dtls == NULL) {
    if (pc->early_dtls->len < MAX_EARLY_DTLS)
      g_ptr_array_add(pc->early_dtls, g_bytes_new(data, len));
    return;
  }
  actr_dtls_receive(pc->dtls, data, len);
}

static const ActrIceCallbacks ice_callbacks = {
    .on_local_candidate = on_ice_candidate,
    .on_gathering_done = on_ice_gathering_done,
    .on_state = on_ice_state,
    .on_datagram = on_ice_datagram,
};

/* ---- liveness --------------------------------------------------------------------- */

static gboolean
on_liveness_tick(gpointer data)
{
  ActrPeerConnection *pc = data;
  gint64 now = g_get_monotonic_time();

  for (int i = 0; i < N_LANES; i++) {
    guint n = actr_dc_reassembler_expire(pc->reassembler[i], now);
    if (n > 0)
      g_message("webrtc: %u incomplete message(s) on %s dropped (too old)", n, lane_labels[i]);
  }
  if (pc->state == ACTR_PC_STATE_CONNECTED &&
      g_get_monotonic_time() - pc->last_rx_us > (gint64)ACTR_PC_SILENCE_MS * 1000) {
    g_message("webrtc: nothing received for %d ms: path lost", ACTR_PC_SILENCE_MS);
    set_state(pc, ACTR_PC_STATE_DISCONNECTED);
  }
  return G_SOURCE_CONTINUE;
}

/* ---- construction ------------------------------------------------------------------ */

ActrPeerConnection *
actr_pc_new(GMainContext *context, gboolean offerer, const ActrPcConfig *config,
            const ActrPcCallbacks *callbacks, gpointer user_data, GError **error)
{
  ActrPeerConnection *pc = g_new0(ActrPeerConnection, 1);
  ActrIceConfig ice_config = {
      .controlling = offerer,
      .stun_urls = config->stun_urls,
      .turn_urls = config->turn_urls,
      .turn_username = config->turn_username,
      .turn_password = config->turn_password,
      .relay_only = config->relay_only,
      .port_min = config->port_min,
      .port_max = config->port_max,
      .host_addresses = config->host_addresses,
  };
  ActrDcLimits limits;

  pc->context = g_main_context_ref(context);
  pc->offerer = offerer;
  pc->cb = *callbacks;
  pc->user_data = user_data;
  pc->cert = actr_dtls_cert_ref(config->cert);
  pc->max_message = config->max_message ? config->max_message : DEFAULT_MAX_MESSAGE;
  pc->session_id = g_random_int() | ((guint64)g_random_int_range(1, G_MAXINT32) << 31);
  g_queue_init(&pc->state_reports);
  pc->early_candidates = g_ptr_array_new_with_free_func(g_free);
  pc->early_dtls = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  pc->scratch = g_byte_array_sized_new(ACTR_DC_MAX_MESSAGE);
  g_strlcpy(pc->mid, "0", sizeof pc->mid);
  actr_dc_limits_init(&limits);
  limits.max_message = pc->max_message;
  for (int i = 0; i < N_LANES; i++) {
    pc->sid[i] = -1;
    pc->reassembler[i] = actr_dc_reassembler_new(&limits);
    g_queue_init(&pc->queued[i]);
  }
  pc->ice = actr_ice_new(context, &ice_config, &ice_callbacks, pc, error);
  if (pc->ice == NULL) {
    actr_pc_free(pc);
    return NULL;
  }
  pc->liveness_source = g_timeout_source_new(LIVENESS_TICK_MS);
  g_source_set_callback(pc->liveness_source, on_liveness_tick, pc, NULL);
  g_source_attach(pc->liveness_source, context);
  return pc;
}

void
actr_pc_free(ActrPeerConnection *pc)
{
  if (pc == NULL)
    return;
  destroy_source(&pc->report_source);
  destroy_source(&pc->liveness_source);
  destroy_source(&pc->early_dtls_source);
  destroy_source(&pc->sctp_start_source);
  /* Top down: SCTP may still hand a packet to DTLS while it goes. */
  g_clear_pointer(&pc->sctp, actr_sctp_free);
  g_clear_pointer(&pc->dtls, actr_dtls_free);
  g_clear_pointer(&pc->ice, actr_ice_free);
  for (int i = 0; i < N_LANES; i++) {
    g_clear_pointer(&pc->reassembler[i], actr_dc_reassembler_free);
    g_queue_clear_full(&pc->queued[i], (GDestroyNotify)g_bytes_unref);
  }
  g_queue_clear(&pc->state_reports);
  g_ptr_array_unref(pc->early_candidates);
  g_ptr_array_unref(pc->early_dtls);
  g_byte_array_unref(pc->scratch);
  actr_dtls_cert_unref(pc->cert);
  g_main_context_unref(pc->context);
  g_free(pc);
}

gboolean
actr_pc_is_offerer(const ActrPeerConnection *pc)
{
  return pc->offerer;
}

/* ---- descriptions ------------------------------------------------------------------ */

static gchar *
local_description(ActrPeerConnection *pc, ActrSdpSetup setup, GError **error)
{
  g_autoptr(ActrSdp) sdp = actr_sdp_new();

  sdp->session_id = pc->session_id;
  sdp->session_version = ++pc->session_version;
  g_strlcpy(sdp->ice_ufrag, actr_ice_local_ufrag(pc->ice), sizeof sdp->ice_ufrag);
  g_strlcpy(sdp->ice_pwd, actr_ice_local_pwd(pc->ice), sizeof sdp->ice_pwd);
  sdp->fingerprint_hash = ACTR_SDP_HASH_SHA256;
  actr_dtls_cert_fingerprint(pc->cert, sdp->fingerprint);
  sdp->fingerprint_len = 32;
  sdp->setup = setup;
  g_strlcpy(sdp->mid, pc->mid, sizeof sdp->mid);
  sdp->sctp_port = ACTR_SCTP_DEFAULT_PORT;
  sdp->max_message_size = ACTR_SCTP_MAX_MESSAGE;
  sdp->legacy_sctpmap = pc->legacy_sdp;
  return actr_sdp_to_string(sdp, error);
}

static gboolean
add_candidate_now(ActrPeerConnection *pc, const char *candidate, GError **error)
{
  if (!actr_ice_add_remote_candidate(pc->ice, candidate, error)) {
    g_prefix_error(error, "remote candidate: ");
    return FALSE;
  }
  return TRUE;
}

/* Applies the parsed remote description: ICE credentials and candidates,
 * then DTLS and SCTP on first use.  @dtls_role is ours. */
static gboolean
apply_remote(ActrPeerConnection *pc, const ActrSdp *sdp, ActrDtlsRole dtls_role, GError **error)
{
  gboolean restart = pc->remote_set && strcmp(pc->remote_ufrag, sdp->ice_ufrag) != 0;

  if (restart && !pc->offerer && !actr_ice_restart(pc->ice, error))
    return FALSE;
  if (!actr_ice_set_remote_credentials(pc->ice, sdp->ice_ufrag, sdp->ice_pwd, error))
    return FALSE;
  g_strlcpy(pc->remote_ufrag, sdp->ice_ufrag, sizeof pc->remote_ufrag);
  for (guint i = 0; i < sdp->candidates->len; i++) {
    const ActrSdpCandidate *c = &g_array_index(sdp->candidates, ActrSdpCandidate, i);
    g_autofree char *line = actr_sdp_candidate_to_string(c);
    g_autoptr(GError) local = NULL;
    if (!add_candidate_now(pc, line, &local))
      g_debug("webrtc: %s", local->message);
  }
  if (!pc->remote_set) {
    pc->remote_set = TRUE;
    for (guint i = 0; i < pc->early_candidates->len; i++) {
      g_autoptr(GError) local = NULL;
      if (!add_candidate_now(pc, g_ptr_array_index(pc->early_candidates, i), &local))
        g_debug("webrtc: %s", local->message);
    }
    g_ptr_array_set_size(pc->early_candidates, 0);
  }
  if (pc->dtls != NULL)
    return TRUE;

  pc->dtls = actr_dtls_new(pc->context, pc->cert, dtls_role, sdp->fingerprint_hash,
                           sdp->fingerprint, sdp->fingerprint_len, &dtls_callbacks, pc, error);
  if (pc->dtls == NULL)
    return FALSE;
  pc->sctp = actr_sctp_new(pc->context, dtls_role == ACTR_DTLS_CLIENT, ACTR_SCTP_DEFAULT_PORT,
                           sdp->sctp_port ? sdp->sctp_port : ACTR_SCTP_DEFAULT_PORT,
                           sdp->max_message_size, &sctp_callbacks, pc, error);
  if (pc->sctp == NULL)
    return FALSE;
  if (dtls_role == ACTR_DTLS_SERVER) {
    pc->dtls_started = TRUE; /* a server only waits for the ClientHello */
    actr_dtls_start(pc->dtls);
  }
  start_dtls_if_ready(pc);
  if (pc->early_dtls->len > 0 && pc->early_dtls_source == NULL)
    pc->early_dtls_source = attach_idle(pc, feed_early_dtls);
  return TRUE;
}

static ActrSdp *
parse_remote(const char *text, GError **error)
{
  ActrSdp *sdp = actr_sdp_parse(text, -1, error);
  if (sdp == NULL)
    g_prefix_error(error, "remote SDP: ");
  return sdp;
}

gchar *
actr_pc_create_offer(ActrPeerConnection *pc, gboolean ice_restart, GError **error)
{
  if (!pc->offerer || pc->closed) {
    g_set_error(error, ACTR_PC_ERROR, ACTR_PC_ERROR_STATE, "only an open offerer makes offers");
    return NULL;
  }
  if (ice_restart) {
    if (!pc->remote_set) {
      g_set_error(error, ACTR_PC_ERROR, ACTR_PC_ERROR_STATE, "ICE restart before the first answer");
      return NULL;
    }
    if (!actr_ice_restart(pc->ice, error))
      return NULL;
  } else if (pc->offer_sent) {
    g_set_error(error, ACTR_PC_ERROR, ACTR_PC_ERROR_STATE, "an offer was already made");
    return NULL;
  }
  gchar *text = local_description(pc, ACTR_SDP_SETUP_ACTPASS, error);
  if (text == NULL)
    return NULL;
  if (!pc->offer_sent && !actr_ice_gather(pc->ice, error)) {
    g_free(text);
    return NULL;
  }
  pc->offer_sent = TRUE;
  pc->answer_pending = TRUE;
  if (pc->state == ACTR_PC_STATE_NEW)
    set_state(pc, ACTR_PC_STATE_CONNECTING);
  return text;
}

gboolean
actr_pc_set_answer(ActrPeerConnection *pc, const char *text, GError **error)
{
  if (!pc->offerer || !pc->answer_pending || pc->closed) {
    g_set_error(error, ACTR_PC_ERROR, ACTR_PC_ERROR_STATE, "no offer is waiting for an answer");
    return FALSE;
  }
  g_autoptr(ActrSdp) sdp = parse_remote(text, error);
  if (sdp == NULL)
    return FALSE;
  /* The answerer picks: active (it is the DTLS client) unless it says
   * passive.  actpass in an answer is invalid; treat it as active. */
  ActrDtlsRole role = sdp->setup == ACTR_SDP_SETUP_PASSIVE ? ACTR_DTLS_CLIENT : ACTR_DTLS_SERVER;
  pc->legacy_sdp = sdp->legacy_sctpmap;
  if (!apply_remote(pc, sdp, role, error))
    return FALSE;
  pc->answer_pending = FALSE;
  return TRUE;
}

gchar *
actr_pc_accept_offer(ActrPeerConnection *pc, const char *text, GError **error)
{
  if (pc->offerer || pc->closed) {
    g_set_error(error, ACTR_PC_ERROR, ACTR_PC_ERROR_STATE, "only an open answerer takes offers");
    return NULL;
  }
  g_autoptr(ActrSdp) sdp = parse_remote(text, error);
  if (sdp == NULL)
    return NULL;
  gboolean first = !pc->remote_set;
  /* We answer active (DTLS client) unless the offerer insists on it. */
  ActrSdpSetup ours =
      sdp->setup == ACTR_SDP_SETUP_ACTIVE ? ACTR_SDP_SETUP_PASSIVE : ACTR_SDP_SETUP_ACTIVE;
  ActrDtlsRole role = ours == ACTR_SDP_SETUP_ACTIVE ? ACTR_DTLS_CLIENT : ACTR_DTLS_SERVER;
  if (first) {
    g_strlcpy(pc->mid, sdp->mid[0] ? sdp->mid : "0", sizeof pc->mid);
    pc->legacy_sdp = sdp->legacy_sctpmap;
  }
  if (!apply_remote(pc, sdp, role, error))
    return NULL;
  gchar *answer = local_description(pc, ours, error);
  if (answer == NULL)
    return NULL;
  if (first && !actr_ice_gather(pc->ice, error)) {
    g_free(answer);
    return NULL;
  }
  set_state(pc, pc->state == ACTR_PC_STATE_NEW ? ACTR_PC_STATE_CONNECTING : pc->state);
  return answer;
}

gboolean
actr_pc_add_remote_candidate(ActrPeerConnection *pc, const char *candidate, GError **error)
{
  if (pc->closed)
    return TRUE;
  if (!pc->remote_set) {
    /* Before the remote description: keep it, checked for syntax now. */
    ActrSdpCandidate parsed;
    if (!actr_sdp_candidate_parse(candidate, -1, &parsed, error))
      return FALSE;
    if (pc->early_candidates->len < MAX_EARLY_CANDS)
      g_ptr_array_add(pc->early_candidates, g_strdup(candidate));
    return TRUE;
  }
  return add_candidate_now(pc, candidate, error);
}

/* ---- sending ------------------------------------------------------------------------ */

ActrStatus
actr_pc_send(ActrPeerConnection *pc, ActrLane lane, const guint8 *data, gsize len)
{
  if (pc->closed || pc->state == ACTR_PC_STATE_FAILED || pc->state == ACTR_PC_STATE_CLOSED)
    return ACTR_CLOSED;
  if ((guint)lane >= N_LANES || actr_dc_fragment_count(len) == 0)
    return ACTR_ERROR;
  if (pc->sid[lane] < 0 && pc->offerer && pc->sctp_up)
    open_lane(pc, lane);
  if (pc->sid[lane] < 0) {
    if (pc->queued_bytes[lane] + len > MAX_QUEUED_BYTES)
      return ACTR_AGAIN;
    g_queue_push_tail(&pc->queued[lane], g_bytes_new(data, len));
    pc->queued_bytes[lane] += len;
    return ACTR_OK;
  }
  return send_now(pc, lane, data, len);
}

gsize
actr_pc_buffered_amount(const ActrPeerConnection *pc)
{
  gsize n = pc->sctp != NULL ? actr_sctp_buffered_amount(pc->sctp) : 0;
  for (int i = 0; i < N_LANES; i++)
    n += pc->queued_bytes[i];
  return n;
}

ActrPcState
actr_pc_get_state(const ActrPeerConnection *pc)
{
  return pc->state;
}

gboolean
actr_pc_is_relayed(ActrPeerConnection *pc)
{
  return pc->ice != NULL && actr_ice_selected_pair_is_relayed(pc->ice);
}

gchar *
actr_pc_describe(ActrPeerConnection *pc)
{
  g_autofree char *pair = pc->ice ? actr_ice_describe_selected_pair(pc->ice) : NULL;
  const char *cipher = pc->dtls ? actr_dtls_cipher(pc->dtls) : NULL;

  return g_strdup_printf("ice: %s; dtls: %s", pair ? pair : "no pair", cipher ? cipher : "none");
}

void
actr_pc_close(ActrPeerConnection *pc)
{
  if (pc->closed) {
    set_state(pc, ACTR_PC_STATE_CLOSED);
    return;
  }
  close_layers(pc);
  /* Only CLOSED is reported from now on. */
  g_queue_clear(&pc->state_reports);
  if (pc->state != ACTR_PC_STATE_CLOSED) {
    pc->state = ACTR_PC_STATE_FAILED; /* lets set_state() move to CLOSED */
    set_state(pc, ACTR_PC_STATE_CLOSED);
  }
}

void
actr_pc_set_drop_all(ActrPeerConnection *pc, gboolean drop)
{
  pc->drop_all = drop;
  if (pc->ice != NULL)
    actr_ice_set_drop_all(pc->ice, drop);
}
