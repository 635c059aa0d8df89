/* Integration tests of actrd's AIS, admin commands and HTTP routes: each test
 * starts the real actrd binary (path from meson) through actrd-harness.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <glib.h>
#include <actr/identity.h>
#include <actr/types.h>

#include "actr-id.h"
#include "actrd-harness.h"
#include "codec.h"

static const char *actrd_path;

/* ---- helpers ---------------------------------------------------------------- */

typedef struct {
  guint8 pubkey[32];
} OneKey;

static gboolean
one_key_lookup(guint32 key_id, guint8 public_key[32], gpointer user_data)
{
  memcpy(public_key, ((OneKey *)user_data)->pubkey, 32);
  return TRUE;
}

static ActrCredential *
credential_from_pb(const Actr__AIdCredential *pb)
{
  g_autoptr(GBytes) bytes = actr_proto_message_encode(&pb->base);
  g_autoptr(GError) error = NULL;
  ActrCredential *cred =
      actr_credential_decode(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), &error);

  g_assert_no_error(error);
  return cred;
}

static char *
read_data_file(ActrdHarness *h, const char *name)
{
  g_autofree char *path = g_build_filename(actrd_harness_data_dir(h), name, NULL);
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents(path, &text, NULL, &error);
  g_assert_no_error(error);
  return g_strstrip(text);
}

/* Asserts success and checks the credential, the pubkey and the TURN
 * credential against the server's TURN secret.  Returns the id's text. */
