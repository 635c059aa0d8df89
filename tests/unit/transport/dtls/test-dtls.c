/* Unit tests for src/transport/dtls/dtls.c: two ActrDtls endpoints in one
 * process, wired through an in-memory datagram queue that is delivered from
 * an idle source on a private GMainContext (never inside send_datagram).
 *
 * Every datagram either endpoint produces is checked to hold whole records
 * and at most ACTR_DTLS_MTU bytes (unless it is one larger record). */
#include "dtls.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#define AES128 "ECDHE-ECDSA-AES128-GCM-SHA256"

typedef struct _Pair Pair;

typedef struct {
  Pair *pair;
  const char *name;
  ActrDtls *dtls;
  GQueue inbox; /* GBytes waiting to be delivered to this endpoint */
  guint connected;
  guint closed;
  GError *closed_error;
  GPtrArray *records; /* GBytes, one per on_data */
  guint datagrams;
  gsize max_datagram;
  guint max_records_per_datagram;
  gint64 first_send;       /* monotonic µs of the first datagram, 0 before */
  gboolean close_on_data;  /* actr_dtls_close() from the first on_data */
  gboolean echo;           /* send every record back from on_data */
  guint send_on_connected; /* records sent from on_connected */
  gboolean capture;        /* keep sent datagrams in pair->captured */
} End;

struct _Pair {
  GMainContext *context;
  ActrDtlsCert *cert_a;
  ActrDtlsCert *cert_b;
  End a; /* the client unless swapped */
  End b;
  GSource *deliver;
  gboolean (*drop)(Pair *pair, End *from, const guint8 *data, gsize len);
  guint dropped;
  GPtrArray *captured; /* GBytes sent by endpoints with capture set */
  GPtrArray *garbage;  /* GBytes fed before every real datagram when set */
  guint garbage_next;
};

/* ---- Wiring ---------------------------------------------------------------- */

/* Asserts that @data is made of whole DTLS records; returns their count. */
static guint
check_framing(const guint8 *data, gsize len)
{
  gsize off = 0;
  guint n = 0;
  while (off < len) {
    g_assert_cmpuint(len - off, >=, 13);
    gsize body = ((gsize)data[off + 11] << 8) | data[off + 12];
    g_assert_cmpuint(len - off - 13, >=, body);
    g_assert_cmpuint(data[off], >=, 20);
    g_assert_cmpuint(data[off], <=, 23);
    g_assert_cmpuint(data[off + 1], ==, 0xfe);
    off += 13 + body;
    n++;
  }
  g_assert_cmpuint(n, >, 0);
  if (len > ACTR_DTLS_MTU)
    g_assert_cmpuint(n, ==, 1);
  return n;
}

static End *
peer_of(End *end)
{
  return end == &end->pair->a ? &end->pair->b : &end->pair->a;
}

static void
feed(End *to, GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  if (to->dtls)
    actr_dtls_receive(to->dtls, data, len);
}

static gboolean
deliver_cb(gpointer user_data)
{
  Pair *pair = user_data;
  pair->deliver = NULL;
  End *ends[2] = {&pair->a, &pair->b};
  GQueue batch[2] = {G_QUEUE_INIT, G_QUEUE_INIT};
  /* Only what was queued before this dispatch; answers wait for the next. */
  for (int i = 0; i < 2; i++) {
    batch[i] = ends[i]->inbox;
    g_queue_init(&ends[i]->inbox);
  }
  for (int i = 0; i < 2; i++) {
    GBytes *bytes;
    while ((bytes = g_queue_pop_head(&batch[i])) != NULL) {
      if (pair->garbage && pair->garbage->len) {
        for (guint k = 0; k < 3; k++)
          feed(ends[i], pair->garbage->pdata[pair->garbage_next++ % pair->garbage->len]);
      }
      feed(ends[i], bytes);
      g_bytes_unref(bytes);
    }
  }
  return G_SOURCE_REMOVE;
}

static void
on_send(ActrDtls *dtls, const guint8 *data, gsize len, gpointer user_data)
{
  End *end = user_data;
  Pair *pair = end->pair;
  guint n = check_framing(data, len);
  end->datagrams++;
  end->max_datagram = MAX(end->max_datagram, len);
  end->max_records_per_datagram = MAX(end->max_records_per_datagram, n);
  if (end->first_send == 0)
    end->first_send = g_get_monotonic_time();
  if (end->capture)
    g_ptr_array_add(pair->captured, g_bytes_new(data, len));
  if (pair->drop && pair->drop(pair, end, data, len)) {
    pair->dropped++;
    return;
  }
  g_queue_push_tail(&peer_of(end)->inbox, g_bytes_new(data, len));
  if (pair->deliver == NULL) {
    pair->deliver = g_idle_source_new();
    g_source_set_callback(pair->deliver, deliver_cb, pair, NULL);
    g_source_attach(pair->deliver, pair->context);
    g_source_unref(pair->deliver);
  }
}

static void
on_connected(ActrDtls *dtls, gpointer user_data)
{
  End *end = user_data;
  g_assert_cmpint(actr_dtls_get_state(dtls), ==, ACTR_DTLS_STATE_CONNECTED);
  end->connected++;
  for (guint i = 0; i < end->send_on_connected; i++) {
    guint8 msg[3] = {'m', 's', (guint8)('0' + i)};
    GError *error = NULL;
    g_assert_true(actr_dtls_send(dtls, msg, sizeof msg, &error));
    g_assert_no_error(error);
  }
}

static void
on_data(ActrDtls *dtls, const guint8 *data, gsize len, gpointer user_data)
{
  End *end = user_data;
  g_assert_cmpint(actr_dtls_get_state(dtls), ==, ACTR_DTLS_STATE_CONNECTED);
  g_ptr_array_add(end->records, g_bytes_new(data, len));
  if (end->echo) {
    GError *error = NULL;
    g_assert_true(actr_dtls_send(dtls, data, len, &error));
    g_assert_no_error(error);
  }
  if (end->close_on_data)
    actr_dtls_close(dtls);
}

