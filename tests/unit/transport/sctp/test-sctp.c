/* Unit tests for src/transport/sctp: two ActrSctp endpoints in one process
 * wired to each other.  Packets that one endpoint hands to send_packet are
 * queued and fed to the other from an idle source (never synchronously),
 * so every usrsctp code path runs as it would behind DTLS. */
#include "dcep.h"
#include "sctp-private.h"
#include "sctp.h"

#include <string.h>

#define WAIT_MS 10000

typedef struct _Pair Pair;
typedef struct _Endpoint Endpoint;

typedef struct {
  guint16 sid;
  char *label;
  gboolean by_peer;
} Opened;

typedef struct {
  guint16 sid;
  GBytes *data;
  gboolean binary;
} Message;

struct _Endpoint {
  Pair *pair;
  const char *name;
  ActrSctp *sctp;
  Endpoint *peer;
  GQueue wire;        /* packets from this endpoint on their way to the peer */
  gboolean hold;      /* keep packets on the wire */
  gboolean blackhole; /* drop packets */
  guint drop_next;    /* drop this many packets, then deliver */
  guint packets_out;
  gboolean freed;
  gboolean connected;
  guint connected_count;
  gboolean closed;
  char *close_reason;
  GPtrArray *opened;      /* Opened */
  GArray *closed_streams; /* guint16 */
  GQueue messages;        /* Message, unless on_message is set */
  guint buffered_low;
  /* Optional message hook (bulk tests). */
  void (*on_message)(Endpoint *ep, guint16 sid, const guint8 *data, gsize len, gboolean binary);
  gpointer hook_data;
};

struct _Pair {
  GMainContext *ctx;
  Endpoint a; /* DTLS client: even stream ids */
  Endpoint b; /* DTLS server: odd stream ids */
  guint deliver_id;
};

static gboolean
deliver_cb(gpointer data)
{
  Pair *p = data;
  p->deliver_id = 0;
  Endpoint *eps[2] = {&p->a, &p->b};
  for (int round = 0; round < 2; round++) {
    Endpoint *from = eps[round];
    if (from->hold)
      continue;
    GBytes *pkt;
    while ((pkt = g_queue_pop_head(&from->wire))) {
      Endpoint *to = from->peer;
      if (to->sctp != NULL && !to->freed) {
        gsize len;
        const guint8 *d = g_bytes_get_data(pkt, &len);
        actr_sctp_receive_packet(to->sctp, d, len);
      }
      g_bytes_unref(pkt);
    }
  }
  return G_SOURCE_REMOVE;
}

static void
schedule_delivery(Pair *p)
{
  if (p->deliver_id != 0)
    return;
  GSource *src = g_idle_source_new();
  g_source_set_callback(src, deliver_cb, p, NULL);
  p->deliver_id = g_source_attach(src, p->ctx);
  g_source_unref(src);
}

static void
send_packet_cb(ActrSctp *sctp, const guint8 *data, gsize len, gpointer user_data)
{
  Endpoint *ep = user_data;
  g_assert_false(ep->freed);
  g_assert_true(sctp == ep->sctp || ep->sctp == NULL);
  ep->packets_out++;
  g_assert_cmpuint(len, <=, 1200); /* PMTU discovery off, SCTP packets of at most 1200 B */
  if (ep->blackhole)
    return;
  if (ep->drop_next > 0) {
    ep->drop_next--;
    return;
  }
  g_queue_push_tail(&ep->wire, g_bytes_new(data, len));
  schedule_delivery(ep->pair);
}

static void
on_connected_cb(ActrSctp *sctp, gpointer user_data)
{
  Endpoint *ep = user_data;
  g_assert_false(ep->freed);
  ep->connected = TRUE;
  ep->connected_count++;
}

static void
on_channel_open_cb(ActrSctp *sctp, guint16 sid, const char *label, gboolean by_peer,
                   gpointer user_data)
{
  Endpoint *ep = user_data;
  g_assert_false(ep->freed);
  Opened *o = g_new0(Opened, 1);
  o->sid = sid;
  o->label = g_strdup(label);
  o->by_peer = by_peer;
  g_ptr_array_add(ep->opened, o);
}

static void
on_message_cb(ActrSctp *sctp, guint16 sid, const guint8 *data, gsize len, gboolean binary,
              gpointer user_data)
{
  Endpoint *ep = user_data;
  g_assert_false(ep->freed);
  g_assert_nonnull(data);
  if (ep->on_message) {
    ep->on_message(ep, sid, data, len, binary);
    return;
  }
  Message *m = g_new0(Message, 1);
  m->sid = sid;
  m->data = g_bytes_new(data, len);
  m->binary = binary;
  g_queue_push_tail(&ep->messages, m);
}

static void
on_channel_closed_cb(ActrSctp *sctp, guint16 sid, gpointer user_data)
{
  Endpoint *ep = user_data;
  g_assert_false(ep->freed);
  g_array_append_val(ep->closed_streams, sid);
}

static void
on_buffered_low_cb(ActrSctp *sctp, gpointer user_data)
{
  Endpoint *ep = user_data;
  g_assert_false(ep->freed);
  ep->buffered_low++;
}

static void
on_closed_cb(ActrSctp *sctp, const char *reason, gpointer user_data)
{
  Endpoint *ep = user_data;
  g_assert_false(ep->freed);
  g_assert_false(ep->closed); /* at most once */
  g_assert_nonnull(reason);
  ep->closed = TRUE;
  ep->close_reason = g_strdup(reason);
}

