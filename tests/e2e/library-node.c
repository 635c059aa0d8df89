/* End-to-end test helpers for in-process library nodes.  See
 * library-node.h. */
#include "library-node.h"

#include <string.h>

#define CONCURRENT_TIMEOUT_US (120 * G_USEC_PER_SEC)

/* The in-process node runs a libsoup WebSocket server: full allocation
 * stacks let tests/lsan.supp match libsoup 3.2's known g_socket_accept leak
 * (frames below GLib need the slow unwinder).  Unused without ASan.  It
 * lives here so that every test that builds a node in-process (and so
 * links this object) gets it. */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
  return "fast_unwind_on_malloc=0";
}

ActrNode *
e2e_library_node_start(const char *config_path, const ActrNodeOptions *options,
                       ActrConfig **config_out)
{
  g_autoptr(GError) error = NULL;
  ActrConfig *config = actr_config_load_file(config_path, &error);
  ActrNode *node;

  g_assert_no_error(error);
  node = actr_node_new(config, options, &error);
  g_assert_no_error(error);
  if (!actr_node_start(node, &error))
    g_error("the in-process node of %s did not start: %s", config_path, error->message);
  *config_out = config;
  return node;
}

void
e2e_call_echo(ActrNode *node, const char *target, GBytes *payload, ActrNodeLane lane,
              gint64 timeout_ms)
{
  g_autoptr(GError) error = NULL;
  ActrCallOptions options = {.timeout_ms = timeout_ms, .lane = lane};
  gint64 start = g_get_monotonic_time();
  g_autoptr(GBytes) reply =
      actr_node_call(node, target, "echo.Echo.Echo", payload, &options, &error);

  if (error != NULL)
    g_error("call of %" G_GSIZE_FORMAT " bytes on lane %d to %s failed: %s (%d)",
            g_bytes_get_size(payload), lane, target, error->message, error->code);
  g_assert_nonnull(reply);
  if (!g_bytes_equal(reply, payload))
    g_error("call of %" G_GSIZE_FORMAT " bytes on lane %d: reply of %" G_GSIZE_FORMAT
            " bytes differs",
            g_bytes_get_size(payload), lane, g_bytes_get_size(reply));
  g_test_message("lane %s, %8" G_GSIZE_FORMAT " bytes: %.1f ms",
                 lane == ACTR_NODE_LANE_RPC_SIGNAL ? "RPC_SIGNAL  " : "RPC_RELIABLE",
                 g_bytes_get_size(payload), (g_get_monotonic_time() - start) / 1000.0);
}

/* ---- calls in flight ---------------------------------------------------------------------- */

typedef struct {
  ActrNode *node;
  GBytes *payload;
  GBytes *reply;
  GError *error;
  gboolean done;
  guint *n_done;
} Slot;

static void
slot_done(GObject *source, GAsyncResult *result, gpointer data)
{
  Slot *slot = data;

  g_assert_false(slot->done); /* exactly once */
  slot->reply = actr_node_call_finish(slot->node, result, &slot->error);
  slot->done = TRUE;
  (*slot->n_done)++;
}

