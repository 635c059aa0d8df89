/* Unit tests of the signaling envelope handling through detached sessions
 * (no network): a real ActrdDb and ActrdKeys in a temporary directory, and
 * sessions that capture what the server sends.  The socket-level behaviour
 * (upgrade checks, close codes, frame limits) is in test-signaling.c. */
#include "actrd-signaling.h"
#include "signaling-client.h"

#include <glib/gstdio.h>

#define DENY_REALM 2

typedef struct {
  char *dir;
  ActrdServer server;
  ActrdSignaling *sig;
} Env;

typedef struct {
  ActrId id;
  ActrCredential *cred;
  ActrdSignalingSession *session;
  GQueue out; /* GBytes* */
} Peer;

static void
capture(const guint8 *data, gsize len, gpointer user_data)
{
  Peer *p = user_data;
  g_queue_push_tail(&p->out, g_bytes_new(data, len));
}

static void
add_rule(ActrdDb *db, guint32 realm, gboolean any, guint32 src_realm, const char *from,
         const char *to, gboolean allow)
{
  ActrdAclRule rule = {0, realm, any, src_realm, (char *)from, (char *)to, allow};
  g_autoptr(GError) error = NULL;
  g_assert_true(actrd_db_acl_add(db, &rule, NULL, &error));
  g_assert_no_error(error);
}

static void
env_setup(Env *e, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  e->dir = g_dir_make_tmp("actrd-sig-XXXXXX", &error);
  g_assert_no_error(error);
  e->server.config = actrd_config_new();
  e->server.config->msg_burst = 1000; /* flood test sets its own */
  e->server.db = actrd_db_open(e->dir, &error);
  g_assert_no_error(error);
  e->server.keys = actrd_keys_new(e->server.db, 3600, 3600, 600, &error);
  g_assert_no_error(error);
  e->server.metrics = actrd_metrics_new();
  /* Realm 1: open to its own actors.  Realm 2: only the rules the tests
   * add.  Realm 3: open to every realm (an any_realm rule). */
  g_assert_true(actrd_db_realm_create(e->server.db, 1, "open", NULL, &error));
  g_assert_true(actrd_db_realm_create(e->server.db, DENY_REALM, "closed", NULL, &error));
  g_assert_true(actrd_db_realm_create(e->server.db, 3, "other", NULL, &error));
  add_rule(e->server.db, 1, FALSE, 1, "*", "*", TRUE);
  add_rule(e->server.db, 3, TRUE, 0, "*", "*", TRUE);
  e->sig = actrd_signaling_new(&e->server, &error);
  g_assert_no_error(error);
}

static void
env_teardown(Env *e, gconstpointer data)
{
  actrd_signaling_free(e->sig);
  while (g_main_context_iteration(NULL, FALSE))
    ;
  actrd_keys_free(e->server.keys);
  actrd_db_close(e->server.db);
  actrd_metrics_free(e->server.metrics);
  actrd_config_free(e->server.config);
  {
    g_autoptr(GDir) dir = g_dir_open(e->dir, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *path = g_build_filename(e->dir, name, NULL);
      g_unlink(path);
    }
  }
  g_rmdir(e->dir);
  g_free(e->dir);
}

static ActrCredential *
issue(Env *e, const ActrId *id, guint64 expires_at)
{
  g_autoptr(GError) error = NULL;
  guint32 key_id;
  guint8 pub[32];
  gint64 exp;
  const ActrSigningKey *key = actrd_keys_current(e->server.keys, &key_id, pub, &exp, &error);
  ActrCredential *cred;

  g_assert_no_error(error);
  cred = actr_credential_issue(key, key_id, id, expires_at, &error);
  g_assert_no_error(error);
  return cred;
}

static Peer *
peer_new(Env *e, guint32 realm, guint64 serial, const char *type, gboolean answer)
{
  Peer *p = g_new0(Peer, 1);

  p->id.realm_id = realm;
  p->id.serial_number = serial;
  g_assert_true(actr_type_parse(type, &p->id.type, NULL));
  p->cred = issue(e, &p->id, (guint64)(g_get_real_time() / G_USEC_PER_SEC + 600));
  g_queue_init(&p->out);
  p->session = actrd_signaling_session_new(e->sig, &p->id, answer, capture, p);
  return p;
}

static void
peer_free(Peer *p)
{
  actrd_signaling_session_free(p->session);
  actr_credential_free(p->cred);
  actr_id_clear(&p->id);
  g_queue_clear_full(&p->out, (GDestroyNotify)g_bytes_unref);
  g_free(p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Peer, peer_free)

/* Feeds @frame (consumed) and returns the next envelope sent to @p, or
 * NULL if nothing was sent. */
static Signaling__SignalingEnvelope *
take(Peer *p)
{
  g_autoptr(GBytes) bytes = g_queue_pop_head(&p->out);
  return bytes ? sig_decode(bytes) : NULL;
}

static Signaling__SignalingEnvelope *
request(Peer *p, GBytes *frame)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(frame, &len);
  actrd_signaling_session_feed(p->session, data, len);
  g_bytes_unref(frame);
  return take(p);
}

