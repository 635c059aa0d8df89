/* Unit tests for src/store: inbox, dedup, DLQ, group commit, failures. */
#include <actr/store.h>

#include "store-private.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  f->dir = g_dir_make_tmp("actr-store-XXXXXX", &error);
  g_assert_no_error(error);
  f->path = g_build_filename(f->dir, "mailbox.db", NULL);
}

static void
remove_tree(const char *path)
{
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);
      remove_tree(child);
    }
    if (dir)
      g_dir_close(dir);
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
  remove_tree(f->dir);
  g_free(f->dir);
  g_free(f->path);
}

static ActrStore *
open_store(Fixture *f, const ActrStoreOptions *options)
{
  g_autoptr(GError) error = NULL;
  ActrStore *store = actr_store_open(f->path, options, &error);
  g_assert_no_error(error);
  g_assert_nonnull(store);
  return store;
}

/* Enqueues a message whose envelope is @text; returns the outcome. */
static ActrEnqueueOutcome
put(ActrStore *store, ActrPriority priority, const char *request_id, const char *text, gint64 *id,
    GBytes **response)
{
  g_autoptr(GBytes) envelope = g_bytes_new(text, strlen(text));
  g_autoptr(GBytes) sender = g_bytes_new_static("\x0a\x02\x08\x01", 4);
  ActrInboundMessage msg = {
      .priority = priority, .request_id = request_id, .sender = sender, .envelope = envelope};
  ActrEnqueueResult result;
  g_autoptr(GError) error = NULL;
  g_assert_true(actr_store_enqueue(store, &msg, &result, &error));
  g_assert_no_error(error);
  if (id)
    *id = result.id;
  if (response)
    *response = result.response ? g_bytes_ref(result.response) : NULL;
  ActrEnqueueOutcome outcome = result.outcome;
  actr_enqueue_result_clear(&result);
  return outcome;
}

static GPtrArray *
take(ActrStore *store, guint max)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *batch = actr_store_dequeue(store, max, &error);
  g_assert_no_error(error);
  g_assert_nonnull(batch);
  return batch;
}

static const char *
envelope_text(const ActrStoreMessage *m, char *buf, gsize len)
{
  gsize n;
  const char *data = g_bytes_get_data(m->envelope, &n);
  g_assert_cmpuint(n, <, len);
  memcpy(buf, data, n);
  buf[n] = '\0';
  return buf;
}

static void
test_enqueue_dequeue_ack(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  gint64 a, b, c;
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "r-a", "A", &a, NULL), ==,
                  ACTR_ENQUEUE_ACCEPTED);
  g_assert_cmpint(put(store, ACTR_PRIORITY_HIGH, "r-b", "B", &b, NULL), ==, ACTR_ENQUEUE_ACCEPTED);
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "", "C", &c, NULL), ==, ACTR_ENQUEUE_ACCEPTED);
  g_assert_cmpint(a, <, b);
  g_assert_cmpint(b, <, c);

  ActrStoreStats stats;
  g_assert_true(actr_store_get_stats(store, &stats, NULL));
  g_assert_cmpuint(stats.queued, ==, 3);
  g_assert_cmpuint(stats.queued_high, ==, 1);
  g_assert_cmpuint(stats.in_flight, ==, 0);

  /* HIGH first, then oldest first. */
  g_autoptr(GPtrArray) batch = take(store, 0);
  g_assert_cmpuint(batch->len, ==, 3);
  char buf[64];
  const ActrStoreMessage *m0 = batch->pdata[0], *m1 = batch->pdata[1], *m2 = batch->pdata[2];
  g_assert_cmpstr(envelope_text(m0, buf, sizeof buf), ==, "B");
  g_assert_cmpstr(envelope_text(m1, buf, sizeof buf), ==, "A");
  g_assert_cmpstr(envelope_text(m2, buf, sizeof buf), ==, "C");
  g_assert_cmpint(m0->priority, ==, ACTR_PRIORITY_HIGH);
  g_assert_cmpuint(m0->attempts, ==, 1);
  g_assert_true(m0->in_flight);
  g_assert_cmpstr(m1->request_id, ==, "r-a");
  g_assert_cmpuint(g_bytes_get_size(m1->sender), ==, 4);
  g_assert_cmpint(m1->enqueued_ns, >, 0);

  g_autoptr(GPtrArray) empty = take(store, 0);
  g_assert_cmpuint(empty->len, ==, 0);

  g_autoptr(GBytes) reply = g_bytes_new_static("reply-A", 7);
  g_assert_true(actr_store_ack(store, a, reply, NULL));
  g_assert_true(actr_store_ack(store, b, NULL, NULL));
  g_assert_true(actr_store_ack(store, c, NULL, NULL));
  g_assert_true(actr_store_get_stats(store, &stats, NULL));
  g_assert_cmpuint(stats.queued + stats.in_flight, ==, 0);
  g_assert_cmpuint(stats.dedup_records, ==, 2); /* "" has no dedup record */
  actr_store_close(store);
}

static void
test_dedup_survives_restart(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  gint64 id, dup_id;
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "req-1", "x", &id, NULL), ==,
                  ACTR_ENQUEUE_ACCEPTED);
  /* Pending duplicate never enters the inbox. */
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "req-1", "x", &dup_id, NULL), ==,
                  ACTR_ENQUEUE_DUPLICATE_PENDING);
  g_assert_cmpint(dup_id, ==, id);
  actr_store_close(store);

  store = open_store(f, NULL); /* still pending after a restart */
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "req-1", "x", NULL, NULL), ==,
                  ACTR_ENQUEUE_DUPLICATE_PENDING);
  g_autoptr(GPtrArray) batch = take(store, 0);
  g_assert_cmpuint(batch->len, ==, 1);
  g_autoptr(GBytes) reply = g_bytes_new_static("the-answer", 10);
  g_assert_true(actr_store_ack(store, id, reply, NULL));
  actr_store_close(store);

  store = open_store(f, NULL);
  GBytes *response = NULL;
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "req-1", "x", NULL, &response), ==,
                  ACTR_ENQUEUE_DUPLICATE_DONE);
  g_assert_nonnull(response);
  g_assert_true(g_bytes_equal(response, reply));
  g_bytes_unref(response);
  g_autoptr(GPtrArray) none = take(store, 0);
  g_assert_cmpuint(none->len, ==, 0);
  actr_store_close(store);
}

