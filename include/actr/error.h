/* actr — the one error model.
 *
 * Three layers, used consistently across the library:
 *
 * 1. Wire errors (ACTR_ERROR domain).  The codes 10001–10011 travel in
 *    ErrorResponse.code of an RpcEnvelope.  A GError in the ACTR_ERROR
 *    domain always carries the *display string* as its message, e.g.
 *    "unknown route: echo.Echo.Nope", which is exactly what goes into
 *    ErrorResponse.message on the wire.  Build them with actr_error_new();
 *    turn a received (code, message) pair back into one with
 *    actr_error_from_wire().  Unlike the reference we never add a second
 *    prefix on decode, and guest (workload) errors keep their variant: a
 *    workload's UnknownRoute travels as 10006, not as Internal.
 *
 * 2. Subsystem errors (one GError domain per subsystem: ACTR_STORE_ERROR,
 *    ACTR_CONFIG_ERROR, ACTR_PROTO_ERROR, ...) for set-up, configuration
 *    and storage failures.  Codes are never reused or renumbered.
 *
 * 3. ActrStatus, a small enum for per-message hot paths that must not
 *    allocate to report an outcome.
 *
 * Thread-safety: every function here is thread-safe and re-entrant.
 */
#ifndef ACTR_ERROR_H
#define ACTR_ERROR_H

#include <glib.h>
#include <actr/macros.h>

ACTR_BEGIN_DECLS

/* Wire error codes (runtime.md §5.1).  The numbers are wire ABI. */
typedef enum {
  ACTR_ERROR_UNAVAILABLE = 10001,          /* "unavailable: <s>", transient */
  ACTR_ERROR_TIMED_OUT = 10002,            /* "timed out", transient */
  ACTR_ERROR_NOT_FOUND = 10003,            /* "not found: <s>" */
  ACTR_ERROR_PERMISSION_DENIED = 10004,    /* "permission denied: <s>" */
  ACTR_ERROR_INVALID_ARGUMENT = 10005,     /* "invalid argument: <s>" */
  ACTR_ERROR_UNKNOWN_ROUTE = 10006,        /* "unknown route: <s>" */
  ACTR_ERROR_DEPENDENCY_NOT_FOUND = 10007, /* "dependency '<svc>' not found: <msg>" */
  ACTR_ERROR_DECODE_FAILURE = 10008,       /* "decode failure: <s>", goes to the DLQ */
  ACTR_ERROR_NOT_IMPLEMENTED = 10009,      /* "not implemented: <s>" */
  ACTR_ERROR_INTERNAL = 10010,             /* "internal error: <s>" */
  ACTR_ERROR_CONNECTION_NOT_READY = 10011, /* "connection not ready: retry_after_ms=Some(N)|None" */
} ActrErrorCode;

#define ACTR_ERROR_CODE_FIRST ACTR_ERROR_UNAVAILABLE
#define ACTR_ERROR_CODE_LAST  ACTR_ERROR_CONNECTION_NOT_READY

/* How a caller should treat an error (runtime.md §5.1 "Kind"). */
typedef enum {
  ACTR_ERROR_KIND_TRANSIENT, /* retry may succeed */
  ACTR_ERROR_KIND_CLIENT,    /* the request is wrong; do not retry */
  ACTR_ERROR_KIND_CORRUPT,   /* undecodable; dead-letter it */
  ACTR_ERROR_KIND_INTERNAL,  /* a bug or an unsupported operation */
} ActrErrorKind;

/* Hot-path status (never allocates). */
typedef enum {
  ACTR_OK = 0,     /* done */
  ACTR_AGAIN = 1,  /* would block or needs more input; call again later */
  ACTR_CLOSED = 2, /* the other side or the object is closed */
  ACTR_ERROR = 3,  /* failed; details were logged once */
} ActrStatus;

#define ACTR_ERROR (actr_error_quark())
ACTR_API GQuark actr_error_quark(void);

/* TRUE for 10001–10011. */
ACTR_API gboolean actr_error_code_is_known(guint32 code);

/* The kind of a known code; unknown codes are treated as transient
 * (they decode to UNAVAILABLE). */
ACTR_API ActrErrorKind actr_error_code_kind(guint32 code);

/* TRUE for UNAVAILABLE, TIMED_OUT and CONNECTION_NOT_READY. */
ACTR_API gboolean actr_error_code_is_retryable(guint32 code);

/* Display prefix of a known code without the ": " ("unknown route"),
 * or NULL for an unknown code (transfer none, static). */
ACTR_API const char *actr_error_code_prefix(guint32 code);

/* Symbolic name ("UNKNOWN_ROUTE") of a known code, or "UNKNOWN"
 * (transfer none, static). */
ACTR_API const char *actr_error_code_name(guint32 code);

/* Builds a wire error whose message is the display string of @code with
 * the formatted detail, e.g. actr_error_new(ACTR_ERROR_UNKNOWN_ROUTE, "%s",
 * route) → "unknown route: <route>".  For TIMED_OUT the detail is ignored
 * ("timed out").  For DEPENDENCY_NOT_FOUND use actr_error_new_dependency();
 * for CONNECTION_NOT_READY use actr_error_new_not_ready().
 * Returns (transfer full). */
ACTR_API GError *actr_error_new(ActrErrorCode code, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* Same as actr_error_new() into a GError** (may be NULL). */
ACTR_API void actr_set_error(GError **error, ActrErrorCode code, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

/* "dependency '<service>' not found: <message>" (transfer full). */
ACTR_API GError *actr_error_new_dependency(const char *service, const char *message);

/* "connection not ready: retry_after_ms=Some(N)", or "=None" when
 * @retry_after_ms < 0 (transfer full). */
ACTR_API GError *actr_error_new_not_ready(gint64 retry_after_ms);

/* Rebuilds a wire error from a received ErrorResponse.
 * - 10001–10011: the message is the received display string; if the peer
 *   sent a bare detail without the expected prefix, the prefix is added,
 *   so the result always displays exactly once-prefixed.
 * - 10002: the message is always "timed out".
 * - any other code (including 0): UNAVAILABLE with
 *   "unavailable: rpc error <code>: <message>".
 * @message may be NULL (treated as empty).  Returns (transfer full). */
ACTR_API GError *actr_error_from_wire(guint32 code, const char *message);

/* The wire code to send for @error: its code when @error is in the
 * ACTR_ERROR domain with a known code, else ACTR_ERROR_INTERNAL. */
ACTR_API guint32 actr_error_wire_code(const GError *error);

/* The display string to send for @error (transfer full): the message of
 * an ACTR_ERROR, else "internal error: <domain message>". */
ACTR_API char *actr_error_wire_message(const GError *error);

/* The detail part of a wire error's message (after "prefix: "), or the
 * whole message when it has no known prefix (transfer none, points into
 * @error->message). */
ACTR_API const char *actr_error_detail(const GError *error);

/* For CONNECTION_NOT_READY: the retry hint in ms, or -1 when absent or
 * when @error is another error. */
ACTR_API gint64 actr_error_retry_after_ms(const GError *error);

/* For DEPENDENCY_NOT_FOUND: the service name (transfer full), or NULL. */
ACTR_API char *actr_error_dependency_service(const GError *error);

ACTR_END_DECLS

#endif /* ACTR_ERROR_H */
