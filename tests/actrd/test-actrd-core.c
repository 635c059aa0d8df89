/* Unit tests of actrd's core modules, in process: signing keys with their
 * tolerance window, the ACL decision (can_discover) and its cross-process
 * cache, realm secrets, token buckets, and the register handler core.
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <actr/identity.h>

#include "actr-id.h"
#include "actr.pb-c.h"
#include "actrd-ais.h"
#include "actrd-db.h"
#include "actrd-keys.h"
#include "actrd-ratelimit.h"
#include "actrd-server.h"
#include "codec.h"

typedef struct {
  char *dir;
  ActrdDb *db;
} Fixture;

static void
remove_tree(const char *path)
{
  GDir *dir = g_dir_open(path, 0, NULL);
  const char *name;

  if (dir != NULL) {
    while ((name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);
      g_unlink(child);
    }
    g_dir_close(dir);
  }
  g_rmdir(path);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp("actrd-unit-XXXXXX", &error);
  g_assert_no_error(error);
  f->db = actrd_db_open(f->dir, &error);
  g_assert_no_error(error);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
  actrd_db_close(f->db);
  remove_tree(f->dir);
  g_free(f->dir);
}

/* ---- keys ------------------------------------------------------------------ */

static void
test_keys_tolerance(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrdKeys) keys = NULL;
  g_autoptr(ActrCredential) cred = NULL;
  g_auto(ActrId) id = {0};
  const ActrSigningKey *key;
  guint32 first_id = 0, second_id = 0;
  guint8 pub[32], looked_up[32];
  gint64 expires = 0, t0 = g_get_real_time() / G_USEC_PER_SEC;

  /* ttl 3600, tolerance 1000, lead 600 */
  keys = actrd_keys_new(f->db, 3600, 1000, 600, &error);
  g_assert_no_error(error);
  actrd_keys_set_now(keys, t0);
  key = actrd_keys_current(keys, &first_id, pub, &expires, &error);
  g_assert_nonnull(key);
  g_assert_cmpint(expires, ==, t0 + 3600);
  g_assert_true(actrd_keys_lookup(first_id, looked_up, keys));
  g_assert_cmpmem(looked_up, 32, pub, 32);
  g_assert_false(actrd_keys_lookup(first_id + 100, looked_up, keys));

  g_assert_true(actr_id_parse("1@1/acme:echo:1", &id, NULL));
  cred = actr_credential_issue(key, first_id, &id, t0 + 3600, &error);
  g_assert_no_error(error);

  /* Not yet in the lead window: no rotation. */
  actrd_keys_set_now(keys, t0 + 2000);
  g_assert_true(actrd_keys_maintain(keys, &error));
  g_assert_cmpuint(actrd_keys_current_id(keys), ==, first_id);

  /* Within 600 s of expiry: rotates; the old key still verifies. */
  actrd_keys_set_now(keys, t0 + 3100);
  g_assert_true(actrd_keys_maintain(keys, &error));
  second_id = actrd_keys_current_id(keys);
  g_assert_cmpuint(second_id, >, first_id);
  g_assert_true(
      actr_credential_verify(cred, actrd_keys_lookup, keys, t0 + 3100, 1, &id, NULL, &error));
  g_assert_no_error(error);

  /* After the old key's expiry but inside its tolerance: still verifies. */
  actrd_keys_set_now(keys, t0 + 3600 + 999);
  g_assert_true(actrd_keys_lookup(first_id, looked_up, keys));
  /* After expiry + tolerance: gone. */
  actrd_keys_set_now(keys, t0 + 3600 + 1000);
  g_assert_false(actrd_keys_lookup(first_id, looked_up, keys));
  g_assert_true(actrd_keys_lookup(second_id, looked_up, keys));
}

static void
test_keys_persist_and_offline_rotate(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrdKeys) keys = actrd_keys_new(f->db, 3600, 3600, 600, &error);
  g_autoptr(ActrdKeys) again = NULL;
  g_autoptr(ActrdDb) other = NULL;
  guint32 id1 = actrd_keys_current_id(keys), id2 = 0;
  guint8 pub1[32], pub1_again[32];

  g_assert_no_error(error);
  actrd_keys_current(keys, NULL, pub1, NULL, &error);
  /* A second instance (restart) reuses the stored key. */
  again = actrd_keys_new(f->db, 3600, 3600, 600, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(actrd_keys_current_id(again), ==, id1);
  actrd_keys_current(again, NULL, pub1_again, NULL, &error);
  g_assert_cmpmem(pub1, 32, pub1_again, 32);

  /* Another process rotates: picked up, old key still verifies. */
  other = actrd_db_open(f->dir, &error);
  g_assert_no_error(error);
  g_assert_true(actrd_keys_rotate_offline(other, 3600, &id2, &error));
  g_assert_cmpuint(id2, >, id1);
  g_assert_cmpuint(actrd_keys_current_id(keys), ==, id2);
  g_assert_true(actrd_keys_lookup(id1, pub1_again, keys));
}

