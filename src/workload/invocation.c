/* actr — per-request workload context and host table.  See invocation.h. */
#include "invocation.h"

#include <actr/error.h>
#include <string.h>

struct ActrInvocationCtx {
  ActrStore *store;
  char *self_id, *caller_id, *request_id;
  GBytes *response;
  int32_t fail_code; /* 0 = none */
  char *fail_message;
  GHashTable *writes;    /* key -> GBytes* (value) or NULL (delete); in order below */
  GPtrArray *write_keys; /* keys in first-write order (owned by writes) */
  GPtrArray *keep;       /* GBytes handed to the guest, alive until free */
  const ActrInvocationRouter *router;
  gpointer router_data;
  gboolean in_stream_callback;
  gboolean state_read_only; /* not a request handler: writes could never commit */
  GHashTable *overlay;      /* uncommitted writes of earlier handlers (borrowed), or NULL */
};

/* Values may be NULL (a delete). */
static void
bytes_unref0(gpointer bytes)
{
  if (bytes)
    g_bytes_unref(bytes);
}

ActrInvocationCtx *
actr_invocation_new(ActrStore *store, const char *self_id, const char *caller_id,
                    const char *request_id)
{
  ActrInvocationCtx *ctx = g_new0(ActrInvocationCtx, 1);
  ctx->store = store;
  ctx->self_id = g_strdup(self_id);
  ctx->caller_id = g_strdup(caller_id);
  ctx->request_id = g_strdup(request_id);
  ctx->writes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, bytes_unref0);
  ctx->write_keys = g_ptr_array_new();
  ctx->keep = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  return ctx;
}

void
actr_invocation_free(ActrInvocationCtx *ctx)
{
  if (ctx == NULL)
    return;
  g_free(ctx->self_id);
  g_free(ctx->caller_id);
  g_free(ctx->request_id);
  g_clear_pointer(&ctx->response, g_bytes_unref);
  g_free(ctx->fail_message);
  g_ptr_array_unref(ctx->write_keys);
  g_hash_table_unref(ctx->writes);
  g_ptr_array_unref(ctx->keep);
  g_free(ctx);
}

void
actr_invocation_set_router(ActrInvocationCtx *ctx, const ActrInvocationRouter *router,
                           gpointer data)
{
  ctx->router = router;
  ctx->router_data = data;
}

/* ---- the host table ------------------------------------------------------- */

static void
host_respond(ActrInvocationCtx *ctx, const uint8_t *data, size_t len)
{
  g_clear_pointer(&ctx->response, g_bytes_unref);
  ctx->response = g_bytes_new(data, len);
}

static int32_t
host_fail(ActrInvocationCtx *ctx, int32_t code, const char *message)
{
  if (!actr_error_code_is_known((guint32)code))
    code = ACTR_ERROR_INTERNAL;
  ctx->fail_code = code;
  g_free(ctx->fail_message);
  ctx->fail_message = g_strdup(message ? message : "");
  return code;
}

static const char *
host_self_id(ActrInvocationCtx *ctx)
{
  return ctx->self_id;
}

static const char *
host_caller_id(ActrInvocationCtx *ctx)
{
  return ctx->caller_id;
}

static const char *
host_request_id(ActrInvocationCtx *ctx)
{
  return ctx->request_id;
}

/* Keeps @bytes alive until the context is freed and exposes it to the guest. */
static void
hand_out(ActrInvocationCtx *ctx, GBytes *bytes, const uint8_t **data, size_t *len)
{
  g_ptr_array_add(ctx->keep, bytes);
  gsize n;
  *data = g_bytes_get_data(bytes, &n);
  if (*data == NULL)
    *data = (const uint8_t *)"";
  *len = n;
}

static int32_t
host_state_get(ActrInvocationCtx *ctx, const char *key, const uint8_t **value, size_t *len)
{
  if (key == NULL || *key == '\0' || value == NULL || len == NULL)
    return ACTR_ERROR_INVALID_ARGUMENT;
  gpointer written;
  if (g_hash_table_lookup_extended(ctx->writes, key, NULL, &written)) {
    if (written == NULL)
      return ACTR_ERROR_NOT_FOUND; /* deleted by this handler */
    hand_out(ctx, g_bytes_ref(written), value, len);
    return ACTR_WORKLOAD_OK;
  }
  if (ctx->overlay != NULL && g_hash_table_lookup_extended(ctx->overlay, key, NULL, &written)) {
    if (written == NULL)
      return ACTR_ERROR_NOT_FOUND; /* deleted by an earlier, not yet committed handler */
    hand_out(ctx, g_bytes_ref(written), value, len);
    return ACTR_WORKLOAD_OK;
  }
  if (ctx->store == NULL)
    return ACTR_ERROR_NOT_FOUND;
  g_autoptr(GError) error = NULL;
  GBytes *committed = actr_store_state_get(ctx->store, key, &error);
  if (committed == NULL) {
    if (g_error_matches(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND))
      return ACTR_ERROR_NOT_FOUND;
    g_warning("state_get(%s): %s", key, error->message);
    return ACTR_ERROR_UNAVAILABLE;
  }
  hand_out(ctx, committed, value, len);
  return ACTR_WORKLOAD_OK;
}

