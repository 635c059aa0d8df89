/* actrd — live service registry (memory backend), route-candidate ranking
 * and the offerer rule.  Contract: actrd-registry.h.
 *
 * Memory backend layout: every entry sits in one GQueue in insertion order
 * (the "registry order" of route candidates), in a hash table keyed by
 * (realm, serial), and in a per-type GQueue found through a hash table
 * keyed by the exact ActrType.  Each entry remembers its two queue links,
 * so removal is O(1) apart from the hash lookups.
 */
#include "actrd-registry.h"

#include "codec.h"

#include <math.h>
#include <string.h>

/* ---- entries --------------------------------------------------------------- */

ActrdRegistryEntry *
actrd_registry_entry_new(const ActrId *id)
{
  ActrdRegistryEntry *entry = g_new0(ActrdRegistryEntry, 1);
  gint64 now = g_get_real_time();

  actr_id_copy(id, &entry->id);
  entry->availability = ACTRD_STATE_UNKNOWN;
  entry->dependency_state = ACTRD_STATE_UNKNOWN;
  entry->last_heartbeat_us = now;
  entry->registered_us = now;
  return entry;
}

void
actrd_registry_entry_free(ActrdRegistryEntry *entry)
{
  if (entry == NULL)
    return;
  actr_id_clear(&entry->id);
  actr_proto_message_free((ProtobufCMessage *)entry->spec);
  g_free(entry->ws_address);
  g_clear_pointer(&entry->sticky_client_ids, g_ptr_array_unref);
  g_free(entry);
}

/* ---- dispatchers ------------------------------------------------------------ */

void
actrd_registry_put(ActrdRegistry *registry, ActrdRegistryEntry *entry)
{
  registry->backend->put(registry, entry);
}

gboolean
actrd_registry_remove(ActrdRegistry *registry, guint32 realm_id, guint64 serial)
{
  return registry->backend->remove(registry, realm_id, serial);
}

ActrdRegistryEntry *
actrd_registry_lookup(ActrdRegistry *registry, guint32 realm_id, guint64 serial)
{
  return registry->backend->lookup(registry, realm_id, serial);
}

void
actrd_registry_find_by_type(ActrdRegistry *registry, const ActrType *type, GPtrArray *out)
{
  registry->backend->find_by_type(registry, type, out);
}

void
actrd_registry_foreach(ActrdRegistry *registry, ActrdRegistryFunc func, gpointer user_data)
{
  registry->backend->foreach (registry, func, user_data);
}

gboolean
actrd_registry_update_load(ActrdRegistry *registry, guint32 realm_id, guint64 serial,
                           int availability, float power_reserve, float mailbox_backlog,
                           gint64 now_us)
{
  return registry->backend->update_load(registry, realm_id, serial, availability, power_reserve,
                                        mailbox_backlog, now_us);
}

guint
actrd_registry_size(ActrdRegistry *registry)
{
  return registry->backend->size(registry);
}

void
actrd_registry_free(ActrdRegistry *registry)
{
  if (registry != NULL)
    registry->backend->free(registry);
}

/* ---- memory backend ------------------------------------------------------- */

typedef ActrdActorKey SlotKey;

typedef struct {
  ActrdRegistryEntry *entry; /* owned */
  SlotKey key;
  GList *order_link; /* in MemRegistry.order */
  GList *type_link;  /* in the TypeBucket's queue */
  struct TypeBucket *bucket;
} Slot;

typedef struct TypeBucket {
  ActrType type; /* owned; the hash key points here */
  GQueue slots;  /* of Slot*, insertion order */
} TypeBucket;

typedef struct {
  ActrdRegistry parent;
  GQueue order;        /* of Slot*, insertion order */
  GHashTable *by_id;   /* SlotKey* (inside Slot) → Slot* (owned) */
  GHashTable *by_type; /* ActrType* (inside bucket) → TypeBucket* (owned) */
} MemRegistry;

guint
actrd_actor_key_hash(gconstpointer p)
{
  const ActrdActorKey *k = p;
  guint64 v = k->serial ^ ((guint64)k->realm_id * G_GUINT64_CONSTANT(0x9e3779b97f4a7c15));
  return (guint)(v ^ (v >> 32));
}

gboolean
actrd_actor_key_equal(gconstpointer a, gconstpointer b)
{
  const ActrdActorKey *x = a, *y = b;
  return x->realm_id == y->realm_id && x->serial == y->serial;
}

