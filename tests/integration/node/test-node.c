/* The node runtime through its library API (include/actr/node.h), against
 * the real actrd: several nodes in this process, each with its own threads,
 * talking over WebSocket direct-connect on 127.0.0.1.
 *
 * Usage: test-node --tap ACTRD LIBECHO LIBCOUNTER LIBRELAY_A LIBRELAY_B */
#include <string.h>

#include <actr/node.h>

#include "../../actrd/actrd-harness.h"
#include "package.h"

static const char *actrd_path, *echo_so, *counter_so, *relay_a_so, *relay_b_so;

typedef struct {
  ActrdHarness *actrd;
  char *dir;
  GPtrArray *configs; /* ActrConfig * */
  ActrNode *echo, *counter, *relay_a, *relay_b, *client;
} Fixture;

static ActrConfig *
make_config(Fixture *f, const char *name, gboolean listen, const char *extra)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text =
      g_strdup_printf("edition = 1\n"
                      "[signaling]\nurl = \"ws://127.0.0.1:%u/signaling/ws\"\n"
                      "[ais_endpoint]\nurl = \"http://127.0.0.1:%u/ais\"\n"
                      "[deployment]\nrealm_id = 1\n"
                      "[storage]\nmailbox_path = \"%s/%s/mailbox.db\"\n"
                      "%s%s",
                      actrd_harness_port(f->actrd), actrd_harness_port(f->actrd), f->dir, name,
                      listen ? "[websocket]\nlisten_port = 0\n" : "", extra ? extra : "");
  ActrConfig *config = actr_config_load_data(text, strlen(text), name, &error);
  g_assert_no_error(error);
  g_ptr_array_add(f->configs, config);
  return config;
}

static ActrNode *
start_node(Fixture *f, const char *name, const char *workload, const char *type, const char *extra)
{
  g_autoptr(GError) error = NULL;
  ActrConfig *config = make_config(f, name, workload != NULL, extra);
  ActrNodeOptions options = {.workload_path = workload, .actr_type = type};
  ActrNode *node = actr_node_new(config, &options, &error);
  g_assert_no_error(error);
  g_assert_true(actr_node_start(node, &error));
  g_assert_no_error(error);
  return node;
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
  f->actrd = actrd_harness_new(actrd_path);
  actrd_harness_start(f->actrd, "--dev", NULL);
  f->dir = g_dir_make_tmp("test-node-XXXXXX", NULL);
  f->configs = g_ptr_array_new_with_free_func((GDestroyNotify)actr_config_free);
  f->echo = start_node(f, "echo", echo_so, NULL, NULL);
  f->counter = start_node(f, "counter", counter_so, NULL,
                          "[acl]\nrules = [ { permission = \"ALLOW\", type = \"test:relay:1.0.0\" "
                          "}, { permission = \"ALLOW\", type = \"actr:cli:1\" } ]\n");
  f->relay_a = start_node(f, "relay-a", relay_a_so, NULL, NULL);
  f->relay_b = start_node(f, "relay-b", relay_b_so, "test:relay2:1.0.0", NULL);
  f->client = start_node(f, "client", NULL, NULL, NULL);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
  g_clear_pointer(&f->client, actr_node_free);
  g_clear_pointer(&f->relay_b, actr_node_free);
  g_clear_pointer(&f->relay_a, actr_node_free);
  g_clear_pointer(&f->counter, actr_node_free);
  g_clear_pointer(&f->echo, actr_node_free);
  g_ptr_array_unref(f->configs);
  actrd_harness_remove_tree(f->dir);
  g_free(f->dir);
  actrd_harness_free(f->actrd);
}

/* Calls and returns the reply as a string (asserting success). */
static char *
call_text(ActrNode *node, const char *target, const char *route, const char *data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) payload = g_bytes_new(data, strlen(data));
  g_autoptr(GBytes) reply = actr_node_call(node, target, route, payload, NULL, &error);
  g_assert_no_error(error);
  gsize len;
  const char *bytes = g_bytes_get_data(reply, &len);
  return len > 0 ? g_strndup(bytes, len) : g_strdup("");
}