static void
feed(Peer *p, GBytes *frame)
{
  gsize len;
  const guint8 *data = g_bytes_get_data(frame, &len);
  actrd_signaling_session_feed(p->session, data, len);
  g_bytes_unref(frame);
}

static GArray *
candidates(Peer *p, const char *type,
           const Actr__RouteCandidatesRequest__NodeSelectionCriteria *criteria, const char *fp)
{
  g_auto(ActrType) t = {0};
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;

  g_assert_true(actr_type_parse(type, &t, NULL));
  env = request(p, sig_route_candidates(&p->id, p->cred, "rc", &t, criteria, fp));
  g_assert_nonnull(env);
  g_assert_cmpstr(env->reply_for, ==, "rc");
  return sig_candidate_serials(env);
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_ping_pong(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = peer_new(e, 1, 0x10, "acme:echo:1.0.0", FALSE);
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;
  ActrdRegistryEntry *entry;
  gint64 now = g_get_real_time() / G_USEC_PER_SEC;

  entry = actrd_registry_lookup(actrd_signaling_get_registry(e->sig), 1, 0x10);
  g_assert_nonnull(entry);
  g_assert_false(entry->has_load);
  g_assert_cmpint(entry->availability, ==, ACTRD_STATE_UNKNOWN);

  env = request(a, sig_ping(&a->id, a->cred, "env-1", 1, 3.5f, 0.25f));
  g_assert_nonnull(env);
  g_assert_cmpuint(env->envelope_version, ==, 1);
  g_assert_cmpstr(env->reply_for, ==, "env-1");
  g_assert_cmpuint(strlen(env->envelope_id), ==, 36);
  g_assert_cmpint(env->timestamp->seconds, >=, now - 1);
  g_assert_cmpint(env->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR);
  g_assert_cmpint(env->server_to_actr->payload_case, ==,
                  SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_PONG);
  g_assert_cmpuint(env->server_to_actr->target->serial_number, ==, 0x10);
  g_assert_cmpint(env->server_to_actr->pong->seq, >=, now - 1);
  g_assert_true(env->server_to_actr->pong->has_suggest_interval_secs);
  g_assert_cmpuint(env->server_to_actr->pong->suggest_interval_secs, ==,
                   e->server.config->heartbeat_interval_secs);
  g_assert_null(env->server_to_actr->pong->credential_warning);

  entry = actrd_registry_lookup(actrd_signaling_get_registry(e->sig), 1, 0x10);
  g_assert_true(entry->has_load);
  g_assert_cmpint(entry->availability, ==, 1);
  g_assert_cmpfloat(entry->power_reserve, ==, 3.5f);
  g_assert_cmpuint(actrd_signaling_connection_count(e->sig), ==, 1);
}

static void
test_bad_credential(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = peer_new(e, 1, 0x10, "acme:echo:1.0.0", FALSE);
  g_autoptr(Peer) b = peer_new(e, 1, 0x11, "acme:echo:1.0.0", FALSE);
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env2 = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env3 = NULL;
  g_autoptr(ActrCredential) expired = issue(e, &a->id, 1000);
  g_autoptr(ActrCredential) forged = actr_credential_copy(a->cred);
  guint8 sig[64];

  /* Expired → 401. */
  env = request(a, sig_ping(&a->id, expired, "p1", 0, 1, 0));
  g_assert_cmpuint(sig_error_code(env), ==, 401);
  g_assert_true(
      g_str_has_prefix(env->server_to_actr->error->message, "Credential validation failed: "));
  g_assert_cmpstr(env->reply_for, ==, "p1");
  /* Bad signature → 401. */
  memcpy(sig, g_bytes_get_data(forged->signature, NULL), 64);
  sig[5] ^= 1;
  g_bytes_unref(forged->signature);
  forged->signature = g_bytes_new(sig, 64);
  env2 = request(a, sig_ping(&a->id, forged, "p2", 0, 1, 0));
  g_assert_cmpuint(sig_error_code(env2), ==, 401);
  /* Someone else's credential → 401. */
  env3 = request(a, sig_ping(&a->id, b->cred, "p3", 0, 1, 0));
  g_assert_cmpuint(sig_error_code(env3), ==, 401);
}

static void
test_bad_realm(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = peer_new(e, 1, 0x10, "acme:echo:1.0.0", FALSE);
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;
  g_auto(ActrId) other = {0};

  actr_id_copy(&a->id, &other);
  other.realm_id = 77;
  env = request(a, sig_ping(&other, a->cred, "p", 0, 1, 0));
  g_assert_cmpuint(sig_error_code(env), ==, 403);
  g_assert_true(g_str_has_prefix(env->server_to_actr->error->message, "Realm validation failed: "));
}

static void
test_empty_payloads_ignored(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = peer_new(e, 1, 0x10, "acme:echo:1.0.0", FALSE);
  Signaling__ActrToSignaling ats = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  Signaling__PeerToSignaling p = SIGNALING__PEER_TO_SIGNALING__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  g_autoptr(Signaling__SignalingEnvelope) pong = NULL;

  g_assert_null(request(a, sig_wrap_actr_to_server(&ats, &a->id, a->cred, "x")));
  env.envelope_id = (char *)"y";
  env.timestamp = &ts;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_PEER_TO_SERVER;
  env.peer_to_server = &p;
  g_assert_null(request(a, actr_signaling_envelope_encode(&env)));
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW__NOT_SET;
  g_assert_null(request(a, actr_signaling_envelope_encode(&env)));
  pong = request(a, sig_ping(&a->id, a->cred, "p", 0, 1, 0));
  g_assert_nonnull(pong);
}

static void
test_legacy_and_credential_update(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = peer_new(e, 1, 0x10, "acme:echo:1.0.0", FALSE);
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env2 = NULL;
  Signaling__ActrToSignaling ats = SIGNALING__ACTR_TO_SIGNALING__INIT;
  Actr__CredentialUpdateRequest cu = ACTR__CREDENTIAL_UPDATE_REQUEST__INIT;
  const Actr__RegisterResponse *resp;

  env = request(a, sig_legacy_register("legacy"));
  g_assert_nonnull(env);
  g_assert_cmpstr(env->reply_for, ==, "legacy");
  g_assert_cmpint(env->server_to_actr->payload_case, ==,
                  SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_REGISTER_RESPONSE);
  resp = env->server_to_actr->register_response;
  g_assert_cmpint(resp->result_case, ==, ACTR__REGISTER_RESPONSE__RESULT_ERROR);
  g_assert_cmpuint(resp->error->code, ==, 410);
  g_assert_cmpuint(env->server_to_actr->target->serial_number, ==, 0);
  g_assert_cmpstr(env->server_to_actr->target->type->manufacturer, ==, "temp");

  ats.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_CREDENTIAL_UPDATE_REQUEST;
  ats.credential_update_request = &cu;
  env2 = request(a, sig_wrap_actr_to_server(&ats, &a->id, a->cred, "cu"));
  g_assert_cmpuint(sig_error_code(env2), ==, 410);
}

static void
test_signing_key(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = peer_new(e, 1, 0x10, "acme:echo:1.0.0", FALSE);
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env2 = NULL;
  guint8 pub[32];

  g_assert_true(actrd_keys_lookup(a->cred->key_id, pub, e->server.keys));
  env = request(a, sig_get_signing_key(&a->id, a->cred, "k1", a->cred->key_id));
  g_assert_cmpint(env->server_to_actr->payload_case, ==,
                  SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_GET_SIGNING_KEY_RESPONSE);
  g_assert_cmpuint(env->server_to_actr->get_signing_key_response->key_id, ==, a->cred->key_id);
  g_assert_cmpmem(env->server_to_actr->get_signing_key_response->pubkey.data,
                  env->server_to_actr->get_signing_key_response->pubkey.len, pub, 32);

  env2 = request(a, sig_get_signing_key(&a->id, a->cred, "k2", 9999));
  g_assert_cmpuint(sig_error_code(env2), ==, 404);
  g_assert_cmpstr(env2->server_to_actr->error->message, ==, "signing key not found: key_id=9999");
}

static void
put_pending(Env *e, guint32 realm, guint64 serial, const char *name, const char *fp,
            const char *ws_address)
{
  Actr__ServiceSpec spec = ACTR__SERVICE_SPEC__INIT;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  char *tags[] = {(char *)"t1", (char *)"t2"};

  spec.name = (char *)name;
  spec.fingerprint = (char *)fp;
  spec.description = (char *)"a test service";
  spec.has_published_at = TRUE;
  spec.published_at = 1700000000;
  spec.n_tags = 2;
  spec.tags = tags;
  bytes = actr_proto_message_encode(&spec.base);
  g_assert_true(actrd_db_pending_put(e->server.db, realm, serial, bytes, ws_address,
                                     g_get_real_time() / G_USEC_PER_SEC, &error));
  g_assert_no_error(error);
}

static void
test_service_spec(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env2 = NULL;
  const Actr__GetServiceSpecResponse *resp;

  put_pending(e, 1, 0x10, "EchoService", "sha256:1", "ws://10.0.0.1:9000");
  a = peer_new(e, 1, 0x10, "acme:echo:1.0.0", FALSE);
  env = request(a, sig_get_service_spec(&a->id, a->cred, "s1", "EchoService"));
  resp = env->server_to_actr->get_service_spec_response;
  g_assert_cmpint(resp->result_case, ==, ACTR__GET_SERVICE_SPEC_RESPONSE__RESULT_SUCCESS);
  g_assert_cmpstr(resp->success->fingerprint, ==, "sha256:1");
  g_assert_cmpuint(resp->success->n_tags, ==, 2);

  env2 = request(a, sig_get_service_spec(&a->id, a->cred, "s2", "Nope"));
  resp = env2->server_to_actr->get_service_spec_response;
  g_assert_cmpint(resp->result_case, ==, ACTR__GET_SERVICE_SPEC_RESPONSE__RESULT_ERROR);
  g_assert_cmpuint(resp->error->code, ==, 404);
  g_assert_cmpuint(sig_error_code(env2), ==, 0); /* inside the typed response */
}

static void
test_discovery(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = NULL;
  g_autoptr(Peer) b = peer_new(e, 1, 0x11, "acme:echo:1.0.0", FALSE); /* same type: one entry */
  g_autoptr(Peer) c = peer_new(e, 1, 0x12, "other:thing:2.0", FALSE);
  g_autoptr(Peer) x = peer_new(e, DENY_REALM, 0x13, "acme:hidden:1.0", FALSE); /* other realm */
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env2 = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env3 = NULL;
  const Actr__DiscoveryResponse__DiscoveryOk *ok;
  gboolean saw_echo = FALSE;

  put_pending(e, 1, 0x10, "EchoService", "sha256:1", NULL);
  a = peer_new(e, 1, 0x10, "acme:echo:1.0.0", FALSE);
  env = request(a, sig_discovery(&a->id, a->cred, "d1", NULL, 0));
  ok = env->server_to_actr->discovery_response->success;
  g_assert_nonnull(ok);
  /* b (echo, first registered) wins the echo entry; c; the realm-3 actor
   * is hidden: no cross-realm rule. */
  g_assert_cmpuint(ok->n_entries, ==, 2);
  for (gsize i = 0; i < ok->n_entries; i++) {
    if (g_strcmp0(ok->entries[i]->actr_type->name, "echo") == 0) {
      saw_echo = TRUE;
      g_assert_cmpstr(ok->entries[i]->name, ==, "acme:echo");
      g_assert_cmpstr(ok->entries[i]->service_fingerprint, ==, "unknown");
    }
  }
  g_assert_true(saw_echo);

  env2 = request(a, sig_discovery(&a->id, a->cred, "d2", "other", 0));
  g_assert_cmpuint(env2->server_to_actr->discovery_response->success->n_entries, ==, 1);
  env3 = request(a, sig_discovery(&a->id, a->cred, "d3", NULL, 1));
  g_assert_cmpuint(env3->server_to_actr->discovery_response->success->n_entries, ==, 1);
  (void)b;
  (void)c;
  (void)x;
}

static guint
discover_count(Peer *p)
{
  g_autoptr(Signaling__SignalingEnvelope) env =
      request(p, sig_discovery(&p->id, p->cred, "d", NULL, 0));
  g_assert_nonnull(env->server_to_actr->discovery_response->success);
  return (guint)env->server_to_actr->discovery_response->success->n_entries;
}

static void
test_discovery_acl(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = peer_new(e, DENY_REALM, 0x10, "acme:client:1", FALSE);
  g_autoptr(Peer) s = peer_new(e, DENY_REALM, 0x11, "acme:server:1", FALSE);
  g_autoptr(Peer) x = peer_new(e, 1, 0x20, "acme:client:1", FALSE);

  /* Default deny. */
  g_assert_cmpuint(discover_count(a), ==, 0);
  /* Same-realm allow. */
  add_rule(e->server.db, DENY_REALM, FALSE, DENY_REALM, "acme:client:1", "acme:server:1", TRUE);
  g_assert_cmpuint(discover_count(a), ==, 1);
  /* Cross realm: x (realm 1) sees only itself until realm 2 admits realm 1. */
  g_assert_cmpuint(discover_count(x), ==, 1);
  add_rule(e->server.db, DENY_REALM, FALSE, 1, "acme:client:1", "acme:server:1", TRUE);
  g_assert_cmpuint(discover_count(x), ==, 2);
  /* any_realm rules match (the reference's NULL quirk is fixed). */
  {
    g_autoptr(Peer) o = peer_new(e, 3, 0x30, "acme:open:1", FALSE);
    g_assert_nonnull(o);
    g_assert_cmpuint(discover_count(x), ==, 3);
    g_assert_cmpuint(discover_count(a), ==, 2);
  }
  /* The newest rule wins: a later deny hides realm 2's server again. */
  add_rule(e->server.db, DENY_REALM, FALSE, 1, "acme:client:1", "acme:server:1", FALSE);
  g_assert_cmpuint(discover_count(x), ==, 1);
  (void)s;
}

static void
test_route_candidates(Env *e, gconstpointer data)
{
  g_autoptr(Peer) c = peer_new(e, 1, 0x1, "acme:client:1", FALSE);
  g_autoptr(Peer) s1 = NULL;
  g_autoptr(Peer) s2 = NULL;
  g_autoptr(Peer) s3 = peer_new(e, 1, 0x13, "acme:echo:1.0.0", FALSE);
  g_autoptr(Peer) v2 = peer_new(e, 1, 0x14, "acme:echo:2.0.0", FALSE);
  Actr__RouteCandidatesRequest__NodeSelectionCriteria crit =
      ACTR__ROUTE_CANDIDATES_REQUEST__NODE_SELECTION_CRITERIA__INIT;
  int power[] = {0};
  int exact[] = {2};
  GArray *got;

  put_pending(e, 1, 0x11, "Echo", "fp-a", "ws://a");
  put_pending(e, 1, 0x12, "Echo", "fp-b", NULL);
  s1 = peer_new(e, 1, 0x11, "acme:echo:1.0.0", FALSE);
  s2 = peer_new(e, 1, 0x12, "acme:echo:1.0.0", FALSE);
  g_bytes_unref(g_queue_pop_head(&s1->out)); /* nothing queued really */

  /* No criteria: registry order, all of them, exact version only. */
  got = candidates(c, "acme:echo:1.0.0", NULL, "");
  g_assert_cmpuint(got->len, ==, 3);
  g_assert_cmpuint(g_array_index(got, guint64, 0), ==, 0x13);
  g_assert_cmpuint(g_array_index(got, guint64, 1), ==, 0x11);
  g_array_unref(got);

  /* Power reserve from heartbeats. */
  g_autoptr(Signaling__SignalingEnvelope) p1 =
      request(s1, sig_ping(&s1->id, s1->cred, "h", 0, 2.0f, 0));
  g_autoptr(Signaling__SignalingEnvelope) p2 =
      request(s2, sig_ping(&s2->id, s2->cred, "h", 0, 4.0f, 0));
  g_assert_nonnull(p1);
  g_assert_nonnull(p2);
  crit.candidate_count = 2;
  crit.n_ranking_factors = 1;
  crit.ranking_factors = (void *)power;
  got = candidates(c, "acme:echo:1.0.0", &crit, "");
  g_assert_cmpuint(got->len, ==, 2);
  g_assert_cmpuint(g_array_index(got, guint64, 0), ==, 0x12);
  g_assert_cmpuint(g_array_index(got, guint64, 1), ==, 0x11);
  g_array_unref(got);

  /* Exact fingerprint first, limit 1 (the node's request shape). */
  crit.candidate_count = 1;
  crit.ranking_factors = (void *)exact;
  got = candidates(c, "acme:echo:1.0.0", &crit, "fp-a");
  g_assert_cmpuint(got->len, ==, 1);
  g_assert_cmpuint(g_array_index(got, guint64, 0), ==, 0x11);
  g_array_unref(got);

  /* Unregistered: removed, socket kept. */
  g_autoptr(Signaling__SignalingEnvelope) u = request(s1, sig_unregister(&s1->id, s1->cred, "u"));
  g_assert_cmpint(u->server_to_actr->unregister_response->result_case, ==,
                  ACTR__UNREGISTER_RESPONSE__RESULT_SUCCESS);
  got = candidates(c, "acme:echo:1.0.0", NULL, "");
  g_assert_cmpuint(got->len, ==, 2);
  g_array_unref(got);
  g_autoptr(Signaling__SignalingEnvelope) p3 =
      request(s1, sig_ping(&s1->id, s1->cred, "h", 0, 2.0f, 0));
  g_assert_nonnull(p3);

  /* Disconnected: removed. */
  g_clear_pointer(&s3, peer_free);
  got = candidates(c, "acme:echo:1.0.0", NULL, "");
  g_assert_cmpuint(got->len, ==, 1);
  g_assert_cmpuint(g_array_index(got, guint64, 0), ==, 0x12);
  g_array_unref(got);
  (void)v2;
}

static void
test_route_candidates_acl(Env *e, gconstpointer data)
{
  g_autoptr(Peer) c = peer_new(e, DENY_REALM, 0x1, "acme:client:1", FALSE);
  g_autoptr(Peer) s = peer_new(e, DENY_REALM, 0x2, "acme:echo:1", FALSE);
  g_autoptr(Peer) x = peer_new(e, 1, 0x3, "acme:client:1", FALSE);
  GArray *got;

  got = candidates(c, "acme:echo:1", NULL, "");
  g_assert_cmpuint(got->len, ==, 0);
  g_array_unref(got);
  add_rule(e->server.db, DENY_REALM, FALSE, DENY_REALM, "acme:client:1", "acme:echo:1", TRUE);
  got = candidates(c, "acme:echo:1", NULL, "");
  g_assert_cmpuint(got->len, ==, 1);
  g_array_unref(got);
  /* Cross realm isolated until a realm-specific rule allows it. */
  got = candidates(x, "acme:echo:1", NULL, "");
  g_assert_cmpuint(got->len, ==, 0);
  g_array_unref(got);
  add_rule(e->server.db, DENY_REALM, FALSE, 1, "acme:client:1", "acme:echo:1", TRUE);
  got = candidates(x, "acme:echo:1", NULL, "");
  g_assert_cmpuint(got->len, ==, 1);
  g_array_unref(got);
  (void)s;
}

static void
assert_role(Peer *p, gboolean offerer, guint64 source, guint64 target)
{
  g_autoptr(Signaling__SignalingEnvelope) env = take(p);

  g_assert_nonnull(env);
  g_assert_null(env->reply_for);
  g_assert_cmpint(env->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY);
  g_assert_cmpint(env->actr_relay->payload_case, ==,
                  SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_ASSIGNMENT);
  g_assert_cmpint(env->actr_relay->role_assignment->is_offerer, ==, offerer);
  g_assert_false(env->actr_relay->role_assignment->has_remote_fixed);
  g_assert_cmpuint(env->actr_relay->source->serial_number, ==, source);
  g_assert_cmpuint(env->actr_relay->target->serial_number, ==, target);
}

static void
test_relay_role(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = peer_new(e, 1, 0x10, "acme:echo:1.0.0", FALSE);
  g_autoptr(Peer) b = peer_new(e, 1, 0x20, "acme:echo:1.0.0", FALSE);
  g_autoptr(Peer) ans = peer_new(e, 1, 0x05, "acme:echo:1.0.0", TRUE);

  /* a → b: b has the larger serial, so b offers. */
  feed(a, sig_role_negotiation(&a->id, a->cred, &b->id, "rn1"));
  assert_role(a, FALSE, 0x10, 0x20);
  assert_role(b, TRUE, 0x10, 0x20);
  g_assert_null(take(a));
  g_assert_null(take(b));

  /* b → ans: ans asked to answer, so b offers although ans is smaller. */
  feed(b, sig_role_negotiation(&b->id, b->cred, &ans->id, "rn3"));
  assert_role(b, TRUE, 0x20, 0x05);
  assert_role(ans, FALSE, 0x20, 0x05);
}

static void
test_relay_forward(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = peer_new(e, 1, 0x10, "acme:echo:1.0.0", FALSE);
  g_autoptr(Peer) b = peer_new(e, 1, 0x20, "acme:other:1.0.0", FALSE);
  g_autoptr(GBytes) frame = sig_ice_candidate(&a->id, a->cred, &b->id, "ice1", "candidate:1 1 udp");
  g_autoptr(Signaling__SignalingEnvelope) sent = sig_decode(frame);
  g_autoptr(Signaling__SignalingEnvelope) got = NULL;
  g_autoptr(GBytes) sent_relay = NULL;
  g_autoptr(GBytes) got_relay = NULL;
  g_auto(ActrId) absent = {0};
  g_autoptr(Signaling__SignalingEnvelope) pong = NULL;

  feed(a, g_bytes_ref(frame));
  got = take(b);
  g_assert_nonnull(got);
  g_assert_cmpint(got->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY);
  g_assert_null(got->reply_for);
  g_assert_cmpstr(got->envelope_id, !=, "ice1");
  sent_relay = actr_proto_message_encode(&sent->actr_relay->base);
  got_relay = actr_proto_message_encode(&got->actr_relay->base);
  g_assert_true(g_bytes_equal(sent_relay, got_relay));
  g_assert_null(take(a));

  /* Absent target: dropped silently, the source stays usable. */
  actr_id_copy(&b->id, &absent);
  absent.serial_number = 0x999;
  g_assert_null(request(a, sig_ice_candidate(&a->id, a->cred, &absent, "ice2", "candidate:2")));
  pong = request(a, sig_ping(&a->id, a->cred, "p", 0, 1, 0));
  g_assert_nonnull(pong);
}

static void
test_relay_denied(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = peer_new(e, DENY_REALM, 0x10, "acme:client:1", FALSE);
  g_autoptr(Peer) b = peer_new(e, DENY_REALM, 0x20, "acme:server:1", FALSE);
  g_autoptr(Peer) c = peer_new(e, 1, 0x30, "acme:client:1", FALSE);
  g_autoptr(Signaling__SignalingEnvelope) env = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env2 = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env3 = NULL;
  g_autoptr(Signaling__SignalingEnvelope) env4 = NULL;
  g_autoptr(ActrCredential) expired = issue(e, &a->id, 1000);

  /* ACL deny in the same realm. */
  env = request(a, sig_ice_candidate(&a->id, a->cred, &b->id, "r1", "candidate:x"));
  g_assert_cmpuint(sig_error_code(env), ==, 403);
  g_assert_true(g_str_has_prefix(env->server_to_actr->error->message, "ACL policy denies relay"));
  g_assert_null(take(b));
  /* Cross realm denied. */
  env2 = request(c, sig_ice_candidate(&c->id, c->cred, &b->id, "r2", "candidate:x"));
  g_assert_cmpuint(sig_error_code(env2), ==, 403);

  add_rule(e->server.db, DENY_REALM, FALSE, DENY_REALM, "acme:client:1", "acme:server:1", TRUE);
  /* Invalid credential → 401. */
  env3 = request(a, sig_ice_candidate(&a->id, expired, &b->id, "r3", "candidate:x"));
  g_assert_cmpuint(sig_error_code(env3), ==, 401);
  /* Credential of someone else (same realm) → 403 source identity mismatch. */
  {
    g_autoptr(Peer) d = peer_new(e, DENY_REALM, 0x40, "acme:client:1", FALSE);
    env4 = request(a, sig_ice_candidate(&a->id, d->cred, &b->id, "r4", "candidate:x"));
    g_assert_cmpuint(sig_error_code(env4), ==, 403);
    g_assert_true(
        g_str_has_prefix(env4->server_to_actr->error->message, "Source identity mismatch"));
  }
  /* Relay on behalf of another connected actor: silently dropped. */
  {
    g_autoptr(Peer) d = peer_new(e, DENY_REALM, 0x41, "acme:client:1", FALSE);
    g_assert_null(request(a, sig_ice_candidate(&d->id, d->cred, &b->id, "r5", "candidate:x")));
    g_assert_null(take(b));
  }
  /* Allowed now. */
  feed(a, sig_ice_candidate(&a->id, a->cred, &b->id, "r6", "candidate:x"));
  {
    g_autoptr(Signaling__SignalingEnvelope) got = take(b);
    g_assert_nonnull(got);
  }
}

static void
test_presence(Env *e, gconstpointer data)
{
  g_autoptr(Peer) w = peer_new(e, 1, 0x1, "acme:watcher:1", FALSE);
  g_autoptr(Peer) d = peer_new(e, DENY_REALM, 0x2, "acme:watcher:1", FALSE);
  g_auto(ActrType) t = {0};
  g_autoptr(Signaling__SignalingEnvelope) ok = NULL;
  g_autoptr(Signaling__SignalingEnvelope) ok2 = NULL;
  g_autoptr(Signaling__SignalingEnvelope) ok3 = NULL;
  g_autoptr(Signaling__SignalingEnvelope) up = NULL;

  g_assert_true(actr_type_parse("acme:echo:1", &t, NULL));
  ok = request(w, sig_subscribe(&w->id, w->cred, "s", &t, TRUE));
  g_assert_cmpint(ok->server_to_actr->payload_case, ==,
                  SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_SUBSCRIBE_ACTR_UP_RESPONSE);
  g_autoptr(Signaling__SignalingEnvelope) again =
      request(w, sig_subscribe(&w->id, w->cred, "s2", &t, TRUE));
  g_assert_nonnull(again);
  /* d subscribes too, but the ACL of realm 1 does not admit realm 2. */
  g_autoptr(Signaling__SignalingEnvelope) dok =
      request(d, sig_subscribe(&d->id, d->cred, "s", &t, TRUE));
  g_assert_nonnull(dok);
  {
    g_autoptr(Peer) s = peer_new(e, 1, 0x10, "acme:echo:1", FALSE);
    g_assert_nonnull(s);
    up = take(w);
    g_assert_nonnull(up);
    g_assert_null(up->reply_for);
    g_assert_cmpint(up->server_to_actr->payload_case, ==,
                    SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ACTR_UP_EVENT);
    g_assert_cmpuint(up->server_to_actr->actr_up_event->actor_id->serial_number, ==, 0x10);
    g_assert_cmpuint(up->server_to_actr->target->serial_number, ==, 0x1);
    g_assert_null(take(w)); /* idempotent: one event */
    g_assert_null(take(d));
  }
  ok2 = request(w, sig_subscribe(&w->id, w->cred, "u", &t, FALSE));
  g_assert_cmpint(ok2->server_to_actr->payload_case, ==,
                  SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_UNSUBSCRIBE_ACTR_UP_RESPONSE);
  ok3 = request(w, sig_subscribe(&w->id, w->cred, "u2", &t, FALSE)); /* not subscribed: ok */
  g_assert_nonnull(ok3);
  {
    g_autoptr(Peer) s = peer_new(e, 1, 0x11, "acme:echo:1", FALSE);
    g_assert_nonnull(s);
    g_assert_null(take(w));
  }
}

static void
test_presence_cap(Env *e, gconstpointer data)
{
  g_autoptr(Peer) w = peer_new(e, 1, 0x1, "acme:watcher:1", FALSE);
  guint ok = 0, refused = 0;

  for (guint i = 0; i < 260; i++) {
    g_auto(ActrType) t = {0};
    g_autofree char *text = g_strdup_printf("acme:t%u:1", i);
    g_autoptr(Signaling__SignalingEnvelope) env = NULL;
    g_assert_true(actr_type_parse(text, &t, NULL));
    env = request(w, sig_subscribe(&w->id, w->cred, "s", &t, TRUE));
    if (env->server_to_actr->subscribe_actr_up_response->result_case ==
        ACTR__SUBSCRIBE_ACTR_UP_RESPONSE__RESULT_SUCCESS)
      ok++;
    else
      refused++;
  }
  g_assert_cmpuint(ok, ==, 256);
  g_assert_cmpuint(refused, ==, 4);
  /* Unsubscribing frees a slot. */
  {
    g_auto(ActrType) t = {0};
    g_autoptr(Signaling__SignalingEnvelope) u = NULL;
    g_autoptr(Signaling__SignalingEnvelope) again = NULL;
    g_assert_true(actr_type_parse("acme:t0:1", &t, NULL));
    u = request(w, sig_subscribe(&w->id, w->cred, "u", &t, FALSE));
    actr_type_clear(&t);
    g_assert_true(actr_type_parse("acme:t300:1", &t, NULL));
    again = request(w, sig_subscribe(&w->id, w->cred, "s", &t, TRUE));
    g_assert_cmpint(again->server_to_actr->subscribe_actr_up_response->result_case, ==,
                    ACTR__SUBSCRIBE_ACTR_UP_RESPONSE__RESULT_SUCCESS);
  }
}

static void
test_displace(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = NULL;
  g_autoptr(Peer) a2 = NULL;
  g_autoptr(Peer) c = peer_new(e, 1, 0x1, "acme:client:1", FALSE);
  GArray *got;
  ActrdRegistryEntry *entry;

  put_pending(e, 1, 0x10, "Echo", "fp", "ws://x");
  a = peer_new(e, 1, 0x10, "acme:echo:1", FALSE);
  a2 = peer_new(e, 1, 0x10, "acme:echo:1", FALSE);
  g_assert_false(actrd_signaling_session_feed(a->session, (const guint8 *)"", 0));
  g_assert_cmpuint(actrd_signaling_connection_count(e->sig), ==, 2);
  /* The new connection keeps the registration (spec carried over). */
  entry = actrd_registry_lookup(actrd_signaling_get_registry(e->sig), 1, 0x10);
  g_assert_nonnull(entry);
  g_assert_nonnull(entry->spec);
  g_assert_cmpstr(entry->ws_address, ==, "ws://x");
  /* Freeing the displaced session does not remove the actor. */
  g_clear_pointer(&a, peer_free);
  got = candidates(c, "acme:echo:1", NULL, "");
  g_assert_cmpuint(got->len, ==, 1);
  g_array_unref(got);
  /* Disconnect and reconnect: the spec comes back. */
  g_clear_pointer(&a2, peer_free);
  g_assert_null(actrd_registry_lookup(actrd_signaling_get_registry(e->sig), 1, 0x10));
  a = peer_new(e, 1, 0x10, "acme:echo:1", FALSE);
  entry = actrd_registry_lookup(actrd_signaling_get_registry(e->sig), 1, 0x10);
  g_assert_nonnull(entry->spec);
  g_assert_cmpstr(entry->spec->fingerprint, ==, "fp");
}

static void
test_malformed(Env *e, gconstpointer data)
{
  g_autoptr(Peer) c = peer_new(e, 1, 0x1, "acme:client:1", FALSE);
  g_autoptr(Peer) a = peer_new(e, 1, 0x10, "acme:echo:1", FALSE);
  const guint8 junk[] = {0x0a, 0xff, 0xff, 0xff};
  GArray *got;

  g_assert_false(actrd_signaling_session_feed(a->session, junk, sizeof junk));
  g_assert_null(take(a));
  g_assert_false(actrd_signaling_session_feed(a->session, junk, sizeof junk));
  got = candidates(c, "acme:echo:1", NULL, "");
  g_assert_cmpuint(got->len, ==, 0);
  g_array_unref(got);
  g_assert_cmpuint(actrd_signaling_connection_count(e->sig), ==, 1);
}

static void
test_flood(Env *e, gconstpointer data)
{
  g_autoptr(Peer) a = NULL;
  guint pongs = 0, limited = 0;

  e->server.config->msg_rate_per_sec = 10;
  e->server.config->msg_burst = 50;
  a = peer_new(e, 1, 0x10, "acme:echo:1", FALSE);
  for (int i = 0; i < 80; i++)
    feed(a, sig_ping(&a->id, a->cred, "p", 0, 1, 0));
  for (;;) {
    g_autoptr(Signaling__SignalingEnvelope) env = take(a);
    if (env == NULL)
      break;
    if (env->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_ENVELOPE_ERROR) {
      g_assert_cmpuint(env->envelope_error->code, ==, 429);
      g_assert_null(env->reply_for);
      limited++;
    } else {
      pongs++;
    }
  }
  g_assert_cmpuint(pongs, >=, 50);
  g_assert_cmpuint(pongs, <, 60);
  g_assert_cmpuint(limited, ==, 80 - pongs);
}

#define SIG_TEST(path, fn) g_test_add(path, Env, NULL, env_setup, fn, env_teardown)

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  SIG_TEST("/signaling-session/ping-pong", test_ping_pong);
  SIG_TEST("/signaling-session/bad-credential", test_bad_credential);
  SIG_TEST("/signaling-session/bad-realm", test_bad_realm);
  SIG_TEST("/signaling-session/empty-payloads", test_empty_payloads_ignored);
  SIG_TEST("/signaling-session/legacy-register-410", test_legacy_and_credential_update);
  SIG_TEST("/signaling-session/signing-key", test_signing_key);
  SIG_TEST("/signaling-session/service-spec", test_service_spec);
  SIG_TEST("/signaling-session/discovery", test_discovery);
  SIG_TEST("/signaling-session/discovery-acl", test_discovery_acl);
  SIG_TEST("/signaling-session/route-candidates", test_route_candidates);
  SIG_TEST("/signaling-session/route-candidates-acl", test_route_candidates_acl);
  SIG_TEST("/signaling-session/relay-role", test_relay_role);
  SIG_TEST("/signaling-session/relay-forward", test_relay_forward);
  SIG_TEST("/signaling-session/relay-denied", test_relay_denied);
  SIG_TEST("/signaling-session/presence", test_presence);
  SIG_TEST("/signaling-session/presence-cap", test_presence_cap);
  SIG_TEST("/signaling-session/displace", test_displace);
  SIG_TEST("/signaling-session/malformed", test_malformed);
  SIG_TEST("/signaling-session/flood", test_flood);
  return g_test_run();
}
