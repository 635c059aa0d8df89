/* actr — SDP for WebRTC data channels (wire.md §5.1–5.3, RFC 8866/8839/8841).
 *
 * Only what a data-channel peer needs: ICE credentials and options, the DTLS
 * fingerprint and setup role, the application m-line (mid, sctp-port,
 * max-message-size) and ICE candidates.  Audio/video m-lines are skipped.
 *
 * Parsing accepts what browsers and aiortc send: CRLF or LF line ends, unknown
 * attributes, ICE and fingerprint attributes at session or media level (media
 * level wins), both the current syntax (`m=application 9 UDP/DTLS/SCTP
 * webrtc-datachannel` + `a=sctp-port`) and the old one (`m=application 9
 * DTLS/SCTP 5000` + `a=sctpmap:5000 webrtc-datachannel 1024`).  Malformed
 * input fails with an ACTR_SDP_ERROR naming the line and what is wrong.
 *
 * Candidates are trickled separately in the reference's format
 * ("candidate:<attribute value>", no mid): actr_sdp_candidate_parse() and
 * actr_sdp_candidate_to_string() handle one such line.
 *
 * Pure functions, no global state: callable from any thread. */
#ifndef ACTR_SDP_H
#define ACTR_SDP_H

#include <glib.h>

#define ACTR_SDP_ERROR (actr_sdp_error_quark())
GQuark actr_sdp_error_quark(void);

typedef enum {
  ACTR_SDP_ERROR_TOO_LARGE = 1,  /* input above ACTR_SDP_MAX_SIZE */
  ACTR_SDP_ERROR_ENCODING,       /* not UTF-8, or a NUL byte */
  ACTR_SDP_ERROR_SYNTAX,         /* a line is not <type>=<value>, bad v=/o=/m= line */
  ACTR_SDP_ERROR_NO_APPLICATION, /* no usable application m-line */
  ACTR_SDP_ERROR_ICE,            /* missing or invalid ice-ufrag / ice-pwd */
  ACTR_SDP_ERROR_FINGERPRINT,    /* missing or invalid DTLS fingerprint */
  ACTR_SDP_ERROR_CANDIDATE,      /* malformed candidate */
  ACTR_SDP_ERROR_INVALID,        /* other bad value (setup, sctp-port, mid, ...) */
} ActrSdpError;

#define ACTR_SDP_MAX_SIZE                 (64 * 1024) /* bytes of SDP text accepted */
#define ACTR_SDP_UFRAG_MAX                256
#define ACTR_SDP_PWD_MAX                  256
#define ACTR_SDP_MID_MAX                  64
#define ACTR_SDP_FOUNDATION_MAX           32
#define ACTR_SDP_TRANSPORT_MAX            15
#define ACTR_SDP_ADDRESS_MAX              255
#define ACTR_SDP_DIGEST_MAX               64 /* sha-512 */
#define ACTR_SDP_DEFAULT_PORT             5000
#define ACTR_SDP_DEFAULT_MAX_MESSAGE_SIZE 65536 /* RFC 8841 §6: when absent */

typedef enum {
  ACTR_SDP_SETUP_NONE = 0, /* no a=setup (parse only; the caller picks a default) */
  ACTR_SDP_SETUP_ACTPASS,
  ACTR_SDP_SETUP_ACTIVE,  /* DTLS client */
  ACTR_SDP_SETUP_PASSIVE, /* DTLS server */
} ActrSdpSetup;

typedef enum {
  ACTR_SDP_HASH_NONE = 0,
  ACTR_SDP_HASH_SHA1,
  ACTR_SDP_HASH_SHA224,
  ACTR_SDP_HASH_SHA256,
  ACTR_SDP_HASH_SHA384,
  ACTR_SDP_HASH_SHA512,
} ActrSdpHash;

typedef enum {
  ACTR_SDP_CANDIDATE_HOST,
  ACTR_SDP_CANDIDATE_SRFLX,
  ACTR_SDP_CANDIDATE_PRFLX,
  ACTR_SDP_CANDIDATE_RELAY,
} ActrSdpCandidateType;

/* One ICE candidate (RFC 8839 §5.1).  Extensions other than raddr/rport
 * (generation, network-id, tcptype, ...) are accepted and dropped. */