static void
on_closed(ActrDtls *dtls, const GError *error, gpointer user_data)
{
  End *end = user_data;
  /* At most once, and only after the state says why. */
  g_assert_cmpuint(end->closed, ==, 0);
  end->closed++;
  end->closed_error = error ? g_error_copy(error) : NULL;
  ActrDtlsState state = actr_dtls_get_state(dtls);
  g_assert_true(state == ACTR_DTLS_STATE_CLOSED || state == ACTR_DTLS_STATE_FAILED);
  if (error == NULL)
    g_assert_cmpint(state, ==, ACTR_DTLS_STATE_CLOSED);
}

static const ActrDtlsCallbacks callbacks = {
    .send_datagram = on_send,
    .on_connected = on_connected,
    .on_data = on_data,
    .on_closed = on_closed,
};

static void
end_init(Pair *pair, End *end, const char *name)
{
  end->pair = pair;
  end->name = name;
  g_queue_init(&end->inbox);
  end->records = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

static Pair *
pair_new(void)
{
  GError *error = NULL;
  Pair *pair = g_new0(Pair, 1);
  pair->context = g_main_context_new();
  pair->cert_a = actr_dtls_cert_new(&error);
  g_assert_no_error(error);
  pair->cert_b = actr_dtls_cert_new(&error);
  g_assert_no_error(error);
  pair->captured = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  end_init(pair, &pair->a, "a");
  end_init(pair, &pair->b, "b");
  return pair;
}

/* Creates @end's ActrDtls with @cert, expecting the peer to present a
 * certificate whose @hash digest is @fp. */
static void
end_create(End *end, ActrDtlsCert *cert, ActrDtlsRole role, ActrSdpHash hash, const guint8 *fp,
           gsize fp_len)
{
  GError *error = NULL;
  end->dtls =
      actr_dtls_new(end->pair->context, cert, role, hash, fp, fp_len, &callbacks, end, &error);
  g_assert_no_error(error);
  g_assert_nonnull(end->dtls);
  g_assert_cmpint(actr_dtls_get_state(end->dtls), ==, ACTR_DTLS_STATE_NEW);
}

/* The @hash digest of @cert's DER, computed here with OpenSSL directly. */
static gsize
cert_digest(ActrDtlsCert *cert, ActrSdpHash hash, guint8 out[ACTR_SDP_DIGEST_MAX])
{
  const char *names[] = {NULL, "SHA1", "SHA224", "SHA256", "SHA384", "SHA512"};
  g_autoptr(GBytes) der = actr_dtls_cert_get_der(cert);
  g_assert_nonnull(der);
  unsigned int n = 0;
  EVP_MD *md = EVP_MD_fetch(NULL, names[hash], NULL);
  g_assert_nonnull(md);
  g_assert_true(EVP_Digest(g_bytes_get_data(der, NULL), g_bytes_get_size(der), out, &n, md, NULL));
  EVP_MD_free(md);
  g_assert_cmpuint(n, ==, actr_sdp_hash_size(hash));
  return n;
}

/* a = client with cert_a, b = server with cert_b (swapped: a is the
 * server), each expecting the other's certificate by @hash. */
static void
pair_create(Pair *pair, gboolean swapped, ActrSdpHash hash)
{
  guint8 fa[ACTR_SDP_DIGEST_MAX], fb[ACTR_SDP_DIGEST_MAX];
  gsize la = cert_digest(pair->cert_a, hash, fa);
  gsize lb = cert_digest(pair->cert_b, hash, fb);
  end_create(&pair->a, pair->cert_a, swapped ? ACTR_DTLS_SERVER : ACTR_DTLS_CLIENT, hash, fb, lb);
  end_create(&pair->b, pair->cert_b, swapped ? ACTR_DTLS_CLIENT : ACTR_DTLS_SERVER, hash, fa, la);
}

static void
end_clear(End *end)
{
  g_clear_pointer(&end->dtls, actr_dtls_free);
  g_queue_clear_full(&end->inbox, (GDestroyNotify)g_bytes_unref);
  g_clear_error(&end->closed_error);
  g_ptr_array_unref(end->records);
}

static void
pair_free(Pair *pair)
{
  /* Free from outside every callback, then drop what is still queued. */
  g_clear_pointer(&pair->a.dtls, actr_dtls_free);
  g_clear_pointer(&pair->b.dtls, actr_dtls_free);
  if (pair->deliver)
    g_source_destroy(pair->deliver);
  while (g_main_context_iteration(pair->context, FALSE))
    ;
  end_clear(&pair->a);
  end_clear(&pair->b);
  actr_dtls_cert_unref(pair->cert_a);
  actr_dtls_cert_unref(pair->cert_b);
  g_ptr_array_unref(pair->captured);
  if (pair->garbage)
    g_ptr_array_unref(pair->garbage);
  g_main_context_unref(pair->context);
  g_free(pair);
}

static gboolean
wake_cb(gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the context until @cond holds; FALSE after @timeout_ms. */
static gboolean
run_until(Pair *pair, gboolean (*cond)(Pair *pair), guint timeout_ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  GSource *wake = g_timeout_source_new(10);
  g_source_set_callback(wake, wake_cb, NULL, NULL);
  g_source_attach(wake, pair->context);
  gboolean ok;
  while (!(ok = cond(pair)) && g_get_monotonic_time() < end)
    g_main_context_iteration(pair->context, TRUE);
  g_source_destroy(wake);
  g_source_unref(wake);
  return ok;
}

/* Iterates the context for @ms. */
static void
run_for(Pair *pair, guint ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
  GSource *wake = g_timeout_source_new(5);
  g_source_set_callback(wake, wake_cb, NULL, NULL);
  g_source_attach(wake, pair->context);
  while (g_get_monotonic_time() < end)
    g_main_context_iteration(pair->context, TRUE);
  g_source_destroy(wake);
  g_source_unref(wake);
}

static gboolean
both_connected(Pair *pair)
{
  return pair->a.connected && pair->b.connected;
}

static gboolean
both_closed(Pair *pair)
{
  return pair->a.closed && pair->b.closed;
}

/* Connected, or one side gave up. */
static gboolean
settled(Pair *pair)
{
  return both_connected(pair) || pair->a.closed || pair->b.closed;
}

static gboolean
b_closed(Pair *pair)
{
  return pair->b.closed > 0;
}

static void
pair_start(Pair *pair)
{
  actr_dtls_start(pair->b.dtls);
  actr_dtls_start(pair->a.dtls);
  g_assert_cmpint(actr_dtls_get_state(pair->a.dtls), ==, ACTR_DTLS_STATE_HANDSHAKING);
  g_assert_cmpint(actr_dtls_get_state(pair->b.dtls), ==, ACTR_DTLS_STATE_HANDSHAKING);
}

static void
assert_connected(Pair *pair)
{
  g_assert_true(run_until(pair, both_connected, 3000));
  g_assert_cmpuint(pair->a.connected, ==, 1);
  g_assert_cmpuint(pair->b.connected, ==, 1);
  g_assert_cmpint(actr_dtls_get_state(pair->a.dtls), ==, ACTR_DTLS_STATE_CONNECTED);
  g_assert_cmpint(actr_dtls_get_state(pair->b.dtls), ==, ACTR_DTLS_STATE_CONNECTED);
  g_assert_cmpstr(actr_dtls_cipher(pair->a.dtls), ==, AES128);
  g_assert_cmpstr(actr_dtls_cipher(pair->b.dtls), ==, AES128);
  g_assert_cmpuint(pair->a.closed + pair->b.closed, ==, 0);
}

static void
fill(guint8 *buf, gsize len, guint seed)
{
  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8)(i * 31 + seed * 7 + (i >> 8));
}

static gboolean records_target_met(Pair *pair);
static guint records_target;

static gboolean
records_target_met(Pair *pair)
{
  return pair->a.records->len + pair->b.records->len >= records_target;
}

/* Sends one record of each size from @from and checks @to got them, whole
 * and in order. */
static void
exchange(Pair *pair, End *from, End *to, const gsize *sizes, guint n)
{
  guint before_to = to->records->len;
  records_target = pair->a.records->len + pair->b.records->len + n;
  for (guint i = 0; i < n; i++) {
    g_autofree guint8 *buf = g_malloc(sizes[i]);
    fill(buf, sizes[i], i);
    GError *error = NULL;
    g_assert_true(actr_dtls_send(from->dtls, buf, sizes[i], &error));
    g_assert_no_error(error);
  }
  g_assert_true(run_until(pair, records_target_met, 3000));
  g_assert_cmpuint(to->records->len, ==, before_to + n);
  for (guint i = 0; i < n; i++) {
    g_autofree guint8 *want = g_malloc(sizes[i]);
    fill(want, sizes[i], i);
    gsize len;
    const guint8 *got = g_bytes_get_data(to->records->pdata[before_to + i], &len);
    g_assert_cmpmem(got, len, want, sizes[i]);
  }
}

static const gsize sizes[] = {1, 2, 13, 100, 1000, 1163, 1164, 1200, 1500, 4096, 9000, 16384};

/* ---- Tests ----------------------------------------------------------------- */

/* The certificate: self-signed ECDSA P-256, CN "actr", random serial,
 * valid from a day ago for 30 days, SHA-256 signature, and the fingerprint
 * is the SHA-256 of its DER. */
static void
test_certificate(void)
{
  GError *error = NULL;
  g_autoptr(ActrDtlsCert) c1 = actr_dtls_cert_new(&error);
  g_assert_no_error(error);
  g_autoptr(ActrDtlsCert) c2 = actr_dtls_cert_new(&error);
  g_assert_no_error(error);

  g_autoptr(GBytes) der = actr_dtls_cert_get_der(c1);
  const unsigned char *p = g_bytes_get_data(der, NULL);
  X509 *x = d2i_X509(NULL, &p, (long)g_bytes_get_size(der));
  g_assert_nonnull(x);
  char cn[64] = "";
  g_assert_cmpint(
      X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn), ==, 4);
  g_assert_cmpstr(cn, ==, "actr");
  g_assert_cmpint(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), ==, 0);
  g_assert_cmpint(X509_get_signature_nid(x), ==, NID_ecdsa_with_SHA256);
  EVP_PKEY *key = X509_get0_pubkey(x);
  g_assert_nonnull(key);
  char group[32] = "";
  g_assert_true(EVP_PKEY_get_group_name(key, group, sizeof group, NULL));
  g_assert_cmpstr(group, ==, "prime256v1");
  g_assert_cmpint(X509_verify(x, key), ==, 1);
  int days = 0, secs = 0;
  g_assert_true(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notBefore(x)));
  g_assert_true(days == -1 || (days == 0 && secs <= -86000));
  g_assert_true(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)));
  g_assert_true(days == 30 || (days == 29 && secs > 86000));
  const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
  g_assert_true(ASN1_INTEGER_get(serial) > 0);

  g_autoptr(GBytes) der2 = actr_dtls_cert_get_der(c2);
  p = g_bytes_get_data(der2, NULL);
  X509 *x2 = d2i_X509(NULL, &p, (long)g_bytes_get_size(der2));
  g_assert_nonnull(x2);
  g_assert_cmpint(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(x2)), !=, 0);
  X509_free(x2);
  X509_free(x);

  guint8 fp1[32], fp2[32], want[ACTR_SDP_DIGEST_MAX];
  actr_dtls_cert_fingerprint(c1, fp1);
  actr_dtls_cert_fingerprint(c2, fp2);
  g_assert_cmpuint(cert_digest(c1, ACTR_SDP_HASH_SHA256, want), ==, 32);
  g_assert_cmpmem(fp1, 32, want, 32);
  g_assert_true(memcmp(fp1, fp2, 32) != 0);

  ActrDtlsCert *again = actr_dtls_cert_ref(c1);
  g_assert_true(again == c1);
  actr_dtls_cert_unref(again);
  actr_dtls_cert_unref(NULL);
}

