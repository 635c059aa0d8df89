/* Integration tests of the node's AIS client (src/node/ais-client.c)
 * against the real actrd (tests/actrd/actrd-harness), started with --dev.
 */
#include <string.h>

#include <glib.h>
#include <actr/identity.h>
#include <actr/types.h>

#include "../../actrd/actrd-harness.h"
#include "ais-client.h"

static const char *actrd_path;

typedef struct {
  gboolean done;
  ActrAisRegistration *reg;
  GError *error;
} Wait;

static void
on_registered(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->reg = actr_ais_register_finish(result, &w->error);
  w->done = TRUE;
}

/* Registers @type_text in @realm at the harness (with @secret, nullable)
 * and waits for the outcome. */
static void
register_secret_and_wait(ActrdHarness *h, const char *endpoint_suffix, const char *type_text,
                         guint32 realm, const char *ws_address, const char *secret, Wait *w)
{
  g_auto(ActrType) type = {0};
  g_autoptr(GError) error = NULL;
  g_autofree char *endpoint = g_strconcat(actrd_harness_url(h), endpoint_suffix, NULL);
  ActrAisRegisterParams params = {0};
  GMainContext *ctx = g_main_context_new();

  g_main_context_push_thread_default(ctx);

  g_assert_true(actr_type_parse(type_text, &type, &error));
  params.actr_type = &type;
  params.realm_id = realm;
  params.ws_address = ws_address;
  params.realm_secret = secret;
  actr_ais_register_async(endpoint, &params, ctx, NULL, on_registered, w);
  g_assert_false(w->done); /* never called back synchronously */
  while (!w->done)
    g_main_context_iteration(ctx, TRUE);
  g_main_context_pop_thread_default(ctx);
  g_main_context_unref(ctx);
}

static void
register_and_wait(ActrdHarness *h, const char *endpoint_suffix, const char *type_text,
                  guint32 realm, const char *ws_address, Wait *w)
{
  register_secret_and_wait(h, endpoint_suffix, type_text, realm, ws_address, NULL, w);
}

static gboolean
one_key_lookup(guint32 key_id, guint8 public_key[32], gpointer user_data)
{
  const ActrAisRegistration *reg = user_data;

  if (key_id != reg->signing_key_id)
    return FALSE;
  memcpy(public_key, reg->signing_pubkey, 32);
  return TRUE;
}

