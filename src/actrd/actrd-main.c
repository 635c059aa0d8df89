/* actrd — command line: `actrd serve` and the admin subcommands (realm,
 * acl, key, mfr) that work on the data directory's database.  The option
 * parser, help renderer and JSON writer are the `actr` CLI's
 * (src/cli/cli-common.h, cli-json.h).  Exit codes: 0 success, 1 runtime
 * failure, 2 usage or configuration error (spec/cli.md).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>
#include <actr/identity.h>
#include <actr/types.h>
#include <actr/version.h>

#include "actrd-config.h"
#include "actrd-db.h"
#include "actrd-keys.h"
#include "actrd-server.h"
#include "cli-common.h"
#include "cli-json.h"

#define SECRET_GRACE_SECS (4 * 3600)
#define SHUTDOWN_LIMIT_S  5

static int
parse_done(int rc)
{
  return rc == ACTR_CLI_HELP_SHOWN ? ACTR_EXIT_OK : rc;
}

#define DATA_DIR_HELP                                                                              \
  "Data directory holding actrd.db (default ./actrd-data, or [server] data_dir of --config)."
#define CONFIG_HELP "Read actrd.toml from FILE (see docs/actrd.md)."

static const char admin_exit_status[] =
    "0  Success.\n"
    "1  Runtime failure: the database cannot be opened or written, the object does not exist or "
    "already exists.\n"
    "2  Usage or configuration error: unknown option, missing or bad argument, bad config file.";

/* The data directory of an admin command: --data-dir, else the config's,
 * else the default.  Returns 0 or an exit code. */
static int
admin_open(const char *command, const char *config_path, const char *data_dir, ActrdDb **db)
{
  g_autoptr(ActrdConfig) config = actrd_config_new();
  g_autoptr(GError) error = NULL;

  if (config_path != NULL && !actrd_config_load_file(config, config_path, &error)) {
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_USAGE;
  }
  if (data_dir != NULL) {
    g_free(config->data_dir);
    config->data_dir = g_strdup(data_dir);
  }
  *db = actrd_db_open(config->data_dir, &error);
  if (*db == NULL) {
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_FAILURE;
  }
  return 0;
}

static int
runtime_failure(const GError *error)
{
  actr_cli_error("%s", error->message);
  return ACTR_EXIT_FAILURE;
}

static gboolean
parse_realm_id(const char *command, const char *text, guint32 *out)
{
  guint64 value = 0;

  if (text == NULL || !g_ascii_string_to_unsigned(text, 10, 1, G_MAXUINT32, &value, NULL)) {
    actr_cli_usage_error(command, "invalid realm ID '%s' (expected an integer 1..%u)",
                         text != NULL ? text : "", G_MAXUINT32);
    return FALSE;
  }
  *out = (guint32)value;
  return TRUE;
}

/* Common options of the admin commands. */
typedef struct {
  const char *data_dir;
  const char *config;
  gboolean json;
} AdminOpts;

#define ADMIN_OPTIONS(o)                                                                           \
  {"data-dir", 'd', ACTR_CLI_OPT_STRING, &(o).data_dir, "DIR", DATA_DIR_HELP},                     \
      {"config", 'c', ACTR_CLI_OPT_STRING, &(o).config, "FILE", CONFIG_HELP},                      \
  {                                                                                                \
    "json", 0, ACTR_CLI_OPT_FLAG, &(o).json, NULL, ACTR_CLI_JSON_HELP                              \
  }

/* ---- realm ---------------------------------------------------------------- */

static void
print_secret(const AdminOpts *o, guint32 id, const char *action, const char *secret)
{
  if (o->json) {
    g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

    actr_json_begin_object(json);
    actr_json_member_uint(json, "id", id);
    actr_json_member_string(json, "result", action);
    actr_json_member_string(json, "secret", secret);
    actr_json_end_object(json);
    actr_json_writer_print(json);
    return;
  }
  printf("realm %u %s\n", id, action);
  if (secret != NULL)
    printf("realm secret (shown once, store it now): %s\n", secret);
}

static int
cmd_realm_create(int argc, char **argv)
{
  AdminOpts o = {0};
  const char *name = NULL, *secret = NULL;
  gboolean generate = FALSE;
  const ActrCliOption options[] = {
      ADMIN_OPTIONS(o),
      {"name", 'n', ACTR_CLI_OPT_STRING, &name, "NAME", "Display name of the realm."},
      {"secret", 0, ACTR_CLI_OPT_STRING, &secret, "SECRET",
       "Require this realm secret (header x-actrix-realm-secret) on registration.  Only its "
       "SHA-256 is stored.  Note that command lines are visible to other local users."},
      {"generate-secret", 0, ACTR_CLI_OPT_FLAG, &generate, NULL,
       "Generate a random realm secret and print it once."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  const ActrCliHelp help = {
      "realm create",
      "create a realm",
      "ID [--name NAME] [--secret S | --generate-secret] [--json]",
      "Creates realm ID (enabled, never expires).  Without a secret, only PACKAGE registrations "
      "(manufacturer-verified) are accepted in it; LINKED registrations need a realm secret.",
      admin_exit_status,
      "  actrd realm create 7 --name prod --generate-secret\n"};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *generated = NULL;
  g_autofree char *hash = NULL;
  guint32 id;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 1)) != 0)
    return parse_done(rc);
  if (pos->len != 1)
    return actr_cli_usage_error(help.command, "missing realm ID");
  if (!parse_realm_id(help.command, g_ptr_array_index(pos, 0), &id))
    return ACTR_EXIT_USAGE;
  if (secret != NULL && generate)
    return actr_cli_usage_error(help.command, "--secret and --generate-secret exclude each other");
  if (generate)
    secret = generated = actr_realm_secret_generate();
  if (secret != NULL && (hash = actr_realm_secret_hash(secret)) == NULL)
    return actr_cli_usage_error(help.command, "the secret must not be empty");
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  if (!actrd_db_realm_create(db, id, name != NULL ? name : "", hash, &error))
    return runtime_failure(error);
  print_secret(&o, id, "created", generated);
  return ACTR_EXIT_OK;
}

