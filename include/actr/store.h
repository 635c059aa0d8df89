/* actr — the crash-safe message store: durable inbox, request dedup, and
 * dead-letter queue in one SQLite file (WAL).
 *
 * Guarantees (see docs/store.md for the full contract):
 * - actr_store_enqueue() returns only after the message is durable (in the
 *   sense of the store's durability mode).  An accepted message is handed out
 *   by actr_store_dequeue() until it is acked or dead-lettered; a message that
 *   was in flight when the process died is handed out again after reopen.
 * - A request_id is accepted at most once while its dedup record lives
 *   (default 10 min after completion, bounded in count): a duplicate never
 *   enters the inbox; its caller learns that the original is still pending,
 *   or gets the response stored with the original's ack.  This survives
 *   restarts.
 * - ack stores the response, deletes the inbox row and records the dedup
 *   entry in ONE transaction.
 * - A message handed out max_delivery_attempts times without an ack (each
 *   crash during handling counts) moves to the DLQ instead of a further
 *   delivery.  actr_store_dead_letter() moves an undecodable one at once.
 * - Concurrent writers are group-committed: operations submitted while a
 *   commit is running share the next transaction.
 *
 * Threads: an ActrStore is fully thread-safe.  Writes from many threads are
 * batched; a writer that finds the store idle commits on its own thread (no
 * thread hop), otherwise the store's committer thread commits for it.
 * Callbacks say on which thread they run.
 *
 * Ownership: input buffers are borrowed for the duration of the call unless
 * stated; GBytes inputs of async calls are referenced, never copied.
 */
#ifndef ACTR_STORE_H
#define ACTR_STORE_H

#include <glib.h>
#include <actr/macros.h>

ACTR_BEGIN_DECLS

#define ACTR_STORE_ERROR (actr_store_error_quark())
ACTR_API GQuark actr_store_error_quark(void);

typedef enum {
  ACTR_STORE_ERROR_FAILED,    /* any other SQLite failure */
  ACTR_STORE_ERROR_IO,        /* cannot open/create/read/write the file */
  ACTR_STORE_ERROR_FULL,      /* disk or database full; nothing already accepted is lost */
  ACTR_STORE_ERROR_CORRUPT,   /* the file is not a database or is damaged */
  ACTR_STORE_ERROR_LOCKED,    /* another process has the store open for writing */
  ACTR_STORE_ERROR_READ_ONLY, /* write on a store opened read-only, or a read-only file */
  ACTR_STORE_ERROR_NOT_FOUND, /* no message / DLQ record with that id */
  ACTR_STORE_ERROR_INVALID,   /* bad argument or wrong state (e.g. ack of a queued message) */
  ACTR_STORE_ERROR_SCHEMA,    /* the file was written by a newer, incompatible version */
} ActrStoreError;

typedef enum {
  ACTR_STORE_DURABILITY_NORMAL = 0, /* WAL + synchronous=NORMAL: survives kill -9 of the
                                       process; the newest commits may be lost on power loss */
  ACTR_STORE_DURABILITY_FULL = 1,   /* WAL + synchronous=FULL: every group commit is fsynced
                                       before enqueue returns; survives power loss */
} ActrStoreDurability;

typedef enum {
  ACTR_PRIORITY_NORMAL = 0,
  ACTR_PRIORITY_HIGH = 1, /* RPC_SIGNAL lane; dequeued before NORMAL */
} ActrPriority;

typedef struct {
  ActrStoreDurability durability; /* default NORMAL */
  guint max_delivery_attempts;    /* default 3 (>= 1) */
  guint64 dedup_ttl_ms;           /* dedup record lifetime after completion, default 600000 */
  guint dedup_max_entries;        /* bound on dedup records, oldest pruned first, default 100000 */
  guint max_batch;                /* group commit: max operations per transaction, default 1024 */
  guint commit_delay_us;          /* group commit: extra wait for more operations, default 0 */
  gboolean read_only;             /* inspect only (no lock, no recovery, writes fail) */
  gboolean admin;                 /* dead-letter maintenance next to a running node: no
                                     writer lock, no crash recovery, only the actr_store_dlq_*
                                     writes; the node picks the changes up */
} ActrStoreOptions;

/* Fills @options with the defaults above. */
ACTR_API void actr_store_options_init(ActrStoreOptions *options);

typedef struct _ActrStore ActrStore;

