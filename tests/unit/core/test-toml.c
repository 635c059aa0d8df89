/* Unit tests for the strict TOML reader (src/core/toml.c). */
#include "../../../src/core/toml.h"

#include <actr/config.h>

#include <glib/gstdio.h>

#include <math.h>
#include <string.h>
#include <unistd.h>

#define ORIGIN "t.toml"

static ActrTomlValue *
parse_ok(const char *text)
{
  g_autoptr(GError) error = NULL;
  ActrTomlValue *root = actr_toml_parse(text, strlen(text), ORIGIN, &error);
  g_assert_no_error(error);
  g_assert_nonnull(root);
  g_assert_cmpint(actr_toml_value_type(root), ==, ACTR_TOML_TABLE);
  return root;
}

/* Asserts that @len bytes of @text are rejected with "t.toml:LINE: ..."
 * containing @fragment (nullable). */
static void
assert_rejected_len(const char *text, gsize len, guint line, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrTomlValue) root = actr_toml_parse(text, len, ORIGIN, &error);
  g_autofree char *prefix = g_strdup_printf(ORIGIN ":%u: ", line);
  if (root != NULL)
    g_error("accepted: %s", text);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_PARSE);
  if (!g_str_has_prefix(error->message, prefix) ||
      (fragment != NULL && strstr(error->message, fragment) == NULL))
    g_error("input <<%s>>: got \"%s\", want prefix \"%s\" and \"%s\"", text, error->message, prefix,
            fragment ? fragment : "");
}

static void
assert_rejected(const char *text, guint line, const char *fragment)
{
  assert_rejected_len(text, strlen(text), line, fragment);
}

static const char *
str_at(const ActrTomlValue *table, const char *key)
{
  const char *text = actr_toml_table_get_string(table, key);
  if (text == NULL)
    g_error("no string %s", key);
  return text;
}

static gint64
int_at(const ActrTomlValue *table, const char *key)
{
  gint64 value = 0;
  if (!actr_toml_table_get_int(table, key, &value))
    g_error("no integer %s", key);
  return value;
}

static double
float_at(const ActrTomlValue *table, const char *key)
{
  double value = 0;
  if (!actr_toml_table_get_float(table, key, &value))
    g_error("no float %s", key);
  return value;
}

/* ---- accepted -------------------------------------------------------- */

static void
test_empty(void)
{
  const char *inputs[] = {
      "", "\n\n", "# only a comment", "  \t\n# c\n\r\n", "\xEF\xBB\xBF", "\xEF\xBB\xBF\x61 = 1"};
  for (guint i = 0; i < G_N_ELEMENTS(inputs); i++) {
    g_autoptr(ActrTomlValue) root = parse_ok(inputs[i]);
    g_assert_cmpuint(actr_toml_table_size(root), ==, i == 5 ? 1 : 0);
  }
  /* A NULL pointer with length 0 is an empty document. */
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrTomlValue) root = actr_toml_parse(NULL, 0, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(actr_toml_table_size(root), ==, 0);
}

static void
test_keys(void)
{
  g_autoptr(ActrTomlValue) root = parse_ok("bare_key-1 = 1\n"
                                           "1234 = 2\n"
                                           "\"quoted key\" = 3\n"
                                           "'literal \\ key' = 4\n"
                                           "\"\" = 5\n"
                                           "\"\\u00e9t\\u00e9\" = 6\n"
                                           "a.b.c = 7\n"
                                           "a . \"b\" . d = 8\n"
                                           "x.'y.z' = 9\n"
                                           "  indented = 10 # trailing comment\n"
                                           "tab\t=\t11\n");
  g_assert_cmpint(int_at(root, "bare_key-1"), ==, 1);
  g_assert_cmpint(int_at(root, "1234"), ==, 2);
  g_assert_cmpint(int_at(root, "quoted key"), ==, 3);
  g_assert_cmpint(int_at(root, "literal \\ key"), ==, 4);
  g_assert_cmpint(int_at(root, ""), ==, 5);
  g_assert_cmpint(int_at(root, "\xc3\xa9t\xc3\xa9"), ==, 6);
  const ActrTomlValue *b = actr_toml_table_get_table(actr_toml_table_get_table(root, "a"), "b");
  g_assert_cmpint(int_at(b, "c"), ==, 7);
  g_assert_cmpint(int_at(b, "d"), ==, 8);
  g_assert_cmpint(int_at(actr_toml_table_get_table(root, "x"), "y.z"), ==, 9);
  g_assert_cmpint(int_at(root, "indented"), ==, 10);
  g_assert_cmpint(int_at(root, "tab"), ==, 11);
  g_assert_cmpuint(actr_toml_value_line(actr_toml_table_lookup(root, "tab")), ==, 11);
}

