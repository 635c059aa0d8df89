/* actr — the crash-safe message store.  Contract: include/actr/store.h;
 * design notes: docs/store.md.
 *
 * Layout on disk (one SQLite file, WAL):
 *   inbox  — one row per accepted, unfinished message.  Its request_id makes
 *            the row the dedup record in state "pending" as well, so an
 *            accept is ONE appended row.
 *   dedup  — one row per finished request_id (replied / no reply / dead-
 *            lettered) with the stored response; written by the ack.
 *   dlq    — dead letters.
 * All three are append-ordered rowid tables.  Lookups by request_id go
 * through an in-memory index rebuilt from the tables on open.
 *
 * Concurrency: every write is an Op.  A writer that finds the store idle
 * runs its op as a one-op batch on its own thread; otherwise the op joins
 * the pending list, and the committer thread runs the whole list as one
 * transaction (group commit).  db_lock serialises all use of the SQLite
 * connection and of the in-memory state; q_lock protects the pending list.
 * Lock order: q_lock is never taken while holding db_lock... except by
 * nobody: run_batch() takes only db_lock.
 *
 * In-memory state is changed eagerly while a batch runs.  If the batch
 * fails, it is rolled back, the memory state is rebuilt from the file (the
 * truth), and each op is retried in a transaction of its own, so one bad op
 * (or a full disk) fails only the ops that cannot be committed.
 */
#include <actr/store.h>

#include "digest-map.h"
#include "store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Written out: clang-format would split a hyphenated G_DEFINE_QUARK name. */
GQuark
actr_store_error_quark(void)
{
  return g_quark_from_static_string("actr-store-error-quark");
}

#define SCHEMA_VERSION       1 /* bump with a migration when the tables change */
#define DEFAULT_DEQUEUE      32
#define PRUNE_CHUNK          4096
#define ENVELOPE_CACHE_LIMIT (64u << 20) /* bytes of envelopes kept in memory */
#define IDLE_TICK_US         (G_USEC_PER_SEC)
/* How long ops wait for a scheduled loop flush before the committer thread
 * takes them over (a busy or blocked loop must not delay them further). */
#define FLUSH_GRACE_US 2000
/* While loop flushes keep coming, the committer re-checks every
 * FLUSH_GRACE_US on its own instead of being woken for each one (a wake
 * per message costs two context switches); after LINGER_US without a
 * flush it sleeps for IDLE_TICK_US and is woken again when needed. */
#define LINGER_US (10 * FLUSH_GRACE_US)

/* Values stored in the digest index: (id << 1) | kind. */
#define INDEX_PENDING        0 /* id = inbox message id */
#define INDEX_DONE           1 /* id = dedup seq */
#define INDEX_PACK(id, kind) (((id) << 1) | (kind))
#define INDEX_KIND(v)        ((v)&1)
#define INDEX_ID(v)          ((v) >> 1)

/* ---- small containers ----------------------------------------------------- */

/* Double-ended queue of message ids.  Entries may go stale (the message was
 * dead-lettered while queued); pops skip them. */
typedef struct {
  gint64 *items;
  gsize capacity, head, len;
} IdDeque;

static void
id_deque_grow(IdDeque *q)
{
  gsize cap = q->capacity ? q->capacity * 2 : 64;
  gint64 *items = g_new(gint64, cap);
  for (gsize i = 0; i < q->len; i++)
    items[i] = q->items[(q->head + i) % q->capacity];
  g_free(q->items);
  q->items = items;
  q->capacity = cap;
  q->head = 0;
}

static void
id_deque_push_back(IdDeque *q, gint64 id)
{
  if (q->len == q->capacity)
    id_deque_grow(q);
  q->items[(q->head + q->len) % q->capacity] = id;
  q->len++;
}

static void
id_deque_push_front(IdDeque *q, gint64 id)
{
  if (q->len == q->capacity)
    id_deque_grow(q);
  q->head = (q->head + q->capacity - 1) % q->capacity;
  q->items[q->head] = id;
  q->len++;
}

static gboolean
id_deque_pop_front(IdDeque *q, gint64 *id)
{
  if (q->len == 0)
    return FALSE;
  *id = q->items[q->head];
  q->head = (q->head + 1) % q->capacity;
  q->len--;
  return TRUE;
}

static void
id_deque_clear(IdDeque *q)
{
  g_free(q->items);
  memset(q, 0, sizeof *q);
}

/* FIFO of finished requests in dedup-row order, for pruning. */
typedef struct {
  gint64 seq;
  gint64 done_ns;
  ActrDigest digest;
} DoneEntry;

typedef struct {
  DoneEntry *items;
  gsize capacity, head, len;
} DoneRing;

static void
done_ring_push(DoneRing *r, const DoneEntry *e)
{
  if (r->len == r->capacity) {
    gsize cap = r->capacity ? r->capacity * 2 : 256;
    DoneEntry *items = g_new(DoneEntry, cap);
    for (gsize i = 0; i < r->len; i++)
      items[i] = r->items[(r->head + i) % r->capacity];
    g_free(r->items);
    r->items = items;
    r->capacity = cap;
    r->head = 0;
  }
  r->items[(r->head + r->len) % r->capacity] = *e;
  r->len++;
}

static const DoneEntry *
done_ring_peek(const DoneRing *r)
{
  return r->len ? &r->items[r->head] : NULL;
}

static void
done_ring_drop(DoneRing *r)
{
  r->head = (r->head + 1) % r->capacity;
  r->len--;
}

static void
done_ring_clear(DoneRing *r)
{
  g_free(r->items);
  memset(r, 0, sizeof *r);
}

/* ---- state ---------------------------------------------------------------- */

/* An unfinished message, mirrored in memory. */
typedef struct {
  gint64 id;
  ActrPriority priority;
  gboolean in_flight;
  gboolean recovered; /* was in flight when the last process died: delivered alone */
  guint attempts;
  guint redrives;
  gint64 enqueued_ns;
  char *request_id; /* "" when none */
  GBytes *sender;   /* cached; NULL = not cached or none */
  GBytes *envelope; /* cached; NULL = read from the file when needed */
} MemMessage;

typedef enum {
  OP_ENQUEUE,
  OP_DEQUEUE,
  OP_ACK,
  OP_REQUEUE,
  OP_DEAD_LETTER,
  OP_DLQ_REQUEUE,
  OP_DLQ_DELETE,
  OP_DLQ_PURGE,
  OP_PRUNE,
} OpKind;

typedef struct {
  OpKind kind;
  /* inputs */
  ActrPriority priority;
  char *request_id;      /* owned */
  GBytes *sender;        /* owned ref */
  GBytes *bytes;         /* owned ref: envelope (enqueue) or response (ack) */
  guint n_state;         /* ack: durable state writes applied with it */
  char **state_keys;     /* owned, [n_state] */
  GBytes **state_values; /* owned refs, [n_state]; NULL deletes */
  gint64 id;
  guint max;
  char *category; /* owned */
  char *message;  /* owned */
  /* outputs */
  ActrEnqueueResult result;
  GPtrArray *messages;
  gint64 out_id;
  guint64 count;
  GError *error;
  gboolean done;
  /* async completion */
  ActrStore *store;
  GMainContext *context;
  ActrStoreEnqueueCallback callback;
  gpointer user_data;
} Op;

struct _ActrStore {
  char *path;
  ActrStoreOptions options;
  int lock_fd;

  GMutex db_lock; /* the connection, the statements and everything below */
  sqlite3 *db;
  sqlite3_stmt *st_begin, *st_commit, *st_rollback, *st_set_next_id, *st_data_version;
  sqlite3_stmt *st_state_put, *st_state_delete;
  gint64 data_version; /* PRAGMA data_version when memory was last in sync */
  sqlite3_stmt *st_insert_inbox, *st_mark_in_flight, *st_mark_queued, *st_delete_inbox,
      *st_inbox_bytes, *st_insert_dedup, *st_dedup_by_seq, *st_delete_dedup_upto,
      *st_delete_dedup_seq, *st_insert_dlq, *st_dlq_full, *st_delete_dlq;
  GHashTable *messages; /* gint64 id -> MemMessage* (queued and in flight) */
  IdDeque queue_high, queue_normal;
  ActrDigestMap *index;
  DoneRing done;
  guint64 queued, in_flight;
  gint64 next_id;           /* next inbox message id */
  gint64 persisted_next_id; /* the value in meta 'next_id' */
  gint64 next_seq;          /* next dedup record seq */
  gsize cached_bytes;
  gboolean failing;         /* the last batch failed: log recovery once */
  GError *broken;           /* memory could not be rebuilt after a failure: every op fails */
  guint64 n_commits, n_ops; /* group-commit statistics (debug log at close) */

  GMutex q_lock; /* pending, busy, stopping */
  GCond q_cond;  /* wakes the committer */
  GCond done_cond;
  GQueue pending;
  gboolean busy;             /* a batch is running (inline or committer) */
  gboolean flush_scheduled;  /* an async submitter's loop will commit the pending ops */
  gint64 flush_scheduled_us; /* when it was scheduled (monotonic) */
  gint64 committer_until_us; /* the committer sleeps until then at most (q_lock) */
  gatomicrefcount ref;       /* close drops one; each scheduled flush source holds one */
  gboolean closed;           /* the file is closed; late flush sources do nothing */
  gboolean stopping;
  GThread *committer;

  GMutex observer_lock;
  ActrStoreDepthFunc observer;
  gpointer observer_data;
  GDestroyNotify observer_destroy;
};

static gint64
now_ns(void)
{
  return g_get_real_time() * 1000;
}

/* ---- errors --------------------------------------------------------------- */

static ActrStoreError
error_code_for(int rc)
{
  switch (rc & 0xff) {
  case SQLITE_FULL:
    return ACTR_STORE_ERROR_FULL;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return ACTR_STORE_ERROR_CORRUPT;
  case SQLITE_CANTOPEN:
  case SQLITE_IOERR:
    return ACTR_STORE_ERROR_IO;
  case SQLITE_READONLY:
    return ACTR_STORE_ERROR_READ_ONLY;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return ACTR_STORE_ERROR_LOCKED;
  default:
    return ACTR_STORE_ERROR_FAILED;
  }
}

static void
set_sql_error(ActrStore *store, int rc, GError **error)
{
  const char *msg = store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc);
  if ((rc & 0xff) == SQLITE_FULL)
    msg = "database or disk is full";
  g_set_error(error, ACTR_STORE_ERROR, error_code_for(rc), "%s: %s", store->path, msg);
}

/* ---- SQL helpers ---------------------------------------------------------- */

static gboolean
exec_sql(ActrStore *store, const char *sql, GError **error)
{
  int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    set_sql_error(store, rc, error);
    return FALSE;
  }
  return TRUE;
}

static gboolean
prepare(ActrStore *store, sqlite3_stmt **stmt, const char *sql, GError **error)
{
  int rc = sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
  if (rc != SQLITE_OK) {
    set_sql_error(store, rc, error);
    return FALSE;
  }
  return TRUE;
}

static void
bind_bytes(sqlite3_stmt *stmt, int idx, GBytes *bytes)
{
  if (bytes == NULL) {
    sqlite3_bind_null(stmt, idx);
    return;
  }
  gsize len;
  const void *data = g_bytes_get_data(bytes, &len);
  if (len == 0)
    sqlite3_bind_zeroblob(stmt, idx, 0);
  else
    sqlite3_bind_blob64(stmt, idx, data, len, SQLITE_STATIC);
}

