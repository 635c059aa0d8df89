/* actr — .actr packages: manifests, lock files, targets, building, loading
 * and verifying (see package.h and docs/packages.md).  Manufacturer keys
 * and the key server client are in package-mfr.c. */
#include "package.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "package-private.h"
#include "package-zip.h"
#include "toml.h"
#include "workload-loader.h"

G_DEFINE_QUARK(actr - package - error - quark, actr_package_error)

/* ---- Small helpers ---------------------------------------------------------- */

void
actr_package_hash_to_hex(const guint8 hash[32], char out[65])
{
  static const char digits[] = "0123456789abcdef";

  for (int i = 0; i < 32; i++) {
    out[2 * i] = digits[hash[i] >> 4];
    out[2 * i + 1] = digits[hash[i] & 0xf];
  }
  out[64] = '\0';
}

gboolean
actr_package_hash_from_hex(const char *hex, guint8 out[32])
{
  if (hex == NULL || strlen(hex) != 64)
    return FALSE;
  for (int i = 0; i < 32; i++) {
    int hi = g_ascii_xdigit_value(hex[2 * i]);
    int lo = g_ascii_xdigit_value(hex[2 * i + 1]);

    if (hi < 0 || lo < 0)
      return FALSE;
    out[i] = (guint8)((hi << 4) | lo);
  }
  return TRUE;
}

void
actr_package_sha256(GBytes *bytes, guint8 out[32])
{
  g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
  gsize len = 0, out_len = 32;
  const guint8 *data = g_bytes_get_data(bytes, &len);

  g_checksum_update(sum, data, len);
  g_checksum_get_digest(sum, out, &out_len);
}

/* Appends @text as a TOML basic string (with the quotes). */
void
actr_package_toml_quote(GString *out, const char *text)
{
  g_string_append_c(out, '"');
  for (const char *p = text; *p != '\0'; p++) {
    guchar c = (guchar)*p;

    if (c == '"' || c == '\\')
      g_string_append_printf(out, "\\%c", c);
    else if (c == '\n')
      g_string_append(out, "\\n");
    else if (c == '\t')
      g_string_append(out, "\\t");
    else if (c < 0x20 || c == 0x7f)
      g_string_append_printf(out, "\\u%04x", c);
    else
      g_string_append_c(out, (char)c);
  }
  g_string_append_c(out, '"');
}

/* Reads a whole file (or pipe) of at most @max bytes. */
GBytes *
actr_package_read_file(const char *path, gsize max, GError **error)
{
  GStatBuf st;
  char *contents = NULL;
  gsize len = 0;
  g_autoptr(GError) local = NULL;

  if (g_stat(path, &st) != 0) {
    int saved = errno;

    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO, "%s: %s", path,
                g_strerror(saved));
    return NULL;
  }
  if (S_ISDIR(st.st_mode)) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO, "%s: is a directory", path);
    return NULL;
  }
  /* Pipes (--pubkey-file <(...)) have no size yet: checked after reading. */
  if (S_ISREG(st.st_mode) && (guint64)st.st_size > max) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO,
                "%s: too large (%" G_GUINT64_FORMAT " bytes, at most %" G_GSIZE_FORMAT ")", path,
                (guint64)st.st_size, max);
    return NULL;
  }
  if (!g_file_get_contents(path, &contents, &len, &local)) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO, "%s", local->message);
    return NULL;
  }
  if (len > max) {
    g_free(contents);
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO, "%s: too large", path);
    return NULL;
  }
  return g_bytes_new_take(contents, len);
}

/* ---- Reading TOML fields ------------------------------------------------------ */

/* Context for the field readers: the origin for messages and the error code
 * of the document kind (MANIFEST or LOCK_FILE). */
typedef struct {
  const char *origin;
  ActrPackageError code;
  GError **error;
} Doc;

