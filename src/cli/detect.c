/* edgelens detect [--model PATH] [--labels FILE] [--threshold T] [--json]
 *                 [--annotate OUT.jpg] IMAGE... */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "detect/annotate.h"
#include "edgelens/detect.h"

static void el_detect_usage(FILE *f)
{
    fprintf(f,
            "usage: edgelens detect [--model PATH] [--labels FILE] [--threshold T] [--json]\n"
            "                       [--annotate OUT.jpg] [--threads N] [--precision P] IMAGE...\n"
            "  --model PATH      directory with frozen_inference_graph.pb (or a TF.js model.json)\n"
            "                    and a .pbtxt label map, a .pb file, a model.json, or a .tar.gz\n"
            "                    package; default: the COCO CenterNet scripts/setup installs\n"
            "                    (.data/models/centernet, or $EDGELENS_MODEL)\n"
            "  --labels FILE     label map (.pbtxt) overriding the model's\n"
            "  --threshold T     keep detections with score >= T (default 0.5)\n"
            "  --json            one JSON object per image per line\n"
            "  --annotate OUT    write the image with labelled boxes (JPEG); with several\n"
            "                    images OUT must be a directory\n"
            "  --threads N       inference threads (default: one per core)\n"
            "  --precision P     convolution arithmetic: auto (default: bf16x3 where the CPU has\n"
            "                    AMX, else fp32), fp32, bf16x3 (AMX, within the reference\n"
            "                    tolerance) or bf16 (AMX or AVX512-BF16, less accurate)\n");
}

static double el_round_to(double v, double scale) { return round(v * scale) / scale; }

static void el_print_json(const char *path, const el_image *img, double ms, const el_detection *d, int n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "image", path);
    cJSON_AddNumberToObject(o, "width", img->width);
    cJSON_AddNumberToObject(o, "height", img->height);
    cJSON_AddNumberToObject(o, "inference_ms", el_round_to(ms, 1e3));
    cJSON *arr = cJSON_AddArrayToObject(o, "detections");
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "class_id", d[i].class_id);
        if (d[i].label) cJSON_AddStringToObject(e, "label", d[i].label);
        else cJSON_AddNullToObject(e, "label");
        cJSON_AddNumberToObject(e, "score", el_round_to(d[i].score, 1e4));
        cJSON *box = cJSON_AddArrayToObject(e, "box");
        for (int k = 0; k < 4; k++) cJSON_AddItemToArray(box, cJSON_CreateNumber(el_round_to(d[i].box[k], 1e6)));
        cJSON_AddItemToArray(arr, e);
    }
    char *s = cJSON_PrintUnformatted(o);
    if (s) puts(s);
    free(s);
    cJSON_Delete(o);
}

static void el_print_table(const char *path, const el_image *img, double ms, const el_detection *d, int n)
{
    printf("%s: %dx%d, %d detection%s, %.1f ms\n", path, img->width, img->height, n, n == 1 ? "" : "s", ms);
    if (n) printf("  %-6s %-20s %-5s  %s\n", "score", "label", "class", "box (ymin xmin ymax xmax)");
    for (int i = 0; i < n; i++)
        printf("  %-6.3f %-20s %-5d  %.3f %.3f %.3f %.3f\n", d[i].score, d[i].label ? d[i].label : "-", d[i].class_id,
               d[i].box[0], d[i].box[1], d[i].box[2], d[i].box[3]);
}

static int el_annotate_to(const char *out, bool is_dir, const char *path, el_image *img, const el_detection *d, int n)
{
    char buf[4096];
    const char *dst = out;
    if (is_dir) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        snprintf(buf, sizeof buf, "%s/%s", out, base);
        char *dot = strrchr(buf, '.');
        if (dot && dot > strrchr(buf, '/')) strcpy(dot, ".jpg");
        dst = buf;
    }
    if (el_annotate(img, d, n) != EL_OK || el_image_write_jpeg(dst, img, 90) != EL_OK) return el_cli_fail("detect");
    return 0;
}

int el_cmd_detect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"labels", required_argument, NULL, 'l'},
        {"threshold", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
        {"annotate", required_argument, NULL, 'a'}, {"threads", required_argument, NULL, 'n'},
        {"precision", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *labels = NULL, *annotate = NULL;
    float threshold = 0.5f;
    bool json = false;
    int threads = 0, c;
    el_precision precision = EL_PRECISION_AUTO;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:l:t:ja:n:p:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'm': model = optarg; break;
        case 'l': labels = optarg; break;
        case 't':
            threshold = strtof(optarg, &end);
            if (*end || !(threshold >= 0 && threshold <= 1)) {
                fprintf(stderr, "edgelens detect: --threshold must be a number in [0,1], got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'j': json = true; break;
        case 'a': annotate = optarg; break;
        case 'n': threads = atoi(optarg); break;
        case 'p':
            if (el_precision_parse(optarg, &precision) != EL_OK) {
                fprintf(stderr, "edgelens detect: --precision: %s\n", el_last_error());
                return 2;
            }
            break;
        case 'h': el_detect_usage(stdout); return 0;
        default: el_detect_usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "edgelens detect: no image given\n");
        el_detect_usage(stderr);
        return 2;
    }
    struct stat st;
    bool ann_dir = annotate && stat(annotate, &st) == 0 && S_ISDIR(st.st_mode);
    if (annotate && !ann_dir && argc - optind > 1) {
        fprintf(stderr, "edgelens detect: with several images, --annotate must name an existing directory\n");
        return 2;
    }
    el_detector *det;
    el_detector_opts dopts = {.threads = threads, .precision = precision};
    if (el_detector_open(model, labels, &dopts, &det) != EL_OK) return el_cli_fail("detect");
    int rc = 0;
    for (int i = optind; i < argc && rc == 0; i++) {
        el_image img;
        el_detection *d = NULL;
        int n = 0;
        double ms = 0;
        if (el_image_load(argv[i], &img) != EL_OK) {
            rc = el_cli_fail("detect");
            break;
        }
        if (el_detector_run(det, &img, threshold, &d, &n, &ms) != EL_OK) {
            el_error_prefix(EL_ERR_RUNTIME, "%s: ", argv[i]);
            rc = el_cli_fail("detect");
        } else {
            if (json) el_print_json(argv[i], &img, ms, d, n);
            else el_print_table(argv[i], &img, ms, d, n);
            fflush(stdout);
            if (annotate) rc = el_annotate_to(annotate, ann_dir, argv[i], &img, d, n);
        }
        free(d);
        el_image_free(&img);
    }
    el_detector_free(det);
    return rc;
}
