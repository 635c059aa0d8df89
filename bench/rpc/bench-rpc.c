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
 *    built with the public API (include/actr/node.h), all from
 *    bench/common/bench-node.c.  Both nodes have `[webrtc] enabled = false`
 *    (WebSocket direct-connect, the path the floor A models); --webrtc lets
 *    them use WebRTC (bench-webrtc compares both against a WebRTC floor).
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
 *                  [--baselines-only] [--webrtc]
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

#include "bench-node.h"
#include "bench-sqlite.h"
#include "bench-util.h"
#include "envelope.h"
#include "ws-frame.h"

#define TARGET_FLOOR_RATIO   1.2
#define TARGET_CALLS_PER_SEC 20000.0
#define CLIENT_TYPE          "bench:rpc-client:1.0.0"
#define PONG_READY           "pong listening on "
/* A traceparent as a node starts one: 00-<32 hex trace id>-<16 hex span id>-01. */
#define SAMPLE_TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define SAMPLE_REQUEST_ID  "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"

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
static gboolean opt_webrtc = FALSE;

/* ---- the message ---------------------------------------------------------------------------- */

/* The frame a node sends for one echo call: header + RpcEnvelope with
 * every field the node sets on a request.  Baseline A sends messages of
 * exactly this size (transfer full). */
static GBytes *
make_echo_frame(GBytes *payload, gsize *envelope_len)
{
  Actr__RpcEnvelope env = ACTR__RPC_ENVELOPE__INIT;
  g_autoptr(GBytes) encoded = NULL;
  gsize len;

  env.route_key = (char *)BENCH_ECHO_ROUTE;
  env.has_payload = TRUE;
  env.payload.data = (guint8 *)g_bytes_get_data(payload, &len);
  env.payload.len = len;
  env.has_direction = TRUE;
  env.direction = ACTR__RPC_ENVELOPE__DIRECTION__REQUEST;
  env.traceparent = (char *)SAMPLE_TRACEPARENT;
  env.request_id = (char *)SAMPLE_REQUEST_ID;
  env.timeout_ms = BENCH_CALL_TIMEOUT_MS; /* as the calls below */
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
  g_unix_signal_add(SIGTERM, bench_quit_loop, loop);
  g_unix_signal_add(SIGINT, bench_quit_loop, loop);
  g_main_loop_run(loop);
  soup_server_disconnect(server);
  return 0;
}

/* ---- A: raw WebSocket ping-pong ------------------------------------------------------------- */

typedef struct {
  BenchChild *server;
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
  bench_keep_first(&pp->error, message);
}

static void
pingpong_send(PingPong *pp)
{
  pp->sent_ns = bench_now_ns();
  soup_websocket_connection_send_message(pp->ws, SOUP_WEBSOCKET_DATA_BINARY, pp->frame);
}

