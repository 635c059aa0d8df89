/* bench-webrtc — the WebRTC transport and the node over it, against
 * baselines measured in the same run on the same machine.  A benchmark, not
 * a test: nothing is asserted about speed.
 *
 * 1. Raw transport, no runtime: this process and a child (this binary
 *    re-executed with --peer) each hold one ActrPeerConnection
 *    (src/transport/webrtc: ICE → DTLS → usrsctp → lanes with the 8-byte
 *    fragment header) on 127.0.0.1 only, exchanging SDP and candidates over
 *    the child's stdin/stdout (no actrd).  This side offers, the child
 *    answers.  --size-byte messages on RPC_RELIABLE: round trips one at a
 *    time (RTT p50/p99 over --iterations after --warmup), round trips/s
 *    with --inflight in flight (--seconds), and the RTT with both processes
 *    pinned to one CPU (information only).
 * 2. Raw SQLite INSERT commit + DELETE commit (bench/common/bench-sqlite.c,
 *    the same baseline as bench-rpc).
 * 3. Node ↔ node: the real actrd, a callee `actr run` with libecho.so and a
 *    client node in this process (bench/common/bench-node.c, as bench-rpc),
 *    once with WebRTC (`[webrtc] enabled = true`, host_addresses =
 *    ["127.0.0.1"]) and once with `[webrtc] enabled = false` (WebSocket
 *    direct-connect).  The WebRTC rig must report
 *    ACTR_NODE_EVENT_WEBRTC_CONNECTED and no WEBRTC_DISCONNECTED, the
 *    WebSocket rig no WebRTC event at all; otherwise its figures are marked
 *    invalid.  Sequential actr_node_call() p50/p99, calls/s with --inflight
 *    in flight.  Floor = p50(1) + p50(2); target: node over WebRTC p50 <=
 *    1.2 x floor.
 * 4. Bulk on STREAM_RELIABLE: --bulk-size logical messages (64 KiB) sent for
 *    --bulk-seconds or --bulk-mib MiB, whichever ends first, with flow
 *    control (send while actr_pc_buffered_amount() < --bulk-buffer, then
 *    wait for on_writable); then a one-byte "E" message, which the far side
 *    answers with the payload bytes it received.  Mbit/s = those bytes over
 *    the time from the first send to that answer.  C ↔ C (the --peer
 *    child), C → aiortc (bench-webrtc-aiortc.py peer, the same line
 *    protocol) and aiortc ↔ aiortc (bench-webrtc-aiortc.py pair: two aiortc
 *    peers in one Python process, raw 64 KiB data-channel messages).  Target:
 *    C ↔ C >= 1 Gbit/s.  aiortc runs with /usr/bin/python3; without
 *    aiortc: "skipped (no aiortc)".
 * 5. Set-up: offer → RPC_RELIABLE open both ways (ActrPcState CONNECTED),
 *    p50/p99 over --connections fresh raw connections (the certificates are
 *    made once, as a node does); for the node, the first call → the client's
 *    ACTR_NODE_EVENT_WEBRTC_CONNECTED (role negotiation through actrd,
 *    offer/answer/candidates relayed, ICE, DTLS, SCTP, channels) and that
 *    first call's latency (one sample per run).
 *
 * Every process runs unpinned, as the node's do: a wake-up across CPUs
 * costs ~30 us per hop on a small VM, so the figures compare only within
 * one run.  Progress goes to stderr, results to stdout.  Exit status 0 when
 * every figure was measured (targets met or not), 1 when a part failed, 2 on
 * a usage error, 130 when interrupted.
 *
 * Usage: bench-webrtc [--iterations N] [--warmup N] [--seconds S]
 *                     [--inflight K] [--size BYTES] [--connections N]
 *                     [--bulk-seconds S] [--bulk-mib M] [--bulk-size BYTES]
 *                     [--bulk-buffer BYTES] [--node-iterations N] [--row BYTES]
 *                     [--dir DIR] [--actrd PATH] [--actr PATH]
 *                     [--workload PATH] [--python PATH] [--aiortc-script PATH]
 *                     [--no-nodes] [--no-aiortc]
 */
#include <errno.h>
#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-child.h"
#include "bench-node.h"
#include "bench-sqlite.h"
#include "bench-util.h"
#include "peer-connection.h"

#define TARGET_FLOOR_RATIO 1.2
#define TARGET_BULK_MBPS   1000.0
#define CLIENT_TYPE        "bench:webrtc-client:1.0.0"
#define PEER_READY         "ready"
#define CONNECT_TIMEOUT_MS 15000
#define PHASE_TIMEOUT_MS   60000
#define STAMP_BYTES        8 /* the in-flight messages carry their send time */

static gint opt_iterations = 20000;
static gint opt_warmup = 1000;
static double opt_seconds = 2.0;
static gint opt_inflight = 64;
static gint opt_size = 64;
static gint opt_connections = 20;
static double opt_bulk_seconds = 5.0;
static gint opt_bulk_mib = 512;
static gint opt_bulk_size = 65536;
static gint opt_bulk_buffer = 1024 * 1024;
static gint opt_node_iterations = 5000;
static gint opt_row = 200;
static char *opt_dir = NULL;
static char *opt_actrd = NULL;
static char *opt_actr = NULL;
static char *opt_workload = NULL;
static char *opt_python = NULL;
static char *opt_aiortc_script = NULL;
static gboolean opt_no_nodes = FALSE;
static gboolean opt_no_aiortc = FALSE;
static gboolean opt_peer = FALSE;

static const char *const loopback[] = {"127.0.0.1", NULL};

/* ---- lines -------------------------------------------------------------------------------- */

/* "VERB\tARG\n" on @out (a pipe; blocking write of a short line). */
static gboolean
write_line(GOutputStream *out, const char *verb, const char *arg)
{
  g_autofree char *line = g_strdup_printf("%s%s%s\n", verb, arg ? "\t" : "", arg ? arg : "");

  return g_output_stream_write_all(out, line, strlen(line), NULL, NULL, NULL);
}

/* ---- the C peer (a child process: bench-webrtc --peer) ------------------------------------ */

typedef struct {
  GMainLoop *loop;
  ActrDtlsCert *cert;
  ActrPeerConnection *pc;
  GOutputStream *out;
  GDataInputStream *in;
  guint64 stream_bytes; /* STREAM_RELIABLE payload since the last "E" */
} PeerSide;

static void
peer_local_candidate(ActrPeerConnection *pc, const char *candidate, gpointer data)
{
  PeerSide *p = data;

  write_line(p->out, "cand", candidate);
}

static void
peer_state(ActrPeerConnection *pc, ActrPcState state, gpointer data)
{
  if (state == ACTR_PC_STATE_FAILED)
    fprintf(stderr, "bench-webrtc --peer: connection failed\n");
}

static void
peer_message(ActrPeerConnection *pc, ActrLane lane, GBytes *message, gpointer data)
{
  PeerSide *p = data;
  gsize len;
  const guint8 *bytes = g_bytes_get_data(message, &len);

  if (lane == ACTR_LANE_RPC_RELIABLE) {
    actr_pc_send(pc, lane, bytes, len);
  } else if (lane == ACTR_LANE_STREAM_RELIABLE) {
    if (len == 1 && bytes[0] == 'E') {
      g_autofree char *count = g_strdup_printf("%" G_GUINT64_FORMAT, p->stream_bytes);

      actr_pc_send(pc, lane, (const guint8 *)count, strlen(count));
      p->stream_bytes = 0;
    } else {
      p->stream_bytes += len;
    }
  }
}

static void
peer_drop(PeerSide *p)
{
  if (p->pc != NULL) {
    actr_pc_close(p->pc);
    g_clear_pointer(&p->pc, actr_pc_free);
  }
  p->stream_bytes = 0;
}

static void peer_read_next(PeerSide *p);

