/* bench-actrd — throughput and memory of the real actrd binary (issue 4,
 * "Benchmark"), each figure printed next to its target.  A benchmark, not a
 * test: nothing is asserted about speed.
 *
 * Every phase starts a fresh `actrd serve --listen 127.0.0.1:0 --data-dir TMP
 * --dev --config TMP/actrd.toml` (TMP a new temporary directory, removed
 * afterwards).  The actrd.toml raises every rate limit ([ais] rate_per_sec and
 * burst, [signaling] conn_max_per_ip, conn_rate_per_sec, conn_burst,
 * msg_rate_per_sec, msg_burst), since the whole load comes from one IP.  A
 * fresh server per phase keeps one phase's heap from flattering the next
 * phase's memory figure.
 *
 * 1. Registrations per second: POST /ais/register (LINKED, realm 1, open
 *    under --dev) with --inflight requests in flight, for --seconds; counts
 *    the RegisterOk replies received before the end.  The client keeps up to
 *    --inflight keep-alive connections, but actrd answers every plain HTTP
 *    request with "Connection: close" (its workaround for a libsoup 3.2 fd
 *    leak), so in fact every registration opens a new TCP connection.
 * 2. Relayed messages per second: --pairs pairs of registered nodes, each
 *    connected to /signaling/ws with its credential in the URL; each side
 *    keeps --window ActrRelay{IceCandidate} envelopes addressed to its
 *    partner in flight, and one is done when the partner receives it.  Counts
 *    the relays received before the end of --seconds.
 * 3. Resident memory per 1,000 connected nodes: actrd's VmRSS after --nodes
 *    registrations (HTTP connections closed, no WebSocket yet), then after
 *    connecting all of them and exchanging one Ping/Pong heartbeat each;
 *    prints (delta / N) x 1000 in MB (10^6 bytes).
 *
 * Phases 2 and 3 set up their nodes (registration, WebSocket handshake) with
 * SETUP_INFLIGHT attempts in flight; that part is not measured.
 *
 * The WebSocket client does not offer permessage-deflate, like the reference
 * node (tungstenite); --deflate makes it offer the extension, which actrd
 * accepts, at the price of zlib state per connection on both sides.
 *
 * File descriptors: this process raises its RLIMIT_NOFILE soft limit to the
 * hard limit before it starts actrd, which inherits it; actrd also raises
 * its own soft limit to the hard one.  Beyond the hard limit, whoever starts
 * actrd must raise it (`ulimit -Hn`, LimitNOFILE=).
 *
 * Everything runs on the default GMainContext of the one thread (libsoup 3
 * async API).  The load generator shares the machine with actrd, so its CPU
 * is taken from the server: on a 2-core machine the figures are lower bounds
 * for a dedicated server, and noisy.
 *
 * Usage: bench-actrd [--seconds S] [--inflight K] [--pairs P] [--window W]
 *                    [--nodes N] [--actrd PATH] [--deflate]
 */
#include <actr/identity.h>
#include <actr/types.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "bench-child.h"
#include "bench-util.h"
#include "actr-id.h"
#include "codec.h"
#include "envelope.h"

#define TARGET_REGISTER_PER_SEC 10000.0
#define TARGET_RELAY_PER_SEC    50000.0
#define TARGET_MB_PER_1000      30.0

#define READY_PREFIX  "actrd listening on http://127.0.0.1:"
#define NODE_TYPE     "bench:node:1.0.0"
#define NODE_REALM    1
#define ICE_CANDIDATE "candidate:842163049 1 udp 1677729535 192.0.2.10 50000 typ srflx"
#define FD_RESERVE    64 /* descriptors kept for everything but the sockets */
/* Setting up phases 2 and 3 (registering nodes, WebSocket handshakes) is not
 * measured: it keeps fewer connection attempts in flight than actrd's listen
 * backlog (GSocket's default, 10), whose overflow stalls handshakes for
 * seconds (SYN-ACK retransmission), and retries transport failures. */
#define SETUP_INFLIGHT   8
#define CONNECT_ATTEMPTS 3

/* Written to TMP/actrd.toml: every limit far above what one client can
 * reach in a run.  The per-IP buckets (AIS requests, WebSocket connects) get
 * a huge burst but a slow refill on purpose: actrd_ip_limiter_take() prunes
 * full buckets every 4096 takes *after* looking up the caller's bucket, and
 * then uses it although the prune just freed it (use-after-free: a spurious
 * 429 at the 4096th connect).  A bucket that never refills to full is never
 * pruned.  The per-connection message bucket has no such table. */
static const char actrd_toml[] = "# bench-actrd: rate limits raised so that the limiter never\n"
                                 "# rejects the benchmark's single client IP.\n"
                                 "[ais]\n"
                                 "rate_per_sec = 1\n"
                                 "burst = 100000000\n"
                                 "\n"
                                 "[signaling]\n"
                                 "conn_max_per_ip = 1000000000\n"
                                 "conn_rate_per_sec = 1\n"
                                 "conn_burst = 100000000\n"
                                 "msg_rate_per_sec = 100000000\n"
                                 "msg_burst = 100000000\n";

static double opt_seconds = 3.0;
static gint opt_inflight = 64;
static gint opt_pairs = 50;
static gint opt_window = 16;
static gint opt_nodes = 5000;
static char *opt_actrd = NULL;
static gboolean opt_deflate = FALSE;

static gboolean start_failed; /* actrd did not start: skip the other phases */

/* ---- waiting and progress ----------------------------------------------------------------- */

typedef void (*ProgressFunc)(gpointer data, GString *line);

typedef struct {
  ProgressFunc func;
  gpointer data;
  guint source;
} Progress;

static void
progress_print(Progress *p, gboolean final)
{
  g_autoptr(GString) line = g_string_new(NULL);

  p->func(p->data, line);
  fprintf(stderr, "\r\033[K%s%s", line->str, final ? "\n" : "");
  fflush(stderr);
}

static gboolean
progress_tick(gpointer data)
{
  progress_print(data, FALSE);
  return G_SOURCE_CONTINUE;
}

