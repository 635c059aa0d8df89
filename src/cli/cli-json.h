/* actr CLI — a small streaming JSON writer (RFC 8259) for --json output.
 *
 * The writer appends to a string; the caller opens and closes containers
 * and writes keys and values in document order.  Strings are escaped per
 * RFC 8259 and always produce valid UTF-8: invalid input sequences become
 * U+FFFD.  Byte strings are written as standard base64 (RFC 4648 §4).
 * Output is pretty-printed with two-space indentation.
 *
 * Misuse (a value where a key is required, unbalanced containers) is a
 * programmer error reported with g_return_if_fail().
 */
#ifndef ACTR_CLI_JSON_H
#define ACTR_CLI_JSON_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ActrJsonWriter ActrJsonWriter;

ActrJsonWriter *actr_json_writer_new(void);
void actr_json_writer_free(ActrJsonWriter *writer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrJsonWriter, actr_json_writer_free)

/* The finished document followed by a newline (transfer none, valid until
 * the writer is freed).  Every container must be closed. */
const char *actr_json_writer_get_text(ActrJsonWriter *writer);

/* Writes the finished document to stdout. */
void actr_json_writer_print(ActrJsonWriter *writer);

void actr_json_begin_object(ActrJsonWriter *writer);
void actr_json_end_object(ActrJsonWriter *writer);
void actr_json_begin_array(ActrJsonWriter *writer);
void actr_json_end_array(ActrJsonWriter *writer);

/* The next member's name; must be followed by exactly one value. */
void actr_json_key(ActrJsonWriter *writer, const char *key);

/* Values.  A NULL string or NULL bytes is written as null. */
void actr_json_string(ActrJsonWriter *writer, const char *value);
void actr_json_string_len(ActrJsonWriter *writer, const char *value, gssize length);
void actr_json_int(ActrJsonWriter *writer, gint64 value);
void actr_json_uint(ActrJsonWriter *writer, guint64 value);
void actr_json_bool(ActrJsonWriter *writer, gboolean value);
void actr_json_null(ActrJsonWriter *writer);
void actr_json_base64(ActrJsonWriter *writer, GBytes *bytes);

/* Key + value in one call. */
void actr_json_member_string(ActrJsonWriter *writer, const char *key, const char *value);
void actr_json_member_int(ActrJsonWriter *writer, const char *key, gint64 value);
void actr_json_member_uint(ActrJsonWriter *writer, const char *key, guint64 value);
void actr_json_member_bool(ActrJsonWriter *writer, const char *key, gboolean value);
void actr_json_member_null(ActrJsonWriter *writer, const char *key);
void actr_json_member_base64(ActrJsonWriter *writer, const char *key, GBytes *bytes);

/* Appends @value to @out as a JSON string literal (with the quotes).
 * @length < 0 means NUL-terminated. */
void actr_json_escape_string(GString *out, const char *value, gssize length);

G_END_DECLS

#endif /* ACTR_CLI_JSON_H */
