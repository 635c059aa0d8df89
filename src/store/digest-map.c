/* actr — compact request-digest index.  See digest-map.h. */
#include "digest-map.h"

#include <string.h>

#define EMPTY_VALUE  G_MININT64
#define MIN_CAPACITY 64

typedef struct {
  ActrDigest key;
  gint64 value; /* EMPTY_VALUE marks a free slot */
} Slot;

struct _ActrDigestMap {
  Slot *slots;
  gsize capacity; /* power of two */
  gsize size;
};

/* Hex digit values, -1 for anything else; lowercase_only rejects A-F. */
static gint8 hex_table[2][256];

static void
init_hex_table(void)
{
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    for (int lower_only = 0; lower_only < 2; lower_only++) {
      for (int c = 0; c < 256; c++)
        hex_table[lower_only][c] =
            (gint8)((lower_only && c >= 'A' && c <= 'F') ? -1 : g_ascii_xdigit_value((char)c));
    }
    g_once_init_leave(&done, 1);
  }
}

/* Parses 8-4-4-4-12 hex UUID text into 16 bytes (hot path: one table lookup
 * per digit).  With @lowercase_only, A-F are rejected. */
static gboolean
parse_uuid(const char *text, ActrDigest *out, gboolean lowercase_only)
{
  init_hex_table();
  const gint8 *table = hex_table[lowercase_only ? 1 : 0];
  const guint8 *t = (const guint8 *)text;
  guint n = 0;
  for (guint i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (t[i] != '-')
        return FALSE;
      i++;
      continue;
    }
    int hi = table[t[i]];
    if (hi < 0)
      return FALSE; /* also stops at the NUL of a short string */
    int lo = table[t[i + 1]];
    if (lo < 0)
      return FALSE;
    out->bytes[n++] = (guint8)(hi << 4 | lo);
    i += 2;
  }
  return t[36] == '\0';
}

gboolean
actr_request_id_pack(const char *request_id, guint8 out[16])
{
  ActrDigest d;
  if (!parse_uuid(request_id, &d, TRUE))
    return FALSE;
  memcpy(out, d.bytes, 16);
  return TRUE;
}

void
actr_request_id_unpack(const guint8 in[16], char out[37])
{
  static const char hex[] = "0123456789abcdef";
  guint n = 0;
  for (guint i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[n++] = '-';
    out[n++] = hex[in[i] >> 4];
    out[n++] = hex[in[i] & 15];
  }
  out[n] = '\0';
}

gboolean
actr_digest_from_request_id(const char *request_id, ActrDigest *out)
{
  if (parse_uuid(request_id, out, FALSE))
    return TRUE;
  guint8 sha[32];
  gsize len = sizeof sha;
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(sum, (const guchar *)request_id, (gssize)strlen(request_id));
  g_checksum_get_digest(sum, sha, &len);
  g_checksum_free(sum);
  memcpy(out->bytes, sha, sizeof out->bytes);
  return FALSE;
}

/* The murmur3 64-bit finalizer: every input bit affects every output bit,
 * so structured (non-random) request ids spread as well as UUIDv4s. */
static guint64
mix64(guint64 x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

static gsize
slot_index(const ActrDigestMap *map, const ActrDigest *key)
{
  guint64 a, b;
  memcpy(&a, key->bytes, 8);
  memcpy(&b, key->bytes + 8, 8);
  return (gsize)mix64(a ^ mix64(b)) & (map->capacity - 1);
}

static void
init_slots(ActrDigestMap *map, gsize capacity)
{
  map->capacity = capacity;
  map->slots = g_new(Slot, capacity);
  for (gsize i = 0; i < capacity; i++)
    map->slots[i].value = EMPTY_VALUE;
}

ActrDigestMap *
actr_digest_map_new(void)
{
  ActrDigestMap *map = g_new0(ActrDigestMap, 1);
  init_slots(map, MIN_CAPACITY);
  return map;
}

void
actr_digest_map_free(ActrDigestMap *map)
{
  if (map == NULL)
    return;
  g_free(map->slots);
  g_free(map);
}

void
actr_digest_map_clear(ActrDigestMap *map)
{
  g_free(map->slots);
  map->size = 0;
  init_slots(map, MIN_CAPACITY);
}

/* Returns the slot holding @key, or the free slot where it would go. */
static Slot *
find_slot(const ActrDigestMap *map, const ActrDigest *key)
{
  gsize mask = map->capacity - 1;
  for (gsize i = slot_index(map, key);; i = (i + 1) & mask) {
    Slot *slot = &map->slots[i];
    if (slot->value == EMPTY_VALUE || memcmp(&slot->key, key, sizeof *key) == 0)
      return slot;
  }
}

static void
grow(ActrDigestMap *map)
{
  Slot *old = map->slots;
  gsize old_capacity = map->capacity;
  init_slots(map, old_capacity * 2);
  for (gsize i = 0; i < old_capacity; i++) {
    if (old[i].value != EMPTY_VALUE)
      *find_slot(map, &old[i].key) = old[i];
  }
  g_free(old);
}

gboolean
actr_digest_map_lookup(const ActrDigestMap *map, const ActrDigest *key, gint64 *value)
{
  const Slot *slot = find_slot(map, key);
  if (slot->value == EMPTY_VALUE)
    return FALSE;
  if (value)
    *value = slot->value;
  return TRUE;
}

void
actr_digest_map_insert(ActrDigestMap *map, const ActrDigest *key, gint64 value)
{
  g_return_if_fail(value >= 0);
  if ((map->size + 1) * 10 > map->capacity * 7)
    grow(map);
  Slot *slot = find_slot(map, key);
  if (slot->value == EMPTY_VALUE) {
    slot->key = *key;
    map->size++;
  }
  slot->value = value;
}

gboolean
actr_digest_map_remove(ActrDigestMap *map, const ActrDigest *key)
{
  Slot *slot = find_slot(map, key);
  if (slot->value == EMPTY_VALUE)
    return FALSE;
  /* Backward-shift deletion keeps probe chains intact without tombstones. */
  gsize mask = map->capacity - 1;
  gsize hole = (gsize)(slot - map->slots);
  for (gsize i = (hole + 1) & mask; map->slots[i].value != EMPTY_VALUE; i = (i + 1) & mask) {
    gsize home = slot_index(map, &map->slots[i].key);
    /* Move slot i into the hole when its home is not cyclically in (hole, i]. */
    gboolean movable = (i > hole) ? (home <= hole || home > i) : (home <= hole && home > i);
    if (movable) {
      map->slots[hole] = map->slots[i];
      hole = i;
    }
  }
  map->slots[hole].value = EMPTY_VALUE;
  map->size--;
  return TRUE;
}

guint
actr_digest_map_size(const ActrDigestMap *map)
{
  return (guint)map->size;
}
