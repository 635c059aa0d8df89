/* actr CLI — "actr pack", "actr verify" and "actr keygen": signed workload
 * packages and manufacturer keys (src/package, docs/packages.md). */
#include "cmd-pack.h"

#include <stdio.h>
#include <string.h>

#include "cli-common.h"
#include "cli-json.h"
#include "package.h"

#define FIELD_WIDTH 11

static int
parse_done(int rc)
{
  return rc == ACTR_CLI_HELP_SHOWN ? ACTR_EXIT_OK : rc;
}

/* Stable names of the ACTR_PACKAGE_ERROR codes, for --json. */
static const char *
error_kind(const GError *error)
{
  static const char *const names[] = {
      [ACTR_PACKAGE_ERROR_IO] = "io",
      [ACTR_PACKAGE_ERROR_FORMAT] = "format",
      [ACTR_PACKAGE_ERROR_MISSING] = "missing",
      [ACTR_PACKAGE_ERROR_MANIFEST] = "manifest",
      [ACTR_PACKAGE_ERROR_LOCK_FILE] = "lock_file",
      [ACTR_PACKAGE_ERROR_SIGNATURE] = "signature",
      [ACTR_PACKAGE_ERROR_HASH] = "hash",
      [ACTR_PACKAGE_ERROR_TARGET] = "target",
      [ACTR_PACKAGE_ERROR_KEY] = "key",
      [ACTR_PACKAGE_ERROR_UNTRUSTED] = "untrusted",
      [ACTR_PACKAGE_ERROR_NETWORK] = "network",
      [ACTR_PACKAGE_ERROR_INVALID] = "invalid",
      [ACTR_PACKAGE_ERROR_DEPENDENCY_NOT_FOUND] = "dependency_not_found",
  };

  if (error->domain == ACTR_PACKAGE_ERROR && error->code >= 0 &&
      (gsize)error->code < G_N_ELEMENTS(names) && names[error->code] != NULL)
    return names[error->code];
  return "other";
}

static char *
hex_hash(const guint8 hash[32])
{
  char hex[65];

  actr_package_hash_to_hex(hash, hex);
  return g_strdup(hex);
}

/* ---- actr pack ------------------------------------------------------------ */

static const ActrCliHelp pack_help = {
    .command = "pack",
    .summary = "build a signed .actr package from a workload",
    .synopsis = "--workload LIB.so --key MFR_KEY [--type M:N:V] [--target TRIPLE] [--lock FILE] "
                "[--description TEXT] -o OUT.actr [--json]",
    .description =
        "Wraps a native workload (a shared library exporting actr_workload_descriptor, see "
        "<actr/workload.h>) into a package: a ZIP archive holding manifest.toml (the actor type, "
        "the target triple, the binary's SHA-256 and size, the signing key id), manifest.sig (the "
        "manufacturer's Ed25519 signature over the exact manifest bytes), the binary under bin/ "
        "and, with --lock, the dependency lock file manifest.lock.toml, pinned by its SHA-256 in "
        "the manifest.  The format is described in docs/packages.md.\n"
        "\n"
        "The actor type comes from the workload's descriptor, which means loading the library "
        "(its constructors run); --type gives it instead and is needed for a workload built for "
        "another target.  The target defaults to this host's.  A key made for a manufacturer "
        "(actr keygen --manufacturer) only signs packages of that manufacturer.\n"
        "\n"
        "The same inputs always give the same package, byte for byte.  OUT is replaced "
        "atomically.",
    .exit_status = "0  Success: the package was written.\n"
                   "1  Runtime failure: an unreadable workload, key or lock file, a malformed "
                   "key or lock file, a workload whose type cannot be read, a key of another "
                   "manufacturer, an unwritable OUT.\n"
                   "2  Usage error: a missing --workload, --key or -o, a malformed --type, an "
                   "unknown option.",
    .examples = "  actr keygen --manufacturer acme -o acme.key\n"
                "  actr pack --workload build/examples/libecho.so --key acme.key -o echo.actr\n"
                "  actr pack --workload libecho.so --key acme.key --type acme:echo:1.0.1 \\\n"
                "      --lock manifest.lock.toml -o echo-1.0.1.actr --json",
};

