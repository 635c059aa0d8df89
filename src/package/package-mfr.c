/* actr — manufacturer keys: the key file, public keys (base64 or JSON), and
 * the client of the key server's GET /mfr/{manufacturer}/verifying_key
 * (wire.md §3.1).  See package.h and docs/packages.md. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <openssl/crypto.h>

#include "package-private.h"
#include "package.h"
#include "toml.h"

#define KEY_ALGORITHM   "ed25519"
#define KEY_ID_MAX      64
#define JSON_MAX_DEPTH  32
#define FETCH_MAX_BODY  (64 * 1024)
#define FETCH_TIMEOUT_S 30

static gboolean key_fail(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
key_fail(GError **error, const char *format, ...)
{
  va_list ap;
  g_autofree char *message = NULL;

  va_start(ap, format);
  message = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_set_error_literal(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY, message);
  return FALSE;
}

/* Key ids: 1-64 of [A-Za-z0-9._:-], so that they are safe in a manifest, a
 * URL query and a command line alike. */
static gboolean
key_id_is_valid(const char *id)
{
  gsize len = id != NULL ? strlen(id) : 0;

  if (len == 0 || len > KEY_ID_MAX)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isalnum(id[i]) && strchr("._:-", id[i]) == NULL)
      return FALSE;
  }
  return TRUE;
}

/* Standard base64 of exactly 32 bytes, strict (44 characters, one '='). */
static gboolean
decode_key32(const char *text, guint8 out[32])
{
  gsize len = 0;
  g_autofree guint8 *raw = NULL;

  if (text == NULL || strlen(text) != 44 || text[43] != '=')
    return FALSE;
  for (int i = 0; i < 43; i++) {
    if (!g_ascii_isalnum(text[i]) && text[i] != '+' && text[i] != '/')
      return FALSE;
  }
  raw = g_base64_decode(text, &len);
  if (len != 32) {
    if (raw != NULL)
      OPENSSL_cleanse(raw, len);
    return FALSE;
  }
  memcpy(out, raw, 32);
  OPENSSL_cleanse(raw, 32);
  return TRUE;
}

/* ---- The key ------------------------------------------------------------------ */

void
actr_mfr_key_free(ActrMfrKey *key)
{
  if (key == NULL)
    return;
  actr_signing_key_free(key->key);
  g_free(key->key_id);
  g_free(key->manufacturer);
  g_free(key);
}

static char *
derived_key_id(const ActrSigningKey *key)
{
  guint8 pub[32], hash[32];
  char hex[65];
  g_autoptr(GBytes) bytes = NULL;

  actr_signing_key_get_public(key, pub);
  bytes = g_bytes_new(pub, sizeof pub);
  actr_package_sha256(bytes, hash);
  actr_package_hash_to_hex(hash, hex);
  return g_strndup(hex, 16);
}

ActrMfrKey *
actr_mfr_key_generate(const char *manufacturer, const char *key_id, GError **error)
{
  g_autoptr(ActrMfrKey) key = g_new0(ActrMfrKey, 1);
  g_autoptr(GError) local = NULL;

  if (manufacturer != NULL && !actr_name_validate(manufacturer, &local)) {
    key_fail(error, "invalid manufacturer name: %s", local->message);
    return NULL;
  }
  if (key_id != NULL && !key_id_is_valid(key_id)) {
    key_fail(error, "invalid key id '%s' (1-64 letters, digits, '.', '_', ':' or '-')", key_id);
    return NULL;
  }
  key->key = actr_signing_key_generate(error);
  if (key->key == NULL)
    return NULL;
  key->key_id = key_id != NULL ? g_strdup(key_id) : derived_key_id(key->key);
  key->manufacturer = g_strdup(manufacturer);
  return g_steal_pointer(&key);
}

