/* actrd — persistent state in <data_dir>/actrd.db.  Contract: actrd-db.h.
 *
 * Every statement is prepared once (lazily) from the `sql` table below and
 * reset after use.  Writes that span several statements run in one
 * IMMEDIATE transaction.  The ACL cache serves actrd_db_can_discover()
 * without touching SQLite unless the file changed (PRAGMA data_version for
 * other processes, a local counter for this connection).
 */
#include "actrd-db.h"

#include "actrd-config.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <actr/identity.h>

#define DB_FILE         "actrd.db"
#define SCHEMA_VERSION  1
#define APPLICATION_ID  0x61637264 /* "acrd" */
#define BUSY_TIMEOUT_MS 5000

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS realm("
                                 "  id INTEGER PRIMARY KEY,"
                                 "  name TEXT NOT NULL,"
                                 "  enabled INTEGER NOT NULL DEFAULT 1,"
                                 "  status TEXT NOT NULL DEFAULT 'active',"
                                 "  expires_at INTEGER NOT NULL DEFAULT 0,"
                                 "  secret_current TEXT,"
                                 "  secret_previous TEXT,"
                                 "  secret_previous_valid_until INTEGER NOT NULL DEFAULT 0,"
                                 "  created_at INTEGER NOT NULL);"
                                 "CREATE TABLE IF NOT EXISTS acl("
                                 "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                 "  realm_id INTEGER NOT NULL,"
                                 "  source_realm_id INTEGER,"
                                 "  any_source INTEGER NOT NULL DEFAULT 0,"
                                 "  from_type TEXT NOT NULL,"
                                 "  to_type TEXT NOT NULL,"
                                 "  access INTEGER NOT NULL);"
                                 "CREATE INDEX IF NOT EXISTS acl_owner ON acl(realm_id, to_type);"
                                 "CREATE TABLE IF NOT EXISTS signing_key("
                                 "  key_id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                 "  seed BLOB NOT NULL,"
                                 "  pubkey BLOB NOT NULL,"
                                 "  created_at INTEGER NOT NULL,"
                                 "  expires_at INTEGER NOT NULL);"
                                 "CREATE TABLE IF NOT EXISTS pending_registration("
                                 "  realm_id INTEGER NOT NULL,"
                                 "  serial_number INTEGER NOT NULL,"
                                 "  service_spec BLOB,"
                                 "  ws_address TEXT,"
                                 "  created_at INTEGER NOT NULL,"
                                 "  PRIMARY KEY(realm_id, serial_number));"
                                 "CREATE TABLE IF NOT EXISTS mfr_key("
                                 "  manufacturer TEXT NOT NULL,"
                                 "  key_id TEXT NOT NULL,"
                                 "  public_key BLOB NOT NULL,"
                                 "  revoked INTEGER NOT NULL DEFAULT 0,"
                                 "  created_at INTEGER NOT NULL,"
                                 "  PRIMARY KEY(manufacturer, key_id));"
                                 "CREATE TABLE IF NOT EXISTS mfr_package("
                                 "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                 "  type TEXT NOT NULL,"
                                 "  target TEXT NOT NULL DEFAULT '',"
                                 "  manifest BLOB,"
                                 "  status TEXT NOT NULL DEFAULT 'active',"
                                 "  created_at INTEGER NOT NULL);";

typedef enum {
  Q_DATA_VERSION,
  Q_BEGIN,
  Q_COMMIT,
  Q_ROLLBACK,
  Q_REALM_INSERT,
  Q_REALM_GET,
  Q_REALM_LIST,
  Q_REALM_SET_SECRET,
  Q_REALM_ROTATE_SECRET,
  Q_REALM_UPDATE,
  Q_REALM_SECRETS,
  Q_ACL_INSERT,
  Q_ACL_LIST,
  Q_ACL_LIST_REALM,
  Q_ACL_DELETE,
  Q_ACL_DELETE_OWNER,
  Q_PENDING_UPSERT,
  Q_PENDING_GET,
  Q_PENDING_DELETE,
  Q_PENDING_PURGE,
  Q_KEY_INSERT,
  Q_KEY_LIST,
  Q_KEY_EXPIRE,
  Q_MFR_INSERT,
  Q_MFR_LIST,
  Q_MFR_REVOKE,
  Q_MFR_GET,
  Q_MFR_GET_NEWEST,
  Q_PACKAGE_INSERT,
  Q_PACKAGE_FIND,
  Q_COUNT
} QueryId;

static const char *const sql[Q_COUNT] = {
    [Q_DATA_VERSION] = "PRAGMA data_version",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_REALM_INSERT] = "INSERT INTO realm(id, name, secret_current, created_at) VALUES(?, ?, ?, ?)",
    [Q_REALM_GET] = "SELECT id, name, enabled, expires_at, secret_current IS NOT NULL,"
                    " secret_previous IS NOT NULL AND secret_previous_valid_until > ?,"
                    " secret_previous_valid_until, created_at, status FROM realm WHERE id = ?",
    [Q_REALM_LIST] = "SELECT id, name, enabled, expires_at, secret_current IS NOT NULL,"
                     " secret_previous IS NOT NULL AND secret_previous_valid_until > ?,"
                     " secret_previous_valid_until, created_at, status FROM realm ORDER BY id",
    [Q_REALM_SET_SECRET] = "UPDATE realm SET secret_current = ?, secret_previous = NULL,"
                           " secret_previous_valid_until = 0 WHERE id = ?",
    [Q_REALM_ROTATE_SECRET] = "UPDATE realm SET secret_previous = secret_current,"
                              " secret_previous_valid_until = ?, secret_current = ? WHERE id = ?",
    [Q_REALM_UPDATE] = "UPDATE realm SET enabled = ?, expires_at = ? WHERE id = ?",
    [Q_REALM_SECRETS] = "SELECT secret_current, secret_previous, secret_previous_valid_until"
                        " FROM realm WHERE id = ?",
    [Q_ACL_INSERT] = "INSERT INTO acl(realm_id, source_realm_id, any_source, from_type, to_type,"
                     " access) VALUES(?, ?, ?, ?, ?, ?)",
    [Q_ACL_LIST] = "SELECT id, realm_id, source_realm_id, any_source, from_type, to_type, access"
                   " FROM acl ORDER BY id",
    [Q_ACL_LIST_REALM] = "SELECT id, realm_id, source_realm_id, any_source, from_type, to_type,"
                         " access FROM acl WHERE realm_id = ? ORDER BY id",
    [Q_ACL_DELETE] = "DELETE FROM acl WHERE id = ?",
    [Q_ACL_DELETE_OWNER] = "DELETE FROM acl WHERE realm_id = ? AND to_type = ?",
    [Q_PENDING_UPSERT] = "INSERT INTO pending_registration(realm_id, serial_number, service_spec,"
                         " ws_address, created_at) VALUES(?, ?, ?, ?, ?)"
                         " ON CONFLICT(realm_id, serial_number) DO UPDATE SET"
                         " service_spec = excluded.service_spec, ws_address = excluded.ws_address,"
                         " created_at = excluded.created_at",
    [Q_PENDING_GET] = "SELECT service_spec, ws_address FROM pending_registration"
                      " WHERE realm_id = ? AND serial_number = ?",
    [Q_PENDING_DELETE] =
        "DELETE FROM pending_registration WHERE realm_id = ? AND serial_number = ?",
    [Q_PENDING_PURGE] = "DELETE FROM pending_registration WHERE created_at < ?",
    [Q_KEY_INSERT] = "INSERT INTO signing_key(seed, pubkey, created_at, expires_at)"
                     " VALUES(?, ?, ?, ?)",
    [Q_KEY_LIST] = "SELECT key_id, seed, pubkey, created_at, expires_at FROM signing_key"
                   " WHERE expires_at > ? ORDER BY key_id DESC",
    [Q_KEY_EXPIRE] = "UPDATE signing_key SET expires_at = ? WHERE expires_at > ?",
    [Q_MFR_INSERT] = "INSERT INTO mfr_key(manufacturer, key_id, public_key, created_at)"
                     " VALUES(?, ?, ?, ?)",
    [Q_MFR_LIST] = "SELECT manufacturer, key_id, public_key, revoked, created_at FROM mfr_key"
                   " ORDER BY manufacturer, created_at, rowid",
    [Q_MFR_REVOKE] = "UPDATE mfr_key SET revoked = 1 WHERE manufacturer = ? AND key_id = ?",
    [Q_MFR_GET] = "SELECT manufacturer, key_id, public_key, revoked, created_at FROM mfr_key"
                  " WHERE manufacturer = ? AND key_id = ?",
    [Q_MFR_GET_NEWEST] = "SELECT manufacturer, key_id, public_key, revoked, created_at FROM mfr_key"
                         " WHERE manufacturer = ? AND revoked = 0"
                         " ORDER BY created_at DESC, rowid DESC LIMIT 1",
    [Q_PACKAGE_INSERT] = "INSERT INTO mfr_package(type, target, manifest, created_at)"
                         " VALUES(?, ?, ?, ?)",
    [Q_PACKAGE_FIND] = "SELECT manifest FROM mfr_package WHERE type = ? AND status = 'active'"
                       " AND (? = '' OR target = '' OR target = ?) ORDER BY id DESC LIMIT 1",
};

