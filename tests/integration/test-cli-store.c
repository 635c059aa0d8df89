/* Integration test: the real `actr` binary on real store files.
 *
 * Each test builds a mailbox database with the store API in a fresh temp
 * directory, closes it, then runs the built `actr` executable (path given as
 * the first non-option argument, else $ACTR_BUILD_ROOT/src/cli/actr) with
 * g_spawn and checks exit status, stdout and stderr.  Results are verified
 * through the store API afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <actr/store.h>
#include <actr/version.h>

static char *actr_path;

/* ---- Running the binary --------------------------------------------------- */

typedef struct {
  int status; /* exit code */
  char *out;
  char *err;
} Run;

static void
run_clear(Run *run)
{
  g_clear_pointer(&run->out, g_free);
  g_clear_pointer(&run->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Run, run_clear)

static char **
child_environment(void)
{
  char **env = g_get_environ();

  /* Stable, untranslated output. */
  env = g_environ_setenv(env, "LC_ALL", "C", TRUE);
  env = g_environ_unsetenv(env, "G_MESSAGES_DEBUG");
  return env;
}

/* Runs actr with the NULL-terminated @args; stdin is /dev/null. */
static void
run_actrv(Run *run, const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_auto(GStrv) env = child_environment();
  g_autoptr(GError) error = NULL;
  g_autofree char *joined = NULL;
  int wait_status = 0;

  g_ptr_array_add(argv, actr_path);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add(argv, (gpointer)args[i]);
  g_ptr_array_add(argv, NULL);
  joined = g_strjoinv(" ", (char **)argv->pdata + 1);

  run_clear(run);
  g_spawn_sync(NULL, (char **)argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL, &run->out, &run->err,
               &wait_status, &error);
  g_assert_no_error(error);
  /* Never die by a signal on bad input. */
  if (!WIFEXITED(wait_status))
    g_error("'actr %s' died by signal %d; stderr: %s", joined, WTERMSIG(wait_status), run->err);
  run->status = WEXITSTATUS(wait_status);
  g_test_message("actr %s -> %d\nstdout: %s\nstderr: %s", joined, run->status, run->out, run->err);
}

/* Runs actr with the NULL-terminated arguments. */
static void run_actr(Run *run, const char *first, ...) G_GNUC_NULL_TERMINATED;

static void
run_actr(Run *run, const char *first, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new();
  va_list ap;

  va_start(ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg(ap, const char *))
    g_ptr_array_add(args, (gpointer)arg);
  va_end(ap);
  g_ptr_array_add(args, NULL);
  run_actrv(run, (const char *const *)args->pdata);
}

/* Exactly one line on stderr starting with "actr: ". */
static void
assert_one_line_diagnostic(const Run *run)
{
  const char *newline = strchr(run->err, '\n');

  g_assert_true(g_str_has_prefix(run->err, "actr: "));
  g_assert_nonnull(newline);
  g_assert_cmpstr(newline + 1, ==, "");
}

static void
assert_usage_error(const Run *run, const char *fragment)
{
  g_assert_cmpint(run->status, ==, 2);
  g_assert_cmpstr(run->out, ==, "");
  assert_one_line_diagnostic(run);
  if (fragment != NULL)
    g_assert_nonnull(strstr(run->err, fragment));
}

/* ---- A tiny JSON checker -------------------------------------------------- */

typedef struct {
  const char *p;
  int depth;
} JsonCursor;

static gboolean json_value(JsonCursor *c);

static void
json_ws(JsonCursor *c)
{
  while (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')
    c->p++;
}

static gboolean
json_string(JsonCursor *c)
{
  if (*c->p != '"')
    return FALSE;
  c->p++;
  while (*c->p != '"') {
    guchar ch = (guchar)*c->p;

    if (ch == '\0' || ch < 0x20)
      return FALSE;
    if (ch == '\\') {
      c->p++;
      if (*c->p == 'u') {
        for (int i = 1; i <= 4; i++) {
          if (!g_ascii_isxdigit(c->p[i]))
            return FALSE;
        }
        c->p += 5;
        continue;
      }
      if (strchr("\"\\/bfnrt", *c->p) == NULL || *c->p == '\0')
        return FALSE;
    }
    c->p++;
  }
  c->p++;
  return TRUE;
}

static gboolean
json_number(JsonCursor *c)
{
  if (*c->p == '-')
    c->p++;
  if (*c->p == '0') {
    c->p++;
  } else if (*c->p >= '1' && *c->p <= '9') {
    while (g_ascii_isdigit(*c->p))
      c->p++;
  } else {
    return FALSE;
  }
  if (*c->p == '.') {
    c->p++;
    if (!g_ascii_isdigit(*c->p))
      return FALSE;
    while (g_ascii_isdigit(*c->p))
      c->p++;
  }
  if (*c->p == 'e' || *c->p == 'E') {
    c->p++;
    if (*c->p == '+' || *c->p == '-')
      c->p++;
    if (!g_ascii_isdigit(*c->p))
      return FALSE;
    while (g_ascii_isdigit(*c->p))
      c->p++;
  }
  return TRUE;
}

static gboolean
json_container(JsonCursor *c, char close, gboolean members)
{
  if (++c->depth > 64)
    return FALSE;
  c->p++;
  json_ws(c);
  if (*c->p == close) {
    c->p++;
    c->depth--;
    return TRUE;
  }
  for (;;) {
    json_ws(c);
    if (members) {
      if (!json_string(c))
        return FALSE;
      json_ws(c);
      if (*c->p != ':')
        return FALSE;
      c->p++;
    }
    if (!json_value(c))
      return FALSE;
    json_ws(c);
    if (*c->p == ',') {
      c->p++;
      continue;
    }
    if (*c->p != close)
      return FALSE;
    c->p++;
    c->depth--;
    return TRUE;
  }
}

static gboolean
json_value(JsonCursor *c)
{
  json_ws(c);
  switch (*c->p) {
  case '{':
    return json_container(c, '}', TRUE);
  case '[':
    return json_container(c, ']', FALSE);
  case '"':
    return json_string(c);
  case 't':
    return g_str_has_prefix(c->p, "true") ? (c->p += 4, TRUE) : FALSE;
  case 'f':
    return g_str_has_prefix(c->p, "false") ? (c->p += 5, TRUE) : FALSE;
  case 'n':
    return g_str_has_prefix(c->p, "null") ? (c->p += 4, TRUE) : FALSE;
  default:
    return json_number(c);
  }
}

/* TRUE when @text is exactly one JSON document (RFC 8259) plus whitespace,
 * and valid UTF-8. */
static gboolean
is_one_json_document(const char *text)
{
  JsonCursor c = {text, 0};

  if (!g_utf8_validate(text, -1, NULL))
    return FALSE;
  json_ws(&c);
  if (*c.p != '{' && *c.p != '[')
    return FALSE;
  if (!json_value(&c))
    return FALSE;
  json_ws(&c);
  return *c.p == '\0';
}

/* The text of the first string member @key (no escapes expected), or NULL. */
static char *
json_string_member(const char *text, const char *key)
{
  g_autofree char *needle = g_strdup_printf("\"%s\": \"", key);
  const char *start = strstr(text, needle);
  const char *end;

  if (start == NULL)
    return NULL;
  start += strlen(needle);
  end = strchr(start, '"');
  g_assert_nonnull(end);
  return g_strndup(start, end - start);
}

static void
assert_json_has(const char *text, const char *key, const char *value)
{
  g_autofree char *member = g_strdup_printf("\"%s\": %s", key, value);

  if (strstr(text, member) == NULL)
    g_error("JSON lacks %s:\n%s", member, text);
}

/* Success with exactly one JSON document on stdout.  Write commands may log
 * on stderr (the store reports messages it returned to the queue). */
static void
assert_json_stdout(const Run *run)
{
  g_assert_cmpint(run->status, ==, 0);
  if (!is_one_json_document(run->out))
    g_error("not one JSON document:\n%s", run->out);
}

/* The same, with nothing on stderr (inspection commands). */
static void
assert_json_output(const Run *run)
{
  assert_json_stdout(run);
  g_assert_cmpstr(run->err, ==, "");
}

/* ---- Fixture: a populated store in a temp dir ----------------------------- */

#define HELLO "hello"
static const guint8 binary_envelope[] = {0x0a, 0x00, 0xff, 0x22, 0x5c, 0x7f, 0x10, 0x80};
#define DLQ_CATEGORY "protobuf_decode"
#define DLQ_MESSAGE  "decode failure: \"bad\" tag\nat byte 3"

typedef struct {
  char *dir;
  char *db;
  char *db_arg; /* "--db=<db>" */
  gint64 in_flight_id;
  gint64 queued_hello_id;
  gint64 dlq_id;
} Fixture;

static ActrStore *
open_store(const char *path, gboolean read_only)
{
  g_autoptr(GError) error = NULL;
  ActrStoreOptions options;
  ActrStore *store;

  actr_store_options_init(&options);
  options.read_only = read_only;
  store = actr_store_open(path, &options, &error);
  g_assert_no_error(error);
  g_assert_nonnull(store);
  return store;
}

static gint64
enqueue(ActrStore *store, ActrPriority priority, const char *request_id, const void *data,
        gsize size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) envelope = g_bytes_new(data, size);
  g_autoptr(GBytes) sender = g_bytes_new_static("\x0a\x03"
                                                "abc",
                                                5);
  ActrInboundMessage message = {priority, request_id, sender, envelope};
  ActrEnqueueResult result = {0};
  gint64 id;

  g_assert_true(actr_store_enqueue(store, &message, &result, &error));
  g_assert_no_error(error);
  g_assert_cmpint(result.outcome, ==, ACTR_ENQUEUE_ACCEPTED);
  id = result.id;
  actr_enqueue_result_clear(&result); /* zeroes @result */
  return id;
}

/* The store: one message acked, one in flight (HIGH, binary envelope), two
 * queued NORMAL ("hello" with req-3, and one without request id), one dead
 * letter. */
static void
populate(Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) batch = NULL;
  g_autoptr(GBytes) response = g_bytes_new_static("ok", 2);
  ActrStore *store = open_store(f->db, FALSE);
  gint64 acked, doomed;

  acked = enqueue(store, ACTR_PRIORITY_NORMAL, "req-1", "first", 5);
  f->in_flight_id =
      enqueue(store, ACTR_PRIORITY_HIGH, "req-2", binary_envelope, sizeof binary_envelope);
  f->queued_hello_id = enqueue(store, ACTR_PRIORITY_NORMAL, "req-3", HELLO, strlen(HELLO));
  enqueue(store, ACTR_PRIORITY_NORMAL, NULL, "anon", 4);
  doomed = enqueue(store, ACTR_PRIORITY_NORMAL, "req-5", "\x08\x96\x01", 3);

  /* HIGH first, then the oldest NORMAL. */
  batch = actr_store_dequeue(store, 2, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(batch->len, ==, 2);
  g_assert_cmpint(((ActrStoreMessage *)g_ptr_array_index(batch, 0))->id, ==, f->in_flight_id);
  g_assert_cmpint(((ActrStoreMessage *)g_ptr_array_index(batch, 1))->id, ==, acked);
  g_assert_true(actr_store_ack(store, acked, response, &error));
  g_assert_no_error(error);
  g_assert_true(
      actr_store_dead_letter(store, doomed, DLQ_CATEGORY, DLQ_MESSAGE, &f->dlq_id, &error));
  g_assert_no_error(error);
  actr_store_close(store);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp("actr-cli-XXXXXX", &error);
  g_assert_no_error(error);
  f->db = g_build_filename(f->dir, "mailbox.db", NULL);
  f->db_arg = g_strconcat("--db=", f->db, NULL);
  if (data != NULL)
    populate(f);
}

static void
remove_tree(const char *path)
{
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  const char *name;

  if (dir != NULL) {
    while ((name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);

      remove_tree(child);
    }
  }
  g_assert_cmpint(g_remove(path), ==, 0);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
  remove_tree(f->dir);
  g_free(f->dir);
  g_free(f->db);
  g_free(f->db_arg);
}

static void
get_stats(const char *db, ActrStoreStats *stats)
{
  g_autoptr(GError) error = NULL;
  ActrStore *store = open_store(db, TRUE);

  g_assert_true(actr_store_get_stats(store, stats, &error));
  g_assert_no_error(error);
  actr_store_close(store);
}

static void
write_file(const char *path, const void *data, gsize size)
{
  g_autoptr(GError) error = NULL;

  g_assert_true(g_file_set_contents(path, data, (gssize)size, &error));
  g_assert_no_error(error);
}

/* ---- Tests: global behaviour ---------------------------------------------- */

static void
test_version(void)
{
  g_auto(Run) run = {0};
  g_autofree char *expected = g_strdup_printf("actr %s\n", ACTR_VERSION_STRING);

  run_actr(&run, "--version", NULL);
  g_assert_cmpint(run.status, ==, 0);
  g_assert_cmpstr(run.out, ==, expected);
  g_assert_cmpstr(run.err, ==, "");
  g_assert_true(g_regex_match_simple("^actr [0-9]+\\.[0-9]+\\.[0-9]+\n$", run.out, 0, 0));
}

static void
test_help(void)
{
  static const char *const commands[][2] = {
      {"mailbox", "stats"}, {"mailbox", "list"}, {"mailbox", "peek"}, {"dlq", "list"},
      {"dlq", "show"},      {"dlq", "requeue"},  {"dlq", "delete"},   {"dlq", "purge"},
  };

  {
    g_auto(Run) run = {0};

    run_actr(&run, "--help", NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_cmpstr(run.err, ==, "");
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
      g_autofree char *line = g_strdup_printf("actr %s %s", commands[i][0], commands[i][1]);

      g_assert_nonnull(strstr(run.out, line));
    }
  }
  {
    g_auto(Run) run = {0};
    g_auto(Run) help = {0};

    run_actr(&run, "help", NULL);
    run_actr(&help, "-h", NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_cmpstr(run.out, ==, help.out);
  }
  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    g_auto(Run) run = {0};
    g_auto(Run) via_help = {0};
    g_autofree char *name = g_strdup_printf("actr %s %s - ", commands[i][0], commands[i][1]);

    run_actr(&run, commands[i][0], commands[i][1], "--help", NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_cmpstr(run.err, ==, "");
    g_assert_nonnull(strstr(run.out, name));
    g_assert_nonnull(strstr(run.out, "SYNOPSIS"));
    g_assert_nonnull(strstr(run.out, "DESCRIPTION"));
    g_assert_nonnull(strstr(run.out, "OPTIONS"));
    g_assert_nonnull(strstr(run.out, "--db PATH"));
    g_assert_nonnull(strstr(run.out, "EXIT STATUS"));
    g_assert_nonnull(strstr(run.out, "EXAMPLES"));

    /* "actr help GROUP SUB" and "-h" after other arguments print the same. */
    run_actr(&via_help, "help", commands[i][0], commands[i][1], NULL);
    g_assert_cmpint(via_help.status, ==, 0);
    g_assert_cmpstr(via_help.out, ==, run.out);
  }
  for (guint i = 0; i < 2; i++) {
    const char *group = i == 0 ? "mailbox" : "dlq";
    g_auto(Run) run = {0};

    run_actr(&run, group, "--help", NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_nonnull(strstr(run.out, "COMMANDS"));
  }
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "purge", "--db", "/nonexistent", "-h", NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_nonnull(strstr(run.out, "--yes"));
  }
}

static void
test_usage_errors(void)
{
  struct {
    const char *args[8];
    const char *fragment;
  } cases[] = {
      {{NULL}, "missing command"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"--frobnicate"}, "unknown option '--frobnicate'"},
      {{"help", "frobnicate"}, "unknown command"},
      {{"mailbox"}, "missing command"},
      {{"mailbox", "frobnicate"}, "unknown command 'frobnicate'"},
      {{"mailbox", "stats"}, "missing required option --db"},
      {{"mailbox", "stats", "--db"}, "needs a value"},
      {{"mailbox", "stats", "--db="}, "non-empty"},
      {{"mailbox", "stats", "--db", "x.db", "--bogus"}, "unknown option '--bogus'"},
      {{"mailbox", "stats", "--db", "x.db", "-Z"}, "unknown option '-Z'"},
      {{"mailbox", "stats", "--db", "x.db", "extra"}, "unexpected argument 'extra'"},
      {{"mailbox", "stats", "--db", "x.db", "--json=yes"}, "takes no value"},
      {{"mailbox", "list", "--db", "x.db", "--limit", "-1"}, "invalid value '-1'"},
      {{"mailbox", "list", "--db", "x.db", "--limit=abc"}, "invalid value 'abc'"},
      {{"mailbox", "list", "--db", "x.db", "--limit", "99999999999"}, "invalid value"},
      {{"mailbox", "peek", "--db", "x.db"}, "missing message ID"},
      {{"mailbox", "peek", "abc", "--db", "x.db"}, "invalid ID 'abc'"},
      {{"mailbox", "peek", "0", "--db", "x.db"}, "invalid ID '0'"},
      {{"mailbox", "peek", "12x", "--db", "x.db"}, "invalid ID '12x'"},
      {{"mailbox", "peek", "1", "2", "--db", "x.db"}, "unexpected argument '2'"},
      {{"mailbox", "peek", "1"}, "missing required option --db"},
      {{"mailbox", "peek", "1", "--db", "x.db", "--json", "--raw"}, "cannot be combined"},
      {{"dlq", "show", "--db", "x.db"}, "missing dead-letter ID"},
      {{"dlq", "requeue", "99999999999999999999", "--db", "x.db"}, "invalid ID"},
      {{"dlq", "purge", "--db", "x.db"}, "--yes"},
      {{"dlq", "list", "--db", "x.db", "--category"}, "needs a value"},
  };

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_auto(Run) run = {0};

    run_actrv(&run, cases[i].args);
    assert_usage_error(&run, cases[i].fragment);
  }
  /* Usage errors are reported before the database is looked at. */
  g_assert_false(g_file_test("x.db", G_FILE_TEST_EXISTS));
}

