/* Unit tests for include/actr/types.h: Name rules, ActrType / ActrId text
 * forms, equality, hashing, ordering, and the ActrId protobuf encoding. */
#include <actr/types.h>

#include <string.h>

/* ---------------------------------------------------------------------------
 * Names
 */

static void
test_name_accept(void)
{
  static const char *const good[] = {
      "a",    "Z",
      "ab",   "a1",
      "acme", "Acme-Corp",
      "a_b",  "a.b",
      "a-b",  "a--b",
      "a..9", "x.y_z-0",
      "A1",   "abcdefghijklmnopqrstuvwxyz012345", /* 32 */
  };
  for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
    g_autoptr(GError) error = NULL;
    g_assert_true(actr_name_is_valid(good[i]));
    g_assert_true(actr_name_validate(good[i], &error));
    g_assert_no_error(error);
  }
  g_assert_cmpuint(strlen(good[G_N_ELEMENTS(good) - 1]), ==, ACTR_NAME_MAX_LEN);
}

typedef struct {
  const char *name;
  const char *rule; /* expected substring of the error message */
} NameCase;

static void
test_name_reject(void)
{
  static const NameCase bad[] = {
      {"", "must not be empty"},
      {"abcdefghijklmnopqrstuvwxyz0123456", "at most 32"}, /* 33 */
      {"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz", "at most 32"},
      {"1abc", "start with an ASCII letter"},
      {"9", "start with an ASCII letter"},
      {"-abc", "start with an ASCII letter"},
      {"_abc", "start with an ASCII letter"},
      {".abc", "start with an ASCII letter"},
      {"abc-", "end with an ASCII letter or digit"},
      {"abc.", "end with an ASCII letter or digit"},
      {"abc_", "end with an ASCII letter or digit"},
      {"a b", "may contain only"},
      {"a:b", "may contain only"},
      {"a@b", "may contain only"},
      {"a/b", "may contain only"},
      {"a+b", "may contain only"},
      {"a\tb", "may contain only"},
      {"caf\xc3\xa9s", "may contain only"},                 /* é inside */
      {"\xc3\xa9t\xc3\xa9", "start with an ASCII letter"},  /* é first */
      {"abc\xc3\xa9", "end with an ASCII letter or digit"}, /* é last */
      {"a\xff"
       "b",
       "may contain only"}, /* not UTF-8 */
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    g_test_message("name case %u", i);
    g_assert_false(actr_name_is_valid(bad[i].name));
    g_assert_false(actr_name_validate(bad[i].name, &error));
    g_assert_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_NAME);
    g_assert_nonnull(strstr(error->message, bad[i].rule));
    g_assert_true(g_str_is_ascii(error->message)); /* escaped for logs */
  }

  g_autoptr(GError) error = NULL;
  g_assert_false(actr_name_is_valid(NULL));
  g_assert_false(actr_name_validate(NULL, &error));
  g_assert_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_NAME);
  g_assert_false(actr_name_validate("", NULL)); /* error is optional */
}

/* ---------------------------------------------------------------------------
 * ActrType
 */

static void
test_type_parse_format(void)
{
  static const char *const texts[] = {
      "acme:echo:1.0.0",
      "a:b:c",
      "Acme-Corp:echo_service.v2:2024.01-rc1+build.5",
      "acme:echo:1.0/beta@x", /* version may hold '/' and '@' */
      "acme:echo: spaces allowed ",
      "acme:echo:v\xc3\xa9rsion", /* UTF-8 version */
  };
  for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
    g_auto(ActrType) type = {NULL, NULL, NULL};
    g_autoptr(GError) error = NULL;
    g_assert_true(actr_type_parse(texts[i], &type, &error));
    g_assert_no_error(error);
    g_assert_true(actr_type_validate(&type, NULL));
    g_autofree char *text = actr_type_to_string(&type);
    g_assert_cmpstr(text, ==, texts[i]);
  }

  g_auto(ActrType) type = {NULL, NULL, NULL};
  g_assert_true(actr_type_parse("acme:echo:1.0.0", &type, NULL));
  g_assert_cmpstr(type.manufacturer, ==, "acme");
  g_assert_cmpstr(type.name, ==, "echo");
  g_assert_cmpstr(type.version, ==, "1.0.0");
}

typedef struct {
  const char *text;
  const char *problem;
} TextCase;

