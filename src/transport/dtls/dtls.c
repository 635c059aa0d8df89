/* actr — DTLS 1.2 for WebRTC on OpenSSL 3 memory BIOs (see dtls.h).
 *
 * Layout of one connection: the caller's datagrams are checked for whole,
 * well-formed records, written into a memory read BIO and consumed by
 * SSL_do_handshake()/SSL_read(); everything OpenSSL writes lands in a memory
 * write BIO that flush_output() drains after every SSL call, cutting it on
 * record boundaries and packing whole records into datagrams of at most
 * ACTR_DTLS_MTU bytes.
 *
 * SSL_CTX: one per certificate, made eagerly in actr_dtls_cert_new() and
 * never changed afterwards, so the certificate stays immutable and shareable
 * between threads (SSL_new() on a configured SSL_CTX is thread-safe).
 * SSL_CTX_new() is the costly part of OpenSSL set-up; a connection only pays
 * for SSL_new().  Everything that differs per connection (expected
 * fingerprint, MTU, retransmission timer) is set on the SSL.
 *
 * Peer verification: SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT with a
 * certificate verification callback (SSL_CTX_set_cert_verify_callback) that
 * replaces X.509 chain building: WebRTC certificates are self-signed and
 * trusted only through the fingerprint in the peer's SDP, so the callback
 * accepts any chain whose leaf certificate's digest (with the SDP's hash)
 * equals that fingerprint and rejects everything else, which makes OpenSSL
 * fail the handshake with a bad_certificate alert.
 *
 * Timer: one GSource per connection with a ready time (no polling), armed
 * after every SSL call to the earlier of OpenSSL's retransmission timeout
 * and the handshake deadline; destroyed once the handshake ends.
 *
 * The SSL object points back to its ActrDtls (SSL_set_app_data): the SSL is
 * owned by the ActrDtls, freed with it, and OpenSSL calls back only from
 * inside SSL calls made by this file, so the pointer never outlives it.
 */
#include "dtls.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

G_DEFINE_QUARK(actr - dtls - error - quark, actr_dtls_error)

#define DTLS_RECORD_HEADER 13
/* Largest record body accepted: a full plaintext record plus generous room
 * for AEAD/MAC overhead.  It fits OpenSSL's DTLS read buffer, so one record
 * is never cut by a read. */
#define DTLS_MAX_RECORD_BODY (16384 + 256)
/* Bytes handed to the read BIO at once (whole records only). */
#define DTLS_MAX_FEED             (DTLS_RECORD_HEADER + DTLS_MAX_RECORD_BODY)
#define DTLS_MAX_PLAINTEXT        16384
#define DTLS_HANDSHAKE_TIMEOUT_MS 30000
/* Retransmission timer: starts at 400 ms (RFC 6347 allows less than 1 s),
 * doubles, and stays at most 6 s so that a lost flight late in a slow
 * handshake is still repeated before the deadline. */
#define DTLS_INITIAL_RTO_US (400 * 1000)
#define DTLS_MAX_RTO_US     (6 * 1000 * 1000)
/* Datagrams kept when they arrive before actr_dtls_start() (a peer whose ICE
 * connected first may already have sent its ClientHello). */
#define DTLS_EARLY_MAX_DATAGRAMS 8
#define DTLS_EARLY_MAX_BYTES     (32 * 1024)

struct _ActrDtlsCert {
  gatomicrefcount ref;
  EVP_PKEY *pkey;
  X509 *x509;
  SSL_CTX *ctx;
  guint8 fingerprint[32];
};

typedef struct {
  GSource source;
  ActrDtls *dtls;
} DtlsTimer;

struct _ActrDtls {
  guint id; /* for log lines */
  GMainContext *context;
  ActrDtlsCert *cert;
  ActrDtlsRole role;
  ActrSdpHash remote_hash;
  guint8 remote_fingerprint[ACTR_SDP_DIGEST_MAX];
  gsize remote_len;
  ActrDtlsCallbacks callbacks;
  gpointer user_data;

  SSL *ssl;
  BIO *rbio; /* owned by ssl */
  BIO *wbio; /* owned by ssl */
  ActrDtlsState state;
  gboolean handshake_done;
  gboolean fingerprint_checked;  /* the verify callback accepted the peer */
  gboolean fingerprint_mismatch; /* the verify callback rejected the peer */
  gboolean closed_reported;      /* on_closed was called */
  gboolean flushing;             /* inside flush_output() */
  gboolean warned_input;         /* bad input was logged */
  guint handshake_timeout_ms;
  gint64 deadline; /* monotonic µs: the handshake fails after it */

