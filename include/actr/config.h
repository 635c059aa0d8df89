/* actr — node configuration (actr.toml).
 *
 * actr_config_load_file() reads a node's actr.toml into an ActrConfig, a
 * plain struct whose fields the runtime reads directly.  Every section and
 * key of the reference implementation's actr.toml is accepted (runtime.md
 * §16), so an existing file keeps working; docs/config.md is the full
 * reference of every key.
 *
 * Errors (GError domain ACTR_CONFIG_ERROR):
 * - ACTR_CONFIG_ERROR_IO: the file cannot be read ("PATH: reason");
 * - ACTR_CONFIG_ERROR_PARSE: the file is not valid TOML ("FILE:LINE: what");
 * - ACTR_CONFIG_ERROR_INVALID: a key is missing, has the wrong type or an
 *   invalid value: "FILE:LINE: [section] key: what is wrong", where LINE is
 *   the line of the offending value (for a missing key: the line of the
 *   section header, or 1 when the section is missing too).
 * No message, error or log line ever contains the value of realm_secret or
 * pubkey_b64.
 *
 * Unknown keys and sections are not errors: each one is logged once with
 * g_warning ("FILE:LINE: [section] unknown key 'k' ignored") and skipped.
 *
 * Differences from the reference, all deliberate and documented in
 * docs/config.md:
 * - [storage] mailbox_path is honoured (the reference parses and drops it);
 * - additions: [storage] durability, max_delivery_attempts, dedup_ttl_secs,
 *   dedup_max_entries and [hyper] mailbox_backpressure_threshold (a
 *   programmatic-only field in the reference);
 * - a file without any trust anchor loads, with trust kind dev_only and a
 *   g_info notice (shown with -v), and trust_source = ACTR_TRUST_SOURCE_DEFAULT (the
 *   reference refuses such a file when it builds the node; a runtime that
 *   verifies signed packages should refuse a defaulted anchor too).
 *
 * Thread-safety: loading is re-entrant.  A loaded ActrConfig is not
 * modified by the library and may be read from any thread.
 */
#ifndef ACTR_CONFIG_H
#define ACTR_CONFIG_H

#include <glib.h>
#include <actr/macros.h>
#include <actr/types.h>
#include <actr/store.h>

ACTR_BEGIN_DECLS

#define ACTR_CONFIG_ERROR (actr_config_error_quark())
ACTR_API GQuark actr_config_error_quark(void);

/* Codes of ACTR_CONFIG_ERROR; numbers are never reused. */
typedef enum {
  ACTR_CONFIG_ERROR_IO = 0,      /* the file cannot be read */
  ACTR_CONFIG_ERROR_PARSE = 1,   /* not valid TOML (subset of toml.h) */
  ACTR_CONFIG_ERROR_INVALID = 2, /* valid TOML, invalid configuration */
} ActrConfigErrorCode;

/* [acl] rules[].permission ("ALLOW" / "DENY", case-insensitive). */
typedef enum {
  ACTR_ACL_ALLOW,
  ACTR_ACL_DENY,
} ActrAclPermission;

/* [acl] rules[].realm. */
typedef enum {
  ACTR_ACL_REALM_SELF, /* realm omitted or "self": the node's own realm */
  ACTR_ACL_REALM_ANY,  /* "*": any realm */
  ACTR_ACL_REALM_ID,   /* an integer: that realm */
} ActrAclRealm;

/* One ACL rule (runtime.md §4).  A rule matches a caller whose ActrType
 * equals @type exactly (manufacturer, name and version) and whose realm
 * matches @realm. */
typedef struct {
  ActrAclPermission permission;
  ActrType type; /* parsed from "manufacturer:name:version" */
  ActrAclRealm realm;
  guint32 realm_id; /* REALM_ID: that realm; REALM_SELF: the config's
                     * realm_id at load time; REALM_ANY: 0 */
  guint line;       /* line of the rule in the file */
} ActrAclRule;

/* How packages are verified ([hyper.trust] or [[trust]]). */
typedef enum {
  ACTR_TRUST_DEV_ONLY, /* development only: accept unsigned packages */
  ACTR_TRUST_STATIC,   /* one fixed Ed25519 public key */
  ACTR_TRUST_REGISTRY, /* fetch manufacturer keys from a registry (MFR) */
} ActrTrustKind;

/* Where the trust chain came from. */
typedef enum {
  ACTR_TRUST_SOURCE_HYPER,   /* [hyper.trust] (preferred when present) */
  ACTR_TRUST_SOURCE_ARRAY,   /* one or more [[trust]] entries */
  ACTR_TRUST_SOURCE_DEFAULT, /* none in the file: a dev_only default */
} ActrTrustSource;