/* ---- Tests: bad databases ------------------------------------------------- */

static void
test_missing_db(Fixture *f, gconstpointer data)
{
  g_autofree char *expected = g_strdup_printf("actr: %s: no such mailbox database\n", f->db);
  const char *const commands[][3] = {
      {"mailbox", "stats", NULL}, {"mailbox", "list", NULL}, {"mailbox", "peek", "1"},
      {"dlq", "list", NULL},      {"dlq", "show", "1"},      {"dlq", "requeue", "1"},
      {"dlq", "delete", "1"},
  };

  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    g_auto(Run) run = {0};

    if (commands[i][2] != NULL)
      run_actr(&run, commands[i][0], commands[i][1], commands[i][2], "--db", f->db, NULL);
    else
      run_actr(&run, commands[i][0], commands[i][1], "--db", f->db, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_cmpstr(run.out, ==, "");
    g_assert_cmpstr(run.err, ==, expected);
  }
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "purge", "--yes", "--json", f->db_arg, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_cmpstr(run.out, ==, "");
    g_assert_cmpstr(run.err, ==, expected);
  }
  /* Nothing was created. */
  g_assert_false(g_file_test(f->db, G_FILE_TEST_EXISTS));
}

static void
test_corrupt_db(Fixture *f, gconstpointer data)
{
  g_autofree char *prefix = g_strdup_printf("actr: %s: ", f->db);
  guint8 garbage[8192];
  const char *const commands[][3] = {
      {"mailbox", "stats", NULL}, {"mailbox", "list", NULL}, {"mailbox", "peek", "1"},
      {"dlq", "list", NULL},      {"dlq", "show", "1"},      {"dlq", "requeue", "1"},
      {"dlq", "delete", "1"},
  };

  for (guint i = 0; i < sizeof garbage; i++)
    garbage[i] = (guint8)(i * 7 + 13);
  write_file(f->db, garbage, sizeof garbage);

  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    g_auto(Run) run = {0};

    if (commands[i][2] != NULL)
      run_actr(&run, commands[i][0], commands[i][1], commands[i][2], "--db", f->db, NULL);
    else
      run_actr(&run, commands[i][0], commands[i][1], "--db", f->db, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_cmpstr(run.out, ==, "");
    assert_one_line_diagnostic(&run);
    g_assert_true(g_str_has_prefix(run.err, prefix));
  }
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "purge", "--yes", f->db_arg, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_true(g_str_has_prefix(run.err, prefix));
    assert_one_line_diagnostic(&run);
  }
  {
    /* The garbage was not touched. */
    g_autofree char *contents = NULL;
    gsize size = 0;

    g_assert_true(g_file_get_contents(f->db, &contents, &size, NULL));
    g_assert_cmpmem(contents, size, garbage, sizeof garbage);
  }
}

