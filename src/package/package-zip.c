/* actr — the ZIP container of .actr packages: a strict reader and a
 * deterministic writer.  Written from PKWARE's APPNOTE.TXT (sections 4.3.7
 * local file header, 4.3.12 central directory header, 4.3.16 end of central
 * directory record); see package-zip.h for the subset accepted. */
#include "package-zip.h"

#include <string.h>
#include <gio/gio.h>

#include "package.h"

#define SIG_LOCAL   0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD    0x06054b50u

#define LOCAL_SIZE   30
#define CENTRAL_SIZE 46
#define EOCD_SIZE    22
#define MAX_COMMENT  0xffff

#define FLAG_ENCRYPTED        0x0001u
#define FLAG_STRONG_ENCRYPTED 0x0040u
#define FLAG_UTF8             0x0800u
#define FLAG_MASKED_HEADER    0x2000u

#define METHOD_STORED  0
#define METHOD_DEFLATE 8

/* MS-DOS date of 1980-01-01 (day 1, month 1, year 0), time 00:00:00. */
#define DOS_DATE_1980 ((1u << 5) | 1u)

typedef struct {
  char *name;
  guint16 method;
  guint32 crc;
  guint32 compressed_size;
  guint32 size;
  gsize data_offset;
} ZipEntry;

struct _ActrZip {
  GBytes *data;
  char *origin;
  GPtrArray *entries; /* of ZipEntry, directory order */
  GHashTable *by_name;
};

/* ---- CRC-32 ---------------------------------------------------------------- */

static guint32 crc_table[256];

static gpointer
crc_table_init(gpointer unused)
{
  for (guint32 n = 0; n < 256; n++) {
    guint32 c = n;

    for (int k = 0; k < 8; k++)
      c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[n] = c;
  }
  return NULL;
}

