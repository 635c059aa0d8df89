/* Unit tests for src/workload: loading the real example workloads and
 * running the counter effectively-once on the real store.
 * Usage: test-workload ECHO_SO COUNTER_SO BAD_ABI_SO [--tap] */
#include <actr/error.h>
#include <actr/store.h>

#include "invocation.h"
#include "workload-loader.h"

#include <glib/gstdio.h>
#include <string.h>

static const char *echo_path, *counter_path, *bad_abi_path;

static ActrWorkload *
load(const char *path)
{
  g_autoptr(GError) error = NULL;
  ActrWorkload *w = actr_workload_load(path, &error);
  g_assert_no_error(error);
  g_assert_true(actr_workload_init(w, actr_invocation_host_api(), &error));
  g_assert_no_error(error);
  return w;
}

/* Runs one request; returns the response or NULL with @error set. */
static GBytes *
invoke(ActrWorkload *w, ActrInvocationCtx *ctx, const char *route, const char *payload,
       GError **error)
{
  int32_t status =
      actr_workload_handle(w, ctx, route, (const guint8 *)payload, payload ? strlen(payload) : 0);
  GBytes *response = NULL;
  if (!actr_invocation_finish(ctx, status, &response, error))
    return NULL;
  return response;
}

static void
test_echo(void)
{
  g_autoptr(ActrWorkload) w = load(echo_path);
  g_assert_cmpstr(actr_workload_get_name(w), ==, "echo");
  g_assert_cmpstr(actr_workload_get_actr_type(w), ==, "acme:echo:1.0.0");
  g_autoptr(ActrInvocationCtx) ctx = actr_invocation_new(NULL, "1@1/acme:echo:1.0.0", NULL, "r1");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = invoke(w, ctx, "echo.Echo.Echo", "hello", &error);
  g_assert_no_error(error);
  g_assert_cmpmem(g_bytes_get_data(reply, NULL), g_bytes_get_size(reply), "hello", 5);

  g_autoptr(ActrInvocationCtx) ctx2 = actr_invocation_new(NULL, "1@1/acme:echo:1.0.0", NULL, "r2");
  g_assert_null(invoke(w, ctx2, "echo.Echo.Nope", "x", &error));
  /* The guest's error keeps its variant on the wire (not collapsed to 10010). */
  g_assert_error(error, ACTR_ERROR, ACTR_ERROR_UNKNOWN_ROUTE);
  g_assert_cmpstr(error->message, ==, "unknown route: echo.Echo.Nope");
}

typedef struct {
  char *dir;
  char *path;
} Dir;

/* One node step: take the next message, run the counter, commit the answer
 * with its state writes.  With @crash, stop after the handler (no ack). */
static char *
counter_step(ActrStore *store, ActrWorkload *w, const char *route, gboolean crash)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) batch = actr_store_dequeue(store, 1, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(batch->len, ==, 1);
  ActrStoreMessage *m = batch->pdata[0];
  g_autofree char *payload = g_strndup(g_bytes_get_data(m->envelope, NULL), m->envelope_size);
  g_autoptr(ActrInvocationCtx) ctx =
      actr_invocation_new(store, "2@1/acme:counter:1.0.0", "3@1/actr:cli:1", m->request_id);
  g_autoptr(GBytes) reply = invoke(w, ctx, route, payload, &error);
  if (crash)
    return NULL;
  g_autoptr(GArray) writes = actr_invocation_state_writes(ctx);
  if (reply == NULL) {
    /* An error answer: no state is applied with it. */
    g_assert_cmpuint(writes->len, ==, 0);
    g_autofree char *message = g_strdup(error->message);
    g_assert_true(actr_store_ack(store, m->id, NULL, NULL));
    return g_steal_pointer(&message);
  }
  g_assert_true(actr_store_ack_with_state(store, m->id, reply, (ActrStateWrite *)writes->data,
                                          writes->len, &error));
  g_assert_no_error(error);
  return g_strndup(g_bytes_get_data(reply, NULL), g_bytes_get_size(reply));
}

static void
send(ActrStore *store, const char *request_id, const char *payload, ActrEnqueueResult *result)
{
  g_autoptr(GBytes) env = g_bytes_new(payload, strlen(payload));
  ActrInboundMessage msg = {.request_id = request_id, .envelope = env};
  g_assert_true(actr_store_enqueue(store, &msg, result, NULL));
}

