/* End-to-end tests of the WebRTC transport (wire.md §5) between real
 * processes: actrd, `actr run` nodes, and client nodes built in this
 * process (include/actr/node.h) where a test needs lanes, events or many
 * calls in flight.  Every test checks that the calls really went over
 * WebRTC: the callee logs "webrtc: connected to ..." (message level, kept
 * by node-harness), the in-process caller reports WEBRTC_CONNECTED, and the
 * caller never logs a fallback to WebSocket direct-connect.
 *
 * /e2e/webrtc/lanes-and-sizes       both RPC lanes, payloads 1 B .. 8 MiB, byte-exact,
 *                                   plus `actr call` over WebRTC
 * /e2e/webrtc/1000-concurrent-calls 1,000 calls in flight on one connection
 * /e2e/webrtc/stream-100mib         examples/stream-send → stream-recv, 100 MiB on
 *                                   STREAM_RELIABLE, SHA-256 checked three ways;
 *                                   plus a file → file stream
 * /e2e/webrtc/peer-restart          the callee is killed (-9) and restarted: the
 *                                   caller's next call works within seconds
 * /e2e/webrtc/ice-restart           the callee runs in a network namespace behind a
 *                                   veth pair; 100 % loss (tc netem) for 4 s breaks
 *                                   the path; ICE restart restores it (root only)
 * /e2e/webrtc/turn-relay            relay-only through a real coturn, with TURN
 *                                   credentials handed out by actrd
 * /e2e/webrtc/acl-deny              the callee's [acl] denies the caller: 10004
 * /e2e/webrtc/udp-garbage           random datagrams, broken DTLS records and STUN
 *                                   garbage on both ends' ICE ports; the nodes stay
 *                                   up and the connection keeps working.  (Malformed
 *                                   DCEP inside a real DTLS association is covered by
 *                                   the unit tests of src/transport/sctp and the
 *                                   dcep fuzz target: it cannot be injected from
 *                                   outside without the DTLS keys.)
 * /e2e/webrtc/tshark                a capture on lo shows DTLS 1.2 handshake and
 *                                   application_data records (tshark, root only)
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <actr/config.h>
#include <actr/node.h>

#include "library-node.h"
#include "node-harness.h"

#define RUN_MS 30000

/* ---- log lines of this process (the in-process nodes) --------------------------------- */

static GMutex proc_log_lock;
static GPtrArray *proc_log; /* char * */
static GLogFunc chained_log_handler;

static void
capture_log_handler(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  if ((level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_WARNING)) != 0) {
    g_mutex_lock(&proc_log_lock);
    g_ptr_array_add(proc_log, g_strdup(message));
    g_mutex_unlock(&proc_log_lock);
  }
  chained_log_handler(domain, level, message, data);
}

static guint
proc_log_count(const char *needle)
{
  guint n = 0;

  g_mutex_lock(&proc_log_lock);
  for (guint i = 0; i < proc_log->len; i++) {
    if (strstr(g_ptr_array_index(proc_log, i), needle) != NULL)
      n++;
  }
  g_mutex_unlock(&proc_log_lock);
  return n;
}

static void
proc_log_clear(void)
{
  g_mutex_lock(&proc_log_lock);
  g_ptr_array_set_size(proc_log, 0);
  g_mutex_unlock(&proc_log_lock);
}

/* ---- in-process client nodes ---------------------------------------------------------- */

typedef struct {
  ActrConfig *config;
  ActrNode *node;
  E2eEvents ev;
} Client;

/* A client node of @type in this process, config DIR/NAME.toml with
 * @body (nullable, e.g. a [webrtc] section) at @actrd_url. */
static Client *
client_start(const char *dir, const char *name, const char *actrd_url, const char *type,
             const char *body)
{
  Client *c = g_new0(Client, 1);
  g_autofree char *path = e2e_write_config(dir, name, actrd_url, body);
  ActrNodeOptions options = {.actr_type = type, .on_event = e2e_events_record, .user_data = &c->ev};

  e2e_events_init(&c->ev);
  c->node = e2e_library_node_start(path, &options, &c->config);
  return c;
}

static void
client_free(Client *c)
{
  actr_node_free(c->node);
  actr_config_free(c->config);
  e2e_events_clear(&c->ev);
  g_free(c);
}

/* WEBRTC_CONNECTED events, of them relayed ones, and WEBRTC_DISCONNECTED
 * events (both nullable). */
static guint
client_connected(Client *c, guint *relayed, guint *disconnected)
{
  if (relayed != NULL)
    *relayed = e2e_events_count_with_value(&c->ev, ACTR_NODE_EVENT_WEBRTC_CONNECTED);
  if (disconnected != NULL)
    *disconnected = e2e_events_count(&c->ev, ACTR_NODE_EVENT_WEBRTC_DISCONNECTED);
  return e2e_events_count(&c->ev, ACTR_NODE_EVENT_WEBRTC_CONNECTED);
}

static GBytes *
random_bytes(gsize len)
{
  guint8 *data = g_malloc(MAX(len, 1));

  for (gsize i = 0; i < len; i++)
    data[i] = (guint8)g_random_int();
  return g_bytes_new_take(data, len);
}

/* The callee logged its WebRTC connection to @peer_id ("webrtc: connected
 * to PEER (direct)" or "(relayed ...)", message level): returns that line
 * (transfer full) after checking it says @how ("direct" or "relayed"). */
static char *
assert_callee_connected(E2eNode *callee, const char *peer_id, const char *how)
{
  g_autofree char *needle = g_strdup_printf("webrtc: connected to %s (", peer_id);
  g_autofree char *expect = g_strdup_printf("(%s", how);
  char *line = e2e_node_wait_log(callee, needle, 10000);

  if (line == NULL)
    g_error("node %s never logged \"%s\" (its stderr is above)", e2e_node_name(callee), needle);
  if (strstr(line, expect) == NULL)
    g_error("node %s's connection line is not %s: %s", e2e_node_name(callee), how, line);
  g_test_message("callee: %s", line);
  return line;
}

/* The first call from @c to @echo (by its id, on RPC_RELIABLE) sets up the
 * WebRTC connection: checks that the callee logged it as @how ("direct" or
 * "relayed").  Returns the caller's id (transfer full). */
static char *
first_call(Client *c, E2eNode *echo, GBytes *payload, const char *how)
{
  char *caller_id = actr_node_dup_id(c->node);

  e2e_call_echo(c->node, e2e_node_id(echo), payload, ACTR_NODE_LANE_RPC_RELIABLE, RUN_MS);
  g_free(assert_callee_connected(echo, caller_id, how));
  return caller_id;
}

/* The UDP ports process @pid has bound on 127.0.0.1 (its ICE host
 * candidates here), from `ss`. */
static GArray *
udp_ports_of(GPid pid)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tag = g_strdup_printf(",pid=%d,", (int)pid);
  g_auto(GStrv) lines = NULL;
  GArray *ports = g_array_new(FALSE, FALSE, sizeof(guint16));
  int status = 0;

  g_spawn_command_line_sync("ss -H -u -a -n -p", &out, NULL, &status, &error);
  g_assert_no_error(error);
  lines = g_strsplit(out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *local = strstr(lines[i], " 127.0.0.1:");
    guint16 port;

    if (strstr(lines[i], tag) == NULL || local == NULL)
      continue;
    port = (guint16)g_ascii_strtoull(local + strlen(" 127.0.0.1:"), NULL, 10);
    if (port != 0)
      g_array_append_val(ports, port);
  }
  return ports;
}

