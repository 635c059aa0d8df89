/* Unit tests for src/node/acl.c (runtime.md §4, wire.md §5.7). */
#include "acl.h"

#include <string.h>

/* ---- Helpers ----------------------------------------------------------------- */

/* A rule list under construction (owns the rule types). */
typedef struct {
  GArray *rules; /* ActrAclRule */
} Rules;

static void
rules_init(Rules *r)
{
  r->rules = g_array_new(FALSE, TRUE, sizeof(ActrAclRule));
}

static void
rules_clear(Rules *r)
{
  for (guint i = 0; i < r->rules->len; i++)
    actr_type_clear(&g_array_index(r->rules, ActrAclRule, i).type);
  g_array_free(r->rules, TRUE);
}

/* Appends a rule; @line is the rule's line in a pretend config file. */
static void
add_rule(Rules *r, ActrAclPermission permission, const char *type, ActrAclRealm realm,
         guint32 realm_id, guint line)
{
  ActrAclRule rule = {permission, {NULL, NULL, NULL}, realm, realm_id, line};
  g_assert_true(actr_type_parse(type, &rule.type, NULL));
  g_array_append_val(r->rules, rule);
}

static ActrAcl *
compile(Rules *r)
{
  return actr_acl_new(TRUE, (const ActrAclRule *)r->rules->data, r->rules->len);
}

/* A caller "<serial>@<realm>/<type>". */
static ActrId
caller(const char *type, guint32 realm)
{
  ActrId id = {realm, 0x1234, {NULL, NULL, NULL}};
  g_assert_true(actr_type_parse(type, &id.type, NULL));
  return id;
}

/* Checks @type from @realm; asserts the decision and, on deny, that the
 * reason equals @expect_reason (when not NULL). */
static void
expect(const ActrAcl *acl, const char *type, guint32 realm, ActrAclDecision decision,
       const char *expect_reason)
{
  g_auto(ActrId) id = caller(type, realm);
  char *reason = (char *)"not written";
  ActrAclDecision got = actr_acl_check(acl, &id, &reason);
  if (got != decision)
    g_error("%s from realm %u: expected %s, got %s (%s)", type, realm,
            decision == ACTR_ACL_DECISION_ALLOW ? "allow" : "deny",
            got == ACTR_ACL_DECISION_ALLOW ? "allow" : "deny", reason ? reason : "no reason");
  if (decision == ACTR_ACL_DECISION_ALLOW) {
    g_assert_null(reason);
  } else {
    g_assert_nonnull(reason);
    g_assert_true(g_str_has_prefix(reason, "ACL denied: "));
    if (expect_reason != NULL)
      g_assert_cmpstr(reason, ==, expect_reason);
    g_free(reason);
  }
  /* Same decision without asking for a reason. */
  g_assert_cmpint(actr_acl_check(acl, &id, NULL), ==, decision);
}

#define ALLOW ACTR_ACL_DECISION_ALLOW
#define DENY  ACTR_ACL_DECISION_DENY

/* ---- Evaluation order, steps 1-3 --------------------------------------------- */

/* Step 1: no caller (local / in-process) -> allow, even with an ACL that
 * would deny everybody. */
static void
test_null_caller(void)
{
  g_autoptr(ActrAcl) empty = actr_acl_new(TRUE, NULL, 0);
  char *reason = (char *)"not written";
  g_assert_cmpint(actr_acl_check(empty, NULL, &reason), ==, ALLOW);
  g_assert_null(reason);

  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_DENY, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 3);
  g_autoptr(ActrAcl) deny_all = compile(&r);
  g_assert_cmpint(actr_acl_check(deny_all, NULL, NULL), ==, ALLOW);
  rules_clear(&r);

  g_autoptr(ActrAcl) none = actr_acl_new(FALSE, NULL, 0);
  g_assert_cmpint(actr_acl_check(none, NULL, NULL), ==, ALLOW);
}

/* Step 2: no ACL configured -> allow every remote caller; rules passed
 * along with present=FALSE are ignored. */
