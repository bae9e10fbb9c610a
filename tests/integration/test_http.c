/* The HTTP live view end to end, with libcurl as the client: every endpoint,
 * the MJPEG stream decoded part by part, many viewers stopped at once, and
 * the page itself rendered by headless Chromium (skipped when Debian's
 * chromium is not installed). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "edgelens/image.h"
#include "sinks/http.h"
#include "testutil.h"

#define EL_CHROMIUM "/usr/bin/chromium"

/* ---- helpers ----------------------------------------------------------------- */

static double el_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void el_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The test pattern: four flat quadrants (red, green, blue, yellow), with a
 * 16x16 grey marker at the top-left whose level encodes index % 16, so parts
 * of the stream can be told apart after decoding. 16-aligned so JPEG's 4:2:0
 * blocks never mix the marker with the quadrant colours. */
#define EL_PW 160
#define EL_PH 120
static const uint8_t el_quad[4][3] = {
    {220, 30, 30}, {30, 200, 30}, {30, 30, 220}, {230, 220, 30}};

static void el_pattern(int index, el_image *img)
{
    img->width = EL_PW;
    img->height = EL_PH;
    img->rgb = malloc((size_t)EL_PW * EL_PH * 3);
    assert_non_null(img->rgb);
    for (int y = 0; y < EL_PH; y++)
        for (int x = 0; x < EL_PW; x++) {
            const uint8_t *c = el_quad[(y >= EL_PH / 2) * 2 + (x >= EL_PW / 2)];
            uint8_t *p = img->rgb + ((size_t)y * EL_PW + x) * 3;
            if (x < 16 && y < 16) {
                uint8_t g = (uint8_t)((index % 16) * 16 + 8);
                p[0] = p[1] = p[2] = g;
            } else {
                memcpy(p, c, 3);
            }
        }
}

static void el_pattern_jpeg(int index, unsigned char **jpeg, size_t *len)
{
    el_image img;
    el_pattern(index, &img);
    assert_int_equal(el_image_encode_jpeg(&img, 90, jpeg, len), EL_OK);
    el_image_free(&img);
}

static int el_marker(const el_image *img)
{
    const uint8_t *p = img->rgb + ((size_t)8 * img->width + 8) * 3;
    return (p[0] + p[1] + p[2]) / 3 / 16;
}

static void el_assert_near(const uint8_t *got, const uint8_t *want, int tol, const char *what)
{
    for (int c = 0; c < 3; c++)
        if (abs((int)got[c] - (int)want[c]) > tol)
            fail_msg("%s: got rgb(%d,%d,%d), want about rgb(%d,%d,%d)", what, got[0], got[1],
                     got[2], want[0], want[1], want[2]);
}

typedef struct el_buf {
    char *data;
    size_t len, cap;
} el_buf;

static void el_buf_add(el_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        b->data = realloc(b->data, cap);
        assert_non_null(b->data);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static size_t el_buf_write(char *p, size_t sz, size_t n, void *ud)
{
    el_buf_add(ud, p, sz * n);
    return sz * n;
}

typedef struct el_resp {
    long status;
    char ctype[160];
    char allow[64];
    el_buf body;
} el_resp;

static size_t el_header_cb(char *p, size_t sz, size_t n, void *ud)
{
    el_resp *r = ud;
    size_t len = sz * n;
    if (len > 7 && strncasecmp(p, "Allow: ", 7) == 0) {
        size_t m = len - 7;
        while (m > 0 && (p[7 + m - 1] == '\r' || p[7 + m - 1] == '\n')) m--;
        if (m >= sizeof r->allow) m = sizeof r->allow - 1;
        memcpy(r->allow, p + 7, m);
        r->allow[m] = '\0';
    }
    return len;
}

/* method: "GET", "HEAD" or "POST". */
static void el_fetch(const char *method, const char *url, el_resp *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, el_buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, el_header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (strcmp(method, "POST") == 0) curl_easy_setopt(c, CURLOPT_POSTFIELDS, "a=1&b=2");
    if (strcmp(method, "DELETE") == 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "");
    if (!r->body.data) el_buf_add(&r->body, "", 0);
    curl_easy_cleanup(c);
}

static void el_url(char *buf, size_t cap, const el_http *h, const char *path)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s", el_http_port(h), path);
}