  GSource *timer;        /* DtlsTimer; only while handshaking or reporting */
  GError *pending_error; /* a failure to report from the timer */
  GPtrArray *early;      /* GBytes received before start */
  gsize early_bytes;
  guint8 *read_buf;  /* DTLS_MAX_PLAINTEXT bytes */
  guint8 *write_buf; /* flush_output() scratch, write_cap bytes */
  gsize write_cap;
};

static void flush_output(ActrDtls *dtls);
static void arm_timer(ActrDtls *dtls);

/* ---- Certificate ----------------------------------------------------------- */

static const EVP_MD *
hash_md(ActrSdpHash hash)
{
  switch (hash) {
  case ACTR_SDP_HASH_SHA1:
    return EVP_sha1();
  case ACTR_SDP_HASH_SHA224:
    return EVP_sha224();
  case ACTR_SDP_HASH_SHA256:
    return EVP_sha256();
  case ACTR_SDP_HASH_SHA384:
    return EVP_sha384();
  case ACTR_SDP_HASH_SHA512:
    return EVP_sha512();
  case ACTR_SDP_HASH_NONE:
  default:
    return NULL;
  }
}

/* The first queued OpenSSL error as text (for error messages), then clears
 * the queue. */
static void
ssl_error_text(char *buf, gsize size)
{
  unsigned long e = ERR_get_error();
  const char *reason = e ? ERR_reason_error_string(e) : NULL;
  if (reason)
    g_strlcpy(buf, reason, size);
  else if (e)
    ERR_error_string_n(e, buf, size);
  else
    g_strlcpy(buf, "no OpenSSL error recorded", size);
  ERR_clear_error();
}

/* Accepts the peer's certificate iff its digest equals the expected
 * fingerprint (see the file comment). */
static int
verify_peer_cert(X509_STORE_CTX *store, void *arg)
{
  SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
  ActrDtls *dtls = ssl ? SSL_get_app_data(ssl) : NULL;
  X509 *peer = X509_STORE_CTX_get0_cert(store);
  const EVP_MD *md = dtls ? hash_md(dtls->remote_hash) : NULL;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  if (dtls == NULL || peer == NULL || md == NULL || !X509_digest(peer, md, digest, &n) ||
      n != dtls->remote_len || CRYPTO_memcmp(digest, dtls->remote_fingerprint, n) != 0) {
    if (dtls)
      dtls->fingerprint_mismatch = TRUE;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  dtls->fingerprint_checked = TRUE;
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

static SSL_CTX *
make_ssl_ctx(EVP_PKEY *pkey, X509 *x509)
{
  SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
  if (ctx == NULL)
    return NULL;
  /* AES128-GCM first (cheapest for bulk; what browsers pick), and the
   * server's order wins so that a client listing AES256 first still gets
   * AES128. */
  if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) ||
      !SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305") ||
      !SSL_CTX_set1_groups_list(ctx, "X25519:P-256") || !SSL_CTX_use_certificate(ctx, x509) ||
      !SSL_CTX_use_PrivateKey(ctx, pkey) || !SSL_CTX_check_private_key(ctx)) {
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  SSL_CTX_set_cert_verify_callback(ctx, verify_peer_cert, NULL);
  return ctx;
}

static gboolean
make_certificate(EVP_PKEY **pkey_out, X509 **x509_out)
{
  EVP_PKEY *pkey = EVP_EC_gen("P-256");
  X509 *x509 = X509_new();
  BIGNUM *serial = BN_new();
  gboolean ok = FALSE;

  if (pkey == NULL || x509 == NULL || serial == NULL)
    goto out;
  /* A random positive 63-bit serial (RFC 5280 allows up to 20 octets). */
  if (!BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) || BN_is_zero(serial) ||
      !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x509)))
    goto out;
  X509_NAME *name = X509_get_subject_name(x509);
  if (!X509_set_version(x509, 2) || !X509_gmtime_adj(X509_getm_notBefore(x509), -24L * 60 * 60) ||
      !X509_gmtime_adj(X509_getm_notAfter(x509), 30L * 24 * 60 * 60) ||
      !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"actr", -1, -1,
                                  0) ||
      !X509_set_issuer_name(x509, name) || !X509_set_pubkey(x509, pkey) ||
      X509_sign(x509, pkey, EVP_sha256()) <= 0)
    goto out;
  *pkey_out = pkey;
  *x509_out = x509;
  pkey = NULL;
  x509 = NULL;
  ok = TRUE;
