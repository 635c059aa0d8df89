/* actr CLI — helpers shared by every command module: exit codes, the option
 * parser and help renderer, diagnostics, opening the store, and formatting
 * of times, sizes, tables and byte dumps.
 *
 * Conventions every command follows (see docs/cli.md):
 * - results go to stdout, diagnostics to stderr as one line "actr: ...";
 * - a usage error returns ACTR_EXIT_USAGE, a runtime failure ACTR_EXIT_FAILURE;
 * - status lines (actr_cli_status()) appear only when stderr is a terminal.
 *
 * Everything here runs on the main thread of the short-lived CLI process.
 */
#ifndef ACTR_CLI_COMMON_H
#define ACTR_CLI_COMMON_H

#include <stdio.h>
#include <glib.h>
#include <actr/store.h>

#include "cli-json.h"

G_BEGIN_DECLS

/* Process exit codes (spec/cli.md).  The numbers are a contract. */
typedef enum {
  ACTR_EXIT_OK = 0,      /* success */
  ACTR_EXIT_FAILURE = 1, /* runtime failure: storage error, not found, ... */
  ACTR_EXIT_USAGE = 2,   /* bad command line or configuration */
  ACTR_EXIT_REMOTE = 3,  /* the remote side answered with an actr error */
} ActrExitCode;

/* Returned by actr_cli_parse() after --help was printed; the caller returns
 * ACTR_EXIT_OK without doing anything else. */
#define ACTR_CLI_HELP_SHOWN (-1)

/* ---- Global state --------------------------------------------------------- */

/* The program name used in diagnostics ("NAME: ...") and help ("NAME
 * COMMAND ..."); "actr" unless set.  @name must be static.  actrd sets
 * "actrd" first thing in main(). */
void actr_cli_set_program_name(const char *name);
const char *actr_cli_get_program_name(void);

/* -q lowers, -v raises; 0 is the default.  Below 0 no status lines are
 * printed; above 0 debug logging of the library is enabled. */
void actr_cli_set_verbosity(int verbosity);
void actr_cli_adjust_verbosity(int delta);
int actr_cli_get_verbosity(void);

/* TRUE when the stream is a terminal (checked once, cached). */
gboolean actr_cli_stdin_is_tty(void);
gboolean actr_cli_stdout_is_tty(void);
gboolean actr_cli_stderr_is_tty(void);

/* ---- Diagnostics ---------------------------------------------------------- */

/* Routes GLib log messages to stderr as "actr: ..." lines: warnings and
 * criticals always, messages unless -q, debug and info with -v or
 * G_MESSAGES_DEBUG.  Call once, first thing in main(). */
void actr_cli_install_log_writer(void);

