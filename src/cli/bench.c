/* edgelens bench MODEL [--image IMG] [--threads N] [--iterations N]
 *                      [--profile] [--json] [--no-optimize] [--precision P]
 *
 * Times a detection model the way the agent runs it: load (graph + session,
 * graph passes included), the first inference, then N more; reports min /
 * median / p90 and the peak RSS. Every model the detector accepts works: the
 * detector discovers the head (TF OD API, CenterNet, FaceBoxes, TF.js
 * signatures) and prepares the input tensor exactly as it feeds it
 * (detect/detector_io.h); only graph execution is timed, not the resize
 * before it nor the decoding after it. --profile runs the same inferences again on
 * a second session with the executor's node hook and prints where the time
 * goes by op type (the timed runs themselves carry no profiling cost). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "core/threadpool.h"
#include "ops/conv_bf16.h"
#include "edgelens/engine.h"
#include "edgelens/image.h"
#include "detect/detector_io.h"
#include "edgelens/detect.h"

/* Frame size fed to graphs whose input size is dynamic, when no --image is
 * given: a VGA camera frame. */
#define EL_BENCH_DEFAULT_W 640
#define EL_BENCH_DEFAULT_H 480
#define EL_BENCH_MAX_ITERATIONS 100000

static void el_bench_usage(FILE *f)
{
    fprintf(f,
            "usage: edgelens bench MODEL [--image IMG] [--threads N] [--iterations N]\n"
            "                      [--profile] [--json] [--no-optimize] [--precision P]\n"
            "  MODEL             what edgelens detect accepts: a directory with frozen_inference_graph.pb\n"
            "                    or model.json, a .pb file, a TF.js model.json or a .tar.gz package\n"
            "  --image IMG       image to feed (default: a synthetic frame of the model's input size,\n"
            "                    or %dx%d when the input size is dynamic)\n"
            "  --threads N       threads (default: one per core)\n"
            "  --iterations N    timed inferences after the first (default 30)\n"
            "  --profile         time each op type (on a second session, after the timed runs)\n"
            "  --json            one JSON line: model, threads, precision, load_ms, first_ms, min_ms, median_ms,\n"
            "                    p90_ms, peak_rss_kb (and \"profile\" with --profile)\n"
            "  --no-optimize     run the graph as written (no folding or fusion)\n"
            "  --precision P     convolution arithmetic: auto (default: bf16x3 where the CPU has\n"
            "                    AMX, else fp32), fp32, bf16x3 or bf16 (README, Precision)\n",
            EL_BENCH_DEFAULT_W, EL_BENCH_DEFAULT_H);
}

static double el_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long el_bench_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return ru.ru_maxrss; /* kilobytes on Linux */
}

/* ---- profile by op type ---- */

typedef struct el_prof_row {
    const char *op;
    int64_t calls;
    double ms;
    double flops;
} el_prof_row;

typedef struct el_prof {
    el_prof_row *rows;
    int n, cap;
    bool oom;
    int halves; /* bf16 tile halves per weight: 2 under bf16x3 */
} el_prof;

/* Multiply-adds count 2 flops; only the convolution family is counted. */
static double el_node_flops(const el_node_event *ev, int halves)
{
    const char *op = ev->op;
    if (ev->noutputs < 1 || ev->ninputs < 2) return 0;
    const el_tensor *y = &ev->outputs[0], *w = &ev->inputs[1];
    double out = (double)el_tensor_numel(y);
    if (strstr(op, "DepthwiseConv2d") && w->ndim == 4) return 2.0 * out * (double)(w->dims[0] * w->dims[1]);
    if (strstr(op, "Conv2D") && w->ndim == 4) return 2.0 * out * (double)(w->dims[0] * w->dims[1] * w->dims[2]);
    /* A filter packed by the graph passes (ops/gemm.h): [panels, kh, kw, ic, 32]. */
    if (strstr(op, "Conv2D") && w->ndim == 5) return 2.0 * out * (double)(w->dims[1] * w->dims[2] * w->dims[3]);
    /* bf16 tiles (--precision bf16, ops/conv_bf16.h): 1-D, k padded to 32,
     * the output depth to 16; counts the padded k the tiles multiply (the
     * exact k when kh * kw * ic is a multiple of 32, as in SSD MobileNet). */
    if (strstr(op, "Conv2D") && w->ndim == 1 && w->dtype == EL_DT_INT16 && y->ndim == 4 && y->dims[3] > 0)
        return 2.0 * out * (double)(w->dims[0] / halves / el_bf16_npad(y->dims[3]));
    if (strstr(op, "MatMul") && ev->inputs[0].ndim == 2 && y->ndim == 2) {
        bool ta = false;
        (void)ta;
        int64_t k = ev->inputs[0].dims[0] * ev->inputs[0].dims[1] / (y->dims[0] ? y->dims[0] : 1);
        return 2.0 * out * (double)k;
    }
    return 0;
}

