/* actr — the native workload ABI (stable, versioned, plain C).
 *
 * A workload is a shared library that exports one symbol,
 *
 *     const ActrWorkloadDescriptor actr_workload_descriptor = { ... };
 *
 * (use ACTR_WORKLOAD_EXPORT), describing its ABI version, name, actor type
 * and handlers.  The node loads it with local binding, rejects an ABI
 * mismatch with a clear message, calls init() once with the host's function
 * table, then handle() for every request, one at a time, on the node's
 * workload thread (never on the network loop).  Host operations are
 * synchronous for the guest: call() blocks the workload thread until the
 * reply arrives.
 *
 * Ownership is simple on purpose: the guest never frees host memory and the
 * host never frees guest memory.  A handler answers with host->respond() or
 * host->fail(), which copy; buffers the host hands out (a call's reply, a
 * state value) are owned by the host and valid until the handler returns.
 *
 * Compatibility: ACTR_WORKLOAD_ABI_VERSION changes only for incompatible
 * changes.  Both tables carry their struct size, and fields are only ever
 * appended, so a newer host runs an older guest and checks `size` before
 * touching a field an older guest does not have.
 *
 * This header needs only the C standard library. */
#ifndef ACTR_WORKLOAD_H
#define ACTR_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACTR_WORKLOAD_ABI_VERSION 1
#define ACTR_WORKLOAD_SYMBOL      "actr_workload_descriptor"

#if defined(__GNUC__)
#define ACTR_WORKLOAD_EXPORT __attribute__((visibility("default")))
#else
#define ACTR_WORKLOAD_EXPORT
#endif

/* Status codes returned by handlers and host operations: 0 for success, or
 * an actr wire error code (10001 unavailable ... 10011 connection not
 * ready, see <actr/error.h>; 10006 unknown route, 10005 invalid argument,
 * 10010 internal).  Guest errors keep their code on the wire (the reference
 * collapses them to 10010). */
#define ACTR_WORKLOAD_OK 0

/* Per-invocation context, opaque to the guest; valid during one handler. */
typedef struct ActrInvocationCtx ActrInvocationCtx;

/* Log levels for host->log(). */
enum { ACTR_LOG_ERROR = 1, ACTR_LOG_WARN = 2, ACTR_LOG_INFO = 3, ACTR_LOG_DEBUG = 4 };

/* The host's function table, valid from init() until fini() returns. */
typedef struct ActrHostApi {
  uint32_t abi_version; /* ACTR_WORKLOAD_ABI_VERSION */
  uint32_t size;        /* sizeof(ActrHostApi) of the host */

  /* ---- answering the current request ---- */
  /* The response payload (copied).  The last call before the handler
   * returns wins. */
  void (*respond)(ActrInvocationCtx *ctx, const uint8_t *data, size_t len);
  /* An error reply with wire code @code and a detail message (copied);
   * returns @code so a handler can `return host->fail(ctx, 10005, "...")`. */
  int32_t (*fail)(ActrInvocationCtx *ctx, int32_t code, const char *message);

  /* ---- who is asking ---- */
  /* ActrId text forms and the request id; NULL when not applicable (a
   * local call has no caller).  Valid during the handler. */
  const char *(*self_id)(ActrInvocationCtx *ctx);
  const char *(*caller_id)(ActrInvocationCtx *ctx);
  const char *(*request_id)(ActrInvocationCtx *ctx);

  /* ---- durable state (beyond the reference) ----
   * A key-value map in the node's store.  Writes made during a handler are
   * committed in the SAME transaction as the stored response and the inbox
   * ack, so they happen exactly once even across kill -9; a failed handler
   * (non-zero return) discards them.  Reads see this handler's own writes.
   * Only request handlers may write: in init, lifecycle hooks, on_event and
   * on_data_stream, state_put/state_delete fail with 10005. */
  int32_t (*state_get)(ActrInvocationCtx *ctx, const char *key, const uint8_t **value,
                       size_t *len); /* 10003 (not found) when absent */
  int32_t (*state_put)(ActrInvocationCtx *ctx, const char *key, const uint8_t *value, size_t len);
  int32_t (*state_delete)(ActrInvocationCtx *ctx, const char *key);

  /* ---- talking to other actors (blocking for the guest) ----
   * @target: an ActrType "m:n:v" (routed through route candidates) or an
   * ActrId text form.  On success *reply and *reply_len hold the response
   * (host-owned, valid until the handler returns). */
  int32_t (*call)(ActrInvocationCtx *ctx, const char *target, const char *route_key,
                  const uint8_t *payload, size_t len, int64_t timeout_ms, const uint8_t **reply,
                  size_t *reply_len);
  int32_t (*tell)(ActrInvocationCtx *ctx, const char *target, const char *route_key,
                  const uint8_t *payload, size_t len);
  /* The ActrId text form of a live instance of @actr_type (host-owned). */
  int32_t (*discover)(ActrInvocationCtx *ctx, const char *actr_type, const char **actr_id);

  /* A log line attributed to this workload and request. */
  void (*log)(ActrInvocationCtx *ctx, int level, const char *message);

  /* ---- data streams (runtime.md §10, wire.md §5.6) ----
   * Appended after `log`: a guest built against an older header simply
   * does not see them; a guest that wants them checks
   * `host->size > offsetof(ActrHostApi, register_stream)`.
   *
   * Chunks of a registered stream are delivered to the descriptor's
   * on_data_stream(), on the workload thread, in arrival order (per
   * stream and across streams).  Streams are a fast path: not stored, not
   * retried, not acknowledged.  Registering replaces an earlier
   * registration of the same id; registering from inside on_data_stream()
   * fails with 10009 (not implemented), as in the reference. */
  int32_t (*register_stream)(ActrInvocationCtx *ctx, const char *stream_id);
  int32_t (*unregister_stream)(ActrInvocationCtx *ctx, const char *stream_id);
  /* Sends one chunk of @stream_id to @target (a type or an ActrId) on
   * @lane: ACTR_STREAM_RELIABLE (ordered, reliable) or
   * ACTR_STREAM_LATENCY_FIRST.  Returns once the chunk was handed to the
   * link (one attempt, bounded by 15 s). */
  int32_t (*send_data_stream)(ActrInvocationCtx *ctx, const char *target, const char *stream_id,
                              uint64_t sequence, const uint8_t *payload, size_t len, int lane);
} ActrHostApi;