static int
cmd_realm_list(int argc, char **argv)
{
  AdminOpts o = {0};
  const ActrCliOption options[] = {ADMIN_OPTIONS(o), {NULL, 0, 0, NULL, NULL, NULL}};
  const ActrCliHelp help = {
      "realm list",      "list realms",
      "[--json]",        "Lists every realm with its state; secrets are never shown.",
      admin_exit_status, NULL};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) realms = NULL;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 0)) != 0)
    return parse_done(rc);
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  realms = actrd_db_realm_list(db, &error);
  if (realms == NULL)
    return runtime_failure(error);
  if (o.json) {
    g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

    actr_json_begin_array(json);
    for (guint i = 0; i < realms->len; i++) {
      const ActrdRealm *r = g_ptr_array_index(realms, i);

      actr_json_begin_object(json);
      actr_json_member_uint(json, "id", r->id);
      actr_json_member_string(json, "name", r->name);
      actr_json_member_bool(json, "enabled", r->enabled);
      actr_json_member_int(json, "expires_at", r->expires_at);
      actr_json_member_bool(json, "has_secret", r->has_secret);
      actr_json_member_bool(json, "has_previous_secret", r->has_previous);
      actr_json_member_int(json, "previous_secret_valid_until", r->previous_valid_until);
      actr_json_member_int(json, "created_at", r->created_at);
      actr_json_end_object(json);
    }
    actr_json_end_array(json);
    actr_json_writer_print(json);
  } else {
    static const char *const headers[] = {">ID",     "NAME", "ENABLED", "SECRET", "PREVIOUS-UNTIL",
                                          "CREATED", NULL};
    g_autoptr(ActrCliTable) table = actr_cli_table_new(headers);

    for (guint i = 0; i < realms->len; i++) {
      const ActrdRealm *r = g_ptr_array_index(realms, i);

      actr_cli_table_addf(table, "%u", r->id);
      actr_cli_table_take(table, actr_cli_printable(r->name));
      actr_cli_table_add(table, r->enabled ? "yes" : "no");
      actr_cli_table_add(table, r->has_secret ? "set" : "-");
      actr_cli_table_take(table, r->has_previous
                                     ? actr_cli_format_local_time(r->previous_valid_until *
                                                                  G_GINT64_CONSTANT(1000000000))
                                     : g_strdup("-"));
      actr_cli_table_take(
          table, actr_cli_format_local_time(r->created_at * G_GINT64_CONSTANT(1000000000)));
    }
    actr_cli_table_print(table, stdout);
  }
  return ACTR_EXIT_OK;
}

static int
cmd_realm_set_secret(int argc, char **argv)
{
  AdminOpts o = {0};
  const char *secret = NULL;
  gboolean generate = FALSE, clear = FALSE;
  const ActrCliOption options[] = {
      ADMIN_OPTIONS(o),
      {"secret", 0, ACTR_CLI_OPT_STRING, &secret, "SECRET", "The new secret."},
      {"generate-secret", 0, ACTR_CLI_OPT_FLAG, &generate, NULL,
       "Generate a random secret and print it once."},
      {"clear", 0, ACTR_CLI_OPT_FLAG, &clear, NULL, "Remove the secret."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  const ActrCliHelp help = {
      "realm set-secret",
      "replace or clear a realm's secret",
      "ID (--secret S | --generate-secret | --clear) [--json]",
      "Replaces the realm secret at once; the old secret stops working immediately (use "
      "rotate-secret for a grace period).",
      admin_exit_status,
      NULL};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *generated = NULL;
  g_autofree char *hash = NULL;
  guint32 id;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 1)) != 0)
    return parse_done(rc);
  if (pos->len != 1)
    return actr_cli_usage_error(help.command, "missing realm ID");
  if (!parse_realm_id(help.command, g_ptr_array_index(pos, 0), &id))
    return ACTR_EXIT_USAGE;
  if ((secret != NULL) + generate + clear != 1)
    return actr_cli_usage_error(help.command,
                                "give exactly one of --secret, --generate-secret, --clear");
  if (generate)
    secret = generated = actr_realm_secret_generate();
  if (secret != NULL && (hash = actr_realm_secret_hash(secret)) == NULL)
    return actr_cli_usage_error(help.command, "the secret must not be empty");
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  if (!actrd_db_realm_set_secret(db, id, hash, &error))
    return runtime_failure(error);
  print_secret(&o, id, clear ? "secret cleared" : "secret set", generated);
  return ACTR_EXIT_OK;
}

