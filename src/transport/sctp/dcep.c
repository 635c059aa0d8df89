/* actr — DCEP message encode/parse (RFC 8832).  See dcep.h. */
#include "dcep.h"

#include <string.h>

static guint16
get_be16(const guint8 *p)
{
  return (guint16)(((guint16)p[0] << 8) | p[1]);
}

static guint32
get_be32(const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

static void
put_be16(guint8 *p, guint16 v)
{
  p[0] = (guint8)(v >> 8);
  p[1] = (guint8)v;
}

static void
put_be32(guint8 *p, guint32 v)
{
  p[0] = (guint8)(v >> 24);
  p[1] = (guint8)(v >> 16);
  p[2] = (guint8)(v >> 8);
  p[3] = (guint8)v;
}

static gboolean
channel_type_known(guint8 type)
{
  switch (type) {
  case ACTR_DCEP_CHANNEL_RELIABLE:
  case ACTR_DCEP_CHANNEL_RELIABLE_UNORDERED:
  case ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT:
  case ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED:
  case ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED:
  case ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED:
    return TRUE;
  default:
    return FALSE;
  }
}

static gboolean
text_ok(const guint8 *p, gsize len)
{
  return memchr(p, '\0', len) == NULL && g_utf8_validate((const char *)p, (gssize)len, NULL);
}

static gboolean
fail(const char **why, const char *reason)
{
  if (why)
    *why = reason;
  return FALSE;
}

gboolean
actr_dcep_parse(const guint8 *data, gsize len, ActrDcepMessage *msg, const char **why)
{
  g_return_val_if_fail(msg != NULL, FALSE);
  memset(msg, 0, sizeof *msg);
  if (data == NULL || len == 0)
    return fail(why, "empty DCEP message");
  msg->message_type = data[0];
  if (data[0] == ACTR_DCEP_MSG_ACK) {
    if (len != 1)
      return fail(why, "DCEP ACK with trailing bytes");
    return TRUE;
  }
  if (data[0] != ACTR_DCEP_MSG_OPEN)
    return fail(why, "unknown DCEP message type");
  if (len < ACTR_DCEP_OPEN_HEADER)
    return fail(why, "truncated DCEP OPEN");
  msg->channel_type = data[1];
  msg->priority = get_be16(data + 2);
  msg->reliability = get_be32(data + 4);
  msg->label_len = get_be16(data + 8);
  msg->protocol_len = get_be16(data + 10);
  if (!channel_type_known(msg->channel_type))
    return fail(why, "unknown DCEP channel type");
  if ((gsize)ACTR_DCEP_OPEN_HEADER + msg->label_len + msg->protocol_len != len)
    return fail(why, "DCEP OPEN lengths do not match the message");
  if (msg->label_len > ACTR_SCTP_MAX_LABEL)
    return fail(why, "DCEP OPEN label too long");
  msg->label = data + ACTR_DCEP_OPEN_HEADER;
  msg->protocol = msg->label + msg->label_len;
  if (!text_ok(msg->label, msg->label_len))
    return fail(why, "DCEP OPEN label is not UTF-8 text");
  if (!text_ok(msg->protocol, msg->protocol_len))
    return fail(why, "DCEP OPEN protocol is not UTF-8 text");
  return TRUE;
}

guint8 *
actr_dcep_encode_open(guint8 channel_type, guint16 priority, guint32 reliability, const char *label,
                      gsize label_len, const char *protocol, gsize protocol_len, gsize *out_len)
{
  g_return_val_if_fail(label_len <= G_MAXUINT16 && protocol_len <= G_MAXUINT16, NULL);
  g_return_val_if_fail(label != NULL || label_len == 0, NULL);
  g_return_val_if_fail(protocol != NULL || protocol_len == 0, NULL);
  g_return_val_if_fail(out_len != NULL, NULL);
  gsize len = ACTR_DCEP_OPEN_HEADER + label_len + protocol_len;
  guint8 *buf = g_malloc(len);
  buf[0] = ACTR_DCEP_MSG_OPEN;
  buf[1] = channel_type;
  put_be16(buf + 2, priority);
  put_be32(buf + 4, reliability);
  put_be16(buf + 8, (guint16)label_len);
  put_be16(buf + 10, (guint16)protocol_len);
  if (label_len)
    memcpy(buf + ACTR_DCEP_OPEN_HEADER, label, label_len);
  if (protocol_len)
    memcpy(buf + ACTR_DCEP_OPEN_HEADER + label_len, protocol, protocol_len);
  *out_len = len;
  return buf;
}

gsize
actr_dcep_encode_ack(guint8 out[1])
{
  out[0] = ACTR_DCEP_MSG_ACK;
  return 1;
}

gboolean
actr_dcep_type_from_reliability(const ActrSctpReliability *rel, guint8 *channel_type,
                                guint32 *reliability)
{
  g_return_val_if_fail(rel != NULL && channel_type != NULL && reliability != NULL, FALSE);
  guint8 unordered = rel->ordered ? 0x00 : 0x80;
  if (rel->max_retransmits < -1 || rel->max_lifetime_ms < -1)
    return FALSE;
  if (rel->max_retransmits >= 0 && rel->max_lifetime_ms >= 0)
    return FALSE;
  if (rel->max_retransmits >= 0) {
    *channel_type = ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT | unordered;
    *reliability = (guint32)rel->max_retransmits;
  } else if (rel->max_lifetime_ms >= 0) {
    *channel_type = ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED | unordered;
    *reliability = (guint32)rel->max_lifetime_ms;
  } else {
    *channel_type = ACTR_DCEP_CHANNEL_RELIABLE | unordered;
    *reliability = 0;
  }
  return TRUE;
}

gboolean
actr_dcep_reliability_from_type(guint8 channel_type, guint32 reliability, ActrSctpReliability *rel)
{
  g_return_val_if_fail(rel != NULL, FALSE);
  if (!channel_type_known(channel_type))
    return FALSE;
  int value = reliability > (guint32)G_MAXINT ? G_MAXINT : (int)reliability;
  rel->ordered = (channel_type & 0x80) == 0;
  rel->max_retransmits = -1;
  rel->max_lifetime_ms = -1;
  switch (channel_type & 0x7f) {
  case ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT:
    rel->max_retransmits = value;
    break;
  case ACTR_DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED:
    rel->max_lifetime_ms = value;
    break;
  default:
    break;
  }
  return TRUE;
}
