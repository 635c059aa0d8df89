/* actr benchmarks — actrd, an echo callee node and a client node.  See
 * bench-node.h. */
#include "bench-node.h"
#include "bench-util.h"

#include <stdio.h>
#include <string.h>

#define MAX_ERRORS       20 /* a phase stops after this many failed calls */
#define DRAIN_TIMEOUT_MS 30000

/* Written to DIR/actrd.toml: the whole load comes from one IP, so every
 * limit is raised far above what a run can reach. */
static const char actrd_toml[] = "# bench: rate limits raised so that the limiter never\n"
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

/* @s as a TOML basic string, quotes included (transfer full). */
char *
bench_toml_quote(const char *s)
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

GBytes *
bench_echo_payload(gsize size)
{
  guint8 *data = g_malloc(size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8)('a' + i % 26);
  return g_bytes_new_take(data, size);
}

gboolean
bench_rig_binaries_ok(const char *actrd, const char *actr, const char *workload)
{
  if (g_file_test(actrd, G_FILE_TEST_IS_EXECUTABLE) &&
      g_file_test(actr, G_FILE_TEST_IS_EXECUTABLE) && g_file_test(workload, G_FILE_TEST_EXISTS))
    return TRUE;
  fprintf(stderr, "%s: missing %s, %s or %s (build them, or pass --actrd, --actr, --workload)\n",
          g_get_prgname(), actrd, actr, workload);
  return FALSE;
}

/* The part of actr.toml both nodes share: WebRTC on loopback only, or off
 * (transfer full). */
static char *
node_toml(const char *host_port, const char *data_dir, gboolean webrtc)
{
  g_autofree char *signaling = g_strdup_printf("ws://%s/signaling/ws", host_port);
  g_autofree char *ais = g_strdup_printf("http://%s/ais", host_port);
  g_autofree char *q_signaling = bench_toml_quote(signaling);
  g_autofree char *q_ais = bench_toml_quote(ais);
  g_autofree char *q_data = bench_toml_quote(data_dir);

  return g_strdup_printf("edition = 1\n"
                         "[signaling]\n"
                         "url = %s\n"
                         "[ais_endpoint]\n"
                         "url = %s\n"
                         "[deployment]\n"
                         "realm_id = %d\n"
                         "[hyper]\n"
                         "data_dir = %s\n"
                         "[webrtc]\n"
                         "%s\n",
                         q_signaling, q_ais, BENCH_REALM, q_data,
                         webrtc ? "enabled = true\nhost_addresses = [\"127.0.0.1\"]"
                                : "enabled = false");
}

void
bench_rig_clear(BenchRig *rig)
{
  /* The client first: it unregisters from actrd. */
  if (rig->node != NULL) {
    actr_node_shutdown(rig->node);
    g_clear_pointer(&rig->node, actr_node_free);
  }
  g_clear_pointer(&rig->config, actr_config_free);
  bench_child_stop(rig->callee);
  rig->callee = NULL;
  bench_child_stop(rig->actrd);
  rig->actrd = NULL;
  g_clear_pointer(&rig->host_port, g_free);
  g_clear_pointer(&rig->callee_id, g_free);
  g_clear_pointer(&rig->payload, g_bytes_unref);
}

/* actrd, the callee node, the client node.  FALSE (reason printed) on
 * failure; bench_rig_clear() in both cases. */
