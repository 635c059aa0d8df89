/* actr — Ed25519 signing keys, AIdCredential issue/verify, TURN credentials
 * and realm secrets (wire.md §2).  See include/actr/identity.h.
 *
 * Details of the contract that the header leaves open:
 * - actr_identity_claims_decode() zero-fills @out first (without clearing
 *   it), so that on failure actr_identity_claims_clear() is a no-op; on
 *   success actor_id is never NULL.  actr_credential_verify() does the same
 *   with @claims_out.
 * - A decoded credential's claims and signature are never NULL (a missing
 *   field decodes as empty bytes).  actr_credential_decode() does not check
 *   sizes: a signature that is not 64 bytes is reported by
 *   actr_credential_verify() (BAD_SIGNATURE), in the order of wire.md §2.2.
 * - actr_credential_copy() shares the (immutable) GBytes of its source.
 * - actr_turn_credential_make(), actr_realm_secret_hash() and
 *   actr_realm_secret_generate() can only fail when OpenSSL itself fails
 *   (no randomness, no SHA-1/SHA-256): they then log a critical and return
 *   NULL (both TURN outputs NULL).  actr_realm_secret_hash(NULL) is NULL.
 * - actr_secure_str_equal() is FALSE when either string is NULL.
 *
 * Secrets: seeds live in ActrSigningKey and in short-lived stack buffers that
 * are wiped with OPENSSL_cleanse(); error messages name the OpenSSL call that
 * failed and its reason, never key material.
 */
#include <actr/identity.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "actr.pb-c.h"
#include "codec.h"
#include "identity-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)

/* What protobuf-c gets for an empty bytes field instead of NULL. */
static const guint8 empty_bytes[1] = {0};

struct _ActrSigningKey {
  EVP_PKEY *pkey; /* ED25519 private key; only read after creation */
  guint8 seed[ACTR_ED25519_SEED_SIZE];
  guint8 public_key[ACTR_ED25519_PUBLIC_KEY_SIZE];
};

GQuark
actr_identity_error_quark(void)
{
  return g_quark_from_static_string("actr-identity-error-quark");
}

/* Sets @error to ACTR_IDENTITY_ERROR_CRYPTO "<where> failed: <OpenSSL
 * reason>" and empties this thread's OpenSSL error queue. */
static void
set_crypto_error(GError **error, const char *where)
{
  char reason[256];
  unsigned long code = ERR_peek_last_error();

  if (code != 0)
    ERR_error_string_n(code, reason, sizeof reason);
  else
    g_strlcpy(reason, "no OpenSSL error reported", sizeof reason);
  ERR_clear_error();
  g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_CRYPTO, "%s failed: %s", where,
              reason);
}

/* Logs a critical for a failure of an API that cannot report errors. */
static void
log_crypto_failure(const char *what, const char *where)
{
  g_autoptr(GError) error = NULL;
  set_crypto_error(&error, where);
  g_critical("%s: %s", what, error->message);
}

/* ---- Ed25519 ------------------------------------------------------------- */

ActrSigningKey *
actr_signing_key_generate(GError **error)
{
  guint8 seed[ACTR_ED25519_SEED_SIZE];

  if (RAND_bytes(seed, sizeof seed) != 1) {
    set_crypto_error(error, "RAND_bytes (Ed25519 seed)");
    return NULL;
  }
  ActrSigningKey *key = actr_signing_key_new_from_seed(seed, error);
  OPENSSL_cleanse(seed, sizeof seed);
  return key;
}

ActrSigningKey *
actr_signing_key_new_from_seed(const guint8 seed[32], GError **error)
{
  g_return_val_if_fail(seed != NULL, NULL);

  g_autoptr(EVP_PKEY) pkey =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, ACTR_ED25519_SEED_SIZE);
  if (pkey == NULL) {
    set_crypto_error(error, "EVP_PKEY_new_raw_private_key (Ed25519)");
    return NULL;
  }

  ActrSigningKey *key = g_new0(ActrSigningKey, 1);
  size_t public_len = sizeof key->public_key;
  if (EVP_PKEY_get_raw_public_key(pkey, key->public_key, &public_len) != 1 ||
      public_len != ACTR_ED25519_PUBLIC_KEY_SIZE) {
    set_crypto_error(error, "EVP_PKEY_get_raw_public_key (Ed25519)");
    g_free(key);
    return NULL;
  }
  memcpy(key->seed, seed, ACTR_ED25519_SEED_SIZE);
  key->pkey = g_steal_pointer(&pkey);
  return key;
}

