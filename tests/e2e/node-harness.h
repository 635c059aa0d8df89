/* End-to-end test harness: real actrd, real `actr run` nodes and real `actr`
 * client commands, all on 127.0.0.1.
 *
 *   g_autoptr(E2eActrd) d = e2e_actrd_start(NULL);       // actrd --dev, limits raised
 *   g_autofree char *dir = e2e_tmpdir_new();
 *   E2eNodeOptions o = {.workload = "echo"};
 *   g_autoptr(E2eNode) echo = e2e_node_new("echo", dir, e2e_actrd_url(d), &o);
 *   e2e_node_start(echo);                                // waits for "actr ready ID"
 *   g_autofree char *client = e2e_write_client_config(dir, "client", e2e_actrd_url(d));
 *   g_auto(E2eRun) run = {0};
 *   e2e_cli(&run, NULL, 20000, "call", "--config", client, "acme:echo:1.0.0",
 *           "echo.Echo.Echo", "--data", "hello", NULL);
 *   g_assert_cmpint(run.exit_code, ==, 0);
 *
 * Binaries come from $ACTR_BUILD_ROOT (set by tests/meson.build):
 * src/actrd/actrd, src/cli/actr, examples/lib<NAME>.so.
 *
 * Every child process gets PR_SET_PDEATHSIG(SIGKILL), so a failed assertion
 * never leaves one running; note that the signal follows the *thread* that
 * spawned the child, so nodes must be started from the main thread (CLI
 * commands may be run from any thread: they finish before it does).
 *
 * Logs: a node's stderr is copied line by line to the test's stderr with a
 * "[NAME] " prefix (so it lands in the meson test log); a CLI command's
 * stderr is copied there when it fails (always when $E2E_VERBOSE is set).
 */
#ifndef E2E_NODE_HARNESS_H
#define E2E_NODE_HARNESS_H

#include <glib.h>

#include "../actrd/actrd-harness.h"

G_BEGIN_DECLS

/* ---- Paths and temporary directories ------------------------------------------------------ */

/* $ACTR_BUILD_ROOT/src/cli/actr etc.  Exit the test with a message when the
 * file does not exist.  (transfer none) */
const char *e2e_actr_path(void);
const char *e2e_actrd_path(void);
/* "echo" -> $ACTR_BUILD_ROOT/examples/libecho.so (transfer full). */
char *e2e_workload_path(const char *name);

/* The environment the harness gives its children (LC_ALL=C, no
 * G_MESSAGES_DEBUG, ASan full unwinding for tests/lsan.supp), for tests
 * that spawn other programs themselves (transfer full). */
char **e2e_child_env(void);

/* The harness's GSpawnChildSetupFunc (PR_SET_PDEATHSIG(SIGKILL)), for
 * tests that spawn other programs themselves: they die with the thread
 * that spawned them. */
void e2e_child_setup(gpointer user_data);

/* A fresh temporary directory (transfer full); e2e_remove_tree() removes it. */
char *e2e_tmpdir_new(void);
void e2e_remove_tree(const char *path);

/* ---- actrd -------------------------------------------------------------------------------- */

typedef struct _E2eActrd E2eActrd;

/* Starts "actrd serve --dev --config F" on 127.0.0.1 (a free port), where F
 * raises the per-IP rate limits far above what the tests need (every CLI
 * command registers and connects), plus @ais_extra (nullable) appended to
 * its [ais] section, e.g. "token_ttl_secs = 5\n".  Waits for the ready line. */
E2eActrd *e2e_actrd_start(const char *ais_extra);

/* The same, plus @extra_toml (nullable) appended to the configuration, e.g.
 * a "[turn]\nsecret = ...\n" section. */
E2eActrd *e2e_actrd_start_full(const char *ais_extra, const char *extra_toml);