guint32
actr_crc32(guint32 crc, const guint8 *data, gsize len)
{
  static GOnce once = G_ONCE_INIT;

  g_once(&once, crc_table_init, NULL);
  crc = ~crc;
  for (gsize i = 0; i < len; i++)
    crc = crc_table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* ---- Little-endian fields --------------------------------------------------- */

static guint16
get16(const guint8 *p)
{
  return (guint16)(p[0] | (p[1] << 8));
}

static guint32
get32(const guint8 *p)
{
  return (guint32)p[0] | ((guint32)p[1] << 8) | ((guint32)p[2] << 16) | ((guint32)p[3] << 24);
}

static void
put16(GByteArray *out, guint16 v)
{
  guint8 b[2] = {(guint8)v, (guint8)(v >> 8)};

  g_byte_array_append(out, b, 2);
}

static void
put32(GByteArray *out, guint32 v)
{
  guint8 b[4] = {(guint8)v, (guint8)(v >> 8), (guint8)(v >> 16), (guint8)(v >> 24)};

  g_byte_array_append(out, b, 4);
}

/* ---- Names ----------------------------------------------------------------- */

gboolean
actr_zip_name_is_valid(const char *name)
{
  gsize len;
  const char *part;

  if (name == NULL || name[0] == '\0' || name[0] == '/')
    return FALSE;
  len = strlen(name);
  if (len > 0xffff || !g_utf8_validate(name, len, NULL) || strchr(name, '\\') != NULL)
    return FALSE;
  /* Every '/'-separated part is non-empty and not "." or ".."; one trailing
   * '/' marks a directory. */
  part = name;
  while (*part != '\0') {
    const char *slash = strchr(part, '/');
    gsize plen = slash != NULL ? (gsize)(slash - part) : strlen(part);

    if (plen == 0 || (plen == 1 && part[0] == '.') ||
        (plen == 2 && part[0] == '.' && part[1] == '.'))
      return FALSE;
    for (gsize i = 0; i < plen; i++) {
      if ((guchar)part[i] < 0x20 || part[i] == 0x7f)
        return FALSE;
    }
    if (slash == NULL)
      break;
    part = slash + 1;
  }
  return TRUE;
}

/* ---- Reader ---------------------------------------------------------------- */

static void
zip_entry_free(ZipEntry *entry)
{
  g_free(entry->name);
  g_free(entry);
}

void
actr_zip_free(ActrZip *zip)
{
  if (zip == NULL)
    return;
  g_clear_pointer(&zip->by_name, g_hash_table_unref);
  g_clear_pointer(&zip->entries, g_ptr_array_unref);
  g_clear_pointer(&zip->data, g_bytes_unref);
  g_free(zip->origin);
  g_free(zip);
}

static gboolean fail(GError **error, const ActrZip *zip, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
fail(GError **error, const ActrZip *zip, const char *format, ...)
{
  va_list ap;
  g_autofree char *message = NULL;

  va_start(ap, format);
  message = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT, "%s: %s", zip->origin, message);
  return FALSE;
}

/* Finds the end-of-central-directory record: the last signature whose
 * comment length reaches exactly the end of the data. */
static gboolean
find_eocd(const guint8 *p, gsize len, gsize *pos)
{
  gsize lowest;

  if (len < EOCD_SIZE)
    return FALSE;
  lowest = len - EOCD_SIZE > MAX_COMMENT ? len - EOCD_SIZE - MAX_COMMENT : 0;
  for (gsize i = len - EOCD_SIZE + 1; i-- > lowest;) {
    if (get32(p + i) == SIG_EOCD && i + EOCD_SIZE + get16(p + i + 20) == len) {
      *pos = i;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean
parse_central(ActrZip *zip, const guint8 *p, gsize len, gsize cd_offset, gsize cd_end,
              guint n_entries, GError **error)
{
  gsize pos = cd_offset;

  for (guint i = 0; i < n_entries; i++) {
    guint16 flags, method, name_len, extra_len, comment_len, local_name_len, local_extra_len;
    guint32 local_offset;
    g_autofree char *name = NULL;
    ZipEntry *entry;
    gsize data_offset;

    if (cd_end - pos < CENTRAL_SIZE || get32(p + pos) != SIG_CENTRAL)
      return fail(error, zip, "corrupt central directory (entry %u)", i + 1);
    flags = get16(p + pos + 8);
    method = get16(p + pos + 10);
    name_len = get16(p + pos + 28);
    extra_len = get16(p + pos + 30);
    comment_len = get16(p + pos + 32);
    local_offset = get32(p + pos + 42);
    if (cd_end - pos - CENTRAL_SIZE < (gsize)name_len + extra_len + comment_len)
      return fail(error, zip, "corrupt central directory (entry %u)", i + 1);
    name = g_strndup((const char *)p + pos + CENTRAL_SIZE, name_len);
    if (strlen(name) != name_len || !actr_zip_name_is_valid(name)) {
      g_autofree char *shown = g_utf8_make_valid(name, -1);

      return fail(error, zip, "entry %u has an unsafe or invalid name '%s'", i + 1, shown);
    }
    if (g_hash_table_contains(zip->by_name, name))
      return fail(error, zip, "entry '%s' appears twice", name);
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTED | FLAG_MASKED_HEADER))
      return fail(error, zip, "entry '%s' is encrypted (not supported)", name);
    if (method != METHOD_STORED && method != METHOD_DEFLATE)
      return fail(error, zip, "entry '%s' uses compression method %u (only stored and deflate)",
                  name, method);
    if (get32(p + pos + 20) == 0xffffffffu || get32(p + pos + 24) == 0xffffffffu ||
        local_offset == 0xffffffffu)
      return fail(error, zip, "entry '%s' needs ZIP64 (not supported)", name);

    /* The local header must agree on the name and method. */
    if (local_offset > cd_offset || cd_offset - local_offset < LOCAL_SIZE ||
        get32(p + local_offset) != SIG_LOCAL)
      return fail(error, zip, "entry '%s': bad local header offset", name);
    local_name_len = get16(p + local_offset + 26);
    local_extra_len = get16(p + local_offset + 28);
    data_offset = (gsize)local_offset + LOCAL_SIZE + local_name_len + local_extra_len;
    if (data_offset > cd_offset || local_name_len != name_len ||
        memcmp(p + local_offset + LOCAL_SIZE, name, name_len) != 0 ||
        get16(p + local_offset + 8) != method)
      return fail(error, zip, "entry '%s': local header does not match the central directory",
                  name);

    entry = g_new0(ZipEntry, 1);
    entry->method = method;
    entry->crc = get32(p + pos + 16);
    entry->compressed_size = get32(p + pos + 20);
    entry->size = get32(p + pos + 24);
    entry->data_offset = data_offset;
    if (cd_offset - data_offset < entry->compressed_size ||
        (method == METHOD_STORED && entry->compressed_size != entry->size)) {
      zip_entry_free(entry);
      return fail(error, zip, "entry '%s': sizes do not fit the archive", name);
    }
    entry->name = g_steal_pointer(&name);
    g_ptr_array_add(zip->entries, entry);
    g_hash_table_insert(zip->by_name, entry->name, entry);
    pos += CENTRAL_SIZE + (gsize)name_len + extra_len + comment_len;
  }
  if (pos != cd_end)
    return fail(error, zip, "corrupt central directory (size mismatch)");
  return TRUE;
}

ActrZip *
actr_zip_open(GBytes *data, const char *origin, GError **error)
{
  g_autoptr(ActrZip) zip = g_new0(ActrZip, 1);
  gsize len = 0, eocd = 0, cd_offset, cd_size;
  const guint8 *p = g_bytes_get_data(data, &len);
  guint n_entries;

  zip->data = g_bytes_ref(data);
  zip->origin = g_strdup(origin != NULL ? origin : "<archive>");
  zip->entries = g_ptr_array_new_with_free_func((GDestroyNotify)zip_entry_free);
  zip->by_name = g_hash_table_new(g_str_hash, g_str_equal);

  if (len < 4 || get32(p) != SIG_LOCAL || !find_eocd(p, len, &eocd)) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_FORMAT,
                "%s: not an .actr package (not a ZIP archive)", zip->origin);
    return NULL;
  }
  if (get16(p + eocd + 4) != 0 || get16(p + eocd + 6) != 0 ||
      get16(p + eocd + 8) != get16(p + eocd + 10)) {
    fail(error, zip, "multi-volume archives are not supported");
    return NULL;
  }
  n_entries = get16(p + eocd + 10);
  cd_size = get32(p + eocd + 12);
  cd_offset = get32(p + eocd + 16);
  if (n_entries == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
    fail(error, zip, "ZIP64 archives are not supported");
    return NULL;
  }
  if (cd_offset > eocd || eocd - cd_offset < cd_size) {
    fail(error, zip, "corrupt end of central directory");
    return NULL;
  }
  if (!parse_central(zip, p, len, cd_offset, cd_offset + cd_size, n_entries, error))
    return NULL;
  return g_steal_pointer(&zip);
}

