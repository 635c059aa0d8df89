/* actr — loading native workloads.  See workload-loader.h. */
#include "workload-loader.h"

#include <actr/types.h>
#include <gmodule.h>
#include <stddef.h>

/* Written out: clang-format would split a hyphenated G_DEFINE_QUARK name. */
GQuark
actr_workload_error_quark(void)
{
  return g_quark_from_static_string("actr-workload-error-quark");
}

struct _ActrWorkload {
  char *path;
  GModule *module;
  const ActrWorkloadDescriptor *desc;
  void *instance;
  gboolean initialized;
};

/* TRUE when the guest's descriptor is large enough to contain @field. */
#define HAS_FIELD(desc, field)                                                                     \
  ((desc)->size >= offsetof(ActrWorkloadDescriptor, field) + sizeof((desc)->field))

ActrWorkload *
actr_workload_load(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  GError *module_error = NULL;
  GModule *module =
      g_module_open_full(path, G_MODULE_BIND_LOCAL | G_MODULE_BIND_LAZY, &module_error);
  if (module == NULL) {
    g_set_error(error, ACTR_WORKLOAD_ERROR, ACTR_WORKLOAD_ERROR_LOAD,
                "%s: cannot load workload: %s", path, module_error->message);
    g_error_free(module_error);
    return NULL;
  }
  gpointer symbol = NULL;
  if (!g_module_symbol(module, ACTR_WORKLOAD_SYMBOL, &symbol) || symbol == NULL) {
    g_set_error(error, ACTR_WORKLOAD_ERROR, ACTR_WORKLOAD_ERROR_SYMBOL,
                "%s: not an actr workload (no exported %s; see include/actr/workload.h)", path,
                ACTR_WORKLOAD_SYMBOL);
    g_module_close(module);
    return NULL;
  }
  const ActrWorkloadDescriptor *desc = symbol;
  const char *problem = NULL;
  if (desc->abi_version != ACTR_WORKLOAD_ABI_VERSION) {
    g_set_error(error, ACTR_WORKLOAD_ERROR, ACTR_WORKLOAD_ERROR_ABI,
                "%s: built for workload ABI %u, this node speaks ABI %u; rebuild it against "
                "this version's <actr/workload.h>",
                path, desc->abi_version, ACTR_WORKLOAD_ABI_VERSION);
    g_module_close(module);
    return NULL;
  }
  ActrType type;
  if (!HAS_FIELD(desc, handle))
    problem = "descriptor too small (size field)";
  else if (desc->name == NULL || desc->name[0] == '\0')
    problem = "descriptor has no name";
  else if (desc->handle == NULL)
    problem = "descriptor has no handle() function";
  else if (desc->actr_type == NULL || !actr_type_parse(desc->actr_type, &type, NULL))
    problem = "descriptor's actr_type is not a valid \"manufacturer:name:version\"";
  else
    actr_type_clear(&type);
  if (problem) {
    g_set_error(error, ACTR_WORKLOAD_ERROR, ACTR_WORKLOAD_ERROR_INVALID, "%s: %s", path, problem);
    g_module_close(module);
    return NULL;
  }
  ActrWorkload *w = g_new0(ActrWorkload, 1);
  w->path = g_strdup(path);
  w->module = module;
  w->desc = desc;
  return w;
}

gboolean
actr_workload_init(ActrWorkload *w, const ActrHostApi *host, GError **error)
{
  g_return_val_if_fail(w != NULL && host != NULL && !w->initialized, FALSE);
  int32_t status = w->desc->init ? w->desc->init(host, &w->instance) : 0;
  if (status != ACTR_WORKLOAD_OK) {
    g_set_error(error, ACTR_WORKLOAD_ERROR, ACTR_WORKLOAD_ERROR_INIT,
                "%s: workload %s failed to initialise (status %d)", w->path, w->desc->name, status);
    return FALSE;
  }
  w->initialized = TRUE;
  return TRUE;
}

void
actr_workload_free(ActrWorkload *w)
{
  if (w == NULL)
    return;
  if (w->initialized && HAS_FIELD(w->desc, fini) && w->desc->fini)
    w->desc->fini(w->instance);
  g_module_close(w->module);
  g_free(w->path);
  g_free(w);
}

const char *
actr_workload_get_path(const ActrWorkload *w)
{
  return w->path;
}

const char *
actr_workload_get_name(const ActrWorkload *w)
{
  return w->desc->name;
}

const char *
actr_workload_get_actr_type(const ActrWorkload *w)
{
  return w->desc->actr_type;
}

int32_t
actr_workload_handle(ActrWorkload *w, ActrInvocationCtx *ctx, const char *route_key,
                     const guint8 *payload, gsize len)
{
  g_return_val_if_fail(w != NULL && w->initialized, 10010);
  return w->desc->handle(w->instance, ctx, route_key, payload, len);
}

gboolean
actr_workload_on_start(ActrWorkload *w, ActrInvocationCtx *ctx, GError **error)
{
  g_return_val_if_fail(w != NULL && w->initialized, FALSE);
  if (!HAS_FIELD(w->desc, on_start) || w->desc->on_start == NULL)
    return TRUE;
  int32_t status = w->desc->on_start(w->instance, ctx);
  if (status != ACTR_WORKLOAD_OK) {
    g_set_error(error, ACTR_WORKLOAD_ERROR, ACTR_WORKLOAD_ERROR_INIT,
                "%s: workload %s on_start failed (status %d)", w->path, w->desc->name, status);
    return FALSE;
  }
  return TRUE;
}

void
actr_workload_on_ready(ActrWorkload *w, ActrInvocationCtx *ctx)
{
  if (w->initialized && HAS_FIELD(w->desc, on_ready) && w->desc->on_ready)
    w->desc->on_ready(w->instance, ctx);
}

void
actr_workload_on_stop(ActrWorkload *w, ActrInvocationCtx *ctx)
{
  if (w->initialized && HAS_FIELD(w->desc, on_stop) && w->desc->on_stop)
    w->desc->on_stop(w->instance, ctx);
}

gboolean
actr_workload_has_data_stream(const ActrWorkload *w)
{
  return w->initialized && HAS_FIELD(w->desc, on_data_stream) && w->desc->on_data_stream;
}

gboolean
actr_workload_has_on_event(const ActrWorkload *w)
{
  return w->initialized && HAS_FIELD(w->desc, on_event) && w->desc->on_event;
}

int32_t
actr_workload_data_stream(ActrWorkload *w, ActrInvocationCtx *ctx, const char *stream_id,
                          guint64 sequence, const guint8 *payload, gsize len)
{
  if (!actr_workload_has_data_stream(w))
    return 10009;
  return w->desc->on_data_stream(w->instance, ctx, stream_id, sequence, payload, len);
}

void
actr_workload_event(ActrWorkload *w, ActrInvocationCtx *ctx, int event, const char *detail,
                    guint64 value)
{
  if (actr_workload_has_on_event(w))
    w->desc->on_event(w->instance, ctx, event, detail, value);
}
