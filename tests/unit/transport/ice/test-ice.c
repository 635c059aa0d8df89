/* Unit tests for src/transport/ice: two ActrIce agents in one process on one
 * GMainContext, over loopback, trickling candidates to each other through an
 * idle-delivered queue; plus a relay-only pair through a real coturn. */
#include "ice.h"

#include "actr/identity.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

typedef struct _Peer Peer;

struct _Peer {
  const char *name;
  ActrIce *ice;
  Peer *other;
  GPtrArray *candidates;       /* every local candidate text seen */
  guint gathering_done;        /* times on_gathering_done ran */
  GArray *states;              /* ActrIceState, in order */
  GPtrArray *datagrams;        /* GBytes */
  gboolean close_on_connected; /* close from inside on_state(CONNECTED) */
};

typedef struct {
  Peer *to;
  gchar *candidate;
} Delivery;

/* > 0 while the test is inside an actr_ice_*() call: callbacks must not run. */
static guint in_api;
static GQueue deliveries = G_QUEUE_INIT;
static guint delivery_idle;

#define API(expr) (in_api++, (expr), in_api--)

static gboolean
deliver_idle_cb(gpointer data)
{
  Delivery *d;

  delivery_idle = 0;
  while ((d = g_queue_pop_head(&deliveries)) != NULL) {
    g_autoptr(GError) error = NULL;
    gboolean ok = FALSE;

    if (d->to->ice != NULL)
      API(ok = actr_ice_add_remote_candidate(d->to->ice, d->candidate, &error));
    else
      ok = TRUE;
    g_assert_no_error(error);
    g_assert_true(ok);
    g_free(d->candidate);
    g_free(d);
  }
  return G_SOURCE_REMOVE;
}

static void
send_candidate(Peer *to, const char *candidate)
{
  Delivery *d = g_new0(Delivery, 1);

  d->to = to;
  d->candidate = g_strdup(candidate);
  g_queue_push_tail(&deliveries, d);
  if (delivery_idle == 0)
    delivery_idle = g_idle_add(deliver_idle_cb, NULL);
}

static void
on_local_candidate(ActrIce *ice, const char *candidate, gpointer user_data)
{
  Peer *p = user_data;

  g_assert_cmpuint(in_api, ==, 0);
  g_assert_true(ice == p->ice);
  g_assert_true(g_str_has_prefix(candidate, "candidate:"));
  g_ptr_array_add(p->candidates, g_strdup(candidate));
  send_candidate(p->other, candidate);
}

static void
on_gathering_done(ActrIce *ice, gpointer user_data)
{
  Peer *p = user_data;

  g_assert_cmpuint(in_api, ==, 0);
  p->gathering_done++;
}

static ActrIceState
peer_state_last(const Peer *p)
{
  return g_array_index(p->states, ActrIceState, p->states->len - 1);
}

static void
on_state(ActrIce *ice, ActrIceState state, gpointer user_data)
{
  Peer *p = user_data;

  g_assert_cmpuint(in_api, ==, 0);
  g_test_message("%s: state %s", p->name, actr_ice_state_to_string(state));
  if (p->states->len > 0)
    g_assert_cmpint(g_array_index(p->states, ActrIceState, p->states->len - 1), !=, state);
  g_array_append_val(p->states, state);
  if (p->close_on_connected && state == ACTR_ICE_STATE_CONNECTED) {
    /* Allowed re-entry; CLOSED must come from a later dispatch. */
    API(actr_ice_close(ice));
    g_assert_cmpint(actr_ice_get_state(ice), ==, ACTR_ICE_STATE_CLOSED);
    g_assert_cmpint(peer_state_last(p), ==, ACTR_ICE_STATE_CONNECTED);
  }
}

static void
on_datagram(ActrIce *ice, const guint8 *data, gsize len, gpointer user_data)
{
  Peer *p = user_data;

  g_assert_cmpuint(in_api, ==, 0);
  g_ptr_array_add(p->datagrams, g_bytes_new(data, len));
}

static const ActrIceCallbacks callbacks = {
    .on_local_candidate = on_local_candidate,
    .on_gathering_done = on_gathering_done,
    .on_state = on_state,
    .on_datagram = on_datagram,
};

static const char *const loopback_only[] = {"127.0.0.1", NULL};