static void
progress_start(Progress *p, ProgressFunc func, gpointer data)
{
  p->func = func;
  p->data = data;
  p->source = bench_progress_on ? g_timeout_add(250, progress_tick, p) : 0;
}

static void
progress_stop(Progress *p)
{
  if (p->source == 0)
    return;
  g_source_remove(p->source);
  p->source = 0;
  progress_print(p, TRUE);
}

static double
elapsed_s(gint64 since_us)
{
  return (double)(g_get_monotonic_time() - since_us) / G_USEC_PER_SEC;
}

/* ---- the actrd process ---------------------------------------------------------------------- */

typedef struct {
  BenchChild *child; /* stderr in DIR/actrd.stderr */
  char *dir;         /* data dir, holds actrd.toml and actrd.stderr too */
  char *http_url;    /* "http://127.0.0.1:PORT" */
  char *ws_url;      /* "ws://127.0.0.1:PORT" */
} Actrd;

/* SIGTERM, wait (SIGKILL after BENCH_STOP_TIMEOUT_MS), report an unclean
 * exit, remove the data directory.  NULL-safe. */
static void
actrd_stop(Actrd *d)
{
  if (d == NULL)
    return;
  bench_child_stop(d->child);
  if (d->dir != NULL)
    bench_remove_tree(d->dir);
  g_free(d->dir);
  g_free(d->http_url);
  g_free(d->ws_url);
  g_free(d);
}

/* Starts actrd in a fresh temporary directory and waits for its ready line.
 * NULL (with the reason and actrd's stderr printed) on failure. */
static Actrd *
actrd_start(const char *path)
{
  Actrd *d = g_new0(Actrd, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *toml = NULL;
  g_autofree char *log_path = NULL;
  guint64 port = 0;

  d->dir = g_dir_make_tmp("bench-actrd-XXXXXX", &error);
  if (d->dir == NULL) {
    fprintf(stderr, "bench-actrd: cannot create a temporary directory: %s\n", error->message);
    actrd_stop(d);
    return NULL;
  }
  toml = g_build_filename(d->dir, "actrd.toml", NULL);
  log_path = g_build_filename(d->dir, "actrd.stderr", NULL);
  if (!g_file_set_contents(toml, actrd_toml, -1, &error)) {
    fprintf(stderr, "bench-actrd: %s\n", error->message);
    actrd_stop(d);
    return NULL;
  }
  {
    const char *argv[] = {path,   "serve", "--listen", "127.0.0.1:0", "--data-dir",
                          d->dir, "--dev", "--config", toml,          NULL};

    d->child = bench_child_start("actrd", log_path, READY_PREFIX, argv);
  }
  if (d->child == NULL) {
    actrd_stop(d);
    return NULL;
  }
  if (!g_ascii_string_to_unsigned(d->child->ready, 10, 1, 65535, &port, NULL)) {
    fprintf(stderr, "bench-actrd: unexpected ready line from %s: '%s%s'\n", path, READY_PREFIX,
            d->child->ready);
    bench_child_print_log(d->child);
    actrd_stop(d);
    return NULL;
  }
  d->http_url = g_strdup_printf("http://127.0.0.1:%u", (guint)port);
  d->ws_url = g_strdup_printf("ws://127.0.0.1:%u", (guint)port);
  return d;
}

/* actrd's VmRSS in kB (KiB), or -1. */
static gint64
actrd_rss_kb(const Actrd *d)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  const char *line;

  if (d->child->exited)
    return -1;
  path = g_strdup_printf("/proc/%s/status", d->child->pid);
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return -1;
  line = strstr(text, "\nVmRSS:");
  return line != NULL ? g_ascii_strtoll(line + strlen("\nVmRSS:"), NULL, 10) : -1;
}

/* Where the CPU went during a measured interval. */
typedef struct {
  double actrd0, self0, actrd, self;
} CpuUse;

static void
cpu_begin(CpuUse *c, const Actrd *d)
{
  c->actrd0 = bench_child_cpu_s(d->child);
  c->self0 = bench_self_cpu_s();
}

static void
cpu_end(CpuUse *c, const Actrd *d)
{
  c->actrd = bench_child_cpu_s(d->child) - c->actrd0;
  c->self = bench_self_cpu_s() - c->self0;
}

/* Where the CPU went over @seconds in which @ops operations completed, and
 * the rate actrd's own CPU cost per operation would allow on one dedicated
 * core (transfer full). */
static char *
cpu_text(const CpuUse *c, double seconds, guint64 ops)
{
  double per_op = ops > 0 ? c->actrd / (double)ops : 0;

  return g_strdup_printf("CPU: actrd %.0f%%, this client %.0f%% of one core; actrd %.1f us CPU per "
                         "operation (at most ~%.0f/s per actrd core)",
                         seconds > 0 ? 100 * c->actrd / seconds : 0,
                         seconds > 0 ? 100 * c->self / seconds : 0, per_op * 1e6,
                         per_op > 0 ? 1 / per_op : 0);
}

/* ---- nodes and envelopes -------------------------------------------------------------------- */

typedef struct _Swarm Swarm;
typedef struct _Node Node;

struct _Node {
  Swarm *swarm;
  guint index;
  ActrId id;
  ActrCredential *cred;
  SoupWebsocketConnection *ws; /* owned once connected */
  gboolean open;
  Node *partner; /* relay phase */
  GBytes *relay; /* relay phase: encoded ActrRelay to the partner */
  guint inflight;
  guint attempts; /* WebSocket connects started */
};

static void
node_free(gpointer data)
{
  Node *n = data;

  if (n->ws != NULL) {
    g_signal_handlers_disconnect_by_data(n->ws, n);
    g_object_unref(n->ws);
  }
  actr_id_clear(&n->id);
  actr_credential_free(n->cred);
  g_clear_pointer(&n->relay, g_bytes_unref);
  g_free(n);
}

static void
cred_view(const ActrCredential *cred, Actr__AIdCredential *pb)
{
  gsize len;

  actr__aid_credential__init(pb);
  pb->key_id = cred->key_id;
  pb->claims.data = (guint8 *)g_bytes_get_data(cred->claims, &len);
  pb->claims.len = len;
  pb->signature.data = (guint8 *)g_bytes_get_data(cred->signature, &len);
  pb->signature.len = len;
}

