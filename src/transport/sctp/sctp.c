/* actr — SCTP associations and WebRTC data channels on usrsctp.  See sctp.h.
 *
 * Design notes (the contract is in sctp.h):
 *
 * - usrsctp runs without threads.  It is initialised once per process and
 *   never finished (usrsctp_finish would fail while any inpcb lingers); a
 *   process-wide timer thread calls usrsctp_handle_timers() every 10 ms with
 *   the real elapsed time while at least one ActrSctp exists.
 *
 * - usrsctp only ever sees integer ids: the sconn address and the socket's
 *   ulp_info are the association id, looked up (with a reference taken) in a
 *   mutex-protected table.  After actr_sctp_free() the id is gone from the
 *   table, so late usrsctp callbacks find nothing and drop their data.
 *
 * - One socket per association, one-to-many style (SOCK_SEQPACKET), bound
 *   and listening at once: a listening one-to-many socket accepts an INIT
 *   that arrives before actr_sctp_connect() and can still connect (a
 *   one-to-one listening socket refuses connect() in usrsctp), and a second
 *   connect while the association exists is EALREADY.  Every connect order
 *   (one side, the other, both, INIT first) ends in the same single
 *   association.
 *
 * - Everything usrsctp reports through its callbacks (received data and
 *   notifications, send space, packets produced from the timer thread) is
 *   queued on the association's inbox and handled after usrsctp returns:
 *   synchronously at the end of actr_sctp_receive_packet(), and otherwise
 *   from a GSource on the association's context.  Packets produced while
 *   this thread is inside an actr_sctp_*() call for the same association
 *   go to send_packet directly.
 *
 * - Sending: messages go to usrsctp_sendv on a non-blocking socket without
 *   SCTP_EXPLICIT_EOR.  A message (at most ACTR_SCTP_MAX_MESSAGE bytes) is
 *   smaller than the send buffer (SCTP_SNDBUF), so usrsctp takes a message
 *   whole or refuses it with EWOULDBLOCK; refused messages (and everything
 *   after them, to keep the order) wait in our FIFO, drained when usrsctp
 *   reports send space (after a SACK).  buffered_amount = bytes in the FIFO
 *   + usrsctp's output queue size (SCTP_GET_SNDBUF_USE: bytes queued or
 *   sent and not yet acknowledged), exact to the byte except that an empty
 *   message counts 0 while its 1-byte payload is in flight.
 */
#include "sctp.h"
#include "dcep.h"
#include "sctp-private.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <usrsctp.h>

/* Read-only usrsctp socket option not in the public header (FreeBSD ABI):
 * the association's output queue size in bytes (queued + unacknowledged). */
#ifndef SCTP_GET_SNDBUF_USE
#define SCTP_GET_SNDBUF_USE 0x00001101
#endif
typedef struct {
  sctp_assoc_t ss_assoc_id;
  uint32_t ss_total_sndbuf;
  uint32_t ss_total_recv_buf;
} SctpSockstat;

/* SCTP packets of at most 1200 bytes.  For AF_CONN, usrsctp applies the
 * path MTU to what follows the 12-byte common header, so it is set 12 lower. */
#define SCTP_PACKET_MAX  1200
#define SCTP_MTU         (SCTP_PACKET_MAX - 12)
#define SCTP_SNDBUF      (1024 * 1024)
#define SCTP_RCVBUF      (1024 * 1024)
#define SCTP_OUT_STREAMS 1024
#define SCTP_IN_STREAMS  65535
#define SCTP_TICK_MS     10
/* Bytes of a message being reassembled beyond which it is dropped. */
#define SCTP_REASSEMBLY_LIMIT (ACTR_SCTP_MAX_MESSAGE + 64 * 1024)
#define DCEP_PRIORITY         256

G_DEFINE_QUARK(actr - sctp - error - quark, actr_sctp_error)

typedef enum {
  ITEM_PACKET,       /* a packet for send_packet */
  ITEM_DATA,         /* a received message or part of one */
  ITEM_NOTIFICATION, /* a usrsctp notification */
  ITEM_SEND_SPACE,   /* usrsctp has send space again */
  ITEM_FAILED,       /* the association failed outside of usrsctp */
} ItemKind;

typedef struct {
  ItemKind kind;
  guint16 sid;
  guint32 ppid;
  gboolean eor;
  guint8 *data; /* ITEM_PACKET: g_malloc; DATA/NOTIFICATION: malloc (usrsctp) */
  gsize len;
  const char *reason; /* ITEM_FAILED */
} Item;

typedef struct {
  guint16 sid;
  char *label;
  ActrSctpReliability rel;
  gboolean opened_by_peer;
  gboolean acked;            /* ours: ACK (or data) received; peer's: always */
  gboolean out_reset_wanted; /* closing: no more sends; reset queued */
  gboolean out_reset_done;   /* our outgoing stream reset completed */
  gboolean in_reset;         /* the peer reset its outgoing stream */
} Channel;

typedef struct {
  gboolean is_reset; /* a stream reset request, not a message */
  guint16 sid;
  guint32 ppid;
  guint8 *data;
  gsize len;
  gsize user_len; /* what counts towards buffered_amount */
} OutMsg;

typedef struct {
  GByteArray *buf;
  gboolean discard; /* oversize: drop until the end of this message */
} Partial;

struct _ActrSctp {
  gatomicrefcount ref;
  guint id;
  GMainContext *context;
  gboolean dtls_client;
  guint16 local_port;
  guint16 remote_port;
  guint64 remote_max_message;
  ActrSctpCallbacks cb;
  gpointer user_data;

  struct socket *sock;
  sctp_assoc_t assoc_id;
  gboolean connect_called;
  gboolean connected;
  gboolean closed; /* closed or failed: no user callback except send_packet */
  guint16 max_streams;

  GHashTable *channels; /* sid -> Channel */
  GHashTable *partial;  /* sid -> Partial */
  GQueue sendq;         /* OutMsg, in order */
  gsize sendq_bytes;
  gsize low_threshold;
  gboolean low_armed;
  gboolean dispatching;

  /* Inbox: filled from usrsctp callbacks on any thread. */
  GMutex inbox_lock;
  GQueue inbox;
  gboolean destroyed; /* under inbox_lock: the inbox takes nothing more */
  gint space_pending; /* atomic: an ITEM_SEND_SPACE is queued */
  GSource *source;