static void
test_tell_completion(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  gint64 id;
  put(store, ACTR_PRIORITY_NORMAL, "tell-1", "t", &id, NULL);
  g_autoptr(GPtrArray) batch = take(store, 0);
  g_assert_cmpuint(batch->len, ==, 1);
  g_assert_true(actr_store_ack(store, id, NULL, NULL));
  g_autoptr(GBytes) env = g_bytes_new_static("t", 1);
  ActrInboundMessage msg = {.request_id = "tell-1", .envelope = env};
  ActrEnqueueResult r;
  g_assert_true(actr_store_enqueue(store, &msg, &r, NULL));
  g_assert_cmpint(r.outcome, ==, ACTR_ENQUEUE_DUPLICATE_DONE);
  g_assert_cmpint(r.completion, ==, ACTR_COMPLETION_NO_REPLY);
  g_assert_null(r.response);
  actr_enqueue_result_clear(&r);
  actr_store_close(store);
}

static void
test_crash_redelivery_and_max_attempts(Fixture *f, gconstpointer data)
{
  ActrStoreOptions options;
  actr_store_options_init(&options);
  options.max_delivery_attempts = 2;
  ActrStore *store = open_store(f, &options);
  gint64 id;
  put(store, ACTR_PRIORITY_NORMAL, "poison", "P", &id, NULL);
  put(store, ACTR_PRIORITY_NORMAL, "fine", "F", NULL, NULL);
  g_autoptr(GPtrArray) first = take(store, 1);
  g_assert_cmpuint(first->len, ==, 1);
  g_assert_cmpint(((ActrStoreMessage *)first->pdata[0])->id, ==, id);
  /* "Crash": close without ack.  In-flight rows are delivered again. */
  actr_store_close(store);

  store = open_store(f, &options);
  ActrStoreStats stats;
  g_assert_true(actr_store_get_stats(store, &stats, NULL));
  g_assert_cmpuint(stats.in_flight, ==, 0);
  g_assert_cmpuint(stats.queued, ==, 2);
  g_autoptr(GPtrArray) second = take(store, 1);
  const ActrStoreMessage *again = second->pdata[0];
  g_assert_cmpint(again->id, ==, id);
  g_assert_cmpuint(again->attempts, ==, 2);
  actr_store_close(store);

  /* Third delivery would exceed max_delivery_attempts: it goes to the DLQ. */
  store = open_store(f, &options);
  g_autoptr(GPtrArray) third = take(store, 0);
  g_assert_cmpuint(third->len, ==, 1);
  g_assert_cmpstr(((ActrStoreMessage *)third->pdata[0])->request_id, ==, "fine");
  g_autoptr(GPtrArray) dlq = actr_store_dlq_list(store, "max_attempts", 0, NULL);
  g_assert_cmpuint(dlq->len, ==, 1);
  const ActrDlqRecord *rec = dlq->pdata[0];
  g_assert_cmpint(rec->original_message_id, ==, id);
  g_assert_cmpuint(rec->attempts, ==, 2);
  g_assert_cmpstr(rec->request_id, ==, "poison");
  g_assert_null(rec->raw_bytes);
  g_assert_cmpuint(rec->raw_size, ==, 1);
  /* Its caller retrying learns it was dead-lettered, and it is not run. */
  g_autoptr(GBytes) env = g_bytes_new_static("P", 1);
  ActrInboundMessage msg = {.request_id = "poison", .envelope = env};
  ActrEnqueueResult r;
  g_assert_true(actr_store_enqueue(store, &msg, &r, NULL));
  g_assert_cmpint(r.outcome, ==, ACTR_ENQUEUE_DUPLICATE_DONE);
  g_assert_cmpint(r.completion, ==, ACTR_COMPLETION_DEAD_LETTERED);
  actr_enqueue_result_clear(&r);
  actr_store_close(store);
}