/* An empty file or another program's SQLite database is not a mailbox, and
 * a write command must not turn it into one. */
static void
test_foreign_db(Fixture *f, gconstpointer data)
{
  g_autofree char *prefix = g_strdup_printf("actr: %s: ", f->db);
  sqlite3 *db = NULL;

  g_assert_cmpint(sqlite3_open(f->db, &db), ==, SQLITE_OK);
  g_assert_cmpint(sqlite3_exec(db, "CREATE TABLE notes (text TEXT)", NULL, NULL, NULL), ==,
                  SQLITE_OK);
  sqlite3_close(db);

  for (guint i = 0; i < 3; i++) {
    g_auto(Run) run = {0};

    if (i == 0)
      run_actr(&run, "mailbox", "stats", f->db_arg, NULL);
    else if (i == 1)
      run_actr(&run, "dlq", "purge", "--yes", f->db_arg, NULL);
    else
      run_actr(&run, "dlq", "requeue", "1", f->db_arg, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_true(g_str_has_prefix(run.err, prefix));
    assert_one_line_diagnostic(&run);
  }

  /* Still only the foreign table. */
  {
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &stmt, NULL),
                    ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpint(sqlite3_column_int(stmt, 0), ==, 1);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }

  /* A zero-byte file is no mailbox either. */
  {
    g_auto(Run) run = {0};
    g_autofree char *empty = g_build_filename(f->dir, "empty.db", NULL);
    g_autofree char *empty_prefix = g_strdup_printf("actr: %s: ", empty);

    write_file(empty, "", 0);
    run_actr(&run, "dlq", "purge", "--yes", "--db", empty, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_true(g_str_has_prefix(run.err, empty_prefix));
  }
  /* A directory is not a database. */
  {
    g_auto(Run) run = {0};
    g_autofree char *expected = g_strdup_printf("actr: %s: is a directory", f->dir);

    run_actr(&run, "mailbox", "list", "--db", f->dir, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_true(g_str_has_prefix(run.err, expected));
  }
}

/* ---- Tests: inspection ---------------------------------------------------- */

static void
test_stats(Fixture *f, gconstpointer data)
{
  ActrStoreStats stats;
  g_auto(Run) text = {0};
  g_auto(Run) json = {0};
  g_autofree char *queued = NULL;
  g_autofree char *value = NULL;

  get_stats(f->db, &stats);
  g_assert_cmpuint(stats.in_flight, ==, 1);
  g_assert_cmpuint(stats.dlq, ==, 1);

  run_actr(&text, "mailbox", "stats", "--db", f->db, NULL);
  g_assert_cmpint(text.status, ==, 0);
  g_assert_cmpstr(text.err, ==, "");
  queued = g_strdup_printf("queued:         %" G_GUINT64_FORMAT " (high %" G_GUINT64_FORMAT
                           ", normal %" G_GUINT64_FORMAT ")\n",
                           stats.queued, stats.queued_high, stats.queued_normal);
  g_assert_nonnull(strstr(text.out, queued));
  g_assert_nonnull(strstr(text.out, "in flight:      1\n"));
  g_assert_nonnull(strstr(text.out, "dead letters:   1\n"));
  g_assert_nonnull(strstr(text.out, " ago)\n"));
  g_assert_nonnull(strstr(text.out, " bytes"));

  {
    /* -v: the same result, plus notes on stderr. */
    g_auto(Run) verbose = {0};

    run_actr(&verbose, "-v", "mailbox", "stats", "--db", f->db, NULL);
    g_assert_cmpint(verbose.status, ==, 0);
    g_assert_nonnull(strstr(verbose.err, "read-only"));
    g_assert_cmpstr(verbose.out, ==, text.out);
  }

  run_actr(&json, "mailbox", "stats", f->db_arg, "--json", NULL);
  assert_json_output(&json);
  value = g_strdup_printf("%" G_GUINT64_FORMAT, stats.queued);
  assert_json_has(json.out, "queued", value);
  assert_json_has(json.out, "in_flight", "1");
  assert_json_has(json.out, "dlq", "1");
  g_clear_pointer(&value, g_free);
  value = g_strdup_printf("%" G_GUINT64_FORMAT, stats.dedup_records);
  assert_json_has(json.out, "dedup_records", value);
  g_clear_pointer(&value, g_free);
  value = g_strdup_printf("%" G_GINT64_FORMAT, stats.oldest_enqueued_ns);
  assert_json_has(json.out, "oldest_enqueued_ns", value);
  g_clear_pointer(&value, g_free);
  value = json_string_member(json.out, "database");
  g_assert_cmpstr(value, ==, f->db);
}

static void
test_list(Fixture *f, gconstpointer data)
{
  g_auto(Run) text = {0};
  g_auto(Run) json = {0};
  g_auto(Run) limited = {0};
  g_auto(GStrv) lines = NULL;
  g_autofree char *in_flight_row = g_strdup_printf("%" G_GINT64_FORMAT "  high", f->in_flight_id);

  run_actr(&text, "mailbox", "list", "--db", f->db, NULL);
  g_assert_cmpint(text.status, ==, 0);
  g_assert_cmpstr(text.err, ==, "");
  lines = g_strsplit(text.out, "\n", -1);
  /* Header + 3 messages + the empty string after the final newline. */
  g_assert_cmpuint(g_strv_length(lines), ==, 5);
  g_assert_true(g_regex_match_simple("^ *ID  PRIORITY  STATE +ATTEMPTS  BYTES  ENQUEUED +AGE +"
                                     "REQUEST_ID$",
                                     lines[0], 0, 0));
  /* Delivery order: the in-flight message first. */
  g_assert_nonnull(strstr(lines[1], in_flight_row));
  g_assert_nonnull(strstr(lines[1], "in_flight"));
  g_assert_nonnull(strstr(lines[1], "req-2"));
  g_assert_nonnull(strstr(lines[2], "req-3"));
  g_assert_true(g_str_has_suffix(lines[3], "  -"));
  /* Columns line up: every row is as wide as the header up to REQUEST_ID. */
  g_assert_cmpint(strstr(lines[0], "REQUEST_ID") - lines[0], ==,
                  strstr(lines[1], "req-2") - lines[1]);

  run_actr(&json, "mailbox", "list", "--db", f->db, "--json", NULL);
  assert_json_output(&json);
  assert_json_has(json.out, "count", "3");
  assert_json_has(json.out, "truncated", "false");
  assert_json_has(json.out, "state", "\"in_flight\"");
  assert_json_has(json.out, "request_id", "null");
  assert_json_has(json.out, "envelope_size", "5");
  g_assert_null(strstr(json.out, "\"envelope\":"));

  run_actr(&limited, "mailbox", "list", "-n", "1", "--json", f->db_arg, NULL);
  assert_json_output(&limited);
  assert_json_has(limited.out, "count", "1");
  assert_json_has(limited.out, "truncated", "true");
}

static void
test_peek(Fixture *f, gconstpointer data)
{
  g_autofree char *hello_id = g_strdup_printf("%" G_GINT64_FORMAT, f->queued_hello_id);
  g_autofree char *binary_id = g_strdup_printf("%" G_GINT64_FORMAT, f->in_flight_id);
  g_autofree char *hello_b64 = g_base64_encode((const guchar *)HELLO, strlen(HELLO));

  {
    g_auto(Run) run = {0};

    run_actr(&run, "mailbox", "peek", hello_id, "--db", f->db, NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_cmpstr(run.err, ==, "");
    g_assert_nonnull(strstr(run.out, "request id:  req-3\n"));
    g_assert_nonnull(strstr(run.out, "envelope:    5 bytes\n"));
    g_assert_nonnull(strstr(run.out, "  00000000  68 65 6c 6c 6f "));
    g_assert_nonnull(strstr(run.out, "|hello|\n"));
    g_assert_nonnull(strstr(run.out, "sender:      5 bytes: 0a03616263\n"));
  }
  {
    g_auto(Run) run = {0};
    g_autofree char *envelope = NULL;

    run_actr(&run, "mailbox", "peek", "--json", hello_id, f->db_arg, NULL);
    assert_json_output(&run);
    envelope = json_string_member(run.out, "envelope");
    g_assert_cmpstr(envelope, ==, hello_b64);
    assert_json_has(run.out, "id", hello_id);
    assert_json_has(run.out, "priority", "\"normal\"");
    assert_json_has(run.out, "state", "\"queued\"");
  }
  {
    /* Binary bytes: the hex dump shows them, --raw writes them unchanged. */
    g_auto(Run) run = {0};
    g_auto(Run) raw = {0};

    run_actr(&run, "mailbox", "peek", binary_id, f->db_arg, NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_nonnull(strstr(run.out, "0a 00 ff 22 5c 7f 10 80"));
    g_assert_nonnull(strstr(run.out, "|...\"\\...|"));
    g_assert_nonnull(strstr(run.out, "state:       in_flight\n"));

    run_actr(&raw, "mailbox", "peek", binary_id, f->db_arg, "--raw", NULL);
    g_assert_cmpint(raw.status, ==, 0);
    /* g_spawn_sync NUL-terminates; the data itself contains a NUL. */
    g_assert_cmpmem(raw.out, sizeof binary_envelope, binary_envelope, sizeof binary_envelope);
  }
  {
    g_auto(Run) run = {0};
    g_autofree char *expected =
        g_strdup_printf("actr: %s: no message with ID 999999 in the inbox\n", f->db);

    run_actr(&run, "mailbox", "peek", "999999", "--db", f->db, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_cmpstr(run.out, ==, "");
    g_assert_cmpstr(run.err, ==, expected);
  }
}

static void
test_dlq_list_show(Fixture *f, gconstpointer data)
{
  g_autofree char *dlq_id = g_strdup_printf("%" G_GINT64_FORMAT, f->dlq_id);

  {
    g_auto(Run) run = {0};
    g_auto(GStrv) lines = NULL;

    run_actr(&run, "dlq", "list", "--db", f->db, NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_cmpstr(run.err, ==, "");
    lines = g_strsplit(run.out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 3);
    g_assert_nonnull(strstr(lines[0], "CATEGORY"));
    g_assert_nonnull(strstr(lines[1], DLQ_CATEGORY));
    g_assert_nonnull(strstr(lines[1], "req-5"));
    /* The newline in the error message is escaped, not printed. */
    g_assert_nonnull(strstr(lines[1], "decode failure: \"bad\" tag\\x0aat byte 3"));
  }
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "list", "--db", f->db, "--json", NULL);
    assert_json_output(&run);
    assert_json_has(run.out, "count", "1");
    assert_json_has(run.out, "id", dlq_id);
    assert_json_has(run.out, "category", "\"" DLQ_CATEGORY "\"");
    assert_json_has(run.out, "error_message", "\"decode failure: \\\"bad\\\" tag\\nat byte 3\"");
    assert_json_has(run.out, "raw_size", "3");
    g_assert_null(strstr(run.out, "\"raw\":"));
  }
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "list", "--db", f->db, "--category", "max_attempts", "--json", NULL);
    assert_json_output(&run);
    assert_json_has(run.out, "count", "0");
    assert_json_has(run.out, "records", "[]");
  }
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "show", dlq_id, "--db", f->db, NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_nonnull(strstr(run.out, "category:         " DLQ_CATEGORY "\n"));
    g_assert_nonnull(strstr(run.out, "request id:       req-5\n"));
    g_assert_nonnull(strstr(run.out, "raw bytes:        3 bytes\n"));
    g_assert_nonnull(strstr(run.out, "  00000000  08 96 01 "));
  }
  {
    g_auto(Run) run = {0};
    g_autofree char *raw = NULL;

    run_actr(&run, "dlq", "show", dlq_id, "--db", f->db, "--json", NULL);
    assert_json_output(&run);
    raw = json_string_member(run.out, "raw");
    g_assert_cmpstr(raw, ==, "CJYB"); /* base64 of 08 96 01 */
  }
  {
    g_auto(Run) run = {0};
    g_autofree char *expected = g_strdup_printf("actr: %s: no dead letter with ID 4242\n", f->db);

    run_actr(&run, "dlq", "show", "4242", "--db", f->db, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_cmpstr(run.err, ==, expected);
  }
}

/* ---- Tests: changes ------------------------------------------------------- */

static void
test_dlq_requeue(Fixture *f, gconstpointer data)
{
  g_autofree char *dlq_id = g_strdup_printf("%" G_GINT64_FORMAT, f->dlq_id);
  g_autoptr(GError) error = NULL;
  g_auto(Run) run = {0};
  g_auto(Run) again = {0};
  gint64 message_id = 0;
  char *end = NULL;
  g_autofree char *prefix = g_strdup_printf("requeued dead letter %s as message ", dlq_id);

  /* -q: not even the store's note about the in-flight message it returned
   * to the queue. */
  run_actr(&run, "-q", "dlq", "requeue", dlq_id, "--db", f->db, NULL);
  g_assert_cmpint(run.status, ==, 0);
  g_assert_cmpstr(run.err, ==, "");
  g_assert_true(g_str_has_prefix(run.out, prefix));
  message_id = g_ascii_strtoll(run.out + strlen(prefix), &end, 10);
  g_assert_cmpstr(end, ==, "\n");

  /* Verify with the API: out of the DLQ, back in the inbox, same bytes. */
  {
    ActrStore *store = open_store(f->db, TRUE);
    g_autoptr(ActrDlqRecord) record = actr_store_dlq_get(store, f->dlq_id, &error);
    g_autoptr(ActrStoreMessage) message = NULL;

    g_assert_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND);
    g_assert_null(record);
    g_clear_error(&error);
    message = actr_store_peek(store, message_id, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(message->request_id, ==, "req-5");
    g_assert_cmpuint(message->attempts, ==, 0);
    g_assert_cmpmem(g_bytes_get_data(message->envelope, NULL), g_bytes_get_size(message->envelope),
                    "\x08\x96\x01", 3);
    actr_store_close(store);
  }

  run_actr(&again, "dlq", "requeue", dlq_id, "--db", f->db, "--json", NULL);
  g_assert_cmpint(again.status, ==, 1);
  g_assert_cmpstr(again.out, ==, "");
  g_assert_nonnull(strstr(again.err, "no dead letter with ID"));
}

static void
test_dlq_requeue_json_and_delete(Fixture *f, gconstpointer data)
{
  g_autofree char *dlq_id = g_strdup_printf("%" G_GINT64_FORMAT, f->dlq_id);
  ActrStoreStats stats;

  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "delete", dlq_id, "--db", f->db, "--json", NULL);
    assert_json_stdout(&run);
    assert_json_has(run.out, "dlq_id", dlq_id);
    assert_json_has(run.out, "deleted", "true");
  }
  get_stats(f->db, &stats);
  g_assert_cmpuint(stats.dlq, ==, 0);
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "delete", dlq_id, "--db", f->db, NULL);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_nonnull(strstr(run.err, "no dead letter with ID"));
  }
}

