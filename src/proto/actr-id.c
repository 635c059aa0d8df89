/* actr — ActrType / ActrId: Name rules, text forms, comparison and
 * protobuf conversion (wire.md §0, §1.1).  See include/actr/types.h. */
#include <actr/types.h>

#include <string.h>

#include "actr-id.h"
#include "codec.h"

/* Written out: clang-format would split a hyphenated G_DEFINE_QUARK name. */
GQuark
actr_proto_error_quark(void)
{
  return g_quark_from_static_string("actr-proto-error-quark");
}

/* ---------------------------------------------------------------------------
 * Names
 */

static gboolean
is_name_char(char c)
{
  return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
}

/* Returns NULL when the @len bytes at @name form a Name, else the first
 * rule they break, as a phrase completing "<name> ..." (static). */
static const char *
name_problem(const char *name, gsize len)
{
  if (name == NULL)
    return "is missing";
  if (len == 0)
    return "must not be empty";
  if (len > ACTR_NAME_MAX_LEN)
    return "must be at most 32 characters long";
  if (!g_ascii_isalpha(name[0]))
    return "must start with an ASCII letter";
  if (!g_ascii_isalnum(name[len - 1]))
    return "must end with an ASCII letter or digit";
  for (gsize i = 1; i + 1 < len; i++) {
    if (!is_name_char(name[i]))
      return "may contain only ASCII letters, digits, '-', '_' and '.'";
  }
  return NULL;
}

/* A printable, escaped copy of the @len bytes at @text (transfer full),
 * for error messages: input may be hostile or not UTF-8. */
static char *
quote(const char *text, gsize len)
{
  if (text == NULL)
    return g_strdup("(null)");
  g_autofree char *copy = g_strndup(text, len);
  return g_strescape(copy, NULL);
}

gboolean
actr_name_is_valid(const char *name)
{
  return name_problem(name, name ? strlen(name) : 0) == NULL;
}

gboolean
actr_name_validate(const char *name, GError **error)
{
  gsize len = name ? strlen(name) : 0;
  const char *problem = name_problem(name, len);
  if (problem == NULL)
    return TRUE;
  if (name == NULL) {
    g_set_error_literal(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_NAME, "name is missing");
    return FALSE;
  }
  g_autofree char *quoted = quote(name, len);
  g_set_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_NAME, "invalid name '%s': %s",
              quoted, problem);
  return FALSE;
}

/* ---------------------------------------------------------------------------
 * ActrType
 */

/* Returns NULL when the parts form a valid ActrType, else a description of
 * the first problem (transfer full).  The manufacturer and name are given
 * as (pointer, length) so that parse can check them in place. */
static char *
type_problem(const char *manufacturer, gsize manufacturer_len, const char *name, gsize name_len,
             const char *version)
{
  if (manufacturer == NULL)
    return g_strdup("manufacturer is missing");
  if (name == NULL)
    return g_strdup("name is missing");
  const char *problem = name_problem(manufacturer, manufacturer_len);
  if (problem != NULL) {
    g_autofree char *quoted = quote(manufacturer, manufacturer_len);
    return g_strdup_printf("manufacturer '%s' %s", quoted, problem);
  }
  problem = name_problem(name, name_len);
  if (problem != NULL) {
    g_autofree char *quoted = quote(name, name_len);
    return g_strdup_printf("name '%s' %s", quoted, problem);
  }
  if (version == NULL)
    return g_strdup("version is missing");
  if (*version == '\0')
    return g_strdup("version must not be empty");
  if (strchr(version, ':') != NULL)
    return g_strdup("version must not contain ':'");
  if (!g_utf8_validate(version, -1, NULL))
    return g_strdup("version must be valid UTF-8");
  return NULL;
}

gboolean
actr_type_parse(const char *text, ActrType *out, GError **error)
{
  g_return_val_if_fail(text != NULL, FALSE);
  g_return_val_if_fail(out != NULL, FALSE);

  g_autofree char *problem = NULL;
  const char *colon1 = strchr(text, ':');
  const char *colon2 = colon1 ? strchr(colon1 + 1, ':') : NULL;

  if (colon2 == NULL)
    problem = g_strdup("expected manufacturer:name:version");
  else if (strchr(colon2 + 1, ':') != NULL)
    problem = g_strdup("more than three ':'-separated parts");
  else
    problem = type_problem(text, (gsize)(colon1 - text), colon1 + 1, (gsize)(colon2 - colon1 - 1),
                           colon2 + 1);
  if (problem != NULL) {
    g_autofree char *quoted = quote(text, strlen(text));
    g_set_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_TYPE, "invalid ActrType '%s': %s",
                quoted, problem);
    return FALSE;
  }

  out->manufacturer = g_strndup(text, (gsize)(colon1 - text));
  out->name = g_strndup(colon1 + 1, (gsize)(colon2 - colon1 - 1));
  out->version = g_strdup(colon2 + 1);
  return TRUE;
}