static void
test_dead_letter_and_dlq_ops(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  gint64 a, b;
  put(store, ACTR_PRIORITY_HIGH, "bad-1", "garbage", &a, NULL);
  put(store, ACTR_PRIORITY_NORMAL, "bad-2", "more", &b, NULL);
  g_autoptr(GPtrArray) batch = take(store, 1);
  g_assert_cmpuint(batch->len, ==, 1);
  gint64 dlq_a = 0, dlq_b = 0;
  g_autoptr(GError) error = NULL;
  g_assert_true(actr_store_dead_letter(store, a, "protobuf_decode", "bad varint", &dlq_a, &error));
  g_assert_no_error(error);
  /* A queued (not yet delivered) message can be dead-lettered too. */
  g_assert_true(actr_store_dead_letter(store, b, "protobuf_decode", "bad tag", &dlq_b, NULL));
  g_assert_cmpint(dlq_a, <, dlq_b);

  g_autoptr(ActrDlqRecord) rec = actr_store_dlq_get(store, dlq_a, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(rec->category, ==, "protobuf_decode");
  g_assert_cmpstr(rec->error_message, ==, "bad varint");
  g_assert_cmpint(rec->priority, ==, ACTR_PRIORITY_HIGH);
  g_assert_cmpmem(g_bytes_get_data(rec->raw_bytes, NULL), g_bytes_get_size(rec->raw_bytes),
                  "garbage", 7);
  g_assert_cmpuint(g_bytes_get_size(rec->sender), ==, 4);
  g_autofree char *trace = g_strdup_printf("mailbox-%" G_GINT64_FORMAT, a);
  g_assert_cmpstr(rec->trace_id, ==, trace);

  g_autoptr(GPtrArray) all = actr_store_dlq_list(store, NULL, 0, NULL);
  g_assert_cmpuint(all->len, ==, 2);
  g_assert_cmpint(((ActrDlqRecord *)all->pdata[0])->id, ==, dlq_b); /* newest first */
  g_autoptr(GPtrArray) other = actr_store_dlq_list(store, "nope", 0, NULL);
  g_assert_cmpuint(other->len, ==, 0);

  /* Requeue: back in the inbox, its request_id pending again. */
  gint64 again = 0;
  g_assert_true(actr_store_dlq_requeue(store, dlq_a, &again, &error));
  g_assert_no_error(error);
  g_assert_cmpint(again, >, b);
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "bad-1", "garbage", NULL, NULL), ==,
                  ACTR_ENQUEUE_DUPLICATE_PENDING);
  g_autoptr(GPtrArray) redo = take(store, 0);
  g_assert_cmpuint(redo->len, ==, 1);
  g_assert_cmpuint(((ActrStoreMessage *)redo->pdata[0])->attempts, ==, 1);
  g_assert_true(actr_store_dead_letter(store, again, "protobuf_decode", "still bad", NULL, NULL));
  g_autoptr(GPtrArray) latest = actr_store_dlq_list(store, NULL, 1, NULL);
  g_assert_cmpuint(latest->len, ==, 1);
  g_assert_cmpuint(((ActrDlqRecord *)latest->pdata[0])->redrive_attempts, ==, 1);
  g_assert_cmpint(((ActrDlqRecord *)latest->pdata[0])->last_redrive_ns, >, 0);

  g_assert_false(actr_store_dlq_requeue(store, dlq_a, NULL, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND);
  g_clear_error(&error);
  g_assert_true(actr_store_dlq_delete(store, dlq_b, NULL));
  g_assert_false(actr_store_dlq_delete(store, dlq_b, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND);
  g_clear_error(&error);
  guint64 removed = 0;
  g_assert_true(actr_store_dlq_purge(store, &removed, NULL));
  g_assert_cmpuint(removed, ==, 1);
  actr_store_close(store);
}

static void
test_wrong_state_errors(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  gint64 id;
  put(store, ACTR_PRIORITY_NORMAL, "q", "q", &id, NULL);
  g_autoptr(GError) error = NULL;
  g_assert_false(actr_store_ack(store, id, NULL, &error)); /* queued, not in flight */
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_INVALID);
  g_clear_error(&error);
  g_assert_false(actr_store_ack(store, 999, NULL, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND);
  g_clear_error(&error);
  g_assert_false(actr_store_ack(store, 999, NULL, NULL)); /* NULL error pointer is fine */
  g_assert_false(actr_store_requeue(store, id, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_INVALID);
  g_clear_error(&error);

  /* Requeue puts an in-flight message back at the front. */
  put(store, ACTR_PRIORITY_NORMAL, "q2", "q2", NULL, NULL);
  g_autoptr(GPtrArray) one = take(store, 1);
  g_assert_cmpuint(one->len, ==, 1);
  g_assert_true(actr_store_requeue(store, id, NULL));
  g_autoptr(GPtrArray) again = take(store, 1);
  g_assert_cmpint(((ActrStoreMessage *)again->pdata[0])->id, ==, id);
  /* A requeued delivery was not handled: it does not count. */
  g_assert_cmpuint(((ActrStoreMessage *)again->pdata[0])->attempts, ==, 1);
  g_autoptr(ActrStoreMessage) peek = actr_store_peek(store, id, NULL);
  g_assert_nonnull(peek);
  g_assert_true(peek->in_flight);
  g_assert_cmpuint(peek->envelope_size, ==, 1);
  g_autoptr(GPtrArray) list = actr_store_list(store, 0, NULL);
  g_assert_cmpuint(list->len, ==, 2);
  g_assert_cmpint(((ActrStoreMessage *)list->pdata[0])->id, ==, id); /* in flight first */
  g_assert_null(actr_store_peek(store, 12345, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND);
  actr_store_close(store);
}

static void
ack_all(ActrStore *store, const char *prefix, guint n)
{
  for (guint i = 0; i < n; i++) {
    g_autofree char *rid = g_strdup_printf("%s-%u", prefix, i);
    put(store, ACTR_PRIORITY_NORMAL, rid, "m", NULL, NULL);
  }
  g_autoptr(GPtrArray) batch = take(store, n);
  g_assert_cmpuint(batch->len, ==, n);
  for (guint i = 0; i < batch->len; i++)
    g_assert_true(actr_store_ack(store, ((ActrStoreMessage *)batch->pdata[i])->id, NULL, NULL));
}

static void
test_dedup_bounds(Fixture *f, gconstpointer data)
{
  ActrStoreOptions options;
  actr_store_options_init(&options);
  options.dedup_max_entries = 10;
  ActrStore *store = open_store(f, &options);
  ack_all(store, "count", 25);
  g_assert_cmpint(actr_store_prune_dedup(store, NULL), >=, 0);
  ActrStoreStats stats;
  g_assert_true(actr_store_get_stats(store, &stats, NULL));
  g_assert_cmpuint(stats.dedup_records, ==, 10);
  /* The oldest were forgotten (accepted again); the newest are remembered. */
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "count-0", "m", NULL, NULL), ==,
                  ACTR_ENQUEUE_ACCEPTED);
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "count-24", "m", NULL, NULL), ==,
                  ACTR_ENQUEUE_DUPLICATE_DONE);
  actr_store_close(store);

  /* The bound holds across a restart too. */
  store = open_store(f, &options);
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "count-24", "m", NULL, NULL), ==,
                  ACTR_ENQUEUE_DUPLICATE_DONE);
  actr_store_close(store);

  /* Age: with a 1 ms lifetime every record expires. */
  options.dedup_max_entries = 1000;
  options.dedup_ttl_ms = 1;
  store = open_store(f, &options);
  ack_all(store, "age", 5);
  g_usleep(5000);
  g_assert_cmpint(actr_store_prune_dedup(store, NULL), >, 0);
  g_assert_true(actr_store_get_stats(store, &stats, NULL));
  g_assert_cmpuint(stats.dedup_records, ==, 0);
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "age-1", "m", NULL, NULL), ==,
                  ACTR_ENQUEUE_ACCEPTED);
  actr_store_close(store);
}

static void
record_depth(guint64 queued, gpointer data)
{
  GArray *depths = data;
  g_array_append_val(depths, queued);
}

static void
test_depth_observer(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  GArray *depths = g_array_new(FALSE, FALSE, sizeof(guint64));
  g_assert_true(actr_store_set_depth_observer(store, record_depth, depths, NULL));
  put(store, ACTR_PRIORITY_NORMAL, "d1", "x", NULL, NULL);
  put(store, ACTR_PRIORITY_NORMAL, "d2", "x", NULL, NULL);
  put(store, ACTR_PRIORITY_NORMAL, "d1", "x", NULL, NULL); /* duplicate: no change */
  g_autoptr(GPtrArray) batch = take(store, 0);
  g_assert_cmpuint(batch->len, ==, 2);
  g_assert_cmpuint(depths->len, ==, 3);
  g_assert_cmpuint(g_array_index(depths, guint64, 0), ==, 1);
  g_assert_cmpuint(g_array_index(depths, guint64, 1), ==, 2);
  g_assert_cmpuint(g_array_index(depths, guint64, 2), ==, 0);
  actr_store_set_depth_observer(store, NULL, NULL, NULL);
  g_array_unref(depths);
  actr_store_close(store);
}