static void
peer_init(Peer *p, const char *name, const ActrIceConfig *config)
{
  g_autoptr(GError) error = NULL;

  memset(p, 0, sizeof *p);
  p->name = name;
  p->candidates = g_ptr_array_new_with_free_func(g_free);
  p->states = g_array_new(FALSE, FALSE, sizeof(ActrIceState));
  p->datagrams = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  API(p->ice = actr_ice_new(NULL, config, &callbacks, p, &error));
  g_assert_no_error(error);
  g_assert_nonnull(p->ice);
  g_assert_cmpint(actr_ice_get_state(p->ice), ==, ACTR_ICE_STATE_NEW);
  g_assert_nonnull(actr_ice_local_ufrag(p->ice));
  g_assert_cmpuint(strlen(actr_ice_local_ufrag(p->ice)), >=, 4);
  g_assert_cmpuint(strlen(actr_ice_local_pwd(p->ice)), >=, 22);
}

static void
peer_clear(Peer *p)
{
  g_clear_pointer(&p->ice, actr_ice_free);
  g_ptr_array_unref(p->candidates);
  g_array_unref(p->states);
  g_ptr_array_unref(p->datagrams);
}

static ActrIceState
peer_state(const Peer *p)
{
  return p->states->len == 0 ? ACTR_ICE_STATE_NEW
                             : g_array_index(p->states, ActrIceState, p->states->len - 1);
}

static gboolean
peer_saw_state(const Peer *p, ActrIceState state, guint from)
{
  for (guint i = from; i < p->states->len; i++)
    if (g_array_index(p->states, ActrIceState, i) == state)
      return TRUE;
  return FALSE;
}

typedef gboolean (*CondFunc)(gpointer data);

/* Iterates the default context until @cond holds or @seconds pass. */
static gboolean
wait_for(CondFunc cond, gpointer data, double seconds)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);

  while (!cond(data)) {
    if (g_get_monotonic_time() > deadline)
      return FALSE;
    g_main_context_iteration(NULL, FALSE);
    if (!g_main_context_pending(NULL))
      g_usleep(1000);
  }
  return TRUE;
}

static gboolean
never(gpointer data)
{
  return FALSE;
}

static void
spin(double seconds)
{
  wait_for(never, NULL, seconds);
}

static gboolean
both_connected(gpointer data)
{
  Peer *p = data;

  return peer_state(p) == ACTR_ICE_STATE_CONNECTED &&
         peer_state(p->other) == ACTR_ICE_STATE_CONNECTED;
}

static gboolean
both_gathered(gpointer data)
{
  Peer *p = data;

  return p->gathering_done > 0 && p->other->gathering_done > 0;
}

static void
exchange_credentials(Peer *a, Peer *b)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = FALSE;

  API(ok = actr_ice_set_remote_credentials(a->ice, actr_ice_local_ufrag(b->ice),
                                           actr_ice_local_pwd(b->ice), &error));
  g_assert_no_error(error);
  g_assert_true(ok);
  API(ok = actr_ice_set_remote_credentials(b->ice, actr_ice_local_ufrag(a->ice),
                                           actr_ice_local_pwd(a->ice), &error));
  g_assert_no_error(error);
  g_assert_true(ok);
}

static void
gather(Peer *p)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = FALSE;

  API(ok = actr_ice_gather(p->ice, &error));
  g_assert_no_error(error);
  g_assert_true(ok);
  /* The state change is reported from a later dispatch, never inside. */
  g_assert_cmpuint(p->states->len, ==, 0);
}

static void
pair_new(Peer *a, Peer *b, const ActrIceConfig *ca, const ActrIceConfig *cb)
{
  peer_init(a, "A", ca);
  peer_init(b, "B", cb);
  a->other = b;
  b->other = a;
}

static void
pair_connect(Peer *a, Peer *b)
{
  exchange_credentials(a, b);
  gather(a);
  gather(b);
  g_assert_true(wait_for(both_connected, a, 10));
}

/* Drains pending work so freed agents release everything (TURN included). */
static void
pair_free(Peer *a, Peer *b)
{
  if (delivery_idle != 0) {
    g_source_remove(delivery_idle);
    delivery_idle = 0;
  }
  while (!g_queue_is_empty(&deliveries)) {
    Delivery *d = g_queue_pop_head(&deliveries);
    g_free(d->candidate);
    g_free(d);
  }
  peer_clear(a);
  peer_clear(b);
  spin(0.2);
}

typedef struct {
  Peer *p;
  guint count;
} CountWait;