/* No call of this process fell back to WebSocket direct-connect. */
static void
assert_no_websocket_fallback(void)
{
  g_assert_cmpuint(proc_log_count("trying WebSocket direct-connect"), ==, 0);
}

static const char *
webrtc_loopback_toml(void)
{
  return "[webrtc]\n"
         "host_addresses = [\"127.0.0.1\"]\n";
}

/* ---- both lanes, payload sizes --------------------------------------------------------- */

static void
test_lanes_and_sizes(void)
{
  g_autoptr(E2eActrd) actrd = e2e_actrd_start(NULL);
  g_autofree char *dir = e2e_tmpdir_new();
  E2eNodeOptions echo_options = {.workload = "echo"};
  g_autoptr(E2eNode) echo = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  static const gsize sizes[] = {1, 65535, 65528, 1024 * 1024, 8 * 1024 * 1024};
  Client *c;
  guint relayed = 0, disconnected = 0;

  proc_log_clear();
  e2e_node_start(echo);
  c = client_start(dir, "caller", e2e_actrd_url(actrd), "acme:caller:1.0.0", NULL);
  {
    g_autoptr(GBytes) one = random_bytes(1);

    g_free(first_call(c, echo, one, "direct"));
  }
  for (guint lane = 0; lane < 2; lane++) {
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
      g_autoptr(GBytes) payload = random_bytes(sizes[i]);

      e2e_call_echo(c->node, e2e_node_id(echo), payload, (ActrNodeLane)lane, 60000);
    }
  }
  /* By type too (route candidates), on the same connection. */
  {
    g_autoptr(GBytes) payload = random_bytes(4096);

    e2e_call_echo(c->node, "acme:echo:1.0.0", payload, ACTR_NODE_LANE_RPC_SIGNAL, RUN_MS);
  }
  g_assert_cmpuint(client_connected(c, &relayed, &disconnected), ==, 1);
  g_assert_cmpuint(relayed, ==, 0);
  g_assert_cmpuint(disconnected, ==, 0);
  assert_no_websocket_fallback();

  /* `actr call` (a short-lived CLI node) reaches the echo node over
   * WebRTC as well: 1 MiB from a file, byte-exact. */
  {
    g_autofree char *client = e2e_write_client_config(dir, "cli", e2e_actrd_url(actrd));
    g_autofree char *file = g_build_filename(dir, "one-mib.bin", NULL);
    g_autoptr(GBytes) payload = random_bytes(1024 * 1024);
    g_autoptr(GError) error = NULL;
    g_auto(E2eRun) run = {0};
    guint before = e2e_node_log_count(echo, "webrtc: connected to ");

    g_file_set_contents(file, g_bytes_get_data(payload, NULL), g_bytes_get_size(payload), &error);
    g_assert_no_error(error);
    e2e_cli(&run, NULL, RUN_MS, "call", "--config", client, e2e_node_id(echo), "echo.Echo.Echo",
            "--data-file", file, NULL);
    e2e_assert_run_ok(&run);
    g_assert_cmpuint(e2e_run_out_len(&run), ==, g_bytes_get_size(payload));
    g_assert_true(
        memcmp(e2e_run_out(&run), g_bytes_get_data(payload, NULL), g_bytes_get_size(payload)) == 0);
    g_assert_null(strstr(run.err, "trying WebSocket"));
    g_assert_cmpuint(e2e_node_log_count(echo, "webrtc: connected to "), ==, before + 1);
  }

  client_free(c);
  g_clear_pointer(&echo, e2e_node_free);
  e2e_remove_tree(dir);
}

/* ---- 1,000 concurrent calls ---------------------------------------------------------- */

#define N_CALLS 1000

static void
test_concurrent_calls(void)
{
  g_autoptr(E2eActrd) actrd = e2e_actrd_start(NULL);
  g_autofree char *dir = e2e_tmpdir_new();
  E2eNodeOptions echo_options = {.workload = "echo"};
  g_autoptr(E2eNode) echo = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  g_autoptr(GBytes) hello = g_bytes_new_static("hello", 5);
  guint disconnected = 0;
  Client *c;

  proc_log_clear();
  e2e_node_start(echo);
  c = client_start(dir, "loadgen", e2e_actrd_url(actrd), "acme:loadgen:1.0.0", NULL);
  g_free(first_call(c, echo, hello, "direct"));
  /* Every fifth call on RPC_SIGNAL, the others on RPC_RELIABLE. */
  e2e_concurrent_echo_calls(c->node, N_CALLS, "acme:echo:1.0.0", e2e_node_id(echo), 5);
  g_assert_cmpuint(client_connected(c, NULL, &disconnected), ==, 1);
  g_assert_cmpuint(disconnected, ==, 0);
  assert_no_websocket_fallback();

  client_free(c);
  g_clear_pointer(&echo, e2e_node_free);
  e2e_remove_tree(dir);
}

/* ---- a 100 MiB data stream --------------------------------------------------------------- */

#define STREAM_BYTES (100 * 1024 * 1024)

/* The SHA-256 of stream-send's generated bytes (see its header). */
static char *
generated_sha256(guint64 count)
{
  GChecksum *sha = g_checksum_new(G_CHECKSUM_SHA256);
  guint8 *buf = g_malloc(1 << 16);
  guint32 x = 1;
  char *hex;

  for (guint64 done = 0; done < count;) {
    gsize len = (gsize)MIN((guint64)(1 << 16), count - done);

    for (gsize i = 0; i < len; i++) {
      buf[i] = (guint8)(x >> 24);
      x = x * 1103515245u + 12345u;
    }
    g_checksum_update(sha, buf, len);
    done += len;
  }
  hex = g_strdup(g_checksum_get_string(sha));
  g_checksum_free(sha);
  g_free(buf);
  return hex;
}

/* `actr call` that must succeed; returns its stdout (transfer full). */
static char *
cli_call(const char *client, const char *target, const char *route, const char *data,
         guint timeout_ms)
{
  g_autofree char *timeout = g_strdup_printf("%u", timeout_ms);
  g_auto(E2eRun) run = {0};

  /* `actr call` wants a non-empty --data: an empty request has none. */
  if (data[0] == '\0')
    e2e_cli(&run, NULL, timeout_ms + 15000, "call", "--config", client, target, route, "--timeout",
            timeout, NULL);
  else
    e2e_cli(&run, NULL, timeout_ms + 15000, "call", "--config", client, target, route, "--data",
            data, "--timeout", timeout, NULL);
  e2e_assert_run_ok(&run);
  return g_strndup(e2e_run_out(&run), e2e_run_out_len(&run));
}

/* Polls stream.Receiver.Status until the end marker arrived; returns the
 * fields (transfer full). */