guint
actr_zip_get_n_entries(const ActrZip *zip)
{
  return zip->entries->len;
}

const char *
actr_zip_get_name(const ActrZip *zip, guint index)
{
  g_return_val_if_fail(index < zip->entries->len, NULL);
  return ((const ZipEntry *)g_ptr_array_index(zip->entries, index))->name;
}

gboolean
actr_zip_has(const ActrZip *zip, const char *name)
{
  return g_hash_table_contains(zip->by_name, name);
}

/* Doubles @out, up to @max + 1 bytes (one more than allowed, so that excess
 * output is noticed); FALSE when it cannot grow. */
static gboolean
grow(GByteArray *out, gsize max)
{
  gsize size = MIN((gsize)out->len * 2, max + 1);

  if (size <= out->len)
    return FALSE;
  g_byte_array_set_size(out, size);
  return TRUE;
}

/* Inflates raw deflate data into at most @max bytes (the declared size: a
 * stream that produces more is stopped there). */
static GBytes *
inflate_entry(const ActrZip *zip, const ZipEntry *entry, const guint8 *in, gsize max,
              GError **error)
{
  g_autoptr(GConverter) conv = G_CONVERTER(g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_RAW));
  g_autoptr(GByteArray) out = g_byte_array_new();
  gsize in_pos = 0, out_pos = 0;

  /* Grow as output appears: the declared size is not trusted for memory. */
  g_byte_array_set_size(out, MIN((gsize)entry->size, (gsize)65536) + 1);
  for (;;) {
    g_autoptr(GError) local = NULL;
    gsize read = 0, written = 0;
    GConverterResult r;

    if (out_pos == out->len && !grow(out, max))
      break; /* too much output: reported below */
    r = g_converter_convert(conv, in + in_pos, entry->compressed_size - in_pos, out->data + out_pos,
                            out->len - out_pos, G_CONVERTER_INPUT_AT_END, &read, &written, &local);
    if (r == G_CONVERTER_ERROR) {
      if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NO_SPACE) && grow(out, max))
        continue;
      if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
        break;
      fail(error, zip, "entry '%s': corrupt deflate data", entry->name);
      return NULL;
    }
    in_pos += read;
    out_pos += written;
    if (r == G_CONVERTER_FINISHED) {
      if (in_pos != entry->compressed_size) {
        fail(error, zip, "entry '%s': data after the end of the deflate stream", entry->name);
        return NULL;
      }
      break;
    }
    if (read == 0 && written == 0 && out_pos < out->len) {
      fail(error, zip, "entry '%s': truncated deflate data", entry->name);
      return NULL;
    }
  }
  if (out_pos != entry->size) {
    fail(error, zip, "entry '%s' does not inflate to its declared size of %u bytes", entry->name,
         entry->size);
    return NULL;
  }
  g_byte_array_set_size(out, out_pos);
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

