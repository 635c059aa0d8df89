/* Fuzz target: ActrId / ActrType text forms and the ActrId protobuf
 * decoder (include/actr/types.h).
 *
 * The input, NUL-terminated, is parsed as ActrId text, ActrType text and a
 * Name; a successful parse must survive format → parse unchanged and
 * validate.  The raw bytes are also decoded as a protobuf ActrId; a
 * successful decode must survive encode → decode unchanged. */
#include <actr/types.h>

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

static void
check_id_text(const char *text)
{
  ActrId id = {0, 0, {NULL, NULL, NULL}};
  GError *error = NULL;
  if (!actr_id_parse(text, &id, &error)) {
    FUZZ_CHECK(g_error_matches(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_ID));
    FUZZ_CHECK(id.type.manufacturer == NULL && id.type.name == NULL && id.type.version == NULL);
    g_error_free(error);
    return;
  }
  FUZZ_CHECK(actr_type_validate(&id.type, NULL));

  char *formatted = actr_id_to_string(&id);
  ActrId again = {0, 0, {NULL, NULL, NULL}};
  FUZZ_CHECK(actr_id_parse(formatted, &again, NULL));
  FUZZ_CHECK(actr_id_equal(&id, &again));
  FUZZ_CHECK(actr_id_compare(&id, &again) == 0);
  FUZZ_CHECK(actr_id_hash(&id) == actr_id_hash(&again));
  char *formatted_again = actr_id_to_string(&again);
  FUZZ_CHECK(strcmp(formatted, formatted_again) == 0);

  /* The protobuf form carries the same id. */
  GBytes *bytes = actr_id_encode(&id);
  ActrId decoded = {0, 0, {NULL, NULL, NULL}};
  gsize len;
  const guint8 *raw = g_bytes_get_data(bytes, &len);
  FUZZ_CHECK(actr_id_decode(raw, len, &decoded, NULL));
  FUZZ_CHECK(actr_id_equal(&id, &decoded));

  actr_id_clear(&decoded);
  g_bytes_unref(bytes);
  g_free(formatted_again);
  actr_id_clear(&again);
  g_free(formatted);
  actr_id_clear(&id);
}

static void
check_type_text(const char *text)
{
  ActrType type = {NULL, NULL, NULL};
  GError *error = NULL;
  if (!actr_type_parse(text, &type, &error)) {
    FUZZ_CHECK(g_error_matches(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_TYPE));
    FUZZ_CHECK(type.manufacturer == NULL && type.name == NULL && type.version == NULL);
    g_error_free(error);
    return;
  }
  FUZZ_CHECK(actr_type_validate(&type, NULL));
  FUZZ_CHECK(actr_name_is_valid(type.manufacturer) && actr_name_is_valid(type.name));

  char *formatted = actr_type_to_string(&type);
  FUZZ_CHECK(strcmp(formatted, text) == 0); /* ActrType text has one spelling */
  ActrType copy = {NULL, NULL, NULL};
  actr_type_copy(&type, &copy);
  FUZZ_CHECK(actr_type_equal(&type, &copy) && actr_type_compare(&type, &copy) == 0);
  FUZZ_CHECK(actr_type_hash(&type) == actr_type_hash(&copy));

  actr_type_clear(&copy);
  g_free(formatted);
  actr_type_clear(&type);
}

static void
check_name(const char *text)
{
  GError *error = NULL;
  gboolean valid = actr_name_is_valid(text);
  FUZZ_CHECK(valid == actr_name_validate(text, &error));
  FUZZ_CHECK(valid == (error == NULL));
  if (error != NULL) {
    FUZZ_CHECK(g_error_matches(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_INVALID_NAME));
    g_error_free(error);
  }
}

static void
check_id_protobuf(const uint8_t *data, size_t size)
{
  ActrId id = {0, 0, {NULL, NULL, NULL}};
  GError *error = NULL;
  if (!actr_id_decode(data, size, &id, &error)) {
    FUZZ_CHECK(g_error_matches(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_DECODE));
    g_error_free(error);
    return;
  }
  FUZZ_CHECK(id.type.manufacturer && id.type.name && id.type.version);

  GBytes *bytes = actr_id_encode(&id);
  ActrId again = {0, 0, {NULL, NULL, NULL}};
  gsize len;
  const guint8 *raw = g_bytes_get_data(bytes, &len);
  FUZZ_CHECK(actr_id_decode(raw, len, &again, NULL));
  FUZZ_CHECK(actr_id_equal(&id, &again));

  /* Whatever the decoder let through formats without trouble. */
  char *text = actr_id_to_string(&id);
  FUZZ_CHECK(text != NULL);

  g_free(text);
  actr_id_clear(&again);
  g_bytes_unref(bytes);
  actr_id_clear(&id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* A NUL-terminated copy; an embedded NUL simply ends the string. */
  char *text = g_malloc(size + 1);
  if (size > 0)
    memcpy(text, data, size);
  text[size] = '\0';

  check_id_text(text);
  check_type_text(text);
  check_name(text);
  check_id_protobuf(data, size);

  g_free(text);
  return 0;
}