static GStrv
wait_stream_done(const char *client, E2eNode *recv, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

  for (;;) {
    g_autofree char *status =
        cli_call(client, e2e_node_id(recv), "stream.Receiver.Status", "", RUN_MS);
    GStrv fields = g_strsplit(status, " ", -1);

    g_assert_cmpuint(g_strv_length(fields), ==, 5);
    if (strcmp(fields[4], "yes") == 0)
      return fields;
    if (g_get_monotonic_time() > deadline)
      g_error("the receiver never saw the end of the stream: %s", status);
    g_strfreev(fields);
    g_usleep(200 * 1000);
  }
}

static void
test_stream_100mib(void)
{
  g_autoptr(E2eActrd) actrd = e2e_actrd_start(NULL);
  g_autofree char *dir = e2e_tmpdir_new();
  E2eNodeOptions recv_options = {.workload = "stream-recv"};
  E2eNodeOptions send_options = {.workload = "stream-send"};
  g_autoptr(E2eNode) recv = e2e_node_new("recv", dir, e2e_actrd_url(actrd), &recv_options);
  g_autoptr(E2eNode) send = e2e_node_new("send", dir, e2e_actrd_url(actrd), &send_options);
  g_autofree char *client = e2e_write_client_config(dir, "client", e2e_actrd_url(actrd));
  g_autofree char *expected = generated_sha256(STREAM_BYTES);
  g_autofree char *ok = NULL, *request = NULL, *reply = NULL;
  g_auto(GStrv) sent = NULL, got = NULL;
  gint64 start, elapsed;
  guint64 chunks;

  e2e_node_start(recv);
  e2e_node_start(send);
  ok = cli_call(client, e2e_node_id(recv), "stream.Receiver.Expect", "s100", RUN_MS);
  g_assert_cmpstr(ok, ==, "ok");

  request = g_strdup_printf("%s s100 %u", e2e_node_id(recv), STREAM_BYTES);
  start = g_get_monotonic_time();
  reply = cli_call(client, e2e_node_id(send), "stream.Sender.Send", request, 300000);
  got = wait_stream_done(client, recv, 120000);
  elapsed = g_get_monotonic_time() - start;
  sent = g_strsplit(reply, " ", -1);
  g_assert_cmpuint(g_strv_length(sent), ==, 3);
  chunks = g_ascii_strtoull(sent[2], NULL, 10);
  g_test_message("100 MiB stream: sender %s, receiver %s", reply, got[2]);
  g_test_message("100 MiB in %.2f s over WebRTC: %.1f MiB/s (%" G_GUINT64_FORMAT " chunks)",
                 elapsed / 1e6, 100.0 / (elapsed / 1e6), chunks);
  /* Three ways: what the sender sent, what the receiver got, and the
   * generator computed here. */
  g_assert_cmpstr(sent[0], ==, expected);
  g_assert_cmpstr(got[2], ==, expected);
  g_assert_cmpuint(g_ascii_strtoull(sent[1], NULL, 10), ==, STREAM_BYTES);
  g_assert_cmpuint(g_ascii_strtoull(got[0], NULL, 10), ==, STREAM_BYTES);
  g_assert_cmpuint(g_ascii_strtoull(got[1], NULL, 10), ==, chunks);
  g_assert_cmpuint(chunks, ==, (STREAM_BYTES + 60 * 1024 - 1) / (60 * 1024));
  g_assert_cmpstr(got[3], ==, "yes"); /* in order */
  /* The stream went sender → receiver over WebRTC. */
  g_free(assert_callee_connected(recv, e2e_node_id(send), "direct"));
  g_assert_cmpuint(e2e_node_log_count(send, "trying WebSocket"), ==, 0);

  /* A file → file stream (stream-send reads a path, stream-recv writes
   * one), 3 MiB + 7 bytes, byte-exact. */
  {
    g_autofree char *in = g_build_filename(dir, "in.bin", NULL);
    g_autofree char *out = g_build_filename(dir, "out.bin", NULL);
    g_autoptr(GBytes) data = random_bytes(3 * 1024 * 1024 + 7);
    g_autoptr(GError) error = NULL;
    g_autofree char *expect = g_strdup_printf("s-file %s", out);
    g_autofree char *req = g_strdup_printf("%s s-file %s", e2e_node_id(recv), in);
    g_autofree char *ok2 = NULL, *reply2 = NULL, *written = NULL;
    g_auto(GStrv) got2 = NULL;
    gsize written_len = 0;

    g_file_set_contents(in, g_bytes_get_data(data, NULL), g_bytes_get_size(data), &error);
    g_assert_no_error(error);
    ok2 = cli_call(client, e2e_node_id(recv), "stream.Receiver.Expect", expect, RUN_MS);
    g_assert_cmpstr(ok2, ==, "ok");
    reply2 = cli_call(client, e2e_node_id(send), "stream.Sender.Send", req, 120000);
    got2 = wait_stream_done(client, recv, 60000);
    g_assert_true(g_str_has_prefix(reply2, got2[2]));
    g_assert_cmpstr(got2[3], ==, "yes");
    g_file_get_contents(out, &written, &written_len, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(written_len, ==, g_bytes_get_size(data));
    g_assert_true(memcmp(written, g_bytes_get_data(data, NULL), written_len) == 0);
  }

  g_clear_pointer(&send, e2e_node_free);
  g_clear_pointer(&recv, e2e_node_free);
  e2e_remove_tree(dir);
}

/* ---- the callee restarts --------------------------------------------------------------- */

static void
test_peer_restart(void)
{
  g_autoptr(E2eActrd) actrd = e2e_actrd_start(NULL);
  g_autofree char *dir = e2e_tmpdir_new();
  E2eNodeOptions echo_options = {.workload = "echo"};
  g_autoptr(E2eNode) echo = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  g_autoptr(GBytes) hello = g_bytes_new_static("hello", 5);
  g_autofree char *old_id = NULL, *caller_id = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  ActrCallOptions options = {.timeout_ms = 15000};
  gint64 start, took;
  guint disconnected = 0;
  Client *c;

  proc_log_clear();
  e2e_node_start(echo);
  c = client_start(dir, "caller", e2e_actrd_url(actrd), "acme:caller:1.0.0", NULL);
  caller_id = actr_node_dup_id(c->node);
  e2e_call_echo(c->node, "acme:echo:1.0.0", hello, ACTR_NODE_LANE_RPC_RELIABLE, RUN_MS);
  g_free(assert_callee_connected(echo, caller_id, "direct"));
  g_assert_cmpuint(client_connected(c, NULL, NULL), ==, 1);
  old_id = g_strdup(e2e_node_id(echo));

  e2e_node_kill(echo);
  e2e_node_log_clear(echo);
  e2e_node_start(echo);
  g_test_message("callee restarted: %s -> %s", old_id, e2e_node_id(echo));

  /* The next call (by type, as a user would) works within seconds, on a
   * new connection: the caller does not keep sending into the dead one. */
  start = g_get_monotonic_time();
  reply = actr_node_call(c->node, "acme:echo:1.0.0", "echo.Echo.Echo", hello, &options, &error);
  took = g_get_monotonic_time() - start;
  g_test_message("first call after the restart: %.2f s, %s", took / 1e6,
                 error != NULL ? error->message : "ok");
  g_assert_no_error(error);
  g_assert_true(g_bytes_equal(reply, hello));
  /* A kill -9 sends nothing: the caller learns of it from the 3 s silence
   * detector (ACTR_PC_SILENCE_MS) and the presence check that follows,
   * then the call's retry (1 s, 2 s back-off) finds the new instance:
   * about 5 s.  Well below the call's timeout, and not the old link's. */
  g_assert_cmpint(took, <, 8 * G_USEC_PER_SEC);
  g_free(assert_callee_connected(echo, caller_id, "direct"));
  g_assert_cmpuint(client_connected(c, NULL, &disconnected), ==, 2);
  g_assert_cmpuint(disconnected, ==, 1);
  /* And by the new id, at once. */
  e2e_call_echo(c->node, e2e_node_id(echo), hello, ACTR_NODE_LANE_RPC_SIGNAL, 5000);
  assert_no_websocket_fallback();

  client_free(c);
  g_clear_pointer(&echo, e2e_node_free);
  e2e_remove_tree(dir);
}

/* ---- ICE restart after the path broke (network namespace + netem) ------------------------ */

#define NS_HOST_ADDR "10.77.0.1"
#define NS_PEER_ADDR "10.77.0.2"
#define LOSS_MS      4000

typedef struct {
  char *ns;        /* network namespace */
  char *veth_host; /* host end; the other end is veth_ns inside ns */
  char *veth_ns;
  GPid janitor; /* removes ns and veth when our end of its stdin closes */
  int janitor_fd;
} NetNs;

static gboolean
sh(const char *command, char **err_out)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;

  if (!g_spawn_command_line_sync(command, &out, &err, &status, &error)) {
    if (err_out != NULL)
      *err_out = g_strdup(error->message);
    return FALSE;
  }
  if (!g_spawn_check_wait_status(status, NULL)) {
    if (err_out != NULL)
      *err_out = g_strdup_printf("%s: %s", command, err);
    return FALSE;
  }
  return TRUE;
}