static char *
check_register_ok(ActrdHarness *h, Actr__RegisterResponse *resp, guint32 realm, const char *type)
{
  Actr__RegisterResponse__RegisterOk *ok;
  g_autoptr(ActrCredential) cred = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(ActrId) id = {0};
  ActrIdentityClaims claims = {0};
  g_autofree char *id_text = NULL;
  g_autofree char *type_text = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *expected_user = NULL;
  g_autofree char *hmac_hex = NULL;
  g_autofree char *expected_pass = NULL;
  guint8 digest[20];
  OneKey key;
  guint64 now = (guint64)(g_get_real_time() / G_USEC_PER_SEC);

  if (resp->result_case != ACTR__REGISTER_RESPONSE__RESULT_SUCCESS)
    g_error("register failed: %u %s", resp->error->code, resp->error->message);
  ok = resp->success;
  actr_id_from_pb(ok->actr_id, &id);
  g_assert_cmpuint(id.realm_id, ==, realm);
  type_text = actr_type_to_string(&id.type);
  g_assert_cmpstr(type_text, ==, type);
  g_assert_cmpuint(id.serial_number, >, 0);
  g_assert_cmpuint(id.serial_number, <, G_GUINT64_CONSTANT(1) << 54);
  id_text = actr_id_to_string(&id);

  /* Credential: signed by the returned key, for this id, ~1 h. */
  g_assert_cmpuint(ok->signing_pubkey.len, ==, 32);
  g_assert_cmpuint(ok->signing_key_id, ==, ok->credential->key_id);
  memcpy(key.pubkey, ok->signing_pubkey.data, 32);
  cred = credential_from_pb(ok->credential);
  g_assert_true(
      actr_credential_verify(cred, one_key_lookup, &key, now, realm, &id, &claims, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(claims.expires_at, >=, now + 3590);
  g_assert_cmpuint(claims.expires_at, <=, now + 3610);
  g_assert_nonnull(ok->credential_expires_at);
  g_assert_cmpint(ok->credential_expires_at->seconds, ==, (gint64)claims.expires_at);
  g_assert_cmpuint(ok->signaling_heartbeat_interval_secs, ==, 30);
  g_assert_false(ok->has_psk);

  /* TURN: "<expiry>:<id>" and base64(HMAC-SHA1(secret, username)). */
  secret = read_data_file(h, "turn.secret");
  expected_user = g_strdup_printf("%" G_GUINT64_FORMAT ":%s", claims.expires_at, id_text);
  g_assert_cmpstr(ok->turn_credential->username, ==, expected_user);
  g_assert_cmpuint(ok->turn_credential->expires_at, ==, claims.expires_at);
  hmac_hex = g_compute_hmac_for_string(G_CHECKSUM_SHA1, (const guchar *)secret, strlen(secret),
                                       expected_user, -1);
  for (guint i = 0; i < 20; i++)
    digest[i] =
        (guint8)g_ascii_strtoull((char[]){hmac_hex[2 * i], hmac_hex[2 * i + 1], 0}, NULL, 16);
  expected_pass = g_base64_encode(digest, 20);
  actr_identity_claims_clear(&claims);
  g_assert_cmpuint(strlen(ok->turn_credential->password), ==, 28);
  g_assert_cmpstr(ok->turn_credential->password, ==, expected_pass);
  return g_steal_pointer(&id_text);
}

static void
register_ok(ActrdHarness *h, guint32 realm, const char *type, Actr__RegisterAuthMode mode,
            const char *secret)
{
  g_autoptr(GBytes) body = actrd_register_request(realm, type, mode);
  Actr__RegisterResponse *resp = actrd_harness_register(h, body, secret);
  g_autofree char *id = check_register_ok(h, resp, realm, type);

  g_assert_nonnull(id);
  actr_proto_message_free(&resp->base);
}

static void
register_error(ActrdHarness *h, guint32 realm, const char *type, Actr__RegisterAuthMode mode,
               const char *secret, guint code, const char *message)
{
  g_autoptr(GBytes) body = actrd_register_request(realm, type, mode);

  actrd_assert_register_error(actrd_harness_register(h, body, secret), code, message);
}

static char *
http_get_text(ActrdHarness *h, const char *path, guint expected_status)
{
  g_autoptr(GBytes) body = NULL;
  guint status = actrd_harness_http(h, "GET", path, NULL, NULL, &body);

  g_assert_cmpuint(status, ==, expected_status);
  return g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_dev_start_fast(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  gint64 us = actrd_harness_start(h, "--dev", NULL);
  g_autofree char *ok = http_get_text(h, "/healthz", 200);
  g_autofree char *health = http_get_text(h, "/ais/health", 200);

  g_test_message("actrd serve --dev ready after %" G_GINT64_FORMAT " us", us);
  g_assert_cmpint(us, <, G_USEC_PER_SEC);
  g_assert_cmpstr(ok, ==, "ok\n");
  g_assert_nonnull(strstr(health, "\"status\": \"healthy\""));
  g_assert_nonnull(strstr(health, "\"database\": \"ok\""));
  g_free(http_get_text(h, "/nope", 404));
  g_assert_cmpint(actrd_harness_stop(h), ==, 0);
}

static void
test_register_linked_dev(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_autofree char *pub_json = NULL;
  g_autofree char *pub_b64 = NULL;
  g_autoptr(GBytes) body = NULL;
  Actr__RegisterResponse *resp;
  g_autofree char *id1 = NULL, *id2 = NULL;
  g_autofree guint8 *pub = NULL;
  gsize len = 0;

  actrd_harness_start(h, "--dev", NULL);
  body = actrd_register_request(1, "acme:echo:1.0.0", ACTR__REGISTER_AUTH_MODE__LINKED);
  resp = actrd_harness_register(h, body, NULL);
  id1 = check_register_ok(h, resp, 1, "acme:echo:1.0.0");

  /* The advertised pubkey is the one that signed. */
  pub_json = http_get_text(h, "/ais/signing-pubkey", 200);
  pub_b64 = actrd_json_get_string(pub_json, "pubkey");
  pub = g_base64_decode(pub_b64, &len);
  g_assert_cmpmem(pub, len, resp->success->signing_pubkey.data, 32);
  g_assert_cmpint(actrd_json_get_int(pub_json, "key_id"), ==, resp->success->signing_key_id);
  actr_proto_message_free(&resp->base);

  /* Every registration gets a new ActrId. */
  resp = actrd_harness_register(h, body, NULL);
  id2 = check_register_ok(h, resp, 1, "acme:echo:1.0.0");
  g_assert_cmpstr(id1, !=, id2);
  actr_proto_message_free(&resp->base);

  /* Realm 2 is not open, even in --dev; and invalid input is rejected. */
  register_error(h, 2, "acme:echo:1.0.0", ACTR__REGISTER_AUTH_MODE__LINKED, NULL, 403,
                 "Realm validation failed");
  register_error(h, 1, "acme:echo:", ACTR__REGISTER_AUTH_MODE__LINKED, NULL, 400, "version");
  register_error(h, 1, "1bad:echo:1", ACTR__REGISTER_AUTH_MODE__LINKED, NULL, 400, NULL);
  /* PACKAGE without any proof. */
  register_error(h, 1, "acme:echo:1.0.0", ACTR__REGISTER_AUTH_MODE__PACKAGE, NULL, 403,
                 "manufacturer not verified");
}

static void
test_malformed(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_autoptr(GBytes) garbage = g_bytes_new_static("\xff\xff\xff\xff", 4);
  g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
  g_autoptr(GBytes) big = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_path = NULL;
  char *zeros;

  config_path = g_build_filename(actrd_harness_data_dir(h), "actrd.toml", NULL);
  config = g_strdup("[ais]\nmax_body_bytes = 4096\n");
  g_assert_true(g_file_set_contents(config_path, config, -1, NULL));
  actrd_harness_start(h, "--dev", "--config", config_path, NULL);

  actrd_assert_register_error(actrd_harness_register(h, garbage, NULL), 400, "Invalid protobuf");
  /* An empty body decodes leniently: realm 0 does not exist. */
  actrd_assert_register_error(actrd_harness_register(h, empty, NULL), 403, "Realm validation");

  zeros = g_malloc0(8192);
  big = g_bytes_new_take(zeros, 8192);
  g_assert_cmpuint(actrd_harness_http(h, "POST", "/ais/register", big, NULL, NULL), ==, 413);
  g_assert_cmpuint(actrd_harness_http(h, "GET", "/ais/register", NULL, NULL, NULL), ==, 405);
  g_free(http_get_text(h, "/healthz", 200));
}

static void
test_unknown_realm(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);

  actrd_harness_start(h, NULL);
  register_error(h, 42, "acme:echo:1.0.0", ACTR__REGISTER_AUTH_MODE__LINKED, NULL, 403,
                 "Realm validation failed: realm 42 does not exist");
  /* Without --dev, realm 1 does not exist either. */
  register_error(h, 1, "acme:echo:1.0.0", ACTR__REGISTER_AUTH_MODE__LINKED, NULL, 403,
                 "Realm validation failed");
}

static void
test_realm_secret(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_auto(ActrdRun) run = {0};
  g_autofree char *secret1 = NULL, *secret2 = NULL, *secret3 = NULL;
  const char *type = "acme:node:2";
  const Actr__RegisterAuthMode linked = ACTR__REGISTER_AUTH_MODE__LINKED;

  actrd_harness_admin(h, &run, "realm", "create", "5", "--name", "prod", "--generate-secret",
                      "--json", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  secret1 = actrd_json_get_string(run.out, "secret");
  g_assert_true(g_str_has_prefix(secret1, "rs_"));
  /* A realm without a secret: LINKED is not enough there. */
  actrd_harness_admin(h, &run, "realm", "create", "6", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);

  actrd_harness_start(h, NULL);
  register_error(h, 5, type, linked, NULL, 403, "Realm secret required");
  register_error(h, 5, type, linked, "  ", 403, "Realm secret required");
  register_error(h, 5, type, linked, "rs_wrong", 403, "Invalid realm secret");
  register_ok(h, 5, type, linked, secret1);
  register_error(h, 6, type, linked, NULL, 403, "manufacturer not verified");

  /* Rotation: new current, old still valid (grace). */
  actrd_harness_admin(h, &run, "realm", "rotate-secret", "5", "--json", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  secret2 = actrd_json_get_string(run.out, "secret");
  g_assert_nonnull(secret2);
  g_assert_cmpstr(secret1, !=, secret2);
  register_ok(h, 5, type, linked, secret2);
  register_ok(h, 5, type, linked, secret1);

  /* set-secret replaces both. */
  actrd_harness_admin(h, &run, "realm", "set-secret", "5", "--generate-secret", "--json", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  secret3 = actrd_json_get_string(run.out, "secret");
  register_error(h, 5, type, linked, secret1, 403, "Invalid realm secret");
  register_error(h, 5, type, linked, secret2, 403, "Invalid realm secret");
  register_ok(h, 5, type, linked, secret3);

  /* Usage errors and runtime failures. */
  actrd_harness_admin(h, &run, "realm", "create", "5", NULL);
  g_assert_cmpint(run.exit_code, ==, 1);
  g_assert_nonnull(strstr(run.err, "already exists"));
  actrd_harness_admin(h, &run, "realm", "create", "zero", NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
  actrd_harness_admin(h, &run, "realm", "set-secret", "99", "--clear", NULL);
  g_assert_cmpint(run.exit_code, ==, 1);
  actrd_harness_admin(h, &run, "realm", "set-secret", "5", NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
}

static void
test_admin_commands(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_auto(ActrdRun) run = {0};
  g_autofree char *id_text = NULL;
  gint64 rule_id;

  actrd_harness_admin(h, &run, "realm", "create", "7", "--name", "seven", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  g_assert_cmpstr(run.out, ==, "realm 7 created\n");
  actrd_harness_admin(h, &run, "realm", "list", "--json", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  g_assert_cmpint(actrd_json_get_int(run.out, "id"), ==, 7);
  g_assert_nonnull(strstr(run.out, "\"name\": \"seven\""));
  g_assert_nonnull(strstr(run.out, "\"has_secret\": false"));
  actrd_harness_admin(h, &run, "realm", "list", NULL);
  g_assert_nonnull(strstr(run.out, "seven"));

  actrd_harness_admin(h, &run, "acl", "add", "--realm", "7", "--from", "acme:cli:1", "--to",
                      "acme:echo:1.0.0", "--allow", "--json", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  rule_id = actrd_json_get_int(run.out, "id");
  g_assert_cmpint(rule_id, >, 0);
  actrd_harness_admin(h, &run, "acl", "add", "--realm", "7", "--from", "*", "--to", "acme:echo:1",
                      "--any-realm", "--deny", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  actrd_harness_admin(h, &run, "acl", "list", "--realm", "7", "--json", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  g_assert_nonnull(strstr(run.out, "\"from\": \"acme:cli:1\""));
  g_assert_nonnull(strstr(run.out, "\"access\": \"allow\""));
  g_assert_nonnull(strstr(run.out, "\"any_realm\": true"));
  g_assert_nonnull(strstr(run.out, "\"access\": \"deny\""));
  {
    g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, rule_id);

    actrd_harness_admin(h, &run, "acl", "rm", id, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    actrd_harness_admin(h, &run, "acl", "rm", id, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
  }
  actrd_harness_admin(h, &run, "acl", "list", "--json", NULL);
  g_assert_null(strstr(run.out, "acme:cli:1"));
  actrd_harness_admin(h, &run, "acl", "add", "--realm", "7", "--from", "bad", "--to", "*",
                      "--allow", NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
  actrd_harness_admin(h, &run, "acl", "add", "--realm", "7", "--from", "*", "--to", "*", NULL);
  g_assert_cmpint(run.exit_code, ==, 2);

  /* Help and version everywhere. */
  actrd_harness_admin(h, &run, "acl", "add", "--help", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  g_assert_nonnull(strstr(run.out, "actrd acl add"));
  actrd_harness_admin(h, &run, "serve", "--help", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  g_assert_nonnull(strstr(run.out, "--dev"));
  actrd_harness_admin(h, &run, "mfr", "--help", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  actrd_harness_admin(h, &run, "frobnicate", NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
  {
    const char *argv[] = {actrd_path, "--version", NULL};
    g_autofree char *out = NULL;
    int status = 0;

    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, NULL);
    g_assert_cmpstr(out, ==, "actrd 0.1.0\n");
  }

  /* ACL side effect of a registration. */
  actrd_harness_start(h, "--dev", NULL);
  {
    Actr__RegisterRequest req = ACTR__REGISTER_REQUEST__INIT;
    Actr__ActrType t = {PROTOBUF_C_MESSAGE_INIT(&actr__actr_type__descriptor), (char *)"acme",
                        (char *)"svc", (char *)"1"};
    Actr__ActrType from = {PROTOBUF_C_MESSAGE_INIT(&actr__actr_type__descriptor), (char *)"acme",
                           (char *)"caller", (char *)"2"};
    Actr__Realm r = ACTR__REALM__INIT;
    Actr__AclRule rule = ACTR__ACL_RULE__INIT;
    Actr__AclRule *rules[] = {&rule};
    Actr__Acl acl = ACTR__ACL__INIT;
    g_autoptr(GBytes) body = NULL;
    Actr__RegisterResponse *resp;

    r.realm_id = 1;
    rule.permission = ACTR__ACL_RULE__PERMISSION__ALLOW;
    rule.from_type = &from;
    rule.source_realm_case = ACTR__ACL_RULE__SOURCE_REALM_ANY_REALM;
    rule.any_realm = TRUE;
    acl.n_rules = 1;
    acl.rules = rules;
    req.actr_type = &t;
    req.realm = &r;
    req.acl = &acl;
    req.ws_address = (char *)"ws://127.0.0.1:9999";
    req.has_auth_mode = TRUE;
    req.auth_mode = ACTR__REGISTER_AUTH_MODE__LINKED;
    body = actr_proto_message_encode(&req.base);
    resp = actrd_harness_register(h, body, NULL);
    id_text = check_register_ok(h, resp, 1, "acme:svc:1");
    actr_proto_message_free(&resp->base);
  }
  actrd_harness_admin(h, &run, "acl", "list", "--realm", "1", "--json", NULL);
  g_assert_nonnull(strstr(run.out, "\"from\": \"acme:caller:2\""));
  g_assert_nonnull(strstr(run.out, "\"to\": \"acme:svc:1\""));
}

/* ---- PACKAGE mode --------------------------------------------------------- */

static GBytes *
package_request(const char *manifest, gsize manifest_len, const guint8 *sig, gsize sig_len,
                const char *version)
{
  Actr__RegisterRequest req = ACTR__REGISTER_REQUEST__INIT;
  Actr__ActrType t = {PROTOBUF_C_MESSAGE_INIT(&actr__actr_type__descriptor), (char *)"acme",
                      (char *)"pkg", (char *)version};
  Actr__Realm r = ACTR__REALM__INIT;

  r.realm_id = 1;
  req.actr_type = &t;
  req.realm = &r;
  req.has_manifest_raw = TRUE;
  req.manifest_raw.data = (guint8 *)manifest;
  req.manifest_raw.len = manifest_len;
  req.has_mfr_signature = TRUE;
  req.mfr_signature.data = (guint8 *)sig;
  req.mfr_signature.len = sig_len;
  req.target = (char *)"x86_64-linux";
  req.has_auth_mode = TRUE;
  req.auth_mode = ACTR__REGISTER_AUTH_MODE__PACKAGE;
  return actr_proto_message_encode(&req.base);
}

static void
test_package_mode(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_auto(ActrdRun) run = {0};
  g_autoptr(ActrSigningKey) mfr = actr_signing_key_generate(NULL);
  g_autoptr(ActrSigningKey) other = actr_signing_key_generate(NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *pub_b64 = NULL;
  g_autofree char *json = NULL;
  const char manifest[] = "signing_key_id = \"k1\"\n"
                          "manufacturer = \"acme\"\n"
                          "name = \"pkg\"\n"
                          "version = \"1.0.0\"\n"
                          "[binary]\n"
                          "target = \"x86_64-linux\"\n";
  g_autofree char *tampered = g_strdup(manifest);
  guint8 pub[32], sig[64], bad_sig[64];

  actr_signing_key_get_public(mfr, pub);
  pub_b64 = g_base64_encode(pub, 32);
  g_assert_true(
      actr_signing_key_sign(mfr, (const guint8 *)manifest, strlen(manifest), sig, &error));
  g_assert_true(
      actr_signing_key_sign(other, (const guint8 *)manifest, strlen(manifest), bad_sig, &error));
  actrd_harness_admin(h, &run, "mfr", "add", "acme", "--key-id", "k1", "--public-key", pub_b64,
                      NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  actrd_harness_admin(h, &run, "mfr", "add", "acme", "--key-id", "k2", "--public-key", "AAAA",
                      NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
  actrd_harness_start(h, "--dev", NULL);

  /* Path 2: a manifest signed by k1. */
  {
    g_autoptr(GBytes) body = package_request(manifest, strlen(manifest), sig, 64, "1.0.0");
    Actr__RegisterResponse *resp = actrd_harness_register(h, body, NULL);
    g_autofree char *id = check_register_ok(h, resp, 1, "acme:pkg:1.0.0");

    g_assert_nonnull(id);
    actr_proto_message_free(&resp->base);
  }
  /* The verifying key is served for nodes. */
  json = http_get_text(h, "/mfr/acme/verifying_key?key_id=k1", 200);
  g_assert_nonnull(strstr(json, pub_b64));
  g_free(http_get_text(h, "/mfr/nobody/verifying_key", 404));

  /* Forged signature, tampered manifest, type mismatch. */
  {
    g_autoptr(GBytes) body = package_request(manifest, strlen(manifest), bad_sig, 64, "1.0.0");
    actrd_assert_register_error(actrd_harness_register(h, body, NULL), 403, "signature");
  }
  tampered[strlen("signing_key_id = \"k1\"\nmanufacturer = \"acme\"\nname = \"p")] = 'X';
  {
    g_autoptr(GBytes) body = package_request(tampered, strlen(tampered), sig, 64, "1.0.0");
    actrd_assert_register_error(actrd_harness_register(h, body, NULL), 403, NULL);
  }
  {
    g_autoptr(GBytes) body = package_request(manifest, strlen(manifest), sig, 64, "2.0.0");
    actrd_assert_register_error(actrd_harness_register(h, body, NULL), 403, "match");
  }
  {
    g_autoptr(GBytes) body = package_request(manifest, strlen(manifest), sig, 63, "1.0.0");
    actrd_assert_register_error(actrd_harness_register(h, body, NULL), 403, NULL);
  }
  /* LINKED must not carry a manifest. */
  {
    Actr__RegisterResponse *resp;
    g_autoptr(GBytes) body = package_request(manifest, strlen(manifest), sig, 64, "1.0.0");
    g_autoptr(GError) err2 = NULL;
    Actr__RegisterRequest *req = (Actr__RegisterRequest *)actr_proto_message_decode(
        &actr__register_request__descriptor, g_bytes_get_data(body, NULL), g_bytes_get_size(body),
        &err2);
    g_autoptr(GBytes) linked = NULL;

    req->auth_mode = ACTR__REGISTER_AUTH_MODE__LINKED;
    linked = actr_proto_message_encode(&req->base);
    actr_proto_message_free(&req->base);
    resp = actrd_harness_register(h, linked, NULL);
    actrd_assert_register_error(resp, 400, "LINKED");
  }

  /* Revoked key → 403. */
  actrd_harness_admin(h, &run, "mfr", "revoke", "acme", "k1", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  {
    g_autoptr(GBytes) body = package_request(manifest, strlen(manifest), sig, 64, "1.0.0");
    actrd_assert_register_error(actrd_harness_register(h, body, NULL), 403, "revoked");
  }
  g_free(http_get_text(h, "/mfr/acme/verifying_key?key_id=k1", 404));
  actrd_harness_admin(h, &run, "mfr", "list", "--json", NULL);
  g_assert_nonnull(strstr(run.out, "\"revoked\": true"));

  /* Path 1: a published package passes without a signature; a manifest
   * sent with it must be the published one. */
  {
    g_autofree char *manifest_path = g_build_filename(actrd_harness_data_dir(h), "m.toml", NULL);
    g_autoptr(GBytes) plain = NULL;
    Actr__RegisterResponse *resp;
    g_autofree char *id = NULL;

    g_assert_true(g_file_set_contents(manifest_path, manifest, -1, NULL));
    actrd_harness_admin(h, &run, "mfr", "publish", "acme:pkg:1.0.0", "--manifest", manifest_path,
                        "--target", "x86_64-linux", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    plain = actrd_register_request(1, "acme:pkg:1.0.0", ACTR__REGISTER_AUTH_MODE__PACKAGE);
    resp = actrd_harness_register(h, plain, NULL);
    id = check_register_ok(h, resp, 1, "acme:pkg:1.0.0");
    actr_proto_message_free(&resp->base);
  }
  {
    g_autoptr(GBytes) body = package_request(tampered, strlen(tampered), sig, 64, "1.0.0");
    actrd_assert_register_error(actrd_harness_register(h, body, NULL), 403, NULL);
  }
}

/* ---- keys ----------------------------------------------------------------- */

static void
test_key_rotation(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_auto(ActrdRun) run = {0};
  g_autofree char *token = NULL;
  g_autofree char *json = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GBytes) body = NULL;
  Actr__RegisterResponse *resp;
  guint32 first_key;
  gint64 new_key;

  actrd_harness_start(h, "--dev", NULL);
  body = actrd_register_request(1, "acme:echo:1.0.0", ACTR__REGISTER_AUTH_MODE__LINKED);
  resp = actrd_harness_register(h, body, NULL);
  first_key = resp->success->signing_key_id;
  actr_proto_message_free(&resp->base);

  /* Unauthenticated or wrong token: 401. */
  g_assert_cmpuint(actrd_harness_http(h, "POST", "/ais/rotate-key", NULL, NULL, NULL), ==, 401);
  {
    const char *bad[] = {"x-actrd-admin-token", "adm_wrong", NULL};
    g_assert_cmpuint(actrd_harness_http(h, "POST", "/ais/rotate-key", NULL, bad, NULL), ==, 401);
  }
  token = read_data_file(h, "admin.token");
  {
    const char *good[] = {"x-actrd-admin-token", token, NULL};
    g_assert_cmpuint(actrd_harness_http(h, "POST", "/ais/rotate-key", NULL, good, &reply), ==, 200);
  }
  json = g_strndup(g_bytes_get_data(reply, NULL), g_bytes_get_size(reply));
  new_key = actrd_json_get_int(json, "new_key_id");
  g_assert_cmpint(new_key, >, first_key);
  resp = actrd_harness_register(h, body, NULL);
  g_assert_cmpuint(resp->success->signing_key_id, ==, new_key);
  actr_proto_message_free(&resp->base);
  g_free(json);
  json = http_get_text(h, "/ais/current-key", 200);
  g_assert_cmpint(actrd_json_get_int(json, "key_id"), ==, new_key);

  /* The old key still verifies (tolerance window). */
  {
    g_autofree char *path = g_strdup_printf("/ais/signing-pubkey?key_id=%u", first_key);
    g_free(json);
    json = http_get_text(h, path, 200);
    g_assert_cmpint(actrd_json_get_int(json, "key_id"), ==, first_key);
  }
  g_free(http_get_text(h, "/ais/signing-pubkey?key_id=999", 404));

  /* `actrd key rotate` from another process is picked up at once. */
  actrd_harness_admin(h, &run, "key", "rotate", "--json", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  new_key = actrd_json_get_int(run.out, "new_key_id");
  resp = actrd_harness_register(h, body, NULL);
  g_assert_cmpuint(resp->success->signing_key_id, ==, new_key);
  actr_proto_message_free(&resp->base);
}

/* ---- limits, metrics -------------------------------------------------------- */

static void
test_rate_limit_and_metrics(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_autofree char *config_path = g_build_filename(actrd_harness_data_dir(h), "actrd.toml", NULL);
  g_autofree char *metrics = NULL;
  g_autoptr(GBytes) body =
      actrd_register_request(1, "acme:echo:1.0.0", ACTR__REGISTER_AUTH_MODE__LINKED);
  const char *other_ip[] = {"X-Forwarded-For", "192.0.2.7, 10.0.0.1", NULL};

  g_assert_true(
      g_file_set_contents(config_path, "[ais]\nburst = 3\nrate_per_sec = 0.001\n", -1, NULL));
  actrd_harness_start(h, "--dev", "--config", config_path, NULL);
  for (int i = 0; i < 3; i++) {
    Actr__RegisterResponse *resp = actrd_harness_register(h, body, NULL);
    g_assert_cmpint(resp->result_case, ==, ACTR__REGISTER_RESPONSE__RESULT_SUCCESS);
    actr_proto_message_free(&resp->base);
  }
  g_assert_cmpuint(actrd_harness_http(h, "POST", "/ais/register", body, NULL, NULL), ==, 429);
  g_assert_cmpuint(actrd_harness_http(h, "GET", "/ais/health", NULL, NULL, NULL), ==, 429);
  /* Another client IP (X-Forwarded-For) has its own bucket. */
  g_assert_cmpuint(actrd_harness_http(h, "POST", "/ais/register", body, other_ip, NULL), ==, 200);
  /* /healthz and /metrics are not limited. */
  g_free(http_get_text(h, "/healthz", 200));
  metrics = http_get_text(h, "/metrics", 200);
  g_test_message("%s", metrics);
  g_assert_nonnull(strstr(metrics, "actrd_rate_limited_total{where=\"ais\"} 2\n"));
  g_assert_nonnull(strstr(metrics, "actrd_registrations_total{result=\"ok\"} 4\n"));
  g_assert_nonnull(strstr(metrics, "actrd_register_duration_seconds_count 4\n"));
  g_assert_nonnull(strstr(metrics, "actrd_register_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
  g_assert_nonnull(strstr(metrics, "# TYPE actrd_relays_total counter\n"));
  g_assert_nonnull(strstr(metrics, "rate(actrd_relays_total"));
  g_assert_nonnull(strstr(metrics, "actrd_registered_nodes "));
  g_assert_nonnull(strstr(metrics, "actrd_signaling_connections "));
}

static void
test_bad_config(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_autofree char *config_path = g_build_filename(actrd_harness_data_dir(h), "bad.toml", NULL);
  g_auto(ActrdRun) run = {0};

  g_assert_true(g_file_set_contents(config_path, "[ais]\nburst = -1\n", -1, NULL));
  actrd_harness_admin(h, &run, "serve", "--config", config_path, NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
  g_assert_nonnull(strstr(run.err, "bad.toml:2"));
  g_assert_true(g_file_set_contents(config_path, "[server]\nlistne = \"x\"\n", -1, NULL));
  actrd_harness_admin(h, &run, "serve", "--config", config_path, NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
  actrd_harness_admin(h, &run, "serve", "--listen", "nope", NULL);
  g_assert_cmpint(run.exit_code, ==, 2);
}

/* ---- crash and restart ------------------------------------------------------ */

static void
test_kill9_restart(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_auto(ActrdRun) run = {0};
  g_autofree char *secret = NULL;
  g_autofree char *key_before = NULL, *key_after = NULL;
  int status;

  actrd_harness_admin(h, &run, "realm", "create", "9", "--generate-secret", "--json", NULL);
  secret = actrd_json_get_string(run.out, "secret");
  actrd_harness_start(h, NULL);
  actrd_harness_admin(h, &run, "acl", "add", "--realm", "9", "--from", "acme:a:1", "--to",
                      "acme:b:1", "--allow", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  register_ok(h, 9, "acme:b:1", ACTR__REGISTER_AUTH_MODE__LINKED, secret);
  key_before = http_get_text(h, "/ais/signing-pubkey", 200);

  status = actrd_harness_signal(h, SIGKILL);
  g_assert_true(WIFSIGNALED(status));

  actrd_harness_start(h, NULL);
  key_after = http_get_text(h, "/ais/signing-pubkey", 200);
  g_assert_cmpstr(key_before, ==, key_after);
  register_ok(h, 9, "acme:b:1", ACTR__REGISTER_AUTH_MODE__LINKED, secret);
  actrd_harness_admin(h, &run, "acl", "list", "--json", NULL);
  g_assert_nonnull(strstr(run.out, "\"from\": \"acme:a:1\""));
  actrd_harness_admin(h, &run, "realm", "list", "--json", NULL);
  g_assert_nonnull(strstr(run.out, "\"has_secret\": true"));
  /* SIGINT: graceful, exit 0. */
  status = actrd_harness_signal(h, SIGINT);
  g_assert_true(WIFEXITED(status));
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* ---- coturn ------------------------------------------------------------------ */

static guint16
free_udp_port(void)
{
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {0};
  socklen_t len = sizeof sa;
  guint16 port;

  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
  port = ntohs(sa.sin_port);
  close(fd);
  return port;
}

static void
die_with_parent(gpointer user_data)
{
  prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static int
run_uclient(const char *user, const char *pass, guint16 port, char **out)
{
  g_autofree char *port_text = g_strdup_printf("%u", port);
  const char *argv[] = {"turnutils_uclient",
                        "-y",
                        "-n",
                        "1",
                        "-m",
                        "1",
                        "-c",
                        "-l",
                        "32",
                        "-u",
                        user,
                        "-w",
                        pass,
                        "-p",
                        port_text,
                        "-e",
                        "127.0.0.1",
                        "-r",
                        port_text,
                        "127.0.0.1",
                        NULL};
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, &err, &status,
               &error);
  g_assert_no_error(error);
  if (out != NULL && *out != NULL && err != NULL) {
    char *both = g_strconcat(*out, err, NULL);
    g_free(*out);
    *out = both;
  }
  return status;
}

static void
test_coturn(void)
{
  g_autofree char *turnserver = g_find_program_in_path("turnserver");
  g_autofree char *uclient = g_find_program_in_path("turnutils_uclient");
  g_autoptr(ActrdHarness) h = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *secret_arg = NULL;
  g_autofree char *port_arg = NULL;
  g_autofree char *out_ok = NULL, *out_bad = NULL;
  g_autofree char *bad_pass = NULL;
  g_autoptr(GError) error = NULL;
  Actr__RegisterResponse *resp;
  GPid turn_pid = 0;
  guint16 port;
  int status;

  if (turnserver == NULL || uclient == NULL) {
    g_test_skip("coturn (turnserver, turnutils_uclient) is not installed");
    return;
  }
  h = actrd_harness_new(actrd_path);
  actrd_harness_start(h, "--dev", NULL);
  body = actrd_register_request(1, "acme:echo:1.0.0", ACTR__REGISTER_AUTH_MODE__LINKED);
  resp = actrd_harness_register(h, body, NULL);
  g_assert_cmpint(resp->result_case, ==, ACTR__REGISTER_RESPONSE__RESULT_SUCCESS);

  secret = read_data_file(h, "turn.secret");
  port = free_udp_port();
  secret_arg = g_strdup_printf("--static-auth-secret=%s", secret);
  port_arg = g_strdup_printf("%u", port);
  {
    g_autofree char *pid_file = g_build_filename(actrd_harness_data_dir(h), "turn.pid", NULL);
    const char *argv[] = {turnserver,   "--use-auth-secret",
                          secret_arg,   "--realm",
                          "actrd.test", "--no-tls",
                          "--no-dtls",  "--listening-ip",
                          "127.0.0.1",  "--relay-ip",
                          "127.0.0.1",  "--listening-port",
                          port_arg,     "-n",
                          "--log-file", "stdout",
                          "--no-cli",   "--pidfile",
                          pid_file,     "--allow-loopback-peers",
                          "--min-port", "49152",
                          "--max-port", "65535",
                          NULL};

    g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                  die_with_parent, NULL, &turn_pid, &error);
    g_assert_no_error(error);
  }
  g_usleep(700 * 1000); /* coturn has no ready line */

  status = run_uclient(resp->success->turn_credential->username,
                       resp->success->turn_credential->password, port, &out_ok);
  g_test_message("uclient (actrd credential): status %d\n%s", status, out_ok);
  bad_pass = g_strdup(resp->success->turn_credential->password);
  bad_pass[0] = bad_pass[0] == 'A' ? 'B' : 'A';
  run_uclient(resp->success->turn_credential->username, bad_pass, port, &out_bad);
  g_test_message("uclient (wrong password):\n%s", out_bad);
  actr_proto_message_free(&resp->base);

  kill(turn_pid, SIGTERM);
  waitpid(turn_pid, NULL, 0);
  g_spawn_close_pid(turn_pid);

  /* Allocation made, data relayed through it and back; the wrong password
   * gets no allocation. */
  g_assert_cmpint(status, ==, 0);
  g_assert_null(strstr(out_ok, "Cannot complete Allocation"));
  g_assert_nonnull(strstr(out_ok, "start_mclient: tot_send_msgs=2, tot_recv_msgs=2"));
  g_assert_nonnull(strstr(out_ok, "Total lost packets 0 "));
  g_assert_nonnull(strstr(out_bad, "Cannot complete Allocation"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  actrd_path = actrd_harness_path_from_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);

  g_test_add_func("/actrd/serve/dev-start-fast", test_dev_start_fast);
  g_test_add_func("/actrd/serve/bad-config", test_bad_config);
  g_test_add_func("/actrd/ais/register-linked-dev", test_register_linked_dev);
  g_test_add_func("/actrd/ais/malformed", test_malformed);
  g_test_add_func("/actrd/ais/unknown-realm", test_unknown_realm);
  g_test_add_func("/actrd/ais/realm-secret", test_realm_secret);
  g_test_add_func("/actrd/ais/package-mode", test_package_mode);
  g_test_add_func("/actrd/ais/key-rotation", test_key_rotation);
  g_test_add_func("/actrd/ais/rate-limit-metrics", test_rate_limit_and_metrics);
  g_test_add_func("/actrd/admin/commands", test_admin_commands);
  g_test_add_func("/actrd/serve/kill9-restart", test_kill9_restart);
  g_test_add_func("/actrd/turn/coturn", test_coturn);
  return g_test_run();
}
