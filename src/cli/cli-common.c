/* actr CLI — shared helpers: option parsing, help, diagnostics, store
 * opening and formatting. */
#include "cli-common.h"

#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

/* ---- Global state --------------------------------------------------------- */

static int cli_verbosity;
static const char *cli_program_name = "actr";

void
actr_cli_set_program_name(const char *name)
{
  cli_program_name = name;
}

const char *
actr_cli_get_program_name(void)
{
  return cli_program_name;
}

void
actr_cli_set_verbosity(int verbosity)
{
  cli_verbosity = CLAMP(verbosity, -1, 2);
  /* -v shows the library's debug messages without G_MESSAGES_DEBUG. */
  g_log_set_debug_enabled(cli_verbosity > 0);
}

void
actr_cli_adjust_verbosity(int delta)
{
  actr_cli_set_verbosity(cli_verbosity + delta);
}

int
actr_cli_get_verbosity(void)
{
  return cli_verbosity;
}

static gboolean
fd_is_tty(int fd, int *cache)
{
  if (*cache < 0)
    *cache = isatty(fd) ? 1 : 0;
  return *cache == 1;
}

gboolean
actr_cli_stdin_is_tty(void)
{
  static int cache = -1;

  return fd_is_tty(STDIN_FILENO, &cache);
}

gboolean
actr_cli_stdout_is_tty(void)
{
  static int cache = -1;

  return fd_is_tty(STDOUT_FILENO, &cache);
}

gboolean
actr_cli_stderr_is_tty(void)
{
  static int cache = -1;

  return fd_is_tty(STDERR_FILENO, &cache);
}

/* ---- Diagnostics ---------------------------------------------------------- */

/* Prints "<program>: " + the message on one line: embedded newlines (from
 * library error messages) become spaces. */
static void print_diagnostic(const char *format, va_list args) G_GNUC_PRINTF(1, 0);

static void
print_diagnostic(const char *format, va_list args)
{
  g_autofree char *message = g_strdup_vprintf(format, args);

  g_strdelimit(message, "\r\n", ' ');
  fflush(stdout);
  fprintf(stderr, "%s: %s\n", cli_program_name, message);
  fflush(stderr);
}

void
actr_cli_error(const char *format, ...)
{
  va_list args;

  va_start(args, format);
  print_diagnostic(format, args);
  va_end(args);
}

int
actr_cli_usage_error(const char *command, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start(args, format);
  message = g_strdup_vprintf(format, args);
  va_end(args);
  if (command != NULL)
    actr_cli_error("%s: %s (see '%s %s --help')", command, message, cli_program_name, command);
  else
    actr_cli_error("%s (see '%s --help')", message, cli_program_name);
  return ACTR_EXIT_USAGE;
}

void
actr_cli_status(const char *format, ...)
{
  va_list args;

  if (cli_verbosity < 0 || !actr_cli_stderr_is_tty())
    return;
  va_start(args, format);
  print_diagnostic(format, args);
  va_end(args);
}

void
actr_cli_verbose(const char *format, ...)
{
  va_list args;

  if (cli_verbosity <= 0)
    return;
  va_start(args, format);
  print_diagnostic(format, args);
  va_end(args);
}

/* Library log messages in the CLI's own format: one line on stderr, never on
 * stdout (which holds results).  Fatal levels still abort afterwards. */
static GLogWriterOutput
cli_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *message = NULL;
  const char *domain = NULL;

  for (gsize i = 0; i < n_fields; i++) {
    if (strcmp(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
      message = fields[i].value;
    else if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0 && fields[i].length < 0)
      domain = fields[i].value;
  }
  if (message == NULL)
    return G_LOG_WRITER_UNHANDLED;

  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
    actr_cli_error("%s: %s", level & G_LOG_LEVEL_ERROR ? "error" : "critical", message);
  } else if (level & G_LOG_LEVEL_WARNING) {
    actr_cli_error("warning: %s", message);
  } else if (level & G_LOG_LEVEL_MESSAGE) {
    if (cli_verbosity >= 0)
      actr_cli_error("%s", message);
  } else if (!g_log_writer_default_would_drop(level, domain)) {
    actr_cli_error("[%s] %s", domain != NULL ? domain : "actr", message);
  }
  return G_LOG_WRITER_HANDLED;
}