static void
test_tables(void)
{
  g_autoptr(ActrTomlValue) root = parse_ok("top = true\n"
                                           "[server]\n"
                                           "host = 'h'\n"
                                           "[server.tls]\n"
                                           "on = false\n"
                                           "[ a . b . c ]  # implicit a and a.b\n"
                                           "x = 1\n"
                                           "[a]\n"
                                           "y = 2\n"
                                           "[a.b]\n"
                                           "z = 3\n"
                                           "[fruit]\n"
                                           "apple.color = 'red'\n"
                                           "apple.taste.sweet = true\n"
                                           "[fruit.apple.texture]\n"
                                           "smooth = true\n"
                                           "[\"quoted.name\"]\n"
                                           "q = 1\n"
                                           "[empty]\n");
  gboolean flag = TRUE;
  g_assert_true(actr_toml_table_get_bool(root, "top", &flag) && flag);
  const ActrTomlValue *server = actr_toml_table_get_table(root, "server");
  g_assert_cmpstr(str_at(server, "host"), ==, "h");
  g_assert_cmpuint(actr_toml_value_line(server), ==, 2);
  g_assert_true(actr_toml_table_get_bool(actr_toml_table_get_table(server, "tls"), "on", &flag));
  g_assert_false(flag);
  const ActrTomlValue *a = actr_toml_table_get_table(root, "a");
  g_assert_cmpint(int_at(a, "y"), ==, 2);
  g_assert_cmpuint(actr_toml_value_line(a), ==, 8); /* the explicit header */
  const ActrTomlValue *ab = actr_toml_table_get_table(a, "b");
  g_assert_cmpint(int_at(ab, "z"), ==, 3);
  g_assert_cmpint(int_at(actr_toml_table_get_table(ab, "c"), "x"), ==, 1);
  const ActrTomlValue *apple =
      actr_toml_table_get_table(actr_toml_table_get_table(root, "fruit"), "apple");
  g_assert_cmpstr(str_at(apple, "color"), ==, "red");
  g_assert_true(
      actr_toml_table_get_bool(actr_toml_table_get_table(apple, "texture"), "smooth", &flag));
  g_assert_cmpint(int_at(actr_toml_table_get_table(root, "quoted.name"), "q"), ==, 1);
  g_assert_cmpuint(actr_toml_table_size(actr_toml_table_get_table(root, "empty")), ==, 0);
}

static void
test_array_of_tables(void)
{
  g_autoptr(ActrTomlValue) root = parse_ok("[[trust]]\n"
                                           "kind = 'static'\n"
                                           "[trust.extra]\n"
                                           "n = 1\n"
                                           "[[trust]]\n"
                                           "kind = 'registry'\n"
                                           "[[trust.sub]]\n"
                                           "m = 1\n"
                                           "[[trust.sub]]\n"
                                           "m = 2\n"
                                           "[[a.b]]\n"
                                           "[a]\n"
                                           "c = 3\n");
  const ActrTomlValue *trust = actr_toml_table_get_array(root, "trust");
  g_assert_cmpuint(actr_toml_array_length(trust), ==, 2);
  const ActrTomlValue *first = actr_toml_array_get(trust, 0);
  g_assert_cmpstr(str_at(first, "kind"), ==, "static");
  g_assert_cmpuint(actr_toml_value_line(first), ==, 1);
  g_assert_cmpint(int_at(actr_toml_table_get_table(first, "extra"), "n"), ==, 1);
  const ActrTomlValue *second = actr_toml_array_get(trust, 1);
  g_assert_cmpstr(str_at(second, "kind"), ==, "registry");
  g_assert_cmpuint(actr_toml_value_line(second), ==, 5);
  const ActrTomlValue *sub = actr_toml_table_get_array(second, "sub");
  g_assert_cmpuint(actr_toml_array_length(sub), ==, 2);
  g_assert_cmpint(int_at(actr_toml_array_get(sub, 1), "m"), ==, 2);
  g_assert_null(actr_toml_array_get(sub, 2));
  const ActrTomlValue *a = actr_toml_table_get_table(root, "a");
  g_assert_cmpint(int_at(a, "c"), ==, 3);
  g_assert_cmpuint(actr_toml_array_length(actr_toml_table_get_array(a, "b")), ==, 1);
}

static void
test_inline_tables(void)
{
  g_autoptr(ActrTomlValue) root =
      parse_ok("p = { x = 1, y = 'two' , z.w = true }\n"
               "e = {}\n"
               "n = { a = { b = [ { c = 1 } ] } }\n"
               "rules = [\n"
               "  { permission = \"ALLOW\", type = \"a:b:1\" },\n"
               "  { permission = \"DENY\", type = \"c:d:2\", realm = 5 },\n"
               "]\n");
  const ActrTomlValue *p = actr_toml_table_get_table(root, "p");
  g_assert_cmpint(int_at(p, "x"), ==, 1);
  g_assert_cmpstr(str_at(p, "y"), ==, "two");
  gboolean w = FALSE;
  g_assert_true(actr_toml_table_get_bool(actr_toml_table_get_table(p, "z"), "w", &w) && w);
  g_assert_cmpuint(actr_toml_table_size(actr_toml_table_get_table(root, "e")), ==, 0);
  const ActrTomlValue *b = actr_toml_table_get_array(
      actr_toml_table_get_table(actr_toml_table_get_table(root, "n"), "a"), "b");
  g_assert_cmpint(int_at(actr_toml_array_get(b, 0), "c"), ==, 1);
  const ActrTomlValue *rules = actr_toml_table_get_array(root, "rules");
  g_assert_cmpuint(actr_toml_array_length(rules), ==, 2);
  g_assert_cmpuint(actr_toml_value_line(actr_toml_array_get(rules, 1)), ==, 6);
  g_assert_cmpint(int_at(actr_toml_array_get(rules, 1), "realm"), ==, 5);
}

