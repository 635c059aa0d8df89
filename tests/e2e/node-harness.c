/* End-to-end test harness.  Contract: node-harness.h. */
#include "node-harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#define NODE_READY_TIMEOUT_US (15 * G_USEC_PER_SEC)
#define NODE_STOP_TIMEOUT_US  (10 * G_USEC_PER_SEC)
#define READY_PREFIX          "actr ready "

/* ---- Paths -------------------------------------------------------------------------------- */

static char *
build_file(const char *first, ...)
{
  const char *root = g_getenv("ACTR_BUILD_ROOT");
  g_autoptr(GPtrArray) parts = g_ptr_array_new();
  va_list args;
  char *path;

  if (root == NULL) {
    g_printerr("ACTR_BUILD_ROOT is not set (run the e2e tests through meson test)\n");
    exit(1);
  }
  g_ptr_array_add(parts, (gpointer)root);
  va_start(args, first);
  for (const char *p = first; p != NULL; p = va_arg(args, const char *))
    g_ptr_array_add(parts, (gpointer)p);
  va_end(args);
  g_ptr_array_add(parts, NULL);
  path = g_build_filenamev((char **)parts->pdata);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_printerr("e2e: %s does not exist (build first)\n", path);
    exit(1);
  }
  return path;
}

const char *
e2e_actr_path(void)
{
  static char *path;

  if (g_once_init_enter(&path))
    g_once_init_leave(&path, build_file("src", "cli", "actr", NULL));
  return path;
}

const char *
e2e_actrd_path(void)
{
  static char *path;

  if (g_once_init_enter(&path))
    g_once_init_leave(&path, build_file("src", "actrd", "actrd", NULL));
  return path;
}

char *
e2e_workload_path(const char *name)
{
  g_autofree char *file = g_strdup_printf("lib%s.so", name);

  return build_file("examples", file, NULL);
}

char *
e2e_tmpdir_new(void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp("actr-e2e-XXXXXX", &error);

  g_assert_no_error(error);
  return dir;
}

void
e2e_remove_tree(const char *path)
{
  actrd_harness_remove_tree(path);
}

/* ---- Child processes ---------------------------------------------------------------------- */

/* Children die with the thread that spawned them, so that a failed assertion
 * (abort) never leaves one running and holding the test's pipes. */
