/* actr — a small strict TOML reader.  See toml.h for the accepted subset.
 *
 * The parser is a single pass over a private NUL-terminated copy of the
 * input (the input is checked for NUL bytes and invalid UTF-8 first, so a
 * NUL always means "end of input").  Recursion happens only for arrays and
 * inline tables and is bounded by ACTR_TOML_MAX_DEPTH; every container
 * carries its depth, so freeing is bounded too.
 *
 * Table definition rules (TOML 1.0, "Table" and "Array of Tables"):
 * - a [header] may define a table once; a table created implicitly as the
 *   parent of a header ([a.b] creates a) may be defined later by [a];
 * - a table created by dotted keys can be extended by more dotted keys in
 *   the same section only, can never be defined by a [header], but a header
 *   may add sub-tables to it;
 * - dotted keys cannot add to a table defined by a [header];
 * - inline tables and static arrays are sealed: nothing can be added later;
 * - [[a]] appends to an array created by [[a]], never to a static array.
 */
#include "toml.h"

#include <actr/config.h>

#include <glib/gstdio.h>

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

/* Largest input accepted by actr_toml_parse_file(). */
#define MAX_FILE_SIZE (16 * 1024 * 1024)

/* Longest key shown in a message, in bytes. */
#define KEY_DISPLAY_MAX 64

enum {
  TABLE_EXPLICIT = 1 << 0,  /* defined by a [header], or an [[array]] element */
  TABLE_DOTTED = 1 << 1,    /* created by a dotted key */
  TABLE_INLINE = 1 << 2,    /* an inline table or a table inside one: sealed */
  ARRAY_OF_TABLES = 1 << 3, /* created by [[header]]: can be appended to */
};

typedef struct {
  char *key;
  ActrTomlValue *value;
} Entry;

struct _ActrTomlValue {
  ActrTomlType type;
  guint line;
  guint flags;
  guint depth;   /* containers: 0 for the root, parent + 1 below it */
  guint section; /* TABLE_DOTTED: id of the section whose dotted keys made it */
  union {
    char *string;
    gint64 integer;
    double real;
    gboolean boolean;
    GPtrArray *array; /* of ActrTomlValue*, owned */
    struct {
      GPtrArray *entries; /* of Entry*, owned, in document order */
      GHashTable *index;  /* key (borrowed from the Entry) -> Entry* */
    } table;
  } u;
};

typedef struct {
  const char *origin;
  const char *p; /* cursor; the buffer is NUL-terminated */
  guint line;
  guint ids;          /* source of section and inline-table ids */
  guint section;      /* id of the current [section] */
  char *section_path; /* display form of the current [section] ("" = root) */
  ActrTomlValue *root;
  ActrTomlValue *current; /* table receiving key/value pairs */
  GError **error;
} Parser;

/* ---- values ---------------------------------------------------------- */

static void value_free(ActrTomlValue *value);

static void
entry_free(gpointer data)
{
  Entry *entry = data;
  g_free(entry->key);
  value_free(entry->value);
  g_free(entry);
}

static void
value_free(ActrTomlValue *value)
{
  if (value == NULL)
    return;
  switch (value->type) {
  case ACTR_TOML_STRING:
    g_free(value->u.string);
    break;
  case ACTR_TOML_ARRAY:
    g_ptr_array_unref(value->u.array);
    break;
  case ACTR_TOML_TABLE:
    g_hash_table_unref(value->u.table.index);
    g_ptr_array_unref(value->u.table.entries);
    break;
  default:
    break;
  }
  g_free(value);
}

static ActrTomlValue *
value_new(ActrTomlType type, guint line)
{
  ActrTomlValue *value = g_new0(ActrTomlValue, 1);
  value->type = type;
  value->line = line;
  if (type == ACTR_TOML_ARRAY) {
    value->u.array = g_ptr_array_new_with_free_func((GDestroyNotify)value_free);
  } else if (type == ACTR_TOML_TABLE) {
    value->u.table.entries = g_ptr_array_new_with_free_func(entry_free);
    value->u.table.index = g_hash_table_new(g_str_hash, g_str_equal);
  }
  return value;
}

static Entry *
table_find(const ActrTomlValue *table, const char *key)
{
  return g_hash_table_lookup(table->u.table.index, key);
}

/* Adds @key = @value to @table (which must not contain @key); takes
 * ownership of @value. */
static void
table_insert(ActrTomlValue *table, const char *key, ActrTomlValue *value)
{
  Entry *entry = g_new(Entry, 1);
  entry->key = g_strdup(key);
  entry->value = value;
  g_ptr_array_add(table->u.table.entries, entry);
  g_hash_table_insert(table->u.table.index, entry->key, entry);
}

/* Marks @table and every table created inside it as sealed. */
static void
seal_inline(ActrTomlValue *table)
{
  table->flags |= TABLE_INLINE;
  for (guint i = 0; i < table->u.table.entries->len; i++) {
    Entry *entry = g_ptr_array_index(table->u.table.entries, i);
    if (entry->value->type == ACTR_TOML_TABLE)
      seal_inline(entry->value);
  }
}

/* ---- messages -------------------------------------------------------- */

static gboolean
is_bare_key_char(char c)
{
  return g_ascii_isalnum(c) || c == '_' || c == '-';
}