/* NULL strings print as "" in text forms. */
static const char *
str0(const char *s)
{
  return s ? s : "";
}

char *
actr_type_to_string(const ActrType *type)
{
  g_return_val_if_fail(type != NULL, NULL);
  return g_strdup_printf("%s:%s:%s", str0(type->manufacturer), str0(type->name),
                         str0(type->version));
}

gboolean
actr_type_validate(const ActrType *type, GError **error)
{
  g_return_val_if_fail(type != NULL, FALSE);

  g_autofree char *problem =
      type_problem(type->manufacturer, type->manufacturer ? strlen(type->manufacturer) : 0,
                   type->name, type->name ? strlen(type->name) : 0, type->version);
  if (problem == NULL)
    return TRUE;
  g_set_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_TYPE, "invalid ActrType: %s",
              problem);
  return FALSE;
}

void
actr_type_copy(const ActrType *src, ActrType *dest)
{
  g_return_if_fail(src != NULL);
  g_return_if_fail(dest != NULL);
  g_return_if_fail(src != dest);

  dest->manufacturer = g_strdup(src->manufacturer);
  dest->name = g_strdup(src->name);
  dest->version = g_strdup(src->version);
}

void
actr_type_clear(ActrType *type)
{
  g_return_if_fail(type != NULL);

  g_clear_pointer(&type->manufacturer, g_free);
  g_clear_pointer(&type->name, g_free);
  g_clear_pointer(&type->version, g_free);
}

gboolean
actr_type_equal(const ActrType *a, const ActrType *b)
{
  g_return_val_if_fail(a != NULL, FALSE);
  g_return_val_if_fail(b != NULL, FALSE);

  return g_strcmp0(a->manufacturer, b->manufacturer) == 0 && g_strcmp0(a->name, b->name) == 0 &&
         g_strcmp0(a->version, b->version) == 0;
}

static guint
str_hash0(const char *s)
{
  return s ? g_str_hash(s) : 0;
}

guint
actr_type_hash(const ActrType *type)
{
  g_return_val_if_fail(type != NULL, 0);

  guint h = str_hash0(type->manufacturer);
  h = h * 31 + str_hash0(type->name);
  h = h * 31 + str_hash0(type->version);
  return h;
}

/* g_strcmp0 normalised to -1 / 0 / 1. */
static int
str_compare(const char *a, const char *b)
{
  int r = g_strcmp0(a, b);
  return (r > 0) - (r < 0);
}

int
actr_type_compare(const ActrType *a, const ActrType *b)
{
  g_return_val_if_fail(a != NULL, 0);
  g_return_val_if_fail(b != NULL, 0);

  int r = str_compare(a->manufacturer, b->manufacturer);
  if (r == 0)
    r = str_compare(a->name, b->name);
  if (r == 0)
    r = str_compare(a->version, b->version);
  return r;
}

/* ---------------------------------------------------------------------------
 * ActrId
 */

/* Parses the @len bytes at @text as hex u64: digits of either case, leading
 * zeros allowed, nothing else.  Returns NULL or the problem (static). */
static const char *
parse_serial(const char *text, gsize len, guint64 *out)
{
  guint64 value = 0;
  if (len == 0)
    return "serial number is empty";
  for (gsize i = 0; i < len; i++) {
    int digit = g_ascii_xdigit_value(text[i]);
    if (digit < 0)
      return "serial number must be hexadecimal digits only";
    if (value >> 60 != 0)
      return "serial number does not fit 64 bits";
    value = (value << 4) | (guint64)digit;
  }
  *out = value;
  return NULL;
}

/* Parses the @len bytes at @text as decimal u32: digits only, leading
 * zeros allowed.  Returns NULL or the problem (static). */
static const char *
parse_realm(const char *text, gsize len, guint32 *out)
{
  guint64 value = 0;
  if (len == 0)
    return "realm is empty";
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isdigit(text[i]))
      return "realm must be decimal digits only";
    value = value * 10 + (guint64)(text[i] - '0');
    if (value > G_MAXUINT32)
      return "realm does not fit 32 bits";
  }
  *out = (guint32)value;
  return NULL;
}

/* Splits and parses ActrId text.  Returns NULL on success, with @type
 * filled (transfer full), else the problem (pointing into @type_error's
 * message when the ActrType part is at fault; @type untouched). */
static const char *
id_problem(const char *text, guint64 *serial, guint32 *realm, ActrType *type, GError **type_error)
{
  const char *problem;
  const char *at = strchr(text, '@');
  if (at == NULL)
    return "missing '@' after the serial number";
  const char *slash = strchr(at + 1, '/');
  if (slash == NULL)
    return "missing '/' after the realm";
  if ((problem = parse_serial(text, (gsize)(at - text), serial)) != NULL)
    return problem;
  if ((problem = parse_realm(at + 1, (gsize)(slash - at - 1), realm)) != NULL)
    return problem;
  if (!actr_type_parse(slash + 1, type, type_error))
    return (*type_error)->message;
  return NULL;
}