static void
child_setup(gpointer user_data)
{
  prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static char **
child_env(void)
{
  char **env = g_get_environ();
  const char *asan = g_environ_getenv(env, "ASAN_OPTIONS");

  env = g_environ_setenv(env, "LC_ALL", "C", TRUE);
  env = g_environ_unsetenv(env, "G_MESSAGES_DEBUG");
  /* Full allocation stacks, so that tests/lsan.supp can match frames below
   * GLib (compiled without frame pointers). */
  if (asan != NULL && strstr(asan, "fast_unwind_on_malloc") == NULL) {
    g_autofree char *full = g_strconcat(asan, ":fast_unwind_on_malloc=0", NULL);

    env = g_environ_setenv(env, "ASAN_OPTIONS", full, TRUE);
  }
  return env;
}

char **
e2e_child_env(void)
{
  return child_env();
}

void
e2e_child_setup(gpointer user_data)
{
  child_setup(user_data);
}

static void
set_nonblocking(int fd)
{
  int flags = fcntl(fd, F_GETFL);

  g_assert_cmpint(fcntl(fd, F_SETFL, flags | O_NONBLOCK), ==, 0);
}

static gboolean
verbose(void)
{
  return g_getenv("E2E_VERBOSE") != NULL;
}

/* ---- actrd -------------------------------------------------------------------------------- */

struct _E2eActrd {
  ActrdHarness *h;
  char *config_path;
  guint16 port;
};

E2eActrd *
e2e_actrd_start(const char *ais_extra)
{
  return e2e_actrd_start_full(ais_extra, NULL);
}

E2eActrd *
e2e_actrd_start_full(const char *ais_extra, const char *extra_toml)
{
  E2eActrd *d = g_new0(E2eActrd, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *toml = NULL;

  d->h = actrd_harness_new(e2e_actrd_path());
  d->config_path = g_build_filename(actrd_harness_data_dir(d->h), "e2e-actrd.toml", NULL);
  toml = g_strdup_printf("[ais]\n"
                         "rate_per_sec = 100000\n"
                         "burst = 100000\n"
                         "%s"
                         "[signaling]\n"
                         "conn_max_per_ip = 100000\n"
                         "conn_rate_per_sec = 100000\n"
                         "conn_burst = 100000\n"
                         "msg_rate_per_sec = 100000\n"
                         "msg_burst = 100000\n"
                         "%s",
                         ais_extra != NULL ? ais_extra : "", extra_toml != NULL ? extra_toml : "");
  g_file_set_contents(d->config_path, toml, -1, &error);
  g_assert_no_error(error);
  actrd_harness_start(d->h, "--dev", "--config", d->config_path, NULL);
  d->port = actrd_harness_port(d->h);
  return d;
}

void
e2e_actrd_free(E2eActrd *d)
{
  if (d == NULL)
    return;
  actrd_harness_free(d->h);
  g_free(d->config_path);
  g_free(d);
}

const char *
e2e_actrd_url(E2eActrd *d)
{
  return actrd_harness_url(d->h);
}

guint16
e2e_actrd_port(E2eActrd *d)
{
  return d->port;
}

ActrdHarness *
e2e_actrd_harness(E2eActrd *d)
{
  return d->h;
}

void
e2e_actrd_kill(E2eActrd *d)
{
  int status = actrd_harness_signal(d->h, SIGKILL);

  g_assert_true(WIFSIGNALED(status));
}

/* TRUE when 127.0.0.1:@port can be bound (with SO_REUSEADDR, as GIO does). */
static gboolean
port_bindable(guint16 port)
{
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  gboolean ok;

  g_assert_cmpint(fd, >=, 0);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ok = bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
  close(fd);
  return ok;
}

void
e2e_actrd_restart(E2eActrd *d)
{
  g_autofree char *listen = g_strdup_printf("127.0.0.1:%u", d->port);
  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

  while (!port_bindable(d->port)) {
    if (g_get_monotonic_time() > deadline)
      g_error("port %u stayed busy for 10 s after actrd was killed", d->port);
    g_usleep(100 * 1000);
  }
  /* The harness always passes --listen 127.0.0.1:0; a later --listen wins. */
  actrd_harness_start(d->h, "--dev", "--config", d->config_path, "--listen", listen, NULL);
  g_assert_cmpuint(actrd_harness_port(d->h), ==, d->port);
}

/* ---- Configuration files ------------------------------------------------------------------ */

char *
e2e_write_config(const char *dir, const char *name, const char *actrd_url, const char *body)
{
  g_autofree char *file = g_strdup_printf("%s.toml", name);
  char *path = g_build_filename(dir, file, NULL);
  g_autofree char *data_dir = g_strdup_printf("%s/%s-data", dir, name);
  g_autofree char *ws_url = NULL;
  g_autofree char *toml = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true(g_str_has_prefix(actrd_url, "http://"));
  ws_url = g_strdup_printf("ws://%s/signaling/ws", actrd_url + strlen("http://"));
  toml = g_strdup_printf("edition = 1\n"
                         "[signaling]\n"
                         "url = \"%s\"\n"
                         "[ais_endpoint]\n"
                         "url = \"%s/ais\"\n"
                         "[deployment]\n"
                         "realm_id = 1\n"
                         "[hyper]\n"
                         "data_dir = \"%s\"\n"
                         "[hyper.trust]\n"
                         "kind = \"dev_only\"\n"
                         "%s",
                         ws_url, actrd_url, data_dir, body != NULL ? body : "");
  g_file_set_contents(path, toml, -1, &error);
  g_assert_no_error(error);
  return path;
}

char *
e2e_write_client_config(const char *dir, const char *name, const char *actrd_url)
{
  return e2e_write_config(dir, name, actrd_url, NULL);
}

/* A port of @type (SOCK_STREAM, SOCK_DGRAM) that was free a moment ago on
 * 127.0.0.1. */
static guint16
free_port(int type)
{
  struct sockaddr_in addr = {.sin_family = AF_INET};
  socklen_t len = sizeof addr;
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  guint16 port;

  g_assert_cmpint(fd, >=, 0);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof addr), ==, 0);
  g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
  port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

guint16
e2e_free_port(void)
{
  return free_port(SOCK_STREAM);
}

guint16
e2e_free_udp_port(void)
{
  return free_port(SOCK_DGRAM);
}

/* ---- Nodes -------------------------------------------------------------------------------- */

struct _E2eNode {
  char *name;
  char *config_path;
  char *db_path;
  char *workload_path; /* nullable */
  char *actr_type;     /* nullable */
  char *netns;         /* nullable */

  GPid pid; /* 0 when not running */
  int wait_status;
  GThread *reader;
  int out_fd, err_fd;

  GMutex lock;
  GCond cond;
  char *id;         /* from the ready line of the current run */
  gboolean ready;   /* the current run printed its ready line */
  gboolean out_eof; /* the current run closed stdout */
  GQueue log;       /* char *: the last E2E_NODE_LOG_LINES stderr lines (under lock) */
};

E2eNode *
e2e_node_new(const char *name, const char *dir, const char *actrd_url,
             const E2eNodeOptions *options)
{
  E2eNode *node = g_new0(E2eNode, 1);
  g_autofree char *body = NULL;

  node->name = g_strdup(name);
  node->db_path = g_strdup_printf("%s/%s.db", dir, name);
  if (options->workload != NULL)
    node->workload_path = e2e_workload_path(options->workload);
  node->actr_type = g_strdup(options->actr_type);
  node->netns = g_strdup(options->netns);
  body = g_strdup_printf("[websocket]\n"
                         "listen_port = %u\n"
                         "advertised_host = \"127.0.0.1\"\n"
                         "[storage]\n"
                         "mailbox_path = \"%s\"\n"
                         "%s",
                         options->ws_port, node->db_path,
                         options->extra_toml != NULL ? options->extra_toml : "");
  node->config_path = e2e_write_config(dir, name, actrd_url, body);
  node->out_fd = node->err_fd = -1;
  g_mutex_init(&node->lock);
  g_cond_init(&node->cond);
  return node;
}

const char *
e2e_node_id(E2eNode *node)
{
  return node->id;
}

const char *
e2e_node_config(E2eNode *node)
{
  return node->config_path;
}

const char *
e2e_node_name(E2eNode *node)
{
  return node->name;
}

const char *
e2e_node_db(E2eNode *node)
{
  return node->db_path;
}

GPid
e2e_node_pid(E2eNode *node)
{
  return node->pid;
}

/* Handles one complete output line of the node. */
static void
node_line(E2eNode *node, gboolean is_stdout, const char *line)
{
  if (!is_stdout) {
    g_printerr("[%s] %s\n", node->name, line);
    g_mutex_lock(&node->lock);
    g_queue_push_tail(&node->log, g_strdup(line));
    while (node->log.length > E2E_NODE_LOG_LINES)
      g_free(g_queue_pop_head(&node->log));
    g_cond_broadcast(&node->cond);
    g_mutex_unlock(&node->lock);
    return;
  }
  g_printerr("[%s stdout] %s\n", node->name, line);
  if (g_str_has_prefix(line, READY_PREFIX)) {
    g_mutex_lock(&node->lock);
    g_free(node->id);
    node->id = g_strstrip(g_strdup(line + strlen(READY_PREFIX)));
    node->ready = TRUE;
    g_cond_broadcast(&node->cond);
    g_mutex_unlock(&node->lock);
  }
}

/* Reads the node's stdout and stderr until both are closed. */
static gpointer
node_reader(gpointer data)
{
  E2eNode *node = data;
  GString *buf[2] = {g_string_new(NULL), g_string_new(NULL)};
  struct pollfd pfd[2] = {{node->out_fd, POLLIN, 0}, {node->err_fd, POLLIN, 0}};
  int open_fds = 2;

  while (open_fds > 0) {
    if (poll(pfd, 2, -1) < 0) {
      g_assert_cmpint(errno, ==, EINTR);
      continue;
    }
    for (int i = 0; i < 2; i++) {
      char chunk[4096];
      gssize n;
      char *nl;

      if (pfd[i].fd < 0 || pfd[i].revents == 0)
        continue;
      n = read(pfd[i].fd, chunk, sizeof chunk);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (n <= 0) {
        if (buf[i]->len > 0)
          node_line(node, i == 0, buf[i]->str);
        g_string_truncate(buf[i], 0);
        pfd[i].fd = -1;
        open_fds--;
        if (i == 0) {
          g_mutex_lock(&node->lock);
          node->out_eof = TRUE;
          g_cond_broadcast(&node->cond);
          g_mutex_unlock(&node->lock);
        }
        continue;
      }
      g_string_append_len(buf[i], chunk, n);
      while ((nl = memchr(buf[i]->str, '\n', buf[i]->len)) != NULL) {
        *nl = '\0';
        node_line(node, i == 0, buf[i]->str);
        g_string_erase(buf[i], 0, nl - buf[i]->str + 1);
      }
    }
  }
  g_string_free(buf[0], TRUE);
  g_string_free(buf[1], TRUE);
  return NULL;
}

void
e2e_node_start(E2eNode *node)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_auto(GStrv) env = child_env();
  g_autoptr(GError) error = NULL;
  gint64 deadline;

  g_assert_cmpint(node->pid, ==, 0);
  g_assert_null(node->reader);
  if (node->netns != NULL) {
    g_ptr_array_add(argv, (gpointer) "ip");
    g_ptr_array_add(argv, (gpointer) "netns");
    g_ptr_array_add(argv, (gpointer) "exec");
    g_ptr_array_add(argv, node->netns);
  }
  g_ptr_array_add(argv, (gpointer)e2e_actr_path());
  g_ptr_array_add(argv, (gpointer) "run");
  g_ptr_array_add(argv, (gpointer) "--config");
  g_ptr_array_add(argv, node->config_path);
  if (node->workload_path != NULL) {
    g_ptr_array_add(argv, (gpointer) "--workload");
    g_ptr_array_add(argv, node->workload_path);
  }
  if (node->actr_type != NULL) {
    g_ptr_array_add(argv, (gpointer) "--type");
    g_ptr_array_add(argv, node->actr_type);
  }
  g_ptr_array_add(argv, NULL);

  g_mutex_lock(&node->lock);
  node->ready = FALSE;
  node->out_eof = FALSE;
  g_clear_pointer(&node->id, g_free);
  g_mutex_unlock(&node->lock);

  g_spawn_async_with_pipes(NULL, (char **)argv->pdata, env,
                           G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH, child_setup, NULL,
                           &node->pid, NULL, &node->out_fd, &node->err_fd, &error);
  g_assert_no_error(error);
  set_nonblocking(node->out_fd);
  set_nonblocking(node->err_fd);
  node->reader = g_thread_new(node->name, node_reader, node);

  deadline = g_get_monotonic_time() + NODE_READY_TIMEOUT_US;
  g_mutex_lock(&node->lock);
  while (!node->ready && !node->out_eof) {
    if (!g_cond_wait_until(&node->cond, &node->lock, deadline))
      break;
  }
  if (!node->ready) {
    gboolean eof = node->out_eof;

    g_mutex_unlock(&node->lock);
    if (eof) {
      int status = 0;

      waitpid(node->pid, &status, 0);
      g_error("node %s exited before its ready line (wait status 0x%x; its stderr is above)",
              node->name, status);
    }
    kill(node->pid, SIGKILL);
    g_error("node %s printed no ready line within 15 s (its stderr is above)", node->name);
  }
  g_mutex_unlock(&node->lock);
  g_test_message("node %s ready as %s (pid %d)", node->name, node->id, (int)node->pid);
}

