/* Fuzz target: the manifest.toml parser (src/package).
 *
 * The input is parsed as a manifest.  A parsed manifest must render back to
 * TOML that parses to the same manifest (and renders to the same text: the
 * rendering is canonical), and its target check must not crash.  A failure
 * must be an ACTR_PACKAGE_ERROR_MANIFEST naming the origin. */
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

static void
check_same(const ActrPackageManifest *a, const ActrPackageManifest *b)
{
  FUZZ_CHECK(g_strcmp0(a->manufacturer, b->manufacturer) == 0);
  FUZZ_CHECK(g_strcmp0(a->name, b->name) == 0);
  FUZZ_CHECK(g_strcmp0(a->version, b->version) == 0);
  FUZZ_CHECK(g_strcmp0(a->signature_algorithm, b->signature_algorithm) == 0);
  FUZZ_CHECK(g_strcmp0(a->signing_key_id, b->signing_key_id) == 0);
  FUZZ_CHECK(g_strcmp0(a->binary_path, b->binary_path) == 0);
  FUZZ_CHECK(g_strcmp0(a->binary_target, b->binary_target) == 0);
  FUZZ_CHECK(memcmp(a->binary_hash, b->binary_hash, 32) == 0);
  FUZZ_CHECK(a->has_binary_size == b->has_binary_size && a->binary_size == b->binary_size);
  FUZZ_CHECK(a->binary_kind == b->binary_kind);
  FUZZ_CHECK((a->lock_file == NULL) == (b->lock_file == NULL));
  FUZZ_CHECK(a->resources->len == b->resources->len);
  FUZZ_CHECK(a->proto_files->len == b->proto_files->len);
  FUZZ_CHECK(g_strcmp0(a->description, b->description) == 0);
  FUZZ_CHECK(g_strcmp0(a->license, b->license) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrPackageManifest) m =
      actr_package_manifest_parse((const char *)data, size, "fuzz.toml", &error);
  g_autoptr(ActrPackageManifest) again = NULL;
  g_autofree char *text = NULL, *text2 = NULL;

  if (m == NULL) {
    FUZZ_CHECK(g_error_matches(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_MANIFEST));
    FUZZ_CHECK(g_str_has_prefix(error->message, "fuzz.toml"));
    return 0;
  }
  actr_package_check_target(m, NULL);
  text = actr_package_manifest_to_toml(m);
  again = actr_package_manifest_parse(text, strlen(text), "rendered", &error);
  if (again == NULL) {
    fprintf(stderr, "rendered manifest does not parse: %s\n%s", error->message, text);
    abort();
  }
  check_same(m, again);
  text2 = actr_package_manifest_to_toml(again);
  FUZZ_CHECK(strcmp(text, text2) == 0);
  return 0;
}
