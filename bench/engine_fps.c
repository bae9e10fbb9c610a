/* Engine-only frame rate on a video's frames: decode N frames first, then
 * run the detector back to back on them. bench/agent_fps.sh compares it with
 * the agent's end-to-end rate on the same video. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "edgelens/detect.h"
#include "video/source.h"

static double el_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: el_engine_fps MODEL VIDEO FRAMES [THREADS]\n");
        return 2;
    }
    int n = atoi(argv[3]);
    if (n <= 0 || n > 10000) {
        fprintf(stderr, "el_engine_fps: FRAMES must be in 1..10000\n");
        return 2;
    }
    el_source_opts so = {0};
    el_source *src;
    if (el_source_open(argv[2], &so, &src) != EL_OK) {
        fprintf(stderr, "el_engine_fps: %s\n", el_last_error());
        return 1;
    }
    el_image *frames = calloc((size_t)n, sizeof *frames);
    int got = 0;
    while (frames && got < n && el_source_read(src, &frames[got], NULL) == EL_OK) got++;
    el_source_close(src);
    el_detector *det;
    el_detector_opts o = {.threads = argc > 4 ? atoi(argv[4]) : 0};
    if (got == 0 || el_detector_open(argv[1], NULL, &o, &det) != EL_OK) {
        fprintf(stderr, "el_engine_fps: %s\n", got ? el_last_error() : "no frames decoded");
        return 1;
    }
    el_detection *d;
    int k;
    double ms, sum = 0;
    el_detector_run(det, &frames[0], 0.5f, &d, &k, &ms); /* warm-up */
    free(d);
    double t0 = el_now_s();
    for (int i = 0; i < got; i++) {
        if (el_detector_run(det, &frames[i], 0.5f, &d, &k, &ms) != EL_OK) {
            fprintf(stderr, "el_engine_fps: %s\n", el_last_error());
            return 1;
        }
        sum += ms;
        free(d);
    }
    double el = el_now_s() - t0;
    printf("{\"frames\":%d,\"seconds\":%.3f,\"fps\":%.3f,\"graph_ms\":%.2f}\n", got, el, got / el, sum / got);
    for (int i = 0; i < got; i++) el_image_free(&frames[i]);
    free(frames);
    el_detector_free(det);
    return 0;
}