/* One trust anchor. */
typedef struct {
  ActrTrustKind kind;
  char *pubkey_file; /* STATIC: path of a JSON file with "public_key", as
                      * written (relative = to the working directory), or
                      * NULL when pubkey_b64 is used */
  char *pubkey_b64;  /* STATIC: base64 of the 32-byte key (checked at
                      * load), or NULL.  Never log it. */
  char *endpoint;    /* REGISTRY: http(s) URL as written; the provider
                      * strips a trailing "/ais" (runtime.md §16.2) */
  guint line;        /* line of the anchor's table; 0 for the default */
} ActrTrustAnchor;

/* [storage] durability (our addition).  The values equal those of
 * ActrStoreDurability (store.h), so the runtime can pass them through. */
typedef enum {
  ACTR_DURABILITY_NORMAL = 0, /* "normal": survives a process crash (default) */
  ACTR_DURABILITY_FULL = 1,   /* "full": every commit is fsynced */
} ActrDurability;

/* A loaded actr.toml.  Every field is set (to its default when the key is
 * absent); strings are owned by the struct and freed by actr_config_free().
 * "Ours" marks our additions, unknown to the reference. */
typedef struct {
  /* `edition`: default 1; only 1 is accepted. */
  int edition;

  /* The name used in messages: the path given to actr_config_load_file()
   * or the origin given to actr_config_load_data() (never NULL). */
  char *origin;
  /* Absolute directory of the file; NULL for actr_config_load_data(). */
  char *config_dir;

  struct {
    /* [package] name: default NULL. */
    char *name;
    /* [package] actr_type ("manufacturer:name:version"), valid only when
     * has_actr_type; it overrides the workload's own type. */
    gboolean has_actr_type;
    ActrType actr_type;
    /* [package] path: default NULL; not read by the node. */
    char *path;
  } package;

  /* [signaling] url: required; a ws:// or wss:// URL with a host. */
  char *signaling_url;
  /* [ais_endpoint] url: required; an http:// or https:// URL with a host.
   * Kept as written. */
  char *ais_endpoint;
  /* [deployment] realm_id: required; 0 .. 4294967295. */
  guint32 realm_id;
  /* [deployment] realm_secret: default NULL.  Never log it. */
  char *realm_secret;
  /* [discovery] visible: default TRUE; not read by the node. */
  gboolean visible_in_discovery;

  /* [acl]: acl_present is FALSE when the file has no [acl] section (the
   * node then allows every caller, runtime.md §4 rule 2).  When present,
   * acl_rules holds n_acl_rules rules in file order; zero rules (an empty
   * list or no `rules` key) denies every remote caller. */
  gboolean acl_present;
  ActrAclRule *acl_rules;
  guint n_acl_rules;

  struct {
    /* [storage] mailbox_path: default NULL, meaning
     * "<storage dir>/mailbox.db" (see actr_config_mailbox_path()).  A
     * leading "~/" is expanded; a relative path is relative to the working
     * directory.  Honoured, unlike the reference (which always uses an
     * in-memory mailbox). */
    char *mailbox_path;
    /* Ours: [storage] durability, default NORMAL. */
    ActrDurability durability;
    /* Ours: [storage] max_delivery_attempts, default 3, >= 1. */
    guint32 max_delivery_attempts;
    /* Ours: [storage] dedup_ttl_secs, default 600, >= 1. */
    guint32 dedup_ttl_secs;
    /* Ours: [storage] dedup_max_entries, default 100000, >= 1. */
    guint32 dedup_max_entries;
  } storage;

  struct {
    /* Ours: [webrtc] enabled, default TRUE.  FALSE: never use WebRTC; peers
     * are reached by WebSocket direct-connect only. */
    gboolean enabled;
    /* Ours: [webrtc] host_addresses: IPv4 literals to gather host candidates
     * on, NULL-terminated, never NULL; empty (default) = every interface
     * that is up, loopback included. */
    char **host_addresses;
    /* [webrtc] stun_urls / turn_urls: NULL-terminated, never NULL, default
     * empty; each starts with "stun:"/"stuns:" resp. "turn:"/"turns:".
     * TURN credentials come from registration. */
    char **stun_urls;
    char **turn_urls;
    /* [webrtc] force_relay: default FALSE (ICE transport policy "all"). */
    gboolean force_relay;
    /* [webrtc] port_range_start / port_range_end: both or neither;
     * 1 .. 65535 and start < end.  has_port_range is TRUE when given. */
    gboolean has_port_range;
    guint16 port_range_start;
    guint16 port_range_end;
    /* [webrtc] public_ips: IPv4/IPv6 literals, NULL-terminated, never NULL,
     * default empty; honoured only together with a port range. */
    char **public_ips;
    /* [webrtc] ice_{host,srflx,prflx,relay}_acceptance_min_wait, in ms:
     * defaults 0, 20, 40, 100. */
    guint32 ice_host_acceptance_min_wait_ms;
    guint32 ice_srflx_acceptance_min_wait_ms;
    guint32 ice_prflx_acceptance_min_wait_ms;
    guint32 ice_relay_acceptance_min_wait_ms;
  } webrtc;

  struct {
    /* [websocket] listen_port: enabled is FALSE when absent (no direct
     * WebSocket server); 0 means "pick a free port". */
    gboolean enabled;
    guint16 listen_port;
    /* [websocket] advertised_host: default "127.0.0.1". */
    char *advertised_host;
  } websocket;

  /* [observability]: read by the host/CLI, not by the node. */
  struct {
    char *filter_level;         /* default "info" */
    gboolean tracing_enabled;   /* default FALSE */
    char *tracing_endpoint;     /* default "http://localhost:4317" */
    char *tracing_service_name; /* default: [package] name, else "actr" */
  } observability;

  /* The effective trust chain: [hyper.trust] alone when present, else the
   * [[trust]] entries in file order (first match wins), else one dev_only
   * anchor with trust_source DEFAULT.  Never empty. */
  ActrTrustSource trust_source;
  ActrTrustAnchor *trust;
  guint n_trust;

  struct {
    /* [hyper] data_dir: default "$HOME/.actr/hyper".  A leading "~/" is
     * expanded; a relative path is relative to the working directory. */
    char *data_dir;
    /* [hyper] storage_path_template: default "{data_dir}/{actr_type}";
     * variable names are checked at load (see actr_config_storage_dir()). */
    char *storage_path_template;
    /* Line of the template in the file (or of [hyper], or 1), used in
     * expansion errors. */
    guint storage_path_template_line;
    /* Ours as a file key: [hyper] mailbox_backpressure_threshold, default
     * 1024, >= 1 (programmatic-only in the reference). */
    guint32 mailbox_backpressure_threshold;
    /* Not a file key: the runtime may set it (g_strdup'd; freed by
     * actr_config_free()) to the instance UID before expanding the
     * template.  NULL expands to "". */
    char *instance_id;
  } hyper;

  /* [scripts]: name -> command (both char*) for every string value; other
   * values are ignored.  Never NULL.  [capabilities], [web] and
   * [deployment] ais_endpoint are accepted and ignored, as in the
   * reference. */
  GHashTable *scripts;
} ActrConfig;