static const ActrSctpCallbacks callbacks = {
    .send_packet = send_packet_cb,
    .on_connected = on_connected_cb,
    .on_channel_open = on_channel_open_cb,
    .on_message = on_message_cb,
    .on_channel_closed = on_channel_closed_cb,
    .on_buffered_low = on_buffered_low_cb,
    .on_closed = on_closed_cb,
};

static void
message_free(Message *m)
{
  g_bytes_unref(m->data);
  g_free(m);
}

static void
opened_free(Opened *o)
{
  g_free(o->label);
  g_free(o);
}

static void
endpoint_init(Pair *p, Endpoint *ep, const char *name, gboolean client)
{
  GError *error = NULL;
  ep->pair = p;
  ep->name = name;
  g_queue_init(&ep->wire);
  g_queue_init(&ep->messages);
  ep->opened = g_ptr_array_new_with_free_func((GDestroyNotify)opened_free);
  ep->closed_streams = g_array_new(FALSE, FALSE, sizeof(guint16));
  ep->sctp = actr_sctp_new(p->ctx, client, ACTR_SCTP_DEFAULT_PORT, ACTR_SCTP_DEFAULT_PORT, 0,
                           &callbacks, ep, &error);
  g_assert_no_error(error);
  g_assert_nonnull(ep->sctp);
}

static void
endpoint_free_sctp(Endpoint *ep)
{
  if (ep->sctp == NULL)
    return;
  actr_sctp_free(ep->sctp);
  ep->freed = TRUE;
  ep->sctp = NULL;
}

static void
endpoint_clear(Endpoint *ep)
{
  endpoint_free_sctp(ep);
  g_queue_clear_full(&ep->wire, (GDestroyNotify)g_bytes_unref);
  g_queue_clear_full(&ep->messages, (GDestroyNotify)message_free);
  g_ptr_array_unref(ep->opened);
  g_array_unref(ep->closed_streams);
  g_free(ep->close_reason);
}

static Pair *
pair_new(GMainContext *ctx)
{
  Pair *p = g_new0(Pair, 1);
  p->ctx = ctx ? g_main_context_ref(ctx) : g_main_context_new();
  endpoint_init(p, &p->a, "a", TRUE);
  endpoint_init(p, &p->b, "b", FALSE);
  p->a.peer = &p->b;
  p->b.peer = &p->a;
  return p;
}

static void
pair_free(Pair *p)
{
  endpoint_clear(&p->a);
  endpoint_clear(&p->b);
  if (p->deliver_id) {
    GSource *src = g_main_context_find_source_by_id(p->ctx, p->deliver_id);
    if (src)
      g_source_destroy(src);
  }
  /* Whatever is left on the context must not reach a freed endpoint. */
  while (g_main_context_iteration(p->ctx, FALSE))
    ;
  g_main_context_unref(p->ctx);
  g_free(p);
}

