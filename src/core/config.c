/* actr — node configuration (actr.toml).  See include/actr/config.h and
 * docs/config.md.
 *
 * The file is parsed by the TOML reader (toml.h) into a tree, then each
 * known section is read into ActrConfig with its own list of known keys.
 * Every error names the file, the line of the offending value, the section
 * and the key; values of secret keys (realm_secret, pubkey_b64) are never
 * quoted, and URLs are not quoted either since they may carry credentials.
 */
#include <actr/config.h>

#include "toml.h"

#include <arpa/inet.h>
#include <string.h>

/* Written out: clang-format would split a hyphenated G_DEFINE_QUARK name. */
GQuark
actr_config_error_quark(void)
{
  return g_quark_from_static_string("actr-config-error-quark");
}

#define DEFAULT_STORAGE_TEMPLATE  "{data_dir}/{actr_type}"
#define DEFAULT_ADVERTISED_HOST   "127.0.0.1"
#define DEFAULT_FILTER_LEVEL      "info"
#define DEFAULT_TRACING_ENDPOINT  "http://localhost:4317"
#define DEFAULT_TRACING_SERVICE   "actr"
#define DEFAULT_DELIVERY_ATTEMPTS 3
#define DEFAULT_DEDUP_TTL_SECS    600
#define DEFAULT_DEDUP_MAX_ENTRIES 100000
#define DEFAULT_BACKPRESSURE      1024
#define DEFAULT_ICE_HOST_WAIT_MS  0
#define DEFAULT_ICE_SRFLX_WAIT_MS 20
#define DEFAULT_ICE_PRFLX_WAIT_MS 40
#define DEFAULT_ICE_RELAY_WAIT_MS 100
#define STATIC_PUBKEY_LEN         32

/* One table of the file being read.  @table is NULL when the section is
 * absent; @line is its header line (1 when absent or for the root). */
typedef struct {
  const char *origin;
  const ActrTomlValue *table;
  const char *label; /* "[signaling]", "[[trust]]", or "" for the root */
  guint line;
  GError **error;
} Section;

/* ---- messages -------------------------------------------------------- */

static gboolean invalid(const Section *sec, guint line, const char *key, const char *format, ...)
    G_GNUC_PRINTF(4, 5);

/* Sets "ORIGIN:LINE: [section] key: message" (ACTR_CONFIG_ERROR_INVALID)
 * and returns FALSE.  @line 0 means the section's line.  @key is one of our
 * key names (possibly with an index), never text from the file. */
static gboolean
invalid(const Section *sec, guint line, const char *key, const char *format, ...)
{
  va_list ap;
  va_start(ap, format);
  g_autofree char *message = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_set_error(sec->error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_INVALID, "%s:%u: %s%s%s: %s",
              sec->origin, line ? line : sec->line, sec->label, sec->label[0] ? " " : "", key,
              message);
  return FALSE;
}

static const char *
a_type(ActrTomlType type)
{
  switch (type) {
  case ACTR_TOML_STRING:
    return "a string";
  case ACTR_TOML_INTEGER:
    return "an integer";
  case ACTR_TOML_FLOAT:
    return "a float";
  case ACTR_TOML_BOOLEAN:
    return "a boolean";
  case ACTR_TOML_ARRAY:
    return "an array";
  case ACTR_TOML_TABLE:
    return "a table";
  }
  return "a value";
}

/* Text of a non-secret value made safe for a message: control characters
 * become '?', and it is cut at 64 bytes (transfer full). */
static char *
shown_text(const char *text)
{
  GString *out = g_string_new(NULL);
  for (const char *s = text; *s; s = g_utf8_next_char(s)) {
    if (out->len >= 64) {
      g_string_append(out, "...");
      break;
    }
    if ((guchar)*s < 0x20 || *s == 0x7f)
      g_string_append_c(out, '?');
    else
      g_string_append_len(out, s, g_utf8_next_char(s) - s);
  }
  return g_string_free(out, FALSE);
}

static gboolean
in_list(const char *key, const char *const *list)
{
  for (; *list; list++)
    if (strcmp(key, *list) == 0)
      return TRUE;
  return FALSE;
}

/* Logs one warning per key of @sec not in @known. */
static void
warn_unknown(const Section *sec, const char *const *known)
{
  ActrTomlIter it;
  const char *key;
  const ActrTomlValue *value;
  actr_toml_iter_init(&it, sec->table);
  while (actr_toml_iter_next(&it, &key, &value)) {
    if (in_list(key, known))
      continue;
    g_autofree char *shown = actr_toml_key_display(key);
    if (sec->label[0] == '\0' && actr_toml_value_type(value) == ACTR_TOML_TABLE)
      g_warning("%s:%u: unknown section [%s] ignored", sec->origin, actr_toml_value_line(value),
                shown);
    else
      g_warning("%s:%u: %s%sunknown key %s ignored", sec->origin, actr_toml_value_line(value),
                sec->label, sec->label[0] ? " " : "", shown);
  }
}

/* ---- typed reads ----------------------------------------------------- */

/* Sets *@out to the value of @key, or NULL when absent.  FALSE (error set)
 * when present with another type than @type, or absent and @required. */
static gboolean
get_value(const Section *sec, const char *key, ActrTomlType type, gboolean required,
          const ActrTomlValue **out)
{
  const ActrTomlValue *value = actr_toml_table_lookup(sec->table, key);
  *out = NULL;
  if (value == NULL) {
    if (required)
      return invalid(sec, 0, key, "missing required key");
    return TRUE;
  }
  if (actr_toml_value_type(value) != type)
    return invalid(sec, actr_toml_value_line(value), key, "must be %s, not %s", a_type(type),
                   a_type(actr_toml_value_type(value)));
  *out = value;
  return TRUE;
}

/* Reads a string into *@dest (replacing it) when present.  Empty strings
 * are rejected unless @allow_empty. */
