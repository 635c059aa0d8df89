/* stream-recv — a workload that receives a data stream (runtime.md §10,
 * wire.md §5.6), e.g. from stream-send.
 *
 * Type acme:stream-recv:1.0.0.  Routes:
 *
 *   stream.Receiver.Expect  payload "STREAM_ID [PATH]"
 *     Registers STREAM_ID (host->register_stream) and starts a fresh
 *     receive: counters zero, a new SHA-256, and with PATH the chunks are
 *     also written to that file (created or truncated).  Replies "ok".
 *     One stream at a time: a new Expect replaces the previous one.
 *   stream.Receiver.Status  (empty payload)
 *     Replies "BYTES CHUNKS SHA256_HEX IN_ORDER DONE": the data bytes and
 *     data chunks received so far, the SHA-256 of those bytes, "yes" when
 *     every chunk carried the sequence after the previous one (starting at
 *     1) else "no", and "yes" once the end marker arrived.
 *
 * Chunks arrive through on_data_stream() on the workload thread, one at a
 * time.  A non-empty chunk is data; an empty chunk is the end marker
 * stream-send sends after its last data chunk (it closes the file).
 * Chunks of other stream ids are refused (10003, logged by the host).
 *
 * SHA-256 comes from GLib's GChecksum (this example links GLib).
 *
 * Run: actr run --config actr.toml --workload libstream-recv.so */
#include <actr/workload.h>

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

typedef struct {
  char *stream_id; /* NULL before the first Expect */
  FILE *file;      /* nullable */
  GChecksum *sha;
  char *final_sha; /* set by the end marker */
  uint64_t bytes, chunks, last_sequence;
  gboolean in_order, done;
} Receiver;

static const ActrHostApi *host;

static int32_t
recv_init(const ActrHostApi *api, void **instance)
{
  host = api;
  /* register_stream is appended to the table: an older host lacks it. */
  if (api->size < offsetof(ActrHostApi, register_stream) + sizeof api->register_stream)
    return 10009;
  *instance = g_new0(Receiver, 1);
  return ACTR_WORKLOAD_OK;
}

static void
receiver_reset(Receiver *r)
{
  if (r->file != NULL)
    fclose(r->file);
  r->file = NULL;
  g_clear_pointer(&r->sha, g_checksum_free);
  g_clear_pointer(&r->final_sha, g_free);
  g_clear_pointer(&r->stream_id, g_free);
  r->bytes = r->chunks = r->last_sequence = 0;
  r->in_order = TRUE;
  r->done = FALSE;
}

static void
recv_fini(void *instance)
{
  Receiver *r = instance;

  receiver_reset(r);
  g_free(r);
}

static int32_t
expect(Receiver *r, ActrInvocationCtx *ctx, const char *args)
{
  g_auto(GStrv) parts = g_strsplit(args, " ", 2);
  int32_t status;

  if (parts[0] == NULL || parts[0][0] == '\0')
    return host->fail(ctx, 10005, "want \"STREAM_ID [PATH]\"");
  if (r->stream_id != NULL && strcmp(r->stream_id, parts[0]) != 0)
    host->unregister_stream(ctx, r->stream_id);
  receiver_reset(r);
  if (parts[1] != NULL && parts[1][0] != '\0') {
    r->file = fopen(parts[1], "wb");
    if (r->file == NULL)
      return host->fail(ctx, 10010, "cannot create the output file");
  }
  status = host->register_stream(ctx, parts[0]);
  if (status != ACTR_WORKLOAD_OK)
    return host->fail(ctx, status, "register_stream failed");
  r->stream_id = g_strdup(parts[0]);
  r->sha = g_checksum_new(G_CHECKSUM_SHA256);
  host->respond(ctx, (const uint8_t *)"ok", 2);
  return ACTR_WORKLOAD_OK;
}

static int32_t
status(Receiver *r, ActrInvocationCtx *ctx)
{
  g_autofree char *text = NULL;
  g_autofree char *interim = NULL;
  const char *sha = r->final_sha;

  if (sha == NULL && r->sha != NULL) {
    /* Reading a GChecksum's digest closes it: read a copy. */
    GChecksum *copy = g_checksum_copy(r->sha);

    interim = g_strdup(g_checksum_get_string(copy));
    g_checksum_free(copy);
    sha = interim;
  }
  text =
      g_strdup_printf("%" PRIu64 " %" PRIu64 " %s %s %s", r->bytes, r->chunks,
                      sha != NULL ? sha : "-", r->in_order ? "yes" : "no", r->done ? "yes" : "no");
  host->respond(ctx, (const uint8_t *)text, strlen(text));
  return ACTR_WORKLOAD_OK;
}

static int32_t
recv_handle(void *instance, ActrInvocationCtx *ctx, const char *route_key, const uint8_t *payload,
            size_t len)
{
  Receiver *r = instance;
  g_autofree char *args = g_strndup((const char *)payload, len);

  if (strcmp(route_key, "stream.Receiver.Expect") == 0)
    return expect(r, ctx, g_strstrip(args));
  if (strcmp(route_key, "stream.Receiver.Status") == 0)
    return status(r, ctx);
  return host->fail(ctx, 10006, route_key);
}

static int32_t
recv_on_data_stream(void *instance, ActrInvocationCtx *ctx, const char *stream_id,
                    uint64_t sequence, const uint8_t *payload, size_t len)
{
  Receiver *r = instance;

  (void)ctx;
  if (r->stream_id == NULL || strcmp(stream_id, r->stream_id) != 0 || r->done)
    return 10003;
  if (sequence != r->last_sequence + 1)
    r->in_order = FALSE;
  r->last_sequence = sequence;
  if (len == 0) {
    r->done = TRUE;
    r->final_sha = g_strdup(g_checksum_get_string(r->sha));
    if (r->file != NULL && fclose(r->file) != 0)
      r->in_order = FALSE; /* the file is incomplete: report it as a failure */
    r->file = NULL;
    return ACTR_WORKLOAD_OK;
  }
  g_checksum_update(r->sha, payload, len);
  if (r->file != NULL && fwrite(payload, 1, len, r->file) != len)
    return 10010;
  r->bytes += len;
  r->chunks++;
  return ACTR_WORKLOAD_OK;
}

ACTR_WORKLOAD_EXPORT const ActrWorkloadDescriptor actr_workload_descriptor = {
    .abi_version = ACTR_WORKLOAD_ABI_VERSION,
    .size = sizeof(ActrWorkloadDescriptor),
    .name = "stream-recv",
    .actr_type = "acme:stream-recv:1.0.0",
    .init = recv_init,
    .handle = recv_handle,
    .fini = recv_fini,
    .on_data_stream = recv_on_data_stream,
};
