/* actrd — the identity service (AIS): POST /ais/register and the key, health
 * and manufacturer endpoints (wire.md §3).
 *
 * Thread: server loop only.
 */
#ifndef ACTRD_AIS_H
#define ACTRD_AIS_H

#include <glib.h>

#include "actrd-server.h"

G_BEGIN_DECLS

/* Adds the /ais/ and /mfr/ handlers to server->soup. */
void actrd_ais_add_handlers(ActrdServer *server);

/* The core of POST /ais/register, without HTTP: decodes @body (@len bytes),
 * checks it against the realm secret header value @realm_secret (nullable),
 * issues the identity and applies the side effects.  Always returns the
 * RegisterResponse bytes to send with HTTP 200 (transfer full); the result
 * code (0 success, else the ErrorResponse code) goes to @code_out
 * (nullable).  Uses only server->config, ->db, ->keys and ->metrics
 * (nullable), so tests and the fuzz target may pass a partially filled
 * ActrdServer. */
GBytes *actrd_ais_register(ActrdServer *server, const guint8 *body, gsize len,
                           const char *realm_secret, guint *code_out);

G_END_DECLS

#endif /* ACTRD_AIS_H */
