/* actrd — configuration: defaults, actrd.toml and the command line, plus the
 * one GError domain shared by every actrd module.
 *
 * An ActrdConfig is filled once at start-up (defaults, then the file, then
 * command-line overrides) and is read-only afterwards.  Every actrd module
 * reads it through server->config.
 *
 * Thread: everything in actrd runs on the one server loop; a config is
 * never modified once the server exists.
 */
#ifndef ACTRD_CONFIG_H
#define ACTRD_CONFIG_H

#include <glib.h>

G_BEGIN_DECLS

#define ACTRD_ERROR (actrd_error_quark())
GQuark actrd_error_quark(void);

/* Codes are never renumbered; add new ones at the end. */
typedef enum {
  ACTRD_ERROR_CONFIG,    /* bad configuration or command-line value */
  ACTRD_ERROR_DB,        /* SQLite or file-system failure (message names the file) */
  ACTRD_ERROR_NOT_FOUND, /* no such realm / rule / key */
  ACTRD_ERROR_EXISTS,    /* the object already exists */
  ACTRD_ERROR_REALM,     /* realm validation failed (disabled, expired, ...) */
  ACTRD_ERROR_KEYS,      /* no usable signing key */
  ACTRD_ERROR_LISTEN,    /* could not listen on the configured address */
} ActrdError;

typedef struct {
  /* [server] */
  char *listen_host;   /* "127.0.0.1" */
  guint16 listen_port; /* 8081; 0 picks a free port */
  char *data_dir;      /* "./actrd-data" */
  gboolean dev;        /* --dev: open realm 1, see docs/actrd.md */

  /* [ais] */
  guint heartbeat_interval_secs; /* 30 */
  guint64 token_ttl_secs;        /* 3600: credential and TURN credential lifetime */
  guint64 key_ttl_secs;          /* 3600: signing key lifetime */
  guint64 key_tolerance_secs;    /* 3600: a key still verifies this long after it expires */
  guint64 key_rotate_lead_secs;  /* 600: rotate this long before the current key expires */
  gsize max_body_bytes;          /* 1 MiB: larger HTTP bodies get 413 */
  double ais_rate_per_sec;       /* 0.5 tokens per second per client IP */
  double ais_burst;              /* 100 */

  /* [turn] */
  char *turn_secret; /* shared with coturn; NULL in the file = <data_dir>/turn.secret */
  char *turn_realm;  /* "actrd.local" (informational; coturn's --realm) */

  /* [signaling] */
  gsize max_frame_bytes;    /* signaling frame limit, 1 MiB */
  guint conn_max_per_ip;    /* 100 */
  double conn_rate_per_sec; /* 1/s */
  double conn_burst;        /* 10 */
  double msg_rate_per_sec;  /* 10/s per connection */
  double msg_burst;         /* 50 */

  char *config_path; /* the file read, or NULL */
} ActrdConfig;

/* A config holding the defaults above (transfer full). */
ActrdConfig *actrd_config_new(void);
void actrd_config_free(ActrdConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdConfig, actrd_config_free)

/* Reads actrd.toml at @path over the current values.  Unknown keys and
 * wrong types are errors (ACTRD_ERROR_CONFIG, "PATH:LINE: ..."). */
gboolean actrd_config_load_file(ActrdConfig *config, const char *path, GError **error);

/* Parses "HOST:PORT" ("[v6]:PORT" too) into listen_host/listen_port. */
gboolean actrd_config_set_listen(ActrdConfig *config, const char *host_port, GError **error);

/* Fills turn_secret from <data_dir>/turn.secret when the configuration gave
 * none, generating the file (0600) on first use.  Needs the data dir. */
gboolean actrd_config_resolve_turn_secret(ActrdConfig *config, GError **error);

G_END_DECLS

#endif /* ACTRD_CONFIG_H */
