/* actr — internal hot-path helpers for the three messages that carry
 * traffic: RpcEnvelope and DataStream on peer links (wire.md §5.4-§5.6,
 * §6) and SignalingEnvelope on the signaling socket (§4).  Thin typed
 * wrappers around codec.h (same leniency and ownership rules); not
 * exported.
 *
 * Thread-safety: re-entrant; a decoded message may be moved between
 * threads but not shared while one thread modifies it.
 */
#ifndef ACTR_PROTO_ENVELOPE_H
#define ACTR_PROTO_ENVELOPE_H

#include <glib.h>

#include "codec.h"
#include "package.pb-c.h"
#include "signaling.pb-c.h"

G_BEGIN_DECLS

/* Decodes an RpcEnvelope (transfer full; free with
 * actr_rpc_envelope_free()), or returns NULL with @error set
 * (ACTR_PROTO_ERROR_DECODE).  route_key and request_id are never NULL. */
Actr__RpcEnvelope *actr_rpc_envelope_decode(const guint8 *data, gsize len, GError **error);

/* Encodes @envelope (transfer full).  Set direction (has_direction) on
 * every envelope we send (wire.md §9). */
GBytes *actr_rpc_envelope_encode(const Actr__RpcEnvelope *envelope);

/* NULL-safe. */
void actr_rpc_envelope_free(Actr__RpcEnvelope *envelope);

/* The HEAD direction of @envelope: REQUEST, RESPONSE or TELL when the field
 * is present with one of those values, else UNSPECIFIED (absent, or an
 * unknown raw value), in which case the caller infers the direction from
 * its pending-request map as the baseline does (wire.md §5.5). */
Actr__RpcEnvelope__Direction actr_rpc_envelope_get_direction(const Actr__RpcEnvelope *envelope);

/* The error carried by @envelope as a wire error (ACTR_ERROR domain, built
 * by actr_error_from_wire()), or NULL when it carries none.
 * Returns (transfer full). */
GError *actr_rpc_envelope_dup_error(const Actr__RpcEnvelope *envelope);

/* DataStream: same contract as the RpcEnvelope functions; stream_id is
 * never NULL. */
Actr__DataStream *actr_data_stream_decode(const guint8 *data, gsize len, GError **error);
GBytes *actr_data_stream_encode(const Actr__DataStream *stream);
void actr_data_stream_free(Actr__DataStream *stream);

/* SignalingEnvelope: same contract; envelope_id and timestamp are never
 * NULL (a HEAD envelope without timestamp decodes with a zero one). */
Signaling__SignalingEnvelope *actr_signaling_envelope_decode(const guint8 *data, gsize len,
                                                             GError **error);
GBytes *actr_signaling_envelope_encode(const Signaling__SignalingEnvelope *envelope);
void actr_signaling_envelope_free(Signaling__SignalingEnvelope *envelope);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Actr__RpcEnvelope, actr_rpc_envelope_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Actr__DataStream, actr_data_stream_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Signaling__SignalingEnvelope, actr_signaling_envelope_free)

G_END_DECLS

#endif /* ACTR_PROTO_ENVELOPE_H */
