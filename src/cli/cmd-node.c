/* actr CLI — the commands that run a node: "actr run" (a long-running node
 * with a workload) and the short-lived client commands "actr call", "tell",
 * "discover" and "ping", which register a client node, do their job and
 * unregister (spec/cli.md). */
#include "cmd-node.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <actr/config.h>
#include <actr/node.h>

#include "cli-common.h"
#include "cli-json.h"

#define PING_ROUTE   "actr.Node.Ping"
#define PING_PAYLOAD 32
#define CONFIG_HELP  "The node's configuration file (actr.toml, see docs/config.md).  Required."
#define TIMEOUT_HELP "Give up after MS milliseconds (default 30000), retries included."

static int
parse_done(int rc)
{
  return rc == ACTR_CLI_HELP_SHOWN ? ACTR_EXIT_OK : rc;
}

/* Loads --config; prints the error (naming file and line) and returns the
 * exit code on failure. */
static int
load_config(const char *command, const char *path, ActrConfig **out)
{
  g_autoptr(GError) error = NULL;

  if (path == NULL)
    return actr_cli_usage_error(command, "--config FILE is required");
  *out = actr_config_load_file(path, &error);
  if (*out == NULL) {
    /* A missing or unreadable config file is a usage error too (cli.md). */
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_USAGE;
  }
  return 0;
}

/* Prints an error from the node: actr errors as "error CODE: MESSAGE"
 * (exit 3), anything else as a plain failure (exit 1). */
static int
report_failure(const GError *error)
{
  if (error->domain == ACTR_ERROR) {
    fprintf(stderr, "error %d: %s\n", error->code, error->message);
    return ACTR_EXIT_REMOTE;
  }
  actr_cli_error("%s", error->message);
  return ACTR_EXIT_FAILURE;
}

/* TARGET must be an ActrId or an actor type: a usage error otherwise,
 * before anything connects. */
static int
check_target(const char *command, const char *target)
{
  g_autoptr(GError) error = NULL;
  g_auto(ActrId) id = {0};
  ActrType type = {0};

  if (strchr(target, '@') != NULL ? actr_id_parse(target, &id, &error)
                                  : actr_type_parse(target, &type, &error)) {
    actr_type_clear(&type);
    return 0;
  }
  return actr_cli_usage_error(command, "TARGET '%s' is neither an ActrId nor an actor type: %s",
                              target, error->message);
}

/* Builds and starts a client node (no workload, no listener); @on_event
 * (nullable) observes it. */
static int
start_client_observed(const char *command, const char *config_path, ActrConfig **config,
                      ActrNode **node, ActrNodeEventFunc on_event, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  ActrNodeOptions options = {
      .no_websocket_server = TRUE,
      .on_event = on_event,
      .user_data = user_data,
  };
  int rc = load_config(command, config_path, config);

  if (rc != 0)
    return rc;
  *node = actr_node_new(*config, &options, &error);
  if (*node == NULL) {
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_USAGE;
  }
  actr_cli_status("connecting to %s", (*config)->signaling_url);
  if (!actr_node_start(*node, &error)) {
    actr_cli_error("cannot start the client node: %s", error->message);
    return ACTR_EXIT_FAILURE;
  }
  return 0;
}

static int
start_client(const char *command, const char *config_path, ActrConfig **config, ActrNode **node)
{
  return start_client_observed(command, config_path, config, node, NULL, NULL);
}

/* ---- actr run --------------------------------------------------------------- */

