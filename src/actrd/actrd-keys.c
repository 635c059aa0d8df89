/* actrd — AIS signing keys.  Contract: actrd-keys.h.
 *
 * In memory: every key row whose expiry + tolerance has not passed, newest
 * first (the database's answer), and the ActrSigningKey of the current one
 * (the newest key that has not expired).  The rows are reloaded whenever
 * actrd_db_generation() moves, which covers `actrd key rotate` run by
 * another process.
 */
#include "actrd-keys.h"

#include "actrd-config.h"

#include <string.h>

struct _ActrdKeys {
  ActrdDb *db; /* borrowed */
  guint64 ttl, tolerance, lead;
  gint64 now_override;

  GArray *rows; /* ActrdKeyRow, newest first */
  guint64 generation;
  ActrSigningKey *current; /* of rows[current_index] */
  guint32 current_id;
  guint8 current_pub[32];
  gint64 current_expires_at;
};

static gint64
keys_now(ActrdKeys *keys)
{
  return keys->now_override != 0 ? keys->now_override : g_get_real_time() / G_USEC_PER_SEC;
}

static void
drop_current(ActrdKeys *keys)
{
  g_clear_pointer(&keys->current, actr_signing_key_free);
  keys->current_id = 0;
  keys->current_expires_at = 0;
  memset(keys->current_pub, 0, sizeof keys->current_pub);
}

/* Reloads the rows and picks the current key.  No current key (all expired)
 * is not an error here. */
static gboolean
keys_reload(ActrdKeys *keys, GError **error)
{
  gint64 now = keys_now(keys);
  GArray *rows = actrd_db_key_list(keys->db, now - (gint64)keys->tolerance, error);

  if (rows == NULL)
    return FALSE;
  actrd_key_rows_free(keys->rows);
  keys->rows = rows;
  keys->generation = actrd_db_generation(keys->db);
  drop_current(keys);
  for (guint i = 0; i < rows->len; i++) {
    const ActrdKeyRow *row = &g_array_index(rows, ActrdKeyRow, i);

    if (row->expires_at > now) {
      keys->current = actr_signing_key_new_from_seed(row->seed, error);
      if (keys->current == NULL)
        return FALSE;
      keys->current_id = row->key_id;
      keys->current_expires_at = row->expires_at;
      memcpy(keys->current_pub, row->pubkey, 32);
      break;
    }
  }
  return TRUE;
}

/* Generates and stores a key valid for ttl from now (does not reload). */
static gboolean
keys_insert_new(ActrdDb *db, gint64 now, guint64 ttl, guint32 *key_id, GError **error)
{
  g_autoptr(ActrSigningKey) key = actr_signing_key_generate(error);
  guint8 seed[32], pub[32];
  gboolean ok;

  if (key == NULL)
    return FALSE;
  actr_signing_key_get_seed(key, seed);
  actr_signing_key_get_public(key, pub);
  ok = actrd_db_key_insert(db, seed, pub, now, now + (gint64)ttl, key_id, error);
  memset(seed, 0, sizeof seed);
  return ok;
}

ActrdKeys *
actrd_keys_new(ActrdDb *db, guint64 key_ttl_secs, guint64 tolerance_secs, guint64 rotate_lead_secs,
               GError **error)
{
  g_autoptr(ActrdKeys) keys = g_new0(ActrdKeys, 1);

  keys->db = db;
  keys->ttl = key_ttl_secs;
  keys->tolerance = tolerance_secs;
  keys->lead = MIN(rotate_lead_secs, key_ttl_secs / 2);
  if (!keys_reload(keys, error))
    return NULL;
  if (keys->current == NULL && !actrd_keys_rotate(keys, NULL, error))
    return NULL;
  return g_steal_pointer(&keys);
}

void
actrd_keys_free(ActrdKeys *keys)
{
  if (keys == NULL)
    return;
  drop_current(keys);
  actrd_key_rows_free(keys->rows);
  g_free(keys);
}

void
actrd_keys_set_now(ActrdKeys *keys, gint64 now_secs)
{
  keys->now_override = now_secs;
}

const ActrSigningKey *
actrd_keys_current(ActrdKeys *keys, guint32 *key_id, guint8 pubkey[32], gint64 *expires_at,
                   GError **error)
{
  if (actrd_db_generation(keys->db) != keys->generation && !keys_reload(keys, error))
    return NULL;
  if ((keys->current == NULL || keys->current_expires_at <= keys_now(keys)) &&
      !actrd_keys_rotate(keys, NULL, error))
    return NULL;
  if (key_id != NULL)
    *key_id = keys->current_id;
  if (pubkey != NULL)
    memcpy(pubkey, keys->current_pub, 32);
  if (expires_at != NULL)
    *expires_at = keys->current_expires_at;
  return keys->current;
}

guint32
actrd_keys_current_id(ActrdKeys *keys)
{
  if (actrd_db_generation(keys->db) != keys->generation)
    keys_reload(keys, NULL);
  return keys->current_id;
}

gboolean
actrd_keys_lookup(guint32 key_id, guint8 public_key[32], gpointer user_data)
{
  ActrdKeys *keys = user_data;
  gint64 now;

  if (actrd_db_generation(keys->db) != keys->generation)
    keys_reload(keys, NULL);
  now = keys_now(keys);
  for (guint i = 0; keys->rows != NULL && i < keys->rows->len; i++) {
    const ActrdKeyRow *row = &g_array_index(keys->rows, ActrdKeyRow, i);

    if (row->key_id == key_id) {
      if (row->expires_at + (gint64)keys->tolerance <= now)
        return FALSE;
      memcpy(public_key, row->pubkey, 32);
      return TRUE;
    }
  }
  return FALSE;
}

gboolean
actrd_keys_rotate(ActrdKeys *keys, guint32 *new_key_id, GError **error)
{
  gint64 now = keys_now(keys);
  guint32 id = 0;

  if (!keys_insert_new(keys->db, now, keys->ttl, &id, error) || !keys_reload(keys, error))
    return FALSE;
  if (keys->current_id != id) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_KEYS, "new signing key %u is not current", id);
    return FALSE;
  }
  g_message("signing key %u is now current (expires in %" G_GUINT64_FORMAT " s)", id, keys->ttl);
  if (new_key_id != NULL)
    *new_key_id = id;
  return TRUE;
}

gboolean
actrd_keys_maintain(ActrdKeys *keys, GError **error)
{
  if (actrd_keys_current(keys, NULL, NULL, NULL, error) == NULL)
    return FALSE;
  if (keys->current_expires_at - (gint64)keys->lead <= keys_now(keys))
    return actrd_keys_rotate(keys, NULL, error);
  return TRUE;
}

gboolean
actrd_keys_rotate_offline(ActrdDb *db, guint64 key_ttl_secs, guint32 *new_key_id, GError **error)
{
  gint64 now = g_get_real_time() / G_USEC_PER_SEC;
  guint32 id = 0;

  /* Old keys stop signing now and keep verifying for their tolerance. */
  if (!actrd_db_key_expire_before(db, now, error) ||
      !keys_insert_new(db, now, key_ttl_secs, &id, error))
    return FALSE;
  if (new_key_id != NULL)
    *new_key_id = id;
  return TRUE;
}