static GBytes *
column_bytes(sqlite3_stmt *stmt, int col)
{
  if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
    return NULL;
  const void *data = sqlite3_column_blob(stmt, col);
  int len = sqlite3_column_bytes(stmt, col);
  return g_bytes_new(data, (gsize)len);
}

/* Binds a request_id: canonical UUIDs as 16-byte blobs (20 bytes less per
 * row on the hot path), anything else as text.  @rid must outlive the step. */
static void
bind_request_id(sqlite3_stmt *stmt, int idx, const char *rid, guint8 packed[16])
{
  if (actr_request_id_pack(rid, packed))
    sqlite3_bind_blob(stmt, idx, packed, 16, SQLITE_STATIC);
  else
    sqlite3_bind_text(stmt, idx, rid, -1, SQLITE_STATIC);
}

/* Like bind_request_id() for a request_id already parsed: @uuid is its
 * digest when it has UUID form (either case), else NULL. */
static void
bind_request_id_parsed(sqlite3_stmt *stmt, int idx, const char *rid, const ActrDigest *uuid,
                       guint8 packed[16])
{
  gboolean lowercase = uuid != NULL;
  for (const char *c = rid; lowercase && *c; c++)
    lowercase = !(*c >= 'A' && *c <= 'F');
  if (lowercase) {
    memcpy(packed, uuid->bytes, 16);
    sqlite3_bind_blob(stmt, idx, packed, 16, SQLITE_STATIC);
  } else {
    sqlite3_bind_text(stmt, idx, rid, -1, SQLITE_STATIC);
  }
}

/* Reads a request_id bound by bind_request_id() (transfer full). */
static char *
column_request_id(sqlite3_stmt *stmt, int col)
{
  if (sqlite3_column_type(stmt, col) == SQLITE_BLOB && sqlite3_column_bytes(stmt, col) == 16) {
    char text[37];
    actr_request_id_unpack(sqlite3_column_blob(stmt, col), text);
    return g_strdup(text);
  }
  const unsigned char *text = sqlite3_column_text(stmt, col);
  return g_strdup(text ? (const char *)text : "");
}

static char *
column_text(sqlite3_stmt *stmt, int col)
{
  const unsigned char *text = sqlite3_column_text(stmt, col);
  return g_strdup(text ? (const char *)text : "");
}

/* Runs a prepared statement that returns no rows, then resets it. */
static gboolean
step_done(ActrStore *store, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) {
    set_sql_error(store, rc, error);
    return FALSE;
  }
  return TRUE;
}

/* ---- memory state --------------------------------------------------------- */

static void
mem_message_free(gpointer data)
{
  MemMessage *m = data;
  g_free(m->request_id);
  g_clear_pointer(&m->sender, g_bytes_unref);
  g_clear_pointer(&m->envelope, g_bytes_unref);
  g_free(m);
}

static MemMessage *
lookup_message(ActrStore *store, gint64 id)
{
  return g_hash_table_lookup(store->messages, &id);
}

static void
forget_message(ActrStore *store, MemMessage *m)
{
  if (m->envelope)
    store->cached_bytes -= g_bytes_get_size(m->envelope);
  if (m->in_flight)
    store->in_flight--;
  else
    store->queued--;
  g_hash_table_remove(store->messages, &m->id);
}

static IdDeque *
queue_for(ActrStore *store, ActrPriority priority)
{
  return priority == ACTR_PRIORITY_HIGH ? &store->queue_high : &store->queue_normal;
}

/* Adds @m to the memory state.  @digest is its request digest if already
 * computed, else NULL. */
static void
remember_message(ActrStore *store, MemMessage *m, const ActrDigest *digest)
{
  g_hash_table_insert(store->messages, &m->id, m);
  if (m->in_flight) {
    store->in_flight++;
  } else {
    store->queued++;
    id_deque_push_back(queue_for(store, m->priority), m->id);
  }
  if (m->request_id[0] != '\0') {
    ActrDigest computed;
    if (digest == NULL) {
      actr_digest_from_request_id(m->request_id, &computed);
      digest = &computed;
    }
    actr_digest_map_insert(store->index, digest, INDEX_PACK(m->id, INDEX_PENDING));
  }
}

static void
remember_done(ActrStore *store, gint64 seq, const char *request_id, gint64 done_ns)
{
  DoneEntry e = {.seq = seq, .done_ns = done_ns};
  actr_digest_from_request_id(request_id, &e.digest);
  actr_digest_map_insert(store->index, &e.digest, INDEX_PACK(seq, INDEX_DONE));
  done_ring_push(&store->done, &e);
}

static void
clear_memory(ActrStore *store)
{
  g_hash_table_remove_all(store->messages);
  id_deque_clear(&store->queue_high);
  id_deque_clear(&store->queue_normal);
  actr_digest_map_clear(store->index);
  done_ring_clear(&store->done);
  store->queued = store->in_flight = 0;
  store->cached_bytes = 0;
}

/* Rebuilds the memory state from the file. */
/* @recovering: this is the open after a stop, so rows in flight become
 * queued "recovered" messages (delivered one at a time, see apply_dequeue);
 * otherwise (reload after a failed commit) the file's states are kept. */
static gboolean
load_memory(ActrStore *store, gboolean recovering, GError **error)
{
  clear_memory(store);
  /* Finished requests first, so that a pending message wins the index. */
  sqlite3_stmt *stmt = NULL;
  if (!prepare(store, &stmt, "SELECT seq, request_id, done_ns FROM dedup ORDER BY seq", error))
    return FALSE;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    g_autofree char *rid = column_request_id(stmt, 1);
    remember_done(store, sqlite3_column_int64(stmt, 0), rid, sqlite3_column_int64(stmt, 2));
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) {
    set_sql_error(store, rc, error);
    return FALSE;
  }
  if (!prepare(store, &stmt,
               "SELECT id, priority, state, attempts, redrives, enqueued_ns, request_id "
               "FROM inbox ORDER BY id",
               error))
    return FALSE;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    MemMessage *m = g_new0(MemMessage, 1);
    m->id = sqlite3_column_int64(stmt, 0);
    m->priority = sqlite3_column_int(stmt, 1) ? ACTR_PRIORITY_HIGH : ACTR_PRIORITY_NORMAL;
    m->in_flight = sqlite3_column_int(stmt, 2) != 0;
    if (recovering && m->in_flight) {
      m->in_flight = FALSE;
      m->recovered = TRUE;
    }
    m->attempts = (guint)sqlite3_column_int(stmt, 3);
    m->redrives = (guint)sqlite3_column_int(stmt, 4);
    m->enqueued_ns = sqlite3_column_int64(stmt, 5);
    m->request_id = column_request_id(stmt, 6);
    remember_message(store, m, NULL);
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) {
    set_sql_error(store, rc, error);
    return FALSE;
  }
  /* Ids only grow, also across restarts: above every id still referenced
   * and above the persisted high-water mark. */
  if (!prepare(store, &stmt,
               "SELECT max(coalesce((SELECT max(id) FROM inbox), 0),"
               " coalesce((SELECT max(message_id) FROM dedup), 0),"
               " coalesce((SELECT max(original_message_id) FROM dlq), 0),"
               " coalesce((SELECT value FROM meta WHERE key = 'next_id'), 1) - 1),"
               " coalesce((SELECT max(seq) FROM dedup), 0)",
               error))
    return FALSE;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    store->next_id = MAX(store->next_id, sqlite3_column_int64(stmt, 0) + 1);
    store->persisted_next_id = store->next_id;
    store->next_seq = MAX(store->next_seq, sqlite3_column_int64(stmt, 1) + 1);
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) {
    set_sql_error(store, rc, error);
    return FALSE;
  }
  return TRUE;
}

/* Reads the envelope and sender of inbox row @id. */
static gboolean
read_inbox_bytes(ActrStore *store, gint64 id, GBytes **envelope, GBytes **sender, GError **error)
{
  sqlite3_stmt *st = store->st_inbox_bytes;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *envelope = column_bytes(st, 0);
    *sender = column_bytes(st, 1);
    if (*envelope == NULL)
      *envelope = g_bytes_new(NULL, 0);
  }
  sqlite3_reset(st);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc == SQLITE_DONE)
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_CORRUPT,
                "%s: inbox row %" G_GINT64_FORMAT " vanished", store->path, id);
  else
    set_sql_error(store, rc, error);
  return FALSE;
}

/* ---- operations (run inside a transaction, under db_lock) ----------------- */

/* Records request @m as done with @completion; returns FALSE on SQL error. */
static gboolean
record_done(ActrStore *store, const MemMessage *m, ActrCompletion completion, GBytes *response,
            GError **error)
{
  if (m->request_id[0] == '\0')
    return TRUE;
  gint64 done_ns = now_ns();
  sqlite3_stmt *st = store->st_insert_dedup;
  guint8 packed[16];
  bind_request_id(st, 1, m->request_id, packed);
  bind_bytes(st, 2, m->sender);
  sqlite3_bind_int(st, 3, completion);
  bind_bytes(st, 4, completion == ACTR_COMPLETION_REPLIED ? response : NULL);
  sqlite3_bind_int64(st, 5, m->enqueued_ns);
  sqlite3_bind_int64(st, 6, done_ns);
  gint64 seq = store->next_seq++;
  sqlite3_bind_int64(st, 7, seq);
  sqlite3_bind_int64(st, 8, m->id);
  if (!step_done(store, st, error))
    return FALSE;
  remember_done(store, seq, m->request_id, done_ns);
  return TRUE;
}

static gboolean
apply_enqueue(ActrStore *store, Op *op, GError **error)
{
  ActrDigest digest;
  gboolean have_digest = FALSE, is_uuid = FALSE;
  if (op->request_id[0] != '\0') {
    gint64 value;
    is_uuid = actr_digest_from_request_id(op->request_id, &digest);
    have_digest = TRUE;
    if (actr_digest_map_lookup(store->index, &digest, &value)) {
      if (INDEX_KIND(value) == INDEX_PENDING) {
        op->result.outcome = ACTR_ENQUEUE_DUPLICATE_PENDING;
        op->result.id = INDEX_ID(value);
        return TRUE;
      }
      sqlite3_stmt *st = store->st_dedup_by_seq;
      sqlite3_bind_int64(st, 1, INDEX_ID(value));
      int rc = sqlite3_step(st);
      if (rc == SQLITE_ROW) {
        op->result.outcome = ACTR_ENQUEUE_DUPLICATE_DONE;
        op->result.completion = (ActrCompletion)sqlite3_column_int(st, 0);
        op->result.response = column_bytes(st, 1);
        if (op->result.completion == ACTR_COMPLETION_REPLIED && op->result.response == NULL)
          op->result.response = g_bytes_new(NULL, 0);
      }
      sqlite3_reset(st);
      if (rc == SQLITE_ROW)
        return TRUE;
      if (rc != SQLITE_DONE) {
        set_sql_error(store, rc, error);
        return FALSE;
      }
      /* The dedup row was pruned under us: accept as new. */
      actr_digest_map_remove(store->index, &digest);
    }
  }

  gint64 enqueued_ns = now_ns();
  sqlite3_stmt *st = store->st_insert_inbox;
  sqlite3_bind_int(st, 1, op->priority);
  sqlite3_bind_int64(st, 2, enqueued_ns);
  guint8 packed[16];
  bind_request_id_parsed(st, 3, op->request_id, is_uuid ? &digest : NULL, packed);
  bind_bytes(st, 4, op->sender);
  bind_bytes(st, 5, op->bytes);
  sqlite3_bind_int(st, 6, 0);
  gint64 id = store->next_id++;
  sqlite3_bind_int64(st, 7, id);
  if (!step_done(store, st, error))
    return FALSE;

  MemMessage *m = g_new0(MemMessage, 1);
  m->id = id;
  m->priority = op->priority;
  m->enqueued_ns = enqueued_ns;
  m->request_id = g_strdup(op->request_id); /* the op keeps its own: a failed batch retries it */
  if (store->cached_bytes + g_bytes_get_size(op->bytes) <= ENVELOPE_CACHE_LIMIT) {
    m->envelope = g_bytes_ref(op->bytes);
    m->sender = op->sender ? g_bytes_ref(op->sender) : NULL;
    store->cached_bytes += g_bytes_get_size(op->bytes);
  }
  remember_message(store, m, have_digest ? &digest : NULL);
  op->result.outcome = ACTR_ENQUEUE_ACCEPTED;
  op->result.id = m->id;
  return TRUE;
}