/* After the process was reaped: join the reader, close the pipes. */
static void
node_reaped(E2eNode *node, int status)
{
  node->wait_status = status;
  g_spawn_close_pid(node->pid);
  node->pid = 0;
  if (node->reader != NULL)
    g_thread_join(g_steal_pointer(&node->reader));
  if (node->out_fd >= 0)
    close(node->out_fd);
  if (node->err_fd >= 0)
    close(node->err_fd);
  node->out_fd = node->err_fd = -1;
}

gboolean
e2e_node_is_alive(E2eNode *node)
{
  int status = 0;

  if (node->pid == 0)
    return FALSE;
  if (waitpid(node->pid, &status, WNOHANG) == 0)
    return TRUE;
  g_test_message("node %s has exited (wait status 0x%x)", node->name, status);
  node_reaped(node, status);
  return FALSE;
}

void
e2e_node_signal(E2eNode *node, int signum)
{
  g_assert_cmpint(node->pid, !=, 0);
  g_assert_cmpint(kill(node->pid, signum), ==, 0);
}

void
e2e_node_kill(E2eNode *node)
{
  int status = 0;

  g_assert_cmpint(node->pid, !=, 0);
  kill(node->pid, SIGKILL);
  g_assert_cmpint(waitpid(node->pid, &status, 0), ==, node->pid);
  node_reaped(node, status);
}