char *
actr_toml_key_display(const char *key)
{
  g_return_val_if_fail(key != NULL, NULL);
  gboolean bare = key[0] != '\0';
  for (const char *s = key; *s && bare; s++)
    bare = is_bare_key_char(*s);
  if (bare && strlen(key) <= KEY_DISPLAY_MAX)
    return g_strdup(key);

  GString *out = g_string_new("\"");
  const char *s = key;
  while (*s) {
    if (out->len >= KEY_DISPLAY_MAX) {
      g_string_append(out, "...");
      break;
    }
    guchar c = (guchar)*s;
    if (c == '"' || c == '\\') {
      g_string_append_c(out, '\\');
      g_string_append_c(out, (char)c);
      s++;
    } else if (c < 0x20 || c == 0x7f) {
      g_string_append_printf(out, "\\u%04X", c);
      s++;
    } else {
      /* Copy one whole UTF-8 character; keys are valid UTF-8. */
      const char *next = g_utf8_next_char(s);
      g_string_append_len(out, s, next - s);
      s = next;
    }
  }
  g_string_append_c(out, '"');
  return g_string_free(out, FALSE);
}

/* "a.b.c" for the first @n parts of @parts, each part displayed. */
static char *
path_display(GPtrArray *parts, guint n)
{
  GString *out = g_string_new(NULL);
  for (guint i = 0; i < n; i++) {
    g_autofree char *part = actr_toml_key_display(g_ptr_array_index(parts, i));
    if (i > 0)
      g_string_append_c(out, '.');
    g_string_append(out, part);
  }
  return g_string_free(out, FALSE);
}

/* "a string", "an integer", ... for messages. */
static const char *
a_type_name(const ActrTomlValue *value)
{
  switch (value->type) {
  case ACTR_TOML_STRING:
    return "a string";
  case ACTR_TOML_INTEGER:
    return "an integer";
  case ACTR_TOML_FLOAT:
    return "a float";
  case ACTR_TOML_BOOLEAN:
    return "a boolean";
  case ACTR_TOML_ARRAY:
    return "an array";
  case ACTR_TOML_TABLE:
    return "a table";
  }
  return "a value";
}

static gboolean fail(Parser *ps, guint line, const char *format, ...) G_GNUC_PRINTF(3, 4);

/* Sets the parse error "ORIGIN:LINE: message" (once) and returns FALSE. */
static gboolean
fail(Parser *ps, guint line, const char *format, ...)
{
  if (ps->error == NULL || *ps->error != NULL)
    return FALSE;
  va_list ap;
  va_start(ap, format);
  g_autofree char *message = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_set_error(ps->error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_PARSE, "%s:%u: %s", ps->origin, line,
              message);
  return FALSE;
}

/* ---- lexical helpers ------------------------------------------------- */

static void
skip_ws(Parser *ps)
{
  while (*ps->p == ' ' || *ps->p == '\t')
    ps->p++;
}

/* Consumes one LF or CRLF; FALSE (nothing consumed) otherwise. */
static gboolean
eat_newline(Parser *ps)
{
  if (ps->p[0] == '\n') {
    ps->p++;
  } else if (ps->p[0] == '\r' && ps->p[1] == '\n') {
    ps->p += 2;
  } else {
    return FALSE;
  }
  ps->line++;
  return TRUE;
}

/* TRUE for a byte that may not appear literally in a comment or a string:
 * control characters other than tab, and DEL. */