static void
peer_line(GObject *source, GAsyncResult *result, gpointer data)
{
  PeerSide *p = data;
  g_autofree char *line = g_data_input_stream_read_line_finish(p->in, result, NULL, NULL);
  g_autoptr(GError) error = NULL;
  char *arg;

  if (line == NULL) {
    g_main_loop_quit(p->loop);
    return;
  }
  arg = strchr(line, '\t');
  if (arg != NULL)
    *arg++ = '\0';
  if (strcmp(line, "offer") == 0 && arg != NULL) {
    static const ActrPcCallbacks callbacks = {
        .on_local_candidate = peer_local_candidate,
        .on_state = peer_state,
        .on_message = peer_message,
    };
    ActrPcConfig config = {.cert = p->cert, .host_addresses = loopback};
    gsize sdp_len;
    g_autofree char *sdp = (char *)g_base64_decode(arg, &sdp_len);
    g_autofree char *sdp_z = g_strndup(sdp, sdp_len);
    g_autofree char *answer = NULL;
    g_autofree char *answer64 = NULL;

    peer_drop(p);
    p->pc = actr_pc_new(g_main_context_default(), FALSE, &config, &callbacks, p, &error);
    if (p->pc != NULL)
      answer = actr_pc_accept_offer(p->pc, sdp_z, &error);
    if (answer == NULL) {
      fprintf(stderr, "bench-webrtc --peer: %s\n", error->message);
      g_main_loop_quit(p->loop);
      return;
    }
    answer64 = g_base64_encode((const guchar *)answer, strlen(answer));
    write_line(p->out, "answer", answer64);
  } else if (strcmp(line, "cand") == 0 && arg != NULL && p->pc != NULL) {
    if (!actr_pc_add_remote_candidate(p->pc, arg, &error))
      fprintf(stderr, "bench-webrtc --peer: candidate: %s\n", error->message);
  } else if (strcmp(line, "close") == 0) {
    peer_drop(p);
  }
  peer_read_next(p);
}

static void
peer_read_next(PeerSide *p)
{
  g_data_input_stream_read_line_async(p->in, G_PRIORITY_DEFAULT, NULL, peer_line, p);
}

/* Answers offers from stdin until stdin closes or SIGTERM. */
static int
peer_main(void)
{
  PeerSide p = {0};
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) in = g_unix_input_stream_new(STDIN_FILENO, FALSE);

  p.cert = actr_dtls_cert_new(&error);
  if (p.cert == NULL) {
    fprintf(stderr, "bench-webrtc --peer: %s\n", error->message);
    return 1;
  }
  p.loop = g_main_loop_new(NULL, FALSE);
  p.out = g_unix_output_stream_new(STDOUT_FILENO, FALSE);
  p.in = g_data_input_stream_new(in);
  g_unix_signal_add(SIGTERM, bench_quit_loop, p.loop);
  g_unix_signal_add(SIGINT, bench_quit_loop, p.loop);
  write_line(p.out, PEER_READY, NULL);
  peer_read_next(&p);
  g_main_loop_run(p.loop);
  peer_drop(&p);
  g_object_unref(p.in);
  g_object_unref(p.out);
  actr_dtls_cert_unref(p.cert);
  g_main_loop_unref(p.loop);
  return 0;
}

/* ---- the far side: a child speaking the line protocol ------------------------------------- */

/* The C peer or the aiortc peer.  Its stderr goes to a log file, printed
 * when something fails; its stdout lines go to ->on_line. */
typedef struct {
  char *name;
  GSubprocess *proc;
  GOutputStream *in;
  GDataInputStream *out;
  GCancellable *cancel;
  char *log_path;
  pid_t pid;
  gboolean ready, eof, exited;
  void (*on_line)(gpointer data, const char *verb, const char *arg);
  gpointer data;
} Remote;

static void remote_read_next(Remote *r);

static void
remote_line(GObject *source, GAsyncResult *result, gpointer data)
{
  Remote *r = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line =
      g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, NULL, &error);
  char *arg;

  if (line == NULL) {
    if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      r->eof = TRUE;
    return;
  }
  arg = strchr(line, '\t');
  if (arg != NULL)
    *arg++ = '\0';
  if (strcmp(line, PEER_READY) == 0)
    r->ready = TRUE;
  else if (r->on_line != NULL)
    r->on_line(r->data, line, arg);
  remote_read_next(r);
}

static void
remote_read_next(Remote *r)
{
  g_data_input_stream_read_line_async(r->out, G_PRIORITY_DEFAULT, r->cancel, remote_line, r);
}

static gboolean
remote_is_ready(gpointer data)
{
  Remote *r = data;

  return r->ready || r->eof;
}

static void
remote_exited(GObject *source, GAsyncResult *result, gpointer data)
{
  Remote *r = data;

  g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL);
  r->exited = TRUE;
}

static gboolean
remote_has_exited(gpointer data)
{
  return ((Remote *)data)->exited;
}

static void
remote_free(Remote *r)
{
  if (r == NULL)
    return;
  if (r->in != NULL)
    g_output_stream_close(r->in, NULL, NULL); /* EOF: the peer exits */
  if (r->proc != NULL) {
    gboolean was_aborted = bench_aborted;

    bench_aborted = FALSE; /* wait even after Ctrl-C */
    g_subprocess_wait_async(r->proc, NULL, remote_exited, r);
    if (!bench_wait_for(remote_has_exited, r, BENCH_STOP_TIMEOUT_MS)) {
      g_subprocess_force_exit(r->proc);
      bench_wait_for(remote_has_exited, r, BENCH_STOP_TIMEOUT_MS);
    }
    bench_aborted = was_aborted || bench_aborted;
  }
  if (r->cancel != NULL)
    g_cancellable_cancel(r->cancel);
  while (g_main_context_iteration(NULL, FALSE))
    ;
  g_clear_object(&r->out);
  g_clear_object(&r->in);
  g_clear_object(&r->proc);
  g_clear_object(&r->cancel);
  g_free(r->log_path);
  g_free(r->name);
  g_free(r);
}

/* Starts @argv with pipes on stdin/stdout and waits for its "ready" line.
 * NULL (reason printed) on failure. */
static Remote *
remote_start(const char *name, const char *const *argv, const char *log_path)
{
  g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GError) error = NULL;
  Remote *r = g_new0(Remote, 1);

  r->name = g_strdup(name);
  r->log_path = g_strdup(log_path);
  g_subprocess_launcher_set_stderr_file_path(launcher, log_path);
  g_subprocess_launcher_setenv(launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_set_child_setup(launcher, bench_child_setup, NULL, NULL);
  r->proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
  if (r->proc == NULL) {
    fprintf(stderr, "bench-webrtc: cannot start the %s: %s\n", name, error->message);
    remote_free(r);
    return NULL;
  }
  r->pid = (pid_t)g_ascii_strtoll(g_subprocess_get_identifier(r->proc), NULL, 10);
  r->in = g_object_ref(g_subprocess_get_stdin_pipe(r->proc));
  r->out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(r->proc));
  r->cancel = g_cancellable_new();
  remote_read_next(r);
  if (!bench_wait_for(remote_is_ready, r, BENCH_START_TIMEOUT_MS) || !r->ready) {
    if (!bench_aborted)
      fprintf(stderr, "bench-webrtc: the %s did not start\n", name);
    bench_print_log(r->name, r->log_path);
    remote_free(r);
    return NULL;
  }
  return r;
}

/* ---- the offerer side: one connection to the far side ------------------------------------- */

typedef enum { MODE_IDLE, MODE_PINGPONG, MODE_FLOOD, MODE_BULK } Mode;