  gboolean logged_dcep;
  gboolean logged_oversize;
  gboolean logged_stray;
};

/* Process-wide state. */
static GMutex table_lock; /* guards sctp_table, next_id */
static GHashTable *sctp_table;
static guint next_id = 1;

static GMutex lifecycle_lock; /* guards users, usrsctp_ready, timer_thread */
static guint users;
static gboolean usrsctp_ready;
static GThread *timer_thread;

static GMutex timer_lock; /* guards timer_stop */
static GCond timer_cond;
static gboolean timer_stop;

/* The association this thread is inside an actr_sctp_*() call for. */
static GPrivate current_key;

static ActrSctp *
enter(ActrSctp *s)
{
  ActrSctp *prev = g_private_get(&current_key);
  g_private_set(&current_key, s);
  return prev;
}

static void
leave(ActrSctp *prev)
{
  g_private_set(&current_key, prev);
}

static void
item_free(Item *it)
{
  if (it->kind == ITEM_PACKET)
    g_free(it->data);
  else
    free(it->data);
  g_free(it);
}

static void
outmsg_free(OutMsg *m)
{
  g_free(m->data);
  g_free(m);
}

static void
channel_free(Channel *ch)
{
  g_free(ch->label);
  g_free(ch);
}

static void
partial_free(Partial *p)
{
  g_byte_array_unref(p->buf);
  g_free(p);
}

static void
sctp_unref(ActrSctp *s)
{
  if (!g_atomic_ref_count_dec(&s->ref))
    return;
  /* Only the inbox may still hold something (items pushed by a thread that
   * raced with actr_sctp_free are refused, so it is normally empty). */
  Item *it;
  while ((it = g_queue_pop_head(&s->inbox)))
    item_free(it);
  g_mutex_clear(&s->inbox_lock);
  g_free(s);
}

static ActrSctp *
lookup_ref(guint id)
{
  ActrSctp *s = NULL;
  g_mutex_lock(&table_lock);
  if (sctp_table)
    s = g_hash_table_lookup(sctp_table, GUINT_TO_POINTER(id));
  if (s)
    g_atomic_ref_count_inc(&s->ref);
  g_mutex_unlock(&table_lock);
  return s;
}

/* Queues @it for the owner context; takes ownership of @it. */
static void
inbox_push(ActrSctp *s, Item *it)
{
  g_mutex_lock(&s->inbox_lock);
  if (s->destroyed) {
    g_mutex_unlock(&s->inbox_lock);
    item_free(it);
    return;
  }
  gboolean was_empty = g_queue_is_empty(&s->inbox);
  g_queue_push_tail(&s->inbox, it);
  if (was_empty)
    g_source_set_ready_time(s->source, 0);
  g_mutex_unlock(&s->inbox_lock);
}

static Item *
inbox_pop(ActrSctp *s)
{
  g_mutex_lock(&s->inbox_lock);
  Item *it = g_queue_pop_head(&s->inbox);
  g_mutex_unlock(&s->inbox_lock);
  return it;
}

/* ---- SCTP checksum --------------------------------------------------------- */

/* Every SCTP packet travels inside a DTLS record whose AEAD tag already
 * authenticates it, so verifying SCTP's CRC32c on receipt adds nothing.
 * usrsctp's "CRC32c offload" skips that verification and leaves the
 * checksum of outgoing packets to us; usrsctp's own CRC32c is a table-driven
 * loop that took about 12 % of the CPU of a bulk transfer.  We compute the
 * checksum (peers do verify it) with the SSE4.2 crc32 instruction when the
 * CPU has it and it agrees with usrsctp_crc32c() on a sample, else with
 * usrsctp_crc32c(). */
static gboolean crc_hw;

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static guint32
crc32c_sse42(const guint8 *p, gsize n)
{
  guint64 crc = 0xffffffffu;

  for (; n >= 8; p += 8, n -= 8) {
    guint64 v;
    memcpy(&v, p, 8);
    crc = _mm_crc32_u64(crc, v);
  }
  guint32 c = (guint32)crc;
  for (; n > 0; p++, n--)
    c = _mm_crc32_u8(c, *p);
  return ~c;
}
#endif

/* The value to store (native byte order) in bytes 8..11 of @packet, whose
 * checksum field must be zero. */
static guint32
packet_crc32c(guint8 *packet, gsize len)
{
#if defined(__x86_64__)
  if (crc_hw)
    return crc32c_sse42(packet, len);
#endif
  return usrsctp_crc32c(packet, len);
}

static void
crc_init(void)
{
#if defined(__x86_64__)
  guint8 sample[61];
  for (gsize i = 0; i < sizeof sample; i++)
    sample[i] = (guint8)(i * 37 + 11);
  memset(sample + 8, 0, 4);
  crc_hw = __builtin_cpu_supports("sse4.2") &&
           crc32c_sse42(sample, sizeof sample) == usrsctp_crc32c(sample, sizeof sample);
#endif
  usrsctp_enable_crc32c_offload();
}

/* Fills the checksum of an outgoing SCTP packet (12-byte common header). */
static void
put_checksum(void *buffer, size_t length)
{
  guint8 *p = buffer;

  if (length < 12)
    return;
  memset(p + 8, 0, 4);
  guint32 crc = packet_crc32c(p, length);
  memcpy(p + 8, &crc, 4);
}

/* ---- usrsctp callbacks (any thread, possibly with usrsctp locks held) ---- */

static int
conn_output(void *addr, void *buffer, size_t length, uint8_t tos, uint8_t set_df)
{
  (void)tos;
  (void)set_df;
  ActrSctp *s = lookup_ref(GPOINTER_TO_UINT(addr));
  if (s == NULL)
    return 0;
  put_checksum(buffer, length);
  if (g_private_get(&current_key) == s) {
    s->cb.send_packet(s, buffer, length, s->user_data);
  } else {
    Item *it = g_new0(Item, 1);
    it->kind = ITEM_PACKET;
    it->data = g_memdup2(buffer, length);
    it->len = length;
    inbox_push(s, it);
  }
  sctp_unref(s);
  return 0;
}