static void
test_no_acl(void)
{
  g_autoptr(ActrAcl) none = actr_acl_new(FALSE, NULL, 0);
  expect(none, "acme:client:1.0.0", 5, ALLOW, NULL);
  expect(none, "other:thing:9", 0, ALLOW, NULL);

  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_DENY, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 3);
  g_autoptr(ActrAcl) ignored =
      actr_acl_new(FALSE, (const ActrAclRule *)r.rules->data, r.rules->len);
  rules_clear(&r);
  expect(ignored, "acme:client:1.0.0", 5, ALLOW, NULL);
}

/* Step 3: an ACL with zero rules denies every remote caller. */
static void
test_zero_rules(void)
{
  g_autoptr(ActrAcl) empty = actr_acl_new(TRUE, NULL, 0);
  expect(empty, "acme:x:1", 3, DENY,
         "ACL denied: no rule allows acme:x:1 from realm 3 (the ACL has no rules)");
  expect(empty, "acme:client:1.0.0", 0, DENY, NULL);

  /* A non-NULL array with n_rules = 0 is the same. */
  ActrAclRule unused = {ACTR_ACL_ALLOW, {NULL, NULL, NULL}, ACTR_ACL_REALM_ANY, 0, 1};
  g_autoptr(ActrAcl) empty2 = actr_acl_new(TRUE, &unused, 0);
  expect(empty2, "acme:x:1", 3, DENY, NULL);
}

/* ---- Steps 4-6: matching --------------------------------------------------------- */

static void
test_allow_match(void)
{
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 7);
  g_autoptr(ActrAcl) acl = compile(&r);
  rules_clear(&r);

  expect(acl, "acme:client:1.0.0", 5, ALLOW, NULL);
  /* Step 6: nothing matched -> deny. */
  expect(acl, "acme:x:1", 3, DENY, "ACL denied: no rule allows acme:x:1 from realm 3");
}

/* The type must match exactly: manufacturer, name AND version. */
static void
test_exact_type(void)
{
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 1);
  g_autoptr(ActrAcl) acl = compile(&r);
  rules_clear(&r);

  expect(acl, "acme:client:1.0.0", 1, ALLOW, NULL);
  expect(acl, "acme:client:1.0.1", 1, DENY,
         "ACL denied: no rule allows acme:client:1.0.1 from realm 1");
  expect(acl, "acme:client:1.0", 1, DENY, NULL);
  expect(acl, "acme:client:1.0.0-rc1", 1, DENY, NULL);
  expect(acl, "acme:Client:1.0.0", 1, DENY, NULL); /* case matters */
  expect(acl, "acme:clients:1.0.0", 1, DENY, NULL);
  expect(acl, "acmf:client:1.0.0", 1, DENY, NULL);
  expect(acl, "ACME:client:1.0.0", 1, DENY, NULL);
  expect(acl, "client:acme:1.0.0", 1, DENY, NULL);
}

/* A DENY overrides an ALLOW whichever comes first in the list. */
static void
test_deny_overrides_allow(void)
{
  for (int order = 0; order < 2; order++) {
    Rules r;
    rules_init(&r);
    if (order == 0) {
      add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 10);
      add_rule(&r, ACTR_ACL_DENY, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 12);
    } else {
      add_rule(&r, ACTR_ACL_DENY, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 12);
      add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 10);
    }
    g_autoptr(ActrAcl) acl = compile(&r);
    rules_clear(&r);
    expect(acl, "acme:client:1.0.0", 5, DENY,
           "ACL denied: acme:client:1.0.0 in realm 5 matches DENY rule at line 12");
  }

  /* Many ALLOWs around one DENY; an ALLOW for another type is unaffected. */
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ID, 5, 1);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:other:1.0.0", ACTR_ACL_REALM_ANY, 0, 2);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 3);
  add_rule(&r, ACTR_ACL_DENY, "acme:client:1.0.0", ACTR_ACL_REALM_ID, 5, 4);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_SELF, 5, 5);
  g_autoptr(ActrAcl) acl = compile(&r);
  rules_clear(&r);
  expect(acl, "acme:client:1.0.0", 5, DENY,
         "ACL denied: acme:client:1.0.0 in realm 5 matches DENY rule at line 4");
  expect(acl, "acme:client:1.0.0", 6, ALLOW, NULL); /* the DENY is for realm 5 only */
  expect(acl, "acme:other:1.0.0", 5, ALLOW, NULL);
}

