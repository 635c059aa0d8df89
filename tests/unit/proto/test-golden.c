/* Golden encodings: each message is built with known field values, encoded,
 * and compared with bytes written by hand from the field tables of wire.md
 * §1 (key = field << 3 | wire type; varints little-endian base 128; float
 * = wire type 5, 4 bytes LE; lengths before every string, bytes and
 * message).  Then the golden bytes are decoded, the fields checked, and
 * re-encoded to the same bytes. */
#include <actr/types.h>

#include <string.h>

#include "actr-id.h"
#include "codec.h"
#include "envelope.h"
#include "package.pb-c.h"
#include "signaling.pb-c.h"
#include "webrtc.pb-c.h"

/* Encodes @message and compares with @golden; decodes @golden as the same
 * type, re-encodes it and compares again.  Returns the decoded message
 * (transfer full) for field checks. */
static ProtobufCMessage *
check_golden(const ProtobufCMessage *message, const guint8 *golden, gsize golden_len)
{
  g_autoptr(GBytes) encoded = actr_proto_message_encode(message);
  gsize len;
  const guint8 *data = g_bytes_get_data(encoded, &len);
  g_assert_cmpmem(data, len, golden, golden_len);

  g_autoptr(GError) error = NULL;
  ProtobufCMessage *decoded =
      actr_proto_message_decode(message->descriptor, golden, golden_len, &error);
  g_assert_no_error(error);
  g_assert_nonnull(decoded);

  g_autoptr(GBytes) again = actr_proto_message_encode(decoded);
  g_assert_cmpmem(g_bytes_get_data(again, NULL), g_bytes_get_size(again), golden, golden_len);
  return decoded;
}

#define CHECK_GOLDEN(type, msg, golden)                                                            \
  ((type *)check_golden(&(msg)->base, (golden), sizeof(golden)))

static void
free_message(void *message)
{
  actr_proto_message_free(message);
}

/* The ActrType and ActrId used throughout.
 * ActrType acme:echo:1.0.0 (19 bytes): 1 "acme", 2 "echo", 3 "1.0.0".
 * ActrId 1a2b3c@101/acme:echo:1.0.0 (29 bytes): 1 realm {1: 101},
 * 2 serial_number 0x1a2b3c (varint bc d6 68), 3 type (19 bytes). */
#define ACTR_TYPE_BYTES                                                                            \
  0x0a, 0x04, 'a', 'c', 'm', 'e', 0x12, 0x04, 'e', 'c', 'h', 'o', 0x1a, 0x05, '1', '.', '0', '.',  \
      '0'
#define ACTR_ID_BYTES 0x0a, 0x02, 0x08, 0x65, 0x10, 0xbc, 0xd6, 0x68, 0x1a, 0x13, ACTR_TYPE_BYTES

static void
test_realm(void)
{
  Actr__Realm realm = ACTR__REALM__INIT;
  realm.realm_id = 101;
  static const guint8 golden[] = {0x08, 0x65};
  Actr__Realm *back = CHECK_GOLDEN(Actr__Realm, &realm, golden);
  g_assert_cmpuint(back->realm_id, ==, 101);
  free_message(back);

  /* Required: a zero realm is still emitted. */
  realm.realm_id = 0;
  static const guint8 zero[] = {0x08, 0x00};
  free_message(CHECK_GOLDEN(Actr__Realm, &realm, zero));
}

static void
test_actr_type(void)
{
  Actr__ActrType type = ACTR__ACTR_TYPE__INIT;
  type.manufacturer = "acme";
  type.name = "echo";
  type.version = "1.0.0";
  static const guint8 golden[] = {ACTR_TYPE_BYTES};
  Actr__ActrType *back = CHECK_GOLDEN(Actr__ActrType, &type, golden);
  g_assert_cmpstr(back->manufacturer, ==, "acme");
  g_assert_cmpstr(back->name, ==, "echo");
  g_assert_cmpstr(back->version, ==, "1.0.0");
  free_message(back);
}