static int
cmd_realm_rotate_secret(int argc, char **argv)
{
  AdminOpts o = {0};
  const char *secret = NULL;
  guint grace = SECRET_GRACE_SECS;
  const ActrCliOption options[] = {
      ADMIN_OPTIONS(o),
      {"secret", 0, ACTR_CLI_OPT_STRING, &secret, "SECRET",
       "Use this new secret instead of generating one."},
      {"grace", 0, ACTR_CLI_OPT_UINT, &grace, "SECS",
       "How long the previous secret stays valid (default 14400, 4 hours)."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  const ActrCliHelp help = {
      "realm rotate-secret",
      "rotate a realm's secret with a grace period",
      "ID [--secret S] [--grace SECS] [--json]",
      "Makes a new secret current and prints it once.  The previous secret stays valid for the "
      "grace period (4 hours by default), so nodes can be reconfigured without downtime.",
      admin_exit_status,
      NULL};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *generated = NULL;
  g_autofree char *hash = NULL;
  g_autoptr(ActrdRealm) realm = NULL;
  guint32 id;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 1)) != 0)
    return parse_done(rc);
  if (pos->len != 1)
    return actr_cli_usage_error(help.command, "missing realm ID");
  if (!parse_realm_id(help.command, g_ptr_array_index(pos, 0), &id))
    return ACTR_EXIT_USAGE;
  if (secret == NULL)
    secret = generated = actr_realm_secret_generate();
  if ((hash = actr_realm_secret_hash(secret)) == NULL)
    return actr_cli_usage_error(help.command, "the secret must not be empty");
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  if (!actrd_db_realm_get(db, id, &realm, &error))
    return runtime_failure(error);
  if (!realm->has_secret) {
    actr_cli_error("realm %u has no secret to rotate (use 'actrd realm set-secret')", id);
    return ACTR_EXIT_FAILURE;
  }
  if (!actrd_db_realm_rotate_secret(db, id, hash, g_get_real_time() / G_USEC_PER_SEC, grace,
                                    &error))
    return runtime_failure(error);
  print_secret(&o, id, "secret rotated", generated);
  return ACTR_EXIT_OK;
}

static const ActrCliSubcommand realm_commands[] = {
    {"create", "ID [--name N] [--secret S | --generate-secret]", "create a realm",
     cmd_realm_create},
    {"list", "[--json]", "list realms", cmd_realm_list},
    {"set-secret", "ID (--secret S | --generate-secret | --clear)", "replace a realm secret",
     cmd_realm_set_secret},
    {"rotate-secret", "ID [--secret S] [--grace SECS]", "rotate a realm secret with a grace period",
     cmd_realm_rotate_secret},
    {NULL, NULL, NULL, NULL},
};

static int
cmd_realm(int argc, char **argv)
{
  return actr_cli_run_group("realm", "manage realms",
                            "Realms partition nodes.  Every subcommand accepts --data-dir DIR "
                            "and works while actrd runs.",
                            realm_commands, argc, argv);
}

/* ---- acl ------------------------------------------------------------------ */

static gboolean
parse_type_pattern(const char *command, const char *option, const char *text, char **out)
{
  g_auto(ActrType) type = {0};
  g_autoptr(GError) error = NULL;

  if (text == NULL) {
    actr_cli_usage_error(command, "missing %s M:N:V", option);
    return FALSE;
  }
  if (strcmp(text, "*") == 0) {
    *out = g_strdup("*");
    return TRUE;
  }
  if (!actr_type_parse(text, &type, &error)) {
    actr_cli_usage_error(command, "%s: %s", option, error->message);
    return FALSE;
  }
  *out = actr_type_to_string(&type);
  return TRUE;
}

static void
json_rule(ActrJsonWriter *json, const ActrdAclRule *r)
{
  actr_json_begin_object(json);
  actr_json_member_int(json, "id", r->id);
  actr_json_member_uint(json, "realm", r->realm_id);
  if (r->any_source)
    actr_json_member_null(json, "source_realm");
  else
    actr_json_member_uint(json, "source_realm", r->source_realm_id);
  actr_json_member_bool(json, "any_realm", r->any_source);
  actr_json_member_string(json, "from", r->from_type);
  actr_json_member_string(json, "to", r->to_type);
  actr_json_member_string(json, "access", r->allow ? "allow" : "deny");
  actr_json_end_object(json);
}

