/* The device loop: the DeepLens guide's Lambda as a service.
 *
 * Threads: capture decodes in its own thread (video/capture) and keeps only
 * the newest frame; this loop runs inference; with a live view, annotation
 * and JPEG encoding run in a view worker fed through a one-deep "latest"
 * slot, so drawing and encoding never slow inference (a frame arriving while
 * the slot is still full replaces it and is counted as dropped). MQTT I/O
 * happens in libmosquitto's thread; publishing only queues.
 *
 * Lifetimes: a session (MQTT client, HTTP server, view worker) lasts until
 * a stop or a reload; an attempt (model + source) lasts until a failure,
 * after which the guide's rule applies: "Test failed: <reason>", wait the
 * retry delay, start the whole attempt again. The MQTT connection outlives
 * attempts so the failure itself gets delivered. */
#include "edgelens/agent.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/metrics.h"
#include "detect/annotate.h"
#include "edgelens/detect.h"
#include "edgelens/image.h"
#include "sinks/http.h"
#include "sinks/mqtt.h"
#include "sinks/payload.h"
#include "video/capture.h"
#include "video/source.h"

/* How often blocking waits look at the stop/reload flags. */
#define EL_POLL_MS 100
/* JPEG quality of the live view: a good trade between size and legibility
 * of the drawn labels. */
#define EL_VIEW_QUALITY 80
#define EL_REASON_MAX 1024

/* ---- view worker ------------------------------------------------------------ */

typedef struct el_view {
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool quit, full, busy;
    el_image slot;           /* the latest frame waiting to be drawn */
    el_detection *dets;      /* its detections; labels borrowed from the detector */
    int n, cap;
    el_http *http;
    el_metrics *metrics;
} el_view;

static el_status el_dets_copy(el_detection **dst, int *cap, const el_detection *src, int n)
{
    if (n > *cap) {
        el_detection *d = realloc(*dst, (size_t)n * sizeof *d);
        if (!d) return el_error(EL_ERR_NOMEM, "view: out of memory for %d detections", n);
        *dst = d;
        *cap = n;
    }
    if (n) memcpy(*dst, src, (size_t)n * sizeof *src);
    return EL_OK;
}

static void *el_view_main(void *arg)
{
    el_view *v = arg;
    el_image img = {0};
    el_detection *dets = NULL;
    int n = 0, cap = 0;
    pthread_mutex_lock(&v->lock);
    for (;;) {
        while (!v->quit && !v->full) pthread_cond_wait(&v->cond, &v->lock);
        if (v->quit) break;
        el_image t = img;
        img = v->slot;
        v->slot = t;
        n = 0;
        if (el_dets_copy(&dets, &cap, v->dets, v->n) == EL_OK) n = v->n;
        v->full = false;
        v->busy = true;
        pthread_mutex_unlock(&v->lock);

        unsigned char *jpeg = NULL;
        size_t len = 0;
        if (el_annotate(&img, dets, n) == EL_OK && el_image_encode_jpeg(&img, EL_VIEW_QUALITY, &jpeg, &len) == EL_OK)
            el_http_set_frame(v->http, jpeg, len);
        free(jpeg);

        pthread_mutex_lock(&v->lock);
        v->busy = false;
        pthread_cond_broadcast(&v->cond);
    }
    pthread_mutex_unlock(&v->lock);
    el_image_free(&img);
    free(dets);
    return NULL;
}

static el_status el_view_start(el_view *v, el_http *http, el_metrics *metrics)
{
    memset(v, 0, sizeof *v);
    v->http = http;
    v->metrics = metrics;
    if (pthread_mutex_init(&v->lock, NULL) != 0) return el_error(EL_ERR_NOMEM, "view: cannot create a mutex");
    if (pthread_cond_init(&v->cond, NULL) != 0) {
        pthread_mutex_destroy(&v->lock);
        return el_error(EL_ERR_NOMEM, "view: cannot create a condition variable");
    }
    if (pthread_create(&v->thread, NULL, el_view_main, v) != 0) {
        pthread_cond_destroy(&v->cond);
        pthread_mutex_destroy(&v->lock);
        return el_error(EL_ERR_NOMEM, "view: cannot start the worker thread");
    }
    v->started = true;
    return EL_OK;
}

/* Hands the frame over by swapping buffers (no copy): *frame receives the
 * slot's previous buffer, which the capture thread fills next. */
