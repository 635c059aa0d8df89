/* Unit tests: the signaling registry (memory backend), the route-candidate
 * ranking of wire.md §4.6.8 and the offerer rule of §4.6.9. */
#include "actrd-registry.h"
#include "codec.h"

#include <math.h>

/* Short names of the ranking factors. */
#define FACTOR(name)                                                                               \
  ACTR__ROUTE_CANDIDATES_REQUEST__NODE_SELECTION_CRITERIA__NODE_RANKING_FACTOR__##name
#define F_POWER    FACTOR(MAXIMUM_POWER_RESERVE)
#define F_BACKLOG  FACTOR(MINIMUM_MAILBOX_BACKLOG)
#define F_EXACT    FACTOR(EXACT_MATCH_FIRST)
#define F_NEAREST  FACTOR(NEAREST)
#define F_AFFINITY FACTOR(CLIENT_AFFINITY)

static ActrdRegistryEntry *
make_entry(guint32 realm, guint64 serial, const char *type)
{
  g_auto(ActrId) id = {0};
  ActrdRegistryEntry *e;

  id.realm_id = realm;
  id.serial_number = serial;
  g_assert_true(actr_type_parse(type, &id.type, NULL));
  e = actrd_registry_entry_new(&id);
  return e;
}

static void
set_fingerprint(ActrdRegistryEntry *e, const char *fp)
{
  Actr__ServiceSpec spec = ACTR__SERVICE_SPEC__INIT;
  g_autoptr(GBytes) bytes = NULL;
  gsize len;
  const guint8 *data;

  spec.name = (char *)"svc";
  spec.fingerprint = (char *)fp;
  bytes = actr_proto_message_encode(&spec.base);
  data = g_bytes_get_data(bytes, &len);
  e->spec = (Actr__ServiceSpec *)actr_proto_message_decode(&actr__service_spec__descriptor, data,
                                                           len, NULL);
  g_assert_nonnull(e->spec);
}

static void
set_load(ActrdRegistryEntry *e, int availability, float power, float backlog)
{
  e->availability = availability;
  e->power_reserve = power;
  e->mailbox_backlog = backlog;
  e->has_load = TRUE;
}

static guint64
serial_at(GPtrArray *a, guint i)
{
  return ((ActrdRegistryEntry *)g_ptr_array_index(a, i))->id.serial_number;
}