/* Handshake, then records of 1 byte to 16 KiB both ways, then echoes from
 * inside on_data; AES128-GCM is negotiated and handshake datagrams fit the
 * MTU. */
static void
test_handshake_and_data(void)
{
  Pair *pair = pair_new();
  pair_create(pair, FALSE, ACTR_SDP_HASH_SHA256);
  GError *error = NULL;
  guint8 byte = 1;

  /* Before start and while handshaking, sending fails with CLOSED. */
  g_assert_false(actr_dtls_send(pair->a.dtls, &byte, 1, &error));
  g_assert_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CLOSED);
  g_clear_error(&error);
  g_assert_null(actr_dtls_cipher(pair->a.dtls));
  pair_start(pair);
  g_assert_false(actr_dtls_send(pair->a.dtls, &byte, 1, &error));
  g_assert_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CLOSED);
  g_clear_error(&error);
  g_assert_false(actr_dtls_send(pair->b.dtls, &byte, 1, &error));
  g_assert_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CLOSED);
  g_clear_error(&error);
  g_assert_null(actr_dtls_cipher(pair->b.dtls));

  assert_connected(pair);
  g_assert_cmpuint(pair->a.max_datagram, <=, ACTR_DTLS_MTU);
  g_assert_cmpuint(pair->b.max_datagram, <=, ACTR_DTLS_MTU);
  /* The server's flight (ServerHello .. ServerHelloDone) is packed. */
  g_assert_cmpuint(pair->b.max_records_per_datagram, >=, 2);

  exchange(pair, &pair->a, &pair->b, sizes, G_N_ELEMENTS(sizes));
  exchange(pair, &pair->b, &pair->a, sizes, G_N_ELEMENTS(sizes));
  /* A 16 KiB record is one datagram larger than the MTU (checked in
   * on_send); a 1163-byte record (1200 with header and AEAD) is not. */
  g_assert_cmpuint(pair->a.max_datagram, >, 16384);

  /* Bad sizes. */
  g_assert_false(actr_dtls_send(pair->a.dtls, &byte, 0, &error));
  g_assert_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_INVALID);
  g_clear_error(&error);
  g_autofree guint8 *big = g_malloc0(16385);
  g_assert_false(actr_dtls_send(pair->a.dtls, big, 16385, &error));
  g_assert_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_INVALID);
  g_clear_error(&error);

  /* Echo from inside on_data (send re-entered from a callback). */
  pair->b.echo = TRUE;
  guint before = pair->a.records->len;
  const gsize small[] = {5, 700, 1159};
  records_target = pair->a.records->len + pair->b.records->len + 6;
  for (guint i = 0; i < G_N_ELEMENTS(small); i++) {
    g_autofree guint8 *buf = g_malloc(small[i]);
    fill(buf, small[i], 40 + i);
    g_assert_true(actr_dtls_send(pair->a.dtls, buf, small[i], NULL));
  }
  g_assert_true(run_until(pair, records_target_met, 3000));
  g_assert_cmpuint(pair->a.records->len, ==, before + 3);
  for (guint i = 0; i < G_N_ELEMENTS(small); i++) {
    g_autofree guint8 *want = g_malloc(small[i]);
    fill(want, small[i], 40 + i);
    gsize len;
    const guint8 *got = g_bytes_get_data(pair->a.records->pdata[before + i], &len);
    g_assert_cmpmem(got, len, want, small[i]);
  }
  g_assert_cmpuint(pair->a.closed + pair->b.closed, ==, 0);
  pair_free(pair);
}