typedef struct {
  ActrPeerConnection *pc;
  Remote *remote;
  ActrPcState state;
  gint64 offer_ns, connected_ns;
  char *error;
  Mode mode;
  guint8 *msg; /* the --size-byte message */
  /* ping-pong */
  guint remaining;
  gint64 sent_ns;
  GArray *samples; /* us, nullable */
  /* flood */
  gint64 deadline_ns;
  guint inflight;
  guint64 replies;
  /* bulk */
  guint8 *bulk_msg;
  guint64 bulk_sent, bulk_limit;
  gboolean end_sent, bulk_done;
  guint64 bulk_received;
  gint64 bulk_t0, bulk_t1;
} Conn;

static void
conn_fail(Conn *c, char *message /* transfer full */)
{
  bench_keep_first(&c->error, message);
}

static void
conn_local_candidate(ActrPeerConnection *pc, const char *candidate, gpointer data)
{
  Conn *c = data;

  write_line(c->remote->in, "cand", candidate);
}

static void
conn_state(ActrPeerConnection *pc, ActrPcState state, gpointer data)
{
  Conn *c = data;

  c->state = state;
  if (state == ACTR_PC_STATE_CONNECTED && c->connected_ns == 0)
    c->connected_ns = bench_now_ns();
  if (state == ACTR_PC_STATE_FAILED || state == ACTR_PC_STATE_DISCONNECTED ||
      state == ACTR_PC_STATE_CLOSED)
    conn_fail(c, g_strdup_printf("connection %s", actr_pc_state_to_string(state)));
}

static void bulk_pump(Conn *c);

static void
conn_send_stamped(Conn *c)
{
  gint64 now = bench_now_ns();

  memcpy(c->msg, &now, MIN((gsize)opt_size, STAMP_BYTES));
  actr_pc_send(c->pc, ACTR_LANE_RPC_RELIABLE, c->msg, (gsize)opt_size);
}

static void
conn_message(ActrPeerConnection *pc, ActrLane lane, GBytes *message, gpointer data)
{
  Conn *c = data;
  gsize len;
  const guint8 *bytes = g_bytes_get_data(message, &len);
  gint64 now = bench_now_ns();

  if (lane == ACTR_LANE_STREAM_RELIABLE && c->mode == MODE_BULK) {
    g_autofree char *text = g_strndup((const char *)bytes, len);

    c->bulk_received = g_ascii_strtoull(text, NULL, 10);
    c->bulk_t1 = now;
    c->bulk_done = TRUE;
    return;
  }
  if (lane != ACTR_LANE_RPC_RELIABLE)
    return;
  if (len != (gsize)opt_size) {
    conn_fail(c, g_strdup_printf("echo of %" G_GSIZE_FORMAT " bytes, sent %d", len, opt_size));
    c->remaining = 0;
    c->inflight = 0;
    return;
  }
  if (c->mode == MODE_PINGPONG && c->remaining > 0) {
    double us = (double)(now - c->sent_ns) / 1000.0;

    if (c->samples != NULL)
      g_array_append_val(c->samples, us);
    if (--c->remaining > 0) {
      c->sent_ns = bench_now_ns();
      actr_pc_send(pc, ACTR_LANE_RPC_RELIABLE, c->msg, (gsize)opt_size);
    }
  } else if (c->mode == MODE_FLOOD && c->inflight > 0) {
    gint64 sent;

    memcpy(&sent, bytes, MIN(len, STAMP_BYTES));
    if (now <= c->deadline_ns) {
      double us = (double)(now - sent) / 1000.0;

      c->replies++;
      g_array_append_val(c->samples, us);
      conn_send_stamped(c);
    } else {
      c->inflight--;
    }
  }
}

static void
conn_writable(ActrPeerConnection *pc, gpointer data)
{
  Conn *c = data;

  if (c->mode == MODE_BULK)
    bulk_pump(c);
}

static void
conn_remote_line(gpointer data, const char *verb, const char *arg)
{
  Conn *c = data;
  g_autoptr(GError) error = NULL;

  if (c->pc == NULL || arg == NULL)
    return;
  if (strcmp(verb, "answer") == 0) {
    gsize len;
    g_autofree char *sdp = (char *)g_base64_decode(arg, &len);
    g_autofree char *sdp_z = g_strndup(sdp, len);

    if (!actr_pc_set_answer(c->pc, sdp_z, &error))
      conn_fail(c, g_strdup_printf("answer: %s", error->message));
  } else if (strcmp(verb, "cand") == 0) {
    if (!actr_pc_add_remote_candidate(c->pc, arg, &error))
      conn_fail(c, g_strdup_printf("candidate: %s", error->message));
  }
}

static void
conn_drop(Conn *c)
{
  if (c->pc != NULL) {
    actr_pc_close(c->pc);
    g_clear_pointer(&c->pc, actr_pc_free);
    write_line(c->remote->in, "close", NULL);
  }
  c->state = ACTR_PC_STATE_NEW;
}

static gboolean
conn_is_up(gpointer data)
{
  Conn *c = data;

  return c->state == ACTR_PC_STATE_CONNECTED || c->error != NULL || c->remote->eof;
}

/* A new connection to @c->remote; the set-up time in *@setup_ms.  FALSE
 * (reason in c->error) on failure. */
