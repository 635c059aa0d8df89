/* actr — typed codec helpers for the traffic-carrying messages.  See
 * envelope.h. */
#include "envelope.h"

#include <actr/error.h>

Actr__RpcEnvelope *
actr_rpc_envelope_decode(const guint8 *data, gsize len, GError **error)
{
  return (Actr__RpcEnvelope *)actr_proto_message_decode(&actr__rpc_envelope__descriptor, data, len,
                                                        error);
}

GBytes *
actr_rpc_envelope_encode(const Actr__RpcEnvelope *envelope)
{
  g_return_val_if_fail(envelope != NULL, NULL);
  g_return_val_if_fail(envelope->base.descriptor == &actr__rpc_envelope__descriptor, NULL);
  return actr_proto_message_encode(&envelope->base);
}

void
actr_rpc_envelope_free(Actr__RpcEnvelope *envelope)
{
  actr_proto_message_free((ProtobufCMessage *)envelope);
}

Actr__RpcEnvelope__Direction
actr_rpc_envelope_get_direction(const Actr__RpcEnvelope *envelope)
{
  g_return_val_if_fail(envelope != NULL, ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED);
  if (!envelope->has_direction)
    return ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED;
  switch (envelope->direction) {
  case ACTR__RPC_ENVELOPE__DIRECTION__REQUEST:
  case ACTR__RPC_ENVELOPE__DIRECTION__RESPONSE:
  case ACTR__RPC_ENVELOPE__DIRECTION__TELL:
    return envelope->direction;
  default: /* UNSPECIFIED, or a raw value from a newer peer */
    return ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED;
  }
}

GError *
actr_rpc_envelope_dup_error(const Actr__RpcEnvelope *envelope)
{
  g_return_val_if_fail(envelope != NULL, NULL);
  if (envelope->error == NULL)
    return NULL;
  return actr_error_from_wire(envelope->error->code, envelope->error->message);
}

Actr__DataStream *
actr_data_stream_decode(const guint8 *data, gsize len, GError **error)
{
  return (Actr__DataStream *)actr_proto_message_decode(&actr__data_stream__descriptor, data, len,
                                                       error);
}

GBytes *
actr_data_stream_encode(const Actr__DataStream *stream)
{
  g_return_val_if_fail(stream != NULL, NULL);
  g_return_val_if_fail(stream->base.descriptor == &actr__data_stream__descriptor, NULL);
  return actr_proto_message_encode(&stream->base);
}

void
actr_data_stream_free(Actr__DataStream *stream)
{
  actr_proto_message_free((ProtobufCMessage *)stream);
}

Signaling__SignalingEnvelope *
actr_signaling_envelope_decode(const guint8 *data, gsize len, GError **error)
{
  return (Signaling__SignalingEnvelope *)actr_proto_message_decode(
      &signaling__signaling_envelope__descriptor, data, len, error);
}

GBytes *
actr_signaling_envelope_encode(const Signaling__SignalingEnvelope *envelope)
{
  g_return_val_if_fail(envelope != NULL, NULL);
  g_return_val_if_fail(envelope->base.descriptor == &signaling__signaling_envelope__descriptor,
                       NULL);
  return actr_proto_message_encode(&envelope->base);
}

void
actr_signaling_envelope_free(Signaling__SignalingEnvelope *envelope)
{
  actr_proto_message_free((ProtobufCMessage *)envelope);
}
