/* actrd — rate limiting.  Contract: actrd-ratelimit.h. */
#include "actrd-ratelimit.h"

#include <string.h>

#define PRUNE_EVERY_TAKES 4096
#define CLIENT_IP_KEY     "actrd-client-ip"

void
actrd_token_bucket_init(ActrdTokenBucket *b, double rate_per_sec, double burst)
{
  b->rate = rate_per_sec;
  b->burst = burst;
  b->tokens = burst;
  b->last_us = 0;
}

static void
bucket_refill(ActrdTokenBucket *b, gint64 now_us)
{
  if (b->last_us != 0 && now_us > b->last_us)
    b->tokens = MIN(b->burst, b->tokens + (double)(now_us - b->last_us) * b->rate / 1e6);
  if (b->last_us == 0 || now_us > b->last_us)
    b->last_us = now_us;
}

gboolean
actrd_token_bucket_take(ActrdTokenBucket *b, gint64 now_us)
{
  bucket_refill(b, now_us);
  if (b->tokens < 1.0)
    return FALSE;
  b->tokens -= 1.0;
  return TRUE;
}

/* ---- client IP ------------------------------------------------------------ */

/* The first element of a comma-separated list, trimmed (transfer full), or
 * NULL when empty. */
static char *
first_item(const char *list)
{
  const char *comma = strchr(list, ',');
  g_autofree char *item = comma != NULL ? g_strndup(list, comma - list) : g_strdup(list);

  g_strstrip(item);
  if (item[0] == '\0' || strlen(item) > 64)
    return NULL;
  return g_steal_pointer(&item);
}

/* The for= value of the first element of a Forwarded header (RFC 7239),
 * without quotes, brackets or port for IPv6 ("[2001:db8::1]:4711"). */
static char *
forwarded_for(const char *header)
{
  g_autofree char *first = first_item(header);
  g_auto(GStrv) pairs = NULL;

  if (first == NULL)
    return NULL;
  pairs = g_strsplit(first, ";", -1);
  for (guint i = 0; pairs[i] != NULL; i++) {
    char *pair = g_strstrip(pairs[i]);

    if (g_ascii_strncasecmp(pair, "for=", 4) == 0) {
      char *value = pair + 4;
      gsize len;

      if (value[0] == '"')
        value++;
      len = strlen(value);
      if (len > 0 && value[len - 1] == '"')
        value[--len] = '\0';
      if (value[0] == '[') {
        char *end = strchr(value, ']');
        if (end == NULL)
          return NULL;
        return g_strndup(value + 1, end - value - 1);
      }
      if (value[0] == '\0' || len > 64)
        return NULL;
      return g_strdup(value);
    }
  }
  return NULL;
}

const char *
actrd_client_ip(SoupServerMessage *msg)
{
  const char *cached = g_object_get_data(G_OBJECT(msg), CLIENT_IP_KEY);
  SoupMessageHeaders *headers;
  const char *value;
  char *ip = NULL;

  if (cached != NULL)
    return cached;
  headers = soup_server_message_get_request_headers(msg);
  if ((value = soup_message_headers_get_one(headers, "X-Forwarded-For")) != NULL)
    ip = first_item(value);
  if (ip == NULL && (value = soup_message_headers_get_one(headers, "X-Real-IP")) != NULL)
    ip = first_item(value);
  if (ip == NULL && (value = soup_message_headers_get_one(headers, "Forwarded")) != NULL)
    ip = forwarded_for(value);
  if (ip == NULL) {
    const char *host = soup_server_message_get_remote_host(msg);

    ip = g_strdup(host != NULL ? host : "unknown");
  }
  g_object_set_data_full(G_OBJECT(msg), CLIENT_IP_KEY, ip, g_free);
  return ip;
}

/* ---- per-IP table --------------------------------------------------------- */

struct _ActrdIpLimiter {
  double rate, burst;
  GHashTable *buckets; /* char * → ActrdTokenBucket * */
  guint takes;
};

ActrdIpLimiter *
actrd_ip_limiter_new(double rate_per_sec, double burst)
{
  ActrdIpLimiter *limiter = g_new0(ActrdIpLimiter, 1);

  limiter->rate = rate_per_sec;
  limiter->burst = burst;
  limiter->buckets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return limiter;
}

void
actrd_ip_limiter_free(ActrdIpLimiter *limiter)
{
  if (limiter == NULL)
    return;
  g_hash_table_unref(limiter->buckets);
  g_free(limiter);
}

static gboolean
bucket_is_full(gpointer key, gpointer value, gpointer user_data)
{
  ActrdTokenBucket *b = value;

  bucket_refill(b, *(gint64 *)user_data);
  return b->tokens >= b->burst;
}

gboolean
actrd_ip_limiter_take(ActrdIpLimiter *limiter, const char *ip, gint64 now_us)
{
  /* Prune first, then look up: pruning frees full buckets, possibly this
   * caller's (a use-after-free when the lookup came first). */
  if (++limiter->takes % PRUNE_EVERY_TAKES == 0)
    g_hash_table_foreach_remove(limiter->buckets, bucket_is_full, &now_us);
  ActrdTokenBucket *b = g_hash_table_lookup(limiter->buckets, ip);
  if (b == NULL) {
    b = g_new(ActrdTokenBucket, 1);
    actrd_token_bucket_init(b, limiter->rate, limiter->burst);
    g_hash_table_insert(limiter->buckets, g_strdup(ip), b);
  }
  return actrd_token_bucket_take(b, now_us);
}