static void
assert_call_fails(ActrNode *node, const char *target, const char *route, const char *data,
                  ActrErrorCode code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) payload = g_bytes_new(data, strlen(data));
  ActrCallOptions options = {.timeout_ms = 10000};
  g_autoptr(GBytes) reply = actr_node_call(node, target, route, payload, &options, &error);
  g_assert_null(reply);
  g_assert_error(error, ACTR_ERROR, (gint)code);
}

static void
test_calls(Fixture *f, gconstpointer data)
{
  g_autofree char *echo_id = actr_node_dup_id(f->echo);
  g_autofree char *a = call_text(f->client, "acme:echo:1.0.0", "echo.Echo.Echo", "hello");
  g_autofree char *b = call_text(f->client, echo_id, "echo.Echo.Echo", "by id");
  g_autofree char *empty = call_text(f->client, "acme:echo:1.0.0", "echo.Echo.Echo", "");
  g_assert_cmpstr(a, ==, "hello");
  g_assert_cmpstr(b, ==, "by id");
  g_assert_cmpstr(empty, ==, "");

  /* 3 MiB: one WebSocket frame each way, byte-exact. */
  g_autoptr(GByteArray) big = g_byte_array_sized_new(3 << 20);
  for (guint i = 0; i < (3u << 20); i++)
    g_byte_array_append(big, (guint8[]){(guint8)g_random_int()}, 1);
  g_autoptr(GBytes) big_bytes = g_bytes_new(big->data, big->len);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply =
      actr_node_call(f->client, "acme:echo:1.0.0", "echo.Echo.Echo", big_bytes, NULL, &error);
  g_assert_no_error(error);
  g_assert_true(g_bytes_equal(reply, big_bytes));

  assert_call_fails(f->client, "acme:echo:1.0.0", "no.Such.Route", "", ACTR_ERROR_UNKNOWN_ROUTE);
  assert_call_fails(f->client, "acme:nobody:1.0.0", "x.Y.Z", "", ACTR_ERROR_NOT_FOUND);
  assert_call_fails(f->client, "not a target", "x.Y.Z", "", ACTR_ERROR_INVALID_ARGUMENT);

  /* The built-in ping route is answered by the gate, workload or not. */
  g_autofree char *pong = call_text(f->client, "acme:echo:1.0.0", "actr.Node.Ping", "p");
  g_assert_cmpstr(pong, ==, "p");
  /* A node without a WebSocket listener (the client) is still reachable
   * over WebRTC; it runs no workload, so the route is unknown there. */
  g_autofree char *client_id = actr_node_dup_id(f->client);
  assert_call_fails(f->echo, client_id, "echo.Echo.Echo", "", ACTR_ERROR_UNKNOWN_ROUTE);
}

static void
test_acl_and_dedup(Fixture *f, gconstpointer data)
{
  /* The counter allows relay and cli types only. */
  assert_call_fails(f->relay_b, "acme:counter:1.0.0", "counter.Counter.Get", "",
                    ACTR_ERROR_PERMISSION_DENIED);
  g_autofree char *via_relay = call_text(f->client, "test:relay:1.0.0", "relay.Relay.Call",
                                         "acme:counter:1.0.0 counter.Counter.Add 7");
  g_assert_cmpstr(via_relay, ==, "7");

  /* The same request_id twice: applied once, answered twice. */
  g_autoptr(GBytes) two = g_bytes_new_static("2", 1);
  ActrCallOptions options = {.request_id = "add-two"};
  for (int i = 0; i < 2; i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = actr_node_call(f->client, "acme:counter:1.0.0", "counter.Counter.Add",
                                             two, &options, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(g_bytes_get_data(reply, NULL), g_bytes_get_size(reply), "9", 1);
  }
  /* A tell is applied once and never answered. */
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) one = g_bytes_new_static("1", 1);
  g_assert_true(
      actr_node_tell(f->client, "acme:counter:1.0.0", "counter.Counter.Add", one, NULL, &error));
  g_assert_no_error(error);
  char *total = NULL;
  for (int i = 0; i < 200; i++) {
    g_free(total);
    total = call_text(f->client, "acme:counter:1.0.0", "counter.Counter.Get", "");
    if (strcmp(total, "10") == 0)
      break;
    g_usleep(10000);
  }
  g_assert_cmpstr(total, ==, "10");
  g_free(total);
}

