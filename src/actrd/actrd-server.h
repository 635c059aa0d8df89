/* actrd — the server: one SoupServer (all routes on one port) on one
 * GMainContext, plus the shared state every module reads.
 *
 * Thread: everything runs on server->context (the thread-default context of
 * the thread that created the server).  No locks anywhere in actrd.
 */
#ifndef ACTRD_SERVER_H
#define ACTRD_SERVER_H

#include <glib.h>
#include <libsoup/soup.h>

#include "actrd-config.h"
#include "actrd-db.h"
#include "actrd-keys.h"
#include "actrd-metrics.h"
#include "actrd-ratelimit.h"

G_BEGIN_DECLS

struct _ActrdSignaling;

typedef struct _ActrdServer ActrdServer;

/* Visible to the actrd modules (not to anything outside src/actrd). */
struct _ActrdServer {
  ActrdConfig *config;               /* owned */
  ActrdDb *db;                       /* owned */
  ActrdKeys *keys;                   /* owned */
  ActrdMetrics *metrics;             /* owned */
  SoupServer *soup;                  /* libsoup 3 server, all routes on one port (owned) */
  GMainContext *context;             /* the one loop everything runs on (a ref) */
  struct _ActrdSignaling *signaling; /* created by actrd_server_new() via
                                        actrd_signaling_new(server, &error),
                                        freed with actrd_signaling_free() */

  /* Private to actrd-server.c / actrd-ais.c. */
  ActrdIpLimiter *ais_limiter; /* per-IP bucket for /ais/ and /mfr/ routes */
  char *admin_token;           /* contents of <data_dir>/admin.token */
  guint key_timer_id;          /* key maintenance timeout */
  guint16 bound_port;          /* after actrd_server_listen() */
  gint64 started_at_us;        /* monotonic */
};

/* Creates the server: opens the database (and applies --dev), loads the
 * keys, resolves the TURN secret and admin token, registers all HTTP routes
 * and the signaling handler.  Takes ownership of @config on every path.
 * Does not listen yet.  Returns (transfer full) or NULL with @error. */
ActrdServer *actrd_server_new(ActrdConfig *config, GError **error);

/* Listens on config->listen_host:listen_port; the real port goes to
 * bound_port. */
gboolean actrd_server_listen(ActrdServer *server, GError **error);

/* Stops listening, closes connections (signaling first), frees everything.
 * NULL-safe. */
void actrd_server_free(ActrdServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdServer, actrd_server_free)

/* Applies --dev to @db: realm 1 (created if missing) and its allow-all
 * wildcard rule (added if missing). */
gboolean actrd_server_apply_dev(ActrdDb *db, GError **error);

/* Reads <data_dir>/admin.token, creating it (0600, random) if missing.
 * Returns (transfer full) or NULL with @error. */
char *actrd_admin_token_load(const char *data_dir, GError **error);

/* Current Unix time in seconds. */
gint64 actrd_now(void);

G_END_DECLS

#endif /* ACTRD_SERVER_H */
