/* Model path resolution: directory, frozen .pb, TF.js model.json, or tar(.gz)
 * package. */
#include "format/package.h"
#include "format/tfjs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Names of the candidates found, for "several ..." messages: the first few
 * are kept (made printable), the rest only counted. */
#define EL_NAMES_KEPT 8
typedef struct el_names {
    int n;
    char name[EL_NAMES_KEPT][160];
} el_names;

static void el_names_add(el_names *l, const char *s)
{
    if (l->n < EL_NAMES_KEPT) {
        char *d = l->name[l->n];
        size_t i = 0;
        /* Archive and file names come from outside: no control bytes in our
         * messages. */
        for (; s[i] && i < sizeof l->name[0] - 1; i++) d[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        d[i] = '\0';
    }
    l->n++;
}

static const char *el_names_join(const el_names *l, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->n && i < EL_NAMES_KEPT && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", l->name[i]);
    if (l->n > EL_NAMES_KEPT && off < cap) snprintf(buf + off, cap - off, " and %d more", l->n - EL_NAMES_KEPT);
    return buf;
}

static bool el_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static const char *el_base(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

/* A label map candidate: *.pbtxt, but not macOS's AppleDouble "._x.pbtxt"
 * shadow files that tar on a Mac adds next to every file. */
static bool el_is_pbtxt(const char *base) { return strncmp(base, "._", 2) != 0 && el_ends_with(base, ".pbtxt"); }

static int el_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static el_status el_finish(el_status s, el_graph **graph, el_labels **labels, el_graph *g, el_labels *l)
{
    if (s != EL_OK) {
        el_graph_free(g);
        el_labels_free(l);
        return s;
    }
    *graph = g;
    if (labels) *labels = l;
    return EL_OK;
}

/* ------------------------------------------------------------ directory */

static el_status el_open_dir(const char *dir, const char *labels_path, el_graph **graph, el_labels **labels)
{
    char gpath[PATH_MAX];
    struct stat st;
    bool tfjs = false;
    if (snprintf(gpath, sizeof gpath, "%s/%s", dir, EL_PKG_GRAPH_NAME) >= (int)sizeof gpath)
        return el_error(EL_ERR_INVALID_ARG, "%s: path too long", dir);
    if (stat(gpath, &st) != 0 || !S_ISREG(st.st_mode)) {
        /* No frozen graph: a TF.js graph model (model.json, or the only
         * *.json with a modelTopology) is the model. */
        EL_TRY(el_tfjs_find_in_dir(dir, gpath, sizeof gpath, &tfjs));
        if (!tfjs)
            return el_error(EL_ERR_NOT_FOUND, "%s: no %s or TF.js model.json in this model directory", dir,
                            EL_PKG_GRAPH_NAME);
    }

    char lpath[PATH_MAX] = "";
    if (labels && !labels_path) {
        DIR *d = opendir(dir);
        if (!d) return el_error(EL_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
        char **found = NULL;
        int nfound = 0, seen = 0;
        el_status s = EL_OK;
        struct dirent *de;
        while (s == EL_OK && (de = readdir(d)) != NULL) {
            if (++seen > EL_PKG_MAX_ENTRIES) {
                s = el_error(EL_ERR_LIMIT, "%s: more than %d directory entries", dir, EL_PKG_MAX_ENTRIES);
                break;
            }
            if (!el_is_pbtxt(de->d_name)) continue;
            char p[PATH_MAX];
            if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p) continue;
            if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            char **grown = realloc(found, sizeof *found * (size_t)(nfound + 1));
            char *copy = strdup(de->d_name);
            if (grown) found = grown;
            if (!grown || !copy) {
                free(copy);
                s = el_error(EL_ERR_NOMEM, "%s: no memory to list label maps", dir);
                break;
            }
            found[nfound++] = copy;
        }
        closedir(d);
        if (s == EL_OK && nfound > 1) {
            qsort(found, (size_t)nfound, sizeof *found, el_cmp_str);
            el_names names = {0};
            for (int i = 0; i < nfound; i++) el_names_add(&names, found[i]);
            char list[1024];
            s = el_error(EL_ERR_INVALID_ARG, "%s: several label maps (*.pbtxt), name one explicitly: %s", dir,
                         el_names_join(&names, list, sizeof list));
        }
        if (s == EL_OK && nfound == 1) snprintf(lpath, sizeof lpath, "%s/%s", dir, found[0]);
        for (int i = 0; i < nfound; i++) free(found[i]);
        free(found);
        if (s != EL_OK) return s;
    }

    el_graph *g = NULL;
    el_labels *l = NULL;
    el_status s = tfjs ? el_tfjs_load(gpath, &g) : el_graph_load(gpath, &g);
    if (s == EL_OK && labels && (labels_path || lpath[0])) s = el_labels_load(labels_path ? labels_path : lpath, &l);
    return el_finish(s, graph, labels, g, l);
}

/* -------------------------------------------------------------- archive */

/* libarchive leaves no message for some failures (a gzip trailer cut off). */
static const char *el_arch_err(struct archive *a)
{
    const char *m = archive_error_string(a);
    return m && *m ? m : "truncated or corrupt data";
}

/* Reads the current entry's data, at most `max` bytes. The declared size is
 * checked first (no allocation for a lie), then the bytes actually
 * delivered. */
static el_status el_read_entry(struct archive *a, struct archive_entry *e, const char *arch, const char *entry,
                               int64_t max, unsigned char **out, size_t *len)
{
    bool known = archive_entry_size_is_set(e);
    int64_t declared = known ? archive_entry_size(e) : 0;
    if (known && (declared < 0 || declared > max))
        return el_error(EL_ERR_LIMIT, "%s: entry %s declares %lld bytes, at most %lld allowed", arch, entry,
                        (long long)declared, (long long)max);
    size_t cap = known ? (size_t)declared + 1 : 65536;
    size_t n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) return el_error(EL_ERR_NOMEM, "%s: no memory for entry %s (%zu bytes)", arch, entry, cap);
    for (;;) {
        if (n == cap) {
            if ((int64_t)cap > max) {
                free(buf);
                return el_error(EL_ERR_LIMIT, "%s: entry %s is larger than %lld bytes", arch, entry, (long long)max);
            }
            size_t ncap = cap * 2 > (size_t)max + 1 ? (size_t)max + 1 : cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return el_error(EL_ERR_NOMEM, "%s: no memory for entry %s", arch, entry);
            }
            buf = nb;
            cap = ncap;
        }
        la_ssize_t r = archive_read_data(a, buf + n, cap - n);
        if (r == 0) break;
        if (r < 0) {
            el_status s = el_error(EL_ERR_FORMAT, "%s: cannot read entry %s: %s", arch, entry,
                                   el_arch_err(a));
            free(buf);
            return s;
        }
        n += (size_t)r;
    }
    if ((known && (int64_t)n != declared) || (int64_t)n > max) {
        free(buf);
        return el_error(EL_ERR_FORMAT, "%s: entry %s holds %zu bytes, its header declares %lld", arch, entry, n,
                        (long long)declared);
    }
    *out = buf;
    *len = n;
    return EL_OK;
}

