/* actr CLI — "actr mailbox stats|list|peek": read-only views of a node's
 * inbox.  Every command here opens the store read-only, so it works while
 * the node runs and never changes the file. */
#include "cmd-mailbox.h"

#include <stdio.h>

#include "cli-common.h"
#include "cli-json.h"

#define DEFAULT_LIMIT 100

/* ---- Shared output -------------------------------------------------------- */

static const char *
message_state(const ActrStoreMessage *message)
{
  return message->in_flight ? "in_flight" : "queued";
}

static void
json_message(ActrJsonWriter *json, const ActrStoreMessage *message)
{
  actr_json_begin_object(json);
  actr_json_member_int(json, "id", message->id);
  actr_json_member_string(json, "priority", actr_cli_priority_name(message->priority));
  actr_json_member_string(json, "state", message_state(message));
  actr_json_member_uint(json, "attempts", message->attempts);
  actr_cli_json_time(json, "enqueued", message->enqueued_ns);
  actr_json_member_string(
      json, "request_id",
      message->request_id != NULL && message->request_id[0] != '\0' ? message->request_id : NULL);
  actr_json_member_base64(json, "sender", message->sender);
  actr_json_member_uint(json, "envelope_size", message->envelope_size);
  if (message->envelope != NULL)
    actr_json_member_base64(json, "envelope", message->envelope);
  actr_json_end_object(json);
}

static int
parse_done(int rc)
{
  return rc == ACTR_CLI_HELP_SHOWN ? ACTR_EXIT_OK : rc;
}

/* ---- mailbox stats -------------------------------------------------------- */

static const ActrCliHelp stats_help = {
    .command = "mailbox stats",
    .summary = "show the counters of a node's inbox",
    .synopsis = "--db PATH [--json]",
    .description =
        "Prints how many messages the inbox holds (queued, by priority lane, and in flight), how "
        "many records the dead-letter queue and the request-dedup table hold, when the oldest "
        "message was accepted, and the size of the database file including its write-ahead "
        "log.\n"
        "\n"
        "The store is opened read-only: the command works while the node runs and never changes "
        "the file.  The counts are one consistent snapshot.",
    .examples = "  actr mailbox stats --db node-data/mailbox.db\n"
                "  actr mailbox stats --db node-data/mailbox.db --json | jq .queued",
};

static int
cmd_stats(int argc, char **argv)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(ActrStore) store = NULL;
  g_autoptr(GError) error = NULL;
  const char *db = NULL;
  gboolean json = FALSE;
  ActrStoreStats stats;
  int rc;
  const ActrCliOption options[] = {
      {"db", 0, ACTR_CLI_OPT_STRING, &db, "PATH", ACTR_CLI_DB_HELP},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(&stats_help, options, argc, argv, positionals, 0);
  if (rc != 0)
    return parse_done(rc);
  if ((rc = actr_cli_require_db(stats_help.command, db)) != 0)
    return rc;
  if ((rc = actr_cli_open_store(db, FALSE, &store)) != 0)
    return rc;
  if (!actr_store_get_stats(store, &stats, &error))
    return actr_cli_store_failure(db, error);

  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();

    actr_json_begin_object(w);
    actr_json_member_string(w, "database", db);
    actr_json_member_uint(w, "queued", stats.queued);
    actr_json_member_uint(w, "queued_high", stats.queued_high);
    actr_json_member_uint(w, "queued_normal", stats.queued_normal);
    actr_json_member_uint(w, "in_flight", stats.in_flight);
    actr_json_member_uint(w, "dlq", stats.dlq);
    actr_json_member_uint(w, "dedup_records", stats.dedup_records);
    actr_cli_json_time(w, "oldest_enqueued", stats.oldest_enqueued_ns);
    actr_json_member_uint(w, "file_bytes", stats.file_bytes);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    g_autofree char *path = actr_cli_printable(db);
    g_autofree char *size = actr_cli_format_size(stats.file_bytes);
    g_autofree char *queued = g_strdup_printf("%" G_GUINT64_FORMAT " (high %" G_GUINT64_FORMAT
                                              ", normal %" G_GUINT64_FORMAT ")",
                                              stats.queued, stats.queued_high, stats.queued_normal);
    g_autofree char *in_flight = g_strdup_printf("%" G_GUINT64_FORMAT, stats.in_flight);
    g_autofree char *dlq = g_strdup_printf("%" G_GUINT64_FORMAT, stats.dlq);
    g_autofree char *dedup = g_strdup_printf("%" G_GUINT64_FORMAT, stats.dedup_records);
    g_autofree char *oldest =
        actr_cli_format_time_and_age(stats.oldest_enqueued_ns, actr_cli_now_ns());

    actr_cli_print_field(stdout, 15, "database", path);
    actr_cli_print_field(stdout, 15, "file size", size);
    actr_cli_print_field(stdout, 15, "queued", queued);
    actr_cli_print_field(stdout, 15, "in flight", in_flight);
    actr_cli_print_field(stdout, 15, "dead letters", dlq);
    actr_cli_print_field(stdout, 15, "dedup records", dedup);
    actr_cli_print_field(stdout, 15, "oldest message", oldest);
  }
  return ACTR_EXIT_OK;
}