/* Both role assignments and both start orders; a ClientHello that arrives
 * before the server's start is kept and answered at start (no
 * retransmission needed). */
static void
test_roles_and_start_order(void)
{
  for (int swapped = 0; swapped < 2; swapped++) {
    for (int client_first = 0; client_first < 2; client_first++) {
      Pair *pair = pair_new();
      pair_create(pair, swapped, ACTR_SDP_HASH_SHA256);
      End *client = swapped ? &pair->b : &pair->a;
      End *server = swapped ? &pair->a : &pair->b;
      gint64 t0 = g_get_monotonic_time();
      if (client_first) {
        actr_dtls_start(client->dtls);
        /* Deliver the ClientHello to the server while it is still NEW. */
        run_for(pair, 30);
        g_assert_cmpuint(server->datagrams, ==, 0);
        g_assert_cmpint(actr_dtls_get_state(server->dtls), ==, ACTR_DTLS_STATE_NEW);
        actr_dtls_start(server->dtls);
      } else {
        actr_dtls_start(server->dtls);
        actr_dtls_start(client->dtls);
      }
      assert_connected(pair);
      /* No retransmission (400 ms) was needed. */
      g_assert_cmpint(g_get_monotonic_time() - t0, <, 350 * 1000);
      const gsize some[] = {1, 1200, 3000};
      exchange(pair, client, server, some, G_N_ELEMENTS(some));
      exchange(pair, server, client, some, G_N_ELEMENTS(some));
      pair_free(pair);
    }
  }
}

/* A fingerprint that does not match fails the handshake with FINGERPRINT on
 * the side that checks it; the other side sees the alert (HANDSHAKE). */