out:
  BN_free(serial);
  X509_free(x509);
  EVP_PKEY_free(pkey);
  return ok;
}

ActrDtlsCert *
actr_dtls_cert_new(GError **error)
{
  EVP_PKEY *pkey = NULL;
  X509 *x509 = NULL;
  unsigned int n = 0;
  char reason[256];

  ERR_clear_error();
  ActrDtlsCert *cert = g_new0(ActrDtlsCert, 1);
  g_atomic_ref_count_init(&cert->ref);
  if (!make_certificate(&pkey, &x509)) {
    ssl_error_text(reason, sizeof reason);
    g_set_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CERTIFICATE,
                "could not make the DTLS certificate: %s", reason);
    goto fail;
  }
  cert->pkey = pkey;
  cert->x509 = x509;
  if (!X509_digest(x509, EVP_sha256(), cert->fingerprint, &n) || n != 32) {
    ssl_error_text(reason, sizeof reason);
    g_set_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CERTIFICATE,
                "could not hash the DTLS certificate: %s", reason);
    goto fail;
  }
  cert->ctx = make_ssl_ctx(pkey, x509);
  if (cert->ctx == NULL) {
    ssl_error_text(reason, sizeof reason);
    g_set_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CERTIFICATE,
                "could not set up the DTLS context: %s", reason);
    goto fail;
  }
  return cert;
fail:
  actr_dtls_cert_unref(cert);
  return NULL;
}

ActrDtlsCert *
actr_dtls_cert_ref(ActrDtlsCert *cert)
{
  g_return_val_if_fail(cert != NULL, NULL);
  g_atomic_ref_count_inc(&cert->ref);
  return cert;
}

void
actr_dtls_cert_unref(ActrDtlsCert *cert)
{
  if (cert == NULL || !g_atomic_ref_count_dec(&cert->ref))
    return;
  SSL_CTX_free(cert->ctx);
  X509_free(cert->x509);
  EVP_PKEY_free(cert->pkey);
  g_free(cert);
}

void
actr_dtls_cert_fingerprint(const ActrDtlsCert *cert, guint8 out[32])
{
  g_return_if_fail(cert != NULL && out != NULL);
  memcpy(out, cert->fingerprint, 32);
}

GBytes *
actr_dtls_cert_get_der(const ActrDtlsCert *cert)
{
  unsigned char *der = NULL;
  g_return_val_if_fail(cert != NULL, NULL);
  ERR_clear_error();
  int n = i2d_X509(cert->x509, &der);
  if (n <= 0) {
    ERR_clear_error();
    return NULL;
  }
  GBytes *bytes = g_bytes_new(der, (gsize)n);
  OPENSSL_free(der);
  return bytes;
}

/* ---- Helpers --------------------------------------------------------------- */

static guint
record_length(const guint8 *p)
{
  return ((guint)p[11] << 8) | p[12];
}

/* Logs bad input once per connection. */
static void
warn_input(ActrDtls *dtls, const char *reason, gsize len)
{
  if (dtls->warned_input)
    return;
  dtls->warned_input = TRUE;
  g_info("dtls[%u]: dropped a %" G_GSIZE_FORMAT "-byte datagram: %s (further drops not logged)",
         dtls->id, len, reason);
}

/* Length of the prefix of @data made of whole, plausible DTLS records; sets
 * @reason when that is not all of it. */
static gsize
valid_records(const guint8 *data, gsize len, const char **reason)
{
  gsize off = 0;
  *reason = NULL;
  while (off < len) {
    const guint8 *p = data + off;
    if (len - off < DTLS_RECORD_HEADER) {
      *reason = "truncated record header";
      break;
    }
    if (p[0] < 20 || p[0] > 23) {
      *reason = "not a DTLS record (content type)";
      break;
    }
    /* DTLS 1.2 (0xfefd), or DTLS 1.0 (0xfeff) in early ClientHellos. */
    if (p[1] != 0xfe || (p[2] != 0xfd && p[2] != 0xff)) {
      *reason = "not a DTLS 1.x record (version)";
      break;
    }
    guint body = record_length(p);
    if (body > DTLS_MAX_RECORD_BODY) {
      *reason = "record too long";
      break;
    }
    if (len - off - DTLS_RECORD_HEADER < body) {
      *reason = "truncated record";
      break;
    }
    off += DTLS_RECORD_HEADER + body;
  }
  return off;
}