static void
test_strings(void)
{
  g_autoptr(ActrTomlValue) root =
      parse_ok("esc = \"q\\\" b\\\\ n\\n t\\t r\\r b\\b f\\f\"\n"
               "uni = \"\\u00E9\\U0001F600\\u007f\"\n"
               "lit = 'C:\\path\\\"x\"'\n"
               "ml = \"\"\"\nline1\nline2\\\n     continued \\\n\n  end\"\"\"\n"
               "mlq = \"\"\"a \"quoted\" \"\" b\"\"\"\"\"\n"
               "mll = '''\nraw \\n 'one' ''two''\n'''\n"
               "mll2 = '''x''''\n"
               "crlf = \"\"\"a\r\nb\"\"\"\n"
               "tab = \"a\tb\"\n"
               "empty = \"\"\n"
               "utf8 = \"\xe6\x97\xa5\xe6\x9c\xac\"\n"
               "after = 1\n");
  g_assert_cmpstr(str_at(root, "esc"), ==, "q\" b\\ n\n t\t r\r b\b f\f");
  g_assert_cmpstr(str_at(root, "uni"), ==, "\xc3\xa9\xf0\x9f\x98\x80\x7f");
  g_assert_cmpstr(str_at(root, "lit"), ==, "C:\\path\\\"x\"");
  g_assert_cmpstr(str_at(root, "ml"), ==, "line1\nline2continued end");
  g_assert_cmpstr(str_at(root, "mlq"), ==, "a \"quoted\" \"\" b\"\"");
  g_assert_cmpstr(str_at(root, "mll"), ==, "raw \\n 'one' ''two''\n");
  g_assert_cmpstr(str_at(root, "mll2"), ==, "x'");
  g_assert_cmpstr(str_at(root, "crlf"), ==, "a\nb");
  g_assert_cmpstr(str_at(root, "tab"), ==, "a\tb");
  g_assert_cmpstr(str_at(root, "empty"), ==, "");
  g_assert_cmpstr(str_at(root, "utf8"), ==, "\xe6\x97\xa5\xe6\x9c\xac");
  /* Lines keep counting through multi-line strings. */
  g_assert_cmpuint(actr_toml_value_line(actr_toml_table_lookup(root, "ml")), ==, 4);
  g_assert_cmpuint(actr_toml_value_line(actr_toml_table_lookup(root, "mll")), ==, 11);
  g_assert_cmpuint(actr_toml_value_line(actr_toml_table_lookup(root, "after")), ==, 20);
}

static void
test_integers(void)
{
  g_autoptr(ActrTomlValue) root = parse_ok("a = 99\n"
                                           "b = +17\n"
                                           "c = -17\n"
                                           "d = 0\n"
                                           "e = -0\n"
                                           "f = +0\n"
                                           "g = 1_000_000\n"
                                           "h = 0xDEAD_beef\n"
                                           "i = 0o755\n"
                                           "j = 0b1101_0110\n"
                                           "max = 9223372036854775807\n"
                                           "min = -9223372036854775808\n"
                                           "hmax = 0x7fffffffffffffff\n"
                                           "omax = 0o777777777777777777777\n"
                                           "zeros = 0x000001\n");
  g_assert_cmpint(int_at(root, "a"), ==, 99);
  g_assert_cmpint(int_at(root, "b"), ==, 17);
  g_assert_cmpint(int_at(root, "c"), ==, -17);
  g_assert_cmpint(int_at(root, "d"), ==, 0);
  g_assert_cmpint(int_at(root, "e"), ==, 0);
  g_assert_cmpint(int_at(root, "f"), ==, 0);
  g_assert_cmpint(int_at(root, "g"), ==, 1000000);
  g_assert_cmpint(int_at(root, "h"), ==, 0xdeadbeef);
  g_assert_cmpint(int_at(root, "i"), ==, 0755);
  g_assert_cmpint(int_at(root, "j"), ==, 0xd6);
  g_assert_cmpint(int_at(root, "max"), ==, G_MAXINT64);
  g_assert_cmpint(int_at(root, "min"), ==, G_MININT64);
  g_assert_cmpint(int_at(root, "hmax"), ==, G_MAXINT64);
  g_assert_cmpint(int_at(root, "omax"), ==, G_MAXINT64);
  g_assert_cmpint(int_at(root, "zeros"), ==, 1);
  /* An integer is not a float. */
  double real = 0;
  g_assert_false(actr_toml_table_get_float(root, "a", &real));
}