guint
actrd_type_hash(gconstpointer p)
{
  return actr_type_hash(p);
}

gboolean
actrd_type_equal(gconstpointer a, gconstpointer b)
{
  return actr_type_equal(a, b);
}

static void
type_bucket_free(gpointer p)
{
  TypeBucket *bucket = p;
  actr_type_clear(&bucket->type);
  g_queue_clear(&bucket->slots);
  g_free(bucket);
}

static void
slot_free(gpointer p)
{
  Slot *slot = p;
  actrd_registry_entry_free(slot->entry);
  g_free(slot);
}

/* Unlinks @slot from the order and type queues (not from by_id). */
static void
mem_unlink(MemRegistry *mem, Slot *slot)
{
  g_queue_delete_link(&mem->order, slot->order_link);
  g_queue_delete_link(&slot->bucket->slots, slot->type_link);
  if (g_queue_is_empty(&slot->bucket->slots))
    g_hash_table_remove(mem->by_type, &slot->bucket->type);
}

static gboolean
mem_remove(ActrdRegistry *registry, guint32 realm_id, guint64 serial)
{
  MemRegistry *mem = (MemRegistry *)registry;
  SlotKey key = {realm_id, serial};
  Slot *slot = g_hash_table_lookup(mem->by_id, &key);

  if (slot == NULL)
    return FALSE;
  mem_unlink(mem, slot);
  g_hash_table_remove(mem->by_id, &key); /* frees slot and entry */
  return TRUE;
}

static void
mem_put(ActrdRegistry *registry, ActrdRegistryEntry *entry)
{
  MemRegistry *mem = (MemRegistry *)registry;
  Slot *slot;
  TypeBucket *bucket;

  mem_remove(registry, entry->id.realm_id, entry->id.serial_number);

  slot = g_new0(Slot, 1);
  slot->entry = entry;
  slot->key.realm_id = entry->id.realm_id;
  slot->key.serial = entry->id.serial_number;

  bucket = g_hash_table_lookup(mem->by_type, &entry->id.type);
  if (bucket == NULL) {
    bucket = g_new0(TypeBucket, 1);
    actr_type_copy(&entry->id.type, &bucket->type);
    g_queue_init(&bucket->slots);
    g_hash_table_insert(mem->by_type, &bucket->type, bucket);
  }
  slot->bucket = bucket;
  g_queue_push_tail(&bucket->slots, slot);
  slot->type_link = bucket->slots.tail;
  g_queue_push_tail(&mem->order, slot);
  slot->order_link = mem->order.tail;
  g_hash_table_insert(mem->by_id, &slot->key, slot);
}

static ActrdRegistryEntry *
mem_lookup(ActrdRegistry *registry, guint32 realm_id, guint64 serial)
{
  MemRegistry *mem = (MemRegistry *)registry;
  SlotKey key = {realm_id, serial};
  Slot *slot = g_hash_table_lookup(mem->by_id, &key);

  return slot ? slot->entry : NULL;
}

static void
mem_find_by_type(ActrdRegistry *registry, const ActrType *type, GPtrArray *out)
{
  MemRegistry *mem = (MemRegistry *)registry;
  TypeBucket *bucket = g_hash_table_lookup(mem->by_type, type);

  if (bucket == NULL)
    return;
  for (GList *l = bucket->slots.head; l != NULL; l = l->next)
    g_ptr_array_add(out, ((Slot *)l->data)->entry);
}

static void
mem_foreach(ActrdRegistry *registry, ActrdRegistryFunc func, gpointer user_data)
{
  MemRegistry *mem = (MemRegistry *)registry;

  for (GList *l = mem->order.head; l != NULL; l = l->next) {
    if (!func(((Slot *)l->data)->entry, user_data))
      break;
  }
}

static gboolean
mem_update_load(ActrdRegistry *registry, guint32 realm_id, guint64 serial, int availability,
                float power_reserve, float mailbox_backlog, gint64 now_us)
{
  ActrdRegistryEntry *entry = mem_lookup(registry, realm_id, serial);

  if (entry == NULL)
    return FALSE;
  entry->availability = availability;
  entry->power_reserve = power_reserve;
  entry->mailbox_backlog = mailbox_backlog;
  entry->has_load = TRUE;
  entry->last_heartbeat_us = now_us;
  return TRUE;
}

static guint
mem_size(ActrdRegistry *registry)
{
  return g_hash_table_size(((MemRegistry *)registry)->by_id);
}