void
actr_signing_key_free(ActrSigningKey *key)
{
  if (key == NULL)
    return;
  EVP_PKEY_free(key->pkey); /* wipes OpenSSL's copy of the private key */
  OPENSSL_cleanse(key, sizeof *key);
  g_free(key);
}

void
actr_signing_key_get_seed(const ActrSigningKey *key, guint8 out[32])
{
  g_return_if_fail(key != NULL);
  g_return_if_fail(out != NULL);
  memcpy(out, key->seed, ACTR_ED25519_SEED_SIZE);
}

void
actr_signing_key_get_public(const ActrSigningKey *key, guint8 out[32])
{
  g_return_if_fail(key != NULL);
  g_return_if_fail(out != NULL);
  memcpy(out, key->public_key, ACTR_ED25519_PUBLIC_KEY_SIZE);
}

gboolean
actr_signing_key_sign(const ActrSigningKey *key, const guint8 *data, gsize len,
                      guint8 signature[64], GError **error)
{
  g_return_val_if_fail(key != NULL, FALSE);
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  g_return_val_if_fail(signature != NULL, FALSE);

  /* A fresh context per call: the key itself is shared read-only. */
  g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
  if (ctx == NULL) {
    set_crypto_error(error, "EVP_MD_CTX_new (Ed25519 sign)");
    return FALSE;
  }
  if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1) {
    set_crypto_error(error, "EVP_DigestSignInit (Ed25519)");
    return FALSE;
  }
  size_t signature_len = ACTR_ED25519_SIGNATURE_SIZE;
  if (EVP_DigestSign(ctx, signature, &signature_len, data != NULL ? data : empty_bytes, len) != 1 ||
      signature_len != ACTR_ED25519_SIGNATURE_SIZE) {
    set_crypto_error(error, "EVP_DigestSign (Ed25519)");
    return FALSE;
  }
  return TRUE;
}

gboolean
actr_ed25519_verify(const guint8 public_key[32], const guint8 *data, gsize len,
                    const guint8 *signature, gsize signature_len)
{
  g_return_val_if_fail(public_key != NULL, FALSE);
  g_return_val_if_fail(data != NULL || len == 0, FALSE);

  if (signature == NULL || signature_len != ACTR_ED25519_SIGNATURE_SIZE)
    return FALSE;

  gboolean ok = FALSE;
  g_autoptr(EVP_PKEY) pkey =
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, ACTR_ED25519_PUBLIC_KEY_SIZE);
  g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
  if (pkey != NULL && ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1)
    ok = EVP_DigestVerify(ctx, signature, signature_len, data != NULL ? data : empty_bytes, len) ==
         1;
  /* A bad signature queues an OpenSSL error; it is the answer, not a fault. */
  ERR_clear_error();
  return ok;
}

/* ---- Claims ---------------------------------------------------------------- */

void
actr_identity_claims_clear(ActrIdentityClaims *claims)
{
  if (claims == NULL)
    return;
  g_clear_pointer(&claims->actor_id, g_free);
  claims->realm_id = 0;
  claims->expires_at = 0;
}

GBytes *
actr_identity_claims_encode(const ActrIdentityClaims *claims)
{
  g_return_val_if_fail(claims != NULL, NULL);
  g_return_val_if_fail(claims->actor_id == NULL || g_utf8_validate(claims->actor_id, -1, NULL),
                       NULL);

  Actr__IdentityClaims pb = ACTR__IDENTITY_CLAIMS__INIT;
  pb.realm_id = claims->realm_id;
  pb.actor_id = claims->actor_id != NULL ? claims->actor_id : "";
  pb.expires_at = claims->expires_at;
  return actr_proto_message_encode(&pb.base);
}

