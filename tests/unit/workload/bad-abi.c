/* A workload built for another ABI version: the loader must refuse it. */
#include <actr/workload.h>

static int32_t
handle(void *instance, ActrInvocationCtx *ctx, const char *route, const uint8_t *p, size_t n)
{
  (void)instance, (void)ctx, (void)route, (void)p, (void)n;
  return 0;
}

ACTR_WORKLOAD_EXPORT const ActrWorkloadDescriptor actr_workload_descriptor = {
    .abi_version = 99,
    .size = sizeof(ActrWorkloadDescriptor),
    .name = "future",
    .actr_type = "acme:future:9.0.0",
    .handle = handle,
};
