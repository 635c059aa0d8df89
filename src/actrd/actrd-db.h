/* actrd — the persistent state: <data_dir>/actrd.db (SQLite, WAL, 0600).
 *
 * Tables: realm, acl, signing_key, pending_registration, mfr_key,
 * mfr_package (see docs/actrd.md).  All statements are prepared once; every
 * failure is an ACTRD_ERROR whose message names the file.  The admin
 * subcommands (another process) and a running server share the file:
 * caches here are reloaded when PRAGMA data_version changes.
 *
 * Secrets: the realm table holds SHA-256 hex of realm secrets only.  The
 * signing_key table holds Ed25519 private seeds: the file is 0600 and no
 * function here logs a seed.
 *
 * Thread: one ActrdDb belongs to the server loop (or to the CLI's main
 * thread); no locking.
 */
#ifndef ACTRD_DB_H
#define ACTRD_DB_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ActrdDb ActrdDb;

/* Creates @data_dir (0700) if missing and opens or creates actrd.db in it
 * (0600).  Returns (transfer full) or NULL with @error (ACTRD_ERROR_DB). */
ActrdDb *actrd_db_open(const char *data_dir, GError **error);
void actrd_db_close(ActrdDb *db);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdDb, actrd_db_close)

/* Path of the database file (transfer none). */
const char *actrd_db_get_path(ActrdDb *db);

/* A number that changes whenever the file was changed, by this connection
 * or by another process since the last call. */
guint64 actrd_db_generation(ActrdDb *db);

/* TRUE when a trivial query works (for /ais/health). */
gboolean actrd_db_ping(ActrdDb *db);

/* ---- Realms ------------------------------------------------------------- */

typedef struct {
  guint32 id;
  char *name;
  gboolean enabled;
  gint64 expires_at;           /* Unix seconds; 0 = never */
  gboolean has_secret;         /* a current secret is set */
  gboolean has_previous;       /* a previous secret is still in its grace window */
  gint64 previous_valid_until; /* Unix seconds */
  gint64 created_at;           /* Unix seconds */
} ActrdRealm;

void actrd_realm_free(ActrdRealm *realm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdRealm, actrd_realm_free)

/* Creates realm @id (enabled, never expires).  @secret_hash (nullable) is
 * the lowercase hex SHA-256 of the secret.  ACTRD_ERROR_EXISTS if present. */
gboolean actrd_db_realm_create(ActrdDb *db, guint32 id, const char *name, const char *secret_hash,
                               GError **error);
/* TRUE and the realm (transfer full) in @out, FALSE with NOT_FOUND. */
gboolean actrd_db_realm_get(ActrdDb *db, guint32 id, ActrdRealm **out, GError **error);
/* All realms by id (ActrdRealm *, transfer full), or NULL on error. */
GPtrArray *actrd_db_realm_list(ActrdDb *db, GError **error);
/* Replaces the current secret (@secret_hash NULL clears it) and drops any
 * previous one. */
gboolean actrd_db_realm_set_secret(ActrdDb *db, guint32 id, const char *secret_hash,
                                   GError **error);
/* Makes @secret_hash current; the old current one stays valid until
 * @now + @grace_secs. */
gboolean actrd_db_realm_rotate_secret(ActrdDb *db, guint32 id, const char *secret_hash, gint64 now,
                                      gint64 grace_secs, GError **error);
/* Enables/disables a realm and sets its expiry (0 = never). */
gboolean actrd_db_realm_update(ActrdDb *db, guint32 id, gboolean enabled, gint64 expires_at,
                               GError **error);

/* Realm exists, enabled, not expired; else FALSE with a message for
 * "Realm validation failed: <msg>". */
gboolean actrd_db_realm_check(ActrdDb *db, guint32 realm_id, GError **error);

typedef enum {
  ACTRD_SECRET_NOT_CONFIGURED,
  ACTRD_SECRET_VALID_CURRENT,
  ACTRD_SECRET_VALID_PREVIOUS,
  ACTRD_SECRET_MISSING_REQUIRED,
  ACTRD_SECRET_INVALID,
} ActrdSecretCheck;

/* wire.md §2.6: @secret (nullable, trimmed; empty = missing) against realm
 * @realm_id at time @now.  FALSE only on a storage error. */
gboolean actrd_db_realm_secret_check(ActrdDb *db, guint32 realm_id, const char *secret, gint64 now,
                                     ActrdSecretCheck *out, GError **error);

/* ---- ACL ---------------------------------------------------------------- */

/* Types are "m:n:v" text forms; "*" (from and/or to) matches every type. */
typedef struct {
  gint64 id;               /* rowid; newer rules have larger ids */
  guint32 realm_id;        /* the target's realm (the rule's owner) */
  gboolean any_source;     /* any_realm: matches every source realm */
  guint32 source_realm_id; /* when !any_source */
  char *from_type;
  char *to_type;
  gboolean allow;
} ActrdAclRule;

void actrd_acl_rule_free(ActrdAclRule *rule);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdAclRule, actrd_acl_rule_free)

