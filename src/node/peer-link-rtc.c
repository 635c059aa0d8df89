/* actr — ActrPeerLink over a WebRTC peer connection.  See peer-link-rtc.h. */
#include "peer-link-rtc.h"

typedef struct {
  ActrPeerLink base;
  GMainContext *context;
  ActrPeerConnection *pc;
  ActrPeerLinkRtcCallbacks cb;
  gpointer user_data;
} RtcLink;

static ActrStatus
rtc_send(ActrPeerLink *link, ActrLane lane, const guint8 *data, gsize len)
{
  ActrPeerConnection *pc = ((RtcLink *)link)->pc;

  if ((lane == ACTR_LANE_STREAM_RELIABLE || lane == ACTR_LANE_STREAM_LATENCY_FIRST) &&
      actr_pc_buffered_amount(pc) > ACTR_PEER_LINK_HIGH_WATER)
    return ACTR_AGAIN;
  return actr_pc_send(pc, lane, data, len);
}

static void
rtc_close(ActrPeerLink *link)
{
  actr_pc_close(((RtcLink *)link)->pc);
}

static gboolean
rtc_is_open(ActrPeerLink *link)
{
  return actr_pc_get_state(((RtcLink *)link)->pc) == ACTR_PC_STATE_CONNECTED;
}

static gboolean
free_pc(gpointer data)
{
  actr_pc_free(data);
  return G_SOURCE_REMOVE;
}

static void
rtc_finalize(ActrPeerLink *link)
{
  RtcLink *self = (RtcLink *)link;

  /* The last unref may come from inside one of the connection's callbacks:
   * close it now (no callbacks after that but CLOSED, which finds no
   * session) and free it from a fresh dispatch. */
  actr_pc_close(self->pc);
  GSource *idle = g_idle_source_new();
  g_source_set_callback(idle, free_pc, self->pc, NULL);
  g_source_attach(idle, self->context);
  g_source_unref(idle);
  g_main_context_unref(self->context);
  g_free(self);
}

static const ActrPeerLinkClass rtc_class = {
    .transport = "webrtc",
    .is_webrtc = TRUE,
    .send = rtc_send,
    .close = rtc_close,
    .is_open = rtc_is_open,
    .finalize = rtc_finalize,
};

static void
on_pc_candidate(ActrPeerConnection *pc, const char *candidate, gpointer user_data)
{
  RtcLink *self = user_data;
  (void)pc;
  if (self->cb.on_candidate != NULL)
    self->cb.on_candidate(&self->base, candidate, self->user_data);
}

static void
on_pc_state(ActrPeerConnection *pc, ActrPcState state, gpointer user_data)
{
  RtcLink *self = user_data;
  (void)pc;

  actr_peer_link_ref(&self->base);
  if (self->cb.on_state != NULL)
    self->cb.on_state(&self->base, state, self->user_data);
  if (state == ACTR_PC_STATE_CLOSED || state == ACTR_PC_STATE_FAILED)
    actr_peer_link_emit_closed(&self->base);
  actr_peer_link_unref(&self->base);
}

static void
on_pc_message(ActrPeerConnection *pc, ActrLane lane, GBytes *message, gpointer user_data)
{
  RtcLink *self = user_data;
  (void)pc;
  actr_peer_link_emit_frame(&self->base, lane, message);
}

static void
on_pc_writable(ActrPeerConnection *pc, gpointer user_data)
{
  RtcLink *self = user_data;
  (void)pc;
  actr_peer_link_emit_writable(&self->base);
}

static const ActrPcCallbacks pc_callbacks = {
    .on_local_candidate = on_pc_candidate,
    .on_state = on_pc_state,
    .on_message = on_pc_message,
    .on_writable = on_pc_writable,
};

ActrPeerLink *
actr_peer_link_rtc_new(GMainContext *context, gboolean offerer, const ActrPcConfig *config,
                       const char *peer_text, const ActrPeerLinkRtcCallbacks *callbacks,
                       gpointer user_data, GError **error)
{
  RtcLink *self = g_new0(RtcLink, 1);

  self->pc = actr_pc_new(context, offerer, config, &pc_callbacks, self, error);
  if (self->pc == NULL) {
    g_free(self);
    return NULL;
  }
  actr_peer_link_init(&self->base, &rtc_class, FALSE, peer_text);
  self->context = g_main_context_ref(context);
  self->cb = *callbacks;
  self->user_data = user_data;
  return &self->base;
}

ActrPeerConnection *
actr_peer_link_rtc_pc(ActrPeerLink *link)
{
  g_return_val_if_fail(link->klass == &rtc_class, NULL);
  return ((RtcLink *)link)->pc;
}

void
actr_peer_link_rtc_detach(ActrPeerLink *link)
{
  RtcLink *self = (RtcLink *)link;
  g_return_if_fail(link->klass == &rtc_class);
  self->cb.on_candidate = NULL;
  self->cb.on_state = NULL;
  self->user_data = NULL;
}