static gboolean move_to_dlq(ActrStore *store, MemMessage *m, const char *category,
                            const char *message, gint64 *dlq_id, GError **error);

static ActrStoreMessage *
message_copy_out(const MemMessage *m, GBytes *envelope, GBytes *sender)
{
  ActrStoreMessage *out = g_new0(ActrStoreMessage, 1);
  out->id = m->id;
  out->priority = m->priority;
  out->in_flight = m->in_flight;
  out->attempts = m->attempts;
  out->enqueued_ns = m->enqueued_ns;
  out->request_id = g_strdup(m->request_id);
  out->sender = sender;
  out->envelope = envelope;
  out->envelope_size = envelope ? g_bytes_get_size(envelope) : 0;
  return out;
}

static gboolean
apply_dequeue(ActrStore *store, Op *op, GError **error)
{
  guint max = op->max ? op->max : DEFAULT_DEQUEUE;
  op->messages = g_ptr_array_new_with_free_func((GDestroyNotify)actr_store_message_free);
  IdDeque *queues[] = {&store->queue_high, &store->queue_normal};
  for (guint q = 0; q < G_N_ELEMENTS(queues) && op->messages->len < max;) {
    gint64 id;
    if (!id_deque_pop_front(queues[q], &id)) {
      q++;
      continue;
    }
    MemMessage *m = lookup_message(store, id);
    if (m == NULL || m->in_flight)
      continue; /* stale entry */
    if (m->recovered && op->messages->len > 0) {
      id_deque_push_front(queues[q], id); /* next call delivers it alone */
      break;
    }
    if (m->attempts >= store->options.max_delivery_attempts) {
      g_autofree char *why =
          g_strdup_printf("delivery failed %u times without an ack", m->attempts);
      if (!move_to_dlq(store, m, "max_attempts", why, NULL, error))
        return FALSE;
      g_message("%s: message %" G_GINT64_FORMAT " moved to the dead-letter queue: %s", store->path,
                id, why);
      continue;
    }
    sqlite3_bind_int64(store->st_mark_in_flight, 1, id);
    if (!step_done(store, store->st_mark_in_flight, error))
      return FALSE;
    GBytes *envelope = m->envelope ? g_bytes_ref(m->envelope) : NULL;
    GBytes *sender = m->sender ? g_bytes_ref(m->sender) : NULL;
    if (envelope == NULL && !read_inbox_bytes(store, id, &envelope, &sender, error))
      return FALSE;
    m->in_flight = TRUE;
    m->attempts++;
    store->queued--;
    store->in_flight++;
    g_ptr_array_add(op->messages, message_copy_out(m, envelope, sender));
    if (m->recovered) {
      m->recovered = FALSE;
      break; /* a message that was in flight at a crash is delivered alone */
    }
  }
  return TRUE;
}

static MemMessage *
find_for_op(ActrStore *store, gint64 id, gboolean need_in_flight, GError **error)
{
  MemMessage *m = lookup_message(store, id);
  if (m == NULL) {
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND,
                "%s: no inbox message %" G_GINT64_FORMAT, store->path, id);
    return NULL;
  }
  if (need_in_flight && !m->in_flight) {
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_INVALID,
                "%s: message %" G_GINT64_FORMAT " is not in flight", store->path, id);
    return NULL;
  }
  return m;
}

static gboolean
apply_ack(ActrStore *store, Op *op, GError **error)
{
  MemMessage *m = find_for_op(store, op->id, TRUE, &op->error);
  if (m == NULL)
    return TRUE; /* logical failure of this op only */
  sqlite3_bind_int64(store->st_delete_inbox, 1, m->id);
  if (!step_done(store, store->st_delete_inbox, error))
    return FALSE;
  ActrCompletion completion = op->bytes ? ACTR_COMPLETION_REPLIED : ACTR_COMPLETION_NO_REPLY;
  if (!record_done(store, m, completion, op->bytes, error))
    return FALSE;
  /* The workload's state changes commit with the ack and the response:
   * all durable together, or none (a crash before the commit redelivers
   * the request and its handler runs again on the old state). */
  for (guint i = 0; i < op->n_state; i++) {
    sqlite3_stmt *st = op->state_values[i] ? store->st_state_put : store->st_state_delete;
    sqlite3_bind_text(st, 1, op->state_keys[i], -1, SQLITE_STATIC);
    if (op->state_values[i])
      bind_bytes(st, 2, op->state_values[i]);
    if (!step_done(store, st, error))
      return FALSE;
  }
  forget_message(store, m);
  return TRUE;
}

static gboolean
apply_requeue(ActrStore *store, Op *op, GError **error)
{
  MemMessage *m = find_for_op(store, op->id, TRUE, &op->error);
  if (m == NULL)
    return TRUE;
  sqlite3_bind_int64(store->st_mark_queued, 1, m->id);
  if (!step_done(store, store->st_mark_queued, error))
    return FALSE;
  m->in_flight = FALSE;
  if (m->attempts > 0)
    m->attempts--; /* it was not handled: the delivery does not count */
  store->in_flight--;
  store->queued++;
  id_deque_push_front(queue_for(store, m->priority), m->id);
  return TRUE;
}

static gboolean
move_to_dlq(ActrStore *store, MemMessage *m, const char *category, const char *message,
            gint64 *dlq_id, GError **error)
{
  g_autoptr(GBytes) envelope = NULL;
  g_autoptr(GBytes) sender = NULL;
  if (m->envelope) {
    envelope = g_bytes_ref(m->envelope);
    sender = m->sender ? g_bytes_ref(m->sender) : NULL;
  } else if (!read_inbox_bytes(store, m->id, &envelope, &sender, error)) {
    return FALSE;
  }
  g_autofree char *trace_id = g_strdup_printf("mailbox-%" G_GINT64_FORMAT, m->id);
  sqlite3_stmt *st = store->st_insert_dlq;
  sqlite3_bind_int64(st, 1, m->id);
  guint8 packed[16];
  bind_request_id(st, 2, m->request_id, packed);
  bind_bytes(st, 3, sender);
  bind_bytes(st, 4, envelope);
  sqlite3_bind_int(st, 5, m->priority);
  sqlite3_bind_text(st, 6, category, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 7, message, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 8, trace_id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 9, (int)m->attempts);
  sqlite3_bind_int64(st, 10, m->enqueued_ns);
  sqlite3_bind_int64(st, 11, now_ns());
  sqlite3_bind_int(st, 12, (int)m->redrives);
  /* A redriven message re-entered the inbox at its enqueue time. */
  if (m->redrives > 0)
    sqlite3_bind_int64(st, 13, m->enqueued_ns);
  else
    sqlite3_bind_null(st, 13);
  if (!step_done(store, st, error))
    return FALSE;
  if (dlq_id)
    *dlq_id = sqlite3_last_insert_rowid(store->db);
  sqlite3_bind_int64(store->st_delete_inbox, 1, m->id);
  if (!step_done(store, store->st_delete_inbox, error))
    return FALSE;
  m->sender = m->sender ? m->sender : g_steal_pointer(&sender);
  if (!record_done(store, m, ACTR_COMPLETION_DEAD_LETTERED, NULL, error))
    return FALSE;
  forget_message(store, m);
  return TRUE;
}

static gboolean
apply_dead_letter(ActrStore *store, Op *op, GError **error)
{
  MemMessage *m = find_for_op(store, op->id, FALSE, &op->error);
  if (m == NULL)
    return TRUE;
  g_message("%s: message %" G_GINT64_FORMAT " moved to the dead-letter queue (%s)", store->path,
            op->id, op->category);
  return move_to_dlq(store, m, op->category, op->message, &op->out_id, error);
}

static gboolean
apply_dlq_requeue(ActrStore *store, Op *op, GError **error)
{
  sqlite3_stmt *st = store->st_dlq_full;
  sqlite3_bind_int64(st, 1, op->id);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
      set_sql_error(store, rc, error);
      return FALSE;
    }
    g_set_error(&op->error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND,
                "%s: no dead letter %" G_GINT64_FORMAT, store->path, op->id);
    return TRUE;
  }
  /* Columns: see st_dlq_full. */
  MemMessage *m = g_new0(MemMessage, 1);
  m->request_id = column_request_id(st, 2);
  m->sender = column_bytes(st, 3);
  g_autoptr(GBytes) envelope = column_bytes(st, 4);
  m->priority = sqlite3_column_int(st, 5) ? ACTR_PRIORITY_HIGH : ACTR_PRIORITY_NORMAL;
  m->redrives = (guint)sqlite3_column_int(st, 13) + 1;
  sqlite3_reset(st);
  if (envelope == NULL)
    envelope = g_bytes_new(NULL, 0);

  /* The request is pending again: drop its dead-lettered dedup record.  If
   * the caller already retried it (pending as another message), refuse:
   * one request_id must never be in the inbox twice. */
  if (m->request_id[0] != '\0') {
    ActrDigest digest;
    gint64 value;
    actr_digest_from_request_id(m->request_id, &digest);
    gboolean known = actr_digest_map_lookup(store->index, &digest, &value);
    if (known && INDEX_KIND(value) == INDEX_PENDING) {
      g_set_error(&op->error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_INVALID,
                  "%s: request %s of dead letter %" G_GINT64_FORMAT
                  " is already pending as message %" G_GINT64_FORMAT,
                  store->path, m->request_id, op->id, INDEX_ID(value));
      mem_message_free(m);
      return TRUE;
    }
    if (known && INDEX_KIND(value) == INDEX_DONE) {
      sqlite3_bind_int64(store->st_delete_dedup_seq, 1, INDEX_ID(value));
      if (!step_done(store, store->st_delete_dedup_seq, error)) {
        mem_message_free(m);
        return FALSE;
      }
      actr_digest_map_remove(store->index, &digest);
    }
  }
  m->enqueued_ns = now_ns();
  sqlite3_stmt *ins = store->st_insert_inbox;
  sqlite3_bind_int(ins, 1, m->priority);
  sqlite3_bind_int64(ins, 2, m->enqueued_ns);
  guint8 packed[16];
  bind_request_id(ins, 3, m->request_id, packed);
  bind_bytes(ins, 4, m->sender);
  bind_bytes(ins, 5, envelope);
  sqlite3_bind_int(ins, 6, (int)m->redrives);
  m->id = store->next_id++;
  sqlite3_bind_int64(ins, 7, m->id);
  if (!step_done(store, ins, error)) {
    mem_message_free(m);
    return FALSE;
  }
  sqlite3_bind_int64(store->st_delete_dlq, 1, op->id);
  if (!step_done(store, store->st_delete_dlq, error)) {
    mem_message_free(m);
    return FALSE;
  }
  g_clear_pointer(&m->sender, g_bytes_unref); /* read it from the file when needed */
  remember_message(store, m, NULL);
  op->out_id = m->id;
  return TRUE;
}