/* ---- mailbox list --------------------------------------------------------- */

static const ActrCliHelp list_help = {
    .command = "mailbox list",
    .summary = "list the messages in a node's inbox",
    .synopsis = "--db PATH [--limit N] [--json]",
    .description =
        "Lists the inbox in delivery order: messages in flight (handed to the workload, not yet "
        "acknowledged) first, then queued messages of the high-priority lane, then of the normal "
        "lane, oldest first.  Envelope bytes are not shown; use 'actr mailbox peek ID' for one "
        "message.\n"
        "\n"
        "Columns: ID (message id), PRIORITY (high or normal), STATE (queued or in_flight), "
        "ATTEMPTS (deliveries so far), BYTES (envelope size in bytes), ENQUEUED (local time the "
        "message was accepted, ISO 8601), AGE, REQUEST_ID (the dedup key, - for none).\n"
        "\n"
        "The store is opened read-only: the command works while the node runs.",
    .examples = "  actr mailbox list --db node-data/mailbox.db\n"
                "  actr mailbox list --db=node-data/mailbox.db --limit 0 --json",
};

static int
cmd_list(int argc, char **argv)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(ActrStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  const char *db = NULL;
  gboolean json = FALSE;
  guint limit = DEFAULT_LIMIT;
  gboolean truncated = FALSE;
  gint64 now_ns = actr_cli_now_ns();
  int rc;
  const ActrCliOption options[] = {
      {"db", 0, ACTR_CLI_OPT_STRING, &db, "PATH", ACTR_CLI_DB_HELP},
      {"limit", 'n', ACTR_CLI_OPT_UINT, &limit, "N",
       "Show at most N messages (default 100; 0 shows all).  When more exist, a note on stderr "
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
  /* Ask for one more than shown to learn, atomically, whether more exist. */
  messages = actr_store_list(store, limit == 0 || limit == G_MAXUINT ? 0 : limit + 1, &error);
  if (messages == NULL)
    return actr_cli_store_failure(db, error);
  if (limit != 0 && messages->len > limit) {
    g_ptr_array_set_size(messages, limit);
    truncated = TRUE;
  }

  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();

    actr_json_begin_object(w);
    actr_json_member_string(w, "database", db);
    actr_json_member_uint(w, "count", messages->len);
    actr_json_member_bool(w, "truncated", truncated);
    actr_json_key(w, "messages");
    actr_json_begin_array(w);
    for (guint i = 0; i < messages->len; i++)
      json_message(w, g_ptr_array_index(messages, i));
    actr_json_end_array(w);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    static const char *const headers[] = {
        ">ID", "PRIORITY", "STATE", ">ATTEMPTS", ">BYTES", "ENQUEUED", "AGE", "REQUEST_ID", NULL,
    };
    g_autoptr(ActrCliTable) table = actr_cli_table_new(headers);

    for (guint i = 0; i < messages->len; i++) {
      const ActrStoreMessage *m = g_ptr_array_index(messages, i);

      actr_cli_table_addf(table, "%" G_GINT64_FORMAT, m->id);
      actr_cli_table_add(table, actr_cli_priority_name(m->priority));
      actr_cli_table_add(table, message_state(m));
      actr_cli_table_addf(table, "%u", m->attempts);
      actr_cli_table_addf(table, "%" G_GSIZE_FORMAT, m->envelope_size);
      actr_cli_table_take(table, actr_cli_format_local_time(m->enqueued_ns));
      actr_cli_table_take(table, actr_cli_format_age(m->enqueued_ns, now_ns));
      actr_cli_table_take(table, actr_cli_printable(m->request_id));
    }
    actr_cli_table_print(table, stdout);
    if (messages->len == 0)
      actr_cli_status("the inbox is empty");
    else if (truncated)
      actr_cli_status("showing the first %u messages; use --limit 0 to show all", limit);
  }
  return ACTR_EXIT_OK;
}

/* ---- mailbox peek --------------------------------------------------------- */

static const ActrCliHelp peek_help = {
    .command = "mailbox peek",
    .summary = "show one inbox message with its envelope bytes",
    .synopsis = "ID --db PATH [--json | --raw]",
    .description =
        "Shows message ID of the inbox: priority, state, delivery attempts, when it was accepted, "
        "its request id and sender, and the raw RpcEnvelope bytes exactly as they were received, "
        "as a hex dump (offset, 16 bytes in hex, the same bytes as ASCII).  With --json the "
        "sender and envelope are base64 strings; with --raw only the envelope bytes are written "
        "to stdout, unchanged.\n"
        "\n"
        "ID is a message id as shown by 'actr mailbox list'.  The store is opened read-only: the "
        "command works while the node runs and does not count as a delivery.",
    .exit_status =
        "0  Success.\n"
        "1  Runtime failure: no message with that ID, or the database is missing, corrupt or "
        "unreadable.\n"
        "2  Usage error: missing or malformed ID, missing --db, unknown option, or --raw with "
        "stdout on a terminal.",
    .examples = "  actr mailbox peek 42 --db node-data/mailbox.db\n"
                "  actr mailbox peek 42 --db node-data/mailbox.db --raw > envelope.bin",
};

static void
print_message(const ActrStoreMessage *m)
{
  gint64 now_ns = actr_cli_now_ns();
  g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, m->id);
  g_autofree char *attempts = g_strdup_printf("%u", m->attempts);
  g_autofree char *enqueued = actr_cli_format_time_and_age(m->enqueued_ns, now_ns);
  g_autofree char *request_id = actr_cli_printable(m->request_id);
  g_autofree char *sender = actr_cli_format_short_bytes(m->sender);
  g_autofree char *size = g_strdup_printf("%" G_GSIZE_FORMAT " bytes", m->envelope_size);

  actr_cli_print_field(stdout, 12, "id", id);
  actr_cli_print_field(stdout, 12, "priority", actr_cli_priority_name(m->priority));
  actr_cli_print_field(stdout, 12, "state", message_state(m));
  actr_cli_print_field(stdout, 12, "attempts", attempts);
  actr_cli_print_field(stdout, 12, "enqueued", enqueued);
  actr_cli_print_field(stdout, 12, "request id", request_id);
  actr_cli_print_field(stdout, 12, "sender", sender);
  actr_cli_print_field(stdout, 12, "envelope", size);
  actr_cli_hexdump(stdout, m->envelope, 2);
}

