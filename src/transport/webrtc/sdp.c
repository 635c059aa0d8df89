/* actr — SDP for WebRTC data channels.  See sdp.h. */
#include "sdp.h"

#include <string.h>

G_DEFINE_QUARK(actr - sdp - error - quark, actr_sdp_error)

static const struct {
  ActrSdpHash hash;
  const char *name;
  gsize size;
} hashes[] = {
    {ACTR_SDP_HASH_SHA1, "sha-1", 20},     {ACTR_SDP_HASH_SHA224, "sha-224", 28},
    {ACTR_SDP_HASH_SHA256, "sha-256", 32}, {ACTR_SDP_HASH_SHA384, "sha-384", 48},
    {ACTR_SDP_HASH_SHA512, "sha-512", 64},
};

static const char *const setup_names[] = {NULL, "actpass", "active", "passive"};
static const char *const type_names[] = {"host", "srflx", "prflx", "relay"};

const char *
actr_sdp_setup_to_string(ActrSdpSetup setup)
{
  return (guint)setup < G_N_ELEMENTS(setup_names) ? setup_names[setup] : NULL;
}

const char *
actr_sdp_candidate_type_to_string(ActrSdpCandidateType type)
{
  return (guint)type < G_N_ELEMENTS(type_names) ? type_names[type] : NULL;
}

const char *
actr_sdp_hash_to_string(ActrSdpHash hash)
{
  for (guint i = 0; i < G_N_ELEMENTS(hashes); i++)
    if (hashes[i].hash == hash)
      return hashes[i].name;
  return NULL;
}

gsize
actr_sdp_hash_size(ActrSdpHash hash)
{
  for (guint i = 0; i < G_N_ELEMENTS(hashes); i++)
    if (hashes[i].hash == hash)
      return hashes[i].size;
  return 0;
}

ActrSdp *
actr_sdp_new(void)
{
  ActrSdp *sdp = g_new0(ActrSdp, 1);
  /* RFC 8866: a numeric session id; keep it below 2^62 like the browsers. */
  sdp->session_id =
      ((guint64)g_random_int() << 30 ^ g_random_int()) & ((G_GUINT64_CONSTANT(1) << 62) - 1);
  sdp->session_version = 1;
  sdp->ice_trickle = TRUE;
  sdp->setup = ACTR_SDP_SETUP_ACTPASS;
  g_strlcpy(sdp->mid, "0", sizeof sdp->mid);
  sdp->sctp_port = ACTR_SDP_DEFAULT_PORT;
  sdp->max_message_size = 262144;
  sdp->candidates = g_array_new(FALSE, TRUE, sizeof(ActrSdpCandidate));
  return sdp;
}

void
actr_sdp_free(ActrSdp *sdp)
{
  if (!sdp)
    return;
  g_array_unref(sdp->candidates);
  g_free(sdp);
}

void
actr_sdp_add_candidate(ActrSdp *sdp, const ActrSdpCandidate *cand)
{
  g_return_if_fail(sdp != NULL && cand != NULL);
  g_array_append_vals(sdp->candidates, cand, 1);
}

/* ---- Small validators ---------------------------------------------------- */

gboolean
actr_sdp_is_ice_chars(const char *s, gsize min, gsize max)
{
  gsize n = strlen(s);
  if (n < min || n > max)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/')
      return FALSE;
  return TRUE;
}

/* Visible ASCII, no spaces: mid and similar tokens. */
static gboolean
is_token(const char *s, gsize max)
{
  gsize n = strlen(s);
  if (n == 0 || n > max)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if ((guchar)s[i] <= 0x20 || (guchar)s[i] >= 0x7f)
      return FALSE;
  return TRUE;
}

/* An IPv4/IPv6 address or a host name (mDNS "<uuid>.local"). */
static gboolean
is_address(const char *s)
{
  gsize n = strlen(s);
  if (n == 0 || n > ACTR_SDP_ADDRESS_MAX)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum(s[i]) && !strchr(".:-_%", s[i]))
      return FALSE;
  return TRUE;
}

static gboolean
parse_u64(const char *s, guint64 min, guint64 max, guint64 *out)
{
  return g_ascii_string_to_unsigned(s, 10, min, max, out, NULL);
}