static gboolean
read_string(const Section *sec, const char *key, gboolean required, gboolean allow_empty,
            char **dest)
{
  const ActrTomlValue *value;
  if (!get_value(sec, key, ACTR_TOML_STRING, required, &value))
    return FALSE;
  if (value == NULL)
    return TRUE;
  const char *text = actr_toml_value_string(value);
  if (!allow_empty && text[0] == '\0')
    return invalid(sec, actr_toml_value_line(value), key, "must not be empty");
  g_free(*dest);
  *dest = g_strdup(text);
  return TRUE;
}

static gboolean
read_bool(const Section *sec, const char *key, gboolean *dest)
{
  const ActrTomlValue *value;
  if (!get_value(sec, key, ACTR_TOML_BOOLEAN, FALSE, &value))
    return FALSE;
  if (value != NULL)
    actr_toml_value_bool(value, dest);
  return TRUE;
}

/* Checks an integer value against [@min, @max]. */
static gboolean
check_range(const Section *sec, const char *key, const ActrTomlValue *value, gint64 min, gint64 max,
            gint64 *out)
{
  gint64 number = 0;
  actr_toml_value_int(value, &number);
  if (number < min || number > max)
    return invalid(sec, actr_toml_value_line(value), key,
                   "must be between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT, min, max);
  *out = number;
  return TRUE;
}

/* Reads an integer in [@min, @max] into *@dest when present. */
static gboolean
read_u32(const Section *sec, const char *key, gboolean required, gint64 min, gint64 max,
         guint32 *dest)
{
  const ActrTomlValue *value;
  gint64 number = 0;
  if (!get_value(sec, key, ACTR_TOML_INTEGER, required, &value))
    return FALSE;
  if (value == NULL)
    return TRUE;
  if (!check_range(sec, key, value, min, max, &number))
    return FALSE;
  *dest = (guint32)number;
  return TRUE;
}

/* Reads an array of non-empty strings into *@dest (NULL-terminated);
 * @check (nullable) validates each element and returns a complaint or NULL. */
static gboolean
read_string_list(const Section *sec, const char *key, const char *(*check)(const char *text),
                 char ***dest)
{
  const ActrTomlValue *array;
  if (!get_value(sec, key, ACTR_TOML_ARRAY, FALSE, &array))
    return FALSE;
  if (array == NULL)
    return TRUE;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
  for (guint i = 0; i < actr_toml_array_length(array); i++) {
    const ActrTomlValue *item = actr_toml_array_get(array, i);
    g_autofree char *item_key = g_strdup_printf("%s[%u]", key, i);
    const char *text = actr_toml_value_string(item);
    if (text == NULL)
      return invalid(sec, actr_toml_value_line(item), item_key, "must be a string, not %s",
                     a_type(actr_toml_value_type(item)));
    const char *complaint = text[0] == '\0' ? "must not be empty" : check ? check(text) : NULL;
    if (complaint != NULL)
      return invalid(sec, actr_toml_value_line(item), item_key, "%s", complaint);
    g_strv_builder_add(builder, text);
  }
  g_strfreev(*dest);
  *dest = g_strv_builder_end(builder);
  return TRUE;
}

/* Opens the sub-table @key of @parent as a section labelled @label.  A
 * missing table gives a section with table NULL at the parent's line. */
static gboolean
open_section(const Section *parent, const char *key, const char *label, Section *out)
{
  const ActrTomlValue *table;
  if (!get_value(parent, key, ACTR_TOML_TABLE, FALSE, &table))
    return FALSE;
  *out = (Section){
      .origin = parent->origin,
      .table = table,
      .label = label,
      .line = table ? actr_toml_value_line(table) : parent->line,
      .error = parent->error,
  };
  return TRUE;
}

/* A leading "~" or "~/" is replaced by the home directory (transfer full). */
static char *
expand_home(const char *path)
{
  if (strcmp(path, "~") == 0)
    return g_strdup(g_get_home_dir());
  if (g_str_has_prefix(path, "~/"))
    return g_build_filename(g_get_home_dir(), path + 2, NULL);
  return g_strdup(path);
}

/* Validates a URL with one of @schemes and a host.  The URL itself is never
 * quoted: it may embed credentials. */
static gboolean
check_url(const Section *sec, const char *key, const ActrTomlValue *value,
          const char *const *schemes, const char *expected)
{
  const char *text = actr_toml_value_string(value);
  g_autoptr(GUri) uri = g_uri_parse(text, G_URI_FLAGS_NONE, NULL);
  gboolean ok = uri != NULL;
  if (ok) {
    ok = FALSE;
    for (const char *const *s = schemes; *s && !ok; s++)
      ok = g_ascii_strcasecmp(g_uri_get_scheme(uri), *s) == 0;
  }
  if (ok)
    ok = g_uri_get_host(uri) != NULL && g_uri_get_host(uri)[0] != '\0';
  if (!ok)
    return invalid(sec, actr_toml_value_line(value), key, "not a valid %s URL", expected);
  return TRUE;
}

static gboolean
read_url(const Section *sec, const char *key, gboolean required, const char *const *schemes,
         const char *expected, char **dest)
{
  const ActrTomlValue *value;
  if (!get_value(sec, key, ACTR_TOML_STRING, required, &value))
    return FALSE;
  if (value == NULL)
    return TRUE;
  if (!check_url(sec, key, value, schemes, expected))
    return FALSE;
  g_free(*dest);
  *dest = g_strdup(actr_toml_value_string(value));
  return TRUE;
}

static const char *const ws_schemes[] = {"ws", "wss", NULL};
static const char *const http_schemes[] = {"http", "https", NULL};

/* ---- storage path templates ------------------------------------------ */

static const char *const template_variables[] = {
    "data_dir",  "hostname", "manufacturer", "actr_name", "version",
    "actr_type", "realm_id", "instance_id",  NULL,
};

/* TRUE when @text can be one path component. */
static gboolean
is_path_component(const char *text)
{
  return text != NULL && text[0] != '\0' && strchr(text, '/') == NULL && strcmp(text, ".") != 0 &&
         strcmp(text, "..") != 0;
}

/* Expands @tmpl into @out.  With @type NULL only the syntax and the
 * variable names are checked (nothing is resolved).  Errors are reported
 * through @sec with key storage_path_template. */
static gboolean
expand_template(const Section *sec, const char *tmpl, const ActrConfig *config,
                const ActrType *type, GString *out)
{
  const char *key = "storage_path_template";
  const char *s = tmpl;
  while (*s) {
    if (*s != '{') {
      g_string_append_c(out, *s++);
      continue;
    }
    const char *close = strchr(s, '}');
    if (close == NULL)
      return invalid(sec, 0, key, "unterminated '{'");
    g_autofree char *name = g_strndup(s + 1, close - s - 1);
    g_autofree char *shown = shown_text(name);
    s = close + 1;
    gboolean is_env = g_str_has_prefix(name, "env.");
    if (is_env ? name[4] == '\0' || strchr(name + 4, '=') != NULL
               : !in_list(name, template_variables))
      return invalid(sec, 0, key, "unknown variable {%s}", shown);
    if (type == NULL)
      continue;

    g_autofree char *owned = NULL;
    const char *value = NULL;
    if (is_env) {
      value = g_getenv(name + 4);
      if (value == NULL)
        return invalid(sec, 0, key, "unresolved variable {%s}: not set in the environment", shown);
    } else if (strcmp(name, "data_dir") == 0) {
      value = config->hyper.data_dir;
    } else if (strcmp(name, "hostname") == 0) {
      value = g_get_host_name();
    } else if (strcmp(name, "instance_id") == 0) {
      value = config->hyper.instance_id ? config->hyper.instance_id : "";
    } else if (strcmp(name, "realm_id") == 0) {
      value = owned = g_strdup_printf("%" G_GUINT32_FORMAT, config->realm_id);
    } else {
      if (!is_path_component(type->manufacturer) || !is_path_component(type->name) ||
          !is_path_component(type->version))
        return invalid(sec, 0, key, "{%s}: the actor type is not usable in a path", shown);
      if (strcmp(name, "manufacturer") == 0)
        value = type->manufacturer;
      else if (strcmp(name, "actr_name") == 0)
        value = type->name;
      else if (strcmp(name, "version") == 0)
        value = type->version;
      else
        value = owned = g_strdup_printf("%s/%s/%s", type->manufacturer, type->name, type->version);
    }
    if (value == NULL)
      return invalid(sec, 0, key, "unresolved variable {%s}", shown);
    g_string_append(out, value);
  }
  return TRUE;
}

/* ---- sections -------------------------------------------------------- */

static gboolean
load_package(const Section *root, ActrConfig *config)
{
  static const char *const known[] = {"name", "actr_type", "path", NULL};
  Section sec;
  if (!open_section(root, "package", "[package]", &sec))
    return FALSE;
  warn_unknown(&sec, known);
  if (!read_string(&sec, "name", FALSE, FALSE, &config->package.name) ||
      !read_string(&sec, "path", FALSE, FALSE, &config->package.path))
    return FALSE;
  const ActrTomlValue *value;
  if (!get_value(&sec, "actr_type", ACTR_TOML_STRING, FALSE, &value))
    return FALSE;
  if (value != NULL) {
    g_autoptr(GError) type_error = NULL;
    ActrType type = {0};
    if (!actr_type_parse(actr_toml_value_string(value), &type, &type_error)) {
      actr_type_clear(&type);
      return invalid(&sec, actr_toml_value_line(value), "actr_type", "%s", type_error->message);
    }
    config->package.actr_type = type;
    config->package.has_actr_type = TRUE;
  }
  return TRUE;
}

static gboolean
load_endpoints(const Section *root, ActrConfig *config)
{
  static const char *const known_url[] = {"url", NULL};
  static const char *const known_deployment[] = {"realm_id", "realm_secret", "ais_endpoint", NULL};
  static const char *const known_discovery[] = {"visible", NULL};
  Section sec;

  if (!open_section(root, "signaling", "[signaling]", &sec))
    return FALSE;
  warn_unknown(&sec, known_url);
  if (!read_url(&sec, "url", TRUE, ws_schemes, "ws:// or wss://", &config->signaling_url))
    return FALSE;

  if (!open_section(root, "ais_endpoint", "[ais_endpoint]", &sec))
    return FALSE;
  warn_unknown(&sec, known_url);
  if (!read_url(&sec, "url", TRUE, http_schemes, "http:// or https://", &config->ais_endpoint))
    return FALSE;

  if (!open_section(root, "deployment", "[deployment]", &sec))
    return FALSE;
  warn_unknown(&sec, known_deployment);
  const ActrTomlValue *unused;
  if (!read_u32(&sec, "realm_id", TRUE, 0, G_MAXUINT32, &config->realm_id) ||
      !read_string(&sec, "realm_secret", FALSE, TRUE, &config->realm_secret) ||
      !get_value(&sec, "ais_endpoint", ACTR_TOML_STRING, FALSE, &unused))
    return FALSE;

  if (!open_section(root, "discovery", "[discovery]", &sec))
    return FALSE;
  warn_unknown(&sec, known_discovery);
  return read_bool(&sec, "visible", &config->visible_in_discovery);
}

/* Reads one ACL rule (element @index of [acl] rules). */
static gboolean
load_acl_rule(const Section *sec, const ActrTomlValue *item, guint index, ActrConfig *config,
              ActrAclRule *rule)
{
  static const char *const known[] = {"permission", "type", "realm", NULL};
  g_autofree char *label = g_strdup_printf("%s rules[%u]", sec->label, index);
  g_autofree char *prefix = g_strdup_printf("rules[%u]", index);
  g_autofree char *permission_key = g_strdup_printf("rules[%u].permission", index);
  g_autofree char *type_key = g_strdup_printf("rules[%u].type", index);
  g_autofree char *realm_key = g_strdup_printf("rules[%u].realm", index);
  const guint line = actr_toml_value_line(item);
  if (actr_toml_value_type(item) != ACTR_TOML_TABLE)
    return invalid(sec, line, prefix, "must be a table, not %s",
                   a_type(actr_toml_value_type(item)));
  /* For the unknown-key warnings only. */
  Section rule_sec = *sec;
  rule_sec.table = item;
  rule_sec.label = label;
  warn_unknown(&rule_sec, known);
  rule->line = line;

  const ActrTomlValue *value = actr_toml_table_lookup(item, "permission");
  const char *text = actr_toml_value_string(value);
  if (value == NULL)
    return invalid(sec, line, permission_key, "missing required key");
  if (text == NULL)
    return invalid(sec, actr_toml_value_line(value), permission_key, "must be a string, not %s",
                   a_type(actr_toml_value_type(value)));
  if (g_ascii_strcasecmp(text, "allow") == 0) {
    rule->permission = ACTR_ACL_ALLOW;
  } else if (g_ascii_strcasecmp(text, "deny") == 0) {
    rule->permission = ACTR_ACL_DENY;
  } else {
    g_autofree char *shown = shown_text(text);
    return invalid(sec, actr_toml_value_line(value), permission_key,
                   "must be \"ALLOW\" or \"DENY\", not \"%s\"", shown);
  }

  value = actr_toml_table_lookup(item, "type");
  text = actr_toml_value_string(value);
  if (value == NULL)
    return invalid(sec, line, type_key, "missing required key");
  if (text == NULL)
    return invalid(sec, actr_toml_value_line(value), type_key, "must be a string, not %s",
                   a_type(actr_toml_value_type(value)));
  g_autoptr(GError) type_error = NULL;
  if (!actr_type_parse(text, &rule->type, &type_error))
    return invalid(sec, actr_toml_value_line(value), type_key, "%s", type_error->message);

  value = actr_toml_table_lookup(item, "realm");
  text = actr_toml_value_string(value);
  gint64 number = 0;
  if (value == NULL || g_strcmp0(text, "self") == 0) {
    rule->realm = ACTR_ACL_REALM_SELF;
    rule->realm_id = config->realm_id;
  } else if (g_strcmp0(text, "*") == 0) {
    rule->realm = ACTR_ACL_REALM_ANY;
    rule->realm_id = 0;
  } else if (actr_toml_value_type(value) == ACTR_TOML_INTEGER) {
    if (!check_range(sec, realm_key, value, 0, G_MAXUINT32, &number))
      return FALSE;
    rule->realm = ACTR_ACL_REALM_ID;
    rule->realm_id = (guint32)number;
  } else {
    return invalid(sec, actr_toml_value_line(value), realm_key,
                   "must be \"self\", \"*\" or a realm id (integer)");
  }
  return TRUE;
}

static gboolean
load_acl(const Section *root, ActrConfig *config)
{
  static const char *const known[] = {"rules", NULL};
  Section sec;
  if (!open_section(root, "acl", "[acl]", &sec))
    return FALSE;
  if (sec.table == NULL)
    return TRUE;
  config->acl_present = TRUE;
  warn_unknown(&sec, known);
  const ActrTomlValue *rules;
  if (!get_value(&sec, "rules", ACTR_TOML_ARRAY, FALSE, &rules))
    return FALSE;
  guint n = actr_toml_array_length(rules);
  config->acl_rules = g_new0(ActrAclRule, n);
  for (guint i = 0; i < n; i++) {
    /* Count the rule first so that actr_config_free() clears a partly
     * filled one. */
    config->n_acl_rules = i + 1;
    if (!load_acl_rule(&sec, actr_toml_array_get(rules, i), i, config, &config->acl_rules[i]))
      return FALSE;
  }
  return TRUE;
}

static gboolean
load_storage(const Section *root, ActrConfig *config)
{
  static const char *const known[] = {"mailbox_path",          "durability",
                                      "max_delivery_attempts", "dedup_ttl_secs",
                                      "dedup_max_entries",     NULL};
  Section sec;
  if (!open_section(root, "storage", "[storage]", &sec))
    return FALSE;
  warn_unknown(&sec, known);

  g_autofree char *mailbox = NULL;
  if (!read_string(&sec, "mailbox_path", FALSE, FALSE, &mailbox))
    return FALSE;
  if (mailbox != NULL) {
    g_free(config->storage.mailbox_path);
    config->storage.mailbox_path = expand_home(mailbox);
  }

  const ActrTomlValue *value;
  if (!get_value(&sec, "durability", ACTR_TOML_STRING, FALSE, &value))
    return FALSE;
  if (value != NULL) {
    const char *text = actr_toml_value_string(value);
    if (strcmp(text, "normal") == 0) {
      config->storage.durability = ACTR_DURABILITY_NORMAL;
    } else if (strcmp(text, "full") == 0) {
      config->storage.durability = ACTR_DURABILITY_FULL;
    } else {
      g_autofree char *shown = shown_text(text);
      return invalid(&sec, actr_toml_value_line(value), "durability",
                     "must be \"normal\" or \"full\", not \"%s\"", shown);
    }
  }
  return read_u32(&sec, "max_delivery_attempts", FALSE, 1, G_MAXUINT32,
                  &config->storage.max_delivery_attempts) &&
         read_u32(&sec, "dedup_ttl_secs", FALSE, 1, G_MAXUINT32, &config->storage.dedup_ttl_secs) &&
         read_u32(&sec, "dedup_max_entries", FALSE, 1, G_MAXUINT32,
                  &config->storage.dedup_max_entries);
}

static const char *
check_stun(const char *text)
{
  return g_str_has_prefix(text, "stun:") || g_str_has_prefix(text, "stuns:")
             ? NULL
             : "must start with \"stun:\" or \"stuns:\"";
}

static const char *
check_turn(const char *text)
{
  return g_str_has_prefix(text, "turn:") || g_str_has_prefix(text, "turns:")
             ? NULL
             : "must start with \"turn:\" or \"turns:\"";
}

static const char *
check_ip(const char *text)
{
  return g_hostname_is_ip_address(text) ? NULL : "must be an IPv4 or IPv6 address";
}

static const char *
check_ipv4(const char *text)
{
  struct in_addr addr;
  return inet_pton(AF_INET, text, &addr) == 1 ? NULL : "must be an IPv4 address";
}

static gboolean
load_webrtc(const Section *root, ActrConfig *config)
{
  static const char *const known[] = {"stun_urls",
                                      "turn_urls",
                                      "force_relay",
                                      "port_range_start",
                                      "port_range_end",
                                      "public_ips",
                                      "ice_host_acceptance_min_wait",
                                      "ice_srflx_acceptance_min_wait",
                                      "ice_prflx_acceptance_min_wait",
                                      "ice_relay_acceptance_min_wait",
                                      "enabled",
                                      "host_addresses",
                                      NULL};
  Section sec;
  if (!open_section(root, "webrtc", "[webrtc]", &sec))
    return FALSE;
  warn_unknown(&sec, known);
  if (!read_string_list(&sec, "stun_urls", check_stun, &config->webrtc.stun_urls) ||
      !read_string_list(&sec, "turn_urls", check_turn, &config->webrtc.turn_urls) ||
      !read_string_list(&sec, "public_ips", check_ip, &config->webrtc.public_ips) ||
      !read_string_list(&sec, "host_addresses", check_ipv4, &config->webrtc.host_addresses) ||
      !read_bool(&sec, "force_relay", &config->webrtc.force_relay) ||
      !read_bool(&sec, "enabled", &config->webrtc.enabled) ||
      !read_u32(&sec, "ice_host_acceptance_min_wait", FALSE, 0, G_MAXUINT32,
                &config->webrtc.ice_host_acceptance_min_wait_ms) ||
      !read_u32(&sec, "ice_srflx_acceptance_min_wait", FALSE, 0, G_MAXUINT32,
                &config->webrtc.ice_srflx_acceptance_min_wait_ms) ||
      !read_u32(&sec, "ice_prflx_acceptance_min_wait", FALSE, 0, G_MAXUINT32,
                &config->webrtc.ice_prflx_acceptance_min_wait_ms) ||
      !read_u32(&sec, "ice_relay_acceptance_min_wait", FALSE, 0, G_MAXUINT32,
                &config->webrtc.ice_relay_acceptance_min_wait_ms))
    return FALSE;

  const ActrTomlValue *start, *end;
  gint64 first = 0, last = 0;
  if (!get_value(&sec, "port_range_start", ACTR_TOML_INTEGER, FALSE, &start) ||
      !get_value(&sec, "port_range_end", ACTR_TOML_INTEGER, FALSE, &end))
    return FALSE;
  if (start == NULL && end == NULL)
    return TRUE;
  if (start == NULL)
    return invalid(&sec, actr_toml_value_line(end), "port_range_start",
                   "missing (port_range_end is set)");
  if (end == NULL)
    return invalid(&sec, actr_toml_value_line(start), "port_range_end",
                   "missing (port_range_start is set)");
  if (!check_range(&sec, "port_range_start", start, 1, 65535, &first) ||
      !check_range(&sec, "port_range_end", end, 1, 65535, &last))
    return FALSE;
  if (first >= last)
    return invalid(&sec, actr_toml_value_line(end), "port_range_end",
                   "must be greater than port_range_start (%" G_GINT64_FORMAT ")", first);
  config->webrtc.has_port_range = TRUE;
  config->webrtc.port_range_start = (guint16)first;
  config->webrtc.port_range_end = (guint16)last;
  return TRUE;
}

static gboolean
load_websocket(const Section *root, ActrConfig *config)
{
  static const char *const known[] = {"listen_port", "advertised_host", NULL};
  Section sec;
  if (!open_section(root, "websocket", "[websocket]", &sec))
    return FALSE;
  warn_unknown(&sec, known);
  const ActrTomlValue *value;
  gint64 port = 0;
  if (!get_value(&sec, "listen_port", ACTR_TOML_INTEGER, FALSE, &value))
    return FALSE;
  if (value != NULL) {
    if (!check_range(&sec, "listen_port", value, 0, 65535, &port))
      return FALSE;
    config->websocket.enabled = TRUE;
    config->websocket.listen_port = (guint16)port;
  }
  return read_string(&sec, "advertised_host", FALSE, FALSE, &config->websocket.advertised_host);
}

static gboolean
load_observability(const Section *root, ActrConfig *config)
{
  static const char *const known[] = {"filter_level", "tracing_enabled", "tracing_endpoint",
                                      "tracing_service_name", NULL};
  Section sec;
  if (!open_section(root, "observability", "[observability]", &sec))
    return FALSE;
  warn_unknown(&sec, known);
  if (!read_string(&sec, "filter_level", FALSE, FALSE, &config->observability.filter_level) ||
      !read_bool(&sec, "tracing_enabled", &config->observability.tracing_enabled) ||
      !read_string(&sec, "tracing_endpoint", FALSE, FALSE,
                   &config->observability.tracing_endpoint) ||
      !read_string(&sec, "tracing_service_name", FALSE, FALSE,
                   &config->observability.tracing_service_name))
    return FALSE;
  if (config->observability.tracing_service_name == NULL)
    config->observability.tracing_service_name =
        g_strdup(config->package.name ? config->package.name : DEFAULT_TRACING_SERVICE);
  return TRUE;
}

/* TRUE when @text is canonical padded base64 of exactly @size bytes. */
static gboolean
is_base64_of_size(const char *text, gsize size)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  gsize len = strlen(text);
  gsize padding = size % 3 == 0 ? 0 : 3 - size % 3;
  if (len != (size + 2) / 3 * 4)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    gboolean pad_position = i >= len - padding;
    if (pad_position ? text[i] != '=' : (text[i] == '\0' || !strchr(alphabet, text[i])))
      return FALSE;
  }
  return TRUE;
}