static gboolean
has_datagrams(gpointer data)
{
  CountWait *w = data;

  return w->p->datagrams->len >= w->count;
}

static void
fill_payload(guint8 *buf, gsize len, guint8 seed)
{
  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8)(seed + i * 7);
}

/* Sends datagrams of 1 B .. 1200 B from @from to @to and checks contents. */
static void
check_datagrams(Peer *from, Peer *to, guint8 seed)
{
  static const gsize sizes[] = {1, 2, 17, 100, 255, 512, 1000, 1199, 1200};
  guint base = to->datagrams->len;
  CountWait w = {to, base + G_N_ELEMENTS(sizes)};
  guint8 buf[1200];
  gboolean ok = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
    fill_payload(buf, sizes[i], (guint8)(seed + i));
    API(ok = actr_ice_send(from->ice, buf, sizes[i]));
    g_assert_true(ok);
  }
  g_assert_true(wait_for(has_datagrams, &w, 5));
  /* Loopback UDP on one socket pair keeps order. */
  for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
    GBytes *got = g_ptr_array_index(to->datagrams, base + i);
    gsize len = 0;
    const guint8 *data = g_bytes_get_data(got, &len);

    g_assert_cmpuint(len, ==, sizes[i]);
    fill_payload(buf, sizes[i], (guint8)(seed + i));
    g_assert_cmpmem(data, len, buf, sizes[i]);
  }
}

static void
check_closed_later(Peer *p)
{
  guint before = p->states->len;

  API(actr_ice_close(p->ice));
  g_assert_cmpuint(p->states->len, ==, before);
  g_assert_cmpint(actr_ice_get_state(p->ice), ==, ACTR_ICE_STATE_CLOSED);
  spin(0.05);
  g_assert_cmpint(peer_state(p), ==, ACTR_ICE_STATE_CLOSED);
}

static ActrIceConfig
loopback_config(gboolean controlling)
{
  ActrIceConfig c = {
      .controlling = controlling,
      .host_addresses = loopback_only,
  };
  return c;
}

/* ---- Tests ----------------------------------------------------------------------------------- */

static void
test_connect(void)
{
  ActrIceConfig ca = loopback_config(TRUE), cb = loopback_config(FALSE);
  Peer a, b;
  g_autofree gchar *desc = NULL;
  guint8 byte = 0x5a;
  gboolean ok = TRUE;

  pair_new(&a, &b, &ca, &cb);
  /* Nothing selected yet: nothing sent, no pair to describe. */
  API(ok = actr_ice_send(a.ice, &byte, 1));
  g_assert_false(ok);
  g_assert_null(actr_ice_describe_selected_pair(a.ice));
  g_assert_false(actr_ice_selected_pair_is_relayed(a.ice));

  pair_connect(&a, &b);
  g_assert_true(wait_for(both_gathered, &a, 5));
  g_assert_cmpuint(a.gathering_done, ==, 1);
  g_assert_cmpint(g_array_index(a.states, ActrIceState, 0), ==, ACTR_ICE_STATE_CHECKING);
  g_assert_cmpint(actr_ice_get_state(a.ice), ==, ACTR_ICE_STATE_CONNECTED);
  g_assert_cmpuint(a.candidates->len, >=, 1);
  for (guint i = 0; i < a.candidates->len; i++) {
    const char *c = g_ptr_array_index(a.candidates, i);
    g_assert_nonnull(strstr(c, " udp "));
    g_assert_nonnull(strstr(c, " 127.0.0.1 "));
    g_assert_nonnull(strstr(c, " typ host"));
  }

  check_datagrams(&a, &b, 1);
  check_datagrams(&b, &a, 99);

  desc = actr_ice_describe_selected_pair(a.ice);
  g_assert_nonnull(desc);
  g_test_message("selected: %s", desc);
  g_assert_true(g_regex_match_simple(
      "^local 127\\.0\\.0\\.1:[0-9]+ host <-> remote 127\\.0\\.0\\.1:[0-9]+ (host|prflx)$", desc, 0,
      0));
  g_assert_false(actr_ice_selected_pair_is_relayed(a.ice));
  g_assert_false(actr_ice_selected_pair_is_relayed(b.ice));

  check_closed_later(&a);
  API(ok = actr_ice_send(a.ice, &byte, 1));
  g_assert_false(ok);
  {
    g_autoptr(GError) error = NULL;
    API(ok = actr_ice_add_remote_candidate(
            a.ice, "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", &error));
    g_assert_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_STATE);
    g_assert_false(ok);
  }
  pair_free(&a, &b);
}