static int
receive_cb(struct socket *sock, union sctp_sockstore addr, void *data, size_t datalen,
           struct sctp_rcvinfo rcv, int flags, void *ulp_info)
{
  (void)sock;
  (void)addr;
  if (data == NULL) /* end of the socket's receive side: notifications tell */
    return 1;
  ActrSctp *s = lookup_ref(GPOINTER_TO_UINT(ulp_info));
  if (s == NULL) {
    free(data);
    return 1;
  }
  Item *it = g_new0(Item, 1);
  it->kind = (flags & MSG_NOTIFICATION) ? ITEM_NOTIFICATION : ITEM_DATA;
  it->sid = rcv.rcv_sid;
  it->ppid = ntohl(rcv.rcv_ppid);
  it->eor = (flags & MSG_EOR) != 0;
  it->data = data;
  it->len = datalen;
  inbox_push(s, it);
  sctp_unref(s);
  return 1;
}

static int
send_cb(struct socket *sock, uint32_t sb_free, void *ulp_info)
{
  (void)sock;
  (void)sb_free;
  ActrSctp *s = lookup_ref(GPOINTER_TO_UINT(ulp_info));
  if (s == NULL)
    return 0;
  if (g_atomic_int_compare_and_exchange(&s->space_pending, 0, 1)) {
    Item *it = g_new0(Item, 1);
    it->kind = ITEM_SEND_SPACE;
    inbox_push(s, it);
  }
  sctp_unref(s);
  return 0;
}

/* ---- process-wide usrsctp and timer ---- */

static gpointer
timer_main(gpointer unused)
{
  (void)unused;
  gint64 last = g_get_monotonic_time();
  g_mutex_lock(&timer_lock);
  while (!timer_stop) {
    gint64 deadline = g_get_monotonic_time() + SCTP_TICK_MS * G_TIME_SPAN_MILLISECOND;
    while (!timer_stop && g_cond_wait_until(&timer_cond, &timer_lock, deadline))
      ;
    if (timer_stop)
      break;
    g_mutex_unlock(&timer_lock);
    gint64 elapsed_ms = (g_get_monotonic_time() - last) / G_TIME_SPAN_MILLISECOND;
    if (elapsed_ms > 0) {
      usrsctp_handle_timers((uint32_t)MIN(elapsed_ms, G_MAXUINT32));
      last += elapsed_ms * G_TIME_SPAN_MILLISECOND;
    }
    g_mutex_lock(&timer_lock);
  }
  g_mutex_unlock(&timer_lock);
  return NULL;
}

static void
usrsctp_user_add(void)
{
  g_mutex_lock(&lifecycle_lock);
  if (!usrsctp_ready) {
    usrsctp_init_nothreads(0, conn_output, NULL);
    crc_init();
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_pr_enable(1);
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
    usrsctp_sysctl_set_sctp_nr_outgoing_streams_default(SCTP_OUT_STREAMS);
    /* The default (512) makes 10k small messages wait in our FIFO for no
     * reason; chunks are small, the send buffer still bounds memory. */
    usrsctp_sysctl_set_sctp_max_chunks_on_queue(8192);
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
    /* Heartbeats every ~1 s (interval + RTO) keep an idle connection's
     * traffic flowing, so the peer connection's silence detector
     * (ACTR_PC_SILENCE_MS) notices a broken path within seconds; a lower
     * RTO floor than the RFC's 1 s makes a lost packet cost 200 ms on
     * low-latency paths, as in browsers. */
    usrsctp_sysctl_set_sctp_heartbeat_interval_default(1000);
    usrsctp_sysctl_set_sctp_rto_min_default(200);
    /* A lost INIT (e.g. one that reached a peer whose SCTP was not listening
     * yet, as aiortc right after its DTLS handshake) is sent again after 1 s,
     * then at most every 3 s, instead of after 3 s and then 6, 12 s: the
     * connection budget is 10 s. */
    usrsctp_sysctl_set_sctp_rto_initial_default(1000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(3000);
    usrsctp_ready = TRUE;
  }
  if (users++ == 0) {
    g_mutex_lock(&timer_lock);
    timer_stop = FALSE;
    g_mutex_unlock(&timer_lock);
    timer_thread = g_thread_new("actr-sctp-timer", timer_main, NULL);
  }
  g_mutex_unlock(&lifecycle_lock);
}

static void
usrsctp_user_remove(void)
{
  g_mutex_lock(&lifecycle_lock);
  g_assert(users > 0);
  if (--users == 0) {
    g_mutex_lock(&timer_lock);
    timer_stop = TRUE;
    g_cond_signal(&timer_cond);
    g_mutex_unlock(&timer_lock);
    /* The timer thread never takes lifecycle_lock: joining here is safe. */
    g_thread_join(timer_thread);
    timer_thread = NULL;
  }
  g_mutex_unlock(&lifecycle_lock);
}

/* ---- sending ---- */

typedef enum { SEND_OK, SEND_AGAIN, SEND_DROPPED } SendResult;

static SendResult
raw_send(ActrSctp *s, guint16 sid, guint32 ppid, const guint8 *data, gsize len)
{
  Channel *ch = g_hash_table_lookup(s->channels, GUINT_TO_POINTER(sid));
  struct sctp_sendv_spa spa;
  memset(&spa, 0, sizeof spa);
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = sid;
  spa.sendv_sndinfo.snd_ppid = htonl(ppid);
  spa.sendv_sndinfo.snd_assoc_id = s->assoc_id;
  if (ppid != ACTR_DCEP_PPID && ch != NULL) {
    /* RFC 8832 section 6.6: ordered until the ACK arrived. */
    if (!ch->rel.ordered && ch->acked)
      spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
    if (ch->rel.max_retransmits >= 0) {
      spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
      spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
      spa.sendv_prinfo.pr_value = (uint32_t)ch->rel.max_retransmits;
    } else if (ch->rel.max_lifetime_ms >= 0) {
      spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
      spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_TTL;
      spa.sendv_prinfo.pr_value = (uint32_t)ch->rel.max_lifetime_ms;
    }
  }
  ActrSctp *prev = enter(s);
  ssize_t n =
      usrsctp_sendv(s->sock, data, len, NULL, 0, &spa, (socklen_t)sizeof spa, SCTP_SENDV_SPA, 0);
  int err = errno;
  leave(prev);
  if (n >= 0) {
    if ((gsize)n != len)
      g_message("[sctp %u] usrsctp took %zd of %zu bytes on stream %u", s->id, n, len, sid);
    return SEND_OK;
  }
  if (err == EAGAIN || err == EWOULDBLOCK)
    return SEND_AGAIN;
  g_message("[sctp %u] message on stream %u dropped: %s", s->id, sid, g_strerror(err));
  return SEND_DROPPED;
}

static SendResult
raw_reset(ActrSctp *s, guint16 sid)
{
  gsize size = sizeof(struct sctp_reset_streams) + sizeof(uint16_t);
  struct sctp_reset_streams *srs = g_malloc0(size);
  srs->srs_assoc_id = s->assoc_id;
  srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  srs->srs_number_streams = 1;
  srs->srs_stream_list[0] = sid;
  ActrSctp *prev = enter(s);
  int rc = usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, (socklen_t)size);
  int err = errno;
  leave(prev);
  g_free(srs);
  if (rc == 0)
    return SEND_OK;
  if (err == EAGAIN || err == EBUSY || err == EALREADY || err == EINPROGRESS)
    return SEND_AGAIN;
  g_message("[sctp %u] reset of stream %u failed: %s", s->id, sid, g_strerror(err));
  return SEND_DROPPED;
}

