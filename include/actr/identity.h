/* actr — identities on the wire: Ed25519 signing keys, signed credentials
 * (AIdCredential over IdentityClaims), coturn-compatible TURN credentials and
 * realm secrets (wire.md §2).
 *
 * Used by actrd (issuing) and by nodes (verifying WebSocket direct-connect
 * peers).  Crypto is OpenSSL 3 (EVP, pure Ed25519 per RFC 8032: no pre-hash,
 * no context).  Never log a private key, a realm secret or a TURN password.
 *
 * Thread-safety: all functions are re-entrant; an ActrSigningKey may be used
 * from several threads for signing at once (it is immutable after creation).
 */
#ifndef ACTR_IDENTITY_H
#define ACTR_IDENTITY_H

#include <glib.h>
#include <actr/macros.h>
#include <actr/types.h>

ACTR_BEGIN_DECLS

#define ACTR_IDENTITY_ERROR (actr_identity_error_quark())
ACTR_API GQuark actr_identity_error_quark(void);

typedef enum {
  ACTR_IDENTITY_ERROR_CRYPTO,         /* OpenSSL failed (message says where) */
  ACTR_IDENTITY_ERROR_MALFORMED,      /* undecodable credential/claims, wrong sizes */
  ACTR_IDENTITY_ERROR_UNKNOWN_KEY,    /* no public key for the credential's key_id */
  ACTR_IDENTITY_ERROR_BAD_SIGNATURE,  /* signature does not verify over the raw claims */
  ACTR_IDENTITY_ERROR_EXPIRED,        /* claims.expires_at <= now */
  ACTR_IDENTITY_ERROR_REALM_MISMATCH, /* claims.realm_id differs from the expected realm */
  ACTR_IDENTITY_ERROR_ACTOR_MISMATCH, /* claims.actor_id differs from the claimed ActrId */
} ActrIdentityError;

#define ACTR_ED25519_PUBLIC_KEY_SIZE 32
#define ACTR_ED25519_SEED_SIZE       32
#define ACTR_ED25519_SIGNATURE_SIZE  64

/* ---- Ed25519 ------------------------------------------------------------- */

typedef struct _ActrSigningKey ActrSigningKey;

/* A fresh random key (transfer full), or NULL with @error set. */
ACTR_API ActrSigningKey *actr_signing_key_generate(GError **error);
/* The key whose 32-byte private seed is @seed (transfer full). */
ACTR_API ActrSigningKey *actr_signing_key_new_from_seed(const guint8 seed[32], GError **error);
ACTR_API void actr_signing_key_free(ActrSigningKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrSigningKey, actr_signing_key_free)

/* Copies out the private seed (secret: store it with care) / the public key. */
ACTR_API void actr_signing_key_get_seed(const ActrSigningKey *key, guint8 out[32]);
ACTR_API void actr_signing_key_get_public(const ActrSigningKey *key, guint8 out[32]);

/* Signs @len bytes at @data into @signature (64 bytes). */
ACTR_API gboolean actr_signing_key_sign(const ActrSigningKey *key, const guint8 *data, gsize len,
                                        guint8 signature[64], GError **error);

/* TRUE when @signature (exactly 64 bytes) is a valid Ed25519 signature of
 * @data under the 32-byte @public_key. */
ACTR_API gboolean actr_ed25519_verify(const guint8 public_key[32], const guint8 *data, gsize len,
                                      const guint8 *signature, gsize signature_len);

/* ---- Claims and credentials (wire.md §2.2) -------------------------------- */

typedef struct {
  guint32 realm_id;
  char *actor_id;     /* ActrId text form (owned) */
  guint64 expires_at; /* Unix seconds */
} ActrIdentityClaims;

ACTR_API void actr_identity_claims_clear(ActrIdentityClaims *claims);
/* Protobuf IdentityClaims bytes (transfer full). */
ACTR_API GBytes *actr_identity_claims_encode(const ActrIdentityClaims *claims);
/* Lenient decode (missing fields are zero/empty); NULL-safe output on error. */
ACTR_API gboolean actr_identity_claims_decode(const guint8 *data, gsize len,
                                              ActrIdentityClaims *out, GError **error);

/* An AIdCredential: the signature is over the exact claims bytes. */
typedef struct {
  guint32 key_id;
  GBytes *claims;    /* encoded IdentityClaims (owned) */
  GBytes *signature; /* 64 bytes (owned) */
} ActrCredential;

ACTR_API void actr_credential_free(ActrCredential *credential);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrCredential, actr_credential_free)
ACTR_API ActrCredential *actr_credential_copy(const ActrCredential *credential);

/* Issues a credential for @id that expires at @expires_at, signed by @key
 * whose id is @key_id (transfer full). */
ACTR_API ActrCredential *actr_credential_issue(const ActrSigningKey *key, guint32 key_id,
                                               const ActrId *id, guint64 expires_at,
                                               GError **error);

/* Protobuf AIdCredential bytes (transfer full) and lenient decode. */
ACTR_API GBytes *actr_credential_encode(const ActrCredential *credential);
ACTR_API ActrCredential *actr_credential_decode(const guint8 *data, gsize len, GError **error);

/* Looks up the 32-byte public key of signing key @key_id; FALSE if unknown. */
typedef gboolean (*ActrKeyLookupFunc)(guint32 key_id, guint8 public_key[32], gpointer user_data);

/* Verifies @credential exactly as wire.md §2.2: key by key_id (UNKNOWN_KEY) →
 * signature exactly 64 bytes and valid over the raw claims (BAD_SIGNATURE) →
 * claims decode (MALFORMED) → expires_at > @now (EXPIRED) → when
 * @expected_realm is non-zero, claims.realm_id == it (REALM_MISMATCH) → when
 * @expected_actor is not NULL, claims.actor_id == its text form
 * (ACTOR_MISMATCH).  On success the decoded claims go to @claims_out (may be
 * NULL; clear with actr_identity_claims_clear()). */
ACTR_API gboolean actr_credential_verify(const ActrCredential *credential, ActrKeyLookupFunc lookup,
                                         gpointer lookup_data, guint64 now, guint32 expected_realm,
                                         const ActrId *expected_actor,
                                         ActrIdentityClaims *claims_out, GError **error);

/* ---- TURN (wire.md §2.5, coturn --use-auth-secret) ------------------------ */

/* username = "<expires_at>:<actor_id>", password =
 * base64(HMAC-SHA1(key = @secret, msg = username)).  Both (transfer full). */
ACTR_API void actr_turn_credential_make(const char *secret, guint64 expires_at,
                                        const char *actor_id, char **username, char **password);

/* ---- Realm secrets (wire.md §2.6) ---------------------------------------- */

/* Lowercase hex SHA-256 of the secret after trimming whitespace (transfer
 * full); NULL when the trimmed secret is empty. */
ACTR_API char *actr_realm_secret_hash(const char *secret);

/* A new secret: "rs_" + base64url without padding of 24 random bytes. */
ACTR_API char *actr_realm_secret_generate(void);

/* Constant-time comparison of two NUL-terminated strings. */
ACTR_API gboolean actr_secure_str_equal(const char *a, const char *b);

ACTR_END_DECLS

#endif /* ACTR_IDENTITY_H */
