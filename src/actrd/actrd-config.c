/* actrd — configuration.  See actrd-config.h and docs/actrd.md.
 *
 * actrd.toml is read with the TOML reader (src/core/toml.h) through one
 * table of known keys per section; every error names the file and line, and
 * no value is ever quoted (turn.secret is a secret).
 */
#include "actrd-config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <actr/identity.h>

#include "toml.h"

G_DEFINE_QUARK(actrd - error - quark, actrd_error)

#define TURN_SECRET_FILE "turn.secret"

ActrdConfig *
actrd_config_new(void)
{
  ActrdConfig *config = g_new0(ActrdConfig, 1);

  config->listen_host = g_strdup("127.0.0.1");
  config->listen_port = 8081;
  config->data_dir = g_strdup("./actrd-data");
  config->heartbeat_interval_secs = 30;
  config->token_ttl_secs = 3600;
  config->key_ttl_secs = 3600;
  config->key_tolerance_secs = 3600;
  config->key_rotate_lead_secs = 600;
  config->max_body_bytes = 1024 * 1024;
  config->ais_rate_per_sec = 0.5;
  config->ais_burst = 100;
  config->turn_realm = g_strdup("actrd.local");
  config->max_frame_bytes = 1024 * 1024;
  config->conn_max_per_ip = 100;
  config->conn_rate_per_sec = 1;
  config->conn_burst = 10;
  config->msg_rate_per_sec = 10;
  config->msg_burst = 50;
  return config;
}

void
actrd_config_free(ActrdConfig *config)
{
  if (config == NULL)
    return;
  g_free(config->listen_host);
  g_free(config->data_dir);
  if (config->turn_secret != NULL)
    memset(config->turn_secret, 0, strlen(config->turn_secret));
  g_free(config->turn_secret);
  g_free(config->turn_realm);
  g_free(config->config_path);
  g_free(config);
}

gboolean
actrd_config_set_listen(ActrdConfig *config, const char *host_port, GError **error)
{
  const char *colon;
  g_autofree char *host = NULL;
  guint64 port = 0;

  if (host_port[0] == '[') {
    const char *end = strchr(host_port, ']');

    if (end == NULL || end[1] != ':') {
      g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_CONFIG,
                  "invalid listen address (want HOST:PORT)");
      return FALSE;
    }
    host = g_strndup(host_port + 1, end - host_port - 1);
    colon = end + 1;
  } else {
    colon = strrchr(host_port, ':');
    if (colon == NULL) {
      g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_CONFIG,
                  "invalid listen address (want HOST:PORT)");
      return FALSE;
    }
    host = g_strndup(host_port, colon - host_port);
  }
  if (host[0] == '\0' || !g_ascii_string_to_unsigned(colon + 1, 10, 0, 65535, &port, NULL)) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_CONFIG,
                "invalid listen address (want HOST:PORT, PORT 0..65535)");
    return FALSE;
  }
  g_free(config->listen_host);
  config->listen_host = g_steal_pointer(&host);
  config->listen_port = (guint16)port;
  return TRUE;
}

/* ---- actrd.toml ------------------------------------------------------------ */

typedef enum {
  KEY_STRING, /* char ** */
  KEY_LISTEN, /* "HOST:PORT" into listen_host/listen_port */
  KEY_U32,    /* guint *, 0..max */
  KEY_U64,    /* guint64 *, 0..max */
  KEY_SIZE,   /* gsize *, 1..max */
  KEY_RATE,   /* double *, > 0 (integer or float in the file) */
  KEY_BOOL,   /* gboolean * */
} KeyKind;

typedef struct {
  const char *section;
  const char *key;
  KeyKind kind;
  gsize offset;
  gint64 min, max;
} KnownKey;

#define OFF(field) G_STRUCT_OFFSET(ActrdConfig, field)

