/* End-to-end tests of the `actr` client commands (spec/cli.md) against real
 * node processes: the real actrd (--dev), an echo node and a counter node
 * started once for the whole program, plus per-test nodes for the ACL and
 * timeout cases.  Everything runs on 127.0.0.1.
 *
 *   call      by type and by ActrId, 1 MiB --data-file, stdin, empty payload, --json
 *   errors    unknown route 10006, ACL deny 10004, timeout 10002 (SIGSTOPped callee),
 *             unknown type, usage and configuration errors (exit 2)
 *   tell      counter Add through tell, then Get
 *   discover  plain and --json, --manufacturer
 *   ping      --count 5: five RTT lines and a min/p50/p99 summary
 */
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include <libsoup/soup.h>

#include "node-harness.h"

#define RUN_MS 30000 /* a CLI command that takes longer is killed and fails */

static E2eActrd *actrd;
static char *dir;
static E2eNode *echo_node;
static guint16 echo_port; /* the echo node's WebSocket listener (and /metrics) */
static E2eNode *counter_node;
static char *client; /* client config (type actr:cli:1) */

/* ---- call ----------------------------------------------------------------------------------- */

static void
test_call_by_type(void)
{
  g_auto(E2eRun) run = {0};

  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          "--data", "hello", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, "hello");
}

static void
test_call_by_id(void)
{
  g_auto(E2eRun) run = {0};

  g_assert_nonnull(e2e_node_id(echo_node));
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, e2e_node_id(echo_node), "echo.Echo.Echo",
          "--data", "by id", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, "by id");
}

static GBytes *
random_bytes(gsize len)
{
  guint8 *data = g_malloc(len);

  for (gsize i = 0; i < len; i += 4) {
    guint32 r = g_random_int();

    memcpy(data + i, &r, MIN(4, len - i));
  }
  return g_bytes_new_take(data, len);
}

static void
test_call_data_file_1mib(void)
{
  g_autoptr(GBytes) data = random_bytes(1024 * 1024);
  g_autofree char *path = g_build_filename(dir, "payload-1mib.bin", NULL);
  g_autoptr(GError) error = NULL;
  g_auto(E2eRun) run = {0};
  gsize len;
  const guint8 *bytes = g_bytes_get_data(data, &len);

  g_file_set_contents(path, (const char *)bytes, (gssize)len, &error);
  g_assert_no_error(error);
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          "--data-file", path, NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpuint(e2e_run_out_len(&run), ==, len);
  g_assert_true(g_bytes_equal(run.out, data));
  g_unlink(path);
}

static void
test_call_stdin(void)
{
  g_autoptr(GBytes) data = random_bytes(64 * 1024);
  g_auto(E2eRun) run = {0};

  e2e_cli(&run, data, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          "--data", "-", NULL);
  e2e_assert_run_ok(&run);
  g_assert_true(g_bytes_equal(run.out, data));
}

static void
test_call_empty(void)
{
  g_autofree char *empty = g_build_filename(dir, "empty.bin", NULL);
  g_autoptr(GBytes) nothing = g_bytes_new(NULL, 0);
  g_autoptr(GError) error = NULL;
  g_auto(E2eRun) run = {0};

  /* No --data at all. */
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpuint(e2e_run_out_len(&run), ==, 0);

  /* An empty file. */
  g_file_set_contents(empty, "", 0, &error);
  g_assert_no_error(error);
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          "--data-file", empty, NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpuint(e2e_run_out_len(&run), ==, 0);

  /* Empty stdin. */
  e2e_cli(&run, nothing, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          "--data", "-", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpuint(e2e_run_out_len(&run), ==, 0);
  g_unlink(empty);
}

static void
test_call_json(void)
{
  g_auto(E2eRun) run = {0};

  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          "--data", "hello", "--json", NULL);
  e2e_assert_run_ok(&run);
  g_test_message("--json: %s", e2e_run_out(&run));
  g_assert_true(e2e_json_valid(e2e_run_out(&run), e2e_run_out_len(&run), FALSE));
  /* The payload as base64, and the route. */
  g_assert_nonnull(strstr(e2e_run_out(&run), "aGVsbG8="));
  g_assert_nonnull(strstr(e2e_run_out(&run), "echo.Echo.Echo"));
}

/* ---- errors --------------------------------------------------------------------------------- */

