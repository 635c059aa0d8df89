/* actr benchmarks — child processes (a pong server, actrd, a node, a peer):
 * started with their stderr in a log file, their ready line read, stopped
 * with SIGTERM (SIGKILL after 10 s), their CPU time read from /proc.
 *
 * Thread: the benchmark's main thread (the default GMainContext). */
#ifndef ACTR_BENCH_CHILD_H
#define ACTR_BENCH_CHILD_H

#include <gio/gio.h>

G_BEGIN_DECLS

#define BENCH_START_TIMEOUT_MS 20000
#define BENCH_STOP_TIMEOUT_MS  10000

/* A process we start: a pong server, actrd or a callee node.  Its
 * stderr goes to a log file in the temporary directory, printed when it
 * fails.  Refcounted (g_rc_box): the wait callback holds a reference. */
typedef struct {
  char *name; /* for messages: "actrd", "callee node", "pong server" */
  GSubprocess *proc;
  GCancellable *cancel; /* the wait and the stdout drain */
  char *log_path;
  char *pid;
  char *ready; /* the ready line without its prefix */
  gboolean stopping, exited, log_shown;
  int wait_status;
} BenchChild;

/* Starts @argv, waits for a stdout line starting with @ready_prefix (other
 * lines before it are skipped) and keeps the rest of that line in ->ready;
 * the rest of stdout is read and dropped.  NULL (the reason and the
 * child's stderr printed) on failure. */
BenchChild *bench_child_start(const char *name, const char *log_path, const char *ready_prefix,
                              const char *const *argv);

/* SIGTERM, wait (SIGKILL after BENCH_STOP_TIMEOUT_MS), report an unclean
 * exit, drop the reference.  NULL-safe. */
void bench_child_stop(BenchChild *c);

/* Prints (once) the end of what the child wrote on stderr. */
void bench_child_print_log(BenchChild *c);

/* Prints the end (4 KiB) of the log file @log_path (nullable) of the
 * process @name, when there is one. */
void bench_print_log(const char *name, const char *log_path);

/* CPU seconds (user + system) used so far by @c, or -1. */
double bench_child_cpu_s(const BenchChild *c);

/* A file of the build tree: @override when given, else @relative to the
 * directory of this binary, else @fallback (the path Meson compiled in).
 * Transfer full. */
char *bench_find_build_file(const char *override, const char *relative, const char *fallback);

/* bench_find_build_file() in place: *@path (an option's value, nullable)
 * becomes the file to use. */
void bench_resolve_build_file(char **path, const char *relative, const char *fallback);

G_END_DECLS

#endif /* ACTR_BENCH_CHILD_H */
