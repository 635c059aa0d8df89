/* Unit tests for src/transport/webrtc/sdp.c: SDP for data channels in the
 * shapes Chromium and aiortc produce (samples written for these tests), round
 * trips, trickled candidates, and rejection of malformed input. */
#include "sdp.h"

#include <string.h>

#define FP256                                                                                      \
  "34:85:AE:A9:CE:EC:47:07:95:77:3A:52:87:10:BB:2C:78:AA:C2:1C:B4:26:65:67:C8:76:D5:B9:77:C7:1B:"  \
  "A2"
#define FP384                                                                                      \
  "6A:08:62:A2:89:93:9F:0E:58:2E:A3:88:8A:6A:B4:2C:10:35:A3:7C:2D:0A:65:CA:80:BB:19:77:8F:01:ED:"  \
  "C3:EC:57:8F:E9:09:08:D0:94:19:92:C6:1A:E1:83:E3:95"

static const guint8 fp256[32] = {0x34, 0x85, 0xAE, 0xA9, 0xCE, 0xEC, 0x47, 0x07, 0x95, 0x77, 0x3A,
                                 0x52, 0x87, 0x10, 0xBB, 0x2C, 0x78, 0xAA, 0xC2, 0x1C, 0xB4, 0x26,
                                 0x65, 0x67, 0xC8, 0x76, 0xD5, 0xB9, 0x77, 0xC7, 0x1B, 0xA2};

/* Chromium: a data-channel-only offer, trickle, no candidates inline. */
static const char chromium_offer[] = "v=0\r\n"
                                     "o=- 5738264386447532153 2 IN IP4 127.0.0.1\r\n"
                                     "s=-\r\n"
                                     "t=0 0\r\n"
                                     "a=group:BUNDLE 0\r\n"
                                     "a=extmap-allow-mixed\r\n"
                                     "a=msid-semantic: WMS\r\n"
                                     "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                                     "c=IN IP4 0.0.0.0\r\n"
                                     "a=ice-ufrag:Xy4b\r\n"
                                     "a=ice-pwd:qL9vK2mHn8pR3sT6uW1yZ0aB\r\n"
                                     "a=ice-options:trickle\r\n"
                                     "a=fingerprint:sha-256 " FP256 "\r\n"
                                     "a=setup:actpass\r\n"
                                     "a=mid:0\r\n"
                                     "a=sctp-port:5000\r\n"
                                     "a=max-message-size:262144\r\n";

/* Chromium: an answer with an inline mDNS host and a srflx candidate. */
static const char chromium_answer[] =
    "v=0\r\n"
    "o=- 891763304518287615 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=application 54400 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 203.0.113.7\r\n"
    "a=candidate:3884256357 1 udp 2113937151 0b7f5bcd-9a2e-4c3b-8f1a-2d3e4f5a6b7c.local 54400 typ "
    "host generation 0 network-cost 999\r\n"
    "a=candidate:842163049 1 udp 1677729535 203.0.113.7 54400 typ srflx raddr 0.0.0.0 rport 0 "
    "generation 0 network-cost 999\r\n"
    "a=ice-ufrag:hT3q\r\n"
    "a=ice-pwd:Zr5Kc8vQ2mW9xN4pB7sD1fGh\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 " FP256 "\r\n"
    "a=setup:active\r\n"
    "a=mid:0\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

/* aiortc 1.4: the old DTLS/SCTP syntax, candidates inline, several
 * fingerprints (sha-384 first here, to check the sha-256 preference). */
static const char aiortc_offer[] =
    "v=0\r\n"
    "o=- 3909816853 3909816853 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic:WMS *\r\n"
    "m=application 59807 DTLS/SCTP 5000\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    "a=mid:0\r\n"
    "a=sctpmap:5000 webrtc-datachannel 65535\r\n"
    "a=max-message-size:65536\r\n"
    "a=candidate:6f1a7c1e2d3b4a59c8e7f6a5b4c3d2e1 1 udp 2130706431 192.168.1.20 59807 typ host\r\n"
    "a=candidate:0c2f4e7a9b1d3f5e7a9c1e3f5a7b9d1f 1 udp 1694498815 198.51.100.4 59807 typ srflx "
    "raddr 192.168.1.20 rport 59807\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-ufrag:Q7hN\r\n"
    "a=ice-pwd:b3Lr8TzK1wXc5vYp0sDq9m\r\n"
    "a=fingerprint:sha-384 " FP384 "\r\n"
    "a=fingerprint:sha-256 " FP256 "\r\n"
    "a=setup:actpass\r\n";