typedef struct {
  ActrStore *store;
  guint thread;
  guint count;
} ProducerArgs;

static gpointer
producer(gpointer data)
{
  ProducerArgs *args = data;
  for (guint i = 0; i < args->count; i++) {
    g_autofree char *rid = g_strdup_printf("p%u-%u", args->thread, i);
    g_autoptr(GBytes) env = g_bytes_new(rid, strlen(rid));
    ActrInboundMessage msg = {.request_id = rid, .envelope = env};
    ActrEnqueueResult r;
    g_autoptr(GError) error = NULL;
    g_assert_true(actr_store_enqueue(args->store, &msg, &r, &error));
    g_assert_cmpint(r.outcome, ==, ACTR_ENQUEUE_ACCEPTED);
    actr_enqueue_result_clear(&r);
  }
  return NULL;
}

static void
test_concurrent_group_commit(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  enum { THREADS = 8, EACH = 300 };
  GThread *threads[THREADS];
  ProducerArgs args[THREADS];
  for (guint t = 0; t < THREADS; t++) {
    args[t] = (ProducerArgs){store, t, EACH};
    threads[t] = g_thread_new("producer", producer, &args[t]);
  }
  for (guint t = 0; t < THREADS; t++)
    g_thread_join(threads[t]);
  actr_store_close(store);

  store = open_store(f, NULL);
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (;;) {
    g_autoptr(GPtrArray) batch = take(store, 1000);
    if (batch->len == 0)
      break;
    for (guint i = 0; i < batch->len; i++) {
      ActrStoreMessage *m = batch->pdata[i];
      g_assert_true(g_hash_table_add(seen, g_strdup(m->request_id)));
      g_assert_true(actr_store_ack(store, m->id, NULL, NULL));
    }
  }
  g_assert_cmpuint(g_hash_table_size(seen), ==, THREADS * EACH);
  g_hash_table_unref(seen);
  actr_store_close(store);
}

typedef struct {
  GMainLoop *loop;
  guint pending;
  guint accepted;
  guint duplicates;
  gboolean inside_call;
} AsyncState;

static void
on_enqueued(ActrStore *store, const ActrEnqueueResult *result, const GError *error, gpointer data)
{
  AsyncState *s = data;
  g_assert_no_error(error);
  g_assert_false(s->inside_call); /* never called from inside enqueue_async */
  if (result->outcome == ACTR_ENQUEUE_ACCEPTED)
    s->accepted++;
  else
    s->duplicates++;
  if (--s->pending == 0)
    g_main_loop_quit(s->loop);
}

static void
run_async(Fixture *f, ActrStoreDurability durability)
{
  ActrStoreOptions options;
  actr_store_options_init(&options);
  options.durability = durability;
  ActrStore *store = open_store(f, &options);
  GMainContext *ctx = g_main_context_new();
  g_main_context_push_thread_default(ctx);
  AsyncState s = {.loop = g_main_loop_new(ctx, FALSE)};
  for (guint i = 0; i < 200; i++) {
    g_autofree char *rid = g_strdup_printf("async-%u", i % 150);
    g_autoptr(GBytes) env = g_bytes_new(rid, strlen(rid));
    ActrInboundMessage msg = {.request_id = rid, .envelope = env};
    s.pending++;
    s.inside_call = TRUE;
    actr_store_enqueue_async(store, &msg, NULL, on_enqueued, &s);
    s.inside_call = FALSE;
  }
  g_main_loop_run(s.loop);
  g_assert_cmpuint(s.accepted, ==, 150);
  g_assert_cmpuint(s.duplicates, ==, 50);
  g_main_loop_unref(s.loop);
  g_main_context_pop_thread_default(ctx);
  g_main_context_unref(ctx);
  actr_store_close(store);
}

static void
test_async_normal(Fixture *f, gconstpointer data)
{
  run_async(f, ACTR_STORE_DURABILITY_NORMAL);
}

static void
test_async_full(Fixture *f, gconstpointer data)
{
  run_async(f, ACTR_STORE_DURABILITY_FULL);
}

static void
test_disk_full_loses_nothing(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  g_autoptr(GError) error = NULL;
  /* Checkpoint so the page count is settled, then cap the file near it. */
  g_assert_true(actr_store_exec_for_test(store, "PRAGMA wal_checkpoint(TRUNCATE)", NULL));
  g_assert_true(actr_store_exec_for_test(store, "PRAGMA max_page_count = 40", &error));
  g_assert_no_error(error);
  char big[2000];
  memset(big, 'z', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  guint accepted = 0;
  gboolean full = FALSE;
  /* The failure is logged once, however many operations it fails. */
  g_test_expect_message("actr-store", G_LOG_LEVEL_WARNING, "*database or disk is full*");
  for (guint i = 0; i < 500 && !full; i++) {
    g_autofree char *rid = g_strdup_printf("big-%u", i);
    g_autoptr(GBytes) env = g_bytes_new(big, sizeof big);
    ActrInboundMessage msg = {.request_id = rid, .envelope = env};
    ActrEnqueueResult r;
    if (actr_store_enqueue(store, &msg, &r, &error)) {
      accepted++;
      actr_enqueue_result_clear(&r);
    } else {
      full = TRUE;
    }
  }
  g_assert_true(full);
  g_test_assert_expected_messages();
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_FULL);
  g_assert_nonnull(strstr(error->message, f->path));
  g_assert_nonnull(strstr(error->message, "full"));
  g_clear_error(&error);
  g_assert_cmpuint(accepted, >, 0);
  /* The store still works for reads, and for writes once space returns. */
  g_assert_true(actr_store_exec_for_test(store, "PRAGMA max_page_count = 1000000", NULL));
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "after", "ok", NULL, NULL), ==,
                  ACTR_ENQUEUE_ACCEPTED);
  actr_store_close(store);

  store = open_store(f, NULL);
  ActrStoreStats stats;
  g_assert_true(actr_store_get_stats(store, &stats, NULL));
  g_assert_cmpuint(stats.queued, ==, accepted + 1);
  actr_store_close(store);
}

