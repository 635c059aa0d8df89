/* actr — lenient protobuf codec around protobuf-c.  See codec.h for the
 * contract; this file has three parts: a wire reader, the validating
 * pre-scan, and the rewrite that makes protobuf-c accept what the
 * reference accepts. */
#include "codec.h"

#include <actr/types.h>

#include <string.h>

/* A message descriptor with more fields than this cannot be scanned (the
 * seen-bitmap is on the stack); ours have at most 12. */
#define MAX_FIELDS 256

/* Nested unknown groups skipped before giving up. */
#define MAX_GROUP_DEPTH 32

/* protobuf-c reads field keys and length prefixes of at most 5 bytes; a
 * longer (zero-padded) varint is valid protobuf that the reference
 * accepts, so such input is rewritten with minimal varints. */
#define PROTOBUF_C_MAX_PREFIX 5

enum {
  WIRE_VARINT = 0,
  WIRE_FIXED64 = 1,
  WIRE_LEN = 2,
  WIRE_START_GROUP = 3,
  WIRE_END_GROUP = 4,
  WIRE_FIXED32 = 5,
};

/* ---------------------------------------------------------------------------
 * Wire reader.  Every function advances *pos only on success and never
 * reads at or past @end.
 */

/* Reads a varint of at most 10 bytes whose value fits 64 bits (a tenth byte
 * above 1 is rejected, like the reference decoder does). */
static gboolean
read_varint(const guint8 **pos, const guint8 *end, guint64 *out)
{
  const guint8 *p = *pos;
  guint64 value = 0;
  for (guint i = 0; i < 10; i++) {
    if (p == end)
      return FALSE;
    guint8 byte = *p++;
    if (i == 9 && byte > 1)
      return FALSE;
    value |= (guint64)(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *pos = p;
      *out = value;
      return TRUE;
    }
  }
  return FALSE;
}

/* Reads a field key: a varint up to 2^32-1 with a non-zero field number and
 * a wire type other than 6 or 7. */
static gboolean
read_tag(const guint8 **pos, const guint8 *end, guint32 *number, guint *wire_type)
{
  const guint8 *p = *pos;
  guint64 key;
  if (!read_varint(&p, end, &key) || key > G_MAXUINT32)
    return FALSE;
  if ((key >> 3) == 0 || (key & 7) > WIRE_FIXED32)
    return FALSE;
  *number = (guint32)(key >> 3);
  *wire_type = (guint)(key & 7);
  *pos = p;
  return TRUE;
}

/* Reads a length prefix and the payload it announces. */
static gboolean
read_len(const guint8 **pos, const guint8 *end, const guint8 **payload, gsize *len)
{
  const guint8 *p = *pos;
  guint64 n;
  if (!read_varint(&p, end, &n) || n > (guint64)(end - p))
    return FALSE;
  *payload = p;
  *len = (gsize)n;
  *pos = p + n;
  return TRUE;
}

/* Skips the value of a field of wire type 0, 1, 2 or 5. */
static gboolean
skip_value(const guint8 **pos, const guint8 *end, guint wire_type)
{
  const guint8 *payload;
  gsize len;
  guint64 ignored;
  switch (wire_type) {
  case WIRE_VARINT:
    return read_varint(pos, end, &ignored);
  case WIRE_FIXED64:
    if (end - *pos < 8)
      return FALSE;
    *pos += 8;
    return TRUE;
  case WIRE_LEN:
    return read_len(pos, end, &payload, &len);
  case WIRE_FIXED32:
    if (end - *pos < 4)
      return FALSE;
    *pos += 4;
    return TRUE;
  default:
    return FALSE;
  }
}

/* Skips the body of a group whose start tag (field @number) was just read,
 * up to and including the matching end tag; nested groups must match too. */
static gboolean
skip_group(const guint8 **pos, const guint8 *end, guint32 number)
{
  guint32 open[MAX_GROUP_DEPTH];
  guint depth = 0;
  const guint8 *p = *pos;
  open[depth++] = number;
  while (depth > 0) {
    guint32 field;
    guint wire_type;
    if (!read_tag(&p, end, &field, &wire_type))
      return FALSE;
    if (wire_type == WIRE_START_GROUP) {
      if (depth == MAX_GROUP_DEPTH)
        return FALSE;
      open[depth++] = field;
    } else if (wire_type == WIRE_END_GROUP) {
      if (open[depth - 1] != field)
        return FALSE;
      depth--;
    } else if (!skip_value(&p, end, wire_type)) {
      return FALSE;
    }
  }
  *pos = p;
  return TRUE;
}

