/* V4L2 cameras: mmap streaming I/O, MJPEG (decoded with libjpeg-turbo, which
 * supplies the standard Huffman tables that Motion-JPEG frames omit) or YUYV
 * (converted here with BT.601). The device's current size is kept; only the
 * pixel format is negotiated. */
#include "video/source_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/videodev2.h>

#define EL_V4L2_NBUF 4
/* A camera that delivers nothing for this long is gone or stuck. */
#define EL_V4L2_TIMEOUT_NS (10LL * 1000000000LL)
/* Consecutive frames that fail to decode (a USB glitch garbles the odd MJPEG
 * frame) before the camera counts as broken. */
#define EL_V4L2_MAX_BAD 100

typedef struct el_v4l2_buf {
    void *start;
    size_t length;
} el_v4l2_buf;

typedef struct el_v4l2 {
    int fd;
    uint32_t pixfmt;
    int width, height;
    uint32_t bytesperline;
    el_v4l2_buf bufs[EL_V4L2_NBUF];
    unsigned nbufs;
    bool streaming;
} el_v4l2;

static int el_xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do r = ioctl(fd, req, arg);
    while (r == -1 && errno == EINTR);
    return r;
}

static void el_fourcc(uint32_t f, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)((f >> (8 * i)) & 0xff);
        out[i] = c >= 32 && c < 127 ? c : '?';
    }
    out[4] = '\0';
}

static void el_v4l2_close(el_source *s)
{
    el_v4l2 *v = s->impl;
    if (!v) return;
    if (v->streaming) {
        enum v4l2_buf_type t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        el_xioctl(v->fd, VIDIOC_STREAMOFF, &t);
    }
    for (unsigned i = 0; i < v->nbufs; i++)
        if (v->bufs[i].start && v->bufs[i].start != MAP_FAILED) munmap(v->bufs[i].start, v->bufs[i].length);
    if (v->nbufs) {
        struct v4l2_requestbuffers rb = {.count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
        el_xioctl(v->fd, VIDIOC_REQBUFS, &rb);
    }
    if (v->fd >= 0) close(v->fd);
    free(v);
    s->impl = NULL;
}

static el_status el_v4l2_fail(el_source *s, el_status code, const char *fmt_what, int e)
{
    el_status rc = el_error(code, "%s: %s: %s", s->uri, fmt_what, strerror(e));
    el_v4l2_close(s);
    return rc;
}

/* Waits for a filled buffer in slices so an interrupt is seen quickly. */
static el_status el_v4l2_wait(el_source *s, el_v4l2 *v)
{
    int64_t deadline = el_video_now_ns() + EL_V4L2_TIMEOUT_NS;
    for (;;) {
        if (atomic_load(&s->interrupted)) return el_error(EL_ERR_IO, "%s: interrupted", s->uri);
        if (el_video_now_ns() > deadline)
            return el_error(EL_ERR_TIMEOUT, "%s: no frame from the camera for %lld s", s->uri,
                            (long long)(EL_V4L2_TIMEOUT_NS / 1000000000LL));
        /* poll, not select: select is undefined for fds >= FD_SETSIZE. */
        struct pollfd p = {v->fd, POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) && !(p.revents & POLLIN))
            return el_error(EL_ERR_IO, "%s: the camera stopped delivering (unplugged?)", s->uri);
        if (r > 0) return EL_OK;
        if (r < 0 && errno != EINTR) return el_error(EL_ERR_IO, "%s: poll: %s", s->uri, strerror(errno));
    }
}