/* With several matching DENY rules, the reason names the first in the
 * list, wherever ALLOW rules sit. */
static void
test_first_deny_reported(void)
{
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 20);
  add_rule(&r, ACTR_ACL_DENY, "acme:client:1.0.0", ACTR_ACL_REALM_ID, 9, 21); /* no match */
  add_rule(&r, ACTR_ACL_DENY, "acme:client:1.0.0", ACTR_ACL_REALM_ID, 5, 22);
  add_rule(&r, ACTR_ACL_DENY, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 23);
  g_autoptr(ActrAcl) acl = compile(&r);
  rules_clear(&r);
  expect(acl, "acme:client:1.0.0", 5, DENY,
         "ACL denied: acme:client:1.0.0 in realm 5 matches DENY rule at line 22");
  expect(acl, "acme:client:1.0.0", 9, DENY,
         "ACL denied: acme:client:1.0.0 in realm 9 matches DENY rule at line 21");
  expect(acl, "acme:client:1.0.0", 1, DENY,
         "ACL denied: acme:client:1.0.0 in realm 1 matches DENY rule at line 23");
}

/* Rules built without a file (line 0) are named by position. */
static void
test_reason_without_line(void)
{
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 0);
  add_rule(&r, ACTR_ACL_DENY, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 0);
  g_autoptr(ActrAcl) acl = compile(&r);
  rules_clear(&r);
  expect(acl, "acme:client:1.0.0", 5, DENY,
         "ACL denied: acme:client:1.0.0 in realm 5 matches DENY rule 2 of 2");
}

/* Realm selectors: self (the config's realm, stored in realm_id), any, id. */
static void
test_realm_self(void)
{
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_SELF, 5, 1);
  g_autoptr(ActrAcl) acl = compile(&r);
  rules_clear(&r);
  expect(acl, "acme:client:1.0.0", 5, ALLOW, NULL);
  expect(acl, "acme:client:1.0.0", 6, DENY,
         "ACL denied: no rule allows acme:client:1.0.0 from realm 6");
  expect(acl, "acme:client:1.0.0", 0, DENY, NULL);
}

static void
test_realm_any(void)
{
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 1);
  add_rule(&r, ACTR_ACL_DENY, "acme:bad:1", ACTR_ACL_REALM_ANY, 0, 2);
  g_autoptr(ActrAcl) acl = compile(&r);
  rules_clear(&r);
  const guint32 realms[] = {0, 1, 5, 1000, G_MAXUINT32};
  for (guint i = 0; i < G_N_ELEMENTS(realms); i++) {
    expect(acl, "acme:client:1.0.0", realms[i], ALLOW, NULL);
    expect(acl, "acme:bad:1", realms[i], DENY, NULL);
  }
}

static void
test_realm_id(void)
{
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ID, 7, 1);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ID, G_MAXUINT32, 2);
  add_rule(&r, ACTR_ACL_DENY, "acme:spy:2", ACTR_ACL_REALM_ID, 7, 3);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:spy:2", ACTR_ACL_REALM_ANY, 0, 4);
  g_autoptr(ActrAcl) acl = compile(&r);
  rules_clear(&r);
  expect(acl, "acme:client:1.0.0", 7, ALLOW, NULL);
  expect(acl, "acme:client:1.0.0", G_MAXUINT32, ALLOW, NULL);
  expect(acl, "acme:client:1.0.0", 8, DENY, NULL);
  expect(acl, "acme:client:1.0.0", 0, DENY, NULL);
  expect(acl, "acme:spy:2", 7, DENY,
         "ACL denied: acme:spy:2 in realm 7 matches DENY rule at line 3");
  expect(acl, "acme:spy:2", 8, ALLOW, NULL);
}

/* A caller whose type is incomplete (e.g. decoded from a hostile peer
 * before validation) matches nothing and does not crash. */