static void
test_floats(void)
{
  g_autoptr(ActrTomlValue) root = parse_ok("a = +1.0\n"
                                           "b = 3.1415\n"
                                           "c = -0.01\n"
                                           "d = 5e+22\n"
                                           "e = 1e06\n"
                                           "f = -2E-2\n"
                                           "g = 6.626e-34\n"
                                           "h = 224_617.445_991_228\n"
                                           "i = 0.0\n"
                                           "j = -0.0\n"
                                           "k = 0e0\n"
                                           "l = 1e1_0\n"
                                           "pinf = inf\n"
                                           "ninf = -inf\n"
                                           "pinf2 = +inf\n"
                                           "qnan = nan\n"
                                           "pnan = +nan\n"
                                           "nnan = -nan\n"
                                           "tiny = 1e-400\n");
  g_assert_cmpfloat(float_at(root, "a"), ==, 1.0);
  g_assert_cmpfloat(float_at(root, "b"), ==, 3.1415);
  g_assert_cmpfloat(float_at(root, "c"), ==, -0.01);
  g_assert_cmpfloat(float_at(root, "d"), ==, 5e22);
  g_assert_cmpfloat(float_at(root, "e"), ==, 1e6);
  g_assert_cmpfloat(float_at(root, "f"), ==, -2e-2);
  g_assert_cmpfloat(float_at(root, "g"), ==, 6.626e-34);
  g_assert_cmpfloat(float_at(root, "h"), ==, 224617.445991228);
  g_assert_cmpfloat(float_at(root, "i"), ==, 0.0);
  g_assert_true(signbit(float_at(root, "j")));
  g_assert_cmpfloat(float_at(root, "k"), ==, 0.0);
  g_assert_cmpfloat(float_at(root, "l"), ==, 1e10);
  g_assert_true(isinf(float_at(root, "pinf")) && float_at(root, "pinf") > 0);
  g_assert_true(isinf(float_at(root, "ninf")) && float_at(root, "ninf") < 0);
  g_assert_true(isinf(float_at(root, "pinf2")) && float_at(root, "pinf2") > 0);
  g_assert_true(isnan(float_at(root, "qnan")));
  g_assert_true(isnan(float_at(root, "pnan")));
  g_assert_true(isnan(float_at(root, "nnan")));
  g_assert_cmpfloat(float_at(root, "tiny"), ==, 0.0); /* underflow rounds to zero */
  gint64 integer = 0;
  g_assert_false(actr_toml_table_get_int(root, "a", &integer));
}

static void
test_booleans(void)
{
  g_autoptr(ActrTomlValue) root = parse_ok("t = true\nf = false\n");
  gboolean value = FALSE;
  g_assert_true(actr_toml_table_get_bool(root, "t", &value));
  g_assert_true(value);
  g_assert_true(actr_toml_table_get_bool(root, "f", &value));
  g_assert_false(value);
}

static void
test_arrays(void)
{
  g_autoptr(ActrTomlValue) root = parse_ok("empty = []\n"
                                           "ints = [ 1, 2, 3 ]\n"
                                           "mixed = [ 1, 'two', 3.0, true, [4], {five = 5} ]\n"
                                           "trailing = [1,2,]\n"
                                           "multi = [\n"
                                           "  'a', # first\n"
                                           "  # a comment line\n"
                                           "\n"
                                           "  'b',\n"
                                           "]\n"
                                           "nested = [[1, 2], [['x']], []]\n"
                                           "last = 0\n");
  g_assert_cmpuint(actr_toml_array_length(actr_toml_table_get_array(root, "empty")), ==, 0);
  const ActrTomlValue *ints = actr_toml_table_get_array(root, "ints");
  g_assert_cmpuint(actr_toml_array_length(ints), ==, 3);
  gint64 n = 0;
  g_assert_true(actr_toml_value_int(actr_toml_array_get(ints, 2), &n));
  g_assert_cmpint(n, ==, 3);
  const ActrTomlValue *mixed = actr_toml_table_get_array(root, "mixed");
  g_assert_cmpuint(actr_toml_array_length(mixed), ==, 6);
  const ActrTomlType want[] = {ACTR_TOML_INTEGER, ACTR_TOML_STRING, ACTR_TOML_FLOAT,
                               ACTR_TOML_BOOLEAN, ACTR_TOML_ARRAY,  ACTR_TOML_TABLE};
  for (guint i = 0; i < G_N_ELEMENTS(want); i++)
    g_assert_cmpint(actr_toml_value_type(actr_toml_array_get(mixed, i)), ==, want[i]);
  g_assert_cmpuint(actr_toml_array_length(actr_toml_table_get_array(root, "trailing")), ==, 2);
  const ActrTomlValue *multi = actr_toml_table_get_array(root, "multi");
  g_assert_cmpuint(actr_toml_array_length(multi), ==, 2);
  g_assert_cmpstr(actr_toml_value_string(actr_toml_array_get(multi, 1)), ==, "b");
  g_assert_cmpuint(actr_toml_value_line(actr_toml_array_get(multi, 1)), ==, 9);
  const ActrTomlValue *nested = actr_toml_table_get_array(root, "nested");
  g_assert_cmpstr(actr_toml_value_string(actr_toml_array_get(
                      actr_toml_array_get(actr_toml_array_get(nested, 1), 0), 0)),
                  ==, "x");
  g_assert_cmpuint(actr_toml_value_line(actr_toml_table_lookup(root, "last")), ==, 12);
}