typedef struct {
  gboolean any_source;
  guint32 source;
  char *from_type;
  char *to_type;
  gboolean allow;
} CachedRule;

struct _ActrdDb {
  sqlite3 *handle;
  char *path;
  sqlite3_stmt *stmts[Q_COUNT];

  gint64 last_data_version;
  guint64 generation;

  /* ACL cache: realm_id → GPtrArray of CachedRule *, newest first. */
  GHashTable *acl_cache;
  guint64 acl_generation;
  gboolean acl_valid;
  gboolean acl_warned;
};

/* ---- helpers ---------------------------------------------------------------- */

static gboolean
db_fail(ActrdDb *db, GError **error, const char *what)
{
  g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s: %s: %s", db->path, what,
              sqlite3_errmsg(db->handle));
  return FALSE;
}

/* The prepared statement @id, reset and with cleared bindings; NULL with
 * @error on a prepare failure. */
static sqlite3_stmt *
query(ActrdDb *db, QueryId id, GError **error)
{
  sqlite3_stmt *stmt = db->stmts[id];

  if (stmt == NULL) {
    if (sqlite3_prepare_v3(db->handle, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
        SQLITE_OK) {
      db_fail(db, error, "prepare");
      return NULL;
    }
    db->stmts[id] = stmt;
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return stmt;
}

static void
bind_text_or_null(sqlite3_stmt *stmt, int index, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(stmt, index);
}

/* Runs a statement that returns no rows. */
static gboolean
exec_done(ActrdDb *db, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = sqlite3_step(stmt);

  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE)
    return db_fail(db, error, what);
  return TRUE;
}

static void
local_change(ActrdDb *db)
{
  db->generation++;
}

static gboolean
begin(ActrdDb *db, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_BEGIN, error);

  return stmt != NULL && exec_done(db, stmt, "begin transaction", error);
}