static void
test_type_parse_reject(void)
{
  static const TextCase bad[] = {
      {"", "expected manufacturer:name:version"},
      {"acme", "expected manufacturer:name:version"},
      {"acme:echo", "expected manufacturer:name:version"},
      {"acme:echo:", "version must not be empty"},
      {"acme:echo:1.0:extra", "more than three"},
      {"acme:echo:1:2:3", "more than three"},
      {":echo:1.0", "manufacturer '' must not be empty"},
      {"acme::1.0", "name '' must not be empty"},
      {"1acme:echo:1.0", "manufacturer '1acme' must start"},
      {"acme:echo-:1.0", "name 'echo-' must end"},
      {"ac me:echo:1.0", "may contain only"},
      {"acme:echo:\xff", "valid UTF-8"},
      {"abcdefghijklmnopqrstuvwxyz0123456:echo:1", "at most 32"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    ActrType type = {NULL, NULL, NULL};
    g_autoptr(GError) error = NULL;
    g_test_message("type case %u", i);
    g_assert_false(actr_type_parse(bad[i].text, &type, &error));
    g_assert_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_TYPE);
    g_assert_nonnull(strstr(error->message, bad[i].problem));
    /* @out untouched on failure */
    g_assert_null(type.manufacturer);
    g_assert_null(type.name);
    g_assert_null(type.version);
  }
}

static void
test_type_validate(void)
{
  ActrType type = {"acme", "echo", "1.0"};
  g_assert_true(actr_type_validate(&type, NULL));

  static const struct {
    ActrType type;
    const char *problem;
  } bad[] = {
      {{NULL, "echo", "1"}, "manufacturer is missing"},
      {{"acme", NULL, "1"}, "name is missing"},
      {{"acme", "echo", NULL}, "version is missing"},
      {{"acme", "echo", ""}, "version must not be empty"},
      {{"acme", "echo", "1:2"}, "must not contain ':'"},
      {{"acme", "ec/ho", "1"}, "may contain only"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    g_assert_false(actr_type_validate(&bad[i].type, &error));
    g_assert_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_TYPE);
    g_assert_nonnull(strstr(error->message, bad[i].problem));
  }

  /* The zero value formats and clears without trouble but is not valid. */
  g_auto(ActrType) zero = {NULL, NULL, NULL};
  g_autofree char *text = actr_type_to_string(&zero);
  g_assert_cmpstr(text, ==, "::");
  g_assert_false(actr_type_validate(&zero, NULL));
}

static void
test_type_copy_clear(void)
{
  g_auto(ActrType) a = {NULL, NULL, NULL};
  g_auto(ActrType) b = {NULL, NULL, NULL};
  g_assert_true(actr_type_parse("acme:echo:1.0", &a, NULL));
  actr_type_copy(&a, &b);
  g_assert_true(actr_type_equal(&a, &b));
  g_assert_true(a.manufacturer != b.manufacturer); /* deep copy */
  actr_type_clear(&b);
  g_assert_null(b.manufacturer);
  g_assert_null(b.name);
  g_assert_null(b.version);
  actr_type_clear(&b); /* idempotent */
}

static void
test_type_equal_hash_compare(void)
{
  ActrType a = {"acme", "echo", "1.0"};
  ActrType a2 = {"acme", "echo", "1.0"};
  ActrType b = {"acme", "echo", "1.1"};
  ActrType c = {"acme", "ping", "0.1"};
  ActrType d = {"beta", "aaaa", "0.0"};
  ActrType e = {"Acme", "echo", "1.0"}; /* case matters */

  g_assert_true(actr_type_equal(&a, &a2));
  g_assert_cmpuint(actr_type_hash(&a), ==, actr_type_hash(&a2));
  g_assert_cmpint(actr_type_compare(&a, &a2), ==, 0);

  g_assert_false(actr_type_equal(&a, &b));
  g_assert_false(actr_type_equal(&a, &e));
  g_assert_cmpint(actr_type_compare(&a, &b), <, 0); /* version */
  g_assert_cmpint(actr_type_compare(&b, &a), >, 0);
  g_assert_cmpint(actr_type_compare(&b, &c), <, 0); /* name before version */
  g_assert_cmpint(actr_type_compare(&c, &d), <, 0); /* manufacturer first */
  g_assert_cmpint(actr_type_compare(&e, &a), <, 0); /* byte order: 'A' < 'a' */

  /* NULL strings are equal to each other and sort first. */
  ActrType z = {NULL, NULL, NULL};
  ActrType z2 = {NULL, NULL, NULL};
  ActrType empty = {"", "", ""};
  g_assert_true(actr_type_equal(&z, &z2));
  g_assert_false(actr_type_equal(&z, &empty));
  g_assert_cmpuint(actr_type_hash(&z), ==, actr_type_hash(&z2));
  g_assert_cmpint(actr_type_compare(&z, &empty), <, 0);

  /* Works as a GHashTable key. */
  g_autoptr(GHashTable) table =
      g_hash_table_new((GHashFunc)actr_type_hash, (GEqualFunc)actr_type_equal);
  g_hash_table_add(table, &a);
  g_assert_true(g_hash_table_contains(table, &a2));
  g_assert_false(g_hash_table_contains(table, &b));
}