static gboolean
b_closed(gpointer data)
{
  Peer *b = data;

  return peer_state(b) == ACTR_ICE_STATE_CLOSED;
}

static void
test_close_from_callback(void)
{
  ActrIceConfig ca = loopback_config(TRUE), cb = loopback_config(FALSE);
  Peer a, b;
  guint8 byte = 1;
  gboolean ok = TRUE;

  pair_new(&a, &b, &ca, &cb);
  b.close_on_connected = TRUE;
  exchange_credentials(&a, &b);
  gather(&a);
  gather(&b);
  g_assert_true(wait_for(b_closed, &b, 10));
  g_assert_cmpuint(b.states->len, >=, 3);
  g_assert_cmpint(g_array_index(b.states, ActrIceState, b.states->len - 2), ==,
                  ACTR_ICE_STATE_CONNECTED);
  API(ok = actr_ice_send(b.ice, &byte, 1));
  g_assert_false(ok);
  /* Nothing is reported after CLOSED. */
  spin(0.3);
  g_assert_cmpint(peer_state(&b), ==, ACTR_ICE_STATE_CLOSED);
  pair_free(&a, &b);
}

static void
test_candidates_before_credentials(void)
{
  ActrIceConfig ca = loopback_config(TRUE), cb = loopback_config(FALSE);
  Peer a, b;

  pair_new(&a, &b, &ca, &cb);
  gather(&a);
  gather(&b);
  /* Candidates are trickled and added while neither side has credentials. */
  g_assert_true(wait_for(both_gathered, &a, 5));
  spin(0.3);
  g_assert_false(peer_saw_state(&a, ACTR_ICE_STATE_CONNECTED, 0));
  exchange_credentials(&a, &b);
  g_assert_true(wait_for(both_connected, &a, 10));
  check_datagrams(&a, &b, 3);
  check_datagrams(&b, &a, 4);
  pair_free(&a, &b);
}

static void
test_remote_candidate_validation(void)
{
  static const char *const skipped[] = {
      "candidate:1 1 udp 2130706431 ::1 5000 typ host",
      "candidate:1 1 udp 2130706431 fe80::1 5000 typ host",
      "a=candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
      "candidate:3 1 udp 2130706431 6f1c2d44-1b1b-4b7a-9f2b-8a4f8c0b1a22.local 5000 typ host",
      "candidate:4 2 udp 2130706430 127.0.0.1 5001 typ host",
  };
  static const char *const malformed[] = {
      "",
      "candidate:",
      "candidate:1 1 udp",
      "candidate:1 1 udp 2130706431 127.0.0.1 notaport typ host",
      "hello world",
  };
  ActrIceConfig c = loopback_config(TRUE);
  Peer a;
  gboolean ok;

  peer_init(&a, "A", &c);
  for (guint i = 0; i < G_N_ELEMENTS(skipped); i++) {
    g_autoptr(GError) error = NULL;
    API(ok = actr_ice_add_remote_candidate(a.ice, skipped[i], &error));
    g_assert_no_error(error);
    g_assert_true(ok);
  }
  for (guint i = 0; i < G_N_ELEMENTS(malformed); i++) {
    g_autoptr(GError) error = NULL;
    API(ok = actr_ice_add_remote_candidate(a.ice, malformed[i], &error));
    g_assert_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_CANDIDATE);
    g_assert_false(ok);
  }
  {
    g_autoptr(GError) error = NULL;
    API(ok = actr_ice_set_remote_credentials(a.ice, "ab", "short", &error));
    g_assert_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_CREDENTIALS);
    g_assert_false(ok);
  }
  {
    g_autoptr(GError) error = NULL;
    API(ok = actr_ice_set_remote_credentials(a.ice, "abcd", "0123456789abcdef0123456789", &error));
    g_assert_no_error(error);
    g_assert_true(ok);
  }
  /* A valid IPv4 candidate is accepted once credentials are set. */
  {
    g_autoptr(GError) error = NULL;
    API(ok = actr_ice_add_remote_candidate(
            a.ice, "a=candidate:9 1 UDP 2130706431 127.0.0.1 9 typ host\r\n", &error));
    g_assert_no_error(error);
    g_assert_true(ok);
  }
  peer_clear(&a);
}