/* Splits @s on spaces and tabs, dropping empty fields. (transfer full) */
static gchar **
split_fields(const char *s)
{
  gchar **parts = g_strsplit_set(s, " \t", -1);
  guint w = 0;
  for (guint r = 0; parts[r]; r++) {
    if (parts[r][0])
      parts[w++] = parts[r];
    else
      g_free(parts[r]);
  }
  parts[w] = NULL;
  return parts;
}

/* Checks the size, NULs and UTF-8 of @text; returns its length. */
static gboolean
check_text(const char *text, gssize len, gsize *out_len, GError **error)
{
  gsize n;
  if (len < 0) {
    const char *nul = memchr(text, '\0', ACTR_SDP_MAX_SIZE + 1);
    n = nul ? (gsize)(nul - text) : ACTR_SDP_MAX_SIZE + 1;
  } else {
    n = (gsize)len;
  }
  if (n > ACTR_SDP_MAX_SIZE) {
    g_set_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_TOO_LARGE,
                "SDP too large: more than %d bytes", ACTR_SDP_MAX_SIZE);
    return FALSE;
  }
  const char *bad = memchr(text, '\0', n);
  const char *end = NULL;
  if (!bad && !g_utf8_validate_len(text, n, &end))
    bad = end;
  if (bad) {
    guint line = 1;
    for (const char *p = text; p < bad; p++)
      line += *p == '\n';
    g_set_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_ENCODING,
                "SDP line %u: %s at byte %" G_GSIZE_FORMAT, line,
                *bad ? "invalid UTF-8" : "NUL byte", (gsize)(bad - text));
    return FALSE;
  }
  *out_len = n;
  return TRUE;
}

/* ---- Candidates ------------------------------------------------------------ */

/* Parses the attribute value after "candidate:".  @where prefixes messages. */
static gboolean
parse_candidate_value(const char *value, const char *where, ActrSdpCandidate *out, GError **error)
{
  g_auto(GStrv) f = split_fields(value);
  guint n = g_strv_length(f);
  guint64 v;
  const char *why = NULL;
  memset(out, 0, sizeof *out);

  if (n < 8) {
    why = "fewer than 8 fields";
    goto fail;
  }
  if (!actr_sdp_is_ice_chars(f[0], 1, ACTR_SDP_FOUNDATION_MAX)) {
    why = "bad foundation";
    goto fail;
  }
  g_strlcpy(out->foundation, f[0], sizeof out->foundation);
  if (!parse_u64(f[1], 1, 256, &v)) {
    why = "bad component id";
    goto fail;
  }
  out->component = (guint)v;
  if (!is_token(f[2], ACTR_SDP_TRANSPORT_MAX)) {
    why = "bad transport";
    goto fail;
  }
  for (guint i = 0; f[2][i]; i++)
    out->transport[i] = g_ascii_tolower(f[2][i]);
  if (!parse_u64(f[3], 1, G_MAXINT32, &v)) {
    why = "bad priority";
    goto fail;
  }
  out->priority = (guint32)v;
  if (!is_address(f[4])) {
    why = "bad address";
    goto fail;
  }
  g_strlcpy(out->address, f[4], sizeof out->address);
  if (!parse_u64(f[5], 0, G_MAXUINT16, &v)) {
    why = "bad port";
    goto fail;
  }
  out->port = (guint16)v;
  if (g_strcmp0(f[6], "typ") != 0) {
    why = "expected \"typ\" after the port";
    goto fail;
  }
  guint t;
  for (t = 0; t < G_N_ELEMENTS(type_names); t++)
    if (g_ascii_strcasecmp(f[7], type_names[t]) == 0)
      break;
  if (t == G_N_ELEMENTS(type_names)) {
    why = "unknown candidate type";
    goto fail;
  }
  out->type = (ActrSdpCandidateType)t;
  if ((n - 8) % 2 != 0) {
    why = "extension name without a value";
    goto fail;
  }
  guint seen_rport = 0;
  for (guint i = 8; i < n; i += 2) {
    if (strcmp(f[i], "raddr") == 0) {
      if (out->has_related) {
        why = "duplicate raddr";
        goto fail;
      }
      if (!is_address(f[i + 1])) {
        why = "bad raddr";
        goto fail;
      }
      g_strlcpy(out->related_address, f[i + 1], sizeof out->related_address);
      out->has_related = TRUE;
    } else if (strcmp(f[i], "rport") == 0) {
      if (seen_rport++) {
        why = "duplicate rport";
        goto fail;
      }
      if (!parse_u64(f[i + 1], 0, G_MAXUINT16, &v)) {
        why = "bad rport";
        goto fail;
      }
      out->related_port = (guint16)v;
    } else if (!is_token(f[i], 64) || !is_token(f[i + 1], 256)) {
      why = "bad extension";
      goto fail;
    }
  }
  if (!out->has_related)
    out->related_port = 0; /* an rport without raddr carries nothing */
  return TRUE;

fail:
  g_set_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_CANDIDATE, "%sbad candidate: %s", where, why);
  return FALSE;
}

