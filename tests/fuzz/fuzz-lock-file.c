/* Fuzz target: the manifest.lock.toml parser and the dependency lookup of
 * discover_route_candidate (runtime.md §13.1, src/package).
 *
 * A parsed lock file is searched for a few fixed types and for the type of
 * each of its own dependencies written as MANUFACTURER:NAME:VERSION (which
 * must then be found); a failure must be ACTR_PACKAGE_ERROR_LOCK_FILE. */
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
  static const ActrType probes[] = {
      {(char *)"acme", (char *)"echo", (char *)"1.0.0"},
      {(char *)"acme", (char *)"counter", (char *)"2"},
      {(char *)"x", (char *)"y", (char *)"z"},
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrLockFile) lock =
      actr_lock_file_parse((const char *)data, size, "fuzz.lock", &error);

  if (lock == NULL) {
    FUZZ_CHECK(g_error_matches(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_LOCK_FILE));
    FUZZ_CHECK(g_str_has_prefix(error->message, "fuzz.lock"));
    return 0;
  }
  for (guint i = 0; i < G_N_ELEMENTS(probes); i++) {
    const char *fp = actr_lock_file_fingerprint(lock, &probes[i], &error);

    FUZZ_CHECK(fp != NULL ||
               g_error_matches(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_DEPENDENCY_NOT_FOUND));
    g_clear_error(&error);
  }
  for (guint i = 0; i < lock->dependencies->len; i++) {
    const ActrLockDependency *dep = g_ptr_array_index(lock->dependencies, i);
    g_auto(ActrType) type = {0};

    FUZZ_CHECK(dep->name != NULL && dep->fingerprint != NULL);
    if (actr_type_parse(dep->actr_type, &type, NULL))
      FUZZ_CHECK(actr_lock_file_find(lock, &type, NULL) != NULL);
  }
  return 0;
}