static void
test_lookups_and_order(void)
{
  g_autoptr(ActrTomlValue) root = parse_ok("z = 1\n"
                                           "a = 's'\n"
                                           "[m]\n"
                                           "k = 2\n"
                                           "[b]\n");
  const char *expect[] = {"z", "a", "m", "b"};
  ActrTomlIter it;
  const char *key;
  const ActrTomlValue *value;
  guint i = 0;
  actr_toml_iter_init(&it, root);
  while (actr_toml_iter_next(&it, &key, &value)) {
    g_assert_cmpuint(i, <, G_N_ELEMENTS(expect));
    g_assert_cmpstr(key, ==, expect[i]);
    g_assert_nonnull(value);
    i++;
  }
  g_assert_cmpuint(i, ==, 4);

  /* Wrong types and absent keys give NULL / FALSE; NULL tables are fine. */
  gint64 n = 42;
  gboolean b = TRUE;
  double d = 1.5;
  g_assert_null(actr_toml_table_get_string(root, "z"));
  g_assert_null(actr_toml_table_get_table(root, "z"));
  g_assert_null(actr_toml_table_get_array(root, "m"));
  g_assert_false(actr_toml_table_get_int(root, "a", &n));
  g_assert_false(actr_toml_table_get_bool(root, "a", &b));
  g_assert_false(actr_toml_table_get_float(root, "missing", &d));
  g_assert_cmpint(n, ==, 42);
  g_assert_true(b);
  g_assert_null(actr_toml_table_lookup(root, "missing"));
  g_assert_null(actr_toml_table_lookup(NULL, "z"));
  g_assert_null(actr_toml_table_get_string(actr_toml_table_get_table(root, "nope"), "k"));
  g_assert_cmpuint(actr_toml_table_size(actr_toml_table_lookup(root, "z")), ==, 0);
  g_assert_cmpuint(actr_toml_array_length(root), ==, 0);
  g_assert_cmpuint(actr_toml_value_line(NULL), ==, 0);
  actr_toml_iter_init(&it, actr_toml_table_lookup(root, "z"));
  g_assert_false(actr_toml_iter_next(&it, NULL, NULL));
  g_assert_cmpstr(actr_toml_type_name(ACTR_TOML_BOOLEAN), ==, "boolean");
}

static void
test_key_display(void)
{
  struct {
    const char *key, *shown;
  } cases[] = {
      {"plain_key-1", "plain_key-1"}, {"", "\"\""},
      {"has space", "\"has space\""}, {"q\"b\\", "\"q\\\"b\\\\\""},
      {"nl\n", "\"nl\\u000A\""},      {"\xc3\xa9", "\"\xc3\xa9\""},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *shown = actr_toml_key_display(cases[i].key);
    g_assert_cmpstr(shown, ==, cases[i].shown);
  }
  g_autofree char *longkey = g_strnfill(200, 'k');
  g_autofree char *shown = actr_toml_key_display(longkey);
  g_assert_true(g_str_has_suffix(shown, "...\""));
  g_assert_cmpuint(strlen(shown), <, 80);
}

static void
test_parse_file(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp("actr-toml-XXXXXX.toml", &path, &error);
  g_assert_no_error(error);
  close(fd);
  g_assert_true(g_file_set_contents(path, "a = 1\nb = \n", -1, &error));
  g_autoptr(ActrTomlValue) bad = actr_toml_parse_file(path, &error);
  g_assert_null(bad);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_PARSE);
  g_autofree char *prefix = g_strdup_printf("%s:2: ", path);
  g_assert_true(g_str_has_prefix(error->message, prefix));
  g_clear_error(&error);

  g_assert_true(g_file_set_contents(path, "a = 1\n", -1, &error));
  g_autoptr(ActrTomlValue) root = actr_toml_parse_file(path, &error);
  g_assert_no_error(error);
  g_assert_cmpint(int_at(root, "a"), ==, 1);
  g_unlink(path);

  g_autoptr(ActrTomlValue) missing = actr_toml_parse_file(path, &error);
  g_assert_null(missing);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_IO);
  g_assert_true(g_str_has_prefix(error->message, path));
  g_clear_error(&error);

  g_autoptr(ActrTomlValue) dir = actr_toml_parse_file(g_get_tmp_dir(), &error);
  g_assert_null(dir);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_IO);
}

/* ---- rejected -------------------------------------------------------- */

typedef struct {
  const char *input;
  guint line;
  const char *fragment;
} Rejected;

static void
run_rejected(const Rejected *cases, guint n)
{
  for (guint i = 0; i < n; i++)
    assert_rejected(cases[i].input, cases[i].line, cases[i].fragment);
}

static void
test_reject_duplicates(void)
{
  static const Rejected cases[] = {
      {"a = 1\na = 2\n", 2, "duplicate key a (first defined on line 1)"},
      {"a = 1\n\"a\" = 2\n", 2, "duplicate key a"},
      {"a = 1\n'a' = 2\n", 2, "duplicate key a"},
      {"x.y = 1\nx.y = 2\n", 2, "duplicate key x.y"},
      {"[t]\nk = 1\nk = 2\n", 3, "duplicate key k"},
      {"p = { a = 1, a = 2 }\n", 1, "duplicate key a"},
      {"[a.b]\n[a]\nb = 1\n", 3, "duplicate key b"},
      {"\"a b\" = 1\n'a b' = 2\n", 2, "duplicate key \"a b\""},
  };
  run_rejected(cases, G_N_ELEMENTS(cases));
}