gboolean
bench_rig_init(BenchRig *rig, const char *dir, GBytes *payload, const BenchRigOptions *opts)
{
  g_autofree char *actrd_dir = g_build_filename(dir, "actrd", NULL);
  g_autofree char *actrd_conf = g_build_filename(dir, "actrd.toml", NULL);
  g_autofree char *actrd_log = g_build_filename(dir, "actrd.stderr", NULL);
  g_autofree char *callee_conf = g_build_filename(dir, "callee.toml", NULL);
  g_autofree char *callee_log = g_build_filename(dir, "callee.stderr", NULL);
  g_autofree char *callee_data = g_build_filename(dir, "callee-data", NULL);
  g_autofree char *callee_db = g_build_filename(dir, "callee-mailbox.db", NULL);
  g_autofree char *client_data = g_build_filename(dir, "client-data", NULL);
  g_autofree char *q_db = bench_toml_quote(callee_db);
  g_autofree char *common = NULL;
  g_autofree char *callee_toml = NULL;
  g_autofree char *client_toml = NULL;
  g_autoptr(GError) error = NULL;
  ActrNodeOptions options = {
      .actr_type = opts->client_type, .on_event = opts->on_event, .user_data = opts->user_data};

  memset(rig, 0, sizeof *rig);
  rig->payload = g_bytes_ref(payload);
  if (!g_file_set_contents(actrd_conf, actrd_toml, -1, &error)) {
    fprintf(stderr, "%s: %s\n", g_get_prgname(), error->message);
    return FALSE;
  }
  {
    const char *argv[] = {opts->actrd, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                          actrd_dir,   "--dev", "--config", actrd_conf,    NULL};

    rig->actrd = bench_child_start("actrd", actrd_log, BENCH_ACTRD_READY, argv);
  }
  if (rig->actrd == NULL)
    return FALSE;
  rig->host_port = g_strdup(rig->actrd->ready);

  common = node_toml(rig->host_port, callee_data, opts->webrtc);
  callee_toml = g_strdup_printf("%s"
                                "[websocket]\n"
                                "listen_port = 0\n"
                                "advertised_host = \"127.0.0.1\"\n"
                                "[storage]\n"
                                "mailbox_path = %s\n",
                                common, q_db);
  if (!g_file_set_contents(callee_conf, callee_toml, -1, &error)) {
    fprintf(stderr, "%s: %s\n", g_get_prgname(), error->message);
    return FALSE;
  }
  {
    const char *argv[] = {opts->actr,   "run",          "--config", callee_conf,
                          "--workload", opts->workload, NULL};

    rig->callee = bench_child_start("callee node", callee_log, BENCH_CALLEE_READY, argv);
  }
  if (rig->callee == NULL)
    return FALSE;
  rig->callee_id = g_strdup(rig->callee->ready);

  client_toml = node_toml(rig->host_port, client_data, opts->webrtc);
  rig->config = actr_config_load_data(client_toml, strlen(client_toml), "bench client", &error);
  if (rig->config == NULL) {
    fprintf(stderr, "%s: client config: %s\n", g_get_prgname(), error->message);
    return FALSE;
  }
  rig->node = actr_node_new(rig->config, &options, &error);
  if (rig->node == NULL) {
    fprintf(stderr, "%s: actr_node_new: %s\n", g_get_prgname(), error->message);
    return FALSE;
  }
  if (!actr_node_start(rig->node, &error)) {
    fprintf(stderr, "%s: actr_node_start: %s\n", g_get_prgname(), error->message);
    bench_child_print_log(rig->actrd);
    return FALSE;
  }
  return TRUE;
}

static void
errors_add(BenchErrors *e, char *message /* transfer full */)
{
  e->errors++;
  bench_keep_first(&e->first, message);
}

/* Checks one call's outcome; TRUE when @reply is the echo of @payload. */
static gboolean
reply_ok(BenchErrors *e, GBytes *reply, const GError *error, GBytes *payload)
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
gboolean
bench_rig_sequential(BenchRig *rig, guint n, GArray *samples, BenchErrors *e, const char *label)
{
  ActrCallOptions options = {.timeout_ms = BENCH_CALL_TIMEOUT_MS};

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
    t0 = bench_now_ns();
    reply = actr_node_call(rig->node, BENCH_ECHO_TYPE, BENCH_ECHO_ROUTE, rig->payload, &options,
                           &error);
    us = (double)(bench_now_ns() - t0) / 1000.0;
    if (!reply_ok(e, reply, error, rig->payload))
      continue;
    if (samples != NULL) {
      g_array_append_val(samples, us);
      bench_progress("%s %u/%u", label, i + 1, n);
    }
  }
  return !bench_aborted && e->errors <= MAX_ERRORS;
}