static int
cmd_acl_add(int argc, char **argv)
{
  AdminOpts o = {0};
  const char *realm = NULL, *from = NULL, *to = NULL, *source = NULL;
  gboolean any = FALSE, allow = FALSE, deny = FALSE;
  const ActrCliOption options[] = {
      ADMIN_OPTIONS(o),
      {"realm", 'r', ACTR_CLI_OPT_STRING, &realm, "R", "Realm of the target (the rule's owner)."},
      {"from", 0, ACTR_CLI_OPT_STRING, &from, "M:N:V",
       "Type of the actor that discovers or relays, or * for every type."},
      {"to", 0, ACTR_CLI_OPT_STRING, &to, "M:N:V", "Type of the target, or * for every type."},
      {"source-realm", 0, ACTR_CLI_OPT_STRING, &source, "R",
       "Realm of the source (default: the --realm)."},
      {"any-realm", 0, ACTR_CLI_OPT_FLAG, &any, NULL, "The rule matches sources of every realm."},
      {"allow", 0, ACTR_CLI_OPT_FLAG, &allow, NULL, "Allow."},
      {"deny", 0, ACTR_CLI_OPT_FLAG, &deny, NULL, "Deny."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  const ActrCliHelp help = {
      "acl add",
      "add an ACL rule",
      "--realm R --from M:N:V --to M:N:V [--source-realm R | --any-realm] (--allow | --deny) "
      "[--json]",
      "Adds a rule.  For each (source realm, target realm, from type, to type) the newest matching "
      "rule decides; with no matching rule access is denied.  Rules take effect at once in a "
      "running actrd.  A node's registration replaces the rules whose --to is its own type with "
      "the ACL it sends.",
      admin_exit_status,
      "  actrd acl add --realm 7 --from acme:cli:1 --to acme:echo:1.0.0 --allow\n"};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  ActrdAclRule rule = {0};
  g_autofree char *from_text = NULL, *to_text = NULL;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 0)) != 0)
    return parse_done(rc);
  if (realm == NULL)
    return actr_cli_usage_error(help.command, "missing --realm R");
  if (!parse_realm_id(help.command, realm, &rule.realm_id) ||
      !parse_type_pattern(help.command, "--from", from, &from_text) ||
      !parse_type_pattern(help.command, "--to", to, &to_text))
    return ACTR_EXIT_USAGE;
  if (allow == deny)
    return actr_cli_usage_error(help.command, "give exactly one of --allow and --deny");
  if (any && source != NULL)
    return actr_cli_usage_error(help.command, "--source-realm and --any-realm exclude each other");
  rule.any_source = any;
  rule.source_realm_id = rule.realm_id;
  if (source != NULL && !parse_realm_id(help.command, source, &rule.source_realm_id))
    return ACTR_EXIT_USAGE;
  rule.from_type = from_text;
  rule.to_type = to_text;
  rule.allow = allow;
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  if (!actrd_db_acl_add(db, &rule, &rule.id, &error))
    return runtime_failure(error);
  if (o.json) {
    g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

    json_rule(json, &rule);
    actr_json_writer_print(json);
  } else {
    printf("rule %" G_GINT64_FORMAT " added\n", rule.id);
  }
  return ACTR_EXIT_OK;
}

static int
cmd_acl_list(int argc, char **argv)
{
  AdminOpts o = {0};
  const char *realm = NULL;
  const ActrCliOption options[] = {
      ADMIN_OPTIONS(o),
      {"realm", 'r', ACTR_CLI_OPT_STRING, &realm, "R", "Only the rules of this realm."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  const ActrCliHelp help = {"acl list",
                            "list ACL rules",
                            "[--realm R] [--json]",
                            "Lists rules oldest first (later rules win).",
                            admin_exit_status,
                            NULL};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rules = NULL;
  guint32 realm_id = 0;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 0)) != 0)
    return parse_done(rc);
  if (realm != NULL && !parse_realm_id(help.command, realm, &realm_id))
    return ACTR_EXIT_USAGE;
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  rules = actrd_db_acl_list(db, realm_id, &error);
  if (rules == NULL)
    return runtime_failure(error);
  if (o.json) {
    g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

    actr_json_begin_array(json);
    for (guint i = 0; i < rules->len; i++)
      json_rule(json, g_ptr_array_index(rules, i));
    actr_json_end_array(json);
    actr_json_writer_print(json);
  } else {
    static const char *const headers[] = {">ID", ">REALM", "SOURCE", "FROM", "TO", "ACCESS", NULL};
    g_autoptr(ActrCliTable) table = actr_cli_table_new(headers);

    for (guint i = 0; i < rules->len; i++) {
      const ActrdAclRule *r = g_ptr_array_index(rules, i);

      actr_cli_table_addf(table, "%" G_GINT64_FORMAT, r->id);
      actr_cli_table_addf(table, "%u", r->realm_id);
      if (r->any_source)
        actr_cli_table_add(table, "any");
      else
        actr_cli_table_addf(table, "%u", r->source_realm_id);
      actr_cli_table_take(table, actr_cli_printable(r->from_type));
      actr_cli_table_take(table, actr_cli_printable(r->to_type));
      actr_cli_table_add(table, r->allow ? "allow" : "deny");
    }
    actr_cli_table_print(table, stdout);
  }
  return ACTR_EXIT_OK;
}