/* Decodes claims into @out (zero-filled first); on failure returns FALSE
 * with the codec's ACTR_PROTO_ERROR_DECODE in @proto_error. */
static gboolean
decode_claims(const guint8 *data, gsize len, ActrIdentityClaims *out, GError **proto_error)
{
  memset(out, 0, sizeof *out);
  Actr__IdentityClaims *pb = (Actr__IdentityClaims *)actr_proto_message_decode(
      &actr__identity_claims__descriptor, data, len, proto_error);
  if (pb == NULL)
    return FALSE;
  out->realm_id = pb->realm_id;
  out->actor_id = g_strdup(pb->actor_id != NULL ? pb->actor_id : "");
  out->expires_at = pb->expires_at;
  actr_proto_message_free(&pb->base);
  return TRUE;
}

gboolean
actr_identity_claims_decode(const guint8 *data, gsize len, ActrIdentityClaims *out, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  g_return_val_if_fail(out != NULL, FALSE);

  g_autoptr(GError) proto_error = NULL;
  if (!decode_claims(data, len, out, &proto_error)) {
    g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED,
                "malformed identity claims: %s", proto_error->message);
    return FALSE;
  }
  return TRUE;
}

/* ---- Credentials ----------------------------------------------------------- */

void
actr_credential_free(ActrCredential *credential)
{
  if (credential == NULL)
    return;
  g_clear_pointer(&credential->claims, g_bytes_unref);
  g_clear_pointer(&credential->signature, g_bytes_unref);
  g_free(credential);
}

ActrCredential *
actr_credential_copy(const ActrCredential *credential)
{
  g_return_val_if_fail(credential != NULL, NULL);

  ActrCredential *copy = g_new0(ActrCredential, 1);
  copy->key_id = credential->key_id;
  copy->claims = credential->claims != NULL ? g_bytes_ref(credential->claims) : NULL;
  copy->signature = credential->signature != NULL ? g_bytes_ref(credential->signature) : NULL;
  return copy;
}

ActrCredential *
actr_credential_issue(const ActrSigningKey *key, guint32 key_id, const ActrId *id,
                      guint64 expires_at, GError **error)
{
  g_return_val_if_fail(key != NULL, NULL);
  g_return_val_if_fail(id != NULL, NULL);

  g_autofree char *actor_id = actr_id_to_string(id);
  if (!g_utf8_validate(actor_id, -1, NULL)) {
    g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED,
                "cannot issue a credential: the ActrId text is not valid UTF-8");
    return NULL;
  }

  ActrIdentityClaims claims = {id->realm_id, actor_id, expires_at};
  g_autoptr(GBytes) claims_bytes = actr_identity_claims_encode(&claims);
  gsize claims_len = 0;
  const guint8 *claims_data = g_bytes_get_data(claims_bytes, &claims_len);

  guint8 signature[ACTR_ED25519_SIGNATURE_SIZE];
  if (!actr_signing_key_sign(key, claims_data, claims_len, signature, error))
    return NULL;

  ActrCredential *credential = g_new0(ActrCredential, 1);
  credential->key_id = key_id;
  credential->claims = g_steal_pointer(&claims_bytes);
  credential->signature = g_bytes_new(signature, sizeof signature);
  return credential;
}

/* Points @out at the contents of @bytes (NULL counts as empty). */
static void
binary_view(GBytes *bytes, ProtobufCBinaryData *out)
{
  gsize len = 0;
  const guint8 *data = bytes != NULL ? g_bytes_get_data(bytes, &len) : NULL;
  out->len = len;
  out->data = (guint8 *)(data != NULL ? data : empty_bytes);
}

GBytes *
actr_credential_encode(const ActrCredential *credential)
{
  g_return_val_if_fail(credential != NULL, NULL);

  Actr__AIdCredential pb = ACTR__AID_CREDENTIAL__INIT;
  pb.key_id = credential->key_id;
  binary_view(credential->claims, &pb.claims);
  binary_view(credential->signature, &pb.signature);
  return actr_proto_message_encode(&pb.base);
}

