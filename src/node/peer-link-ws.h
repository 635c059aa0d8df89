/* actr — ActrPeerLink over a WebSocket direct-connect link (ws-link.h).
 *
 * Dialled links: the wrapper installs its own handlers on the ActrWsLink,
 * so frames and the close reach the ActrPeerLink callbacks directly.
 * Server links: the ActrWsServer reports frames and closes for all its
 * links through its own callbacks; the owner of the server forwards them
 * with actr_peer_link_emit_frame() / actr_peer_link_emit_closed() on the
 * wrapper it created for that ActrWsLink.
 *
 * Threads: the I/O thread of the node (see peer-link.h).
 */
#ifndef ACTR_PEER_LINK_WS_H
#define ACTR_PEER_LINK_WS_H

#include "peer-link.h"
#include "ws-link.h"

G_BEGIN_DECLS

/* Wraps @ws (a ref is taken).  @peer_text: the verified peer of a server
 * link, or the peer that was dialled.  Returns (transfer full). */
ActrPeerLink *actr_peer_link_ws_new(ActrWsLink *ws, gboolean inbound, const char *peer_text);

/* The wrapped link (transfer none). */
ActrWsLink *actr_peer_link_ws_get_ws(ActrPeerLink *link);

G_END_DECLS

#endif /* ACTR_PEER_LINK_WS_H */