int
actr_cmd_pack(int argc, char **argv)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrMfrKey) key = NULL;
  g_autoptr(ActrPackage) package = NULL;
  const char *workload = NULL, *key_path = NULL, *type = NULL, *target = NULL, *lock = NULL;
  const char *description = NULL, *out = NULL;
  gboolean json = FALSE;
  ActrPackageBuildOptions options = {0};
  const ActrPackageManifest *m;
  g_autofree char *sha = NULL;
  int rc;
  const ActrCliOption option_table[] = {
      {"workload", 'w', ACTR_CLI_OPT_STRING, &workload, "LIB.so",
       "The workload shared library to package.  Required."},
      {"key", 'k', ACTR_CLI_OPT_STRING, &key_path, "MFR_KEY",
       "The manufacturer key file (from 'actr keygen') that signs the manifest.  Required."},
      {"type", 't', ACTR_CLI_OPT_STRING, &type, "M:N:V",
       "The actor type MANUFACTURER:NAME:VERSION.  Default: the workload descriptor's."},
      {"target", 0, ACTR_CLI_OPT_STRING, &target, "TRIPLE",
       "The target triple the binary is built for (ARCH-VENDOR-OS[-ENV], or wasm32-...).  "
       "Default: this host's."},
      {"lock", 'l', ACTR_CLI_OPT_STRING, &lock, "FILE",
       "A dependency lock file to include as manifest.lock.toml ([[dependency]] tables with "
       "actr_type and fingerprint).  It is checked before packing."},
      {"description", 0, ACTR_CLI_OPT_STRING, &description, "TEXT",
       "A description for the manifest's [metadata] table."},
      {"output", 'o', ACTR_CLI_OPT_STRING, &out, "OUT.actr",
       "Where to write the package.  Required."},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(&pack_help, option_table, argc, argv, positionals, 0);
  if (rc != 0)
    return parse_done(rc);
  if (workload == NULL)
    return actr_cli_usage_error(pack_help.command, "missing --workload LIB.so");
  if (key_path == NULL)
    return actr_cli_usage_error(pack_help.command, "missing --key MFR_KEY");
  if (out == NULL)
    return actr_cli_usage_error(pack_help.command, "missing -o OUT.actr");
  if (type != NULL) {
    g_auto(ActrType) parsed = {0};

    if (!actr_type_parse(type, &parsed, &error))
      return actr_cli_usage_error(pack_help.command, "invalid --type: %s", error->message);
  }

  key = actr_mfr_key_load(key_path, &error);
  if (key == NULL) {
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_FAILURE;
  }
  options.workload_path = workload;
  options.actr_type = type;
  options.target = target;
  options.lock_path = lock;
  options.description = description;
  options.key = key;
  if (!actr_package_build_file(&options, out, &error)) {
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_FAILURE;
  }
  /* Report from the written file, so the output shows what is really in
   * it. */
  package = actr_package_load(out, &error);
  if (package == NULL) {
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_FAILURE;
  }
  m = actr_package_get_manifest(package);
  sha = hex_hash(m->binary_hash);
  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();
    g_autofree char *type_text = g_strdup_printf("%s:%s:%s", m->manufacturer, m->name, m->version);

    actr_json_begin_object(w);
    actr_json_member_string(w, "package", out);
    actr_json_member_string(w, "type", type_text);
    actr_json_member_string(w, "target", m->binary_target);
    actr_json_member_string(w, "kind", actr_package_binary_kind_name(m->binary_kind));
    actr_json_key(w, "binary");
    actr_json_begin_object(w);
    actr_json_member_string(w, "path", m->binary_path);
    actr_json_member_uint(w, "size", m->binary_size);
    actr_json_member_string(w, "sha256", sha);
    actr_json_end_object(w);
    actr_json_member_string(w, "signing_key_id", m->signing_key_id);
    actr_json_member_bool(w, "lock_file", m->lock_file != NULL);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    g_autofree char *type_text = g_strdup_printf("%s:%s:%s", m->manufacturer, m->name, m->version);
    g_autofree char *binary =
        g_strdup_printf("%s (%" G_GUINT64_FORMAT " bytes)", m->binary_path, m->binary_size);

    actr_cli_print_field(stdout, FIELD_WIDTH, "package", out);
    actr_cli_print_field(stdout, FIELD_WIDTH, "type", type_text);
    actr_cli_print_field(stdout, FIELD_WIDTH, "target", m->binary_target);
    actr_cli_print_field(stdout, FIELD_WIDTH, "binary", binary);
    actr_cli_print_field(stdout, FIELD_WIDTH, "sha256", sha);
    actr_cli_print_field(stdout, FIELD_WIDTH, "signed by", m->signing_key_id);
    actr_cli_print_field(stdout, FIELD_WIDTH, "lock file",
                         m->lock_file != NULL ? ACTR_PACKAGE_LOCK_ENTRY : "none");
  }
  return ACTR_EXIT_OK;
}