static gboolean doc_fail(const Doc *doc, const ActrTomlValue *at, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
doc_fail(const Doc *doc, const ActrTomlValue *at, const char *format, ...)
{
  va_list ap;
  g_autofree char *message = NULL;

  va_start(ap, format);
  message = g_strdup_vprintf(format, ap);
  va_end(ap);
  if (at != NULL && actr_toml_value_line(at) > 0)
    g_set_error(doc->error, ACTR_PACKAGE_ERROR, doc->code, "%s:%u: %s", doc->origin,
                actr_toml_value_line(at), message);
  else
    g_set_error(doc->error, ACTR_PACKAGE_ERROR, doc->code, "%s: %s", doc->origin, message);
  return FALSE;
}

/* Reads string @key of @table (named @where, "" for the root).  Absent:
 * *out = NULL and TRUE unless @required.  Non-strings and empty strings are
 * errors. */
static gboolean
get_string(const Doc *doc, const ActrTomlValue *table, const char *where, const char *key,
           gboolean required, const char **out)
{
  const ActrTomlValue *v = actr_toml_table_lookup(table, key);
  const char *dot = where[0] != '\0' ? "." : "";

  *out = NULL;
  if (v == NULL) {
    if (required)
      return doc_fail(doc, table, "missing key '%s%s%s'", where, dot, key);
    return TRUE;
  }
  if (actr_toml_value_type(v) != ACTR_TOML_STRING)
    return doc_fail(doc, v, "'%s%s%s' must be a string, not %s", where, dot, key,
                    actr_toml_type_name(actr_toml_value_type(v)));
  *out = actr_toml_value_string(v);
  if ((*out)[0] == '\0')
    return doc_fail(doc, v, "'%s%s%s' must not be empty", where, dot, key);
  return TRUE;
}

/* Reads a sub-table; absent: *out = NULL. */
static gboolean
get_table(const Doc *doc, const ActrTomlValue *table, const char *key, gboolean required,
          const ActrTomlValue **out)
{
  const ActrTomlValue *v = actr_toml_table_lookup(table, key);

  *out = NULL;
  if (v == NULL) {
    if (required)
      return doc_fail(doc, NULL, "missing table [%s]", key);
    return TRUE;
  }
  if (actr_toml_value_type(v) != ACTR_TOML_TABLE)
    return doc_fail(doc, v, "'%s' must be a table, not %s", key,
                    actr_toml_type_name(actr_toml_value_type(v)));
  *out = v;
  return TRUE;
}

/* ---- Manifest ---------------------------------------------------------------- */

static const char *const binary_kind_names[] = {
    [ACTR_PACKAGE_BINARY_NATIVE] = "native-cdylib",
    [ACTR_PACKAGE_BINARY_COMPONENT] = "component",
    [ACTR_PACKAGE_BINARY_CORE_MODULE] = "core-module",
};

const char *
actr_package_binary_kind_name(ActrPackageBinaryKind kind)
{
  g_return_val_if_fail((guint)kind < G_N_ELEMENTS(binary_kind_names), "unknown");
  return binary_kind_names[kind];
}

static gboolean
target_is_wasm(const char *target)
{
  return g_str_has_prefix(target, "wasm32-");
}

static void
file_ref_free(ActrPackageFileRef *ref)
{
  if (ref == NULL)
    return;
  g_free(ref->name);
  g_free(ref->path);
  g_free(ref);
}

void
actr_package_manifest_free(ActrPackageManifest *m)
{
  if (m == NULL)
    return;
  g_free(m->manufacturer);
  g_free(m->name);
  g_free(m->version);
  g_free(m->signature_algorithm);
  g_free(m->signing_key_id);
  g_free(m->binary_path);
  g_free(m->binary_target);
  file_ref_free(m->lock_file);
  g_clear_pointer(&m->resources, g_ptr_array_unref);
  g_clear_pointer(&m->proto_files, g_ptr_array_unref);
  g_free(m->description);
  g_free(m->license);
  g_free(m);
}

static ActrPackageManifest *
manifest_new(void)
{
  ActrPackageManifest *m = g_new0(ActrPackageManifest, 1);

  m->resources = g_ptr_array_new_with_free_func((GDestroyNotify)file_ref_free);
  m->proto_files = g_ptr_array_new_with_free_func((GDestroyNotify)file_ref_free);
  return m;
}

static gboolean
is_reserved_entry(const char *path)
{
  return strcmp(path, ACTR_PACKAGE_MANIFEST_ENTRY) == 0 ||
         strcmp(path, ACTR_PACKAGE_SIGNATURE_ENTRY) == 0;
}

/* An entry path in the manifest: a valid, non-reserved archive file name. */
static gboolean
check_entry_path(const Doc *doc, const ActrTomlValue *at, const char *key, const char *path)
{
  if (!actr_zip_name_is_valid(path) || g_str_has_suffix(path, "/"))
    return doc_fail(doc, at, "'%s' is not a safe relative file name", key);
  if (is_reserved_entry(path))
    return doc_fail(doc, at, "'%s' must not name %s", key, path);
  return TRUE;
}

static gboolean
get_hash(const Doc *doc, const ActrTomlValue *table, const char *where, guint8 out[32])
{
  const char *hex;

  if (!get_string(doc, table, where, "hash", TRUE, &hex))
    return FALSE;
  if (!actr_package_hash_from_hex(hex, out))
    return doc_fail(doc, actr_toml_table_lookup(table, "hash"),
                    "'%s.hash' must be 64 hex digits (SHA-256)", where);
  return TRUE;
}

/* [lock_file], or one element of [[resources]] / [[proto_files]]. */
static ActrPackageFileRef *
parse_file_ref(const Doc *doc, const ActrTomlValue *table, const char *where, gboolean with_name)
{
  ActrPackageFileRef *ref;
  const char *path, *name = NULL;
  guint8 hash[32];
  g_autofree char *path_key = g_strdup_printf("%s.path", where);

  if (actr_toml_value_type(table) != ACTR_TOML_TABLE) {
    doc_fail(doc, table, "'%s' must be a table", where);
    return NULL;
  }
  if (!get_string(doc, table, where, "path", TRUE, &path) ||
      !check_entry_path(doc, actr_toml_table_lookup(table, "path"), path_key, path) ||
      !get_hash(doc, table, where, hash) ||
      (with_name && !get_string(doc, table, where, "name", TRUE, &name)))
    return NULL;
  ref = g_new0(ActrPackageFileRef, 1);
  ref->name = g_strdup(name);
  ref->path = g_strdup(path);
  memcpy(ref->hash, hash, 32);
  return ref;
}

static gboolean
parse_file_refs(const Doc *doc, const ActrTomlValue *root, const char *key, gboolean with_name,
                GPtrArray *out)
{
  const ActrTomlValue *array = actr_toml_table_lookup(root, key);

  if (array == NULL)
    return TRUE;
  if (actr_toml_value_type(array) != ACTR_TOML_ARRAY)
    return doc_fail(doc, array, "'%s' must be an array of tables", key);
  for (guint i = 0; i < actr_toml_array_length(array); i++) {
    g_autofree char *where = g_strdup_printf("%s[%u]", key, i);
    ActrPackageFileRef *ref = parse_file_ref(doc, actr_toml_array_get(array, i), where, with_name);

    if (ref == NULL)
      return FALSE;
    g_ptr_array_add(out, ref);
  }
  return TRUE;
}

static gboolean
parse_binary(const Doc *doc, const ActrTomlValue *root, ActrPackageManifest *m)
{
  const ActrTomlValue *binary, *v;
  const char *path, *target, *kind = NULL;
  gint64 size;

  if (!get_table(doc, root, "binary", TRUE, &binary) ||
      !get_string(doc, binary, "binary", "path", TRUE, &path) ||
      !check_entry_path(doc, actr_toml_table_lookup(binary, "path"), "binary.path", path) ||
      !get_string(doc, binary, "binary", "target", TRUE, &target) ||
      !get_hash(doc, binary, "binary", m->binary_hash) ||
      !get_string(doc, binary, "binary", "kind", FALSE, &kind))
    return FALSE;
  for (const char *p = target; *p != '\0'; p++) {
    if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
      return doc_fail(doc, actr_toml_table_lookup(binary, "target"),
                      "'binary.target' is not a target triple");
  }
  v = actr_toml_table_lookup(binary, "size");
  if (v != NULL) {
    if (!actr_toml_value_int(v, &size) || size < 0)
      return doc_fail(doc, v, "'binary.size' must be a non-negative integer");
    m->has_binary_size = TRUE;
    m->binary_size = (guint64)size;
  }
  if (kind != NULL) {
    gboolean known = FALSE;

    for (guint i = 0; i < G_N_ELEMENTS(binary_kind_names); i++) {
      if (strcmp(kind, binary_kind_names[i]) == 0) {
        m->binary_kind = (ActrPackageBinaryKind)i;
        known = TRUE;
      }
    }
    if (!known)
      return doc_fail(doc, actr_toml_table_lookup(binary, "kind"),
                      "unknown 'binary.kind' (native-cdylib, component or core-module)");
    m->binary_kind_declared = TRUE;
    if ((m->binary_kind == ACTR_PACKAGE_BINARY_NATIVE) == target_is_wasm(target))
      return doc_fail(doc, actr_toml_table_lookup(binary, "kind"),
                      "'binary.kind' %s does not fit target %s", kind, target);
  } else {
    /* Manifests older than binary.kind: WASM ones were core modules. */
    m->binary_kind =
        target_is_wasm(target) ? ACTR_PACKAGE_BINARY_CORE_MODULE : ACTR_PACKAGE_BINARY_NATIVE;
  }
  m->binary_path = g_strdup(path);
  m->binary_target = g_strdup(target);
  return TRUE;
}

ActrPackageManifest *
actr_package_manifest_parse(const char *data, gsize len, const char *origin, GError **error)
{
  Doc doc = {origin != NULL ? origin : ACTR_PACKAGE_MANIFEST_ENTRY, ACTR_PACKAGE_ERROR_MANIFEST,
             error};
  g_autoptr(ActrPackageManifest) m = manifest_new();
  g_autoptr(ActrTomlValue) root = NULL;
  g_autoptr(GError) local = NULL;
  const char *manufacturer, *name, *version, *algorithm, *key_id, *description, *license;
  const ActrTomlValue *lock, *metadata;

  root = actr_toml_parse(data, len, doc.origin, &local);
  if (root == NULL) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_MANIFEST, "%s", local->message);
    return NULL;
  }
  if (!get_string(&doc, root, "", "manufacturer", TRUE, &manufacturer) ||
      !get_string(&doc, root, "", "name", TRUE, &name) ||
      !get_string(&doc, root, "", "version", TRUE, &version) ||
      !get_string(&doc, root, "", "signature_algorithm", FALSE, &algorithm) ||
      !get_string(&doc, root, "", "signing_key_id", FALSE, &key_id))
    return NULL;
  if (!actr_name_validate(manufacturer, &local) || !actr_name_validate(name, &local)) {
    doc_fail(&doc, NULL, "invalid type: %s", local->message);
    return NULL;
  }
  if (strchr(version, ':') != NULL) {
    doc_fail(&doc, actr_toml_table_lookup(root, "version"), "'version' must not contain ':'");
    return NULL;
  }
  if (!parse_binary(&doc, root, m) || !get_table(&doc, root, "lock_file", FALSE, &lock) ||
      !parse_file_refs(&doc, root, "resources", FALSE, m->resources) ||
      !parse_file_refs(&doc, root, "proto_files", TRUE, m->proto_files) ||
      !get_table(&doc, root, "metadata", FALSE, &metadata) ||
      !get_string(&doc, metadata, "metadata", "description", FALSE, &description) ||
      !get_string(&doc, metadata, "metadata", "license", FALSE, &license))
    return NULL;
  if (lock != NULL && (m->lock_file = parse_file_ref(&doc, lock, "lock_file", FALSE)) == NULL)
    return NULL;
  if (m->lock_file != NULL && strcmp(m->lock_file->path, m->binary_path) == 0) {
    doc_fail(&doc, lock, "'lock_file.path' names the binary");
    return NULL;
  }
  m->manufacturer = g_strdup(manufacturer);
  m->name = g_strdup(name);
  m->version = g_strdup(version);
  m->signature_algorithm = g_strdup(algorithm != NULL ? algorithm : "ed25519");
  m->signing_key_id = g_strdup(key_id);
  m->description = g_strdup(description);
  m->license = g_strdup(license);
  return g_steal_pointer(&m);
}