static gboolean
conn_open(Conn *c, ActrDtlsCert *cert, double *setup_ms)
{
  static const ActrPcCallbacks callbacks = {
      .on_local_candidate = conn_local_candidate,
      .on_state = conn_state,
      .on_message = conn_message,
      .on_writable = conn_writable,
  };
  ActrPcConfig config = {.cert = cert, .host_addresses = loopback};
  g_autoptr(GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *offer64 = NULL;

  conn_drop(c);
  c->connected_ns = 0;
  c->remote->on_line = conn_remote_line;
  c->remote->data = c;
  c->pc = actr_pc_new(g_main_context_default(), TRUE, &config, &callbacks, c, &error);
  if (c->pc == NULL) {
    conn_fail(c, g_strdup_printf("actr_pc_new: %s", error->message));
    return FALSE;
  }
  c->offer_ns = bench_now_ns();
  offer = actr_pc_create_offer(c->pc, FALSE, &error);
  if (offer == NULL) {
    conn_fail(c, g_strdup_printf("offer: %s", error->message));
    return FALSE;
  }
  offer64 = g_base64_encode((const guchar *)offer, strlen(offer));
  write_line(c->remote->in, "offer", offer64);
  if (!bench_wait_for(conn_is_up, c, CONNECT_TIMEOUT_MS) || c->state != ACTR_PC_STATE_CONNECTED) {
    conn_fail(c, g_strdup(c->remote->eof ? "the peer exited" : "no connection within 15 s"));
    return FALSE;
  }
  *setup_ms = (double)(c->connected_ns - c->offer_ns) / 1e6;
  return TRUE;
}

/* Back to idle after a ping-pong or flood phase; @unfinished: it timed
 * out, for the reason @timeout_error.  TRUE when the phase succeeded. */
static gboolean
conn_phase_end(Conn *c, gboolean unfinished, const char *timeout_error)
{
  c->mode = MODE_IDLE;
  c->samples = NULL;
  if (unfinished && c->error == NULL)
    conn_fail(c, g_strdup(timeout_error));
  return c->error == NULL && !bench_aborted;
}

static gboolean
pingpong_done(gpointer data)
{
  Conn *c = data;

  return c->remaining == 0 || c->error != NULL;
}

/* @n round trips one at a time, RTTs (us) in @samples (nullable). */
static gboolean
conn_pingpong(Conn *c, guint n, GArray *samples)
{
  c->mode = MODE_PINGPONG;
  c->samples = samples;
  c->remaining = n;
  c->sent_ns = bench_now_ns();
  actr_pc_send(c->pc, ACTR_LANE_RPC_RELIABLE, c->msg, (gsize)opt_size);
  bench_wait_for(pingpong_done, c, PHASE_TIMEOUT_MS);
  return conn_phase_end(c, c->remaining > 0, "ping-pong: no answer within 60 s");
}

static gboolean
flood_done(gpointer data)
{
  Conn *c = data;

  return c->inflight == 0 || c->error != NULL;
}

/* @k round trips in flight for @seconds: round trips/s, RTTs in @samples. */
static gboolean
conn_flood(Conn *c, guint k, double seconds, GArray *samples, double *per_s)
{
  gint64 t0 = bench_now_ns();

  c->mode = MODE_FLOOD;
  c->samples = samples;
  c->replies = 0;
  c->deadline_ns = t0 + (gint64)(seconds * 1e9);
  c->inflight = k;
  for (guint i = 0; i < k; i++)
    conn_send_stamped(c);
  bench_wait_for(flood_done, c, PHASE_TIMEOUT_MS);
  *per_s = (double)c->replies / seconds;
  return conn_phase_end(c, c->inflight > 0, "in flight: replies missing 60 s after the start");
}

static void
bulk_pump(Conn *c)
{
  while (!c->end_sent && c->error == NULL) {
    if (actr_pc_buffered_amount(c->pc) >= (gsize)opt_bulk_buffer)
      return;
    if (c->bulk_sent >= c->bulk_limit || bench_now_ns() >= c->deadline_ns) {
      actr_pc_send(c->pc, ACTR_LANE_STREAM_RELIABLE, (const guint8 *)"E", 1);
      c->end_sent = TRUE;
      return;
    }
    if (actr_pc_send(c->pc, ACTR_LANE_STREAM_RELIABLE, c->bulk_msg, (gsize)opt_bulk_size) !=
        ACTR_OK) {
      conn_fail(c, g_strdup("bulk: actr_pc_send failed"));
      return;
    }
    c->bulk_sent += (guint64)opt_bulk_size;
  }
}

static gboolean
bulk_is_done(gpointer data)
{
  Conn *c = data;

  if (!c->end_sent && c->error == NULL)
    bulk_pump(c); /* the timer in bench_wait_for also ends the sending */
  return c->bulk_done || c->error != NULL;
}

static gboolean
bulk_tick(gpointer data)
{
  return G_SOURCE_CONTINUE; /* wakes bench_wait_for so the deadline is seen */
}

/* Bulk on STREAM_RELIABLE; Mbit/s received by the far side. */
static gboolean
conn_bulk(Conn *c, double *mbps, guint64 *bytes, double *seconds)
{
  guint tick = g_timeout_add(50, bulk_tick, NULL);

  c->mode = MODE_BULK;
  c->bulk_sent = 0;
  c->bulk_limit = (guint64)opt_bulk_mib * 1024 * 1024;
  c->end_sent = c->bulk_done = FALSE;
  c->bulk_t0 = bench_now_ns();
  c->deadline_ns = c->bulk_t0 + (gint64)(opt_bulk_seconds * 1e9);
  bulk_pump(c);
  bench_wait_for(bulk_is_done, c, (guint)(opt_bulk_seconds * 1000) + PHASE_TIMEOUT_MS);
  g_source_remove(tick);
  c->mode = MODE_IDLE;
  if (!c->bulk_done) {
    conn_fail(c, g_strdup("bulk: no count from the far side"));
    return FALSE;
  }
  *bytes = c->bulk_received;
  *seconds = (double)(c->bulk_t1 - c->bulk_t0) / 1e9;
  *mbps = (double)c->bulk_received * 8 / *seconds / 1e6;
  if (c->bulk_received != c->bulk_sent)
    conn_fail(c, g_strdup_printf("bulk: sent %" G_GUINT64_FORMAT " bytes, the far side counted "
                                 "%" G_GUINT64_FORMAT,
                                 c->bulk_sent, c->bulk_received));
  return c->error == NULL && !bench_aborted;
}

static void
conn_clear(Conn *c)
{
  if (c->remote != NULL && !c->remote->eof)
    conn_drop(c);
  else if (c->pc != NULL) {
    actr_pc_close(c->pc);
    g_clear_pointer(&c->pc, actr_pc_free);
  }
  g_clear_pointer(&c->msg, g_free);
  g_clear_pointer(&c->bulk_msg, g_free);
  g_clear_pointer(&c->error, g_free);
}

static void
conn_init(Conn *c, Remote *remote)
{
  memset(c, 0, sizeof *c);
  c->remote = remote;
  c->msg = g_malloc0((gsize)opt_size);
  for (gint i = STAMP_BYTES; i < opt_size; i++)
    c->msg[i] = (guint8)('a' + i % 26);
  c->bulk_msg = g_malloc((gsize)opt_bulk_size);
  for (gint i = 0; i < opt_bulk_size; i++)
    c->bulk_msg[i] = (guint8)(i * 7);
}

/* ---- the node rigs ------------------------------------------------------------------------ */

/* What the client node reported (events arrive on its I/O thread). */
typedef struct {
  GMutex lock;
  gint rtc_connected, rtc_disconnected, ws_connected;
  gint64 rtc_connected_ns; /* the first WEBRTC_CONNECTED */
} NodeEvents;

static void
node_event(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value, gpointer data)
{
  NodeEvents *ev = data;
  gint64 now = bench_now_ns();

  g_mutex_lock(&ev->lock);
  if (event == ACTR_NODE_EVENT_WEBRTC_CONNECTED && ev->rtc_connected++ == 0)
    ev->rtc_connected_ns = now;
  else if (event == ACTR_NODE_EVENT_WEBRTC_DISCONNECTED)
    ev->rtc_disconnected++;
  else if (event == ACTR_NODE_EVENT_WEBSOCKET_CONNECTED)
    ev->ws_connected++;
  g_mutex_unlock(&ev->lock);
}

typedef struct {
  gboolean ok;                    /* measured */
  gboolean valid;                 /* the transport was the one asked for */
  char *why;                      /* !ok or !valid */
  double first_call_ms, setup_ms; /* first call; first call -> WEBRTC_CONNECTED */
  double p50, p99, calls_per_s, flood_p50, flood_p99;
  guint64 errors;
  char *callee_id;
} NodeResult;

static gint
events_get(NodeEvents *ev, const gint *counter)
{
  gint v;

  g_mutex_lock(&ev->lock);
  v = *counter;
  g_mutex_unlock(&ev->lock);
  return v;
}

static gboolean
wait_one_ms(gpointer data)
{
  return FALSE;
}

/* One rig (WebRTC on or off) in DIR/NAME: start, first call, warm-up,
 * sequential calls, calls in flight, stop. */
static void
node_measure(const char *name, gboolean webrtc, GBytes *payload, NodeResult *res)
{
  g_autofree char *dir = g_build_filename(opt_dir, name, NULL);
  g_autoptr(GArray) seq = g_array_new(FALSE, FALSE, sizeof(double));
  g_autoptr(GArray) flood = g_array_new(FALSE, FALSE, sizeof(double));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  NodeEvents *ev = g_new0(NodeEvents, 1);
  BenchRigOptions opts = {
      .actrd = opt_actrd,
      .actr = opt_actr,
      .workload = opt_workload,
      .client_type = CLIENT_TYPE,
      .webrtc = webrtc,
      .on_event = node_event,
      .user_data = ev,
  };
  ActrCallOptions call_options = {.timeout_ms = BENCH_CALL_TIMEOUT_MS};
  BenchRig rig = {0};
  BenchErrors errors = {0};
  BenchFloodResult fr = {0};
  gint64 t0;

  memset(res, 0, sizeof *res);
  g_mutex_init(&ev->lock);
  g_mkdir_with_parents(dir, 0700);
  if (!bench_rig_init(&rig, dir, payload, &opts)) {
    res->why = g_strdup("the rig did not start (see stderr)");
    goto out;
  }
  res->callee_id = g_strdup(rig.callee_id);
  t0 = bench_now_ns();
  reply =
      actr_node_call(rig.node, BENCH_ECHO_TYPE, BENCH_ECHO_ROUTE, payload, &call_options, &error);
  res->first_call_ms = (double)(bench_now_ns() - t0) / 1e6;
  if (reply == NULL) {
    res->why = g_strdup_printf("first call: %s", error->message);
    goto out;
  }
  if (webrtc) {
    /* The event may trail the first reply by a dispatch. */
    for (int i = 0; i < 1000 && events_get(ev, &ev->rtc_connected) == 0 && !bench_aborted; i++)
      bench_wait_for(wait_one_ms, NULL, 1);
    g_mutex_lock(&ev->lock);
    if (ev->rtc_connected > 0)
      res->setup_ms = (double)(ev->rtc_connected_ns - t0) / 1e6;
    g_mutex_unlock(&ev->lock);
  }
  bench_note("node over %s: first call %.1f ms; warming up", name, res->first_call_ms);
  if (!bench_rig_sequential(&rig, (guint)opt_warmup, NULL, &errors, "node warm-up") ||
      !bench_rig_sequential(&rig, (guint)opt_node_iterations, seq, &errors,
                            webrtc ? "node over WebRTC" : "node over WebSocket") ||
      seq->len == 0) {
    res->why = g_strdup_printf("sequential calls: %s", errors.first ? errors.first : "aborted");
    goto out;
  }
  res->p50 = bench_percentile(seq, 0.50);
  res->p99 = bench_percentile(seq, 0.99);
  if (!bench_rig_flood(&rig, (guint)opt_inflight, (guint64)opt_warmup * 4, 0, NULL, NULL) ||
      !bench_rig_flood(&rig, (guint)opt_inflight, 0, opt_seconds, flood, &fr) || fr.calls == 0) {
    res->why = g_strdup_printf("calls in flight: %s", fr.first_error ? fr.first_error : "failed");
    goto out;
  }
  res->calls_per_s = (double)fr.calls / fr.seconds;
  res->flood_p50 = bench_percentile(flood, 0.50);
  res->flood_p99 = bench_percentile(flood, 0.99);
  res->errors = errors.errors + fr.errors;
  res->ok = TRUE;
  /* The transport check, after every call was made. */
  if (webrtc && events_get(ev, &ev->rtc_connected) == 0)
    res->why = g_strdup("no ACTR_NODE_EVENT_WEBRTC_CONNECTED: the calls did not use WebRTC");
  else if (webrtc && events_get(ev, &ev->rtc_disconnected) > 0)
    res->why = g_strdup("ACTR_NODE_EVENT_WEBRTC_DISCONNECTED during the run: some calls may "
                        "have used WebSocket");
  else if (!webrtc && events_get(ev, &ev->rtc_connected) > 0)
    res->why = g_strdup("a WebRTC connection came up with [webrtc] enabled = false");
  res->valid = res->why == NULL;
  bench_note("node over %s: sequential p50 %.1f us, p99 %.1f us; %d in flight %.0f calls/s%s%s",
             name, res->p50, res->p99, opt_inflight, res->calls_per_s,
             res->valid ? "" : "; INVALID: ", res->valid ? "" : res->why);
out:
  if (!res->ok && !bench_aborted)
    fprintf(stderr, "bench-webrtc: node over %s: %s\n", name, res->why);
  g_free(errors.first);
  g_free(fr.first_error);
  bench_rig_clear(&rig);
  g_mutex_clear(&ev->lock);
  g_free(ev); /* the client node is freed: no more events */
  if (!bench_aborted)
    bench_remove_tree(dir);
}

/* ---- aiortc ------------------------------------------------------------------------------- */

static gboolean
have_aiortc(void)
{
  const char *argv[] = {opt_python, "-c", "import aiortc, aioice", NULL};
  gint status = -1;

  if (opt_no_aiortc || !g_file_test(opt_python, G_FILE_TEST_IS_EXECUTABLE) ||
      !g_file_test(opt_aiortc_script, G_FILE_TEST_EXISTS))
    return FALSE;
  if (!g_spawn_sync(NULL, (char **)argv, NULL,
                    G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                    &status, NULL))
    return FALSE;
  return g_spawn_check_wait_status(status, NULL);
}

/* aiortc ↔ aiortc in one Python process: Mbit/s and set-up ms. */
static gboolean
aiortc_pair(double *mbps, double *setup_ms)
{
  g_autofree char *seconds = g_strdup_printf("%g", opt_bulk_seconds);
  g_autofree char *size = g_strdup_printf("%d", opt_bulk_size);
  g_autofree char *buffer = g_strdup_printf("%d", opt_bulk_buffer);
  const char *argv[] = {opt_python, opt_aiortc_script, "pair", seconds, size, buffer, NULL};
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) fields = NULL;
  gint status = -1;

  if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, bench_child_setup, NULL, &out, &err,
                    &status, &error) ||
      !g_spawn_check_wait_status(status, &error)) {
    fprintf(stderr, "bench-webrtc: aiortc pair: %s\n%s", error->message, err ? err : "");
    return FALSE;
  }
  fields = g_strsplit(g_strstrip(out), "\t", -1);
  if (g_strv_length(fields) != 4 || strcmp(fields[0], "result") != 0) {
    fprintf(stderr, "bench-webrtc: aiortc pair printed '%s'\n%s", out, err ? err : "");
    return FALSE;
  }
  *mbps = g_ascii_strtod(fields[1], NULL) * 8 / g_ascii_strtod(fields[2], NULL) / 1e6;
  *setup_ms = g_ascii_strtod(fields[3], NULL);
  return TRUE;
}