/* Iterates @ctx until @cond holds; fails the test after WAIT_MS. */
#define PUMP_UNTIL(ctx, cond)                                                                      \
  do {                                                                                             \
    gint64 end_ = g_get_monotonic_time() + WAIT_MS * G_TIME_SPAN_MILLISECOND;                      \
    while (!(cond)) {                                                                              \
      if (g_get_monotonic_time() > end_)                                                           \
        g_error("timed out waiting for: %s", #cond);                                               \
      if (!g_main_context_iteration((ctx), FALSE))                                                 \
        g_usleep(100);                                                                             \
    }                                                                                              \
  } while (0)

static void
pump_for(GMainContext *ctx, guint ms)
{
  gint64 end = g_get_monotonic_time() + ms * G_TIME_SPAN_MILLISECOND;
  while (g_get_monotonic_time() < end) {
    if (!g_main_context_iteration(ctx, FALSE))
      g_usleep(200);
  }
}

static void
fill(guint8 *buf, gsize len, guint32 seed)
{
  guint32 x = seed * 2654435761u + 1;
  for (gsize i = 0; i < len; i++) {
    x = x * 1103515245u + 12345u;
    buf[i] = (guint8)(x >> 16);
  }
}

/* The latest open record for @sid at index @since or later. */
static Opened *
find_opened_since(Endpoint *ep, guint16 sid, guint since)
{
  for (guint i = ep->opened->len; i-- > since;) {
    Opened *o = g_ptr_array_index(ep->opened, i);
    if (o->sid == sid)
      return o;
  }
  return NULL;
}

static Opened *
find_opened(Endpoint *ep, guint16 sid)
{
  return find_opened_since(ep, sid, 0);
}

static Pair *
connected_pair(GMainContext *ctx)
{
  Pair *p = pair_new(ctx);
  actr_sctp_connect(p->a.sctp);
  actr_sctp_connect(p->b.sctp);
  PUMP_UNTIL(p->ctx, p->a.connected && p->b.connected);
  return p;
}

static int
open_channel(Pair *p, Endpoint *from, const char *label, const ActrSctpReliability *rel)
{
  GError *error = NULL;
  guint mine_since = from->opened->len, theirs_since = from->peer->opened->len;
  int sid = actr_sctp_open_channel(from->sctp, label, rel, &error);
  g_assert_no_error(error);
  g_assert_cmpint(sid, >=, 0);
  PUMP_UNTIL(p->ctx, find_opened_since(from, (guint16)sid, mine_since) &&
                         find_opened_since(from->peer, (guint16)sid, theirs_since));
  Opened *mine = find_opened_since(from, (guint16)sid, mine_since);
  Opened *theirs = find_opened_since(from->peer, (guint16)sid, theirs_since);
  g_assert_false(mine->by_peer);
  g_assert_true(theirs->by_peer);
  g_assert_cmpstr(mine->label, ==, label);
  g_assert_cmpstr(theirs->label, ==, label);
  return sid;
}

/* Sends one message and checks that the peer gets exactly it. */
static void
roundtrip(Pair *p, Endpoint *from, guint16 sid, gsize len, gboolean binary, guint32 seed)
{
  GError *error = NULL;
  guint8 *buf = g_malloc(len + 1);
  fill(buf, len, seed);
  g_assert_true(actr_sctp_send(from->sctp, sid, buf, len, binary, &error));
  g_assert_no_error(error);
  Endpoint *to = from->peer;
  PUMP_UNTIL(p->ctx, !g_queue_is_empty(&to->messages));
  Message *m = g_queue_pop_head(&to->messages);
  g_assert_cmpuint(m->sid, ==, sid);
  g_assert_cmpint(m->binary, ==, binary);
  gsize got_len;
  const guint8 *got = g_bytes_get_data(m->data, &got_len);
  g_assert_cmpmem(got, got_len, buf, len);
  message_free(m);
  g_free(buf);
}

static void
check_pair_works(Pair *p)
{
  const ActrSctpReliability rel = {.ordered = TRUE, .max_retransmits = -1, .max_lifetime_ms = -1};
  int sid = open_channel(p, &p->a, "check", &rel);
  roundtrip(p, &p->a, (guint16)sid, 100, TRUE, 1);
  roundtrip(p, &p->b, (guint16)sid, 100, FALSE, 2);
}

/* ---- association set-up in every order ---- */

static void
test_connect_client_only(void)
{
  Pair *p = pair_new(NULL);
  g_assert_false(actr_sctp_is_connected(p->a.sctp));
  actr_sctp_connect(p->a.sctp);
  PUMP_UNTIL(p->ctx, p->a.connected && p->b.connected);
  g_assert_true(actr_sctp_is_connected(p->a.sctp));
  g_assert_true(actr_sctp_is_connected(p->b.sctp));
  check_pair_works(p);
  pair_free(p);
}

static void
test_connect_server_only(void)
{
  Pair *p = pair_new(NULL);
  actr_sctp_connect(p->b.sctp);
  PUMP_UNTIL(p->ctx, p->a.connected && p->b.connected);
  check_pair_works(p);
  pair_free(p);
}

static void
test_connect_both(void)
{
  /* Both INITs cross on the wire. */
  Pair *p = pair_new(NULL);
  p->a.hold = p->b.hold = TRUE;
  actr_sctp_connect(p->a.sctp);
  actr_sctp_connect(p->b.sctp);
  g_assert_cmpuint(g_queue_get_length(&p->a.wire), >=, 1);
  g_assert_cmpuint(g_queue_get_length(&p->b.wire), >=, 1);
  p->a.hold = p->b.hold = FALSE;
  schedule_delivery(p);
  PUMP_UNTIL(p->ctx, p->a.connected && p->b.connected);
  pump_for(p->ctx, 50);
  g_assert_cmpuint(p->a.connected_count, ==, 1);
  g_assert_cmpuint(p->b.connected_count, ==, 1);
  g_assert_false(p->a.closed || p->b.closed);
  check_pair_works(p);
  pair_free(p);
}

static void
test_connect_init_first(void)
{
  /* The client's INIT reaches the server before the server connects; the
   * server's INIT-ACK is held so that its own connect runs mid-handshake. */
  Pair *p = pair_new(NULL);
  p->b.hold = TRUE;
  actr_sctp_connect(p->a.sctp);
  PUMP_UNTIL(p->ctx, g_queue_get_length(&p->b.wire) >= 1);
  actr_sctp_connect(p->b.sctp);
  p->b.hold = FALSE;
  schedule_delivery(p);
  PUMP_UNTIL(p->ctx, p->a.connected && p->b.connected);
  pump_for(p->ctx, 50);
  g_assert_false(p->a.closed || p->b.closed);
  g_assert_cmpuint(p->a.connected_count, ==, 1);
  g_assert_cmpuint(p->b.connected_count, ==, 1);
  check_pair_works(p);

  /* And the plain late connect: association already up, connect is a no-op. */
  Pair *q = pair_new(NULL);
  actr_sctp_connect(q->a.sctp);
  PUMP_UNTIL(q->ctx, q->a.connected && q->b.connected);
  actr_sctp_connect(q->b.sctp);
  pump_for(q->ctx, 50);
  g_assert_false(q->a.closed || q->b.closed);
  check_pair_works(q);
  pair_free(q);
  pair_free(p);
}

static void
test_connect_init_lost(void)
{
  /* The first INIT is lost: the retransmission comes from the usrsctp timer
   * thread and must be marshalled to the owner context. */
  Pair *p = pair_new(NULL);
  p->a.drop_next = 1;
  gint64 start = g_get_monotonic_time();
  actr_sctp_connect(p->a.sctp);
  PUMP_UNTIL(p->ctx, p->a.connected && p->b.connected);
  g_test_message("connected after a lost INIT in %" G_GINT64_FORMAT " ms",
                 (g_get_monotonic_time() - start) / 1000);
  check_pair_works(p);
  pair_free(p);
}

/* ---- channels and messages ---- */

static void
test_channels(void)
{
  Pair *p = connected_pair(NULL);
  GError *error = NULL;
  const ActrSctpReliability reliable = {
      .ordered = TRUE, .max_retransmits = -1, .max_lifetime_ms = -1};
  const ActrSctpReliability latency = {
      .ordered = FALSE, .max_retransmits = 3, .max_lifetime_ms = -1};
  int rpc = open_channel(p, &p->a, "RPC_RELIABLE", &reliable);
  int sig = open_channel(p, &p->a, "RPC_SIGNAL", &reliable);
  int stream = open_channel(p, &p->a, "STREAM_RELIABLE", &reliable);
  int lat = open_channel(p, &p->a, "STREAM_LATENCY_FIRST", &latency);
  int ids[] = {rpc, sig, stream, lat};
  for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
    g_assert_cmpint(ids[i] % 2, ==, 0); /* DTLS client: even */
    for (guint j = 0; j < i; j++)
      g_assert_cmpint(ids[i], !=, ids[j]);
  }
  /* The server side opens one too: odd. */
  int back = open_channel(p, &p->b, "from-server", &reliable);
  g_assert_cmpint(back % 2, ==, 1);
  /* A channel the server opened takes messages both ways. */
  roundtrip(p, &p->a, (guint16)back, 10, TRUE, 3);
  roundtrip(p, &p->b, (guint16)back, 10, FALSE, 4);

  const gsize sizes[] = {1, 1200, 65535, ACTR_SCTP_MAX_MESSAGE};
  for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
    for (guint k = 0; k < G_N_ELEMENTS(sizes); k++) {
      roundtrip(p, &p->a, (guint16)ids[i], sizes[k], TRUE, i * 100 + k);
      roundtrip(p, &p->b, (guint16)ids[i], sizes[k], k % 2 == 0, i * 100 + k + 50);
    }
  }
  /* Empty messages, binary and string. */
  roundtrip(p, &p->a, (guint16)rpc, 0, TRUE, 0);
  roundtrip(p, &p->a, (guint16)rpc, 0, FALSE, 0);
  roundtrip(p, &p->b, (guint16)lat, 0, TRUE, 0);

  /* Refusals. */
  guint8 *big = g_malloc0(ACTR_SCTP_MAX_MESSAGE + 1);
  g_assert_false(
      actr_sctp_send(p->a.sctp, (guint16)rpc, big, ACTR_SCTP_MAX_MESSAGE + 1, TRUE, &error));
  g_assert_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_TOO_LARGE);
  g_clear_error(&error);
  g_free(big);
  g_assert_false(actr_sctp_send(p->a.sctp, 500, (const guint8 *)"x", 1, TRUE, &error));
  g_assert_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_INVALID);
  g_clear_error(&error);
  const ActrSctpReliability both = {.ordered = TRUE, .max_retransmits = 1, .max_lifetime_ms = 1};
  g_assert_cmpint(actr_sctp_open_channel(p->a.sctp, "x", &both, &error), ==, -1);
  g_assert_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_INVALID);
  g_clear_error(&error);

  /* Messages sent right after the OPEN (before the ACK) arrive, in order,
   * on an unordered channel too. */
  int fresh = actr_sctp_open_channel(p->a.sctp, "fresh", &latency, &error);
  g_assert_no_error(error);
  for (guint32 i = 0; i < 20; i++)
    g_assert_true(
        actr_sctp_send(p->a.sctp, (guint16)fresh, (const guint8 *)&i, sizeof i, TRUE, &error));
  PUMP_UNTIL(p->ctx, g_queue_get_length(&p->b.messages) == 20);
  g_assert_nonnull(find_opened(&p->b, (guint16)fresh));
  for (guint32 i = 0; i < 20; i++) {
    Message *m = g_queue_pop_head(&p->b.messages);
    g_assert_cmpuint(m->sid, ==, (guint)fresh);
    gsize len;
    const guint32 *v = g_bytes_get_data(m->data, &len);
    g_assert_cmpuint(len, ==, sizeof i);
    g_assert_cmpuint(*v, ==, i);
    message_free(m);
  }
  g_assert_false(p->a.closed || p->b.closed);
  pair_free(p);
}