void
actr_cli_install_log_writer(void)
{
  g_log_set_writer_func(cli_log_writer, NULL, NULL);
}

/* ---- Help ----------------------------------------------------------------- */

guint
actr_cli_text_width(void)
{
  struct winsize ws;

  if (actr_cli_stdout_is_tty() && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return CLAMP(ws.ws_col, 60, 100);
  return 80;
}

static void
print_spaces(FILE *out, guint count)
{
  for (guint i = 0; i < count; i++)
    fputc(' ', out);
}

/* Writes the words of @line wrapped to @width; continuation lines get @hang
 * extra spaces (for list items and "TERM  text" definitions). */
static void
print_wrapped_line(FILE *out, const char *line, guint indent, guint hang, guint width)
{
  g_auto(GStrv) words = g_strsplit(line, " ", -1);
  guint column = indent;
  gboolean line_start = TRUE;

  print_spaces(out, indent);
  for (guint i = 0; words[i] != NULL; i++) {
    guint len = (guint)g_utf8_strlen(words[i], -1);

    if (len == 0) {
      /* Keep runs of spaces inside the first column ("0  Success"). */
      if (!line_start && column < indent + hang) {
        fputc(' ', out);
        column++;
      }
      continue;
    }
    if (line_start) {
      line_start = FALSE;
    } else if (column + 1 + len > width && column > indent + hang) {
      fputc('\n', out);
      print_spaces(out, indent + hang);
      column = indent + hang;
    } else {
      fputc(' ', out);
      column++;
    }
    fputs(words[i], out);
    column += len;
  }
  fputc('\n', out);
}

/* The hanging indent of a line: 2 for "- item", the width of "TERM  " for a
 * definition such as "0  Success." or "-h, --help    Show help.", else 0. */
static guint
line_hang(const char *line)
{
  const char *gap;

  if (g_str_has_prefix(line, "- "))
    return 2;
  gap = strstr(line, "  ");
  if (gap == NULL || gap == line || gap - line > 24)
    return 0;
  while (*gap == ' ')
    gap++;
  return (guint)(gap - line);
}

void
actr_cli_print_wrapped(FILE *out, const char *text, guint indent, guint width)
{
  g_auto(GStrv) lines = NULL;

  if (text == NULL)
    return;
  lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *line = lines[i];

    if (line[0] == '\0') {
      if (lines[i + 1] != NULL)
        fputc('\n', out);
    } else if (g_str_has_prefix(line, "  ")) {
      print_spaces(out, indent);
      fputs(line + 2, out);
      fputc('\n', out);
    } else {
      print_wrapped_line(out, line, indent, line_hang(line), width);
    }
  }
}

static const char generic_exit_status[] =
    "0  Success.\n"
    "1  Runtime failure: the database is missing, corrupt or unreadable, another writer kept "
    "it locked for 5 s (write commands), or the record was not found.\n"
    "2  Usage error: unknown command or option, missing --db, bad ID or value.";

/* The options every command accepts, appended to each table by the parser
 * and the help renderer. */