/* Complete parts at the start of a multipart/x-mixed-replace body with
 * boundary "frame": offsets and lengths of each JPEG (at most max). Fails the
 * test on anything malformed. */
static int el_mjpeg_parts(const char *d, size_t len, size_t *off, size_t *plen, int max)
{
    static const char delim[] = "--frame\r\n";
    size_t pos = 0;
    int n = 0;
    while (n < max) {
        if (len - pos < sizeof delim - 1) break;
        if (memcmp(d + pos, delim, sizeof delim - 1) != 0)
            fail_msg("part %d: no boundary at offset %zu", n, pos);
        size_t hs = pos + sizeof delim - 1;
        const char *end = NULL;
        for (size_t i = hs; i + 4 <= len; i++)
            if (memcmp(d + i, "\r\n\r\n", 4) == 0) {
                end = d + i;
                break;
            }
        if (!end) break;
        size_t hlen = (size_t)(end - (d + hs));
        char hdr[512];
        if (hlen >= sizeof hdr) fail_msg("part %d: headers too long", n);
        memcpy(hdr, d + hs, hlen);
        hdr[hlen] = '\0';
        if (!strstr(hdr, "Content-Type: image/jpeg")) fail_msg("part %d: headers '%s'", n, hdr);
        const char *cl = strstr(hdr, "Content-Length: ");
        if (!cl) fail_msg("part %d: no Content-Length in '%s'", n, hdr);
        size_t clen = strtoul(cl + 16, NULL, 10);
        size_t body = (size_t)(end - d) + 4;
        if (len < body + clen + 2) break;
        if (memcmp(d + body + clen, "\r\n", 2) != 0) fail_msg("part %d: no CRLF after body", n);
        off[n] = body;
        plen[n] = clen;
        n++;
        pos = body + clen + 2;
    }
    return n;
}

/* ---- the metrics callback ------------------------------------------------------ */

typedef struct el_metrics_ctx {
    atomic_int calls;
    bool fail;
} el_metrics_ctx;

static el_status el_metrics(void *ctx, char **out)
{
    el_metrics_ctx *m = ctx;
    int n = atomic_fetch_add(&m->calls, 1) + 1;
    if (m->fail) return el_error(EL_ERR_RUNTIME, "metrics source gone");
    char buf[256];
    snprintf(buf, sizeof buf,
             "# TYPE edgelens_frames_captured_total counter\n"
             "edgelens_frames_captured_total %d\n",
             n);
    *out = strdup(buf);
    return *out ? EL_OK : EL_ERR_NOMEM;
}

/* ---- a frame producer ----------------------------------------------------------- */

typedef struct el_producer {
    el_http *h;
    atomic_bool stop;
    atomic_int frames;
    int period_ms;
    pthread_t thread;
} el_producer;

static void *el_produce(void *arg)
{
    el_producer *p = arg;
    unsigned char *jpeg[16];
    size_t len[16];
    for (int i = 0; i < 16; i++) el_pattern_jpeg(i, &jpeg[i], &len[i]);
    for (int i = 0; !atomic_load(&p->stop); i++) {
        el_http_set_frame(p->h, jpeg[i % 16], len[i % 16]);
        atomic_fetch_add(&p->frames, 1);
        el_sleep_ms(p->period_ms);
    }
    for (int i = 0; i < 16; i++) free(jpeg[i]);
    return NULL;
}

static void el_producer_start(el_producer *p, el_http *h, int period_ms)
{
    memset(p, 0, sizeof *p);
    p->h = h;
    p->period_ms = period_ms;
    atomic_init(&p->stop, false);
    atomic_init(&p->frames, 0);
    assert_int_equal(pthread_create(&p->thread, NULL, el_produce, p), 0);
    while (atomic_load(&p->frames) == 0) el_sleep_ms(1);
}