/* ---- the run ------------------------------------------------------------------------------ */

typedef struct {
  gboolean raw_ok;
  guint setups;
  double setup_p50, setup_p99; /* ms */
  double rtt_p50, rtt_p99, pinned_p50, pinned_p99;
  double rt_per_s, flood_p50, flood_p99;
  char *describe;
  gboolean bulk_ok;
  double bulk_mbps, bulk_s;
  guint64 bulk_bytes;
  gboolean db_ok;
  double db_p50, db_p99;
  gboolean aiortc; /* available */
  gboolean pair_ok, c_aio_ok;
  double pair_mbps, pair_setup_ms;
  double c_aio_mbps, c_aio_setup_ms, c_aio_rtt_p50, c_aio_rtt_p99;
  gboolean nodes_run;
  NodeResult rtc, ws;
} Report;

static GArray *
samples_new(void)
{
  return g_array_new(FALSE, FALSE, sizeof(double));
}

/* 1 and 4 (C ↔ C) and the raw half of 5. */
static gboolean
raw_c(Report *rep, ActrDtlsCert *cert)
{
  g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
  g_autofree char *log_path = g_build_filename(opt_dir, "peer.stderr", NULL);
  const char *argv[] = {self, "--peer", NULL};
  g_autoptr(GArray) setups = samples_new();
  g_autoptr(GArray) rtt = samples_new();
  g_autoptr(GArray) pinned = samples_new();
  g_autoptr(GArray) flood = samples_new();
  Remote *remote = remote_start("C peer", argv, log_path);
  Conn c;
  BenchPin pin;
  gboolean ok = FALSE;

  if (remote == NULL)
    return FALSE;
  conn_init(&c, remote);
  for (gint i = 0; i < opt_connections; i++) {
    double ms;

    bench_progress("raw set-up %d/%d", i + 1, opt_connections);
    if (!conn_open(&c, cert, &ms))
      goto out;
    g_array_append_val(setups, ms);
  }
  rep->setups = setups->len;
  rep->setup_p50 = bench_percentile(setups, 0.50);
  rep->setup_p99 = bench_percentile(setups, 0.99);
  rep->describe = actr_pc_describe(c.pc);
  bench_note("raw C<->C: %u connections, set-up p50 %.1f ms (%s)", rep->setups, rep->setup_p50,
             rep->describe);

  bench_progress("raw ping-pong");
  if (!conn_pingpong(&c, (guint)opt_warmup, NULL) || !conn_pingpong(&c, (guint)opt_iterations, rtt))
    goto out;
  rep->rtt_p50 = bench_percentile(rtt, 0.50);
  rep->rtt_p99 = bench_percentile(rtt, 0.99);
  bench_note("raw C<->C ping-pong: p50 %.1f us, p99 %.1f us", rep->rtt_p50, rep->rtt_p99);
  if (g_get_num_processors() > 1 && bench_pin_begin(&pin, remote->pid)) {
    gboolean done = conn_pingpong(&c, (guint)opt_warmup, NULL) &&
                    conn_pingpong(&c, (guint)MAX(opt_iterations / 4, 1), pinned);

    bench_pin_end(&pin);
    if (!done)
      goto out;
    rep->pinned_p50 = bench_percentile(pinned, 0.50);
    rep->pinned_p99 = bench_percentile(pinned, 0.99);
  }
  bench_progress("raw round trips in flight");
  if (!conn_flood(&c, (guint)opt_inflight, opt_seconds, flood, &rep->rt_per_s))
    goto out;
  rep->flood_p50 = bench_percentile(flood, 0.50);
  rep->flood_p99 = bench_percentile(flood, 0.99);
  bench_note("raw C<->C %d in flight: %.0f round trips/s", opt_inflight, rep->rt_per_s);
  rep->raw_ok = TRUE;

  bench_progress("raw bulk C->C");
  if (conn_bulk(&c, &rep->bulk_mbps, &rep->bulk_bytes, &rep->bulk_s)) {
    rep->bulk_ok = TRUE;
    bench_note("raw C->C bulk: %.0f Mbit/s (%.1f MiB in %.2f s)", rep->bulk_mbps,
               (double)rep->bulk_bytes / 1048576, rep->bulk_s);
  }
  ok = TRUE;
out:
  if (c.error != NULL && !bench_aborted) {
    fprintf(stderr, "\nbench-webrtc: raw C<->C: %s\n", c.error);
    bench_print_log(remote->name, remote->log_path);
  }
  conn_clear(&c);
  remote_free(remote);
  return ok;
}