gboolean
actr_id_parse(const char *text, ActrId *out, GError **error)
{
  g_return_val_if_fail(text != NULL, FALSE);
  g_return_val_if_fail(out != NULL, FALSE);

  g_autoptr(GError) type_error = NULL;
  guint64 serial = 0;
  guint32 realm = 0;
  ActrType type = {NULL, NULL, NULL};
  const char *problem = id_problem(text, &serial, &realm, &type, &type_error);

  if (problem != NULL) {
    g_autofree char *quoted = quote(text, strlen(text));
    g_set_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_ID, "invalid ActrId '%s': %s",
                quoted, problem);
    return FALSE;
  }

  out->realm_id = realm;
  out->serial_number = serial;
  out->type = type; /* takes the strings */
  return TRUE;
}

char *
actr_id_to_string(const ActrId *id)
{
  g_return_val_if_fail(id != NULL, NULL);
  return g_strdup_printf("%" G_GINT64_MODIFIER "x@%" G_GUINT32_FORMAT "/%s:%s:%s",
                         id->serial_number, id->realm_id, str0(id->type.manufacturer),
                         str0(id->type.name), str0(id->type.version));
}

void
actr_id_copy(const ActrId *src, ActrId *dest)
{
  g_return_if_fail(src != NULL);
  g_return_if_fail(dest != NULL);
  g_return_if_fail(src != dest);

  dest->realm_id = src->realm_id;
  dest->serial_number = src->serial_number;
  actr_type_copy(&src->type, &dest->type);
}

void
actr_id_clear(ActrId *id)
{
  g_return_if_fail(id != NULL);

  actr_type_clear(&id->type);
  id->realm_id = 0;
  id->serial_number = 0;
}

gboolean
actr_id_equal(const ActrId *a, const ActrId *b)
{
  g_return_val_if_fail(a != NULL, FALSE);
  g_return_val_if_fail(b != NULL, FALSE);

  return a->realm_id == b->realm_id && a->serial_number == b->serial_number &&
         actr_type_equal(&a->type, &b->type);
}

guint
actr_id_hash(const ActrId *id)
{
  g_return_val_if_fail(id != NULL, 0);

  guint h = actr_type_hash(&id->type);
  h = h * 31 + id->realm_id;
  h = h * 31 + (guint)(id->serial_number ^ (id->serial_number >> 32));
  return h;
}

int
actr_id_compare(const ActrId *a, const ActrId *b)
{
  g_return_val_if_fail(a != NULL, 0);
  g_return_val_if_fail(b != NULL, 0);

  if (a->realm_id != b->realm_id)
    return a->realm_id < b->realm_id ? -1 : 1;
  if (a->serial_number != b->serial_number)
    return a->serial_number < b->serial_number ? -1 : 1;
  return actr_type_compare(&a->type, &b->type);
}

/* ---------------------------------------------------------------------------
 * protobuf conversion
 */

void
actr_type_to_pb(const ActrType *type, Actr__ActrType *pb)
{
  actr__actr_type__init(pb);
  /* protobuf-c's structs hold char *, but the packer only reads them. */
  pb->manufacturer = (char *)str0(type->manufacturer);
  pb->name = (char *)str0(type->name);
  pb->version = (char *)str0(type->version);
}

void
actr_id_to_pb(const ActrId *id, ActrIdPb *pb)
{
  actr__actr_id__init(&pb->id);
  actr__realm__init(&pb->realm);
  pb->realm.realm_id = id->realm_id;
  actr_type_to_pb(&id->type, &pb->type);
  pb->id.realm = &pb->realm;
  pb->id.serial_number = id->serial_number;
  pb->id.type = &pb->type;
}

void
actr_type_from_pb(const Actr__ActrType *pb, ActrType *out)
{
  out->manufacturer = g_strdup(pb ? str0(pb->manufacturer) : "");
  out->name = g_strdup(pb ? str0(pb->name) : "");
  out->version = g_strdup(pb ? str0(pb->version) : "");
}

void
actr_id_from_pb(const Actr__ActrId *pb, ActrId *out)
{
  out->realm_id = (pb && pb->realm) ? pb->realm->realm_id : 0;
  out->serial_number = pb ? pb->serial_number : 0;
  actr_type_from_pb(pb ? pb->type : NULL, &out->type);
}

GBytes *
actr_id_encode(const ActrId *id)
{
  g_return_val_if_fail(id != NULL, NULL);

  ActrIdPb pb;
  actr_id_to_pb(id, &pb);
  return actr_proto_message_encode(&pb.id.base);
}

gboolean
actr_id_decode(const guint8 *data, gsize len, ActrId *out, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  g_return_val_if_fail(out != NULL, FALSE);

  Actr__ActrId *pb =
      (Actr__ActrId *)actr_proto_message_decode(&actr__actr_id__descriptor, data, len, error);
  if (pb == NULL)
    return FALSE;
  actr_id_from_pb(pb, out);
  actr_proto_message_free(&pb->base);
  return TRUE;
}