int
e2e_node_stop(E2eNode *node)
{
  gint64 deadline = g_get_monotonic_time() + NODE_STOP_TIMEOUT_US;
  int status = 0;
  pid_t r;

  g_assert_cmpint(node->pid, !=, 0);
  kill(node->pid, SIGCONT);
  kill(node->pid, SIGTERM);
  while ((r = waitpid(node->pid, &status, WNOHANG)) == 0) {
    if (g_get_monotonic_time() > deadline) {
      kill(node->pid, SIGKILL);
      waitpid(node->pid, &status, 0);
      node_reaped(node, status);
      g_error("node %s did not exit within 10 s of SIGTERM", node->name);
    }
    g_usleep(10 * 1000);
  }
  g_assert_cmpint(r, ==, node->pid);
  node_reaped(node, status);
  return status;
}

void
e2e_node_free(E2eNode *node)
{
  if (node == NULL)
    return;
  if (node->pid != 0 && e2e_node_is_alive(node)) {
    int status = e2e_node_stop(node);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      g_error("node %s did not shut down cleanly on SIGTERM (wait status 0x%x)", node->name,
              status);
  }
  g_free(node->name);
  g_free(node->config_path);
  g_free(node->db_path);
  g_free(node->workload_path);
  g_free(node->actr_type);
  g_free(node->netns);
  g_free(node->id);
  g_queue_clear_full(&node->log, g_free);
  g_mutex_clear(&node->lock);
  g_cond_clear(&node->cond);
  g_free(node);
}

