/* Unit tests for src/transport/dc/dc-fragment.c (wire.md §5.4 framing). */
#include "dc-fragment.h"

#include <string.h>

static void
test_fragment_count(void)
{
  g_assert_cmpuint(actr_dc_fragment_count(0), ==, 1);
  g_assert_cmpuint(actr_dc_fragment_count(1), ==, 1);
  g_assert_cmpuint(actr_dc_fragment_count(65527), ==, 1);
  g_assert_cmpuint(actr_dc_fragment_count(65528), ==, 2);
  g_assert_cmpuint(actr_dc_fragment_count((gsize)65527 * 65535), ==, 65535);
  g_assert_cmpuint(actr_dc_fragment_count((gsize)65527 * 65535 + 1), ==, 0);
}

typedef struct {
  GPtrArray *messages; /* GBytes: header + chunk, as sent on the channel */
} Collect;

static gboolean
collect(const guint8 header[ACTR_DC_HEADER_SIZE], const guint8 *chunk, gsize chunk_len,
        gpointer data)
{
  Collect *c = data;
  guint8 *buf = g_malloc(ACTR_DC_HEADER_SIZE + chunk_len + 1);
  memcpy(buf, header, ACTR_DC_HEADER_SIZE);
  if (chunk_len)
    memcpy(buf + ACTR_DC_HEADER_SIZE, chunk, chunk_len);
  g_ptr_array_add(c->messages, g_bytes_new_take(buf, ACTR_DC_HEADER_SIZE + chunk_len));
  return TRUE;
}

static GPtrArray *
cut(guint32 msg_id, const guint8 *data, gsize len)
{
  Collect c = {g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref)};
  g_assert_true(actr_dc_fragment(msg_id, data, len, collect, &c));
  return c.messages;
}

static void
test_golden_header(void)
{
  g_autoptr(GPtrArray) frags = cut(0x01020304, (const guint8 *)"xy", 2);
  g_assert_cmpuint(frags->len, ==, 1);
  static const guint8 expect[] = {0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x01, 'x', 'y'};
  g_assert_cmpmem(g_bytes_get_data(frags->pdata[0], NULL), g_bytes_get_size(frags->pdata[0]),
                  expect, sizeof expect);
}

/* Feeds @frags (in @order) and returns the reassembled message. */
static GBytes *
reassemble(ActrDcReassembler *r, GPtrArray *frags, gboolean reverse)
{
  GBytes *whole = NULL;
  for (guint k = 0; k < frags->len; k++) {
    GBytes *f = frags->pdata[reverse ? frags->len - 1 - k : k];
    gsize len;
    const guint8 *data = g_bytes_get_data(f, &len);
    const guint8 *payload = NULL;
    gsize payload_len = 0;
    GBytes *message = NULL;
    const char *why = NULL;
    ActrDcResult res =
        actr_dc_reassembler_push(r, data, len, 0, &payload, &payload_len, &message, &why);
    if (frags->len == 1) {
      g_assert_cmpint(res, ==, ACTR_DC_SINGLE);
      g_assert_true(payload == data + ACTR_DC_HEADER_SIZE); /* no copy */
      whole = g_bytes_new(payload, payload_len);
    } else if (k + 1 < frags->len) {
      g_assert_cmpint(res, ==, ACTR_DC_PARTIAL);
    } else {
      g_assert_cmpint(res, ==, ACTR_DC_COMPLETE);
      whole = message;
    }
  }
  return whole;
}

static void
test_round_trips(void)
{
  const gsize sizes[] = {0, 1, 100, 65527, 65528, 131054, 131055, 300001};
  g_autoptr(ActrDcReassembler) r = actr_dc_reassembler_new(NULL);
  for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
    guint8 *data = g_malloc(sizes[i] + 1);
    for (gsize j = 0; j < sizes[i]; j++)
      data[j] = (guint8)(j * 131 + i);
    for (int reverse = 0; reverse <= 1; reverse++) {
      g_autoptr(GPtrArray) frags = cut(i * 2 + (guint)reverse, data, sizes[i]);
      g_assert_cmpuint(frags->len, ==, actr_dc_fragment_count(sizes[i]));
      for (guint k = 0; k + 1 < frags->len; k++)
        g_assert_cmpuint(g_bytes_get_size(frags->pdata[k]), ==, ACTR_DC_MAX_MESSAGE);
      g_autoptr(GBytes) whole = reassemble(r, frags, reverse);
      g_assert_cmpmem(g_bytes_get_data(whole, NULL), g_bytes_get_size(whole), data, sizes[i]);
    }
    g_free(data);
  }
  g_assert_cmpuint(actr_dc_reassembler_partial_count(r), ==, 0);
  g_assert_cmpuint(actr_dc_reassembler_buffered_bytes(r), ==, 0);
}