static void
test_host_operations(Fixture *f, gconstpointer data)
{
  g_autofree char *echo_id = actr_node_dup_id(f->echo);
  g_autofree char *relayed = call_text(f->client, "test:relay:1.0.0", "relay.Relay.Call",
                                       "acme:echo:1.0.0 echo.Echo.Echo relayed");
  g_assert_cmpstr(relayed, ==, "relayed");
  g_autofree char *found =
      call_text(f->client, "test:relay:1.0.0", "relay.Relay.Discover", "acme:echo:1.0.0");
  g_assert_cmpstr(found, ==, echo_id);
  g_autofree char *told = call_text(f->client, "test:relay:1.0.0", "relay.Relay.Tell",
                                    "acme:echo:1.0.0 echo.Echo.Echo fire-and-forget");
  g_assert_cmpstr(told, ==, "ok");

  /* A handler calling its own actor fails at once instead of deadlocking. */
  gint64 t0 = g_get_monotonic_time();
  assert_call_fails(f->client, "test:relay:1.0.0", "relay.Relay.Self", "",
                    ACTR_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);

  /* The application calls its own workload in process ("local"). */
  g_autofree char *events = call_text(f->relay_a, "local", "relay.Relay.Events", "");
  g_assert_cmpint(g_ascii_strtoll(events, NULL, 10), >=, 1); /* at least signaling connected */
}

static void
test_data_stream(Fixture *f, gconstpointer data)
{
  g_autofree char *b_id = actr_node_dup_id(f->relay_b);
  g_autofree char *request = g_strdup_printf("%s 100", b_id);
  g_autofree char *sent = call_text(f->client, "test:relay:1.0.0", "relay.Relay.Stream", request);
  g_assert_cmpstr(sent, ==, "sent");
  char *chunks = NULL;
  for (int i = 0; i < 300; i++) {
    g_free(chunks);
    chunks = call_text(f->client, b_id, "relay.Relay.Chunks", "");
    if (strcmp(chunks, "100 100 1") == 0)
      break;
    g_usleep(10000);
  }
  g_assert_cmpstr(chunks, ==, "100 100 1"); /* all, in order, re-registration refused */
  g_free(chunks);
}

typedef struct {
  guint remaining;
  guint ok;
  guint cancelled;
  GMainLoop *loop;
} Many;

static void
on_many(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Many *m = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = actr_node_call_finish(NULL, result, &error);
  if (reply != NULL && g_bytes_get_size(reply) == 8)
    m->ok++;
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    m->cancelled++;
  if (--m->remaining == 0)
    g_main_loop_quit(m->loop);
}

typedef struct {
  GMutex lock;
  GPtrArray *up; /* ActrId texts */
} PeerUps;

static void
on_peer_event(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value,
              gpointer user_data)
{
  PeerUps *ups = user_data;
  if (event != ACTR_NODE_EVENT_PEER_UP)
    return;
  g_mutex_lock(&ups->lock);
  g_ptr_array_add(ups->up, g_strdup(detail));
  g_mutex_unlock(&ups->lock);
}

/* Presence: a subscriber hears of an instance that registers later. */
static void
test_presence(Fixture *f, gconstpointer data)
{
  PeerUps ups = {.up = g_ptr_array_new_with_free_func(g_free)};
  g_autoptr(GError) error = NULL;
  g_mutex_init(&ups.lock);
  ActrConfig *config = make_config(f, "watcher", FALSE, NULL);
  ActrNodeOptions options = {.on_event = on_peer_event, .user_data = &ups};
  ActrNode *watcher = actr_node_new(config, &options, &error);
  g_assert_true(actr_node_start(watcher, &error));
  g_assert_no_error(error);
  g_assert_true(actr_node_subscribe(watcher, "acme:echo:2.0.0", &error));
  g_assert_no_error(error);

  ActrNode *late = start_node(f, "late-echo", echo_so, "acme:echo:2.0.0", NULL);
  g_autofree char *late_id = actr_node_dup_id(late);
  gboolean seen = FALSE;
  for (int i = 0; i < 300 && !seen; i++) {
    g_mutex_lock(&ups.lock);
    for (guint j = 0; j < ups.up->len; j++)
      seen = seen || g_strcmp0(ups.up->pdata[j], late_id) == 0;
    g_mutex_unlock(&ups.lock);
    if (!seen)
      g_usleep(10000);
  }
  g_assert_true(seen);
  actr_node_free(late);
  actr_node_free(watcher);
  g_ptr_array_unref(ups.up);
  g_mutex_clear(&ups.lock);
}

