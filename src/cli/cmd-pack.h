/* actr CLI — signed workload packages: "actr pack" (build and sign an .actr
 * package), "actr verify" (check one) and "actr keygen" (make a
 * manufacturer key).  The format is in docs/packages.md. */
#ifndef ACTR_CLI_CMD_PACK_H
#define ACTR_CLI_CMD_PACK_H

/* Each runs its command (argv[0] is the command word) and returns the
 * process exit code. */
int actr_cmd_pack(int argc, char **argv);
int actr_cmd_verify(int argc, char **argv);
int actr_cmd_keygen(int argc, char **argv);

#endif /* ACTR_CLI_CMD_PACK_H */
