/* echo — the smallest actr workload (spec/cli.md).
 *
 * Type acme:echo:1.0.0.  Route echo.Echo.Echo replies with the request
 * payload bytes unchanged; any other route is 10006 (unknown route).
 *
 * Build: cc -shared -fPIC -fvisibility=hidden -I<actr>/include echo.c -o libecho.so
 * Run:   actr run --config actr.toml --workload libecho.so */
#include <actr/workload.h>

#include <string.h>

static const ActrHostApi *host;

static int32_t
echo_init(const ActrHostApi *api, void **instance)
{
  host = api;
  *instance = NULL;
  return ACTR_WORKLOAD_OK;
}

static int32_t
echo_handle(void *instance, ActrInvocationCtx *ctx, const char *route_key, const uint8_t *payload,
            size_t len)
{
  (void)instance;
  if (strcmp(route_key, "echo.Echo.Echo") != 0)
    return host->fail(ctx, 10006, route_key);
  host->respond(ctx, payload, len);
  return ACTR_WORKLOAD_OK;
}

ACTR_WORKLOAD_EXPORT const ActrWorkloadDescriptor actr_workload_descriptor = {
    .abi_version = ACTR_WORKLOAD_ABI_VERSION,
    .size = sizeof(ActrWorkloadDescriptor),
    .name = "echo",
    .actr_type = "acme:echo:1.0.0",
    .init = echo_init,
    .handle = echo_handle,
};
