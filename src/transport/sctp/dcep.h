/* actr — Data Channel Establishment Protocol messages (RFC 8832).
 *
 * DATA_CHANNEL_OPEN (0x03) and DATA_CHANNEL_ACK (0x02), carried on SCTP with
 * PPID 50.  All multi-byte fields are big-endian.  The parser only reads
 * its input and never allocates: the label and protocol of a parsed OPEN
 * point into the input buffer.  Pure functions, any thread.
 */
#ifndef ACTR_DCEP_H
#define ACTR_DCEP_H

#include "sctp.h"

#include <glib.h>

/* SCTP payload protocol identifiers (RFC 8831 section 8). */
#define ACTR_DCEP_PPID              50
#define ACTR_DCEP_PPID_STRING       51
#define ACTR_DCEP_PPID_BINARY       53
#define ACTR_DCEP_PPID_STRING_EMPTY 56
#define ACTR_DCEP_PPID_BINARY_EMPTY 57

/* Message types. */
#define ACTR_DCEP_MSG_ACK  0x02
#define ACTR_DCEP_MSG_OPEN 0x03

/* Channel types (RFC 8832 section 5.1). */
#define ACTR_DCEP_CHANNEL_RELIABLE                          0x00
#define ACTR_DCEP_CHANNEL_RELIABLE_UNORDERED                0x80
#define ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT           0x01
#define ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED 0x81
#define ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED            0x02
#define ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED  0x82

#define ACTR_DCEP_OPEN_HEADER 12 /* bytes before the label */

typedef struct {
  guint8 message_type; /* ACTR_DCEP_MSG_OPEN or ACTR_DCEP_MSG_ACK */
  /* The fields below are set for an OPEN only. */
  guint8 channel_type;
  guint16 priority;
  guint32 reliability;
  const guint8 *label; /* (transfer none) into the input; not NUL-terminated */
  gsize label_len;
  const guint8 *protocol; /* (transfer none) into the input */
  gsize protocol_len;
} ActrDcepMessage;

/* Parses one DCEP message.  Accepts an ACK of exactly one byte and an OPEN
 * whose lengths add up exactly, whose channel type is one of the six known
 * ones, whose label is at most ACTR_SCTP_MAX_LABEL bytes of UTF-8 without
 * NUL and whose protocol is UTF-8 without NUL.  On FALSE, *@why (if not
 * NULL) is set to a static reason for logs and @msg is unspecified. */
gboolean actr_dcep_parse(const guint8 *data, gsize len, ActrDcepMessage *msg, const char **why);

/* Encodes an OPEN.  (transfer full): free with g_free().  @label and
 * @protocol may be NULL when their length is 0; lengths above 65535 are a
 * programmer error (NULL is returned). */
guint8 *actr_dcep_encode_open(guint8 channel_type, guint16 priority, guint32 reliability,
                              const char *label, gsize label_len, const char *protocol,
                              gsize protocol_len, gsize *out_len);

/* Writes the one-byte ACK into @out and returns its length (1). */
gsize actr_dcep_encode_ack(guint8 out[1]);

/* Maps a reliability to the channel type and reliability parameter of an
 * OPEN.  FALSE when both max_retransmits and max_lifetime_ms are set or a
 * value is out of range. */
gboolean actr_dcep_type_from_reliability(const ActrSctpReliability *rel, guint8 *channel_type,
                                         guint32 *reliability);

/* The reverse mapping; FALSE for an unknown channel type.  Values above
 * G_MAXINT are clamped to G_MAXINT. */
gboolean actr_dcep_reliability_from_type(guint8 channel_type, guint32 reliability,
                                         ActrSctpReliability *rel);

#endif /* ACTR_DCEP_H */