/* ---- actr verify ---------------------------------------------------------- */

static const ActrCliHelp verify_help = {
    .command = "verify",
    .summary = "check an .actr package's signature, hashes and target",
    .synopsis = "PACKAGE (--pubkey BASE64 | --pubkey-file FILE | --mfr-url URL) [--any-target] "
                "[--json]",
    .description =
        "Verifies PACKAGE the way a node does before loading it: the archive and its manifest "
        "must be well-formed; the Ed25519 signature over the exact manifest bytes must verify "
        "with the manufacturer's public key; the binary, the lock file and any other file the "
        "manifest pins must have the SHA-256 (and size) it states; the lock file must parse; and "
        "the binary must be built for this host's architecture and OS (runtime.md §6.1), unless "
        "--any-target is given.\n"
        "\n"
        "The public key comes from exactly one of: --pubkey (standard base64 of the 32 raw "
        "bytes), --pubkey-file (a file with that base64, or a JSON object with \"public_key\", "
        "as written by 'actr keygen --public-out'), or --mfr-url, the base URL of a key server "
        "such as actrd: the command fetches GET URL/mfr/MANUFACTURER/verifying_key?key_id=K for "
        "the manufacturer and signing_key_id named in the manifest (a URL ending in /ais has it "
        "stripped, as the node does).\n"
        "\n"
        "With --json the result is one JSON document on stdout, also when verification fails "
        "(\"verified\": false, with \"error\" holding a stable \"kind\": format, missing, "
        "manifest, lock_file, signature, hash, target, key, untrusted, network, io).",
    .exit_status = "0  The package verified.\n"
                   "1  It did not, or could not be checked: unreadable or not a package "
                   "(unknown format), malformed manifest or lock file, wrong key or changed "
                   "manifest (signature), modified binary (hash), another target, a key server "
                   "that does not trust the manufacturer or cannot be reached.\n"
                   "2  Usage error: no PACKAGE, not exactly one key option, a malformed "
                   "--pubkey, an unknown option.",
    .examples = "  actr verify echo.actr --pubkey-file acme.pub\n"
                "  actr verify echo.actr --mfr-url http://127.0.0.1:8081\n"
                "  actr verify echo.actr --pubkey 'q0vS...=' --json",
};

/* Prints the result of verify and returns the exit code.  @error is NULL
 * on success. */