static gboolean
is_forbidden_control(guchar c)
{
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Consumes a comment (cursor on '#') up to, not including, the newline. */
static gboolean
eat_comment(Parser *ps)
{
  ps->p++;
  for (;;) {
    guchar c = (guchar)*ps->p;
    if (c == '\0' || c == '\n' || (c == '\r' && ps->p[1] == '\n'))
      return TRUE;
    if (is_forbidden_control(c))
      return fail(ps, ps->line, "control character in comment");
    ps->p++;
  }
}

/* After a header or a key/value pair: optional whitespace and comment, then
 * a newline or the end of the input. */
static gboolean
expect_line_end(Parser *ps, const char *what)
{
  skip_ws(ps);
  if (*ps->p == '#' && !eat_comment(ps))
    return FALSE;
  if (*ps->p == '\0' || eat_newline(ps))
    return TRUE;
  return fail(ps, ps->line, "unexpected text after %s (expected a newline)", what);
}

/* Whitespace, newlines and comments, as allowed between array elements. */
static gboolean
skip_array_ws(Parser *ps)
{
  for (;;) {
    skip_ws(ps);
    if (*ps->p == '#') {
      if (!eat_comment(ps))
        return FALSE;
    } else if (!eat_newline(ps)) {
      return TRUE;
    }
  }
}

static int
hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* ---- strings --------------------------------------------------------- */

/* Parses the escape sequence at the cursor (on the backslash) of a basic
 * string and appends its value to @out.  In a multi-line string a backslash
 * at the end of a line removes the newline and all following whitespace. */
static gboolean
parse_escape(Parser *ps, GString *out, gboolean multiline)
{
  const char *esc = ps->p + 1;
  guint digits = 0;
  switch (*esc) {
  case 'b':
    g_string_append_c(out, '\b');
    break;
  case 't':
    g_string_append_c(out, '\t');
    break;
  case 'n':
    g_string_append_c(out, '\n');
    break;
  case 'f':
    g_string_append_c(out, '\f');
    break;
  case 'r':
    g_string_append_c(out, '\r');
    break;
  case '"':
    g_string_append_c(out, '"');
    break;
  case '\\':
    g_string_append_c(out, '\\');
    break;
  case 'u':
    digits = 4;
    break;
  case 'U':
    digits = 8;
    break;
  default:
    if (multiline) {
      const char *s = esc;
      while (*s == ' ' || *s == '\t')
        s++;
      if (*s == '\n' || (s[0] == '\r' && s[1] == '\n')) {
        ps->p = s;
        for (;;) {
          skip_ws(ps);
          if (!eat_newline(ps))
            return TRUE;
        }
      }
    }
    return fail(ps, ps->line, "invalid escape sequence in string");
  }
  if (digits == 0) {
    ps->p = esc + 1;
    return TRUE;
  }
  guint32 code = 0;
  for (guint i = 1; i <= digits; i++) {
    int v = hex_value(esc[i]);
    if (v < 0)
      return fail(ps, ps->line, "invalid \\%c escape: expected %u hexadecimal digits", *esc,
                  digits);
    code = (code << 4) | (guint32)v;
  }
  if (code == 0)
    return fail(ps, ps->line, "the escape \\u0000 is not supported");
  if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
    return fail(ps, ps->line, "escape is not a Unicode scalar value");
  g_string_append_unichar(out, (gunichar)code);
  ps->p = esc + 1 + digits;
  return TRUE;
}

/* Parses a string at the cursor ('"', '\'', '"""' or '\'\'\'').  Multi-line
 * forms are accepted only when @allow_multiline.  Returns the value
 * (transfer full) or NULL. */
static char *
parse_string(Parser *ps, gboolean allow_multiline)
{
  const char quote = *ps->p;
  const gboolean basic = quote == '"';
  const guint start_line = ps->line;
  gboolean multiline = ps->p[1] == quote && ps->p[2] == quote;
  g_autoptr(GString) out = g_string_new(NULL);

  if (multiline && !allow_multiline) {
    fail(ps, ps->line, "a multi-line string cannot be a key");
    return NULL;
  }
  ps->p += multiline ? 3 : 1;
  if (multiline)
    eat_newline(ps); /* a newline right after the delimiter is trimmed */

  for (;;) {
    guchar c = (guchar)*ps->p;
    if (c == '\0') {
      fail(ps, start_line, "unterminated string");
      return NULL;
    }
    if (c == (guchar)quote) {
      if (!multiline) {
        ps->p++;
        break;
      }
      guint n = 0;
      while (ps->p[n] == quote)
        n++;
      if (n >= 3) {
        if (n > 5) {
          fail(ps, ps->line, "too many quotes at the end of a multi-line string");
          return NULL;
        }
        g_string_append_len(out, ps->p, n - 3);
        ps->p += n;
        break;
      }
      g_string_append_len(out, ps->p, n);
      ps->p += n;
      continue;
    }
    if (basic && c == '\\') {
      if (!parse_escape(ps, out, multiline))
        return NULL;
      continue;
    }
    if (c == '\n' || c == '\r') {
      if (!multiline) {
        fail(ps, start_line, "unterminated string (newline in a single-line string)");
        return NULL;
      }
      if (!eat_newline(ps)) {
        fail(ps, ps->line, "carriage return without line feed in string");
        return NULL;
      }
      g_string_append_c(out, '\n');
      continue;
    }
    if (is_forbidden_control(c)) {
      fail(ps, ps->line, "control character in string (use an escape sequence)");
      return NULL;
    }
    g_string_append_c(out, (char)c);
    ps->p++;
  }
  return g_string_free(g_steal_pointer(&out), FALSE);
}

/* ---- keys ------------------------------------------------------------ */

/* Parses a (dotted) key at the cursor into @parts (owned strings). */
static gboolean
parse_key(Parser *ps, GPtrArray *parts)
{
  for (;;) {
    skip_ws(ps);
    char *part;
    if (*ps->p == '"' || *ps->p == '\'') {
      part = parse_string(ps, FALSE);
      if (part == NULL)
        return FALSE;
    } else {
      const char *start = ps->p;
      while (is_bare_key_char(*ps->p))
        ps->p++;
      if (ps->p == start)
        return fail(ps, ps->line, "expected a key");
      part = g_strndup(start, ps->p - start);
    }
    g_ptr_array_add(parts, part);
    if (parts->len > ACTR_TOML_MAX_DEPTH)
      return fail(ps, ps->line, "key has more than %d parts", ACTR_TOML_MAX_DEPTH);
    skip_ws(ps);
    if (*ps->p != '.')
      return TRUE;
    ps->p++;
  }
}

/* ---- numbers and other scalars --------------------------------------- */

static int
digit_value(char c, guint base)
{
  int v = hex_value(c);
  return (v >= 0 && (guint)v < base) ? v : -1;
}

/* Checks that s[0..len) is DIGIT *( ["_"] DIGIT ) in @base. */
static gboolean
digits_ok(const char *s, gsize len, guint base)
{
  if (len == 0 || digit_value(s[0], base) < 0)
    return FALSE;
  for (gsize i = 1; i < len; i++) {
    if (s[i] == '_') {
      if (i + 1 >= len || digit_value(s[i + 1], base) < 0)
        return FALSE;
    } else if (digit_value(s[i], base) < 0) {
      return FALSE;
    }
  }
  return TRUE;
}

/* Length of the longest prefix of @s made of digits of @base and '_'. */
static gsize
digits_span(const char *s, gsize len, guint base)
{
  gsize i = 0;
  while (i < len && (s[i] == '_' || digit_value(s[i], base) >= 0))
    i++;
  return i;
}

/* Parses an integer token; the value must fit in int64. */
static gboolean
parse_integer(Parser *ps, const char *tok, gsize len, gint64 *out)
{
  gboolean negative = FALSE;
  gboolean sign = FALSE;
  guint base = 10;
  if (tok[0] == '+' || tok[0] == '-') {
    negative = tok[0] == '-';
    sign = TRUE;
    tok++;
    len--;
  }
  if (len >= 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'o' || tok[1] == 'b')) {
    base = tok[1] == 'x' ? 16 : tok[1] == 'o' ? 8 : 2;
    if (sign)
      return fail(ps, ps->line, "a sign is not allowed on a hexadecimal, octal or binary integer");
    tok += 2;
    len -= 2;
  }
  if (!digits_ok(tok, len, base))
    return fail(ps, ps->line, "invalid number");
  if (base == 10 && tok[0] == '0' && len > 1)
    return fail(ps, ps->line, "leading zeros are not allowed in an integer");

  const guint64 limit = negative ? (guint64)G_MAXINT64 + 1 : (guint64)G_MAXINT64;
  guint64 magnitude = 0;
  for (gsize i = 0; i < len; i++) {
    if (tok[i] == '_')
      continue;
    guint64 d = (guint64)digit_value(tok[i], base);
    if (magnitude > (limit - d) / base)
      return fail(ps, ps->line, "integer out of range (64-bit signed)");
    magnitude = magnitude * base + d;
  }
  if (negative)
    *out = magnitude == (guint64)G_MAXINT64 + 1 ? G_MININT64 : -(gint64)magnitude;
  else
    *out = (gint64)magnitude;
  return TRUE;
}

