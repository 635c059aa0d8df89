/* Unit tests for src/core/error.c: the wire error model (runtime.md §5.1). */
#include <actr/error.h>

static void
test_display_strings(void)
{
  static const struct {
    ActrErrorCode code;
    const char *display;
  } cases[] = {
      {ACTR_ERROR_UNAVAILABLE, "unavailable: x"},
      {ACTR_ERROR_TIMED_OUT, "timed out"},
      {ACTR_ERROR_NOT_FOUND, "not found: x"},
      {ACTR_ERROR_PERMISSION_DENIED, "permission denied: x"},
      {ACTR_ERROR_INVALID_ARGUMENT, "invalid argument: x"},
      {ACTR_ERROR_UNKNOWN_ROUTE, "unknown route: x"},
      {ACTR_ERROR_DEPENDENCY_NOT_FOUND, "dependency '' not found: x"},
      {ACTR_ERROR_DECODE_FAILURE, "decode failure: x"},
      {ACTR_ERROR_NOT_IMPLEMENTED, "not implemented: x"},
      {ACTR_ERROR_INTERNAL, "internal error: x"},
      {ACTR_ERROR_CONNECTION_NOT_READY, "connection not ready: x"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) e = actr_error_new(cases[i].code, "%s", "x");
    g_assert_error(e, ACTR_ERROR, (gint)cases[i].code);
    g_assert_cmpstr(e->message, ==, cases[i].display);
    g_assert_cmpuint(actr_error_wire_code(e), ==, cases[i].code);
  }
}

static void
test_kinds(void)
{
  g_assert_true(actr_error_code_is_retryable(ACTR_ERROR_UNAVAILABLE));
  g_assert_true(actr_error_code_is_retryable(ACTR_ERROR_TIMED_OUT));
  g_assert_true(actr_error_code_is_retryable(ACTR_ERROR_CONNECTION_NOT_READY));
  for (guint code = ACTR_ERROR_NOT_FOUND; code <= ACTR_ERROR_INTERNAL; code++)
    g_assert_false(actr_error_code_is_retryable(code));
  g_assert_cmpint(actr_error_code_kind(ACTR_ERROR_DECODE_FAILURE), ==, ACTR_ERROR_KIND_CORRUPT);
  g_assert_cmpint(actr_error_code_kind(ACTR_ERROR_UNKNOWN_ROUTE), ==, ACTR_ERROR_KIND_CLIENT);
  g_assert_cmpint(actr_error_code_kind(ACTR_ERROR_NOT_IMPLEMENTED), ==, ACTR_ERROR_KIND_INTERNAL);
  g_assert_false(actr_error_code_is_known(10000));
  g_assert_false(actr_error_code_is_known(10012));
  g_assert_cmpstr(actr_error_code_name(10006), ==, "UNKNOWN_ROUTE");
  g_assert_cmpstr(actr_error_code_name(4), ==, "UNKNOWN");
  g_assert_null(actr_error_code_prefix(0));
  g_assert_cmpstr(g_quark_to_string(ACTR_ERROR), ==, "actr-error-quark");
}

static void
test_from_wire_no_double_prefix(void)
{
  /* A reference peer sends the display string; we keep it as is. */
  g_autoptr(GError) a = actr_error_from_wire(10006, "unknown route: echo.Echo.Nope");
  g_assert_error(a, ACTR_ERROR, ACTR_ERROR_UNKNOWN_ROUTE);
  g_assert_cmpstr(a->message, ==, "unknown route: echo.Echo.Nope");
  g_assert_cmpstr(actr_error_detail(a), ==, "echo.Echo.Nope");
  /* A bare detail gets exactly one prefix. */
  g_autoptr(GError) b = actr_error_from_wire(10004, "ACL denied");
  g_assert_cmpstr(b->message, ==, "permission denied: ACL denied");
  /* A message that merely starts like the prefix is not mistaken for it. */
  g_autoptr(GError) c = actr_error_from_wire(10003, "not foundling");
  g_assert_cmpstr(c->message, ==, "not found: not foundling");
  /* Round trip: encode → decode → encode is stable. */
  g_autoptr(GError) d = actr_error_new(ACTR_ERROR_INVALID_ARGUMENT, "bad %d", 7);
  g_autofree char *wire = actr_error_wire_message(d);
  g_autoptr(GError) e = actr_error_from_wire(actr_error_wire_code(d), wire);
  g_assert_cmpstr(e->message, ==, d->message);
  g_assert_cmpint(e->code, ==, d->code);
}