static gboolean
apply_dlq_delete(ActrStore *store, Op *op, GError **error)
{
  sqlite3_bind_int64(store->st_delete_dlq, 1, op->id);
  if (!step_done(store, store->st_delete_dlq, error))
    return FALSE;
  if (sqlite3_changes(store->db) == 0)
    g_set_error(&op->error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND,
                "%s: no dead letter %" G_GINT64_FORMAT, store->path, op->id);
  return TRUE;
}

static gboolean
apply_dlq_purge(ActrStore *store, Op *op, GError **error)
{
  if (!exec_sql(store, "DELETE FROM dlq", error))
    return FALSE;
  op->count = (guint64)sqlite3_changes64(store->db);
  return TRUE;
}

static gboolean
prune_needed(ActrStore *store)
{
  const DoneEntry *head = done_ring_peek(&store->done);
  if (head == NULL)
    return FALSE;
  gint64 cutoff = now_ns() - (gint64)store->options.dedup_ttl_ms * 1000000;
  return store->done.len > store->options.dedup_max_entries || head->done_ns <= cutoff;
}

/* Prunes at most PRUNE_CHUNK expired or surplus dedup records. */
static gboolean
prune_chunk(ActrStore *store, guint64 *removed, GError **error)
{
  gint64 cutoff = now_ns() - (gint64)store->options.dedup_ttl_ms * 1000000;
  gint64 max_seq = -1;
  guint64 n = 0;
  const DoneEntry *e;
  while (n < PRUNE_CHUNK && (e = done_ring_peek(&store->done)) != NULL &&
         (store->done.len > store->options.dedup_max_entries || e->done_ns <= cutoff)) {
    gint64 value;
    /* Only drop the index entry if it still refers to this record. */
    if (actr_digest_map_lookup(store->index, &e->digest, &value) &&
        value == INDEX_PACK(e->seq, INDEX_DONE))
      actr_digest_map_remove(store->index, &e->digest);
    max_seq = e->seq;
    done_ring_drop(&store->done);
    n++;
  }
  if (max_seq >= 0) {
    sqlite3_bind_int64(store->st_delete_dedup_upto, 1, max_seq);
    if (!step_done(store, store->st_delete_dedup_upto, error))
      return FALSE;
  }
  *removed += n;
  return TRUE;
}

static gboolean
apply_op(ActrStore *store, Op *op, GError **error)
{
  switch (op->kind) {
  case OP_ENQUEUE:
    return apply_enqueue(store, op, error);
  case OP_DEQUEUE:
    return apply_dequeue(store, op, error);
  case OP_ACK:
    return apply_ack(store, op, error);
  case OP_REQUEUE:
    return apply_requeue(store, op, error);
  case OP_DEAD_LETTER:
    return apply_dead_letter(store, op, error);
  case OP_DLQ_REQUEUE:
    return apply_dlq_requeue(store, op, error);
  case OP_DLQ_DELETE:
    return apply_dlq_delete(store, op, error);
  case OP_DLQ_PURGE:
    return apply_dlq_purge(store, op, error);
  case OP_PRUNE:
    while (prune_needed(store)) {
      if (!prune_chunk(store, &op->count, error))
        return FALSE;
    }
    return TRUE;
  }
  g_return_val_if_reached(FALSE);
}

static void
op_reset_outputs(Op *op)
{
  actr_enqueue_result_clear(&op->result);
  g_clear_pointer(&op->messages, g_ptr_array_unref);
  g_clear_error(&op->error);
  op->out_id = 0;
  op->count = 0;
}

/* Rebuilds the memory state if another connection (an `actr dlq` command,
 * or the node while this is an admin store) committed since we last looked.
 * db_lock held. */
static gboolean
sync_with_file(ActrStore *store, GError **error)
{
  sqlite3_stmt *st = store->st_data_version;
  int rc = sqlite3_step(st);
  gint64 version = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) {
    set_sql_error(store, rc, error);
    return FALSE;
  }
  if (version == store->data_version)
    return TRUE;
  if (store->data_version != 0)
    g_debug("%s: changed by another connection; reloading", store->path);
  store->data_version = version;
  return load_memory(store, FALSE, error);
}

/* Runs @ops in one transaction.  On a storage failure the transaction is
 * rolled back, memory is reloaded from the file, and (for several ops) each
 * op is retried alone so that only the failing ones fail.  Every op ends
 * with outputs or op->error set.  Takes db_lock. */
static void
run_batch(ActrStore *store, Op **ops, guint n)
{
  g_mutex_lock(&store->db_lock);
  if (store->broken) {
    for (guint i = 0; i < n; i++)
      ops[i]->error = g_error_copy(store->broken);
    g_mutex_unlock(&store->db_lock);
    return;
  }
  guint64 queued_before = store->queued;
  GError *error = NULL;
  if (!sync_with_file(store, &error)) {
    for (guint i = 0; i < n; i++)
      ops[i]->error = g_error_copy(error);
    g_mutex_unlock(&store->db_lock);
    g_error_free(error);
    return;
  }
  gboolean ok = step_done(store, store->st_begin, &error);
  for (guint i = 0; ok && i < n; i++)
    ok = apply_op(store, ops[i], &error);
  if (ok && prune_needed(store)) {
    guint64 removed = 0;
    ok = prune_chunk(store, &removed, &error); /* piggyback: no extra commit */
  }
  gint64 next_id = store->next_id;
  if (ok && next_id != store->persisted_next_id) {
    sqlite3_bind_int64(store->st_set_next_id, 1, next_id);
    ok = step_done(store, store->st_set_next_id, &error);
  }
  if (ok)
    ok = step_done(store, store->st_commit, &error);
  store->n_commits++;
  store->n_ops += n;

  if (ok) {
    store->persisted_next_id = next_id;
    if (store->failing) {
      g_message("%s: storage writable again", store->path);
      store->failing = FALSE;
    }
  } else {
    if (!sqlite3_get_autocommit(store->db)) {
      sqlite3_step(store->st_rollback);
      sqlite3_reset(store->st_rollback);
    }
    if (!store->failing) {
      g_warning("%s", error->message); /* logged once until the store recovers */
      store->failing = TRUE;
    }
    /* The file is the truth: rebuild memory from it, once per failed batch. */
    GError *reload_error = NULL;
    if (!load_memory(store, FALSE, &reload_error)) {
      g_warning("%s: cannot reload state after a failed commit, refusing further operations "
                "until reopened: %s",
                store->path, reload_error->message);
      store->broken = reload_error;
    }
    /* A full disk or an I/O error fails every op alike: fail them all now.
     * Other errors may belong to one op: retry each alone. */
    ActrStoreError kind = (ActrStoreError)error->code;
    gboolean storage_level = kind == ACTR_STORE_ERROR_FULL || kind == ACTR_STORE_ERROR_IO ||
                             kind == ACTR_STORE_ERROR_READ_ONLY ||
                             kind == ACTR_STORE_ERROR_CORRUPT || kind == ACTR_STORE_ERROR_LOCKED;
    if (n > 1 && !storage_level && store->broken == NULL) {
      g_mutex_unlock(&store->db_lock);
      g_clear_error(&error);
      for (guint i = 0; i < n; i++) {
        op_reset_outputs(ops[i]);
        run_batch(store, &ops[i], 1);
      }
      return;
    }
    for (guint i = 0; i < n; i++) {
      op_reset_outputs(ops[i]);
      ops[i]->error = g_error_copy(error);
    }
  }
  guint64 queued_after = store->queued;
  g_mutex_unlock(&store->db_lock);
  g_clear_error(&error);

  if (queued_after != queued_before) {
    g_mutex_lock(&store->observer_lock);
    if (store->observer)
      store->observer(queued_after, store->observer_data);
    g_mutex_unlock(&store->observer_lock);
  }
}

/* ---- op submission and the committer thread ------------------------------- */

static Op *
op_new(ActrStore *store, OpKind kind)
{
  Op *op = g_new0(Op, 1);
  op->kind = kind;
  op->store = store;
  return op;
}

static void
op_free(gpointer data)
{
  Op *op = data;
  op_reset_outputs(op);
  g_free(op->request_id);
  g_clear_pointer(&op->sender, g_bytes_unref);
  g_clear_pointer(&op->bytes, g_bytes_unref);
  for (guint i = 0; i < op->n_state; i++) {
    g_free(op->state_keys[i]);
    g_clear_pointer(&op->state_values[i], g_bytes_unref);
  }
  g_free(op->state_keys);
  g_free(op->state_values);
  g_free(op->category);
  g_free(op->message);
  if (op->context)
    g_main_context_unref(op->context);
  g_free(op);
}

/* Completions of async ops bound for one context: one idle source (so one
 * wake-up of that thread) per group commit, however many ops it held. */
typedef struct {
  ActrStore *store; /* a reference: callbacks may run after actr_store_close() */
  GMainContext *context;
  GPtrArray *ops; /* Op*, freed with op_free */
} Completions;

static void store_unref(gpointer data);

static gboolean
completions_dispatch(gpointer data)
{
  Completions *c = data;
  for (guint i = 0; i < c->ops->len; i++) {
    Op *op = c->ops->pdata[i];
    op->callback(op->store, op->error ? NULL : &op->result, op->error, op->user_data);
  }
  return G_SOURCE_REMOVE;
}

static void
completions_free(gpointer data)
{
  Completions *c = data;
  g_ptr_array_unref(c->ops);
  store_unref(c->store);
  g_free(c);
}

static void
completions_attach(Completions *c)
{
  GSource *source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_callback(source, completions_dispatch, c, completions_free);
  g_source_set_static_name(source, "actr-store-completion");
  g_source_attach(source, c->context);
  g_source_unref(source);
}

static Completions *
completions_new(ActrStore *store, GMainContext *context)
{
  Completions *c = g_new0(Completions, 1);
  c->store = store;
  g_atomic_ref_count_inc(&store->ref);
  c->context = context;
  c->ops = g_ptr_array_new_with_free_func(op_free);
  return c;
}

/* Schedules the completion of one async op in its context (frees the op). */
static void
op_complete_async(Op *op)
{
  Completions *c = completions_new(op->store, op->context);
  g_ptr_array_add(c->ops, op);
  completions_attach(c);
}

/* Marks ops finished (q_lock held): sync waiters wake, async ops complete,
 * grouped by context. */
static void
finish_ops_locked(ActrStore *store, Op **ops, guint n)
{
  Completions *groups[8];
  guint n_groups = 0;
  for (guint i = 0; i < n; i++) {
    Op *op = ops[i];
    if (op->callback == NULL) {
      op->done = TRUE;
      continue;
    }
    guint g = 0;
    while (g < n_groups && groups[g]->context != op->context)
      g++;
    if (g == n_groups) {
      if (n_groups == G_N_ELEMENTS(groups)) {
        completions_attach(groups[--n_groups]); /* rare: many contexts in one batch */
        g = n_groups;
      }
      groups[n_groups++] = completions_new(store, op->context);
    }
    g_ptr_array_add(groups[g]->ops, op);
  }
  for (guint g = 0; g < n_groups; g++)
    completions_attach(groups[g]);
  g_cond_broadcast(&store->done_cond);
}