static void
report_closed(ActrDtls *dtls, const GError *error)
{
  if (dtls->closed_reported)
    return;
  dtls->closed_reported = TRUE;
  if (dtls->callbacks.on_closed)
    dtls->callbacks.on_closed(dtls, error, dtls->user_data);
}

static void
clear_timer(ActrDtls *dtls)
{
  if (dtls->timer == NULL)
    return;
  g_source_destroy(dtls->timer);
  g_clear_pointer(&dtls->timer, g_source_unref);
}

/* Moves to FAILED, sends whatever alert OpenSSL queued and reports @code
 * through on_closed (synchronously). */
static void fail(ActrDtls *dtls, ActrDtlsError code, const char *format, ...) G_GNUC_PRINTF(3, 4);

static void
fail(ActrDtls *dtls, ActrDtlsError code, const char *format, ...)
{
  va_list ap;
  if (dtls->state == ACTR_DTLS_STATE_CLOSED || dtls->state == ACTR_DTLS_STATE_FAILED)
    return;
  dtls->state = ACTR_DTLS_STATE_FAILED;
  clear_timer(dtls);
  flush_output(dtls);
  va_start(ap, format);
  GError *error = g_error_new_valist(ACTR_DTLS_ERROR, code, format, ap);
  va_end(ap);
  g_info("dtls[%u]: failed: %s", dtls->id, error->message);
  report_closed(dtls, error);
  g_error_free(error);
  ERR_clear_error();
}

/* Fails because of the OpenSSL error on the queue (after a failed SSL
 * call); a fingerprint mismatch wins over OpenSSL's generic reason. */
static void
fail_ssl(ActrDtls *dtls, const char *what)
{
  char reason[256];
  ssl_error_text(reason, sizeof reason);
  if (dtls->fingerprint_mismatch)
    fail(dtls, ACTR_DTLS_ERROR_FINGERPRINT,
         "the peer's DTLS certificate does not match the fingerprint in its SDP");
  else if (dtls->handshake_done)
    fail(dtls, ACTR_DTLS_ERROR_CLOSED, "%s: %s", what, reason);
  else
    fail(dtls, ACTR_DTLS_ERROR_HANDSHAKE, "%s: %s", what, reason);
}

/* ---- Output ---------------------------------------------------------------- */

/* Drains the write BIO into datagrams of whole records, each at most
 * ACTR_DTLS_MTU bytes unless one record alone is larger.  Calls made from
 * send_datagram (e.g. actr_dtls_send) only add to the BIO; the outermost
 * call sends their records afterwards, in order. */
static void
flush_output(ActrDtls *dtls)
{
  if (dtls->flushing || dtls->wbio == NULL)
    return;
  dtls->flushing = TRUE;
  for (;;) {
    size_t pending = BIO_ctrl_pending(dtls->wbio);
    if (pending == 0)
      break;
    /* Copied out (not BIO_get_mem_data): calls from send_datagram append
     * to the BIO, which may move its memory. */
    if (pending > dtls->write_cap) {
      dtls->write_cap = MAX(pending, 2 * ACTR_DTLS_MTU);
      dtls->write_buf = g_realloc(dtls->write_buf, dtls->write_cap);
    }
    guint8 *buf = dtls->write_buf;
    int got = BIO_read(dtls->wbio, buf, (int)pending);
    if (got <= 0) {
      ERR_clear_error();
      break;
    }
    gsize len = (gsize)got;
    gsize start = 0; /* first byte of the datagram being packed */
    gsize off = 0;
    while (off < len) {
      gsize rec;
      if (len - off >= DTLS_RECORD_HEADER &&
          len - off - DTLS_RECORD_HEADER >= record_length(buf + off))
        rec = DTLS_RECORD_HEADER + record_length(buf + off);
      else
        rec = len - off; /* never from OpenSSL; keep the bytes together */
      if (off > start && off + rec - start > ACTR_DTLS_MTU) {
        dtls->callbacks.send_datagram(dtls, buf + start, off - start, dtls->user_data);
        start = off;
      }
      off += rec;
    }
    if (off > start)
      dtls->callbacks.send_datagram(dtls, buf + start, off - start, dtls->user_data);
  }
  dtls->flushing = FALSE;
}

