/* actr — one WebRTC peer connection carrying the four data-channel lanes
 * (wire.md §5): ICE (ice.h) → DTLS (dtls.h) → SCTP + DCEP (sctp.h) →
 * DataChannel fragments (dc-fragment.h), described by SDP (sdp.h).
 *
 * What it does, in the reference's order:
 *   offerer  : actr_pc_create_offer() → SDP text to relay; ICE gathers and
 *              trickles candidates through on_local_candidate;
 *              actr_pc_set_answer() with the peer's answer.
 *   answerer : actr_pc_accept_offer() → answer SDP text to relay.
 *   both     : actr_pc_add_remote_candidate() for trickled candidates
 *              (kept until the remote description is set).
 * The offerer is ICE-controlling and offers a=setup:actpass; the answerer
 * answers active (DTLS client), as browsers do.  Once DTLS is up both
 * sides start SCTP; the offerer opens the channels RPC_RELIABLE, RPC_SIGNAL,
 * STREAM_RELIABLE (reliable, ordered) and STREAM_LATENCY_FIRST (unordered,
 * maxRetransmits 3); the answerer maps them by label (unknown labels are
 * ignored); channels the answerer opens are accepted by label too.
 *
 * Messages: actr_pc_send() takes one logical message for a lane and cuts it
 * into 8-byte-header fragments (wire.md §5.4); on_message delivers whole
 * logical messages per lane, reassembled with bounded limits.
 *
 * ICE restart (wire.md §5.9): the offerer calls actr_pc_create_offer() with
 * @ice_restart; the answerer's actr_pc_accept_offer() notices the new
 * credentials.  DTLS and SCTP carry on over the new path.
 *
 * Liveness: SCTP heartbeats keep traffic flowing on an idle connection;
 * when nothing at all has arrived for ACTR_PC_SILENCE_MS while connected,
 * or ICE fails, the state goes DISCONNECTED (recoverable by an ICE restart).
 *
 * Threads: an ActrPeerConnection belongs to the GMainContext given to
 * actr_pc_new(); call every function on the thread running it.
 *
 * Re-entrancy: callbacks run from dispatches of that context, never from
 * inside an actr_pc_*() call, except on_local_candidate, which may also be
 * called from inside actr_pc_create_offer()/accept_offer().  A callback
 * may call any actr_pc_*() function except actr_pc_free() (free from an
 * idle callback, or after actr_pc_close() from anywhere).
 */
#ifndef ACTR_PEER_CONNECTION_H
#define ACTR_PEER_CONNECTION_H

#include <glib.h>
#include <actr/error.h>

#include "dtls.h"
#include "ws-frame.h" /* ActrLane */

#define ACTR_PC_ERROR (actr_pc_error_quark())
GQuark actr_pc_error_quark(void);

typedef enum {
  ACTR_PC_ERROR_STATE = 1, /* wrong call for the current state or role */
  ACTR_PC_ERROR_SDP,       /* the remote description is unusable */
  ACTR_PC_ERROR_FAILED,    /* a layer below refused */
} ActrPcError;

/* Nothing received for this long while connected → DISCONNECTED. */
#define ACTR_PC_SILENCE_MS 3000

typedef enum {
  ACTR_PC_STATE_NEW = 0,
  ACTR_PC_STATE_CONNECTING,   /* ICE/DTLS/SCTP/channels coming up */
  ACTR_PC_STATE_CONNECTED,    /* RPC_RELIABLE is open both ways */
  ACTR_PC_STATE_DISCONNECTED, /* the path broke; an ICE restart may recover it */
  ACTR_PC_STATE_FAILED,       /* DTLS or SCTP failed, or ICE never connected */
  ACTR_PC_STATE_CLOSED,       /* closed by us or by the peer */
} ActrPcState;