gboolean
actr_sdp_candidate_parse(const char *line, gssize len, ActrSdpCandidate *out, GError **error)
{
  g_return_val_if_fail(line != NULL && out != NULL, FALSE);
  gsize n;
  if (!check_text(line, len, &n, error))
    return FALSE;
  g_autofree gchar *copy = g_strndup(line, n);
  g_strchomp(copy);
  const char *p = copy;
  if (g_str_has_prefix(p, "a="))
    p += 2;
  if (!g_str_has_prefix(p, "candidate:")) {
    g_set_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_CANDIDATE,
                "bad candidate: does not start with \"candidate:\"");
    return FALSE;
  }
  return parse_candidate_value(p + strlen("candidate:"), "", out, error);
}

gchar *
actr_sdp_candidate_to_string(const ActrSdpCandidate *c)
{
  g_return_val_if_fail(c != NULL, NULL);
  const char *type = actr_sdp_candidate_type_to_string(c->type);
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "candidate:%s %u %s %" G_GUINT32_FORMAT " %s %u typ %s", c->foundation,
                         c->component, c->transport, c->priority, c->address, (guint)c->port,
                         type ? type : "host");
  if (c->has_related)
    g_string_append_printf(s, " raddr %s rport %u", c->related_address, (guint)c->related_port);
  return g_string_free(s, FALSE);
}

/* ---- Parsing a description --------------------------------------------------- */

/* Attributes collected for one level (session, or the chosen m-section). */
typedef struct {
  guint ufrag_line, pwd_line, fp_line, setup_line;
  char ufrag[ACTR_SDP_UFRAG_MAX + 1];
  char pwd[ACTR_SDP_PWD_MAX + 1];
  gboolean has_options, trickle;
  ActrSdpHash fp_hash;
  guint8 fp[ACTR_SDP_DIGEST_MAX];
  gsize fp_len;
  ActrSdpSetup setup;
} Level;

typedef struct {
  guint line;
  GError **error;
} Ctx;

G_GNUC_PRINTF(3, 4)
static gboolean
fail(Ctx *c, ActrSdpError code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree gchar *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(c->error, ACTR_SDP_ERROR, code, "SDP line %u: %s", c->line, msg);
  return FALSE;
}

/* "sha-256 AB:CD:..." */
static gboolean
parse_fingerprint(Ctx *c, const char *value, Level *lv)
{
  g_auto(GStrv) f = split_fields(value);
  if (g_strv_length(f) != 2)
    return fail(c, ACTR_SDP_ERROR_FINGERPRINT, "a=fingerprint: expected \"<hash> <hex:hex:...>\"");
  ActrSdpHash hash = ACTR_SDP_HASH_NONE;
  gsize size = 0;
  for (guint i = 0; i < G_N_ELEMENTS(hashes); i++)
    if (g_ascii_strcasecmp(f[0], hashes[i].name) == 0) {
      hash = hashes[i].hash;
      size = hashes[i].size;
    }
  if (hash == ACTR_SDP_HASH_NONE)
    return TRUE; /* an unknown hash function: ignored (another line may do) */
  const char *h = f[1];
  guint8 digest[ACTR_SDP_DIGEST_MAX];
  gsize n = 0;
  for (;;) {
    if (n == size || !g_ascii_isxdigit(h[0]) || !g_ascii_isxdigit(h[1]))
      return fail(c, ACTR_SDP_ERROR_FINGERPRINT,
                  "a=fingerprint: %s digest is not %" G_GSIZE_FORMAT " colon-separated hex bytes",
                  hashes[hash - 1].name, size);
    digest[n++] = (guint8)(g_ascii_xdigit_value(h[0]) << 4 | g_ascii_xdigit_value(h[1]));
    h += 2;
    if (*h == '\0')
      break;
    if (*h++ != ':')
      return fail(c, ACTR_SDP_ERROR_FINGERPRINT,
                  "a=fingerprint: %s digest is not %" G_GSIZE_FORMAT " colon-separated hex bytes",
                  hashes[hash - 1].name, size);
  }
  if (n != size)
    return fail(c, ACTR_SDP_ERROR_FINGERPRINT,
                "a=fingerprint: %s digest has %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT,
                hashes[hash - 1].name, n, size);
  /* Keep the first; a later sha-256 replaces anything but sha-256. */
  if (lv->fp_hash == ACTR_SDP_HASH_NONE ||
      (hash == ACTR_SDP_HASH_SHA256 && lv->fp_hash != ACTR_SDP_HASH_SHA256)) {
    lv->fp_hash = hash;
    memcpy(lv->fp, digest, n);
    lv->fp_len = n;
    lv->fp_line = c->line;
  }
  return TRUE;
}

