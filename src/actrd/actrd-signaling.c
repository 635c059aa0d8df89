/* actrd — the signaling server (wire.md §4).  Contract: actrd-signaling.h.
 *
 * State, all on the server loop:
 *   conns      (realm, serial) → the CURRENT connection of that actor.  A new
 *              connection of the same actor displaces the old one (Close
 *              1008), which then no longer owns the registry entry.
 *   all        every bound, not yet closed connection (owned).
 *   registry   the live services (actrd-registry.h); an entry exists while
 *              its actor's current connection is open and it did not send
 *              UnregisterRequest.
 *   subs       exact ActrType → subscriber ActrIds (presence).
 *   parked     the service spec / ws_address of actors whose connection
 *              closed, so that a reconnect (the pending registration was
 *              consumed on the first connect) gets them back.
 *
 * Decisions where the reference has quirks (docs/actrd.md "Signaling"):
 * - every actr_to_server credential must name `source` (claims.actor_id ==
 *   repr(source)); the reference checks that only on relays.
 * - RoleNegotiation.from/to must be the relay's source/target (realm +
 *   serial), so the relay ACL also covers the RoleAssignment recipients.
 * - presence subscriptions held by an actor are dropped when its current
 *   connection closes or it unregisters (the reference keeps them forever).
 * - a verified credential is cached per connection: the same bytes are not
 *   verified again (expiry, key validity, realm and actor still are); realm
 *   validity is cached for a second.
 * - at most MAX_SUBSCRIPTIONS presence subscriptions per actor.
 * - a connection without a data frame for three heartbeat intervals is
 *   closed (1001); the actor leaves as soon as a close handshake starts.
 */
#include "actrd-signaling.h"

#include <actr/identity.h>
#include <string.h>

#include "actr-id.h"
#include "codec.h"
#include "envelope.h"

#define SIGNALING_PATH     "/signaling/ws"
#define AUTH_DATA_KEY      "actrd-signaling-auth"
#define PARKED_MAX_AGE_US  (12 * G_TIME_SPAN_HOUR)
#define DISPLACED_REASON   "displaced by new connection"
#define CLOSE_GOING_AWAY   1001
#define CLOSE_POLICY       1008
#define CLOSE_BAD_DATA     1007
#define ERR_LIMIT_EXCEEDED 429
#define REALM_CACHE_TTL_US G_USEC_PER_SEC
#define MAX_SUBSCRIPTIONS  256 /* presence subscriptions per actor */

typedef ActrdActorKey ActorKey;

typedef struct {
  guint32 key_id;
  GBytes *claims;
  GBytes *signature;
  ActrIdentityClaims decoded;
} CredCache;

typedef struct _Conn Conn;

struct _Conn {
  ActrdSignaling *sig;
  SoupWebsocketConnection *ws; /* owned ref; NULL for a detached session */
  ActrdSignalingSendFunc send_func;
  gpointer send_data;
  ActorKey key;
  ActrId id;
  char *id_text;
  char *type_text;
  char *client_id;
  char *ip; /* nullable for sessions */
  gboolean prefers_answer;
  ActrdTokenBucket bucket;
  gboolean text_logged;
  gint64 last_seen_us; /* monotonic time of the last inbound frame */
  gboolean closed;     /* detached from every table */
  CredCache cred;
  gulong h_message, h_closing, h_closed, h_error;
};

typedef struct {
  GBytes *spec; /* nullable */
  char *ws_address;
  gint64 parked_us;
} Parked;

typedef struct {
  ActrId id;
  gboolean prefers_answer;
} AuthData;

/* The outcome of one realm check, reused for REALM_CACHE_TTL_US. */
typedef struct {
  gint64 checked_us;
  char *failure; /* NULL when the realm is valid */
} RealmVerdict;

struct _ActrdSignaling {
  ActrdServer *server;
  ActrdRegistry *registry;
  GHashTable *conns;      /* ActorKey* (in Conn) → Conn* (not owned) */
  GHashTable *all;        /* Conn* set (owned) */
  GHashTable *subs;       /* ActrType* (owned) → GPtrArray of ActrId* (owned) */
  GHashTable *sub_counts; /* ActrId* (owned) → number of types it subscribed to */
  GHashTable *parked;     /* ActorKey* → Parked* (both owned) */
  GHashTable *per_ip;     /* char* ip → count */
  GHashTable *realms;     /* realm id → RealmVerdict* (owned) */
  ActrdIpLimiter *connect_limiter;
  GPtrArray *dead; /* Conn* waiting to be freed */
  guint reap_id;
  guint sweep_id; /* idle-connection sweep, every heartbeat interval */
  gboolean handlers_added;
};

struct _ActrdSignalingSession {
  Conn *conn;
};

/* ---- small helpers ----------------------------------------------------------- */

static void
actr_type_free(gpointer p)
{
  actr_type_clear(p);
  g_free(p);
}

static void
actr_id_free(gpointer p)
{
  actr_id_clear(p);
  g_free(p);
}

static void
parked_free(gpointer p)
{
  Parked *parked = p;
  g_clear_pointer(&parked->spec, g_bytes_unref);
  g_free(parked->ws_address);
  g_free(parked);
}

static void
realm_verdict_free(gpointer p)
{
  RealmVerdict *v = p;
  g_free(v->failure);
  g_free(v);
}

static void
auth_data_free(gpointer p)
{
  AuthData *auth = p;
  actr_id_clear(&auth->id);
  g_free(auth);
}

static char *
type_pb_to_string(const Actr__ActrType *t)
{
  return g_strdup_printf("%s:%s:%s", t ? t->manufacturer : "", t ? t->name : "",
                         t ? t->version : "");
}

static guint32
pb_realm(const Actr__ActrId *id)
{
  return (id != NULL && id->realm != NULL) ? id->realm->realm_id : 0;
}

/* TRUE when the protobuf ActrId @pb is exactly @id. */
static gboolean
pb_id_is(const Actr__ActrId *pb, const ActrId *id)
{
  return pb_realm(pb) == id->realm_id && pb->serial_number == id->serial_number &&
         pb->type != NULL && g_strcmp0(pb->type->manufacturer, id->type.manufacturer) == 0 &&
         g_strcmp0(pb->type->name, id->type.name) == 0 &&
         g_strcmp0(pb->type->version, id->type.version) == 0;
}

static void
cred_cache_clear(CredCache *c)
{
  g_clear_pointer(&c->claims, g_bytes_unref);
  g_clear_pointer(&c->signature, g_bytes_unref);
  actr_identity_claims_clear(&c->decoded);
  c->key_id = 0;
}

static gboolean
bytes_equal_pb(GBytes *bytes, const ProtobufCBinaryData *pb)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  return len == pb->len && (len == 0 || memcmp(data, pb->data, len) == 0);
}

/* The realm check of every message (wire.md §4.4): the database answer,
 * cached for REALM_CACHE_TTL_US so that a relay does not cost a query.  An
 * admin change (disable, expiry) therefore takes effect within a second.
 * On failure sets @error to the reason. */
static gboolean
realm_valid(ActrdSignaling *sig, guint32 realm_id, GError **error)
{
  gint64 now = g_get_monotonic_time();
  RealmVerdict *v = g_hash_table_lookup(sig->realms, GUINT_TO_POINTER(realm_id));
  g_autoptr(GError) local = NULL;

  if (v == NULL || now - v->checked_us > REALM_CACHE_TTL_US) {
    if (g_hash_table_size(sig->realms) > 4096)
      g_hash_table_remove_all(sig->realms);
    v = g_new0(RealmVerdict, 1);
    v->checked_us = now;
    if (!actrd_db_realm_check(sig->server->db, realm_id, &local))
      v->failure = g_strdup(local->message);
    g_hash_table_replace(sig->realms, GUINT_TO_POINTER(realm_id), v);
  }
  if (v->failure != NULL) {
    g_set_error_literal(error, ACTRD_ERROR, ACTRD_ERROR_REALM, v->failure);
    return FALSE;
  }
  return TRUE;
}

