/* FFmpeg source: anything libavformat opens (files, rtsp://, http://, ...),
 * decoded with libavcodec and converted to RGB24 with libswscale.
 *
 * Every blocking FFmpeg call runs under an interrupt callback that fails it
 * when the source is interrupted (el_capture_stop) or when it has made no
 * progress for EL_FF_IO_TIMEOUT_NS, so neither a dead camera nor a closing
 * agent can hang on a network read. */
#include "video/source_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "video/avlib.h"

/* A network open or read that makes no progress for this long fails. */
#define EL_FF_IO_TIMEOUT_NS (10LL * 1000000000LL)
/* Consecutive packets the decoder rejects before the stream counts as
 * broken rather than glitched (a lossy network drops the odd packet). */
#define EL_FF_MAX_BAD_PACKETS 256
/* Pacing: being this late, or this far ahead (a timestamp jump), restarts
 * the clock at the current frame instead of bursting or stalling. */
#define EL_FF_LATE_NS (1000000000LL)
#define EL_FF_AHEAD_NS (10LL * 1000000000LL)

typedef struct el_ff {
    el_source *src;
    const el_av_api *av;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    int sws_w, sws_h, sws_fmt, sws_full, sws_cs; /* what sws was set up for */
    int stream;
    AVRational tb;
    bool live;     /* not seekable: never paced, looping means reconnecting */
    bool draining; /* the NULL packet was sent: the decoder is flushing */
    bool ended;    /* EL_ERR_END was returned (no loop) */
    int64_t deadline_ns; /* the blocking call in progress fails after this */
    /* Timestamps, made continuous across loops: a frame's output time is
     * offset_ms + (pts - first_pts) in ms. */
    int64_t first_pts;   /* of the current pass; AV_NOPTS_VALUE until seen */
    double offset_ms;
    double last_ms;
    double step_ms;      /* one frame's duration */
    int64_t frames_pass; /* frames output in the current pass */
    bool have_clock;
    int64_t clock_base_ns; /* monotonic time at which output time 0 is due */
} el_ff;

static int el_ff_interrupt_cb(void *opaque)
{
    el_ff *ff = opaque;
    if (atomic_load(&ff->src->interrupted)) return 1;
    return ff->deadline_ns && el_video_now_ns() > ff->deadline_ns;
}

static void el_ff_arm(el_ff *ff) { ff->deadline_ns = el_video_now_ns() + EL_FF_IO_TIMEOUT_NS; }

/* An FFmpeg failure as an el_status, naming the URI, the step and
 * av_strerror's text; an interrupt or a timeout is said as such. */
static el_status el_ff_error(el_ff *ff, int ret, el_status code, const char *what)
{
    const char *uri = ff->src->uri;
    if (atomic_load(&ff->src->interrupted)) return el_error(EL_ERR_IO, "%s: %s: interrupted", uri, what);
    if (ff->deadline_ns && el_video_now_ns() > ff->deadline_ns)
        return el_error(EL_ERR_TIMEOUT, "%s: %s: no data for %lld s", uri, what,
                        (long long)(EL_FF_IO_TIMEOUT_NS / 1000000000LL));
    char msg[AV_ERROR_MAX_STRING_SIZE] = "";
    ff->av->av_strerror(ret, msg, sizeof msg);
    return el_error(code, "%s: %s: %s", uri, what, msg);
}

static void el_ff_close_input(el_ff *ff)
{
    ff->av->avcodec_free_context(&ff->dec);
    ff->av->avformat_close_input(&ff->fmt);
}

static bool el_ff_is_rtsp(const char *uri) { return !strncmp(uri, "rtsp://", 7) || !strncmp(uri, "rtsps://", 8); }