static void
must(const char *command)
{
  g_autofree char *err = NULL;

  if (!sh(command, &err))
    g_error("%s", err);
}

static void
janitor_setup(gpointer data)
{
  setsid(); /* outlives a test killed by its timeout */
}

/* Sets up NS with a veth pair (NS_HOST_ADDR/24 here, NS_PEER_ADDR/24 in
 * NS).  FALSE with @why when this machine does not allow it.  Whatever
 * happens to this process later (failed assertion, kill), the janitor
 * removes the namespace and the veth once our end of its pipe closes. */
static gboolean
netns_setup(NetNs *n, char **why)
{
  g_autofree char *ip = g_find_program_in_path("ip");
  g_autofree char *tc = g_find_program_in_path("tc");
  g_autofree char *script = NULL, *cmd = NULL;
  g_autoptr(GError) error = NULL;
  guint tag = (guint)getpid() % 100000;

  if (geteuid() != 0) {
    *why = g_strdup("network namespaces need root (run the tests as root)");
    return FALSE;
  }
  if (ip == NULL || tc == NULL) {
    *why = g_strdup("ip or tc (iproute2) is not installed");
    return FALSE;
  }
  n->ns = g_strdup_printf("actr-e2e-%u", tag);
  n->veth_host = g_strdup_printf("ae%uh", tag);
  n->veth_ns = g_strdup_printf("ae%un", tag);
  script = g_strdup_printf("cat >/dev/null; ip netns del %s 2>/dev/null; "
                           "ip link del %s 2>/dev/null; exit 0",
                           n->ns, n->veth_host);
  {
    const char *argv[] = {"/bin/sh", "-c", script, NULL};

    g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                             G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, janitor_setup,
                             NULL, &n->janitor, &n->janitor_fd, NULL, NULL, &error);
    g_assert_no_error(error);
  }
  cmd = g_strdup_printf("ip netns add %s", n->ns);
  if (!sh(cmd, why))
    return FALSE;
  g_free(cmd);
  cmd = g_strdup_printf("ip link add %s type veth peer name %s", n->veth_host, n->veth_ns);
  if (!sh(cmd, why))
    return FALSE;
  g_free(cmd);
  cmd = g_strdup_printf("ip link set %s netns %s", n->veth_ns, n->ns);
  must(cmd);
  g_free(cmd);
  cmd = g_strdup_printf("ip addr add " NS_HOST_ADDR "/24 dev %s", n->veth_host);
  must(cmd);
  g_free(cmd);
  cmd = g_strdup_printf("ip link set %s up", n->veth_host);
  must(cmd);
  g_free(cmd);
  cmd =
      g_strdup_printf("ip netns exec %s ip addr add " NS_PEER_ADDR "/24 dev %s", n->ns, n->veth_ns);
  must(cmd);
  g_free(cmd);
  cmd = g_strdup_printf("ip netns exec %s ip link set %s up", n->ns, n->veth_ns);
  must(cmd);
  g_free(cmd);
  cmd = g_strdup_printf("ip netns exec %s ip link set lo up", n->ns);
  must(cmd);
  return TRUE;
}

/* Removes the namespace now (the janitor does it) and waits for that. */
static void
netns_teardown(NetNs *n)
{
  int status = 0;

  if (n->janitor != 0) {
    close(n->janitor_fd);
    waitpid(n->janitor, &status, 0);
    g_spawn_close_pid(n->janitor);
    n->janitor = 0;
  }
  g_free(n->ns);
  g_free(n->veth_host);
  g_free(n->veth_ns);
}

/* 100 % loss both ways on the veth pair (TRUE) or none (FALSE): netem
 * when the kernel has it, else a token bucket whose bucket (10 bytes) is
 * smaller than any IP packet, which tbf drops (kernels without sch_netem,
 * such as this CI's). */
static void
netns_set_loss(NetNs *n, gboolean loss)
{
  const char *devs[2] = {n->veth_host, n->veth_ns};

  for (guint i = 0; i < 2; i++) {
    g_autofree char *prefix = i == 0 ? g_strdup("") : g_strdup_printf("ip netns exec %s ", n->ns);
    g_autofree char *netem =
        g_strdup_printf("%stc qdisc add dev %s root netem loss 100%%", prefix, devs[i]);
    g_autofree char *tbf = g_strdup_printf(
        "%stc qdisc add dev %s root tbf rate 1mbit burst 10 latency 1ms", prefix, devs[i]);
    g_autofree char *del = g_strdup_printf("%stc qdisc del dev %s root", prefix, devs[i]);

    if (!loss)
      must(del);
    else if (!sh(netem, NULL))
      must(tbf);
  }
}

/* actrd listening on NS_HOST_ADDR (the harness's actrd is bound to
 * 127.0.0.1, which the namespace cannot reach). */
typedef struct {
  GSubprocess *proc;
  char *data_dir;
  char *url;
} VethActrd;