/* Calls in flight from a GMainLoop on this thread.  Refcounted
 * (g_rc_box): every call in flight holds a reference, so a call that
 * completes after the phase gave up on it touches nothing freed. */
typedef struct {
  BenchRig *rig;
  GMainLoop *loop;
  guint max_inflight, inflight;
  guint64 to_issue; /* count mode: calls left to start */
  gboolean timed;   /* timed mode: start calls until deadline_ns */
  gint64 t0_ns, deadline_ns;
  guint64 ok_in_time; /* correct replies received by the deadline */
  GArray *samples;    /* us, nullable */
  BenchErrors errors;
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
  now = bench_now_ns();
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
  return f->timed ? bench_now_ns() < f->deadline_ns : f->to_issue > 0;
}

static void
flood_issue(Flood *f)
{
  static const ActrCallOptions options = {.timeout_ms = BENCH_CALL_TIMEOUT_MS};

  while (f->inflight < f->max_inflight && flood_may_issue(f)) {
    Call *call = g_new0(Call, 1);

    call->flood = g_rc_box_acquire(f);
    f->inflight++;
    if (!f->timed)
      f->to_issue--;
    call->sent_ns = bench_now_ns();
    actr_node_call_async(f->rig->node, BENCH_ECHO_TYPE, BENCH_ECHO_ROUTE, f->rig->payload, &options,
                         NULL, flood_done, call);
  }
}

static gboolean
flood_watchdog(gpointer data)
{
  Flood *f = data;

  if (bench_aborted || bench_now_ns() > f->deadline_ns + (gint64)DRAIN_TIMEOUT_MS * 1000000) {
    g_main_loop_quit(f->loop);
    f->watchdog = 0;
    return G_SOURCE_REMOVE;
  }
  if (f->timed)
    bench_progress("%s %.1f s, %" G_GUINT64_FORMAT " calls", "throughput",
                   (double)(bench_now_ns() - f->t0_ns) / 1e9, f->ok_in_time);
  return G_SOURCE_CONTINUE;
}

/* @inflight calls in flight: @count calls (count mode, a warm-up), or for
 * @seconds (timed mode).  Latencies go to @samples (nullable).  FALSE when
 * calls were left unanswered after the drain timeout or too many failed. */
gboolean
bench_rig_flood(BenchRig *rig, guint inflight, guint64 count, double seconds, GArray *samples,
                BenchFloodResult *res)
{
  Flood *f = g_rc_box_new0(Flood);
  double self0 = bench_self_cpu_s(), callee0 = bench_child_cpu_s(rig->callee),
         actrd0 = bench_child_cpu_s(rig->actrd);
  gboolean ok;

  f->rig = rig;
  f->loop = g_main_loop_new(NULL, FALSE);
  f->max_inflight = inflight;
  f->timed = seconds > 0;
  f->to_issue = count;
  f->samples = samples ? g_array_ref(samples) : NULL;
  f->t0_ns = bench_now_ns();
  f->deadline_ns = f->timed ? f->t0_ns + (gint64)(seconds * 1e9) : f->t0_ns;
  f->watchdog = g_timeout_add(250, flood_watchdog, f);
  flood_issue(f);
  if (f->inflight > 0)
    g_main_loop_run(f->loop);
  if (!f->timed)
    f->deadline_ns = bench_now_ns();
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
    res->cpu_callee = bench_child_cpu_s(rig->callee) - callee0;
    res->cpu_actrd = bench_child_cpu_s(rig->actrd) - actrd0;
  } else if (!ok && f->errors.first != NULL) {
    fprintf(stderr, "\n%s: warm-up: %s\n", g_get_prgname(), f->errors.first);
  }
  g_rc_box_release_full(f, flood_clear);
  return ok;
}