static void
test_from_wire_special_codes(void)
{
  g_autoptr(GError) t = actr_error_from_wire(10002, "whatever the peer said");
  g_assert_cmpstr(t->message, ==, "timed out");
  g_autoptr(GError) u = actr_error_from_wire(500, "boom");
  g_assert_error(u, ACTR_ERROR, ACTR_ERROR_UNAVAILABLE);
  g_assert_cmpstr(u->message, ==, "unavailable: rpc error 500: boom");
  g_autoptr(GError) z = actr_error_from_wire(0, NULL);
  g_assert_cmpstr(z->message, ==, "unavailable: rpc error 0: ");
  g_autoptr(GError) dep = actr_error_from_wire(10007, "dependency 'billing' not found: gone");
  g_autofree char *svc = actr_error_dependency_service(dep);
  g_assert_cmpstr(svc, ==, "billing");
  g_assert_cmpstr(actr_error_detail(dep), ==, "gone");
}

static void
test_not_ready_hint(void)
{
  g_autoptr(GError) some = actr_error_new_not_ready(6300);
  g_assert_cmpstr(some->message, ==, "connection not ready: retry_after_ms=Some(6300)");
  g_assert_cmpint(actr_error_retry_after_ms(some), ==, 6300);
  g_autoptr(GError) none = actr_error_new_not_ready(-1);
  g_assert_cmpstr(none->message, ==, "connection not ready: retry_after_ms=None");
  g_assert_cmpint(actr_error_retry_after_ms(none), ==, -1);
  g_autoptr(GError) wire =
      actr_error_from_wire(10011, "connection not ready: retry_after_ms=Some(42)");
  g_assert_cmpint(actr_error_retry_after_ms(wire), ==, 42);
  g_autoptr(GError) junk = actr_error_from_wire(10011, "retry_after_ms=Some(4x)");
  g_assert_cmpint(actr_error_retry_after_ms(junk), ==, -1);
  g_autoptr(GError) huge = actr_error_from_wire(10011, "retry_after_ms=Some(99999999999999999999)");
  g_assert_cmpint(actr_error_retry_after_ms(huge), ==, -1);
}

static void
test_foreign_errors_map_to_internal(void)
{
  g_autoptr(GError) io = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_IO, "disk on fire");
  g_assert_cmpuint(actr_error_wire_code(io), ==, ACTR_ERROR_INTERNAL);
  g_autofree char *msg = actr_error_wire_message(io);
  g_assert_cmpstr(msg, ==, "internal error: disk on fire");
  g_assert_cmpstr(actr_error_detail(io), ==, "disk on fire");
  GError *set = NULL;
  actr_set_error(&set, ACTR_ERROR_UNKNOWN_ROUTE, "%s", "r");
  g_assert_cmpstr(set->message, ==, "unknown route: r");
  g_error_free(set);
  actr_set_error(NULL, ACTR_ERROR_INTERNAL, "ignored");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/error/display-strings", test_display_strings);
  g_test_add_func("/error/kinds", test_kinds);
  g_test_add_func("/error/from-wire/no-double-prefix", test_from_wire_no_double_prefix);
  g_test_add_func("/error/from-wire/special-codes", test_from_wire_special_codes);
  g_test_add_func("/error/not-ready-hint", test_not_ready_hint);
  g_test_add_func("/error/foreign-errors", test_foreign_errors_map_to_internal);
  return g_test_run();
}