static void el_producer_stop(el_producer *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_bad_addresses(void **state)
{
    (void)state;
    static const char *bad[] = {"", "8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                                "127.0.0.1:80x", "::1:8080", "[::1]", "[::1]8080",
                                "[]:80", "[not-v6]:80", "127.0.0.1:-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        el_http *h = (el_http *)1;
        el_status st = el_http_start(bad[i], NULL, NULL, &h);
        if (st == EL_OK) fail_msg("'%s' was accepted", bad[i]);
        assert_null(h);
        assert_true(strlen(el_last_error()) > 0);
    }
    assert_int_equal(el_http_start(NULL, NULL, NULL, &(el_http *){NULL}), EL_ERR_INVALID_ARG);
    el_http_stop(NULL);

    /* A port in use is an I/O error that names the address. */
    el_http *a = NULL, *b = NULL;
    assert_int_equal(el_http_start("127.0.0.1:0", NULL, NULL, &a), EL_OK);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", el_http_port(a));
    assert_int_equal(el_http_start(addr, NULL, NULL, &b), EL_ERR_IO);
    assert_null(b);
    assert_non_null(strstr(el_last_error(), addr));
    el_http_stop(a);
}

static void test_endpoints(void **state)
{
    (void)state;
    el_metrics_ctx m = {0};
    atomic_init(&m.calls, 0);
    el_http *h = NULL;
    assert_int_equal(el_http_start("127.0.0.1:0", el_metrics, &m, &h), EL_OK);
    assert_true(el_http_port(h) > 0 && el_http_port(h) < 65536);
    char url[128];
    el_resp r;

    /* The page: self-contained, with the stream and the polling script. */
    el_url(url, sizeof url, h, "/");
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/html; charset=utf-8");
    assert_non_null(strstr(r.body.data, "<img id=\"view\" src=\"/stream.mjpg\""));
    assert_non_null(strstr(r.body.data, "fetch('/latest.json'"));
    assert_null(strstr(r.body.data, "http://"));
    assert_null(strstr(r.body.data, "https://"));
    free(r.body.data);
    el_fetch("HEAD", url, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    free(r.body.data);

    /* latest.json: {} before the first document, then the newest one. */
    el_url(url, sizeof url, h, "/latest.json");
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body.data, "{}");
    free(r.body.data);
    el_http_set_latest(h, "{\"thing\":\"cam1\",\"frame\":1}");
    el_http_set_latest(h, "{\"thing\":\"cam1\",\"frame\":2}");
    el_fetch("GET", url, &r);
    assert_string_equal(r.body.data, "{\"thing\":\"cam1\",\"frame\":2}");
    free(r.body.data);

    /* healthz: ok, then 503 with the reason (one line), then ok again. */
    el_url(url, sizeof url, h, "/healthz");
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/plain; charset=utf-8");
    assert_string_equal(r.body.data, "ok\n");
    free(r.body.data);
    el_http_set_health(h, false, "camera lost: /dev/video0\nretrying");
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body.data, "camera lost: /dev/video0 retrying\n");
    free(r.body.data);
    el_http_set_health(h, false, NULL);
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body.data, "unhealthy\n");
    free(r.body.data);
    el_http_set_health(h, true, NULL);
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 200);
    free(r.body.data);

    /* metrics: the callback's text with Prometheus's media type, once per
     * scrape; a failing callback is a 500 carrying its message. */
    el_url(url, sizeof url, h, "/metrics");
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body.data, "edgelens_frames_captured_total 1\n"));
    free(r.body.data);
    el_fetch("GET", url, &r);
    assert_non_null(strstr(r.body.data, "edgelens_frames_captured_total 2\n"));
    free(r.body.data);
    assert_int_equal(atomic_load(&m.calls), 2);
    m.fail = true;
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body.data, "metrics source gone"));
    free(r.body.data);

    /* Unknown paths, other methods (with a body that is never read). */
    el_url(url, sizeof url, h, "/nope");
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 404);
    free(r.body.data);
    el_url(url, sizeof url, h, "/stream.mjpg/../etc/passwd");
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 404);
    free(r.body.data);
    el_url(url, sizeof url, h, "/latest.json");
    el_fetch("POST", url, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, HEAD");
    free(r.body.data);
    el_url(url, sizeof url, h, "/");
    el_fetch("DELETE", url, &r);
    assert_int_equal(r.status, 405);
    free(r.body.data);
    /* Query strings do not change the resource. */
    el_url(url, sizeof url, h, "/healthz?x=1");
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 200);
    free(r.body.data);

    el_http_stop(h);
}