static gboolean
commit(ActrdDb *db, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_COMMIT, error);

  return stmt != NULL && exec_done(db, stmt, "commit", error);
}

static void
rollback(ActrdDb *db)
{
  sqlite3_stmt *stmt = query(db, Q_ROLLBACK, NULL);

  if (stmt != NULL && sqlite3_get_autocommit(db->handle) == 0)
    exec_done(db, stmt, "rollback", NULL);
}

static char *
column_text(sqlite3_stmt *stmt, int col)
{
  const unsigned char *text = sqlite3_column_text(stmt, col);

  return text != NULL ? g_strdup((const char *)text) : NULL;
}

/* ---- open / close --------------------------------------------------------- */

static gboolean
ensure_dir(const char *dir, GError **error)
{
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int saved = errno;

    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s: cannot create data directory: %s", dir,
                g_strerror(saved));
    return FALSE;
  }
  return TRUE;
}

static gboolean
create_file_0600(const char *path, GError **error)
{
  int fd = g_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0) {
    int saved = errno;

    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s: %s", path, g_strerror(saved));
    return FALSE;
  }
  close(fd);
  return TRUE;
}

static gboolean
init_schema(ActrdDb *db, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gint64 version = 0, app_id = 0;
  g_autofree char *pragmas = NULL;

  if (sqlite3_exec(db->handle,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   " PRAGMA foreign_keys=ON;",
                   NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(db, error, "set journal mode");
  if (sqlite3_prepare_v2(db->handle,
                         "SELECT (SELECT application_id FROM pragma_application_id),"
                         " (SELECT user_version FROM pragma_user_version),"
                         " (SELECT count(*) FROM sqlite_master)",
                         -1, &stmt, NULL) != SQLITE_OK)
    return db_fail(db, error, "read schema version");
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    app_id = sqlite3_column_int64(stmt, 0);
    version = sqlite3_column_int64(stmt, 1);
    if (app_id == 0 && version == 0 && sqlite3_column_int64(stmt, 2) > 0) {
      sqlite3_finalize(stmt);
      g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s: not an actrd database", db->path);
      return FALSE;
    }
  }
  sqlite3_finalize(stmt);
  if (app_id != 0 && app_id != APPLICATION_ID) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s: not an actrd database", db->path);
    return FALSE;
  }
  if (version > SCHEMA_VERSION) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB,
                "%s: schema version %" G_GINT64_FORMAT " is newer than this actrd (%d)", db->path,
                version, SCHEMA_VERSION);
    return FALSE;
  }
  if (version == SCHEMA_VERSION)
    return TRUE;
  pragmas = g_strdup_printf("BEGIN IMMEDIATE; %s PRAGMA application_id=%d; PRAGMA user_version=%d;"
                            " COMMIT;",
                            schema_sql, APPLICATION_ID, SCHEMA_VERSION);
  if (sqlite3_exec(db->handle, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
    db_fail(db, error, "create tables");
    sqlite3_exec(db->handle, "ROLLBACK", NULL, NULL, NULL);
    return FALSE;
  }
  return TRUE;
}

ActrdDb *
actrd_db_open(const char *data_dir, GError **error)
{
  g_autoptr(ActrdDb) db = g_new0(ActrdDb, 1);

  db->path = g_build_filename(data_dir, DB_FILE, NULL);
  db->acl_cache = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_ptr_array_unref);
  if (!ensure_dir(data_dir, error) || !create_file_0600(db->path, error))
    return NULL;
  if (sqlite3_open_v2(db->path, &db->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK) {
    db_fail(db, error, "open");
    return NULL;
  }
  sqlite3_busy_timeout(db->handle, BUSY_TIMEOUT_MS);
  sqlite3_extended_result_codes(db->handle, 1);
  if (!init_schema(db, error))
    return NULL;
  /* The -wal and -shm files inherit the main file's permissions. */
  db->last_data_version = -1;
  actrd_db_generation(db);
  return g_steal_pointer(&db);
}