static void
test_incomplete_caller(void)
{
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 1);
  g_autoptr(ActrAcl) acl = compile(&r);
  rules_clear(&r);

  ActrId blank = {5, 1, {NULL, NULL, NULL}};
  char *reason = NULL;
  g_assert_cmpint(actr_acl_check(acl, &blank, &reason), ==, DENY);
  g_assert_cmpstr(reason, ==, "ACL denied: no rule allows :: from realm 5");
  g_free(reason);

  ActrId partial = {5, 1, {(char *)"acme", (char *)"client", NULL}};
  g_assert_cmpint(actr_acl_check(acl, &partial, NULL), ==, DENY);
}

/* actr_acl_new() copies the rules: the caller may free them at once. */
static void
test_rules_copied(void)
{
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_ANY, 0, 1);
  add_rule(&r, ACTR_ACL_DENY, "acme:bad:1", ACTR_ACL_REALM_ANY, 0, 2);
  ActrAcl *acl = compile(&r);
  /* Overwrite, then free the caller's copy. */
  ActrAclRule *rules = (ActrAclRule *)r.rules->data;
  memset(rules[0].type.manufacturer, 'z', strlen(rules[0].type.manufacturer));
  rules[1].permission = ACTR_ACL_ALLOW;
  rules_clear(&r);

  expect(acl, "acme:client:1.0.0", 5, ALLOW, NULL);
  expect(acl, "acme:bad:1", 5, DENY, NULL);
  actr_acl_free(acl);
  actr_acl_free(NULL);
}

/* ---- Against a reference model ------------------------------------------------ */

/* runtime.md §4 written out naively, for comparison. */
static ActrAclDecision
reference_check(gboolean present, const ActrAclRule *rules, guint n, const ActrId *who,
                guint *deny_line)
{
  *deny_line = 0;
  if (who == NULL || !present)
    return ALLOW;
  if (n == 0)
    return DENY;
  gboolean allowed = FALSE;
  for (guint i = 0; i < n; i++) {
    const ActrAclRule *rule = &rules[i];
    gboolean realm_ok = rule->realm == ACTR_ACL_REALM_ANY || rule->realm_id == who->realm_id;
    if (!realm_ok || !actr_type_equal(&rule->type, &who->type))
      continue;
    if (rule->permission == ACTR_ACL_DENY) {
      *deny_line = rule->line;
      return DENY;
    }
    allowed = TRUE;
  }
  return allowed ? ALLOW : DENY;
}

/* Random rule sets over a small universe of types and realms (so that
 * matches, collisions and conflicts are frequent), and every caller in the
 * universe: the compiled ACL agrees with the model, reasons included.
 * Larger sets exercise the hash table's probing. */
static void
test_against_model(void)
{
  const char *names[] = {"a", "b", "client", "server", "x"};
  const char *versions[] = {"1", "1.0.0", "2"};
  GRand *rand = g_rand_new_with_seed(20240611);
  const guint sizes[] = {1, 2, 3, 5, 8, 40, 300};

  for (guint round = 0; round < 200; round++) {
    guint n = sizes[round % G_N_ELEMENTS(sizes)];
    Rules r;
    rules_init(&r);
    for (guint i = 0; i < n; i++) {
      g_autofree char *type =
          g_strdup_printf("m%d:%s:%s", g_rand_int_range(rand, 0, 3),
                          names[g_rand_int_range(rand, 0, G_N_ELEMENTS(names))],
                          versions[g_rand_int_range(rand, 0, G_N_ELEMENTS(versions))]);
      ActrAclRealm realm = (ActrAclRealm)g_rand_int_range(rand, 0, 3);
      guint32 realm_id = realm == ACTR_ACL_REALM_ANY ? 0 : (guint32)g_rand_int_range(rand, 1, 4);
      add_rule(&r, g_rand_int_range(rand, 0, 3) == 0 ? ACTR_ACL_DENY : ACTR_ACL_ALLOW, type, realm,
               realm_id, 100 + i);
    }
    const ActrAclRule *rules = (const ActrAclRule *)r.rules->data;
    g_autoptr(ActrAcl) acl = actr_acl_new(TRUE, rules, n);

    for (int m = 0; m < 3; m++)
      for (guint ni = 0; ni < G_N_ELEMENTS(names); ni++)
        for (guint vi = 0; vi < G_N_ELEMENTS(versions); vi++)
          for (guint32 realm = 0; realm < 5; realm++) {
            g_autofree char *type = g_strdup_printf("m%d:%s:%s", m, names[ni], versions[vi]);
            g_auto(ActrId) id = caller(type, realm);
            guint deny_line;
            ActrAclDecision want = reference_check(TRUE, rules, n, &id, &deny_line);
            g_autofree char *reason = NULL;
            ActrAclDecision got = actr_acl_check(acl, &id, &reason);
            g_assert_cmpint(got, ==, want);
            if (want == ALLOW) {
              g_assert_null(reason);
            } else if (deny_line != 0) {
              g_autofree char *expected =
                  g_strdup_printf("ACL denied: %s in realm %u matches DENY rule at line %u", type,
                                  realm, deny_line);
              g_assert_cmpstr(reason, ==, expected);
            } else {
              g_autofree char *expected =
                  g_strdup_printf("ACL denied: no rule allows %s from realm %u", type, realm);
              g_assert_cmpstr(reason, ==, expected);
            }
          }
    rules_clear(&r);
  }
  g_rand_free(rand);
}