static int el_count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1) n++;
    return n;
}

/* start/stop cycles with traffic leave no descriptor (listening socket,
 * connections) and no thread behind. */
static void test_start_stop_cycles(void **state)
{
    (void)state;
    int before = el_count_fds();
    for (int i = 0; i < 5; i++) {
        el_http *h = NULL;
        assert_int_equal(el_http_start("127.0.0.1:0", NULL, NULL, &h), EL_OK);
        char url[128];
        el_resp r;
        el_url(url, sizeof url, h, "/healthz");
        el_fetch("GET", url, &r);
        assert_int_equal(r.status, 200);
        free(r.body.data);
        el_http_stop(h);
    }
    assert_int_equal(el_count_fds(), before);
}

static void test_no_metrics_callback(void **state)
{
    (void)state;
    el_http *h = NULL;
    assert_int_equal(el_http_start("127.0.0.1:0", NULL, NULL, &h), EL_OK);
    char url[128];
    el_resp r;
    el_url(url, sizeof url, h, "/metrics");
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 404);
    free(r.body.data);
    el_http_stop(h);
}

static void test_ipv6(void **state)
{
    (void)state;
    el_http *h = NULL;
    if (el_http_start("[::1]:0", NULL, NULL, &h) != EL_OK) {
        fprintf(stderr, "no IPv6 loopback here (%s)\n", el_last_error());
        skip();
    }
    char url[128];
    snprintf(url, sizeof url, "http://[::1]:%d/healthz", el_http_port(h));
    el_resp r;
    el_fetch("GET", url, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "ok\n");
    free(r.body.data);
    el_http_stop(h);
}

/* Reads /stream.mjpg until `want` complete parts arrived, then aborts. */
typedef struct el_stream_read {
    el_buf buf;
    int want;
    int parts;
    size_t off[8], len[8];
} el_stream_read;

static size_t el_stream_write(char *p, size_t sz, size_t n, void *ud)
{
    el_stream_read *s = ud;
    el_buf_add(&s->buf, p, sz * n);
    s->parts = el_mjpeg_parts(s->buf.data, s->buf.len, s->off, s->len, s->want);
    return s->parts >= s->want ? 0 : sz * n;  /* 0: curl stops reading */
}

static void test_stream(void **state)
{
    (void)state;
    el_http *h = NULL;
    assert_int_equal(el_http_start("127.0.0.1:0", NULL, NULL, &h), EL_OK);
    el_producer p;
    el_producer_start(&p, h, 15);

    char url[128];
    el_url(url, sizeof url, h, "/stream.mjpg");
    el_stream_read s = {.want = 3};
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, el_stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    CURLcode rc = curl_easy_perform(c);
    assert_int_equal(rc, CURLE_WRITE_ERROR);  /* our callback ended it */
    long status = 0;
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    assert_int_equal(status, 200);
    assert_string_equal(ct, "multipart/x-mixed-replace; boundary=frame");
    curl_easy_cleanup(c);
    el_producer_stop(&p);

    assert_int_equal(s.parts, 3);
    int marks[3];
    for (int i = 0; i < 3; i++) {
        el_image img;
        el_status st = el_image_decode(s.buf.data + s.off[i], s.len[i], "part", &img);
        if (st != EL_OK) fail_msg("part %d: %s", i, el_last_error());
        assert_int_equal(img.width, EL_PW);
        assert_int_equal(img.height, EL_PH);
        static const int cx[4] = {40, 120, 40, 120}, cy[4] = {30, 30, 90, 90};
        for (int q = 0; q < 4; q++)
            el_assert_near(img.rgb + ((size_t)cy[q] * EL_PW + cx[q]) * 3, el_quad[q], 12,
                           "decoded quadrant");
        marks[i] = el_marker(&img);
        el_image_free(&img);
    }
    /* The producer kept replacing the frame: a stream sends each frame once. */
    assert_true(marks[0] != marks[1] && marks[1] != marks[2]);
    free(s.buf.data);

    /* HEAD of the stream: headers only. */
    el_resp r;
    el_fetch("HEAD", url, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "multipart/x-mixed-replace; boundary=frame");
    free(r.body.data);
    el_http_stop(h);
}