/* Session-level ICE and fingerprint, LF line ends, audio and video
 * m-sections (with their own, different credentials) before the
 * application one; a rejected (port 0) application m-line comes first. */
static const char session_level[] = "v=0\n"
                                    "o=mozilla...THIS_IS_SDPARTA-99.0 1234 0 IN IP4 0.0.0.0\n"
                                    "s=-\n"
                                    "t=0 0\n"
                                    "a=ice-ufrag:sEsS\n"
                                    "a=ice-pwd:sessionlevelpassword0001\n"
                                    "a=ice-options:trickle\n"
                                    "a=fingerprint:SHA-256 " FP256 "\n"
                                    "a=group:BUNDLE 0 1 2\n"
                                    "m=audio 9 UDP/TLS/RTP/SAVPF 111\n"
                                    "c=IN IP4 0.0.0.0\n"
                                    "a=ice-ufrag:aUdI\n"
                                    "a=ice-pwd:audiolevelpassword000001\n"
                                    "a=setup:passive\n"
                                    "a=mid:0\n"
                                    "a=rtpmap:111 opus/48000/2\n"
                                    "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\n"
                                    "a=mid:x\n"
                                    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n"
                                    "c=IN IP4 0.0.0.0\n"
                                    "a=setup:actpass\n"
                                    "a=mid:2\n"
                                    "a=sctp-port:5001\n"
                                    "a=candidate:1 1 UDP 2122252543 10.0.0.5 40000 typ host\n"
                                    "m=video 9 UDP/TLS/RTP/SAVPF 96\n"
                                    "a=mid:3\n"
                                    "a=sctp-port:7\n";

static ActrSdp *
parse_ok(const char *text)
{
  GError *error = NULL;
  ActrSdp *sdp = actr_sdp_parse(text, -1, &error);
  g_assert_no_error(error);
  g_assert_nonnull(sdp);
  return sdp;
}

static void
test_chromium_offer(void)
{
  g_autoptr(ActrSdp) sdp = parse_ok(chromium_offer);
  g_assert_cmpuint(sdp->session_id, ==, G_GUINT64_CONSTANT(5738264386447532153));
  g_assert_cmpuint(sdp->session_version, ==, 2);
  g_assert_cmpstr(sdp->ice_ufrag, ==, "Xy4b");
  g_assert_cmpstr(sdp->ice_pwd, ==, "qL9vK2mHn8pR3sT6uW1yZ0aB");
  g_assert_true(sdp->ice_trickle);
  g_assert_false(sdp->ice_lite);
  g_assert_cmpint(sdp->fingerprint_hash, ==, ACTR_SDP_HASH_SHA256);
  g_assert_cmpmem(sdp->fingerprint, sdp->fingerprint_len, fp256, sizeof fp256);
  g_assert_cmpint(sdp->setup, ==, ACTR_SDP_SETUP_ACTPASS);
  g_assert_cmpstr(sdp->mid, ==, "0");
  g_assert_cmpuint(sdp->sctp_port, ==, 5000);
  g_assert_cmpuint(sdp->max_message_size, ==, 262144);
  g_assert_false(sdp->legacy_sctpmap);
  g_assert_cmpuint(sdp->candidates->len, ==, 0);
  g_assert_false(sdp->end_of_candidates);
}

static void
test_chromium_answer(void)
{
  g_autoptr(ActrSdp) sdp = parse_ok(chromium_answer);
  g_assert_cmpint(sdp->setup, ==, ACTR_SDP_SETUP_ACTIVE);
  g_assert_cmpuint(sdp->candidates->len, ==, 2);
  const ActrSdpCandidate *h = &g_array_index(sdp->candidates, ActrSdpCandidate, 0);
  g_assert_cmpstr(h->foundation, ==, "3884256357");
  g_assert_cmpuint(h->component, ==, 1);
  g_assert_cmpstr(h->transport, ==, "udp");
  g_assert_cmpuint(h->priority, ==, 2113937151);
  g_assert_cmpstr(h->address, ==, "0b7f5bcd-9a2e-4c3b-8f1a-2d3e4f5a6b7c.local");
  g_assert_cmpuint(h->port, ==, 54400);
  g_assert_cmpint(h->type, ==, ACTR_SDP_CANDIDATE_HOST);
  g_assert_false(h->has_related);
  const ActrSdpCandidate *s = &g_array_index(sdp->candidates, ActrSdpCandidate, 1);
  g_assert_cmpint(s->type, ==, ACTR_SDP_CANDIDATE_SRFLX);
  g_assert_true(s->has_related);
  g_assert_cmpstr(s->related_address, ==, "0.0.0.0");
  g_assert_cmpuint(s->related_port, ==, 0);
}