static void
test_bad_server_urls(void)
{
  static const char *const bad_stun[][2] = {
      {"stun:", NULL},
      {"http://example.org", NULL},
      {"stun:127.0.0.1:99999", NULL},
      {"stun:127.0.0.1:port", NULL},
      {"stun:[::1]:3478", NULL},
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad_stun); i++) {
    ActrIceConfig c = loopback_config(TRUE);
    g_autoptr(GError) error = NULL;
    ActrIce *ice;

    c.stun_urls = bad_stun[i];
    ice = actr_ice_new(NULL, &c, &callbacks, NULL, &error);
    g_assert_null(ice);
    g_assert_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED);
    g_assert_nonnull(strstr(error->message, bad_stun[i][0]));
  }
  {
    static const char *const turn[] = {"turn:127.0.0.1:3478?transport=sctp", NULL};
    ActrIceConfig c = loopback_config(TRUE);
    g_autoptr(GError) error = NULL;
    ActrIce *ice;

    c.turn_urls = turn;
    c.turn_username = "u";
    c.turn_password = "p";
    ice = actr_ice_new(NULL, &c, &callbacks, NULL, &error);
    g_assert_null(ice);
    g_assert_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED);
    g_assert_nonnull(strstr(error->message, turn[0]));
  }
  {
    /* TCP and TLS TURN are valid but skipped; a STUN host name resolves. */
    static const char *const turn[] = {"turn:127.0.0.1:3478?transport=tcp", "turns:127.0.0.1:5349",
                                       NULL};
    static const char *const stun[] = {"stun:localhost:3478", NULL};
    ActrIceConfig c = loopback_config(TRUE);
    g_autoptr(GError) error = NULL;
    ActrIce *ice;

    c.turn_urls = turn;
    c.stun_urls = stun;
    c.turn_username = "u";
    c.turn_password = "p";
    ice = actr_ice_new(NULL, &c, &callbacks, NULL, &error);
    g_assert_no_error(error);
    g_assert_nonnull(ice);
    actr_ice_free(ice);
  }
  {
    /* relay_only without TURN can gather nothing. */
    ActrIceConfig c = loopback_config(TRUE);
    g_autoptr(GError) error = NULL;
    ActrIce *ice;

    c.relay_only = TRUE;
    ice = actr_ice_new(NULL, &c, &callbacks, NULL, &error);
    g_assert_no_error(error);
    g_assert_false(actr_ice_gather(ice, &error));
    g_assert_error(error, ACTR_ICE_ERROR, ACTR_ICE_ERROR_FAILED);
    actr_ice_free(ice);
  }
}

typedef struct {
  Peer *a;
  guint from_a, from_b;
} RestartWait;

static gboolean
reconnected(gpointer data)
{
  RestartWait *w = data;

  return peer_saw_state(w->a, ACTR_ICE_STATE_CONNECTED, w->from_a) &&
         peer_saw_state(w->a->other, ACTR_ICE_STATE_CONNECTED, w->from_b);
}

/* Restarts both sides (A initiates, B reacts to the new offer), trickles
 * the new candidates, and waits for both to report CONNECTED again. */
static void
restart_pair(Peer *a, Peer *b, gboolean send_during)
{
  g_autofree gchar *old_ufrag = g_strdup(actr_ice_local_ufrag(a->ice));
  g_autofree gchar *old_pwd = g_strdup(actr_ice_local_pwd(a->ice));
  RestartWait w = {a, a->states->len, b->states->len};
  g_autoptr(GError) error = NULL;
  guint cand_a = a->candidates->len, cand_b = b->candidates->len;
  gboolean ok = FALSE;

  API(ok = actr_ice_restart(a->ice, &error));
  g_assert_no_error(error);
  g_assert_true(ok);
  g_assert_cmpstr(actr_ice_local_ufrag(a->ice), !=, old_ufrag);
  g_assert_cmpstr(actr_ice_local_pwd(a->ice), !=, old_pwd);
  if (send_during) {
    /* The old pair keeps carrying datagrams during the restart. */
    check_datagrams(a, b, 7);
    check_datagrams(b, a, 8);
  }
  API(ok = actr_ice_restart(b->ice, &error));
  g_assert_no_error(error);
  g_assert_true(ok);
  exchange_credentials(a, b);
  g_assert_true(wait_for(reconnected, &w, 15));
  /* The local candidates were trickled again after the restart. */
  g_assert_cmpuint(a->candidates->len, >, cand_a);
  g_assert_cmpuint(b->candidates->len, >, cand_b);
}

