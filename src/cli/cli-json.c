/* actr CLI — streaming JSON writer. */
#include "cli-json.h"

#include <stdio.h>
#include <string.h>

typedef enum {
  FRAME_OBJECT,
  FRAME_ARRAY,
} FrameKind;

typedef struct {
  FrameKind kind;
  gboolean has_members;
} Frame;

struct _ActrJsonWriter {
  GString *out;
  GArray *stack;      /* Frame */
  gboolean after_key; /* a key was written; its value comes next */
  gboolean done;      /* the top-level value is complete */
};

ActrJsonWriter *
actr_json_writer_new(void)
{
  ActrJsonWriter *writer = g_new0(ActrJsonWriter, 1);

  writer->out = g_string_new(NULL);
  writer->stack = g_array_new(FALSE, FALSE, sizeof(Frame));
  return writer;
}

void
actr_json_writer_free(ActrJsonWriter *writer)
{
  if (writer == NULL)
    return;
  g_string_free(writer->out, TRUE);
  g_array_unref(writer->stack);
  g_free(writer);
}

static void
newline_indent(ActrJsonWriter *writer, guint depth)
{
  g_string_append_c(writer->out, '\n');
  for (guint i = 0; i < depth; i++)
    g_string_append(writer->out, "  ");
}

static Frame *
top_frame(ActrJsonWriter *writer)
{
  if (writer->stack->len == 0)
    return NULL;
  return &g_array_index(writer->stack, Frame, writer->stack->len - 1);
}

/* Writes what must precede a value (or a key): a separator and indentation
 * inside containers.  Returns FALSE on misuse. */
static gboolean
before_item(ActrJsonWriter *writer, gboolean is_key)
{
  Frame *frame = top_frame(writer);

  g_return_val_if_fail(!writer->done, FALSE);
  if (writer->after_key) {
    g_return_val_if_fail(!is_key, FALSE);
    writer->after_key = FALSE;
    return TRUE;
  }
  if (frame == NULL) {
    g_return_val_if_fail(!is_key, FALSE);
    return TRUE;
  }
  /* Inside an object every item starts with a key; inside an array never. */
  g_return_val_if_fail(is_key == (frame->kind == FRAME_OBJECT), FALSE);
  if (frame->has_members)
    g_string_append_c(writer->out, ',');
  frame->has_members = TRUE;
  newline_indent(writer, writer->stack->len);
  return TRUE;
}

static void
after_value(ActrJsonWriter *writer)
{
  if (writer->stack->len == 0)
    writer->done = TRUE;
}

static void
begin_container(ActrJsonWriter *writer, FrameKind kind)
{
  Frame frame = {kind, FALSE};

  if (!before_item(writer, FALSE))
    return;
  g_string_append_c(writer->out, kind == FRAME_OBJECT ? '{' : '[');
  g_array_append_val(writer->stack, frame);
}

static void
end_container(ActrJsonWriter *writer, FrameKind kind)
{
  Frame *frame = top_frame(writer);

  g_return_if_fail(frame != NULL && frame->kind == kind && !writer->after_key);
  if (frame->has_members)
    newline_indent(writer, writer->stack->len - 1);
  g_string_append_c(writer->out, kind == FRAME_OBJECT ? '}' : ']');
  g_array_set_size(writer->stack, writer->stack->len - 1);
  after_value(writer);
}

void
actr_json_begin_object(ActrJsonWriter *writer)
{
  begin_container(writer, FRAME_OBJECT);
}

void
actr_json_end_object(ActrJsonWriter *writer)
{
  end_container(writer, FRAME_OBJECT);
}

void
actr_json_begin_array(ActrJsonWriter *writer)
{
  begin_container(writer, FRAME_ARRAY);
}

void
actr_json_end_array(ActrJsonWriter *writer)
{
  end_container(writer, FRAME_ARRAY);
}