ActrCredential *
actr_credential_decode(const guint8 *data, gsize len, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);

  g_autoptr(GError) local_error = NULL;
  Actr__AIdCredential *pb = (Actr__AIdCredential *)actr_proto_message_decode(
      &actr__aid_credential__descriptor, data, len, &local_error);
  if (pb == NULL) {
    g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED,
                "malformed credential: %s", local_error->message);
    return NULL;
  }
  ActrCredential *credential = g_new0(ActrCredential, 1);
  credential->key_id = pb->key_id;
  credential->claims = g_bytes_new(pb->claims.data, pb->claims.len);
  credential->signature = g_bytes_new(pb->signature.data, pb->signature.len);
  actr_proto_message_free(&pb->base);
  return credential;
}

/* Steps 4-6 of actr_credential_verify() on decoded @claims. */
static gboolean
check_claims(const ActrIdentityClaims *claims, guint64 now, guint32 expected_realm,
             const ActrId *expected_actor, GError **error)
{
  /* 4. Expiry: no tolerance (wire.md §2.2). */
  if (claims->expires_at <= now) {
    g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_EXPIRED,
                "credential expired at %" G_GUINT64_FORMAT, claims->expires_at);
    return FALSE;
  }

  /* 5. Realm. */
  if (expected_realm != 0 && claims->realm_id != expected_realm) {
    g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_REALM_MISMATCH,
                "credential is for realm %" G_GUINT32_FORMAT ", expected realm %" G_GUINT32_FORMAT,
                claims->realm_id, expected_realm);
    return FALSE;
  }

  /* 6. Actor: the claimed text must be the repr of the claimed ActrId. */
  if (expected_actor != NULL) {
    g_autofree char *expected_text = actr_id_to_string(expected_actor);
    if (strcmp(claims->actor_id, expected_text) != 0) {
      /* Signed text, but escape it anyway: it ends up in logs and replies. */
      g_autofree char *shown = g_strescape(claims->actor_id, NULL);
      g_autofree char *shown_expected = g_strescape(expected_text, NULL);
      g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_ACTOR_MISMATCH,
                  "credential is for actor %s, expected %s", shown, shown_expected);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
actr_credential_verify(const ActrCredential *credential, ActrKeyLookupFunc lookup,
                       gpointer lookup_data, guint64 now, guint32 expected_realm,
                       const ActrId *expected_actor, ActrIdentityClaims *claims_out, GError **error)
{
  if (claims_out != NULL)
    memset(claims_out, 0, sizeof *claims_out);
  g_return_val_if_fail(credential != NULL, FALSE);
  g_return_val_if_fail(lookup != NULL, FALSE);

  /* 1. The signing key, by id. */
  guint8 public_key[ACTR_ED25519_PUBLIC_KEY_SIZE] = {0};
  if (!lookup(credential->key_id, public_key, lookup_data)) {
    g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_UNKNOWN_KEY,
                "credential signed by unknown key %" G_GUINT32_FORMAT, credential->key_id);
    return FALSE;
  }

  /* 2. Exactly 64 signature bytes, valid over the claims bytes as received. */
  gsize signature_len = 0;
  const guint8 *signature = credential->signature != NULL
                                ? g_bytes_get_data(credential->signature, &signature_len)
                                : NULL;
  if (signature_len != ACTR_ED25519_SIGNATURE_SIZE) {
    g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_BAD_SIGNATURE,
                "credential signature is %" G_GSIZE_FORMAT " bytes, expected %d", signature_len,
                ACTR_ED25519_SIGNATURE_SIZE);
    return FALSE;
  }
  gsize claims_len = 0;
  const guint8 *claims_data =
      credential->claims != NULL ? g_bytes_get_data(credential->claims, &claims_len) : NULL;
  if (claims_data == NULL)
    claims_len = 0;
  if (!actr_ed25519_verify(public_key, claims_data, claims_len, signature, signature_len)) {
    g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_BAD_SIGNATURE,
                "credential signature does not verify under key %" G_GUINT32_FORMAT,
                credential->key_id);
    return FALSE;
  }

  /* 3. The claims themselves. */
  ActrIdentityClaims claims = {0, NULL, 0};
  g_autoptr(GError) proto_error = NULL;
  if (!decode_claims(claims_data, claims_len, &claims, &proto_error)) {
    g_set_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED,
                "credential claims are malformed: %s", proto_error->message);
    return FALSE;
  }
  if (!check_claims(&claims, now, expected_realm, expected_actor, error)) {
    actr_identity_claims_clear(&claims);
    return FALSE;
  }
  if (claims_out != NULL)
    *claims_out = claims; /* moved */
  else
    actr_identity_claims_clear(&claims);
  return TRUE;
}