static void
test_restart(void)
{
  ActrIceConfig ca = loopback_config(TRUE), cb = loopback_config(FALSE);
  Peer a, b;

  pair_new(&a, &b, &ca, &cb);
  pair_connect(&a, &b);
  check_datagrams(&a, &b, 5);
  restart_pair(&a, &b, TRUE);
  check_datagrams(&a, &b, 9);
  check_datagrams(&b, &a, 10);
  pair_free(&a, &b);
}

typedef struct {
  Peer *p;
  guint from;
} StateWait;

static gboolean
saw_failed(gpointer data)
{
  StateWait *w = data;

  return peer_saw_state(w->p, ACTR_ICE_STATE_FAILED, w->from);
}

static void
send_burst(Peer *from, guint n)
{
  guint8 buf[64];
  gboolean ok = FALSE;

  memset(buf, 0xab, sizeof buf);
  for (guint i = 0; i < n; i++) {
    API(ok = actr_ice_send(from->ice, buf, sizeof buf));
    g_assert_true(ok);
  }
}

static void
test_drop_all(void)
{
  ActrIceConfig ca = loopback_config(TRUE), cb = loopback_config(FALSE);
  Peer a, b;
  guint got_a, got_b;

  pair_new(&a, &b, &ca, &cb);
  pair_connect(&a, &b);
  check_datagrams(&a, &b, 11);

  /* One side drops: nothing arrives in either direction. */
  actr_ice_set_drop_all(a.ice, TRUE);
  got_a = a.datagrams->len;
  got_b = b.datagrams->len;
  send_burst(&a, 10);
  send_burst(&b, 10);
  spin(0.5);
  g_assert_cmpuint(a.datagrams->len, ==, got_a);
  g_assert_cmpuint(b.datagrams->len, ==, got_b);

  /* Lifted before ICE noticed: the same pair works again. */
  actr_ice_set_drop_all(a.ice, FALSE);
  check_datagrams(&a, &b, 12);
  check_datagrams(&b, &a, 13);

  /* The path breaks for good: an ICE restart on the broken path fails. */
  {
    StateWait wa = {&a, a.states->len};
    StateWait wb = {&b, b.states->len};

    actr_ice_set_drop_all(a.ice, TRUE);
    actr_ice_set_drop_all(b.ice, TRUE);
    send_burst(&a, 3);
    spin(0.2);
    {
      g_autoptr(GError) error = NULL;
      gboolean ok = FALSE;
      API(ok = actr_ice_restart(a.ice, &error));
      g_assert_true(ok);
      API(ok = actr_ice_restart(b.ice, &error));
      g_assert_true(ok);
    }
    exchange_credentials(&a, &b);
    g_assert_true(wait_for(saw_failed, &wa, 25));
    g_assert_true(wait_for(saw_failed, &wb, 5));
    g_assert_cmpuint(a.datagrams->len, ==, got_a + 9);
    g_assert_cmpuint(b.datagrams->len, ==, got_b + 9);
  }

  /* The path comes back: another restart recovers. */
  actr_ice_set_drop_all(a.ice, FALSE);
  actr_ice_set_drop_all(b.ice, FALSE);
  restart_pair(&a, &b, FALSE);
  check_datagrams(&a, &b, 14);
  check_datagrams(&b, &a, 15);
  pair_free(&a, &b);
}

/* ---- TURN through a real coturn ------------------------------------------------------------- */

static guint16
free_udp_port(void)
{
  struct sockaddr_in sin;
  socklen_t len = sizeof sin;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);

  g_assert_cmpint(fd, >=, 0);
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof sin), ==, 0);
  g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sin, &len), ==, 0);
  close(fd);
  return ntohs(sin.sin_port);
}

static gboolean
has_relay_candidate(gpointer data)
{
  Peer *p = data;

  for (guint i = 0; i < p->candidates->len; i++)
    if (strstr(g_ptr_array_index(p->candidates, i), " typ relay") != NULL)
      return TRUE;
  return FALSE;
}