static GBytes *
envelope_encode(Signaling__SignalingEnvelope *env, const char *envelope_id)
{
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

  ts.seconds = g_get_real_time() / G_USEC_PER_SEC;
  env->envelope_version = 1;
  env->envelope_id = (char *)envelope_id;
  env->timestamp = &ts;
  return actr_signaling_envelope_encode(env);
}

static GBytes *
ping_encode(const Node *n)
{
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  Signaling__ActrToSignaling a = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__Ping ping = ACTR__PING__INIT;
  Actr__AIdCredential cred;
  ActrIdPb src;
  g_autofree char *id = g_strdup_printf("ping-%u", n->index);

  actr_id_to_pb(&n->id, &src);
  cred_view(n->cred, &cred);
  ping.availability = ACTR__SERVICE_AVAILABILITY_STATE__FULL;
  ping.power_reserve = 5.0f;
  ping.mailbox_backlog = 0.0f;
  a.source = &src.id;
  a.credential = &cred;
  a.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_PING;
  a.ping = &ping;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER;
  env.actr_to_server = &a;
  return envelope_encode(&env, id);
}

/* One encoding reused for every relay of a node: the server neither
 * deduplicates nor inspects envelope ids, and re-encoding would only move
 * CPU from actrd to the load generator. */
static GBytes *
relay_encode(const Node *from, const Node *to)
{
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  Signaling__ActrRelay relay = SIGNALING__ACTR_RELAY__INIT;
  Webrtc__IceCandidate ice = WEBRTC__ICE_CANDIDATE__INIT;
  Actr__AIdCredential cred;
  ActrIdPb src, tgt;
  g_autofree char *id = g_strdup_printf("relay-%u", from->index);

  actr_id_to_pb(&from->id, &src);
  actr_id_to_pb(&to->id, &tgt);
  cred_view(from->cred, &cred);
  ice.candidate = (char *)ICE_CANDIDATE;
  ice.sdp_mid = (char *)"0";
  ice.has_sdp_mline_index = TRUE;
  ice.sdp_mline_index = 0;
  relay.source = &src.id;
  relay.target = &tgt.id;
  relay.credential = &cred;
  relay.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE;
  relay.ice_candidate = &ice;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY;
  env.actr_relay = &relay;
  return envelope_encode(&env, id);
}

/* ---- registration (POST /ais/register) ----------------------------------------------------- */

typedef struct {
  SoupSession *session;
  char *uri;
  GBytes *body;
  guint max_inflight, inflight;
  gboolean running;   /* throughput mode: cleared at the deadline */
  GPtrArray *nodes;   /* collect mode: the registered nodes (Node*, owned by caller) */
  guint want;         /* collect mode: how many */
  guint64 ok, failed; /* replies */
  guint64 ok_at_end;  /* throughput mode: ok when the deadline fired */
  gint64 t0, t_end;   /* monotonic us */
  gint64 deadline_us; /* throughput mode: t0 + --seconds */
  guint timer;        /* throughput mode: fires at the deadline when idle */
  const Actrd *actrd;
  CpuUse cpu; /* throughput mode: over t0..t_end */
  char *first_error;
} Registrar;

static GBytes *
register_request_encode(void)
{
  Actr__RegisterRequest req = ACTR__REGISTER_REQUEST__INIT;
  Actr__ActrType t = ACTR__ACTR_TYPE__INIT;
  Actr__Realm r = ACTR__REALM__INIT;
  g_auto(GStrv) parts = g_strsplit(NODE_TYPE, ":", 3);

  t.manufacturer = parts[0];
  t.name = parts[1];
  t.version = parts[2];
  r.realm_id = NODE_REALM;
  req.actr_type = &t;
  req.realm = &r;
  req.has_auth_mode = TRUE;
  req.auth_mode = ACTR__REGISTER_AUTH_MODE__LINKED;
  return actr_proto_message_encode(&req.base);
}

static void
registrar_init(Registrar *r, const Actrd *d, guint max_inflight)
{
  memset(r, 0, sizeof(*r));
  /* A connection per request in flight (actrd closes each after one request). */
  r->session = soup_session_new_with_options("max-conns", (int)max_inflight, "max-conns-per-host",
                                             (int)max_inflight, "timeout", 30, NULL);
  soup_session_set_proxy_resolver(r->session, NULL); /* loopback: never a proxy */
  r->uri = g_strconcat(d->http_url, "/ais/register", NULL);
  r->body = register_request_encode();
  r->max_inflight = max_inflight;
  r->running = TRUE;
  r->actrd = d;
}

static void
registrar_clear(Registrar *r)
{
  soup_session_abort(r->session);
  g_clear_object(&r->session);
  g_free(r->uri);
  g_bytes_unref(r->body);
  g_free(r->first_error);
}

static void
register_fail(Registrar *r, char *message /* transfer full */)
{
  r->failed++;
  if (r->first_error == NULL)
    r->first_error = message;
  else
    g_free(message);
}

/* Ends the measured interval (once). */
static void
register_end(Registrar *r)
{
  if (r->t_end != 0)
    return;
  r->running = FALSE;
  r->ok_at_end = r->ok;
  r->t_end = g_get_monotonic_time();
  cpu_end(&r->cpu, r->actrd);
  if (r->timer != 0) {
    g_source_remove(r->timer);
    r->timer = 0;
  }
}

static gboolean
register_timer(gpointer data)
{
  Registrar *r = data;

  r->timer = 0;
  register_end(r);
  return G_SOURCE_REMOVE;
}

static void register_issue(Registrar *r);