static void
test_aiortc_legacy(void)
{
  g_autoptr(ActrSdp) sdp = parse_ok(aiortc_offer);
  g_assert_true(sdp->legacy_sctpmap);
  g_assert_cmpuint(sdp->sctp_port, ==, 5000);
  g_assert_cmpuint(sdp->max_message_size, ==, 65536);
  g_assert_cmpuint(sdp->session_id, ==, 3909816853u);
  g_assert_cmpstr(sdp->ice_ufrag, ==, "Q7hN");
  g_assert_false(sdp->ice_trickle);
  g_assert_cmpint(sdp->fingerprint_hash, ==, ACTR_SDP_HASH_SHA256); /* preferred */
  g_assert_cmpmem(sdp->fingerprint, sdp->fingerprint_len, fp256, sizeof fp256);
  g_assert_cmpuint(sdp->candidates->len, ==, 2);
  g_assert_true(sdp->end_of_candidates);
  const ActrSdpCandidate *s = &g_array_index(sdp->candidates, ActrSdpCandidate, 1);
  g_assert_cmpstr(s->foundation, ==, "0c2f4e7a9b1d3f5e7a9c1e3f5a7b9d1f");
  g_assert_cmpstr(s->related_address, ==, "192.168.1.20");
  g_assert_cmpuint(s->related_port, ==, 59807);
}

static void
test_session_level(void)
{
  g_autoptr(ActrSdp) sdp = parse_ok(session_level);
  g_assert_cmpstr(sdp->ice_ufrag, ==, "sEsS"); /* not the audio section's */
  g_assert_cmpstr(sdp->ice_pwd, ==, "sessionlevelpassword0001");
  g_assert_true(sdp->ice_trickle);
  g_assert_cmpint(sdp->fingerprint_hash, ==, ACTR_SDP_HASH_SHA256);
  g_assert_cmpint(sdp->setup, ==, ACTR_SDP_SETUP_ACTPASS);
  g_assert_cmpstr(sdp->mid, ==, "2");
  g_assert_cmpuint(sdp->sctp_port, ==, 5001);
  g_assert_cmpuint(sdp->max_message_size, ==, ACTR_SDP_DEFAULT_MAX_MESSAGE_SIZE);
  g_assert_cmpuint(sdp->candidates->len, ==, 1);
  g_assert_cmpstr(g_array_index(sdp->candidates, ActrSdpCandidate, 0).transport, ==, "udp");
}

/* Media-level attributes win over session-level ones. */
static void
test_media_overrides_session(void)
{
  g_autofree gchar *text = g_strconcat("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                                       "a=ice-ufrag:sEsS\r\na=ice-pwd:sessionlevelpassword0001\r\n"
                                       "a=setup:active\r\n"
                                       "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                                       "a=ice-ufrag:mEdI\r\na=setup:passive\r\n"
                                       "a=fingerprint:sha-256 ",
                                       FP256, "\r\n", NULL);
  g_autoptr(ActrSdp) sdp = parse_ok(text);
  g_assert_cmpstr(sdp->ice_ufrag, ==, "mEdI");
  g_assert_cmpstr(sdp->ice_pwd, ==, "sessionlevelpassword0001");
  g_assert_cmpint(sdp->setup, ==, ACTR_SDP_SETUP_PASSIVE);
  g_assert_cmpint(sdp->sctp_port, ==, ACTR_SDP_DEFAULT_PORT);
  g_assert_cmpstr(sdp->mid, ==, "");
}

static ActrSdpCandidate
candidate(const char *line)
{
  ActrSdpCandidate c;
  GError *error = NULL;
  g_assert_true(actr_sdp_candidate_parse(line, -1, &c, &error));
  g_assert_no_error(error);
  return c;
}

