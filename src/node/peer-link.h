/* actr — the node's transport interface: one message link to one peer.
 *
 * Every transport the node can use (WebSocket direct-connect now, WebRTC
 * data channels next) provides links of this shape.  The node only ever
 * sends framed messages on a lane, learns about received frames and about
 * the link closing, and closes links; it never sees the transport below.
 *
 * A link is either inbound (the peer dialled us and was authenticated, so
 * peer_text is verified) or outbound (we dialled the peer found through
 * route candidates).
 *
 * Threads: a link belongs to the node's I/O thread: every function is
 * called there and every callback runs there.  The refcount is atomic, but
 * the last unref must also happen on the I/O thread.
 *
 * Re-entrancy: implementations never call on_closed from inside send() or
 * close(); it always comes from a later main-loop dispatch.
 */
#ifndef ACTR_PEER_LINK_H
#define ACTR_PEER_LINK_H

#include <glib.h>
#include <actr/error.h>

#include "ws-frame.h"

G_BEGIN_DECLS

typedef struct _ActrPeerLink ActrPeerLink;

/* A frame arrived on @link (payload transfer none; ref it to keep it). */
typedef void (*ActrPeerLinkFrameFunc)(ActrPeerLink *link, ActrLane lane, GBytes *payload,
                                      gpointer user_data);
/* @link closed; called at most once.  The link stays valid during the call. */
typedef void (*ActrPeerLinkClosedFunc)(ActrPeerLink *link, gpointer user_data);
/* @link takes data again after a send returned ACTR_AGAIN. */
typedef void (*ActrPeerLinkWritableFunc)(ActrPeerLink *link, gpointer user_data);

/* Bytes a link may hold unsent or unacknowledged before sends of data
 * stream chunks return ACTR_AGAIN (flow control; RPC lanes are bounded by
 * the pending-call map instead). */
#define ACTR_PEER_LINK_HIGH_WATER (4 * 1024 * 1024)

/* What a transport implements. */
typedef struct {
  const char *transport; /* "websocket", "webrtc": for logs */
  gboolean is_webrtc;    /* for metrics, without comparing names per message */
  /* Queues one framed message; ACTR_OK, ACTR_CLOSED or ACTR_ERROR, or
   * ACTR_AGAIN for a stream lane while the link holds more than
   * ACTR_PEER_LINK_HIGH_WATER (on_writable follows). */
  ActrStatus (*send)(ActrPeerLink *link, ActrLane lane, const guint8 *data, gsize len);
  void (*close)(ActrPeerLink *link);
  gboolean (*is_open)(ActrPeerLink *link);
  /* Releases the transport's resources (last unref). */
  void (*finalize)(ActrPeerLink *link);
} ActrPeerLinkClass;

struct _ActrPeerLink {
  const ActrPeerLinkClass *klass;
  gint ref_count;
  gboolean inbound;
  char *peer_text; /* the peer's ActrId text form (owned) */
  ActrPeerLinkFrameFunc on_frame;
  ActrPeerLinkClosedFunc on_closed;
  ActrPeerLinkWritableFunc on_writable;
  gpointer user_data;
  gboolean closed_reported;
  gboolean carried_streams; /* a data stream chunk went over it (either way) */
  gboolean stream_overrun;  /* chunks from it are being dropped (receiver behind) */
};

/* For implementations: initialises the common part of a new link (ref 1). */
void actr_peer_link_init(ActrPeerLink *link, const ActrPeerLinkClass *klass, gboolean inbound,
                         const char *peer_text);
/* For implementations: delivers a frame / reports the close (once). */
void actr_peer_link_emit_frame(ActrPeerLink *link, ActrLane lane, GBytes *payload);
void actr_peer_link_emit_closed(ActrPeerLink *link);
void actr_peer_link_emit_writable(ActrPeerLink *link);

ActrPeerLink *actr_peer_link_ref(ActrPeerLink *link);
void actr_peer_link_unref(ActrPeerLink *link);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrPeerLink, actr_peer_link_unref)

/* Sets the callbacks (replacing earlier ones; @user_data is not owned). */
void actr_peer_link_set_handlers(ActrPeerLink *link, ActrPeerLinkFrameFunc on_frame,
                                 ActrPeerLinkClosedFunc on_closed, gpointer user_data);
/* Sets the writable callback (same @user_data as the other handlers). */
void actr_peer_link_set_writable_handler(ActrPeerLink *link, ActrPeerLinkWritableFunc func);

static inline ActrStatus
actr_peer_link_send(ActrPeerLink *link, ActrLane lane, const guint8 *data, gsize len)
{
  return link->klass->send(link, lane, data, len);
}

static inline gboolean
actr_peer_link_is_open(ActrPeerLink *link)
{
  return link->klass->is_open(link);
}

void actr_peer_link_close(ActrPeerLink *link);

G_END_DECLS

#endif /* ACTR_PEER_LINK_H */
