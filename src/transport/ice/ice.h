/* actr — ICE for one WebRTC peer connection, on libnice (RFC 8445).
 *
 * One ActrIce is one libnice agent with one stream of one component (the
 * single BUNDLE transport of a data-channel peer connection).  It gathers
 * UDP/IPv4 candidates (host, server-reflexive from STUN, relayed from TURN),
 * trickles them out one by one in the reference's format
 * ("candidate:<attribute value>", no "a=", no mid), takes remote candidates
 * the same way, runs connectivity checks with regular nomination and then
 * carries datagrams (DTLS records) both ways.
 *
 * Candidates: host candidates are gathered on every IPv4 address of every
 * interface that is up, including 127.0.0.1 (peers on one machine and tests
 * use loopback), or only on ActrIceConfig.host_addresses when that is set.
 * IPv6 and TCP candidates are never gathered, and remote ones are ignored
 * (wire.md §5.1).  With relay_only, only relayed candidates are offered and
 * only relayed pairs are used (coturn-style TURN over UDP).
 *
 * Threads: an ActrIce belongs to the GMainContext given to actr_ice_new();
 * every function is called on the thread running that context and every
 * callback runs there.
 *
 * Re-entrancy: callbacks are never invoked from inside an actr_ice_*() call;
 * they come from dispatches of the context.  A callback may call any
 * actr_ice_*() function on the same object except actr_ice_free(); free from
 * an idle callback instead.
 */
#ifndef ACTR_ICE_H
#define ACTR_ICE_H

#include <glib.h>

#define ACTR_ICE_ERROR (actr_ice_error_quark())
GQuark actr_ice_error_quark(void);

typedef enum {
  ACTR_ICE_ERROR_FAILED = 1,  /* libnice refused (no addresses, bad server URL, ...) */
  ACTR_ICE_ERROR_CANDIDATE,   /* a remote candidate could not be parsed or used */
  ACTR_ICE_ERROR_CREDENTIALS, /* bad remote ufrag/pwd */
  ACTR_ICE_ERROR_STATE,       /* call not allowed in the current state */
} ActrIceError;

typedef enum {
  ACTR_ICE_STATE_NEW = 0,   /* created, not gathering yet */
  ACTR_ICE_STATE_CHECKING,  /* gathering and/or connectivity checks running */
  ACTR_ICE_STATE_CONNECTED, /* a pair is selected; datagrams flow */
  ACTR_ICE_STATE_FAILED,    /* every pair failed (or the path broke and was not restored) */
  ACTR_ICE_STATE_CLOSED,    /* actr_ice_close() was called */
} ActrIceState;

typedef struct {
  /* Controlling agent: the offerer is controlling, the answerer controlled. */
  gboolean controlling;
  /* "stun:host:port" URLs (NULL-terminated; nullable).  Host names are
   * resolved once, synchronously, by actr_ice_new(). */
  const char *const *stun_urls;
  /* "turn:host:port" or "turn:host:port?transport=udp" URLs (nullable) and
   * the TURN credential from AIS (wire.md §2.5); ignored without URLs. */
  const char *const *turn_urls;
  const char *turn_username;
  const char *turn_password;
  /* Offer and use relayed candidates only (config webrtc.force_relay). */
  gboolean relay_only;
  /* Local UDP port range for host candidates; 0/0 = any port. */
  guint16 port_min;
  guint16 port_max;
  /* IPv4 addresses to gather host candidates on (NULL-terminated; NULL = all
   * interfaces that are up, loopback included). */
  const char *const *host_addresses;
} ActrIceConfig;

typedef struct _ActrIce ActrIce;

typedef struct {
  /* A new local candidate, "candidate:..." (no "a=", no line end). */
  void (*on_local_candidate)(ActrIce *ice, const char *candidate, gpointer user_data);
  /* Gathering finished (all servers answered or timed out). */
  void (*on_gathering_done)(ActrIce *ice, gpointer user_data);
  /* The state changed. */
  void (*on_state)(ActrIce *ice, ActrIceState state, gpointer user_data);
  /* One datagram arrived on the selected path (STUN is handled inside). */
  void (*on_datagram)(ActrIce *ice, const guint8 *data, gsize len, gpointer user_data);
} ActrIceCallbacks;