static int
verify_report(gboolean json, const char *path, const ActrPackage *package, const char *key_source,
              const char *key_id, const GError *error)
{
  const ActrPackageManifest *m = package != NULL ? actr_package_get_manifest(package) : NULL;
  const ActrLockFile *lock = package != NULL && actr_package_is_verified(package)
                                 ? actr_package_get_lock_file(package)
                                 : NULL;
  g_autofree char *type_text = NULL, *sha = NULL;

  if (m != NULL) {
    type_text = g_strdup_printf("%s:%s:%s", m->manufacturer, m->name, m->version);
    sha = hex_hash(m->binary_hash);
  }
  if (error != NULL)
    actr_cli_error("%s", error->message);
  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();

    actr_json_begin_object(w);
    actr_json_member_string(w, "package", path);
    actr_json_member_bool(w, "verified", error == NULL);
    if (m != NULL) {
      actr_json_member_string(w, "type", type_text);
      actr_json_member_string(w, "target", m->binary_target);
      actr_json_member_string(w, "kind", actr_package_binary_kind_name(m->binary_kind));
      actr_json_key(w, "binary");
      actr_json_begin_object(w);
      actr_json_member_string(w, "path", m->binary_path);
      if (m->has_binary_size)
        actr_json_member_uint(w, "size", m->binary_size);
      else
        actr_json_member_null(w, "size");
      actr_json_member_string(w, "sha256", sha);
      actr_json_end_object(w);
      actr_json_member_string(w, "signing_key_id", m->signing_key_id);
    }
    actr_json_member_string(w, "key_source", key_source);
    actr_json_member_string(w, "key_id", key_id);
    if (lock != NULL)
      actr_json_member_uint(w, "lock_dependencies", lock->dependencies->len);
    else
      actr_json_member_null(w, "lock_dependencies");
    if (error != NULL) {
      actr_json_key(w, "error");
      actr_json_begin_object(w);
      actr_json_member_string(w, "kind", error_kind(error));
      actr_json_member_string(w, "message", error->message);
      actr_json_end_object(w);
    }
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else if (error == NULL) {
    g_autofree char *target =
        g_strdup_printf("%s (%s)", m->binary_target, actr_package_binary_kind_name(m->binary_kind));
    g_autofree char *binary =
        m->has_binary_size
            ? g_strdup_printf("%s (%" G_GUINT64_FORMAT " bytes)", m->binary_path, m->binary_size)
            : g_strdup(m->binary_path);
    g_autofree char *key = g_strdup_printf("%s (%s)", key_id != NULL ? key_id : "-", key_source);
    g_autofree char *deps =
        lock == NULL
            ? g_strdup("none")
            : g_strdup_printf("%u %s", lock->dependencies->len,
                              lock->dependencies->len == 1 ? "dependency" : "dependencies");

    actr_cli_print_field(stdout, FIELD_WIDTH, "package", path);
    actr_cli_print_field(stdout, FIELD_WIDTH, "type", type_text);
    actr_cli_print_field(stdout, FIELD_WIDTH, "target", target);
    actr_cli_print_field(stdout, FIELD_WIDTH, "binary", binary);
    actr_cli_print_field(stdout, FIELD_WIDTH, "sha256", sha);
    actr_cli_print_field(stdout, FIELD_WIDTH, "key", key);
    actr_cli_print_field(stdout, FIELD_WIDTH, "lock file", deps);
    actr_cli_print_field(stdout, FIELD_WIDTH, "result", "verified");
  }
  return error == NULL ? ACTR_EXIT_OK : ACTR_EXIT_FAILURE;
}

