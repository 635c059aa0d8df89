/* End-to-end test helpers for nodes built in the test process with the
 * library API (include/actr/node.h), shared by test-e2e-library.c and
 * test-e2e-webrtc.c:
 *
 *   ActrConfig *config = NULL;
 *   E2eEvents ev;
 *   e2e_events_init(&ev);
 *   ActrNodeOptions o = {.actr_type = "acme:caller:1.0.0",
 *                        .on_event = e2e_events_record, .user_data = &ev};
 *   ActrNode *node = e2e_library_node_start(config_path, &o, &config);
 *   e2e_call_echo(node, "acme:echo:1.0.0", payload, ACTR_NODE_LANE_RPC_RELIABLE, 0);
 *   e2e_concurrent_echo_calls(node, 1000, "acme:echo:1.0.0", echo_id, 0);
 *   actr_node_free(node);
 *   actr_config_free(config);
 *   e2e_events_clear(&ev);
 *
 * Linking this file also sets ASan's default options for the test (see
 * library-node.c).
 *
 * Thread: the test's main thread, except e2e_events_record(), which the
 * node calls on its I/O thread. */
#ifndef E2E_LIBRARY_NODE_H
#define E2E_LIBRARY_NODE_H

#include <glib.h>
#include <actr/config.h>
#include <actr/node.h>

G_BEGIN_DECLS

/* Loads @config_path, builds the node with @options and starts it
 * (g_error when a step fails).  The config goes to *@config_out; free it
 * after the node (transfer full, both). */
ActrNode *e2e_library_node_start(const char *config_path, const ActrNodeOptions *options,
                                 ActrConfig **config_out);

/* One blocking echo.Echo.Echo call of @payload to @target (a type or an
 * ActrId) on @lane that must succeed with a byte-equal reply (g_error
 * otherwise); @timeout_ms 0 is the default (30 s).  Logs the lane, size
 * and time with g_test_message(). */
void e2e_call_echo(ActrNode *node, const char *target, GBytes *payload, ActrNodeLane lane,
                   gint64 timeout_ms);

/* @n actr_node_call_async() echo calls in flight at once on a private
 * thread-default context, with distinct payloads of up to ~8 KiB: even
 * ones to @type, odd ones to @id; every @signal_every-th one on
 * RPC_SIGNAL (0: all on RPC_RELIABLE).  Asserts that every reply came back
 * within 120 s, exactly once, equal to its request. */
void e2e_concurrent_echo_calls(ActrNode *node, guint n, const char *type, const char *id,
                               guint signal_every);

/* ---- Node events ------------------------------------------------------------------------ */

#define E2E_NODE_EVENTS (ACTR_NODE_EVENT_WEBRTC_DISCONNECTED + 1)

/* What a node reported, per ActrNodeEvent, under a lock (events arrive on
 * the node's I/O thread). */
typedef struct {
  GMutex lock;
  guint count[E2E_NODE_EVENTS];
  guint with_value[E2E_NODE_EVENTS]; /* of those, events with a non-zero value */
  char *last_detail[E2E_NODE_EVENTS];
} E2eEvents;

void e2e_events_init(E2eEvents *ev);
void e2e_events_clear(E2eEvents *ev);

/* An ActrNodeEventFunc; @data is the E2eEvents. */
void e2e_events_record(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value,
                       gpointer data);

/* How many @event were reported, and how many of them had a non-zero
 * value (e.g. WEBRTC_CONNECTED relayed through TURN). */
guint e2e_events_count(E2eEvents *ev, ActrNodeEvent event);
guint e2e_events_count_with_value(E2eEvents *ev, ActrNodeEvent event);

/* The detail of the last @event, or NULL (transfer full). */
char *e2e_events_dup_last_detail(E2eEvents *ev, ActrNodeEvent event);

G_END_DECLS

#endif /* E2E_LIBRARY_NODE_H */
