/* actr — the node's transport interface.  See peer-link.h. */
#include "peer-link.h"

void
actr_peer_link_init(ActrPeerLink *link, const ActrPeerLinkClass *klass, gboolean inbound,
                    const char *peer_text)
{
  link->klass = klass;
  link->ref_count = 1;
  link->inbound = inbound;
  link->peer_text = g_strdup(peer_text);
}

ActrPeerLink *
actr_peer_link_ref(ActrPeerLink *link)
{
  g_atomic_int_inc(&link->ref_count);
  return link;
}

void
actr_peer_link_unref(ActrPeerLink *link)
{
  if (link == NULL || !g_atomic_int_dec_and_test(&link->ref_count))
    return;
  char *peer_text = link->peer_text;
  link->klass->finalize(link); /* frees the link itself */
  g_free(peer_text);
}

void
actr_peer_link_set_handlers(ActrPeerLink *link, ActrPeerLinkFrameFunc on_frame,
                            ActrPeerLinkClosedFunc on_closed, gpointer user_data)
{
  link->on_frame = on_frame;
  link->on_closed = on_closed;
  link->user_data = user_data;
}

void
actr_peer_link_emit_frame(ActrPeerLink *link, ActrLane lane, GBytes *payload)
{
  if (link->on_frame != NULL)
    link->on_frame(link, lane, payload, link->user_data);
}

void
actr_peer_link_emit_closed(ActrPeerLink *link)
{
  if (link->closed_reported)
    return;
  link->closed_reported = TRUE;
  if (link->on_closed != NULL) {
    actr_peer_link_ref(link);
    link->on_closed(link, link->user_data);
    actr_peer_link_unref(link);
  }
}

void
actr_peer_link_set_writable_handler(ActrPeerLink *link, ActrPeerLinkWritableFunc func)
{
  link->on_writable = func;
}

void
actr_peer_link_emit_writable(ActrPeerLink *link)
{
  if (link->on_writable != NULL)
    link->on_writable(link, link->user_data);
}

void
actr_peer_link_close(ActrPeerLink *link)
{
  link->klass->close(link);
}