/* ---- sending ------------------------------------------------------------------ */

static void
conn_send_bytes(Conn *c, GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);

  if (c->closed)
    return;
  if (c->ws != NULL) {
    if (soup_websocket_connection_get_state(c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_send_binary(c->ws, data, len);
  } else if (c->send_func != NULL) {
    c->send_func(data, len, c->send_data);
  }
}

/* Fills the envelope header (version 1, fresh UUIDv4 id, timestamp, reply_for)
 * and sends @env to @c. */
static void
conn_send_envelope(Conn *c, Signaling__SignalingEnvelope *env, const char *reply_for)
{
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  g_autofree char *id = g_uuid_string_random();
  g_autoptr(GBytes) bytes = NULL;

  ts.seconds = actrd_now();
  env->envelope_version = 1;
  env->envelope_id = id;
  env->reply_for = (char *)reply_for;
  env->timestamp = &ts;
  bytes = actr_signaling_envelope_encode(env);
  conn_send_bytes(c, bytes);
}

/* Sends SignalingToActr{target, payload set by the caller in @sta}. */
static void
conn_send_to_actr(Conn *c, Signaling__SignalingToActr *sta, const Actr__ActrId *target,
                  const char *reply_for)
{
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;

  sta->target = (Actr__ActrId *)target;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR;
  env.server_to_actr = sta;
  conn_send_envelope(c, &env, reply_for);
}

static void
conn_send_error(Conn *c, const Actr__ActrId *target, const char *reply_for, guint32 code,
                const char *message)
{
  Signaling__SignalingToActr sta = SIGNALING__SIGNALING_TO_ACTR__INIT;
  Actr__ErrorResponse err = ACTR__ERROR_RESPONSE__INIT;

  err.code = code;
  err.message = (char *)message;
  sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ERROR;
  sta.error = &err;
  conn_send_to_actr(c, &sta, target, reply_for);
}

/* ---- registry and presence -------------------------------------------------- */

static void
registry_drop(ActrdSignaling *sig, const ActorKey *key, gboolean park)
{
  ActrdRegistryEntry *entry = actrd_registry_lookup(sig->registry, key->realm_id, key->serial);

  if (entry == NULL)
    return;
  if (park) {
    Parked *parked = g_new0(Parked, 1);
    ActorKey *k = g_new(ActorKey, 1);
    *k = *key;
    if (entry->spec != NULL)
      parked->spec = actr_proto_message_encode(&entry->spec->base);
    parked->ws_address = g_strdup(entry->ws_address);
    parked->parked_us = g_get_real_time();
    g_hash_table_replace(sig->parked, k, parked);
  }
  actrd_registry_remove(sig->registry, key->realm_id, key->serial);
  actrd_metrics_registered_nodes(sig->server->metrics, -1);
}

static void
parked_prune(ActrdSignaling *sig)
{
  GHashTableIter iter;
  gpointer value;
  gint64 now = g_get_real_time();

  g_hash_table_iter_init(&iter, sig->parked);
  while (g_hash_table_iter_next(&iter, NULL, &value)) {
    if (now - ((Parked *)value)->parked_us > PARKED_MAX_AGE_US)
      g_hash_table_iter_remove(&iter);
  }
}

static guint
actr_id_hash_func(gconstpointer p)
{
  return actr_id_hash(p);
}

static gboolean
actr_id_equal_func(gconstpointer a, gconstpointer b)
{
  return actr_id_equal(a, b);
}

static guint
subs_count(ActrdSignaling *sig, const ActrId *id)
{
  return GPOINTER_TO_UINT(g_hash_table_lookup(sig->sub_counts, id));
}

static void
subs_count_add(ActrdSignaling *sig, const ActrId *id, int delta)
{
  guint n = subs_count(sig, id) + (guint)delta;
  ActrId *key;

  if (n == 0) {
    g_hash_table_remove(sig->sub_counts, id);
    return;
  }
  key = g_new0(ActrId, 1);
  actr_id_copy(id, key);
  g_hash_table_replace(sig->sub_counts, key, GUINT_TO_POINTER(n));
}

static void
subs_drop_actor(ActrdSignaling *sig, const ActrId *id)
{
  GHashTableIter iter;
  gpointer value;

  if (subs_count(sig, id) == 0)
    return;
  g_hash_table_remove(sig->sub_counts, id);
  g_hash_table_iter_init(&iter, sig->subs);
  while (g_hash_table_iter_next(&iter, NULL, &value)) {
    GPtrArray *list = value;
    for (guint i = 0; i < list->len; i++) {
      if (actr_id_equal(g_ptr_array_index(list, i), id)) {
        g_ptr_array_remove_index(list, i);
        break;
      }
    }
    if (list->len == 0)
      g_hash_table_iter_remove(&iter);
  }
}

static Conn *
current_conn(ActrdSignaling *sig, guint32 realm_id, guint64 serial)
{
  ActorKey key = {realm_id, serial};
  return g_hash_table_lookup(sig->conns, &key);
}

/* The spec and ws_address of a newly bound actor: its pending registration,
 * else what a previous connection of the same actor had. */
static void
registration_load(ActrdSignaling *sig, Conn *c, ActrdRegistryEntry *old, ActrdRegistryEntry *entry)
{
  g_autoptr(GBytes) spec = NULL;
  g_autofree char *ws_address = NULL;
  Parked *parked;

  if (sig->server->db != NULL &&
      actrd_db_pending_get(sig->server->db, c->key.realm_id, c->key.serial, &spec, &ws_address)) {
    /* its registration (kept across actrd restarts until it unregisters) */
  } else if (old != NULL) {
    if (old->spec != NULL)
      spec = actr_proto_message_encode(&old->spec->base);
    ws_address = g_strdup(old->ws_address);
  } else if ((parked = g_hash_table_lookup(sig->parked, &c->key)) != NULL) {
    spec = parked->spec ? g_bytes_ref(parked->spec) : NULL;
    ws_address = g_strdup(parked->ws_address);
  }
  g_hash_table_remove(sig->parked, &c->key);

  if (spec != NULL) {
    gsize len;
    const guint8 *data = g_bytes_get_data(spec, &len);
    g_autoptr(GError) error = NULL;
    entry->spec = (Actr__ServiceSpec *)actr_proto_message_decode(&actr__service_spec__descriptor,
                                                                 data, len, &error);
    if (entry->spec == NULL)
      g_warning("[%s] stored service spec is undecodable: %s", c->id_text, error->message);
  }
  entry->ws_address = g_steal_pointer(&ws_address);
}

static void
presence_announce(ActrdSignaling *sig, Conn *c)
{
  GPtrArray *list = g_hash_table_lookup(sig->subs, &c->id.type);
  ActrIdPb actor;

  if (list == NULL)
    return;
  actr_id_to_pb(&c->id, &actor);
  for (guint i = 0; i < list->len; i++) {
    const ActrId *sub = g_ptr_array_index(list, i);
    Conn *target = current_conn(sig, sub->realm_id, sub->serial_number);
    g_autofree char *sub_type = NULL;
    Signaling__SignalingToActr sta = SIGNALING__SIGNALING_TO_ACTR__INIT;
    Actr__ActrUpEvent up = ACTR__ACTR_UP_EVENT__INIT;
    ActrIdPb sub_pb;

    if (target == NULL || !actr_id_equal(&target->id, sub))
      continue;
    sub_type = actr_type_to_string(&sub->type);
    if (!actrd_db_can_discover(sig->server->db, sub->realm_id, c->id.realm_id, sub_type,
                               c->type_text))
      continue;
    up.actor_id = &actor.id;
    sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ACTR_UP_EVENT;
    sta.actr_up_event = &up;
    actr_id_to_pb(sub, &sub_pb);
    conn_send_to_actr(target, &sta, &sub_pb.id, NULL);
  }
}

/* ---- connection lifecycle --------------------------------------------------- */

static gboolean reap_dead(gpointer data);

static void
conn_free(Conn *c)
{
  if (c->ws != NULL) {
    if (c->h_message)
      g_signal_handler_disconnect(c->ws, c->h_message);
    if (c->h_closing)
      g_signal_handler_disconnect(c->ws, c->h_closing);
    if (c->h_closed)
      g_signal_handler_disconnect(c->ws, c->h_closed);
    if (c->h_error)
      g_signal_handler_disconnect(c->ws, c->h_error);
    g_object_unref(c->ws);
  }
  actr_id_clear(&c->id);
  g_free(c->id_text);
  g_free(c->type_text);
  g_free(c->client_id);
  g_free(c->ip);
  cred_cache_clear(&c->cred);
  g_free(c);
}

static void
schedule_reap(ActrdSignaling *sig)
{
  GSource *source;

  if (sig->reap_id != 0)
    return;
  source = g_idle_source_new();
  g_source_set_callback(source, reap_dead, sig, NULL);
  g_source_set_name(source, "actrd-signaling-reap");
  sig->reap_id = g_source_attach(source, sig->server->context);
  g_source_unref(source);
}

/* Detaches @c from every table.  @actor_gone: it was the current connection
 * and its actor leaves (registry entry and subscriptions dropped).  A
 * displaced connection passes FALSE.  Socket connections are freed later
 * from an idle source; sessions by their owner. */
static void
conn_detach(Conn *c, gboolean actor_gone)
{
  ActrdSignaling *sig = c->sig;

  if (c->closed)
    return;
  c->closed = TRUE;

  if (g_hash_table_lookup(sig->conns, &c->key) == c) {
    g_hash_table_remove(sig->conns, &c->key);
    if (actor_gone) {
      ActrdRegistryEntry *entry =
          actrd_registry_lookup(sig->registry, c->key.realm_id, c->key.serial);
      if (entry != NULL && entry->connection == c)
        registry_drop(sig, &c->key, TRUE);
      subs_drop_actor(sig, &c->id);
    }
  }
  if (c->ip != NULL) {
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(sig->per_ip, c->ip));
    if (n <= 1)
      g_hash_table_remove(sig->per_ip, c->ip);
    else
      g_hash_table_insert(sig->per_ip, g_strdup(c->ip), GUINT_TO_POINTER(n - 1));
  }
  actrd_metrics_connection_closed(sig->server->metrics);
  g_hash_table_steal(sig->all, c);
  if (c->ws != NULL) {
    g_ptr_array_add(sig->dead, c);
    schedule_reap(sig);
  }
}

