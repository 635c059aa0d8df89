/* counter — a workload whose state is durable and effectively-once
 * (spec/cli.md).
 *
 * Type acme:counter:1.0.0.
 *   counter.Counter.Add  payload: an ASCII decimal integer (may be negative);
 *                        adds it to the total and replies with the new total.
 *   counter.Counter.Get  replies with the total.
 * Replies are ASCII decimal.  The total lives in the node's store under the
 * key "total"; the node commits the write together with the reply and the
 * inbox ack, so a request retried with the same request_id never adds twice,
 * even across kill -9. */
#include <actr/workload.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ActrHostApi *host;

static int32_t
counter_init(const ActrHostApi *api, void **instance)
{
  host = api;
  *instance = NULL;
  return ACTR_WORKLOAD_OK;
}

/* Reads the total (0 when never set). */
static int32_t
read_total(ActrInvocationCtx *ctx, int64_t *total)
{
  const uint8_t *value;
  size_t len;
  int32_t status = host->state_get(ctx, "total", &value, &len);
  if (status == 10003) { /* not found */
    *total = 0;
    return ACTR_WORKLOAD_OK;
  }
  if (status != ACTR_WORKLOAD_OK)
    return host->fail(ctx, status, "cannot read the total");
  char text[32];
  if (len == 0 || len >= sizeof text)
    return host->fail(ctx, 10010, "stored total is corrupt");
  memcpy(text, value, len);
  text[len] = '\0';
  *total = strtoll(text, NULL, 10);
  return ACTR_WORKLOAD_OK;
}

static int32_t
reply_number(ActrInvocationCtx *ctx, int64_t n)
{
  char text[32];
  int len = snprintf(text, sizeof text, "%" PRId64, n);
  host->respond(ctx, (const uint8_t *)text, (size_t)len);
  return ACTR_WORKLOAD_OK;
}

static int32_t
counter_handle(void *instance, ActrInvocationCtx *ctx, const char *route_key,
               const uint8_t *payload, size_t len)
{
  (void)instance;
  int64_t total;
  int32_t status;
  if (strcmp(route_key, "counter.Counter.Get") == 0) {
    if ((status = read_total(ctx, &total)) != ACTR_WORKLOAD_OK)
      return status;
    return reply_number(ctx, total);
  }
  if (strcmp(route_key, "counter.Counter.Add") != 0)
    return host->fail(ctx, 10006, route_key);

  char text[32];
  if (len == 0 || len >= sizeof text)
    return host->fail(ctx, 10005, "payload must be an ASCII decimal integer");
  memcpy(text, payload, len);
  text[len] = '\0';
  char *end = NULL;
  errno = 0;
  long long delta = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0')
    return host->fail(ctx, 10005, "payload must be an ASCII decimal integer");
  if ((status = read_total(ctx, &total)) != ACTR_WORKLOAD_OK)
    return status;
  if ((delta > 0 && total > INT64_MAX - delta) || (delta < 0 && total < INT64_MIN - delta))
    return host->fail(ctx, 10005, "the total would overflow");
  total += delta;
  char value[32];
  int n = snprintf(value, sizeof value, "%" PRId64, total);
  if ((status = host->state_put(ctx, "total", (const uint8_t *)value, (size_t)n)) != 0)
    return host->fail(ctx, status, "cannot store the total");
  return reply_number(ctx, total);
}

ACTR_WORKLOAD_EXPORT const ActrWorkloadDescriptor actr_workload_descriptor = {
    .abi_version = ACTR_WORKLOAD_ABI_VERSION,
    .size = sizeof(ActrWorkloadDescriptor),
    .name = "counter",
    .actr_type = "acme:counter:1.0.0",
    .init = counter_init,
    .handle = counter_handle,
};
