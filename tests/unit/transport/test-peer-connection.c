/* Two real WebRTC peer connections in one process over 127.0.0.1: libnice
 * ICE, OpenSSL DTLS, usrsctp SCTP and DCEP, with the SDP and candidates
 * handed across by the test (as actrd's relay would). */
#include <string.h>

#include "peer-connection.h"

#define WAIT_MS 15000

typedef struct _Side Side;

typedef struct {
  GMainContext *ctx;
  ActrDtlsCert *cert;
  Side *offerer;
  Side *answerer;
} Fixture;

struct _Side {
  Fixture *f;
  const char *name;
  ActrPeerConnection *pc;
  Side *other;
  ActrPcState state;
  guint n_connected;
  GPtrArray *messages[4]; /* GBytes * per lane */
  gboolean relay;         /* forward candidates to the other side */
};

typedef struct {
  Side *to;
  char *candidate;
} Trickle;

static gboolean
deliver_candidate(gpointer data)
{
  Trickle *t = data;
  if (t->to->pc != NULL) {
    g_autoptr(GError) error = NULL;
    gboolean ok = actr_pc_add_remote_candidate(t->to->pc, t->candidate, &error);
    g_assert_no_error(error);
    g_assert_true(ok);
  }
  g_free(t->candidate);
  g_free(t);
  return G_SOURCE_REMOVE;
}

static void
on_candidate(ActrPeerConnection *pc, const char *candidate, gpointer user_data)
{
  Side *s = user_data;
  (void)pc;
  g_assert_true(g_str_has_prefix(candidate, "candidate:"));
  if (!s->relay)
    return;
  Trickle *t = g_new0(Trickle, 1);
  t->to = s->other;
  t->candidate = g_strdup(candidate);
  GSource *idle = g_idle_source_new();
  g_source_set_callback(idle, deliver_candidate, t, NULL);
  g_source_attach(idle, s->f->ctx);
  g_source_unref(idle);
}

static void
on_state(ActrPeerConnection *pc, ActrPcState state, gpointer user_data)
{
  Side *s = user_data;
  (void)pc;
  g_test_message("%s: %s", s->name, actr_pc_state_to_string(state));
  s->state = state;
  if (state == ACTR_PC_STATE_CONNECTED)
    s->n_connected++;
}

static void
on_message(ActrPeerConnection *pc, ActrLane lane, GBytes *message, gpointer user_data)
{
  Side *s = user_data;
  (void)pc;
  g_assert_cmpint(lane, <, 4);
  g_ptr_array_add(s->messages[lane], g_bytes_ref(message));
}

static const ActrPcCallbacks callbacks = {
    .on_local_candidate = on_candidate,
    .on_state = on_state,
    .on_message = on_message,
};

static const char *const loopback[] = {"127.0.0.1", NULL};

static Side *
side_new(Fixture *f, const char *name, gboolean offerer)
{
  Side *s = g_new0(Side, 1);
  ActrPcConfig config = {
      .cert = f->cert,
      .host_addresses = loopback,
  };
  g_autoptr(GError) error = NULL;

  s->f = f;
  s->name = name;
  s->relay = TRUE;
  for (int i = 0; i < 4; i++)
    s->messages[i] = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  s->pc = actr_pc_new(f->ctx, offerer, &config, &callbacks, s, &error);
  g_assert_no_error(error);
  g_assert_nonnull(s->pc);
  return s;
}

static void
side_free(Side *s)
{
  actr_pc_free(s->pc);
  for (int i = 0; i < 4; i++)
    g_ptr_array_unref(s->messages[i]);
  g_free(s);
}