/* ---------------------------------------------------------------------------
 * ActrId
 */

static void
test_id_spec_example(void)
{
  g_auto(ActrId) id = {0, 0, {NULL, NULL, NULL}};
  g_autoptr(GError) error = NULL;
  g_assert_true(actr_id_parse("1a2b3c@101/acme:echo:1.0.0", &id, &error));
  g_assert_no_error(error);
  g_assert_cmphex(id.serial_number, ==, 0x1a2b3c);
  g_assert_cmpuint(id.realm_id, ==, 101);
  g_assert_cmpstr(id.type.manufacturer, ==, "acme");
  g_assert_cmpstr(id.type.name, ==, "echo");
  g_assert_cmpstr(id.type.version, ==, "1.0.0");

  g_autofree char *text = actr_id_to_string(&id);
  g_assert_cmpstr(text, ==, "1a2b3c@101/acme:echo:1.0.0");
}

static void
test_id_round_trip(void)
{
  static const char *const canonical[] = {
      "0@0/a:b:c",
      "1@1/acme:echo:1",
      "ffffffffffffffff@4294967295/acme:echo:1.0.0",
      "8000000000000000@2147483648/acme:echo:1.0.0",
      "deadbeef@7/Acme-Corp:svc.v2:2.0-rc1",
      "1a2b3c@101/acme:echo:1.0/beta@x", /* '/' and '@' inside the version */
  };
  for (guint i = 0; i < G_N_ELEMENTS(canonical); i++) {
    g_auto(ActrId) id = {0, 0, {NULL, NULL, NULL}};
    g_autoptr(GError) error = NULL;
    g_assert_true(actr_id_parse(canonical[i], &id, &error));
    g_assert_no_error(error);
    g_autofree char *text = actr_id_to_string(&id);
    g_assert_cmpstr(text, ==, canonical[i]);
  }

  g_auto(ActrId) max = {0, 0, {NULL, NULL, NULL}};
  g_assert_true(actr_id_parse("ffffffffffffffff@4294967295/a:b:c", &max, NULL));
  g_assert_cmphex(max.serial_number, ==, G_MAXUINT64);
  g_assert_cmpuint(max.realm_id, ==, G_MAXUINT32);
}

