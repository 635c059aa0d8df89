/* actr CLI — entry point: global options and the table of commands.
 *
 * Adding a command group: write src/cli/cmd-<group>.c exposing
 * int actr_cmd_<group>(int argc, char **argv) (argv[0] is the group name),
 * list it in src/cli/meson.build and add one row to `commands` below.
 * Nothing else changes.
 */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <actr/version.h>

#include "cli-common.h"
#include "cmd-dlq.h"
#include "cmd-mailbox.h"
#include "cmd-pack.h"
#include "cmd-node.h"

typedef struct {
  const char *name;
  const char *summary;
  /* Synopsis lines shown by "actr --help", one per subcommand, without the
   * leading "actr ". */
  const char *const *synopsis;
  ActrCliRunFunc run;
} ActrCliCommand;

static const char *const mailbox_synopsis[] = {
    "mailbox stats --db PATH [--json]",
    "mailbox list  --db PATH [--limit N] [--json]",
    "mailbox peek  ID --db PATH [--json | --raw]",
    NULL,
};

static const char *const dlq_synopsis[] = {
    "dlq list      --db PATH [--category C] [--limit N] [--json]",
    "dlq show      ID --db PATH [--json | --raw]",
    "dlq requeue   ID --db PATH [--json]",
    "dlq delete    ID --db PATH [--json]",
    "dlq purge     --db PATH [--yes] [--json]",
    NULL,
};

static const char *const run_synopsis[] = {
    "run      --config FILE [--workload PATH] [--type MFR:NAME:VERSION]",
    NULL,
};
static const char *const call_synopsis[] = {
    "call     --config FILE TARGET ROUTE [--data TEXT | --data-file PATH | --data -] "
    "[--timeout MS] [--request-id ID] [--json]",
    NULL,
};
static const char *const tell_synopsis[] = {
    "tell     --config FILE TARGET ROUTE [--data ...] [--request-id ID]",
    NULL,
};
static const char *const discover_synopsis[] = {
    "discover --config FILE [TYPE] [--manufacturer M] [--json]",
    NULL,
};
static const char *const ping_synopsis[] = {
    "ping     --config FILE TARGET [--count N] [--interval MS]",
    NULL,
};

static const char *const pack_synopsis[] = {
    "pack     --workload LIB.so --key MFR_KEY [--type M:N:V] [--lock FILE] -o OUT.actr [--json]",
    NULL,
};
static const char *const verify_synopsis[] = {
    "verify   PACKAGE (--pubkey B64 | --pubkey-file F | --mfr-url URL) [--json]",
    NULL,
};
static const char *const keygen_synopsis[] = {
    "keygen   -o KEY_FILE [--manufacturer M] [--key-id K] [--public-out FILE] [--json]",
    NULL,
};

static const ActrCliCommand commands[] = {
    {"run", "run a node with a workload", run_synopsis, actr_cmd_run},
    {"call", "call a route on an actor and print the reply", call_synopsis, actr_cmd_call},
    {"tell", "send a one-way message to an actor", tell_synopsis, actr_cmd_tell},
    {"discover", "list actor types, or find an instance of one", discover_synopsis,
     actr_cmd_discover},
    {"ping", "measure round trips to an actor", ping_synopsis, actr_cmd_ping},
    {"mailbox", "inspect a node's inbox (read-only)", mailbox_synopsis, actr_cmd_mailbox},
    {"dlq", "inspect and manage a node's dead-letter queue", dlq_synopsis, actr_cmd_dlq},
    {"pack", "build a signed .actr package from a workload", pack_synopsis, actr_cmd_pack},
    {"verify", "check an .actr package's signature, hashes and target", verify_synopsis,
     actr_cmd_verify},
    {"keygen", "make a manufacturer signing key for packages", keygen_synopsis, actr_cmd_keygen},
    {NULL, NULL, NULL, NULL},
};

static const ActrCliCommand *
find_command(const char *name)
{
  for (const ActrCliCommand *c = commands; c->name != NULL; c++) {
    if (strcmp(c->name, name) == 0)
      return c;
  }
  return NULL;
}