void
actrd_db_close(ActrdDb *db)
{
  if (db == NULL)
    return;
  for (int i = 0; i < Q_COUNT; i++)
    sqlite3_finalize(db->stmts[i]);
  if (db->handle != NULL)
    sqlite3_close(db->handle);
  g_hash_table_unref(db->acl_cache);
  g_free(db->path);
  g_free(db);
}

const char *
actrd_db_get_path(ActrdDb *db)
{
  return db->path;
}

guint64
actrd_db_generation(ActrdDb *db)
{
  sqlite3_stmt *stmt = query(db, Q_DATA_VERSION, NULL);

  if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW) {
    gint64 version = sqlite3_column_int64(stmt, 0);

    if (version != db->last_data_version) {
      db->last_data_version = version;
      db->generation++;
    }
  }
  if (stmt != NULL)
    sqlite3_reset(stmt);
  return db->generation;
}

gboolean
actrd_db_ping(ActrdDb *db)
{
  sqlite3_stmt *stmt = query(db, Q_DATA_VERSION, NULL);
  gboolean ok = stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW;

  if (stmt != NULL)
    sqlite3_reset(stmt);
  return ok;
}

/* ---- realms --------------------------------------------------------------- */

void
actrd_realm_free(ActrdRealm *realm)
{
  if (realm == NULL)
    return;
  g_free(realm->name);
  g_free(realm);
}

static ActrdRealm *
realm_from_row(sqlite3_stmt *stmt)
{
  ActrdRealm *realm = g_new0(ActrdRealm, 1);
  const unsigned char *status = sqlite3_column_text(stmt, 8);

  realm->id = (guint32)sqlite3_column_int64(stmt, 0);
  realm->name = column_text(stmt, 1);
  realm->enabled = sqlite3_column_int(stmt, 2) != 0 &&
                   (status == NULL || strcmp((const char *)status, "active") == 0);
  realm->expires_at = sqlite3_column_int64(stmt, 3);
  realm->has_secret = sqlite3_column_int(stmt, 4) != 0;
  realm->has_previous = sqlite3_column_int(stmt, 5) != 0;
  realm->previous_valid_until = realm->has_previous ? sqlite3_column_int64(stmt, 6) : 0;
  realm->created_at = sqlite3_column_int64(stmt, 7);
  return realm;
}

static gint64
now_secs(void)
{
  return g_get_real_time() / G_USEC_PER_SEC;
}

gboolean
actrd_db_realm_create(ActrdDb *db, guint32 id, const char *name, const char *secret_hash,
                      GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_REALM_INSERT, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64(stmt, 1, id);
  sqlite3_bind_text(stmt, 2, name != NULL ? name : "", -1, SQLITE_TRANSIENT);
  bind_text_or_null(stmt, 3, secret_hash);
  sqlite3_bind_int64(stmt, 4, now_secs());
  rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_EXISTS, "realm %u already exists", id);
    return FALSE;
  }
  if (rc != SQLITE_DONE)
    return db_fail(db, error, "create realm");
  local_change(db);
  return TRUE;
}

gboolean
actrd_db_realm_get(ActrdDb *db, guint32 id, ActrdRealm **out, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_REALM_GET, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64(stmt, 1, now_secs());
  sqlite3_bind_int64(stmt, 2, id);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    *out = realm_from_row(stmt);
    sqlite3_reset(stmt);
    return TRUE;
  }
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE)
    return db_fail(db, error, "read realm");
  g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_NOT_FOUND, "realm %u not found", id);
  return FALSE;
}

/* Steps @stmt (prepared and bound by the caller), mapping each row with
 * @from_row into a new array freed with @free_func.  Returns (transfer
 * full) the array, or NULL with @error ("cannot @what") on failure. */
typedef gpointer (*RowMapper)(sqlite3_stmt *stmt);

static GPtrArray *
collect_rows(ActrdDb *db, sqlite3_stmt *stmt, RowMapper from_row, GDestroyNotify free_func,
             const char *what, GError **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(free_func);
  int rc;

  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
    g_ptr_array_add(list, from_row(stmt));
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) {
    db_fail(db, error, what);
    return NULL;
  }
  return g_steal_pointer(&list);
}

GPtrArray *
actrd_db_realm_list(ActrdDb *db, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_REALM_LIST, error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64(stmt, 1, now_secs());
  return collect_rows(db, stmt, (RowMapper)realm_from_row, (GDestroyNotify)actrd_realm_free,
                      "list realms", error);
}

/* Runs an UPDATE on one realm; NOT_FOUND when no row changed. */
static gboolean
realm_update_done(ActrdDb *db, sqlite3_stmt *stmt, guint32 id, GError **error)
{
  if (!exec_done(db, stmt, "update realm", error))
    return FALSE;
  if (sqlite3_changes(db->handle) == 0) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_NOT_FOUND, "realm %u not found", id);
    return FALSE;
  }
  local_change(db);
  return TRUE;
}

