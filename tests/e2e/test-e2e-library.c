/* End-to-end tests that need the library API (include/actr/node.h) in the
 * test process, against real actrd and `actr run` processes on 127.0.0.1.
 *
 * /e2e/library/1000-concurrent-calls: one client node built in this process
 *   puts 1,000 actr_node_call_async() calls in flight at once to an echo
 *   node process; every reply must come back and match its request.
 *
 * /e2e/library/callee-killed-mid-call: a call is waiting on an established
 *   link (the callee is SIGSTOPped) when the callee is killed with SIGKILL;
 *   the call must fail with an actr error soon after, not at its timeout.
 *
 * /e2e/library/credential-renewal: actrd issues credentials that live 5 s.
 *   A node in this process (echo workload, type acme:renewer:1.0.0) and an
 *   echo node process run past two lifetimes.  The in-process node must
 *   report CREDENTIAL_RENEWED; its outbound call to the other node (which
 *   checks the caller's credential at the WebSocket upgrade) must work, so
 *   its current credential is valid; and `actr call` must reach it by type
 *   and by its current ActrId (new or not).
 */
#include <signal.h>
#include <string.h>

#include <glib.h>
#include <actr/config.h>
#include <actr/node.h>

#include "library-node.h"
#include "node-harness.h"

#define RUN_MS 30000

/* ---- 1,000 concurrent calls ----------------------------------------------------------------- */

#define N_CALLS 1000

static void
test_concurrent_calls(void)
{
  g_autoptr(E2eActrd) actrd = e2e_actrd_start(NULL);
  g_autofree char *dir = e2e_tmpdir_new();
  E2eNodeOptions echo_options = {.workload = "echo"};
  g_autoptr(E2eNode) echo = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  g_autofree char *client_path = e2e_write_config(dir, "loadgen", e2e_actrd_url(actrd), NULL);
  ActrNodeOptions options = {.actr_type = "acme:loadgen:1.0.0"};
  g_autoptr(GBytes) hello = g_bytes_new_static("hello", 5);
  ActrConfig *config = NULL;
  ActrNode *client;

  e2e_node_start(echo);
  client = e2e_library_node_start(client_path, &options, &config);
  /* Warm up: route candidates and the link. */
  e2e_call_echo(client, "acme:echo:1.0.0", hello, ACTR_NODE_LANE_RPC_RELIABLE, 0);
  e2e_concurrent_echo_calls(client, N_CALLS, "acme:echo:1.0.0", e2e_node_id(echo), 0);

  actr_node_free(client);
  actr_config_free(config);
  g_clear_pointer(&echo, e2e_node_free);
  e2e_remove_tree(dir);
}

/* ---- a callee killed while a call waits on its link ---------------------------------------- */

typedef struct {
  ActrNode *node;
  gboolean done;
  GBytes *reply;
  GError *error;
  gint64 done_at;
} OneCall;

static void
one_call_done(GObject *source, GAsyncResult *result, gpointer data)
{
  OneCall *c = data;

  c->reply = actr_node_call_finish(c->node, result, &c->error);
  c->done_at = g_get_monotonic_time();
  c->done = TRUE;
}