/* Prints "actr: <message>\n" to stderr. */
void actr_cli_error(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* Prints "actr: <command>: <message> (see 'actr <command> --help')" to stderr
 * and returns ACTR_EXIT_USAGE. */
int actr_cli_usage_error(const char *command, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* Prints "actr: <message>" to stderr when stderr is a terminal and the
 * verbosity is not below 0 (progress and hints that must not pollute pipes). */
void actr_cli_status(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* Prints "actr: <message>" to stderr when -v was given. */
void actr_cli_verbose(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* ---- Options and help ----------------------------------------------------- */

typedef enum {
  ACTR_CLI_OPT_FLAG,   /* gboolean *, set to TRUE */
  ACTR_CLI_OPT_STRING, /* const char **, points into argv */
  ACTR_CLI_OPT_UINT,   /* guint *, decimal 0..G_MAXUINT */
} ActrCliOptionKind;

/* One command-line option.  Tables end with an entry whose long_name is
 * NULL.  -h/--help, -v/--verbose and -q/--quiet are added to every table by
 * the parser. */
typedef struct {
  const char *long_name; /* without the leading "--" */
  char short_name;       /* 0 for none */
  ActrCliOptionKind kind;
  gpointer target;
  const char *arg_name; /* for STRING/UINT: "PATH", "N" */
  const char *help;     /* one or more sentences; wrapped by the renderer */
} ActrCliOption;

/* Help text of one command, rendered man-page style by actr_cli_print_help().
 * Text fields follow the rules of actr_cli_print_wrapped(): one paragraph per
 * line, wrapped to the terminal width; lines starting with two spaces are
 * printed verbatim (examples). */
typedef struct {
  const char *command;     /* "mailbox list" */
  const char *summary;     /* one line, no final period */
  const char *synopsis;    /* "--db PATH [--limit N] [--json]" */
  const char *description; /* what it does */
  const char *exit_status; /* command-specific; NULL for the generic text */
  const char *examples;    /* "  actr mailbox list --db node/mailbox.db\n" ... */
} ActrCliHelp;

/* Parses the options of @help->command from @argv (argv[0] is the command
 * word and is skipped).  "--name VALUE", "--name=VALUE", "-x VALUE", "-xVALUE"
 * and "--" are understood; options may come before or after positional
 * arguments.  Positional arguments (borrowed from @argv) are appended to
 * @positionals, at most @max_positionals of them.
 *
 * Returns 0 on success, ACTR_CLI_HELP_SHOWN when --help was handled, or
 * ACTR_EXIT_USAGE after printing a usage error. */
int actr_cli_parse(const ActrCliHelp *help, const ActrCliOption *options, int argc, char **argv,
                   GPtrArray *positionals, guint max_positionals);

/* Prints the full help of a command to @out. */
void actr_cli_print_help(FILE *out, const ActrCliHelp *help, const ActrCliOption *options);

/* Writes @text wrapped to @width columns, each line indented by @indent
 * spaces.  Every line of @text is one paragraph (an empty line prints an
 * empty line); a line starting with two spaces is printed verbatim without
 * them (examples); "- item" lines and "TERM  text" definitions ("0  Success.")
 * wrap with a hanging indent.  Used by the help renderers. */
void actr_cli_print_wrapped(FILE *out, const char *text, guint indent, guint width);

/* The width used to wrap help text (the terminal's, 60..100, else 80). */
guint actr_cli_text_width(void);

/* ---- Subcommand groups ---------------------------------------------------- */

typedef int (*ActrCliRunFunc)(int argc, char **argv);

/* One subcommand of a group ("list" of "mailbox"). */
typedef struct {
  const char *name;
  const char *synopsis; /* shown in the group's help */
  const char *summary;
  ActrCliRunFunc run; /* gets argv[0] == name */
} ActrCliSubcommand;

/* Runs the subcommand named by argv[1] of group @group (argv[0]).  Handles
 * "GROUP --help", "GROUP help [SUB]", a missing or unknown subcommand (usage
 * error), and passes argv + 1 to the subcommand.  @subcommands ends with a
 * NULL name. */
int actr_cli_run_group(const char *group, const char *summary, const char *description,
                       const ActrCliSubcommand *subcommands, int argc, char **argv);

/* Help texts of the options shared by the store commands. */
#define ACTR_CLI_DB_HELP                                                                           \
  "Path of the node's mailbox database: the SQLite file named by the node's configuration "        \
  "(its store path).  Required.  The file is never created."
#define ACTR_CLI_JSON_HELP "Print the result as one JSON document on stdout instead of text."

/* Returns ACTR_EXIT_USAGE with a message when @db is NULL, else 0. */
int actr_cli_require_db(const char *command, const char *db);

/* ---- Values --------------------------------------------------------------- */

/* Parses a record id (a decimal integer 1..G_MAXINT64).  On failure prints a
 * usage error for @command and returns FALSE. */
gboolean actr_cli_parse_id(const char *command, const char *text, gint64 *id);

/* ---- The store ------------------------------------------------------------ */

/* Opens the store at @path: read-only for inspection (works while a node
 * runs), writable for the commands that change it.  A missing file is never
 * created.  On failure prints one line naming the file and returns
 * ACTR_EXIT_FAILURE; otherwise stores the store in @out and returns 0. */
int actr_cli_open_store(const char *path, gboolean writable, ActrStore **out);

/* Prints @error (from a store call on @path) as one line naming the file and
 * returns the exit code for it (ACTR_EXIT_FAILURE). */
int actr_cli_store_failure(const char *path, const GError *error);

/* ---- Formatting ----------------------------------------------------------- */

/* "2024-05-01T12:34:56+02:00" in local time, or "-" when @ns is 0
 * (transfer full). */
char *actr_cli_format_local_time(gint64 ns);

/* RFC 3339 UTC ("2024-05-01T10:34:56.123456Z") for JSON, or NULL when @ns is
 * 0 (transfer full). */
char *actr_cli_format_utc_time(gint64 ns);

/* "5s ago", "3m ago", "2h ago", "4d ago", "in 3s" for clock skew, or "-"
 * when @ns is 0 (transfer full).  @now_ns is the reference time. */
char *actr_cli_format_age(gint64 ns, gint64 now_ns);

/* "2024-05-01T12:34:56+02:00 (3m ago)", or "-" when @ns is 0
 * (transfer full). */
char *actr_cli_format_time_and_age(gint64 ns, gint64 now_ns);

/* Writes the members "<name>_ns" (integer, or null when @ns is 0) and
 * "<name>" (RFC 3339 UTC string, or null) to @json. */
void actr_cli_json_time(ActrJsonWriter *json, const char *name, gint64 ns);

/* The current wall-clock time in ns since the Unix epoch. */
gint64 actr_cli_now_ns(void);

/* "45056 bytes (44.0 KiB)", or "12 bytes" below 1 KiB (transfer full). */
char *actr_cli_format_size(guint64 bytes);

/* "N bytes: 0a1b2c..." (hex, cut after 64 bytes) for short binary
 * identifiers such as a sender ActrId, or "-" for NULL (transfer full). */
char *actr_cli_format_short_bytes(GBytes *bytes);

/* @text made safe for a terminal: invalid UTF-8 is replaced and control
 * characters are shown as \xNN.  NULL or "" gives "-" (transfer full). */
char *actr_cli_printable(const char *text);

/* Like actr_cli_printable(), cut to @max_chars characters with "..." when
 * longer (transfer full). */
char *actr_cli_printable_truncated(const char *text, guint max_chars);

/* Writes @bytes as a hexdump -C style dump (offset, 16 hex bytes, ASCII) to
 * @out, each line indented by @indent spaces.  NULL or empty prints
 * "(empty)". */
void actr_cli_hexdump(FILE *out, GBytes *bytes, guint indent);

/* "high" / "normal" (transfer none). */
const char *actr_cli_priority_name(ActrPriority priority);

/* ---- Tables --------------------------------------------------------------- */

/* An aligned text table: a header row, then cells added row by row.
 * Columns are separated by two spaces; the last column is not padded. */
typedef struct _ActrCliTable ActrCliTable;

/* @headers is a NULL-terminated list; a header starting with '>' (which is
 * not printed) makes its column right-aligned (numbers). */
ActrCliTable *actr_cli_table_new(const char *const *headers);
void actr_cli_table_free(ActrCliTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrCliTable, actr_cli_table_free)

/* Adds the next cell (copied; must be valid UTF-8); rows wrap
 * automatically. */
void actr_cli_table_add(ActrCliTable *table, const char *cell);
void actr_cli_table_addf(ActrCliTable *table, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* Adds the next cell and takes ownership of @cell. */
void actr_cli_table_take(ActrCliTable *table, char *cell);

void actr_cli_table_print(ActrCliTable *table, FILE *out);

/* Prints "KEY:" padded to @key_width followed by @value (a key/value detail
 * view, as in stats and show). */
void actr_cli_print_field(FILE *out, guint key_width, const char *key, const char *value);

G_END_DECLS

#endif /* ACTR_CLI_COMMON_H */