static gboolean
on_deadline(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until @cond(@data) or WAIT_MS; returns the condition. */
static gboolean
wait_for(Fixture *f, gboolean (*cond)(gpointer), gpointer data, guint ms)
{
  gboolean expired = FALSE;
  GSource *timer = g_timeout_source_new(ms);
  g_source_set_callback(timer, on_deadline, &expired, NULL);
  g_source_attach(timer, f->ctx);
  while (!cond(data) && !expired)
    g_main_context_iteration(f->ctx, TRUE);
  g_source_destroy(timer);
  g_source_unref(timer);
  return cond(data);
}

static gboolean
both_connected(gpointer data)
{
  Fixture *f = data;
  return f->offerer->state == ACTR_PC_STATE_CONNECTED &&
         f->answerer->state == ACTR_PC_STATE_CONNECTED;
}

static void
connect_pair(Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_autofree char *offer = actr_pc_create_offer(f->offerer->pc, FALSE, &error);
  g_assert_no_error(error);
  g_assert_nonnull(strstr(offer, "a=setup:actpass"));
  g_autofree char *answer = actr_pc_accept_offer(f->answerer->pc, offer, &error);
  g_assert_no_error(error);
  g_assert_nonnull(strstr(answer, "a=setup:active"));
  g_assert_true(actr_pc_set_answer(f->offerer->pc, answer, &error));
  g_assert_no_error(error);
  g_assert_true(wait_for(f, both_connected, f, WAIT_MS));
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  (void)data;

  f->ctx = g_main_context_new();
  g_main_context_push_thread_default(f->ctx);
  f->cert = actr_dtls_cert_new(&error);
  g_assert_no_error(error);
  f->offerer = side_new(f, "offerer", TRUE);
  f->answerer = side_new(f, "answerer", FALSE);
  f->offerer->other = f->answerer;
  f->answerer->other = f->offerer;
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
  (void)data;
  side_free(f->offerer);
  side_free(f->answerer);
  actr_dtls_cert_unref(f->cert);
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  g_main_context_pop_thread_default(f->ctx);
  g_main_context_unref(f->ctx);
}

typedef struct {
  Side *side;
  ActrLane lane;
  guint count;
} MsgWait;

static gboolean
has_messages(gpointer data)
{
  MsgWait *w = data;
  return w->side->messages[w->lane]->len >= w->count;
}

static GBytes *
pattern(gsize len, guint seed)
{
  guint8 *buf = g_malloc(len ? len : 1);
  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8)((i * 131 + seed) >> 3);
  return g_bytes_new_take(buf, len);
}

/* Sends @len bytes from @from on @lane and checks they arrive intact. */
static void
check_transfer(Fixture *f, Side *from, ActrLane lane, gsize len)
{
  Side *to = from->other;
  g_autoptr(GBytes) sent = pattern(len, (guint)len + lane);
  gsize n;
  const guint8 *d = g_bytes_get_data(sent, &n);
  MsgWait w = {to, lane, to->messages[lane]->len + 1};

  g_assert_cmpint(actr_pc_send(from->pc, lane, d, n), ==, ACTR_OK);
  g_assert_true(wait_for(f, has_messages, &w, WAIT_MS));
  GBytes *got = g_ptr_array_index(to->messages[lane], w.count - 1);
  g_assert_true(g_bytes_equal(got, sent));
}

static void
test_connect_and_lanes(Fixture *f, gconstpointer data)
{
  static const gsize sizes[] = {0, 1, 1200, 65527, 65528, 200000, 1 << 20};
  (void)data;

  connect_pair(f);
  g_assert_false(actr_pc_is_relayed(f->offerer->pc));
  g_autofree char *how = actr_pc_describe(f->offerer->pc);
  g_test_message("offerer: %s", how);
  g_assert_nonnull(strstr(how, "127.0.0.1"));

  for (ActrLane lane = 0; lane < 3; lane++) {
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
      check_transfer(f, f->offerer, lane, sizes[i]);
      check_transfer(f, f->answerer, lane, sizes[i]);
    }
  }
  /* The unordered lane: a few small messages (nothing is lost on loopback). */
  check_transfer(f, f->offerer, ACTR_LANE_STREAM_LATENCY_FIRST, 100);
  check_transfer(f, f->answerer, ACTR_LANE_STREAM_LATENCY_FIRST, 60000);
  g_assert_cmpint(actr_pc_send(f->offerer->pc, ACTR_LANE_MEDIA_RTP, (const guint8 *)"x", 1), ==,
                  ACTR_ERROR);
}

static void
test_many_messages_in_order(Fixture *f, gconstpointer data)
{
  const guint n = 5000;
  (void)data;

  connect_pair(f);
  for (guint i = 0; i < n; i++) {
    guint32 v = GUINT32_TO_BE(i);
    g_assert_cmpint(
        actr_pc_send(f->offerer->pc, ACTR_LANE_RPC_RELIABLE, (const guint8 *)&v, sizeof v), ==,
        ACTR_OK);
  }
  MsgWait w = {f->answerer, ACTR_LANE_RPC_RELIABLE, n};
  g_assert_true(wait_for(f, has_messages, &w, WAIT_MS));
  for (guint i = 0; i < n; i++) {
    gsize len;
    const guint32 *v = g_bytes_get_data(g_ptr_array_index(w.side->messages[0], i), &len);
    g_assert_cmpuint(len, ==, 4);
    g_assert_cmpuint(GUINT32_FROM_BE(*v), ==, i);
  }
}

