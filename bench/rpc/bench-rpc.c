/* bench-rpc — node-to-node calls over WebSocket direct-connect (issue 5,
 * "Benchmark"): round-trip latency and calls per second of the real node,
 * side by side with baselines measured in the same run, on the same machine
 * and the same file system.  A benchmark, not a test: nothing is asserted
 * about speed.
 *
 * Everything runs on 127.0.0.1 and keeps its files in one temporary
 * directory (--dir, else a new one under $TMPDIR or /tmp, removed
 * afterwards), so the baseline database and the callee's store share a
 * file system.
 *
 * A. Raw WebSocket ping-pong, libsoup 3, two processes.  This binary
 *    re-executes itself with --pong-server: a SoupServer WebSocket handler
 *    that sends every message back, printing its port on stdout.  This
 *    process connects with a SoupSession and sends one binary message at a
 *    time from its default GMainContext.  The message has the size of a
 *    framed echo request: the RpcEnvelope a node sends for the echo call
 *    (route, --payload bytes, request_id, traceparent, timeout, direction)
 *    plus the 5-byte frame header (wire.md §6).  Neither side offers
 *    permessage-deflate, as on the node's links.  A sample is the time from
 *    the send to the receipt of the echo.
 *    A' (information only, not in the floor): the same with this thread and
 *    the pong server pinned to one CPU.  On a small VM a wake-up across
 *    CPUs can cost more than the whole exchange (2 vCPUs here: about 40 us
 *    on one CPU, about 95 us across two), and the scheduler's placement
 *    decides which one A measures; the node's processes and threads are
 *    not pinned either, so A is measured unpinned.  The node's ratio to
 *    p50(A') + p50(B) is printed as well, to show how much the placement
 *    moves the ratio to the floor.
 * B. Raw SQLite, one connection to a file in the temporary directory, WAL,
 *    synchronous=NORMAL (the node store's default durability).  A sample is
 *    the INSERT of a --row-byte row (its own transaction) plus the DELETE
 *    of that row (its own transaction).
 *    The floor is A + B, taken per run as p50(A) + p50(B): the medians of
 *    the two distributions are added (they are measured one after the other,
 *    not paired iteration by iteration).
 * C. The node.  The real actrd (`actrd serve --dev --listen 127.0.0.1:0`,
 *    with rate limits raised so that the single client IP is never
 *    throttled), a callee node in its own process (`actr run --config
 *    callee.toml --workload libecho.so`, [websocket] listen_port = 0, its
 *    store in the temporary directory) and a client node in this process,
 *    built with the public API (include/actr/node.h).
 *    Sequential: actr_node_call() of acme:echo:1.0.0 route echo.Echo.Echo
 *    with --payload bytes, one call at a time; each reply is compared with
 *    the payload.  Throughput: actr_node_call_async() driven by a GMainLoop
 *    on this thread, --inflight calls in flight for --seconds; calls/s
 *    counts the correct replies received before the deadline.
 *
 * Each run measures A, B, the sequential calls and the throughput back to
 * back, each after its own warm-up; the ratios are taken within a run, and
 * every figure printed is the bench_median over --repeat runs.  The processes
 * (pong server, actrd, callee) and the connections stay up across runs.
 *
 * All of it shares the machine's CPUs (this process with the client node's
 * threads, the callee node, actrd, the pong server), so the figures are for
 * this machine only; compare runs on the same machine.
 *
 * Progress goes to stderr (a live line when stderr is a terminal), results
 * to stdout.  Exit status 0 when every figure was measured (whether or not
 * the targets are met), 1 when a part failed, 2 on a usage error, 130 when
 * interrupted.
 *
 * Usage: bench-rpc [--iterations N] [--warmup N] [--repeat R] [--seconds S]
 *                  [--inflight K] [--payload BYTES] [--row BYTES] [--dir DIR]
 *                  [--actrd PATH] [--actr PATH] [--workload PATH]
 *                  [--baselines-only]
 */
#include <actr/config.h>
#include <actr/node.h>

#include <errno.h>
#include <sched.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "bench-util.h"
#include "envelope.h"
#include "ws-frame.h"

#define TARGET_FLOOR_RATIO   1.2
#define TARGET_CALLS_PER_SEC 20000.0
#define ECHO_TYPE            "acme:echo:1.0.0"
#define ECHO_ROUTE           "echo.Echo.Echo"
#define CLIENT_TYPE          "bench:rpc-client:1.0.0"
#define REALM                1
#define ACTRD_READY          "actrd listening on http://"
#define CALLEE_READY         "actr ready "
#define PONG_READY           "pong listening on "
#define START_TIMEOUT_MS     20000
#define STOP_TIMEOUT_MS      10000
#define CALL_TIMEOUT_MS      10000
#define DRAIN_TIMEOUT_MS     30000
#define MAX_ERRORS           20 /* a phase stops after this many failed calls */
#define LOG_TAIL_BYTES       4096
#define PROGRESS_INTERVAL_NS (250 * G_GINT64_CONSTANT(1000000))
/* A traceparent as a node starts one: 00-<32 hex trace id>-<16 hex span id>-01. */
#define SAMPLE_TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define SAMPLE_REQUEST_ID  "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"

/* Written to TMP/actrd.toml: the whole load comes from one IP, so every
 * limit is raised far above what a run can reach. */
static const char actrd_toml[] = "# bench-rpc: rate limits raised so that the limiter never\n"
                                 "# rejects the benchmark's single client IP.\n"
                                 "[ais]\n"
                                 "rate_per_sec = 100000\n"
                                 "burst = 100000\n"
                                 "\n"
                                 "[signaling]\n"
                                 "conn_max_per_ip = 100000\n"
                                 "conn_rate_per_sec = 100000\n"
                                 "conn_burst = 100000\n"
                                 "msg_rate_per_sec = 100000000\n"
                                 "msg_burst = 100000000\n";

static gint opt_iterations = 5000;
static gint opt_warmup = 200;
static gint opt_repeat = 5;
static double opt_seconds = 2.0;
static gint opt_inflight = 64;
static gint opt_payload = 16;
static gint opt_row = 200;
static char *opt_dir = NULL;
static char *opt_actrd = NULL;
static char *opt_actr = NULL;
static char *opt_workload = NULL;
static gboolean opt_baselines_only = FALSE;
static gboolean opt_pong_server = FALSE;

static gboolean progress_on; /* stderr is a terminal */

/* ---- time, samples, medians ----------------------------------------------------------------- */

static gint64
now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The @p quantile (0 < p <= 1, nearest rank) of @samples (sorted in place);
 * 0 when empty. */
static double
percentile(GArray *samples, double p)
{
  guint rank;

  if (samples->len == 0)
    return 0;
  qsort(samples->data, samples->len, sizeof(double), bench_compare_double);
  rank = (guint)(p * samples->len + 0.999999);
  rank = CLAMP(rank, 1, samples->len);
  return g_array_index(samples, double, rank - 1);
}

/* ---- waiting, signals, progress ------------------------------------------------------------- */

/* Live progress: at most every PROGRESS_INTERVAL_NS, only on a terminal. */
static gint64 progress_last_ns;

static void G_GNUC_PRINTF(1, 2) progress(const char *format, ...)
{
  va_list args;
  gint64 now;

  if (!progress_on || (now = now_ns()) - progress_last_ns < PROGRESS_INTERVAL_NS)
    return;
  progress_last_ns = now;
  fprintf(stderr, "\r\033[K");
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fflush(stderr);
}

/* One line per finished phase, on every kind of stderr. */
static void G_GNUC_PRINTF(1, 2) note(const char *format, ...)
{
  va_list args;

  if (progress_on)
    fprintf(stderr, "\r\033[K");
  progress_last_ns = 0;
  fprintf(stderr, "bench-rpc: ");
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fprintf(stderr, "\n");
}

/* ---- child processes ------------------------------------------------------------------------ */

/* A process we start: the pong server, actrd or the callee node.  Its
 * stderr goes to a log file in the temporary directory, printed when it
 * fails.  Refcounted (g_rc_box): the wait callback holds a reference. */
