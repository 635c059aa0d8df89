/* actr — node-side AIS HTTP client: POST <ais_endpoint>/register (wire.md
 * §3.1-§3.2, runtime.md §11.5).  Internal to libactr (not exported).
 *
 * One call = one libsoup session with a 30 s timeout and no proxy
 * resolver (the node talks to its AIS directly, and loopback tests must
 * never consult a system proxy).
 *
 * Thread/context: the request runs on the GMainContext given to
 * actr_ais_register_async() (NULL = the global default context), which
 * must be the thread-default context of the one thread that iterates it
 * (as GIO and libsoup require: their follow-up I/O attaches to the
 * thread-default context).  The callback is invoked there exactly once,
 * from a fresh dispatch (never from inside actr_ais_register_async()), so
 * it may re-enter this API.
 */
#ifndef ACTR_NODE_AIS_CLIENT_H
#define ACTR_NODE_AIS_CLIENT_H

#include <actr/identity.h>
#include <actr/types.h>
#include <gio/gio.h>

#include "actr.pb-c.h"

G_BEGIN_DECLS

#define ACTR_AIS_ERROR (actr_ais_error_quark())
GQuark actr_ais_error_quark(void);

/* Codes are never renumbered; add new ones at the end. */
typedef enum {
  ACTR_AIS_ERROR_TRANSPORT, /* connect/TLS/timeout/IO failure (message says which) */
  ACTR_AIS_ERROR_HTTP,      /* non-2xx HTTP status ("HTTP 429 ...") */
  ACTR_AIS_ERROR_DECODE,    /* the body is not a RegisterResponse, or has no result */
  ACTR_AIS_ERROR_INVALID,   /* bad arguments (endpoint URL, type) */
} ActrAisErrorCode;

/* RegisterResponse.error (the AIS refused): a GError in this domain whose
 * code IS the AIS code (e.g. 403 "Realm validation failed: ...", 401) and
 * whose message is the AIS message, unchanged. */
#define ACTR_AIS_SERVER_ERROR (actr_ais_server_error_quark())
GQuark actr_ais_server_error_quark(void);

/* What the node sends (LINKED mode, or PACKAGE with a manifest, §3.2).  All borrowed for the
 * duration of actr_ais_register_async() only (the request is encoded there). */
typedef struct {
  const ActrType *actr_type; /* required */
  guint32 realm_id;
  const Actr__Acl *acl;     /* nullable: no acl field */
  const char *ws_address;   /* nullable: "ws://host:port" of the WS listener */
  const char *realm_secret; /* nullable: x-actrix-realm-secret header */
  /* PACKAGE mode (wire.md §3.3) when set: the package's exact manifest
   * bytes, its manufacturer signature and binary target. */
  GBytes *manifest_raw;  /* nullable */
  GBytes *mfr_signature; /* nullable */
  const char *target;    /* nullable */
} ActrAisRegisterParams;

/* RegisterOk, decoded (all members owned). */
typedef struct {
  ActrId actr_id;
  ActrCredential *credential;
  char *turn_username;
  char *turn_password;
  guint64 turn_expires_at;
  guint64 credential_expires_at;   /* Unix seconds; 0 when absent */
  guint32 heartbeat_interval_secs; /* 0 already replaced by 30 */
  guint32 signing_key_id;
  guint8 signing_pubkey[ACTR_ED25519_PUBLIC_KEY_SIZE];
} ActrAisRegistration;

void actr_ais_registration_free(ActrAisRegistration *reg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrAisRegistration, actr_ais_registration_free)

/* "<endpoint without trailing '/'>/register" (transfer full). */
char *actr_ais_register_url(const char *endpoint);

/* Starts POST <endpoint>/register.  @endpoint is the configured
 * ais_endpoint, e.g. "http://127.0.0.1:8081/ais".  @context (nullable) is
 * where the I/O and @callback run.  @callback gets a GAsyncResult to pass to
 * actr_ais_register_finish().  Invalid arguments are reported through the
 * callback as ACTR_AIS_ERROR_INVALID. */
void actr_ais_register_async(const char *endpoint, const ActrAisRegisterParams *params,
                             GMainContext *context, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);

/* The registration (transfer full) or NULL with @error set
 * (ACTR_AIS_ERROR, or G_IO_ERROR_CANCELLED). */
ActrAisRegistration *actr_ais_register_finish(GAsyncResult *result, GError **error);

G_END_DECLS

#endif /* ACTR_NODE_AIS_CLIENT_H */