/* Reads one trust anchor from @sec ([hyper.trust] or a [[trust]] entry). */
static gboolean
load_trust_anchor(const Section *sec, gboolean allow_dev_only, ActrTrustAnchor *anchor)
{
  static const char *const known[] = {"kind", "pubkey_file", "pubkey_b64", "endpoint", NULL};
  warn_unknown(sec, known);
  anchor->line = sec->line;

  const ActrTomlValue *kind;
  if (!get_value(sec, "kind", ACTR_TOML_STRING, TRUE, &kind))
    return FALSE;
  const char *text = actr_toml_value_string(kind);
  if (allow_dev_only && strcmp(text, "dev_only") == 0) {
    anchor->kind = ACTR_TRUST_DEV_ONLY;
  } else if (strcmp(text, "static") == 0) {
    anchor->kind = ACTR_TRUST_STATIC;
  } else if (strcmp(text, "registry") == 0) {
    anchor->kind = ACTR_TRUST_REGISTRY;
  } else {
    g_autofree char *shown = shown_text(text);
    return invalid(sec, actr_toml_value_line(kind), "kind", "must be %s, not \"%s\"",
                   allow_dev_only ? "\"dev_only\", \"static\" or \"registry\""
                                  : "\"static\" or \"registry\"",
                   shown);
  }

  if (!read_string(sec, "pubkey_file", FALSE, FALSE, &anchor->pubkey_file) ||
      !read_string(sec, "pubkey_b64", FALSE, FALSE, &anchor->pubkey_b64))
    return FALSE;
  const ActrTomlValue *endpoint;
  if (!get_value(sec, "endpoint", ACTR_TOML_STRING, FALSE, &endpoint))
    return FALSE;

  const char *const kind_keys[] = {"pubkey_file", "pubkey_b64", "endpoint", NULL};
  for (const char *const *k = kind_keys; *k; k++) {
    const ActrTomlValue *value = actr_toml_table_lookup(sec->table, *k);
    gboolean applies = anchor->kind == ACTR_TRUST_STATIC     ? strcmp(*k, "endpoint") != 0
                       : anchor->kind == ACTR_TRUST_REGISTRY ? strcmp(*k, "endpoint") == 0
                                                             : FALSE;
    if (value != NULL && !applies)
      g_warning("%s:%u: %s %s is ignored for kind \"%s\"", sec->origin, actr_toml_value_line(value),
                sec->label, *k, text);
  }

  switch (anchor->kind) {
  case ACTR_TRUST_DEV_ONLY:
    g_clear_pointer(&anchor->pubkey_file, g_free);
    g_clear_pointer(&anchor->pubkey_b64, g_free);
    break;
  case ACTR_TRUST_STATIC:
    if ((anchor->pubkey_file == NULL) == (anchor->pubkey_b64 == NULL))
      return invalid(sec, 0, "pubkey_file",
                     "kind \"static\" needs exactly one of pubkey_file or pubkey_b64");
    if (anchor->pubkey_b64 != NULL && !is_base64_of_size(anchor->pubkey_b64, STATIC_PUBKEY_LEN))
      return invalid(sec, actr_toml_value_line(actr_toml_table_lookup(sec->table, "pubkey_b64")),
                     "pubkey_b64", "must be the base64 encoding of a %d-byte key",
                     STATIC_PUBKEY_LEN);
    break;
  case ACTR_TRUST_REGISTRY:
    g_clear_pointer(&anchor->pubkey_file, g_free);
    g_clear_pointer(&anchor->pubkey_b64, g_free);
    if (endpoint == NULL)
      return invalid(sec, 0, "endpoint", "missing (required for kind \"registry\")");
    if (!check_url(sec, "endpoint", endpoint, http_schemes, "http:// or https://"))
      return FALSE;
    anchor->endpoint = g_strdup(actr_toml_value_string(endpoint));
    break;
  }
  return TRUE;
}