char *
actr_mfr_key_to_toml(const ActrMfrKey *key)
{
  GString *out = g_string_new(NULL);
  guint8 seed[32], pub[32];
  g_autofree char *seed_b64 = NULL, *pub_b64 = NULL;

  actr_signing_key_get_seed(key->key, seed);
  actr_signing_key_get_public(key->key, pub);
  seed_b64 = g_base64_encode(seed, sizeof seed);
  pub_b64 = g_base64_encode(pub, sizeof pub);
  OPENSSL_cleanse(seed, sizeof seed);
  g_string_append(out, "# actr manufacturer signing key (written by 'actr keygen').\n"
                       "# SECRET: whoever has this file can sign packages as this manufacturer.\n"
                       "# Share only public_key (e.g. 'actrd mfr add').\n");
  g_string_append(out, "algorithm = \"" KEY_ALGORITHM "\"\nkey_id = ");
  actr_package_toml_quote(out, key->key_id);
  g_string_append_c(out, '\n');
  if (key->manufacturer != NULL) {
    g_string_append(out, "manufacturer = ");
    actr_package_toml_quote(out, key->manufacturer);
    g_string_append_c(out, '\n');
  }
  g_string_append_printf(out, "public_key = \"%s\"\nprivate_key = \"%s\"\n", pub_b64, seed_b64);
  OPENSSL_cleanse(seed_b64, strlen(seed_b64));
  return g_string_free(out, FALSE);
}

/* A string member of the key file (ACTR_PACKAGE_ERROR_KEY when mistyped). */
static gboolean
key_string(const ActrTomlValue *root, const char *origin, const char *key, gboolean required,
           const char **out, GError **error)
{
  const ActrTomlValue *v = actr_toml_table_lookup(root, key);

  *out = NULL;
  if (v == NULL) {
    if (required)
      return key_fail(error, "%s: missing key '%s'", origin, key);
    return TRUE;
  }
  if (actr_toml_value_type(v) != ACTR_TOML_STRING)
    return key_fail(error, "%s:%u: '%s' must be a string", origin, actr_toml_value_line(v), key);
  *out = actr_toml_value_string(v);
  return TRUE;
}

ActrMfrKey *
actr_mfr_key_parse(const char *data, gsize len, const char *origin, GError **error)
{
  g_autoptr(ActrTomlValue) root = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(ActrMfrKey) key = g_new0(ActrMfrKey, 1);
  const char *algorithm, *key_id, *manufacturer, *public_b64, *private_b64;
  guint8 seed[32], pub[32], derived[32];

  origin = origin != NULL ? origin : "<key>";
  root = actr_toml_parse(data, len, origin, &local);
  if (root == NULL) {
    key_fail(error, "%s (not an actr manufacturer key file)", local->message);
    return NULL;
  }
  if (!key_string(root, origin, "algorithm", FALSE, &algorithm, error) ||
      !key_string(root, origin, "key_id", TRUE, &key_id, error) ||
      !key_string(root, origin, "manufacturer", FALSE, &manufacturer, error) ||
      !key_string(root, origin, "public_key", FALSE, &public_b64, error) ||
      !key_string(root, origin, "private_key", TRUE, &private_b64, error))
    return NULL;
  if (algorithm != NULL && g_ascii_strcasecmp(algorithm, KEY_ALGORITHM) != 0) {
    key_fail(error, "%s: unsupported algorithm '%s' (only ed25519)", origin, algorithm);
    return NULL;
  }
  if (!key_id_is_valid(key_id)) {
    key_fail(error, "%s: invalid key_id (1-64 letters, digits, '.', '_', ':' or '-')", origin);
    return NULL;
  }
  if (manufacturer != NULL && !actr_name_is_valid(manufacturer)) {
    key_fail(error, "%s: invalid manufacturer name", origin);
    return NULL;
  }
  if (!decode_key32(private_b64, seed)) {
    key_fail(error, "%s: private_key must be base64 of 32 bytes", origin);
    return NULL;
  }
  key->key = actr_signing_key_new_from_seed(seed, error);
  OPENSSL_cleanse(seed, sizeof seed);
  if (key->key == NULL)
    return NULL;
  if (public_b64 != NULL) {
    if (!decode_key32(public_b64, pub)) {
      key_fail(error, "%s: public_key must be base64 of 32 bytes", origin);
      return NULL;
    }
    actr_signing_key_get_public(key->key, derived);
    if (memcmp(pub, derived, 32) != 0) {
      key_fail(error, "%s: public_key does not belong to private_key", origin);
      return NULL;
    }
  }
  key->key_id = g_strdup(key_id);
  key->manufacturer = g_strdup(manufacturer);
  return g_steal_pointer(&key);
}

