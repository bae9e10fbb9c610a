/* Image sources: one JPEG/PNG file, or a directory of them played in name
 * order, paced at opts.fps (default 1) when realtime. */
#include "video/source_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* A directory with more images than this is refused rather than listed
 * (the names alone would take tens of megabytes). */
#define EL_IMAGEDIR_MAX_FILES 100000
/* Pacing: a frame this late restarts the clock instead of bursting. */
#define EL_IMG_LATE_NS (1000000000LL)

typedef struct el_imgsrc {
    el_image img;   /* the single image, decoded at open */
    char **files;   /* directory: full paths in name order */
    size_t nfiles;
    size_t next;    /* directory: next file to show */
    int64_t index;  /* frames output so far */
    int64_t pass_frames;
    bool ended;
    bool have_clock;
    int64_t t0_ns;  /* monotonic time at which frame 0 was due */
} el_imgsrc;

static void el_img_close(el_source *s)
{
    el_imgsrc *m = s->impl;
    if (!m) return;
    el_image_free(&m->img);
    for (size_t i = 0; i < m->nfiles; i++) free(m->files[i]);
    free(m->files);
    free(m);
    s->impl = NULL;
}

/* Holds frame m->index until it is due. */
static el_status el_img_pace(el_source *s, el_imgsrc *m, double *pts_ms)
{
    double period_ns = 1e9 / s->fps;
    *pts_ms = (double)m->index * 1000.0 / s->fps;
    if (!s->opts.realtime) return EL_OK;
    int64_t now = el_video_now_ns();
    int64_t due = m->t0_ns + (int64_t)((double)m->index * period_ns);
    if (!m->have_clock || due < now - EL_IMG_LATE_NS) {
        m->t0_ns = now - (int64_t)((double)m->index * period_ns);
        m->have_clock = true;
        return EL_OK;
    }
    if (!el_video_sleep_until(s, due)) return el_error(EL_ERR_IO, "%s: interrupted", s->uri);
    return EL_OK;
}

static el_status el_img_read_one(el_source *s, el_image *img, double *pts_ms)
{
    el_imgsrc *m = s->impl;
    if (m->ended || (m->index > 0 && !s->opts.loop)) {
        m->ended = true;
        return el_error(EL_ERR_END, "%s: end of images", s->uri);
    }
    EL_TRY(el_video_image_reserve(img, m->img.width, m->img.height, s->uri));
    memcpy(img->rgb, m->img.rgb, (size_t)m->img.width * (size_t)m->img.height * 3);
    EL_TRY(el_img_pace(s, m, pts_ms));
    m->index++;
    return EL_OK;
}

static bool el_is_bad_image(el_status rc)
{
    return rc == EL_ERR_FORMAT || rc == EL_ERR_UNSUPPORTED || rc == EL_ERR_LIMIT || rc == EL_ERR_NOT_FOUND ||
           rc == EL_ERR_IO;
}

static el_status el_img_read_dir(el_source *s, el_image *img, double *pts_ms)
{
    el_imgsrc *m = s->impl;
    if (m->ended) return el_error(EL_ERR_END, "%s: end of images", s->uri);
    /* At most one full pass per call: a directory whose every image is
     * broken fails instead of spinning. */
    el_status last = EL_OK;
    for (size_t tries = 0; tries <= m->nfiles; tries++) {
        if (m->next == m->nfiles) {
            if (m->pass_frames == 0 && last != EL_OK)
                return el_error_prefix(last, "%s: no image in the directory could be read; last: ", s->uri);
            if (!s->opts.loop) {
                m->ended = true;
                return el_error(EL_ERR_END, "%s: end of images", s->uri);
            }
            m->next = 0;
            m->pass_frames = 0;
        }
        el_image tmp = {0, 0, NULL};
        el_status rc = el_image_load(m->files[m->next++], &tmp);
        if (rc != EL_OK) {
            /* A damaged or vanished file is skipped like a dropped frame. */
            if (!el_is_bad_image(rc)) return rc;
            last = rc;
            continue;
        }
        el_image_free(img);
        *img = tmp;
        m->pass_frames++;
        EL_TRY(el_img_pace(s, m, pts_ms));
        m->index++;
        return EL_OK;
    }
    return el_error_prefix(last != EL_OK ? last : EL_ERR_FORMAT, "%s: no image in the directory could be read; last: ",
                           s->uri);
}

static const el_source_ops el_img_one_ops = {el_img_read_one, el_img_close};
static const el_source_ops el_img_dir_ops = {el_img_read_dir, el_img_close};

static el_imgsrc *el_img_new(el_source *s)
{
    el_imgsrc *m = calloc(1, sizeof *m);
    if (!m) el_error(EL_ERR_NOMEM, "%s: no memory for an image source", s->uri);
    s->fps = s->opts.fps > 0 ? s->opts.fps : 1;
    return m;
}

el_status el_source_open_image(el_source *s)
{
    el_imgsrc *m = el_img_new(s);
    if (!m) return EL_ERR_NOMEM;
    el_status rc = el_image_load(s->uri, &m->img);
    if (rc != EL_OK) {
        free(m);
        return rc;
    }
    s->impl = m;
    s->ops = &el_img_one_ops;
    return EL_OK;
}

static bool el_img_name_ok(const char *name)
{
    if (name[0] == '.') return false; /* hidden files, editor droppings */
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int el_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

el_status el_source_open_imagedir(el_source *s)
{
    el_imgsrc *m = el_img_new(s);
    if (!m) return EL_ERR_NOMEM;
    s->impl = m;
    DIR *d = opendir(s->uri);
    if (!d) {
        int e = errno;
        el_img_close(s);
        return el_error(e == ENOENT ? EL_ERR_NOT_FOUND : EL_ERR_IO, "%s: cannot list directory: %s", s->uri,
                        strerror(e));
    }
    size_t cap = 0;
    size_t dlen = strlen(s->uri);
    const char *sep = dlen && s->uri[dlen - 1] == '/' ? "" : "/";
    el_status rc = EL_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!el_img_name_ok(de->d_name)) continue;
        if (m->nfiles == EL_IMAGEDIR_MAX_FILES) {
            rc = el_error(EL_ERR_LIMIT, "%s: more than %d images in the directory", s->uri, EL_IMAGEDIR_MAX_FILES);
            break;
        }
        size_t n = dlen + strlen(sep) + strlen(de->d_name) + 1;
        char *path = malloc(n);
        if (!path) {
            rc = el_error(EL_ERR_NOMEM, "%s: no memory to list the directory", s->uri);
            break;
        }
        snprintf(path, n, "%s%s%s", s->uri, sep, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (m->nfiles == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nf = realloc(m->files, ncap * sizeof *nf);
            if (!nf) {
                free(path);
                rc = el_error(EL_ERR_NOMEM, "%s: no memory to list the directory", s->uri);
                break;
            }
            m->files = nf;
            cap = ncap;
        }
        m->files[m->nfiles++] = path;
    }
    closedir(d);
    if (rc == EL_OK && m->nfiles == 0)
        rc = el_error(EL_ERR_NOT_FOUND, "%s: the directory has no .jpg, .jpeg or .png image", s->uri);
    if (rc != EL_OK) {
        el_img_close(s);
        return rc;
    }
    qsort(m->files, m->nfiles, sizeof *m->files, el_cmp_str);
    s->ops = &el_img_dir_ops;
    return EL_OK;
}
