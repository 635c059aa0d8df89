/* actr — signed workload packages (.actr), their manifests and lock files,
 * and manufacturer keys (runtime.md §6.1 "Loading", §11.7, §13.1; wire.md
 * §2.7, §3.1 /mfr; the format is written down in docs/packages.md).
 *
 * A package is a ZIP archive holding
 *
 *   manifest.toml        what the package is: manufacturer, name, version,
 *                        signing_key_id, [binary] path/target/hash/size/kind,
 *                        optional [lock_file] path/hash
 *   manifest.sig         64 raw bytes: Ed25519 over the exact manifest.toml
 *   bin/<file>           the workload binary named by binary.path
 *   manifest.lock.toml   optional: dependency fingerprints ([[dependency]])
 *
 * The signature covers the manifest bytes only; the manifest pins the
 * binary and the lock file by SHA-256, so the signature covers them too.
 *
 * Reading a package is two steps on purpose: actr_package_load() parses the
 * container and the (not yet trusted) manifest, which names the
 * manufacturer and the signing key id needed to find the public key;
 * actr_package_verify() then checks the signature and every hash.  Nothing
 * from a package may be trusted before actr_package_verify() succeeded.
 *
 * Errors are GErrors in ACTR_PACKAGE_ERROR whose message names the file and
 * says what is wrong ("echo.actr: manifest.toml:4: binary.hash must be 64
 * hex digits").  Each kind of failure has its own code, so that a tampered
 * binary, a wrong key, an unknown format and a malformed manifest are told
 * apart by callers and tests.
 *
 * Thread-safety: every function is re-entrant.  An ActrPackage is not
 * locked: use it from one thread at a time.  actr_mfr_fetch_public_key()
 * blocks (synchronous HTTP): call it from a CLI or a worker thread, never
 * from a node's network loop.
 */
#ifndef ACTR_PACKAGE_H
#define ACTR_PACKAGE_H

#include <glib.h>
#include <actr/identity.h>
#include <actr/types.h>

G_BEGIN_DECLS

#define ACTR_PACKAGE_ERROR (actr_package_error_quark())
GQuark actr_package_error_quark(void);

/* Codes are never renumbered; add new ones at the end. */
typedef enum {
  ACTR_PACKAGE_ERROR_IO,        /* a file cannot be read or written */
  ACTR_PACKAGE_ERROR_FORMAT,    /* not an .actr package: not a ZIP archive, a corrupt or
                                   unsupported archive, an unknown signature algorithm */
  ACTR_PACKAGE_ERROR_MISSING,   /* an entry the package needs is absent */
  ACTR_PACKAGE_ERROR_MANIFEST,  /* manifest.toml is malformed */
  ACTR_PACKAGE_ERROR_LOCK_FILE, /* the lock file is malformed */
  ACTR_PACKAGE_ERROR_SIGNATURE, /* the signature does not verify under the key */
  ACTR_PACKAGE_ERROR_HASH,      /* an entry's SHA-256 differs from the manifest (tampered) */
  ACTR_PACKAGE_ERROR_TARGET,    /* built for another architecture or OS, or a binary kind
                                   this runtime cannot load */
  ACTR_PACKAGE_ERROR_KEY,       /* a malformed key file or public key */
  ACTR_PACKAGE_ERROR_UNTRUSTED, /* no trusted key for the manufacturer (key server said so) */
  ACTR_PACKAGE_ERROR_NETWORK,   /* the key server could not be reached or answered badly */
  ACTR_PACKAGE_ERROR_INVALID,   /* bad input for building a package (type, names, ...) */
  ACTR_PACKAGE_ERROR_DEPENDENCY_NOT_FOUND, /* the lock file has no entry for a type */
} ActrPackageError;

/* Fixed entry names inside the archive. */
#define ACTR_PACKAGE_MANIFEST_ENTRY  "manifest.toml"
#define ACTR_PACKAGE_SIGNATURE_ENTRY "manifest.sig"
#define ACTR_PACKAGE_LOCK_ENTRY      "manifest.lock.toml"

/* Limits: a package file, and any one entry once decompressed. */
#define ACTR_PACKAGE_MAX_SIZE      (256u * 1024 * 1024)
#define ACTR_PACKAGE_MAX_TEXT_SIZE (1024u * 1024) /* manifest, lock file, key files */
#define ACTR_PACKAGE_MAX_ENTRIES   4096