static void
veth_actrd_start(VethActrd *a, const char *dir)
{
  g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *config = g_build_filename(dir, "actrd.toml", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  const char *prefix = "actrd listening on http://" NS_HOST_ADDR ":";

  a->data_dir = g_build_filename(dir, "actrd-data", NULL);
  g_file_set_contents(config,
                      "[ais]\n"
                      "rate_per_sec = 100000\n"
                      "burst = 100000\n"
                      "[signaling]\n"
                      "conn_max_per_ip = 100000\n"
                      "conn_rate_per_sec = 100000\n"
                      "conn_burst = 100000\n"
                      "msg_rate_per_sec = 100000\n"
                      "msg_burst = 100000\n",
                      -1, &error);
  g_assert_no_error(error);
  g_auto(GStrv) env = e2e_child_env();

  g_subprocess_launcher_set_environ(launcher, env);
  g_subprocess_launcher_set_child_setup(launcher, e2e_child_setup, NULL, NULL);
  a->proc = g_subprocess_launcher_spawn(launcher, &error, e2e_actrd_path(), "serve", "--dev",
                                        "--config", config, "--data-dir", a->data_dir, "--listen",
                                        NS_HOST_ADDR ":0", NULL);
  g_assert_no_error(error);
  out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(a->proc));
  line = g_data_input_stream_read_line(out, NULL, NULL, &error);
  g_assert_no_error(error);
  if (line == NULL || !g_str_has_prefix(line, prefix))
    g_error("actrd on " NS_HOST_ADDR " did not start (got \"%s\")", line ? line : "EOF");
  a->url = g_strdup_printf("http://%s", line + strlen("actrd listening on http://"));
  g_test_message("actrd: %s", a->url);
}

static void
veth_actrd_stop(VethActrd *a)
{
  g_autoptr(GError) error = NULL;

  if (a->proc == NULL)
    return;
  g_subprocess_send_signal(a->proc, SIGTERM);
  g_subprocess_wait(a->proc, NULL, &error);
  g_assert_no_error(error);
  g_assert_true(g_subprocess_get_if_exited(a->proc));
  g_assert_cmpint(g_subprocess_get_exit_status(a->proc), ==, 0);
  g_clear_object(&a->proc);
  g_free(a->data_dir);
  g_free(a->url);
}

static void
test_ice_restart(void)
{
  NetNs n = {0};
  g_autofree char *why = NULL;
  g_autofree char *dir = NULL, *body = NULL, *callee_toml = NULL;
  g_autoptr(GBytes) hello = g_bytes_new_static("hello", 5);
  E2eNodeOptions echo_options = {.workload = "echo"};
  VethActrd actrd = {0};
  E2eNode *echo;
  guint disconnected = 0;
  gint64 start;
  Client *c;

  if (!netns_setup(&n, &why)) {
    g_autofree char *msg = g_strdup_printf("no network namespace for this test: %s", why);

    netns_teardown(&n);
    g_test_skip(msg);
    return;
  }
  dir = e2e_tmpdir_new();
  veth_actrd_start(&actrd, dir);
  callee_toml = g_strdup_printf("[webrtc]\nhost_addresses = [\"" NS_PEER_ADDR "\"]\n");
  echo_options.netns = n.ns;
  echo_options.extra_toml = callee_toml;
  echo = e2e_node_new("echo-ns", dir, actrd.url, &echo_options);
  e2e_node_start(echo);

  proc_log_clear();
  body = g_strdup_printf("[webrtc]\nhost_addresses = [\"" NS_HOST_ADDR "\"]\n");
  c = client_start(dir, "caller", actrd.url, "acme:caller:1.0.0", body);
  g_free(first_call(c, echo, hello, "direct"));

  /* The path breaks for LOSS_MS (> the 3 s silence detector), then
   * comes back.  Signaling (TCP) survives by retransmission. */
  g_test_message("100%% loss on the veth pair for %d ms", LOSS_MS);
  netns_set_loss(&n, TRUE);
  g_usleep(LOSS_MS * 1000);
  netns_set_loss(&n, FALSE);

  /* One side (the offerer) restarts ICE and both see the path back. */
  start = g_get_monotonic_time();
  while (g_get_monotonic_time() - start < 15 * G_USEC_PER_SEC &&
         (proc_log_count("path restored to") == 0 ||
          e2e_node_log_count(echo, "path restored to") == 0))
    g_usleep(100 * 1000);
  g_test_message("caller: %u ICE restart(s), callee: %u", proc_log_count("webrtc: ICE restart "),
                 e2e_node_log_count(echo, "webrtc: ICE restart "));
  g_assert_cmpuint(proc_log_count("path to"), >=, 1); /* "path to X lost" */
  g_assert_cmpuint(e2e_node_log_count(echo, "path to"), >=, 1);
  g_assert_cmpuint(proc_log_count("webrtc: ICE restart ") +
                       e2e_node_log_count(echo, "webrtc: ICE restart "),
                   >=, 1);
  g_assert_cmpuint(proc_log_count("path restored to"), >=, 1);
  g_assert_cmpuint(e2e_node_log_count(echo, "path restored to"), >=, 1);

  /* Calls work on the same connection (no new one was set up). */
  e2e_call_echo(c->node, e2e_node_id(echo), hello, ACTR_NODE_LANE_RPC_RELIABLE, 10000);
  e2e_call_echo(c->node, e2e_node_id(echo), hello, ACTR_NODE_LANE_RPC_SIGNAL, 10000);
  g_assert_cmpuint(client_connected(c, NULL, &disconnected), ==, 1);
  g_assert_cmpuint(disconnected, ==, 0);
  g_assert_cmpuint(e2e_node_log_count(echo, "webrtc: connected to"), ==, 1);
  assert_no_websocket_fallback();

  client_free(c);
  e2e_node_free(echo);
  veth_actrd_stop(&actrd);
  netns_teardown(&n);
  e2e_remove_tree(dir);
}

/* ---- TURN relay only, through coturn ----------------------------------------------------- */

#define TURN_SECRET "actr-e2e-turn-secret"

static gboolean
udp_port_taken(gpointer data)
{
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(GPOINTER_TO_UINT(data))};
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  gboolean taken;

  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  taken = bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno == EADDRINUSE;
  close(fd);
  return taken;
}

