/* actr — opening a signed .actr package for a node.  See node-package.h. */
#include "node-package.h"

#include <string.h>

#define KEY_FETCH_TIMEOUT_SECS 10

/* "http://h:p/ais" → "http://h:p" (runtime.md §16.2: a trailing /ais is
 * stripped from registry endpoints; the MFR routes live beside it). */
static char *
registry_base(const char *endpoint)
{
  g_autofree char *base = g_strdup(endpoint);
  gsize len = strlen(base);

  while (len > 0 && base[len - 1] == '/')
    base[--len] = '\0';
  if (g_str_has_suffix(base, "/ais"))
    base[len - 4] = '\0';
  return g_steal_pointer(&base);
}

/* Verifies @package against @anchor; FALSE with @error when it does not. */
static gboolean
verify_with(ActrPackage *package, const ActrTrustAnchor *anchor, const char *ais_endpoint,
            GError **error)
{
  const ActrPackageManifest *m = actr_package_get_manifest(package);
  guint8 key[32];

  switch (anchor->kind) {
  case ACTR_TRUST_STATIC:
    if (anchor->pubkey_b64 != NULL) {
      gsize len = 0;
      g_autofree guchar *raw = g_base64_decode(anchor->pubkey_b64, &len);
      if (len != sizeof key) {
        g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_KEY,
                    "trust anchor (line %u): pubkey_b64 is not a 32-byte key", anchor->line);
        return FALSE;
      }
      memcpy(key, raw, sizeof key);
    } else if (!actr_mfr_public_key_load(anchor->pubkey_file, key, NULL, error)) {
      return FALSE;
    }
    break;
  case ACTR_TRUST_REGISTRY:
  case ACTR_TRUST_DEV_ONLY: {
    /* dev_only has no key of its own: it asks the realm's actrd (the MFR
     * registry beside the AIS).  We never run an unverified binary. */
    g_autofree char *base =
        registry_base(anchor->kind == ACTR_TRUST_REGISTRY ? anchor->endpoint : ais_endpoint);
    if (!actr_mfr_fetch_public_key(base, m->manufacturer, m->signing_key_id, KEY_FETCH_TIMEOUT_SECS,
                                   key, NULL, error))
      return FALSE;
    break;
  }
  }
  return actr_package_verify(package, key, error);
}

ActrPackage *
node_package_open(const ActrConfig *config, const char *path, char **binary_path, GError **error)
{
  g_autoptr(ActrPackage) package = actr_package_load(path, error);
  g_autoptr(GError) last = NULL;

  if (package == NULL)
    return NULL;
  for (guint i = 0; i < config->n_trust && !actr_package_is_verified(package); i++) {
    g_clear_error(&last);
    if (!verify_with(package, &config->trust[i], config->ais_endpoint, &last))
      g_debug("node: %s not verified by trust anchor %u: %s", path, i + 1, last->message);
  }
  if (!actr_package_is_verified(package)) {
    if (last != NULL) {
      g_propagate_prefixed_error(error, g_steal_pointer(&last), "%s: not trusted: ", path);
    } else {
      g_set_error(error, ACTR_PACKAGE_ERROR, ACTR_PACKAGE_ERROR_UNTRUSTED,
                  "%s: not trusted: the configuration has no trust anchor", path);
    }
    return NULL;
  }
  if (!actr_package_check_target(actr_package_get_manifest(package), error))
    return NULL;
  const char *data_dir = config->hyper.data_dir != NULL ? config->hyper.data_dir : ".";
  *binary_path = actr_package_extract_binary(package, data_dir, error);
  if (*binary_path == NULL)
    return NULL;
  g_info("node: package %s verified, binary %s", path, *binary_path);
  return g_steal_pointer(&package);
}

gboolean
node_package_is_package(const char *path)
{
  return g_str_has_suffix(path, ".actr");
}