static void
test_actr_id(void)
{
  static const guint8 golden[] = {ACTR_ID_BYTES};
  G_STATIC_ASSERT(sizeof golden == 29);

  ActrId id = {101, 0x1a2b3c, {"acme", "echo", "1.0.0"}};
  ActrIdPb pb;
  actr_id_to_pb(&id, &pb);
  Actr__ActrId *back = CHECK_GOLDEN(Actr__ActrId, &pb.id, golden);
  g_assert_cmpuint(back->realm->realm_id, ==, 101);
  g_assert_cmphex(back->serial_number, ==, 0x1a2b3c);
  g_assert_cmpstr(back->type->version, ==, "1.0.0");
  free_message(back);

  /* The public encoder produces the same bytes. */
  g_autoptr(GBytes) bytes = actr_id_encode(&id);
  g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), golden, sizeof golden);

  /* Serial 2^64-1 takes a ten-byte varint. */
  ActrId max = {0, G_MAXUINT64, {"a", "b", "c"}};
  static const guint8 max_golden[] = {0x0a, 0x02, 0x08, 0x00, 0x10, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x1a, 0x09, 0x0a,
                                      0x01, 'a',  0x12, 0x01, 'b',  0x1a, 0x01, 'c'};
  g_autoptr(GBytes) max_bytes = actr_id_encode(&max);
  g_assert_cmpmem(g_bytes_get_data(max_bytes, NULL), g_bytes_get_size(max_bytes), max_golden,
                  sizeof max_golden);
  g_auto(ActrId) max_back = {0, 0, {NULL, NULL, NULL}};
  g_assert_true(actr_id_decode(max_golden, sizeof max_golden, &max_back, NULL));
  g_assert_true(actr_id_equal(&max, &max_back));
}

static void
test_error_response(void)
{
  Actr__ErrorResponse err = ACTR__ERROR_RESPONSE__INIT;
  err.code = 10006;
  err.message = "unknown route: x";
  static const guint8 golden[] = {
      0x08, 0x96, 0x4e, /* 1 code 10006 */
      0x12, 0x10, 'u',  'n', 'k', 'n', 'o', 'w', 'n', ' ', 'r', 'o', 'u', 't', 'e', ':', ' ', 'x',
  };
  Actr__ErrorResponse *back = CHECK_GOLDEN(Actr__ErrorResponse, &err, golden);
  g_assert_cmpuint(back->code, ==, 10006);
  g_assert_cmpstr(back->message, ==, "unknown route: x");
  free_message(back);
}