void
actr_package_manifest_get_type(const ActrPackageManifest *m, ActrType *out)
{
  out->manufacturer = g_strdup(m->manufacturer);
  out->name = g_strdup(m->name);
  out->version = g_strdup(m->version);
}

static void
append_key(GString *out, const char *key, const char *value)
{
  if (value == NULL)
    return;
  g_string_append_printf(out, "%s = ", key);
  actr_package_toml_quote(out, value);
  g_string_append_c(out, '\n');
}

static void
append_file_ref(GString *out, const ActrPackageFileRef *ref)
{
  char hex[65];

  actr_package_hash_to_hex(ref->hash, hex);
  append_key(out, "name", ref->name);
  append_key(out, "path", ref->path);
  append_key(out, "hash", hex);
}

char *
actr_package_manifest_to_toml(const ActrPackageManifest *m)
{
  GString *out = g_string_new(NULL);
  char hex[65];

  append_key(out, "manufacturer", m->manufacturer);
  append_key(out, "name", m->name);
  append_key(out, "version", m->version);
  append_key(out, "signature_algorithm", m->signature_algorithm);
  append_key(out, "signing_key_id", m->signing_key_id);
  g_string_append(out, "\n[binary]\n");
  append_key(out, "path", m->binary_path);
  append_key(out, "target", m->binary_target);
  actr_package_hash_to_hex(m->binary_hash, hex);
  append_key(out, "hash", hex);
  if (m->has_binary_size)
    g_string_append_printf(out, "size = %" G_GUINT64_FORMAT "\n", m->binary_size);
  if (m->binary_kind_declared)
    append_key(out, "kind", actr_package_binary_kind_name(m->binary_kind));
  if (m->lock_file != NULL) {
    g_string_append(out, "\n[lock_file]\n");
    append_file_ref(out, m->lock_file);
  }
  for (guint i = 0; i < m->resources->len; i++) {
    g_string_append(out, "\n[[resources]]\n");
    append_file_ref(out, g_ptr_array_index(m->resources, i));
  }
  for (guint i = 0; i < m->proto_files->len; i++) {
    g_string_append(out, "\n[[proto_files]]\n");
    append_file_ref(out, g_ptr_array_index(m->proto_files, i));
  }
  if (m->description != NULL || m->license != NULL) {
    g_string_append(out, "\n[metadata]\n");
    append_key(out, "description", m->description);
    append_key(out, "license", m->license);
  }
  return g_string_free(out, FALSE);
}