/* Takes up to max_batch pending ops (q_lock held, busy claimed). */
static GPtrArray *
take_pending_locked(ActrStore *store)
{
  GPtrArray *batch = g_ptr_array_new();
  while (batch->len < store->options.max_batch && !g_queue_is_empty(&store->pending))
    g_ptr_array_add(batch, g_queue_pop_head(&store->pending));
  return batch;
}

static gpointer
committer_main(gpointer data)
{
  ActrStore *store = data;
  g_mutex_lock(&store->q_lock);
  for (;;) {
    if (!store->busy && !g_queue_is_empty(&store->pending) && store->flush_scheduled &&
        !store->stopping) {
      /* A loop will commit these; step in only if it has not after the grace. */
      gint64 takeover = store->flush_scheduled_us + FLUSH_GRACE_US;
      if (g_get_monotonic_time() < takeover) {
        store->committer_until_us = takeover;
        g_cond_wait_until(&store->q_cond, &store->q_lock, takeover);
        store->committer_until_us = 0;
        continue;
      }
    }
    if (store->busy || g_queue_is_empty(&store->pending)) {
      if (store->stopping && g_queue_is_empty(&store->pending) && !store->busy)
        break;
      gint64 now = g_get_monotonic_time();
      gboolean lingering =
          store->flush_scheduled_us != 0 && now - store->flush_scheduled_us < LINGER_US;
      gint64 deadline = now + (lingering ? FLUSH_GRACE_US : IDLE_TICK_US);
      store->committer_until_us = deadline;
      gboolean signalled = g_cond_wait_until(&store->q_cond, &store->q_lock, deadline);
      store->committer_until_us = 0;
      if (!signalled && !lingering && !store->busy && g_queue_is_empty(&store->pending)) {
        /* Idle for a tick: prune expired dedup records in the background. */
        store->busy = TRUE;
        g_mutex_unlock(&store->q_lock);
        g_mutex_lock(&store->db_lock);
        guint64 queued_before = store->queued;
        g_autoptr(GError) sync_error = NULL;
        if (store->broken == NULL && !sync_with_file(store, &sync_error))
          g_debug("%s: %s", store->path, sync_error->message);
        guint64 queued_after = store->queued;
        gboolean needed = prune_needed(store);
        g_mutex_unlock(&store->db_lock);
        if (queued_after != queued_before) {
          g_mutex_lock(&store->observer_lock);
          if (store->observer)
            store->observer(queued_after, store->observer_data);
          g_mutex_unlock(&store->observer_lock);
        }
        if (needed) {
          Op *op = op_new(store, OP_PRUNE);
          run_batch(store, &op, 1);
          if (op->error)
            g_debug("background dedup prune failed: %s", op->error->message);
          op_free(op);
        }
        g_mutex_lock(&store->q_lock);
        store->busy = FALSE;
        g_cond_broadcast(&store->done_cond);
      }
      continue;
    }
    store->busy = TRUE;
    if (store->options.commit_delay_us > 0 &&
        g_queue_get_length(&store->pending) < store->options.max_batch) {
      g_mutex_unlock(&store->q_lock);
      g_usleep(store->options.commit_delay_us);
      g_mutex_lock(&store->q_lock);
    }
    GPtrArray *batch = take_pending_locked(store);
    g_mutex_unlock(&store->q_lock);

    run_batch(store, (Op **)batch->pdata, batch->len);

    g_mutex_lock(&store->q_lock);
    finish_ops_locked(store, (Op **)batch->pdata, batch->len);
    store->busy = FALSE;
    g_ptr_array_unref(batch);
  }
  g_mutex_unlock(&store->q_lock);
  return NULL;
}

/* Idle callback on an async submitter's own loop: commits everything pending
 * (what this loop and others submitted meanwhile) as one transaction on this
 * thread.  If another batch is running, its runner picks the ops up. */
static gboolean
flush_pending(gpointer data)
{
  ActrStore *store = data;
  g_mutex_lock(&store->q_lock);
  store->flush_scheduled = FALSE;
  if (store->closed || store->busy || g_queue_is_empty(&store->pending)) {
    g_mutex_unlock(&store->q_lock);
    return G_SOURCE_REMOVE;
  }
  store->busy = TRUE;
  GPtrArray *batch = take_pending_locked(store);
  g_mutex_unlock(&store->q_lock);

  run_batch(store, (Op **)batch->pdata, batch->len);

  g_mutex_lock(&store->q_lock);
  finish_ops_locked(store, (Op **)batch->pdata, batch->len);
  store->busy = FALSE;
  if (!g_queue_is_empty(&store->pending) || store->stopping)
    g_cond_signal(&store->q_cond);
  g_mutex_unlock(&store->q_lock);
  g_ptr_array_unref(batch);
  return G_SOURCE_REMOVE;
}

/* Runs @op to completion.
 * - Sync ops (no callback): run at once on this thread when the store is
 *   idle, else join the next group commit and wait for it.
 * - Async ops with @defer_to_loop: join the pending list; if nobody is
 *   committing, a flush is scheduled on the op's own context, so a burst
 *   submitted in one loop iteration commits as one transaction, on the loop
 *   thread, with no thread hop.
 * - Other async ops: the committer thread commits them. */
static void
submit(ActrStore *store, Op *op, gboolean defer_to_loop)
{
  g_mutex_lock(&store->q_lock);
  if (store->stopping) {
    g_mutex_unlock(&store->q_lock);
    g_set_error(&op->error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_INVALID, "%s: store is closing",
                store->path);
    if (op->callback)
      op_complete_async(op);
    return;
  }
  if (op->callback == NULL && !store->busy && g_queue_is_empty(&store->pending)) {
    store->busy = TRUE;
    g_mutex_unlock(&store->q_lock);
    run_batch(store, &op, 1);
    g_mutex_lock(&store->q_lock);
    store->busy = FALSE;
    if (!g_queue_is_empty(&store->pending) || store->stopping)
      g_cond_signal(&store->q_cond);
    g_cond_broadcast(&store->done_cond);
    g_mutex_unlock(&store->q_lock);
    return;
  }
  g_queue_push_tail(&store->pending, op);
  if (op->callback && defer_to_loop) {
    if (!store->busy && !store->flush_scheduled) {
      store->flush_scheduled = TRUE;
      store->flush_scheduled_us = g_get_monotonic_time();
      /* The committer takes over after FLUSH_GRACE_US; wake it only if it
       * would not look again by then on its own. */
      if (store->committer_until_us == 0 ||
          store->committer_until_us > store->flush_scheduled_us + FLUSH_GRACE_US)
        g_cond_signal(&store->q_cond);
      g_atomic_ref_count_inc(&store->ref);
      GSource *source = g_idle_source_new();
      /* DEFAULT, not an idle priority: a loop that always has DEFAULT work
       * ready would never run an idle-priority flush. */
      g_source_set_priority(source, G_PRIORITY_DEFAULT);
      g_source_set_callback(source, flush_pending, store, store_unref);
      g_source_set_static_name(source, "actr-store-flush");
      g_source_attach(source, op->context);
      g_source_unref(source);
    } else if (store->flush_scheduled &&
               g_get_monotonic_time() - store->flush_scheduled_us >= FLUSH_GRACE_US) {
      /* That loop has not flushed in time (blocked or flooded): the
       * committer must not wait for it, nor for its own idle tick. */
      g_cond_signal(&store->q_cond);
    }
    g_mutex_unlock(&store->q_lock);
    return;
  }
  g_cond_signal(&store->q_cond);
  if (op->callback == NULL) {
    while (!op->done)
      g_cond_wait(&store->done_cond, &store->q_lock);
  }
  g_mutex_unlock(&store->q_lock);
}

/* Writes need a writable store; an admin store allows DLQ maintenance only
 * (@dlq_op). */
static gboolean
check_writable_for(ActrStore *store, gboolean dlq_op, GError **error)
{
  if (store->options.read_only) {
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_READ_ONLY, "%s: store is open read-only",
                store->path);
    return FALSE;
  }
  if (store->options.admin && !dlq_op) {
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_INVALID,
                "%s: store is open for dead-letter maintenance only", store->path);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_writable(ActrStore *store, GError **error)
{
  return check_writable_for(store, FALSE, error);
}