static void
test_rpc_envelope(void)
{
  Actr__MetadataEntry entry = ACTR__METADATA_ENTRY__INIT;
  entry.key = "a";
  entry.value = "b";
  Actr__MetadataEntry *entries[] = {&entry};
  Actr__RpcEnvelope env = ACTR__RPC_ENVELOPE__INIT;
  env.route_key = "echo.Echo.Say";
  env.has_payload = TRUE;
  env.payload.data = (guint8 *)"hi";
  env.payload.len = 2;
  env.has_direction = TRUE;
  env.direction = ACTR__RPC_ENVELOPE__DIRECTION__REQUEST;
  env.traceparent = "tp";
  env.tracestate = "ts";
  env.request_id = "r-1";
  env.n_metadata = 1;
  env.metadata = entries;
  env.timeout_ms = 30000;

  static const guint8 golden[] = {
      0x0a, 0x0d, 'e',  'c',  'h',  'o', '.',  'E',  'c', 'h', 'o', '.', 'S', 'a', 'y', /* 1 */
      0x12, 0x02, 'h',  'i',                              /* 2 payload */
      0x20, 0x01,                                         /* 4 direction REQUEST (HEAD) */
      0xa2, 0x06, 0x02, 't',  'p',                        /* 100 traceparent: key 802 */
      0xaa, 0x06, 0x02, 't',  's',                        /* 101 tracestate: key 810 */
      0xb2, 0x06, 0x03, 'r',  '-',  '1',                  /* 102 request_id: key 818 */
      0xba, 0x06, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b', /* 103 metadata: key 826 */
      0xc0, 0x06, 0xb0, 0xea, 0x01,                       /* 104 timeout_ms 30000: key 832 */
  };
  Actr__RpcEnvelope *back = CHECK_GOLDEN(Actr__RpcEnvelope, &env, golden);
  g_assert_cmpstr(back->route_key, ==, "echo.Echo.Say");
  g_assert_true(back->has_payload);
  g_assert_cmpmem(back->payload.data, back->payload.len, "hi", 2);
  g_assert_null(back->error);
  g_assert_true(back->has_direction);
  g_assert_cmpint(actr_rpc_envelope_get_direction(back), ==,
                  ACTR__RPC_ENVELOPE__DIRECTION__REQUEST);
  g_assert_cmpstr(back->traceparent, ==, "tp");
  g_assert_cmpstr(back->tracestate, ==, "ts");
  g_assert_cmpstr(back->request_id, ==, "r-1");
  g_assert_cmpuint(back->n_metadata, ==, 1);
  g_assert_cmpstr(back->metadata[0]->key, ==, "a");
  g_assert_cmpstr(back->metadata[0]->value, ==, "b");
  g_assert_cmpint(back->timeout_ms, ==, 30000);
  actr_rpc_envelope_free(back);

  /* A baseline error response: no payload, no direction, error at tag 3. */
  Actr__ErrorResponse err = ACTR__ERROR_RESPONSE__INIT;
  err.code = 10003;
  err.message = "not found: x";
  Actr__RpcEnvelope resp = ACTR__RPC_ENVELOPE__INIT;
  resp.route_key = "a.B.c";
  resp.error = &err;
  resp.request_id = "r";
  resp.timeout_ms = 30000;
  static const guint8 resp_golden[] = {
      0x0a, 0x05, 'a',  '.',  'B',  '.', 'c', /* 1 route_key */
      0x1a, 0x11, 0x08, 0x93, 0x4e,           /* 3 error {1: 10003 */
      0x12, 0x0c, 'n',  'o',  't',  ' ', 'f', 'o', 'u', 'n', 'd', ':', ' ', 'x', /* 2: msg} */
      0xb2, 0x06, 0x01, 'r',        /* 102 request_id */
      0xc0, 0x06, 0xb0, 0xea, 0x01, /* 104 timeout_ms */
  };
  back = CHECK_GOLDEN(Actr__RpcEnvelope, &resp, resp_golden);
  g_assert_false(back->has_payload);
  g_assert_nonnull(back->error);
  g_assert_cmpint(actr_rpc_envelope_get_direction(back), ==,
                  ACTR__RPC_ENVELOPE__DIRECTION__UNSPECIFIED);
  g_autoptr(GError) wire_error = actr_rpc_envelope_dup_error(back);
  g_assert_nonnull(wire_error);
  g_assert_cmpint(wire_error->code, ==, 10003);
  g_assert_cmpstr(wire_error->message, ==, "not found: x");
  actr_rpc_envelope_free(back);
}

static void
test_identity_claims(void)
{
  Actr__IdentityClaims claims = ACTR__IDENTITY_CLAIMS__INIT;
  claims.realm_id = 101;
  claims.actor_id = "1a2b3c@101/acme:echo:1.0.0";
  claims.expires_at = 1700000000;
  static const guint8 golden[] = {
      0x08, 0x65, /* 1 realm_id */
      0x12, 0x1a, '1',  'a',  '2',  'b',  '3', 'c', '@', '1', '0', '1', '/', 'a', 'c',
      'm',  'e',  ':',  'e',  'c',  'h',  'o', ':', '1', '.', '0', '.', '0', /* 2 actor_id (26) */
      0x18, 0x80, 0xe2, 0xcf, 0xaa, 0x06,                                    /* 3 expires_at */
  };
  Actr__IdentityClaims *back = CHECK_GOLDEN(Actr__IdentityClaims, &claims, golden);
  g_assert_cmpuint(back->realm_id, ==, 101);
  g_assert_cmpstr(back->actor_id, ==, "1a2b3c@101/acme:echo:1.0.0");
  g_assert_cmpuint(back->expires_at, ==, 1700000000);
  free_message(back);
}

