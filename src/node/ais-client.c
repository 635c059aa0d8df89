/* Node-side AIS HTTP client.  Contract: ais-client.h. */
#include "ais-client.h"

#include <libsoup/soup.h>
#include <string.h>

#include "actr-id.h"
#include "codec.h"

#define AIS_TIMEOUT_SECS 30
#define AIS_CONTENT_TYPE "application/x-protobuf"

G_DEFINE_QUARK(actr - ais - error - quark, actr_ais_error)
G_DEFINE_QUARK(actr - ais - server - error - quark, actr_ais_server_error)

void
actr_ais_registration_free(ActrAisRegistration *reg)
{
  if (reg == NULL)
    return;
  actr_id_clear(&reg->actr_id);
  actr_credential_free(reg->credential);
  g_free(reg->turn_username);
  if (reg->turn_password != NULL)
    memset(reg->turn_password, 0, strlen(reg->turn_password));
  g_free(reg->turn_password);
  g_free(reg);
}

char *
actr_ais_register_url(const char *endpoint)
{
  gsize len;

  g_return_val_if_fail(endpoint != NULL, NULL);
  len = strlen(endpoint);
  while (len > 0 && endpoint[len - 1] == '/')
    len--;
  return g_strdup_printf("%.*s/register", (int)len, endpoint);
}

/* Encodes the RegisterRequest of @params (transfer full): LINKED, or
 * PACKAGE when it carries a manifest. */
static GBytes *
encode_request(const ActrAisRegisterParams *params)
{
  Actr__RegisterRequest req = ACTR__REGISTER_REQUEST__INIT;
  Actr__ActrType type;
  Actr__Realm realm = ACTR__REALM__INIT;

  actr_type_to_pb(params->actr_type, &type);
  realm.realm_id = params->realm_id;
  req.actr_type = &type;
  req.realm = &realm;
  req.acl = (Actr__Acl *)params->acl;
  req.ws_address = (char *)params->ws_address;
  req.has_auth_mode = TRUE;
  req.auth_mode = ACTR__REGISTER_AUTH_MODE__LINKED;
  if (params->manifest_raw != NULL && params->mfr_signature != NULL) {
    gsize len;
    req.auth_mode = ACTR__REGISTER_AUTH_MODE__PACKAGE;
    req.has_manifest_raw = TRUE;
    req.manifest_raw.data = (guint8 *)g_bytes_get_data(params->manifest_raw, &len);
    req.manifest_raw.len = len;
    req.has_mfr_signature = TRUE;
    req.mfr_signature.data = (guint8 *)g_bytes_get_data(params->mfr_signature, &len);
    req.mfr_signature.len = len;
    req.target = (char *)params->target;
  }
  return actr_proto_message_encode(&req.base);
}

/* Turns the HTTP outcome into a registration or an error. */
static ActrAisRegistration *
parse_response(SoupMessage *msg, GBytes *body, GError **error)
{
  g_autoptr(GError) local = NULL;
  Actr__RegisterResponse *resp;
  const Actr__RegisterResponse__RegisterOk *ok;
  ActrAisRegistration *reg;
  guint status = soup_message_get_status(msg);
  gsize len;
  const guint8 *data;

  if (!SOUP_STATUS_IS_SUCCESSFUL(status)) {
    g_set_error(error, ACTR_AIS_ERROR, ACTR_AIS_ERROR_HTTP, "AIS register: HTTP %u %s", status,
                soup_message_get_reason_phrase(msg) ? soup_message_get_reason_phrase(msg) : "");
    return NULL;
  }
  data = g_bytes_get_data(body, &len);
  resp = (Actr__RegisterResponse *)actr_proto_message_decode(&actr__register_response__descriptor,
                                                             data, len, &local);
  if (resp == NULL) {
    g_set_error(error, ACTR_AIS_ERROR, ACTR_AIS_ERROR_DECODE,
                "AIS register: undecodable response: %s", local->message);
    return NULL;
  }
  if (resp->result_case == ACTR__REGISTER_RESPONSE__RESULT_ERROR) {
    g_set_error_literal(error, ACTR_AIS_SERVER_ERROR, (gint)resp->error->code,
                        resp->error->message);
    actr_proto_message_free(&resp->base);
    return NULL;
  }
  if (resp->result_case != ACTR__REGISTER_RESPONSE__RESULT_SUCCESS ||
      resp->success->signing_pubkey.len != ACTR_ED25519_PUBLIC_KEY_SIZE) {
    g_set_error_literal(error, ACTR_AIS_ERROR, ACTR_AIS_ERROR_DECODE,
                        resp->result_case == ACTR__REGISTER_RESPONSE__RESULT_SUCCESS
                            ? "AIS register: signing_pubkey is not 32 bytes"
                            : "AIS register: response has no result");
    actr_proto_message_free(&resp->base);
    return NULL;
  }
  ok = resp->success;
  reg = g_new0(ActrAisRegistration, 1);
  actr_id_from_pb(ok->actr_id, &reg->actr_id);
  reg->credential = g_new0(ActrCredential, 1);
  reg->credential->key_id = ok->credential->key_id;
  reg->credential->claims = g_bytes_new(ok->credential->claims.data, ok->credential->claims.len);
  reg->credential->signature =
      g_bytes_new(ok->credential->signature.data, ok->credential->signature.len);
  reg->turn_username = g_strdup(ok->turn_credential->username);
  reg->turn_password = g_strdup(ok->turn_credential->password);
  reg->turn_expires_at = ok->turn_credential->expires_at;
  if (ok->credential_expires_at != NULL && ok->credential_expires_at->seconds > 0)
    reg->credential_expires_at = (guint64)ok->credential_expires_at->seconds;
  reg->heartbeat_interval_secs =
      ok->signaling_heartbeat_interval_secs ? ok->signaling_heartbeat_interval_secs : 30;
  reg->signing_key_id = ok->signing_key_id;
  memcpy(reg->signing_pubkey, ok->signing_pubkey.data, ACTR_ED25519_PUBLIC_KEY_SIZE);
  actr_proto_message_free(&resp->base);
  return reg;
}

