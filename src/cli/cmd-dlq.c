/* actr CLI — "actr dlq list|show|requeue|delete|purge": the dead-letter
 * queue of a node's store.  list and show open the store read-only (they
 * work while the node runs); requeue, delete and purge open it for writing,
 * which fails while a node holds the store. */
#include "cmd-dlq.h"

#include <stdio.h>

#include "cli-common.h"
#include "cli-json.h"

#define DEFAULT_LIMIT      100
#define ERROR_COLUMN_CHARS 60

static int
parse_done(int rc)
{
  return rc == ACTR_CLI_HELP_SHOWN ? ACTR_EXIT_OK : rc;
}

static const char *
nonempty(const char *text)
{
  return text != NULL && text[0] != '\0' ? text : NULL;
}

static void
json_record(ActrJsonWriter *json, const ActrDlqRecord *r)
{
  actr_json_begin_object(json);
  actr_json_member_int(json, "id", r->id);
  actr_json_member_string(json, "category", r->category);
  actr_json_member_string(json, "error_message", r->error_message);
  if (r->original_message_id != 0)
    actr_json_member_int(json, "original_message_id", r->original_message_id);
  else
    actr_json_member_null(json, "original_message_id");
  actr_json_member_string(json, "request_id", nonempty(r->request_id));
  actr_json_member_string(json, "trace_id", nonempty(r->trace_id));
  actr_json_member_base64(json, "sender", r->sender);
  actr_json_member_string(json, "priority", actr_cli_priority_name(r->priority));
  actr_json_member_uint(json, "attempts", r->attempts);
  actr_cli_json_time(json, "enqueued", r->enqueued_ns);
  actr_cli_json_time(json, "created", r->created_ns);
  actr_json_member_uint(json, "redrive_attempts", r->redrive_attempts);
  actr_cli_json_time(json, "last_redrive", r->last_redrive_ns);
  actr_json_member_uint(json, "raw_size", r->raw_size);
  if (r->raw_bytes != NULL)
    actr_json_member_base64(json, "raw", r->raw_bytes);
  actr_json_end_object(json);
}

/* Prints the one-line "no record" diagnostic for NOT_FOUND, any other store
 * error as usual; returns the exit code. */
static int
record_failure(const char *db, gint64 id, const GError *error)
{
  if (g_error_matches(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND)) {
    actr_cli_error("%s: no dead letter with ID %" G_GINT64_FORMAT, db, id);
    return ACTR_EXIT_FAILURE;
  }
  return actr_cli_store_failure(db, error);
}

/* Parses "ID --db PATH ..." for the commands that take one record id. */
static int
parse_id_command(const ActrCliHelp *help, const ActrCliOption *options, int argc, char **argv,
                 const char **db, gint64 *id)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  int rc;

  rc = actr_cli_parse(help, options, argc, argv, positionals, 1);
  if (rc != 0)
    return rc;
  if (positionals->len == 0)
    return actr_cli_usage_error(help->command, "missing dead-letter ID");
  if ((rc = actr_cli_require_db(help->command, *db)) != 0)
    return rc;
  if (!actr_cli_parse_id(help->command, g_ptr_array_index(positionals, 0), id))
    return ACTR_EXIT_USAGE;
  return 0;
}

/* ---- dlq list ------------------------------------------------------------- */

static const ActrCliHelp list_help = {
    .command = "dlq list",
    .summary = "list the dead letters of a node",
    .synopsis = "--db PATH [--category C] [--limit N] [--json]",
    .description =
        "Lists the dead-letter queue, newest first.  A message lands there when it could not be "
        "decoded (category protobuf_decode) or was delivered the maximum number of times "
        "without being acknowledged (category max_attempts), among other reasons.\n"
        "\n"
        "Columns: ID (dead-letter id), CATEGORY, ATTEMPTS (deliveries before it was "
        "dead-lettered), BYTES (size of the original envelope in bytes), CREATED (local time it "
        "entered the queue, ISO 8601), AGE, REQUEST_ID (- for none) and ERROR (the reason, cut "
        "to 60 characters; 'actr dlq show ID' prints it whole).\n"
        "\n"
        "The store is opened read-only: the command works while the node runs.",
    .examples = "  actr dlq list --db node-data/mailbox.db\n"
                "  actr dlq list --db node-data/mailbox.db --category max_attempts --json",
};

