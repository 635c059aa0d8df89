/* actrd — counters and the /metrics page (Prometheus text format 0.0.4).
 *
 * Thread: server loop only.  Every function accepts a NULL @m and then does
 * nothing, so code paths used without a server (fuzzing) need no checks.
 */
#ifndef ACTRD_METRICS_H
#define ACTRD_METRICS_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ActrdMetrics ActrdMetrics;

ActrdMetrics *actrd_metrics_new(void);
void actrd_metrics_free(ActrdMetrics *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrdMetrics, actrd_metrics_free)

/* Signaling (called by actrd-signaling). */
void actrd_metrics_connection_opened(ActrdMetrics *m);
void actrd_metrics_connection_closed(ActrdMetrics *m);
void actrd_metrics_relay(ActrdMetrics *m);
/* @where: "ais", "ws-connect" or "ws-message" (static strings; others are
 * counted as "other"). */
void actrd_metrics_rate_limited(ActrdMetrics *m, const char *where);
void actrd_metrics_registered_nodes(ActrdMetrics *m, gint delta);

/* AIS: one finished POST /ais/register, its duration and its outcome code
 * (0 for success, else the RegisterResponse error code). */
void actrd_metrics_register_done(ActrdMetrics *m, double seconds, guint code);

/* The whole page (transfer full). */
char *actrd_metrics_render(ActrdMetrics *m);

G_END_DECLS

#endif /* ACTRD_METRICS_H */
