/* Fuzz target: the signaling envelope handler (src/actrd/actrd-signaling.c)
 * through detached sessions, without network.
 *
 * Set-up (once): a temporary data directory with a real database and
 * signing key, realm 1 open, and two sessions A (1/0x10) and B (1/0x20).
 *
 * Each input is fed twice to A:
 * 1. as is (mostly undecodable or rejected at the credential check), then
 * 2. when it decodes as a SignalingEnvelope carrying actr_to_server or
 *    actr_relay: with A's identity as source and A's valid credential
 *    patched in (the fuzzer cannot forge Ed25519 signatures), so that every
 *    request handler and relay path is reached.
 * Invariants: nothing crashes or leaks, and everything the server sends
 * to A or B decodes as a SignalingEnvelope.  A session closed by an
 * undecodable frame is replaced. */
#include <actr/identity.h>

#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "actr-id.h"
#include "actrd-signaling.h"
#include "envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

typedef struct {
  ActrId id;
  ActrCredential *cred;
  ActrdSignalingSession *session;
} Peer;

static struct {
  gboolean ready;
  char *dir;
  ActrdServer server;
  ActrdSignaling *sig;
  Peer a, b;
} F;

static void
check_output(const guint8 *data, gsize len, gpointer user_data)
{
  Signaling__SignalingEnvelope *env = actr_signaling_envelope_decode(data, len, NULL);
  FUZZ_CHECK(env != NULL);
  FUZZ_CHECK(env->envelope_version == 1);
  actr_signaling_envelope_free(env);
}

static void
peer_open(Peer *p, guint64 serial)
{
  guint32 key_id;
  guint8 pub[32];
  gint64 expires;
  const ActrSigningKey *key;

  if (p->cred == NULL) {
    p->id.realm_id = 1;
    p->id.serial_number = serial;
    FUZZ_CHECK(actr_type_parse("acme:echo:1.0.0", &p->id.type, NULL));
    key = actrd_keys_current(F.server.keys, &key_id, pub, &expires, NULL);
    FUZZ_CHECK(key != NULL);
    p->cred = actr_credential_issue(key, key_id, &p->id,
                                    (guint64)(g_get_real_time() / G_USEC_PER_SEC + 86400), NULL);
    FUZZ_CHECK(p->cred != NULL);
  }
  p->session = actrd_signaling_session_new(F.sig, &p->id, FALSE, check_output, NULL);
}

static void
peer_close(Peer *p)
{
  g_clear_pointer(&p->session, actrd_signaling_session_free);
  g_clear_pointer(&p->cred, actr_credential_free);
  actr_id_clear(&p->id);
}

static void
teardown(void)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!F.ready)
    return;
  peer_close(&F.a);
  peer_close(&F.b);
  actrd_signaling_free(F.sig);
  while (g_main_context_iteration(NULL, FALSE))
    ;
  actrd_keys_free(F.server.keys);
  actrd_db_close(F.server.db);
  actrd_config_free(F.server.config);
  dir = g_dir_open(F.dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
    g_autofree char *path = g_build_filename(F.dir, name, NULL);
    g_unlink(path);
  }
  g_rmdir(F.dir);
  g_free(F.dir);
  F.ready = FALSE;
}

static void
setup(void)
{
  ActrdAclRule open = {0, 1, FALSE, 1, (char *)"*", (char *)"*", TRUE};

  F.dir = g_dir_make_tmp("fuzz-signaling-XXXXXX", NULL);
  FUZZ_CHECK(F.dir != NULL);
  F.server.config = actrd_config_new();
  F.server.config->msg_rate_per_sec = 1e9; /* the limiter is not under test here */
  F.server.config->msg_burst = 1e9;
  F.server.db = actrd_db_open(F.dir, NULL);
  FUZZ_CHECK(F.server.db != NULL);
  F.server.keys = actrd_keys_new(F.server.db, 3600, 3600, 600, NULL);
  FUZZ_CHECK(F.server.keys != NULL);
  FUZZ_CHECK(actrd_db_realm_create(F.server.db, 1, "fuzz", NULL, NULL));
  FUZZ_CHECK(actrd_db_acl_add(F.server.db, &open, NULL, NULL));
  F.sig = actrd_signaling_new(&F.server, NULL);
  FUZZ_CHECK(F.sig != NULL);
  peer_open(&F.a, 0x10);
  peer_open(&F.b, 0x20);
  F.ready = TRUE;
  atexit(teardown);
}

static void
feed_a(const guint8 *data, gsize len)
{
  if (!actrd_signaling_session_feed(F.a.session, data, len)) {
    g_clear_pointer(&F.a.session, actrd_signaling_session_free);
    peer_open(&F.a, 0x10);
  }
}

/* Re-encodes @env with A's identity and credential as the sender. */
static void
feed_patched(Signaling__SignalingEnvelope *env)
{
  ActrIdPb source;
  Actr__AIdCredential cred = ACTR__AID_CREDENTIAL__INIT;
  Actr__ActrId *saved_source = NULL;
  Actr__AIdCredential *saved_cred = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize len;

  actr_id_to_pb(&F.a.id, &source);
  cred.key_id = F.a.cred->key_id;
  cred.claims.data = (guint8 *)g_bytes_get_data(F.a.cred->claims, &len);
  cred.claims.len = len;
  cred.signature.data = (guint8 *)g_bytes_get_data(F.a.cred->signature, &len);
  cred.signature.len = len;

  if (env->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER) {
    saved_source = env->actr_to_server->source;
    saved_cred = env->actr_to_server->credential;
    env->actr_to_server->source = &source.id;
    env->actr_to_server->credential = &cred;
    bytes = actr_signaling_envelope_encode(env);
    env->actr_to_server->source = saved_source;
    env->actr_to_server->credential = saved_cred;
  } else {
    saved_source = env->actr_relay->source;
    saved_cred = env->actr_relay->credential;
    env->actr_relay->source = &source.id;
    env->actr_relay->credential = &cred;
    bytes = actr_signaling_envelope_encode(env);
    env->actr_relay->source = saved_source;
    env->actr_relay->credential = saved_cred;
  }
  feed_a(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  Signaling__SignalingEnvelope *env;

  if (!F.ready)
    setup();

  feed_a(data, size);

  env = actr_signaling_envelope_decode(data, size, NULL);
  if (env != NULL) {
    if (env->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER ||
        env->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY)
      feed_patched(env);
    actr_signaling_envelope_free(env);
  }
  while (g_main_context_iteration(NULL, FALSE))
    ;
  return 0;
}
