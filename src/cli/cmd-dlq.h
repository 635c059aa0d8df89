/* actr CLI — "actr dlq": inspect and manage a node's dead-letter queue. */
#ifndef ACTR_CLI_CMD_DLQ_H
#define ACTR_CLI_CMD_DLQ_H

/* Runs "actr dlq SUBCOMMAND ..." (argv[0] is "dlq") and returns the process
 * exit code. */
int actr_cmd_dlq(int argc, char **argv);

#endif /* ACTR_CLI_CMD_DLQ_H */
