/* bench-store — durable accepts per second of the actr store, against raw
 * SQLite inserts batched 100 per transaction, in the same run and on the
 * same file system.
 *
 * Each producer models a node's I/O loop: it keeps WINDOW enqueues in flight
 * with actr_store_enqueue_async() on its own GMainContext (messages arriving
 * from many peers).  A second row uses the blocking actr_store_enqueue(),
 * one message in flight per producer, for comparison.  The baseline inserts
 * rows of the same payload size into a plain rowid table with the same WAL
 * and synchronous settings.
 *
 * Usage: bench-store [--dir DIR] [--seconds S] [--producers N] [--window W]
 *                    [--payload BYTES] */
#include <actr/store.h>

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-util.h"

static char *opt_dir = NULL;
static double opt_seconds = 1.0;
static gint opt_repeat = 3;
static gint opt_producers = 8;
static gint opt_window = 64;
static gint opt_payload = 256;
static char *opt_mode = NULL;

static char *
fresh_path(const char *name)
{
  char *path = g_build_filename(opt_dir, name, NULL);
  const char *suffixes[] = {"", "-wal", "-shm"};
  for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++) {
    g_autofree char *p = g_strconcat(path, suffixes[i], NULL);
    g_unlink(p);
  }
  return path;
}

static void
remove_db(const char *path)
{
  const char *suffixes[] = {"", "-wal", "-shm"};
  for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++) {
    g_autofree char *p = g_strconcat(path, suffixes[i], NULL);
    g_unlink(p);
  }
}

static void
check(int rc, sqlite3 *db, const char *what)
{
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "bench-store: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}

/* Raw SQLite: rows per second, 100 inserts per transaction.  With
 * @same_columns the rows carry what an inbox row carries (priority, time,
 * a 16-byte request id, the envelope), else the envelope alone. */
static double
run_baseline(gboolean full, gboolean same_columns)
{
  g_autofree char *path = fresh_path("baseline.db");
  sqlite3 *db;
  check(sqlite3_open(path, &db), db, "open");
  check(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), db, "wal");
  check(sqlite3_exec(db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL, NULL,
                     NULL),
        db, "sync");
  check(sqlite3_exec(db,
                     same_columns
                         ? "CREATE TABLE raw(id INTEGER PRIMARY KEY, priority INTEGER, "
                           "state INTEGER DEFAULT 0, attempts INTEGER DEFAULT 0, "
                           "enqueued_ns INTEGER, request_id BLOB, payload BLOB NOT NULL)"
                         : "CREATE TABLE raw(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)",
                     NULL, NULL, NULL),
        db, "create");
  sqlite3_stmt *ins;
  check(sqlite3_prepare_v2(db,
                           same_columns ? "INSERT INTO raw(payload, priority, enqueued_ns, "
                                          "request_id) VALUES (?1, 0, ?2, ?3)"
                                        : "INSERT INTO raw(payload) VALUES (?1)",
                           -1, &ins, NULL),
        db, "prep");
  guint8 rid[16];
  memset(rid, 0x5a, sizeof rid);
  g_autofree char *payload = g_malloc0((gsize)opt_payload);
  guint64 rows = 0;
  gint64 start = g_get_monotonic_time();
  gint64 end = start + (gint64)(opt_seconds * G_USEC_PER_SEC);
  gint64 now;
  do {
    check(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), db, "begin");
    for (int i = 0; i < 100; i++) {
      sqlite3_bind_blob(ins, 1, payload, opt_payload, SQLITE_STATIC);
      if (same_columns) {
        sqlite3_bind_int64(ins, 2, g_get_real_time() * 1000);
        rid[0] = (guint8)i;
        sqlite3_bind_blob(ins, 3, rid, sizeof rid, SQLITE_TRANSIENT);
      }
      check(sqlite3_step(ins), db, "insert");
      sqlite3_reset(ins);
    }
    check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
    rows += 100;
  } while ((now = g_get_monotonic_time()) < end);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  remove_db(path);
  return (double)rows / ((double)(now - start) / G_USEC_PER_SEC);
}