/* Asserts exit 3 and "error CODE: ..." on stderr; returns the message. */
static char *
assert_actr_error(const E2eRun *run, guint code)
{
  char *message = NULL;
  guint got = e2e_run_error_code(run, &message);

  if (run->exit_code != 3 || got != code)
    g_error("expected exit 3 with 'error %u: ...', got exit %d and stderr '%s'", code,
            run->exit_code, run->err);
  g_assert_nonnull(message);
  g_assert_cmpstr(message, !=, "");
  return message;
}

static void
test_error_unknown_route(void)
{
  g_auto(E2eRun) run = {0};
  g_autofree char *message = NULL;

  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Nope",
          "--data", "x", NULL);
  message = assert_actr_error(&run, 10006);
  g_assert_nonnull(strstr(message, "echo.Echo.Nope"));
  g_assert_cmpuint(e2e_run_out_len(&run), ==, 0);
}

static void
test_error_acl_deny(void)
{
  const char *acl = "[acl]\n"
                    "rules = [ { permission = \"ALLOW\", type = \"acme:someone-else:1.0.0\", "
                    "realm = \"*\" } ]\n";
  E2eNodeOptions options = {
      .workload = "echo", .actr_type = "acme:guarded:1.0.0", .extra_toml = acl};
  g_autoptr(E2eNode) guarded = e2e_node_new("guarded", dir, e2e_actrd_url(actrd), &options);
  g_autofree char *allowed = e2e_write_config(dir, "someone-else", e2e_actrd_url(actrd),
                                              "[package]\n"
                                              "actr_type = \"acme:someone-else:1.0.0\"\n");
  g_autofree char *message = NULL;
  g_auto(E2eRun) run = {0};

  e2e_node_start(guarded);

  /* actr:cli:1 is not in the callee's ACL. */
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:guarded:1.0.0", "echo.Echo.Echo",
          "--data", "let me in", NULL);
  message = assert_actr_error(&run, 10004);
  g_assert_true(g_str_has_prefix(message, "permission denied"));
  g_assert_cmpuint(e2e_run_out_len(&run), ==, 0);

  /* The one allowed type gets through (so the denial above was the ACL). */
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", allowed, "acme:guarded:1.0.0", "echo.Echo.Echo",
          "--data", "friend", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, "friend");
}

static void
test_error_timeout(void)
{
  E2eNodeOptions options = {.workload = "echo", .actr_type = "acme:sleepy:1.0.0"};
  g_autoptr(E2eNode) sleepy = e2e_node_new("sleepy", dir, e2e_actrd_url(actrd), &options);
  g_autofree char *message = NULL;
  g_auto(E2eRun) run = {0};
  gboolean answered = FALSE;

  e2e_node_start(sleepy);
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:sleepy:1.0.0", "echo.Echo.Echo",
          "--data", "awake", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, "awake");

  e2e_node_signal(sleepy, SIGSTOP);
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:sleepy:1.0.0", "echo.Echo.Echo",
          "--data", "asleep", "--timeout", "500", NULL);
  g_test_message("call to a stopped node took %.0f ms", run.elapsed_us / 1000.0);
  message = assert_actr_error(&run, 10002);
  /* The 500 ms bound is honoured (not the 30 s default or a 10 s dial
   * timeout); registration of the short-lived client comes on top. */
  g_assert_cmpint(run.elapsed_us, <, 8 * G_USEC_PER_SEC);

  /* Resumed, it answers again. */
  e2e_node_signal(sleepy, SIGCONT);
  for (guint attempt = 0; attempt < 5 && !answered; attempt++) {
    e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:sleepy:1.0.0", "echo.Echo.Echo",
            "--data", "awake again", "--timeout", "5000", NULL);
    answered = run.exit_code == 0;
  }
  g_assert_true(answered);
  g_assert_cmpstr(e2e_run_out(&run), ==, "awake again");
  g_assert_true(e2e_node_is_alive(sleepy));
}

/* Two callers send the same request_id while the callee cannot run it
 * (SIGSTOP): both get the one reply as soon as it exists, not a timeout. */
typedef struct {
  E2eRun run;
} DupCall;

static gpointer
dup_call_thread(gpointer data)
{
  DupCall *c = data;
  e2e_cli(&c->run, NULL, RUN_MS, "call", "--config", client, "acme:dupe:1.0.0", "echo.Echo.Echo",
          "--data", "once", "--request-id", "dup-1", "--timeout", "15000", NULL);
  return NULL;
}

