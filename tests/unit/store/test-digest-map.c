/* Unit tests for src/store/digest-map.c, checked against a GHashTable model. */
#include "digest-map.h"

#include <string.h>

static void
test_uuid_digest(void)
{
  ActrDigest a, b, c;
  actr_digest_from_request_id("0f8fad5b-d9cb-469f-a165-70867728950e", &a);
  actr_digest_from_request_id("0F8FAD5B-D9CB-469F-A165-70867728950E", &b);
  g_assert_cmpmem(a.bytes, 16, b.bytes, 16); /* case-insensitive */
  g_assert_cmpuint(a.bytes[0], ==, 0x0f);
  g_assert_cmpuint(a.bytes[15], ==, 0x0e);
  actr_digest_from_request_id("0f8fad5b-d9cb-469f-a165-70867728950x", &c); /* not a UUID */
  g_assert_true(memcmp(a.bytes, c.bytes, 16) != 0);
  ActrDigest d, e;
  actr_digest_from_request_id("plain-id", &d);
  actr_digest_from_request_id("plain-id", &e);
  g_assert_cmpmem(d.bytes, 16, e.bytes, 16);
}

static void
test_against_model(void)
{
  ActrDigestMap *map = actr_digest_map_new();
  GHashTable *model = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GRand *rand = g_rand_new_with_seed(42);
  for (guint step = 0; step < 200000; step++) {
    g_autofree char *key = g_strdup_printf("k%u", g_rand_int_range(rand, 0, 5000));
    ActrDigest d;
    actr_digest_from_request_id(key, &d);
    gint64 got = -1;
    gboolean present = g_hash_table_contains(model, key);
    g_assert_cmpint(actr_digest_map_lookup(map, &d, &got), ==, present);
    if (present)
      g_assert_cmpint(got, ==, GPOINTER_TO_INT(g_hash_table_lookup(model, key)));
    if (g_rand_boolean(rand)) {
      gint value = g_rand_int_range(rand, 0, 1 << 30);
      actr_digest_map_insert(map, &d, value);
      g_hash_table_insert(model, g_strdup(key), GINT_TO_POINTER(value));
    } else {
      g_assert_cmpint(actr_digest_map_remove(map, &d), ==, present);
      g_hash_table_remove(model, key);
    }
    g_assert_cmpuint(actr_digest_map_size(map), ==, g_hash_table_size(model));
  }
  actr_digest_map_clear(map);
  g_assert_cmpuint(actr_digest_map_size(map), ==, 0);
  g_rand_free(rand);
  g_hash_table_unref(model);
  actr_digest_map_free(map);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/digest-map/uuid", test_uuid_digest);
  g_test_add_func("/digest-map/model", test_against_model);
  return g_test_run();
}