static gboolean
reap_dead(gpointer data)
{
  ActrdSignaling *sig = data;

  sig->reap_id = 0;
  g_ptr_array_set_size(sig->dead, 0); /* free func: conn_free */
  return G_SOURCE_REMOVE;
}

/* Closes @c with @code/@reason after detaching it. */
static void
conn_close(Conn *c, gushort code, const char *reason, gboolean actor_gone)
{
  SoupWebsocketConnection *ws = c->ws;

  conn_detach(c, actor_gone);
  if (ws != NULL && soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close(ws, code, reason);
}

/* Binds the freshly authenticated @c: displaces an older connection of the
 * same actor, registers, and announces it to subscribers. */
static void
conn_bind(ActrdSignaling *sig, Conn *c)
{
  Conn *old_conn = g_hash_table_lookup(sig->conns, &c->key);
  ActrdRegistryEntry *old = actrd_registry_lookup(sig->registry, c->key.realm_id, c->key.serial);
  ActrdRegistryEntry *entry;

  g_hash_table_add(sig->all, c);
  actrd_metrics_connection_opened(sig->server->metrics);
  if (c->ip != NULL) {
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(sig->per_ip, c->ip));
    g_hash_table_insert(sig->per_ip, g_strdup(c->ip), GUINT_TO_POINTER(n + 1));
  }
  if (old_conn != NULL) {
    g_message("[%s] displaced by a new connection", c->id_text);
    g_hash_table_remove(sig->conns, &old_conn->key);
    conn_close(old_conn, CLOSE_POLICY, DISPLACED_REASON, FALSE);
  }
  g_hash_table_insert(sig->conns, &c->key, c);
  if (g_hash_table_size(sig->parked) > 256)
    parked_prune(sig);

  entry = actrd_registry_entry_new(&c->id);
  entry->connection = c;
  entry->prefers_answer = c->prefers_answer;
  registration_load(sig, c, old, entry);
  if (old == NULL)
    actrd_metrics_registered_nodes(sig->server->metrics, 1);
  actrd_registry_put(sig->registry, entry); /* replaces (frees) old */

  presence_announce(sig, c);
}

static Conn *
conn_new(ActrdSignaling *sig, const ActrId *id, gboolean prefers_answer)
{
  Conn *c = g_new0(Conn, 1);
  ActrdConfig *config = sig->server->config;

  c->sig = sig;
  actr_id_copy(id, &c->id);
  c->key.realm_id = id->realm_id;
  c->key.serial = id->serial_number;
  c->id_text = actr_id_to_string(id);
  c->type_text = actr_type_to_string(&id->type);
  c->client_id = g_uuid_string_random();
  c->prefers_answer = prefers_answer;
  c->last_seen_us = g_get_monotonic_time();
  actrd_token_bucket_init(&c->bucket, config->msg_rate_per_sec, config->msg_burst);
  return c;
}

/* ---- credential checks ---------------------------------------------------------- */

/* Verifies @pb for realm @realm_id (wire.md §2.2), caching the last good
 * credential of @c.  On success the decoded claims (transfer none, valid
 * until the next call) go to @claims. */
static gboolean
verify_credential(Conn *c, const Actr__AIdCredential *pb, guint32 realm_id,
                  const ActrIdentityClaims **claims, GError **error)
{
  ActrdSignaling *sig = c->sig;
  CredCache *cache = &c->cred;
  guint64 now = (guint64)actrd_now();
  ActrCredential cred;
  guint8 pubkey[32];

  if (cache->claims != NULL && cache->key_id == pb->key_id &&
      bytes_equal_pb(cache->claims, &pb->claims) &&
      bytes_equal_pb(cache->signature, &pb->signature)) {
    if (!actrd_keys_lookup(pb->key_id, pubkey, sig->server->keys)) {
      g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_UNKNOWN_KEY,
                  "unknown signing key %u", pb->key_id);
      return FALSE;
    }
    if (cache->decoded.expires_at <= now) {
      g_set_error_literal(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_EXPIRED,
                          "credential expired");
      return FALSE;
    }
    if (cache->decoded.realm_id != realm_id) {
      g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_REALM_MISMATCH,
                  "credential realm %u does not match realm %u", cache->decoded.realm_id, realm_id);
      return FALSE;
    }
    *claims = &cache->decoded;
    return TRUE;
  }

  cred_cache_clear(cache);
  cred.key_id = pb->key_id;
  cred.claims = g_bytes_new_static(pb->claims.data, pb->claims.len);
  cred.signature = g_bytes_new_static(pb->signature.data, pb->signature.len);
  if (!actr_credential_verify(&cred, actrd_keys_lookup, sig->server->keys, now, realm_id, NULL,
                              &cache->decoded, error)) {
    g_bytes_unref(cred.claims);
    g_bytes_unref(cred.signature);
    actr_identity_claims_clear(&cache->decoded);
    return FALSE;
  }
  g_bytes_unref(cred.claims);
  g_bytes_unref(cred.signature);
  /* realm_id 0 is not checked by actr_credential_verify(). */
  if (cache->decoded.realm_id != realm_id) {
    actr_identity_claims_clear(&cache->decoded);
    g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_REALM_MISMATCH,
                "credential realm does not match realm %u", realm_id);
    return FALSE;
  }
  cache->key_id = pb->key_id;
  cache->claims = g_bytes_new(pb->claims.data, pb->claims.len);
  cache->signature = g_bytes_new(pb->signature.data, pb->signature.len);
  *claims = &cache->decoded;
  return TRUE;
}

/* ---- actr_to_server --------------------------------------------------------------- */