static void
test_turn_relay(void)
{
  g_autofree char *turnserver = g_find_program_in_path("turnserver");
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(E2eActrd) actrd = NULL;
  g_autoptr(E2eNode) echo = NULL;
  g_autofree char *dir = NULL, *webrtc = NULL;
  g_autofree char *port_arg = NULL, *min_arg = NULL, *max_arg = NULL, *log_arg = NULL;
  g_autofree char *pid_arg = NULL;
  g_autoptr(GBytes) payload = random_bytes(200000);
  E2eNodeOptions echo_options = {.workload = "echo"};
  guint16 port, relay_base;
  guint relayed = 0;
  Client *c;

  if (turnserver == NULL) {
    g_test_skip("turnserver (coturn) is not installed");
    return;
  }
  dir = e2e_tmpdir_new();
  port = e2e_free_udp_port();
  relay_base = (guint16)(40000 + g_random_int_range(0, 20000));
  port_arg = g_strdup_printf("--listening-port=%u", port);
  min_arg = g_strdup_printf("--min-port=%u", relay_base);
  max_arg = g_strdup_printf("--max-port=%u", relay_base + 100);
  log_arg = g_strdup_printf("--log-file=%s/turn.log", dir);
  pid_arg = g_strdup_printf("--pidfile=%s/turn.pid", dir);
  launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                       G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup(launcher, e2e_child_setup, NULL, NULL);
  turn = g_subprocess_launcher_spawn(
      launcher, &error, turnserver, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
      port_arg, min_arg, max_arg, "--use-auth-secret", "--static-auth-secret", TURN_SECRET,
      "--realm=actrd.local", "--no-tls", "--no-dtls", "--no-tcp", "--no-tcp-relay",
      "--allow-loopback-peers", "--no-cli", "--no-stdout-log", "--simple-log", log_arg, pid_arg,
      "--fingerprint", NULL);
  g_assert_no_error(error);
  if (!e2e_wait_until(udp_port_taken, GUINT_TO_POINTER(port), 10000))
    g_error("coturn did not bind 127.0.0.1:%u within 10 s", port);

  actrd = e2e_actrd_start_full(NULL, "[turn]\n"
                                     "secret = \"" TURN_SECRET "\"\n"
                                     "realm = \"actrd.local\"\n");
  webrtc = g_strdup_printf("[webrtc]\n"
                           "turn_urls = [\"turn:127.0.0.1:%u\"]\n"
                           "force_relay = true\n",
                           port);
  echo_options.extra_toml = webrtc;
  echo = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  e2e_node_start(echo);
  proc_log_clear();
  c = client_start(dir, "caller", e2e_actrd_url(actrd), "acme:caller:1.0.0", webrtc);
  g_free(first_call(c, echo, payload, "relayed"));
  e2e_call_echo(c->node, e2e_node_id(echo), payload, ACTR_NODE_LANE_RPC_SIGNAL, RUN_MS);
  g_assert_cmpuint(client_connected(c, &relayed, NULL), ==, 1);
  g_assert_cmpuint(relayed, ==, 1);
  assert_no_websocket_fallback();

  client_free(c);
  g_clear_pointer(&echo, e2e_node_free);
  g_subprocess_send_signal(turn, SIGTERM);
  g_subprocess_wait(turn, NULL, NULL);
  g_clear_pointer(&actrd, e2e_actrd_free);
  e2e_remove_tree(dir);
}

/* ---- ACL deny over WebRTC ---------------------------------------------------------------- */

static void
test_acl_deny(void)
{
  g_autoptr(E2eActrd) actrd = e2e_actrd_start(NULL);
  g_autofree char *dir = e2e_tmpdir_new();
  /* actrd and the node read the same rules differently (wire.md §4.7 vs
   * §5.7): actrd keeps the last rule per type (ALLOW: it relays the
   * intruder's signaling, so a WebRTC connection comes up), the node
   * applies any DENY first (so the request itself is refused). */
  const char *acl = "[acl]\n"
                    "rules = [ { permission = \"DENY\", type = \"acme:intruder:1.0.0\", "
                    "realm = \"*\" }, { permission = \"ALLOW\", type = \"acme:intruder:1.0.0\", "
                    "realm = \"*\" }, { permission = \"ALLOW\", type = \"acme:friend:1.0.0\", "
                    "realm = \"*\" } ]\n";
  E2eNodeOptions echo_options = {.workload = "echo", .extra_toml = acl};
  g_autoptr(E2eNode) echo = e2e_node_new("guarded", dir, e2e_actrd_url(actrd), &echo_options);
  g_autoptr(GBytes) hello = g_bytes_new_static("let me in", 9);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autofree char *intruder_id = NULL, *friend_id = NULL;
  Client *intruder, *friend;

  proc_log_clear();
  e2e_node_start(echo);
  intruder = client_start(dir, "intruder", e2e_actrd_url(actrd), "acme:intruder:1.0.0", NULL);
  intruder_id = actr_node_dup_id(intruder->node);
  reply = actr_node_call(intruder->node, e2e_node_id(echo), "echo.Echo.Echo", hello, NULL, &error);
  g_assert_null(reply);
  g_assert_error(error, ACTR_ERROR, 10004);
  g_test_message("intruder: %s", error->message);
  /* The request and the denial went over WebRTC. */
  g_free(assert_callee_connected(echo, intruder_id, "direct"));
  g_assert_cmpuint(client_connected(intruder, NULL, NULL), ==, 1);

  /* A type no rule names: denied by the node (actrd --dev relays every
   * type), promptly. */
  {
    Client *stranger =
        client_start(dir, "stranger", e2e_actrd_url(actrd), "acme:stranger:1.0.0", NULL);
    g_autoptr(GError) denied = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(GBytes) none =
        actr_node_call(stranger->node, e2e_node_id(echo), "echo.Echo.Echo", hello, NULL, &denied);
    g_assert_null(none);
    g_assert_error(denied, ACTR_ERROR, 10004);
    g_test_message("stranger (%.2f s): %s", (g_get_monotonic_time() - t0) / 1e6, denied->message);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 3 * G_USEC_PER_SEC);
    client_free(stranger);
  }

  /* A type actrd's own ACL keeps away from the callee (a later DENY rule
   * beats --dev's allow-all): actrd refuses the RoleNegotiation with 403,
   * and the call by ActrId fails with 10004 at once instead of waiting out
   * the role and connection budgets. */
  {
    g_auto(ActrdRun) admin = {0};
    actrd_harness_admin(e2e_actrd_harness(actrd), &admin, "acl", "add", "--realm", "1", "--from",
                        "acme:banned:1.0.0", "--to", "acme:echo:1.0.0", "--deny", NULL);
    g_assert_cmpint(admin.exit_code, ==, 0);
    Client *banned = client_start(dir, "banned", e2e_actrd_url(actrd), "acme:banned:1.0.0", NULL);
    g_autoptr(GError) denied = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(GBytes) none =
        actr_node_call(banned->node, e2e_node_id(echo), "echo.Echo.Echo", hello, NULL, &denied);
    g_assert_null(none);
    g_assert_error(denied, ACTR_ERROR, 10004);
    g_assert_nonnull(strstr(denied->message, "actrd refused the connection (403"));
    g_test_message("banned (%.2f s): %s", (g_get_monotonic_time() - t0) / 1e6, denied->message);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 3 * G_USEC_PER_SEC);
    client_free(banned);
  }

  /* The allowed type gets through (so the denial was the ACL). */
  friend = client_start(dir, "friend", e2e_actrd_url(actrd), "acme:friend:1.0.0", NULL);
  friend_id = actr_node_dup_id(friend->node);
  e2e_call_echo(friend->node, e2e_node_id(echo), hello, ACTR_NODE_LANE_RPC_SIGNAL, RUN_MS);
  g_free(assert_callee_connected(echo, friend_id, "direct"));
  assert_no_websocket_fallback();

  client_free(friend);
  client_free(intruder);
  g_clear_pointer(&echo, e2e_node_free);
  e2e_remove_tree(dir);
}

/* ---- garbage on the ICE ports ------------------------------------------------------------- */

static void
put16(guint8 *p, guint v)
{
  p[0] = (guint8)(v >> 8);
  p[1] = (guint8)v;
}

