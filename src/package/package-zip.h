/* actr — the ZIP container of .actr packages (internal to src/package).
 *
 * Reader: a strict subset of PKWARE's APPNOTE: one disk, no ZIP64, no
 * encryption, methods 0 (stored) and 8 (deflate).  Entry names must be
 * relative UTF-8 paths without "." / ".." parts, backslashes or empty parts;
 * duplicate names are rejected (two readers must never see different
 * contents under one name).  The local header of every entry must agree
 * with the central directory, entry data must lie before the central
 * directory, and every entry's CRC-32 and size are checked when it is read.
 *
 * Writer: stored entries with UTF-8 names, a fixed timestamp (1980-01-01
 * 00:00) and Unix mode bits, so the same inputs always give the same bytes.
 *
 * Errors are ACTR_PACKAGE_ERROR_FORMAT ("ORIGIN: not a ZIP archive", "ORIGIN:
 * entry 'x': CRC-32 mismatch", ...), MISSING for an absent entry.
 */
#ifndef ACTR_PACKAGE_ZIP_H
#define ACTR_PACKAGE_ZIP_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ActrZip ActrZip;

/* Parses the directory of the archive in @data (kept referenced).  @origin
 * names it in messages.  (transfer full) */
ActrZip *actr_zip_open(GBytes *data, const char *origin, GError **error);
void actr_zip_free(ActrZip *zip);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrZip, actr_zip_free)

guint actr_zip_get_n_entries(const ActrZip *zip);
/* Name of entry @index in directory order (transfer none). */
const char *actr_zip_get_name(const ActrZip *zip, guint index);
gboolean actr_zip_has(const ActrZip *zip, const char *name);

/* The contents of @name, decompressed, at most @max_size bytes (a larger
 * entry is an error).  With @check_crc the CRC-32 is checked too; callers
 * that check a stronger hash first (to report tampering as such) pass FALSE
 * and call actr_zip_check_crc() afterwards.  (transfer full) */
GBytes *actr_zip_read(const ActrZip *zip, const char *name, gsize max_size, gboolean check_crc,
                      GError **error);

/* FORMAT error unless @contents (read from @name) matches its CRC-32. */
gboolean actr_zip_check_crc(const ActrZip *zip, const char *name, GBytes *contents, GError **error);

/* TRUE when @name is acceptable as an entry name (see above). */
gboolean actr_zip_name_is_valid(const char *name);

/* ---- Writing ---- */

typedef struct _ActrZipWriter ActrZipWriter;

ActrZipWriter *actr_zip_writer_new(void);
void actr_zip_writer_free(ActrZipWriter *writer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrZipWriter, actr_zip_writer_free)

/* Appends a stored entry; @mode is its Unix permission bits (0644).  The
 * name must be valid and new, checked with g_return_val_if_fail. */
gboolean actr_zip_writer_add(ActrZipWriter *writer, const char *name, GBytes *contents, guint mode);

/* Writes the central directory and returns the archive (transfer full);
 * the writer must not be used afterwards except to free it. */
GBytes *actr_zip_writer_finish(ActrZipWriter *writer);

/* CRC-32 (ISO-HDLC, as ZIP and zlib) of @len bytes, continuing @crc (0 to
 * start). */
guint32 actr_crc32(guint32 crc, const guint8 *data, gsize len);

G_END_DECLS

#endif /* ACTR_PACKAGE_ZIP_H */