static void
handle_ping(Conn *c, const char *reply_for, const Actr__ActrId *source, const Actr__Ping *ping)
{
  ActrdSignaling *sig = c->sig;
  Signaling__SignalingToActr sta = SIGNALING__SIGNALING_TO_ACTR__INIT;
  Actr__Pong pong = ACTR__PONG__INIT;
  int availability = ping->availability;

  /* Raw values outside the enum count as UNAVAILABLE. */
  if (availability < ACTR__SERVICE_AVAILABILITY_STATE__FULL ||
      availability > ACTR__SERVICE_AVAILABILITY_STATE__UNAVAILABLE)
    availability = ACTR__SERVICE_AVAILABILITY_STATE__UNAVAILABLE;
  actrd_registry_update_load(sig->registry, pb_realm(source), source->serial_number, availability,
                             ping->power_reserve, ping->mailbox_backlog, g_get_real_time());

  pong.seq = (guint64)actrd_now();
  pong.has_suggest_interval_secs = TRUE;
  pong.suggest_interval_secs = sig->server->config->heartbeat_interval_secs;
  sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_PONG;
  sta.pong = &pong;
  conn_send_to_actr(c, &sta, source, reply_for);
}

static void
handle_unregister(Conn *c, const char *reply_for, const Actr__ActrId *source)
{
  ActrdSignaling *sig = c->sig;
  Signaling__SignalingToActr sta = SIGNALING__SIGNALING_TO_ACTR__INIT;
  Actr__UnregisterResponse resp = ACTR__UNREGISTER_RESPONSE__INIT;
  Actr__UnregisterResponse__UnregisterOk ok = ACTR__UNREGISTER_RESPONSE__UNREGISTER_OK__INIT;
  ActorKey key = {pb_realm(source), source->serial_number};
  g_auto(ActrId) id = {0};

  resp.result_case = ACTR__UNREGISTER_RESPONSE__RESULT_SUCCESS;
  resp.success = &ok;
  sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_UNREGISTER_RESPONSE;
  sta.unregister_response = &resp;
  conn_send_to_actr(c, &sta, source, reply_for);

  registry_drop(sig, &key, FALSE);
  g_hash_table_remove(sig->parked, &key);
  if (sig->server->db != NULL)
    actrd_db_pending_delete(sig->server->db, key.realm_id, key.serial);
  actr_id_from_pb(source, &id);
  subs_drop_actor(sig, &id);
}

typedef struct {
  ActrdSignaling *sig;
  guint32 src_realm;
  const char *src_type;
  const char *manufacturer; /* nullable */
  guint limit;
  GHashTable *seen;   /* type text set */
  GPtrArray *entries; /* ActrdRegistryEntry* */
} DiscoverCtx;

static gboolean
discover_one(ActrdRegistryEntry *e, gpointer data)
{
  DiscoverCtx *ctx = data;
  char *type_text;

  if (ctx->entries->len >= ctx->limit)
    return FALSE;
  if (ctx->manufacturer != NULL && g_strcmp0(e->id.type.manufacturer, ctx->manufacturer) != 0)
    return TRUE;
  type_text = actr_type_to_string(&e->id.type);
  if (g_hash_table_contains(ctx->seen, type_text) ||
      !actrd_db_can_discover(ctx->sig->server->db, ctx->src_realm, e->id.realm_id, ctx->src_type,
                             type_text)) {
    g_free(type_text);
    return TRUE;
  }
  g_hash_table_add(ctx->seen, type_text);
  g_ptr_array_add(ctx->entries, e);
  return TRUE;
}

static void
handle_discovery(Conn *c, const char *reply_for, const Actr__ActrId *source,
                 const Actr__DiscoveryRequest *req)
{
  g_autofree char *src_type = type_pb_to_string(source->type);
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) entries = g_ptr_array_new();
  DiscoverCtx ctx = {
      c->sig, pb_realm(source), src_type, req->manufacturer, req->has_limit ? req->limit : 64,
      seen,   entries};
  Signaling__SignalingToActr sta = SIGNALING__SIGNALING_TO_ACTR__INIT;
  Actr__DiscoveryResponse resp = ACTR__DISCOVERY_RESPONSE__INIT;
  Actr__DiscoveryResponse__DiscoveryOk ok = ACTR__DISCOVERY_RESPONSE__DISCOVERY_OK__INIT;
  g_autofree Actr__DiscoveryResponse__TypeEntry *items = NULL;
  g_autofree Actr__DiscoveryResponse__TypeEntry **ptrs = NULL;
  g_autofree Actr__ActrType *types = NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

  actrd_registry_foreach(c->sig->registry, discover_one, &ctx);
  items = g_new0(Actr__DiscoveryResponse__TypeEntry, entries->len + 1);
  ptrs = g_new0(Actr__DiscoveryResponse__TypeEntry *, entries->len + 1);
  types = g_new0(Actr__ActrType, entries->len + 1);
  for (guint i = 0; i < entries->len; i++) {
    ActrdRegistryEntry *e = g_ptr_array_index(entries, i);
    Actr__DiscoveryResponse__TypeEntry *item = &items[i];
    char *name = g_strdup_printf("%s:%s", e->id.type.manufacturer, e->id.type.name);

    g_ptr_array_add(names, name);
    actr__discovery_response__type_entry__init(item);
    actr_type_to_pb(&e->id.type, &types[i]);
    item->actr_type = &types[i];
    item->name = name;
    item->service_fingerprint = (char *)"unknown";
    if (e->spec != NULL) {
      item->service_fingerprint = e->spec->fingerprint;
      item->description = e->spec->description;
      item->has_published_at = e->spec->has_published_at;
      item->published_at = e->spec->published_at;
      item->n_tags = e->spec->n_tags;
      item->tags = e->spec->tags;
    }
    ptrs[i] = item;
  }
  ok.n_entries = entries->len;
  ok.entries = ptrs;
  resp.result_case = ACTR__DISCOVERY_RESPONSE__RESULT_SUCCESS;
  resp.success = &ok;
  sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_DISCOVERY_RESPONSE;
  sta.discovery_response = &resp;
  conn_send_to_actr(c, &sta, source, reply_for);
  g_ptr_array_unref(names);
}

static void
handle_route_candidates(Conn *c, const char *reply_for, const Actr__ActrId *source,
                        const Actr__RouteCandidatesRequest *req)
{
  ActrdSignaling *sig = c->sig;
  g_autofree char *src_type = type_pb_to_string(source->type);
  g_autofree char *tgt_type = type_pb_to_string(req->target_type);
  g_auto(ActrType) target = {0};
  g_autoptr(GPtrArray) found = g_ptr_array_new();
  g_autoptr(GPtrArray) live = g_ptr_array_new();
  Signaling__SignalingToActr sta = SIGNALING__SIGNALING_TO_ACTR__INIT;
  Actr__RouteCandidatesResponse resp = ACTR__ROUTE_CANDIDATES_RESPONSE__INIT;
  Actr__RouteCandidatesResponse__RouteCandidatesOk ok =
      ACTR__ROUTE_CANDIDATES_RESPONSE__ROUTE_CANDIDATES_OK__INIT;
  g_autofree ActrIdPb *ids = NULL;
  g_autofree Actr__ActrId **id_ptrs = NULL;
  g_autofree Actr__WsAddressEntry *ws = NULL;
  g_autofree Actr__WsAddressEntry **ws_ptrs = NULL;

  actr_type_from_pb(req->target_type, &target);
  actrd_registry_find_by_type(sig->registry, &target, found);
  for (guint i = 0; i < found->len; i++) {
    ActrdRegistryEntry *e = g_ptr_array_index(found, i);
    Conn *owner = e->connection;
    if (owner == NULL || owner->closed ||
        current_conn(sig, e->id.realm_id, e->id.serial_number) != owner)
      continue;
    if (!actrd_db_can_discover(sig->server->db, pb_realm(source), e->id.realm_id, src_type,
                               tgt_type))
      continue;
    g_ptr_array_add(live, e);
  }
  actrd_rank_candidates(live, req->criteria, req->client_location, req->client_fingerprint,
                        c->client_id);

  ids = g_new0(ActrIdPb, live->len + 1);
  id_ptrs = g_new0(Actr__ActrId *, live->len + 1);
  ws = g_new0(Actr__WsAddressEntry, live->len + 1);
  ws_ptrs = g_new0(Actr__WsAddressEntry *, live->len + 1);
  for (guint i = 0; i < live->len; i++) {
    ActrdRegistryEntry *e = g_ptr_array_index(live, i);
    actr_id_to_pb(&e->id, &ids[i]);
    id_ptrs[i] = &ids[i].id;
    actr__ws_address_entry__init(&ws[i]);
    ws[i].candidate_id = &ids[i].id;
    ws[i].ws_address = e->ws_address;
    ws_ptrs[i] = &ws[i];
  }
  ok.n_candidates = live->len;
  ok.candidates = id_ptrs;
  ok.n_ws_address_map = live->len;
  ok.ws_address_map = ws_ptrs;
  resp.result_case = ACTR__ROUTE_CANDIDATES_RESPONSE__RESULT_SUCCESS;
  resp.success = &ok;
  sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ROUTE_CANDIDATES_RESPONSE;
  sta.route_candidates_response = &resp;
  conn_send_to_actr(c, &sta, source, reply_for);
}

