/* The live view over HTTP, served by libmicrohttpd with one thread per
 * connection: an MJPEG stream is a long-lived response whose reader simply
 * blocks until a newer frame exists, which per-connection threads make
 * trivial (and MHD_OPTION_CONNECTION_LIMIT bounds the threads).
 *
 * Frames are shared, reference-counted JPEG buffers: the producer swaps in a
 * new one under the lock; each stream takes a reference to the newest one and
 * sends it without the lock. So every viewer gets the newest frame (a slow
 * viewer skips frames, it never queues a backlog) and the producer never
 * waits on a viewer's socket. */
#include "sinks/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

/* Concurrent connections (each a thread) and how long a client may stall a
 * send before MHD drops it. */
#define EL_HTTP_MAX_CONNECTIONS 32
#define EL_HTTP_IDLE_TIMEOUT_S 30
/* A stream re-sends the newest frame when nothing newer came for this long:
 * keeps proxies from timing out and makes a vanished viewer's send fail, so
 * its thread (and connection slot) is freed even while the camera is idle. */
#define EL_HTTP_RESEND_S 5
/* How often a waiting stream re-checks the stop flag (belt and braces: stop
 * also broadcasts the condition). */
#define EL_HTTP_WAIT_SLICE_MS 250
/* Largest frame, latest document and health reason accepted from the
 * producer; anything bigger is a bug upstream and is dropped. */
#define EL_HTTP_MAX_FRAME ((size_t)64 << 20)
#define EL_HTTP_MAX_DOC ((size_t)16 << 20)
#define EL_HTTP_MAX_REASON 1024

#define EL_HTTP_BOUNDARY "frame"

typedef struct el_http_frame {
    atomic_int refs;
    size_t len, cap;
    unsigned char data[];
} el_http_frame;

struct el_http {
    struct MHD_Daemon *daemon;
    int port;
    el_http_metrics_fn metrics;
    void *metrics_ctx;
    pthread_mutex_t metrics_mu;  /* the callback is never run concurrently */

    pthread_mutex_t mu;
    pthread_cond_t cv;           /* signalled on a new frame and on stop */
    bool stopping;
    el_http_frame *frame;        /* newest frame or NULL; one reference held */
    uint64_t frame_seq;          /* bumped on every frame */
    char *latest;                /* newest document or NULL */
    bool healthy;
    char *reason;
};

/* Marks a request whose response has been queued (see el_http_handle). */
static int el_http_seen;