static void
test_duplicate_in_flight(void)
{
  E2eNodeOptions options = {.workload = "echo", .actr_type = "acme:dupe:1.0.0"};
  g_autoptr(E2eNode) dupe = e2e_node_new("dupe", dir, e2e_actrd_url(actrd), &options);
  DupCall calls[2] = {{{0}}};
  GThread *threads[2];

  e2e_node_start(dupe);
  e2e_node_signal(dupe, SIGSTOP);
  for (guint i = 0; i < 2; i++)
    threads[i] = g_thread_new("dup-call", dup_call_thread, &calls[i]);
  g_usleep(1500 * 1000); /* both clients registered and sent (the TCP queue holds them) */
  e2e_node_signal(dupe, SIGCONT);
  for (guint i = 0; i < 2; i++) {
    g_thread_join(threads[i]);
    g_test_message("duplicate caller %u: exit %d after %.0f ms", i, calls[i].run.exit_code,
                   calls[i].run.elapsed_us / 1000.0);
    e2e_assert_run_ok(&calls[i].run);
    g_assert_cmpstr(e2e_run_out(&calls[i].run), ==, "once");
    g_assert_cmpint(calls[i].run.elapsed_us, <, 10 * G_USEC_PER_SEC);
    e2e_run_clear(&calls[i].run);
  }
}

static void
test_error_unknown_type(void)
{
  g_auto(E2eRun) run = {0};
  g_autofree char *message = NULL;
  guint code;

  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:nosuch:1.0.0", "echo.Echo.Echo",
          "--data", "anyone?", "--timeout", "5000", NULL);
  g_assert_cmpint(run.exit_code, ==, 3);
  code = e2e_run_error_code(&run, &message);
  g_test_message("unknown type -> error %u: %s", code, message);
  /* Not found (no candidate) or unavailable (nobody to route to). */
  g_assert_true(code == 10003 || code == 10001);
  g_assert_nonnull(message);
  g_assert_nonnull(strstr(message, "acme:nosuch:1.0.0"));
}

static void
test_error_usage(void)
{
  g_auto(E2eRun) run = {0};
  g_autofree char *bad = g_build_filename(dir, "bad.toml", NULL);
  g_autoptr(GError) error = NULL;

  /* Missing arguments, unknown flag. */
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          "--no-such-flag", NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
  /* Configuration errors name the file and line. */
  g_file_set_contents(bad, "edition = 1\n[signaling]\nurl = 42\n", -1, &error);
  g_assert_no_error(error);
  e2e_cli(&run, NULL, RUN_MS, "ping", "--config", bad, "acme:echo:1.0.0", NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
  g_assert_nonnull(strstr(run.err, "bad.toml:3"));
}

/* A TARGET that is neither an ActrId nor a type is a usage error (exit 2),
 * found before anything is sent: exit 3 is for errors the remote side
 * answered (cli.md). */
static void
test_error_bad_target(void)
{
  g_auto(E2eRun) run = {0};

  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "not a target", "echo.Echo.Echo", NULL);
  g_assert_nonnull(strstr(run.err, "not a target"));
  g_assert_cmpint(run.exit_code, ==, 2);
}

/* A configuration file that cannot be read is a configuration error:
 * exit 2 (cli.md; docs/config.md: "The actr CLI exits with status 2 on any
 * configuration error"), with a message naming the file. */
static void
test_error_missing_config(void)
{
  g_autofree char *missing = g_build_filename(dir, "missing.toml", NULL);
  g_auto(E2eRun) run = {0};

  e2e_cli(&run, NULL, RUN_MS, "call", "--config", missing, "acme:echo:1.0.0", "echo.Echo.Echo",
          NULL);
  g_assert_nonnull(strstr(run.err, "missing.toml"));
  g_assert_cmpint(run.exit_code, ==, 2);
}

/* ---- tell ----------------------------------------------------------------------------------- */

typedef struct {
  const char *expect;
  E2eRun run;
} GetWait;

static gboolean
counter_is(gpointer data)
{
  GetWait *w = data;

  e2e_cli(&w->run, NULL, RUN_MS, "call", "--config", client, "acme:counter:1.0.0",
          "counter.Counter.Get", NULL);
  return w->run.exit_code == 0 && strcmp(e2e_run_out(&w->run), w->expect) == 0;
}

