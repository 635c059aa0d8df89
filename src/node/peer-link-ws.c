/* actr — ActrPeerLink over WebSocket direct-connect.  See peer-link-ws.h. */
#include "peer-link-ws.h"

typedef struct {
  ActrPeerLink base;
  ActrWsLink *ws;
} WsPeerLink;

static ActrStatus
ws_send(ActrPeerLink *link, ActrLane lane, const guint8 *data, gsize len)
{
  return actr_ws_link_send(((WsPeerLink *)link)->ws, lane, data, len);
}

static void
ws_close(ActrPeerLink *link)
{
  actr_ws_link_close(((WsPeerLink *)link)->ws);
}

static gboolean
ws_is_open(ActrPeerLink *link)
{
  return actr_ws_link_is_open(((WsPeerLink *)link)->ws);
}

static void
ws_finalize(ActrPeerLink *link)
{
  WsPeerLink *self = (WsPeerLink *)link;

  if (!actr_ws_link_is_inbound(self->ws))
    actr_ws_link_set_handlers(self->ws, NULL, NULL, NULL, NULL);
  actr_ws_link_unref(self->ws);
  g_free(self);
}

static const ActrPeerLinkClass ws_class = {
    .transport = "websocket",
    .send = ws_send,
    .close = ws_close,
    .is_open = ws_is_open,
    .finalize = ws_finalize,
};

static void
on_ws_message(ActrWsLink *ws, ActrLane lane, GBytes *payload, gpointer user_data)
{
  actr_peer_link_emit_frame(user_data, lane, payload);
}

static void
on_ws_closed(ActrWsLink *ws, gpointer user_data)
{
  actr_peer_link_emit_closed(user_data);
}

ActrPeerLink *
actr_peer_link_ws_new(ActrWsLink *ws, gboolean inbound, const char *peer_text)
{
  WsPeerLink *self = g_new0(WsPeerLink, 1);

  actr_peer_link_init(&self->base, &ws_class, inbound, peer_text);
  self->ws = actr_ws_link_ref(ws);
  /* Dialled links report to us directly; the handlers hold no reference,
   * finalize() removes them before the wrapper goes away. */
  if (!inbound)
    actr_ws_link_set_handlers(ws, on_ws_message, on_ws_closed, self, NULL);
  return &self->base;
}

ActrWsLink *
actr_peer_link_ws_get_ws(ActrPeerLink *link)
{
  g_return_val_if_fail(link->klass == &ws_class, NULL);
  return ((WsPeerLink *)link)->ws;
}