/* ---- Lock file --------------------------------------------------------------- */

static void
lock_dependency_free(ActrLockDependency *dep)
{
  g_free(dep->name);
  g_free(dep->actr_type);
  g_free(dep->fingerprint);
  g_free(dep->description);
  g_free(dep);
}

void
actr_lock_file_free(ActrLockFile *lock)
{
  if (lock == NULL)
    return;
  g_clear_pointer(&lock->dependencies, g_ptr_array_unref);
  g_free(lock);
}

/* Splits a lock-file type: "m:n:v" (a full ActrType), "m:n" or "m+n" (no
 * version).  @version_out is NULL for the short forms.  Each output is
 * transfer full. */
static gboolean
lock_type_parse(const char *text, char **manufacturer_out, char **name_out, char **version_out)
{
  g_auto(ActrType) type = {0};
  const char *sep;
  g_autofree char *manufacturer = NULL, *name = NULL;

  if (actr_type_parse(text, &type, NULL)) {
    *manufacturer_out = g_steal_pointer(&type.manufacturer);
    *name_out = g_steal_pointer(&type.name);
    *version_out = g_steal_pointer(&type.version);
    return TRUE;
  }
  sep = strchr(text, '+');
  if (sep == NULL)
    sep = strchr(text, ':');
  if (sep == NULL)
    return FALSE;
  manufacturer = g_strndup(text, (gsize)(sep - text));
  name = g_strdup(sep + 1);
  if (!actr_name_is_valid(manufacturer) || !actr_name_is_valid(name))
    return FALSE;
  *manufacturer_out = g_steal_pointer(&manufacturer);
  *name_out = g_steal_pointer(&name);
  *version_out = NULL;
  return TRUE;
}

ActrLockFile *
actr_lock_file_parse(const char *data, gsize len, const char *origin, GError **error)
{
  Doc doc = {origin != NULL ? origin : ACTR_PACKAGE_LOCK_ENTRY, ACTR_PACKAGE_ERROR_LOCK_FILE,
             error};
  g_autoptr(ActrTomlValue) root = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(ActrLockFile) lock = g_new0(ActrLockFile, 1);
  const ActrTomlValue *deps, *metadata;

  lock->dependencies = g_ptr_array_new_with_free_func((GDestroyNotify)lock_dependency_free);
  root = actr_toml_parse(data, len, doc.origin, &local);
  if (root == NULL) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_LOCK_FILE, "%s", local->message);
    return NULL;
  }
  if (!get_table(&doc, root, "metadata", FALSE, &metadata))
    return NULL;
  deps = actr_toml_table_lookup(root, "dependency");
  if (deps != NULL && actr_toml_value_type(deps) != ACTR_TOML_ARRAY) {
    doc_fail(&doc, deps, "'dependency' must be an array of tables ([[dependency]])");
    return NULL;
  }
  for (guint i = 0; i < actr_toml_array_length(deps); i++) {
    const ActrTomlValue *t = actr_toml_array_get(deps, i);
    g_autofree char *where = g_strdup_printf("dependency[%u]", i);
    g_autofree char *m = NULL, *n = NULL, *v = NULL;
    const char *name, *type, *fingerprint, *description;
    ActrLockDependency *dep;

    if (actr_toml_value_type(t) != ACTR_TOML_TABLE) {
      doc_fail(&doc, t, "'%s' must be a table", where);
      return NULL;
    }
    if (!get_string(&doc, t, where, "actr_type", TRUE, &type) ||
        !get_string(&doc, t, where, "fingerprint", TRUE, &fingerprint) ||
        !get_string(&doc, t, where, "name", FALSE, &name) ||
        !get_string(&doc, t, where, "description", FALSE, &description))
      return NULL;
    if (!lock_type_parse(type, &m, &n, &v)) {
      doc_fail(&doc, actr_toml_table_lookup(t, "actr_type"),
               "'%s.actr_type' is not an actor type (MANUFACTURER:NAME:VERSION)", where);
      return NULL;
    }
    dep = g_new0(ActrLockDependency, 1);
    dep->name = g_strdup(name != NULL ? name : type);
    dep->actr_type = g_strdup(type);
    dep->fingerprint = g_strdup(fingerprint);
    dep->description = g_strdup(description);
    g_ptr_array_add(lock->dependencies, dep);
  }
  return g_steal_pointer(&lock);
}