static void
test_dlq_purge(Fixture *f, gconstpointer data)
{
  ActrStoreStats stats;

  {
    /* stdin is /dev/null: --yes is required, and nothing changes. */
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "purge", "--db", f->db, NULL);
    assert_usage_error(&run, "--yes");
    get_stats(f->db, &stats);
    g_assert_cmpuint(stats.dlq, ==, 1);
  }
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "purge", "--db", f->db, "--yes", NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_cmpstr(run.out, ==, "purged 1 dead letter\n");
  }
  get_stats(f->db, &stats);
  g_assert_cmpuint(stats.dlq, ==, 0);
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "purge", "-y", "--json", f->db_arg, NULL);
    assert_json_stdout(&run);
    assert_json_has(run.out, "removed", "0");
  }
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "list", "--db", f->db, "--json", NULL);
    assert_json_output(&run);
    assert_json_has(run.out, "count", "0");
  }
  {
    /* Empty: just the header; no status line when stderr is not a tty. */
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "list", "--db", f->db, NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_true(g_str_has_prefix(run.out, "ID  CATEGORY"));
    g_assert_nonnull(strchr(run.out, '\n'));
    g_assert_cmpstr(strchr(run.out, '\n'), ==, "\n");
    g_assert_cmpstr(run.err, ==, "");
  }
}