static void
assert_order(GPtrArray *a, const guint64 *expected, guint n)
{
  g_assert_cmpuint(a->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint(serial_at(a, i), ==, expected[i]);
}

/* ---- registry ------------------------------------------------------------ */

static gboolean
collect(ActrdRegistryEntry *e, gpointer data)
{
  g_ptr_array_add(data, e);
  return TRUE;
}

static void
test_registry_basic(void)
{
  g_autoptr(ActrdRegistry) r = actrd_registry_new_memory();
  g_autoptr(GPtrArray) found = g_ptr_array_new();
  g_auto(ActrType) echo = {0};
  ActrdRegistryEntry *e;

  g_assert_true(actr_type_parse("acme:echo:1.0.0", &echo, NULL));
  actrd_registry_put(r, make_entry(1, 10, "acme:echo:1.0.0"));
  actrd_registry_put(r, make_entry(1, 11, "acme:echo:2.0.0"));
  actrd_registry_put(r, make_entry(2, 10, "acme:echo:1.0.0"));
  actrd_registry_put(r, make_entry(1, 12, "acme:echo:1.0.0"));
  g_assert_cmpuint(actrd_registry_size(r), ==, 4);

  e = actrd_registry_lookup(r, 2, 10);
  g_assert_nonnull(e);
  g_assert_cmpuint(e->id.realm_id, ==, 2);
  g_assert_null(actrd_registry_lookup(r, 3, 10));

  /* Exact type including the version; insertion order. */
  actrd_registry_find_by_type(r, &echo, found);
  g_assert_cmpuint(found->len, ==, 3);
  g_assert_cmpuint(serial_at(found, 0), ==, 10);
  g_assert_cmpuint(((ActrdRegistryEntry *)found->pdata[1])->id.realm_id, ==, 2);
  g_assert_cmpuint(serial_at(found, 2), ==, 12);

  /* Heartbeat. */
  g_assert_true(actrd_registry_update_load(r, 1, 12, 1, 3.5f, 0.25f, 42));
  e = actrd_registry_lookup(r, 1, 12);
  g_assert_true(e->has_load);
  g_assert_cmpint(e->availability, ==, 1);
  g_assert_cmpint(e->last_heartbeat_us, ==, 42);
  g_assert_false(actrd_registry_update_load(r, 9, 9, 1, 3.5f, 0.25f, 42));

  /* Replacement appends; removal. */
  actrd_registry_put(r, make_entry(1, 10, "acme:echo:1.0.0"));
  g_assert_cmpuint(actrd_registry_size(r), ==, 4);
  g_ptr_array_set_size(found, 0);
  actrd_registry_find_by_type(r, &echo, found);
  g_assert_cmpuint(serial_at(found, 2), ==, 10);
  g_assert_true(actrd_registry_remove(r, 1, 11));
  g_assert_false(actrd_registry_remove(r, 1, 11));
  g_assert_cmpuint(actrd_registry_size(r), ==, 3);

  g_ptr_array_set_size(found, 0);
  actrd_registry_foreach(r, collect, found);
  g_assert_cmpuint(found->len, ==, 3);
  g_assert_cmpuint(serial_at(found, 0), ==, 10); /* realm 2 */
  g_assert_cmpuint(serial_at(found, 1), ==, 12);
  g_assert_cmpuint(serial_at(found, 2), ==, 10);

  /* Emptying a type bucket and re-adding works. */
  g_assert_true(actrd_registry_remove(r, 1, 10));
  g_assert_true(actrd_registry_remove(r, 2, 10));
  g_assert_true(actrd_registry_remove(r, 1, 12));
  g_ptr_array_set_size(found, 0);
  actrd_registry_find_by_type(r, &echo, found);
  g_assert_cmpuint(found->len, ==, 0);
  actrd_registry_put(r, make_entry(1, 13, "acme:echo:1.0.0"));
  actrd_registry_find_by_type(r, &echo, found);
  g_assert_cmpuint(found->len, ==, 1);
}

static void
test_registry_many(void)
{
  g_autoptr(ActrdRegistry) r = actrd_registry_new_memory();

  for (guint64 i = 0; i < 5000; i++)
    actrd_registry_put(r, make_entry(1 + i % 3, i, i % 2 ? "a:b:1" : "a:c:1"));
  g_assert_cmpuint(actrd_registry_size(r), ==, 5000);
  for (guint64 i = 0; i < 5000; i += 2)
    g_assert_true(actrd_registry_remove(r, 1 + i % 3, i));
  g_assert_cmpuint(actrd_registry_size(r), ==, 2500);
}

/* ---- ranking --------------------------------------------------------------- */

typedef struct {
  GPtrArray *owned; /* entries */
  GPtrArray *list;  /* candidates view */
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
  f->owned = g_ptr_array_new_with_free_func((GDestroyNotify)actrd_registry_entry_free);
  f->list = g_ptr_array_new();
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
  g_ptr_array_unref(f->list);
  g_ptr_array_unref(f->owned);
}

static ActrdRegistryEntry *
add(Fixture *f, guint64 serial)
{
  ActrdRegistryEntry *e = make_entry(1, serial, "acme:echo:1.0.0");
  g_ptr_array_add(f->owned, e);
  g_ptr_array_add(f->list, e);
  return e;
}

static void
criteria_init(Actr__RouteCandidatesRequest__NodeSelectionCriteria *c, guint count, int *factors,
              gsize n)
{
  actr__route_candidates_request__node_selection_criteria__init(c);
  c->candidate_count = count;
  c->ranking_factors = (void *)factors;
  c->n_ranking_factors = n;
}

static void
test_rank_no_criteria(Fixture *f, gconstpointer data)
{
  const guint64 expected[] = {3, 1, 2};
  add(f, 3);
  add(f, 1);
  set_load(add(f, 2), 0, 5.0f, 0.0f);
  actrd_rank_candidates(f->list, NULL, NULL, "fp", NULL);
  assert_order(f->list, expected, 3);
}

static void
test_rank_power(Fixture *f, gconstpointer data)
{
  Actr__RouteCandidatesRequest__NodeSelectionCriteria c;
  int factors[] = {F_POWER};
  const guint64 expected[] = {2, 3, 4, 1};

  add(f, 1); /* unknown = 0.0 */
  set_load(add(f, 2), 0, 4.5f, 0.9f);
  set_load(add(f, 3), 0, 2.0f, 0.1f);
  set_load(add(f, 4), 0, 2.0f, 0.0f); /* tie with 3: keeps order */
  criteria_init(&c, 10, factors, 1);
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  assert_order(f->list, expected, 4);
}

static void
test_rank_backlog(Fixture *f, gconstpointer data)
{
  Actr__RouteCandidatesRequest__NodeSelectionCriteria c;
  int factors[] = {F_BACKLOG};
  const guint64 expected[] = {3, 2, 1, 4};

  add(f, 1); /* unknown = 1.0 */
  set_load(add(f, 2), 0, 1.0f, 0.5f);
  set_load(add(f, 3), 0, 1.0f, 0.1f);
  set_load(add(f, 4), 0, 1.0f, 1.0f); /* equals unknown: stays after 1 */
  criteria_init(&c, 10, factors, 1);
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  assert_order(f->list, expected, 4);
}

static void
test_rank_exact(Fixture *f, gconstpointer data)
{
  Actr__RouteCandidatesRequest__NodeSelectionCriteria c;
  int factors[] = {F_EXACT};
  const guint64 expected[] = {3, 4, 1, 2};
  const guint64 unchanged[] = {1, 2, 3, 4};

  set_fingerprint(add(f, 1), "other");
  add(f, 2); /* no spec */
  set_fingerprint(add(f, 3), "sha256:abc");
  set_fingerprint(add(f, 4), "sha256:abc");
  criteria_init(&c, 10, factors, 1);
  /* Empty / blank fingerprint: nobody matches. */
  actrd_rank_candidates(f->list, &c, NULL, "  ", NULL);
  assert_order(f->list, unchanged, 4);
  /* Trimmed. */
  actrd_rank_candidates(f->list, &c, NULL, " sha256:abc\n", NULL);
  assert_order(f->list, expected, 4);
}

static void
test_rank_multi_key(Fixture *f, gconstpointer data)
{
  Actr__RouteCandidatesRequest__NodeSelectionCriteria c;
  int factors[] = {F_EXACT, F_POWER, F_BACKLOG};
  const guint64 expected[] = {4, 2, 5, 1, 3};

  set_load(add(f, 1), 0, 3.0f, 0.2f);
  set_load(add(f, 2), 0, 4.0f, 0.5f);
  set_load(add(f, 3), 0, 3.0f, 0.3f);
  set_load(add(f, 4), 0, 1.0f, 0.9f);
  set_load(add(f, 5), 0, 4.0f, 0.6f);
  set_fingerprint(f->owned->pdata[3], "fp");
  criteria_init(&c, 10, factors, 3);
  actrd_rank_candidates(f->list, &c, NULL, "fp", NULL);
  assert_order(f->list, expected, 5);
}

static void
test_rank_unknown_factor_and_truncate(Fixture *f, gconstpointer data)
{
  Actr__RouteCandidatesRequest__NodeSelectionCriteria c;
  int factors[] = {99, -1, F_POWER};
  const guint64 expected[] = {2, 3};

  set_load(add(f, 1), 0, 1.0f, 0.0f);
  set_load(add(f, 2), 0, 3.0f, 0.0f);
  set_load(add(f, 3), 0, 2.0f, 0.0f);
  criteria_init(&c, 2, factors, 3);
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  assert_order(f->list, expected, 2);

  criteria_init(&c, 0, NULL, 0);
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  g_assert_cmpuint(f->list->len, ==, 0);
}

static void
test_rank_health(Fixture *f, gconstpointer data)
{
  Actr__RouteCandidatesRequest__NodeSelectionCriteria c;
  const guint64 full_only[] = {3};
  const guint64 degraded[] = {3, 2, 1};
  const guint64 overloaded[] = {3, 2, 1, 4};

  add(f, 1);                          /* unknown: counted as 2 */
  set_load(add(f, 2), 1, 1.0f, 0.0f); /* DEGRADED */
  set_load(add(f, 3), 0, 1.0f, 0.0f); /* FULL */
  set_load(add(f, 4), 2, 1.0f, 0.0f); /* OVERLOADED */
  set_load(add(f, 5), 3, 1.0f, 0.0f); /* UNAVAILABLE */
  g_autoptr(GPtrArray) copy = g_ptr_array_copy(f->list, NULL, NULL);

  /* FULL: unknown is filtered out. */
  criteria_init(&c, 10, NULL, 0);
  c.has_minimal_health_requirement = TRUE;
  c.minimal_health_requirement = ACTR__SERVICE_AVAILABILITY_STATE__FULL;
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  assert_order(f->list, full_only, 1);

  /* DEGRADED: unknown passes, sorted as 2 (after DEGRADED). */
  g_ptr_array_unref(f->list);
  f->list = g_ptr_array_copy(copy, NULL, NULL);
  c.minimal_health_requirement = ACTR__SERVICE_AVAILABILITY_STATE__DEGRADED;
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  assert_order(f->list, degraded, 3);

  /* OVERLOADED: unknown ties with OVERLOADED and keeps registry order. */
  g_ptr_array_unref(f->list);
  f->list = g_ptr_array_copy(copy, NULL, NULL);
  c.minimal_health_requirement = ACTR__SERVICE_AVAILABILITY_STATE__OVERLOADED;
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  assert_order(f->list, overloaded, 4);
}

static void
test_rank_dependency(Fixture *f, gconstpointer data)
{
  Actr__RouteCandidatesRequest__NodeSelectionCriteria c;
  const guint64 all[] = {1, 2};

  add(f, 1);
  add(f, 2);
  g_autoptr(GPtrArray) copy = g_ptr_array_copy(f->list, NULL, NULL);
  criteria_init(&c, 10, NULL, 0);
  c.has_minimal_dependency_requirement = TRUE;
  c.minimal_dependency_requirement = ACTR__SERVICE_DEPENDENCY_STATE__HEALTHY;
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  g_assert_cmpuint(f->list->len, ==, 0); /* unknown fails HEALTHY */

  g_ptr_array_unref(f->list);
  f->list = g_ptr_array_copy(copy, NULL, NULL);
  c.minimal_dependency_requirement = ACTR__SERVICE_DEPENDENCY_STATE__WARNING;
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  assert_order(f->list, all, 2);
}

static void
test_rank_nearest(Fixture *f, gconstpointer data)
{
  Actr__RouteCandidatesRequest__NodeSelectionCriteria c;
  Actr__ServiceLocation here = ACTR__SERVICE_LOCATION__INIT;
  int factors[] = {F_NEAREST};
  const guint64 expected[] = {3, 2, 1};
  const guint64 located_first[] = {2, 3, 1};
  ActrdRegistryEntry *e;

  add(f, 1); /* no location: last */
  e = add(f, 2);
  e->has_location = TRUE;
  e->latitude = 48.85; /* Paris */
  e->longitude = 2.35;
  e = add(f, 3);
  e->has_location = TRUE;
  e->latitude = 52.52; /* Berlin */
  e->longitude = 13.40;
  g_autoptr(GPtrArray) copy = g_ptr_array_copy(f->list, NULL, NULL);

  here.has_latitude = here.has_longitude = TRUE;
  here.latitude = 52.23; /* Warsaw */
  here.longitude = 21.01;
  criteria_init(&c, 10, factors, 1);
  actrd_rank_candidates(f->list, &c, &here, NULL, NULL);
  assert_order(f->list, expected, 3);

  /* No client location: located entries first, otherwise stable. */
  g_ptr_array_unref(f->list);
  f->list = g_ptr_array_copy(copy, NULL, NULL);
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  assert_order(f->list, located_first, 3);

  /* Paris-Berlin is about 878 km. */
  g_assert_cmpfloat(fabs(actrd_haversine_km(48.85, 2.35, 52.52, 13.40) - 878.0), <, 5.0);
  g_assert_cmpfloat(actrd_haversine_km(10, 10, 10, 10), ==, 0.0);
}

static void
test_rank_affinity(Fixture *f, gconstpointer data)
{
  Actr__RouteCandidatesRequest__NodeSelectionCriteria c;
  int factors[] = {F_AFFINITY};
  const guint64 expected[] = {2, 1, 3};
  const guint64 unchanged[] = {1, 2, 3};
  ActrdRegistryEntry *e;

  add(f, 1);
  e = add(f, 2);
  e->sticky_client_ids = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(e->sticky_client_ids, g_strdup("client-a"));
  add(f, 3);
  criteria_init(&c, 10, factors, 1);
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  assert_order(f->list, unchanged, 3);
  actrd_rank_candidates(f->list, &c, NULL, NULL, "client-a");
  assert_order(f->list, expected, 3);
}

static void
test_rank_stability(Fixture *f, gconstpointer data)
{
  Actr__RouteCandidatesRequest__NodeSelectionCriteria c;
  int factors[] = {F_POWER};

  for (guint64 i = 0; i < 200; i++)
    set_load(add(f, i), 0, (float)(i % 3), 0.0f);
  criteria_init(&c, 1000, factors, 1);
  actrd_rank_candidates(f->list, &c, NULL, NULL, NULL);
  g_assert_cmpuint(f->list->len, ==, 200);
  for (guint i = 1; i < f->list->len; i++) {
    ActrdRegistryEntry *a = f->list->pdata[i - 1], *b = f->list->pdata[i];
    g_assert_cmpfloat(a->power_reserve, >=, b->power_reserve);
    if (a->power_reserve == b->power_reserve)
      g_assert_cmpuint(a->id.serial_number, <, b->id.serial_number);
  }
}

/* ---- offerer rule -------------------------------------------------------------- */

static void
test_offerer(void)
{
  g_auto(ActrId) a = {0};
  g_auto(ActrId) b = {0};
  g_auto(ActrId) c = {0};
  g_auto(ActrId) d = {0};

  g_assert_true(actr_id_parse("10@1/acme:echo:1.0.0", &a, NULL));
  g_assert_true(actr_id_parse("20@1/acme:echo:1.0.0", &b, NULL));
  g_assert_true(actr_id_parse("5@2/acme:echo:1.0.0", &c, NULL));
  g_assert_true(actr_id_parse("10@1/acme:zzz:1.0.0", &d, NULL));

  /* Tuple comparison: larger serial offers; realm first; then names. */
  g_assert_false(actrd_is_offerer(&a, FALSE, &b, FALSE));
  g_assert_true(actrd_is_offerer(&b, FALSE, &a, FALSE));
  g_assert_true(actrd_is_offerer(&c, FALSE, &b, FALSE));
  g_assert_true(actrd_is_offerer(&d, FALSE, &a, FALSE));
  g_assert_false(actrd_is_offerer(&a, FALSE, &a, FALSE));
  /* Exactly one side prefers answering. */
  g_assert_false(actrd_is_offerer(&b, TRUE, &a, FALSE));
  g_assert_true(actrd_is_offerer(&a, FALSE, &b, TRUE));
  /* Both prefer answering: tuple rule again. */
  g_assert_true(actrd_is_offerer(&b, TRUE, &a, TRUE));
  g_assert_false(actrd_is_offerer(&a, TRUE, &b, TRUE));
  /* Complementary for any pair. */
  for (int fa = 0; fa < 2; fa++)
    for (int fb = 0; fb < 2; fb++)
      g_assert_true(actrd_is_offerer(&a, fa, &b, fb) != actrd_is_offerer(&b, fb, &a, fa));
}

#define RANK_TEST(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/registry/basic", test_registry_basic);
  g_test_add_func("/registry/many", test_registry_many);
  RANK_TEST("/rank/no-criteria", test_rank_no_criteria);
  RANK_TEST("/rank/power", test_rank_power);
  RANK_TEST("/rank/backlog", test_rank_backlog);
  RANK_TEST("/rank/exact", test_rank_exact);
  RANK_TEST("/rank/multi-key", test_rank_multi_key);
  RANK_TEST("/rank/unknown-factor-truncate", test_rank_unknown_factor_and_truncate);
  RANK_TEST("/rank/health", test_rank_health);
  RANK_TEST("/rank/dependency", test_rank_dependency);
  RANK_TEST("/rank/nearest", test_rank_nearest);
  RANK_TEST("/rank/affinity", test_rank_affinity);
  RANK_TEST("/rank/stability", test_rank_stability);
  g_test_add_func("/offerer/rule", test_offerer);
  return g_test_run();
}