gboolean
actr_mfr_key_save(const ActrMfrKey *key, const char *path, GError **error)
{
  g_autofree char *text = actr_mfr_key_to_toml(key);
  gsize len = strlen(text), done = 0;
  int fd = g_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  gboolean ok = TRUE;
  int errsv = 0;

  if (fd < 0) {
    errsv = errno;
    OPENSSL_cleanse(text, len);
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO, "%s: %s", path,
                errsv == EEXIST ? "file exists (a key is never overwritten)" : g_strerror(errsv));
    return FALSE;
  }
  while (done < len && ok) {
    gssize n = write(fd, text + done, len - done);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      errsv = n < 0 ? errno : ENOSPC;
      ok = FALSE;
    } else {
      done += (gsize)n;
    }
  }
  OPENSSL_cleanse(text, len);
  if (ok && fsync(fd) != 0) {
    errsv = errno;
    ok = FALSE;
  }
  if (close(fd) != 0 && ok) {
    errsv = errno;
    ok = FALSE;
  }
  if (!ok) {
    g_unlink(path);
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_IO, "%s: %s", path,
                g_strerror(errsv));
  }
  return ok;
}

ActrMfrKey *
actr_mfr_key_load(const char *path, GError **error)
{
  g_autoptr(GBytes) data = actr_package_read_file(path, ACTR_PACKAGE_MAX_TEXT_SIZE, error);
  ActrMfrKey *key;
  gsize len = 0;
  const char *text;

  if (data == NULL)
    return NULL;
  text = g_bytes_get_data(data, &len);
  key = actr_mfr_key_parse(text, len, path, error);
  OPENSSL_cleanse((void *)text, len);
  return key;
}

char *
actr_mfr_key_public_json(const ActrMfrKey *key)
{
  guint8 pub[32];
  g_autofree char *b64 = NULL;

  actr_signing_key_get_public(key->key, pub);
  b64 = g_base64_encode(pub, sizeof pub);
  /* key_id is restricted to characters that need no JSON escaping. */
  return g_strdup_printf("{\"public_key\":\"%s\",\"key_id\":\"%s\"}\n", b64, key->key_id);
}

/* ---- A small strict JSON reader (RFC 8259) ------------------------------------------
 *
 * Enough for the flat objects of key files and the /mfr answer: it checks
 * the whole document and returns the top-level members whose values are
 * strings (unescaped) or numbers (their text).  Nested values are checked
 * and skipped; duplicate top-level keys are an error. */

typedef struct {
  const char *p;
  const char *end;
  guint depth;
} JsonReader;