/* Parses a float token: int-part (frac | [frac] exp), or [sign](inf|nan). */
static gboolean
parse_float(Parser *ps, const char *tok, gsize len, double *out)
{
  const char *s = tok;
  gsize n = len;
  gboolean negative = FALSE;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s++;
    n--;
  }
  if (n == 3 && memcmp(s, "inf", 3) == 0) {
    *out = negative ? -INFINITY : INFINITY;
    return TRUE;
  }
  if (n == 3 && memcmp(s, "nan", 3) == 0) {
    *out = negative ? -NAN : NAN;
    return TRUE;
  }

  gsize i = digits_span(s, n, 10);
  if (!digits_ok(s, i, 10))
    return fail(ps, ps->line, "invalid float");
  if (s[0] == '0' && i > 1)
    return fail(ps, ps->line, "leading zeros are not allowed in a float");
  gboolean fraction = FALSE, exponent = FALSE;
  if (i < n && s[i] == '.') {
    gsize k = digits_span(s + i + 1, n - i - 1, 10);
    if (!digits_ok(s + i + 1, k, 10))
      return fail(ps, ps->line, "invalid float (expected digits after '.')");
    i += 1 + k;
    fraction = TRUE;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    gsize k = digits_span(s + i, n - i, 10);
    if (!digits_ok(s + i, k, 10))
      return fail(ps, ps->line, "invalid float (expected digits in the exponent)");
    i += k;
    exponent = TRUE;
  }
  if (i != n || !(fraction || exponent))
    return fail(ps, ps->line, "invalid float");

  /* The grammar is checked; let the C library do the rounding. */
  g_autoptr(GString) clean = g_string_sized_new(len);
  for (gsize k = 0; k < len; k++)
    if (tok[k] != '_')
      g_string_append_c(clean, tok[k]);
  char *end = NULL;
  errno = 0;
  double value = g_ascii_strtod(clean->str, &end);
  if (end != clean->str + clean->len)
    return fail(ps, ps->line, "invalid float");
  if (errno == ERANGE && isinf(value))
    return fail(ps, ps->line, "float out of range");
  *out = value;
  return TRUE;
}

static gboolean
is_token_char(char c)
{
  return g_ascii_isalnum(c) || c == '_' || c == '+' || c == '-' || c == '.' || c == ':';
}