void
actr_json_escape_string(GString *out, const char *value, gssize length)
{
  g_autofree char *valid = NULL;
  const char *p;

  if (length < 0)
    length = (gssize)strlen(value);
  /* JSON text is UTF-8 (RFC 8259 §8.1): replace invalid sequences. */
  valid = g_utf8_make_valid(value, length);
  g_string_append_c(out, '"');
  for (p = valid; *p != '\0'; p++) {
    guchar c = (guchar)*p;

    switch (c) {
    case '"':
      g_string_append(out, "\\\"");
      break;
    case '\\':
      g_string_append(out, "\\\\");
      break;
    case '\b':
      g_string_append(out, "\\b");
      break;
    case '\f':
      g_string_append(out, "\\f");
      break;
    case '\n':
      g_string_append(out, "\\n");
      break;
    case '\r':
      g_string_append(out, "\\r");
      break;
    case '\t':
      g_string_append(out, "\\t");
      break;
    default:
      if (c < 0x20 || c == 0x7f) {
        g_string_append_printf(out, "\\u%04x", c);
      } else if (c == 0xe2 && (guchar)p[1] == 0x80 &&
                 ((guchar)p[2] == 0xa8 || (guchar)p[2] == 0xa9)) {
        /* U+2028/U+2029 are valid JSON but break JavaScript consumers. */
        g_string_append(out, (guchar)p[2] == 0xa8 ? "\\u2028" : "\\u2029");
        p += 2;
      } else {
        g_string_append_c(out, (char)c);
      }
      break;
    }
  }
  g_string_append_c(out, '"');
}

void
actr_json_key(ActrJsonWriter *writer, const char *key)
{
  g_return_if_fail(key != NULL);
  if (!before_item(writer, TRUE))
    return;
  actr_json_escape_string(writer->out, key, -1);
  g_string_append(writer->out, ": ");
  writer->after_key = TRUE;
}

void
actr_json_string_len(ActrJsonWriter *writer, const char *value, gssize length)
{
  if (value == NULL) {
    actr_json_null(writer);
    return;
  }
  if (!before_item(writer, FALSE))
    return;
  actr_json_escape_string(writer->out, value, length);
  after_value(writer);
}

void
actr_json_string(ActrJsonWriter *writer, const char *value)
{
  actr_json_string_len(writer, value, -1);
}

void
actr_json_int(ActrJsonWriter *writer, gint64 value)
{
  if (!before_item(writer, FALSE))
    return;
  g_string_append_printf(writer->out, "%" G_GINT64_FORMAT, value);
  after_value(writer);
}

void
actr_json_uint(ActrJsonWriter *writer, guint64 value)
{
  if (!before_item(writer, FALSE))
    return;
  g_string_append_printf(writer->out, "%" G_GUINT64_FORMAT, value);
  after_value(writer);
}

void
actr_json_bool(ActrJsonWriter *writer, gboolean value)
{
  if (!before_item(writer, FALSE))
    return;
  g_string_append(writer->out, value ? "true" : "false");
  after_value(writer);
}

void
actr_json_null(ActrJsonWriter *writer)
{
  if (!before_item(writer, FALSE))
    return;
  g_string_append(writer->out, "null");
  after_value(writer);
}

void
actr_json_base64(ActrJsonWriter *writer, GBytes *bytes)
{
  g_autofree char *encoded = NULL;
  gsize size = 0;
  const guchar *data;

  if (bytes == NULL) {
    actr_json_null(writer);
    return;
  }
  data = g_bytes_get_data(bytes, &size);
  encoded = g_base64_encode(size > 0 ? data : (const guchar *)"", size);
  actr_json_string(writer, encoded);
}

void
actr_json_member_string(ActrJsonWriter *writer, const char *key, const char *value)
{
  actr_json_key(writer, key);
  actr_json_string(writer, value);
}

void
actr_json_member_int(ActrJsonWriter *writer, const char *key, gint64 value)
{
  actr_json_key(writer, key);
  actr_json_int(writer, value);
}

void
actr_json_member_uint(ActrJsonWriter *writer, const char *key, guint64 value)
{
  actr_json_key(writer, key);
  actr_json_uint(writer, value);
}

void
actr_json_member_bool(ActrJsonWriter *writer, const char *key, gboolean value)
{
  actr_json_key(writer, key);
  actr_json_bool(writer, value);
}

void
actr_json_member_null(ActrJsonWriter *writer, const char *key)
{
  actr_json_key(writer, key);
  actr_json_null(writer);
}

void
actr_json_member_base64(ActrJsonWriter *writer, const char *key, GBytes *bytes)
{
  actr_json_key(writer, key);
  actr_json_base64(writer, bytes);
}

const char *
actr_json_writer_get_text(ActrJsonWriter *writer)
{
  g_return_val_if_fail(writer->done && writer->stack->len == 0, "");
  if (writer->out->len == 0 || writer->out->str[writer->out->len - 1] != '\n')
    g_string_append_c(writer->out, '\n');
  return writer->out->str;
}

void
actr_json_writer_print(ActrJsonWriter *writer)
{
  fputs(actr_json_writer_get_text(writer), stdout);
}