/* ---- Timer ----------------------------------------------------------------- */

static void
handshake_timeout(ActrDtls *dtls)
{
  if (g_get_monotonic_time() >= dtls->deadline) {
    fail(dtls, ACTR_DTLS_ERROR_HANDSHAKE, "handshake not complete after %u ms",
         dtls->handshake_timeout_ms);
    return;
  }
  ERR_clear_error();
  if (DTLSv1_handle_timeout(dtls->ssl) < 0) {
    fail_ssl(dtls, "handshake retransmissions exhausted");
    return;
  }
  flush_output(dtls);
  arm_timer(dtls);
}

static gboolean
timer_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
  ActrDtls *dtls = ((DtlsTimer *)source)->dtls;
  g_source_set_ready_time(source, -1);
  if (dtls->pending_error) {
    GError *error = g_steal_pointer(&dtls->pending_error);
    clear_timer(dtls);
    report_closed(dtls, error);
    g_error_free(error);
    return G_SOURCE_CONTINUE;
  }
  if (dtls->state != ACTR_DTLS_STATE_HANDSHAKING)
    return G_SOURCE_CONTINUE;
  if (dtls->early) {
    GPtrArray *early = g_steal_pointer(&dtls->early);
    dtls->early_bytes = 0;
    for (guint i = 0; i < early->len; i++) {
      gsize len;
      const guint8 *bytes = g_bytes_get_data(early->pdata[i], &len);
      actr_dtls_receive(dtls, bytes, len);
    }
    g_ptr_array_unref(early);
    return G_SOURCE_CONTINUE;
  }
  handshake_timeout(dtls);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = {
    .dispatch = timer_dispatch,
};

static void
ensure_timer(ActrDtls *dtls)
{
  if (dtls->timer)
    return;
  dtls->timer = g_source_new(&timer_funcs, sizeof(DtlsTimer));
  ((DtlsTimer *)dtls->timer)->dtls = dtls;
  g_source_set_name(dtls->timer, "actr-dtls-timer");
  g_source_set_priority(dtls->timer, G_PRIORITY_DEFAULT);
  g_source_attach(dtls->timer, dtls->context);
}

/* Re-arms the timer after an SSL call: the earlier of OpenSSL's
 * retransmission timeout and the handshake deadline. */
static void
arm_timer(ActrDtls *dtls)
{
  struct timeval tv;
  if (dtls->state != ACTR_DTLS_STATE_HANDSHAKING || dtls->timer == NULL)
    return;
  gint64 ready = dtls->deadline;
  if (dtls->early) {
    g_source_set_ready_time(dtls->timer, 0);
    return;
  }
  if (DTLSv1_get_timeout(dtls->ssl, &tv) == 1) {
    gint64 at = g_get_monotonic_time() + (gint64)tv.tv_sec * G_USEC_PER_SEC + tv.tv_usec;
    ready = MIN(ready, at);
  }
  g_source_set_ready_time(dtls->timer, ready);
}

/* OpenSSL's retransmission timer policy (see DTLS_INITIAL_RTO_US). */
static unsigned int
rto_callback(SSL *ssl, unsigned int previous_us)
{
  if (previous_us == 0)
    return DTLS_INITIAL_RTO_US;
  return previous_us >= DTLS_MAX_RTO_US / 2 ? DTLS_MAX_RTO_US : previous_us * 2;
}

/* ---- Input ----------------------------------------------------------------- */

static void
handshake_complete(ActrDtls *dtls)
{
  if (!dtls->fingerprint_checked || SSL_get0_peer_certificate(dtls->ssl) == NULL) {
    fail(dtls, ACTR_DTLS_ERROR_FINGERPRINT, "the peer's DTLS certificate was not verified");
    return;
  }
  dtls->handshake_done = TRUE;
  dtls->state = ACTR_DTLS_STATE_CONNECTED;
  clear_timer(dtls);
  g_debug("dtls[%u]: connected as %s, %s", dtls->id,
          dtls->role == ACTR_DTLS_CLIENT ? "client" : "server", actr_dtls_cipher(dtls));
  if (dtls->callbacks.on_connected)
    dtls->callbacks.on_connected(dtls, dtls->user_data);
}

