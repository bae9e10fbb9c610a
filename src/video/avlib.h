/* FFmpeg's libraries (libavformat, libavcodec, libavutil, libswscale),
 * loaded with dlopen the first time a source needs them instead of at
 * program start: they and the 130-odd libraries they pull in (codecs, TLS,
 * ...) cost about 20 MB of resident memory in every process that maps them,
 * and `edgelens bench`, `detect` or an embedder reading images never
 * calls them. The functions src/video/ffmpeg.c uses are reached through
 * the table below, typed from FFmpeg's own headers; the libraries are the
 * major versions those headers declare (their SONAMEs). */
#ifndef EL_VIDEO_AVLIB_H
#define EL_VIDEO_AVLIB_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "edgelens/status.h"

#define EL_AV_FUNCS(X)                                                                                               \
    X(avformat_network_init) X(avformat_alloc_context) X(avformat_open_input) X(avformat_find_stream_info)           \
    X(avformat_close_input) X(av_find_best_stream) X(av_guess_frame_rate) X(av_read_frame) X(av_seek_frame)          \
    X(avformat_seek_file) X(avio_feof) X(avcodec_get_name) X(avcodec_alloc_context3)                                 \
    X(avcodec_parameters_to_context) X(avcodec_open2) X(avcodec_free_context) X(avcodec_flush_buffers)               \
    X(avcodec_send_packet) X(avcodec_receive_frame) X(av_packet_alloc) X(av_packet_free) X(av_packet_unref)          \
    X(av_log_set_level) X(av_strerror) X(av_dict_set) X(av_dict_free) X(av_frame_alloc) X(av_frame_free)             \
    X(av_frame_unref) X(av_get_pix_fmt_name) X(sws_getCachedContext) X(sws_setColorspaceDetails)                     \
    X(sws_getCoefficients) X(sws_freeContext) X(sws_scale)

typedef struct el_av_api {
#define EL_AV_FIELD(name) __typeof__(&name) name;
    EL_AV_FUNCS(EL_AV_FIELD)
#undef EL_AV_FIELD
} el_av_api;

/* The table, loading the libraries on the first call (once per process,
 * thread-safe; they stay loaded). EL_ERR_UNSUPPORTED, naming the library
 * and dlerror's reason, when they cannot be loaded. */
el_status el_av_load(const el_av_api **out);

#endif