/* C → aiortc: one connection, a short ping-pong (information), bulk. */
static void
raw_c_aiortc(Report *rep, ActrDtlsCert *cert)
{
  g_autofree char *log_path = g_build_filename(opt_dir, "aiortc-peer.stderr", NULL);
  const char *argv[] = {opt_python, opt_aiortc_script, "peer", NULL};
  g_autoptr(GArray) rtt = samples_new();
  Remote *remote = remote_start("aiortc peer", argv, log_path);
  guint64 bytes;
  double seconds;
  Conn c;

  if (remote == NULL)
    return;
  conn_init(&c, remote);
  if (conn_open(&c, cert, &rep->c_aio_setup_ms) && conn_pingpong(&c, 200, NULL) &&
      conn_pingpong(&c, 2000, rtt)) {
    rep->c_aio_rtt_p50 = bench_percentile(rtt, 0.50);
    rep->c_aio_rtt_p99 = bench_percentile(rtt, 0.99);
    bench_progress("bulk C->aiortc");
    rep->c_aio_ok = conn_bulk(&c, &rep->c_aio_mbps, &bytes, &seconds);
  }
  if (rep->c_aio_ok)
    bench_note("C->aiortc: set-up %.1f ms, ping-pong p50 %.1f us, bulk %.0f Mbit/s",
               rep->c_aio_setup_ms, rep->c_aio_rtt_p50, rep->c_aio_mbps);
  else if (!bench_aborted) {
    fprintf(stderr, "\nbench-webrtc: C<->aiortc: %s\n", c.error ? c.error : "failed");
    bench_print_log(remote->name, remote->log_path);
  }
  conn_clear(&c);
  remote_free(remote);
}

static gboolean
sqlite_baseline(Report *rep)
{
  g_autoptr(GArray) b = samples_new();
  BenchRawDb db;
  gboolean ok;

  ok = bench_rawdb_init(&db, opt_dir, (gsize)opt_row) &&
       bench_rawdb_run(&db, (guint)opt_warmup, NULL, "raw SQLite") &&
       bench_rawdb_run(&db, (guint)opt_node_iterations, b, "raw SQLite");
  bench_rawdb_clear(&db);
  if (!ok)
    return FALSE;
  rep->db_ok = TRUE;
  rep->db_p50 = bench_percentile(b, 0.50);
  rep->db_p99 = bench_percentile(b, 0.99);
  bench_note("raw SQLite insert+delete commits: p50 %.1f us, p99 %.1f us", rep->db_p50,
             rep->db_p99);
  return TRUE;
}

/* ---- the report --------------------------------------------------------------------------- */

#define ROW "  %-58s %16s %16s %7s  %s\n"

static char *
fmt2(double a, double b, const char *unit)
{
  return g_strdup_printf("%.1f / %.1f%s", a, b, unit);
}

static char *
fmt1(const char *prefix, double a, int decimals)
{
  return g_strdup_printf("%s%.*f", prefix, decimals, a);
}

static char *
ratio(double a, double b)
{
  return b > 0 && a > 0 ? g_strdup_printf("%.2fx", a / b) : g_strdup("-");
}

static void
print_row(const char *what, char *measured, char *baseline, char *r, const char *note)
{
  printf(ROW, what, measured ? measured : "-", baseline ? baseline : "-", r ? r : "-",
         note ? note : "");
  g_free(measured);
  g_free(baseline);
  g_free(r);
}

static void
print_node(const char *what, const NodeResult *n, double floor_p50, double ws_p50, gboolean rtc)
{
  g_autofree char *label = NULL;

  if (!n->ok) {
    print_row(what, g_strdup("failed"), NULL, NULL, n->why);
    return;
  }
  label = g_strdup_printf("%s, sequential p50 / p99 (us)", what);
  if (rtc) {
    double r = n->p50 / floor_p50;
    g_autofree char *target = g_strdup_printf("target <= %.2fx floor: %s", TARGET_FLOOR_RATIO,
                                              !n->valid                 ? "INVALID run"
                                              : r <= TARGET_FLOOR_RATIO ? "met"
                                                                        : "NOT met");

    print_row(label, fmt2(n->p50, n->p99, ""), fmt1("floor ", floor_p50, 1),
              ratio(n->p50, floor_p50), target);
  } else {
    print_row(label, fmt2(n->p50, n->p99, ""), fmt1("floor ", floor_p50, 1),
              ratio(n->p50, floor_p50), n->valid ? "info" : "INVALID run");
  }
  g_free(label);
  label = g_strdup_printf("%s, calls/s with %d in flight", what, opt_inflight);
  print_row(label, fmt1("", n->calls_per_s, 0), NULL, NULL,
            rtc ? NULL : "(WebRTC / WebSocket ratios below)");
  g_free(label);
  label = g_strdup_printf("%s, in-flight call p50 / p99 (us)", what);
  print_row(label, fmt2(n->flood_p50, n->flood_p99, ""), NULL, NULL, NULL);
  if (!n->valid)
    printf("    %s\n", n->why);
  (void)ws_p50;
}