/* Appends @rule (its id is ignored); the new id goes to @id_out (nullable). */
gboolean actrd_db_acl_add(ActrdDb *db, const ActrdAclRule *rule, gint64 *id_out, GError **error);
/* Rules of @realm_id (0: every realm) by id (ActrdAclRule *, transfer full). */
GPtrArray *actrd_db_acl_list(ActrdDb *db, guint32 realm_id, GError **error);
/* Deletes rule @id; NOT_FOUND if absent. */
gboolean actrd_db_acl_remove(ActrdDb *db, gint64 id, GError **error);
/* The register side effect (wire.md §3.3 step 8): deletes the rules of
 * (@realm_id, @to_type) and inserts @rules (ActrdAclRule *) in one
 * transaction. */
gboolean actrd_db_acl_replace(ActrdDb *db, guint32 realm_id, const char *to_type, GPtrArray *rules,
                              GError **error);

/* type = "m:n:v"; newest matching rule wins; any_realm rules DO match (we
 * fix the reference's NULL quirk); no rule → FALSE.  Called on every relay:
 * served from an in-memory cache reloaded when PRAGMA data_version changes,
 * so `actrd acl add` from another process takes effect.  A storage error
 * while reloading keeps the previous cache (logged once). */
gboolean actrd_db_can_discover(ActrdDb *db, guint32 src_realm, guint32 tgt_realm,
                               const char *from_type, const char *to_type);

/* ---- Pending registrations ---------------------------------------------- */

/* Upserts the service spec (encoded ServiceSpec, nullable) and ws_address
 * (nullable) of a fresh registration. */
gboolean actrd_db_pending_put(ActrdDb *db, guint32 realm_id, guint64 serial, GBytes *service_spec,
                              const char *ws_address, gint64 now, GError **error);
/* Returns the registration data of (@realm_id, @serial); FALSE if none.
 * The row stays (a restarted actrd finds it again when the actor
 * reconnects) until the actor unregisters or it ages out.  Outputs
 * (transfer full) may be NULL. */
gboolean actrd_db_pending_get(ActrdDb *db, guint32 realm_id, guint64 serial, GBytes **service_spec,
                              char **ws_address);
/* Deletes the registration data of (@realm_id, @serial) (unregister). */
void actrd_db_pending_delete(ActrdDb *db, guint32 realm_id, guint64 serial);
/* Deletes pending rows created before @before; returns the count. */
guint actrd_db_pending_purge(ActrdDb *db, gint64 before);

/* ---- Signing keys ------------------------------------------------------- */

typedef struct {
  guint32 key_id;
  guint8 seed[32]; /* secret */
  guint8 pubkey[32];
  gint64 created_at; /* Unix seconds */
  gint64 expires_at; /* Unix seconds */
} ActrdKeyRow;

/* Stores a new key; its id (autoincrement, monotonic) goes to @key_id. */
gboolean actrd_db_key_insert(ActrdDb *db, const guint8 seed[32], const guint8 pubkey[32],
                             gint64 created_at, gint64 expires_at, guint32 *key_id, GError **error);
/* Keys with expires_at > @min_expires_at, newest first (GArray of
 * ActrdKeyRow; transfer full; wipe seeds with actrd_key_rows_free()). */
GArray *actrd_db_key_list(ActrdDb *db, gint64 min_expires_at, GError **error);
/* Zeroes the seeds and frees the array.  NULL-safe. */
void actrd_key_rows_free(GArray *rows);
/* Marks every key as expiring at @expires_at at the latest (rotation). */
gboolean actrd_db_key_expire_before(ActrdDb *db, gint64 expires_at, GError **error);

/* ---- Manufacturers (PACKAGE mode) --------------------------------------- */

typedef struct {
  char *manufacturer;
  char *key_id;
  guint8 public_key[32];
  gboolean revoked;
  gint64 created_at;
} ActrdMfrKey;

void actrd_mfr_key_free(ActrdMfrKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdMfrKey, actrd_mfr_key_free)

gboolean actrd_db_mfr_add(ActrdDb *db, const char *manufacturer, const char *key_id,
                          const guint8 public_key[32], GError **error);
/* All keys (ActrdMfrKey *), by manufacturer then creation. */
GPtrArray *actrd_db_mfr_list(ActrdDb *db, GError **error);
gboolean actrd_db_mfr_revoke(ActrdDb *db, const char *manufacturer, const char *key_id,
                             GError **error);
/* Key @key_id of @manufacturer, or with @key_id NULL its newest unrevoked
 * key.  FALSE with NOT_FOUND when absent. */
gboolean actrd_db_mfr_get(ActrdDb *db, const char *manufacturer, const char *key_id,
                          ActrdMfrKey **out, GError **error);

/* Published packages (Path 1).  @target may be NULL/"" for "any target". */
gboolean actrd_db_package_publish(ActrdDb *db, const char *type, const char *target,
                                  GBytes *manifest, GError **error);
/* An active package row for @type (and @target when non-empty): TRUE with
 * its manifest (transfer full, nullable) in @manifest. */
gboolean actrd_db_package_find(ActrdDb *db, const char *type, const char *target,
                               GBytes **manifest);

G_END_DECLS

#endif /* ACTRD_DB_H */