static void
test_aid_credential(void)
{
  guint8 signature[64];
  memset(signature, 0xab, sizeof signature);
  static const guint8 claims[] = {0x08, 0x65};
  Actr__AIdCredential cred = ACTR__AID_CREDENTIAL__INIT;
  cred.key_id = 1;
  cred.claims.data = (guint8 *)claims;
  cred.claims.len = sizeof claims;
  cred.signature.data = signature;
  cred.signature.len = sizeof signature;

  guint8 golden[8 + 64] = {
      0x08, 0x01,             /* 1 key_id */
      0x12, 0x02, 0x08, 0x65, /* 2 claims (an encoded IdentityClaims prefix) */
      0x1a, 0x40,             /* 3 signature, 64 bytes */
  };
  memset(golden + 8, 0xab, 64);
  Actr__AIdCredential *back = CHECK_GOLDEN(Actr__AIdCredential, &cred, golden);
  g_assert_cmpuint(back->key_id, ==, 1);
  g_assert_cmpmem(back->claims.data, back->claims.len, claims, sizeof claims);
  g_assert_cmpmem(back->signature.data, back->signature.len, signature, sizeof signature);
  free_message(back);
}

static void
test_ping(void)
{
  char *sticky[] = {"c1", "c2"};
  Actr__Ping ping = ACTR__PING__INIT;
  ping.availability = ACTR__SERVICE_AVAILABILITY_STATE__DEGRADED;
  ping.power_reserve = 0.5f;
  ping.mailbox_backlog = 2.0f;
  ping.n_sticky_client_ids = 2;
  ping.sticky_client_ids = sticky;
  static const guint8 golden[] = {
      0x08, 0x01,                   /* 1 availability DEGRADED */
      0x15, 0x00, 0x00, 0x00, 0x3f, /* 2 power_reserve 0.5f, wire type 5 */
      0x1d, 0x00, 0x00, 0x00, 0x40, /* 3 mailbox_backlog 2.0f, wire type 5 */
      0x22, 0x02, 'c',  '1',        /* 4 sticky_client_ids[0] */
      0x22, 0x02, 'c',  '2',        /* 4 sticky_client_ids[1] */
  };
  Actr__Ping *back = CHECK_GOLDEN(Actr__Ping, &ping, golden);
  g_assert_cmpint(back->availability, ==, ACTR__SERVICE_AVAILABILITY_STATE__DEGRADED);
  g_assert_cmpfloat(back->power_reserve, ==, 0.5f);
  g_assert_cmpfloat(back->mailbox_backlog, ==, 2.0f);
  g_assert_cmpuint(back->n_sticky_client_ids, ==, 2);
  g_assert_cmpstr(back->sticky_client_ids[1], ==, "c2");
  free_message(back);

  /* Zero values of required floats are still emitted. */
  Actr__Ping zero = ACTR__PING__INIT;
  static const guint8 zero_golden[] = {0x08, 0x00, 0x15, 0x00, 0x00, 0x00,
                                       0x00, 0x1d, 0x00, 0x00, 0x00, 0x00};
  free_message(CHECK_GOLDEN(Actr__Ping, &zero, zero_golden));
}