gboolean
actrd_db_realm_set_secret(ActrdDb *db, guint32 id, const char *secret_hash, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_REALM_SET_SECRET, error);

  if (stmt == NULL)
    return FALSE;
  bind_text_or_null(stmt, 1, secret_hash);
  sqlite3_bind_int64(stmt, 2, id);
  return realm_update_done(db, stmt, id, error);
}

gboolean
actrd_db_realm_rotate_secret(ActrdDb *db, guint32 id, const char *secret_hash, gint64 now,
                             gint64 grace_secs, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_REALM_ROTATE_SECRET, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64(stmt, 1, now + grace_secs);
  sqlite3_bind_text(stmt, 2, secret_hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 3, id);
  return realm_update_done(db, stmt, id, error);
}

gboolean
actrd_db_realm_update(ActrdDb *db, guint32 id, gboolean enabled, gint64 expires_at, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_REALM_UPDATE, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int(stmt, 1, enabled ? 1 : 0);
  sqlite3_bind_int64(stmt, 2, expires_at);
  sqlite3_bind_int64(stmt, 3, id);
  return realm_update_done(db, stmt, id, error);
}

gboolean
actrd_db_realm_check(ActrdDb *db, guint32 realm_id, GError **error)
{
  g_autoptr(ActrdRealm) realm = NULL;
  g_autoptr(GError) local = NULL;

  if (!actrd_db_realm_get(db, realm_id, &realm, &local)) {
    if (g_error_matches(local, ACTRD_ERROR, ACTRD_ERROR_NOT_FOUND))
      g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_REALM, "realm %u does not exist", realm_id);
    else
      g_propagate_error(error, g_steal_pointer(&local));
    return FALSE;
  }
  if (!realm->enabled) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_REALM, "realm %u is disabled", realm_id);
    return FALSE;
  }
  if (realm->expires_at != 0 && realm->expires_at <= now_secs()) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_REALM, "realm %u has expired", realm_id);
    return FALSE;
  }
  return TRUE;
}

gboolean
actrd_db_realm_secret_check(ActrdDb *db, guint32 realm_id, const char *secret, gint64 now,
                            ActrdSecretCheck *out, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_REALM_SECRETS, error);
  g_autofree char *current = NULL;
  g_autofree char *previous = NULL;
  g_autofree char *hash = NULL;
  gint64 valid_until = 0;
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64(stmt, 1, realm_id);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    current = column_text(stmt, 0);
    previous = column_text(stmt, 1);
    valid_until = sqlite3_column_int64(stmt, 2);
  }
  sqlite3_reset(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_fail(db, error, "read realm secret");

  if (current == NULL) {
    *out = ACTRD_SECRET_NOT_CONFIGURED;
    return TRUE;
  }
  hash = secret != NULL ? actr_realm_secret_hash(secret) : NULL;
  if (hash == NULL)
    *out = ACTRD_SECRET_MISSING_REQUIRED;
  else if (actr_secure_str_equal(hash, current))
    *out = ACTRD_SECRET_VALID_CURRENT;
  else if (previous != NULL && valid_until > now && actr_secure_str_equal(hash, previous))
    *out = ACTRD_SECRET_VALID_PREVIOUS;
  else
    *out = ACTRD_SECRET_INVALID;
  return TRUE;
}

/* ---- ACL ------------------------------------------------------------------ */

void
actrd_acl_rule_free(ActrdAclRule *rule)
{
  if (rule == NULL)
    return;
  g_free(rule->from_type);
  g_free(rule->to_type);
  g_free(rule);
}

static gboolean
acl_insert(ActrdDb *db, const ActrdAclRule *rule, gint64 *id_out, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_ACL_INSERT, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64(stmt, 1, rule->realm_id);
  if (rule->any_source)
    sqlite3_bind_null(stmt, 2);
  else
    sqlite3_bind_int64(stmt, 2, rule->source_realm_id);
  sqlite3_bind_int(stmt, 3, rule->any_source ? 1 : 0);
  sqlite3_bind_text(stmt, 4, rule->from_type, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 5, rule->to_type, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(stmt, 6, rule->allow ? 1 : 0);
  if (!exec_done(db, stmt, "add ACL rule", error))
    return FALSE;
  if (id_out != NULL)
    *id_out = sqlite3_last_insert_rowid(db->handle);
  return TRUE;
}

gboolean
actrd_db_acl_add(ActrdDb *db, const ActrdAclRule *rule, gint64 *id_out, GError **error)
{
  if (!acl_insert(db, rule, id_out, error))
    return FALSE;
  local_change(db);
  return TRUE;
}

static ActrdAclRule *
acl_rule_from_row(sqlite3_stmt *stmt)
{
  ActrdAclRule *rule = g_new0(ActrdAclRule, 1);

  rule->id = sqlite3_column_int64(stmt, 0);
  rule->realm_id = (guint32)sqlite3_column_int64(stmt, 1);
  rule->source_realm_id = (guint32)sqlite3_column_int64(stmt, 2);
  rule->any_source =
      sqlite3_column_int(stmt, 3) != 0 || sqlite3_column_type(stmt, 2) == SQLITE_NULL;
  rule->from_type = column_text(stmt, 4);
  rule->to_type = column_text(stmt, 5);
  rule->allow = sqlite3_column_int(stmt, 6) != 0;
  if (rule->from_type == NULL)
    rule->from_type = g_strdup("");
  if (rule->to_type == NULL)
    rule->to_type = g_strdup("");
  return rule;
}

GPtrArray *
actrd_db_acl_list(ActrdDb *db, guint32 realm_id, GError **error)
{
  sqlite3_stmt *stmt = query(db, realm_id != 0 ? Q_ACL_LIST_REALM : Q_ACL_LIST, error);

  if (stmt == NULL)
    return NULL;
  if (realm_id != 0)
    sqlite3_bind_int64(stmt, 1, realm_id);
  return collect_rows(db, stmt, (RowMapper)acl_rule_from_row, (GDestroyNotify)actrd_acl_rule_free,
                      "list ACL rules", error);
}

gboolean
actrd_db_acl_remove(ActrdDb *db, gint64 id, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_ACL_DELETE, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64(stmt, 1, id);
  if (!exec_done(db, stmt, "remove ACL rule", error))
    return FALSE;
  if (sqlite3_changes(db->handle) == 0) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_NOT_FOUND,
                "ACL rule %" G_GINT64_FORMAT " not found", id);
    return FALSE;
  }
  local_change(db);
  return TRUE;
}

