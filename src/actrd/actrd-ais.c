/* actrd — the identity service (AIS).  Contract: actrd-ais.h; the wire
 * behaviour is wire.md §2 and §3, and docs/actrd.md lists every endpoint.
 *
 * POST /ais/register follows the processing order of wire.md §3.3 step by
 * step (see actrd_ais_register()).  Application errors are HTTP 200 with a
 * RegisterResponse{error}; only the rate limiter (429), an oversized body
 * (413) and a wrong method (405) use HTTP status codes.  Each rejected
 * request is logged once, without secrets or credentials.
 */
#include "actrd-ais.h"

#include <string.h>
#include <unistd.h>

#include <actr/identity.h>
#include <actr/types.h>
#include <actr/version.h>

#include "actr-id.h"
#include "actr.pb-c.h"
#include "cli-json.h"
#include "codec.h"
#include "toml.h"

#define SNOWFLAKE_EPOCH_MS  G_GINT64_CONSTANT(1672531200000)
#define REALM_SECRET_HEADER "x-actrix-realm-secret"
#define ADMIN_TOKEN_HEADER  "x-actrd-admin-token"
#define PROTOBUF_TYPE       "application/x-protobuf"
#define JSON_TYPE           "application/json"

/* ---- ActrId allocation (wire.md §2.1) --------------------------------------- */

static struct {
  gboolean init;
  guint64 worker_id; /* 5 bits */
  gint64 last_ms;
  guint64 seq; /* 8 bits */
} snowflake;

/* A new 54-bit serial: ((ms since 2023-01-01) << 13) | (worker << 8) | seq.
 * When 256 serials were taken in one millisecond the clock is pushed
 * forward, so serials never repeat within a process. */
static guint64
snowflake_next(void)
{
  gint64 now_ms = g_get_real_time() / 1000;

  if (!snowflake.init) {
    g_autofree char *seed = g_strdup_printf("%s:%d", g_get_host_name(), (int)getpid());

    snowflake.worker_id = g_str_hash(seed) % 32;
    snowflake.init = TRUE;
  }
  if (now_ms <= snowflake.last_ms) {
    now_ms = snowflake.last_ms;
    if (++snowflake.seq > 0xff) {
      now_ms++;
      snowflake.seq = 0;
    }
  } else {
    snowflake.seq = 0;
  }
  snowflake.last_ms = now_ms;
  if (now_ms < SNOWFLAKE_EPOCH_MS)
    now_ms = SNOWFLAKE_EPOCH_MS;
  return (((guint64)(now_ms - SNOWFLAKE_EPOCH_MS) << 13) | (snowflake.worker_id << 8) |
          snowflake.seq) &
         ((G_GUINT64_CONSTANT(1) << 54) - 1);
}

/* ---- register ------------------------------------------------------------- */

typedef struct {
  guint code;
  char *message;
} RegisterError;