const ActrLockDependency *
actr_lock_file_find(const ActrLockFile *lock, const ActrType *type, GError **error)
{
  g_autofree char *text = actr_type_to_string(type);

  for (guint i = 0; i < lock->dependencies->len; i++) {
    const ActrLockDependency *dep = g_ptr_array_index(lock->dependencies, i);

    if (strcmp(dep->actr_type, text) == 0)
      return dep;
  }
  for (guint i = 0; i < lock->dependencies->len; i++) {
    const ActrLockDependency *dep = g_ptr_array_index(lock->dependencies, i);
    g_autofree char *m = NULL, *n = NULL, *v = NULL;

    if (lock_type_parse(dep->actr_type, &m, &n, &v) && g_strcmp0(m, type->manufacturer) == 0 &&
        g_strcmp0(n, type->name) == 0 && (v == NULL || g_strcmp0(v, type->version) == 0))
      return dep;
  }
  g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_DEPENDENCY_NOT_FOUND,
              "dependency %s is not in the package's lock file", text);
  return NULL;
}

const char *
actr_lock_file_fingerprint(const ActrLockFile *lock, const ActrType *type, GError **error)
{
  const ActrLockDependency *dep;

  if (lock == NULL)
    return "";
  dep = actr_lock_file_find(lock, type, error);
  return dep != NULL ? dep->fingerprint : NULL;
}

/* ---- Targets ------------------------------------------------------------------ */

#if defined(__x86_64__)
#define HOST_ARCH "x86_64"
#elif defined(__aarch64__)
#define HOST_ARCH "aarch64"
#elif defined(__i386__)
#define HOST_ARCH "i686"
#elif defined(__arm__)
#define HOST_ARCH "armv7"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ARCH "riscv64gc"
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define HOST_ARCH "powerpc64le"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#else
#define HOST_ARCH "unknown"
#endif

#if defined(__APPLE__)
#define HOST_VENDOR_OS "apple-darwin"
#elif defined(__linux__) && defined(__GLIBC__) && defined(__arm__)
#define HOST_VENDOR_OS "unknown-linux-gnueabihf"
#elif defined(__linux__) && defined(__GLIBC__)
#define HOST_VENDOR_OS "unknown-linux-gnu"
#elif defined(__linux__)
#define HOST_VENDOR_OS "unknown-linux-musl"
#elif defined(__FreeBSD__)
#define HOST_VENDOR_OS "unknown-freebsd"
#else
#define HOST_VENDOR_OS "unknown-unknown"
#endif

const char *
actr_package_host_target(void)
{
  return HOST_ARCH "-" HOST_VENDOR_OS;
}

/* One name per architecture / OS, whatever the spelling in the triple. */
static const char *
canonical_arch(const char *arch)
{
  if (strcmp(arch, "amd64") == 0)
    return "x86_64";
  if (strcmp(arch, "arm64") == 0)
    return "aarch64";
  if (strcmp(arch, "x86") == 0 ||
      (arch[0] == 'i' && strchr("3456", arch[1]) != NULL && strcmp(arch + 2, "86") == 0))
    return "x86";
  if (g_str_has_prefix(arch, "arm") || g_str_has_prefix(arch, "thumb"))
    return "arm";
  if (g_str_has_prefix(arch, "riscv64"))
    return "riscv64";
  return arch;
}

static const char *
canonical_os(const char *os)
{
  return strcmp(os, "macos") == 0 ? "darwin" : os;
}

gboolean
actr_package_check_target(const ActrPackageManifest *m, GError **error)
{
  g_auto(GStrv) parts = NULL;
  g_auto(GStrv) host = g_strsplit(actr_package_host_target(), "-", -1);

  if (target_is_wasm(m->binary_target) || m->binary_kind != ACTR_PACKAGE_BINARY_NATIVE) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_TARGET,
                m->binary_kind == ACTR_PACKAGE_BINARY_CORE_MODULE
                    ? "binary is a legacy WASM core module (target %s), which no runtime loads "
                      "any more; rebuild it as a component"
                    : "binary is a WASM component (target %s); this runtime loads native "
                      "workloads only",
                m->binary_target);
    return FALSE;
  }
  parts = g_strsplit(m->binary_target, "-", -1);
  if (g_strv_length(parts) < 3) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_TARGET,
                "binary target '%s' is not a target triple (ARCH-VENDOR-OS[-ENV])",
                m->binary_target);
    return FALSE;
  }
  if (strcmp(canonical_arch(parts[0]), canonical_arch(host[0])) != 0 ||
      strcmp(canonical_os(parts[2]), canonical_os(host[2])) != 0) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_TARGET,
                "binary is built for %s, this host is %s", m->binary_target,
                actr_package_host_target());
    return FALSE;
  }
  return TRUE;
}

/* ---- Building ------------------------------------------------------------------ */