/* An attribute that may appear at session or media level. */
static gboolean
parse_level_attr(Ctx *c, const char *name, const char *value, Level *lv, gboolean *handled)
{
  *handled = TRUE;
  if (strcmp(name, "ice-ufrag") == 0 || strcmp(name, "ice-pwd") == 0) {
    gboolean ufrag = name[4] == 'u';
    if (!value || !actr_sdp_is_ice_chars(value, ufrag ? 4 : 22, 256))
      return fail(c, ACTR_SDP_ERROR_ICE, "a=%s: expected %s ice-chars (A-Z a-z 0-9 + /)", name,
                  ufrag ? "4 to 256" : "22 to 256");
    if (ufrag ? lv->ufrag_line : lv->pwd_line)
      return fail(c, ACTR_SDP_ERROR_ICE, "duplicate a=%s", name);
    g_strlcpy(ufrag ? lv->ufrag : lv->pwd, value, ACTR_SDP_UFRAG_MAX + 1);
    *(ufrag ? &lv->ufrag_line : &lv->pwd_line) = c->line;
  } else if (strcmp(name, "ice-options") == 0) {
    g_auto(GStrv) f = split_fields(value ? value : "");
    lv->has_options = TRUE;
    for (guint i = 0; f[i]; i++)
      if (strcmp(f[i], "trickle") == 0)
        lv->trickle = TRUE;
  } else if (strcmp(name, "fingerprint") == 0) {
    if (!value)
      return fail(c, ACTR_SDP_ERROR_FINGERPRINT, "a=fingerprint without a value");
    return parse_fingerprint(c, value, lv);
  } else if (strcmp(name, "setup") == 0) {
    guint s;
    for (s = 1; s < G_N_ELEMENTS(setup_names); s++)
      if (value && strcmp(value, setup_names[s]) == 0)
        break;
    if (s == G_N_ELEMENTS(setup_names))
      return fail(c, ACTR_SDP_ERROR_INVALID,
                  "a=setup: expected actpass, active or passive, got \"%s\"", value ? value : "");
    lv->setup = (ActrSdpSetup)s;
    lv->setup_line = c->line;
  } else {
    *handled = FALSE;
  }
  return TRUE;
}

typedef enum { IN_SESSION, IN_APP, IN_OTHER } Where;

static gboolean
parse_origin(Ctx *c, const char *value, ActrSdp *sdp)
{
  g_auto(GStrv) f = split_fields(value);
  if (g_strv_length(f) != 6)
    return fail(c, ACTR_SDP_ERROR_SYNTAX,
                "o= expects 6 fields: <user> <sess-id> <sess-version> IN <addrtype> <address>");
  if (!parse_u64(f[1], 0, G_MAXUINT64, &sdp->session_id) ||
      !parse_u64(f[2], 0, G_MAXUINT64, &sdp->session_version))
    return fail(c, ACTR_SDP_ERROR_SYNTAX, "o=: session id and version must be numbers");
  return TRUE;
}

