/* actrd — the live service registry of the signaling server, and the pure
 * functions that rank route candidates (wire.md §4.6.8) and pick the WebRTC
 * offerer (wire.md §4.6.9).
 *
 * The registry is a small backend interface (ActrdRegistryBackend, a
 * vtable) so that a shared backend (several actrd instances behind one
 * address) can be added later.  actrd_registry_new_memory() is the only
 * backend today: everything in memory, indexed by (realm, serial) and by
 * exact ActrType (manufacturer, name AND version — unlike the reference's
 * restored rows, versions are always kept).
 *
 * Entries are keyed by (realm_id, serial_number): AIS allocates serials
 * uniquely per realm, so at most one entry exists per pair, and putting a
 * new entry for the same pair replaces the old one.
 *
 * Ownership: the registry owns its entries.  A pointer returned by lookup,
 * find_by_type or foreach stays valid until the entry is removed or
 * replaced, or the registry is freed; callers must not keep it across
 * those calls.  `connection` is an opaque back pointer owned by the caller
 * (the signaling server); the registry never dereferences it.
 *
 * Thread/context: not thread-safe.  actrd uses it only from the server's
 * single GMainContext.  No function calls back into the caller except
 * foreach, whose callback must not put or remove entries.
 */
#ifndef ACTRD_REGISTRY_H
#define ACTRD_REGISTRY_H

#include <actr/types.h>
#include <glib.h>

#include "actr.pb-c.h"

G_BEGIN_DECLS

/* "Unknown" value of availability and dependency state (never reported). */
#define ACTRD_STATE_UNKNOWN (-1)

/* An actor's identity as the server indexes it: realm + serial (the type
 * is not part of it, as wire.md §4.6.7 routes relays).  Shared by the
 * registry and the signaling connection table. */
typedef struct {
  guint32 realm_id;
  guint64 serial;
} ActrdActorKey;

/* GHashFunc / GEqualFunc for ActrdActorKey* keys. */
guint actrd_actor_key_hash(gconstpointer key);
gboolean actrd_actor_key_equal(gconstpointer a, gconstpointer b);

/* GHashFunc / GEqualFunc for ActrType* keys (exact type incl. version). */
guint actrd_type_hash(gconstpointer type);
gboolean actrd_type_equal(gconstpointer a, gconstpointer b);

typedef struct {
  ActrId id;               /* owned */
  gpointer connection;     /* (transfer none, nullable) the live connection */
  Actr__ServiceSpec *spec; /* (owned, nullable) from the pending registration */
  char *ws_address;        /* (owned, nullable) */
  gboolean prefers_answer; /* webrtc_role=answer on the connection URL */
  int availability;        /* ServiceAvailabilityState or ACTRD_STATE_UNKNOWN */
  int dependency_state;    /* ServiceDependencyState or ACTRD_STATE_UNKNOWN */
  gboolean has_load;       /* power_reserve/mailbox_backlog known (first Ping seen) */
  float power_reserve;     /* meaningful when has_load */
  float mailbox_backlog;   /* meaningful when has_load */
  gboolean has_location;   /* never set by the wire today; kept for NEAREST */
  double latitude, longitude;
  GPtrArray *sticky_client_ids; /* (owned, nullable) of char*, CLIENT_AFFINITY */
  gint64 last_heartbeat_us;     /* g_get_real_time() of the last Ping or register */
  gint64 registered_us;         /* g_get_real_time() at registration */
} ActrdRegistryEntry;

/* A new zeroed entry for @id (deep-copied), availability and dependency
 * unknown, times set to now (transfer full). */
ActrdRegistryEntry *actrd_registry_entry_new(const ActrId *id);
/* Frees @entry and everything it owns.  NULL-safe. */
void actrd_registry_entry_free(ActrdRegistryEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdRegistryEntry, actrd_registry_entry_free)

typedef struct _ActrdRegistry ActrdRegistry;

/* Return FALSE to stop the iteration. */
typedef gboolean (*ActrdRegistryFunc)(ActrdRegistryEntry *entry, gpointer user_data);

