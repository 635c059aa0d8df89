/* actr — W3C Trace Context `traceparent` values (https://www.w3.org/TR/trace-context/,
 * version 00), as carried in RpcEnvelope.traceparent and
 * SignalingEnvelope.traceparent (wire.md §1).  Internal to libactr.
 *
 *   00-<trace-id: 32 hex>-<parent-id: 16 hex>-<trace-flags: 2 hex>
 *   e.g. 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
 *
 * Parsing is strict: lowercase hex only, no surrounding whitespace (an
 * HTTP layer strips OWS before calling), all-zero trace-id or parent-id
 * invalid, version ff invalid.  Version 00 must be exactly 55 characters.
 * A higher version is parsed as version 00 when its first 55 characters
 * have the version-00 shape and the 56th is '-' or the end; whatever
 * follows is ignored.  Formatting always writes version 00 and lowercase
 * hex; trace-flags are kept as parsed (the sampled bit is 0x01).
 *
 * Ids are drawn from OpenSSL's RAND_bytes (g_random as a fallback) and are
 * never all-zero.
 *
 * Thread-safety: every function is re-entrant and keeps no state.
 */
#ifndef ACTR_NODE_TRACEPARENT_H
#define ACTR_NODE_TRACEPARENT_H

#include <glib.h>

G_BEGIN_DECLS

#define ACTR_TRACE_FLAG_SAMPLED 0x01

typedef struct {
  guint8 trace_id[16];
  guint8 parent_id[8];
  guint8 flags;
} ActrTraceContext;

/* Parses "00-<32 hex>-<16 hex>-<2 hex>" strictly (lowercase hex, all-zero
 * trace or parent id invalid, version ff invalid; future versions >00
 * accepted if the first 55 chars parse and next char is '-' or end).
 * @traceparent is nullable (FALSE).  Reads no byte past the first mismatch
 * or the terminating NUL.  On success fills @out and returns TRUE; FALSE on
 * anything else, leaving @out untouched. */
gboolean actr_trace_context_parse(const char *traceparent, ActrTraceContext *out);

/* A new root context with random ids (flags 01 = sampled). */
void actr_trace_context_new_root(ActrTraceContext *out);

/* A child: same trace id and flags, fresh random parent (span) id, never
 * equal to @parent's.  @parent and @out may be the same object. */
void actr_trace_context_child(const ActrTraceContext *parent, ActrTraceContext *out);

/* Formats into buf (56 bytes incl NUL: ACTR_TRACEPARENT_LEN + 1), as
 * version 00 in lowercase hex. */
#define ACTR_TRACEPARENT_LEN 55
void actr_trace_context_format(const ActrTraceContext *ctx, char buf[ACTR_TRACEPARENT_LEN + 1]);

G_END_DECLS

#endif /* ACTR_NODE_TRACEPARENT_H */
