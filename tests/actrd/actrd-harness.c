/* Test harness for actrd.  Contract: actrd-harness.h. */
#include "actrd-harness.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "codec.h"

#define READY_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define STOP_TIMEOUT_US  (10 * G_USEC_PER_SEC)
#define READY_PREFIX     "actrd listening on http://127.0.0.1:"

struct _ActrdHarness {
  char *actrd_path;
  char *data_dir;
  GPid pid; /* 0 when not running */
  int stdout_fd;
  guint16 port;
  char *url;
  SoupSession *session;
};

static char *found_path;

const char *
actrd_harness_path_from_args(int argc, char **argv)
{
  if (argc > 1 && argv[1][0] != '-') {
    found_path = g_strdup(argv[1]);
  } else {
    const char *root = g_getenv("ACTR_BUILD_ROOT");

    if (root != NULL)
      found_path = g_build_filename(root, "src", "actrd", "actrd", NULL);
  }
  if (found_path == NULL || !g_file_test(found_path, G_FILE_TEST_IS_EXECUTABLE)) {
    g_printerr("usage: %s PATH-TO-ACTRD (or set ACTR_BUILD_ROOT)\n", argv[0]);
    exit(1);
  }
  return found_path;
}

ActrdHarness *
actrd_harness_new(const char *actrd_path)
{
  ActrdHarness *h = g_new0(ActrdHarness, 1);
  g_autoptr(GError) error = NULL;

  h->actrd_path = g_strdup(actrd_path);
  h->data_dir = g_dir_make_tmp("actrd-test-XXXXXX", &error);
  g_assert_no_error(error);
  h->stdout_fd = -1;
  h->session = soup_session_new_with_options("timeout", 10, NULL);
  return h;
}

void
actrd_harness_remove_tree(const char *path)
{
  GDir *dir = g_dir_open(path, 0, NULL);
  const char *name;

  if (dir != NULL) {
    while ((name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);

      if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
        actrd_harness_remove_tree(child);
      else
        g_unlink(child);
    }
    g_dir_close(dir);
  }
  g_rmdir(path);
}

void
actrd_harness_free(ActrdHarness *h)
{
  if (h == NULL)
    return;
  if (h->pid != 0)
    g_assert_cmpint(actrd_harness_stop(h), ==, 0);
  if (h->stdout_fd >= 0)
    close(h->stdout_fd);
  g_clear_object(&h->session);
  actrd_harness_remove_tree(h->data_dir);
  g_free(h->data_dir);
  g_free(h->actrd_path);
  g_free(h->url);
  g_free(h);
}

const char *
actrd_harness_data_dir(ActrdHarness *h)
{
  return h->data_dir;
}

const char *
actrd_harness_url(ActrdHarness *h)
{
  return h->url;
}

guint16
actrd_harness_port(ActrdHarness *h)
{
  return h->port;
}

/* The server dies with the test, so that a failed assertion (abort) never
 * leaves it running and holding the test's output pipes. */
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
  /* Full allocation stacks, so that tests/lsan.supp can match frames below
   * GLib (compiled without frame pointers). */
  if (asan != NULL) {
    g_autofree char *full = g_strconcat(asan, ":fast_unwind_on_malloc=0", NULL);

    env = g_environ_setenv(env, "ASAN_OPTIONS", full, TRUE);
  }
  return env;
}

gint64
actrd_harness_start(ActrdHarness *h, const char *first_arg, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_auto(GStrv) env = child_env();
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) line = g_string_new(NULL);
  gint64 start, deadline;
  va_list args;
  guint64 port = 0;

  g_assert_cmpint(h->pid, ==, 0);
  g_ptr_array_add(argv, h->actrd_path);
  g_ptr_array_add(argv, (gpointer) "serve");
  g_ptr_array_add(argv, (gpointer) "--listen");
  g_ptr_array_add(argv, (gpointer) "127.0.0.1:0");
  g_ptr_array_add(argv, (gpointer) "--data-dir");
  g_ptr_array_add(argv, h->data_dir);
  va_start(args, first_arg);
  for (const char *a = first_arg; a != NULL; a = va_arg(args, const char *))
    g_ptr_array_add(argv, (gpointer)a);
  va_end(args);
  g_ptr_array_add(argv, NULL);

  if (h->stdout_fd >= 0)
    close(h->stdout_fd);
  start = g_get_monotonic_time();
  g_spawn_async_with_pipes(NULL, (char **)argv->pdata, env, G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
                           NULL, &h->pid, NULL, &h->stdout_fd, NULL, &error);
  g_assert_no_error(error);

  deadline = start + READY_TIMEOUT_US;
  while (strchr(line->str, '\n') == NULL) {
    struct pollfd pfd = {h->stdout_fd, POLLIN, 0};
    gint64 left = deadline - g_get_monotonic_time();
    char c;
    gssize n;

    if (left <= 0)
      g_error("actrd did not print its ready line within 10 s (got '%s')", line->str);
    if (poll(&pfd, 1, (int)(left / 1000) + 1) <= 0)
      continue;
    n = read(h->stdout_fd, &c, 1);
    if (n == 0)
      g_error("actrd exited before it was ready (stdout so far: '%s')", line->str);
    if (n == 1)
      g_string_append_c(line, c);
  }
  g_assert_true(g_str_has_prefix(line->str, READY_PREFIX));
  g_strchomp(line->str);
  g_assert_true(
      g_ascii_string_to_unsigned(line->str + strlen(READY_PREFIX), 10, 1, 65535, &port, NULL));
  h->port = (guint16)port;
  g_free(h->url);
  h->url = g_strdup_printf("http://127.0.0.1:%u", h->port);
  return g_get_monotonic_time() - start;
}

