/* Unit tests for src/package: manifests, lock files, targets, manufacturer
 * keys, the ZIP container, and building / verifying real packages of the
 * echo example workload.
 * Usage: test-package ECHO_SO DEFLATED_ACTR DEFLATED_PUB [--tap] */
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "package-private.h"
#include "package-zip.h"
#include "package.h"

static const char *echo_path, *deflated_path, *deflated_pub_path;

/* ---- Helpers ---------------------------------------------------------------- */

static char *
make_temp_dir(void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp("test-package-XXXXXX", &error);

  g_assert_no_error(error);
  return dir;
}

static void
remove_tree(const char *path)
{
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  const char *name;

  if (dir != NULL) {
    while ((name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);

      remove_tree(child);
    }
  }
  g_remove(path);
}

static ActrMfrKey *
new_key(const char *manufacturer)
{
  g_autoptr(GError) error = NULL;
  ActrMfrKey *key = actr_mfr_key_generate(manufacturer, NULL, &error);

  g_assert_no_error(error);
  return key;
}

static void
public_of(const ActrMfrKey *key, guint8 out[32])
{
  actr_signing_key_get_public(key->key, out);
}

/* A package from an explicit manifest text, signed by @key, with extra
 * entries as NULL-terminated (name, contents) pairs. */
static GBytes *craft_package(const ActrMfrKey *key, const char *manifest,
                             ...) G_GNUC_NULL_TERMINATED;

static GBytes *
craft_package(const ActrMfrKey *key, const char *manifest, ...)
{
  g_autoptr(ActrZipWriter) zip = actr_zip_writer_new();
  g_autoptr(GBytes) m = g_bytes_new(manifest, strlen(manifest));
  g_autoptr(GBytes) s = NULL;
  g_autoptr(GError) error = NULL;
  guint8 sig[64];
  va_list ap;
  const char *name;

  g_assert_true(
      actr_signing_key_sign(key->key, (const guint8 *)manifest, strlen(manifest), sig, &error));
  s = g_bytes_new(sig, sizeof sig);
  actr_zip_writer_add(zip, ACTR_PACKAGE_MANIFEST_ENTRY, m, 0644);
  actr_zip_writer_add(zip, ACTR_PACKAGE_SIGNATURE_ENTRY, s, 0644);
  va_start(ap, manifest);
  while ((name = va_arg(ap, const char *)) != NULL) {
    const char *contents = va_arg(ap, const char *);
    g_autoptr(GBytes) b = g_bytes_new(contents, strlen(contents));

    actr_zip_writer_add(zip, name, b, 0644);
  }
  va_end(ap);
  return actr_zip_writer_finish(zip);
}

static char *
sha_hex(const char *text)
{
  g_autoptr(GBytes) b = g_bytes_new(text, strlen(text));
  guint8 hash[32];
  char hex[65];

  actr_package_sha256(b, hash);
  actr_package_hash_to_hex(hash, hex);
  return g_strdup(hex);
}

/* A manifest for a binary "bin/x" holding @binary, built for @target. */
static char *
manifest_for(const char *binary, const char *target, const char *extra)
{
  g_autofree char *hash = sha_hex(binary);

  return g_strdup_printf("manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1.0.0\"\n"
                         "signing_key_id = \"k1\"\n%s\n[binary]\npath = \"bin/x\"\n"
                         "target = \"%s\"\nhash = \"%s\"\nsize = %zu\n",
                         extra != NULL ? extra : "", target, hash, strlen(binary));
}

static ActrPackage *
load_bytes(GBytes *bytes, GError **error)
{
  return actr_package_load_bytes(bytes, "test.actr", error);
}

/* Flips one byte at the first occurrence of @needle in a copy of @bytes. */
static GBytes *
flip_at(GBytes *bytes, const char *needle, gsize offset)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  guint8 *copy = g_memdup2(data, len);
  const guint8 *hit = memmem(copy, len, needle, strlen(needle));

  g_assert_nonnull(hit);
  copy[(hit - copy) + offset] ^= 0x01;
  return g_bytes_new_take(copy, len);
}

static GBytes *
build_echo(const ActrMfrKey *key, const char *lock_path, GError **error)
{
  ActrPackageBuildOptions o = {.workload_path = echo_path, .lock_path = lock_path, .key = key};

  return actr_package_build(&o, error);
}

static const char *
other_arch_target(void)
{
  return g_str_has_prefix(actr_package_host_target(), "x86_64") ? "aarch64-unknown-linux-gnu"
                                                                : "x86_64-unknown-linux-gnu";
}

/* ---- Manifests ---------------------------------------------------------------- */