static void
test_corrupt_file(Fixture *f, gconstpointer data)
{
  char garbage[8192];
  for (guint i = 0; i < sizeof garbage; i++)
    garbage[i] = (char)(i * 7919 % 251);
  g_assert_true(g_file_set_contents(f->path, garbage, sizeof garbage, NULL));
  g_autoptr(GError) error = NULL;
  g_assert_null(actr_store_open(f->path, NULL, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_CORRUPT);
  g_assert_nonnull(strstr(error->message, f->path));
  g_clear_error(&error);
  ActrStoreOptions ro;
  actr_store_options_init(&ro);
  ro.read_only = TRUE;
  g_assert_null(actr_store_open(f->path, &ro, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_CORRUPT);
}

static void
test_foreign_database_untouched(Fixture *f, gconstpointer data)
{
  /* Somebody else's SQLite database: refused, not turned into a mailbox. */
  g_autofree char *cmd =
      g_strdup_printf("sqlite3 '%s' 'CREATE TABLE t(x); INSERT INTO t VALUES (1)'", f->path);
  int status = -1;
  if (!g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL) ||
      !g_spawn_check_wait_status(status, NULL)) {
    g_test_skip("sqlite3 command-line tool not available");
    return;
  }
  g_autoptr(GError) error = NULL;
  g_assert_null(actr_store_open(f->path, NULL, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_CORRUPT);
  g_assert_nonnull(strstr(error->message, "not an actr mailbox"));
  g_autofree char *check =
      g_strdup_printf("sqlite3 '%s' 'SELECT count(*) FROM sqlite_schema'", f->path);
  g_autofree char *out = NULL;
  g_assert_true(g_spawn_command_line_sync(check, &out, NULL, NULL, NULL));
  g_assert_cmpstr(g_strstrip(out), ==, "1");
  /* Not even a pragma was changed (review finding: journal_mode became WAL). */
  g_autofree char *mode_cmd = g_strdup_printf("sqlite3 '%s' 'PRAGMA journal_mode'", f->path);
  g_autofree char *mode = NULL;
  g_assert_true(g_spawn_command_line_sync(mode_cmd, &mode, NULL, NULL, NULL));
  g_assert_cmpstr(g_strstrip(mode), ==, "delete");
}

static void
test_locked_by_another_writer(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  g_autoptr(GError) error = NULL;
  g_assert_null(actr_store_open(f->path, NULL, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_LOCKED);
  g_assert_nonnull(strstr(error->message, "in use"));
  g_clear_error(&error);
  /* Readers are welcome while the writer runs. */
  put(store, ACTR_PRIORITY_NORMAL, "r", "x", NULL, NULL);
  ActrStoreOptions ro;
  actr_store_options_init(&ro);
  ro.read_only = TRUE;
  ActrStore *reader = actr_store_open(f->path, &ro, &error);
  g_assert_no_error(error);
  ActrStoreStats stats;
  g_assert_true(actr_store_get_stats(reader, &stats, &error));
  g_assert_cmpuint(stats.queued, ==, 1);
  g_assert_null(actr_store_dequeue(reader, 1, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_READ_ONLY);
  actr_store_close(reader);
  actr_store_close(store);
}

static void
test_missing_file_read_only(Fixture *f, gconstpointer data)
{
  ActrStoreOptions ro;
  actr_store_options_init(&ro);
  ro.read_only = TRUE;
  g_autoptr(GError) error = NULL;
  g_assert_null(actr_store_open(f->path, &ro, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_IO);
  g_assert_false(g_file_test(f->path, G_FILE_TEST_EXISTS)); /* not created */
}

static void
test_read_only_directory(Fixture *f, gconstpointer data)
{
  g_autofree char *sub = g_build_filename(f->dir, "ro", NULL);
  g_mkdir(sub, 0755);
  g_autofree char *path = g_build_filename(sub, "mailbox.db", NULL);
  gboolean immutable = FALSE;
  if (geteuid() == 0) {
    /* Root ignores mode bits; an immutable directory stops even root. */
    const char *argv[] = {"chattr", "+i", sub, NULL};
    int status = -1;
    immutable =
        g_spawn_sync(NULL, (char **)argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, NULL) &&
        g_spawn_check_wait_status(status, NULL);
    if (!immutable) {
      g_test_skip("cannot make a read-only directory as root on this file system");
      return;
    }
  } else {
    g_chmod(sub, 0555);
  }
  g_autoptr(GError) error = NULL;
  g_assert_null(actr_store_open(path, NULL, &error));
  g_assert_nonnull(error);
  g_assert_true(error->domain == ACTR_STORE_ERROR);
  g_assert_nonnull(strstr(error->message, path));
  if (immutable) {
    const char *argv[] = {"chattr", "-i", sub, NULL};
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                 NULL);
  } else {
    g_chmod(sub, 0755);
  }
}

/* Review finding: a failed second open closed a descriptor of the database
 * file, which dropped SQLite's POSIX locks; an outside client then deleted
 * the live WAL and later commits were lost on a crash. */
static void
test_failed_second_open_keeps_wal(Fixture *f, gconstpointer data)
{
  g_autofree char *sqlite3_tool = g_find_program_in_path("sqlite3");
  if (sqlite3_tool == NULL) {
    g_test_skip("sqlite3 command-line tool not available");
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    ActrStore *store = actr_store_open(f->path, NULL, NULL);
    for (guint i = 0; i < 50; i++) {
      g_autofree char *rid = g_strdup_printf("a-%u", i);
      put(store, ACTR_PRIORITY_NORMAL, rid, "x", NULL, NULL);
    }
    GError *error = NULL;
    if (actr_store_open(f->path, NULL, &error) != NULL)
      _exit(3);
    g_clear_error(&error);
    g_autofree char *cmd = g_strdup_printf("sqlite3 '%s' 'SELECT count(*) FROM inbox'", f->path);
    g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL);
    for (guint i = 0; i < 50; i++) {
      g_autofree char *rid = g_strdup_printf("b-%u", i);
      put(store, ACTR_PRIORITY_NORMAL, rid, "x", NULL, NULL);
    }
    _exit(0); /* a crash: no close */
  }
  int status = 0;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ActrStore *store = open_store(f, NULL);
  ActrStoreStats stats;
  g_assert_true(actr_store_get_stats(store, &stats, NULL));
  g_assert_cmpuint(stats.queued, ==, 100);
  actr_store_close(store);
}

/* Review finding: one poison message charged an attempt to its whole
 * prefetched batch, so innocent messages reached the DLQ with it. */
static void
test_poison_charges_only_itself(Fixture *f, gconstpointer data)
{
  const char *names[] = {"p-0", "p-1", "p-2", "p-3", "p-4"};
  ActrStore *store = open_store(f, NULL);
  for (guint i = 0; i < G_N_ELEMENTS(names); i++)
    put(store, ACTR_PRIORITY_NORMAL, names[i], "x", NULL, NULL);
  for (guint crash = 0; crash < 4; crash++) {
    /* The node prefetches a batch and dies while handling its first message. */
    g_autoptr(GPtrArray) batch = take(store, 32);
    if (crash == 0)
      g_assert_cmpuint(batch->len, ==, 5);
    else if (crash < 3)
      g_assert_cmpuint(batch->len, ==, 1); /* recovered messages come alone */
    actr_store_close(store);
    store = open_store(f, NULL);
  }
  /* p-0 was handled (and crashed) 3 times: dead-lettered; the others are
   * delivered normally. */
  g_autoptr(GPtrArray) dlq = actr_store_dlq_list(store, NULL, 0, NULL);
  g_assert_cmpuint(dlq->len, ==, 1);
  g_assert_cmpstr(((ActrDlqRecord *)dlq->pdata[0])->request_id, ==, "p-0");
  guint delivered = 0;
  for (;;) {
    g_autoptr(GPtrArray) batch = take(store, 32);
    if (batch->len == 0)
      break;
    for (guint i = 0; i < batch->len; i++) {
      g_assert_true(actr_store_ack(store, ((ActrStoreMessage *)batch->pdata[i])->id, NULL, NULL));
      delivered++;
    }
  }
  g_assert_cmpuint(delivered, ==, 4);
  actr_store_close(store);
}

static gboolean
busy_source(gpointer data)
{
  (*(guint64 *)data)++;
  return G_SOURCE_CONTINUE;
}

static void
count_done(ActrStore *store, const ActrEnqueueResult *result, const GError *error, gpointer data)
{
  g_assert_no_error(error);
  (*(guint *)data)++;
}

/* Review finding: the loop flush ran at idle priority, so a loop with
 * DEFAULT-priority work always ready left enqueues waiting for the
 * committer's one-second tick. */
static void
test_async_on_busy_loop(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  GMainContext *ctx = g_main_context_new();
  g_main_context_push_thread_default(ctx);
  guint64 iterations = 0;
  GSource *busy = g_idle_source_new();
  g_source_set_priority(busy, G_PRIORITY_DEFAULT);
  g_source_set_callback(busy, busy_source, &iterations, NULL);
  g_source_attach(busy, ctx);
  guint done = 0;
  gint64 start = g_get_monotonic_time();
  for (guint i = 0; i < 20; i++) {
    g_autofree char *rid = g_strdup_printf("busy-%u", i);
    g_autoptr(GBytes) env = g_bytes_new(rid, strlen(rid));
    ActrInboundMessage msg = {.request_id = rid, .envelope = env};
    actr_store_enqueue_async(store, &msg, NULL, count_done, &done);
  }
  while (done < 20 && g_get_monotonic_time() - start < 10 * G_USEC_PER_SEC)
    g_main_context_iteration(ctx, TRUE);
  g_assert_cmpuint(done, ==, 20);
  /* Committed by the loop's own flush within a few iterations, not after
   * the committer's idle tick (which would take ~1 s of spinning). */
  g_assert_cmpuint(iterations, <, 1000);
  g_source_destroy(busy);
  g_source_unref(busy);
  g_main_context_pop_thread_default(ctx);
  g_main_context_unref(ctx);
  actr_store_close(store);
}

/* A loop that schedules a flush and then blocks (never iterates) must not
 * hold later enqueues hostage: the committer takes them over after the
 * grace period, every time, not at its one-second idle tick. */
static void
test_async_blocked_loop(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  GMainContext *blocked = g_main_context_new(); /* never iterated until the end */
  GMainContext *ctx = g_main_context_new();
  guint done = 0, blocked_done = 0;
  g_autoptr(GBytes) env0 = g_bytes_new_static("b0", 2);
  ActrInboundMessage first = {.request_id = "blocked-0", .envelope = env0};
  actr_store_enqueue_async(store, &first, blocked, count_done, &blocked_done);
  g_usleep(20000); /* the committer takes it over; the blocked loop's flush stays due */
  gint64 start = g_get_monotonic_time();
  for (guint round = 1; round <= 4; round++) {
    g_autofree char *rid = g_strdup_printf("blocked-%u", round);
    g_autoptr(GBytes) env = g_bytes_new(rid, strlen(rid));
    ActrInboundMessage msg = {.request_id = rid, .envelope = env};
    actr_store_enqueue_async(store, &msg, ctx, count_done, &done);
    while (done < round && g_get_monotonic_time() - start < 10 * G_USEC_PER_SEC)
      g_main_context_iteration(ctx, FALSE);
  }
  g_assert_cmpuint(done, ==, 4);
  /* Four rounds well under one committer idle tick (1 s) each. */
  g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
  while (g_main_context_iteration(blocked, FALSE))
    ;
  g_assert_cmpuint(blocked_done, ==, 1);
  g_main_context_unref(blocked);
  g_main_context_unref(ctx);
  actr_store_close(store);
}

/* Review finding: completion callbacks that ran after actr_store_close()
 * received a freed store. */
static void
test_close_before_callbacks(Fixture *f, gconstpointer data)
{
  ActrStoreOptions options;
  actr_store_options_init(&options);
  options.durability = ACTR_STORE_DURABILITY_FULL;
  ActrStore *store = open_store(f, &options);
  GMainContext *ctx = g_main_context_new();
  guint done = 0;
  g_autoptr(GBytes) env = g_bytes_new_static("x", 1);
  ActrInboundMessage msg = {.request_id = "late", .envelope = env};
  actr_store_enqueue_async(store, &msg, ctx, count_done, &done);
  actr_store_close(store); /* drains: the op is committed, its callback pending */
  while (g_main_context_iteration(ctx, FALSE))
    ;
  g_assert_cmpuint(done, ==, 1);
  g_main_context_unref(ctx);
}

/* Review finding: message ids were reused after a restart once every
 * message had been acked and pruned. */
static void
test_ids_never_reused(Fixture *f, gconstpointer data)
{
  ActrStoreOptions options;
  actr_store_options_init(&options);
  options.dedup_ttl_ms = 1;
  ActrStore *store = open_store(f, &options);
  gint64 first;
  put(store, ACTR_PRIORITY_NORMAL, "once", "x", &first, NULL);
  g_autoptr(GPtrArray) batch = take(store, 0);
  g_assert_cmpuint(batch->len, ==, 1);
  g_assert_true(actr_store_ack(store, first, NULL, NULL));
  g_usleep(3000);
  g_assert_cmpint(actr_store_prune_dedup(store, NULL), ==, 1);
  actr_store_close(store);
  store = open_store(f, &options);
  gint64 second;
  put(store, ACTR_PRIORITY_NORMAL, "twice", "x", &second, NULL);
  g_assert_cmpint(second, >, first);
  actr_store_close(store);
}

static void
test_dlq_requeue_refuses_pending_duplicate(Fixture *f, gconstpointer data)
{
  ActrStoreOptions options;
  actr_store_options_init(&options);
  options.dedup_ttl_ms = 1;
  ActrStore *store = open_store(f, &options);
  gint64 id, dlq_id;
  put(store, ACTR_PRIORITY_NORMAL, "r", "x", &id, NULL);
  g_assert_true(actr_store_dead_letter(store, id, "protobuf_decode", "bad", &dlq_id, NULL));
  g_usleep(3000);
  g_assert_cmpint(actr_store_prune_dedup(store, NULL), ==, 1);
  /* The caller retried after the dead-letter record expired: pending again. */
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "r", "x", NULL, NULL), ==,
                  ACTR_ENQUEUE_ACCEPTED);
  g_autoptr(GError) error = NULL;
  g_assert_false(actr_store_dlq_requeue(store, dlq_id, NULL, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_INVALID);
  g_assert_nonnull(strstr(error->message, "already pending"));
  actr_store_close(store);
}

/* cli.md: the dlq commands work while the node runs.  An admin store does
 * DLQ maintenance next to the node's store; the node picks the change up. */
static void
test_admin_next_to_running_node(Fixture *f, gconstpointer data)
{
  ActrStore *node = open_store(f, NULL);
  gint64 bad, keep, dlq_id;
  put(node, ACTR_PRIORITY_NORMAL, "bad", "B", &bad, NULL);
  put(node, ACTR_PRIORITY_NORMAL, "keep", "K", &keep, NULL);
  g_autoptr(GPtrArray) first = take(node, 1); /* "bad" in flight */
  g_assert_cmpuint(first->len, ==, 1);
  g_assert_true(actr_store_dead_letter(node, bad, "protobuf_decode", "oops", &dlq_id, NULL));

  ActrStoreOptions admin_options;
  actr_store_options_init(&admin_options);
  admin_options.admin = TRUE;
  g_autoptr(GError) error = NULL;
  ActrStore *admin = actr_store_open(f->path, &admin_options, &error);
  g_assert_no_error(error);
  gint64 requeued = 0;
  g_assert_true(actr_store_dlq_requeue(admin, dlq_id, &requeued, &error));
  g_assert_no_error(error);
  g_assert_cmpint(requeued, >, keep);
  /* Only DLQ maintenance on an admin store. */
  g_autoptr(GBytes) env = g_bytes_new_static("x", 1);
  ActrInboundMessage msg = {.request_id = "nope", .envelope = env};
  ActrEnqueueResult r;
  g_assert_false(actr_store_enqueue(admin, &msg, &r, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_INVALID);
  g_clear_error(&error);
  actr_store_close(admin);

  /* The node sees the requeued message at its next operation, and keeps
   * its own in-flight state. */
  g_autoptr(GPtrArray) batch = take(node, 0);
  g_assert_cmpuint(batch->len, ==, 2);
  g_assert_cmpint(((ActrStoreMessage *)batch->pdata[0])->id, ==, keep);
  g_assert_cmpint(((ActrStoreMessage *)batch->pdata[1])->id, ==, requeued);
  g_assert_cmpstr(((ActrStoreMessage *)batch->pdata[1])->request_id, ==, "bad");
  for (guint i = 0; i < batch->len; i++)
    g_assert_true(actr_store_ack(node, ((ActrStoreMessage *)batch->pdata[i])->id, NULL, NULL));
  /* New ids stay above the admin's insert. */
  gint64 next;
  put(node, ACTR_PRIORITY_NORMAL, "after", "A", &next, NULL);
  g_assert_cmpint(next, >, requeued);
  actr_store_close(node);

  /* An admin open never creates a file. */
  g_autofree char *missing = g_build_filename(f->dir, "missing.db", NULL);
  g_assert_null(actr_store_open(missing, &admin_options, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_IO);
  g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));
}

static guint64
state_total(ActrStore *store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) v = actr_store_state_get(store, "total", &error);
  if (v == NULL) {
    g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND);
    return 0;
  }
  g_autofree char *text = g_strndup(g_bytes_get_data(v, NULL), g_bytes_get_size(v));
  return g_ascii_strtoull(text, NULL, 10);
}