/* Opens (creating if needed, unless read-only or admin) the store at @path.  An
 * existing SQLite file that is not an actr mailbox is refused
 * (ACTR_STORE_ERROR_CORRUPT), never modified.  A
 * writable open takes an exclusive lock (a second writer gets
 * ACTR_STORE_ERROR_LOCKED), resets in-flight messages to queued (crash
 * redelivery) and loads the dedup index.  @options may be NULL for the
 * defaults.  Returns (transfer full) or NULL with @error set; error
 * messages name the file. */
ACTR_API ActrStore *actr_store_open(const char *path, const ActrStoreOptions *options,
                                    GError **error);

/* Waits for operations in progress, stops the committer thread, closes the
 * file and frees @store.  NULL is ignored.  Must not be called from a store
 * callback. */
ACTR_API void actr_store_close(ActrStore *store);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrStore, actr_store_close)

/* The path given to actr_store_open() (transfer none). */
ACTR_API const char *actr_store_get_path(ActrStore *store);

/* ---- Inbox ---------------------------------------------------------------- */

/* A message to accept.  All fields are borrowed for the duration of the call
 * (async: @sender and @envelope are referenced). */
typedef struct {
  ActrPriority priority;
  const char *request_id; /* dedup key (RpcEnvelope.request_id); NULL or "" = never a duplicate */
  GBytes *sender;         /* caller's encoded ActrId, NULL for none */
  GBytes *envelope;       /* the raw RpcEnvelope bytes as received, never re-encoded */
} ActrInboundMessage;

typedef enum {
  ACTR_ENQUEUE_ACCEPTED = 0,          /* new message, durable; id is its message id */
  ACTR_ENQUEUE_DUPLICATE_PENDING = 1, /* same request_id is queued or being handled */
  ACTR_ENQUEUE_DUPLICATE_DONE = 2,    /* same request_id was completed; response holds the reply */
} ActrEnqueueOutcome;

typedef enum {
  ACTR_COMPLETION_REPLIED = 0,       /* acked with a response */
  ACTR_COMPLETION_NO_REPLY = 1,      /* acked without a response (a tell) */
  ACTR_COMPLETION_DEAD_LETTERED = 2, /* moved to the DLQ */
} ActrCompletion;

typedef struct {
  ActrEnqueueOutcome outcome;
  gint64 id;                 /* ACCEPTED / DUPLICATE_PENDING: the message id */
  ActrCompletion completion; /* DUPLICATE_DONE: how the original ended */
  GBytes *response;          /* DUPLICATE_DONE + REPLIED: the stored encoded reply (owned) */
} ActrEnqueueResult;

/* Frees the response of @result and zeroes it. */
ACTR_API void actr_enqueue_result_clear(ActrEnqueueResult *result);

/* Accepts @message durably, or reports it as a duplicate.  Blocks until the
 * transaction holding it is committed.  @result is filled on success (clear
 * it with actr_enqueue_result_clear()).  Thread-safe. */
ACTR_API gboolean actr_store_enqueue(ActrStore *store, const ActrInboundMessage *message,
                                     ActrEnqueueResult *result, GError **error);

/* Called once per actr_store_enqueue_async(), from an idle source of the
 * context given there, never from inside actr_store_enqueue_async().
 * @result is valid only during the call (take the response with
 * g_bytes_ref()); @error is NULL on success. */
typedef void (*ActrStoreEnqueueCallback)(ActrStore *store, const ActrEnqueueResult *result,
                                         const GError *error, gpointer user_data);

/* Non-blocking enqueue for an event loop: the message joins the next group
 * commit and @callback runs in @context (NULL = the thread-default context)
 * once it is durable or failed.  In NORMAL durability an idle store commits
 * on the calling thread at once; in FULL durability the fsync always happens
 * on the committer thread, so a loop never blocks on the disk. */
ACTR_API void actr_store_enqueue_async(ActrStore *store, const ActrInboundMessage *message,
                                       GMainContext *context, ActrStoreEnqueueCallback callback,
                                       gpointer user_data);

/* A message handed out by actr_store_dequeue() or read by inspection calls. */
typedef struct {
  gint64 id;
  ActrPriority priority;
  gboolean in_flight; /* handed out, not yet acked */
  guint attempts;     /* deliveries so far, including this one */
  gint64 enqueued_ns; /* wall clock, ns since the Unix epoch */
  char *request_id;   /* "" when none */
  GBytes *sender;     /* NULL when none */
  GBytes *envelope;   /* raw bytes; NULL in list results (see envelope_size) */
  gsize envelope_size;
} ActrStoreMessage;