static void
register_done(GObject *source, GAsyncResult *result, gpointer data)
{
  Registrar *r = data;
  SoupSession *session = SOUP_SESSION(source);
  SoupMessage *msg = soup_session_get_async_result_message(session, result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish(session, result, &error);
  Actr__RegisterResponse *resp;
  gsize len = 0;
  const guint8 *bytes;

  r->inflight--;
  /* By the clock, not only by the timer: a busy loop runs timers late. */
  if (r->deadline_us != 0 && g_get_monotonic_time() >= r->deadline_us)
    register_end(r);
  if (body == NULL) {
    register_fail(r, g_strdup_printf("POST /ais/register: %s", error->message));
  } else if (soup_message_get_status(msg) != SOUP_STATUS_OK) {
    register_fail(r, g_strdup_printf("POST /ais/register: HTTP %u %s", soup_message_get_status(msg),
                                     soup_message_get_reason_phrase(msg)));
  } else {
    bytes = g_bytes_get_data(body, &len);
    resp = (Actr__RegisterResponse *)actr_proto_message_decode(&actr__register_response__descriptor,
                                                               bytes, len, &error);
    if (resp == NULL) {
      register_fail(r, g_strdup_printf("undecodable RegisterResponse: %s", error->message));
    } else if (resp->result_case != ACTR__REGISTER_RESPONSE__RESULT_SUCCESS) {
      register_fail(
          r, g_strdup_printf(
                 "RegisterResponse error %u: %s",
                 resp->result_case == ACTR__REGISTER_RESPONSE__RESULT_ERROR ? resp->error->code : 0,
                 resp->result_case == ACTR__REGISTER_RESPONSE__RESULT_ERROR ? resp->error->message
                                                                            : "no result"));
    } else {
      const Actr__RegisterResponse__RegisterOk *ok = resp->success;

      r->ok++;
      if (r->nodes != NULL) {
        Node *n = g_new0(Node, 1);

        n->index = r->nodes->len;
        actr_id_from_pb(ok->actr_id, &n->id);
        n->cred = g_new0(ActrCredential, 1);
        n->cred->key_id = ok->credential->key_id;
        n->cred->claims = g_bytes_new(ok->credential->claims.data, ok->credential->claims.len);
        n->cred->signature =
            g_bytes_new(ok->credential->signature.data, ok->credential->signature.len);
        g_ptr_array_add(r->nodes, n);
      }
    }
    actr_proto_message_free(&resp->base);
  }
  register_issue(r);
}

static void
register_issue(Registrar *r)
{
  /* Give up when most requests fail: the figure would be meaningless. */
  if (r->failed >= 100 && r->failed > r->ok)
    r->running = FALSE;
  while (r->running && !bench_aborted && r->inflight < r->max_inflight) {
    SoupMessage *msg;

    if (r->nodes != NULL && r->ok + r->inflight >= r->want)
      break;
    msg = soup_message_new("POST", r->uri);
    soup_message_set_request_body_from_bytes(msg, "application/x-protobuf", r->body);
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Accept",
                                 "application/x-protobuf");
    r->inflight++;
    soup_session_send_and_read_async(r->session, msg, G_PRIORITY_DEFAULT, NULL, register_done, r);
    g_object_unref(msg); /* the session holds it until register_done */
  }
}

static gboolean
register_drained(gpointer data)
{
  Registrar *r = data;

  return r->inflight == 0 && (!r->running || (r->nodes != NULL && r->ok >= r->want));
}

static void
register_progress(gpointer data, GString *line)
{
  Registrar *r = data;
  double s = elapsed_s(r->t0);

  g_string_printf(line, "[1/3] registrations: %" G_GUINT64_FORMAT " in %.1f s (%.0f/s)", r->ok, s,
                  s > 0 ? r->ok / s : 0);
  if (r->failed > 0)
    g_string_append_printf(line, ", %" G_GUINT64_FORMAT " failed", r->failed);
}

/* Registers @count nodes with @max_inflight requests in flight.  Returns
 * them (Node*, transfer full) or NULL with the reason printed. */
static GPtrArray *
register_nodes(const Actrd *d, guint count, guint max_inflight)
{
  Registrar r;
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func(node_free);

  registrar_init(&r, d, max_inflight);
  r.nodes = nodes;
  r.want = count;
  r.t0 = g_get_monotonic_time();
  register_issue(&r);
  bench_wait_for(register_drained, &r, 120000);
  if (nodes->len < count && !bench_aborted)
    fprintf(stderr, "bench-actrd: registered only %u of %u nodes%s%s\n", nodes->len, count,
            r.first_error ? ": " : "", r.first_error ? r.first_error : "");
  registrar_clear(&r);
  return nodes->len == count && !bench_aborted ? g_steal_pointer(&nodes) : NULL;
}

/* ---- WebSocket swarm ------------------------------------------------------------------------ */

struct _Swarm {
  const Actrd *actrd;
  GPtrArray *nodes; /* Node*, owned */
  SoupSession *session;
  const char *stage; /* progress text */
  const char *phase; /* "[2/3] relays" */
  gint64 t0;
  /* connecting */
  guint next, connecting, connected, open;
  GQueue retry; /* Node* whose connect failed in transport, to try again */
  guint retries;
  double connect_s; /* time to connect every node */
  gboolean connect_stop;
  gboolean ping_on_open;
  gboolean deflate_seen;
  /* heartbeats */
  guint ping_answers, ping_errors;
  /* relaying */
  gboolean relaying;
  guint window;
  guint64 delivered, delivered_at_end, relay_errors, inflight;
  gint64 relay_t0, relay_t_end;
  gint64 relay_deadline_us; /* relay_t0 + --seconds */
  guint relay_timer;        /* fires at the deadline when idle */
  CpuUse cpu;               /* over relay_t0..relay_t_end */
  /* closing */
  gboolean closing;
  guint unexpected_closes;
  char *first_error;
};

static void
swarm_error(Swarm *sw, char *message /* transfer full */)
{
  if (sw->first_error == NULL)
    sw->first_error = message;
  else
    g_free(message);
}

/* Ends the measured relay interval (once). */
static void
relay_end(Swarm *sw)
{
  if (sw->relay_t_end != 0)
    return;
  sw->relaying = FALSE;
  sw->delivered_at_end = sw->delivered;
  sw->relay_t_end = g_get_monotonic_time();
  cpu_end(&sw->cpu, sw->actrd);
  sw->stage = "draining";
  if (sw->relay_timer != 0) {
    g_source_remove(sw->relay_timer);
    sw->relay_timer = 0;
  }
}