static gboolean
load_hyper(const Section *root, ActrConfig *config)
{
  static const char *const known[] = {"data_dir", "storage_path_template",
                                      "mailbox_backpressure_threshold", "trust", NULL};
  Section sec;
  if (!open_section(root, "hyper", "[hyper]", &sec))
    return FALSE;
  warn_unknown(&sec, known);

  g_autofree char *data_dir = NULL;
  if (!read_string(&sec, "data_dir", FALSE, FALSE, &data_dir) ||
      !read_string(&sec, "storage_path_template", FALSE, FALSE,
                   &config->hyper.storage_path_template) ||
      !read_u32(&sec, "mailbox_backpressure_threshold", FALSE, 1, G_MAXUINT32,
                &config->hyper.mailbox_backpressure_threshold))
    return FALSE;
  if (data_dir != NULL) {
    g_free(config->hyper.data_dir);
    config->hyper.data_dir = expand_home(data_dir);
  }
  const ActrTomlValue *tmpl = actr_toml_table_lookup(sec.table, "storage_path_template");
  config->hyper.storage_path_template_line = tmpl ? actr_toml_value_line(tmpl) : sec.line;
  Section tsec = sec;
  tsec.line = config->hyper.storage_path_template_line;
  g_autoptr(GString) unused = g_string_new(NULL);
  if (!expand_template(&tsec, config->hyper.storage_path_template, config, NULL, unused))
    return FALSE;

  Section trust;
  if (!open_section(&sec, "trust", "[hyper.trust]", &trust))
    return FALSE;
  if (trust.table != NULL) {
    config->trust_source = ACTR_TRUST_SOURCE_HYPER;
    config->trust = g_new0(ActrTrustAnchor, 1);
    config->n_trust = 1;
    if (!load_trust_anchor(&trust, TRUE, &config->trust[0]))
      return FALSE;
  }
  return TRUE;
}

