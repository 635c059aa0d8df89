/* Unit tests for src/transport/ws/ws-frame.c (wire.md §6 framing). */
#include "ws-frame.h"

static void
test_golden_header(void)
{
  guint8 h[ACTR_WS_FRAME_HEADER_SIZE];
  actr_ws_frame_write_header(ACTR_LANE_STREAM_RELIABLE, 0x01020304, h);
  static const guint8 expect[] = {0x02, 0x01, 0x02, 0x03, 0x04};
  g_assert_cmpmem(h, sizeof h, expect, sizeof expect);
}

static void
test_round_trip(void)
{
  for (ActrLane lane = ACTR_LANE_RPC_RELIABLE; lane <= ACTR_LANE_STREAM_LATENCY_FIRST; lane++) {
    g_autoptr(GBytes) frame = actr_ws_frame_encode(lane, (const guint8 *)"hello", 5);
    gsize len;
    const guint8 *data = g_bytes_get_data(frame, &len);
    g_assert_cmpuint(len, ==, 10);
    ActrLane got;
    const guint8 *payload;
    gsize payload_len;
    g_assert_cmpint(actr_ws_frame_decode(data, len, 0, &got, &payload, &payload_len), ==,
                    ACTR_WS_FRAME_OK);
    g_assert_cmpint(got, ==, lane);
    g_assert_cmpmem(payload, payload_len, "hello", 5);
    g_assert_true(payload == data + 5); /* no copy */
  }
  g_autoptr(GBytes) empty = actr_ws_frame_encode(ACTR_LANE_RPC_SIGNAL, NULL, 0);
  ActrLane lane;
  const guint8 *payload;
  gsize payload_len = 99;
  g_assert_cmpint(
      actr_ws_frame_decode(g_bytes_get_data(empty, NULL), 5, 0, &lane, &payload, &payload_len), ==,
      ACTR_WS_FRAME_OK);
  g_assert_cmpuint(payload_len, ==, 0);
}

static void
test_rejects(void)
{
  ActrLane lane;
  const guint8 *payload;
  gsize n;
  static const guint8 short_frame[] = {0, 0, 0, 0};
  g_assert_cmpint(actr_ws_frame_decode(short_frame, 4, 0, &lane, &payload, &n), ==,
                  ACTR_WS_FRAME_TOO_SHORT);
  static const guint8 media[] = {4, 0, 0, 0, 0};
  g_assert_cmpint(actr_ws_frame_decode(media, 5, 0, &lane, &payload, &n), ==,
                  ACTR_WS_FRAME_BAD_TYPE);
  static const guint8 bad_type[] = {0xff, 0, 0, 0, 0};
  g_assert_cmpint(actr_ws_frame_decode(bad_type, 5, 0, &lane, &payload, &n), ==,
                  ACTR_WS_FRAME_BAD_TYPE);
  static const guint8 truncated[] = {0, 0, 0, 0, 3, 'a', 'b'};
  g_assert_cmpint(actr_ws_frame_decode(truncated, sizeof truncated, 0, &lane, &payload, &n), ==,
                  ACTR_WS_FRAME_TRUNCATED);
  static const guint8 trailing[] = {0, 0, 0, 0, 1, 'a', 'b'};
  g_assert_cmpint(actr_ws_frame_decode(trailing, sizeof trailing, 0, &lane, &payload, &n), ==,
                  ACTR_WS_FRAME_TRAILING);
  static const guint8 huge[] = {0, 0xff, 0xff, 0xff, 0xff};
  g_assert_cmpint(actr_ws_frame_decode(huge, sizeof huge, 1 << 20, &lane, &payload, &n), ==,
                  ACTR_WS_FRAME_TOO_LARGE);
  g_assert_cmpint(actr_ws_frame_decode(huge, sizeof huge, 0, &lane, &payload, &n), ==,
                  ACTR_WS_FRAME_TRUNCATED);
  for (int r = ACTR_WS_FRAME_OK; r <= ACTR_WS_FRAME_TOO_LARGE; r++)
    g_assert_cmpstr(actr_ws_frame_result_to_string(r), !=, "unknown result");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ws-frame/golden-header", test_golden_header);
  g_test_add_func("/ws-frame/round-trip", test_round_trip);
  g_test_add_func("/ws-frame/rejects", test_rejects);
  return g_test_run();
}
