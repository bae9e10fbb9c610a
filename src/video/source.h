/* Frame sources: V4L2 cameras, anything FFmpeg opens (files, rtsp://,
 * http://), a single image, a directory of images. Every source yields RGB
 * frames. A source is used from one thread at a time. */
#ifndef EL_VIDEO_SOURCE_H
#define EL_VIDEO_SOURCE_H

#include <stdbool.h>

#include "edgelens/image.h"
#include "edgelens/status.h"

typedef struct el_source el_source;

typedef struct el_source_opts {
    bool loop;      /* restart files / image directories at their end */
    bool realtime;  /* pace files at their native frame rate (images: 1 fps
                       unless fps is set) instead of as fast as decoding goes */
    double fps;     /* images and directories: frames per second (0: 1) */
} el_source_opts;

/* Chooses the backend from the URI: /dev/video* -> V4L2 (MJPEG or YUYV);
 * an existing directory -> its .jpg/.jpeg/.png files in name order; a .jpg,
 * .jpeg or .png file -> that image; anything else (video files, rtsp://,
 * http://, ...) -> FFmpeg. Errors name the URI and say why. */
el_status el_source_open(const char *uri, const el_source_opts *opts, el_source **out);

/* Blocks until the next frame and stores it in *img as RGB; *img is
 * reused when its size matches, otherwise reallocated (start with a zeroed
 * el_image, free with el_image_free). *pts_ms (may be NULL) is the frame's
 * presentation time. Returns EL_ERR_END at the end of a finite source that
 * does not loop. */
el_status el_source_read(el_source *s, el_image *img, double *pts_ms);

/* A short description for logs and payloads: the URI as given. */
const char *el_source_uri(const el_source *s);
/* Native frame rate when known, else 0. */
double el_source_fps(const el_source *s);
void el_source_close(el_source *s);

#endif