typedef struct {
  char foundation[ACTR_SDP_FOUNDATION_MAX + 1];
  guint component;                            /* 1..256 */
  char transport[ACTR_SDP_TRANSPORT_MAX + 1]; /* lower case: "udp", "tcp" */
  guint32 priority;                           /* 1..2^31-1 */
  char address[ACTR_SDP_ADDRESS_MAX + 1];     /* IP address or (mDNS) host name */
  guint16 port;
  ActrSdpCandidateType type;
  gboolean has_related; /* raddr present */
  char related_address[ACTR_SDP_ADDRESS_MAX + 1];
  guint16 related_port; /* rport; 0 unless has_related */
} ActrSdpCandidate;

/* A data-channel session description.  Every field is public: fill it in to
 * generate, read it after parsing. */
typedef struct {
  guint64 session_id;
  guint64 session_version;
  char ice_ufrag[ACTR_SDP_UFRAG_MAX + 1]; /* 4..256 ice-chars */
  char ice_pwd[ACTR_SDP_PWD_MAX + 1];     /* 22..256 ice-chars */
  gboolean ice_trickle;                   /* a=ice-options includes "trickle" */
  gboolean ice_lite;                      /* a=ice-lite */
  ActrSdpHash fingerprint_hash;           /* parse prefers sha-256 when several */
  guint8 fingerprint[ACTR_SDP_DIGEST_MAX];
  gsize fingerprint_len; /* must equal the hash's digest size */
  ActrSdpSetup setup;
  char mid[ACTR_SDP_MID_MAX + 1]; /* "" when the m-line has no a=mid */
  guint16 sctp_port;
  guint64 max_message_size; /* 0 = no limit (RFC 8841) */
  gboolean legacy_sctpmap;  /* old DTLS/SCTP + a=sctpmap syntax (parsed or to emit) */
  GArray *candidates;       /* ActrSdpCandidate, in order */
  gboolean end_of_candidates;
} ActrSdp;

/* A description with defaults: random session id, version 1, trickle on,
 * setup actpass, mid "0", sctp-port 5000, max-message-size 262144, no
 * credentials, no fingerprint, no candidates. (transfer full) */
ActrSdp *actr_sdp_new(void);
void actr_sdp_free(ActrSdp *sdp /* nullable */);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrSdp, actr_sdp_free)

/* Appends a copy of @cand. */
void actr_sdp_add_candidate(ActrSdp *sdp, const ActrSdpCandidate *cand);

/* Parses an SDP offer or answer of @len bytes (-1: NUL-terminated) and picks
 * the first application m-line with a DTLS/SCTP protocol and a non-zero
 * port.  Returns NULL with @error set (ACTR_SDP_ERROR) when the text is
 * malformed or lacks ice-ufrag, ice-pwd or a supported fingerprint.
 * (transfer full) */
ActrSdp *actr_sdp_parse(const char *text, gssize len, GError **error);

/* The SDP text (CRLF line ends) with one application m-line carrying the
 * candidates.  Fails (ACTR_SDP_ERROR_INVALID, _ICE or _FINGERPRINT) when a
 * field is unset or would not parse back. (transfer full) */
gchar *actr_sdp_to_string(const ActrSdp *sdp, GError **error);

/* Parses one trickled candidate: "candidate:..." with or without "a=", and
 * tolerating a trailing CR/LF.  Fills @out; FALSE with @error
 * (ACTR_SDP_ERROR_CANDIDATE or _ENCODING/_TOO_LARGE) otherwise. */
gboolean actr_sdp_candidate_parse(const char *line, gssize len, ActrSdpCandidate *out,
                                  GError **error);

/* "candidate:<foundation> <component> <transport> <priority> <address>
 * <port> typ <type>[ raddr <a> rport <p>]", no "a=" and no line end.
 * (transfer full) */
gchar *actr_sdp_candidate_to_string(const ActrSdpCandidate *cand);

/* Static names: "actpass", "sha-256", "host", ...; NULL for NONE / unknown. */
const char *actr_sdp_setup_to_string(ActrSdpSetup setup);
const char *actr_sdp_hash_to_string(ActrSdpHash hash);
const char *actr_sdp_candidate_type_to_string(ActrSdpCandidateType type);

/* Whether @s is @min..@max RFC 8839 ice-chars (ALPHA / DIGIT / "+" / "/"):
 * the alphabet of ufrag, pwd and foundation. */
gboolean actr_sdp_is_ice_chars(const char *s, gsize min, gsize max);

/* Digest size in bytes of @hash (0 for NONE). */
gsize actr_sdp_hash_size(ActrSdpHash hash);

#endif /* ACTR_SDP_H */