static void
test_remote_max_message(void)
{
  Pair *p = pair_new(NULL);
  GError *error = NULL;
  /* Replace a with one that knows the peer's limit (1000 bytes). */
  endpoint_free_sctp(&p->a);
  p->a.freed = FALSE;
  p->a.sctp = actr_sctp_new(p->ctx, TRUE, ACTR_SCTP_DEFAULT_PORT, ACTR_SCTP_DEFAULT_PORT, 1000,
                            &callbacks, &p->a, &error);
  g_assert_no_error(error);
  actr_sctp_connect(p->a.sctp);
  PUMP_UNTIL(p->ctx, p->a.connected && p->b.connected);
  const ActrSctpReliability rel = {.ordered = TRUE, .max_retransmits = -1, .max_lifetime_ms = -1};
  int sid = open_channel(p, &p->a, "limited", &rel);
  guint8 buf[1001] = {0};
  g_assert_true(actr_sctp_send(p->a.sctp, (guint16)sid, buf, 1000, TRUE, &error));
  g_assert_false(actr_sctp_send(p->a.sctp, (guint16)sid, buf, 1001, TRUE, &error));
  g_assert_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_TOO_LARGE);
  g_clear_error(&error);
  pair_free(p);
}

typedef struct {
  guint32 next;
  guint32 count;
  gsize bytes;
  gboolean bad;
} SeqCheck;