static int
cmd_acl_rm(int argc, char **argv)
{
  AdminOpts o = {0};
  const ActrCliOption options[] = {ADMIN_OPTIONS(o), {NULL, 0, 0, NULL, NULL, NULL}};
  const ActrCliHelp help = {"acl rm",          "remove an ACL rule",
                            "ID [--json]",     "Removes rule ID (see 'actrd acl list').",
                            admin_exit_status, NULL};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  gint64 id = 0;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 1)) != 0)
    return parse_done(rc);
  if (pos->len != 1)
    return actr_cli_usage_error(help.command, "missing rule ID");
  if (!actr_cli_parse_id(help.command, g_ptr_array_index(pos, 0), &id))
    return ACTR_EXIT_USAGE;
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  if (!actrd_db_acl_remove(db, id, &error))
    return runtime_failure(error);
  if (o.json) {
    g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

    actr_json_begin_object(json);
    actr_json_member_int(json, "id", id);
    actr_json_member_string(json, "result", "removed");
    actr_json_end_object(json);
    actr_json_writer_print(json);
  } else {
    printf("rule %" G_GINT64_FORMAT " removed\n", id);
  }
  return ACTR_EXIT_OK;
}

static const ActrCliSubcommand acl_commands[] = {
    {"add", "--realm R --from M:N:V --to M:N:V [--source-realm R | --any-realm] (--allow|--deny)",
     "add a rule", cmd_acl_add},
    {"list", "[--realm R] [--json]", "list rules", cmd_acl_list},
    {"rm", "ID", "remove a rule", cmd_acl_rm},
    {NULL, NULL, NULL, NULL},
};

static int
cmd_acl(int argc, char **argv)
{
  return actr_cli_run_group("acl", "manage discovery and relay ACL rules",
                            "Rules decide which actor types may discover, subscribe to and relay "
                            "to which others.  Default deny.",
                            acl_commands, argc, argv);
}

/* ---- key ------------------------------------------------------------------ */

static int
cmd_key_rotate(int argc, char **argv)
{
  AdminOpts o = {0};
  const ActrCliOption options[] = {ADMIN_OPTIONS(o), {NULL, 0, 0, NULL, NULL, NULL}};
  const ActrCliHelp help = {
      "key rotate",
      "rotate the AIS signing key now",
      "[--json]",
      "Creates a new Ed25519 signing key and makes it current; a running actrd switches at its "
      "next request.  Credentials signed by the previous key stay valid (the key keeps verifying "
      "for [ais] key_tolerance_secs).  The private key never leaves the data directory.",
      admin_exit_status,
      NULL};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdConfig) config = actrd_config_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  guint32 id = 0;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 0)) != 0)
    return parse_done(rc);
  if (o.config != NULL && !actrd_config_load_file(config, o.config, &error)) {
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_USAGE;
  }
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  if (!actrd_keys_rotate_offline(db, config->key_ttl_secs, &id, &error))
    return runtime_failure(error);
  if (o.json) {
    g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

    actr_json_begin_object(json);
    actr_json_member_uint(json, "new_key_id", id);
    actr_json_end_object(json);
    actr_json_writer_print(json);
  } else {
    printf("signing key %u is now current\n", id);
  }
  return ACTR_EXIT_OK;
}

static const ActrCliSubcommand key_commands[] = {
    {"rotate", "[--json]", "rotate the signing key now", cmd_key_rotate},
    {NULL, NULL, NULL, NULL},
};

static int
cmd_key(int argc, char **argv)
{
  return actr_cli_run_group("key", "manage the AIS signing key",
                            "The signing key signs node credentials.", key_commands, argc, argv);
}

/* ---- mfr ------------------------------------------------------------------ */

static int
cmd_mfr_add(int argc, char **argv)
{
  AdminOpts o = {0};
  const char *key_id = NULL, *public_key = NULL;
  const ActrCliOption options[] = {
      ADMIN_OPTIONS(o),
      {"key-id", 'k', ACTR_CLI_OPT_STRING, &key_id, "K",
       "Key id, as in the manifest's signing_key_id."},
      {"public-key", 'p', ACTR_CLI_OPT_STRING, &public_key, "BASE64",
       "Ed25519 public key: standard base64 of the 32 raw bytes."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  const ActrCliHelp help = {
      "mfr add",
      "trust a manufacturer signing key (actrd addition)",
      "NAME --key-id K --public-key BASE64 [--json]",
      "Adds a verifying key of manufacturer NAME.  PACKAGE registrations whose manifest names "
      "signing_key_id K and is signed by this key are accepted (wire.md §3.3 path 2).  "
      "Not in the reference server, which has an MFR service instead.",
      admin_exit_status,
      NULL};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *raw = NULL;
  const char *name;
  gsize len = 0;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 1)) != 0)
    return parse_done(rc);
  if (pos->len != 1)
    return actr_cli_usage_error(help.command, "missing manufacturer NAME");
  name = g_ptr_array_index(pos, 0);
  if (!actr_name_is_valid(name))
    return actr_cli_usage_error(help.command, "invalid manufacturer name");
  if (key_id == NULL || public_key == NULL)
    return actr_cli_usage_error(help.command, "--key-id and --public-key are required");
  raw = g_base64_decode(public_key, &len);
  if (len != 32)
    return actr_cli_usage_error(help.command, "--public-key must be base64 of 32 bytes");
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  if (!actrd_db_mfr_add(db, name, key_id, raw, &error))
    return runtime_failure(error);
  if (o.json) {
    g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

    actr_json_begin_object(json);
    actr_json_member_string(json, "manufacturer", name);
    actr_json_member_string(json, "key_id", key_id);
    actr_json_member_string(json, "result", "added");
    actr_json_end_object(json);
    actr_json_writer_print(json);
  } else {
    printf("key %s of %s added\n", key_id, name);
  }
  return ACTR_EXIT_OK;
}