/* Reads and validates the file at @path (the origin in messages).  Returns
 * a new config (transfer full; free with actr_config_free()) or NULL with
 * @error set. */
ACTR_API ActrConfig *actr_config_load_file(const char *path, GError **error);

/* Same for @len bytes of @data; @origin (nullable, default "<config>") names
 * the input in messages.  config_dir is NULL. */
ACTR_API ActrConfig *actr_config_load_data(const char *data, gsize len, const char *origin,
                                           GError **error);

/* Frees @config and everything it owns; NULL is allowed. */
ACTR_API void actr_config_free(ActrConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrConfig, actr_config_free)

/* Expands hyper.storage_path_template for @actr_type (nullable: NULL means
 * package.actr_type, which must then be set).  Variables:
 *   {data_dir}      hyper.data_dir
 *   {hostname}      g_get_host_name()
 *   {manufacturer}  {actr_name}  {version}   the fields of the type
 *   {actr_type}     "manufacturer/name/version"
 *   {realm_id}      realm_id in decimal
 *   {instance_id}   hyper.instance_id, or "" when NULL
 *   {env.VAR}       the environment variable VAR (must be set)
 * Any other {...}, an unset variable, an unterminated '{', or a type field
 * that is empty or not usable as one path component ("/", ".", "..") is
 * ACTR_CONFIG_ERROR_INVALID ("FILE:LINE: [hyper] storage_path_template:
 * ...").  The result is relative when data_dir is.  Returns (transfer full)
 * or NULL. */
ACTR_API char *actr_config_storage_dir(const ActrConfig *config, const ActrType *actr_type,
                                       GError **error);

/* storage.mailbox_path when set, else "<storage dir>/mailbox.db" (see
 * actr_config_storage_dir() for @actr_type and the errors).  Returns
 * (transfer full) or NULL. */
ACTR_API char *actr_config_mailbox_path(const ActrConfig *config, const ActrType *actr_type,
                                        GError **error);

/* Fills @options for actr_store_open() from the [storage] section
 * (durability, max_delivery_attempts, dedup_ttl_secs, dedup_max_entries);
 * other options keep their defaults. */
ACTR_API void actr_config_get_store_options(const ActrConfig *config, ActrStoreOptions *options);

ACTR_END_DECLS

#endif /* ACTR_CONFIG_H */