static void
append_varint(GByteArray *out, guint64 value)
{
  guint8 buf[10];
  guint n = 0;
  do {
    buf[n] = value & 0x7f;
    value >>= 7;
    if (value != 0)
      buf[n] |= 0x80;
    n++;
  } while (value != 0);
  g_byte_array_append(out, buf, n);
}

static void
append_tag(GByteArray *out, guint32 number, guint wire_type)
{
  append_varint(out, ((guint64)number << 3) | wire_type);
}

/* ---------------------------------------------------------------------------
 * Schema helpers.
 */

/* The wire type protobuf-c expects for an unpacked value of @type. */
static guint
wire_type_of(ProtobufCType type)
{
  switch (type) {
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_FIXED32:
  case PROTOBUF_C_TYPE_FLOAT:
    return WIRE_FIXED32;
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_FIXED64:
  case PROTOBUF_C_TYPE_DOUBLE:
    return WIRE_FIXED64;
  case PROTOBUF_C_TYPE_STRING:
  case PROTOBUF_C_TYPE_BYTES:
  case PROTOBUF_C_TYPE_MESSAGE:
    return WIRE_LEN;
  default: /* int32, sint32, uint32, int64, sint64, uint64, bool, enum */
    return WIRE_VARINT;
  }
}

static gboolean
is_singular_message(const ProtobufCFieldDescriptor *field)
{
  return field->type == PROTOBUF_C_TYPE_MESSAGE && field->label != PROTOBUF_C_LABEL_REPEATED;
}

/* A required field that protobuf-c refuses to find missing (it tolerates
 * required fields with an explicit default; we declare none). */
static gboolean
is_strictly_required(const ProtobufCFieldDescriptor *field)
{
  return field->label == PROTOBUF_C_LABEL_REQUIRED && field->default_value == NULL;
}