/* [[trust]] entries; used only when [hyper.trust] is absent. */
static gboolean
load_trust_array(const Section *root, ActrConfig *config)
{
  const ActrTomlValue *array;
  if (!get_value(root, "trust", ACTR_TOML_ARRAY, FALSE, &array))
    return FALSE;
  guint n = actr_toml_array_length(array);
  if (n == 0)
    return TRUE;
  ActrTrustAnchor *anchors = g_new0(ActrTrustAnchor, n);
  gboolean use = config->trust_source != ACTR_TRUST_SOURCE_HYPER;
  gboolean ok = TRUE;
  guint i;
  for (i = 0; i < n && ok; i++) {
    const ActrTomlValue *item = actr_toml_array_get(array, i);
    if (actr_toml_value_type(item) != ACTR_TOML_TABLE) {
      g_autofree char *key = g_strdup_printf("trust[%u]", i);
      ok = invalid(root, actr_toml_value_line(item), key, "must be a table, not %s",
                   a_type(actr_toml_value_type(item)));
      break;
    }
    Section sec = *root;
    sec.table = item;
    sec.label = "[[trust]]";
    sec.line = actr_toml_value_line(item);
    ok = load_trust_anchor(&sec, FALSE, &anchors[i]);
  }
  if (ok && use) {
    config->trust_source = ACTR_TRUST_SOURCE_ARRAY;
    config->trust = anchors;
    config->n_trust = n;
    return TRUE;
  }
  if (ok)
    g_message("%s:%u: [[trust]] entries ignored: [hyper.trust] takes precedence", root->origin,
              actr_toml_value_line(array));
  for (guint k = 0; k < n; k++) {
    g_free(anchors[k].pubkey_file);
    g_free(anchors[k].pubkey_b64);
    g_free(anchors[k].endpoint);
  }
  g_free(anchors);
  return ok;
}

