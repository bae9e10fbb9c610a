/* The agent's counters, rendered as Prometheus text for /metrics.
 * Thread-safe: the loop updates, the HTTP server's threads render. */
#ifndef EL_AGENT_METRICS_H
#define EL_AGENT_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "edgelens/status.h"

/* Prometheus' default histogram buckets (seconds), the ones client
 * libraries use unless told otherwise, so dashboards can compare. */
#define EL_METRICS_NBUCKETS 11

typedef struct el_metrics {
    pthread_mutex_t lock;
    uint64_t frames_captured;   /* read from the source (all runs) */
    uint64_t frames_processed;  /* went through the detector */
    uint64_t frames_dropped;    /* overwritten in the capture slot */
    uint64_t view_dropped;      /* not annotated: the view worker was busy */
    uint64_t failures;          /* "Test failed" restarts */
    uint64_t buckets[EL_METRICS_NBUCKETS];  /* non-cumulative counts */
    uint64_t latency_count;
    double latency_sum_s;
    bool mqtt_enabled;
    bool mqtt_connected;
    uint64_t mqtt_published, mqtt_dropped, mqtt_queued, mqtt_reconnects;
    /* Totals of earlier capture sessions: el_capture stats restart at 0. */
    uint64_t base_captured, base_dropped;
    bool running;               /* between "Start inferencing" and a failure */
} el_metrics;

el_status el_metrics_init(el_metrics *m);
void el_metrics_destroy(el_metrics *m);

/* The current capture session's own counts (since its start). */
void el_metrics_capture(el_metrics *m, uint64_t captured, uint64_t dropped);
/* The capture session ended: fold its final counts into the totals. */
void el_metrics_capture_end(el_metrics *m, uint64_t captured, uint64_t dropped);
void el_metrics_processed(el_metrics *m, double inference_ms);
void el_metrics_view_dropped(el_metrics *m);
void el_metrics_failure(el_metrics *m);
void el_metrics_running(el_metrics *m, bool running);
void el_metrics_mqtt(el_metrics *m, bool enabled, bool connected, uint64_t published, uint64_t dropped,
                     uint64_t queued, uint64_t reconnects);

/* Prometheus text exposition format 0.0.4; *out is malloc'd. */
el_status el_metrics_render(el_metrics *m, char **out);

#endif