static const KnownKey known_keys[] = {
    {"server", "listen", KEY_LISTEN, 0, 0, 0},
    {"server", "data_dir", KEY_STRING, OFF(data_dir), 0, 0},
    {"server", "dev", KEY_BOOL, OFF(dev), 0, 0},
    {"ais", "heartbeat_interval_secs", KEY_U32, OFF(heartbeat_interval_secs), 1, 86400},
    {"ais", "token_ttl_secs", KEY_U64, OFF(token_ttl_secs), 1, 86400 * 365},
    {"ais", "key_ttl_secs", KEY_U64, OFF(key_ttl_secs), 60, 86400 * 365},
    {"ais", "key_tolerance_secs", KEY_U64, OFF(key_tolerance_secs), 0, 86400 * 365},
    {"ais", "key_rotate_lead_secs", KEY_U64, OFF(key_rotate_lead_secs), 0, 86400 * 365},
    {"ais", "max_body_bytes", KEY_SIZE, OFF(max_body_bytes), 1024, 64 * 1024 * 1024},
    {"ais", "rate_per_sec", KEY_RATE, OFF(ais_rate_per_sec), 0, 0},
    {"ais", "burst", KEY_RATE, OFF(ais_burst), 0, 0},
    {"turn", "secret", KEY_STRING, OFF(turn_secret), 0, 0},
    {"turn", "realm", KEY_STRING, OFF(turn_realm), 0, 0},
    {"signaling", "max_frame_bytes", KEY_SIZE, OFF(max_frame_bytes), 64, 64 * 1024 * 1024},
    {"signaling", "conn_max_per_ip", KEY_U32, OFF(conn_max_per_ip), 1, G_MAXINT32},
    {"signaling", "conn_rate_per_sec", KEY_RATE, OFF(conn_rate_per_sec), 0, 0},
    {"signaling", "conn_burst", KEY_RATE, OFF(conn_burst), 0, 0},
    {"signaling", "msg_rate_per_sec", KEY_RATE, OFF(msg_rate_per_sec), 0, 0},
    {"signaling", "msg_burst", KEY_RATE, OFF(msg_burst), 0, 0},
};

static gboolean
config_invalid(GError **error, const char *origin, guint line, const char *section, const char *key,
               const char *what)
{
  g_autofree char *shown = actr_toml_key_display(key);

  g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_CONFIG, "%s:%u: [%s] %s: %s", origin, line, section,
              shown, what);
  return FALSE;
}

static const KnownKey *
find_known(const char *section, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS(known_keys); i++) {
    if (strcmp(known_keys[i].section, section) == 0 && strcmp(known_keys[i].key, key) == 0)
      return &known_keys[i];
  }
  return NULL;
}