static void
load_scripts(const Section *root, ActrConfig *config)
{
  ActrTomlIter it;
  const char *key;
  const ActrTomlValue *value;
  actr_toml_iter_init(&it, actr_toml_table_get_table(root->table, "scripts"));
  while (actr_toml_iter_next(&it, &key, &value)) {
    const char *text = actr_toml_value_string(value);
    if (text != NULL)
      g_hash_table_replace(config->scripts, g_strdup(key), g_strdup(text));
  }
}

static ActrConfig *
config_new(const char *origin)
{
  ActrConfig *config = g_new0(ActrConfig, 1);
  config->edition = 1;
  config->origin = g_strdup(origin);
  config->visible_in_discovery = TRUE;
  config->storage.durability = ACTR_DURABILITY_NORMAL;
  config->storage.max_delivery_attempts = DEFAULT_DELIVERY_ATTEMPTS;
  config->storage.dedup_ttl_secs = DEFAULT_DEDUP_TTL_SECS;
  config->storage.dedup_max_entries = DEFAULT_DEDUP_MAX_ENTRIES;
  config->webrtc.stun_urls = g_new0(char *, 1);
  config->webrtc.turn_urls = g_new0(char *, 1);
  config->webrtc.public_ips = g_new0(char *, 1);
  config->webrtc.host_addresses = g_new0(char *, 1);
  config->webrtc.enabled = TRUE;
  config->webrtc.ice_host_acceptance_min_wait_ms = DEFAULT_ICE_HOST_WAIT_MS;
  config->webrtc.ice_srflx_acceptance_min_wait_ms = DEFAULT_ICE_SRFLX_WAIT_MS;
  config->webrtc.ice_prflx_acceptance_min_wait_ms = DEFAULT_ICE_PRFLX_WAIT_MS;
  config->webrtc.ice_relay_acceptance_min_wait_ms = DEFAULT_ICE_RELAY_WAIT_MS;
  config->websocket.advertised_host = g_strdup(DEFAULT_ADVERTISED_HOST);
  config->observability.filter_level = g_strdup(DEFAULT_FILTER_LEVEL);
  config->observability.tracing_endpoint = g_strdup(DEFAULT_TRACING_ENDPOINT);
  config->trust_source = ACTR_TRUST_SOURCE_DEFAULT;
  config->hyper.data_dir = g_build_filename(g_get_home_dir(), ".actr", "hyper", NULL);
  config->hyper.storage_path_template = g_strdup(DEFAULT_STORAGE_TEMPLATE);
  config->hyper.storage_path_template_line = 1;
  config->hyper.mailbox_backpressure_threshold = DEFAULT_BACKPRESSURE;
  config->scripts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return config;
}