/* Hands the FIFO to usrsctp until it refuses. */
static void
drain(ActrSctp *s)
{
  OutMsg *m;
  while ((m = g_queue_peek_head(&s->sendq))) {
    SendResult r =
        m->is_reset ? raw_reset(s, m->sid) : raw_send(s, m->sid, m->ppid, m->data, m->len);
    if (r == SEND_AGAIN)
      break;
    g_queue_pop_head(&s->sendq);
    s->sendq_bytes -= m->user_len;
    outmsg_free(m);
  }
}

static void
enqueue(ActrSctp *s, gboolean is_reset, guint16 sid, guint32 ppid, guint8 *data, gsize len,
        gsize user_len)
{
  OutMsg *m = g_new0(OutMsg, 1);
  m->is_reset = is_reset;
  m->sid = sid;
  m->ppid = ppid;
  m->data = data;
  m->len = len;
  m->user_len = user_len;
  g_queue_push_tail(&s->sendq, m);
  s->sendq_bytes += user_len;
}

/* Sends now when nothing waits, else (or when usrsctp refuses) queues a
 * copy.  Keeps the order of everything sent. */
static void
send_or_queue(ActrSctp *s, guint16 sid, guint32 ppid, const guint8 *data, gsize len, gsize user_len)
{
  if (g_queue_is_empty(&s->sendq)) {
    SendResult r = raw_send(s, sid, ppid, data, len);
    if (r != SEND_AGAIN)
      return;
  }
  enqueue(s, FALSE, sid, ppid, g_memdup2(data, len), len, user_len);
  drain(s);
}

static gsize
usrsctp_queued(const ActrSctp *s)
{
  if (!s->connected || s->sock == NULL)
    return 0;
  SctpSockstat ss;
  memset(&ss, 0, sizeof ss);
  ss.ss_assoc_id = s->assoc_id;
  socklen_t len = sizeof ss;
  if (usrsctp_getsockopt(s->sock, IPPROTO_SCTP, SCTP_GET_SNDBUF_USE, &ss, &len) < 0)
    return 0;
  return ss.ss_total_sndbuf;
}

static void
check_buffered_low(ActrSctp *s)
{
  if (!s->low_armed || s->closed)
    return;
  if (actr_sctp_buffered_amount(s) > s->low_threshold)
    return;
  s->low_armed = FALSE;
  if (s->cb.on_buffered_low)
    s->cb.on_buffered_low(s, s->user_data);
}

static void
note_buffered(ActrSctp *s)
{
  if (!s->low_armed && actr_sctp_buffered_amount(s) > s->low_threshold)
    s->low_armed = TRUE;
}

/* ---- receiving (owner thread, outside usrsctp) ---- */

static void
fail(ActrSctp *s, const char *reason)
{
  if (s->closed)
    return;
  s->closed = TRUE;
  s->connected = FALSE;
  g_debug("[sctp %u] association closed: %s", s->id, reason);
  if (s->cb.on_closed)
    s->cb.on_closed(s, reason, s->user_data);
}

static void
log_dcep_once(ActrSctp *s, guint16 sid, const char *why)
{
  if (s->logged_dcep)
    return;
  s->logged_dcep = TRUE;
  g_message("[sctp %u] DCEP message on stream %u dropped: %s (further ones not logged)", s->id, sid,
            why);
}

static void
log_stray_once(ActrSctp *s, guint16 sid, guint32 ppid)
{
  if (s->logged_stray)
    return;
  s->logged_stray = TRUE;
  g_message("[sctp %u] message on stream %u with PPID %u dropped: no such channel or PPID "
            "(further ones not logged)",
            s->id, sid, ppid);
}

static gboolean
our_parity(ActrSctp *s, guint16 sid)
{
  return (sid % 2 == 0) == s->dtls_client;
}

static void
channel_open_from_peer(ActrSctp *s, guint16 sid, const ActrDcepMessage *msg)
{
  Channel *ch = g_hash_table_lookup(s->channels, GUINT_TO_POINTER(sid));
  if (ch != NULL) {
    log_dcep_once(s, sid,
                  ch->opened_by_peer ? "OPEN on a stream already open"
                                     : "OPEN collides with a channel we opened");
    return;
  }
  if (our_parity(s, sid))
    g_debug("[sctp %u] the peer opened stream %u of our parity; no collision, accepted", s->id,
            sid);
  ch = g_new0(Channel, 1);
  ch->sid = sid;
  ch->label = g_strndup((const char *)msg->label, msg->label_len);
  actr_dcep_reliability_from_type(msg->channel_type, msg->reliability, &ch->rel);
  ch->opened_by_peer = TRUE;
  ch->acked = TRUE;
  g_hash_table_insert(s->channels, GUINT_TO_POINTER(sid), ch);
  guint8 ack[1];
  gsize ack_len = actr_dcep_encode_ack(ack);
  send_or_queue(s, sid, ACTR_DCEP_PPID, ack, ack_len, 0);
  if (s->cb.on_channel_open)
    s->cb.on_channel_open(s, sid, ch->label, TRUE, s->user_data);
}