static const ActrCliOption builtin_options[] = {
    {"help", 'h', ACTR_CLI_OPT_FLAG, NULL, NULL, "Show this help and exit."},
    {"verbose", 'v', ACTR_CLI_OPT_FLAG, NULL, NULL,
     "Print more on stderr, including the library's debug messages."},
    {"quiet", 'q', ACTR_CLI_OPT_FLAG, NULL, NULL, "Print no status lines on stderr."},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static void
print_option_help(FILE *out, const ActrCliOption *option, guint width)
{
  g_autoptr(GString) head = g_string_new("    ");

  if (option->short_name != 0)
    g_string_append_printf(head, "-%c, ", option->short_name);
  g_string_append_printf(head, "--%s", option->long_name);
  if (option->kind != ACTR_CLI_OPT_FLAG)
    g_string_append_printf(head, " %s", option->arg_name != NULL ? option->arg_name : "VALUE");
  fprintf(out, "%s\n", head->str);
  actr_cli_print_wrapped(out, option->help, 8, width);
}

void
actr_cli_print_help(FILE *out, const ActrCliHelp *help, const ActrCliOption *options)
{
  guint width = actr_cli_text_width();

  fprintf(out, "NAME\n    %s %s - %s\n\n", cli_program_name, help->command, help->summary);
  fprintf(out, "SYNOPSIS\n    %s %s %s\n\n", cli_program_name, help->command, help->synopsis);
  fputs("DESCRIPTION\n", out);
  actr_cli_print_wrapped(out, help->description, 4, width);
  fputs("\nOPTIONS\n", out);
  for (const ActrCliOption *o = options; o != NULL && o->long_name != NULL; o++)
    print_option_help(out, o, width);
  for (const ActrCliOption *o = builtin_options; o->long_name != NULL; o++)
    print_option_help(out, o, width);
  fputs("\nEXIT STATUS\n", out);
  actr_cli_print_wrapped(out, help->exit_status != NULL ? help->exit_status : generic_exit_status,
                         4, width);
  if (help->examples != NULL) {
    fputs("\nEXAMPLES\n", out);
    actr_cli_print_wrapped(out, help->examples, 4, width);
  }
}

/* ---- Option parsing ------------------------------------------------------- */

static const ActrCliOption *
find_long(const ActrCliOption *options, const char *name, gsize name_len)
{
  for (const ActrCliOption *o = options; o != NULL && o->long_name != NULL; o++) {
    if (strlen(o->long_name) == name_len && strncmp(o->long_name, name, name_len) == 0)
      return o;
  }
  for (const ActrCliOption *o = builtin_options; o->long_name != NULL; o++) {
    if (strlen(o->long_name) == name_len && strncmp(o->long_name, name, name_len) == 0)
      return o;
  }
  return NULL;
}

static const ActrCliOption *
find_short(const ActrCliOption *options, char name)
{
  for (const ActrCliOption *o = options; o != NULL && o->long_name != NULL; o++) {
    if (o->short_name != 0 && o->short_name == name)
      return o;
  }
  for (const ActrCliOption *o = builtin_options; o->long_name != NULL; o++) {
    if (o->short_name == name)
      return o;
  }
  return NULL;
}

static gboolean
is_builtin(const ActrCliOption *option, const char *name)
{
  return option >= builtin_options && option < builtin_options + G_N_ELEMENTS(builtin_options) &&
         strcmp(option->long_name, name) == 0;
}

/* Applies one option with its value (NULL for flags).  Returns 0 or a usage
 * error. */
static int
apply_option(const ActrCliHelp *help, const ActrCliOption *option, const char *value)
{
  guint64 number = 0;

  if (is_builtin(option, "verbose")) {
    actr_cli_adjust_verbosity(1);
    return 0;
  }
  if (is_builtin(option, "quiet")) {
    actr_cli_set_verbosity(-1);
    return 0;
  }
  if (is_builtin(option, "help"))
    return 0; /* handled before parsing */

  switch (option->kind) {
  case ACTR_CLI_OPT_FLAG:
    *(gboolean *)option->target = TRUE;
    return 0;
  case ACTR_CLI_OPT_STRING:
    if (value[0] == '\0')
      return actr_cli_usage_error(help->command, "option --%s needs a non-empty %s",
                                  option->long_name, option->arg_name);
    *(const char **)option->target = value;
    return 0;
  case ACTR_CLI_OPT_UINT:
    if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT, &number, NULL))
      return actr_cli_usage_error(help->command,
                                  "invalid value '%s' for --%s (expected an integer 0..%u)", value,
                                  option->long_name, G_MAXUINT);
    *(guint *)option->target = (guint)number;
    return 0;
  }
  g_assert_not_reached();
}

static gboolean
help_requested(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return FALSE;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return TRUE;
  }
  return FALSE;
}

/* Parses one "-x..." argument (a cluster of short flags, or one short
 * option with its value attached or in the next argument). */
static int
parse_short(const ActrCliHelp *help, const ActrCliOption *options, int argc, char **argv, int *i)
{
  const char *arg = argv[*i];

  for (const char *p = arg + 1; *p != '\0'; p++) {
    const ActrCliOption *option = find_short(options, *p);
    const char *value = NULL;

    if (option == NULL)
      return actr_cli_usage_error(help->command, "unknown option '-%c'", *p);
    if (option->kind != ACTR_CLI_OPT_FLAG) {
      if (p[1] != '\0') {
        value = p + 1;
      } else if (*i + 1 < argc) {
        value = argv[++*i];
      } else {
        return actr_cli_usage_error(help->command, "option -%c needs a value (%s)", *p,
                                    option->arg_name);
      }
      return apply_option(help, option, value);
    }
    if (apply_option(help, option, NULL) != 0)
      return ACTR_EXIT_USAGE;
  }
  return 0;
}