static void register_fail(RegisterError *err, guint code, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static void
register_fail(RegisterError *err, guint code, const char *format, ...)
{
  va_list args;

  va_start(args, format);
  err->code = code;
  err->message = g_strdup_vprintf(format, args);
  va_end(args);
}

static GBytes *
encode_error(guint code, const char *message)
{
  Actr__RegisterResponse resp = ACTR__REGISTER_RESPONSE__INIT;
  Actr__ErrorResponse error = ACTR__ERROR_RESPONSE__INIT;

  error.code = code;
  error.message = (char *)message;
  resp.result_case = ACTR__REGISTER_RESPONSE__RESULT_ERROR;
  resp.error = &error;
  return actr_proto_message_encode(&resp.base);
}

static gboolean
bytes_equal(const guint8 *a, gsize a_len, GBytes *b)
{
  gsize b_len = 0;
  const guint8 *b_data = g_bytes_get_data(b, &b_len);

  return a_len == b_len && (a_len == 0 || memcmp(a, b_data, a_len) == 0);
}

/* Path 2 of PACKAGE mode: the manifest signed by a key of its manufacturer. */
static gboolean
check_manifest_signature(ActrdServer *server, const Actr__RegisterRequest *req,
                         const ActrType *type, RegisterError *err)
{
  g_autoptr(ActrTomlValue) manifest = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(ActrdMfrKey) key = NULL;
  const char *key_id, *target;
  const ActrTomlValue *binary;

  manifest = actr_toml_parse((const char *)req->manifest_raw.data, req->manifest_raw.len,
                             "manifest", &local);
  if (manifest == NULL) {
    register_fail(err, 403, "manufacturer not verified: manifest is not valid TOML");
    return FALSE;
  }
  key_id = actr_toml_table_get_string(manifest, "signing_key_id");
  if (key_id == NULL) {
    register_fail(err, 403, "manufacturer not verified: manifest has no signing_key_id");
    return FALSE;
  }
  if (!actrd_db_mfr_get(server->db, type->manufacturer, key_id, &key, &local)) {
    if (g_error_matches(local, ACTRD_ERROR, ACTRD_ERROR_NOT_FOUND))
      register_fail(err, 403, "manufacturer not verified: unknown manufacturer key");
    else
      register_fail(err, 500, "internal error: manufacturer key lookup failed");
    return FALSE;
  }
  if (key->revoked) {
    register_fail(err, 403, "manufacturer key revoked");
    return FALSE;
  }
  if (!actr_ed25519_verify(key->public_key, req->manifest_raw.data, req->manifest_raw.len,
                           req->mfr_signature.data, req->mfr_signature.len)) {
    register_fail(err, 403, "manufacturer not verified: invalid manifest signature");
    return FALSE;
  }
  if (g_strcmp0(actr_toml_table_get_string(manifest, "manufacturer"), type->manufacturer) != 0 ||
      g_strcmp0(actr_toml_table_get_string(manifest, "name"), type->name) != 0 ||
      g_strcmp0(actr_toml_table_get_string(manifest, "version"), type->version) != 0) {
    register_fail(err, 403, "manufacturer not verified: manifest does not match actr_type");
    return FALSE;
  }
  binary = actr_toml_table_get_table(manifest, "binary");
  target = actr_toml_table_get_string(binary, "target");
  if (target != NULL && req->target != NULL && strcmp(target, req->target) != 0) {
    register_fail(err, 403, "manufacturer not verified: manifest target does not match");
    return FALSE;
  }
  return TRUE;
}

/* wire.md §3.3 step 5, PACKAGE. */
static gboolean
check_package(ActrdServer *server, const Actr__RegisterRequest *req, const ActrType *type,
              const char *type_text, RegisterError *err)
{
  g_autoptr(GBytes) stored = NULL;

  /* Path 1: a published package (its manifest must match when one is sent). */
  if (actrd_db_package_find(server->db, type_text, req->target, &stored)) {
    if (!req->has_manifest_raw)
      return TRUE;
    if (stored != NULL && bytes_equal(req->manifest_raw.data, req->manifest_raw.len, stored))
      return TRUE;
  }
  /* Path 2: a manifest signed by a manufacturer key. */
  if (req->has_manifest_raw && req->has_mfr_signature)
    return check_manifest_signature(server, req, type, err);
  register_fail(err, 403,
                "manufacturer not verified: package is not published and carries no "
                "signed manifest");
  return FALSE;
}

/* The register side effects (wire.md §3.3 step 8). */
static gboolean
apply_side_effects(ActrdServer *server, const Actr__RegisterRequest *req, const ActrId *id,
                   const char *type_text, gint64 now, GError **error)
{
  if (req->acl != NULL) {
    g_autoptr(GPtrArray) rules =
        g_ptr_array_new_with_free_func((GDestroyNotify)actrd_acl_rule_free);

    for (gsize i = 0; i < req->acl->n_rules; i++) {
      const Actr__AclRule *r = req->acl->rules[i];
      ActrdAclRule *rule;
      g_auto(ActrType) from = {0};

      actr_type_from_pb(r->from_type, &from);
      rule = g_new0(ActrdAclRule, 1);
      rule->realm_id = id->realm_id;
      switch (r->source_realm_case) {
      case ACTR__ACL_RULE__SOURCE_REALM_ANY_REALM:
        rule->any_source = TRUE;
        break;
      case ACTR__ACL_RULE__SOURCE_REALM_REALM_ID:
        rule->source_realm_id = r->realm_id;
        break;
      default:
        rule->source_realm_id = id->realm_id;
        break;
      }
      rule->from_type = actr_type_to_string(&from);
      rule->to_type = g_strdup(type_text);
      rule->allow = r->permission == ACTR__ACL_RULE__PERMISSION__ALLOW;
      g_ptr_array_add(rules, rule);
    }
    if (!actrd_db_acl_replace(server->db, id->realm_id, type_text, rules, error))
      return FALSE;
  }
  if (req->service_spec != NULL || req->ws_address != NULL) {
    g_autoptr(GBytes) spec = NULL;

    if (req->service_spec != NULL)
      spec = actr_proto_message_encode(&req->service_spec->base);
    if (!actrd_db_pending_put(server->db, id->realm_id, id->serial_number, spec, req->ws_address,
                              now, error))
      return FALSE;
  }
  return TRUE;
}

static const char *
secret_outcome_name(ActrdSecretCheck check)
{
  switch (check) {
  case ACTRD_SECRET_NOT_CONFIGURED:
    return "not configured";
  case ACTRD_SECRET_VALID_CURRENT:
    return "valid (current)";
  case ACTRD_SECRET_VALID_PREVIOUS:
    return "valid (previous)";
  case ACTRD_SECRET_MISSING_REQUIRED:
    return "missing";
  case ACTRD_SECRET_INVALID:
    return "invalid";
  }
  return "?";
}

/* Steps 1-8 of wire.md §3.3.  Returns the RegisterOk response bytes, or
 * NULL with @err filled. */
static GBytes *
register_core(ActrdServer *server, const guint8 *body, gsize len, const char *realm_secret,
              RegisterError *err, char **who)
{
  g_autoptr(GError) local = NULL;
  Actr__RegisterRequest *req;
  g_auto(ActrId) id = {0};
  g_autofree char *type_text = NULL;
  g_autofree char *id_text = NULL;
  g_autofree char *turn_user = NULL;
  g_autofree char *turn_pass = NULL;
  g_autoptr(ActrCredential) credential = NULL;
  const ActrSigningKey *key;
  guint32 key_id = 0;
  guint8 pubkey[32];
  ActrdSecretCheck secret = ACTRD_SECRET_NOT_CONFIGURED;
  Actr__RegisterAuthMode mode;
  gint64 now = actrd_now();
  guint64 expires_at;
  GBytes *result = NULL;

  /* 1. Decode. */
  req = (Actr__RegisterRequest *)actr_proto_message_decode(&actr__register_request__descriptor,
                                                           body, len, &local);
  if (req == NULL) {
    register_fail(err, 400, "Invalid protobuf: %s", local->message);
    return NULL;
  }
  actr_type_from_pb(req->actr_type, &id.type);
  id.realm_id = req->realm->realm_id;
  type_text = actr_type_to_string(&id.type);
  *who = g_strdup_printf("realm %u type %s", id.realm_id, type_text);

  /* 2. Realm. */
  if (!actrd_db_realm_check(server->db, id.realm_id, &local)) {
    if (g_error_matches(local, ACTRD_ERROR, ACTRD_ERROR_REALM))
      register_fail(err, 403, "Realm validation failed: %s", local->message);
    else
      register_fail(err, 500, "internal error: realm lookup failed");
    goto out;
  }

  /* 3. Realm secret. */
  if (!actrd_db_realm_secret_check(server->db, id.realm_id, realm_secret, now, &secret, &local)) {
    register_fail(err, 500, "internal error: realm secret lookup failed");
    goto out;
  }
  if (secret == ACTRD_SECRET_MISSING_REQUIRED) {
    register_fail(err, 403, "Realm secret required");
    goto out;
  }
  if (secret == ACTRD_SECRET_INVALID) {
    register_fail(err, 403, "Invalid realm secret");
    goto out;
  }

  /* 4. Signing key. */
  key = actrd_keys_current(server->keys, &key_id, pubkey, NULL, &local);
  if (key == NULL) {
    register_fail(err, 500, "internal error: no signing key");
    goto out;
  }

  /* 5. Identity by auth mode.  The type must be a valid ActrType (the
   * reference only checks the version; invalid names would make an ActrId
   * text form nobody can parse). */
  mode = req->has_auth_mode ? req->auth_mode : ACTR__REGISTER_AUTH_MODE__UNSPECIFIED;
  if (id.type.version[0] == '\0') {
    register_fail(err, 400, "actr_type.version must not be empty");
    goto out;
  }
  if (!actr_type_validate(&id.type, &local)) {
    register_fail(err, 400, "invalid actr_type: %s", local->message);
    goto out;
  }
  if (mode == ACTR__REGISTER_AUTH_MODE__LINKED) {
    gboolean dev_open =
        server->config->dev && id.realm_id == 1 && secret == ACTRD_SECRET_NOT_CONFIGURED;

    if (req->has_manifest_raw || req->has_mfr_signature || req->has_psk_token) {
      register_fail(err, 400,
                    "LINKED registration must not carry manifest_raw, mfr_signature "
                    "or psk_token");
      goto out;
    }
    if (secret != ACTRD_SECRET_VALID_CURRENT && secret != ACTRD_SECRET_VALID_PREVIOUS &&
        !dev_open) {
      register_fail(err, 403,
                    "manufacturer not verified: LINKED registration needs a valid realm "
                    "secret (realm secret %s)",
                    secret_outcome_name(secret));
      goto out;
    }
  } else if (mode == ACTR__REGISTER_AUTH_MODE__PACKAGE ||
             mode == ACTR__REGISTER_AUTH_MODE__UNSPECIFIED) {
    if (!check_package(server, req, &id.type, type_text, err))
      goto out;
  } else {
    register_fail(err, 400, "unknown auth_mode %d", (int)mode);
    goto out;
  }

  /* 6. ActrId, credential, TURN credential. */
  id.serial_number = snowflake_next();
  id_text = actr_id_to_string(&id);
  expires_at = (guint64)now + server->config->token_ttl_secs;
  credential = actr_credential_issue(key, key_id, &id, expires_at, &local);
  if (credential == NULL) {
    register_fail(err, 500, "internal error: signing failed");
    goto out;
  }
  actr_turn_credential_make(server->config->turn_secret != NULL ? server->config->turn_secret : "",
                            expires_at, id_text, &turn_user, &turn_pass);

  /* 8 (before replying: a failure must not leave a half-registered node). */
  if (!apply_side_effects(server, req, &id, type_text, now, &local)) {
    g_warning("register %s: %s", *who, local->message);
    register_fail(err, 500, "internal error: storage failed");
    goto out;
  }

  /* 7. RegisterOk. */
  {
    Actr__RegisterResponse resp = ACTR__REGISTER_RESPONSE__INIT;
    Actr__RegisterResponse__RegisterOk ok = ACTR__REGISTER_RESPONSE__REGISTER_OK__INIT;
    Actr__AIdCredential cred = ACTR__AID_CREDENTIAL__INIT;
    Actr__TurnCredential turn = ACTR__TURN_CREDENTIAL__INIT;
    Google__Protobuf__Timestamp expiry = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ActrIdPb id_pb;
    gsize size = 0;

    actr_id_to_pb(&id, &id_pb);
    cred.key_id = credential->key_id;
    cred.claims.data = (guint8 *)g_bytes_get_data(credential->claims, &size);
    cred.claims.len = size;
    cred.signature.data = (guint8 *)g_bytes_get_data(credential->signature, &size);
    cred.signature.len = size;
    turn.username = turn_user;
    turn.password = turn_pass;
    turn.expires_at = expires_at;
    expiry.seconds = (gint64)expires_at;
    ok.actr_id = &id_pb.id;
    ok.credential = &cred;
    ok.turn_credential = &turn;
    ok.credential_expires_at = &expiry;
    ok.signaling_heartbeat_interval_secs = server->config->heartbeat_interval_secs;
    ok.signing_pubkey.data = pubkey;
    ok.signing_pubkey.len = sizeof pubkey;
    ok.signing_key_id = key_id;
    resp.result_case = ACTR__REGISTER_RESPONSE__RESULT_SUCCESS;
    resp.success = &ok;
    result = actr_proto_message_encode(&resp.base);
  }
  g_debug("registered %s (key %u)", id_text, key_id);

out:
  if (turn_pass != NULL)
    memset(turn_pass, 0, strlen(turn_pass));
  actr_proto_message_free(&req->base);
  return result;
}

GBytes *
actrd_ais_register(ActrdServer *server, const guint8 *body, gsize len, const char *realm_secret,
                   guint *code_out)
{
  gint64 start = g_get_monotonic_time();
  RegisterError err = {0, NULL};
  g_autofree char *who = NULL;
  GBytes *response;

  response = register_core(server, body, len, realm_secret, &err, &who);
  if (response == NULL) {
    g_message("register rejected (%s): %u %s", who != NULL ? who : "undecodable request", err.code,
              err.message);
    response = encode_error(err.code, err.message);
  }
  actrd_metrics_register_done(server->metrics, (g_get_monotonic_time() - start) / 1e6, err.code);
  if (code_out != NULL)
    *code_out = err.code;
  g_free(err.message);
  return response;
}

/* ---- HTTP ----------------------------------------------------------------- */

static void
respond_json(SoupServerMessage *msg, guint status, ActrJsonWriter *json)
{
  const char *text = actr_json_writer_get_text(json);

  soup_server_message_set_status(msg, status, NULL);
  soup_server_message_set_response(msg, JSON_TYPE, SOUP_MEMORY_COPY, text, strlen(text));
}

static void
respond_json_error(SoupServerMessage *msg, guint status, const char *message)
{
  g_autoptr(ActrJsonWriter) json = actr_json_writer_new();

  actr_json_begin_object(json);
  actr_json_member_string(json, "status", "error");
  actr_json_member_string(json, "message", message);
  actr_json_end_object(json);
  respond_json(msg, status, json);
}

static void
reject(SoupServerMessage *msg, guint status, const char *text)
{
  g_message("%s %s from %s: %u %s", soup_server_message_get_method(msg),
            g_uri_get_path(soup_server_message_get_uri(msg)), actrd_client_ip(msg), status, text);
  soup_server_message_set_status(msg, status, NULL);
  soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_COPY, text, strlen(text));
}