/* Records a write (@value NULL = delete) in first-write order.  Replacing
 * keeps the stored key (g_hash_table_insert() frees the new one), so
 * write_keys stays valid. */
static void
record_write(ActrInvocationCtx *ctx, const char *key, GBytes *value)
{
  if (!g_hash_table_contains(ctx->writes, key)) {
    char *owned = g_strdup(key);
    g_ptr_array_add(ctx->write_keys, owned);
    g_hash_table_insert(ctx->writes, owned, value);
  } else {
    g_hash_table_insert(ctx->writes, g_strdup(key), value);
  }
}

static int32_t
host_state_put(ActrInvocationCtx *ctx, const char *key, const uint8_t *value, size_t len)
{
  if (key == NULL || *key == '\0' || (value == NULL && len > 0))
    return ACTR_ERROR_INVALID_ARGUMENT;
  if (ctx->state_read_only) {
    static gint told;
    if (g_atomic_int_compare_and_exchange(&told, 0, 1))
      g_message("state writes are committed with a request's reply; %s cannot write state "
                "(logged once)",
                ctx->request_id ? ctx->request_id : "this context");
    return ACTR_ERROR_INVALID_ARGUMENT;
  }
  if (ctx->store == NULL)
    return ACTR_ERROR_UNAVAILABLE;
  record_write(ctx, key, g_bytes_new(value, len));
  return ACTR_WORKLOAD_OK;
}

static int32_t
host_state_delete(ActrInvocationCtx *ctx, const char *key)
{
  if (key == NULL || *key == '\0')
    return ACTR_ERROR_INVALID_ARGUMENT;
  if (ctx->state_read_only) {
    static gint told;
    if (g_atomic_int_compare_and_exchange(&told, 0, 1))
      g_message("state writes are committed with a request's reply; %s cannot write state "
                "(logged once)",
                ctx->request_id ? ctx->request_id : "this context");
    return ACTR_ERROR_INVALID_ARGUMENT;
  }
  if (ctx->store == NULL)
    return ACTR_ERROR_UNAVAILABLE;
  record_write(ctx, key, NULL);
  return ACTR_WORKLOAD_OK;
}

static int32_t
route_failure(int32_t code, char *message, const char *op)
{
  if (message)
    g_debug("%s: %s", op, message);
  g_free(message);
  return code;
}

static int32_t
host_call(ActrInvocationCtx *ctx, const char *target, const char *route_key, const uint8_t *payload,
          size_t len, int64_t timeout_ms, const uint8_t **reply, size_t *reply_len)
{
  if (target == NULL || route_key == NULL || reply == NULL || reply_len == NULL ||
      (payload == NULL && len > 0))
    return ACTR_ERROR_INVALID_ARGUMENT;
  if (ctx->router == NULL || ctx->router->call == NULL)
    return ACTR_ERROR_UNAVAILABLE; /* not connected to the actor network yet */
  GBytes *answer = NULL;
  char *message = NULL;
  int32_t code = ctx->router->call(ctx->router_data, ctx, target, route_key, payload, len,
                                   timeout_ms, &answer, &message);
  if (code != ACTR_WORKLOAD_OK)
    return route_failure(code, message, "call");
  g_free(message);
  hand_out(ctx, answer ? answer : g_bytes_new(NULL, 0), reply, reply_len);
  return ACTR_WORKLOAD_OK;
}

static int32_t
host_tell(ActrInvocationCtx *ctx, const char *target, const char *route_key, const uint8_t *payload,
          size_t len)
{
  if (target == NULL || route_key == NULL || (payload == NULL && len > 0))
    return ACTR_ERROR_INVALID_ARGUMENT;
  if (ctx->router == NULL || ctx->router->tell == NULL)
    return ACTR_ERROR_UNAVAILABLE;
  char *message = NULL;
  int32_t code =
      ctx->router->tell(ctx->router_data, ctx, target, route_key, payload, len, &message);
  return route_failure(code, message, "tell");
}

static int32_t
host_discover(ActrInvocationCtx *ctx, const char *actr_type, const char **actr_id)
{
  if (actr_type == NULL || actr_id == NULL)
    return ACTR_ERROR_INVALID_ARGUMENT;
  if (ctx->router == NULL || ctx->router->discover == NULL)
    return ACTR_ERROR_UNAVAILABLE;
  char *id = NULL, *message = NULL;
  int32_t code = ctx->router->discover(ctx->router_data, ctx, actr_type, &id, &message);
  if (code != ACTR_WORKLOAD_OK) {
    g_free(id);
    return route_failure(code, message, "discover");
  }
  g_free(message);
  GBytes *kept = g_bytes_new_take(id, strlen(id) + 1);
  g_ptr_array_add(ctx->keep, kept);
  *actr_id = g_bytes_get_data(kept, NULL);
  return ACTR_WORKLOAD_OK;
}