/* ---- open / close --------------------------------------------------------- */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS inbox ("
    "  id INTEGER PRIMARY KEY,"           /* assigned by the store: monotonic, never reused */
    "  priority INTEGER NOT NULL,"        /* 0 normal, 1 high */
    "  state INTEGER NOT NULL DEFAULT 0," /* 0 queued, 1 in flight */
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  redrives INTEGER NOT NULL DEFAULT 0,"
    "  enqueued_ns INTEGER NOT NULL,"
    "  request_id NOT NULL," /* 16-byte blob for a canonical UUID, else text */
    "  sender BLOB,"
    "  envelope BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS dedup ("
    "  seq INTEGER PRIMARY KEY," /* assigned by the store: completion order */
    "  request_id NOT NULL,"
    "  message_id INTEGER NOT NULL," /* the inbox id the request had */
    "  sender BLOB,"
    "  completion INTEGER NOT NULL," /* ActrCompletion */
    "  response BLOB,"
    "  first_seen_ns INTEGER NOT NULL,"
    "  done_ns INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS dlq ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  original_message_id INTEGER,"
    "  request_id NOT NULL,"
    "  sender BLOB,"
    "  raw_bytes BLOB NOT NULL,"
    "  priority INTEGER NOT NULL,"
    "  error_category TEXT NOT NULL,"
    "  error_message TEXT NOT NULL,"
    "  trace_id TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  enqueued_ns INTEGER NOT NULL,"
    "  created_ns INTEGER NOT NULL,"
    "  redrive_attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_redrive_ns INTEGER,"
    "  context TEXT);"
    "CREATE INDEX IF NOT EXISTS dlq_category ON dlq(error_category, id);";

/* Store bookkeeping (created on every writable open, so version-1 files
 * from before it get it too).  key 'next_id': the next inbox message id, so
 * that ids are never reused even when every message was acked and pruned. */
static const char meta_sql[] =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    /* Durable workload state, written only together with an ack. */
    "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;";

static gboolean
prepare_statements(ActrStore *store, GError **error)
{
  return prepare(store, &store->st_begin, "BEGIN IMMEDIATE", error) &&
         prepare(store, &store->st_state_put,
                 "INSERT INTO state(key, value) VALUES (?1, ?2) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 error) &&
         prepare(store, &store->st_state_delete, "DELETE FROM state WHERE key = ?1", error) &&
         prepare(store, &store->st_data_version, "PRAGMA data_version", error) &&
         prepare(store, &store->st_set_next_id,
                 "INSERT INTO meta(key, value) VALUES ('next_id', ?1) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 error) &&
         prepare(store, &store->st_commit, "COMMIT", error) &&
         prepare(store, &store->st_rollback, "ROLLBACK", error) &&
         prepare(
             store, &store->st_insert_inbox,
             "INSERT INTO inbox(priority, enqueued_ns, request_id, sender, envelope, redrives, id) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
             error) &&
         prepare(store, &store->st_mark_in_flight,
                 "UPDATE inbox SET state = 1, attempts = attempts + 1 WHERE id = ?1", error) &&
         prepare(store, &store->st_mark_queued,
                 "UPDATE inbox SET state = 0, attempts = max(attempts - 1, 0) WHERE id = ?1",
                 error) &&
         prepare(store, &store->st_delete_inbox, "DELETE FROM inbox WHERE id = ?1", error) &&
         prepare(store, &store->st_inbox_bytes, "SELECT envelope, sender FROM inbox WHERE id = ?1",
                 error) &&
         prepare(store, &store->st_insert_dedup,
                 "INSERT INTO dedup(request_id, sender, completion, response, first_seen_ns, "
                 "done_ns, seq, message_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                 error) &&
         prepare(store, &store->st_dedup_by_seq,
                 "SELECT completion, response FROM dedup WHERE seq = ?1", error) &&
         prepare(store, &store->st_delete_dedup_upto, "DELETE FROM dedup WHERE seq <= ?1", error) &&
         prepare(store, &store->st_delete_dedup_seq, "DELETE FROM dedup WHERE seq = ?1", error) &&
         prepare(store, &store->st_insert_dlq,
                 "INSERT INTO dlq(original_message_id, request_id, sender, raw_bytes, priority, "
                 "error_category, error_message, trace_id, attempts, enqueued_ns, created_ns, "
                 "redrive_attempts, last_redrive_ns) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                 error) &&
         prepare(store, &store->st_dlq_full,
                 "SELECT id, original_message_id, request_id, sender, raw_bytes, priority, "
                 "error_category, error_message, trace_id, attempts, enqueued_ns, created_ns, "
                 "length(raw_bytes), redrive_attempts, last_redrive_ns FROM dlq WHERE id = ?1",
                 error) &&
         prepare(store, &store->st_delete_dlq, "DELETE FROM dlq WHERE id = ?1", error);
}

static void
finalize_statements(ActrStore *store)
{
  sqlite3_stmt **all[] = {
      &store->st_begin,
      &store->st_state_put,
      &store->st_state_delete,
      &store->st_set_next_id,
      &store->st_data_version,
      &store->st_commit,
      &store->st_rollback,
      &store->st_insert_inbox,
      &store->st_mark_in_flight,
      &store->st_mark_queued,
      &store->st_delete_inbox,
      &store->st_inbox_bytes,
      &store->st_insert_dedup,
      &store->st_dedup_by_seq,
      &store->st_delete_dedup_upto,
      &store->st_delete_dedup_seq,
      &store->st_insert_dlq,
      &store->st_dlq_full,
      &store->st_delete_dlq,
  };
  for (guint i = 0; i < G_N_ELEMENTS(all); i++) {
    sqlite3_finalize(*all[i]);
    *all[i] = NULL;
  }
}

/* Checks that the file is an actr mailbox we can read (*is_new = FALSE) or an
 * empty new file (*is_new = TRUE).  Reads only: a foreign file is refused
 * before anything (even a pragma) changes it. */
static gboolean
check_schema(ActrStore *store, gboolean *is_new, GError **error)
{
  *is_new = FALSE;
  sqlite3_stmt *stmt = NULL;
  if (!prepare(store, &stmt, "PRAGMA user_version", error))
    return FALSE;
  int rc = sqlite3_step(stmt);
  int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) {
    set_sql_error(store, rc, error);
    return FALSE;
  }
  if (version > SCHEMA_VERSION) {
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_SCHEMA,
                "%s: written by a newer actr (schema %d, this build reads up to %d)", store->path,
                version, SCHEMA_VERSION);
    return FALSE;
  }
  if (version == SCHEMA_VERSION)
    return TRUE;
  /* Version 0: a new file, or somebody else's database.  Never add our
   * tables to a file that already has tables of its own. */
  if (!prepare(store, &stmt, "SELECT count(*) FROM sqlite_schema", error))
    return FALSE;
  rc = sqlite3_step(stmt);
  int tables = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) {
    set_sql_error(store, rc, error);
    return FALSE;
  }
  if (store->options.read_only || tables != 0) {
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_CORRUPT,
                "%s: not an actr mailbox database", store->path);
    return FALSE;
  }
  *is_new = TRUE;
  return TRUE;
}

/* Creates the tables of a new file (after the pragmas are set). */
static gboolean
create_schema(ActrStore *store, GError **error)
{
  g_autofree char *sql = g_strdup_printf("BEGIN IMMEDIATE; %s PRAGMA user_version = %d; COMMIT;",
                                         schema_sql, SCHEMA_VERSION);
  if (!exec_sql(store, sql, error)) {
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return FALSE;
  }
  return TRUE;
}

/* Takes the single-writer lock: flock on "<path>.lock".  Never on the
 * database file itself: closing any descriptor of that file drops every POSIX
 * lock this process holds on it, including SQLite's own, and an outside
 * SQLite client could then checkpoint and delete a live WAL. */
static gboolean
take_writer_lock(ActrStore *store, GError **error)
{
  g_autofree char *lock_path = g_strconcat(store->path, ".lock", NULL);
  store->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (store->lock_fd < 0) {
    int saved = errno;
    g_set_error(error, ACTR_STORE_ERROR,
                saved == EROFS || saved == EACCES || saved == EPERM ? ACTR_STORE_ERROR_READ_ONLY
                                                                    : ACTR_STORE_ERROR_IO,
                "%s: cannot create the lock file %s: %s", store->path, lock_path,
                g_strerror(saved));
    return FALSE;
  }
  if (flock(store->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    if (saved == EWOULDBLOCK)
      g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_LOCKED,
                  "%s: in use by another process (a running node holds this mailbox)", store->path);
    else
      g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_IO, "%s: cannot lock: %s", store->path,
                  g_strerror(saved));
    return FALSE;
  }
  return TRUE;
}

void
actr_store_options_init(ActrStoreOptions *options)
{
  g_return_if_fail(options != NULL);
  memset(options, 0, sizeof *options);
  options->durability = ACTR_STORE_DURABILITY_NORMAL;
  options->max_delivery_attempts = 3;
  options->dedup_ttl_ms = 600000;
  options->dedup_max_entries = 100000;
  options->max_batch = 1024;
  options->commit_delay_us = 0;
  options->read_only = FALSE;
}

/* Closes the file and releases the lock; memory stays until the last ref. */
static void
store_release(ActrStore *store)
{
  finalize_statements(store);
  if (store->db)
    sqlite3_close_v2(store->db);
  store->db = NULL;
  if (store->lock_fd >= 0)
    close(store->lock_fd);
  store->lock_fd = -1;
}

static void
store_free(ActrStore *store)
{
  store_release(store);
  if (store->messages)
    g_hash_table_unref(store->messages);
  id_deque_clear(&store->queue_high);
  id_deque_clear(&store->queue_normal);
  actr_digest_map_free(store->index);
  done_ring_clear(&store->done);
  if (store->observer_destroy)
    store->observer_destroy(store->observer_data);
  g_clear_error(&store->broken);
  g_mutex_clear(&store->db_lock);
  g_mutex_clear(&store->q_lock);
  g_mutex_clear(&store->observer_lock);
  g_cond_clear(&store->q_cond);
  g_cond_clear(&store->done_cond);
  g_free(store->path);
  g_free(store);
}

static void
store_unref(gpointer data)
{
  ActrStore *store = data;
  if (g_atomic_ref_count_dec(&store->ref))
    store_free(store);
}

ActrStore *
actr_store_open(const char *path, const ActrStoreOptions *options, GError **error)
{
  g_return_val_if_fail(path != NULL && *path != '\0', NULL);
  ActrStore *store = g_new0(ActrStore, 1);
  g_atomic_ref_count_init(&store->ref);
  store->path = g_strdup(path);
  store->lock_fd = -1;
  if (options)
    store->options = *options;
  else
    actr_store_options_init(&store->options);
  if (store->options.max_delivery_attempts == 0)
    store->options.max_delivery_attempts = 1;
  if (store->options.max_batch == 0)
    store->options.max_batch = 1;
  /* Dedup bounds: at least 1 record for at least 1 ms, at most ~10 years. */
  store->options.dedup_max_entries = MAX(store->options.dedup_max_entries, 1);
  store->options.dedup_ttl_ms =
      CLAMP(store->options.dedup_ttl_ms, 1, G_GUINT64_CONSTANT(315360000000));
  g_mutex_init(&store->db_lock);
  g_mutex_init(&store->q_lock);
  g_mutex_init(&store->observer_lock);
  g_cond_init(&store->q_cond);
  g_cond_init(&store->done_cond);
  g_queue_init(&store->pending);
  store->messages = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, mem_message_free);
  store->index = actr_digest_map_new();

  gboolean read_only = store->options.read_only;
  gboolean admin = store->options.admin && !read_only;
  if ((read_only || admin) && !g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_IO, "%s: no such mailbox database", path);
    goto fail;
  }
  if (!read_only && !admin && !take_writer_lock(store, error))
    goto fail;

  int flags = (read_only ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | (admin ? 0 : SQLITE_OPEN_CREATE)) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path, &store->db, flags, NULL);
  if (rc != SQLITE_OK) {
    set_sql_error(store, rc, error);
    goto fail;
  }
  sqlite3_extended_result_codes(store->db, 1);
  sqlite3_busy_timeout(store->db, 5000);
  gboolean is_new = FALSE;
  if (!check_schema(store, &is_new, error))
    goto fail;
  if (admin && is_new) {
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_CORRUPT,
                "%s: not an actr mailbox database", path);
    goto fail;
  }
  if (admin) {
    /* Next to a running node: no writer lock, no crash recovery (the node's
     * in-flight messages stay in flight), no committer thread; every
     * operation commits inline.  Memory mirrors the file as of now. */
    if (!exec_sql(store, meta_sql, error) || !prepare_statements(store, error))
      goto fail;
    g_mutex_lock(&store->db_lock);
    gboolean synced = sync_with_file(store, error);
    g_mutex_unlock(&store->db_lock);
    if (!synced)
      goto fail;
    return store;
  }
  if (!read_only) {
    const char *sync = store->options.durability == ACTR_STORE_DURABILITY_FULL
                           ? "PRAGMA synchronous = FULL;"
                           : "PRAGMA synchronous = NORMAL;";
    if (!exec_sql(store, "PRAGMA journal_mode = WAL;", error) || !exec_sql(store, sync, error) ||
        !exec_sql(store, "PRAGMA journal_size_limit = 67108864;", error))
      goto fail;
    if (is_new && !create_schema(store, error))
      goto fail;
    if (!exec_sql(store, meta_sql, error))
      goto fail;
  }
  if (read_only)
    return store;

  /* Crash recovery: whatever was in flight when the last process stopped is
   * delivered again, one message at a time (so that a message which crashes
   * the process is charged alone, not with its whole prefetched batch); its
   * attempts count stays, so a message that keeps crashing ends in the DLQ. */
  if (!prepare_statements(store, error) || !load_memory(store, TRUE, error))
    goto fail;
  if (!exec_sql(store, "UPDATE inbox SET state = 0 WHERE state = 1", error))
    goto fail;
  int redelivered = sqlite3_changes(store->db);
  {
    /* Memory now mirrors the file: remember its version (our own commits
     * never change it; other connections' do). */
    sqlite3_stmt *st = store->st_data_version;
    if (sqlite3_step(st) == SQLITE_ROW)
      store->data_version = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
  }
  if (redelivered > 0)
    g_message("%s: %d message(s) in flight at the last stop will be delivered again", path,
              redelivered);
  store->committer = g_thread_new("actr-store", committer_main, store);
  return store;

