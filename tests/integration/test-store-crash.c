/* Crash test for the message store: a worker process enqueues and processes
 * messages under load while this test SIGKILLs it at random points, many
 * rounds.  After every kill it reopens the store and checks:
 *   - every enqueue that had returned is still pending, or was completed;
 *   - nothing acked is handed out again;
 *   - a request_id retried after the crash is answered from the store (the
 *     stored response for acked ones) instead of entering the inbox again.
 * Usage: test-store-crash WORKER_PATH [--tap] */
#include <actr/store.h>

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *worker_path;

typedef struct {
  GHashTable *enqueued; /* rid -> itself */
  GHashTable *acked;    /* rid -> itself */
  guint64 deliveries;
  guint64 redeliveries; /* handed out again after a crash, before any ack: allowed */
} Ledger;

/* Reads the worker log from @offset and checks ordering rules. */
static void
scan_log(Ledger *ledger, const char *log_path, gsize *offset)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(log_path, &text, &len, NULL));
  /* A SIGKILL can only cut the log between whole lines (one write each). */
  g_assert_true(len == 0 || text[len - 1] == '\n');
  g_auto(GStrv) lines = g_strsplit(text + *offset, "\n", -1);
  *offset = len;
  for (guint i = 0; lines[i] && lines[i][0]; i++) {
    const char *rid = lines[i] + 2;
    switch (lines[i][0]) {
    case 'E':
      g_hash_table_add(ledger->enqueued, g_strdup(rid));
      break;
    case 'D':
      if (g_hash_table_contains(ledger->acked, rid))
        g_error("acked message %s was delivered again", rid);
      ledger->deliveries++;
      break;
    case 'A':
      g_assert_false(g_hash_table_contains(ledger->acked, rid));
      g_hash_table_add(ledger->acked, g_strdup(rid));
      break;
    default:
      g_error("bad log line '%s'", lines[i]);
    }
  }
}

/* Retries every enqueued request_id against the reopened store. */
static void
verify_store(Ledger *ledger, const char *db_path)
{
  g_autoptr(GError) error = NULL;
  ActrStore *store = actr_store_open(db_path, NULL, &error);
  g_assert_no_error(error);
  GHashTableIter iter;
  gpointer key;
  guint pending = 0, done = 0, dead = 0;
  g_hash_table_iter_init(&iter, ledger->enqueued);
  while (g_hash_table_iter_next(&iter, &key, NULL)) {
    const char *rid = key;
    g_autoptr(GBytes) envelope = g_bytes_new(rid, strlen(rid));
    ActrInboundMessage msg = {.request_id = rid, .envelope = envelope};
    ActrEnqueueResult r;
    g_assert_true(actr_store_enqueue(store, &msg, &r, &error));
    g_assert_no_error(error);
    if (r.outcome == ACTR_ENQUEUE_ACCEPTED)
      g_error("request %s was accepted before the crash but is gone", rid);
    if (g_hash_table_contains(ledger->acked, rid)) {
      g_assert_cmpint(r.outcome, ==, ACTR_ENQUEUE_DUPLICATE_DONE);
      g_assert_cmpint(r.completion, ==, ACTR_COMPLETION_REPLIED);
      g_autofree char *expect = g_strdup_printf("resp-%s", rid);
      g_assert_cmpmem(g_bytes_get_data(r.response, NULL), g_bytes_get_size(r.response), expect,
                      strlen(expect));
    }
    if (r.outcome == ACTR_ENQUEUE_DUPLICATE_PENDING)
      pending++;
    else if (r.completion == ACTR_COMPLETION_DEAD_LETTERED)
      dead++;
    else
      done++;
    actr_enqueue_result_clear(&r);
  }
  g_test_message("store holds %u pending, %u done, %u dead-lettered", pending, done, dead);
  actr_store_close(store);
}

static void
test_kill_rounds(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp("actr-crash-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *db_path = g_build_filename(dir, "mailbox.db", NULL);
  g_autofree char *log_path = g_build_filename(dir, "worker.log", NULL);
  Ledger ledger = {
      .enqueued = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
      .acked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
  };
  GRand *rand = g_rand_new_with_seed((guint32)g_test_rand_int());
  guint rounds = g_test_slow() ? 200 : 40;
  gsize offset = 0;
  for (guint round = 0; round < rounds; round++) {
    g_autofree char *base = g_strdup_printf("%u", round * 10000000u);
    const char *durability = round % 4 == 3 ? "full" : "normal";
    const char *argv[] = {worker_path, db_path, log_path, base, durability, NULL};
    GPid pid;
    g_assert_true(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &pid, &error));
    g_assert_no_error(error);
    g_usleep((gulong)g_rand_int_range(rand, 20000, 120000));
    kill(pid, SIGKILL);
    int status = 0;
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_spawn_close_pid(pid);
    if (!WIFSIGNALED(status))
      g_error("worker exited on its own (status %d) in round %u", status, round);
    scan_log(&ledger, log_path, &offset);
    verify_store(&ledger, db_path);
  }
  g_test_message("%u rounds: %u enqueued, %u acked, %" G_GUINT64_FORMAT " deliveries", rounds,
                 g_hash_table_size(ledger.enqueued), g_hash_table_size(ledger.acked),
                 ledger.deliveries);
  g_assert_cmpuint(g_hash_table_size(ledger.acked), >, 0);
  g_rand_free(rand);
  g_hash_table_unref(ledger.enqueued);
  g_hash_table_unref(ledger.acked);
  const char *suffixes[] = {"", "-wal", "-shm"};
  for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++) {
    g_autofree char *p = g_strconcat(db_path, suffixes[i], NULL);
    g_unlink(p);
  }
  g_unlink(log_path);
  g_rmdir(dir);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (argc < 2) {
    g_printerr("usage: %s WORKER_PATH\n", argv[0]);
    return 2;
  }
  worker_path = argv[1];
  g_test_add_func("/store/crash/kill-9-rounds", test_kill_rounds);
  return g_test_run();
}