static void
on_slept(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Many *m = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = actr_node_call_finish(NULL, result, &error);
  g_assert_no_error(error);
  if (reply != NULL && g_bytes_get_size(reply) == 5)
    m->ok++;
  if (--m->remaining == 0)
    g_main_loop_quit(m->loop);
}

static void
test_concurrent_and_network_event(Fixture *f, gconstpointer data)
{
  g_autoptr(GMainContext) context = g_main_context_new();
  g_main_context_push_thread_default(context);
  Many m = {.remaining = 500, .loop = g_main_loop_new(context, FALSE)};
  for (guint i = 0; i < 500; i++) {
    g_autofree char *text = g_strdup_printf("%08u", i);
    g_autoptr(GBytes) payload = g_bytes_new(text, 8);
    actr_node_call_async(f->client, "acme:echo:1.0.0", "echo.Echo.Echo", payload, NULL, NULL,
                         on_many, &m);
  }
  g_main_loop_run(m.loop);
  g_main_loop_unref(m.loop);
  g_main_context_pop_thread_default(context);
  g_assert_cmpuint(m.ok, ==, 500);

  /* A cancelled call reports G_IO_ERROR_CANCELLED to its caller at once,
   * exactly once. */
  {
    g_autoptr(GCancellable) cancel = g_cancellable_new();
    g_autoptr(GBytes) payload = g_bytes_new_static("12345678", 8);
    Many one = {.remaining = 1, .loop = g_main_loop_new(context, FALSE)};
    g_main_context_push_thread_default(context);
    ActrCallOptions slow = {.timeout_ms = 20000};
    actr_node_call_async(f->client, "acme:echo:1.0.0", "actr.Node.Ping", payload, &slow, cancel,
                         on_many, &one);
    g_cancellable_cancel(cancel);
    g_main_loop_run(one.loop);
    g_main_loop_unref(one.loop);
    g_main_context_pop_thread_default(context);
    g_assert_cmpuint(one.ok, ==, 0);
    g_assert_cmpuint(one.cancelled, ==, 1);
  }

  /* Links reset by a network event while a call is in flight: the request
   * is sent again on a new link and answered (the callee de-duplicates),
   * not left to time out. */
  {
    g_autoptr(GBytes) ms = g_bytes_new_static("1500", 4);
    ActrCallOptions options = {.timeout_ms = 10000};
    Many one = {.remaining = 1, .loop = g_main_loop_new(context, FALSE)};
    g_main_context_push_thread_default(context);
    gint64 t0 = g_get_monotonic_time();
    actr_node_call_async(f->client, "test:relay:1.0.0", "relay.Relay.Sleep", ms, &options, NULL,
                         on_slept, &one);
    g_usleep(300 * 1000);
    actr_node_network_event(f->client, ACTR_NETWORK_LOST);
    g_main_loop_run(one.loop);
    g_main_loop_unref(one.loop);
    g_main_context_pop_thread_default(context);
    g_assert_cmpuint(one.ok, ==, 1);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 6 * G_USEC_PER_SEC);
  }

  /* After a (debounced) network change the links are rebuilt on demand. */
  for (int i = 0; i < 5; i++)
    actr_node_network_event(f->client, ACTR_NETWORK_CHANGED);
  g_usleep(700 * 1000);
  g_autofree char *after = call_text(f->client, "acme:echo:1.0.0", "echo.Echo.Echo", "again");
  g_assert_cmpstr(after, ==, "again");
}

