/* Frame sources: backend dispatch by URI and what all backends share. */
#include "video/source_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* A URI longer than this is a mistake, not a camera. */
#define EL_SOURCE_URI_MAX 4096

int64_t el_video_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool el_video_sleep_until(el_source *s, int64_t deadline_ns)
{
    for (;;) {
        if (atomic_load(&s->interrupted)) return false;
        int64_t left = deadline_ns - el_video_now_ns();
        if (left <= 0) return true;
        if (left > 50000000) left = 50000000;
        struct timespec ts = {0, (long)left};
        nanosleep(&ts, NULL);
    }
}

el_status el_video_image_reserve(el_image *img, int w, int h, const char *uri)
{
    if (w <= 0 || h <= 0)
        return el_error(EL_ERR_FORMAT, "%s: frame has no pixels (%dx%d)", uri, w, h);
    if ((int64_t)w * h > EL_IMAGE_MAX_PIXELS)
        return el_error(EL_ERR_LIMIT, "%s: frame of %dx%d pixels exceeds the limit of %lld pixels", uri, w, h,
                        (long long)EL_IMAGE_MAX_PIXELS);
    if (img->rgb && img->width == w && img->height == h) return EL_OK;
    uint8_t *p = malloc((size_t)w * (size_t)h * 3);
    if (!p) return el_error(EL_ERR_NOMEM, "%s: no memory for a %dx%d RGB frame", uri, w, h);
    free(img->rgb);
    img->rgb = p;
    img->width = w;
    img->height = h;
    return EL_OK;
}

/* Clamp to 0..255 after the >> 8 of the fixed-point BT.601 formulas. */
static inline uint8_t el_clamp8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

static inline void el_yuv601_px(int y, int u, int v, uint8_t *out)
{
    /* BT.601 limited range in 8.8 fixed point: 298 = 1.164 * 256 (255/219),
     * 409 = 1.596, 100 = 0.391, 208 = 0.813, 516 = 2.018, all * 256. */
    int c = 298 * (y - 16) + 128;
    int d = u - 128, e = v - 128;
    out[0] = el_clamp8((c + 409 * e) >> 8);
    out[1] = el_clamp8((c - 100 * d - 208 * e) >> 8);
    out[2] = el_clamp8((c + 516 * d) >> 8);
}

void el_video_yuyv_to_rgb(const uint8_t *yuyv, size_t stride, int w, int h, uint8_t *rgb)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *in = yuyv + (size_t)y * stride;
        uint8_t *out = rgb + (size_t)y * (size_t)w * 3;
        int x = 0;
        for (; x + 1 < w; x += 2, in += 4, out += 6) {
            el_yuv601_px(in[0], in[1], in[3], out);
            el_yuv601_px(in[2], in[1], in[3], out + 3);
        }
        if (x < w) el_yuv601_px(in[0], in[1], in[3], out);
    }
}

void el_source_interrupt(el_source *s)
{
    if (s) atomic_store(&s->interrupted, true);
}

static bool el_has_image_ext(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return false;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png");
}

/* "rtsp://...", "file:...", "pipe:0": an FFmpeg URL rather than a path. */
static bool el_has_scheme(const char *uri)
{
    size_t i = 0;
    if (!((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z'))) return false;
    while (uri[i] && uri[i] != ':' && uri[i] != '/') {
        char c = uri[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
              c == '.'))
            return false;
        i++;
    }
    return uri[i] == ':' && i >= 2;
}

el_status el_source_open(const char *uri, const el_source_opts *opts, el_source **out)
{
    if (!out) return el_error(EL_ERR_INVALID_ARG, "el_source_open: NULL output");
    *out = NULL;
    if (!uri || !*uri) return el_error(EL_ERR_INVALID_ARG, "el_source_open: empty source URI");
    size_t n = strnlen(uri, EL_SOURCE_URI_MAX + 1);
    if (n > EL_SOURCE_URI_MAX)
        return el_error(EL_ERR_INVALID_ARG, "el_source_open: source URI longer than %d bytes", EL_SOURCE_URI_MAX);
    if (opts && (!(opts->fps >= 0) || opts->fps > 1000))
        return el_error(EL_ERR_INVALID_ARG, "%s: fps must be between 0 and 1000, got %g", uri, opts->fps);

    el_source *s = calloc(1, sizeof *s);
    if (!s) return el_error(EL_ERR_NOMEM, "%s: no memory for a source", uri);
    s->uri = malloc(n + 1);
    if (!s->uri) {
        free(s);
        return el_error(EL_ERR_NOMEM, "%s: no memory for a source", uri);
    }
    memcpy(s->uri, uri, n + 1);
    if (opts) s->opts = *opts;
    atomic_init(&s->interrupted, false);

    struct stat st;
    int have_stat = stat(uri, &st) == 0;
    int stat_errno = have_stat ? 0 : errno;
    el_status rc;
    /* /dev/v4l/by-id/... names are symlinks to /dev/videoN; any character
     * device is a camera candidate (V4L2 then says whether it is one). */
    if (!strncmp(uri, "/dev/video", 10) || !strncmp(uri, "/dev/v4l/", 9) || (have_stat && S_ISCHR(st.st_mode)))
        rc = el_source_open_v4l2(s);
    else if (have_stat && S_ISDIR(st.st_mode))
        rc = el_source_open_imagedir(s);
    else if (el_has_image_ext(uri) && !el_has_scheme(uri))
        rc = el_source_open_image(s);
    else if (!have_stat && !el_has_scheme(uri))
        /* Said here rather than by FFmpeg, whose message omits the path. */
        rc = el_error(stat_errno == ENOENT ? EL_ERR_NOT_FOUND : EL_ERR_IO,
                      "%s: cannot open video source: %s", uri, strerror(stat_errno));
    else
        rc = el_source_open_ffmpeg(s);
    if (rc != EL_OK) {
        free(s->uri);
        free(s);
        return rc;
    }
    *out = s;
    return EL_OK;
}

el_status el_source_read(el_source *s, el_image *img, double *pts_ms)
{
    if (pts_ms) *pts_ms = 0;
    if (!s || !img) return el_error(EL_ERR_INVALID_ARG, "el_source_read: NULL source or image");
    if (atomic_load(&s->interrupted)) return el_error(EL_ERR_IO, "%s: interrupted", s->uri);
    double pts = 0;
    el_status rc = s->ops->read(s, img, &pts);
    if (rc == EL_OK && pts_ms) *pts_ms = pts;
    return rc;
}

const char *el_source_uri(const el_source *s) { return s ? s->uri : ""; }

double el_source_fps(const el_source *s) { return s ? s->fps : 0; }

void el_source_close(el_source *s)
{
    if (!s) return;
    if (s->ops && s->ops->close) s->ops->close(s);
    free(s->uri);
    free(s);
}
