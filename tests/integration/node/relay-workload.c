/* A test workload (type test:relay:1.0.0) that exercises the host
 * operations a node routes: call, tell, discover, data streams, events.
 *
 *   relay.Relay.Call     payload "TARGET ROUTE DATA": calls ROUTE on TARGET
 *                        with DATA and replies with the reply
 *   relay.Relay.Tell     payload "TARGET ROUTE DATA": tells, replies "ok"
 *   relay.Relay.Discover payload "TYPE": replies with an ActrId
 *   relay.Relay.Self     calls itself ("local"): must fail, not deadlock
 *   relay.Relay.Stream   payload "TARGET N": sends N chunks of stream "s1"
 *   relay.Relay.Chunks   replies "COUNT LAST_SEQUENCE ORDERED" of stream
 *                        "s1" chunks received (registered in on_start)
 *   relay.Relay.Events   replies the number of on_event calls seen
 *   relay.Relay.Sleep    payload "MS": sleeps, then replies "slept" */
#include <actr/workload.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
sleep_ms(long ms)
{
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static const ActrHostApi *host;
static uint64_t chunks, last_sequence, events;
static int ordered = 1;

static int32_t
relay_init(const ActrHostApi *api, void **instance)
{
  host = api;
  *instance = NULL;
  return ACTR_WORKLOAD_OK;
}

static int32_t
relay_on_start(void *instance, ActrInvocationCtx *ctx)
{
  /* Only request handlers may write durable state (nothing would commit
   * it here): the node must refuse, or this start fails. */
  if (host->state_put(ctx, "from-on-start", (const uint8_t *)"x", 1) != 10005)
    return 10010;
  return host->register_stream(ctx, "s1");
}

/* Splits "A B REST" into three NUL-terminated parts of @buf. */
static int
split3(char *buf, char **a, char **b, char **rest)
{
  *a = buf;
  char *sp = strchr(buf, ' ');
  if (sp == NULL)
    return 0;
  *sp = '\0';
  *b = sp + 1;
  sp = strchr(*b, ' ');
  if (sp == NULL) {
    *rest = *b + strlen(*b);
    return 1;
  }
  *sp = '\0';
  *rest = sp + 1;
  return 1;
}

static int32_t
relay_handle(void *instance, ActrInvocationCtx *ctx, const char *route, const uint8_t *payload,
             size_t len)
{
  char buf[512];
  char *a, *b, *rest;

  if (len >= sizeof buf)
    return host->fail(ctx, 10005, "payload too long");
  if (len > 0)
    memcpy(buf, payload, len);
  buf[len] = '\0';

  if (strcmp(route, "relay.Relay.Call") == 0 || strcmp(route, "relay.Relay.Tell") == 0) {
    if (!split3(buf, &a, &b, &rest))
      return host->fail(ctx, 10005, "want TARGET ROUTE DATA");
    if (strcmp(route, "relay.Relay.Tell") == 0) {
      int32_t status = host->tell(ctx, a, b, (const uint8_t *)rest, strlen(rest));
      if (status != ACTR_WORKLOAD_OK)
        return host->fail(ctx, status, "tell failed");
      host->respond(ctx, (const uint8_t *)"ok", 2);
      return ACTR_WORKLOAD_OK;
    }
    const uint8_t *reply;
    size_t reply_len;
    int32_t status =
        host->call(ctx, a, b, (const uint8_t *)rest, strlen(rest), 5000, &reply, &reply_len);
    if (status != ACTR_WORKLOAD_OK)
      return host->fail(ctx, status, "inner call failed");
    host->respond(ctx, reply, reply_len);
    return ACTR_WORKLOAD_OK;
  }
  if (strcmp(route, "relay.Relay.Discover") == 0) {
    const char *id;
    int32_t status = host->discover(ctx, buf, &id);
    if (status != ACTR_WORKLOAD_OK)
      return host->fail(ctx, status, "discover failed");
    host->respond(ctx, (const uint8_t *)id, strlen(id));
    return ACTR_WORKLOAD_OK;
  }
  if (strcmp(route, "relay.Relay.Self") == 0) {
    const uint8_t *reply;
    size_t reply_len;
    int32_t status =
        host->call(ctx, "local", "relay.Relay.Events", NULL, 0, 2000, &reply, &reply_len);
    return host->fail(ctx, status == ACTR_WORKLOAD_OK ? 10010 : status, "self call");
  }
  if (strcmp(route, "relay.Relay.Stream") == 0) {
    char *sp = strchr(buf, ' ');
    if (sp == NULL)
      return host->fail(ctx, 10005, "want TARGET N");
    *sp = '\0';
    long n = strtol(sp + 1, NULL, 10);
    for (long i = 1; i <= n; i++) {
      char chunk[64];
      int clen = snprintf(chunk, sizeof chunk, "chunk %ld", i);
      int32_t status = host->send_data_stream(ctx, buf, "s1", (uint64_t)i, (const uint8_t *)chunk,
                                              (size_t)clen, ACTR_STREAM_RELIABLE);
      if (status != ACTR_WORKLOAD_OK)
        return host->fail(ctx, status, "send_data_stream failed");
    }
    host->respond(ctx, (const uint8_t *)"sent", 4);
    return ACTR_WORKLOAD_OK;
  }
  if (strcmp(route, "relay.Relay.Chunks") == 0) {
    int n = snprintf(buf, sizeof buf, "%" PRIu64 " %" PRIu64 " %d", chunks, last_sequence, ordered);
    host->respond(ctx, (const uint8_t *)buf, (size_t)n);
    return ACTR_WORKLOAD_OK;
  }
  if (strcmp(route, "relay.Relay.Sleep") == 0) {
    sleep_ms(strtol(buf, NULL, 10));
    host->respond(ctx, (const uint8_t *)"slept", 5);
    return ACTR_WORKLOAD_OK;
  }
  if (strcmp(route, "relay.Relay.Events") == 0) {
    int n = snprintf(buf, sizeof buf, "%" PRIu64, events);
    host->respond(ctx, (const uint8_t *)buf, (size_t)n);
    return ACTR_WORKLOAD_OK;
  }
  return host->fail(ctx, 10006, route);
}

static int32_t
relay_on_data_stream(void *instance, ActrInvocationCtx *ctx, const char *stream_id,
                     uint64_t sequence, const uint8_t *payload, size_t len)
{
  if (strcmp(stream_id, "s1") != 0)
    return 10003;
  /* Registering from a stream callback is refused (10009). */
  if (host->register_stream(ctx, "s2") != 10009)
    ordered = 0;
  if (sequence != last_sequence + 1)
    ordered = 0;
  last_sequence = sequence;
  chunks++;
  return ACTR_WORKLOAD_OK;
}

static void
relay_on_event(void *instance, ActrInvocationCtx *ctx, int event, const char *detail,
               uint64_t value)
{
  events++;
}

ACTR_WORKLOAD_EXPORT const ActrWorkloadDescriptor actr_workload_descriptor = {
    .abi_version = ACTR_WORKLOAD_ABI_VERSION,
    .size = sizeof(ActrWorkloadDescriptor),
    .name = "relay",
    .actr_type = "test:relay:1.0.0",
    .init = relay_init,
    .handle = relay_handle,
    .on_start = relay_on_start,
    .on_data_stream = relay_on_data_stream,
    .on_event = relay_on_event,
};
