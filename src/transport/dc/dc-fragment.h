/* actr — DataChannel message framing (wire.md §5.4): an 8-byte fragment
 * header on every DataChannel message, on all four lanes:
 *   u32 BE msg_id (per sending lane, +1 per logical message, wraps)
 *   u16 BE frag_index (0-based), u16 BE total_frags (>= 1), then the payload.
 * A DataChannel message is at most 65535 bytes, so a fragment carries at most
 * 65527 payload bytes, and a logical message at most 65535 fragments.
 *
 * Sender: actr_dc_fragment() cuts a logical message into fragments without
 * copying it.  Receiver: an ActrDcReassembler per lane.  Unlike the
 * reference (which buffers anything for 6 h), the reassembler is bounded:
 * a maximum logical message size, a maximum number of partial messages and
 * of buffered bytes, and an age limit — a hostile peer cannot make it grow.
 *
 * Thread: an ActrDcReassembler belongs to one thread (its peer's loop). */
#ifndef ACTR_DC_FRAGMENT_H
#define ACTR_DC_FRAGMENT_H

#include <glib.h>

#define ACTR_DC_HEADER_SIZE          8
#define ACTR_DC_MAX_MESSAGE          65535
#define ACTR_DC_MAX_FRAGMENT_PAYLOAD (ACTR_DC_MAX_MESSAGE - ACTR_DC_HEADER_SIZE)
#define ACTR_DC_MAX_FRAGMENTS        65535

/* ---- Sender ---------------------------------------------------------------- */

/* Number of fragments for a @len-byte logical message (1 for len 0), or 0
 * when it is too large to send (more than 65535 fragments). */
guint actr_dc_fragment_count(gsize len);

/* Receives one fragment: the 8-byte header and the payload slice (which
 * points into the caller's message).  Return FALSE to stop. */
typedef gboolean (*ActrDcFragmentFunc)(const guint8 header[ACTR_DC_HEADER_SIZE],
                                       const guint8 *chunk, gsize chunk_len, gpointer user_data);

/* Cuts @data into fragments of message @msg_id, calling @func in order.
 * Returns FALSE if the message is too large or @func stopped. */
gboolean actr_dc_fragment(guint32 msg_id, const guint8 *data, gsize len, ActrDcFragmentFunc func,
                          gpointer user_data);

/* ---- Receiver -------------------------------------------------------------- */

typedef struct _ActrDcReassembler ActrDcReassembler;

typedef struct {
  gsize max_message;  /* largest logical message accepted (default 16 MiB) */
  guint max_partial;  /* messages being reassembled at once (default 64) */
  gsize max_buffered; /* bytes held in partial messages (default 64 MiB) */
  gint64 max_age_us;  /* a partial message older than this is dropped (default 60 s) */
} ActrDcLimits;

void actr_dc_limits_init(ActrDcLimits *limits);

ActrDcReassembler *actr_dc_reassembler_new(const ActrDcLimits *limits /* nullable */);
void actr_dc_reassembler_free(ActrDcReassembler *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrDcReassembler, actr_dc_reassembler_free)

typedef enum {
  ACTR_DC_SINGLE,   /* a one-fragment message: *payload points into the input, no copy */
  ACTR_DC_COMPLETE, /* the last fragment of a message arrived: *message is the whole */
  ACTR_DC_PARTIAL,  /* stored; more fragments to come */
  ACTR_DC_ERROR,    /* rejected (see *why); a partial message it belonged to is dropped */
} ActrDcResult;

/* Feeds one received DataChannel message.  @now_us is a monotonic time (for
 * the age limit).  Outputs: @payload/@payload_len for SINGLE, @message
 * (transfer full) for COMPLETE, @why (static string) for ERROR; each may be
 * NULL only when that result cannot be wanted by the caller. */
ActrDcResult actr_dc_reassembler_push(ActrDcReassembler *r, const guint8 *data, gsize len,
                                      gint64 now_us, const guint8 **payload, gsize *payload_len,
                                      GBytes **message, const char **why);

/* Drops partial messages older than the age limit; returns how many. */
guint actr_dc_reassembler_expire(ActrDcReassembler *r, gint64 now_us);

/* Partial messages held, and their bytes. */
guint actr_dc_reassembler_partial_count(const ActrDcReassembler *r);
gsize actr_dc_reassembler_buffered_bytes(const ActrDcReassembler *r);

#endif /* ACTR_DC_FRAGMENT_H */