gboolean
actrd_db_acl_replace(ActrdDb *db, guint32 realm_id, const char *to_type, GPtrArray *rules,
                     GError **error)
{
  sqlite3_stmt *stmt;

  if (!begin(db, error))
    return FALSE;
  stmt = query(db, Q_ACL_DELETE_OWNER, error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int64(stmt, 1, realm_id);
  sqlite3_bind_text(stmt, 2, to_type, -1, SQLITE_TRANSIENT);
  if (!exec_done(db, stmt, "replace ACL rules", error))
    goto fail;
  for (guint i = 0; rules != NULL && i < rules->len; i++) {
    if (!acl_insert(db, g_ptr_array_index(rules, i), NULL, error))
      goto fail;
  }
  if (!commit(db, error))
    goto fail;
  local_change(db);
  return TRUE;

fail:
  rollback(db);
  return FALSE;
}

static void
cached_rule_free(CachedRule *rule)
{
  g_free(rule->from_type);
  g_free(rule->to_type);
  g_free(rule);
}

static gboolean
acl_reload(ActrdDb *db)
{
  g_autoptr(GPtrArray) rules = NULL;
  g_autoptr(GError) error = NULL;

  rules = actrd_db_acl_list(db, 0, &error);
  if (rules == NULL) {
    if (!db->acl_warned)
      g_warning("ACL cache reload failed: %s", error->message);
    db->acl_warned = TRUE;
    return FALSE;
  }
  db->acl_warned = FALSE;
  g_hash_table_remove_all(db->acl_cache);
  /* Oldest first in the list; prepend so that each realm's array is newest
   * first. */
  for (guint i = 0; i < rules->len; i++) {
    ActrdAclRule *r = g_ptr_array_index(rules, i);
    GPtrArray *list = g_hash_table_lookup(db->acl_cache, GUINT_TO_POINTER(r->realm_id));
    CachedRule *c = g_new0(CachedRule, 1);

    if (list == NULL) {
      list = g_ptr_array_new_with_free_func((GDestroyNotify)cached_rule_free);
      g_hash_table_insert(db->acl_cache, GUINT_TO_POINTER(r->realm_id), list);
    }
    c->any_source = r->any_source;
    c->source = r->source_realm_id;
    c->from_type = g_steal_pointer(&r->from_type);
    c->to_type = g_steal_pointer(&r->to_type);
    c->allow = r->allow;
    g_ptr_array_insert(list, 0, c);
  }
  return TRUE;
}

static gboolean
type_matches(const char *pattern, const char *type)
{
  return strcmp(pattern, "*") == 0 || strcmp(pattern, type) == 0;
}

gboolean
actrd_db_can_discover(ActrdDb *db, guint32 src_realm, guint32 tgt_realm, const char *from_type,
                      const char *to_type)
{
  guint64 generation = actrd_db_generation(db);
  GPtrArray *list;

  if (from_type == NULL || to_type == NULL)
    return FALSE;
  if (!db->acl_valid || generation != db->acl_generation) {
    if (acl_reload(db)) {
      db->acl_valid = TRUE;
      db->acl_generation = generation;
    }
  }
  list = g_hash_table_lookup(db->acl_cache, GUINT_TO_POINTER(tgt_realm));
  for (guint i = 0; list != NULL && i < list->len; i++) {
    const CachedRule *c = g_ptr_array_index(list, i);

    if ((c->any_source || c->source == src_realm) && type_matches(c->from_type, from_type) &&
        type_matches(c->to_type, to_type))
      return c->allow;
  }
  return FALSE;
}

/* ---- pending registrations ------------------------------------------------ */

gboolean
actrd_db_pending_put(ActrdDb *db, guint32 realm_id, guint64 serial, GBytes *service_spec,
                     const char *ws_address, gint64 now, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_PENDING_UPSERT, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64(stmt, 1, realm_id);
  sqlite3_bind_int64(stmt, 2, (sqlite3_int64)serial);
  if (service_spec != NULL) {
    gsize len = 0;
    gconstpointer data = g_bytes_get_data(service_spec, &len);

    sqlite3_bind_blob(stmt, 3, len > 0 ? data : "", (int)len, SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_null(stmt, 3);
  }
  bind_text_or_null(stmt, 4, ws_address);
  sqlite3_bind_int64(stmt, 5, now);
  if (!exec_done(db, stmt, "store pending registration", error))
    return FALSE;
  local_change(db);
  return TRUE;
}

gboolean
actrd_db_pending_get(ActrdDb *db, guint32 realm_id, guint64 serial, GBytes **service_spec,
                     char **ws_address)
{
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt = query(db, Q_PENDING_GET, &error);
  int rc;

  if (service_spec != NULL)
    *service_spec = NULL;
  if (ws_address != NULL)
    *ws_address = NULL;
  if (stmt == NULL) {
    g_warning("%s", error->message);
    return FALSE;
  }
  sqlite3_bind_int64(stmt, 1, realm_id);
  sqlite3_bind_int64(stmt, 2, (sqlite3_int64)serial);
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
      g_warning("%s: read pending registration: %s", db->path, sqlite3_errmsg(db->handle));
    return FALSE;
  }
  if (service_spec != NULL && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
    *service_spec = g_bytes_new(sqlite3_column_blob(stmt, 0), sqlite3_column_bytes(stmt, 0));
  if (ws_address != NULL)
    *ws_address = column_text(stmt, 1);
  sqlite3_reset(stmt);

  return TRUE;
}

void
actrd_db_pending_delete(ActrdDb *db, guint32 realm_id, guint64 serial)
{
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt = query(db, Q_PENDING_DELETE, &error);

  if (stmt != NULL) {
    sqlite3_bind_int64(stmt, 1, realm_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)serial);
    if (exec_done(db, stmt, "delete pending registration", &error))
      local_change(db);
  }
  if (error != NULL)
    g_warning("%s", error->message);
}

guint
actrd_db_pending_purge(ActrdDb *db, gint64 before)
{
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt = query(db, Q_PENDING_PURGE, &error);

  if (stmt == NULL) {
    g_warning("%s", error->message);
    return 0;
  }
  sqlite3_bind_int64(stmt, 1, before);
  if (!exec_done(db, stmt, "purge pending registrations", &error)) {
    g_warning("%s", error->message);
    return 0;
  }
  local_change(db);
  return (guint)sqlite3_changes(db->handle);
}

/* ---- signing keys --------------------------------------------------------- */

gboolean
actrd_db_key_insert(ActrdDb *db, const guint8 seed[32], const guint8 pubkey[32], gint64 created_at,
                    gint64 expires_at, guint32 *key_id, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_KEY_INSERT, error);
  sqlite3_int64 id;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob(stmt, 1, seed, 32, SQLITE_TRANSIENT);
  sqlite3_bind_blob(stmt, 2, pubkey, 32, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 3, created_at);
  sqlite3_bind_int64(stmt, 4, expires_at);
  if (!exec_done(db, stmt, "store signing key", error))
    return FALSE;
  id = sqlite3_last_insert_rowid(db->handle);
  if (id <= 0 || id > G_MAXUINT32) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s: signing key ids exhausted", db->path);
    return FALSE;
  }
  *key_id = (guint32)id;
  local_change(db);
  return TRUE;
}

