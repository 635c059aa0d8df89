/* Unit tests for src/identity: Ed25519 (RFC 8032 vectors), claims and
 * credential encoding, credential verification and each of its failures,
 * TURN credentials, realm secrets, constant-time comparison, base64url. */
#include <actr/identity.h>

#include <string.h>

#include "identity-private.h"

/* ---- helpers --------------------------------------------------------------- */

/* Decodes the lowercase hex string @hex into @out (exactly @len bytes). */
static void
from_hex(const char *hex, guint8 *out, gsize len)
{
  g_assert_cmpuint(strlen(hex), ==, 2 * len);
  for (gsize i = 0; i < len; i++) {
    int hi = g_ascii_xdigit_value(hex[2 * i]);
    int lo = g_ascii_xdigit_value(hex[2 * i + 1]);
    g_assert_cmpint(hi, >=, 0);
    g_assert_cmpint(lo, >=, 0);
    out[i] = (guint8)(hi << 4 | lo);
  }
}

/* The ActrId 1a2b3c@101/acme:echo:1.0.0 (wire.md §0). */
static void
make_id(ActrId *id, guint64 serial)
{
  id->realm_id = 101;
  id->serial_number = serial;
  id->type.manufacturer = g_strdup("acme");
  id->type.name = g_strdup("echo");
  id->type.version = g_strdup("1.0.0");
}

/* A key table with a single entry. */
typedef struct {
  guint32 key_id;
  guint8 public_key[ACTR_ED25519_PUBLIC_KEY_SIZE];
  guint calls;
} KeyTable;

static gboolean
lookup_key(guint32 key_id, guint8 public_key[32], gpointer user_data)
{
  KeyTable *table = user_data;
  table->calls++;
  if (key_id != table->key_id)
    return FALSE;
  memcpy(public_key, table->public_key, ACTR_ED25519_PUBLIC_KEY_SIZE);
  return TRUE;
}

static ActrSigningKey *
key_from_byte(guint8 byte)
{
  guint8 seed[ACTR_ED25519_SEED_SIZE];
  memset(seed, byte, sizeof seed);
  g_autoptr(GError) error = NULL;
  ActrSigningKey *key = actr_signing_key_new_from_seed(seed, &error);
  g_assert_no_error(error);
  g_assert_nonnull(key);
  return key;
}

/* ---- base64url ------------------------------------------------------------- */

static void
check_base64url(const char *input, gsize len, const char *expected)
{
  g_autofree char *encoded = actr_base64url_encode((const guint8 *)input, len);
  g_assert_cmpstr(encoded, ==, expected);
}

static void
test_base64url(void)
{
  /* RFC 4648 §10, without the padding. */
  check_base64url("", 0, "");
  check_base64url("f", 1, "Zg");
  check_base64url("fo", 2, "Zm8");
  check_base64url("foo", 3, "Zm9v");
  check_base64url("foob", 4, "Zm9vYg");
  check_base64url("fooba", 5, "Zm9vYmE");
  check_base64url("foobar", 6, "Zm9vYmFy");
  /* The two characters that differ from standard base64 ("+/8=" there). */
  check_base64url("\xfb\xff", 2, "-_8");
  check_base64url("\xff\xff\xff", 3, "____");
  g_autofree char *null_input = actr_base64url_encode(NULL, 0);
  g_assert_cmpstr(null_input, ==, "");
}

/* ---- Ed25519 --------------------------------------------------------------- */

typedef struct {
  const char *seed;
  const char *public_key;
  const char *message;
  const char *signature;
} Rfc8032Vector;

/* RFC 8032 §7.1, TEST 1-3 (SECRET KEY is the 32-byte seed). */
static const Rfc8032Vector rfc8032_vectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