/* Parses a boolean, integer or float at the cursor into a new value. */
static ActrTomlValue *
parse_scalar(Parser *ps)
{
  const char *tok = ps->p;
  gsize len = 0;
  while (is_token_char(tok[len]))
    len++;
  if (len == 0) {
    fail(ps, ps->line, "expected a value");
    return NULL;
  }
  ps->p += len;

  if ((len == 4 && memcmp(tok, "true", 4) == 0) || (len == 5 && memcmp(tok, "false", 5) == 0)) {
    ActrTomlValue *value = value_new(ACTR_TOML_BOOLEAN, ps->line);
    value->u.boolean = len == 4;
    return value;
  }

  /* Dates (1979-05-27...) and times (07:32:00...) start with 4 digits and a
   * '-', or 2 digits and a ':'. */
  gsize d = 0;
  while (d < len && g_ascii_isdigit(tok[d]))
    d++;
  if ((d == 4 && d < len && tok[d] == '-') || (d == 2 && d < len && tok[d] == ':')) {
    fail(ps, ps->line, "dates and times are not supported");
    return NULL;
  }

  const char *s = tok + ((tok[0] == '+' || tok[0] == '-') ? 1 : 0);
  gsize n = len - (gsize)(s - tok);
  if (n == 0 || !(g_ascii_isdigit(s[0]) ||
                  (n == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0)))) {
    fail(ps, ps->line, "expected a value");
    return NULL;
  }
  gboolean radix = n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b');
  gboolean is_float = !radix && (memchr(tok, '.', len) || memchr(tok, 'e', len) ||
                                 memchr(tok, 'E', len) || g_ascii_isalpha(s[0]));
  if (is_float) {
    double real = 0;
    if (!parse_float(ps, tok, len, &real))
      return NULL;
    ActrTomlValue *value = value_new(ACTR_TOML_FLOAT, ps->line);
    value->u.real = real;
    return value;
  }
  gint64 integer = 0;
  if (!parse_integer(ps, tok, len, &integer))
    return NULL;
  ActrTomlValue *value = value_new(ACTR_TOML_INTEGER, ps->line);
  value->u.integer = integer;
  return value;
}

/* ---- values and tables ----------------------------------------------- */

static ActrTomlValue *parse_value(Parser *ps, guint depth);

/* Fails (reporting @line) when a container would sit deeper than the limit. */
static gboolean
check_depth(Parser *ps, guint depth, guint line)
{
  if (depth > ACTR_TOML_MAX_DEPTH)
    return fail(ps, line, "nesting too deep (limit %d)", ACTR_TOML_MAX_DEPTH);
  return TRUE;
}

/* Parses an array at the cursor ('['); the array sits at @depth. */
static ActrTomlValue *
parse_array(Parser *ps, guint depth)
{
  if (!check_depth(ps, depth, ps->line))
    return NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func((GDestroyNotify)value_free);
  const guint start_line = ps->line;
  ps->p++;
  for (;;) {
    if (!skip_array_ws(ps))
      return NULL;
    if (*ps->p == ']')
      break;
    ActrTomlValue *item = parse_value(ps, depth + 1);
    if (item == NULL)
      return NULL;
    g_ptr_array_add(items, item);
    if (!skip_array_ws(ps))
      return NULL;
    if (*ps->p == ',') {
      ps->p++;
    } else if (*ps->p == ']') {
      break;
    } else if (*ps->p == '\0') {
      fail(ps, start_line, "unterminated array");
      return NULL;
    } else {
      fail(ps, ps->line, "expected ',' or ']' in array");
      return NULL;
    }
  }
  ps->p++;
  ActrTomlValue *array = value_new(ACTR_TOML_ARRAY, start_line);
  array->depth = depth;
  g_ptr_array_extend_and_steal(array->u.array, g_steal_pointer(&items));
  return array;
}

/* Walks the first parts.len - 1 parts of a dotted key inside @table,
 * creating tables as needed, and returns the table that receives the last
 * part, or NULL.  @section is the id of the section (or inline table) the
 * key is written in; @prefix (nullable) is the path of that section, for
 * messages. */
static ActrTomlValue *
walk_dotted(Parser *ps, ActrTomlValue *table, GPtrArray *parts, guint section, const char *prefix)
{
  for (guint i = 0; i + 1 < parts->len; i++) {
    const char *part = g_ptr_array_index(parts, i);
    Entry *entry = table_find(table, part);
    if (entry == NULL) {
      if (!check_depth(ps, table->depth + 1, ps->line))
        return NULL;
      ActrTomlValue *child = value_new(ACTR_TOML_TABLE, ps->line);
      child->depth = table->depth + 1;
      child->flags = TABLE_DOTTED;
      child->section = section;
      table_insert(table, part, child);
      table = child;
      continue;
    }
    ActrTomlValue *child = entry->value;
    if (child->type != ACTR_TOML_TABLE || (child->flags & (TABLE_INLINE | TABLE_EXPLICIT)) ||
        ((child->flags & TABLE_DOTTED) && child->section != section)) {
      g_autofree char *relative = path_display(parts, i + 1);
      g_autofree char *name =
          prefix && prefix[0] ? g_strconcat(prefix, ".", relative, NULL) : g_strdup(relative);
      if (child->type != ACTR_TOML_TABLE)
        fail(ps, ps->line, "key %s is already defined as %s on line %u", name, a_type_name(child),
             child->line);
      else if (child->flags & TABLE_INLINE)
        fail(ps, ps->line, "cannot add keys to inline table %s (line %u)", name, child->line);
      else if (child->flags & TABLE_EXPLICIT)
        fail(ps, ps->line, "cannot use dotted keys to add to table [%s] (line %u)", name,
             child->line);
      else
        fail(ps, ps->line, "table %s was defined by dotted keys in another section (line %u)", name,
             child->line);
      return NULL;
    }
    /* An implicit table (parent of a [header]) becomes a dotted one. */
    child->flags |= TABLE_DOTTED;
    child->section = section;
    table = child;
  }
  return table;
}

/* Parses "key = value" at the cursor into @table (see walk_dotted() for
 * @section and @prefix). */