void
actrd_key_rows_free(GArray *rows)
{
  if (rows == NULL)
    return;
  for (guint i = 0; i < rows->len; i++) {
    ActrdKeyRow *row = &g_array_index(rows, ActrdKeyRow, i);

    memset(row->seed, 0, sizeof row->seed);
  }
  g_array_unref(rows);
}

GArray *
actrd_db_key_list(ActrdDb *db, gint64 min_expires_at, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_KEY_LIST, error);
  GArray *rows;
  int rc;

  if (stmt == NULL)
    return NULL;
  rows = g_array_new(FALSE, TRUE, sizeof(ActrdKeyRow));
  sqlite3_bind_int64(stmt, 1, min_expires_at);
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    ActrdKeyRow row = {0};
    sqlite3_int64 id = sqlite3_column_int64(stmt, 0);

    if (id <= 0 || id > G_MAXUINT32 || sqlite3_column_bytes(stmt, 1) != 32 ||
        sqlite3_column_bytes(stmt, 2) != 32)
      continue; /* not a key we wrote */
    row.key_id = (guint32)id;
    memcpy(row.seed, sqlite3_column_blob(stmt, 1), 32);
    memcpy(row.pubkey, sqlite3_column_blob(stmt, 2), 32);
    row.created_at = sqlite3_column_int64(stmt, 3);
    row.expires_at = sqlite3_column_int64(stmt, 4);
    g_array_append_val(rows, row);
    memset(row.seed, 0, sizeof row.seed);
  }
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) {
    actrd_key_rows_free(rows);
    db_fail(db, error, "read signing keys");
    return NULL;
  }
  return rows;
}