static const ActrCliHelp run_help = {
    .command = "run",
    .summary = "run a node with a workload",
    .synopsis = "--config FILE [--workload PATH] [--type MFR:NAME:VERSION]",
    .description =
        "Starts a node: opens its store (the durable inbox), registers with the AIS named by "
        "[ais_endpoint] url, connects to signaling, loads the workload (a native shared library "
        "exporting actr_workload_descriptor, see docs/workloads.md), listens for WebSocket "
        "direct connections when [websocket] listen_port is set (0 picks a free port), and "
        "serves requests until SIGINT or SIGTERM.\n"
        "When the node is registered and ready, one line goes to stdout: \"actr ready "
        "ACTR_ID\".\n"
        "The actor type comes from --type, else [package] actr_type, else the workload's "
        "descriptor.  Without --workload the node only makes calls (every request it receives "
        "is answered with error 10006).\n"
        "SIGINT or SIGTERM shuts down gracefully: the handler in progress finishes, on_stop "
        "runs, links close, the node unregisters and the store closes; requests not yet handled "
        "stay in the inbox for the next start.  A second signal exits at once.",
    .exit_status = "0  Shut down by a signal.\n"
                   "1  The node could not start (AIS or signaling unreachable, store locked, "
                   "...).\n"
                   "2  Bad command line, configuration or workload.",
    .examples = "  actr run --config echo.toml --workload build/examples/libecho.so\n"
                "  actr run --config counter.toml --workload libcounter.so --type acme:counter:2",
};

typedef struct {
  GMainLoop *loop;
  ActrNode *node;
  guint signals;
} RunState;

static gboolean
on_stop_signal(gpointer data)
{
  RunState *st = data;

  if (++st->signals > 1) {
    actr_cli_error("second signal: exiting at once");
    _exit(ACTR_EXIT_FAILURE);
  }
  actr_cli_status("shutting down");
  actr_node_shutdown(st->node);
  return G_SOURCE_CONTINUE;
}

static gboolean
quit_loop(gpointer data)
{
  g_main_loop_quit(data);
  return G_SOURCE_REMOVE;
}

static void
on_run_event(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value,
             gpointer user_data)
{
  RunState *st = user_data;

  switch (event) {
  case ACTR_NODE_EVENT_SHUTDOWN:
    g_idle_add(quit_loop, st->loop); /* the main thread waits for the node */
    break;
  case ACTR_NODE_EVENT_SIGNALING_DISCONNECTED:
    actr_cli_status("signaling lost (%s); reconnecting", detail);
    break;
  case ACTR_NODE_EVENT_SIGNALING_CONNECTED:
    actr_cli_verbose("signaling connected");
    break;
  case ACTR_NODE_EVENT_CREDENTIAL_RENEWED:
    actr_cli_verbose("credential valid, identity %s", detail);
    break;
  case ACTR_NODE_EVENT_WEBRTC_CONNECTED:
    g_message("webrtc: connected to %s (%s)", detail, value ? "relayed through TURN" : "direct");
    break;
  case ACTR_NODE_EVENT_WEBRTC_DISCONNECTED:
    g_message("webrtc: connection to %s closed", detail);
    break;
  default:
    break;
  }
}

#define SHUTDOWN_GRACE_SECS 6

static gpointer
shutdown_watchdog(gpointer data)
{
  g_usleep(SHUTDOWN_GRACE_SECS * G_USEC_PER_SEC);
  actr_cli_error("a handler is still running %d s after the shutdown request; exiting without "
                 "it (its message runs again at the next start)",
                 SHUTDOWN_GRACE_SECS);
  fflush(stdout);
  _exit(ACTR_EXIT_OK);
  return NULL;
}