static void
test_register_linked(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  ActrIdentityClaims claims = {0};
  g_autoptr(GError) error = NULL;
  g_autofree char *id_text = NULL;
  Wait w = {0};
  guint64 now = (guint64)(g_get_real_time() / G_USEC_PER_SEC);

  actrd_harness_start(h, "--dev", NULL);
  /* Trailing slashes are trimmed before "/register". */
  register_and_wait(h, "/ais//", "acme:echo:1.0.0", 1, "ws://127.0.0.1:9999", &w);
  g_assert_no_error(w.error);
  g_assert_nonnull(w.reg);
  g_assert_cmpuint(w.reg->actr_id.realm_id, ==, 1);
  g_assert_cmpstr(w.reg->actr_id.type.name, ==, "echo");
  g_assert_cmpuint(w.reg->heartbeat_interval_secs, ==, 30);
  g_assert_cmpuint(w.reg->credential_expires_at, >, now);
  g_assert_nonnull(w.reg->turn_username);
  g_assert_nonnull(w.reg->turn_password);
  g_assert_cmpuint(w.reg->turn_expires_at, >, now);
  g_assert_true(actr_credential_verify(w.reg->credential, one_key_lookup, w.reg, now, 1,
                                       &w.reg->actr_id, &claims, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(claims.expires_at, ==, w.reg->credential_expires_at);
  id_text = actr_id_to_string(&w.reg->actr_id);
  g_assert_cmpstr(claims.actor_id, ==, id_text);
  actr_identity_claims_clear(&claims);
  actr_ais_registration_free(w.reg);
}

static void
test_register_unknown_realm(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  Wait w = {0};

  actrd_harness_start(h, "--dev", NULL);
  register_and_wait(h, "/ais", "acme:echo:1.0.0", 4242, NULL, &w);
  g_assert_null(w.reg);
  g_assert_error(w.error, ACTR_AIS_SERVER_ERROR, 403);
  g_assert_nonnull(strstr(w.error->message, "Realm validation failed"));
  g_clear_error(&w.error);
}

/* x-actrix-realm-secret is sent when configured. */
static void
test_register_realm_secret(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_auto(ActrdRun) run = {0};
  g_autofree char *secret = NULL;
  Wait w = {0};

  actrd_harness_admin(h, &run, "realm", "create", "5", "--name", "prod", "--generate-secret",
                      "--json", NULL);
  g_assert_cmpint(run.exit_code, ==, 0);
  secret = actrd_json_get_string(run.out, "secret");
  g_assert_nonnull(secret);
  actrd_harness_start(h, NULL);

  register_secret_and_wait(h, "/ais", "acme:echo:1.0.0", 5, NULL, "rs_wrong", &w);
  g_assert_null(w.reg);
  g_assert_error(w.error, ACTR_AIS_SERVER_ERROR, 403);
  g_clear_error(&w.error);

  memset(&w, 0, sizeof(w));
  register_secret_and_wait(h, "/ais", "acme:echo:1.0.0", 5, NULL, secret, &w);
  g_assert_no_error(w.error);
  g_assert_nonnull(w.reg);
  g_assert_cmpuint(w.reg->actr_id.realm_id, ==, 5);
  actr_ais_registration_free(w.reg);
}

static void
test_register_http_errors(void)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  Wait w = {0};
  guint16 port;
  g_autofree char *dead = NULL;

  actrd_harness_start(h, "--dev", NULL);
  /* A path the server does not serve: non-2xx. */
  register_and_wait(h, "/nope", "acme:echo:1.0.0", 1, NULL, &w);
  g_assert_null(w.reg);
  g_assert_error(w.error, ACTR_AIS_ERROR, ACTR_AIS_ERROR_HTTP);
  g_clear_error(&w.error);

  /* Nobody listening: transport error. */
  port = actrd_harness_port(h);
  actrd_harness_stop(h);
  memset(&w, 0, sizeof(w));
  dead = g_strdup_printf("http://127.0.0.1:%u/ais", port);
  {
    g_auto(ActrType) type = {0};
    ActrAisRegisterParams params = {0};
    GMainContext *ctx = g_main_context_new();

    g_main_context_push_thread_default(ctx);

    g_main_context_push_thread_default(ctx);

    g_assert_true(actr_type_parse("acme:echo:1.0.0", &type, NULL));
    params.actr_type = &type;
    params.realm_id = 1;
    actr_ais_register_async(dead, &params, ctx, NULL, on_registered, &w);
    while (!w.done)
      g_main_context_iteration(ctx, TRUE);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
  }
  g_assert_null(w.reg);
  g_assert_error(w.error, ACTR_AIS_ERROR, ACTR_AIS_ERROR_TRANSPORT);
  g_clear_error(&w.error);
}

static void
test_register_url(void)
{
  g_autofree char *a = actr_ais_register_url("http://h:1/ais");
  g_autofree char *b = actr_ais_register_url("http://h:1/ais///");

  g_assert_cmpstr(a, ==, "http://h:1/ais/register");
  g_assert_cmpstr(b, ==, "http://h:1/ais/register");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  actrd_path = actrd_harness_path_from_args(argc, argv);
  g_test_add_func("/node/ais/url", test_register_url);
  g_test_add_func("/node/ais/register-linked", test_register_linked);
  g_test_add_func("/node/ais/unknown-realm", test_register_unknown_realm);
  g_test_add_func("/node/ais/realm-secret", test_register_realm_secret);
  g_test_add_func("/node/ais/http-errors", test_register_http_errors);
  return g_test_run();
}