static int
parse_long(const ActrCliHelp *help, const ActrCliOption *options, int argc, char **argv, int *i)
{
  const char *name = argv[*i] + 2;
  const char *equals = strchr(name, '=');
  gsize name_len = equals != NULL ? (gsize)(equals - name) : strlen(name);
  const ActrCliOption *option = find_long(options, name, name_len);
  const char *value = equals != NULL ? equals + 1 : NULL;

  if (option == NULL)
    return actr_cli_usage_error(help->command, "unknown option '--%.*s'", (int)name_len, name);
  if (option->kind == ACTR_CLI_OPT_FLAG) {
    if (value != NULL)
      return actr_cli_usage_error(help->command, "option --%s takes no value", option->long_name);
    return apply_option(help, option, NULL);
  }
  if (value == NULL) {
    if (*i + 1 >= argc)
      return actr_cli_usage_error(help->command, "option --%s needs a value (%s)",
                                  option->long_name, option->arg_name);
    value = argv[++*i];
  }
  return apply_option(help, option, value);
}

int
actr_cli_parse(const ActrCliHelp *help, const ActrCliOption *options, int argc, char **argv,
               GPtrArray *positionals, guint max_positionals)
{
  gboolean options_done = FALSE;

  if (help_requested(argc, argv)) {
    actr_cli_print_help(stdout, help, options);
    return ACTR_CLI_HELP_SHOWN;
  }
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    int rc;

    if (!options_done && strcmp(arg, "--") == 0) {
      options_done = TRUE;
      continue;
    }
    if (options_done || arg[0] != '-' || arg[1] == '\0') {
      if (positionals->len >= max_positionals)
        return actr_cli_usage_error(help->command, "unexpected argument '%s'", arg);
      g_ptr_array_add(positionals, (gpointer)arg);
      continue;
    }
    if (arg[1] == '-')
      rc = parse_long(help, options, argc, argv, &i);
    else
      rc = parse_short(help, options, argc, argv, &i);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* ---- Subcommand groups ---------------------------------------------------- */

static void
print_group_help(FILE *out, const char *group, const char *summary, const char *description,
                 const ActrCliSubcommand *subcommands)
{
  guint width = actr_cli_text_width();
  guint name_width = 0;

  for (const ActrCliSubcommand *s = subcommands; s->name != NULL; s++)
    name_width = MAX(name_width, (guint)strlen(s->name));

  fprintf(out, "NAME\n    %s %s - %s\n\nSYNOPSIS\n", cli_program_name, group, summary);
  for (const ActrCliSubcommand *s = subcommands; s->name != NULL; s++)
    fprintf(out, "    %s %s %s %s\n", cli_program_name, group, s->name, s->synopsis);
  fputs("\nDESCRIPTION\n", out);
  actr_cli_print_wrapped(out, description, 4, width);
  fputs("\nCOMMANDS\n", out);
  for (const ActrCliSubcommand *s = subcommands; s->name != NULL; s++)
    fprintf(out, "    %-*s  %s\n", (int)name_width, s->name, s->summary);
  fprintf(out, "\nRun '%s %s COMMAND --help' for the options of each command.\n", cli_program_name,
          group);
}

static const ActrCliSubcommand *
find_subcommand(const ActrCliSubcommand *subcommands, const char *name)
{
  for (const ActrCliSubcommand *s = subcommands; s->name != NULL; s++) {
    if (strcmp(s->name, name) == 0)
      return s;
  }
  return NULL;
}

int
actr_cli_run_group(const char *group, const char *summary, const char *description,
                   const ActrCliSubcommand *subcommands, int argc, char **argv)
{
  const ActrCliSubcommand *sub;
  const char *name;

  if (argc < 2)
    return actr_cli_usage_error(group, "missing command");
  name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
      (strcmp(name, "help") == 0 && argc == 2)) {
    print_group_help(stdout, group, summary, description, subcommands);
    return ACTR_EXIT_OK;
  }
  if (strcmp(name, "help") == 0) {
    char *help_argv[] = {argv[2], (char *)"--help", NULL};

    sub = find_subcommand(subcommands, argv[2]);
    if (sub == NULL)
      return actr_cli_usage_error(group, "unknown command '%s'", argv[2]);
    return sub->run(2, help_argv);
  }
  sub = find_subcommand(subcommands, name);
  if (sub == NULL) {
    if (name[0] == '-')
      return actr_cli_usage_error(group, "expected a command before '%s'", name);
    return actr_cli_usage_error(group, "unknown command '%s'", name);
  }
  return sub->run(argc - 1, argv + 1);
}