static void
send_window(Node *n)
{
  Swarm *sw = n->swarm;
  gsize len;
  const guint8 *data = g_bytes_get_data(n->relay, &len);

  while (sw->relaying && n->open && n->inflight < sw->window) {
    soup_websocket_connection_send_binary(n->ws, data, len);
    n->inflight++;
    sw->inflight++;
  }
}

static void
on_ws_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  Node *n = data;
  Swarm *sw = n->swarm;
  g_autoptr(GError) error = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;
  gsize len;
  const guint8 *bytes = g_bytes_get_data(message, &len);
  const Actr__ErrorResponse *err = NULL;

  if (type != SOUP_WEBSOCKET_DATA_BINARY)
    return;
  env = actr_signaling_envelope_decode(bytes, len, &error);
  if (env == NULL) {
    swarm_error(sw, g_strdup_printf("undecodable envelope from actrd: %s", error->message));
    return;
  }
  switch (env->flow_case) {
  case SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY:
    /* By the clock, not only by the timer: this loop may run timers late. */
    if (sw->relaying && g_get_monotonic_time() >= sw->relay_deadline_us)
      relay_end(sw);
    if (n->partner != NULL && n->partner->inflight > 0) {
      n->partner->inflight--;
      sw->inflight--;
      sw->delivered++;
      send_window(n->partner);
    }
    return;
  case SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR:
    if (env->server_to_actr->payload_case == SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_PONG) {
      sw->ping_answers++;
      return;
    }
    if (env->server_to_actr->payload_case == SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ERROR)
      err = env->server_to_actr->error;
    break;
  case SIGNALING__SIGNALING_ENVELOPE__FLOW_ENVELOPE_ERROR:
    err = env->envelope_error;
    break;
  default:
    break;
  }
  if (err == NULL)
    return; /* presence events and the like */
  swarm_error(sw, g_strdup_printf("error from actrd: %u %s", err->code, err->message));
  if (sw->ping_on_open) {
    sw->ping_answers++;
    sw->ping_errors++;
  } else {
    sw->relay_errors++;
    if (n->inflight > 0) { /* the relay it answers is not coming; do not refill */
      n->inflight--;
      sw->inflight--;
    }
  }
}

static void
on_ws_closed(SoupWebsocketConnection *ws, gpointer data)
{
  Node *n = data;
  Swarm *sw = n->swarm;

  n->open = FALSE;
  sw->open--;
  if (!sw->closing) {
    sw->unexpected_closes++;
    swarm_error(sw, g_strdup_printf("node %u: actrd closed the WebSocket (code %u %s)", n->index,
                                    soup_websocket_connection_get_close_code(ws),
                                    soup_websocket_connection_get_close_data(ws)
                                        ? soup_websocket_connection_get_close_data(ws)
                                        : ""));
  }
}

static void connect_issue(Swarm *sw);

static void
connect_done(GObject *source, GAsyncResult *result, gpointer data)
{
  Node *n = data;
  Swarm *sw = n->swarm;
  SoupSession *session = SOUP_SESSION(source);
  SoupMessage *msg = soup_session_get_async_result_message(session, result);
  g_autoptr(GError) error = NULL;

  sw->connecting--;
  n->ws = soup_session_websocket_connect_finish(session, result, &error);
  if (n->ws == NULL && soup_message_get_status(msg) == 0 && n->attempts < CONNECT_ATTEMPTS &&
      !sw->connect_stop) {
    sw->retries++;
    g_queue_push_tail(&sw->retry, n);
    connect_issue(sw);
    return;
  }
  if (n->ws == NULL) {
    sw->connect_stop = TRUE;
    swarm_error(sw, g_strdup_printf("node %u: WebSocket connect failed (HTTP %u): %s", n->index,
                                    soup_message_get_status(msg), error->message));
    return;
  }
  if (soup_websocket_connection_get_extensions(n->ws) != NULL)
    sw->deflate_seen = TRUE;
  n->open = TRUE;
  sw->open++;
  sw->connected++;
  g_signal_connect(n->ws, "message", G_CALLBACK(on_ws_message), n);
  g_signal_connect(n->ws, "closed", G_CALLBACK(on_ws_closed), n);
  if (sw->ping_on_open) {
    g_autoptr(GBytes) ping = ping_encode(n);
    gsize len;
    const guint8 *bytes = g_bytes_get_data(ping, &len);

    soup_websocket_connection_send_binary(n->ws, bytes, len);
  }
  connect_issue(sw);
}

static void
connect_issue(Swarm *sw)
{
  while (!sw->connect_stop && !bench_aborted && sw->connecting < SETUP_INFLIGHT &&
         (sw->next < sw->nodes->len || !g_queue_is_empty(&sw->retry))) {
    Node *n = !g_queue_is_empty(&sw->retry) ? g_queue_pop_head(&sw->retry)
                                            : g_ptr_array_index(sw->nodes, sw->next++);
    g_autofree char *actor = actr_id_to_string(&n->id);
    g_autofree char *claims = NULL, *sig = NULL;
    g_autofree char *e_actor = NULL, *e_claims = NULL, *e_sig = NULL;
    g_autofree char *url = NULL;
    SoupMessage *msg;
    gsize len;
    const guint8 *data = g_bytes_get_data(n->cred->claims, &len);

    claims = g_base64_encode(data, len);
    data = g_bytes_get_data(n->cred->signature, &len);
    sig = g_base64_encode(data, len);
    /* Reserved characters percent-encoded, '+' included (wire.md §4.1). */
    e_actor = g_uri_escape_string(actor, NULL, FALSE);
    e_claims = g_uri_escape_string(claims, NULL, FALSE);
    e_sig = g_uri_escape_string(sig, NULL, FALSE);
    url = g_strdup_printf("%s/signaling/ws?actor_id=%s&key_id=%u&claims=%s&signature=%s",
                          sw->actrd->ws_url, e_actor, n->cred->key_id, e_claims, e_sig);
    msg = soup_message_new("GET", url);
    n->attempts++;
    sw->connecting++;
    soup_session_websocket_connect_async(sw->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                         connect_done, n);
    g_object_unref(msg); /* the session holds it until connect_done */
  }
}