static gboolean
in_same_oneof(const ProtobufCFieldDescriptor *a, const ProtobufCFieldDescriptor *b)
{
  return (a->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && (b->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
         a->quantifier_offset == b->quantifier_offset;
}

#define BIT_SET(bits, i)  ((bits)[(i) / 8] |= (guint8)(1u << ((i) % 8)))
#define BIT_TEST(bits, i) (((bits)[(i) / 8] >> ((i) % 8)) & 1u)

/* ---------------------------------------------------------------------------
 * Pre-scan: validates the input and tells whether protobuf-c can take it
 * as it is.
 */

typedef enum {
  SCAN_OK,      /* protobuf-c accepts the bytes as they are */
  SCAN_REWRITE, /* valid, but needs rewrite_message() first */
  SCAN_INVALID, /* malformed: reject */
} ScanResult;

/* Where and why a scan failed (static strings only: no allocation until
 * the GError is built). */
typedef struct {
  const ProtobufCMessageDescriptor *descriptor;
  guint32 field; /* 0 when not attributable to a field */
  const char *reason;
} ScanError;

static ScanResult
scan_fail(ScanError *err, const ProtobufCMessageDescriptor *descriptor, guint32 field,
          const char *reason)
{
  err->descriptor = descriptor;
  err->field = field;
  err->reason = reason;
  return SCAN_INVALID;
}

/* Checks that a packed payload holds whole elements of @type. */
static gboolean
packed_is_valid(ProtobufCType type, const guint8 *p, gsize len)
{
  const guint8 *end = p + len;
  guint64 ignored;
  switch (wire_type_of(type)) {
  case WIRE_FIXED32:
    return len % 4 == 0;
  case WIRE_FIXED64:
    return len % 8 == 0;
  case WIRE_VARINT:
    while (p < end) {
      if (!read_varint(&p, end, &ignored))
        return FALSE;
    }
    return TRUE;
  default:
    return FALSE; /* strings, bytes and messages cannot be packed */
  }
}

static ScanResult
scan_message(const ProtobufCMessageDescriptor *descriptor, const guint8 *data, gsize len,
             guint depth, ScanError *err)
{
  guint8 seen[MAX_FIELDS / 8] = {0};
  ScanResult result = SCAN_OK;
  const guint8 *p = data;
  const guint8 *end = data + len;

  if (depth > ACTR_PROTO_MAX_DEPTH)
    return scan_fail(err, descriptor, 0, "messages nested too deeply");
  if (descriptor->n_fields > MAX_FIELDS)
    return scan_fail(err, descriptor, 0, "message type has too many fields");

  while (p < end) {
    const guint8 *key_start = p;
    const guint8 *payload;
    gsize payload_len;
    guint32 number;
    guint wire_type;

    if (!read_tag(&p, end, &number, &wire_type))
      return scan_fail(err, descriptor, 0, "malformed field key");
    if (p - key_start > PROTOBUF_C_MAX_PREFIX)
      result = MAX(result, SCAN_REWRITE);

    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(descriptor, number);
    guint expected = field ? wire_type_of(field->type) : wire_type;

    if (wire_type == WIRE_START_GROUP && field == NULL) {
      if (!skip_group(&p, end, number))
        return scan_fail(err, descriptor, number, "malformed group");
      result = MAX(result, SCAN_REWRITE); /* protobuf-c cannot skip groups */
      continue;
    }
    if (wire_type == WIRE_END_GROUP && field == NULL)
      return scan_fail(err, descriptor, number, "unexpected end of group");

    gboolean packed = field != NULL && wire_type == WIRE_LEN && expected != WIRE_LEN &&
                      field->label == PROTOBUF_C_LABEL_REPEATED;
    if (wire_type != expected && !packed)
      return scan_fail(err, descriptor, number, "wrong wire type");

    if (wire_type != WIRE_LEN) {
      if (!skip_value(&p, end, wire_type))
        return scan_fail(err, descriptor, number, "truncated value");
      if (field != NULL)
        BIT_SET(seen, field - descriptor->fields);
      continue;
    }

    const guint8 *len_start = p;
    if (!read_len(&p, end, &payload, &payload_len))
      return scan_fail(err, descriptor, number, "truncated value");
    if (payload - len_start > PROTOBUF_C_MAX_PREFIX)
      result = MAX(result, SCAN_REWRITE);
    if (field == NULL)
      continue;

    guint index = (guint)(field - descriptor->fields);
    if (packed) {
      if (!packed_is_valid(field->type, payload, payload_len))
        return scan_fail(err, descriptor, number, "malformed packed array");
    } else if (field->type == PROTOBUF_C_TYPE_STRING) {
      /* g_utf8_validate_len() also fails on a NUL byte. */
      if (!g_utf8_validate_len((const char *)payload, payload_len, NULL))
        return scan_fail(err, descriptor, number, "string is not UTF-8 or contains NUL");
    } else if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
      if (is_singular_message(field) && BIT_TEST(seen, index))
        result = MAX(result, SCAN_REWRITE); /* to be merged */
      ScanResult sub = scan_message(field->descriptor, payload, payload_len, depth + 1, err);
      if (sub == SCAN_INVALID)
        return SCAN_INVALID;
      result = MAX(result, sub);
    }
    BIT_SET(seen, index);
  }

  for (guint i = 0; i < descriptor->n_fields && result == SCAN_OK; i++) {
    if (is_strictly_required(&descriptor->fields[i]) && !BIT_TEST(seen, i))
      result = SCAN_REWRITE;
  }
  return result;
}

/* ---------------------------------------------------------------------------
 * Rewrite: produces an equivalent encoding that protobuf-c accepts.  Runs
 * only on input that scan_message() accepted, so malformed-input branches
 * are unreachable and simply stop.
 *
 * - A singular message field (including a oneof member) that occurs several
 *   times is emitted once, at its last occurrence, as the rewrite of the
 *   concatenation of its payloads (concatenation = protobuf merge).  Once
 *   another member of its oneof occurs, earlier payloads are dropped: the
 *   later member replaced them.
 * - Every other message payload is rewritten recursively.
 * - Unknown groups are dropped; every other field is copied, with its key
 *   and length prefix re-encoded as minimal varints.
 * - Missing required fields are appended with zero values.
 */

typedef struct {
  GByteArray *merged; /* concatenated payloads, NULL when none or superseded */
  gsize last;         /* offset of the last occurrence's key */
} MergeSlot;

static void rewrite_message(const ProtobufCMessageDescriptor *descriptor, const guint8 *data,
                            gsize len, GByteArray *out);

/* Appends field @field holding the rewrite of the message @payload. */
static void
append_message_field(const ProtobufCFieldDescriptor *field, const guint8 *payload, gsize len,
                     GByteArray *out)
{
  g_autoptr(GByteArray) sub = g_byte_array_new();
  rewrite_message(field->descriptor, payload, len, sub);
  append_tag(out, field->id, WIRE_LEN);
  append_varint(out, sub->len);
  g_byte_array_append(out, sub->data, sub->len);
}

/* Appends the zero value of @field: what the reference decoder substitutes
 * for a missing required field. */
static void
append_zero_field(const ProtobufCFieldDescriptor *field, GByteArray *out)
{
  static const guint8 zeros[8] = {0};
  guint wire_type = wire_type_of(field->type);

  if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
    append_message_field(field, zeros, 0, out);
    return;
  }
  append_tag(out, field->id, wire_type);
  switch (wire_type) {
  case WIRE_FIXED32:
    g_byte_array_append(out, zeros, 4);
    break;
  case WIRE_FIXED64:
    g_byte_array_append(out, zeros, 8);
    break;
  default: /* varint 0, or an empty string / bytes */
    g_byte_array_append(out, zeros, 1);
    break;
  }
}

