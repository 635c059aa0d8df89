/* Unit tests for src/node/traceparent.c (W3C Trace Context, version 00).
 * The vectors follow the specification's examples and the W3C test suite
 * (w3c/trace-context test/test.py). */
#include "traceparent.h"

#include <string.h>

static const guint8 SPEC_TRACE[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const guint8 SPEC_PARENT[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
#define SPEC_EXAMPLE "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

#define SUITE_TRACE  "12345678901234567890123456789012"
#define SUITE_PARENT "1234567890123456"

static void
test_parse_valid(void)
{
  ActrTraceContext ctx;
  g_assert_true(actr_trace_context_parse(SPEC_EXAMPLE, &ctx));
  g_assert_cmpmem(ctx.trace_id, 16, SPEC_TRACE, 16);
  g_assert_cmpmem(ctx.parent_id, 8, SPEC_PARENT, 8);
  g_assert_cmpuint(ctx.flags, ==, 0x01);

  /* Not sampled. */
  g_assert_true(
      actr_trace_context_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &ctx));
  g_assert_cmpuint(ctx.flags, ==, 0x00);

  /* The other example of the specification. */
  g_assert_true(
      actr_trace_context_parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", &ctx));
  g_assert_cmpuint(ctx.trace_id[0], ==, 0x0a);
  g_assert_cmpuint(ctx.trace_id[15], ==, 0x9c);
  g_assert_cmpuint(ctx.parent_id[0], ==, 0xb7);
  g_assert_cmpuint(ctx.parent_id[7], ==, 0x31);

  /* Unknown flag bits are kept (the sampled bit is only one of eight). */
  g_assert_true(actr_trace_context_parse("00-" SUITE_TRACE "-" SUITE_PARENT "-09", &ctx));
  g_assert_cmpuint(ctx.flags, ==, 0x09);
  g_assert_true(actr_trace_context_parse("00-" SUITE_TRACE "-" SUITE_PARENT "-ff", &ctx));
  g_assert_cmpuint(ctx.flags, ==, 0xff);

  /* Ids with only their last bit set are not all-zero. */
  g_assert_true(
      actr_trace_context_parse("00-00000000000000000000000000000001-0000000000000001-01", &ctx));
  g_assert_cmpuint(ctx.trace_id[15], ==, 1);
  g_assert_cmpuint(ctx.parent_id[7], ==, 1);
}

static void
test_parse_invalid(void)
{
  static const char *const invalid[] = {
      "",
      "00",
      "00-",
      /* version 00 takes nothing after the flags */
      "00-" SUITE_TRACE "-" SUITE_PARENT "-01.",
      "00-" SUITE_TRACE "-" SUITE_PARENT "-01-what-the-future-will-be-like",
      "00-" SUITE_TRACE "-" SUITE_PARENT "-01-",
      /* version ff, illegal characters, wrong length */
      "ff-" SUITE_TRACE "-" SUITE_PARENT "-01",
      ".0-" SUITE_TRACE "-" SUITE_PARENT "-01",
      "0.-" SUITE_TRACE "-" SUITE_PARENT "-01",
      "000-" SUITE_TRACE "-" SUITE_PARENT "-01",
      "0000-" SUITE_TRACE "-" SUITE_PARENT "-01",
      "0-" SUITE_TRACE "-" SUITE_PARENT "-01",
      /* trace-id */
      "00-00000000000000000000000000000000-" SUITE_PARENT "-01",
      "00-.2345678901234567890123456789012-" SUITE_PARENT "-01",
      "00-1234567890123456789012345678901.-" SUITE_PARENT "-01",
      "00-123456789012345678901234567890123-" SUITE_PARENT "-01",
      "00-1234567890123456789012345678901-" SUITE_PARENT "-01",
      /* parent-id */
      "00-" SUITE_TRACE "-0000000000000000-01",
      "00-" SUITE_TRACE "-.234567890123456-01",
      "00-" SUITE_TRACE "-123456789012345.-01",
      "00-" SUITE_TRACE "-12345678901234567-01",
      "00-" SUITE_TRACE "-123456789012345-01",
      /* trace-flags */
      "00-" SUITE_TRACE "-" SUITE_PARENT "-.0",
      "00-" SUITE_TRACE "-" SUITE_PARENT "-0.",
      "00-" SUITE_TRACE "-" SUITE_PARENT "-001",
      "00-" SUITE_TRACE "-" SUITE_PARENT "-1",
      "00-" SUITE_TRACE "-" SUITE_PARENT "-",
      /* uppercase hex anywhere (HEXDIGLC) */
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "FF-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      /* whitespace is the HTTP layer's business */
      " " SPEC_EXAMPLE,
      "\t" SPEC_EXAMPLE,
      SPEC_EXAMPLE " ",
      SPEC_EXAMPLE "\t",
      /* other separators, a missing field, garbage */
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
      "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "not a traceparent",
  };
  for (guint i = 0; i < G_N_ELEMENTS(invalid); i++) {
    ActrTraceContext ctx;
    memset(&ctx, 0xa5, sizeof ctx);
    if (actr_trace_context_parse(invalid[i], &ctx))
      g_error("accepted invalid traceparent \"%s\"", invalid[i]);
    /* @out is left untouched. */
    for (gsize k = 0; k < sizeof ctx; k++)
      g_assert_cmpuint(((guint8 *)&ctx)[k], ==, 0xa5);
  }

  ActrTraceContext ctx;
  g_assert_false(actr_trace_context_parse(NULL, &ctx));
}

/* Every proper prefix of a valid value is invalid; read from an exact-size
 * heap copy, so ASan catches any read past the NUL. */
static void
test_parse_prefixes(void)
{
  for (gsize len = 0; len < ACTR_TRACEPARENT_LEN; len++) {
    char *prefix = g_strndup(SPEC_EXAMPLE, len);
    ActrTraceContext ctx;
    g_assert_false(actr_trace_context_parse(prefix, &ctx));
    g_free(prefix);
  }
  char *whole = g_strdup(SPEC_EXAMPLE);
  ActrTraceContext ctx;
  g_assert_true(actr_trace_context_parse(whole, &ctx));
  g_free(whole);
}

/* A higher version parses as version 00 when its first 55 characters do
 * and the next one is '-' or the end. */
static void
test_future_versions(void)
{
  ActrTraceContext ctx;
  g_assert_true(actr_trace_context_parse("cc-" SUITE_TRACE "-" SUITE_PARENT "-01", &ctx));
  g_assert_cmpuint(ctx.trace_id[0], ==, 0x12);
  g_assert_cmpuint(ctx.trace_id[15], ==, 0x12);
  g_assert_cmpuint(ctx.parent_id[7], ==, 0x56);
  g_assert_cmpuint(ctx.flags, ==, 0x01);

  g_assert_true(actr_trace_context_parse(
      "cc-" SUITE_TRACE "-" SUITE_PARENT "-01-what-the-future-will-be-like", &ctx));
  g_assert_true(actr_trace_context_parse("01-" SUITE_TRACE "-" SUITE_PARENT "-00-", &ctx));
  g_assert_cmpuint(ctx.flags, ==, 0x00);
  g_assert_true(actr_trace_context_parse("fe-" SUITE_TRACE "-" SUITE_PARENT "-03", &ctx));
  g_assert_cmpuint(ctx.flags, ==, 0x03);

  static const char *const invalid[] = {
      "cc-" SUITE_TRACE "-" SUITE_PARENT "-01.what-the-future-will-be-like",
      "cc-" SUITE_TRACE "-" SUITE_PARENT "-012",
      "cc-" SUITE_TRACE "-" SUITE_PARENT "-1",
      "cc-" SUITE_TRACE "-" SUITE_PARENT,
      "cc-00000000000000000000000000000000-" SUITE_PARENT "-01",
      "cc-" SUITE_TRACE "-0000000000000000-01",
      "cc-" SUITE_TRACE "-" SUITE_PARENT "-0A-future",
      "ff-" SUITE_TRACE "-" SUITE_PARENT "-01-future",
      "CC-" SUITE_TRACE "-" SUITE_PARENT "-01",
  };
  for (guint i = 0; i < G_N_ELEMENTS(invalid); i++) {
    if (actr_trace_context_parse(invalid[i], &ctx))
      g_error("accepted invalid traceparent \"%s\"", invalid[i]);
  }
}

static void
test_format(void)
{
  ActrTraceContext ctx;
  memcpy(ctx.trace_id, SPEC_TRACE, 16);
  memcpy(ctx.parent_id, SPEC_PARENT, 8);
  ctx.flags = 0x01;
  char buf[ACTR_TRACEPARENT_LEN + 1];
  memset(buf, 'X', sizeof buf);
  actr_trace_context_format(&ctx, buf);
  g_assert_cmpstr(buf, ==, SPEC_EXAMPLE);
  g_assert_cmpuint(strlen(buf), ==, ACTR_TRACEPARENT_LEN);

  ctx.flags = 0xab;
  actr_trace_context_format(&ctx, buf);
  g_assert_cmpstr(buf, ==, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ab");

  /* parse -> format is the identity for version 00 ... */
  static const char *const values[] = {
      SPEC_EXAMPLE,
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
      "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-ff",
      "00-00000000000000000000000000000001-0000000000000001-01",
  };
  for (guint i = 0; i < G_N_ELEMENTS(values); i++) {
    g_assert_true(actr_trace_context_parse(values[i], &ctx));
    actr_trace_context_format(&ctx, buf);
    g_assert_cmpstr(buf, ==, values[i]);
  }

  /* ... and a future version is re-emitted as version 00, suffix dropped. */
  g_assert_true(actr_trace_context_parse("cc-" SUITE_TRACE "-" SUITE_PARENT "-01-extra", &ctx));
  actr_trace_context_format(&ctx, buf);
  g_assert_cmpstr(buf, ==, "00-" SUITE_TRACE "-" SUITE_PARENT "-01");
}

static gboolean
is_zero(const guint8 *p, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (p[i] != 0)
      return FALSE;
  return TRUE;
}

static void
test_new_root(void)
{
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < 1000; i++) {
    ActrTraceContext ctx;
    actr_trace_context_new_root(&ctx);
    g_assert_cmpuint(ctx.flags, ==, ACTR_TRACE_FLAG_SAMPLED);
    g_assert_false(is_zero(ctx.trace_id, sizeof ctx.trace_id));
    g_assert_false(is_zero(ctx.parent_id, sizeof ctx.parent_id));

    char buf[ACTR_TRACEPARENT_LEN + 1];
    actr_trace_context_format(&ctx, buf);
    ActrTraceContext again;
    g_assert_true(actr_trace_context_parse(buf, &again));
    g_assert_cmpmem(&again, sizeof again, &ctx, sizeof ctx);
    /* Random: no two roots share a trace id. */
    g_assert_true(g_hash_table_add(seen, g_strndup(buf + 3, 32)));
  }
  g_hash_table_unref(seen);
}

static void
test_child(void)
{
  ActrTraceContext parent;
  g_assert_true(actr_trace_context_parse(SPEC_EXAMPLE, &parent));
  const ActrTraceContext saved = parent;

  ActrTraceContext child;
  actr_trace_context_child(&parent, &child);
  g_assert_cmpmem(child.trace_id, 16, SPEC_TRACE, 16);
  g_assert_cmpuint(child.flags, ==, 0x01);
  g_assert_false(is_zero(child.parent_id, sizeof child.parent_id));
  g_assert_true(memcmp(child.parent_id, SPEC_PARENT, 8) != 0);
  g_assert_cmpmem(&parent, sizeof parent, &saved, sizeof saved); /* parent unchanged */

  /* The child of the child: still the same trace, a new span again. */
  ActrTraceContext grandchild;
  actr_trace_context_child(&child, &grandchild);
  g_assert_cmpmem(grandchild.trace_id, 16, SPEC_TRACE, 16);
  g_assert_true(memcmp(grandchild.parent_id, child.parent_id, 8) != 0);

  /* Flags are kept, also an unsampled 00. */
  g_assert_true(actr_trace_context_parse("00-" SUITE_TRACE "-" SUITE_PARENT "-00", &parent));
  actr_trace_context_child(&parent, &child);
  g_assert_cmpuint(child.flags, ==, 0x00);
  char buf[ACTR_TRACEPARENT_LEN + 1];
  actr_trace_context_format(&child, buf);
  g_assert_true(g_str_has_prefix(buf, "00-" SUITE_TRACE "-"));
  g_assert_true(g_str_has_suffix(buf, "-00"));
  g_assert_false(g_str_has_prefix(buf, "00-" SUITE_TRACE "-" SUITE_PARENT));

  /* In place: @parent and @out the same object. */
  ActrTraceContext ctx = parent;
  actr_trace_context_child(&ctx, &ctx);
  g_assert_cmpmem(ctx.trace_id, 16, parent.trace_id, 16);
  g_assert_true(memcmp(ctx.parent_id, parent.parent_id, 8) != 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/traceparent/parse-valid", test_parse_valid);
  g_test_add_func("/traceparent/parse-invalid", test_parse_invalid);
  g_test_add_func("/traceparent/parse-prefixes", test_parse_prefixes);
  g_test_add_func("/traceparent/future-versions", test_future_versions);
  g_test_add_func("/traceparent/format", test_format);
  g_test_add_func("/traceparent/new-root", test_new_root);
  g_test_add_func("/traceparent/child", test_child);
  return g_test_run();
}