/* binary.kind values. */
typedef enum {
  ACTR_PACKAGE_BINARY_NATIVE,      /* "native-cdylib": a shared library (workload.h) */
  ACTR_PACKAGE_BINARY_COMPONENT,   /* "component": a WASM component */
  ACTR_PACKAGE_BINARY_CORE_MODULE, /* "core-module": a legacy WASM core module */
} ActrPackageBinaryKind;

/* "native-cdylib", "component", "core-module" (static). */
const char *actr_package_binary_kind_name(ActrPackageBinaryKind kind);

/* ---- Manifest ------------------------------------------------------------- */

/* An entry pinned by hash: [lock_file], [[resources]], [[proto_files]]. */
typedef struct {
  char *name; /* proto_files only, else NULL */
  char *path; /* entry name inside the archive */
  guint8 hash[32];
} ActrPackageFileRef;

typedef struct {
  char *manufacturer;        /* a Name */
  char *name;                /* a Name */
  char *version;             /* non-empty, no ':' */
  char *signature_algorithm; /* "ed25519" (the only one) */
  char *signing_key_id;      /* nullable: the key that signed (key rotation) */

  char *binary_path;   /* entry name of the binary */
  char *binary_target; /* target triple, e.g. "x86_64-unknown-linux-gnu" */
  guint8 binary_hash[32];
  gboolean has_binary_size;
  guint64 binary_size;
  ActrPackageBinaryKind binary_kind; /* declared, else derived from the target */
  gboolean binary_kind_declared;

  ActrPackageFileRef *lock_file; /* nullable */
  GPtrArray *resources;          /* of ActrPackageFileRef */
  GPtrArray *proto_files;        /* of ActrPackageFileRef (with name) */

  char *description; /* [metadata], nullable */
  char *license;     /* [metadata], nullable */
} ActrPackageManifest;

/* Parses manifest.toml text.  @origin names it in messages ("echo.actr:
 * manifest.toml"); NULL means "manifest.toml".  Unknown keys are ignored
 * (newer writers may add some); every known key must have its type.
 * Returns (transfer full) or NULL with ACTR_PACKAGE_ERROR_MANIFEST. */
ActrPackageManifest *actr_package_manifest_parse(const char *data, gsize len, const char *origin,
                                                 GError **error);
void actr_package_manifest_free(ActrPackageManifest *manifest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrPackageManifest, actr_package_manifest_free)

/* The manifest's type (fills @out; clear with actr_type_clear()). */
void actr_package_manifest_get_type(const ActrPackageManifest *manifest, ActrType *out);

/* Renders @manifest as manifest.toml text in the canonical key order
 * (transfer full).  Parsing the result gives the same manifest back. */
char *actr_package_manifest_to_toml(const ActrPackageManifest *manifest);

/* ---- Lock file (manifest.lock.toml) --------------------------------------- */

typedef struct {
  char *name;        /* service name; the actr_type text when absent */
  char *actr_type;   /* as written: "m:n:v", "m:n" or "m+n" */
  char *fingerprint; /* e.g. "service_semantic:..." */
  char *description; /* nullable */
} ActrLockDependency;

typedef struct {
  GPtrArray *dependencies; /* of ActrLockDependency, in file order */
} ActrLockFile;

/* Parses lock-file text ([[dependency]] tables; see docs/packages.md).
 * Returns (transfer full) or NULL with ACTR_PACKAGE_ERROR_LOCK_FILE. */
ActrLockFile *actr_lock_file_parse(const char *data, gsize len, const char *origin, GError **error);
void actr_lock_file_free(ActrLockFile *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrLockFile, actr_lock_file_free)

/* The dependency for @type (runtime.md §13.1): first an entry whose
 * actr_type text equals @type's "m:n:v" form, then one whose parsed type
 * matches (same manufacturer and name, and the same version when it names
 * one).  NULL with ACTR_PACKAGE_ERROR_DEPENDENCY_NOT_FOUND when none does.
 * (transfer none) */
const ActrLockDependency *actr_lock_file_find(const ActrLockFile *lock, const ActrType *type,
                                              GError **error);