static gboolean
method_is(SoupServerMessage *msg, const char *method)
{
  return strcmp(soup_server_message_get_method(msg), method) == 0;
}

static void
handle_register(ActrdServer *server, SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body(msg);
  g_autoptr(GBytes) request = NULL;
  g_autoptr(GBytes) response = NULL;
  const char *secret;
  gsize size = 0;
  gconstpointer data;

  if (!method_is(msg, "POST")) {
    reject(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed\n");
    return;
  }
  if ((gsize)body->length > server->config->max_body_bytes) {
    reject(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "request body too large\n");
    return;
  }
  request = soup_message_body_flatten(body);
  secret = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                        REALM_SECRET_HEADER);
  response = actrd_ais_register(server, g_bytes_get_data(request, NULL), g_bytes_get_size(request),
                                secret, NULL);
  data = g_bytes_get_data(response, &size);
  soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response(msg, PROTOBUF_TYPE, SOUP_MEMORY_COPY, data, size);
}

static void
handle_health(ActrdServer *server, SoupServerMessage *msg)
{
  g_autoptr(ActrJsonWriter) json = actr_json_writer_new();
  gboolean db_ok = actrd_db_ping(server->db);
  guint32 key_id = 0;
  gint64 expires_at = 0;
  gboolean key_ok = actrd_keys_current(server->keys, &key_id, NULL, &expires_at, NULL) != NULL;
  gboolean healthy = db_ok && key_ok;

  actr_json_begin_object(json);
  actr_json_member_string(json, "service", "ais");
  actr_json_member_string(json, "version", ACTR_VERSION_STRING);
  actr_json_member_string(json, "status", healthy ? "healthy" : "degraded");
  actr_json_member_string(json, "database", db_ok ? "ok" : "failed");
  actr_json_member_string(json, "ks_service", key_ok ? "ok" : "failed");
  actr_json_key(json, "key_cache");
  actr_json_begin_object(json);
  actr_json_member_string(json, "status", key_ok ? "ok" : "failed");
  actr_json_member_uint(json, "key_id", key_id);
  actr_json_member_int(json, "expires_in", key_ok ? MAX(0, expires_at - actrd_now()) : 0);
  actr_json_end_object(json);
  actr_json_end_object(json);
  respond_json(msg, SOUP_STATUS_OK, json);
}