static void
assert_sdp_equal(const ActrSdp *a, const ActrSdp *b)
{
  g_assert_cmpuint(a->session_id, ==, b->session_id);
  g_assert_cmpuint(a->session_version, ==, b->session_version);
  g_assert_cmpstr(a->ice_ufrag, ==, b->ice_ufrag);
  g_assert_cmpstr(a->ice_pwd, ==, b->ice_pwd);
  g_assert_cmpint(a->ice_trickle, ==, b->ice_trickle);
  g_assert_cmpint(a->ice_lite, ==, b->ice_lite);
  g_assert_cmpint(a->fingerprint_hash, ==, b->fingerprint_hash);
  g_assert_cmpmem(a->fingerprint, a->fingerprint_len, b->fingerprint, b->fingerprint_len);
  g_assert_cmpint(a->setup, ==, b->setup);
  g_assert_cmpstr(a->mid, ==, b->mid);
  g_assert_cmpuint(a->sctp_port, ==, b->sctp_port);
  g_assert_cmpuint(a->max_message_size, ==, b->max_message_size);
  g_assert_cmpint(a->legacy_sctpmap, ==, b->legacy_sctpmap);
  g_assert_cmpint(a->end_of_candidates, ==, b->end_of_candidates);
  g_assert_cmpmem(a->candidates->data, a->candidates->len * sizeof(ActrSdpCandidate),
                  b->candidates->data, b->candidates->len * sizeof(ActrSdpCandidate));
}

static void
test_round_trip(void)
{
  for (int legacy = 0; legacy < 2; legacy++) {
    g_autoptr(ActrSdp) sdp = actr_sdp_new();
    g_assert_cmpuint(sdp->session_id, <, G_GUINT64_CONSTANT(1) << 62);
    g_strlcpy(sdp->ice_ufrag, "u+F/", sizeof sdp->ice_ufrag);
    g_strlcpy(sdp->ice_pwd, "0123456789abcdefABCDEF+/", sizeof sdp->ice_pwd);
    sdp->fingerprint_hash = ACTR_SDP_HASH_SHA256;
    memcpy(sdp->fingerprint, fp256, sizeof fp256);
    sdp->fingerprint_len = sizeof fp256;
    sdp->legacy_sctpmap = legacy;
    sdp->end_of_candidates = legacy;
    sdp->max_message_size = 0; /* "no limit" must survive */
    ActrSdpCandidate h = candidate("candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host");
    ActrSdpCandidate r = candidate("candidate:2 1 udp 16777215 198.51.100.9 3478 typ relay raddr "
                                   "203.0.113.1 rport 61000");
    actr_sdp_add_candidate(sdp, &h);
    actr_sdp_add_candidate(sdp, &r);
    GError *error = NULL;
    g_autofree gchar *text = actr_sdp_to_string(sdp, &error);
    g_assert_no_error(error);
    g_assert_true(g_str_has_prefix(text, "v=0\r\n"));
    g_assert_true(g_str_has_suffix(text, "\r\n"));
    g_assert_nonnull(strstr(text, "a=fingerprint:sha-256 " FP256 "\r\n"));
    g_assert_nonnull(strstr(text, "a=setup:actpass\r\n"));
    g_assert_nonnull(strstr(text, "a=ice-options:trickle\r\n"));
    g_assert_nonnull(strstr(text, "a=group:BUNDLE 0\r\n"));
    if (legacy) {
      g_assert_nonnull(strstr(text, "m=application 9 DTLS/SCTP 5000\r\n"));
      g_assert_nonnull(strstr(text, "a=sctpmap:5000 webrtc-datachannel 65535\r\n"));
    } else {
      g_assert_nonnull(strstr(text, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
      g_assert_nonnull(strstr(text, "a=sctp-port:5000\r\n"));
    }
    g_autoptr(ActrSdp) back = parse_ok(text);
    assert_sdp_equal(sdp, back);
  }
}

/* Every accepted sample generates again and parses back to the same thing. */
static void
test_samples_round_trip(void)
{
  const char *samples[] = {chromium_offer, chromium_answer, aiortc_offer};
  for (guint i = 0; i < G_N_ELEMENTS(samples); i++) {
    g_autoptr(ActrSdp) sdp = parse_ok(samples[i]);
    GError *error = NULL;
    g_autofree gchar *text = actr_sdp_to_string(sdp, &error);
    g_assert_no_error(error);
    g_autoptr(ActrSdp) back = parse_ok(text);
    assert_sdp_equal(sdp, back);
  }
}

static void
test_to_string_invalid(void)
{
  g_autoptr(ActrSdp) sdp = actr_sdp_new();
  GError *error = NULL;
  g_assert_null(actr_sdp_to_string(sdp, &error));
  g_assert_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_ICE);
  g_clear_error(&error);
  g_strlcpy(sdp->ice_ufrag, "abcd", sizeof sdp->ice_ufrag);
  g_strlcpy(sdp->ice_pwd, "abcdefghijklmnopqrstuv", sizeof sdp->ice_pwd);
  g_assert_null(actr_sdp_to_string(sdp, &error));
  g_assert_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_FINGERPRINT);
  g_clear_error(&error);
  sdp->fingerprint_hash = ACTR_SDP_HASH_SHA256;
  sdp->fingerprint_len = 32;
  sdp->setup = ACTR_SDP_SETUP_NONE;
  g_assert_null(actr_sdp_to_string(sdp, &error));
  g_assert_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_INVALID);
  g_clear_error(&error);
  sdp->setup = ACTR_SDP_SETUP_PASSIVE;
  ActrSdpCandidate bad = candidate("candidate:1 1 udp 1 10.0.0.1 1 typ host");
  bad.foundation[0] = '\0';
  actr_sdp_add_candidate(sdp, &bad);
  g_assert_null(actr_sdp_to_string(sdp, &error));
  g_assert_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_CANDIDATE);
  g_clear_error(&error);
  g_array_set_size(sdp->candidates, 0);
  g_autofree gchar *ok = actr_sdp_to_string(sdp, &error);
  g_assert_no_error(error);
  g_assert_nonnull(strstr(ok, "a=setup:passive\r\n"));
}