/* Appends a field whose value (already validated) spans [@value, @value_end),
 * with a minimal key and, for wire type 2, a minimal length prefix. */
static void
append_field(guint32 number, guint wire_type, const guint8 *value, const guint8 *value_end,
             GByteArray *out)
{
  append_tag(out, number, wire_type);
  if (wire_type == WIRE_LEN) {
    const guint8 *payload;
    gsize len;
    if (!read_len(&value, value_end, &payload, &len))
      g_return_if_reached();
    append_varint(out, len);
    g_byte_array_append(out, payload, (guint)len);
  } else {
    g_byte_array_append(out, value, (guint)(value_end - value));
  }
}

static void
rewrite_message(const ProtobufCMessageDescriptor *descriptor, const guint8 *data, gsize len,
                GByteArray *out)
{
  static const guint8 nothing[1] = {0};
  if (data == NULL) /* an empty GByteArray has no buffer; NULL + 0 is UB */
    data = nothing;
  guint n_fields = descriptor->n_fields;
  g_autofree MergeSlot *slots = g_new0(MergeSlot, n_fields);
  guint8 seen[MAX_FIELDS / 8] = {0};
  const guint8 *end = data + len;
  const guint8 *p;

  /* Pass 1: gather the payloads of singular message fields. */
  for (p = data; p < end;) {
    const guint8 *start = p;
    guint32 number;
    guint wire_type;
    if (!read_tag(&p, end, &number, &wire_type))
      break;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(descriptor, number);
    if (field != NULL && (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
      for (guint i = 0; i < n_fields; i++) {
        if (&descriptor->fields[i] != field && in_same_oneof(&descriptor->fields[i], field))
          g_clear_pointer(&slots[i].merged, g_byte_array_unref);
      }
    }
    if (field != NULL && is_singular_message(field)) {
      const guint8 *payload;
      gsize payload_len;
      if (!read_len(&p, end, &payload, &payload_len))
        break;
      MergeSlot *slot = &slots[field - descriptor->fields];
      if (slot->merged == NULL)
        slot->merged = g_byte_array_new();
      g_byte_array_append(slot->merged, payload, payload_len);
      slot->last = (gsize)(start - data);
      continue;
    }
    if (wire_type == WIRE_START_GROUP ? !skip_group(&p, end, number)
                                      : !skip_value(&p, end, wire_type))
      break;
  }

  /* Pass 2: emit in input order. */
  for (p = data; p < end;) {
    const guint8 *start = p;
    guint32 number;
    guint wire_type;
    if (!read_tag(&p, end, &number, &wire_type))
      break;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(descriptor, number);
    if (field == NULL) {
      if (wire_type == WIRE_START_GROUP) {
        if (!skip_group(&p, end, number))
          break;
        continue; /* dropped */
      }
      const guint8 *value = p;
      if (!skip_value(&p, end, wire_type))
        break;
      append_field(number, wire_type, value, p, out);
      continue;
    }

    guint index = (guint)(field - descriptor->fields);
    BIT_SET(seen, index);
    if (is_singular_message(field)) {
      if (!skip_value(&p, end, wire_type))
        break;
      MergeSlot *slot = &slots[index];
      if (slot->merged != NULL && slot->last == (gsize)(start - data))
        append_message_field(field, slot->merged->data, slot->merged->len, out);
    } else if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
      const guint8 *payload;
      gsize payload_len;
      if (!read_len(&p, end, &payload, &payload_len))
        break;
      append_message_field(field, payload, payload_len, out);
    } else {
      const guint8 *value = p;
      if (!skip_value(&p, end, wire_type))
        break;
      append_field(number, wire_type, value, p, out);
    }
  }

  /* Pass 3: zero values for missing required fields. */
  for (guint i = 0; i < n_fields; i++) {
    if (is_strictly_required(&descriptor->fields[i]) && !BIT_TEST(seen, i))
      append_zero_field(&descriptor->fields[i], out);
  }

  for (guint i = 0; i < n_fields; i++)
    g_clear_pointer(&slots[i].merged, g_byte_array_unref);
}

