/* actr — a node's signed package (.actr, docs/packages.md): verification
 * against the configuration's trust anchors, then the binary extracted to
 * the dynclib cache (runtime.md §6.1, §11.7, §16.2).
 *
 * Trust anchors are tried in order; the first that verifies wins:
 * - static: the anchor's key (pubkey_b64 or pubkey_file);
 * - registry: the manufacturer's key fetched from the endpoint's
 *   /mfr/{manufacturer}/verifying_key (a trailing /ais is stripped);
 * - dev_only: the same fetch from the realm's own actrd (the AIS
 *   endpoint's base).  Unlike the reference, an unsigned or unverifiable
 *   binary is never run.
 *
 * Blocking (key fetches are synchronous HTTP): called from
 * actr_node_new(), before the node's threads exist. */
#ifndef ACTR_NODE_PACKAGE_H
#define ACTR_NODE_PACKAGE_H

#include <actr/config.h>

#include "package.h"

G_BEGIN_DECLS

/* TRUE when @path names a package rather than a shared library. */
gboolean node_package_is_package(const char *path);

/* Loads and verifies the package at @path, checks its target and extracts
 * its binary; the binary's path goes to @binary_path (transfer full).
 * Returns the verified package (transfer full) or NULL with @error
 * (ACTR_PACKAGE_ERROR_*, the message names the file). */
ActrPackage *node_package_open(const ActrConfig *config, const char *path, char **binary_path,
                               GError **error);

G_END_DECLS

#endif /* ACTR_NODE_PACKAGE_H */