gboolean
actr_zip_check_crc(const ActrZip *zip, const char *name, GBytes *contents, GError **error)
{
  const ZipEntry *entry = g_hash_table_lookup(zip->by_name, name);
  gsize len = 0;
  const guint8 *bytes = g_bytes_get_data(contents, &len);

  g_return_val_if_fail(entry != NULL, FALSE);
  if (actr_crc32(0, bytes, len) != entry->crc)
    return fail(error, zip, "entry '%s': CRC-32 mismatch (corrupt archive)", name);
  return TRUE;
}

GBytes *
actr_zip_read(const ActrZip *zip, const char *name, gsize max_size, gboolean check_crc,
              GError **error)
{
  const ZipEntry *entry = g_hash_table_lookup(zip->by_name, name);
  const guint8 *p = g_bytes_get_data(zip->data, NULL);
  g_autoptr(GBytes) contents = NULL;

  if (entry == NULL) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_MISSING, "%s: no entry '%s'",
                zip->origin, name);
    return NULL;
  }
  if (entry->size > max_size) {
    fail(error, zip, "entry '%s' is too large (%u bytes, at most %" G_GSIZE_FORMAT ")", name,
         entry->size, max_size);
    return NULL;
  }
  if (entry->method == METHOD_STORED)
    contents = g_bytes_new_from_bytes(zip->data, entry->data_offset, entry->size);
  else
    contents = inflate_entry(zip, entry, p + entry->data_offset, entry->size, error);
  if (contents == NULL)
    return NULL;
  if (check_crc && !actr_zip_check_crc(zip, name, contents, error))
    return NULL;
  return g_steal_pointer(&contents);
}

/* ---- Writer ---------------------------------------------------------------- */

typedef struct {
  char *name;
  guint32 crc;
  guint32 size;
  guint32 offset;
  guint mode;
} WrittenEntry;

struct _ActrZipWriter {
  GByteArray *out;
  GArray *entries; /* of WrittenEntry */
  gboolean finished;
};

static void
written_entry_clear(WrittenEntry *e)
{
  g_free(e->name);
}