/* ---------------------------------------------------------------------------
 * Public (internal) API.
 */

ProtobufCMessage *
actr_proto_message_decode(const ProtobufCMessageDescriptor *descriptor, const guint8 *data,
                          gsize len, GError **error)
{
  static const guint8 empty[1] = {0};
  g_autoptr(GByteArray) rewritten = NULL;
  ScanError err = {NULL, 0, NULL};

  g_return_val_if_fail(descriptor != NULL, NULL);
  g_return_val_if_fail(descriptor->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, NULL);
  g_return_val_if_fail(data != NULL || len == 0, NULL);

  if (data == NULL)
    data = empty;

  switch (scan_message(descriptor, data, len, 0, &err)) {
  case SCAN_OK:
    break;
  case SCAN_REWRITE:
    rewritten = g_byte_array_sized_new((guint)MIN(len + 64, G_MAXUINT));
    rewrite_message(descriptor, data, len, rewritten);
    data = rewritten->len > 0 ? rewritten->data : empty;
    len = rewritten->len;
    break;
  case SCAN_INVALID:
  default:
    if (err.field != 0)
      g_set_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_DECODE, "%s: field %u: %s",
                  err.descriptor->name, err.field, err.reason);
    else
      g_set_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_DECODE, "%s: %s", err.descriptor->name,
                  err.reason);
    return NULL;
  }

  ProtobufCMessage *message = protobuf_c_message_unpack(descriptor, NULL, len, data);
  if (message == NULL) {
    /* Not expected: the scan accepted something protobuf-c refused (or
     * protobuf-c ran out of memory).  Still a clean error; the fuzz target
     * treats this message as a bug. */
    g_set_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_DECODE,
                "%s: rejected by the protobuf-c decoder", descriptor->name);
  }
  return message;
}

void
actr_proto_message_free(ProtobufCMessage *message)
{
  if (message != NULL)
    protobuf_c_message_free_unpacked(message, NULL);
}

/* TRUE when a required message field of @message, or of any message it
 * contains, is NULL. */
static gboolean
has_null_required_message(const ProtobufCMessage *message)
{
  const ProtobufCMessageDescriptor *descriptor = message->descriptor;
  const char *base = (const char *)message;

  for (guint i = 0; i < descriptor->n_fields; i++) {
    const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
    if (field->type != PROTOBUF_C_TYPE_MESSAGE)
      continue;
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
      gsize n = *(const size_t *)(base + field->quantifier_offset);
      ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)(base + field->offset);
      for (gsize j = 0; j < n; j++) {
        if (items[j] != NULL && has_null_required_message(items[j]))
          return TRUE;
      }
      continue;
    }
    if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)(base + field->quantifier_offset) != field->id)
      continue;
    const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + field->offset);
    if (sub == NULL) {
      if (field->label == PROTOBUF_C_LABEL_REQUIRED)
        return TRUE;
      continue;
    }
    if (has_null_required_message(sub))
      return TRUE;
  }
  return FALSE;
}

gsize
actr_proto_message_encode_append(const ProtobufCMessage *message, GByteArray *out)
{
  g_return_val_if_fail(message != NULL, 0);
  g_return_val_if_fail(out != NULL, 0);

  gsize size = protobuf_c_message_get_packed_size(message);
  guint start = out->len;
  g_return_val_if_fail(size <= G_MAXUINT - start, 0);
  if (size == 0)
    return 0; /* nothing set and nothing required */

  g_byte_array_set_size(out, start + (guint)size);
  gsize written = protobuf_c_message_pack(message, out->data + start);
  g_assert(written == size);

  if (has_null_required_message(message)) {
    /* protobuf-c wrote an empty message for each NULL; give them their
     * required fields, as the wire demands. */
    g_autoptr(GByteArray) fixed = g_byte_array_new();
    rewrite_message(message->descriptor, out->data + start, size, fixed);
    g_byte_array_set_size(out, start);
    g_byte_array_append(out, fixed->data, fixed->len);
    size = fixed->len;
  }
  return size;
}

GBytes *
actr_proto_message_encode(const ProtobufCMessage *message)
{
  g_return_val_if_fail(message != NULL, NULL);

  g_autoptr(GByteArray) out = g_byte_array_new();
  actr_proto_message_encode_append(message, out);
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}