static gboolean
offerer_disconnected(gpointer data)
{
  Fixture *f = data;
  return f->offerer->state == ACTR_PC_STATE_DISCONNECTED;
}

static void
test_ice_restart(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  (void)data;

  connect_pair(f);
  /* Break the path: nothing arrives, the offerer notices the silence. */
  actr_pc_set_drop_all(f->offerer->pc, TRUE);
  actr_pc_set_drop_all(f->answerer->pc, TRUE);
  g_assert_true(wait_for(f, offerer_disconnected, f, ACTR_PC_SILENCE_MS + 4000));
  /* Sent during the break: SCTP keeps it and retransmits afterwards. */
  g_assert_cmpint(actr_pc_send(f->offerer->pc, ACTR_LANE_RPC_RELIABLE, (const guint8 *)"late", 4),
                  ==, ACTR_OK);
  actr_pc_set_drop_all(f->offerer->pc, FALSE);
  actr_pc_set_drop_all(f->answerer->pc, FALSE);

  g_autofree char *offer = actr_pc_create_offer(f->offerer->pc, TRUE, &error);
  g_assert_no_error(error);
  g_autofree char *answer = actr_pc_accept_offer(f->answerer->pc, offer, &error);
  g_assert_no_error(error);
  g_assert_true(actr_pc_set_answer(f->offerer->pc, answer, &error));
  g_assert_no_error(error);
  g_assert_true(wait_for(f, both_connected, f, WAIT_MS));
  g_assert_cmpuint(f->offerer->n_connected, ==, 2);

  MsgWait w = {f->answerer, ACTR_LANE_RPC_RELIABLE, 1};
  g_assert_true(wait_for(f, has_messages, &w, WAIT_MS));
  g_assert_cmpmem(g_bytes_get_data(g_ptr_array_index(w.side->messages[0], 0), NULL), 4, "late", 4);
  check_transfer(f, f->answerer, ACTR_LANE_RPC_RELIABLE, 3000);
}

static gboolean
answerer_closed(gpointer data)
{
  Fixture *f = data;
  return f->answerer->state == ACTR_PC_STATE_CLOSED;
}

static void
test_close(Fixture *f, gconstpointer data)
{
  (void)data;
  connect_pair(f);
  actr_pc_close(f->offerer->pc);
  g_assert_true(wait_for(f, answerer_closed, f, WAIT_MS));
  g_assert_cmpint(actr_pc_send(f->answerer->pc, ACTR_LANE_RPC_RELIABLE, (const guint8 *)"x", 1), ==,
                  ACTR_CLOSED);
}

static void
test_bad_descriptions(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  (void)data;

  g_assert_null(actr_pc_accept_offer(f->answerer->pc, "v=0\r\ngarbage\r\n", &error));
  g_assert_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_SYNTAX);
  g_clear_error(&error);
  g_assert_false(actr_pc_set_answer(f->offerer->pc, "v=0\r\n", &error));
  g_assert_error(error, ACTR_PC_ERROR, ACTR_PC_ERROR_STATE);
  g_clear_error(&error);
  g_assert_null(actr_pc_create_offer(f->answerer->pc, FALSE, &error));
  g_assert_error(error, ACTR_PC_ERROR, ACTR_PC_ERROR_STATE);
  g_clear_error(&error);
  g_assert_false(actr_pc_add_remote_candidate(f->answerer->pc, "candidate:bogus", &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
  /* After all that, the pair still connects. */
  connect_pair(f);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/webrtc/pc/connect-and-lanes", Fixture, NULL, fixture_setup, test_connect_and_lanes,
             fixture_teardown);
  g_test_add("/webrtc/pc/many-messages-in-order", Fixture, NULL, fixture_setup,
             test_many_messages_in_order, fixture_teardown);
  g_test_add("/webrtc/pc/ice-restart", Fixture, NULL, fixture_setup, test_ice_restart,
             fixture_teardown);
  g_test_add("/webrtc/pc/close", Fixture, NULL, fixture_setup, test_close, fixture_teardown);
  g_test_add("/webrtc/pc/bad-descriptions", Fixture, NULL, fixture_setup, test_bad_descriptions,
             fixture_teardown);
  return g_test_run();
}