ActrZipWriter *
actr_zip_writer_new(void)
{
  ActrZipWriter *w = g_new0(ActrZipWriter, 1);

  w->out = g_byte_array_new();
  w->entries = g_array_new(FALSE, TRUE, sizeof(WrittenEntry));
  g_array_set_clear_func(w->entries, (GDestroyNotify)written_entry_clear);
  return w;
}

void
actr_zip_writer_free(ActrZipWriter *writer)
{
  if (writer == NULL)
    return;
  if (writer->out != NULL)
    g_byte_array_unref(writer->out);
  g_array_unref(writer->entries);
  g_free(writer);
}

gboolean
actr_zip_writer_add(ActrZipWriter *w, const char *name, GBytes *contents, guint mode)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data(contents, &len);
  gsize name_len = strlen(name);
  WrittenEntry e = {0};

  g_return_val_if_fail(!w->finished, FALSE);
  g_return_val_if_fail(actr_zip_name_is_valid(name), FALSE);
  g_return_val_if_fail(len < 0xffffffffu && w->out->len + len + 1024 < 0xffffffffu, FALSE);
  for (guint i = 0; i < w->entries->len; i++)
    g_return_val_if_fail(strcmp(g_array_index(w->entries, WrittenEntry, i).name, name) != 0, FALSE);

  e.name = g_strdup(name);
  e.crc = actr_crc32(0, data, len);
  e.size = (guint32)len;
  e.offset = w->out->len;
  e.mode = mode & 07777;

  put32(w->out, SIG_LOCAL);
  put16(w->out, 20); /* version needed: 2.0 */
  put16(w->out, FLAG_UTF8);
  put16(w->out, METHOD_STORED);
  put16(w->out, 0); /* time 00:00:00 */
  put16(w->out, DOS_DATE_1980);
  put32(w->out, e.crc);
  put32(w->out, e.size);
  put32(w->out, e.size);
  put16(w->out, (guint16)name_len);
  put16(w->out, 0); /* extra field length */
  g_byte_array_append(w->out, (const guint8 *)name, name_len);
  if (len > 0)
    g_byte_array_append(w->out, data, len);
  g_array_append_val(w->entries, e);
  return TRUE;
}

GBytes *
actr_zip_writer_finish(ActrZipWriter *w)
{
  guint32 cd_offset = w->out->len;

  g_return_val_if_fail(!w->finished, NULL);
  for (guint i = 0; i < w->entries->len; i++) {
    const WrittenEntry *e = &g_array_index(w->entries, WrittenEntry, i);
    gsize name_len = strlen(e->name);

    put32(w->out, SIG_CENTRAL);
    put16(w->out, (3u << 8) | 20); /* made by: Unix, 2.0 */
    put16(w->out, 20);
    put16(w->out, FLAG_UTF8);
    put16(w->out, METHOD_STORED);
    put16(w->out, 0);
    put16(w->out, DOS_DATE_1980);
    put32(w->out, e->crc);
    put32(w->out, e->size);
    put32(w->out, e->size);
    put16(w->out, (guint16)name_len);
    put16(w->out, 0);                                   /* extra */
    put16(w->out, 0);                                   /* comment */
    put16(w->out, 0);                                   /* disk number */
    put16(w->out, 0);                                   /* internal attributes */
    put32(w->out, (guint32)(0100000u | e->mode) << 16); /* regular file + mode */
    put32(w->out, e->offset);
    g_byte_array_append(w->out, (const guint8 *)e->name, name_len);
  }
  put32(w->out, SIG_EOCD);
  put16(w->out, 0);
  put16(w->out, 0);
  put16(w->out, (guint16)w->entries->len);
  put16(w->out, (guint16)w->entries->len);
  put32(w->out, w->out->len - 12 - cd_offset); /* central directory size (before this record) */
  put32(w->out, cd_offset);
  put16(w->out, 0); /* comment length */
  w->finished = TRUE;
  return g_byte_array_free_to_bytes(g_steal_pointer(&w->out));
}