static int
cmd_peek(int argc, char **argv)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(ActrStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrStoreMessage) message = NULL;
  const char *db = NULL;
  gboolean json = FALSE;
  gboolean raw = FALSE;
  gint64 id = 0;
  int rc;
  const ActrCliOption options[] = {
      {"db", 0, ACTR_CLI_OPT_STRING, &db, "PATH", ACTR_CLI_DB_HELP},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {"raw", 0, ACTR_CLI_OPT_FLAG, &raw, NULL,
       "Write only the envelope bytes to stdout, unchanged (refused when stdout is a "
       "terminal)."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(&peek_help, options, argc, argv, positionals, 1);
  if (rc != 0)
    return parse_done(rc);
  if (positionals->len == 0)
    return actr_cli_usage_error(peek_help.command, "missing message ID");
  if ((rc = actr_cli_require_db(peek_help.command, db)) != 0)
    return rc;
  if (!actr_cli_parse_id(peek_help.command, g_ptr_array_index(positionals, 0), &id))
    return ACTR_EXIT_USAGE;
  if (json && raw)
    return actr_cli_usage_error(peek_help.command, "--json and --raw cannot be combined");
  if (raw && actr_cli_stdout_is_tty())
    return actr_cli_usage_error(peek_help.command,
                                "refusing to write raw bytes to a terminal; redirect stdout");
  if ((rc = actr_cli_open_store(db, FALSE, &store)) != 0)
    return rc;
  message = actr_store_peek(store, id, &error);
  if (message == NULL) {
    if (g_error_matches(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND)) {
      actr_cli_error("%s: no message with ID %" G_GINT64_FORMAT " in the inbox", db, id);
      return ACTR_EXIT_FAILURE;
    }
    return actr_cli_store_failure(db, error);
  }

  if (raw) {
    gsize size = 0;
    const void *data =
        message->envelope != NULL ? g_bytes_get_data(message->envelope, &size) : NULL;

    if (size > 0)
      fwrite(data, 1, size, stdout);
  } else if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();

    actr_json_begin_object(w);
    actr_json_member_string(w, "database", db);
    actr_json_key(w, "message");
    json_message(w, message);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    print_message(message);
  }
  return ACTR_EXIT_OK;
}

/* ---- The group ------------------------------------------------------------ */

static const ActrCliSubcommand mailbox_commands[] = {
    {"stats", "--db PATH [--json]", "show the counters of the inbox", cmd_stats},
    {"list", "--db PATH [--limit N] [--json]", "list the messages in the inbox", cmd_list},
    {"peek", "ID --db PATH [--json | --raw]", "show one message with its envelope bytes", cmd_peek},
    {NULL, NULL, NULL, NULL},
};

int
actr_cmd_mailbox(int argc, char **argv)
{
  return actr_cli_run_group(
      "mailbox", "inspect a node's inbox",
      "Read-only views of the durable inbox of a node: the messages it has accepted and not yet "
      "completed.  The store is opened read-only, so these commands work while the node runs.  "
      "To act on dead letters, see 'actr dlq'.",
      mailbox_commands, argc, argv);
}