/* ---- Node logs ---------------------------------------------------------------------------- */

/* The first kept line containing @needle (transfer full), or NULL.  Under
 * node->lock. */
static char *
log_find_locked(E2eNode *node, const char *needle)
{
  for (GList *l = node->log.head; l != NULL; l = l->next) {
    if (strstr(l->data, needle) != NULL)
      return g_strdup(l->data);
  }
  return NULL;
}

char *
e2e_node_log_find(E2eNode *node, const char *needle)
{
  char *line;

  g_mutex_lock(&node->lock);
  line = log_find_locked(node, needle);
  g_mutex_unlock(&node->lock);
  return line;
}

guint
e2e_node_log_count(E2eNode *node, const char *needle)
{
  guint n = 0;

  g_mutex_lock(&node->lock);
  for (GList *l = node->log.head; l != NULL; l = l->next) {
    if (strstr(l->data, needle) != NULL)
      n++;
  }
  g_mutex_unlock(&node->lock);
  return n;
}

char *
e2e_node_wait_log(E2eNode *node, const char *needle, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  char *line;

  g_mutex_lock(&node->lock);
  while ((line = log_find_locked(node, needle)) == NULL) {
    if (!g_cond_wait_until(&node->cond, &node->lock, deadline))
      break;
  }
  if (line == NULL)
    line = log_find_locked(node, needle);
  g_mutex_unlock(&node->lock);
  return line;
}