static void
seq_on_message(Endpoint *ep, guint16 sid, const guint8 *data, gsize len, gboolean binary)
{
  SeqCheck *c = ep->hook_data;
  guint32 seq;
  if (len < sizeof seq) {
    c->bad = TRUE;
    return;
  }
  memcpy(&seq, data, sizeof seq);
  if (seq != c->next)
    c->bad = TRUE;
  if (len > sizeof seq) {
    guint8 *expect = g_malloc(len);
    fill(expect, len, seq);
    if (memcmp(expect + sizeof seq, data + sizeof seq, len - sizeof seq) != 0)
      c->bad = TRUE;
    g_free(expect);
  }
  c->next++;
  c->count++;
  c->bytes += len;
}

static void
test_many_small(void)
{
  Pair *p = connected_pair(NULL);
  const ActrSctpReliability rel = {.ordered = TRUE, .max_retransmits = -1, .max_lifetime_ms = -1};
  int sid = open_channel(p, &p->a, "small", &rel);
  SeqCheck check = {0};
  p->b.on_message = seq_on_message;
  p->b.hook_data = &check;
  GError *error = NULL;
  const guint32 n = 10000;
  for (guint32 i = 0; i < n; i++) {
    guint8 msg[16];
    fill(msg, sizeof msg, i);
    memcpy(msg, &i, sizeof i);
    g_assert_true(actr_sctp_send(p->a.sctp, (guint16)sid, msg, sizeof msg, TRUE, &error));
    g_assert_no_error(error);
  }
  PUMP_UNTIL(p->ctx, check.count == n || check.bad);
  g_assert_false(check.bad);
  g_assert_cmpuint(check.count, ==, n);
  PUMP_UNTIL(p->ctx, actr_sctp_buffered_amount(p->a.sctp) == 0);
  pair_free(p);
}

static void
test_bulk(void)
{
  Pair *p = connected_pair(NULL);
  const ActrSctpReliability rel = {.ordered = TRUE, .max_retransmits = -1, .max_lifetime_ms = -1};
  int sid = open_channel(p, &p->a, "STREAM_RELIABLE", &rel);
  SeqCheck check = {0};
  p->b.on_message = seq_on_message;
  p->b.hook_data = &check;
  GError *error = NULL;
  const gsize msg_len = 64 * 1024;
  const guint32 total = (64u * 1024 * 1024) / msg_len;
  const gsize high = 1024 * 1024;
  actr_sctp_set_buffered_low_threshold(p->a.sctp, ACTR_SCTP_BUFFERED_LOW);
  guint8 *msg = g_malloc(msg_len);
  gsize max_buffered = 0;
  guint32 sent = 0;
  guint lows_seen = 0;
  gint64 start = g_get_monotonic_time();
  while (check.count < total && !check.bad) {
    /* Send while under the high-water mark, then wait for buffered-low. */
    while (sent < total && actr_sctp_buffered_amount(p->a.sctp) < high) {
      fill(msg, msg_len, sent);
      memcpy(msg, &sent, sizeof sent);
      g_assert_true(actr_sctp_send(p->a.sctp, (guint16)sid, msg, msg_len, TRUE, &error));
      g_assert_no_error(error);
      sent++;
      max_buffered = MAX(max_buffered, actr_sctp_buffered_amount(p->a.sctp));
    }
    if (sent < total) {
      guint before = p->a.buffered_low;
      PUMP_UNTIL(p->ctx, p->a.buffered_low > before || check.bad);
      lows_seen++;
      g_assert_cmpuint(actr_sctp_buffered_amount(p->a.sctp), <=, ACTR_SCTP_BUFFERED_LOW);
    } else if (!g_main_context_iteration(p->ctx, FALSE)) {
      g_usleep(50);
    }
  }
  gint64 elapsed = g_get_monotonic_time() - start;
  g_assert_false(check.bad);
  g_assert_cmpuint(check.count, ==, total);
  g_assert_cmpuint(check.bytes, ==, (gsize)total * msg_len);
  g_assert_cmpuint(max_buffered, >=, high);
  g_assert_cmpuint(lows_seen, >, 0);
  g_test_message("bulk: %u x %zu B in %.3f s = %.1f Mbit/s (one thread, both endpoints); "
                 "max buffered %zu B, %u buffered-low waits",
                 total, msg_len, elapsed / 1e6, (double)total * msg_len * 8 / elapsed, max_buffered,
                 lows_seen);
  PUMP_UNTIL(p->ctx, actr_sctp_buffered_amount(p->a.sctp) == 0);

  /* No waiting at all: 16 MiB handed over at once mostly waits in our FIFO,
   * is counted in buffered_amount, and arrives whole and in order. */
  check.next = 0;
  check.count = 0;
  check.bytes = 0;
  const guint32 burst = 256;
  for (guint32 i = 0; i < burst; i++) {
    fill(msg, msg_len, i);
    memcpy(msg, &i, sizeof i);
    g_assert_true(actr_sctp_send(p->a.sctp, (guint16)sid, msg, msg_len, TRUE, &error));
  }
  g_assert_cmpuint(actr_sctp_buffered_amount(p->a.sctp), >=, (gsize)burst * msg_len / 2);
  guint lows_before = p->a.buffered_low;
  PUMP_UNTIL(p->ctx, check.count == burst || check.bad);
  g_assert_false(check.bad);
  PUMP_UNTIL(p->ctx, p->a.buffered_low > lows_before);
  g_free(msg);
  pair_free(p);
}

/* ---- closing ---- */