static void
test_fingerprint_mismatch(void)
{
  for (int wrong_side = 0; wrong_side < 3; wrong_side++) {
    Pair *pair = pair_new();
    guint8 fa[32], fb[32];
    actr_dtls_cert_fingerprint(pair->cert_a, fa);
    actr_dtls_cert_fingerprint(pair->cert_b, fb);
    ActrSdpHash hash_a = ACTR_SDP_HASH_SHA256;
    gsize len_a = 32;
    if (wrong_side == 0)
      fb[17] ^= 0x01; /* the client (a) expects another server cert */
    else if (wrong_side == 1)
      fa[0] ^= 0x80; /* the server (b) expects another client cert */
    else {
      /* The client reads the right bytes under the wrong hash name: the
       * first 20 bytes of the SHA-256 fingerprint are not the SHA-1. */
      hash_a = ACTR_SDP_HASH_SHA1;
      len_a = 20;
    }
    end_create(&pair->a, pair->cert_a, ACTR_DTLS_CLIENT, hash_a, fb, len_a);
    end_create(&pair->b, pair->cert_b, ACTR_DTLS_SERVER, ACTR_SDP_HASH_SHA256, fa, 32);
    pair_start(pair);
    g_assert_true(run_until(pair, both_closed, 3000));
    End *checker = wrong_side == 1 ? &pair->b : &pair->a;
    End *other = wrong_side == 1 ? &pair->a : &pair->b;
    g_assert_error(checker->closed_error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_FINGERPRINT);
    g_assert_error(other->closed_error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_HANDSHAKE);
    g_assert_cmpint(actr_dtls_get_state(pair->a.dtls), ==, ACTR_DTLS_STATE_FAILED);
    g_assert_cmpint(actr_dtls_get_state(pair->b.dtls), ==, ACTR_DTLS_STATE_FAILED);
    g_assert_cmpuint(pair->a.connected + pair->b.connected, ==, 0);
    g_assert_null(actr_dtls_cipher(pair->a.dtls));
    GError *error = NULL;
    guint8 byte = 0;
    g_assert_false(actr_dtls_send(pair->a.dtls, &byte, 1, &error));
    g_assert_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CLOSED);
    g_clear_error(&error);
    /* Fed after failing: ignored, no second on_closed. */
    guint8 junk[20] = {23, 0xfe, 0xfd};
    junk[12] = 7;
    actr_dtls_receive(pair->a.dtls, junk, sizeof junk);
    run_for(pair, 20);
    g_assert_cmpuint(pair->a.closed, ==, 1);
    pair_free(pair);
  }
}

/* Fingerprints with any SDP hash work when they are the right digest; bad
 * hash/length combinations are refused by actr_dtls_new(). */
static void
test_hash_algorithms(void)
{
  const ActrSdpHash hashes[] = {ACTR_SDP_HASH_SHA1, ACTR_SDP_HASH_SHA224, ACTR_SDP_HASH_SHA384,
                                ACTR_SDP_HASH_SHA512};
  for (guint i = 0; i < G_N_ELEMENTS(hashes); i++) {
    Pair *pair = pair_new();
    pair_create(pair, i % 2, hashes[i]);
    pair_start(pair);
    assert_connected(pair);
    pair_free(pair);
  }

  g_autoptr(ActrDtlsCert) cert = actr_dtls_cert_new(NULL);
  g_assert_nonnull(cert);
  guint8 fp[ACTR_SDP_DIGEST_MAX] = {0};
  struct {
    ActrSdpHash hash;
    const guint8 *fp;
    gsize len;
  } bad[] = {
      {ACTR_SDP_HASH_NONE, fp, 32},   {ACTR_SDP_HASH_SHA384, fp, 32},
      {ACTR_SDP_HASH_SHA256, fp, 48}, {ACTR_SDP_HASH_SHA256, NULL, 32},
      {ACTR_SDP_HASH_SHA1, fp, 0},    {(ActrSdpHash)99, fp, 32},
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    GError *error = NULL;
    ActrDtls *dtls = actr_dtls_new(NULL, cert, ACTR_DTLS_CLIENT, bad[i].hash, bad[i].fp, bad[i].len,
                                   &callbacks, NULL, &error);
    g_assert_null(dtls);
    g_assert_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_INVALID);
    g_clear_error(&error);
  }
  GError *error = NULL;
  ActrDtlsCallbacks none = {0};
  g_assert_null(actr_dtls_new(NULL, cert, ACTR_DTLS_CLIENT, ACTR_SDP_HASH_SHA256, fp, 32, &none,
                              NULL, &error));
  g_assert_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_INVALID);
  g_clear_error(&error);
}

/* Drops the client's first flight (its ClientHello) and the server's first
 * flight (everything it sends within 100 ms of its first datagram). */
static gboolean
drop_first_flights(Pair *pair, End *from, const guint8 *data, gsize len)
{
  if (from == &pair->a)
    return from->datagrams == 1;
  return g_get_monotonic_time() - from->first_send < 100 * 1000;
}

/* Lost flights are retransmitted and the handshake still completes within a
 * few seconds. */
static void
test_retransmission(void)
{
  Pair *pair = pair_new();
  pair_create(pair, FALSE, ACTR_SDP_HASH_SHA256);
  pair->drop = drop_first_flights;
  gint64 t0 = g_get_monotonic_time();
  pair_start(pair);
  g_assert_true(run_until(pair, both_connected, 5000));
  gint64 elapsed = g_get_monotonic_time() - t0;
  g_assert_cmpuint(pair->dropped, >=, 2);
  g_assert_cmpint(elapsed, >, 300 * 1000);
  g_assert_cmpint(elapsed, <, 4 * G_USEC_PER_SEC);
  assert_connected(pair);
  pair->drop = NULL;
  const gsize some[] = {10, 1100};
  exchange(pair, &pair->a, &pair->b, some, 2);
  exchange(pair, &pair->b, &pair->a, some, 2);
  pair_free(pair);
}