static int
cmd_mfr_list(int argc, char **argv)
{
  AdminOpts o = {0};
  const ActrCliOption options[] = {ADMIN_OPTIONS(o), {NULL, 0, 0, NULL, NULL, NULL}};
  const ActrCliHelp help = {
      "mfr list",        "list manufacturer keys (actrd addition)",
      "[--json]",        "Lists every manufacturer key, revoked ones included.",
      admin_exit_status, NULL};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) keys = NULL;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 0)) != 0)
    return parse_done(rc);
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  keys = actrd_db_mfr_list(db, &error);
  if (keys == NULL)
    return runtime_failure(error);
  if (o.json) {
    g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

    actr_json_begin_array(json);
    for (guint i = 0; i < keys->len; i++) {
      const ActrdMfrKey *k = g_ptr_array_index(keys, i);
      g_autofree char *b64 = g_base64_encode(k->public_key, 32);

      actr_json_begin_object(json);
      actr_json_member_string(json, "manufacturer", k->manufacturer);
      actr_json_member_string(json, "key_id", k->key_id);
      actr_json_member_string(json, "public_key", b64);
      actr_json_member_bool(json, "revoked", k->revoked);
      actr_json_member_int(json, "created_at", k->created_at);
      actr_json_end_object(json);
    }
    actr_json_end_array(json);
    actr_json_writer_print(json);
  } else {
    static const char *const headers[] = {"MANUFACTURER", "KEY-ID", "STATE", "PUBLIC-KEY", NULL};
    g_autoptr(ActrCliTable) table = actr_cli_table_new(headers);

    for (guint i = 0; i < keys->len; i++) {
      const ActrdMfrKey *k = g_ptr_array_index(keys, i);

      actr_cli_table_take(table, actr_cli_printable(k->manufacturer));
      actr_cli_table_take(table, actr_cli_printable(k->key_id));
      actr_cli_table_add(table, k->revoked ? "revoked" : "active");
      actr_cli_table_take(table, g_base64_encode(k->public_key, 32));
    }
    actr_cli_table_print(table, stdout);
  }
  return ACTR_EXIT_OK;
}

static int
cmd_mfr_revoke(int argc, char **argv)
{
  AdminOpts o = {0};
  const ActrCliOption options[] = {ADMIN_OPTIONS(o), {NULL, 0, 0, NULL, NULL, NULL}};
  const ActrCliHelp help = {"mfr revoke",
                            "revoke a manufacturer key (actrd addition)",
                            "NAME KEY-ID [--json]",
                            "Revokes a key: manifests signed by it are rejected with 403 from "
                            "now on, and /mfr/NAME/verifying_key no longer serves it.",
                            admin_exit_status,
                            NULL};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 2)) != 0)
    return parse_done(rc);
  if (pos->len != 2)
    return actr_cli_usage_error(help.command, "expected NAME and KEY-ID");
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  if (!actrd_db_mfr_revoke(db, g_ptr_array_index(pos, 0), g_ptr_array_index(pos, 1), &error))
    return runtime_failure(error);
  if (o.json) {
    g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

    actr_json_begin_object(json);
    actr_json_member_string(json, "manufacturer", g_ptr_array_index(pos, 0));
    actr_json_member_string(json, "key_id", g_ptr_array_index(pos, 1));
    actr_json_member_string(json, "result", "revoked");
    actr_json_end_object(json);
    actr_json_writer_print(json);
  } else {
    printf("key %s of %s revoked\n", (char *)g_ptr_array_index(pos, 1),
           (char *)g_ptr_array_index(pos, 0));
  }
  return ACTR_EXIT_OK;
}