static void
test_tell(void)
{
  g_auto(E2eRun) run = {0};
  GetWait w = {.expect = "5"};

  e2e_cli(&run, NULL, RUN_MS, "tell", "--config", client, "acme:counter:1.0.0",
          "counter.Counter.Add", "--data", "5", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpuint(e2e_run_out_len(&run), ==, 0); /* a tell has no reply */

  if (!e2e_wait_until(counter_is, &w, 10000))
    g_error("counter.Counter.Get did not return 5 within 10 s after the tell (last: exit %d, "
            "'%s')",
            w.run.exit_code, e2e_run_out(&w.run));
  e2e_run_clear(&w.run);

  /* The same counter through a call. */
  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:counter:1.0.0",
          "counter.Counter.Add", "--data", "2", NULL);
  e2e_assert_run_ok(&run);
  g_assert_cmpstr(e2e_run_out(&run), ==, "7");
}

/* ---- discover ------------------------------------------------------------------------------- */

static gboolean
has_line_with(const char *text, const char *needle)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++) {
    if (strstr(lines[i], needle) != NULL)
      return TRUE;
  }
  return FALSE;
}

static void
test_discover(void)
{
  g_auto(E2eRun) run = {0};

  e2e_cli(&run, NULL, RUN_MS, "discover", "--config", client, NULL);
  e2e_assert_run_ok(&run);
  g_test_message("discover:\n%s", e2e_run_out(&run));
  g_assert_true(has_line_with(e2e_run_out(&run), "acme:echo:1.0.0"));
  g_assert_true(has_line_with(e2e_run_out(&run), "acme:counter:1.0.0"));

  e2e_cli(&run, NULL, RUN_MS, "discover", "--config", client, "--json", NULL);
  e2e_assert_run_ok(&run);
  g_test_message("discover --json: %s", e2e_run_out(&run));
  g_assert_true(e2e_json_valid(e2e_run_out(&run), e2e_run_out_len(&run), FALSE));
  g_assert_nonnull(strstr(e2e_run_out(&run), "acme:echo:1.0.0"));

  e2e_cli(&run, NULL, RUN_MS, "discover", "--config", client, "--manufacturer", "acme", NULL);
  e2e_assert_run_ok(&run);
  g_assert_true(has_line_with(e2e_run_out(&run), "acme:echo:1.0.0"));

  e2e_cli(&run, NULL, RUN_MS, "discover", "--config", client, "--manufacturer", "nobody", NULL);
  e2e_assert_run_ok(&run);
  g_assert_null(strstr(e2e_run_out(&run), "acme:echo:1.0.0"));
}

/* ---- ping ----------------------------------------------------------------------------------- */

static void
test_ping(void)
{
  g_auto(E2eRun) run = {0};
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
  g_auto(GStrv) all = NULL;
  const char *summary;

  e2e_cli(&run, NULL, RUN_MS, "ping", "--config", client, "acme:echo:1.0.0", "--count", "5", NULL);
  e2e_assert_run_ok(&run);
  g_test_message("ping:\n%s", e2e_run_out(&run));
  all = g_strsplit(e2e_run_out(&run), "\n", -1);
  for (guint i = 0; all[i] != NULL; i++) {
    if (g_strstrip(all[i])[0] != '\0')
      g_ptr_array_add(lines, g_strdup(all[i]));
  }
  /* The transport line, five pings, the summary. */
  g_assert_cmpuint(lines->len, ==, 7);
  g_assert_true(
      g_str_has_prefix(g_ptr_array_index(lines, 0), "transport: WebRTC data channel to "));
  g_assert_nonnull(strstr(g_ptr_array_index(lines, 0), "@1/acme:echo:1.0.0 (direct)"));
  for (guint i = 1; i < 6; i++) {
    const char *line = g_ptr_array_index(lines, i);

    g_assert_nonnull(strstr(line, "time="));
  }
  summary = g_ptr_array_index(lines, 6);
  g_assert_nonnull(strstr(summary, "min"));
  g_assert_nonnull(strstr(summary, "p50"));
  g_assert_nonnull(strstr(summary, "p99"));
}

/* The value of the sample line starting with @name (a whole metric with its
 * labels) in Prometheus text @text, or -1. */