/* Runs OpenSSL over what the read BIO holds. */
static void
process_input(ActrDtls *dtls)
{
  if (dtls->state == ACTR_DTLS_STATE_HANDSHAKING) {
    ERR_clear_error();
    int ret = SSL_do_handshake(dtls->ssl);
    if (ret == 1) {
      handshake_complete(dtls);
    } else {
      int err = SSL_get_error(dtls->ssl, ret);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        fail_ssl(dtls, "handshake failed");
        return;
      }
      ERR_clear_error();
    }
  }
  while (dtls->state == ACTR_DTLS_STATE_CONNECTED) {
    if (dtls->read_buf == NULL)
      dtls->read_buf = g_malloc(DTLS_MAX_PLAINTEXT);
    ERR_clear_error();
    int n = SSL_read(dtls->ssl, dtls->read_buf, DTLS_MAX_PLAINTEXT);
    if (n > 0) {
      if (dtls->callbacks.on_data)
        dtls->callbacks.on_data(dtls, dtls->read_buf, (gsize)n, dtls->user_data);
      continue;
    }
    int err = SSL_get_error(dtls->ssl, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      break;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      /* close_notify: answer it, then report a clean close. */
      ERR_clear_error();
      dtls->state = ACTR_DTLS_STATE_CLOSED;
      SSL_shutdown(dtls->ssl);
      ERR_clear_error();
      flush_output(dtls);
      g_debug("dtls[%u]: closed by the peer", dtls->id);
      report_closed(dtls, NULL);
      break;
    }
    fail_ssl(dtls, "connection failed");
    break;
  }
}

static void
receive_records(ActrDtls *dtls, const guint8 *data, gsize len)
{
  const char *reason = NULL;
  gsize valid = valid_records(data, len, &reason);
  if (reason)
    warn_input(dtls, reason, len);
  gsize off = 0;
  while (off < valid &&
         (dtls->state == ACTR_DTLS_STATE_HANDSHAKING || dtls->state == ACTR_DTLS_STATE_CONNECTED)) {
    /* Whole records, at most DTLS_MAX_FEED bytes (or one record), so that
     * OpenSSL's read of one "datagram" never cuts a record. */
    gsize chunk = 0;
    while (off + chunk < valid) {
      gsize rec = DTLS_RECORD_HEADER + record_length(data + off + chunk);
      if (chunk > 0 && chunk + rec > DTLS_MAX_FEED)
        break;
      chunk += rec;
    }
    ERR_clear_error();
    if (BIO_write(dtls->rbio, data + off, (int)chunk) != (int)chunk) {
      ERR_clear_error();
      warn_input(dtls, "read buffer refused the datagram", len);
      break;
    }
    off += chunk;
    process_input(dtls);
    /* Anything OpenSSL left (a record it gave up on) must not be glued to
     * the next datagram. */
    if (BIO_ctrl_pending(dtls->rbio) > 0)
      (void)BIO_reset(dtls->rbio);
  }
  flush_output(dtls);
  arm_timer(dtls);
}

/* ---- Connection ------------------------------------------------------------ */

ActrDtls *
actr_dtls_new(GMainContext *context, ActrDtlsCert *cert, ActrDtlsRole role, ActrSdpHash remote_hash,
              const guint8 *remote_fingerprint, gsize remote_len,
              const ActrDtlsCallbacks *callbacks, gpointer user_data, GError **error)
{
  static guint next_id = 0;
  char reason[256];

  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (cert == NULL || callbacks == NULL || callbacks->send_datagram == NULL) {
    g_set_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_INVALID,
                "a certificate and a send_datagram callback are required");
    return NULL;
  }
  if (role != ACTR_DTLS_CLIENT && role != ACTR_DTLS_SERVER) {
    g_set_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_INVALID, "invalid DTLS role %d", (int)role);
    return NULL;
  }
  if (hash_md(remote_hash) == NULL || remote_fingerprint == NULL ||
      remote_len != actr_sdp_hash_size(remote_hash) || remote_len > ACTR_SDP_DIGEST_MAX) {
    g_set_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_INVALID,
                "the remote fingerprint must be a sha-1 to sha-512 digest of its size "
                "(got hash %d with %" G_GSIZE_FORMAT " bytes)",
                (int)remote_hash, remote_len);
    return NULL;
  }

  ActrDtls *dtls = g_new0(ActrDtls, 1);
  dtls->id = g_atomic_int_add(&next_id, 1) + 1;
  dtls->context = g_main_context_ref(context ? context : g_main_context_default());
  dtls->cert = actr_dtls_cert_ref(cert);
  dtls->role = role;
  dtls->remote_hash = remote_hash;
  memcpy(dtls->remote_fingerprint, remote_fingerprint, remote_len);
  dtls->remote_len = remote_len;
  dtls->callbacks = *callbacks;
  dtls->user_data = user_data;
  dtls->state = ACTR_DTLS_STATE_NEW;
  dtls->handshake_timeout_ms = DTLS_HANDSHAKE_TIMEOUT_MS;

  ERR_clear_error();
  dtls->ssl = SSL_new(cert->ctx);
  BIO *rbio = BIO_new(BIO_s_mem());
  BIO *wbio = BIO_new(BIO_s_mem());
  if (dtls->ssl == NULL || rbio == NULL || wbio == NULL) {
    BIO_free(rbio);
    BIO_free(wbio);
    goto fail;
  }
  BIO_set_mem_eof_return(rbio, -1);
  BIO_set_mem_eof_return(wbio, -1);
  SSL_set_bio(dtls->ssl, rbio, wbio);
  dtls->rbio = rbio;
  dtls->wbio = wbio;
  SSL_set_app_data(dtls->ssl, dtls);
  SSL_set_options(dtls->ssl, SSL_OP_NO_QUERY_MTU);
  if (!SSL_set_mtu(dtls->ssl, ACTR_DTLS_MTU))
    goto fail;
  DTLS_set_timer_cb(dtls->ssl, rto_callback);
  if (role == ACTR_DTLS_CLIENT)
    SSL_set_connect_state(dtls->ssl);
  else
    SSL_set_accept_state(dtls->ssl);
  return dtls;

