/* actrd — token buckets, a per-IP bucket table and the client-IP rule.
 *
 * Thread: server loop only; no locking.
 */
#ifndef ACTRD_RATELIMIT_H
#define ACTRD_RATELIMIT_H

#include <glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A token bucket: starts full (@burst tokens), refills @rate tokens per
 * second up to @burst; a take costs one token. */
typedef struct {
  double tokens, rate, burst;
  gint64 last_us;
} ActrdTokenBucket;

void actrd_token_bucket_init(ActrdTokenBucket *b, double rate_per_sec, double burst);

/* Refills for the time since the last call (@now_us: g_get_monotonic_time())
 * and takes one token.  FALSE (nothing taken) when the bucket is empty. */
gboolean actrd_token_bucket_take(ActrdTokenBucket *b, gint64 now_us);

/* The client IP of @msg as wire.md §3.1: the first address of
 * X-Forwarded-For, else X-Real-IP, else the for= of Forwarded, else the peer
 * address.  Transfer none: valid as long as @msg.  Never NULL ("unknown"). */
const char *actrd_client_ip(SoupServerMessage *msg);

/* One token bucket per key (a client IP).  Idle full buckets are dropped
 * now and then so the table cannot grow without bound. */
typedef struct _ActrdIpLimiter ActrdIpLimiter;

ActrdIpLimiter *actrd_ip_limiter_new(double rate_per_sec, double burst);
void actrd_ip_limiter_free(ActrdIpLimiter *limiter);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdIpLimiter, actrd_ip_limiter_free)

/* Takes one token from @ip's bucket; FALSE when it is empty. */
gboolean actrd_ip_limiter_take(ActrdIpLimiter *limiter, const char *ip, gint64 now_us);

G_END_DECLS

#endif /* ACTRD_RATELIMIT_H */