/* One hostile datagram of kind @k into @buf; returns its length. */
static gsize
garbage(guint k, guint8 *buf, gsize cap)
{
  gsize len;

  switch (k % 8) {
  case 0: /* random bytes, random length (0 .. 1500) */
    len = g_random_int_range(0, 1501);
    for (gsize i = 0; i < len; i++)
      buf[i] = (guint8)g_random_int();
    return len;
  case 1: /* a DTLS record header whose length runs past the datagram */
    len = g_random_int_range(1, 40);
    for (gsize i = 0; i < len; i++)
      buf[i] = (guint8)g_random_int();
    buf[0] = (guint8)g_random_int_range(20, 26); /* content type 20..25 */
    if (len > 2) {
      buf[1] = 0xfe;
      buf[2] = 0xfd;
    }
    if (len > 12)
      put16(buf + 11, 0xffff);
    return len;
  case 2: { /* a DTLS ClientHello cut short inside the handshake header */
    static const guint8 hello[] = {0x16, 0xfe, 0xff, 0,    0,    0,    0,    0,    0,
                                   0,    0,    0,    0x40, 0x01, 0x00, 0x01, 0xff, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xfe, 0xfd};
    len = g_random_int_range(1, sizeof hello + 1);
    memcpy(buf, hello, len);
    return len;
  }
  case 3: /* application_data / alert records with bogus epochs */
    len = 13 + g_random_int_range(0, 200);
    for (gsize i = 0; i < len; i++)
      buf[i] = (guint8)g_random_int();
    buf[0] = g_random_boolean() ? 23 : 21;
    buf[1] = 0xfe;
    buf[2] = 0xfd;
    put16(buf + 11, (guint)(len - 13));
    return len;
  case 4: /* a STUN header with a length beyond the datagram */
    len = 20 + g_random_int_range(0, 16);
    for (gsize i = 0; i < len; i++)
      buf[i] = (guint8)g_random_int();
    put16(buf, 0x0001);
    put16(buf + 2, 0xfffc);
    buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
    return len;
  case 5: { /* a STUN binding request with attributes whose lengths overflow */
    gsize n = 0;

    put16(buf, 0x0001);
    buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
    for (int i = 8; i < 20; i++)
      buf[i] = (guint8)g_random_int();
    n = 20;
    put16(buf + n, 0x0006); /* USERNAME */
    put16(buf + n + 2, 0x0200);
    memcpy(buf + n + 4, "abcd:efgh", 9);
    n += 16;
    put16(buf + n, 0x0008); /* MESSAGE-INTEGRITY, short */
    put16(buf + n + 2, 20);
    n += 4 + 7;
    put16(buf + 2, (guint)(n - 20));
    return n;
  }
  case 6: { /* a STUN success response nobody asked for, and an error response */
    put16(buf, g_random_boolean() ? 0x0101 : 0x0111);
    put16(buf + 2, 12);
    buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
    for (int i = 8; i < 20; i++)
      buf[i] = (guint8)g_random_int();
    put16(buf + 20, 0x0020); /* XOR-MAPPED-ADDRESS with a bad family */
    put16(buf + 22, 8);
    for (int i = 24; i < 32; i++)
      buf[i] = (guint8)g_random_int();
    return 32;
  }
  default: /* RTP/RTCP-looking bytes (the demux's other range) */
    len = g_random_int_range(1, 300);
    for (gsize i = 0; i < len; i++)
      buf[i] = (guint8)g_random_int();
    buf[0] = (guint8)(0x80 | (buf[0] & 0x3f));
    return MIN(len, cap);
  }
}

static void
blast(guint16 port, guint count)
{
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  guint8 buf[1600];

  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  g_assert_cmpint(fd, >=, 0);
  for (guint i = 0; i < count; i++) {
    gsize len = garbage(i, buf, sizeof buf);

    sendto(fd, buf, len, 0, (struct sockaddr *)&addr, sizeof addr);
    if (i % 200 == 199)
      g_usleep(2000); /* let the receiver drain, so that most datagrams arrive */
  }
  close(fd);
}

static void
test_udp_garbage(void)
{
  g_autoptr(E2eActrd) actrd = e2e_actrd_start(NULL);
  g_autofree char *dir = e2e_tmpdir_new();
  E2eNodeOptions echo_options = {.workload = "echo", .extra_toml = webrtc_loopback_toml()};
  g_autoptr(E2eNode) echo = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  g_autoptr(GBytes) payload = random_bytes(100000);
  g_autoptr(GArray) callee_ports = NULL, caller_ports = NULL;
  guint disconnected = 0;
  Client *c;

  proc_log_clear();
  e2e_node_start(echo);
  c = client_start(dir, "caller", e2e_actrd_url(actrd), "acme:caller:1.0.0",
                   webrtc_loopback_toml());
  g_free(first_call(c, echo, payload, "direct"));
  callee_ports = udp_ports_of(e2e_node_pid(echo));
  caller_ports = udp_ports_of(getpid());
  g_assert_cmpuint(callee_ports->len, >=, 1);
  g_assert_cmpuint(caller_ports->len, >=, 1);
  g_test_message("UDP ports on 127.0.0.1: callee %u (first %u), caller (this process) %u",
                 callee_ports->len, g_array_index(callee_ports, guint16, 0), caller_ports->len);

  for (guint round = 0; round < 5; round++) {
    for (guint i = 0; i < callee_ports->len; i++)
      blast(g_array_index(callee_ports, guint16, i), 4000);
    for (guint i = 0; i < caller_ports->len; i++)
      blast(g_array_index(caller_ports, guint16, i), 1000);
    g_assert_true(e2e_node_is_alive(echo));
    /* Calls keep working between (and right after) the rounds. */
    e2e_call_echo(c->node, e2e_node_id(echo), payload, round % 2, RUN_MS);
  }
  g_assert_true(e2e_node_is_alive(echo));
  /* The connection itself survived: no new connection, no disconnect. */
  g_assert_cmpuint(client_connected(c, NULL, &disconnected), ==, 1);
  g_assert_cmpuint(disconnected, ==, 0);
  g_assert_cmpuint(e2e_node_log_count(echo, "webrtc: connected to"), ==, 1);
  assert_no_websocket_fallback();

  client_free(c);
  g_clear_pointer(&echo, e2e_node_free); /* and it shuts down cleanly */
  e2e_remove_tree(dir);
}

/* ---- tshark --------------------------------------------------------------------------------- */

typedef struct {
  GMutex lock;
  GString *text;
  gboolean capturing;
} TsharkErr;

static gboolean
tshark_capturing(gpointer data)
{
  TsharkErr *t = data;
  gboolean yes;

  g_mutex_lock(&t->lock);
  yes = t->capturing;
  g_mutex_unlock(&t->lock);
  return yes;
}

static gpointer
tshark_err_reader(gpointer data)
{
  GInputStream *in = g_object_get_data(data, "in");
  TsharkErr *t = g_object_get_data(data, "t");
  g_autoptr(GDataInputStream) lines = g_data_input_stream_new(in);
  char *line;

  while ((line = g_data_input_stream_read_line(lines, NULL, NULL, NULL)) != NULL) {
    g_mutex_lock(&t->lock);
    g_string_append_printf(t->text, "%s\n", line);
    if (strstr(line, "Capturing on") != NULL)
      t->capturing = TRUE;
    g_mutex_unlock(&t->lock);
    g_free(line);
  }
  return NULL;
}

