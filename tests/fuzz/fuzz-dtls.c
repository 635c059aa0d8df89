/* Fuzz target: DTLS input handling (src/transport/dtls/dtls.c) on the
 * server side, from the first datagram on.
 *
 * Input: a sequence of datagrams, each a 2-byte big-endian header and its
 * bytes.  The header's low 15 bits are the length (cut to what is left); its
 * top bit starts the handshake before that datagram (datagrams fed before
 * start are kept and replayed, which is fuzzed too).  The connection is
 * started at the end if no header asked for it, and the context is
 * iterated after every datagram.
 *
 * Checked: no crash or leak, every datagram sent holds whole records and at
 * most ACTR_DTLS_MTU bytes (or one record), on_closed comes at most once
 * with an ACTR_DTLS_ERROR, and decrypted records are 1..16384 bytes. */
#include "dtls.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  guint closed;
  guint connected;
} FuzzState;

static void
on_send(ActrDtls *dtls, const guint8 *data, gsize len, gpointer user_data)
{
  gsize off = 0;
  guint records = 0;
  while (off < len) {
    g_assert(len - off >= 13);
    gsize body = ((gsize)data[off + 11] << 8) | data[off + 12];
    g_assert(len - off - 13 >= body);
    g_assert(actr_dtls_is_dtls_datagram(data[off]));
    off += 13 + body;
    records++;
  }
  g_assert(records > 0);
  g_assert(len <= ACTR_DTLS_MTU || records == 1);
}

static void
on_connected(ActrDtls *dtls, gpointer user_data)
{
  FuzzState *state = user_data;
  g_assert(state->connected == 0 && state->closed == 0);
  state->connected++;
}

static void
on_data(ActrDtls *dtls, const guint8 *data, gsize len, gpointer user_data)
{
  g_assert(len > 0 && len <= 16384);
}

static void
on_closed(ActrDtls *dtls, const GError *error, gpointer user_data)
{
  FuzzState *state = user_data;
  g_assert(state->closed == 0);
  state->closed++;
  g_assert(error == NULL || error->domain == ACTR_DTLS_ERROR);
  g_assert(actr_dtls_get_state(dtls) == ACTR_DTLS_STATE_CLOSED ||
           actr_dtls_get_state(dtls) == ACTR_DTLS_STATE_FAILED);
}

static const ActrDtlsCallbacks callbacks = {
    .send_datagram = on_send,
    .on_connected = on_connected,
    .on_data = on_data,
    .on_closed = on_closed,
};

static void
drain(GMainContext *context)
{
  /* Only ready sources (the replay of early datagrams); retransmission
   * timers are hundreds of milliseconds away. */
  for (int i = 0; i < 8 && g_main_context_iteration(context, FALSE); i++)
    ;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* Made once: key generation and SSL_CTX set-up dominate otherwise. */
  static ActrDtlsCert *cert;
  static GMainContext *context;
  static guint8 expected[32];
  if (cert == NULL) {
    GError *error = NULL;
    cert = actr_dtls_cert_new(&error);
    g_assert_no_error(error);
    /* Expect our own certificate: the peer can never present it. */
    actr_dtls_cert_fingerprint(cert, expected);
    context = g_main_context_new();
  }

  FuzzState state = {0};
  ActrDtls *dtls = actr_dtls_new(context, cert, ACTR_DTLS_SERVER, ACTR_SDP_HASH_SHA256, expected,
                                 sizeof expected, &callbacks, &state, NULL);
  g_assert(dtls != NULL);
  gboolean started = FALSE;
  size_t off = 0;
  while (size - off >= 2) {
    guint header = ((guint)data[off] << 8) | data[off + 1];
    size_t len = header & 0x7fff;
    off += 2;
    if (len > size - off)
      len = size - off;
    if ((header & 0x8000) && !started) {
      actr_dtls_start(dtls);
      started = TRUE;
    }
    actr_dtls_receive(dtls, data + off, len);
    off += len;
    drain(context);
  }
  if (!started)
    actr_dtls_start(dtls);
  drain(context);
  g_assert(state.closed <= 1);
  ActrDtlsState final = actr_dtls_get_state(dtls);
  if (final == ACTR_DTLS_STATE_FAILED)
    g_assert(state.closed == 1);
  actr_dtls_close(dtls);
  actr_dtls_free(dtls);
  drain(context);
  return 0;
}