typedef struct el_pkg_scan {
    el_names graphs, pbtxts;
    unsigned char *graph_data, *labels_data;
    size_t graph_len, labels_len;
    char graph_entry[160], labels_entry[160];
} el_pkg_scan;

static el_status el_scan_archive(struct archive *a, const char *arch, bool want_labels, el_pkg_scan *sc)
{
    int count = 0;
    int64_t total = 0;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) return EL_OK;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            return el_error(EL_ERR_FORMAT, "%s: not a readable tar archive: %s", arch,
                            el_arch_err(a));
        if (++count > EL_PKG_MAX_ENTRIES)
            return el_error(EL_ERR_LIMIT, "%s: more than %d archive entries", arch, EL_PKG_MAX_ENTRIES);
        /* Only regular files carry a model; links could point anywhere. */
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) || archive_entry_symlink(e)) continue;
        if (archive_entry_size_is_set(e)) {
            total += archive_entry_size(e) > 0 ? archive_entry_size(e) : 0;
            if (total > EL_PKG_MAX_TOTAL)
                return el_error(EL_ERR_LIMIT, "%s: entries total more than %lld bytes", arch,
                                (long long)EL_PKG_MAX_TOTAL);
        }
        const char *name = archive_entry_pathname(e);
        if (!name) continue;
        const char *base = el_base(name);
        if (strcmp(base, EL_PKG_GRAPH_NAME) == 0) {
            el_names_add(&sc->graphs, name);
            if (sc->graphs.n > 1) continue;
            snprintf(sc->graph_entry, sizeof sc->graph_entry, "%s", sc->graphs.name[0]);
            EL_TRY(el_read_entry(a, e, arch, sc->graph_entry, EL_PKG_MAX_GRAPH, &sc->graph_data, &sc->graph_len));
        } else if (el_is_pbtxt(base)) {
            el_names_add(&sc->pbtxts, name);
            if (!want_labels || sc->pbtxts.n > 1) continue;
            snprintf(sc->labels_entry, sizeof sc->labels_entry, "%s", sc->pbtxts.name[0]);
            EL_TRY(el_read_entry(a, e, arch, sc->labels_entry, EL_PKG_MAX_LABELS, &sc->labels_data,
                                 &sc->labels_len));
        }
        /* Anything else: libarchive skips its data at the next header. */
    }
}