static void
print_report(const Report *rep)
{
  double floor_p50 = rep->rtt_p50 + rep->db_p50;

  printf("\nbench-webrtc: %u CPUs, every process unpinned (the scheduler places them; a wake-up "
         "across CPUs costs\n~30 us per hop on this machine, so compare figures of one run only); "
         "all on 127.0.0.1; files in %s\n",
         g_get_num_processors(), opt_dir);
  printf("raw = ActrPeerConnection (libnice ICE + OpenSSL DTLS + usrsctp + 8-byte fragment "
         "header), two processes, no runtime;\n%s\n\n",
         rep->describe ? rep->describe : "");
  printf(ROW, "", "measured", "baseline", "ratio", "");

  printf("1. raw C<->C, %d-byte messages on RPC_RELIABLE\n", opt_size);
  if (rep->raw_ok) {
    g_autofree char *label = g_strdup_printf("RTT p50 / p99 (us), %d round trips", opt_iterations);

    print_row(label, fmt2(rep->rtt_p50, rep->rtt_p99, ""), NULL, NULL, NULL);
    if (rep->pinned_p50 > 0)
      print_row("RTT p50 / p99, both processes on one CPU (info)",
                fmt2(rep->pinned_p50, rep->pinned_p99, ""), fmt1("unpinned ", rep->rtt_p50, 1),
                ratio(rep->pinned_p50, rep->rtt_p50), NULL);
    g_free(label);
    label = g_strdup_printf("round trips/s with %d in flight (%.0f s)", opt_inflight, opt_seconds);
    print_row(label, fmt1("", rep->rt_per_s, 0), NULL, NULL, NULL);
    print_row("  their RTT p50 / p99 (us)", fmt2(rep->flood_p50, rep->flood_p99, ""), NULL, NULL,
              NULL);
  } else {
    print_row("raw C<->C", g_strdup("failed"), NULL, NULL, "see stderr");
  }

  printf("2. raw SQLite, INSERT commit + DELETE commit (WAL, synchronous=NORMAL), %d-byte row\n",
         opt_row);
  if (rep->db_ok)
    print_row("p50 / p99 (us)", fmt2(rep->db_p50, rep->db_p99, ""), NULL, NULL, NULL);
  else
    print_row("raw SQLite", g_strdup("failed"), NULL, NULL, "see stderr");

  printf("3. node <-> node, actrd + `actr run` libecho.so + client node in this process, "
         "%d round trips\n",
         opt_node_iterations);
  if (!rep->nodes_run) {
    print_row("node <-> node", g_strdup("skipped"), NULL, NULL, "--no-nodes or a baseline failed");
  } else {
    print_row("floor = raw C<->C RTT p50 + SQLite p50 (us)", fmt1("", floor_p50, 1), NULL, NULL,
              NULL);
    print_node("over WebRTC", &rep->rtc, floor_p50, rep->ws.p50, TRUE);
    print_node("over WebSocket", &rep->ws, floor_p50, rep->ws.p50, FALSE);
    if (rep->rtc.ok && rep->ws.ok) {
      print_row("WebRTC / WebSocket, sequential p50", fmt1("", rep->rtc.p50, 1),
                fmt1("WS ", rep->ws.p50, 1), ratio(rep->rtc.p50, rep->ws.p50), NULL);
      print_row("WebRTC / WebSocket, calls/s", fmt1("", rep->rtc.calls_per_s, 0),
                fmt1("WS ", rep->ws.calls_per_s, 0),
                ratio(rep->rtc.calls_per_s, rep->ws.calls_per_s), NULL);
    }
    if (rep->rtc.ok)
      print_row("node over WebRTC vs raw, calls/s vs round trips/s",
                fmt1("", rep->rtc.calls_per_s, 0), fmt1("raw ", rep->rt_per_s, 0),
                ratio(rep->rtc.calls_per_s, rep->rt_per_s), NULL);
  }

  printf("4. bulk on STREAM_RELIABLE, %d-byte messages, up to %.0f s or %d MiB, flow control at "
         "%d KiB buffered\n",
         opt_bulk_size, opt_bulk_seconds, opt_bulk_mib, opt_bulk_buffer / 1024);
  if (rep->bulk_ok) {
    g_autofree char *note = g_strdup_printf("target >= %.0f: %s", TARGET_BULK_MBPS,
                                            rep->bulk_mbps >= TARGET_BULK_MBPS ? "met" : "NOT met");
    g_autofree char *label = g_strdup_printf("C -> C Mbit/s (%.0f MiB in %.2f s)",
                                             (double)rep->bulk_bytes / 1048576, rep->bulk_s);

    print_row(label, fmt1("", rep->bulk_mbps, 0), fmt1("target ", TARGET_BULK_MBPS, 0),
              ratio(rep->bulk_mbps, TARGET_BULK_MBPS), note);
  } else {
    print_row("C -> C Mbit/s", g_strdup("failed"), NULL, NULL, "see stderr");
  }
  if (!rep->aiortc) {
    print_row("aiortc <-> aiortc Mbit/s", g_strdup("skipped"), NULL, NULL, "no aiortc");
    print_row("C -> aiortc Mbit/s", g_strdup("skipped"), NULL, NULL, "no aiortc");
  } else {
    if (rep->pair_ok)
      print_row("aiortc <-> aiortc Mbit/s (one Python process)", fmt1("", rep->pair_mbps, 0), NULL,
                NULL, NULL);
    else
      print_row("aiortc <-> aiortc Mbit/s", g_strdup("failed"), NULL, NULL, "see stderr");
    if (rep->bulk_ok && rep->pair_ok)
      print_row("C -> C vs aiortc <-> aiortc", fmt1("", rep->bulk_mbps, 0),
                fmt1("aiortc ", rep->pair_mbps, 0), ratio(rep->bulk_mbps, rep->pair_mbps), NULL);
    if (rep->c_aio_ok) {
      print_row("C -> aiortc Mbit/s", fmt1("", rep->c_aio_mbps, 0),
                rep->pair_ok ? fmt1("aiortc ", rep->pair_mbps, 0) : NULL,
                rep->pair_ok ? ratio(rep->c_aio_mbps, rep->pair_mbps) : NULL,
                "vs aiortc <-> aiortc");
      print_row("C <-> aiortc RTT p50 / p99 (us), 2000 round trips",
                fmt2(rep->c_aio_rtt_p50, rep->c_aio_rtt_p99, ""),
                rep->raw_ok ? fmt1("C<->C ", rep->rtt_p50, 1) : NULL,
                ratio(rep->c_aio_rtt_p50, rep->rtt_p50), "info");
    } else {
      print_row("C -> aiortc Mbit/s", g_strdup("failed"), NULL, NULL, "see stderr");
    }
  }

  printf("5. set-up\n");
  if (rep->raw_ok) {
    g_autofree char *label =
        g_strdup_printf("raw offer -> RPC_RELIABLE open, p50 / p99 (ms), %u conns", rep->setups);

    print_row(label, fmt2(rep->setup_p50, rep->setup_p99, ""), NULL, NULL, NULL);
  }
  if (rep->aiortc && rep->pair_ok)
    print_row("aiortc <-> aiortc offer -> channel open (ms), 1 conn",
              fmt1("", rep->pair_setup_ms, 1), rep->raw_ok ? fmt1("C ", rep->setup_p50, 1) : NULL,
              ratio(rep->pair_setup_ms, rep->setup_p50), "info");
  if (rep->aiortc && rep->c_aio_ok)
    print_row("C offer -> aiortc answer -> RPC_RELIABLE open (ms), 1 conn",
              fmt1("", rep->c_aio_setup_ms, 1), rep->raw_ok ? fmt1("C ", rep->setup_p50, 1) : NULL,
              ratio(rep->c_aio_setup_ms, rep->setup_p50), "info");
  if (rep->nodes_run && rep->rtc.ok) {
    print_row("node: first call -> WEBRTC_CONNECTED (ms), 1 conn",
              rep->rtc.setup_ms > 0 ? fmt1("", rep->rtc.setup_ms, 1) : g_strdup("no event"),
              rep->raw_ok ? fmt1("raw ", rep->setup_p50, 1) : NULL,
              ratio(rep->rtc.setup_ms, rep->setup_p50), "role negotiation via actrd + raw set-up");
    print_row("node: first call over WebRTC, whole (ms)", fmt1("", rep->rtc.first_call_ms, 1),
              rep->ws.ok ? fmt1("WS ", rep->ws.first_call_ms, 1) : NULL,
              rep->ws.ok ? ratio(rep->rtc.first_call_ms, rep->ws.first_call_ms) : NULL, NULL);
  }
  if (rep->nodes_run && (rep->rtc.errors > 0 || rep->ws.errors > 0))
    printf("\n  failed calls: %" G_GUINT64_FORMAT " over WebRTC, %" G_GUINT64_FORMAT
           " over WebSocket\n",
           rep->rtc.errors, rep->ws.errors);
  if (rep->rtc.callee_id != NULL)
    printf("\n  callees: %s (WebRTC rig), %s (WebSocket rig)\n", rep->rtc.callee_id,
           rep->ws.callee_id ? rep->ws.callee_id : "-");
  fflush(stdout);
}

