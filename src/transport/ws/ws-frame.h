/* actr — WebSocket direct-connect framing (wire.md §6).
 *
 * Each binary WebSocket message carries exactly one logical message:
 *   [1 byte PayloadType 0..3] [u32 big-endian length] [length bytes]
 * Types 0/1 (RPC_RELIABLE, RPC_SIGNAL) carry an RpcEnvelope, 2/3
 * (STREAM_RELIABLE, STREAM_LATENCY_FIRST) a DataStream; 4 (MEDIA_RTP) and
 * anything else is rejected.  WebSocket keeps message boundaries, so there is
 * no fragmentation layer here.
 *
 * Pure functions: thread-safe, no allocation on decode (the payload points
 * into the input). */
#ifndef ACTR_WS_FRAME_H
#define ACTR_WS_FRAME_H

#include <glib.h>
#include <actr/error.h>

#define ACTR_WS_FRAME_HEADER_SIZE 5

typedef enum {
  ACTR_LANE_RPC_RELIABLE = 0,
  ACTR_LANE_RPC_SIGNAL = 1,
  ACTR_LANE_STREAM_RELIABLE = 2,
  ACTR_LANE_STREAM_LATENCY_FIRST = 3,
  ACTR_LANE_MEDIA_RTP = 4, /* never on a WebSocket */
} ActrLane;

typedef enum {
  ACTR_WS_FRAME_OK = 0,
  ACTR_WS_FRAME_TOO_SHORT, /* fewer than 5 bytes */
  ACTR_WS_FRAME_BAD_TYPE,  /* type byte is not 0..3 */
  ACTR_WS_FRAME_TRUNCATED, /* fewer payload bytes than the length says */
  ACTR_WS_FRAME_TRAILING,  /* more bytes than the length says */
  ACTR_WS_FRAME_TOO_LARGE, /* length above the receiver's limit */
} ActrWsFrameResult;

/* Writes the 5-byte header for a @payload_len-byte payload on @lane into
 * @header.  The payload follows unchanged (no copy needed when the sender
 * can write header and payload as one message). */
void actr_ws_frame_write_header(ActrLane lane, guint32 payload_len,
                                guint8 header[ACTR_WS_FRAME_HEADER_SIZE]);

/* Header + payload in one buffer (transfer full). */
GBytes *actr_ws_frame_encode(ActrLane lane, const guint8 *payload, gsize payload_len);

/* Parses one received WebSocket message.  On ACTR_WS_FRAME_OK, @lane, @payload
 * (pointing into @data) and @payload_len are set.  @max_payload bounds the
 * accepted length (0 = no bound beyond u32). */
ActrWsFrameResult actr_ws_frame_decode(const guint8 *data, gsize len, gsize max_payload,
                                       ActrLane *lane, const guint8 **payload, gsize *payload_len);

/* A short description of @result for a log line (transfer none). */
const char *actr_ws_frame_result_to_string(ActrWsFrameResult result);

#endif /* ACTR_WS_FRAME_H */