/* A counter handler: adds the request's number to the durable total and
 * acks with the new total as its response, all in one transaction. */
static void
handle_adds(ActrStore *store, guint max, gboolean crash_instead_of_ack)
{
  g_autoptr(GPtrArray) batch = take(store, max);
  for (guint i = 0; i < batch->len; i++) {
    ActrStoreMessage *m = batch->pdata[i];
    if (crash_instead_of_ack)
      return; /* the caller closes the store: a crash before the commit */
    g_autofree char *text = g_strndup(g_bytes_get_data(m->envelope, NULL), m->envelope_size);
    guint64 total = state_total(store) + g_ascii_strtoull(text, NULL, 10);
    g_autofree char *total_text = g_strdup_printf("%" G_GUINT64_FORMAT, total);
    g_autoptr(GBytes) value = g_bytes_new(total_text, strlen(total_text));
    ActrStateWrite write = {.key = "total", .value = value};
    g_assert_true(actr_store_ack_with_state(store, m->id, value, &write, 1, NULL));
  }
}

/* Durable workload state commits with the ack: effectively-once across a
 * crash and across a retried request. */
static void
test_state_effectively_once(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  put(store, ACTR_PRIORITY_NORMAL, "add-1", "5", NULL, NULL);
  handle_adds(store, 1, FALSE);
  g_assert_cmpuint(state_total(store), ==, 5);

  /* Crash while handling add-2: nothing of it is applied... */
  put(store, ACTR_PRIORITY_NORMAL, "add-2", "7", NULL, NULL);
  handle_adds(store, 1, TRUE);
  actr_store_close(store);
  store = open_store(f, NULL);
  g_assert_cmpuint(state_total(store), ==, 5);
  /* ...and it is redelivered and applied once. */
  handle_adds(store, 1, FALSE);
  g_assert_cmpuint(state_total(store), ==, 12);

  /* The caller retries add-2 and add-1: answered from the store, not applied. */
  GBytes *response = NULL;
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "add-2", "7", NULL, &response), ==,
                  ACTR_ENQUEUE_DUPLICATE_DONE);
  g_assert_cmpmem(g_bytes_get_data(response, NULL), g_bytes_get_size(response), "12", 2);
  g_bytes_unref(response);
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "add-1", "5", NULL, NULL), ==,
                  ACTR_ENQUEUE_DUPLICATE_DONE);
  handle_adds(store, 10, FALSE);
  g_assert_cmpuint(state_total(store), ==, 12);
  actr_store_close(store);

  /* Persisted, readable read-only, deletable. */
  ActrStoreOptions ro;
  actr_store_options_init(&ro);
  ro.read_only = TRUE;
  ActrStore *reader = actr_store_open(f->path, &ro, NULL);
  g_assert_cmpuint(state_total(reader), ==, 12);
  actr_store_close(reader);
  store = open_store(f, NULL);
  gint64 id;
  put(store, ACTR_PRIORITY_NORMAL, "reset", "0", &id, NULL);
  g_autoptr(GPtrArray) batch = take(store, 1);
  g_assert_cmpuint(batch->len, ==, 1);
  ActrStateWrite del = {.key = "total", .value = NULL};
  g_assert_true(actr_store_ack_with_state(store, id, NULL, &del, 1, NULL));
  g_assert_cmpuint(state_total(store), ==, 0);
  /* An ack that fails (unknown id) applies no state. */
  g_autoptr(GBytes) v = g_bytes_new_static("99", 2);
  ActrStateWrite write = {.key = "total", .value = v};
  g_autoptr(GError) error = NULL;
  g_assert_false(actr_store_ack_with_state(store, 4242, NULL, &write, 1, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND);
  g_assert_cmpuint(state_total(store), ==, 0);
  actr_store_close(store);
}

