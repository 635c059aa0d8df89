/* Fuzz target: the W3C traceparent parser (src/node/traceparent.h).
 *
 * The input, copied into an exact-size NUL-terminated heap buffer (so ASan
 * catches any read past the NUL), is parsed.  A successful parse must:
 * come from a value whose first 55 characters, apart from the version,
 * are what format() writes back; survive format -> parse unchanged; and
 * yield a child with the same trace id and flags. */
#include "traceparent.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* A NUL-terminated copy; an embedded NUL simply ends the string. */
  char *text = g_malloc(size + 1);
  if (size > 0)
    memcpy(text, data, size);
  text[size] = '\0';

  ActrTraceContext ctx;
  memset(&ctx, 0x5a, sizeof ctx);
  ActrTraceContext before = ctx;
  if (!actr_trace_context_parse(text, &ctx)) {
    FUZZ_CHECK(memcmp(&ctx, &before, sizeof ctx) == 0); /* untouched on failure */
    g_free(text);
    return 0;
  }

  size_t len = strlen(text);
  FUZZ_CHECK(len >= ACTR_TRACEPARENT_LEN);
  FUZZ_CHECK(len == ACTR_TRACEPARENT_LEN || text[ACTR_TRACEPARENT_LEN] == '-');
  FUZZ_CHECK(strncmp(text, "ff", 2) != 0);

  char buf[ACTR_TRACEPARENT_LEN + 1];
  actr_trace_context_format(&ctx, buf);
  FUZZ_CHECK(strlen(buf) == ACTR_TRACEPARENT_LEN);
  FUZZ_CHECK(memcmp(buf, "00", 2) == 0);
  FUZZ_CHECK(memcmp(buf + 2, text + 2, ACTR_TRACEPARENT_LEN - 2) == 0);
  if (memcmp(text, "00", 2) == 0)
    FUZZ_CHECK(strcmp(buf, text) == 0);

  ActrTraceContext again;
  FUZZ_CHECK(actr_trace_context_parse(buf, &again));
  FUZZ_CHECK(memcmp(&again, &ctx, sizeof ctx) == 0);

  ActrTraceContext child;
  actr_trace_context_child(&ctx, &child);
  FUZZ_CHECK(memcmp(child.trace_id, ctx.trace_id, sizeof ctx.trace_id) == 0);
  FUZZ_CHECK(child.flags == ctx.flags);
  FUZZ_CHECK(memcmp(child.parent_id, ctx.parent_id, sizeof ctx.parent_id) != 0);

  g_free(text);
  return 0;
}
