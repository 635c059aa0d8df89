/* Test harness for actrd: runs the REAL actrd binary in a temporary data
 * directory and talks HTTP to it.
 *
 *   ActrdHarness *h = actrd_harness_new(actrd_path);   // temp data dir
 *   actrd_harness_admin(h, &run, "realm", "create", "5", NULL);  // optional
 *   actrd_harness_start(h, "--dev", NULL);             // waits for the ready line
 *   ... actrd_harness_url(h), actrd_harness_register(h, ...) ...
 *   actrd_harness_free(h);                             // SIGTERM, checks, rm -rf
 *
 * The server always gets "serve --listen 127.0.0.1:0 --data-dir DIR"; extra
 * arguments come after.  Its stderr goes to the test's stderr (diagnostics
 * in the test log); its stdout is read for the ready line.
 *
 * Thread: the test's main thread only.  HTTP calls are synchronous
 * (libsoup's blocking API), so no main loop is needed.
 */
#ifndef ACTRD_HARNESS_H
#define ACTRD_HARNESS_H

#include <glib.h>
#include <libsoup/soup.h>

#include "actr.pb-c.h"

G_BEGIN_DECLS

typedef struct _ActrdHarness ActrdHarness;

/* The actrd path from argv (the first non-option argument after
 * g_test_init()), else $ACTR_BUILD_ROOT/src/actrd/actrd.  Exits the test
 * with a message when neither exists.  Returns (transfer none). */
const char *actrd_harness_path_from_args(int argc, char **argv);

/* A stopped harness with a fresh temporary data directory. */
ActrdHarness *actrd_harness_new(const char *actrd_path);

/* Stops the server if running (SIGTERM; asserts a clean exit 0 unless it was
 * killed) and removes the data directory.  NULL-safe. */
void actrd_harness_free(ActrdHarness *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdHarness, actrd_harness_free)

const char *actrd_harness_data_dir(ActrdHarness *h);

/* Removes @path and everything under it (symlinks are not followed). */
void actrd_harness_remove_tree(const char *path);

/* Starts "actrd serve --listen 127.0.0.1:0 --data-dir DIR ARGS..." (a
 * NULL-terminated list) and waits up to 10 s for "actrd listening on
 * http://127.0.0.1:PORT".  Asserts on failure.  Returns the time from spawn
 * to the ready line, in microseconds. */
gint64 actrd_harness_start(ActrdHarness *h, const char *first_arg, ...);

/* Sends @signum and reaps the process; returns its wait status. */
int actrd_harness_signal(ActrdHarness *h, int signum);

/* SIGTERM and wait: returns the exit code (-1 if it died by a signal). */
int actrd_harness_stop(ActrdHarness *h);

/* The server's base URL "http://127.0.0.1:PORT" (transfer none) and port. */
const char *actrd_harness_url(ActrdHarness *h);
guint16 actrd_harness_port(ActrdHarness *h);

/* Result of a command run to completion. */
typedef struct {
  int exit_code; /* -1 if killed by a signal */
  char *out;
  char *err;
} ActrdRun;

void actrd_run_clear(ActrdRun *run);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ActrdRun, actrd_run_clear)

/* Runs "actrd ARGS... --data-dir DIR" to completion (admin commands). */
void actrd_harness_admin(ActrdHarness *h, ActrdRun *run, const char *first_arg,
                         ...) G_GNUC_NULL_TERMINATED;

/* The string value of "key": "value" in a JSON text (first occurrence;
 * enough for our flat outputs; no unescaping).  Transfer full or NULL. */
char *actrd_json_get_string(const char *json, const char *key);
/* The number after "key": (first occurrence), or -1. */
gint64 actrd_json_get_int(const char *json, const char *key);

/* ---- HTTP ------------------------------------------------------------------ */

/* One synchronous request to the server.  @body may be NULL; @headers is a
 * NULL-terminated list of name, value pairs (may be NULL).  Returns the HTTP
 * status and the body in @response (transfer full, nullable out). */
guint actrd_harness_http(ActrdHarness *h, const char *method, const char *path, GBytes *body,
                         const char *const *headers, GBytes **response);

/* An encoded RegisterRequest for @type ("m:n:v") in @realm with @mode
 * (ACTR__REGISTER_AUTH_MODE__*). */
GBytes *actrd_register_request(guint32 realm, const char *type, Actr__RegisterAuthMode mode);

/* POST /ais/register with @body and the realm secret header when @secret is
 * not NULL.  Asserts HTTP 200 and a decodable RegisterResponse, which is
 * returned (free with actr_proto_message_free()). */
Actr__RegisterResponse *actrd_harness_register(ActrdHarness *h, GBytes *body, const char *secret);

/* Asserts that @resp is an error with @code (and, when @message is not
 * NULL, a message containing it); frees @resp. */
void actrd_assert_register_error(Actr__RegisterResponse *resp, guint code, const char *message);

G_END_DECLS

#endif /* ACTRD_HARNESS_H */