/* actr_store_ack_batch(): several acks (with state) in one commit; a bad
 * ack fails alone; duplicates are answered from the batch's responses. */
static void
test_ack_batch(Fixture *f, gconstpointer data)
{
  ActrStore *store = open_store(f, NULL);
  for (guint i = 0; i < 5; i++) {
    g_autofree char *rid = g_strdup_printf("b-%u", i);
    put(store, ACTR_PRIORITY_NORMAL, rid, "1", NULL, NULL);
  }
  g_autoptr(GPtrArray) batch = take(store, 10);
  g_assert_cmpuint(batch->len, ==, 5);
  ActrStoreStats before, after;
  g_assert_true(actr_store_get_stats(store, &before, NULL));

  ActrStoreAck acks[6] = {{0}};
  GBytes *values[5];
  ActrStateWrite writes[5];
  for (guint i = 0; i < 5; i++) {
    ActrStoreMessage *m = batch->pdata[i];
    g_autofree char *text = g_strdup_printf("%u", i + 1);
    values[i] = g_bytes_new(text, strlen(text));
    writes[i] = (ActrStateWrite){.key = "total", .value = values[i]};
    acks[i] =
        (ActrStoreAck){.id = m->id, .response = values[i], .writes = &writes[i], .n_writes = 1};
  }
  acks[5].id = 4242; /* not in flight: fails alone */
  g_autoptr(GError) error = NULL;
  g_assert_false(actr_store_ack_batch(store, acks, 6, &error));
  g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND);
  for (guint i = 0; i < 5; i++)
    g_assert_no_error(acks[i].error);
  g_assert_error(acks[5].error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND);
  g_clear_error(&acks[5].error);
  g_assert_true(actr_store_get_stats(store, &after, NULL));
  g_assert_cmpuint(after.in_flight, ==, 0);
  g_assert_cmpuint(after.dedup_records, ==, before.dedup_records + 5);
  g_assert_cmpuint(state_total(store), ==, 5); /* the last write wins, in order */

  GBytes *response = NULL;
  g_assert_cmpint(put(store, ACTR_PRIORITY_NORMAL, "b-2", "1", NULL, &response), ==,
                  ACTR_ENQUEUE_DUPLICATE_DONE);
  g_assert_cmpmem(g_bytes_get_data(response, NULL), g_bytes_get_size(response), "3", 1);
  g_bytes_unref(response);
  g_assert_true(actr_store_ack_batch(store, NULL, 0, NULL));
  for (guint i = 0; i < 5; i++)
    g_bytes_unref(values[i]);
  actr_store_close(store);
}

