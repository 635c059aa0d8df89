/* actr — internals of src/identity shared between its files and with the
 * unit tests; not exported from libactr.
 *
 * Thread-safety: every function is re-entrant and keeps no state.
 */
#ifndef ACTR_IDENTITY_PRIVATE_H
#define ACTR_IDENTITY_PRIVATE_H

#include <glib.h>

G_BEGIN_DECLS

/* RFC 4648 §5 base64url ("-" and "_" instead of "+" and "/") WITHOUT "="
 * padding of @len bytes at @data (NULL allowed when @len is 0).  Returns
 * (transfer full) a NUL-terminated string of ceil(4 * @len / 3) characters;
 * "" for @len 0.  When the input is secret, so is the result: wipe it
 * before freeing. */
char *actr_base64url_encode(const guint8 *data, gsize len);

G_END_DECLS

#endif /* ACTR_IDENTITY_PRIVATE_H */