static void
mem_free(ActrdRegistry *registry)
{
  MemRegistry *mem = (MemRegistry *)registry;

  g_queue_clear(&mem->order);
  g_hash_table_destroy(mem->by_type);
  g_hash_table_destroy(mem->by_id);
  g_free(mem);
}

static const ActrdRegistryBackend mem_backend = {
    .name = "memory",
    .put = mem_put,
    .remove = mem_remove,
    .lookup = mem_lookup,
    .find_by_type = mem_find_by_type,
    .foreach = mem_foreach,
    .update_load = mem_update_load,
    .size = mem_size,
    .free = mem_free,
};

ActrdRegistry *
actrd_registry_new_memory(void)
{
  MemRegistry *mem = g_new0(MemRegistry, 1);

  mem->parent.backend = &mem_backend;
  g_queue_init(&mem->order);
  mem->by_id = g_hash_table_new_full(actrd_actor_key_hash, actrd_actor_key_equal, NULL, slot_free);
  mem->by_type = g_hash_table_new_full(actrd_type_hash, actrd_type_equal, NULL, type_bucket_free);
  return &mem->parent;
}

/* ---- ranking -------------------------------------------------------------- */

#define EARTH_RADIUS_KM 6371.0

double
actrd_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
  const double rad = G_PI / 180.0;
  double dlat = (lat2 - lat1) * rad;
  double dlon = (lon2 - lon1) * rad;
  double a = sin(dlat / 2) * sin(dlat / 2) +
             cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);

  return 2.0 * EARTH_RADIUS_KM * atan2(sqrt(a), sqrt(1.0 - a));
}

/* Short names of the ranking factors. */
#define RANK_FACTOR(name)                                                                          \
  ACTR__ROUTE_CANDIDATES_REQUEST__NODE_SELECTION_CRITERIA__NODE_RANKING_FACTOR__##name

/* Per-candidate sort keys, computed once. */
typedef struct {
  ActrdRegistryEntry *entry;
  guint position; /* order before this sort: the final tie-breaker (stability) */
  int health;     /* availability, unknown = 2 */
  int dependency; /* dependency state, unknown = 2 */
  double power;
  double backlog;
  gboolean exact;
  gboolean has_distance;
  double distance;
  gboolean affinity;
} RankItem;

typedef struct {
  const int *factors;
  gsize n_factors;
} RankSpec;

static int
cmp_bool_first(gboolean a, gboolean b)
{
  return (a == b) ? 0 : (a ? -1 : 1);
}

static int
cmp_double(double a, double b)
{
  return (a < b) ? -1 : (a > b) ? 1 : 0;
}

static int
cmp_factor(const RankItem *a, const RankItem *b, int factor)
{
  switch (factor) {
  case RANK_FACTOR(MAXIMUM_POWER_RESERVE):
    return cmp_double(b->power, a->power);
  case RANK_FACTOR(MINIMUM_MAILBOX_BACKLOG):
    return cmp_double(a->backlog, b->backlog);
  case RANK_FACTOR(EXACT_MATCH_FIRST):
    return cmp_bool_first(a->exact, b->exact);
  case RANK_FACTOR(NEAREST):
    if (a->has_distance != b->has_distance)
      return cmp_bool_first(a->has_distance, b->has_distance);
    return a->has_distance ? cmp_double(a->distance, b->distance) : 0;
  case RANK_FACTOR(CLIENT_AFFINITY):
    return cmp_bool_first(a->affinity, b->affinity);
  default:
    return 0; /* unknown factor: skipped */
  }
}

static int
cmp_position(const RankItem *a, const RankItem *b)
{
  return (a->position < b->position) ? -1 : (a->position > b->position) ? 1 : 0;
}

static int
cmp_factors(gconstpointer pa, gconstpointer pb, gpointer data)
{
  const RankItem *a = pa, *b = pb;
  const RankSpec *spec = data;

  for (gsize i = 0; i < spec->n_factors; i++) {
    int c = cmp_factor(a, b, spec->factors[i]);
    if (c != 0)
      return c;
  }
  return cmp_position(a, b);
}

static int
cmp_health(gconstpointer pa, gconstpointer pb, gpointer data)
{
  const RankItem *a = pa, *b = pb;
  int c = (a->health > b->health) - (a->health < b->health);

  if (c == 0)
    c = (a->dependency > b->dependency) - (a->dependency < b->dependency);
  return c != 0 ? c : cmp_position(a, b);
}

static void
renumber(RankItem *items, guint n)
{
  for (guint i = 0; i < n; i++)
    items[i].position = i;
}