/* SIGTERM, asserts a clean exit, removes the data directory.  NULL-safe. */
void e2e_actrd_free(E2eActrd *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(E2eActrd, e2e_actrd_free)

const char *e2e_actrd_url(E2eActrd *d); /* "http://127.0.0.1:PORT" */
guint16 e2e_actrd_port(E2eActrd *d);
ActrdHarness *e2e_actrd_harness(E2eActrd *d);

/* kill -9 (and reap). */
void e2e_actrd_kill(E2eActrd *d);

/* Starts actrd again on the same data directory and the SAME port (after a
 * kill); retries the bind for up to 10 s. */
void e2e_actrd_restart(E2eActrd *d);

/* ---- Configuration files ------------------------------------------------------------------ */

/* Writes DIR/NAME.toml for a node of realm 1 at @actrd_url: signaling and
 * AIS URLs, [hyper] data_dir = DIR/NAME-data, [hyper.trust] dev_only, then
 * @body (nullable; more sections, e.g. [websocket], [storage], [acl]).
 * Returns the path (transfer full). */
char *e2e_write_config(const char *dir, const char *name, const char *actrd_url, const char *body);

/* A client config (no WebSocket server, no store): DIR/NAME.toml. */
char *e2e_write_client_config(const char *dir, const char *name, const char *actrd_url);

/* A port that was free a moment ago on 127.0.0.1 (for a node whose
 * WebSocket port the test must know). */
guint16 e2e_free_port(void);
/* The same for a UDP port. */
guint16 e2e_free_udp_port(void);

/* ---- Nodes (`actr run`) ------------------------------------------------------------------- */

typedef struct _E2eNode E2eNode;

typedef struct {
  const char *workload;   /* "echo" or "counter" (examples/lib<NAME>.so); NULL = none */
  const char *actr_type;  /* --type (nullable) */
  const char *extra_toml; /* appended to the config (nullable), e.g. an [acl] section */
  guint16 ws_port;        /* [websocket] listen_port; 0 = a free port picked by the node */
  const char *netns;      /* run the node inside this network namespace ("ip netns exec
                             NETNS actr run ..."; needs root); NULL = this one */
} E2eNodeOptions;

/* Writes DIR/NAME.toml ([websocket] listen_port, [storage] mailbox_path =
 * DIR/NAME.db, [hyper] data_dir = DIR/NAME-data, @options->extra_toml) and
 * returns a stopped node.  @options is copied. */
E2eNode *e2e_node_new(const char *name, const char *dir, const char *actrd_url,
                      const E2eNodeOptions *options);

/* Stops the node if it runs (SIGCONT, SIGTERM; asserts a clean exit 0 within
 * 10 s, as cli.md promises within 5 s) and frees it.  NULL-safe. */
void e2e_node_free(E2eNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(E2eNode, e2e_node_free)

/* Spawns "actr run --config DIR/NAME.toml [--workload P] [--type T]" and
 * waits up to 15 s for "actr ready ACTR_ID" on its stdout (asserts).  Main
 * thread only.  May be called again after a kill or stop (same store). */
void e2e_node_start(E2eNode *node);

/* The ActrId text from the last ready line (transfer none), NULL before. */
const char *e2e_node_id(E2eNode *node);
const char *e2e_node_config(E2eNode *node);
const char *e2e_node_name(E2eNode *node);
/* The mailbox path (DIR/NAME.db). */
const char *e2e_node_db(E2eNode *node);
GPid e2e_node_pid(E2eNode *node);

/* TRUE while the process has not exited (reaps it when it has). */
gboolean e2e_node_is_alive(E2eNode *node);

/* Sends @signum without waiting (SIGSTOP, SIGCONT, ...). */
void e2e_node_signal(E2eNode *node, int signum);

/* kill -9 and reap. */
void e2e_node_kill(E2eNode *node);

/* The node's stderr lines are also kept (the last E2E_NODE_LOG_LINES of all
 * its runs) for tests that look for a log line. */
#define E2E_NODE_LOG_LINES 4000

/* The first kept stderr line containing @needle (transfer full), or NULL. */
char *e2e_node_log_find(E2eNode *node, const char *needle);
/* How many kept stderr lines contain @needle. */
guint e2e_node_log_count(E2eNode *node, const char *needle);
/* Waits up to @timeout_ms for a kept stderr line containing @needle and
 * returns it (transfer full), or NULL. */
char *e2e_node_wait_log(E2eNode *node, const char *needle, guint timeout_ms);
/* Forgets the kept lines. */
void e2e_node_log_clear(E2eNode *node);

/* SIGTERM and wait up to 10 s: the wait status (asserts that it exited
 * in time; a hang is killed and reported). */
int e2e_node_stop(E2eNode *node);

/* ---- Client commands (`actr ...` to completion) ------------------------------------------- */

typedef struct {
  int exit_code;   /* -1 when it died by a signal or timed out */
  int term_signal; /* the signal, else 0 */
  gboolean timed_out;
  GBytes *out; /* stdout bytes (always NUL-terminated beyond its size) */
  char *err;   /* stderr text */
  gint64 elapsed_us;
} E2eRun;

void e2e_run_clear(E2eRun *run);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(E2eRun, e2e_run_clear)

/* stdout as text (transfer none; NUL-terminated, may contain NULs). */
const char *e2e_run_out(const E2eRun *run);
gsize e2e_run_out_len(const E2eRun *run);

/* Runs "actr ARGV..." with @stdin_data (nullable: /dev/null) on stdin and
 * waits; after @timeout_ms it is killed (timed_out).  Thread-safe. */
void e2e_cliv(E2eRun *run, GBytes *stdin_data, guint timeout_ms, const char *const *argv);
void e2e_cli(E2eRun *run, GBytes *stdin_data, guint timeout_ms, const char *first_arg,
             ...) G_GNUC_NULL_TERMINATED;

/* The wire code of "error CODE: MESSAGE" on @run's stderr, or 0 (and the
 * message in @message, transfer full, nullable out). */
guint e2e_run_error_code(const E2eRun *run, char **message);

/* Asserts that the command exited 0 (printing its stderr otherwise). */
void e2e_assert_run_ok(const E2eRun *run);

/* ---- Small helpers ------------------------------------------------------------------------ */

/* TRUE when @text (length @len) is one valid JSON document (RFC 8259, with
 * optional surrounding whitespace) or, when @lines, one document per
 * non-empty line. */
gboolean e2e_json_valid(const char *text, gsize len, gboolean lines);

/* Drops debug and info messages of this process (libsoup, GIO and the
 * in-process node log a lot at debug level, which GTest would print) unless
 * $E2E_VERBOSE is set.  Call after g_test_init(). */
void e2e_quiet_debug_logs(void);

/* Polls @cond every 100 ms until it returns TRUE or @timeout_ms passed. */
typedef gboolean (*E2eCondFunc)(gpointer user_data);
gboolean e2e_wait_until(E2eCondFunc cond, gpointer user_data, guint timeout_ms);

G_END_DECLS

#endif /* E2E_NODE_HARNESS_H */
