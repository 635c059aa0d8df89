/* actr — the wire error model (runtime.md §5.1).  See include/actr/error.h. */
#include <actr/error.h>

#include <stdarg.h>
#include <string.h>

/* Written out: clang-format would split a hyphenated G_DEFINE_QUARK name. */
GQuark
actr_error_quark(void)
{
  return g_quark_from_static_string("actr-error-quark");
}

typedef struct {
  const char *name;
  const char *prefix;
  ActrErrorKind kind;
} ErrorInfo;

/* Indexed by code - ACTR_ERROR_CODE_FIRST. */
static const ErrorInfo error_table[] = {
    {"UNAVAILABLE", "unavailable", ACTR_ERROR_KIND_TRANSIENT},
    {"TIMED_OUT", "timed out", ACTR_ERROR_KIND_TRANSIENT},
    {"NOT_FOUND", "not found", ACTR_ERROR_KIND_CLIENT},
    {"PERMISSION_DENIED", "permission denied", ACTR_ERROR_KIND_CLIENT},
    {"INVALID_ARGUMENT", "invalid argument", ACTR_ERROR_KIND_CLIENT},
    {"UNKNOWN_ROUTE", "unknown route", ACTR_ERROR_KIND_CLIENT},
    {"DEPENDENCY_NOT_FOUND", "dependency", ACTR_ERROR_KIND_CLIENT},
    {"DECODE_FAILURE", "decode failure", ACTR_ERROR_KIND_CORRUPT},
    {"NOT_IMPLEMENTED", "not implemented", ACTR_ERROR_KIND_INTERNAL},
    {"INTERNAL", "internal error", ACTR_ERROR_KIND_INTERNAL},
    {"CONNECTION_NOT_READY", "connection not ready", ACTR_ERROR_KIND_TRANSIENT},
};

G_STATIC_ASSERT(G_N_ELEMENTS(error_table) == ACTR_ERROR_CODE_LAST - ACTR_ERROR_CODE_FIRST + 1);

static const ErrorInfo *
error_info(guint32 code)
{
  if (!actr_error_code_is_known(code))
    return NULL;
  return &error_table[code - ACTR_ERROR_CODE_FIRST];
}

gboolean
actr_error_code_is_known(guint32 code)
{
  return code >= ACTR_ERROR_CODE_FIRST && code <= ACTR_ERROR_CODE_LAST;
}

ActrErrorKind
actr_error_code_kind(guint32 code)
{
  const ErrorInfo *info = error_info(code);
  return info ? info->kind : ACTR_ERROR_KIND_TRANSIENT;
}

gboolean
actr_error_code_is_retryable(guint32 code)
{
  return actr_error_code_kind(code) == ACTR_ERROR_KIND_TRANSIENT;
}

const char *
actr_error_code_prefix(guint32 code)
{
  const ErrorInfo *info = error_info(code);
  return info ? info->prefix : NULL;
}

const char *
actr_error_code_name(guint32 code)
{
  const ErrorInfo *info = error_info(code);
  return info ? info->name : "UNKNOWN";
}

/* Builds the display string for a code and a detail (transfer full). */
static char *
display_string(ActrErrorCode code, const char *detail)
{
  switch (code) {
  case ACTR_ERROR_TIMED_OUT:
    return g_strdup("timed out");
  case ACTR_ERROR_DEPENDENCY_NOT_FOUND:
    return g_strdup_printf("dependency '' not found: %s", detail);
  default:
    return g_strdup_printf("%s: %s", actr_error_code_prefix(code), detail);
  }
}

GError *
actr_error_new(ActrErrorCode code, const char *format, ...)
{
  g_return_val_if_fail(actr_error_code_is_known(code), NULL);
  va_list ap;
  va_start(ap, format);
  g_autofree char *detail = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_autofree char *display = display_string(code, detail);
  return g_error_new_literal(ACTR_ERROR, code, display);
}

void
actr_set_error(GError **error, ActrErrorCode code, const char *format, ...)
{
  if (error == NULL)
    return;
  va_list ap;
  va_start(ap, format);
  g_autofree char *detail = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_autofree char *display = display_string(code, detail);
  g_set_error_literal(error, ACTR_ERROR, code, display);
}