static gboolean
connect_finished(gpointer data)
{
  Swarm *sw = data;

  return sw->connecting == 0 &&
         (sw->connect_stop || (sw->next == sw->nodes->len && g_queue_is_empty(&sw->retry)));
}

static void
swarm_progress(gpointer data, GString *line)
{
  Swarm *sw = data;

  g_string_printf(line, "%s: %s", sw->phase, sw->stage);
  if (sw->relaying || sw->relay_t_end != 0) {
    double s = sw->relaying ? elapsed_s(sw->relay_t0)
                            : (double)(sw->relay_t_end - sw->relay_t0) / G_USEC_PER_SEC;

    g_string_append_printf(line, " %" G_GUINT64_FORMAT " delivered in %.1f s (%.0f/s)",
                           sw->delivered, s, s > 0 ? sw->delivered / s : 0);
  } else {
    g_string_append_printf(line, " %u/%u connected", sw->connected, sw->nodes->len);
    if (sw->ping_on_open)
      g_string_append_printf(line, ", %u heartbeats answered", sw->ping_answers);
  }
}

static void
swarm_init(Swarm *sw, const Actrd *d, GPtrArray *nodes /* transfer full */, const char *phase)
{
  memset(sw, 0, sizeof(*sw));
  sw->actrd = d;
  sw->nodes = nodes;
  sw->phase = phase;
  sw->t0 = g_get_monotonic_time();
  /* Upgraded connections leave the session's pool; the limits only bound
   * handshakes, which connect_issue() bounds itself. */
  sw->session = soup_session_new_with_options("max-conns", G_MAXINT32 / 2, "max-conns-per-host",
                                              G_MAXINT32 / 2, "timeout", 30, NULL);
  soup_session_set_proxy_resolver(sw->session, NULL);
  if (!opt_deflate)
    soup_session_remove_feature_by_type(sw->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  else if (!soup_session_has_feature(sw->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER))
    soup_session_add_feature_by_type(sw->session, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  for (guint i = 0; i < nodes->len; i++)
    ((Node *)g_ptr_array_index(nodes, i))->swarm = sw;
}

/* Connects every node; FALSE (reason printed) unless all are connected. */
static gboolean
swarm_connect(Swarm *sw)
{
  gint64 start = g_get_monotonic_time();

  sw->stage = "connecting";
  connect_issue(sw);
  bench_wait_for(connect_finished, sw, 120000);
  sw->connect_s = elapsed_s(start);
  if (sw->connected < sw->nodes->len && !bench_aborted) {
    fprintf(stderr, "\nbench-actrd: connected only %u of %u nodes%s%s\n", sw->connected,
            sw->nodes->len, sw->first_error ? ": " : "", sw->first_error ? sw->first_error : "");
    return FALSE;
  }
  return !bench_aborted;
}

static gboolean
swarm_all_closed(gpointer data)
{
  return ((Swarm *)data)->open == 0;
}

static gboolean
swarm_handshakes_done(gpointer data)
{
  return ((Swarm *)data)->connecting == 0;
}

/* Closes every connection (waits for the close handshakes), frees the
 * nodes and the session. */
static void
swarm_clear(Swarm *sw)
{
  sw->closing = TRUE;
  sw->relaying = FALSE;
  sw->connect_stop = TRUE;
  if (sw->connecting > 0) {
    soup_session_abort(sw->session);
    bench_wait_for(swarm_handshakes_done, sw, 5000);
  }
  for (guint i = 0; i < sw->nodes->len; i++) {
    Node *n = g_ptr_array_index(sw->nodes, i);

    if (n->open)
      soup_websocket_connection_close(n->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  }
  {
    gboolean was_aborted = bench_aborted;

    bench_aborted = FALSE; /* close cleanly even after Ctrl-C */
    bench_wait_for(swarm_all_closed, sw, 10000);
    bench_aborted = was_aborted || bench_aborted;
  }
  g_queue_clear(&sw->retry);
  g_ptr_array_unref(sw->nodes);
  soup_session_abort(sw->session);
  g_clear_object(&sw->session);
  g_free(sw->first_error);
}

/* ---- phases --------------------------------------------------------------------------------- */

typedef struct {
  gboolean ok;
  double value;
  char *detail;
} Result;

static void
result_clear(Result *r)
{
  g_free(r->detail);
}

/* 1. Registrations per second. */
static void
phase_register(Result *res)
{
  Actrd *d = actrd_start(opt_actrd);
  Registrar r;
  Progress p;
  double s;
  g_autofree char *cpu = NULL;

  if (d == NULL) {
    start_failed = TRUE;
    return;
  }
  registrar_init(&r, d, (guint)opt_inflight);
  r.t0 = g_get_monotonic_time();
  cpu_begin(&r.cpu, d);
  progress_start(&p, register_progress, &r);
  r.deadline_us = r.t0 + (gint64)(opt_seconds * G_USEC_PER_SEC);
  r.timer = g_timeout_add((guint)(opt_seconds * 1000), register_timer, &r);
  register_issue(&r);
  bench_wait_for(register_drained, &r, (guint)(opt_seconds * 1000) + 60000);
  register_end(&r); /* when bench_aborted before the deadline */
  progress_stop(&p);
  s = (double)(r.t_end - r.t0) / G_USEC_PER_SEC;
  res->ok = !bench_aborted && r.ok_at_end > 0 && r.inflight == 0;
  res->value = s > 0 ? r.ok_at_end / s : 0;
  cpu = cpu_text(&r.cpu, s, r.ok_at_end);
  res->detail =
      g_strdup_printf("registrations: %u in flight, %.2f s, %" G_GUINT64_FORMAT
                      " ok, %" G_GUINT64_FORMAT " failed%s%s%s; %s",
                      opt_inflight, s, r.ok_at_end, r.failed, r.first_error ? " (first: " : "",
                      r.first_error ? r.first_error : "", r.first_error ? ")" : "", cpu);
  registrar_clear(&r);
  actrd_stop(d);
}

static gboolean
relay_timer(gpointer data)
{
  Swarm *sw = data;

  sw->relay_timer = 0;
  relay_end(sw);
  return G_SOURCE_REMOVE;
}

static gboolean
relay_drained(gpointer data)
{
  Swarm *sw = data;

  return !sw->relaying && sw->relay_t_end != 0 && sw->inflight == 0;
}

/* 2. Relayed messages per second. */
static void
phase_relay(Result *res)
{
  Actrd *d = actrd_start(opt_actrd);
  GPtrArray *nodes;
  Swarm sw;
  Progress p;
  double s;
  guint64 lost;
  g_autofree char *cpu = NULL;

  if (d == NULL) {
    start_failed = TRUE;
    return;
  }
  nodes = register_nodes(d, 2 * (guint)opt_pairs, SETUP_INFLIGHT);
  if (nodes == NULL) {
    actrd_stop(d);
    return;
  }
  swarm_init(&sw, d, nodes, "[2/3] relays");
  sw.window = (guint)opt_window;
  progress_start(&p, swarm_progress, &sw);
  if (!swarm_connect(&sw))
    goto out;
  for (guint i = 0; i + 1 < nodes->len; i += 2) {
    Node *a = g_ptr_array_index(nodes, i), *b = g_ptr_array_index(nodes, i + 1);

    a->partner = b;
    b->partner = a;
    a->relay = relay_encode(a, b);
    b->relay = relay_encode(b, a);
  }
  sw.stage = "relaying";
  sw.relaying = TRUE;
  sw.relay_t0 = g_get_monotonic_time();
  cpu_begin(&sw.cpu, d);
  sw.relay_deadline_us = sw.relay_t0 + (gint64)(opt_seconds * G_USEC_PER_SEC);
  sw.relay_timer = g_timeout_add((guint)(opt_seconds * 1000), relay_timer, &sw);
  for (guint i = 0; i < nodes->len; i++)
    send_window(g_ptr_array_index(nodes, i));
  bench_wait_for(relay_drained, &sw, (guint)(opt_seconds * 1000) + 10000);
  relay_end(&sw); /* when bench_aborted before the deadline */
  s = (double)(sw.relay_t_end - sw.relay_t0) / G_USEC_PER_SEC;
  lost = sw.inflight;
  cpu = cpu_text(&sw.cpu, s, sw.delivered_at_end);
  res->ok = !bench_aborted && sw.delivered_at_end > 0;
  res->value = s > 0 ? sw.delivered_at_end / s : 0;
  res->detail = g_strdup_printf(
      "relays: %u pairs, window %u, %.2f s, %" G_GUINT64_FORMAT " delivered, %" G_GUINT64_FORMAT
      " errors, %" G_GUINT64_FORMAT " never delivered, %u connections closed by actrd%s%s%s; %s",
      opt_pairs, sw.window, s, sw.delivered_at_end, sw.relay_errors, lost, sw.unexpected_closes,
      sw.first_error ? " (first problem: " : "", sw.first_error ? sw.first_error : "",
      sw.first_error ? ")" : "", cpu);
out:
  progress_stop(&p);
  swarm_clear(&sw);
  actrd_stop(d);
}

static gboolean
pings_answered(gpointer data)
{
  Swarm *sw = data;

  return sw->ping_answers >= sw->connected || sw->open < sw->connected;
}

static void
register_nodes_progress(gpointer data, GString *line)
{
  g_string_printf(line, "[3/3] memory: registering %u nodes", GPOINTER_TO_UINT(data));
}

/* 3. Resident memory per 1,000 connected nodes. */
static void
phase_memory(Result *res)
{
  Actrd *d = actrd_start(opt_actrd);
  GPtrArray *nodes;
  Swarm sw;
  Progress p;
  gint64 rss_fresh, rss_registered, rss_connected;
  double per_1000;

  if (d == NULL) {
    start_failed = TRUE;
    return;
  }
  rss_fresh = actrd_rss_kb(d);
  progress_start(&p, register_nodes_progress, GUINT_TO_POINTER((guint)opt_nodes));
  nodes = register_nodes(d, (guint)opt_nodes, SETUP_INFLIGHT);
  progress_stop(&p);
  if (nodes == NULL) {
    actrd_stop(d);
    return;
  }
  rss_registered = actrd_rss_kb(d);
  swarm_init(&sw, d, nodes, "[3/3] memory");
  sw.ping_on_open = TRUE;
  progress_start(&p, swarm_progress, &sw);
  if (!swarm_connect(&sw))
    goto out;
  sw.stage = "heartbeats";
  if (!bench_wait_for(pings_answered, &sw, 60000) || sw.open < sw.connected) {
    if (!bench_aborted)
      fprintf(stderr, "\nbench-actrd: %u of %u heartbeats answered, %u connections open%s%s\n",
              sw.ping_answers, sw.connected, sw.open, sw.first_error ? ": " : "",
              sw.first_error ? sw.first_error : "");
    goto out;
  }
  rss_connected = actrd_rss_kb(d);
  if (rss_fresh < 0 || rss_registered < 0 || rss_connected < 0) {
    fprintf(stderr, "\nbench-actrd: cannot read VmRSS of actrd from /proc\n");
    goto out;
  }
  per_1000 = (double)(rss_connected - rss_registered) * 1024 / 1e6 / sw.connected * 1000;
  res->ok = TRUE;
  res->value = per_1000;
  res->detail = g_strdup_printf(
      "memory: %u nodes connected in %.1f s (%u connects retried), each one Ping/Pong (%u "
      "errors); actrd VmRSS %.1f MB fresh, %.1f MB after registering, %.1f MB connected "
      "(MB = 10^6 bytes); permessage-deflate %s",
      sw.connected, sw.connect_s, sw.retries, sw.ping_errors, rss_fresh * 1024 / 1e6,
      rss_registered * 1024 / 1e6, rss_connected * 1024 / 1e6,
      sw.deflate_seen ? "negotiated" : (opt_deflate ? "offered, not negotiated" : "not offered"));
out:
  progress_stop(&p);
  swarm_clear(&sw);
  actrd_stop(d);
}

/* ---- main ----------------------------------------------------------------------------------- */

/* Raises the soft RLIMIT_NOFILE to the hard limit (actrd, started later,
 * inherits it) and lowers --nodes if even that is too small.  Returns the
 * text for the report. */
static char *
raise_fd_limit(void)
{
  struct rlimit rl;
  rlim_t before, need;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return g_strdup("fd limit: unknown (getrlimit failed)");
  before = rl.rlim_cur;
  if (rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      getrlimit(RLIMIT_NOFILE, &rl);
  }
  need = (rlim_t)opt_nodes + (rlim_t)opt_inflight + FD_RESERVE;
  if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur) {
    gint nodes = (gint)rl.rlim_cur - opt_inflight - FD_RESERVE;

    fprintf(stderr,
            "bench-actrd: the fd limit (%llu) is too small for %d nodes; using %d (raise the "
            "hard limit: ulimit -Hn)\n",
            (unsigned long long)rl.rlim_cur, opt_nodes, MAX(nodes, 1));
    opt_nodes = MAX(nodes, 1);
  }
  return g_strdup_printf("fd limit: soft %llu -> %llu (hard %llu); actrd inherits it and also "
                         "raises its own soft limit to the hard one",
                         (unsigned long long)before, (unsigned long long)rl.rlim_cur,
                         (unsigned long long)rl.rlim_max);
}

static void
print_row(const char *metric, const Result *r, const char *unit, double target,
          gboolean higher_is_better, const char *target_text)
{
  g_autofree char *measured = NULL;
  const char *verdict;

  if (!r->ok) {
    measured = g_strdup("failed");
    verdict = "-";
  } else {
    measured = g_strdup_printf(target < 100 ? "%.1f %s" : "%.0f %s", r->value, unit);
    verdict = (higher_is_better ? r->value >= target : r->value < target) ? "met" : "not met";
  }
  printf("  %-36s %-16s %-14s %s\n", metric, measured, target_text, verdict);
}

int
main(int argc, char **argv)
{
  GOptionEntry entries[] = {
      {"seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
       "Duration of the registration and relay phases (default 3)", "S"},
      {"inflight", 'k', 0, G_OPTION_ARG_INT, &opt_inflight,
       "Registrations in flight in the registration phase (default 64)", "K"},
      {"pairs", 'p', 0, G_OPTION_ARG_INT, &opt_pairs, "Node pairs relaying (default 50)", "P"},
      {"window", 'w', 0, G_OPTION_ARG_INT, &opt_window,
       "Relays in flight per connection (default 16)", "W"},
      {"nodes", 'n', 0, G_OPTION_ARG_INT, &opt_nodes,
       "Connected nodes for the memory figure (default 5000)", "N"},
      {"actrd", 0, 0, G_OPTION_ARG_FILENAME, &opt_actrd,
       "The actrd binary (default: the build tree's)", "PATH"},
      {"deflate", 0, 0, G_OPTION_ARG_NONE, &opt_deflate,
       "Offer permessage-deflate on the WebSockets", NULL},
      {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new("— benchmark the actrd server");
  g_autoptr(GError) error = NULL;
  g_autofree char *fd_text = NULL;
  Result reg = {0}, relay = {0}, mem = {0};
  BenchSignals signals;
  int status;

  g_option_context_add_main_entries(context, entries, NULL);
  g_option_context_set_summary(
      context, "Starts the real actrd (a fresh one per phase) and measures registrations/s,\n"
               "relayed signaling messages/s and resident memory per 1,000 connected nodes.");
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "bench-actrd: %s\n", error->message);
    return 2;
  }
  if (!(opt_seconds > 0 && opt_seconds < 3600) || opt_inflight < 1 || opt_pairs < 1 ||
      opt_window < 1 || opt_nodes < 1) {
    fprintf(stderr, "bench-actrd: --seconds must be in (0, 3600) and --inflight, --pairs, "
                    "--window, --nodes at least 1\n");
    return 2;
  }
  /* --actrd, else ../src/actrd/actrd next to this binary in the build tree,
   * else the path Meson compiled in. */
  bench_resolve_build_file(&opt_actrd, "../src/actrd/actrd", ACTRD_PATH);
  if (opt_actrd == NULL || !g_file_test(opt_actrd, G_FILE_TEST_IS_EXECUTABLE)) {
    fprintf(stderr, "bench-actrd: no actrd binary at %s (build it, or pass --actrd PATH)\n",
            opt_actrd ? opt_actrd : "(unknown)");
    g_free(opt_actrd);
    return 1;
  }
  fd_text = raise_fd_limit();
  bench_signals_add(&signals);

  if (!bench_aborted && !start_failed)
    phase_register(&reg);
  if (!bench_aborted && !start_failed)
    phase_relay(&relay);
  if (!bench_aborted && !start_failed)
    phase_memory(&mem);

  printf("bench-actrd: %s, %u CPUs shared by actrd and this client (noisy: compare runs on\n"
         "the same machine, not against the targets alone)\n\n",
         opt_actrd, g_get_num_processors());
  printf("  %-36s %-16s %-14s %s\n", "metric", "measured", "target", "");
  print_row("registrations per second", &reg, "/s", TARGET_REGISTER_PER_SEC, TRUE, ">= 10000/s");
  print_row("relayed messages per second", &relay, "/s", TARGET_RELAY_PER_SEC, TRUE, ">= 50000/s");
  print_row("resident memory per 1,000 nodes", &mem, "MB", TARGET_MB_PER_1000, FALSE, "< 30 MB");
  printf("\n");
  if (reg.detail != NULL)
    printf("  %s\n", reg.detail);
  if (relay.detail != NULL)
    printf("  %s\n", relay.detail);
  if (mem.detail != NULL)
    printf("  %s\n", mem.detail);
  printf("  %s\n", fd_text);

  status = bench_aborted ? 130 : (reg.ok && relay.ok && mem.ok ? 0 : 1);
  bench_signals_remove(&signals);
  result_clear(&reg);
  result_clear(&relay);
  result_clear(&mem);
  g_free(opt_actrd);
  return status;
}