typedef struct {
  char *name; /* for messages: "actrd", "callee node", "pong server" */
  GSubprocess *proc;
  GCancellable *cancel; /* the wait and the stdout drain */
  char *log_path;
  char *pid;
  char *ready; /* the ready line without its prefix */
  gboolean stopping, exited, log_shown;
  int wait_status;
} Child;

static void
child_clear(gpointer data)
{
  Child *c = data;

  g_free(c->name);
  g_clear_object(&c->proc);
  g_clear_object(&c->cancel);
  g_free(c->log_path);
  g_free(c->pid);
  g_free(c->ready);
}

/* Prints (once) the end of what the child wrote on stderr. */
static void
child_print_log(Child *c)
{
  g_autofree char *text = NULL;
  gsize len = 0;

  if (c->log_shown)
    return;
  c->log_shown = TRUE;
  if (!g_file_get_contents(c->log_path, &text, &len, NULL) || len == 0)
    return;
  fprintf(stderr, "bench-rpc: %s's stderr%s:\n%s%s", c->name,
          len > LOG_TAIL_BYTES ? " (last 4 KiB)" : "",
          len > LOG_TAIL_BYTES ? text + len - LOG_TAIL_BYTES : text,
          text[len - 1] == '\n' ? "" : "\n");
}

static void
child_exited(GObject *source, GAsyncResult *result, gpointer data)
{
  Child *c = data;

  if (g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL)) {
    c->exited = TRUE;
    c->wait_status = g_subprocess_get_status(c->proc);
    if (!c->stopping) {
      g_autofree char *how = bench_wait_status_text(c->wait_status);

      fprintf(stderr, "\nbench-rpc: the %s (pid %s) exited unexpectedly (%s)\n", c->name, c->pid,
              how);
      child_print_log(c);
      bench_aborted = TRUE;
    }
  }
  g_rc_box_release_full(c, child_clear);
}

static gboolean
child_is_exited(gpointer data)
{
  return ((Child *)data)->exited;
}

/* SIGTERM, wait (SIGKILL after STOP_TIMEOUT_MS), report an unclean exit,
 * drop the reference.  NULL-safe. */
static void
child_stop(Child *c)
{
  if (c == NULL)
    return;
  c->stopping = TRUE;
  if (c->proc != NULL && !c->exited) {
    gboolean was_aborted = bench_aborted;

    bench_aborted = FALSE; /* wait even after Ctrl-C */
    g_subprocess_send_signal(c->proc, SIGTERM);
    if (!bench_wait_for(child_is_exited, c, STOP_TIMEOUT_MS)) {
      fprintf(stderr, "bench-rpc: the %s did not exit within %d s of SIGTERM; killing it\n",
              c->name, STOP_TIMEOUT_MS / 1000);
      g_subprocess_force_exit(c->proc);
      bench_wait_for(child_is_exited, c, STOP_TIMEOUT_MS);
    }
    bench_aborted = was_aborted || bench_aborted;
    if (c->exited && !(WIFEXITED(c->wait_status) && WEXITSTATUS(c->wait_status) == 0)) {
      g_autofree char *how = bench_wait_status_text(c->wait_status);

      fprintf(stderr, "bench-rpc: the %s (pid %s) did not exit cleanly (%s)\n", c->name, c->pid,
              how);
      child_print_log(c);
    }
  }
  if (c->cancel != NULL)
    g_cancellable_cancel(c->cancel);
  g_rc_box_release_full(c, child_clear);
}

/* Reads the child's stdout after its ready line and throws it away, so
 * that the child never blocks on a full pipe.  Owns itself. */
typedef struct {
  GDataInputStream *in;
  GCancellable *cancel;
} Drain;

static void
drain_next(GObject *source, GAsyncResult *result, gpointer data)
{
  Drain *d = data;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish(d->in, result, NULL, NULL);
  if (line == NULL || g_cancellable_is_cancelled(d->cancel)) {
    g_object_unref(d->in);
    g_object_unref(d->cancel);
    g_free(d);
    return;
  }
  g_data_input_stream_read_line_async(d->in, G_PRIORITY_DEFAULT, d->cancel, drain_next, d);
}

/* Starts @argv, waits for a stdout line starting with @ready_prefix (other
 * lines before it are skipped) and keeps the rest of that line in ->ready.
 * NULL (the reason and the child's stderr printed) on failure. */
static Child *
child_start(const char *name, const char *log_path, const char *ready_prefix,
            const char *const *argv)
{
  Child *c = g_rc_box_new0(Child);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  gint64 deadline = now_ns() + (gint64)START_TIMEOUT_MS * 1000000;
  Drain *drain;

  c->name = g_strdup(name);
  c->log_path = g_strdup(log_path);
  launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path(launcher, log_path);
  g_subprocess_launcher_setenv(launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_set_child_setup(launcher, bench_child_setup, NULL, NULL);
  c->proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
  if (c->proc == NULL) {
    fprintf(stderr, "bench-rpc: cannot start the %s (%s): %s\n", name, argv[0], error->message);
    c->stopping = TRUE;
    child_stop(c);
    return NULL;
  }
  c->pid = g_strdup(g_subprocess_get_identifier(c->proc));
  c->cancel = g_cancellable_new();
  g_subprocess_wait_async(c->proc, c->cancel, child_exited, g_rc_box_acquire(c));

  out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(c->proc));
  c->stopping = TRUE; /* an exit before the ready line is reported below */
  while (c->ready == NULL) {
    g_autoptr(GCancellable) read_cancel = g_cancellable_new();
    gint64 left_ms = (deadline - now_ns()) / 1000000;
    BenchLineRead r = {0};

    g_data_input_stream_read_line_async(out, G_PRIORITY_DEFAULT, read_cancel, bench_line_read, &r);
    if (left_ms <= 0 || !bench_wait_for(bench_line_is_read, &r, (guint)left_ms)) {
      g_cancellable_cancel(read_cancel);
      while (!r.done)
        g_main_context_iteration(NULL, TRUE);
      g_free(r.line);
      g_clear_error(&r.error);
      if (!bench_aborted)
        fprintf(stderr, "bench-rpc: the %s did not print its ready line ('%s...') within %d s\n",
                name, ready_prefix, START_TIMEOUT_MS / 1000);
      break;
    }
    if (r.line == NULL) {
      g_autofree char *how = NULL;

      bench_wait_for(child_is_exited, c, 2000);
      how = c->exited ? bench_wait_status_text(c->wait_status) : g_strdup("closed its stdout");
      fprintf(stderr, "bench-rpc: the %s exited before it was ready (%s)%s%s\n", name, how,
              r.error ? ": " : "", r.error ? r.error->message : "");
      g_clear_error(&r.error);
      break;
    }
    if (g_str_has_prefix(r.line, ready_prefix))
      c->ready = g_strdup(g_strchomp(r.line + strlen(ready_prefix)));
    g_free(r.line);
  }
  if (c->ready == NULL) {
    child_print_log(c);
    child_stop(c);
    return NULL;
  }
  c->stopping = FALSE;
  drain = g_new0(Drain, 1);
  drain->in = g_steal_pointer(&out);
  drain->cancel = g_object_ref(c->cancel);
  g_data_input_stream_read_line_async(drain->in, G_PRIORITY_DEFAULT, drain->cancel, drain_next,
                                      drain);
  return c;
}

/* CPU seconds (user + system) used so far by @c, or -1. */
static double
child_cpu_s(const Child *c)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after;

  if (c == NULL || c->exited)
    return -1;
  path = g_strdup_printf("/proc/%s/stat", c->pid);
  if (!g_file_get_contents(path, &text, NULL, NULL) || (after = strrchr(text, ')')) == NULL)
    return -1;
  /* After "pid (comm)": state is field 3, utime 14, stime 15. */
  fields = g_strsplit(after + 2, " ", 14);
  if (g_strv_length(fields) < 14)
    return -1;
  return (g_ascii_strtod(fields[11], NULL) + g_ascii_strtod(fields[12], NULL)) /
         (double)sysconf(_SC_CLK_TCK);
}