/* An m= line.  Sets *where; fills the sctp port of the old syntax. */
static gboolean
parse_media(Ctx *c, const char *value, gboolean have_app, ActrSdp *sdp, Where *where)
{
  g_auto(GStrv) f = split_fields(value);
  guint n = g_strv_length(f);
  guint64 port;
  if (n < 4 || !parse_u64(f[1], 0, G_MAXUINT16, &port))
    return fail(c, ACTR_SDP_ERROR_SYNTAX, "m= expects <media> <port> <proto> <fmt>...");
  *where = IN_OTHER;
  if (have_app || strcmp(f[0], "application") != 0 || port == 0)
    return TRUE;
  if (strcmp(f[2], "UDP/DTLS/SCTP") == 0 || strcmp(f[2], "TCP/DTLS/SCTP") == 0) {
    if (strcmp(f[3], "webrtc-datachannel") != 0)
      return fail(c, ACTR_SDP_ERROR_SYNTAX,
                  "m=application %s: format must be webrtc-datachannel, got \"%s\"", f[2], f[3]);
    sdp->legacy_sctpmap = FALSE;
    sdp->sctp_port = ACTR_SDP_DEFAULT_PORT;
  } else if (strcmp(f[2], "DTLS/SCTP") == 0) {
    guint64 sp;
    if (!parse_u64(f[3], 1, G_MAXUINT16, &sp))
      return fail(c, ACTR_SDP_ERROR_SYNTAX, "m=application DTLS/SCTP: bad SCTP port \"%s\"", f[3]);
    sdp->legacy_sctpmap = TRUE;
    sdp->sctp_port = (guint16)sp;
  } else {
    return TRUE; /* not a data channel m-line */
  }
  *where = IN_APP;
  return TRUE;
}

/* An attribute of the chosen application m-section. */
static gboolean
parse_app_attr(Ctx *c, const char *name, const char *value, ActrSdp *sdp)
{
  guint64 v;
  if (strcmp(name, "mid") == 0) {
    if (!value || !is_token(value, ACTR_SDP_MID_MAX))
      return fail(c, ACTR_SDP_ERROR_INVALID, "a=mid: expected 1 to %d visible characters",
                  ACTR_SDP_MID_MAX);
    g_strlcpy(sdp->mid, value, sizeof sdp->mid);
  } else if (strcmp(name, "sctp-port") == 0) {
    if (!value || !parse_u64(value, 1, G_MAXUINT16, &v))
      return fail(c, ACTR_SDP_ERROR_INVALID, "a=sctp-port: expected a port 1-65535");
    sdp->sctp_port = (guint16)v;
  } else if (strcmp(name, "max-message-size") == 0) {
    if (!value || !parse_u64(value, 0, G_MAXUINT64, &v))
      return fail(c, ACTR_SDP_ERROR_INVALID, "a=max-message-size: expected a number");
    sdp->max_message_size = v;
  } else if (strcmp(name, "sctpmap") == 0) {
    g_auto(GStrv) f = split_fields(value ? value : "");
    if (g_strv_length(f) < 2 || !parse_u64(f[0], 1, G_MAXUINT16, &v))
      return fail(c, ACTR_SDP_ERROR_INVALID,
                  "a=sctpmap: expected \"<port> webrtc-datachannel [<streams>]\"");
    if (strcmp(f[1], "webrtc-datachannel") != 0)
      return fail(c, ACTR_SDP_ERROR_INVALID, "a=sctpmap: unsupported protocol \"%s\"", f[1]);
    if (sdp->legacy_sctpmap && v != sdp->sctp_port)
      return fail(c, ACTR_SDP_ERROR_INVALID,
                  "a=sctpmap: port %" G_GUINT64_FORMAT " does not match the m-line's %u", v,
                  (guint)sdp->sctp_port);
  } else if (strcmp(name, "candidate") == 0) {
    ActrSdpCandidate cand;
    g_autofree gchar *where = g_strdup_printf("SDP line %u: ", c->line);
    if (!parse_candidate_value(value ? value : "", where, &cand, c->error))
      return FALSE;
    g_array_append_vals(sdp->candidates, &cand, 1);
  } else if (strcmp(name, "end-of-candidates") == 0) {
    sdp->end_of_candidates = TRUE;
  }
  return TRUE;
}