static gboolean
drop_from_b(Pair *pair, End *from, const guint8 *data, gsize len)
{
  return from == &pair->b;
}

/* A handshake that cannot complete fails with HANDSHAKE at the deadline
 * (shortened here), and a lone server that never hears a ClientHello
 * fails too. */
static void
test_handshake_timeout(void)
{
  Pair *pair = pair_new();
  pair_create(pair, FALSE, ACTR_SDP_HASH_SHA256);
  pair->drop = drop_from_b;
  actr_dtls_set_handshake_timeout(pair->a.dtls, 700);
  actr_dtls_set_handshake_timeout(pair->b.dtls, 900);
  gint64 t0 = g_get_monotonic_time();
  pair_start(pair);
  g_assert_true(run_until(pair, both_closed, 3000));
  gint64 elapsed = g_get_monotonic_time() - t0;
  g_assert_cmpint(elapsed, >=, 900 * 1000);
  g_assert_cmpint(elapsed, <, 2 * G_USEC_PER_SEC);
  g_assert_error(pair->a.closed_error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_HANDSHAKE);
  g_assert_error(pair->b.closed_error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_HANDSHAKE);
  /* The client retransmitted its ClientHello before giving up. */
  g_assert_cmpuint(pair->a.datagrams, >=, 2);
  g_assert_cmpint(actr_dtls_get_state(pair->a.dtls), ==, ACTR_DTLS_STATE_FAILED);
  pair_free(pair);

  pair = pair_new();
  pair_create(pair, FALSE, ACTR_SDP_HASH_SHA256);
  actr_dtls_set_handshake_timeout(pair->b.dtls, 200);
  actr_dtls_start(pair->b.dtls);
  g_assert_true(run_until(pair, b_closed, 2000));
  g_assert_error(pair->b.closed_error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_HANDSHAKE);
  g_assert_cmpuint(pair->b.datagrams, ==, 0);
  pair_free(pair);
}

/* close_notify reaches the peer as on_closed(NULL); the closing side gets
 * no callback; closing while handshaking is silent too. */
static void
test_close_notify(void)
{
  Pair *pair = pair_new();
  pair_create(pair, FALSE, ACTR_SDP_HASH_SHA256);
  pair_start(pair);
  assert_connected(pair);
  actr_dtls_close(pair->a.dtls);
  g_assert_cmpint(actr_dtls_get_state(pair->a.dtls), ==, ACTR_DTLS_STATE_CLOSED);
  actr_dtls_close(pair->a.dtls); /* idempotent */
  g_assert_true(run_until(pair, b_closed, 2000));
  g_assert_no_error(pair->b.closed_error);
  g_assert_cmpint(actr_dtls_get_state(pair->b.dtls), ==, ACTR_DTLS_STATE_CLOSED);
  run_for(pair, 30); /* b's answering close_notify reaches the closed a */
  g_assert_cmpuint(pair->a.closed, ==, 0);
  g_assert_cmpuint(pair->b.closed, ==, 1);
  GError *error = NULL;
  guint8 byte = 0;
  g_assert_false(actr_dtls_send(pair->a.dtls, &byte, 1, &error));
  g_assert_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CLOSED);
  g_clear_error(&error);
  g_assert_false(actr_dtls_send(pair->b.dtls, &byte, 1, &error));
  g_assert_error(error, ACTR_DTLS_ERROR, ACTR_DTLS_ERROR_CLOSED);
  g_clear_error(&error);
  pair_free(pair);

  /* Closing during the handshake: no callback on that side, and the other
   * side is not told (no close_notify before the handshake). */
  pair = pair_new();
  pair_create(pair, FALSE, ACTR_SDP_HASH_SHA256);
  pair_start(pair);
  actr_dtls_close(pair->b.dtls);
  g_assert_cmpint(actr_dtls_get_state(pair->b.dtls), ==, ACTR_DTLS_STATE_CLOSED);
  run_for(pair, 50);
  g_assert_cmpuint(pair->b.closed + pair->b.connected, ==, 0);
  g_assert_cmpuint(pair->a.connected, ==, 0);
  pair_free(pair);

  /* Closing before start. */
  pair = pair_new();
  pair_create(pair, FALSE, ACTR_SDP_HASH_SHA256);
  actr_dtls_close(pair->a.dtls);
  actr_dtls_start(pair->a.dtls);
  g_assert_cmpint(actr_dtls_get_state(pair->a.dtls), ==, ACTR_DTLS_STATE_CLOSED);
  g_assert_cmpuint(pair->a.datagrams, ==, 0);
  pair_free(pair);
}

/* Several records in one datagram, and on_data closes on the first: the
 * rest are not delivered and nothing breaks.  The server sends its records
 * from on_connected, so they share a datagram with its Finished. */
static void
test_close_from_callback(void)
{
  Pair *pair = pair_new();
  pair_create(pair, FALSE, ACTR_SDP_HASH_SHA256);
  pair->b.send_on_connected = 3;
  pair->a.close_on_data = TRUE;
  pair_start(pair);
  g_assert_true(run_until(pair, b_closed, 3000));
  g_assert_cmpuint(pair->a.connected, ==, 1);
  g_assert_cmpuint(pair->b.max_records_per_datagram, >=, 5); /* CCS, Finished, 3 records */
  g_assert_cmpuint(pair->a.records->len, ==, 1);
  gsize len;
  const guint8 *got = g_bytes_get_data(pair->a.records->pdata[0], &len);
  g_assert_cmpmem(got, len, "ms0", 3);
  g_assert_cmpint(actr_dtls_get_state(pair->a.dtls), ==, ACTR_DTLS_STATE_CLOSED);
  g_assert_no_error(pair->b.closed_error);
  run_for(pair, 20);
  g_assert_cmpuint(pair->a.closed, ==, 0);
  pair_free(pair);
}