static void
test_manifest_round_trip(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = manifest_for("hello", "x86_64-unknown-linux-gnu",
                                       "[metadata]\ndescription = \"an \\\"echo\\\"\"\n"
                                       "[lock_file]\npath = \"manifest.lock.toml\"\nhash = "
                                       "\"0000000000000000000000000000000000000000000000000000000"
                                       "000000000\"\n");
  g_autoptr(ActrPackageManifest) m = actr_package_manifest_parse(text, strlen(text), NULL, &error);
  g_autofree char *again = NULL;
  g_autoptr(ActrPackageManifest) m2 = NULL;

  g_assert_no_error(error);
  g_assert_cmpstr(m->manufacturer, ==, "acme");
  g_assert_cmpstr(m->name, ==, "echo");
  g_assert_cmpstr(m->version, ==, "1.0.0");
  g_assert_cmpstr(m->signature_algorithm, ==, "ed25519");
  g_assert_cmpstr(m->signing_key_id, ==, "k1");
  g_assert_cmpstr(m->binary_path, ==, "bin/x");
  g_assert_true(m->has_binary_size);
  g_assert_cmpuint(m->binary_size, ==, 5);
  g_assert_cmpint(m->binary_kind, ==, ACTR_PACKAGE_BINARY_NATIVE);
  g_assert_false(m->binary_kind_declared);
  g_assert_nonnull(m->lock_file);
  g_assert_cmpstr(m->description, ==, "an \"echo\"");

  again = actr_package_manifest_to_toml(m);
  m2 = actr_package_manifest_parse(again, strlen(again), NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(m2->manufacturer, ==, m->manufacturer);
  g_assert_cmpstr(m2->binary_target, ==, m->binary_target);
  g_assert_cmpmem(m2->binary_hash, 32, m->binary_hash, 32);
  g_assert_cmpstr(m2->lock_file->path, ==, "manifest.lock.toml");
  g_assert_cmpstr(m2->description, ==, m->description);
  /* Rendering is canonical: a second round gives the same text. */
  {
    g_autofree char *third = actr_package_manifest_to_toml(m2);

    g_assert_cmpstr(third, ==, again);
  }
}

static void
test_manifest_malformed(void)
{
  static const struct {
    const char *text;
    const char *fragment;
  } cases[] = {
      {"manufacturer = \"acme\"\n[binary\n", "manifest.toml:2:"},
      {"name = \"echo\"\nversion = \"1\"\n", "missing key 'manufacturer'"},
      {"manufacturer = 7\nname = \"echo\"\nversion = \"1\"\n", "'manufacturer' must be a string"},
      {"manufacturer = \"9acme\"\nname = \"echo\"\nversion = \"1\"\n[binary]\n", "invalid type"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1:2\"\n", "must not contain ':'"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\n", "missing table [binary]"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\nbinary = 3\n",
       "'binary' must be a table"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\n[binary]\npath = \"../x\"\n"
       "target = \"x86_64-unknown-linux-gnu\"\nhash = \"00\"\n",
       "not a safe relative file name"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\n[binary]\npath = "
       "\"manifest.sig\"\ntarget = \"x86_64-unknown-linux-gnu\"\nhash = \"00\"\n",
       "must not name manifest.sig"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\n[binary]\npath = \"bin/x\"\n"
       "target = \"x86_64-unknown-linux-gnu\"\nhash = \"abc\"\n",
       "64 hex digits"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\n[binary]\npath = \"bin/x\"\n"
       "target = \"x86 64\"\nhash = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\n",
       "not a target triple"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\n[binary]\npath = \"bin/x\"\n"
       "target = \"x86_64-unknown-linux-gnu\"\nhash = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\nsize = -1\n",
       "non-negative integer"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\n[binary]\npath = \"bin/x\"\n"
       "target = \"x86_64-unknown-linux-gnu\"\nhash = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\nkind = \"elf\"\n",
       "unknown 'binary.kind'"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\n[binary]\npath = \"bin/x\"\n"
       "target = \"wasm32-wasip2\"\nhash = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\n"
       "kind = \"native-cdylib\"\n",
       "does not fit target"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\nresources = 1\n[binary]\n"
       "path = \"bin/x\"\ntarget = \"x86_64-unknown-linux-gnu\"\nhash = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\n",
       "'resources' must be an array of tables"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\n[binary]\npath = \"bin/x\"\n"
       "target = \"x86_64-unknown-linux-gnu\"\nhash = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\n[lock_file]\n"
       "path = \"manifest.lock.toml\"\n",
       "missing key 'lock_file.hash'"},
      {"manufacturer = \"acme\"\nname = \"echo\"\nversion = \"1\"\n[binary]\npath = \"bin/x\"\n"
       "target = \"x86_64-unknown-linux-gnu\"\nhash = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\n[lock_file]\n"
       "path = \"bin/x\"\nhash = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\n",
       "names the binary"},
  };

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(ActrPackageManifest) m =
        actr_package_manifest_parse(cases[i].text, strlen(cases[i].text), NULL, &error);

    g_test_message("case %u: %s", i, error != NULL ? error->message : "(accepted)");
    g_assert_null(m);
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_MANIFEST);
    g_assert_true(g_str_has_prefix(error->message, "manifest.toml"));
    g_assert_nonnull(strstr(error->message, cases[i].fragment));
  }
}

/* ---- Lock files ----------------------------------------------------------------- */

static const char lock_text[] = "[metadata]\nversion = 1\n\n"
                                "[[dependency]]\nname = \"echo-service\"\n"
                                "actr_type = \"acme:echo:1.0.0\"\n"
                                "fingerprint = \"service_semantic:aaa\"\n\n"
                                "[[dependency]]\nactr_type = \"acme+counter\"\n"
                                "fingerprint = \"service_semantic:bbb\"\n"
                                "[[dependency.files]]\npath = \"counter.proto\"\n"
                                "fingerprint = \"semantic:x\"\n";

