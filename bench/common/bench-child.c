/* actr benchmarks — child processes.  See bench-child.h. */
#include "bench-child.h"
#include "bench-util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define LOG_TAIL_BYTES 4096

static void
child_clear(gpointer data)
{
  BenchChild *c = data;

  g_free(c->name);
  g_clear_object(&c->proc);
  g_clear_object(&c->cancel);
  g_free(c->log_path);
  g_free(c->pid);
  g_free(c->ready);
}

void
bench_print_log(const char *name, const char *log_path)
{
  g_autofree char *text = NULL;
  gsize len = 0;

  if (log_path == NULL || !g_file_get_contents(log_path, &text, &len, NULL) || len == 0)
    return;
  fprintf(stderr, "%s: %s's stderr%s:\n%s%s", g_get_prgname(), name,
          len > LOG_TAIL_BYTES ? " (last 4 KiB)" : "",
          len > LOG_TAIL_BYTES ? text + len - LOG_TAIL_BYTES : text,
          text[len - 1] == '\n' ? "" : "\n");
}

/* Prints (once) the end of what the child wrote on stderr. */
void
bench_child_print_log(BenchChild *c)
{
  if (c->log_shown)
    return;
  c->log_shown = TRUE;
  bench_print_log(c->name, c->log_path);
}

static void
child_exited(GObject *source, GAsyncResult *result, gpointer data)
{
  BenchChild *c = data;

  if (g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL)) {
    c->exited = TRUE;
    c->wait_status = g_subprocess_get_status(c->proc);
    if (!c->stopping) {
      g_autofree char *how = bench_wait_status_text(c->wait_status);

      fprintf(stderr, "\n%s: the %s (pid %s) exited unexpectedly (%s)\n", g_get_prgname(), c->name,
              c->pid, how);
      bench_child_print_log(c);
      bench_aborted = TRUE;
    }
  }
  g_rc_box_release_full(c, child_clear);
}

static gboolean
child_is_exited(gpointer data)
{
  return ((BenchChild *)data)->exited;
}

/* SIGTERM, wait (SIGKILL after BENCH_STOP_TIMEOUT_MS), report an unclean exit,
 * drop the reference.  NULL-safe. */
void
bench_child_stop(BenchChild *c)
{
  if (c == NULL)
    return;
  c->stopping = TRUE;
  if (c->proc != NULL && !c->exited) {
    gboolean was_aborted = bench_aborted;

    bench_aborted = FALSE; /* wait even after Ctrl-C */
    g_subprocess_send_signal(c->proc, SIGTERM);
    if (!bench_wait_for(child_is_exited, c, BENCH_STOP_TIMEOUT_MS)) {
      fprintf(stderr, "%s: the %s did not exit within %d s of SIGTERM; killing it\n",
              g_get_prgname(), c->name, BENCH_STOP_TIMEOUT_MS / 1000);
      g_subprocess_force_exit(c->proc);
      bench_wait_for(child_is_exited, c, BENCH_STOP_TIMEOUT_MS);
    }
    bench_aborted = was_aborted || bench_aborted;
    if (c->exited && !(WIFEXITED(c->wait_status) && WEXITSTATUS(c->wait_status) == 0)) {
      g_autofree char *how = bench_wait_status_text(c->wait_status);

      fprintf(stderr, "%s: the %s (pid %s) did not exit cleanly (%s)\n", g_get_prgname(), c->name,
              c->pid, how);
      bench_child_print_log(c);
    }
  }
  if (c->cancel != NULL)
    g_cancellable_cancel(c->cancel);
  g_rc_box_release_full(c, child_clear);
}

/* Reads the child's stdout after its ready line and throws it away, so
 * that the child never blocks on a full pipe.  Owns itself. */
typedef struct {
  GDataInputStream *in;
  GCancellable *cancel;
} Drain;

static void
drain_next(GObject *source, GAsyncResult *result, gpointer data)
{
  Drain *d = data;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish(d->in, result, NULL, NULL);
  if (line == NULL || g_cancellable_is_cancelled(d->cancel)) {
    g_object_unref(d->in);
    g_object_unref(d->cancel);
    g_free(d);
    return;
  }
  g_data_input_stream_read_line_async(d->in, G_PRIORITY_DEFAULT, d->cancel, drain_next, d);
}

/* Starts @argv, waits for a stdout line starting with @ready_prefix (other
 * lines before it are skipped) and keeps the rest of that line in ->ready.
 * NULL (the reason and the child's stderr printed) on failure. */
