/* actrd — the AIS signing keys (wire.md §2.3), stored in actrd.db.
 *
 * One current Ed25519 key signs every credential.  Older keys stay usable
 * for verification until their expiry plus the tolerance window, so a
 * credential signed just before a rotation stays valid for its whole
 * lifetime.  The server rotates key_rotate_lead_secs before expiry (a timer
 * on the server loop calls actrd_keys_maintain()); `actrd key rotate` and
 * POST /ais/rotate-key rotate at once.  A rotation made by another process
 * is picked up through actrd_db_generation().
 *
 * The private seed never leaves this module except into the database, and
 * is never logged.
 *
 * Thread: server loop only.
 */
#ifndef ACTRD_KEYS_H
#define ACTRD_KEYS_H

#include <glib.h>
#include <actr/identity.h>

#include "actrd-db.h"

G_BEGIN_DECLS

typedef struct _ActrdKeys ActrdKeys;

/* Loads the keys from @db (borrowed; must outlive the result), generating a
 * current key when there is none that is still valid.  Returns (transfer
 * full) or NULL with @error. */
ActrdKeys *actrd_keys_new(ActrdDb *db, guint64 key_ttl_secs, guint64 tolerance_secs,
                          guint64 rotate_lead_secs, GError **error);
void actrd_keys_free(ActrdKeys *keys);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdKeys, actrd_keys_free)

/* Tests only: pretend the Unix time is @now_secs (0 = the real clock). */
void actrd_keys_set_now(ActrdKeys *keys, gint64 now_secs);

/* The current signing key (transfer none, valid until the next rotation or
 * reload) and its id / public key / expiry, reloading first when another
 * process changed the keys, and rotating when the current key has expired.
 * NULL with @error when no key can be made. */
const ActrSigningKey *actrd_keys_current(ActrdKeys *keys, guint32 *key_id, guint8 pubkey[32],
                                         gint64 *expires_at, GError **error);

/* Id of the current key (0 if none). */
guint32 actrd_keys_current_id(ActrdKeys *keys);

/* ActrKeyLookupFunc (@keys is the ActrdKeys): the current key or a previous
 * one whose expiry + tolerance has not passed. */
gboolean actrd_keys_lookup(guint32 key_id, guint8 public_key[32], gpointer keys);

/* Makes a new current key now; the old one keeps verifying for its
 * tolerance window.  The new id goes to @new_key_id (nullable). */
gboolean actrd_keys_rotate(ActrdKeys *keys, guint32 *new_key_id, GError **error);

/* Periodic work: rotates when the current key expires within the lead
 * time.  Returns FALSE with @error only when a needed rotation failed. */
gboolean actrd_keys_maintain(ActrdKeys *keys, GError **error);

/* Rotates the keys of the database at @data_dir from another process
 * (`actrd key rotate`): inserts a new key and shortens the old keys' life
 * to now, so the running server switches at its next request. */
gboolean actrd_keys_rotate_offline(ActrdDb *db, guint64 key_ttl_secs, guint32 *new_key_id,
                                   GError **error);

G_END_DECLS

#endif /* ACTRD_KEYS_H */