static gboolean invalid(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
invalid(GError **error, const char *format, ...)
{
  va_list ap;
  g_autofree char *message = NULL;

  va_start(ap, format);
  message = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_set_error_literal(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_INVALID, message);
  return FALSE;
}

/* The workload's type: the option, else its descriptor. */
static gboolean
build_type(const ActrPackageBuildOptions *o, ActrType *type, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(ActrWorkload) workload = NULL;
  const char *text = o->actr_type;

  if (text == NULL) {
    workload = actr_workload_load(o->workload_path, &local);
    if (workload == NULL)
      return invalid(error,
                     "cannot read the actor type from the workload: %s (give the type "
                     "explicitly for a workload that cannot be loaded here)",
                     local->message);
    text = actr_workload_get_actr_type(workload);
  }
  if (!actr_type_parse(text, type, &local))
    return invalid(error, "invalid actor type '%s': %s", text, local->message);
  return TRUE;
}

static gboolean
check_build_target(const char *target, GError **error)
{
  g_auto(GStrv) parts = g_strsplit(target, "-", -1);

  for (const char *p = target; *p != '\0'; p++) {
    if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
      return invalid(error, "invalid target '%s'", target);
  }
  if (!target_is_wasm(target) && g_strv_length(parts) < 3)
    return invalid(error, "target '%s' is not a target triple (ARCH-VENDOR-OS[-ENV])", target);
  return TRUE;
}

/* The binary's entry name: "bin/" + the file's base name. */
static char *
binary_entry_name(const char *path, GError **error)
{
  g_autofree char *base = g_path_get_basename(path);
  g_autofree char *name = g_strconcat("bin/", base, NULL);

  if (!actr_zip_name_is_valid(name) || strchr(base, '/') != NULL || strcmp(base, ".") == 0) {
    invalid(error, "%s: the file name is not usable inside a package", path);
    return NULL;
  }
  return g_steal_pointer(&name);
}

GBytes *
actr_package_build(const ActrPackageBuildOptions *o, GError **error)
{
  g_autoptr(ActrPackageManifest) m = manifest_new();
  g_auto(ActrType) type = {0};
  g_autoptr(GBytes) binary = NULL, lock = NULL, manifest_bytes = NULL, sig_bytes = NULL;
  g_autoptr(ActrZipWriter) zip = NULL;
  g_autofree char *entry = NULL;
  char *text;
  guint8 signature[64];
  const char *target;

  g_return_val_if_fail(o != NULL && o->workload_path != NULL && o->key != NULL, NULL);

  binary = actr_package_read_file(o->workload_path, ACTR_PACKAGE_MAX_SIZE / 2, error);
  if (binary == NULL || !build_type(o, &type, error))
    return NULL;
  if (o->key->manufacturer != NULL && strcmp(o->key->manufacturer, type.manufacturer) != 0) {
    invalid(error, "the key belongs to manufacturer '%s', the package is of type %s:%s:%s",
            o->key->manufacturer, type.manufacturer, type.name, type.version);
    return NULL;
  }
  target = o->target != NULL ? o->target : actr_package_host_target();
  if (!check_build_target(target, error) ||
      (entry = binary_entry_name(o->workload_path, error)) == NULL)
    return NULL;

  m->manufacturer = g_strdup(type.manufacturer);
  m->name = g_strdup(type.name);
  m->version = g_strdup(type.version);
  m->signature_algorithm = g_strdup("ed25519");
  m->signing_key_id = g_strdup(o->key->key_id);
  m->binary_path = g_strdup(entry);
  m->binary_target = g_strdup(target);
  actr_package_sha256(binary, m->binary_hash);
  m->has_binary_size = TRUE;
  m->binary_size = g_bytes_get_size(binary);
  m->binary_kind =
      target_is_wasm(target) ? ACTR_PACKAGE_BINARY_COMPONENT : ACTR_PACKAGE_BINARY_NATIVE;
  m->binary_kind_declared = TRUE;
  m->description = g_strdup(o->description);
  if (o->lock_path != NULL) {
    g_autoptr(ActrLockFile) parsed = NULL;
    gsize len = 0;
    const char *data;

    lock = actr_package_read_file(o->lock_path, ACTR_PACKAGE_MAX_TEXT_SIZE, error);
    if (lock == NULL)
      return NULL;
    data = g_bytes_get_data(lock, &len);
    parsed = actr_lock_file_parse(data, len, o->lock_path, error);
    if (parsed == NULL)
      return NULL;
    m->lock_file = g_new0(ActrPackageFileRef, 1);
    m->lock_file->path = g_strdup(ACTR_PACKAGE_LOCK_ENTRY);
    actr_package_sha256(lock, m->lock_file->hash);
  }

  text = actr_package_manifest_to_toml(m);
  manifest_bytes = g_bytes_new_take(text, strlen(text));
  if (!actr_signing_key_sign(o->key->key, g_bytes_get_data(manifest_bytes, NULL),
                             g_bytes_get_size(manifest_bytes), signature, error))
    return NULL;
  sig_bytes = g_bytes_new(signature, sizeof signature);

  zip = actr_zip_writer_new();
  actr_zip_writer_add(zip, ACTR_PACKAGE_MANIFEST_ENTRY, manifest_bytes, 0644);
  actr_zip_writer_add(zip, ACTR_PACKAGE_SIGNATURE_ENTRY, sig_bytes, 0644);
  actr_zip_writer_add(zip, entry, binary, 0755);
  if (lock != NULL)
    actr_zip_writer_add(zip, ACTR_PACKAGE_LOCK_ENTRY, lock, 0644);
  return actr_zip_writer_finish(zip);
}

gboolean
actr_package_build_file(const ActrPackageBuildOptions *o, const char *out_path, GError **error)
{
  g_autoptr(GBytes) package = actr_package_build(o, error);
  g_autoptr(GError) local = NULL;

  if (package == NULL)
    return FALSE;
  if (!g_file_set_contents_full(out_path, g_bytes_get_data(package, NULL),
                                (gssize)g_bytes_get_size(package), G_FILE_SET_CONTENTS_CONSISTENT,
                                0644, &local)) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO, "%s", local->message);
    return FALSE;
  }
  return TRUE;
}

/* ---- Reading and verifying ------------------------------------------------------ */

struct _ActrPackage {
  char *origin;
  GBytes *data;
  ActrZip *zip;
  GBytes *manifest_raw;
  GBytes *signature;
  ActrPackageManifest *manifest;
  gboolean verified;
  GBytes *binary;
  ActrLockFile *lock;
};