/* A signed .actr package: verified against the realm's actrd (trust
 * dev_only asks its /mfr registry), registered in PACKAGE mode, served.  A
 * package signed by an unknown key is refused before anything runs. */
static void
test_package(void)
{
  g_autoptr(ActrdHarness) actrd = actrd_harness_new(actrd_path);
  g_autofree char *dir = g_dir_make_tmp("test-node-pkg-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrMfrKey) key = actr_mfr_key_generate("acme", NULL, &error);
  g_autoptr(ActrMfrKey) rogue = actr_mfr_key_generate("acme", NULL, &error);
  guint8 pub[32];
  g_auto(ActrdRun) admin = {0};

  g_assert_no_error(error);
  actr_signing_key_get_public(key->key, pub);
  g_autofree char *pub_b64 = g_base64_encode(pub, sizeof pub);
  actrd_harness_admin(actrd, &admin, "mfr", "add", "acme", "--key-id", key->key_id, "--public-key",
                      pub_b64, NULL);
  g_assert_cmpint(admin.exit_code, ==, 0);
  actrd_harness_start(actrd, "--dev", NULL);

  g_autofree char *good = g_build_filename(dir, "echo.actr", NULL);
  g_autofree char *bad = g_build_filename(dir, "rogue.actr", NULL);
  ActrPackageBuildOptions build = {.workload_path = echo_so, .key = key};
  g_assert_true(actr_package_build_file(&build, good, &error));
  build.key = rogue;
  g_assert_true(actr_package_build_file(&build, bad, &error));
  g_assert_no_error(error);

  g_autofree char *text = g_strdup_printf(
      "edition = 1\n[signaling]\nurl = \"ws://127.0.0.1:%u/signaling/ws\"\n"
      "[ais_endpoint]\nurl = \"http://127.0.0.1:%u/ais\"\n[deployment]\nrealm_id = 1\n"
      "[websocket]\nlisten_port = 0\n[hyper]\ndata_dir = \"%s\"\n",
      actrd_harness_port(actrd), actrd_harness_port(actrd), dir);
  g_autoptr(ActrConfig) config = actr_config_load_data(text, strlen(text), "pkg.toml", &error);
  g_assert_no_error(error);

  ActrNodeOptions rogue_options = {.workload_path = bad};
  ActrNode *refused = actr_node_new(config, &rogue_options, &error);
  g_assert_null(refused);
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_UNTRUSTED);
  g_clear_error(&error);

  ActrNodeOptions options = {.workload_path = good};
  g_autoptr(ActrNode) node = actr_node_new(config, &options, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(actr_node_get_type(node), ==, "acme:echo:1.0.0");
  g_assert_true(actr_node_start(node, &error));
  g_assert_no_error(error);

  ActrNodeOptions client_options = {.no_websocket_server = TRUE};
  g_autoptr(ActrNode) client = actr_node_new(config, &client_options, &error);
  g_assert_no_error(error);
  g_assert_true(actr_node_start(client, &error));
  g_autofree char *reply = call_text(client, "acme:echo:1.0.0", "echo.Echo.Echo", "signed");
  g_assert_cmpstr(reply, ==, "signed");
  g_clear_pointer(&client, actr_node_free);
  g_clear_pointer(&node, actr_node_free);
  actrd_harness_remove_tree(dir);
}

/* ---- WebRTC: glare, fallback ---------------------------------------------------------- */

typedef struct {
  GMainLoop *loop;
  guint remaining;
  guint ok;
} Pair;

static void
on_pair_call(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pair *p = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = actr_node_call_finish(NULL, result, &error);
  g_assert_no_error(error);
  if (reply != NULL)
    p->ok++;
  if (--p->remaining == 0)
    g_main_loop_quit(p->loop);
}

/* Both nodes call each other at the same moment, with no connection yet:
 * two RoleNegotiations cross (glare); actrd assigns one offerer, and both
 * calls are answered over one connection. */
static void
test_glare(Fixture *f, gconstpointer data)
{
  g_autofree char *a_id = actr_node_dup_id(f->relay_a);
  g_autofree char *b_id = actr_node_dup_id(f->relay_b);
  GMainContext *ctx = g_main_context_new();
  Pair p = {g_main_loop_new(ctx, FALSE), 20, 0};

  g_main_context_push_thread_default(ctx);
  for (int i = 0; i < 10; i++) {
    actr_node_call_async(f->relay_a, b_id, "relay.Relay.Events", NULL, NULL, NULL, on_pair_call,
                         &p);
    actr_node_call_async(f->relay_b, a_id, "relay.Relay.Events", NULL, NULL, NULL, on_pair_call,
                         &p);
  }
  g_main_loop_run(p.loop);
  g_main_context_pop_thread_default(ctx);
  g_assert_cmpuint(p.ok, ==, 20);
  g_main_loop_unref(p.loop);
  g_main_context_unref(ctx);
  /* Later calls reuse what was set up, both ways. */
  g_autofree char *ea = call_text(f->relay_a, b_id, "relay.Relay.Events", "");
  g_autofree char *eb = call_text(f->relay_b, a_id, "relay.Relay.Events", "");
  g_assert_cmpint(g_ascii_strtoll(ea, NULL, 10), >=, 1);
  g_assert_cmpint(g_ascii_strtoll(eb, NULL, 10), >=, 1);
}

/* A callee that has WebRTC turned off is still reached: the caller's WebRTC
 * attempt gets no answer, and it falls back to WebSocket direct-connect. */
static void
test_websocket_fallback(Fixture *f, gconstpointer data)
{
  ActrNode *plain =
      start_node(f, "plain", echo_so, "acme:plain:1.0.0", "[webrtc]\nenabled = false\n");
  g_autofree char *plain_id = actr_node_dup_id(plain);
  gint64 t0 = g_get_monotonic_time();
  g_autofree char *reply = call_text(f->client, plain_id, "echo.Echo.Echo", "over ws");

  g_assert_cmpstr(reply, ==, "over ws");
  g_test_message("fallback call took %.1f s", (g_get_monotonic_time() - t0) / 1e6);
  /* Within the WebRTC budgets (5 s role + 10 s connection) plus the dial. */
  g_assert_cmpint(g_get_monotonic_time() - t0, <, 16 * G_USEC_PER_SEC);
  /* Once fallen back, calls go straight to the WebSocket link. */
  t0 = g_get_monotonic_time();
  g_autofree char *again = call_text(f->client, plain_id, "echo.Echo.Echo", "again");
  g_assert_cmpstr(again, ==, "again");
  g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
  actr_node_free(plain);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (argc < 6) {
    g_printerr("usage: %s ACTRD LIBECHO LIBCOUNTER LIBRELAY_A LIBRELAY_B\n", argv[0]);
    return 2;
  }
  actrd_path = argv[1];
  echo_so = argv[2];
  counter_so = argv[3];
  relay_a_so = argv[4];
  relay_b_so = argv[5];
  g_test_add("/node/calls", Fixture, NULL, fixture_set_up, test_calls, fixture_tear_down);
  g_test_add("/node/acl-dedup-tell", Fixture, NULL, fixture_set_up, test_acl_and_dedup,
             fixture_tear_down);
  g_test_add("/node/host-operations", Fixture, NULL, fixture_set_up, test_host_operations,
             fixture_tear_down);
  g_test_add("/node/data-stream", Fixture, NULL, fixture_set_up, test_data_stream,
             fixture_tear_down);
  g_test_add("/node/concurrent-network-event", Fixture, NULL, fixture_set_up,
             test_concurrent_and_network_event, fixture_tear_down);
  g_test_add("/node/presence", Fixture, NULL, fixture_set_up, test_presence, fixture_tear_down);
  g_test_add("/node/webrtc-glare", Fixture, NULL, fixture_set_up, test_glare, fixture_tear_down);
  g_test_add("/node/websocket-fallback", Fixture, NULL, fixture_set_up, test_websocket_fallback,
             fixture_tear_down);
  g_test_add_func("/node/package", test_package);
  return g_test_run();
}