static void
test_ed25519_rfc8032(void)
{
  for (gsize v = 0; v < G_N_ELEMENTS(rfc8032_vectors); v++) {
    const Rfc8032Vector *vector = &rfc8032_vectors[v];
    guint8 seed[32], expected_public[32], expected_signature[64], message[2];
    gsize message_len = strlen(vector->message) / 2;
    from_hex(vector->seed, seed, sizeof seed);
    from_hex(vector->public_key, expected_public, sizeof expected_public);
    from_hex(vector->signature, expected_signature, sizeof expected_signature);
    from_hex(vector->message, message, message_len);

    g_autoptr(GError) error = NULL;
    g_autoptr(ActrSigningKey) key = actr_signing_key_new_from_seed(seed, &error);
    g_assert_no_error(error);

    guint8 public_key[32], seed_back[32], signature[64];
    actr_signing_key_get_public(key, public_key);
    g_assert_cmpmem(public_key, 32, expected_public, 32);
    actr_signing_key_get_seed(key, seed_back);
    g_assert_cmpmem(seed_back, 32, seed, 32);

    /* TEST 1 signs the empty message: pass NULL as well as a pointer. */
    const guint8 *data = message_len == 0 && v == 0 ? NULL : message;
    g_assert_true(actr_signing_key_sign(key, data, message_len, signature, &error));
    g_assert_no_error(error);
    g_assert_cmpmem(signature, 64, expected_signature, 64);

    g_assert_true(actr_ed25519_verify(public_key, data, message_len, signature, 64));
    g_assert_true(actr_ed25519_verify(public_key, message, message_len, signature, 64));
  }
}

static void
test_ed25519_roundtrip(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrSigningKey) key = actr_signing_key_generate(&error);
  g_assert_no_error(error);
  g_assert_nonnull(key);

  static const guint8 data[] = "the claims bytes";
  guint8 public_key[32], signature[64];
  actr_signing_key_get_public(key, public_key);
  g_assert_true(actr_signing_key_sign(key, data, sizeof data, signature, &error));
  g_assert_no_error(error);
  g_assert_true(actr_ed25519_verify(public_key, data, sizeof data, signature, sizeof signature));

  /* The seed recreates the same key, and Ed25519 is deterministic. */
  guint8 seed[32], public_again[32], signature_again[64];
  actr_signing_key_get_seed(key, seed);
  g_autoptr(ActrSigningKey) again = actr_signing_key_new_from_seed(seed, &error);
  g_assert_no_error(error);
  actr_signing_key_get_public(again, public_again);
  g_assert_cmpmem(public_again, 32, public_key, 32);
  g_assert_true(actr_signing_key_sign(again, data, sizeof data, signature_again, NULL));
  g_assert_cmpmem(signature_again, 64, signature, 64);

  /* Two generated keys differ. */
  g_autoptr(ActrSigningKey) other = actr_signing_key_generate(NULL);
  guint8 other_public[32];
  actr_signing_key_get_public(other, other_public);
  g_assert_true(memcmp(other_public, public_key, 32) != 0);

  actr_signing_key_free(NULL);
}

static void
test_ed25519_reject(void)
{
  g_autoptr(ActrSigningKey) key = key_from_byte(0x11);
  g_autoptr(ActrSigningKey) wrong = key_from_byte(0x22);
  guint8 data[] = "message to sign";
  guint8 public_key[32], wrong_public[32], signature[65];
  actr_signing_key_get_public(key, public_key);
  actr_signing_key_get_public(wrong, wrong_public);
  g_assert_true(actr_signing_key_sign(key, data, sizeof data, signature, NULL));
  signature[64] = 0;
  g_assert_true(actr_ed25519_verify(public_key, data, sizeof data, signature, 64));

  /* Every flipped bit of the signature is rejected (a sample of bits). */
  for (guint bit = 0; bit < 64 * 8; bit += 7) {
    signature[bit / 8] ^= (guint8)(1u << (bit % 8));
    g_assert_false(actr_ed25519_verify(public_key, data, sizeof data, signature, 64));
    signature[bit / 8] ^= (guint8)(1u << (bit % 8));
  }
  /* A flipped bit of the message. */
  data[3] ^= 0x01;
  g_assert_false(actr_ed25519_verify(public_key, data, sizeof data, signature, 64));
  data[3] ^= 0x01;
  /* Wrong sizes. */
  g_assert_false(actr_ed25519_verify(public_key, data, sizeof data, signature, 63));
  g_assert_false(actr_ed25519_verify(public_key, data, sizeof data, signature, 65));
  g_assert_false(actr_ed25519_verify(public_key, data, sizeof data, signature, 0));
  g_assert_false(actr_ed25519_verify(public_key, data, sizeof data, NULL, 64));
  /* Wrong key; a public key that is not a curve point. */
  g_assert_false(actr_ed25519_verify(wrong_public, data, sizeof data, signature, 64));
  guint8 junk_public[32];
  memset(junk_public, 0xff, sizeof junk_public);
  g_assert_false(actr_ed25519_verify(junk_public, data, sizeof data, signature, 64));
  /* Still good afterwards (no state left behind). */
  g_assert_true(actr_ed25519_verify(public_key, data, sizeof data, signature, 64));
}