/* A new agent on @context with fresh local credentials; nothing is gathered
 * yet.  @callbacks is copied; @user_data is not owned.  NULL with @error
 * (ACTR_ICE_ERROR_FAILED) when a server URL is malformed or unresolvable.
 * (transfer full) */
ActrIce *actr_ice_new(GMainContext *context, const ActrIceConfig *config,
                      const ActrIceCallbacks *callbacks, gpointer user_data, GError **error);

/* Frees the agent (closing it first if needed).  No callback runs after. */
void actr_ice_free(ActrIce *ice /* nullable */);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrIce, actr_ice_free)

/* The current local ICE credentials (valid until the next restart). */
const char *actr_ice_local_ufrag(const ActrIce *ice);
const char *actr_ice_local_pwd(const ActrIce *ice);

/* Starts gathering; local candidates then arrive through on_local_candidate.
 * FALSE with @error when no candidate can be gathered at all. */
gboolean actr_ice_gather(ActrIce *ice, GError **error);

/* Sets the remote credentials from the peer's SDP.  Connectivity checks start
 * once remote credentials and at least one remote candidate are known. */
gboolean actr_ice_set_remote_credentials(ActrIce *ice, const char *ufrag, const char *pwd,
                                         GError **error);

/* Adds one trickled remote candidate ("candidate:..." with or without "a=").
 * Unsupported candidates (TCP, IPv6, mDNS names, component != 1) are
 * skipped: TRUE, nothing added.  FALSE with @error only for malformed text.
 * Candidates added before the remote credentials are kept and used. */
gboolean actr_ice_add_remote_candidate(ActrIce *ice, const char *candidate, GError **error);

/* ICE restart (RFC 8445 §9): new local ufrag/pwd, remote candidates and
 * credentials forgotten, gathering starts again (new local candidates are
 * trickled).  The selected pair keeps carrying datagrams until the restart
 * selects a new one.  The caller then sets the new remote credentials and
 * candidates. */
gboolean actr_ice_restart(ActrIce *ice, GError **error);

/* Sends one datagram on the selected pair.  Returns FALSE (nothing sent)
 * when no pair is selected yet or the agent is closed; a datagram lost by
 * the kernel is not reported (UDP). */
gboolean actr_ice_send(ActrIce *ice, const guint8 *data, gsize len);

ActrIceState actr_ice_get_state(const ActrIce *ice);

/* Whether the selected pair has a relayed candidate on either side (FALSE
 * when none is selected). */
gboolean actr_ice_selected_pair_is_relayed(ActrIce *ice);

/* "local 127.0.0.1:50123 host <-> remote 127.0.0.1:41234 host" for logs, or
 * NULL when no pair is selected. (transfer full) */
gchar *actr_ice_describe_selected_pair(ActrIce *ice);

/* Closes the agent: stops checks, releases ports, state CLOSED (reported
 * through on_state from a later dispatch). */
void actr_ice_close(ActrIce *ice);

/* Test hook: while @drop is TRUE every datagram in and out (STUN included)
 * is silently discarded, as if the network path broke.
 *
 * How (libnice 0.1.21 has no packet hook): inbound, a classic BPF socket
 * filter that rejects every packet is attached (SO_ATTACH_FILTER, no
 * privileges needed) to each of the agent's UDP sockets, so the kernel drops
 * STUN, TURN and data before libnice sees them; it is detached when @drop
 * goes FALSE, and attached to sockets made by a later actr_ice_gather().
 * Outbound, actr_ice_send() discards datagrams (still returning TRUE).  STUN
 * that libnice itself sends (checks, keepalives) still leaves this host;
 * the peer is cut off anyway because our answers never come back and our
 * data stops.  The agent runs keepalives as connectivity checks, so a side
 * that drops sees its selected pair time out (FAILED, about 50 s with
 * libnice defaults), and an ICE restart while dropping fails within ~10 s. */
void actr_ice_set_drop_all(ActrIce *ice, gboolean drop);

const char *actr_ice_state_to_string(ActrIceState state);

#endif /* ACTR_ICE_H */
