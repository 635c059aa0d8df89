/* End-to-end crash tests with real processes on 127.0.0.1.
 *
 * /e2e/crash/counter-retry-kill-9: client threads send "counter.Counter.Add 1"
 *   with distinct request ids (actr call --request-id) while the test kills
 *   the counter node with SIGKILL a few times and restarts it on the same
 *   store.  A call that failed is retried with the SAME request id until it
 *   succeeds.  Effectively-once means: the final total equals the number of
 *   distinct ids, and the replies are exactly 1..N (each Add ran once; a
 *   retry of an Add that had run gets the stored reply).
 *
 * /e2e/crash/actrd-kill-9: with an echo and a counter node running, actrd is
 *   killed with SIGKILL and restarted on the same data directory and port;
 *   the nodes must reconnect and re-register so that calls work again within
 *   30 s, and neither node may die meanwhile.
 */
#include <signal.h>
#include <string.h>

#include <glib.h>

#include "node-harness.h"

#define RUN_MS 30000

/* ---- counter retry across kill -9 ------------------------------------------------------------ */

#define N_REQUESTS     200
#define N_WORKERS      4
#define N_KILLS        3
#define RETRY_LIMIT_US (90 * G_USEC_PER_SEC) /* per request id */

typedef struct {
  const char *client;
  char *ids[N_REQUESTS];
  gint64 replies[N_REQUESTS]; /* the total each Add replied with */
  gint next;                  /* atomic: next request index to take */
  gint done;                  /* atomic: requests that succeeded */
  gint failed_attempts;       /* atomic: calls that failed and were retried */
  gint stuck;                 /* atomic: requests that never succeeded */
  GMutex lock;
  GHashTable *failure_kinds; /* "exit N / error CODE" -> count */
} Retry;

static void
count_failure(Retry *r, const E2eRun *run)
{
  guint code = e2e_run_error_code(run, NULL);
  g_autofree char *kind = run->timed_out
                              ? g_strdup("timed out (killed by the test)")
                              : g_strdup_printf("exit %d, error %u", run->exit_code, code);
  guint count;

  g_mutex_lock(&r->lock);
  count = GPOINTER_TO_UINT(g_hash_table_lookup(r->failure_kinds, kind));
  g_hash_table_insert(r->failure_kinds, g_steal_pointer(&kind), GUINT_TO_POINTER(count + 1));
  g_mutex_unlock(&r->lock);
  g_atomic_int_inc(&r->failed_attempts);
}

static gpointer
retry_worker(gpointer data)
{
  Retry *r = data;
  gint i;

  while ((i = g_atomic_int_add(&r->next, 1)) < N_REQUESTS) {
    gint64 give_up = g_get_monotonic_time() + RETRY_LIMIT_US;
    gboolean ok = FALSE;

    while (!ok && g_get_monotonic_time() < give_up) {
      g_auto(E2eRun) run = {0};
      char *end = NULL;
      const char *out;

      e2e_cli(&run, NULL, RUN_MS, "call", "--config", r->client, "acme:counter:1.0.0",
              "counter.Counter.Add", "--data", "1", "--request-id", r->ids[i], "--timeout", "5000",
              NULL);
      out = e2e_run_out(&run);
      if (run.exit_code == 0) {
        r->replies[i] = g_ascii_strtoll(out, &end, 10);
        if (end == out || *end != '\0')
          g_error("Add replied '%s', not a number", out);
        ok = TRUE;
      } else {
        count_failure(r, &run);
        g_usleep(g_random_int_range(100, 300) * 1000);
      }
    }
    if (ok)
      g_atomic_int_inc(&r->done);
    else
      g_atomic_int_inc(&r->stuck);
  }
  return NULL;
}

typedef struct {
  Retry *r;
  gint target;
} DoneWait;

static gboolean
done_reached(gpointer data)
{
  DoneWait *w = data;

  return g_atomic_int_get(&w->r->done) + g_atomic_int_get(&w->r->stuck) >= w->target;
}

