/* actr — DataChannel message framing.  See dc-fragment.h. */
#include "dc-fragment.h"

#include <string.h>

guint
actr_dc_fragment_count(gsize len)
{
  if (len == 0)
    return 1;
  gsize n = (len + ACTR_DC_MAX_FRAGMENT_PAYLOAD - 1) / ACTR_DC_MAX_FRAGMENT_PAYLOAD;
  return n > ACTR_DC_MAX_FRAGMENTS ? 0 : (guint)n;
}

static void
write_header(guint8 h[ACTR_DC_HEADER_SIZE], guint32 msg_id, guint16 index, guint16 total)
{
  h[0] = (guint8)(msg_id >> 24);
  h[1] = (guint8)(msg_id >> 16);
  h[2] = (guint8)(msg_id >> 8);
  h[3] = (guint8)msg_id;
  h[4] = (guint8)(index >> 8);
  h[5] = (guint8)index;
  h[6] = (guint8)(total >> 8);
  h[7] = (guint8)total;
}

gboolean
actr_dc_fragment(guint32 msg_id, const guint8 *data, gsize len, ActrDcFragmentFunc func,
                 gpointer user_data)
{
  guint total = actr_dc_fragment_count(len);
  if (total == 0)
    return FALSE;
  for (guint i = 0; i < total; i++) {
    gsize offset = (gsize)i * ACTR_DC_MAX_FRAGMENT_PAYLOAD;
    gsize chunk = MIN(ACTR_DC_MAX_FRAGMENT_PAYLOAD, len - offset);
    guint8 header[ACTR_DC_HEADER_SIZE];
    write_header(header, msg_id, (guint16)i, (guint16)total);
    if (!func(header, len ? data + offset : data, chunk, user_data))
      return FALSE;
  }
  return TRUE;
}

typedef struct {
  guint32 msg_id;
  guint16 total;
  guint16 received;
  gsize bytes;
  gint64 first_us;
  GBytes **chunks; /* [total], NULL until received */
} Partial;

struct _ActrDcReassembler {
  ActrDcLimits limits;
  GHashTable *partials; /* msg_id -> Partial* */
  gsize buffered;
};

void
actr_dc_limits_init(ActrDcLimits *limits)
{
  limits->max_message = 16u << 20;
  limits->max_partial = 64;
  limits->max_buffered = 64u << 20;
  limits->max_age_us = 60 * G_USEC_PER_SEC;
}

static void
partial_free(gpointer data)
{
  Partial *p = data;
  for (guint i = 0; i < p->total; i++)
    g_clear_pointer(&p->chunks[i], g_bytes_unref);
  g_free(p->chunks);
  g_free(p);
}

ActrDcReassembler *
actr_dc_reassembler_new(const ActrDcLimits *limits)
{
  ActrDcReassembler *r = g_new0(ActrDcReassembler, 1);
  if (limits)
    r->limits = *limits;
  else
    actr_dc_limits_init(&r->limits);
  r->partials = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, partial_free);
  return r;
}

void
actr_dc_reassembler_free(ActrDcReassembler *r)
{
  if (r == NULL)
    return;
  g_hash_table_unref(r->partials);
  g_free(r);
}

static void
drop_partial(ActrDcReassembler *r, Partial *p)
{
  r->buffered -= p->bytes;
  g_hash_table_remove(r->partials, GUINT_TO_POINTER(p->msg_id));
}

/* The oldest partial message other than @except_id, or NULL. */
static Partial *
oldest_other(ActrDcReassembler *r, guint32 except_id)
{
  Partial *oldest = NULL;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init(&iter, r->partials);
  while (g_hash_table_iter_next(&iter, NULL, &value)) {
    Partial *p = value;
    if (p->msg_id != except_id && (oldest == NULL || p->first_us < oldest->first_us))
      oldest = p;
  }
  return oldest;
}

static ActrDcResult
fail(const char **why, const char *reason)
{
  if (why)
    *why = reason;
  return ACTR_DC_ERROR;
}