/* Per-request state: the GTask's task data. */
typedef struct {
  SoupSession *session;
  SoupMessage *msg;
} RegisterOp;

static void
register_op_free(RegisterOp *op)
{
  g_clear_object(&op->msg);
  g_clear_object(&op->session);
  g_free(op);
}

static void
on_register_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  RegisterOp *op = g_task_get_task_data(task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  ActrAisRegistration *reg;

  body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
  if (body == NULL) {
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_task_return_error(task, g_steal_pointer(&error));
      return;
    }
    g_task_return_new_error(task, ACTR_AIS_ERROR, ACTR_AIS_ERROR_TRANSPORT, "AIS register: %s",
                            error->message);
    return;
  }
  reg = parse_response(op->msg, body, &error);
  if (reg == NULL)
    g_task_return_error(task, g_steal_pointer(&error));
  else
    g_task_return_pointer(task, reg, (GDestroyNotify)actr_ais_registration_free);
}

void
actr_ais_register_async(const char *endpoint, const ActrAisRegisterParams *params,
                        GMainContext *context, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GUri) uri = NULL;
  SoupMessageHeaders *headers;
  RegisterOp *op;

  g_main_context_push_thread_default(context);
  task = g_task_new(NULL, cancellable, callback, user_data);
  g_task_set_source_tag(task, actr_ais_register_async);
  if (endpoint == NULL || params == NULL || params->actr_type == NULL) {
    g_task_return_new_error(task, ACTR_AIS_ERROR, ACTR_AIS_ERROR_INVALID,
                            "AIS register: missing endpoint or actr_type");
    goto out;
  }
  url = actr_ais_register_url(endpoint);
  uri = g_uri_parse(url, SOUP_HTTP_URI_FLAGS, NULL);
  if (uri == NULL) {
    g_task_return_new_error(task, ACTR_AIS_ERROR, ACTR_AIS_ERROR_INVALID,
                            "AIS register: invalid endpoint URL \"%s\"", endpoint);
    goto out;
  }
  op = g_new0(RegisterOp, 1);
  g_task_set_task_data(task, op, (GDestroyNotify)register_op_free);
  op->session = soup_session_new_with_options("timeout", AIS_TIMEOUT_SECS, "idle-timeout",
                                              AIS_TIMEOUT_SECS, "proxy-resolver", NULL, NULL);
  op->msg = soup_message_new_from_uri("POST", uri);
  headers = soup_message_get_request_headers(op->msg);
  soup_message_headers_replace(headers, "Accept", AIS_CONTENT_TYPE);
  if (params->realm_secret != NULL)
    soup_message_headers_replace(headers, "x-actrix-realm-secret", params->realm_secret);
  body = encode_request(params);
  soup_message_set_request_body_from_bytes(op->msg, AIS_CONTENT_TYPE, body);
  soup_session_send_and_read_async(op->session, op->msg, G_PRIORITY_DEFAULT, cancellable,
                                   on_register_done, g_object_ref(task));
out:
  g_main_context_pop_thread_default(context);
}

ActrAisRegistration *
actr_ais_register_finish(GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}
