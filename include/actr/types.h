/* actr — actor identity types: ActrType and ActrId, their text forms and
 * their protobuf encoding (wire.md §0 "String forms", §1.1).
 *
 * Text forms:
 *   ActrType  "manufacturer:name:version"      e.g. "acme:echo:1.0.0"
 *   ActrId    "<serial>@<realm>/<ActrType>"    e.g. "1a2b3c@101/acme:echo:1.0.0"
 *
 * Rules, shared with the reference (core/protocol/src/actr_ext.rs, name.rs):
 * - manufacturer and name are Names: 1–32 characters, first an ASCII
 *   letter, last an ASCII letter or digit, every character an ASCII letter,
 *   digit, '-', '_' or '.'.
 * - version is any non-empty string without ':'.  We also require valid
 *   UTF-8, because the version travels in a protobuf `string` field and
 *   the reference decoder rejects non-UTF-8 strings.
 * - The ActrType text has exactly three ':'-separated parts; a fourth part
 *   is rejected.
 * - The ActrId text splits at the first '@', then at the first '/'.
 *   serial_number is formatted as lowercase hex without leading zeros and
 *   without "0x" ("0" for zero).  On parse, uppercase hex digits and
 *   leading zeros are accepted (like the reference's u64::from_str_radix);
 *   an empty serial, any non-hex character (including "0x", signs and
 *   whitespace) and values above 2^64-1 are rejected.  realm_id is decimal;
 *   leading zeros are accepted, an empty realm, signs, whitespace and values
 *   above 2^32-1 are rejected.  So parse() canonicalises: format(parse(s))
 *   may differ from s, but parse(format(x)) always equals x for a valid x.
 *
 * Error reporting: every failure is an ACTR_PROTO_ERROR whose code names
 * the kind of object that was rejected (INVALID_NAME from the name
 * functions, INVALID_TYPE from the ActrType functions, INVALID_ID from
 * actr_id_parse(), DECODE from actr_id_decode()); the message says which
 * rule failed.
 *
 * Ownership: ActrType owns its three strings (g_malloc'd).  A zero-filled
 * ActrType or ActrId (all NULL strings) is a valid "empty" value that can be
 * cleared, copied, compared, hashed and formatted (NULL strings behave as
 * ""), but does not validate.  g_auto(ActrType) and g_auto(ActrId) clear a
 * stack value at scope exit.
 *
 * Thread-safety: every function is re-entrant and uses no global state
 * apart from the error quark; a value may be read from several threads at
 * once but must not be modified while another thread reads it.
 */
#ifndef ACTR_TYPES_H
#define ACTR_TYPES_H

#include <glib.h>
#include <actr/macros.h>

ACTR_BEGIN_DECLS

/* Maximum length of a Name, in characters (= bytes: Names are ASCII). */
#define ACTR_NAME_MAX_LEN 32

typedef struct {
  char *manufacturer; /* a Name (owned) */
  char *name;         /* a Name (owned) */
  char *version;      /* non-empty, no ':' (owned) */
} ActrType;

typedef struct {
  guint32 realm_id;
  guint64 serial_number;
  ActrType type;
} ActrId;

#define ACTR_PROTO_ERROR (actr_proto_error_quark())

/* Codes are never renumbered; add new ones at the end. */
typedef enum {
  ACTR_PROTO_ERROR_INVALID_NAME, /* a Name broke one of its rules */
  ACTR_PROTO_ERROR_INVALID_TYPE, /* ActrType text or value is malformed */
  ACTR_PROTO_ERROR_INVALID_ID,   /* ActrId text is malformed */
  ACTR_PROTO_ERROR_DECODE,       /* protobuf bytes could not be decoded */
} ActrProtoError;

ACTR_API GQuark actr_proto_error_quark(void);

/* TRUE when @name (nullable) satisfies every Name rule. */
ACTR_API gboolean actr_name_is_valid(const char *name);

/* Like actr_name_is_valid(), but on failure sets @error
 * (ACTR_PROTO_ERROR_INVALID_NAME) to a message naming the first rule that
 * failed, checked in this order: missing (NULL), empty, too long, first
 * character, last character, other characters. */
ACTR_API gboolean actr_name_validate(const char *name, GError **error);