static void
test_pong(void)
{
  Actr__CredentialWarning warning = ACTR__CREDENTIAL_WARNING__INIT;
  warning.type = ACTR__CREDENTIAL_WARNING__WARNING_TYPE__KEY_IN_TOLERANCE_PERIOD;
  warning.message = "rotate";
  Actr__Pong pong = ACTR__PONG__INIT;
  pong.seq = 7;
  pong.has_suggest_interval_secs = TRUE;
  pong.suggest_interval_secs = 30;
  pong.credential_warning = &warning;
  static const guint8 golden[] = {
      0x08, 0x07, /* 1 seq */
      0x10, 0x1e, /* 2 suggest_interval_secs 30 */
      0x1a, 0x0a, 0x08, 0x00, 0x12, 0x06, 'r', 'o', 't', 'a', 't', 'e', /* 3 warning */
  };
  Actr__Pong *back = CHECK_GOLDEN(Actr__Pong, &pong, golden);
  g_assert_cmpuint(back->seq, ==, 7);
  g_assert_true(back->has_suggest_interval_secs);
  g_assert_cmpuint(back->suggest_interval_secs, ==, 30);
  g_assert_nonnull(back->credential_warning);
  g_assert_cmpstr(back->credential_warning->message, ==, "rotate");
  free_message(back);

  /* Optional fields are omitted when unset. */
  Actr__Pong bare = ACTR__PONG__INIT;
  bare.seq = 7;
  static const guint8 bare_golden[] = {0x08, 0x07};
  back = CHECK_GOLDEN(Actr__Pong, &bare, bare_golden);
  g_assert_false(back->has_suggest_interval_secs);
  g_assert_null(back->credential_warning);
  free_message(back);
}

static void
test_signaling_envelope_error(void)
{
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 1700000000;
  Actr__ErrorResponse err = ACTR__ERROR_RESPONSE__INIT;
  err.code = 429;
  err.message = "slow down";
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  env.envelope_version = 1;
  env.envelope_id = "env-1";
  env.timestamp = &ts;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ENVELOPE_ERROR;
  env.envelope_error = &err;
  static const guint8 golden[] = {
      0x08, 0x01,                                     /* 1 envelope_version */
      0x12, 0x05, 'e',  'n',  'v',  '-',  '1',        /* 2 envelope_id */
      0x22, 0x06, 0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06, /* 4 timestamp {1: seconds} (proto3) */
      0x72, 0x0e, 0x08, 0xad, 0x03,                   /* 14 envelope_error {1: 429 */
      0x12, 0x09, 's',  'l',  'o',  'w',  ' ',  'd',  'o', 'w', 'n', /* 2: message} */
  };
  Signaling__SignalingEnvelope *back = CHECK_GOLDEN(Signaling__SignalingEnvelope, &env, golden);
  g_assert_cmpuint(back->envelope_version, ==, 1);
  g_assert_cmpstr(back->envelope_id, ==, "env-1");
  g_assert_null(back->reply_for);
  g_assert_cmpint(back->timestamp->seconds, ==, 1700000000);
  g_assert_cmpint(back->timestamp->nanos, ==, 0);
  g_assert_cmpint(back->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_ENVELOPE_ERROR);
  g_assert_cmpuint(back->envelope_error->code, ==, 429);
  actr_signaling_envelope_free(back);
}