static void
print_main_help(FILE *out)
{
  guint width = actr_cli_text_width();

  fputs("NAME\n    actr - run actr nodes and inspect their stores\n\n", out);
  fputs("SYNOPSIS\n"
        "    actr [-v | -q] COMMAND [ARGUMENTS...]\n"
        "    actr --version\n"
        "    actr --help | actr help [COMMAND [SUBCOMMAND]]\n\n",
        out);
  fputs("COMMANDS\n", out);
  for (const ActrCliCommand *c = commands; c->name != NULL; c++) {
    fprintf(out, "    %s - %s\n", c->name, c->summary);
    for (guint i = 0; c->synopsis[i] != NULL; i++)
      fprintf(out, "        actr %s\n", c->synopsis[i]);
  }
  fputs("\nDESCRIPTION\n", out);
  actr_cli_print_wrapped(
      out,
      "actr is the command-line tool of the actr actor runtime.  The store commands (mailbox, "
      "dlq) work on a node's mailbox database: inspection commands open it read-only and work "
      "while the node runs; commands that change it need the node to be stopped.\n"
      "\n"
      "Results go to stdout and diagnostics to stderr, one line each, starting with \"actr: \".  "
      "With --json a command prints exactly one JSON document on stdout.  Status lines appear "
      "only when stderr is a terminal.\n"
      "\n"
      "Options may be given as --name VALUE or --name=VALUE, before or after the arguments.  "
      "Every command and subcommand accepts --help.",
      4, width);
  fputs("\nGLOBAL OPTIONS\n", out);
  actr_cli_print_wrapped(out,
                         "-h, --help      Show this help and exit.\n"
                         "--version       Print \"actr VERSION\" and exit.\n"
                         "-v, --verbose   Print more on stderr, including debug logs.\n"
                         "-q, --quiet     Print no status lines on stderr.",
                         4, width);
  fputs("\nEXIT STATUS\n", out);
  actr_cli_print_wrapped(out,
                         "0  Success.\n"
                         "1  Runtime failure (missing or corrupt database, store busy, "
                         "record not found, ...).\n"
                         "2  Usage error (unknown command or option, missing argument).\n"
                         "3  The remote side answered with an actr error.",
                         4, width);
  fputs("\nENVIRONMENT\n", out);
  actr_cli_print_wrapped(out, "G_MESSAGES_DEBUG=all shows debug logs, like -v.", 4, width);
  fputs("\nEXAMPLES\n", out);
  actr_cli_print_wrapped(out,
                         "  actr mailbox stats --db node-data/mailbox.db\n"
                         "  actr dlq list --db node-data/mailbox.db --json\n"
                         "  actr help dlq purge",
                         4, width);
  fputs("\nRun 'actr COMMAND --help' or 'actr help COMMAND SUBCOMMAND' for details.\n", out);
}

/* "actr help [COMMAND [SUBCOMMAND]]": forwards as "COMMAND [SUBCOMMAND] --help". */
static int
run_help(int argc, char **argv)
{
  const ActrCliCommand *command;
  g_autofree char **forward = NULL;
  int n = 0;

  if (argc <= 1) {
    print_main_help(stdout);
    return ACTR_EXIT_OK;
  }
  command = find_command(argv[1]);
  if (command == NULL)
    return actr_cli_usage_error(NULL, "unknown command '%s'", argv[1]);
  forward = g_new0(char *, argc + 1);
  for (int i = 1; i < argc; i++)
    forward[n++] = argv[i];
  forward[n++] = (char *)"--help";
  return command->run(n, forward);
}

static int
run(int argc, char **argv)
{
  const ActrCliCommand *command;
  int i;

  /* Global options, up to the command word. */
  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];

    if (arg[0] != '-')
      break;
    if (strcmp(arg, "--version") == 0) {
      /* The CLI links the internal static library, so the compile-time
       version is the library version. */
      printf("actr %s\n", ACTR_VERSION_STRING);
      return ACTR_EXIT_OK;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      print_main_help(stdout);
      return ACTR_EXIT_OK;
    }
    if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "-v") == 0) {
      actr_cli_adjust_verbosity(1);
    } else if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
      actr_cli_set_verbosity(-1);
    } else {
      return actr_cli_usage_error(NULL, "unknown option '%s'", arg);
    }
  }
  if (i == argc)
    return actr_cli_usage_error(NULL, "missing command");
  if (strcmp(argv[i], "help") == 0)
    return run_help(argc - i, argv + i);
  command = find_command(argv[i]);
  if (command == NULL)
    return actr_cli_usage_error(NULL, "unknown command '%s'", argv[i]);
  return command->run(argc - i, argv + i);
}

int
main(int argc, char **argv)
{
  int rc;

  setlocale(LC_ALL, "");
  g_set_prgname("actr");
  /* Library logs go to stderr as "actr: ..." lines; stdout holds results. */
  actr_cli_install_log_writer();
  /* A closed stdout (actr ... | head) must not kill us with SIGPIPE; the
   * write error is noticed below instead. */
  signal(SIGPIPE, SIG_IGN);

  rc = run(argc, argv);

  if (fflush(stdout) != 0 || ferror(stdout)) {
    /* EPIPE: the reader went away on purpose; say nothing. */
    if (errno != EPIPE)
      actr_cli_error("cannot write to stdout: %s", g_strerror(errno));
    if (rc == ACTR_EXIT_OK)
      rc = ACTR_EXIT_FAILURE;
  }
  return rc;
}