fail:
  store_free(store);
  return NULL;
}

void
actr_store_close(ActrStore *store)
{
  if (store == NULL)
    return;
  if (store->committer) {
    g_mutex_lock(&store->q_lock);
    store->stopping = TRUE;
    g_cond_signal(&store->q_cond);
    g_mutex_unlock(&store->q_lock);
    g_thread_join(store->committer);
  }
  g_mutex_lock(&store->q_lock);
  store->closed = TRUE;
  g_mutex_unlock(&store->q_lock);
  if (store->n_commits > 0)
    g_debug("%s: %" G_GUINT64_FORMAT " operations in %" G_GUINT64_FORMAT
            " transactions (%.1f per commit)",
            store->path, store->n_ops, store->n_commits,
            (double)store->n_ops / (double)store->n_commits);
  g_mutex_lock(&store->db_lock);
  store_release(store);
  clear_memory(store); /* late callbacks may keep the struct alive, not the state */
  g_mutex_unlock(&store->db_lock);
  store_unref(store);
}

const char *
actr_store_get_path(ActrStore *store)
{
  g_return_val_if_fail(store != NULL, NULL);
  return store->path;
}

/* ---- public write API ----------------------------------------------------- */

void
actr_enqueue_result_clear(ActrEnqueueResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer(&result->response, g_bytes_unref);
  memset(result, 0, sizeof *result);
}

static Op *
enqueue_op_new(ActrStore *store, const ActrInboundMessage *message)
{
  Op *op = op_new(store, OP_ENQUEUE);
  op->priority =
      message->priority == ACTR_PRIORITY_HIGH ? ACTR_PRIORITY_HIGH : ACTR_PRIORITY_NORMAL;
  op->request_id = g_strdup(message->request_id ? message->request_id : "");
  op->sender = message->sender ? g_bytes_ref(message->sender) : NULL;
  op->bytes = g_bytes_ref(message->envelope);
  return op;
}

gboolean
actr_store_enqueue(ActrStore *store, const ActrInboundMessage *message, ActrEnqueueResult *result,
                   GError **error)
{
  g_return_val_if_fail(store != NULL && message != NULL && message->envelope != NULL, FALSE);
  g_return_val_if_fail(result != NULL, FALSE);
  memset(result, 0, sizeof *result);
  if (!check_writable(store, error))
    return FALSE;
  Op *op = enqueue_op_new(store, message);
  submit(store, op, TRUE);
  gboolean ok = op->error == NULL;
  if (ok) {
    *result = op->result;
    memset(&op->result, 0, sizeof op->result);
  } else {
    g_propagate_error(error, g_steal_pointer(&op->error));
  }
  op_free(op);
  return ok;
}

void
actr_store_enqueue_async(ActrStore *store, const ActrInboundMessage *message, GMainContext *context,
                         ActrStoreEnqueueCallback callback, gpointer user_data)
{
  g_return_if_fail(store != NULL && message != NULL && message->envelope != NULL);
  g_return_if_fail(callback != NULL);
  Op *op = enqueue_op_new(store, message);
  op->callback = callback;
  op->user_data = user_data;
  op->context = context ? g_main_context_ref(context) : g_main_context_ref_thread_default();
  if (!check_writable(store, &op->error)) {
    op_complete_async(op);
    return;
  }
  submit(store, op, store->options.durability == ACTR_STORE_DURABILITY_NORMAL);
}

GPtrArray *
actr_store_dequeue(ActrStore *store, guint max_messages, GError **error)
{
  g_return_val_if_fail(store != NULL, NULL);
  if (!check_writable(store, error))
    return NULL;
  Op *op = op_new(store, OP_DEQUEUE);
  op->max = max_messages;
  submit(store, op, TRUE);
  GPtrArray *out = g_steal_pointer(&op->messages);
  if (op->error) {
    g_clear_pointer(&out, g_ptr_array_unref);
    g_propagate_error(error, g_steal_pointer(&op->error));
  }
  op_free(op);
  return out;
}

/* Runs a simple write op; returns its success and optional outputs. */
static gboolean
run_write(ActrStore *store, Op *op, gint64 *out_id, guint64 *count, GError **error)
{
  gboolean dlq_op =
      op->kind == OP_DLQ_REQUEUE || op->kind == OP_DLQ_DELETE || op->kind == OP_DLQ_PURGE;
  if (!check_writable_for(store, dlq_op, error)) {
    op_free(op);
    return FALSE;
  }
  submit(store, op, TRUE);
  gboolean ok = op->error == NULL;
  if (ok) {
    if (out_id)
      *out_id = op->out_id;
    if (count)
      *count = op->count;
  } else {
    g_propagate_error(error, g_steal_pointer(&op->error));
  }
  op_free(op);
  return ok;
}

gboolean
actr_store_ack(ActrStore *store, gint64 id, GBytes *response, GError **error)
{
  return actr_store_ack_with_state(store, id, response, NULL, 0, error);
}

gboolean
actr_store_ack_with_state(ActrStore *store, gint64 id, GBytes *response,
                          const ActrStateWrite *writes, guint n_writes, GError **error)
{
  g_return_val_if_fail(store != NULL, FALSE);
  g_return_val_if_fail(n_writes == 0 || writes != NULL, FALSE);
  for (guint i = 0; i < n_writes; i++)
    g_return_val_if_fail(writes[i].key != NULL && writes[i].key[0] != '\0', FALSE);
  Op *op = op_new(store, OP_ACK);
  op->id = id;
  op->bytes = response ? g_bytes_ref(response) : NULL;
  op->n_state = n_writes;
  op->state_keys = g_new0(char *, n_writes + 1);
  op->state_values = g_new0(GBytes *, n_writes + 1);
  for (guint i = 0; i < n_writes; i++) {
    op->state_keys[i] = g_strdup(writes[i].key);
    op->state_values[i] = writes[i].value ? g_bytes_ref(writes[i].value) : NULL;
  }
  return run_write(store, op, NULL, NULL, error);
}

/* Runs @n sync ops as one group: inline in one transaction when the store
 * is idle, else through the committer (which batches them together, as
 * they are queued at once).  Waits for all. */
static void
submit_many(ActrStore *store, Op **ops, guint n)
{
  g_mutex_lock(&store->q_lock);
  if (store->stopping) {
    g_mutex_unlock(&store->q_lock);
    for (guint i = 0; i < n; i++)
      g_set_error(&ops[i]->error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_INVALID,
                  "%s: store is closing", store->path);
    return;
  }
  if (!store->busy && g_queue_is_empty(&store->pending) && n <= store->options.max_batch) {
    store->busy = TRUE;
    g_mutex_unlock(&store->q_lock);
    run_batch(store, ops, n);
    g_mutex_lock(&store->q_lock);
    store->busy = FALSE;
    if (!g_queue_is_empty(&store->pending) || store->stopping)
      g_cond_signal(&store->q_cond);
    g_cond_broadcast(&store->done_cond);
    g_mutex_unlock(&store->q_lock);
    return;
  }
  for (guint i = 0; i < n; i++)
    g_queue_push_tail(&store->pending, ops[i]);
  g_cond_signal(&store->q_cond);
  for (guint i = 0; i < n; i++) {
    while (!ops[i]->done)
      g_cond_wait(&store->done_cond, &store->q_lock);
  }
  g_mutex_unlock(&store->q_lock);
}

gboolean
actr_store_ack_batch(ActrStore *store, ActrStoreAck *acks, guint n, GError **error)
{
  g_return_val_if_fail(store != NULL, FALSE);
  g_return_val_if_fail(n == 0 || acks != NULL, FALSE);
  if (n == 0)
    return TRUE;
  if (!check_writable(store, error))
    return FALSE;
  g_autofree Op **ops = g_new0(Op *, n);
  for (guint i = 0; i < n; i++) {
    Op *op = op_new(store, OP_ACK);
    op->id = acks[i].id;
    op->bytes = acks[i].response ? g_bytes_ref(acks[i].response) : NULL;
    op->n_state = acks[i].n_writes;
    op->state_keys = g_new0(char *, acks[i].n_writes + 1);
    op->state_values = g_new0(GBytes *, acks[i].n_writes + 1);
    for (guint j = 0; j < acks[i].n_writes; j++) {
      op->state_keys[j] = g_strdup(acks[i].writes[j].key);
      op->state_values[j] = acks[i].writes[j].value ? g_bytes_ref(acks[i].writes[j].value) : NULL;
    }
    ops[i] = op;
  }
  submit_many(store, ops, n);
  gboolean all = TRUE;
  for (guint i = 0; i < n; i++) {
    g_clear_error(&acks[i].error);
    if (ops[i]->error != NULL) {
      acks[i].error = g_steal_pointer(&ops[i]->error);
      if (all)
        g_set_error_literal(error, acks[i].error->domain, acks[i].error->code,
                            acks[i].error->message);
      all = FALSE;
    }
    op_free(ops[i]);
  }
  return all;
}

gboolean
actr_store_requeue(ActrStore *store, gint64 id, GError **error)
{
  g_return_val_if_fail(store != NULL, FALSE);
  Op *op = op_new(store, OP_REQUEUE);
  op->id = id;
  return run_write(store, op, NULL, NULL, error);
}

gboolean
actr_store_dead_letter(ActrStore *store, gint64 id, const char *category, const char *message,
                       gint64 *dlq_id, GError **error)
{
  g_return_val_if_fail(store != NULL && category != NULL, FALSE);
  Op *op = op_new(store, OP_DEAD_LETTER);
  op->id = id;
  op->category = g_strdup(category);
  op->message = g_strdup(message ? message : "");
  return run_write(store, op, dlq_id, NULL, error);
}

gint64
actr_store_prune_dedup(ActrStore *store, GError **error)
{
  g_return_val_if_fail(store != NULL, -1);
  guint64 removed = 0;
  if (!run_write(store, op_new(store, OP_PRUNE), NULL, &removed, error))
    return -1;
  return (gint64)removed;
}

gboolean
actr_store_dlq_requeue(ActrStore *store, gint64 id, gint64 *message_id, GError **error)
{
  g_return_val_if_fail(store != NULL, FALSE);
  Op *op = op_new(store, OP_DLQ_REQUEUE);
  op->id = id;
  return run_write(store, op, message_id, NULL, error);
}

gboolean
actr_store_dlq_delete(ActrStore *store, gint64 id, GError **error)
{
  g_return_val_if_fail(store != NULL, FALSE);
  Op *op = op_new(store, OP_DLQ_DELETE);
  op->id = id;
  return run_write(store, op, NULL, NULL, error);
}

gboolean
actr_store_dlq_purge(ActrStore *store, guint64 *removed, GError **error)
{
  g_return_val_if_fail(store != NULL, FALSE);
  return run_write(store, op_new(store, OP_DLQ_PURGE), NULL, removed, error);
}

gboolean
actr_store_set_depth_observer(ActrStore *store, ActrStoreDepthFunc func, gpointer user_data,
                              GDestroyNotify destroy)
{
  g_return_val_if_fail(store != NULL, FALSE);
  g_mutex_lock(&store->observer_lock);
  GDestroyNotify old_destroy = store->observer_destroy;
  gpointer old_data = store->observer_data;
  store->observer = func;
  store->observer_data = user_data;
  store->observer_destroy = destroy;
  g_mutex_unlock(&store->observer_lock);
  if (old_destroy)
    old_destroy(old_data);
  return TRUE;
}