/* The backend vtable.  Every function is mandatory. */
typedef struct {
  const char *name;
  /* Takes ownership of @entry on every path; replaces (and frees) an entry
   * with the same realm+serial.  The replacement keeps the registry order
   * of a newly inserted entry (appended). */
  void (*put)(ActrdRegistry *registry, ActrdRegistryEntry *entry);
  /* Removes and frees the entry of realm+serial; FALSE when absent. */
  gboolean (*remove)(ActrdRegistry *registry, guint32 realm_id, guint64 serial);
  /* (transfer none, nullable) */
  ActrdRegistryEntry *(*lookup)(ActrdRegistry *registry, guint32 realm_id, guint64 serial);
  /* Appends (transfer none) the entries whose type equals @type exactly to
   * @out, in registry (insertion) order. */
  void (*find_by_type)(ActrdRegistry *registry, const ActrType *type, GPtrArray *out);
  /* Calls @func on every entry in registry order. */
  void (*foreach)(ActrdRegistry *registry, ActrdRegistryFunc func, gpointer user_data);
  /* Records a heartbeat: load metrics and last_heartbeat = @now_us.
   * FALSE when absent. */
  gboolean (*update_load)(ActrdRegistry *registry, guint32 realm_id, guint64 serial,
                          int availability, float power_reserve, float mailbox_backlog,
                          gint64 now_us);
  guint (*size)(ActrdRegistry *registry);
  void (*free)(ActrdRegistry *registry);
} ActrdRegistryBackend;

/* Every backend's struct starts with this. */
struct _ActrdRegistry {
  const ActrdRegistryBackend *backend;
};

/* The in-memory backend (transfer full). */
ActrdRegistry *actrd_registry_new_memory(void);

/* Thin dispatchers to the backend. */
void actrd_registry_put(ActrdRegistry *registry, ActrdRegistryEntry *entry);
gboolean actrd_registry_remove(ActrdRegistry *registry, guint32 realm_id, guint64 serial);
ActrdRegistryEntry *actrd_registry_lookup(ActrdRegistry *registry, guint32 realm_id,
                                          guint64 serial);
void actrd_registry_find_by_type(ActrdRegistry *registry, const ActrType *type, GPtrArray *out);
void actrd_registry_foreach(ActrdRegistry *registry, ActrdRegistryFunc func, gpointer user_data);
gboolean actrd_registry_update_load(ActrdRegistry *registry, guint32 realm_id, guint64 serial,
                                    int availability, float power_reserve, float mailbox_backlog,
                                    gint64 now_us);
guint actrd_registry_size(ActrdRegistry *registry);
/* NULL-safe. */
void actrd_registry_free(ActrdRegistry *registry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdRegistry, actrd_registry_free)

/* ---- Route-candidate ranking (wire.md §4.6.8 steps 2–6) ------------------- */

/* Ranks @candidates (ActrdRegistryEntry*, transfer none; already filtered
 * by exact type, live connection and ACL, in registry order) in place:
 *
 * - @criteria NULL: nothing changes (registry order, no truncation).
 * - @client_fingerprint trimmed and non-empty: an entry is an exact match
 *   when its spec's fingerprint equals it.
 * - minimal_health_requirement: keeps availability <= requirement; unknown
 *   availability passes only when requirement >= DEGRADED; then a stable
 *   sort by availability with unknown counted as 2 (OVERLOADED), as the
 *   reference does.  The same for
 *   minimal_dependency_requirement (unknown passes when >= WARNING).
 * - ranking_factors, a stable multi-key sort, the first non-equal key
 *   decides: MAXIMUM_POWER_RESERVE (descending, unknown 0.0),
 *   MINIMUM_MAILBOX_BACKLOG (ascending, unknown 1.0), EXACT_MATCH_FIRST,
 *   NEAREST (ascending haversine distance, radius 6371 km, from
 *   @client_location when it has latitude and longitude; entries with a
 *   location first), CLIENT_AFFINITY (entries whose sticky ids contain
 *   @client_id first; no-op when @client_id is NULL).  Factor values
 *   outside the enum are skipped.
 * - truncates to criteria->candidate_count.
 *
 * @criteria, @client_location, @client_fingerprint and @client_id are
 * nullable.  Pure: touches nothing but @candidates. */
void actrd_rank_candidates(GPtrArray *candidates,
                           const Actr__RouteCandidatesRequest__NodeSelectionCriteria *criteria,
                           const Actr__ServiceLocation *client_location,
                           const char *client_fingerprint, const char *client_id);

/* Great-circle distance in km between two points in degrees (haversine,
 * earth radius 6371 km). */
double actrd_haversine_km(double lat1, double lon1, double lat2, double lon2);

/* The offerer rule (wire.md §4.6.9): TRUE when @from must send the offer
 * to @to.  @from_answer / @to_answer: the connection of that side asked
 * for webrtc_role=answer.  If exactly one side prefers answering, the
 * other offers; otherwise @from offers iff (realm_id, serial, manufacturer,
 * name) of @from is lexicographically greater than that of @to.  Pure. */
gboolean actrd_is_offerer(const ActrId *from, gboolean from_answer, const ActrId *to,
                          gboolean to_answer);

G_END_DECLS

#endif /* ACTRD_REGISTRY_H */