static void el_prof_hook(void *user, const el_node_event *ev)
{
    el_prof *p = user;
    el_prof_row *r = NULL;
    for (int i = 0; i < p->n; i++)
        if (p->rows[i].op == ev->op || !strcmp(p->rows[i].op, ev->op)) {
            r = &p->rows[i];
            break;
        }
    if (!r) {
        if (p->n == p->cap) {
            int cap = p->cap ? p->cap * 2 : 32;
            el_prof_row *nr = realloc(p->rows, sizeof *nr * (size_t)cap);
            if (!nr) {
                p->oom = true;
                return;
            }
            p->rows = nr;
            p->cap = cap;
        }
        r = &p->rows[p->n++];
        memset(r, 0, sizeof *r);
        r->op = ev->op;
    }
    r->calls++;
    r->ms += ev->ms;
    r->flops += el_node_flops(ev, p->halves > 1 ? p->halves : 1);
}

static int el_prof_cmp(const void *a, const void *b)
{
    const el_prof_row *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : strcmp(x->op, y->op);
}

static int el_dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct el_bench_args {
    const char *model, *image;
    int threads, iterations;
    bool profile, json, no_optimize;
    el_precision precision;
} el_bench_args;

/* Runs the session `iters` times; times[i] in ms (times may be NULL). outs
 * has room for the session's nouts fetches. */
static el_status el_bench_runs(el_session *s, const el_tensor *in, int iters, double *times, el_tensor *outs,
                               int nouts)
{
    for (int i = 0; i < iters; i++) {
        double t0 = el_bench_now();
        EL_TRY(el_session_run(s, in, outs));
        double t1 = el_bench_now();
        for (int k = 0; k < nouts; k++) el_tensor_release(&outs[k]);
        if (times) times[i] = t1 - t0;
    }
    return EL_OK;
}

static void el_bench_synthetic(el_image *img)
{
    /* Smooth gradients plus a little LCG noise: deterministic, and not flat
     * (a flat frame makes the post-processing unrealistically cheap). */
    uint32_t seed = 12345;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            uint8_t *p = img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
            seed = seed * 1664525u + 1013904223u;
            int noise = (int)(seed >> 27) - 16;
            int v[3] = {x * 255 / img->width, y * 255 / img->height, (x + y) * 127 / (img->width + img->height) + 64};
            for (int c = 0; c < 3; c++) {
                int q = v[c] + noise;
                p[c] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
            }
        }
}