typedef struct {
  ActrStore *store;
  guint id;
  gboolean async;
  gint64 end_us;
  guint64 accepted;
  guint in_flight;
  guint64 next;
  GMainLoop *loop;
  GBytes *payload;
} Producer;

static void submit_next(Producer *p);

static void
on_accepted(ActrStore *store, const ActrEnqueueResult *result, const GError *error, gpointer data)
{
  Producer *p = data;
  if (error) {
    fprintf(stderr, "bench-store: enqueue: %s\n", error->message);
    exit(1);
  }
  p->accepted++;
  p->in_flight--;
  if (g_get_monotonic_time() < p->end_us)
    submit_next(p);
  else if (p->in_flight == 0)
    g_main_loop_quit(p->loop);
}

static void
submit_next(Producer *p)
{
  char rid[48];
  g_snprintf(rid, sizeof rid, "%08x-0000-4000-8000-%012" G_GINT64_MODIFIER "x", p->id, p->next++);
  ActrInboundMessage msg = {.request_id = rid, .envelope = p->payload};
  p->in_flight++;
  actr_store_enqueue_async(p->store, &msg, NULL, on_accepted, p);
}

static gpointer
producer_main(gpointer data)
{
  Producer *p = data;
  if (p->async) {
    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    p->loop = g_main_loop_new(ctx, FALSE);
    for (gint i = 0; i < opt_window; i++)
      submit_next(p);
    g_main_loop_run(p->loop);
    g_main_loop_unref(p->loop);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    return NULL;
  }
  while (g_get_monotonic_time() < p->end_us) {
    char rid[48];
    g_snprintf(rid, sizeof rid, "%08x-0000-4000-8000-%012" G_GINT64_MODIFIER "x", p->id, p->next++);
    ActrInboundMessage msg = {.request_id = rid, .envelope = p->payload};
    ActrEnqueueResult r;
    g_autoptr(GError) error = NULL;
    if (!actr_store_enqueue(p->store, &msg, &r, &error)) {
      fprintf(stderr, "bench-store: enqueue: %s\n", error->message);
      exit(1);
    }
    actr_enqueue_result_clear(&r);
    p->accepted++;
  }
  return NULL;
}

/* Our store: accepts per second with opt_producers concurrent producers. */
static double
run_store(gboolean full, gboolean async)
{
  g_autofree char *path = fresh_path("store.db");
  ActrStoreOptions options;
  actr_store_options_init(&options);
  options.durability = full ? ACTR_STORE_DURABILITY_FULL : ACTR_STORE_DURABILITY_NORMAL;
  options.dedup_max_entries = 1000000;
  g_autoptr(GError) error = NULL;
  ActrStore *store = actr_store_open(path, &options, &error);
  if (store == NULL) {
    fprintf(stderr, "bench-store: %s\n", error->message);
    exit(1);
  }
  g_autofree char *bytes = g_malloc0((gsize)opt_payload);
  GBytes *payload = g_bytes_new(bytes, (gsize)opt_payload);
  Producer *producers = g_new0(Producer, opt_producers);
  GThread **threads = g_new(GThread *, opt_producers);
  gint64 start = g_get_monotonic_time();
  for (gint i = 0; i < opt_producers; i++) {
    producers[i] = (Producer){.store = store,
                              .id = (guint)i,
                              .async = async,
                              .end_us = start + (gint64)(opt_seconds * G_USEC_PER_SEC),
                              .payload = payload};
    threads[i] = g_thread_new("producer", producer_main, &producers[i]);
  }
  guint64 total = 0;
  for (gint i = 0; i < opt_producers; i++) {
    g_thread_join(threads[i]);
    total += producers[i].accepted;
  }
  gint64 elapsed = g_get_monotonic_time() - start;
  actr_store_close(store);
  remove_db(path);
  g_bytes_unref(payload);
  g_free(producers);
  g_free(threads);
  return (double)total / ((double)elapsed / G_USEC_PER_SEC);
}