static gint64
metric_value(const char *text, const char *name)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix(lines[i], name) && lines[i][strlen(name)] == ' ')
      return g_ascii_strtoll(lines[i] + strlen(name) + 1, NULL, 10);
  }
  return -1;
}

/* GET /metrics on the callee: the transport choice is visible there. */
static void
test_metrics(void)
{
  g_auto(E2eRun) run = {0};
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupSession) session = soup_session_new();
  g_autofree char *url = g_strdup_printf("http://127.0.0.1:%u/metrics", echo_port);

  e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, "acme:echo:1.0.0", "echo.Echo.Echo",
          "--data", "m", NULL);
  e2e_assert_run_ok(&run);
  g_autoptr(SoupMessage) msg = soup_message_new("GET", url);
  g_autoptr(GBytes) body = soup_session_send_and_read(session, msg, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(soup_message_get_status(msg), ==, 200);
  g_autofree char *text = g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
  g_test_message("%s", text);
  g_assert_cmpint(metric_value(text, "actr_node_webrtc_enabled"), ==, 1);
  g_assert_cmpint(metric_value(text, "actr_node_webrtc_connected_total{path=\"direct\"}"), >=, 1);
  g_assert_cmpint(metric_value(text, "actr_node_websocket_fallbacks_total"), ==, 0);
  g_assert_cmpint(metric_value(text, "actr_node_webrtc_ended_total{reason=\"closed\"}"), >=, 0);
  /* Anything else on the listener still needs a credential. */
  g_autofree char *other = g_strdup_printf("http://127.0.0.1:%u/", echo_port);
  g_autoptr(SoupMessage) msg2 = soup_message_new("GET", other);
  g_autoptr(GBytes) body2 = soup_session_send_and_read(session, msg2, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(soup_message_get_status(msg2), ==, 401);
  g_assert_cmpuint(g_bytes_get_size(body2), >, 0);
}

int
main(int argc, char **argv)
{
  echo_port = e2e_free_port();
  E2eNodeOptions echo_options = {.workload = "echo", .ws_port = echo_port};
  E2eNodeOptions counter_options = {.workload = "counter"};
  int rc;

  g_test_init(&argc, &argv, NULL);

  g_test_add_func("/e2e/cli/call/by-type", test_call_by_type);
  g_test_add_func("/e2e/cli/call/by-id", test_call_by_id);
  g_test_add_func("/e2e/cli/call/data-file-1mib", test_call_data_file_1mib);
  g_test_add_func("/e2e/cli/call/stdin", test_call_stdin);
  g_test_add_func("/e2e/cli/call/empty", test_call_empty);
  g_test_add_func("/e2e/cli/call/json", test_call_json);
  g_test_add_func("/e2e/cli/errors/unknown-route", test_error_unknown_route);
  g_test_add_func("/e2e/cli/errors/acl-deny", test_error_acl_deny);
  g_test_add_func("/e2e/cli/errors/timeout", test_error_timeout);
  g_test_add_func("/e2e/cli/errors/unknown-type", test_error_unknown_type);
  g_test_add_func("/e2e/cli/call/duplicate-in-flight", test_duplicate_in_flight);
  g_test_add_func("/e2e/cli/errors/usage", test_error_usage);
  g_test_add_func("/e2e/cli/errors/missing-config", test_error_missing_config);
  g_test_add_func("/e2e/cli/errors/bad-target", test_error_bad_target);
  g_test_add_func("/e2e/cli/tell", test_tell);
  g_test_add_func("/e2e/cli/discover", test_discover);
  g_test_add_func("/e2e/cli/ping", test_ping);
  g_test_add_func("/e2e/cli/metrics", test_metrics);

  actrd = e2e_actrd_start(NULL);
  dir = e2e_tmpdir_new();
  echo_node = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  counter_node = e2e_node_new("counter", dir, e2e_actrd_url(actrd), &counter_options);
  e2e_node_start(echo_node);
  e2e_node_start(counter_node);
  client = e2e_write_client_config(dir, "client", e2e_actrd_url(actrd));

  rc = g_test_run();

  g_clear_pointer(&echo_node, e2e_node_free);
  g_clear_pointer(&counter_node, e2e_node_free);
  g_clear_pointer(&actrd, e2e_actrd_free);
  e2e_remove_tree(dir);
  g_free(dir);
  g_free(client);
  return rc;
}