static void
json_ws(JsonReader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static int
json_hex4(const char *p)
{
  int v = 0;

  for (int i = 0; i < 4; i++) {
    int d = g_ascii_xdigit_value(p[i]);

    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Parses a string at r->p (the opening quote); appends it to @out when not
 * NULL. */
static gboolean
json_string(JsonReader *r, GString *out)
{
  r->p++;
  while (r->p < r->end) {
    guchar c = (guchar)*r->p;

    if (c == '"') {
      r->p++;
      return TRUE;
    }
    if (c < 0x20)
      return FALSE;
    if (c != '\\') {
      if (out != NULL)
        g_string_append_c(out, (char)c);
      r->p++;
      continue;
    }
    if (r->end - r->p < 2)
      return FALSE;
    r->p++;
    switch (*r->p) {
    case '"':
    case '\\':
    case '/':
      c = (guchar)*r->p;
      break;
    case 'b':
      c = '\b';
      break;
    case 'f':
      c = '\f';
      break;
    case 'n':
      c = '\n';
      break;
    case 'r':
      c = '\r';
      break;
    case 't':
      c = '\t';
      break;
    case 'u': {
      int hi, lo;
      gunichar ch;

      if (r->end - r->p < 5 || (hi = json_hex4(r->p + 1)) < 0)
        return FALSE;
      r->p += 4;
      ch = (gunichar)hi;
      if (hi >= 0xd800 && hi <= 0xdbff) {
        if (r->end - r->p < 7 || r->p[1] != '\\' || r->p[2] != 'u' ||
            (lo = json_hex4(r->p + 3)) < 0xdc00 || lo > 0xdfff)
          return FALSE;
        r->p += 6;
        ch = 0x10000 + (((gunichar)hi - 0xd800) << 10) + ((gunichar)lo - 0xdc00);
      } else if (hi >= 0xdc00 && hi <= 0xdfff) {
        return FALSE;
      }
      if (ch == 0)
        return FALSE; /* values are C strings */
      if (out != NULL)
        g_string_append_unichar(out, ch);
      r->p++;
      continue;
    }
    default:
      return FALSE;
    }
    if (out != NULL)
      g_string_append_c(out, (char)c);
    r->p++;
  }
  return FALSE;
}

static gboolean
json_number(JsonReader *r)
{
  const char *start = r->p;

  if (r->p < r->end && *r->p == '-')
    r->p++;
  if (r->p >= r->end || !g_ascii_isdigit(*r->p))
    return FALSE;
  if (*r->p == '0')
    r->p++;
  else
    while (r->p < r->end && g_ascii_isdigit(*r->p))
      r->p++;
  if (r->p < r->end && *r->p == '.') {
    r->p++;
    if (r->p >= r->end || !g_ascii_isdigit(*r->p))
      return FALSE;
    while (r->p < r->end && g_ascii_isdigit(*r->p))
      r->p++;
  }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
    r->p++;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
      r->p++;
    if (r->p >= r->end || !g_ascii_isdigit(*r->p))
      return FALSE;
    while (r->p < r->end && g_ascii_isdigit(*r->p))
      r->p++;
  }
  return r->p > start;
}

static gboolean
json_literal(JsonReader *r, const char *word)
{
  gsize n = strlen(word);

  if ((gsize)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
    return FALSE;
  r->p += n;
  return TRUE;
}

static gboolean json_value(JsonReader *r, GHashTable *members, const char *key);

/* An object or array at r->p.  @members (top level only) collects scalars. */
static gboolean
json_container(JsonReader *r, GHashTable *members)
{
  gboolean object = *r->p == '{';
  char close = object ? '}' : ']';

  if (++r->depth > JSON_MAX_DEPTH)
    return FALSE;
  r->p++;
  json_ws(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
    r->depth--;
    return TRUE;
  }
  for (;;) {
    g_autoptr(GString) key = NULL;

    json_ws(r);
    if (object) {
      key = g_string_new(NULL);
      if (r->p >= r->end || *r->p != '"' || !json_string(r, key))
        return FALSE;
      if (members != NULL &&
          (strlen(key->str) != key->len || g_hash_table_contains(members, key->str)))
        return FALSE; /* an embedded NUL or a duplicate key */
      json_ws(r);
      if (r->p >= r->end || *r->p != ':')
        return FALSE;
      r->p++;
      json_ws(r);
    }
    if (!json_value(r, members, key != NULL ? key->str : NULL))
      return FALSE;
    json_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == close) {
      r->p++;
      r->depth--;
      return TRUE;
    }
    return FALSE;
  }
}

static gboolean
json_value(JsonReader *r, GHashTable *members, const char *key)
{
  if (r->p >= r->end)
    return FALSE;
  switch (*r->p) {
  case '{':
  case '[':
    return json_container(r, NULL);
  case '"': {
    g_autoptr(GString) s = g_string_new(NULL);

    if (!json_string(r, s))
      return FALSE;
    if (members != NULL && key != NULL)
      g_hash_table_insert(members, g_strdup(key), g_string_free(g_steal_pointer(&s), FALSE));
    return TRUE;
  }
  case 't':
    return json_literal(r, "true");
  case 'f':
    return json_literal(r, "false");
  case 'n':
    return json_literal(r, "null");
  default: {
    const char *start = r->p;

    if (!json_number(r))
      return FALSE;
    if (members != NULL && key != NULL)
      g_hash_table_insert(members, g_strdup(key), g_strndup(start, (gsize)(r->p - start)));
    return TRUE;
  }
  }
}

/* The top-level scalar members of a JSON object document (transfer full),
 * or NULL when the text is not exactly one valid JSON object. */
static GHashTable *
json_parse_object(const char *data, gsize len)
{
  g_autoptr(GHashTable) members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  JsonReader r = {data, data + len, 0};

  if (!g_utf8_validate(data, (gssize)len, NULL))
    return NULL;
  json_ws(&r);
  if (r.p >= r.end || *r.p != '{' || !json_container(&r, members))
    return NULL;
  json_ws(&r);
  if (r.p != r.end)
    return NULL;
  return g_steal_pointer(&members);
}

/* ---- Public keys --------------------------------------------------------------------- */

gboolean
actr_mfr_public_key_parse(const char *data, gsize len, const char *origin, guint8 public_key[32],
                          char **key_id_out, GError **error)
{
  g_autofree char *text = NULL;
  const char *trimmed;

  origin = origin != NULL ? origin : "<public key>";
  if (key_id_out != NULL)
    *key_id_out = NULL;
  if (len > ACTR_PACKAGE_MAX_TEXT_SIZE)
    return key_fail(error, "%s: too large for a public key", origin);
  if (memchr(data, '\0', len) != NULL)
    return key_fail(error, "%s: not a public key (contains a NUL byte)", origin);
  text = g_strndup(data, len);
  trimmed = g_strstrip(text);
  if (trimmed[0] == '{') {
    g_autoptr(GHashTable) members = json_parse_object(data, len);
    const char *b64, *id;

    if (members == NULL)
      return key_fail(error, "%s: not valid JSON", origin);
    b64 = g_hash_table_lookup(members, "public_key");
    if (b64 == NULL)
      return key_fail(error, "%s: no \"public_key\" string", origin);
    if (!decode_key32(b64, public_key))
      return key_fail(error, "%s: \"public_key\" must be base64 of 32 bytes", origin);
    id = g_hash_table_lookup(members, "key_id");
    if (id != NULL && !key_id_is_valid(id))
      return key_fail(error, "%s: invalid \"key_id\"", origin);
    if (key_id_out != NULL)
      *key_id_out = g_strdup(id);
    return TRUE;
  }
  if (!decode_key32(trimmed, public_key))
    return key_fail(error,
                    "%s: not a public key (standard base64 of 32 bytes, or JSON with "
                    "\"public_key\")",
                    origin);
  return TRUE;
}

gboolean
actr_mfr_public_key_load(const char *path, guint8 public_key[32], char **key_id_out, GError **error)
{
  g_autoptr(GBytes) data = actr_package_read_file(path, ACTR_PACKAGE_MAX_TEXT_SIZE, error);
  gsize len = 0;
  const char *text;

  if (data == NULL)
    return FALSE;
  text = g_bytes_get_data(data, &len);
  return actr_mfr_public_key_parse(text, len, path, public_key, key_id_out, error);
}

/* ---- The key server --------------------------------------------------------------------- */

char *
actr_mfr_key_url(const char *base, const char *manufacturer, const char *key_id, GError **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GString) path = NULL;
  g_autofree char *query = NULL;
  const char *scheme;

  uri = g_uri_parse(base, G_URI_FLAGS_ENCODED, NULL);
  scheme = uri != NULL ? g_uri_get_scheme(uri) : NULL;
  if (uri == NULL || g_uri_get_host(uri) == NULL ||
      (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0)) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_INVALID,
                "'%s' is not an http:// or https:// URL", base);
    return NULL;
  }
  if (!actr_name_is_valid(manufacturer)) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_INVALID,
                "invalid manufacturer name '%s'", manufacturer);
    return NULL;
  }
  path = g_string_new(g_uri_get_path(uri));
  while (path->len > 0 && path->str[path->len - 1] == '/')
    g_string_truncate(path, path->len - 1);
  if (!g_str_has_suffix(path->str, "/verifying_key")) {
    if (g_str_has_suffix(path->str, "/ais"))
      g_string_truncate(path, path->len - 4);
    if (!g_str_has_suffix(path->str, "/mfr"))
      g_string_append(path, "/mfr");
    g_string_append_printf(path, "/%s/verifying_key", manufacturer);
  }
  if (key_id != NULL) {
    g_autofree char *escaped = g_uri_escape_string(key_id, NULL, FALSE);

    query = g_strconcat("key_id=", escaped, NULL);
  }
  return g_uri_join(G_URI_FLAGS_ENCODED, g_uri_get_scheme(uri), g_uri_get_userinfo(uri),
                    g_uri_get_host(uri), g_uri_get_port(uri), path->str, query, NULL);
}