static el_status el_v4l2_read(el_source *s, el_image *img, double *pts_ms)
{
    el_v4l2 *v = s->impl;
    int bad = 0;
    for (;;) {
        EL_TRY(el_v4l2_wait(s, v));
        struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
        if (el_xioctl(v->fd, VIDIOC_DQBUF, &b) < 0) {
            if (errno == EAGAIN) continue;
            /* ENODEV: the camera was unplugged. */
            return el_error(EL_ERR_IO, "%s: cannot take a frame (VIDIOC_DQBUF): %s", s->uri, strerror(errno));
        }
        if (b.index >= v->nbufs) return el_error(EL_ERR_IO, "%s: driver returned buffer %u of %u", s->uri, b.index, v->nbufs);
        const uint8_t *data = v->bufs[b.index].start;
        size_t used = b.bytesused <= v->bufs[b.index].length ? b.bytesused : v->bufs[b.index].length;
        el_status rc = EL_OK;
        if (b.flags & V4L2_BUF_FLAG_ERROR) {
            rc = el_error(EL_ERR_FORMAT, "%s: the driver flagged a damaged frame", s->uri);
        } else if (v->pixfmt == V4L2_PIX_FMT_YUYV) {
            size_t need = (size_t)v->bytesperline * (size_t)(v->height - 1) + (size_t)(v->width + 1) / 2 * 4;
            if (used < need)
                rc = el_error(EL_ERR_FORMAT, "%s: short YUYV frame: %zu bytes, expected %zu", s->uri, used, need);
            else if ((rc = el_video_image_reserve(img, v->width, v->height, s->uri)) == EL_OK)
                el_video_yuyv_to_rgb(data, v->bytesperline, v->width, v->height, img->rgb);
        } else {
            el_image tmp = {0, 0, NULL};
            rc = el_image_decode(data, used, s->uri, &tmp);
            if (rc == EL_OK) {
                el_image_free(img);
                *img = tmp;
            }
        }
        double ms = (double)b.timestamp.tv_sec * 1000.0 + (double)b.timestamp.tv_usec / 1000.0;
        if (el_xioctl(v->fd, VIDIOC_QBUF, &b) < 0)
            return el_error(EL_ERR_IO, "%s: cannot requeue a buffer (VIDIOC_QBUF): %s", s->uri, strerror(errno));
        if (rc == EL_OK) {
            *pts_ms = ms;
            return EL_OK;
        }
        if (rc == EL_ERR_NOMEM || rc == EL_ERR_LIMIT || ++bad > EL_V4L2_MAX_BAD) return rc;
    }
}

static const el_source_ops el_v4l2_ops = {el_v4l2_read, el_v4l2_close};