/* ---- ACL ------------------------------------------------------------------- */

static void
add_rule(ActrdDb *db, guint32 realm, gboolean any, guint32 source, const char *from, const char *to,
         gboolean allow)
{
  ActrdAclRule rule = {0, realm, any, source, (char *)from, (char *)to, allow};
  g_autoptr(GError) error = NULL;

  g_assert_true(actrd_db_acl_add(db, &rule, NULL, &error));
  g_assert_no_error(error);
}

static void
test_acl(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrdDb) other = NULL;
  g_autoptr(GPtrArray) rules = NULL;

  /* Default deny. */
  g_assert_false(actrd_db_can_discover(f->db, 1, 1, "a:x:1", "a:y:1"));
  add_rule(f->db, 1, FALSE, 1, "a:x:1", "a:y:1", TRUE);
  g_assert_true(actrd_db_can_discover(f->db, 1, 1, "a:x:1", "a:y:1"));
  /* Exact match only: other version, other direction, other realm. */
  g_assert_false(actrd_db_can_discover(f->db, 1, 1, "a:x:2", "a:y:1"));
  g_assert_false(actrd_db_can_discover(f->db, 1, 1, "a:y:1", "a:x:1"));
  g_assert_false(actrd_db_can_discover(f->db, 2, 1, "a:x:1", "a:y:1"));
  /* Newest wins. */
  add_rule(f->db, 1, FALSE, 1, "a:x:1", "a:y:1", FALSE);
  g_assert_false(actrd_db_can_discover(f->db, 1, 1, "a:x:1", "a:y:1"));
  /* any_realm rules match (the reference's NULL quirk is fixed). */
  add_rule(f->db, 1, TRUE, 0, "a:z:1", "a:y:1", TRUE);
  g_assert_true(actrd_db_can_discover(f->db, 7, 1, "a:z:1", "a:y:1"));
  g_assert_true(actrd_db_can_discover(f->db, 1, 1, "a:z:1", "a:y:1"));
  /* Wildcards, limited to their realm. */
  add_rule(f->db, 3, FALSE, 3, "*", "*", TRUE);
  g_assert_true(actrd_db_can_discover(f->db, 3, 3, "q:q:1", "r:r:2"));
  g_assert_false(actrd_db_can_discover(f->db, 3, 4, "q:q:1", "r:r:2"));
  g_assert_false(actrd_db_can_discover(f->db, 4, 3, "q:q:1", "r:r:2"));

  /* Register side effect: replaces the rules of (realm, to_type). */
  rules = g_ptr_array_new_with_free_func((GDestroyNotify)actrd_acl_rule_free);
  {
    ActrdAclRule *r = g_new0(ActrdAclRule, 1);
    r->realm_id = 1;
    r->source_realm_id = 1;
    r->from_type = g_strdup("a:w:1");
    r->to_type = g_strdup("a:y:1");
    r->allow = TRUE;
    g_ptr_array_add(rules, r);
  }
  g_assert_true(actrd_db_acl_replace(f->db, 1, "a:y:1", rules, &error));
  g_assert_true(actrd_db_can_discover(f->db, 1, 1, "a:w:1", "a:y:1"));
  g_assert_false(actrd_db_can_discover(f->db, 7, 1, "a:z:1", "a:y:1"));

  /* Another connection (process) adds a rule: seen without reopening. */
  other = actrd_db_open(f->dir, &error);
  g_assert_no_error(error);
  g_assert_false(actrd_db_can_discover(f->db, 5, 5, "m:a:1", "m:b:1"));
  add_rule(other, 5, FALSE, 5, "m:a:1", "m:b:1", TRUE);
  g_assert_true(actrd_db_can_discover(f->db, 5, 5, "m:a:1", "m:b:1"));
}

/* ---- realms, pending --------------------------------------------------------- */