int
actrd_harness_signal(ActrdHarness *h, int signum)
{
  int status = 0;

  g_assert_cmpint(h->pid, !=, 0);
  kill(h->pid, signum);
  if (signum == SIGKILL || signum == SIGTERM || signum == SIGINT) {
    gint64 deadline = g_get_monotonic_time() + STOP_TIMEOUT_US;
    pid_t r;

    while ((r = waitpid(h->pid, &status, WNOHANG)) == 0) {
      if (g_get_monotonic_time() > deadline) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, &status, 0);
        g_error("actrd did not exit within 10 s of signal %d", signum);
      }
      g_usleep(10000);
    }
    g_spawn_close_pid(h->pid);
    h->pid = 0;
  }
  return status;
}

int
actrd_harness_stop(ActrdHarness *h)
{
  int status = actrd_harness_signal(h, SIGTERM);

  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void
actrd_run_clear(ActrdRun *run)
{
  g_clear_pointer(&run->out, g_free);
  g_clear_pointer(&run->err, g_free);
}

void
actrd_harness_admin(ActrdHarness *h, ActrdRun *run, const char *first_arg, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_auto(GStrv) env = child_env();
  g_autoptr(GError) error = NULL;
  int status = 0;
  va_list args;

  g_ptr_array_add(argv, h->actrd_path);
  va_start(args, first_arg);
  for (const char *a = first_arg; a != NULL; a = va_arg(args, const char *))
    g_ptr_array_add(argv, (gpointer)a);
  va_end(args);
  g_ptr_array_add(argv, (gpointer) "--data-dir");
  g_ptr_array_add(argv, h->data_dir);
  g_ptr_array_add(argv, NULL);
  actrd_run_clear(run);
  g_spawn_sync(NULL, (char **)argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL, &run->out, &run->err,
               &status, &error);
  g_assert_no_error(error);
  run->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *
actrd_json_get_string(const char *json, const char *key)
{
  g_autofree char *needle = g_strdup_printf("\"%s\": \"", key);
  const char *start = strstr(json, needle);
  const char *end;

  if (start == NULL)
    return NULL;
  start += strlen(needle);
  end = strchr(start, '"');
  return end != NULL ? g_strndup(start, end - start) : NULL;
}

gint64
actrd_json_get_int(const char *json, const char *key)
{
  g_autofree char *needle = g_strdup_printf("\"%s\": ", key);
  const char *start = strstr(json, needle);
  gint64 value = -1;

  if (start != NULL)
    value = g_ascii_strtoll(start + strlen(needle), NULL, 10);
  return value;
}

guint
actrd_harness_http(ActrdHarness *h, const char *method, const char *path, GBytes *body,
                   const char *const *headers, GBytes **response)
{
  g_autofree char *uri = g_strconcat(h->url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new(method, uri);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;

  g_assert_nonnull(msg);
  if (body != NULL)
    soup_message_set_request_body_from_bytes(msg, "application/x-protobuf", body);
  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    soup_message_headers_replace(soup_message_get_request_headers(msg), headers[i], headers[i + 1]);
  reply = soup_session_send_and_read(h->session, msg, NULL, &error);
  g_assert_no_error(error);
  if (response != NULL)
    *response = g_steal_pointer(&reply);
  return soup_message_get_status(msg);
}

GBytes *
actrd_register_request(guint32 realm, const char *type, Actr__RegisterAuthMode mode)
{
  Actr__RegisterRequest req = ACTR__REGISTER_REQUEST__INIT;
  Actr__ActrType t = ACTR__ACTR_TYPE__INIT;
  Actr__Realm r = ACTR__REALM__INIT;
  g_auto(GStrv) parts = g_strsplit(type, ":", 3);

  g_assert_cmpuint(g_strv_length(parts), ==, 3);
  t.manufacturer = parts[0];
  t.name = parts[1];
  t.version = parts[2];
  r.realm_id = realm;
  req.actr_type = &t;
  req.realm = &r;
  req.has_auth_mode = TRUE;
  req.auth_mode = mode;
  return actr_proto_message_encode(&req.base);
}

Actr__RegisterResponse *
actrd_harness_register(ActrdHarness *h, GBytes *body, const char *secret)
{
  const char *headers[] = {"x-actrix-realm-secret", secret, NULL};
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;
  ProtobufCMessage *resp;
  guint status;

  status =
      actrd_harness_http(h, "POST", "/ais/register", body, secret != NULL ? headers : NULL, &reply);
  g_assert_cmpuint(status, ==, 200);
  resp = actr_proto_message_decode(&actr__register_response__descriptor,
                                   g_bytes_get_data(reply, NULL), g_bytes_get_size(reply), &error);
  g_assert_no_error(error);
  return (Actr__RegisterResponse *)resp;
}

void
actrd_assert_register_error(Actr__RegisterResponse *resp, guint code, const char *message)
{
  g_assert_cmpint(resp->result_case, ==, ACTR__REGISTER_RESPONSE__RESULT_ERROR);
  g_assert_cmpuint(resp->error->code, ==, code);
  if (message != NULL && strstr(resp->error->message, message) == NULL)
    g_error("error message '%s' does not contain '%s'", resp->error->message, message);
  actr_proto_message_free(&resp->base);
}