static ActrDcResult
push_raw(ActrDcReassembler *r, guint32 id, guint16 index, guint16 total, gsize payload, gint64 now,
         const char **why)
{
  guint8 *buf = g_malloc0(ACTR_DC_HEADER_SIZE + payload);
  buf[0] = (guint8)(id >> 24);
  buf[1] = (guint8)(id >> 16);
  buf[2] = (guint8)(id >> 8);
  buf[3] = (guint8)id;
  buf[4] = (guint8)(index >> 8);
  buf[5] = (guint8)index;
  buf[6] = (guint8)(total >> 8);
  buf[7] = (guint8)total;
  const guint8 *p;
  gsize n;
  GBytes *message = NULL;
  ActrDcResult res =
      actr_dc_reassembler_push(r, buf, ACTR_DC_HEADER_SIZE + payload, now, &p, &n, &message, why);
  g_clear_pointer(&message, g_bytes_unref);
  g_free(buf);
  return res;
}

static void
test_rejects(void)
{
  g_autoptr(ActrDcReassembler) r = actr_dc_reassembler_new(NULL);
  const char *why = NULL;
  const guint8 *p;
  gsize n;
  GBytes *m = NULL;
  g_assert_cmpint(actr_dc_reassembler_push(r, (const guint8 *)"1234567", 7, 0, &p, &n, &m, &why),
                  ==, ACTR_DC_ERROR);
  g_assert_nonnull(strstr(why, "shorter"));
  g_assert_cmpint(push_raw(r, 1, 0, 0, 4, 0, &why), ==, ACTR_DC_ERROR);
  g_assert_nonnull(strstr(why, "count is 0"));
  g_assert_cmpint(push_raw(r, 1, 3, 3, 4, 0, &why), ==, ACTR_DC_ERROR);
  g_assert_nonnull(strstr(why, "index"));
  /* Inconsistent counts and duplicates drop the partial message. */
  g_assert_cmpint(push_raw(r, 2, 0, 3, 10, 0, &why), ==, ACTR_DC_PARTIAL);
  g_assert_cmpint(push_raw(r, 2, 1, 4, 10, 0, &why), ==, ACTR_DC_ERROR);
  g_assert_nonnull(strstr(why, "differs"));
  g_assert_cmpuint(actr_dc_reassembler_partial_count(r), ==, 0);
  g_assert_cmpint(push_raw(r, 3, 0, 3, 10, 0, &why), ==, ACTR_DC_PARTIAL);
  g_assert_cmpint(push_raw(r, 3, 0, 3, 10, 0, &why), ==, ACTR_DC_ERROR);
  g_assert_nonnull(strstr(why, "duplicate"));
  g_assert_cmpuint(actr_dc_reassembler_buffered_bytes(r), ==, 0);
  /* A declared size beyond the limit is refused before anything is kept. */
  g_assert_cmpint(push_raw(r, 4, 0, 65535, 10, 0, &why), ==, ACTR_DC_ERROR);
  g_assert_nonnull(strstr(why, "larger"));
  g_assert_cmpuint(actr_dc_reassembler_partial_count(r), ==, 0);
}

static void
test_bounds(void)
{
  ActrDcLimits limits;
  actr_dc_limits_init(&limits);
  limits.max_partial = 2;
  limits.max_buffered = 300;
  limits.max_age_us = 1000;
  g_autoptr(ActrDcReassembler) r = actr_dc_reassembler_new(&limits);
  const char *why = NULL;
  /* Count bound: a third partial message evicts the oldest. */
  g_assert_cmpint(push_raw(r, 10, 0, 2, 100, 1, &why), ==, ACTR_DC_PARTIAL);
  g_assert_cmpint(push_raw(r, 11, 0, 2, 100, 2, &why), ==, ACTR_DC_PARTIAL);
  g_assert_cmpint(push_raw(r, 12, 0, 2, 50, 3, &why), ==, ACTR_DC_PARTIAL);
  g_assert_cmpuint(actr_dc_reassembler_partial_count(r), ==, 2);
  g_assert_cmpint(push_raw(r, 10, 1, 2, 1, 4, &why), ==, ACTR_DC_PARTIAL); /* 10 was evicted */
  g_assert_cmpuint(actr_dc_reassembler_partial_count(r), ==, 2);
  /* Byte bound: never more than max_buffered held. */
  g_assert_cmpint(push_raw(r, 13, 0, 2, 250, 5, &why), ==, ACTR_DC_PARTIAL);
  g_assert_cmpuint(actr_dc_reassembler_buffered_bytes(r), <=, 300);
  g_assert_cmpint(push_raw(r, 14, 0, 2, 301, 6, &why), ==, ACTR_DC_ERROR);
  g_assert_nonnull(strstr(why, "buffer full"));
  /* A fragment that can never fit evicts nobody. */
  g_assert_cmpuint(actr_dc_reassembler_partial_count(r), ==, 2);
  g_assert_cmpuint(actr_dc_reassembler_buffered_bytes(r), <=, 300);
  /* Age bound. */
  g_assert_cmpuint(actr_dc_reassembler_expire(r, 5 + 1000), ==, 2);
  g_assert_cmpuint(actr_dc_reassembler_partial_count(r), ==, 0);
  g_assert_cmpuint(actr_dc_reassembler_buffered_bytes(r), ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dc-fragment/count", test_fragment_count);
  g_test_add_func("/dc-fragment/golden-header", test_golden_header);
  g_test_add_func("/dc-fragment/round-trips", test_round_trips);
  g_test_add_func("/dc-fragment/rejects", test_rejects);
  g_test_add_func("/dc-fragment/bounds", test_bounds);
  return g_test_run();
}