static void
test_reject_tables(void)
{
  static const Rejected cases[] = {
      {"[a]\n[a]\n", 2, "table [a] is defined twice (first on line 1)"},
      {"[a.b]\n[a.b]\n", 2, "defined twice"},
      {"[a]\nb = 1\n[a.b]\n", 3, "already defined as an integer on line 2"},
      {"a = 1\n[a]\n", 2, "already defined as an integer"},
      {"a = 's'\n[a.b]\n", 2, "already defined as a string"},
      {"a.b = 1\n[a]\n", 2, "already defined by dotted keys"},
      {"[a]\nb.c = 1\n[a.b]\n", 3, "already defined by dotted keys"},
      {"a = {}\n[a]\n", 2, "inline table"},
      {"a = { b = 1 }\n[a.c]\n", 2, "inline table"},
      {"a = { b = 1 }\na.c = 2\n", 2, "inline table"},
      {"a = { b = { c = 1 } }\n[a.b]\n", 2, "inline table"},
      {"a = [1]\n[[a]]\n", 2, "static array"},
      {"a = [{ b = 1 }]\n[a.b]\n", 2, "already defined as an array"},
      {"[[a]]\n[a]\n", 2, "already defined as an array of tables"},
      {"[a]\n[[a]]\n", 2, "already defined as a table"},
      {"[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", 4, "cannot use dotted keys to add to table [a.b.c]"},
      {"a.b = 1\na.b.c = 2\n", 2, "already defined as an integer"},
      {"a = 1\na.b = 2\n", 2, "already defined as an integer"},
      {"[x]\n[x.y]\n[x]\n", 3, "defined twice"},
  };
  run_rejected(cases, G_N_ELEMENTS(cases));
}

static void
test_reject_strings(void)
{
  static const Rejected cases[] = {
      {"a = \"abc\n", 1, "unterminated string"},
      {"a = \"abc", 1, "unterminated string"},
      {"a = 'abc\n", 1, "unterminated string"},
      {"\n\na = \"\"\"abc\n\ndef\n", 3, "unterminated string"},
      {"a = '''abc\n", 1, "unterminated string"},
      {"a = \"\\q\"\n", 1, "invalid escape"},
      {"a = \"\\x41\"\n", 1, "invalid escape"},
      {"a = \"\\e\"\n", 1, "invalid escape"},
      {"a = \"\\ \"\n", 1, "invalid escape"},
      {"a = \"\\u12\"\n", 1, "hexadecimal digits"},
      {"a = \"\\U0001F60\"\n", 1, "hexadecimal digits"},
      {"a = \"\\uD800\"\n", 1, "not a Unicode scalar value"},
      {"a = \"\\U00110000\"\n", 1, "not a Unicode scalar value"},
      {"a = \"\\u0000\"\n", 1, "\\u0000 is not supported"},
      {"a = \"\x01\"\n", 1, "control character in string"},
      {"a = \"\x7f\"\n", 1, "control character in string"},
      {"a = 'x\x1fy'\n", 1, "control character in string"},
      {"a = \"\"\"x\ry\"\"\"\n", 1, "carriage return"},
      {"a = \"\"\"x\n\x02\"\"\"\n", 2, "control character"},
      {"a = \"\"\"x\"\"\"\"\"\"\n", 1, "too many quotes"},
      {"a = '''x''''''\n", 1, "too many quotes"},
      {"\"\"\"k\"\"\" = 1\n", 1, "multi-line string cannot be a key"},
      {"# comment \x01\n", 1, "control character in comment"},
      {"a = 1 # \x7f\n", 1, "control character in comment"},
      {"a = \"x\"\x0d", 1, "unexpected text after value"},
      {"a = 1\n\rb = 2\n", 2, "carriage return"},
  };
  run_rejected(cases, G_N_ELEMENTS(cases));
}

static void
test_reject_encoding(void)
{
  assert_rejected("a = \"\xff\"\n", 1, "invalid UTF-8");
  assert_rejected("a = 1\n# \xc0\xaf overlong\n", 2, "invalid UTF-8");
  assert_rejected("a = 1\n\nb = \"\xed\xa0\x80\"\n", 3, "invalid UTF-8"); /* surrogate */
  assert_rejected("a = \"\xe6\x97\"\n", 1, "invalid UTF-8");              /* truncated */
  assert_rejected_len("a = 1\nb = \"x\0y\"\n", 14, 2, "NUL byte");
  assert_rejected_len("\0", 1, 1, "NUL byte");
  /* Non-ASCII outside a string or comment is not a key. */
  assert_rejected("\xc3\xa9 = 1\n", 1, "expected a key");
}

