/* actr — loading native workloads (include/actr/workload.h) into a node.
 *
 * Thread: load/free on any thread; init, handle and the hooks on the node's
 * workload thread only, one call at a time (the guest is not required to be
 * thread-safe). */
#ifndef ACTR_WORKLOAD_LOADER_H
#define ACTR_WORKLOAD_LOADER_H

#include <glib.h>
#include <actr/workload.h>

#define ACTR_WORKLOAD_ERROR (actr_workload_error_quark())
GQuark actr_workload_error_quark(void);

typedef enum {
  ACTR_WORKLOAD_ERROR_LOAD,    /* the file cannot be loaded as a shared library */
  ACTR_WORKLOAD_ERROR_SYMBOL,  /* no actr_workload_descriptor symbol */
  ACTR_WORKLOAD_ERROR_ABI,     /* built for another ABI version */
  ACTR_WORKLOAD_ERROR_INVALID, /* descriptor incomplete (no handler, bad type, ...) */
  ACTR_WORKLOAD_ERROR_INIT,    /* init() or on_start() returned an error status */
} ActrWorkloadError;

typedef struct _ActrWorkload ActrWorkload;

/* Loads @path with local symbol binding and validates its descriptor.
 * Messages name the file and say what is wrong, e.g. "built for workload
 * ABI 2, this node speaks 1". */
ActrWorkload *actr_workload_load(const char *path, GError **error);

/* Calls the guest's init() (if any) with @host, which must stay valid until
 * actr_workload_free(). */
gboolean actr_workload_init(ActrWorkload *workload, const ActrHostApi *host, GError **error);

/* Calls fini() if init() succeeded, then unloads.  NULL-safe. */
void actr_workload_free(ActrWorkload *workload);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrWorkload, actr_workload_free)

const char *actr_workload_get_path(const ActrWorkload *workload);
const char *actr_workload_get_name(const ActrWorkload *workload);
const char *actr_workload_get_actr_type(const ActrWorkload *workload);

/* Dispatches one request; returns the guest's status (0 = responded). */
int32_t actr_workload_handle(ActrWorkload *workload, ActrInvocationCtx *ctx, const char *route_key,
                             const guint8 *payload, gsize len);

/* Lifecycle hooks (no-ops when the guest has none).  on_start's error
 * aborts the node's start. */
gboolean actr_workload_on_start(ActrWorkload *workload, ActrInvocationCtx *ctx, GError **error);
void actr_workload_on_ready(ActrWorkload *workload, ActrInvocationCtx *ctx);
void actr_workload_on_stop(ActrWorkload *workload, ActrInvocationCtx *ctx);

/* TRUE when the guest has on_data_stream() / on_event(). */
gboolean actr_workload_has_data_stream(const ActrWorkload *workload);
gboolean actr_workload_has_on_event(const ActrWorkload *workload);
/* Delivers a stream chunk; returns the guest's status (10009 when it has
 * no on_data_stream()). */
int32_t actr_workload_data_stream(ActrWorkload *workload, ActrInvocationCtx *ctx,
                                  const char *stream_id, guint64 sequence, const guint8 *payload,
                                  gsize len);
/* Delivers an observation event (no-op without on_event()). */
void actr_workload_event(ActrWorkload *workload, ActrInvocationCtx *ctx, int event,
                         const char *detail, guint64 value);

#endif /* ACTR_WORKLOAD_LOADER_H */