ACTR_API void actr_store_message_free(ActrStoreMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrStoreMessage, actr_store_message_free)

/* Hands out up to @max_messages (0 = 32) queued messages, HIGH before NORMAL,
 * then oldest first, marking them in flight in one transaction.  A message
 * that was in flight when the last process died is handed out alone, so a
 * message that crashes the process is charged its attempts alone.  A message
 * that already had max_delivery_attempts deliveries is moved to the DLQ
 * (category "max_attempts") instead.  Returns (transfer full) an array of
 * ActrStoreMessage* (with free func), empty when nothing is queued, or NULL
 * on error. */
ACTR_API GPtrArray *actr_store_dequeue(ActrStore *store, guint max_messages, GError **error);

/* Completes in-flight message @id: deletes it from the inbox and records its
 * request_id as done with @response (NULL for a tell or no reply), all in one
 * transaction.  A later enqueue with that request_id gets DUPLICATE_DONE and
 * the response. */
ACTR_API gboolean actr_store_ack(ActrStore *store, gint64 id, GBytes *response, GError **error);

/* ---- Durable workload state ---------------------------------------------- */

/* One change to the node's durable key-value state. */
typedef struct {
  const char *key; /* non-empty (borrowed) */
  GBytes *value;   /* new value (referenced), or NULL to delete the key */
} ActrStateWrite;

/* Acks in-flight message @id like actr_store_ack() and applies @writes to
 * the durable state in the SAME transaction: the state changes, the stored
 * response and the ack become durable together or not at all.  A handler
 * that keeps its state here is therefore effectively-once: a crash before
 * the commit redelivers the request (its handler runs again on the old
 * state), and a retried request after the commit gets the stored response
 * without running. */
ACTR_API gboolean actr_store_ack_with_state(ActrStore *store, gint64 id, GBytes *response,
                                            const ActrStateWrite *writes, guint n_writes,
                                            GError **error);

/* One acknowledgement of actr_store_ack_batch(). */
typedef struct {
  gint64 id;                    /* an in-flight message */
  GBytes *response;             /* as for actr_store_ack(); may be NULL */
  const ActrStateWrite *writes; /* as for actr_store_ack_with_state() */
  guint n_writes;
  GError *error; /* out: why this ack failed (NULL when committed) */
} ActrStoreAck;

/* Acks @n in-flight messages at once, like @n actr_store_ack_with_state()
 * calls committed together: normally one transaction (a group commit), so
 * a workload that handled several queued messages pays for one commit.
 * Returns TRUE when every ack committed.  Otherwise FALSE with @error set
 * to the first failure and each failed ack's error member set; a storage
 * failure (disk full, I/O) fails them all, any other failure is retried
 * per ack, so the others may have committed.  Blocks like the other sync
 * calls. */
ACTR_API gboolean actr_store_ack_batch(ActrStore *store, ActrStoreAck *acks, guint n,
                                       GError **error);

/* The committed value of state @key (transfer full), or NULL with
 * ACTR_STORE_ERROR_NOT_FOUND.  Works on read-only stores. */
ACTR_API GBytes *actr_store_state_get(ActrStore *store, const char *key, GError **error);

/* Puts in-flight message @id back at the front of the queue because it was
 * not handled (for example the node stops with a prefetched batch); the
 * delivery does not count as an attempt. */
ACTR_API gboolean actr_store_requeue(ActrStore *store, gint64 id, GError **error);

/* Moves message @id (queued or in flight) to the DLQ with @category (e.g.
 * "protobuf_decode") and @message, and records its request_id as done
 * (dead-lettered).  Returns the DLQ record id in @dlq_id (may be NULL). */
ACTR_API gboolean actr_store_dead_letter(ActrStore *store, gint64 id, const char *category,
                                         const char *message, gint64 *dlq_id, GError **error);

typedef struct {
  guint64 queued; /* waiting for delivery; excludes in_flight */
  guint64 queued_high;
  guint64 queued_normal;
  guint64 in_flight;
  guint64 dlq;
  guint64 dedup_records;
  gint64 oldest_enqueued_ns; /* 0 when the inbox is empty */
  guint64 file_bytes;        /* database + WAL size */
} ActrStoreStats;