/* The client_fingerprint for a RouteCandidatesRequest to @type: "" when
 * @lock is NULL (no lock file), the dependency's fingerprint when found,
 * else NULL with ACTR_PACKAGE_ERROR_DEPENDENCY_NOT_FOUND.  (transfer none) */
const char *actr_lock_file_fingerprint(const ActrLockFile *lock, const ActrType *type,
                                       GError **error);

/* ---- Targets (runtime.md §6.1 "Loading") ---------------------------------- */

/* The target triple of this build, e.g. "x86_64-unknown-linux-gnu"
 * (static). */
const char *actr_package_host_target(void);

/* Checks that @manifest's binary can be loaded here.  WASM targets
 * ("wasm32-...") give a component, which this runtime cannot load yet; a
 * native target needs at least three '-'-separated parts, its first part
 * (the architecture) equal to the host's and its third part (the OS) equal
 * to the host's ("darwin" and "macos" are the same OS; "i686"/"x86",
 * "arm64"/"aarch64" and "amd64"/"x86_64" the same architecture).  Sets
 * ACTR_PACKAGE_ERROR_TARGET and returns FALSE otherwise. */
gboolean actr_package_check_target(const ActrPackageManifest *manifest, GError **error);

/* ---- Manufacturer keys ---------------------------------------------------- */

typedef struct {
  ActrSigningKey *key;
  char *key_id;       /* the manifest's signing_key_id; actrd mfr add --key-id */
  char *manufacturer; /* nullable: the manufacturer the key belongs to */
} ActrMfrKey;

/* A new random key.  @key_id NULL derives one from the public key (16 hex
 * digits of its SHA-256); @manufacturer may be NULL.  (transfer full) */
ActrMfrKey *actr_mfr_key_generate(const char *manufacturer, const char *key_id, GError **error);
void actr_mfr_key_free(ActrMfrKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrMfrKey, actr_mfr_key_free)

/* The key file text (TOML, see docs/packages.md) and its parser.  The
 * parser checks that public_key, when present, belongs to private_key.
 * Errors: ACTR_PACKAGE_ERROR_KEY. */
char *actr_mfr_key_to_toml(const ActrMfrKey *key);
ActrMfrKey *actr_mfr_key_parse(const char *data, gsize len, const char *origin, GError **error);

/* Writes the key file at @path with mode 0600, never replacing an existing
 * file (ACTR_PACKAGE_ERROR_IO "...: file exists").  Reads one back. */
gboolean actr_mfr_key_save(const ActrMfrKey *key, const char *path, GError **error);
ActrMfrKey *actr_mfr_key_load(const char *path, GError **error);

/* The public half as JSON {"public_key":"<base64>","key_id":"K"} (the shape
 * of actrd's /mfr/NAME/verifying_key answer), newline-terminated
 * (transfer full). */
char *actr_mfr_key_public_json(const ActrMfrKey *key);

/* Reads a public key: standard base64 of the 32 bytes (surrounding
 * whitespace allowed) or a JSON object with a "public_key" member (and an
 * optional "key_id" string or integer, returned in @key_id_out when not
 * NULL; NULL when absent).  Errors: ACTR_PACKAGE_ERROR_KEY. */
gboolean actr_mfr_public_key_parse(const char *data, gsize len, const char *origin,
                                   guint8 public_key[32], char **key_id_out, GError **error);
gboolean actr_mfr_public_key_load(const char *path, guint8 public_key[32], char **key_id_out,
                                  GError **error);

/* The verifying-key URL for @manufacturer at @base (transfer full):
 * "http://host:port", "http://host:port/" or ".../ais" (stripped, as the
 * reference does) get "/mfr/M/verifying_key"; a URL ending in "/mfr" gets
 * "/M/verifying_key"; a URL already ending in "/verifying_key" is used as
 * it is.  "?key_id=K" (percent-encoded) is added when @key_id is not NULL.
 * NULL with ACTR_PACKAGE_ERROR_INVALID when @base is not an http(s) URL. */
char *actr_mfr_key_url(const char *base, const char *manufacturer, const char *key_id,
                       GError **error);