static void
test_close_channel(void)
{
  Pair *p = connected_pair(NULL);
  GError *error = NULL;
  const ActrSctpReliability rel = {.ordered = TRUE, .max_retransmits = -1, .max_lifetime_ms = -1};
  int x = open_channel(p, &p->a, "x", &rel);
  int y = open_channel(p, &p->a, "y", &rel);
  int z = open_channel(p, &p->b, "z", &rel);
  /* A message sent just before the close still arrives. */
  g_assert_true(actr_sctp_send(p->a.sctp, (guint16)x, (const guint8 *)"last", 4, FALSE, &error));
  actr_sctp_close_channel(p->a.sctp, (guint16)x);
  g_assert_false(actr_sctp_send(p->a.sctp, (guint16)x, (const guint8 *)"late", 4, FALSE, &error));
  g_assert_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_CLOSED);
  g_clear_error(&error);
  PUMP_UNTIL(p->ctx, p->b.closed_streams->len == 1);
  g_assert_cmpuint(g_array_index(p->b.closed_streams, guint16, 0), ==, (guint)x);
  Message *m = g_queue_pop_head(&p->b.messages);
  g_assert_nonnull(m);
  g_assert_cmpmem(g_bytes_get_data(m->data, NULL), g_bytes_get_size(m->data), "last", 4);
  message_free(m);
  /* The peer can no longer send on it either. */
  g_assert_false(actr_sctp_send(p->b.sctp, (guint16)x, (const guint8 *)"no", 2, FALSE, &error));
  g_assert_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_CLOSED);
  g_clear_error(&error);
  /* Two more, from both sides, at the same time. */
  actr_sctp_close_channel(p->a.sctp, (guint16)y);
  actr_sctp_close_channel(p->b.sctp, (guint16)z);
  PUMP_UNTIL(p->ctx, p->b.closed_streams->len == 2 && p->a.closed_streams->len == 1);
  g_assert_cmpuint(g_array_index(p->b.closed_streams, guint16, 1), ==, (guint)y);
  g_assert_cmpuint(g_array_index(p->a.closed_streams, guint16, 0), ==, (guint)z);
  pump_for(p->ctx, 50);
  /* The initiator is not told about its own close. */
  g_assert_cmpuint(p->a.closed_streams->len, ==, 1);
  g_assert_cmpuint(p->b.closed_streams->len, ==, 2);
  /* Once both directions are reset, the stream id is reused. */
  int again = open_channel(p, &p->a, "again", &rel);
  g_assert_cmpint(again, ==, MIN(x, y));
  roundtrip(p, &p->a, (guint16)again, 5, TRUE, 9);
  roundtrip(p, &p->b, (guint16)again, 5, TRUE, 10);
  g_assert_false(p->a.closed || p->b.closed);
  pair_free(p);
}

static void
test_abort_on_free(void)
{
  Pair *p = connected_pair(NULL);
  check_pair_works(p);
  endpoint_free_sctp(&p->a);
  PUMP_UNTIL(p->ctx, p->b.closed);
  g_test_message("peer saw: %s", p->b.close_reason);
  g_assert_false(actr_sctp_is_connected(p->b.sctp));
  GError *error = NULL;
  g_assert_cmpint(actr_sctp_open_channel(p->b.sctp, "x", NULL, &error), ==, -1);
  g_assert_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_CLOSED);
  g_clear_error(&error);
  pair_free(p);
}

static void
test_close_shutdown(void)
{
  Pair *p = connected_pair(NULL);
  check_pair_works(p);
  actr_sctp_close(p->a.sctp);
  g_assert_false(actr_sctp_is_connected(p->a.sctp));
  PUMP_UNTIL(p->ctx, p->b.closed);
  g_test_message("peer saw: %s", p->b.close_reason);
  pump_for(p->ctx, 50);
  g_assert_false(p->a.closed); /* no callback for our own close */
  pair_free(p);

  /* Close before the association is up: ABORT, and the peer never sees it up. */
  p = pair_new(NULL);
  p->a.hold = TRUE;
  actr_sctp_connect(p->a.sctp);
  actr_sctp_close(p->a.sctp);
  p->a.hold = FALSE;
  schedule_delivery(p);
  pump_for(p->ctx, 100);
  g_assert_false(p->a.closed);
  g_assert_false(p->a.connected);
  pair_free(p);
}

/* ---- hostile input ---- */

