/* The TF1 OD API graph's pre- and post-processing alone: run the whole graph
 * once on an image, keep the tensors entering the Postprocessor, then time a
 * session fed with them (no convolutions) and, separately, the Preprocessor.
 * Prints min/median per part, a per-op table with --profile, and a hash of
 * the detection outputs so that a kernel change can be checked bit-exact.
 *
 * usage: el_post_bench MODEL.pb IMAGE ITERATIONS [--profile] [--size WxH] [--threads N]
 * (--size: resize the image first, for graphs with a fixed input size;
 * --threads: the timed sessions' threads, default 1: with 2 the thread CPU
 * time counts the calling thread only, so compare the wall time) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgelens/engine.h"
#include "edgelens/image.h"
#include "graph/graph.h"

static double el_clock_ms(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}
static double el_now_ms(void) { return el_clock_ms(CLOCK_MONOTONIC); }
/* This thread's CPU time: on a shared machine, waiting for a core does not
 * count (the session runs on this thread alone). */
static double el_cpu_ms(void) { return el_clock_ms(CLOCK_THREAD_CPUTIME_ID); }

#define NOPS 128
typedef struct prof {
    char op[NOPS][48];
    double ms[NOPS];   /* this run */
    double best[NOPS]; /* least over the runs */
    int calls[NOPS];
    int n;
} prof;