/* Counts read from the file (works on read-only stores, and while another
 * process writes). */
ACTR_API gboolean actr_store_get_stats(ActrStore *store, ActrStoreStats *stats, GError **error);

/* Inbox messages in delivery order (in flight first, then HIGH, NORMAL,
 * oldest first), at most @limit (0 = all), without envelope bytes.
 * Returns (transfer full) an array of ActrStoreMessage*, or NULL on error. */
ACTR_API GPtrArray *actr_store_list(ActrStore *store, guint limit, GError **error);

/* One inbox message with its envelope bytes (transfer full), or NULL with
 * ACTR_STORE_ERROR_NOT_FOUND. */
ACTR_API ActrStoreMessage *actr_store_peek(ActrStore *store, gint64 id, GError **error);

/* Called with the number of queued (not in-flight) messages after every
 * commit that changed it.  Runs on the committing thread, must be quick and
 * must not call back into the store. */
typedef void (*ActrStoreDepthFunc)(guint64 queued, gpointer user_data);

/* Installs (or with @func NULL removes) the depth observer.  Returns TRUE:
 * this store pushes depth changes (no polling needed). */
ACTR_API gboolean actr_store_set_depth_observer(ActrStore *store, ActrStoreDepthFunc func,
                                                gpointer user_data, GDestroyNotify destroy);

/* ---- Dedup ---------------------------------------------------------------- */

/* Prunes dedup records older than dedup_ttl_ms or beyond dedup_max_entries
 * now (the committer thread also does this in the background about once a
 * second).  Returns the number of records removed, or -1 on error. */
ACTR_API gint64 actr_store_prune_dedup(ActrStore *store, GError **error);

/* ---- Dead-letter queue ---------------------------------------------------- */

typedef struct {
  gint64 id;
  gint64 original_message_id; /* 0 when unknown */
  char *request_id;           /* "" when unknown */
  GBytes *sender;             /* NULL when unknown */
  GBytes *raw_bytes;          /* the original envelope bytes; NULL in list results */
  gsize raw_size;
  ActrPriority priority;
  char *category;      /* "protobuf_decode", "max_attempts", ... */
  char *error_message; /* human description */
  char *trace_id;      /* correlation id */
  guint attempts;      /* deliveries before it was dead-lettered */
  gint64 enqueued_ns;  /* when the original was accepted */
  gint64 created_ns;   /* when it entered the DLQ */
  guint redrive_attempts;
  gint64 last_redrive_ns; /* 0 = never */
} ActrDlqRecord;

ACTR_API void actr_dlq_record_free(ActrDlqRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrDlqRecord, actr_dlq_record_free)

/* DLQ records, newest first, optionally only @category (NULL = all), at most
 * @limit (0 = all), without raw bytes.  Returns (transfer full) an array of
 * ActrDlqRecord*, or NULL on error. */
ACTR_API GPtrArray *actr_store_dlq_list(ActrStore *store, const char *category, guint limit,
                                        GError **error);

/* One DLQ record with its raw bytes (transfer full), or NULL with
 * ACTR_STORE_ERROR_NOT_FOUND. */
ACTR_API ActrDlqRecord *actr_store_dlq_get(ActrStore *store, gint64 id, GError **error);

/* Moves DLQ record @id back into the inbox as a queued message with zero
 * attempts (its request_id becomes pending again), counting a redrive.
 * Returns the new message id in @message_id (may be NULL). */
ACTR_API gboolean actr_store_dlq_requeue(ActrStore *store, gint64 id, gint64 *message_id,
                                         GError **error);

/* Deletes DLQ record @id. */
ACTR_API gboolean actr_store_dlq_delete(ActrStore *store, gint64 id, GError **error);

/* Deletes every DLQ record; the count removed goes to @removed (may be NULL).
 *
 * The three DLQ writes also work on a store opened with options.admin while
 * a node holds the mailbox: they commit as their own transactions, and the
 * node notices (PRAGMA data_version) before its next group commit, or within
 * about a second when idle, and reloads its state from the file. */
ACTR_API gboolean actr_store_dlq_purge(ActrStore *store, guint64 *removed, GError **error);

ACTR_END_DECLS

#endif /* ACTR_STORE_H */