fail:
  ssl_error_text(reason, sizeof reason);
  g_set_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_HANDSHAKE,
              "could not set up the DTLS connection: %s", reason);
  actr_dtls_free(dtls);
  return NULL;
}

void
actr_dtls_free(ActrDtls *dtls)
{
  if (dtls == NULL)
    return;
  clear_timer(dtls);
  g_clear_error(&dtls->pending_error);
  if (dtls->early)
    g_ptr_array_unref(dtls->early);
  SSL_free(dtls->ssl); /* frees both BIOs */
  ERR_clear_error();
  g_free(dtls->read_buf);
  g_free(dtls->write_buf);
  actr_dtls_cert_unref(dtls->cert);
  g_main_context_unref(dtls->context);
  g_free(dtls);
}

void
actr_dtls_set_handshake_timeout(ActrDtls *dtls, guint timeout_ms)
{
  g_return_if_fail(dtls != NULL && timeout_ms > 0);
  g_return_if_fail(dtls->state == ACTR_DTLS_STATE_NEW);
  dtls->handshake_timeout_ms = timeout_ms;
}

void
actr_dtls_start(ActrDtls *dtls)
{
  g_return_if_fail(dtls != NULL);
  if (dtls->state != ACTR_DTLS_STATE_NEW)
    return;
  dtls->state = ACTR_DTLS_STATE_HANDSHAKING;
  dtls->deadline = g_get_monotonic_time() + (gint64)dtls->handshake_timeout_ms * 1000;
  ensure_timer(dtls);
  if (dtls->role == ACTR_DTLS_CLIENT) {
    ERR_clear_error();
    int ret = SSL_do_handshake(dtls->ssl);
    int err = SSL_get_error(dtls->ssl, ret);
    if (ret != 1 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      /* Reported from the timer: start() never calls on_closed. */
      char reason[256];
      ssl_error_text(reason, sizeof reason);
      dtls->state = ACTR_DTLS_STATE_FAILED;
      flush_output(dtls);
      dtls->pending_error = g_error_new(ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_HANDSHAKE,
                                        "could not start the handshake: %s", reason);
      g_source_set_ready_time(dtls->timer, 0);
      return;
    }
    ERR_clear_error();
    flush_output(dtls);
  }
  /* Datagrams that arrived before start (a ClientHello from a peer whose
   * ICE connected first) are processed from the timer, right away: start
   * never calls on_connected/on_closed. */
  arm_timer(dtls);
}

/* Keeps a datagram that arrived before actr_dtls_start() (only whole,
 * plausible records; bounded). */
