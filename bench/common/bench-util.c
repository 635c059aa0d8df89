/* actr benchmarks — shared helpers.  See bench-util.h. */
#include "bench-util.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_INTERVAL_NS (250 * G_GINT64_CONSTANT(1000000))

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

gboolean
bench_quit_loop(gpointer loop)
{
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

void
bench_signals_add(BenchSignals *s)
{
  bench_progress_on = isatty(STDERR_FILENO);
  s->sigint = g_unix_signal_add(SIGINT, bench_on_signal, NULL);
  s->sigterm = g_unix_signal_add(SIGTERM, bench_on_signal, NULL);
}

void
bench_signals_remove(BenchSignals *s)
{
  g_clear_handle_id(&s->sigint, g_source_remove);
  g_clear_handle_id(&s->sigterm, g_source_remove);
}

void
bench_loopback_only(void)
{
  g_setenv("GIO_USE_PROXY_RESOLVER", "dummy", FALSE);
  g_setenv("no_proxy", "*", FALSE);
}

gboolean
bench_dir_init(char **dir, char **tmp)
{
  g_autoptr(GError) error = NULL;

  if (*dir == NULL) {
    g_autofree char *template = g_strdup_printf("%s-XXXXXX", g_get_prgname());

    *dir = *tmp = g_dir_make_tmp(template, &error);
    if (*tmp == NULL) {
      fprintf(stderr, "%s: cannot create a temporary directory: %s\n", g_get_prgname(),
              error->message);
      return FALSE;
    }
  } else if (g_mkdir_with_parents(*dir, 0700) != 0) {
    fprintf(stderr, "%s: cannot create %s: %s\n", g_get_prgname(), *dir, g_strerror(errno));
    return FALSE;
  }
  return TRUE;
}

void
bench_keep_first(char **first, char *message)
{
  if (*first == NULL)
    *first = message;
  else
    g_free(message);
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

/* ---- time, samples, medians ----------------------------------------------------------------- */

gint64
bench_now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The @p quantile (0 < p <= 1, nearest rank) of @samples (sorted in place);
 * 0 when empty. */
double
bench_percentile(GArray *samples, double p)
{
  guint rank;

  if (samples->len == 0)
    return 0;
  qsort(samples->data, samples->len, sizeof(double), bench_compare_double);
  rank = (guint)(p * samples->len + 0.999999);
  rank = CLAMP(rank, 1, samples->len);
  return g_array_index(samples, double, rank - 1);
}

/* ---- progress ------------------------------------------------------------------------------- */

gboolean bench_progress_on;

/* Live progress: at most every PROGRESS_INTERVAL_NS, only on a terminal. */
static gint64 bench_progress_last_ns;

void
bench_progress(const char *format, ...)
{
  va_list args;
  gint64 now;

  if (!bench_progress_on || (now = bench_now_ns()) - bench_progress_last_ns < PROGRESS_INTERVAL_NS)
    return;
  bench_progress_last_ns = now;
  fprintf(stderr, "\r\033[K");
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fflush(stderr);
}

/* One line per finished phase, on every kind of stderr. */
void
bench_note(const char *format, ...)
{
  va_list args;

  if (bench_progress_on)
    fprintf(stderr, "\r\033[K");
  bench_progress_last_ns = 0;
  fprintf(stderr, "%s: ", g_get_prgname());
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fprintf(stderr, "\n");
}

/* ---- CPU placement -------------------------------------------------------------------------- */

gboolean
bench_pin_begin(BenchPin *p, pid_t child_pid)
{
  cpu_set_t one;
  int cpu = sched_getcpu();

  memset(p, 0, sizeof *p);
  p->child_pid = child_pid;
  if (cpu < 0 || p->child_pid <= 0 || sched_getaffinity(0, sizeof p->self, &p->self) != 0 ||
      sched_getaffinity(p->child_pid, sizeof p->child, &p->child) != 0)
    return FALSE;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0)
    return FALSE;
  if (sched_setaffinity(p->child_pid, sizeof one, &one) != 0) {
    sched_setaffinity(0, sizeof p->self, &p->self);
    return FALSE;
  }
  p->active = TRUE;
  return TRUE;
}

void
bench_pin_end(BenchPin *p)
{
  if (!p->active)
    return;
  sched_setaffinity(p->child_pid, sizeof p->child, &p->child);
  sched_setaffinity(0, sizeof p->self, &p->self);
  p->active = FALSE;
}