static void
test_signaling_envelope_ping(void)
{
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  Actr__Realm realm = ACTR__REALM__INIT;
  realm.realm_id = 1;
  Actr__ActrType type = ACTR__ACTR_TYPE__INIT;
  type.manufacturer = "a";
  type.name = "b";
  type.version = "c";
  Actr__ActrId source = ACTR__ACTR_ID__INIT;
  source.realm = &realm;
  source.serial_number = 2;
  source.type = &type;
  Actr__AIdCredential cred = ACTR__AID_CREDENTIAL__INIT;
  cred.key_id = 1;
  Actr__Ping ping = ACTR__PING__INIT;
  ping.power_reserve = 1.0f;
  Signaling__ActrToSignaling a2s = SIGNALING__ACTR_TO_SIGNALING__INIT;
  a2s.source = &source;
  a2s.credential = &cred;
  a2s.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_PING;
  a2s.ping = &ping;
  Signaling__SignalingEnvelope env = SIGNALING__SIGNALING_ENVELOPE__INIT;
  env.envelope_version = 1;
  env.envelope_id = "env-2";
  env.reply_for = "env-1";
  env.timestamp = &ts;
  env.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER;
  env.actr_to_server = &a2s;

  static const guint8 golden[] = {
      0x08, 0x01,                              /* 1 envelope_version */
      0x12, 0x05, 'e',  'n',  'v',  '-',  '2', /* 2 envelope_id */
      0x1a, 0x05, 'e',  'n',  'v',  '-',  '1', /* 3 reply_for */
      0x22, 0x00,                              /* 4 timestamp: zero, still present (required) */
      0x5a, 0x29,                              /* 11 actr_to_server (41 bytes) */
      0x0a, 0x11,                              /*   1 source (17 bytes) */
      0x0a, 0x02, 0x08, 0x01, 0x10, 0x02, 0x1a, 0x09, 0x0a, 0x01, 'a',  0x12,
      0x01, 'b',  0x1a, 0x01, 'c',                    /*   ActrId 1@1/a:b:c... serial 2 */
      0x12, 0x06, 0x08, 0x01, 0x12, 0x00, 0x1a, 0x00, /*   2 credential, empty bytes */
      0x22, 0x0c,                                     /*   4 ping (12 bytes) */
      0x08, 0x00, 0x15, 0x00, 0x00, 0x80, 0x3f, 0x1d, 0x00, 0x00, 0x00, 0x00,
  };
  Signaling__SignalingEnvelope *back = CHECK_GOLDEN(Signaling__SignalingEnvelope, &env, golden);
  g_assert_cmpstr(back->reply_for, ==, "env-1");
  g_assert_cmpint(back->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER);
  g_assert_cmpint(back->actr_to_server->payload_case, ==,
                  SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_PING);
  g_assert_cmpfloat(back->actr_to_server->ping->power_reserve, ==, 1.0f);
  g_assert_cmpuint(back->actr_to_server->source->serial_number, ==, 2);
  g_assert_cmpuint(back->actr_to_server->credential->signature.len, ==, 0);
  actr_signaling_envelope_free(back);
}

static void
test_role_assignment(void)
{
  Actr__RoleAssignment ra = ACTR__ROLE_ASSIGNMENT__INIT;
  ra.is_offerer = TRUE;
  static const guint8 golden[] = {0x08, 0x01};
  Actr__RoleAssignment *back = CHECK_GOLDEN(Actr__RoleAssignment, &ra, golden);
  g_assert_true(back->is_offerer);
  g_assert_false(back->has_remote_fixed);
  g_assert_false(back->remote_fixed); /* default false */
  free_message(back);

  ra.is_offerer = FALSE;
  ra.has_remote_fixed = TRUE;
  ra.remote_fixed = TRUE;
  static const guint8 both[] = {0x08, 0x00, 0x10, 0x01};
  back = CHECK_GOLDEN(Actr__RoleAssignment, &ra, both);
  g_assert_false(back->is_offerer);
  g_assert_true(back->remote_fixed);
  free_message(back);
}

static void
test_role_negotiation(void)
{
  ActrId from = {101, 0x1a2b3c, {"acme", "echo", "1.0.0"}};
  ActrId to = {101, 0x1a2b3c, {"acme", "echo", "1.0.0"}};
  ActrIdPb from_pb, to_pb;
  actr_id_to_pb(&from, &from_pb);
  actr_id_to_pb(&to, &to_pb);
  Actr__RoleNegotiation rn = ACTR__ROLE_NEGOTIATION__INIT;
  rn.from = &from_pb.id;
  rn.to = &to_pb.id;
  rn.realm_id = 101;
  static const guint8 golden[] = {
      0x0a, 0x1d, ACTR_ID_BYTES, /* 1 from (29 bytes) */
      0x12, 0x1d, ACTR_ID_BYTES, /* 2 to */
      0x18, 0x65,                /* 3 realm_id */
  };
  free_message(CHECK_GOLDEN(Actr__RoleNegotiation, &rn, golden));
}

