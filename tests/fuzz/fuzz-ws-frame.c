/* Fuzz target: WebSocket direct-connect frame decoding (wire.md §6). */
#include "ws-frame.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ActrLane lane;
  const guint8 *payload;
  gsize payload_len;
  ActrWsFrameResult res = actr_ws_frame_decode(data, size, 1 << 20, &lane, &payload, &payload_len);
  if (res == ACTR_WS_FRAME_OK) {
    /* Re-encoding what decoded gives the same bytes. */
    g_assert(lane <= ACTR_LANE_STREAM_LATENCY_FIRST);
    g_assert(payload + payload_len == data + size);
    GBytes *again = actr_ws_frame_encode(lane, payload, payload_len);
    g_assert(g_bytes_get_size(again) == size);
    g_assert(memcmp(g_bytes_get_data(again, NULL), data, size) == 0);
    g_bytes_unref(again);
  }
  (void)actr_ws_frame_result_to_string(res);
  return 0;
}