/* Runs "dlq purge" with a pseudo-terminal as stdin and @answer typed. */
static void
run_purge_on_tty(Fixture *f, const char *answer, Run *run)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = child_environment();
  const char *argv[] = {actr_path, "dlq", "purge", "--db", f->db, NULL};
  int master, slave, out_fd = -1, err_fd = -1, wait_status = 0;
  GPid pid;
  g_autoptr(GString) out = g_string_new(NULL);
  g_autoptr(GString) err = g_string_new(NULL);
  char buffer[4096];
  ssize_t n;

  master = posix_openpt(O_RDWR | O_NOCTTY);
  g_assert_cmpint(master, >=, 0);
  g_assert_cmpint(grantpt(master), ==, 0);
  g_assert_cmpint(unlockpt(master), ==, 0);
  slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  g_assert_cmpint(slave, >=, 0);

  g_assert_true(g_spawn_async_with_pipes_and_fds(
      NULL, argv, (const char *const *)env, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, slave, -1, -1,
      NULL, NULL, 0, &pid, NULL, &out_fd, &err_fd, &error));
  g_assert_no_error(error);
  close(slave);
  /* Canonical mode buffers the line until the child reads it. */
  g_assert_cmpint(write(master, answer, strlen(answer)), ==, (ssize_t)strlen(answer));

  while ((n = read(out_fd, buffer, sizeof buffer)) > 0)
    g_string_append_len(out, buffer, n);
  while ((n = read(err_fd, buffer, sizeof buffer)) > 0)
    g_string_append_len(err, buffer, n);
  close(out_fd);
  close(err_fd);
  g_assert_cmpint(waitpid(pid, &wait_status, 0), ==, pid);
  g_spawn_close_pid(pid);
  close(master);
  g_assert_true(WIFEXITED(wait_status));
  run->status = WEXITSTATUS(wait_status);
  run->out = g_string_free(g_steal_pointer(&out), FALSE);
  run->err = g_string_free(g_steal_pointer(&err), FALSE);
  g_test_message("purge on tty, answer %s -> %d\nstdout: %s\nstderr: %s", answer, run->status,
                 run->out, run->err);
}