static el_status el_ff_open_input(el_ff *ff)
{
    const char *uri = ff->src->uri;
    ff->fmt = ff->av->avformat_alloc_context();
    if (!ff->fmt) return el_error(EL_ERR_NOMEM, "%s: no memory for a demuxer", uri);
    ff->fmt->interrupt_callback.callback = el_ff_interrupt_cb;
    ff->fmt->interrupt_callback.opaque = ff;

    AVDictionary *o = NULL;
    /* RTSP over UDP loses packets behind NAT and firewalls, which shows as
     * smeared frames; interleaved TCP is what cameras do reliably. */
    if (el_ff_is_rtsp(uri)) ff->av->av_dict_set(&o, "rtsp_transport", "tcp", 0);
    el_ff_arm(ff);
    int ret = ff->av->avformat_open_input(&ff->fmt, uri, NULL, &o);
    ff->av->av_dict_free(&o);
    if (ret < 0) {
        el_status code = ret == AVERROR_INVALIDDATA ? EL_ERR_FORMAT
                         : ret == AVERROR(ENOENT)   ? EL_ERR_NOT_FOUND
                                                    : EL_ERR_IO;
        el_status rc = el_ff_error(ff, ret, code, "cannot open video");
        ff->fmt = NULL; /* freed by avformat_open_input */
        ff->deadline_ns = 0;
        return rc;
    }
    el_ff_arm(ff);
    ret = ff->av->avformat_find_stream_info(ff->fmt, NULL);
    if (ret < 0) {
        el_status rc = el_ff_error(ff, ret, EL_ERR_FORMAT, "cannot read stream information");
        ff->deadline_ns = 0;
        el_ff_close_input(ff);
        return rc;
    }
    ff->deadline_ns = 0;

    const AVCodec *codec = NULL;
    int idx = ff->av->av_find_best_stream(ff->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (idx < 0) {
        el_status rc;
        if (idx == AVERROR_DECODER_NOT_FOUND) {
            int v = ff->av->av_find_best_stream(ff->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
            const char *name = v >= 0 ? ff->av->avcodec_get_name(ff->fmt->streams[v]->codecpar->codec_id) : "?";
            rc = el_error(EL_ERR_UNSUPPORTED, "%s: no decoder for its video codec '%s'", uri, name);
        } else {
            rc = el_error(EL_ERR_FORMAT, "%s: no video stream (container '%s')", uri, ff->fmt->iformat->name);
        }
        el_ff_close_input(ff);
        return rc;
    }
    for (unsigned i = 0; i < ff->fmt->nb_streams; i++)
        if ((int)i != idx) ff->fmt->streams[i]->discard = AVDISCARD_ALL;
    AVStream *st = ff->fmt->streams[idx];
    ff->stream = idx;
    ff->tb = st->time_base;

    if (ff->fmt->pb)
        ff->live = !(ff->fmt->pb->seekable & AVIO_SEEKABLE_NORMAL);
    else /* rtsp, udp and friends own their I/O: live unless they know a length */
        ff->live = ff->fmt->duration == AV_NOPTS_VALUE || ff->fmt->duration <= 0;

    AVRational fr = ff->av->av_guess_frame_rate(ff->fmt, st, NULL);
    double fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0;
    ff->src->fps = fps > 0 && fps <= 1000 ? fps : 0;

    ff->dec = ff->av->avcodec_alloc_context3(codec);
    if (!ff->dec) {
        el_ff_close_input(ff);
        return el_error(EL_ERR_NOMEM, "%s: no memory for a decoder", uri);
    }
    ret = ff->av->avcodec_parameters_to_context(ff->dec, st->codecpar);
    if (ret >= 0) {
        ff->dec->pkt_timebase = st->time_base;
        ff->dec->thread_count = 0;
        /* Frame threading holds back one frame per thread: fine for files,
         * latency for a live camera. */
        ff->dec->thread_type = ff->live ? FF_THREAD_SLICE : FF_THREAD_FRAME | FF_THREAD_SLICE;
        ret = ff->av->avcodec_open2(ff->dec, codec, NULL);
    }
    if (ret < 0) {
        el_status rc = el_ff_error(ff, ret, EL_ERR_UNSUPPORTED, "cannot open the video decoder");
        el_ff_close_input(ff);
        return rc;
    }
    ff->draining = false;
    ff->first_pts = AV_NOPTS_VALUE;
    ff->frames_pass = 0;
    return EL_OK;
}

static void el_ff_close(el_source *s)
{
    el_ff *ff = s->impl;
    if (!ff) return;
    el_ff_close_input(ff);
    ff->av->av_packet_free(&ff->pkt);
    ff->av->av_frame_free(&ff->frame);
    ff->av->sws_freeContext(ff->sws);
    free(ff);
    s->impl = NULL;
}

/* The end of the input: EL_ERR_END, or back to the start when looping
 * (seek; reopen when the input cannot seek, which for a live stream means
 * reconnecting). */
static el_status el_ff_at_end(el_source *s, el_ff *ff)
{
    if (ff->frames_pass == 0)
        return el_error(EL_ERR_FORMAT, "%s: the video ended before any frame could be decoded", s->uri);
    if (!s->opts.loop) {
        ff->ended = true;
        return el_error(EL_ERR_END, "%s: end of video", s->uri);
    }
    ff->offset_ms = ff->last_ms + ff->step_ms;
    bool seeked = false;
    if (!ff->live) {
        el_ff_arm(ff);
        seeked = ff->av->av_seek_frame(ff->fmt, ff->stream, ff->fmt->streams[ff->stream]->start_time != AV_NOPTS_VALUE
                                                         ? ff->fmt->streams[ff->stream]->start_time
                                                         : 0,
                               AVSEEK_FLAG_BACKWARD) >= 0 ||
                 ff->av->avformat_seek_file(ff->fmt, -1, INT64_MIN, 0, 0, 0) >= 0;
        ff->deadline_ns = 0;
    }
    if (seeked) {
        ff->av->avcodec_flush_buffers(ff->dec);
        ff->draining = false;
        ff->first_pts = AV_NOPTS_VALUE;
        ff->frames_pass = 0;
        return EL_OK;
    }
    el_ff_close_input(ff);
    return el_ff_open_input(ff);
}

/* Converts ff->frame into img (RGB24, full range). */
static el_status el_ff_convert(el_source *s, el_ff *ff, el_image *img)
{
    AVFrame *f = ff->frame;
    int w = f->width, h = f->height;
    EL_TRY(el_video_image_reserve(img, w, h, s->uri));
    int fmt = f->format;
    int full = f->color_range == AVCOL_RANGE_JPEG;
    /* The deprecated YUVJ formats are plain YUV in full range; swscale wants
     * the range said through sws_setColorspaceDetails instead. */
    switch (fmt) {
    case AV_PIX_FMT_YUVJ420P: fmt = AV_PIX_FMT_YUV420P, full = 1; break;
    case AV_PIX_FMT_YUVJ422P: fmt = AV_PIX_FMT_YUV422P, full = 1; break;
    case AV_PIX_FMT_YUVJ444P: fmt = AV_PIX_FMT_YUV444P, full = 1; break;
    case AV_PIX_FMT_YUVJ440P: fmt = AV_PIX_FMT_YUV440P, full = 1; break;
    case AV_PIX_FMT_YUVJ411P: fmt = AV_PIX_FMT_YUV411P, full = 1; break;
    default: break;
    }
    int cs = f->colorspace;
    if (!ff->sws || ff->sws_w != w || ff->sws_h != h || ff->sws_fmt != fmt || ff->sws_full != full ||
        ff->sws_cs != cs) {
        ff->sws = ff->av->sws_getCachedContext(ff->sws, w, h, (enum AVPixelFormat)fmt, w, h, AV_PIX_FMT_RGB24, SWS_BILINEAR,
                                       NULL, NULL, NULL);
        if (!ff->sws) {
            const char *name = ff->av->av_get_pix_fmt_name((enum AVPixelFormat)fmt);
            return el_error(EL_ERR_UNSUPPORTED, "%s: cannot convert %dx%d frames in pixel format %s to RGB", s->uri,
                            w, h, name ? name : "?");
        }
        /* The frame's own matrix (BT.709 for HD streams that say so, BT.601
         * otherwise: sws_getCoefficients falls back to it for "unspecified")
         * and range; RGB out is always full range. Fails harmlessly for
         * RGB or grey inputs, which have no matrix. */
        ff->av->sws_setColorspaceDetails(ff->sws, ff->av->sws_getCoefficients(cs), full, ff->av->sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                                 1 << 16, 1 << 16);
        ff->sws_w = w, ff->sws_h = h, ff->sws_fmt = fmt, ff->sws_full = full, ff->sws_cs = cs;
    }
    uint8_t *dst[4] = {img->rgb, NULL, NULL, NULL};
    int dst_stride[4] = {w * 3, 0, 0, 0};
    int ret = ff->av->sws_scale(ff->sws, (const uint8_t *const *)f->data, f->linesize, 0, h, dst, dst_stride);
    if (ret != h) return el_ff_error(ff, ret < 0 ? ret : AVERROR_BUG, EL_ERR_RUNTIME, "cannot convert frame to RGB");
    return EL_OK;
}

/* Output time of ff->frame, continuous and increasing across loops. */
static double el_ff_frame_ms(el_ff *ff)
{
    int64_t pts = ff->frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = ff->frame->pts;
    double ms;
    if (pts == AV_NOPTS_VALUE || ff->tb.num <= 0 || ff->tb.den <= 0) {
        ms = ff->frames_pass == 0 && ff->offset_ms == 0 ? 0 : ff->last_ms + ff->step_ms;
    } else {
        if (ff->first_pts == AV_NOPTS_VALUE) ff->first_pts = pts;
        ms = ff->offset_ms + (double)(pts - ff->first_pts) * av_q2d(ff->tb) * 1000.0;
    }
    if (ff->src->fps > 0) {
        ff->step_ms = 1000.0 / ff->src->fps;
    } else if (ff->frames_pass > 0) {
        double d = ms - ff->last_ms;
        if (d > 0 && d < 10000) ff->step_ms = d;
    }
    return ms;
}

static el_status el_ff_emit(el_source *s, el_ff *ff, el_image *img, double *pts_ms)
{
    double ms = el_ff_frame_ms(ff);
    el_status rc = el_ff_convert(s, ff, img);
    if (rc != EL_OK) return rc;
    ff->last_ms = ms;
    ff->frames_pass++;
    *pts_ms = ms;
    if (!s->opts.realtime || ff->live) return EL_OK;
    int64_t now = el_video_now_ns();
    int64_t due = ff->clock_base_ns + (int64_t)(ms * 1e6);
    if (!ff->have_clock || due < now - EL_FF_LATE_NS || due > now + EL_FF_AHEAD_NS) {
        ff->clock_base_ns = now - (int64_t)(ms * 1e6);
        ff->have_clock = true;
        return EL_OK;
    }
    if (!el_video_sleep_until(s, due)) return el_error(EL_ERR_IO, "%s: interrupted", s->uri);
    return EL_OK;
}

static el_status el_ff_read(el_source *s, el_image *img, double *pts_ms)
{
    el_ff *ff = s->impl;
    if (ff->ended) return el_error(EL_ERR_END, "%s: end of video", s->uri);
    if (!ff->fmt) return el_error(EL_ERR_IO, "%s: the stream could not be reopened", s->uri);
    int bad = 0;
    for (;;) {
        if (atomic_load(&s->interrupted)) return el_error(EL_ERR_IO, "%s: interrupted", s->uri);
        int ret = ff->av->avcodec_receive_frame(ff->dec, ff->frame);
        if (ret == 0) {
            el_status rc = el_ff_emit(s, ff, img, pts_ms);
            ff->av->av_frame_unref(ff->frame);
            return rc;
        }
        if (ret == AVERROR_EOF || (ret == AVERROR(EAGAIN) && ff->draining)) {
            EL_TRY(el_ff_at_end(s, ff));
            continue;
        }
        if (ret != AVERROR(EAGAIN)) {
            /* A damaged frame: skip it, as players do, within a bound. */
            if (++bad > EL_FF_MAX_BAD_PACKETS) return el_ff_error(ff, ret, EL_ERR_FORMAT, "cannot decode video");
            continue;
        }
        el_ff_arm(ff);
        ret = ff->av->av_read_frame(ff->fmt, ff->pkt);
        if (ret < 0) {
            if (ret == AVERROR(EAGAIN)) {
                ff->deadline_ns = 0;
                if (!el_video_sleep_until(s, el_video_now_ns() + 5000000))
                    return el_error(EL_ERR_IO, "%s: interrupted", s->uri);
                continue;
            }
            bool eof = ret == AVERROR_EOF || (ff->fmt->pb && ff->av->avio_feof(ff->fmt->pb) && !ff->fmt->pb->error);
            bool stuck = atomic_load(&s->interrupted) || el_video_now_ns() > ff->deadline_ns;
            /* A live stream that breaks off (FFmpeg's http says EIO when a
             * stream of unknown length closes) is reconnected when looping,
             * like the end of a file is rewound. */
            if (stuck || (!eof && !(ff->live && s->opts.loop))) {
                el_status rc = el_ff_error(ff, ret, EL_ERR_IO, ff->live ? "the stream broke off" : "cannot read video");
                ff->deadline_ns = 0;
                return rc;
            }
            ff->deadline_ns = 0;
            /* Drain the frames the decoder still holds. */
            ff->av->avcodec_send_packet(ff->dec, NULL);
            ff->draining = true;
            continue;
        }
        ff->deadline_ns = 0;
        if (ff->pkt->stream_index != ff->stream) {
            ff->av->av_packet_unref(ff->pkt);
            continue;
        }
        ret = ff->av->avcodec_send_packet(ff->dec, ff->pkt);
        ff->av->av_packet_unref(ff->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN) && ++bad > EL_FF_MAX_BAD_PACKETS)
            return el_ff_error(ff, ret, EL_ERR_FORMAT, "cannot decode video");
    }
}

static const el_source_ops el_ff_ops = {el_ff_read, el_ff_close};

el_status el_source_open_ffmpeg(el_source *s)
{
    const el_av_api *av;
    EL_TRY(el_av_load(&av));
    el_ff *ff = calloc(1, sizeof *ff);
    if (!ff) return el_error(EL_ERR_NOMEM, "%s: no memory for an FFmpeg source", s->uri);
    ff->src = s;
    ff->av = av;
    ff->pkt = ff->av->av_packet_alloc();
    ff->frame = ff->av->av_frame_alloc();
    el_status rc = ff->pkt && ff->frame ? el_ff_open_input(ff)
                                        : el_error(EL_ERR_NOMEM, "%s: no memory for FFmpeg buffers", s->uri);
    if (rc != EL_OK) {
        s->impl = ff;
        el_ff_close(s);
        return rc;
    }
    ff->step_ms = s->fps > 0 ? 1000.0 / s->fps : 40;
    s->impl = ff;
    s->ops = &el_ff_ops;
    return EL_OK;
}
