/* Fuzz target: the manufacturer key readers (src/package): public keys
 * (base64, or the JSON of actrd's /mfr answer, through the package's small
 * JSON reader) and the secret key file (TOML).
 *
 * A parsed key file must render back to a key file that parses to the same
 * key; every failure must be an ACTR_PACKAGE_ERROR_KEY. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrMfrKey) key = NULL;
  g_autofree char *key_id = NULL;
  guint8 pub[32];

  if (actr_mfr_public_key_parse((const char *)data, size, "fuzz", pub, &key_id, &error)) {
    FUZZ_CHECK(key_id == NULL || key_id[0] != '\0');
  } else {
    FUZZ_CHECK(g_error_matches(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY));
    g_clear_error(&error);
  }

  key = actr_mfr_key_parse((const char *)data, size, "fuzz", &error);
  if (key != NULL) {
    g_autofree char *text = actr_mfr_key_to_toml(key);
    g_autofree char *json = actr_mfr_key_public_json(key);
    g_autoptr(ActrMfrKey) again = actr_mfr_key_parse(text, strlen(text), "rendered", NULL);
    guint8 a[32], b[32];
    g_autofree char *id2 = NULL;

    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(strcmp(again->key_id, key->key_id) == 0);
    FUZZ_CHECK(g_strcmp0(again->manufacturer, key->manufacturer) == 0);
    actr_signing_key_get_public(key->key, a);
    actr_signing_key_get_public(again->key, b);
    FUZZ_CHECK(memcmp(a, b, 32) == 0);
    FUZZ_CHECK(actr_mfr_public_key_parse(json, strlen(json), "json", b, &id2, NULL));
    FUZZ_CHECK(memcmp(a, b, 32) == 0 && strcmp(id2, key->key_id) == 0);
  } else {
    FUZZ_CHECK(g_error_matches(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY));
  }
  return 0;
}
