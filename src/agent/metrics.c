/* Agent metrics in Prometheus' text exposition format (version 0.0.4):
 * counters end in _total, the latency histogram has cumulative
 * _bucket{le=...} lines ending with le="+Inf", then _sum and _count. */
#include "agent/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/agent.h"

static const double el_bucket_le[EL_METRICS_NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                         0.5,   1,    2.5,   5,    10};

el_status el_metrics_init(el_metrics *m)
{
    memset(m, 0, sizeof *m);
    if (pthread_mutex_init(&m->lock, NULL) != 0) return el_error(EL_ERR_NOMEM, "metrics: cannot create a mutex");
    return EL_OK;
}

void el_metrics_destroy(el_metrics *m) { pthread_mutex_destroy(&m->lock); }

void el_metrics_capture(el_metrics *m, uint64_t captured, uint64_t dropped)
{
    pthread_mutex_lock(&m->lock);
    m->frames_captured = m->base_captured + captured;
    m->frames_dropped = m->base_dropped + dropped;
    pthread_mutex_unlock(&m->lock);
}

void el_metrics_capture_end(el_metrics *m, uint64_t captured, uint64_t dropped)
{
    pthread_mutex_lock(&m->lock);
    m->base_captured += captured;
    m->base_dropped += dropped;
    m->frames_captured = m->base_captured;
    m->frames_dropped = m->base_dropped;
    pthread_mutex_unlock(&m->lock);
}

void el_metrics_processed(el_metrics *m, double inference_ms)
{
    double s = inference_ms / 1000.0;
    pthread_mutex_lock(&m->lock);
    m->frames_processed++;
    int b = 0;
    while (b < EL_METRICS_NBUCKETS && s > el_bucket_le[b]) b++;
    if (b < EL_METRICS_NBUCKETS) m->buckets[b]++;
    m->latency_count++;
    m->latency_sum_s += s;
    pthread_mutex_unlock(&m->lock);
}

void el_metrics_view_dropped(el_metrics *m)
{
    pthread_mutex_lock(&m->lock);
    m->view_dropped++;
    pthread_mutex_unlock(&m->lock);
}

void el_metrics_failure(el_metrics *m)
{
    pthread_mutex_lock(&m->lock);
    m->failures++;
    pthread_mutex_unlock(&m->lock);
}

void el_metrics_running(el_metrics *m, bool running)
{
    pthread_mutex_lock(&m->lock);
    m->running = running;
    pthread_mutex_unlock(&m->lock);
}

void el_metrics_mqtt(el_metrics *m, bool enabled, bool connected, uint64_t published, uint64_t dropped,
                     uint64_t queued, uint64_t reconnects)
{
    pthread_mutex_lock(&m->lock);
    m->mqtt_enabled = enabled;
    m->mqtt_connected = connected;
    m->mqtt_published = published;
    m->mqtt_dropped = dropped;
    m->mqtt_queued = queued;
    m->mqtt_reconnects = reconnects;
    pthread_mutex_unlock(&m->lock);
}

typedef struct el_sb {
    char *buf;
    size_t len, cap;
    bool oom;
} el_sb;

static void el_sb_printf(el_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void el_sb_printf(el_sb *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n;
        char *nb = realloc(b->buf, ncap);
        if (!nb) {
            b->oom = true;
            return;
        }
        b->buf = nb;
        b->cap = ncap;
    }
}

static void el_counter(el_sb *b, const char *name, const char *help, uint64_t v)
{
    el_sb_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

static void el_gauge(el_sb *b, const char *name, const char *help, double v)
{
    el_sb_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

el_status el_metrics_render(el_metrics *m, char **out)
{
    *out = NULL;
    el_metrics s;
    pthread_mutex_lock(&m->lock);
    s = *m;
    pthread_mutex_unlock(&m->lock);

    el_sb b = {.cap = 4096};
    b.buf = malloc(b.cap);
    if (!b.buf) return el_error(EL_ERR_NOMEM, "metrics: out of memory");
    b.buf[0] = '\0';
    el_sb_printf(&b, "# HELP edgelens_info Build information.\n# TYPE edgelens_info gauge\n"
                     "edgelens_info{version=\"%s\"} 1\n", EL_AGENT_VERSION);
    el_gauge(&b, "edgelens_running", "1 while inferencing, 0 after a failure until the restart.", s.running);
    el_counter(&b, "edgelens_frames_captured_total", "Frames read from the source.", s.frames_captured);
    el_counter(&b, "edgelens_frames_processed_total", "Frames that went through the detector.", s.frames_processed);
    el_counter(&b, "edgelens_frames_dropped_total",
               "Frames replaced by a newer one before the detector took them.", s.frames_dropped);
    el_counter(&b, "edgelens_view_frames_dropped_total",
               "Frames not annotated for the live view because it was busy.", s.view_dropped);
    el_counter(&b, "edgelens_failures_total", "Failures that restarted the loop (Test failed).", s.failures);

    const char *h = "edgelens_inference_seconds";
    el_sb_printf(&b, "# HELP %s Time the detection graph took per frame.\n# TYPE %s histogram\n", h, h);
    uint64_t cum = 0;
    for (int i = 0; i < EL_METRICS_NBUCKETS; i++) {
        cum += s.buckets[i];
        el_sb_printf(&b, "%s_bucket{le=\"%g\"} %llu\n", h, el_bucket_le[i], (unsigned long long)cum);
    }
    el_sb_printf(&b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", h,
                 (unsigned long long)s.latency_count, h, s.latency_sum_s, h, (unsigned long long)s.latency_count);

    el_gauge(&b, "edgelens_mqtt_enabled", "1 when a broker is configured.", s.mqtt_enabled);
    el_gauge(&b, "edgelens_mqtt_connected", "1 while connected to the broker.", s.mqtt_connected);
    el_counter(&b, "edgelens_mqtt_messages_published_total", "Messages handed to the broker.", s.mqtt_published);
    el_counter(&b, "edgelens_mqtt_messages_dropped_total",
               "Messages dropped from the full queue while the broker was away.", s.mqtt_dropped);
    el_gauge(&b, "edgelens_mqtt_messages_queued", "Messages waiting for the broker.", (double)s.mqtt_queued);
    el_counter(&b, "edgelens_mqtt_reconnects_total", "Reconnections to the broker.", s.mqtt_reconnects);
    if (b.oom) {
        free(b.buf);
        return el_error(EL_ERR_NOMEM, "metrics: out of memory");
    }
    *out = b.buf;
    return EL_OK;
}