/* A viewer gets the newest frame, never a backlog of older ones; without new
 * frames its stream re-sends the newest now and then (so a viewer that went
 * away is noticed even while the camera is idle). */
static void test_stream_newest_only(void **state)
{
    (void)state;
    el_http *h = NULL;
    assert_int_equal(el_http_start("127.0.0.1:0", NULL, NULL, &h), EL_OK);
    for (int i = 1; i <= 3; i++) {
        unsigned char *jpeg;
        size_t len;
        el_pattern_jpeg(i, &jpeg, &len);
        el_http_set_frame(h, jpeg, len);
        free(jpeg);
    }

    char url[128];
    el_url(url, sizeof url, h, "/stream.mjpg");
    el_stream_read s = {.want = 2};
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, el_stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    double t0 = el_now();
    CURLcode rc = curl_easy_perform(c);
    double dt = el_now() - t0;
    curl_easy_cleanup(c);
    assert_int_equal(rc, CURLE_WRITE_ERROR);
    assert_int_equal(s.parts, 2);
    el_image img;
    assert_int_equal(el_image_decode(s.buf.data + s.off[0], s.len[0], "part", &img), EL_OK);
    assert_int_equal(el_marker(&img), 3);
    el_image_free(&img);
    /* The second part is the same frame again, about 5 s later. */
    if (dt < 4.0 || dt > 10.0) fail_msg("second part after %.2f s, want about 5", dt);
    assert_int_equal(s.len[0], s.len[1]);
    assert_memory_equal(s.buf.data + s.off[0], s.buf.data + s.off[1], s.len[0]);
    free(s.buf.data);
    el_http_stop(h);
}

/* Many viewers: all get frames, then stop() ends every stream promptly. */
typedef struct el_viewer {
    const char *url;
    el_stream_read s;
    atomic_bool got_one;
    atomic_bool done;
    CURLcode rc;
    pthread_t thread;
} el_viewer;

static size_t el_viewer_write(char *p, size_t sz, size_t n, void *ud)
{
    el_viewer *v = ud;
    if (!atomic_load(&v->got_one)) {
        el_buf_add(&v->s.buf, p, sz * n);
        if (el_mjpeg_parts(v->s.buf.data, v->s.buf.len, v->s.off, v->s.len, 1) == 1)
            atomic_store(&v->got_one, true);
    }
    return sz * n;
}

static void *el_viewer_run(void *arg)
{
    el_viewer *v = arg;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, v->url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, el_viewer_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, v);
    v->rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    atomic_store(&v->done, true);
    return NULL;
}