void
e2e_concurrent_echo_calls(ActrNode *node, guint n, const char *type, const char *id,
                          guint signal_every)
{
  ActrCallOptions call_options = {.timeout_ms = 60000};
  GMainContext *ctx = g_main_context_new();
  Slot *slots = g_new0(Slot, n);
  guint n_done = 0, n_failed = 0;
  gint64 start, deadline;

  g_main_context_push_thread_default(ctx);
  start = g_get_monotonic_time();
  for (guint i = 0; i < n; i++) {
    /* Distinct payloads of different sizes (up to ~8 KiB). */
    GString *text = g_string_new(NULL);

    g_string_printf(text, "call %u of %u:", i, n);
    for (guint k = 0; k < (i % 16) * 64; k++)
      g_string_append_printf(text, "%08x", g_random_int());
    slots[i].payload = g_string_free_to_bytes(text);
    slots[i].n_done = &n_done;
    slots[i].node = node;
    call_options.lane = signal_every != 0 && i % signal_every == 0 ? ACTR_NODE_LANE_RPC_SIGNAL
                                                                   : ACTR_NODE_LANE_RPC_RELIABLE;
    actr_node_call_async(node, i % 2 == 0 ? type : id, "echo.Echo.Echo", slots[i].payload,
                         &call_options, NULL, slot_done, &slots[i]);
  }
  g_assert_cmpuint(n_done, ==, 0); /* never called back from inside call_async */
  deadline = start + CONCURRENT_TIMEOUT_US;
  while (n_done < n && g_get_monotonic_time() < deadline) {
    if (!g_main_context_iteration(ctx, FALSE))
      g_usleep(1000);
  }
  g_test_message("%u of %u replies in %.2f s", n_done, n, (g_get_monotonic_time() - start) / 1e6);
  g_assert_cmpuint(n_done, ==, n);

  for (guint i = 0; i < n; i++) {
    if (slots[i].error != NULL) {
      if (n_failed++ < 10)
        g_printerr("call %u failed: %s (%s %d)\n", i, slots[i].error->message,
                   g_quark_to_string(slots[i].error->domain), slots[i].error->code);
    } else if (!g_bytes_equal(slots[i].reply, slots[i].payload)) {
      g_error("call %u got a wrong reply (%" G_GSIZE_FORMAT " bytes for %" G_GSIZE_FORMAT ")", i,
              g_bytes_get_size(slots[i].reply), g_bytes_get_size(slots[i].payload));
    }
  }
  g_assert_cmpuint(n_failed, ==, 0);

  for (guint i = 0; i < n; i++) {
    g_bytes_unref(slots[i].payload);
    g_clear_pointer(&slots[i].reply, g_bytes_unref);
    g_clear_error(&slots[i].error);
  }
  g_free(slots);
  g_main_context_pop_thread_default(ctx);
  g_main_context_unref(ctx);
}

/* ---- node events -------------------------------------------------------------------------- */

void
e2e_events_init(E2eEvents *ev)
{
  memset(ev, 0, sizeof *ev);
  g_mutex_init(&ev->lock);
}

void
e2e_events_clear(E2eEvents *ev)
{
  for (guint i = 0; i < E2E_NODE_EVENTS; i++)
    g_clear_pointer(&ev->last_detail[i], g_free);
  g_mutex_clear(&ev->lock);
}

void
e2e_events_record(ActrNode *node, ActrNodeEvent event, const char *detail, guint64 value,
                  gpointer data)
{
  E2eEvents *ev = data;

  if ((guint)event >= E2E_NODE_EVENTS)
    return;
  g_mutex_lock(&ev->lock);
  ev->count[event]++;
  ev->with_value[event] += value != 0;
  g_free(ev->last_detail[event]);
  ev->last_detail[event] = g_strdup(detail);
  g_mutex_unlock(&ev->lock);
}

/* One of @ev's counters, read under its lock. */
static guint
events_get(E2eEvents *ev, const guint *counter)
{
  guint n;

  g_mutex_lock(&ev->lock);
  n = *counter;
  g_mutex_unlock(&ev->lock);
  return n;
}

guint
e2e_events_count(E2eEvents *ev, ActrNodeEvent event)
{
  return events_get(ev, &ev->count[event]);
}

guint
e2e_events_count_with_value(E2eEvents *ev, ActrNodeEvent event)
{
  return events_get(ev, &ev->with_value[event]);
}

char *
e2e_events_dup_last_detail(E2eEvents *ev, ActrNodeEvent event)
{
  char *detail;

  g_mutex_lock(&ev->lock);
  detail = g_strdup(ev->last_detail[event]);
  g_mutex_unlock(&ev->lock);
  return detail;
}