static void
test_counter_retry_kill9(void)
{
  g_autoptr(E2eActrd) actrd = e2e_actrd_start(NULL);
  g_autofree char *dir = e2e_tmpdir_new();
  E2eNodeOptions options = {.workload = "counter"};
  g_autoptr(E2eNode) counter = e2e_node_new("counter", dir, e2e_actrd_url(actrd), &options);
  g_autofree char *client = e2e_write_client_config(dir, "client", e2e_actrd_url(actrd));
  GThread *workers[N_WORKERS];
  Retry r = {.client = client};
  g_autofree gboolean *seen = g_new0(gboolean, N_REQUESTS + 1);
  g_auto(E2eRun) run = {0};
  GHashTableIter iter;
  gpointer key, value;
  gint64 start = g_get_monotonic_time();

  g_mutex_init(&r.lock);
  r.failure_kinds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < N_REQUESTS; i++)
    r.ids[i] = g_uuid_string_random();
  e2e_node_start(counter);

  for (guint i = 0; i < N_WORKERS; i++)
    workers[i] = g_thread_new("retry-worker", retry_worker, &r);

  /* Kill at spread-out points of the stream, while calls are in flight. */
  for (guint k = 0; k < N_KILLS; k++) {
    DoneWait w = {&r, (gint)((k + 1) * N_REQUESTS / (N_KILLS + 2))};

    if (!e2e_wait_until(done_reached, &w, 120000))
      g_error("only %d of %d requests done after 120 s", g_atomic_int_get(&r.done), w.target);
    g_test_message("kill -9 #%u of the counter node after %d successful requests", k + 1,
                   g_atomic_int_get(&r.done));
    e2e_node_kill(counter);
    g_usleep(g_random_int_range(100, 500) * 1000);
    e2e_node_start(counter);
  }
  for (guint i = 0; i < N_WORKERS; i++)
    g_thread_join(workers[i]);

  g_test_message("%d requests in %.1f s, %d failed attempts retried", N_REQUESTS,
                 (g_get_monotonic_time() - start) / 1e6, g_atomic_int_get(&r.failed_attempts));
  g_hash_table_iter_init(&iter, r.failure_kinds);
  while (g_hash_table_iter_next(&iter, &key, &value))
    g_test_message("  failed attempts with %s: %u", (const char *)key, GPOINTER_TO_UINT(value));
  g_assert_cmpint(g_atomic_int_get(&r.stuck), ==, 0);
  g_assert_cmpint(g_atomic_int_get(&r.done), ==, N_REQUESTS);

  /* Each distinct Add ran exactly once: the total is N... */
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:counter:1.0.0",
          "counter.Counter.Get", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, G_STRINGIFY(N_REQUESTS));
  /* ...and the replies are 1..N, each once. */
  for (guint i = 0; i < N_REQUESTS; i++) {
    if (r.replies[i] < 1 || r.replies[i] > N_REQUESTS || seen[r.replies[i]])
      g_error("request %s replied %" G_GINT64_FORMAT
              " (out of range or a total another request already had)",
              r.ids[i], r.replies[i]);
    seen[r.replies[i]] = TRUE;
  }

  /* A late retry of an old id is answered from the store, not added. */
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:counter:1.0.0",
          "counter.Counter.Add", "--data", "1", "--request-id", r.ids[0], NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpint(g_ascii_strtoll(e2e_run_out(&run), NULL, 10), ==, r.replies[0]);
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:counter:1.0.0",
          "counter.Counter.Get", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, G_STRINGIFY(N_REQUESTS));

  for (guint i = 0; i < N_REQUESTS; i++)
    g_free(r.ids[i]);
  g_hash_table_unref(r.failure_kinds);
  g_mutex_clear(&r.lock);
  g_clear_pointer(&counter, e2e_node_free);
  e2e_remove_tree(dir);
}