static void
channel_acked(ActrSctp *s, Channel *ch)
{
  if (ch->acked)
    return;
  ch->acked = TRUE;
  if (s->cb.on_channel_open)
    s->cb.on_channel_open(s, ch->sid, ch->label, FALSE, s->user_data);
}

static void
handle_dcep(ActrSctp *s, guint16 sid, const guint8 *data, gsize len)
{
  ActrDcepMessage msg;
  const char *why = NULL;
  if (!actr_dcep_parse(data, len, &msg, &why)) {
    log_dcep_once(s, sid, why);
    return;
  }
  if (msg.message_type == ACTR_DCEP_MSG_OPEN) {
    channel_open_from_peer(s, sid, &msg);
    return;
  }
  Channel *ch = g_hash_table_lookup(s->channels, GUINT_TO_POINTER(sid));
  if (ch == NULL || ch->opened_by_peer) {
    log_dcep_once(s, sid, "ACK for a channel we did not open");
    return;
  }
  channel_acked(s, ch);
}

static void
handle_message(ActrSctp *s, guint16 sid, guint32 ppid, const guint8 *data, gsize len)
{
  if (ppid == ACTR_DCEP_PPID) {
    handle_dcep(s, sid, data, len);
    return;
  }
  gboolean binary;
  switch (ppid) {
  case ACTR_DCEP_PPID_STRING:
    binary = FALSE;
    break;
  case ACTR_DCEP_PPID_BINARY:
    binary = TRUE;
    break;
  case ACTR_DCEP_PPID_STRING_EMPTY:
    binary = FALSE;
    len = 0;
    break;
  case ACTR_DCEP_PPID_BINARY_EMPTY:
    binary = TRUE;
    len = 0;
    break;
  default:
    log_stray_once(s, sid, ppid);
    return;
  }
  Channel *ch = g_hash_table_lookup(s->channels, GUINT_TO_POINTER(sid));
  if (ch == NULL || ch->in_reset) {
    log_stray_once(s, sid, ppid);
    return;
  }
  /* Data on a channel we opened means the peer processed our OPEN: an
   * implicit ACK (its ACK may be behind an unordered message). */
  channel_acked(s, ch);
  if (s->cb.on_message)
    s->cb.on_message(s, sid, len ? data : (const guint8 *)"", len, binary, s->user_data);
}

static void
handle_data(ActrSctp *s, Item *it)
{
  Partial *p = g_hash_table_lookup(s->partial, GUINT_TO_POINTER(it->sid));
  if (p == NULL && it->eor) {
    handle_message(s, it->sid, it->ppid, it->data, it->len);
    return;
  }
  if (p == NULL) {
    p = g_new0(Partial, 1);
    p->buf = g_byte_array_new();
    g_hash_table_insert(s->partial, GUINT_TO_POINTER(it->sid), p);
  }
  if (!p->discard && p->buf->len + it->len > SCTP_REASSEMBLY_LIMIT) {
    p->discard = TRUE;
    g_byte_array_set_size(p->buf, 0);
    if (!s->logged_oversize) {
      s->logged_oversize = TRUE;
      g_message("[sctp %u] message above %d bytes on stream %u dropped (further ones not "
                "logged)",
                s->id, SCTP_REASSEMBLY_LIMIT, it->sid);
    }
  }
  if (!p->discard)
    g_byte_array_append(p->buf, it->data, (guint)it->len);
  if (!it->eor)
    return;
  g_hash_table_steal(s->partial, GUINT_TO_POINTER(it->sid));
  if (!p->discard)
    handle_message(s, it->sid, it->ppid, p->buf->data, p->buf->len);
  partial_free(p);
}

static void
maybe_forget_channel(ActrSctp *s, Channel *ch)
{
  if (ch->in_reset && ch->out_reset_done)
    g_hash_table_remove(s->channels, GUINT_TO_POINTER(ch->sid));
}

static void
stream_reset_incoming(ActrSctp *s, guint16 sid)
{
  g_hash_table_remove(s->partial, GUINT_TO_POINTER(sid));
  Channel *ch = g_hash_table_lookup(s->channels, GUINT_TO_POINTER(sid));
  if (ch == NULL || ch->in_reset)
    return;
  ch->in_reset = TRUE;
  if (!ch->out_reset_wanted) {
    /* The peer closed the channel: close our direction too. */
    ch->out_reset_wanted = TRUE;
    enqueue(s, TRUE, sid, 0, NULL, 0, 0);
    drain(s);
    if (s->cb.on_channel_closed)
      s->cb.on_channel_closed(s, sid, s->user_data);
    return;
  }
  maybe_forget_channel(s, ch);
}

static void
stream_reset_outgoing(ActrSctp *s, guint16 sid)
{
  Channel *ch = g_hash_table_lookup(s->channels, GUINT_TO_POINTER(sid));
  if (ch == NULL || !ch->out_reset_wanted)
    return;
  ch->out_reset_done = TRUE;
  maybe_forget_channel(s, ch);
}

static void
handle_stream_reset(ActrSctp *s, const struct sctp_stream_reset_event *ev, gsize len)
{
  if (len < sizeof *ev || ev->strreset_length > len)
    return;
  guint n = (ev->strreset_length - (guint)sizeof *ev) / sizeof(uint16_t);
  if (ev->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
    g_message("[sctp %u] stream reset %s by the peer", s->id,
              (ev->strreset_flags & SCTP_STREAM_RESET_DENIED) ? "denied" : "failed");
    return;
  }
  GArray *sids = g_array_new(FALSE, FALSE, sizeof(guint16));
  if (n == 0) {
    /* All streams. */
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, s->channels);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
      guint16 sid = (guint16)GPOINTER_TO_UINT(key);
      g_array_append_val(sids, sid);
    }
  } else {
    g_array_append_vals(sids, ev->strreset_stream_list, n);
  }
  for (guint i = 0; i < sids->len && !s->closed; i++) {
    guint16 sid = g_array_index(sids, guint16, i);
    if (ev->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)
      stream_reset_incoming(s, sid);
    if (ev->strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN)
      stream_reset_outgoing(s, sid);
  }
  g_array_unref(sids);
}