static void
handle_signing_pubkey(ActrdServer *server, SoupServerMessage *msg, GHashTable *query)
{
  g_autoptr(ActrJsonWriter) json = actr_json_writer_new();
  g_autoptr(GError) error = NULL;
  g_autofree char *b64 = NULL;
  guint8 pubkey[32];
  guint32 key_id = 0;
  const char *wanted = query != NULL ? g_hash_table_lookup(query, "key_id") : NULL;

  if (wanted != NULL) {
    /* Our addition: any key still in its tolerance window, by id. */
    guint64 id = 0;

    if (!g_ascii_string_to_unsigned(wanted, 10, 1, G_MAXUINT32, &id, NULL) ||
        !actrd_keys_lookup((guint32)id, pubkey, server->keys)) {
      respond_json_error(msg, SOUP_STATUS_NOT_FOUND, "unknown key_id");
      return;
    }
    key_id = (guint32)id;
  } else if (actrd_keys_current(server->keys, &key_id, pubkey, NULL, &error) == NULL) {
    respond_json_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "no signing key");
    return;
  }
  b64 = g_base64_encode(pubkey, sizeof pubkey);
  actr_json_begin_object(json);
  actr_json_member_string(json, "status", "success");
  actr_json_member_uint(json, "key_id", key_id);
  actr_json_member_string(json, "pubkey", b64);
  actr_json_end_object(json);
  respond_json(msg, SOUP_STATUS_OK, json);
}