static void
test_dlq_purge_confirm(Fixture *f, gconstpointer data)
{
  ActrStoreStats stats;

  {
    g_auto(Run) run = {0};

    run_purge_on_tty(f, "n\n", &run);
    g_assert_cmpint(run.status, ==, 1);
    g_assert_cmpstr(run.out, ==, "");
    g_assert_nonnull(strstr(run.err, "Delete all 1 dead letter in "));
    g_assert_nonnull(strstr(run.err, "[y/N]"));
    g_assert_nonnull(strstr(run.err, "cancelled"));
  }
  get_stats(f->db, &stats);
  g_assert_cmpuint(stats.dlq, ==, 1);
  {
    g_auto(Run) run = {0};

    run_purge_on_tty(f, "yes\n", &run);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_cmpstr(run.out, ==, "purged 1 dead letter\n");
  }
  get_stats(f->db, &stats);
  g_assert_cmpuint(stats.dlq, ==, 0);
}

/* cli.md: the dlq commands work while the node runs.  A node holds the
 * store open for writing; requeue succeeds, the node delivers the message
 * without a restart, and inspection keeps working. */
static void
test_next_to_running_node(Fixture *f, gconstpointer data)
{
  g_autofree char *dlq_id = g_strdup_printf("%" G_GINT64_FORMAT, f->dlq_id);
  ActrStore *node = open_store(f->db, FALSE);
  ActrStoreStats stats;
  g_autoptr(GError) error = NULL;

  g_assert_true(actr_store_get_stats(node, &stats, &error));
  g_assert_no_error(error);
  guint64 queued_before = stats.queued;
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "requeue", dlq_id, "--db", f->db, "--json", NULL);
    g_assert_cmpint(run.status, ==, 0);
    assert_json_output(&run);
    assert_json_has(run.out, "dlq_id", dlq_id);
  }
  {
    g_auto(Run) run = {0};

    run_actr(&run, "mailbox", "stats", "--db", f->db, "--json", NULL);
    assert_json_output(&run);
    assert_json_has(run.out, "dlq", "0");
  }
  /* The running node sees the requeued message at its next operation. */
  g_autoptr(GPtrArray) batch = actr_store_dequeue(node, 1000, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(batch->len, ==, queued_before + 1);
  {
    g_auto(Run) run = {0};

    run_actr(&run, "dlq", "purge", "--yes", "--db", f->db, NULL);
    g_assert_cmpint(run.status, ==, 0);
  }
  actr_store_close(node);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);

  if (argc > 1) {
    actr_path = g_strdup(argv[1]);
  } else {
    const char *build_root = g_getenv("ACTR_BUILD_ROOT");

    if (build_root == NULL) {
      g_printerr("usage: %s PATH-TO-ACTR (or set ACTR_BUILD_ROOT)\n", argv[0]);
      return 2;
    }
    actr_path = g_build_filename(build_root, "src", "cli", "actr", NULL);
  }

  g_test_add_func("/cli/version", test_version);
  g_test_add_func("/cli/help", test_help);
  g_test_add_func("/cli/usage-errors", test_usage_errors);
#define ADD(path, populated, func)                                                                 \
  g_test_add("/cli/" path, Fixture, (populated) ? "populated" : NULL, fixture_setup, func,         \
             fixture_teardown)
  ADD("missing-db", FALSE, test_missing_db);
  ADD("corrupt-db", FALSE, test_corrupt_db);
  ADD("foreign-db", FALSE, test_foreign_db);
  ADD("mailbox-stats", TRUE, test_stats);
  ADD("mailbox-list", TRUE, test_list);
  ADD("mailbox-peek", TRUE, test_peek);
  ADD("dlq-list-show", TRUE, test_dlq_list_show);
  ADD("dlq-requeue", TRUE, test_dlq_requeue);
  ADD("dlq-delete", TRUE, test_dlq_requeue_json_and_delete);
  ADD("dlq-purge", TRUE, test_dlq_purge);
  ADD("dlq-purge-confirm", TRUE, test_dlq_purge_confirm);
  ADD("next-to-running-node", TRUE, test_next_to_running_node);
#undef ADD

  {
    int rc = g_test_run();

    g_free(actr_path);
    return rc;
  }
}