/* Fills @config from the parsed file @root. */
static gboolean
config_read(ActrConfig *config, const ActrTomlValue *root, GError **error)
{
  static const char *const known[] = {
      "edition",      "package", "signaling", "ais_endpoint",  "deployment", "discovery", "acl",
      "storage",      "webrtc",  "websocket", "observability", "trust",      "hyper",     "scripts",
      "capabilities", "web",     NULL};
  const Section sec = {
      .origin = config->origin,
      .table = root,
      .label = "",
      .line = 1,
      .error = error,
  };
  warn_unknown(&sec, known);

  const ActrTomlValue *edition;
  gint64 number = 0;
  if (!get_value(&sec, "edition", ACTR_TOML_INTEGER, FALSE, &edition))
    return FALSE;
  if (edition != NULL) {
    actr_toml_value_int(edition, &number);
    if (number != 1)
      return invalid(&sec, actr_toml_value_line(edition), "edition",
                     "unsupported edition %" G_GINT64_FORMAT " (only 1 is supported)", number);
    config->edition = (int)number;
  }

  /* Order matters: [deployment] realm_id is needed by [acl], [package]
   * name by [observability], [hyper.trust] by [[trust]]. */
  if (!load_package(&sec, config) || !load_endpoints(&sec, config) || !load_acl(&sec, config) ||
      !load_storage(&sec, config) || !load_webrtc(&sec, config) || !load_websocket(&sec, config) ||
      !load_observability(&sec, config) || !load_hyper(&sec, config) ||
      !load_trust_array(&sec, config))
    return FALSE;
  load_scripts(&sec, config);

  if (config->n_trust == 0) {
    g_info("%s: no trust anchor ([hyper.trust] or [[trust]]): using kind \"dev_only\", "
           "which accepts unsigned packages",
           config->origin);
    config->trust_source = ACTR_TRUST_SOURCE_DEFAULT;
    config->trust = g_new0(ActrTrustAnchor, 1);
    config->trust[0].kind = ACTR_TRUST_DEV_ONLY;
    config->n_trust = 1;
  }
  return TRUE;
}