static int
cmd_run(int argc, char **argv)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(ActrConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  const char *config_path = NULL, *workload = NULL, *type = NULL;
  RunState st = {0};
  int rc;
  const ActrCliOption options[] = {
      {"config", 'c', ACTR_CLI_OPT_STRING, &config_path, "FILE", CONFIG_HELP},
      {"workload", 'w', ACTR_CLI_OPT_STRING, &workload, "PATH",
       "The workload to run: a native shared library (.so) built against <actr/workload.h>."},
      {"type", 't', ACTR_CLI_OPT_STRING, &type, "MFR:NAME:VERSION",
       "The actor type to register as, overriding [package] actr_type and the workload's own."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(&run_help, options, argc, argv, positionals, 0);
  if (rc != 0)
    return parse_done(rc);
  if ((rc = load_config(run_help.command, config_path, &config)) != 0)
    return rc;

  st.loop = g_main_loop_new(NULL, FALSE);
  ActrNodeOptions node_options = {
      .workload_path = workload,
      .actr_type = type,
      .on_event = on_run_event,
      .user_data = &st,
  };
  st.node = actr_node_new(config, &node_options, &error);
  if (st.node == NULL) {
    actr_cli_error("%s", error->message);
    g_main_loop_unref(st.loop);
    return ACTR_EXIT_USAGE;
  }
  guint sigint = g_unix_signal_add(SIGINT, on_stop_signal, &st);
  guint sigterm = g_unix_signal_add(SIGTERM, on_stop_signal, &st);

  actr_cli_status("starting %s (registering with %s)", actr_node_get_type(st.node),
                  config->ais_endpoint);
  if (!actr_node_start(st.node, &error)) {
    actr_cli_error("cannot start the node: %s", error->message);
    rc = ACTR_EXIT_FAILURE;
  } else {
    g_autofree char *id = actr_node_dup_id(st.node);
    printf("actr ready %s\n", id);
    fflush(stdout);
    if (actr_node_get_ws_port(st.node) != 0)
      actr_cli_status("accepting WebSocket direct connections on port %u",
                      actr_node_get_ws_port(st.node));
    if (actr_node_get_store_path(st.node) != NULL)
      actr_cli_status("store: %s", actr_node_get_store_path(st.node));
    g_main_loop_run(st.loop);
    /* Shutdown is bounded (cli.md): a handler that does not return within
     * the grace period is abandoned; the store is crash-safe, so its
     * message simply runs again at the next start. */
    g_thread_unref(g_thread_new("actr-shutdown-watchdog", shutdown_watchdog, NULL));
    actr_node_wait(st.node);
    actr_cli_status("stopped");
    rc = ACTR_EXIT_OK;
  }
  g_source_remove(sigint);
  g_source_remove(sigterm);
  actr_node_free(st.node);
  g_main_loop_unref(st.loop);
  return rc;
}

/* ---- payloads --------------------------------------------------------------- */

/* The request payload from --data TEXT, --data-file PATH or --data - (stdin). */
static int
read_payload(const char *command, const char *data, const char *data_file, GBytes **out)
{
  g_autoptr(GError) error = NULL;

  if (data != NULL && data_file != NULL)
    return actr_cli_usage_error(command, "--data and --data-file exclude each other");
  if (data_file != NULL) {
    char *contents = NULL;
    gsize len = 0;
    if (!g_file_get_contents(data_file, &contents, &len, &error)) {
      actr_cli_error("%s", error->message);
      return ACTR_EXIT_FAILURE;
    }
    *out = g_bytes_new_take(contents, len);
    return 0;
  }
  if (data != NULL && strcmp(data, "-") == 0) {
    GByteArray *buf = g_byte_array_new();
    guint8 chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
      g_byte_array_append(buf, chunk, (guint)n);
    if (ferror(stdin)) {
      g_byte_array_unref(buf);
      actr_cli_error("cannot read stdin: %s", g_strerror(errno));
      return ACTR_EXIT_FAILURE;
    }
    *out = g_byte_array_free_to_bytes(buf);
    return 0;
  }
  *out = g_bytes_new(data, data ? strlen(data) : 0);
  return 0;
}

/* ---- actr call / tell -------------------------------------------------------- */

static const ActrCliHelp call_help = {
    .command = "call",
    .summary = "call a route on an actor and print the reply",
    .synopsis = "--config FILE TARGET ROUTE [--data TEXT | --data-file PATH | --data -] "
                "[--timeout MS] [--request-id ID] [--json]",
    .description =
        "Registers a short-lived client node (type actr:cli:1 unless [package] actr_type says "
        "otherwise), sends one request and writes the reply payload bytes to stdout unchanged.\n"
        "TARGET is an actor type (acme:echo:1.0.0: the instance that route candidates name) or "
        "an ActrId (1a2b@1/acme:echo:1.0.0).  ROUTE is the route key, e.g. echo.Echo.Echo.\n"
        "The payload comes from --data TEXT, from the file given to --data-file, or from stdin "
        "with --data -; without any of them it is empty.\n"
        "--request-id sets the request's id, so a call can be retried safely: the callee "
        "answers a repeated id from its store instead of running the handler again.\n"
        "On an actr error (the callee's or the runtime's) the command prints \"error CODE: "
        "MESSAGE\" to stderr and exits with 3.",
    .exit_status = "0  The reply was written to stdout.\n"
                   "1  Could not register or connect, or could not read the payload.\n"
                   "2  Bad command line, TARGET or configuration (also a missing config file).\n"
                   "3  An actr error: 10002 timed out, 10003 not found, 10004 permission denied, "
                   "10006 unknown route, ...",
    .examples = "  actr call --config client.toml acme:echo:1.0.0 echo.Echo.Echo --data hello\n"
                "  actr call --config client.toml acme:counter:1.0.0 counter.Counter.Add "
                "--data 5 --request-id add-0001\n"
                "  actr call --config client.toml acme:echo:1.0.0 echo.Echo.Echo --data-file "
                "photo.jpg > copy.jpg",
};

static const ActrCliHelp tell_help = {
    .command = "tell",
    .summary = "send a one-way message to an actor",
    .synopsis = "--config FILE TARGET ROUTE [--data TEXT | --data-file PATH | --data -] "
                "[--request-id ID]",
    .description =
        "Like actr call, but the message is one-way: the receiver never answers it.  The "
        "command returns once the message was handed to the connection to the receiver; it "
        "is stored durably by the receiver before its handler runs.",
    .exit_status = "0  The message was sent.\n"
                   "1  Could not register or connect.\n"
                   "2  Bad command line or configuration.\n"
                   "3  An actr error (for example 10003: no instance of the type).",
    .examples = "  actr tell --config client.toml acme:counter:1.0.0 counter.Counter.Add --data 5",
};

static int
call_or_tell(gboolean tell, int argc, char **argv)
{
  const ActrCliHelp *help = tell ? &tell_help : &call_help;
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(ActrConfig) config = NULL;
  g_autoptr(ActrNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) payload = NULL;
  const char *config_path = NULL, *data = NULL, *data_file = NULL, *request_id = NULL;
  guint timeout_ms = 0;
  gboolean json = FALSE;
  int rc;
  const ActrCliOption call_options[] = {
      {"config", 'c', ACTR_CLI_OPT_STRING, &config_path, "FILE", CONFIG_HELP},
      {"data", 'd', ACTR_CLI_OPT_STRING, &data, "TEXT",
       "The payload: TEXT as bytes, or stdin when TEXT is \"-\"."},
      {"data-file", 0, ACTR_CLI_OPT_STRING, &data_file, "PATH", "Read the payload from PATH."},
      {"timeout", 0, ACTR_CLI_OPT_UINT, &timeout_ms, "MS", TIMEOUT_HELP},
      {"request-id", 0, ACTR_CLI_OPT_STRING, &request_id, "ID",
       "The request id (default: a new UUID).  Reuse an id to retry safely."},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL,
       "Print {\"target\", \"route\", \"request_id\", \"latency_ms\", \"payload\" (base64)} "
       "instead of the raw reply."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(help, call_options, argc, argv, positionals, 2);
  if (rc != 0)
    return parse_done(rc);
  if (positionals->len != 2)
    return actr_cli_usage_error(help->command, "TARGET and ROUTE are required");
  const char *target = positionals->pdata[0];
  const char *route = positionals->pdata[1];
  if ((rc = check_target(help->command, target)) != 0)
    return rc;
  if ((rc = read_payload(help->command, data, data_file, &payload)) != 0)
    return rc;
  if ((rc = start_client(help->command, config_path, &config, &node)) != 0)
    return rc;

  g_autofree char *fresh_id = request_id ? NULL : g_uuid_string_random();
  ActrCallOptions call_options_v = {
      .timeout_ms = timeout_ms,
      .request_id = request_id ? request_id : fresh_id,
  };
  gint64 started = g_get_monotonic_time();
  if (tell) {
    if (!actr_node_tell(node, target, route, payload, &call_options_v, &error))
      return report_failure(error);
    return ACTR_EXIT_OK;
  }
  g_autoptr(GBytes) reply = actr_node_call(node, target, route, payload, &call_options_v, &error);
  double latency_ms = (g_get_monotonic_time() - started) / 1000.0;
  if (reply == NULL)
    return report_failure(error);
  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();
    actr_json_begin_object(w);
    actr_json_member_string(w, "target", target);
    actr_json_member_string(w, "route", route);
    actr_json_member_string(w, "request_id", call_options_v.request_id);
    actr_json_key(w, "latency_ms");
    g_autofree char *latency = g_strdup_printf("%.3f", latency_ms);
    actr_json_string(w, latency);
    actr_json_member_base64(w, "payload", reply);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    gsize len;
    const void *bytes = g_bytes_get_data(reply, &len);
    if (len > 0 && fwrite(bytes, 1, len, stdout) != len)
      return ACTR_EXIT_FAILURE; /* reported by main() */
    if (actr_cli_stdout_is_tty() && len > 0 && ((const char *)bytes)[len - 1] != '\n')
      fputc('\n', stdout);
  }
  actr_cli_verbose("reply of %zu bytes in %.2f ms", g_bytes_get_size(reply), latency_ms);
  return ACTR_EXIT_OK;
}

static int
cmd_call(int argc, char **argv)
{
  return call_or_tell(FALSE, argc, argv);
}

static int
cmd_tell(int argc, char **argv)
{
  return call_or_tell(TRUE, argc, argv);
}

/* ---- actr discover ----------------------------------------------------------- */

static const ActrCliHelp discover_help = {
    .command = "discover",
    .summary = "list the actor types in the realm, or find an instance of one",
    .synopsis = "--config FILE [TYPE] [--manufacturer M] [--json]",
    .description =
        "Without TYPE: prints every actor type this node may discover (one \"m:n:v\" per "
        "line), optionally only those of --manufacturer.\n"
        "With TYPE: prints the ActrId of a live instance of it (the one route candidates "
        "name).",
    .exit_status = "0  Printed.\n"
                   "1  Could not register or connect.\n"
                   "2  Bad command line or configuration.\n"
                   "3  An actr error (10003: no instance of TYPE).",
    .examples = "  actr discover --config client.toml\n"
                "  actr discover --config client.toml acme:echo:1.0.0",
};

static int
cmd_discover(int argc, char **argv)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(ActrConfig) config = NULL;
  g_autoptr(ActrNode) node = NULL;
  g_autoptr(GError) error = NULL;
  const char *config_path = NULL, *manufacturer = NULL;
  gboolean json = FALSE;
  int rc;
  const ActrCliOption options[] = {
      {"config", 'c', ACTR_CLI_OPT_STRING, &config_path, "FILE", CONFIG_HELP},
      {"manufacturer", 'm', ACTR_CLI_OPT_STRING, &manufacturer, "M",
       "Only types of this manufacturer."},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(&discover_help, options, argc, argv, positionals, 1);
  if (rc != 0)
    return parse_done(rc);
  if ((rc = start_client(discover_help.command, config_path, &config, &node)) != 0)
    return rc;

  if (positionals->len == 1) {
    g_autofree char *id = actr_node_discover(node, positionals->pdata[0], &error);
    if (id == NULL)
      return report_failure(error);
    if (json) {
      g_autoptr(ActrJsonWriter) w = actr_json_writer_new();
      actr_json_begin_object(w);
      actr_json_member_string(w, "type", positionals->pdata[0]);
      actr_json_member_string(w, "actr_id", id);
      actr_json_end_object(w);
      actr_json_writer_print(w);
    } else {
      printf("%s\n", id);
    }
    return ACTR_EXIT_OK;
  }
  g_autoptr(GPtrArray) types = actr_node_discover_types(node, manufacturer, &error);
  if (types == NULL)
    return report_failure(error);
  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();
    actr_json_begin_object(w);
    actr_json_key(w, "types");
    actr_json_begin_array(w);
    for (guint i = 0; i < types->len; i++)
      actr_json_string(w, types->pdata[i]);
    actr_json_end_array(w);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    for (guint i = 0; i < types->len; i++)
      printf("%s\n", (const char *)types->pdata[i]);
  }
  return ACTR_EXIT_OK;
}

/* ---- actr ping ------------------------------------------------------------------ */

/* What the client node reported about WebRTC (events come on its I/O
 * thread). */
typedef struct {
  GMutex lock;
  char *peer;       /* the last peer a WebRTC connection came up to */
  gboolean relayed; /* through TURN */
} PingTransport;

static void
on_ping_event(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value,
              gpointer user_data)
{
  PingTransport *t = user_data;
  (void)node;
  if (event != ACTR_NODE_EVENT_WEBRTC_CONNECTED)
    return;
  g_mutex_lock(&t->lock);
  g_free(t->peer);
  t->peer = g_strdup(detail);
  t->relayed = value != 0;
  g_mutex_unlock(&t->lock);
}

static void
ping_transport_clear(PingTransport *t)
{
  g_free(t->peer);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PingTransport, ping_transport_clear)

/* The transport line printed before the first reply. */
static void
print_transport(PingTransport *t)
{
  g_mutex_lock(&t->lock);
  if (t->peer != NULL)
    printf("transport: WebRTC data channel to %s (%s)\n", t->peer,
           t->relayed ? "relayed through TURN" : "direct");
  else
    printf("transport: WebSocket direct-connect\n");
  g_mutex_unlock(&t->lock);
}

static const ActrCliHelp ping_help = {
    .command = "ping",
    .summary = "measure round trips to an actor",
    .synopsis = "--config FILE TARGET [--count N] [--interval MS] [--timeout MS] [--route ROUTE]",
    .description =
        "Sends --count (default 5) ping requests to TARGET (a type or an ActrId) and prints one "
        "round-trip time per line, then a summary line with min, p50 and p99.  Pings are "
        "answered by the target's runtime itself (route actr.Node.Ping), after its ACL check "
        "and without touching its store or workload, so they measure the network path and the "
        "runtime's gate.  The first ping includes connecting to the target.",
    .exit_status = "0  Every ping was answered.\n"
                   "1  Could not register or connect, or some pings failed.\n"
                   "2  Bad command line or configuration.\n"
                   "3  Every ping failed with an actr error.",
    .examples = "  actr ping --config client.toml acme:echo:1.0.0 --count 10\n"
                "  actr ping --config client.toml acme:echo:1.0.0 --route echo.Echo.Echo "
                "--interval 0 --count 1000",
};

static int
compare_double(gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int
cmd_ping(int argc, char **argv)
{
  /* Declared before the node, so that it is cleared after the node is
   * freed (no more events). */
  g_auto(PingTransport) transport = {0};
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(ActrConfig) config = NULL;
  g_autoptr(ActrNode) node = NULL;
  const char *config_path = NULL, *route = PING_ROUTE;
  guint count = 5, interval_ms = 200, timeout_ms = 5000;
  int rc;
  const ActrCliOption options[] = {
      {"config", 'c', ACTR_CLI_OPT_STRING, &config_path, "FILE", CONFIG_HELP},
      {"count", 'n', ACTR_CLI_OPT_UINT, &count, "N", "Number of pings (default 5)."},
      {"interval", 'i', ACTR_CLI_OPT_UINT, &interval_ms, "MS",
       "Pause between pings (default 200)."},
      {"timeout", 0, ACTR_CLI_OPT_UINT, &timeout_ms, "MS", "Timeout per ping (default 5000)."},
      {"route", 'r', ACTR_CLI_OPT_STRING, &route, "ROUTE",
       "Ping through a route of the target's workload instead (it must echo its payload, like "
       "echo.Echo.Echo): measures the whole durable path, inbox commit and ack included."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(&ping_help, options, argc, argv, positionals, 1);
  if (rc != 0)
    return parse_done(rc);
  if (positionals->len != 1)
    return actr_cli_usage_error(ping_help.command, "TARGET is required");
  if (count == 0)
    return actr_cli_usage_error(ping_help.command, "--count must be at least 1");
  const char *target = positionals->pdata[0];
  if ((rc = check_target(ping_help.command, target)) != 0)
    return rc;
  rc = start_client_observed(ping_help.command, config_path, &config, &node, on_ping_event,
                             &transport);
  if (rc != 0)
    return rc;

  g_autoptr(GArray) rtts = g_array_new(FALSE, FALSE, sizeof(double));
  guint8 bytes[PING_PAYLOAD];
  guint actr_failures = 0, failures = 0;
  for (guint i = 0; i < PING_PAYLOAD; i++)
    bytes[i] = (guint8)i;
  g_autoptr(GBytes) payload = g_bytes_new(bytes, sizeof bytes);

  for (guint seq = 1; seq <= count; seq++) {
    g_autoptr(GError) error = NULL;
    ActrCallOptions call_options = {.timeout_ms = timeout_ms};
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(GBytes) reply =
        actr_node_call(node, target, PING_ROUTE, payload, &call_options, &error);
    double ms = (g_get_monotonic_time() - t0) / 1000.0;
    if (reply != NULL && g_bytes_equal(reply, payload)) {
      if (rtts->len == 0)
        print_transport(&transport);
      g_array_append_val(rtts, ms);
      printf("%u bytes from %s: seq=%u time=%.3f ms\n", PING_PAYLOAD, target, seq, ms);
    } else if (reply != NULL) {
      failures++;
      printf("seq=%u: reply does not match the request\n", seq);
    } else {
      failures++;
      if (error->domain == ACTR_ERROR)
        actr_failures++;
      printf("seq=%u: error %d: %s\n", seq, error->code, error->message);
    }
    fflush(stdout);
    if (seq < count && interval_ms > 0)
      g_usleep((gulong)interval_ms * 1000);
  }
  if (rtts->len > 0) {
    g_array_sort(rtts, compare_double);
    double p50 = g_array_index(rtts, double, (rtts->len - 1) / 2);
    double p99 = g_array_index(rtts, double, MIN(rtts->len - 1, (guint)(rtts->len * 0.99)));
    printf("%u sent, %u received, min/p50/p99 = %.3f/%.3f/%.3f ms\n", count, rtts->len,
           g_array_index(rtts, double, 0), p50, p99);
  } else {
    printf("%u sent, 0 received\n", count);
  }
  if (failures == 0)
    return ACTR_EXIT_OK;
  return actr_failures == count ? ACTR_EXIT_REMOTE : ACTR_EXIT_FAILURE;
}

/* ---- entry points -------------------------------------------------------------- */

int
actr_cmd_run(int argc, char **argv)
{
  return cmd_run(argc, argv);
}

int
actr_cmd_call(int argc, char **argv)
{
  return cmd_call(argc, argv);
}

int
actr_cmd_tell(int argc, char **argv)
{
  return cmd_tell(argc, argv);
}

int
actr_cmd_discover(int argc, char **argv)
{
  return cmd_discover(argc, argv);
}

int
actr_cmd_ping(int argc, char **argv)
{
  return cmd_ping(argc, argv);
}