static void
host_log(ActrInvocationCtx *ctx, int level, const char *message)
{
  GLogLevelFlags flags = level <= ACTR_LOG_ERROR  ? G_LOG_LEVEL_WARNING
                         : level == ACTR_LOG_WARN ? G_LOG_LEVEL_WARNING
                         : level == ACTR_LOG_INFO ? G_LOG_LEVEL_INFO
                                                  : G_LOG_LEVEL_DEBUG;
  g_log("actr-workload", flags, "[%s] %s", ctx->request_id ? ctx->request_id : "-",
        message ? message : "");
}

static int32_t
stream_registration(ActrInvocationCtx *ctx, const char *stream_id, gboolean registering)
{
  if (stream_id == NULL || stream_id[0] == '\0')
    return ACTR_ERROR_INVALID_ARGUMENT;
  if (registering && ctx->in_stream_callback)
    return ACTR_ERROR_NOT_IMPLEMENTED; /* UNSUPPORTED_OP in the reference */
  if (ctx->router == NULL || ctx->router->stream_registration == NULL)
    return ACTR_ERROR_UNAVAILABLE;
  char *message = NULL;
  int32_t code =
      ctx->router->stream_registration(ctx->router_data, ctx, stream_id, registering, &message);
  return route_failure(code, message, registering ? "register_stream" : "unregister_stream");
}

static int32_t
host_register_stream(ActrInvocationCtx *ctx, const char *stream_id)
{
  return stream_registration(ctx, stream_id, TRUE);
}

static int32_t
host_unregister_stream(ActrInvocationCtx *ctx, const char *stream_id)
{
  return stream_registration(ctx, stream_id, FALSE);
}

static int32_t
host_send_data_stream(ActrInvocationCtx *ctx, const char *target, const char *stream_id,
                      uint64_t sequence, const uint8_t *payload, size_t len, int lane)
{
  if (target == NULL || stream_id == NULL || stream_id[0] == '\0' || (payload == NULL && len > 0) ||
      (lane != ACTR_STREAM_RELIABLE && lane != ACTR_STREAM_LATENCY_FIRST))
    return ACTR_ERROR_INVALID_ARGUMENT;
  if (ctx->router == NULL || ctx->router->send_data_stream == NULL)
    return ACTR_ERROR_UNAVAILABLE;
  char *message = NULL;
  int32_t code = ctx->router->send_data_stream(ctx->router_data, ctx, target, stream_id, sequence,
                                               payload, len, lane, &message);
  return route_failure(code, message, "send_data_stream");
}

static const ActrHostApi host_api = {
    .abi_version = ACTR_WORKLOAD_ABI_VERSION,
    .size = sizeof(ActrHostApi),
    .respond = host_respond,
    .fail = host_fail,
    .self_id = host_self_id,
    .caller_id = host_caller_id,
    .request_id = host_request_id,
    .state_get = host_state_get,
    .state_put = host_state_put,
    .state_delete = host_state_delete,
    .call = host_call,
    .tell = host_tell,
    .discover = host_discover,
    .log = host_log,
    .register_stream = host_register_stream,
    .unregister_stream = host_unregister_stream,
    .send_data_stream = host_send_data_stream,
};

void
actr_invocation_set_state_read_only(ActrInvocationCtx *ctx)
{
  ctx->state_read_only = TRUE;
}

void
actr_invocation_set_state_overlay(ActrInvocationCtx *ctx, GHashTable *overlay)
{
  ctx->overlay = overlay;
}

void
actr_invocation_set_in_stream_callback(ActrInvocationCtx *ctx, gboolean in_callback)
{
  ctx->in_stream_callback = in_callback;
}

const ActrHostApi *
actr_invocation_host_api(void)
{
  return &host_api;
}

/* ---- results -------------------------------------------------------------- */

gboolean
actr_invocation_finish(ActrInvocationCtx *ctx, int32_t status, GBytes **response, GError **error)
{
  if (status == ACTR_WORKLOAD_OK && ctx->fail_code == 0) {
    *response = ctx->response ? g_bytes_ref(ctx->response) : g_bytes_new(NULL, 0);
    return TRUE;
  }
  /* A failed handler's state writes are discarded. */
  g_hash_table_remove_all(ctx->writes);
  g_ptr_array_set_size(ctx->write_keys, 0);
  int32_t code = ctx->fail_code ? ctx->fail_code : status;
  if (!actr_error_code_is_known((guint32)code))
    code = ACTR_ERROR_INTERNAL;
  const char *detail = ctx->fail_message ? ctx->fail_message : "workload returned an error";
  g_propagate_error(error, actr_error_new((ActrErrorCode)code, "%s", detail));
  return FALSE;
}

GArray *
actr_invocation_state_writes(ActrInvocationCtx *ctx)
{
  GArray *writes = g_array_new(FALSE, FALSE, sizeof(ActrStateWrite));
  for (guint i = 0; i < ctx->write_keys->len; i++) {
    const char *key = ctx->write_keys->pdata[i];
    ActrStateWrite w = {.key = key, .value = g_hash_table_lookup(ctx->writes, key)};
    g_array_append_val(writes, w);
  }
  return writes;
}