static void
test_lock_file(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrLockFile) lock = actr_lock_file_parse(lock_text, strlen(lock_text), NULL, &error);
  ActrType echo = {(char *)"acme", (char *)"echo", (char *)"1.0.0"};
  ActrType echo2 = {(char *)"acme", (char *)"echo", (char *)"2.0.0"};
  ActrType counter = {(char *)"acme", (char *)"counter", (char *)"3.1"};
  ActrType other = {(char *)"other", (char *)"echo", (char *)"1.0.0"};
  const ActrLockDependency *dep;

  g_assert_no_error(error);
  g_assert_cmpuint(lock->dependencies->len, ==, 2);
  dep = actr_lock_file_find(lock, &echo, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(dep->name, ==, "echo-service");
  g_assert_cmpstr(actr_lock_file_fingerprint(lock, &echo, NULL), ==, "service_semantic:aaa");
  /* By parsed type: "acme+counter" names no version, so any version fits. */
  g_assert_cmpstr(actr_lock_file_fingerprint(lock, &counter, NULL), ==, "service_semantic:bbb");
  dep = g_ptr_array_index(lock->dependencies, 1);
  g_assert_cmpstr(dep->name, ==, "acme+counter");
  /* Another version of a dependency that names one, another manufacturer. */
  g_assert_null(actr_lock_file_fingerprint(lock, &echo2, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_DEPENDENCY_NOT_FOUND);
  g_clear_error(&error);
  g_assert_null(actr_lock_file_find(lock, &other, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_DEPENDENCY_NOT_FOUND);
  g_clear_error(&error);
  /* No lock file at all: the empty fingerprint. */
  g_assert_cmpstr(actr_lock_file_fingerprint(NULL, &other, &error), ==, "");
  g_assert_no_error(error);
}

static void
test_lock_file_malformed(void)
{
  static const struct {
    const char *text;
    const char *fragment;
  } cases[] = {
      {"[[dependency]]\nactr_type = \"acme:echo:1\"\n", "missing key 'dependency[0].fingerprint'"},
      {"[[dependency]]\nfingerprint = \"x\"\n", "missing key 'dependency[0].actr_type'"},
      {"[[dependency]]\nactr_type = \"not a type\"\nfingerprint = \"x\"\n", "is not an actor type"},
      {"dependency = 5\n", "array of tables"},
      {"dependency = [1, 2]\n", "'dependency[0]' must be a table"},
      {"metadata = \"x\"\n", "'metadata' must be a table"},
      {"[[dependency]\n", "lock:1:"},
  };

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(ActrLockFile) lock =
        actr_lock_file_parse(cases[i].text, strlen(cases[i].text), "lock", &error);

    g_test_message("case %u: %s", i, error != NULL ? error->message : "(accepted)");
    g_assert_null(lock);
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_LOCK_FILE);
    g_assert_nonnull(strstr(error->message, cases[i].fragment));
  }
}

/* ---- Targets ------------------------------------------------------------------------ */

static void
check_target(const char *target, const char *kind, gboolean expect_ok)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrPackageManifest) m = NULL;

  text = manifest_for("b", target, NULL);
  if (kind != NULL) {
    char *with_kind = g_strdup_printf("%skind = \"%s\"\n", text, kind);

    g_free(text);
    text = with_kind;
  }
  m = actr_package_manifest_parse(text, strlen(text), NULL, &error);
  g_assert_no_error(error);
  g_test_message("target %s", target);
  if (expect_ok) {
    g_assert_true(actr_package_check_target(m, &error));
    g_assert_no_error(error);
  } else {
    g_assert_false(actr_package_check_target(m, &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_TARGET);
  }
}

static void
test_targets(void)
{
  const char *host = actr_package_host_target();
  g_auto(GStrv) parts = g_strsplit(host, "-", -1);

  g_assert_cmpuint(g_strv_length(parts), >=, 3);
  check_target(host, NULL, TRUE);
  check_target(other_arch_target(), NULL, FALSE);
  check_target("wasm32-wasip2", "component", FALSE);
  check_target("wasm32-wasip1", NULL, FALSE); /* legacy core module */
  if (strcmp(parts[0], "x86_64") == 0 && strcmp(parts[2], "linux") == 0) {
    check_target("x86_64-pc-linux-musl", NULL, TRUE); /* vendor and env do not matter */
    check_target("amd64-unknown-linux-gnu", NULL, TRUE);
    check_target("x86_64-apple-darwin", NULL, FALSE);
    check_target("x86_64-apple-macos", NULL, FALSE);
    check_target("x86_64-linux", NULL, FALSE); /* two parts */
  }
}

/* ---- Keys ------------------------------------------------------------------------------ */