typedef struct {
  const char *name;
  ActrdRegistryEntry *found;
} SpecCtx;

static gboolean
find_spec(ActrdRegistryEntry *e, gpointer data)
{
  SpecCtx *ctx = data;
  if (e->spec != NULL && g_strcmp0(e->spec->name, ctx->name) == 0) {
    ctx->found = e;
    return FALSE;
  }
  return TRUE;
}

static void
handle_get_service_spec(Conn *c, const char *reply_for, const Actr__ActrId *source,
                        const Actr__GetServiceSpecRequest *req)
{
  Signaling__SignalingToActr sta = SIGNALING__SIGNALING_TO_ACTR__INIT;
  Actr__GetServiceSpecResponse resp = ACTR__GET_SERVICE_SPEC_RESPONSE__INIT;
  Actr__ErrorResponse err = ACTR__ERROR_RESPONSE__INIT;
  g_autofree char *message = NULL;
  SpecCtx ctx = {req->name, NULL};

  actrd_registry_foreach(c->sig->registry, find_spec, &ctx);
  if (ctx.found != NULL) {
    resp.result_case = ACTR__GET_SERVICE_SPEC_RESPONSE__RESULT_SUCCESS;
    resp.success = ctx.found->spec;
  } else {
    message = g_strdup_printf("service spec not found: %s", req->name);
    err.code = 404;
    err.message = message;
    resp.result_case = ACTR__GET_SERVICE_SPEC_RESPONSE__RESULT_ERROR;
    resp.error = &err;
  }
  sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_GET_SERVICE_SPEC_RESPONSE;
  sta.get_service_spec_response = &resp;
  conn_send_to_actr(c, &sta, source, reply_for);
}

static void
handle_get_signing_key(Conn *c, const char *reply_for, const Actr__ActrId *source,
                       const Signaling__GetSigningKeyRequest *req)
{
  Signaling__SignalingToActr sta = SIGNALING__SIGNALING_TO_ACTR__INIT;
  Signaling__GetSigningKeyResponse resp = SIGNALING__GET_SIGNING_KEY_RESPONSE__INIT;
  guint8 pubkey[32];
  g_autofree char *message = NULL;

  if (!actrd_keys_lookup(req->key_id, pubkey, c->sig->server->keys)) {
    message = g_strdup_printf("signing key not found: key_id=%u", req->key_id);
    conn_send_error(c, source, reply_for, 404, message);
    return;
  }
  resp.key_id = req->key_id;
  resp.pubkey.data = pubkey;
  resp.pubkey.len = sizeof pubkey;
  sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_GET_SIGNING_KEY_RESPONSE;
  sta.get_signing_key_response = &resp;
  conn_send_to_actr(c, &sta, source, reply_for);
}

static void
handle_subscribe(Conn *c, const char *reply_for, const Actr__ActrId *source,
                 const Actr__ActrType *type, gboolean subscribe)
{
  ActrdSignaling *sig = c->sig;
  Signaling__SignalingToActr sta = SIGNALING__SIGNALING_TO_ACTR__INIT;
  Actr__SubscribeActrUpResponse sresp = ACTR__SUBSCRIBE_ACTR_UP_RESPONSE__INIT;
  Actr__SubscribeActrUpResponse__SubscribeOk sok =
      ACTR__SUBSCRIBE_ACTR_UP_RESPONSE__SUBSCRIBE_OK__INIT;
  Actr__UnsubscribeActrUpResponse uresp = ACTR__UNSUBSCRIBE_ACTR_UP_RESPONSE__INIT;
  Actr__UnsubscribeActrUpResponse__UnsubscribeOk uok =
      ACTR__UNSUBSCRIBE_ACTR_UP_RESPONSE__UNSUBSCRIBE_OK__INIT;
  g_auto(ActrType) key = {0};
  g_auto(ActrId) id = {0};
  GPtrArray *list;
  guint index = G_MAXUINT;

  actr_type_from_pb(type, &key);
  actr_id_from_pb(source, &id);
  list = g_hash_table_lookup(sig->subs, &key);
  for (guint i = 0; list != NULL && i < list->len; i++) {
    if (actr_id_equal(g_ptr_array_index(list, i), &id)) {
      index = i;
      break;
    }
  }
  if (subscribe) {
    if (index == G_MAXUINT && subs_count(sig, &id) >= MAX_SUBSCRIPTIONS) {
      Actr__ErrorResponse err = ACTR__ERROR_RESPONSE__INIT;
      err.code = 429;
      err.message = (char *)"too many presence subscriptions";
      sresp.result_case = ACTR__SUBSCRIBE_ACTR_UP_RESPONSE__RESULT_ERROR;
      sresp.error = &err;
      sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_SUBSCRIBE_ACTR_UP_RESPONSE;
      sta.subscribe_actr_up_response = &sresp;
      conn_send_to_actr(c, &sta, source, reply_for);
      return;
    }
    if (list == NULL) {
      ActrType *k = g_new0(ActrType, 1);
      actr_type_copy(&key, k);
      list = g_ptr_array_new_with_free_func(actr_id_free);
      g_hash_table_insert(sig->subs, k, list);
    }
    if (index == G_MAXUINT) {
      ActrId *copy = g_new0(ActrId, 1);
      actr_id_copy(&id, copy);
      g_ptr_array_add(list, copy);
      subs_count_add(sig, &id, 1);
    }
    sresp.result_case = ACTR__SUBSCRIBE_ACTR_UP_RESPONSE__RESULT_SUCCESS;
    sresp.success = &sok;
    sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_SUBSCRIBE_ACTR_UP_RESPONSE;
    sta.subscribe_actr_up_response = &sresp;
  } else {
    if (index != G_MAXUINT) {
      g_ptr_array_remove_index(list, index);
      subs_count_add(sig, &id, -1);
      if (list->len == 0)
        g_hash_table_remove(sig->subs, &key);
    }
    uresp.result_case = ACTR__UNSUBSCRIBE_ACTR_UP_RESPONSE__RESULT_SUCCESS;
    uresp.success = &uok;
    sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_UNSUBSCRIBE_ACTR_UP_RESPONSE;
    sta.unsubscribe_actr_up_response = &uresp;
  }
  conn_send_to_actr(c, &sta, source, reply_for);
}

