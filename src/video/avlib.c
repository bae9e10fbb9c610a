/* FFmpeg's libraries on demand (see avlib.h). */
#include "video/avlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <libavutil/macros.h>

/* Dependencies first, so each dlopen finds the ones before it loaded. */
static const char *const el_av_libs[] = {
    "libavutil.so." AV_STRINGIFY(LIBAVUTIL_VERSION_MAJOR),
    "libswscale.so." AV_STRINGIFY(LIBSWSCALE_VERSION_MAJOR),
    "libavcodec.so." AV_STRINGIFY(LIBAVCODEC_VERSION_MAJOR),
    "libavformat.so." AV_STRINGIFY(LIBAVFORMAT_VERSION_MAJOR),
};
#define EL_AV_NLIBS (sizeof el_av_libs / sizeof *el_av_libs)

static pthread_once_t el_av_once = PTHREAD_ONCE_INIT;
static el_av_api el_av_table;
static char el_av_err[512]; /* empty when loaded */

/* The symbol from whichever of the libraries defines it. */
static void *el_av_sym(void *const *h, const char *name)
{
    for (size_t i = 0; i < EL_AV_NLIBS; i++) {
        void *p = dlsym(h[i], name);
        if (p) return p;
    }
    return NULL;
}

/* The error for a function none of the loaded libraries defines, naming
 * them all (a mismatched or partial FFmpeg install). */
static void el_av_missing(const char *name)
{
    int n = snprintf(el_av_err, sizeof el_av_err, "FFmpeg's libraries (");
    for (size_t i = 0; i < EL_AV_NLIBS && n > 0 && (size_t)n < sizeof el_av_err; i++)
        n += snprintf(el_av_err + n, sizeof el_av_err - (size_t)n, "%s%s", i ? ", " : "", el_av_libs[i]);
    if (n > 0 && (size_t)n < sizeof el_av_err)
        snprintf(el_av_err + n, sizeof el_av_err - (size_t)n, ") lack the function %s", name);
}

static void el_av_init(void)
{
    void *h[EL_AV_NLIBS];
    for (size_t i = 0; i < EL_AV_NLIBS; i++) {
        h[i] = dlopen(el_av_libs[i], RTLD_NOW | RTLD_LOCAL);
        if (!h[i]) {
            const char *why = dlerror();
            snprintf(el_av_err, sizeof el_av_err, "cannot load %s (FFmpeg, for video sources): %s", el_av_libs[i],
                     why ? why : "unknown reason");
            return;
        }
    }
#define EL_AV_RESOLVE(name)                                                                                          \
    if (!(el_av_table.name = (__typeof__(&name))el_av_sym(h, #name))) {                                             \
        el_av_missing(#name);                                                                                        \
        return;                                                                                                      \
    }
    EL_AV_FUNCS(EL_AV_RESOLVE)
#undef EL_AV_RESOLVE
    el_av_table.avformat_network_init();
    /* FFmpeg logs every damaged macroblock of a glitchy stream to stderr; our
     * errors carry av_strerror and the URI instead. EL_FFMPEG_LOG=error,
     * warning, info or debug turns FFmpeg's own log back on. */
    const char *lv = getenv("EL_FFMPEG_LOG");
    int level = AV_LOG_FATAL;
    if (lv) {
        if (!strcasecmp(lv, "error")) level = AV_LOG_ERROR;
        else if (!strcasecmp(lv, "warning")) level = AV_LOG_WARNING;
        else if (!strcasecmp(lv, "info")) level = AV_LOG_INFO;
        else if (!strcasecmp(lv, "debug")) level = AV_LOG_DEBUG;
    }
    el_av_table.av_log_set_level(level);
}

el_status el_av_load(const el_av_api **out)
{
    *out = NULL;
    pthread_once(&el_av_once, el_av_init);
    if (el_av_err[0]) return el_error(EL_ERR_UNSUPPORTED, "%s", el_av_err);
    *out = &el_av_table;
    return EL_OK;
}
