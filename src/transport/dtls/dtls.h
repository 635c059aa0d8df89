/* actr — DTLS 1.2 for WebRTC (RFC 6347, RFC 8827 §6.5), on OpenSSL 3 memory
 * BIOs: no sockets, the caller moves datagrams to and from ICE.
 *
 * Certificates: each node makes one self-signed ECDSA P-256 certificate
 * (ActrDtlsCert) and advertises its SHA-256 fingerprint in its SDP.  The
 * peer's certificate is accepted only if its fingerprint equals the one in
 * the peer's SDP (checked during the handshake; a mismatch fails it).
 *
 * Records: outgoing bytes are cut on DTLS record boundaries so that every
 * datagram handed to send_datagram holds whole records and at most
 * ACTR_DTLS_MTU bytes (except a single record larger than that).  Incoming
 * datagrams may hold several records.  Handshake retransmissions are driven
 * by a timer source on the context (DTLSv1_get_timeout/handle_timeout).
 *
 * Threads: an ActrDtls belongs to the GMainContext given to actr_dtls_new();
 * call every function on the thread running it.  ActrDtlsCert is immutable
 * and may be shared between threads (atomic refcount).
 *
 * Re-entrancy: send_datagram and on_data may be called synchronously from
 * inside actr_dtls_start(), actr_dtls_receive(), actr_dtls_send() and
 * actr_dtls_close(); on_connected and on_closed from inside
 * actr_dtls_receive() or a timer dispatch.  Callbacks may call
 * actr_dtls_send()/actr_dtls_close() but must not free the ActrDtls (free it
 * from an idle callback).
 */
#ifndef ACTR_DTLS_H
#define ACTR_DTLS_H

#include <glib.h>

#include "sdp.h"

#define ACTR_DTLS_ERROR (actr_dtls_error_quark())
GQuark actr_dtls_error_quark(void);

typedef enum {
  ACTR_DTLS_ERROR_CERTIFICATE = 1, /* could not make the certificate */
  ACTR_DTLS_ERROR_HANDSHAKE,       /* handshake failed (alert, bad record, timeout) */
  ACTR_DTLS_ERROR_FINGERPRINT,     /* the peer's certificate does not match its SDP */
  ACTR_DTLS_ERROR_CLOSED,          /* the connection is closed or failed */
  ACTR_DTLS_ERROR_INVALID,         /* bad argument */
} ActrDtlsError;

/* Largest datagram produced (WebRTC path MTU assumption, as browsers). */
#define ACTR_DTLS_MTU 1200

/* ---- Certificate ----------------------------------------------------------- */

typedef struct _ActrDtlsCert ActrDtlsCert;

/* A fresh self-signed ECDSA P-256 certificate (CN "actr", valid 30 days
 * from one day ago). (transfer full) */
ActrDtlsCert *actr_dtls_cert_new(GError **error);
ActrDtlsCert *actr_dtls_cert_ref(ActrDtlsCert *cert);
void actr_dtls_cert_unref(ActrDtlsCert *cert /* nullable */);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrDtlsCert, actr_dtls_cert_unref)

/* The SHA-256 fingerprint of the certificate's DER encoding (for the SDP's
 * a=fingerprint:sha-256). */
void actr_dtls_cert_fingerprint(const ActrDtlsCert *cert, guint8 out[32]);

/* The certificate's DER encoding (for other fingerprint hashes, logs and
 * tests).  (transfer full) */
GBytes *actr_dtls_cert_get_der(const ActrDtlsCert *cert);

/* ---- Connection ------------------------------------------------------------ */

typedef enum {
  ACTR_DTLS_CLIENT, /* a=setup:active: sends the ClientHello */
  ACTR_DTLS_SERVER, /* a=setup:passive */
} ActrDtlsRole;

typedef enum {
  ACTR_DTLS_STATE_NEW = 0,
  ACTR_DTLS_STATE_HANDSHAKING,
  ACTR_DTLS_STATE_CONNECTED,
  ACTR_DTLS_STATE_CLOSED, /* close_notify sent or received */
  ACTR_DTLS_STATE_FAILED,
} ActrDtlsState;

typedef struct _ActrDtls ActrDtls;

typedef struct {
  /* One datagram to put on the wire (whole records). */
  void (*send_datagram)(ActrDtls *dtls, const guint8 *data, gsize len, gpointer user_data);
  /* Handshake complete and the peer's fingerprint verified. */
  void (*on_connected)(ActrDtls *dtls, gpointer user_data);
  /* One decrypted application-data record (an SCTP packet). */
  void (*on_data)(ActrDtls *dtls, const guint8 *data, gsize len, gpointer user_data);
  /* The connection ended: @error NULL for a close_notify from the peer,
   * else why it failed (ACTR_DTLS_ERROR).  Called at most once, and never
   * because of actr_dtls_close(). */
  void (*on_closed)(ActrDtls *dtls, const GError *error, gpointer user_data);
} ActrDtlsCallbacks;

/* A connection using @cert (ref taken) in @role, expecting the peer's
 * certificate to have the fingerprint @remote_fingerprint (@remote_len bytes
 * of hash @remote_hash, from the peer's SDP; sha-1 to sha-512 accepted).
 * Nothing is sent until actr_dtls_start().  (transfer full) */
ActrDtls *actr_dtls_new(GMainContext *context, ActrDtlsCert *cert, ActrDtlsRole role,
                        ActrSdpHash remote_hash, const guint8 *remote_fingerprint, gsize remote_len,
                        const ActrDtlsCallbacks *callbacks, gpointer user_data, GError **error);
void actr_dtls_free(ActrDtls *dtls /* nullable */);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrDtls, actr_dtls_free)

/* How long the handshake may take from actr_dtls_start() before it fails
 * with ACTR_DTLS_ERROR_HANDSHAKE (default 30 000 ms).  Call before
 * actr_dtls_start(). */
void actr_dtls_set_handshake_timeout(ActrDtls *dtls, guint timeout_ms);

/* Starts the handshake: a client sends its ClientHello, a server waits for
 * one.  Call once ICE has a selected pair. */
void actr_dtls_start(ActrDtls *dtls);

/* Feeds one datagram received from ICE.  Garbage, truncated or replayed
 * records are dropped (logged once per connection) and never crash.
 * Datagrams fed before actr_dtls_start() (up to 8) are kept and processed
 * when it is called; after CLOSED or FAILED they are ignored. */
void actr_dtls_receive(ActrDtls *dtls, const guint8 *data, gsize len);

/* Encrypts @len bytes as one application-data record and sends it.  FALSE
 * with @error (ACTR_DTLS_ERROR_CLOSED) unless the state is CONNECTED. */
gboolean actr_dtls_send(ActrDtls *dtls, const guint8 *data, gsize len, GError **error);

/* Sends close_notify (when connected) and moves to CLOSED; no callback. */
void actr_dtls_close(ActrDtls *dtls);

ActrDtlsState actr_dtls_get_state(const ActrDtls *dtls);

/* The negotiated cipher suite name (OpenSSL's), or NULL before CONNECTED. */
const char *actr_dtls_cipher(const ActrDtls *dtls);

/* RFC 7983 demultiplexing: whether a datagram whose first byte is @first
 * is DTLS (20..63). */
static inline gboolean
actr_dtls_is_dtls_datagram(guint8 first)
{
  return first >= 20 && first <= 63;
}

#endif /* ACTR_DTLS_H */
