/* Fuzz target for actrd's POST /ais/register handler core
 * (actrd_ais_register(): decode, realm and secret checks, LINKED/PACKAGE
 * identity checks with manifest TOML parsing and signature verification,
 * ActrId allocation, credential, side effects in SQLite).
 *
 * Input: the first byte chooses the realm-secret header (0: none,
 * 1: "good", 2: "bad", 3: "  " (blank), others: none); the rest is the
 * request body.  The server state is a database in a temporary directory,
 * created once: realm 1 open as with --dev, realm 5 with secret "good", and
 * a manufacturer key "k1" of "acme".  Every response must decode as a
 * RegisterResponse with a result, and success must carry a credential that
 * verifies with the current key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <actr/identity.h>

#include "actr.pb-c.h"
#include "actrd-ais.h"
#include "actrd-server.h"
#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ActrdServer *server;
static char *data_dir;

static void
discard_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user_data)
{
}

static void
remove_state(void)
{
  GDir *dir;
  const char *name;

  if (server == NULL)
    return;
  actrd_keys_free(server->keys);
  actrd_db_close(server->db);
  actrd_config_free(server->config);
  g_free(server);
  server = NULL;
  dir = g_dir_open(data_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
    g_autofree char *path = g_build_filename(data_dir, name, NULL);
    g_unlink(path);
  }
  if (dir != NULL)
    g_dir_close(dir);
  g_rmdir(data_dir);
  g_clear_pointer(&data_dir, g_free);
}

static void
setup(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *hash = actr_realm_secret_hash("good");
  /* The public key of seed 0x01 * 32; seeds in the corpus use it. */
  g_autoptr(ActrSigningKey) mfr = NULL;
  guint8 seed[32], pub[32];

  g_log_set_default_handler(discard_log, NULL);
  data_dir = g_dir_make_tmp("fuzz-ais-XXXXXX", &error);
  g_assert_no_error(error);
  server = g_new0(ActrdServer, 1);
  server->config = actrd_config_new();
  server->config->dev = TRUE;
  server->config->turn_secret = g_strdup("fuzz-turn-secret");
  server->db = actrd_db_open(data_dir, &error);
  g_assert_no_error(error);
  g_assert_true(actrd_server_apply_dev(server->db, &error));
  g_assert_true(actrd_db_realm_create(server->db, 5, "five", hash, &error));
  memset(seed, 1, sizeof seed);
  mfr = actr_signing_key_new_from_seed(seed, &error);
  g_assert_no_error(error);
  actr_signing_key_get_public(mfr, pub);
  g_assert_true(actrd_db_mfr_add(server->db, "acme", "k1", pub, &error));
  server->keys = actrd_keys_new(server->db, 3600, 3600, 600, &error);
  g_assert_no_error(error);
  atexit(remove_state);
}

static void
check_response(GBytes *response)
{
  g_autoptr(GError) error = NULL;
  Actr__RegisterResponse *resp = (Actr__RegisterResponse *)actr_proto_message_decode(
      &actr__register_response__descriptor, g_bytes_get_data(response, NULL),
      g_bytes_get_size(response), &error);

  g_assert_no_error(error);
  if (resp->result_case == ACTR__REGISTER_RESPONSE__RESULT_SUCCESS) {
    g_autoptr(GBytes) cred_bytes = actr_proto_message_encode(&resp->success->credential->base);
    g_autoptr(ActrCredential) cred = actr_credential_decode(g_bytes_get_data(cred_bytes, NULL),
                                                            g_bytes_get_size(cred_bytes), &error);

    g_assert_no_error(error);
    g_assert_true(actr_credential_verify(cred, actrd_keys_lookup, server->keys,
                                         (guint64)(g_get_real_time() / G_USEC_PER_SEC), 0, NULL,
                                         NULL, &error));
    g_assert_cmpuint(resp->success->signing_pubkey.len, ==, 32);
  } else {
    g_assert_cmpint(resp->result_case, ==, ACTR__REGISTER_RESPONSE__RESULT_ERROR);
    g_assert_cmpuint(resp->error->code, >=, 400);
    g_assert_true(g_utf8_validate(resp->error->message, -1, NULL));
  }
  actr_proto_message_free(&resp->base);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const secrets[] = {NULL, "good", "bad", "  "};
  g_autoptr(GBytes) response = NULL;
  const char *secret = NULL;
  guint code = 0;

  if (server == NULL)
    setup();
  if (size > 0) {
    secret = data[0] < G_N_ELEMENTS(secrets) ? secrets[data[0]] : NULL;
    data++;
    size--;
  }
  response = actrd_ais_register(server, data, size, secret, &code);
  g_assert_nonnull(response);
  check_response(response);
  return 0;
}