typedef struct {
  ActrDtlsCert *cert;           /* this node's certificate (ref taken) */
  const char *const *stun_urls; /* nullable */
  const char *const *turn_urls; /* nullable */
  const char *turn_username;    /* from AIS (wire.md §2.5) */
  const char *turn_password;
  gboolean relay_only;               /* [webrtc] force_relay */
  guint16 port_min, port_max;        /* 0/0: any */
  const char *const *host_addresses; /* nullable: every interface */
  gsize max_message;                 /* largest logical message received (0: 16 MiB) */
} ActrPcConfig;

typedef struct _ActrPeerConnection ActrPeerConnection;

typedef struct {
  /* A local candidate to trickle: "candidate:..." */
  void (*on_local_candidate)(ActrPeerConnection *pc, const char *candidate, gpointer user_data);
  void (*on_state)(ActrPeerConnection *pc, ActrPcState state, gpointer user_data);
  /* One logical message on @lane (transfer none; ref to keep). */
  void (*on_message)(ActrPeerConnection *pc, ActrLane lane, GBytes *message, gpointer user_data);
  /* The buffered amount dropped below the low-water mark. */
  void (*on_writable)(ActrPeerConnection *pc, gpointer user_data);
} ActrPcCallbacks;

/* A connection as offerer or answerer.  @config strings are copied.
 * (transfer full) */
ActrPeerConnection *actr_pc_new(GMainContext *context, gboolean offerer, const ActrPcConfig *config,
                                const ActrPcCallbacks *callbacks, gpointer user_data,
                                GError **error);
void actr_pc_free(ActrPeerConnection *pc /* nullable */);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrPeerConnection, actr_pc_free)

gboolean actr_pc_is_offerer(const ActrPeerConnection *pc);

/* Offerer: the offer SDP (first call), or an ICE-restart offer with new
 * credentials (@ice_restart, once an answer was applied). (transfer full) */
gchar *actr_pc_create_offer(ActrPeerConnection *pc, gboolean ice_restart, GError **error);

/* Offerer: applies the answer to the last offer. */
gboolean actr_pc_set_answer(ActrPeerConnection *pc, const char *sdp, GError **error);

/* Answerer: applies an offer (the first one, or an ICE-restart offer) and
 * returns the answer SDP. (transfer full) */
gchar *actr_pc_accept_offer(ActrPeerConnection *pc, const char *sdp, GError **error);

/* A trickled remote candidate.  Kept until the remote description is set;
 * unusable ones are skipped.  FALSE with @error for malformed text. */
gboolean actr_pc_add_remote_candidate(ActrPeerConnection *pc, const char *candidate,
                                      GError **error);

/* Sends one logical message on @lane.  Before the lane's channel is open
 * (but while connecting or connected) messages wait for it, in order.
 * ACTR_CLOSED when the connection is closed or failed, ACTR_ERROR when the
 * message is too large (above 65535 fragments) or MEDIA_RTP. */
ActrStatus actr_pc_send(ActrPeerConnection *pc, ActrLane lane, const guint8 *data, gsize len);

/* Bytes accepted by actr_pc_send() and not yet acknowledged. */
gsize actr_pc_buffered_amount(const ActrPeerConnection *pc);

ActrPcState actr_pc_get_state(const ActrPeerConnection *pc);

/* Whether the selected ICE pair is relayed (TURN). */
gboolean actr_pc_is_relayed(ActrPeerConnection *pc);

/* "ice: local ... <-> remote ...; dtls: <cipher>" for logs. (transfer full) */
gchar *actr_pc_describe(ActrPeerConnection *pc);

/* Closes every layer (SCTP abort, DTLS close_notify, ICE close); state
 * CLOSED is reported from a later dispatch.  No other callback after. */
void actr_pc_close(ActrPeerConnection *pc);

/* Test hook: breaks (TRUE) or restores (FALSE) the network path. */
void actr_pc_set_drop_all(ActrPeerConnection *pc, gboolean drop);

const char *actr_pc_state_to_string(ActrPcState state);
const char *actr_pc_lane_label(ActrLane lane); /* "RPC_RELIABLE", ...; NULL for MEDIA_RTP */

#endif /* ACTR_PEER_CONNECTION_H */