static void test_many_viewers_then_stop(void **state)
{
    (void)state;
    enum { N = 24 };
    el_http *h = NULL;
    assert_int_equal(el_http_start("127.0.0.1:0", NULL, NULL, &h), EL_OK);
    el_producer p;
    el_producer_start(&p, h, 10);
    char url[128];
    el_url(url, sizeof url, h, "/stream.mjpg");
    static el_viewer v[N];
    memset(v, 0, sizeof v);
    for (int i = 0; i < N; i++) {
        v[i].url = url;
        atomic_init(&v[i].got_one, false);
        atomic_init(&v[i].done, false);
        assert_int_equal(pthread_create(&v[i].thread, NULL, el_viewer_run, &v[i]), 0);
    }
    double deadline = el_now() + 30;
    for (int i = 0; i < N; i++)
        while (!atomic_load(&v[i].got_one)) {
            if (el_now() > deadline) fail_msg("viewer %d got no frame in 30 s", i);
            el_sleep_ms(10);
        }
    /* Other endpoints still answer while the streams run. */
    char hurl[128];
    el_resp r;
    el_url(hurl, sizeof hurl, h, "/healthz");
    el_fetch("GET", hurl, &r);
    assert_int_equal(r.status, 200);
    free(r.body.data);

    el_producer_stop(&p);
    double t0 = el_now();
    el_http_stop(h);
    double dt = el_now() - t0;
    if (dt > 3.0) fail_msg("el_http_stop took %.2f s with %d open streams", dt, N);
    /* Every viewer saw its stream end (not the 60 s curl timeout). */
    deadline = el_now() + 10;
    for (int i = 0; i < N; i++) {
        while (!atomic_load(&v[i].done)) {
            if (el_now() > deadline) fail_msg("viewer %d still connected after stop", i);
            el_sleep_ms(10);
        }
        pthread_join(v[i].thread, NULL);
        assert_int_not_equal(v[i].rc, CURLE_OPERATION_TIMEDOUT);
        free(v[i].s.buf.data);
    }
}

/* A stream still waiting for its first frame does not hold stop() up. */
static void *el_viewer_run_detached(void *arg) { return el_viewer_run(arg); }

static void test_stop_while_waiting_for_first_frame(void **state)
{
    (void)state;
    el_http *h = NULL;
    assert_int_equal(el_http_start("127.0.0.1:0", NULL, NULL, &h), EL_OK);
    char url[128];
    el_url(url, sizeof url, h, "/stream.mjpg");
    el_viewer v;
    memset(&v, 0, sizeof v);
    v.url = url;
    atomic_init(&v.got_one, false);
    atomic_init(&v.done, false);
    assert_int_equal(pthread_create(&v.thread, NULL, el_viewer_run_detached, &v), 0);
    el_sleep_ms(500);
    double t0 = el_now();
    el_http_stop(h);
    double dt = el_now() - t0;
    pthread_join(v.thread, NULL);
    if (dt > 2.0) fail_msg("el_http_stop took %.2f s", dt);
    assert_false(atomic_load(&v.got_one));
    free(v.s.buf.data);
}

/* A viewer that stopped reading (a phone on bad Wi-Fi) blocks its
 * connection's send, not stop(): big frames fill the socket buffers first. */
static void test_stop_with_stalled_viewer(void **state)
{
    (void)state;
    el_http *h = NULL;
    assert_int_equal(el_http_start("127.0.0.1:0", NULL, NULL, &h), EL_OK);
    /* Noise compresses badly: a few hundred KB per frame. */
    el_image img = {640, 480, malloc(640 * 480 * 3)};
    assert_non_null(img.rgb);
    uint32_t x = 12345;
    for (size_t i = 0; i < (size_t)640 * 480 * 3; i++) {
        x = x * 1103515245u + 12345u;
        img.rgb[i] = (uint8_t)(x >> 24);
    }
    unsigned char *jpeg;
    size_t len;
    assert_int_equal(el_image_encode_jpeg(&img, 95, &jpeg, &len), EL_OK);
    el_image_free(&img);
    el_http_set_frame(h, jpeg, len);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)el_http_port(h))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    static const char req[] = "GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    /* Keep new frames coming while the server's sends pile up. */
    for (int i = 0; i < 20; i++) {
        jpeg[len / 2] ^= 1;  /* entropy-coded byte: still a frame to send */
        el_http_set_frame(h, jpeg, len);
        el_sleep_ms(20);
    }
    double t0 = el_now();
    el_http_stop(h);
    double dt = el_now() - t0;
    close(fd);
    free(jpeg);
    if (dt > 3.0) fail_msg("el_http_stop took %.2f s with a stalled viewer", dt);
}

/* ---- the page in a real browser --------------------------------------------------- */