static void
keep_early(ActrDtls *dtls, const guint8 *data, gsize len)
{
  const char *reason = NULL;
  if (valid_records(data, len, &reason) != len) {
    warn_input(dtls, reason, len);
    return;
  }
  if (dtls->early == NULL)
    dtls->early = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  if (dtls->early->len >= DTLS_EARLY_MAX_DATAGRAMS ||
      dtls->early_bytes + len > DTLS_EARLY_MAX_BYTES) {
    warn_input(dtls, "too many datagrams before the handshake started", len);
    return;
  }
  g_ptr_array_add(dtls->early, g_bytes_new(data, len));
  dtls->early_bytes += len;
}

void
actr_dtls_receive(ActrDtls *dtls, const guint8 *data, gsize len)
{
  g_return_if_fail(dtls != NULL);
  if (data == NULL || len == 0) {
    warn_input(dtls, "empty datagram", 0);
    return;
  }
  switch (dtls->state) {
  case ACTR_DTLS_STATE_NEW:
    keep_early(dtls, data, len);
    return;
  case ACTR_DTLS_STATE_HANDSHAKING:
  case ACTR_DTLS_STATE_CONNECTED:
    if (dtls->early) /* not yet replayed: keep the order */
      keep_early(dtls, data, len);
    else
      receive_records(dtls, data, len);
    return;
  case ACTR_DTLS_STATE_CLOSED:
  case ACTR_DTLS_STATE_FAILED:
  default:
    warn_input(dtls, "the connection is closed", len);
    return;
  }
}

gboolean
actr_dtls_send(ActrDtls *dtls, const guint8 *data, gsize len, GError **error)
{
  g_return_val_if_fail(dtls != NULL, FALSE);
  if (dtls->state != ACTR_DTLS_STATE_CONNECTED) {
    g_set_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CLOSED,
                "the DTLS connection is not established (state %d)", (int)dtls->state);
    return FALSE;
  }
  if (data == NULL || len == 0 || len > DTLS_MAX_PLAINTEXT) {
    g_set_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_INVALID,
                "a DTLS record carries 1 to %d bytes (got %" G_GSIZE_FORMAT ")", DTLS_MAX_PLAINTEXT,
                len);
    return FALSE;
  }
  ERR_clear_error();
  int n = SSL_write(dtls->ssl, data, (int)len);
  if (n != (int)len) {
    /* A memory BIO never refuses bytes: this is an internal OpenSSL
     * failure.  The connection is unusable; on_closed comes from the timer
     * (send never calls it). */
    char reason[256];
    ssl_error_text(reason, sizeof reason);
    dtls->state = ACTR_DTLS_STATE_FAILED;
    flush_output(dtls);
    g_set_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CLOSED, "DTLS write failed: %s", reason);
    if (!dtls->closed_reported && dtls->pending_error == NULL) {
      dtls->pending_error =
          g_error_new(ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CLOSED, "DTLS write failed: %s", reason);
      ensure_timer(dtls);
      g_source_set_ready_time(dtls->timer, 0);
    }
    return FALSE;
  }
  flush_output(dtls);
  return TRUE;
}

void
actr_dtls_close(ActrDtls *dtls)
{
  g_return_if_fail(dtls != NULL);
  switch (dtls->state) {
  case ACTR_DTLS_STATE_CONNECTED:
    dtls->state = ACTR_DTLS_STATE_CLOSED;
    ERR_clear_error();
    SSL_shutdown(dtls->ssl);
    ERR_clear_error();
    flush_output(dtls);
    break;
  case ACTR_DTLS_STATE_NEW:
  case ACTR_DTLS_STATE_HANDSHAKING:
    dtls->state = ACTR_DTLS_STATE_CLOSED;
    break;
  case ACTR_DTLS_STATE_CLOSED:
  case ACTR_DTLS_STATE_FAILED:
  default:
    return;
  }
  /* No callback after close (an error still pending is dropped too). */
  dtls->closed_reported = TRUE;
  g_clear_error(&dtls->pending_error);
  clear_timer(dtls);
  if (dtls->early)
    g_clear_pointer(&dtls->early, g_ptr_array_unref);
}

ActrDtlsState
actr_dtls_get_state(const ActrDtls *dtls)
{
  g_return_val_if_fail(dtls != NULL, ACTR_DTLS_STATE_FAILED);
  return dtls->state;
}

const char *
actr_dtls_cipher(const ActrDtls *dtls)
{
  g_return_val_if_fail(dtls != NULL, NULL);
  if (!dtls->handshake_done)
    return NULL;
  const SSL_CIPHER *cipher = SSL_get_current_cipher(dtls->ssl);
  return cipher ? SSL_CIPHER_get_name(cipher) : NULL;
}