int
main(int argc, char **argv)
{
  GOptionEntry entries[] = {
      {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &opt_dir,
       "Directory for the databases (default: a temp dir)", "DIR"},
      {"seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "Seconds per measurement (default 2)",
       "S"},
      {"producers", 'p', 0, G_OPTION_ARG_INT, &opt_producers, "Concurrent producers (default 8)",
       "N"},
      {"window", 'w', 0, G_OPTION_ARG_INT, &opt_window,
       "Enqueues in flight per async producer (default 64)", "W"},
      {"payload", 'b', 0, G_OPTION_ARG_INT, &opt_payload, "Envelope size in bytes (default 256)",
       "BYTES"},
      {"mode", 'm', 0, G_OPTION_ARG_STRING, &opt_mode, "Only this durability mode: normal or full",
       "MODE"},
      {"repeat", 'r', 0, G_OPTION_ARG_INT, &opt_repeat,
       "Interleaved repetitions; medians are reported (default 3)", "N"},
      G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("- durable accepts/s vs raw SQLite");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    fprintf(stderr, "bench-store: %s\n", error->message);
    return 2;
  }
  g_autofree char *tmp = NULL;
  if (opt_dir == NULL)
    opt_dir = tmp = g_dir_make_tmp("actr-bench-XXXXXX", NULL);

  printf("store benchmark: %d producers, window %d, %d-byte envelopes, %.1f s per measurement, "
         "bench_median of %d interleaved runs, dir %s\n",
         opt_producers, opt_window, opt_payload, opt_seconds, MAX(opt_repeat, 1), opt_dir);
  printf("baselines: raw = envelope-only rows, 100 per transaction (the target's baseline);\n"
         "           raw+meta = rows with an inbox row's columns, 100 per transaction\n");
  printf("%-7s %-32s %10s %10s %6s %10s %6s\n", "mode", "ours", "ours/s", "raw/s", "ratio",
         "raw+meta/s", "ratio");
  for (int full = 0; full <= 1; full++) {
    const char *mode = full ? "full" : "normal";
    if (opt_mode && g_strcmp0(opt_mode, mode) != 0)
      continue;
    /* Interleaved repetitions: the disk and the other core change speed
     * over seconds, so each repetition measures all four back to back and
     * ratios are taken within a repetition; medians are reported. */
    guint n = (guint)MAX(opt_repeat, 1);
    double *v[6];
    for (guint k = 0; k < G_N_ELEMENTS(v); k++)
      v[k] = g_new0(double, n);
    for (guint i = 0; i < n; i++) {
      v[0][i] = run_baseline(full, FALSE);
      v[1][i] = run_baseline(full, TRUE);
      v[2][i] = run_store(full, TRUE);
      v[3][i] = run_store(full, FALSE);
      v[4][i] = v[2][i] / v[0][i];
      v[5][i] = v[2][i] / v[1][i];
    }
    double baseline = bench_median(v[0], n), meta = bench_median(v[1], n);
    double async = bench_median(v[2], n), sync = bench_median(v[3], n);
    double async_ratio = bench_median(v[4], n), async_meta_ratio = bench_median(v[5], n);
    for (guint k = 0; k < G_N_ELEMENTS(v); k++)
      g_free(v[k]);
    printf("%-7s %-32s %10.0f %10.0f %6.2f %10.0f %6.2f\n", mode, "async (I/O-loop producers)",
           async, baseline, async_ratio, meta, async_meta_ratio);
    printf("%-7s %-32s %10.0f %10.0f %6.2f %10.0f %6.2f\n", mode, "sync (1 in flight per producer)",
           sync, baseline, sync / baseline, meta, sync / meta);
    fflush(stdout);
  }
  printf("target: async ratio >= 0.90 in both modes\n");
  if (tmp) {
    g_rmdir(tmp);
    opt_dir = NULL;
  }
  return 0;
}