static gboolean
contains_string(GPtrArray *strings, const char *s)
{
  if (strings == NULL || s == NULL)
    return FALSE;
  for (guint i = 0; i < strings->len; i++) {
    if (g_strcmp0(g_ptr_array_index(strings, i), s) == 0)
      return TRUE;
  }
  return FALSE;
}

void
actrd_rank_candidates(GPtrArray *candidates,
                      const Actr__RouteCandidatesRequest__NodeSelectionCriteria *criteria,
                      const Actr__ServiceLocation *client_location, const char *client_fingerprint,
                      const char *client_id)
{
  g_autofree RankItem *items = NULL;
  g_autofree char *fingerprint = NULL;
  gboolean have_client_geo;
  guint n = 0;

  g_return_if_fail(candidates != NULL);
  if (criteria == NULL)
    return;

  if (client_fingerprint != NULL)
    fingerprint = g_strstrip(g_strdup(client_fingerprint));
  if (fingerprint != NULL && fingerprint[0] == '\0')
    g_clear_pointer(&fingerprint, g_free);
  have_client_geo =
      client_location != NULL && client_location->has_latitude && client_location->has_longitude;

  items = g_new0(RankItem, candidates->len + 1);
  for (guint i = 0; i < candidates->len; i++) {
    ActrdRegistryEntry *e = g_ptr_array_index(candidates, i);
    RankItem *it = &items[n];

    /* Step 4: the health and dependency filters. */
    if (criteria->has_minimal_health_requirement) {
      int req = criteria->minimal_health_requirement;
      if (e->availability == ACTRD_STATE_UNKNOWN ? req < ACTR__SERVICE_AVAILABILITY_STATE__DEGRADED
                                                 : e->availability > req)
        continue;
    }
    if (criteria->has_minimal_dependency_requirement) {
      int req = criteria->minimal_dependency_requirement;
      if (e->dependency_state == ACTRD_STATE_UNKNOWN ? req < ACTR__SERVICE_DEPENDENCY_STATE__WARNING
                                                     : e->dependency_state > req)
        continue;
    }
    it->entry = e;
    it->position = n;
    it->health = e->availability == ACTRD_STATE_UNKNOWN ? 2 : e->availability;
    it->dependency = e->dependency_state == ACTRD_STATE_UNKNOWN ? 2 : e->dependency_state;
    it->power = e->has_load ? e->power_reserve : 0.0;
    it->backlog = e->has_load ? e->mailbox_backlog : 1.0;
    it->exact =
        fingerprint != NULL && e->spec != NULL && g_strcmp0(e->spec->fingerprint, fingerprint) == 0;
    it->has_distance = e->has_location;
    if (e->has_location && have_client_geo)
      it->distance = actrd_haversine_km(client_location->latitude, client_location->longitude,
                                        e->latitude, e->longitude);
    it->affinity = contains_string(e->sticky_client_ids, client_id);
    n++;
  }

  if (criteria->has_minimal_health_requirement || criteria->has_minimal_dependency_requirement) {
    g_qsort_with_data(items, (gint)n, sizeof(RankItem), cmp_health, NULL);
    renumber(items, n);
  }

  /* Step 5: without a client location NEAREST still puts located entries
   * first but cannot order them by distance (all distances stay 0). */
  if (criteria->n_ranking_factors > 0) {
    RankSpec spec = {(const int *)criteria->ranking_factors, criteria->n_ranking_factors};
    g_qsort_with_data(items, (gint)n, sizeof(RankItem), cmp_factors, &spec);
  }

  /* Step 6. */
  if (n > criteria->candidate_count)
    n = criteria->candidate_count;
  g_ptr_array_set_size(candidates, 0);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add(candidates, items[i].entry);
}

/* ---- offerer rule --------------------------------------------------------- */

gboolean
actrd_is_offerer(const ActrId *from, gboolean from_answer, const ActrId *to, gboolean to_answer)
{
  int c;

  if (from_answer && !to_answer)
    return FALSE;
  if (to_answer && !from_answer)
    return TRUE;

  if (from->realm_id != to->realm_id)
    return from->realm_id > to->realm_id;
  if (from->serial_number != to->serial_number)
    return from->serial_number > to->serial_number;
  c = g_strcmp0(from->type.manufacturer, to->type.manufacturer);
  if (c == 0)
    c = g_strcmp0(from->type.name, to->type.name);
  return c > 0;
}