static int
cmd_list(int argc, char **argv)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(ActrStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = NULL;
  const char *db = NULL;
  const char *category = NULL;
  gboolean json = FALSE;
  guint limit = DEFAULT_LIMIT;
  gboolean truncated = FALSE;
  gint64 now_ns = actr_cli_now_ns();
  int rc;
  const ActrCliOption options[] = {
      {"db", 0, ACTR_CLI_OPT_STRING, &db, "PATH", ACTR_CLI_DB_HELP},
      {"category", 'c', ACTR_CLI_OPT_STRING, &category, "C",
       "Show only records of category C (for example protobuf_decode or max_attempts)."},
      {"limit", 'n', ACTR_CLI_OPT_UINT, &limit, "N",
       "Show at most N records (default 100; 0 shows all).  When more exist, a note on stderr "
       "(on a terminal) and \"truncated\": true in JSON say so."},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(&list_help, options, argc, argv, positionals, 0);
  if (rc != 0)
    return parse_done(rc);
  if ((rc = actr_cli_require_db(list_help.command, db)) != 0)
    return rc;
  if ((rc = actr_cli_open_store(db, FALSE, &store)) != 0)
    return rc;
  records = actr_store_dlq_list(store, category, limit == 0 || limit == G_MAXUINT ? 0 : limit + 1,
                                &error);
  if (records == NULL)
    return actr_cli_store_failure(db, error);
  if (limit != 0 && records->len > limit) {
    g_ptr_array_set_size(records, limit);
    truncated = TRUE;
  }

  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();

    actr_json_begin_object(w);
    actr_json_member_string(w, "database", db);
    actr_json_member_string(w, "category", category);
    actr_json_member_uint(w, "count", records->len);
    actr_json_member_bool(w, "truncated", truncated);
    actr_json_key(w, "records");
    actr_json_begin_array(w);
    for (guint i = 0; i < records->len; i++)
      json_record(w, g_ptr_array_index(records, i));
    actr_json_end_array(w);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    static const char *const headers[] = {
        ">ID", "CATEGORY", ">ATTEMPTS", ">BYTES", "CREATED", "AGE", "REQUEST_ID", "ERROR", NULL,
    };
    g_autoptr(ActrCliTable) table = actr_cli_table_new(headers);

    for (guint i = 0; i < records->len; i++) {
      const ActrDlqRecord *r = g_ptr_array_index(records, i);

      actr_cli_table_addf(table, "%" G_GINT64_FORMAT, r->id);
      actr_cli_table_take(table, actr_cli_printable(r->category));
      actr_cli_table_addf(table, "%u", r->attempts);
      actr_cli_table_addf(table, "%" G_GSIZE_FORMAT, r->raw_size);
      actr_cli_table_take(table, actr_cli_format_local_time(r->created_ns));
      actr_cli_table_take(table, actr_cli_format_age(r->created_ns, now_ns));
      actr_cli_table_take(table, actr_cli_printable(r->request_id));
      actr_cli_table_take(table,
                          actr_cli_printable_truncated(r->error_message, ERROR_COLUMN_CHARS));
    }
    actr_cli_table_print(table, stdout);
    if (records->len == 0)
      actr_cli_status("the dead-letter queue is empty");
    else if (truncated)
      actr_cli_status("showing the newest %u records; use --limit 0 to show all", limit);
  }
  return ACTR_EXIT_OK;
}

/* ---- dlq show ------------------------------------------------------------- */

static const ActrCliHelp show_help = {
    .command = "dlq show",
    .summary = "show one dead letter with its original bytes",
    .synopsis = "ID --db PATH [--json | --raw]",
    .description =
        "Shows dead letter ID: why it was dead-lettered (category and error message), the "
        "message it came from (original id, request id, trace id, sender, priority, delivery "
        "attempts, when it was accepted and when it was dead-lettered), how often it was "
        "requeued, and the original envelope bytes as a hex dump.  With --json the sender and "
        "bytes are base64 strings; with --raw only the original bytes are written to stdout.\n"
        "\n"
        "The store is opened read-only: the command works while the node runs.",
    .exit_status =
        "0  Success.\n"
        "1  Runtime failure: no dead letter with that ID, or the database is missing, corrupt "
        "or unreadable.\n"
        "2  Usage error: missing or malformed ID, missing --db, unknown option, or --raw with "
        "stdout on a terminal.",
    .examples = "  actr dlq show 7 --db node-data/mailbox.db\n"
                "  actr dlq show 7 --db node-data/mailbox.db --json | jq -r .record.raw | "
                "base64 -d",
};