static gboolean
parse_key_value(Parser *ps, ActrTomlValue *table, guint section, const char *prefix)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
  const guint line = ps->line;
  if (!parse_key(ps, parts))
    return FALSE;
  if (*ps->p != '=')
    return fail(ps, ps->line, "expected '=' after a key");
  ps->p++;
  skip_ws(ps);

  ActrTomlValue *parent = walk_dotted(ps, table, parts, section, prefix);
  if (parent == NULL)
    return FALSE;
  const char *last = g_ptr_array_index(parts, parts->len - 1);
  Entry *existing = table_find(parent, last);
  if (existing != NULL) {
    g_autofree char *name = path_display(parts, parts->len);
    return fail(ps, line, "duplicate key %s (first defined on line %u)", name,
                existing->value->line);
  }
  ActrTomlValue *value = parse_value(ps, parent->depth + 1);
  if (value == NULL)
    return FALSE;
  table_insert(parent, last, value);
  return TRUE;
}

/* Parses an inline table at the cursor ('{'); the table sits at @depth. */
static ActrTomlValue *
parse_inline_table(Parser *ps, guint depth)
{
  if (!check_depth(ps, depth, ps->line))
    return NULL;
  g_autoptr(ActrTomlValue) table = value_new(ACTR_TOML_TABLE, ps->line);
  table->depth = depth;
  const guint id = ++ps->ids;
  ps->p++;
  skip_ws(ps);
  if (*ps->p == '}') {
    ps->p++;
    seal_inline(table);
    return g_steal_pointer(&table);
  }
  for (;;) {
    skip_ws(ps);
    if (*ps->p == '}') {
      fail(ps, ps->line, "trailing comma in inline table");
      return NULL;
    }
    if (*ps->p == '\n' || *ps->p == '\r' || *ps->p == '#') {
      fail(ps, ps->line, "inline table must be on one line");
      return NULL;
    }
    if (!parse_key_value(ps, table, id, NULL))
      return NULL;
    skip_ws(ps);
    if (*ps->p == ',') {
      ps->p++;
    } else if (*ps->p == '}') {
      ps->p++;
      break;
    } else if (*ps->p == '\0' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '#') {
      fail(ps, ps->line, "unterminated inline table (it must be on one line)");
      return NULL;
    } else {
      fail(ps, ps->line, "expected ',' or '}' in inline table");
      return NULL;
    }
  }
  seal_inline(table);
  return g_steal_pointer(&table);
}

/* Parses any value at the cursor; containers sit at @depth. */
static ActrTomlValue *
parse_value(Parser *ps, guint depth)
{
  switch (*ps->p) {
  case '"':
  case '\'': {
    const guint line = ps->line;
    char *text = parse_string(ps, TRUE);
    if (text == NULL)
      return NULL;
    ActrTomlValue *value = value_new(ACTR_TOML_STRING, line);
    value->u.string = text;
    return value;
  }
  case '[':
    return parse_array(ps, depth);
  case '{':
    return parse_inline_table(ps, depth);
  case '\0':
  case '\n':
  case '\r':
  case '#':
    fail(ps, ps->line, "expected a value");
    return NULL;
  default:
    return parse_scalar(ps);
  }
}

/* Parses a [header] or [[header]] at the cursor and makes its table the
 * current one. */