gboolean
actr_mfr_fetch_public_key(const char *base, const char *manufacturer, const char *key_id,
                          guint timeout_secs, guint8 public_key[32], char **key_id_out,
                          GError **error)
{
  g_autofree char *url = actr_mfr_key_url(base, manufacturer, key_id, error);
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *got_id = NULL;
  guint status;

  if (key_id_out != NULL)
    *key_id_out = NULL;
  if (url == NULL)
    return FALSE;
  session = soup_session_new_with_options(
      "timeout", timeout_secs > 0 ? timeout_secs : FETCH_TIMEOUT_S, "user-agent", "actr", NULL);
  msg = soup_message_new("GET", url);
  if (msg == NULL) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_INVALID, "%s: invalid URL", url);
    return FALSE;
  }
  soup_message_headers_append(soup_message_get_request_headers(msg), "Accept", "application/json");
  body = soup_session_send_and_read(session, msg, NULL, &local);
  if (body == NULL) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_NETWORK, "%s: %s", url,
                local->message);
    return FALSE;
  }
  status = soup_message_get_status(msg);
  if (status == SOUP_STATUS_NOT_FOUND) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_UNTRUSTED,
                "%s: the key server has no trusted key %s%sfor manufacturer '%s' (HTTP 404)", url,
                key_id != NULL ? key_id : "", key_id != NULL ? " " : "", manufacturer);
    return FALSE;
  }
  if (status < 200 || status > 299) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_NETWORK, "%s: HTTP %u %s", url,
                status, soup_message_get_reason_phrase(msg));
    return FALSE;
  }
  if (g_bytes_get_size(body) > FETCH_MAX_BODY) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY, "%s: answer too large", url);
    return FALSE;
  }
  if (!actr_mfr_public_key_parse(g_bytes_get_data(body, NULL), g_bytes_get_size(body), url,
                                 public_key, &got_id, error))
    return FALSE;
  if (key_id != NULL && g_strcmp0(got_id, key_id) != 0) {
    g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY,
                "%s: asked for key %s, got key %s", url, key_id,
                got_id != NULL ? got_id : "(none)");
    return FALSE;
  }
  if (key_id_out != NULL)
    *key_id_out = g_steal_pointer(&got_id);
  return TRUE;
}