/* Parse is lenient about case and leading zeros; format is canonical. */
static void
test_id_parse_lenient(void)
{
  static const struct {
    const char *text;
    const char *canonical;
  } cases[] = {
      {"1A2B3C@101/acme:echo:1.0.0", "1a2b3c@101/acme:echo:1.0.0"},
      {"001a2b3c@101/acme:echo:1.0.0", "1a2b3c@101/acme:echo:1.0.0"},
      {"0000@0101/acme:echo:1.0.0", "0@101/acme:echo:1.0.0"},
      {"00000000000000000000ffffffffffffffff@1/a:b:c", "ffffffffffffffff@1/a:b:c"},
      {"1@00000000004294967295/a:b:c", "1@4294967295/a:b:c"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_auto(ActrId) id = {0, 0, {NULL, NULL, NULL}};
    g_autoptr(GError) error = NULL;
    g_assert_true(actr_id_parse(cases[i].text, &id, &error));
    g_assert_no_error(error);
    g_autofree char *text = actr_id_to_string(&id);
    g_assert_cmpstr(text, ==, cases[i].canonical);
  }
}

static void
test_id_parse_reject(void)
{
  static const TextCase bad[] = {
      {"", "missing '@'"},
      {"1a2b3c", "missing '@'"},
      {"1a2b3c/101/acme:echo:1", "missing '@'"},
      {"1a2b3c@101", "missing '/'"},
      {"1a2b3c@101:acme:echo:1", "missing '/'"},
      {"@101/acme:echo:1", "serial number is empty"},
      {"0x1a@101/acme:echo:1", "hexadecimal"},
      {"1g@101/acme:echo:1", "hexadecimal"},
      {"+1a@101/acme:echo:1", "hexadecimal"},
      {"-1@101/acme:echo:1", "hexadecimal"},
      {" 1a@101/acme:echo:1", "hexadecimal"},
      {"10000000000000000@1/acme:echo:1", "64 bits"}, /* 2^64 */
      {"1a@/acme:echo:1", "realm is empty"},
      {"1a@4294967296/acme:echo:1", "32 bits"},
      {"1a@99999999999999999999999/acme:echo:1", "32 bits"},
      {"1a@+101/acme:echo:1", "decimal"},
      {"1a@-1/acme:echo:1", "decimal"},
      {"1a@0x10/acme:echo:1", "decimal"},
      {"1a@ 101/acme:echo:1", "decimal"},
      {"1a@1@2/acme:echo:1", "decimal"}, /* split at the first '@' */
      {"1a@101/", "expected manufacturer:name:version"},
      {"1a@101/acme:echo", "expected manufacturer:name:version"},
      {"1a@101/acme:echo:", "version must not be empty"},
      {"1a@101/acme:echo:1:2", "more than three"},
      {"1a@101/9acme:echo:1", "must start with an ASCII letter"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    ActrId id = {7, 7, {NULL, NULL, NULL}};
    g_autoptr(GError) error = NULL;
    g_test_message("id case '%s'", bad[i].text);
    g_assert_false(actr_id_parse(bad[i].text, &id, &error));
    g_assert_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_ID);
    g_assert_nonnull(strstr(error->message, bad[i].problem));
    g_assert_cmpuint(id.realm_id, ==, 7); /* untouched */
    g_assert_cmpuint(id.serial_number, ==, 7);
    g_assert_null(id.type.manufacturer);
  }
}

static void
test_id_copy_equal_hash_compare(void)
{
  g_auto(ActrId) a = {0, 0, {NULL, NULL, NULL}};
  g_auto(ActrId) b = {0, 0, {NULL, NULL, NULL}};
  g_assert_true(actr_id_parse("1a2b3c@101/acme:echo:1.0.0", &a, NULL));
  actr_id_copy(&a, &b);
  g_assert_true(actr_id_equal(&a, &b));
  g_assert_cmpuint(actr_id_hash(&a), ==, actr_id_hash(&b));
  g_assert_cmpint(actr_id_compare(&a, &b), ==, 0);
  g_assert_true(a.type.name != b.type.name);

  b.serial_number++;
  g_assert_false(actr_id_equal(&a, &b));
  g_assert_cmpint(actr_id_compare(&a, &b), <, 0);
  b.serial_number--;
  b.realm_id = 100; /* realm orders before serial */
  b.serial_number = G_MAXUINT64;
  g_assert_false(actr_id_equal(&a, &b));
  g_assert_cmpint(actr_id_compare(&b, &a), <, 0);
  b.realm_id = a.realm_id;
  b.serial_number = a.serial_number;
  g_free(b.type.version);
  b.type.version = g_strdup("1.0.1");
  g_assert_false(actr_id_equal(&a, &b));
  g_assert_cmpint(actr_id_compare(&a, &b), <, 0);

  actr_id_clear(&b);
  g_assert_cmpuint(b.realm_id, ==, 0);
  g_assert_cmpuint(b.serial_number, ==, 0);
  g_assert_null(b.type.manufacturer);
  actr_id_clear(&b); /* idempotent */

  g_autoptr(GHashTable) table =
      g_hash_table_new((GHashFunc)actr_id_hash, (GEqualFunc)actr_id_equal);
  g_hash_table_add(table, &a);
  ActrId probe = {101, 0x1a2b3c, {"acme", "echo", "1.0.0"}};
  g_assert_true(g_hash_table_contains(table, &probe));
  probe.realm_id = 102;
  g_assert_false(g_hash_table_contains(table, &probe));
}

/* ---------------------------------------------------------------------------
 * ActrId protobuf (the byte-level goldens are in test-golden.c)
 */

static void
test_id_encode_decode(void)
{
  ActrId id = {101, 0x1a2b3c, {"acme", "echo", "1.0.0"}};
  g_autoptr(GBytes) bytes = actr_id_encode(&id);
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);

  g_auto(ActrId) back = {0, 0, {NULL, NULL, NULL}};
  g_autoptr(GError) error = NULL;
  g_assert_true(actr_id_decode(data, len, &back, &error));
  g_assert_no_error(error);
  g_assert_true(actr_id_equal(&id, &back));

  /* The zero value encodes every required field and decodes to "" strings. */
  ActrId zero = {0, 0, {NULL, NULL, NULL}};
  g_autoptr(GBytes) zero_bytes = actr_id_encode(&zero);
  static const guint8 zero_wire[] = {0x0a, 0x02, 0x08, 0x00, 0x10, 0x00, 0x1a,
                                     0x06, 0x0a, 0x00, 0x12, 0x00, 0x1a, 0x00};
  g_assert_cmpmem(g_bytes_get_data(zero_bytes, NULL), g_bytes_get_size(zero_bytes), zero_wire,
                  sizeof zero_wire);
  g_auto(ActrId) zero_back = {0, 0, {NULL, NULL, NULL}};
  g_assert_true(actr_id_decode(zero_wire, sizeof zero_wire, &zero_back, NULL));
  g_assert_cmpstr(zero_back.type.manufacturer, ==, "");

  /* Lenient: the empty message is an ActrId with every field zero. */
  g_auto(ActrId) empty = {0, 0, {NULL, NULL, NULL}};
  g_assert_true(actr_id_decode(NULL, 0, &empty, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(empty.realm_id, ==, 0);
  g_assert_cmpuint(empty.serial_number, ==, 0);
  g_assert_cmpstr(empty.type.manufacturer, ==, "");
  g_assert_cmpstr(empty.type.name, ==, "");
  g_assert_cmpstr(empty.type.version, ==, "");
  g_assert_false(actr_type_validate(&empty.type, NULL)); /* decode does not validate */

  /* Names are not validated on decode: "9bad" comes through. */
  static const guint8 bad_name[] = {0x0a, 0x02, 0x08, 0x01, 0x10, 0x02, 0x1a, 0x0b, 0x0a, 0x04,
                                    '9',  'b',  'a',  'd',  0x12, 0x01, 'n',  0x1a, 0x00};
  g_auto(ActrId) odd = {0, 0, {NULL, NULL, NULL}};
  g_assert_true(actr_id_decode(bad_name, sizeof bad_name, &odd, NULL));
  g_assert_cmpstr(odd.type.manufacturer, ==, "9bad");

  /* Malformed input fails cleanly and leaves @out untouched. */
  ActrId untouched = {7, 7, {NULL, NULL, NULL}};
  g_assert_false(actr_id_decode(data, len - 1, &untouched, &error));
  g_assert_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_DECODE);
  g_assert_cmpuint(untouched.realm_id, ==, 7);
  g_assert_null(untouched.type.manufacturer);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);

  g_test_add_func("/proto/name/accept", test_name_accept);
  g_test_add_func("/proto/name/reject", test_name_reject);
  g_test_add_func("/proto/type/parse-format", test_type_parse_format);
  g_test_add_func("/proto/type/parse-reject", test_type_parse_reject);
  g_test_add_func("/proto/type/validate", test_type_validate);
  g_test_add_func("/proto/type/copy-clear", test_type_copy_clear);
  g_test_add_func("/proto/type/equal-hash-compare", test_type_equal_hash_compare);
  g_test_add_func("/proto/id/spec-example", test_id_spec_example);
  g_test_add_func("/proto/id/round-trip", test_id_round_trip);
  g_test_add_func("/proto/id/parse-lenient", test_id_parse_lenient);
  g_test_add_func("/proto/id/parse-reject", test_id_parse_reject);
  g_test_add_func("/proto/id/copy-equal-hash-compare", test_id_copy_equal_hash_compare);
  g_test_add_func("/proto/id/encode-decode", test_id_encode_decode);

  return g_test_run();
}
