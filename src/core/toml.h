/* actr — a small strict TOML reader (internal API).
 *
 * Reads the TOML 1.0 subset used by actr.toml and actrd.toml:
 *
 * - comments, bare and quoted keys, dotted keys, [tables], [a.b] nested
 *   tables, [[arrays of tables]], inline tables (single line, no trailing
 *   comma, as TOML 1.0);
 * - basic strings with the escapes \" \\ \b \t \n \f \r \uXXXX \UXXXXXXXX,
 *   literal strings, multi-line basic and literal strings (CRLF inside a
 *   multi-line string is normalised to LF);
 * - integers (decimal with optional sign and '_' between digits, 0x, 0o,
 *   0b; the full int64 range, nothing outside it);
 * - floats (fraction and/or exponent, inf and nan with an optional sign);
 * - booleans; arrays (mixed types, trailing comma, newlines and comments).
 *
 * Everything else is an error: dates and times, duplicate keys, a table
 * defined twice, a key defined both as a value and as a table, unterminated
 * strings, invalid escapes, control characters, invalid UTF-8, NUL bytes,
 * text after a value, and so on.  Two deliberate restrictions beyond TOML
 * 1.0: the escape \u0000 is rejected (values are C strings), and nesting is
 * bounded by ACTR_TOML_MAX_DEPTH (tables, arrays and inline tables counted
 * together, and at most that many parts in one key), so hostile input cannot
 * exhaust the stack.  A leading UTF-8 byte-order mark is skipped.
 *
 * Errors are GErrors in the ACTR_CONFIG_ERROR domain with code
 * ACTR_CONFIG_ERROR_PARSE and the message "ORIGIN:LINE: what is wrong".
 * Messages name keys but never quote the text of a value, so a secret in a
 * malformed string cannot leak into a log.
 *
 * The result is an immutable tree of ActrTomlValue owned by its root; every
 * value remembers the line it starts on (for a table: the line of its
 * [header], of the dotted key that created it, or of its opening brace).
 * Every lookup function accepts NULL and values of the wrong type, and then
 * returns NULL / FALSE / 0, so lookups can be chained.
 *
 * Thread-safety: parsing is re-entrant; a parsed tree may be read from any
 * number of threads at once.
 */
#ifndef ACTR_TOML_H
#define ACTR_TOML_H

#include <glib.h>

G_BEGIN_DECLS

/* Maximum nesting depth of containers below the root table, and maximum
 * number of parts of one (dotted) key. */
#define ACTR_TOML_MAX_DEPTH 64

typedef enum {
  ACTR_TOML_STRING,
  ACTR_TOML_INTEGER,
  ACTR_TOML_FLOAT,
  ACTR_TOML_BOOLEAN,
  ACTR_TOML_ARRAY,
  ACTR_TOML_TABLE,
} ActrTomlType;

typedef struct _ActrTomlValue ActrTomlValue;

/* Iterator over the keys of a table in document order (the order in which
 * keys were first defined).  Stack-allocated; no cleanup needed. */
typedef struct {
  const ActrTomlValue *table;
  guint index;
} ActrTomlIter;

/* Parses @len bytes of @data (need not be NUL-terminated).  @origin names the
 * input in error messages (a file name; NULL means "<input>").  Returns the
 * root table (transfer full; free with actr_toml_free()), or NULL with
 * @error set (ACTR_CONFIG_ERROR_PARSE). */
ActrTomlValue *actr_toml_parse(const char *data, gsize len, const char *origin, GError **error);

/* Reads and parses the file at @path; @path is the origin in messages.  A
 * file that cannot be read gives ACTR_CONFIG_ERROR_IO ("PATH: reason").
 * Returns the root table (transfer full) or NULL. */
ActrTomlValue *actr_toml_parse_file(const char *path, GError **error);

/* Frees a tree returned by actr_toml_parse*().  Only the root may be freed;
 * NULL is allowed. */
void actr_toml_free(ActrTomlValue *root);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrTomlValue, actr_toml_free)

/* Type of @value (which must not be NULL). */
ActrTomlType actr_toml_value_type(const ActrTomlValue *value);

/* "string", "integer", "float", "boolean", "array" or "table" (static). */
const char *actr_toml_type_name(ActrTomlType type);

/* Line (1-based) on which @value starts; 0 for NULL. */
guint actr_toml_value_line(const ActrTomlValue *value);

/* Scalar accessors.  actr_toml_value_string() returns the UTF-8 text of a
 * string (transfer none, valid as long as the tree) or NULL when @value is
 * not a string.  The others return FALSE, leaving *@out untouched, when
 * @value is NULL or of another type; an integer is not converted to a
 * float. */
const char *actr_toml_value_string(const ActrTomlValue *value);
gboolean actr_toml_value_int(const ActrTomlValue *value, gint64 *out);
gboolean actr_toml_value_float(const ActrTomlValue *value, double *out);
gboolean actr_toml_value_bool(const ActrTomlValue *value, gboolean *out);

/* Arrays: number of elements (0 when @array is not an array) and the element
 * at @index (transfer none; NULL when out of range).  An [[array of tables]]
 * is an array whose elements are tables. */
guint actr_toml_array_length(const ActrTomlValue *array);
const ActrTomlValue *actr_toml_array_get(const ActrTomlValue *array, guint index);

/* Tables: number of keys (0 when @table is not a table), and the value of
 * @key (transfer none), or NULL when absent. */
guint actr_toml_table_size(const ActrTomlValue *table);
const ActrTomlValue *actr_toml_table_lookup(const ActrTomlValue *table, const char *key);

/* Typed lookups: NULL / FALSE when the key is absent *or* has another type
 * (use actr_toml_table_lookup() to tell the two apart). */
const ActrTomlValue *actr_toml_table_get_table(const ActrTomlValue *table, const char *key);
const ActrTomlValue *actr_toml_table_get_array(const ActrTomlValue *table, const char *key);
const char *actr_toml_table_get_string(const ActrTomlValue *table, const char *key);
gboolean actr_toml_table_get_int(const ActrTomlValue *table, const char *key, gint64 *out);
gboolean actr_toml_table_get_float(const ActrTomlValue *table, const char *key, double *out);
gboolean actr_toml_table_get_bool(const ActrTomlValue *table, const char *key, gboolean *out);

/* Iteration in document order:
 *
 *   ActrTomlIter it;
 *   const char *key;
 *   const ActrTomlValue *value;
 *   actr_toml_iter_init(&it, table);
 *   while (actr_toml_iter_next(&it, &key, &value))
 *     ...
 *
 * @table may be NULL or a non-table (no iterations).  @key and @value may be
 * NULL; both are transfer none. */
void actr_toml_iter_init(ActrTomlIter *iter, const ActrTomlValue *table);
gboolean actr_toml_iter_next(ActrTomlIter *iter, const char **key, const ActrTomlValue **value);

/* Formats @key for a message: as-is when it is a non-empty bare key
 * ([A-Za-z0-9_-]+), else double-quoted with '"', '\\' and control characters
 * escaped; long keys are cut at 64 bytes (at a character boundary) and end
 * with "...".  Returns (transfer full). */
char *actr_toml_key_display(const char *key);

G_END_DECLS

#endif /* ACTR_TOML_H */
