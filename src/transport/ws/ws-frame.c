/* actr — WebSocket direct-connect framing.  See ws-frame.h. */
#include "ws-frame.h"

#include <string.h>

void
actr_ws_frame_write_header(ActrLane lane, guint32 payload_len,
                           guint8 header[ACTR_WS_FRAME_HEADER_SIZE])
{
  header[0] = (guint8)lane;
  header[1] = (guint8)(payload_len >> 24);
  header[2] = (guint8)(payload_len >> 16);
  header[3] = (guint8)(payload_len >> 8);
  header[4] = (guint8)payload_len;
}

GBytes *
actr_ws_frame_encode(ActrLane lane, const guint8 *payload, gsize payload_len)
{
  g_return_val_if_fail(lane <= ACTR_LANE_STREAM_LATENCY_FIRST, NULL);
  g_return_val_if_fail(payload_len <= G_MAXUINT32, NULL);
  guint8 *buf = g_malloc(ACTR_WS_FRAME_HEADER_SIZE + payload_len);
  actr_ws_frame_write_header(lane, (guint32)payload_len, buf);
  if (payload_len)
    memcpy(buf + ACTR_WS_FRAME_HEADER_SIZE, payload, payload_len);
  return g_bytes_new_take(buf, ACTR_WS_FRAME_HEADER_SIZE + payload_len);
}

ActrWsFrameResult
actr_ws_frame_decode(const guint8 *data, gsize len, gsize max_payload, ActrLane *lane,
                     const guint8 **payload, gsize *payload_len)
{
  if (len < ACTR_WS_FRAME_HEADER_SIZE)
    return ACTR_WS_FRAME_TOO_SHORT;
  if (data[0] > ACTR_LANE_STREAM_LATENCY_FIRST)
    return ACTR_WS_FRAME_BAD_TYPE;
  guint32 declared =
      (guint32)data[1] << 24 | (guint32)data[2] << 16 | (guint32)data[3] << 8 | (guint32)data[4];
  if (max_payload && declared > max_payload)
    return ACTR_WS_FRAME_TOO_LARGE;
  gsize available = len - ACTR_WS_FRAME_HEADER_SIZE;
  if (available < declared)
    return ACTR_WS_FRAME_TRUNCATED;
  if (available > declared)
    return ACTR_WS_FRAME_TRAILING;
  *lane = (ActrLane)data[0];
  *payload = data + ACTR_WS_FRAME_HEADER_SIZE;
  *payload_len = declared;
  return ACTR_WS_FRAME_OK;
}

const char *
actr_ws_frame_result_to_string(ActrWsFrameResult result)
{
  switch (result) {
  case ACTR_WS_FRAME_OK:
    return "ok";
  case ACTR_WS_FRAME_TOO_SHORT:
    return "frame shorter than its 5-byte header";
  case ACTR_WS_FRAME_BAD_TYPE:
    return "unknown payload type byte";
  case ACTR_WS_FRAME_TRUNCATED:
    return "frame shorter than its declared length";
  case ACTR_WS_FRAME_TRAILING:
    return "bytes after the declared length";
  case ACTR_WS_FRAME_TOO_LARGE:
    return "declared length above the frame size limit";
  }
  return "unknown result";
}