static void
handle_current_key(ActrdServer *server, SoupServerMessage *msg)
{
  g_autoptr(ActrJsonWriter) json = actr_json_writer_new();
  guint32 key_id = actrd_keys_current_id(server->keys);

  actr_json_begin_object(json);
  actr_json_member_string(json, "status", key_id != 0 ? "success" : "error");
  actr_json_member_uint(json, "key_id", key_id);
  actr_json_end_object(json);
  respond_json(msg, SOUP_STATUS_OK, json);
}

static void
handle_rotate_key(ActrdServer *server, SoupServerMessage *msg)
{
  g_autoptr(ActrJsonWriter) json = actr_json_writer_new();
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  const char *token;
  guint32 new_id = 0;

  if (!method_is(msg, "POST")) {
    reject(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed\n");
    return;
  }
  token = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                       ADMIN_TOKEN_HEADER);
  if (token == NULL || server->admin_token == NULL ||
      !actr_secure_str_equal(token, server->admin_token)) {
    g_message("POST /ais/rotate-key from %s: 401 missing or wrong admin token",
              actrd_client_ip(msg));
    respond_json_error(msg, SOUP_STATUS_UNAUTHORIZED, "admin token required");
    return;
  }
  if (!actrd_keys_rotate(server->keys, &new_id, &error)) {
    g_warning("key rotation failed: %s", error->message);
    respond_json_error(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "key rotation failed");
    return;
  }
  message = g_strdup_printf("signing key rotated; key %u is current", new_id);
  actr_json_begin_object(json);
  actr_json_member_string(json, "status", "success");
  actr_json_member_string(json, "message", message);
  actr_json_member_uint(json, "new_key_id", new_id);
  actr_json_end_object(json);
  respond_json(msg, SOUP_STATUS_OK, json);
}

