/* Fuzz target: the DCEP parser (src/transport/sctp/dcep.c, RFC 8832).  An
 * accepted message must respect the parser's promises (lengths add up,
 * label within ACTR_SCTP_MAX_LABEL, known channel type) and an accepted
 * OPEN must encode back to the same bytes and map to a reliability that
 * maps back to the same channel type. */
#include "dcep.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ActrDcepMessage msg;
  const char *why = NULL;
  if (!actr_dcep_parse(data, size, &msg, &why)) {
    g_assert(why != NULL);
    return 0;
  }
  if (msg.message_type == ACTR_DCEP_MSG_ACK) {
    guint8 ack[1];
    g_assert(size == 1 && actr_dcep_encode_ack(ack) == 1 && ack[0] == data[0]);
    return 0;
  }
  g_assert(msg.message_type == ACTR_DCEP_MSG_OPEN);
  g_assert(msg.label_len <= ACTR_SCTP_MAX_LABEL);
  g_assert(ACTR_DCEP_OPEN_HEADER + msg.label_len + msg.protocol_len == size);
  g_assert(msg.label == data + ACTR_DCEP_OPEN_HEADER);
  g_assert(msg.protocol == msg.label + msg.label_len);
  g_assert(memchr(msg.label, '\0', msg.label_len) == NULL);

  gsize len = 0;
  guint8 *again = actr_dcep_encode_open(msg.channel_type, msg.priority, msg.reliability,
                                        (const char *)msg.label, msg.label_len,
                                        (const char *)msg.protocol, msg.protocol_len, &len);
  g_assert(again != NULL && len == size && memcmp(again, data, size) == 0);
  g_free(again);

  ActrSctpReliability rel;
  g_assert(actr_dcep_reliability_from_type(msg.channel_type, msg.reliability, &rel));
  guint8 type;
  guint32 param;
  g_assert(actr_dcep_type_from_reliability(&rel, &type, &param));
  g_assert(type == msg.channel_type);
  if (msg.reliability <= (guint32)G_MAXINT && (type & 0x7f) != 0)
    g_assert(param == msg.reliability);
  return 0;
}