static void
test_callee_killed(void)
{
  g_autoptr(E2eActrd) actrd = e2e_actrd_start(NULL);
  g_autofree char *dir = e2e_tmpdir_new();
  E2eNodeOptions echo_options = {.workload = "echo"};
  g_autoptr(E2eNode) echo = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  g_autofree char *client_path = e2e_write_config(dir, "caller", e2e_actrd_url(actrd), NULL);
  ActrNodeOptions options = {.actr_type = "acme:caller:1.0.0"};
  ActrCallOptions call_options = {.timeout_ms = 20000};
  GMainContext *ctx = g_main_context_new();
  g_autoptr(GBytes) hello = g_bytes_new_static("hello", 5);
  ActrConfig *config = NULL;
  ActrNode *client;
  OneCall c = {0};
  gint64 killed_at;

  e2e_node_start(echo);
  client = e2e_library_node_start(client_path, &options, &config);
  c.node = client;
  /* The link is up. */
  e2e_call_echo(client, e2e_node_id(echo), hello, ACTR_NODE_LANE_RPC_RELIABLE, 0);

  g_main_context_push_thread_default(ctx);
  e2e_node_signal(echo, SIGSTOP); /* the request waits in the callee's socket */
  actr_node_call_async(client, e2e_node_id(echo), "echo.Echo.Echo", hello, &call_options, NULL,
                       one_call_done, &c);
  g_usleep(300 * 1000);
  e2e_node_kill(echo); /* the kernel resets the link */
  killed_at = g_get_monotonic_time();
  while (!c.done && g_get_monotonic_time() < killed_at + 25 * G_USEC_PER_SEC) {
    if (!g_main_context_iteration(ctx, FALSE))
      g_usleep(1000);
  }
  g_assert_true(c.done);
  g_test_message("the call failed %.2f s after the callee was killed: %s",
                 (c.done_at - killed_at) / 1e6, c.error != NULL ? c.error->message : "(no error)");
  g_assert_null(c.reply);
  g_assert_nonnull(c.error);
  g_assert_true(c.error->domain == ACTR_ERROR);
  /* Promptly: not at the call's 20 s timeout. */
  g_assert_cmpint(c.done_at - killed_at, <, 6 * G_USEC_PER_SEC);
  g_clear_error(&c.error);

  actr_node_free(client);
  actr_config_free(config);
  g_main_context_pop_thread_default(ctx);
  g_main_context_unref(ctx);
  g_clear_pointer(&echo, e2e_node_free);
  e2e_remove_tree(dir);
}

/* ---- credential expiry -> renewal ----------------------------------------------------------- */

#define TTL_SECS 5

/* Records the renewer's events and logs the credential ones. */
static void
on_event(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value, gpointer data)
{
  e2e_events_record(node, event, detail, value, data);
  if (event == ACTR_NODE_EVENT_CREDENTIAL_RENEWED || event == ACTR_NODE_EVENT_CREDENTIAL_EXPIRING)
    g_printerr("[renewer event] %s: %s\n",
               event == ACTR_NODE_EVENT_CREDENTIAL_RENEWED ? "renewed" : "expiring",
               detail != NULL ? detail : "");
}

typedef struct {
  E2eEvents *ev;
  guint after; /* renewals counted when start() returned */
} RenewWait;

static gboolean
renewed_since_start(gpointer data)
{
  RenewWait *w = data;

  return e2e_events_count(w->ev, ACTR_NODE_EVENT_CREDENTIAL_RENEWED) > w->after;
}

/* `actr call` to the renewer's current ActrId.  The id changes at every
 * renewal (every few seconds here), so a call that raced with one is
 * repeated with the new id. */
static void
call_current_id(ActrNode *renewer, const char *client)
{
  for (guint attempt = 0;; attempt++) {
    g_autofree char *id = actr_node_dup_id(renewer);
    g_autofree char *after = NULL;
    g_auto(E2eRun) run = {0};

    e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, id, "echo.Echo.Echo", "--data", "by id",
            NULL);
    if (run.exit_code == 0) {
      g_assert_cmpstr(e2e_run_out(&run), ==, "by id");
      return;
    }
    after = actr_node_dup_id(renewer);
    if (strcmp(after, id) == 0 || attempt == 3)
      g_error("actr call to the renewer's current id %s failed (stderr above)", id);
    g_test_message("the renewer's id changed during the call (%s -> %s); again", id, after);
  }
}