static void
print_record(const ActrDlqRecord *r)
{
  gint64 now_ns = actr_cli_now_ns();
  g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, r->id);
  g_autofree char *category = actr_cli_printable(r->category);
  g_autofree char *message = actr_cli_printable(r->error_message);
  g_autofree char *original = r->original_message_id != 0
                                  ? g_strdup_printf("%" G_GINT64_FORMAT, r->original_message_id)
                                  : g_strdup("-");
  g_autofree char *request_id = actr_cli_printable(r->request_id);
  g_autofree char *trace_id = actr_cli_printable(r->trace_id);
  g_autofree char *sender = actr_cli_format_short_bytes(r->sender);
  g_autofree char *attempts = g_strdup_printf("%u", r->attempts);
  g_autofree char *enqueued = actr_cli_format_time_and_age(r->enqueued_ns, now_ns);
  g_autofree char *created = actr_cli_format_time_and_age(r->created_ns, now_ns);
  g_autofree char *redrives = g_strdup_printf("%u", r->redrive_attempts);
  g_autofree char *last_redrive = actr_cli_format_time_and_age(r->last_redrive_ns, now_ns);
  g_autofree char *size = g_strdup_printf("%" G_GSIZE_FORMAT " bytes", r->raw_size);

  actr_cli_print_field(stdout, 17, "id", id);
  actr_cli_print_field(stdout, 17, "category", category);
  actr_cli_print_field(stdout, 17, "error", message);
  actr_cli_print_field(stdout, 17, "original message", original);
  actr_cli_print_field(stdout, 17, "request id", request_id);
  actr_cli_print_field(stdout, 17, "trace id", trace_id);
  actr_cli_print_field(stdout, 17, "sender", sender);
  actr_cli_print_field(stdout, 17, "priority", actr_cli_priority_name(r->priority));
  actr_cli_print_field(stdout, 17, "attempts", attempts);
  actr_cli_print_field(stdout, 17, "enqueued", enqueued);
  actr_cli_print_field(stdout, 17, "dead-lettered", created);
  actr_cli_print_field(stdout, 17, "requeued", redrives);
  actr_cli_print_field(stdout, 17, "last requeue", last_redrive);
  actr_cli_print_field(stdout, 17, "raw bytes", size);
  actr_cli_hexdump(stdout, r->raw_bytes, 2);
}