static void
handle_actr_to_server(Conn *c, const Signaling__SignalingEnvelope *env)
{
  ActrdSignaling *sig = c->sig;
  const Signaling__ActrToSignaling *a = env->actr_to_server;
  const Actr__ActrId *source = a->source;
  const char *reply_for = env->envelope_id;
  const ActrIdentityClaims *claims = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  g_autofree char *source_text = NULL;
  g_auto(ActrId) src = {0};

  if (a->payload_case == SIGNALING__ACTR_TO_SIGNALING__PAYLOAD__NOT_SET) {
    g_debug("[%s] actr_to_server without payload ignored", c->id_text);
    return;
  }
  if (!realm_valid(sig, pb_realm(source), &error)) {
    message = g_strdup_printf("Realm validation failed: %s", error->message);
    conn_send_error(c, source, reply_for, 403, message);
    return;
  }
  actr_id_from_pb(source, &src);
  if (!verify_credential(c, a->credential, src.realm_id, &claims, &error)) {
    message = g_strdup_printf("Credential validation failed: %s", error->message);
    conn_send_error(c, source, reply_for, 401, message);
    return;
  }
  if (!pb_id_is(source, &c->id))
    source_text = actr_id_to_string(&src);
  if (g_strcmp0(claims->actor_id, source_text ? source_text : c->id_text) != 0) {
    conn_send_error(c, source, reply_for, 401,
                    "Credential validation failed: credential does not belong to source");
    return;
  }

  switch (a->payload_case) {
  case SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_PING:
    handle_ping(c, reply_for, source, a->ping);
    break;
  case SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_UNREGISTER_REQUEST:
    handle_unregister(c, reply_for, source);
    break;
  case SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_CREDENTIAL_UPDATE_REQUEST:
    conn_send_error(c, source, reply_for, 410,
                    "Credential refresh via signaling is no longer supported; use /ais/register");
    break;
  case SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_DISCOVERY_REQUEST:
    handle_discovery(c, reply_for, source, a->discovery_request);
    break;
  case SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_ROUTE_CANDIDATES_REQUEST:
    handle_route_candidates(c, reply_for, source, a->route_candidates_request);
    break;
  case SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_GET_SERVICE_SPEC_REQUEST:
    handle_get_service_spec(c, reply_for, source, a->get_service_spec_request);
    break;
  case SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_GET_SIGNING_KEY_REQUEST:
    handle_get_signing_key(c, reply_for, source, a->get_signing_key_request);
    break;
  case SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_SUBSCRIBE_ACTR_UP_REQUEST:
    handle_subscribe(c, reply_for, source, a->subscribe_actr_up_request->target_type, TRUE);
    break;
  case SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_UNSUBSCRIBE_ACTR_UP_REQUEST:
    handle_subscribe(c, reply_for, source, a->unsubscribe_actr_up_request->target_type, FALSE);
    break;
  case SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_ERROR:
    g_message("[%s] client error %u: %s", c->id_text, a->error->code, a->error->message);
    break;
  default:
    g_debug("[%s] unknown actr_to_server payload %d ignored", c->id_text, a->payload_case);
    break;
  }
}

/* ---- relays ------------------------------------------------------------------------ */

static void
send_relay(Conn *to, Signaling__ActrRelay *relay)
{
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;

  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY;
  env.actr_relay = relay;
  conn_send_envelope(to, &env, NULL);
  actrd_metrics_relay(to->sig->server->metrics);
}

static gboolean
pb_same_actor(const Actr__ActrId *a, const Actr__ActrId *b)
{
  return pb_realm(a) == pb_realm(b) && a->serial_number == b->serial_number;
}

static void
handle_role_negotiation(Conn *c, Signaling__ActrRelay *relay)
{
  ActrdSignaling *sig = c->sig;
  const Actr__RoleNegotiation *rn = relay->role_negotiation;
  Conn *from_conn, *to_conn;
  g_auto(ActrId) from = {0};
  g_auto(ActrId) to = {0};
  Signaling__ActrRelay out = SIGNALING__ACTR_RELAY__INIT;
  Actr__RoleAssignment ra = ACTR__ROLE_ASSIGNMENT__INIT;
  gboolean from_offers;

  if (!pb_same_actor(rn->from, relay->source) || !pb_same_actor(rn->to, relay->target)) {
    g_message("[%s] RoleNegotiation from/to differ from the relay's source/target: dropped",
              c->id_text);
    return;
  }
  actr_id_from_pb(rn->from, &from);
  actr_id_from_pb(rn->to, &to);
  from_conn = current_conn(sig, from.realm_id, from.serial_number);
  to_conn = current_conn(sig, to.realm_id, to.serial_number);
  from_offers = actrd_is_offerer(&from, from_conn ? from_conn->prefers_answer : FALSE, &to,
                                 to_conn ? to_conn->prefers_answer : FALSE);

  out.source = rn->from;
  out.credential = relay->credential;
  out.target = rn->to;
  out.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_ASSIGNMENT;
  out.role_assignment = &ra;
  if (from_conn != NULL) {
    ra.is_offerer = from_offers;
    send_relay(from_conn, &out);
  }
  if (to_conn != NULL) {
    ra.is_offerer = !from_offers;
    send_relay(to_conn, &out);
  }
}

/* The "m:n:v" text of @pb's type: @known's precomputed text when @pb is
 * @known's actor (the common case on the relay path, which then formats
 * nothing), else a new string kept in @tmp. */
static const char *
pb_type_text(const Actr__ActrId *pb, const Conn *known, char **tmp)
{
  if (known != NULL && pb_id_is(pb, &known->id))
    return known->type_text;
  *tmp = type_pb_to_string(pb->type);
  return *tmp;
}

static void
handle_relay(Conn *c, const Signaling__SignalingEnvelope *env)
{
  ActrdSignaling *sig = c->sig;
  Signaling__ActrRelay *relay = env->actr_relay;
  const char *reply_for = env->envelope_id;
  const ActrIdentityClaims *claims = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  g_autofree char *src_tmp = NULL;
  g_autofree char *tgt_tmp = NULL;
  g_autofree char *source_tmp = NULL;
  const char *src_type, *tgt_type, *source_text;
  gboolean from_self = pb_id_is(relay->source, &c->id);
  Conn *target = current_conn(sig, pb_realm(relay->target), relay->target->serial_number);

  src_type = pb_type_text(relay->source, c, &src_tmp);
  tgt_type = pb_type_text(relay->target, target, &tgt_tmp);
  if (!realm_valid(sig, pb_realm(relay->source), &error)) {
    message = g_strdup_printf("Realm validation failed: %s", error->message);
    conn_send_error(c, relay->source, reply_for, 403, message);
    return;
  }
  if (!actrd_db_can_discover(sig->server->db, pb_realm(relay->source), pb_realm(relay->target),
                             src_type, tgt_type)) {
    message = g_strdup_printf("ACL policy denies relay from %s to %s", src_type, tgt_type);
    conn_send_error(c, relay->source, reply_for, 403, message);
    return;
  }
  if (!verify_credential(c, relay->credential, pb_realm(relay->source), &claims, &error)) {
    message = g_strdup_printf("Credential validation failed: %s", error->message);
    conn_send_error(c, relay->source, reply_for, 401, message);
    return;
  }
  if (from_self) {
    source_text = c->id_text;
  } else {
    g_auto(ActrId) src = {0};
    actr_id_from_pb(relay->source, &src);
    source_tmp = actr_id_to_string(&src);
    source_text = source_tmp;
  }
  if (g_strcmp0(claims->actor_id, source_text) != 0) {
    message = g_strdup_printf("Source identity mismatch: credential is for %s", claims->actor_id);
    conn_send_error(c, relay->source, reply_for, 403, message);
    return;
  }
  /* Only the current connection of the source may relay for it. */
  if (!from_self || current_conn(sig, c->key.realm_id, c->key.serial) != c) {
    g_debug("[%s] relay from a connection that is not the source's: dropped", c->id_text);
    return;
  }

  if (relay->payload_case == SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_NEGOTIATION) {
    handle_role_negotiation(c, relay);
    return;
  }
  if (target == NULL) {
    g_debug("[%s] relay to an absent target dropped", c->id_text);
    return;
  }
  send_relay(target, relay);
}

/* ---- frames ------------------------------------------------------------------------ */

static void
send_rate_limited(Conn *c)
{
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  Actr__ErrorResponse err = ACTR__ERROR_RESPONSE__INIT;

  err.code = ERR_LIMIT_EXCEEDED;
  err.message = (char *)"message rate limit exceeded";
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ENVELOPE_ERROR;
  env.envelope_error = &err;
  conn_send_envelope(c, &env, NULL);
}