static void
test_realm_secret_check(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *h1 = actr_realm_secret_hash("one");
  g_autofree char *h2 = actr_realm_secret_hash("two");
  ActrdSecretCheck c;
  gint64 now = g_get_real_time() / G_USEC_PER_SEC;

  g_assert_true(actrd_db_realm_create(f->db, 4, "four", NULL, &error));
  g_assert_true(actrd_db_realm_check(f->db, 4, &error));
  g_assert_true(actrd_db_realm_secret_check(f->db, 4, "x", now, &c, &error));
  g_assert_cmpint(c, ==, ACTRD_SECRET_NOT_CONFIGURED);
  g_assert_true(actrd_db_realm_set_secret(f->db, 4, h1, &error));
  g_assert_true(actrd_db_realm_secret_check(f->db, 4, NULL, now, &c, &error));
  g_assert_cmpint(c, ==, ACTRD_SECRET_MISSING_REQUIRED);
  g_assert_true(actrd_db_realm_secret_check(f->db, 4, " one\n", now, &c, &error));
  g_assert_cmpint(c, ==, ACTRD_SECRET_VALID_CURRENT);
  g_assert_true(actrd_db_realm_rotate_secret(f->db, 4, h2, now, 100, &error));
  g_assert_true(actrd_db_realm_secret_check(f->db, 4, "one", now, &c, &error));
  g_assert_cmpint(c, ==, ACTRD_SECRET_VALID_PREVIOUS);
  g_assert_true(actrd_db_realm_secret_check(f->db, 4, "one", now + 100, &c, &error));
  g_assert_cmpint(c, ==, ACTRD_SECRET_INVALID);
  g_assert_true(actrd_db_realm_secret_check(f->db, 4, "two", now, &c, &error));
  g_assert_cmpint(c, ==, ACTRD_SECRET_VALID_CURRENT);

  /* Disabled and expired realms fail validation. */
  g_assert_true(actrd_db_realm_update(f->db, 4, FALSE, 0, &error));
  g_assert_false(actrd_db_realm_check(f->db, 4, &error));
  g_assert_error(error, ACTRD_ERROR, ACTRD_ERROR_REALM);
  g_clear_error(&error);
  g_assert_true(actrd_db_realm_update(f->db, 4, TRUE, now - 1, &error));
  g_assert_false(actrd_db_realm_check(f->db, 4, &error));
  g_assert_error(error, ACTRD_ERROR, ACTRD_ERROR_REALM);
}

static void
test_pending(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) spec = g_bytes_new_static("spec", 4);
  g_autoptr(GBytes) got = NULL;
  g_autofree char *ws = NULL;

  g_assert_false(actrd_db_pending_get(f->db, 1, 77, &got, &ws));
  g_assert_true(actrd_db_pending_put(f->db, 1, 77, spec, "ws://x", 10, &error));
  g_assert_true(actrd_db_pending_get(f->db, 1, 77, &got, &ws));
  g_assert_true(g_bytes_equal(got, spec));
  g_assert_cmpstr(ws, ==, "ws://x");
  /* Kept for a reconnect (also to a restarted actrd) until unregistered. */
  g_assert_true(actrd_db_pending_get(f->db, 1, 77, NULL, NULL));
  actrd_db_pending_delete(f->db, 1, 77);
  g_assert_false(actrd_db_pending_get(f->db, 1, 77, NULL, NULL));
  g_assert_true(actrd_db_pending_put(f->db, 1, 78, NULL, NULL, 10, &error));
  g_assert_cmpuint(actrd_db_pending_purge(f->db, 11), ==, 1);
}

/* ---- token bucket ------------------------------------------------------------ */