/* Lanes for send_data_stream() (PayloadType values, wire.md §5.3). */
enum { ACTR_STREAM_RELIABLE = 2, ACTR_STREAM_LATENCY_FIRST = 3 };

/* Observation events for on_event() (runtime.md §6.4).  @detail is the
 * peer's ActrId, the node's (new) ActrId or a reason; @value a count. */
enum {
  ACTR_EVENT_SIGNALING_CONNECTED = 2,
  ACTR_EVENT_SIGNALING_DISCONNECTED = 3,
  ACTR_EVENT_WEBSOCKET_CONNECTED = 5,
  ACTR_EVENT_WEBSOCKET_DISCONNECTED = 6,
  ACTR_EVENT_WEBRTC_CONNECTED = 8,    /* @detail = peer, @value = 1 when relayed (TURN) */
  ACTR_EVENT_WEBRTC_DISCONNECTED = 9, /* @detail = peer */
  ACTR_EVENT_CREDENTIAL_RENEWED = 10,
  ACTR_EVENT_CREDENTIAL_EXPIRING = 11,
  ACTR_EVENT_MAILBOX_BACKPRESSURE = 12,  /* @value = queued messages */
  ACTR_EVENT_DATA_STREAM_UNCERTAIN = 20, /* a link carrying streams dropped; @detail = peer */
};

/* The guest's descriptor, exported as ACTR_WORKLOAD_SYMBOL. */
typedef struct ActrWorkloadDescriptor {
  uint32_t abi_version;  /* ACTR_WORKLOAD_ABI_VERSION the guest was built for */
  uint32_t size;         /* sizeof(ActrWorkloadDescriptor) of the guest */
  const char *name;      /* human-readable, e.g. "echo" */
  const char *actr_type; /* "manufacturer:name:version", e.g. "acme:echo:1.0.0" */

  /* Optional (NULL = nothing to do).  Returns 0, or a status: the node
   * does not start.  *instance is passed to every other callback. */
  int32_t (*init)(const ActrHostApi *host, void **instance);
  /* Handles one request on @route_key ("package.Service.Method").  Answer
   * with host->respond() and return 0, or return an error status (set by
   * host->fail(); an unknown route is 10006). */
  int32_t (*handle)(void *instance, ActrInvocationCtx *ctx, const char *route_key,
                    const uint8_t *payload, size_t len);
  /* Optional lifecycle hooks (runtime.md §6.4): on_start failing aborts
   * the node's start; on_ready and on_stop cannot fail. */
  int32_t (*on_start)(void *instance, ActrInvocationCtx *ctx);
  void (*on_ready)(void *instance, ActrInvocationCtx *ctx);
  void (*on_stop)(void *instance, ActrInvocationCtx *ctx);
  /* Optional: releases @instance when the node unloads the workload. */
  void (*fini)(void *instance);

  /* ---- appended after `fini` (older guests leave them out) ---- */
  /* Optional: a chunk of a stream registered with host->register_stream()
   * arrived from @ctx's caller.  The request id is
   * "data-stream:<stream_id>:<sequence>".  A non-zero return is logged. */
  int32_t (*on_data_stream)(void *instance, ActrInvocationCtx *ctx, const char *stream_id,
                            uint64_t sequence, const uint8_t *payload, size_t len);
  /* Optional: an observation event (ACTR_EVENT_*), on the workload thread
   * between requests; it cannot fail.  Host operations work as in a
   * handler. */
  void (*on_event)(void *instance, ActrInvocationCtx *ctx, int event, const char *detail,
                   uint64_t value);
} ActrWorkloadDescriptor;

#ifdef __cplusplus
}
#endif

#endif /* ACTR_WORKLOAD_H */