static gboolean
parse_header(Parser *ps)
{
  const guint line = ps->line;
  const gboolean array = ps->p[1] == '[';
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
  ps->p += array ? 2 : 1;
  if (!parse_key(ps, parts))
    return FALSE;
  if (*ps->p != ']' || (array && ps->p[1] != ']'))
    return fail(ps, line, array ? "expected ']]' to close the header" : "expected ']'");
  ps->p += array ? 2 : 1;
  if (!expect_line_end(ps, "table header"))
    return FALSE;
  ps->section = ++ps->ids;
  g_free(ps->section_path);
  ps->section_path = path_display(parts, parts->len);

  ActrTomlValue *table = ps->root;
  for (guint i = 0; i + 1 < parts->len; i++) {
    const char *part = g_ptr_array_index(parts, i);
    Entry *entry = table_find(table, part);
    if (entry == NULL) {
      if (!check_depth(ps, table->depth + 1, line))
        return FALSE;
      ActrTomlValue *child = value_new(ACTR_TOML_TABLE, line);
      child->depth = table->depth + 1;
      table_insert(table, part, child);
      table = child;
      continue;
    }
    ActrTomlValue *child = entry->value;
    if (child->type == ACTR_TOML_ARRAY && (child->flags & ARRAY_OF_TABLES)) {
      table = g_ptr_array_index(child->u.array, child->u.array->len - 1);
      continue;
    }
    if (child->type != ACTR_TOML_TABLE || (child->flags & TABLE_INLINE)) {
      g_autofree char *name = path_display(parts, i + 1);
      if (child->type != ACTR_TOML_TABLE)
        return fail(ps, line, "key %s is already defined as %s on line %u", name,
                    a_type_name(child), child->line);
      return fail(ps, line, "cannot add to inline table %s (line %u)", name, child->line);
    }
    table = child;
  }

  const char *last = g_ptr_array_index(parts, parts->len - 1);
  g_autofree char *name = path_display(parts, parts->len);
  Entry *entry = table_find(table, last);
  ActrTomlValue *existing = entry ? entry->value : NULL;

  if (array) {
    ActrTomlValue *aot = existing;
    if (aot == NULL) {
      if (!check_depth(ps, table->depth + 2, line))
        return FALSE;
      aot = value_new(ACTR_TOML_ARRAY, line);
      aot->depth = table->depth + 1;
      aot->flags = ARRAY_OF_TABLES;
      table_insert(table, last, aot);
    } else if (aot->type != ACTR_TOML_ARRAY || !(aot->flags & ARRAY_OF_TABLES)) {
      return fail(ps, line, "cannot define [[%s]]: %s is already defined as %s on line %u", name,
                  name, aot->type == ACTR_TOML_ARRAY ? "a static array" : a_type_name(aot),
                  aot->line);
    }
    ActrTomlValue *element = value_new(ACTR_TOML_TABLE, line);
    element->depth = aot->depth + 1;
    element->flags = TABLE_EXPLICIT;
    g_ptr_array_add(aot->u.array, element);
    ps->current = element;
    return TRUE;
  }

  if (existing == NULL) {
    if (!check_depth(ps, table->depth + 1, line))
      return FALSE;
    ActrTomlValue *child = value_new(ACTR_TOML_TABLE, line);
    child->depth = table->depth + 1;
    child->flags = TABLE_EXPLICIT;
    table_insert(table, last, child);
    ps->current = child;
    return TRUE;
  }
  if (existing->type == ACTR_TOML_ARRAY && (existing->flags & ARRAY_OF_TABLES))
    return fail(ps, line, "table [%s] is already defined as an array of tables on line %u", name,
                existing->line);
  if (existing->type != ACTR_TOML_TABLE)
    return fail(ps, line, "key %s is already defined as %s on line %u", name, a_type_name(existing),
                existing->line);
  if (existing->flags & TABLE_EXPLICIT)
    return fail(ps, line, "table [%s] is defined twice (first on line %u)", name, existing->line);
  if (existing->flags & TABLE_INLINE)
    return fail(ps, line, "table [%s] is already defined as an inline table on line %u", name,
                existing->line);
  if (existing->flags & TABLE_DOTTED)
    return fail(ps, line, "table [%s] is already defined by dotted keys on line %u", name,
                existing->line);
  /* Implicitly created as the parent of an earlier header: define it now. */
  existing->flags |= TABLE_EXPLICIT;
  existing->line = line;
  ps->current = existing;
  return TRUE;
}

/* Checks the raw input: no NUL byte, valid UTF-8.  Reports the line. */
static gboolean
check_input(Parser *ps, const char *data, gsize len)
{
  const char *nul = memchr(data, '\0', len);
  const char *end = NULL;
  gsize checked = nul ? (gsize)(nul - data) : len;
  gboolean valid = g_utf8_validate_len(data, checked, &end);
  const char *bad = !valid ? end : nul;
  if (bad == NULL)
    return TRUE;
  guint line = 1;
  for (const char *s = data; s < bad; s++)
    if (*s == '\n')
      line++;
  return fail(ps, line, !valid ? "invalid UTF-8" : "NUL byte in input");
}

ActrTomlValue *
actr_toml_parse(const char *data, gsize len, const char *origin, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  /* Errors are built through ps.error; keep one locally so that a caller
   * passing NULL still gets a clean failure path. */
  g_autoptr(GError) local_error = NULL;
  Parser ps = {
      .origin = origin ? origin : "<input>",
      .line = 1,
      .error = &local_error,
  };
  if (!check_input(&ps, data ? data : "", len)) {
    g_propagate_error(error, g_steal_pointer(&local_error));
    return NULL;
  }

  g_autofree char *buffer = g_malloc(len + 1);
  if (len > 0)
    memcpy(buffer, data, len);
  buffer[len] = '\0';
  ps.p = buffer;
  if (len >= 3 && memcmp(buffer, "\xEF\xBB\xBF", 3) == 0)
    ps.p += 3;

  g_autoptr(ActrTomlValue) root = value_new(ACTR_TOML_TABLE, 1);
  ps.root = root;
  ps.current = root;
  ps.section = ++ps.ids;

  gboolean ok = TRUE;
  while (ok && *ps.p != '\0') {
    skip_ws(&ps);
    switch (*ps.p) {
    case '\0':
      break;
    case '#':
      ok = eat_comment(&ps) && expect_line_end(&ps, "comment");
      break;
    case '\n':
    case '\r':
      ok = eat_newline(&ps) || fail(&ps, ps.line, "carriage return without line feed");
      break;
    case '[':
      ok = parse_header(&ps);
      break;
    default:
      ok = parse_key_value(&ps, ps.current, ps.section, ps.section_path) &&
           expect_line_end(&ps, "value");
      break;
    }
  }
  g_free(ps.section_path);
  if (!ok) {
    g_propagate_error(error, g_steal_pointer(&local_error));
    return NULL;
  }
  return g_steal_pointer(&root);
}