/* Parses "manufacturer:name:version" (@text not NULL) and validates it as
 * actr_type_validate() does.  On success fills @out (overwritten without
 * being cleared first; the caller owns the new strings and frees them with
 * actr_type_clear()) and returns TRUE.  On failure returns FALSE, sets
 * @error (ACTR_PROTO_ERROR_INVALID_TYPE) and leaves @out untouched. */
ACTR_API gboolean actr_type_parse(const char *text, ActrType *out, GError **error);

/* Formats @type as "manufacturer:name:version" without validating it.
 * Returns (transfer full): free with g_free(). */
ACTR_API char *actr_type_to_string(const ActrType *type);

/* TRUE when manufacturer and name are Names and version is non-empty,
 * valid UTF-8 and free of ':'.  Else sets @error
 * (ACTR_PROTO_ERROR_INVALID_TYPE) and returns FALSE. */
ACTR_API gboolean actr_type_validate(const ActrType *type, GError **error);

/* Deep-copies @src into @dest.  @dest is overwritten without being cleared
 * first (clear it beforehand if it owns strings); @src != @dest. */
ACTR_API void actr_type_copy(const ActrType *src, ActrType *dest);

/* Frees the strings of @type and zeroes it.  Idempotent. */
ACTR_API void actr_type_clear(ActrType *type);

/* Byte-wise equality of the three strings (NULL equals only NULL). */
ACTR_API gboolean actr_type_equal(const ActrType *a, const ActrType *b);

/* A hash consistent with actr_type_equal(). */
ACTR_API guint actr_type_hash(const ActrType *type);

/* Total order: manufacturer, then name, then version, each compared
 * byte-wise (strcmp; NULL sorts before every string).  Returns <0, 0, >0. */
ACTR_API int actr_type_compare(const ActrType *a, const ActrType *b);

/* Parses "<serial hex>@<realm decimal>/<ActrType text>" (@text not NULL;
 * see the rules above).  On success fills @out (overwritten without being
 * cleared first; free with actr_id_clear()) and returns TRUE.  On failure
 * returns FALSE, sets @error (ACTR_PROTO_ERROR_INVALID_ID) and leaves @out
 * untouched. */
ACTR_API gboolean actr_id_parse(const char *text, ActrId *out, GError **error);

/* Formats @id canonically (lowercase hex, no leading zeros) without
 * validating its type.  Returns (transfer full): free with g_free(). */
ACTR_API char *actr_id_to_string(const ActrId *id);

/* Deep-copies @src into @dest (same contract as actr_type_copy()). */
ACTR_API void actr_id_copy(const ActrId *src, ActrId *dest);

/* Frees the strings of @id and zeroes it.  Idempotent. */
ACTR_API void actr_id_clear(ActrId *id);

/* TRUE when realm, serial and type are all equal. */
ACTR_API gboolean actr_id_equal(const ActrId *a, const ActrId *b);

/* A hash consistent with actr_id_equal(). */
ACTR_API guint actr_id_hash(const ActrId *id);

/* Total order: realm_id, then serial_number, then type. */
ACTR_API int actr_id_compare(const ActrId *a, const ActrId *b);

/* protobuf bytes <-> C struct.
 *
 * actr_id_encode() emits the protobuf ActrId message (wire.md §1.1) with
 * every required field present, in tag order, whatever its value (NULL
 * strings are emitted as empty strings).  It does not validate.
 * Returns (transfer full).
 *
 * actr_id_decode() is lenient like the reference decoder: missing fields
 * decode as 0 / "", unknown fields are skipped, and the names are NOT
 * validated (call actr_type_validate() on the result when the id comes
 * from an untrusted peer).  It fails (ACTR_PROTO_ERROR_DECODE) only on
 * malformed protobuf: truncation, bad varints or tags, wrong wire types,
 * strings that are not UTF-8 or contain NUL.  On success fills @out
 * (overwritten without being cleared first) and returns TRUE; on failure
 * leaves @out untouched.  @data may be NULL when @len is 0. */
ACTR_API GBytes *actr_id_encode(const ActrId *id);
ACTR_API gboolean actr_id_decode(const guint8 *data, gsize len, ActrId *out, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ActrType, actr_type_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ActrId, actr_id_clear)

ACTR_END_DECLS

#endif /* ACTR_TYPES_H */