static void
test_candidate_forms(void)
{
  const char *ref = "candidate:1966762133 1 udp 2130706431 192.168.1.2 50000 typ host";
  ActrSdpCandidate a = candidate(ref);
  g_autofree gchar *s = actr_sdp_candidate_to_string(&a);
  g_assert_cmpstr(s, ==, ref); /* the reference's trickle format, exactly */

  g_autofree gchar *with_a = g_strconcat("a=", ref, "\r\n", NULL);
  ActrSdpCandidate b = candidate(with_a);
  g_assert_cmpmem(&a, sizeof a, &b, sizeof b);

  ActrSdpCandidate t = candidate("candidate:2999745851 1 TCP 1518280447 192.168.1.10 9 typ host "
                                 "tcptype active generation 0 network-id 1");
  g_assert_cmpstr(t.transport, ==, "tcp");
  g_assert_cmpuint(t.port, ==, 9);

  ActrSdpCandidate v6 = candidate("candidate:3 1 udp 2122262783 fd00::1:2 41000 typ host");
  g_assert_cmpstr(v6.address, ==, "fd00::1:2");

  ActrSdpCandidate p = candidate("candidate:4 2 udp 1845501695 203.0.113.3 5 typ prflx raddr "
                                 "10.0.0.3 rport 6");
  g_assert_cmpint(p.type, ==, ACTR_SDP_CANDIDATE_PRFLX);
  g_assert_cmpuint(p.component, ==, 2);
  g_autofree gchar *ps = actr_sdp_candidate_to_string(&p);
  g_assert_cmpstr(ps, ==,
                  "candidate:4 2 udp 1845501695 203.0.113.3 5 typ prflx raddr 10.0.0.3 rport 6");
  g_assert_cmpstr(actr_sdp_candidate_type_to_string(ACTR_SDP_CANDIDATE_RELAY), ==, "relay");
  g_assert_cmpstr(actr_sdp_setup_to_string(ACTR_SDP_SETUP_ACTIVE), ==, "active");
  g_assert_null(actr_sdp_setup_to_string(ACTR_SDP_SETUP_NONE));
  g_assert_cmpstr(actr_sdp_hash_to_string(ACTR_SDP_HASH_SHA512), ==, "sha-512");
  g_assert_cmpuint(actr_sdp_hash_size(ACTR_SDP_HASH_SHA1), ==, 20);
}

