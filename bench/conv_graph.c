/* Per-layer Conv2D time inside a graph run against the same kernel called
 * alone, in one process and interleaved, so the machine's noise hits both
 * sides alike.
 *
 * For every Conv2D node of MODEL (packed filters, as the session's graph
 * passes leave them) it prints the node's least time over the graph runs
 * (the executor's node hook), and the least time of el_conv2d_packed on a
 * copy of the same input, the same packed filter and bias, into a buffer
 * of its own: warm (called back to back) and cold (16 MB read before each
 * call, as el_conv_bench --cold). Rounds alternate graph runs and replays.
 *
 * Usage: el_conv_graph MODEL [--threads N] [--rounds R] [--runs N] [--cpu] [--precision P]
 * (P as `edgelens bench --precision`, fp32 unless given: the replays
 * compare fp32 kernels, so they only mean something in fp32)
 * With EL_CG_NODES set in the environment it also lists every node in the
 * order of its first run: least time per run, op, output shape, name
 * (what compares one build with another, node by node).
 * Not a test: numbers go to bench/README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "detect/detector_io.h"
#include "edgelens/detect.h"
#include "edgelens/engine.h"
#include "ops/conv_fast.h"
#include "ops/gemm.h"

#define MAXL 128

typedef struct layer {
    const char *name;
    int64_t xd[4], yd[4], kh, kw;
    float *x, *bias, *y;
    const float *w; /* the graph's packed filter (lives as long as the session) */
    int relu6;
    double graph_min, graph_sum, warm, cold;
    int64_t graph_n;
} layer;

/* Every node's time per run (loop bodies summed), for the per-op-type
 * table of least times. */
#define MAXN 4096
typedef struct nodet {
    const char *name, *op;
    double run, min;
    int order;      /* first execution, for --nodes */
    int64_t dims[4]; /* first output's shape */
    int ndim;
} nodet;

typedef struct capture {
    layer l[MAXL];
    int n, cur;
    bool capture;
    nodet nodes[MAXN];
    int nn;
} capture;

static void node_time(capture *c, const el_node_event *ev)
{
    size_t h = ((size_t)ev->node >> 4) % MAXN;
    for (int i = 0; i < MAXN; i++, h = (h + 1) % MAXN) {
        nodet *t = &c->nodes[h];
        if (t->name == ev->node) {
            t->run += ev->ms;
            return;
        }
        if (!t->name) {
            if (c->nn >= MAXN / 2) return;
            c->nn++;
            t->name = ev->node;
            t->op = ev->op;
            t->order = c->nn;
            if (ev->noutputs > 0 && ev->outputs[0].ndim <= 4) {
                t->ndim = ev->outputs[0].ndim;
                memcpy(t->dims, ev->outputs[0].dims, sizeof(int64_t) * (size_t)t->ndim);
            }
            t->run = ev->ms;
            t->min = 1e30;
            return;
        }
    }
}

static void nodes_end_run(capture *c)
{
    for (int i = 0; i < MAXN; i++)
        if (c->nodes[i].name) {
            if (c->nodes[i].run < c->nodes[i].min) c->nodes[i].min = c->nodes[i].run;
            c->nodes[i].run = 0;
        }
}