static void
ais_handler(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  ActrdServer *server = user_data;

  if (strcmp(path, "/ais/register") == 0) {
    handle_register(server, msg);
    return;
  }
  if (strcmp(path, "/ais/rotate-key") == 0) {
    handle_rotate_key(server, msg);
    return;
  }
  if (!method_is(msg, "GET") && !method_is(msg, "HEAD")) {
    reject(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed\n");
    return;
  }
  if (strcmp(path, "/ais/health") == 0)
    handle_health(server, msg);
  else if (strcmp(path, "/ais/signing-pubkey") == 0)
    handle_signing_pubkey(server, msg, query);
  else if (strcmp(path, "/ais/current-key") == 0)
    handle_current_key(server, msg);
  else
    reject(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
}

/* GET /mfr/{manufacturer}/verifying_key[?key_id=K] */
static void
mfr_handler(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  ActrdServer *server = user_data;
  g_autoptr(ActrJsonWriter) json = NULL;
  g_autoptr(ActrdMfrKey) key = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) parts = g_strsplit(path, "/", -1);
  g_autofree char *b64 = NULL;
  const char *key_id = query != NULL ? g_hash_table_lookup(query, "key_id") : NULL;

  /* "", "mfr", NAME, "verifying_key" */
  if (g_strv_length(parts) != 4 || strcmp(parts[3], "verifying_key") != 0 || parts[2][0] == '\0') {
    reject(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
    return;
  }
  if (!method_is(msg, "GET") && !method_is(msg, "HEAD")) {
    reject(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed\n");
    return;
  }
  if (!actrd_db_mfr_get(server->db, parts[2], key_id, &key, &error) || key->revoked) {
    gboolean missing = key != NULL || g_error_matches(error, ACTRD_ERROR, ACTRD_ERROR_NOT_FOUND);

    if (!missing)
      g_warning("%s", error->message);
    respond_json_error(msg, missing ? SOUP_STATUS_NOT_FOUND : SOUP_STATUS_INTERNAL_SERVER_ERROR,
                       missing ? "unknown manufacturer key" : "internal error");
    return;
  }
  json = actr_json_writer_new();
  b64 = g_base64_encode(key->public_key, sizeof key->public_key);
  actr_json_begin_object(json);
  actr_json_member_string(json, "public_key", b64);
  actr_json_member_string(json, "key_id", key->key_id);
  actr_json_end_object(json);
  respond_json(msg, SOUP_STATUS_OK, json);
}

/* Runs after the request headers, before the body is read: the rate limit
 * and the body size limit cost nothing for rejected requests. */
static void
ais_early_handler(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                  gpointer user_data)
{
  ActrdServer *server = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
  goffset length = soup_message_headers_get_content_length(headers);

  if (!actrd_ip_limiter_take(server->ais_limiter, actrd_client_ip(msg), g_get_monotonic_time())) {
    actrd_metrics_rate_limited(server->metrics, "ais");
    reject(msg, 429, "rate limit exceeded\n");
    return;
  }
  if (length > 0 && (guint64)length > server->config->max_body_bytes)
    reject(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "request body too large\n");
}

void
actrd_ais_add_handlers(ActrdServer *server)
{
  soup_server_add_early_handler(server->soup, "/ais", ais_early_handler, server, NULL);
  soup_server_add_handler(server->soup, "/ais", ais_handler, server, NULL);
  soup_server_add_handler(server->soup, "/mfr", mfr_handler, server, NULL);
}
