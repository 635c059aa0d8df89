/* Fuzz target: DataChannel fragment reassembly (wire.md §5.4).  The input is
 * a sequence of records [u16 BE length][bytes], each fed as one received
 * DataChannel message to a reassembler with small limits; the bounds must
 * hold after every step. */
#include "dc-fragment.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ActrDcLimits limits;
  actr_dc_limits_init(&limits);
  limits.max_message = 200000;
  limits.max_partial = 4;
  limits.max_buffered = 4096;
  limits.max_age_us = 50;
  ActrDcReassembler *r = actr_dc_reassembler_new(&limits);
  gint64 now = 0;
  while (size >= 2) {
    gsize len = (gsize)data[0] << 8 | data[1];
    data += 2;
    size -= 2;
    len = MIN(len, size);
    const guint8 *payload;
    gsize payload_len;
    GBytes *message = NULL;
    const char *why = NULL;
    ActrDcResult res =
        actr_dc_reassembler_push(r, data, len, now++, &payload, &payload_len, &message, &why);
    if (res == ACTR_DC_COMPLETE) {
      g_assert(message != NULL);
      g_bytes_unref(message);
    } else if (res == ACTR_DC_ERROR) {
      g_assert(why != NULL);
    }
    g_assert(actr_dc_reassembler_buffered_bytes(r) <= limits.max_buffered);
    g_assert(actr_dc_reassembler_partial_count(r) <= limits.max_partial);
    if (now % 16 == 0)
      actr_dc_reassembler_expire(r, now);
    data += len;
    size -= len;
  }
  actr_dc_reassembler_free(r);
  return 0;
}