static void
test_counter_effectively_once(void)
{
  g_autofree char *dir = g_dir_make_tmp("actr-workload-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "mailbox.db", NULL);
  g_autoptr(ActrWorkload) w = load(counter_path);
  ActrStore *store = actr_store_open(path, NULL, NULL);
  ActrEnqueueResult r;
  const char *adds[] = {"5", "7", "-2"};
  for (guint i = 0; i < G_N_ELEMENTS(adds); i++) {
    g_autofree char *rid = g_strdup_printf("add-%u", i);
    send(store, rid, adds[i], &r);
    actr_enqueue_result_clear(&r);
    g_autofree char *total = counter_step(store, w, "counter.Counter.Add", FALSE);
    g_assert_cmpstr(total, ==, i == 0 ? "5" : i == 1 ? "12" : "10");
  }
  /* Crash after the handler, before the commit: nothing of it counts. */
  send(store, "add-3", "3", &r);
  actr_enqueue_result_clear(&r);
  g_assert_null(counter_step(store, w, "counter.Counter.Add", TRUE));
  actr_store_close(store);
  store = actr_store_open(path, NULL, NULL);
  g_autofree char *again = counter_step(store, w, "counter.Counter.Add", FALSE);
  g_assert_cmpstr(again, ==, "13");
  /* The caller retries add-3: the stored reply, no second addition. */
  send(store, "add-3", "3", &r);
  g_assert_cmpint(r.outcome, ==, ACTR_ENQUEUE_DUPLICATE_DONE);
  g_assert_cmpmem(g_bytes_get_data(r.response, NULL), g_bytes_get_size(r.response), "13", 2);
  actr_enqueue_result_clear(&r);
  /* A bad payload is an error answer with no state change. */
  send(store, "bad", "twelve", &r);
  actr_enqueue_result_clear(&r);
  g_autofree char *bad = counter_step(store, w, "counter.Counter.Add", FALSE);
  g_assert_nonnull(strstr(bad, "invalid argument"));
  send(store, "get", "", &r);
  actr_enqueue_result_clear(&r);
  g_autofree char *total = counter_step(store, w, "counter.Counter.Get", FALSE);
  g_assert_cmpstr(total, ==, "13");
  actr_store_close(store);
  const char *files[] = {"mailbox.db", "mailbox.db-wal", "mailbox.db-shm", "mailbox.db.lock"};
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *f = g_build_filename(dir, files[i], NULL);
    g_unlink(f);
  }
  g_rmdir(dir);
}

static void
test_rejects(void)
{
  g_autoptr(GError) error = NULL;
  g_assert_null(actr_workload_load(bad_abi_path, &error));
  g_assert_error(error, ACTR_WORKLOAD_ERROR, ACTR_WORKLOAD_ERROR_ABI);
  g_assert_nonnull(strstr(error->message, "ABI 99"));
  g_assert_nonnull(strstr(error->message, bad_abi_path));
  g_clear_error(&error);
  g_assert_null(actr_workload_load("/nonexistent/libnothing.so", &error));
  g_assert_error(error, ACTR_WORKLOAD_ERROR, ACTR_WORKLOAD_ERROR_LOAD);
  g_clear_error(&error);
  /* A real shared library that is not a workload. */
  g_assert_null(actr_workload_load("libz.so.1", &error));
  g_assert_nonnull(error);
  g_assert_true(error->code == ACTR_WORKLOAD_ERROR_SYMBOL ||
                error->code == ACTR_WORKLOAD_ERROR_LOAD);
}

static int32_t
fake_call(gpointer data, ActrInvocationCtx *ctx, const char *target, const char *route_key,
          const guint8 *payload, gsize len, gint64 timeout_ms, GBytes **reply, char **message)
{
  if (strcmp(target, "acme:echo:1.0.0") != 0) {
    *message = g_strdup("no such target");
    return ACTR_ERROR_NOT_FOUND;
  }
  *reply = g_bytes_new(payload, len);
  return 0;
}

static void
test_router(void)
{
  const ActrHostApi *host = actr_invocation_host_api();
  g_autoptr(ActrInvocationCtx) ctx = actr_invocation_new(NULL, "1@1/a:b:1", NULL, "r");
  const uint8_t *reply = NULL;
  size_t len = 0;
  /* Not connected yet: unavailable, not a crash. */
  g_assert_cmpint(host->call(ctx, "acme:echo:1.0.0", "echo.Echo.Echo", (const uint8_t *)"x", 1,
                             1000, &reply, &len),
                  ==, ACTR_ERROR_UNAVAILABLE);
  static const ActrInvocationRouter router = {.call = fake_call};
  actr_invocation_set_router(ctx, &router, NULL);
  g_assert_cmpint(host->call(ctx, "acme:echo:1.0.0", "echo.Echo.Echo", (const uint8_t *)"xy", 2,
                             1000, &reply, &len),
                  ==, 0);
  g_assert_cmpmem(reply, len, "xy", 2);
  g_assert_cmpint(host->call(ctx, "acme:other:1", "r", NULL, 0, 1000, &reply, &len), ==,
                  ACTR_ERROR_NOT_FOUND);
  g_assert_cmpint(host->tell(ctx, "acme:echo:1.0.0", "r", NULL, 0), ==, ACTR_ERROR_UNAVAILABLE);
  /* State without a store is unavailable; identity accessors work. */
  g_assert_cmpint(host->state_put(ctx, "k", (const uint8_t *)"v", 1), ==, ACTR_ERROR_UNAVAILABLE);
  g_assert_cmpstr(host->self_id(ctx), ==, "1@1/a:b:1");
  g_assert_null(host->caller_id(ctx));
  g_assert_cmpstr(host->request_id(ctx), ==, "r");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (argc < 4) {
    g_printerr("usage: %s ECHO_SO COUNTER_SO BAD_ABI_SO\n", argv[0]);
    return 2;
  }
  echo_path = argv[1];
  counter_path = argv[2];
  bad_abi_path = argv[3];
  g_test_add_func("/workload/echo", test_echo);
  g_test_add_func("/workload/counter/effectively-once", test_counter_effectively_once);
  g_test_add_func("/workload/rejects", test_rejects);
  g_test_add_func("/workload/router", test_router);
  return g_test_run();
}