/* ---- Threads -------------------------------------------------------------------- */

typedef struct {
  const ActrAcl *acl;
  guint errors;
} ThreadData;

static gpointer
check_many(gpointer data)
{
  ThreadData *t = data;
  g_auto(ActrId) good = caller("acme:client:1.0.0", 5);
  g_auto(ActrId) bad = caller("acme:bad:1", 5);
  for (guint i = 0; i < 20000; i++) {
    if (actr_acl_check(t->acl, &good, NULL) != ALLOW)
      t->errors++;
    char *reason = NULL;
    if (actr_acl_check(t->acl, &bad, &reason) != DENY || reason == NULL)
      t->errors++;
    g_free(reason);
  }
  return NULL;
}

/* One ActrAcl checked from several threads at once. */
static void
test_threads(void)
{
  Rules r;
  rules_init(&r);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:client:1.0.0", ACTR_ACL_REALM_SELF, 5, 1);
  add_rule(&r, ACTR_ACL_DENY, "acme:bad:1", ACTR_ACL_REALM_ANY, 0, 2);
  add_rule(&r, ACTR_ACL_ALLOW, "acme:bad:1", ACTR_ACL_REALM_ANY, 0, 3);
  g_autoptr(ActrAcl) acl = compile(&r);
  rules_clear(&r);

  ThreadData data[4];
  GThread *threads[4];
  for (guint i = 0; i < 4; i++) {
    data[i] = (ThreadData){acl, 0};
    threads[i] = g_thread_new("acl-check", check_many, &data[i]);
  }
  for (guint i = 0; i < 4; i++) {
    g_thread_join(threads[i]);
    g_assert_cmpuint(data[i].errors, ==, 0);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/acl/null-caller", test_null_caller);
  g_test_add_func("/acl/no-acl", test_no_acl);
  g_test_add_func("/acl/zero-rules", test_zero_rules);
  g_test_add_func("/acl/allow-match", test_allow_match);
  g_test_add_func("/acl/exact-type", test_exact_type);
  g_test_add_func("/acl/deny-overrides-allow", test_deny_overrides_allow);
  g_test_add_func("/acl/first-deny-reported", test_first_deny_reported);
  g_test_add_func("/acl/reason-without-line", test_reason_without_line);
  g_test_add_func("/acl/realm-self", test_realm_self);
  g_test_add_func("/acl/realm-any", test_realm_any);
  g_test_add_func("/acl/realm-id", test_realm_id);
  g_test_add_func("/acl/incomplete-caller", test_incomplete_caller);
  g_test_add_func("/acl/rules-copied", test_rules_copied);
  g_test_add_func("/acl/against-model", test_against_model);
  g_test_add_func("/acl/threads", test_threads);
  return g_test_run();
}
