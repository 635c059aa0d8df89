/* actrd — metrics.  Contract: actrd-metrics.h. */
#include "actrd-metrics.h"

#include <string.h>

/* Register latency buckets, in seconds (upper bounds; +Inf is implied). */
static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
#define N_BOUNDS G_N_ELEMENTS(latency_bounds)

static const char *const limited_where[] = {"ais", "ws-connect", "ws-message", "other"};
#define N_WHERE G_N_ELEMENTS(limited_where)

struct _ActrdMetrics {
  gint64 registered_nodes;
  guint64 connections_open;
  guint64 connections_total;
  guint64 relays_total;
  guint64 rate_limited[N_WHERE];
  guint64 latency_buckets[N_BOUNDS]; /* non-cumulative counts */
  guint64 latency_count;
  double latency_sum;
  guint64 register_ok;
  guint64 register_failed;
};

ActrdMetrics *
actrd_metrics_new(void)
{
  return g_new0(ActrdMetrics, 1);
}

void
actrd_metrics_free(ActrdMetrics *m)
{
  g_free(m);
}

void
actrd_metrics_connection_opened(ActrdMetrics *m)
{
  if (m == NULL)
    return;
  m->connections_open++;
  m->connections_total++;
}

void
actrd_metrics_connection_closed(ActrdMetrics *m)
{
  if (m != NULL && m->connections_open > 0)
    m->connections_open--;
}

void
actrd_metrics_relay(ActrdMetrics *m)
{
  if (m != NULL)
    m->relays_total++;
}

void
actrd_metrics_rate_limited(ActrdMetrics *m, const char *where)
{
  gsize i;

  if (m == NULL)
    return;
  for (i = 0; i < N_WHERE - 1; i++) {
    if (where != NULL && strcmp(where, limited_where[i]) == 0)
      break;
  }
  m->rate_limited[i]++;
}

void
actrd_metrics_registered_nodes(ActrdMetrics *m, gint delta)
{
  if (m == NULL)
    return;
  m->registered_nodes += delta;
  if (m->registered_nodes < 0)
    m->registered_nodes = 0;
}

void
actrd_metrics_register_done(ActrdMetrics *m, double seconds, guint code)
{
  gsize i;

  if (m == NULL)
    return;
  for (i = 0; i < N_BOUNDS && seconds > latency_bounds[i]; i++)
    ;
  if (i < N_BOUNDS)
    m->latency_buckets[i]++;
  m->latency_count++;
  m->latency_sum += seconds;
  if (code == 0)
    m->register_ok++;
  else
    m->register_failed++;
}

char *
actrd_metrics_render(ActrdMetrics *m)
{
  GString *out = g_string_new(NULL);
  guint64 cumulative = 0;
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_printf(out,
                         "# HELP actrd_registered_nodes Nodes currently registered with the "
                         "signaling server.\n"
                         "# TYPE actrd_registered_nodes gauge\n"
                         "actrd_registered_nodes %" G_GINT64_FORMAT "\n",
                         m->registered_nodes);
  g_string_append_printf(out,
                         "# HELP actrd_signaling_connections Open signaling WebSocket "
                         "connections.\n"
                         "# TYPE actrd_signaling_connections gauge\n"
                         "actrd_signaling_connections %" G_GUINT64_FORMAT "\n",
                         m->connections_open);
  g_string_append_printf(out,
                         "# HELP actrd_signaling_connections_total Signaling WebSocket "
                         "connections accepted since start.\n"
                         "# TYPE actrd_signaling_connections_total counter\n"
                         "actrd_signaling_connections_total %" G_GUINT64_FORMAT "\n",
                         m->connections_total);
  g_string_append_printf(out,
                         "# HELP actrd_relays_total ActrRelay messages forwarded since start "
                         "(relays per second: rate(actrd_relays_total[1m])).\n"
                         "# TYPE actrd_relays_total counter\n"
                         "actrd_relays_total %" G_GUINT64_FORMAT "\n",
                         m->relays_total);
  g_string_append(out, "# HELP actrd_rate_limited_total Requests rejected by a rate limiter, by "
                       "where the limit applies.\n"
                       "# TYPE actrd_rate_limited_total counter\n");
  for (gsize i = 0; i < N_WHERE; i++)
    g_string_append_printf(out, "actrd_rate_limited_total{where=\"%s\"} %" G_GUINT64_FORMAT "\n",
                           limited_where[i], m->rate_limited[i]);
  g_string_append_printf(out,
                         "# HELP actrd_registrations_total POST /ais/register requests by "
                         "outcome.\n"
                         "# TYPE actrd_registrations_total counter\n"
                         "actrd_registrations_total{result=\"ok\"} %" G_GUINT64_FORMAT "\n"
                         "actrd_registrations_total{result=\"error\"} %" G_GUINT64_FORMAT "\n",
                         m->register_ok, m->register_failed);
  g_string_append(out, "# HELP actrd_register_duration_seconds Time to handle POST "
                       "/ais/register.\n"
                       "# TYPE actrd_register_duration_seconds histogram\n");
  for (gsize i = 0; i < N_BOUNDS; i++) {
    cumulative += m->latency_buckets[i];
    g_ascii_formatd(number, sizeof number, "%g", latency_bounds[i]);
    g_string_append_printf(
        out, "actrd_register_duration_seconds_bucket{le=\"%s\"} %" G_GUINT64_FORMAT "\n", number,
        cumulative);
  }
  g_ascii_formatd(number, sizeof number, "%.9g", m->latency_sum);
  g_string_append_printf(out,
                         "actrd_register_duration_seconds_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT
                         "\n"
                         "actrd_register_duration_seconds_sum %s\n"
                         "actrd_register_duration_seconds_count %" G_GUINT64_FORMAT "\n",
                         m->latency_count, number, m->latency_count);
  return g_string_free(out, FALSE);
}
