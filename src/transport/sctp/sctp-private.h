/* actr — SCTP internals shared with the unit tests (not part of sctp.h). */
#ifndef ACTR_SCTP_PRIVATE_H
#define ACTR_SCTP_PRIVATE_H

#include "sctp.h"

/* Sends @len bytes with payload protocol id @ppid on stream @stream_id,
 * whether or not a channel is open there, reliable and ordered, through the
 * same FIFO as actr_sctp_send().  For tests that need to put arbitrary (and
 * malformed) DCEP or unknown PPIDs on the wire.  FALSE when the association
 * is not up. */
gboolean actr_sctp_send_ppid(ActrSctp *sctp, guint16 stream_id, guint32 ppid, const guint8 *data,
                             gsize len);

#endif /* ACTR_SCTP_PRIVATE_H */