void
actr_package_free(ActrPackage *p)
{
  if (p == NULL)
    return;
  g_free(p->origin);
  g_clear_pointer(&p->data, g_bytes_unref);
  g_clear_pointer(&p->zip, actr_zip_free);
  g_clear_pointer(&p->manifest_raw, g_bytes_unref);
  g_clear_pointer(&p->signature, g_bytes_unref);
  g_clear_pointer(&p->manifest, actr_package_manifest_free);
  g_clear_pointer(&p->binary, g_bytes_unref);
  g_clear_pointer(&p->lock, actr_lock_file_free);
  g_free(p);
}

ActrPackage *
actr_package_load_bytes(GBytes *data, const char *origin, GError **error)
{
  g_autoptr(ActrPackage) p = g_new0(ActrPackage, 1);
  g_autofree char *manifest_origin = NULL;
  gsize len = 0;
  const char *text;

  p->origin = g_strdup(origin != NULL ? origin : "<package>");
  p->data = g_bytes_ref(data);
  if (g_bytes_get_size(data) > ACTR_PACKAGE_MAX_SIZE) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT, "%s: too large", p->origin);
    return NULL;
  }
  p->zip = actr_zip_open(data, p->origin, error);
  if (p->zip == NULL)
    return NULL;
  if (actr_zip_get_n_entries(p->zip) > ACTR_PACKAGE_MAX_ENTRIES) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT,
                "%s: too many entries (%u, at most %u)", p->origin, actr_zip_get_n_entries(p->zip),
                ACTR_PACKAGE_MAX_ENTRIES);
    return NULL;
  }
  /* CRCs are checked by verify, after the signature, so that a changed
   * manifest is reported as a bad signature. */
  p->manifest_raw =
      actr_zip_read(p->zip, ACTR_PACKAGE_MANIFEST_ENTRY, ACTR_PACKAGE_MAX_TEXT_SIZE, FALSE, error);
  if (p->manifest_raw == NULL)
    return NULL;
  p->signature = actr_zip_read(p->zip, ACTR_PACKAGE_SIGNATURE_ENTRY, 4096, FALSE, error);
  if (p->signature == NULL)
    return NULL;
  manifest_origin = g_strdup_printf("%s: " ACTR_PACKAGE_MANIFEST_ENTRY, p->origin);
  text = g_bytes_get_data(p->manifest_raw, &len);
  p->manifest = actr_package_manifest_parse(text, len, manifest_origin, error);
  if (p->manifest == NULL)
    return NULL;
  return g_steal_pointer(&p);
}

ActrPackage *
actr_package_load(const char *path, GError **error)
{
  g_autoptr(GBytes) data = actr_package_read_file(path, ACTR_PACKAGE_MAX_SIZE, error);

  if (data == NULL)
    return NULL;
  return actr_package_load_bytes(data, path, error);
}

const char *
actr_package_get_origin(const ActrPackage *p)
{
  return p->origin;
}

const ActrPackageManifest *
actr_package_get_manifest(const ActrPackage *p)
{
  return p->manifest;
}

GBytes *
actr_package_get_manifest_raw(const ActrPackage *p)
{
  return p->manifest_raw;
}

GBytes *
actr_package_get_signature(const ActrPackage *p)
{
  return p->signature;
}

gboolean
actr_package_is_verified(const ActrPackage *p)
{
  return p->verified;
}

GBytes *
actr_package_get_binary(const ActrPackage *p)
{
  g_return_val_if_fail(p->verified, NULL);
  return p->binary;
}

const ActrLockFile *
actr_package_get_lock_file(const ActrPackage *p)
{
  g_return_val_if_fail(p->verified, NULL);
  return p->lock;
}

/* Reads entry @path pinned by @hash: SHA-256 first (HASH: tampered), then
 * the CRC (FORMAT: corrupt archive). */
static GBytes *
read_pinned(ActrPackage *p, const char *what, const char *path, const guint8 hash[32], gsize max,
            GError **error)
{
  g_autoptr(GBytes) contents = NULL;
  guint8 actual[32];

  if (!actr_zip_has(p->zip, path)) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_MISSING,
                "%s: the %s '%s' named by the manifest is missing", p->origin, what, path);
    return NULL;
  }
  contents = actr_zip_read(p->zip, path, max, FALSE, error);
  if (contents == NULL)
    return NULL;
  actr_package_sha256(contents, actual);
  if (memcmp(actual, hash, 32) != 0) {
    char expected_hex[65], actual_hex[65];

    actr_package_hash_to_hex(hash, expected_hex);
    actr_package_hash_to_hex(actual, actual_hex);
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_HASH,
                "%s: the %s '%s' was modified: its SHA-256 is %s, the signed manifest says %s",
                p->origin, what, path, actual_hex, expected_hex);
    return NULL;
  }
  if (!actr_zip_check_crc(p->zip, path, contents, error))
    return NULL;
  return g_steal_pointer(&contents);
}