#define ADD(name, fn) g_test_add(name, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  ADD("/store/enqueue-dequeue-ack", test_enqueue_dequeue_ack);
  ADD("/store/dedup/survives-restart", test_dedup_survives_restart);
  ADD("/store/dedup/tell-completion", test_tell_completion);
  ADD("/store/dedup/bounds", test_dedup_bounds);
  ADD("/store/crash-redelivery-and-max-attempts", test_crash_redelivery_and_max_attempts);
  ADD("/store/dlq", test_dead_letter_and_dlq_ops);
  ADD("/store/wrong-state-errors", test_wrong_state_errors);
  ADD("/store/depth-observer", test_depth_observer);
  ADD("/store/group-commit/concurrent", test_concurrent_group_commit);
  ADD("/store/async/normal", test_async_normal);
  ADD("/store/async/full", test_async_full);
  ADD("/store/failure/disk-full", test_disk_full_loses_nothing);
  ADD("/store/failure/corrupt", test_corrupt_file);
  ADD("/store/failure/locked", test_locked_by_another_writer);
  ADD("/store/failure/foreign-database", test_foreign_database_untouched);
  ADD("/store/failure/second-open-keeps-wal", test_failed_second_open_keeps_wal);
  ADD("/store/crash/poison-charges-only-itself", test_poison_charges_only_itself);
  ADD("/store/async/busy-loop", test_async_on_busy_loop);
  ADD("/store/async/blocked-loop", test_async_blocked_loop);
  ADD("/store/async/close-before-callbacks", test_close_before_callbacks);
  ADD("/store/ids-never-reused", test_ids_never_reused);
  ADD("/store/state/effectively-once", test_state_effectively_once);
  ADD("/store/state/ack-batch", test_ack_batch);
  ADD("/store/admin/next-to-running-node", test_admin_next_to_running_node);
  ADD("/store/dlq/requeue-refuses-pending-duplicate", test_dlq_requeue_refuses_pending_duplicate);
  ADD("/store/failure/missing-read-only", test_missing_file_read_only);
  ADD("/store/failure/read-only-directory", test_read_only_directory);
  return g_test_run();
}