static void
test_garbage(void)
{
  Pair *p = connected_pair(NULL);
  const ActrSctpReliability rel = {.ordered = TRUE, .max_retransmits = -1, .max_lifetime_ms = -1};
  int sid = open_channel(p, &p->a, "victim", &rel);
  GRand *rand = g_rand_new_with_seed(42);
  /* Random packets, and real ones with bits flipped.  SCTP's CRC32c is not
   * verified (DTLS authenticates every packet, see sctp.c), so these reach
   * usrsctp's parser: they must never crash it. */
  guint8 pkt[1500];
  for (int i = 0; i < 2000; i++) {
    gsize len = (gsize)g_rand_int_range(rand, 0, sizeof pkt);
    for (gsize k = 0; k < len; k++)
      pkt[k] = (guint8)g_rand_int(rand);
    if (i % 3 == 0 && len >= 12) {
      /* Plausible common header: our ports. */
      pkt[0] = 0x13, pkt[1] = 0x88, pkt[2] = 0x13, pkt[3] = 0x88;
    }
    actr_sctp_receive_packet(p->b.sctp, pkt, len);
  }
  actr_sctp_receive_packet(p->b.sctp, NULL, 0);
  /* Capture a real packet and replay mutated copies. */
  p->a.hold = TRUE;
  g_assert_true(actr_sctp_send(p->a.sctp, (guint16)sid, (const guint8 *)"hello", 5, TRUE, NULL));
  g_assert_cmpuint(g_queue_get_length(&p->a.wire), >=, 1);
  GBytes *real = g_bytes_ref(g_queue_peek_head(&p->a.wire));
  p->a.hold = FALSE;
  schedule_delivery(p);
  PUMP_UNTIL(p->ctx, g_queue_get_length(&p->b.messages) == 1);
  g_queue_clear_full(&p->b.messages, (GDestroyNotify)message_free);
  gsize real_len;
  const guint8 *real_data = g_bytes_get_data(real, &real_len);
  for (int i = 0; i < 500; i++) {
    memcpy(pkt, real_data, real_len);
    pkt[g_rand_int_range(rand, 0, (gint32)real_len)] ^=
        (guint8)(1 + g_rand_int_range(rand, 0, 255));
    actr_sctp_receive_packet(p->b.sctp, pkt, real_len);
    actr_sctp_receive_packet(p->b.sctp, pkt, (gsize)g_rand_int_range(rand, 0, (gint32)real_len));
  }
  actr_sctp_receive_packet(p->b.sctp, real_data, real_len);
  g_bytes_unref(real);
  pump_for(p->ctx, 20);
  /* A mutated packet may have aborted the association or delivered a
   * mutated copy: over DTLS only the authenticated peer could send such a
   * packet.  The malformed DCEP below comes from a fresh, valid peer. */
  pair_free(p);
  p = connected_pair(NULL);
  sid = open_channel(p, &p->a, "victim", &rel);

  /* Malformed DCEP and stray PPIDs from a real peer. */
  const guint8 unknown_type[] = {0x07, 0, 0};
  const guint8 truncated_open[] = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0};
  const guint8 bad_lengths[] = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0x00, 0x10, 0x00, 0x00, 'a'};
  const guint8 bad_channel_type[] = {0x03, 0x7f, 0x01, 0x00, 0,    0,  0,
                                     0,    0x00, 0x01, 0x00, 0x00, 'a'};
  const guint8 long_ack[] = {0x02, 0x00};
  const guint8 stray_ack[] = {0x02};
  const guint8 nul_label[] = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0x00, 0x02, 0x00, 0x00, 'a', 0};
  const guint8 empty[] = {0};
  g_assert_true(
      actr_sctp_send_ppid(p->a.sctp, 10, ACTR_DCEP_PPID, unknown_type, sizeof unknown_type));
  g_assert_true(
      actr_sctp_send_ppid(p->a.sctp, 10, ACTR_DCEP_PPID, truncated_open, sizeof truncated_open));
  g_assert_true(
      actr_sctp_send_ppid(p->a.sctp, 10, ACTR_DCEP_PPID, bad_lengths, sizeof bad_lengths));
  g_assert_true(actr_sctp_send_ppid(p->a.sctp, 10, ACTR_DCEP_PPID, bad_channel_type,
                                    sizeof bad_channel_type));
  g_assert_true(actr_sctp_send_ppid(p->a.sctp, 10, ACTR_DCEP_PPID, long_ack, sizeof long_ack));
  g_assert_true(actr_sctp_send_ppid(p->a.sctp, 12, ACTR_DCEP_PPID, stray_ack, sizeof stray_ack));
  g_assert_true(actr_sctp_send_ppid(p->a.sctp, 10, ACTR_DCEP_PPID, nul_label, sizeof nul_label));
  g_assert_true(actr_sctp_send_ppid(p->a.sctp, 10, ACTR_DCEP_PPID, empty, 0));
  /* User data on a stream without a channel, and an unknown PPID. */
  g_assert_true(actr_sctp_send_ppid(p->a.sctp, 14, ACTR_DCEP_PPID_BINARY, (const guint8 *)"x", 1));
  g_assert_true(actr_sctp_send_ppid(p->a.sctp, (guint16)sid, 99, (const guint8 *)"x", 1));
  /* An OPEN that collides with a channel the receiver (b, odd) opened. */
  int theirs = open_channel(p, &p->b, "mine", &rel);
  gsize open_len;
  guint8 *open = actr_dcep_encode_open(0x00, 256, 0, "collide", 7, NULL, 0, &open_len);
  g_assert_true(actr_sctp_send_ppid(p->a.sctp, (guint16)theirs, ACTR_DCEP_PPID, open, open_len));
  /* A duplicate OPEN on an already open channel. */
  g_assert_true(actr_sctp_send_ppid(p->a.sctp, (guint16)sid, ACTR_DCEP_PPID, open, open_len));
  g_free(open);
  guint opened_before = p->b.opened->len;
  /* The association keeps working, and nothing was opened. */
  roundtrip(p, &p->a, (guint16)sid, 1000, TRUE, 77);
  roundtrip(p, &p->b, (guint16)sid, 1000, TRUE, 78);
  g_assert_cmpuint(p->b.opened->len, ==, opened_before);
  Opened *o = find_opened(&p->b, (guint16)theirs);
  g_assert_cmpstr(o->label, ==, "mine");
  /* A well-formed OPEN on a fresh stream of the peer's parity still works. */
  open = actr_dcep_encode_open(0x81, 256, 2, "raw", 3, "proto", 5, &open_len);
  g_assert_true(actr_sctp_send_ppid(p->a.sctp, 40, ACTR_DCEP_PPID, open, open_len));
  g_free(open);
  PUMP_UNTIL(p->ctx, find_opened(&p->b, 40) != NULL);
  g_assert_cmpstr(find_opened(&p->b, 40)->label, ==, "raw");
  g_assert_false(p->a.closed || p->b.closed);
  g_rand_free(rand);
  pair_free(p);
}