static GBytes *
bytes_random(GRand *rand, gsize len, gint first_min)
{
  guint8 *buf = g_malloc(len ? len : 1);
  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8)g_rand_int_range(rand, 0, 256);
  if (len && first_min >= 0)
    buf[0] = (guint8)g_rand_int_range(rand, first_min, 256);
  return g_bytes_new_take(buf, len);
}

/* A DTLS 1.2 record header of @type and @epoch with @body random bytes,
 * whose length field claims @claimed bytes. */
static GBytes *
bytes_record(GRand *rand, guint8 type, guint16 epoch, gsize body, gsize claimed)
{
  guint8 *buf = g_malloc0(13 + body);
  buf[0] = type;
  buf[1] = 0xfe;
  buf[2] = 0xfd;
  buf[3] = (guint8)(epoch >> 8);
  buf[4] = (guint8)epoch;
  for (int i = 5; i < 11; i++)
    buf[i] = (guint8)g_rand_int(rand);
  buf[11] = (guint8)(claimed >> 8);
  buf[12] = (guint8)claimed;
  for (gsize i = 0; i < body; i++)
    buf[13 + i] = (guint8)g_rand_int(rand);
  return g_bytes_new_take(buf, 13 + body);
}

/* Harmless garbage: nothing here can be taken for a real record of the
 * current or next epoch. */
static GPtrArray *
make_garbage(GRand *rand)
{
  GPtrArray *g = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  static const guint8 one[] = {22};
  g_ptr_array_add(g, g_bytes_new_static(one, 1));
  g_ptr_array_add(g, bytes_random(rand, 12, 64));
  g_ptr_array_add(g, bytes_random(rand, 200, 64));
  g_ptr_array_add(g, bytes_random(rand, 20000, 64));
  g_ptr_array_add(g, bytes_random(rand, 1, 0));
  /* Truncated records: the length claims more than there is. */
  g_ptr_array_add(g, bytes_record(rand, 22, 0, 20, 100));
  g_ptr_array_add(g, bytes_record(rand, 23, 1, 0, 1));
  g_ptr_array_add(g, bytes_record(rand, 21, 0, 1, 2));
  /* A TLS (not DTLS) record, an unknown content type, an over-long record. */
  guint8 tls[40] = {22, 3, 3, 0, 35};
  g_ptr_array_add(g, g_bytes_new(tls, sizeof tls));
  g_ptr_array_add(g, bytes_record(rand, 24, 0, 30, 30));
  g_ptr_array_add(g, bytes_record(rand, 23, 1, 20000, 20000));
  /* Well-framed records of an epoch that is never used. */
  g_ptr_array_add(g, bytes_record(rand, 22, 0x4242, 60, 60));
  g_ptr_array_add(g, bytes_record(rand, 21, 0x7777, 2, 2));
  g_ptr_array_add(g, bytes_record(rand, 23, 0x0101, 500, 500));
  return g;
}

static void
feed_all(ActrDtls *dtls, GPtrArray *list)
{
  for (guint i = 0; i < list->len; i++) {
    gsize len;
    const guint8 *data = g_bytes_get_data(list->pdata[i], &len);
    actr_dtls_receive(dtls, data, len);
  }
}

/* Garbage, truncated and forged datagrams at every stage are dropped and the
 * connection still works; captured real datagrams replayed, cut short or
 * with a flipped bit are dropped too. */
static void
test_garbage(void)
{
  GRand *rand = g_rand_new_with_seed(7);
  Pair *pair = pair_new();
  pair_create(pair, FALSE, ACTR_SDP_HASH_SHA256);
  GPtrArray *garbage = make_garbage(rand);

  /* Before start (nothing malformed is kept for later). */
  feed_all(pair->a.dtls, garbage);
  feed_all(pair->b.dtls, garbage);
  actr_dtls_receive(pair->b.dtls, (const guint8 *)"", 0);
  /* Right after start and before every real datagram of the handshake. */
  pair->a.capture = TRUE;
  pair_start(pair);
  feed_all(pair->a.dtls, garbage);
  feed_all(pair->b.dtls, garbage);
  pair->garbage = g_ptr_array_ref(garbage);
  assert_connected(pair);

  /* Replays and damaged copies of the client's real handshake datagrams. */
  GPtrArray *forged = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  for (guint i = 0; i < pair->captured->len; i++) {
    gsize len;
    const guint8 *data = g_bytes_get_data(pair->captured->pdata[i], &len);
    g_ptr_array_add(forged, g_bytes_new(data, len));
    g_ptr_array_add(forged, g_bytes_new(data, len - 1));
    g_ptr_array_add(forged, g_bytes_new(data, len / 2));
  }
  g_ptr_array_set_size(pair->captured, 0);
  feed_all(pair->b.dtls, forged);
  const gsize some[] = {1, 600, 1159, 5000};
  exchange(pair, &pair->a, &pair->b, some, G_N_ELEMENTS(some));
  exchange(pair, &pair->b, &pair->a, some, G_N_ELEMENTS(some));

  /* Application data: replayed, bit-flipped (fails authentication) and cut
   * copies are all dropped; b gets nothing more. */
  g_assert_cmpuint(pair->captured->len, ==, G_N_ELEMENTS(some));
  guint had = pair->b.records->len;
  g_ptr_array_set_size(forged, 0);
  for (guint i = 0; i < pair->captured->len; i++) {
    gsize len;
    const guint8 *data = g_bytes_get_data(pair->captured->pdata[i], &len);
    g_ptr_array_add(forged, g_bytes_new(data, len));
    guint8 *flip = g_memdup2(data, len);
    flip[len - 1] ^= 0x20;
    g_ptr_array_add(forged, g_bytes_new_take(flip, len));
    g_ptr_array_add(forged, g_bytes_new(data, len - 3));
  }
  feed_all(pair->b.dtls, forged);
  feed_all(pair->b.dtls, garbage);
  g_assert_cmpuint(pair->b.records->len, ==, had);
  g_assert_cmpint(actr_dtls_get_state(pair->b.dtls), ==, ACTR_DTLS_STATE_CONNECTED);
  exchange(pair, &pair->a, &pair->b, some, G_N_ELEMENTS(some));
  exchange(pair, &pair->b, &pair->a, some, G_N_ELEMENTS(some));

  /* After close: ignored. */
  actr_dtls_close(pair->a.dtls);
  g_assert_true(run_until(pair, b_closed, 2000));
  feed_all(pair->a.dtls, garbage);
  feed_all(pair->b.dtls, garbage);
  feed_all(pair->b.dtls, forged);
  run_for(pair, 20);
  g_assert_cmpuint(pair->a.closed, ==, 0);
  g_assert_cmpuint(pair->b.closed, ==, 1);
  g_assert_no_error(pair->b.closed_error);

  g_ptr_array_unref(forged);
  g_ptr_array_unref(garbage);
  pair_free(pair);
  g_rand_free(rand);
}