ActrDcResult
actr_dc_reassembler_push(ActrDcReassembler *r, const guint8 *data, gsize len, gint64 now_us,
                         const guint8 **payload, gsize *payload_len, GBytes **message,
                         const char **why)
{
  if (len < ACTR_DC_HEADER_SIZE)
    return fail(why, "message shorter than the 8-byte fragment header");
  if (len > ACTR_DC_MAX_MESSAGE)
    return fail(why, "message longer than 65535 bytes");
  guint32 msg_id =
      (guint32)data[0] << 24 | (guint32)data[1] << 16 | (guint32)data[2] << 8 | (guint32)data[3];
  guint16 index = (guint16)(data[4] << 8 | data[5]);
  guint16 total = (guint16)(data[6] << 8 | data[7]);
  const guint8 *chunk = data + ACTR_DC_HEADER_SIZE;
  gsize chunk_len = len - ACTR_DC_HEADER_SIZE;
  if (total == 0)
    return fail(why, "fragment count is 0");
  if (index >= total)
    return fail(why, "fragment index beyond the fragment count");

  if (total == 1) {
    if (chunk_len > r->limits.max_message)
      return fail(why, "message larger than the limit");
    *payload = chunk;
    *payload_len = chunk_len;
    return ACTR_DC_SINGLE;
  }
  /* Every fragment but the last is full, so the message size is known to
   * within one fragment: refuse what cannot fit before buffering anything. */
  if ((gsize)(total - 1) * ACTR_DC_MAX_FRAGMENT_PAYLOAD >= r->limits.max_message)
    return fail(why, "message larger than the limit");

  Partial *p = g_hash_table_lookup(r->partials, GUINT_TO_POINTER(msg_id));
  if (p && p->total != total) {
    drop_partial(r, p);
    return fail(why, "fragment count differs between fragments of one message");
  }
  if (p && p->chunks[index]) {
    drop_partial(r, p);
    return fail(why, "duplicate fragment");
  }
  if (p && p->bytes + chunk_len > r->limits.max_message) {
    drop_partial(r, p);
    return fail(why, "message larger than the limit");
  }
  if (chunk_len > r->limits.max_buffered) {
    if (p)
      drop_partial(r, p);
    return fail(why, "reassembly buffer full"); /* without evicting anyone */
  }
  /* Bounded memory: make room by dropping the oldest other messages (on a
   * lossy lane they are the likeliest to be incomplete for good). */
  Partial *victim;
  while (r->buffered + chunk_len > r->limits.max_buffered &&
         (victim = oldest_other(r, msg_id)) != NULL)
    drop_partial(r, victim);
  if (r->buffered + chunk_len > r->limits.max_buffered) {
    if (p)
      drop_partial(r, p);
    return fail(why, "reassembly buffer full");
  }
  if (p == NULL) {
    if (g_hash_table_size(r->partials) >= MAX(r->limits.max_partial, 1) &&
        (victim = oldest_other(r, msg_id)) != NULL)
      drop_partial(r, victim);
    p = g_new0(Partial, 1);
    p->msg_id = msg_id;
    p->total = total;
    p->first_us = now_us;
    p->chunks = g_new0(GBytes *, total);
    g_hash_table_insert(r->partials, GUINT_TO_POINTER(msg_id), p);
  }
  p->chunks[index] = g_bytes_new(chunk, chunk_len);
  p->bytes += chunk_len;
  p->received++;
  r->buffered += chunk_len;
  if (p->received < p->total)
    return ACTR_DC_PARTIAL;

  guint8 *whole = g_malloc(p->bytes ? p->bytes : 1);
  gsize at = 0;
  for (guint i = 0; i < p->total; i++) {
    gsize n;
    const guint8 *d = g_bytes_get_data(p->chunks[i], &n);
    if (n)
      memcpy(whole + at, d, n);
    at += n;
  }
  *message = g_bytes_new_take(whole, at);
  drop_partial(r, p);
  return ACTR_DC_COMPLETE;
}

guint
actr_dc_reassembler_expire(ActrDcReassembler *r, gint64 now_us)
{
  guint dropped = 0;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init(&iter, r->partials);
  while (g_hash_table_iter_next(&iter, NULL, &value)) {
    Partial *p = value;
    if (now_us - p->first_us >= r->limits.max_age_us) {
      r->buffered -= p->bytes;
      g_hash_table_iter_remove(&iter);
      dropped++;
    }
  }
  return dropped;
}

guint
actr_dc_reassembler_partial_count(const ActrDcReassembler *r)
{
  return g_hash_table_size(r->partials);
}

gsize
actr_dc_reassembler_buffered_bytes(const ActrDcReassembler *r)
{
  return r->buffered;
}