el_status el_source_open_v4l2(el_source *s)
{
    el_v4l2 *v = calloc(1, sizeof *v);
    if (!v) return el_error(EL_ERR_NOMEM, "%s: no memory for a camera", s->uri);
    v->fd = -1;
    s->impl = v;
    v->fd = open(s->uri, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (v->fd < 0) {
        int e = errno;
        const char *hint = e == ENOENT   ? " (no such camera; `ls /dev/video*` lists the cameras)"
                           : e == EACCES ? " (is the user in the 'video' group?)"
                           : e == EBUSY  ? " (another program is using the camera)"
                                         : "";
        el_status rc = el_error(e == ENOENT ? EL_ERR_NOT_FOUND : EL_ERR_IO, "%s: cannot open camera: %s%s", s->uri,
                                strerror(e), hint);
        el_v4l2_close(s);
        return rc;
    }
    struct stat st;
    if (fstat(v->fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
        el_v4l2_close(s);
        return el_error(EL_ERR_INVALID_ARG, "%s: not a camera: not a character device", s->uri);
    }
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (el_xioctl(v->fd, VIDIOC_QUERYCAP, &cap) < 0) {
        int e = errno;
        if (e == ENOTTY || e == EINVAL) {
            el_v4l2_close(s);
            return el_error(EL_ERR_INVALID_ARG, "%s: not a V4L2 video device", s->uri);
        }
        return el_v4l2_fail(s, EL_ERR_IO, "VIDIOC_QUERYCAP", e);
    }
    uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
        el_v4l2_close(s);
        return el_error(EL_ERR_UNSUPPORTED,
                        "%s: '%.32s' is not a video capture device (many cameras also create a metadata node: try "
                        "the other /dev/videoN)",
                        s->uri, (const char *)cap.card);
    }
    if (!(caps & V4L2_CAP_STREAMING)) {
        el_v4l2_close(s);
        return el_error(EL_ERR_UNSUPPORTED, "%s: '%.32s' does not support streaming I/O", s->uri,
                        (const char *)cap.card);
    }

    /* MJPEG first: USB 2 cameras send YUYV at full size only at a few fps. */
    bool has_mjpeg = false, has_jpeg = false, has_yuyv = false;
    char listed[128] = "";
    for (uint32_t i = 0; i < 64; i++) {
        struct v4l2_fmtdesc fd = {.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
        if (el_xioctl(v->fd, VIDIOC_ENUM_FMT, &fd) < 0) break;
        has_mjpeg |= fd.pixelformat == V4L2_PIX_FMT_MJPEG;
        has_jpeg |= fd.pixelformat == V4L2_PIX_FMT_JPEG;
        has_yuyv |= fd.pixelformat == V4L2_PIX_FMT_YUYV;
        char cc[5];
        el_fourcc(fd.pixelformat, cc);
        size_t l = strlen(listed);
        if (l + 6 < sizeof listed) snprintf(listed + l, sizeof listed - l, "%s%s", l ? " " : "", cc);
    }
    uint32_t want = has_mjpeg ? V4L2_PIX_FMT_MJPEG : has_jpeg ? V4L2_PIX_FMT_JPEG : has_yuyv ? V4L2_PIX_FMT_YUYV : 0;
    if (!want) {
        el_v4l2_close(s);
        return el_error(EL_ERR_UNSUPPORTED, "%s: the camera offers none of MJPG, JPEG, YUYV (it offers: %s)", s->uri,
                        listed[0] ? listed : "nothing");
    }
    struct v4l2_format f;
    memset(&f, 0, sizeof f);
    f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (el_xioctl(v->fd, VIDIOC_G_FMT, &f) < 0) return el_v4l2_fail(s, EL_ERR_IO, "VIDIOC_G_FMT", errno);
    f.fmt.pix.pixelformat = want;
    f.fmt.pix.field = V4L2_FIELD_ANY;
    if (el_xioctl(v->fd, VIDIOC_S_FMT, &f) < 0) return el_v4l2_fail(s, EL_ERR_IO, "VIDIOC_S_FMT", errno);
    if (f.fmt.pix.pixelformat != want) {
        char got[5], asked[5];
        el_fourcc(f.fmt.pix.pixelformat, got);
        el_fourcc(want, asked);
        el_v4l2_close(s);
        return el_error(EL_ERR_UNSUPPORTED, "%s: asked the camera for %s, it chose %s", s->uri, asked, got);
    }
    if (f.fmt.pix.width == 0 || f.fmt.pix.height == 0 || f.fmt.pix.width > 16384 || f.fmt.pix.height > 16384) {
        el_v4l2_close(s);
        return el_error(EL_ERR_UNSUPPORTED, "%s: the camera reports a frame size of %ux%u", s->uri,
                        f.fmt.pix.width, f.fmt.pix.height);
    }
    v->pixfmt = want;
    v->width = (int)f.fmt.pix.width;
    v->height = (int)f.fmt.pix.height;
    uint32_t row = (f.fmt.pix.width + 1) / 2 * 4;
    v->bytesperline = f.fmt.pix.bytesperline >= row ? f.fmt.pix.bytesperline : row;

    struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    if (el_xioctl(v->fd, VIDIOC_G_PARM, &parm) == 0 && parm.parm.capture.timeperframe.numerator > 0) {
        double fps = (double)parm.parm.capture.timeperframe.denominator / parm.parm.capture.timeperframe.numerator;
        s->fps = fps > 0 && fps <= 1000 ? fps : 0;
    }

    struct v4l2_requestbuffers rb = {.count = EL_V4L2_NBUF, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                     .memory = V4L2_MEMORY_MMAP};
    if (el_xioctl(v->fd, VIDIOC_REQBUFS, &rb) < 0) return el_v4l2_fail(s, EL_ERR_IO, "VIDIOC_REQBUFS", errno);
    if (rb.count < 2) {
        el_v4l2_close(s);
        return el_error(EL_ERR_IO, "%s: the camera granted %u buffers, need at least 2", s->uri, rb.count);
    }
    v->nbufs = rb.count < EL_V4L2_NBUF ? rb.count : EL_V4L2_NBUF;
    for (unsigned i = 0; i < v->nbufs; i++) {
        struct v4l2_buffer b = {.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
        if (el_xioctl(v->fd, VIDIOC_QUERYBUF, &b) < 0) return el_v4l2_fail(s, EL_ERR_IO, "VIDIOC_QUERYBUF", errno);
        v->bufs[i].length = b.length;
        v->bufs[i].start = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, b.m.offset);
        if (v->bufs[i].start == MAP_FAILED) {
            v->bufs[i].start = NULL;
            return el_v4l2_fail(s, EL_ERR_IO, "mmap of a capture buffer", errno);
        }
        if (el_xioctl(v->fd, VIDIOC_QBUF, &b) < 0) return el_v4l2_fail(s, EL_ERR_IO, "VIDIOC_QBUF", errno);
    }
    enum v4l2_buf_type t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (el_xioctl(v->fd, VIDIOC_STREAMON, &t) < 0) return el_v4l2_fail(s, EL_ERR_IO, "VIDIOC_STREAMON", errno);
    v->streaming = true;
    s->ops = &el_v4l2_ops;
    return EL_OK;
}