static int el_bench_main(const el_bench_args *a)
{
    int rc = 1;
    el_detector *d = NULL;
    el_session *ps = NULL;
    el_image img = {0};
    el_tensor in = {0}, *outs = NULL;
    double *times = NULL;
    el_prof prof = {.halves = a->precision == EL_PRECISION_BF16X3 ? 2 : 1};

    double t0 = el_bench_now();
    el_session_opts so = {.threads = a->threads, .no_optimize = a->no_optimize, .precision = a->precision};
    if (el_detector_open_session(a->model, NULL, &so, &d) != EL_OK) goto fail;
    double load_ms = el_bench_now() - t0;
    el_detector_io io;
    el_detector_get_io(d, &io);

    if (a->image) {
        if (el_image_load(a->image, &img) != EL_OK) goto fail;
    } else {
        int in_w, in_h;
        el_detector_input_size(d, &in_w, &in_h);
        img.width = in_w > 0 ? in_w : EL_BENCH_DEFAULT_W;
        img.height = in_h > 0 ? in_h : EL_BENCH_DEFAULT_H;
        img.rgb = malloc((size_t)img.width * (size_t)img.height * 3);
        if (!img.rgb) {
            el_error(EL_ERR_NOMEM, "out of memory");
            goto fail;
        }
        el_bench_synthetic(&img);
    }
    /* Prepared once, outside the timing, as el_detector_run prepares it. */
    if (el_detector_input_tensor(d, &img, &in) != EL_OK) goto fail;

    double first_ms = 0;
    times = malloc(sizeof(double) * (size_t)(a->iterations + 1));
    outs = calloc((size_t)io.nfetches, sizeof *outs);
    if (!times || !outs) {
        el_error(EL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    el_session *s = el_detector_session(d);
    if (el_bench_runs(s, &in, 1, &first_ms, outs, io.nfetches) != EL_OK) goto fail;
    if (el_bench_runs(s, &in, a->iterations, times, outs, io.nfetches) != EL_OK) goto fail;
    long rss = el_bench_rss_kb();
    qsort(times, (size_t)a->iterations, sizeof *times, el_dbl_cmp);
    int n = a->iterations;
    double min_ms = times[0];
    double median_ms = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    int p90i = (int)ceil(0.9 * n) - 1;
    double p90_ms = times[p90i < 0 ? 0 : p90i];
    int threads = a->threads > 0 ? a->threads : el_cpu_count();
    if (threads > EL_THREADPOOL_MAX) threads = EL_THREADPOOL_MAX;

    double prof_total = 0;
    int prof_runs = 0;
    if (a->profile) {
        /* A separate session on the detector's graph, feed and fetches, so
         * the timed runs above paid nothing. */
        so.node_hook = el_prof_hook;
        so.node_hook_user = &prof;
        if (el_session_create(io.graph, 1, &io.feed, io.nfetches, io.fetches, &so, &ps) != EL_OK) goto fail;
        if (el_bench_runs(ps, &in, 1, NULL, outs, io.nfetches) != EL_OK) goto fail; /* warm-up, not counted */
        for (int i = 0; i < prof.n; i++) prof.rows[i].calls = 0, prof.rows[i].ms = 0, prof.rows[i].flops = 0;
        prof_runs = n > 0 ? n : 1;
        for (int i = 0; i < prof_runs; i++) {
            double t;
            if (el_bench_runs(ps, &in, 1, &t, outs, io.nfetches) != EL_OK) goto fail;
            prof_total += t;
        }
        if (prof.oom) {
            el_error(EL_ERR_NOMEM, "out of memory while profiling");
            goto fail;
        }
        qsort(prof.rows, (size_t)prof.n, sizeof *prof.rows, el_prof_cmp);
    }

    double kernels_ms = 0;
    for (int i = 0; i < prof.n; i++) kernels_ms += prof.rows[i].ms;
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", a->model);
        cJSON_AddNumberToObject(o, "threads", threads);
        cJSON_AddStringToObject(o, "precision", el_precision_name(a->precision));
        cJSON_AddNumberToObject(o, "load_ms", round(load_ms * 1e3) / 1e3);
        cJSON_AddNumberToObject(o, "first_ms", round(first_ms * 1e3) / 1e3);
        cJSON_AddNumberToObject(o, "min_ms", round(min_ms * 1e3) / 1e3);
        cJSON_AddNumberToObject(o, "median_ms", round(median_ms * 1e3) / 1e3);
        cJSON_AddNumberToObject(o, "p90_ms", round(p90_ms * 1e3) / 1e3);
        cJSON_AddNumberToObject(o, "peak_rss_kb", (double)rss);
        if (a->profile) {
            cJSON *arr = cJSON_AddArrayToObject(o, "profile");
            for (int i = 0; i <= prof.n; i++) {
                bool ex = i == prof.n; /* the executor's own time: total minus kernels */
                double ms = ex ? prof_total - kernels_ms : prof.rows[i].ms;
                cJSON *r = cJSON_CreateObject();
                cJSON_AddStringToObject(r, "op", ex ? "(executor)" : prof.rows[i].op);
                cJSON_AddNumberToObject(r, "calls", ex ? 0 : (double)prof.rows[i].calls / prof_runs);
                cJSON_AddNumberToObject(r, "ms", round(ms / prof_runs * 1e4) / 1e4);
                cJSON_AddNumberToObject(r, "share", prof_total > 0 ? round(ms / prof_total * 1e4) / 1e4 : 0);
                double gf = !ex && prof.rows[i].flops > 0 && ms > 0 ? prof.rows[i].flops / (ms * 1e6) : 0;
                cJSON_AddNumberToObject(r, "gflops", round(gf * 100) / 100);
                cJSON_AddItemToArray(arr, r);
            }
        }
        char *str = cJSON_PrintUnformatted(o);
        if (str) puts(str);
        free(str);
        cJSON_Delete(o);
    } else {
        printf("model: %s (%s head, %s input %lldx%lld%s)\n", a->model, el_detector_head_name(d),
               el_dtype_name(in.dtype), (long long)in.dims[2], (long long)in.dims[1], a->image ? "" : ", synthetic");
        printf("threads: %d%s, precision %s (%s)\n", threads, a->no_optimize ? ", graph passes off" : "",
               el_precision_name(a->precision), el_precision_isa(a->precision));
        printf("load: %.2f ms, first inference: %.2f ms\n", load_ms, first_ms);
        printf("inference over %d runs: min %.3f ms, median %.3f ms, p90 %.3f ms\n", n, min_ms, median_ms, p90_ms);
        printf("peak RSS: %ld kB\n", rss);
        if (a->profile) {
            printf("\nprofile over %d runs (%.3f ms per run with timing on):\n", prof_runs, prof_total / prof_runs);
            printf("  %-28s %9s %10s %7s %9s\n", "op", "calls/run", "ms/run", "share", "GFLOP/s");
            for (int i = 0; i <= prof.n; i++) {
                bool ex = i == prof.n;
                double ms = ex ? prof_total - kernels_ms : prof.rows[i].ms;
                char gf[32] = "";
                if (!ex && prof.rows[i].flops > 0 && ms > 0) snprintf(gf, sizeof gf, "%.2f", prof.rows[i].flops / (ms * 1e6));
                char calls[32] = "";
                if (!ex) snprintf(calls, sizeof calls, "%.1f", (double)prof.rows[i].calls / prof_runs);
                printf("  %-28s %9s %10.4f %6.1f%% %9s\n", ex ? "(executor)" : prof.rows[i].op, calls, ms / prof_runs,
                       prof_total > 0 ? 100.0 * ms / prof_total : 0.0, gf);
            }
        }
    }
    rc = 0;
    goto done;
fail:
    rc = el_cli_fail("bench");
done:
    free(prof.rows);
    free(times);
    free(outs);
    el_tensor_release(&in);
    el_image_free(&img);
    el_session_free(ps);
    el_detector_free(d);
    return rc;
}

int el_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"image", required_argument, NULL, 'i'},   {"threads", required_argument, NULL, 'n'},
        {"iterations", required_argument, NULL, 'r'}, {"profile", no_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},          {"no-optimize", no_argument, NULL, 'O'},
        {"precision", required_argument, NULL, 'P'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    el_bench_args a = {.iterations = 30, .precision = EL_PRECISION_AUTO};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:n:r:pjP:h", opts, NULL)) != -1) {
        char *end;
        long v;
        switch (c) {
        case 'i': a.image = optarg; break;
        case 'n':
            v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > EL_THREADPOOL_MAX) {
                fprintf(stderr, "edgelens bench: --threads must be 1..%d, got '%s'\n", EL_THREADPOOL_MAX, optarg);
                return 2;
            }
            a.threads = (int)v;
            break;
        case 'r':
            v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > EL_BENCH_MAX_ITERATIONS) {
                fprintf(stderr, "edgelens bench: --iterations must be 1..%d, got '%s'\n", EL_BENCH_MAX_ITERATIONS,
                        optarg);
                return 2;
            }
            a.iterations = (int)v;
            break;
        case 'p': a.profile = true; break;
        case 'j': a.json = true; break;
        case 'O': a.no_optimize = true; break;
        case 'P':
            if (el_precision_parse(optarg, &a.precision) != EL_OK) {
                fprintf(stderr, "edgelens bench: --precision: %s\n", el_last_error());
                return 2;
            }
            break;
        case 'h': el_bench_usage(stdout); return 0;
        default: el_bench_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "edgelens bench: %s\n", optind >= argc ? "no model given" : "one model at a time");
        el_bench_usage(stderr);
        return 2;
    }
    a.model = argv[optind];
    /* What runs, in what the bench prints: auto's choice on this CPU. */
    a.precision = el_precision_resolve(a.precision);
    return el_bench_main(&a);
}
