/* actr — helpers shared by the files of src/package (internal). */
#ifndef ACTR_PACKAGE_PRIVATE_H
#define ACTR_PACKAGE_PRIVATE_H

#include <glib.h>

G_BEGIN_DECLS

/* Parses 64 hex digits (either case) into @out; FALSE otherwise. */
gboolean actr_package_hash_from_hex(const char *hex, guint8 out[32]);

/* SHA-256 of @bytes. */
void actr_package_sha256(GBytes *bytes, guint8 out[32]);

/* Appends @text as a TOML basic string, quotes included. */
void actr_package_toml_quote(GString *out, const char *text);

/* Reads a whole file (or pipe) of at most @max bytes (transfer full), or NULL
 * with ACTR_PACKAGE_ERROR_IO naming the file. */
GBytes *actr_package_read_file(const char *path, gsize max, GError **error);

G_END_DECLS

#endif /* ACTR_PACKAGE_PRIVATE_H */