/* A binary of the build tree: @override when given, else @relative to the
 * directory of this binary, else @fallback (the path Meson compiled in).
 * Transfer full; NULL when there is none. */
static char *
find_build_file(const char *override, const char *relative, const char *fallback)
{
  g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);

  if (override != NULL)
    return g_strdup(override);
  if (self != NULL) {
    g_autofree char *dir = g_path_get_dirname(self);
    g_autofree char *joined = g_build_filename(dir, relative, NULL);
    char *candidate = g_canonicalize_filename(joined, NULL);

    if (g_file_test(candidate, G_FILE_TEST_EXISTS))
      return candidate;
    g_free(candidate);
  }
  return g_strdup(fallback);
}

/* ---- the message ---------------------------------------------------------------------------- */

/* The payload of every echo call: --payload bytes of printable text. */
static GBytes *
make_payload(void)
{
  guint8 *data = g_malloc((gsize)opt_payload);

  for (gint i = 0; i < opt_payload; i++)
    data[i] = (guint8)('a' + i % 26);
  return g_bytes_new_take(data, (gsize)opt_payload);
}

/* The frame a node sends for one echo call: header + RpcEnvelope with
 * every field the node sets on a request.  Baseline A sends messages of
 * exactly this size (transfer full). */
static GBytes *
make_echo_frame(GBytes *payload, gsize *envelope_len)
{
  Actr__RpcEnvelope env = ACTR__RPC_ENVELOPE__INIT;
  g_autoptr(GBytes) encoded = NULL;
  gsize len;

  env.route_key = (char *)ECHO_ROUTE;
  env.has_payload = TRUE;
  env.payload.data = (guint8 *)g_bytes_get_data(payload, &len);
  env.payload.len = len;
  env.has_direction = TRUE;
  env.direction = ACTR__RPC_ENVELOPE__DIRECTION__REQUEST;
  env.traceparent = (char *)SAMPLE_TRACEPARENT;
  env.request_id = (char *)SAMPLE_REQUEST_ID;
  env.timeout_ms = CALL_TIMEOUT_MS; /* as the calls below */
  encoded = actr_rpc_envelope_encode(&env);
  *envelope_len = g_bytes_get_size(encoded);
  return actr_ws_frame_encode(ACTR_LANE_RPC_RELIABLE, g_bytes_get_data(encoded, NULL),
                              g_bytes_get_size(encoded));
}

/* ---- the pong server (a child process: bench-rpc --pong-server) ----------------------------- */

static void
pong_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  soup_websocket_connection_send_message(ws, (SoupWebsocketDataType)type, message);
}

static void
pong_closed(SoupWebsocketConnection *ws, gpointer data)
{
  g_object_unref(ws);
}

static void
pong_connected(SoupServer *server, SoupServerMessage *msg, const char *path,
               SoupWebsocketConnection *ws, gpointer data)
{
  g_object_ref(ws);
  soup_websocket_connection_set_keepalive_interval(ws, 0);
  g_signal_connect(ws, "message", G_CALLBACK(pong_message), NULL);
  g_signal_connect(ws, "closed", G_CALLBACK(pong_closed), NULL);
}

static gboolean
pong_quit(gpointer data)
{
  g_main_loop_quit(data);
  return G_SOURCE_REMOVE;
}

/* Serves until SIGTERM/SIGINT; prints "pong listening on PORT". */
static int
pong_server_main(void)
{
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
  g_autoptr(GInetAddress) address = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) socket_address = g_inet_socket_address_new(address, 0);
  g_autoptr(GError) error = NULL;
  guint16 port = 0;

  server = soup_server_new("server-header", "bench-rpc-pong", NULL);
  /* Plain frames, as on the node's links. */
  soup_server_remove_websocket_extension(server, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_websocket_handler(server, NULL, NULL, NULL, pong_connected, NULL, NULL);
  if (!soup_server_listen(server, socket_address, 0, &error)) {
    fprintf(stderr, "bench-rpc --pong-server: cannot listen: %s\n", error->message);
    return 1;
  }
  for (GSList *l = soup_server_get_listeners(server); l != NULL && port == 0; l = l->next) {
    g_autoptr(GSocketAddress) bound = g_socket_get_local_address(l->data, NULL);

    if (G_IS_INET_SOCKET_ADDRESS(bound))
      port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
  }
  if (port == 0) {
    fprintf(stderr, "bench-rpc --pong-server: no listening port\n");
    return 1;
  }
  printf(PONG_READY "%u\n", port);
  fflush(stdout);
  g_unix_signal_add(SIGTERM, pong_quit, loop);
  g_unix_signal_add(SIGINT, pong_quit, loop);
  g_main_loop_run(loop);
  soup_server_disconnect(server);
  return 0;
}

/* ---- A: raw WebSocket ping-pong ------------------------------------------------------------- */

typedef struct {
  Child *server;
  SoupSession *session;
  SoupWebsocketConnection *ws;
  GBytes *frame;
  gboolean connect_done;
  char *error; /* first problem */
  /* the batch in progress */
  GArray *samples; /* us; NULL while warming up */
  guint remaining;
  gint64 sent_ns;
  gboolean closed;
} PingPong;

static void
pingpong_fail(PingPong *pp, char *message /* transfer full */)
{
  if (pp->error == NULL)
    pp->error = message;
  else
    g_free(message);
}

static void
pingpong_send(PingPong *pp)
{
  pp->sent_ns = now_ns();
  soup_websocket_connection_send_message(pp->ws, SOUP_WEBSOCKET_DATA_BINARY, pp->frame);
}

static void
pingpong_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  PingPong *pp = data;
  double us = (double)(now_ns() - pp->sent_ns) / 1000.0;

  if (pp->remaining == 0)
    return;
  if (!g_bytes_equal(message, pp->frame)) {
    pingpong_fail(pp, g_strdup("the pong server sent back different bytes"));
    pp->remaining = 0;
    return;
  }
  if (pp->samples != NULL)
    g_array_append_val(pp->samples, us);
  if (--pp->remaining > 0)
    pingpong_send(pp);
}

static void
pingpong_closed(SoupWebsocketConnection *ws, gpointer data)
{
  PingPong *pp = data;

  pp->closed = TRUE;
  pp->remaining = 0;
}

static void
pingpong_connected(GObject *source, GAsyncResult *result, gpointer data)
{
  PingPong *pp = data;
  g_autoptr(GError) error = NULL;

  pp->ws = soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);
  pp->connect_done = TRUE;
  if (pp->ws == NULL) {
    pingpong_fail(pp, g_strdup_printf("cannot connect to the pong server: %s", error->message));
    return;
  }
  soup_websocket_connection_set_keepalive_interval(pp->ws, 0);
  g_signal_connect(pp->ws, "message", G_CALLBACK(pingpong_message), pp);
  g_signal_connect(pp->ws, "closed", G_CALLBACK(pingpong_closed), pp);
}

static gboolean
pingpong_connect_done(gpointer data)
{
  return ((PingPong *)data)->connect_done;
}

/* Starts the pong server and connects to it.  FALSE (reason printed) on
 * failure; pingpong_clear() in both cases. */