ActrTomlValue *
actr_toml_parse_file(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  GStatBuf st;
  if (g_stat(path, &st) != 0) {
    int saved = errno;
    g_set_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_IO, "%s: cannot read: %s", path,
                g_strerror(saved));
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    g_set_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_IO, "%s: cannot read: not a file",
                path);
    return NULL;
  }
  if (st.st_size > MAX_FILE_SIZE) {
    g_set_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_IO,
                "%s: cannot read: larger than %d bytes", path, MAX_FILE_SIZE);
    return NULL;
  }
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) io_error = NULL;
  if (!g_file_get_contents(path, &data, &len, &io_error)) {
    g_set_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_IO, "%s: cannot read: %s", path,
                io_error->message);
    return NULL;
  }
  return actr_toml_parse(data, len, path, error);
}

void
actr_toml_free(ActrTomlValue *root)
{
  value_free(root);
}

/* ---- lookups --------------------------------------------------------- */

ActrTomlType
actr_toml_value_type(const ActrTomlValue *value)
{
  g_return_val_if_fail(value != NULL, ACTR_TOML_TABLE);
  return value->type;
}

const char *
actr_toml_type_name(ActrTomlType type)
{
  switch (type) {
  case ACTR_TOML_STRING:
    return "string";
  case ACTR_TOML_INTEGER:
    return "integer";
  case ACTR_TOML_FLOAT:
    return "float";
  case ACTR_TOML_BOOLEAN:
    return "boolean";
  case ACTR_TOML_ARRAY:
    return "array";
  case ACTR_TOML_TABLE:
    return "table";
  }
  return "unknown";
}

guint
actr_toml_value_line(const ActrTomlValue *value)
{
  return value ? value->line : 0;
}

const char *
actr_toml_value_string(const ActrTomlValue *value)
{
  return value && value->type == ACTR_TOML_STRING ? value->u.string : NULL;
}

gboolean
actr_toml_value_int(const ActrTomlValue *value, gint64 *out)
{
  if (value == NULL || value->type != ACTR_TOML_INTEGER)
    return FALSE;
  if (out)
    *out = value->u.integer;
  return TRUE;
}

gboolean
actr_toml_value_float(const ActrTomlValue *value, double *out)
{
  if (value == NULL || value->type != ACTR_TOML_FLOAT)
    return FALSE;
  if (out)
    *out = value->u.real;
  return TRUE;
}

gboolean
actr_toml_value_bool(const ActrTomlValue *value, gboolean *out)
{
  if (value == NULL || value->type != ACTR_TOML_BOOLEAN)
    return FALSE;
  if (out)
    *out = value->u.boolean;
  return TRUE;
}

guint
actr_toml_array_length(const ActrTomlValue *array)
{
  return array && array->type == ACTR_TOML_ARRAY ? array->u.array->len : 0;
}

const ActrTomlValue *
actr_toml_array_get(const ActrTomlValue *array, guint index)
{
  if (index >= actr_toml_array_length(array))
    return NULL;
  return g_ptr_array_index(array->u.array, index);
}

guint
actr_toml_table_size(const ActrTomlValue *table)
{
  return table && table->type == ACTR_TOML_TABLE ? table->u.table.entries->len : 0;
}

const ActrTomlValue *
actr_toml_table_lookup(const ActrTomlValue *table, const char *key)
{
  if (table == NULL || table->type != ACTR_TOML_TABLE || key == NULL)
    return NULL;
  Entry *entry = table_find(table, key);
  return entry ? entry->value : NULL;
}

static const ActrTomlValue *
lookup_typed(const ActrTomlValue *table, const char *key, ActrTomlType type)
{
  const ActrTomlValue *value = actr_toml_table_lookup(table, key);
  return value && value->type == type ? value : NULL;
}

const ActrTomlValue *
actr_toml_table_get_table(const ActrTomlValue *table, const char *key)
{
  return lookup_typed(table, key, ACTR_TOML_TABLE);
}

const ActrTomlValue *
actr_toml_table_get_array(const ActrTomlValue *table, const char *key)
{
  return lookup_typed(table, key, ACTR_TOML_ARRAY);
}

const char *
actr_toml_table_get_string(const ActrTomlValue *table, const char *key)
{
  return actr_toml_value_string(lookup_typed(table, key, ACTR_TOML_STRING));
}

gboolean
actr_toml_table_get_int(const ActrTomlValue *table, const char *key, gint64 *out)
{
  return actr_toml_value_int(lookup_typed(table, key, ACTR_TOML_INTEGER), out);
}

gboolean
actr_toml_table_get_float(const ActrTomlValue *table, const char *key, double *out)
{
  return actr_toml_value_float(lookup_typed(table, key, ACTR_TOML_FLOAT), out);
}

gboolean
actr_toml_table_get_bool(const ActrTomlValue *table, const char *key, gboolean *out)
{
  return actr_toml_value_bool(lookup_typed(table, key, ACTR_TOML_BOOLEAN), out);
}

void
actr_toml_iter_init(ActrTomlIter *iter, const ActrTomlValue *table)
{
  g_return_if_fail(iter != NULL);
  iter->table = table;
  iter->index = 0;
}

gboolean
actr_toml_iter_next(ActrTomlIter *iter, const char **key, const ActrTomlValue **value)
{
  g_return_val_if_fail(iter != NULL, FALSE);
  if (iter->index >= actr_toml_table_size(iter->table))
    return FALSE;
  Entry *entry = g_ptr_array_index(iter->table->u.table.entries, iter->index++);
  if (key)
    *key = entry->key;
  if (value)
    *value = entry->value;
  return TRUE;
}