int
actr_cli_require_db(const char *command, const char *db)
{
  if (db == NULL)
    return actr_cli_usage_error(command, "missing required option --db PATH");
  return 0;
}

/* ---- Values --------------------------------------------------------------- */

gboolean
actr_cli_parse_id(const char *command, const char *text, gint64 *id)
{
  if (!g_ascii_string_to_signed(text, 10, 1, G_MAXINT64, id, NULL)) {
    actr_cli_usage_error(command, "invalid ID '%s' (expected a positive integer)", text);
    return FALSE;
  }
  return TRUE;
}

/* ---- The store ------------------------------------------------------------ */

int
actr_cli_store_failure(const char *path, const GError *error)
{
  if (g_error_matches(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_LOCKED)) {
    actr_cli_error("%s: mailbox is busy: another writer kept it locked for 5 s; try again", path);
  } else if (strstr(error->message, path) != NULL) {
    actr_cli_error("%s", error->message);
  } else {
    actr_cli_error("%s: %s", path, error->message);
  }
  return ACTR_EXIT_FAILURE;
}

int
actr_cli_open_store(const char *path, gboolean writable, ActrStore **out)
{
  g_autoptr(GError) error = NULL;
  ActrStoreOptions options;
  ActrStore *store;

  *out = NULL;
  /* Never create a database: a typo in --db must not leave an empty store. */
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    actr_cli_error("%s: no such mailbox database", path);
    return ACTR_EXIT_FAILURE;
  }
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    actr_cli_error("%s: is a directory, not a mailbox database", path);
    return ACTR_EXIT_FAILURE;
  }
  actr_store_options_init(&options);
  /* Inspection opens read-only.  Maintenance opens as an admin store: it
   * works next to a running node (which picks the change up), does no crash
   * recovery, and never creates or converts a file. */
  options.read_only = !writable;
  options.admin = writable;
  store = actr_store_open(path, &options, &error);
  if (store == NULL)
    return actr_cli_store_failure(path, error);
  actr_cli_verbose("opened %s %s", path, writable ? "for maintenance" : "read-only");
  *out = store;
  return ACTR_EXIT_OK;
}

/* ---- Formatting ----------------------------------------------------------- */

gint64
actr_cli_now_ns(void)
{
  return g_get_real_time() * 1000;
}

char *
actr_cli_format_local_time(gint64 ns)
{
  g_autoptr(GDateTime) time = NULL;
  char *text;

  if (ns == 0)
    return g_strdup("-");
  time = g_date_time_new_from_unix_local(ns / G_GINT64_CONSTANT(1000000000));
  if (time == NULL)
    return g_strdup("-");
  text = g_date_time_format(time, "%Y-%m-%dT%H:%M:%S%:z");
  return text != NULL ? text : g_strdup("-");
}

char *
actr_cli_format_utc_time(gint64 ns)
{
  g_autoptr(GDateTime) seconds = NULL;
  g_autoptr(GDateTime) time = NULL;
  gint64 secs, usecs;

  if (ns == 0)
    return NULL;
  secs = ns / G_GINT64_CONSTANT(1000000000);
  usecs = (ns % G_GINT64_CONSTANT(1000000000)) / 1000;
  if (usecs < 0) {
    secs -= 1;
    usecs += G_USEC_PER_SEC;
  }
  seconds = g_date_time_new_from_unix_utc(secs);
  if (seconds == NULL)
    return NULL;
  time = g_date_time_add(seconds, usecs);
  if (time == NULL)
    return NULL;
  return g_date_time_format_iso8601(time);
}

char *
actr_cli_format_age(gint64 ns, gint64 now_ns)
{
  gint64 seconds;
  gboolean future;
  const char *unit;
  gint64 amount;

  if (ns == 0)
    return g_strdup("-");
  seconds = (now_ns - ns) / G_GINT64_CONSTANT(1000000000);
  future = seconds < 0;
  if (future)
    seconds = -seconds;
  if (seconds < 60) {
    amount = seconds;
    unit = "s";
  } else if (seconds < 3600) {
    amount = seconds / 60;
    unit = "m";
  } else if (seconds < 86400) {
    amount = seconds / 3600;
    unit = "h";
  } else {
    amount = seconds / 86400;
    unit = "d";
  }
  if (future)
    return g_strdup_printf("in %" G_GINT64_FORMAT "%s", amount, unit);
  return g_strdup_printf("%" G_GINT64_FORMAT "%s ago", amount, unit);
}