void
e2e_node_log_clear(E2eNode *node)
{
  g_mutex_lock(&node->lock);
  g_queue_clear_full(&node->log, g_free);
  g_queue_init(&node->log);
  g_mutex_unlock(&node->lock);
}

/* ---- Client commands ---------------------------------------------------------------------- */

void
e2e_run_clear(E2eRun *run)
{
  g_clear_pointer(&run->out, g_bytes_unref);
  g_clear_pointer(&run->err, g_free);
}

const char *
e2e_run_out(const E2eRun *run)
{
  return run->out != NULL ? g_bytes_get_data(run->out, NULL) : "";
}

gsize
e2e_run_out_len(const E2eRun *run)
{
  return run->out != NULL ? g_bytes_get_size(run->out) : 0;
}

void
e2e_cliv(E2eRun *run, GBytes *stdin_data, guint timeout_ms, const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_auto(GStrv) env = child_env();
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(GString) err = g_string_new(NULL);
  g_autofree char *joined = NULL;
  const guint8 *in_data = NULL;
  gsize in_len = 0, in_off = 0;
  int in_fd = -1, out_fd = -1, err_fd = -1;
  gint64 start, deadline;
  int status = 0;
  GPid pid;

  g_ptr_array_add(argv, (gpointer)e2e_actr_path());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add(argv, (gpointer)args[i]);
  g_ptr_array_add(argv, NULL);
  joined = g_strjoinv(" ", (char **)argv->pdata + 1);
  e2e_run_clear(run);
  memset(run, 0, sizeof *run);

  start = g_get_monotonic_time();
  g_spawn_async_with_pipes(NULL, (char **)argv->pdata, env, G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
                           NULL, &pid, stdin_data != NULL ? &in_fd : NULL, &out_fd, &err_fd,
                           &error);
  g_assert_no_error(error);
  if (stdin_data != NULL) {
    in_data = g_bytes_get_data(stdin_data, &in_len);
    set_nonblocking(in_fd);
    if (in_len == 0) {
      close(in_fd);
      in_fd = -1;
    }
  }
  set_nonblocking(out_fd);
  set_nonblocking(err_fd);

  deadline = start + (gint64)timeout_ms * 1000;
  while (out_fd >= 0 || err_fd >= 0) {
    struct pollfd pfd[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
    gint64 left = deadline - g_get_monotonic_time();

    if (left <= 0) {
      kill(pid, SIGKILL);
      run->timed_out = TRUE;
      break;
    }
    if (poll(pfd, 3, (int)(left / 1000) + 1) < 0) {
      g_assert_cmpint(errno, ==, EINTR);
      continue;
    }
    for (int i = 0; i < 2; i++) {
      guint8 chunk[65536];
      gssize n;

      if (pfd[i].fd < 0 || pfd[i].revents == 0)
        continue;
      n = read(pfd[i].fd, chunk, sizeof chunk);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (n <= 0) {
        close(pfd[i].fd);
        if (i == 0)
          out_fd = -1;
        else
          err_fd = -1;
        continue;
      }
      if (i == 0)
        g_byte_array_append(out, chunk, n);
      else
        g_string_append_len(err, (const char *)chunk, n);
    }
    if (in_fd >= 0 && pfd[2].revents != 0) {
      gssize n = write(in_fd, in_data + in_off, MIN(in_len - in_off, 65536));

      if (n > 0)
        in_off += n;
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len) {
        close(in_fd);
        in_fd = -1;
      }
    }
  }
  if (in_fd >= 0)
    close(in_fd);
  if (out_fd >= 0)
    close(out_fd);
  if (err_fd >= 0)
    close(err_fd);
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_spawn_close_pid(pid);
  run->elapsed_us = g_get_monotonic_time() - start;

  if (WIFEXITED(status)) {
    run->exit_code = WEXITSTATUS(status);
  } else {
    run->exit_code = -1;
    run->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  {
    gsize len = out->len;

    g_autoptr(GBytes) all = NULL;

    g_byte_array_append(out, (const guint8 *)"", 1); /* hidden terminator */
    all = g_byte_array_free_to_bytes(g_steal_pointer(&out));
    run->out = g_bytes_new_from_bytes(all, 0, len);
  }
  run->err = g_string_free(g_steal_pointer(&err), FALSE);

  if (run->exit_code != 0 || verbose()) {
    g_autofree char *how = run->timed_out ? g_strdup(", timed out and killed")
                           : run->term_signal != 0
                               ? g_strdup_printf(", signal %d", run->term_signal)
                               : g_strdup("");

    g_printerr("[cli] actr %s -> exit %d%s (%.0f ms)\n", joined, run->exit_code, how,
               run->elapsed_us / 1000.0);
    if (run->err[0] != '\0') {
      g_auto(GStrv) lines = g_strsplit(run->err, "\n", -1);

      for (guint i = 0; lines[i] != NULL; i++) {
        if (lines[i][0] != '\0')
          g_printerr("[cli]   %s\n", lines[i]);
      }
    }
  }
  /* cli.md: never die by a signal on bad input. */
  if (run->term_signal != 0 && run->term_signal != SIGKILL)
    g_error("'actr %s' died by signal %d", joined, run->term_signal);
}

void
e2e_cli(E2eRun *run, GBytes *stdin_data, guint timeout_ms, const char *first_arg, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new();
  va_list ap;

  va_start(ap, first_arg);
  for (const char *a = first_arg; a != NULL; a = va_arg(ap, const char *))
    g_ptr_array_add(args, (gpointer)a);
  va_end(ap);
  g_ptr_array_add(args, NULL);
  e2e_cliv(run, stdin_data, timeout_ms, (const char *const *)args->pdata);
}

guint
e2e_run_error_code(const E2eRun *run, char **message)
{
  g_auto(GStrv) lines = g_strsplit(run->err != NULL ? run->err : "", "\n", -1);

  if (message != NULL)
    *message = NULL;
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *p = lines[i];
    char *end = NULL;
    guint64 code;

    if (!g_str_has_prefix(p, "error "))
      continue;
    p += strlen("error ");
    code = g_ascii_strtoull(p, &end, 10);
    if (end == p || end[0] != ':' || code == 0 || code > G_MAXUINT)
      continue;
    if (message != NULL)
      *message = g_strdup(g_strchug(end + 1));
    return (guint)code;
  }
  return 0;
}