static void
test_candidate_rejects(void)
{
  static const struct {
    const char *line;
    const char *why;
  } cases[] = {
      {"", "does not start"},
      {"1 1 udp 1 10.0.0.1 1 typ host", "does not start"},
      {"a=candidate:", "fewer than 8"},
      {"candidate:1 1 udp 1 10.0.0.1 1 typ", "fewer than 8"},
      {"candidate:f!o 1 udp 1 10.0.0.1 1 typ host", "foundation"},
      {"candidate:123456789012345678901234567890123 1 udp 1 10.0.0.1 1 typ host", "foundation"},
      {"candidate:1 0 udp 1 10.0.0.1 1 typ host", "component"},
      {"candidate:1 257 udp 1 10.0.0.1 1 typ host", "component"},
      {"candidate:1 1 udp 0 10.0.0.1 1 typ host", "priority"},
      {"candidate:1 1 udp 2147483648 10.0.0.1 1 typ host", "priority"},
      {"candidate:1 1 udp -1 10.0.0.1 1 typ host", "priority"},
      {"candidate:1 1 udp 1 10.0.0.1/8 1 typ host", "address"},
      {"candidate:1 1 udp 1 10.0.0.1 65536 typ host", "port"},
      {"candidate:1 1 udp 1 10.0.0.1 1 type host", "typ"},
      {"candidate:1 1 udp 1 10.0.0.1 1 typ local", "candidate type"},
      {"candidate:1 1 udp 1 10.0.0.1 1 typ srflx raddr", "without a value"},
      {"candidate:1 1 udp 1 10.0.0.1 1 typ srflx raddr 10.0.0.2 rport x", "rport"},
      {"candidate:1 1 udp 1 10.0.0.1 1 typ srflx raddr 10.0.0.2! rport 1", "raddr"},
      {"candidate:1 1 udp 1 10.0.0.1 1 typ srflx raddr 10.0.0.2 raddr 10.0.0.3", "duplicate raddr"},
      {"candidate:1 1 udp 1 10.0.0.1 1 typ srflx rport 1 rport 2", "duplicate rport"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    ActrSdpCandidate c;
    GError *error = NULL;
    g_assert_false(actr_sdp_candidate_parse(cases[i].line, -1, &c, &error));
    g_assert_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_CANDIDATE);
    if (!strstr(error->message, cases[i].why))
      g_error("case %u: \"%s\" lacks \"%s\"", i, error->message, cases[i].why);
    g_clear_error(&error);
  }
  ActrSdpCandidate c;
  GError *error = NULL;
  g_assert_false(actr_sdp_candidate_parse("candidate:1 1 udp 1 h\xff 1 typ host", -1, &c, &error));
  g_assert_error(error, ACTR_SDP_ERROR, ACTR_SDP_ERROR_ENCODING);
  g_clear_error(&error);
}