/* ---- several nodes in one process ---- */

typedef struct {
  gboolean ok;
  guint32 received;
} ThreadResult;

static gpointer
pair_thread(gpointer data)
{
  ThreadResult *res = data;
  GMainContext *ctx = g_main_context_new();
  g_main_context_push_thread_default(ctx);
  Pair *p = connected_pair(ctx);
  const ActrSctpReliability rel = {.ordered = TRUE, .max_retransmits = -1, .max_lifetime_ms = -1};
  int sid = open_channel(p, &p->a, "thread", &rel);
  SeqCheck check = {0};
  p->b.on_message = seq_on_message;
  p->b.hook_data = &check;
  guint8 msg[4096];
  for (guint32 i = 0; i < 2000; i++) {
    fill(msg, sizeof msg, i);
    memcpy(msg, &i, sizeof i);
    g_assert_true(actr_sctp_send(p->a.sctp, (guint16)sid, msg, sizeof msg, TRUE, NULL));
  }
  PUMP_UNTIL(ctx, check.count == 2000 || check.bad);
  /* Some idle time so that timer-thread work for this pair runs too. */
  pump_for(ctx, 100);
  roundtrip(p, &p->b, (guint16)sid, 300, FALSE, 5);
  res->ok = !check.bad && !p->a.closed && !p->b.closed;
  res->received = check.count;
  pair_free(p);
  g_main_context_pop_thread_default(ctx);
  g_main_context_unref(ctx);
  return NULL;
}

static void
test_threads(void)
{
  ThreadResult r1 = {0}, r2 = {0};
  GThread *t1 = g_thread_new("pair-1", pair_thread, &r1);
  GThread *t2 = g_thread_new("pair-2", pair_thread, &r2);
  g_thread_join(t1);
  g_thread_join(t2);
  g_assert_true(r1.ok);
  g_assert_true(r2.ok);
  g_assert_cmpuint(r1.received, ==, 2000);
  g_assert_cmpuint(r2.received, ==, 2000);
}

/* ---- teardown with work pending ---- */

static void
test_free_pending(void)
{
  /* Free while usrsctp holds unacknowledged data whose retransmission timer
   * fires on the timer thread and queues packets for the owner context. */
  for (int round = 0; round < 3; round++) {
    Pair *p = connected_pair(NULL);
    const ActrSctpReliability rel = {.ordered = TRUE, .max_retransmits = -1, .max_lifetime_ms = -1};
    int sid = open_channel(p, &p->a, "pending", &rel);
    p->a.blackhole = TRUE;
    p->b.blackhole = TRUE;
    guint8 *buf = g_malloc0(ACTR_SCTP_MAX_MESSAGE);
    for (int i = 0; i < 8; i++)
      g_assert_true(
          actr_sctp_send(p->a.sctp, (guint16)sid, buf, ACTR_SCTP_MAX_MESSAGE, TRUE, NULL));
    g_free(buf);
    actr_sctp_close_channel(p->b.sctp, (guint16)sid);
    guint before = p->a.packets_out;
    /* Do not iterate: let the timer thread queue retransmissions. */
    g_usleep((round == 0 ? 1200 : 50 * round) * 1000);
    if (round == 0) {
      /* The retransmissions did arrive on the context (timer thread path). */
      PUMP_UNTIL(p->ctx, p->a.packets_out > before);
    }
    g_assert_false(p->a.closed);
    if (round % 2 == 0) {
      endpoint_free_sctp(&p->a);
      endpoint_free_sctp(&p->b);
    } else {
      endpoint_free_sctp(&p->b);
      pump_for(p->ctx, 20);
      endpoint_free_sctp(&p->a);
    }
    pump_for(p->ctx, 30); /* freed endpoints assert if any callback runs */
    pair_free(p);
  }
  /* Free right after connect (INIT timer pending) and mid-handshake. */
  for (int i = 0; i < 20; i++) {
    Pair *p = pair_new(NULL);
    actr_sctp_connect(p->a.sctp);
    if (i % 2)
      actr_sctp_connect(p->b.sctp);
    for (int k = 0; k < i % 4; k++)
      g_main_context_iteration(p->ctx, FALSE);
    if (i % 3 == 0)
      g_usleep(2000);
    pair_free(p);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sctp/connect/client-only", test_connect_client_only);
  g_test_add_func("/sctp/connect/server-only", test_connect_server_only);
  g_test_add_func("/sctp/connect/both", test_connect_both);
  g_test_add_func("/sctp/connect/init-before-connect", test_connect_init_first);
  g_test_add_func("/sctp/connect/init-lost", test_connect_init_lost);
  g_test_add_func("/sctp/channels", test_channels);
  g_test_add_func("/sctp/remote-max-message", test_remote_max_message);
  g_test_add_func("/sctp/many-small", test_many_small);
  g_test_add_func("/sctp/bulk", test_bulk);
  g_test_add_func("/sctp/close-channel", test_close_channel);
  g_test_add_func("/sctp/abort-on-free", test_abort_on_free);
  g_test_add_func("/sctp/close-shutdown", test_close_shutdown);
  g_test_add_func("/sctp/garbage", test_garbage);
  g_test_add_func("/sctp/threads", test_threads);
  g_test_add_func("/sctp/free-pending", test_free_pending);
  return g_test_run();
}