void
e2e_assert_run_ok(const E2eRun *run)
{
  if (run->exit_code != 0)
    g_error("actr exited %d%s (stderr above)", run->exit_code,
            run->timed_out ? " (timed out)" : "");
}

/* ---- JSON validation ---------------------------------------------------------------------- */

typedef struct {
  const char *p, *end;
  guint depth;
} JsonScan;

static void
json_ws(JsonScan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static gboolean json_value(JsonScan *s);

static gboolean
json_literal(JsonScan *s, const char *word)
{
  gsize n = strlen(word);

  if ((gsize)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
    return FALSE;
  s->p += n;
  return TRUE;
}

static gboolean
json_string(JsonScan *s)
{
  if (s->p >= s->end || *s->p != '"')
    return FALSE;
  s->p++;
  while (s->p < s->end) {
    guchar c = (guchar)*s->p++;

    if (c == '"')
      return TRUE;
    if (c < 0x20)
      return FALSE;
    if (c == '\\') {
      if (s->p >= s->end)
        return FALSE;
      c = (guchar)*s->p++;
      if (c == 'u') {
        for (int i = 0; i < 4; i++, s->p++) {
          if (s->p >= s->end || !g_ascii_isxdigit(*s->p))
            return FALSE;
        }
      } else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
        return FALSE;
      }
    }
  }
  return FALSE;
}

static gboolean
json_number(JsonScan *s)
{
  const char *start = s->p;

  if (s->p < s->end && *s->p == '-')
    s->p++;
  if (s->p >= s->end || !g_ascii_isdigit(*s->p))
    return FALSE;
  if (*s->p == '0')
    s->p++;
  else
    while (s->p < s->end && g_ascii_isdigit(*s->p))
      s->p++;
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    if (s->p >= s->end || !g_ascii_isdigit(*s->p))
      return FALSE;
    while (s->p < s->end && g_ascii_isdigit(*s->p))
      s->p++;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
      s->p++;
    if (s->p >= s->end || !g_ascii_isdigit(*s->p))
      return FALSE;
    while (s->p < s->end && g_ascii_isdigit(*s->p))
      s->p++;
  }
  return s->p > start;
}

