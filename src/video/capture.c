/* The capture thread: reads the source as fast as it delivers and keeps only
 * the newest frame.
 *
 * Three image buffers rotate by swapping structs, never by copying pixels:
 * the thread decodes into `back`, then swaps it with `slot` (the newest
 * frame); el_capture_next swaps `slot` with the caller's image. A frame
 * still in `slot` when the next one arrives is dropped.
 *
 * Stopping must not hang on a source stuck in a system call FFmpeg cannot
 * interrupt (a FIFO, a dead NFS mount): el_capture_stop waits a bounded
 * time, and past it hands the cleanup to the thread itself (detached),
 * which frees everything whenever its read finally returns. */
#include "video/capture.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "video/source_impl.h"

/* How long el_capture_stop waits for the thread after interrupting it.
 * Every backend polls its interrupt flag at least every 100 ms, so this
 * only runs out on a read blocked in the kernel. */
#define EL_CAPTURE_STOP_WAIT_MS 3000

struct el_capture {
    el_source *src;
    char *uri;
    double fps;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a frame arrived, the source ended, the thread exited */
    /* Guarded by mu. */
    el_image slot;
    uint64_t slot_seq; /* capture number of the frame in slot (0: none yet) */
    uint64_t taken_seq;
    el_capture_stats stats;
    bool done;       /* the source ended or failed: no more frames */
    el_status err;   /* EL_ERR_END or the source's failure */
    char errmsg[1024];
    bool stopping;
    bool exited;     /* the thread has left its loop */
    bool orphaned;   /* stop gave up waiting: the thread frees everything */
};

static void el_capture_free(el_capture *c)
{
    el_source_close(c->src);
    el_image_free(&c->slot);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->uri);
    free(c);
}

static void *el_capture_main(void *arg)
{
    el_capture *c = arg;
    el_image back = {0, 0, NULL};
    for (;;) {
        el_status rc = el_source_read(c->src, &back, NULL);
        pthread_mutex_lock(&c->mu);
        if (c->stopping) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        if (rc != EL_OK) {
            c->done = true;
            c->err = rc;
            /* Messages are per thread: keep it for el_capture_next. */
            snprintf(c->errmsg, sizeof c->errmsg, "%s", el_last_error());
            pthread_cond_broadcast(&c->cv);
            pthread_mutex_unlock(&c->mu);
            break;
        }
        /* An unpaced file (opts.realtime false) is processed frame by frame:
         * wait for the consumer instead of dropping, so decoding the next
         * frame overlaps the consumer's work on this one. */
        while (!c->src->opts.realtime && c->slot_seq > c->taken_seq && !c->stopping)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stopping) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        if (c->slot_seq > c->taken_seq) c->stats.dropped++;
        el_image t = c->slot;
        c->slot = back;
        back = t;
        c->slot_seq = ++c->stats.captured;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    el_image_free(&back);
    pthread_mutex_lock(&c->mu);
    bool orphaned = c->orphaned;
    c->exited = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (orphaned) el_capture_free(c);
    return NULL;
}

el_status el_capture_start(el_source *src, el_capture **out)
{
    if (!out) {
        el_source_close(src);
        return el_error(EL_ERR_INVALID_ARG, "el_capture_start: NULL output");
    }
    *out = NULL;
    if (!src) return el_error(EL_ERR_INVALID_ARG, "el_capture_start: NULL source");
    el_capture *c = calloc(1, sizeof *c);
    const char *uri = el_source_uri(src);
    if (c) c->uri = strdup(uri);
    if (!c || !c->uri) {
        free(c);
        el_source_close(src);
        return el_error(EL_ERR_NOMEM, "%s: no memory for a capture thread", uri);
    }
    c->src = src;
    c->fps = el_source_fps(src);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);
    int e = pthread_create(&c->thread, NULL, el_capture_main, c);
    if (e != 0) {
        el_status rc = el_error(EL_ERR_RUNTIME, "%s: cannot start the capture thread: %s", c->uri, strerror(e));
        el_capture_free(c);
        return rc;
    }
    *out = c;
    return EL_OK;
}

static struct timespec el_deadline(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

el_status el_capture_next(el_capture *c, el_image *frame, uint64_t *seq, int timeout_ms)
{
    if (seq) *seq = 0;
    if (!c || !frame) return el_error(EL_ERR_INVALID_ARG, "el_capture_next: NULL capture or frame");
    struct timespec until = el_deadline(timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&c->mu);
    while (c->slot_seq <= c->taken_seq && !c->done) {
        if (timeout_ms == 0) break;
        if (timeout_ms < 0) {
            pthread_cond_wait(&c->cv, &c->mu);
        } else if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    el_status rc;
    if (c->slot_seq > c->taken_seq) {
        el_image t = *frame;
        *frame = c->slot;
        c->slot = t;
        c->taken_seq = c->slot_seq;
        c->stats.taken++;
        if (seq) *seq = c->slot_seq;
        pthread_cond_broadcast(&c->cv); /* an unpaced source waits for this */
        rc = EL_OK;
    } else if (c->done) {
        rc = el_error(c->err, "%s", c->errmsg);
    } else {
        rc = el_error(EL_ERR_TIMEOUT, "%s: no frame within %d ms", c->uri, timeout_ms);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void el_capture_get_stats(el_capture *c, el_capture_stats *out)
{
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
}

const char *el_capture_uri(const el_capture *c) { return c ? c->uri : ""; }

double el_capture_fps(const el_capture *c) { return c ? c->fps : 0; }

void el_capture_stop(el_capture *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    el_source_interrupt(c->src);

    struct timespec until = el_deadline(EL_CAPTURE_STOP_WAIT_MS);
    pthread_mutex_lock(&c->mu);
    while (!c->exited)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT) break;
    bool exited = c->exited;
    pthread_t th = c->thread;
    if (!exited) c->orphaned = true;
    pthread_mutex_unlock(&c->mu);
    /* Once orphaned, c belongs to the thread and may already be gone. */
    if (exited) {
        pthread_join(th, NULL);
        el_capture_free(c);
    } else {
        pthread_detach(th);
    }
}