static void
pingpong_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  PingPong *pp = data;
  double us = (double)(bench_now_ns() - pp->sent_ns) / 1000.0;

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
  pp->server = bench_child_start("pong server", log_path, PONG_READY, argv);
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
  if (!bench_wait_for(pingpong_connect_done, pp, BENCH_START_TIMEOUT_MS) || pp->ws == NULL) {
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
  bench_child_stop(pp->server);
  pp->server = NULL;
  g_clear_pointer(&pp->frame, g_bytes_unref);
  g_clear_pointer(&pp->error, g_free);
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
  bench_keep_first(&rep->first_error, message);
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
run_once(guint run, PingPong *pp, BenchRawDb *db, BenchRig *rig, Report *rep)
{
  g_autoptr(GArray) a = samples_new((guint)opt_iterations);
  g_autoptr(GArray) b = samples_new((guint)opt_iterations);
  g_autoptr(GArray) seq = samples_new((guint)opt_iterations);
  g_autoptr(GArray) flood = samples_new(1024);
  g_autofree char *label = NULL;
  BenchErrors seq_errors = {0};
  BenchFloodResult fr = {0};
  guint i = run;
  double calls;

  label = g_strdup_printf("[run %u/%u] A ping-pong", run + 1, rep->runs);
  bench_progress("%s", label);
  if (!pingpong_run(pp, (guint)opt_warmup, NULL) || !pingpong_run(pp, (guint)opt_iterations, a))
    return FALSE;
  rep->v[A_P50][i] = bench_percentile(a, 0.50);
  rep->v[A_P99][i] = bench_percentile(a, 0.99);
  bench_note("run %u/%u: A raw WebSocket ping-pong p50 %.1f us, p99 %.1f us", run + 1, rep->runs,
             rep->v[A_P50][i], rep->v[A_P99][i]);
  if (g_get_num_processors() > 1) {
    g_autoptr(GArray) a1 = samples_new((guint)opt_iterations);
    BenchPin pin;
    gboolean pinned = bench_pin_begin(&pin, (pid_t)g_ascii_strtoll(pp->server->pid, NULL, 10)),
             done;

    done = pinned && pingpong_run(pp, (guint)opt_warmup, NULL) &&
           pingpong_run(pp, (guint)opt_iterations, a1);
    bench_pin_end(&pin);
    if (pinned && !done)
      return FALSE;
    rep->v[A1_P50][i] = pinned ? bench_percentile(a1, 0.50) : -1;
    rep->v[A1_P99][i] = pinned ? bench_percentile(a1, 0.99) : -1;
    if (pinned)
      bench_note("run %u/%u: A' the same on one CPU: p50 %.1f us, p99 %.1f us", run + 1, rep->runs,
                 rep->v[A1_P50][i], rep->v[A1_P99][i]);
  }

  g_free(label);
  label = g_strdup_printf("[run %u/%u] B raw SQLite", run + 1, rep->runs);
  if (!bench_rawdb_run(db, (guint)opt_warmup, NULL, label) ||
      !bench_rawdb_run(db, (guint)opt_iterations, b, label))
    return FALSE;
  rep->v[B_P50][i] = bench_percentile(b, 0.50);
  rep->v[B_P99][i] = bench_percentile(b, 0.99);
  rep->v[FLOOR_P50][i] = rep->v[A_P50][i] + rep->v[B_P50][i];
  bench_note(
      "run %u/%u: B raw SQLite insert+delete commits p50 %.1f us, p99 %.1f us; floor p50 %.1f us",
      run + 1, rep->runs, rep->v[B_P50][i], rep->v[B_P99][i], rep->v[FLOOR_P50][i]);

  if (rig == NULL)
    return TRUE;

  g_free(label);
  label = g_strdup_printf("[run %u/%u] node sequential", run + 1, rep->runs);
  if (!bench_rig_sequential(rig, (guint)opt_warmup, NULL, &seq_errors, label) ||
      !bench_rig_sequential(rig, (guint)opt_iterations, seq, &seq_errors, label) || seq->len == 0) {
    if (!bench_aborted)
      fprintf(stderr, "\nbench-rpc: sequential calls failed: %s\n",
              seq_errors.first ? seq_errors.first : "no call succeeded");
    report_note_error(rep, g_steal_pointer(&seq_errors.first));
    rep->node_failed = TRUE;
    return !bench_aborted;
  }
  rep->seq_errors += seq_errors.errors;
  report_note_error(rep, g_steal_pointer(&seq_errors.first));
  rep->v[SEQ_P50][i] = bench_percentile(seq, 0.50);
  rep->v[SEQ_P99][i] = bench_percentile(seq, 0.99);
  rep->v[RATIO_A][i] = rep->v[SEQ_P50][i] / rep->v[A_P50][i];
  rep->v[RATIO_FLOOR][i] = rep->v[SEQ_P50][i] / rep->v[FLOOR_P50][i];
  rep->v[RATIO_FLOOR1][i] =
      rep->v[A1_P50][i] > 0 ? rep->v[SEQ_P50][i] / (rep->v[A1_P50][i] + rep->v[B_P50][i]) : -1;
  bench_note("run %u/%u: node sequential p50 %.1f us, p99 %.1f us (%.2fx A, %.2fx floor)", run + 1,
             rep->runs, rep->v[SEQ_P50][i], rep->v[SEQ_P99][i], rep->v[RATIO_A][i],
             rep->v[RATIO_FLOOR][i]);

  bench_progress("[run %u/%u] throughput warm-up", run + 1, rep->runs);
  if (!bench_rig_flood(rig, (guint)opt_inflight, (guint64)opt_warmup * 4, 0, NULL, NULL)) {
    rep->node_failed = TRUE;
    return !bench_aborted;
  }
  if (!bench_rig_flood(rig, (guint)opt_inflight, 0, opt_seconds, flood, &fr) || fr.calls == 0) {
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
  rep->v[FLOOD_P50][i] = bench_percentile(flood, 0.50);
  rep->v[FLOOD_P99][i] = bench_percentile(flood, 0.99);
  rep->v[CALLS_PER_SEC][i] = calls / fr.seconds;
  rep->v[CPU_SELF_US][i] = fr.cpu_self / calls * 1e6;
  rep->v[CPU_CALLEE_US][i] = fr.cpu_callee / calls * 1e6;
  rep->v[CPU_ACTRD_US][i] = fr.cpu_actrd / calls * 1e6;
  bench_note("run %u/%u: node %d in flight: %.0f calls/s, p50 %.1f us, p99 %.1f us", run + 1,
             rep->runs, opt_inflight, rep->v[CALLS_PER_SEC][i], rep->v[FLOOD_P50][i],
             rep->v[FLOOD_P99][i]);
  return TRUE;
}

static double
med(const Report *rep, guint figure)
{
  return bench_median(rep->v[figure], rep->runs);
}

static void
print_report(const Report *rep, gsize envelope_len, gsize frame_len, const char *dir,
             const BenchRig *rig)
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
  printf("  %-58s %10.1f %10.1f\n",
         opt_webrtc ? "node -> node over WebRTC, sequential actr_node_call"
                    : "node -> node over WebSocket, sequential actr_node_call",
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
      {"webrtc", 0, 0, G_OPTION_ARG_NONE, &opt_webrtc,
       "Let the nodes use WebRTC (default: [webrtc] enabled = false, WebSocket only)", NULL},
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
  BenchRawDb db = {0};
  BenchRig rig = {0};
  BenchRigOptions rig_options = {0};
  Report rep = {0};
  gboolean ok = FALSE, have_rig = FALSE;
  BenchSignals signals;
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
  bench_loopback_only();
  if (opt_pong_server)
    return pong_server_main();
  if (opt_iterations < 1 || opt_warmup < 0 || opt_repeat < 1 || !(opt_seconds > 0) ||
      opt_seconds > 3600 || opt_inflight < 1 || opt_payload < 0 || opt_row < 1) {
    fprintf(stderr, "bench-rpc: --iterations, --repeat, --inflight and --row must be at least 1, "
                    "--warmup and --payload at least 0, --seconds in (0, 3600]\n");
    return 2;
  }
  bench_resolve_build_file(&opt_actrd, "../src/actrd/actrd", ACTRD_PATH);
  bench_resolve_build_file(&opt_actr, "../src/cli/actr", ACTR_PATH);
  bench_resolve_build_file(&opt_workload, "../examples/libecho.so", ECHO_WORKLOAD_PATH);
  if (!opt_baselines_only && !bench_rig_binaries_ok(opt_actrd, opt_actr, opt_workload))
    return 1;
  if (!bench_dir_init(&opt_dir, &tmp))
    return 1;
  bench_signals_add(&signals);

  payload = bench_echo_payload((gsize)opt_payload);
  frame = make_echo_frame(payload, &envelope_len);
  rep.runs = (guint)opt_repeat;
  for (guint k = 0; k < N_FIGURES; k++)
    rep.v[k] = g_new0(double, rep.runs);

  if (!pingpong_init(&pp, opt_dir, frame) || !bench_rawdb_init(&db, opt_dir, (gsize)opt_row))
    goto out;
  bench_note("A: pong server up (pid %s, port %s); B: %s", pp.server->pid, pp.server->ready,
             db.path);
  if (!opt_baselines_only) {
    have_rig = TRUE;
    rig_options.actrd = opt_actrd;
    rig_options.actr = opt_actr;
    rig_options.workload = opt_workload;
    rig_options.client_type = CLIENT_TYPE;
    rig_options.webrtc = opt_webrtc;
    if (bench_rig_init(&rig, opt_dir, payload, &rig_options))
      bench_note("C: actrd at %s, callee %s (pid %s), client node %s", rig.host_port, rig.callee_id,
                 rig.callee->pid, CLIENT_TYPE);
    else
      rep.node_failed = TRUE;
  }
  ok = !bench_aborted;
  for (guint run = 0; run < rep.runs && ok; run++)
    ok = run_once(run, &pp, &db, have_rig && !rep.node_failed ? &rig : NULL, &rep);
  rep.node_ok = ok && have_rig && !rep.node_failed;

out:
  if (bench_progress_on)
    fprintf(stderr, "\r\033[K");
  if (ok)
    print_report(&rep, envelope_len, g_bytes_get_size(frame), opt_dir, &rig);
  bench_rig_clear(&rig);
  bench_rawdb_clear(&db);
  pingpong_clear(&pp);
  status = bench_aborted ? 130 : ok && (rep.node_ok || opt_baselines_only) ? 0 : 1;
  for (guint k = 0; k < N_FIGURES; k++)
    g_free(rep.v[k]);
  g_free(rep.first_error);
  bench_signals_remove(&signals);
  if (tmp != NULL)
    bench_remove_tree(tmp);
  g_free(opt_actrd);
  g_free(opt_actr);
  g_free(opt_workload);
  return status;
}
