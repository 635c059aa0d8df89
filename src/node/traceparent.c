/* actr — W3C traceparent values.  Contract: traceparent.h. */
#include "traceparent.h"

#include <openssl/rand.h>
#include <string.h>

/* Offsets in "vv-<trace-id>-<parent-id>-ff". */
#define VERSION_AT 0
#define TRACE_AT   3
#define PARENT_AT  36
#define FLAGS_AT   53

/* The value of a lowercase hex digit, or -1 (also for NUL). */
static int
hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Decodes @n bytes from 2n lowercase hex digits at @s into @out.  Stops at
 * the first non-digit (a NUL included), so it never reads past the end of
 * the string. */
static gboolean
parse_hex(const char *s, guint8 *out, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    int hi = hex_value(s[2 * i]);
    if (hi < 0)
      return FALSE;
    int lo = hex_value(s[2 * i + 1]);
    if (lo < 0)
      return FALSE;
    out[i] = (guint8)(hi << 4 | lo);
  }
  return TRUE;
}

static gboolean
all_zero(const guint8 *p, gsize n)
{
  guint8 acc = 0;
  for (gsize i = 0; i < n; i++)
    acc |= p[i];
  return acc == 0;
}

gboolean
actr_trace_context_parse(const char *traceparent, ActrTraceContext *out)
{
  g_return_val_if_fail(out != NULL, FALSE);
  if (traceparent == NULL)
    return FALSE;

  /* Every check reads s[k] only after s[0 .. k-1] were found to be
   * non-NUL, so a short string is never over-read. */
  const char *s = traceparent;
  ActrTraceContext ctx;
  guint8 version;
  if (!parse_hex(s + VERSION_AT, &version, 1) || version == 0xff || s[2] != '-')
    return FALSE;
  if (!parse_hex(s + TRACE_AT, ctx.trace_id, sizeof ctx.trace_id) || s[PARENT_AT - 1] != '-')
    return FALSE;
  if (!parse_hex(s + PARENT_AT, ctx.parent_id, sizeof ctx.parent_id) || s[FLAGS_AT - 1] != '-')
    return FALSE;
  if (!parse_hex(s + FLAGS_AT, &ctx.flags, 1))
    return FALSE;

  char next = s[ACTR_TRACEPARENT_LEN];
  if (next != '\0' && (version == 0 || next != '-'))
    return FALSE;
  if (all_zero(ctx.trace_id, sizeof ctx.trace_id) || all_zero(ctx.parent_id, sizeof ctx.parent_id))
    return FALSE;

  *out = ctx;
  return TRUE;
}

/* Fills @buf with random bytes that are not all zero. */
static void
random_id(guint8 *buf, gsize n)
{
  do {
    if (RAND_bytes(buf, (int)n) != 1) {
      /* OpenSSL's generator failed (it practically never does); ids need
       * to be unique, not secret, so GLib's generator will do. */
      for (gsize i = 0; i < n; i++)
        buf[i] = (guint8)g_random_int_range(0, 256);
    }
  } while (all_zero(buf, n));
}

void
actr_trace_context_new_root(ActrTraceContext *out)
{
  g_return_if_fail(out != NULL);

  random_id(out->trace_id, sizeof out->trace_id);
  random_id(out->parent_id, sizeof out->parent_id);
  out->flags = ACTR_TRACE_FLAG_SAMPLED;
}

void
actr_trace_context_child(const ActrTraceContext *parent, ActrTraceContext *out)
{
  g_return_if_fail(parent != NULL);
  g_return_if_fail(out != NULL);

  ActrTraceContext child = *parent;
  do
    random_id(child.parent_id, sizeof child.parent_id);
  while (memcmp(child.parent_id, parent->parent_id, sizeof child.parent_id) == 0);
  *out = child;
}

static char *
put_hex(char *p, const guint8 *bytes, gsize n)
{
  static const char digits[] = "0123456789abcdef";
  for (gsize i = 0; i < n; i++) {
    *p++ = digits[bytes[i] >> 4];
    *p++ = digits[bytes[i] & 0x0f];
  }
  return p;
}

void
actr_trace_context_format(const ActrTraceContext *ctx, char buf[ACTR_TRACEPARENT_LEN + 1])
{
  g_return_if_fail(ctx != NULL);
  g_return_if_fail(buf != NULL);

  char *p = buf;
  *p++ = '0';
  *p++ = '0';
  *p++ = '-';
  p = put_hex(p, ctx->trace_id, sizeof ctx->trace_id);
  *p++ = '-';
  p = put_hex(p, ctx->parent_id, sizeof ctx->parent_id);
  *p++ = '-';
  p = put_hex(p, &ctx->flags, 1);
  *p = '\0';
  g_assert(p - buf == ACTR_TRACEPARENT_LEN);
}