static void
test_session_description(void)
{
  Webrtc__SessionDescription sd = WEBRTC__SESSION_DESCRIPTION__INIT;
  sd.type = WEBRTC__SESSION_DESCRIPTION__TYPE__ANSWER;
  sd.sdp = "v=0\r\n";
  sd.sdp_exchange_id = "x1";
  static const guint8 golden[] = {
      0x08, 0x01,                            /* 1 type ANSWER */
      0x12, 0x05, 'v', '=', '0', '\r', '\n', /* 2 sdp */
      0x1a, 0x02, 'x', '1',                  /* 3 sdp_exchange_id */
  };
  Webrtc__SessionDescription *back = CHECK_GOLDEN(Webrtc__SessionDescription, &sd, golden);
  g_assert_cmpint(back->type, ==, WEBRTC__SESSION_DESCRIPTION__TYPE__ANSWER);
  g_assert_cmpstr(back->sdp, ==, "v=0\r\n");
  g_assert_cmpstr(back->sdp_exchange_id, ==, "x1");
  free_message(back);

  /* OFFER is 0 and still emitted (required). */
  Webrtc__SessionDescription offer = WEBRTC__SESSION_DESCRIPTION__INIT;
  offer.type = WEBRTC__SESSION_DESCRIPTION__TYPE__OFFER;
  offer.sdp = "";
  static const guint8 offer_golden[] = {0x08, 0x00, 0x12, 0x00};
  free_message(CHECK_GOLDEN(Webrtc__SessionDescription, &offer, offer_golden));
}

static void
test_ice_candidate(void)
{
  Webrtc__IceCandidate ic = WEBRTC__ICE_CANDIDATE__INIT;
  ic.candidate = "candidate:1";
  ic.has_sdp_mline_index = TRUE;
  ic.sdp_mline_index = 0;
  ic.username_fragment = "uf";
  static const guint8 golden[] = {
      0x0a, 0x0b, 'c', 'a', 'n', 'd', 'i', 'd', 'a', 't', 'e', ':', '1', /* 1 candidate */
      0x18, 0x00,                                                        /* 3 sdp_mline_index */
      0x22, 0x02, 'u', 'f',                                              /* 4 username_fragment */
  };
  Webrtc__IceCandidate *back = CHECK_GOLDEN(Webrtc__IceCandidate, &ic, golden);
  g_assert_null(back->sdp_mid);
  g_assert_true(back->has_sdp_mline_index);
  g_assert_cmpstr(back->username_fragment, ==, "uf");
  free_message(back);
}

static void
test_data_stream(void)
{
  Actr__MetadataEntry entry = ACTR__METADATA_ENTRY__INIT;
  entry.key = "k";
  entry.value = "v";
  Actr__MetadataEntry *entries[] = {&entry};
  static const guint8 payload[] = {0x00, 0x01};
  Actr__DataStream ds = ACTR__DATA_STREAM__INIT;
  ds.stream_id = "s";
  ds.sequence = 300;
  ds.payload.data = (guint8 *)payload;
  ds.payload.len = sizeof payload;
  ds.n_metadata = 1;
  ds.metadata = entries;
  ds.has_timestamp_ms = TRUE;
  ds.timestamp_ms = G_GINT64_CONSTANT(1700000000000);
  static const guint8 golden[] = {
      0x0a, 0x01, 's',                               /* 1 stream_id */
      0x10, 0xac, 0x02,                              /* 2 sequence 300 */
      0x1a, 0x02, 0x00, 0x01,                        /* 3 payload */
      0x22, 0x06, 0x0a, 0x01, 'k',  0x12, 0x01, 'v', /* 4 metadata */
      0x28, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31,      /* 5 timestamp_ms */
  };
  g_autoptr(GBytes) via_helper = actr_data_stream_encode(&ds);
  g_assert_cmpmem(g_bytes_get_data(via_helper, NULL), g_bytes_get_size(via_helper), golden,
                  sizeof golden);
  Actr__DataStream *back = CHECK_GOLDEN(Actr__DataStream, &ds, golden);
  g_assert_cmpstr(back->stream_id, ==, "s");
  g_assert_cmpuint(back->sequence, ==, 300);
  g_assert_cmpmem(back->payload.data, back->payload.len, payload, sizeof payload);
  g_assert_cmpuint(back->n_metadata, ==, 1);
  g_assert_cmpint(back->timestamp_ms, ==, G_GINT64_CONSTANT(1700000000000));
  actr_data_stream_free(back);
}