static gboolean
apply_key(ActrdConfig *config, const KnownKey *k, const ActrTomlValue *value, const char *origin,
          GError **error)
{
  guint line = actr_toml_value_line(value);
  gpointer dest = G_STRUCT_MEMBER_P(config, k->offset);
  gint64 number = 0;
  double real = 0;
  gboolean flag = FALSE;
  const char *text;
  g_autoptr(GError) local = NULL;

  switch (k->kind) {
  case KEY_STRING:
    text = actr_toml_value_string(value);
    if (text == NULL || text[0] == '\0')
      return config_invalid(error, origin, line, k->section, k->key, "expected a non-empty string");
    g_free(*(char **)dest);
    *(char **)dest = g_strdup(text);
    return TRUE;
  case KEY_LISTEN:
    text = actr_toml_value_string(value);
    if (text == NULL || !actrd_config_set_listen(config, text, &local))
      return config_invalid(error, origin, line, k->section, k->key,
                            "expected a string \"HOST:PORT\" with PORT 0..65535");
    return TRUE;
  case KEY_BOOL:
    if (!actr_toml_value_bool(value, &flag))
      return config_invalid(error, origin, line, k->section, k->key, "expected a boolean");
    *(gboolean *)dest = flag;
    return TRUE;
  case KEY_U32:
  case KEY_U64:
  case KEY_SIZE:
    if (!actr_toml_value_int(value, &number) || number < k->min || number > k->max) {
      g_autofree char *what = g_strdup_printf(
          "expected an integer %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, k->min, k->max);
      return config_invalid(error, origin, line, k->section, k->key, what);
    }
    if (k->kind == KEY_U32)
      *(guint *)dest = (guint)number;
    else if (k->kind == KEY_U64)
      *(guint64 *)dest = (guint64)number;
    else
      *(gsize *)dest = (gsize)number;
    return TRUE;
  case KEY_RATE:
    if (actr_toml_value_int(value, &number))
      real = (double)number;
    else if (!actr_toml_value_float(value, &real))
      real = -1;
    if (!(real > 0 && real < 1e9))
      return config_invalid(error, origin, line, k->section, k->key, "expected a positive number");
    *(double *)dest = real;
    return TRUE;
  }
  g_assert_not_reached();
}

gboolean
actrd_config_load_file(ActrdConfig *config, const char *path, GError **error)
{
  g_autoptr(ActrTomlValue) root = NULL;
  g_autoptr(GError) local = NULL;
  ActrTomlIter sections;
  const char *section;
  const ActrTomlValue *table;

  root = actr_toml_parse_file(path, &local);
  if (root == NULL) {
    g_set_error_literal(error, ACTRD_ERROR, ACTRD_ERROR_CONFIG, local->message);
    return FALSE;
  }
  actr_toml_iter_init(&sections, root);
  while (actr_toml_iter_next(&sections, &section, &table)) {
    ActrTomlIter keys;
    const char *key;
    const ActrTomlValue *value;

    if (actr_toml_value_type(table) != ACTR_TOML_TABLE ||
        (strcmp(section, "server") != 0 && strcmp(section, "ais") != 0 &&
         strcmp(section, "turn") != 0 && strcmp(section, "signaling") != 0)) {
      g_autofree char *shown = actr_toml_key_display(section);

      g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_CONFIG,
                  "%s:%u: unknown section or key %s (known sections: [server], [ais], [turn], "
                  "[signaling])",
                  path, actr_toml_value_line(table), shown);
      return FALSE;
    }
    actr_toml_iter_init(&keys, table);
    while (actr_toml_iter_next(&keys, &key, &value)) {
      const KnownKey *k = find_known(section, key);

      if (k == NULL)
        return config_invalid(error, path, actr_toml_value_line(value), section, key,
                              "unknown key");
      if (!apply_key(config, k, value, path, error))
        return FALSE;
    }
  }
  g_free(config->config_path);
  config->config_path = g_strdup(path);
  return TRUE;
}

gboolean
actrd_config_resolve_turn_secret(ActrdConfig *config, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) local = NULL;
  gsize len = 0;

  if (config->turn_secret != NULL)
    return TRUE;
  path = g_build_filename(config->data_dir, TURN_SECRET_FILE, NULL);
  if (g_file_get_contents(path, &contents, &len, &local)) {
    g_strstrip(contents);
    if (contents[0] == '\0') {
      g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_CONFIG, "%s: empty TURN secret file", path);
      return FALSE;
    }
    config->turn_secret = g_steal_pointer(&contents);
    return TRUE;
  }
  if (!g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s", local->message);
    return FALSE;
  }
  {
    g_autofree char *secret = actr_realm_secret_generate();
    g_autofree char *line = g_strconcat(secret, "\n", NULL);
    int fd = g_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    gboolean ok;

    if (fd < 0) {
      int saved = errno;
      g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s: %s", path, g_strerror(saved));
      return FALSE;
    }
    ok = write(fd, line, strlen(line)) == (gssize)strlen(line) && fsync(fd) == 0;
    close(fd);
    if (!ok) {
      g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s: could not write", path);
      return FALSE;
    }
    config->turn_secret = g_steal_pointer(&secret);
  }
  return TRUE;
}
