/* actr — SCTP over DTLS (RFC 8261) with WebRTC data channels (RFC 8831) and
 * the Data Channel Establishment Protocol (DCEP, RFC 8832), on usrsctp.
 *
 * One ActrSctp is one SCTP association carried by one DTLS connection: the
 * caller moves SCTP packets to and from DTLS (send_packet / receive_packet).
 * Channels are opened in-band with DCEP: DATA_CHANNEL_OPEN (0x03) / ACK
 * (0x02) on PPID 50; user messages use PPID 53 (binary), 51 (string), 57/56
 * (empty binary/string).  The DTLS client uses even stream ids, the server
 * odd ones.  Channels the peer opens are accepted and reported with their
 * label.  Messages up to ACTR_SCTP_MAX_MESSAGE bytes (and not above the
 * peer's a=max-message-size) are sent; larger ones are refused.
 *
 * usrsctp runs without threads (usrsctp_init_nothreads): the first
 * ActrSctp initialises it for the process and a 10 ms timer calls
 * usrsctp_handle_timers.  Several associations on several GMainContexts
 * (several nodes in one process) are supported: whatever usrsctp does from
 * the timer on behalf of an association (retransmissions, notifications) is
 * handed to that association's context.
 *
 * Flow control: actr_sctp_send() never blocks and never fails because the
 * association is busy.  What usrsctp cannot take now waits in a queue per
 * association (in order); actr_sctp_buffered_amount() counts the bytes
 * waiting there plus the bytes usrsctp has not yet had acknowledged, like
 * RTCDataChannel.bufferedAmount, and on_buffered_low fires when it drops
 * below the threshold (default 256 KiB), the cue for a sender to go on.
 *
 * Threads: an ActrSctp belongs to the GMainContext given to actr_sctp_new();
 * call every function on the thread running it; callbacks run there.
 *
 * Re-entrancy: send_packet may be called synchronously from inside any
 * actr_sctp_*() call.  Every other callback runs after usrsctp has returned
 * (never from inside usrsctp), so callbacks may call actr_sctp_send() and
 * actr_sctp_open_channel(); they must not call actr_sctp_free() (free from
 * an idle callback).
 */
#ifndef ACTR_SCTP_H
#define ACTR_SCTP_H

#include <glib.h>

#define ACTR_SCTP_ERROR (actr_sctp_error_quark())
GQuark actr_sctp_error_quark(void);

typedef enum {
  ACTR_SCTP_ERROR_FAILED = 1, /* usrsctp refused (socket, bind, ...) */
  ACTR_SCTP_ERROR_CLOSED,     /* the association or channel is closed */
  ACTR_SCTP_ERROR_TOO_LARGE,  /* message above the limit */
  ACTR_SCTP_ERROR_INVALID,    /* bad argument or unknown channel */
} ActrSctpError;

#define ACTR_SCTP_MAX_MESSAGE  (256 * 1024) /* our a=max-message-size */
#define ACTR_SCTP_DEFAULT_PORT 5000
#define ACTR_SCTP_BUFFERED_LOW (256 * 1024)
#define ACTR_SCTP_MAX_LABEL    1024 /* longest label accepted in a DCEP OPEN */

typedef struct _ActrSctp ActrSctp;

/* Channel reliability (RFC 8832 channel types). */
typedef struct {
  gboolean ordered;
  int max_retransmits; /* >= 0: partially reliable by retransmits; -1: not */
  int max_lifetime_ms; /* >= 0: partially reliable by lifetime; -1: not */
} ActrSctpReliability;

typedef struct {
  /* One SCTP packet for DTLS to send. */
  void (*send_packet)(ActrSctp *sctp, const guint8 *data, gsize len, gpointer user_data);
  /* The association is up: channels can be opened. */
  void (*on_connected)(ActrSctp *sctp, gpointer user_data);
  /* A channel is open: one this side opened (its DCEP ACK arrived) or one
   * the peer opened (its DCEP OPEN arrived; the ACK is already sent). */
  void (*on_channel_open)(ActrSctp *sctp, guint16 stream_id, const char *label,
                          gboolean opened_by_peer, gpointer user_data);
  /* One complete user message on an open channel (@binary: PPID 53/57). */
  void (*on_message)(ActrSctp *sctp, guint16 stream_id, const guint8 *data, gsize len,
                     gboolean binary, gpointer user_data);
  /* A channel was closed by the peer (stream reset). */
  void (*on_channel_closed)(ActrSctp *sctp, guint16 stream_id, gpointer user_data);
  /* actr_sctp_buffered_amount() dropped below the threshold. */
  void (*on_buffered_low)(ActrSctp *sctp, gpointer user_data);
  /* The association ended (ABORT, SHUTDOWN or failure); called at most once,
   * never because of actr_sctp_close(). @reason is for logs. */
  void (*on_closed)(ActrSctp *sctp, const char *reason, gpointer user_data);
} ActrSctpCallbacks;

/* An association endpoint on @context.  @dtls_client decides the stream id
 * parity.  The socket is bound and listening at once, so an INIT that
 * arrives before actr_sctp_connect() is accepted.  @remote_max_message is
 * the peer's a=max-message-size (0 = no limit).  (transfer full) */
ActrSctp *actr_sctp_new(GMainContext *context, gboolean dtls_client, guint16 local_port,
                        guint16 remote_port, guint64 remote_max_message,
                        const ActrSctpCallbacks *callbacks, gpointer user_data, GError **error);

/* Aborts the association if it is still up and frees it; no callback runs
 * after this returns. */
void actr_sctp_free(ActrSctp *sctp /* nullable */);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrSctp, actr_sctp_free)

/* Starts the association (sends INIT).  Call once DTLS is connected.  The
 * association comes up whether or not the peer connects too (browsers do;
 * aiortc connects only from the DTLS client). */
void actr_sctp_connect(ActrSctp *sctp);

/* Feeds one SCTP packet decrypted by DTLS.  Malformed packets are dropped by
 * usrsctp; malformed DCEP messages are dropped and logged once. */
void actr_sctp_receive_packet(ActrSctp *sctp, const guint8 *data, gsize len);

/* Opens a channel: picks the next free stream id of our parity, sends the
 * DCEP OPEN (label, empty protocol, priority 256, the channel type from
 * @reliability) and returns the stream id.  Messages may be sent on it at
 * once; they follow the OPEN.  -1 with @error when the association is not up
 * or no stream id is free. */
int actr_sctp_open_channel(ActrSctp *sctp, const char *label,
                           const ActrSctpReliability *reliability, GError **error);

/* Sends one message on channel @stream_id (opened by either side).  The
 * message is queued if usrsctp cannot take it now (see flow control).  FALSE
 * with @error when the channel is unknown or closed, or the message is too
 * large. */
gboolean actr_sctp_send(ActrSctp *sctp, guint16 stream_id, const guint8 *data, gsize len,
                        gboolean binary, GError **error);

/* Closes one channel (outgoing stream reset). */
void actr_sctp_close_channel(ActrSctp *sctp, guint16 stream_id);

/* Bytes accepted by actr_sctp_send() and not yet acknowledged by the peer. */
gsize actr_sctp_buffered_amount(const ActrSctp *sctp);
void actr_sctp_set_buffered_low_threshold(ActrSctp *sctp, gsize threshold);

/* Shuts the association down (SHUTDOWN, or ABORT when not up); no callback. */
void actr_sctp_close(ActrSctp *sctp);

gboolean actr_sctp_is_connected(const ActrSctp *sctp);

#endif /* ACTR_SCTP_H */