char *
actr_cli_format_time_and_age(gint64 ns, gint64 now_ns)
{
  g_autofree char *time = NULL;
  g_autofree char *age = NULL;

  if (ns == 0)
    return g_strdup("-");
  time = actr_cli_format_local_time(ns);
  age = actr_cli_format_age(ns, now_ns);
  return g_strdup_printf("%s (%s)", time, age);
}

void
actr_cli_json_time(ActrJsonWriter *json, const char *name, gint64 ns)
{
  g_autofree char *ns_key = g_strconcat(name, "_ns", NULL);
  g_autofree char *text = actr_cli_format_utc_time(ns);

  if (ns == 0)
    actr_json_member_null(json, ns_key);
  else
    actr_json_member_int(json, ns_key, ns);
  actr_json_member_string(json, name, text);
}

char *
actr_cli_format_short_bytes(GBytes *bytes)
{
  g_autoptr(GString) text = NULL;
  const guchar *data;
  gsize size = 0;

  if (bytes == NULL)
    return g_strdup("-");
  data = g_bytes_get_data(bytes, &size);
  text = g_string_new(NULL);
  g_string_append_printf(text, "%" G_GSIZE_FORMAT " bytes", size);
  if (size > 0)
    g_string_append(text, ": ");
  for (gsize i = 0; i < size && i < 64; i++)
    g_string_append_printf(text, "%02x", data[i]);
  if (size > 64)
    g_string_append(text, "...");
  return g_string_free(g_steal_pointer(&text), FALSE);
}

char *
actr_cli_format_size(guint64 bytes)
{
  g_autofree char *human = NULL;

  if (bytes < 1024)
    return g_strdup_printf("%" G_GUINT64_FORMAT " bytes", bytes);
  human = g_format_size_full(bytes, G_FORMAT_SIZE_IEC_UNITS);
  return g_strdup_printf("%" G_GUINT64_FORMAT " bytes (%s)", bytes, human);
}

char *
actr_cli_printable(const char *text)
{
  g_autofree char *valid = NULL;
  GString *out;

  if (text == NULL || text[0] == '\0')
    return g_strdup("-");
  valid = g_utf8_make_valid(text, -1);
  out = g_string_sized_new(strlen(valid));
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);

    /* Control and format characters (including bidi overrides) could
     * rewrite the terminal or disguise the text: show them as escapes. */
    if (g_unichar_iscntrl(c) || g_unichar_type(c) == G_UNICODE_FORMAT) {
      if (c < 0x100)
        g_string_append_printf(out, "\\x%02x", c);
      else
        g_string_append_printf(out, "\\u%04x", c);
    } else {
      g_string_append_len(out, p, g_utf8_next_char(p) - p);
    }
  }
  return g_string_free(out, FALSE);
}

char *
actr_cli_printable_truncated(const char *text, guint max_chars)
{
  g_autofree char *printable = actr_cli_printable(text);
  const char *cut;

  if (max_chars < 4 || (guint)g_utf8_strlen(printable, -1) <= max_chars)
    return g_steal_pointer(&printable);
  cut = g_utf8_offset_to_pointer(printable, max_chars - 3);
  return g_strdup_printf("%.*s...", (int)(cut - printable), printable);
}

void
actr_cli_hexdump(FILE *out, GBytes *bytes, guint indent)
{
  const guchar *data;
  gsize size = 0;

  data = bytes != NULL ? g_bytes_get_data(bytes, &size) : NULL;
  if (size == 0) {
    print_spaces(out, indent);
    fputs("(empty)\n", out);
    return;
  }
  for (gsize offset = 0; offset < size; offset += 16) {
    gsize n = MIN(16, size - offset);

    print_spaces(out, indent);
    fprintf(out, "%08" G_GSIZE_MODIFIER "x  ", offset);
    for (gsize i = 0; i < 16; i++) {
      if (i < n)
        fprintf(out, "%02x ", data[offset + i]);
      else
        fputs("   ", out);
      if (i == 7)
        fputc(' ', out);
    }
    fputs(" |", out);
    for (gsize i = 0; i < n; i++) {
      guchar c = data[offset + i];

      fputc(c >= 0x20 && c < 0x7f ? c : '.', out);
    }
    fputs("|\n", out);
  }
}

