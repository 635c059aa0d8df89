/* Fuzz target: the .actr package reader (src/package): the ZIP container,
 * the manifest, the signature check, the hash checks and the lock file.
 *
 * The input is loaded as a package.  When it loads, it is verified with a
 * fixed key (the one whose seed is 32 bytes of 0x42); the committed corpus
 * holds packages signed by that key, so mutations of the binary, the lock
 * file and the archive structure get past the signature and reach the hash
 * checks, the CRC checks and the lock-file parser.  A failure must carry an
 * ACTR_PACKAGE_ERROR code whose message names the origin.  Independently,
 * every entry of the archive is read (stored and deflated) with a small size
 * limit.  Everything is freed, so LeakSanitizer catches leaks on every path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package-zip.h"
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
check_error(const GError *error)
{
  FUZZ_CHECK(error != NULL && error->domain == ACTR_PACKAGE_ERROR);
  FUZZ_CHECK(g_str_has_prefix(error->message, "fuzz.actr"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static guint8 public_key[32];
  static gboolean initialised = FALSE;
  g_autoptr(GBytes) bytes = g_bytes_new(data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrPackage) package = NULL;
  g_autoptr(ActrZip) zip = NULL;

  if (!initialised) {
    guint8 seed[32];
    g_autoptr(ActrSigningKey) key = NULL;

    memset(seed, 0x42, sizeof seed);
    key = actr_signing_key_new_from_seed(seed, NULL);
    actr_signing_key_get_public(key, public_key);
    initialised = TRUE;
  }

  package = actr_package_load_bytes(bytes, "fuzz.actr", &error);
  if (package == NULL) {
    check_error(error);
  } else {
    const ActrPackageManifest *m = actr_package_get_manifest(package);

    FUZZ_CHECK(m != NULL && m->manufacturer != NULL && m->binary_path != NULL);
    if (actr_package_verify(package, public_key, &error)) {
      FUZZ_CHECK(actr_package_is_verified(package));
      FUZZ_CHECK(actr_package_get_binary(package) != NULL);
      FUZZ_CHECK((m->lock_file != NULL) == (actr_package_get_lock_file(package) != NULL));
      actr_package_check_target(m, NULL);
    } else {
      check_error(error);
      FUZZ_CHECK(!actr_package_is_verified(package));
    }
  }
  g_clear_error(&error);

  zip = actr_zip_open(bytes, "fuzz.actr", &error);
  if (zip == NULL) {
    check_error(error);
    return 0;
  }
  for (guint i = 0; i < actr_zip_get_n_entries(zip); i++) {
    const char *name = actr_zip_get_name(zip, i);
    g_autoptr(GBytes) contents = NULL;

    FUZZ_CHECK(actr_zip_name_is_valid(name) && actr_zip_has(zip, name));
    contents = actr_zip_read(zip, name, 1 << 20, TRUE, &error);
    if (contents == NULL) {
      check_error(error);
      g_clear_error(&error);
    }
  }
  return 0;
}