int
main(int argc, char **argv)
{
  GOptionEntry entries[] = {
      {"iterations", 'n', 0, G_OPTION_ARG_INT, &opt_iterations,
       "Raw round trips for the RTT (default 20000)", "N"},
      {"warmup", 'w', 0, G_OPTION_ARG_INT, &opt_warmup,
       "Warm-up round trips before each latency figure (default 1000)", "N"},
      {"seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
       "Duration of each in-flight phase (default 2)", "S"},
      {"inflight", 'k', 0, G_OPTION_ARG_INT, &opt_inflight,
       "Round trips / calls in flight (default 64)", "K"},
      {"size", 'b', 0, G_OPTION_ARG_INT, &opt_size,
       "Raw ping-pong message bytes, also the node call payload (default 64)", "BYTES"},
      {"connections", 'c', 0, G_OPTION_ARG_INT, &opt_connections,
       "Raw connections set up for the set-up time (default 20)", "N"},
      {"bulk-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_bulk_seconds,
       "Longest bulk phase (default 5)", "S"},
      {"bulk-mib", 0, 0, G_OPTION_ARG_INT, &opt_bulk_mib, "Most MiB per bulk phase (default 512)",
       "M"},
      {"bulk-size", 0, 0, G_OPTION_ARG_INT, &opt_bulk_size,
       "Bulk logical message bytes (default 65536)", "BYTES"},
      {"bulk-buffer", 0, 0, G_OPTION_ARG_INT, &opt_bulk_buffer,
       "Send while the buffered amount is below this (default 1048576)", "BYTES"},
      {"node-iterations", 0, 0, G_OPTION_ARG_INT, &opt_node_iterations,
       "Sequential node calls and SQLite samples (default 5000)", "N"},
      {"row", 0, 0, G_OPTION_ARG_INT, &opt_row, "Baseline SQLite row bytes (default 200)", "BYTES"},
      {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &opt_dir,
       "Directory for every file of the run (default: a new one in $TMPDIR or /tmp)", "DIR"},
      {"actrd", 0, 0, G_OPTION_ARG_FILENAME, &opt_actrd, "The actrd binary", "PATH"},
      {"actr", 0, 0, G_OPTION_ARG_FILENAME, &opt_actr, "The actr binary", "PATH"},
      {"workload", 0, 0, G_OPTION_ARG_FILENAME, &opt_workload, "The echo workload", "PATH"},
      {"python", 0, 0, G_OPTION_ARG_FILENAME, &opt_python,
       "Python with aiortc (default /usr/bin/python3)", "PATH"},
      {"aiortc-script", 0, 0, G_OPTION_ARG_FILENAME, &opt_aiortc_script,
       "bench-webrtc-aiortc.py (default: next to this binary)", "PATH"},
      {"no-nodes", 0, 0, G_OPTION_ARG_NONE, &opt_no_nodes, "Skip the node part", NULL},
      {"no-aiortc", 0, 0, G_OPTION_ARG_NONE, &opt_no_aiortc, "Skip aiortc", NULL},
      {"peer", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_peer, NULL, NULL},
      G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) context = g_option_context_new("— benchmark the WebRTC transport");
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrDtlsCert) cert = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autofree char *tmp = NULL;
  Report rep = {0};
  BenchSignals signals;
  gboolean ok;
  int status;

  g_option_context_add_main_entries(context, entries, NULL);
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "bench-webrtc: %s\n", error->message);
    return 2;
  }
  bench_loopback_only();
  if (opt_peer)
    return peer_main();
  if (opt_iterations < 1 || opt_warmup < 0 || !(opt_seconds > 0) || opt_inflight < 1 ||
      opt_size < STAMP_BYTES || opt_connections < 1 || !(opt_bulk_seconds > 0) ||
      opt_bulk_mib < 1 || opt_bulk_size < 2 || opt_bulk_buffer < 1 || opt_node_iterations < 1 ||
      opt_row < 1) {
    fprintf(stderr, "bench-webrtc: bad option value (see --help; --size at least 8)\n");
    return 2;
  }
  bench_resolve_build_file(&opt_actrd, "../src/actrd/actrd", ACTRD_PATH);
  bench_resolve_build_file(&opt_actr, "../src/cli/actr", ACTR_PATH);
  bench_resolve_build_file(&opt_workload, "../examples/libecho.so", ECHO_WORKLOAD_PATH);
  bench_resolve_build_file(&opt_aiortc_script, "bench-webrtc-aiortc.py", AIORTC_SCRIPT_PATH);
  if (opt_python == NULL)
    opt_python = g_strdup("/usr/bin/python3");
  if (!bench_dir_init(&opt_dir, &tmp))
    return 1;
  bench_signals_add(&signals);

  cert = actr_dtls_cert_new(&error);
  if (cert == NULL) {
    fprintf(stderr, "bench-webrtc: %s\n", error->message);
    return 1;
  }
  payload = bench_echo_payload((gsize)opt_size);

  ok = raw_c(&rep, cert) && !bench_aborted;
  ok = ok && sqlite_baseline(&rep) && !bench_aborted;
  if (ok && !opt_no_nodes) {
    if (!bench_rig_binaries_ok(opt_actrd, opt_actr, opt_workload)) {
      ok = FALSE;
    } else {
      rep.nodes_run = TRUE;
      node_measure("WebRTC", TRUE, payload, &rep.rtc);
      if (!bench_aborted)
        node_measure("WebSocket", FALSE, payload, &rep.ws);
      ok = rep.rtc.ok && rep.ws.ok && !bench_aborted;
    }
  }
  rep.aiortc = have_aiortc();
  if (rep.aiortc && !bench_aborted) {
    bench_progress("aiortc <-> aiortc");
    rep.pair_ok = aiortc_pair(&rep.pair_mbps, &rep.pair_setup_ms);
    if (rep.pair_ok)
      bench_note("aiortc<->aiortc: %.0f Mbit/s, set-up %.1f ms", rep.pair_mbps, rep.pair_setup_ms);
    if (!bench_aborted)
      raw_c_aiortc(&rep, cert);
    ok = ok && rep.pair_ok && rep.c_aio_ok;
  } else if (!rep.aiortc) {
    bench_note("aiortc: skipped (no aiortc for %s)", opt_python);
  }
  ok = ok && rep.bulk_ok;
  if (bench_progress_on)
    fprintf(stderr, "\r\033[K");
  if (!bench_aborted)
    print_report(&rep);

  status = bench_aborted ? 130 : ok ? 0 : 1;
  g_free(rep.describe);
  g_free(rep.rtc.why);
  g_free(rep.rtc.callee_id);
  g_free(rep.ws.why);
  g_free(rep.ws.callee_id);
  bench_signals_remove(&signals);
  if (tmp != NULL)
    bench_remove_tree(tmp);
  g_free(opt_actrd);
  g_free(opt_actr);
  g_free(opt_workload);
  g_free(opt_python);
  g_free(opt_aiortc_script);
  return status;
}