typedef struct {
  const ActrSigningKey *key;
  const guint8 *expected;
} SignThreadData;

static gpointer
sign_thread(gpointer user_data)
{
  SignThreadData *data = user_data;
  for (int i = 0; i < 200; i++) {
    guint8 signature[64];
    g_assert_true(actr_signing_key_sign(data->key, (const guint8 *)"x", 1, signature, NULL));
    g_assert_cmpmem(signature, 64, data->expected, 64);
  }
  return NULL;
}

static void
test_ed25519_threads(void)
{
  g_autoptr(ActrSigningKey) key = key_from_byte(0x33);
  guint8 expected[64];
  g_assert_true(actr_signing_key_sign(key, (const guint8 *)"x", 1, expected, NULL));
  SignThreadData data = {key, expected};
  GThread *threads[4];
  for (gsize i = 0; i < G_N_ELEMENTS(threads); i++)
    threads[i] = g_thread_new("sign", sign_thread, &data);
  for (gsize i = 0; i < G_N_ELEMENTS(threads); i++)
    g_thread_join(threads[i]);
}

/* ---- Claims and credential encoding ------------------------------------------ */

/* IdentityClaims {1: 101, 2: "1a2b3c@101/acme:echo:1.0.0" (26 bytes),
 * 3: 1700000000}.  Keys: 1<<3|0 = 0x08, 2<<3|2 = 0x12, 3<<3|0 = 0x18.
 * 101 = 0x65.  1700000000 in base 128, low group first: 1700000000 =
 * 13281250 * 128 + 0, 13281250 = 103759 * 128 + 98 (0x62), 103759 = 810 *
 * 128 + 79 (0x4f), 810 = 6 * 128 + 42 (0x2a), 6 → 80 e2 cf aa 06. */
static const guint8 claims_golden[] = {
    0x08, 0x65, 0x12, 0x1a, '1', 'a', '2',  'b',  '3',  'c',  '@',  '1',
    '0',  '1',  '/',  'a',  'c', 'm', 'e',  ':',  'e',  'c',  'h',  'o',
    ':',  '1',  '.',  '0',  '.', '0', 0x18, 0x80, 0xe2, 0xcf, 0xaa, 0x06,
};