static void
test_token_bucket(void)
{
  ActrdTokenBucket b;
  g_autoptr(ActrdIpLimiter) limiter = actrd_ip_limiter_new(0.5, 2);
  gint64 t = 1000000;

  actrd_token_bucket_init(&b, 0.5, 3);
  for (int i = 0; i < 3; i++)
    g_assert_true(actrd_token_bucket_take(&b, t));
  g_assert_false(actrd_token_bucket_take(&b, t));
  g_assert_false(actrd_token_bucket_take(&b, t + 1000000)); /* half a token */
  g_assert_true(actrd_token_bucket_take(&b, t + 2000000));  /* one per 2 s */
  g_assert_false(actrd_token_bucket_take(&b, t + 2000000));
  g_assert_true(actrd_token_bucket_take(&b, t + 100000000)); /* capped at burst */
  g_assert_true(actrd_token_bucket_take(&b, t + 100000000));
  g_assert_true(actrd_token_bucket_take(&b, t + 100000000));
  g_assert_false(actrd_token_bucket_take(&b, t + 100000000));

  g_assert_true(actrd_ip_limiter_take(limiter, "a", t));
  g_assert_true(actrd_ip_limiter_take(limiter, "a", t));
  g_assert_false(actrd_ip_limiter_take(limiter, "a", t));
  g_assert_true(actrd_ip_limiter_take(limiter, "b", t));

  /* Regression (found by bench-actrd, confirmed by ASan): every 4096th take
   * prunes full buckets; it used to free the caller's own bucket after
   * looking it up, then use it. */
  g_autoptr(ActrdIpLimiter) fast = actrd_ip_limiter_new(1e9, 10);
  for (guint i = 1; i < 4096; i++)
    g_assert_true(actrd_ip_limiter_take(fast, "c", t + i));
  g_assert_true(actrd_ip_limiter_take(fast, "c", t + 10000000)); /* refilled: pruned */
}

/* ---- register core in process --------------------------------------------- */

static void
test_register_core(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  ActrdServer server = {0};
  ActrdConfig *config = actrd_config_new();
  Actr__RegisterRequest req = ACTR__REGISTER_REQUEST__INIT;
  Actr__ActrType t = {PROTOBUF_C_MESSAGE_INIT(&actr__actr_type__descriptor), (char *)"acme",
                      (char *)"echo", (char *)"1"};
  Actr__Realm r = ACTR__REALM__INIT;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) reply = NULL;
  Actr__RegisterResponse *resp;
  guint code = 99;

  config->dev = TRUE;
  config->turn_secret = g_strdup("s");
  server.config = config;
  server.db = f->db;
  g_assert_true(actrd_server_apply_dev(f->db, &error));
  g_assert_true(actrd_server_apply_dev(f->db, &error)); /* idempotent */
  server.keys = actrd_keys_new(f->db, 3600, 3600, 600, &error);
  g_assert_no_error(error);

  r.realm_id = 1;
  req.actr_type = &t;
  req.realm = &r;
  req.has_auth_mode = TRUE;
  req.auth_mode = ACTR__REGISTER_AUTH_MODE__LINKED;
  body = actr_proto_message_encode(&req.base);
  reply = actrd_ais_register(&server, g_bytes_get_data(body, NULL), g_bytes_get_size(body), NULL,
                             &code);
  g_assert_cmpuint(code, ==, 0);
  resp = (Actr__RegisterResponse *)actr_proto_message_decode(&actr__register_response__descriptor,
                                                             g_bytes_get_data(reply, NULL),
                                                             g_bytes_get_size(reply), &error);
  g_assert_no_error(error);
  g_assert_cmpint(resp->result_case, ==, ACTR__REGISTER_RESPONSE__RESULT_SUCCESS);
  g_assert_cmpuint(resp->success->signing_key_id, ==, actrd_keys_current_id(server.keys));
  actr_proto_message_free(&resp->base);

  /* The dev rule opens realm 1, and only realm 1. */
  g_assert_true(actrd_db_can_discover(f->db, 1, 1, "x:y:1", "acme:echo:1"));
  g_assert_false(actrd_db_can_discover(f->db, 2, 1, "x:y:1", "acme:echo:1"));

  g_clear_pointer(&reply, g_bytes_unref);
  reply = actrd_ais_register(&server, (const guint8 *)"\x0a\x05", 2, NULL, &code);
  g_assert_cmpuint(code, ==, 400);

  actrd_keys_free(server.keys);
  actrd_config_free(config);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/actrd/keys/tolerance", Fixture, NULL, fixture_setup, test_keys_tolerance,
             fixture_teardown);
  g_test_add("/actrd/keys/persist-offline-rotate", Fixture, NULL, fixture_setup,
             test_keys_persist_and_offline_rotate, fixture_teardown);
  g_test_add("/actrd/db/acl", Fixture, NULL, fixture_setup, test_acl, fixture_teardown);
  g_test_add("/actrd/db/realm-secret", Fixture, NULL, fixture_setup, test_realm_secret_check,
             fixture_teardown);
  g_test_add("/actrd/db/pending", Fixture, NULL, fixture_setup, test_pending, fixture_teardown);
  g_test_add_func("/actrd/ratelimit/token-bucket", test_token_bucket);
  g_test_add("/actrd/ais/register-core", Fixture, NULL, fixture_setup, test_register_core,
             fixture_teardown);
  return g_test_run();
}