int
actr_cmd_verify(int argc, char **argv)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrPackage) package = NULL;
  const char *pubkey = NULL, *pubkey_file = NULL, *mfr_url = NULL, *path;
  g_autofree char *key_id = NULL, *key_source = NULL;
  gboolean json = FALSE, any_target = FALSE;
  const ActrPackageManifest *m;
  guint8 public_key[32];
  int rc, n_sources;
  const ActrCliOption option_table[] = {
      {"pubkey", 0, ACTR_CLI_OPT_STRING, &pubkey, "BASE64",
       "The manufacturer's Ed25519 public key: standard base64 of the 32 raw bytes."},
      {"pubkey-file", 0, ACTR_CLI_OPT_STRING, &pubkey_file, "FILE",
       "A file holding the public key: its base64, or JSON with \"public_key\" (and "
       "\"key_id\")."},
      {"mfr-url", 0, ACTR_CLI_OPT_STRING, &mfr_url, "URL",
       "A key server (actrd) base URL: fetch the key of the manifest's manufacturer and "
       "signing_key_id from URL/mfr/MANUFACTURER/verifying_key."},
      {"any-target", 0, ACTR_CLI_OPT_FLAG, &any_target, NULL,
       "Do not require the binary to be loadable on this host (verify a package built for "
       "another architecture, OS or for WASM)."},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(&verify_help, option_table, argc, argv, positionals, 1);
  if (rc != 0)
    return parse_done(rc);
  if (positionals->len != 1)
    return actr_cli_usage_error(verify_help.command, "missing PACKAGE");
  path = g_ptr_array_index(positionals, 0);
  n_sources = (pubkey != NULL) + (pubkey_file != NULL) + (mfr_url != NULL);
  if (n_sources != 1)
    return actr_cli_usage_error(verify_help.command,
                                "give exactly one of --pubkey, --pubkey-file and --mfr-url");
  if (pubkey != NULL) {
    if (!actr_mfr_public_key_parse(pubkey, strlen(pubkey), "--pubkey", public_key, NULL, &error))
      return actr_cli_usage_error(verify_help.command, "%s", error->message);
    key_source = g_strdup("--pubkey");
  }

  package = actr_package_load(path, &error);
  if (package == NULL)
    return verify_report(json, path, NULL, key_source, NULL, error);
  m = actr_package_get_manifest(package);

  if (pubkey_file != NULL) {
    if (!actr_mfr_public_key_load(pubkey_file, public_key, &key_id, &error))
      return verify_report(json, path, package, pubkey_file, NULL, error);
    key_source = g_strdup(pubkey_file);
  } else if (mfr_url != NULL) {
    actr_cli_status("fetching the key of %s from %s", m->manufacturer, mfr_url);
    key_source = actr_mfr_key_url(mfr_url, m->manufacturer, m->signing_key_id, &error);
    if (key_source == NULL)
      return actr_cli_usage_error(verify_help.command, "--mfr-url: %s", error->message);
    if (!actr_mfr_fetch_public_key(mfr_url, m->manufacturer, m->signing_key_id, 0, public_key,
                                   &key_id, &error))
      return verify_report(json, path, package, key_source, NULL, error);
  }

  if (!actr_package_verify(package, public_key, &error)) {
    /* Say so when the key given is not the one the manifest names. */
    if (g_error_matches(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_SIGNATURE) &&
        key_id != NULL && m->signing_key_id != NULL && strcmp(key_id, m->signing_key_id) != 0)
      g_prefix_error(&error, "(the manifest names key %s, the key given is %s) ", m->signing_key_id,
                     key_id);
    return verify_report(json, path, package, key_source, key_id, error);
  }
  if (!any_target && !actr_package_check_target(m, &error)) {
    g_prefix_error(&error, "%s: ", path);
    return verify_report(json, path, package, key_source, key_id, error);
  }
  if (key_id == NULL)
    key_id = g_strdup(m->signing_key_id);
  return verify_report(json, path, package, key_source, key_id, NULL);
}

/* ---- actr keygen ---------------------------------------------------------- */

static const ActrCliHelp keygen_help = {
    .command = "keygen",
    .summary = "make a manufacturer signing key for packages",
    .synopsis = "-o KEY_FILE [--manufacturer M] [--key-id K] [--public-out FILE] [--json]",
    .description =
        "Generates a new Ed25519 key pair and writes it to KEY_FILE (mode 0600; an existing file "
        "is never replaced).  KEY_FILE is secret: whoever has it can sign packages as the "
        "manufacturer.  'actr pack --key KEY_FILE' signs with it.\n"
        "\n"
        "The key id goes into every manifest it signs (signing_key_id), so that key servers can "
        "keep several keys per manufacturer; it defaults to 16 hex digits of the public key's "
        "SHA-256.  With --manufacturer the key only signs packages of that manufacturer.\n"
        "\n"
        "Prints the public key, and the actrd command that makes actrd trust it.  --public-out "
        "also writes the public key as JSON {\"public_key\": ..., \"key_id\": ...}, for 'actr "
        "verify --pubkey-file' and trust configuration.",
    .exit_status = "0  Success: the key was written.\n"
                   "1  Runtime failure: KEY_FILE exists or cannot be written.\n"
                   "2  Usage error: a missing -o, an invalid manufacturer name or key id, an "
                   "unknown option.",
    .examples = "  actr keygen --manufacturer acme -o acme.key --public-out acme.pub\n"
                "  actrd mfr add acme --key-id KEY_ID --public-key PUBLIC_KEY",
};