/* ---- inspection (reads the file; works read-only) ------------------------- */

void
actr_store_message_free(ActrStoreMessage *message)
{
  if (message == NULL)
    return;
  g_free(message->request_id);
  g_clear_pointer(&message->sender, g_bytes_unref);
  g_clear_pointer(&message->envelope, g_bytes_unref);
  g_free(message);
}

void
actr_dlq_record_free(ActrDlqRecord *record)
{
  if (record == NULL)
    return;
  g_free(record->request_id);
  g_clear_pointer(&record->sender, g_bytes_unref);
  g_clear_pointer(&record->raw_bytes, g_bytes_unref);
  g_free(record->category);
  g_free(record->error_message);
  g_free(record->trace_id);
  g_free(record);
}

/* Runs a one-off query under db_lock, calling @row for each row.  ?1 is
 * bound to @param when the query has parameters; @text, when not NULL, is
 * bound to ?2 (never spliced into the SQL). */
typedef void (*RowFunc)(sqlite3_stmt *stmt, gpointer data);

static gboolean
query_locked(ActrStore *store, const char *sql, gint64 param, const char *text, RowFunc row,
             gpointer data, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = prepare(store, &stmt, sql, error);
  if (ok) {
    if (sqlite3_bind_parameter_count(stmt) > 0)
      sqlite3_bind_int64(stmt, 1, param);
    if (text)
      sqlite3_bind_text(stmt, 2, text, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
      row(stmt, data);
    if (rc != SQLITE_DONE) {
      set_sql_error(store, rc, error);
      ok = FALSE;
    }
  }
  sqlite3_finalize(stmt);
  return ok;
}

static gboolean
query(ActrStore *store, const char *sql, gint64 param, const char *text, RowFunc row, gpointer data,
      GError **error)
{
  g_mutex_lock(&store->db_lock);
  gboolean ok = query_locked(store, sql, param, text, row, data, error);
  g_mutex_unlock(&store->db_lock);
  return ok;
}

static void
stats_inbox_row(sqlite3_stmt *stmt, gpointer data)
{
  ActrStoreStats *stats = data;
  int state = sqlite3_column_int(stmt, 0);
  int priority = sqlite3_column_int(stmt, 1);
  guint64 count = (guint64)sqlite3_column_int64(stmt, 2);
  gint64 oldest = sqlite3_column_int64(stmt, 3);
  if (state == 1) {
    stats->in_flight += count;
  } else {
    stats->queued += count;
    if (priority)
      stats->queued_high += count;
    else
      stats->queued_normal += count;
  }
  if (stats->oldest_enqueued_ns == 0 || oldest < stats->oldest_enqueued_ns)
    stats->oldest_enqueued_ns = oldest;
}

static void
count_row(sqlite3_stmt *stmt, gpointer data)
{
  *(guint64 *)data = (guint64)sqlite3_column_int64(stmt, 0);
}

static guint64
file_size(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 ? (guint64)st.st_size : 0;
}

gboolean
actr_store_get_stats(ActrStore *store, ActrStoreStats *stats, GError **error)
{
  g_return_val_if_fail(store != NULL && stats != NULL, FALSE);
  memset(stats, 0, sizeof *stats);
  /* One read transaction: the three counts are one snapshot. */
  g_mutex_lock(&store->db_lock);
  gboolean ok =
      exec_sql(store, "BEGIN", error) &&
      query_locked(store,
                   "SELECT state, priority, COUNT(*), MIN(enqueued_ns) FROM inbox "
                   "GROUP BY state, priority",
                   0, NULL, stats_inbox_row, stats, error) &&
      query_locked(store, "SELECT COUNT(*) FROM dlq", 0, NULL, count_row, &stats->dlq, error) &&
      query_locked(store, "SELECT COUNT(*) FROM dedup", 0, NULL, count_row, &stats->dedup_records,
                   error);
  if (!sqlite3_get_autocommit(store->db))
    sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
  g_mutex_unlock(&store->db_lock);
  if (!ok)
    return FALSE;
  g_autofree char *wal = g_strconcat(store->path, "-wal", NULL);
  stats->file_bytes = file_size(store->path) + file_size(wal);
  return TRUE;
}

static ActrStoreMessage *
message_from_row(sqlite3_stmt *stmt, gboolean with_bytes)
{
  /* Columns: id, priority, state, attempts, enqueued_ns, request_id, sender,
   * length(envelope), [envelope] */
  ActrStoreMessage *m = g_new0(ActrStoreMessage, 1);
  m->id = sqlite3_column_int64(stmt, 0);
  m->priority = sqlite3_column_int(stmt, 1) ? ACTR_PRIORITY_HIGH : ACTR_PRIORITY_NORMAL;
  m->in_flight = sqlite3_column_int(stmt, 2) != 0;
  m->attempts = (guint)sqlite3_column_int(stmt, 3);
  m->enqueued_ns = sqlite3_column_int64(stmt, 4);
  m->request_id = column_request_id(stmt, 5);
  m->sender = column_bytes(stmt, 6);
  m->envelope_size = (gsize)sqlite3_column_int64(stmt, 7);
  if (with_bytes) {
    m->envelope = column_bytes(stmt, 8);
    if (m->envelope == NULL)
      m->envelope = g_bytes_new(NULL, 0);
  }
  return m;
}

static void
list_row(sqlite3_stmt *stmt, gpointer data)
{
  g_ptr_array_add(data, message_from_row(stmt, FALSE));
}

GPtrArray *
actr_store_list(ActrStore *store, guint limit, GError **error)
{
  g_return_val_if_fail(store != NULL, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)actr_store_message_free);
  if (!query(store,
             "SELECT id, priority, state, attempts, enqueued_ns, request_id, sender, "
             "length(envelope) FROM inbox ORDER BY state DESC, priority DESC, id "
             "LIMIT ?1",
             limit ? (gint64)limit : -1, NULL, list_row, out, error)) {
    g_ptr_array_unref(out);
    return NULL;
  }
  return out;
}

static void
peek_row(sqlite3_stmt *stmt, gpointer data)
{
  *(ActrStoreMessage **)data = message_from_row(stmt, TRUE);
}

ActrStoreMessage *
actr_store_peek(ActrStore *store, gint64 id, GError **error)
{
  g_return_val_if_fail(store != NULL, NULL);
  ActrStoreMessage *m = NULL;
  if (!query(store,
             "SELECT id, priority, state, attempts, enqueued_ns, request_id, sender, "
             "length(envelope), envelope FROM inbox WHERE id = ?1",
             id, NULL, peek_row, &m, error))
    return NULL;
  if (m == NULL)
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND,
                "%s: no inbox message %" G_GINT64_FORMAT, store->path, id);
  return m;
}

static ActrDlqRecord *
dlq_from_row(sqlite3_stmt *stmt, gboolean with_bytes)
{
  /* Columns: id, original_message_id, request_id, sender, raw_bytes|NULL,
   * priority, error_category, error_message, trace_id, attempts, enqueued_ns,
   * created_ns, length(raw_bytes), redrive_attempts, last_redrive_ns */
  ActrDlqRecord *r = g_new0(ActrDlqRecord, 1);
  r->id = sqlite3_column_int64(stmt, 0);
  r->original_message_id = sqlite3_column_int64(stmt, 1);
  r->request_id = column_request_id(stmt, 2);
  r->sender = column_bytes(stmt, 3);
  if (with_bytes) {
    r->raw_bytes = column_bytes(stmt, 4);
    if (r->raw_bytes == NULL)
      r->raw_bytes = g_bytes_new(NULL, 0);
  }
  r->priority = sqlite3_column_int(stmt, 5) ? ACTR_PRIORITY_HIGH : ACTR_PRIORITY_NORMAL;
  r->category = column_text(stmt, 6);
  r->error_message = column_text(stmt, 7);
  r->trace_id = column_text(stmt, 8);
  r->attempts = (guint)sqlite3_column_int(stmt, 9);
  r->enqueued_ns = sqlite3_column_int64(stmt, 10);
  r->created_ns = sqlite3_column_int64(stmt, 11);
  r->raw_size = (gsize)sqlite3_column_int64(stmt, 12);
  r->redrive_attempts = (guint)sqlite3_column_int(stmt, 13);
  r->last_redrive_ns = sqlite3_column_int64(stmt, 14);
  return r;
}

static void
dlq_list_row(sqlite3_stmt *stmt, gpointer data)
{
  g_ptr_array_add(data, dlq_from_row(stmt, FALSE));
}

GPtrArray *
actr_store_dlq_list(ActrStore *store, const char *category, guint limit, GError **error)
{
  g_return_val_if_fail(store != NULL, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)actr_dlq_record_free);
  if (!query(store,
             "SELECT id, original_message_id, request_id, sender, NULL, priority, "
             "error_category, error_message, trace_id, attempts, enqueued_ns, created_ns, "
             "length(raw_bytes), redrive_attempts, last_redrive_ns FROM dlq "
             "WHERE (?2 IS NULL OR error_category = ?2) ORDER BY id DESC LIMIT ?1",
             limit ? (gint64)limit : -1, category, dlq_list_row, out, error)) {
    g_ptr_array_unref(out);
    return NULL;
  }
  return out;
}

static void
dlq_get_row(sqlite3_stmt *stmt, gpointer data)
{
  *(ActrDlqRecord **)data = dlq_from_row(stmt, TRUE);
}

ActrDlqRecord *
actr_store_dlq_get(ActrStore *store, gint64 id, GError **error)
{
  g_return_val_if_fail(store != NULL, NULL);
  ActrDlqRecord *r = NULL;
  if (!query(store,
             "SELECT id, original_message_id, request_id, sender, raw_bytes, priority, "
             "error_category, error_message, trace_id, attempts, enqueued_ns, created_ns, "
             "length(raw_bytes), redrive_attempts, last_redrive_ns FROM dlq WHERE id = ?1",
             id, NULL, dlq_get_row, &r, error))
    return NULL;
  if (r == NULL)
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND,
                "%s: no dead letter %" G_GINT64_FORMAT, store->path, id);
  return r;
}

static void
state_row(sqlite3_stmt *stmt, gpointer data)
{
  GBytes **out = data;
  *out = column_bytes(stmt, 0);
}

GBytes *
actr_store_state_get(ActrStore *store, const char *key, GError **error)
{
  g_return_val_if_fail(store != NULL && key != NULL, NULL);
  GBytes *value = NULL;
  if (!query(store, "SELECT value FROM state WHERE key = ?2", 0, key, state_row, &value, error))
    return NULL;
  if (value == NULL)
    g_set_error(error, ACTR_STORE_ERROR, ACTR_STORE_ERROR_NOT_FOUND, "%s: no state key %s",
                store->path, key);
  return value;
}

/* ---- test hooks ----------------------------------------------------------- */

gboolean
actr_store_exec_for_test(ActrStore *store, const char *sql, GError **error)
{
  g_return_val_if_fail(store != NULL && sql != NULL, FALSE);
  g_mutex_lock(&store->db_lock);
  gboolean ok = exec_sql(store, sql, error);
  g_mutex_unlock(&store->db_lock);
  return ok;
}