static clockid_t timer_clock = CLOCK_MONOTONIC;
static double now_ms(void)
{
    struct timespec t;
    clock_gettime(timer_clock, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static float *dup_floats(const float *p, int64_t n)
{
    float *d = aligned_alloc(64, (size_t)(n * 4 + 64) / 64 * 64);
    if (d) memcpy(d, p, (size_t)n * 4);
    return d;
}

static void hook(void *user, const el_node_event *ev)
{
    capture *c = user;
    if (!c->capture) node_time(c, ev);
    /* Replayed: convolutions of a float map (not one standardising its
     * uint8 image as it loads it, ops/mul_add.h). */
    if (!strstr(ev->op, "Conv2D") || ev->ninputs < 2 || ev->inputs[1].ndim != 5 || ev->inputs[0].dtype != EL_DT_FLOAT)
        return;
    if (c->cur >= MAXL) return;
    layer *l = &c->l[c->cur++];
    if (c->capture) {
        const el_tensor *x = &ev->inputs[0], *w = &ev->inputs[1], *y = &ev->outputs[0];
        l->name = ev->node;
        memcpy(l->xd, x->dims, sizeof l->xd);
        memcpy(l->yd, y->dims, sizeof l->yd);
        l->kh = w->dims[1];
        l->kw = w->dims[2];
        l->w = w->data;
        free(l->x), free(l->bias), free(l->y);
        l->x = dup_floats(x->data, el_tensor_numel(x));
        l->bias = ev->ninputs > 2 ? dup_floats(ev->inputs[2].data, el_tensor_numel(&ev->inputs[2])) : NULL;
        l->y = aligned_alloc(64, (size_t)(el_tensor_numel(y) * 4 + 64) / 64 * 64);
        /* Relu6 when every output lies in [0, 6] (this graph: Relu6 or none). */
        const float *yv = y->data;
        l->relu6 = 1;
        for (int64_t i = 0; i < el_tensor_numel(y); i++)
            if (!(yv[i] >= 0.0f && yv[i] <= 6.0f)) l->relu6 = 0;
        l->graph_min = 1e30;
        if (c->cur > c->n) c->n = c->cur;
        return;
    }
    if (ev->ms < l->graph_min) l->graph_min = ev->ms;
    l->graph_sum += ev->ms;
    l->graph_n++;
}

static void geom(const layer *l, el_conv_geom *g)
{
    memset(g, 0, sizeof *g);
    g->n = l->xd[0];
    g->ic = g->fic = l->xd[3];
    g->oc = l->yd[3];
    g->groups = 1;
    el_window_axis *ax[2] = {&g->h, &g->w};
    for (int i = 0; i < 2; i++) {
        el_window_axis *a = ax[i];
        a->in = l->xd[1 + i];
        a->out = l->yd[1 + i];
        a->k = i ? l->kw : l->kh;
        a->dilation = 1;
        a->stride = a->out == a->in ? 1 : 2; /* SAME padding, strides 1 or 2 in these graphs */
        int64_t need = (a->out - 1) * a->stride + a->k - a->in;
        if (need < 0) need = 0;
        a->pad_before = need / 2;
        a->pad_after = need - need / 2;
    }
}

static float *cold_buf;
static volatile float cold_sink;
static size_t COLD_LEN = (size_t)16 << 20 >> 2;

static double replay(layer *l, bool cold, int calls)
{
    el_conv_geom g;
    geom(l, &g);
    el_conv_epi e = {.bias = l->bias, .clamp = l->relu6 != 0, .lo = 0.0f, .hi = l->relu6 ? 6.0f : INFINITY};
    double best = 1e30;
    for (int i = 0; i < calls; i++) {
        if (cold) {
            float s = 0;
            for (size_t k = 0; k < COLD_LEN; k += 16) s += cold_buf[k];
            cold_sink = s;
        }
        double t0 = now_ms();
        el_conv2d_packed(&g, l->x, l->w, &e, l->y);
        double t = now_ms() - t0;
        if (t < best) best = t;
    }
    return best;
}

static int64_t subnormals(const float *p, int64_t n)
{
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += fpclassify(p[i]) == FP_SUBNORMAL;
    return c;
}

int main(int argc, char **argv)
{
    const char *model = NULL;
    int threads = 1, rounds = 5, runs = 10;
    el_precision precision = EL_PRECISION_FP32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--evict-mb") && i + 1 < argc) COLD_LEN = (size_t)atoi(argv[++i]) << 20 >> 2;
        else if (!strcmp(argv[i], "--cpu")) timer_clock = CLOCK_THREAD_CPUTIME_ID;
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            if (el_precision_parse(argv[++i], &precision) != EL_OK) {
                fprintf(stderr, "%s: %s\n", argv[0], el_last_error());
                return 2;
            }
        }
        else if (argv[i][0] != '-' && !model) model = argv[i];
        else {
            fprintf(stderr, "usage: %s MODEL [--threads N] [--rounds R] [--runs N] [--cpu] [--precision P]\n", argv[0]);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "usage: %s MODEL [--threads N] [--rounds R] [--runs N] [--cpu] [--precision P]\n", argv[0]);
        return 2;
    }
    static capture cap;
    el_session_opts so = {.threads = threads, .node_hook = hook, .node_hook_user = &cap, .precision = precision};
    el_detector *d = NULL;
    if (el_detector_open_session(model, NULL, &so, &d) != EL_OK) {
        fprintf(stderr, "%s\n", el_last_error());
        return 1;
    }
    el_detector_io io;
    el_detector_get_io(d, &io);
    int w, h;
    el_detector_input_size(d, &w, &h);
    el_image img = {.width = w > 0 ? w : 640, .height = h > 0 ? h : 480};
    img.rgb = malloc((size_t)img.width * (size_t)img.height * 3);
    for (size_t i = 0; i < (size_t)img.width * (size_t)img.height * 3; i++) img.rgb[i] = (uint8_t)(i * 7 % 251);
    el_tensor in = {0}, outs[16] = {{0}};
    if (io.nfetches > 16 || el_detector_input_tensor(d, &img, &in) != EL_OK) return 1;
    el_session *s = el_detector_session(d);
    /* Written, not calloc'd: untouched pages all map the one zero page, and
     * reading them would evict nothing. */
    cold_buf = malloc(COLD_LEN * sizeof(float));
    if (!cold_buf) return 1;
    for (size_t i = 0; i < COLD_LEN; i++) cold_buf[i] = (float)(i & 255);
    /* Warm-up, then the capture run. */
    for (int i = 0; i < 2; i++) {
        cap.cur = 0;
        cap.capture = i == 1;
        if (el_session_run(s, &in, outs) != EL_OK) return 1;
        for (int k = 0; k < io.nfetches; k++) el_tensor_release(&outs[k]);
    }
    cap.capture = false;
    el_threadpool *pool = NULL;
    if (el_threadpool_create(threads, &pool) != EL_OK) return 1;
    double graph_run_min = 1e30;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < runs; i++) {
            cap.cur = 0;
            double t0 = now_ms();
            if (el_session_run(s, &in, outs) != EL_OK) return 1;
            double t = now_ms() - t0;
            if (t < graph_run_min) graph_run_min = t;
            nodes_end_run(&cap);
            for (int k = 0; k < io.nfetches; k++) el_tensor_release(&outs[k]);
        }
        el_threadpool *prev = el_threadpool_set_current(pool);
        for (int li = 0; li < cap.n; li++) {
            layer *l = &cap.l[li];
            double wt = replay(l, false, runs), ct = replay(l, true, runs);
            if (r == 0 || wt < l->warm) l->warm = wt;
            if (r == 0 || ct < l->cold) l->cold = ct;
        }
        el_threadpool_set_current(prev);
    }
    printf("model %s, threads %d, %d rounds of %d graph runs and %d calls per layer, %s clock\n", model, threads,
           rounds, runs, runs, timer_clock == CLOCK_MONOTONIC ? "wall" : "thread CPU");
    printf("%-60s %5s %5s %5s %3s %3s | %8s %8s | %8s %8s | %6s %6s\n", "node", "H", "W", "IC", "k", "OC",
           "graph min", "mean", "alone warm", "cold", "x sub", "y sub");
    double tg = 0, tm = 0, tw = 0, tc = 0, mac = 0;
    for (int li = 0; li < cap.n; li++) {
        layer *l = &cap.l[li];
        double m = l->graph_n ? l->graph_sum / (double)l->graph_n : 0;
        int64_t xn = l->xd[0] * l->xd[1] * l->xd[2] * l->xd[3], yn = l->yd[0] * l->yd[1] * l->yd[2] * l->yd[3];
        printf("%-60.60s %5lld %5lld %5lld %3lld %3lld | %8.4f %8.4f | %8.4f %8.4f | %6lld %6lld\n", l->name,
               (long long)l->xd[1], (long long)l->xd[2], (long long)l->xd[3], (long long)l->kh, (long long)l->yd[3],
               l->graph_min, m, l->warm, l->cold, (long long)subnormals(l->x, xn), (long long)subnormals(l->y, yn));
        tg += l->graph_min, tm += m, tw += l->warm, tc += l->cold;
        mac += (double)yn * (double)(l->kh * l->kw * l->xd[3]);
    }
    printf("%-60s %29s | %8.3f %8.3f | %8.3f %8.3f |  (%.1f / %.1f / %.1f / %.1f GFLOP/s)\n", "total", "", tg, tm, tw,
           tc, 2 * mac / tg / 1e6, 2 * mac / tm / 1e6, 2 * mac / tw / 1e6, 2 * mac / tc / 1e6);
    printf("whole graph min %.3f ms\n", graph_run_min);
    /* Per op type: the sum over its nodes of each node's least time per run. */
    const char *ops[256];
    double opt[256];
    int nops = 0;
    double all = 0;
    for (int i = 0; i < MAXN; i++) {
        nodet *t = &cap.nodes[i];
        if (!t->name) continue;
        int k = 0;
        while (k < nops && strcmp(ops[k], t->op)) k++;
        if (k == nops) {
            if (nops == 256) continue;
            ops[nops] = t->op;
            opt[nops++] = 0;
        }
        opt[k] += t->min;
        all += t->min;
    }
    for (int a = 0; a < nops; a++)
        for (int b = a + 1; b < nops; b++)
            if (opt[b] > opt[a]) {
                double td = opt[a];
                const char *to = ops[a];
                opt[a] = opt[b], ops[a] = ops[b];
                opt[b] = td, ops[b] = to;
            }
    if (getenv("EL_CG_NODES")) {
        /* Every node in first-execution order: least time, op, output shape. */
        for (int o = 1; o <= cap.nn; o++)
            for (int i = 0; i < MAXN; i++) {
                nodet *t = &cap.nodes[i];
                if (!t->name || t->order != o) continue;
                printf("node %8.4f %-28s [", t->min, t->op);
                for (int d = 0; d < t->ndim; d++) printf("%s%lld", d ? "," : "", (long long)t->dims[d]);
                printf("] %s\n", t->name);
            }
    }
    printf("kernels, sum of least times per node: %.3f ms\n", all);
    for (int a = 0; a < nops && a < 12; a++) printf("  %-28s %8.4f ms\n", ops[a], opt[a]);
    el_threadpool_free(pool);
    el_tensor_release(&in);
    el_detector_free(d);
    free(img.rgb);
    return 0;
}