/* @base with the first @from replaced by @to. */
static gchar *
edit(const char *base, const char *from, const char *to)
{
  const char *at = strstr(base, from);
  g_assert_nonnull(at);
  return g_strdup_printf("%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
}

static void
expect_reject(const char *text, gssize len, ActrSdpError code, const char *what)
{
  GError *error = NULL;
  ActrSdp *sdp = actr_sdp_parse(text, len, &error);
  g_assert_null(sdp);
  g_assert_error(error, ACTR_SDP_ERROR, (gint)code);
  if (!strstr(error->message, what))
    g_error("\"%s\" lacks \"%s\"", error->message, what);
  g_clear_error(&error);
}

static void
test_rejects(void)
{
  const char *o = chromium_offer;
  struct {
    gchar *text;
    ActrSdpError code;
    const char *what;
  } cases[] = {
      {edit(o, "a=ice-ufrag:Xy4b\r\n", ""), ACTR_SDP_ERROR_ICE, "missing a=ice-ufrag"},
      {edit(o, "a=ice-pwd:qL9vK2mHn8pR3sT6uW1yZ0aB\r\n", ""), ACTR_SDP_ERROR_ICE,
       "missing a=ice-pwd"},
      {edit(o, "a=ice-ufrag:Xy4b", "a=ice-ufrag:X y"), ACTR_SDP_ERROR_ICE, "line 10: a=ice-ufrag"},
      {edit(o, "a=ice-pwd:qL9vK2mHn8pR3sT6uW1yZ0aB", "a=ice-pwd:short"), ACTR_SDP_ERROR_ICE,
       "line 11: a=ice-pwd"},
      {edit(o, "a=ice-ufrag:Xy4b\r\n", "a=ice-ufrag:Xy4b\r\na=ice-ufrag:Xy4c\r\n"),
       ACTR_SDP_ERROR_ICE, "line 11: duplicate a=ice-ufrag"},
      {edit(o, "a=fingerprint:sha-256 " FP256 "\r\n", ""), ACTR_SDP_ERROR_FINGERPRINT,
       "missing a=fingerprint"},
      {edit(o, "sha-256 34:85", "md5 34:85"), ACTR_SDP_ERROR_FINGERPRINT, "missing a=fingerprint"},
      {edit(o, "sha-256 34:85", "sha-256 3G:85"), ACTR_SDP_ERROR_FINGERPRINT, "line 13"},
      {edit(o, "sha-256 34:85", "sha-256 3485"), ACTR_SDP_ERROR_FINGERPRINT, "line 13"},
      {edit(o, "sha-256 34:85:", "sha-256 85:"), ACTR_SDP_ERROR_FINGERPRINT, "31 bytes"},
      {edit(o, ":1B:A2\r\n", ":1B:A2:00\r\n"), ACTR_SDP_ERROR_FINGERPRINT, "line 13"},
      {edit(o, ":1B:A2\r\n", ":1B:A2:\r\n"), ACTR_SDP_ERROR_FINGERPRINT, "line 13"},
      {edit(o, "a=fingerprint:sha-256 ", "a=fingerprint:sha-256"), ACTR_SDP_ERROR_FINGERPRINT,
       "line 13"},
      {edit(o, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111"),
       ACTR_SDP_ERROR_NO_APPLICATION, "no usable m=application"},
      {edit(o, "m=application 9", "m=application 0"), ACTR_SDP_ERROR_NO_APPLICATION, "no usable"},
      {edit(o, "webrtc-datachannel\r\n", "sctp\r\n"), ACTR_SDP_ERROR_SYNTAX,
       "line 8: m=application"},
      {edit(o, "m=application 9 UDP", "m=application x UDP"), ACTR_SDP_ERROR_SYNTAX, "line 8: m="},
      {edit(o, "a=setup:actpass", "a=setup:holdconn"), ACTR_SDP_ERROR_INVALID, "line 14: a=setup"},
      {edit(o, "a=sctp-port:5000", "a=sctp-port:70000"), ACTR_SDP_ERROR_INVALID,
       "line 16: a=sctp-port"},
      {edit(o, "a=max-message-size:262144", "a=max-message-size:-1"), ACTR_SDP_ERROR_INVALID,
       "line 17"},
      {edit(o, "a=mid:0", "a=mid:"), ACTR_SDP_ERROR_INVALID, "line 15: a=mid"},
      {edit(o, "a=mid:0\r\n", "a=mid:0\r\na=candidate:1 1 udp 1 10.0.0.1 1 typ nat\r\n"),
       ACTR_SDP_ERROR_CANDIDATE, "line 16: bad candidate: unknown candidate type"},
      {edit(o, "v=0", "v=1"), ACTR_SDP_ERROR_SYNTAX, "line 1: an SDP must start with v=0"},
      {edit(o, "s=-\r\n", "s=-\r\nnot an sdp line\r\n"), ACTR_SDP_ERROR_SYNTAX,
       "line 4: expected <letter>=<value>"},
      {edit(o, "t=0 0\r\n", "t=0 0\r\nv=0\r\n"), ACTR_SDP_ERROR_SYNTAX, "line 5: a second v="},
      {edit(o, "o=- 5738264386447532153 2", "o=- abc 2"), ACTR_SDP_ERROR_SYNTAX, "line 2: o="},
      {edit(o, "o=- 5738264386447532153 2 IN IP4 127.0.0.1\r\n", ""), ACTR_SDP_ERROR_SYNTAX,
       "m= before the o= line"},
      {edit(o, "a=ice-ufrag:Xy4b", "a=ice-ufrag:Xy4\xc3\xa9"), ACTR_SDP_ERROR_ICE, "line 10"},
      {edit(o, "a=ice-ufrag:Xy4b", "a=ice-ufrag:Xy4\xff"), ACTR_SDP_ERROR_ENCODING,
       "line 10: invalid UTF-8"},
      {g_strdup("m=application 9 DTLS/SCTP 5000\r\n"), ACTR_SDP_ERROR_SYNTAX, "line 1"},
      {g_strdup(""), ACTR_SDP_ERROR_SYNTAX, "empty SDP"},
      {g_strdup("\r\n\r\n"), ACTR_SDP_ERROR_SYNTAX, "empty SDP"},
      {edit(aiortc_offer, "DTLS/SCTP 5000", "DTLS/SCTP 0"), ACTR_SDP_ERROR_SYNTAX, "bad SCTP port"},
      {edit(aiortc_offer, "a=sctpmap:5000 webrtc-datachannel", "a=sctpmap:5001 webrtc-datachannel"),
       ACTR_SDP_ERROR_INVALID, "line 10: a=sctpmap: port 5001"},
      {edit(aiortc_offer, "a=sctpmap:5000 webrtc-datachannel", "a=sctpmap:5000 bfcp"),
       ACTR_SDP_ERROR_INVALID, "unsupported protocol"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_test_message("case %u", i);
    expect_reject(cases[i].text, -1, cases[i].code, cases[i].what);
    g_free(cases[i].text);
  }

  /* A NUL byte inside the declared length. */
  gsize n = strlen(chromium_offer);
  g_autofree gchar *nul = g_memdup2(chromium_offer, n + 1);
  nul[20] = '\0';
  expect_reject(nul, (gssize)n, ACTR_SDP_ERROR_ENCODING, "line 2: NUL byte");

  /* Oversized: valid SDP padded with an attribute past the cap. */
  GString *big = g_string_new(chromium_offer);
  while (big->len <= ACTR_SDP_MAX_SIZE)
    g_string_append(big, "a=x-padding:0123456789012345678901234567890123456789\r\n");
  expect_reject(big->str, -1, ACTR_SDP_ERROR_TOO_LARGE, "too large");
  expect_reject(big->str, (gssize)big->len, ACTR_SDP_ERROR_TOO_LARGE, "too large");
  g_string_truncate(big, ACTR_SDP_MAX_SIZE - 100);
  g_string_truncate(big, strrchr(big->str, '\n') + 1 - big->str);
  g_autoptr(ActrSdp) fits = parse_ok(big->str); /* just under the cap is fine */
  g_assert_cmpstr(fits->ice_ufrag, ==, "Xy4b");
  g_string_free(big, TRUE);
}

/* Unknown attributes, a trailing line without an end, and a length that
 * stops before the text's NUL are all fine. */
static void
test_tolerance(void)
{
  g_autofree gchar *text =
      g_strconcat(chromium_offer, "a=x-unknown\r\nb=AS:30\r\na=ice-lite-not-really:1", NULL);
  g_autoptr(ActrSdp) a = parse_ok(text);
  g_assert_false(a->ice_lite);
  gsize n = strlen(chromium_offer);
  GError *error = NULL;
  g_autoptr(ActrSdp) b = actr_sdp_parse(text, (gssize)n, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(b->mid, ==, "0");
  g_autofree gchar *lite = edit(chromium_offer, "t=0 0\r\n", "t=0 0\r\na=ice-lite\r\n");
  g_autoptr(ActrSdp) c = parse_ok(lite);
  g_assert_true(c->ice_lite);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sdp/chromium-offer", test_chromium_offer);
  g_test_add_func("/sdp/chromium-answer", test_chromium_answer);
  g_test_add_func("/sdp/aiortc-legacy", test_aiortc_legacy);
  g_test_add_func("/sdp/session-level", test_session_level);
  g_test_add_func("/sdp/media-overrides-session", test_media_overrides_session);
  g_test_add_func("/sdp/round-trip", test_round_trip);
  g_test_add_func("/sdp/samples-round-trip", test_samples_round_trip);
  g_test_add_func("/sdp/to-string-invalid", test_to_string_invalid);
  g_test_add_func("/sdp/candidate-forms", test_candidate_forms);
  g_test_add_func("/sdp/candidate-rejects", test_candidate_rejects);
  g_test_add_func("/sdp/rejects", test_rejects);
  g_test_add_func("/sdp/tolerance", test_tolerance);
  return g_test_run();
}
