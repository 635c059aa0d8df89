/* store-demo — the crash-safe store at work, in a few readable lines.
 *
 * A "node" process takes messages from the store and handles them; we kill
 * it (SIGKILL, no clean-up) in the middle of a request and show that the
 * message is delivered again after the restart, that a caller retrying an
 * answered request gets the stored reply instead of a second execution, and
 * that a message which crashes the node every time ends in the dead-letter
 * queue instead of crashing it forever.
 *
 * Usage: store-demo DB_PATH */
#include <actr/store.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *db_path;

static ActrStore *
open_store(void)
{
  g_autoptr(GError) error = NULL;
  ActrStore *store = actr_store_open(db_path, NULL, &error);
  if (store == NULL) {
    fprintf(stderr, "store-demo: %s\n", error->message);
    exit(1);
  }
  return store;
}

static gint64
send_request(ActrStore *store, const char *request_id, const char *body)
{
  g_autoptr(GBytes) envelope = g_bytes_new(body, strlen(body));
  ActrInboundMessage msg = {.request_id = request_id, .envelope = envelope};
  ActrEnqueueResult result;
  g_autoptr(GError) error = NULL;
  if (!actr_store_enqueue(store, &msg, &result, &error)) {
    fprintf(stderr, "store-demo: %s\n", error->message);
    exit(1);
  }
  gint64 id = result.id;
  switch (result.outcome) {
  case ACTR_ENQUEUE_ACCEPTED:
    printf("  accepted %-8s as message %" G_GINT64_FORMAT " (durable before this line)\n",
           request_id, id);
    break;
  case ACTR_ENQUEUE_DUPLICATE_PENDING:
    printf("  %-8s is a duplicate: the original is still pending\n", request_id);
    break;
  case ACTR_ENQUEUE_DUPLICATE_DONE:
    if (result.completion == ACTR_COMPLETION_DEAD_LETTERED)
      printf("  %-8s is a duplicate: the original went to the dead-letter queue\n", request_id);
    else
      printf("  %-8s is a duplicate: answered from the store with \"%.*s\", not run again\n",
             request_id, (int)g_bytes_get_size(result.response),
             (const char *)g_bytes_get_data(result.response, NULL));
    break;
  }
  actr_enqueue_result_clear(&result);
  return id;
}

/* The node: handles messages.  "crash" kills the process on its first
 * delivery only (a transient fault); "poison" kills it every time. */
static void
run_node(void)
{
  ActrStore *store = open_store();
  for (;;) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) batch = actr_store_dequeue(store, 1, &error);
    if (batch == NULL || batch->len == 0)
      break;
    ActrStoreMessage *m = batch->pdata[0];
    g_autofree char *body = g_strndup(g_bytes_get_data(m->envelope, NULL), m->envelope_size);
    printf("  node handles %-8s (delivery %u): \"%s\"\n", m->request_id, m->attempts, body);
    fflush(stdout);
    if ((strcmp(body, "crash") == 0 && m->attempts == 1) || strcmp(body, "poison") == 0) {
      printf("  node crashes while handling it (SIGKILL)\n");
      fflush(stdout);
      kill(getpid(), SIGKILL);
    }
    g_autofree char *reply = g_ascii_strup(body, -1);
    g_autoptr(GBytes) response = g_bytes_new(reply, strlen(reply));
    actr_store_ack(store, m->id, response, NULL);
    printf("  node replied \"%s\" and acked it (reply stored with the ack)\n", reply);
  }
  actr_store_close(store);
  exit(0);
}

static void
start_node(const char *why)
{
  printf("- %s\n", why);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0)
    run_node();
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    printf("  (node process died by signal %d)\n", WTERMSIG(status));
}

/* Shows the store's own log lines inline, where they happen. */
static void
print_store_log(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  const char *text = strstr(message, ": ");
  printf("  [store] %s\n", text && g_str_has_prefix(message, db_path) ? text + 2 : message);
  fflush(stdout);
}

int
main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: %s DB_PATH\n", argv[0]);
    return 2;
  }
  db_path = argv[1];
  setvbuf(stdout, NULL, _IOLBF, 0);
  g_log_set_handler("actr-store", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_WARNING, print_store_log, NULL);

  printf("- callers send three requests\n");
  ActrStore *store = open_store();
  send_request(store, "req-1", "hello");
  send_request(store, "req-2", "crash");
  send_request(store, "req-3", "world");
  actr_store_close(store);

  start_node("the node starts; req-2 will crash it");
  store = open_store();
  printf("- after the crash the store still holds:\n");
  g_autoptr(GPtrArray) list = actr_store_list(store, 0, NULL);
  for (guint i = 0; i < list->len; i++) {
    ActrStoreMessage *m = list->pdata[i];
    printf("  message %" G_GINT64_FORMAT " %-8s %s, %u deliveries so far\n", m->id, m->request_id,
           m->in_flight ? "in flight" : "queued", m->attempts);
  }
  actr_store_close(store);

  printf("- a caller retries req-1 after the crash\n");
  store = open_store();
  send_request(store, "req-1", "hello");
  printf("- a poison message arrives\n");
  send_request(store, "req-4", "poison");
  actr_store_close(store);

  for (int run = 1; run <= 4; run++) {
    g_autofree char *why = g_strdup_printf("node restart #%d", run);
    start_node(why);
  }

  store = open_store();
  printf("- req-4's caller retries\n");
  send_request(store, "req-4", "poison");
  g_autoptr(GPtrArray) dlq = actr_store_dlq_list(store, NULL, 0, NULL);
  printf("- dead-letter queue:\n");
  for (guint i = 0; i < dlq->len; i++) {
    ActrDlqRecord *r = dlq->pdata[i];
    printf("  #%" G_GINT64_FORMAT " %s [%s] %s\n", r->id, r->request_id, r->category,
           r->error_message);
  }
  actr_store_close(store);
  return 0;
}