BenchChild *
bench_child_start(const char *name, const char *log_path, const char *ready_prefix,
                  const char *const *argv)
{
  BenchChild *c = g_rc_box_new0(BenchChild);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  gint64 deadline = bench_now_ns() + (gint64)BENCH_START_TIMEOUT_MS * 1000000;
  Drain *drain;

  c->name = g_strdup(name);
  c->log_path = g_strdup(log_path);
  launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path(launcher, log_path);
  g_subprocess_launcher_setenv(launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_set_child_setup(launcher, bench_child_setup, NULL, NULL);
  c->proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
  if (c->proc == NULL) {
    fprintf(stderr, "%s: cannot start the %s (%s): %s\n", g_get_prgname(), name, argv[0],
            error->message);
    c->stopping = TRUE;
    bench_child_stop(c);
    return NULL;
  }
  c->pid = g_strdup(g_subprocess_get_identifier(c->proc));
  c->cancel = g_cancellable_new();
  g_subprocess_wait_async(c->proc, c->cancel, child_exited, g_rc_box_acquire(c));

  out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(c->proc));
  c->stopping = TRUE; /* an exit before the ready line is reported below */
  while (c->ready == NULL) {
    g_autoptr(GCancellable) read_cancel = g_cancellable_new();
    gint64 left_ms = (deadline - bench_now_ns()) / 1000000;
    BenchLineRead r = {0};

    g_data_input_stream_read_line_async(out, G_PRIORITY_DEFAULT, read_cancel, bench_line_read, &r);
    if (left_ms <= 0 || !bench_wait_for(bench_line_is_read, &r, (guint)left_ms)) {
      g_cancellable_cancel(read_cancel);
      while (!r.done)
        g_main_context_iteration(NULL, TRUE);
      g_free(r.line);
      g_clear_error(&r.error);
      if (!bench_aborted)
        fprintf(stderr, "%s: the %s did not print its ready line ('%s...') within %d s\n",
                g_get_prgname(), name, ready_prefix, BENCH_START_TIMEOUT_MS / 1000);
      break;
    }
    if (r.line == NULL) {
      g_autofree char *how = NULL;

      bench_wait_for(child_is_exited, c, 2000);
      how = c->exited ? bench_wait_status_text(c->wait_status) : g_strdup("closed its stdout");
      fprintf(stderr, "%s: the %s exited before it was ready (%s)%s%s\n", g_get_prgname(), name,
              how, r.error ? ": " : "", r.error ? r.error->message : "");
      g_clear_error(&r.error);
      break;
    }
    if (g_str_has_prefix(r.line, ready_prefix))
      c->ready = g_strdup(g_strchomp(r.line + strlen(ready_prefix)));
    g_free(r.line);
  }
  if (c->ready == NULL) {
    bench_child_print_log(c);
    bench_child_stop(c);
    return NULL;
  }
  c->stopping = FALSE;
  drain = g_new0(Drain, 1);
  drain->in = g_steal_pointer(&out);
  drain->cancel = g_object_ref(c->cancel);
  g_data_input_stream_read_line_async(drain->in, G_PRIORITY_DEFAULT, drain->cancel, drain_next,
                                      drain);
  return c;
}

/* CPU seconds (user + system) used so far by @c, or -1. */
double
bench_child_cpu_s(const BenchChild *c)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after;

  if (c == NULL || c->exited)
    return -1;
  path = g_strdup_printf("/proc/%s/stat", c->pid);
  if (!g_file_get_contents(path, &text, NULL, NULL) || (after = strrchr(text, ')')) == NULL)
    return -1;
  /* After "pid (comm)": state is field 3, utime 14, stime 15. */
  fields = g_strsplit(after + 2, " ", 14);
  if (g_strv_length(fields) < 14)
    return -1;
  return (g_ascii_strtod(fields[11], NULL) + g_ascii_strtod(fields[12], NULL)) /
         (double)sysconf(_SC_CLK_TCK);
}

/* A binary of the build tree: @override when given, else @relative to the
 * directory of this binary, else @fallback (the path Meson compiled in).
 * Transfer full; NULL when there is none. */
char *
bench_find_build_file(const char *override, const char *relative, const char *fallback)
{
  g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);

  if (override != NULL)
    return g_strdup(override);
  if (self != NULL) {
    g_autofree char *dir = g_path_get_dirname(self);
    g_autofree char *joined = g_build_filename(dir, relative, NULL);
    char *candidate = g_canonicalize_filename(joined, NULL);

    if (g_file_test(candidate, G_FILE_TEST_EXISTS))
      return candidate;
    g_free(candidate);
  }
  return g_strdup(fallback);
}
void
bench_resolve_build_file(char **path, const char *relative, const char *fallback)
{
  char *found = bench_find_build_file(*path, relative, fallback);

  g_free(*path);
  *path = found;
}