GError *
actr_error_new_dependency(const char *service, const char *message)
{
  return g_error_new(ACTR_ERROR, ACTR_ERROR_DEPENDENCY_NOT_FOUND, "dependency '%s' not found: %s",
                     service ? service : "", message ? message : "");
}

GError *
actr_error_new_not_ready(gint64 retry_after_ms)
{
  if (retry_after_ms < 0)
    return g_error_new_literal(ACTR_ERROR, ACTR_ERROR_CONNECTION_NOT_READY,
                               "connection not ready: retry_after_ms=None");
  return g_error_new(ACTR_ERROR, ACTR_ERROR_CONNECTION_NOT_READY,
                     "connection not ready: retry_after_ms=Some(%" G_GINT64_FORMAT ")",
                     retry_after_ms);
}

/* TRUE when @message already starts with the display prefix of @code. */
static gboolean
has_display_prefix(guint32 code, const char *message)
{
  if (code == ACTR_ERROR_DEPENDENCY_NOT_FOUND)
    return g_str_has_prefix(message, "dependency '");
  const char *prefix = actr_error_code_prefix(code);
  size_t n = strlen(prefix);
  return strncmp(message, prefix, n) == 0 && message[n] == ':' && message[n + 1] == ' ';
}

GError *
actr_error_from_wire(guint32 code, const char *message)
{
  if (message == NULL)
    message = "";
  if (!actr_error_code_is_known(code))
    return g_error_new(ACTR_ERROR, ACTR_ERROR_UNAVAILABLE, "unavailable: rpc error %u: %s", code,
                       message);
  if (code == ACTR_ERROR_TIMED_OUT)
    return g_error_new_literal(ACTR_ERROR, code, "timed out");
  if (has_display_prefix(code, message))
    return g_error_new_literal(ACTR_ERROR, code, message);
  g_autofree char *display = display_string((ActrErrorCode)code, message);
  return g_error_new_literal(ACTR_ERROR, code, display);
}

guint32
actr_error_wire_code(const GError *error)
{
  g_return_val_if_fail(error != NULL, ACTR_ERROR_INTERNAL);
  if (error->domain == ACTR_ERROR && actr_error_code_is_known((guint32)error->code))
    return (guint32)error->code;
  return ACTR_ERROR_INTERNAL;
}

char *
actr_error_wire_message(const GError *error)
{
  g_return_val_if_fail(error != NULL, NULL);
  if (error->domain == ACTR_ERROR && actr_error_code_is_known((guint32)error->code))
    return g_strdup(error->message);
  return g_strdup_printf("internal error: %s", error->message);
}

const char *
actr_error_detail(const GError *error)
{
  g_return_val_if_fail(error != NULL, NULL);
  const char *msg = error->message;
  if (error->domain != ACTR_ERROR || !actr_error_code_is_known((guint32)error->code))
    return msg;
  if (error->code == ACTR_ERROR_DEPENDENCY_NOT_FOUND) {
    const char *sep = strstr(msg, "' not found: ");
    return (g_str_has_prefix(msg, "dependency '") && sep) ? sep + strlen("' not found: ") : msg;
  }
  if (!has_display_prefix((guint32)error->code, msg))
    return msg;
  return msg + strlen(actr_error_code_prefix((guint32)error->code)) + 2;
}

gint64
actr_error_retry_after_ms(const GError *error)
{
  if (error == NULL || !g_error_matches(error, ACTR_ERROR, ACTR_ERROR_CONNECTION_NOT_READY))
    return -1;
  const char *hint = strstr(error->message, "retry_after_ms=Some(");
  if (hint == NULL)
    return -1;
  hint += strlen("retry_after_ms=Some(");
  char *end = NULL;
  guint64 value = g_ascii_strtoull(hint, &end, 10);
  if (end == hint || *end != ')' || value > G_MAXINT64)
    return -1;
  return (gint64)value;
}

char *
actr_error_dependency_service(const GError *error)
{
  if (error == NULL || !g_error_matches(error, ACTR_ERROR, ACTR_ERROR_DEPENDENCY_NOT_FOUND))
    return NULL;
  const char *msg = error->message;
  if (!g_str_has_prefix(msg, "dependency '"))
    return NULL;
  const char *start = msg + strlen("dependency '");
  const char *end = strstr(start, "' not found: ");
  return end ? g_strndup(start, (gsize)(end - start)) : NULL;
}
