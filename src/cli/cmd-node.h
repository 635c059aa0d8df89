/* actr CLI — commands that run a node: "actr run" and the client commands
 * "actr call", "tell", "discover" and "ping" (spec/cli.md). */
#ifndef ACTR_CLI_CMD_NODE_H
#define ACTR_CLI_CMD_NODE_H

/* Each runs its command (argv[0] is the command name) and returns the
 * process exit code. */
int actr_cmd_run(int argc, char **argv);
int actr_cmd_call(int argc, char **argv);
int actr_cmd_tell(int argc, char **argv);
int actr_cmd_discover(int argc, char **argv);
int actr_cmd_ping(int argc, char **argv);

#endif /* ACTR_CLI_CMD_NODE_H */