static void
test_acl_rule(void)
{
  Actr__ActrType type = ACTR__ACTR_TYPE__INIT;
  type.manufacturer = "acme";
  type.name = "echo";
  type.version = "1.0.0";
  Actr__AclRule rule = ACTR__ACL_RULE__INIT;
  rule.permission = ACTR__ACL_RULE__PERMISSION__ALLOW;
  rule.from_type = &type;
  rule.source_realm_case = ACTR__ACL_RULE__SOURCE_REALM_REALM_ID;
  rule.realm_id = 7;
  Actr__AclRule *rules[] = {&rule};
  Actr__Acl acl = ACTR__ACL__INIT;
  acl.n_rules = 1;
  acl.rules = rules;
  static const guint8 golden[] = {
      0x0a, 0x19,                  /* 1 rules[0] (25 bytes) */
      0x08, 0x01,                  /*   1 permission ALLOW */
      0x12, 0x13, ACTR_TYPE_BYTES, /*   2 from_type */
      0x20, 0x07,                  /*   4 realm_id (oneof source_realm) */
  };
  Actr__Acl *back = CHECK_GOLDEN(Actr__Acl, &acl, golden);
  g_assert_cmpuint(back->n_rules, ==, 1);
  g_assert_cmpint(back->rules[0]->source_realm_case, ==, ACTR__ACL_RULE__SOURCE_REALM_REALM_ID);
  g_assert_cmpuint(back->rules[0]->realm_id, ==, 7);
  free_message(back);

  /* The other oneof member: any_realm = false is still emitted (set). */
  rule.source_realm_case = ACTR__ACL_RULE__SOURCE_REALM_ANY_REALM;
  rule.any_realm = FALSE;
  static const guint8 any_golden[] = {
      0x0a, 0x19, 0x08, 0x01, 0x12, 0x13, ACTR_TYPE_BYTES, 0x18, 0x00, /* 3 any_realm false */
  };
  back = CHECK_GOLDEN(Actr__Acl, &acl, any_golden);
  g_assert_cmpint(back->rules[0]->source_realm_case, ==, ACTR__ACL_RULE__SOURCE_REALM_ANY_REALM);
  g_assert_false(back->rules[0]->any_realm);
  free_message(back);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);

  g_test_add_func("/proto/golden/realm", test_realm);
  g_test_add_func("/proto/golden/actr-type", test_actr_type);
  g_test_add_func("/proto/golden/actr-id", test_actr_id);
  g_test_add_func("/proto/golden/error-response", test_error_response);
  g_test_add_func("/proto/golden/rpc-envelope", test_rpc_envelope);
  g_test_add_func("/proto/golden/identity-claims", test_identity_claims);
  g_test_add_func("/proto/golden/aid-credential", test_aid_credential);
  g_test_add_func("/proto/golden/ping", test_ping);
  g_test_add_func("/proto/golden/pong", test_pong);
  g_test_add_func("/proto/golden/signaling-envelope-error", test_signaling_envelope_error);
  g_test_add_func("/proto/golden/signaling-envelope-ping", test_signaling_envelope_ping);
  g_test_add_func("/proto/golden/role-assignment", test_role_assignment);
  g_test_add_func("/proto/golden/role-negotiation", test_role_negotiation);
  g_test_add_func("/proto/golden/session-description", test_session_description);
  g_test_add_func("/proto/golden/ice-candidate", test_ice_candidate);
  g_test_add_func("/proto/golden/data-stream", test_data_stream);
  g_test_add_func("/proto/golden/acl-rule", test_acl_rule);

  return g_test_run();
}