static void el_view_offer(el_view *v, el_image *frame, const el_detection *d, int n)
{
    if (!v->started) return;
    pthread_mutex_lock(&v->lock);
    if (v->full) el_metrics_view_dropped(v->metrics);
    if (el_dets_copy(&v->dets, &v->cap, d, n) == EL_OK) {
        el_image t = v->slot;
        v->slot = *frame;
        *frame = t;
        v->n = n;
        v->full = true;
        pthread_cond_signal(&v->cond);
    }
    pthread_mutex_unlock(&v->lock);
}

/* Empties the slot and waits for the worker to finish its frame: after
 * this, no detection label of the current detector is referenced. */
static void el_view_drain(el_view *v)
{
    if (!v->started) return;
    pthread_mutex_lock(&v->lock);
    v->full = false;
    v->n = 0;
    while (v->busy) pthread_cond_wait(&v->cond, &v->lock);
    pthread_mutex_unlock(&v->lock);
}

static void el_view_stop(el_view *v)
{
    if (!v->started) return;
    pthread_mutex_lock(&v->lock);
    v->quit = true;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    pthread_join(v->thread, NULL);
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
    el_image_free(&v->slot);
    free(v->dets);
    memset(v, 0, sizeof *v);
}

/* ---- agent ------------------------------------------------------------------ */

typedef struct el_agent {
    const el_agent_control *ctl;
    el_agent_config cfg;
    char thing[256];
    char *topic;             /* results */
    char *status_topic;      /* edgelens/<thing>/status */
    char model_name[256];    /* last path component of cfg.model */
    el_mqtt *mqtt;
    el_http *http;
    el_view view;
    el_metrics metrics;
    bool mqtt_was_connected;
    bool results_closed;     /* the reader of the results went away */
    double fps;
} el_agent;

static bool el_flag(volatile sig_atomic_t *f) { return f && *f; }
static bool el_should_stop(const el_agent *a) { return el_flag(a->ctl->stop) || a->results_closed; }
static bool el_should_break(const el_agent *a) { return el_should_stop(a) || el_flag(a->ctl->reload); }