static gboolean
json_container(JsonScan *s, char open, char close)
{
  gboolean first = TRUE;

  if (++s->depth > 256)
    return FALSE;
  s->p++; /* open */
  json_ws(s);
  if (s->p < s->end && *s->p == close) {
    s->p++;
    s->depth--;
    return TRUE;
  }
  for (;;) {
    json_ws(s);
    if (!first) {
      if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return TRUE;
      }
      if (s->p >= s->end || *s->p != ',')
        return FALSE;
      s->p++;
      json_ws(s);
    }
    first = FALSE;
    if (open == '{') {
      if (!json_string(s))
        return FALSE;
      json_ws(s);
      if (s->p >= s->end || *s->p != ':')
        return FALSE;
      s->p++;
    }
    if (!json_value(s))
      return FALSE;
  }
}

static gboolean
json_value(JsonScan *s)
{
  json_ws(s);
  if (s->p >= s->end)
    return FALSE;
  switch (*s->p) {
  case '{':
    return json_container(s, '{', '}');
  case '[':
    return json_container(s, '[', ']');
  case '"':
    return json_string(s);
  case 't':
    return json_literal(s, "true");
  case 'f':
    return json_literal(s, "false");
  case 'n':
    return json_literal(s, "null");
  default:
    return json_number(s);
  }
}

static gboolean
json_document(const char *text, gsize len)
{
  JsonScan s = {text, text + len, 0};

  if (!json_value(&s))
    return FALSE;
  json_ws(&s);
  return s.p == s.end;
}

gboolean
e2e_json_valid(const char *text, gsize len, gboolean lines)
{
  const char *p = text, *end = text + len;
  guint docs = 0;

  if (!lines)
    return json_document(text, len);
  while (p < end) {
    const char *nl = memchr(p, '\n', end - p);
    const char *line_end = nl != NULL ? nl : end;
    gboolean blank = TRUE;

    for (const char *q = p; q < line_end; q++) {
      if (!g_ascii_isspace(*q))
        blank = FALSE;
    }
    if (!blank) {
      if (!json_document(p, line_end - p))
        return FALSE;
      docs++;
    }
    p = nl != NULL ? nl + 1 : end;
  }
  return docs > 0;
}

/* ---- Logs ------------------------------------------------------------------------------------ */

static GLogFunc default_log_handler;

static void
quiet_log_handler(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) != 0)
    return;
  default_log_handler(domain, level, message, data);
}

void
e2e_quiet_debug_logs(void)
{
  if (verbose())
    return;
  default_log_handler = g_log_set_default_handler(quiet_log_handler, NULL);
}

/* ---- Waiting ------------------------------------------------------------------------------ */

gboolean
e2e_wait_until(E2eCondFunc cond, gpointer user_data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

  for (;;) {
    if (cond(user_data))
      return TRUE;
    if (g_get_monotonic_time() > deadline)
      return FALSE;
    g_usleep(100 * 1000);
  }
}