static void
test_turn_relay_only(void)
{
  g_autofree gchar *turnserver = g_find_program_in_path("turnserver");
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *port_arg = NULL, *min_arg = NULL, *max_arg = NULL, *url = NULL;
  g_autofree gchar *tmpdir = NULL, *log_arg = NULL, *pid_arg = NULL;
  char *username = NULL, *password = NULL;
  const char *turn_urls[2];
  ActrIceConfig ca = loopback_config(TRUE), cb = loopback_config(FALSE);
  Peer a, b;
  guint16 port, relay_base;
  const char *secret = "actr-test-turn-secret";

  if (turnserver == NULL) {
    g_test_skip("turnserver (coturn) is not installed");
    return;
  }
  tmpdir = g_dir_make_tmp("actr-ice-turn-XXXXXX", &error);
  g_assert_no_error(error);
  port = free_udp_port();
  relay_base = (guint16)(40000 + g_random_int_range(0, 20000));
  port_arg = g_strdup_printf("--listening-port=%u", port);
  min_arg = g_strdup_printf("--min-port=%u", relay_base);
  max_arg = g_strdup_printf("--max-port=%u", relay_base + 50);
  log_arg = g_strdup_printf("--log-file=%s/turn.log", tmpdir);
  pid_arg = g_strdup_printf("--pidfile=%s/turn.pid", tmpdir);
  proc = g_subprocess_new(
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error, turnserver,
      "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", port_arg, min_arg, max_arg,
      "--use-auth-secret", "--static-auth-secret", secret, "--realm=actr", "--no-tls", "--no-dtls",
      "--no-tcp", "--no-tcp-relay", "--allow-loopback-peers", "--no-cli", "--no-stdout-log",
      "--simple-log", log_arg, pid_arg, "--fingerprint", NULL);
  g_assert_no_error(error);
  /* Let coturn bind its listener. */
  spin(0.7);

  actr_turn_credential_make(secret, (guint64)(g_get_real_time() / G_USEC_PER_SEC) + 3600,
                            "ice-test", &username, &password);
  url = g_strdup_printf("turn:127.0.0.1:%u?transport=udp", port);
  turn_urls[0] = url;
  turn_urls[1] = NULL;
  ca.turn_urls = cb.turn_urls = turn_urls;
  ca.turn_username = cb.turn_username = username;
  ca.turn_password = cb.turn_password = password;
  ca.relay_only = cb.relay_only = TRUE;

  pair_new(&a, &b, &ca, &cb);
  pair_connect(&a, &b);
  g_assert_true(has_relay_candidate(&a));
  g_assert_true(has_relay_candidate(&b));
  for (guint i = 0; i < a.candidates->len; i++)
    g_assert_nonnull(strstr(g_ptr_array_index(a.candidates, i), " typ relay"));
  for (guint i = 0; i < b.candidates->len; i++)
    g_assert_nonnull(strstr(g_ptr_array_index(b.candidates, i), " typ relay"));
  g_assert_true(actr_ice_selected_pair_is_relayed(a.ice));
  g_assert_true(actr_ice_selected_pair_is_relayed(b.ice));
  {
    g_autofree gchar *desc = actr_ice_describe_selected_pair(a.ice);
    g_test_message("selected: %s", desc);
    g_assert_true(g_str_has_prefix(desc, "local 127.0.0.1:"));
    g_assert_nonnull(strstr(desc, " relay <-> remote "));
  }
  check_datagrams(&a, &b, 21);
  check_datagrams(&b, &a, 22);
  pair_free(&a, &b);

  g_subprocess_send_signal(proc, SIGTERM);
  g_subprocess_wait(proc, NULL, NULL);
  {
    g_autofree gchar *log = g_build_filename(tmpdir, "turn.log", NULL);
    g_autofree gchar *pid = g_build_filename(tmpdir, "turn.pid", NULL);
    g_unlink(log);
    g_unlink(pid);
    g_rmdir(tmpdir);
  }
  g_free(username);
  g_free(password);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ice/connect", test_connect);
  g_test_add_func("/ice/close-from-callback", test_close_from_callback);
  g_test_add_func("/ice/candidates-before-credentials", test_candidates_before_credentials);
  g_test_add_func("/ice/remote-candidate-validation", test_remote_candidate_validation);
  g_test_add_func("/ice/bad-server-urls", test_bad_server_urls);
  g_test_add_func("/ice/restart", test_restart);
  g_test_add_func("/ice/drop-all", test_drop_all);
  g_test_add_func("/ice/turn-relay-only", test_turn_relay_only);
  return g_test_run();
}