static void
test_key_file(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrMfrKey) key = new_key("acme");
  g_autofree char *text = actr_mfr_key_to_toml(key);
  g_autoptr(ActrMfrKey) back = actr_mfr_key_parse(text, strlen(text), "k", &error);
  g_autofree char *dir = make_temp_dir();
  g_autofree char *path = g_build_filename(dir, "acme.key", NULL);
  g_autoptr(ActrMfrKey) loaded = NULL;
  guint8 a[32], b[32];
  GStatBuf st;

  g_assert_no_error(error);
  g_assert_cmpuint(strlen(key->key_id), ==, 16);
  g_assert_cmpstr(back->key_id, ==, key->key_id);
  g_assert_cmpstr(back->manufacturer, ==, "acme");
  public_of(key, a);
  public_of(back, b);
  g_assert_cmpmem(a, 32, b, 32);

  g_assert_true(actr_mfr_key_save(key, path, &error));
  g_assert_no_error(error);
  g_assert_cmpint(g_stat(path, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 0777, ==, 0600);
  g_assert_false(actr_mfr_key_save(key, path, &error)); /* never overwritten */
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO);
  g_assert_nonnull(strstr(error->message, "file exists"));
  g_clear_error(&error);
  loaded = actr_mfr_key_load(path, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(loaded->key_id, ==, key->key_id);
  remove_tree(dir);

  /* Explicit ids; invalid ids and names. */
  {
    g_autoptr(ActrMfrKey) k = actr_mfr_key_generate(NULL, "mfr-2024.1", &error);

    g_assert_no_error(error);
    g_assert_cmpstr(k->key_id, ==, "mfr-2024.1");
    g_assert_null(k->manufacturer);
    g_assert_null(actr_mfr_key_generate(NULL, "has space", &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY);
    g_clear_error(&error);
    g_assert_null(actr_mfr_key_generate("9bad", NULL, &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY);
    g_clear_error(&error);
  }
}

static void
test_key_file_malformed(void)
{
  g_autoptr(ActrMfrKey) key = new_key(NULL);
  g_autoptr(ActrMfrKey) other = new_key(NULL);
  g_autofree char *text = actr_mfr_key_to_toml(key);
  g_autofree char *other_text = actr_mfr_key_to_toml(other);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  g_auto(GStrv) other_lines = g_strsplit(other_text, "\n", -1);
  g_autofree char *mixed = NULL;
  const char *pub_line = NULL, *other_priv = NULL;
  const char *cases[] = {
      "private_key = \"AAAA\"\nkey_id = \"k\"\n",
      "key_id = \"k\"\n",
      "algorithm = \"rsa\"\nkey_id = \"k\"\nprivate_key = "
      "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n",
      "key_id = \"bad id\"\nprivate_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n",
      "not toml at all",
      NULL, /* public key of another private key, filled below */
  };

  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix(lines[i], "public_key"))
      pub_line = lines[i];
  }
  for (guint i = 0; other_lines[i] != NULL; i++) {
    if (g_str_has_prefix(other_lines[i], "private_key"))
      other_priv = other_lines[i];
  }
  mixed = g_strdup_printf("key_id = \"k\"\n%s\n%s\n", pub_line, other_priv);
  cases[G_N_ELEMENTS(cases) - 1] = mixed;
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(ActrMfrKey) k = actr_mfr_key_parse(cases[i], strlen(cases[i]), "k", &error);

    g_test_message("case %u: %s", i, error != NULL ? error->message : "(accepted)");
    g_assert_null(k);
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY);
  }
}