static void
test_reject_values(void)
{
  static const Rejected cases[] = {
      {"d = 1979-05-27\n", 1, "dates and times are not supported"},
      {"d = 1979-05-27T07:32:00Z\n", 1, "dates and times"},
      {"d = 1979-05-27 07:32:00\n", 1, "dates and times"},
      {"t = 07:32:00\n", 1, "dates and times"},
      {"a = 1 2\n", 1, "unexpected text after value"},
      {"a = \"x\" y\n", 1, "unexpected text after value"},
      {"a = true false\n", 1, "unexpected text after value"},
      {"a = [1] ]\n", 1, "unexpected text after value"},
      {"a = 'x''y'\n", 1, "unexpected text after value"},
      {"a =\n", 1, "expected a value"},
      {"a = # comment\n", 1, "expected a value"},
      {"a = \n1\n", 1, "expected a value"},
      {"a = True\n", 1, "expected a value"},
      {"a = truee\n", 1, "expected a value"},
      {"a = yes\n", 1, "expected a value"},
      {"a = infinity\n", 1, "expected a value"},
      {"a = NaN\n", 1, "expected a value"},
      {"a = @\n", 1, "expected a value"},
      {"a = -\n", 1, "expected a value"},
      {"= 1\n", 1, "expected a key"},
      {"a. = 1\n", 1, "expected a key"},
      {"a b = 1\n", 1, "expected '='"},
      {"a\n= 1\n", 1, "expected '='"},
      {"a == 1\n", 1, "expected a value"},
      {"[a\n", 1, "expected ']'"},
      {"[[a]\n", 1, "expected ']]'"},
      {"[[a] ]\n", 1, "expected ']]'"},
      {"[]\n", 1, "expected a key"},
      {"[a]]\n", 1, "unexpected text after table header"},
      {"[a] b = 1\n", 1, "unexpected text after table header"},
      {"a = [1, 2\n", 1, "unterminated array"},
      {"a = [1 2]\n", 1, "expected ',' or ']'"},
      {"a = [,]\n", 1, "expected a value"},
      {"a = [1,,2]\n", 1, "expected a value"},
      {"a = {b = 1,}\n", 1, "trailing comma in inline table"},
      {"a = {b = 1\n}\n", 1, "one line"},
      {"a = {\nb = 1}\n", 1, "one line"},
      {"a = {b = 1", 1, "unterminated inline table"},
      {"a = {b = 1 c = 2}\n", 1, "expected ',' or '}'"},
      {"a = {,}\n", 1, "expected a key"},
  };
  run_rejected(cases, G_N_ELEMENTS(cases));
}

static void
test_reject_numbers(void)
{
  static const Rejected cases[] = {
      {"a = 01\n", 1, "leading zeros"},
      {"a = -01\n", 1, "leading zeros"},
      {"a = 0_1\n", 1, "leading zeros"},
      {"a = 1__0\n", 1, "invalid number"},
      {"a = _1\n", 1, "expected a value"},
      {"a = 1_\n", 1, "invalid number"},
      {"a = 0x\n", 1, "invalid number"},
      {"a = 0x_1\n", 1, "invalid number"},
      {"a = 0X10\n", 1, "invalid number"},
      {"a = -0x1\n", 1, "sign is not allowed"},
      {"a = +0o7\n", 1, "sign is not allowed"},
      {"a = 0xg\n", 1, "invalid number"},
      {"a = 0b2\n", 1, "invalid number"},
      {"a = 0o8\n", 1, "invalid number"},
      {"a = 9223372036854775808\n", 1, "out of range"},
      {"a = -9223372036854775809\n", 1, "out of range"},
      {"a = 0x8000000000000000\n", 1, "out of range"},
      {"a = 0xffffffffffffffffff\n", 1, "out of range"},
      {"a = 99999999999999999999999\n", 1, "out of range"},
      {"a = 1.\n", 1, "invalid float"},
      {"a = .1\n", 1, "expected a value"},
      {"a = 1e\n", 1, "invalid float"},
      {"a = 1e+\n", 1, "invalid float"},
      {"a = 1.e5\n", 1, "invalid float"},
      {"a = 00.1\n", 1, "leading zeros"},
      {"a = 01e1\n", 1, "leading zeros"},
      {"a = 1.5.2\n", 1, "invalid float"},
      {"a = 1e5.0\n", 1, "invalid float"},
      {"a = 1_.5\n", 1, "invalid float"},
      {"a = 1._5\n", 1, "invalid float"},
      {"a = 1.0e400\n", 1, "float out of range"},
      {"a = -1e309\n", 1, "float out of range"},
      {"a = inf_\n", 1, "expected a value"},
      {"a = 1x\n", 1, "invalid number"},
  };
  run_rejected(cases, G_N_ELEMENTS(cases));
}

