/* actr CLI — "actr mailbox": read-only inspection of a node's inbox. */
#ifndef ACTR_CLI_CMD_MAILBOX_H
#define ACTR_CLI_CMD_MAILBOX_H

/* Runs "actr mailbox SUBCOMMAND ..." (argv[0] is "mailbox") and returns the
 * process exit code. */
int actr_cmd_mailbox(int argc, char **argv);

#endif /* ACTR_CLI_CMD_MAILBOX_H */
