/* Fuzz target for the TOML reader and the configuration loader.
 *
 * Each input is parsed twice, independently: by actr_toml_parse() (then
 * every value of the tree is visited through the lookup API), and by
 * actr_config_load_data() (then the storage and mailbox paths are expanded
 * when the load succeeded).  Everything is freed, so LeakSanitizer catches
 * leaks on both success and error paths.  Log output is discarded: unknown
 * keys produce warnings, which would otherwise flood the campaign. */
#include "../../src/core/toml.h"

#include <actr/config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
discard_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user_data)
{
}

/* Reads every value below @value through the public accessors. */
static void
visit(const ActrTomlValue *value, guint depth)
{
  g_assert(depth <= ACTR_TOML_MAX_DEPTH + 1);
  g_assert(actr_toml_value_line(value) >= 1);
  switch (actr_toml_value_type(value)) {
  case ACTR_TOML_STRING:
    g_assert(g_utf8_validate(actr_toml_value_string(value), -1, NULL));
    break;
  case ACTR_TOML_INTEGER:
    g_assert(actr_toml_value_int(value, NULL));
    break;
  case ACTR_TOML_FLOAT:
    g_assert(actr_toml_value_float(value, NULL));
    break;
  case ACTR_TOML_BOOLEAN:
    g_assert(actr_toml_value_bool(value, NULL));
    break;
  case ACTR_TOML_ARRAY:
    for (guint i = 0; i < actr_toml_array_length(value); i++)
      visit(actr_toml_array_get(value, i), depth + 1);
    break;
  case ACTR_TOML_TABLE: {
    ActrTomlIter it;
    const char *key;
    const ActrTomlValue *child;
    actr_toml_iter_init(&it, value);
    while (actr_toml_iter_next(&it, &key, &child)) {
      g_assert(actr_toml_table_lookup(value, key) == child);
      g_free(actr_toml_key_display(key));
      visit(child, depth + 1);
    }
    break;
  }
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static gboolean initialised = FALSE;
  if (!initialised) {
    g_log_set_handler("actr-core", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, discard_log, NULL);
    initialised = TRUE;
  }

  g_autoptr(GError) error = NULL;
  g_autoptr(ActrTomlValue) root = actr_toml_parse((const char *)data, size, "fuzz.toml", &error);
  if (root != NULL) {
    g_assert(error == NULL);
    visit(root, 0);
  } else {
    g_assert(error != NULL && g_str_has_prefix(error->message, "fuzz.toml:"));
  }
  g_clear_error(&error);

  g_autoptr(ActrConfig) config =
      actr_config_load_data((const char *)data, size, "fuzz.toml", &error);
  if (config != NULL) {
    g_assert(config->n_trust >= 1);
    ActrType type = {(char *)"acme", (char *)"echo", (char *)"1.0.0"};
    g_autofree char *dir = actr_config_storage_dir(config, &type, NULL);
    g_autofree char *mailbox = actr_config_mailbox_path(config, &type, NULL);
    (void)dir;
    (void)mailbox;
  } else {
    g_assert(error != NULL && g_str_has_prefix(error->message, "fuzz.toml:"));
  }
  return 0;
}