static void test_page_screenshot(void **state)
{
    (void)state;
    if (access(EL_CHROMIUM, X_OK) != 0) {
        fprintf(stderr, "%s not installed (scripts/setup installs it)\n", EL_CHROMIUM);
        skip();
    }
    el_http *h = NULL;
    assert_int_equal(el_http_start("127.0.0.1:0", NULL, NULL, &h), EL_OK);
    el_http_set_latest(h,
                       "{\"thing\":\"porch-cam\",\"timestamp\":\"2026-01-02T03:04:05.678Z\","
                       "\"frame\":42,\"inference_ms\":12.5,\"detections\":[{\"label\":\"dog\","
                       "\"class_id\":18,\"score\":0.87,\"box\":[0.1,0.2,0.5,0.6]}]}");
    el_producer p;
    el_producer_start(&p, h, 100);

    char tmp[256], shot[512], cmd[2048];
    assert_non_null(el_test_tmpdir(tmp, sizeof tmp));
    snprintf(shot, sizeof shot, "%s/shot.png", tmp);
    snprintf(cmd, sizeof cmd,
             "timeout 60 " EL_CHROMIUM " --headless --no-sandbox --disable-gpu --disable-quic"
             " --no-first-run --disable-background-networking --disable-component-update"
             " --disable-sync --hide-scrollbars --force-device-scale-factor=1"
             " --user-data-dir=%s/profile --window-size=800,600 --screenshot=%s"
             " http://127.0.0.1:%d/ >%s/chromium.log 2>&1",
             tmp, shot, el_http_port(h), tmp);
    double t0 = el_now();
    int rc = system(cmd);
    double dt = el_now() - t0;
    el_producer_stop(&p);
    el_http_stop(h);
    if (rc != 0 || access(shot, R_OK) != 0) {
        char log[600];
        snprintf(log, sizeof log, "tail -20 %s/chromium.log >&2", tmp);
        if (system(log) != 0) {
        }
        fail_msg("chromium exited with %d after %.1f s, screenshot %s", rc, dt,
                 access(shot, R_OK) == 0 ? "written" : "missing");
    }

    el_image img;
    if (el_image_load(shot, &img) != EL_OK) fail_msg("%s: %s", shot, el_last_error());
    assert_int_equal(img.width, 800);
    assert_int_equal(img.height, 600);
    /* The page puts the stream at (8,48), 480x360; the 4:3 pattern fills it,
     * so each quadrant's centre is 120/90 px in from the box's corners. Average
     * a patch to be independent of scaling and JPEG noise. */
    static const int cx[4] = {8 + 120, 8 + 360, 8 + 120, 8 + 360};
    static const int cy[4] = {48 + 90, 48 + 90, 48 + 270, 48 + 270};
    for (int q = 0; q < 4; q++) {
        long sum[3] = {0, 0, 0};
        int n = 0;
        for (int y = cy[q] - 20; y <= cy[q] + 20; y++)
            for (int x = cx[q] - 20; x <= cx[q] + 20; x++, n++)
                for (int c = 0; c < 3; c++) sum[c] += img.rgb[((size_t)y * 800 + x) * 3 + c];
        uint8_t avg[3] = {(uint8_t)(sum[0] / n), (uint8_t)(sum[1] / n), (uint8_t)(sum[2] / n)};
        char what[64];
        snprintf(what, sizeof what, "screenshot quadrant %d at (%d,%d)", q, cx[q], cy[q]);
        el_assert_near(avg, el_quad[q], 24, what);
    }
    el_image_free(&img);
    if (!getenv("EL_KEEP_SHOT")) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
        if (system(cmd) != 0) {
        }
    } else {
        fprintf(stderr, "screenshot kept at %s\n", shot);
    }
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) EL_TEST_SKIP_ALL("curl_global_init failed");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_start_stop_cycles),
        cmocka_unit_test(test_no_metrics_callback),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_stream_newest_only),
        cmocka_unit_test(test_many_viewers_then_stop),
        cmocka_unit_test(test_stop_while_waiting_for_first_frame),
        cmocka_unit_test(test_stop_with_stalled_viewer),
        cmocka_unit_test(test_page_screenshot),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