static void
test_public_key_parse(void)
{
  g_autoptr(ActrMfrKey) key = new_key("acme");
  g_autofree char *json = actr_mfr_key_public_json(key);
  g_autofree char *b64 = NULL;
  g_autofree char *with_ws = NULL;
  guint8 expected[32], got[32];
  char *id = NULL;
  g_autoptr(GError) error = NULL;
  const char *bad[] = {
      "",
      "AAAA",
      "{\"public_key\": \"AAAA\"}",
      "{\"key_id\": \"x\"}",
      "{\"public_key\": 1}",
      "{\"public_key\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",}",
      "{\"public_key\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"} x",
      "{\"public_key\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", \"public_key\": \"x\"}",
      "{\"public_key\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", \"key_id\": \"a b\"}",
      /* Nested deeper than the reader allows. */
      "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
  };

  public_of(key, expected);
  b64 = g_base64_encode(expected, 32);
  with_ws = g_strdup_printf("  %s\n", b64);

  g_assert_true(actr_mfr_public_key_parse(json, strlen(json), NULL, got, &id, &error));
  g_assert_no_error(error);
  g_assert_cmpmem(got, 32, expected, 32);
  g_assert_cmpstr(id, ==, key->key_id);
  g_clear_pointer(&id, g_free);

  memset(got, 0, 32);
  g_assert_true(actr_mfr_public_key_parse(with_ws, strlen(with_ws), NULL, got, &id, &error));
  g_assert_cmpmem(got, 32, expected, 32);
  g_assert_null(id);

  /* The /mfr answer of another server: integer key_id, extra members. */
  {
    g_autofree char *other =
        g_strdup_printf("{\"status\": \"ok\", \"key_id\": 42, \"nested\": {\"a\": [1, 2.5e3, "
                        "true, null]}, \"public_key\": \"%s\"}",
                        b64);

    g_assert_true(actr_mfr_public_key_parse(other, strlen(other), NULL, got, &id, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(id, ==, "42");
    g_clear_pointer(&id, g_free);
  }
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_test_message("bad %u", i);
    g_assert_false(actr_mfr_public_key_parse(bad[i], strlen(bad[i]), "x", got, NULL, &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY);
    g_clear_error(&error);
  }
}

static void
test_mfr_url(void)
{
  static const struct {
    const char *base;
    const char *key_id;
    const char *url;
  } cases[] = {
      {"http://127.0.0.1:8081", NULL, "http://127.0.0.1:8081/mfr/acme/verifying_key"},
      {"http://127.0.0.1:8081/", "k1", "http://127.0.0.1:8081/mfr/acme/verifying_key?key_id=k1"},
      {"http://h/ais", NULL, "http://h/mfr/acme/verifying_key"},
      {"https://h/base/ais/", NULL, "https://h/base/mfr/acme/verifying_key"},
      {"http://h/mfr", "a:b", "http://h/mfr/acme/verifying_key?key_id=a%3Ab"},
      {"http://h/mfr/acme/verifying_key", NULL, "http://h/mfr/acme/verifying_key"},
  };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *url = actr_mfr_key_url(cases[i].base, "acme", cases[i].key_id, &error);

    g_assert_no_error(error);
    g_assert_cmpstr(url, ==, cases[i].url);
  }
  g_assert_null(actr_mfr_key_url("ftp://h", "acme", NULL, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_INVALID);
  g_clear_error(&error);
  g_assert_null(actr_mfr_key_url("not a url", "acme", NULL, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_INVALID);
}

/* ---- Packages --------------------------------------------------------------------------- */

static void
test_round_trip(void)
{
  g_autoptr(ActrMfrKey) key = new_key("acme");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = make_temp_dir();
  g_autofree char *lock_path = g_build_filename(dir, "deps.lock.toml", NULL);
  g_autofree char *out = g_build_filename(dir, "echo.actr", NULL);
  g_autoptr(GBytes) bytes = NULL, again = NULL, so = NULL;
  g_autoptr(ActrPackage) p = NULL;
  const ActrPackageManifest *m;
  ActrPackageBuildOptions o = {0};
  guint8 pub[32];
  gsize so_len = 0;
  char *so_data = NULL;
  ActrType echo = {(char *)"acme", (char *)"echo", (char *)"1.0.0"};

  g_assert_true(g_file_set_contents(lock_path, lock_text, -1, NULL));
  g_assert_true(g_file_get_contents(echo_path, &so_data, &so_len, NULL));
  so = g_bytes_new_take(so_data, so_len);

  bytes = build_echo(key, lock_path, &error);
  g_assert_no_error(error);
  /* Deterministic: the same inputs give the same bytes. */
  again = build_echo(key, lock_path, &error);
  g_assert_true(g_bytes_equal(bytes, again));

  p = load_bytes(bytes, &error);
  g_assert_no_error(error);
  m = actr_package_get_manifest(p);
  g_assert_cmpstr(m->manufacturer, ==, "acme"); /* from the descriptor */
  g_assert_cmpstr(m->name, ==, "echo");
  g_assert_cmpstr(m->version, ==, "1.0.0");
  g_assert_cmpstr(m->binary_target, ==, actr_package_host_target());
  g_assert_cmpstr(m->binary_path, ==, "bin/libecho.so");
  g_assert_cmpstr(m->signing_key_id, ==, key->key_id);
  g_assert_cmpuint(m->binary_size, ==, so_len);
  g_assert_true(m->binary_kind_declared);
  g_assert_nonnull(m->lock_file);
  g_assert_false(actr_package_is_verified(p));
  g_assert_cmpuint(g_bytes_get_size(actr_package_get_signature(p)), ==, 64);

  public_of(key, pub);
  g_assert_true(actr_package_verify(p, pub, &error));
  g_assert_no_error(error);
  g_assert_true(actr_package_verify(p, pub, &error)); /* idempotent */
  g_assert_true(actr_package_is_verified(p));
  g_assert_true(g_bytes_equal(actr_package_get_binary(p), so));
  g_assert_cmpuint(actr_package_get_lock_file(p)->dependencies->len, ==, 2);
  g_assert_cmpstr(actr_lock_file_fingerprint(actr_package_get_lock_file(p), &echo, NULL), ==,
                  "service_semantic:aaa");
  g_assert_true(actr_package_check_target(m, &error));

  /* The file variant, with an explicit type and description. */
  o.workload_path = echo_path;
  o.actr_type = "acme:echo-renamed:2.0.0";
  o.description = "renamed";
  o.key = key;
  g_assert_true(actr_package_build_file(&o, out, &error));
  g_assert_no_error(error);
  {
    g_autoptr(ActrPackage) q = actr_package_load(out, &error);

    g_assert_no_error(error);
    g_assert_cmpstr(actr_package_get_manifest(q)->name, ==, "echo-renamed");
    g_assert_cmpstr(actr_package_get_manifest(q)->description, ==, "renamed");
    g_assert_null(actr_package_get_manifest(q)->lock_file);
    g_assert_true(actr_package_verify(q, pub, &error));
    g_assert_null(actr_package_get_lock_file(q));
  }
  remove_tree(dir);
}

static void
test_build_errors(void)
{
  g_autoptr(ActrMfrKey) key = new_key("other");
  g_autoptr(ActrMfrKey) anykey = new_key(NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = make_temp_dir();
  g_autofree char *text_file = g_build_filename(dir, "not-a-library.so", NULL);
  g_autofree char *bad_lock = g_build_filename(dir, "bad.lock", NULL);
  ActrPackageBuildOptions o = {.workload_path = echo_path, .key = key};
  g_autoptr(GBytes) b = NULL;

  /* A key of another manufacturer. */
  g_assert_null(actr_package_build(&o, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_INVALID);
  g_assert_nonnull(strstr(error->message, "manufacturer 'other'"));
  g_clear_error(&error);

  o.key = anykey;
  o.actr_type = "not-a-type";
  g_assert_null(actr_package_build(&o, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_INVALID);
  g_clear_error(&error);

  o.actr_type = NULL;
  o.target = "x86";
  g_assert_null(actr_package_build(&o, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_INVALID);
  g_clear_error(&error);
  o.target = NULL;

  /* Not a workload: its type cannot be read, unless given. */
  g_assert_true(g_file_set_contents(text_file, "hello", -1, NULL));
  o.workload_path = text_file;
  g_assert_null(actr_package_build(&o, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_INVALID);
  g_clear_error(&error);
  o.actr_type = "acme:blob:1";
  o.target = "wasm32-wasip2";
  b = actr_package_build(&o, &error);
  g_assert_no_error(error);
  g_assert_nonnull(b);

  o.workload_path = "/nonexistent/lib.so";
  g_assert_null(actr_package_build(&o, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO);
  g_assert_nonnull(strstr(error->message, "/nonexistent/lib.so"));
  g_clear_error(&error);

  o.workload_path = echo_path;
  o.lock_path = bad_lock;
  g_assert_true(g_file_set_contents(bad_lock, "[[dependency]]\nactr_type = 1\n", -1, NULL));
  g_assert_null(actr_package_build(&o, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_LOCK_FILE);
  g_assert_true(g_str_has_prefix(error->message, bad_lock));
  remove_tree(dir);
}

static void
test_tampered_binary(void)
{
  g_autoptr(ActrMfrKey) key = new_key(NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = build_echo(key, NULL, &error);
  /* The echo library holds its descriptor's type string. */
  g_autoptr(GBytes) tampered = flip_at(bytes, "echo.Echo.Echo", 0);
  g_autoptr(ActrPackage) p = load_bytes(tampered, &error);
  guint8 pub[32];

  g_assert_no_error(error);
  public_of(key, pub);
  g_assert_false(actr_package_verify(p, pub, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_HASH);
  g_assert_nonnull(strstr(error->message, "bin/libecho.so' was modified"));
  g_assert_true(g_str_has_prefix(error->message, "test.actr: "));
  g_assert_false(actr_package_is_verified(p));
}

static void
test_tampered_manifest(void)
{
  g_autoptr(ActrMfrKey) key = new_key(NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = build_echo(key, NULL, &error);
  /* version = "1.0.0" -> "1.0.1": still a valid manifest. */
  g_autoptr(GBytes) tampered = flip_at(bytes, "version = \"1.0.0\"", 15);
  g_autoptr(ActrPackage) p = load_bytes(tampered, &error);
  guint8 pub[32];

  g_assert_no_error(error);
  g_assert_cmpstr(actr_package_get_manifest(p)->version, ==, "1.0.1");
  public_of(key, pub);
  g_assert_false(actr_package_verify(p, pub, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_SIGNATURE);
}

static void
test_wrong_key(void)
{
  g_autoptr(ActrMfrKey) key = new_key(NULL);
  g_autoptr(ActrMfrKey) other = new_key(NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = build_echo(key, NULL, &error);
  g_autoptr(ActrPackage) p = load_bytes(bytes, &error);
  guint8 pub[32];

  public_of(other, pub);
  g_assert_false(actr_package_verify(p, pub, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_SIGNATURE);
  g_assert_nonnull(strstr(error->message, "does not verify with this key"));
  g_assert_false(actr_package_is_verified(p));
}

static void
test_unknown_format(void)
{
  g_autoptr(ActrMfrKey) key = new_key(NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = manifest_for("bin", actr_package_host_target(), NULL);
  g_autofree char *rsa = NULL;
  static const char garbage[] = "this is not a zip archive at all";
  g_autoptr(GBytes) g = g_bytes_new_static(garbage, sizeof garbage - 1);
  g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
  g_autoptr(GBytes) pkg = NULL;
  g_autoptr(ActrPackage) p = NULL;
  guint8 pub[32];

  g_assert_null(load_bytes(g, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, "test.actr: not an .actr package"));
  g_clear_error(&error);
  g_assert_null(load_bytes(empty, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT);
  g_clear_error(&error);

  /* A valid ZIP that is not a package. */
  {
    g_autoptr(ActrZipWriter) w = actr_zip_writer_new();
    g_autoptr(GBytes) readme = g_bytes_new_static("hi", 2);
    g_autoptr(GBytes) zip = NULL;

    actr_zip_writer_add(w, "README", readme, 0644);
    zip = actr_zip_writer_finish(w);
    g_assert_null(load_bytes(zip, &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_MISSING);
    g_assert_nonnull(strstr(error->message, "manifest.toml"));
    g_clear_error(&error);
  }

  /* An unknown signature algorithm (the manifest is otherwise fine). */
  rsa = g_strdup_printf("signature_algorithm = \"rsa-pss\"\n%s", text);
  pkg = craft_package(key, rsa, "bin/x", "bin", NULL);
  p = load_bytes(pkg, &error);
  g_assert_no_error(error);
  public_of(key, pub);
  g_assert_false(actr_package_verify(p, pub, &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, "rsa-pss"));
}

static void
test_malformed_package(void)
{
  g_autoptr(ActrMfrKey) key = new_key(NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *good = manifest_for("bin", actr_package_host_target(), NULL);
  guint8 pub[32];

  public_of(key, pub);
  /* A malformed manifest is reported as such, naming the entry. */
  {
    g_autoptr(GBytes) pkg = craft_package(key, "manufacturer = \"acme\"\n", NULL);

    g_assert_null(load_bytes(pkg, &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_MANIFEST);
    g_assert_true(g_str_has_prefix(error->message, "test.actr: manifest.toml"));
    g_clear_error(&error);
  }
  /* The binary named by the manifest is absent. */
  {
    g_autoptr(GBytes) pkg = craft_package(key, good, NULL);
    g_autoptr(ActrPackage) p = load_bytes(pkg, &error);

    g_assert_no_error(error);
    g_assert_false(actr_package_verify(p, pub, &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_MISSING);
    g_clear_error(&error);
  }
  /* A wrong size. */
  {
    g_autofree char *m = manifest_for("bin", actr_package_host_target(), NULL);
    g_autofree char *bad = NULL;
    char *size = strstr(m, "size = 3");

    g_assert_nonnull(size);
    size[7] = '4';
    bad = g_strdup(m);
    {
      g_autoptr(GBytes) pkg = craft_package(key, bad, "bin/x", "bin", NULL);
      g_autoptr(ActrPackage) p = load_bytes(pkg, &error);

      g_assert_no_error(error);
      g_assert_false(actr_package_verify(p, pub, &error));
      g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_HASH);
      g_clear_error(&error);
    }
  }
  /* A lock file that the manifest does not pin is not trusted. */
  {
    g_autoptr(GBytes) pkg =
        craft_package(key, good, "bin/x", "bin", ACTR_PACKAGE_LOCK_ENTRY, lock_text, NULL);
    g_autoptr(ActrPackage) p = load_bytes(pkg, &error);

    g_assert_no_error(error);
    g_assert_false(actr_package_verify(p, pub, &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_HASH);
    g_assert_nonnull(strstr(error->message, "not covered"));
    g_clear_error(&error);
  }
  /* A pinned lock file that is malformed. */
  {
    static const char bad_lock[] = "[[dependency]]\nfingerprint = \"x\"\n";
    g_autofree char *hash = sha_hex(bad_lock);
    g_autofree char *extra =
        g_strdup_printf("[lock_file]\npath = \"manifest.lock.toml\"\nhash = \"%s\"\n", hash);
    g_autofree char *m = manifest_for("bin", actr_package_host_target(), NULL);
    g_autofree char *full = g_strconcat(m, extra, NULL);
    g_autoptr(GBytes) pkg =
        craft_package(key, full, "bin/x", "bin", ACTR_PACKAGE_LOCK_ENTRY, bad_lock, NULL);
    g_autoptr(ActrPackage) p = load_bytes(pkg, &error);

    g_assert_no_error(error);
    g_assert_false(actr_package_verify(p, pub, &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_LOCK_FILE);
    g_assert_true(g_str_has_prefix(error->message, "test.actr: manifest.lock.toml"));
    g_clear_error(&error);
  }
  /* A resource whose hash does not match. */
  {
    g_autofree char *hash = sha_hex("original");
    g_autofree char *extra =
        g_strdup_printf("[[resources]]\npath = \"res/config.toml\"\nhash = \"%s\"\n", hash);
    g_autofree char *m = manifest_for("bin", actr_package_host_target(), NULL);
    g_autofree char *full = g_strconcat(m, extra, NULL);
    g_autoptr(GBytes) pkg =
        craft_package(key, full, "bin/x", "bin", "res/config.toml", "changed", NULL);
    g_autoptr(ActrPackage) p = load_bytes(pkg, &error);

    g_assert_no_error(error);
    g_assert_false(actr_package_verify(p, pub, &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_HASH);
    g_assert_nonnull(strstr(error->message, "resource 'res/config.toml'"));
    g_clear_error(&error);
  }
  /* A signature of the wrong size. */
  {
    g_autoptr(ActrZipWriter) w = actr_zip_writer_new();
    g_autoptr(GBytes) m = g_bytes_new(good, strlen(good));
    g_autoptr(GBytes) s = g_bytes_new_static("short", 5);
    g_autoptr(GBytes) pkg = NULL;
    g_autoptr(ActrPackage) p = NULL;

    actr_zip_writer_add(w, ACTR_PACKAGE_MANIFEST_ENTRY, m, 0644);
    actr_zip_writer_add(w, ACTR_PACKAGE_SIGNATURE_ENTRY, s, 0644);
    pkg = actr_zip_writer_finish(w);
    p = load_bytes(pkg, &error);
    g_assert_no_error(error);
    g_assert_false(actr_package_verify(p, pub, &error));
    g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_SIGNATURE);
    g_assert_nonnull(strstr(error->message, "5 bytes"));
  }
}

/* A package for another architecture verifies, but does not load here. */
static void
test_wrong_target(void)
{
  g_autoptr(ActrMfrKey) key = new_key(NULL);
  g_autoptr(GError) error = NULL;
  ActrPackageBuildOptions o = {.workload_path = echo_path,
                               .actr_type = "acme:echo:1.0.0",
                               .target = other_arch_target(),
                               .key = key};
  g_autoptr(GBytes) bytes = actr_package_build(&o, &error);
  g_autoptr(ActrPackage) p = load_bytes(bytes, &error);
  guint8 pub[32];

  g_assert_no_error(error);
  public_of(key, pub);
  g_assert_true(actr_package_verify(p, pub, &error));
  g_assert_false(actr_package_check_target(actr_package_get_manifest(p), &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_TARGET);
  g_assert_nonnull(strstr(error->message, other_arch_target()));
}

/* A package re-compressed with deflate by another ZIP tool (committed
 * fixture) still verifies. */
static void
test_deflated_fixture(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrPackage) p = actr_package_load(deflated_path, &error);
  guint8 pub[32];
  char *id = NULL;

  g_assert_no_error(error);
  g_assert_true(actr_mfr_public_key_load(deflated_pub_path, pub, &id, &error));
  g_assert_no_error(error);
  g_assert_cmpstr(id, ==, actr_package_get_manifest(p)->signing_key_id);
  g_free(id);
  g_assert_true(actr_package_verify(p, pub, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(actr_package_get_lock_file(p)->dependencies->len, ==, 1);
}

static void
test_zip_container(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) a = g_bytes_new_static("A", 1);
  g_autoptr(GBytes) b = g_bytes_new_static("BB", 2);
  g_autoptr(ActrZipWriter) w = actr_zip_writer_new();
  g_autoptr(GBytes) zip = NULL, dup = NULL, evil = NULL, trunc = NULL;
  g_autoptr(ActrZip) z = NULL;
  g_autoptr(GBytes) got = NULL;
  gsize len = 0;
  const guint8 *data;
  guint8 *copy;

  g_assert_cmpuint(actr_crc32(0, (const guint8 *)"123456789", 9), ==, 0xcbf43926u);
  g_assert_true(actr_zip_name_is_valid("bin/lib.so"));
  g_assert_true(actr_zip_name_is_valid("dir/"));
  g_assert_false(actr_zip_name_is_valid("../x"));
  g_assert_false(actr_zip_name_is_valid("a/../x"));
  g_assert_false(actr_zip_name_is_valid("/abs"));
  g_assert_false(actr_zip_name_is_valid("a//b"));
  g_assert_false(actr_zip_name_is_valid("a\\b"));
  g_assert_false(actr_zip_name_is_valid("./a"));
  g_assert_false(actr_zip_name_is_valid(""));

  actr_zip_writer_add(w, "aa", a, 0644);
  actr_zip_writer_add(w, "bb", b, 0644);
  zip = actr_zip_writer_finish(w);
  z = actr_zip_open(zip, "z", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(actr_zip_get_n_entries(z), ==, 2);
  g_assert_cmpstr(actr_zip_get_name(z, 1), ==, "bb");
  got = actr_zip_read(z, "bb", 16, TRUE, &error);
  g_assert_no_error(error);
  g_assert_true(g_bytes_equal(got, b));
  g_assert_null(actr_zip_read(z, "bb", 1, TRUE, &error)); /* over the limit */
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT);
  g_clear_error(&error);
  g_clear_pointer(&z, actr_zip_free);

  /* Rename "bb" to "aa" in both headers: a duplicate name. */
  data = g_bytes_get_data(zip, &len);
  copy = g_memdup2(data, len);
  for (gsize i = 0; i + 2 <= len; i++) {
    if (copy[i] == 'b' && copy[i + 1] == 'b')
      copy[i] = copy[i + 1] = 'a';
  }
  dup = g_bytes_new_take(copy, len);
  g_assert_null(actr_zip_open(dup, "z", &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, "appears twice"));
  g_clear_error(&error);

  /* ".." as a name: rename "bb" to "..". */
  copy = g_memdup2(data, len);
  for (gsize i = 0; i + 2 <= len; i++) {
    if (copy[i] == 'b' && copy[i + 1] == 'b')
      copy[i] = copy[i + 1] = '.';
  }
  evil = g_bytes_new_take(copy, len);
  g_assert_null(actr_zip_open(evil, "z", &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, "unsafe"));
  g_clear_error(&error);

  /* Truncated: no end-of-central-directory record. */
  trunc = g_bytes_new_from_bytes(zip, 0, len - 1);
  g_assert_null(actr_zip_open(trunc, "z", &error));
  g_assert_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT);
}

static void
test_extract_binary(void)
{
  g_autoptr(ActrMfrKey) key = new_key(NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = build_echo(key, NULL, &error);
  g_autoptr(ActrPackage) p = load_bytes(bytes, &error);
  g_autofree char *dir = make_temp_dir();
  g_autofree char *path = NULL, *path2 = NULL, *path3 = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;
  guint8 pub[32];
  char hex[65];

  public_of(key, pub);
  g_assert_true(actr_package_verify(p, pub, &error));
  path = actr_package_extract_binary(p, dir, &error);
  g_assert_no_error(error);
  actr_package_hash_to_hex(actr_package_get_manifest(p)->binary_hash, hex);
  g_assert_true(g_str_has_suffix(path, hex) || strstr(path, hex) != NULL);
  g_assert_true(g_str_has_suffix(path, ".so"));
  g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
  g_assert_cmpmem(contents, len, g_bytes_get_data(actr_package_get_binary(p), NULL),
                  g_bytes_get_size(actr_package_get_binary(p)));
  g_clear_pointer(&contents, g_free);

  /* Reused when good, healed when corrupt; no temporary files left. */
  path2 = actr_package_extract_binary(p, dir, &error);
  g_assert_cmpstr(path2, ==, path);
  g_assert_true(g_file_set_contents(path, "corrupt", -1, NULL));
  path3 = actr_package_extract_binary(p, dir, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(path3, ==, path);
  g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
  g_assert_cmpuint(len, ==, g_bytes_get_size(actr_package_get_binary(p)));
  {
    g_autofree char *cache = g_path_get_dirname(path);
    g_autoptr(GDir) d = g_dir_open(cache, 0, NULL);
    guint n = 0;

    while (g_dir_read_name(d) != NULL)
      n++;
    g_assert_cmpuint(n, ==, 1);
  }
  remove_tree(dir);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (argc < 4) {
    g_printerr("usage: %s ECHO_SO DEFLATED_ACTR DEFLATED_PUB [--tap]\n", argv[0]);
    return 2;
  }
  echo_path = argv[1];
  deflated_path = argv[2];
  deflated_pub_path = argv[3];

  g_test_add_func("/package/manifest/round-trip", test_manifest_round_trip);
  g_test_add_func("/package/manifest/malformed", test_manifest_malformed);
  g_test_add_func("/package/lock-file/lookup", test_lock_file);
  g_test_add_func("/package/lock-file/malformed", test_lock_file_malformed);
  g_test_add_func("/package/target", test_targets);
  g_test_add_func("/package/key/file", test_key_file);
  g_test_add_func("/package/key/malformed", test_key_file_malformed);
  g_test_add_func("/package/key/public", test_public_key_parse);
  g_test_add_func("/package/key/url", test_mfr_url);
  g_test_add_func("/package/round-trip", test_round_trip);
  g_test_add_func("/package/build-errors", test_build_errors);
  g_test_add_func("/package/tampered-binary", test_tampered_binary);
  g_test_add_func("/package/tampered-manifest", test_tampered_manifest);
  g_test_add_func("/package/wrong-key", test_wrong_key);
  g_test_add_func("/package/unknown-format", test_unknown_format);
  g_test_add_func("/package/malformed", test_malformed_package);
  g_test_add_func("/package/wrong-target", test_wrong_target);
  g_test_add_func("/package/deflated", test_deflated_fixture);
  g_test_add_func("/package/zip", test_zip_container);
  g_test_add_func("/package/extract", test_extract_binary);
  return g_test_run();
}