static int
cmd_mfr_publish(int argc, char **argv)
{
  AdminOpts o = {0};
  const char *manifest_path = NULL, *target = NULL;
  const ActrCliOption options[] = {
      ADMIN_OPTIONS(o),
      {"manifest", 'm', ACTR_CLI_OPT_STRING, &manifest_path, "FILE",
       "The package's exact manifest.toml; registrations that send a manifest must send these "
       "bytes."},
      {"target", 't', ACTR_CLI_OPT_STRING, &target, "TARGET",
       "Only for this binary target (default: any target)."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  const ActrCliHelp help = {
      "mfr publish",
      "mark a package as published (actrd addition)",
      "M:N:V [--manifest FILE] [--target TARGET] [--json]",
      "Records a published package: PACKAGE registrations of type M:N:V (and TARGET, when given) "
      "are accepted without a manufacturer signature (wire.md §3.3 path 1).",
      admin_exit_status,
      NULL};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) manifest = NULL;
  g_autofree char *type_text = NULL;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 1)) != 0)
    return parse_done(rc);
  if (pos->len != 1)
    return actr_cli_usage_error(help.command, "missing type M:N:V");
  if (!parse_type_pattern(help.command, "type", g_ptr_array_index(pos, 0), &type_text))
    return ACTR_EXIT_USAGE;
  if (strcmp(type_text, "*") == 0)
    return actr_cli_usage_error(help.command, "the type must not be *");
  if (manifest_path != NULL) {
    char *contents = NULL;
    gsize len = 0;

    if (!g_file_get_contents(manifest_path, &contents, &len, &error)) {
      actr_cli_error("%s", error->message);
      return ACTR_EXIT_FAILURE;
    }
    manifest = g_bytes_new_take(contents, len);
  }
  if ((rc = admin_open(help.command, o.config, o.data_dir, &db)) != 0)
    return rc;
  if (!actrd_db_package_publish(db, type_text, target, manifest, &error))
    return runtime_failure(error);
  if (o.json) {
    g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

    actr_json_begin_object(json);
    actr_json_member_string(json, "type", type_text);
    actr_json_member_string(json, "target", target);
    actr_json_member_string(json, "result", "published");
    actr_json_end_object(json);
    actr_json_writer_print(json);
  } else {
    printf("package %s published\n", type_text);
  }
  return ACTR_EXIT_OK;
}

static const ActrCliSubcommand mfr_commands[] = {
    {"add", "NAME --key-id K --public-key BASE64", "trust a manufacturer key", cmd_mfr_add},
    {"list", "[--json]", "list manufacturer keys", cmd_mfr_list},
    {"revoke", "NAME KEY-ID", "revoke a manufacturer key", cmd_mfr_revoke},
    {"publish", "M:N:V [--manifest FILE] [--target T]", "mark a package as published",
     cmd_mfr_publish},
    {NULL, NULL, NULL, NULL},
};

static int
cmd_mfr(int argc, char **argv)
{
  return actr_cli_run_group("mfr", "manage manufacturer keys for PACKAGE mode (actrd addition)",
                            "Manufacturer keys verify the signed manifests of PACKAGE "
                            "registrations.  Not part of the reference server's command line.",
                            mfr_commands, argc, argv);
}

/* ---- serve ---------------------------------------------------------------- */

static GMainLoop *serve_loop;
static volatile sig_atomic_t stopping;

static void
hard_exit(int signum)
{
  static const char msg[] = "actrd: exiting at once\n";

  if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
    /* nothing more we can do */
  }
  _exit(ACTR_EXIT_FAILURE);
}

static gboolean
on_signal(gpointer user_data)
{
  struct sigaction sa;

  if (stopping)
    return G_SOURCE_CONTINUE;
  stopping = 1;
  g_message("shutting down (signal %d; send it again to exit at once)", GPOINTER_TO_INT(user_data));
  /* From now on the loop no longer runs signal sources: a second signal, or
   * a shutdown that takes longer than the limit, exits at once. */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = hard_exit;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  alarm(SHUTDOWN_LIMIT_S);
  g_main_loop_quit(serve_loop);
  return G_SOURCE_CONTINUE;
}

