/* Capture in its own thread, keeping only the newest frame, so a slow model
 * never makes the stream lag: a frame that was not taken before the next one
 * arrived is dropped (and counted). A source opened without pacing
 * (el_source_opts.realtime false: a file read as fast as it decodes) drops
 * nothing: the thread decodes the next frame while the consumer works on the
 * current one, then waits for it to be taken. */
#ifndef EL_VIDEO_CAPTURE_H
#define EL_VIDEO_CAPTURE_H

#include <stdint.h>

#include "video/source.h"

typedef struct el_capture el_capture;

typedef struct el_capture_stats {
    uint64_t captured;  /* frames read from the source */
    uint64_t taken;     /* frames handed out by el_capture_next */
    uint64_t dropped;   /* frames overwritten before being taken */
} el_capture_stats;

/* Starts the thread; takes ownership of `src` (closed by el_capture_stop,
 * also on failure here). */
el_status el_capture_start(el_source *src, el_capture **out);

/* Waits up to timeout_ms for a frame newer than the last one taken and
 * swaps it into *frame (start with a zeroed el_image). *seq (may be NULL)
 * receives its 1-based capture number. timeout_ms < 0 waits without limit,
 * 0 only polls. Returns EL_ERR_TIMEOUT when none came,
 * EL_ERR_END once the source ended and every frame was taken, or the
 * source's own error (with its message) once it failed. */
el_status el_capture_next(el_capture *c, el_image *frame, uint64_t *seq, int timeout_ms);

void el_capture_get_stats(el_capture *c, el_capture_stats *out);
const char *el_capture_uri(const el_capture *c);
double el_capture_fps(const el_capture *c);

/* Stops the thread (interrupting a blocking read within a bounded time),
 * closes the source, frees everything. NULL is fine. */
void el_capture_stop(el_capture *c);

#endif