/* ---- TURN ------------------------------------------------------------------ */

void
actr_turn_credential_make(const char *secret, guint64 expires_at, const char *actor_id,
                          char **username, char **password)
{
  g_return_if_fail(username != NULL);
  g_return_if_fail(password != NULL);
  *username = NULL;
  *password = NULL;
  g_return_if_fail(secret != NULL);
  g_return_if_fail(actor_id != NULL);

  g_autofree char *user = g_strdup_printf("%" G_GUINT64_FORMAT ":%s", expires_at, actor_id);
  guint8 mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, secret, strlen(secret), (const guint8 *)user,
                strlen(user), mac, sizeof mac, &mac_len) == NULL) {
    log_crypto_failure("TURN credential", "EVP_Q_mac (HMAC-SHA1)");
    return;
  }
  *password = g_base64_encode(mac, mac_len);
  *username = g_steal_pointer(&user);
  OPENSSL_cleanse(mac, sizeof mac);
}

/* ---- Realm secrets --------------------------------------------------------- */

char *
actr_realm_secret_hash(const char *secret)
{
  static const char hex_digits[] = "0123456789abcdef";

  if (secret == NULL)
    return NULL;

  gsize secret_size = strlen(secret) + 1;
  char *trimmed = g_strdup(secret);
  g_strstrip(trimmed);
  gsize trimmed_len = strlen(trimmed);

  char *hex = NULL;
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (trimmed_len == 0) {
    /* empty counts as missing */
  } else if (EVP_Digest(trimmed, trimmed_len, digest, &digest_len, EVP_sha256(), NULL) != 1) {
    log_crypto_failure("realm secret hash", "EVP_Digest (SHA-256)");
  } else {
    hex = g_malloc(2 * digest_len + 1);
    for (unsigned int i = 0; i < digest_len; i++) {
      hex[2 * i] = hex_digits[digest[i] >> 4];
      hex[2 * i + 1] = hex_digits[digest[i] & 0x0f];
    }
    hex[2 * digest_len] = '\0';
  }
  /* g_strstrip() moves bytes down: wipe the whole original extent. */
  OPENSSL_cleanse(trimmed, secret_size);
  g_free(trimmed);
  OPENSSL_cleanse(digest, sizeof digest);
  return hex;
}

char *
actr_realm_secret_generate(void)
{
  guint8 raw[24];

  if (RAND_bytes(raw, sizeof raw) != 1) {
    log_crypto_failure("realm secret", "RAND_bytes");
    return NULL;
  }
  char *encoded = actr_base64url_encode(raw, sizeof raw);
  char *secret = g_strconcat("rs_", encoded, NULL);
  OPENSSL_cleanse(raw, sizeof raw);
  OPENSSL_cleanse(encoded, strlen(encoded));
  g_free(encoded);
  return secret;
}

gboolean
actr_secure_str_equal(const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return FALSE;

  /* The lengths are not secret; the contents are.  Either way, every byte
   * of the longer string is read once by CRYPTO_memcmp(). */
  gsize a_len = strlen(a);
  gsize b_len = strlen(b);
  if (a_len == b_len)
    return CRYPTO_memcmp(a, b, a_len) == 0;

  const char *longer = a_len > b_len ? a : b;
  volatile int sink = CRYPTO_memcmp(longer, longer, MAX(a_len, b_len));
  (void)sink;
  return FALSE;
}