static void
test_credential_renewal(void)
{
  g_autoptr(E2eActrd) actrd =
      e2e_actrd_start("token_ttl_secs = " G_STRINGIFY(TTL_SECS) "\nheartbeat_interval_secs = 1\n");
  g_autofree char *dir = e2e_tmpdir_new();
  E2eNodeOptions echo_options = {.workload = "echo"};
  g_autoptr(E2eNode) echo = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  g_autofree char *echo_path = e2e_workload_path("echo");
  g_autofree char *renewer_db = g_build_filename(dir, "renewer.db", NULL);
  g_autofree char *body = g_strdup_printf("[websocket]\n"
                                          "listen_port = 0\n"
                                          "[storage]\n"
                                          "mailbox_path = \"%s\"\n",
                                          renewer_db);
  g_autofree char *renewer_path = e2e_write_config(dir, "renewer", e2e_actrd_url(actrd), body);
  g_autofree char *client = e2e_write_client_config(dir, "client", e2e_actrd_url(actrd));
  E2eEvents ev;
  RenewWait wait = {.ev = &ev};
  ActrNodeOptions options = {.workload_path = echo_path,
                             .actr_type = "acme:renewer:1.0.0",
                             .on_event = on_event,
                             .user_data = &ev};
  ActrConfig *config = NULL;
  ActrNode *renewer;
  g_autofree char *first_id = NULL, *current_id = NULL;
  g_auto(E2eRun) run = {0};
  gint64 started;

  e2e_events_init(&ev);
  e2e_node_start(echo);
  renewer = e2e_library_node_start(renewer_path, &options, &config);
  started = g_get_monotonic_time();
  wait.after = e2e_events_count(&ev, ACTR_NODE_EVENT_CREDENTIAL_RENEWED);
  first_id = actr_node_dup_id(renewer);
  g_test_message("renewer started as %s", first_id);

  /* Past two lifetimes, and at least one renewal. */
  g_usleep((2 * TTL_SECS + 1) * G_USEC_PER_SEC);
  if (!e2e_wait_until(renewed_since_start, &wait, 10000))
    g_error("no CREDENTIAL_RENEWED event %.1f s after start with %d s credentials "
            "(%u expiring events)",
            (g_get_monotonic_time() - started) / 1e6, TTL_SECS,
            e2e_events_count(&ev, ACTR_NODE_EVENT_CREDENTIAL_EXPIRING));
  /* The last event names the id the node now uses (read again when a
   * renewal slipped in between). */
  for (guint attempt = 0;; attempt++) {
    g_autofree char *last_id = NULL;

    g_free(current_id);
    current_id = actr_node_dup_id(renewer);
    last_id = e2e_events_dup_last_detail(&ev, ACTR_NODE_EVENT_CREDENTIAL_RENEWED);
    if (g_strcmp0(last_id, current_id) == 0)
      break;
    if (attempt == 5)
      g_error("the last CREDENTIAL_RENEWED named %s but the node's id is %s", last_id, current_id);
    g_usleep(200 * 1000);
  }
  g_test_message("after %.1f s: %u renewals since start, id %s -> %s",
                 (g_get_monotonic_time() - started) / 1e6,
                 e2e_events_count(&ev, ACTR_NODE_EVENT_CREDENTIAL_RENEWED) - wait.after, first_id,
                 current_id);

  /* Its outbound calls present a valid credential: the echo node verifies
   * it at the WebSocket upgrade (this is the first link between them). */
  {
    g_autoptr(GBytes) data = g_bytes_new_static("renewed", 7);

    e2e_call_echo(renewer, "acme:echo:1.0.0", data, ACTR_NODE_LANE_RPC_RELIABLE, 0);
  }

  /* Others reach it by type (route candidates name its current id) and by
   * its current id. */
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:renewer:1.0.0", "echo.Echo.Echo",
          "--data", "by type", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, "by type");
  call_current_id(renewer, client);
  e2e_cli(&run, NULL, RUN_MS, "discover", "--config", client, NULL);
  e2e_assert_run_ok(&run);
  g_assert_nonnull(strstr(e2e_run_out(&run), "acme:renewer:1.0.0"));

  /* The echo node process also lived through the expiry. */
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          "--data", "echo renewed", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, "echo renewed");

  actr_node_free(renewer);
  actr_config_free(config);
  e2e_events_clear(&ev);
  g_clear_pointer(&echo, e2e_node_free);
  e2e_remove_tree(dir);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  e2e_quiet_debug_logs();
  g_test_add_func("/e2e/library/1000-concurrent-calls", test_concurrent_calls);
  g_test_add_func("/e2e/library/credential-renewal", test_credential_renewal);
  g_test_add_func("/e2e/library/callee-killed-mid-call", test_callee_killed);
  return g_test_run();
}