static void
handle_assoc_change(ActrSctp *s, const struct sctp_assoc_change *ac)
{
  switch (ac->sac_state) {
  case SCTP_COMM_UP:
    if (s->connected || s->closed)
      return;
    s->connected = TRUE;
    s->assoc_id = ac->sac_assoc_id;
    s->max_streams = MIN(ac->sac_outbound_streams, ac->sac_inbound_streams);
    g_debug("[sctp %u] association up, %u streams", s->id, s->max_streams);
    if (s->cb.on_connected)
      s->cb.on_connected(s, s->user_data);
    break;
  case SCTP_RESTART:
    g_message("[sctp %u] association restarted by the peer", s->id);
    break;
  case SCTP_COMM_LOST:
    fail(s, "association lost (ABORT or timeout)");
    break;
  case SCTP_SHUTDOWN_COMP:
    fail(s, "association shut down");
    break;
  case SCTP_CANT_STR_ASSOC:
    fail(s, "association could not be started");
    break;
  default:
    break;
  }
}

static void
handle_notification(ActrSctp *s, const guint8 *data, gsize len)
{
  const union sctp_notification *n = (const union sctp_notification *)data;
  if (len < sizeof n->sn_header || n->sn_header.sn_length > len)
    return;
  switch (n->sn_header.sn_type) {
  case SCTP_ASSOC_CHANGE:
    if (len >= sizeof n->sn_assoc_change)
      handle_assoc_change(s, &n->sn_assoc_change);
    break;
  case SCTP_SHUTDOWN_EVENT:
    fail(s, "the peer shut the association down");
    break;
  case SCTP_STREAM_RESET_EVENT:
    handle_stream_reset(s, &n->sn_strreset_event, len);
    drain(s); /* a stream reset refused as busy can go now */
    break;
  case SCTP_SENDER_DRY_EVENT:
    drain(s);
    check_buffered_low(s);
    break;
  case SCTP_PARTIAL_DELIVERY_EVENT:
    if (len >= sizeof n->sn_pdapi_event &&
        n->sn_pdapi_event.pdapi_indication == SCTP_PARTIAL_DELIVERY_ABORTED)
      g_hash_table_remove(s->partial, GUINT_TO_POINTER(n->sn_pdapi_event.pdapi_stream));
    break;
  case SCTP_REMOTE_ERROR:
    g_message("[sctp %u] the peer reported an error", s->id);
    break;
  case SCTP_SEND_FAILED_EVENT:
    g_debug("[sctp %u] a message was abandoned (partial reliability or failure)", s->id);
    break;
  default:
    break;
  }
}

/* Handles everything queued on the inbox, in order.  Owner thread only,
 * never from inside usrsctp.  Not re-entered: a nested call (from a user
 * callback) returns at once and the outer loop picks the items up. */
static void
dispatch(ActrSctp *s)
{
  if (s->dispatching)
    return;
  s->dispatching = TRUE;
  Item *it;
  while ((it = inbox_pop(s))) {
    switch (it->kind) {
    case ITEM_PACKET:
      s->cb.send_packet(s, it->data, it->len, s->user_data);
      break;
    case ITEM_DATA:
      if (!s->closed)
        handle_data(s, it);
      break;
    case ITEM_NOTIFICATION:
      if (!s->closed && it->eor)
        handle_notification(s, it->data, it->len);
      break;
    case ITEM_SEND_SPACE:
      g_atomic_int_set(&s->space_pending, 0);
      if (!s->closed) {
        drain(s);
        check_buffered_low(s);
      }
      break;
    case ITEM_FAILED:
      fail(s, it->reason);
      break;
    }
    item_free(it);
  }
  s->dispatching = FALSE;
}

static gboolean
source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
  (void)callback;
  (void)user_data;
  ActrSctp **owner = (ActrSctp **)(source + 1);
  g_source_set_ready_time(source, -1);
  dispatch(*owner);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs inbox_source_funcs = {
    .dispatch = source_dispatch,
};

/* ---- public API ---- */

static gboolean
setopt(ActrSctp *s, int level, int name, const void *value, socklen_t len, const char *what,
       GError **error)
{
  if (usrsctp_setsockopt(s->sock, level, name, value, len) == 0)
    return TRUE;
  g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_FAILED, "usrsctp %s: %s", what,
              g_strerror(errno));
  return FALSE;
}

static gboolean
socket_setup(ActrSctp *s, GError **error)
{
  s->sock = usrsctp_socket(AF_CONN, SOCK_SEQPACKET, IPPROTO_SCTP, receive_cb, send_cb, 0,
                           GUINT_TO_POINTER(s->id));
  if (s->sock == NULL) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_FAILED, "usrsctp_socket: %s",
                g_strerror(errno));
    return FALSE;
  }
  if (usrsctp_set_non_blocking(s->sock, 1) < 0) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_FAILED, "usrsctp non-blocking: %s",
                g_strerror(errno));
    return FALSE;
  }
  int on = 1;
  int sndbuf = SCTP_SNDBUF, rcvbuf = SCTP_RCVBUF;
  struct sctp_assoc_value reset = {.assoc_id = SCTP_FUTURE_ASSOC,
                                   .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
  struct sctp_initmsg init = {.sinit_num_ostreams = SCTP_OUT_STREAMS,
                              .sinit_max_instreams = SCTP_IN_STREAMS};
  struct sctp_paddrparams spp;
  memset(&spp, 0, sizeof spp);
  spp.spp_assoc_id = SCTP_FUTURE_ASSOC;
  spp.spp_flags = SPP_PMTUD_DISABLE | SPP_HB_ENABLE;
  spp.spp_pathmtu = SCTP_MTU;
  spp.spp_hbinterval = 1000; /* ms; see usrsctp_user_add() */
  if (!setopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf, "SO_SNDBUF", error) ||
      !setopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf, "SO_RCVBUF", error) ||
      !setopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on, "SCTP_RECVRCVINFO", error) ||
      !setopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on, "SCTP_NODELAY", error) ||
      !setopt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset,
              "SCTP_ENABLE_STREAM_RESET", error) ||
      !setopt(s, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init, "SCTP_INITMSG", error) ||
      !setopt(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &spp, sizeof spp, "SCTP_PEER_ADDR_PARAMS",
              error))
    return FALSE;
  static const uint16_t events[] = {SCTP_ASSOC_CHANGE,          SCTP_STREAM_RESET_EVENT,
                                    SCTP_SENDER_DRY_EVENT,      SCTP_SEND_FAILED_EVENT,
                                    SCTP_REMOTE_ERROR,          SCTP_SHUTDOWN_EVENT,
                                    SCTP_PARTIAL_DELIVERY_EVENT};
  for (gsize i = 0; i < G_N_ELEMENTS(events); i++) {
    struct sctp_event ev = {.se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = events[i], .se_on = 1};
    if (!setopt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev, "SCTP_EVENT", error))
      return FALSE;
  }
  struct sockaddr_conn local;
  memset(&local, 0, sizeof local);
  local.sconn_family = AF_CONN;
  local.sconn_port = htons(s->local_port);
  local.sconn_addr = GUINT_TO_POINTER(s->id);
  if (usrsctp_bind(s->sock, (struct sockaddr *)&local, sizeof local) < 0) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_FAILED, "usrsctp_bind: %s",
                g_strerror(errno));
    return FALSE;
  }
  if (usrsctp_listen(s->sock, 1) < 0) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_FAILED, "usrsctp_listen: %s",
                g_strerror(errno));
    return FALSE;
  }
  return TRUE;
}

