/* actr — compact in-memory index from a 128-bit request digest to a 64-bit
 * value (internal to the store).
 *
 * Why not on disk: request_ids are random UUIDv4s, and a random-keyed SQLite
 * index makes every group commit touch one page per message (measured here:
 * 13x fewer accepts/s than appending).  The store keeps its tables
 * append-only and rebuilds this index from them on open.
 *
 * Open addressing with linear probing and backward-shift deletion: 24 bytes
 * a slot, load factor <= 0.7.  Not thread-safe: the store calls it under its
 * database lock. */
#ifndef ACTR_DIGEST_MAP_H
#define ACTR_DIGEST_MAP_H

#include <glib.h>

typedef struct {
  guint8 bytes[16];
} ActrDigest;

typedef struct _ActrDigestMap ActrDigestMap;

/* Digest of a request_id: the 16 bytes of a UUID in 8-4-4-4-12 form (either
 * case; returns TRUE), else the first 16 bytes of its SHA-256 (FALSE). */
gboolean actr_digest_from_request_id(const char *request_id, ActrDigest *out);

/* Packs a request_id in canonical UUID form (lowercase 8-4-4-4-12 hex) into
 * 16 bytes, so that actr_request_id_unpack() gives back the same text; FALSE
 * for anything else (which the store keeps as text). */
gboolean actr_request_id_pack(const char *request_id, guint8 out[16]);
/* Formats 16 bytes as lowercase UUID text into @out (37 bytes with NUL). */
void actr_request_id_unpack(const guint8 in[16], char out[37]);

ActrDigestMap *actr_digest_map_new(void);
void actr_digest_map_free(ActrDigestMap *map);
void actr_digest_map_clear(ActrDigestMap *map);

/* Values must be >= 0. */
gboolean actr_digest_map_lookup(const ActrDigestMap *map, const ActrDigest *key, gint64 *value);
void actr_digest_map_insert(ActrDigestMap *map, const ActrDigest *key, gint64 value);
gboolean actr_digest_map_remove(ActrDigestMap *map, const ActrDigest *key);
guint actr_digest_map_size(const ActrDigestMap *map);

#endif /* ACTR_DIGEST_MAP_H */
