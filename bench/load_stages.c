/* Where the time and the memory of getting a model ready go: opening
 * (parsing, mapping), the graph passes, the plan. Prints wall and CPU time of each stage and the resident set
 * after it (anonymous and file-backed parts, and the peak).
 *
 *   el_load_stages MODEL [THREADS [noinfer|session [PRECISION]]]
 *
 * noinfer stops after the plan (e.g. under callgrind); session skips the
 * stand-alone plan and goes straight to a session, as `edgelens bench` does
 * (its peak is then the bench's), bf16 with that precision. After each
 * session run the memory pool's bytes in use and held (core/mempool.h).
 *
 * MODEL as `edgelens detect --model` takes it, with the TF Object
 * Detection API signature (image_tensor -> detection_*). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "edgelens/engine.h"
#include "exec/exec.h"
#include "core/mempool.h"
#include "format/package.h"
#include "graph/optimize.h"

static double el_wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double el_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* kB of a /proc/self/status field. */
static long el_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') {
            v = atol(line + n + 1);
            break;
        }
    fclose(f);
    return v;
}

static double el_t0_wall, el_t0_cpu;

static void el_stage(const char *name)
{
    double w = el_wall(), c = el_cpu();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%-22s %8.2f ms wall %8.2f ms cpu   rss %7ld kB (anon %7ld, file %7ld)  peak %7ld kB  faults %ld\n", name,
           w - el_t0_wall, c - el_t0_cpu, el_status_kb("VmRSS"), el_status_kb("RssAnon"), el_status_kb("RssFile"),
           el_status_kb("VmHWM"), ru.ru_minflt + ru.ru_majflt);
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "AnonHugePages:", 14)) printf("%22s anon huge pages: %s", "", line + 14);
    if (f) fclose(f);
    el_t0_wall = el_wall();
    el_t0_cpu = el_cpu();
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: el_load_stages MODEL [THREADS [noinfer|session [PRECISION]]]\n");
        return 2;
    }
    el_t0_wall = el_wall();
    el_t0_cpu = el_cpu();
    el_stage("start");
    bool session_only = argc > 3 && !strcmp(argv[3], "session");
    el_session_opts so = {.threads = argc > 2 ? atoi(argv[2]) : 1};
    if (session_only && argc > 4 && el_precision_parse(argv[4], &so.precision) != EL_OK) {
        fprintf(stderr, "el_load_stages: unknown precision '%s'\n", argv[4]);
        return 2;
    }
    el_graph *g;
    el_labels *labels = NULL;
    if (el_model_open(argv[1], NULL, &g, &labels) != EL_OK) {
        fprintf(stderr, "el_load_stages: %s\n", el_last_error());
        return 1;
    }
    el_stage("open (parse)");
    /* The TF Object Detection API signature. */
    const char *feed = "image_tensor";
    const char *fetches[4] = {"detection_boxes", "detection_scores", "detection_classes", "num_detections"};
    struct {
        const char *feed;
        int nfetches;
        const char *const *fetches;
    } io = {feed, 4, fetches};
    el_graph *opt = NULL;
    el_optimize_stats st = {0};
    el_tensor in, out[4];
    int64_t dims[4] = {1, 300, 300, 3};
    el_plan plan = {0};
    if (session_only) goto session;
    if (el_graph_optimize(g, 1, &io.feed, io.nfetches, io.fetches, &st, &opt) != EL_OK) {
        fprintf(stderr, "el_load_stages: %s\n", el_last_error());
        return 1;
    }
    el_stage("graph passes");
    if (el_plan_build(&plan, opt ? opt : g, 1, &io.feed, io.nfetches, io.fetches, &so) != EL_OK) {
        fprintf(stderr, "el_load_stages: %s\n", el_last_error());
        return 1;
    }
    el_stage("plan");
    /* One inference on a mid-grey 300x300 frame: the activations' share
     * (skipped with a third argument, e.g. under callgrind). */
    if (argc > 3) goto done;
    if (el_tensor_alloc(&in, EL_DT_UINT8, 4, dims) != EL_OK) return 1;
    memset(in.data, 128, el_tensor_nbytes(&in));
    if (el_plan_run(&plan, &in, out) != EL_OK) {
        fprintf(stderr, "el_load_stages: %s\n", el_last_error());
        return 1;
    }
    el_stage("first inference");
    for (int i = 0; i < 4; i++) el_tensor_release(&out[i]);
    if (el_plan_run(&plan, &in, out) != EL_OK) return 1;
    el_stage("second inference");
    for (int i = 0; i < 4; i++) el_tensor_release(&out[i]);
    el_tensor_release(&in);
    /* The same through the public session (its passes, plan, pool and
     * memory pool), as the detector and `edgelens bench` run it. */
    el_plan_free(&plan);
    el_graph_free(opt);
    opt = NULL;
    memset(&plan, 0, sizeof plan);
    el_stage("(plan freed)");
session:;
    el_session *ses;
    if (el_session_create(g, 1, &io.feed, io.nfetches, io.fetches, &so, &ses) != EL_OK) return 1;
    el_stage("session");
    if (el_tensor_alloc(&in, EL_DT_UINT8, 4, dims) != EL_OK) return 1;
    memset(in.data, 128, el_tensor_nbytes(&in));
    for (int r = 0; r < 3; r++) {
        if (el_session_run(ses, &in, out) != EL_OK) return 1;
        for (int i = 0; i < 4; i++) el_tensor_release(&out[i]);
        el_stage("session run");
        el_mempool_stats ms;
        el_mempool_get_stats(el_session_mempool(ses), &ms);
        printf("%22s pool: used peak %zu kB, held %zu kB (peak %zu kB), %zu heap blocks\n", "",
               ms.used_peak >> 10, ms.held >> 10, ms.held_peak >> 10, ms.heap_allocs);
    }
    el_tensor_release(&in);
    el_session_free(ses);
done:
    printf("passes: %d folded, %d bn, %d bias, %d act, %d packed; nodes %d -> %d\n", st.folded, st.bn_folded,
           st.bias_fused, st.act_fused, st.packed, st.nodes_before, st.nodes_after);
    el_plan_free(&plan);
    el_graph_free(opt);
    el_graph_free(g);
    el_labels_free(labels);
    return 0;
}