static const char el_http_page[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width\">\n"
    "<title>edgelens live view</title>\n"
    "<style>\n"
    /* Fixed geometry: the stream box is always at (8,48), 480x360, so the
     * browser screenshot test knows where to look. */
    "html,body{margin:0;padding:0;background:#15171a;color:#e8e8e8;"
    "font:13px/1.4 system-ui,sans-serif}\n"
    "#bar{position:absolute;left:0;top:0;width:800px;height:40px;"
    "line-height:40px;padding:0 8px;box-sizing:border-box;background:#22262b}\n"
    "#bar b{font-size:15px;margin-right:12px}\n"
    "#health{float:right}\n"
    ".ok{color:#6c6}.bad{color:#e66}\n"
    "#view{position:absolute;left:8px;top:48px;width:480px;height:360px;"
    "object-fit:contain;background:#000;display:block;border:0}\n"
    "#side{position:absolute;left:496px;top:48px;width:296px}\n"
    "table{border-collapse:collapse;width:100%;margin-bottom:10px}\n"
    "th,td{text-align:left;padding:2px 6px;border-bottom:1px solid #333;"
    "white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:180px}\n"
    "th{color:#9aa}\n"
    "</style></head><body>\n"
    "<div id=\"bar\"><b>edgelens</b><span id=\"thing\"></span>"
    "<span id=\"health\"></span></div>\n"
    "<img id=\"view\" src=\"/stream.mjpg\" alt=\"live stream\" width=\"480\" height=\"360\">\n"
    "<div id=\"side\">\n"
    "<table id=\"info\">\n"
    "<tr><th>thing</th><td id=\"i-thing\">-</td></tr>\n"
    "<tr><th>frame</th><td id=\"i-frame\">-</td></tr>\n"
    "<tr><th>fps</th><td id=\"i-fps\">-</td></tr>\n"
    "<tr><th>inference</th><td id=\"i-inf\">-</td></tr>\n"
    "<tr><th>time</th><td id=\"i-time\">-</td></tr>\n"
    "</table>\n"
    "<table id=\"dets\"><thead><tr><th>label</th><th>score</th><th>box</th></tr></thead>"
    "<tbody id=\"rows\"></tbody></table>\n"
    "</div>\n"
    "<script>\n"
    "'use strict';\n"
    "const $ = (id) => document.getElementById(id);\n"
    "let prev = null, fps = null, tick = 0;\n"
    "function set(id, v) { $(id).textContent = v; }\n"
    "function show(d) {\n"
    "  set('i-thing', d.thing || '-'); set('thing', d.thing || '');\n"
    "  set('i-frame', d.frame != null ? d.frame : '-');\n"
    "  const num = (v) => typeof v === 'number' && isFinite(v);\n"
    "  set('i-inf', num(d.inference_ms) ? d.inference_ms.toFixed(1) + ' ms' : '-');\n"
    "  set('i-time', d.timestamp || '-');\n"
    "  const t = Date.parse(d.timestamp);\n"
    "  if (prev && num(d.frame) && d.frame > prev.frame && t > prev.t) {\n"
    "    const f = (d.frame - prev.frame) * 1000 / (t - prev.t);\n"
    "    fps = fps == null ? f : 0.7 * fps + 0.3 * f;\n"
    "  }\n"
    "  if (num(d.frame) && !isNaN(t)) prev = { frame: d.frame, t: t };\n"
    "  set('i-fps', fps != null ? fps.toFixed(1) : '-');\n"
    "  const rows = $('rows');\n"
    "  rows.textContent = '';\n"
    "  const dets = Array.isArray(d.detections) ? d.detections : [];\n"
    "  for (const x of dets.slice(0, 50)) {\n"
    "    const tr = document.createElement('tr');\n"
    "    const box = (Array.isArray(x.box) ? x.box : []).map((v) => Number(v).toFixed(2)).join(', ');\n"
    "    for (const v of [x.label != null ? x.label : 'class ' + x.class_id,\n"
    "                     num(x.score) ? (x.score * 100).toFixed(1) + '%' : '', box]) {\n"
    "      const td = document.createElement('td'); td.textContent = v; tr.appendChild(td);\n"
    "    }\n"
    "    rows.appendChild(tr);\n"
    "  }\n"
    "}\n"
    "async function poll() {\n"
    "  try {\n"
    "    const r = await fetch('/latest.json', { cache: 'no-store' });\n"
    "    if (r.ok) show(await r.json());\n"
    "    if (tick++ % 4 === 0) {\n"
    "      const h = await fetch('/healthz', { cache: 'no-store' });\n"
    "      const txt = (await h.text()).trim();\n"
    "      $('health').className = h.ok ? 'ok' : 'bad';\n"
    "      set('health', h.ok ? 'healthy' : 'unhealthy: ' + txt);\n"
    "    }\n"
    "  } catch (e) {\n"
    "    $('health').className = 'bad'; set('health', 'offline');\n"
    "  }\n"
    "  setTimeout(poll, 500);\n"
    "}\n"
    "poll();\n"
    "</script>\n"
    "</body></html>\n";

/* ---- frames ---------------------------------------------------------------- */

static void el_http_frame_unref(el_http_frame *f)
{
    if (f && atomic_fetch_sub(&f->refs, 1) == 1) free(f);
}

void el_http_set_frame(el_http *h, const unsigned char *jpeg, size_t len)
{
    if (!h || !jpeg || len == 0 || len > EL_HTTP_MAX_FRAME) return;
    pthread_mutex_lock(&h->mu);
    /* Reuse the buffer when no stream holds it: refs only grow under the lock,
     * so a count of 1 (ours) cannot change while we write. */
    el_http_frame *f = h->frame;
    if (f && atomic_load(&f->refs) == 1 && f->cap >= len) {
        memcpy(f->data, jpeg, len);
        f->len = len;
        h->frame_seq++;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        return;
    }
    pthread_mutex_unlock(&h->mu);

    f = malloc(sizeof *f + len);
    if (!f) return;  /* viewers keep the previous frame */
    atomic_init(&f->refs, 1);
    f->len = f->cap = len;
    memcpy(f->data, jpeg, len);

    pthread_mutex_lock(&h->mu);
    el_http_frame *old = h->frame;
    h->frame = f;
    h->frame_seq++;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    el_http_frame_unref(old);
}

void el_http_set_latest(el_http *h, const char *json)
{
    if (!h || !json) return;
    size_t n = strnlen(json, EL_HTTP_MAX_DOC + 1);
    if (n > EL_HTTP_MAX_DOC) return;
    char *copy = malloc(n + 1);
    if (!copy) return;
    memcpy(copy, json, n + 1);
    pthread_mutex_lock(&h->mu);
    char *old = h->latest;
    h->latest = copy;
    pthread_mutex_unlock(&h->mu);
    free(old);
}

void el_http_set_health(el_http *h, bool healthy, const char *reason)
{
    if (!h) return;
    char *copy = NULL;
    if (!healthy) {
        const char *r = reason && *reason ? reason : "unhealthy";
        size_t n = strnlen(r, EL_HTTP_MAX_REASON);
        copy = malloc(n + 1);
        if (copy) {
            memcpy(copy, r, n);
            copy[n] = '\0';
            /* One line: the body is "<reason>\n". */
            for (char *p = copy; *p; p++)
                if (*p == '\n' || *p == '\r') *p = ' ';
        }
    }
    pthread_mutex_lock(&h->mu);
    char *old = h->reason;
    h->healthy = healthy;
    h->reason = copy;
    pthread_mutex_unlock(&h->mu);
    free(old);
}

/* ---- the MJPEG stream ------------------------------------------------------ */

typedef struct el_http_stream {
    el_http *h;
    el_http_frame *frame;  /* the part being sent (one reference) */
    uint64_t seq;          /* frame_seq of that part; 0 before the first */
    char head[160];
    size_t head_len;
    size_t off, total;     /* position within head + jpeg + tail */
} el_http_stream;

/* Every part ends with the next part's boundary line, so a browser can show
 * a frame as soon as it is complete instead of waiting for the next one. */
static const char el_http_tail[] = "\r\n--" EL_HTTP_BOUNDARY "\r\n";
#define EL_HTTP_TAIL_LEN (sizeof el_http_tail - 1)

static struct timespec el_http_deadline(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Waits for a frame newer than the one sent (or the resend interval to pass
 * with a frame at hand) and makes it the current part. false: stopping. */
static bool el_http_stream_next(el_http_stream *s)
{
    el_http *h = s->h;
    el_http_frame *old = s->frame;
    s->frame = NULL;
    el_http_frame_unref(old);

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_mutex_lock(&h->mu);
    for (;;) {
        if (h->stopping) {
            pthread_mutex_unlock(&h->mu);
            return false;
        }
        if (h->frame && h->frame_seq != s->seq) break;
        if (h->frame && s->seq != 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - start.tv_sec >= EL_HTTP_RESEND_S) break;
        }
        struct timespec until = el_http_deadline(EL_HTTP_WAIT_SLICE_MS);
        pthread_cond_timedwait(&h->cv, &h->mu, &until);
    }
    atomic_fetch_add(&h->frame->refs, 1);
    s->frame = h->frame;
    s->seq = h->frame_seq;
    pthread_mutex_unlock(&h->mu);

    /* The first part opens with its boundary; later ones were opened by the
     * previous part's tail. */
    int n = snprintf(s->head, sizeof s->head,
                     "%sContent-Type: image/jpeg\r\nContent-Length: %zu\r\n\r\n",
                     s->total == 0 ? "--" EL_HTTP_BOUNDARY "\r\n" : "", s->frame->len);
    s->head_len = n > 0 && (size_t)n < sizeof s->head ? (size_t)n : 0;
    s->off = 0;
    s->total = s->head_len + s->frame->len + EL_HTTP_TAIL_LEN;
    return true;
}

static ssize_t el_http_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    el_http_stream *s = cls;
    (void)pos;
    if (!s->frame || s->off >= s->total) {
        if (!el_http_stream_next(s)) return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t done = 0;
    while (done < max && s->off < s->total) {
        const unsigned char *src;
        size_t avail;
        size_t jpeg_end = s->head_len + s->frame->len;
        if (s->off < s->head_len) {
            src = (const unsigned char *)s->head + s->off;
            avail = s->head_len - s->off;
        } else if (s->off < jpeg_end) {
            src = s->frame->data + (s->off - s->head_len);
            avail = jpeg_end - s->off;
        } else {
            src = (const unsigned char *)el_http_tail + (s->off - jpeg_end);
            avail = s->total - s->off;
        }
        size_t n = avail < max - done ? avail : max - done;
        memcpy(buf + done, src, n);
        done += n;
        s->off += n;
    }
    return (ssize_t)done;
}

/* Runs when MHD destroys the response, at the latest inside MHD_stop_daemon
 * (which joins every connection thread): touches only the stream itself. */
static void el_http_stream_free(void *cls)
{
    el_http_stream *s = cls;
    el_http_frame_unref(s->frame);
    free(s);
}

/* ---- requests ---------------------------------------------------------------- */

static enum MHD_Result el_http_queue(struct MHD_Connection *c, unsigned status,
                                     struct MHD_Response *r, const char *ctype)
{
    if (!r) return MHD_NO;  /* MHD closes the connection */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result el_http_text(struct MHD_Connection *c, unsigned status,
                                    const char *ctype, const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    return el_http_queue(c, status, r, ctype);
}

#define EL_HTTP_PLAIN "text/plain; charset=utf-8"
#define EL_HTTP_TEXT(c, status, lit) el_http_text(c, status, EL_HTTP_PLAIN, lit, sizeof lit - 1)

static enum MHD_Result el_http_serve_stream(el_http *h, struct MHD_Connection *c)
{
    el_http_stream *s = calloc(1, sizeof *s);
    if (!s) return EL_HTTP_TEXT(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    s->h = h;
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 64 * 1024, el_http_stream_read, s, el_http_stream_free);
    if (!r) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Pragma", "no-cache");
    return el_http_queue(c, MHD_HTTP_OK, r,
                         "multipart/x-mixed-replace; boundary=" EL_HTTP_BOUNDARY);
}

static enum MHD_Result el_http_serve_latest(el_http *h, struct MHD_Connection *c)
{
    pthread_mutex_lock(&h->mu);
    const char *doc = h->latest ? h->latest : "{}";
    /* MUST_COPY copies before we drop the lock. */
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(doc), (void *)doc, MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&h->mu);
    return el_http_queue(c, MHD_HTTP_OK, r, "application/json");
}

static enum MHD_Result el_http_serve_health(el_http *h, struct MHD_Connection *c)
{
    char body[EL_HTTP_MAX_REASON + 2];
    pthread_mutex_lock(&h->mu);
    bool ok = h->healthy;
    snprintf(body, sizeof body, "%s\n", ok ? "ok" : h->reason ? h->reason : "unhealthy");
    pthread_mutex_unlock(&h->mu);
    return el_http_text(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, EL_HTTP_PLAIN,
                        body, strlen(body));
}

static enum MHD_Result el_http_serve_metrics(el_http *h, struct MHD_Connection *c)
{
    if (!h->metrics) return EL_HTTP_TEXT(c, MHD_HTTP_NOT_FOUND, "no metrics configured\n");
    char *text = NULL;
    pthread_mutex_lock(&h->metrics_mu);
    el_status st = h->metrics(h->metrics_ctx, &text);
    pthread_mutex_unlock(&h->metrics_mu);
    if (st != EL_OK) {
        free(text);
        char body[1200];
        snprintf(body, sizeof body, "metrics: %s: %s\n", el_status_str(st), el_last_error());
        return el_http_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, EL_HTTP_PLAIN, body, strlen(body));
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        text ? strlen(text) : 0, text ? text : (void *)"", text ? MHD_RESPMEM_MUST_FREE
                                                                : MHD_RESPMEM_PERSISTENT);
    if (!r) free(text);
    /* The Prometheus text exposition format's media type. */
    return el_http_queue(c, MHD_HTTP_OK, r, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result el_http_handle(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    el_http *h = cls;
    (void)version;
    (void)upload_data;
    /* Answer on the first call, before any body: bodies are never read (MHD
     * discards them or closes the connection). Later calls for the same
     * request just consume what arrived. */
    if (*con_cls) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    *con_cls = &el_http_seen;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return EL_HTTP_TEXT(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
        struct MHD_Response *r = MHD_create_response_from_buffer(
            sizeof el_http_page - 1, (void *)el_http_page, MHD_RESPMEM_PERSISTENT);
        return el_http_queue(c, MHD_HTTP_OK, r, "text/html; charset=utf-8");
    }
    if (strcmp(url, "/stream.mjpg") == 0) return el_http_serve_stream(h, c);
    if (strcmp(url, "/latest.json") == 0) return el_http_serve_latest(h, c);
    if (strcmp(url, "/healthz") == 0) return el_http_serve_health(h, c);
    if (strcmp(url, "/metrics") == 0) return el_http_serve_metrics(h, c);
    return EL_HTTP_TEXT(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* ---- start / stop ------------------------------------------------------------ */

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (all IPv4 interfaces) -> a listening
 * socket, opened here rather than by MHD so a failure says why. */
static el_status el_http_listen(const char *host_port, int *fd_out, int *port_out)
{
    *fd_out = -1;
    *port_out = 0;
    char host[256];
    const char *port_s;
    bool bracketed = false;
    size_t len = strnlen(host_port, 512);
    if (len == 0 || len >= 512)
        return el_error(EL_ERR_INVALID_ARG, "http: address '%.64s': expected HOST:PORT", host_port);
    if (host_port[0] == '[') {
        const char *end = strchr(host_port, ']');
        if (!end || end[1] != ':')
            return el_error(EL_ERR_INVALID_ARG,
                            "http: address '%s': expected [IPV6]:PORT", host_port);
        size_t n = (size_t)(end - host_port - 1);
        if (n == 0 || n >= sizeof host)
            return el_error(EL_ERR_INVALID_ARG, "http: address '%s': bad IPv6 host", host_port);
        memcpy(host, host_port + 1, n);
        host[n] = '\0';
        port_s = end + 2;
        bracketed = true;
    } else {
        const char *colon = strrchr(host_port, ':');
        if (!colon)
            return el_error(EL_ERR_INVALID_ARG,
                            "http: address '%s': expected HOST:PORT (e.g. 127.0.0.1:8080)",
                            host_port);
        size_t n = (size_t)(colon - host_port);
        if (memchr(host_port, ':', n))
            return el_error(EL_ERR_INVALID_ARG,
                            "http: address '%s': IPv6 hosts go in brackets, e.g. [::1]:8080",
                            host_port);
        if (n >= sizeof host)
            return el_error(EL_ERR_INVALID_ARG, "http: address '%.64s...': host too long",
                            host_port);
        memcpy(host, host_port, n);
        host[n] = '\0';
        if (n == 0) strcpy(host, "0.0.0.0");
        port_s = colon + 1;
    }
    long port = 0;
    if (!*port_s || strlen(port_s) > 5)
        return el_error(EL_ERR_INVALID_ARG, "http: address '%s': port must be 0..65535",
                        host_port);
    for (const char *p = port_s; *p; p++) {
        if (*p < '0' || *p > '9')
            return el_error(EL_ERR_INVALID_ARG, "http: address '%s': port must be 0..65535",
                            host_port);
        port = port * 10 + (*p - '0');
    }
    if (port > 65535)
        return el_error(EL_ERR_INVALID_ARG, "http: address '%s': port %ld is over 65535",
                        host_port, port);

    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | (bracketed ? AI_NUMERICHOST : 0);
    int gai = getaddrinfo(host, port_s, &hints, &ai);
    if (gai != 0 || !ai)
        return el_error(EL_ERR_INVALID_ARG, "http: address '%s': cannot resolve '%s': %s",
                        host_port, host, gai_strerror(gai));

    el_status st = EL_OK;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        st = el_error(EL_ERR_IO, "http: socket for %s: %s", host_port, strerror(errno));
        goto done;
    }
    int one = 1;
    /* Restarting the agent must not fail on the previous run's TIME_WAITs. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        st = el_error(EL_ERR_IO, "http: bind %s: %s", host_port, strerror(errno));
        goto done;
    }
    if (listen(fd, EL_HTTP_MAX_CONNECTIONS) != 0) {
        st = el_error(EL_ERR_IO, "http: listen %s: %s", host_port, strerror(errno));
        goto done;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        st = el_error(EL_ERR_IO, "http: getsockname %s: %s", host_port, strerror(errno));
        goto done;
    }
    *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    fd = -1;
done:
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return st;
}

el_status el_http_start(const char *host_port, el_http_metrics_fn metrics, void *metrics_ctx,
                        el_http **out)
{
    if (!out) return el_error(EL_ERR_INVALID_ARG, "http: el_http_start: out is NULL");
    *out = NULL;
    if (!host_port) return el_error(EL_ERR_INVALID_ARG, "http: el_http_start: no address");

    int fd, port;
    EL_TRY(el_http_listen(host_port, &fd, &port));

    el_http *h = calloc(1, sizeof *h);
    if (!h) {
        close(fd);
        return el_error(EL_ERR_NOMEM, "http: out of memory");
    }
    h->port = port;
    h->metrics = metrics;
    h->metrics_ctx = metrics_ctx;
    h->healthy = true;
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->metrics_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    /* Waits are timed on the monotonic clock: wall-clock steps (NTP on a
     * freshly booted device) must not stall or spin the streams. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);

    h->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
        0, NULL, NULL, el_http_handle, h,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)EL_HTTP_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)EL_HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_END);
    if (!h->daemon) {
        close(fd);
        el_http_stop(h);
        return el_error(EL_ERR_IO, "http: libmicrohttpd failed to start on %s", host_port);
    }
    *out = h;
    return EL_OK;
}

int el_http_port(const el_http *h) { return h ? h->port : 0; }

void el_http_stop(el_http *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    /* Joins the listener and every connection thread (the streams return
     * END_OF_STREAM on the flag), closes the listening socket, and destroys
     * the responses: nothing of ours is touched after it returns. */
    if (h->daemon) MHD_stop_daemon(h->daemon);
    el_http_frame_unref(h->frame);
    free(h->latest);
    free(h->reason);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->metrics_mu);
    free(h);
}