ActrSdp *
actr_sdp_parse(const char *text, gssize len, GError **error)
{
  g_return_val_if_fail(text != NULL || len == 0, NULL);
  gsize n;
  if (!check_text(text ? text : "", len, &n, error))
    return NULL;
  g_autofree gchar *copy = g_strndup(text ? text : "", n);
  g_autoptr(ActrSdp) sdp = actr_sdp_new();
  sdp->session_id = sdp->session_version = 0;
  sdp->ice_trickle = FALSE;
  sdp->setup = ACTR_SDP_SETUP_NONE;
  sdp->mid[0] = '\0';
  sdp->max_message_size = ACTR_SDP_DEFAULT_MAX_MESSAGE_SIZE;

  Level session = {0}, app = {0};
  Ctx c = {0, error};
  Where where = IN_SESSION;
  gboolean have_app = FALSE, seen_v = FALSE, seen_o = FALSE;
  char *next = copy;
  while (next) {
    char *line = next;
    char *nl = strchr(line, '\n');
    next = nl ? nl + 1 : NULL;
    if (nl)
      *nl = '\0';
    c.line++;
    gsize ll = strlen(line);
    if (ll && line[ll - 1] == '\r')
      line[--ll] = '\0';
    if (ll == 0)
      continue; /* blank lines (and the final line end) are tolerated */
    if (ll < 2 || !g_ascii_islower(line[0]) || line[1] != '=')
      return fail(&c, ACTR_SDP_ERROR_SYNTAX, "expected <letter>=<value>"), NULL;
    char type = line[0];
    char *value = line + 2;
    if (!seen_v) {
      if (type != 'v' || strcmp(value, "0") != 0)
        return fail(&c, ACTR_SDP_ERROR_SYNTAX, "an SDP must start with v=0"), NULL;
      seen_v = TRUE;
      continue;
    }
    if (type == 'v')
      return fail(&c, ACTR_SDP_ERROR_SYNTAX, "a second v= line"), NULL;
    if (type == 'o' && where == IN_SESSION) {
      if (seen_o)
        return fail(&c, ACTR_SDP_ERROR_SYNTAX, "a second o= line"), NULL;
      if (!parse_origin(&c, value, sdp))
        return NULL;
      seen_o = TRUE;
      continue;
    }
    if (type == 'm') {
      if (!seen_o)
        return fail(&c, ACTR_SDP_ERROR_SYNTAX, "m= before the o= line"), NULL;
      if (!parse_media(&c, value, have_app, sdp, &where))
        return NULL;
      have_app = have_app || where == IN_APP;
      continue;
    }
    if (type != 'a' || where == IN_OTHER)
      continue; /* c=, s=, t=, b=... and other m-sections: not needed */
    char *colon = strchr(value, ':');
    if (colon)
      *colon = '\0';
    const char *name = value;
    const char *aval = colon ? colon + 1 : NULL;
    if (aval)
      while (*aval == ' ')
        aval++;
    gboolean handled;
    if (!parse_level_attr(&c, name, aval, where == IN_APP ? &app : &session, &handled))
      return NULL;
    if (!handled && strcmp(name, "ice-lite") == 0 && where == IN_SESSION)
      sdp->ice_lite = TRUE;
    else if (!handled && where == IN_APP && !parse_app_attr(&c, name, aval, sdp))
      return NULL;
  }
  c.line = MAX(c.line, 1);
  if (!seen_v)
    return fail(&c, ACTR_SDP_ERROR_SYNTAX, "empty SDP (no v=0 line)"), NULL;
  if (!seen_o)
    return fail(&c, ACTR_SDP_ERROR_SYNTAX, "missing o= line"), NULL;
  if (!have_app)
    return fail(&c, ACTR_SDP_ERROR_NO_APPLICATION,
                "no usable m=application line with UDP/DTLS/SCTP or DTLS/SCTP"),
           NULL;

  /* Media level wins over session level. */
  const Level *u = app.ufrag_line ? &app : &session;
  const Level *p = app.pwd_line ? &app : &session;
  const Level *fp = app.fp_hash ? &app : &session;
  if (!u->ufrag_line)
    return fail(&c, ACTR_SDP_ERROR_ICE, "missing a=ice-ufrag"), NULL;
  if (!p->pwd_line)
    return fail(&c, ACTR_SDP_ERROR_ICE, "missing a=ice-pwd"), NULL;
  if (!fp->fp_hash)
    return fail(&c, ACTR_SDP_ERROR_FINGERPRINT,
                "missing a=fingerprint with a supported hash (sha-1 to sha-512)"),
           NULL;
  g_strlcpy(sdp->ice_ufrag, u->ufrag, sizeof sdp->ice_ufrag);
  g_strlcpy(sdp->ice_pwd, p->pwd, sizeof sdp->ice_pwd);
  sdp->ice_trickle = app.has_options ? app.trickle : session.trickle;
  sdp->fingerprint_hash = fp->fp_hash;
  memcpy(sdp->fingerprint, fp->fp, fp->fp_len);
  sdp->fingerprint_len = fp->fp_len;
  sdp->setup = app.setup_line ? app.setup : session.setup;
  return g_steal_pointer(&sdp);
}

