/* Fuzz target: AIdCredential and IdentityClaims decoding and credential
 * verification (include/actr/identity.h).
 *
 * The input is decoded as an AIdCredential; a successful decode must survive
 * encode → decode unchanged and is then verified against a fixed key table
 * (key id 1 = the key whose seed is 32 bytes of 0x5a, at Unix time
 * FUZZ_NOW).  Verification may succeed or fail, but a failure must carry an
 * ACTR_IDENTITY_ERROR code and leave the claims empty, and a success must
 * return claims that pass the checks it promises.  The input is also decoded
 * as IdentityClaims, which must survive encode → decode unchanged.
 *
 * The corpus in tests/fuzz/corpus/credential/ holds credentials signed by the
 * fixed key (valid, expired, realm 0, non-canonical claims, …), so that the
 * replay reaches every verification step. */
#include <actr/identity.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KEY_ID 1
#define FUZZ_NOW    G_GUINT64_CONSTANT(1700000000)

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static gboolean
lookup_key(guint32 key_id, guint8 public_key[32], gpointer user_data)
{
  static guint8 fixed_public[ACTR_ED25519_PUBLIC_KEY_SIZE];
  static gboolean ready = FALSE;

  if (key_id != FUZZ_KEY_ID)
    return FALSE;
  if (!ready) {
    guint8 seed[ACTR_ED25519_SEED_SIZE];
    memset(seed, 0x5a, sizeof seed);
    ActrSigningKey *key = actr_signing_key_new_from_seed(seed, NULL);
    FUZZ_CHECK(key != NULL);
    actr_signing_key_get_public(key, fixed_public);
    actr_signing_key_free(key);
    ready = TRUE;
  }
  memcpy(public_key, fixed_public, sizeof fixed_public);
  return TRUE;
}

static gboolean
claims_empty(const ActrIdentityClaims *claims)
{
  return claims->realm_id == 0 && claims->actor_id == NULL && claims->expires_at == 0;
}

/* Verifies @credential against the fixed table; on success re-verifies with
 * the realm and actor it claims, which must agree. */
static void
check_verify(const ActrCredential *credential)
{
  ActrIdentityClaims claims = {0, NULL, 0};
  GError *error = NULL;
  if (!actr_credential_verify(credential, lookup_key, NULL, FUZZ_NOW, 0, NULL, &claims, &error)) {
    FUZZ_CHECK(error != NULL && error->domain == ACTR_IDENTITY_ERROR);
    FUZZ_CHECK(error->code >= ACTR_IDENTITY_ERROR_MALFORMED &&
               error->code <= ACTR_IDENTITY_ERROR_EXPIRED);
    FUZZ_CHECK(claims_empty(&claims));
    g_error_free(error);
    return;
  }
  FUZZ_CHECK(error == NULL);
  FUZZ_CHECK(credential->key_id == FUZZ_KEY_ID);
  FUZZ_CHECK(claims.actor_id != NULL && claims.expires_at > FUZZ_NOW);

  /* The realm it claims is accepted; any other (non-zero) realm is not. */
  guint32 other_realm = claims.realm_id == 1 ? 2 : 1;
  FUZZ_CHECK(actr_credential_verify(credential, lookup_key, NULL, FUZZ_NOW, claims.realm_id, NULL,
                                    NULL, NULL));
  FUZZ_CHECK(!actr_credential_verify(credential, lookup_key, NULL, FUZZ_NOW, other_realm, NULL,
                                     NULL, &error));
  FUZZ_CHECK(g_error_matches(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_REALM_MISMATCH));
  g_clear_error(&error);

  /* The actor it claims is accepted exactly when its text is canonical. */
  ActrId id = {0, 0, {NULL, NULL, NULL}};
  if (actr_id_parse(claims.actor_id, &id, NULL)) {
    char *canonical = actr_id_to_string(&id);
    gboolean same = strcmp(canonical, claims.actor_id) == 0;
    gboolean ok =
        actr_credential_verify(credential, lookup_key, NULL, FUZZ_NOW, 0, &id, NULL, &error);
    FUZZ_CHECK(ok == same);
    FUZZ_CHECK(ok ||
               g_error_matches(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_ACTOR_MISMATCH));
    g_clear_error(&error);
    g_free(canonical);
    actr_id_clear(&id);
  }

  /* Expired exactly at expires_at. */
  FUZZ_CHECK(!actr_credential_verify(credential, lookup_key, NULL, claims.expires_at, 0, NULL, NULL,
                                     &error));
  FUZZ_CHECK(g_error_matches(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_EXPIRED));
  g_clear_error(&error);

  actr_identity_claims_clear(&claims);
}

static void
check_credential(const uint8_t *data, size_t size)
{
  GError *error = NULL;
  ActrCredential *credential = actr_credential_decode(data, size, &error);
  if (credential == NULL) {
    FUZZ_CHECK(g_error_matches(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED));
    g_error_free(error);
    return;
  }
  FUZZ_CHECK(credential->claims != NULL && credential->signature != NULL);

  GBytes *encoded = actr_credential_encode(credential);
  ActrCredential *again =
      actr_credential_decode(g_bytes_get_data(encoded, NULL), g_bytes_get_size(encoded), NULL);
  FUZZ_CHECK(again != NULL);
  FUZZ_CHECK(again->key_id == credential->key_id);
  FUZZ_CHECK(g_bytes_equal(again->claims, credential->claims));
  FUZZ_CHECK(g_bytes_equal(again->signature, credential->signature));

  check_verify(credential);

  actr_credential_free(again);
  g_bytes_unref(encoded);
  actr_credential_free(credential);
}

static void
check_claims(const uint8_t *data, size_t size)
{
  ActrIdentityClaims claims = {0, NULL, 0};
  GError *error = NULL;
  if (!actr_identity_claims_decode(data, size, &claims, &error)) {
    FUZZ_CHECK(g_error_matches(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED));
    FUZZ_CHECK(claims_empty(&claims));
    g_error_free(error);
    return;
  }
  FUZZ_CHECK(claims.actor_id != NULL);

  GBytes *encoded = actr_identity_claims_encode(&claims);
  ActrIdentityClaims again = {0, NULL, 0};
  FUZZ_CHECK(actr_identity_claims_decode(g_bytes_get_data(encoded, NULL), g_bytes_get_size(encoded),
                                         &again, NULL));
  FUZZ_CHECK(again.realm_id == claims.realm_id);
  FUZZ_CHECK(again.expires_at == claims.expires_at);
  FUZZ_CHECK(strcmp(again.actor_id, claims.actor_id) == 0);

  actr_identity_claims_clear(&again);
  g_bytes_unref(encoded);
  actr_identity_claims_clear(&claims);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  check_credential(data, size);
  check_claims(data, size);
  return 0;
}