static void
test_depth(void)
{
  /* Exactly the limit is accepted; one more is rejected. */
  for (int depth = ACTR_TOML_MAX_DEPTH - 1; depth <= ACTR_TOML_MAX_DEPTH; depth++) {
    g_autoptr(GString) arrays = g_string_new("a = ");
    g_autoptr(GString) inlines = g_string_new("a = ");
    for (int i = 0; i < depth; i++) {
      g_string_append_c(arrays, '[');
      g_string_append(inlines, "{ b = ");
    }
    g_string_append_c(inlines, '1');
    for (int i = 0; i < depth; i++) {
      g_string_append_c(arrays, ']');
      g_string_append(inlines, " }");
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(ActrTomlValue) r1 = actr_toml_parse(arrays->str, arrays->len, ORIGIN, &error);
    g_assert_no_error(error);
    g_assert_nonnull(r1);
    g_autoptr(ActrTomlValue) r2 = actr_toml_parse(inlines->str, inlines->len, ORIGIN, &error);
    g_assert_no_error(error);
    g_assert_nonnull(r2);
    /* "x.a = ..." puts the container one level deeper. */
    g_string_prepend(arrays, "x.");
    g_string_prepend(inlines, "x.");
    if (depth == ACTR_TOML_MAX_DEPTH) {
      assert_rejected(arrays->str, 1, "nesting too deep");
      assert_rejected(inlines->str, 1, "nesting too deep");
    }
  }

  /* Keys and headers with too many parts. */
  g_autoptr(GString) key = g_string_new("k");
  for (int i = 1; i < ACTR_TOML_MAX_DEPTH; i++)
    g_string_append(key, ".k");
  g_autofree char *ok = g_strdup_printf("%s = 1\n", key->str);
  g_autoptr(ActrTomlValue) root = parse_ok(ok);
  g_assert_cmpuint(actr_toml_table_size(root), ==, 1);
  g_autofree char *too_long = g_strdup_printf("\n%s.k = 1\n", key->str);
  assert_rejected(too_long, 2, "more than 64 parts");
  g_autofree char *header = g_strdup_printf("[%s.k]\n", key->str);
  assert_rejected(header, 1, "more than 64 parts");
  /* 64 header parts: the table sits at depth 64, a sub-table would be 65. */
  g_autofree char *deep = g_strdup_printf("[%s]\nx.y = 1\n", key->str);
  assert_rejected(deep, 2, "nesting too deep");
  g_autofree char *deep_aot = g_strdup_printf("[[%s]]\n", key->str);
  assert_rejected(deep_aot, 1, "nesting too deep");

  /* Hostile depth far beyond the limit fails cleanly. */
  g_autofree char *brackets = g_strnfill(100000, '[');
  g_autofree char *hostile = g_strconcat("a = ", brackets, NULL);
  assert_rejected(hostile, 1, "nesting too deep");
  g_autoptr(GString) braces = g_string_new("a = ");
  for (int i = 0; i < 10000; i++)
    g_string_append(braces, "{b=");
  assert_rejected(braces->str, 1, "nesting too deep");
}

static void
test_no_value_in_messages(void)
{
  /* Parse errors never quote the text of a value. */
  const char *inputs[] = {
      "realm_secret = \"TOPSECRET\\q\"\n",
      "realm_secret = \"TOPSECRET\x01\"\n",
      "realm_secret = \"TOPSECRET\n",
      "realm_secret = TOPSECRET\n",
      "realm_secret = \"TOPSECRET\" TOPSECRET\n",
      "realm_secret = 'TOPSECRET\xff'\n",
      "realm_secret = 12TOPSECRET\n",
      "realm_secret = [\"TOPSECRET\" \"x\"]\n",
      "realm_secret = {a = \"TOPSECRET\",}\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS(inputs); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(ActrTomlValue) root = actr_toml_parse(inputs[i], strlen(inputs[i]), ORIGIN, &error);
    g_assert_null(root);
    g_assert_nonnull(error);
    if (strstr(error->message, "TOPSECRET") != NULL)
      g_error("leaked: %s", error->message);
  }
}

static void
test_error_null(void)
{
  /* A NULL GError** is allowed. */
  g_assert_null(actr_toml_parse("a = ", 4, NULL, NULL));
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrTomlValue) root = actr_toml_parse("a = ", 4, NULL, &error);
  g_assert_null(root);
  g_assert_true(g_str_has_prefix(error->message, "<input>:1: "));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/toml/accept/empty", test_empty);
  g_test_add_func("/toml/accept/keys", test_keys);
  g_test_add_func("/toml/accept/tables", test_tables);
  g_test_add_func("/toml/accept/array-of-tables", test_array_of_tables);
  g_test_add_func("/toml/accept/inline-tables", test_inline_tables);
  g_test_add_func("/toml/accept/strings", test_strings);
  g_test_add_func("/toml/accept/integers", test_integers);
  g_test_add_func("/toml/accept/floats", test_floats);
  g_test_add_func("/toml/accept/booleans", test_booleans);
  g_test_add_func("/toml/accept/arrays", test_arrays);
  g_test_add_func("/toml/lookup/order-and-types", test_lookups_and_order);
  g_test_add_func("/toml/lookup/key-display", test_key_display);
  g_test_add_func("/toml/file", test_parse_file);
  g_test_add_func("/toml/reject/duplicates", test_reject_duplicates);
  g_test_add_func("/toml/reject/tables", test_reject_tables);
  g_test_add_func("/toml/reject/strings", test_reject_strings);
  g_test_add_func("/toml/reject/encoding", test_reject_encoding);
  g_test_add_func("/toml/reject/values", test_reject_values);
  g_test_add_func("/toml/reject/numbers", test_reject_numbers);
  g_test_add_func("/toml/reject/depth", test_depth);
  g_test_add_func("/toml/reject/no-value-in-messages", test_no_value_in_messages);
  g_test_add_func("/toml/reject/null-error", test_error_null);
  return g_test_run();
}