gboolean
actr_package_verify(ActrPackage *p, const guint8 public_key[32], GError **error)
{
  const ActrPackageManifest *m = p->manifest;
  g_autoptr(GBytes) binary = NULL, lock_bytes = NULL;
  g_autoptr(ActrLockFile) lock = NULL;
  gsize sig_len = 0;
  const guint8 *sig = g_bytes_get_data(p->signature, &sig_len);

  if (p->verified)
    return TRUE;
  if (g_ascii_strcasecmp(m->signature_algorithm, "ed25519") != 0) {
    g_autofree char *shown = g_strescape(m->signature_algorithm, NULL);

    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT,
                "%s: unknown signature algorithm '%s' (only ed25519)", p->origin, shown);
    return FALSE;
  }
  if (sig_len != ACTR_ED25519_SIGNATURE_SIZE) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_SIGNATURE,
                "%s: " ACTR_PACKAGE_SIGNATURE_ENTRY " holds %" G_GSIZE_FORMAT
                " bytes, an Ed25519 signature has 64",
                p->origin, sig_len);
    return FALSE;
  }
  if (!actr_ed25519_verify(public_key, g_bytes_get_data(p->manifest_raw, NULL),
                           g_bytes_get_size(p->manifest_raw), sig, sig_len)) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_SIGNATURE,
                "%s: the manifest signature does not verify with this key (a wrong key, or "
                "the manifest was changed after signing)",
                p->origin);
    return FALSE;
  }
  if (!actr_zip_check_crc(p->zip, ACTR_PACKAGE_MANIFEST_ENTRY, p->manifest_raw, error) ||
      !actr_zip_check_crc(p->zip, ACTR_PACKAGE_SIGNATURE_ENTRY, p->signature, error))
    return FALSE;

  binary = read_pinned(p, "binary", m->binary_path, m->binary_hash, ACTR_PACKAGE_MAX_SIZE, error);
  if (binary == NULL)
    return FALSE;
  if (m->has_binary_size && g_bytes_get_size(binary) != m->binary_size) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_HASH,
                "%s: the binary has %" G_GSIZE_FORMAT
                " bytes, the manifest says %" G_GUINT64_FORMAT,
                p->origin, g_bytes_get_size(binary), m->binary_size);
    return FALSE;
  }
  if (m->lock_file != NULL) {
    g_autofree char *origin = g_strdup_printf("%s: %s", p->origin, m->lock_file->path);
    gsize len = 0;
    const char *text;

    lock_bytes = read_pinned(p, "lock file", m->lock_file->path, m->lock_file->hash,
                             ACTR_PACKAGE_MAX_TEXT_SIZE, error);
    if (lock_bytes == NULL)
      return FALSE;
    text = g_bytes_get_data(lock_bytes, &len);
    lock = actr_lock_file_parse(text, len, origin, error);
    if (lock == NULL)
      return FALSE;
  } else if (actr_zip_has(p->zip, ACTR_PACKAGE_LOCK_ENTRY)) {
    /* Not pinned by the manifest, so not covered by the signature. */
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_HASH,
                "%s: " ACTR_PACKAGE_LOCK_ENTRY " is not covered by the signed manifest "
                "(no [lock_file] entry)",
                p->origin);
    return FALSE;
  }
  for (guint pass = 0; pass < 2; pass++) {
    GPtrArray *refs = pass == 0 ? m->resources : m->proto_files;

    for (guint i = 0; i < refs->len; i++) {
      const ActrPackageFileRef *ref = g_ptr_array_index(refs, i);
      g_autoptr(GBytes) contents = read_pinned(p, pass == 0 ? "resource" : "proto file", ref->path,
                                               ref->hash, ACTR_PACKAGE_MAX_SIZE, error);

      if (contents == NULL)
        return FALSE;
    }
  }
  p->binary = g_steal_pointer(&binary);
  p->lock = g_steal_pointer(&lock);
  p->verified = TRUE;
  return TRUE;
}

/* ---- The dynclib cache (runtime.md §6.1) ------------------------------------------ */

static gboolean
file_has_hash(const char *path, const guint8 hash[32])
{
  g_autoptr(GBytes) contents = actr_package_read_file(path, ACTR_PACKAGE_MAX_SIZE, NULL);
  guint8 actual[32];

  if (contents == NULL)
    return FALSE;
  actr_package_sha256(contents, actual);
  return memcmp(actual, hash, 32) == 0;
}

static gboolean
io_fail(GError **error, const char *path, int errsv)
{
  g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO, "%s: %s", path, g_strerror(errsv));
  return FALSE;
}

/* Writes @contents to a new "actr-dynclib-XXXXXX" file in @dir; returns its
 * path (transfer full). */
static char *
write_temp(const char *dir, GBytes *contents, GError **error)
{
  g_autofree char *tmp = g_build_filename(dir, "actr-dynclib-XXXXXX", NULL);
  gsize len = 0, done = 0;
  const guint8 *data = g_bytes_get_data(contents, &len);
  int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);

  if (fd < 0) {
    io_fail(error, tmp, errno);
    return NULL;
  }
  while (done < len) {
    gssize n = write(fd, data + done, len - done);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int errsv = n < 0 ? errno : ENOSPC;

      close(fd);
      g_unlink(tmp);
      io_fail(error, tmp, errsv);
      return NULL;
    }
    done += (gsize)n;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    int errsv = errno;

    g_unlink(tmp);
    io_fail(error, tmp, errsv);
    return NULL;
  }
  return g_steal_pointer(&tmp);
}

char *
actr_package_extract_binary(ActrPackage *p, const char *data_dir, GError **error)
{
  const ActrPackageManifest *m = p->manifest;
  g_autofree char *dir = NULL, *file = NULL, *path = NULL, *tmp = NULL;
  char hex[65];

  g_return_val_if_fail(p->verified, NULL);
  actr_package_hash_to_hex(m->binary_hash, hex);
  dir = g_build_filename(data_dir, "dynclib-cache", NULL);
  file = g_strconcat(hex, ".so", NULL);
  path = g_build_filename(dir, file, NULL);
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    io_fail(error, dir, errno);
    return NULL;
  }
  if (g_file_test(path, G_FILE_TEST_EXISTS) && file_has_hash(path, m->binary_hash))
    return g_steal_pointer(&path);
  tmp = write_temp(dir, p->binary, error);
  if (tmp == NULL)
    return NULL;
  /* Publish without replacing: when another process published a good file
   * first, it wins; a corrupt file (wrong hash) is replaced.  File systems
   * without hard links fall back to a rename. */
  if (link(tmp, path) == 0 || (errno == EEXIST && file_has_hash(path, m->binary_hash))) {
    g_unlink(tmp);
    return g_steal_pointer(&path);
  }
  if (g_rename(tmp, path) != 0) {
    int errsv = errno;

    g_unlink(tmp);
    io_fail(error, path, errsv);
    return NULL;
  }
  return g_steal_pointer(&path);
}