ActrSctp *
actr_sctp_new(GMainContext *context, gboolean dtls_client, guint16 local_port, guint16 remote_port,
              guint64 remote_max_message, const ActrSctpCallbacks *callbacks, gpointer user_data,
              GError **error)
{
  g_return_val_if_fail(callbacks != NULL && callbacks->send_packet != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  ActrSctp *s = g_new0(ActrSctp, 1);
  g_atomic_ref_count_init(&s->ref);
  s->context = context ? g_main_context_ref(context) : g_main_context_ref_thread_default();
  s->dtls_client = dtls_client;
  s->local_port = local_port;
  s->remote_port = remote_port;
  s->remote_max_message = remote_max_message;
  s->cb = *callbacks;
  s->user_data = user_data;
  s->low_threshold = ACTR_SCTP_BUFFERED_LOW;
  s->channels = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)channel_free);
  s->partial = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)partial_free);
  g_queue_init(&s->sendq);
  g_queue_init(&s->inbox);
  g_mutex_init(&s->inbox_lock);
  s->source = g_source_new(&inbox_source_funcs, sizeof(GSource) + sizeof(ActrSctp *));
  *(ActrSctp **)(s->source + 1) = s;
  g_source_set_name(s->source, "actr-sctp");
  g_source_set_ready_time(s->source, -1);
  g_source_attach(s->source, s->context);

  usrsctp_user_add();
  g_mutex_lock(&table_lock);
  if (sctp_table == NULL)
    sctp_table = g_hash_table_new(NULL, NULL);
  do {
    s->id = next_id++;
  } while (s->id == 0 || g_hash_table_contains(sctp_table, GUINT_TO_POINTER(s->id)));
  g_hash_table_insert(sctp_table, GUINT_TO_POINTER(s->id), s);
  g_mutex_unlock(&table_lock);
  usrsctp_register_address(GUINT_TO_POINTER(s->id));

  ActrSctp *prev = enter(s);
  gboolean ok = socket_setup(s, error);
  leave(prev);
  if (!ok) {
    actr_sctp_free(s);
    return NULL;
  }
  return s;
}