static void hook(void *user, const el_node_event *ev)
{
    prof *p = user;
    int i = 0;
    while (i < p->n && strcmp(p->op[i], ev->op)) i++;
    if (i == p->n) {
        if (p->n == NOPS) return;
        snprintf(p->op[p->n++], sizeof p->op[0], "%s", ev->op);
    }
    p->ms[i] += ev->ms;
    p->calls[i]++;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what)
{
    fprintf(stderr, "el_post_bench: %s: %s\n", what, el_last_error());
    exit(1);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void time_session(const char *name, el_session *s, const el_tensor *feeds, int nout, int iters,
                         prof *pr, uint64_t *hash)
{
    el_tensor out[16];
    double *t = calloc((size_t)iters, sizeof *t), *c = calloc((size_t)iters, sizeof *c);
    for (int it = 0; it < iters; it++) {
        double t0 = el_now_ms(), c0 = el_cpu_ms();
        if (el_session_run(s, feeds, out) != EL_OK) die(name);
        t[it] = el_now_ms() - t0;
        c[it] = el_cpu_ms() - c0;
        if (pr) /* per op: the least time of any run (the machine is shared) */
            for (int i = 0; i < pr->n; i++) {
                if (it == 0 || pr->ms[i] < pr->best[i]) pr->best[i] = pr->ms[i];
                pr->ms[i] = 0;
            }
        if (it == 0 && hash) {
            *hash = 1469598103934665603ull;
            for (int i = 0; i < nout; i++) *hash = fnv(*hash, out[i].data, el_tensor_nbytes(&out[i]));
        }
        for (int i = 0; i < nout; i++) el_tensor_release(&out[i]);
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_d);
    qsort(c, (size_t)iters, sizeof *c, cmp_d);
    printf("%s: min %.3f ms, median %.3f ms over %d runs (thread CPU time: min %.3f, median %.3f)\n", name, t[0],
           t[iters / 2], iters, c[0], c[iters / 2]);
    free(t);
    free(c);
    if (pr && pr->n) {
        double tot = 0;
        for (int i = 0; i < pr->n; i++) tot += pr->ms[i] = pr->best[i];
        for (int k = 0; k < pr->n; k++) { /* selection by time */
            int b = k;
            for (int i = k + 1; i < pr->n; i++)
                if (pr->ms[i] > pr->ms[b]) b = i;
            char o[48];
            double m = pr->ms[b];
            int c = pr->calls[b];
            memcpy(o, pr->op[b], sizeof o);
            memcpy(pr->op[b], pr->op[k], sizeof o);
            pr->ms[b] = pr->ms[k];
            pr->calls[b] = pr->calls[k];
            memcpy(pr->op[k], o, sizeof o);
            pr->ms[k] = m;
            pr->calls[k] = c;
            printf("  %-28s %8.1f calls %9.4f ms/run (least)\n", o, (double)c / iters, m);
        }
        printf("  %-28s %8s       %9.4f ms/run (sum of the least)\n", "total", "", tot);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: el_post_bench MODEL.pb IMAGE ITERATIONS [--profile] [--size WxH] [--threads N]\n");
        return 2;
    }
    int iters = atoi(argv[3]);
    int profile = 0, w = 0, hgt = 0, threads = 1;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--profile")) profile = 1;
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) sscanf(argv[++i], "%dx%d", &w, &hgt);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    }
    if (iters < 1) iters = 1;
    el_graph *g;
    if (el_graph_load(argv[1], &g) != EL_OK) die("load");
    el_image img;
    if (el_image_load(argv[2], &img) != EL_OK) die("image");
    if (w > 0 && hgt > 0) {
        el_image r;
        if (el_image_resize_bilinear(&img, w, hgt, &r) != EL_OK) die("resize");
        el_image_free(&img);
        img = r;
    }
    el_tensor in;
    int64_t dims[4] = {1, img.height, img.width, 3};
    el_tensor_wrap(&in, EL_DT_UINT8, 4, dims, img.rgb);

    /* The tensors crossing into a part: data inputs of nodes named
     * `prefix`* coming from non-constant nodes outside it (inside: the
     * reverse). */
    static char names[2][16][256];
    const char *mid[16], *pre_fetch[16];
    int nmid = 0, npre = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *prefix = pass == 0 ? "Postprocessor/" : "Preprocessor/";
        size_t pl = strlen(prefix);
        const char **list = pass == 0 ? mid : pre_fetch;
        int *cnt = pass == 0 ? &nmid : &npre;
        for (int i = 0; i < g->nnodes; i++) {
            const el_node *nd = &g->nodes[i];
            for (int j = 0; j < nd->ndata; j++) {
                const el_node *src = &g->nodes[nd->inputs[j].node];
                bool in_dst = !strncmp(nd->name, prefix, pl), in_src = !strncmp(src->name, prefix, pl);
                if (!strcmp(src->op, "Const") || (pass == 0 ? !(in_dst && !in_src) : !(in_src && !in_dst))) continue;
                char nm[256];
                snprintf(nm, sizeof nm, "%s:%d", src->name, nd->inputs[j].slot);
                int k = 0;
                while (k < *cnt && strcmp(list[k], nm)) k++;
                if (k < *cnt || *cnt == 16) continue;
                snprintf(names[pass][*cnt], sizeof names[pass][0], "%s", nm);
                list[*cnt] = names[pass][*cnt];
                ++*cnt;
            }
        }
    }
    const char *outs[] = {"detection_boxes", "detection_scores", "detection_classes", "num_detections"};
    const char *img_feed[] = {"image_tensor"};
    el_session_opts o = {.threads = 1};
    el_session *full, *post, *pre;
    if (el_session_create(g, 1, img_feed, nmid, mid, &o, &full) != EL_OK) die("full session");
    el_tensor m[16];
    if (el_session_run(full, &in, m) != EL_OK) die("full run");
    prof pp = {0}, pq = {0};
    el_session_opts op = o;
    op.threads = threads;
    if (profile) {
        op.node_hook = hook;
        op.node_hook_user = &pp;
    }
    if (el_session_create(g, nmid, mid, 4, outs, &op, &post) != EL_OK) die("post session");
    if (profile) op.node_hook_user = &pq;
    if (el_session_create(g, 1, img_feed, npre, pre_fetch, &op, &pre) != EL_OK) die("pre session");
    uint64_t h = 0;
    time_session("postprocessor", post, m, 4, iters, profile ? &pp : NULL, &h);
    time_session("preprocessor", pre, &in, npre, iters, profile ? &pq : NULL, NULL);
    printf("outputs hash %016llx\n", (unsigned long long)h);
    for (int i = 0; i < nmid; i++) el_tensor_release(&m[i]);
    el_session_free(full);
    el_session_free(post);
    el_session_free(pre);
    el_image_free(&img);
    el_graph_free(g);
    return 0;
}