gboolean
actrd_db_key_expire_before(ActrdDb *db, gint64 expires_at, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_KEY_EXPIRE, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64(stmt, 1, expires_at);
  sqlite3_bind_int64(stmt, 2, expires_at);
  if (!exec_done(db, stmt, "expire signing keys", error))
    return FALSE;
  local_change(db);
  return TRUE;
}

/* ---- manufacturers -------------------------------------------------------- */

void
actrd_mfr_key_free(ActrdMfrKey *key)
{
  if (key == NULL)
    return;
  g_free(key->manufacturer);
  g_free(key->key_id);
  g_free(key);
}

static ActrdMfrKey *
mfr_from_row(sqlite3_stmt *stmt)
{
  ActrdMfrKey *key = g_new0(ActrdMfrKey, 1);

  key->manufacturer = column_text(stmt, 0);
  key->key_id = column_text(stmt, 1);
  if (sqlite3_column_bytes(stmt, 2) == 32)
    memcpy(key->public_key, sqlite3_column_blob(stmt, 2), 32);
  key->revoked = sqlite3_column_int(stmt, 3) != 0;
  key->created_at = sqlite3_column_int64(stmt, 4);
  return key;
}

gboolean
actrd_db_mfr_add(ActrdDb *db, const char *manufacturer, const char *key_id,
                 const guint8 public_key[32], GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_MFR_INSERT, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text(stmt, 1, manufacturer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, key_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob(stmt, 3, public_key, 32, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 4, now_secs());
  rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_EXISTS, "manufacturer %s already has key %s",
                manufacturer, key_id);
    return FALSE;
  }
  if (rc != SQLITE_DONE)
    return db_fail(db, error, "add manufacturer key");
  local_change(db);
  return TRUE;
}

GPtrArray *
actrd_db_mfr_list(ActrdDb *db, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_MFR_LIST, error);

  if (stmt == NULL)
    return NULL;
  return collect_rows(db, stmt, (RowMapper)mfr_from_row, (GDestroyNotify)actrd_mfr_key_free,
                      "list manufacturer keys", error);
}

gboolean
actrd_db_mfr_revoke(ActrdDb *db, const char *manufacturer, const char *key_id, GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_MFR_REVOKE, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text(stmt, 1, manufacturer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, key_id, -1, SQLITE_TRANSIENT);
  if (!exec_done(db, stmt, "revoke manufacturer key", error))
    return FALSE;
  if (sqlite3_changes(db->handle) == 0) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_NOT_FOUND, "manufacturer %s has no key %s",
                manufacturer, key_id);
    return FALSE;
  }
  local_change(db);
  return TRUE;
}

gboolean
actrd_db_mfr_get(ActrdDb *db, const char *manufacturer, const char *key_id, ActrdMfrKey **out,
                 GError **error)
{
  sqlite3_stmt *stmt = query(db, key_id != NULL ? Q_MFR_GET : Q_MFR_GET_NEWEST, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text(stmt, 1, manufacturer, -1, SQLITE_TRANSIENT);
  if (key_id != NULL)
    sqlite3_bind_text(stmt, 2, key_id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    *out = mfr_from_row(stmt);
    sqlite3_reset(stmt);
    return TRUE;
  }
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE)
    return db_fail(db, error, "read manufacturer key");
  g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_NOT_FOUND, "unknown manufacturer key");
  return FALSE;
}

gboolean
actrd_db_package_publish(ActrdDb *db, const char *type, const char *target, GBytes *manifest,
                         GError **error)
{
  sqlite3_stmt *stmt = query(db, Q_PACKAGE_INSERT, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text(stmt, 1, type, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, target != NULL ? target : "", -1, SQLITE_TRANSIENT);
  if (manifest != NULL) {
    gsize len = 0;
    gconstpointer data = g_bytes_get_data(manifest, &len);

    sqlite3_bind_blob(stmt, 3, len > 0 ? data : "", (int)len, SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_null(stmt, 3);
  }
  sqlite3_bind_int64(stmt, 4, now_secs());
  if (!exec_done(db, stmt, "publish package", error))
    return FALSE;
  local_change(db);
  return TRUE;
}

gboolean
actrd_db_package_find(ActrdDb *db, const char *type, const char *target, GBytes **manifest)
{
  sqlite3_stmt *stmt = query(db, Q_PACKAGE_FIND, NULL);
  gboolean found = FALSE;

  *manifest = NULL;
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text(stmt, 1, type, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, target != NULL ? target : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 3, target != NULL ? target : "", -1, SQLITE_TRANSIENT);
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    found = TRUE;
    if (sqlite3_column_type(stmt, 0) != SQLITE_NULL)
      *manifest = g_bytes_new(sqlite3_column_blob(stmt, 0), sqlite3_column_bytes(stmt, 0));
  }
  sqlite3_reset(stmt);
  return found;
}