static double el_now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double el_now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void el_log(el_agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void el_log(el_agent *a, const char *fmt, ...)
{
    FILE *f = a->ctl->log;
    if (!f) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One write per line so concurrent writers never interleave mid-line. */
    fprintf(f, "edgelens run: %s\n", msg);
    fflush(f);
}

/* The guide's plain-text messages: to the results topic, and to the log. */
static void el_say(el_agent *a, const char *text)
{
    el_log(a, "%s", text);
    if (a->mqtt && el_mqtt_publish(a->mqtt, a->topic, text, strlen(text), -1, false) != EL_OK)
        el_log(a, "cannot publish to %s: %s", a->topic, el_last_error());
}

static char *el_status_doc(el_agent *a, const char *state, const char *reason)
{
    el_payload_status s = {
        .thing = a->thing,
        .state = state,
        .reason = reason,
        .model = a->model_name,
        .fps = a->fps,
        .version = EL_AGENT_VERSION,
        .time_unix = el_now_unix(),
    };
    return el_payload_status_doc(&s);
}

static void el_publish_status(el_agent *a, const char *state, const char *reason)
{
    if (!a->mqtt) return;
    char *doc = el_status_doc(a, state, reason);
    if (!doc) {
        el_log(a, "cannot build the %s status document", state);
        return;
    }
    /* Retained with QoS 1: a subscriber arriving later (a dashboard, the
     * fleet view) reads the device's last state, and it is not lost. */
    if (el_mqtt_publish(a->mqtt, a->status_topic, doc, strlen(doc), 1, true) != EL_OK)
        el_log(a, "cannot publish the status: %s", el_last_error());
    free(doc);
}

static void el_update_mqtt_metrics(el_agent *a)
{
    if (!a->mqtt) {
        el_metrics_mqtt(&a->metrics, false, false, 0, 0, 0, 0);
        return;
    }
    el_mqtt_stats s;
    el_mqtt_get_stats(a->mqtt, &s);
    el_metrics_mqtt(&a->metrics, true, s.connected, s.published, s.dropped, s.queued, s.reconnects);
    if (s.connected != a->mqtt_was_connected) {
        if (s.connected) el_log(a, "connected to %s", a->cfg.mqtt.url);
        else el_log(a, "lost the broker at %s; queueing (up to the bound) and reconnecting", a->cfg.mqtt.url);
        a->mqtt_was_connected = s.connected;
    }
}

static el_status el_metrics_cb(void *ctx, char **out) { return el_metrics_render(&((el_agent *)ctx)->metrics, out); }

static void el_set_health(el_agent *a, bool ok, const char *reason)
{
    if (a->http) el_http_set_health(a->http, ok, reason);
}

/* Sleeps up to `s` seconds, waking early for a stop or reload request. */
static void el_wait(el_agent *a, double s)
{
    double until = el_now_mono() + s;
    while (!el_should_break(a)) {
        el_update_mqtt_metrics(a);
        double left = until - el_now_mono();
        if (left <= 0) break;
        double step = left < EL_POLL_MS / 1000.0 ? left : EL_POLL_MS / 1000.0;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(step * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static char *el_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *el_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void el_basename(const char *path, char *buf, size_t cap)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/') start--;
    size_t n = len - start;
    if (n >= cap) n = cap - 1;
    memcpy(buf, path + start, n);
    buf[n] = '\0';
}

/* ---- session ---------------------------------------------------------------- */

static void el_session_close(el_agent *a, bool offline)
{
    /* The view worker writes into the HTTP server: stop it first. */
    el_view_stop(&a->view);
    el_http_stop(a->http);
    a->http = NULL;
    if (a->mqtt) {
        if (offline) el_publish_status(a, "offline", NULL);
        /* A clean disconnect sends no last will, hence the explicit
         * offline document above. */
        el_mqtt_close(a->mqtt, EL_AGENT_FLUSH_MS);
        a->mqtt = NULL;
    }
    a->mqtt_was_connected = false;
    free(a->topic);
    free(a->status_topic);
    a->topic = a->status_topic = NULL;
    el_agent_config_free(&a->cfg);
}

/* Takes a copy of cfg and starts the MQTT client, HTTP server and view
 * worker. On failure everything is released. */
static el_status el_session_open(el_agent *a, const el_agent_config *cfg)
{
    EL_TRY(el_agent_config_validate(cfg));
    EL_TRY(el_agent_config_copy(&a->cfg, cfg));
    el_status st = EL_OK;
    if (!a->cfg.model) {
        /* The same default as `edgelens detect` without --model. */
        char path[4096];
        st = el_detector_default_model(path, sizeof path);
        if (st == EL_OK) st = el_agent_config_set(&a->cfg, "model", path);
        if (st != EL_OK) goto fail;
    }
    if (a->cfg.thing) {
        snprintf(a->thing, sizeof a->thing, "%s", a->cfg.thing);
    } else if (gethostname(a->thing, sizeof a->thing) != 0 || !a->thing[0]) {
        snprintf(a->thing, sizeof a->thing, "edgelens");
    }
    a->thing[sizeof a->thing - 1] = '\0';
    /* The thing name becomes a topic level: MQTT forbids wildcards in topic
     * names and a '/' would silently change the topic's depth. */
    if (strpbrk(a->thing, "/+#")) {
        st = el_error(EL_ERR_INVALID_ARG, "thing name '%s' must not contain '/', '+' or '#'", a->thing);
        goto fail;
    }
    el_basename(a->cfg.model, a->model_name, sizeof a->model_name);
    a->topic = a->cfg.topic ? strdup(a->cfg.topic) : el_strdupf("$aws/things/%s/infer", a->thing);
    a->status_topic = el_strdupf("edgelens/%s/status", a->thing);
    if (!a->topic || !a->status_topic) {
        st = el_error(EL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (a->cfg.mqtt.url) {
        a->fps = 0;
        char *will = el_status_doc(a, "offline", NULL);
        if (!will) {
            st = el_error(EL_ERR_NOMEM, "cannot build the last-will document");
            goto fail;
        }
        el_mqtt_opts mo = {
            .url = a->cfg.mqtt.url,
            .client_id = a->cfg.mqtt.client_id,
            .username = a->cfg.mqtt.username,
            .password = a->cfg.mqtt.password,
            .ca_file = a->cfg.mqtt.ca_file,
            .cert_file = a->cfg.mqtt.cert_file,
            .key_file = a->cfg.mqtt.key_file,
            .qos = a->cfg.mqtt.qos,
            .keepalive_s = a->cfg.mqtt.keepalive,
            .will_topic = a->status_topic,
            .will_payload = will,
            .will_retain = true,
        };
        st = el_mqtt_open(&mo, &a->mqtt);
        free(will);
        if (st != EL_OK) goto fail;
    }
    if (a->cfg.http) {
        st = el_http_start(a->cfg.http, el_metrics_cb, a, &a->http);
        if (st != EL_OK) goto fail;
        el_http_set_health(a->http, false, "starting");
        st = el_view_start(&a->view, a->http, &a->metrics);
        if (st != EL_OK) goto fail;
        el_log(a, "live view on http://%s (port %d)", a->cfg.http, el_http_port(a->http));
    }
    el_update_mqtt_metrics(a);
    return EL_OK;
fail:
    {
        char msg[EL_REASON_MAX];
        snprintf(msg, sizeof msg, "%s", el_last_error());
        el_session_close(a, false);
        el_error(st, "%s", msg);
    }
    return st;
}

/* ---- attempt ------------------------------------------------------------------ */

static void el_emit(el_agent *a, const char *payload)
{
    if (a->mqtt) {
        if (el_mqtt_publish(a->mqtt, a->topic, payload, strlen(payload), -1, false) != EL_OK)
            el_log(a, "cannot publish to %s: %s", a->topic, el_last_error());
    } else if (a->ctl->results) {
        FILE *f = a->ctl->results;
        errno = 0;
        if ((fputs(payload, f) == EOF || fputc('\n', f) == EOF || fflush(f) == EOF) && errno == EPIPE) {
            /* `edgelens run ... | head`: nobody reads the results any more,
             * so stop as a command line tool would on SIGPIPE, but cleanly. */
            el_log(a, "the results output was closed; stopping");
            a->results_closed = true;
        }
    }
}

/* One run of the guide's function. Returns EL_OK when asked to stop or
 * reload, or the failure (its message is the "Test failed" reason). */
static el_status el_attempt(el_agent *a)
{
    el_detector *det = NULL;
    el_capture *cap = NULL;
    el_image frame = {0};
    el_status st;
    el_detector_opts dopts = {.threads = a->cfg.threads, .precision = a->cfg.precision};

    st = el_detector_open(a->cfg.model, a->cfg.labels, &dopts, &det);
    if (st != EL_OK) {
        el_error_prefix(st, "cannot load the model: ");
        return st;
    }
    el_say(a, "Model loaded");
    if (el_should_break(a)) goto out;
    el_say(a, "Start inferencing");

    el_source *src = NULL;
    el_source_opts so = {.loop = a->cfg.loop, .realtime = a->cfg.pace};
    st = el_source_open(a->cfg.source, &so, &src);
    if (st == EL_OK) st = el_capture_start(src, &cap);
    if (st != EL_OK) {
        cap = NULL;
        el_error_prefix(st, "cannot open the source: ");
        goto out;
    }
    a->fps = el_capture_fps(cap);
    el_publish_status(a, "online", NULL);
    el_set_health(a, true, NULL);
    el_metrics_running(&a->metrics, true);

    while (!el_should_break(a)) {
        uint64_t seq = 0;
        st = el_capture_next(cap, &frame, &seq, EL_POLL_MS);
        el_capture_stats cs;
        el_capture_get_stats(cap, &cs);
        el_metrics_capture(&a->metrics, cs.captured, cs.dropped);
        el_update_mqtt_metrics(a);
        if (st == EL_ERR_TIMEOUT) {
            st = EL_OK;
            continue;
        }
        if (st == EL_ERR_END) {
            /* The guide's "Failed to get frame from the stream". */
            el_error(st, "the source %s ended (use --loop to restart it)", el_capture_uri(cap));
            goto out;
        }
        if (st != EL_OK) {
            el_error_prefix(st, "failed to get a frame from the stream: ");
            goto out;
        }
        el_detection *d = NULL;
        int n = 0;
        double ms = 0;
        st = el_detector_run(det, &frame, a->cfg.threshold, &d, &n, &ms);
        if (st != EL_OK) {
            el_error_prefix(st, "inference failed: ");
            goto out;
        }
        el_metrics_processed(&a->metrics, ms);
        char *full = NULL, *seed = NULL;
        if (a->cfg.format == EL_AGENT_FORMAT_FULL || a->http) {
            el_payload_meta meta = {
                .thing = a->thing,
                .time_unix = el_now_unix(),
                .frame = seq,
                .source = el_capture_uri(cap),
                .model = a->model_name,
                .inference_ms = ms,
                .width = frame.width,
                .height = frame.height,
            };
            full = el_payload_full(&meta, d, n);
        }
        if (a->cfg.format == EL_AGENT_FORMAT_SEED) seed = el_payload_seed(d, n);
        const char *payload = a->cfg.format == EL_AGENT_FORMAT_SEED ? seed : full;
        if (payload) el_emit(a, payload);
        else el_log(a, "cannot build the payload of frame %llu", (unsigned long long)seq);
        if (a->http) {
            if (full) el_http_set_latest(a->http, full);
            el_view_offer(&a->view, &frame, d, n);
        }
        free(full);
        free(seed);
        free(d);
    }
    st = EL_OK;
out:;
    char msg[EL_REASON_MAX];
    snprintf(msg, sizeof msg, "%s", el_last_error());
    el_metrics_running(&a->metrics, false);
    el_view_drain(&a->view);
    if (cap) {
        el_capture_stats cs;
        el_capture_get_stats(cap, &cs);
        el_capture_stop(cap);
        el_metrics_capture_end(&a->metrics, cs.captured, cs.dropped);
    }
    el_image_free(&frame);
    el_detector_free(det);
    if (st != EL_OK) el_error(st, "%s", msg);
    return st;
}

/* ---- run ---------------------------------------------------------------------- */

el_status el_agent_run(const el_agent_config *cfg, const el_agent_control *ctl)
{
    static const el_agent_control none = {0};
    el_agent a = {.ctl = ctl ? ctl : &none};
    EL_TRY(el_metrics_init(&a.metrics));
    el_status st = el_session_open(&a, cfg);
    if (st != EL_OK) {
        el_metrics_destroy(&a.metrics);
        return st;
    }
    el_agent_config prev;
    el_agent_config_init(&prev);
    while (!el_should_stop(&a)) {
        st = el_attempt(&a);
        if (st != EL_OK) {
            char reason[EL_REASON_MAX];
            snprintf(reason, sizeof reason, "%s", el_last_error());
            char text[EL_REASON_MAX + 32];
            snprintf(text, sizeof text, "Test failed: %s", reason);
            el_metrics_failure(&a.metrics);
            el_say(&a, text);
            el_publish_status(&a, "error", reason);
            el_set_health(&a, false, reason);
            el_log(&a, "restarting in %g s", a.cfg.retry_delay);
            el_wait(&a, a.cfg.retry_delay);
        }
        if (el_should_stop(&a) || !el_flag(a.ctl->reload)) continue;

        /* SIGHUP: read the configuration again and restart the session with
         * it; a configuration that does not work leaves the current one. */
        *a.ctl->reload = 0;
        el_agent_config next;
        el_agent_config_init(&next);
        el_status rs = a.ctl->reload_fn ? a.ctl->reload_fn(a.ctl->reload_ctx, &next) : el_agent_config_copy(&next, &a.cfg);
        if (rs == EL_OK) rs = el_agent_config_validate(&next);
        if (rs != EL_OK) {
            el_log(&a, "reload failed, keeping the current configuration: %s", el_last_error());
            el_agent_config_free(&next);
            continue;
        }
        el_log(&a, "configuration reloaded, restarting");
        el_agent_config_free(&prev);
        if (el_agent_config_copy(&prev, &a.cfg) != EL_OK) {
            el_agent_config_free(&next);
            el_log(&a, "reload failed: %s", el_last_error());
            continue;
        }
        el_session_close(&a, false);
        st = el_session_open(&a, &next);
        el_agent_config_free(&next);
        if (st != EL_OK) {
            el_log(&a, "the new configuration does not start (%s); going back to the previous one", el_last_error());
            st = el_session_open(&a, &prev);
            if (st != EL_OK) {
                el_agent_config_free(&prev);
                el_metrics_destroy(&a.metrics);
                return st;
            }
        }
    }
    el_log(&a, "stopping");
    el_session_close(&a, true);
    el_agent_config_free(&prev);
    el_metrics_destroy(&a.metrics);
    return EL_OK;
}
