/* Fuzz target: the lenient protobuf decoder (src/proto/codec.c) on the
 * messages that arrive from the network: RpcEnvelope and DataStream (peer
 * links) and SignalingEnvelope (signaling socket).
 *
 * For each type: decode the input; a failure must be a clean
 * ACTR_PROTO_ERROR_DECODE, found by our pre-scan rather than by protobuf-c.  On success every
 * required string and message must be present (never NULL), and encode → decode → encode must reach
 * a fixed point: the second decode succeeds and both encodings are equal. */
#include <actr/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "package.pb-c.h"
#include "signaling.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* Checks that required strings and messages of @message (recursively) are
 * not NULL, as the lenient decoder promises. */
static void
check_required_present(const ProtobufCMessage *message)
{
  const ProtobufCMessageDescriptor *descriptor = message->descriptor;
  const char *base = (const char *)message;

  for (unsigned i = 0; i < descriptor->n_fields; i++) {
    const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
    const void *member = base + field->offset;
    if (field->type != PROTOBUF_C_TYPE_MESSAGE && field->type != PROTOBUF_C_TYPE_STRING)
      continue;
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)(base + field->quantifier_offset);
      void *const *items = *(void *const *const *)member;
      for (size_t j = 0; j < n; j++) {
        FUZZ_CHECK(items[j] != NULL);
        if (field->type == PROTOBUF_C_TYPE_MESSAGE)
          check_required_present(items[j]);
      }
      continue;
    }
    if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)(base + field->quantifier_offset) != field->id)
      continue;
    const void *value = *(const void *const *)member;
    if (field->label == PROTOBUF_C_LABEL_REQUIRED)
      FUZZ_CHECK(value != NULL);
    if (value != NULL && field->type == PROTOBUF_C_TYPE_MESSAGE)
      check_required_present(value);
  }
}

static void
check_type(const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t size)
{
  GError *error = NULL;
  ProtobufCMessage *first = actr_proto_message_decode(descriptor, data, size, &error);
  if (first == NULL) {
    FUZZ_CHECK(g_error_matches(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_DECODE));
    /* The pre-scan must catch everything protobuf-c would refuse (see
     * codec.c); this message marks a disagreement between the two. */
    FUZZ_CHECK(strstr(error->message, "rejected by the protobuf-c decoder") == NULL);
    g_error_free(error);
    return;
  }
  FUZZ_CHECK(error == NULL);
  check_required_present(first);

  GBytes *encoded = actr_proto_message_encode(first);
  gsize len;
  const guint8 *bytes = g_bytes_get_data(encoded, &len);
  ProtobufCMessage *second = actr_proto_message_decode(descriptor, bytes, len, &error);
  if (second == NULL)
    fprintf(stderr, "re-decode of %s failed: %s\n", descriptor->name, error->message);
  FUZZ_CHECK(second != NULL);
  check_required_present(second);

  GBytes *again = actr_proto_message_encode(second);
  FUZZ_CHECK(g_bytes_equal(encoded, again));

  g_bytes_unref(again);
  g_bytes_unref(encoded);
  actr_proto_message_free(second);
  actr_proto_message_free(first);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  check_type(&actr__rpc_envelope__descriptor, data, size);
  check_type(&signaling__signaling_envelope__descriptor, data, size);
  check_type(&actr__data_stream__descriptor, data, size);
  return 0;
}