/* Adds the comma-separated values of @field to @set. */
static void
add_values(GHashTable *set, const char *field)
{
  g_auto(GStrv) values = g_strsplit(field, ",", -1);

  for (guint i = 0; values[i] != NULL; i++) {
    if (values[i][0] != '\0')
      g_hash_table_add(set, g_strdup(g_strstrip(values[i])));
  }
}

static void
test_tshark(void)
{
  g_autofree char *tshark = g_find_program_in_path("tshark");
  g_autoptr(E2eActrd) actrd = NULL;
  g_autoptr(E2eNode) echo = NULL;
  g_autoptr(GSubprocess) capture = NULL, decode = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) holder = NULL;
  g_autoptr(GHashTable) versions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) types = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) handshakes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *dir = NULL, *pcap = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GArray) callee_ports = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
  g_auto(GStrv) rows = NULL;
  g_autoptr(GBytes) payload = random_bytes(300000);
  E2eNodeOptions echo_options = {.workload = "echo", .extra_toml = webrtc_loopback_toml()};
  TsharkErr t = {.text = g_string_new(NULL)};
  GThread *reader;
  Client *c;

  if (tshark == NULL) {
    g_test_skip("tshark is not installed");
    return;
  }
  if (geteuid() != 0) {
    g_test_skip("capturing on lo needs root");
    return;
  }
  g_mutex_init(&t.lock);
  dir = e2e_tmpdir_new();
  pcap = g_build_filename(dir, "lo.pcapng", NULL);
  actrd = e2e_actrd_start(NULL);
  echo = e2e_node_new("echo", dir, e2e_actrd_url(actrd), &echo_options);
  e2e_node_start(echo);

  /* Capture before the caller exists, so that the handshake is in it. */
  launcher =
      g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup(launcher, e2e_child_setup, NULL, NULL);
  capture = g_subprocess_launcher_spawn(launcher, &error, tshark, "-i", "lo", "-f", "udp", "-w",
                                        pcap, NULL);
  g_assert_no_error(error);
  holder = g_object_new(G_TYPE_OBJECT, NULL);
  g_object_set_data(holder, "in", g_subprocess_get_stderr_pipe(capture));
  g_object_set_data(holder, "t", &t);
  reader = g_thread_new("tshark-err", tshark_err_reader, holder);
  if (!e2e_wait_until(tshark_capturing, &t, 20000))
    g_error("tshark did not start capturing within 20 s: %s", t.text->str);
  g_usleep(500 * 1000);

  c = client_start(dir, "caller", e2e_actrd_url(actrd), "acme:caller:1.0.0",
                   webrtc_loopback_toml());
  g_free(first_call(c, echo, payload, "direct"));
  callee_ports = udp_ports_of(e2e_node_pid(echo));
  g_assert_cmpuint(callee_ports->len, >=, 1);
  g_usleep(1000 * 1000); /* let the capture catch up */
  g_subprocess_send_signal(capture, SIGINT);
  g_subprocess_wait(capture, NULL, &error);
  g_assert_no_error(error);
  g_thread_join(reader);
  g_test_message("tshark capture: %s", t.text->str);

  /* Everything on the callee's ICE ports decoded as DTLS. */
  g_ptr_array_add(argv, g_strdup(tshark));
  g_ptr_array_add(argv, g_strdup("-r"));
  g_ptr_array_add(argv, g_strdup(pcap));
  for (guint i = 0; i < callee_ports->len; i++) {
    g_ptr_array_add(argv, g_strdup("-d"));
    g_ptr_array_add(argv,
                    g_strdup_printf("udp.port==%u,dtls", g_array_index(callee_ports, guint16, i)));
  }
  for (const char *const *a =
           (const char *const[]){"-Y", "dtls", "-T", "fields", "-E", "separator=/t", "-e",
                                 "dtls.record.version", "-e", "dtls.record.content_type", "-e",
                                 "dtls.handshake.type", NULL};
       *a != NULL; a++)
    g_ptr_array_add(argv, g_strdup(*a));
  g_ptr_array_add(argv, NULL);
  decode =
      g_subprocess_newv((const char *const *)argv->pdata,
                        G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_assert_no_error(error);
  g_subprocess_communicate_utf8(decode, NULL, NULL, &out, NULL, &error);
  g_assert_no_error(error);
  rows = g_strsplit(out, "\n", -1);
  for (guint i = 0; rows[i] != NULL; i++) {
    g_auto(GStrv) cols = g_strsplit(rows[i], "\t", 3);

    if (cols[0] == NULL)
      continue;
    add_values(versions, cols[0]);
    if (cols[1] != NULL)
      add_values(types, cols[1]);
    if (cols[1] != NULL && cols[2] != NULL)
      add_values(handshakes, cols[2]);
  }
  g_test_message("%u DTLS packets on the callee's %u port(s)", g_strv_length(rows) - 1,
                 callee_ports->len);
  /* DTLS 1.2 records (a ClientHello may say 1.0, 0xfeff, as OpenSSL does). */
  g_assert_true(g_hash_table_contains(versions, "0xfefd"));
  g_assert_true(g_hash_table_contains(types, "22"));     /* handshake */
  g_assert_true(g_hash_table_contains(types, "20"));     /* change_cipher_spec */
  g_assert_true(g_hash_table_contains(types, "23"));     /* application_data: SCTP inside */
  g_assert_true(g_hash_table_contains(handshakes, "1")); /* ClientHello */
  g_assert_true(g_hash_table_contains(handshakes, "2")); /* ServerHello */
  /* SCTP DATA chunks are inside the encrypted application_data: tshark
   * cannot show them without the DTLS keys, which the node never exports. */

  client_free(c);
  g_clear_pointer(&echo, e2e_node_free);
  g_string_free(t.text, TRUE);
  g_mutex_clear(&t.lock);
  e2e_remove_tree(dir);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  e2e_quiet_debug_logs();
  proc_log = g_ptr_array_new_with_free_func(g_free);
  chained_log_handler = g_log_set_default_handler(capture_log_handler, NULL);
  g_test_add_func("/e2e/webrtc/lanes-and-sizes", test_lanes_and_sizes);
  g_test_add_func("/e2e/webrtc/1000-concurrent-calls", test_concurrent_calls);
  g_test_add_func("/e2e/webrtc/stream-100mib", test_stream_100mib);
  g_test_add_func("/e2e/webrtc/peer-restart", test_peer_restart);
  g_test_add_func("/e2e/webrtc/ice-restart", test_ice_restart);
  g_test_add_func("/e2e/webrtc/turn-relay", test_turn_relay);
  g_test_add_func("/e2e/webrtc/acl-deny", test_acl_deny);
  g_test_add_func("/e2e/webrtc/udp-garbage", test_udp_garbage);
  g_test_add_func("/e2e/webrtc/tshark", test_tshark);
  return g_test_run();
}