static int
cmd_serve(int argc, char **argv)
{
  const char *config_path = NULL, *listen = NULL, *data_dir = NULL;
  gboolean dev = FALSE;
  const ActrCliOption options[] = {
      {"config", 'c', ACTR_CLI_OPT_STRING, &config_path, "FILE", CONFIG_HELP},
      {"listen", 'l', ACTR_CLI_OPT_STRING, &listen, "HOST:PORT",
       "Address to listen on (default 127.0.0.1:8081; port 0 picks a free port)."},
      {"data-dir", 'd', ACTR_CLI_OPT_STRING, &data_dir, "DIR",
       "Data directory (default ./actrd-data; created 0700 if missing)."},
      {"dev", 0, ACTR_CLI_OPT_FLAG, &dev, NULL,
       "INSECURE development mode: creates realm 1, allows every type to discover and relay to "
       "every type inside realm 1, and accepts LINKED registrations into realm 1 without a realm "
       "secret."},
      {NULL, 0, 0, NULL, NULL, NULL},
  };
  const ActrCliHelp help = {
      "serve",
      "run the identity service and signaling server",
      "[--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--dev]",
      "Serves AIS (/ais/...), manufacturer keys (/mfr/...), signaling (/signaling/ws), /healthz "
      "and /metrics on one HTTP port.  When ready it prints exactly one line on stdout, \"actrd "
      "listening on http://HOST:PORT\".  SIGINT or SIGTERM stops it gracefully within 5 seconds; "
      "a second signal exits at once.\n"
      "Command-line options override the configuration file.",
      "0  Stopped by SIGINT or SIGTERM.\n"
      "1  Runtime failure: cannot listen, cannot open the data directory or database.\n"
      "2  Usage or configuration error (the message names the file and line).",
      "  actrd serve --dev --listen 127.0.0.1:0\n"
      "  actrd serve --config /etc/actrd.toml\n"};
  g_autoptr(GPtrArray) pos = g_ptr_array_new();
  g_autoptr(ActrdConfig) config = actrd_config_new();
  g_autoptr(ActrdServer) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  guint sigint_id, sigterm_id;
  int rc;

  if ((rc = actr_cli_parse(&help, options, argc, argv, pos, 0)) != 0)
    return parse_done(rc);
  if (config_path != NULL && !actrd_config_load_file(config, config_path, &error)) {
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_USAGE;
  }
  if (listen != NULL && !actrd_config_set_listen(config, listen, &error))
    return actr_cli_usage_error(help.command, "--listen: %s", error->message);
  if (data_dir != NULL) {
    g_free(config->data_dir);
    config->data_dir = g_strdup(data_dir);
  }
  if (dev)
    config->dev = TRUE;
  if (config->dev)
    actr_cli_error("WARNING: --dev is INSECURE: realm 1 is open to every LINKED node without a "
                   "secret and every type may discover and relay to every type in it.  Never use "
                   "it outside development.");

  server = actrd_server_new(g_steal_pointer(&config), &error);
  if (server == NULL || !actrd_server_listen(server, &error)) {
    actr_cli_error("%s", error->message);
    return g_error_matches(error, ACTRD_ERROR, ACTRD_ERROR_CONFIG) ? ACTR_EXIT_USAGE
                                                                   : ACTR_EXIT_FAILURE;
  }
  host = strchr(server->config->listen_host, ':') != NULL
             ? g_strdup_printf("[%s]", server->config->listen_host)
             : g_strdup(server->config->listen_host);
  printf("actrd listening on http://%s:%u\n", host, server->bound_port);
  fflush(stdout);

  serve_loop = g_main_loop_new(NULL, FALSE);
  sigint_id = g_unix_signal_add(SIGINT, on_signal, GINT_TO_POINTER(SIGINT));
  sigterm_id = g_unix_signal_add(SIGTERM, on_signal, GINT_TO_POINTER(SIGTERM));
  g_main_loop_run(serve_loop);
  g_source_remove(sigint_id);
  g_source_remove(sigterm_id);
  g_clear_pointer(&server, actrd_server_free);
  /* Let closed connections run their pending callbacks and drop their last
   * references (bounded: the alarm set by on_signal() still applies). */
  for (int i = 0; i < 1000 && g_main_context_iteration(NULL, FALSE); i++)
    ;
  g_clear_pointer(&serve_loop, g_main_loop_unref);
  return ACTR_EXIT_OK;
}

/* ---- main ----------------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *synopsis;
  ActrCliRunFunc run;
} Command;

static const Command commands[] = {
    {"serve", "serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--dev]", cmd_serve},
    {"realm", "realm create|list|set-secret|rotate-secret ...", cmd_realm},
    {"acl", "acl add|list|rm ...", cmd_acl},
    {"key", "key rotate", cmd_key},
    {"mfr", "mfr add|list|revoke|publish ...  (actrd addition)", cmd_mfr},
    {NULL, NULL, NULL},
};

static void
print_main_help(FILE *out)
{
  guint width = actr_cli_text_width();

  fputs("NAME\n    actrd - actr identity service (AIS) and signaling server\n\nSYNOPSIS\n", out);
  for (const Command *c = commands; c->name != NULL; c++)
    fprintf(out, "    actrd %s\n", c->synopsis);
  fputs("    actrd --version\n\nDESCRIPTION\n", out);
  actr_cli_print_wrapped(
      out,
      "actrd registers actr nodes (issuing signed credentials and TURN credentials) and "
      "introduces them to each other over WebSocket signaling.  The admin commands work on the "
      "same data directory (--data-dir, default ./actrd-data), also while actrd serve runs.\n"
      "Every command accepts --help; results go to stdout, diagnostics to stderr; --json prints "
      "one JSON document.  See docs/actrd.md.",
      4, width);
  fputs("\nEXIT STATUS\n", out);
  actr_cli_print_wrapped(out,
                         "0  Success.\n"
                         "1  Runtime failure.\n"
                         "2  Usage or configuration error.",
                         4, width);
}

int
main(int argc, char **argv)
{
  const char *name;

  actr_cli_set_program_name("actrd");
  actr_cli_install_log_writer();
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    print_main_help(stderr);
    return ACTR_EXIT_USAGE;
  }
  name = argv[1];
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
    printf("actrd %s\n", ACTR_VERSION_STRING);
    return ACTR_EXIT_OK;
  }
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
    print_main_help(stdout);
    return ACTR_EXIT_OK;
  }
  if (strcmp(name, "-v") == 0 || strcmp(name, "-q") == 0) {
    actr_cli_adjust_verbosity(name[1] == 'v' ? 1 : -2);
    argv++;
    argc--;
    if (argc < 2)
      return actr_cli_usage_error(NULL, "missing command");
    name = argv[1];
  }
  for (const Command *c = commands; c->name != NULL; c++) {
    if (strcmp(c->name, name) == 0)
      return c->run(argc - 1, argv + 1);
  }
  return actr_cli_usage_error(NULL, "unknown command '%s'", name);
}