/* GETs the manufacturer's verifying key (wire.md §3.1) and parses the JSON
 * answer.  404 → ACTR_PACKAGE_ERROR_UNTRUSTED; no connection, other
 * statuses → ACTR_PACKAGE_ERROR_NETWORK; a malformed body →
 * ACTR_PACKAGE_ERROR_KEY; a key_id other than the one asked for →
 * ACTR_PACKAGE_ERROR_KEY.  Blocks up to @timeout_secs (0: 30 s). */
gboolean actr_mfr_fetch_public_key(const char *base, const char *manufacturer, const char *key_id,
                                   guint timeout_secs, guint8 public_key[32], char **key_id_out,
                                   GError **error);

/* ---- Building ------------------------------------------------------------- */

typedef struct {
  const char *workload_path; /* the .so to wrap (required) */
  const char *actr_type;     /* "m:n:v"; NULL reads the workload's descriptor */
  const char *target;        /* NULL: actr_package_host_target() */
  const char *lock_path;     /* nullable: a manifest.lock.toml to include */
  const char *description;   /* nullable: [metadata] description */
  const ActrMfrKey *key;     /* signs the manifest (required) */
} ActrPackageBuildOptions;

/* Builds the package bytes (transfer full).  When @key names a manufacturer
 * it must be the type's.  Without actr_type, the workload is loaded (it
 * must be built for this host) to read its descriptor's type. */
GBytes *actr_package_build(const ActrPackageBuildOptions *options, GError **error);

/* actr_package_build() and an atomic write to @out_path. */
gboolean actr_package_build_file(const ActrPackageBuildOptions *options, const char *out_path,
                                 GError **error);

/* ---- Reading and verifying ------------------------------------------------ */

typedef struct _ActrPackage ActrPackage;

/* Reads @path and parses the archive and its manifest (not yet verified).
 * Errors: IO, FORMAT (not a ZIP archive, corrupt, unsupported), MISSING
 * (no manifest.toml / manifest.sig), MANIFEST.  (transfer full) */
ActrPackage *actr_package_load(const char *path, GError **error);

/* The same on bytes in memory; @origin names them in messages. */
ActrPackage *actr_package_load_bytes(GBytes *data, const char *origin, GError **error);

void actr_package_free(ActrPackage *package);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrPackage, actr_package_free)

/* The origin given at load (the file path) (transfer none). */
const char *actr_package_get_origin(const ActrPackage *package);

/* The parsed manifest (transfer none; untrusted until verified). */
const ActrPackageManifest *actr_package_get_manifest(const ActrPackage *package);

/* The exact manifest.toml bytes and the 64-byte signature, as a PACKAGE
 * registration sends them (manifest_raw, mfr_signature; transfer none). */
GBytes *actr_package_get_manifest_raw(const ActrPackage *package);
GBytes *actr_package_get_signature(const ActrPackage *package);

/* Verifies the package with the manufacturer's 32-byte @public_key:
 * signature algorithm (FORMAT), the Ed25519 signature over the exact
 * manifest bytes (SIGNATURE), then the binary (size and SHA-256), the lock
 * file and every resource and proto file against the manifest (MISSING,
 * HASH), and the lock file's syntax (LOCK_FILE).  Idempotent. */
gboolean actr_package_verify(ActrPackage *package, const guint8 public_key[32], GError **error);

gboolean actr_package_is_verified(const ActrPackage *package);

/* After a successful verify: the binary's bytes and the parsed lock file
 * (NULL when the package has none).  (transfer none) */
GBytes *actr_package_get_binary(const ActrPackage *package);
const ActrLockFile *actr_package_get_lock_file(const ActrPackage *package);

/* After a successful verify: writes the binary to
 * "<data_dir>/dynclib-cache/<hex(binary hash)>.so" (runtime.md §6.1) and
 * returns that path (transfer full).  The file is written to a temporary
 * "actr-dynclib-*" file in the same directory and published without
 * replacing an existing file; an existing file is reused only if its
 * SHA-256 is right, else it is replaced (a corrupt cache heals). */
char *actr_package_extract_binary(ActrPackage *package, const char *data_dir, GError **error);

/* Lowercase hex of a 32-byte hash into @out (65 bytes with the NUL). */
void actr_package_hash_to_hex(const guint8 hash[32], char out[65]);

G_END_DECLS

#endif /* ACTR_PACKAGE_H */