static gboolean
pingpong_init(PingPong *pp, const char *dir, GBytes *frame)
{
  g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
  g_autofree char *log_path = g_build_filename(dir, "pong-server.stderr", NULL);
  const char *argv[] = {self, "--pong-server", NULL};
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *url = NULL;

  memset(pp, 0, sizeof *pp);
  pp->frame = g_bytes_ref(frame);
  if (self == NULL) {
    fprintf(stderr, "bench-rpc: cannot read /proc/self/exe to start the pong server\n");
    return FALSE;
  }
  pp->server = child_start("pong server", log_path, PONG_READY, argv);
  if (pp->server == NULL)
    return FALSE;
  url = g_strdup_printf("ws://127.0.0.1:%s/", pp->server->ready);
  pp->session = soup_session_new_with_options("timeout", 10, NULL);
  soup_session_set_proxy_resolver(pp->session, NULL); /* loopback: never a proxy */
  soup_session_remove_feature_by_type(pp->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  msg = soup_message_new("GET", url);
  if (msg == NULL) {
    fprintf(stderr, "bench-rpc: bad pong server port '%s'\n", pp->server->ready);
    return FALSE;
  }
  soup_session_websocket_connect_async(pp->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                       pingpong_connected, pp);
  if (!bench_wait_for(pingpong_connect_done, pp, START_TIMEOUT_MS) || pp->ws == NULL) {
    if (!bench_aborted)
      fprintf(stderr, "bench-rpc: %s\n", pp->error ? pp->error : "pong server connect timed out");
    if (!pp->connect_done) {
      soup_session_abort(pp->session);
      while (!pp->connect_done)
        g_main_context_iteration(NULL, TRUE);
    }
    return FALSE;
  }
  return TRUE;
}

static gboolean
pingpong_batch_done(gpointer data)
{
  return ((PingPong *)data)->remaining == 0;
}

/* @n round trips, recorded in @samples (NULL: a warm-up).  FALSE (reason
 * printed) on failure. */
static gboolean
pingpong_run(PingPong *pp, guint n, GArray *samples)
{
  if (pp->closed || n == 0)
    return !pp->closed;
  pp->samples = samples;
  pp->remaining = n;
  pingpong_send(pp);
  if (!bench_wait_for(pingpong_batch_done, pp, 60000) || pp->error != NULL || pp->closed) {
    if (!bench_aborted)
      fprintf(stderr, "\nbench-rpc: ping-pong: %s\n",
              pp->error ? pp->error
                        : (pp->closed ? "the connection closed" : "no answer within 60 s"));
    pp->remaining = 0;
    pp->samples = NULL;
    return FALSE;
  }
  pp->samples = NULL;
  return TRUE;
}

static gboolean
pingpong_is_closed(gpointer data)
{
  return ((PingPong *)data)->closed;
}

static void
pingpong_clear(PingPong *pp)
{
  if (pp->ws != NULL) {
    if (soup_websocket_connection_get_state(pp->ws) == SOUP_WEBSOCKET_STATE_OPEN) {
      gboolean was_aborted = bench_aborted;

      bench_aborted = FALSE; /* close cleanly even after Ctrl-C */
      soup_websocket_connection_close(pp->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      bench_wait_for(pingpong_is_closed, pp, 5000);
      bench_aborted = was_aborted || bench_aborted;
    }
    g_signal_handlers_disconnect_by_data(pp->ws, pp);
    g_clear_object(&pp->ws);
  }
  if (pp->session != NULL)
    soup_session_abort(pp->session);
  g_clear_object(&pp->session);
  child_stop(pp->server);
  pp->server = NULL;
  g_clear_pointer(&pp->frame, g_bytes_unref);
  g_clear_pointer(&pp->error, g_free);
}

/* Pins this thread and the pong server's main thread (the one serving
 * the WebSocket) to the CPU this thread is running on, for the A' figure;
 * pin_end() restores both affinity masks. */
typedef struct {
  cpu_set_t self, child;
  pid_t child_pid;
  gboolean active;
} Pin;

static gboolean
pin_begin(Pin *p, const Child *server)
{
  cpu_set_t one;
  int cpu = sched_getcpu();

  memset(p, 0, sizeof *p);
  p->child_pid = (pid_t)g_ascii_strtoll(server->pid, NULL, 10);
  if (cpu < 0 || p->child_pid <= 0 || sched_getaffinity(0, sizeof p->self, &p->self) != 0 ||
      sched_getaffinity(p->child_pid, sizeof p->child, &p->child) != 0)
    return FALSE;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0)
    return FALSE;
  if (sched_setaffinity(p->child_pid, sizeof one, &one) != 0) {
    sched_setaffinity(0, sizeof p->self, &p->self);
    return FALSE;
  }
  p->active = TRUE;
  return TRUE;
}

static void
pin_end(Pin *p)
{
  if (!p->active)
    return;
  sched_setaffinity(p->child_pid, sizeof p->child, &p->child);
  sched_setaffinity(0, sizeof p->self, &p->self);
  p->active = FALSE;
}

/* ---- B: raw SQLite -------------------------------------------------------------------------- */

typedef struct {
  sqlite3 *db;
  sqlite3_stmt *insert, *delete;
  guint8 *row;
  char *path;
} RawDb;

static gboolean
rawdb_check(RawDb *r, int rc, const char *what)
{
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
    return TRUE;
  fprintf(stderr, "\nbench-rpc: sqlite %s on %s: %s\n", what, r->path,
          r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
  return FALSE;
}

static void
rawdb_clear(RawDb *r)
{
  const char *suffixes[] = {"", "-wal", "-shm"};

  sqlite3_finalize(r->insert);
  sqlite3_finalize(r->delete);
  sqlite3_close(r->db);
  if (r->path != NULL) {
    for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++) {
      g_autofree char *p = g_strconcat(r->path, suffixes[i], NULL);

      g_unlink(p);
    }
  }
  g_free(r->row);
  g_free(r->path);
  memset(r, 0, sizeof *r);
}

/* Opens DIR/baseline.db (WAL, synchronous=NORMAL).  FALSE (reason
 * printed) on failure; rawdb_clear() in both cases. */
static gboolean
rawdb_init(RawDb *r, const char *dir)
{
  memset(r, 0, sizeof *r);
  r->path = g_build_filename(dir, "baseline.db", NULL);
  r->row = g_malloc((gsize)opt_row);
  for (gint i = 0; i < opt_row; i++)
    r->row[i] = (guint8)(i * 31 + 7);
  return rawdb_check(r, sqlite3_open(r->path, &r->db), "open") &&
         rawdb_check(r, sqlite3_exec(r->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), "wal") &&
         rawdb_check(r, sqlite3_exec(r->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL),
                     "synchronous") &&
         rawdb_check(r,
                     sqlite3_exec(r->db,
                                  "CREATE TABLE raw(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)",
                                  NULL, NULL, NULL),
                     "create") &&
         rawdb_check(r,
                     sqlite3_prepare_v2(r->db, "INSERT INTO raw(payload) VALUES (?1)", -1,
                                        &r->insert, NULL),
                     "prepare") &&
         rawdb_check(
             r, sqlite3_prepare_v2(r->db, "DELETE FROM raw WHERE id = ?1", -1, &r->delete, NULL),
             "prepare");
}

/* @n iterations of INSERT commit + DELETE commit, each recorded in
 * @samples (nullable: a warm-up).  FALSE (reason printed) on failure. */
static gboolean
rawdb_run(RawDb *r, guint n, GArray *samples, const char *label)
{
  for (guint i = 0; i < n && !bench_aborted; i++) {
    gint64 t0 = now_ns();
    double us;

    sqlite3_bind_blob(r->insert, 1, r->row, opt_row, SQLITE_STATIC);
    if (!rawdb_check(r, sqlite3_step(r->insert), "insert"))
      return FALSE;
    sqlite3_reset(r->insert);
    sqlite3_bind_int64(r->delete, 1, sqlite3_last_insert_rowid(r->db));
    if (!rawdb_check(r, sqlite3_step(r->delete), "delete"))
      return FALSE;
    sqlite3_reset(r->delete);
    us = (double)(now_ns() - t0) / 1000.0;
    if (samples != NULL) {
      g_array_append_val(samples, us);
      progress("%s %u/%u", label, i + 1, n);
    }
  }
  return !bench_aborted;
}

/* ---- C: the node ---------------------------------------------------------------------------- */

/* @s as a TOML basic string, quotes included (transfer full). */
static char *
toml_quote(const char *s)
{
  GString *out = g_string_new("\"");

  for (const char *p = s; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_c(out, '\\');
    if ((guchar)*p < 0x20)
      g_string_append_printf(out, "\\u%04x", (guint)(guchar)*p);
    else
      g_string_append_c(out, *p);
  }
  g_string_append_c(out, '"');
  return g_string_free(out, FALSE);
}

/* The part of actr.toml both nodes share (transfer full). */
static char *
node_toml(const char *host_port, const char *data_dir)
{
  g_autofree char *signaling = g_strdup_printf("ws://%s/signaling/ws", host_port);
  g_autofree char *ais = g_strdup_printf("http://%s/ais", host_port);
  g_autofree char *q_signaling = toml_quote(signaling);
  g_autofree char *q_ais = toml_quote(ais);
  g_autofree char *q_data = toml_quote(data_dir);

  return g_strdup_printf("edition = 1\n"
                         "[signaling]\n"
                         "url = %s\n"
                         "[ais_endpoint]\n"
                         "url = %s\n"
                         "[deployment]\n"
                         "realm_id = %d\n"
                         "[hyper]\n"
                         "data_dir = %s\n",
                         q_signaling, q_ais, REALM, q_data);
}

typedef struct {
  Child *actrd, *callee;
  char *host_port; /* actrd's HOST:PORT */
  char *callee_id; /* from its ready line */
  ActrConfig *config;
  ActrNode *node;
  GBytes *payload;
} Rig;

static void
rig_clear(Rig *rig)
{
  /* The client first: it unregisters from actrd. */
  if (rig->node != NULL) {
    actr_node_shutdown(rig->node);
    g_clear_pointer(&rig->node, actr_node_free);
  }
  g_clear_pointer(&rig->config, actr_config_free);
  child_stop(rig->callee);
  rig->callee = NULL;
  child_stop(rig->actrd);
  rig->actrd = NULL;
  g_clear_pointer(&rig->host_port, g_free);
  g_clear_pointer(&rig->callee_id, g_free);
  g_clear_pointer(&rig->payload, g_bytes_unref);
}

/* actrd, the callee node, the client node.  FALSE (reason printed) on
 * failure; rig_clear() in both cases. */
static gboolean
rig_init(Rig *rig, const char *dir, GBytes *payload)
{
  g_autofree char *actrd_dir = g_build_filename(dir, "actrd", NULL);
  g_autofree char *actrd_conf = g_build_filename(dir, "actrd.toml", NULL);
  g_autofree char *actrd_log = g_build_filename(dir, "actrd.stderr", NULL);
  g_autofree char *callee_conf = g_build_filename(dir, "callee.toml", NULL);
  g_autofree char *callee_log = g_build_filename(dir, "callee.stderr", NULL);
  g_autofree char *callee_data = g_build_filename(dir, "callee-data", NULL);
  g_autofree char *callee_db = g_build_filename(dir, "callee-mailbox.db", NULL);
  g_autofree char *client_data = g_build_filename(dir, "client-data", NULL);
  g_autofree char *q_db = toml_quote(callee_db);
  g_autofree char *common = NULL;
  g_autofree char *callee_toml = NULL;
  g_autofree char *client_toml = NULL;
  g_autoptr(GError) error = NULL;
  ActrNodeOptions options = {.actr_type = CLIENT_TYPE};

  memset(rig, 0, sizeof *rig);
  rig->payload = g_bytes_ref(payload);
  if (!g_file_set_contents(actrd_conf, actrd_toml, -1, &error)) {
    fprintf(stderr, "bench-rpc: %s\n", error->message);
    return FALSE;
  }
  {
    const char *argv[] = {opt_actrd, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                          actrd_dir, "--dev", "--config", actrd_conf,    NULL};

    rig->actrd = child_start("actrd", actrd_log, ACTRD_READY, argv);
  }
  if (rig->actrd == NULL)
    return FALSE;
  rig->host_port = g_strdup(rig->actrd->ready);

  common = node_toml(rig->host_port, callee_data);
  callee_toml = g_strdup_printf("%s"
                                "[websocket]\n"
                                "listen_port = 0\n"
                                "advertised_host = \"127.0.0.1\"\n"
                                "[storage]\n"
                                "mailbox_path = %s\n",
                                common, q_db);
  if (!g_file_set_contents(callee_conf, callee_toml, -1, &error)) {
    fprintf(stderr, "bench-rpc: %s\n", error->message);
    return FALSE;
  }
  {
    const char *argv[] = {opt_actr,     "run",        "--config", callee_conf,
                          "--workload", opt_workload, NULL};

    rig->callee = child_start("callee node", callee_log, CALLEE_READY, argv);
  }
  if (rig->callee == NULL)
    return FALSE;
  rig->callee_id = g_strdup(rig->callee->ready);

  client_toml = node_toml(rig->host_port, client_data);
  rig->config = actr_config_load_data(client_toml, strlen(client_toml), "bench-rpc client", &error);
  if (rig->config == NULL) {
    fprintf(stderr, "bench-rpc: client config: %s\n", error->message);
    return FALSE;
  }
  rig->node = actr_node_new(rig->config, &options, &error);
  if (rig->node == NULL) {
    fprintf(stderr, "bench-rpc: actr_node_new: %s\n", error->message);
    return FALSE;
  }
  if (!actr_node_start(rig->node, &error)) {
    fprintf(stderr, "bench-rpc: actr_node_start: %s\n", error->message);
    child_print_log(rig->actrd);
    return FALSE;
  }
  return TRUE;
}

/* Failed calls and wrong replies of one phase. */
typedef struct {
  guint64 errors;
  char *first;
} Errors;

static void
errors_add(Errors *e, char *message /* transfer full */)
{
  e->errors++;
  if (e->first == NULL)
    e->first = message;
  else
    g_free(message);
}

/* Checks one call's outcome; TRUE when @reply is the echo of @payload. */
static gboolean
reply_ok(Errors *e, GBytes *reply, const GError *error, GBytes *payload)
{
  if (reply == NULL) {
    errors_add(e, g_strdup_printf("%s (%s %d)", error ? error->message : "no reply",
                                  error ? g_quark_to_string(error->domain) : "-",
                                  error ? error->code : 0));
    return FALSE;
  }
  if (!g_bytes_equal(reply, payload)) {
    errors_add(e, g_strdup_printf("wrong reply: %" G_GSIZE_FORMAT
                                  " bytes, expected the %" G_GSIZE_FORMAT "-byte payload",
                                  g_bytes_get_size(reply), g_bytes_get_size(payload)));
    return FALSE;
  }
  return TRUE;
}

/* Sequential: @n blocking calls, latencies in @samples (nullable: a
 * warm-up).  FALSE when more than MAX_ERRORS failed or on an abort. */
static gboolean
rig_sequential(Rig *rig, guint n, GArray *samples, Errors *e, const char *label)
{
  ActrCallOptions options = {.timeout_ms = CALL_TIMEOUT_MS};

  for (guint i = 0; i < n; i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = NULL;
    gint64 t0;
    double us;

    /* Notice a dead child or Ctrl-C between calls (outside the timing). */
    while (g_main_context_iteration(NULL, FALSE))
      ;
    if (bench_aborted || e->errors > MAX_ERRORS)
      return FALSE;
    t0 = now_ns();
    reply = actr_node_call(rig->node, ECHO_TYPE, ECHO_ROUTE, rig->payload, &options, &error);
    us = (double)(now_ns() - t0) / 1000.0;
    if (!reply_ok(e, reply, error, rig->payload))
      continue;
    if (samples != NULL) {
      g_array_append_val(samples, us);
      progress("%s %u/%u", label, i + 1, n);
    }
  }
  return !bench_aborted && e->errors <= MAX_ERRORS;
}

/* Calls in flight from a GMainLoop on this thread.  Refcounted
 * (g_rc_box): every call in flight holds a reference, so a call that
 * completes after the phase gave up on it touches nothing freed. */
typedef struct {
  Rig *rig;
  GMainLoop *loop;
  guint max_inflight, inflight;
  guint64 to_issue; /* count mode: calls left to start */
  gboolean timed;   /* timed mode: start calls until deadline_ns */
  gint64 t0_ns, deadline_ns;
  guint64 ok_in_time; /* correct replies received by the deadline */
  GArray *samples;    /* us, nullable */
  Errors errors;
  guint watchdog;    /* progress and the drain timeout */
  gboolean finished; /* the phase is over: late completions are ignored */
} Flood;

typedef struct {
  Flood *flood;
  gint64 sent_ns;
} Call;

static void
flood_clear(gpointer data)
{
  Flood *f = data;

  g_main_loop_unref(f->loop);
  if (f->samples != NULL)
    g_array_unref(f->samples);
  g_free(f->errors.first);
}

static void flood_issue(Flood *f);

static void
flood_done(GObject *source, GAsyncResult *result, gpointer data)
{
  Call *call = data;
  Flood *f = call->flood;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  gint64 now;

  reply = actr_node_call_finish(f->rig->node, result, &error);
  now = now_ns();
  if (!f->finished) {
    f->inflight--;
    if (reply_ok(&f->errors, reply, error, f->rig->payload)) {
      double us = (double)(now - call->sent_ns) / 1000.0;

      if (!f->timed || now <= f->deadline_ns)
        f->ok_in_time++;
      if (f->samples != NULL)
        g_array_append_val(f->samples, us);
    }
    flood_issue(f);
    if (f->inflight == 0)
      g_main_loop_quit(f->loop);
  }
  g_free(call);
  g_rc_box_release_full(f, flood_clear);
}

static gboolean
flood_may_issue(Flood *f)
{
  if (bench_aborted || f->errors.errors > MAX_ERRORS)
    return FALSE;
  return f->timed ? now_ns() < f->deadline_ns : f->to_issue > 0;
}

static void
flood_issue(Flood *f)
{
  static const ActrCallOptions options = {.timeout_ms = CALL_TIMEOUT_MS};

  while (f->inflight < f->max_inflight && flood_may_issue(f)) {
    Call *call = g_new0(Call, 1);

    call->flood = g_rc_box_acquire(f);
    f->inflight++;
    if (!f->timed)
      f->to_issue--;
    call->sent_ns = now_ns();
    actr_node_call_async(f->rig->node, ECHO_TYPE, ECHO_ROUTE, f->rig->payload, &options, NULL,
                         flood_done, call);
  }
}

static gboolean
flood_watchdog(gpointer data)
{
  Flood *f = data;

  if (bench_aborted || now_ns() > f->deadline_ns + (gint64)DRAIN_TIMEOUT_MS * 1000000) {
    g_main_loop_quit(f->loop);
    f->watchdog = 0;
    return G_SOURCE_REMOVE;
  }
  if (f->timed)
    progress("%s %.1f s, %" G_GUINT64_FORMAT " calls", "throughput",
             (double)(now_ns() - f->t0_ns) / 1e9, f->ok_in_time);
  return G_SOURCE_CONTINUE;
}

typedef struct {
  gboolean ok;
  double seconds;
  guint64 calls; /* correct replies by the deadline */
  guint64 errors;
  char *first_error;
  double cpu_self, cpu_callee, cpu_actrd; /* CPU seconds during the phase */
} FloodResult;

/* @inflight calls in flight: @count calls (count mode, a warm-up), or for
 * @seconds (timed mode).  Latencies go to @samples (nullable).  FALSE when
 * calls were left unanswered after the drain timeout or too many failed. */
static gboolean
rig_flood(Rig *rig, guint inflight, guint64 count, double seconds, GArray *samples,
          FloodResult *res)
{
  Flood *f = g_rc_box_new0(Flood);
  double self0 = bench_self_cpu_s(), callee0 = child_cpu_s(rig->callee),
         actrd0 = child_cpu_s(rig->actrd);
  gboolean ok;

  f->rig = rig;
  f->loop = g_main_loop_new(NULL, FALSE);
  f->max_inflight = inflight;
  f->timed = seconds > 0;
  f->to_issue = count;
  f->samples = samples ? g_array_ref(samples) : NULL;
  f->t0_ns = now_ns();
  f->deadline_ns = f->timed ? f->t0_ns + (gint64)(seconds * 1e9) : f->t0_ns;
  f->watchdog = g_timeout_add(250, flood_watchdog, f);
  flood_issue(f);
  if (f->inflight > 0)
    g_main_loop_run(f->loop);
  if (!f->timed)
    f->deadline_ns = now_ns();
  g_clear_handle_id(&f->watchdog, g_source_remove);
  f->finished = TRUE;
  ok = f->inflight == 0 && f->errors.errors <= MAX_ERRORS && !bench_aborted;
  if (f->inflight > 0 && !bench_aborted)
    errors_add(&f->errors, g_strdup_printf("%u calls unanswered %d s after the end", f->inflight,
                                           DRAIN_TIMEOUT_MS / 1000));
  if (res != NULL) {
    res->ok = ok;
    res->seconds = (double)(f->deadline_ns - f->t0_ns) / 1e9;
    res->calls = f->ok_in_time;
    res->errors = f->errors.errors;
    res->first_error = g_steal_pointer(&f->errors.first);
    res->cpu_self = bench_self_cpu_s() - self0;
    res->cpu_callee = child_cpu_s(rig->callee) - callee0;
    res->cpu_actrd = child_cpu_s(rig->actrd) - actrd0;
  } else if (!ok && f->errors.first != NULL) {
    fprintf(stderr, "\nbench-rpc: warm-up: %s\n", f->errors.first);
  }
  g_rc_box_release_full(f, flood_clear);
  return ok;
}

/* ---- runs and the report -------------------------------------------------------------------- */

/* One run's figures; the report prints the medians over runs. */
enum {
  A_P50,
  A_P99,
  A1_P50, /* A with both processes on one CPU (not part of the floor) */
  A1_P99,
  B_P50,
  B_P99,
  FLOOR_P50,
  SEQ_P50,
  SEQ_P99,
  FLOOD_P50,
  FLOOD_P99,
  CALLS_PER_SEC,
  RATIO_A,
  RATIO_FLOOR,
  RATIO_FLOOR1, /* node p50 / (p50(A') + p50(B)), information only */
  CPU_SELF_US,  /* CPU per call during the throughput phase, in us */
  CPU_CALLEE_US,
  CPU_ACTRD_US,
  N_FIGURES
};

typedef struct {
  gboolean node_ok;     /* the node part ran in every run */
  gboolean node_failed; /* it failed: later runs measure the baselines only */
  guint runs;
  double *v[N_FIGURES];
  guint64 seq_errors, flood_errors, flood_calls;
  char *first_error;
  double flood_seconds;
} Report;

static void
report_note_error(Report *rep, char *message /* transfer full */)
{
  if (message == NULL)
    return;
  if (rep->first_error == NULL)
    rep->first_error = message;
  else
    g_free(message);
}

static GArray *
samples_new(guint n)
{
  return g_array_sized_new(FALSE, FALSE, sizeof(double), n);
}

/* One run: A, B, then (unless @rig is NULL) the node, sequential and
 * with calls in flight.  FALSE when a baseline failed; a failure of the
 * node part sets rep->node_failed instead. */
static gboolean
run_once(guint run, PingPong *pp, RawDb *db, Rig *rig, Report *rep)
{
  g_autoptr(GArray) a = samples_new((guint)opt_iterations);
  g_autoptr(GArray) b = samples_new((guint)opt_iterations);
  g_autoptr(GArray) seq = samples_new((guint)opt_iterations);
  g_autoptr(GArray) flood = samples_new(1024);
  g_autofree char *label = NULL;
  Errors seq_errors = {0};
  FloodResult fr = {0};
  guint i = run;
  double calls;

  label = g_strdup_printf("[run %u/%u] A ping-pong", run + 1, rep->runs);
  progress("%s", label);
  if (!pingpong_run(pp, (guint)opt_warmup, NULL) || !pingpong_run(pp, (guint)opt_iterations, a))
    return FALSE;
  rep->v[A_P50][i] = percentile(a, 0.50);
  rep->v[A_P99][i] = percentile(a, 0.99);
  note("run %u/%u: A raw WebSocket ping-pong p50 %.1f us, p99 %.1f us", run + 1, rep->runs,
       rep->v[A_P50][i], rep->v[A_P99][i]);
  if (g_get_num_processors() > 1) {
    g_autoptr(GArray) a1 = samples_new((guint)opt_iterations);
    Pin pin;
    gboolean pinned = pin_begin(&pin, pp->server), done;

    done = pinned && pingpong_run(pp, (guint)opt_warmup, NULL) &&
           pingpong_run(pp, (guint)opt_iterations, a1);
    pin_end(&pin);
    if (pinned && !done)
      return FALSE;
    rep->v[A1_P50][i] = pinned ? percentile(a1, 0.50) : -1;
    rep->v[A1_P99][i] = pinned ? percentile(a1, 0.99) : -1;
    if (pinned)
      note("run %u/%u: A' the same on one CPU: p50 %.1f us, p99 %.1f us", run + 1, rep->runs,
           rep->v[A1_P50][i], rep->v[A1_P99][i]);
  }

  g_free(label);
  label = g_strdup_printf("[run %u/%u] B raw SQLite", run + 1, rep->runs);
  if (!rawdb_run(db, (guint)opt_warmup, NULL, label) ||
      !rawdb_run(db, (guint)opt_iterations, b, label))
    return FALSE;
  rep->v[B_P50][i] = percentile(b, 0.50);
  rep->v[B_P99][i] = percentile(b, 0.99);
  rep->v[FLOOR_P50][i] = rep->v[A_P50][i] + rep->v[B_P50][i];
  note("run %u/%u: B raw SQLite insert+delete commits p50 %.1f us, p99 %.1f us; floor p50 %.1f us",
       run + 1, rep->runs, rep->v[B_P50][i], rep->v[B_P99][i], rep->v[FLOOR_P50][i]);

  if (rig == NULL)
    return TRUE;

  g_free(label);
  label = g_strdup_printf("[run %u/%u] node sequential", run + 1, rep->runs);
  if (!rig_sequential(rig, (guint)opt_warmup, NULL, &seq_errors, label) ||
      !rig_sequential(rig, (guint)opt_iterations, seq, &seq_errors, label) || seq->len == 0) {
    if (!bench_aborted)
      fprintf(stderr, "\nbench-rpc: sequential calls failed: %s\n",
              seq_errors.first ? seq_errors.first : "no call succeeded");
    report_note_error(rep, g_steal_pointer(&seq_errors.first));
    rep->node_failed = TRUE;
    return !bench_aborted;
  }
  rep->seq_errors += seq_errors.errors;
  report_note_error(rep, g_steal_pointer(&seq_errors.first));
  rep->v[SEQ_P50][i] = percentile(seq, 0.50);
  rep->v[SEQ_P99][i] = percentile(seq, 0.99);
  rep->v[RATIO_A][i] = rep->v[SEQ_P50][i] / rep->v[A_P50][i];
  rep->v[RATIO_FLOOR][i] = rep->v[SEQ_P50][i] / rep->v[FLOOR_P50][i];
  rep->v[RATIO_FLOOR1][i] =
      rep->v[A1_P50][i] > 0 ? rep->v[SEQ_P50][i] / (rep->v[A1_P50][i] + rep->v[B_P50][i]) : -1;
  note("run %u/%u: node sequential p50 %.1f us, p99 %.1f us (%.2fx A, %.2fx floor)", run + 1,
       rep->runs, rep->v[SEQ_P50][i], rep->v[SEQ_P99][i], rep->v[RATIO_A][i],
       rep->v[RATIO_FLOOR][i]);

  progress("[run %u/%u] throughput warm-up", run + 1, rep->runs);
  if (!rig_flood(rig, (guint)opt_inflight, (guint64)opt_warmup * 4, 0, NULL, NULL)) {
    rep->node_failed = TRUE;
    return !bench_aborted;
  }
  if (!rig_flood(rig, (guint)opt_inflight, 0, opt_seconds, flood, &fr) || fr.calls == 0) {
    if (!bench_aborted)
      fprintf(stderr, "\nbench-rpc: calls in flight failed: %s\n",
              fr.first_error ? fr.first_error : "no call succeeded");
    report_note_error(rep, fr.first_error);
    rep->node_failed = TRUE;
    return !bench_aborted;
  }
  calls = (double)fr.calls;
  rep->flood_errors += fr.errors;
  rep->flood_calls += fr.calls;
  rep->flood_seconds += fr.seconds;
  report_note_error(rep, fr.first_error);
  rep->v[FLOOD_P50][i] = percentile(flood, 0.50);
  rep->v[FLOOD_P99][i] = percentile(flood, 0.99);
  rep->v[CALLS_PER_SEC][i] = calls / fr.seconds;
  rep->v[CPU_SELF_US][i] = fr.cpu_self / calls * 1e6;
  rep->v[CPU_CALLEE_US][i] = fr.cpu_callee / calls * 1e6;
  rep->v[CPU_ACTRD_US][i] = fr.cpu_actrd / calls * 1e6;
  note("run %u/%u: node %d in flight: %.0f calls/s, p50 %.1f us, p99 %.1f us", run + 1, rep->runs,
       opt_inflight, rep->v[CALLS_PER_SEC][i], rep->v[FLOOD_P50][i], rep->v[FLOOD_P99][i]);
  return TRUE;
}

static double
med(const Report *rep, guint figure)
{
  return bench_median(rep->v[figure], rep->runs);
}

static void
print_report(const Report *rep, gsize envelope_len, gsize frame_len, const char *dir,
             const Rig *rig)
{
  double floor_ratio = med(rep, RATIO_FLOOR), cps = med(rep, CALLS_PER_SEC);

  printf("bench-rpc: %u CPUs shared by every process of the run; files in %s;\n"
         "bench_median of %u interleaved runs, each %d round trips per latency figure after %d "
         "warm-up\n",
         g_get_num_processors(), dir, rep->runs, opt_iterations, opt_warmup);
  printf("message: %d-byte payload -> %" G_GSIZE_FORMAT "-byte RpcEnvelope -> %" G_GSIZE_FORMAT
         "-byte frame (A sends binary messages of this size); SQLite row %d bytes\n\n",
         opt_payload, envelope_len, frame_len, opt_row);
  printf("  %-58s %10s %10s\n", "latency (us)", "p50", "p99");
  printf("  %-58s %10.1f %10.1f\n", "A  raw libsoup WebSocket ping-pong, 2 processes",
         med(rep, A_P50), med(rep, A_P99));
  if (med(rep, A1_P50) > 0)
    printf("  %-58s %10.1f %10.1f\n", "A' the same, both processes pinned to one CPU (info only)",
           med(rep, A1_P50), med(rep, A1_P99));
  printf("  %-58s %10.1f %10.1f\n", "B  raw SQLite INSERT commit + DELETE commit (WAL, NORMAL)",
         med(rep, B_P50), med(rep, B_P99));
  printf("  %-58s %10.1f %10s\n", "floor = A + B (p50(A) + p50(B) within each run)",
         med(rep, FLOOR_P50), "-");
  if (!rep->node_ok) {
    printf("  %-58s %10s %10s\n", "node -> node, sequential actr_node_call",
           opt_baselines_only ? "skipped" : "failed", "-");
    printf("\n  the node part %s: no ratios\n",
           opt_baselines_only ? "was skipped (--baselines-only)" : "failed (see stderr)");
    fflush(stdout);
    return;
  }
  printf("  %-58s %10.1f %10.1f\n", "node -> node over WebSocket, sequential actr_node_call",
         med(rep, SEQ_P50), med(rep, SEQ_P99));
  {
    g_autofree char *label =
        g_strdup_printf("node -> node, actr_node_call_async with %d in flight", opt_inflight);

    printf("  %-58s %10.1f %10.1f\n", label, med(rep, FLOOD_P50), med(rep, FLOOD_P99));
  }
  printf("\n  %-40s %12s %12s\n", "ratio / rate", "measured", "target");
  printf("  %-40s %12.2f %12s\n", "node p50 / A p50", med(rep, RATIO_A), "-");
  printf("  %-40s %12.2f %12s  %s\n", "node p50 / floor p50", floor_ratio, "<= 1.20",
         floor_ratio <= TARGET_FLOOR_RATIO ? "target met" : "NOT met");
  if (med(rep, RATIO_FLOOR1) > 0)
    printf("  %-40s %12.2f %12s\n", "node p50 / (A' + B) p50, info only", med(rep, RATIO_FLOOR1),
           "-");
  {
    g_autofree char *label = g_strdup_printf("calls/s with %d in flight", opt_inflight);

    printf("  %-40s %12.0f %12s  %s\n", label, cps, ">= 20000",
           cps >= TARGET_CALLS_PER_SEC ? "target met" : "NOT met");
  }
  printf("\n  throughput: %" G_GUINT64_FORMAT " correct replies in %.1f s over all runs; "
         "failed calls: %" G_GUINT64_FORMAT " sequential, %" G_GUINT64_FORMAT " in flight\n",
         rep->flood_calls, rep->flood_seconds, rep->seq_errors, rep->flood_errors);
  if (rep->first_error != NULL)
    printf("  first failure: %s\n", rep->first_error);
  printf("  CPU per call with %d in flight: this process (client node) %.1f us, callee node "
         "%.1f us, actrd %.1f us\n",
         opt_inflight, med(rep, CPU_SELF_US), med(rep, CPU_CALLEE_US), med(rep, CPU_ACTRD_US));
  printf("  callee %s via actrd %s\n", rig->callee_id, rig->host_port);
}

int
main(int argc, char **argv)
{
  GOptionEntry entries[] = {
      {"iterations", 'n', 0, G_OPTION_ARG_INT, &opt_iterations,
       "Round trips per latency figure and run (default 5000)", "N"},
      {"warmup", 'w', 0, G_OPTION_ARG_INT, &opt_warmup,
       "Warm-up round trips before each figure (default 200)", "N"},
      {"repeat", 'r', 0, G_OPTION_ARG_INT, &opt_repeat,
       "Interleaved runs; medians are reported (default 5)", "R"},
      {"seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
       "Duration of the throughput phase per run (default 2)", "S"},
      {"inflight", 'k', 0, G_OPTION_ARG_INT, &opt_inflight,
       "Calls in flight in the throughput phase (default 64)", "K"},
      {"payload", 'b', 0, G_OPTION_ARG_INT, &opt_payload, "Echo payload bytes (default 16)",
       "BYTES"},
      {"row", 0, 0, G_OPTION_ARG_INT, &opt_row, "Baseline SQLite row bytes (default 200)", "BYTES"},
      {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &opt_dir,
       "Directory for every file of the run (default: a new one in $TMPDIR or /tmp)", "DIR"},
      {"actrd", 0, 0, G_OPTION_ARG_FILENAME, &opt_actrd,
       "The actrd binary (default: the build tree's)", "PATH"},
      {"actr", 0, 0, G_OPTION_ARG_FILENAME, &opt_actr,
       "The actr binary (default: the build tree's)", "PATH"},
      {"workload", 0, 0, G_OPTION_ARG_FILENAME, &opt_workload,
       "The echo workload (default: the build tree's libecho.so)", "PATH"},
      {"baselines-only", 0, 0, G_OPTION_ARG_NONE, &opt_baselines_only,
       "Measure A and B only (no actrd, no nodes)", NULL},
      {"pong-server", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_pong_server, NULL, NULL},
      G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) context = g_option_context_new("— benchmark node-to-node calls");
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) frame = NULL;
  gsize envelope_len = 0;
  PingPong pp = {0};
  RawDb db = {0};
  Rig rig = {0};
  Report rep = {0};
  gboolean ok = FALSE, have_rig = FALSE;
  guint sigint, sigterm;
  int status;

  g_option_context_add_main_entries(context, entries, NULL);
  g_option_context_set_summary(
      context,
      "Round-trip latency and calls/s node -> node over WebSocket direct-connect (the real\n"
      "actrd, a callee `actr run` with the echo workload, a client node in this process),\n"
      "against a raw libsoup WebSocket ping-pong and raw SQLite commits measured in the same run.");
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "bench-rpc: %s\n", error->message);
    return 2;
  }
  /* Loopback only: never consult a system proxy (as the test suite; GIO's
   * libproxy module costs a thread per lookup and breaks under ASan).  Set
   * before any GIO use; the children inherit it. */
  g_setenv("GIO_USE_PROXY_RESOLVER", "dummy", FALSE);
  g_setenv("no_proxy", "*", FALSE);
  if (opt_pong_server)
    return pong_server_main();
  if (opt_iterations < 1 || opt_warmup < 0 || opt_repeat < 1 || !(opt_seconds > 0) ||
      opt_seconds > 3600 || opt_inflight < 1 || opt_payload < 0 || opt_row < 1) {
    fprintf(stderr, "bench-rpc: --iterations, --repeat, --inflight and --row must be at least 1, "
                    "--warmup and --payload at least 0, --seconds in (0, 3600]\n");
    return 2;
  }
  {
    char *path;

    path = find_build_file(opt_actrd, "../src/actrd/actrd", ACTRD_PATH);
    g_free(opt_actrd);
    opt_actrd = path;
    path = find_build_file(opt_actr, "../src/cli/actr", ACTR_PATH);
    g_free(opt_actr);
    opt_actr = path;
    path = find_build_file(opt_workload, "../examples/libecho.so", ECHO_WORKLOAD_PATH);
    g_free(opt_workload);
    opt_workload = path;
  }
  if (!opt_baselines_only) {
    if (!g_file_test(opt_actrd, G_FILE_TEST_IS_EXECUTABLE) ||
        !g_file_test(opt_actr, G_FILE_TEST_IS_EXECUTABLE) ||
        !g_file_test(opt_workload, G_FILE_TEST_EXISTS)) {
      fprintf(stderr,
              "bench-rpc: missing %s, %s or %s (build them, or pass --actrd, --actr, "
              "--workload)\n",
              opt_actrd, opt_actr, opt_workload);
      return 1;
    }
  }
  if (opt_dir == NULL) {
    opt_dir = tmp = g_dir_make_tmp("bench-rpc-XXXXXX", &error);
    if (tmp == NULL) {
      fprintf(stderr, "bench-rpc: cannot create a temporary directory: %s\n", error->message);
      return 1;
    }
  } else if (g_mkdir_with_parents(opt_dir, 0700) != 0) {
    fprintf(stderr, "bench-rpc: cannot create %s: %s\n", opt_dir, g_strerror(errno));
    return 1;
  }
  progress_on = isatty(STDERR_FILENO);
  sigint = g_unix_signal_add(SIGINT, bench_on_signal, NULL);
  sigterm = g_unix_signal_add(SIGTERM, bench_on_signal, NULL);

  payload = make_payload();
  frame = make_echo_frame(payload, &envelope_len);
  rep.runs = (guint)opt_repeat;
  for (guint k = 0; k < N_FIGURES; k++)
    rep.v[k] = g_new0(double, rep.runs);

  if (!pingpong_init(&pp, opt_dir, frame) || !rawdb_init(&db, opt_dir))
    goto out;
  note("A: pong server up (pid %s, port %s); B: %s", pp.server->pid, pp.server->ready, db.path);
  if (!opt_baselines_only) {
    have_rig = TRUE;
    if (rig_init(&rig, opt_dir, payload))
      note("C: actrd at %s, callee %s (pid %s), client node %s", rig.host_port, rig.callee_id,
           rig.callee->pid, CLIENT_TYPE);
    else
      rep.node_failed = TRUE;
  }
  ok = !bench_aborted;
  for (guint run = 0; run < rep.runs && ok; run++)
    ok = run_once(run, &pp, &db, have_rig && !rep.node_failed ? &rig : NULL, &rep);
  rep.node_ok = ok && have_rig && !rep.node_failed;

out:
  if (progress_on)
    fprintf(stderr, "\r\033[K");
  if (ok)
    print_report(&rep, envelope_len, g_bytes_get_size(frame), opt_dir, &rig);
  rig_clear(&rig);
  rawdb_clear(&db);
  pingpong_clear(&pp);
  status = bench_aborted ? 130 : ok && (rep.node_ok || opt_baselines_only) ? 0 : 1;
  for (guint k = 0; k < N_FIGURES; k++)
    g_free(rep.v[k]);
  g_free(rep.first_error);
  g_source_remove(sigint);
  g_source_remove(sigterm);
  if (tmp != NULL)
    bench_remove_tree(tmp);
  g_free(opt_actrd);
  g_free(opt_actr);
  g_free(opt_workload);
  return status;
}