static el_status el_open_archive(const char *path, const char *labels_path, el_graph **graph, el_labels **labels)
{
    struct archive *a = archive_read_new();
    if (!a) return el_error(EL_ERR_NOMEM, "%s: cannot create an archive reader", path);
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    el_pkg_scan sc = {0};
    bool want_labels = labels && !labels_path;
    el_status s;
    if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK)
        s = el_error(EL_ERR_FORMAT, "%s: not a readable tar archive: %s", path,
                     el_arch_err(a));
    else
        s = el_scan_archive(a, path, want_labels, &sc);
    archive_read_free(a);

    char list[1024];
    if (s == EL_OK && sc.graphs.n == 0)
        s = el_error(EL_ERR_NOT_FOUND, "%s: no %s in the archive", path, EL_PKG_GRAPH_NAME);
    else if (s == EL_OK && sc.graphs.n > 1)
        s = el_error(EL_ERR_FORMAT, "%s: several %s in the archive: %s", path, EL_PKG_GRAPH_NAME,
                     el_names_join(&sc.graphs, list, sizeof list));
    else if (s == EL_OK && want_labels && sc.pbtxts.n > 1)
        s = el_error(EL_ERR_INVALID_ARG, "%s: several label maps (*.pbtxt) in the archive, name one explicitly: %s",
                     path, el_names_join(&sc.pbtxts, list, sizeof list));

    el_graph *g = NULL;
    el_labels *l = NULL;
    char source[PATH_MAX + 200];
    if (s == EL_OK) {
        snprintf(source, sizeof source, "%s:%s", path, sc.graph_entry);
        s = el_graph_parse(sc.graph_data, sc.graph_len, source, &g);
    }
    free(sc.graph_data);
    if (s == EL_OK && labels_path && labels) {
        s = el_labels_load(labels_path, &l);
    } else if (s == EL_OK && sc.labels_data) {
        snprintf(source, sizeof source, "%s:%s", path, sc.labels_entry);
        s = el_labels_parse((const char *)sc.labels_data, sc.labels_len, source, &l);
    }
    free(sc.labels_data);
    return el_finish(s, graph, labels, g, l);
}

/* ---------------------------------------------------------------- entry */

/* By name, or by content: gzip's magic, or "ustar" at offset 257 (a GraphDef
 * can start with neither: 0x1f is an invalid protobuf tag). */
static bool el_is_archive(const char *path)
{
    if (el_ends_with(path, ".tar.gz") || el_ends_with(path, ".tgz") || el_ends_with(path, ".tar")) return true;
    unsigned char head[262];
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return true;
    return n >= 262 && memcmp(head + 257, "ustar", 5) == 0;
}

el_status el_model_open(const char *path, const char *labels_path, el_graph **graph, el_labels **labels)
{
    if (graph) *graph = NULL;
    if (labels) *labels = NULL;
    if (!path || !graph) return el_error(EL_ERR_INVALID_ARG, "el_model_open: NULL path or graph output");
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return el_error(e == ENOENT ? EL_ERR_NOT_FOUND : EL_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) return el_open_dir(path, labels_path, graph, labels);
    if (!S_ISREG(st.st_mode))
        return el_error(EL_ERR_INVALID_ARG, "%s: not a model directory, .pb file, model.json or .tar.gz package", path);
    bool tfjs = el_tfjs_is_json_path(path);
    if (!tfjs && el_is_archive(path)) return el_open_archive(path, labels_path, graph, labels);

    el_graph *g = NULL;
    el_labels *l = NULL;
    el_status s = tfjs ? el_tfjs_load(path, &g) : el_graph_load(path, &g);
    if (s == EL_OK && labels && labels_path) s = el_labels_load(labels_path, &l);
    return el_finish(s, graph, labels, g, l);
}