static int
cmd_show(int argc, char **argv)
{
  g_autoptr(ActrStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrDlqRecord) record = NULL;
  const char *db = NULL;
  gboolean json = FALSE;
  gboolean raw = FALSE;
  gint64 id = 0;
  int rc;
  const ActrCliOption options[] = {
      {"db", 0, ACTR_CLI_OPT_STRING, &db, "PATH", ACTR_CLI_DB_HELP},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {"raw", 0, ACTR_CLI_OPT_FLAG, &raw, NULL,
       "Write only the original envelope bytes to stdout, unchanged (refused when stdout is a "
       "terminal)."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = parse_id_command(&show_help, options, argc, argv, &db, &id);
  if (rc != 0)
    return parse_done(rc);
  if (json && raw)
    return actr_cli_usage_error(show_help.command, "--json and --raw cannot be combined");
  if (raw && actr_cli_stdout_is_tty())
    return actr_cli_usage_error(show_help.command,
                                "refusing to write raw bytes to a terminal; redirect stdout");
  if ((rc = actr_cli_open_store(db, FALSE, &store)) != 0)
    return rc;
  record = actr_store_dlq_get(store, id, &error);
  if (record == NULL)
    return record_failure(db, id, error);

  if (raw) {
    gsize size = 0;
    const void *data =
        record->raw_bytes != NULL ? g_bytes_get_data(record->raw_bytes, &size) : NULL;

    if (size > 0)
      fwrite(data, 1, size, stdout);
  } else if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();

    actr_json_begin_object(w);
    actr_json_member_string(w, "database", db);
    actr_json_key(w, "record");
    json_record(w, record);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    print_record(record);
  }
  return ACTR_EXIT_OK;
}

/* ---- dlq requeue ---------------------------------------------------------- */

static const char write_exit_status[] =
    "0  Success.\n"
    "1  Runtime failure: no dead letter with that ID, another writer kept the database locked "
    "for 5 s, or the database is missing, corrupt or unreadable.\n"
    "2  Usage error: missing or malformed ID, missing --db, unknown option.";

static const ActrCliHelp requeue_help = {
    .command = "dlq requeue",
    .summary = "move a dead letter back into the inbox",
    .synopsis = "ID --db PATH [--json]",
    .description =
        "Moves dead letter ID back into the inbox as a queued message with zero delivery "
        "attempts, keeping its priority, request id, sender and bytes; its request id counts "
        "as pending again.  Prints the id of the new inbox message.\n"
        "\n"
        "Works whether or not the node that owns the mailbox is running: the change commits "
        "as its own transaction, and a running node picks it up before its next commit (or "
        "within about a second when idle) and delivers the message; a stopped node delivers "
        "it when it starts.  Refused when the same request id is already pending again (its "
        "caller retried it).",
    .exit_status = write_exit_status,
    .examples = "  actr dlq requeue 7 --db node-data/mailbox.db",
};

static int
cmd_requeue(int argc, char **argv)
{
  g_autoptr(ActrStore) store = NULL;
  g_autoptr(GError) error = NULL;
  const char *db = NULL;
  gboolean json = FALSE;
  gint64 id = 0;
  gint64 message_id = 0;
  int rc;
  const ActrCliOption options[] = {
      {"db", 0, ACTR_CLI_OPT_STRING, &db, "PATH", ACTR_CLI_DB_HELP},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = parse_id_command(&requeue_help, options, argc, argv, &db, &id);
  if (rc != 0)
    return parse_done(rc);
  if ((rc = actr_cli_open_store(db, TRUE, &store)) != 0)
    return rc;
  if (!actr_store_dlq_requeue(store, id, &message_id, &error))
    return record_failure(db, id, error);

  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();

    actr_json_begin_object(w);
    actr_json_member_string(w, "database", db);
    actr_json_member_int(w, "dlq_id", id);
    actr_json_member_int(w, "message_id", message_id);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    printf("requeued dead letter %" G_GINT64_FORMAT " as message %" G_GINT64_FORMAT "\n", id,
           message_id);
  }
  return ACTR_EXIT_OK;
}

/* ---- dlq delete ----------------------------------------------------------- */

static const ActrCliHelp delete_help = {
    .command = "dlq delete",
    .summary = "delete one dead letter",
    .synopsis = "ID --db PATH [--json]",
    .description =
        "Deletes dead letter ID for good.  Its request id stays recorded as completed "
        "(dead-lettered) until the dedup record expires, so a retry of the same request is "
        "still recognised as a duplicate.\n"
        "\n"
        "Works whether or not the node that owns the mailbox is running.",
    .exit_status = write_exit_status,
    .examples = "  actr dlq delete 7 --db node-data/mailbox.db",
};

static int
cmd_delete(int argc, char **argv)
{
  g_autoptr(ActrStore) store = NULL;
  g_autoptr(GError) error = NULL;
  const char *db = NULL;
  gboolean json = FALSE;
  gint64 id = 0;
  int rc;
  const ActrCliOption options[] = {
      {"db", 0, ACTR_CLI_OPT_STRING, &db, "PATH", ACTR_CLI_DB_HELP},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = parse_id_command(&delete_help, options, argc, argv, &db, &id);
  if (rc != 0)
    return parse_done(rc);
  if ((rc = actr_cli_open_store(db, TRUE, &store)) != 0)
    return rc;
  if (!actr_store_dlq_delete(store, id, &error))
    return record_failure(db, id, error);

  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();

    actr_json_begin_object(w);
    actr_json_member_string(w, "database", db);
    actr_json_member_int(w, "dlq_id", id);
    actr_json_member_bool(w, "deleted", TRUE);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    printf("deleted dead letter %" G_GINT64_FORMAT "\n", id);
  }
  return ACTR_EXIT_OK;
}

/* ---- dlq purge ------------------------------------------------------------ */

static const ActrCliHelp purge_help = {
    .command = "dlq purge",
    .summary = "delete every dead letter",
    .synopsis = "--db PATH [--yes] [--json]",
    .description =
        "Deletes every record of the dead-letter queue and prints how many were removed.  This "
        "cannot be undone.\n"
        "\n"
        "Without --yes the command asks for confirmation on the terminal, showing the number "
        "of records; any answer other than y or yes cancels.  When stdin is not a terminal "
        "(scripts, CI) --yes is required.\n"
        "\n"
        "Works whether or not the node that owns the mailbox is running.",
    .exit_status = "0  Success (also when the queue was already empty).\n"
                   "1  Runtime failure: the database is missing, corrupt, unreadable or kept "
                   "locked by another writer for 5 s, or the purge was cancelled at the prompt.\n"
                   "2  Usage error: missing --db, unknown option, or no --yes while stdin is not a "
                   "terminal.",
    .examples = "  actr dlq purge --db node-data/mailbox.db\n"
                "  actr dlq purge --db node-data/mailbox.db --yes --json",
};

/* Asks on the terminal; TRUE when the user answered y or yes. */
static gboolean
confirm_purge(const char *db, guint64 count)
{
  g_autofree char *path = actr_cli_printable(db);
  char answer[64];

  fprintf(stderr,
          "Delete all %" G_GUINT64_FORMAT " dead letter%s in %s? This cannot be undone. "
          "[y/N] ",
          count, count == 1 ? "" : "s", path);
  fflush(stderr);
  if (fgets(answer, sizeof answer, stdin) == NULL) {
    fputc('\n', stderr);
    return FALSE;
  }
  g_strstrip(answer);
  return g_ascii_strcasecmp(answer, "y") == 0 || g_ascii_strcasecmp(answer, "yes") == 0;
}

static int
cmd_purge(int argc, char **argv)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(ActrStore) store = NULL;
  g_autoptr(GError) error = NULL;
  const char *db = NULL;
  gboolean json = FALSE;
  gboolean yes = FALSE;
  guint64 removed = 0;
  int rc;
  const ActrCliOption options[] = {
      {"db", 0, ACTR_CLI_OPT_STRING, &db, "PATH", ACTR_CLI_DB_HELP},
      {"yes", 'y', ACTR_CLI_OPT_FLAG, &yes, NULL,
       "Do not ask for confirmation.  Required when stdin is not a terminal."},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(&purge_help, options, argc, argv, positionals, 0);
  if (rc != 0)
    return parse_done(rc);
  if ((rc = actr_cli_require_db(purge_help.command, db)) != 0)
    return rc;
  if (!yes && !actr_cli_stdin_is_tty())
    return actr_cli_usage_error(purge_help.command,
                                "refusing to purge without --yes when stdin is not a terminal");
  /* Open before asking: a missing or foreign database fails at once
   * instead of after the user confirmed. */
  if ((rc = actr_cli_open_store(db, TRUE, &store)) != 0)
    return rc;
  if (!yes) {
    ActrStoreStats stats;

    if (!actr_store_get_stats(store, &stats, &error))
      return actr_cli_store_failure(db, error);
    if (stats.dlq > 0 && !confirm_purge(db, stats.dlq)) {
      actr_cli_error("purge cancelled; nothing was deleted");
      return ACTR_EXIT_FAILURE;
    }
  }
  if (!actr_store_dlq_purge(store, &removed, &error))
    return actr_cli_store_failure(db, error);

  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();

    actr_json_begin_object(w);
    actr_json_member_string(w, "database", db);
    actr_json_member_uint(w, "removed", removed);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    printf("purged %" G_GUINT64_FORMAT " dead letter%s\n", removed, removed == 1 ? "" : "s");
  }
  return ACTR_EXIT_OK;
}

/* ---- The group ------------------------------------------------------------ */

static const ActrCliSubcommand dlq_commands[] = {
    {"list", "--db PATH [--category C] [--limit N] [--json]", "list the dead letters", cmd_list},
    {"show", "ID --db PATH [--json | --raw]", "show one dead letter with its original bytes",
     cmd_show},
    {"requeue", "ID --db PATH [--json]", "move a dead letter back into the inbox", cmd_requeue},
    {"delete", "ID --db PATH [--json]", "delete one dead letter", cmd_delete},
    {"purge", "--db PATH [--yes] [--json]", "delete every dead letter", cmd_purge},
    {NULL, NULL, NULL, NULL},
};

int
actr_cmd_dlq(int argc, char **argv)
{
  return actr_cli_run_group(
      "dlq", "inspect and manage a node's dead-letter queue",
      "The dead-letter queue holds messages the node gave up on: undecodable envelopes and "
      "messages that reached the maximum number of delivery attempts.  list and show open the "
      "store read-only and work while the node runs; requeue, delete and purge change the "
      "store and need the node to be stopped.",
      dlq_commands, argc, argv);
}