static void
test_claims_golden(void)
{
  ActrIdentityClaims claims = {101, "1a2b3c@101/acme:echo:1.0.0", 1700000000};
  g_autoptr(GBytes) encoded = actr_identity_claims_encode(&claims);
  g_assert_cmpmem(g_bytes_get_data(encoded, NULL), g_bytes_get_size(encoded), claims_golden,
                  sizeof claims_golden);

  ActrIdentityClaims back = {0, NULL, 0};
  g_autoptr(GError) error = NULL;
  g_assert_true(actr_identity_claims_decode(claims_golden, sizeof claims_golden, &back, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(back.realm_id, ==, 101);
  g_assert_cmpstr(back.actor_id, ==, "1a2b3c@101/acme:echo:1.0.0");
  g_assert_cmpuint(back.expires_at, ==, 1700000000);
  actr_identity_claims_clear(&back);
  g_assert_null(back.actor_id);
  actr_identity_claims_clear(&back); /* idempotent */

  /* Required fields are emitted even when zero/empty (NULL counts as ""). */
  ActrIdentityClaims zero = {0, NULL, 0};
  static const guint8 zero_golden[] = {0x08, 0x00, 0x12, 0x00, 0x18, 0x00};
  g_autoptr(GBytes) zero_encoded = actr_identity_claims_encode(&zero);
  g_assert_cmpmem(g_bytes_get_data(zero_encoded, NULL), g_bytes_get_size(zero_encoded), zero_golden,
                  sizeof zero_golden);
}

static void
test_claims_lenient(void)
{
  ActrIdentityClaims claims = {0, NULL, 0};
  g_autoptr(GError) error = NULL;

  /* Missing fields decode as zero/empty. */
  g_assert_true(actr_identity_claims_decode(NULL, 0, &claims, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(claims.realm_id, ==, 0);
  g_assert_cmpstr(claims.actor_id, ==, "");
  g_assert_cmpuint(claims.expires_at, ==, 0);
  actr_identity_claims_clear(&claims);

  /* Unknown fields are skipped, in any position. */
  static const guint8 unknown[] = {0x08, 0x07, 0x22, 0x02, 'h', 'i', 0x18, 0x2a, 0x28, 0x01};
  g_assert_true(actr_identity_claims_decode(unknown, sizeof unknown, &claims, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(claims.realm_id, ==, 7);
  g_assert_cmpstr(claims.actor_id, ==, "");
  g_assert_cmpuint(claims.expires_at, ==, 42);
  actr_identity_claims_clear(&claims);

  /* Malformed: truncated string, bad UTF-8.  Output stays clearable. */
  static const guint8 truncated[] = {0x08, 0x07, 0x12, 0x05, 'a', 'b'};
  g_assert_false(actr_identity_claims_decode(truncated, sizeof truncated, &claims, &error));
  g_assert_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED);
  g_assert_null(claims.actor_id);
  g_assert_cmpuint(claims.realm_id, ==, 0);
  g_clear_error(&error);
  static const guint8 bad_utf8[] = {0x12, 0x02, 0xc3, 0x28};
  g_assert_false(actr_identity_claims_decode(bad_utf8, sizeof bad_utf8, &claims, &error));
  g_assert_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED);
  actr_identity_claims_clear(&claims);
}

static void
test_credential_golden(void)
{
  /* AIdCredential {1: 7, 2: 08 65 (2 bytes), 3: 64 x 0xab}:
   * 08 07 | 12 02 08 65 | 1a 40 ab*64. */
  guint8 signature[64];
  memset(signature, 0xab, sizeof signature);
  static const guint8 claims_bytes[] = {0x08, 0x65};
  ActrCredential credential = {7, g_bytes_new_static(claims_bytes, sizeof claims_bytes),
                               g_bytes_new(signature, sizeof signature)};

  guint8 golden[2 + 4 + 2 + 64] = {0x08, 0x07, 0x12, 0x02, 0x08, 0x65, 0x1a, 0x40};
  memset(golden + 8, 0xab, 64);

  g_autoptr(GBytes) encoded = actr_credential_encode(&credential);
  g_assert_cmpmem(g_bytes_get_data(encoded, NULL), g_bytes_get_size(encoded), golden,
                  sizeof golden);

  g_autoptr(GError) error = NULL;
  g_autoptr(ActrCredential) back = actr_credential_decode(golden, sizeof golden, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(back->key_id, ==, 7);
  g_assert_true(g_bytes_equal(back->claims, credential.claims));
  g_assert_true(g_bytes_equal(back->signature, credential.signature));

  /* Empty credential: every required field is still emitted. */
  ActrCredential empty = {0, NULL, NULL};
  static const guint8 empty_golden[] = {0x08, 0x00, 0x12, 0x00, 0x1a, 0x00};
  g_autoptr(GBytes) empty_encoded = actr_credential_encode(&empty);
  g_assert_cmpmem(g_bytes_get_data(empty_encoded, NULL), g_bytes_get_size(empty_encoded),
                  empty_golden, sizeof empty_golden);

  /* Lenient decode: nothing at all gives empty, non-NULL bytes. */
  g_autoptr(ActrCredential) nothing = actr_credential_decode(NULL, 0, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(nothing->key_id, ==, 0);
  g_assert_nonnull(nothing->claims);
  g_assert_cmpuint(g_bytes_get_size(nothing->claims), ==, 0);
  g_assert_nonnull(nothing->signature);
  g_assert_cmpuint(g_bytes_get_size(nothing->signature), ==, 0);

  g_bytes_unref(credential.claims);
  g_bytes_unref(credential.signature);
}

/* ---- Credentials: issue and verify ------------------------------------------- */

#define NOW        G_GUINT64_CONSTANT(1700000000)
#define EXPIRES_AT (NOW + 3600)

typedef struct {
  ActrSigningKey *key;
  KeyTable table;
  ActrId id;
  ActrCredential *credential;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
  f->key = key_from_byte(0x42);
  f->table.key_id = 7;
  actr_signing_key_get_public(f->key, f->table.public_key);
  make_id(&f->id, 0x1a2b3c);
  g_autoptr(GError) error = NULL;
  f->credential = actr_credential_issue(f->key, 7, &f->id, EXPIRES_AT, &error);
  g_assert_no_error(error);
  g_assert_nonnull(f->credential);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
  actr_credential_free(f->credential);
  actr_id_clear(&f->id);
  actr_signing_key_free(f->key);
}

/* Verifies @credential with the fixture's key table at NOW, expecting
 * realm 101 and the fixture's id, and checks the outcome. */
static void
expect_verify(Fixture *f, const ActrCredential *credential, guint32 expected_realm,
              const ActrId *expected_actor, guint64 now, int expected_code,
              const char *expected_message)
{
  g_autoptr(GError) error = NULL;
  ActrIdentityClaims claims = {1, (char *)"stale", 2}; /* overwritten, never freed */
  gboolean ok = actr_credential_verify(credential, lookup_key, &f->table, now, expected_realm,
                                       expected_actor, &claims, &error);
  if (expected_code < 0) {
    g_assert_no_error(error);
    g_assert_true(ok);
    g_assert_cmpstr(claims.actor_id, ==, "1a2b3c@101/acme:echo:1.0.0");
    actr_identity_claims_clear(&claims);
    return;
  }
  g_assert_false(ok);
  g_assert_error(error, ACTR_IDENTITY_ERROR, expected_code);
  g_assert_cmpstr(error->message, ==, expected_message);
  g_assert_null(claims.actor_id);
  g_assert_cmpuint(claims.realm_id, ==, 0);
  g_assert_cmpuint(claims.expires_at, ==, 0);
}

/* A credential with @claims signed by @key (as an AIS would build it). */
static ActrCredential *
sign_raw(const ActrSigningKey *key, guint32 key_id, const guint8 *claims, gsize claims_len)
{
  guint8 signature[64];
  g_assert_true(actr_signing_key_sign(key, claims, claims_len, signature, NULL));
  ActrCredential *credential = g_new0(ActrCredential, 1);
  credential->key_id = key_id;
  credential->claims = g_bytes_new(claims, claims_len);
  credential->signature = g_bytes_new(signature, sizeof signature);
  return credential;
}

static void
test_credential_roundtrip(Fixture *f, gconstpointer data)
{
  /* The claims are exactly what actr_identity_claims_encode() makes. */
  ActrIdentityClaims claims = {101, "1a2b3c@101/acme:echo:1.0.0", EXPIRES_AT};
  g_autoptr(GBytes) expected_claims = actr_identity_claims_encode(&claims);
  g_assert_true(g_bytes_equal(f->credential->claims, expected_claims));
  g_assert_cmpuint(f->credential->key_id, ==, 7);
  g_assert_cmpuint(g_bytes_get_size(f->credential->signature), ==, 64);

  g_autoptr(GBytes) wire = actr_credential_encode(f->credential);
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrCredential) decoded =
      actr_credential_decode(g_bytes_get_data(wire, NULL), g_bytes_get_size(wire), &error);
  g_assert_no_error(error);
  g_assert_cmpuint(decoded->key_id, ==, 7);
  g_assert_true(g_bytes_equal(decoded->claims, f->credential->claims));
  g_assert_true(g_bytes_equal(decoded->signature, f->credential->signature));

  expect_verify(f, decoded, 101, &f->id, NOW, -1, NULL);
  g_assert_cmpuint(f->table.calls, ==, 1);

  /* The claims come back; optional checks off; claims_out may be NULL. */
  ActrIdentityClaims out = {0, NULL, 0};
  g_assert_true(actr_credential_verify(decoded, lookup_key, &f->table, NOW, 0, NULL, &out, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(out.realm_id, ==, 101);
  g_assert_cmpstr(out.actor_id, ==, "1a2b3c@101/acme:echo:1.0.0");
  g_assert_cmpuint(out.expires_at, ==, EXPIRES_AT);
  actr_identity_claims_clear(&out);
  g_assert_true(
      actr_credential_verify(decoded, lookup_key, &f->table, NOW, 101, &f->id, NULL, &error));
  g_assert_no_error(error);

  /* One second before expiry is still valid. */
  expect_verify(f, decoded, 101, &f->id, EXPIRES_AT - 1, -1, NULL);

  /* A copy verifies the same. */
  g_autoptr(ActrCredential) copy = actr_credential_copy(decoded);
  g_assert_true(g_bytes_equal(copy->claims, decoded->claims));
  expect_verify(f, copy, 101, &f->id, NOW, -1, NULL);
}

static void
test_credential_raw_claims(Fixture *f, gconstpointer data)
{
  /* The signature covers the claims bytes as received: non-canonical
   * claims (fields out of order, an unknown field) verify, because they are
   * never re-encoded. */
  static const guint8 claims[] = {
      0x18, 0x90, 0xfe, 0xcf, 0xaa, 0x06, /* 3: NOW + 3600 = 1700003600 */
      0x2a, 0x01, 'x',                    /* 5: unknown */
      0x12, 0x1a, '1',  'a',  '2',  'b',  '3', 'c', '@', '1', '0', '1', '/', 'a',  'c',
      'm',  'e',  ':',  'e',  'c',  'h',  'o', ':', '1', '.', '0', '.', '0', 0x08, 0x65,
  };
  g_autoptr(ActrCredential) credential = sign_raw(f->key, 7, claims, sizeof claims);
  ActrIdentityClaims out = {0, NULL, 0};
  g_autoptr(GError) error = NULL;
  g_assert_true(
      actr_credential_verify(credential, lookup_key, &f->table, NOW, 101, &f->id, &out, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(out.expires_at, ==, EXPIRES_AT);
  actr_identity_claims_clear(&out);
}

static void
test_credential_verify_failures(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  /* Unknown key. */
  g_autoptr(ActrCredential) unknown = actr_credential_copy(f->credential);
  unknown->key_id = 8;
  expect_verify(f, unknown, 101, &f->id, NOW, ACTR_IDENTITY_ERROR_UNKNOWN_KEY,
                "credential signed by unknown key 8");

  /* Bad signature: flipped bit, 63 bytes, 65 bytes, another key, tampered
   * claims. */
  g_autoptr(ActrCredential) flipped = actr_credential_copy(f->credential);
  guint8 signature[65];
  memcpy(signature, g_bytes_get_data(f->credential->signature, NULL), 64);
  signature[10] ^= 0x04;
  g_bytes_unref(flipped->signature);
  flipped->signature = g_bytes_new(signature, 64);
  expect_verify(f, flipped, 101, &f->id, NOW, ACTR_IDENTITY_ERROR_BAD_SIGNATURE,
                "credential signature does not verify under key 7");
  signature[10] ^= 0x04;
  signature[64] = 0;

  g_autoptr(ActrCredential) short_signature = actr_credential_copy(f->credential);
  g_bytes_unref(short_signature->signature);
  short_signature->signature = g_bytes_new(signature, 63);
  expect_verify(f, short_signature, 101, &f->id, NOW, ACTR_IDENTITY_ERROR_BAD_SIGNATURE,
                "credential signature is 63 bytes, expected 64");

  g_autoptr(ActrCredential) long_signature = actr_credential_copy(f->credential);
  g_bytes_unref(long_signature->signature);
  long_signature->signature = g_bytes_new(signature, 65);
  expect_verify(f, long_signature, 101, &f->id, NOW, ACTR_IDENTITY_ERROR_BAD_SIGNATURE,
                "credential signature is 65 bytes, expected 64");

  g_autoptr(ActrSigningKey) other_key = key_from_byte(0x43);
  g_autoptr(ActrCredential) other = actr_credential_issue(other_key, 7, &f->id, EXPIRES_AT, &error);
  g_assert_no_error(error);
  expect_verify(f, other, 101, &f->id, NOW, ACTR_IDENTITY_ERROR_BAD_SIGNATURE,
                "credential signature does not verify under key 7");

  g_autoptr(ActrCredential) tampered = actr_credential_copy(f->credential);
  g_autoptr(GByteArray) claims = g_byte_array_new();
  g_byte_array_append(claims, g_bytes_get_data(f->credential->claims, NULL),
                      g_bytes_get_size(f->credential->claims));
  claims->data[1] = 102; /* realm 101 → 102 */
  g_bytes_unref(tampered->claims);
  tampered->claims = g_bytes_new(claims->data, claims->len);
  expect_verify(f, tampered, 0, NULL, NOW, ACTR_IDENTITY_ERROR_BAD_SIGNATURE,
                "credential signature does not verify under key 7");

  /* Validly signed claims that do not decode. */
  static const guint8 garbage_claims[] = {0x12, 0x7f, 'x'};
  g_autoptr(ActrCredential) malformed = sign_raw(f->key, 7, garbage_claims, sizeof garbage_claims);
  g_assert_false(
      actr_credential_verify(malformed, lookup_key, &f->table, NOW, 101, &f->id, NULL, &error));
  g_assert_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED);
  g_assert_true(g_str_has_prefix(error->message, "credential claims are malformed: "));
  g_clear_error(&error);

  /* Expired: expires_at == now is already expired. */
  expect_verify(f, f->credential, 101, &f->id, EXPIRES_AT, ACTR_IDENTITY_ERROR_EXPIRED,
                "credential expired at 1700003600");
  expect_verify(f, f->credential, 101, &f->id, EXPIRES_AT + 1, ACTR_IDENTITY_ERROR_EXPIRED,
                "credential expired at 1700003600");

  /* Realm mismatch. */
  expect_verify(f, f->credential, 102, &f->id, NOW, ACTR_IDENTITY_ERROR_REALM_MISMATCH,
                "credential is for realm 101, expected realm 102");

  /* Actor mismatch (another serial; checked after the realm). */
  g_auto(ActrId) other_id = {0, 0, {NULL, NULL, NULL}};
  make_id(&other_id, 0x1a2b3d);
  expect_verify(f, f->credential, 101, &other_id, NOW, ACTR_IDENTITY_ERROR_ACTOR_MISMATCH,
                "credential is for actor 1a2b3c@101/acme:echo:1.0.0, expected "
                "1a2b3d@101/acme:echo:1.0.0");
  expect_verify(f, f->credential, 102, &other_id, NOW, ACTR_IDENTITY_ERROR_REALM_MISMATCH,
                "credential is for realm 101, expected realm 102");

  /* Order: an unknown key wins over everything else. */
  expect_verify(f, unknown, 102, &other_id, EXPIRES_AT, ACTR_IDENTITY_ERROR_UNKNOWN_KEY,
                "credential signed by unknown key 8");

  /* Garbage bytes do not decode as a credential. */
  static const guint8 garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  g_assert_null(actr_credential_decode(garbage, sizeof garbage, &error));
  g_assert_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED);
  g_assert_true(g_str_has_prefix(error->message, "malformed credential: "));
  g_clear_error(&error);
  static const guint8 wrong_wire_type[] = {0x08, 0x07, 0x10, 0x01}; /* 2 claims as varint */
  g_assert_null(actr_credential_decode(wrong_wire_type, sizeof wrong_wire_type, &error));
  g_assert_error(error, ACTR_IDENTITY_ERROR, ACTR_IDENTITY_ERROR_MALFORMED);
  g_clear_error(&error);

  /* A decodable credential with an empty signature. */
  static const guint8 no_signature[] = {0x08, 0x07, 0x12, 0x02, 0x08, 0x65};
  g_autoptr(ActrCredential) unsigned_credential =
      actr_credential_decode(no_signature, sizeof no_signature, &error);
  g_assert_no_error(error);
  expect_verify(f, unsigned_credential, 101, &f->id, NOW, ACTR_IDENTITY_ERROR_BAD_SIGNATURE,
                "credential signature is 0 bytes, expected 64");
}

/* ---- TURN ------------------------------------------------------------------ */

static void
test_turn_known_answer(void)
{
  g_autofree char *username = NULL;
  g_autofree char *password = NULL;
  actr_turn_credential_make("actrix-turn-secret-change-in-production", 1700000000,
                            "1a2b3c@101/acme:echo:1.0.0", &username, &password);
  g_assert_cmpstr(username, ==, "1700000000:1a2b3c@101/acme:echo:1.0.0");
  /* printf '%s' '1700000000:1a2b3c@101/acme:echo:1.0.0' |
   *   openssl dgst -sha1 -hmac 'actrix-turn-secret-change-in-production' -binary | base64 */
  g_assert_cmpstr(password, ==, "I6VUSbWYp2LmrQHeTlGD/L/r26s=");
  g_assert_cmpuint(strlen(password), ==, 28);

  /* An empty secret is a valid (if silly) HMAC key. */
  g_autofree char *empty_user = NULL;
  g_autofree char *empty_password = NULL;
  actr_turn_credential_make("", 0, "x", &empty_user, &empty_password);
  g_assert_cmpstr(empty_user, ==, "0:x");
  g_assert_nonnull(empty_password);
  g_assert_cmpuint(strlen(empty_password), ==, 28);
}

/* ---- Realm secrets ----------------------------------------------------------- */

static void
test_realm_secret_hash(void)
{
  /* sha256("abc"), FIPS 180-2 appendix B.1 (printf '%s' abc | sha256sum). */
  static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  g_autofree char *plain = actr_realm_secret_hash("abc");
  g_assert_cmpstr(plain, ==, abc);
  g_autofree char *padded = actr_realm_secret_hash("  abc \n");
  g_assert_cmpstr(padded, ==, abc);
  g_autofree char *tabbed = actr_realm_secret_hash("\tabc\r\n");
  g_assert_cmpstr(tabbed, ==, abc);
  g_autofree char *inner = actr_realm_secret_hash("a bc");
  g_assert_cmpstr(inner, !=, abc);

  /* Empty after trimming counts as missing. */
  g_assert_null(actr_realm_secret_hash(""));
  g_assert_null(actr_realm_secret_hash(" \t\n "));
  g_assert_null(actr_realm_secret_hash(NULL));
}

static void
test_realm_secret_generate(void)
{
  g_autofree char *first = actr_realm_secret_generate();
  g_autofree char *second = actr_realm_secret_generate();
  const char *secrets[] = {first, second};
  for (gsize i = 0; i < G_N_ELEMENTS(secrets); i++) {
    const char *secret = secrets[i];
    g_assert_nonnull(secret);
    g_assert_true(g_str_has_prefix(secret, "rs_"));
    g_assert_cmpuint(strlen(secret), ==, 3 + 32);
    for (const char *p = secret + 3; *p != '\0'; p++)
      g_assert_true(g_ascii_isalnum(*p) || *p == '-' || *p == '_');
    g_autofree char *hash = actr_realm_secret_hash(secret);
    g_assert_nonnull(hash);
    g_assert_cmpuint(strlen(hash), ==, 64);
  }
  g_assert_cmpstr(first, !=, second);
}

static void
test_secure_str_equal(void)
{
  g_assert_true(actr_secure_str_equal("", ""));
  g_assert_true(actr_secure_str_equal("rs_secret", "rs_secret"));
  g_assert_false(actr_secure_str_equal("rs_secret", "rs_secreT"));
  g_assert_false(actr_secure_str_equal("Rs_secret", "rs_secret"));
  g_assert_false(actr_secure_str_equal("rs_secret", "rs_secret2"));
  g_assert_false(actr_secure_str_equal("rs_secret2", "rs_secret"));
  g_assert_false(actr_secure_str_equal("", "x"));
  g_assert_false(actr_secure_str_equal("x", ""));
  g_assert_false(actr_secure_str_equal(NULL, "x"));
  g_assert_false(actr_secure_str_equal("x", NULL));
  g_assert_false(actr_secure_str_equal(NULL, NULL));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);

  g_test_add_func("/identity/base64url/rfc4648", test_base64url);
  g_test_add_func("/identity/ed25519/rfc8032", test_ed25519_rfc8032);
  g_test_add_func("/identity/ed25519/roundtrip", test_ed25519_roundtrip);
  g_test_add_func("/identity/ed25519/reject", test_ed25519_reject);
  g_test_add_func("/identity/ed25519/threads", test_ed25519_threads);
  g_test_add_func("/identity/claims/golden", test_claims_golden);
  g_test_add_func("/identity/claims/lenient", test_claims_lenient);
  g_test_add_func("/identity/credential/golden", test_credential_golden);
  g_test_add("/identity/credential/roundtrip", Fixture, NULL, fixture_setup,
             test_credential_roundtrip, fixture_teardown);
  g_test_add("/identity/credential/raw-claims", Fixture, NULL, fixture_setup,
             test_credential_raw_claims, fixture_teardown);
  g_test_add("/identity/credential/verify-failures", Fixture, NULL, fixture_setup,
             test_credential_verify_failures, fixture_teardown);
  g_test_add_func("/identity/turn/known-answer", test_turn_known_answer);
  g_test_add_func("/identity/realm-secret/hash", test_realm_secret_hash);
  g_test_add_func("/identity/realm-secret/generate", test_realm_secret_generate);
  g_test_add_func("/identity/secure-str-equal", test_secure_str_equal);

  return g_test_run();
}
