/* actr — base64url without padding (RFC 4648 §5).  See identity-private.h. */
#include "identity-private.h"

static const char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
actr_base64url_encode(const guint8 *data, gsize len)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  g_return_val_if_fail(len <= (G_MAXSIZE - 1) / 4 * 3 - 2, NULL);

  gsize out_len = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
  char *out = g_malloc(out_len + 1);
  char *p = out;
  gsize i = 0;

  /* Whole 3-byte groups give 4 characters each. */
  for (; i + 3 <= len; i += 3) {
    guint32 group = (guint32)data[i] << 16 | (guint32)data[i + 1] << 8 | data[i + 2];
    *p++ = base64url_alphabet[(group >> 18) & 0x3f];
    *p++ = base64url_alphabet[(group >> 12) & 0x3f];
    *p++ = base64url_alphabet[(group >> 6) & 0x3f];
    *p++ = base64url_alphabet[group & 0x3f];
  }

  /* A 1- or 2-byte tail gives 2 or 3 characters (the "=" are left out). */
  if (len - i == 1) {
    guint32 group = (guint32)data[i] << 16;
    *p++ = base64url_alphabet[(group >> 18) & 0x3f];
    *p++ = base64url_alphabet[(group >> 12) & 0x3f];
  } else if (len - i == 2) {
    guint32 group = (guint32)data[i] << 16 | (guint32)data[i + 1] << 8;
    *p++ = base64url_alphabet[(group >> 18) & 0x3f];
    *p++ = base64url_alphabet[(group >> 12) & 0x3f];
    *p++ = base64url_alphabet[(group >> 6) & 0x3f];
  }
  *p = '\0';
  g_assert((gsize)(p - out) == out_len);
  return out;
}
