/* Unit tests for src/proto/codec.c and envelope.c: lenient decoding
 * (missing required fields, unknown fields, unknown enum values, merges),
 * rejection of malformed input, and the encoder's required-field fill-in.
 * Byte strings are written by hand from wire.md §1. */
#include <actr/error.h>
#include <actr/types.h>

#include <string.h>

#include "codec.h"
#include "envelope.h"
#include "package.pb-c.h"
#include "signaling.pb-c.h"
#include "webrtc.pb-c.h"

#define DECODE(type, desc, bytes, error)                                                           \
  ((type *)actr_proto_message_decode(&(desc), (bytes), sizeof(bytes), (error)))

/* Asserts that @message encodes to exactly @expected. */
static void
assert_encodes_to(const ProtobufCMessage *message, const guint8 *expected, gsize len)
{
  g_autoptr(GBytes) bytes = actr_proto_message_encode(message);
  g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), expected, len);
}

/* Asserts that @len bytes at @data fail to decode as @desc with a DECODE
 * error mentioning @reason. */
static void
assert_rejected(const ProtobufCMessageDescriptor *desc, const guint8 *data, gsize len,
                const char *reason)
{
  g_autoptr(GError) error = NULL;
  ProtobufCMessage *message = actr_proto_message_decode(desc, data, len, &error);
  g_assert_null(message);
  g_assert_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_DECODE);
  if (reason != NULL && strstr(error->message, reason) == NULL)
    g_error("expected '%s' in '%s'", reason, error->message);
}

/* ---------------------------------------------------------------------------
 * Missing required fields decode as zero values
 */