static void
handle_peer_to_server(Conn *c, const Signaling__SignalingEnvelope *env)
{
  const Signaling__PeerToSignaling *p = env->peer_to_server;
  Signaling__SignalingToActr sta = SIGNALING__SIGNALING_TO_ACTR__INIT;
  Actr__RegisterResponse resp = ACTR__REGISTER_RESPONSE__INIT;
  Actr__ErrorResponse err = ACTR__ERROR_RESPONSE__INIT;
  ActrIdPb temp;
  ActrId temp_id = {0, 0, {(char *)"temp", (char *)"temp", (char *)"1.0.0"}};

  if (p->payload_case != SIGNALING__PEER_TO_SIGNALING__PAYLOAD_REGISTER_REQUEST) {
    g_debug("[%s] peer_to_server without payload ignored", c->id_text);
    return;
  }
  actr_id_to_pb(&temp_id, &temp);
  err.code = 410;
  err.message = (char *)"Registration via signaling is no longer supported; use /ais/register";
  resp.result_case = ACTR__REGISTER_RESPONSE__RESULT_ERROR;
  resp.error = &err;
  sta.payload_case = SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_REGISTER_RESPONSE;
  sta.register_response = &resp;
  conn_send_to_actr(c, &sta, &temp.id, env->envelope_id);
}

/* One binary frame.  Returns FALSE when @c was closed. */
static gboolean
conn_handle_frame(Conn *c, const guint8 *data, gsize len)
{
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;
  g_autoptr(GError) error = NULL;

  if (c->closed)
    return FALSE;
  if (!actrd_token_bucket_take(&c->bucket, g_get_monotonic_time())) {
    actrd_metrics_rate_limited(c->sig->server->metrics, "ws-message");
    send_rate_limited(c);
    return TRUE;
  }
  env = actr_signaling_envelope_decode(data, len, &error);
  if (env == NULL) {
    g_message("[%s] undecodable frame (%zu bytes), closing: %s", c->id_text, len, error->message);
    conn_close(c, CLOSE_BAD_DATA, "undecodable signaling envelope", TRUE);
    return FALSE;
  }
  switch (env->flow_case) {
  case SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER:
    handle_actr_to_server(c, env);
    break;
  case SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY:
    handle_relay(c, env);
    break;
  case SIGNALING__SIGNALING_ENVELOPE__FLOW_PEER_TO_SERVER:
    handle_peer_to_server(c, env);
    break;
  case SIGNALING__SIGNALING_ENVELOPE__FLOW_ENVELOPE_ERROR:
    g_message("[%s] client envelope_error %u: %s", c->id_text, env->envelope_error->code,
              env->envelope_error->message);
    break;
  default:
    g_debug("[%s] envelope flow %d ignored", c->id_text, env->flow_case);
    break;
  }
  return !c->closed;
}

/* ---- WebSocket glue ------------------------------------------------------------------ */

static void
on_ws_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  Conn *c = data;
  gsize len;
  const guint8 *bytes;

  c->last_seen_us = g_get_monotonic_time();
  if (type != SOUP_WEBSOCKET_DATA_BINARY) {
    if (!c->text_logged)
      g_message("[%s] text frame ignored (logged once per connection)", c->id_text);
    c->text_logged = TRUE;
    return;
  }
  bytes = g_bytes_get_data(message, &len);
  conn_handle_frame(c, bytes, len);
}

static void
on_ws_closed(SoupWebsocketConnection *ws, gpointer data)
{
  Conn *c = data;

  g_debug("[%s] closed (code %u)", c->id_text, soup_websocket_connection_get_close_code(ws));
  conn_detach(c, TRUE);
}

/* The close handshake started (either side): the actor leaves now, so that
 * a peer that saw its Close answered never finds it registered. */
static void
on_ws_closing(SoupWebsocketConnection *ws, gpointer data)
{
  Conn *c = data;

  g_debug("[%s] closing", c->id_text);
  conn_detach(c, TRUE);
}

static void
on_ws_error(SoupWebsocketConnection *ws, GError *error, gpointer data)
{
  Conn *c = data;
  g_debug("[%s] socket error: %s", c->id_text, error->message);
}

/* Strict standard base64 (with padding); decodes into @out. */
static gboolean
base64_decode_strict(const char *text, GBytes **out)
{
  gsize n = strlen(text), len;
  guchar *data;

  if (n == 0 || n % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    char ch = text[i];
    if (ch == '=') {
      if (i < n - 2 || (i == n - 2 && text[n - 1] != '='))
        return FALSE;
    } else if (!g_ascii_isalnum(ch) && ch != '+' && ch != '/') {
      return FALSE;
    }
  }
  data = g_base64_decode(text, &len);
  *out = g_bytes_new_take(data, len);
  return TRUE;
}

static void
reject(SoupServerMessage *msg, guint status, const char *text)
{
  soup_server_message_set_status(msg, status, status == 429 ? "Too Many Requests" : NULL);
  soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_COPY, text, strlen(text));
}

/* Parses and verifies the identity of the URL.  On success fills @auth. */
static gboolean
authenticate(ActrdSignaling *sig, SoupServerMessage *msg, AuthData *auth, char **why)
{
  GUri *uri = soup_server_message_get_uri(msg);
  const char *query = g_uri_get_query(uri);
  g_autoptr(GHashTable) params = NULL;
  const char *actor_id, *key_id, *claims, *signature, *role;
  guint64 key = 0;
  ActrCredential cred = {0};
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (query == NULL) {
    *why = g_strdup("missing identity parameters");
    return FALSE;
  }
  params = soup_form_decode(query);
  actor_id = g_hash_table_lookup(params, "actor_id");
  key_id = g_hash_table_lookup(params, "key_id");
  claims = g_hash_table_lookup(params, "claims");
  signature = g_hash_table_lookup(params, "signature");
  role = g_hash_table_lookup(params, "webrtc_role");
  if (actor_id == NULL || key_id == NULL || claims == NULL || signature == NULL) {
    *why = g_strdup("missing identity parameters");
    return FALSE;
  }
  if (!actr_id_parse(actor_id, &auth->id, NULL) ||
      !g_ascii_string_to_unsigned(key_id, 10, 0, G_MAXUINT32, &key, NULL) ||
      !base64_decode_strict(claims, &cred.claims)) {
    *why = g_strdup("malformed identity parameters");
    return FALSE;
  }
  if (!base64_decode_strict(signature, &cred.signature)) {
    g_bytes_unref(cred.claims);
    *why = g_strdup("malformed identity parameters");
    return FALSE;
  }
  cred.key_id = (guint32)key;
  ok = actr_credential_verify(&cred, actrd_keys_lookup, sig->server->keys, (guint64)actrd_now(),
                              auth->id.realm_id, &auth->id, NULL, &error);
  g_bytes_unref(cred.claims);
  g_bytes_unref(cred.signature);
  if (!ok) {
    *why = g_strdup_printf("credential rejected: %s", error->message);
    return FALSE;
  }
  if (!realm_valid(sig, auth->id.realm_id, &error)) {
    *why = g_strdup_printf("realm rejected: %s", error->message);
    return FALSE;
  }
  auth->prefers_answer = g_strcmp0(role, "answer") == 0;
  return TRUE;
}

