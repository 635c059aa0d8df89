/* actr benchmarks — helpers shared by bench-store, bench-actrd and bench-rpc:
 * waiting on the default main context with a timeout, Ctrl-C handling,
 * child processes that never outlive the benchmark, reading their ready
 * line, CPU accounting and medians.
 *
 * Thread: the benchmark's main thread (the default GMainContext). */
#ifndef ACTR_BENCH_UTIL_H
#define ACTR_BENCH_UTIL_H

#include <gio/gio.h>
#include <sched.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* Set by bench_on_signal() (and by a benchmark when a child died): every
 * phase stops and the benchmark cleans up. */
extern gboolean bench_aborted;

typedef gboolean (*BenchDoneFunc)(gpointer data);

/* Iterates the default context until @done(@data), @timeout_ms or an
 * abort.  Returns @done(@data). */
gboolean bench_wait_for(BenchDoneFunc done, gpointer data, guint timeout_ms);

/* A g_unix_signal_add() handler for SIGINT/SIGTERM: sets bench_aborted
 * and says so once, prefixed with the program name. */
gboolean bench_on_signal(gpointer data);

/* A g_unix_signal_add() handler that quits the GMainLoop @loop (a child
 * process serving until SIGTERM/SIGINT). */
gboolean bench_quit_loop(gpointer loop);

/* The SIGINT and SIGTERM handlers (bench_on_signal) of a benchmark run:
 * bench_signals_add() installs them and sets bench_progress_on when stderr
 * is a terminal; bench_signals_remove() removes them. */
typedef struct {
  guint sigint, sigterm;
} BenchSignals;

void bench_signals_add(BenchSignals *s);
void bench_signals_remove(BenchSignals *s);

/* Loopback only: never consult a system proxy (as the test suite; GIO's
 * libproxy module costs a thread per lookup and breaks under ASan).  Call
 * before any GIO use; the children inherit it. */
void bench_loopback_only(void);

/* The directory for every file of the run: *@dir (--dir, made with its
 * parents) or, when *@dir is NULL, a new PROGRAM-XXXXXX in $TMPDIR or
 * /tmp, stored in *@dir and in *@tmp (transfer full: the caller removes
 * it with bench_remove_tree() and frees it).  FALSE (reason printed) on
 * failure. */
gboolean bench_dir_init(char **dir, char **tmp);

/* Keeps the first failure of a phase: *@first = @message (transfer full,
 * nullable) when *@first is NULL, else frees @message. */
void bench_keep_first(char **first, char *message);

/* GSubprocess child setup: the child dies with the benchmark. */
void bench_child_setup(gpointer data);

/* "exit code N" / "killed by signal N" (transfer full). */
char *bench_wait_status_text(int status);

/* One asynchronous line read: pass bench_line_read as the callback of
 * g_data_input_stream_read_line_async() and wait with
 * bench_wait_for(bench_line_is_read, &r, ...). */
typedef struct {
  gboolean done;
  char *line;
  GError *error;
} BenchLineRead;

void bench_line_read(GObject *source, GAsyncResult *result, gpointer data);
gboolean bench_line_is_read(gpointer data);

/* Removes @path and everything under it (symlinks are not followed). */
void bench_remove_tree(const char *path);

/* CPU seconds (user + system) used so far by this process, all threads. */
double bench_self_cpu_s(void);

/* qsort() comparison of doubles, and the median of @n values (sorts a
 * copy; 0 when @n is 0). */
int bench_compare_double(const void *a, const void *b);
double bench_median(const double *values, guint n);

/* CLOCK_MONOTONIC in nanoseconds. */
gint64 bench_now_ns(void);

/* The @p quantile (0 < p <= 1, nearest rank) of @samples, doubles (sorted
 * in place); 0 when empty. */
double bench_percentile(GArray *samples, double p);

/* Live progress on stderr (bench_progress: at most every 250 ms, only
 * when bench_progress_on, which the benchmark sets when stderr is a
 * terminal) and one line per finished phase (bench_note, always; prefixed
 * with the program name). */
extern gboolean bench_progress_on;
void bench_progress(const char *format, ...) G_GNUC_PRINTF(1, 2);
void bench_note(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* Pins this thread and @child_pid's main thread (a pong server, a peer)
 * to the CPU this thread is running on (FALSE when it cannot);
 * bench_pin_end() restores both affinity masks.  For information-only
 * figures: the scheduler's placement decides how many wake-ups cross
 * CPUs, which on a small VM can cost more than the exchange itself. */
typedef struct {
  cpu_set_t self, child;
  pid_t child_pid;
  gboolean active;
} BenchPin;

gboolean bench_pin_begin(BenchPin *p, pid_t child_pid);
void bench_pin_end(BenchPin *p);

G_END_DECLS

#endif /* ACTR_BENCH_UTIL_H */