static void
test_missing_required_scalars(void)
{
  g_autoptr(GError) error = NULL;

  /* The empty message: every required field missing. */
  g_autoptr(Actr__RpcEnvelope) empty = actr_rpc_envelope_decode(NULL, 0, &error);
  g_assert_no_error(error);
  g_assert_nonnull(empty);
  g_assert_cmpstr(empty->route_key, ==, "");
  g_assert_cmpstr(empty->request_id, ==, "");
  g_assert_cmpint(empty->timeout_ms, ==, 0);
  g_assert_false(empty->has_payload);
  g_assert_null(empty->error);
  g_assert_null(empty->traceparent);
  g_assert_cmpuint(empty->n_metadata, ==, 0);

  /* Re-encoding emits every required field, in tag order. */
  static const guint8 zero_envelope[] = {0x0a, 0x00, 0xb2, 0x06, 0x00, 0xc0, 0x06, 0x00};
  assert_encodes_to(&empty->base, zero_envelope, sizeof zero_envelope);

  /* Only request_id present (a peer that omitted route_key and timeout). */
  static const guint8 only_id[] = {0xb2, 0x06, 0x02, 'r', '1'};
  g_autoptr(Actr__RpcEnvelope) partial = actr_rpc_envelope_decode(only_id, sizeof only_id, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(partial->route_key, ==, "");
  g_assert_cmpstr(partial->request_id, ==, "r1");
  g_assert_cmpint(partial->timeout_ms, ==, 0);

  /* Floats: a Ping with only availability. */
  static const guint8 ping_bytes[] = {0x08, 0x03};
  Actr__Ping *ping = DECODE(Actr__Ping, actr__ping__descriptor, ping_bytes, &error);
  g_assert_no_error(error);
  g_assert_cmpint(ping->availability, ==, ACTR__SERVICE_AVAILABILITY_STATE__UNAVAILABLE);
  g_assert_cmpfloat(ping->power_reserve, ==, 0.0f);
  g_assert_cmpfloat(ping->mailbox_backlog, ==, 0.0f);
  actr_proto_message_free(&ping->base);

  /* Bytes: AIdCredential without claims and signature. */
  static const guint8 cred_bytes[] = {0x08, 0x05};
  Actr__AIdCredential *cred =
      DECODE(Actr__AIdCredential, actr__aid_credential__descriptor, cred_bytes, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(cred->key_id, ==, 5);
  g_assert_cmpuint(cred->claims.len, ==, 0);
  g_assert_cmpuint(cred->signature.len, ==, 0);
  actr_proto_message_free(&cred->base);

  /* Bool and enum: RoleAssignment and SessionDescription, empty. */
  Actr__RoleAssignment *ra = (Actr__RoleAssignment *)actr_proto_message_decode(
      &actr__role_assignment__descriptor, NULL, 0, &error);
  g_assert_no_error(error);
  g_assert_false(ra->is_offerer);
  actr_proto_message_free(&ra->base);
  Webrtc__SessionDescription *sd = (Webrtc__SessionDescription *)actr_proto_message_decode(
      &webrtc__session_description__descriptor, NULL, 0, &error);
  g_assert_no_error(error);
  g_assert_cmpint(sd->type, ==, WEBRTC__SESSION_DESCRIPTION__TYPE__OFFER);
  g_assert_cmpstr(sd->sdp, ==, "");
  g_assert_null(sd->sdp_exchange_id);
  actr_proto_message_free(&sd->base);
}

static void
test_missing_required_messages(void)
{
  g_autoptr(GError) error = NULL;

  /* ActrId with only the serial: realm and type come back allocated and
   * zero, never NULL. */
  static const guint8 serial_only[] = {0x10, 0x2a};
  Actr__ActrId *id = DECODE(Actr__ActrId, actr__actr_id__descriptor, serial_only, &error);
  g_assert_no_error(error);
  g_assert_nonnull(id->realm);
  g_assert_cmpuint(id->realm->realm_id, ==, 0);
  g_assert_cmpuint(id->serial_number, ==, 42);
  g_assert_nonnull(id->type);
  g_assert_cmpstr(id->type->manufacturer, ==, "");
  g_assert_cmpstr(id->type->name, ==, "");
  g_assert_cmpstr(id->type->version, ==, "");
  actr_proto_message_free(&id->base);

  /* A present but empty Realm (its realm_id missing). */
  static const guint8 empty_realm[] = {0x0a, 0x00, 0x10, 0x01, 0x1a, 0x00};
  id = DECODE(Actr__ActrId, actr__actr_id__descriptor, empty_realm, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(id->realm->realm_id, ==, 0);
  g_assert_cmpstr(id->type->version, ==, "");
  actr_proto_message_free(&id->base);

  /* HEAD SignalingEnvelope (version 2) without tag 4: timestamp is zero,
   * the flow survives, and deep inside it a RoleAssignment whose required
   * is_offerer is missing and an ActrId without type. */
  static const guint8 head_env[] = {
      0x08, 0x02,                         /* 1 envelope_version 2 */
      0x12, 0x01, 'e',                    /* 2 envelope_id */
      0x6a, 0x10,                         /* 13 actr_relay (16 bytes) */
      0x0a, 0x04, 0x0a, 0x02, 0x08, 0x07, /*   1 source {realm {7}} */
      0x12, 0x02, 0x08, 0x01,             /*   2 credential {key_id 1} */
      0x1a, 0x00,                         /*   3 target {} */
      0x6a, 0x02, 0x10, 0x01,             /*   13 role_assignment {remote_fixed} */
  };
  g_autoptr(Signaling__SignalingEnvelope) env =
      actr_signaling_envelope_decode(head_env, sizeof head_env, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(env->envelope_version, ==, 2);
  g_assert_nonnull(env->timestamp);
  g_assert_cmpint(env->timestamp->seconds, ==, 0);
  g_assert_cmpint(env->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY);
  Signaling__ActrRelay *relay = env->actr_relay;
  g_assert_cmpuint(relay->source->realm->realm_id, ==, 7);
  g_assert_nonnull(relay->source->type);
  g_assert_cmpstr(relay->source->type->name, ==, "");
  g_assert_cmpuint(relay->credential->signature.len, ==, 0);
  g_assert_nonnull(relay->target->realm);
  g_assert_nonnull(relay->target->type);
  g_assert_cmpint(relay->payload_case, ==, SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_ASSIGNMENT);
  g_assert_false(relay->role_assignment->is_offerer);
  g_assert_true(relay->role_assignment->has_remote_fixed);
  g_assert_true(relay->role_assignment->remote_fixed);

  /* Repeated messages each get their missing fields: metadata entry
   * without value. */
  static const guint8 meta[] = {0xba, 0x06, 0x03, 0x0a, 0x01, 'k', 0xba, 0x06, 0x00};
  g_autoptr(Actr__RpcEnvelope) rpc = actr_rpc_envelope_decode(meta, sizeof meta, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(rpc->n_metadata, ==, 2);
  g_assert_cmpstr(rpc->metadata[0]->key, ==, "k");
  g_assert_cmpstr(rpc->metadata[0]->value, ==, "");
  g_assert_cmpstr(rpc->metadata[1]->key, ==, "");
  g_assert_cmpstr(rpc->metadata[1]->value, ==, "");
}

/* ---------------------------------------------------------------------------
 * Unknown fields, unknown enum values
 */

static void
test_unknown_fields_skipped(void)
{
  g_autoptr(GError) error = NULL;
  static const guint8 bytes[] = {
      0x0a, 0x01, 'k',                                /* 1 route_key */
      0x90, 0x03, 0x96, 0x01,                         /* 50: varint 150 (unknown) */
      0x9a, 0x03, 0x03, 'x',  'y',  'z',              /* 51: length-delimited (unknown) */
      0xa5, 0x03, 0x01, 0x02, 0x03, 0x04,             /* 52: fixed32 (unknown) */
      0xa9, 0x03, 1,    2,    3,    4,    5, 6, 7, 8, /* 53: fixed64 (unknown) */
      0x1a, 0x06, 0x08, 0x01, 0x12, 0x00,             /* 3 error {code 1, message "", */
      0x78, 0x05,                                     /*   15: varint (unknown, nested)} */
      0xb2, 0x06, 0x01, 'r',                          /* 102 request_id */
      0xc0, 0x06, 0x0a,                               /* 104 timeout_ms 10 */
      0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01,             /* 2^29-1: the highest field number */
  };
  g_autoptr(Actr__RpcEnvelope) env = actr_rpc_envelope_decode(bytes, sizeof bytes, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(env->route_key, ==, "k");
  g_assert_cmpuint(env->error->code, ==, 1);
  g_assert_cmpstr(env->request_id, ==, "r");
  g_assert_cmpint(env->timeout_ms, ==, 10);
  g_assert_cmpuint(env->base.n_unknown_fields, ==, 5);
  g_assert_cmpuint(env->error->base.n_unknown_fields, ==, 1);

  /* Re-encoding: known fields in tag order, then the retained unknown
   * fields in arrival order. */
  static const guint8 expected[] = {
      0x0a, 0x01, 'k',  0x1a, 0x06, 0x08, 0x01, 0x12, 0x00, 0x78, 0x05, /* known 1, 3 */
      0xb2, 0x06, 0x01, 'r',  0xc0, 0x06, 0x0a,                         /* known 102, 104 */
      0x90, 0x03, 0x96, 0x01, 0x9a, 0x03, 0x03, 'x',  'y',  'z',  0xa5,
      0x03, 0x01, 0x02, 0x03, 0x04, 0xa9, 0x03, 1,    2,    3,    4,
      5,    6,    7,    8,    0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01,
  };
  G_STATIC_ASSERT(sizeof expected == sizeof bytes);
  assert_encodes_to(&env->base, expected, sizeof expected);
}

static void
test_unknown_groups_skipped(void)
{
  g_autoptr(GError) error = NULL;
  /* protobuf-c cannot parse groups; the reference skips them. */
  static const guint8 grouped[] = {
      0x0a, 0x01, 'k',       /* 1 route_key */
      0xa3, 0x03,            /* 52 start group */
      0x08, 0x01,            /*   1 varint */
      0xab, 0x03,            /*   53 start group (nested) */
      0x12, 0x01, 'x',       /*     2 string */
      0xac, 0x03,            /*   53 end group */
      0xa4, 0x03,            /* 52 end group */
      0xb2, 0x06, 0x01, 'r', /* 102 request_id */
  };
  g_autoptr(Actr__RpcEnvelope) env = actr_rpc_envelope_decode(grouped, sizeof grouped, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(env->route_key, ==, "k");
  g_assert_cmpstr(env->request_id, ==, "r");
  g_assert_cmpuint(env->base.n_unknown_fields, ==, 0); /* groups are dropped */

  /* Mismatched or unterminated groups are malformed. */
  static const guint8 mismatched[] = {0xa3, 0x03, 0xac, 0x03};
  assert_rejected(&actr__rpc_envelope__descriptor, mismatched, sizeof mismatched,
                  "malformed group");
  static const guint8 unterminated[] = {0xa3, 0x03, 0x08, 0x01};
  assert_rejected(&actr__rpc_envelope__descriptor, unterminated, sizeof unterminated,
                  "malformed group");
  static const guint8 stray_end[] = {0xa4, 0x03};
  assert_rejected(&actr__rpc_envelope__descriptor, stray_end, sizeof stray_end,
                  "unexpected end of group");

  /* Nesting limit: 33 nested groups are refused, 32 are fine. */
  for (guint depth = 32; depth <= 33; depth++) {
    g_autoptr(GByteArray) deep = g_byte_array_new();
    for (guint i = 0; i < depth; i++)
      g_byte_array_append(deep, (const guint8 *)"\xa3\x03", 2);
    for (guint i = 0; i < depth; i++)
      g_byte_array_append(deep, (const guint8 *)"\xa4\x03", 2);
    g_autoptr(GError) deep_error = NULL;
    Actr__RpcEnvelope *deep_env = actr_rpc_envelope_decode(deep->data, deep->len, &deep_error);
    if (depth <= 32) {
      g_assert_no_error(deep_error);
      g_assert_nonnull(deep_env);
    } else {
      g_assert_error(deep_error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_DECODE);
    }
    actr_rpc_envelope_free(deep_env);
  }
}

static void
test_unknown_enum_values(void)
{
  g_autoptr(GError) error = NULL;

  /* RpcEnvelope.direction = 99 (a future value). */
  static const guint8 env_bytes[] = {0x0a, 0x00, 0x20, 0x63, 0xb2, 0x06, 0x00, 0xc0, 0x06, 0x00};
  g_autoptr(Actr__RpcEnvelope) env = actr_rpc_envelope_decode(env_bytes, sizeof env_bytes, &error);
  g_assert_no_error(error);
  g_assert_true(env->has_direction);
  g_assert_cmpint(env->direction, ==, 99);
  g_assert_cmpint(actr_rpc_envelope_get_direction(env), ==,
                  ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED);
  assert_encodes_to(&env->base, env_bytes, sizeof env_bytes); /* survives re-encoding */

  /* Required enum with a negative raw value (ten-byte varint). */
  static const guint8 ping_bytes[] = {
      0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* -1 */
      0x15, 0x00, 0x00, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x00, 0x00,
  };
  Actr__Ping *ping = DECODE(Actr__Ping, actr__ping__descriptor, ping_bytes, &error);
  g_assert_no_error(error);
  g_assert_cmpint((gint32)ping->availability, ==, -1); /* the C enum type is unsigned */
  assert_encodes_to(&ping->base, ping_bytes, sizeof ping_bytes);
  actr_proto_message_free(&ping->base);

  /* SessionDescription.type = 9. */
  static const guint8 sd_bytes[] = {0x08, 0x09, 0x12, 0x00};
  Webrtc__SessionDescription *sd =
      DECODE(Webrtc__SessionDescription, webrtc__session_description__descriptor, sd_bytes, &error);
  g_assert_no_error(error);
  g_assert_cmpint(sd->type, ==, 9);
  actr_proto_message_free(&sd->base);

  /* Repeated enum, unpacked and packed, with an unknown value. */
  static const guint8 criteria[] = {
      0x08, 0x03,                   /* 1 candidate_count */
      0x10, 0x00, 0x10, 0x07,       /* 2 ranking_factors, unpacked */
      0x12, 0x03, 0x03, 0x04, 0x01, /* 2 ranking_factors, packed */
  };
  Actr__RouteCandidatesRequest__NodeSelectionCriteria *c =
      DECODE(Actr__RouteCandidatesRequest__NodeSelectionCriteria,
             actr__route_candidates_request__node_selection_criteria__descriptor, criteria, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(c->n_ranking_factors, ==, 5);
  g_assert_cmpint(c->ranking_factors[1], ==, 7);
  g_assert_cmpint(c->ranking_factors[4], ==, 1);
  static const guint8 unpacked[] = {0x08, 0x03, 0x10, 0x00, 0x10, 0x07,
                                    0x10, 0x03, 0x10, 0x04, 0x10, 0x01};
  assert_encodes_to(&c->base, unpacked, sizeof unpacked); /* we emit unpacked */
  actr_proto_message_free(&c->base);

  /* A packed array cut inside a varint is malformed. */
  static const guint8 bad_packed[] = {0x08, 0x03, 0x12, 0x02, 0x03, 0x84};
  assert_rejected(&actr__route_candidates_request__node_selection_criteria__descriptor, bad_packed,
                  sizeof bad_packed, "malformed packed array");
}

static void
test_defaults(void)
{
  g_autoptr(GError) error = NULL;
  /* DiscoveryRequest.limit has an explicit default of 64. */
  Actr__DiscoveryRequest *req = (Actr__DiscoveryRequest *)actr_proto_message_decode(
      &actr__discovery_request__descriptor, NULL, 0, &error);
  g_assert_no_error(error);
  g_assert_false(req->has_limit);
  g_assert_cmpuint(req->limit, ==, 64);
  g_assert_null(req->manufacturer);
  assert_encodes_to(&req->base, NULL, 0); /* optional: not emitted */
  actr_proto_message_free(&req->base);
}

/* ---------------------------------------------------------------------------
 * Merge and oneof semantics
 */

static void
test_merge_and_oneof(void)
{
  g_autoptr(GError) error = NULL;

  /* A singular message field sent twice is merged: code from the first,
   * message from the second (neither occurrence is complete alone). */
  static const guint8 split_error[] = {
      0x0a, 0x00,                  /* 1 route_key */
      0x1a, 0x02, 0x08, 0x05,      /* 3 error {code 5} */
      0xb2, 0x06, 0x00,            /* 102 */
      0x1a, 0x03, 0x12, 0x01, 'm', /* 3 error {message "m"} */
      0xc0, 0x06, 0x00,            /* 104 */
  };
  g_autoptr(Actr__RpcEnvelope) env =
      actr_rpc_envelope_decode(split_error, sizeof split_error, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(env->error->code, ==, 5);
  g_assert_cmpstr(env->error->message, ==, "m");

  /* Later scalars win. */
  static const guint8 twice[] = {0x08, 0x01, 0x08, 0x02};
  Actr__Realm *realm = DECODE(Actr__Realm, actr__realm__descriptor, twice, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(realm->realm_id, ==, 2);
  actr_proto_message_free(&realm->base);

  /* oneof: a later member replaces an earlier one; A, B, A keeps only the
   * last A (not merged with the first). */
  static const guint8 flows[] = {
      0x08, 0x01, 0x12, 0x00, 0x22, 0x00, /* 1, 2, 4 */
      0x72, 0x02, 0x08, 0x01,             /* 14 envelope_error {code 1} */
      0x52, 0x00,                         /* 10 peer_to_server {} */
      0x72, 0x03, 0x12, 0x01, 'x',        /* 14 envelope_error {message "x"} */
  };
  g_autoptr(Signaling__SignalingEnvelope) sig =
      actr_signaling_envelope_decode(flows, sizeof flows, &error);
  g_assert_no_error(error);
  g_assert_cmpint(sig->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_ENVELOPE_ERROR);
  g_assert_cmpuint(sig->envelope_error->code, ==, 0);
  g_assert_cmpstr(sig->envelope_error->message, ==, "x");

  /* A, B: B wins, and the fast path (nothing to rewrite) agrees. */
  static const guint8 two_flows[] = {
      0x08, 0x01, 0x12, 0x00, 0x22, 0x00, /* 1, 2, 4 */
      0x72, 0x04, 0x08, 0x01, 0x12, 0x00, /* 14 envelope_error */
      0x52, 0x00,                         /* 10 peer_to_server {} */
  };
  g_autoptr(Signaling__SignalingEnvelope) sig2 =
      actr_signaling_envelope_decode(two_flows, sizeof two_flows, &error);
  g_assert_no_error(error);
  g_assert_cmpint(sig2->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_PEER_TO_SERVER);
  g_assert_cmpint(sig2->peer_to_server->payload_case, ==,
                  SIGNALING__PEER_TO_SIGNALING__PAYLOAD__NOT_SET);
}

/* ---------------------------------------------------------------------------
 * Malformed input
 */

static void
test_malformed(void)
{
  const ProtobufCMessageDescriptor *env = &actr__rpc_envelope__descriptor;

  static const guint8 truncated_len[] = {0x0a, 0x05, 'a', 'b'};
  assert_rejected(env, truncated_len, sizeof truncated_len, "field 1: truncated value");
  static const guint8 truncated_key[] = {0x0a, 0x00, 0xb2};
  assert_rejected(env, truncated_key, sizeof truncated_key, "malformed field key");
  static const guint8 truncated_varint[] = {0xc0, 0x06, 0xb0, 0xea};
  assert_rejected(env, truncated_varint, sizeof truncated_varint, "truncated value");
  static const guint8 truncated_fixed[] = {0xa5, 0x03, 0x01, 0x02};
  assert_rejected(env, truncated_fixed, sizeof truncated_fixed, "truncated value");
  static const guint8 long_varint[] = {0xc0, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80,
                                       0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  assert_rejected(env, long_varint, sizeof long_varint, "truncated value");
  static const guint8 overflow_varint[] = {0xc0, 0x06, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  assert_rejected(env, overflow_varint, sizeof overflow_varint, "truncated value");
  static const guint8 field_zero[] = {0x00, 0x01};
  assert_rejected(env, field_zero, sizeof field_zero, "malformed field key");
  static const guint8 wire_type_6[] = {0x0e, 0x01};
  assert_rejected(env, wire_type_6, sizeof wire_type_6, "malformed field key");
  static const guint8 wire_type_7[] = {0x0f, 0x01};
  assert_rejected(env, wire_type_7, sizeof wire_type_7, "malformed field key");
  static const guint8 key_too_big[] = {0xf8, 0xff, 0xff, 0xff, 0x1f, 0x00}; /* > 2^32-1 */
  assert_rejected(env, key_too_big, sizeof key_too_big, "malformed field key");
  static const guint8 wrong_wire_type[] = {0x08, 0x01}; /* route_key as a varint */
  assert_rejected(env, wrong_wire_type, sizeof wrong_wire_type, "field 1: wrong wire type");
  static const guint8 not_utf8[] = {0x0a, 0x02, 0xc3, 0x28};
  assert_rejected(env, not_utf8, sizeof not_utf8, "not UTF-8");
  static const guint8 nul_in_string[] = {0x0a, 0x03, 'a', 0x00, 'b'};
  assert_rejected(env, nul_in_string, sizeof nul_in_string, "contains NUL");
  /* ... but bytes may hold anything. */
  static const guint8 nul_in_bytes[] = {0x12, 0x03, 'a', 0x00, 0xff};
  g_autoptr(GError) error = NULL;
  g_autoptr(Actr__RpcEnvelope) ok =
      actr_rpc_envelope_decode(nul_in_bytes, sizeof nul_in_bytes, &error);
  g_assert_no_error(error);
  g_assert_cmpmem(ok->payload.data, ok->payload.len, "a\0\xff", 3);
  /* A malformed nested message fails the whole message. */
  static const guint8 bad_nested[] = {0x1a, 0x02, 0x08, 0x80};
  assert_rejected(env, bad_nested, sizeof bad_nested, "ErrorResponse: field 1: truncated value");

  /* Error messages name the message type. */
  g_autoptr(GError) named = NULL;
  g_assert_null(actr_rpc_envelope_decode(truncated_len, sizeof truncated_len, &named));
  g_assert_true(g_str_has_prefix(named->message, "actr.RpcEnvelope: "));
}

/* Zero-padded (non-minimal) keys and length prefixes longer than 5 bytes
 * are valid protobuf that protobuf-c refuses; the reference accepts them,
 * so we rewrite them.  (Found by fuzzing: corpus/envelope/regress-*.) */
static void
test_overlong_prefixes(void)
{
  g_autoptr(GError) error = NULL;
  static const guint8 bytes[] = {
      0x8a, 0x80, 0x80, 0x80, 0x80, 0x00,       /* key of field 1, 6 bytes */
      0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, /* length 2, 7 bytes */
      'o',  'k',                                /* route_key "ok" */
      0x9a, 0x83, 0x80, 0x80, 0x80, 0x00,       /* key of unknown field 51 */
      0x80, 0x80, 0x80, 0x80, 0x80, 0x00,       /* length 0, 6 bytes */
  };
  g_autoptr(Actr__RpcEnvelope) env = actr_rpc_envelope_decode(bytes, sizeof bytes, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(env->route_key, ==, "ok");
  g_assert_cmpuint(env->base.n_unknown_fields, ==, 1);
  static const guint8 canonical[] = {0x0a, 0x02, 'o',  'k',  0xb2, 0x06, 0x00,
                                     0xc0, 0x06, 0x00, 0x9a, 0x03, 0x00};
  assert_encodes_to(&env->base, canonical, sizeof canonical);
}

/* Every prefix of a valid message either decodes (when cut on a field
 * boundary: the rest is then "missing") or fails cleanly. */
static void
test_truncations(void)
{
  static const guint8 golden[] = {
      0x0a, 0x0d, 'e',  'c',  'h',  'o',  '.',  'E',  'c',  'h',  'o',  '.',  'S',
      'a',  'y',  0x12, 0x02, 'h',  'i',  0x20, 0x01, 0xa2, 0x06, 0x02, 't',  'p',
      0xaa, 0x06, 0x02, 't',  's',  0xb2, 0x06, 0x03, 'r',  '-',  '1',  0xba, 0x06,
      0x06, 0x0a, 0x01, 'a',  0x12, 0x01, 'b',  0xc0, 0x06, 0xb0, 0xea, 0x01,
  };
  guint decoded = 0, rejected = 0;
  for (gsize len = 0; len <= sizeof golden; len++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(Actr__RpcEnvelope) env = actr_rpc_envelope_decode(golden, len, &error);
    if (env != NULL) {
      g_assert_no_error(error);
      g_assert_nonnull(env->route_key);
      g_assert_nonnull(env->request_id);
      decoded++;
    } else {
      g_assert_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_DECODE);
      rejected++;
    }
  }
  g_assert_cmpuint(decoded, ==, 9); /* 0 and the 8 field boundaries */
  g_assert_cmpuint(rejected, ==, sizeof golden + 1 - 9);
}

/* Pseudo-random garbage: no crash, no leak, clean errors. */
static void
test_garbage(void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed(20240601);
  guint8 buf[64];
  for (guint round = 0; round < 5000; round++) {
    gsize len = (gsize)g_rand_int_range(rand, 0, sizeof buf + 1);
    for (gsize i = 0; i < len; i++)
      buf[i] = (guint8)g_rand_int_range(rand, 0, 256);
    g_autoptr(GError) error = NULL;
    Actr__RpcEnvelope *env = actr_rpc_envelope_decode(buf, len, &error);
    g_assert_true((env == NULL) == (error != NULL));
    actr_rpc_envelope_free(env);
    g_clear_error(&error);
    Signaling__SignalingEnvelope *sig = actr_signaling_envelope_decode(buf, len, &error);
    g_assert_true((sig == NULL) == (error != NULL));
    actr_signaling_envelope_free(sig);
  }
}

/* ---------------------------------------------------------------------------
 * Encoder
 */

static void
test_encode_fills_null_required(void)
{
  /* ActrId with NULL realm and type: protobuf-c alone would emit empty
   * messages; we emit their required fields. */
  Actr__ActrId id = ACTR__ACTR_ID__INIT;
  id.serial_number = 1;
  static const guint8 expected[] = {0x0a, 0x02, 0x08, 0x00, 0x10, 0x01, 0x1a,
                                    0x06, 0x0a, 0x00, 0x12, 0x00, 0x1a, 0x00};
  assert_encodes_to(&id.base, expected, sizeof expected);

  /* Deeper: an ActrRelay with NULL source, credential and target, and a
   * RoleNegotiation payload with NULL ids. */
  Actr__RoleNegotiation rn = ACTR__ROLE_NEGOTIATION__INIT;
  rn.realm_id = 3;
  Signaling__ActrRelay relay = SIGNALING__ACTR_RELAY__INIT;
  relay.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_NEGOTIATION;
  relay.role_negotiation = &rn;
  static const guint8 relay_expected[] = {
      0x0a, 0x0e, 0x0a, 0x02, 0x08, 0x00, 0x10, 0x00,
      0x1a, 0x06, 0x0a, 0x00, 0x12, 0x00, 0x1a, 0x00, /* 1 source: zero ActrId (14 bytes) */
      0x12, 0x06, 0x08, 0x00, 0x12, 0x00, 0x1a, 0x00, /* 2 credential: zero */
      0x1a, 0x0e, 0x0a, 0x02, 0x08, 0x00, 0x10, 0x00,
      0x1a, 0x06, 0x0a, 0x00, 0x12, 0x00, 0x1a, 0x00, /* 3 target */
      0x62, 0x22,                                     /* 12 role_negotiation (34 bytes) */
      0x0a, 0x0e, 0x0a, 0x02, 0x08, 0x00, 0x10, 0x00,
      0x1a, 0x06, 0x0a, 0x00, 0x12, 0x00, 0x1a, 0x00, /*   1 from */
      0x12, 0x0e, 0x0a, 0x02, 0x08, 0x00, 0x10, 0x00,
      0x1a, 0x06, 0x0a, 0x00, 0x12, 0x00, 0x1a, 0x00, /*   2 to */
      0x18, 0x03,                                     /*   3 realm_id */
  };
  assert_encodes_to(&relay.base, relay_expected, sizeof relay_expected);

  /* NULL required strings are emitted as "". */
  Actr__RpcEnvelope env = ACTR__RPC_ENVELOPE__INIT;
  static const guint8 env_expected[] = {0x0a, 0x00, 0xb2, 0x06, 0x00, 0xc0, 0x06, 0x00};
  assert_encodes_to(&env.base, env_expected, sizeof env_expected);
}

static void
test_encode_append(void)
{
  Actr__Realm realm = ACTR__REALM__INIT;
  realm.realm_id = 300;
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_byte_array_append(out, (const guint8 *)"HDR", 3);
  gsize n = actr_proto_message_encode_append(&realm.base, out);
  g_assert_cmpuint(n, ==, 3);
  g_assert_cmpmem(out->data, out->len, "HDR\x08\xac\x02", 6);

  /* With fill-in, the header is kept too. */
  Actr__ActrId id = ACTR__ACTR_ID__INIT;
  n = actr_proto_message_encode_append(&id.base, out);
  g_assert_cmpuint(n, ==, 14);
  g_assert_cmpuint(out->len, ==, 20);
  g_assert_cmpmem(out->data, 6, "HDR\x08\xac\x02", 6);
}

/* ---------------------------------------------------------------------------
 * Envelope helpers
 */

static void
test_envelope_helpers(void)
{
  static const struct {
    gboolean has;
    int raw;
    Actr__RpcEnvelope__Direction expected;
  } cases[] = {
      {FALSE, 0, ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED},
      {FALSE, 2, ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED}, /* has_ flag decides */
      {TRUE, 0, ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED},
      {TRUE, 1, ACTR__RPC_ENVELOPE__DIRECTION__REQUEST},
      {TRUE, 2, ACTR__RPC_ENVELOPE__DIRECTION__RESPONSE},
      {TRUE, 3, ACTR__RPC_ENVELOPE__DIRECTION__TELL},
      {TRUE, 4, ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED},
      {TRUE, -5, ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    Actr__RpcEnvelope env = ACTR__RPC_ENVELOPE__INIT;
    env.has_direction = cases[i].has;
    env.direction = (Actr__RpcEnvelope__Direction)cases[i].raw;
    g_assert_cmpint(actr_rpc_envelope_get_direction(&env), ==, cases[i].expected);
  }

  /* dup_error: none, a known code, an unknown code. */
  Actr__RpcEnvelope env = ACTR__RPC_ENVELOPE__INIT;
  g_assert_null(actr_rpc_envelope_dup_error(&env));
  Actr__ErrorResponse err = ACTR__ERROR_RESPONSE__INIT;
  err.code = ACTR_ERROR_UNKNOWN_ROUTE;
  err.message = "unknown route: a.B.c";
  env.error = &err;
  g_autoptr(GError) known = actr_rpc_envelope_dup_error(&env);
  g_assert_error(known, ACTR_ERROR, ACTR_ERROR_UNKNOWN_ROUTE);
  g_assert_cmpstr(known->message, ==, "unknown route: a.B.c");
  err.code = 42;
  err.message = "odd";
  g_autoptr(GError) unknown = actr_rpc_envelope_dup_error(&env);
  g_assert_error(unknown, ACTR_ERROR, ACTR_ERROR_UNAVAILABLE);

  /* Encode / decode round trip through the typed helpers, with a large
   * payload. */
  gsize big = 1024 * 1024;
  g_autofree guint8 *payload = g_malloc(big);
  for (gsize i = 0; i < big; i++)
    payload[i] = (guint8)(i * 7);
  Actr__RpcEnvelope req = ACTR__RPC_ENVELOPE__INIT;
  req.route_key = "echo.Echo.Say";
  req.has_payload = TRUE;
  req.payload.data = payload;
  req.payload.len = big;
  req.has_direction = TRUE;
  req.direction = ACTR__RPC_ENVELOPE__DIRECTION__TELL;
  req.request_id = "id";
  g_autoptr(GBytes) bytes = actr_rpc_envelope_encode(&req);
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  g_autoptr(Actr__RpcEnvelope) back = actr_rpc_envelope_decode(data, len, &error);
  g_assert_no_error(error);
  g_assert_cmpmem(back->payload.data, back->payload.len, payload, big);
  g_assert_cmpint(actr_rpc_envelope_get_direction(back), ==, ACTR__RPC_ENVELOPE__DIRECTION__TELL);
  g_assert_cmpint(back->timeout_ms, ==, 0);

  /* SignalingEnvelope helpers. */
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 5;
  ts.nanos = 6;
  Signaling__SignalingEnvelope sig = SIGNALING__SIGNALING_ENVELOPE__INIT;
  sig.envelope_version = 1;
  sig.envelope_id = "env-9";
  sig.timestamp = &ts;
  g_autoptr(GBytes) sig_bytes = actr_signaling_envelope_encode(&sig);
  static const guint8 sig_expected[] = {0x08, 0x01, 0x12, 0x05, 'e',  'n',  'v', '-',
                                        '9',  0x22, 0x04, 0x08, 0x05, 0x10, 0x06};
  g_assert_cmpmem(g_bytes_get_data(sig_bytes, NULL), g_bytes_get_size(sig_bytes), sig_expected,
                  sizeof sig_expected);
  g_autoptr(Signaling__SignalingEnvelope) sig_back =
      actr_signaling_envelope_decode(sig_expected, sizeof sig_expected, &error);
  g_assert_no_error(error);
  g_assert_cmpint(sig_back->timestamp->nanos, ==, 6);
  g_assert_cmpint(sig_back->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW__NOT_SET);

  /* DataStream decode of garbage. */
  static const guint8 junk[] = {0xff};
  g_assert_null(actr_data_stream_decode(junk, sizeof junk, &error));
  g_assert_error(error, ACTR_PROTO_ERROR, ACTR_PROTO_ERROR_DECODE);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);

  g_test_add_func("/proto/codec/missing-required-scalars", test_missing_required_scalars);
  g_test_add_func("/proto/codec/missing-required-messages", test_missing_required_messages);
  g_test_add_func("/proto/codec/unknown-fields", test_unknown_fields_skipped);
  g_test_add_func("/proto/codec/unknown-groups", test_unknown_groups_skipped);
  g_test_add_func("/proto/codec/unknown-enum-values", test_unknown_enum_values);
  g_test_add_func("/proto/codec/defaults", test_defaults);
  g_test_add_func("/proto/codec/merge-and-oneof", test_merge_and_oneof);
  g_test_add_func("/proto/codec/malformed", test_malformed);
  g_test_add_func("/proto/codec/overlong-prefixes", test_overlong_prefixes);
  g_test_add_func("/proto/codec/truncations", test_truncations);
  g_test_add_func("/proto/codec/garbage", test_garbage);
  g_test_add_func("/proto/codec/encode-fills-null-required", test_encode_fills_null_required);
  g_test_add_func("/proto/codec/encode-append", test_encode_append);
  g_test_add_func("/proto/codec/envelope-helpers", test_envelope_helpers);

  return g_test_run();
}