const char *
actr_cli_priority_name(ActrPriority priority)
{
  return priority == ACTR_PRIORITY_HIGH ? "high" : "normal";
}

/* ---- Tables --------------------------------------------------------------- */

struct _ActrCliTable {
  guint n_columns;
  GPtrArray *headers;  /* char*, without the '>' marker */
  GArray *right_align; /* gboolean per column */
  GPtrArray *cells;    /* char*, row-major */
};

ActrCliTable *
actr_cli_table_new(const char *const *headers)
{
  ActrCliTable *table = g_new0(ActrCliTable, 1);

  table->headers = g_ptr_array_new_with_free_func(g_free);
  table->right_align = g_array_new(FALSE, FALSE, sizeof(gboolean));
  table->cells = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; headers[i] != NULL; i++) {
    gboolean right = headers[i][0] == '>';

    g_ptr_array_add(table->headers, g_strdup(headers[i] + (right ? 1 : 0)));
    g_array_append_val(table->right_align, right);
  }
  table->n_columns = table->headers->len;
  return table;
}

void
actr_cli_table_free(ActrCliTable *table)
{
  if (table == NULL)
    return;
  g_ptr_array_unref(table->headers);
  g_array_unref(table->right_align);
  g_ptr_array_unref(table->cells);
  g_free(table);
}

void
actr_cli_table_take(ActrCliTable *table, char *cell)
{
  if (!g_utf8_validate(cell, -1, NULL)) {
    char *valid = g_utf8_make_valid(cell, -1);

    g_free(cell);
    cell = valid;
  }
  g_ptr_array_add(table->cells, cell);
}

void
actr_cli_table_add(ActrCliTable *table, const char *cell)
{
  actr_cli_table_take(table, g_strdup(cell != NULL ? cell : ""));
}

void
actr_cli_table_addf(ActrCliTable *table, const char *format, ...)
{
  va_list args;
  char *cell;

  va_start(args, format);
  cell = g_strdup_vprintf(format, args);
  va_end(args);
  actr_cli_table_take(table, cell);
}

static void
print_row(ActrCliTable *table, FILE *out, char **row, const guint *widths)
{
  for (guint c = 0; c < table->n_columns; c++) {
    const char *cell = row[c] != NULL ? row[c] : "";
    guint len = (guint)g_utf8_strlen(cell, -1);
    gboolean right = g_array_index(table->right_align, gboolean, c);
    gboolean last = c + 1 == table->n_columns;

    if (c > 0)
      fputs("  ", out);
    if (right)
      print_spaces(out, widths[c] - len);
    fputs(cell, out);
    if (!right && !last)
      print_spaces(out, widths[c] - len);
  }
  fputc('\n', out);
}

void
actr_cli_table_print(ActrCliTable *table, FILE *out)
{
  g_autofree guint *widths = g_new0(guint, table->n_columns);
  g_autofree char **row = g_new0(char *, table->n_columns);
  guint n_cells = table->cells->len;

  for (guint i = 0; i < n_cells + table->n_columns; i++) {
    const char *cell = i < table->n_columns ? g_ptr_array_index(table->headers, i)
                                            : g_ptr_array_index(table->cells, i - table->n_columns);
    guint c = i % table->n_columns;

    widths[c] = MAX(widths[c], (guint)g_utf8_strlen(cell, -1));
  }
  for (guint c = 0; c < table->n_columns; c++)
    row[c] = g_ptr_array_index(table->headers, c);
  print_row(table, out, row, widths);
  for (guint i = 0; i < n_cells; i += table->n_columns) {
    for (guint c = 0; c < table->n_columns; c++)
      row[c] = i + c < n_cells ? g_ptr_array_index(table->cells, i + c) : NULL;
    print_row(table, out, row, widths);
  }
}

void
actr_cli_print_field(FILE *out, guint key_width, const char *key, const char *value)
{
  g_autofree char *label = g_strconcat(key, ":", NULL);

  fprintf(out, "%-*s %s\n", (int)key_width, label, value);
}