/* Random datagrams, including well-framed records of the live epochs (which
 * may legitimately be fatal), at every stage: never a crash, on_closed at
 * most once, and a state that makes sense. */
static void
test_random_input(void)
{
  GRand *rand = g_rand_new_with_seed(20261125);
  for (guint round = 0; round < 24; round++) {
    Pair *pair = pair_new();
    pair_create(pair, round % 2, ACTR_SDP_HASH_SHA256);
    guint stage = round % 4; /* before start, handshaking, connected, closed */
    GPtrArray *junk = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    for (guint i = 0; i < 60; i++) {
      switch (g_rand_int_range(rand, 0, 3)) {
      case 0:
        g_ptr_array_add(junk, bytes_random(rand, g_rand_int_range(rand, 0, 1400), -1));
        break;
      case 1: {
        gsize body = g_rand_int_range(rand, 0, 300);
        g_ptr_array_add(junk, bytes_record(rand, (guint8)g_rand_int_range(rand, 20, 24),
                                           (guint16)g_rand_int_range(rand, 0, 2), body, body));
        break;
      }
      default: {
        /* Two records back to back, the second one cut. */
        gsize body = g_rand_int_range(rand, 1, 100);
        GBytes *r1 = bytes_record(rand, 22, 0, body, body);
        GBytes *r2 = bytes_record(rand, 23, 1, body, body + 5);
        GByteArray *both = g_byte_array_new();
        g_byte_array_append(both, g_bytes_get_data(r1, NULL), g_bytes_get_size(r1));
        g_byte_array_append(both, g_bytes_get_data(r2, NULL), g_bytes_get_size(r2));
        g_ptr_array_add(junk, g_byte_array_free_to_bytes(both));
        g_bytes_unref(r1);
        g_bytes_unref(r2);
        break;
      }
      }
    }
    if (stage == 0) {
      feed_all(pair->a.dtls, junk);
      feed_all(pair->b.dtls, junk);
      pair_start(pair);
      run_until(pair, settled, 1500);
    } else if (stage == 1) {
      pair_start(pair);
      pair->garbage = g_ptr_array_ref(junk);
      run_until(pair, settled, 1500);
    } else {
      pair_start(pair);
      assert_connected(pair);
      if (stage == 3) {
        actr_dtls_close(pair->b.dtls);
        run_for(pair, 10);
      }
      feed_all(pair->a.dtls, junk);
      feed_all(pair->b.dtls, junk);
      run_for(pair, 10);
    }
    for (int e = 0; e < 2; e++) {
      End *end = e ? &pair->b : &pair->a;
      ActrDtlsState state = actr_dtls_get_state(end->dtls);
      g_assert_cmpuint(end->closed, <=, 1);
      g_assert_cmpuint(end->connected, <=, 1);
      if (state == ACTR_DTLS_STATE_FAILED)
        g_assert_cmpuint(end->closed, ==, 1);
      if (end->closed_error)
        g_assert_true(end->closed_error->domain == ACTR_DTLS_ERROR);
    }
    /* The connection survives unauthenticated junk once established. */
    if (stage == 2) {
      g_assert_cmpint(actr_dtls_get_state(pair->a.dtls), ==, ACTR_DTLS_STATE_CONNECTED);
      g_assert_cmpint(actr_dtls_get_state(pair->b.dtls), ==, ACTR_DTLS_STATE_CONNECTED);
      const gsize one[] = {77};
      exchange(pair, &pair->a, &pair->b, one, 1);
    }
    g_ptr_array_unref(junk);
    pair_free(pair);
  }
  g_rand_free(rand);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dtls/certificate", test_certificate);
  g_test_add_func("/dtls/handshake-and-data", test_handshake_and_data);
  g_test_add_func("/dtls/roles-and-start-order", test_roles_and_start_order);
  g_test_add_func("/dtls/fingerprint-mismatch", test_fingerprint_mismatch);
  g_test_add_func("/dtls/hash-algorithms", test_hash_algorithms);
  g_test_add_func("/dtls/retransmission", test_retransmission);
  g_test_add_func("/dtls/handshake-timeout", test_handshake_timeout);
  g_test_add_func("/dtls/close-notify", test_close_notify);
  g_test_add_func("/dtls/close-from-callback", test_close_from_callback);
  g_test_add_func("/dtls/garbage", test_garbage);
  g_test_add_func("/dtls/random-input", test_random_input);
  return g_test_run();
}
