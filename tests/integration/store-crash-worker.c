/* Worker for test-store-crash: enqueues and processes messages under load
 * until it is killed.  It appends one line per completed step to LOG
 * (unbuffered O_APPEND writes, so a SIGKILL never loses a written line):
 *   E <rid>   enqueue of <rid> returned (accepted or duplicate), or its async
 *             completion ran
 *   D <rid>   <rid> was handed out by dequeue
 *   A <rid>   ack of <rid> (with response "resp-<rid>") returned
 * Usage: store-crash-worker DB LOG BASE normal|full */
#include <actr/store.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_fd = -1;

static void
log_line(char kind, const char *rid)
{
  char line[128];
  int n = g_snprintf(line, sizeof line, "%c %s\n", kind, rid);
  if (write(log_fd, line, (size_t)n) != n)
    _exit(3);
}

typedef struct {
  ActrStore *store;
  guint64 base;
  gboolean uuid_ids; /* canonical UUIDs (stored packed) instead of "r<N>" text ids */
  guint64 next;
  guint in_flight;
} Producer;

static void
format_request_id(Producer *p, guint64 i, char *rid, gsize len)
{
  if (p->uuid_ids)
    g_snprintf(rid, len, "%08x-0000-4000-8000-%012" G_GINT64_MODIFIER "x", (guint32)(p->base >> 20),
               p->base + i);
  else
    g_snprintf(rid, len, "r%" G_GUINT64_FORMAT, p->base + i);
}

/* Async producer: an event loop keeping 32 enqueues in flight; a line is
 * logged only from the completion callback, i.e. once the message is
 * durable. */
static void async_submit(Producer *p);

static void
async_done(ActrStore *store, const ActrEnqueueResult *result, const GError *error, gpointer data)
{
  char *rid = data;
  if (error) {
    fprintf(stderr, "worker: async enqueue: %s\n", error->message);
    _exit(4);
  }
  log_line('E', rid);
  g_free(rid);
}

static gboolean
async_refill(gpointer data)
{
  Producer *p = data;
  async_submit(p);
  return G_SOURCE_CONTINUE;
}

static void
async_submit(Producer *p)
{
  for (guint k = 0; k < 32; k++) {
    char rid[64];
    format_request_id(p, p->next++, rid, sizeof rid);
    g_autoptr(GBytes) envelope = g_bytes_new(rid, strlen(rid));
    ActrInboundMessage msg = {.request_id = rid, .envelope = envelope};
    actr_store_enqueue_async(p->store, &msg, NULL, async_done, g_strdup(rid));
  }
}

static gpointer
produce_async(gpointer data)
{
  Producer *p = data;
  GMainContext *ctx = g_main_context_new();
  g_main_context_push_thread_default(ctx);
  GSource *tick = g_timeout_source_new(1);
  g_source_set_callback(tick, async_refill, p, NULL);
  g_source_attach(tick, ctx);
  for (;;)
    g_main_context_iteration(ctx, TRUE);
  return NULL;
}

static gpointer
produce(gpointer data)
{
  Producer *p = data;
  for (guint64 i = 0;; i++) {
    char rid[64];
    format_request_id(p, i, rid, sizeof rid);
    g_autoptr(GBytes) envelope = g_bytes_new(rid, strlen(rid));
    ActrInboundMessage msg = {
        .priority = (i % 7 == 0) ? ACTR_PRIORITY_HIGH : ACTR_PRIORITY_NORMAL,
        .request_id = rid,
        .envelope = envelope,
    };
    ActrEnqueueResult result;
    g_autoptr(GError) error = NULL;
    if (!actr_store_enqueue(p->store, &msg, &result, &error)) {
      fprintf(stderr, "worker: enqueue: %s\n", error->message);
      _exit(4);
    }
    actr_enqueue_result_clear(&result);
    log_line('E', rid);
  }
  return NULL;
}

int
main(int argc, char **argv)
{
  if (argc != 5) {
    fprintf(stderr, "usage: %s DB LOG BASE normal|full\n", argv[0]);
    return 2;
  }
  log_fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT, 0600);
  if (log_fd < 0)
    return 3;
  ActrStoreOptions options;
  actr_store_options_init(&options);
  options.durability =
      strcmp(argv[4], "full") == 0 ? ACTR_STORE_DURABILITY_FULL : ACTR_STORE_DURABILITY_NORMAL;
  g_autoptr(GError) error = NULL;
  ActrStore *store = actr_store_open(argv[1], &options, &error);
  if (store == NULL) {
    fprintf(stderr, "worker: open: %s\n", error->message);
    return 1;
  }
  guint64 base = g_ascii_strtoull(argv[3], NULL, 10);
  /* Producers 0 and 1 block on each enqueue (text ids / UUID ids); producer
   * 2 is an event loop with enqueues in flight (UUID ids). */
  Producer producers[3];
  for (guint t = 0; t < G_N_ELEMENTS(producers); t++) {
    producers[t] = (Producer){.store = store, .base = base + t * 1000000u, .uuid_ids = t >= 1};
    g_thread_unref(g_thread_new("producer", t == 2 ? produce_async : produce, &producers[t]));
  }
  for (;;) {
    g_autoptr(GPtrArray) batch = actr_store_dequeue(store, 32, &error);
    if (batch == NULL) {
      fprintf(stderr, "worker: dequeue: %s\n", error->message);
      return 1;
    }
    if (batch->len == 0)
      g_usleep(200);
    for (guint i = 0; i < batch->len; i++) {
      ActrStoreMessage *m = batch->pdata[i];
      log_line('D', m->request_id);
      g_autofree char *reply = g_strdup_printf("resp-%s", m->request_id);
      g_autoptr(GBytes) response = g_bytes_new(reply, strlen(reply));
      if (!actr_store_ack(store, m->id, response, &error)) {
        fprintf(stderr, "worker: ack: %s\n", error->message);
        return 1;
      }
      log_line('A', m->request_id);
    }
  }
}