static void
early_handler(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
              gpointer data)
{
  ActrdSignaling *sig = data;
  ActrdConfig *config = sig->server->config;
  const char *ip = actrd_client_ip(msg);
  guint count = GPOINTER_TO_UINT(g_hash_table_lookup(sig->per_ip, ip));
  g_autofree char *why = NULL;
  AuthData *auth;

  if (count >= config->conn_max_per_ip ||
      !actrd_ip_limiter_take(sig->connect_limiter, ip, g_get_monotonic_time())) {
    actrd_metrics_rate_limited(sig->server->metrics, "ws-connect");
    reject(msg, 429, "too many connections\n");
    return;
  }
  auth = g_new0(AuthData, 1);
  if (!authenticate(sig, msg, auth, &why)) {
    g_message("signaling upgrade from %s refused: %s", ip, why);
    auth_data_free(auth);
    reject(msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized\n");
    return;
  }
  g_object_set_data_full(G_OBJECT(msg), AUTH_DATA_KEY, auth, auth_data_free);
}

static void
websocket_handler(SoupServer *server, SoupServerMessage *msg, const char *path,
                  SoupWebsocketConnection *ws, gpointer data)
{
  ActrdSignaling *sig = data;
  AuthData *auth = g_object_get_data(G_OBJECT(msg), AUTH_DATA_KEY);
  Conn *c;

  if (auth == NULL) { /* cannot happen: the early handler refused it */
    soup_websocket_connection_close(ws, CLOSE_POLICY, "unauthenticated");
    return;
  }
  c = conn_new(sig, &auth->id, auth->prefers_answer);
  c->ws = g_object_ref(ws);
  c->ip = g_strdup(actrd_client_ip(msg));
  soup_websocket_connection_set_max_incoming_payload_size(ws, sig->server->config->max_frame_bytes);
  soup_websocket_connection_set_keepalive_interval(ws, 0);
  c->h_message = g_signal_connect(ws, "message", G_CALLBACK(on_ws_message), c);
  c->h_closing = g_signal_connect(ws, "closing", G_CALLBACK(on_ws_closing), c);
  c->h_closed = g_signal_connect(ws, "closed", G_CALLBACK(on_ws_closed), c);
  c->h_error = g_signal_connect(ws, "error", G_CALLBACK(on_ws_error), c);
  g_debug("[%s] connected from %s", c->id_text, c->ip);
  conn_bind(sig, c);
}

/* Closes socket connections that sent nothing for three heartbeat
 * intervals (a node that vanished without closing its TCP connection), and
 * forgets parked registrations older than PARKED_MAX_AGE_US. */
static gboolean
sweep_idle(gpointer data)
{
  ActrdSignaling *sig = data;
  gint64 limit = 3 * (gint64)sig->server->config->heartbeat_interval_secs * G_USEC_PER_SEC;
  gint64 now = g_get_monotonic_time();
  g_autoptr(GPtrArray) idle = g_ptr_array_new();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init(&iter, sig->all);
  while (g_hash_table_iter_next(&iter, &key, NULL)) {
    Conn *c = key;
    if (c->ws != NULL && now - c->last_seen_us > limit)
      g_ptr_array_add(idle, c);
  }
  for (guint i = 0; i < idle->len; i++) {
    Conn *c = g_ptr_array_index(idle, i);
    g_message("[%s] no traffic for %" G_GINT64_FORMAT " s, closing", c->id_text,
              limit / G_USEC_PER_SEC);
    conn_close(c, CLOSE_GOING_AWAY, "heartbeat timeout", TRUE);
  }
  parked_prune(sig);
  return G_SOURCE_CONTINUE;
}

/* ---- public API ------------------------------------------------------------------------ */

ActrdSignaling *
actrd_signaling_new(ActrdServer *server, GError **error)
{
  ActrdSignaling *sig;

  g_return_val_if_fail(server != NULL && server->config != NULL, NULL);

  sig = g_new0(ActrdSignaling, 1);
  sig->server = server;
  sig->registry = actrd_registry_new_memory();
  sig->conns = g_hash_table_new(actrd_actor_key_hash, actrd_actor_key_equal);
  sig->all = g_hash_table_new(NULL, NULL);
  sig->subs = g_hash_table_new_full(actrd_type_hash, actrd_type_equal, actr_type_free,
                                    (GDestroyNotify)g_ptr_array_unref);
  sig->parked =
      g_hash_table_new_full(actrd_actor_key_hash, actrd_actor_key_equal, g_free, parked_free);
  sig->per_ip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  sig->realms = g_hash_table_new_full(NULL, NULL, NULL, realm_verdict_free);
  sig->sub_counts =
      g_hash_table_new_full(actr_id_hash_func, actr_id_equal_func, actr_id_free, NULL);
  sig->connect_limiter =
      actrd_ip_limiter_new(server->config->conn_rate_per_sec, server->config->conn_burst);
  sig->dead = g_ptr_array_new_with_free_func((GDestroyNotify)conn_free);

  if (server->soup != NULL) {
    soup_server_add_early_handler(server->soup, SIGNALING_PATH, early_handler, sig, NULL);
    soup_server_add_websocket_handler(server->soup, SIGNALING_PATH, NULL, NULL, websocket_handler,
                                      sig, NULL);
    sig->handlers_added = TRUE;

    GSource *sweep = g_timeout_source_new_seconds(MAX(server->config->heartbeat_interval_secs, 1));
    g_source_set_callback(sweep, sweep_idle, sig, NULL);
    g_source_set_name(sweep, "actrd-signaling-sweep");
    sig->sweep_id = g_source_attach(sweep, server->context);
    g_source_unref(sweep);
  }
  return sig;
}

void
actrd_signaling_free(ActrdSignaling *sig)
{
  GHashTableIter iter;
  gpointer key;
  g_autoptr(GPtrArray) live = g_ptr_array_new();

  if (sig == NULL)
    return;
  if (sig->handlers_added)
    soup_server_remove_handler(sig->server->soup, SIGNALING_PATH);

  g_hash_table_iter_init(&iter, sig->all);
  while (g_hash_table_iter_next(&iter, &key, NULL))
    g_ptr_array_add(live, key);
  for (guint i = 0; i < live->len; i++) {
    Conn *c = g_ptr_array_index(live, i);
    if (c->ws == NULL) {
      /* A detached session: its owner frees it; just detach it. */
      conn_detach(c, TRUE);
      continue;
    }
    conn_close(c, CLOSE_GOING_AWAY, "server shutting down", TRUE);
  }
  if (sig->sweep_id != 0) {
    GSource *source = g_main_context_find_source_by_id(sig->server->context, sig->sweep_id);
    if (source != NULL)
      g_source_destroy(source);
  }
  if (sig->reap_id != 0) {
    GSource *source = g_main_context_find_source_by_id(sig->server->context, sig->reap_id);
    if (source != NULL)
      g_source_destroy(source);
  }
  g_ptr_array_unref(sig->dead);
  g_hash_table_destroy(sig->all);
  g_hash_table_destroy(sig->conns);
  g_hash_table_destroy(sig->subs);
  g_hash_table_destroy(sig->parked);
  g_hash_table_destroy(sig->per_ip);
  g_hash_table_destroy(sig->realms);
  g_hash_table_destroy(sig->sub_counts);
  actrd_ip_limiter_free(sig->connect_limiter);
  actrd_registry_free(sig->registry);
  g_free(sig);
}

guint
actrd_signaling_connection_count(ActrdSignaling *sig)
{
  g_return_val_if_fail(sig != NULL, 0);
  return g_hash_table_size(sig->all);
}

ActrdRegistry *
actrd_signaling_get_registry(ActrdSignaling *sig)
{
  g_return_val_if_fail(sig != NULL, NULL);
  return sig->registry;
}

ActrdSignalingSession *
actrd_signaling_session_new(ActrdSignaling *sig, const ActrId *id, gboolean prefers_answer,
                            ActrdSignalingSendFunc send_func, gpointer user_data)
{
  ActrdSignalingSession *session;

  g_return_val_if_fail(sig != NULL && id != NULL, NULL);
  session = g_new0(ActrdSignalingSession, 1);
  session->conn = conn_new(sig, id, prefers_answer);
  session->conn->send_func = send_func;
  session->conn->send_data = user_data;
  conn_bind(sig, session->conn);
  return session;
}

gboolean
actrd_signaling_session_feed(ActrdSignalingSession *session, const guint8 *data, gsize len)
{
  g_return_val_if_fail(session != NULL, FALSE);
  return conn_handle_frame(session->conn, data, len);
}

void
actrd_signaling_session_free(ActrdSignalingSession *session)
{
  if (session == NULL)
    return;
  conn_detach(session->conn, TRUE);
  conn_free(session->conn);
  g_free(session);
}