/* ---- public API ------------------------------------------------------ */

ActrConfig *
actr_config_load_data(const char *data, gsize len, const char *origin, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (origin == NULL)
    origin = "<config>";
  g_autoptr(ActrTomlValue) root = actr_toml_parse(data, len, origin, error);
  if (root == NULL)
    return NULL;
  g_autoptr(ActrConfig) config = config_new(origin);
  if (!config_read(config, root, error))
    return NULL;
  return g_steal_pointer(&config);
}

ActrConfig *
actr_config_load_file(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  g_autoptr(ActrTomlValue) root = actr_toml_parse_file(path, error);
  if (root == NULL)
    return NULL;
  g_autoptr(ActrConfig) config = config_new(path);
  g_autofree char *absolute = g_canonicalize_filename(path, NULL);
  config->config_dir = g_path_get_dirname(absolute);
  if (!config_read(config, root, error))
    return NULL;
  return g_steal_pointer(&config);
}

void
actr_config_free(ActrConfig *config)
{
  if (config == NULL)
    return;
  g_free(config->origin);
  g_free(config->config_dir);
  g_free(config->package.name);
  actr_type_clear(&config->package.actr_type);
  g_free(config->package.path);
  g_free(config->signaling_url);
  g_free(config->ais_endpoint);
  if (config->realm_secret != NULL) {
    /* Do not leave the secret behind in freed memory. */
    memset(config->realm_secret, 0, strlen(config->realm_secret));
    g_free(config->realm_secret);
  }
  for (guint i = 0; i < config->n_acl_rules; i++)
    actr_type_clear(&config->acl_rules[i].type);
  g_free(config->acl_rules);
  g_free(config->storage.mailbox_path);
  g_strfreev(config->webrtc.stun_urls);
  g_strfreev(config->webrtc.turn_urls);
  g_strfreev(config->webrtc.public_ips);
  g_strfreev(config->webrtc.host_addresses);
  g_free(config->websocket.advertised_host);
  g_free(config->observability.filter_level);
  g_free(config->observability.tracing_endpoint);
  g_free(config->observability.tracing_service_name);
  for (guint i = 0; i < config->n_trust; i++) {
    g_free(config->trust[i].pubkey_file);
    g_free(config->trust[i].pubkey_b64);
    g_free(config->trust[i].endpoint);
  }
  g_free(config->trust);
  g_free(config->hyper.data_dir);
  g_free(config->hyper.storage_path_template);
  g_free(config->hyper.instance_id);
  if (config->scripts != NULL)
    g_hash_table_unref(config->scripts);
  g_free(config);
}

char *
actr_config_storage_dir(const ActrConfig *config, const ActrType *actr_type, GError **error)
{
  g_return_val_if_fail(config != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  const Section sec = {
      .origin = config->origin ? config->origin : "<config>",
      .label = "[hyper]",
      .line =
          config->hyper.storage_path_template_line ? config->hyper.storage_path_template_line : 1,
      .error = error,
  };
  if (actr_type == NULL)
    actr_type = config->package.has_actr_type ? &config->package.actr_type : NULL;
  if (actr_type == NULL) {
    invalid(&sec, 0, "storage_path_template",
            "no actor type to expand (set [package] actr_type or pass one)");
    return NULL;
  }
  if (config->hyper.storage_path_template == NULL || config->hyper.data_dir == NULL) {
    invalid(&sec, 0, "storage_path_template", "data_dir or the template is not set");
    return NULL;
  }
  g_autoptr(GString) out = g_string_new(NULL);
  if (!expand_template(&sec, config->hyper.storage_path_template, config, actr_type, out))
    return NULL;
  if (out->len == 0) {
    invalid(&sec, 0, "storage_path_template", "expands to an empty path");
    return NULL;
  }
  return g_string_free(g_steal_pointer(&out), FALSE);
}

char *
actr_config_mailbox_path(const ActrConfig *config, const ActrType *actr_type, GError **error)
{
  g_return_val_if_fail(config != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (config->storage.mailbox_path != NULL)
    return g_strdup(config->storage.mailbox_path);
  g_autofree char *dir = actr_config_storage_dir(config, actr_type, error);
  if (dir == NULL)
    return NULL;
  return g_build_filename(dir, "mailbox.db", NULL);
}

void
actr_config_get_store_options(const ActrConfig *config, ActrStoreOptions *options)
{
  g_return_if_fail(config != NULL && options != NULL);
  actr_store_options_init(options);
  options->durability = config->storage.durability == ACTR_DURABILITY_FULL
                            ? ACTR_STORE_DURABILITY_FULL
                            : ACTR_STORE_DURABILITY_NORMAL;
  options->max_delivery_attempts = config->storage.max_delivery_attempts;
  options->dedup_ttl_ms = (guint64)config->storage.dedup_ttl_secs * 1000;
  options->dedup_max_entries = config->storage.dedup_max_entries;
}