/* ---- actrd kill -9 -------------------------------------------------------------------------- */

typedef struct {
  const char *client;
  const char *target;
  const char *route;
  const char *data;
  const char *expect; /* nullable: any reply */
  E2eRun run;
} CallWait;

static gboolean
call_works(gpointer data)
{
  CallWait *w = data;

  e2e_cli(&w->run, NULL, RUN_MS, "call", "--config", w->client, w->target, w->route, "--data",
          w->data, "--timeout", "3000", NULL);
  return w->run.exit_code == 0 &&
         (w->expect == NULL || strcmp(e2e_run_out(&w->run), w->expect) == 0);
}

static void
test_actrd_kill9(void)
{
  g_autoptr(E2eActrd) actrd = e2e_actrd_start(NULL);
  g_autofree char *dir = e2e_tmpdir_new();
  E2eNodeOptions echo_options = {.workload = "echo"};
  E2eNodeOptions counter_options = {.workload = "counter"};
  g_autoptr(E2eNode) echo = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  g_autoptr(E2eNode) counter = e2e_node_new("counter", dir, e2e_actrd_url(actrd), &counter_options);
  g_autofree char *client = e2e_write_client_config(dir, "client", e2e_actrd_url(actrd));
  CallWait echo_wait = {.client = client,
                        .target = "acme:echo:1.0.0",
                        .route = "echo.Echo.Echo",
                        .data = "again",
                        .expect = "again"};
  CallWait counter_wait = {.client = client,
                           .target = "acme:counter:1.0.0",
                           .route = "counter.Counter.Add",
                           .data = "1"};
  g_auto(E2eRun) run = {0};
  gint64 restarted;

  e2e_node_start(echo);
  e2e_node_start(counter);
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          "--data", "before", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, "before");
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:counter:1.0.0",
          "counter.Counter.Add", "--data", "1", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, "1");

  e2e_actrd_kill(actrd);
  g_usleep(500 * 1000); /* the nodes notice and start reconnecting */
  g_assert_true(e2e_node_is_alive(echo));
  g_assert_true(e2e_node_is_alive(counter));
  e2e_actrd_restart(actrd);
  restarted = g_get_monotonic_time();

  if (!e2e_wait_until(call_works, &echo_wait, 30000))
    g_error("calls to the echo node did not work again within 30 s of the actrd restart");
  g_test_message("echo answered %.1f s after the actrd restart",
                 (g_get_monotonic_time() - restarted) / 1e6);
  if (!e2e_wait_until(call_works, &counter_wait, 30000))
    g_error("calls to the counter node did not work again within 30 s of the actrd restart");
  g_test_message("counter answered %.1f s after the actrd restart",
                 (g_get_monotonic_time() - restarted) / 1e6);
  /* The counter kept its state through all this. */
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:counter:1.0.0",
          "counter.Counter.Get", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpint(g_ascii_strtoll(e2e_run_out(&run), NULL, 10), >=, 2);

  /* Both are discoverable again. */
  e2e_cli(&run, NULL, RUN_MS, "discover", "--config", client, NULL);
  e2e_assert_run_ok(&run);
  g_assert_nonnull(strstr(e2e_run_out(&run), "acme:echo:1.0.0"));
  g_assert_nonnull(strstr(e2e_run_out(&run), "acme:counter:1.0.0"));

  g_assert_true(e2e_node_is_alive(echo));
  g_assert_true(e2e_node_is_alive(counter));
  e2e_run_clear(&echo_wait.run);
  e2e_run_clear(&counter_wait.run);
  g_clear_pointer(&echo, e2e_node_free);
  g_clear_pointer(&counter, e2e_node_free);
  e2e_remove_tree(dir);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/e2e/crash/counter-retry-kill-9", test_counter_retry_kill9);
  g_test_add_func("/e2e/crash/actrd-kill-9", test_actrd_kill9);
  return g_test_run();
}
