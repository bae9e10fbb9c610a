/* Private to src/video: the source object every backend shares, the backend
 * entry points, and helpers (interruptible sleep, RGB buffer reuse, the YUYV
 * converter) that tests reach directly. */
#ifndef EL_VIDEO_SOURCE_IMPL_H
#define EL_VIDEO_SOURCE_IMPL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "video/source.h"

typedef struct el_source_ops {
    /* Same contract as el_source_read; *pts_ms is preset to 0. */
    el_status (*read)(el_source *s, el_image *img, double *pts_ms);
    /* Frees the backend state (s->impl); s itself is freed by the caller. */
    void (*close)(el_source *s);
} el_source_ops;

struct el_source {
    const el_source_ops *ops;
    void *impl;
    char *uri;
    double fps;
    el_source_opts opts;
    /* Set from any thread by el_source_interrupt; a backend polls it in
     * every wait (FFmpeg's interrupt callback, select() slices, pacing
     * sleeps) so a blocked read returns within about 100 ms. Sticky: once
     * set, the source only fails. */
    atomic_bool interrupted;
};

/* Makes a blocked or future el_source_read return EL_ERR_IO ("interrupted")
 * soon. The only source function that is safe to call from another thread
 * while a read is running; used by el_capture_stop before it joins. */
void el_source_interrupt(el_source *s);

/* Backends. Each takes ownership of nothing; on success *s->impl and s->ops
 * are set and *s (allocated and filled with uri/opts by el_source_open)
 * belongs to the caller. On failure they free what they allocated
 * themselves, leave s->impl NULL, and set the error message. */
el_status el_source_open_ffmpeg(el_source *s);
el_status el_source_open_v4l2(el_source *s);
el_status el_source_open_image(el_source *s);
el_status el_source_open_imagedir(el_source *s);

/* Monotonic clock in nanoseconds. */
int64_t el_video_now_ns(void);
/* Sleeps until the monotonic time `deadline_ns`, in slices of at most
 * 50 ms so an interrupt is seen quickly. Returns false when interrupted. */
bool el_video_sleep_until(el_source *s, int64_t deadline_ns);

/* Makes img a w x h RGB image, keeping its buffer when the size already
 * matches (the pixels are then left as they were). */
el_status el_video_image_reserve(el_image *img, int w, int h, const char *uri);

/* YUYV 4:2:2 (Y0 U Y1 V per pixel pair, `stride` bytes per row) to RGB24,
 * BT.601 limited range ("studio swing", Y 16..235, Cb/Cr 16..240), which is
 * what UVC webcams send. An odd last column uses its pair's chroma. */
void el_video_yuyv_to_rgb(const uint8_t *yuyv, size_t stride, int w, int h, uint8_t *rgb);

#endif