void
actr_sctp_free(ActrSctp *s)
{
  if (s == NULL)
    return;
  s->closed = TRUE;
  if (s->sock != NULL) {
    /* Abort (not shut down) whatever is left; the ABORT goes out through
     * send_packet during this call. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    ActrSctp *prev = enter(s);
    usrsctp_setsockopt(s->sock, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    usrsctp_close(s->sock);
    leave(prev);
    s->sock = NULL;
  }
  g_mutex_lock(&s->inbox_lock);
  s->destroyed = TRUE;
  Item *it;
  while ((it = g_queue_pop_head(&s->inbox)))
    item_free(it);
  g_mutex_unlock(&s->inbox_lock);

  g_mutex_lock(&table_lock);
  g_hash_table_remove(sctp_table, GUINT_TO_POINTER(s->id));
  g_mutex_unlock(&table_lock);
  usrsctp_deregister_address(GUINT_TO_POINTER(s->id));

  g_source_destroy(s->source);
  g_source_unref(s->source);
  s->source = NULL;
  g_hash_table_destroy(s->channels);
  g_hash_table_destroy(s->partial);
  g_queue_clear_full(&s->sendq, (GDestroyNotify)outmsg_free);
  g_main_context_unref(s->context);
  usrsctp_user_remove();
  sctp_unref(s);
}

void
actr_sctp_connect(ActrSctp *s)
{
  g_return_if_fail(s != NULL);
  if (s->closed || s->connect_called)
    return;
  s->connect_called = TRUE;
  struct sockaddr_conn remote;
  memset(&remote, 0, sizeof remote);
  remote.sconn_family = AF_CONN;
  remote.sconn_port = htons(s->remote_port);
  remote.sconn_addr = GUINT_TO_POINTER(s->id);
  ActrSctp *prev = enter(s);
  int rc = usrsctp_connect(s->sock, (struct sockaddr *)&remote, sizeof remote);
  int err = errno;
  leave(prev);
  if (rc < 0 && err != EINPROGRESS && err != EALREADY && err != EISCONN) {
    g_message("[sctp %u] usrsctp_connect: %s", s->id, g_strerror(err));
    Item *it = g_new0(Item, 1);
    it->kind = ITEM_FAILED;
    it->reason = "connect failed";
    inbox_push(s, it);
    return;
  }
  if (!s->connected)
    s->assoc_id = usrsctp_getassocid(s->sock, (struct sockaddr *)&remote);
}

void
actr_sctp_receive_packet(ActrSctp *s, const guint8 *data, gsize len)
{
  g_return_if_fail(s != NULL);
  if (data == NULL || len == 0 || s->sock == NULL)
    return;
  ActrSctp *prev = enter(s);
  usrsctp_conninput(GUINT_TO_POINTER(s->id), data, len, 0);
  leave(prev);
  dispatch(s);
}

int
actr_sctp_open_channel(ActrSctp *s, const char *label, const ActrSctpReliability *reliability,
                       GError **error)
{
  g_return_val_if_fail(s != NULL, -1);
  g_return_val_if_fail(error == NULL || *error == NULL, -1);
  if (label == NULL)
    label = "";
  ActrSctpReliability reliable = {.ordered = TRUE, .max_retransmits = -1, .max_lifetime_ms = -1};
  if (reliability == NULL)
    reliability = &reliable;
  guint8 type;
  guint32 param;
  gsize label_len = strlen(label);
  if (label_len > ACTR_SCTP_MAX_LABEL || !g_utf8_validate(label, (gssize)label_len, NULL)) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_INVALID, "bad channel label");
    return -1;
  }
  if (!actr_dcep_type_from_reliability(reliability, &type, &param)) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_INVALID, "bad channel reliability");
    return -1;
  }
  if (s->closed || !s->connected) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_CLOSED, "association not up");
    return -1;
  }
  int sid = -1;
  for (guint i = s->dtls_client ? 0 : 1; i < s->max_streams; i += 2) {
    if (!g_hash_table_contains(s->channels, GUINT_TO_POINTER(i))) {
      sid = (int)i;
      break;
    }
  }
  if (sid < 0) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_FAILED, "no free stream id");
    return -1;
  }
  Channel *ch = g_new0(Channel, 1);
  ch->sid = (guint16)sid;
  ch->label = g_strdup(label);
  ch->rel = *reliability;
  g_hash_table_insert(s->channels, GUINT_TO_POINTER(sid), ch);
  gsize len;
  guint8 *open = actr_dcep_encode_open(type, DCEP_PRIORITY, param, label, label_len, NULL, 0, &len);
  send_or_queue(s, (guint16)sid, ACTR_DCEP_PPID, open, len, 0);
  g_free(open);
  return sid;
}

gboolean
actr_sctp_send(ActrSctp *s, guint16 stream_id, const guint8 *data, gsize len, gboolean binary,
               GError **error)
{
  g_return_val_if_fail(s != NULL, FALSE);
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  if (s->closed) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_CLOSED, "association closed");
    return FALSE;
  }
  Channel *ch = g_hash_table_lookup(s->channels, GUINT_TO_POINTER(stream_id));
  if (ch == NULL) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_INVALID, "no channel on stream %u",
                stream_id);
    return FALSE;
  }
  if (ch->out_reset_wanted || ch->in_reset) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_CLOSED, "channel %u closed", stream_id);
    return FALSE;
  }
  if (len > ACTR_SCTP_MAX_MESSAGE || (s->remote_max_message && len > s->remote_max_message)) {
    g_set_error(error, ACTR_SCTP_ERROR, ACTR_SCTP_ERROR_TOO_LARGE,
                "message of %zu bytes above the limit", len);
    return FALSE;
  }
  static const guint8 zero[1] = {0};
  guint32 ppid;
  if (len == 0)
    ppid = binary ? ACTR_DCEP_PPID_BINARY_EMPTY : ACTR_DCEP_PPID_STRING_EMPTY;
  else
    ppid = binary ? ACTR_DCEP_PPID_BINARY : ACTR_DCEP_PPID_STRING;
  send_or_queue(s, stream_id, ppid, len ? data : zero, len ? len : 1, len);
  note_buffered(s);
  return TRUE;
}

void
actr_sctp_close_channel(ActrSctp *s, guint16 stream_id)
{
  g_return_if_fail(s != NULL);
  if (s->closed)
    return;
  Channel *ch = g_hash_table_lookup(s->channels, GUINT_TO_POINTER(stream_id));
  if (ch == NULL || ch->out_reset_wanted)
    return;
  ch->out_reset_wanted = TRUE;
  enqueue(s, TRUE, stream_id, 0, NULL, 0, 0);
  drain(s);
}

gsize
actr_sctp_buffered_amount(const ActrSctp *s)
{
  g_return_val_if_fail(s != NULL, 0);
  return s->sendq_bytes + usrsctp_queued(s);
}

void
actr_sctp_set_buffered_low_threshold(ActrSctp *s, gsize threshold)
{
  g_return_if_fail(s != NULL);
  s->low_threshold = threshold;
  s->low_armed = actr_sctp_buffered_amount(s) > threshold;
}

void
actr_sctp_close(ActrSctp *s)
{
  g_return_if_fail(s != NULL);
  if (s->closed || s->sock == NULL)
    return;
  gboolean was_connected = s->connected;
  s->closed = TRUE;
  s->connected = FALSE;
  g_queue_clear_full(&s->sendq, (GDestroyNotify)outmsg_free);
  s->sendq_bytes = 0;
  if (!was_connected && !s->connect_called)
    return;
  struct sctp_sndinfo info;
  memset(&info, 0, sizeof info);
  info.snd_flags = was_connected ? SCTP_EOF : SCTP_ABORT;
  info.snd_assoc_id = s->assoc_id;
  static const guint8 none[1] = {0}; /* usrsctp_sendv refuses NULL data */
  ActrSctp *prev = enter(s);
  ssize_t n = usrsctp_sendv(s->sock, none, 0, NULL, 0, &info, (socklen_t)sizeof info,
                            SCTP_SENDV_SNDINFO, 0);
  int err = errno;
  leave(prev);
  if (n < 0)
    g_debug("[sctp %u] close: %s", s->id, g_strerror(err));
}

gboolean
actr_sctp_is_connected(const ActrSctp *s)
{
  g_return_val_if_fail(s != NULL, FALSE);
  return s->connected && !s->closed;
}

gboolean
actr_sctp_send_ppid(ActrSctp *s, guint16 stream_id, guint32 ppid, const guint8 *data, gsize len)
{
  g_return_val_if_fail(s != NULL && (data != NULL || len == 0), FALSE);
  if (s->closed || !s->connected)
    return FALSE;
  static const guint8 zero[1] = {0};
  send_or_queue(s, stream_id, ppid, len ? data : zero, len ? len : 1, len);
  return TRUE;
}