/* ---- Generation ---------------------------------------------------------------- */

gchar *
actr_sdp_to_string(const ActrSdp *sdp, GError **error)
{
  g_return_val_if_fail(sdp != NULL, NULL);
  if (!actr_sdp_is_ice_chars(sdp->ice_ufrag, 4, ACTR_SDP_UFRAG_MAX) ||
      !actr_sdp_is_ice_chars(sdp->ice_pwd, 22, ACTR_SDP_PWD_MAX)) {
    g_set_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_ICE,
                "ICE ufrag (4-256) or pwd (22-256) unset or not ice-chars");
    return NULL;
  }
  gsize size = actr_sdp_hash_size(sdp->fingerprint_hash);
  if (size == 0 || sdp->fingerprint_len != size) {
    g_set_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_FINGERPRINT,
                "fingerprint unset or its length does not match the hash");
    return NULL;
  }
  const char *setup = actr_sdp_setup_to_string(sdp->setup);
  if (!setup || !is_token(sdp->mid, ACTR_SDP_MID_MAX) || sdp->sctp_port == 0) {
    g_set_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_INVALID,
                "setup role, mid or sctp-port unset or invalid");
    return NULL;
  }
  for (guint i = 0; i < sdp->candidates->len; i++) {
    const ActrSdpCandidate *cd = &g_array_index(sdp->candidates, ActrSdpCandidate, i);
    g_autofree gchar *line = actr_sdp_candidate_to_string(cd);
    ActrSdpCandidate back;
    if (!parse_candidate_value(line + strlen("candidate:"), "", &back, NULL)) {
      g_set_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_CANDIDATE, "candidate %u is invalid: %s", i,
                  line);
      return NULL;
    }
  }

  GString *s = g_string_new(NULL);
  g_string_append_printf(s,
                         "v=0\r\n"
                         "o=- %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " IN IP4 127.0.0.1\r\n"
                         "s=-\r\n"
                         "t=0 0\r\n"
                         "a=group:BUNDLE %s\r\n"
                         "a=msid-semantic: WMS\r\n",
                         sdp->session_id, sdp->session_version, sdp->mid);
  if (sdp->ice_lite)
    g_string_append(s, "a=ice-lite\r\n");
  if (sdp->legacy_sctpmap)
    g_string_append_printf(s, "m=application 9 DTLS/SCTP %u\r\n", (guint)sdp->sctp_port);
  else
    g_string_append(s, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
  g_string_append(s, "c=IN IP4 0.0.0.0\r\n");
  for (guint i = 0; i < sdp->candidates->len; i++) {
    g_autofree gchar *line =
        actr_sdp_candidate_to_string(&g_array_index(sdp->candidates, ActrSdpCandidate, i));
    g_string_append_printf(s, "a=%s\r\n", line);
  }
  if (sdp->end_of_candidates)
    g_string_append(s, "a=end-of-candidates\r\n");
  g_string_append_printf(s, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", sdp->ice_ufrag, sdp->ice_pwd);
  if (sdp->ice_trickle)
    g_string_append(s, "a=ice-options:trickle\r\n");
  g_string_append_printf(s, "a=fingerprint:%s ", actr_sdp_hash_to_string(sdp->fingerprint_hash));
  for (gsize i = 0; i < size; i++)
    g_string_append_printf(s, "%s%02X", i ? ":" : "", sdp->fingerprint[i]);
  g_string_append_printf(s, "\r\na=setup:%s\r\na=mid:%s\r\n", setup, sdp->mid);
  if (sdp->legacy_sctpmap)
    g_string_append_printf(s, "a=sctpmap:%u webrtc-datachannel 65535\r\n", (guint)sdp->sctp_port);
  else
    g_string_append_printf(s, "a=sctp-port:%u\r\n", (guint)sdp->sctp_port);
  g_string_append_printf(s, "a=max-message-size:%" G_GUINT64_FORMAT "\r\n", sdp->max_message_size);
  return g_string_free(s, FALSE);
}
