/* actr — ActrPeerLink over one WebRTC peer connection (peer-connection.h).
 *
 * A WebRTC link is symmetric: both sides send requests, replies and
 * data-stream chunks on it, whoever offered.  The link owns its
 * ActrPeerConnection; the node's WebRTC sessions (node-webrtc.c) drive the
 * signaling side through actr_peer_link_rtc_pc() and learn about local
 * candidates and state changes through ActrPeerLinkRtcCallbacks.  The link
 * is open while the connection is CONNECTED (new calls wait while it
 * recovers; what was already sent stays with SCTP, which retransmits it
 * once an ICE restart restores the path); it reports closed once the
 * connection is CLOSED or FAILED.
 *
 * Threads: the node's I/O thread (see peer-link.h).  The connection is
 * freed from an idle callback after the last unref, so a link may be
 * dropped from inside any of its callbacks.
 */
#ifndef ACTR_PEER_LINK_RTC_H
#define ACTR_PEER_LINK_RTC_H

#include "peer-connection.h"
#include "peer-link.h"

G_BEGIN_DECLS

typedef struct {
  void (*on_candidate)(ActrPeerLink *link, const char *candidate, gpointer user_data);
  void (*on_state)(ActrPeerLink *link, ActrPcState state, gpointer user_data);
} ActrPeerLinkRtcCallbacks;

/* A link to @peer_text over a new peer connection on @context.
 * @callbacks is copied; @user_data is not owned.  (transfer full) */
ActrPeerLink *actr_peer_link_rtc_new(GMainContext *context, gboolean offerer,
                                     const ActrPcConfig *config, const char *peer_text,
                                     const ActrPeerLinkRtcCallbacks *callbacks, gpointer user_data,
                                     GError **error);

/* The connection (transfer none). */
ActrPeerConnection *actr_peer_link_rtc_pc(ActrPeerLink *link);

/* Stops the ActrPeerLinkRtcCallbacks (the session let go of the link). */
void actr_peer_link_rtc_detach(ActrPeerLink *link);

G_END_DECLS

#endif /* ACTR_PEER_LINK_RTC_H */
