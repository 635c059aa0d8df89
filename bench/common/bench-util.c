/* actr benchmarks — shared helpers.  See bench-util.h. */
#include "bench-util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib/gstdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

gboolean bench_aborted;

static gboolean
flag_timeout(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
bench_wait_for(BenchDoneFunc done, gpointer data, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  GSource *timer = g_timeout_source_new(timeout_ms);

  g_source_set_callback(timer, flag_timeout, &timed_out, NULL);
  g_source_attach(timer, NULL);
  while (!done(data) && !timed_out && !bench_aborted)
    g_main_context_iteration(NULL, TRUE);
  g_source_destroy(timer);
  g_source_unref(timer);
  return done(data);
}

gboolean
bench_on_signal(gpointer data)
{
  if (!bench_aborted)
    fprintf(stderr, "\n%s: interrupted, cleaning up\n", g_get_prgname());
  bench_aborted = TRUE;
  return G_SOURCE_CONTINUE;
}

void
bench_child_setup(gpointer data)
{
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the benchmark */
}

char *
bench_wait_status_text(int status)
{
  if (WIFEXITED(status))
    return g_strdup_printf("exit code %d", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return g_strdup_printf("killed by signal %d", WTERMSIG(status));
  return g_strdup_printf("wait status %d", status);
}

void
bench_line_read(GObject *source, GAsyncResult *result, gpointer data)
{
  BenchLineRead *r = data;

  r->line =
      g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, NULL, &r->error);
  r->done = TRUE;
}

gboolean
bench_line_is_read(gpointer data)
{
  return ((BenchLineRead *)data)->done;
}

void
bench_remove_tree(const char *path)
{
  GDir *dir = g_dir_open(path, 0, NULL);
  const char *name;

  if (dir != NULL) {
    while ((name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);

      if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
        bench_remove_tree(child);
      else
        g_unlink(child);
    }
    g_dir_close(dir);
  }
  g_rmdir(path);
}

double
bench_self_cpu_s(void)
{
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int
bench_compare_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

double
bench_median(const double *values, guint n)
{
  double *copy;
  double m;

  if (n == 0)
    return 0;
  copy = g_memdup2(values, n * sizeof *values);
  qsort(copy, n, sizeof *copy, bench_compare_double);
  m = n % 2 ? copy[n / 2] : (copy[n / 2 - 1] + copy[n / 2]) / 2;
  g_free(copy);
  return m;
}