int
actr_cmd_keygen(int argc, char **argv)
{
  g_autoptr(GPtrArray) positionals = g_ptr_array_new();
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrMfrKey) key = NULL;
  const char *out = NULL, *manufacturer = NULL, *key_id = NULL, *public_out = NULL;
  g_autofree char *public_json = NULL, *public_b64 = NULL;
  gboolean json = FALSE;
  guint8 pub[32];
  int rc;
  const ActrCliOption option_table[] = {
      {"output", 'o', ACTR_CLI_OPT_STRING, &out, "KEY_FILE",
       "Where to write the new key (mode 0600).  Required; never overwritten."},
      {"manufacturer", 'm', ACTR_CLI_OPT_STRING, &manufacturer, "M",
       "The manufacturer the key belongs to (a Name, e.g. acme)."},
      {"key-id", 0, ACTR_CLI_OPT_STRING, &key_id, "K",
       "The key id: 1-64 letters, digits, '.', '_', ':' or '-'.  Default: derived from the "
       "public key."},
      {"public-out", 0, ACTR_CLI_OPT_STRING, &public_out, "FILE",
       "Also write the public key as JSON to FILE (replaced if it exists)."},
      {"json", 0, ACTR_CLI_OPT_FLAG, &json, NULL, ACTR_CLI_JSON_HELP},
      {NULL, 0, 0, NULL, NULL, NULL},
  };

  rc = actr_cli_parse(&keygen_help, option_table, argc, argv, positionals, 0);
  if (rc != 0)
    return parse_done(rc);
  if (out == NULL)
    return actr_cli_usage_error(keygen_help.command, "missing -o KEY_FILE");
  key = actr_mfr_key_generate(manufacturer, key_id, &error);
  if (key == NULL) {
    if (g_error_matches(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY))
      return actr_cli_usage_error(keygen_help.command, "%s", error->message);
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_FAILURE;
  }
  if (!actr_mfr_key_save(key, out, &error)) {
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_FAILURE;
  }
  public_json = actr_mfr_key_public_json(key);
  if (public_out != NULL && !g_file_set_contents(public_out, public_json, -1, &error)) {
    actr_cli_error("%s", error->message);
    return ACTR_EXIT_FAILURE;
  }
  actr_signing_key_get_public(key->key, pub);
  public_b64 = g_base64_encode(pub, sizeof pub);
  if (json) {
    g_autoptr(ActrJsonWriter) w = actr_json_writer_new();

    actr_json_begin_object(w);
    actr_json_member_string(w, "key_file", out);
    actr_json_member_string(w, "manufacturer", key->manufacturer);
    actr_json_member_string(w, "key_id", key->key_id);
    actr_json_member_string(w, "public_key", public_b64);
    actr_json_member_string(w, "public_file", public_out);
    actr_json_end_object(w);
    actr_json_writer_print(w);
  } else {
    actr_cli_print_field(stdout, FIELD_WIDTH, "key file", out);
    actr_cli_print_field(stdout, FIELD_WIDTH, "key id", key->key_id);
    actr_cli_print_field(stdout, FIELD_WIDTH, "public key", public_b64);
    if (public_out != NULL)
      actr_cli_print_field(stdout, FIELD_WIDTH, "public file", public_out);
    actr_cli_status("trust it in actrd with: actrd mfr add %s --key-id %s --public-key %s",
                    key->manufacturer != NULL ? key->manufacturer : "MANUFACTURER", key->key_id,
                    public_b64);
  }
  return ACTR_EXIT_OK;
}
