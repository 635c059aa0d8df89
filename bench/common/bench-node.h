/* actr benchmarks — the node rig shared by bench-rpc and bench-webrtc:
 * the real actrd (`actrd serve --dev --listen 127.0.0.1:0`, rate limits
 * raised so that the single client IP is never throttled), a callee node in
 * its own process (`actr run --config callee.toml --workload libecho.so`,
 * [websocket] listen_port = 0, its store in the benchmark's directory) and
 * a client node in this process, built with the public API
 * (include/actr/node.h).  Both nodes get `[webrtc] enabled = true` with
 * host_addresses = ["127.0.0.1"], or `enabled = false` (WebSocket
 * direct-connect only), from BenchRigOptions.webrtc.
 *
 * Calls: acme:echo:1.0.0 route echo.Echo.Echo; each reply is compared with
 * the payload.  Sequential calls with actr_node_call(); calls in flight
 * with actr_node_call_async() driven by a GMainLoop on this thread.
 *
 * Thread: the benchmark's main thread (the default GMainContext). */
#ifndef ACTR_BENCH_NODE_H
#define ACTR_BENCH_NODE_H

#include <actr/config.h>
#include <actr/node.h>

#include "bench-child.h"

G_BEGIN_DECLS

#define BENCH_ECHO_TYPE       "acme:echo:1.0.0"
#define BENCH_ECHO_ROUTE      "echo.Echo.Echo"
#define BENCH_REALM           1
#define BENCH_ACTRD_READY     "actrd listening on http://"
#define BENCH_CALLEE_READY    "actr ready "
#define BENCH_CALL_TIMEOUT_MS 10000

typedef struct {
  const char *actrd, *actr, *workload; /* the binaries and libecho.so */
  const char *client_type;             /* the client node's actor type */
  gboolean webrtc;                     /* [webrtc] enabled in both nodes */
  ActrNodeEventFunc on_event;          /* the client node's events (nullable) */
  gpointer user_data;
} BenchRigOptions;

typedef struct {
  BenchChild *actrd, *callee;
  char *host_port; /* actrd's HOST:PORT */
  char *callee_id; /* from its ready line */
  ActrConfig *config;
  ActrNode *node;
  GBytes *payload;
} BenchRig;

/* @s as a TOML basic string, quotes included (transfer full). */
char *bench_toml_quote(const char *s);

/* The payload of every echo call: @size bytes of printable text (transfer
 * full). */
GBytes *bench_echo_payload(gsize size);

/* TRUE when the rig's binaries exist (actrd and actr executable, the
 * workload present); otherwise says which are missing and how to name
 * them. */
gboolean bench_rig_binaries_ok(const char *actrd, const char *actr, const char *workload);

/* Starts actrd, the callee node and the client node, their files in @dir.
 * FALSE (reason printed) on failure; bench_rig_clear() in both cases. */
gboolean bench_rig_init(BenchRig *rig, const char *dir, GBytes *payload,
                        const BenchRigOptions *opts);

/* Stops the client node, the callee and actrd.  Idempotent. */
void bench_rig_clear(BenchRig *rig);

/* Failed calls and wrong replies of one phase. */
typedef struct {
  guint64 errors;
  char *first;
} BenchErrors;

/* Sequential: @n blocking calls, latencies (us) in @samples (nullable: a
 * warm-up).  FALSE when more than 20 failed or on an abort. */
gboolean bench_rig_sequential(BenchRig *rig, guint n, GArray *samples, BenchErrors *e,
                              const char *label);

typedef struct {
  gboolean ok;
  double seconds;
  guint64 calls; /* correct replies by the deadline */
  guint64 errors;
  char *first_error;
  double cpu_self, cpu_callee, cpu_actrd; /* CPU seconds during the phase */
} BenchFloodResult;

/* @inflight calls in flight: @count calls (count mode, a warm-up), or for
 * @seconds (timed mode).  Latencies (us) go to @samples (nullable).  FALSE
 * when calls were left unanswered 30 s after the end or too many failed. */
gboolean bench_rig_flood(BenchRig *rig, guint inflight, guint64 count, double seconds,
                         GArray *samples, BenchFloodResult *res);

G_END_DECLS

#endif /* ACTR_BENCH_NODE_H */
